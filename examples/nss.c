/* nss.c — nested slice sampling with clvmap_nss.h on built-in problems.
 *
 * Computes the evidence log Z of a problem whose value is known, prints it
 * beside the analytic value, and writes the weighted posterior samples as
 * CSV (weight, log_weight, loglikelihood, loglikelihood_birth, x0, ...):
 *
 *   gauss   a unit Gaussian on the uniform prior [-5, 5]^D:  log Z = -D log 10
 *   eggbox  exp((2 + cos(x/2) cos(y/2))^5) on [0, 10 pi]^2: log Z = 235.856
 *           (Feroz, Hobson & Bridges 2009)
 *   shells  two Gaussian shells (r 2, width 0.1, centres +-3.5 on x0) on
 *           [-6, 6]^D (Feroz et al. 2009): log Z by a radial quadrature
 *
 *   ./nss                                  10-d Gaussian, n_live 500
 *   ./nss --problem eggbox --chunk 8       at most 8 particles per launch
 *   ./nss --problem shells --dim 5 --csv shells.csv
 *   POCL_DEVICES="pthread pthread" ./nss --devices 0,1   two devices
 *   ./nss --help
 * With CLV_TEST_SMALL=1 in the environment the defaults are tiny (CI runs
 * the examples under oclgrind).
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include "clvmap_nss.h"
#include "nss_problems.h"
#include "nss_plots.h" /* --png: the weighted samples, the evidence history */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const double PI = 3.14159265358979323846; /* M_PI is not C99 */

/* ---- the problems ----------------------------------------------------------
 * Their OpenCL C sources are in nss_problems.h (beside this file), shared
 * with the test suite: nss_gauss_source (data: half-width a = 5 and sigma = 1),
 * nss_eggbox_source and nss_shells_source. */

/* One shell's integral over R^D, the surface of the unit sphere times
 * int rho^(D-1) N(rho; 2, 0.1) drho (midpoint rule over +-12 widths; the
 * shells lie well inside the box), twice, over the prior volume 12^D. */
static double shells_logz(int dim)
{
    const double r = 2, w = 0.1, lo = r - 12 * w, hi = r + 12 * w;
    const int n = 200000;
    double sum = 0, step = (hi - lo) / n;
    for (int i = 0; i < n; ++i) {
        double rho = lo + (i + 0.5) * step, z = (rho - r) / w;
        sum += pow(rho, dim - 1) * exp(-0.5 * z * z) / (sqrt(2 * PI) * w) * step;
    }
    double log_sphere = log(2.0) + 0.5 * dim * log(PI) - lgamma(0.5 * dim);
    return log(2.0) + log_sphere + log(sum) - dim * log(12.0);
}

/* ---- options -------------------------------------------------------------- */

typedef struct settings {
    const char *problem, *devices, *csv, *png;
    int dim, f32, quiet;
    clv_nss_opts opts;
} settings;

static void usage(FILE *f)
{
    fputs("usage: nss [options]\n"
          "  --problem gauss|eggbox|shells   the problem (default gauss)\n"
          "  --dim D                 dimension (gauss: 10, shells: 2; eggbox is 2-d)\n"
          "  --n-live N              live points (default 500)\n"
          "  --num-delete K          points replaced per iteration (default n_live / 10)\n"
          "  --num-inner-steps S     slice steps per new point (default max(5, 2 D))\n"
          "  --chunk none|auto|k     particles per launch, init and updates (default none)\n"
          "  --seed S                (default 1)\n"
          "  --max-iterations N      (default: until converged)\n"
          "  --devices SPEC          as CLV_DEVICES: all, gpu, cpu, 0,1, portable:0, ... (default:\n"
          "                          $CLV_DEVICES, else every GPU, else the CPUs; clvmap-info lists them)\n"
          "  --f32                   single precision (devices without fp64)\n"
          "  --csv FILE              weighted samples (default nss_samples.csv; - for none)\n"
          "  --png DIR               pictures: DIR/nss_posterior.png (samples coloured by weight),\n"
          "                          DIR/nss_evidence.png (log Z history, log L against -log X)\n"
#if !PLOT_PNG_AVAILABLE
          "                          (not in this build: it needs libpng, not found)\n"
#endif
          "  --quiet                 no progress lines\n"
          "  --help                  this text\n"
          "CLV_TEST_SMALL=1 makes the defaults tiny.\n", f);
}

