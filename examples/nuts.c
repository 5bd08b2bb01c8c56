/* nuts — sample a built-in model with clvmap's NUTS, chains spread over
 * every OpenCL device, and print what a Stan user expects: a progress line
 * per device, the summary table (mean, sd, quantiles, bulk/tail ESS, R-hat)
 * and one CmdStan-layout CSV per chain.
 *
 *   nuts --model eight_schools --chains 8 --csv out/schools
 *   POCL_DEVICES="pthread pthread pthread" nuts --model normal --devices 0,1,2
 *   nuts --help
 *
 * Models (nuts_models.h, beside this file): normal (the BlackJAX multiple-chains
 * how-to: 1000 observations), gauss (a correlated Gaussian, --dim, default
 * 100), eight_schools (non-centred), logistic (1000 rows, 10 coefficients),
 * funnel (Neal's, centred: expect divergences). eight_schools samples
 * (mu, log_tau, theta_tilde) and prints, and writes to the CSV, its
 * constrained parameters tau and theta[1..8] as generated quantities
 * (clv_nuts_model.n_generated): cmdstanpy's from_csv and ArviZ's
 * from_cmdstan read them as the arrays tau and theta.
 *
 * --data FILE gives the normal model your observations instead of its own:
 * a CSV file (clvmap_csv.h) with a column named y, else its first column. */
#define _POSIX_C_SOURCE 199309L
#include "clvmap_csv.h"
#include "clvmap_nuts.h"
#include "nuts_models.h"
#include "nuts_plots.h" /* --png: trace plots and histograms */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct args {
    const char *model, *csv, *data, *devices;
    const char *png, *png_params; /* --png DIR, --png-params NAMES */
    int dim, obs, chains, warmup, draws, block, check_gradient, quiet;
    long chunk;
    unsigned long long seed;
} args;

static void usage(FILE *f)
{
    fprintf(f, "usage: nuts [options]\n"
               "  --model NAME      normal | gauss | eight_schools | logistic | funnel | logistic_plain |\n"
               "                    logistic_coop (cooperative: a work group per chain) |\n"
               "                    logistic_coop_cols (the same, X by columns) (default normal)\n"
               "  --obs N           observations of the logistic_plain / _coop forms (default 10000)\n"
               "  --dim D           dimension of gauss (default 100)\n"
               "  --data FILE       normal: the observations from a CSV file (column y, else the first)\n"
               "  --chains N        chains (default 4), spread over the devices\n"
               "  --warmup N        warmup iterations (default 1000)\n"
               "  --draws N         draws kept per chain (default 1000)\n"
               "  --block N         iterations per kernel launch (default 100)\n"
               "  --chunk K         chains per launch per device (default: all)\n"
               "  --seed S          seed (default 1)\n"
               "  --csv PREFIX      write PREFIX_1.csv ... (CmdStan layout; ArviZ's from_cmdstan reads them)\n"
               "  --png DIR         write DIR/nuts_trace.png and DIR/nuts_hist.png (trace plots, histograms)%s\n"
               "  --png-params A,B  the parameters drawn (default: the first 6)\n"
               "  --check-gradient  compare the gradient with central differences first\n"
               "  --devices SPEC    as CLV_DEVICES: all, gpu, cpu, 0,1, portable:0, ... (default: $CLV_DEVICES,\n"
               "                    else every GPU, else the CPUs; clvmap-info lists them)\n"
               "  --quiet           no progress lines\n"
               "  --help            this text\n",
            PLOT_PNG_AVAILABLE ? "" : "\n                    (not in this build: it needs libpng, not found)");
}

/* The options that take a value. */
static int known(const char *option)
{
    static const char *const names[] = { "--model", "--csv", "--png", "--png-params", "--data", "--devices", "--dim",
                                         "--obs", "--chains", "--warmup", "--draws", "--block", "--chunk", "--seed" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i)
        if (!strcmp(option, names[i])) return 1;
    return 0;
}

