/* bench_stream.c — host-streamed maps (clv_in_host/clv_out_host) against
 * resident ones (clv_array) on the same batch, runs interleaved:
 *
 *   gmm    the Gaussian-mixture log density of examples/gmm_model.h
 *          (compute-bound): resident map time (data already on the
 *          devices), resident map + clv_array_write + clv_array_read, and
 *          the streamed map (uploads, kernels and downloads overlapping);
 *   triad  y = x + 3 z (memory-bound): the same three, and the streamed
 *          map's rate in host bytes (x, z read, y written) per second, to
 *          set against the machine's copy bandwidth.
 *
 * Prints one line per kernel: medians of --repeats interleaved runs (after
 * one warm-up of each), and checks that streamed and resident outputs are
 * the same bits.
 *   bench_stream [--items N] [--repeats R] [--chunk K|auto|none] [--dtype f32|f64]
 *                [--kernel gmm|triad|both] [--stage 0|1]
 * --stage 1 sets clv_map_opts.stage_inputs for the streamed maps (inputs
 * copied to staging buffers, as on a GPU, instead of read in place on a
 * device that shares host memory).
 * Devices: CLV_DEVICES (and POCL_DEVICES), as in every clvmap program. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "clvmap.h"
#include "gmm_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *triad_source =
    "__kernel void triad(CLV_ITEMS, __global const clv_real *x, __global const clv_real *z,\n"
    "                    __global clv_real *y) {\n"
    "    CLV_GUARD();\n"
    "    y[clv_local()] = x[clv_local()] + (clv_real)3 * z[clv_local()];\n"
    "}\n";

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
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

#define CHECK(call)                                                                     \
    do {                                                                                \
        clv_status s_ = (call);                                                         \
        if (s_ != CLV_OK) {                                                             \
            fprintf(stderr, "%s: %s\n", #call, clv_mesh_message(m));                    \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

typedef struct options {
    size_t n_items;
    int repeats, f64;
    long chunk;
    const char *kernel;
    int stage;
} options;

static void *real_buffer(size_t n, int f64, const double *from)
{
    void *v = malloc(n * (f64 ? 8 : 4));
    if (!v) {
        fprintf(stderr, "out of host memory\n");
        exit(1);
    }
    for (size_t i = 0; from && i < n; ++i) {
        if (f64) ((double *)v)[i] = from[i];
        else ((float *)v)[i] = (float)from[i];
    }
    return v;
}

static void bench_gmm(clv_mesh *m, const options *o)
{
    clv_dtype dt = o->f64 ? CLV_F64 : CLV_F32;
    size_t rs = clv_dtype_size(dt), n = o->n_items;
    gmm_params g;
    gmm_make_params(&g, 2026);
    if (!o->f64) gmm_params_round_to_float(&g);
    double *xd = (double *)malloc(n * GMM_D * sizeof(double));
    gmm_make_points(&g, 2026, 0, n, xd);
    void *x = real_buffer(n * GMM_D, o->f64, xd), *y_res = real_buffer(n, o->f64, NULL);
    void *y_str = real_buffer(n, o->f64, NULL);
    free(xd);
    clv_program *p;
    clv_program_desc pd = {0};
    pd.source = gmm_kernel_source;
    pd.name = "gmm_model.h";
    pd.options = GMM_BUILD_OPTIONS;
    pd.real = dt;
    CHECK(clv_program_build(&p, m, &pd));
    clv_array *xa, *mu, *prec, *logc, *out;
    CHECK(clv_array_new(&xa, m, dt, n, GMM_D, CLV_SHARDED));
    CHECK(clv_array_new(&out, m, dt, n, 1, CLV_SHARDED));
    CHECK(clv_array_new(&mu, m, dt, GMM_D, GMM_K, CLV_REPLICATED));
    CHECK(clv_array_new(&prec, m, dt, GMM_D, GMM_K, CLV_REPLICATED));
    CHECK(clv_array_new(&logc, m, dt, GMM_K, 1, CLV_REPLICATED));
    void *v = real_buffer(GMM_D * GMM_K, o->f64, g.mu);
    CHECK(clv_array_write(mu, v));
    free(v);
    v = real_buffer(GMM_D * GMM_K, o->f64, g.prec);
    CHECK(clv_array_write(prec, v));
    free(v);
    v = real_buffer(GMM_K, o->f64, g.logc);
    CHECK(clv_array_write(logc, v));
    free(v);
    clv_map_opts opts = {0};
    opts.chunk = o->chunk;
    opts.stage_inputs = o->stage;
    double *t_res = calloc((size_t)o->repeats, sizeof(double)), *t_io = calloc((size_t)o->repeats, sizeof(double));
    double *t_str = calloc((size_t)o->repeats, sizeof(double));
    for (int r = -1; r < o->repeats; ++r) { /* r = -1: warm-up (kernel compiles) */
        double t0 = now();
        CHECK(clv_array_write(xa, x));
        double t1 = now();
        CHECK(CLV_MAP(p, "gmm_logpdf", n, &opts, clv_in(xa), clv_in(mu), clv_in(prec), clv_in(logc),
                      clv_scratch(GMM_K * rs), clv_out(out)));
        double t2 = now();
        CHECK(clv_array_read(out, y_res));
        double t3 = now();
        CHECK(CLV_MAP(p, "gmm_logpdf", n, &opts, clv_in_host(x, n * GMM_D * rs, dt, GMM_D), clv_in(mu),
                      clv_in(prec), clv_in(logc), clv_scratch(GMM_K * rs), clv_out_host(y_str, n * rs, dt, 1)));
        double t4 = now();
        if (r < 0) continue;
        t_res[r] = t2 - t1;
        t_io[r] = t3 - t0;
        t_str[r] = t4 - t3;
    }
    int same = memcmp(y_res, y_str, n * rs) == 0;
    clv_device_stats st;
    clv_mesh_stats(m, 0, &st);
    double a = median(t_res, o->repeats), b = median(t_io, o->repeats), c = median(t_str, o->repeats);
    printf("gmm   dtype=%s B=%zu devices=%d chunk=%ld stage=%d repeats=%d resident_map=%.4fs resident_with_io=%.4fs "
           "streamed=%.4fs streamed/resident=%.3f streamed/resident_with_io=%.3f same_bits=%s\n",
           o->f64 ? "f64" : "f32", n, clv_mesh_device_count(m), o->chunk, o->stage, o->repeats, a, b, c, c / a, c / b,
           same ? "yes" : "NO");
    free(t_res);
    free(t_io);
    free(t_str);
    clv_array_free(xa);
    clv_array_free(out);
    clv_array_free(mu);
    clv_array_free(prec);
    clv_array_free(logc);
    clv_program_free(p);
    free(x);
    free(y_res);
    free(y_str);
    if (!same) exit(1);
}

