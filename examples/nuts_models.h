/* Models shared by examples/nuts.c, the NUTS tests and tests/bench/nuts_bench.c:
 * OpenCL C log densities with hand-written gradients, their data (made here
 * from a fixed seed, so every program and tests/bench/nuts_ref.py see the
 * same numbers: nuts_bench --dump-data writes them out), and exact
 * references where the posterior is known in closed form or by quadrature.
 *
 *   normal         the BlackJAX multiple-chains how-to: 1000 draws of
 *                  N(10, 20^2); parameters (loc, log_scale), flat priors on
 *                  loc and scale (the how-to's log Jacobian): a conjugate
 *                  posterior (Student-t loc, inverse-gamma scale^2).
 *   gauss          a D-d correlated Gaussian (default D = 100): scales
 *                  exp(linspace(-1, 1)), AR(1) correlation 0.9, dense
 *                  precision matrix as the data.
 *   eight_schools  non-centred (Rubin 1981; Stan's and posteriordb's
 *                  eight_schools_noncentered): mu ~ N(0, 5), tau ~ C+(0, 5),
 *                  theta_tilde ~ N(0, 1); parameters (mu, log tau, theta_tilde);
 *                  generated quantities tau and theta[j] = mu + tau theta_tilde[j].
 *   logistic       logistic regression, 1000 rows, intercept + 9 N(0,1)
 *                  features, beta ~ N(0, 1) prior, labels drawn from fixed betas.
 *   funnel         Neal's funnel, centred: v ~ N(0, 3), x_i ~ N(0, exp(v/2)), 9 x's.
 *   logistic_plain logistic regression as a user first writes it: plain scalar
 *                  OpenCL C, one work item per chain; N observations (default
 *                  10^4), D coefficients (--dim, default 20), data as logistic.
 *   logistic_vec   the same model, hand-vectorised (logistic's clv_real4 code,
 *                  N a multiple of 4).
 *   logistic_coop  the same model in the cooperative form
 *                  (clv_nuts_model.cooperative): the chain's work group shares
 *                  the observations, clv_group_sum combines them. Plain
 *                  scalar code too: no vector types.
 *   logistic_coop_cols  the cooperative form with X stored by columns, for
 *                  runtimes that run a group's lanes side by side (Intel's
 *                  CPU runtime, GPUs). */
#ifndef NUTS_MODELS_H
#define NUTS_MODELS_H

#include "clvmap_nuts.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct nuts_model_def {
    char name[32];
    const char *source;
    int dim;
    double *data;          /* malloc'ed; free with nuts_model_free */
    size_t n_data;
    char options[128];
    char **names;          /* dim parameter names (CmdStan style) */
    int cooperative;       /* clv_nuts_model.cooperative */
    int x_by_columns;      /* logistic_coop_cols: data holds X[k][i] (then y) */
    int n_generated;       /* clv_nuts_model.n_generated (eight_schools: tau, theta[1..8]) */
    char **generated_names;
} nuts_model_def;

/* The clv_nuts_model for a built-in model (it points into def). */
static inline clv_nuts_model nuts_model_desc(const nuts_model_def *def)
{
    clv_nuts_model model;
    memset(&model, 0, sizeof model);
    model.source = def->source;
    model.name = def->name;
    model.dim = def->dim;
    model.data = def->data;
    model.n_data = def->n_data;
    model.options = def->options;
    model.cooperative = def->cooperative;
    model.n_generated = def->n_generated;
    model.generated_names = (const char *const *)def->generated_names;
    return model;
}

/* ---- deterministic host random numbers (splitmix64 + Box-Muller) ---------- */

static inline uint64_t nuts_models_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline double nuts_models_uniform(uint64_t *s)
{
    return ((double)(nuts_models_next(s) >> 11) + 0.5) * 0x1.0p-53;
}

