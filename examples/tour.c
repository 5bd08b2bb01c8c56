/* tour.c — clvmap on one page.
 *
 * One kernel, the log density of a Gaussian mixture (examples/gmm_model.h),
 * evaluated at B = 2^20 points, run five ways:
 *
 *   vmap          one launch over the whole batch      (jax.vmap)
 *   chunk 1024    launches of 1024 items, in order      (jax.lax.map(batch_size=1024))
 *   chunk auto    the largest chunk whose scratch fits
 *   2 devices     the batch split over two devices      (shard_map), each
 *   2 dev x 1024  running its half one launch / 1024 items at a time
 *
 * Each run prints its checksum, whether its output is bitwise identical to
 * the first run's (clvmap guarantees it is), its error against a double
 * reference computed on the host, its time, and what each device did.
 *
 *   ./tour                    float, 2^20 points
 *   ./tour --f64 --items 1000 double, 1000 points
 *   POCL_DEVICES="pthread pthread" ./tour    gives PoCL two CPU devices
 *   ./tour --devices portable:0,portable:1  the devices of the shard runs (the
 *                             one-device runs use the first of them)
 *   ./tour --help
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include "clvmap.h"
#include "gmm_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { N_RUNS = 5, SAMPLE = 4096 };
static const uint64_t SEED = 2026;

typedef struct run {
    const char *name;
    const char *devices; /* clv_mesh_desc.devices */
    long chunk;
    double checksum, max_error, seconds;
    uint64_t launches;
    int identical;       /* bitwise equal to the first run's output */
} run;

/* What every run shares: the model, the points, and the first output. */
typedef struct tour {
    size_t n_items;
    int f64;
    gmm_params model;    /* rounded to float for a float run */
    void *points;        /* n_items x GMM_D in the run's precision */
    void *output, *first_output;
} tour;

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static size_t real_size(const tour *t) { return t->f64 ? sizeof(double) : sizeof(float); }

static double real_at(const tour *t, const void *a, size_t i)
{
    return t->f64 ? ((const double *)a)[i] : (double)((const float *)a)[i];
}

/* Convert n doubles to the run's precision and upload them. */
static clv_status write_reals(const tour *t, clv_array *a, const double *values, size_t n)
{
    if (t->f64) return clv_array_write(a, values);
    float *f = malloc(n * sizeof *f);
    if (!f) return CLV_ERROR_OUT_OF_MEMORY;
    for (size_t i = 0; i < n; ++i) f[i] = (float)values[i];
    clv_status s = clv_array_write(a, f);
    free(f);
    return s;
}

/* The largest |device - reference| over SAMPLE points spread over the batch. */
static double max_error(const tour *t)
{
    double worst = 0, x[GMM_D];
    size_t step = t->n_items > SAMPLE ? t->n_items / SAMPLE : 1;
    for (size_t i = 0; i < t->n_items; i += step) {
        gmm_make_points(&t->model, SEED, i, 1, x);
        if (!t->f64) gmm_round_to_float(x, GMM_D);
        double e = fabs(real_at(t, t->output, i) - gmm_logpdf_reference(&t->model, x));
        if (!(e <= worst)) worst = e; /* a NaN sticks */
    }
    return worst;
}

static void print_device_stats(const clv_mesh *m)
{
    for (int d = 0; d < clv_mesh_device_count(m); ++d) {
        clv_device_stats s;
        clv_mesh_stats(m, d, &s);
        printf("    device %d: %8llu items %5llu launches  chunk %-8llu scratch %6.2f MiB  "
               "device bytes %7.2f MiB  kernel %7.1f ms\n", d, (unsigned long long)s.items,
               (unsigned long long)s.launches, (unsigned long long)s.chunk_used,
               (double)s.scratch_high_water / 1048576.0, (double)s.bytes_high_water / 1048576.0,
               1e-6 * (double)s.kernel_ns);
    }
}

