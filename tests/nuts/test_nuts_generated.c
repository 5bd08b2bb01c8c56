/* Generated quantities (clv_nuts_model.n_generated, the source's
 * `generated`) and the CmdStan CSV layout:
 *   eight_schools' tau and theta[j] equal the host's transform of each draw
 *   (exp(log_tau), mu + tau theta_tilde[j]);
 *   they are bitwise identical over chunks (none, 1, 3, auto) and 1 vs 2
 *   devices, and over a run stopped early by the progress callback;
 *   the same source without them (n_generated 0) gives bitwise the same
 *   draws and statistics, and a CSV without their columns;
 *   the summary and the CSV carry them: header columns tau, theta.1 ..
 *   after the parameters, every value read back, and CmdStan's closing
 *   "Elapsed Time" block with the measured seconds;
 *   a cooperative model's generated value equals the host's (not on PoCL,
 *   nor with CLV_TEST_SMALL);
 *   bad declarations are refused with a message. CLV_TEST_SMALL=1: fewer
 *   iterations. */
#include "nuts_test.h"

#define SCHOOLS_G 9

static clv_nuts_opts opts(long chunk)
{
    clv_nuts_opts o;
    memset(&o, 0, sizeof o);
    o.n_chains = 5;
    o.num_warmup = tu_small() ? 30 : 150;
    o.num_draws = tu_small() ? 12 : 100;
    o.block = 40;
    o.seed = 31;
    o.chunk = chunk;
    return o;
}

/* eight_schools on n devices (NULL result fields: fewer devices there). */
static void run(int devices, long chunk, int with_generated, clv_nuts_result *r)
{
    memset(r, 0, sizeof *r);
    clv_mesh *m = tu_open(devices, NULL);
    if (!m) return;
    nuts_model_def def;
    nuts_model_make("eight_schools", 0, &def);
    clv_nuts_model model = nuts_model_desc(&def);
    if (!with_generated) {
        model.n_generated = 0;
        model.generated_names = NULL;
    }
    clv_nuts *s = NULL;
    clv_status st = clv_nuts_new(&s, m, &model);
    if (st != CLV_OK) {
        printf("FAIL: clv_nuts_new: %s\n", clv_nuts_message(s));
        exit(1);
    }
    clv_nuts_opts o = opts(chunk);
    nt_run(s, &o, r);
    clv_nuts_free(s);
    clv_mesh_close(m);
    nuts_model_free(&def);
}

static int same_sampler(const clv_nuts_result *a, const clv_nuts_result *b)
{
    size_t n = (size_t)a->n_chains * a->num_draws, d = (size_t)a->dim;
    return a->num_draws == b->num_draws && memcmp(a->draws, b->draws, n * d * sizeof(double)) == 0 &&
           memcmp(a->lp, b->lp, n * sizeof(double)) == 0 &&
           memcmp(a->accept_stat, b->accept_stat, n * sizeof(double)) == 0 &&
           memcmp(a->energy, b->energy, n * sizeof(double)) == 0 &&
           memcmp(a->n_leapfrog, b->n_leapfrog, n * sizeof(int)) == 0 &&
           memcmp(a->inv_mass, b->inv_mass, (size_t)a->n_chains * d * sizeof(double)) == 0;
}

