/* clvmap NUTS: the device side (OpenCL C 1.2).
 *
 * This file is the single source of truth: it is embedded into
 * include/clvmap_nuts.h by tools/embed.c (ninja -C BUILD embed_nuts), and
 * tests/nuts/test_nuts_embed.c fails when the embedded copy is stale.
 *
 * clv_nuts_new compiles, after the core's prelude: this file, then the
 * user's source (with its own #line), with -DCLV_NUTS_DIM=<dim> and
 * -DCLV_NUTS_MAX_DEPTH=<checkpoint capacity>. The user's source defines
 * logdensity, declared below.
 *
 * Algorithm: the multinomial No-U-Turn sampler (Hoffman & Gelman, JMLR 15,
 * 2014; Betancourt, "A conceptual introduction to HMC", arXiv:1701.02434,
 * 2017, appendix A) with NumPyro's iterative tree building (numpyro/infer/
 * hmc_util.py: _iterative_build_subtree, _leaf_idx_to_ckpt_idxs,
 * _is_iterative_turning, _biased_transition_kernel), since OpenCL C has no
 * recursion; Stan's windowed adaptation (Stan Reference Manual, "HMC
 * algorithm parameters"; stan/mcmc/windowed_adaptation.hpp,
 * stepsize_adaptation.hpp, welford_var_estimator.hpp). One work item runs one
 * chain for a block of iterations; everything a chain carries from one block
 * to the next is in its row of the state array. */

/* ---- what the user defines ----------------------------------------------
 * Returns log p(x) up to a constant and writes its gradient into grad.
 * x and grad: CLV_NUTS_DIM values of this chain's own __global scratch.
 * data: the model's replicated array. NaN or infinite values are allowed: the
 * sampler treats them as a divergence.
 *
 * Cooperative models (clv_nuts_model.cooperative; -DCLV_NUTS_GROUP): one
 * work group runs one chain, and logdensity takes a fourth parameter, tmp,
 * a __local buffer of clv_lanes() values for the prelude's clv_group_*
 * helpers. All lanes of the group call it together with the same x (all of
 * it readable by every lane); each lane works on a share (CLV_GROUP_FOR over
 * the observations, say) and the group combines the shares. It must return
 * the same value on every lane and leave every element of grad written by
 * exactly one lane (the sampler waits for all lanes before it reads grad).
 * The tree building runs on every lane with the same numbers; vectors of
 * length CLV_NUTS_DIM are updated in strided shares (lane k % L owns
 * element k), their dot products are group sums, and scalars in __global
 * memory are written by lane 0 between barriers.
 * Rule for this file: no call that holds a barrier under a condition and
 * no early exit from a loop that holds one (steps run unconditionally and
 * act on a flag). PoCL's work-group compiler replicates the code after
 * each conditional barrier; with them the cooperative run kernel did not
 * build in 15 minutes, without them it builds in about 2 (2 loaded cores).
 * The one-work-item form's arithmetic is the same either way. */
#ifdef CLV_NUTS_GROUP
clv_real logdensity(__global const clv_real *x, __global clv_real *grad, __global const clv_real *data,
                    __local clv_real *tmp);
#else
clv_real logdensity(__global const clv_real *x, __global clv_real *grad, __global const clv_real *data);
#endif

/* Models with generated quantities (clv_nuts_model.n_generated > 0;
 * -DCLV_NUTS_N_GENERATED=<n>) also define generated: from a draw z
 * (CLV_NUTS_DIM values) it writes CLV_NUTS_N_GENERATED values into out
 * (constrained parameters, transformed parameters, generated quantities).
 * It runs after the sampler, in a kernel of its own, so the draws are
 * those of the same model without it. */
#if defined(CLV_NUTS_N_GENERATED) && CLV_NUTS_N_GENERATED > 0
void generated(__global const clv_real *z, __global clv_real *out, __global const clv_real *data);
#endif

#ifndef CLV_NUTS_DIM
#error "clvmap_nuts: CLV_NUTS_DIM must be defined (clv_nuts_new does it)"
#endif
#ifndef CLV_NUTS_MAX_DEPTH
#define CLV_NUTS_MAX_DEPTH 10
#endif
#define CLV_NUTS__D CLV_NUTS_DIM
/* Cooperative models: tmp holds clv_lanes() x CLV_NUTS_TMP values (the
 * model may use all of them, e.g. clv_group_sum_n over its gradient). */
#define CLV_NUTS_TMP (CLV_NUTS_DIM > 2 * CLV_NUTS_MAX_DEPTH + 2 ? CLV_NUTS_DIM : 2 * CLV_NUTS_MAX_DEPTH + 2)

/* One chain per work item, or per work group (cooperative models): the
 * same code, with these in the places where the two differ. In the one
 * work item form they vanish, and the arithmetic is the form's own. */
