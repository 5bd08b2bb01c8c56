/* clvmap nested slice sampling: the device side (OpenCL C 1.2).
 *
 * This file is the single source of truth: it is embedded into
 * include/clvmap_nss.h by tools/embed.c (ninja -C BUILD embed_nss), and
 * tests/nss/test_nss_embed.c fails when the embedded copy is stale.
 *
 * clv_nss_new compiles, after the core's prelude: this file, then the
 * user's source (with its own #line), with -DCLV_NSS_DIM=<dim> and
 * -DCLV_NSS_WORK=<work elements per particle, at least 1>. The user's
 * source defines the three functions declared below.
 *
 * Algorithm: nested slice sampling as in blackjax.ns.nss (Yallup, Kroupa &
 * Handley, "Nested slice sampling", 2025) with the hit-and-run slice sampler
 * of blackjax.mcmc.ss (Neal, "Slice sampling", Ann. Statist. 31, 2003). */

/* ---- what the user defines ----------------------------------------------
 * x, u: CLV_NSS_DIM values in private memory. data: the problem's
 * replicated array. work: CLV_NSS_WORK elements of __global scratch that
 * belong to this particle for the duration of one evaluation. */
clv_real loglikelihood(const clv_real *x, __global const clv_real *data, __global clv_real *work);
clv_real logprior(const clv_real *x, __global const clv_real *data);
void prior_transform(const clv_real *u, clv_real *x, __global const clv_real *data);

#ifndef CLV_NSS_DIM
#error "clvmap_nss: CLV_NSS_DIM must be defined (clv_nss_new does it)"
#endif
#ifndef CLV_NSS_WORK
#define CLV_NSS_WORK 1
#endif

/* Codes the init kernel reports per particle (host: clv_nss__init_check). */
#define CLV_NSS__OK 0
#define CLV_NSS__BAD_POINT 1 /* prior_transform gave a non-finite coordinate */
#define CLV_NSS__BAD_PRIOR 2 /* logprior is NaN or -inf at a transformed point */

/* Only the first work item of a group works when one group serves one
 * particle (clv_nss_opts.shape = CLV_ITEM_PER_GROUP). */
#define CLV_NSS__IDLE(one_per_group) ((one_per_group) && get_local_id(0) != 0)

/* The particle's own slot of the chunk's scratch. */
#define CLV_NSS__WORK(work) ((work) + clv_slot() * (ulong)CLV_NSS_WORK)

/* ---- initial draws: n_live points from the prior ------------------------
 * Stream 0 of item i is particle i's; u ~ U(0,1)^D, x = prior_transform(u). */
__kernel void clv_nss__init(CLV_ITEMS,
                            __global clv_real *x_out,   /* n_live x D */
                            __global clv_real *ll_out,  /* n_live */
                            __global clv_real *lp_out,  /* n_live */
                            __global int *code_out,     /* n_live */
                            __global const clv_real *data,
                            __global clv_real *work,    /* scratch */
                            const int one_per_group)
{
    CLV_GUARD();
    if (CLV_NSS__IDLE(one_per_group)) return;
    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 0u);
    clv_real u[CLV_NSS_DIM], x[CLV_NSS_DIM];
    for (int k = 0; k < CLV_NSS_DIM; ++k) u[k] = clv_uniform(&r);
    prior_transform(u, x, data);
    int code = CLV_NSS__OK;
    for (int k = 0; k < CLV_NSS_DIM; ++k)
        if (!isfinite(x[k])) code = CLV_NSS__BAD_POINT;
    clv_real lp = -INFINITY, ll = -INFINITY;
    if (code == CLV_NSS__OK) {
        lp = logprior(x, data);
        if (!(lp > -INFINITY)) code = CLV_NSS__BAD_PRIOR;
    }
    if (code == CLV_NSS__OK) ll = loglikelihood(x, data, CLV_NSS__WORK(work));
    const ulong i = clv_local();
    for (int k = 0; k < CLV_NSS_DIM; ++k) x_out[i * CLV_NSS_DIM + k] = x[k];
    ll_out[i] = ll;
    lp_out[i] = lp;
    code_out[i] = code;
}