static int parse_chunk(const char *s, long *chunk)
{
    char *end;
    if (strcmp(s, "none") == 0) *chunk = CLV_CHUNK_NONE;
    else if (strcmp(s, "auto") == 0) *chunk = CLV_CHUNK_AUTO;
    else {
        *chunk = strtol(s, &end, 10);
        return *end == '\0' && *chunk > 0;
    }
    return 1;
}

/* The options that take a value. */
static int known(const char *option)
{
    static const char *const names[] = { "--problem", "--dim", "--n-live", "--num-delete", "--num-inner-steps",
                                         "--seed", "--max-iterations", "--devices", "--csv", "--png", "--chunk" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i)
        if (!strcmp(option, names[i])) return 1;
    return 0;
}

/* Returns 0 to run, 1 for --help, 2 for a usage error. */
static int parse(int argc, char **argv, settings *st)
{
    const char *small = getenv("CLV_TEST_SMALL");
    int tiny = small && *small && strcmp(small, "0") != 0;
    memset(st, 0, sizeof *st);
    st->problem = "gauss";
    st->csv = "nss_samples.csv";
    st->opts.seed = 1;
    st->opts.n_live = tiny ? 40 : 0;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return 1;
        else if (strcmp(a, "--f32") == 0) { st->f32 = 1; takes = 0; }
        else if (strcmp(a, "--quiet") == 0) { st->quiet = 1; takes = 0; }
        else if (!known(a)) { fprintf(stderr, "nss: unknown option %s\n", a); return 2; }
        else if (!v) { fprintf(stderr, "nss: %s needs a value\n", a); return 2; }
        else if (strcmp(a, "--problem") == 0) st->problem = v;
        else if (strcmp(a, "--dim") == 0) st->dim = atoi(v);
        else if (strcmp(a, "--n-live") == 0) st->opts.n_live = atoi(v);
        else if (strcmp(a, "--num-delete") == 0) st->opts.num_delete = atoi(v);
        else if (strcmp(a, "--num-inner-steps") == 0) st->opts.num_inner_steps = atoi(v);
        else if (strcmp(a, "--seed") == 0) st->opts.seed = strtoull(v, NULL, 10);
        else if (strcmp(a, "--max-iterations") == 0) st->opts.max_iterations = atol(v);
        else if (strcmp(a, "--devices") == 0) st->devices = v;
        else if (strcmp(a, "--csv") == 0) st->csv = v;
        else if (strcmp(a, "--png") == 0) {
            if (!PLOT_PNG_AVAILABLE) { fprintf(stderr, "nss: --png: this build has no PNG output (no libpng)\n"); return 2; }
            st->png = v;
        }
        else if (strcmp(a, "--chunk") == 0) {
            if (!parse_chunk(v, &st->opts.chunk)) { fprintf(stderr, "nss: bad --chunk %s\n", v); return 2; }
        } else { fprintf(stderr, "nss: unknown option %s\n", a); return 2; }
        i += takes;
    }
    if (st->dim == 0) st->dim = strcmp(st->problem, "gauss") == 0 ? (tiny ? 2 : 10) : 2;
    return 0;
}

/* ---- progress ------------------------------------------------------------- */

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct progress_state { double start, last_print; int quiet; nss_history *history; } progress_state;

/* One line a second: iteration, log Z so far, logZ_live - logZ (the run
 * stops below -3), likelihood evaluations per second. */
static int progress(const clv_nss_progress *p, void *user)
{
    progress_state *ps = (progress_state *)user;
    double t = now_seconds();
    if (ps->history) nss_history_add(ps->history, p);
    if (ps->quiet || t - ps->last_print < 1.0) return 0;
    ps->last_print = t;
    printf("  iteration %6ld  log Z %10.4f  logZ_live - logZ %8.3f  %10.0f evaluations/s\n", p->iteration, p->logZ,
           p->dlogZ, (double)p->evaluations / (t - ps->start));
    fflush(stdout);
    return 0;
}

/* ---- main ----------------------------------------------------------------- */

