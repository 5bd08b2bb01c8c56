/* clvmap_lbfgs device code (OpenCL C 1.2): a batched L-BFGS as a state
 * machine per item. This file is the single source of truth: it is embedded
 * into include/clvmap_lbfgs.h by tools/embed.c (ninja -C BUILD embed_lbfgs),
 * and the test lbfgs_embed (embed --check) fails when the embedded copy is stale.
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
 *   backtracking: c1 = 1e-4, a *= 0.5 without  liblbfgs 1.10's default
 *   sufficient decrease, a *= 2.1 while the    LBFGS_LINESEARCH_BACKTRACKING
 *   slope is below c2 g'd, every search from 1 (= _WOLFE), lbfgs.c
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
 * evaluates and advances in one launch.
 *
 * Cooperative objectives (clv_lbfgs_objective.cooperative; -DCLV_LBFGS_GROUP,
 * with CLV_LBFGS_TMP): one work group runs one item. Every lane runs the
 * item's state machine with the same numbers: the scalars (phase, step,
 * bracket, ys, alpha, past values) are a private copy on every lane, read
 * from the state row at the start of a launch and written back by lane 0
 * at its end. Vectors of length n are updated in strided shares (lane
 * i % L owns element i of x, g, d, S, Y and the trial point) and their dot
 * products are group sums. The few barriers sit at fixed places: before and
 * after the objective, one reduction of the dot products every evaluation
 * needs (clv_lbfgs__evaluated), the two-loop recursion's 2 count sums and
 * the new direction's slope; the line searches' branches hold none (PoCL
 * 3.1's work-group compiler is slow on barriers inside many branches). */

/* Literals in the item's precision (CLV_LBFGS__R takes a literal with a
 * decimal point; CLV_LBFGS__I converts an integer). Float programs get
 * float literals, so a device without fp64 sees no double constant. */
#if CLV_LBFGS_DOUBLE
#define CLV_LBFGS__R(v) ((clv_real)(v))
#define CLV_LBFGS__EPSILON DBL_EPSILON
#define CLV_LBFGS__WIDTH_TOL 1e-12
#else
#define CLV_LBFGS__R(v) (v##f)
#define CLV_LBFGS__EPSILON FLT_EPSILON
#define CLV_LBFGS__WIDTH_TOL 1e-6f
#endif
#define CLV_LBFGS__I(v) ((clv_real)(v))

/* One item per work item, or per work group (cooperative objectives): the
 * same code, with these where the two differ. In the one-work-item form
 * they expand to exactly the serial loops and __global scalars, so its
 * arithmetic (and its bits) are the form's own. */
#ifdef CLV_LBFGS_GROUP
/* Lane l: elements l, l + L, ...; every lane runs the same ceil(n / L)
 * rounds and skips an element past n. (The plain strided loop, where lanes
 * l >= n run no round at all, made PoCL 3.1 write one element past the
 * trial point's buffer when L > n: seen under valgrind.) */
