/* clvmap_lbfgs against liblbfgs (the reference implementation of L-BFGS in
 * C, Okazaki after Nocedal): the same minima to tolerance, iteration counts
 * printed side by side.
 *   1. extended Rosenbrock, n = 100, from (-1.2, 1, ...) and perturbed starts;
 *   2. a batch of random strictly convex quadratics (known minimiser c);
 *   3. logistic regressions over a grid of L2 weights, from w = 0 (the
 *      benchmark's problem: most steps of 1 are accepted at once, so a line
 *      search that does not start at 1 shows here).
 * Each with clvmap's strong Wolfe (vs liblbfgs's backtracking strong Wolfe
 * and More-Thuente) and backtracking (vs liblbfgs's default backtracking,
 * LBFGS_LINESEARCH_BACKTRACKING = _WOLFE, the same algorithm: there the
 * median iteration counts must agree within 20 %). */
#include "lbfgs_test.h"
#include "objectives.h"

#include <lbfgs.h>

typedef struct host_problem {
    int kind; /* 0 Rosenbrock, 1 quadratic, 2 logistic */
    const double *A, *c;
    int iterations;
    const double *X, *y; /* logistic: samples x n features, labels */
    int n_samples;
    double lambda;
} host_problem;

static lbfgsfloatval_t host_evaluate(void *instance, const lbfgsfloatval_t *x, lbfgsfloatval_t *g, const int n,
                                     const lbfgsfloatval_t step)
{
    const host_problem *p = (const host_problem *)instance;
    (void)step;
    if (p->kind == 2) return logistic_host(p->X, p->y, p->n_samples, p->lambda, x, g, n);
    return p->kind == 0 ? rosenbrock_host(x, g, n) : quadratic_host(p->A, p->c, x, g, n);
}

static int host_progress(void *instance, const lbfgsfloatval_t *x, const lbfgsfloatval_t *g,
                         const lbfgsfloatval_t fx, const lbfgsfloatval_t xnorm, const lbfgsfloatval_t gnorm,
                         const lbfgsfloatval_t step, int n, int k, int ls)
{
    (void)x, (void)g, (void)fx, (void)xnorm, (void)gnorm, (void)step, (void)n, (void)ls;
    ((host_problem *)instance)->iterations = k;
    return 0;
}

/* liblbfgs from x (overwritten), m = 10 and epsilon 1e-5 like clvmap's defaults. */
static int run_liblbfgs(host_problem *p, double *x, int n, int linesearch, double *fx)
{
    lbfgs_parameter_t param;
    lbfgs_parameter_init(&param);
    param.m = 10;
    param.linesearch = linesearch;
    lbfgsfloatval_t *xs = lbfgs_malloc(n);
    memcpy(xs, x, (size_t)n * sizeof *xs);
    p->iterations = 0;
    int ret = lbfgs(n, xs, fx, host_evaluate, host_progress, p, &param);
    memcpy(x, xs, (size_t)n * sizeof *xs);
    lbfgs_free(xs);
    return ret;
}

typedef struct pairing {
    const char *name;
    clv_lbfgs_linesearch ours;
    int theirs;
    int same_algorithm; /* median iterations within 20 % of liblbfgs's */
} pairing;

static const pairing pairings[] = {
    { "strong Wolfe  vs liblbfgs backtracking strong Wolfe", CLV_LBFGS_LINESEARCH_STRONG_WOLFE,
      LBFGS_LINESEARCH_BACKTRACKING_STRONG_WOLFE, 0 },
    { "strong Wolfe  vs liblbfgs More-Thuente", CLV_LBFGS_LINESEARCH_STRONG_WOLFE, LBFGS_LINESEARCH_MORETHUENTE, 0 },
    { "backtracking  vs liblbfgs backtracking (Wolfe)", CLV_LBFGS_LINESEARCH_BACKTRACKING,
      LBFGS_LINESEARCH_BACKTRACKING_WOLFE, 1 },
};