#ifdef CLV_NUTS_GROUP
#define CLV_NUTS__FOR(k) for (int k = (int)clv_lane(); k < CLV_NUTS__D; k += (int)clv_lanes())
#define CLV_NUTS__MINE(k) ((size_t)(k) % clv_lanes() == clv_lane())
#define CLV_NUTS__SUM(v) clv_group_sum((v), tmp)
#define CLV_NUTS__SYNC() barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE)
#define CLV_NUTS__LEAD (clv_lane() == 0)
#define CLV_NUTS__TMP , __local clv_real *tmp /* in parameter lists */
#define CLV_NUTS__T , tmp                     /* in calls */
#else
#define CLV_NUTS__FOR(k) for (int k = 0; k < CLV_NUTS__D; ++k)
#define CLV_NUTS__MINE(k) 1
#define CLV_NUTS__SUM(v) (v)
#define CLV_NUTS__SYNC() ((void)0)
#define CLV_NUTS__LEAD 1
#define CLV_NUTS__TMP
#define CLV_NUTS__T
#endif

/* The chain's state row (kept between launches; host: CLV_NUTS__STATE_*). */
#define CLV_NUTS__S_Z 0                        /* position */
#define CLV_NUTS__S_G (1 * CLV_NUTS__D)        /* gradient of log p at z */
#define CLV_NUTS__S_M (2 * CLV_NUTS__D)        /* inverse mass matrix (diagonal) */
#define CLV_NUTS__S_WMEAN (3 * CLV_NUTS__D)    /* Welford running mean */
#define CLV_NUTS__S_WM2 (4 * CLV_NUTS__D)      /* Welford sum of squares */
#define CLV_NUTS__S_LP (5 * CLV_NUTS__D + 0)   /* log p at z */
#define CLV_NUTS__S_EPS (5 * CLV_NUTS__D + 1)  /* step size of the next iteration */
#define CLV_NUTS__S_XBAR (5 * CLV_NUTS__D + 2) /* dual averaging: averaged log step */
#define CLV_NUTS__S_SBAR (5 * CLV_NUTS__D + 3) /* dual averaging: averaged statistic */
#define CLV_NUTS__S_MU (5 * CLV_NUTS__D + 4)   /* dual averaging: shrinkage target */
#define CLV_NUTS__S_DAN (5 * CLV_NUTS__D + 5)  /* dual averaging: iterations since restart */
#define CLV_NUTS__S_WN (5 * CLV_NUTS__D + 6)   /* Welford: samples in the window */
#define CLV_NUTS__STATE (5 * CLV_NUTS__D + 8)

/* The chain's scratch (one chunk's worth; nothing survives a launch). */
#define CLV_NUTS__ZL 0                 /* left end of the trajectory: z, r, grad */
#define CLV_NUTS__RL (1 * CLV_NUTS__D)
#define CLV_NUTS__GL (2 * CLV_NUTS__D)
#define CLV_NUTS__ZR (3 * CLV_NUTS__D) /* right end */
#define CLV_NUTS__RR (4 * CLV_NUTS__D)
#define CLV_NUTS__GR (5 * CLV_NUTS__D)
#define CLV_NUTS__ZP (6 * CLV_NUTS__D) /* the trajectory's proposal: z, grad */
#define CLV_NUTS__GP (7 * CLV_NUTS__D)
#define CLV_NUTS__RSUM (8 * CLV_NUTS__D) /* sum of the trajectory's momenta */
#define CLV_NUTS__SZP (9 * CLV_NUTS__D)  /* the new subtree's proposal: z, grad */
#define CLV_NUTS__SGP (10 * CLV_NUTS__D)
#define CLV_NUTS__SRSUM (11 * CLV_NUTS__D) /* the new subtree's momentum sum */
#define CLV_NUTS__CKR (12 * CLV_NUTS__D)   /* U-turn checkpoints: momenta */
#define CLV_NUTS__CKS ((12 + CLV_NUTS_MAX_DEPTH) * CLV_NUTS__D) /* and momentum sums */
#define CLV_NUTS__SCRATCH ((12 + 2 * CLV_NUTS_MAX_DEPTH) * CLV_NUTS__D)

/* The replicated configuration (host: clv_nuts__config). */
#define CLV_NUTS__C_DELTA 0     /* target acceptance statistic */
#define CLV_NUTS__C_GAMMA 1
#define CLV_NUTS__C_T0 2
#define CLV_NUTS__C_KAPPA 3
#define CLV_NUTS__C_MAX_DE 4    /* energy error that counts as a divergence */
#define CLV_NUTS__C_RADIUS 5    /* initial points uniform on (-radius, radius)^D */
#define CLV_NUTS__C_EPS0 6      /* initial step size */
#define CLV_NUTS__C_HEURISTIC 7 /* nonzero: Stan's init_stepsize */
#define CLV_NUTS__C_FD_STEP 8   /* relative step of the central differences */
#define CLV_NUTS__C_ADAPT_EPS 9 /* nonzero: adapt the step size in warmup */

/* Schedule flags of a warmup iteration (host: clv_nuts__schedule). */
#define CLV_NUTS__ADD 1 /* the draw goes into the mass matrix estimate */
#define CLV_NUTS__END 2 /* a metric window ends after this draw */

/* Per-draw statistics (host: CLV_NUTS__STAT_*). */
#define CLV_NUTS__N_STATS 7

