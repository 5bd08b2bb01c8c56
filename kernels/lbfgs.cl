/* clvmap_lbfgs device code (OpenCL C 1.2): a batched L-BFGS as a state
 * machine per item. This file is the single source of truth: it is embedded
 * into include/clvmap_lbfgs.h by tools/embed.c (ninja -C BUILD embed_lbfgs),
 * and tests/lbfgs/test_lbfgs_api.c fails when the embedded copy is stale.
 *
 * Every work item owns one batch item and advances it by one objective
 * evaluation per call of clv_lbfgs__advance: the item's line search and its
 * L-BFGS update never wait for other items, so a batch does not run in
 * lockstep to its worst item (the problem of a vmapped zoom line search, see
 * shared/seeds/ehtim-jax-optimizers-sharding-pr.txt).
 *
 * Algorithms and their sources:
 *   two-loop recursion, gamma = s'y / y'y      Nocedal & Wright, Numerical
 *                                              Optimization (2nd ed.), Alg. 7.4
 *   first step min(1, 1/|g|)                   optax.scale_by_lbfgs
 *   backtracking Armijo, c1 = 1e-4, decrease   optax.scale_by_backtracking_
 *   0.8, next start min(1.5 prev, 1)           linesearch (0.2.8 defaults)
 *   strong Wolfe bracketing + zoom             Nocedal & Wright Alg. 3.5/3.6
 *   cubic (0.2 margin), quadratic (0.1),       optax.scale_by_zoom_linesearch
 *   bisection fallback in zoom                 (after scipy's line search)
 *   tests |g|/max(1,|x|) <= eps, delta/past,   liblbfgs 1.10 (lbfgs.c)
 *   reason codes
 *
 * Compile-time parameters (set by the host, all required):
 *   CLV_LBFGS_N, CLV_LBFGS_M, CLV_LBFGS_PAST   dimension, memory, delta window
 *   CLV_LBFGS_EPSILON, CLV_LBFGS_DELTA, CLV_LBFGS_FTOL (c1), CLV_LBFGS_WOLFE (c2),
 *   CLV_LBFGS_MIN_STEP, CLV_LBFGS_MAX_STEP, CLV_LBFGS_MAX_ITERATIONS (0: none),
 *   CLV_LBFGS_MAX_LINESEARCH, CLV_LBFGS_ZOOM (0 backtracking, 1 strong Wolfe),
 *   CLV_LBFGS_DOUBLE (1 when clv_real is double; the real-valued ones are
 *   literals of that precision)
 * With CLV_LBFGS_KERNEL_OBJECTIVE the user's source follows this file and
 * defines clv_lbfgs_objective (declared below); clv_lbfgs_iterate then
 * evaluates and advances in one launch. */

/* Literals in the item's precision (LR takes a literal with a decimal
 * point; LI converts an integer). Float programs get float literals, so a
 * device without fp64 sees no double constant. */
#if CLV_LBFGS_DOUBLE
#define LR(v) ((clv_real)(v))
#define LB_EPSILON DBL_EPSILON
#define LB_WIDTH_TOL 1e-12
#else
#define LR(v) (v##f)
#define LB_EPSILON FLT_EPSILON
#define LB_WIDTH_TOL 1e-6f
#endif
#define LI(v) ((clv_real)(v))

/* Reason codes: the same numbers as enum clv_lbfgs_reason in the header. */
#define LB_CONVERGENCE 0
#define LB_STOP 1
#define LB_ALREADY_MINIMIZED 2
#define LB_RUNNING 3
#define LB_ERR_MAXIMUMITERATION (-2)
#define LB_ERR_MAXIMUMLINESEARCH (-3)
#define LB_ERR_MINIMUMSTEP (-4)
#define LB_ERR_MAXIMUMSTEP (-5)
#define LB_ERR_WIDTHTOOSMALL (-6)
#define LB_ERR_NONFINITE (-7)

/* ---- an item's state: one row of reals ------------------------------------
 * [x | g | d | S (m rows) | Y (m rows) | scalars | ys[m] | alpha[m] | past f]
 * x, g, f: the last accepted point. The host reads x at offset 0. */