/* ---- one hit-and-run slice step ------------------------------------------ */

typedef struct clv_nss__walker {
    clv_real x[CLV_NSS_DIM];
    clv_real ll, lp;      /* log-likelihood and log-prior at x */
    clv_real threshold;   /* L0: the constraint is ll > L0 (NaN fails it) */
    uint evals;           /* likelihood evaluations */
    uint exhausted;       /* steps whose shrinkage ran out (stayed put) */
} clv_nss__walker;

/* Uniform on (0, 1) for the slice sampler's choices: 32 random bits plus
 * half a step in double (one Philox word, not the prelude's two: the
 * sampler needs no finer grid, and the RNG is most of its cost), the
 * prelude's 23-bit clv_uniform_f32 in float. Never 0 or 1, so log is
 * finite. */
inline clv_real clv_nss__uniform(clv_rng *r)
{
#ifdef CLV_FP64
    if (sizeof(clv_real) == sizeof(double))
        return ((clv_real)clv_rng_u32(r) + (clv_real)0.5) * (clv_real)0x1.0p-32;
#endif
    return (clv_real)clv_uniform_f32(r);
}

/* d = 2 chol z / |z|, z ~ N(0, I): a draw from N(0, C) rescaled to
 * Mahalanobis length 2 under C = chol chol^T, as blackjax.ns.nss
 * sample_direction_from_covariance_factor (d^T C^-1 d = 4), without C^-1.
 * The normals come in Box-Muller pairs (both halves used). */
inline void clv_nss__direction(clv_rng *r, __global const clv_real *chol, clv_real *d)
{
    clv_real z[CLV_NSS_DIM + 1];
    clv_real norm2 = 0;
    for (int k = 0; k < CLV_NSS_DIM; k += 2) {
        const clv_real radius = sqrt((clv_real)-2 * log(clv_nss__uniform(r)));
        const clv_real angle = 2 * clv_nss__uniform(r);
        z[k] = radius * cospi(angle);
        z[k + 1] = radius * sinpi(angle);
    }
    for (int k = 0; k < CLV_NSS_DIM; ++k) norm2 += z[k] * z[k];
    const clv_real scale = (clv_real)2 / sqrt(norm2);
    for (int i = 0; i < CLV_NSS_DIM; ++i) {
        clv_real s = 0;
        for (int k = 0; k <= i; ++k) s += chol[i * CLV_NSS_DIM + k] * z[k];
        d[i] = s * scale;
    }
}

/* Is x0 + t d inside the slice {logprior >= logslice} and the constraint
 * {loglikelihood > L0}? The likelihood is evaluated only where the prior
 * test passes (outside the prior's support it may be undefined). */
inline int clv_nss__inside(clv_nss__walker *w, const clv_real *d, clv_real t, clv_real logslice,
                           __global const clv_real *data, __global clv_real *work,
                           clv_real *x_new, clv_real *ll_new, clv_real *lp_new)
{
    for (int k = 0; k < CLV_NSS_DIM; ++k) x_new[k] = w->x[k] + t * d[k];
    *lp_new = logprior(x_new, data);
    if (!(*lp_new >= logslice)) return 0;
    *ll_new = loglikelihood(x_new, data, work);
    w->evals += 1;
    return *ll_new > w->threshold;
}

/* Stepping out with w = 1 to an interval at most m = max_steps wide: m - 1
 * expansions at most, split at random between the two ends (Neal 2003,
 * fig. 3, which keeps detailed balance; blackjax.mcmc.slice.stepping_out
 * does the same with max_expansions = max_steps). Then shrinkage with at
 * most max_shrinkage proposals (Neal 2003, fig. 5). */