#define CLV_LBFGS__FOR(i)                                                                      \
    for (int i##_round = 0, i = (int)clv_lane(); i##_round < CLV_LBFGS__N;                    \
         i##_round += (int)clv_lanes(), i += (int)clv_lanes())                                 \
        if (i < CLV_LBFGS__N)
#define CLV_LBFGS__SPACE __private
#define CLV_LBFGS__TMP , __local clv_real *tmp /* in parameter lists */
#define CLV_LBFGS__T , tmp                     /* in calls */
#else
#define CLV_LBFGS__FOR(i) for (int i = 0; i < CLV_LBFGS__N; ++i)
#define CLV_LBFGS__SPACE __global
#define CLV_LBFGS__TMP
#define CLV_LBFGS__T
#endif

/* Reason codes: the same numbers as enum clv_lbfgs_reason in the header. */
#define CLV_LBFGS__CONVERGENCE 0
#define CLV_LBFGS__STOP 1
#define CLV_LBFGS__ALREADY_MINIMIZED 2
#define CLV_LBFGS__RUNNING 3
#define CLV_LBFGS__ERR_MAXIMUMITERATION (-2)
#define CLV_LBFGS__ERR_MAXIMUMLINESEARCH (-3)
#define CLV_LBFGS__ERR_MINIMUMSTEP (-4)
#define CLV_LBFGS__ERR_MAXIMUMSTEP (-5)
#define CLV_LBFGS__ERR_WIDTHTOOSMALL (-6)
#define CLV_LBFGS__ERR_NONFINITE (-7)

/* ---- an item's state: one row of reals ------------------------------------
 * [x | g | d | S (m rows) | Y (m rows) | scalars | ys[m] | alpha[m] | past f]
 * x, g, f: the last accepted point. The host reads x at offset 0. */
#define CLV_LBFGS__N CLV_LBFGS_N
#define CLV_LBFGS__M CLV_LBFGS_M
#define CLV_LBFGS__OFF_G (CLV_LBFGS__N)
#define CLV_LBFGS__OFF_D (2 * CLV_LBFGS__N)
#define CLV_LBFGS__OFF_S (3 * CLV_LBFGS__N)
#define CLV_LBFGS__OFF_Y (3 * CLV_LBFGS__N + CLV_LBFGS__M * CLV_LBFGS__N)
#define CLV_LBFGS__OFF_SC (3 * CLV_LBFGS__N + 2 * CLV_LBFGS__M * CLV_LBFGS__N)
#define CLV_LBFGS__N_SCALARS 32
#define CLV_LBFGS__OFF_YS (CLV_LBFGS__OFF_SC + CLV_LBFGS__N_SCALARS)
#define CLV_LBFGS__OFF_ALPHA (CLV_LBFGS__OFF_YS + CLV_LBFGS__M)
#define CLV_LBFGS__OFF_PAST (CLV_LBFGS__OFF_ALPHA + CLV_LBFGS__M)
#define CLV_LBFGS__PAST_SLOTS (CLV_LBFGS_PAST > 0 ? CLV_LBFGS_PAST : 1)
#define CLV_LBFGS__STATE_ELEMS (CLV_LBFGS__OFF_PAST + CLV_LBFGS__PAST_SLOTS)
/* The scalar block [scalars | ys | alpha | past f], from OFF_SC to the end
 * (a private copy on every lane of a cooperative item). */
#define CLV_LBFGS__BLOCK (CLV_LBFGS__STATE_ELEMS - CLV_LBFGS__OFF_SC)
#define CLV_LBFGS__B_YS CLV_LBFGS__N_SCALARS
#define CLV_LBFGS__B_ALPHA (CLV_LBFGS__N_SCALARS + CLV_LBFGS__M)
#define CLV_LBFGS__B_PAST (CLV_LBFGS__N_SCALARS + 2 * CLV_LBFGS__M)

/* scalar slots (counts are stored as reals: exact up to 2^24 in float) */
enum {
    CLV_LBFGS__SC_PHASE,     /* CLV_LBFGS__PHASE_* */
    CLV_LBFGS__SC_REASON,    /* CLV_LBFGS__RUNNING or a final reason */
    CLV_LBFGS__SC_ITER,      /* accepted iterations */
    CLV_LBFGS__SC_EVALS,     /* objective evaluations consumed */
    CLV_LBFGS__SC_LSCOUNT,   /* evaluations in the current line search */
    CLV_LBFGS__SC_F,         /* f(x) */
    CLV_LBFGS__SC_DGINIT,    /* g'd at x: the slope at step 0 */
    CLV_LBFGS__SC_STEP,      /* the trial step being evaluated */
    CLV_LBFGS__SC_GAMMA,     /* s'y / y'y of the newest stored pair */
    CLV_LBFGS__SC_MEMCOUNT,  /* stored pairs (<= m) */
    CLV_LBFGS__SC_MEMEND,    /* the slot the next pair goes to */
    CLV_LBFGS__SC_STAGE,     /* zoom: CLV_LBFGS__STAGE_* */
    CLV_LBFGS__SC_A_PREV, CLV_LBFGS__SC_F_PREV, CLV_LBFGS__SC_DG_PREV,   /* bracketing: the previous trial */
    CLV_LBFGS__SC_A_LO, CLV_LBFGS__SC_F_LO, CLV_LBFGS__SC_DG_LO,         /* zoom: the best point so far */
    CLV_LBFGS__SC_A_HI, CLV_LBFGS__SC_F_HI, CLV_LBFGS__SC_DG_HI,         /* zoom: the other end */
    CLV_LBFGS__SC_NONFINITE, /* 1 when the latest trial was NaN/inf */
    /* cooperative items only: the group sums of the latest evaluation
     * (clv_lbfgs__evaluated) and of the new direction */
    CLV_LBFGS__SC_TDG,       /* gt'd: the trial's slope */
    CLV_LBFGS__SC_TGG,       /* gt'gt */
    CLV_LBFGS__SC_TXX,       /* xt'xt */
    CLV_LBFGS__SC_TYS,       /* (gt - g)'(xt - x): s'y of the trial as a pair */
    CLV_LBFGS__SC_TYY,       /* (gt - g)'(gt - g) */
    CLV_LBFGS__SC_GD         /* g'd of the new direction */
};

#define CLV_LBFGS__PHASE_INIT 0   /* xt holds the start point */
#define CLV_LBFGS__PHASE_SEARCH 1 /* xt holds a line-search trial */
#define CLV_LBFGS__PHASE_DONE 2

#define CLV_LBFGS__STAGE_BRACKET 0
#define CLV_LBFGS__STAGE_ZOOM 1
#define CLV_LBFGS__STAGE_REEVAL 2 /* xt = the zoom's best point, accepted as is */

/* What one evaluation did to an item. */
#define CLV_LBFGS__TRIAL 0     /* a new trial point is in xt, same iteration */
#define CLV_LBFGS__ITERATED 1  /* an iteration ended: new direction, trial in xt */
#define CLV_LBFGS__FINISHED 2  /* the item is done (reason set) */
#define CLV_LBFGS__ACCEPT 3    /* (line searches) accept the trial point */

typedef struct clv_lbfgs__item {
    __global clv_real *st; /* the state row */
    __global clv_real *x, *g, *d, *S, *Y;
    CLV_LBFGS__SPACE clv_real *sc; /* the scalar block (CLV_LBFGS__BLOCK reals) */
} clv_lbfgs__item;

/* block: the item's scalar block, in the state row (one work item) or a
 * private copy (cooperative). */
inline clv_lbfgs__item clv_lbfgs__view(__global clv_real *state, size_t row, CLV_LBFGS__SPACE clv_real *block)
{
    clv_lbfgs__item v;
    v.st = state + row * (size_t)CLV_LBFGS__STATE_ELEMS;
    v.x = v.st;
    v.g = v.st + CLV_LBFGS__OFF_G;
    v.d = v.st + CLV_LBFGS__OFF_D;
    v.S = v.st + CLV_LBFGS__OFF_S;
    v.Y = v.st + CLV_LBFGS__OFF_Y;
    v.sc = block;
    return v;
}

/* Dot products stay inside one item, in index order: the same bits whatever
 * the batch, chunk or device. */
inline clv_real clv_lbfgs__dot(__global const clv_real *a, __global const clv_real *b)
{
    clv_real s = CLV_LBFGS__R(0.0);
    for (int i = 0; i < CLV_LBFGS__N; ++i) s += a[i] * b[i];
    return s;
}

inline clv_real clv_lbfgs__norm(__global const clv_real *a) { return sqrt(clv_lbfgs__dot(a, a)); }

/* The products the state machine reads. One work item computes each where
 * it is needed, as always; a cooperative item reads the group sums that
 * clv_lbfgs__evaluated took once per evaluation (no barrier in a branch). */
#ifdef CLV_LBFGS_GROUP
#define CLV_LBFGS__TRIAL_SLOPE(v, gt) ((v).sc[CLV_LBFGS__SC_TDG])   /* gt'd */
#define CLV_LBFGS__TRIAL_GNORM(v, gt) sqrt((v).sc[CLV_LBFGS__SC_TGG]) /* |gt| */
#define CLV_LBFGS__XNORM(v) sqrt((v).sc[CLV_LBFGS__SC_TXX])          /* |x| = |xt| once accepted */
#define CLV_LBFGS__GNORM(v) sqrt((v).sc[CLV_LBFGS__SC_TGG])          /* |g| = |gt| once accepted */
#define CLV_LBFGS__PAIR_YS(v, y, s) ((v).sc[CLV_LBFGS__SC_TYS])
#define CLV_LBFGS__PAIR_YY(v, y) ((v).sc[CLV_LBFGS__SC_TYY])
#define CLV_LBFGS__GD(v) ((v).sc[CLV_LBFGS__SC_GD])                  /* g'd */
#else
#define CLV_LBFGS__TRIAL_SLOPE(v, gt) clv_lbfgs__dot((gt), (v).d)
#define CLV_LBFGS__TRIAL_GNORM(v, gt) clv_lbfgs__norm(gt)
#define CLV_LBFGS__XNORM(v) clv_lbfgs__norm((v).x)
#define CLV_LBFGS__GNORM(v) clv_lbfgs__norm((v).g)
#define CLV_LBFGS__PAIR_YS(v, y, s) clv_lbfgs__dot((y), (s))
#define CLV_LBFGS__PAIR_YY(v, y) clv_lbfgs__dot((y), (y))
#define CLV_LBFGS__GD(v) clv_lbfgs__dot((v).g, (v).d)
#endif

/* a'b of two vectors of the item: a group sum of the lanes' shares
 * (cooperative), or clv_lbfgs__dot. */
inline clv_real clv_lbfgs__vdot(__global const clv_real *a, __global const clv_real *b CLV_LBFGS__TMP)
{
#ifdef CLV_LBFGS_GROUP
    clv_real s = CLV_LBFGS__R(0.0);
    CLV_LBFGS__FOR(i) s += a[i] * b[i];
    return clv_group_sum(s, tmp);
#else
    return clv_lbfgs__dot(a, b);
#endif
}

/* xt = x + step d: the next point to evaluate. */
inline void clv_lbfgs__set_trial(clv_lbfgs__item v, __global clv_real *xt, clv_real step)
{
    v.sc[CLV_LBFGS__SC_STEP] = step;
    CLV_LBFGS__FOR(i) xt[i] = v.x[i] + step * v.d[i];
}

inline int clv_lbfgs__finish(clv_lbfgs__item v, int reason)
{
    v.sc[CLV_LBFGS__SC_REASON] = CLV_LBFGS__I(reason);
    v.sc[CLV_LBFGS__SC_PHASE] = CLV_LBFGS__I(CLV_LBFGS__PHASE_DONE);
    return CLV_LBFGS__FINISHED;
}

/* A new line search along d from x, starting at step. */
inline void clv_lbfgs__start_search(clv_lbfgs__item v, __global clv_real *xt, clv_real step)
{
    const clv_real dginit = CLV_LBFGS__GD(v);
    v.sc[CLV_LBFGS__SC_DGINIT] = dginit;
    v.sc[CLV_LBFGS__SC_LSCOUNT] = CLV_LBFGS__R(0.0);
    v.sc[CLV_LBFGS__SC_STAGE] = CLV_LBFGS__I(CLV_LBFGS__STAGE_BRACKET);
    v.sc[CLV_LBFGS__SC_A_PREV] = CLV_LBFGS__R(0.0);
    v.sc[CLV_LBFGS__SC_A_LO] = CLV_LBFGS__R(0.0);
    v.sc[CLV_LBFGS__SC_F_PREV] = v.sc[CLV_LBFGS__SC_F];
    v.sc[CLV_LBFGS__SC_DG_PREV] = dginit;
    v.sc[CLV_LBFGS__SC_PHASE] = CLV_LBFGS__I(CLV_LBFGS__PHASE_SEARCH);
    clv_lbfgs__set_trial(v, xt, step);
}

/* Steepest descent with the first step scaled by min(1, 1/|g|) (optax's
 * capped inverse norm; liblbfgs uses 1/|d|): used at the start and when the
 * L-BFGS direction is not a descent direction (memory reset). */
inline void clv_lbfgs__steepest(clv_lbfgs__item v, __global clv_real *xt, clv_real gnorm)
{
    CLV_LBFGS__FOR(i) v.d[i] = -v.g[i];
#ifdef CLV_LBFGS_GROUP
    v.sc[CLV_LBFGS__SC_GD] = -v.sc[CLV_LBFGS__SC_TGG]; /* g'(-g), g = gt: exactly -(g'g) */
#endif
    v.sc[CLV_LBFGS__SC_MEMCOUNT] = CLV_LBFGS__R(0.0);
    v.sc[CLV_LBFGS__SC_MEMEND] = CLV_LBFGS__R(0.0);
    clv_lbfgs__start_search(v, xt, fmin(CLV_LBFGS__R(1.0), CLV_LBFGS__R(1.0) / gnorm));
}

/* The gradient test of liblbfgs: |g| / max(1, |x|) <= epsilon. */
inline int clv_lbfgs__gradient_small(clv_lbfgs__item v, clv_real *gnorm)
{
    const clv_real xnorm = fmax(CLV_LBFGS__R(1.0), CLV_LBFGS__XNORM(v));
    *gnorm = CLV_LBFGS__GNORM(v);
    return *gnorm / xnorm <= (CLV_LBFGS_EPSILON);
}

/* Consume the evaluation of the start point. */
inline int clv_lbfgs__consume_start(clv_lbfgs__item v, __global clv_real *xt, __global const clv_real *gt, clv_real ft)
{
    clv_real gnorm;
    CLV_LBFGS__FOR(i) {
        v.x[i] = xt[i];
        v.g[i] = gt[i];
    }
    v.sc[CLV_LBFGS__SC_F] = ft;
    v.sc[CLV_LBFGS__SC_GAMMA] = CLV_LBFGS__R(1.0);
    for (int k = 0; k < CLV_LBFGS__PAST_SLOTS; ++k) v.sc[CLV_LBFGS__B_PAST + k] = ft;
    const int small = clv_lbfgs__gradient_small(v, &gnorm);
    if (!isfinite(ft) || !isfinite(gnorm)) return clv_lbfgs__finish(v, CLV_LBFGS__ERR_NONFINITE);
    if (small) return clv_lbfgs__finish(v, CLV_LBFGS__ALREADY_MINIMIZED);
    clv_lbfgs__steepest(v, xt, gnorm);
    return CLV_LBFGS__ITERATED;
}

/* d = -H g by the two-loop recursion (Nocedal & Wright Alg. 7.4), newest
 * pair first in the first loop, H0 = gamma I. */
inline void clv_lbfgs__two_loop(clv_lbfgs__item v CLV_LBFGS__TMP)
{
    CLV_LBFGS__SPACE clv_real *alpha = v.sc + CLV_LBFGS__B_ALPHA;
    CLV_LBFGS__SPACE const clv_real *ys = v.sc + CLV_LBFGS__B_YS;
    const int count = (int)v.sc[CLV_LBFGS__SC_MEMCOUNT], end = (int)v.sc[CLV_LBFGS__SC_MEMEND];
    CLV_LBFGS__FOR(i) v.d[i] = -v.g[i];
    for (int k = 0; k < count; ++k) {
        const int j = (end - 1 - k + CLV_LBFGS__M) % CLV_LBFGS__M;
        __global const clv_real *s = v.S + j * CLV_LBFGS__N, *y = v.Y + j * CLV_LBFGS__N;
        const clv_real a = clv_lbfgs__vdot(s, v.d CLV_LBFGS__T) / ys[j];
        alpha[j] = a;
        CLV_LBFGS__FOR(i) v.d[i] -= a * y[i];
    }
    const clv_real gamma = v.sc[CLV_LBFGS__SC_GAMMA];
    CLV_LBFGS__FOR(i) v.d[i] *= gamma;
    for (int k = 0; k < count; ++k) {
        const int j = (end - count + k + CLV_LBFGS__M) % CLV_LBFGS__M;
        __global const clv_real *s = v.S + j * CLV_LBFGS__N, *y = v.Y + j * CLV_LBFGS__N;
        const clv_real b = clv_lbfgs__vdot(y, v.d CLV_LBFGS__T) / ys[j];
        CLV_LBFGS__FOR(i) v.d[i] += (alpha[j] - b) * s[i];
    }
}

/* Store the pair s = xt - x, y = gt - g unless s'y <= eps y'y (the pair would
 * make H indefinite or is lost in rounding; optax gives such pairs weight 0). */
inline void clv_lbfgs__store_pair(clv_lbfgs__item v, __global const clv_real *xt, __global const clv_real *gt)
{
    const int end = (int)v.sc[CLV_LBFGS__SC_MEMEND];
    __global clv_real *s = v.S + end * CLV_LBFGS__N, *y = v.Y + end * CLV_LBFGS__N;
    CLV_LBFGS__FOR(i) {
        s[i] = xt[i] - v.x[i];
        y[i] = gt[i] - v.g[i];
    }
    const clv_real ys = CLV_LBFGS__PAIR_YS(v, y, s), yy = CLV_LBFGS__PAIR_YY(v, y);
    if (!(ys > (clv_real)CLV_LBFGS__EPSILON * yy) || !isfinite(ys)) return;
    v.sc[CLV_LBFGS__B_YS + end] = ys;
    v.sc[CLV_LBFGS__SC_GAMMA] = ys / yy;
    v.sc[CLV_LBFGS__SC_MEMEND] = CLV_LBFGS__I((end + 1) % CLV_LBFGS__M);
    v.sc[CLV_LBFGS__SC_MEMCOUNT] = fmin(v.sc[CLV_LBFGS__SC_MEMCOUNT] + CLV_LBFGS__R(1.0), CLV_LBFGS__I(CLV_LBFGS__M));
}

/* The stopping tests of liblbfgs, in its order, after an accepted step. */
inline int clv_lbfgs__stop_reason(clv_lbfgs__item v, clv_real *gnorm)
{
    const int k = (int)v.sc[CLV_LBFGS__SC_ITER];
    if (clv_lbfgs__gradient_small(v, gnorm)) return CLV_LBFGS__CONVERGENCE;
#if CLV_LBFGS_PAST > 0
    {
        /* delta test: (f_{k-past} - f_k) / |f_k| < delta */
        CLV_LBFGS__SPACE clv_real *pf = v.sc + CLV_LBFGS__B_PAST;
        const clv_real f = v.sc[CLV_LBFGS__SC_F];
        const int slot = k % CLV_LBFGS_PAST;
        if (k >= CLV_LBFGS_PAST && (pf[slot] - f) / fabs(f) < (CLV_LBFGS_DELTA)) return CLV_LBFGS__STOP;
        pf[slot] = f;
    }
#endif
#if CLV_LBFGS_MAX_ITERATIONS > 0
    if (k >= CLV_LBFGS_MAX_ITERATIONS) return CLV_LBFGS__ERR_MAXIMUMITERATION;
#endif
    return CLV_LBFGS__RUNNING;
}

/* Accept the trial point: update the memory, test, and set up the next
 * line search. (Called from clv_lbfgs__advance only: one call site, so
 * the two-loop recursion's group sums are compiled once.) */
inline int clv_lbfgs__accept(clv_lbfgs__item v, __global clv_real *xt, __global const clv_real *gt,
                             clv_real ft CLV_LBFGS__TMP)
{
    clv_real gnorm;
    clv_lbfgs__store_pair(v, xt, gt);
    CLV_LBFGS__FOR(i) {
        v.x[i] = xt[i];
        v.g[i] = gt[i];
    }
    v.sc[CLV_LBFGS__SC_F] = ft;
    v.sc[CLV_LBFGS__SC_ITER] += CLV_LBFGS__R(1.0);
    const int reason = clv_lbfgs__stop_reason(v, &gnorm);
    if (reason != CLV_LBFGS__RUNNING) return clv_lbfgs__finish(v, reason);
    clv_lbfgs__two_loop(v CLV_LBFGS__T);
#ifdef CLV_LBFGS_GROUP
    v.sc[CLV_LBFGS__SC_GD] = clv_lbfgs__vdot(v.g, v.d, tmp);
#endif
    if (!(CLV_LBFGS__GD(v) < CLV_LBFGS__R(0.0))) { /* rounding broke descent: restart */
        clv_lbfgs__steepest(v, xt, gnorm);
        return CLV_LBFGS__ITERATED;
    }
    clv_lbfgs__start_search(v, xt, CLV_LBFGS__R(1.0)); /* the quasi-Newton step first (both searches) */
    return CLV_LBFGS__ITERATED;
}

/* Sufficient decrease, written as a difference: f + c1 a g'd would round
 * to f once the decrease is below f's last bit, accepting steps that do not
 * decrease f at all, forever. This way f strictly decreases at every
 * accepted step, so every item ends. */
inline int clv_lbfgs__armijo(clv_lbfgs__item v, clv_real ft, clv_real step)
{
    return ft - v.sc[CLV_LBFGS__SC_F] <= (CLV_LBFGS_FTOL) * step * v.sc[CLV_LBFGS__SC_DGINIT];
}

/* A failed line search: x stays at the last accepted point (liblbfgs). */
inline int clv_lbfgs__search_failed(clv_lbfgs__item v, int reason)
{
    return clv_lbfgs__finish(v, v.sc[CLV_LBFGS__SC_NONFINITE] != CLV_LBFGS__R(0.0) ? CLV_LBFGS__ERR_NONFINITE : reason);
}

#if !CLV_LBFGS_ZOOM
/* Backtracking as liblbfgs's default LBFGS_LINESEARCH_BACKTRACKING (its
 * _WOLFE variant, line_search_backtracking in lbfgs.c): no sufficient
 * decrease: a *= 0.5; sufficient decrease but the slope still below
 * c2 g'd (the step is too short, s'y could be tiny): a *= 2.1; else accept.
 * The accepted step satisfies the weak Wolfe conditions, so s'y > 0 and the
 * pair is kept. */
inline int clv_lbfgs__backtracking(clv_lbfgs__item v, __global clv_real *xt, __global const clv_real *gt,
                                   clv_real ft, int ok)
{
    const clv_real step = v.sc[CLV_LBFGS__SC_STEP];
    clv_real width = CLV_LBFGS__R(0.5);
    if (ok && clv_lbfgs__armijo(v, ft, step)) {
        if (!(CLV_LBFGS__TRIAL_SLOPE(v, gt) < (CLV_LBFGS_WOLFE) * v.sc[CLV_LBFGS__SC_DGINIT]))
            return CLV_LBFGS__ACCEPT;
        width = CLV_LBFGS__R(2.1);
    }
    if (v.sc[CLV_LBFGS__SC_LSCOUNT] >= CLV_LBFGS__I(CLV_LBFGS_MAX_LINESEARCH))
        return clv_lbfgs__search_failed(v, CLV_LBFGS__ERR_MAXIMUMLINESEARCH);
    const clv_real next = step * width;
    if (next < (CLV_LBFGS_MIN_STEP)) return clv_lbfgs__search_failed(v, CLV_LBFGS__ERR_MINIMUMSTEP);
    if (next > (CLV_LBFGS_MAX_STEP)) return clv_lbfgs__search_failed(v, CLV_LBFGS__ERR_MAXIMUMSTEP);
    clv_lbfgs__set_trial(v, xt, next);
    return CLV_LBFGS__TRIAL;
}
#else
/* Minimiser of the cubic through (lo, flo, dlo), (hi, fhi, dhi) (Nocedal &
 * Wright eq. 3.59); NaN when it has none. */
inline clv_real clv_lbfgs__cubic(clv_real lo, clv_real flo, clv_real dlo, clv_real hi, clv_real fhi, clv_real dhi)
{
    const clv_real d1 = dlo + dhi - CLV_LBFGS__R(3.0) * (flo - fhi) / (lo - hi);
    const clv_real rad = d1 * d1 - dlo * dhi;
    if (!(rad >= CLV_LBFGS__R(0.0))) return NAN;
    const clv_real d2 = (hi > lo ? CLV_LBFGS__R(1.0) : -CLV_LBFGS__R(1.0)) * sqrt(rad);
    return hi - (hi - lo) * (dhi + d2 - d1) / (dhi - dlo + CLV_LBFGS__R(2.0) * d2);
}

/* Minimiser of the quadratic through (lo, flo, dlo) and (hi, fhi). */
inline clv_real clv_lbfgs__quadratic(clv_real lo, clv_real flo, clv_real dlo, clv_real hi, clv_real fhi)
{
    const clv_real h = hi - lo;
    return lo - dlo * h * h / (CLV_LBFGS__R(2.0) * (fhi - flo - dlo * h));
}

/* The next zoom trial: cubic if it lies 20% inside the interval, else
 * quadratic 10% inside, else bisection (optax's safeguards). */
inline clv_real clv_lbfgs__zoom_trial(clv_lbfgs__item v)
{
    const clv_real lo = v.sc[CLV_LBFGS__SC_A_LO], hi = v.sc[CLV_LBFGS__SC_A_HI];
    const clv_real left = fmin(lo, hi), right = fmax(lo, hi), width = right - left;
    const clv_real flo = v.sc[CLV_LBFGS__SC_F_LO], dlo = v.sc[CLV_LBFGS__SC_DG_LO];
    const clv_real fhi = v.sc[CLV_LBFGS__SC_F_HI], dhi = v.sc[CLV_LBFGS__SC_DG_HI];
    const clv_real c = clv_lbfgs__cubic(lo, flo, dlo, hi, fhi, dhi);
    if (c > left + CLV_LBFGS__R(0.2) * width && c < right - CLV_LBFGS__R(0.2) * width) return c;
    const clv_real q = clv_lbfgs__quadratic(lo, flo, dlo, hi, fhi);
    if (q > left + CLV_LBFGS__R(0.1) * width && q < right - CLV_LBFGS__R(0.1) * width) return q;
    return CLV_LBFGS__R(0.5) * (lo + hi);
}

inline void clv_lbfgs__set_lo(clv_lbfgs__item v, clv_real a, clv_real f, clv_real dg)
{
    v.sc[CLV_LBFGS__SC_A_LO] = a;
    v.sc[CLV_LBFGS__SC_F_LO] = f;
    v.sc[CLV_LBFGS__SC_DG_LO] = dg;
}

inline void clv_lbfgs__set_hi(clv_lbfgs__item v, clv_real a, clv_real f, clv_real dg)
{
    v.sc[CLV_LBFGS__SC_A_HI] = a;
    v.sc[CLV_LBFGS__SC_F_HI] = f;
    v.sc[CLV_LBFGS__SC_DG_HI] = dg;
}

/* Out of evaluations or of interval: take the best point that has
 * sufficient decrease (evaluate it once more, then accept), if any. */
inline int clv_lbfgs__zoom_give_up(clv_lbfgs__item v, __global clv_real *xt, int reason)
{
    const clv_real lo = v.sc[CLV_LBFGS__SC_A_LO];
    if (!(lo > CLV_LBFGS__R(0.0))) return clv_lbfgs__search_failed(v, reason);
    v.sc[CLV_LBFGS__SC_STAGE] = CLV_LBFGS__I(CLV_LBFGS__STAGE_REEVAL);
    clv_lbfgs__set_trial(v, xt, lo);
    return CLV_LBFGS__TRIAL;
}

inline int clv_lbfgs__zoom_next(clv_lbfgs__item v, __global clv_real *xt)
{
    const clv_real lo = v.sc[CLV_LBFGS__SC_A_LO], hi = v.sc[CLV_LBFGS__SC_A_HI];
    v.sc[CLV_LBFGS__SC_STAGE] = CLV_LBFGS__I(CLV_LBFGS__STAGE_ZOOM);
    if (v.sc[CLV_LBFGS__SC_LSCOUNT] >= CLV_LBFGS__I(CLV_LBFGS_MAX_LINESEARCH))
        return clv_lbfgs__zoom_give_up(v, xt, CLV_LBFGS__ERR_MAXIMUMLINESEARCH);
    if (fabs(hi - lo) <= CLV_LBFGS__WIDTH_TOL * fmax(lo, hi))
        return clv_lbfgs__zoom_give_up(v, xt, CLV_LBFGS__ERR_WIDTHTOOSMALL);
    const int hi_ok = isfinite(v.sc[CLV_LBFGS__SC_F_HI]) && isfinite(v.sc[CLV_LBFGS__SC_DG_HI]);
    clv_lbfgs__set_trial(v, xt, hi_ok ? clv_lbfgs__zoom_trial(v) : CLV_LBFGS__R(0.5) * (lo + hi));
    return CLV_LBFGS__TRIAL;
}

/* Strong Wolfe line search: bracketing (Nocedal & Wright Alg. 3.5), then
 * zoom (Alg. 3.6), one evaluation per call. */
inline int clv_lbfgs__zoom(clv_lbfgs__item v, __global clv_real *xt, __global const clv_real *gt, clv_real ft, int ok)
{
    const clv_real a = v.sc[CLV_LBFGS__SC_STEP], dginit = v.sc[CLV_LBFGS__SC_DGINIT];
    const clv_real dg = ok ? CLV_LBFGS__TRIAL_SLOPE(v, gt) : CLV_LBFGS__R(0.0);
    const int armijo = ok && clv_lbfgs__armijo(v, ft, a);
    const int curvature = ok && fabs(dg) <= -(CLV_LBFGS_WOLFE) * dginit;
    const int stage = (int)v.sc[CLV_LBFGS__SC_STAGE];
    if (stage == CLV_LBFGS__STAGE_REEVAL) return CLV_LBFGS__ACCEPT;
    if (stage == CLV_LBFGS__STAGE_BRACKET) {
        if (!armijo || (v.sc[CLV_LBFGS__SC_LSCOUNT] > CLV_LBFGS__R(1.0) && ft >= v.sc[CLV_LBFGS__SC_F_PREV])) {
            clv_lbfgs__set_lo(v, v.sc[CLV_LBFGS__SC_A_PREV], v.sc[CLV_LBFGS__SC_F_PREV], v.sc[CLV_LBFGS__SC_DG_PREV]);
            clv_lbfgs__set_hi(v, a, ok ? ft : INFINITY, dg);
            return clv_lbfgs__zoom_next(v, xt);
        }
        if (curvature) return CLV_LBFGS__ACCEPT;
        if (dg >= CLV_LBFGS__R(0.0)) {
            clv_lbfgs__set_lo(v, a, ft, dg);
            clv_lbfgs__set_hi(v, v.sc[CLV_LBFGS__SC_A_PREV], v.sc[CLV_LBFGS__SC_F_PREV], v.sc[CLV_LBFGS__SC_DG_PREV]);
            return clv_lbfgs__zoom_next(v, xt);
        }
        /* still going down: extrapolate (optax's increase factor 2) */
        v.sc[CLV_LBFGS__SC_A_PREV] = a;
        v.sc[CLV_LBFGS__SC_F_PREV] = ft;
        v.sc[CLV_LBFGS__SC_DG_PREV] = dg;
        clv_lbfgs__set_lo(v, a, ft, dg); /* the best sufficient-decrease point so far */
        if (v.sc[CLV_LBFGS__SC_LSCOUNT] >= CLV_LBFGS__I(CLV_LBFGS_MAX_LINESEARCH))
            return clv_lbfgs__zoom_give_up(v, xt, CLV_LBFGS__ERR_MAXIMUMLINESEARCH);
        if (a >= (CLV_LBFGS_MAX_STEP)) return clv_lbfgs__search_failed(v, CLV_LBFGS__ERR_MAXIMUMSTEP);
        clv_lbfgs__set_trial(v, xt, fmin(CLV_LBFGS__R(2.0) * a, (CLV_LBFGS_MAX_STEP)));
        return CLV_LBFGS__TRIAL;
    }
    /* zoom */
    if (!armijo || ft >= v.sc[CLV_LBFGS__SC_F_LO]) {
        clv_lbfgs__set_hi(v, a, ok ? ft : INFINITY, dg);
    } else {
        if (curvature) return CLV_LBFGS__ACCEPT;
        if (dg * (v.sc[CLV_LBFGS__SC_A_HI] - v.sc[CLV_LBFGS__SC_A_LO]) >= CLV_LBFGS__R(0.0))
            clv_lbfgs__set_hi(v, v.sc[CLV_LBFGS__SC_A_LO], v.sc[CLV_LBFGS__SC_F_LO], v.sc[CLV_LBFGS__SC_DG_LO]);
        clv_lbfgs__set_lo(v, a, ft, dg);
    }
    return clv_lbfgs__zoom_next(v, xt);
}
#endif

/* Consume one evaluation (ft, gt at xt) of item v; leave the next point to
 * evaluate in xt. */
inline int clv_lbfgs__advance(clv_lbfgs__item v, __global clv_real *xt, __global const clv_real *gt,
                              clv_real ft CLV_LBFGS__TMP)
{
    const int phase = (int)v.sc[CLV_LBFGS__SC_PHASE];
    if (phase == CLV_LBFGS__PHASE_DONE) return CLV_LBFGS__FINISHED;
    v.sc[CLV_LBFGS__SC_EVALS] += CLV_LBFGS__R(1.0);
    if (phase == CLV_LBFGS__PHASE_INIT) return clv_lbfgs__consume_start(v, xt, gt, ft);
    v.sc[CLV_LBFGS__SC_LSCOUNT] += CLV_LBFGS__R(1.0);
    const int ok = isfinite(ft) && isfinite(CLV_LBFGS__TRIAL_GNORM(v, gt));
    v.sc[CLV_LBFGS__SC_NONFINITE] = ok ? CLV_LBFGS__R(0.0) : CLV_LBFGS__R(1.0);
#if CLV_LBFGS_ZOOM
    const int what = clv_lbfgs__zoom(v, xt, gt, ft, ok);
#else
    const int what = clv_lbfgs__backtracking(v, xt, gt, ft, ok);
#endif
    return what == CLV_LBFGS__ACCEPT ? clv_lbfgs__accept(v, xt, gt, ft CLV_LBFGS__T) : what;
}

/* What the host reads after every launch: reason, iterations, evaluations, f. */
inline void clv_lbfgs__summary(__global const clv_real *state, size_t row, __global clv_real *summary)
{
    __global const clv_real *sc = state + row * (size_t)CLV_LBFGS__STATE_ELEMS + CLV_LBFGS__OFF_SC;
    summary[4 * row + 0] = sc[CLV_LBFGS__SC_REASON];
    summary[4 * row + 1] = sc[CLV_LBFGS__SC_ITER];
    summary[4 * row + 2] = sc[CLV_LBFGS__SC_EVALS];
    summary[4 * row + 3] = sc[CLV_LBFGS__SC_F];
}

/* Kernel parameters are spelt CLV_REAL (the macro, not the typedef) so that
 * the driver reports "double*" or "float*" and clv_map checks the arrays'
 * dtype. */

/* Start every item: scalars zeroed (phase INIT, no pairs), reason RUNNING.
 * x, g, d, S, Y need no clearing: each is written before it is read. */
__kernel void clv_lbfgs_reset(CLV_ITEMS, __global CLV_REAL *state, __global CLV_REAL *summary)
{
    CLV_GUARD();
    __global clv_real *sc = state + clv_local() * (size_t)CLV_LBFGS__STATE_ELEMS + CLV_LBFGS__OFF_SC;
    /* one store per slot with its own value: a loop of zeros becomes a
     * memset, which oclgrind 21.10 does not mark as initialised. A
     * cooperative item copies its whole scalar block to every lane and
     * back (ys, alpha, past included), so all of it is set here. */
#ifdef CLV_LBFGS_GROUP
    for (int k = 0; k < CLV_LBFGS__BLOCK; ++k)
#else
    for (int k = 0; k < CLV_LBFGS__N_SCALARS; ++k)
#endif
        sc[k] = k == CLV_LBFGS__SC_REASON ? CLV_LBFGS__I(CLV_LBFGS__RUNNING) : CLV_LBFGS__R(0.0);
    clv_lbfgs__summary(state, clv_local(), summary);
}

#ifndef CLV_LBFGS_GROUP
/* One step of every item after the host evaluated xt (host-callback
 * objectives): one launch per evaluation round. */
__kernel void clv_lbfgs_advance(CLV_ITEMS, __global CLV_REAL *state, __global CLV_REAL *xt,
                                __global const CLV_REAL *gt, __global const CLV_REAL *ft,
                                __global CLV_REAL *summary)
{
    CLV_GUARD();
    const size_t row = clv_local();
    __global clv_real *block = state + row * (size_t)CLV_LBFGS__STATE_ELEMS + CLV_LBFGS__OFF_SC;
    clv_lbfgs__advance(clv_lbfgs__view(state, row, block), xt + row * CLV_LBFGS__N, gt + row * CLV_LBFGS__N,
                       ft[row]);
    clv_lbfgs__summary(state, row, summary);
}
#endif

#ifdef CLV_LBFGS_KERNEL_OBJECTIVE
/* The user's data: replicated arrays passed through (unused ones point at a
 * one-element dummy). */
typedef struct clv_lbfgs_data {
    __global const clv_real *real[4];
    __global const int *integer[2];
} clv_lbfgs_data;

/* Defined by the user's source, which follows this file: the value at x
 * (CLV_LBFGS_N reals) with the gradient written to g. item: the item's
 * index in the caller's batch (stable across chunks, devices, compaction).
 * Cooperative objectives take tmp, a __local buffer of clv_lanes() x
 * CLV_LBFGS_TMP values for the prelude's clv_group_* helpers: every lane
 * of the item's group calls the objective with the same x (all of it
 * readable by every lane), each works on a share, and the objective returns
 * the same value on every lane and writes every element of g from exactly
 * one lane (the optimizer waits for all lanes before it reads g). */
#ifdef CLV_LBFGS_GROUP
clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g, ulong item,
                             clv_lbfgs_data data, __local clv_real *tmp);