#define LB_N CLV_LBFGS_N
#define LB_M CLV_LBFGS_M
#define LB_OFF_G (LB_N)
#define LB_OFF_D (2 * LB_N)
#define LB_OFF_S (3 * LB_N)
#define LB_OFF_Y (3 * LB_N + LB_M * LB_N)
#define LB_OFF_SC (3 * LB_N + 2 * LB_M * LB_N)
#define LB_N_SCALARS 32
#define LB_OFF_YS (LB_OFF_SC + LB_N_SCALARS)
#define LB_OFF_ALPHA (LB_OFF_YS + LB_M)
#define LB_OFF_PAST (LB_OFF_ALPHA + LB_M)
#define LB_PAST_SLOTS (CLV_LBFGS_PAST > 0 ? CLV_LBFGS_PAST : 1)
#define LB_STATE_ELEMS (LB_OFF_PAST + LB_PAST_SLOTS)

/* scalar slots (counts are stored as reals: exact up to 2^24 in float) */
enum {
    SC_PHASE,     /* LB_PHASE_* */
    SC_REASON,    /* LB_RUNNING or a final reason */
    SC_ITER,      /* accepted iterations */
    SC_EVALS,     /* objective evaluations consumed */
    SC_LSCOUNT,   /* evaluations in the current line search */
    SC_F,         /* f(x) */
    SC_DGINIT,    /* g'd at x: the slope at step 0 */
    SC_STEP,      /* the trial step being evaluated */
    SC_PREVSTEP,  /* the previous accepted step */
    SC_GAMMA,     /* s'y / y'y of the newest stored pair */
    SC_MEMCOUNT,  /* stored pairs (<= m) */
    SC_MEMEND,    /* the slot the next pair goes to */
    SC_STAGE,     /* zoom: LB_STAGE_* */
    SC_A_PREV, SC_F_PREV, SC_DG_PREV,   /* bracketing: the previous trial */
    SC_A_LO, SC_F_LO, SC_DG_LO,         /* zoom: the best point so far */
    SC_A_HI, SC_F_HI, SC_DG_HI,         /* zoom: the other end */
    SC_NONFINITE  /* 1 when the latest trial was NaN/inf */
};

#define LB_PHASE_INIT 0   /* xt holds the start point */
#define LB_PHASE_SEARCH 1 /* xt holds a line-search trial */
#define LB_PHASE_DONE 2

#define LB_STAGE_BRACKET 0
#define LB_STAGE_ZOOM 1
#define LB_STAGE_REEVAL 2 /* xt = the zoom's best point, accepted as is */

/* What one evaluation did to an item. */
#define LB_TRIAL 0     /* a new trial point is in xt, same iteration */
#define LB_ITERATED 1  /* an iteration ended: new direction, trial in xt */
#define LB_FINISHED 2  /* the item is done (reason set) */

typedef struct lb_item {
    __global clv_real *st; /* the state row */
    __global clv_real *x, *g, *d, *S, *Y, *sc;
} lb_item;

inline lb_item lb_view(__global clv_real *state, size_t row)
{
    lb_item v;
    v.st = state + row * (size_t)LB_STATE_ELEMS;
    v.x = v.st;
    v.g = v.st + LB_OFF_G;
    v.d = v.st + LB_OFF_D;
    v.S = v.st + LB_OFF_S;
    v.Y = v.st + LB_OFF_Y;
    v.sc = v.st + LB_OFF_SC;
    return v;
}

/* Dot products stay inside one item, in index order: the same bits whatever
 * the batch, chunk or device. */
inline clv_real lb_dot(__global const clv_real *a, __global const clv_real *b)
{
    clv_real s = LR(0.0);
    for (int i = 0; i < LB_N; ++i) s += a[i] * b[i];
    return s;
}

inline clv_real lb_norm(__global const clv_real *a) { return sqrt(lb_dot(a, a)); }

/* xt = x + step d: the next point to evaluate. */
inline void lb_set_trial(lb_item v, __global clv_real *xt, clv_real step)
{
    v.sc[SC_STEP] = step;
    for (int i = 0; i < LB_N; ++i) xt[i] = v.x[i] + step * v.d[i];
}

inline int lb_finish(lb_item v, int reason)
{
    v.sc[SC_REASON] = LI(reason);
    v.sc[SC_PHASE] = LI(LB_PHASE_DONE);
    return LB_FINISHED;
}

