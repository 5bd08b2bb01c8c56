/* soak_memory — does memory stay flat over a long NUTS run and a long NSS
 * run? (issue 6, item 5). A benchmark, not a timed test.
 *
 * Three soaks, each a series of samples taken after every block of work:
 *
 *   nuts      ONE clv_nuts_run of --iterations (default 10^5: 1000 warmup,
 *             99000 draws) over --chains (8) chains, --block (1000)
 *             iterations per launch, a sample from the progress callback
 *             after every block. clv_nuts_run has no "continue from this
 *             state": the long run is one call, and its progress callback
 *             is where the host sees it between blocks.
 *   nuts-runs --nuts-runs (20) runs of --nuts-run-iterations (5000, warmup
 *             included) on one sampler, seeds 1, 2, ..., a sample after each
 *             run with its result freed: host memory must not grow at all.
 *   nss-long  ONE clv_nss_run of --nss-iterations (3000) iterations, the
 *             convergence test switched off (termination 1e300), a sample
 *             every --nss-block (30) iterations from the progress callback.
 *             (The live set shrinks by num_delete / n_live of its volume
 *             an iteration, 1/50 by default; far past convergence the live
 *             log-likelihoods become equal in double precision and the run
 *             stops with a plateau error: the 5-d Gaussian with 50 of 500
 *             replaced reached that after 883 iterations.)
 *   nss-runs  --nss-runs (50) runs of --nss-run-iterations (200) iterations
 *             each on one sampler, seeds 1, 2, ..., a sample after each run
 *             with its result freed: everything a run allocates must come
 *             back.
 *
 * Host memory that a long run fills by design is allowed for: the NUTS
 * result (allocated zeroed before the first block; GCC turns malloc +
 * memset 0 into calloc, whose pages count in RSS only once a block writes
 * them: dim + 4 doubles and 3 ints per draw and chain) and NSS's dead points
 * (num_delete x (dim + 3) doubles an iteration). The host verdicts of those
 * two soaks are on RSS minus that storage ("by design" in the table).
 *
 * A sample: device bytes held now and the high-water of clvmap's buffers
 * (clv_mesh_stats, summed over the mesh's devices; each run resets the
 * high-water at its start), host VmRSS and VmHWM (/proc/self/status).
 * Verdict per soak and quantity: the samples after warm-up (the first
 * --warmup-fraction, 10 %, are left out) must not grow: the least-squares
 * slope in bytes per block, and the rise from the first post-warm-up sample
 * to the largest later one, must both stay within the tolerance
 * (--device-tolerance, default 0 bytes: clvmap counts its own buffers
 * exactly; --rss-tolerance, default 1 MiB in all, i.e. 1 MiB / blocks per
 * block, for the allocator's and the OpenCL runtime's noise). Exit status
 * 1 when a quantity grows, 2 on a usage or run error.
 *
 *   soak_memory                         all three, defaults (about a minute
 *                                       on 2 cores with PoCL)
 *   soak_memory --quick                 10^4 iterations, shorter NSS soaks
 *   soak_memory --soak nuts --csv nuts.csv
 *   POCL_DEVICES="pthread pthread" CLV_DEVICES=0,1 soak_memory   two devices
 *
 * tests/bench/soak_memory.sh builds and runs it (see tests/bench/README.md). */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include "clvmap_nss.h"
#include "clvmap_nuts.h"
#include "nss_problems.h"
#include "nuts_models.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- options ---------------------------------------------------------------- */