/* Every generated value against the host's transform of its draw. */
static void check_transform(const clv_nuts_result *r)
{
    TU_CHECK(r->n_generated == SCHOOLS_G && r->generated && r->generated_names, "n_generated %d, generated %p",
             r->n_generated, (const void *)r->generated);
    if (!r->generated || !r->generated_names) return;
    TU_CHECK(!strcmp(r->generated_names[0], "tau") && !strcmp(r->generated_names[1], "theta[1]") &&
             !strcmp(r->generated_names[8], "theta[8]"), "names %s %s %s", r->generated_names[0],
             r->generated_names[1], r->generated_names[8]);
    double worst = 0;
    size_t n = (size_t)r->n_chains * r->num_draws;
    for (size_t i = 0; i < n; ++i) {
        const double *z = r->draws + i * r->dim, *g = r->generated + i * SCHOOLS_G;
        double want[SCHOOLS_G];
        want[0] = exp(z[1]);
        for (int j = 0; j < 8; ++j) want[1 + j] = z[0] + want[0] * z[2 + j];
        for (int k = 0; k < SCHOOLS_G; ++k) {
            double scale = fabs(z[0]) + want[0] * (k ? fabs(z[1 + k]) : 1) + 1e-300;
            double err = fabs(g[k] - want[k]) / scale;
            if (!(err <= worst)) worst = err;
        }
    }
    /* the device's exp is within a few ulps of the host's */
    TU_CHECK(worst < 1e-13, "generated values differ from the host transform by %.3g (relative)", worst);
    printf("generated: %zu draws x %d values equal the host transform (worst relative difference %.2g)\n", n,
           SCHOOLS_G, worst);
}

static void check_invariance(const clv_nuts_result *ref)
{
    struct { int devices; long chunk; } layouts[] = { { 1, 1 }, { 1, 3 }, { 2, CLV_CHUNK_NONE }, { 2, 2 },
                                                       { 2, CLV_CHUNK_AUTO } };
    size_t n = (size_t)ref->n_chains * ref->num_draws * SCHOOLS_G;
    int checked = 0;
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; ++i) {
        clv_nuts_result r;
        run(layouts[i].devices, layouts[i].chunk, 1, &r);
        if (!r.draws) continue;
        TU_CHECK(same_sampler(ref, &r) && r.generated && memcmp(r.generated, ref->generated, n * sizeof(double)) == 0,
                 "%d device(s), chunk %ld: draws or generated values differ from 1 device, no chunk",
                 layouts[i].devices, layouts[i].chunk);
        ++checked;
        clv_nuts_result_free(&r);
    }
    printf("generated: bitwise identical over %d layouts\n", checked);
}

/* The same source with n_generated 0: the sampler's numbers unchanged. */
static void check_without(const clv_nuts_result *ref)
{
    clv_nuts_result r;
    run(1, CLV_CHUNK_NONE, 0, &r);
    TU_CHECK(same_sampler(ref, &r), "n_generated 0 changed the draws");
    TU_CHECK(r.n_generated == 0 && !r.generated && !r.generated_names, "n_generated 0 gave generated values");
    FILE *f = tmpfile();
    static char line[1 << 16];
    int header = 0;
    TU_CHECK(f && clv_nuts_write_csv(&r, 0, f, NULL) == CLV_OK, "write_csv without generated");
    if (f) {
        rewind(f);
        while (!header && fgets(line, sizeof line, f))
            if (line[0] != '#') header = 1;
        TU_CHECK(header && strstr(line, ",x.10\n") && !strstr(line, "tau"), "header without generated: %s", line);
        fclose(f);
    }
    clv_nuts_result_free(&r);
}