static void bench_triad(clv_mesh *m, const options *o)
{
    clv_dtype dt = o->f64 ? CLV_F64 : CLV_F32;
    size_t rs = clv_dtype_size(dt), n = o->n_items;
    void *x = real_buffer(n, o->f64, NULL), *z = real_buffer(n, o->f64, NULL);
    void *y_res = real_buffer(n, o->f64, NULL), *y_str = real_buffer(n, o->f64, NULL);
    for (size_t i = 0; i < n; ++i) {
        if (o->f64) ((double *)x)[i] = (double)i, ((double *)z)[i] = 0.5 * (double)(i & 255);
        else ((float *)x)[i] = (float)(i & 65535), ((float *)z)[i] = 0.5f * (float)(i & 255);
    }
    clv_program *p;
    clv_program_desc pd = {0};
    pd.source = triad_source;
    pd.name = "triad.cl";
    pd.real = dt;
    CHECK(clv_program_build(&p, m, &pd));
    clv_array *xa, *za, *ya;
    CHECK(clv_array_new(&xa, m, dt, n, 1, CLV_SHARDED));
    CHECK(clv_array_new(&za, m, dt, n, 1, CLV_SHARDED));
    CHECK(clv_array_new(&ya, m, dt, n, 1, CLV_SHARDED));
    clv_map_opts opts = {0};
    opts.chunk = o->chunk;
    opts.stage_inputs = o->stage;
    double *t_res = calloc((size_t)o->repeats, sizeof(double)), *t_io = calloc((size_t)o->repeats, sizeof(double));
    double *t_str = calloc((size_t)o->repeats, sizeof(double));
    for (int r = -1; r < o->repeats; ++r) {
        double t0 = now();
        CHECK(clv_array_write(xa, x));
        CHECK(clv_array_write(za, z));
        double t1 = now();
        CHECK(CLV_MAP(p, "triad", n, &opts, clv_in(xa), clv_in(za), clv_out(ya)));
        double t2 = now();
        CHECK(clv_array_read(ya, y_res));
        double t3 = now();
        CHECK(CLV_MAP(p, "triad", n, &opts, clv_in_host(x, n * rs, dt, 1), clv_in_host(z, n * rs, dt, 1),
                      clv_out_host(y_str, n * rs, dt, 1)));
        double t4 = now();
        if (r < 0) continue;
        t_res[r] = t2 - t1;
        t_io[r] = t3 - t0;
        t_str[r] = t4 - t3;
    }
    int same = memcmp(y_res, y_str, n * rs) == 0;
    double a = median(t_res, o->repeats), b = median(t_io, o->repeats), c = median(t_str, o->repeats);
    double bytes = 3.0 * (double)n * (double)rs;
    printf("triad dtype=%s B=%zu devices=%d chunk=%ld stage=%d repeats=%d resident_map=%.4fs (%.1f GB/s) "
           "resident_with_io=%.4fs (%.1f GB/s) streamed=%.4fs (%.1f GB/s of host bytes) same_bits=%s\n",
           o->f64 ? "f64" : "f32", n, clv_mesh_device_count(m), o->chunk, o->stage, o->repeats, a, bytes / a * 1e-9, b,
           bytes / b * 1e-9, c, bytes / c * 1e-9, same ? "yes" : "NO");
    free(t_res);
    free(t_io);
    free(t_str);
    clv_array_free(xa);
    clv_array_free(za);
    clv_array_free(ya);
    clv_program_free(p);
    free(x);
    free(z);
    free(y_res);
    free(y_str);
    if (!same) exit(1);
}

