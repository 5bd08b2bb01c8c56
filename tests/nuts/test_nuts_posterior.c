/* Posterior means and variances against known values:
 *   gauss (10-d, correlated): means 0, variances exp(linspace(-1,1))^2;
 *   normal (the BlackJAX how-to's model): its conjugate posterior;
 *   eight_schools (non-centred): E[mu], E[tau], E[theta_j] by quadrature
 *     (published: mu 4.4, tau 3.6, e.g. posteriordb's reference posterior);
 * each within 4 Monte Carlo standard errors (from the run's own ESS), plus
 * R-hat < 1.01 and a bulk ESS floor. Fixed seeds: the run is deterministic.
 * CLV_TEST_SMALL=1: tiny runs, only that they finish with finite draws. */
#include "nuts_test.h"

static clv_nuts_opts opts(uint64_t seed)
{
    clv_nuts_opts o;
    memset(&o, 0, sizeof o);
    o.n_chains = tu_small() ? 2 : 4;
    o.num_warmup = tu_small() ? 30 : 500;
    o.num_draws = tu_small() ? 20 : 1000;
    o.seed = seed;
    return o;
}

static void check_finite(const clv_nuts_result *r, const char *model)
{
    size_t n = (size_t)r->n_chains * r->num_draws * r->dim;
    int finite = 1;
    for (size_t i = 0; i < n; ++i) finite &= isfinite(r->draws[i]) != 0;
    TU_CHECK(finite, "%s: non-finite draws", model);
}

static void gauss(clv_mesh *m)
{
    nuts_model_def def;
    nuts_model_make("gauss", 10, &def);
    clv_nuts *s = nt_sampler(m, &def);
    clv_nuts_opts o = opts(11);
    clv_nuts_result r = { 0 };
    nt_run(s, &o, &r);
    check_finite(&r, "gauss");
    if (!tu_small()) {
        printf("gauss (10-d, AR(1) 0.9):\n");
        for (int k = 0; k < def.dim; k += 3) {
            clv_nuts_summary sm;
            char what[32];
            clv_nuts_summarize_param(&r, k, &sm);
            snprintf(what, sizeof what, "x.%d", k + 1);
            nt_check_mean(what, sm.mean, 0, sm.sd, sm.ess_bulk, 4);
            nt_check_var(&r, k, what, 0, nuts_models_gauss_var(def.dim, k), 4);
        }
        nt_check_convergence(&r, "gauss", 400);
        TU_CHECK(r.n_divergent == 0, "gauss: %llu divergences", (unsigned long long)r.n_divergent);
    }
    clv_nuts_result_free(&r);
    clv_nuts_free(s);
    nuts_model_free(&def);
}

static void normal(clv_mesh *m)
{
    nuts_model_def def;
    nuts_model_make("normal", 0, &def);
    clv_nuts *s = nt_sampler(m, &def);
    clv_nuts_opts o = opts(12);
    clv_nuts_result r = { 0 };
    nt_run(s, &o, &r);
    check_finite(&r, "normal");
    if (!tu_small()) {
        double mean[2], var[2];
        nuts_models_normal_reference(&def, mean, var);
        printf("normal (conjugate posterior):\n");
        for (int k = 0; k < 2; ++k) {
            clv_nuts_summary sm;
            clv_nuts_summarize_param(&r, k, &sm);
            nt_check_mean(def.names[k], sm.mean, mean[k], sm.sd, sm.ess_bulk, 4);
            nt_check_var(&r, k, def.names[k], mean[k], var[k], 4);
        }
        nt_check_convergence(&r, "normal", 1000);
    }
    clv_nuts_result_free(&r);
    clv_nuts_free(s);
    nuts_model_free(&def);
}

/* E[tau] and E[theta_j] from the draws of (mu, log tau, theta_tilde). */
static void schools_derived(const clv_nuts_result *r, int k, double *x)
{
    size_t n = (size_t)r->n_chains * r->num_draws;
    for (size_t i = 0; i < n; ++i) {
        const double *d = r->draws + i * r->dim;
        x[i] = k == 0 ? d[0] : k == 1 ? exp(d[1]) : d[0] + exp(d[1]) * d[k];
    }
}

static void eight_schools(clv_mesh *m)
{
    nuts_model_def def;
    nuts_model_make("eight_schools", 0, &def);
    clv_nuts *s = nt_sampler(m, &def);
    clv_nuts_opts o = opts(13);
    o.target_accept = 0.9;
    clv_nuts_result r = { 0 };
    nt_run(s, &o, &r);
    check_finite(&r, "eight_schools");
    if (!tu_small()) {
        double ref[10];
        nuts_models_schools_reference(ref);
        printf("eight_schools (non-centred; quadrature reference mu %.3f, tau %.3f):\n", ref[0], ref[1]);
        size_t n = (size_t)r.n_chains * r.num_draws;
        double *x = (double *)malloc(n * sizeof(double));
        const char *names[] = { "mu", "tau", "theta.1", "theta.2", "theta.3", "theta.4", "theta.5", "theta.6",
                                "theta.7", "theta.8" };
        for (int k = 0; k < 10; ++k) {
            clv_nuts_summary sm;
            schools_derived(&r, k, x);
            clv_nuts_summarize(x, r.n_chains, r.num_draws, &sm);
            nt_check_mean(names[k], sm.mean, ref[k], sm.sd, sm.ess_bulk, 4);
        }
        free(x);
        nt_check_convergence(&r, "eight_schools", 400);
    }
    clv_nuts_result_free(&r);
    clv_nuts_free(s);
    nuts_model_free(&def);
}

int main(void)
{
    clv_mesh *m = tu_open(3, NULL);
    if (!m) m = tu_open(1, NULL);
    if (!m) return 77;
    gauss(m);
    normal(m);
    eight_schools(m);
    clv_mesh_close(m);
    return tu_summary();
}