/* The header, every value, and the closing block of chain `chain`. */
static void check_csv(const clv_nuts_result *r, int chain, const char *const *names)
{
    FILE *f = tmpfile();
    TU_CHECK(f && clv_nuts_write_csv(r, chain, f, names) == CLV_OK, "write_csv");
    if (!f) return;
    rewind(f);
    static char line[1 << 16];
    int header = 0, rows = 0, bad = 0, adaptation = 0, after_rows = 0, n_cols = 7 + r->dim + SCHOOLS_G;
    double seconds[3] = { -1, -1, -1 };
    int n_seconds = 0, blank_comments = 0;
    while (fgets(line, sizeof line, f)) {
        if (!header && line[0] != '#') {
            header = 1;
            const char *want = "lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__,mu,log_tau,"
                               "theta_tilde.1,theta_tilde.2,theta_tilde.3,theta_tilde.4,theta_tilde.5,theta_tilde.6,"
                               "theta_tilde.7,theta_tilde.8,tau,theta.1,theta.2,theta.3,theta.4,theta.5,theta.6,"
                               "theta.7,theta.8\n";
            TU_CHECK(!strcmp(line, want), "CSV header:\n  %s want\n  %s", line, want);
            continue;
        }
        if (!header) continue;
        if (line[0] == '#') {
            adaptation += rows == 0 && strstr(line, "# Adaptation terminated") == line;
            if (rows == 0) continue;
            ++after_rows;
            blank_comments += !strcmp(line, "# \n");
            const char *phase[3] = { " seconds (Warm-up)\n", " seconds (Sampling)\n", " seconds (Total)\n" };
            const char *lead = n_seconds == 0 ? "#  Elapsed Time: " : "#                ";
            if (n_seconds < 3 && strncmp(line, lead, strlen(lead)) == 0) {
                char *end;
                seconds[n_seconds] = strtod(line + strlen(lead), &end);
                TU_CHECK(!strcmp(end, phase[n_seconds]), "elapsed line %d: %s", n_seconds, line);
                ++n_seconds;
            }
            continue;
        }
        TU_CHECK(after_rows == 0, "a draw after the closing block");
        size_t at = (size_t)chain * r->num_draws + (size_t)rows;
        char *p = line;
        for (int c = 0; c < n_cols; ++c) { /* lp__, the parameters and the generated values */
            double v = strtod(p, &p);
            if (c == 0) bad += v != r->lp[at];
            else if (c >= 7 && c < 7 + r->dim) bad += v != r->draws[at * r->dim + (c - 7)];
            else if (c >= 7) bad += v != r->generated[at * SCHOOLS_G + (c - 7 - r->dim)];
            if (*p == ',') ++p;
            else if (c + 1 < n_cols) ++bad;
        }
        ++rows;
    }
    fclose(f);
    TU_CHECK(rows == r->num_draws && bad == 0, "CSV: %d rows of %d, %d values differ", rows, r->num_draws, bad);
    TU_CHECK(adaptation == 1, "CSV: no '# Adaptation terminated' between the header and the draws");
    /* CmdStan's closing block: "# ", the three elapsed lines, "# " */
    TU_CHECK(after_rows == 5 && blank_comments == 2 && n_seconds == 3, "closing block: %d lines, %d blank, %d times",
             after_rows, blank_comments, n_seconds);
    TU_CHECK(r->warmup_seconds > 0 && r->sampling_seconds > 0, "measured %g s warm-up, %g s sampling",
             r->warmup_seconds, r->sampling_seconds);
    TU_CHECK(seconds[0] >= 0 && seconds[1] >= 0 && fabs(seconds[0] + seconds[1] - seconds[2]) <= 0.0021,
             "elapsed %g + %g != %g", seconds[0], seconds[1], seconds[2]);
    TU_CHECK(fabs(seconds[0] - r->warmup_seconds) <= 0.0006 && fabs(seconds[1] - r->sampling_seconds) <= 0.0006,
             "elapsed %g %g, result %g %g", seconds[0], seconds[1], r->warmup_seconds, r->sampling_seconds);
    printf("csv: %d columns, %d rows, elapsed %.3f s warm-up, %.3f s sampling\n", n_cols, rows, seconds[0],
           seconds[1]);
}

static void check_summary(const clv_nuts_result *r, const char *const *names)
{
    FILE *f = tmpfile();
    TU_CHECK(f && clv_nuts_write_summary(r, f, names) == CLV_OK, "write_summary");
    if (!f) return;
    rewind(f);
    static char line[4096];
    int tau = 0, theta8 = 0;
    while (fgets(line, sizeof line, f)) {
        tau += strncmp(line, "tau ", 4) == 0;
        theta8 += strncmp(line, "theta[8] ", 9) == 0;
    }
    fclose(f);
    TU_CHECK(tau == 1 && theta8 == 1, "summary rows: tau %d, theta[8] %d", tau, theta8);
    clv_nuts_summary sm;
    TU_CHECK(clv_nuts_summarize_param(r, r->dim, &sm) == CLV_OK && sm.mean > 0, "summary of tau: mean %g", sm.mean);
    TU_CHECK(clv_nuts_summarize_param(r, r->dim + SCHOOLS_G, &sm) == CLV_ERROR_INVALID_ARGUMENT,
             "k past the generated quantities accepted");
}