static inline double nuts_models_normal(uint64_t *s)
{
    double u1 = nuts_models_uniform(s), u2 = nuts_models_uniform(s);
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- sources ---------------------------------------------------------------- */

/* The sums run over clv_real4 (vload4): PoCL does not vectorise a scalar
 * floating-point reduction by itself (that would reassociate it), and one
 * work item is one chain, so SIMD has to come from the model. */
static const char *nuts_models_normal_src =
    "clv_real logdensity(__global const clv_real *x, __global clv_real *grad,\n"
    "                    __global const clv_real *y) {\n"
    "    const clv_real loc = x[0], log_scale = x[1];\n"
    "    const clv_real inv_var = exp(-2 * log_scale);\n"
    "    clv_real4 s1 = 0, s2 = 0;\n"
    "    int i = 0;\n"
    "    for (; i + 4 <= N_OBS; i += 4) {\n"
    "        const clv_real4 d = vload4(0, y + i) - loc;\n"
    "        s1 += d;\n"
    "        s2 += d * d;\n"
    "    }\n"
    "    clv_real g_loc = s1.x + s1.y + s1.z + s1.w, ss = s2.x + s2.y + s2.z + s2.w;\n"
    "    for (; i < N_OBS; ++i) { const clv_real d = y[i] - loc; g_loc += d; ss += d * d; }\n"
    "    const clv_real g_ls = ss * inv_var;\n"
    "    clv_real lp = -0.5 * g_ls - N_OBS * log_scale;\n"
    "    lp += log_scale;                        /* log Jacobian of scale = exp(log_scale) */\n"
    "    grad[0] = g_loc * inv_var;\n"
    "    grad[1] = g_ls - N_OBS + 1;\n"
    "    return lp;\n"
    "}\n";

static const char *nuts_models_gauss_src =
    "clv_real logdensity(__global const clv_real *x, __global clv_real *grad,\n"
    "                    __global const clv_real *precision) {\n"
    "    clv_real lp = 0;\n"
    "    for (int i = 0; i < CLV_NUTS_DIM; ++i) {\n"
    "        __global const clv_real *row = precision + i * CLV_NUTS_DIM;\n"
    "        clv_real4 acc = 0;\n"
    "        int j = 0;\n"
    "        for (; j + 4 <= CLV_NUTS_DIM; j += 4) acc += vload4(0, row + j) * vload4(0, x + j);\n"
    "        clv_real px = acc.x + acc.y + acc.z + acc.w;\n"
    "        for (; j < CLV_NUTS_DIM; ++j) px += row[j] * x[j];\n"
    "        grad[i] = -px;\n"
    "        lp -= 0.5 * x[i] * px;\n"
    "    }\n"
    "    return lp;\n"
    "}\n";

static const char *nuts_models_schools_src =
    "clv_real logdensity(__global const clv_real *x, __global clv_real *grad,\n"
    "                    __global const clv_real *data) {   /* y[8], sigma[8] */\n"
    "    const clv_real mu = x[0], log_tau = x[1], tau = exp(log_tau);\n"
    "    clv_real lp = -mu * mu / 50 - log1p(tau * tau / 25) + log_tau;\n"
    "    clv_real g_mu = -mu / 25, g_tau = -2 * tau / 25 / (1 + tau * tau / 25);\n"
    "    for (int j = 0; j < 8; ++j) {\n"
    "        const clv_real tt = x[2 + j], s = data[8 + j];\n"
    "        const clv_real r = (data[j] - mu - tau * tt) / (s * s);\n"
    "        lp -= 0.5 * tt * tt + 0.5 * r * r * s * s;\n"
    "        g_mu += r;\n"
    "        g_tau += r * tt;\n"
    "        grad[2 + j] = -tt + tau * r;\n"
    "    }\n"
    "    grad[0] = g_mu;\n"
    "    grad[1] = tau * g_tau + 1;\n"
    "    return lp;\n"
    "}\n"
    "/* the constrained parameters (Stan's transformed parameters): tau, theta[1..8] */\n"
    "void generated(__global const clv_real *z, __global clv_real *out, __global const clv_real *data) {\n"
    "    const clv_real tau = exp(z[1]);\n"
    "    out[0] = tau;\n"
    "    for (int j = 0; j < 8; ++j) out[1 + j] = z[0] + tau * z[2 + j];\n"
    "}\n";

/* Four rows at a time so that exp and log1p run on clv_real4 (PoCL's
 * vector math), one exp per row shared by the softplus and the sigmoid. */
static const char *nuts_models_logistic_src =
    "clv_real logdensity(__global const clv_real *beta, __global clv_real *grad,\n"
    "                    __global const clv_real *data) {   /* X[N_OBS][DIM], then y[N_OBS] */\n"
    "    clv_real lp = 0;\n"
    "    for (int k = 0; k < CLV_NUTS_DIM; ++k) {\n"
    "        lp -= 0.5 * beta[k] * beta[k];\n"
    "        grad[k] = -beta[k];\n"
    "    }\n"
    "    __global const clv_real *y = data + N_OBS * CLV_NUTS_DIM;\n"
    "    for (int i = 0; i < N_OBS; i += 4) {   /* N_OBS % 4 == 0 */\n"
    "        __global const clv_real *row = data + i * CLV_NUTS_DIM;\n"
    "        clv_real4 eta = 0;\n"
    "        for (int k = 0; k < CLV_NUTS_DIM; ++k)\n"
    "            eta += (clv_real4)(row[k], row[CLV_NUTS_DIM + k], row[2 * CLV_NUTS_DIM + k],\n"
    "                               row[3 * CLV_NUTS_DIM + k]) * beta[k];\n"
    "        /* y eta - log(1 + e^eta) stably; d/d eta = y - sigmoid(eta) */\n"
    "        const clv_real4 e = exp(-fabs(eta)), yv = vload4(0, y + i);\n"
    "        const clv_real4 softplus = fmax(eta, (clv_real4)0) + log1p(e);\n"
    "        const clv_real4 sig = select(e / (1 + e), 1 / (1 + e), eta >= 0);\n"
    "        const clv_real4 lpv = yv * eta - softplus, resid = yv - sig;\n"
    "        lp += lpv.x + lpv.y + lpv.z + lpv.w;\n"
    "        for (int k = 0; k < CLV_NUTS_DIM; ++k)\n"
    "            grad[k] += resid.x * row[k] + resid.y * row[CLV_NUTS_DIM + k] +\n"
    "                       resid.z * row[2 * CLV_NUTS_DIM + k] + resid.w * row[3 * CLV_NUTS_DIM + k];\n"
    "    }\n"
    "    return lp;\n"
    "}\n";

/* Plain scalar code: what a user writes first (one work item per chain). */
static const char *nuts_models_logistic_plain_src =
    "clv_real logdensity(__global const clv_real *beta, __global clv_real *grad,\n"
    "                    __global const clv_real *data) {   /* X[N_OBS][DIM], then y[N_OBS] */\n"
    "    __global const clv_real *y = data + N_OBS * CLV_NUTS_DIM;\n"
    "    clv_real lp = 0;\n"
    "    for (int k = 0; k < CLV_NUTS_DIM; ++k) {\n"
    "        lp -= 0.5 * beta[k] * beta[k];\n"
    "        grad[k] = -beta[k];\n"
    "    }\n"
    "    for (int i = 0; i < N_OBS; ++i) {\n"
    "        __global const clv_real *row = data + i * CLV_NUTS_DIM;\n"
    "        clv_real eta = 0;\n"
    "        for (int k = 0; k < CLV_NUTS_DIM; ++k) eta += row[k] * beta[k];\n"
    "        const clv_real e = exp(-fabs(eta));\n"
    "        lp += y[i] * eta - (fmax(eta, (clv_real)0) + log1p(e));\n"
    "        const clv_real resid = y[i] - (eta >= 0 ? 1 / (1 + e) : e / (1 + e));\n"
    "        for (int k = 0; k < CLV_NUTS_DIM; ++k) grad[k] += resid * row[k];\n"
    "    }\n"
    "    return lp;\n"
    "}\n";

/* The same model, cooperative: every lane of the chain's group takes a
 * share of the observations, keeps its share of the gradient, and the
 * group sums them. Two layouts of X:
 *   - logistic_coop: X by rows (X[i][k], as the other forms), each lane a
 *     contiguous block of rows (CLV_GROUP_BLOCK: one pass over X on a CPU,
 *     where the interleaved CLV_GROUP_FOR made one pass per lane);
 *   - logistic_coop_cols: X by columns (X[k][i], -DX_BY_COLUMNS), rows
 *     interleaved (CLV_GROUP_FOR), so that lanes running side by side read
 *     neighbouring addresses (vector loads on Intel's runtime, coalesced
 *     reads on a GPU) where rows read by such lanes take gathers.
 * The gradient's shares are a private array while it fits in registers
 * (up to 32 values), or wherever the lanes run in turn; beyond that, on
 * runtimes that vectorise across the lanes, a table in tmp (one slot per
 * lane and coefficient): the same additions in the same order, so the same
 * bits, without the spills. */
static const char *nuts_models_logistic_coop_src =
    "#ifndef SHARES_PRIVATE   /* -DSHARES_PRIVATE=0 or 1 picks a form (the tests do) */\n"
    "#define SHARES_PRIVATE (CLV_LANES_IN_TURN || CLV_NUTS_DIM <= 32)\n"
    "#endif\n"
    "#if SHARES_PRIVATE\n"
    "#define SHARE(k) g[k]\n"
    "#else\n"
    "#define SHARE(k) CLV_LANE_SLOT(tmp, k)\n"
    "#endif\n"
    "#ifdef X_BY_COLUMNS\n"
    "#define X_AT(i, k) data[(size_t)(k) * N_OBS + (i)]\n"
    "#define ROWS(i) CLV_GROUP_FOR(i, N_OBS)\n"
    "#else\n"
    "#define X_AT(i, k) data[(i) * CLV_NUTS_DIM + (k)]\n"
    "#define ROWS(i) CLV_GROUP_BLOCK(i, N_OBS)\n"
    "#endif\n"
    "clv_real logdensity(__global const clv_real *beta, __global clv_real *grad,\n"
    "                    __global const clv_real *data, __local clv_real *tmp) {\n"
    "    __global const clv_real *y = data + N_OBS * CLV_NUTS_DIM;\n"
    "    clv_real lp = 0;\n"
    "#if SHARES_PRIVATE\n"
    "    clv_real g[CLV_NUTS_DIM];\n"
    "#endif\n"
    "    for (int k = 0; k < CLV_NUTS_DIM; ++k) SHARE(k) = 0;\n"
    "    ROWS(i) {\n"
    "        clv_real eta = 0;\n"
    "        for (int k = 0; k < CLV_NUTS_DIM; ++k) eta += X_AT(i, k) * beta[k];\n"
    "        const clv_real e = exp(-fabs(eta));\n"
    "        lp += y[i] * eta - (fmax(eta, (clv_real)0) + log1p(e));\n"
    "        const clv_real resid = y[i] - (eta >= 0 ? 1 / (1 + e) : e / (1 + e));\n"
    "        for (int k = 0; k < CLV_NUTS_DIM; ++k) SHARE(k) += resid * X_AT(i, k);\n"
    "    }\n"
    "#if SHARES_PRIVATE\n"
    "    clv_group_sum_n(g, CLV_NUTS_DIM, tmp);          /* tmp: lanes x DIM values */\n"
    "    for (int k = 0; k < CLV_NUTS_DIM; ++k)\n"
    "        if (clv_lane() == 0) grad[k] = g[k] - beta[k];\n"
    "#else\n"
    "    clv_group_sum_table(tmp, CLV_NUTS_DIM, grad);   /* grad[k]: by lane k % lanes */\n"
    "    for (size_t k = clv_lane(); k < CLV_NUTS_DIM; k += clv_lanes()) grad[k] -= beta[k];\n"
    "#endif\n"
    "    lp = clv_group_sum(lp, tmp);\n"
    "    for (int k = 0; k < CLV_NUTS_DIM; ++k) lp -= 0.5 * beta[k] * beta[k];\n"
    "    return lp;\n"
    "}\n";

static const char *nuts_models_funnel_src =
    "clv_real logdensity(__global const clv_real *x, __global clv_real *grad,\n"
    "                    __global const clv_real *data) {\n"
    "    const clv_real v = x[0], e = exp(-v);\n"
    "    clv_real lp = -v * v / 18 - 0.5 * (CLV_NUTS_DIM - 1) * v, ss = 0;\n"
    "    for (int i = 1; i < CLV_NUTS_DIM; ++i) {\n"
    "        ss += x[i] * x[i];\n"
    "        grad[i] = -x[i] * e;\n"
    "    }\n"
    "    lp -= 0.5 * ss * e;\n"
    "    grad[0] = -v / 9 - 0.5 * (CLV_NUTS_DIM - 1) + 0.5 * ss * e;\n"
    "    return lp;\n"
    "}\n";

/* ---- data ------------------------------------------------------------------- */

static const double nuts_models_schools_y[8] = { 28, 8, -3, 7, -1, 1, 18, 12 };
static const double nuts_models_schools_sigma[8] = { 15, 10, 16, 11, 9, 11, 10, 18 };

static inline void nuts_model_free(nuts_model_def *m)
{
    if (m->names)
        for (int k = 0; k < m->dim; ++k) free(m->names[k]);
    free(m->names);
    if (m->generated_names)
        for (int k = 0; k < m->n_generated; ++k) free(m->generated_names[k]);
    free(m->generated_names);
    free(m->data);
    memset(m, 0, sizeof *m);
}

static inline void nuts_models_name(nuts_model_def *m, int k, const char *fmt, int index)
{
    m->names[k] = (char *)malloc(32);
    snprintf(m->names[k], 32, fmt, index);
}

/* Gauss: scales exp(linspace(-1, 1)), R_ij = 0.9^|i-j|; the data is the
 * precision S^-1 R^-1 S^-1, R^-1 tridiagonal (AR(1)). */
static inline void nuts_models_gauss_data(nuts_model_def *m, int d)
{
    const double rho = 0.9, c = 1 / (1 - rho * rho);
    m->n_data = (size_t)d * d;
    m->data = (double *)calloc(m->n_data, sizeof(double));
    for (int i = 0; i < d; ++i) {
        double si = exp(d > 1 ? -1 + 2.0 * i / (d - 1) : 0);
        for (int j = i - 1; j <= i + 1; ++j) {
            if (j < 0 || j >= d) continue;
            double sj = exp(d > 1 ? -1 + 2.0 * j / (d - 1) : 0);
            double r = i != j ? -rho * c : (i == 0 || i == d - 1 ? c : (1 + rho * rho) * c);
            m->data[(size_t)i * d + j] = r / (si * sj);
        }
    }
}

/* The Gauss model's exact variance of coordinate k. */
static inline double nuts_models_gauss_var(int d, int k)
{
    double s = exp(d > 1 ? -1 + 2.0 * k / (d - 1) : 0);
    return s * s;
}

static inline void nuts_models_logistic_data(nuts_model_def *m, int n, int d)
{
    uint64_t s = 20261122;
    m->n_data = (size_t)n * (d + 1);
    m->data = (double *)calloc(m->n_data, sizeof(double));
    for (int i = 0; i < n; ++i) {
        double eta = 0;
        for (int k = 0; k < d; ++k) {
            double v = k == 0 ? 1 : nuts_models_normal(&s);
            double beta = k == 0 ? -0.5 : 1.5 * cos(k);   /* the true coefficients */
            m->data[(size_t)i * d + k] = v;
            eta += v * beta;
        }
        m->data[(size_t)n * d + i] = nuts_models_uniform(&s) < 1 / (1 + exp(-eta)) ? 1 : 0;
    }
}

/* rows x cols values at x, row-major, rearranged column-major in place
 * (through a copy); 0 when out of memory. */
static inline int nuts_models_transpose(double *x, size_t rows, size_t cols)
{
    double *t = (double *)malloc(rows * cols * sizeof(double));
    if (!t) return 0;
    for (size_t i = 0; i < rows; ++i)
        for (size_t k = 0; k < cols; ++k) t[k * rows + i] = x[i * cols + k];
    memcpy(x, t, rows * cols * sizeof(double));
    free(t);
    return 1;
}

/* Fill m for a model name; dim matters for gauss (0: 100) and the
 * logistic_plain / _coop / _coop_cols / _vec forms (0: 20), n_obs for them
 * only (0: 10^4).
 * 0 on an unknown name. */
static inline int nuts_model_make_sized(const char *name, int dim, int n_obs, nuts_model_def *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    if (strcmp(name, "normal") == 0) {
        uint64_t s = 20261121;
        m->source = nuts_models_normal_src;
        m->dim = 2;
        m->n_data = 1000;
        m->data = (double *)calloc(m->n_data, sizeof(double));
        for (size_t i = 0; i < m->n_data; ++i) m->data[i] = 10 + 20 * nuts_models_normal(&s);
        snprintf(m->options, sizeof m->options, "-DN_OBS=%zu", m->n_data);
    } else if (strcmp(name, "gauss") == 0) {
        m->source = nuts_models_gauss_src;
        m->dim = dim > 0 ? dim : 100;
        nuts_models_gauss_data(m, m->dim);
    } else if (strcmp(name, "eight_schools") == 0) {
        m->source = nuts_models_schools_src;
        m->dim = 10;
        m->n_data = 16;
        m->data = (double *)calloc(16, sizeof(double));
        memcpy(m->data, nuts_models_schools_y, sizeof nuts_models_schools_y);
        memcpy(m->data + 8, nuts_models_schools_sigma, sizeof nuts_models_schools_sigma);
        m->n_generated = 9;
        m->generated_names = (char **)calloc(9, sizeof(char *));
        for (int k = 0; k < 9; ++k) {
            m->generated_names[k] = (char *)malloc(32);
            if (k == 0) snprintf(m->generated_names[k], 32, "tau");
            else snprintf(m->generated_names[k], 32, "theta[%d]", k);
        }
    } else if (strcmp(name, "logistic") == 0) {
        m->source = nuts_models_logistic_src;
        m->dim = 10;
        nuts_models_logistic_data(m, 1000, m->dim);
        snprintf(m->options, sizeof m->options, "-DN_OBS=1000");
    } else if (strcmp(name, "funnel") == 0) {
        m->source = nuts_models_funnel_src;
        m->dim = 10;
    } else if (strcmp(name, "logistic_plain") == 0 || strcmp(name, "logistic_coop") == 0 ||
               strcmp(name, "logistic_coop_cols") == 0 || strcmp(name, "logistic_vec") == 0) {
        int n = n_obs > 0 ? n_obs : 10000;
        if (name[9] == 'v') n = (n + 3) / 4 * 4; /* the clv_real4 loop takes 4 rows at a time */
        m->cooperative = strncmp(name, "logistic_coop", 13) == 0;
        m->x_by_columns = strcmp(name, "logistic_coop_cols") == 0;
        m->source = m->cooperative ? nuts_models_logistic_coop_src
                    : name[9] == 'v'  ? nuts_models_logistic_src
                                      : nuts_models_logistic_plain_src;
        m->dim = dim > 0 ? dim : 20;
        nuts_models_logistic_data(m, n, m->dim);
        if (m->x_by_columns && !nuts_models_transpose(m->data, n, m->dim)) {
            nuts_model_free(m);
            return 0;
        }
        snprintf(m->options, sizeof m->options, "-DN_OBS=%d%s", n, m->x_by_columns ? " -DX_BY_COLUMNS" : "");
    } else {
        return 0;
    }
    m->names = (char **)calloc((size_t)m->dim, sizeof(char *));
    for (int k = 0; k < m->dim; ++k) {
        if (strcmp(name, "normal") == 0) nuts_models_name(m, k, k == 0 ? "loc" : "log_scale", 0);
        else if (strcmp(name, "eight_schools") == 0 && k < 2) nuts_models_name(m, k, k == 0 ? "mu" : "log_tau", 0);
        else if (strcmp(name, "eight_schools") == 0) nuts_models_name(m, k, "theta_tilde.%d", k - 1);
        else if (strcmp(name, "funnel") == 0 && k == 0) nuts_models_name(m, k, "v", 0);
        else if (strcmp(name, "funnel") == 0) nuts_models_name(m, k, "x.%d", k);
        else nuts_models_name(m, k, strncmp(name, "logistic", 8) == 0 ? "beta.%d" : "x.%d", k + 1);
    }
    return 1;
}

static inline int nuts_model_make(const char *name, int dim, nuts_model_def *m)
{
    return nuts_model_make_sized(name, dim, 0, m);
}

/* ---- exact references --------------------------------------------------------- */

/* Digamma and trigamma by recurrence to x >= 6 and the asymptotic series. */
static inline double nuts_models_digamma(double x)
{
    double r = 0;
    for (; x < 6; x += 1) r -= 1 / x;
    double f = 1 / (x * x);
    return r + log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f / 240)));
}

