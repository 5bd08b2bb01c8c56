/* Test objectives for the lbfgs suite, each twice: as OpenCL C for
 * clvmap_lbfgs and as host C (double) for liblbfgs and the references.
 * The two spell the same sums in the same order. */
#ifndef LBFGS_TEST_OBJECTIVES_H
#define LBFGS_TEST_OBJECTIVES_H

#include <math.h>
#include <stddef.h>

/* A chained Rosenbrock whose coupling b is an OpenCL C expression of item
 * and data (a string literal), e.g. "data.real[0][item]": sum over i of
 * b (x_{i+1} - x_i^2)^2 + (1 - x_i)^2, minimum 0 at x = 1 (the manual's
 * objective, with b per item). OpenCL C only: a macro, so that each test
 * spells its b without a copy of the sums. */
#define ROSENBROCK_CHAINED_CL(b)                                                     \
    "clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g,\n" \
    "                             ulong item, clv_lbfgs_data data) {\n"                \
    "    const clv_real b = " b ";\n"                                                  \
    "    clv_real f = 0;\n"                                                            \
    "    for (int i = 0; i < CLV_LBFGS_N; ++i) g[i] = 0;\n"                            \
    "    for (int i = 0; i + 1 < CLV_LBFGS_N; ++i) {\n"                                \
    "        const clv_real t = x[i + 1] - x[i] * x[i], u = 1 - x[i];\n"               \
    "        f += b * t * t + u * u;\n"                                                \
    "        g[i] += -4 * b * x[i] * t - 2 * u;\n"                                     \
    "        g[i + 1] += 2 * b * t;\n"                                                 \
    "    }\n"                                                                          \
    "    return f;\n"                                                                  \
    "}\n"

#ifndef LBFGS_TEST_NO_ROSENBROCK
/* Extended Rosenbrock, as liblbfgs's sample.c: pairs (x[i], x[i+1]), i even:
 * (1 - x_i)^2 + 100 (x_{i+1} - x_i^2)^2. Minimum 0 at x = 1. */
static const char *rosenbrock_cl =
    "clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g,\n"
    "                             ulong item, clv_lbfgs_data data) {\n"
    "    clv_real f = 0;\n"
    "    for (int i = 0; i + 1 < CLV_LBFGS_N; i += 2) {\n"
    "        const clv_real t1 = 1 - x[i], t2 = 10 * (x[i + 1] - x[i] * x[i]);\n"
    "        g[i + 1] = 20 * t2;\n"
    "        g[i] = -2 * (x[i] * g[i + 1] + t1);\n"
    "        f += t1 * t1 + t2 * t2;\n"
    "    }\n"
    "    return f;\n"
    "}\n";

static inline double rosenbrock_host(const double *x, double *g, int n)
{
    double f = 0;
    for (int i = 0; i + 1 < n; i += 2) {
        double t1 = 1 - x[i], t2 = 10 * (x[i + 1] - x[i] * x[i]);
        g[i + 1] = 20 * t2;
        g[i] = -2 * (x[i] * g[i + 1] + t1);
        f += t1 * t1 + t2 * t2;
    }
    return f;
}
#endif

#ifndef LBFGS_TEST_NO_QUADRATIC
/* Quadratic per item: f = 1/2 (x - c)' A (x - c), A = data.real[0] (B x n x n,
 * symmetric positive definite), c = data.real[1] (B x n). */
static const char *quadratic_cl =
    "clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g,\n"
    "                             ulong item, clv_lbfgs_data data) {\n"
    "    __global const clv_real *A = data.real[0] + item * CLV_LBFGS_N * CLV_LBFGS_N;\n"
    "    __global const clv_real *c = data.real[1] + item * CLV_LBFGS_N;\n"
    "    clv_real f = 0;\n"
    "    for (int i = 0; i < CLV_LBFGS_N; ++i) {\n"
    "        clv_real s = 0;\n"
    "        for (int j = 0; j < CLV_LBFGS_N; ++j) s += A[i * CLV_LBFGS_N + j] * (x[j] - c[j]);\n"
    "        g[i] = s;\n"
    "        f += (x[i] - c[i]) * s;\n"
    "    }\n"
    "    return f / 2;\n"
    "}\n";

