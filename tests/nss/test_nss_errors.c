/* Bad inputs give a status and a message that says what to fix; the
 * documented handling of awkward likelihoods holds; nothing leaks (the
 * suite also runs under AddressSanitizer in CI).
 *   refused:  NULL arguments, dim 0 or too large, data NULL with n_data > 0,
 *             negative sizes, num_delete >= n_live, chunk < -1, a negative
 *             or NaN termination, double on a mesh without fp64, a build
 *             error (its log names the problem's file and line), a
 *             loglikelihood with the wrong signature;
 *   errors:   a prior transform giving a non-finite point (the message
 *             names the initial point and its u), one mapping outside the
 *             prior's support, a likelihood constant on the live set;
 *   handled:  NaN and -inf log-likelihoods (outside every constraint,
 *             weight 0: half a Gaussian gives log Z - log 2), the progress
 *             callback cancelling, max_iterations. */
#include "test_util.h"
#include "nss_problems.h"
#include "nss/address_limit.h"

#include <limits.h>
#include <math.h>
#include <time.h>

/* The Gaussian with something changed: NaN or -inf likelihood where x0 < 0,
 * a prior transform failing for u0 > 0.9, one mapping outside the box, a
 * constant likelihood. */
static const char *const half_nan_source =
    "clv_real loglikelihood(const clv_real *x, __global const clv_real *data, __global clv_real *work) {\n"
    "    if (x[0] < 0) return BAD;\n"
    "    clv_real s = 0;\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) s += x[k] * x[k];\n"
    "    return -0.5 * s - CLV_NSS_DIM * 0.91893853320467274;\n"
    "}\n"
    "clv_real logprior(const clv_real *x, __global const clv_real *data) {\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) if (!(fabs(x[k]) <= 5)) return -INFINITY;\n"
    "    return -CLV_NSS_DIM * log((clv_real)10);\n"
    "}\n"
    "void prior_transform(const clv_real *u, clv_real *x, __global const clv_real *data) {\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) x[k] = 10 * u[k] - 5;\n"
    "#ifdef TRANSFORM_NAN\n"
    "    if (u[0] > 0.9) x[1] = NAN;\n"
    "#endif\n"
    "#ifdef TRANSFORM_OUTSIDE\n"
    "    x[0] = 20 * u[0] - 10;\n"
    "#endif\n"
    "}\n";

static const char *const constant_source =
    "clv_real loglikelihood(const clv_real *x, __global const clv_real *data, __global clv_real *work) {\n"
    "    return 1;\n"
    "}\n"
    "clv_real logprior(const clv_real *x, __global const clv_real *data) { return 0; }\n"
    "void prior_transform(const clv_real *u, clv_real *x, __global const clv_real *data) {\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) x[k] = u[k];\n"
    "}\n";

static clv_nss_problem problem(const char *source, int dim, const char *options)
{
    clv_nss_problem p;
    memset(&p, 0, sizeof p);
    p.source = source;
    p.dim = dim;
    p.options = options;
    return p;
}