/* One map, then what it did. The map runs twice and the second call is
 * timed: PoCL compiles a kernel on its first launch of each shape. */
static clv_status run_map(tour *t, clv_mesh *m, clv_program *p, clv_array **arrays, run *r, int first)
{
    clv_map_opts opts = {0};
    opts.chunk = r->chunk;
    clv_status s = CLV_OK;
    for (int rep = 0; rep < 2 && s == CLV_OK; ++rep) {
        clv_mesh_reset_stats(m);
        double t0 = now_seconds();
        s = CLV_MAP(p, "gmm_logpdf", t->n_items, &opts, clv_in(arrays[0]), clv_in(arrays[1]),
                    clv_in(arrays[2]), clv_in(arrays[3]),
                    clv_scratch(GMM_K * real_size(t)), clv_out(arrays[4]));
        r->seconds = now_seconds() - t0;
    }
    if (s == CLV_OK) s = clv_array_read(arrays[4], t->output);
    if (s == CLV_OK) s = clv_reduce(arrays[4], CLV_SUM, &r->checksum);
    if (s != CLV_OK) return s;
    if (first) memcpy(t->first_output, t->output, t->n_items * real_size(t));
    r->identical = memcmp(t->output, t->first_output, t->n_items * real_size(t)) == 0;
    r->max_error = max_error(t);
    r->launches = 0;
    for (int d = 0; d < clv_mesh_device_count(m); ++d) {
        clv_device_stats st;
        clv_mesh_stats(m, d, &st);
        r->launches += st.launches;
    }
    printf("%-13s checksum %.10e  %s  max error %.2e  %8.1f ms\n", r->name, r->checksum,
           r->identical ? "identical to run 1" : "DIFFERS FROM RUN 1", r->max_error, 1e3 * r->seconds);
    print_device_stats(m);
    return CLV_OK;
}

/* Open the devices the runs name, put the data on them, run the maps,
 * release everything. Arrays and programs belong to one mesh. */
static int run_on_mesh(tour *t, run *runs, int n_runs, int is_first_mesh)
{
    clv_mesh_desc desc = {0};
    desc.devices = runs[0].devices;
    clv_mesh *m = NULL;
    clv_program *p = NULL;
    clv_array *arrays[5] = {NULL}; /* x, mu, prec, logc, out */
    clv_status s = clv_mesh_open(&m, &desc);
    if (s == CLV_OK) {
        clv_program_desc pd = {0};
        pd.source = gmm_kernel_source;
        pd.name = "gmm_model.h";
        pd.options = GMM_BUILD_OPTIONS;
        pd.real = t->f64 ? CLV_F64 : CLV_F32;
        s = clv_program_build(&p, m, &pd);
    }
    clv_dtype dtype = t->f64 ? CLV_F64 : CLV_F32;
    if (s == CLV_OK) s = clv_array_new(&arrays[0], m, dtype, t->n_items, GMM_D, CLV_SHARDED);
    if (s == CLV_OK) s = clv_array_new(&arrays[1], m, dtype, GMM_D, GMM_K, CLV_REPLICATED);
    if (s == CLV_OK) s = clv_array_new(&arrays[2], m, dtype, GMM_D, GMM_K, CLV_REPLICATED);
    if (s == CLV_OK) s = clv_array_new(&arrays[3], m, dtype, GMM_K, 1, CLV_REPLICATED);
    if (s == CLV_OK) s = clv_array_new(&arrays[4], m, dtype, t->n_items, 1, CLV_SHARDED);
    if (s == CLV_OK) s = clv_array_write(arrays[0], t->points);
    if (s == CLV_OK) s = write_reals(t, arrays[1], t->model.mu, GMM_D * GMM_K);
    if (s == CLV_OK) s = write_reals(t, arrays[2], t->model.prec, GMM_D * GMM_K);
    if (s == CLV_OK) s = write_reals(t, arrays[3], t->model.logc, GMM_K);
    for (int i = 0; i < n_runs && s == CLV_OK; ++i)
        s = run_map(t, m, p, arrays, &runs[i], is_first_mesh && i == 0);
    if (s != CLV_OK)
        fprintf(stderr, "clvmap error on devices \"%s\": %s\n%s\n", desc.devices, clv_status_string(s),
                clv_mesh_message(m));
    for (int i = 0; i < 5; ++i) clv_array_free(arrays[i]);
    clv_program_free(p);
    clv_mesh_close(m);
    return s == CLV_OK;
}

