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
 * belong to this particle for the duration of one evaluation.
 *
 * Cooperative likelihoods (clv_nss_problem.cooperative; -DCLV_NSS_GROUP):
 * one work group runs one particle. loglikelihood takes a fourth
 * parameter, tmp, a __local buffer of clv_lanes() x CLV_NSS_TMP values for
 * the prelude's clv_group_* helpers; all lanes of the group call it
 * together with the same x and the same work, each lane does a share
 * (CLV_GROUP_FOR over the observations, the rows of a matrix), and it must
 * return the same value on every lane (a group reduction's result is). A
 * lane that writes work for another to read puts a barrier between. The
 * slice sampler's bookkeeping (random numbers, the interval, the prior,
 * the decisions) runs on lane 0 only; the points it needs evaluated reach
 * the other lanes through __local memory. logprior and prior_transform run
 * on lane 0 only. */
#if defined(CLV_NSS_GROUP)
clv_real loglikelihood(const clv_real *x, __global const clv_real *data, __global clv_real *work,
                       __local clv_real *tmp);
#elif !defined(CLV_NSS_BATCH) /* a batched host callback evaluates the likelihood */
clv_real loglikelihood(const clv_real *x, __global const clv_real *data, __global clv_real *work);
#endif
clv_real logprior(const clv_real *x, __global const clv_real *data);
void prior_transform(const clv_real *u, clv_real *x, __global const clv_real *data);

#ifndef CLV_NSS_DIM
#error "clvmap_nss: CLV_NSS_DIM must be defined (clv_nss_new does it)"
#endif
#ifndef CLV_NSS_WORK
#define CLV_NSS_WORK 1
#endif
#ifndef CLV_NSS_TMP
#define CLV_NSS_TMP 1
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
#if !defined(CLV_NSS_GROUP) && !defined(CLV_NSS_BATCH)
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
#endif

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

#if !defined(CLV_NSS_GROUP) && !defined(CLV_NSS_BATCH) /* the one-work-item form's slice step */
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
#endif

/* ---- the update: num_delete particles, each from its start point --------
 * A particle's state is D + 2 values: x, then its log-likelihood and
 * log-prior (one array each way keeps the host's transfers few). Item j of
 * iteration t uses stream t (t >= 1) of item j: the same draws whatever
 * the chunk and the device. */
#define CLV_NSS__STATE (CLV_NSS_DIM + 2)

#if !defined(CLV_NSS_GROUP) && !defined(CLV_NSS_BATCH)
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
#endif

/* ---- cooperative likelihoods: one work group per particle ----------------
 * The same sampler as above, written as a walker that lane 0 advances
 * until it needs a likelihood: the point goes to every lane through
 * __local memory, the group evaluates it, and lane 0 takes the result.
 * Lane 0 draws the same random numbers in the same order and makes the
 * same decisions as clv_nss__slice_step; the other lanes only evaluate.
 * The loops holding barriers (the user's and the two below) run the same
 * number of times on every lane, since every lane reads the same flag.
 * A batched host callback (-DCLV_NSS_BATCH) uses the same walker, one work
 * item per particle, its state kept in __global memory between rounds. */
#if defined(CLV_NSS_GROUP) || defined(CLV_NSS_BATCH)

#define CLV_NSS__START 0  /* draw a direction, a slice and an interval */
#define CLV_NSS__LEFT 1   /* stepping out to the left */
#define CLV_NSS__RIGHT 2  /* stepping out to the right */
#define CLV_NSS__SHRINK 3 /* shrinkage */

typedef struct clv_nss__slice {
    clv_real d[CLV_NSS_DIM];     /* the direction */
    clv_real x_new[CLV_NSS_DIM]; /* the point waiting for its likelihood */
    clv_real lp_new, logslice, left, right, t;
    int j, k, shrinks, step, phase;
} clv_nss__slice;

/* x + t d and its prior; 1 when it lies in the slice (its likelihood is
 * needed), 0 when the prior already rules it out. */
inline int clv_nss__propose(const clv_nss__walker *w, clv_nss__slice *sl, __global const clv_real *data)
{
    for (int q = 0; q < CLV_NSS_DIM; ++q) sl->x_new[q] = w->x[q] + sl->t * sl->d[q];
    sl->lp_new = logprior(sl->x_new, data);
    return sl->lp_new >= sl->logslice;
}

/* A rejected shrinkage proposal narrows the interval (Neal 2003, fig. 5). */
inline void clv_nss__narrow(clv_nss__slice *sl)
{
    if (sl->t < 0) sl->left = sl->t;
    else sl->right = sl->t;
}

