/* What can go wrong, and what the user sees:
 *   divergences on Neal's funnel (centred) are reported, per draw and in all;
 *   NaN log densities and NaN gradients are divergences, never a crash;
 *   a wrong gradient is flagged by the checker, right ones are not;
 *   bad options and bad models are refused with a message (among them a
 *   cooperative model at 1 or 2 lanes on PoCL, whose compiler aborts there);
 *   the CSV (CmdStan's layout) reads back to the same numbers;
 *   a progress callback sees every device and can stop the run. */
#include "nuts_test.h"
#include "nss/address_limit.h"

#include <time.h>

static clv_nuts_opts small_opts(uint64_t seed)
{
    clv_nuts_opts o;
    memset(&o, 0, sizeof o);
    o.n_chains = 4;
    o.num_warmup = tu_small() ? 30 : 300;
    o.num_draws = tu_small() ? 20 : 300;
    o.seed = seed;
    return o;
}

static void funnel(clv_mesh *m)
{
    nuts_model_def def;
    nuts_model_make("funnel", 0, &def);
    clv_nuts *s = nt_sampler(m, &def);
    clv_nuts_opts o = small_opts(5);
    o.num_draws = tu_small() ? 20 : 1000;
    clv_nuts_result r = { 0 };
    nt_run(s, &o, &r);
    uint64_t counted = 0;
    for (int i = 0; i < r.n_chains * r.num_draws; ++i) counted += r.divergent[i] != 0;
    TU_CHECK(counted == r.n_divergent, "divergences: %llu flagged, %llu counted", (unsigned long long)counted,
             (unsigned long long)r.n_divergent);
    if (!tu_small()) TU_CHECK(r.n_divergent > 0, "no divergences reported on the centred funnel");
    printf("funnel: %llu divergent transitions of %d\n", (unsigned long long)r.n_divergent, r.n_chains * r.num_draws);
    clv_nuts_result_free(&r);
    clv_nuts_free(s);
    nuts_model_free(&def);
}

/* A standard normal with a NaN wall at x0 > 1 (density), or NaN gradient at
 * x1 > 1: the chains stay on the finite side and the steps that hit the
 * wall are divergences. */
static void nan_model(clv_mesh *m, int nan_gradient)
{
    static const char *src =
        "clv_real logdensity(__global const clv_real *x, __global clv_real *grad,\n"
        "                    __global const clv_real *data) {\n"
        "    clv_real lp = 0;\n"
        "    for (int k = 0; k < CLV_NUTS_DIM; ++k) { lp -= 0.5 * x[k] * x[k]; grad[k] = -x[k]; }\n"
        "    if (!NAN_GRAD && x[0] > 1) return NAN;\n"
        "    if (NAN_GRAD && x[1] > 1) grad[0] = NAN;\n"
        "    return lp;\n"
        "}\n";
    clv_nuts_model model;
    memset(&model, 0, sizeof model);
    model.source = src;
    model.dim = 3;
    model.options = nan_gradient ? "-DNAN_GRAD=1" : "-DNAN_GRAD=0";
    clv_nuts_opts o = small_opts(6);
    o.init_radius = 0.5;
    clv_nuts *s;
    clv_nuts_result r = { 0 };
    clv_status st = clv_nuts_new(&s, m, &model);
    if (st == CLV_OK) st = clv_nuts_run(s, &o, &r);
    TU_CHECK(st == CLV_OK, "NaN %s model: %s", nan_gradient ? "gradient" : "density", clv_nuts_message(s));
    if (st == CLV_OK) {
        double worst = -1e300;
        int k = nan_gradient ? 1 : 0;
        for (int i = 0; i < r.n_chains * r.num_draws; ++i)
            if (r.draws[(size_t)i * 3 + k] > worst) worst = r.draws[(size_t)i * 3 + k];
        TU_CHECK(worst <= 1, "a draw beyond the NaN wall: x%d = %g", k, worst);
        if (!tu_small()) TU_CHECK(r.n_divergent > 0, "the NaN wall gave no divergence");
        printf("NaN %s: %llu divergent, largest x%d %.3f\n", nan_gradient ? "gradient" : "density",
               (unsigned long long)r.n_divergent, k, worst);
    }
    clv_nuts_result_free(&r);
    clv_nuts_free(s);
}