typedef struct clv_nuts__info {
    clv_real accept_sum; /* sum over new leaves of min(1, exp(H0 - H)) */
    int n_leapfrog;
    int depth;
    int divergent;
    clv_real energy;     /* H at the chosen point */
} clv_nuts__info;

typedef struct clv_nuts__subtree {
    clv_real weight;     /* log of the sum of exp(-(H - H0)) over its leaves */
    clv_real logp, energy; /* at its proposal */
    int turning, diverging;
} clv_nuts__subtree;

/* ---- small helpers ------------------------------------------------------ */

void clv_nuts__copy(__global clv_real *dst, __global const clv_real *src)
{
    CLV_NUTS__FOR(k) dst[k] = src[k];
}

clv_real clv_nuts__logaddexp(clv_real a, clv_real b)
{
    const clv_real hi = fmax(a, b), lo = fmin(a, b);
    if (hi == -INFINITY) return hi;
    return hi + log1p(exp(lo - hi));
}

clv_real clv_nuts__kinetic(__global const clv_real *m, __global const clv_real *r CLV_NUTS__TMP)
{
    clv_real k = 0;
    CLV_NUTS__FOR(i) k += m[i] * r[i] * r[i];
    return (clv_real)0.5 * CLV_NUTS__SUM(k);
}

/* Momentum r ~ N(0, M) with M = diag(1 / m). Every lane draws every
 * normal (the stream is sequential) and keeps its own. */
void clv_nuts__momentum(__global clv_real *r, __global const clv_real *m, clv_rng *rng)
{
    for (int k = 0; k < CLV_NUTS__D; ++k) {
        const clv_real v = clv_normal(rng);
        if (CLV_NUTS__MINE(k)) r[k] = v / sqrt(m[k]);
    }
}

/* log p and its gradient, with *ok cleared when either is not finite (a NaN
 * gradient would otherwise poison every later step of the chain). */
clv_real clv_nuts__eval(__global const clv_real *z, __global clv_real *g, __global const clv_real *data,
                        int *ok CLV_NUTS__TMP)
{
    CLV_NUTS__SYNC(); /* every lane's share of z is written */
    const clv_real lp = logdensity(z, g, data CLV_NUTS__T);
    CLV_NUTS__SYNC(); /* every element of g is written */
    int fine = isfinite(lp);
    CLV_NUTS__FOR(k) fine &= isfinite(g[k]);
#ifdef CLV_NUTS_GROUP
    fine = CLV_NUTS__SUM((clv_real)(fine ? 0 : 1)) == 0;
#endif
    *ok = fine;
    return lp;
}

/* One velocity-Verlet (leapfrog) step of signed size eps, in place. */
clv_real clv_nuts__leapfrog(__global clv_real *z, __global clv_real *r, __global clv_real *g,
                            __global const clv_real *m, clv_real eps, __global const clv_real *data,
                            int *ok CLV_NUTS__TMP)
{
    const clv_real half_eps = (clv_real)0.5 * eps;
    CLV_NUTS__FOR(k) {
        r[k] += half_eps * g[k];
        z[k] += eps * m[k] * r[k];
    }
    const clv_real lp = clv_nuts__eval(z, g, data, ok CLV_NUTS__T);
    CLV_NUTS__FOR(k) r[k] += half_eps * g[k];
    return lp;
}

/* The generalised no-U-turn criterion over a trajectory with end momenta
 * rl, rr and momentum sum rsum (Betancourt 2017, A.4.2; NumPyro's
 * _is_turning, which subtracts half of each end from the sum). */
int clv_nuts__turning(__global const clv_real *m, __global const clv_real *rl, __global const clv_real *rr,
                      __global const clv_real *rsum CLV_NUTS__TMP)
{
    clv_real left = 0, right = 0;
    CLV_NUTS__FOR(k) {
        const clv_real s = rsum[k] - (clv_real)0.5 * (rl[k] + rr[k]);
        left += m[k] * rl[k] * s;
        right += m[k] * rr[k] * s;
    }
#ifdef CLV_NUTS_GROUP
    clv_real both[2] = { left, right };
    clv_group_sum_n(both, 2, tmp);
    left = both[0];
    right = both[1];
#endif
    return left <= 0 || right <= 0;
}

/* NumPyro's _leaf_idx_to_ckpt_idxs: the checkpoints that leaf n closes.
 * idx_max = set bits of n except the lowest; the number of subtrees that end
 * at n is the number of trailing ones. */
void clv_nuts__ckpt_idxs(int n, int *idx_min, int *idx_max)
{
    int ones = 0, trailing = 0;
    for (int v = n >> 1; v > 0; v >>= 1) ones += v & 1;
    for (int v = n; (v & 1) != 0; v >>= 1) ++trailing;
    *idx_max = ones;
    *idx_min = ones - trailing + 1;
}

/* NumPyro's _is_iterative_turning: does any subtree that ends at the newest
 * leaf (momentum r) make a U-turn? The subtree from checkpoint i has momentum
 * sum rsum - cks[i] + ckr[i]. */
