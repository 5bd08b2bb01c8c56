/* nuts_bench — clvmap's NUTS on the benchmark models: min-over-parameters
 * bulk ESS per second of clv_nuts_run (the program build is left out).
 * tests/bench/nuts_bench.sh runs it beside BlackJAX and NumPyro
 * (tests/bench/nuts_ref.py) on the same models and data.
 *
 *   nuts_bench [--model M|all] [--dim D] [--chains N] [--warmup N] [--draws N]
 *              [--runs R] [--seed S] [--csv PREFIX] [--dump-data FILE]
 *              [--obs N] [--local L]
 * M: all (normal gauss eight_schools logistic) or any name of
 * examples/nuts_models.h, e.g. the N x D logistic regression (--obs, --dim)
 * as plain scalar code (logistic_plain), cooperative (logistic_coop, L lanes
 * per chain; 0: the device's default) or hand-vectorised (logistic_vec).
 * One line per run: clvmap model=... run=... wall_s=... min_ess_bulk=...
 * ess_per_s=... (ESS from clvmap's own diagnostics; the script recomputes it
 * with ArviZ from the CSV files). --dump-data writes the model's data for
 * the Python side (first line: name dim n_data). */
#define _POSIX_C_SOURCE 199309L
#include "clvmap_nuts.h"
#include "nuts_models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct bench_args {
    const char *model, *csv, *dump;
    int dim, chains, warmup, draws, runs;
    unsigned long long seed;
    int obs;
    size_t local;
} bench_args;

static void dump(const nuts_model_def *def, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); exit(1); }
    /* the three forms of one logistic regression are one model to nuts_ref.py */
    fprintf(f, "%s %d %zu\n", strncmp(def->name, "logistic", 8) ? def->name : "logistic", def->dim, def->n_data);
    /* X by rows for the references, whichever layout this form keeps */
    size_t n_obs = def->n_data / (size_t)(def->dim + 1);
    for (size_t i = 0; i < def->n_data; ++i) {
        size_t at = i;
        if (def->x_by_columns && i < n_obs * (size_t)def->dim) at = i % (size_t)def->dim * n_obs + i / (size_t)def->dim;
        fprintf(f, "%.17g\n", def->data[at]);
    }
    fclose(f);
}

static double min_ess(const clv_nuts_result *r)
{
    double least = 1e300;
    for (int k = 0; k < r->dim; ++k) {
        clv_nuts_summary sm = { 0 };
        clv_nuts_summarize_param(r, k, &sm);
        if (sm.ess_bulk < least) least = sm.ess_bulk;
    }
    return least;
}

static void write_csvs(const clv_nuts_result *r, const nuts_model_def *def, const char *prefix)
{
    for (int c = 0; c < r->n_chains; ++c) {
        char path[4096];
        snprintf(path, sizeof path, "%s_%d.csv", prefix, c + 1);
        FILE *f = fopen(path, "w");
        if (f) clv_nuts_write_csv(r, c, f, (const char *const *)def->names);
        if (f) fclose(f);
    }
}

static int bench_model(clv_mesh *m, const bench_args *a, const char *name)
{
    nuts_model_def def;
    if (!nuts_model_make_sized(name, a->dim, a->obs, &def)) { fprintf(stderr, "unknown model %s\n", name); return 0; }
    if (a->dump) dump(&def, a->dump);
    clv_nuts_model model = nuts_model_desc(&def);
    clv_nuts *s;
    clv_status st = clv_nuts_new(&s, m, &model);
    if (st == CLV_OK) { /* untimed: PoCL builds the work-group functions at the first launch */
        clv_nuts_opts o = { 0 };
        o.n_chains = a->chains;
        o.num_warmup = 2;
        o.num_draws = 2;
        o.local_size = def.cooperative ? a->local : 0;
        clv_nuts_result r = { 0 };
        st = clv_nuts_run(s, &o, &r);
        clv_nuts_result_free(&r);
    }
    for (int run = 0; st == CLV_OK && run < a->runs; ++run) {
        clv_nuts_opts o = { 0 };
        o.n_chains = a->chains;
        o.num_warmup = a->warmup;
        o.num_draws = a->draws;
        o.seed = a->seed + (unsigned long long)run;
        o.local_size = def.cooperative ? a->local : 0;
        clv_nuts_result r = { 0 };
        double t0 = now();
        st = clv_nuts_run(s, &o, &r);
        double wall = now() - t0;
        if (st == CLV_OK) {
            double ess = min_ess(&r);
            printf("clvmap model=%s run=%d chains=%d draws=%d dim=%d wall_s=%.4f min_ess_bulk=%.1f ess_per_s=%.1f "
                   "divergent=%llu leapfrog=%llu\n", name, run + 1, r.n_chains, r.num_draws, r.dim, wall, ess,
                   ess / wall, (unsigned long long)r.n_divergent, (unsigned long long)r.n_leapfrog_total);
            if (a->csv) write_csvs(&r, &def, a->csv);
            fflush(stdout);
        }
        clv_nuts_result_free(&r);
    }
    if (st != CLV_OK) fprintf(stderr, "nuts_bench: %s\n", clv_nuts_message(s));
    clv_nuts_free(s);
    nuts_model_free(&def);
    return st == CLV_OK;
}

int main(int argc, char **argv)
{
    bench_args a = { "all", NULL, NULL, 0, 4, 1000, 1000, 3, 1, 0, 0 };
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--model")) a.model = v;
        else if (!strcmp(k, "--csv")) a.csv = v;
        else if (!strcmp(k, "--dump-data")) a.dump = v;
        else if (!strcmp(k, "--dim")) a.dim = atoi(v);
        else if (!strcmp(k, "--chains")) a.chains = atoi(v);
        else if (!strcmp(k, "--warmup")) a.warmup = atoi(v);
        else if (!strcmp(k, "--draws")) a.draws = atoi(v);
        else if (!strcmp(k, "--runs")) a.runs = atoi(v);
        else if (!strcmp(k, "--seed")) a.seed = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--obs")) a.obs = atoi(v);
        else if (!strcmp(k, "--local")) a.local = (size_t)atoi(v);
        else { fprintf(stderr, "nuts_bench: unknown option %s (see the file's comment)\n", k); return 2; }
    }
    clv_mesh *m;
    if (clv_mesh_open(&m, NULL) != CLV_OK) {
        fprintf(stderr, "nuts_bench: %s\n", clv_mesh_message(m));
        clv_mesh_close(m);
        return 1;
    }
    const char *all[] = { "normal", "gauss", "eight_schools", "logistic" };
    int ok = 1;
    if (strcmp(a.model, "all") != 0) ok = bench_model(m, &a, a.model);
    else
        for (size_t i = 0; i < 4; ++i) ok &= bench_model(m, &a, all[i]);
    clv_mesh_close(m);
    return ok ? 0 : 1;
}
