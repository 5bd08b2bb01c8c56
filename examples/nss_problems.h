/* Problems for examples/nss.c, the NSS test suite and its benchmark, with
 * log Z from outside the code under test:
 *   gauss   a normalised Gaussian N(0, sigma^2 I) on the uniform prior
 *           [-a, a]^D: log Z = -D log(2a) (the mass outside the box, for
 *           a = 5 sigma, is below 1e-5 of the total in 10-d);
 *   eggbox  L = exp((2 + cos(x/2) cos(y/2))^5) on [0, 10 pi]^2: log Z =
 *           235.856 (Feroz, Hobson & Bridges 2009, MultiNest, table 2;
 *           235.85594 by a 4000^2 midpoint rule, which converges
 *           exponentially for this periodic integrand);
 *   shells  two Gaussian shells (r = 2, w = 0.1, centres +-3.5 on x0) on
 *           [-6, 6]^D: log Z = -1.75 (2-d), -5.67 (5-d) (Feroz et al.,
 *           table 1; a radial quadrature gives -1.74564 and -5.67360).
 * The Gaussian uses the particle's work space when it has room for D
 * values, so that the scratch memory is really written and read. */
#ifndef NSS_PROBLEMS_H
#define NSS_PROBLEMS_H

#include "clvmap_nss.h"

static const char *const nss_gauss_source =
    "// data: a (prior half-width), sigma\n"
    "clv_real loglikelihood(const clv_real *x, __global const clv_real *data,\n"
    "                       __global clv_real *work) {\n"
    "    const clv_real sigma = data[1];\n"
    "    clv_real s = 0;\n"
    "#if CLV_NSS_WORK >= CLV_NSS_DIM\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) work[k] = x[k] / sigma;\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) s += work[k] * work[k];\n"
    "#else\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) s += (x[k] / sigma) * (x[k] / sigma);\n"
    "#endif\n"
    "    return (clv_real)-0.5 * s - CLV_NSS_DIM * (log(sigma) + (clv_real)0.91893853320467274);\n"
    "}\n"
    "clv_real logprior(const clv_real *x, __global const clv_real *data) {\n"
    "    const clv_real a = data[0];\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k)\n"
    "        if (!(fabs(x[k]) <= a)) return -INFINITY;\n"
    "    return -CLV_NSS_DIM * log(2 * a);\n"
    "}\n"
    "void prior_transform(const clv_real *u, clv_real *x, __global const clv_real *data) {\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) x[k] = data[0] * (2 * u[k] - 1);\n"
    "}\n";

static const char *const nss_eggbox_source =
    "#define TMAX ((clv_real)31.415926535897932)\n"
    "clv_real loglikelihood(const clv_real *x, __global const clv_real *data,\n"
    "                       __global clv_real *work) {\n"
    "    clv_real p = 1;\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) p *= cos(x[k] / 2);\n"
    "    const clv_real b = 2 + p;\n"
    "    return b * b * b * b * b;\n"
    "}\n"
    "clv_real logprior(const clv_real *x, __global const clv_real *data) {\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k)\n"
    "        if (!(x[k] >= 0 && x[k] <= TMAX)) return -INFINITY;\n"
    "    return -CLV_NSS_DIM * log(TMAX);\n"
    "}\n"
    "void prior_transform(const clv_real *u, clv_real *x, __global const clv_real *data) {\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) x[k] = TMAX * u[k];\n"
    "}\n";

static const char *const nss_shells_source =
    "clv_real nss_shell(const clv_real *x, clv_real c0) {\n"
    "    clv_real r2 = (x[0] - c0) * (x[0] - c0);\n"
    "    for (int k = 1; k < CLV_NSS_DIM; ++k) r2 += x[k] * x[k];\n"
    "    const clv_real z = (sqrt(r2) - (clv_real)2) / (clv_real)0.1;\n"
    "    return (clv_real)-0.5 * z * z - log((clv_real)0.25066282746310002); // sqrt(2 pi) w\n"
    "}\n"
    "clv_real loglikelihood(const clv_real *x, __global const clv_real *data,\n"
    "                       __global clv_real *work) {\n"
    "    const clv_real a = nss_shell(x, (clv_real)-3.5), b = nss_shell(x, (clv_real)3.5);\n"
    "    return fmax(a, b) + log1p(exp(-fabs(a - b)));\n"
    "}\n"
    "clv_real logprior(const clv_real *x, __global const clv_real *data) {\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k)\n"
    "        if (!(fabs(x[k]) <= 6)) return -INFINITY;\n"
    "    return -CLV_NSS_DIM * log((clv_real)12);\n"
    "}\n"
    "void prior_transform(const clv_real *u, clv_real *x, __global const clv_real *data) {\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) x[k] = 12 * u[k] - 6;\n"
    "}\n";

/* The standard normal on the uniform prior [-5, 5]^D, without data: log Z
 * = -D log 10 (as the Gaussian's, for a = 5, sigma = 1). */
static const char *const nss_standard_normal_source =
    "clv_real loglikelihood(const clv_real *x, __global const clv_real *data, __global clv_real *work) {\n"
    "    clv_real s = 0;\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) s += x[k] * x[k];\n"
    "    return -0.5 * s - CLV_NSS_DIM * 0.91893853320467274;\n"
    "}\n"
    "clv_real logprior(const clv_real *x, __global const clv_real *data) {\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) if (!(fabs(x[k]) <= 5)) return -INFINITY;\n"
    "    return -CLV_NSS_DIM * log((clv_real)10);\n"
    "}\n"
    "void prior_transform(const clv_real *u, clv_real *x, __global const clv_real *data) {\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) x[k] = 10 * u[k] - 5;\n"
    "}\n";

