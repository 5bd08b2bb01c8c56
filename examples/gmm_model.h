/* gmm_model.h — the model shared by examples/tour.c and tests/bench/bench_gmm.c:
 * the log density of a D-dimensional Gaussian mixture of K components with
 * diagonal covariances, evaluated at B independent points (one batch item =
 * one point; in gmm_kernel_source_block8, 8 points).
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

#define GMM_D 16 /* dimension of a point (even: the kernel sums even and odd d apart) */
#define GMM_K 8  /* mixture components: one 8-wide vector, see the kernel */
#if GMM_K != 8
#error "the kernel holds the K terms of a point in one 8-wide vector"
#endif

#define GMM_STR_(x) #x
#define GMM_STR(x) GMM_STR_(x)
/* Compiler options that hand the sizes to the kernel (clv_program_desc.options). */
#define GMM_BUILD_OPTIONS "-DGMM_D=" GMM_STR(GMM_D)

/* One work item evaluates one point. The K = 8 component terms of a point
 * are one vector (float8 or double8): PoCL 3.1 does not vectorise this kernel
 * across work items (the loops over k and d stand in the way, and once they
 * are unrolled the call to log does), so the vector type is what turns the 8
 * exps into one vector exp: about 3x faster than a scalar loop over k on a
 * CPU, and no slower on a GPU (tests/bench/README.md has the measurements). mu and prec are stored
 * dimension-major (D x K) so that vload8(d, mu) is the 8 means of dimension d.
 * The terms stay in private memory (registers): the earlier form
 * (gmm_kernel_source_scratch, below) wrote them to a per-item scratch row and
 * read them back, global-memory traffic per point for nothing. The kernel
 * keeps the scratch parameter (unused) so that both forms take the same
 * arguments. Literals are written 0.5f so that a float build never touches
 * double.
 * The exps see t - top no lower than -80: in float, exp of anything below
 * about -87 is subnormal or 0, and Intel's CPU runtime takes a slow path for
 * those that made the float kernel 3x slower than the double one. A term
 * below exp(-80) = 1.8e-35 next to the top term's exp(0) = 1 changes no bit
 * of the sum in either precision (half an ulp of 1 is 6e-8 in float, 1.1e-16
 * in double), so the floor costs nothing in accuracy; it is the same on
 * every device and chunk, so partition invariance holds.
 * Order of the sums (the same in every form of this file): q_k over d as two
 * chains, even d and odd d, each in increasing d, then q_even + q_odd; the
 * exps summed as the pairwise tree ((e0 + e1) + (e2 + e3)) + ((e4 + e5) +
 * (e6 + e7)). */
static const char gmm_kernel_source[] =
    "\n"
    "__kernel void gmm_logpdf(CLV_ITEMS,\n"
    "                         __global const clv_real *x,     /* B x D, sharded */\n"
    "                         __global const clv_real *mu,    /* D x K, replicated */\n"
    "                         __global const clv_real *prec,  /* D x K, replicated */\n"
    "                         __global const clv_real *logc,  /* K, replicated */\n"
    "                         __global clv_real *terms,       /* scratch: unused in this form */\n"
    "                         __global clv_real *out)         /* B, sharded */\n"
    "{\n"
    "    CLV_GUARD();\n"
    "    (void)terms;\n"
    "    const __global clv_real *xi = x + clv_local() * GMM_D;\n"
    "    /* Two sums, over even and odd d, halve the chain of dependent adds. */\n"
    "    clv_real8 q_even = 0, q_odd = 0;\n"
    "    for (int d = 0; d < GMM_D; d += 2) {\n"
    "        const clv_real8 diff_even = xi[d] - vload8(d, mu);\n"
    "        const clv_real8 diff_odd = xi[d + 1] - vload8(d + 1, mu);\n"
    "        q_even += diff_even * diff_even * vload8(d, prec);\n"
    "        q_odd += diff_odd * diff_odd * vload8(d + 1, prec);\n"
    "    }\n"
    "    const clv_real8 t = vload8(0, logc) - 0.5f * (q_even + q_odd);\n"
    "\n"
    "    /* logsumexp, shifted by the largest term so that exp cannot overflow\n"
    "       and one term is exp(0) = 1 (the log never sees 0); floored at -80\n"
    "       so that no exp underflows (see above). */\n"
    "    const clv_real top = fmax(fmax(fmax(t.s0, t.s1), fmax(t.s2, t.s3)),\n"
    "                              fmax(fmax(t.s4, t.s5), fmax(t.s6, t.s7)));\n"
    "    const clv_real8 e = exp(fmax(t - top, (clv_real8)(-80.0f)));\n"
    "    out[clv_local()] = top + log(((e.s0 + e.s1) + (e.s2 + e.s3)) +\n"
    "                                 ((e.s4 + e.s5) + (e.s6 + e.s7)));\n"
    "}\n";