/* A stop after 7 draws keeps each chain's generated values with its draws. */
static int stop_early(const clv_nuts_progress *p, void *user)
{
    (void)user;
    return p->iteration >= p->num_warmup + 7;
}

static void check_stopped(const clv_nuts_result *ref)
{
    clv_mesh *m = tu_open(1, NULL);
    if (!m) return;
    nuts_model_def def;
    nuts_model_make("eight_schools", 0, &def);
    clv_nuts *s = nt_sampler(m, &def);
    clv_nuts_opts o = opts(CLV_CHUNK_NONE);
    o.block = 7;
    o.progress = stop_early;
    clv_nuts_result r;
    nt_run(s, &o, &r);
    int bad = r.num_draws != 7;
    for (int c = 0; !bad && c < r.n_chains; ++c)
        bad = memcmp(r.generated + (size_t)c * 7 * SCHOOLS_G, ref->generated + (size_t)c * ref->num_draws * SCHOOLS_G,
                     7 * SCHOOLS_G * sizeof(double)) != 0;
    TU_CHECK(!bad, "a run stopped after 7 draws: %d draws, generated values not those of the full run", r.num_draws);
    clv_nuts_result_free(&r);
    clv_nuts_free(s);
    clv_mesh_close(m);
    nuts_model_free(&def);
}

/* One bad declaration: refused with `status` and a message saying `why`. */
static void refuse(clv_mesh *m, const char *what, const clv_nuts_model *model, clv_status status, const char *why)
{
    clv_nuts *s = NULL;
    clv_status st = clv_nuts_new(&s, m, model);
    TU_CHECK(st == status && strstr(clv_nuts_message(s), why), "%s: %s, message \"%s\"", what,
             clv_status_string(st), clv_nuts_message(s));
    clv_nuts_free(s);
}

static void check_errors(void)
{
    clv_mesh *m = tu_open(1, NULL);
    if (!m) return;
    nuts_model_def def, normal;
    nuts_model_make("eight_schools", 0, &def);
    nuts_model_make("normal", 0, &normal);
    clv_nuts_model model = nuts_model_desc(&def);
    const char *dup[] = { "tau", "theta[1]", "tau" }, *with_null[] = { "tau", NULL }, *empty[] = { "" };
    model.generated_names = NULL;
    refuse(m, "names NULL", &model, CLV_ERROR_INVALID_ARGUMENT, "generated_names is NULL");
    model.n_generated = 3;
    model.generated_names = dup;
    refuse(m, "duplicate names", &model, CLV_ERROR_INVALID_ARGUMENT, "are both \"tau\"");
    model.n_generated = 2;
    model.generated_names = with_null;
    refuse(m, "a NULL name", &model, CLV_ERROR_INVALID_ARGUMENT, "generated_names[1] is NULL");
    model.n_generated = 1;
    model.generated_names = empty;
    refuse(m, "an empty name", &model, CLV_ERROR_INVALID_ARGUMENT, "generated_names[0]");
    model.n_generated = -1;
    refuse(m, "n_generated -1", &model, CLV_ERROR_INVALID_ARGUMENT, "n_generated is -1");
    model.n_generated = 0;
    model.generated_names = dup;
    refuse(m, "names without n_generated", &model, CLV_ERROR_INVALID_ARGUMENT, "n_generated is 0");
    clv_nuts_model plain = nuts_model_desc(&normal);
    plain.n_generated = 1;
    plain.generated_names = dup;
    refuse(m, "no generated in the source", &plain, CLV_ERROR_INVALID_ARGUMENT, "does not define generated(");
    nuts_model_free(&def);
    nuts_model_free(&normal);
    clv_mesh_close(m);
}

