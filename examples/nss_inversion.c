/* nss_inversion.c — nested slice sampling with a heavy likelihood: a linear
 * inversion (Cholesky of an n x n matrix) per particle, as in the PyAutoFit
 * NSS pull requests (shared/seeds/), where the per-particle state did not
 * fit a GPU num_delete times over and the update had to be chunked.
 *
 * The problem (examples/nss_inversion.h): a blurred, noisy image of a
 * side x side source; theta = (log10 lambda, background b); the source is
 * marginalised analytically, which takes a Cholesky of F + lambda H
 * (n = side^2) and two triangular solves per evaluation. The likelihood is
 * written once and runs in both forms:
 *   plain        one work item per particle;
 *   cooperative  one work group per particle (clv_nss_problem.cooperative),
 *                its lanes sharing the Cholesky and the solves.
 * Printed: log Z against the quadrature reference, wall time, time per
 * likelihood evaluation, and the device memory the library counted (peak
 * bytes and scratch): the scratch is chunk x (n^2 + n) values, whatever
 * n_live and num_delete.
 *
 *   ./nss_inversion                          side 16 (n = 256), both forms
 *   ./nss_inversion --side 32 --chunk 4      n = 1024, 4 particles per launch
 *   ./nss_inversion --memory                 peak bytes for chunk 1, 4, 16, all, auto
 *   POCL_MEMORY_LIMIT=1 ./nss_inversion --side 32 --memory   auto under 1 GB
 *   ./nss_inversion --help
 * Every result line starts "result" with key=value fields (the benchmark,
 * tests/bench/nss_inversion_bench.sh, reads them).
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include "clvmap_nss.h"
#include "nss_inversion.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct settings {
    int side, runs, memory, quad_points, plain, coop;
    const char *devices, *dump;
    long chunks[16];
    int n_chunks;
    clv_nss_opts opts;
} settings;

/* The options that take a value (the rest: --help, --memory). */
static int takes_value(const char *a)
{
    static const char *const names[] = { "--side", "--form", "--chunk", "--local", "--n-live", "--num-delete", "--steps", "--max-iterations", "--runs", "--seed", "--quad", "--devices", "--dump" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i)
        if (!strcmp(a, names[i])) return 1;
    return 0;
}

static void usage(void)
{
    printf("usage: nss_inversion [options]\n"
           "  --side S            source and image are S x S pixels, n = S^2 (default 16: n = 256; 32: n = 1024)\n"
           "  --form F            plain, coop or both (default both)\n"
           "  --chunk LIST        particles per launch, comma-separated: none, auto or k (default none)\n"
           "  --local L           lanes per particle of the cooperative form (default 16)\n"
           "  --n-live N          live points (default 50)\n"
           "  --num-delete K      points replaced per iteration (default 10)\n"
           "  --steps T           slice steps per new point (default 5)\n"
           "  --max-iterations I  stop after I iterations (default: at convergence)\n"
           "  --runs R            runs per setting; the median time is printed (default 1)\n"
           "  --seed S            random seed (default 1)\n"
           "  --memory            chunk 1, 4, 16, all (n_live) and auto, 2 iterations each: the counted bytes\n"
           "  --quad P            points of the reference quadrature over log10 lambda (default 201; 0: none)\n"
           "  --devices SPEC      CLV_DEVICES-style device string (default: CLV_DEVICES, else the default)\n"
           "  --dump FILE         write the problem's data (float64, as nss_inversion.h lays it out) and exit\n"
           "  --help              this text\n");
}

static long parse_chunk(const char *s)
{
    if (!strcmp(s, "none")) return CLV_CHUNK_NONE;
    if (!strcmp(s, "auto")) return CLV_CHUNK_AUTO;
    return strtol(s, NULL, 10);
}

