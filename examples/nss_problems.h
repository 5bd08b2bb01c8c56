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

#endif