static inline double quadratic_host(const double *A, const double *c, const double *x, double *g, int n)
{
    double f = 0;
    for (int i = 0; i < n; ++i) {
        double s = 0;
        for (int j = 0; j < n; ++j) s += A[i * n + j] * (x[j] - c[j]);
        g[i] = s;
        f += (x[i] - c[i]) * s;
    }
    return f / 2;
}
#endif

#ifndef LBFGS_TEST_NO_LOGISTIC
/* L2-regularised logistic regression per item: data.real[0] = features
 * (n_samples x n, shared), data.real[1] = labels in {0, 1} (n_samples),
 * data.real[2] = the item's L2 weight (B). data.integer[0][0] = n_samples.
 * f = sum_k log(1 + e^{z_k}) - y_k z_k + lambda/2 |w|^2, z_k = X_k . w,
 * with log(1 + e^z) computed stably. Four samples at a time: exp and log1p
 * on clv_real4 (PoCL 3.1 runs its vector double exp/log1p about 4x faster
 * per element than the scalar ones, which dominate this objective); each
 * sum is still taken in sample order, as the host version does. */
static const char *logistic_cl =
    "clv_real clv_lbfgs_objective(__global const clv_real *w, __global clv_real *g,\n"
    "                             ulong item, clv_lbfgs_data data) {\n"
    "    __global const clv_real *X = data.real[0], *y = data.real[1];\n"
    "    const clv_real lambda = data.real[2][item];\n"
    "    const int n_samples = data.integer[0][0];\n"
    "    const int N = CLV_LBFGS_N;\n"
    "    clv_real f = 0;\n"
    "    for (int j = 0; j < N; ++j) {\n"
    "        g[j] = lambda * w[j];\n"
    "        f += lambda * w[j] * w[j] / 2;\n"
    "    }\n"
    "    int k = 0;\n"
    "    for (; k + 4 <= n_samples; k += 4) {\n"
    "        __global const clv_real *xk = X + k * N;\n"
    "        clv_real4 z = (clv_real4)(0);\n"
    "        for (int j = 0; j < N; ++j) z += (clv_real4)(xk[j], xk[N + j], xk[2 * N + j], xk[3 * N + j]) * w[j];\n"
    "        const clv_real4 yk = vload4(0, y + k), e = exp(-fabs(z)), l = log1p(e);\n"
    "        const clv_real4 loss = fmax(z, (clv_real4)(0)) + l - yk * z;\n"
    "        const clv_real4 r = select(e / (1 + e), 1 / (1 + e), z >= 0) - yk;  /* sigmoid(z) - y */\n"
    "        f += loss.s0;\n"
    "        f += loss.s1;\n"
    "        f += loss.s2;\n"
    "        f += loss.s3;\n"
    "        for (int j = 0; j < N; ++j) {\n"
    "            g[j] += r.s0 * xk[j];\n"
    "            g[j] += r.s1 * xk[N + j];\n"
    "            g[j] += r.s2 * xk[2 * N + j];\n"
    "            g[j] += r.s3 * xk[3 * N + j];\n"
    "        }\n"
    "    }\n"
    "    for (; k < n_samples; ++k) {  /* the last n_samples % 4 */\n"
    "        __global const clv_real *xk = X + k * N;\n"
    "        clv_real z = 0;\n"
    "        for (int j = 0; j < N; ++j) z += xk[j] * w[j];\n"
    "        const clv_real e = exp(-fabs(z));\n"
    "        f += fmax(z, (clv_real)0) + log1p(e) - y[k] * z;\n"
    "        const clv_real p = z >= 0 ? 1 / (1 + e) : e / (1 + e);  /* sigmoid(z) */\n"
    "        for (int j = 0; j < N; ++j) g[j] += (p - y[k]) * xk[j];\n"
    "    }\n"
    "    return f;\n"
    "}\n";