static int parse(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->model = "normal";
    a->chains = 4;
    a->seed = 1;
    for (int i = 1; i < argc; ++i) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(k, "--help") || !strcmp(k, "-h")) { usage(stdout); exit(0); }
        else if (!strcmp(k, "--check-gradient")) { a->check_gradient = 1; continue; }
        else if (!strcmp(k, "--quiet")) { a->quiet = 1; continue; }
        if (!known(k)) { fprintf(stderr, "nuts: unknown option %s\n", k); return 0; }
        if (!v) { fprintf(stderr, "nuts: %s needs a value\n", k); return 0; }
        if (!strcmp(k, "--model")) a->model = v;
        else if (!strcmp(k, "--csv")) a->csv = v;
        else if (!strcmp(k, "--png")) a->png = v;
        else if (!strcmp(k, "--png-params")) a->png_params = v;
        else if (!strcmp(k, "--data")) a->data = v;
        else if (!strcmp(k, "--devices")) a->devices = v;
        else if (!strcmp(k, "--dim")) a->dim = atoi(v);
        else if (!strcmp(k, "--obs")) a->obs = atoi(v);
        else if (!strcmp(k, "--chains")) a->chains = atoi(v);
        else if (!strcmp(k, "--warmup")) a->warmup = atoi(v);
        else if (!strcmp(k, "--draws")) a->draws = atoi(v);
        else if (!strcmp(k, "--block")) a->block = atoi(v);
        else if (!strcmp(k, "--chunk")) a->chunk = atol(v);
        else if (!strcmp(k, "--seed")) a->seed = strtoull(v, NULL, 10);
        else { fprintf(stderr, "nuts: unknown option %s\n", k); return 0; }
        ++i;
    }
    if (a->png && !PLOT_PNG_AVAILABLE) {
        fprintf(stderr, "nuts: --png: this build has no PNG output (libpng was not found)\n");
        return 0;
    }
    return 1;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* One line per device: its chains, the iteration, divergences, kernel time. */
static int progress(const clv_nuts_progress *p, void *user)
{
    clv_mesh *m = (clv_mesh *)user;
    for (int i = 0; i < p->n_devices; ++i) {
        clv_device_info info;
        clv_mesh_device_info(m, i, &info);
        size_t first = p->device_first[i], count = p->device_count[i];
        printf("device %d (%.24s): chains %zu-%zu  iteration %5d/%d %s  %llu divergent  %.2f s\n", i, info.name,
               first, first + count - (count > 0), p->iteration, p->total,
               p->iteration <= p->num_warmup ? "(warmup)  " : "(sampling)",
               (unsigned long long)p->device_divergent[i], p->device_seconds[i]);
    }
    fflush(stdout);
    return 0;
}

static int check_gradient(clv_nuts *s, const nuts_model_def *def)
{
    double *per = (double *)calloc((size_t)def->dim, sizeof(double));
    clv_nuts_gradcheck g;
    if (clv_nuts_check_gradient(s, NULL, per, &g) != CLV_OK) {
        fprintf(stderr, "%s\n", clv_nuts_message(s));
        free(per);
        return 0;
    }
    printf("gradient check: worst relative error %.2e (%s); %d coordinate(s) over tolerance\n", g.worst,
           def->names[g.worst_coordinate], g.n_over);
    free(per);
    return g.n_over == 0;
}

/* The normal model's observations from a CSV file: column "y", else the first. */
static int load_data(const char *path, nuts_model_def *def)
{
    clv_csv_table t;
    if (clv_csv_read_file(&t, path, NULL) != CLV_CSV_OK) {
        fprintf(stderr, "nuts: %s\n", t.message);
        return 0;
    }
    long col = clv_csv_column(&t, "y");
    double *y = t.n_rows > 0 ? (double *)malloc(t.n_rows * sizeof(double)) : NULL;
    size_t i = 0;
    for (; y && i < t.n_rows; ++i) {
        y[i] = t.values[i * t.n_columns + (size_t)(col >= 0 ? col : 0)];
        if (!isfinite(y[i])) break;
    }
    if (!y || i < t.n_rows) {
        fprintf(stderr, "nuts: %s: %s\n", path, !t.n_rows ? "no observations" : !y ? "out of memory"
                                                                                 : "an observation is not finite");
        free(y);
        clv_csv_free(&t);
        return 0;
    }
    printf("%s: %zu observations (column %s)\n", path, t.n_rows, col >= 0 ? "y" : t.names ? t.names[0] : "1");
    free(def->data);
    def->data = y;
    def->n_data = t.n_rows;
    snprintf(def->options, sizeof def->options, "-DN_OBS=%zu", def->n_data);
    clv_csv_free(&t);
    return 1;
}