int clv_nuts__iterative_turning(__global const clv_real *m, __global const clv_real *r,
                                __global const clv_real *rsum, __global const clv_real *sc, int idx_min,
                                int idx_max CLV_NUTS__TMP)
{
#ifdef CLV_NUTS_GROUP
    /* every checkpoint's two products in one group reduction (no barrier
     * inside the loop); the answer is the same as stopping at the first */
    clv_real parts[2 * CLV_NUTS_MAX_DEPTH + 2];
    int n = 0;
    for (int i = idx_max; i >= idx_min; --i) {
        __global const clv_real *ckr = sc + CLV_NUTS__CKR + i * CLV_NUTS__D;
        __global const clv_real *cks = sc + CLV_NUTS__CKS + i * CLV_NUTS__D;
        clv_real left = 0, right = 0;
        CLV_NUTS__FOR(k) {
            const clv_real s = rsum[k] - cks[k] + ckr[k] - (clv_real)0.5 * (ckr[k] + r[k]);
            left += m[k] * ckr[k] * s;
            right += m[k] * r[k] * s;
        }
        parts[n++] = left;
        parts[n++] = right;
    }
    clv_group_sum_n(parts, n, tmp);
    for (int j = 0; j < n; j += 2)
        if (parts[j] <= 0 || parts[j + 1] <= 0) return 1;
    return 0;
#else
    for (int i = idx_max; i >= idx_min; --i) {
        __global const clv_real *ckr = sc + CLV_NUTS__CKR + i * CLV_NUTS__D;
        __global const clv_real *cks = sc + CLV_NUTS__CKS + i * CLV_NUTS__D;
        clv_real left = 0, right = 0;
        for (int k = 0; k < CLV_NUTS__D; ++k) {
            const clv_real s = rsum[k] - cks[k] + ckr[k] - (clv_real)0.5 * (ckr[k] + r[k]);
            left += m[k] * ckr[k] * s;
            right += m[k] * r[k] * s;
        }
        if (left <= 0 || right <= 0) return 1;
    }
    return 0;
#endif
}

/* ---- one NUTS transition ------------------------------------------------- */

/* Build a subtree of 2^depth leaves off one end of the trajectory (NumPyro's
 * _iterative_build_subtree): leaves join the subtree's proposal by uniform
 * multinomial sampling; the walk stops early at a divergence or a U-turn of
 * any sub-subtree ending at the new leaf. The trajectory's end moves in
 * place: when the walk stops early the whole transition ends anyway. */
clv_nuts__subtree clv_nuts__build_subtree(__global clv_real *sc, __global const clv_real *m, int depth,
                                          int right, clv_real eps, clv_real e0, clv_real max_de,
                                          __global const clv_real *data, clv_rng *rng,
                                          clv_nuts__info *info CLV_NUTS__TMP)
{
    __global clv_real *z = sc + (right ? CLV_NUTS__ZR : CLV_NUTS__ZL);
    __global clv_real *r = sc + (right ? CLV_NUTS__RR : CLV_NUTS__RL);
    __global clv_real *g = sc + (right ? CLV_NUTS__GR : CLV_NUTS__GL);
    __global clv_real *srsum = sc + CLV_NUTS__SRSUM;
    const clv_real step = right ? eps : -eps;
    clv_nuts__subtree t;
    t.weight = -INFINITY;
    t.logp = 0;
    t.energy = 0;
    t.turning = 0;
    t.diverging = 0;
    const int n_leaves = 1 << depth;
    int go = 1;
    for (int leaf = 0; go && leaf < n_leaves; ++leaf) {
        int ok;
        const clv_real lp = clv_nuts__leapfrog(z, r, g, m, step, data, &ok CLV_NUTS__T);
        const clv_real energy = -lp + clv_nuts__kinetic(m, r CLV_NUTS__T);
        clv_real delta = energy - e0;
        if (!ok || isnan(delta)) delta = INFINITY; /* NumPyro: NaN energy is a divergence */
        info->accept_sum += delta > 0 ? exp(-delta) : (clv_real)1;
        info->n_leapfrog += 1;
        const clv_real w = -delta;
        const clv_real u = clv_uniform(rng);
        const clv_real combined = clv_nuts__logaddexp(t.weight, w);
        if (leaf == 0 || log(u) < w - combined) {
            clv_nuts__copy(sc + CLV_NUTS__SZP, z);
            clv_nuts__copy(sc + CLV_NUTS__SGP, g);
            t.logp = lp;
            t.energy = energy;
        }
        t.weight = combined;
        CLV_NUTS__FOR(k) srsum[k] = (leaf == 0 ? 0 : srsum[k]) + r[k];
        int idx_min, idx_max;
        clv_nuts__ckpt_idxs(leaf, &idx_min, &idx_max);
        if ((leaf & 1) == 0) {
            clv_nuts__copy(sc + CLV_NUTS__CKR + idx_max * CLV_NUTS__D, r);
            clv_nuts__copy(sc + CLV_NUTS__CKS + idx_max * CLV_NUTS__D, srsum);
        }
        /* asked even after a divergence (whose transition ends anyway, so
         * the checkpoint written above is never read): a call that holds
         * barriers under a condition makes PoCL's work-group compiler
         * replicate code, exponentially in the number of such branches */
        const int turning = clv_nuts__iterative_turning(m, r, srsum, sc, idx_min, idx_max CLV_NUTS__T);
        if (delta > max_de) {
            t.diverging = 1;
            go = 0;
        } else if (turning) {
            t.turning = 1;
            go = 0;
        }
    }
    return t;
}