#define NSS_EGGBOX_LOGZ 235.856
#define NSS_GAUSS_HALF_WIDTH 5.0

/* The Gaussian's data: half-width a and sigma. */
static const double nss_gauss_data[2] = { NSS_GAUSS_HALF_WIDTH, 1.0 };

static inline double nss_gauss_logz(int dim) { return -dim * log(2 * NSS_GAUSS_HALF_WIDTH); }

/* A sampler for a problem, or exit(1) with the reason. */
static inline clv_nss *nss_sampler(clv_mesh *m, const char *source, int dim, size_t work_elems)
{
    clv_nss_problem p;
    memset(&p, 0, sizeof p);
    p.source = source;
    p.dim = dim;
    p.work_elems = work_elems;
    if (source == nss_gauss_source) {
        p.data = nss_gauss_data;
        p.n_data = 2;
    }
    clv_nss *s = NULL;
    if (clv_nss_new(&s, m, &p) != CLV_OK) {
        printf("FAIL: clv_nss_new: %s\n", clv_nss_message(s));
        exit(1);
    }
    return s;
}

/* ---- many observations: a likelihood worth sharing ----------------------
 * n_obs points y_i in R^D, each N(mu, I), mu on the uniform prior [-a, a]^D.
 * With ybar the mean and S the sum of squared deviations from it,
 *   log Z = -n D/2 log(2 pi) - S/2 + D/2 log(2 pi / n) - D log(2a)
 * (the mass outside the box is negligible when ybar is well inside it).
 * data: a, n_obs, then the n_obs x D observations. The plain form loops
 * over all observations in one work item; the cooperative form
 * (clv_nss_problem.cooperative) gives each lane a block of them and sums
 * the shares with clv_group_sum (the same sum, in another order). */
#define NSS_OBS_BODY(LOOP)                                                       \
    "    const int n = (int)data[1];\n"                                           \
    "    __global const clv_real *y = data + 2;\n"                                \
    "    clv_real s = 0;\n"                                                       \
    LOOP                                                                          \
    "        for (int k = 0; k < CLV_NSS_DIM; ++k) {\n"                           \
    "            const clv_real e = y[(size_t)i * CLV_NSS_DIM + k] - x[k];\n"     \
    "            s += e * e;\n"                                                   \
    "        }\n"
#define NSS_OBS_PRIOR                                                            \
    "clv_real logprior(const clv_real *x, __global const clv_real *data) {\n"     \
    "    for (int k = 0; k < CLV_NSS_DIM; ++k)\n"                                 \
    "        if (!(fabs(x[k]) <= data[0])) return -INFINITY;\n"                   \
    "    return -CLV_NSS_DIM * log(2 * data[0]);\n"                               \
    "}\n"                                                                         \
    "void prior_transform(const clv_real *u, clv_real *x, __global const clv_real *data) {\n" \
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) x[k] = data[0] * (2 * u[k] - 1);\n" \
    "}\n"
#define NSS_OBS_NORM "(clv_real)0.91893853320467274 * n * CLV_NSS_DIM"

static const char *const nss_obs_plain_source =
    "clv_real loglikelihood(const clv_real *x, __global const clv_real *data,\n"
    "                       __global clv_real *work) {\n"
    NSS_OBS_BODY("    for (int i = 0; i < n; ++i)\n")
    "    return (clv_real)-0.5 * s - " NSS_OBS_NORM ";\n"
    "}\n" NSS_OBS_PRIOR;

static const char *const nss_obs_coop_source =
    "clv_real loglikelihood(const clv_real *x, __global const clv_real *data,\n"
    "                       __global clv_real *work, __local clv_real *tmp) {\n"
    NSS_OBS_BODY("    CLV_GROUP_BLOCK(i, n)\n")
    "    return (clv_real)-0.5 * clv_group_sum(s, tmp) - " NSS_OBS_NORM ";\n"
    "}\n" NSS_OBS_PRIOR;

/* data for n_obs observations of dim values around mu0 (host splitmix64
 * and Box-Muller: numbers nobody here chose), and the exact log Z. The
 * caller frees *data. */
static inline double nss_obs_make(int dim, int n_obs, double half_width, unsigned long long seed, double **data,
                                  size_t *n_data)
{
    size_t n = (size_t)n_obs * (size_t)dim;
    double *d = (double *)malloc((n + 2) * sizeof(double)), mean[CLV_NSS_MAX_DIM] = { 0 }, S = 0;
    *data = d;
    *n_data = n + 2;
    if (!d) return NAN;
    d[0] = half_width;
    d[1] = n_obs;
    for (size_t i = 0; i < n; ++i) {
        seed += 0x9E3779B97F4A7C15ULL;
        unsigned long long z = seed;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        double u1 = ((double)(z >> 11) + 0.5) / 9007199254740992.0;
        double u2 = ((double)(z & 0x7FF) + 0.5) / 2048.0;
        d[2 + i] = 0.3 * (double)(i % (size_t)dim) - 0.4 + sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
    }
    for (size_t i = 0; i < n; ++i) mean[i % (size_t)dim] += d[2 + i] / n_obs;
    for (size_t i = 0; i < n; ++i) S += (d[2 + i] - mean[i % (size_t)dim]) * (d[2 + i] - mean[i % (size_t)dim]);
    const double log2pi = 1.8378770664093453;
    return -0.5 * n * log2pi - 0.5 * S + 0.5 * dim * (log2pi - log((double)n_obs)) - dim * log(2 * half_width);
}

#endif