static void gradients(clv_mesh *m)
{
    const char *models[] = { "normal", "gauss", "eight_schools", "logistic", "funnel" };
    for (size_t i = 0; i < sizeof models / sizeof models[0]; ++i) {
        nuts_model_def def;
        nuts_model_make(models[i], 6, &def);
        clv_nuts *s = nt_sampler(m, &def);
        clv_nuts_gradcheck g;
        TU_CHECK(clv_nuts_check_gradient(s, NULL, NULL, &g) == CLV_OK, "check_gradient: %s", clv_nuts_message(s));
        TU_CHECK(g.n_over == 0 && g.n_nonfinite == 0, "%s: right gradient flagged (worst %.3g at %d)", models[i],
                 g.worst, g.worst_coordinate);
        printf("gradient %-14s worst relative error %.2e (coordinate %d)\n", models[i], g.worst, g.worst_coordinate);
        clv_nuts_free(s);
        nuts_model_free(&def);
    }
    /* the normal model with d/d log_scale missing the chain rule's factor 2 */
    nuts_model_def def;
    nuts_model_make("normal", 0, &def);
    const char *old = "grad[1] = g_ls", *bad = "grad[1] = 0.5 * g_ls";
    char *wrong = (char *)malloc(strlen(def.source) + strlen(bad) + 1);
    const char *at = strstr(def.source, old);
    sprintf(wrong, "%.*s%s%s", (int)(at - def.source), def.source, bad, at + strlen(old));
    def.source = wrong;
    clv_nuts *s = nt_sampler(m, &def);
    double per[2];
    clv_nuts_gradcheck g;
    clv_nuts_gradcheck_opts go;
    memset(&go, 0, sizeof go);
    go.n_points = 5;
    TU_CHECK(clv_nuts_check_gradient(s, &go, per, &g) == CLV_OK, "check_gradient: %s", clv_nuts_message(s));
    TU_CHECK(g.n_over == 1 && g.worst_coordinate == 1 && per[0] < 1e-4 && per[1] > 1e-4,
             "wrong gradient not flagged: n_over %d, coordinate %d, errors %.3g %.3g", g.n_over, g.worst_coordinate,
             per[0], per[1]);
    printf("wrong gradient: errors %.2e %.2e, flagged coordinate %d\n", per[0], per[1], g.worst_coordinate);
    clv_nuts_free(s);
    free(wrong);
    nuts_model_free(&def);
}

static void refused(clv_mesh *m)
{
    clv_nuts_model model;
    memset(&model, 0, sizeof model);
    model.source = "clv_real logdensity(__global const clv_real *x, __global clv_real *g,\n"
                   "                    __global const clv_real *d) {\n"
                   "    g[0] = 0;\n    return undefined_name;\n}\n";
    model.name = "broken.cl";
    model.dim = 1;
    clv_nuts *s;
    clv_status st = clv_nuts_new(&s, m, &model);
    TU_CHECK(st == CLV_ERROR_BUILD && strstr(clv_nuts_message(s), "broken.cl:4"),
             "a build error names the model's file and line: %s", clv_nuts_message(s));
    clv_nuts_free(s);
    model.dim = 0;
    TU_CHECK(clv_nuts_new(&s, m, &model) == CLV_ERROR_INVALID_ARGUMENT, "dim 0 refused");
    clv_nuts_free(s);

    nuts_model_def def;
    nuts_model_make("gauss", 2, &def);
    s = nt_sampler(m, &def);
    clv_nuts_result r = { 0 };
    clv_nuts_opts o = small_opts(1);
    o.n_chains = -1;
    TU_CHECK(clv_nuts_run(s, &o, &r) == CLV_ERROR_INVALID_ARGUMENT, "negative n_chains refused");
    o = small_opts(1);
    o.max_depth = 11;
    TU_CHECK(clv_nuts_run(s, &o, &r) == CLV_ERROR_INVALID_ARGUMENT && strstr(clv_nuts_message(s), "max_depth"),
             "max_depth above the model's refused: %s", clv_nuts_message(s));
    o = small_opts(1);
    o.target_accept = 1.5;
    TU_CHECK(clv_nuts_run(s, &o, &r) == CLV_ERROR_INVALID_ARGUMENT, "target_accept 1.5 refused");
    double init[8] = { 0, 0, NAN, 0, 0, 0, 0, 0 };
    o = small_opts(1);
    o.init = init;
    TU_CHECK(clv_nuts_run(s, &o, &r) == CLV_ERROR_INVALID_ARGUMENT && strstr(clv_nuts_message(s), "chain 1"),
             "a NaN initial point is named: %s", clv_nuts_message(s));
    clv_nuts_result_free(&r);
    clv_nuts_free(s);
    nuts_model_free(&def);
}

/* Every floating-point option, NaN or inf, is refused by name (issue 11:
 * max_energy_error = inf passed), and so are the gradient checker's. */
