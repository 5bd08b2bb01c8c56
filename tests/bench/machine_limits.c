/* machine_limits.c — what this machine can do, measured: the ceilings that
 * every percentage in the benchmark tables is taken against.
 *
 *   machine_limits --host [--threads N] [--mib M]       the CPU, plain C
 *   machine_limits --opencl [--devices SPEC] [--runtime NAME]   one OpenCL device
 *   add --quick for shorter runs (fewer iterations and smaller arrays)
 *
 * Host (compiled with -O3 -march=native -ffp-contract=fast, see meson.build):
 *   fma    f32 / f64 peak: each thread runs acc[j] = acc[j] * a + b over a
 *          small array of independent accumulators that the compiler keeps in
 *          vector registers (FMA instructions); 2 flops per FMA. Several
 *          accumulator counts are tried, the best is reported, with 1 thread
 *          and with N (default: every core), each thread pinned to a core,
 *          best of 10 runs.
 *   copy   a[i] = b[i]          (STREAM's counting: 2 x 8 bytes per element)
 *   triad  a[i] = b[i] + s c[i]  (3 x 8 bytes per element), doubles, N threads,
 *          arrays of M MiB each (default 256, --quick 64), best of 5.
 * OpenCL, on device 0 of the mesh SPEC (default "0"; the runtime is whatever
 * the ICD loader shows, e.g. OCL_ICD_VENDORS=... for Intel's):
 *   fma    f32 / f64: a kernel whose work items each run 64 independent FMA
 *          chains, written two ways (vec8: eight float8/double8 accumulators;
 *          scalar: 16 scalars, for runtimes that vectorise across work items);
 *          one clv_map of B = 64 x compute units x 256 items, best of 3.
 *   triad  y = x + 3 z in float over 2^24 items (--quick 2^22): GB/s counted
 *          as 12 bytes per item.
 *   launch an empty map (the kernel only runs CLV_GUARD) of B = 1, 16, 256,
 *          4096 items: median wall time of one clv_map call (map_us); the
 *          same B with an input, an output and per-item scratch (args_map_us);
 *          and the bare driver floor (clSetKernelArg x hidden args,
 *          clEnqueueNDRangeKernel, clFinish on the same queue), microseconds.
 *   chunked an empty map of 2^20 items with chunk 4096 (256 launches) and
 *          with one launch: the cost per launch that a chunk size buys.
 *
 * Every line is "limits KEY=VALUE ..." (values have no spaces: blanks in CPU
 * and device names become '_'), parsed by tests/bench/run_all.sh and the
 * other benchmark scripts. Each line carries load1, the 1-minute load
 * average when it was measured. This is a benchmark: it never fails on time;
 * exit status 1 only when OpenCL fails. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "clvmap.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double load1(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1;
        fclose(f);
    }
    return l;
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

/* Blanks (and '=') in a name become '_', so that it is one field. */
static void one_field(char *s)
{
    for (; *s; ++s)
        if (*s == ' ' || *s == '\t' || *s == '=') *s = '_';
}

static void cpu_model(char *out, size_t size)
{
    char line[512];
    snprintf(out, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!strncmp(line, "model name", 10) && colon) {
            snprintf(out, size, "%s", colon + 2);
            out[strcspn(out, "\n")] = 0;
            break;
        }
    }
    fclose(f);
    one_field(out);
}

static int cpu_flag(const char *flag)
{
    char line[8192];
    int found = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return 0;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5)) continue;
        for (char *t = strtok(strchr(line, ':'), " :\n"); t && !found; t = strtok(NULL, " :\n"))
            found = !strcmp(t, flag);
        break;
    }
    fclose(f);
    return found;
}

/* Pin the calling thread to the t-th CPU it may run on: threads that the
 * scheduler left on one core for a short run would measure one core. */
static void pin_thread(int t)
{
    cpu_set_t all, one;
    if (sched_getaffinity(0, sizeof all, &all) != 0) return;
    for (int cpu = 0, seen = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &all) && seen++ == t) {
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            pthread_setaffinity_np(pthread_self(), sizeof one, &one);
            return;
        }
}

/* ---- host: FMA peak ------------------------------------------------------ */