/* A new line search along d from x, starting at step. */
inline void lb_start_search(lb_item v, __global clv_real *xt, clv_real step)
{
    const clv_real dginit = lb_dot(v.g, v.d);
    v.sc[SC_DGINIT] = dginit;
    v.sc[SC_LSCOUNT] = LR(0.0);
    v.sc[SC_STAGE] = LI(LB_STAGE_BRACKET);
    v.sc[SC_A_PREV] = LR(0.0);
    v.sc[SC_A_LO] = LR(0.0);
    v.sc[SC_F_PREV] = v.sc[SC_F];
    v.sc[SC_DG_PREV] = dginit;
    v.sc[SC_PHASE] = LI(LB_PHASE_SEARCH);
    lb_set_trial(v, xt, step);
}

/* Steepest descent with the first step scaled by min(1, 1/|g|) (optax's
 * capped inverse norm; liblbfgs uses 1/|d|): used at the start and when the
 * L-BFGS direction is not a descent direction (memory reset). */
inline void lb_steepest(lb_item v, __global clv_real *xt, clv_real gnorm)
{
    for (int i = 0; i < LB_N; ++i) v.d[i] = -v.g[i];
    v.sc[SC_MEMCOUNT] = LR(0.0);
    v.sc[SC_MEMEND] = LR(0.0);
    lb_start_search(v, xt, fmin(LR(1.0), LR(1.0) / gnorm));
}

/* The gradient test of liblbfgs: |g| / max(1, |x|) <= epsilon. */
inline int lb_gradient_small(lb_item v, clv_real *gnorm)
{
    const clv_real xnorm = fmax(LR(1.0), lb_norm(v.x));
    *gnorm = lb_norm(v.g);
    return *gnorm / xnorm <= (CLV_LBFGS_EPSILON);
}

/* Consume the evaluation of the start point. */
inline int lb_consume_start(lb_item v, __global clv_real *xt, __global const clv_real *gt, clv_real ft)
{
    clv_real gnorm;
    for (int i = 0; i < LB_N; ++i) {
        v.x[i] = xt[i];
        v.g[i] = gt[i];
    }
    v.sc[SC_F] = ft;
    v.sc[SC_GAMMA] = LR(1.0);
    v.sc[SC_PREVSTEP] = LR(1.0);
    for (int k = 0; k < LB_PAST_SLOTS; ++k) v.st[LB_OFF_PAST + k] = ft;
    const int small = lb_gradient_small(v, &gnorm);
    if (!isfinite(ft) || !isfinite(gnorm)) return lb_finish(v, LB_ERR_NONFINITE);
    if (small) return lb_finish(v, LB_ALREADY_MINIMIZED);
    lb_steepest(v, xt, gnorm);
    return LB_ITERATED;
}

/* d = -H g by the two-loop recursion (Nocedal & Wright Alg. 7.4), newest
 * pair first in the first loop, H0 = gamma I. */
inline void lb_two_loop(lb_item v)
{
    __global clv_real *alpha = v.st + LB_OFF_ALPHA;
    __global const clv_real *ys = v.st + LB_OFF_YS;
    const int count = (int)v.sc[SC_MEMCOUNT], end = (int)v.sc[SC_MEMEND];
    for (int i = 0; i < LB_N; ++i) v.d[i] = -v.g[i];
    for (int k = 0; k < count; ++k) {
        const int j = (end - 1 - k + LB_M) % LB_M;
        __global const clv_real *s = v.S + j * LB_N, *y = v.Y + j * LB_N;
        const clv_real a = lb_dot(s, v.d) / ys[j];
        alpha[j] = a;
        for (int i = 0; i < LB_N; ++i) v.d[i] -= a * y[i];
    }
    const clv_real gamma = v.sc[SC_GAMMA];
    for (int i = 0; i < LB_N; ++i) v.d[i] *= gamma;
    for (int k = 0; k < count; ++k) {
        const int j = (end - count + k + LB_M) % LB_M;
        __global const clv_real *s = v.S + j * LB_N, *y = v.Y + j * LB_N;
        const clv_real b = lb_dot(y, v.d) / ys[j];
        for (int i = 0; i < LB_N; ++i) v.d[i] += (alpha[j] - b) * s[i];
    }
}