static void report(const settings *st, const clv_nss_result *r, double truth, double seconds)
{
    double off = r->logZ - truth;
    printf("\n%s, %d-d: log Z = %.4f +- %.4f   analytic %.4f   (off %+.4f = %+.2f errors)\n", st->problem, r->dim,
           r->logZ, r->logZ_error, truth, off, off / r->logZ_error);
    printf("  %s after %ld iterations; n_live %d, num_delete %d, num_inner_steps %d\n", clv_nss_stop_string(r->stop),
           r->iterations, r->n_live, r->num_delete, r->num_inner_steps);
    printf("  %llu likelihood evaluations in %.2f s (%.0f /s); ESS %.0f of %zu samples; %llu slice steps ran "
           "out of shrinkage\n", (unsigned long long)r->evaluations, seconds, (double)r->evaluations / seconds,
           r->ess, r->n_samples, (unsigned long long)r->shrink_exhausted);
    for (int d = 0; d < r->n_devices; ++d)
        printf("  device %d: %llu particles in %llu launches (chunk %llu), device memory high-water %llu bytes, "
               "scratch %llu bytes\n", d, (unsigned long long)r->device[d].items,
               (unsigned long long)r->device[d].launches, (unsigned long long)r->device[d].chunk_used,
               (unsigned long long)r->device[d].bytes_high_water,
               (unsigned long long)r->device[d].scratch_high_water);
}

static int write_csv(const char *path, const clv_nss_result *r)
{
    if (strcmp(path, "-") == 0) return 0;
    FILE *f = fopen(path, "w");
    clv_status s = f ? clv_nss_write_csv(r, f, NULL) : CLV_ERROR_INVALID_ARGUMENT;
    if (f && fclose(f) != 0) s = CLV_ERROR_INVALID_ARGUMENT;
    if (s != CLV_OK) {
        fprintf(stderr, "nss: cannot write %s\n", path);
        return 1;
    }
    printf("  weighted samples: %s\n", path);
    return 0;
}

int main(int argc, char **argv)
{
    settings st;
    int parsed = parse(argc, argv, &st);
    if (parsed) {
        usage(parsed == 1 ? stdout : stderr);
        return parsed == 1 ? 0 : 2;
    }
    clv_nss_problem problem;
    memset(&problem, 0, sizeof problem);
    problem.dim = st.dim;
    problem.f32 = st.f32;
    double truth;
    if (strcmp(st.problem, "gauss") == 0) {
        problem.source = nss_gauss_source;
        problem.data = nss_gauss_data;
        problem.n_data = 2;
        truth = nss_gauss_logz(st.dim);
    } else if (strcmp(st.problem, "eggbox") == 0) {
        problem.source = nss_eggbox_source;
        problem.dim = 2;
        truth = NSS_EGGBOX_LOGZ;
    } else if (strcmp(st.problem, "shells") == 0) {
        problem.source = nss_shells_source;
        truth = shells_logz(st.dim);
    } else {
        fprintf(stderr, "nss: unknown problem %s (gauss, eggbox, shells)\n", st.problem);
        return 2;
    }

    clv_mesh_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.devices = st.devices;
    clv_mesh *m = NULL;
    clv_nss *s = NULL;
    clv_nss_result r;
    memset(&r, 0, sizeof r);
    nss_history history = { 0, 0, NULL, NULL, NULL };
    progress_state ps = { now_seconds(), now_seconds(), st.quiet, st.png ? &history : NULL };
    st.opts.progress = progress;
    st.opts.progress_user = &ps;

    clv_status status = clv_mesh_open(&m, &desc);
    if (status != CLV_OK) fprintf(stderr, "nss: %s\n", clv_mesh_message(m));
    if (status == CLV_OK) {
        status = clv_nss_new(&s, m, &problem);
        if (status == CLV_OK) {
            ps.start = ps.last_print = now_seconds();
            status = clv_nss_run(s, &st.opts, &r);
        }
        if (status != CLV_OK) fprintf(stderr, "nss: %s\n", clv_nss_message(s));
    }
    int rc = status != CLV_OK;
    if (status == CLV_OK) {
        report(&st, &r, truth, now_seconds() - ps.start);
        rc = write_csv(st.csv, &r);
        if (st.png && !nss_plots_write(&r, &history, st.problem, truth, st.png)) rc = 1;
    }
    nss_history_free(&history);
    clv_nss_result_free(&r);
    clv_nss_free(s);
    clv_mesh_close(m);
    return rc;
}