/* NACC independent chains: enough to cover FMA latency x FMA units, few
 * enough to stay in registers (16 ymm with AVX2, 32 zmm with AVX-512). */
#define FMA_LOOP(NAME, T, NACC)                                                \
    static T NAME(long iters, T a, T b)                                        \
    {                                                                          \
        T acc[NACC];                                                           \
        for (int j = 0; j < NACC; ++j) acc[j] = (T)j;                          \
        for (long i = 0; i < iters; ++i)                                       \
            for (int j = 0; j < NACC; ++j) acc[j] = acc[j] * a + b;            \
        T sum = 0;                                                             \
        for (int j = 0; j < NACC; ++j) sum += acc[j];                          \
        return sum;                                                            \
    }
FMA_LOOP(fma_f32_64, float, 64)
FMA_LOOP(fma_f32_96, float, 96)
FMA_LOOP(fma_f32_128, float, 128)
FMA_LOOP(fma_f32_192, float, 192)
FMA_LOOP(fma_f64_32, double, 32)
FMA_LOOP(fma_f64_48, double, 48)
FMA_LOOP(fma_f64_64, double, 64)
FMA_LOOP(fma_f64_96, double, 96)

typedef struct fma_job {
    int f64, form, index;
    long iters;
    double sink, t0, t1; /* each thread times itself: the main thread may wake late */
    pthread_barrier_t *start;
} fma_job;

static const int f32_forms[4] = {64, 96, 128, 192}, f64_forms[4] = {32, 48, 64, 96};

static void *fma_thread(void *arg)
{
    fma_job *j = (fma_job *)arg;
    /* a, b near 1 and 0: the values stay finite and normal */
    volatile double va = 0.999999, vb = 1e-6;
    pin_thread(j->index);
    pthread_barrier_wait(j->start);
    j->t0 = now();
    if (!j->f64) {
        float a = (float)va, b = (float)vb, s = 0;
        switch (j->form) {
        case 0: s = fma_f32_64(j->iters, a, b); break;
        case 1: s = fma_f32_96(j->iters, a, b); break;
        case 2: s = fma_f32_128(j->iters, a, b); break;
        default: s = fma_f32_192(j->iters, a, b); break;
        }
        j->sink = s;
    } else {
        double a = va, b = vb, s = 0;
        switch (j->form) {
        case 0: s = fma_f64_32(j->iters, a, b); break;
        case 1: s = fma_f64_48(j->iters, a, b); break;
        case 2: s = fma_f64_64(j->iters, a, b); break;
        default: s = fma_f64_96(j->iters, a, b); break;
        }
        j->sink = s;
    }
    j->t1 = now();
    return NULL;
}

/* GFLOP/s of `threads` threads each running form `form`; 0 on failure. */
static double host_fma(int f64, int form, int threads, long iters)
{
    pthread_t tid[256];
    fma_job job[256];
    pthread_barrier_t start;
    if (threads > 256) threads = 256;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    int started = 0;
    for (int t = 0; t < threads; ++t) {
        job[t] = (fma_job){f64, form, t, iters, 0, 0, 0, &start};
        if (pthread_create(&tid[t], NULL, fma_thread, &job[t]) != 0) break;
        ++started;
    }
    if (started < threads) { /* cannot happen in practice; do not hang on the barrier */
        fprintf(stderr, "machine_limits: pthread_create failed\n");
        exit(1);
    }
    pthread_barrier_wait(&start);
    double first = 1e300, last = 0;
    for (int t = 0; t < threads; ++t) {
        pthread_join(tid[t], NULL);
        if (job[t].t0 < first) first = job[t].t0;
        if (job[t].t1 > last) last = job[t].t1;
    }
    double seconds = last - first;
    pthread_barrier_destroy(&start);
    int nacc = f64 ? f64_forms[form] : f32_forms[form];
    return 2.0 * (double)nacc * (double)iters * threads / seconds / 1e9;
}

/* For each precision: the best accumulator count on one thread (short
 * runs), then that form on 1 and on every thread, best of 10 runs of ~3 ms
 * each (quick: 3). Each thread times itself, so a thread descheduled by
 * other work shows as a slower run, never a faster one; short runs and many
 * of them give a loaded machine the best chance of one undisturbed run. */