typedef struct settings {
    int nuts, nuts_runs, nss_long, nss_runs; /* which soaks */
    const char *model;                /* NUTS model (examples/nuts_models.h) */
    int chains, iterations, warmup, block, nuts_run_count, nuts_run_iterations;
    int nss_dim, n_live, num_delete, nss_iterations, nss_block, nss_run_count, nss_run_iterations;
    double warm_fraction;
    double device_tolerance, rss_tolerance; /* bytes over the post-warm-up window */
    const char *csv;
} settings;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: soak_memory [options]\n"
            "  --soak LIST            nuts, nuts-runs, nss-long, nss-runs or all (default all; comma-separated)\n"
            "  --model NAME           NUTS model: eight_schools (default), normal, gauss, logistic, funnel\n"
            "  --chains N             NUTS chains (default 8)\n"
            "  --iterations N         NUTS iterations per chain, warmup included (default 100000)\n"
            "  --warmup N             NUTS warmup iterations (default 1000)\n"
            "  --block N              NUTS iterations per launch = per sample (default 1000)\n"
            "  --nuts-runs R          repeated NUTS runs (default 20)\n"
            "  --nuts-run-iterations N  iterations per repeated run, warmup included (default 5000)\n"
            "  --nss-dim D            NSS problem: a D-d Gaussian in [-5, 5]^D (default 5)\n"
            "  --n-live N             NSS live points (default 500)\n"
            "  --num-delete K         NSS points replaced per iteration (default 10)\n"
            "  --nss-iterations N     iterations of the long NSS run (default 3000)\n"
            "  --nss-block N          NSS iterations per sample (default 30)\n"
            "  --nss-runs R           repeated NSS runs (default 50)\n"
            "  --nss-run-iterations N iterations per repeated run (default 200)\n"
            "  --warmup-fraction F    samples left out as warm-up (default 0.1)\n"
            "  --device-tolerance B   allowed device growth after warm-up, bytes (default 0)\n"
            "  --rss-tolerance B      allowed host RSS growth after warm-up, bytes (default 1048576)\n"
            "  --csv FILE             every sample as CSV\n"
            "  --quick                10^4 NUTS iterations, 10 x 2000 repeated; NSS 500, and 20 x 100 repeated\n"
            "Devices: CLV_DEVICES (see clvmap.h); with PoCL, POCL_DEVICES.\n");
}