/* Advance the walker to its next likelihood evaluation (1, the point in
 * sl->x_new) or to the end of its num_inner_steps slice steps (0). */
inline int clv_nss__next(clv_nss__walker *w, clv_nss__slice *sl, clv_rng *r, __global const clv_real *chol,
                         __global const clv_real *data, const int num_inner_steps, const int max_steps,
                         const int max_shrinkage)
{
    for (;;) {
        if (sl->phase == CLV_NSS__START) {
            if (sl->step == num_inner_steps) return 0;
            clv_nss__direction(r, chol, sl->d);
            sl->logslice = w->lp + log(clv_nss__uniform(r));
            sl->left = -clv_nss__uniform(r);
            sl->right = sl->left + 1;
            sl->j = (int)floor((clv_real)max_steps * clv_nss__uniform(r));
            if (sl->j > max_steps - 1) sl->j = max_steps - 1;
            sl->k = max_steps - 1 - sl->j;
            sl->shrinks = 0;
            sl->phase = CLV_NSS__LEFT;
        } else if (sl->phase == CLV_NSS__LEFT) {
            sl->t = sl->left;
            if (sl->j > 0 && clv_nss__propose(w, sl, data)) return 1;
            sl->phase = CLV_NSS__RIGHT;
        } else if (sl->phase == CLV_NSS__RIGHT) {
            sl->t = sl->right;
            if (sl->k > 0 && clv_nss__propose(w, sl, data)) return 1;
            sl->phase = CLV_NSS__SHRINK;
        } else {
            if (sl->shrinks == max_shrinkage) {
                w->exhausted += 1; /* stay put, as blackjax does */
                sl->step += 1;
                sl->phase = CLV_NSS__START;
                continue;
            }
            sl->shrinks += 1;
            sl->t = sl->left + clv_nss__uniform(r) * (sl->right - sl->left);
            if (clv_nss__propose(w, sl, data)) return 1;
            clv_nss__narrow(sl);
        }
    }
}

/* The likelihood of the waiting point: the walker's next move. */
inline void clv_nss__take(clv_nss__walker *w, clv_nss__slice *sl, const clv_real ll)
{
    const int inside = ll > w->threshold;
    w->evals += 1;
    if (sl->phase == CLV_NSS__LEFT) {
        if (inside) {
            sl->left -= 1;
            sl->j -= 1;
        } else {
            sl->phase = CLV_NSS__RIGHT;
        }
    } else if (sl->phase == CLV_NSS__RIGHT) {
        if (inside) {
            sl->right += 1;
            sl->k -= 1;
        } else {
            sl->phase = CLV_NSS__SHRINK;
        }
    } else if (inside) {
        for (int q = 0; q < CLV_NSS_DIM; ++q) w->x[q] = sl->x_new[q];
        w->ll = ll;
        w->lp = sl->lp_new;
        sl->step += 1;
        sl->phase = CLV_NSS__START;
    } else {
        clv_nss__narrow(sl);
    }
}

#endif /* the walker */

#ifdef CLV_NSS_GROUP
/* Lane 0's point (and a flag: more work or not) to every lane: shared
 * holds CLV_NSS_DIM + 1 values. */
inline int clv_nss__share(const clv_real *x_lead, const int flag, clv_real *x, __local clv_real *shared)
{
    if (clv_lane() == 0) {
        for (int q = 0; q < CLV_NSS_DIM; ++q) shared[q] = x_lead[q];
        shared[CLV_NSS_DIM] = (clv_real)flag;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int q = 0; q < CLV_NSS_DIM; ++q) x[q] = shared[q];
    const int got = (int)shared[CLV_NSS_DIM];
    barrier(CLK_LOCAL_MEM_FENCE); /* every lane has read before lane 0 writes again */
    return got;
}