#else
clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g, ulong item,
                             clv_lbfgs_data data);
#endif

#ifndef CLV_LBFGS_GROUP
/* L-BFGS iterations of every running item in one launch: evaluate and
 * advance until the item has accepted per_launch steps or ended. per_launch
 * is an argument, not a -D option, so that one program serves a minimize
 * with a progress callback (1: it sees every iteration) and one without
 * (more: fewer host round trips); the item's path does not depend on it. */
__kernel void clv_lbfgs_iterate(CLV_ITEMS, __global CLV_REAL *state, __global CLV_REAL *xt,
                                __global CLV_REAL *gt, __global CLV_REAL *ft, __global CLV_REAL *summary,
                                __global const int *index, __global const CLV_REAL *r0,
                                __global const CLV_REAL *r1, __global const CLV_REAL *r2,
                                __global const CLV_REAL *r3, __global const int *i0, __global const int *i1,
                                const int per_launch)
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
    __global clv_real *x = xt + row * CLV_LBFGS__N, *g = gt + row * CLV_LBFGS__N;
    const ulong item = (ulong)index[row];
    __global clv_real *sc = state + row * (size_t)CLV_LBFGS__STATE_ELEMS + CLV_LBFGS__OFF_SC;
    const clv_lbfgs__item v = clv_lbfgs__view(state, row, sc);
    /* per_launch iterations, each at most a line search's worth of
     * evaluations plus a re-evaluation */
    int iterations = 0;
    const long evaluations = (long)per_launch * (CLV_LBFGS_MAX_LINESEARCH + 2L);
    for (long e = 0; e < evaluations; ++e) {
        if (sc[CLV_LBFGS__SC_PHASE] == CLV_LBFGS__I(CLV_LBFGS__PHASE_DONE)) break;
        const clv_real f = clv_lbfgs_objective(x, g, item, data);
        ft[row] = f;
        const int what = clv_lbfgs__advance(v, x, g, f);
        if (what == CLV_LBFGS__FINISHED) break;
        if (what == CLV_LBFGS__ITERATED && ++iterations == per_launch) break;
    }
    clv_lbfgs__summary(state, row, summary);
}
#else
/* After the objective: wait until g is complete, then take, in one group
 * reduction, every product of the evaluation the state machine may read
 * (the trial's slope and norms, and s'y, y'y of the pair it would make). */
