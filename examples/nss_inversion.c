/* nss_inversion.c — nested slice sampling with a heavy likelihood: a linear
 * inversion (Cholesky of an n x n matrix) per particle, as in the PyAutoFit
 * NSS pull requests (shared/seeds/), where the per-particle state did not
 * fit a GPU num_delete times over and the update had to be chunked.
 *
 * The problem (examples/nss_inversion.h): a blurred, noisy image of a
 * side x side source; theta = (log10 lambda, background b); the source is
 * marginalised analytically, which takes a Cholesky of F + lambda H
 * (n = side^2) and two triangular solves per evaluation. The likelihood is
 * written once and runs in both kernel forms:
 *   plain        one work item per particle;
 *   cooperative  one work group per particle (clv_nss_problem.cooperative),
 *                its lanes sharing the Cholesky and the solves;
 * and as a batched host callback (clv_nss_problem.evaluate,
 * examples/nss_inversion_callback.h):
 *   callback     the sampler hands the callback a chunk of points; it builds
 *                the chunk's matrices with a clvmap map and factors them
 *                with CLBlast's strided-batched GEMMs (blocked Cholesky;
 *                without CLBlast, a map).
 * With more than one form the program checks that their log Z agree within
 * 4 combined errors, and with more than one chunk that each form's results
 * are bitwise the same for every chunk (exit status 1 otherwise).
 * Printed: log Z against the quadrature reference, wall time, time per
 * likelihood evaluation, and the device memory the library counted (peak
 * bytes and scratch): the scratch is chunk x (n^2 + n) values, whatever
 * n_live and num_delete.
 *
 *   ./nss_inversion                          side 16 (n = 256), the kernel forms
 *   ./nss_inversion --form all               plain, cooperative and callback
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
#include "nss_inversion_callback.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct settings {
    int side, runs, memory, quad_points, plain, coop, callback;
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
           "  --form F            plain, coop, callback, both (plain and coop) or all (default both)\n"
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
            s->plain = !strcmp(v, "plain") || !strcmp(v, "both") || !strcmp(v, "all");
            s->coop = !strcmp(v, "coop") || !strcmp(v, "both") || !strcmp(v, "all");
            s->callback = !strcmp(v, "callback") || !strcmp(v, "all");
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
    if (s->side < 2 || s->side > 64 || s->runs < 1 || s->runs > 99 || (!s->plain && !s->coop && !s->callback) ||
        s->n_chunks < 1) {
        fprintf(stderr, "nss_inversion: --side must be 2 .. 64, --runs 1 .. 99, --form plain, coop, callback, both or "
                "all\n");
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

static const char *const form_names[3] = { "plain", "coop", "callback" };

/* Runs of one form (0 plain, 1 cooperative, 2 callback) and chunk; prints
 * the result line. 0 on failure. */