__kernel void clv_nss__init(CLV_ITEMS,
                            __global clv_real *x_out,   /* n_live x D */
                            __global clv_real *ll_out,  /* n_live */
                            __global clv_real *lp_out,  /* n_live */
                            __global int *code_out,     /* n_live */
                            __global const clv_real *data,
                            __global clv_real *work,    /* scratch */
                            const int one_per_group,
                            __local clv_real *tmp,      /* lanes x CLV_NSS_TMP */
                            __local clv_real *shared)   /* CLV_NSS_DIM + 1 */
{
    if (!clv_in_batch()) return; /* the whole group: clv_item() is the group's */
    clv_real u[CLV_NSS_DIM], x_lead[CLV_NSS_DIM], x[CLV_NSS_DIM], lp = -INFINITY;
    int code = CLV_NSS__OK;
    if (clv_lane() == 0) {
        clv_rng r = clv_rng_init(clv_seed(), clv_item(), 0u);
        for (int k = 0; k < CLV_NSS_DIM; ++k) u[k] = clv_uniform(&r);
        prior_transform(u, x_lead, data);
        for (int k = 0; k < CLV_NSS_DIM; ++k)
            if (!isfinite(x_lead[k])) code = CLV_NSS__BAD_POINT;
        if (code == CLV_NSS__OK) {
            lp = logprior(x_lead, data);
            if (!(lp > -INFINITY)) code = CLV_NSS__BAD_PRIOR;
        }
    } else {
        for (int k = 0; k < CLV_NSS_DIM; ++k) x_lead[k] = 0;
    }
    code = clv_nss__share(x_lead, code, x, shared);
    const clv_real ll = code == CLV_NSS__OK ? loglikelihood(x, data, CLV_NSS__WORK(work), tmp) : -INFINITY;
    (void)one_per_group;
    if (clv_lane() != 0) return;
    const ulong i = clv_local();
    for (int k = 0; k < CLV_NSS_DIM; ++k) x_out[i * CLV_NSS_DIM + k] = x_lead[k];
    ll_out[i] = ll;
    lp_out[i] = lp;
    code_out[i] = code;
}

__kernel void clv_nss__update(CLV_ITEMS,
                              __global const clv_real *start,  /* num_delete x (D + 2) */
                              __global clv_real *state_out,    /* num_delete x (D + 2) */
                              __global uint *counts_out,       /* num_delete x 2 */
                              __global const clv_real *chol,   /* D x D, lower */
                              __global const clv_real *data,
                              __global clv_real *work,         /* scratch */
                              const clv_real threshold,
                              const uint iteration,
                              const int num_inner_steps,
                              const int max_steps,
                              const int max_shrinkage,
                              const int one_per_group,
                              __local clv_real *tmp,           /* lanes x CLV_NSS_TMP */
                              __local clv_real *shared)        /* CLV_NSS_DIM + 1 */
{
    if (!clv_in_batch()) return; /* the whole group */
    const ulong i = clv_local();
    clv_rng r = clv_rng_init(clv_seed(), clv_item(), iteration);
    clv_nss__walker w;
    clv_nss__slice sl;
    clv_real x[CLV_NSS_DIM];
    __global const clv_real *in = start + i * CLV_NSS__STATE;
    for (int k = 0; k < CLV_NSS_DIM; ++k) w.x[k] = in[k];
    w.ll = in[CLV_NSS_DIM];
    w.lp = in[CLV_NSS_DIM + 1];
    w.threshold = threshold;
    w.evals = 0;
    w.exhausted = 0;
    sl.step = 0;
    sl.phase = CLV_NSS__START;
    for (int k = 0; k < CLV_NSS_DIM; ++k) sl.x_new[k] = 0;
    __global clv_real *my_work = CLV_NSS__WORK(work);
    (void)one_per_group;
    /* No break out of this loop, and the likelihood is called on every
     * pass: PoCL 3.1's work-group compiler hung the group on a loop left
     * by a break after a barrier (with 3 or more lanes). So the pass that
     * finds the walker done evaluates its current point once more, and the
     * value is not used. */
    int more = 1;
    while (more) {
        int lead_more = 0;
        if (clv_lane() == 0) {
            lead_more = clv_nss__next(&w, &sl, &r, chol, data, num_inner_steps, max_steps, max_shrinkage);
            if (!lead_more)
                for (int k = 0; k < CLV_NSS_DIM; ++k) sl.x_new[k] = w.x[k];
        }
        more = clv_nss__share(sl.x_new, lead_more, x, shared);
        const clv_real ll = loglikelihood(x, data, my_work, tmp);
        if (clv_lane() == 0 && more) clv_nss__take(&w, &sl, ll);
    }
    if (clv_lane() != 0) return;
    __global clv_real *out = state_out + i * CLV_NSS__STATE;
    for (int k = 0; k < CLV_NSS_DIM; ++k) out[k] = w.x[k];
    out[CLV_NSS_DIM] = w.ll;
    out[CLV_NSS_DIM + 1] = w.lp;
    counts_out[2 * i] = w.evals;
    counts_out[2 * i + 1] = w.exhausted;
}
#endif

