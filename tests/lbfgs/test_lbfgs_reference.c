/* clvmap_lbfgs against liblbfgs (the reference implementation of L-BFGS in
 * C, Okazaki after Nocedal): the same minima to tolerance, iteration counts
 * printed side by side.
 *   1. extended Rosenbrock, n = 100, from (-1.2, 1, ...) and perturbed starts;
 *   2. a batch of random strictly convex quadratics (known minimiser c).
 * Each with clvmap's strong Wolfe (vs liblbfgs's backtracking strong Wolfe
 * and More-Thuente) and backtracking Armijo (vs liblbfgs's Armijo). */
#include "lbfgs_test.h"
#define LBFGS_TEST_NO_LOGISTIC
#include "objectives.h"

#include <lbfgs.h>

typedef struct host_problem {
    int kind; /* 0 Rosenbrock, 1 quadratic */
    const double *A, *c;
    int iterations;
} host_problem;

static lbfgsfloatval_t host_evaluate(void *instance, const lbfgsfloatval_t *x, lbfgsfloatval_t *g, const int n,
                                     const lbfgsfloatval_t step)
{
    const host_problem *p = (const host_problem *)instance;
    (void)step;
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
} pairing;

static const pairing pairings[] = {
    { "strong Wolfe  vs liblbfgs backtracking strong Wolfe", CLV_LBFGS_LINESEARCH_STRONG_WOLFE,
      LBFGS_LINESEARCH_BACKTRACKING_STRONG_WOLFE },
    { "strong Wolfe  vs liblbfgs More-Thuente", CLV_LBFGS_LINESEARCH_STRONG_WOLFE, LBFGS_LINESEARCH_MORETHUENTE },
    { "backtracking  vs liblbfgs backtracking Armijo", CLV_LBFGS_LINESEARCH_BACKTRACKING,
      LBFGS_LINESEARCH_BACKTRACKING_ARMIJO },
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
            host_problem p = { 0, NULL, NULL, 0 };
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
            if (ret != 0) { /* liblbfgs's Armijo keeps pairs with s'y < 0 and stalls */
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
        if (n_both)
            printf("  median iterations where both converged (%d items): clvmap %.1f, liblbfgs %.1f; "
                   "liblbfgs failed on %d\n", n_both, lt_median_int(ours, (size_t)n_both),
                   lt_median_int(theirs, (size_t)n_both), ref_failed);
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
            host_problem p = { 1, A + item * nn, c + (size_t)item * n, 0 };
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
        clv_lbfgs_free(s);
    }
    clv_array_free(Aa);
    clv_array_free(ca);
    free(A), free(c), free(x), free(fx), free(reason), free(iters), free(ref_iters);
}

int main(void)
{
    unsigned long long seed = tu_seed();
    clv_mesh *m = tu_open(1, NULL);
    if (!m) return 77;
    rosenbrock(m, tu_small() ? 2 : 16, seed);
    quadratics(m, tu_small() ? 4 : 64, tu_small() ? 6 : 20, seed + 1);
    clv_mesh_close(m);
    return tu_summary();
}