inline void clv_nss__slice_step(clv_nss__walker *w, clv_rng *r, __global const clv_real *chol,
                                __global const clv_real *data, __global clv_real *work,
                                const int max_steps, const int max_shrinkage)
{
    clv_real d[CLV_NSS_DIM], x_new[CLV_NSS_DIM], ll_new = 0, lp_new = 0;
    clv_nss__direction(r, chol, d);
    const clv_real logslice = w->lp + log(clv_nss__uniform(r));
    clv_real left = -clv_nss__uniform(r);
    clv_real right = left + 1;
    int j = (int)floor((clv_real)max_steps * clv_nss__uniform(r));
    if (j > max_steps - 1) j = max_steps - 1; /* float rounding of m * v */
    int k = max_steps - 1 - j;
    while (j > 0 && clv_nss__inside(w, d, left, logslice, data, work, x_new, &ll_new, &lp_new)) {
        left -= 1;
        --j;
    }
    while (k > 0 && clv_nss__inside(w, d, right, logslice, data, work, x_new, &ll_new, &lp_new)) {
        right += 1;
        --k;
    }
    for (int s = 0; s < max_shrinkage; ++s) {
        const clv_real t = left + clv_nss__uniform(r) * (right - left);
        if (clv_nss__inside(w, d, t, logslice, data, work, x_new, &ll_new, &lp_new)) {
            for (int q = 0; q < CLV_NSS_DIM; ++q) w->x[q] = x_new[q];
            w->ll = ll_new;
            w->lp = lp_new;
            return;
        }
        if (t < 0) left = t;
        else right = t;
    }
    w->exhausted += 1; /* stay put, as blackjax does */
}

/* ---- the update: num_delete particles, each from its start point --------
 * A particle's state is D + 2 values: x, then its log-likelihood and
 * log-prior (one array each way keeps the host's transfers few). Item j of
 * iteration t uses stream t (t >= 1) of item j: the same draws whatever
 * the chunk and the device. */
#define CLV_NSS__STATE (CLV_NSS_DIM + 2)

__kernel void clv_nss__update(CLV_ITEMS,
                              __global const clv_real *start,  /* num_delete x (D + 2) */
                              __global clv_real *state_out,    /* num_delete x (D + 2) */
                              __global uint *counts_out,       /* num_delete x 2: evaluations,
                                                                  exhausted shrinkages */
                              __global const clv_real *chol,   /* D x D, lower */
                              __global const clv_real *data,
                              __global clv_real *work,         /* scratch */
                              const clv_real threshold,
                              const uint iteration,
                              const int num_inner_steps,
                              const int max_steps,
                              const int max_shrinkage,
                              const int one_per_group)
{
    CLV_GUARD();
    if (CLV_NSS__IDLE(one_per_group)) return;
    const ulong i = clv_local();
    clv_rng r = clv_rng_init(clv_seed(), clv_item(), iteration);
    clv_nss__walker w;
    __global const clv_real *in = start + i * CLV_NSS__STATE;
    for (int k = 0; k < CLV_NSS_DIM; ++k) w.x[k] = in[k];
    w.ll = in[CLV_NSS_DIM];
    w.lp = in[CLV_NSS_DIM + 1];
    w.threshold = threshold;
    w.evals = 0;
    w.exhausted = 0;
    __global clv_real *my_work = CLV_NSS__WORK(work);
    for (int step = 0; step < num_inner_steps; ++step)
        clv_nss__slice_step(&w, &r, chol, data, my_work, max_steps, max_shrinkage);
    __global clv_real *out = state_out + i * CLV_NSS__STATE;
    for (int k = 0; k < CLV_NSS_DIM; ++k) out[k] = w.x[k];
    out[CLV_NSS_DIM] = w.ll;
    out[CLV_NSS_DIM + 1] = w.lp;
    counts_out[2 * i] = w.evals;
    counts_out[2 * i + 1] = w.exhausted;
}