/* The first float8 form: the same arithmetic, with the K terms of a point
 * going through a per-item scratch row (slot clv_slot() of the launch's
 * scratch buffer, which exists for one chunk of items only: what a chunked
 * map bounds). Kept for comparison (bench_gmm --form scratch). */
static const char gmm_kernel_source_scratch[] =
    "\n"
    "__kernel void gmm_logpdf(CLV_ITEMS,\n"
    "                         __global const clv_real *x,     /* B x D, sharded */\n"
    "                         __global const clv_real *mu,    /* D x K, replicated */\n"
    "                         __global const clv_real *prec,  /* D x K, replicated */\n"
    "                         __global const clv_real *logc,  /* K, replicated */\n"
    "                         __global clv_real *terms,       /* scratch: K per item */\n"
    "                         __global clv_real *out)         /* B, sharded */\n"
    "{\n"
    "    CLV_GUARD();\n"
    "    const __global clv_real *xi = x + clv_local() * GMM_D;\n"
    "    /* Two sums, over even and odd d, halve the chain of dependent adds. */\n"
    "    clv_real8 q_even = 0, q_odd = 0;\n"
    "    for (int d = 0; d < GMM_D; d += 2) {\n"
    "        const clv_real8 diff_even = xi[d] - vload8(d, mu);\n"
    "        const clv_real8 diff_odd = xi[d + 1] - vload8(d + 1, mu);\n"
    "        q_even += diff_even * diff_even * vload8(d, prec);\n"
    "        q_odd += diff_odd * diff_odd * vload8(d + 1, prec);\n"
    "    }\n"
    "    vstore8(vload8(0, logc) - 0.5f * (q_even + q_odd), clv_slot(), terms);\n"
    "\n"
    "    /* logsumexp, shifted by the largest term so that exp cannot overflow\n"
    "       and one term is exp(0) = 1 (the log never sees 0); floored at -80\n"
    "       so that no exp underflows (see above). */\n"
    "    const clv_real8 t = vload8(clv_slot(), terms);\n"
    "    const clv_real top = fmax(fmax(fmax(t.s0, t.s1), fmax(t.s2, t.s3)),\n"
    "                              fmax(fmax(t.s4, t.s5), fmax(t.s6, t.s7)));\n"
    "    const clv_real8 e = exp(fmax(t - top, (clv_real8)(-80.0f)));\n"
    "    out[clv_local()] = top + log(((e.s0 + e.s1) + (e.s2 + e.s3)) +\n"
    "                                 ((e.s4 + e.s5) + (e.s6 + e.s7)));\n"
    "}\n";

/* The same density written per scalar, for runtimes that vectorise across
 * work items (Intel's CPU runtime runs 8 or 16 work items in the lanes of
 * one vector): no vector types, every loop of fixed length so that it
 * unrolls, the K terms kept in private memory (no scratch traffic). Its
 * sums over d are one chain per k, in increasing d (not even and odd d apart
 * as in the other forms), so its bits differ from theirs in the last place
 * (the sum of the exps is the same pairwise tree over k).
 * tests/bench/README.md compares them. */