static int write_csvs(const clv_nuts_result *r, const nuts_model_def *def, const char *prefix)
{
    for (int c = 0; c < r->n_chains; ++c) {
        char path[4096];
        snprintf(path, sizeof path, "%s_%d.csv", prefix, c + 1);
        FILE *f = fopen(path, "w");
        if (!f || clv_nuts_write_csv(r, c, f, (const char *const *)def->names) != CLV_OK) {
            fprintf(stderr, "nuts: cannot write %s\n", path);
            if (f) fclose(f);
            return 0;
        }
        fclose(f);
    }
    printf("wrote %s_1.csv .. %s_%d.csv\n", prefix, prefix, r->n_chains);
    return 1;
}

static int sample(clv_mesh *m, const args *a, const nuts_model_def *def)
{
    clv_nuts_model model = nuts_model_desc(def);
    clv_nuts *s;
    clv_status st = clv_nuts_new(&s, m, &model);
    if (st == CLV_OK && a->check_gradient && !check_gradient(s, def)) st = CLV_ERROR_INVALID_ARGUMENT;
    clv_nuts_opts o = { 0 };
    o.n_chains = a->chains;
    o.num_warmup = a->warmup;
    o.num_draws = a->draws;
    o.block = a->block;
    o.chunk = a->chunk;
    o.seed = a->seed;
    o.progress = a->quiet ? NULL : progress;
    o.progress_user = m;
    clv_nuts_result r = { 0 };
    double t0 = now();
    if (st == CLV_OK) st = clv_nuts_run(s, &o, &r);
    double seconds = now() - t0;
    if (st != CLV_OK) fprintf(stderr, "nuts: %s\n", clv_nuts_message(s));
    if (st == CLV_OK) {
        printf("\n%s: %d parameters, %d chains on %d device(s), %.2f s\n\n", def->name, def->dim, r.n_chains,
               r.n_devices, seconds);
        clv_nuts_write_summary(&r, stdout, (const char *const *)def->names);
        printf("peak device memory %.1f MiB\n", (double)r.peak_device_bytes / (1 << 20));
        if (a->csv && !write_csvs(&r, def, a->csv)) st = CLV_ERROR_INVALID_ARGUMENT;
        if (a->png && !nuts_plots_write(&r, (const char *const *)def->names, a->png_params, def->name, a->png))
            st = CLV_ERROR_INVALID_ARGUMENT;
    }
    clv_nuts_result_free(&r);
    clv_nuts_free(s);
    return st == CLV_OK;
}

int main(int argc, char **argv)
{
    args a;
    if (!parse(argc, argv, &a)) {
        usage(stderr);
        return 2;
    }
    nuts_model_def def;
    if (!nuts_model_make_sized(a.model, a.dim, a.obs, &def)) {
        fprintf(stderr, "nuts: unknown model %s\n", a.model);
        return 2;
    }
    if (a.data && (strcmp(a.model, "normal") != 0 || !load_data(a.data, &def))) {
        if (strcmp(a.model, "normal") != 0) fprintf(stderr, "nuts: --data is for the normal model\n");
        nuts_model_free(&def);
        return 2;
    }
    clv_mesh *m;
    clv_mesh_desc desc = {0};
    desc.devices = a.devices; /* NULL: $CLV_DEVICES, else the default */
    if (clv_mesh_open(&m, &desc) != CLV_OK) {
        fprintf(stderr, "nuts: %s\n", clv_mesh_message(m));
        clv_mesh_close(m);
        nuts_model_free(&def);
        return 1;
    }
    int ok = sample(m, &a, &def);
    clv_mesh_close(m);
    nuts_model_free(&def);
    return ok ? 0 : 1;
}