static void rosenbrock(clv_mesh *m, int n_items, unsigned long long seed)
{
    enum { N = 100 };
    double *x0 = (double *)malloc((size_t)n_items * N * sizeof *x0), *x = (double *)malloc((size_t)n_items * N * sizeof *x);
    double *fx = (double *)malloc((size_t)n_items * sizeof *fx), ones[N];
    int *reason = (int *)malloc((size_t)n_items * sizeof *reason), *iters = (int *)malloc((size_t)n_items * sizeof *iters);
    for (int i = 0; i < N; ++i) ones[i] = 1;
    for (int item = 0; item < n_items; ++item)
        for (int i = 0; i < N; ++i)
            x0[item * N + i] = (i % 2 ? 1.0 : -1.2) + (item ? lt_uniform(&seed, -0.3, 0.3) : 0.0);
    printf("\nextended Rosenbrock n = %d, %d starts (item 0: (-1.2, 1, ...))\n", N, n_items);
    for (size_t k = 0; k < sizeof pairings / sizeof pairings[0]; ++k) {
        clv_lbfgs_parameter param;
        memset(&param, 0, sizeof param);
        param.linesearch = pairings[k].ours;
        clv_lbfgs *s = lt_solver(m, N, rosenbrock_cl, NULL, NULL, NULL, NULL, &param);
        clv_lbfgs_items out;
        memset(&out, 0, sizeof out);
        out.fx = fx;
        out.reason = reason;
        out.iterations = iters;
        memcpy(x, x0, (size_t)n_items * N * sizeof *x);
        int n_both = 0, ref_failed = 0, ours[64], theirs[64];
        TU_CHECK(clv_lbfgs_minimize(s, (size_t)n_items, x, &out, NULL, NULL) == CLV_OK, "minimize: %s",
                 clv_lbfgs_message(s));
        printf("  %s\n  %5s %10s %10s %6s | %10s %10s %6s\n", pairings[k].name, "item", "f clvmap", "|x-1| clv",
               "iters", "f liblbfgs", "|x-1| lib", "iters");
        for (int item = 0; item < n_items; ++item) {
            host_problem p = { 0, NULL, NULL, 0, NULL, NULL, 0, 0.0 };
            double xr[N], fr = 0;
            memcpy(xr, x0 + item * N, sizeof xr);
            int ret = run_liblbfgs(&p, xr, N, pairings[k].theirs, &fr);
            double err = lt_max_abs_diff(x + item * N, ones, N), err_ref = lt_max_abs_diff(xr, ones, N);
            if (item < 4 || item == n_items - 1)
                printf("  %5d %10.2e %10.2e %6d | %10.2e %10.2e %6d  (liblbfgs %d, clvmap %s)\n", item, fx[item],
                       err, iters[item], fr, err_ref, p.iterations, ret, clv_lbfgs_reason_string(reason[item]));
            TU_CHECK(reason[item] == CLV_LBFGS_CONVERGENCE, "Rosenbrock item %d: %s", item,
                     clv_lbfgs_reason_string(reason[item]));
            /* epsilon = 1e-5 bounds |g|, so |x - 1| ~ 1e-4 near this valley's floor */
            TU_CHECK(fx[item] < 1e-7 && err < 5e-4, "Rosenbrock item %d: f = %g, |x - 1| = %g", item, fx[item], err);
            if (ret != 0) { /* a rounding stop of liblbfgs's (not seen with these pairings) */
                ref_failed++;
                continue;
            }
            TU_CHECK(lt_max_abs_diff(x + item * N, xr, N) < 5e-4, "Rosenbrock item %d: clvmap and liblbfgs "
                     "minima differ by %g", item, lt_max_abs_diff(x + item * N, xr, N));
            TU_CHECK(iters[item] <= 2 * p.iterations + 10, "Rosenbrock item %d: %d iterations against "
                     "liblbfgs's %d", item, iters[item], p.iterations);
            ours[n_both] = iters[item];
            theirs[n_both++] = p.iterations;
        }
        if (n_both) {
            double med = lt_median_int(ours, (size_t)n_both), med_ref = lt_median_int(theirs, (size_t)n_both);
            printf("  median iterations where both converged (%d items): clvmap %.1f, liblbfgs %.1f; "
                   "liblbfgs failed on %d\n", n_both, med, med_ref, ref_failed);
            if (pairings[k].same_algorithm)
                TU_CHECK(fabs(med - med_ref) <= 0.2 * med_ref, "Rosenbrock: median iterations %g against "
                         "liblbfgs's %g with the same line search (more than 20 %% apart)", med, med_ref);
        }
        clv_lbfgs_free(s);
    }
    free(x0), free(x), free(fx), free(reason), free(iters);
}

/* A = M'M / n + 0.05 I (M standard normal), c uniform in [-2, 2]. */
static void make_quadratics(int n_items, int n, unsigned long long *seed, double *A, double *c)
{
    double *M = (double *)malloc((size_t)n * n * sizeof *M);
    for (int item = 0; item < n_items; ++item) {
        double *Ai = A + (size_t)item * n * n;
        for (int i = 0; i < n * n; ++i) M[i] = lt_normal(seed);
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j) {
                double s = 0;
                for (int k = 0; k < n; ++k) s += M[k * n + i] * M[k * n + j];
                Ai[i * n + j] = s / n + (i == j ? 0.05 : 0.0);
            }
        for (int i = 0; i < n; ++i) c[(size_t)item * n + i] = lt_uniform(seed, -2, 2);
    }
    free(M);
}