/* NumPyro's build_tree: double the trajectory in a random direction until it
 * turns, diverges or reaches max_depth. Subtrees join by biased progressive
 * sampling (Betancourt 2017, A.3.2): the new subtree's proposal is taken with
 * probability min(1, w_new / w_old), never from a turning or diverging one.
 * On return the state row holds the chosen point. */
void clv_nuts__transition(__global clv_real *st, __global clv_real *sc, clv_real eps, int max_depth,
                          clv_real max_de, __global const clv_real *data, clv_rng *rng,
                          clv_nuts__info *info CLV_NUTS__TMP)
{
    __global const clv_real *m = st + CLV_NUTS__S_M;
    clv_nuts__momentum(sc + CLV_NUTS__RL, m, rng);
    CLV_NUTS__FOR(k) {
        const clv_real z = st[CLV_NUTS__S_Z + k], g = st[CLV_NUTS__S_G + k], r = sc[CLV_NUTS__RL + k];
        sc[CLV_NUTS__ZL + k] = sc[CLV_NUTS__ZR + k] = sc[CLV_NUTS__ZP + k] = z;
        sc[CLV_NUTS__GL + k] = sc[CLV_NUTS__GR + k] = sc[CLV_NUTS__GP + k] = g;
        sc[CLV_NUTS__RR + k] = sc[CLV_NUTS__RSUM + k] = r;
    }
    const clv_real lp0 = st[CLV_NUTS__S_LP];
    const clv_real e0 = -lp0 + clv_nuts__kinetic(m, sc + CLV_NUTS__RL CLV_NUTS__T);
    clv_real weight = 0, prop_lp = lp0;
    info->accept_sum = 0;
    info->n_leapfrog = 0;
    info->depth = 0;
    info->divergent = 0;
    info->energy = e0;
    int go = max_depth > 0;
    while (go) { /* one exit and no barrier under a condition (see build_subtree) */
        const int right = (int)(clv_rng_u32(rng) & 1u);
        const clv_nuts__subtree t =
            clv_nuts__build_subtree(sc, m, info->depth, right, eps, e0, max_de, data, rng, info CLV_NUTS__T);
        const clv_real u = clv_uniform(rng);
        if (!t.turning && !t.diverging && log(u) < t.weight - weight) {
            clv_nuts__copy(sc + CLV_NUTS__ZP, sc + CLV_NUTS__SZP);
            clv_nuts__copy(sc + CLV_NUTS__GP, sc + CLV_NUTS__SGP);
            prop_lp = t.logp;
            info->energy = t.energy;
        }
        weight = clv_nuts__logaddexp(weight, t.weight);
        CLV_NUTS__FOR(k) sc[CLV_NUTS__RSUM + k] += sc[CLV_NUTS__SRSUM + k];
        info->depth += 1;
        const int turning = clv_nuts__turning(m, sc + CLV_NUTS__RL, sc + CLV_NUTS__RR, sc + CLV_NUTS__RSUM CLV_NUTS__T);
        if (t.diverging) info->divergent = 1;
        go = !t.diverging && !t.turning && !turning && info->depth < max_depth;
    }
    clv_nuts__copy(st + CLV_NUTS__S_Z, sc + CLV_NUTS__ZP);
    clv_nuts__copy(st + CLV_NUTS__S_G, sc + CLV_NUTS__GP);
    CLV_NUTS__SYNC(); /* every lane read st[S_LP] (lp0) before it changes */
    if (CLV_NUTS__LEAD) st[CLV_NUTS__S_LP] = prop_lp;
    CLV_NUTS__SYNC();
}

/* ---- adaptation (Stan) --------------------------------------------------- */

/* H(z, r) - H(z', r') after one leapfrog step of size eps from z with fresh
 * momentum, using the left-end scratch; -inf when the step fails. */
clv_real clv_nuts__trial_step(__global clv_real *st, __global clv_real *sc, clv_real eps,
                              __global const clv_real *data, clv_rng *rng CLV_NUTS__TMP)
{
    __global const clv_real *m = st + CLV_NUTS__S_M;
    __global clv_real *z = sc + CLV_NUTS__ZL, *r = sc + CLV_NUTS__RL, *g = sc + CLV_NUTS__GL;
    clv_nuts__copy(z, st + CLV_NUTS__S_Z);
    clv_nuts__copy(g, st + CLV_NUTS__S_G);
    clv_nuts__momentum(r, m, rng);
    const clv_real h0 = -st[CLV_NUTS__S_LP] + clv_nuts__kinetic(m, r CLV_NUTS__T);
    int ok;
    const clv_real lp = clv_nuts__leapfrog(z, r, g, m, eps, data, &ok CLV_NUTS__T);
    const clv_real h = -lp + clv_nuts__kinetic(m, r CLV_NUTS__T);
    return ok && !isnan(h) ? h0 - h : -INFINITY;
}

