/* bench_gmm.c — one benchmark run of the Gaussian-mixture map
 * (examples/gmm_model.h): builds, uploads, warms up (PoCL compiles a kernel
 * on its first launch of each shape), then times `--repeats` maps and prints
 * ONE line of key=value fields:
 *
 *   clvmap variant=... dtype=f32 B=... devices=0 chunk=4096 repeats=5
 *          seconds=<median map wall time> min_seconds=... cpu_seconds=<median
 *          process CPU time per map> rss_kb=<peak RSS, getrusage> checksum=...
 *          launches=... chunk_used=... scratch_hw=... bytes_hw=...
 *          max_error=... bits=<FNV-1a hash of the output's bytes>
 *
 * scratch_hw and bytes_hw are clv_mesh_stats' scratch_high_water and
 * bytes_high_water (device 0, bytes). Only the maps are timed: data
 * generation, upload, build and warm-up are not. tests/bench/run_gmm_bench.sh
 * runs one process per run and takes medians; tests/bench/README.md explains.
 *
 * --dump FILE writes the model and the points in the run's precision for
 * tests/bench/gmm_jax.py (same bits on both sides) and exits.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "clvmap.h"
#include "gmm_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const uint64_t SEED = 2026; /* the tour's seed: same data, same checksum */

typedef struct options {
    const char *variant, *devices, *dump, *form, *options;
    size_t n_items, local_size;
    long chunk;
    int f64, repeats, failover;
} options;

static double wall_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* User + system CPU time of the whole process (all PoCL threads). */
static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           1e-6 * (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

static long peak_rss_kb(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss; /* kilobytes on Linux */
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* n doubles in the run's precision (float rounds to nearest, like numpy). */
static void *to_real(const double *v, size_t n, int f64)
{
    void *out = malloc(n * (f64 ? sizeof(double) : sizeof(float)));
    for (size_t i = 0; out && i < n; ++i) {
        if (f64) ((double *)out)[i] = v[i];
        else ((float *)out)[i] = (float)v[i];
    }
    return out;
}

static void *make_points(const gmm_params *g, size_t n_items, int f64)
{
    void *x = malloc(n_items * GMM_D * (f64 ? sizeof(double) : sizeof(float)));
    for (size_t i = 0; x && i < n_items; ++i) {
        double point[GMM_D];
        gmm_make_points(g, SEED, i, 1, point);
        for (int d = 0; d < GMM_D; ++d) {
            if (f64) ((double *)x + i * GMM_D)[d] = point[d];
            else ((float *)x + i * GMM_D)[d] = (float)point[d];
        }
    }
    return x;
}

/* Layout read by gmm_jax.py: "GMMBENCH", u32 D, u32 K, u32 bytes per real,
 * u32 0, u64 B, then mu (D x K), prec (D x K), logc (K), x (B x D). */
static int dump(const options *o, const gmm_params *g, const void *x)
{
    FILE *f = fopen(o->dump, "wb");
    if (!f) {
        perror(o->dump);
        return 1;
    }
    uint32_t head[4] = {GMM_D, GMM_K, o->f64 ? 8u : 4u, 0};
    uint64_t n_items = o->n_items;
    size_t size = o->f64 ? sizeof(double) : sizeof(float);
    void *mu = to_real(g->mu, GMM_D * GMM_K, o->f64), *prec = to_real(g->prec, GMM_D * GMM_K, o->f64);
    void *logc = to_real(g->logc, GMM_K, o->f64);
    int ok = mu && prec && logc && fwrite("GMMBENCH", 1, 8, f) == 8 && fwrite(head, sizeof head, 1, f) == 1 &&
             fwrite(&n_items, sizeof n_items, 1, f) == 1 && fwrite(mu, size, GMM_D * GMM_K, f) == GMM_D * GMM_K &&
             fwrite(prec, size, GMM_D * GMM_K, f) == GMM_D * GMM_K && fwrite(logc, size, GMM_K, f) == GMM_K &&
             fwrite(x, size * GMM_D, o->n_items, f) == o->n_items;
    ok = fclose(f) == 0 && ok;
    free(mu);
    free(prec);
    free(logc);
    if (!ok) fprintf(stderr, "%s: write failed\n", o->dump);
    return !ok;
}

/* The largest |map - double reference| over 64 points spread over the batch:
 * a benchmark of a wrong answer is worth nothing. */
static double max_error(const options *o, const gmm_params *g, const void *x, const void *y)
{
    double worst = 0;
    size_t step = o->n_items > 64 ? o->n_items / 64 : 1;
    for (size_t i = 0; i < o->n_items; i += step) {
        double point[GMM_D], value = o->f64 ? ((const double *)y)[i] : (double)((const float *)y)[i];
        for (int d = 0; d < GMM_D; ++d)
            point[d] = o->f64 ? ((const double *)x + i * GMM_D)[d] : (double)((const float *)x + i * GMM_D)[d];
        double e = fabs(value - gmm_logpdf_reference(g, point));
        if (!(e <= worst)) worst = e; /* a NaN sticks */
    }
    return worst;
}

static clv_status write_real_array(clv_array *a, const double *v, size_t n, int f64)
{
    void *r = to_real(v, n, f64);
    if (!r) return CLV_ERROR_OUT_OF_MEMORY;
    clv_status s = clv_array_write(a, r);
    free(r);
    return s;
}

/* FNV-1a over the output's bytes: equal hashes, equal bits (forms and
 * runtimes compared without a file). */
static uint64_t bits_hash(const void *y, size_t bytes)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < bytes; ++i) h = (h ^ ((const unsigned char *)y)[i]) * 0x100000001b3ull;
    return h;
}