/* The flat index (clv_list_devices) of the first device SPEC names, and how
 * many devices it names; -1 when SPEC opens no device. */
static int first_device_of(const char *spec, int n_listed, int *n_named)
{
    clv_mesh_desc desc = {0};
    desc.devices = spec;
    clv_mesh *m = NULL;
    int index = -1;
    *n_named = 0;
    if (clv_mesh_open(&m, &desc) != CLV_OK) {
        fprintf(stderr, "tour: --devices %s: %s\n", spec, clv_mesh_message(m));
        clv_mesh_close(m);
        return -1;
    }
    *n_named = clv_mesh_device_count(m);
    cl_device_id first = clv_mesh_device_id(m, 0), parent = NULL;
    /* a sub-device ("cpu/2"): the one-device runs use the device it is part of */
    if (clGetDeviceInfo(first, CL_DEVICE_PARENT_DEVICE, sizeof parent, &parent, NULL) == CL_SUCCESS && parent)
        first = parent;
    for (int i = 0; i < n_listed && index < 0; ++i) {
        char one[16];
        snprintf(one, sizeof one, "%d", i);
        clv_mesh *single = NULL;
        desc.devices = one;
        if (clv_mesh_open(&single, &desc) == CLV_OK && clv_mesh_device_id(single, 0) == first) index = i;
        clv_mesh_close(single);
    }
    clv_mesh_close(m);
    return index;
}