/* Store the pair s = xt - x, y = gt - g unless s'y <= eps y'y (the pair would
 * make H indefinite or is lost in rounding; optax gives such pairs weight 0). */
inline void lb_store_pair(lb_item v, __global const clv_real *xt, __global const clv_real *gt)
{
    const int end = (int)v.sc[SC_MEMEND];
    __global clv_real *s = v.S + end * LB_N, *y = v.Y + end * LB_N;
    for (int i = 0; i < LB_N; ++i) {
        s[i] = xt[i] - v.x[i];
        y[i] = gt[i] - v.g[i];
    }
    const clv_real ys = lb_dot(y, s), yy = lb_dot(y, y);
    if (!(ys > (clv_real)LB_EPSILON * yy) || !isfinite(ys)) return;
    v.st[LB_OFF_YS + end] = ys;
    v.sc[SC_GAMMA] = ys / yy;
    v.sc[SC_MEMEND] = LI((end + 1) % LB_M);
    v.sc[SC_MEMCOUNT] = fmin(v.sc[SC_MEMCOUNT] + LR(1.0), LI(LB_M));
}

/* The stopping tests of liblbfgs, in its order, after an accepted step. */
inline int lb_stop_reason(lb_item v, clv_real *gnorm)
{
    const int k = (int)v.sc[SC_ITER];
    if (lb_gradient_small(v, gnorm)) return LB_CONVERGENCE;
#if CLV_LBFGS_PAST > 0
    {
        /* delta test: (f_{k-past} - f_k) / |f_k| < delta */
        __global clv_real *pf = v.st + LB_OFF_PAST;
        const clv_real f = v.sc[SC_F];
        const int slot = k % CLV_LBFGS_PAST;
        if (k >= CLV_LBFGS_PAST && (pf[slot] - f) / fabs(f) < (CLV_LBFGS_DELTA)) return LB_STOP;
        pf[slot] = f;
    }
#endif
#if CLV_LBFGS_MAX_ITERATIONS > 0
    if (k >= CLV_LBFGS_MAX_ITERATIONS) return LB_ERR_MAXIMUMITERATION;
#endif
    return LB_RUNNING;
}

/* Accept the trial point: update the memory, test, and set up the next
 * line search. */
inline int lb_accept(lb_item v, __global clv_real *xt, __global const clv_real *gt, clv_real ft)
{
    clv_real gnorm;
    lb_store_pair(v, xt, gt);
    for (int i = 0; i < LB_N; ++i) {
        v.x[i] = xt[i];
        v.g[i] = gt[i];
    }
    v.sc[SC_F] = ft;
    v.sc[SC_ITER] += LR(1.0);
    v.sc[SC_PREVSTEP] = v.sc[SC_STEP];
    const int reason = lb_stop_reason(v, &gnorm);
    if (reason != LB_RUNNING) return lb_finish(v, reason);
    lb_two_loop(v);
    if (!(lb_dot(v.g, v.d) < LR(0.0))) { /* rounding broke descent: restart */
        lb_steepest(v, xt, gnorm);
        return LB_ITERATED;
    }
#if CLV_LBFGS_ZOOM
    lb_start_search(v, xt, LR(1.0));
#else
    lb_start_search(v, xt, fmin(LR(1.5) * v.sc[SC_PREVSTEP], LR(1.0)));
#endif
    return LB_ITERATED;
}

/* A failed line search: x stays at the last accepted point (liblbfgs). */
inline int lb_search_failed(lb_item v, int reason)
{
    return lb_finish(v, v.sc[SC_NONFINITE] != LR(0.0) ? LB_ERR_NONFINITE : reason);
}

#if !CLV_LBFGS_ZOOM
/* Backtracking (Armijo): accept f(x + a d) <= f(x) + c1 a g'd, else a *= 0.8. */
inline int lb_backtracking(lb_item v, __global clv_real *xt, __global const clv_real *gt, clv_real ft, int ok)
{
    const clv_real step = v.sc[SC_STEP];
    if (ok && ft <= v.sc[SC_F] + (CLV_LBFGS_FTOL) * step * v.sc[SC_DGINIT]) return lb_accept(v, xt, gt, ft);
    if (v.sc[SC_LSCOUNT] >= LI(CLV_LBFGS_MAX_LINESEARCH)) return lb_search_failed(v, LB_ERR_MAXIMUMLINESEARCH);
    const clv_real next = step * LR(0.8);
    if (next < (CLV_LBFGS_MIN_STEP)) return lb_search_failed(v, LB_ERR_MINIMUMSTEP);
    lb_set_trial(v, xt, next);
    return LB_TRIAL;
}
#else
/* Minimiser of the cubic through (lo, flo, dlo), (hi, fhi, dhi) (Nocedal &
 * Wright eq. 3.59); NaN when it has none. */