static void report_host_fma(const char *cpu, int threads, int quick)
{
    long iters = 2500000; /* per run, for 64 accumulators; scaled for the others */
    int reps = quick ? 3 : 10;
    for (int f64 = 0; f64 <= 1; ++f64) {
        const int *forms = f64 ? f64_forms : f32_forms;
        double best = 0;
        int form = 0;
        for (int f = 0; f < 4; ++f) {
            double g = host_fma(f64, f, 1, 200000L * 64 / forms[f]);
            if (g > best) best = g, form = f;
        }
        for (int th = 1; th <= threads; th = th == threads ? threads + 1 : threads) {
            best = 0;
            for (int rep = 0; rep < reps; ++rep) {
                double g = host_fma(f64, form, th, iters * 64 / forms[form]);
                if (g > best) best = g;
            }
            printf("limits where=host cpu=%s kind=fma dtype=%s threads=%d gflops=%.2f accumulators=%d load1=%.2f\n",
                   cpu, f64 ? "f64" : "f32", th, best, forms[form], load1());
            fflush(stdout);
        }
    }
}

/* ---- host: bandwidth ----------------------------------------------------- */

typedef struct bw_job {
    double *a, *b, *c;
    size_t n;
    int triad, index;
    double t0[6], t1[6]; /* each pass timed by the thread itself */
    pthread_barrier_t *start, *stop;
} bw_job;

static void *bw_thread(void *arg)
{
    bw_job *j = (bw_job *)arg;
    const double s = 3.0;
    pin_thread(j->index);
    for (int rep = 0; rep < 6; ++rep) { /* the main thread times each between the barriers */
        pthread_barrier_wait(j->start);
        j->t0[rep] = now();
        if (j->triad)
            for (size_t i = 0; i < j->n; ++i) j->a[i] = j->b[i] + s * j->c[i];
        else
            for (size_t i = 0; i < j->n; ++i) j->a[i] = j->b[i];
        j->t1[rep] = now();
        pthread_barrier_wait(j->stop);
    }
    return NULL;
}

static double host_bandwidth(int triad, int threads, size_t n, double *a, double *b, double *c)
{
    pthread_t tid[256];
    bw_job job[256];
    pthread_barrier_t start, stop;
    if (threads > 256) threads = 256;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    pthread_barrier_init(&stop, NULL, (unsigned)threads + 1);
    size_t per = n / (size_t)threads;
    for (int t = 0; t < threads; ++t) {
        size_t first = per * (size_t)t, count = t == threads - 1 ? n - first : per;
        job[t] = (bw_job){a + first, b + first, c + first, count, triad, t, {0}, {0}, &start, &stop};
        if (pthread_create(&tid[t], NULL, bw_thread, &job[t]) != 0) {
            fprintf(stderr, "machine_limits: pthread_create failed\n");
            exit(1);
        }
    }
    for (int rep = 0; rep < 6; ++rep) {
        pthread_barrier_wait(&start);
        pthread_barrier_wait(&stop);
    }
    for (int t = 0; t < threads; ++t) pthread_join(tid[t], NULL);
    double best = 1e30;
    for (int rep = 1; rep < 6; ++rep) { /* the first pass touches the pages: not counted */
        double first = 1e300, last = 0;
        for (int t = 0; t < threads; ++t) {
            if (job[t].t0[rep] < first) first = job[t].t0[rep];
            if (job[t].t1[rep] > last) last = job[t].t1[rep];
        }
        if (last - first < best) best = last - first;
    }
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&stop);
    return (triad ? 3.0 : 2.0) * sizeof(double) * (double)n / best / 1e9;
}