static int parse(int argc, char **argv, settings *s)
{
    memset(s, 0, sizeof *s);
    s->nuts = s->nuts_runs = s->nss_long = s->nss_runs = 1;
    s->model = "eight_schools";
    s->chains = 8;
    s->iterations = 100000;
    s->warmup = 1000;
    s->block = 1000;
    s->nuts_run_count = 20;
    s->nuts_run_iterations = 5000;
    s->nss_dim = 5;
    s->n_live = 500;
    s->num_delete = 10;
    s->nss_iterations = 3000;
    s->nss_block = 30;
    s->nss_run_count = 50;
    s->nss_run_iterations = 200;
    s->warm_fraction = 0.1;
    s->device_tolerance = 0;
    s->rss_tolerance = 1 << 20;
    for (int i = 1; i < argc; ++i) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(k, "--help") || !strcmp(k, "-h")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(k, "--quick")) {
            s->iterations = 10000;
            s->nuts_run_count = 10;
            s->nuts_run_iterations = 2000;
            s->nss_iterations = 500;
            s->nss_block = 10;
            s->nss_run_count = 20;
            s->nss_run_iterations = 100;
            continue;
        }
        if (!v) {
            fprintf(stderr, "soak_memory: %s needs a value\n", k);
            return 0;
        }
        if (!strcmp(k, "--soak")) {
            char list[256];
            snprintf(list, sizeof list, ",%s,", v);
            s->nuts = strstr(list, ",nuts,") != NULL || !strcmp(v, "all");
            s->nuts_runs = strstr(list, ",nuts-runs,") != NULL || !strcmp(v, "all");
            s->nss_long = strstr(list, ",nss-long,") != NULL || !strcmp(v, "all");
            s->nss_runs = strstr(list, ",nss-runs,") != NULL || !strcmp(v, "all");
            if (!s->nuts && !s->nuts_runs && !s->nss_long && !s->nss_runs) {
                fprintf(stderr, "soak_memory: --soak %s names no soak\n", v);
                return 0;
            }
        } else if (!strcmp(k, "--model")) s->model = v;
        else if (!strcmp(k, "--chains")) s->chains = atoi(v);
        else if (!strcmp(k, "--iterations")) s->iterations = atoi(v);
        else if (!strcmp(k, "--warmup")) s->warmup = atoi(v);
        else if (!strcmp(k, "--block")) s->block = atoi(v);
        else if (!strcmp(k, "--nuts-runs")) s->nuts_run_count = atoi(v);
        else if (!strcmp(k, "--nuts-run-iterations")) s->nuts_run_iterations = atoi(v);
        else if (!strcmp(k, "--nss-dim")) s->nss_dim = atoi(v);
        else if (!strcmp(k, "--n-live")) s->n_live = atoi(v);
        else if (!strcmp(k, "--num-delete")) s->num_delete = atoi(v);
        else if (!strcmp(k, "--nss-iterations")) s->nss_iterations = atoi(v);
        else if (!strcmp(k, "--nss-block")) s->nss_block = atoi(v);
        else if (!strcmp(k, "--nss-runs")) s->nss_run_count = atoi(v);
        else if (!strcmp(k, "--nss-run-iterations")) s->nss_run_iterations = atoi(v);
        else if (!strcmp(k, "--warmup-fraction")) s->warm_fraction = atof(v);
        else if (!strcmp(k, "--device-tolerance")) s->device_tolerance = atof(v);
        else if (!strcmp(k, "--rss-tolerance")) s->rss_tolerance = atof(v);
        else if (!strcmp(k, "--csv")) s->csv = v;
        else {
            fprintf(stderr, "soak_memory: unknown option %s\n", k);
            return 0;
        }
        ++i;
    }
    if (s->chains < 1 || s->block < 1 || s->warmup < 0 || s->iterations <= s->warmup || s->nss_dim < 1 ||
        s->nuts_run_count < 1 || s->nuts_run_iterations <= s->warmup ||
        s->n_live < 2 || s->num_delete < 1 || s->num_delete >= s->n_live || s->nss_iterations < 1 ||
        s->nss_block < 1 || s->nss_run_count < 1 || s->nss_run_iterations < 1 || !(s->warm_fraction >= 0) ||
        s->warm_fraction >= 1) {
        fprintf(stderr, "soak_memory: a count is out of range\n");
        return 0;
    }
    return 1;
}

/* ---- samples ---------------------------------------------------------------- */

typedef struct sample {
    long at;                 /* iterations done (nuts, nss-long) or runs done (nss-runs) */
    double seconds;          /* since the soak started */
    double device_current;   /* bytes held by clvmap's buffers now, all devices */
    double device_high;      /* their high-water since the run began, all devices */
    double rss, hwm;         /* host VmRSS and VmHWM, bytes */
    double host_by_design;    /* host bytes the run adds by design: the result filled so far */
} sample;

typedef struct series {
    const char *name;
    const char *unit;        /* what one sample is: "block of 1000 iterations", ... */
    sample *s;
    int n, capacity;
    clv_mesh *mesh;
    double t0;
    int failed;              /* the run itself failed */
} series;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* VmRSS and VmHWM from /proc/self/status, in bytes (0 where unreadable). */
static void host_memory(double *rss, double *hwm)
{
    *rss = *hwm = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        double kb;
        if (sscanf(line, "VmRSS: %lf kB", &kb) == 1) *rss = 1024 * kb;
        else if (sscanf(line, "VmHWM: %lf kB", &kb) == 1) *hwm = 1024 * kb;
    }
    fclose(f);
}