static const char gmm_kernel_source_items[] =
    "\n"
    "#define GMM_Q(k) clv_real q##k = 0\n"
    "#define GMM_ACC(k) { const clv_real diff = xd - mu[d * 8 + k]; q##k += diff * diff * prec[d * 8 + k]; }\n"
    "#define GMM_T(k) const clv_real t##k = logc[k] - 0.5f * q##k\n"
    "#define GMM_E(k) const clv_real e##k = exp(fmax(t##k - top, (clv_real)(-80.0f)))\n"
    "__kernel void gmm_logpdf(CLV_ITEMS,\n"
    "                         __global const clv_real *x,     /* B x D, sharded */\n"
    "                         __global const clv_real *mu,    /* D x K, replicated */\n"
    "                         __global const clv_real *prec,  /* D x K, replicated */\n"
    "                         __global const clv_real *logc,  /* K, replicated */\n"
    "                         __global clv_real *terms,       /* scratch: unused in this form */\n"
    "                         __global clv_real *out)         /* B, sharded */\n"
    "{\n"
    "    CLV_GUARD();\n"
    "    (void)terms;\n"
    "    const __global clv_real *xi = x + clv_local() * GMM_D;\n"
    "    GMM_Q(0); GMM_Q(1); GMM_Q(2); GMM_Q(3); GMM_Q(4); GMM_Q(5); GMM_Q(6); GMM_Q(7);\n"
    "    for (int d = 0; d < GMM_D; ++d) {\n"
    "        const clv_real xd = xi[d];\n"
    "        GMM_ACC(0) GMM_ACC(1) GMM_ACC(2) GMM_ACC(3) GMM_ACC(4) GMM_ACC(5) GMM_ACC(6) GMM_ACC(7)\n"
    "    }\n"
    "    GMM_T(0); GMM_T(1); GMM_T(2); GMM_T(3); GMM_T(4); GMM_T(5); GMM_T(6); GMM_T(7);\n"
    "    const clv_real top = fmax(fmax(fmax(t0, t1), fmax(t2, t3)), fmax(fmax(t4, t5), fmax(t6, t7)));\n"
    "    GMM_E(0); GMM_E(1); GMM_E(2); GMM_E(3); GMM_E(4); GMM_E(5); GMM_E(6); GMM_E(7);\n"
    "    out[clv_local()] = top + log(((e0 + e1) + (e2 + e3)) + ((e4 + e5) + (e6 + e7)));\n"
    "}\n";

/* Eight points per work item: one batch item is a block of GMM_BLOCK = 8
 * points (x: 8 x D reals per item, out: 8 reals per item). The terms of each
 * point are computed as in gmm_kernel_source (a float8 over k, x_d
 * broadcast), for 8 points at once: mu and prec are read once per 4 points
 * instead of once per point, and the 8 points are 8 independent chains where
 * the one-point kernel has one. The 8 x 8 terms are then transposed in
 * registers, so that lane p of each vector belongs to point p: the max over
 * k, the exps and their sum are lane-wise (no horizontal max and sum per
 * point) and one vector log serves 8 points (the one-point kernel calls a
 * scalar log per point). x stays item-major: a block is 8 consecutive rows.
 * A batch of B points is B / 8 items (bench_gmm --form block8 takes B and the
 * chunk in points and refuses ones that are not multiples of 8). Everything
 * is unrolled by hand (macros) for D = 16: loops left to the compiler kept
 * the 8 terms in stack arrays (PoCL 3.1), 20 % slower.
 * Each point's value is the same function of that point as in
 * gmm_kernel_source (the same operations in the same order: even and odd d
 * apart, then the pairwise tree over k); on PoCL 3.1 and Intel's CPU
 * runtime 2026.22 the bits are the same as the one-point kernel's (a vector
 * log against a scalar one could differ elsewhere; tests/bench/README.md).
 * Partition invariance holds over blocks as over points: a block's bits do
 * not depend on its chunk or device. On Intel's runtime
 * -cl-fast-relaxed-math (clv_program_desc.options) makes it ~15 % faster
 * with other bits, still the same for every chunk and device split: an
 * opt-in, not the default (it gives up equality with other runtimes). */