static void refused_reals(clv_mesh *m)
{
    nuts_model_def def;
    nuts_model_make("gauss", 2, &def);
    clv_nuts *s = nt_sampler(m, &def);
    clv_nuts_result r = { 0 };
    const char *names[] = { "target_accept", "step_size", "max_energy_error", "init_radius" };
    const double bad[] = { NAN, INFINITY, -INFINITY, -1 };
    for (int k = 0; k < 4; ++k)
        for (int v = 0; v < 4; ++v) {
            clv_nuts_opts o = small_opts(1);
            double *field = k == 0 ? &o.target_accept : k == 1 ? &o.step_size : k == 2 ? &o.max_energy_error
                                                                                        : &o.init_radius;
            *field = bad[v];
            clv_status st = clv_nuts_run(s, &o, &r);
            TU_CHECK(st == CLV_ERROR_INVALID_ARGUMENT && strstr(clv_nuts_message(s), names[k]),
                     "%s = %g: %s: %s", names[k], bad[v], clv_status_string(st), clv_nuts_message(s));
            clv_nuts_result_free(&r);
        }
    const char *gnames[] = { "radius", "step", "tolerance" };
    for (int k = 0; k < 3; ++k)
        for (int v = 0; v < 4; ++v) {
            clv_nuts_gradcheck_opts g;
            clv_nuts_gradcheck out;
            memset(&g, 0, sizeof g);
            *(k == 0 ? &g.radius : k == 1 ? &g.step : &g.tolerance) = bad[v];
            clv_status st = clv_nuts_check_gradient(s, &g, NULL, &out);
            TU_CHECK(st == CLV_ERROR_INVALID_ARGUMENT && strstr(clv_nuts_message(s), gnames[k]),
                     "gradient check %s = %g: %s: %s", gnames[k], bad[v], clv_status_string(st),
                     clv_nuts_message(s));
        }
    clv_nuts_free(s);
    nuts_model_free(&def);
}

/* Sizes that cannot fit are refused before anything is allocated, naming
 * the option and the bytes; under an address-space cap, so that a missing
 * refusal fails as a malloc would instead of filling the machine. */
static void refused_sizes(clv_mesh *m)
{
    nuts_model_def def;
    nuts_model_make("gauss", 2, &def);
    clv_nuts *s = nt_sampler(m, &def);
    clv_nuts_result r = { 0 };
    al_limit(4ull << 30);
    for (int k = 0; k < 3; ++k) {
        clv_nuts_opts o = small_opts(1);
        const char *want = "n_chains 1073741824";
        if (k == 0) o.n_chains = 1 << 30;                          /* device memory */
        if (k == 1) o.num_draws = (1 << 30) - 1, want = "num_draws 1073741823"; /* host memory */
        if (k == 2) o.n_chains = 64, o.num_warmup = -1, o.num_draws = 1 << 28, want = "num_draws 268435456";
        clock_t start = clock();
        clv_status st = clv_nuts_run(s, &o, &r);
        double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
        TU_CHECK(st == CLV_ERROR_OUT_OF_MEMORY && strstr(clv_nuts_message(s), want) &&
                 strstr(clv_nuts_message(s), "bytes") && !r.draws && seconds < 5,
                 "n_chains %d, num_draws %d: %s after %.1f s: %s", o.n_chains, o.num_draws, clv_status_string(st),
                 seconds, clv_nuts_message(s));
        clv_nuts_result_free(&r);
    }
    double one = 0;
    clv_nuts_summary sm;
    clv_status st = clv_nuts_summarize(&one, 1 << 30, 4, &sm); /* 2 n_chains split chains overflow int */
    TU_CHECK(st == CLV_ERROR_INVALID_ARGUMENT, "summary of 2^30 chains: %s", clv_status_string(st));
    al_restore();
    clv_nuts_opts o = small_opts(1); /* and the sampler still works */
    o.num_warmup = 20;
    o.num_draws = 20;
    TU_CHECK(clv_nuts_run(s, &o, &r) == CLV_OK && r.num_draws == 20, "after the refusals: %s", clv_nuts_message(s));
    clv_nuts_result_free(&r);
    clv_nuts_free(s);
    nuts_model_free(&def);
}

/* PoCL 3.1 aborts the process building the cooperative kernels for 1 or 2
 * lanes per chain: on a mesh with a PoCL device clv_nuts_run refuses those
 * local sizes before any launch; on other runtimes they run. */