static int report_host(int threads, int mib, int quick)
{
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    printf("limits where=host cpu=%s cores=%d avx2=%d avx512f=%d fma=%d load1=%.2f\n", cpu, threads,
           cpu_flag("avx2"), cpu_flag("avx512f"), cpu_flag("fma"), load1());
    report_host_fma(cpu, threads, quick);
    size_t n = (size_t)mib * 1024 * 1024 / sizeof(double);
    double *a = (double *)malloc(n * sizeof *a), *b = (double *)malloc(n * sizeof *b),
           *c = (double *)malloc(n * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "machine_limits: out of host memory for 3 x %d MiB\n", mib);
        free(a), free(b), free(c);
        return 1;
    }
    for (size_t i = 0; i < n; ++i) a[i] = 0, b[i] = 1, c[i] = 2;
    for (int triad = 0; triad <= 1; ++triad)
        printf("limits where=host cpu=%s kind=%s threads=%d mib=%d gbs=%.2f load1=%.2f\n", cpu,
               triad ? "triad" : "copy", threads, mib, host_bandwidth(triad, threads, n, a, b, c), load1());
    free(a), free(b), free(c);
    return 0;
}

/* ---- OpenCL ---------------------------------------------------------------- */

static const char limits_source[] =
    "__kernel void empty(CLV_ITEMS) { CLV_GUARD(); }\n"
    "/* a small map as users write them: an input, an output, per-item scratch */\n"
    "__kernel void small(CLV_ITEMS, __global const float *x, __global float *s, __global float *y)\n"
    "{\n"
    "    CLV_GUARD();\n"
    "    s[clv_slot()] = 2.0f * x[clv_local()];\n"
    "    y[clv_local()] = s[clv_slot()] + 1.0f;\n"
    "}\n"
    "__kernel void triad(CLV_ITEMS, __global const float *x, __global const float *z, __global float *y)\n"
    "{\n"
    "    CLV_GUARD();\n"
    "    y[clv_local()] = x[clv_local()] + 3.0f * z[clv_local()];\n"
    "}\n"
    "/* 64 independent FMA chains per work item, as eight 8-wide vectors */\n"
    "__kernel void fma_vec8(CLV_ITEMS, const int iters, __global clv_real *out)\n"
    "{\n"
    "    CLV_GUARD();\n"
    "    const clv_real a = (clv_real)0.999999f, b = (clv_real)1e-6f;\n"
    "    clv_real8 v0 = (clv_real)(clv_item() & 7), v1 = v0 + 1, v2 = v0 + 2, v3 = v0 + 3;\n"
    "    clv_real8 v4 = v0 + 4, v5 = v0 + 5, v6 = v0 + 6, v7 = v0 + 7;\n"
    "    for (int i = 0; i < iters; ++i) {\n"
    "        v0 = fma(v0, a, b); v1 = fma(v1, a, b); v2 = fma(v2, a, b); v3 = fma(v3, a, b);\n"
    "        v4 = fma(v4, a, b); v5 = fma(v5, a, b); v6 = fma(v6, a, b); v7 = fma(v7, a, b);\n"
    "    }\n"
    "    const clv_real8 s = ((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7));\n"
    "    out[clv_local()] = ((s.s0 + s.s1) + (s.s2 + s.s3)) + ((s.s4 + s.s5) + (s.s6 + s.s7));\n"
    "}\n"
    "/* the same work as 16 scalar chains, run 4 times per iteration: left to\n"
    "   the runtime to vectorise across work items */\n"
    "__kernel void fma_scalar(CLV_ITEMS, const int iters, __global clv_real *out)\n"
    "{\n"
    "    CLV_GUARD();\n"
    "    const clv_real a = (clv_real)0.999999f, b = (clv_real)1e-6f;\n"
    "    clv_real s[16];\n"
    "    for (int j = 0; j < 16; ++j) s[j] = (clv_real)((clv_item() + j) & 7);\n"
    "    for (int i = 0; i < iters * 4; ++i) {\n"
    "        #pragma unroll\n"
    "        for (int j = 0; j < 16; ++j) s[j] = fma(s[j], a, b);\n"
    "    }\n"
    "    clv_real t = 0;\n"
    "    for (int j = 0; j < 16; ++j) t += s[j];\n"
    "    out[clv_local()] = t;\n"
    "}\n";

typedef struct cl_ctx {
    char runtime[256], platform[256], device[256], cpu[256];
    clv_mesh *m;
} cl_ctx;

static void cl_prefix(const cl_ctx *c)
{
    printf("limits where=opencl runtime=%s platform=%s device=%s", c->runtime, c->platform, c->device);
}