static int parse(int argc, char **argv, settings *s)
{
    memset(s, 0, sizeof *s);
    s->side = 16;
    s->runs = 1;
    s->quad_points = 201;
    s->plain = s->coop = 1;
    s->opts.n_live = 50;
    s->opts.num_delete = 10;
    s->opts.num_inner_steps = 5;
    s->opts.local_size = 16;
    s->opts.seed = 1;
    s->chunks[0] = CLV_CHUNK_NONE;
    s->n_chunks = 1;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            usage();
            exit(0);
        } else if (!strcmp(a, "--memory")) {
            s->memory = 1;
        } else if (!takes_value(a)) {
            fprintf(stderr, "nss_inversion: unknown option %s (see --help)\n", a);
            return 0;
        } else if (!v) {
            fprintf(stderr, "nss_inversion: %s needs a value\n", a);
            return 0;
        } else if (!strcmp(a, "--side")) s->side = atoi(v), ++i;
        else if (!strcmp(a, "--form")) {
            s->plain = !strcmp(v, "plain") || !strcmp(v, "both");
            s->coop = !strcmp(v, "coop") || !strcmp(v, "both");
            ++i;
        } else if (!strcmp(a, "--chunk")) {
            char buf[256];
            snprintf(buf, sizeof buf, "%s", v);
            s->n_chunks = 0;
            for (char *t = strtok(buf, ","); t && s->n_chunks < 16; t = strtok(NULL, ",")) s->chunks[s->n_chunks++] = parse_chunk(t);
            ++i;
        } else if (!strcmp(a, "--local")) s->opts.local_size = (size_t)atoi(v), ++i;
        else if (!strcmp(a, "--n-live")) s->opts.n_live = atoi(v), ++i;
        else if (!strcmp(a, "--num-delete")) s->opts.num_delete = atoi(v), ++i;
        else if (!strcmp(a, "--steps")) s->opts.num_inner_steps = atoi(v), ++i;
        else if (!strcmp(a, "--max-iterations")) s->opts.max_iterations = atol(v), ++i;
        else if (!strcmp(a, "--runs")) s->runs = atoi(v), ++i;
        else if (!strcmp(a, "--seed")) s->opts.seed = strtoull(v, NULL, 10), ++i;
        else if (!strcmp(a, "--quad")) s->quad_points = atoi(v), ++i;
        else if (!strcmp(a, "--devices")) s->devices = v, ++i;
        else if (!strcmp(a, "--dump")) s->dump = v, ++i;
        else {
            fprintf(stderr, "nss_inversion: unknown option %s (see --help)\n", a);
            return 0;
        }
    }
    if (s->side < 2 || s->side > 64 || s->runs < 1 || s->runs > 99 || (!s->plain && !s->coop) || s->n_chunks < 1) {
        fprintf(stderr, "nss_inversion: --side must be 2 .. 64, --runs 1 .. 99, --form plain, coop or both\n");
        return 0;
    }
    if (getenv("CLV_TEST_SMALL") && !s->memory) {
        s->side = s->side > 6 ? 6 : s->side;
        s->opts.n_live = 20;
        s->opts.num_delete = 4;
        if (!s->opts.max_iterations) s->opts.max_iterations = 4;
        s->quad_points = 21;
    }
    return 1;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The 1-minute load average (Linux), -1 when unknown: the figures' context. */
static double load_average(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double load = -1;
    if (f && fscanf(f, "%lf", &load) != 1) load = -1;
    if (f) fclose(f);
    return load;
}

/* The process's peak resident memory (Linux: VmHWM), 0 when unknown. */
static unsigned long long peak_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = strtoull(line + 6, NULL, 10);
    if (f) fclose(f);
    return kb * 1024;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static const char *chunk_name(long chunk, char *buf, size_t size)
{
    if (chunk == CLV_CHUNK_NONE) return "none";
    if (chunk == CLV_CHUNK_AUTO) return "auto";
    snprintf(buf, size, "%ld", chunk);
    return buf;
}

/* Runs of one form and chunk; prints the result line. 0 on failure. */
static int run_setting(clv_mesh *mesh, clv_nss *s, const settings *set, int coop, long chunk, double reference, clv_nss_result *keep)
{
    double times[99];
    clv_nss_result r;
    memset(&r, 0, sizeof r);
    clv_nss_opts o = set->opts;
    o.chunk = chunk;
    if (!coop) o.local_size = 0;
    for (int k = 0; k < set->runs; ++k) {
        clv_nss_result_free(&r);
        clv_mesh_trim(mesh); /* the previous run's kept scratch would count in this run's peak */
        double t0 = now();
        clv_status st = clv_nss_run(s, &o, &r);
        times[k] = now() - t0;
        if (st != CLV_OK) {
            printf("nss_inversion: %s\n", clv_nss_message(s));
            clv_nss_result_free(&r);
            return 0;
        }
    }
    qsort(times, (size_t)set->runs, sizeof times[0], cmp_double);
    double median = times[set->runs / 2];
    char buf[32];
    long used = r.n_devices > 0 ? (long)r.device[0].chunk_used : 0;
    printf("result form=%s n=%d chunk=%s chunk_used=%ld local=%zu logZ=%.6f error=%.4f reference=%.6f "
           "iterations=%ld evaluations=%llu seconds=%.3f ms_per_eval=%.4f peak_device_bytes=%llu "
           "peak_scratch_bytes=%llu peak_rss_bytes=%llu runs=%d loadavg=%.2f\n",
           coop ? "coop" : "plain", set->side * set->side, chunk_name(chunk, buf, sizeof buf), used,
           coop ? o.local_size : (size_t)0, r.logZ, r.logZ_error, reference, r.iterations,
           (unsigned long long)r.evaluations, median, 1e3 * median / (double)r.evaluations,
           (unsigned long long)r.peak_device_bytes, (unsigned long long)r.peak_scratch_bytes, peak_rss_bytes(), set->runs, load_average());
    fflush(stdout);
    if (keep) *keep = r;
    else clv_nss_result_free(&r);
    return 1;
}