static int run_setting(clv_mesh *mesh, clv_nss *s, const settings *set, int form, long chunk, double reference,
                       clv_nss_result *keep)
{
    const int coop = form == 1;
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
           form_names[form], set->side * set->side, chunk_name(chunk, buf, sizeof buf), used,
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
static int memory_table(clv_mesh *mesh, clv_nss *s, const settings *set, int form, size_t work)
{
    settings m = *set;
    m.runs = 1;
    if (!m.opts.max_iterations) m.opts.max_iterations = 2;
    const long chunks[5] = { 1, 4, 16, m.opts.n_live, CLV_CHUNK_AUTO };
    /* a callback's point: its scratch, x and log-likelihood (batch arrays) */
    size_t n = (size_t)set->side * set->side, per = form == 2 ? (work + 3) * 8 : work * 8;
    uint64_t peak1 = 0;
    printf("memory: per-particle state (%s) %zu bytes, shared data %zu bytes\n",
           form == 2 ? "the callback's batch" : "work space", per, (size_t)(INV_HEADER + 2 * n * n + 2 * n) * 8);
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
        if (!run_setting(mesh, s, &m, form, chunks[c], NAN, &r)) {
            printf("memory: chunk %ld refused (above), left out\n", chunks[c]);
            if (c == 0 || c == 4) same = 0; /* chunk 1 and auto must run */
            continue;
        }
        ++ran;
        same &= memcmp(&first.logZ, &r.logZ, sizeof(double)) == 0 && first.evaluations == r.evaluations;
        if (c == 0) peak1 = r.peak_device_bytes;
        if (c == 4 && form == 2) /* the batch is arrays, not map scratch: counted in the device bytes */
            printf("memory: auto held at most %llu points' batch at once ((peak - peak at chunk 1) / per-point "
                   "state + 1)\n", (unsigned long long)((r.peak_device_bytes - peak1) / per + 1));
        else if (c == 4)
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
    double logZ[3][16], error[3][16];
    uint64_t evaluations[3][16];
    int ran[3] = { 0, 0, 0 };
    for (int form = 0; ok && form < 3; ++form) {
        if (!(form == 0 ? set.plain : form == 1 ? set.coop : set.callback)) continue;
        clv_nss *s = NULL;
        inv_cb cb;
        memset(&cb, 0, sizeof cb);
        clv_status st = form < 2 ? inv_sampler(&s, m, &p, form) : inv_cb_new(&cb, m, &p);
        if (st == CLV_OK && form == 2) st = inv_sampler_callback(&s, m, &p, &cb);
        if (st != CLV_OK) {
            printf("nss_inversion: %s\n", s ? clv_nss_message(s) : clv_mesh_message(m));
            ok = 0;
        }
        if (ok && form == 2) printf("callback: blocked Cholesky, %s (block %d)\n", cb.clblast ? "CLBlast "
                                    "strided-batched GEMMs" : "no CLBlast: one block, a map", cb.nb);
        size_t work = form == 2 ? cb.stride : (size_t)p.n * p.n + (size_t)p.n;
        if (ok && set.memory) ok = memory_table(m, s, &set, form, work);
        for (int c = 0; ok && !set.memory && c < set.n_chunks; ++c) {
            clv_nss_result r;
            ok = run_setting(m, s, &set, form, set.chunks[c], reference, &r);
            if (!ok) break;
            logZ[form][c] = r.logZ;
            error[form][c] = r.logZ_error;
            evaluations[form][c] = r.evaluations;
            ran[form] = c + 1;
            clv_nss_result_free(&r);
        }
        clv_nss_free(s);
        clv_program_free(cb.program);
    }
    /* the checks: every chunk the same bits; the forms within their errors */
    for (int form = 0; ok && form < 3; ++form)
        for (int c = 1; c < ran[form]; ++c)
            if (memcmp(&logZ[form][c], &logZ[form][0], sizeof(double)) || evaluations[form][c] != evaluations[form][0]) {
                printf("check FAILED: %s: log Z %.17g at chunk %ld, %.17g at chunk %ld\n", form_names[form],
                       logZ[form][c], set.chunks[c], logZ[form][0], set.chunks[0]);
                ok = 0;
            }
    for (int a = 0; ok && a < 3; ++a)
        for (int b = a + 1; b < 3; ++b) {
            if (!ran[a] || !ran[b]) continue;
            double e = sqrt(error[a][0] * error[a][0] + error[b][0] * error[b][0]);
            int agree = fabs(logZ[a][0] - logZ[b][0]) <= 4 * e;
            printf("check %s: %s log Z %.6f and %s %.6f differ by %.4f (4 combined errors: %.4f)\n",
                   agree ? "ok" : "FAILED", form_names[a], logZ[a][0], form_names[b], logZ[b][0],
                   fabs(logZ[a][0] - logZ[b][0]), 4 * e);
            ok &= agree;
        }
    clv_mesh_close(m);
    inv_problem_free(&p);
    return ok ? 0 : 1;
}