/* ---- batched host-callback likelihoods (-DCLV_NSS_BATCH) ------------------
 * The update runs in rounds over the particles: clv_nss__walk_start and
 * clv_nss__walk_take advance each particle's walker (the cooperative
 * form's, so the same random numbers in the same order and the same
 * decisions as clv_nss__slice_step) to its next point that needs a
 * likelihood (written to prop, need = 1) or to the end of its walk (need =
 * 0); the host has the callback evaluate the waiting points, a chunk at a
 * time, and clv_nss__walk_take takes their values. Between launches a
 * particle's walker, slice and random stream live in CLV_NSS__REALS reals
 * and CLV_NSS__WORDS words of __global memory. */
#ifdef CLV_NSS_BATCH
#define CLV_NSS__REALS (3 * CLV_NSS_DIM + 8)
#define CLV_NSS__WORDS 18

/* The initial draws without the likelihood: clv_nss__init's first half. */
__kernel void clv_nss__draw(CLV_ITEMS,
                            __global clv_real *x_out,   /* n_live x D */
                            __global clv_real *lp_out,  /* n_live */
                            __global int *code_out,     /* n_live */
                            __global const clv_real *data)
{
    CLV_GUARD();
    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 0u);
    clv_real u[CLV_NSS_DIM], x[CLV_NSS_DIM];
    for (int k = 0; k < CLV_NSS_DIM; ++k) u[k] = clv_uniform(&r);
    prior_transform(u, x, data);
    int code = CLV_NSS__OK;
    for (int k = 0; k < CLV_NSS_DIM; ++k)
        if (!isfinite(x[k])) code = CLV_NSS__BAD_POINT;
    clv_real lp = -INFINITY;
    if (code == CLV_NSS__OK) {
        lp = logprior(x, data);
        if (!(lp > -INFINITY)) code = CLV_NSS__BAD_PRIOR;
    }
    const ulong i = clv_local();
    for (int k = 0; k < CLV_NSS_DIM; ++k) x_out[i * CLV_NSS_DIM + k] = x[k];
    lp_out[i] = lp;
    code_out[i] = code;
}

inline void clv_nss__save(const clv_nss__walker *w, const clv_nss__slice *sl, const clv_rng *r,
                          __global clv_real *re, __global uint *wo)
{
    for (int q = 0; q < CLV_NSS_DIM; ++q) {
        re[q] = w->x[q];
        re[CLV_NSS_DIM + q] = sl->d[q];
        re[2 * CLV_NSS_DIM + q] = sl->x_new[q];
    }
    __global clv_real *v = re + 3 * CLV_NSS_DIM;
    v[0] = w->ll;
    v[1] = w->lp;
    v[2] = w->threshold;
    v[3] = sl->lp_new;
    v[4] = sl->logslice;
    v[5] = sl->left;
    v[6] = sl->right;
    v[7] = sl->t;
    wo[0] = w->evals;
    wo[1] = w->exhausted;
    wo[2] = (uint)sl->j;
    wo[3] = (uint)sl->k;
    wo[4] = (uint)sl->shrinks;
    wo[5] = (uint)sl->step;
    wo[6] = (uint)sl->phase;
    wo[7] = r->key.x;
    wo[8] = r->key.y;
    wo[9] = r->stream;
    wo[10] = r->draw;
    wo[11] = (uint)r->item;
    wo[12] = (uint)(r->item >> 32);
    wo[13] = r->block.x;
    wo[14] = r->block.y;
    wo[15] = r->block.z;
    wo[16] = r->block.w;
    wo[17] = r->used;
}

inline void clv_nss__load(clv_nss__walker *w, clv_nss__slice *sl, clv_rng *r, __global const clv_real *re,
                          __global const uint *wo)
{
    for (int q = 0; q < CLV_NSS_DIM; ++q) {
        w->x[q] = re[q];
        sl->d[q] = re[CLV_NSS_DIM + q];
        sl->x_new[q] = re[2 * CLV_NSS_DIM + q];
    }
    __global const clv_real *v = re + 3 * CLV_NSS_DIM;
    w->ll = v[0];
    w->lp = v[1];
    w->threshold = v[2];
    sl->lp_new = v[3];
    sl->logslice = v[4];
    sl->left = v[5];
    sl->right = v[6];
    sl->t = v[7];
    w->evals = wo[0];
    w->exhausted = wo[1];
    sl->j = (int)wo[2];
    sl->k = (int)wo[3];
    sl->shrinks = (int)wo[4];
    sl->step = (int)wo[5];
    sl->phase = (int)wo[6];
    r->key = (uint2)(wo[7], wo[8]);
    r->stream = wo[9];
    r->draw = wo[10];
    r->item = (ulong)wo[11] | ((ulong)wo[12] << 32);
    r->block = (uint4)(wo[13], wo[14], wo[15], wo[16]);
    r->used = wo[17];
}