inline clv_real lb_cubic(clv_real lo, clv_real flo, clv_real dlo, clv_real hi, clv_real fhi, clv_real dhi)
{
    const clv_real d1 = dlo + dhi - LR(3.0) * (flo - fhi) / (lo - hi);
    const clv_real rad = d1 * d1 - dlo * dhi;
    if (!(rad >= LR(0.0))) return NAN;
    const clv_real d2 = (hi > lo ? LR(1.0) : LR(-1)) * sqrt(rad);
    return hi - (hi - lo) * (dhi + d2 - d1) / (dhi - dlo + LR(2.0) * d2);
}

/* Minimiser of the quadratic through (lo, flo, dlo) and (hi, fhi). */
inline clv_real lb_quadratic(clv_real lo, clv_real flo, clv_real dlo, clv_real hi, clv_real fhi)
{
    const clv_real h = hi - lo;
    return lo - dlo * h * h / (LR(2.0) * (fhi - flo - dlo * h));
}

/* The next zoom trial: cubic if it lies 20% inside the interval, else
 * quadratic 10% inside, else bisection (optax's safeguards). */
inline clv_real lb_zoom_trial(lb_item v)
{
    const clv_real lo = v.sc[SC_A_LO], hi = v.sc[SC_A_HI];
    const clv_real left = fmin(lo, hi), right = fmax(lo, hi), width = right - left;
    const clv_real c = lb_cubic(lo, v.sc[SC_F_LO], v.sc[SC_DG_LO], hi, v.sc[SC_F_HI], v.sc[SC_DG_HI]);
    if (c > left + LR(0.2) * width && c < right - LR(0.2) * width) return c;
    const clv_real q = lb_quadratic(lo, v.sc[SC_F_LO], v.sc[SC_DG_LO], hi, v.sc[SC_F_HI]);
    if (q > left + LR(0.1) * width && q < right - LR(0.1) * width) return q;
    return LR(0.5) * (lo + hi);
}

inline void lb_set_lo(lb_item v, clv_real a, clv_real f, clv_real dg)
{
    v.sc[SC_A_LO] = a;
    v.sc[SC_F_LO] = f;
    v.sc[SC_DG_LO] = dg;
}

inline void lb_set_hi(lb_item v, clv_real a, clv_real f, clv_real dg)
{
    v.sc[SC_A_HI] = a;
    v.sc[SC_F_HI] = f;
    v.sc[SC_DG_HI] = dg;
}

/* Out of evaluations or of interval: take the best point that has
 * sufficient decrease (evaluate it once more, then accept), if any. */
inline int lb_zoom_give_up(lb_item v, __global clv_real *xt, int reason)
{
    const clv_real lo = v.sc[SC_A_LO];
    if (!(lo > LR(0.0))) return lb_search_failed(v, reason);
    v.sc[SC_STAGE] = LI(LB_STAGE_REEVAL);
    lb_set_trial(v, xt, lo);
    return LB_TRIAL;
}

inline int lb_zoom_next(lb_item v, __global clv_real *xt)
{
    const clv_real lo = v.sc[SC_A_LO], hi = v.sc[SC_A_HI];
    v.sc[SC_STAGE] = LI(LB_STAGE_ZOOM);
    if (v.sc[SC_LSCOUNT] >= LI(CLV_LBFGS_MAX_LINESEARCH)) return lb_zoom_give_up(v, xt, LB_ERR_MAXIMUMLINESEARCH);
    if (fabs(hi - lo) <= LB_WIDTH_TOL * fmax(lo, hi)) return lb_zoom_give_up(v, xt, LB_ERR_WIDTHTOOSMALL);
    const int hi_ok = isfinite(v.sc[SC_F_HI]) && isfinite(v.sc[SC_DG_HI]);
    lb_set_trial(v, xt, hi_ok ? lb_zoom_trial(v) : LR(0.5) * (lo + hi));
    return LB_TRIAL;
}