static void refused_lanes(clv_mesh *m)
{
    char platform[256] = ""; /* tu_open's devices are the first platform's */
    tu_platform_devices(platform, sizeof platform);
    const int pocl = strstr(platform, "Portable Computing Language") != NULL;
    nuts_model_def def;
    nuts_model_make_sized("logistic_coop", 3, 64, &def);
    clv_nuts *s = nt_sampler(m, &def);
    clv_nuts_result r = { 0 };
    for (size_t lanes = 1; lanes <= 2; ++lanes) {
        clv_nuts_opts o = small_opts(3);
        o.local_size = lanes;
        if (!pocl) o.num_warmup = o.num_draws = 10;
        clv_status st = clv_nuts_run(s, &o, &r);
        if (pocl)
            TU_CHECK(st == CLV_ERROR_INVALID_ARGUMENT && strstr(clv_nuts_message(s), "PoCL") && !r.draws,
                     "cooperative at %zu lanes on PoCL: %s: %s", lanes, clv_status_string(st), clv_nuts_message(s));
        else
            TU_CHECK(st == CLV_OK && r.num_draws == 10, "cooperative at %zu lanes: %s: %s", lanes,
                     clv_status_string(st), clv_nuts_message(s));
        clv_nuts_result_free(&r);
    }
    clv_nuts_free(s);
    nuts_model_free(&def);
}

/* Parse one chain's CSV back: the column names, and every number. */
static void csv_roundtrip(const clv_nuts_result *r, const char *const *names)
{
    FILE *f = tmpfile();
    TU_CHECK(f && clv_nuts_write_csv(r, 1, f, names) == CLV_OK, "write_csv");
    if (!f) return;
    rewind(f);
    static char line[1 << 16];
    int row = 0, header = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        if (!header) {
            header = 1;
            const char *cols = "lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__,";
            TU_CHECK(strncmp(line, cols, strlen(cols)) == 0 && strstr(line, names[0]), "CSV header: %s", line);
            continue;
        }
        size_t at = (size_t)r->num_draws + (size_t)row; /* chain 1 */
        double want[7 + 16];
        want[0] = r->lp[at];
        want[1] = r->accept_stat[at];
        want[2] = r->step_size[at];
        want[3] = r->tree_depth[at];
        want[4] = r->n_leapfrog[at];
        want[5] = r->divergent[at];
        want[6] = r->energy[at];
        for (int k = 0; k < r->dim; ++k) want[7 + k] = r->draws[at * r->dim + k];
        char *p = line;
        for (int c = 0; c < 7 + r->dim; ++c) {
            double v = strtod(p, &p);
            bad += v != want[c];
            if (*p == ',') ++p;
        }
        ++row;
    }
    fclose(f);
    TU_CHECK(row == r->num_draws && bad == 0, "CSV read back: %d rows of %d, %d values differ", row, r->num_draws, bad);
}

typedef struct seen {
    int calls, devices, chains;
} seen;

static int on_progress(const clv_nuts_progress *p, void *user)
{
    seen *s = (seen *)user;
    s->calls++;
    s->devices = p->n_devices;
    s->chains = 0;
    for (int i = 0; i < p->n_devices; ++i) s->chains += (int)p->device_count[i];
    return p->iteration >= p->num_warmup + 10; /* stop 10 draws in */
}

static void output(clv_mesh *m)
{
    nuts_model_def def;
    nuts_model_make("eight_schools", 0, &def);
    clv_nuts *s = nt_sampler(m, &def);
    clv_nuts_opts o = small_opts(8);
    clv_nuts_result r = { 0 };
    nt_run(s, &o, &r);
    csv_roundtrip(&r, (const char *const *)def.names);
    FILE *f = tmpfile();
    TU_CHECK(f && clv_nuts_write_summary(&r, f, (const char *const *)def.names) == CLV_OK, "write_summary");
    if (f) fclose(f);
    clv_nuts_result_free(&r);
    seen sn = { 0, 0, 0 };
    o.progress = on_progress;
    o.progress_user = &sn;
    o.block = 10;
    nt_run(s, &o, &r);
    TU_CHECK(r.num_draws == 10 && sn.devices == clv_mesh_device_count(m) && sn.chains == o.n_chains,
             "progress: stopped at %d draws, saw %d devices, %d chains", r.num_draws, sn.devices, sn.chains);
    clv_nuts_result_free(&r);
    clv_nuts_free(s);
    nuts_model_free(&def);
}

int main(void)
{
    clv_mesh *m = tu_open(3, NULL);
    if (!m) m = tu_open(1, NULL);
    if (!m) return 77;
    funnel(m);
    nan_model(m, 0);
    nan_model(m, 1);
    gradients(m);
    refused(m);
    refused_reals(m);
    refused_sizes(m);
    refused_lanes(m);
    output(m);
    clv_mesh_close(m);
    return tu_summary();
}