/* Stan's base_hmc::init_stepsize: double or halve eps until the acceptance
 * of one leapfrog step crosses 0.8. Bounded (Stan throws instead). */
clv_real clv_nuts__init_step_size(__global clv_real *st, __global clv_real *sc, clv_real eps,
                                  __global const clv_real *data, clv_rng *rng, int enabled CLV_NUTS__TMP)
{
    /* Step 0 picks the direction, steps 1 .. 100 move; one loop with one
     * exit, run zero times when not enabled (no barrier under a condition:
     * see build_subtree). */
    const clv_real log08 = log((clv_real)0.8);
    int up = 0, go = enabled;
    for (int i = 0; go; ++i) {
        const clv_real dh = clv_nuts__trial_step(st, sc, eps, data, rng CLV_NUTS__T);
        if (i == 0) {
            up = dh > log08;
        } else if (up ? !(dh > log08) : !(dh < log08)) {
            go = 0;
        } else {
            const clv_real next = up ? eps * 2 : eps * (clv_real)0.5;
            if (next > (clv_real)1e7 || next < (clv_real)1e-12) go = 0;
            else eps = next;
        }
        if (i == 100) go = 0;
    }
    return eps;
}

/* Stan's stepsize_adaptation::learn_stepsize (Nesterov dual averaging,
 * Hoffman & Gelman 2014, algorithm 5). */
void clv_nuts__dual_average(__global clv_real *st, clv_real accept, __global const clv_real *config, int on)
{
    const clv_real n = st[CLV_NUTS__S_DAN] + 1;
    accept = accept > 1 ? 1 : accept;
    const clv_real eta = 1 / (n + config[CLV_NUTS__C_T0]);
    const clv_real sbar = (1 - eta) * st[CLV_NUTS__S_SBAR] + eta * (config[CLV_NUTS__C_DELTA] - accept);
    const clv_real x = st[CLV_NUTS__S_MU] - sbar * sqrt(n) / config[CLV_NUTS__C_GAMMA];
    const clv_real x_eta = pow(n, -config[CLV_NUTS__C_KAPPA]);
    const clv_real xbar = (1 - x_eta) * st[CLV_NUTS__S_XBAR] + x_eta * x;
    CLV_NUTS__SYNC(); /* every lane has read the old values */
    if (CLV_NUTS__LEAD && on) {
        st[CLV_NUTS__S_DAN] = n;
        st[CLV_NUTS__S_SBAR] = sbar;
        st[CLV_NUTS__S_XBAR] = xbar;
        st[CLV_NUTS__S_EPS] = exp(x);
    }
    CLV_NUTS__SYNC();
}

/* Stan's welford_var_estimator::add_sample (when on). */
void clv_nuts__welford_add(__global clv_real *st, int on)
{
    const clv_real n = st[CLV_NUTS__S_WN] + 1;
    CLV_NUTS__SYNC();
    if (CLV_NUTS__LEAD && on) st[CLV_NUTS__S_WN] = n;
    CLV_NUTS__SYNC(); /* end_window may read it next */
    if (on) CLV_NUTS__FOR(k) {
        const clv_real z = st[CLV_NUTS__S_Z + k];
        const clv_real delta = z - st[CLV_NUTS__S_WMEAN + k];
        st[CLV_NUTS__S_WMEAN + k] += delta / n;
        st[CLV_NUTS__S_WM2 + k] += (z - st[CLV_NUTS__S_WMEAN + k]) * delta;
    }
}

/* End of a metric window (Stan's windowed_adaptation / var_adaptation):
 * inverse metric = regularised sample variance, shrunk towards 1e-3 as
 * (n / (n + 5)) var + 1e-3 (5 / (n + 5)); then a fresh step size search
 * and a dual averaging restart around log(10 eps). */
void clv_nuts__end_window(__global clv_real *st, __global clv_real *sc, __global const clv_real *config,
                          __global const clv_real *data, clv_rng *rng, int on CLV_NUTS__TMP)
{
    const clv_real n = st[CLV_NUTS__S_WN];
    if (on) {
        if (n >= 2) {
            CLV_NUTS__FOR(k) {
                const clv_real var = st[CLV_NUTS__S_WM2 + k] / (n - 1);
                st[CLV_NUTS__S_M + k] = (n / (n + 5)) * var + (clv_real)1e-3 * (5 / (n + 5));
            }
        }
        CLV_NUTS__FOR(k) st[CLV_NUTS__S_WMEAN + k] = st[CLV_NUTS__S_WM2 + k] = 0;
    }
    clv_real eps = st[CLV_NUTS__S_EPS];
    CLV_NUTS__SYNC();
    if (CLV_NUTS__LEAD && on) st[CLV_NUTS__S_WN] = 0;
    eps = clv_nuts__init_step_size(st, sc, eps, data, rng, on && config[CLV_NUTS__C_HEURISTIC] != 0 CLV_NUTS__T);
    CLV_NUTS__SYNC();
    if (CLV_NUTS__LEAD && on) {
        st[CLV_NUTS__S_EPS] = eps;
        st[CLV_NUTS__S_MU] = log(10 * eps);
        st[CLV_NUTS__S_DAN] = st[CLV_NUTS__S_SBAR] = st[CLV_NUTS__S_XBAR] = 0;
    }
    CLV_NUTS__SYNC();
}

