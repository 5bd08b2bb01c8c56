/* Helpers shared by the NUTS tests: build a model from examples/nuts_models.h
 * on a mesh and run it with small, fixed settings. */
#ifndef NUTS_TEST_H
#define NUTS_TEST_H

#include "test_util.h"
#include "clvmap_nuts.h"
#include "nuts_models.h"

#include <math.h>

/* A sampler for a model of nuts_models.h; exits on failure. */
static inline clv_nuts *nt_sampler(clv_mesh *m, const nuts_model_def *def)
{
    clv_nuts_model model = nuts_model_desc(def);
    clv_nuts *s = NULL;
    clv_status st = clv_nuts_new(&s, m, &model);
    if (st != CLV_OK) {
        printf("FAIL: clv_nuts_new(%s): %s\n", def->name, clv_nuts_message(s));
        exit(1);
    }
    return s;
}

/* Run; exits on failure. */
static inline void nt_run(clv_nuts *s, const clv_nuts_opts *o, clv_nuts_result *r)
{
    clv_status st = clv_nuts_run(s, o, r);
    if (st != CLV_OK) {
        printf("FAIL: clv_nuts_run: %s\n", clv_nuts_message(s));
        exit(1);
    }
}

/* |estimate - truth| within k Monte Carlo standard errors of the mean. */
static inline void nt_check_mean(const char *what, double estimate, double truth, double sd, double ess, double k)
{
    double mcse = sd / sqrt(ess);
    TU_CHECK(fabs(estimate - truth) <= k * mcse, "%s: mean %.5g, truth %.5g, |diff| %.3g > %g MCSE (%.3g)", what,
             estimate, truth, fabs(estimate - truth), k, mcse);
    printf("  %-14s mean %10.5g  truth %10.5g  (%+.2f MCSE)\n", what, estimate, truth, (estimate - truth) / mcse);
}

/* Variance of parameter k within kk Monte Carlo standard errors: the
 * error of mean((x - truth_mean)^2) from the ESS of the squared deviations. */
static inline void nt_check_var(const clv_nuts_result *r, int k, const char *what, double truth_mean,
                                double truth_var, double kk)
{
    size_t n = (size_t)r->n_chains * r->num_draws;
    double *sq = (double *)malloc(n * sizeof(double));
    for (size_t i = 0; i < n; ++i) {
        double d = r->draws[i * r->dim + k] - truth_mean;
        sq[i] = d * d;
    }
    clv_nuts_summary sm;
    clv_nuts_summarize(sq, r->n_chains, r->num_draws, &sm);
    free(sq);
    double se = sm.sd / sqrt(sm.ess_bulk);
    TU_CHECK(fabs(sm.mean - truth_var) <= kk * se, "%s: variance %.5g, truth %.5g, |diff| %.3g > %g MCSE (%.3g)",
             what, sm.mean, truth_var, fabs(sm.mean - truth_var), kk, se);
    printf("  %-14s var  %10.5g  truth %10.5g  (%+.2f MCSE)\n", what, sm.mean, truth_var, (sm.mean - truth_var) / se);
}

/* R-hat below 1.01 and bulk ESS above a floor for every parameter. */
static inline void nt_check_convergence(const clv_nuts_result *r, const char *model, double ess_floor)
{
    double worst_rhat = 0, least_ess = 1e300;
    for (int k = 0; k < r->dim; ++k) {
        clv_nuts_summary sm;
        clv_nuts_summarize_param(r, k, &sm);
        if (!(sm.rhat <= worst_rhat)) worst_rhat = sm.rhat;
        if (!(sm.ess_bulk >= least_ess)) least_ess = sm.ess_bulk;
    }
    TU_CHECK(worst_rhat < 1.01, "%s: largest R-hat %.4f >= 1.01", model, worst_rhat);
    TU_CHECK(least_ess > ess_floor, "%s: smallest bulk ESS %.0f <= %.0f", model, least_ess, ess_floor);
    printf("  %s: largest R-hat %.4f, smallest bulk ESS %.0f (floor %.0f), %llu divergent\n", model, worst_rhat,
           least_ess, ess_floor, (unsigned long long)r->n_divergent);
}

#endif