static inline double nuts_models_trigamma(double x)
{
    double r = 0;
    for (; x < 6; x += 1) r += 1 / (x * x);
    double f = 1 / (x * x);
    return r + 1 / x + f / 2 + f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f / 30)));
}

/* The normal model's posterior: with S = sum (y - ybar)^2 and n
 * observations, p(loc, s) ∝ s^-n exp(-(S + n (loc - ybar)^2) / (2 s^2)), so
 * loc is Student-t with n - 2 degrees of freedom, mean ybar, variance
 * S / (n (n - 4)); s^2 ~ InvGamma(n/2 - 1, S/2), hence log s has mean
 * (log(S/2) - digamma(a)) / 2 and variance trigamma(a) / 4. */
static inline void nuts_models_normal_reference(const nuts_model_def *m, double mean[2], double var[2])
{
    double n = (double)m->n_data, ybar = 0, ss = 0;
    for (size_t i = 0; i < m->n_data; ++i) ybar += m->data[i] / n;
    for (size_t i = 0; i < m->n_data; ++i) ss += (m->data[i] - ybar) * (m->data[i] - ybar);
    double a = n / 2 - 1;
    mean[0] = ybar;
    var[0] = ss / (n * (n - 4));
    mean[1] = 0.5 * (log(ss / 2) - nuts_models_digamma(a));
    var[1] = 0.25 * nuts_models_trigamma(a);
}

