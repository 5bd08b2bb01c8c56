/* A mixed-vendor mesh: device 0 of two different OpenCL platforms (e.g.
 * PoCL and Intel's CPU runtime) in one mesh, named by the device table's
 * "platform:index" strings.
 *
 * What is checked:
 *  - a chunked, sharded map (f64, RNG, transcendental functions) on the
 *    mixed mesh gives, item for item, the bits of a one-device run on the
 *    device that ran the item (partition invariance holds per kind of
 *    device, inside a mixed mesh too), for the equal split and for the
 *    measured throughput split;
 *  - against a one-device run on platform 0, every item is within a
 *    floating-point tolerance (different compilers may round exp, sin,
 *    log1p and the RNG's normal draws differently): |a - b| <= 1e-12 *
 *    max(1, |b|) in f64 and 1e-5 * max(1, |b|) in f32;
 *  - NUTS (clvmap_nuts.h, 4 chains) on the mixed mesh: each chain's draws
 *    are the bits of the one-device run on the platform that ran it, and
 *    the posterior means agree with a one-device run and with the truth
 *    within Monte Carlo error;
 *  - it prints the throughput each device reached (clv_mesh_stats: items /
 *    kernel time) and the split CLV_SPLIT_MEASURED makes of it.
 *
 * It needs two platforms with a device each; with one it skips, saying so.
 * CLV_TEST_ICD_VENDORS=DIR points the ICD loader at DIR (sets
 * OCL_ICD_VENDORS before the first OpenCL call): .ci/intel.sh sets it to a
 * folder with both PoCL's and Intel's .icd files. By hand:
 *   OCL_ICD_VENDORS=/path/with/both/icds build/tests/test_mixed_vendor */
#define _POSIX_C_SOURCE 200112L /* setenv */
#include "test_util.h"
#include "clvmap_nuts.h"

#include <math.h>

static const char *map_source =
    "__kernel void wiggle(CLV_ITEMS, __global const clv_real *x, __global clv_real *y, const clv_real a) {\n"
    "    CLV_GUARD();\n"
    "    const size_t i = clv_local();\n"
    "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 0);\n"
    "    const clv_real v = x[i];\n"
    "    const clv_real z = clv_normal(&r);\n"
    "    y[2 * i] = exp(-(clv_real)0.5 * v * v) * sin(a * v) + log1p(v * v) + z;\n"
    "    y[2 * i + 1] = sqrt(fabs(v) + clv_uniform(&r)) * cos(v) / ((clv_real)1 + z * z);\n"
    "}\n";

static const char *nuts_source =
    "clv_real logdensity(__global const clv_real *x, __global clv_real *grad,\n"
    "                    __global const clv_real *data) {\n"
    "    clv_real lp = 0;\n"
    "    for (int k = 0; k < CLV_NUTS_DIM; ++k) {\n"
    "        const clv_real s2 = (k + 1) * (k + 1);\n"
    "        lp -= 0.5 * x[k] * x[k] / s2;\n"
    "        grad[k] = -x[k] / s2;\n"
    "    }\n"
    "    return lp;\n"
    "}\n";

#define NUTS_DIM 3

/* The platforms' names: the first two that have a device. */
static char platform_name[2][256];