/* clv_reduce's sum of the B outputs taken as B items of one value each,
 * whatever the form's items: the same order, so the same checksum, for
 * every form that gives the same bits. */
static clv_status checksum_of(clv_mesh *m, const void *y, size_t n_points, clv_dtype dtype, double *checksum)
{
    clv_array *a = NULL;
    clv_status s = clv_array_new(&a, m, dtype, n_points, 1, CLV_SHARDED);
    if (s == CLV_OK) s = clv_array_write(a, y);
    if (s == CLV_OK) s = clv_reduce(a, CLV_SUM, checksum);
    clv_array_free(a);
    return s;
}

/* The kernel of each --form (examples/gmm_model.h). */
static const char *form_source(const char *form)
{
    if (!strcmp(form, "scratch")) return gmm_kernel_source_scratch;
    if (!strcmp(form, "items")) return gmm_kernel_source_items;
    if (!strcmp(form, "block8")) return gmm_kernel_source_block8;
    return gmm_kernel_source;
}

static int run(const options *o, const gmm_params *g, const void *x)
{
    clv_mesh_desc desc = {0};
    desc.devices = o->devices;
    desc.failover = o->failover;
    clv_mesh *m = NULL;
    clv_program *p = NULL;
    clv_array *xa = NULL, *mu = NULL, *prec = NULL, *logc = NULL, *out = NULL;
    clv_dtype dtype = o->f64 ? CLV_F64 : CLV_F32;
    size_t real_size = clv_dtype_size(dtype);
    double *wall = calloc((size_t)o->repeats, sizeof *wall), *cpu = calloc((size_t)o->repeats, sizeof *cpu);
    void *y = malloc(o->n_items * (o->f64 ? sizeof(double) : sizeof(float)));
    double checksum = 0;
    char build_options[512];
    /* --form block8: one batch item is a block of GMM_BLOCK points; B and the
     * chunk are given in points and divided here */
    size_t per_item = strcmp(o->form, "block8") ? 1 : GMM_BLOCK, n_map = o->n_items / per_item;
    clv_status s = wall && cpu && y ? clv_mesh_open(&m, &desc) : CLV_ERROR_OUT_OF_MEMORY;
    if (s == CLV_OK) {
        clv_program_desc pd = {0};
        pd.source = form_source(o->form);
        pd.name = "gmm_model.h";
        snprintf(build_options, sizeof build_options, "%s %s", GMM_BUILD_OPTIONS, o->options);
        pd.options = build_options;
        pd.real = dtype;
        s = clv_program_build(&p, m, &pd);
    }
    if (s == CLV_OK) s = clv_array_new(&xa, m, dtype, n_map, per_item * GMM_D, CLV_SHARDED);
    if (s == CLV_OK) s = clv_array_new(&mu, m, dtype, GMM_D, GMM_K, CLV_REPLICATED);
    if (s == CLV_OK) s = clv_array_new(&prec, m, dtype, GMM_D, GMM_K, CLV_REPLICATED);
    if (s == CLV_OK) s = clv_array_new(&logc, m, dtype, GMM_K, 1, CLV_REPLICATED);
    if (s == CLV_OK) s = clv_array_new(&out, m, dtype, n_map, per_item, CLV_SHARDED);
    if (s == CLV_OK) s = clv_array_write(xa, x);
    if (s == CLV_OK) s = write_real_array(mu, g->mu, GMM_D * GMM_K, o->f64);
    if (s == CLV_OK) s = write_real_array(prec, g->prec, GMM_D * GMM_K, o->f64);
    if (s == CLV_OK) s = write_real_array(logc, g->logc, GMM_K, o->f64);

    clv_map_opts opts = {0};
    opts.chunk = o->chunk > 0 ? o->chunk / (long)per_item : o->chunk;
    opts.local_size = o->local_size;
    for (int r = -1; r < o->repeats && s == CLV_OK; ++r) { /* r = -1: warm-up */
        if (r == 0) clv_mesh_reset_stats(m);
        double w0 = wall_seconds(), c0 = cpu_seconds();
        s = CLV_MAP(p, "gmm_logpdf", n_map, &opts, clv_in(xa), clv_in(mu), clv_in(prec), clv_in(logc),
                    clv_scratch(GMM_K * real_size), clv_out(out));
        if (r >= 0) {
            wall[r] = wall_seconds() - w0;
            cpu[r] = cpu_seconds() - c0;
        }
    }
    if (s == CLV_OK) s = clv_array_read(out, y);
    if (s == CLV_OK) s = checksum_of(m, y, o->n_items, dtype, &checksum);
    double error = s == CLV_OK ? max_error(o, g, x, y) : 0;
    if (s == CLV_OK) {
        clv_device_stats st;
        uint64_t launches = 0;
        for (int d = 0; d < clv_mesh_device_count(m); ++d) {
            clv_mesh_stats(m, d, &st);
            launches += st.launches;
        }
        clv_mesh_stats(m, 0, &st);
        char chunk[32];
        if (o->chunk == CLV_CHUNK_NONE) strcpy(chunk, "none");
        else if (o->chunk == CLV_CHUNK_AUTO) strcpy(chunk, "auto");
        else snprintf(chunk, sizeof chunk, "%ld", o->chunk);
        double med_wall = median(wall, o->repeats), min_wall = wall[0]; /* sorted by median() */
        printf("clvmap variant=%s form=%s local=%zu dtype=%s B=%zu devices=%s n_devices=%d chunk=%s failover=%d repeats=%d seconds=%.6f "
               "min_seconds=%.6f cpu_seconds=%.6f rss_kb=%ld checksum=%.12e launches=%llu chunk_used=%llu "
               "scratch_hw=%llu bytes_hw=%llu max_error=%.3e bits=%016llx\n",
               o->variant, o->form, o->local_size, o->f64 ? "f64" : "f32", o->n_items, o->devices, clv_mesh_device_count(m), chunk,
               o->failover, o->repeats, med_wall, min_wall, median(cpu, o->repeats), peak_rss_kb(), checksum,
               (unsigned long long)(launches / (uint64_t)o->repeats), (unsigned long long)st.chunk_used,
               (unsigned long long)st.scratch_high_water, (unsigned long long)st.bytes_high_water, error,
               (unsigned long long)bits_hash(y, o->n_items * real_size));
    } else {
        fprintf(stderr, "bench_gmm: %s\n%s\n", clv_status_string(s), clv_mesh_message(m));
    }
    clv_array_free(xa);
    clv_array_free(mu);
    clv_array_free(prec);
    clv_array_free(logc);
    clv_array_free(out);
    clv_program_free(p);
    clv_mesh_close(m);
    free(wall);
    free(cpu);
    free(y);
    if (s == CLV_OK && !(error <= (o->f64 ? 1e-9 : 1e-3))) {
        fprintf(stderr, "bench_gmm: max error %.3e against the reference is too large\n", error);
        return 1;
    }
    return s != CLV_OK;
}

