/* L2-regularised logistic regression for a grid of L2 weights, against
 * Newton's method in double on the host (to |g| < 1e-12): the same weights
 * to 1e-7 with epsilon 1e-8 (where some items end on a rounding stop: f no
 * longer changes), and the same objective value to 1e-9 (relative) with the
 * default epsilon, where every item converges. Both line searches. */
#define LBFGS_TEST_NO_QUADRATIC
#define LBFGS_TEST_NO_ROSENBROCK
#include "lbfgs_test.h"
#include "objectives.h"

enum { N = 10 }; /* 9 features and a bias column */

/* Solve H s = g in place (H symmetric positive definite, n x n) by Cholesky. */
static void cholesky_solve(double *H, double *g, int n)
{
    for (int j = 0; j < n; ++j) {
        for (int k = 0; k < j; ++k) H[j * n + j] -= H[j * n + k] * H[j * n + k];
        H[j * n + j] = sqrt(H[j * n + j]);
        for (int i = j + 1; i < n; ++i) {
            for (int k = 0; k < j; ++k) H[i * n + j] -= H[i * n + k] * H[j * n + k];
            H[i * n + j] /= H[j * n + j];
        }
    }
    for (int i = 0; i < n; ++i) {
        for (int k = 0; k < i; ++k) g[i] -= H[i * n + k] * g[k];
        g[i] /= H[i * n + i];
    }
    for (int i = n - 1; i >= 0; --i) {
        for (int k = i + 1; k < n; ++k) g[i] -= H[k * n + i] * g[k];
        g[i] /= H[i * n + i];
    }
}

/* Newton's method with unit steps (the objective is strictly convex and
 * smooth; from w = 0 it converges quadratically here). */
static double newton(const double *X, const double *y, int n_samples, double lambda, double *w)
{
    double g[N], H[N * N], f = 0;
    memset(w, 0, N * sizeof *w);
    for (int it = 0; it < 100; ++it) {
        f = logistic_host(X, y, n_samples, lambda, w, g, N);
        double gn = 0;
        for (int j = 0; j < N; ++j) gn += g[j] * g[j];
        if (sqrt(gn) < 1e-12) break;
        for (int i = 0; i < N * N; ++i) H[i] = (i % (N + 1) == 0) ? lambda : 0;
        for (int k = 0; k < n_samples; ++k) {
            const double *xk = X + (size_t)k * N;
            double z = 0;
            for (int j = 0; j < N; ++j) z += xk[j] * w[j];
            double p = 1 / (1 + exp(-z)), v = p * (1 - p);
            for (int i = 0; i < N; ++i)
                for (int j = 0; j < N; ++j) H[i * N + j] += v * xk[i] * xk[j];
        }
        cholesky_solve(H, g, N);
        for (int j = 0; j < N; ++j) w[j] -= g[j];
    }
    return f;
}