inline void clv_lbfgs__evaluated(clv_lbfgs__item v, __global const clv_real *xt, __global const clv_real *gt,
                                 __local clv_real *tmp)
{
    const int start = v.sc[CLV_LBFGS__SC_PHASE] == CLV_LBFGS__I(CLV_LBFGS__PHASE_INIT); /* x, g, d unset */
    clv_real p[5] = { CLV_LBFGS__R(0.0), CLV_LBFGS__R(0.0), CLV_LBFGS__R(0.0), CLV_LBFGS__R(0.0),
                      CLV_LBFGS__R(0.0) };
    barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);
    CLV_LBFGS__FOR(i) {
        const clv_real gi = gt[i], xi = xt[i];
        p[1] += gi * gi;
        p[2] += xi * xi;
        if (start) continue;
        const clv_real yi = gi - v.g[i], si = xi - v.x[i];
        p[0] += gi * v.d[i];
        p[3] += yi * si;
        p[4] += yi * yi;
    }
    clv_group_sum_n(p, 5, tmp);
    v.sc[CLV_LBFGS__SC_TDG] = p[0];
    v.sc[CLV_LBFGS__SC_TGG] = p[1];
    v.sc[CLV_LBFGS__SC_TXX] = p[2];
    v.sc[CLV_LBFGS__SC_TYS] = p[3];
    v.sc[CLV_LBFGS__SC_TYY] = p[4];
}