static int fail(clv_mesh *m, const char *what, clv_status s)
{
    fprintf(stderr, "machine_limits: %s: %s: %s\n", what, clv_status_string(s), m ? clv_mesh_message(m) : "");
    return 1;
}

/* Best of 3 maps of `kernel` with `iters` iterations per item; GFLOP/s. */
static int cl_fma(cl_ctx *c, int f64, int quick)
{
    clv_program *p = NULL;
    clv_program_desc pd = {0};
    pd.source = limits_source;
    pd.name = "machine_limits";
    pd.real = f64 ? CLV_F64 : CLV_F32;
    clv_status s = clv_program_build(&p, c->m, &pd);
    if (s != CLV_OK) return fail(c->m, "build", s);
    clv_device_info info;
    clv_mesh_device_info(c->m, 0, &info);
    size_t items = (size_t)64 * (info.compute_units ? info.compute_units : 1) * 256;
    int iters = quick ? 1000 : 4000;
    clv_array *out = NULL;
    s = clv_array_new(&out, c->m, pd.real, items, 1, CLV_SHARDED);
    const char *forms[2] = {"fma_vec8", "fma_scalar"};
    for (int f = 0; f < 2 && s == CLV_OK; ++f) {
        double best = 1e30;
        for (int rep = -1; rep < 3 && s == CLV_OK; ++rep) { /* rep -1: the runtime's first-launch compile */
            double t0 = now();
            s = CLV_MAP(p, forms[f], items, NULL, clv_int(rep < 0 ? 1 : iters), clv_out(out));
            double t = now() - t0;
            if (rep >= 0 && t < best) best = t;
        }
        if (s != CLV_OK) break;
        cl_prefix(c);
        printf(" kind=fma dtype=%s form=%s items=%zu gflops=%.2f load1=%.2f\n", f64 ? "f64" : "f32", forms[f] + 4,
               items, 2.0 * 64 * iters * (double)items / best / 1e9, load1());
        fflush(stdout);
    }
    clv_array_free(out);
    clv_program_free(p);
    return s == CLV_OK ? 0 : fail(c->m, "fma map", s);
}

static int cl_triad(cl_ctx *c, clv_program *p, int quick)
{
    size_t items = (size_t)1 << (quick ? 22 : 24);
    clv_array *x = NULL, *z = NULL, *y = NULL;
    clv_status s = clv_array_new(&x, c->m, CLV_F32, items, 1, CLV_SHARDED);
    if (s == CLV_OK) s = clv_array_new(&z, c->m, CLV_F32, items, 1, CLV_SHARDED);
    if (s == CLV_OK) s = clv_array_new(&y, c->m, CLV_F32, items, 1, CLV_SHARDED);
    float *host = (float *)calloc(items, sizeof *host);
    if (!host && s == CLV_OK) s = CLV_ERROR_OUT_OF_MEMORY;
    if (s == CLV_OK) s = clv_array_write(x, host);
    if (s == CLV_OK) s = clv_array_write(z, host);
    double best = 1e30;
    for (int rep = -1; rep < 5 && s == CLV_OK; ++rep) {
        double t0 = now();
        s = CLV_MAP(p, "triad", items, NULL, clv_in(x), clv_in(z), clv_out(y));
        double t = now() - t0;
        if (rep >= 0 && t < best) best = t;
    }
    if (s == CLV_OK) {
        cl_prefix(c);
        printf(" kind=triad items=%zu gbs=%.2f load1=%.2f\n", items, 12.0 * (double)items / best / 1e9, load1());
    }
    free(host);
    clv_array_free(x);
    clv_array_free(z);
    clv_array_free(y);
    return s == CLV_OK ? 0 : fail(c->m, "triad map", s);
}

/* The driver floor: the hidden arguments set and one launch waited for,
 * as clv_map does it but without its checks, plan, events and scratch. */