static inline double logistic_host(const double *X, const double *y, int n_samples, double lambda,
                                   const double *w, double *g, int n)
{
    double f = 0;
    for (int j = 0; j < n; ++j) {
        g[j] = lambda * w[j];
        f += lambda * w[j] * w[j] / 2;
    }
    for (int k = 0; k < n_samples; ++k) {
        const double *xk = X + (size_t)k * n;
        double z = 0;
        for (int j = 0; j < n; ++j) z += xk[j] * w[j];
        double e = exp(-fabs(z));
        f += fmax(z, 0.0) + log1p(e) - y[k] * z;
        double p = z >= 0 ? 1 / (1 + e) : e / (1 + e);
        for (int j = 0; j < n; ++j) g[j] += (p - y[k]) * xk[j];
    }
    return f;
}
#endif

#ifdef LBFGS_TEST_COOPERATIVE /* opt in: only their users see them */
/* ---- cooperative objectives (clv_lbfgs_objective.cooperative) -------------
 * Plain scalar code, no vector types: every lane of the item's work group
 * takes a strided share (CLV_GROUP_FOR) and clv_group_sum / _sum_n combine
 * the shares. Each comes with its one-work-item twin (the same terms, one
 * loop over everything). */

#ifndef LBFGS_TEST_NO_GAUSS_AR1
/* A 1000-d (any n) Gaussian: the negative log density of a stationary AR(1)
 * process of unit variance and correlation rho = data.real[0][item] around
 * the mean mu = data.real[1] + item n, up to a constant:
 *   f = 1/2 r' P r, r = x - mu, P = tridiag(-rho, 1 + rho^2, -rho) / (1 - rho^2)
 *   with 1 instead of 1 + rho^2 in the two corners.
 * Minimum exactly at mu (f = 0); P's condition number ((1+rho)/(1-rho))^2. */
#define GAUSS_AR1_TERM                                                                   \
    "        const clv_real r = x[i] - mu[i];\n"                                              \
    "        const clv_real left = i > 0 ? x[i - 1] - mu[i - 1] : (clv_real)0;\n"              \
    "        const clv_real right = i + 1 < CLV_LBFGS_N ? x[i + 1] - mu[i + 1] : (clv_real)0;\n" \
    "        const clv_real a = i == 0 || i + 1 == CLV_LBFGS_N ? (clv_real)1 : 1 + rho * rho;\n" \
    "        const clv_real gi = c * (a * r - rho * (left + right));\n"                       \
    "        g[i] = gi;\n"                                                                     \
    "        f += r * gi;\n"
#define GAUSS_AR1_HEAD                                                                   \
    "    const clv_real rho = data.real[0][item], c = 1 / (1 - rho * rho);\n"                 \
    "    __global const clv_real *mu = data.real[1] + item * CLV_LBFGS_N;\n"                  \
    "    clv_real f = 0;\n"

static const char *gauss_ar1_cl =
    "clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g,\n"
    "                             ulong item, clv_lbfgs_data data) {\n"
    GAUSS_AR1_HEAD
    "    for (int i = 0; i < CLV_LBFGS_N; ++i) {\n"
    GAUSS_AR1_TERM
    "    }\n"
    "    return f / 2;\n"
    "}\n";

static const char *gauss_ar1_coop_cl =
    "clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g,\n"
    "                             ulong item, clv_lbfgs_data data, __local clv_real *tmp) {\n"
    GAUSS_AR1_HEAD
    "    CLV_GROUP_FOR(i, CLV_LBFGS_N) {  /* lane l: elements l, l + L, ... */\n"
    GAUSS_AR1_TERM
    "    }\n"
    "    return clv_group_sum(f, tmp) / 2;\n"
    "}\n";