/* Strong Wolfe line search: bracketing (Nocedal & Wright Alg. 3.5), then
 * zoom (Alg. 3.6), one evaluation per call. */
inline int lb_zoom(lb_item v, __global clv_real *xt, __global const clv_real *gt, clv_real ft, int ok)
{
    const clv_real a = v.sc[SC_STEP], finit = v.sc[SC_F], dginit = v.sc[SC_DGINIT];
    const clv_real dg = ok ? lb_dot(gt, v.d) : LR(0.0);
    const int armijo = ok && ft <= finit + (CLV_LBFGS_FTOL) * a * dginit;
    const int curvature = ok && fabs(dg) <= -(CLV_LBFGS_WOLFE) * dginit;
    const int stage = (int)v.sc[SC_STAGE];
    if (stage == LB_STAGE_REEVAL) return lb_accept(v, xt, gt, ft);
    if (stage == LB_STAGE_BRACKET) {
        if (!armijo || (v.sc[SC_LSCOUNT] > LR(1.0) && ft >= v.sc[SC_F_PREV])) {
            lb_set_lo(v, v.sc[SC_A_PREV], v.sc[SC_F_PREV], v.sc[SC_DG_PREV]);
            lb_set_hi(v, a, ok ? ft : INFINITY, dg);
            return lb_zoom_next(v, xt);
        }
        if (curvature) return lb_accept(v, xt, gt, ft);
        if (dg >= LR(0.0)) {
            lb_set_lo(v, a, ft, dg);
            lb_set_hi(v, v.sc[SC_A_PREV], v.sc[SC_F_PREV], v.sc[SC_DG_PREV]);
            return lb_zoom_next(v, xt);
        }
        /* still going down: extrapolate (optax's increase factor 2) */
        v.sc[SC_A_PREV] = a;
        v.sc[SC_F_PREV] = ft;
        v.sc[SC_DG_PREV] = dg;
        lb_set_lo(v, a, ft, dg); /* the best sufficient-decrease point so far */
        if (v.sc[SC_LSCOUNT] >= LI(CLV_LBFGS_MAX_LINESEARCH))
            return lb_zoom_give_up(v, xt, LB_ERR_MAXIMUMLINESEARCH);
        if (a >= (CLV_LBFGS_MAX_STEP)) return lb_search_failed(v, LB_ERR_MAXIMUMSTEP);
        lb_set_trial(v, xt, fmin(LR(2.0) * a, (CLV_LBFGS_MAX_STEP)));
        return LB_TRIAL;
    }
    /* zoom */
    if (!armijo || ft >= v.sc[SC_F_LO]) {
        lb_set_hi(v, a, ok ? ft : INFINITY, dg);
    } else {
        if (curvature) return lb_accept(v, xt, gt, ft);
        if (dg * (v.sc[SC_A_HI] - v.sc[SC_A_LO]) >= LR(0.0))
            lb_set_hi(v, v.sc[SC_A_LO], v.sc[SC_F_LO], v.sc[SC_DG_LO]);
        lb_set_lo(v, a, ft, dg);
    }
    return lb_zoom_next(v, xt);
}
#endif

/* Consume one evaluation (ft, gt at xt) of item row `row`; leave the next
 * point to evaluate in xt. */
inline int clv_lbfgs__advance(__global clv_real *state, size_t row, __global clv_real *xt,
                              __global const clv_real *gt, clv_real ft)
{
    lb_item v = lb_view(state, row);
    const int phase = (int)v.sc[SC_PHASE];
    if (phase == LB_PHASE_DONE) return LB_FINISHED;
    v.sc[SC_EVALS] += LR(1.0);
    if (phase == LB_PHASE_INIT) return lb_consume_start(v, xt, gt, ft);
    v.sc[SC_LSCOUNT] += LR(1.0);
    const int ok = isfinite(ft) && isfinite(lb_norm(gt));
    v.sc[SC_NONFINITE] = ok ? LR(0.0) : LR(1.0);
#if CLV_LBFGS_ZOOM
    return lb_zoom(v, xt, gt, ft, ok);
#else
    return lb_backtracking(v, xt, gt, ft, ok);
#endif
}