static void run(clv_mesh *m, clv_lbfgs_linesearch ls, double epsilon, int n_items, clv_array *Xa, clv_array *ya,
                clv_array *la, clv_array *na, const double *w_ref, const double *f_ref)
{
    clv_lbfgs_parameter param;
    memset(&param, 0, sizeof param);
    param.linesearch = ls;
    param.epsilon = epsilon;
    clv_lbfgs *s = lt_solver(m, N, logistic_cl, Xa, ya, la, na, &param);
    double *w = (double *)calloc((size_t)n_items * N, sizeof *w), *fx = (double *)malloc((size_t)n_items * sizeof *fx);
    int *reason = (int *)malloc((size_t)n_items * sizeof *reason), *iters = (int *)malloc((size_t)n_items * sizeof *iters);
    clv_lbfgs_items out;
    memset(&out, 0, sizeof out);
    out.fx = fx;
    out.reason = reason;
    out.iterations = iters;
    TU_CHECK(clv_lbfgs_minimize(s, (size_t)n_items, w, &out, NULL, NULL) == CLV_OK, "%s", clv_lbfgs_message(s));
    double werr = 0, ferr = 0;
    int converged = 0, rounding = 0;
    for (int i = 0; i < n_items; ++i) {
        werr = fmax(werr, lt_max_abs_diff(w + (size_t)i * N, w_ref + (size_t)i * N, N));
        ferr = fmax(ferr, fabs(fx[i] - f_ref[i]) / fabs(f_ref[i]));
        converged += reason[i] == CLV_LBFGS_CONVERGENCE;
        /* below f's rounding no step decreases f: the line search ends the
         * item at its best point, as liblbfgs's rounding-error stops do */
        rounding += reason[i] == CLV_LBFGSERR_MAXIMUMLINESEARCH || reason[i] == CLV_LBFGSERR_WIDTHTOOSMALL ||
                    reason[i] == CLV_LBFGSERR_MINIMUMSTEP;
    }
    printf("  %-13s epsilon %.0e: max |w - w_newton| %.2e, max rel |f - f_newton| %.2e, median iterations %.1f, "
           "%d/%d converged, %d stopped by rounding\n", ls == CLV_LBFGS_LINESEARCH_BACKTRACKING ? "backtracking" :
           "strong Wolfe", epsilon, werr, ferr, lt_median_int(iters, (size_t)n_items), converged, n_items, rounding);
    if (epsilon > 0)
        TU_CHECK(converged + rounding == n_items, "%d of %d items converged or stopped by rounding",
                 converged + rounding, n_items);
    else
        TU_CHECK(converged == n_items, "%d of %d items converged", converged, n_items);
    if (epsilon > 0) TU_CHECK(werr < 1e-7, "weights differ from Newton's by %g", werr);
    TU_CHECK(ferr < 1e-9, "objective differs from Newton's by %g (relative)", ferr);
    clv_lbfgs_free(s);
    free(w), free(fx), free(reason), free(iters);
}

int main(void)
{
    unsigned long long seed = tu_seed();
    int n_samples = tu_small() ? 150 : 402, n_items = tu_small() ? 4 : 48; /* 402: four-sample vectors and a tail of 2 */
    clv_mesh *m = tu_open(tu_small() ? 1 : 2, NULL);
    if (!m) return 77;
    double *X = (double *)malloc((size_t)n_samples * N * sizeof *X), *y = (double *)malloc((size_t)n_samples * sizeof *y);
    double *lambda = (double *)malloc((size_t)n_items * sizeof *lambda), truth[N];
    for (int j = 0; j < N; ++j) truth[j] = lt_normal(&seed);
    for (int k = 0; k < n_samples; ++k) {
        double z = 0;
        for (int j = 0; j < N; ++j) {
            X[k * N + j] = j == N - 1 ? 1.0 : lt_normal(&seed);
            z += X[k * N + j] * truth[j];
        }
        y[k] = lt_uniform(&seed, 0, 1) < 1 / (1 + exp(-z)) ? 1.0 : 0.0;
    }
    for (int i = 0; i < n_items; ++i) lambda[i] = pow(10.0, -3.0 + 4.0 * i / (n_items > 1 ? n_items - 1 : 1));
    double *w_ref = (double *)malloc((size_t)n_items * N * sizeof *w_ref), *f_ref = (double *)malloc((size_t)n_items * sizeof *f_ref);
    for (int i = 0; i < n_items; ++i) f_ref[i] = newton(X, y, n_samples, lambda[i], w_ref + (size_t)i * N);
    int32_t ns = n_samples;
    clv_array *Xa = lt_replicated(m, CLV_F64, (size_t)n_samples, N, X), *ya = lt_replicated(m, CLV_F64, (size_t)n_samples, 1, y);
    clv_array *la = lt_replicated(m, CLV_F64, (size_t)n_items, 1, lambda), *na = lt_replicated(m, CLV_I32, 1, 1, &ns);
    printf("logistic regression: %d samples, %d weights, %d L2 weights from 1e-3 to 10, on %d device(s)\n",
           n_samples, N, n_items, clv_mesh_device_count(m));
    for (int ls = 1; ls <= 2; ++ls) {
        run(m, (clv_lbfgs_linesearch)ls, 1e-8, n_items, Xa, ya, la, na, w_ref, f_ref);
        run(m, (clv_lbfgs_linesearch)ls, 0, n_items, Xa, ya, la, na, w_ref, f_ref);
    }
    clv_array_free(Xa), clv_array_free(ya), clv_array_free(la), clv_array_free(na);
    clv_mesh_close(m);
    free(X), free(y), free(lambda), free(w_ref), free(f_ref);
    return tu_summary();
}