static double raw_launch(cl_ctx *c, clv_program *p, size_t items)
{
    (void)p;
    cl_command_queue q = clv_mesh_queue(c->m, 0);
    cl_context ctx = clv_mesh_context(c->m, 0);
    cl_device_id dev = clv_mesh_device_id(c->m, 0);
    cl_int err = CL_SUCCESS;
    /* a program of our own, with the same CLV_ITEMS signature */
    static const char *src =
        "__kernel void empty(ulong chunk_end, ulong device_first, ulong chunk_first, ulong seed, uint per_group)"
        " { if (chunk_first + get_global_id(0) >= chunk_end) return; }\n";
    cl_program prog = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);
    if (err == CL_SUCCESS) err = clBuildProgram(prog, 1, &dev, "", NULL, NULL);
    cl_kernel k = err == CL_SUCCESS ? clCreateKernel(prog, "empty", &err) : NULL;
    double t[201];
    int n = 0;
    for (int rep = -1; rep < 200 && err == CL_SUCCESS; ++rep) {
        cl_ulong end = items, zero = 0;
        cl_uint pg = 0;
        size_t local = items < 64 ? items : 64, global = (items + local - 1) / local * local;
        double t0 = now();
        err = clSetKernelArg(k, 0, sizeof end, &end);
        if (err == CL_SUCCESS) err = clSetKernelArg(k, 1, sizeof zero, &zero);
        if (err == CL_SUCCESS) err = clSetKernelArg(k, 2, sizeof zero, &zero);
        if (err == CL_SUCCESS) err = clSetKernelArg(k, 3, sizeof zero, &zero);
        if (err == CL_SUCCESS) err = clSetKernelArg(k, 4, sizeof pg, &pg);
        if (err == CL_SUCCESS) err = clEnqueueNDRangeKernel(q, k, 1, NULL, &global, &local, 0, NULL, NULL);
        if (err == CL_SUCCESS) err = clFinish(q);
        if (rep >= 0) t[n++] = now() - t0;
    }
    if (k) clReleaseKernel(k);
    if (prog) clReleaseProgram(prog);
    return err == CL_SUCCESS && n ? median(t, n) : -1;
}

static int cl_launch(cl_ctx *c, clv_program *p, int quick)
{
    static const size_t sizes[4] = {1, 16, 256, 4096};
    int calls = quick ? 50 : 200;
    double *t = (double *)malloc((size_t)calls * sizeof *t);
    clv_status s = t ? CLV_OK : CLV_ERROR_OUT_OF_MEMORY;
    for (int i = 0; i < 4 && s == CLV_OK; ++i) {
        for (int rep = -3; rep < calls && s == CLV_OK; ++rep) {
            double t0 = now();
            s = clv_map(p, "empty", sizes[i], NULL, NULL, 0);
            if (rep >= 0) t[rep] = now() - t0;
        }
        if (s != CLV_OK) break;
        double map_us = 1e6 * median(t, calls), raw_us = 1e6 * raw_launch(c, p, sizes[i]);
        /* the same B with arguments: two sharded arrays and 4 bytes of scratch per item */
        clv_array *x = NULL, *y = NULL;
        s = clv_array_new(&x, c->m, CLV_F32, sizes[i], 1, CLV_SHARDED);
        if (s == CLV_OK) s = clv_array_new(&y, c->m, CLV_F32, sizes[i], 1, CLV_SHARDED);
        for (int rep = -3; rep < calls && s == CLV_OK; ++rep) {
            double t0 = now();
            s = CLV_MAP(p, "small", sizes[i], NULL, clv_in(x), clv_scratch(sizeof(float)), clv_out(y));
            if (rep >= 0) t[rep] = now() - t0;
        }
        clv_array_free(x);
        clv_array_free(y);
        if (s != CLV_OK) break;
        cl_prefix(c);
        printf(" kind=launch items=%zu map_us=%.1f args_map_us=%.1f raw_us=%.1f load1=%.2f\n", sizes[i], map_us,
               1e6 * median(t, calls), raw_us, load1());
        fflush(stdout);
    }
    /* chunked: 2^20 empty items as 256 launches of 4096 against one launch, interleaved */
    size_t items = (size_t)1 << 20;
    double one[7], chunked[7];
    clv_map_opts o = {0};
    for (int rep = -1; rep < 7 && s == CLV_OK; ++rep) {
        o.chunk = CLV_CHUNK_NONE;
        double t0 = now();
        s = clv_map(p, "empty", items, &o, NULL, 0);
        double t1 = now();
        o.chunk = 4096;
        if (s == CLV_OK) s = clv_map(p, "empty", items, &o, NULL, 0);
        if (rep >= 0) one[rep] = t1 - t0, chunked[rep] = now() - t1;
    }
    if (s == CLV_OK) {
        double a = median(one, 7), b = median(chunked, 7);
        cl_prefix(c);
        printf(" kind=chunked items=%zu chunk=4096 launches=256 one_launch_ms=%.3f chunked_ms=%.3f "
               "per_launch_us=%.2f load1=%.2f\n", items, 1e3 * a, 1e3 * b, 1e6 * (b - a) / 255, load1());
    }
    free(t);
    return s == CLV_OK ? 0 : fail(c->m, "empty map", s);
}