#define GMM_BLOCK 8
static const char gmm_kernel_source_block8[] =
    "\n"
    "#if GMM_D != 16\n"
    "#error \"the block form is unrolled for D = 16\"\n"
    "#endif\n"
    "/* dimensions d, d + 1 of point p of the 4 at xh */\n"
    "#define GMM_ACC(p, d) { const clv_real8 a = xh[(p) * GMM_D + (d)] - mu_even, b = xh[(p) * GMM_D + (d) + 1] - mu_odd; \\\n"
    "                        q_even##p += a * a * prec_even; q_odd##p += b * b * prec_odd; }\n"
    "#define GMM_DSTEP(d) { const clv_real8 mu_even = vload8(d, mu), mu_odd = vload8((d) + 1, mu); \\\n"
    "                       const clv_real8 prec_even = vload8(d, prec), prec_odd = vload8((d) + 1, prec); \\\n"
    "                       GMM_ACC(0, d) GMM_ACC(1, d) GMM_ACC(2, d) GMM_ACC(3, d) }\n"
    "/* the terms of 4 points (one float8 over k each) */\n"
    "#define GMM_FOUR(first, t0, t1, t2, t3) { \\\n"
    "    const __global clv_real *xh = xi + (first) * GMM_D; \\\n"
    "    clv_real8 q_even0 = 0, q_odd0 = 0, q_even1 = 0, q_odd1 = 0, q_even2 = 0, q_odd2 = 0, q_even3 = 0, q_odd3 = 0; \\\n"
    "    GMM_DSTEP(0) GMM_DSTEP(2) GMM_DSTEP(4) GMM_DSTEP(6) GMM_DSTEP(8) GMM_DSTEP(10) GMM_DSTEP(12) GMM_DSTEP(14) \\\n"
    "    t0 = logc8 - 0.5f * (q_even0 + q_odd0); t1 = logc8 - 0.5f * (q_even1 + q_odd1); \\\n"
    "    t2 = logc8 - 0.5f * (q_even2 + q_odd2); t3 = logc8 - 0.5f * (q_even3 + q_odd3); }\n"
    "#define GMM_ROW(k) (clv_real8)(t0.s##k, t1.s##k, t2.s##k, t3.s##k, t4.s##k, t5.s##k, t6.s##k, t7.s##k)\n"
    "#define GMM_E(k) const clv_real8 e##k = exp(fmax(u##k - top, (clv_real8)(-80.0f)))\n"
    "__kernel void gmm_logpdf(CLV_ITEMS,\n"
    "                         __global const clv_real *x,     /* B/8 x 8D, sharded */\n"
    "                         __global const clv_real *mu,    /* D x K, replicated */\n"
    "                         __global const clv_real *prec,  /* D x K, replicated */\n"
    "                         __global const clv_real *logc,  /* K, replicated */\n"
    "                         __global clv_real *terms,       /* scratch: unused in this form */\n"
    "                         __global clv_real *out)         /* B/8 x 8, sharded */\n"
    "{\n"
    "    CLV_GUARD();\n"
    "    (void)terms;\n"
    "    const __global clv_real *xi = x + clv_local() * (8 * GMM_D);\n"
    "    const clv_real8 logc8 = vload8(0, logc);\n"
    "    clv_real8 t0, t1, t2, t3, t4, t5, t6, t7;\n"
    "    GMM_FOUR(0, t0, t1, t2, t3)\n"
    "    GMM_FOUR(4, t4, t5, t6, t7)\n"
    "    /* transposed: lane p of u_k is term k of point p */\n"
    "    const clv_real8 u0 = GMM_ROW(0), u1 = GMM_ROW(1), u2 = GMM_ROW(2), u3 = GMM_ROW(3),\n"
    "                    u4 = GMM_ROW(4), u5 = GMM_ROW(5), u6 = GMM_ROW(6), u7 = GMM_ROW(7);\n"
    "    const clv_real8 top = fmax(fmax(fmax(u0, u1), fmax(u2, u3)), fmax(fmax(u4, u5), fmax(u6, u7)));\n"
    "    GMM_E(0); GMM_E(1); GMM_E(2); GMM_E(3); GMM_E(4); GMM_E(5); GMM_E(6); GMM_E(7);\n"
    "    vstore8(top + log(((e0 + e1) + (e2 + e3)) + ((e4 + e5) + (e6 + e7))), clv_local(), out);\n"
    "}\n";