#endif

#ifndef LBFGS_TEST_NO_LOGISTIC_SCALAR
/* L2-regularised logistic regression over n_samples = data.integer[0][0]
 * observations (X = data.real[0], n_samples x n; y = data.real[1] in
 * {0, 1}; lambda = data.real[2][item]), as logistic_cl, in plain scalar
 * code: one observation's terms (LOGISTIC_TERM) added to f and gp[0..n-1]. */
#define LOGISTIC_TERM                                                                    \
    "        __global const clv_real *xk = X + (size_t)k * CLV_LBFGS_N;\n"                    \
    "        clv_real z = 0;\n"                                                                \
    "        for (int j = 0; j < CLV_LBFGS_N; ++j) z += xk[j] * w[j];\n"                       \
    "        const clv_real e = exp(-fabs(z));\n"                                              \
    "        f += fmax(z, (clv_real)0) + log1p(e) - y[k] * z;\n"                               \
    "        const clv_real r = (z >= 0 ? 1 / (1 + e) : e / (1 + e)) - y[k];  /* sigmoid - y */\n" \
    "        for (int j = 0; j < CLV_LBFGS_N; ++j) gp[j] += r * xk[j];\n"
#define LOGISTIC_HEAD                                                                    \
    "    __global const clv_real *X = data.real[0], *y = data.real[1];\n"                     \
    "    const clv_real lambda = data.real[2][item];\n"                                        \
    "    const int n_samples = data.integer[0][0];\n"

/* One work item per problem, scalar (no clv_real4): g itself holds the sums. */
static const char *logistic_plain_cl =
    "clv_real clv_lbfgs_objective(__global const clv_real *w, __global clv_real *g,\n"
    "                             ulong item, clv_lbfgs_data data) {\n"
    LOGISTIC_HEAD
    "    __global clv_real *gp = g;\n"
    "    clv_real f = 0;\n"
    "    for (int j = 0; j < CLV_LBFGS_N; ++j) gp[j] = 0;\n"
    "    for (int k = 0; k < n_samples; ++k) {\n"
    LOGISTIC_TERM
    "    }\n"
    "    for (int j = 0; j < CLV_LBFGS_N; ++j) {\n"
    "        g[j] += lambda * w[j];\n"
    "        f += lambda * w[j] * w[j] / 2;\n"
    "    }\n"
    "    return f;\n"
    "}\n";

/* Cooperative: lane l sums observations l, l + L, ... into its private
 * gp[0..n-1] and gp[n] (the loss), one clv_group_sum_n adds the lanes'
 * shares (tmp_elems = n + 1), and each lane writes its elements of g. */
static const char *logistic_coop_cl =
    "clv_real clv_lbfgs_objective(__global const clv_real *w, __global clv_real *g,\n"
    "                             ulong item, clv_lbfgs_data data, __local clv_real *tmp) {\n"
    LOGISTIC_HEAD
    "    clv_real gp[CLV_LBFGS_N + 1];\n"
    "    for (int j = 0; j <= CLV_LBFGS_N; ++j) gp[j] = 0;\n"
    "    CLV_GROUP_BLOCK(k, n_samples) {\n"
    "        clv_real f = 0;\n"
    LOGISTIC_TERM
    "        gp[CLV_LBFGS_N] += f;\n"
    "    }\n"
    "    clv_group_sum_n(gp, CLV_LBFGS_N + 1, tmp);\n"
    "    clv_real f = gp[CLV_LBFGS_N];\n"
    "    for (int j = 0; j < CLV_LBFGS_N; ++j) f += lambda * w[j] * w[j] / 2;\n"
    "    CLV_GROUP_FOR(j, CLV_LBFGS_N) g[j] = gp[j] + lambda * w[j];\n"
    "    return f;\n"
    "}\n";
#endif
#endif

#endif