int main(int argc, char **argv)
{
    options o = {1 << 22, 5, 0, 1 << 16, "both", 0};
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            puts("bench_stream [--items N] [--repeats R] [--chunk K|auto|none] [--dtype f32|f64] "
                 "[--kernel gmm|triad|both] [--stage 0|1]");
            return 0;
        }
        if (!v) {
            fprintf(stderr, "%s needs a value (--help)\n", a);
            return 2;
        }
        ++i;
        if (!strcmp(a, "--items")) o.n_items = (size_t)strtoull(v, NULL, 10);
        else if (!strcmp(a, "--repeats")) o.repeats = atoi(v);
        else if (!strcmp(a, "--chunk"))
            o.chunk = !strcmp(v, "auto") ? CLV_CHUNK_AUTO : !strcmp(v, "none") ? CLV_CHUNK_NONE : atol(v);
        else if (!strcmp(a, "--dtype")) o.f64 = !strcmp(v, "f64");
        else if (!strcmp(a, "--kernel")) o.kernel = v;
        else if (!strcmp(a, "--stage")) o.stage = atoi(v);
        else {
            fprintf(stderr, "unknown option %s (--help)\n", a);
            return 2;
        }
    }
    if (o.n_items == 0 || o.repeats < 1) {
        fprintf(stderr, "--items and --repeats must be positive\n");
        return 2;
    }
    (void)gmm_logpdf_reference; /* the model's host reference: bench_gmm checks against it */
    clv_mesh *m = NULL;
    if (clv_mesh_open(&m, NULL) != CLV_OK) {
        fprintf(stderr, "%s\n", clv_mesh_message(m));
        clv_mesh_close(m);
        return 1;
    }
    if (strcmp(o.kernel, "triad") != 0) bench_gmm(m, &o);
    if (strcmp(o.kernel, "gmm") != 0) bench_triad(m, &o);
    clv_mesh_close(m);
    return 0;
}