/* The mixture, in double on the host. Per-dimension arrays are D x K:
 * element [d * GMM_K + k] belongs to dimension d of component k. */
typedef struct gmm_params {
    double mu[GMM_D * GMM_K];
    double sigma[GMM_D * GMM_K];
    double prec[GMM_D * GMM_K];
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
    for (int k = 0; k < GMM_K; ++k) {
        g->weight[k] = 0.5 + gmm_uniform(&s);
        total += g->weight[k];
    }
    for (int k = 0; k < GMM_K; ++k) {
        g->weight[k] /= total;
        g->logc[k] = log(g->weight[k]);
        for (int d = 0; d < GMM_D; ++d) {
            const int j = d * GMM_K + k;
            g->mu[j] = -5.0 + 10.0 * gmm_uniform(&s);
            g->sigma[j] = 0.5 + 1.5 * gmm_uniform(&s);
            g->prec[j] = 1.0 / (g->sigma[j] * g->sigma[j]);
            g->logc[k] -= 0.5 * log(2.0 * 3.141592653589793 * g->sigma[j] * g->sigma[j]);
        }
    }
}

/* Points [first, first + n) drawn from the mixture g itself (for a float run,
 * the model as rounded for the device), so that their log densities are
 * typical values rather than far tails. x holds n x GMM_D. */
static void gmm_make_points(const gmm_params *g, uint64_t seed, size_t first, size_t n, double *x)
{
    for (size_t i = 0; i < n; ++i) {
        uint64_t s = gmm_hash(seed) ^ gmm_hash(first + i);
        const double u = gmm_uniform(&s); /* picks the component by weight */
        double cumulative = g->weight[0];
        int k = 0;
        while (k < GMM_K - 1 && u > cumulative) cumulative += g->weight[++k];
        double *point = x + i * GMM_D;
        for (int d = 0; d < GMM_D; ++d)
            point[d] = g->mu[d * GMM_K + k] + g->sigma[d * GMM_K + k] * gmm_normal(&s);
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
    gmm_round_to_float(g->mu, GMM_D * GMM_K);
    gmm_round_to_float(g->prec, GMM_D * GMM_K);
    gmm_round_to_float(g->logc, GMM_K);
}

/* The reference: the kernel's formula in double on the host. */
static double gmm_logpdf_reference(const gmm_params *g, const double *x)
{
    double t[GMM_K], top = -INFINITY, sum = 0;
    for (int k = 0; k < GMM_K; ++k) {
        double q = 0;
        for (int d = 0; d < GMM_D; ++d) {
            const double diff = x[d] - g->mu[d * GMM_K + k];
            q += diff * diff * g->prec[d * GMM_K + k];
        }
        t[k] = g->logc[k] - 0.5 * q;
        if (t[k] > top) top = t[k];
    }
    for (int k = 0; k < GMM_K; ++k) sum += exp(t[k] - top);
    return top + log(sum);
}

#endif /* GMM_MODEL_H */