/* Eight schools by quadrature: theta integrated out analytically,
 * p(mu, tau | y) ∝ N(mu | 0, 5) C+(tau | 0, 5) prod_j N(y_j | mu, sigma_j^2 + tau^2);
 * E[mu], E[tau], and E[theta_j] = E[(y_j / s_j^2 + mu / tau^2) / (1 / s_j^2 + 1 / tau^2)]
 * (Gelman et al., BDA3, section 5.4), on a midpoint grid. Outputs mean[10]
 * in the model's order except that mean[1] is E[tau] and mean[2..9] E[theta_j]. */
static inline void nuts_models_schools_reference(double mean[10])
{
    const int n_mu = 1200, n_tau = 1200;
    const double mu_lo = -40, mu_hi = 50, tau_hi = 150;
    double total = 0, acc[10] = { 0 };
    for (int b = 0; b < n_tau; ++b) {
        double u = (b + 0.5) / n_tau, tau = tau_hi * u * u, w_tau = 2 * tau_hi * u; /* tau = hi u^2 */
        for (int a = 0; a < n_mu; ++a) {
            double mu = mu_lo + (mu_hi - mu_lo) * (a + 0.5) / n_mu;
            double lp = -mu * mu / 50 - log1p(tau * tau / 25);
            for (int j = 0; j < 8; ++j) {
                double v = nuts_models_schools_sigma[j] * nuts_models_schools_sigma[j] + tau * tau;
                double d = nuts_models_schools_y[j] - mu;
                lp -= 0.5 * (log(v) + d * d / v);
            }
            double w = exp(lp + 40) * w_tau;
            total += w;
            acc[0] += w * mu;
            acc[1] += w * tau;
            for (int j = 0; j < 8; ++j) {
                double p_s = 1 / (nuts_models_schools_sigma[j] * nuts_models_schools_sigma[j]);
                double p_t = 1 / (tau * tau);
                acc[2 + j] += w * (nuts_models_schools_y[j] * p_s + mu * p_t) / (p_s + p_t);
            }
        }
    }
    for (int k = 0; k < 10; ++k) mean[k] = acc[k] / total;
}

#endif