/* What the host reads after every launch: reason, iterations, evaluations, f. */
inline void clv_lbfgs__summary(__global const clv_real *state, size_t row, __global clv_real *summary)
{
    __global const clv_real *sc = state + row * (size_t)LB_STATE_ELEMS + LB_OFF_SC;
    summary[4 * row + 0] = sc[SC_REASON];
    summary[4 * row + 1] = sc[SC_ITER];
    summary[4 * row + 2] = sc[SC_EVALS];
    summary[4 * row + 3] = sc[SC_F];
}

/* Kernel parameters are spelt CLV_REAL (the macro, not the typedef) so that
 * the driver reports "double*" or "float*" and clv_map checks the arrays'
 * dtype. */

/* Start every item: scalars zeroed (phase INIT, no pairs), reason RUNNING.
 * x, g, d, S, Y need no clearing: each is written before it is read. */
__kernel void clv_lbfgs_reset(CLV_ITEMS, __global CLV_REAL *state, __global CLV_REAL *summary)
{
    CLV_GUARD();
    __global clv_real *sc = state + clv_local() * (size_t)LB_STATE_ELEMS + LB_OFF_SC;
    for (int k = 0; k < LB_N_SCALARS; ++k) sc[k] = LR(0.0);
    sc[SC_REASON] = LI(LB_RUNNING);
    clv_lbfgs__summary(state, clv_local(), summary);
}

/* One step of every item after the host evaluated xt (host-callback
 * objectives): one launch per evaluation round. */
__kernel void clv_lbfgs_advance(CLV_ITEMS, __global CLV_REAL *state, __global CLV_REAL *xt,
                                __global const CLV_REAL *gt, __global const CLV_REAL *ft,
                                __global CLV_REAL *summary)
{
    CLV_GUARD();
    const size_t row = clv_local();
    clv_lbfgs__advance(state, row, xt + row * LB_N, gt + row * LB_N, ft[row]);
    clv_lbfgs__summary(state, row, summary);
}

#ifdef CLV_LBFGS_KERNEL_OBJECTIVE
/* The user's data: replicated arrays passed through (unused ones point at a
 * one-element dummy). */
typedef struct clv_lbfgs_data {
    __global const clv_real *real[4];
    __global const int *integer[2];
} clv_lbfgs_data;

/* Defined by the user's source, which follows this file: the value at x
 * (CLV_LBFGS_N reals) with the gradient written to g. item: the item's
 * index in the caller's batch (stable across chunks, devices, compaction). */
clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g, ulong item,
                             clv_lbfgs_data data);

/* One L-BFGS iteration of every running item in one launch: evaluate and
 * advance until the item accepts a step or ends. */
__kernel void clv_lbfgs_iterate(CLV_ITEMS, __global CLV_REAL *state, __global CLV_REAL *xt,
                                __global CLV_REAL *gt, __global CLV_REAL *ft, __global CLV_REAL *summary,
                                __global const int *index, __global const CLV_REAL *r0,
                                __global const CLV_REAL *r1, __global const CLV_REAL *r2,
                                __global const CLV_REAL *r3, __global const int *i0, __global const int *i1)
{
    CLV_GUARD();
    const size_t row = clv_local();
    clv_lbfgs_data data;
    data.real[0] = r0;
    data.real[1] = r1;
    data.real[2] = r2;
    data.real[3] = r3;
    data.integer[0] = i0;
    data.integer[1] = i1;
    __global clv_real *x = xt + row * LB_N, *g = gt + row * LB_N;
    const ulong item = (ulong)index[row];
    /* at most one line search's worth of evaluations plus a re-evaluation */
    for (int e = 0; e < CLV_LBFGS_MAX_LINESEARCH + 2; ++e) {
        if (state[row * (size_t)LB_STATE_ELEMS + LB_OFF_SC + SC_PHASE] == LI(LB_PHASE_DONE)) break;
        const clv_real f = clv_lbfgs_objective(x, g, item, data);
        ft[row] = f;
        if (clv_lbfgs__advance(state, row, x, g, f) != LB_TRIAL) break;
    }
    clv_lbfgs__summary(state, row, summary);
}
#endif