static int take(series *z, long at, double host_by_design)
{
    if (z->n == z->capacity) {
        int cap = z->capacity ? 2 * z->capacity : 256;
        sample *grown = (sample *)realloc(z->s, (size_t)cap * sizeof *grown);
        if (!grown) return 0;
        z->s = grown;
        z->capacity = cap;
    }
    sample *p = &z->s[z->n++];
    memset(p, 0, sizeof *p);
    p->at = at;
    p->seconds = now() - z->t0;
    for (int d = 0; d < clv_mesh_device_count(z->mesh); ++d) {
        clv_device_stats st;
        if (clv_mesh_stats(z->mesh, d, &st) != CLV_OK) continue;
        p->device_current += (double)st.bytes_current;
        p->device_high += (double)st.bytes_high_water;
    }
    host_memory(&p->rss, &p->hwm);
    p->host_by_design = host_by_design;
    return 1;
}

/* ---- verdict ---------------------------------------------------------------- */

typedef double (*quantity_fn)(const sample *);
static double q_device_current(const sample *p) { return p->device_current; }
static double q_device_high(const sample *p) { return p->device_high; }
static double q_rss(const sample *p) { return p->rss - p->host_by_design; }
static double q_hwm(const sample *p) { return p->hwm - p->host_by_design; }

typedef struct growth {
    double slope;   /* least squares, bytes per sample */
    double rise;    /* largest later value minus the first post-warm-up value */
} growth;

static growth grow(const series *z, int first, quantity_fn q)
{
    growth g = { 0, 0 };
    int n = z->n - first;
    if (n < 1) return g;
    double base = q(&z->s[first]), mean_i = 0, mean_v = 0, sxx = 0, sxy = 0;
    for (int i = first; i < z->n; ++i) {
        double v = q(&z->s[i]);
        if (v - base > g.rise) g.rise = v - base;
        mean_i += i;
        mean_v += v;
    }
    mean_i /= n;
    mean_v /= n;
    for (int i = first; i < z->n; ++i) {
        sxx += (i - mean_i) * (i - mean_i);
        sxy += (i - mean_i) * (q(&z->s[i]) - mean_v);
    }
    g.slope = sxx > 0 ? sxy / sxx : 0;
    return g;
}

static void mib(char *out, size_t size, double bytes)
{
    snprintf(out, size, "%.2f MiB", bytes / (1 << 20));
}

/* Prints the table and the verdict; 1 when every quantity is flat. */
static int report(const series *z, const settings *o, FILE *csv)
{
    printf("\n== soak %s: %d samples, one per %s, %.1f s\n", z->name, z->n, z->unit,
           z->n ? z->s[z->n - 1].seconds : 0.0);
    if (z->failed || z->n < 2) {
        printf("   verdict: NOT MEASURED (%s)\n", z->failed ? "the run failed" : "fewer than 2 samples");
        return 0;
    }
    int has_by_design = 0;
    for (int i = 0; i < z->n; ++i) has_by_design |= z->s[i].host_by_design != 0;
    printf("   %8s %9s %14s %14s %12s %12s%s\n", "sample", "at", "device now", "device peak", "host RSS",
           "host HWM", has_by_design ? "  by design" : "");
    int step = z->n > 24 ? z->n / 20 : 1; /* about 20 rows, and the last one */
    for (int i = 0; i < z->n; ++i) {
        const sample *p = &z->s[i];
        if (csv)
            fprintf(csv, "%s,%d,%ld,%.3f,%.0f,%.0f,%.0f,%.0f,%.0f\n", z->name, i, p->at, p->seconds,
                    p->device_current, p->device_high, p->rss, p->hwm, p->host_by_design);
        if (i % step != 0 && i != z->n - 1) continue;
        printf("   %8d %9ld %14.0f %14.0f %10.2f M %10.2f M", i, p->at, p->device_current, p->device_high,
               p->rss / (1 << 20), p->hwm / (1 << 20));
        if (has_by_design) printf("  %10.2f M", p->host_by_design / (1 << 20));
        printf("\n");
    }
    int first = (int)ceil(o->warm_fraction * z->n);
    if (first < 1) first = 1;
    if (first > z->n - 2) first = z->n - 2;
    int post = z->n - first;
    struct {
        const char *what;
        quantity_fn q;
        double tolerance; /* in all, over the post-warm-up samples */
    } checks[] = {
        { "device bytes now", q_device_current, o->device_tolerance },
        { "device high-water", q_device_high, o->device_tolerance },
        { has_by_design ? "host RSS - by design" : "host RSS", q_rss, o->rss_tolerance },
        { has_by_design ? "host HWM - by design" : "host HWM", q_hwm, o->rss_tolerance },
    };
    int flat = 1;
    printf("   after warm-up (samples %d..%d):\n", first, z->n - 1);
    for (size_t c = 0; c < sizeof checks / sizeof checks[0]; ++c) {
        growth g = grow(z, first, checks[c].q);
        double per_sample = checks[c].tolerance / post;
        int ok = g.slope <= per_sample && g.rise <= checks[c].tolerance;
        char a[32], b[32];
        mib(a, sizeof a, checks[c].q(&z->s[first]));
        mib(b, sizeof b, checks[c].q(&z->s[z->n - 1]));
        printf("   %-22s %s -> %s; slope %+10.1f bytes per sample, largest rise %10.0f bytes "
               "(tolerance %.0f in all): %s\n",
               checks[c].what, a, b, g.slope, g.rise, checks[c].tolerance, ok ? "flat" : "GROWS");
        flat &= ok;
    }
    printf("   verdict: %s\n", flat ? "FLAT" : "GROWS");
    return flat;
}