static int usage(const char *argv0, int status)
{
    printf("usage: %s [--dtype f32|f64] [--items N] [--chunk none|auto|K] [--devices SPEC]\n"
           "          [--repeats R] [--variant NAME] [--dump FILE] [--failover 0|1]\n"
           "          [--form vec8|scratch|items|block8] [--local N] [--options \"BUILD OPTIONS\"]\n"
           "  Times R maps (after a warm-up) of the Gaussian-mixture log density over N points\n"
           "  (default 2^20, chunk none, devices \"0\", R 5) and prints one key=value line.\n"
           "  --devices 0,1 with POCL_DEVICES=\"pthread pthread\" shards over two PoCL devices.\n"
           "  --dump FILE writes the model and points for gmm_jax.py and exits.\n"
           "  --failover 1 opens the mesh with failover (host copies; each map reads its output back).\n"
           "  --form: the kernel of examples/gmm_model.h: vec8 gmm_kernel_source (float8 over K, the\n"
           "  default), scratch gmm_kernel_source_scratch (the same through a scratch row), items\n"
           "  gmm_kernel_source_items (per scalar), block8 gmm_kernel_source_block8 (8 points per item;\n"
           "  N and a chunk K are counted in points and must be multiples of 8);\n"
           "  --local N: clv_map_opts.local_size; --options: added to the program's build options.\n",
           argv0);
    return status;
}