static int find_two_platforms(char *why, size_t why_size)
{
    cl_platform_id ids[16];
    cl_uint n = 0, found = 0;
    if (clGetPlatformIDs(16, ids, &n) != CL_SUCCESS) n = 0;
    if (n > 16) n = 16;
    for (cl_uint p = 0; p < n && found < 2; ++p) {
        cl_uint nd = 0;
        if (clGetDeviceIDs(ids[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0) continue;
        char *name = platform_name[found];
        clGetPlatformInfo(ids[p], CL_PLATFORM_NAME, sizeof platform_name[0] - 1, name, NULL);
        name[sizeof platform_name[0] - 1] = '\0';
        /* the same platform twice (two .icd files naming one library): the
         * "name:0" strings would both pick the first */
        if (found == 1 && strcmp(name, platform_name[0]) == 0) continue;
        ++found;
    }
    if (found == 2) return 1;
    snprintf(why, why_size,
             "%s OpenCL platform with a device is visible (%s); a mixed-vendor mesh needs two, e.g. "
             "OCL_ICD_VENDORS (or CLV_TEST_ICD_VENDORS) naming a folder with pocl.icd and intel-cpu.icd; "
             ".ci/intel.sh runs this test so",
             found ? "only one" : "no", found ? platform_name[0] : "none");
    return 0;
}

static clv_mesh *open_mesh(const char *spec, clv_split split)
{
    clv_mesh_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.devices = spec;
    desc.split = split;
    clv_mesh *m = NULL;
    if (clv_mesh_open(&m, &desc) != CLV_OK) {
        printf("FAIL: clv_mesh_open(\"%s\"): %s\n", spec, clv_mesh_message(m));
        exit(1);
    }
    return m;
}

/* ---- the chunked sharded map ------------------------------------------- */

typedef struct map_run {
    double *y;             /* 2 values per item */
    size_t first[2], count[2];
    double items_per_s[2]; /* clv_mesh_stats of the timed maps */
    int n_devices;
} map_run;

/* Run wiggle over B items: `warm` untimed maps (CLV_SPLIT_MEASURED learns
 * from them), then the one whose output and statistics are kept. */
static void run_map(clv_mesh *m, clv_dtype real, const double *x, size_t B, long chunk, int warm, map_run *out)
{
    memset(out, 0, sizeof *out);
    out->n_devices = clv_mesh_device_count(m);
    clv_program_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.source = map_source;
    pd.real = real;
    clv_program *p = NULL;
    TU_REQUIRE_OK(m, clv_program_build(&p, m, &pd));
    clv_map_opts o;
    memset(&o, 0, sizeof o);
    o.chunk = chunk;
    o.seed = 2026;
    for (int rep = 0; rep <= warm; ++rep) {
        /* arrays made after the measured split has learnt take its split */
        clv_array *ax = NULL, *ay = NULL;
        TU_REQUIRE_OK(m, clv_array_new(&ax, m, real, B, 1, CLV_SHARDED));
        TU_REQUIRE_OK(m, clv_array_new(&ay, m, real, B, 2, CLV_SHARDED));
        TU_REQUIRE_OK(m, clv_array_write_f64(ax, x));
        if (rep == warm) {
            /* the items each device owns: the split the arrays were made
             * with (a measured split moves again with every map) */
            TU_REQUIRE_OK(m, clv_mesh_split_items(m, B, out->first, out->count));
            clv_mesh_reset_stats(m);
        }
        TU_REQUIRE_OK(m, CLV_MAP(p, "wiggle", B, &o, clv_in(ax), clv_out(ay), clv_real(1.7)));
        if (rep == warm) {
            out->y = (double *)malloc(2 * B * sizeof(double));
            TU_REQUIRE_OK(m, clv_array_read_f64(ay, out->y));
        }
        clv_array_free(ax);
        clv_array_free(ay);
    }
    for (int d = 0; d < out->n_devices && d < 2; ++d) {
        clv_device_stats st;
        clv_mesh_stats(m, d, &st);
        TU_CHECK(st.items == out->count[d], "device %d ran %llu items, owns %zu", d, (unsigned long long)st.items,
                 out->count[d]);
        out->items_per_s[d] = st.kernel_ns ? 1e9 * (double)st.items / (double)st.kernel_ns : 0;
    }
    clv_program_free(p);
}

/* Items [first, first + count) of a and b: bitwise equal? */
static int same_bits(const double *a, const double *b, size_t first, size_t count)
{
    return memcmp(a + 2 * first, b + 2 * first, 2 * count * sizeof(double)) == 0;
}

/* The largest |a - b| / max(1, |b|) over all values; how many differ. */
static double worst_error(const double *a, const double *b, size_t n, size_t *n_differ)
{
    double worst = 0;
    *n_differ = 0;
    for (size_t i = 0; i < n; ++i) {
        double e = fabs(a[i] - b[i]) / fmax(1.0, fabs(b[i]));
        if (a[i] != b[i]) ++*n_differ;
        if (!(e <= worst)) worst = e; /* NaN counts as worst */
    }
    return worst;
}

static void check_map(clv_dtype real, size_t B, long chunk)
{
    const char *tname = real == CLV_F64 ? "f64" : "f32";
    const double tol = real == CLV_F64 ? 1e-12 : 1e-5;
    char spec[600], one[2][300];
    snprintf(spec, sizeof spec, "%s:0,%s:0", platform_name[0], platform_name[1]);
    for (int k = 0; k < 2; ++k) snprintf(one[k], sizeof one[k], "%s:0", platform_name[k]);

    double *x = (double *)malloc(B * sizeof(double));
    unsigned long long state = 77;
    for (size_t i = 0; i < B; ++i) x[i] = 6.0 * ((double)(tu_next(&state) >> 11) / 9007199254740992.0) - 3.0;

    map_run ref[2], mixed, measured;
    for (int k = 0; k < 2; ++k) {
        clv_mesh *m = open_mesh(one[k], CLV_SPLIT_EQUAL);
        run_map(m, real, x, B, CLV_CHUNK_NONE, 0, &ref[k]);
        clv_mesh_close(m);
    }
    clv_mesh *m = open_mesh(spec, CLV_SPLIT_EQUAL);
    TU_CHECK(clv_mesh_device_count(m) == 2, "\"%s\" opened %d devices", spec, clv_mesh_device_count(m));
    for (int d = 0; d < 2; ++d) {
        clv_device_info info;
        TU_REQUIRE_OK(m, clv_mesh_device_info(m, d, &info));
        TU_CHECK(strcmp(info.platform, platform_name[d]) == 0, "mesh device %d is on \"%s\", wanted \"%s\"", d,
                 info.platform, platform_name[d]);
    }
    run_map(m, real, x, B, chunk, 0, &mixed);
    TU_REQUIRE_OK(m, clv_mesh_set_split(m, CLV_SPLIT_MEASURED, NULL, 0));
    run_map(m, real, x, B, chunk, 2, &measured);
    clv_mesh_close(m);

    size_t n_differ = 0;
    double vendors = worst_error(ref[1].y, ref[0].y, 2 * B, &n_differ);
    printf("%s, %zu items: one-device runs of the two platforms differ in %zu of %zu values, largest relative "
           "difference %.3g (tolerance %g)\n", tname, B, n_differ, 2 * B, vendors, tol);
    TU_CHECK(vendors <= tol, "%s: %s and %s differ by %.3g > %g", tname, platform_name[0], platform_name[1], vendors,
             tol);
    const map_run *runs[2] = { &mixed, &measured };
    const char *label[2] = { "equal split", "measured split" };
    for (int r = 0; r < 2; ++r) {
        const map_run *mr = runs[r];
        for (int d = 0; d < 2; ++d)
            TU_CHECK(same_bits(mr->y, ref[d].y, mr->first[d], mr->count[d]),
                     "%s, %s, chunk %ld: the %zu items on device %d (%s) are not the bits of a run on that device "
                     "alone", tname, label[r], chunk, mr->count[d], d, platform_name[d]);
        double e = worst_error(mr->y, ref[0].y, 2 * B, &n_differ);
        TU_CHECK(e <= tol, "%s, %s: largest relative difference from one device %.3g > %g", tname, label[r], e, tol);
        double total = mr->items_per_s[0] + mr->items_per_s[1];
        printf("%s, %s, chunk %ld: device 0 (%s) %zu items at %.3g items/s, device 1 (%s) %zu items at %.3g "
               "items/s: %.0f%% / %.0f%% of the throughput; largest difference from one device %.3g\n",
               tname, label[r], chunk, platform_name[0], mr->count[0], mr->items_per_s[0], platform_name[1],
               mr->count[1], mr->items_per_s[1], total > 0 ? 100 * mr->items_per_s[0] / total : 0,
               total > 0 ? 100 * mr->items_per_s[1] / total : 0, e);
    }
    /* the measured split follows the measured throughput (to 2 %, plus rounding) */
    double share0 = (double)measured.count[0] / (double)B;
    double want0 = mixed.items_per_s[0] / (mixed.items_per_s[0] + mixed.items_per_s[1]);
    printf("%s: measured split gives device 0 %.1f%% of the items (its share of the equal split's throughput: "
           "%.1f%%)\n", tname, 100 * share0, 100 * want0);
    TU_CHECK(measured.count[0] + measured.count[1] == B && measured.count[0] > 0 && measured.count[1] > 0,
             "%s: measured split %zu + %zu of %zu items", tname, measured.count[0], measured.count[1], B);
    for (int k = 0; k < 2; ++k) free(ref[k].y);
    free(mixed.y);
    free(measured.y);
    free(x);
}

/* ---- NUTS ----------------------------------------------------------------- */

static void run_nuts(const char *spec, int n_chains, clv_nuts_result *r, size_t *first, size_t *count)
{
    clv_mesh *m = open_mesh(spec, CLV_SPLIT_EQUAL);
    clv_nuts_model model;
    memset(&model, 0, sizeof model);
    model.source = nuts_source;
    model.dim = NUTS_DIM;
    clv_nuts *s = NULL;
    clv_status st = clv_nuts_new(&s, m, &model);
    clv_nuts_opts o;
    memset(&o, 0, sizeof o);
    o.n_chains = n_chains;
    o.num_warmup = tu_small() ? 100 : 300;
    o.num_draws = tu_small() ? 200 : 500;
    o.seed = 11;
    o.chunk = 1;
    memset(r, 0, sizeof *r);
    if (st == CLV_OK) st = clv_nuts_run(s, &o, r);
    if (st != CLV_OK) {
        printf("FAIL: NUTS on \"%s\": %s\n", spec, clv_nuts_message(s));
        exit(1);
    }
    if (first) TU_REQUIRE_OK(m, clv_mesh_split_items(m, (size_t)n_chains, first, count));
    clv_nuts_free(s);
    clv_mesh_close(m);
}

static int same_chains(const clv_nuts_result *a, const clv_nuts_result *b, size_t first, size_t count)
{
    size_t per = (size_t)a->num_draws, d = (size_t)a->dim;
    return memcmp(a->draws + first * per * d, b->draws + first * per * d, count * per * d * sizeof(double)) == 0 &&
           memcmp(a->lp + first * per, b->lp + first * per, count * per * sizeof(double)) == 0 &&
           memcmp(a->n_leapfrog + first * per, b->n_leapfrog + first * per, count * per * sizeof(int)) == 0 &&
           memcmp(a->inv_mass + first * d, b->inv_mass + first * d, count * d * sizeof(double)) == 0;
}

static void check_nuts(void)
{
    const int n_chains = 4;
    char spec[600], one[2][300];
    snprintf(spec, sizeof spec, "%s:0,%s:0", platform_name[0], platform_name[1]);
    for (int k = 0; k < 2; ++k) snprintf(one[k], sizeof one[k], "%s:0", platform_name[k]);
    clv_nuts_result ref[2], mixed;
    size_t first[2], count[2];
    for (int k = 0; k < 2; ++k) run_nuts(one[k], n_chains, &ref[k], NULL, NULL);
    run_nuts(spec, n_chains, &mixed, first, count);

    for (int d = 0; d < 2; ++d)
        TU_CHECK(same_chains(&mixed, &ref[d], first[d], count[d]),
                 "NUTS: chains %zu..%zu ran on device %d (%s) but are not the bits of a run on it alone", first[d],
                 first[d] + count[d] - 1, d, platform_name[d]);
    size_t n = (size_t)n_chains * mixed.num_draws * NUTS_DIM, n_differ = 0;
    double e = worst_error(ref[1].draws, ref[0].draws, n, &n_differ);
    printf("NUTS, %d chains x %d draws: the platforms' one-device runs differ in %zu of %zu draw values (largest "
           "relative difference %.3g)\n", n_chains, mixed.num_draws, n_differ, n, e);
    for (int k = 0; k < NUTS_DIM; ++k) {
        clv_nuts_summary a, b;
        clv_nuts_summarize_param(&mixed, k, &a);
        clv_nuts_summarize_param(&ref[0], k, &b);
        double sd = k + 1.0, mcse_a = a.sd / sqrt(a.ess_bulk), mcse_b = b.sd / sqrt(b.ess_bulk);
        /* the runs share the chains of platform 0, so the difference is
         * within the larger of the two errors; 5 MCSE leaves room */
        TU_CHECK(fabs(a.mean - b.mean) <= 5 * sqrt(mcse_a * mcse_a + mcse_b * mcse_b),
                 "NUTS x[%d]: mean %.4g on the mixed mesh, %.4g on one device (MCSE %.3g, %.3g)", k, a.mean, b.mean,
                 mcse_a, mcse_b);
        TU_CHECK(fabs(a.mean) <= 5 * mcse_a, "NUTS x[%d]: mean %.4g, truth 0, MCSE %.3g", k, a.mean, mcse_a);
        TU_CHECK(fabs(a.sd - sd) <= 0.25 * sd, "NUTS x[%d]: sd %.4g, truth %g", k, a.sd, sd);
        printf("  x[%d]: mean %+.4f (one device %+.4f, MCSE %.3f), sd %.3f (truth %g), R-hat %.3f\n", k, a.mean,
               b.mean, mcse_a, a.sd, sd, a.rhat);
    }
    for (int d = 0; d < 2; ++d)
        printf("  NUTS device %d (%s): chains %zu..%zu\n", d, platform_name[d], first[d], first[d] + count[d] - 1);
    for (int k = 0; k < 2; ++k) clv_nuts_result_free(&ref[k]);
    clv_nuts_result_free(&mixed);
}

int main(void)
{
    const char *dir = getenv("CLV_TEST_ICD_VENDORS");
    if (dir && *dir) {
        /* before the first OpenCL call: the ICD loader reads it once */
#ifdef _WIN32
        _putenv_s("OCL_ICD_VENDORS", dir);
#else
        setenv("OCL_ICD_VENDORS", dir, 1);
#endif
        printf("OCL_ICD_VENDORS=%s (from CLV_TEST_ICD_VENDORS)\n", dir);
    }
    char why[512];
    if (!find_two_platforms(why, sizeof why)) {
        printf("skip: %s\n", why);
        return 77;
    }
    printf("mixed mesh: \"%s:0,%s:0\"\n", platform_name[0], platform_name[1]);
    size_t B = tu_small() ? 20011 : 200003;
    check_map(CLV_F64, B, 997);
    check_map(CLV_F32, B, 4096);
    check_nuts();
    return tu_summary();
}
