/* gmm_model.h — the model shared by examples/tour.c and tests/bench/bench_gmm.c:
 * the log density of a D-dimensional Gaussian mixture of K components with
 * diagonal covariances, evaluated at B independent points (one batch item =
 * one point).
 *
 *   log p(x) = logsumexp_k [ c_k - 1/2 sum_d (x_d - mu_kd)^2 prec_kd ]
 *   c_k      = log w_k - 1/2 sum_d log(2 pi sigma_kd^2),  prec_kd = 1/sigma_kd^2
 *
 * The host folds everything that does not depend on x into c_k and prec_kd,
 * so the kernel does only multiply-adds, K exps and one log per point.
 * Everything here is static: include it from one translation unit. */
#ifndef GMM_MODEL_H
#define GMM_MODEL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define GMM_D 16 /* dimension of a point */
#define GMM_K 8  /* mixture components */

#define GMM_STR_(x) #x
#define GMM_STR(x) GMM_STR_(x)
/* Compiler options that hand the sizes to the kernel (clv_program_desc.options). */
#define GMM_BUILD_OPTIONS "-DGMM_D=" GMM_STR(GMM_D) " -DGMM_K=" GMM_STR(GMM_K)

/* One work item evaluates one point. The K component terms go to a per-item
 * scratch row (slot clv_slot() of the launch's scratch buffer): that buffer
 * is what a chunked map bounds, since it exists for one chunk of items only.
 * Literals are written 0.5f so that a float build never touches double. */
static const char gmm_kernel_source[] =
    "__kernel void gmm_logpdf(CLV_ITEMS,\n"
    "                         __global const clv_real *x,     /* B x D, sharded */\n"
    "                         __global const clv_real *mu,    /* K x D, replicated */\n"
    "                         __global const clv_real *prec,  /* K x D, replicated */\n"
    "                         __global const clv_real *logc,  /* K, replicated */\n"
    "                         __global clv_real *terms,       /* scratch: K per item */\n"
    "                         __global clv_real *out)         /* B, sharded */\n"
    "{\n"
    "    CLV_GUARD();\n"
    "    const __global clv_real *xi = x + clv_local() * GMM_D;\n"
    "    __global clv_real *t = terms + clv_slot() * GMM_K;\n"
    "    clv_real top = -INFINITY;\n"
    "    for (int k = 0; k < GMM_K; ++k) {\n"
    "        clv_real q = 0;\n"
    "        for (int d = 0; d < GMM_D; ++d) {\n"
    "            const clv_real diff = xi[d] - mu[k * GMM_D + d];\n"
    "            q += diff * diff * prec[k * GMM_D + d];\n"
    "        }\n"
    "        const clv_real term = logc[k] - 0.5f * q;\n"
    "        t[k] = term;\n"
    "        top = fmax(top, term);\n"
    "    }\n"
    "    /* logsumexp, shifted by the largest term so that exp cannot overflow\n"
    "       and at least one term is exp(0) = 1 (no underflow to log(0)). */\n"
    "    clv_real sum = 0;\n"
    "    for (int k = 0; k < GMM_K; ++k) sum += exp(t[k] - top);\n"
    "    out[clv_local()] = top + log(sum);\n"
    "}\n";

/* The mixture, in double on the host. */
typedef struct gmm_params {
    double mu[GMM_K * GMM_D];
    double sigma[GMM_K * GMM_D];
    double prec[GMM_K * GMM_D];
    double logc[GMM_K];
    double weight[GMM_K];
} gmm_params;

/* SplitMix64 (Steele, Lea & Flood 2014): a counter-based hash, so point i
 * is a pure function of (seed, i) and any subset can be regenerated. */
static uint64_t gmm_hash(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform on (0, 1), 53 bits. */
static double gmm_uniform(uint64_t *state)
{
    *state = gmm_hash(*state);
    return ((double)(*state >> 11) + 0.5) * 0x1.0p-53;
}

static double gmm_normal(uint64_t *state)
{
    const double u1 = gmm_uniform(state), u2 = gmm_uniform(state);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static void gmm_make_params(gmm_params *g, uint64_t seed)
{
    uint64_t s = gmm_hash(seed ^ 0x5eedull);
    double total = 0;
    for (int k = 0; k < GMM_K; ++k) total += g->weight[k] = 0.5 + gmm_uniform(&s);
    for (int k = 0; k < GMM_K; ++k) {
        g->weight[k] /= total;
        g->logc[k] = log(g->weight[k]);
        for (int d = 0; d < GMM_D; ++d) {
            const int j = k * GMM_D + d;
            g->mu[j] = -5.0 + 10.0 * gmm_uniform(&s);
            g->sigma[j] = 0.5 + 1.5 * gmm_uniform(&s);
            g->prec[j] = 1.0 / (g->sigma[j] * g->sigma[j]);
            g->logc[k] -= 0.5 * log(2.0 * 3.141592653589793 * g->sigma[j] * g->sigma[j]);
        }
    }
}

/* Points [first, first + n) drawn from the mixture itself, so that their log
 * densities are typical values rather than far tails. x holds n x GMM_D. */
static void gmm_make_points(const gmm_params *g, uint64_t seed, size_t first, size_t n, double *x)
{
    for (size_t i = 0; i < n; ++i) {
        uint64_t s = gmm_hash(seed) ^ gmm_hash(first + i);
        const double u = gmm_uniform(&s); /* picks the component by weight */
        double cumulative = g->weight[0];
        int k = 0;
        while (k < GMM_K - 1 && u > cumulative) cumulative += g->weight[++k];
        for (int d = 0; d < GMM_D; ++d)
            x[i * GMM_D + d] = g->mu[k * GMM_D + d] + g->sigma[k * GMM_D + d] * gmm_normal(&s);
    }
}

/* For a float run: round the kernel's inputs to float, so that the double
 * reference below sees exactly what the device sees and its difference from
 * the device measures the kernel's arithmetic only. */
static void gmm_round_to_float(double *a, size_t n)
{
    for (size_t i = 0; i < n; ++i) a[i] = (double)(float)a[i];
}

static void gmm_params_round_to_float(gmm_params *g)
{
    gmm_round_to_float(g->mu, GMM_K * GMM_D);
    gmm_round_to_float(g->prec, GMM_K * GMM_D);
    gmm_round_to_float(g->logc, GMM_K);
}

/* The reference: the kernel's formula in double on the host. */
static double gmm_logpdf_reference(const gmm_params *g, const double *x)
{
    double t[GMM_K], top = -INFINITY, sum = 0;
    for (int k = 0; k < GMM_K; ++k) {
        double q = 0;
        for (int d = 0; d < GMM_D; ++d) {
            const double diff = x[d] - g->mu[k * GMM_D + d];
            q += diff * diff * g->prec[k * GMM_D + d];
        }
        t[k] = g->logc[k] - 0.5 * q;
        if (t[k] > top) top = t[k];
    }
    for (int k = 0; k < GMM_K; ++k) sum += exp(t[k] - top);
    return top + log(sum);
}

#endif /* GMM_MODEL_H */