/* Every step is called in every iteration and acts only when its flag is
 * set: no barrier under a condition (see build_subtree). warm: a warmup
 * iteration (flags and last count only then). */
void clv_nuts__adapt(__global clv_real *st, __global clv_real *sc, clv_real accept, int warm, int flags, int last,
                     __global const clv_real *config, __global const clv_real *data, clv_rng *rng CLV_NUTS__TMP)
{
    const int adapt_eps = warm && config[CLV_NUTS__C_ADAPT_EPS] != 0;
    clv_nuts__dual_average(st, accept, config, adapt_eps);
    clv_nuts__welford_add(st, warm && (flags & CLV_NUTS__ADD) != 0);
    clv_nuts__end_window(st, sc, config, data, rng, warm && (flags & CLV_NUTS__END) != 0 CLV_NUTS__T);
    const clv_real eps = exp(st[CLV_NUTS__S_XBAR]);
    CLV_NUTS__SYNC();
    if (CLV_NUTS__LEAD && last && adapt_eps) st[CLV_NUTS__S_EPS] = eps;
    CLV_NUTS__SYNC();
}

/* ---- kernels ------------------------------------------------------------- */

/* Initial state of each chain: position from init (use_init) or uniform on
 * (-radius, radius)^D, retried up to 100 times until log p and its gradient
 * are finite (as Stan); code = tries used, or -1. RNG stream 0. */
__kernel void clv_nuts__init(CLV_ITEMS,
                             __global clv_real *state,        /* n_chains x STATE */
                             __global const clv_real *init,   /* n_chains x D */
                             __global int *code,              /* n_chains */
                             __global const clv_real *config, /* replicated */
                             __global const clv_real *data,
                             __global clv_real *scratch,
                             const int use_init,
                             const int heuristic CLV_NUTS__TMP)
{
    CLV_GUARD();
    const ulong c = clv_local();
    __global clv_real *st = state + c * CLV_NUTS__STATE;
    __global clv_real *sc = scratch + clv_slot() * (ulong)CLV_NUTS__SCRATCH;
    clv_rng rng = clv_rng_init(clv_seed(), clv_item(), 0u);
    const clv_real radius = config[CLV_NUTS__C_RADIUS];
    int ok = 0, tries = 0;
    while (!ok && tries < (use_init ? 1 : 100)) {
        for (int k = 0; k < CLV_NUTS__D; ++k) { /* every lane draws every number, keeps its own */
            const clv_real z = use_init ? init[c * CLV_NUTS__D + k] : radius * (2 * clv_uniform(&rng) - 1);
            if (CLV_NUTS__MINE(k)) st[CLV_NUTS__S_Z + k] = z;
        }
        const clv_real lp = clv_nuts__eval(st + CLV_NUTS__S_Z, st + CLV_NUTS__S_G, data, &ok CLV_NUTS__T);
        if (CLV_NUTS__LEAD) st[CLV_NUTS__S_LP] = lp;
        ++tries;
    }
    CLV_NUTS__FOR(k) {
        st[CLV_NUTS__S_M + k] = 1;
        st[CLV_NUTS__S_WMEAN + k] = st[CLV_NUTS__S_WM2 + k] = 0;
    }
    CLV_NUTS__SYNC(); /* st[S_LP] and the metric, for the step size search */
    clv_real eps = config[CLV_NUTS__C_EPS0];
    if (CLV_NUTS__LEAD) st[CLV_NUTS__S_MU] = log(10 * eps); /* Stan: set_mu(log(10 * stepsize)) before the search */
    eps = clv_nuts__init_step_size(st, sc, eps, data, &rng, ok && heuristic CLV_NUTS__T);
    if (CLV_NUTS__LEAD) {
        st[CLV_NUTS__S_EPS] = eps;
        st[CLV_NUTS__S_XBAR] = st[CLV_NUTS__S_SBAR] = st[CLV_NUTS__S_DAN] = st[CLV_NUTS__S_WN] = 0;
        st[CLV_NUTS__S_WN + 1] = 0;
        code[c] = ok ? tries : -1;
    }
}

/* Iterations first .. first + n_iter - 1 of every chain. Iteration t draws
 * from RNG stream t + 1 of the chain, so a chain's draws do not depend on how
 * iterations are cut into launches, nor on the chunk or device. */