static int report_opencl(const char *devices, const char *runtime, int quick)
{
    cl_ctx c;
    memset(&c, 0, sizeof c);
    clv_mesh_desc desc = {0};
    desc.devices = devices;
    clv_status s = clv_mesh_open(&c.m, &desc);
    if (s != CLV_OK) {
        int r = fail(c.m, "clv_mesh_open", s);
        clv_mesh_close(c.m);
        return r;
    }
    clv_device_info info;
    clv_mesh_device_info(c.m, 0, &info);
    snprintf(c.platform, sizeof c.platform, "%s", info.platform);
    snprintf(c.device, sizeof c.device, "%s", info.name);
    snprintf(c.runtime, sizeof c.runtime, "%s", runtime ? runtime : info.platform);
    one_field(c.platform);
    one_field(c.device);
    one_field(c.runtime);
    cl_prefix(&c);
    printf(" compute_units=%u fp64=%d load1=%.2f\n", info.compute_units, info.fp64, load1());
    int status = 0;
    status |= cl_fma(&c, 0, quick);
    if (info.fp64) status |= cl_fma(&c, 1, quick);
    clv_program *p = NULL;
    clv_program_desc pd = {0};
    pd.source = limits_source;
    pd.name = "machine_limits";
    s = clv_program_build(&p, c.m, &pd);
    if (s != CLV_OK) status |= fail(c.m, "build", s);
    else {
        status |= cl_triad(&c, p, quick);
        status |= cl_launch(&c, p, quick);
    }
    clv_program_free(p);
    clv_mesh_close(c.m);
    return status;
}

static int usage(const char *argv0, int status)
{
    printf("usage: %s --host [--threads N] [--mib M] [--quick]\n"
           "       %s --opencl [--devices SPEC] [--runtime NAME] [--quick]\n"
           "  Measures the machine's limits (FMA peak, bandwidth, launch latency); see the top of\n"
           "  tests/bench/machine_limits.c. One \"limits key=value ...\" line per figure.\n",
           argv0, argv0);
    return status;
}

int main(int argc, char **argv)
{
    int host = 0, opencl = 0, quick = 0, mib = 0, threads = 0;
    const char *devices = "0", *runtime = NULL;
    for (int i = 1; i < argc; ++i) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--help")) return usage(argv[0], 0);
        if (!strcmp(arg, "--host")) host = 1;
        else if (!strcmp(arg, "--opencl")) opencl = 1;
        else if (!strcmp(arg, "--quick")) quick = 1;
        else if (value && !strcmp(arg, "--threads")) threads = atoi(argv[++i]);
        else if (value && !strcmp(arg, "--mib")) mib = atoi(argv[++i]);
        else if (value && !strcmp(arg, "--devices")) devices = argv[++i];
        else if (value && !strcmp(arg, "--runtime")) runtime = argv[++i];
        else return usage(argv[0], 2);
    }
    if (!host && !opencl) return usage(argv[0], 2);
    if (threads <= 0) {
        cpu_set_t set;
        threads = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (threads <= 0) threads = 1;
    }
    if (mib <= 0) mib = quick ? 64 : 256;
    int status = 0;
    if (host) status |= report_host(threads, mib, quick);
    if (opencl) status |= report_opencl(devices, runtime, quick);
    return status;
}