/* A cooperative model (a work group per chain) with a generated quantity:
 * the chance p = 1 / (1 + exp(-beta[0])) of the intercept, against the
 * host, on 1 and 2 devices. Skipped on PoCL (its work-group compiler takes
 * minutes on the cooperative kernels, as in test_nuts_cooperative). */
static void run_cooperative(int devices, clv_nuts_result *r)
{
    memset(r, 0, sizeof *r);
    clv_mesh *m = tu_open(devices, NULL);
    if (!m) return;
    nuts_model_def def;
    nuts_model_make_sized("logistic_coop", 3, 64, &def);
    static const char *generated =
        "void generated(__global const clv_real *z, __global clv_real *out, __global const clv_real *data) {\n"
        "    out[0] = 1 / (1 + exp(-z[0]));\n"
        "}\n";
    size_t n = strlen(def.source) + strlen(generated) + 1;
    char *source = (char *)malloc(n);
    snprintf(source, n, "%s%s", def.source, generated);
    static const char *const names[] = { "p" };
    clv_nuts_model model = nuts_model_desc(&def);
    model.source = source;
    model.n_generated = 1;
    model.generated_names = names;
    clv_nuts *s = NULL;
    clv_status st = clv_nuts_new(&s, m, &model);
    TU_CHECK(st == CLV_OK, "cooperative clv_nuts_new: %s", clv_nuts_message(s));
    clv_nuts_opts o = opts(CLV_CHUNK_NONE);
    o.n_chains = 3;
    o.num_warmup = 40;
    o.num_draws = 10;
    if (st == CLV_OK) nt_run(s, &o, r);
    clv_nuts_free(s);
    free(source);
    nuts_model_free(&def);
    clv_mesh_close(m);
}

static void check_cooperative(void)
{
    char platform[256] = "";
    tu_platform_devices(platform, sizeof platform);
    if (strstr(platform, "Portable Computing Language") && !getenv("CLV_TEST_COOPERATIVE_ON_POCL")) {
        printf("cooperative: not on PoCL (CLV_TEST_COOPERATIVE_ON_POCL=1 forces it)\n");
        return;
    }
    if (tu_small()) { /* oclgrind: minutes; og_fresh nuts-cooperative checks those kernels */
        printf("cooperative: not with CLV_TEST_SMALL\n");
        return;
    }
    clv_nuts_result one, two;
    run_cooperative(1, &one);
    if (!one.generated) return;
    size_t n = (size_t)one.n_chains * one.num_draws;
    int bad = 0;
    for (size_t i = 0; i < n; ++i)
        bad += !(fabs(one.generated[i] - 1 / (1 + exp(-one.draws[i * one.dim]))) <= 1e-14);
    TU_CHECK(bad == 0, "cooperative: %d of %zu generated values differ from the host's", bad, n);
    run_cooperative(2, &two);
    if (two.generated)
        TU_CHECK(memcmp(one.draws, two.draws, n * one.dim * sizeof(double)) == 0 &&
                 memcmp(one.generated, two.generated, n * sizeof(double)) == 0,
                 "cooperative: 1 and 2 devices differ");
    printf("cooperative: %zu draws, generated p equals the host's%s\n", n, two.generated ? ", 1 = 2 devices" : "");
    clv_nuts_result_free(&one);
    clv_nuts_result_free(&two);
}

int main(void)
{
    check_errors();
    clv_nuts_result ref;
    run(1, CLV_CHUNK_NONE, 1, &ref);
    if (!ref.draws) return 77;
    nuts_model_def def;
    nuts_model_make("eight_schools", 0, &def);
    check_transform(&ref);
    check_invariance(&ref);
    check_without(&ref);
    check_stopped(&ref);
    check_csv(&ref, 0, (const char *const *)def.names);
    check_csv(&ref, ref.n_chains - 1, (const char *const *)def.names);
    check_summary(&ref, (const char *const *)def.names);
    check_cooperative();
    nuts_model_free(&def);
    clv_nuts_result_free(&ref);
    return tu_summary();
}