static void quadratics(clv_mesh *m, int n_items, int n, unsigned long long seed)
{
    size_t nn = (size_t)n * n;
    double *A = (double *)malloc(n_items * nn * sizeof *A), *c = (double *)malloc((size_t)n_items * n * sizeof *c);
    double *x = (double *)malloc((size_t)n_items * n * sizeof *x), *fx = (double *)malloc((size_t)n_items * sizeof *fx);
    int *reason = (int *)malloc((size_t)n_items * sizeof *reason), *iters = (int *)malloc((size_t)n_items * sizeof *iters);
    int *ref_iters = (int *)malloc((size_t)n_items * sizeof *ref_iters);
    make_quadratics(n_items, n, &seed, A, c);
    clv_array *Aa = lt_replicated(m, CLV_F64, (size_t)n_items, nn, A), *ca = lt_replicated(m, CLV_F64, (size_t)n_items, (size_t)n, c);
    printf("\n%d random quadratics, n = %d (A = M'M/n + 0.05 I), from x = 0\n", n_items, n);
    printf("  %-52s %12s %12s %9s %9s\n", "line searches", "max|x-c| clv", "max|x-c| lib", "med iters", "lib iters");
    for (size_t k = 0; k < sizeof pairings / sizeof pairings[0]; ++k) {
        clv_lbfgs_parameter param;
        memset(&param, 0, sizeof param);
        param.linesearch = pairings[k].ours;
        clv_lbfgs *s = lt_solver(m, (size_t)n, quadratic_cl, Aa, ca, NULL, NULL, &param);
        clv_lbfgs_items out;
        memset(&out, 0, sizeof out);
        out.fx = fx;
        out.reason = reason;
        out.iterations = iters;
        memset(x, 0, (size_t)n_items * n * sizeof *x);
        TU_CHECK(clv_lbfgs_minimize(s, (size_t)n_items, x, &out, NULL, NULL) == CLV_OK, "minimize: %s",
                 clv_lbfgs_message(s));
        double err = 0, err_ref = 0;
        int converged = 0;
        for (int item = 0; item < n_items; ++item) {
            host_problem p = { 1, A + item * nn, c + (size_t)item * n, 0, NULL, NULL, 0, 0.0 };
            double *xr = (double *)calloc((size_t)n, sizeof *xr), fr;
            run_liblbfgs(&p, xr, n, pairings[k].theirs, &fr);
            ref_iters[item] = p.iterations;
            err = fmax(err, lt_max_abs_diff(x + (size_t)item * n, c + (size_t)item * n, (size_t)n));
            err_ref = fmax(err_ref, lt_max_abs_diff(xr, c + (size_t)item * n, (size_t)n));
            converged += reason[item] == CLV_LBFGS_CONVERGENCE;
            free(xr);
        }
        double med = lt_median_int(iters, (size_t)n_items), med_ref = lt_median_int(ref_iters, (size_t)n_items);
        printf("  %-52s %12.2e %12.2e %9.1f %9.1f\n", pairings[k].name, err, err_ref, med, med_ref);
        TU_CHECK(converged == n_items, "quadratics: %d of %d converged", converged, n_items);
        TU_CHECK(err < 1e-3, "quadratics: max |x - c| = %g", err);
        TU_CHECK(med <= 1.5 * med_ref + 5, "quadratics: median iterations %g against liblbfgs's %g", med, med_ref);
        if (pairings[k].same_algorithm)
            TU_CHECK(fabs(med - med_ref) <= 0.2 * med_ref, "quadratics: median iterations %g against liblbfgs's "
                     "%g with the same line search (more than 20 %% apart)", med, med_ref);
        clv_lbfgs_free(s);
    }
    clv_array_free(Aa);
    clv_array_free(ca);
    free(A), free(c), free(x), free(fx), free(reason), free(iters), free(ref_iters);
}

/* Logistic regressions (n - 1 standard normal features and a bias, labels
 * drawn from a logistic model), L2 weights log-spaced 1e-3 .. 10. */