int main(int argc, char **argv)
{
    tour t = {0};
    const char *devices = getenv("CLV_DEVICES"); /* or --devices: the shard runs' devices (default 0,1) */
    if (devices && !*devices) devices = NULL;
    t.n_items = (size_t)1 << 20;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--f64")) t.f64 = 1;
        else if (!strcmp(argv[i], "--items") && i + 1 < argc) t.n_items = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--devices") && i + 1 < argc) devices = argv[++i];
        else {
            int help = !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");
            int valued = !strcmp(argv[i], "--items") || !strcmp(argv[i], "--devices");
            if (!help) fprintf(stderr, valued ? "tour: %s needs a value\n" : "tour: unknown option %s\n", argv[i]);
            fprintf(help ? stdout : stderr,
                    "usage: %s [--items N] [--f64] [--devices SPEC] [--help]\n"
                    "  Evaluates a %d-component Gaussian mixture in %d dimensions at N points\n"
                    "  (default 2^20) as vmap, chunked map and shard; float unless --f64.\n"
                    "  --devices SPEC  as CLV_DEVICES (all, gpu, cpu, 0,1, portable:0, ...; clvmap-info\n"
                    "                  lists them): the shard runs use these devices (default 0,1),\n"
                    "                  the one-device runs the first of them (default: $CLV_DEVICES).\n"
                    "  POCL_DEVICES=\"pthread pthread\" gives PoCL two devices for the shard runs.\n",
                    argv[0], GMM_K, GMM_D);
            return help ? 0 : 2;
        }
    }
    if (t.n_items == 0) {
        fprintf(stderr, "--items must be at least 1\n");
        return 2;
    }

    /* The data, on the host, in the precision of the run. */
    gmm_make_params(&t.model, SEED);
    if (!t.f64) gmm_params_round_to_float(&t.model);
    t.points = malloc(t.n_items * GMM_D * real_size(&t));
    t.output = malloc(t.n_items * real_size(&t));
    t.first_output = malloc(t.n_items * real_size(&t));
    if (!t.points || !t.output || !t.first_output) {
        fprintf(stderr, "out of host memory\n");
        free(t.points);
        free(t.output);
        free(t.first_output);
        return 1;
    }
    for (size_t i = 0; i < t.n_items; ++i) {
        double x[GMM_D];
        gmm_make_points(&t.model, SEED, i, 1, x);
        for (int d = 0; d < GMM_D; ++d) {
            if (t.f64) ((double *)t.points + i * GMM_D)[d] = x[d];
            else ((float *)t.points + i * GMM_D)[d] = (float)x[d];
        }
    }

    char list[4096];
    int n_devices = clv_list_devices(list, sizeof list);
    printf("OpenCL devices:\n%s\n%zu points, %d dimensions, %d components, %s\n\n", list, t.n_items,
           GMM_D, GMM_K, t.f64 ? "double" : "float");

    /* One device: device 0, or the first that --devices names; the shard
     * runs: 0,1, or every device --devices names. */
    char first[16] = "0";
    int n_shard = n_devices;
    if (devices) {
        int index = first_device_of(devices, n_devices, &n_shard);
        if (index < 0) {
            free(t.points);
            free(t.output);
            free(t.first_output);
            return 1; /* as every example whose devices do not open */
        }
        snprintf(first, sizeof first, "%d", index);
    }
    const char *shard = devices ? devices : "0,1";
    run runs[N_RUNS] = {
        {.name = "vmap", .devices = first, .chunk = CLV_CHUNK_NONE},
        {.name = "chunk 1024", .devices = first, .chunk = 1024},
        {.name = "chunk auto", .devices = first, .chunk = CLV_CHUNK_AUTO},
        {.name = "2 devices", .devices = shard, .chunk = CLV_CHUNK_NONE},
        {.name = "2 dev x 1024", .devices = shard, .chunk = 1024},
    };
    int n_runs = n_shard >= 2 ? N_RUNS : 3;
    int ok = run_on_mesh(&t, runs, 3, 1);                       /* device 0 */
    if (ok && n_runs == N_RUNS) ok = run_on_mesh(&t, runs + 3, 2, 0); /* the shard runs */
    if (n_shard == 1)
        printf("(one device only: set POCL_DEVICES=\"pthread pthread\" or --devices for the shard runs)\n");

    /* Float sums of 16 terms of size ~10 lose ~1e-5; double ~1e-14. */
    const double tolerance = t.f64 ? 1e-9 : 1e-3;
    int passed = 1;
    printf("\n%-13s %-7s %8s %9s %-18s %-10s %9s %10s\n", "run", "devices", "chunk", "launches", "checksum",
           "bitwise", "max error", "time");
    for (int i = 0; ok && i < n_runs; ++i) { /* ok: every run completed */
        const run *r = &runs[i];
        char chunk[32];
        if (r->chunk == CLV_CHUNK_NONE) strcpy(chunk, "none");
        else if (r->chunk == CLV_CHUNK_AUTO) strcpy(chunk, "auto");
        else snprintf(chunk, sizeof chunk, "%ld", r->chunk);
        printf("%-13s %-7s %8s %9llu %.11e %-10s %9.2e  %7.1f ms\n", r->name, r->devices, chunk,
               (unsigned long long)r->launches, r->checksum, r->identical ? "same" : "DIFFERENT",
               r->max_error, 1e3 * r->seconds);
        if (!r->identical || !(r->max_error <= tolerance)) passed = 0;
    }
    passed = passed && ok;
    printf("%s\n", passed ? "all runs bitwise identical and within tolerance of the reference"
                          : "FAILED: a run did not complete, differs from run 1, or is off the reference");
    free(t.points);
    free(t.output);
    free(t.first_output);
    return passed ? 0 : 1;
}