__kernel void clv_nuts__run(CLV_ITEMS,
                            __global clv_real *state,          /* n_chains x STATE */
                            __global clv_real *draws,          /* n_chains x block x D */
                            __global clv_real *stats,          /* n_chains x block x N_STATS */
                            __global const int *schedule,      /* replicated, num_warmup flags */
                            __global const clv_real *config,   /* replicated */
                            __global const clv_real *data,
                            __global clv_real *scratch,
                            const int first, const int n_iter, const int block,
                            const int num_warmup, const int max_depth CLV_NUTS__TMP)
{
    CLV_GUARD();
    const ulong c = clv_local();
    __global clv_real *st = state + c * CLV_NUTS__STATE;
    __global clv_real *sc = scratch + clv_slot() * (ulong)CLV_NUTS__SCRATCH;
    const clv_real max_de = config[CLV_NUTS__C_MAX_DE];
    for (int j = 0; j < n_iter; ++j) {
        const int t = first + j;
        clv_rng rng = clv_rng_init(clv_seed(), clv_item(), (uint)t + 1u);
        const clv_real eps = st[CLV_NUTS__S_EPS];
        clv_nuts__info info;
        clv_nuts__transition(st, sc, eps, max_depth, max_de, data, &rng, &info CLV_NUTS__T);
        __global clv_real *d = draws + (c * block + j) * CLV_NUTS__D;
        clv_nuts__copy(d, st + CLV_NUTS__S_Z);
        __global clv_real *s = stats + (c * block + j) * CLV_NUTS__N_STATS;
        const clv_real accept = info.n_leapfrog > 0 ? info.accept_sum / info.n_leapfrog : 0;
        if (CLV_NUTS__LEAD) {
            s[0] = st[CLV_NUTS__S_LP];
            s[1] = accept;
            s[2] = eps;
            s[3] = info.depth;
            s[4] = info.n_leapfrog;
            s[5] = info.divergent;
            s[6] = info.energy;
        }
        const int warm = t < num_warmup;
        clv_nuts__adapt(st, sc, accept, warm, warm ? schedule[t] : 0, t == num_warmup - 1, config, data,
                        &rng CLV_NUTS__T);
        CLV_NUTS__SYNC(); /* the next iteration reads st[S_EPS] */
    }
}

/* The user's gradient and central differences at given points: out holds
 * log p, then the D analytic partials, then the D numerical ones. */
__kernel void clv_nuts__gradcheck(CLV_ITEMS,
                                  __global const clv_real *points, /* n x D */
                                  __global clv_real *out,          /* n x (1 + 2 D) */
                                  __global const clv_real *config,
                                  __global const clv_real *data,
                                  __global clv_real *scratch CLV_NUTS__TMP)
{
    CLV_GUARD();
    const ulong i = clv_local();
    __global clv_real *x = scratch + clv_slot() * (ulong)CLV_NUTS__SCRATCH;
    __global clv_real *g = x + CLV_NUTS__D;
    __global clv_real *o = out + i * (1 + 2 * CLV_NUTS__D);
    clv_nuts__copy(x, points + i * CLV_NUTS__D);
    CLV_NUTS__SYNC();
    const clv_real lp = logdensity(x, g, data CLV_NUTS__T);
    CLV_NUTS__SYNC();
    if (CLV_NUTS__LEAD) o[0] = lp;
    CLV_NUTS__FOR(k) o[1 + k] = g[k];
    for (int k = 0; k < CLV_NUTS__D; ++k) { /* the lane that owns x[k] moves it, between barriers */
        const clv_real xk = x[k];
        const clv_real h = config[CLV_NUTS__C_FD_STEP] * fmax((clv_real)1, fabs(xk));
        CLV_NUTS__SYNC();
        if (CLV_NUTS__MINE(k)) x[k] = xk + h;
        CLV_NUTS__SYNC();
        const clv_real up = logdensity(x, g, data CLV_NUTS__T);
        CLV_NUTS__SYNC();
        if (CLV_NUTS__MINE(k)) x[k] = xk - h;
        CLV_NUTS__SYNC();
        const clv_real down = logdensity(x, g, data CLV_NUTS__T);
        CLV_NUTS__SYNC();
        if (CLV_NUTS__MINE(k)) {
            x[k] = xk;
            o[1 + CLV_NUTS__D + k] = (up - down) / (2 * h);
        }
    }
}

#if defined(CLV_NUTS_N_GENERATED) && CLV_NUTS_N_GENERATED > 0
/* The generated quantities of a block's draws: one work item per chain
 * calls generated on each of its n_iter draws (the layout of
 * clv_nuts__run's draws). A pure function of each draw, so the values do
 * not depend on the chunk or the device. */
__kernel void clv_nuts__generated(CLV_ITEMS,
                                  __global const clv_real *draws, /* n_chains x block x D */
                                  __global clv_real *out,         /* n_chains x block x N_GENERATED */
                                  __global const clv_real *data,
                                  const int n_iter, const int block)
{
    CLV_GUARD();
    const ulong c = clv_local();
    for (int j = 0; j < n_iter; ++j)
        generated(draws + (c * block + j) * CLV_NUTS__D, out + (c * block + j) * CLV_NUTS_N_GENERATED, data);
}
#endif
