/* Cooperative models (clv_nuts_model.cooperative: one work group per chain,
 * the log density shared by its lanes): the same logistic regression as
 * plain one-work-item code and as cooperative code (X by rows, each lane a
 * block; and X by columns, lanes interleaved) gives
 *   - a gradient that passes clv_nuts_check_gradient;
 *   - posterior means equal within Monte Carlo error (5 MCSE of the
 *     difference of the two runs' means) for every coefficient;
 *   - bitwise the same draws for chunk 1 and one launch, and for 2 devices
 *     when the platform has them, at a fixed local size;
 *   - bitwise the same draws with the gradient's shares in private arrays
 *     and in a __local table (clv_group_sum_table);
 *   - the plain form's draws unchanged by the cooperative option existing
 *     (its bits are checked by nuts_invariance and the MPI tests).
 * Runs on every runtime, PoCL included: the kernels hold no barrier under
 * a condition, which PoCL 3.1's work-group compiler once took many minutes
 * over (now about 2.5 minutes cold under a load of 12, seconds from its
 * kernel cache). */
#include "nuts_test.h"

/* extra: compiler options after the model's own (NULL: none). */
static void run_with(clv_mesh *m, const char *name, int n_obs, long chunk, size_t local, const char *extra,
                     clv_nuts_result *r)
{
    nuts_model_def def;
    nuts_model_make_sized(name, 3, n_obs, &def);
    if (extra) {
        size_t len = strlen(def.options);
        snprintf(def.options + len, sizeof def.options - len, " %s", extra);
    }
    clv_nuts *s = nt_sampler(m, &def);
    clv_nuts_opts o;
    memset(&o, 0, sizeof o);
    o.n_chains = 2;
    o.num_warmup = tu_small() ? 100 : 300;
    o.num_draws = tu_small() ? 100 : 300;
    o.seed = 7;
    o.chunk = chunk;
    o.local_size = local;
    nt_run(s, &o, r);
    if (def.cooperative) {
        clv_nuts_gradcheck g;
        clv_nuts_gradcheck_opts go;
        memset(&go, 0, sizeof go);
        go.n_points = 3;
        clv_status st = clv_nuts_check_gradient(s, &go, NULL, &g);
        TU_CHECK(st == CLV_OK && g.n_over == 0 && g.n_nonfinite == 0, "cooperative gradient check: %s, worst %g (%s)",
                 clv_status_string(st), g.worst, clv_nuts_message(s));
    }
    clv_nuts_free(s);
    nuts_model_free(&def);
}

static void run(clv_mesh *m, const char *name, int n_obs, long chunk, size_t local, clv_nuts_result *r)
{
    run_with(m, name, n_obs, chunk, local, NULL, r);
}

static void mean_sd(const clv_nuts_result *r, int k, double *mean, double *se)
{
    clv_nuts_summary sm;
    memset(&sm, 0, sizeof sm);
    size_t n = (size_t)r->n_chains * r->num_draws;
    double *x = (double *)malloc(n * sizeof(double));
    for (size_t i = 0; i < n; ++i) x[i] = r->draws[i * r->dim + k];
    clv_nuts_summarize(x, r->n_chains, r->num_draws, &sm);
    free(x);
    *mean = sm.mean;
    *se = sm.sd / sqrt(sm.ess_bulk);
}

int main(void)
{
    int n_obs = tu_small() ? 64 : 400;
    clv_mesh *m = tu_open(1, NULL);
    if (!m) return 77;
    clv_nuts_result plain, coop, coop1;
    clv_nuts_result cols, cols1;
    run(m, "logistic_plain", n_obs, CLV_CHUNK_NONE, 0, &plain);
    run(m, "logistic_coop", n_obs, CLV_CHUNK_NONE, 8, &coop);
    run(m, "logistic_coop", n_obs, 1, 8, &coop1);
    run(m, "logistic_coop_cols", n_obs, CLV_CHUNK_NONE, 8, &cols);
    run(m, "logistic_coop_cols", n_obs, 1, 8, &cols1);
    const clv_nuts_result *coops[2] = { &coop, &cols };
    for (int f = 0; f < 2; ++f)
        for (int k = 0; k < plain.dim; ++k) {
            double m1, s1, m2, s2;
            mean_sd(&plain, k, &m1, &s1);
            mean_sd(coops[f], k, &m2, &s2);
            double se = sqrt(s1 * s1 + s2 * s2);
            const char *form = f ? "cooperative, X by columns" : "cooperative";
            TU_CHECK(fabs(m1 - m2) <= 5 * se, "beta[%d]: plain mean %.5g, %s %.5g, |diff| %.3g > 5 x %.3g", k, m1, form,
                     m2, fabs(m1 - m2), se);
            printf("  beta[%d]  plain %9.5f  %s %9.5f  (%.2f MCSE apart)\n", k, m1, form, m2, fabs(m1 - m2) / se);
        }
    size_t n = (size_t)coop.n_chains * coop.num_draws * coop.dim;
    TU_CHECK(memcmp(cols.draws, cols1.draws, n * sizeof(double)) == 0,
             "cooperative, X by columns: chunk 1 and one launch differ");
    clv_nuts_result_free(&cols);
    clv_nuts_result_free(&cols1);
    TU_CHECK(memcmp(coop.draws, coop1.draws, n * sizeof(double)) == 0, "cooperative: chunk 1 and one launch differ");
    clv_nuts_result_free(&coop1);
    /* The example's two forms of the gradient's shares make the same
     * additions in the same order: private arrays summed by
     * clv_group_sum_n (the default at 3 coefficients on every runtime) and
     * a __local table of CLV_LANE_SLOTs summed by clv_group_sum_table
     * (forced here) give the same draws. */
    clv_nuts_result table;
    run_with(m, "logistic_coop", n_obs, 2, 8, "-DSHARES_PRIVATE=0", &table);
    TU_CHECK(memcmp(coop.draws, table.draws, n * sizeof(double)) == 0,
             "cooperative, shares in a __local table: draws differ from the private shares'");
    clv_nuts_result_free(&table);
    clv_mesh *two = tu_open(2, NULL);
    if (two) {
        clv_nuts_result c2;
        run(two, "logistic_coop", n_obs, CLV_CHUNK_NONE, 8, &c2);
        TU_CHECK(memcmp(coop.draws, c2.draws, n * sizeof(double)) == 0, "cooperative: 1 and 2 devices differ");
        clv_nuts_result_free(&c2);
        clv_mesh_close(two);
    }
    clv_nuts_result_free(&plain);
    clv_nuts_result_free(&coop);
    clv_mesh_close(m);
    return tu_summary();
}