/* chunk 1, 4, 16, n_live and auto: the counted bytes, and the bits of
 * every chunk that ran against chunk 1's. A chunk that does not fit the
 * device (all n_live under a memory limit) is reported and left out. */
static int memory_table(clv_mesh *mesh, clv_nss *s, const settings *set, int coop)
{
    settings m = *set;
    m.runs = 1;
    if (!m.opts.max_iterations) m.opts.max_iterations = 2;
    const long chunks[5] = { 1, 4, 16, m.opts.n_live, CLV_CHUNK_AUTO };
    size_t n = (size_t)set->side * set->side, per = (n * n + n) * 8;
    printf("memory: per-particle state (work space) %zu bytes, shared data %zu bytes\n", per,
           (size_t)(INV_HEADER + 2 * n * n + 2 * n) * 8);
    clv_nss_result first, r;
    clv_nss_opts warm = m.opts; /* compile every launch shape before timing */
    warm.chunk = 1;
    if (clv_nss_run(s, &warm, &first) != CLV_OK) {
        printf("nss_inversion: %s\n", clv_nss_message(s));
        clv_nss_result_free(&first);
        return 0;
    }
    int same = 1, ran = 0;
    for (int c = 0; c < 5; ++c) {
        if (!run_setting(mesh, s, &m, coop, chunks[c], NAN, &r)) {
            printf("memory: chunk %ld refused (above), left out\n", chunks[c]);
            if (c == 0 || c == 4) same = 0; /* chunk 1 and auto must run */
            continue;
        }
        ++ran;
        same &= memcmp(&first.logZ, &r.logZ, sizeof(double)) == 0 && first.evaluations == r.evaluations;
        if (c == 4)
            printf("memory: auto held at most %llu particles' state at once (scratch high-water / per-particle "
                   "state); the update ran chunk %llu\n", (unsigned long long)(r.peak_scratch_bytes / per),
                   (unsigned long long)r.device[0].chunk_used);
        clv_nss_result_free(&r);
    }
    printf("memory: log Z bitwise the same for the %d chunks that ran: %s\n", ran, same ? "yes" : "NO");
    clv_nss_result_free(&first);
    return same;
}

int main(int argc, char **argv)
{
    settings set;
    if (!parse(argc, argv, &set)) return 2;
    inv_problem p;
    if (!inv_problem_make(&p, set.side)) {
        printf("nss_inversion: out of host memory for side %d\n", set.side);
        return 1;
    }
    if (set.dump) {
        FILE *f = fopen(set.dump, "wb");
        int written = f && fwrite(p.data, sizeof(double), p.n_data, f) == p.n_data;
        if (f && fclose(f) != 0) written = 0;
        printf("%s %zu values to %s\n", written ? "wrote" : "could not write", p.n_data, set.dump);
        inv_problem_free(&p);
        return written ? 0 : 1;
    }
    double t0 = now();
    double reference = set.quad_points > 1 && !set.memory ? inv_reference_logz(&p, set.quad_points) : NAN;
    if (set.quad_points > 1 && !set.memory)
        printf("reference log Z %.6f (%d-point quadrature over log10 lambda, Gaussian in b; %.1f s on the host)\n",
               reference, set.quad_points, now() - t0);
    clv_mesh_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.devices = set.devices;
    clv_mesh *m = NULL;
    int ok = 1;
    if (clv_mesh_open(&m, &desc) != CLV_OK) {
        fprintf(stderr, "nss_inversion: %s\n", clv_mesh_message(m));
        ok = 0;
    }
    for (int coop = 0; ok && coop < 2; ++coop) {
        if (!(coop ? set.coop : set.plain)) continue;
        clv_nss *s = NULL;
        if (inv_sampler(&s, m, &p, coop) != CLV_OK) {
            printf("nss_inversion: %s\n", clv_nss_message(s));
            ok = 0;
        }
        if (ok && set.memory) ok = memory_table(m, s, &set, coop);
        for (int c = 0; ok && !set.memory && c < set.n_chunks; ++c) ok = run_setting(m, s, &set, coop, set.chunks[c], reference, NULL);
        clv_nss_free(s);
    }
    clv_mesh_close(m);
    inv_problem_free(&p);
    return ok ? 0 : 1;
}