/* The same launch with one work group per item (CLV_ITEM_PER_GROUP): the
 * item's scalar block is a private copy on every lane, written back by
 * lane 0 at the end. */
__kernel void clv_lbfgs_iterate(CLV_ITEMS, __global CLV_REAL *state, __global CLV_REAL *xt,
                                __global CLV_REAL *gt, __global CLV_REAL *ft, __global CLV_REAL *summary,
                                __global const int *index, __global const CLV_REAL *r0,
                                __global const CLV_REAL *r1, __global const CLV_REAL *r2,
                                __global const CLV_REAL *r3, __global const int *i0, __global const int *i1,
                                const int per_launch, __local CLV_REAL *tmp)
{
    CLV_GUARD(); /* the whole group: one item */
    const size_t row = clv_local();
    clv_lbfgs_data data;
    data.real[0] = r0;
    data.real[1] = r1;
    data.real[2] = r2;
    data.real[3] = r3;
    data.integer[0] = i0;
    data.integer[1] = i1;
    __global clv_real *x = xt + row * CLV_LBFGS__N, *g = gt + row * CLV_LBFGS__N;
    const ulong item = (ulong)index[row];
    __global clv_real *sc = state + row * (size_t)CLV_LBFGS__STATE_ELEMS + CLV_LBFGS__OFF_SC;
    clv_real block[CLV_LBFGS__BLOCK];
    for (int k = 0; k < CLV_LBFGS__BLOCK; ++k) block[k] = sc[k];
    const clv_lbfgs__item v = clv_lbfgs__view(state, row, block);
    int iterations = 0, evaluated = 0;
    clv_real f = CLV_LBFGS__R(0.0);
    const long evaluations = (long)per_launch * (CLV_LBFGS_MAX_LINESEARCH + 2L);
    for (long e = 0; e < evaluations; ++e) { /* per_launch: the same on every lane */
        if (block[CLV_LBFGS__SC_PHASE] == CLV_LBFGS__I(CLV_LBFGS__PHASE_DONE)) break;
        barrier(CLK_GLOBAL_MEM_FENCE); /* every lane's share of the trial point is written */
        f = clv_lbfgs_objective(x, g, item, data, tmp);
        evaluated = 1;
        clv_lbfgs__evaluated(v, x, g, tmp);
        const int what = clv_lbfgs__advance(v, x, g, f, tmp);
        if (what == CLV_LBFGS__FINISHED) break;
        if (what == CLV_LBFGS__ITERATED && ++iterations == per_launch) break;
    }
    barrier(CLK_GLOBAL_MEM_FENCE); /* every lane has read the block before lane 0 rewrites it */
    if (clv_lane() != 0) return;
    for (int k = 0; k < CLV_LBFGS__BLOCK; ++k) sc[k] = block[k];
    if (evaluated) ft[row] = f;
    clv_lbfgs__summary(state, row, summary);
}
#endif
#endif