static void logistic(clv_mesh *m, int n_items, int n_samples, int n, unsigned long long seed)
{
    double *X = (double *)malloc((size_t)n_samples * n * sizeof *X), *y = (double *)malloc((size_t)n_samples * sizeof *y);
    double *lambda = (double *)malloc((size_t)n_items * sizeof *lambda), *truth = (double *)malloc((size_t)n * sizeof *truth);
    double *w = (double *)malloc((size_t)n_items * n * sizeof *w), *fx = (double *)malloc((size_t)n_items * sizeof *fx);
    double *wr = (double *)malloc((size_t)n * sizeof *wr);
    int *reason = (int *)malloc((size_t)n_items * sizeof *reason), *iters = (int *)malloc((size_t)n_items * sizeof *iters);
    int *ref_iters = (int *)malloc((size_t)n_items * sizeof *ref_iters);
    for (int j = 0; j < n; ++j) truth[j] = lt_normal(&seed);
    for (int k = 0; k < n_samples; ++k) {
        double z = 0;
        for (int j = 0; j < n; ++j) {
            X[k * n + j] = j == n - 1 ? 1.0 : lt_normal(&seed);
            z += X[k * n + j] * truth[j];
        }
        y[k] = lt_uniform(&seed, 0, 1) < 1 / (1 + exp(-z)) ? 1.0 : 0.0;
    }
    for (int i = 0; i < n_items; ++i) lambda[i] = pow(10.0, -3.0 + 4.0 * i / (n_items > 1 ? n_items - 1 : 1));
    int32_t ns = n_samples;
    clv_array *Xa = lt_replicated(m, CLV_F64, (size_t)n_samples, (size_t)n, X);
    clv_array *ya = lt_replicated(m, CLV_F64, (size_t)n_samples, 1, y);
    clv_array *la = lt_replicated(m, CLV_F64, (size_t)n_items, 1, lambda), *na = lt_replicated(m, CLV_I32, 1, 1, &ns);
    printf("\n%d logistic regressions, %d samples, n = %d, L2 weights 1e-3 .. 10, from w = 0\n", n_items, n_samples, n);
    printf("  %-52s %12s %9s %9s\n", "line searches", "max|w-w_lib|", "med iters", "lib iters");
    for (size_t k = 0; k < sizeof pairings / sizeof pairings[0]; ++k) {
        clv_lbfgs_parameter param;
        memset(&param, 0, sizeof param);
        param.linesearch = pairings[k].ours;
        clv_lbfgs *s = lt_solver(m, (size_t)n, logistic_cl, Xa, ya, la, na, &param);
        clv_lbfgs_items out;
        memset(&out, 0, sizeof out);
        out.fx = fx;
        out.reason = reason;
        out.iterations = iters;
        memset(w, 0, (size_t)n_items * n * sizeof *w);
        TU_CHECK(clv_lbfgs_minimize(s, (size_t)n_items, w, &out, NULL, NULL) == CLV_OK, "minimize: %s",
                 clv_lbfgs_message(s));
        double err = 0;
        int converged = 0;
        for (int item = 0; item < n_items; ++item) {
            host_problem p = { 2, NULL, NULL, 0, X, y, n_samples, lambda[item] };
            double fr;
            memset(wr, 0, (size_t)n * sizeof *wr);
            TU_CHECK(run_liblbfgs(&p, wr, n, pairings[k].theirs, &fr) == 0, "logistic item %d: liblbfgs failed", item);
            ref_iters[item] = p.iterations;
            err = fmax(err, lt_max_abs_diff(w + (size_t)item * n, wr, (size_t)n));
            converged += reason[item] == CLV_LBFGS_CONVERGENCE;
        }
        double med = lt_median_int(iters, (size_t)n_items), med_ref = lt_median_int(ref_iters, (size_t)n_items);
        printf("  %-52s %12.2e %9.1f %9.1f\n", pairings[k].name, err, med, med_ref);
        TU_CHECK(converged == n_items, "logistic: %d of %d converged", converged, n_items);
        /* both stop at |g| <= 1e-5 |w| on a strongly convex f: close minima */
        TU_CHECK(err < 1e-3, "logistic: max |w - w_liblbfgs| = %g", err);
        if (pairings[k].same_algorithm)
            TU_CHECK(fabs(med - med_ref) <= 0.2 * med_ref, "logistic: median iterations %g against liblbfgs's "
                     "%g with the same line search (more than 20 %% apart)", med, med_ref);
        clv_lbfgs_free(s);
    }
    clv_array_free(Xa), clv_array_free(ya), clv_array_free(la), clv_array_free(na);
    free(X), free(y), free(lambda), free(truth), free(w), free(fx), free(wr), free(reason), free(iters), free(ref_iters);
}

int main(void)
{
    unsigned long long seed = tu_seed();
    clv_mesh *m = tu_open(1, NULL);
    if (!m) return 77;
    rosenbrock(m, tu_small() ? 2 : 16, seed);
    quadratics(m, tu_small() ? 4 : 64, tu_small() ? 6 : 20, seed + 1);
    logistic(m, tu_small() ? 8 : 64, tu_small() ? 50 : 254, 8, seed + 2);
    clv_mesh_close(m);
    return tu_summary();
}