/* ---- NUTS: one long run ---------------------------------------------------- */

typedef struct nuts_watch {
    series *z;
    int num_warmup, n_chains, dim;
} nuts_watch;

static int nuts_progress(const clv_nuts_progress *p, void *user)
{
    nuts_watch *w = (nuts_watch *)user;
    /* the result's arrays filled so far (allocated zeroed at the start, but
     * malloc + memset 0 may become calloc, whose pages count in RSS only
     * once written): per draw and chain, dim + 4 doubles (draws, lp__,
     * accept_stat__, stepsize__, energy__) and 3 ints (treedepth__,
     * n_leapfrog__, divergent__) */
    int draws = p->iteration > w->num_warmup ? p->iteration - w->num_warmup : 0;
    double filled = (double)draws * w->n_chains * ((w->dim + 4) * sizeof(double) + 3 * sizeof(int));
    take(w->z, p->iteration, filled);
    return 0;
}

static int soak_nuts(clv_mesh *m, const settings *o, series *z, int repeated)
{
    nuts_model_def def;
    if (!nuts_model_make(o->model, 0, &def)) {
        fprintf(stderr, "soak_memory: unknown model %s\n", o->model);
        return 0;
    }
    clv_nuts_model model = nuts_model_desc(&def);
    clv_nuts *s = NULL;
    clv_status st = clv_nuts_new(&s, m, &model);
    int iterations = repeated ? o->nuts_run_iterations : o->iterations;
    int n_runs = repeated ? o->nuts_run_count : 1;
    if (repeated)
        printf("nuts-runs: %s (%d parameters), %d runs of %d chains x %d iterations (%d warmup), a sample after "
               "each\n", def.name, def.dim, n_runs, o->chains, iterations, o->warmup);
    else
        printf("nuts: %s (%d parameters), %d chains x %d iterations (%d warmup), %d per launch, a sample after "
               "each launch\n", def.name, def.dim, o->chains, iterations, o->warmup, o->block);
    fflush(stdout);
    z->t0 = now();
    uint64_t divergent = 0;
    for (int run = 0; run < n_runs && st == CLV_OK; ++run) {
        clv_nuts_opts no = { 0 };
        no.n_chains = o->chains;
        no.num_warmup = o->warmup;
        no.num_draws = iterations - o->warmup;
        no.block = o->block;
        no.seed = (uint64_t)run + 1;
        nuts_watch w = { z, o->warmup, o->chains, def.dim };
        if (!repeated) {
            no.progress = nuts_progress;
            no.progress_user = &w;
        }
        clv_nuts_result r = { 0 };
        st = clv_nuts_run(s, &no, &r);
        if (st == CLV_OK) {
            divergent += r.n_divergent;
            clv_nuts_summary sum;
            memset(&sum, 0, sizeof sum);
            clv_nuts_summarize_param(&r, 0, &sum);
            if (!repeated || run == n_runs - 1)
                printf("%s: %s mean %.3f, bulk ESS %.0f, R-hat %.4f (%s)\n", z->name, def.names[0], sum.mean,
                       sum.ess_bulk, sum.rhat, repeated ? "the last run" : "all draws");
        }
        clv_nuts_result_free(&r);
        if (repeated) take(z, run + 1, 0);
    }
    if (st != CLV_OK) {
        fprintf(stderr, "soak_memory: %s: %s\n", z->name, clv_nuts_message(s));
        z->failed = 1;
    } else {
        printf("%s: done in %.1f s; %llu divergent transitions\n", z->name, now() - z->t0,
               (unsigned long long)divergent);
    }
    clv_nuts_free(s);
    nuts_model_free(&def);
    return st == CLV_OK;
}

