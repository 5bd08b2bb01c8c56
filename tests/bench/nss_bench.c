/* nss_bench — clvmap's nested slice sampler on the benchmark problem: a
 * d-dimensional unit Gaussian on the uniform prior [-5, 5]^d (log Z =
 * -d log 10), n_live 500, num_delete 50, num_inner_steps 20 by default.
 * Prints one line per run, key=value, for tests/bench/nss_bench.sh:
 *   wall_s      clv_nss_run alone (the sampler is built before the clock
 *               starts, as BlackJAX's step is compiled before its clock)
 *   total_s     program build + run, from an empty process state
 *   evals, evals_per_s, logZ, logZ_err, abs_err (|log Z - truth|)
 *
 *   nss_bench [--dim 10] [--n-live 500] [--num-delete 50] [--num-inner-steps 20]
 *             [--chunk none|auto|k] [--seed 1] [--runs 1] [--devices SPEC]
 *             [--variant NAME] [--local-size L] [--f32]
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include "nss_problems.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct bench {
    int dim, runs, f32;
    const char *devices, *variant, *chunk_name;
    clv_nss_opts opts;
} bench;

static int parse(int argc, char **argv, bench *b)
{
    memset(b, 0, sizeof *b);
    b->dim = 10;
    b->runs = 1;
    b->variant = "clvmap";
    b->chunk_name = "none";
    b->opts.n_live = 500;
    b->opts.num_delete = 50;
    b->opts.num_inner_steps = 20;
    b->opts.seed = 1;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(a, "--f32") == 0) { b->f32 = 1; continue; }
        if (i + 1 >= argc) { fprintf(stderr, "nss_bench: %s needs a value\n", a); return 0; }
        ++i;
        if (strcmp(a, "--dim") == 0) b->dim = atoi(v);
        else if (strcmp(a, "--n-live") == 0) b->opts.n_live = atoi(v);
        else if (strcmp(a, "--num-delete") == 0) b->opts.num_delete = atoi(v);
        else if (strcmp(a, "--num-inner-steps") == 0) b->opts.num_inner_steps = atoi(v);
        else if (strcmp(a, "--seed") == 0) b->opts.seed = strtoull(v, NULL, 10);
        else if (strcmp(a, "--runs") == 0) b->runs = atoi(v);
        else if (strcmp(a, "--devices") == 0) b->devices = v;
        else if (strcmp(a, "--variant") == 0) b->variant = v;
        else if (strcmp(a, "--local-size") == 0) b->opts.local_size = (size_t)atol(v);
        else if (strcmp(a, "--chunk") == 0) {
            b->chunk_name = v;
            b->opts.chunk = strcmp(v, "none") == 0 ? CLV_CHUNK_NONE : strcmp(v, "auto") == 0 ? CLV_CHUNK_AUTO : atol(v);
        } else { fprintf(stderr, "nss_bench: unknown option %s\n", a); return 0; }
    }
    return 1;
}

/* Kernel time of the busiest device (profiling events), and launches. */
static double kernel_seconds(const clv_nss_result *r)
{
    uint64_t most = 0;
    for (int d = 0; d < r->n_devices; ++d)
        if (r->device[d].kernel_ns > most) most = r->device[d].kernel_ns;
    return 1e-9 * (double)most;
}

static uint64_t launches(const clv_nss_result *r)
{
    uint64_t n = 0;
    for (int d = 0; d < r->n_devices; ++d) n += r->device[d].launches;
    return n;
}

static int run_once(const bench *b, clv_mesh *m, int run)
{
    double t0 = now_seconds();
    clv_nss_problem p;
    memset(&p, 0, sizeof p);
    p.source = nss_gauss_source;
    p.dim = b->dim;
    p.data = nss_gauss_data;
    p.n_data = 2;
    p.f32 = b->f32;
    clv_nss *s = NULL;
    clv_nss_result r;
    memset(&r, 0, sizeof r);
    clv_nss_opts o = b->opts;
    o.seed = b->opts.seed + (uint64_t)run;
    clv_status st = clv_nss_new(&s, m, &p);
    double t1 = now_seconds();
    if (st == CLV_OK) st = clv_nss_run(s, &o, &r);
    double t2 = now_seconds();
    if (st != CLV_OK) {
        fprintf(stderr, "nss_bench: %s\n", clv_nss_message(s));
    } else {
        double truth = nss_gauss_logz(b->dim);
        printf("variant=%s chunk=%s devices=%d dim=%d n_live=%d num_delete=%d num_inner_steps=%d seed=%llu "
               "wall_s=%.4f total_s=%.4f iterations=%ld evals=%llu evals_per_s=%.0f logZ=%.5f logZ_err=%.5f "
               "truth=%.5f abs_err=%.5f peak_scratch=%llu kernel_s=%.4f launches=%llu\n",
               b->variant, b->chunk_name, r.n_devices, b->dim, r.n_live, r.num_delete, r.num_inner_steps,
               (unsigned long long)o.seed, t2 - t1, t2 - t0, r.iterations, (unsigned long long)r.evaluations,
               (double)r.evaluations / (t2 - t1), r.logZ, r.logZ_error, truth, fabs(r.logZ - truth),
               (unsigned long long)r.peak_scratch_bytes, kernel_seconds(&r), (unsigned long long)launches(&r));
        fflush(stdout);
    }
    clv_nss_result_free(&r);
    clv_nss_free(s);
    return st == CLV_OK;
}

int main(int argc, char **argv)
{
    bench b;
    if (!parse(argc, argv, &b)) return 2;
    clv_mesh_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.devices = b.devices;
    clv_mesh *m = NULL;
    if (clv_mesh_open(&m, &desc) != CLV_OK) {
        fprintf(stderr, "nss_bench: %s\n", clv_mesh_message(m));
        clv_mesh_close(m);
        return 1;
    }
    int ok = 1;
    for (int run = 0; run < b.runs && ok; ++run) ok = run_once(&b, m, run);
    clv_mesh_close(m);
    return ok ? 0 : 1;
}