int main(int argc, char **argv)
{
    options o = {.variant = NULL, .devices = "0", .dump = NULL, .n_items = (size_t)1 << 20,
                 .chunk = CLV_CHUNK_NONE, .f64 = 0, .repeats = 5, .form = "vec8", .options = "",
                 .local_size = 0};
    for (int i = 1; i < argc; ++i) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--help")) return usage(argv[0], 0);
        if (!value) return usage(argv[0], 2);
        ++i;
        if (!strcmp(arg, "--dtype")) o.f64 = !strcmp(value, "f64");
        else if (!strcmp(arg, "--items")) o.n_items = strtoull(value, NULL, 10);
        else if (!strcmp(arg, "--chunk"))
            o.chunk = !strcmp(value, "none") ? CLV_CHUNK_NONE : !strcmp(value, "auto") ? CLV_CHUNK_AUTO
                                                                                      : atol(value);
        else if (!strcmp(arg, "--devices")) o.devices = value;
        else if (!strcmp(arg, "--repeats")) o.repeats = atoi(value);
        else if (!strcmp(arg, "--variant")) o.variant = value;
        else if (!strcmp(arg, "--dump")) o.dump = value;
        else if (!strcmp(arg, "--failover")) o.failover = atoi(value) != 0;
        else if (!strcmp(arg, "--form") && (!strcmp(value, "vec8") || !strcmp(value, "scratch") ||
                                               !strcmp(value, "items") || !strcmp(value, "block8")))
            o.form = value;
        else if (!strcmp(arg, "--local")) o.local_size = strtoull(value, NULL, 10);
        else if (!strcmp(arg, "--options")) o.options = value;
        else return usage(argv[0], 2);
    }
    if (o.n_items == 0 || o.repeats < 1 || o.chunk < CLV_CHUNK_AUTO) return usage(argv[0], 2);
    if (!strcmp(o.form, "block8") && (o.n_items % GMM_BLOCK || (o.chunk > 0 && o.chunk % GMM_BLOCK))) {
        fprintf(stderr, "bench_gmm: --form block8 needs --items and --chunk multiples of %d\n", GMM_BLOCK);
        return 2;
    }
    if (!o.variant) o.variant = "custom";

    gmm_params g;
    gmm_make_params(&g, SEED);
    if (!o.f64) gmm_params_round_to_float(&g); /* what a float device sees */
    void *x = make_points(&g, o.n_items, o.f64);
    if (!x) {
        fprintf(stderr, "bench_gmm: out of host memory\n");
        return 1;
    }
    int status = o.dump ? dump(&o, &g, x) : run(&o, &g, x);
    free(x);
    return status;
}