/* ---- NSS: one long run, and repeated runs --------------------------------- */

typedef struct nss_watch {
    series *z;
    int every;
    int num_delete, dim;
} nss_watch;

static int nss_progress(const clv_nss_progress *p, void *user)
{
    nss_watch *w = (nss_watch *)user;
    /* dead points kept on the host so far: x, logL, birth, born */
    double dead = (double)p->iteration * w->num_delete * (w->dim + 3) * sizeof(double);
    if (p->iteration % w->every == 0) take(w->z, p->iteration, dead);
    return 0;
}

static clv_nss_opts nss_opts(const settings *o, long iterations, uint64_t seed)
{
    clv_nss_opts no;
    memset(&no, 0, sizeof no);
    no.n_live = o->n_live;
    no.num_delete = o->num_delete;
    no.max_iterations = iterations;
    no.termination = 1e300; /* never converged: exactly `iterations` iterations */
    no.seed = seed;
    return no;
}

static int soak_nss_long(clv_mesh *m, const settings *o, series *z)
{
    clv_nss *s = nss_sampler(m, nss_gauss_source, o->nss_dim, (size_t)o->nss_dim);
    nss_watch w = { z, o->nss_block, o->num_delete, o->nss_dim };
    clv_nss_opts no = nss_opts(o, o->nss_iterations, 1);
    no.progress = nss_progress;
    no.progress_user = &w;
    clv_nss_result r;
    memset(&r, 0, sizeof r);
    printf("nss-long: %d-d Gaussian, n_live %d, num_delete %d, %d iterations, a sample every %d\n", o->nss_dim,
           o->n_live, o->num_delete, o->nss_iterations, o->nss_block);
    fflush(stdout);
    z->t0 = now();
    clv_status st = clv_nss_run(s, &no, &r);
    if (st != CLV_OK) {
        fprintf(stderr, "soak_memory: nss-long: %s\n", clv_nss_message(s));
        z->failed = 1;
    } else {
        printf("nss-long: done in %.1f s; %ld iterations, %llu likelihood evaluations, log Z %.3f (truth %.3f)\n",
               now() - z->t0, r.iterations, (unsigned long long)r.evaluations, r.logZ,
               -o->nss_dim * log(10.0));
    }
    clv_nss_result_free(&r);
    clv_nss_free(s);
    return st == CLV_OK;
}