/* Walk particle i to its next point that needs a likelihood, or to the
 * end; keep the state for the next round. */
inline void clv_nss__walk(clv_nss__walker *w, clv_nss__slice *sl, clv_rng *r, __global const clv_real *chol,
                          __global const clv_real *data, const int num_inner_steps, const int max_steps,
                          const int max_shrinkage, const ulong i, __global clv_real *reals, __global uint *words,
                          __global clv_real *prop, __global int *need)
{
    const int more = clv_nss__next(w, sl, r, chol, data, num_inner_steps, max_steps, max_shrinkage);
    for (int q = 0; q < CLV_NSS_DIM; ++q) prop[i * CLV_NSS_DIM + q] = more ? sl->x_new[q] : w->x[q];
    need[i] = more;
    clv_nss__save(w, sl, r, reals + i * CLV_NSS__REALS, words + i * CLV_NSS__WORDS);
}

__kernel void clv_nss__walk_start(CLV_ITEMS,
                                  __global const clv_real *start, /* num_delete x (D + 2) */
                                  __global clv_real *reals,       /* num_delete x CLV_NSS__REALS */
                                  __global uint *words,           /* num_delete x CLV_NSS__WORDS */
                                  __global clv_real *prop,        /* num_delete x D: points to evaluate */
                                  __global int *need,             /* num_delete: 1 when prop waits */
                                  __global const clv_real *chol,  /* D x D, lower */
                                  __global const clv_real *data,
                                  const clv_real threshold,
                                  const uint iteration,
                                  const int num_inner_steps,
                                  const int max_steps,
                                  const int max_shrinkage)
{
    CLV_GUARD();
    const ulong i = clv_local();
    clv_rng r = clv_rng_init(clv_seed(), clv_item(), iteration);
    clv_nss__walker w;
    clv_nss__slice sl;
    __global const clv_real *in = start + i * CLV_NSS__STATE;
    for (int k = 0; k < CLV_NSS_DIM; ++k) {
        w.x[k] = in[k];
        sl.d[k] = 0;
        sl.x_new[k] = 0;
    }
    w.ll = in[CLV_NSS_DIM];
    w.lp = in[CLV_NSS_DIM + 1];
    w.threshold = threshold;
    w.evals = 0;
    w.exhausted = 0;
    sl.lp_new = sl.logslice = sl.left = sl.right = sl.t = 0;
    sl.j = sl.k = sl.shrinks = 0;
    sl.step = 0;
    sl.phase = CLV_NSS__START;
    clv_nss__walk(&w, &sl, &r, chol, data, num_inner_steps, max_steps, max_shrinkage, i, reals, words, prop, need);
}

__kernel void clv_nss__walk_take(CLV_ITEMS,
                                 __global clv_real *reals,
                                 __global uint *words,
                                 __global clv_real *prop,
                                 __global int *need,
                                 __global const clv_real *ll,    /* num_delete: prop's likelihoods */
                                 __global const clv_real *chol,
                                 __global const clv_real *data,
                                 const int num_inner_steps,
                                 const int max_steps,
                                 const int max_shrinkage)
{
    CLV_GUARD();
    const ulong i = clv_local();
    if (!need[i]) return;
    clv_rng r;
    clv_nss__walker w;
    clv_nss__slice sl;
    clv_nss__load(&w, &sl, &r, reals + i * CLV_NSS__REALS, words + i * CLV_NSS__WORDS);
    clv_nss__take(&w, &sl, ll[i]);
    clv_nss__walk(&w, &sl, &r, chol, data, num_inner_steps, max_steps, max_shrinkage, i, reals, words, prop, need);
}

/* The finished walkers as clv_nss__update writes them. */
__kernel void clv_nss__walk_end(CLV_ITEMS,
                                __global const clv_real *reals,
                                __global const uint *words,
                                __global clv_real *state_out,   /* num_delete x (D + 2) */
                                __global uint *counts_out)      /* num_delete x 2 */
{
    CLV_GUARD();
    const ulong i = clv_local();
    __global const clv_real *re = reals + i * CLV_NSS__REALS;
    __global clv_real *out = state_out + i * CLV_NSS__STATE;
    for (int k = 0; k < CLV_NSS_DIM; ++k) out[k] = re[k];
    out[CLV_NSS_DIM] = re[3 * CLV_NSS_DIM];
    out[CLV_NSS_DIM + 1] = re[3 * CLV_NSS_DIM + 1];
    counts_out[2 * i] = words[i * CLV_NSS__WORDS];
    counts_out[2 * i + 1] = words[i * CLV_NSS__WORDS + 1];
}
#endif