static int contains(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

/* clv_nss_new's refusals. */
static void check_new(clv_mesh *m)
{
    clv_nss *s = NULL;
    clv_nss_problem p = problem(nss_gauss_source, 2, NULL);
    TU_CHECK(clv_nss_new(NULL, m, &p) == CLV_ERROR_INVALID_ARGUMENT, "NULL out accepted");
    TU_CHECK(clv_nss_new(&s, NULL, &p) == CLV_ERROR_INVALID_ARGUMENT && contains(clv_nss_message(s), "mesh"),
             "NULL mesh: %s", clv_nss_message(s));
    clv_nss_free(s);
    TU_CHECK(clv_nss_new(&s, m, NULL) == CLV_ERROR_INVALID_ARGUMENT, "NULL problem accepted");
    clv_nss_free(s);
    p.dim = 0;
    TU_CHECK(clv_nss_new(&s, m, &p) == CLV_ERROR_INVALID_ARGUMENT && contains(clv_nss_message(s), "dim is 0"),
             "dim 0: %s", clv_nss_message(s));
    clv_nss_free(s);
    p.dim = CLV_NSS_MAX_DIM + 1;
    TU_CHECK(clv_nss_new(&s, m, &p) == CLV_ERROR_INVALID_ARGUMENT, "dim %d accepted", p.dim);
    clv_nss_free(s);
    p.dim = 2;
    p.n_data = 3;
    TU_CHECK(clv_nss_new(&s, m, &p) == CLV_ERROR_INVALID_ARGUMENT && contains(clv_nss_message(s), "n_data"),
             "data NULL: %s", clv_nss_message(s));
    clv_nss_free(s);
    p = problem("clv_real loglikelihood(const clv_real *x, __global const clv_real *d, __global clv_real *w)\n"
                "{\n    return x[0] +* ;\n}\n", 2, NULL);
    p.name = "mine.cl";
    TU_CHECK(clv_nss_new(&s, m, &p) == CLV_ERROR_BUILD && contains(clv_nss_message(s), "mine.cl:3"),
             "build error without the problem's file and line: %s", clv_nss_message(s));
    clv_nss_free(s);
    p = problem("float loglikelihood(const float *x) { return 0; }\n", 2, NULL);
    TU_CHECK(clv_nss_new(&s, m, &p) == CLV_ERROR_BUILD, "wrong signature accepted: %s", clv_nss_message(s));
    clv_nss_free(s);
}

/* Double asked for on a mesh without fp64; float works there. */
static void check_fp64(void)
{
    char platform[256] = "";
    if (tu_platform_devices(platform, sizeof platform) < 1) return;
    clv_mesh_desc desc;
    memset(&desc, 0, sizeof desc);
    char spec[300];
    snprintf(spec, sizeof spec, "%s:0", platform);
    desc.devices = spec;
    desc.no_fp64 = 1;
    clv_mesh *m = NULL;
    TU_REQUIRE_OK(m, clv_mesh_open(&m, &desc));
    clv_nss *s = NULL;
    clv_nss_problem p = problem(nss_gauss_source, 2, NULL);
    p.data = nss_gauss_data;
    p.n_data = 2;
    TU_CHECK(clv_nss_new(&s, m, &p) == CLV_ERROR_NO_FP64 && contains(clv_nss_message(s), "f32"),
             "double on a float-only mesh: %s", clv_nss_message(s));
    clv_nss_free(s);
    p.f32 = 1;
    TU_CHECK(clv_nss_new(&s, m, &p) == CLV_OK, "float on a float-only mesh: %s", clv_nss_message(s));
    clv_nss_free(s);
    clv_mesh_close(m);
}

static clv_nss_opts opts(int n_live, int num_delete)
{
    clv_nss_opts o;
    memset(&o, 0, sizeof o);
    o.n_live = n_live;
    o.num_delete = num_delete;
    o.seed = 5;
    return o;
}

/* clv_nss_run's refusals. */
static void check_run_args(clv_mesh *m)
{
    clv_nss *s = nss_sampler(m, nss_gauss_source, 2, 0);
    clv_nss_result r;
    clv_nss_opts o = opts(50, 50);
    TU_CHECK(clv_nss_run(s, &o, &r) == CLV_ERROR_INVALID_ARGUMENT &&
             contains(clv_nss_message(s), "num_delete (50) must be less than n_live (50)"), "num_delete = n_live: %s",
             clv_nss_message(s));
    o = opts(50, 80);
    TU_CHECK(clv_nss_run(s, &o, &r) == CLV_ERROR_INVALID_ARGUMENT, "num_delete > n_live accepted");
    o = opts(-1, 0);
    TU_CHECK(clv_nss_run(s, &o, &r) == CLV_ERROR_INVALID_ARGUMENT && contains(clv_nss_message(s), "negative"),
             "n_live -1: %s", clv_nss_message(s));
    o = opts(1, 0);
    TU_CHECK(clv_nss_run(s, &o, &r) == CLV_ERROR_INVALID_ARGUMENT, "n_live 1 accepted (num_delete 1 >= 1)");
    o = opts(50, 5);
    o.chunk = -2;
    TU_CHECK(clv_nss_run(s, &o, &r) == CLV_ERROR_INVALID_ARGUMENT && contains(clv_nss_message(s), "chunk"),
             "chunk -2: %s", clv_nss_message(s));
    o = opts(50, 5);
    o.termination = NAN;
    TU_CHECK(clv_nss_run(s, &o, &r) == CLV_ERROR_INVALID_ARGUMENT, "termination NaN accepted");
    o.termination = -1;
    TU_CHECK(clv_nss_run(s, &o, &r) == CLV_ERROR_INVALID_ARGUMENT, "termination -1 accepted");
    o = opts(50, 5);
    TU_CHECK(clv_nss_run(s, &o, NULL) == CLV_ERROR_INVALID_ARGUMENT, "NULL result accepted");
    TU_CHECK(clv_nss_run(NULL, &o, &r) == CLV_ERROR_INVALID_ARGUMENT && r.n_samples == 0, "NULL sampler");
    clv_nss_result_free(&r);
    TU_CHECK(clv_nss_write_csv(NULL, stdout, NULL) == CLV_ERROR_INVALID_ARGUMENT, "CSV of NULL");
    clv_nss_free(s);
}

/* Sizes that cannot fit are refused before anything is allocated, with a
 * message naming the option and the bytes (issue 11: n_live = 2^30 once
 * filled 24 GB of host memory and was killed, with no status). Run under an
 * address-space cap, so that a missing refusal fails as a malloc would. */
static void check_huge_sizes(clv_mesh *m)
{
    clv_nss *s = nss_sampler(m, nss_gauss_source, 3, 0);
    clv_nss_result r;
    const int n_live[] = { 1 << 30, INT_MAX, 1 << 30 };
    const int num_delete[] = { 0, 1, (1 << 30) - 1 };
    char want[64];
    al_limit(4ull << 30);
    for (int i = 0; i < 3; ++i) {
        clv_nss_opts o = opts(n_live[i], num_delete[i]);
        clock_t start = clock();
        clv_status st = clv_nss_run(s, &o, &r);
        double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
        snprintf(want, sizeof want, "n_live %d", n_live[i]);
        TU_CHECK(st == CLV_ERROR_OUT_OF_MEMORY && contains(clv_nss_message(s), want) &&
                 contains(clv_nss_message(s), "bytes") && r.n_samples == 0 && seconds < 5,
                 "n_live %d, num_delete %d: %s after %.1f s: %s", n_live[i], num_delete[i], clv_status_string(st),
                 seconds, clv_nss_message(s));
        clv_nss_result_free(&r);
    }
    al_restore();
    clv_nss_opts o = opts(60, 6); /* and the sampler still works */
    o.max_iterations = 3;
    TU_CHECK(clv_nss_run(s, &o, &r) == CLV_OK && r.iterations == 3, "after the refusals: %s", clv_nss_message(s));
    clv_nss_result_free(&r);
    clv_nss_free(s);
}

/* Half the box has a NaN (or -inf) likelihood: log Z is that of the other
 * half, log(1/2) + the Gaussian's. */
static void check_half(clv_mesh *m, const char *bad)
{
    char options[64];
    snprintf(options, sizeof options, "-DBAD=%s", bad);
    clv_nss_problem p = problem(half_nan_source, 2, options);
    clv_nss *s = NULL;
    TU_REQUIRE_OK(m, clv_nss_new(&s, m, &p));
    clv_nss_opts o = opts(tu_small() ? 60 : 200, 0);
    clv_nss_result r;
    clv_status st = clv_nss_run(s, &o, &r);
    TU_CHECK(st == CLV_OK, "likelihood %s on half the box: %s", bad, clv_nss_message(s));
    double truth = -2 * log(10.0) - log(2.0);
    if (st == CLV_OK) {
        printf("likelihood %s where x0 < 0: log Z = %.4f +- %.4f (truth %.4f), %llu NaN initial points\n", bad,
               r.logZ, r.logZ_error, truth, (unsigned long long)r.nan_loglikelihood);
        TU_CHECK(fabs(r.logZ - truth) < 3 * r.logZ_error + 0.05, "log Z %g, truth %g", r.logZ, truth);
        int is_nan = strcmp(bad, "NAN") == 0;
        TU_CHECK(is_nan ? r.nan_loglikelihood > 0 : r.nan_loglikelihood == 0, "nan count %llu",
                 (unsigned long long)r.nan_loglikelihood);
        int finite_or_minus_inf = 1;
        for (size_t i = 0; i < r.n_samples; ++i)
            if (isnan(r.loglikelihood[i]) || isnan(r.log_weight[i])) finite_or_minus_inf = 0;
        TU_CHECK(finite_or_minus_inf, "a NaN log-likelihood or weight in the result");
    }
    clv_nss_result_free(&r);
    clv_nss_free(s);
}

/* The first initial point whose u0 > 0.9: the device's draw, recomputed. */
static size_t first_bad_point(uint64_t seed)
{
    for (size_t i = 0;; ++i)
        if (clv_uniform_f64_host(seed, i, 0, 0) > 0.9) return i;
}

static void check_bad_transforms(clv_mesh *m)
{
    clv_nss_problem p = problem(half_nan_source, 2, "-DBAD=NAN -DTRANSFORM_NAN");
    clv_nss *s = NULL;
    TU_REQUIRE_OK(m, clv_nss_new(&s, m, &p));
    clv_nss_opts o = opts(100, 0);
    clv_nss_result r;
    char expect[64];
    snprintf(expect, sizeof expect, "initial point %zu (u = (", first_bad_point(o.seed));
    TU_CHECK(clv_nss_run(s, &o, &r) == CLV_ERROR_INVALID_ARGUMENT && contains(clv_nss_message(s), "non-finite") &&
             contains(clv_nss_message(s), expect), "NaN transform: \"%s\", expected \"%s\"", clv_nss_message(s),
             expect);
    printf("NaN transform: %s\n", clv_nss_message(s));
    clv_nss_free(s);
    p = problem(half_nan_source, 2, "-DBAD=NAN -DTRANSFORM_OUTSIDE");
    TU_REQUIRE_OK(m, clv_nss_new(&s, m, &p));
    TU_CHECK(clv_nss_run(s, &o, &r) == CLV_ERROR_INVALID_ARGUMENT && contains(clv_nss_message(s), "support"),
             "transform outside the support: %s", clv_nss_message(s));
    clv_nss_free(s);
    p = problem(constant_source, 2, NULL);
    TU_REQUIRE_OK(m, clv_nss_new(&s, m, &p));
    TU_CHECK(clv_nss_run(s, &o, &r) == CLV_ERROR_INVALID_ARGUMENT && contains(clv_nss_message(s), "plateau"),
             "constant likelihood: %s", clv_nss_message(s));
    clv_nss_free(s);
}

static int cancel_at_3(const clv_nss_progress *p, void *user)
{
    ++*(int *)user;
    return p->iteration >= 3;
}

static void check_stops(clv_mesh *m)
{
    clv_nss *s = nss_sampler(m, nss_gauss_source, 2, 0);
    clv_nss_opts o = opts(50, 0);
    int calls = 0;
    o.progress = cancel_at_3;
    o.progress_user = &calls;
    clv_nss_result r;
    TU_CHECK(clv_nss_run(s, &o, &r) == CLV_OK && r.stop == CLV_NSS_CANCELLED && r.iterations == 3 && calls == 3,
             "cancel: stop %d, %ld iterations, %d calls: %s", (int)r.stop, r.iterations, calls, clv_nss_message(s));
    TU_CHECK(r.n_samples == 50 + 3 * 5, "cancelled run has %zu samples", r.n_samples);
    FILE *f = tmpfile();
    TU_CHECK(f && clv_nss_write_csv(&r, f, NULL) == CLV_OK, "CSV");
    if (f) {
        char line[200] = "";
        rewind(f);
        TU_CHECK(fgets(line, sizeof line, f) &&
                 strcmp(line, "weight,log_weight,loglikelihood,loglikelihood_birth,x0,x1\n") == 0, "CSV header %s",
                 line);
        int lines = 0;
        while (fgets(line, sizeof line, f)) ++lines;
        TU_CHECK(lines == (int)r.n_samples, "CSV has %d rows for %zu samples", lines, r.n_samples);
        fclose(f);
    }
    clv_nss_result_free(&r);
    o = opts(50, 0);
    o.max_iterations = 2;
    TU_CHECK(clv_nss_run(s, &o, &r) == CLV_OK && r.stop == CLV_NSS_MAX_ITERATIONS && r.iterations == 2,
             "max_iterations: stop %d, %ld iterations", (int)r.stop, r.iterations);
    clv_nss_result_free(&r);
    clv_nss_free(s);
}

int main(void)
{
    clv_mesh *m = tu_open(2, NULL);
    if (!m) return 1;
    check_new(m);
    check_fp64();
    check_run_args(m);
    check_huge_sizes(m);
    check_half(m, "NAN");
    check_half(m, "-INFINITY");
    check_bad_transforms(m);
    check_stops(m);
    clv_mesh_close(m);
    return tu_summary();
}