static int soak_nss_runs(clv_mesh *m, const settings *o, series *z)
{
    clv_nss *s = nss_sampler(m, nss_gauss_source, o->nss_dim, (size_t)o->nss_dim);
    printf("nss-runs: %d runs of %d iterations (%d-d Gaussian, n_live %d, num_delete %d), a sample after each\n",
           o->nss_run_count, o->nss_run_iterations, o->nss_dim, o->n_live, o->num_delete);
    fflush(stdout);
    z->t0 = now();
    clv_status st = CLV_OK;
    uint64_t evaluations = 0;
    for (int run = 0; run < o->nss_run_count && st == CLV_OK; ++run) {
        clv_nss_opts no = nss_opts(o, o->nss_run_iterations, (uint64_t)run + 1);
        clv_nss_result r;
        memset(&r, 0, sizeof r);
        st = clv_nss_run(s, &no, &r);
        if (st != CLV_OK) fprintf(stderr, "soak_memory: nss-runs, run %d: %s\n", run + 1, clv_nss_message(s));
        evaluations += r.evaluations;
        clv_nss_result_free(&r);
        take(z, run + 1, 0);
    }
    if (st != CLV_OK) z->failed = 1;
    else
        printf("nss-runs: done in %.1f s; %llu likelihood evaluations\n", now() - z->t0,
               (unsigned long long)evaluations);
    clv_nss_free(s);
    return st == CLV_OK;
}

/* ---- main -------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    settings o;
    if (!parse(argc, argv, &o)) {
        usage(stderr);
        return 2;
    }
    clv_mesh *m = NULL;
    if (clv_mesh_open(&m, NULL) != CLV_OK) {
        fprintf(stderr, "soak_memory: %s\n", clv_mesh_message(m));
        clv_mesh_close(m);
        return 2;
    }
    for (int d = 0; d < clv_mesh_device_count(m); ++d) {
        clv_device_info info;
        clv_mesh_device_info(m, d, &info);
        printf("device %d: %s\n", d, info.name);
    }
    FILE *csv = NULL;
    if (o.csv) {
        csv = fopen(o.csv, "w");
        if (!csv) {
            fprintf(stderr, "soak_memory: cannot write %s\n", o.csv);
            clv_mesh_close(m);
            return 2;
        }
        fprintf(csv, "soak,sample,at,seconds,device_current,device_high_water,rss,hwm,host_by_design\n");
    }
    char nuts_unit[64], nss_unit[64];
    snprintf(nuts_unit, sizeof nuts_unit, "block of %d iterations", o.block);
    snprintf(nss_unit, sizeof nss_unit, "%d iterations", o.nss_block);
    enum { N_SOAKS = 4 };
    series runs[N_SOAKS] = { { "nuts", nuts_unit, NULL, 0, 0, m, 0, 0 },
                             { "nuts-runs", "run", NULL, 0, 0, m, 0, 0 },
                             { "nss-long", nss_unit, NULL, 0, 0, m, 0, 0 },
                             { "nss-runs", "run", NULL, 0, 0, m, 0, 0 } };
    int ran[N_SOAKS] = { 0, 0, 0, 0 }, ok = 1;
    if (o.nuts) ran[0] = 1, ok &= soak_nuts(m, &o, &runs[0], 0);
    if (o.nuts_runs) ran[1] = 1, ok &= soak_nuts(m, &o, &runs[1], 1);
    if (o.nss_long) ran[2] = 1, ok &= soak_nss_long(m, &o, &runs[2]);
    if (o.nss_runs) ran[3] = 1, ok &= soak_nss_runs(m, &o, &runs[3]);
    int flat = 1;
    for (int i = 0; i < N_SOAKS; ++i)
        if (ran[i]) flat &= report(&runs[i], &o, csv);
    if (csv) fclose(csv);
    printf("\nsoak_memory: %s\n", !ok ? "a run FAILED" : flat ? "every soak FLAT" : "memory GROWS");
    for (int i = 0; i < N_SOAKS; ++i) free(runs[i].s);
    clv_mesh_close(m);
    return !ok ? 2 : flat ? 0 : 1;
}
