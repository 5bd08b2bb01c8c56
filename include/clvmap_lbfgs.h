/* clvmap_lbfgs.h — batched L-BFGS on clvmap: B independent minimisations of
 * dimension n at once, on every device of a clvmap mesh.   version 0.1.1
 *
 * WHAT IT IS
 *   A hyperparameter grid, many random starts, one model fitted per pixel:
 *   B objectives f_i(x), x in R^n, minimised together. Each item runs its own
 *   L-BFGS (memory m, two-loop recursion) with its own line search as a state
 *   machine on the device, so items never wait for each other's line
 *   searches (a vmapped zoom line search runs every iteration to the batch's
 *   worst item). Each item stops on its own with a reason code, as in
 *   liblbfgs; finished items are dropped from later launches (the working
 *   set is compacted once half of its rows have finished for a callback
 *   objective, three quarters for a kernel objective, whose finished rows
 *   cost almost nothing), so the work shrinks as items converge. The batch is
 *   sharded over the mesh's devices and may be solved `chunk` items at a time
 *   (jax.lax.map(batch_size=chunk)); the minima are bitwise identical
 *   whatever the chunk and the device split.
 *
 *   The objective is either
 *     a kernel: OpenCL C source defining
 *         clv_real clv_lbfgs_objective(__global const clv_real *x,
 *                                      __global clv_real *g, ulong item,
 *                                      clv_lbfgs_data data);
 *       that returns f(x) and writes the gradient to g (CLV_LBFGS_N reals
 *       each; CLV_LBFGS_N is defined to n). `item` is the item's index in
 *       your batch; data.real[0..3] (clv_real) and data.integer[0..1] (int)
 *       are the replicated clv_arrays given in clv_lbfgs_objective.data and
 *       .idata. A whole iteration (the line search included) runs in one
 *       launch.
 *     or a host callback, called once per evaluation round with the batch's
 *       device arrays (x, g, f as clv_arrays) so that it can run its own
 *       kernels or CLBlast on them: e.g. one GEMM over all items for a dense
 *       forward model shared by the batch (see clv_lbfgs_gemm below and
 *       examples/lbfgs_survey.c).
 *
 * A COMPLETE EXAMPLE (C99): 1000 Rosenbrock functions of stiffness b = 1..100
 * (minimum f = 0 at x = 1), n = 8, on every device CLV_DEVICES names
 *
 *   #include "clvmap_lbfgs.h"
 *   #include <stdio.h>
 *   static const char *objective =
 *       "clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g,\n"
 *       "                             ulong item, clv_lbfgs_data data) {\n"
 *       "    const clv_real b = data.real[0][item];   // this item's stiffness\n"
 *       "    clv_real f = 0;\n"
 *       "    for (int i = 0; i < CLV_LBFGS_N; ++i) g[i] = 0;\n"
 *       "    for (int i = 0; i + 1 < CLV_LBFGS_N; ++i) {\n"
 *       "        const clv_real t = x[i + 1] - x[i] * x[i], u = 1 - x[i];\n"
 *       "        f += b * t * t + u * u;\n"
 *       "        g[i] += -4 * b * x[i] * t - 2 * u;\n"
 *       "        g[i + 1] += 2 * b * t;\n"
 *       "    }\n"
 *       "    return f;\n"
 *       "}\n";
 *   int main(void) {
 *       enum { B = 1000, N = 8 };
 *       static double x[B * N], stiffness[B], fx[B];
 *       static int reason[B];
 *       for (int i = 0; i < B; ++i) stiffness[i] = 1.0 + 99.0 * i / (B - 1);
 *       for (int i = 0; i < B * N; ++i) x[i] = -1.2;
 *       clv_mesh *m;
 *       if (clv_mesh_open(&m, NULL)) { puts(clv_mesh_message(m)); return 1; }
 *       clv_array *b;
 *       clv_array_new(&b, m, CLV_F64, B, 1, CLV_REPLICATED);
 *       clv_array_write(b, stiffness);
 *       clv_lbfgs_objective obj = {0};
 *       obj.source = objective;
 *       obj.data[0] = b;
 *       clv_lbfgs_parameter param = {0};          // zero: liblbfgs-like defaults
 *       param.linesearch = CLV_LBFGS_LINESEARCH_BACKTRACKING;
 *       clv_lbfgs *s;
 *       clv_status st = clv_lbfgs_new(&s, m, N, &obj, &param);
 *       clv_lbfgs_items out = {0};
 *       out.fx = fx;
 *       out.reason = reason;
 *       if (st == CLV_OK) st = clv_lbfgs_minimize(s, B, x, &out, NULL, NULL);
 *       if (st != CLV_OK) puts(clv_lbfgs_message(s));
 *       else printf("b = 100: f = %.3g at x0 = %.6f (%s)\n", fx[B - 1], x[(B - 1) * N],
 *                   clv_lbfgs_reason_string(reason[B - 1]));
 *       clv_lbfgs_free(s);
 *       clv_array_free(b);
 *       clv_mesh_close(m);
 *       return st != CLV_OK;
 *   }
 *
 * PARAMETERS (clv_lbfgs_parameter; a zeroed field means the default)
 *   m 10, epsilon 1e-5, past 0 (no delta test), delta 0, max_iterations 0
 *   (no limit), linesearch strong Wolfe, max_linesearch 40, ftol (c1) 1e-4,
 *   wolfe (c2) 0.9, min_step 1e-20, max_step 1e20 — liblbfgs's meanings
 *   (liblbfgs's m is 6; 10 is optax's). Negative values and c1 >= c2 are
 *   refused. Batching: chunk (items resident at once), float32,
 *   no_compaction, iterations_per_launch (kernel objectives), local_size
 *   (cooperative objectives).
 *   Round trips: a kernel objective runs a whole iteration (its line search
 *   included) in one launch, and every launch ends with the host reading a
 *   summary and calling progress. With iterations_per_launch 0 (the
 *   default) a minimize given a progress callback launches one iteration at
 *   a time (progress sees every iteration, and can cancel after any);
 *   without one it launches 32 at a time, each item stopping at its own end
 *   inside a launch, so the minima are the same bits as with 1 (PoCL, 1024
 *   Rosenbrock problems: 242 rounds become 8, 0.115 s about 0.09 s). Set
 *   it to choose either way: 1 for a progress report every iteration
 *   without a callback's cost, or e.g. 16 with a callback that needs fewer.
 *   One work item per problem: the problems' line searches take different
 *   paths, so these launches ask the core for a divergent map
 *   (clv_map_opts.divergent): on Intel's CPU runtime they then run one
 *   work item per group, which its compiler leaves scalar (3x faster there
 *   than masked SIMD code; the same bits).
 *
 * THE ALGORITHM (and where each piece comes from)
 *   Direction: two-loop recursion (Nocedal & Wright, Alg. 7.4), H0 = gamma I
 *   with gamma = s'y / y'y of the newest pair; pairs with s'y <= eps * y'y
 *   (eps: machine epsilon) are skipped. First step min(1, 1/|g|) along -g
 *   (optax.scale_by_lbfgs); a non-descent direction restarts from -g.
 *   Every later search starts at step 1 (the quasi-Newton step).
 *   Backtracking: liblbfgs's default LBFGS_LINESEARCH_BACKTRACKING (its
 *   _WOLFE variant): without sufficient decrease f(x + a d) - f(x) <=
 *   c1 a g'd, a *= 0.5; with it but a slope g(x + a d)'d still below c2 g'd,
 *   a *= 2.1; else accept (weak Wolfe, so s'y > 0). Strong Wolfe: bracketing
 *   and zoom (Nocedal & Wright, Alg. 3.5, 3.6), extrapolation x2, trial by
 *   cubic interpolation (kept when 20% inside the interval), else quadratic
 *   (10%), else bisection (optax's zoom safeguards). Out of evaluations, the
 *   best sufficient-decrease point is taken. Stopping tests, in liblbfgs's
 *   order: |g| / max(1, |x|) <= epsilon; (f_{k-past} - f_k) / |f_k| < delta
 *   (liblbfgs 1.10 divides by f_k); k >= max_iterations. A failed line
 *   search leaves x at the last accepted point. NaN or inf at the start
 *   point ends the item (CLV_LBFGSERR_NONFINITE); inside a line search a
 *   NaN/inf trial counts as "not decreased enough" (the step shrinks); if
 *   the search then fails the reason is CLV_LBFGSERR_NONFINITE. Other items
 *   go on.
 *
 * COOPERATIVE OBJECTIVES (clv_lbfgs_objective.cooperative = 1)
 *   One work group runs one problem: its L work items ("lanes") evaluate
 *   the objective together, and the optimizer's own vectors of length n
 *   (the two-loop recursion's dot products and updates, the trial point)
 *   are spread over them too, so a heavy objective (a sum over 10^4-10^6
 *   observations) or a large n uses the group. The objective takes a fifth
 *   parameter and every lane calls it with the same x:
 *       clv_real clv_lbfgs_objective(__global const clv_real *x,
 *                                    __global clv_real *g, ulong item,
 *                                    clv_lbfgs_data data, __local clv_real *tmp);
 *   Each lane takes a share (CLV_GROUP_BLOCK, a contiguous block: the
 *   form for CPUs; CLV_GROUP_FOR, interleaved: for GPUs) and the prelude's clv_group_sum / clv_group_sum_n combine
 *   the shares in tmp, clv_lanes() x CLV_LBFGS_TMP values
 *   (objective.tmp_elems, at least 8). It must return the same value on
 *   every lane and write every element of g from exactly one lane; every
 *   lane must make the same clv_group_* calls. A logistic regression in
 *   plain scalar code (tests/lbfgs/objectives.h, logistic_coop_cl):
 *       clv_real gp[CLV_LBFGS_N + 1];               // this lane's share
 *       for (int j = 0; j <= CLV_LBFGS_N; ++j) gp[j] = 0;
 *       CLV_GROUP_BLOCK(k, n_samples) { ... gp[j] += r * xk[j]; gp[N] += loss; }
 *       clv_group_sum_n(gp, CLV_LBFGS_N + 1, tmp);  // tmp_elems = n + 1
 *       CLV_GROUP_FOR(j, CLV_LBFGS_N) g[j] = gp[j] + lambda * w[j];
 *       return gp[CLV_LBFGS_N] + ...;                // the same on every lane
 *   More than ~32 shares per lane, on a runtime that runs the lanes side
 *   by side (CLV_LANES_IN_TURN 0: Intel's CPU runtime, GPUs): keep them in
 *   CLV_LANE_SLOT(tmp, j) instead of gp[j] and sum them into g with
 *   clv_group_sum_table(tmp, n, g) (the same bits; clvmap.h).
 *   L: param.local_size, or 0 for the default (clv_map_local_size's for
 *   clv_lbfgs_iterate: 64, 8 on PoCL's CPU devices, lowered to what every
 *   device runs);
 *   clv_lbfgs_local_size(s) says which. The minima depend on L (the order
 *   of the group sums) and never on the chunk, the device split, the
 *   compaction or iterations_per_launch: guarantee 1 holds at a fixed L.
 *   Both line searches, f32 and f64; the same algorithm, so the minima
 *   agree with the one-work-item form's to rounding (tests/lbfgs/
 *   test_lbfgs_cooperative.c: a 1000-d Gaussian to 1e-10 of its exact
 *   minimum; logistic values to 1e-10). Refused: a cooperative host
 *   callback, local_size or tmp_elems without cooperative, L beyond a
 *   device's work-group limit, tmp beyond its __local memory, and
 *   32 + 2m + max(past, 1) > 288 (the scalars every lane keeps).
 *   When to choose which: one work item per problem for many cheap
 *   problems (thousands of small fits fill every core); a work group per
 *   problem when the problems are few and each is heavy, on a GPU above
 *   all (64 problems are 64 threads in the first form, 64 x L in the
 *   second), and on CPU runtimes that vectorise across a group's work
 *   items (Intel's: 64 logistic fits of 10^4 observations ran 3.1x faster
 *   cooperative than in plain one-work-item code; PoCL 3.1 vectorises
 *   neither well, there hand-vectorised clv_real4 one-work-item code is
 *   fastest: README, L-BFGS). PoCL compiles each cooperative program in
 *   seconds (3-5 s here, 10-18 s at load 10), not the minutes of the
 *   cooperative NUTS kernels.
 *
 * GUARANTEES
 *   1. Items are independent: an item's iterates depend only on its start,
 *      its objective and the parameters. Its dot products run in index order
 *      inside the item, so the minima are bitwise identical whatever the
 *      chunk, the device split and the compaction. A host callback keeps
 *      this as long as its own per-item results do not depend on how many
 *      items it is given (CLBlast's GEMM picks kernels by size: see
 *      clv_lbfgs_gemm).
 *   2. Device memory: the working set of min(B, chunk) items, each
 *      (3 + 2m) n + 2 m + 32 + max(past, 1) reals of state and 2n + 5 of
 *      trial point, gradient and summary, plus a callback's scratch.
 *   3. Errors: calls return clv_status; clv_lbfgs_message() says why (bad
 *      parameters by name, the build log of a kernel objective, the failing
 *      clvmap call). Per-item outcomes are reason codes, never call errors.
 *   4. Every item ends: an accepted step strictly decreases f (sufficient
 *      decrease is tested as f(x + a d) - f(x) <= c1 a g'd, so a decrease
 *      lost to rounding counts as none) and each line search is bounded by
 *      max_linesearch. Near a minimum, an epsilon tighter than f's rounding
 *      allows therefore ends items with a line-search code
 *      (CLV_LBFGSERR_MAXIMUMLINESEARCH / _WIDTHTOOSMALL / _MINIMUMSTEP) at
 *      their best point, as liblbfgs's rounding-error stops do.
 *
 * LIMITS
 *   One work item per batch item unless the objective is cooperative: a
 *   kernel objective's inner loops then run serially inside its item; on
 *   PoCL, write exp/log-heavy loops over clv_real4 (four samples at a time:
 *   PoCL 3.1's vector double exp/log1p are several times faster per element
 *   than its scalar ones, 4-6x on the logistic objective of
 *   tests/lbfgs/objectives.h, logistic_cl, which shows how). Each
 *   item's state is contiguous ([item][elements]): cache-friendly on CPUs,
 *   uncoalesced on GPUs. Compaction copies the working set's state through
 *   the host. Host x is double even for float32 items.
 *
 * OPTIONS (define before including)
 *   CLV_LBFGS_CLBLAST   also compile clv_lbfgs_gemm (CLBlast GEMM over the
 *                       batch); including <clblast_c.h> before this header
 *                       does the same (define CL_TARGET_OPENCL_VERSION 120
 *                       before <clblast_c.h>, or OpenCL 3.0 headers flag
 *                       clvmap.h's clCreateCommandQueue as deprecated).
 *                       Link with -lclblast then; otherwise the header
 *                       needs only OpenCL and clvmap.h.
 *   CLV_LBFGS_MESSAGE_SIZE   bytes of a solver's message (default 8192).
 *
 * REVISION HISTORY
 *   0.1.0 (2026-11-21) first version: kernel and callback objectives,
 *                      backtracking (liblbfgs's: halve / x2.1, from step
 *                      1) and strong Wolfe, compaction, CLBlast,
 *                      clv_lbfgs_set_first_item, failover host copies kept
 *                      current after callbacks and clv_lbfgs_gemm.
 *   0.1.1 (2026-12-03) version macros (CLV_LBFGS_VERSION_*); epsilon,
 *                      delta, min_step or max_step NaN or inf refused by
 *                      name (inf used to reach the compiler as
 *                      `-DCLV_LBFGS_EPSILON=inf`, a CLV_ERROR_BUILD); a
 *                      working set that cannot fit (chunk or n_items, n, m,
 *                      past against each device's memory and largest
 *                      allocation, and the host's) refused before anything
 *                      is allocated, CLV_ERROR_OUT_OF_MEMORY with the bytes
 *                      needed and available; every host allocation's size
 *                      overflow-checked (issue 11).
 *   (next, 2026-12-03) clv_lbfgs_parameter.share (a clv_share: each
 *                      minimize's items split between processes, every
 *                      item's x and outputs on every process, bitwise one
 *                      process's); messages, allocation and host memory
 *                      from the core (issue 12).
 *                      Cooperative kernel objectives
 *                      (clv_lbfgs_objective.cooperative, .tmp_elems,
 *                      clv_lbfgs_parameter.local_size,
 *                      clv_lbfgs_local_size): one work group per problem,
 *                      the objective and the optimizer's n-vectors over its
 *                      lanes; the one-work-item form's bits unchanged
 *                      (issue 13).
 *                      iterations_per_launch 0 lets the library choose (1
 *                      with a progress callback, 32 without), an argument
 *                      of clv_lbfgs_iterate instead of a -D option; the
 *                      one-work-item kernels' maps marked divergent, local
 *                      size 1 on Intel's CPU runtime (issue 16).
 *
 * LICENSE: MIT, as clvmap.h.
 *
 * ------------------------------------------------------------------------
 * Stop reading here if you only want the API.
 */
#ifndef CLVMAP_LBFGS_H
#define CLVMAP_LBFGS_H

#include "clvmap.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLV_LBFGS_VERSION_MAJOR 0
#define CLV_LBFGS_VERSION_MINOR 1
#define CLV_LBFGS_VERSION_PATCH 1

#ifndef CLV_LBFGS_MESSAGE_SIZE
#define CLV_LBFGS_MESSAGE_SIZE 8192
#endif

/* ---- per-item outcomes (liblbfgs's codes, renumbered) -------------------- */

typedef enum clv_lbfgs_reason {
    CLV_LBFGS_CONVERGENCE = 0,         /* |g| / max(1, |x|) <= epsilon */
    CLV_LBFGS_STOP = 1,                /* the delta test over `past` iterations */
    CLV_LBFGS_ALREADY_MINIMIZED = 2,   /* the start point passes the gradient test */
    CLV_LBFGSERR_CANCELED = -1,        /* the progress callback stopped the run first */
    CLV_LBFGSERR_MAXIMUMITERATION = -2,/* max_iterations reached */
    CLV_LBFGSERR_MAXIMUMLINESEARCH = -3,/* max_linesearch evaluations without an acceptable step */
    CLV_LBFGSERR_MINIMUMSTEP = -4,     /* the step fell below min_step */
    CLV_LBFGSERR_MAXIMUMSTEP = -5,     /* the step reached max_step */
    CLV_LBFGSERR_WIDTHTOOSMALL = -6,   /* the zoom interval shrank to rounding, no acceptable point */
    CLV_LBFGSERR_NONFINITE = -7        /* NaN or inf (at the start, or throughout a failed search) */
} clv_lbfgs_reason;

/* A fixed English description of a reason code (never NULL). */
static inline const char *clv_lbfgs_reason_string(int reason);

/* ---- parameters ----------------------------------------------------------- */

typedef enum clv_lbfgs_linesearch {
    CLV_LBFGS_LINESEARCH_DEFAULT = 0,      /* strong Wolfe */
    CLV_LBFGS_LINESEARCH_STRONG_WOLFE = 1, /* bracketing + zoom (cubic/quadratic/bisection) */
    CLV_LBFGS_LINESEARCH_BACKTRACKING = 2  /* liblbfgs's backtracking (weak Wolfe): x0.5, x2.1 */
} clv_lbfgs_linesearch;

typedef struct clv_lbfgs_parameter {
    int m;              /* pairs kept (0: 10) */
    double epsilon;     /* gradient test |g| / max(1, |x|) <= epsilon (0: 1e-5) */
    int past;           /* delta test distance in iterations (0: no delta test) */
    double delta;       /* delta test: stop when (f_{k-past} - f_k) / |f_k| < delta (0: 0) */
    int max_iterations; /* (0: no limit) */
    clv_lbfgs_linesearch linesearch;
    int max_linesearch; /* evaluations per line search (0: 40) */
    double ftol;        /* c1, sufficient decrease (0: 1e-4) */
    double wolfe;       /* c2, the curvature condition (strong for zoom, weak for
                           backtracking) (0: 0.9) */
    double min_step;    /* (0: 1e-20) */
    double max_step;    /* (0: 1e20) */
    /* batching */
    long chunk;         /* items solved at once, like lax.map(batch_size=chunk)
                           (0: the whole batch); bounds device memory */
    int float32;        /* nonzero: items in float (for devices without fp64) */
    int no_compaction;  /* nonzero: keep finished items in the launches (for
                           comparisons; results are the same) */
    int iterations_per_launch; /* kernel objectives: iterations of every item per
                           launch, and so per progress report, 1..1000 (0: the
                           library chooses at each minimize: 1 when a progress
                           callback is given, so that it sees every iteration, 32
                           when none is); more saves host round trips; the
                           results are the same bits whatever the value */
    size_t local_size;  /* cooperative objectives: the lanes (work items) of an item's
                           work group (0: the default, clv_map_local_size's for
                           clv_lbfgs_iterate: 64 or the device's limit); the minima
                           depend on it (the order of the group sums), never on the
                           chunk or the device split. Refused for other objectives */
    clv_share share;    /* zero: this process solves every item. Else each
                           clv_lbfgs_minimize's items are split between the
                           processes (clv_share_range), each solves its own under
                           their global indices (the objective's `item`), and every
                           process ends with every item's x and outputs
                           (clv_share_exchange), bitwise what one process gives;
                           e.g. clvmap_mpi.h's clv_mpi_share */
} clv_lbfgs_parameter;

/* The parameters with every default applied (what a solver uses). */
static inline clv_lbfgs_parameter clv_lbfgs_parameter_resolve(const clv_lbfgs_parameter *param);

/* ---- objectives ------------------------------------------------------------ */

/* What a host callback is given each evaluation round. */
typedef struct clv_lbfgs_batch {
    clv_mesh *mesh;
    size_t n_items;     /* rows this round (the working set), split over the mesh like
                           any clv_map of n_items */
    size_t n;           /* dimension */
    clv_dtype dtype;    /* CLV_F64 (CLV_F32 with param.float32) */
    clv_array *x;       /* n_items x n: the points to evaluate (do not write) */
    clv_array *g;       /* n_items x n: write the gradients */
    clv_array *f;       /* n_items x 1: write the values */
    clv_array *item;    /* n_items x 1, CLV_I32: each row's index in your batch */
    clv_array *scratch; /* n_items x objective.scratch_elems reals for you, or NULL */
    int round;          /* evaluation round, from 1 */
    char *message;      /* on failure write why here (message_size bytes) */
    size_t message_size;
} clv_lbfgs_batch;

/* Evaluate every row of the batch (rows whose item has finished may be
 * evaluated too; their results are ignored). Return CLV_OK, or a status
 * that stops the run (with batch->message filled). The arrays are all
 * CLV_SHARDED over the mesh; with clv_array_buffer and clv_mesh_queue
 * you may run your own OpenCL or CLBlast on them. */
typedef clv_status (*clv_lbfgs_evaluate_fn)(void *user, const clv_lbfgs_batch *batch);

typedef struct clv_lbfgs_objective {
    /* either a kernel objective ... */
    const char *source;    /* OpenCL C defining clv_lbfgs_objective (see the top) */
    const char *name;      /* its file name in build logs (default "objective.cl") */
    const char *options;   /* extra compiler options */
    clv_array *data[4];    /* replicated arrays of the item dtype: data.real[0..3] (NULL: none) */
    clv_array *idata[2];   /* replicated CLV_I32 arrays: data.integer[0..1] */
    int cooperative;       /* nonzero: one work group runs an item, and the objective takes a
                              fifth parameter, __local clv_real *tmp, and is evaluated by all
                              lanes of the group together (COOPERATIVE OBJECTIVES); 0: one
                              work item runs an item (the default) */
    size_t tmp_elems;      /* cooperative: values per lane of tmp, CLV_LBFGS_TMP in the
                              source (0: 8; at least 8, the optimizer's own sums use 5) */
    /* ... or a host callback */
    clv_lbfgs_evaluate_fn evaluate;
    void *user;
    size_t scratch_elems;  /* reals per item of batch->scratch (0: none) */
} clv_lbfgs_objective;

/* ---- progress ---------------------------------------------------------------- */

typedef struct clv_lbfgs_progress {
    int round;          /* launches so far in this chunk: kernel objectives do
                           iterations_per_launch iterations of every running item per
                           round (one with the default and a progress callback),
                           callbacks one evaluation */
    size_t running;     /* items of the batch not finished (later chunks included) */
    size_t finished;
    size_t n_items;
    size_t working;     /* rows in the launches (running + not yet compacted) */
    double best_value;  /* the lowest f of any item so far */
    size_t best_item;
} clv_lbfgs_progress;

/* Return nonzero to cancel: running items end with CLV_LBFGSERR_CANCELED at
 * their last accepted point. */
typedef int (*clv_lbfgs_progress_fn)(void *user, const clv_lbfgs_progress *progress);

/* ---- the solver ---------------------------------------------------------------- */

typedef struct clv_lbfgs clv_lbfgs;

/* Per-item outputs of clv_lbfgs_minimize; any pointer may be NULL. */
typedef struct clv_lbfgs_items {
    double *fx;        /* n_items: f at the returned x */
    int *reason;       /* n_items: clv_lbfgs_reason */
    int *iterations;   /* n_items: accepted steps */
    int *evaluations;  /* n_items: objective evaluations */
} clv_lbfgs_items;

typedef struct clv_lbfgs_stats {
    uint64_t rounds;       /* launches of the step kernel */
    uint64_t evaluations;  /* objective evaluations, all items */
    uint64_t compactions;  /* times the working set was shrunk */
    uint64_t item_rounds;  /* rows launched, summed over rounds (the work done) */
} clv_lbfgs_stats;

/* Check the parameters and build the programs for an objective of dimension
 * n. Like clv_mesh_open, *out is set even on failure (NULL only when host
 * memory ran out) so that clv_lbfgs_message can say why; free it. The
 * objective's arrays must outlive the solver. */
static inline clv_status clv_lbfgs_new(clv_lbfgs **out, clv_mesh *mesh, size_t n,
                                       const clv_lbfgs_objective *objective,
                                       const clv_lbfgs_parameter *param);
static inline void clv_lbfgs_free(clv_lbfgs *s);
/* Minimise n_items objectives. x: n_items x n doubles, the starts in, the
 * results out (each item's last accepted point). progress may be NULL. */
static inline clv_status clv_lbfgs_minimize(clv_lbfgs *s, size_t n_items, double *x, const clv_lbfgs_items *out,
                                            clv_lbfgs_progress_fn progress, void *user);
/* The latest error's message, or "" (never NULL). */
static inline const char *clv_lbfgs_message(const clv_lbfgs *s);
/* Counters of the latest clv_lbfgs_minimize. */
static inline clv_lbfgs_stats clv_lbfgs_get_stats(const clv_lbfgs *s);
/* The global index of x's first row for later minimize calls (default 0):
 * the objective's `item` and the callback's batch->item become
 * first_item + row, so one process can solve its part of a larger batch
 * with per-item data indexed by the whole batch (clv_lbfgs_parameter.share
 * does this for you). first_item + n_items must stay below 2^31. */
#define CLV_LBFGS_FIRST_ITEM 1
static inline clv_status clv_lbfgs_set_first_item(clv_lbfgs *s, size_t first_item);
/* The device code (kernels/lbfgs.cl), as the lines embedded in this header. */
static inline const char *const *clv_lbfgs_source_lines(size_t *n_lines);
/* The lanes per item of a cooperative solver (its resolved local size, the
 * same on every device); 0 for a one-work-item solver or NULL. */
static inline size_t clv_lbfgs_local_size(const clv_lbfgs *s);

#ifdef __cplusplus
}
#endif

/* ========================================================================
 * IMPLEMENTATION
 * ======================================================================== */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Scalars per item in the state row: must match LB_N_SCALARS in kernels/lbfgs.cl. */
#define CLV_LBFGS__N_SCALARS 32
/* Reason code of an item still running (LB_RUNNING in kernels/lbfgs.cl). */
#define CLV_LBFGS__RUNNING 3
/* Compact when at most this fraction of the working set still runs. A
 * callback pays for every row (a GEMM over the batch), a kernel objective
 * next to nothing for a finished row (it returns at once), while a
 * compaction copies the whole state through the host: so callbacks compact
 * early, kernel objectives late. */
#define CLV_LBFGS__COMPACT_CALLBACK 0.5
#define CLV_LBFGS__COMPACT_KERNEL 0.25
/* Cooperative items keep their scalar block (32 + 2m + max(past, 1) reals,
 * CLV_LBFGS__BLOCK in kernels/lbfgs.cl) in private memory on every lane:
 * at most this many reals, so that a work group's copies stay small. */
#define CLV_LBFGS__GROUP_BLOCK_MAX 288
/* Smallest tmp of a cooperative objective, per lane (the optimizer sums 5). */
#define CLV_LBFGS__GROUP_TMP_MIN 8
/* Iterations per launch of a kernel objective when the caller leaves it 0
 * and sets no progress callback. Each round is a launch waited on plus a
 * blocking read of the summary, ~0.12 ms on PoCL: 242 of them were 25-30 %
 * of a 1024-item Rosenbrock solve (docs/lbfgs_rounds_findings.md); 16-1000
 * all took that to noise. Not more: the host compacts finished items away
 * only between launches (what a GPU's warps gain), and a single launch of
 * thousands of iterations can outlast a display GPU's watchdog. */
#define CLV_LBFGS__PER_LAUNCH_AUTO 32

struct clv_lbfgs {
    clv_mesh *mesh;
    size_t n;
    clv_lbfgs_parameter param;   /* resolved */
    clv_lbfgs_objective objective;
    clv_dtype dtype;
    size_t state_elems;
    clv_program *program;
    clv_array *dummy_real, *dummy_int; /* stand-ins for unused data slots */
    clv_lbfgs_stats stats;
    size_t first_item;           /* clv_lbfgs_set_first_item */
    size_t lanes;                /* cooperative: the resolved local size (0: one work item per item) */
    size_t tmp_elems;            /* cooperative: CLV_LBFGS_TMP, tmp values per lane */
    char message[CLV_LBFGS_MESSAGE_SIZE];
};

/* One working set: the rows still launched and their device state. */
typedef struct clv_lbfgs__work {
    size_t count;
    size_t *ids;         /* host: each row's index in the caller's batch */
    clv_array *state, *xt, *gt, *ft, *summary, *index, *scratch;
    unsigned char *summary_host; /* count x 4 reals */
} clv_lbfgs__work;

/* BEGIN EMBEDDED kernels/lbfgs.cl (generated by tools/embed.c; do not edit) */
static inline const char *const *clv_lbfgs_source_lines(size_t *n_lines)
{
    static const char *const lines[] = {
        "/* clvmap_lbfgs device code (OpenCL C 1.2): a batched L-BFGS as a state\n",
        " * machine per item. This file is the single source of truth: it is embedded\n",
        " * into include/clvmap_lbfgs.h by tools/embed.c (ninja -C BUILD embed_lbfgs),\n",
        " * and the test lbfgs_embed (embed --check) fails when the embedded copy is stale.\n",
        " *\n",
        " * Every work item owns one batch item and advances it by one objective\n",
        " * evaluation per call of clv_lbfgs__advance: the item's line search and its\n",
        " * L-BFGS update never wait for other items, so a batch does not run in\n",
        " * lockstep to its worst item (the problem of a vmapped zoom line search, see\n",
        " * shared/seeds/ehtim-jax-optimizers-sharding-pr.txt).\n",
        " *\n",
        " * Algorithms and their sources:\n",
        " *   two-loop recursion, gamma = s'y / y'y      Nocedal & Wright, Numerical\n",
        " *                                              Optimization (2nd ed.), Alg. 7.4\n",
        " *   first step min(1, 1/|g|)                   optax.scale_by_lbfgs\n",
        " *   backtracking: c1 = 1e-4, a *= 0.5 without  liblbfgs 1.10's default\n",
        " *   sufficient decrease, a *= 2.1 while the    LBFGS_LINESEARCH_BACKTRACKING\n",
        " *   slope is below c2 g'd, every search from 1 (= _WOLFE), lbfgs.c\n",
        " *   strong Wolfe bracketing + zoom             Nocedal & Wright Alg. 3.5/3.6\n",
        " *   cubic (0.2 margin), quadratic (0.1),       optax.scale_by_zoom_linesearch\n",
        " *   bisection fallback in zoom                 (after scipy's line search)\n",
        " *   tests |g|/max(1,|x|) <= eps, delta/past,   liblbfgs 1.10 (lbfgs.c)\n",
        " *   reason codes\n",
        " *\n",
        " * Compile-time parameters (set by the host, all required):\n",
        " *   CLV_LBFGS_N, CLV_LBFGS_M, CLV_LBFGS_PAST   dimension, memory, delta window\n",
        " *   CLV_LBFGS_EPSILON, CLV_LBFGS_DELTA, CLV_LBFGS_FTOL (c1), CLV_LBFGS_WOLFE (c2),\n",
        " *   CLV_LBFGS_MIN_STEP, CLV_LBFGS_MAX_STEP, CLV_LBFGS_MAX_ITERATIONS (0: none),\n",
        " *   CLV_LBFGS_MAX_LINESEARCH, CLV_LBFGS_ZOOM (0 backtracking, 1 strong Wolfe),\n",
        " *   CLV_LBFGS_DOUBLE (1 when clv_real is double; the real-valued ones are\n",
        " *   literals of that precision)\n",
        " * With CLV_LBFGS_KERNEL_OBJECTIVE the user's source follows this file and\n",
        " * defines clv_lbfgs_objective (declared below); clv_lbfgs_iterate then\n",
        " * evaluates and advances in one launch.\n",
        " *\n",
        " * Cooperative objectives (clv_lbfgs_objective.cooperative; -DCLV_LBFGS_GROUP,\n",
        " * with CLV_LBFGS_TMP): one work group runs one item. Every lane runs the\n",
        " * item's state machine with the same numbers: the scalars (phase, step,\n",
        " * bracket, ys, alpha, past values) are a private copy on every lane, read\n",
        " * from the state row at the start of a launch and written back by lane 0\n",
        " * at its end. Vectors of length n are updated in strided shares (lane\n",
        " * i % L owns element i of x, g, d, S, Y and the trial point) and their dot\n",
        " * products are group sums. The few barriers sit at fixed places: before and\n",
        " * after the objective, one reduction of the dot products every evaluation\n",
        " * needs (clv_lbfgs__evaluated), the two-loop recursion's 2 count sums and\n",
        " * the new direction's slope; the line searches' branches hold none (PoCL\n",
        " * 3.1's work-group compiler is slow on barriers inside many branches). */\n",
        "\n",
        "/* Literals in the item's precision (CLV_LBFGS__R takes a literal with a\n",
        " * decimal point; CLV_LBFGS__I converts an integer). Float programs get\n",
        " * float literals, so a device without fp64 sees no double constant. */\n",
        "#if CLV_LBFGS_DOUBLE\n",
        "#define CLV_LBFGS__R(v) ((clv_real)(v))\n",
        "#define CLV_LBFGS__EPSILON DBL_EPSILON\n",
        "#define CLV_LBFGS__WIDTH_TOL 1e-12\n",
        "#else\n",
        "#define CLV_LBFGS__R(v) (v##f)\n",
        "#define CLV_LBFGS__EPSILON FLT_EPSILON\n",
        "#define CLV_LBFGS__WIDTH_TOL 1e-6f\n",
        "#endif\n",
        "#define CLV_LBFGS__I(v) ((clv_real)(v))\n",
        "\n",
        "/* One item per work item, or per work group (cooperative objectives): the\n",
        " * same code, with these where the two differ. In the one-work-item form\n",
        " * they expand to exactly the serial loops and __global scalars, so its\n",
        " * arithmetic (and its bits) are the form's own. */\n",
        "#ifdef CLV_LBFGS_GROUP\n",
        "/* Lane l: elements l, l + L, ...; every lane runs the same ceil(n / L)\n",
        " * rounds and skips an element past n. (The plain strided loop, where lanes\n",
        " * l >= n run no round at all, made PoCL 3.1 write one element past the\n",
        " * trial point's buffer when L > n: seen under valgrind.) */\n",
        "#define CLV_LBFGS__FOR(i)                                                                      \\\n",
        "    for (int i##_round = 0, i = (int)clv_lane(); i##_round < CLV_LBFGS__N;                    \\\n",
        "         i##_round += (int)clv_lanes(), i += (int)clv_lanes())                                 \\\n",
        "        if (i < CLV_LBFGS__N)\n",
        "#define CLV_LBFGS__SPACE __private\n",
        "#define CLV_LBFGS__TMP , __local clv_real *tmp /* in parameter lists */\n",
        "#define CLV_LBFGS__T , tmp                     /* in calls */\n",
        "#else\n",
        "#define CLV_LBFGS__FOR(i) for (int i = 0; i < CLV_LBFGS__N; ++i)\n",
        "#define CLV_LBFGS__SPACE __global\n",
        "#define CLV_LBFGS__TMP\n",
        "#define CLV_LBFGS__T\n",
        "#endif\n",
        "\n",
        "/* Reason codes: the same numbers as enum clv_lbfgs_reason in the header. */\n",
        "#define CLV_LBFGS__CONVERGENCE 0\n",
        "#define CLV_LBFGS__STOP 1\n",
        "#define CLV_LBFGS__ALREADY_MINIMIZED 2\n",
        "#define CLV_LBFGS__RUNNING 3\n",
        "#define CLV_LBFGS__ERR_MAXIMUMITERATION (-2)\n",
        "#define CLV_LBFGS__ERR_MAXIMUMLINESEARCH (-3)\n",
        "#define CLV_LBFGS__ERR_MINIMUMSTEP (-4)\n",
        "#define CLV_LBFGS__ERR_MAXIMUMSTEP (-5)\n",
        "#define CLV_LBFGS__ERR_WIDTHTOOSMALL (-6)\n",
        "#define CLV_LBFGS__ERR_NONFINITE (-7)\n",
        "\n",
        "/* ---- an item's state: one row of reals ------------------------------------\n",
        " * [x | g | d | S (m rows) | Y (m rows) | scalars | ys[m] | alpha[m] | past f]\n",
        " * x, g, f: the last accepted point. The host reads x at offset 0. */\n",
        "#define CLV_LBFGS__N CLV_LBFGS_N\n",
        "#define CLV_LBFGS__M CLV_LBFGS_M\n",
        "#define CLV_LBFGS__OFF_G (CLV_LBFGS__N)\n",
        "#define CLV_LBFGS__OFF_D (2 * CLV_LBFGS__N)\n",
        "#define CLV_LBFGS__OFF_S (3 * CLV_LBFGS__N)\n",
        "#define CLV_LBFGS__OFF_Y (3 * CLV_LBFGS__N + CLV_LBFGS__M * CLV_LBFGS__N)\n",
        "#define CLV_LBFGS__OFF_SC (3 * CLV_LBFGS__N + 2 * CLV_LBFGS__M * CLV_LBFGS__N)\n",
        "#define CLV_LBFGS__N_SCALARS 32\n",
        "#define CLV_LBFGS__OFF_YS (CLV_LBFGS__OFF_SC + CLV_LBFGS__N_SCALARS)\n",
        "#define CLV_LBFGS__OFF_ALPHA (CLV_LBFGS__OFF_YS + CLV_LBFGS__M)\n",
        "#define CLV_LBFGS__OFF_PAST (CLV_LBFGS__OFF_ALPHA + CLV_LBFGS__M)\n",
        "#define CLV_LBFGS__PAST_SLOTS (CLV_LBFGS_PAST > 0 \? CLV_LBFGS_PAST : 1)\n",
        "#define CLV_LBFGS__STATE_ELEMS (CLV_LBFGS__OFF_PAST + CLV_LBFGS__PAST_SLOTS)\n",
        "/* The scalar block [scalars | ys | alpha | past f], from OFF_SC to the end\n",
        " * (a private copy on every lane of a cooperative item). */\n",
        "#define CLV_LBFGS__BLOCK (CLV_LBFGS__STATE_ELEMS - CLV_LBFGS__OFF_SC)\n",
        "#define CLV_LBFGS__B_YS CLV_LBFGS__N_SCALARS\n",
        "#define CLV_LBFGS__B_ALPHA (CLV_LBFGS__N_SCALARS + CLV_LBFGS__M)\n",
        "#define CLV_LBFGS__B_PAST (CLV_LBFGS__N_SCALARS + 2 * CLV_LBFGS__M)\n",
        "\n",
        "/* scalar slots (counts are stored as reals: exact up to 2^24 in float) */\n",
        "enum {\n",
        "    CLV_LBFGS__SC_PHASE,     /* CLV_LBFGS__PHASE_* */\n",
        "    CLV_LBFGS__SC_REASON,    /* CLV_LBFGS__RUNNING or a final reason */\n",
        "    CLV_LBFGS__SC_ITER,      /* accepted iterations */\n",
        "    CLV_LBFGS__SC_EVALS,     /* objective evaluations consumed */\n",
        "    CLV_LBFGS__SC_LSCOUNT,   /* evaluations in the current line search */\n",
        "    CLV_LBFGS__SC_F,         /* f(x) */\n",
        "    CLV_LBFGS__SC_DGINIT,    /* g'd at x: the slope at step 0 */\n",
        "    CLV_LBFGS__SC_STEP,      /* the trial step being evaluated */\n",
        "    CLV_LBFGS__SC_GAMMA,     /* s'y / y'y of the newest stored pair */\n",
        "    CLV_LBFGS__SC_MEMCOUNT,  /* stored pairs (<= m) */\n",
        "    CLV_LBFGS__SC_MEMEND,    /* the slot the next pair goes to */\n",
        "    CLV_LBFGS__SC_STAGE,     /* zoom: CLV_LBFGS__STAGE_* */\n",
        "    CLV_LBFGS__SC_A_PREV, CLV_LBFGS__SC_F_PREV, CLV_LBFGS__SC_DG_PREV,   /* bracketing: the previous trial */\n",
        "    CLV_LBFGS__SC_A_LO, CLV_LBFGS__SC_F_LO, CLV_LBFGS__SC_DG_LO,         /* zoom: the best point so far */\n",
        "    CLV_LBFGS__SC_A_HI, CLV_LBFGS__SC_F_HI, CLV_LBFGS__SC_DG_HI,         /* zoom: the other end */\n",
        "    CLV_LBFGS__SC_NONFINITE, /* 1 when the latest trial was NaN/inf */\n",
        "    /* cooperative items only: the group sums of the latest evaluation\n",
        "     * (clv_lbfgs__evaluated) and of the new direction */\n",
        "    CLV_LBFGS__SC_TDG,       /* gt'd: the trial's slope */\n",
        "    CLV_LBFGS__SC_TGG,       /* gt'gt */\n",
        "    CLV_LBFGS__SC_TXX,       /* xt'xt */\n",
        "    CLV_LBFGS__SC_TYS,       /* (gt - g)'(xt - x): s'y of the trial as a pair */\n",
        "    CLV_LBFGS__SC_TYY,       /* (gt - g)'(gt - g) */\n",
        "    CLV_LBFGS__SC_GD         /* g'd of the new direction */\n",
        "};\n",
        "\n",
        "#define CLV_LBFGS__PHASE_INIT 0   /* xt holds the start point */\n",
        "#define CLV_LBFGS__PHASE_SEARCH 1 /* xt holds a line-search trial */\n",
        "#define CLV_LBFGS__PHASE_DONE 2\n",
        "\n",
        "#define CLV_LBFGS__STAGE_BRACKET 0\n",
        "#define CLV_LBFGS__STAGE_ZOOM 1\n",
        "#define CLV_LBFGS__STAGE_REEVAL 2 /* xt = the zoom's best point, accepted as is */\n",
        "\n",
        "/* What one evaluation did to an item. */\n",
        "#define CLV_LBFGS__TRIAL 0     /* a new trial point is in xt, same iteration */\n",
        "#define CLV_LBFGS__ITERATED 1  /* an iteration ended: new direction, trial in xt */\n",
        "#define CLV_LBFGS__FINISHED 2  /* the item is done (reason set) */\n",
        "#define CLV_LBFGS__ACCEPT 3    /* (line searches) accept the trial point */\n",
        "\n",
        "typedef struct clv_lbfgs__item {\n",
        "    __global clv_real *st; /* the state row */\n",
        "    __global clv_real *x, *g, *d, *S, *Y;\n",
        "    CLV_LBFGS__SPACE clv_real *sc; /* the scalar block (CLV_LBFGS__BLOCK reals) */\n",
        "} clv_lbfgs__item;\n",
        "\n",
        "/* block: the item's scalar block, in the state row (one work item) or a\n",
        " * private copy (cooperative). */\n",
        "inline clv_lbfgs__item clv_lbfgs__view(__global clv_real *state, size_t row, CLV_LBFGS__SPACE clv_real *block)\n",
        "{\n",
        "    clv_lbfgs__item v;\n",
        "    v.st = state + row * (size_t)CLV_LBFGS__STATE_ELEMS;\n",
        "    v.x = v.st;\n",
        "    v.g = v.st + CLV_LBFGS__OFF_G;\n",
        "    v.d = v.st + CLV_LBFGS__OFF_D;\n",
        "    v.S = v.st + CLV_LBFGS__OFF_S;\n",
        "    v.Y = v.st + CLV_LBFGS__OFF_Y;\n",
        "    v.sc = block;\n",
        "    return v;\n",
        "}\n",
        "\n",
        "/* Dot products stay inside one item, in index order: the same bits whatever\n",
        " * the batch, chunk or device. */\n",
        "inline clv_real clv_lbfgs__dot(__global const clv_real *a, __global const clv_real *b)\n",
        "{\n",
        "    clv_real s = CLV_LBFGS__R(0.0);\n",
        "    for (int i = 0; i < CLV_LBFGS__N; ++i) s += a[i] * b[i];\n",
        "    return s;\n",
        "}\n",
        "\n",
        "inline clv_real clv_lbfgs__norm(__global const clv_real *a) { return sqrt(clv_lbfgs__dot(a, a)); }\n",
        "\n",
        "/* The products the state machine reads. One work item computes each where\n",
        " * it is needed, as always; a cooperative item reads the group sums that\n",
        " * clv_lbfgs__evaluated took once per evaluation (no barrier in a branch). */\n",
        "#ifdef CLV_LBFGS_GROUP\n",
        "#define CLV_LBFGS__TRIAL_SLOPE(v, gt) ((v).sc[CLV_LBFGS__SC_TDG])   /* gt'd */\n",
        "#define CLV_LBFGS__TRIAL_GNORM(v, gt) sqrt((v).sc[CLV_LBFGS__SC_TGG]) /* |gt| */\n",
        "#define CLV_LBFGS__XNORM(v) sqrt((v).sc[CLV_LBFGS__SC_TXX])          /* |x| = |xt| once accepted */\n",
        "#define CLV_LBFGS__GNORM(v) sqrt((v).sc[CLV_LBFGS__SC_TGG])          /* |g| = |gt| once accepted */\n",
        "#define CLV_LBFGS__PAIR_YS(v, y, s) ((v).sc[CLV_LBFGS__SC_TYS])\n",
        "#define CLV_LBFGS__PAIR_YY(v, y) ((v).sc[CLV_LBFGS__SC_TYY])\n",
        "#define CLV_LBFGS__GD(v) ((v).sc[CLV_LBFGS__SC_GD])                  /* g'd */\n",
        "#else\n",
        "#define CLV_LBFGS__TRIAL_SLOPE(v, gt) clv_lbfgs__dot((gt), (v).d)\n",
        "#define CLV_LBFGS__TRIAL_GNORM(v, gt) clv_lbfgs__norm(gt)\n",
        "#define CLV_LBFGS__XNORM(v) clv_lbfgs__norm((v).x)\n",
        "#define CLV_LBFGS__GNORM(v) clv_lbfgs__norm((v).g)\n",
        "#define CLV_LBFGS__PAIR_YS(v, y, s) clv_lbfgs__dot((y), (s))\n",
        "#define CLV_LBFGS__PAIR_YY(v, y) clv_lbfgs__dot((y), (y))\n",
        "#define CLV_LBFGS__GD(v) clv_lbfgs__dot((v).g, (v).d)\n",
        "#endif\n",
        "\n",
        "/* a'b of two vectors of the item: a group sum of the lanes' shares\n",
        " * (cooperative), or clv_lbfgs__dot. */\n",
        "inline clv_real clv_lbfgs__vdot(__global const clv_real *a, __global const clv_real *b CLV_LBFGS__TMP)\n",
        "{\n",
        "#ifdef CLV_LBFGS_GROUP\n",
        "    clv_real s = CLV_LBFGS__R(0.0);\n",
        "    CLV_LBFGS__FOR(i) s += a[i] * b[i];\n",
        "    return clv_group_sum(s, tmp);\n",
        "#else\n",
        "    return clv_lbfgs__dot(a, b);\n",
        "#endif\n",
        "}\n",
        "\n",
        "/* xt = x + step d: the next point to evaluate. */\n",
        "inline void clv_lbfgs__set_trial(clv_lbfgs__item v, __global clv_real *xt, clv_real step)\n",
        "{\n",
        "    v.sc[CLV_LBFGS__SC_STEP] = step;\n",
        "    CLV_LBFGS__FOR(i) xt[i] = v.x[i] + step * v.d[i];\n",
        "}\n",
        "\n",
        "inline int clv_lbfgs__finish(clv_lbfgs__item v, int reason)\n",
        "{\n",
        "    v.sc[CLV_LBFGS__SC_REASON] = CLV_LBFGS__I(reason);\n",
        "    v.sc[CLV_LBFGS__SC_PHASE] = CLV_LBFGS__I(CLV_LBFGS__PHASE_DONE);\n",
        "    return CLV_LBFGS__FINISHED;\n",
        "}\n",
        "\n",
        "/* A new line search along d from x, starting at step. */\n",
        "inline void clv_lbfgs__start_search(clv_lbfgs__item v, __global clv_real *xt, clv_real step)\n",
        "{\n",
        "    const clv_real dginit = CLV_LBFGS__GD(v);\n",
        "    v.sc[CLV_LBFGS__SC_DGINIT] = dginit;\n",
        "    v.sc[CLV_LBFGS__SC_LSCOUNT] = CLV_LBFGS__R(0.0);\n",
        "    v.sc[CLV_LBFGS__SC_STAGE] = CLV_LBFGS__I(CLV_LBFGS__STAGE_BRACKET);\n",
        "    v.sc[CLV_LBFGS__SC_A_PREV] = CLV_LBFGS__R(0.0);\n",
        "    v.sc[CLV_LBFGS__SC_A_LO] = CLV_LBFGS__R(0.0);\n",
        "    v.sc[CLV_LBFGS__SC_F_PREV] = v.sc[CLV_LBFGS__SC_F];\n",
        "    v.sc[CLV_LBFGS__SC_DG_PREV] = dginit;\n",
        "    v.sc[CLV_LBFGS__SC_PHASE] = CLV_LBFGS__I(CLV_LBFGS__PHASE_SEARCH);\n",
        "    clv_lbfgs__set_trial(v, xt, step);\n",
        "}\n",
        "\n",
        "/* Steepest descent with the first step scaled by min(1, 1/|g|) (optax's\n",
        " * capped inverse norm; liblbfgs uses 1/|d|): used at the start and when the\n",
        " * L-BFGS direction is not a descent direction (memory reset). */\n",
        "inline void clv_lbfgs__steepest(clv_lbfgs__item v, __global clv_real *xt, clv_real gnorm)\n",
        "{\n",
        "    CLV_LBFGS__FOR(i) v.d[i] = -v.g[i];\n",
        "#ifdef CLV_LBFGS_GROUP\n",
        "    v.sc[CLV_LBFGS__SC_GD] = -v.sc[CLV_LBFGS__SC_TGG]; /* g'(-g), g = gt: exactly -(g'g) */\n",
        "#endif\n",
        "    v.sc[CLV_LBFGS__SC_MEMCOUNT] = CLV_LBFGS__R(0.0);\n",
        "    v.sc[CLV_LBFGS__SC_MEMEND] = CLV_LBFGS__R(0.0);\n",
        "    clv_lbfgs__start_search(v, xt, fmin(CLV_LBFGS__R(1.0), CLV_LBFGS__R(1.0) / gnorm));\n",
        "}\n",
        "\n",
        "/* The gradient test of liblbfgs: |g| / max(1, |x|) <= epsilon. */\n",
        "inline int clv_lbfgs__gradient_small(clv_lbfgs__item v, clv_real *gnorm)\n",
        "{\n",
        "    const clv_real xnorm = fmax(CLV_LBFGS__R(1.0), CLV_LBFGS__XNORM(v));\n",
        "    *gnorm = CLV_LBFGS__GNORM(v);\n",
        "    return *gnorm / xnorm <= (CLV_LBFGS_EPSILON);\n",
        "}\n",
        "\n",
        "/* Consume the evaluation of the start point. */\n",
        "inline int clv_lbfgs__consume_start(clv_lbfgs__item v, __global clv_real *xt, __global const clv_real *gt, clv_real ft)\n",
        "{\n",
        "    clv_real gnorm;\n",
        "    CLV_LBFGS__FOR(i) {\n",
        "        v.x[i] = xt[i];\n",
        "        v.g[i] = gt[i];\n",
        "    }\n",
        "    v.sc[CLV_LBFGS__SC_F] = ft;\n",
        "    v.sc[CLV_LBFGS__SC_GAMMA] = CLV_LBFGS__R(1.0);\n",
        "    for (int k = 0; k < CLV_LBFGS__PAST_SLOTS; ++k) v.sc[CLV_LBFGS__B_PAST + k] = ft;\n",
        "    const int small = clv_lbfgs__gradient_small(v, &gnorm);\n",
        "    if (!isfinite(ft) || !isfinite(gnorm)) return clv_lbfgs__finish(v, CLV_LBFGS__ERR_NONFINITE);\n",
        "    if (small) return clv_lbfgs__finish(v, CLV_LBFGS__ALREADY_MINIMIZED);\n",
        "    clv_lbfgs__steepest(v, xt, gnorm);\n",
        "    return CLV_LBFGS__ITERATED;\n",
        "}\n",
        "\n",
        "/* d = -H g by the two-loop recursion (Nocedal & Wright Alg. 7.4), newest\n",
        " * pair first in the first loop, H0 = gamma I. */\n",
        "inline void clv_lbfgs__two_loop(clv_lbfgs__item v CLV_LBFGS__TMP)\n",
        "{\n",
        "    CLV_LBFGS__SPACE clv_real *alpha = v.sc + CLV_LBFGS__B_ALPHA;\n",
        "    CLV_LBFGS__SPACE const clv_real *ys = v.sc + CLV_LBFGS__B_YS;\n",
        "    const int count = (int)v.sc[CLV_LBFGS__SC_MEMCOUNT], end = (int)v.sc[CLV_LBFGS__SC_MEMEND];\n",
        "    CLV_LBFGS__FOR(i) v.d[i] = -v.g[i];\n",
        "    for (int k = 0; k < count; ++k) {\n",
        "        const int j = (end - 1 - k + CLV_LBFGS__M) % CLV_LBFGS__M;\n",
        "        __global const clv_real *s = v.S + j * CLV_LBFGS__N, *y = v.Y + j * CLV_LBFGS__N;\n",
        "        const clv_real a = clv_lbfgs__vdot(s, v.d CLV_LBFGS__T) / ys[j];\n",
        "        alpha[j] = a;\n",
        "        CLV_LBFGS__FOR(i) v.d[i] -= a * y[i];\n",
        "    }\n",
        "    const clv_real gamma = v.sc[CLV_LBFGS__SC_GAMMA];\n",
        "    CLV_LBFGS__FOR(i) v.d[i] *= gamma;\n",
        "    for (int k = 0; k < count; ++k) {\n",
        "        const int j = (end - count + k + CLV_LBFGS__M) % CLV_LBFGS__M;\n",
        "        __global const clv_real *s = v.S + j * CLV_LBFGS__N, *y = v.Y + j * CLV_LBFGS__N;\n",
        "        const clv_real b = clv_lbfgs__vdot(y, v.d CLV_LBFGS__T) / ys[j];\n",
        "        CLV_LBFGS__FOR(i) v.d[i] += (alpha[j] - b) * s[i];\n",
        "    }\n",
        "}\n",
        "\n",
        "/* Store the pair s = xt - x, y = gt - g unless s'y <= eps y'y (the pair would\n",
        " * make H indefinite or is lost in rounding; optax gives such pairs weight 0). */\n",
        "inline void clv_lbfgs__store_pair(clv_lbfgs__item v, __global const clv_real *xt, __global const clv_real *gt)\n",
        "{\n",
        "    const int end = (int)v.sc[CLV_LBFGS__SC_MEMEND];\n",
        "    __global clv_real *s = v.S + end * CLV_LBFGS__N, *y = v.Y + end * CLV_LBFGS__N;\n",
        "    CLV_LBFGS__FOR(i) {\n",
        "        s[i] = xt[i] - v.x[i];\n",
        "        y[i] = gt[i] - v.g[i];\n",
        "    }\n",
        "    const clv_real ys = CLV_LBFGS__PAIR_YS(v, y, s), yy = CLV_LBFGS__PAIR_YY(v, y);\n",
        "    if (!(ys > (clv_real)CLV_LBFGS__EPSILON * yy) || !isfinite(ys)) return;\n",
        "    v.sc[CLV_LBFGS__B_YS + end] = ys;\n",
        "    v.sc[CLV_LBFGS__SC_GAMMA] = ys / yy;\n",
        "    v.sc[CLV_LBFGS__SC_MEMEND] = CLV_LBFGS__I((end + 1) % CLV_LBFGS__M);\n",
        "    v.sc[CLV_LBFGS__SC_MEMCOUNT] = fmin(v.sc[CLV_LBFGS__SC_MEMCOUNT] + CLV_LBFGS__R(1.0), CLV_LBFGS__I(CLV_LBFGS__M));\n",
        "}\n",
        "\n",
        "/* The stopping tests of liblbfgs, in its order, after an accepted step. */\n",
        "inline int clv_lbfgs__stop_reason(clv_lbfgs__item v, clv_real *gnorm)\n",
        "{\n",
        "    const int k = (int)v.sc[CLV_LBFGS__SC_ITER];\n",
        "    if (clv_lbfgs__gradient_small(v, gnorm)) return CLV_LBFGS__CONVERGENCE;\n",
        "#if CLV_LBFGS_PAST > 0\n",
        "    {\n",
        "        /* delta test: (f_{k-past} - f_k) / |f_k| < delta */\n",
        "        CLV_LBFGS__SPACE clv_real *pf = v.sc + CLV_LBFGS__B_PAST;\n",
        "        const clv_real f = v.sc[CLV_LBFGS__SC_F];\n",
        "        const int slot = k % CLV_LBFGS_PAST;\n",
        "        if (k >= CLV_LBFGS_PAST && (pf[slot] - f) / fabs(f) < (CLV_LBFGS_DELTA)) return CLV_LBFGS__STOP;\n",
        "        pf[slot] = f;\n",
        "    }\n",
        "#endif\n",
        "#if CLV_LBFGS_MAX_ITERATIONS > 0\n",
        "    if (k >= CLV_LBFGS_MAX_ITERATIONS) return CLV_LBFGS__ERR_MAXIMUMITERATION;\n",
        "#endif\n",
        "    return CLV_LBFGS__RUNNING;\n",
        "}\n",
        "\n",
        "/* Accept the trial point: update the memory, test, and set up the next\n",
        " * line search. (Called from clv_lbfgs__advance only: one call site, so\n",
        " * the two-loop recursion's group sums are compiled once.) */\n",
        "inline int clv_lbfgs__accept(clv_lbfgs__item v, __global clv_real *xt, __global const clv_real *gt,\n",
        "                             clv_real ft CLV_LBFGS__TMP)\n",
        "{\n",
        "    clv_real gnorm;\n",
        "    clv_lbfgs__store_pair(v, xt, gt);\n",
        "    CLV_LBFGS__FOR(i) {\n",
        "        v.x[i] = xt[i];\n",
        "        v.g[i] = gt[i];\n",
        "    }\n",
        "    v.sc[CLV_LBFGS__SC_F] = ft;\n",
        "    v.sc[CLV_LBFGS__SC_ITER] += CLV_LBFGS__R(1.0);\n",
        "    const int reason = clv_lbfgs__stop_reason(v, &gnorm);\n",
        "    if (reason != CLV_LBFGS__RUNNING) return clv_lbfgs__finish(v, reason);\n",
        "    clv_lbfgs__two_loop(v CLV_LBFGS__T);\n",
        "#ifdef CLV_LBFGS_GROUP\n",
        "    v.sc[CLV_LBFGS__SC_GD] = clv_lbfgs__vdot(v.g, v.d, tmp);\n",
        "#endif\n",
        "    if (!(CLV_LBFGS__GD(v) < CLV_LBFGS__R(0.0))) { /* rounding broke descent: restart */\n",
        "        clv_lbfgs__steepest(v, xt, gnorm);\n",
        "        return CLV_LBFGS__ITERATED;\n",
        "    }\n",
        "    clv_lbfgs__start_search(v, xt, CLV_LBFGS__R(1.0)); /* the quasi-Newton step first (both searches) */\n",
        "    return CLV_LBFGS__ITERATED;\n",
        "}\n",
        "\n",
        "/* Sufficient decrease, written as a difference: f + c1 a g'd would round\n",
        " * to f once the decrease is below f's last bit, accepting steps that do not\n",
        " * decrease f at all, forever. This way f strictly decreases at every\n",
        " * accepted step, so every item ends. */\n",
        "inline int clv_lbfgs__armijo(clv_lbfgs__item v, clv_real ft, clv_real step)\n",
        "{\n",
        "    return ft - v.sc[CLV_LBFGS__SC_F] <= (CLV_LBFGS_FTOL) * step * v.sc[CLV_LBFGS__SC_DGINIT];\n",
        "}\n",
        "\n",
        "/* A failed line search: x stays at the last accepted point (liblbfgs). */\n",
        "inline int clv_lbfgs__search_failed(clv_lbfgs__item v, int reason)\n",
        "{\n",
        "    return clv_lbfgs__finish(v, v.sc[CLV_LBFGS__SC_NONFINITE] != CLV_LBFGS__R(0.0) \? CLV_LBFGS__ERR_NONFINITE : reason);\n",
        "}\n",
        "\n",
        "#if !CLV_LBFGS_ZOOM\n",
        "/* Backtracking as liblbfgs's default LBFGS_LINESEARCH_BACKTRACKING (its\n",
        " * _WOLFE variant, line_search_backtracking in lbfgs.c): no sufficient\n",
        " * decrease: a *= 0.5; sufficient decrease but the slope still below\n",
        " * c2 g'd (the step is too short, s'y could be tiny): a *= 2.1; else accept.\n",
        " * The accepted step satisfies the weak Wolfe conditions, so s'y > 0 and the\n",
        " * pair is kept. */\n",
        "inline int clv_lbfgs__backtracking(clv_lbfgs__item v, __global clv_real *xt, __global const clv_real *gt,\n",
        "                                   clv_real ft, int ok)\n",
        "{\n",
        "    const clv_real step = v.sc[CLV_LBFGS__SC_STEP];\n",
        "    clv_real width = CLV_LBFGS__R(0.5);\n",
        "    if (ok && clv_lbfgs__armijo(v, ft, step)) {\n",
        "        if (!(CLV_LBFGS__TRIAL_SLOPE(v, gt) < (CLV_LBFGS_WOLFE) * v.sc[CLV_LBFGS__SC_DGINIT]))\n",
        "            return CLV_LBFGS__ACCEPT;\n",
        "        width = CLV_LBFGS__R(2.1);\n",
        "    }\n",
        "    if (v.sc[CLV_LBFGS__SC_LSCOUNT] >= CLV_LBFGS__I(CLV_LBFGS_MAX_LINESEARCH))\n",
        "        return clv_lbfgs__search_failed(v, CLV_LBFGS__ERR_MAXIMUMLINESEARCH);\n",
        "    const clv_real next = step * width;\n",
        "    if (next < (CLV_LBFGS_MIN_STEP)) return clv_lbfgs__search_failed(v, CLV_LBFGS__ERR_MINIMUMSTEP);\n",
        "    if (next > (CLV_LBFGS_MAX_STEP)) return clv_lbfgs__search_failed(v, CLV_LBFGS__ERR_MAXIMUMSTEP);\n",
        "    clv_lbfgs__set_trial(v, xt, next);\n",
        "    return CLV_LBFGS__TRIAL;\n",
        "}\n",
        "#else\n",
        "/* Minimiser of the cubic through (lo, flo, dlo), (hi, fhi, dhi) (Nocedal &\n",
        " * Wright eq. 3.59); NaN when it has none. */\n",
        "inline clv_real clv_lbfgs__cubic(clv_real lo, clv_real flo, clv_real dlo, clv_real hi, clv_real fhi, clv_real dhi)\n",
        "{\n",
        "    const clv_real d1 = dlo + dhi - CLV_LBFGS__R(3.0) * (flo - fhi) / (lo - hi);\n",
        "    const clv_real rad = d1 * d1 - dlo * dhi;\n",
        "    if (!(rad >= CLV_LBFGS__R(0.0))) return NAN;\n",
        "    const clv_real d2 = (hi > lo \? CLV_LBFGS__R(1.0) : -CLV_LBFGS__R(1.0)) * sqrt(rad);\n",
        "    return hi - (hi - lo) * (dhi + d2 - d1) / (dhi - dlo + CLV_LBFGS__R(2.0) * d2);\n",
        "}\n",
        "\n",
        "/* Minimiser of the quadratic through (lo, flo, dlo) and (hi, fhi). */\n",
        "inline clv_real clv_lbfgs__quadratic(clv_real lo, clv_real flo, clv_real dlo, clv_real hi, clv_real fhi)\n",
        "{\n",
        "    const clv_real h = hi - lo;\n",
        "    return lo - dlo * h * h / (CLV_LBFGS__R(2.0) * (fhi - flo - dlo * h));\n",
        "}\n",
        "\n",
        "/* The next zoom trial: cubic if it lies 20% inside the interval, else\n",
        " * quadratic 10% inside, else bisection (optax's safeguards). */\n",
        "inline clv_real clv_lbfgs__zoom_trial(clv_lbfgs__item v)\n",
        "{\n",
        "    const clv_real lo = v.sc[CLV_LBFGS__SC_A_LO], hi = v.sc[CLV_LBFGS__SC_A_HI];\n",
        "    const clv_real left = fmin(lo, hi), right = fmax(lo, hi), width = right - left;\n",
        "    const clv_real flo = v.sc[CLV_LBFGS__SC_F_LO], dlo = v.sc[CLV_LBFGS__SC_DG_LO];\n",
        "    const clv_real fhi = v.sc[CLV_LBFGS__SC_F_HI], dhi = v.sc[CLV_LBFGS__SC_DG_HI];\n",
        "    const clv_real c = clv_lbfgs__cubic(lo, flo, dlo, hi, fhi, dhi);\n",
        "    if (c > left + CLV_LBFGS__R(0.2) * width && c < right - CLV_LBFGS__R(0.2) * width) return c;\n",
        "    const clv_real q = clv_lbfgs__quadratic(lo, flo, dlo, hi, fhi);\n",
        "    if (q > left + CLV_LBFGS__R(0.1) * width && q < right - CLV_LBFGS__R(0.1) * width) return q;\n",
        "    return CLV_LBFGS__R(0.5) * (lo + hi);\n",
        "}\n",
        "\n",
        "inline void clv_lbfgs__set_lo(clv_lbfgs__item v, clv_real a, clv_real f, clv_real dg)\n",
        "{\n",
        "    v.sc[CLV_LBFGS__SC_A_LO] = a;\n",
        "    v.sc[CLV_LBFGS__SC_F_LO] = f;\n",
        "    v.sc[CLV_LBFGS__SC_DG_LO] = dg;\n",
        "}\n",
        "\n",
        "inline void clv_lbfgs__set_hi(clv_lbfgs__item v, clv_real a, clv_real f, clv_real dg)\n",
        "{\n",
        "    v.sc[CLV_LBFGS__SC_A_HI] = a;\n",
        "    v.sc[CLV_LBFGS__SC_F_HI] = f;\n",
        "    v.sc[CLV_LBFGS__SC_DG_HI] = dg;\n",
        "}\n",
        "\n",
        "/* Out of evaluations or of interval: take the best point that has\n",
        " * sufficient decrease (evaluate it once more, then accept), if any. */\n",
        "inline int clv_lbfgs__zoom_give_up(clv_lbfgs__item v, __global clv_real *xt, int reason)\n",
        "{\n",
        "    const clv_real lo = v.sc[CLV_LBFGS__SC_A_LO];\n",
        "    if (!(lo > CLV_LBFGS__R(0.0))) return clv_lbfgs__search_failed(v, reason);\n",
        "    v.sc[CLV_LBFGS__SC_STAGE] = CLV_LBFGS__I(CLV_LBFGS__STAGE_REEVAL);\n",
        "    clv_lbfgs__set_trial(v, xt, lo);\n",
        "    return CLV_LBFGS__TRIAL;\n",
        "}\n",
        "\n",
        "inline int clv_lbfgs__zoom_next(clv_lbfgs__item v, __global clv_real *xt)\n",
        "{\n",
        "    const clv_real lo = v.sc[CLV_LBFGS__SC_A_LO], hi = v.sc[CLV_LBFGS__SC_A_HI];\n",
        "    v.sc[CLV_LBFGS__SC_STAGE] = CLV_LBFGS__I(CLV_LBFGS__STAGE_ZOOM);\n",
        "    if (v.sc[CLV_LBFGS__SC_LSCOUNT] >= CLV_LBFGS__I(CLV_LBFGS_MAX_LINESEARCH))\n",
        "        return clv_lbfgs__zoom_give_up(v, xt, CLV_LBFGS__ERR_MAXIMUMLINESEARCH);\n",
        "    if (fabs(hi - lo) <= CLV_LBFGS__WIDTH_TOL * fmax(lo, hi))\n",
        "        return clv_lbfgs__zoom_give_up(v, xt, CLV_LBFGS__ERR_WIDTHTOOSMALL);\n",
        "    const int hi_ok = isfinite(v.sc[CLV_LBFGS__SC_F_HI]) && isfinite(v.sc[CLV_LBFGS__SC_DG_HI]);\n",
        "    clv_lbfgs__set_trial(v, xt, hi_ok \? clv_lbfgs__zoom_trial(v) : CLV_LBFGS__R(0.5) * (lo + hi));\n",
        "    return CLV_LBFGS__TRIAL;\n",
        "}\n",
        "\n",
        "/* Strong Wolfe line search: bracketing (Nocedal & Wright Alg. 3.5), then\n",
        " * zoom (Alg. 3.6), one evaluation per call. */\n",
        "inline int clv_lbfgs__zoom(clv_lbfgs__item v, __global clv_real *xt, __global const clv_real *gt, clv_real ft, int ok)\n",
        "{\n",
        "    const clv_real a = v.sc[CLV_LBFGS__SC_STEP], dginit = v.sc[CLV_LBFGS__SC_DGINIT];\n",
        "    const clv_real dg = ok \? CLV_LBFGS__TRIAL_SLOPE(v, gt) : CLV_LBFGS__R(0.0);\n",
        "    const int armijo = ok && clv_lbfgs__armijo(v, ft, a);\n",
        "    const int curvature = ok && fabs(dg) <= -(CLV_LBFGS_WOLFE) * dginit;\n",
        "    const int stage = (int)v.sc[CLV_LBFGS__SC_STAGE];\n",
        "    if (stage == CLV_LBFGS__STAGE_REEVAL) return CLV_LBFGS__ACCEPT;\n",
        "    if (stage == CLV_LBFGS__STAGE_BRACKET) {\n",
        "        if (!armijo || (v.sc[CLV_LBFGS__SC_LSCOUNT] > CLV_LBFGS__R(1.0) && ft >= v.sc[CLV_LBFGS__SC_F_PREV])) {\n",
        "            clv_lbfgs__set_lo(v, v.sc[CLV_LBFGS__SC_A_PREV], v.sc[CLV_LBFGS__SC_F_PREV], v.sc[CLV_LBFGS__SC_DG_PREV]);\n",
        "            clv_lbfgs__set_hi(v, a, ok \? ft : INFINITY, dg);\n",
        "            return clv_lbfgs__zoom_next(v, xt);\n",
        "        }\n",
        "        if (curvature) return CLV_LBFGS__ACCEPT;\n",
        "        if (dg >= CLV_LBFGS__R(0.0)) {\n",
        "            clv_lbfgs__set_lo(v, a, ft, dg);\n",
        "            clv_lbfgs__set_hi(v, v.sc[CLV_LBFGS__SC_A_PREV], v.sc[CLV_LBFGS__SC_F_PREV], v.sc[CLV_LBFGS__SC_DG_PREV]);\n",
        "            return clv_lbfgs__zoom_next(v, xt);\n",
        "        }\n",
        "        /* still going down: extrapolate (optax's increase factor 2) */\n",
        "        v.sc[CLV_LBFGS__SC_A_PREV] = a;\n",
        "        v.sc[CLV_LBFGS__SC_F_PREV] = ft;\n",
        "        v.sc[CLV_LBFGS__SC_DG_PREV] = dg;\n",
        "        clv_lbfgs__set_lo(v, a, ft, dg); /* the best sufficient-decrease point so far */\n",
        "        if (v.sc[CLV_LBFGS__SC_LSCOUNT] >= CLV_LBFGS__I(CLV_LBFGS_MAX_LINESEARCH))\n",
        "            return clv_lbfgs__zoom_give_up(v, xt, CLV_LBFGS__ERR_MAXIMUMLINESEARCH);\n",
        "        if (a >= (CLV_LBFGS_MAX_STEP)) return clv_lbfgs__search_failed(v, CLV_LBFGS__ERR_MAXIMUMSTEP);\n",
        "        clv_lbfgs__set_trial(v, xt, fmin(CLV_LBFGS__R(2.0) * a, (CLV_LBFGS_MAX_STEP)));\n",
        "        return CLV_LBFGS__TRIAL;\n",
        "    }\n",
        "    /* zoom */\n",
        "    if (!armijo || ft >= v.sc[CLV_LBFGS__SC_F_LO]) {\n",
        "        clv_lbfgs__set_hi(v, a, ok \? ft : INFINITY, dg);\n",
        "    } else {\n",
        "        if (curvature) return CLV_LBFGS__ACCEPT;\n",
        "        if (dg * (v.sc[CLV_LBFGS__SC_A_HI] - v.sc[CLV_LBFGS__SC_A_LO]) >= CLV_LBFGS__R(0.0))\n",
        "            clv_lbfgs__set_hi(v, v.sc[CLV_LBFGS__SC_A_LO], v.sc[CLV_LBFGS__SC_F_LO], v.sc[CLV_LBFGS__SC_DG_LO]);\n",
        "        clv_lbfgs__set_lo(v, a, ft, dg);\n",
        "    }\n",
        "    return clv_lbfgs__zoom_next(v, xt);\n",
        "}\n",
        "#endif\n",
        "\n",
        "/* Consume one evaluation (ft, gt at xt) of item v; leave the next point to\n",
        " * evaluate in xt. */\n",
        "inline int clv_lbfgs__advance(clv_lbfgs__item v, __global clv_real *xt, __global const clv_real *gt,\n",
        "                              clv_real ft CLV_LBFGS__TMP)\n",
        "{\n",
        "    const int phase = (int)v.sc[CLV_LBFGS__SC_PHASE];\n",
        "    if (phase == CLV_LBFGS__PHASE_DONE) return CLV_LBFGS__FINISHED;\n",
        "    v.sc[CLV_LBFGS__SC_EVALS] += CLV_LBFGS__R(1.0);\n",
        "    if (phase == CLV_LBFGS__PHASE_INIT) return clv_lbfgs__consume_start(v, xt, gt, ft);\n",
        "    v.sc[CLV_LBFGS__SC_LSCOUNT] += CLV_LBFGS__R(1.0);\n",
        "    const int ok = isfinite(ft) && isfinite(CLV_LBFGS__TRIAL_GNORM(v, gt));\n",
        "    v.sc[CLV_LBFGS__SC_NONFINITE] = ok \? CLV_LBFGS__R(0.0) : CLV_LBFGS__R(1.0);\n",
        "#if CLV_LBFGS_ZOOM\n",
        "    const int what = clv_lbfgs__zoom(v, xt, gt, ft, ok);\n",
        "#else\n",
        "    const int what = clv_lbfgs__backtracking(v, xt, gt, ft, ok);\n",
        "#endif\n",
        "    return what == CLV_LBFGS__ACCEPT \? clv_lbfgs__accept(v, xt, gt, ft CLV_LBFGS__T) : what;\n",
        "}\n",
        "\n",
        "/* What the host reads after every launch: reason, iterations, evaluations, f. */\n",
        "inline void clv_lbfgs__summary(__global const clv_real *state, size_t row, __global clv_real *summary)\n",
        "{\n",
        "    __global const clv_real *sc = state + row * (size_t)CLV_LBFGS__STATE_ELEMS + CLV_LBFGS__OFF_SC;\n",
        "    summary[4 * row + 0] = sc[CLV_LBFGS__SC_REASON];\n",
        "    summary[4 * row + 1] = sc[CLV_LBFGS__SC_ITER];\n",
        "    summary[4 * row + 2] = sc[CLV_LBFGS__SC_EVALS];\n",
        "    summary[4 * row + 3] = sc[CLV_LBFGS__SC_F];\n",
        "}\n",
        "\n",
        "/* Kernel parameters are spelt CLV_REAL (the macro, not the typedef) so that\n",
        " * the driver reports \"double*\" or \"float*\" and clv_map checks the arrays'\n",
        " * dtype. */\n",
        "\n",
        "/* Start every item: scalars zeroed (phase INIT, no pairs), reason RUNNING.\n",
        " * x, g, d, S, Y need no clearing: each is written before it is read. */\n",
        "__kernel void clv_lbfgs_reset(CLV_ITEMS, __global CLV_REAL *state, __global CLV_REAL *summary)\n",
        "{\n",
        "    CLV_GUARD();\n",
        "    __global clv_real *sc = state + clv_local() * (size_t)CLV_LBFGS__STATE_ELEMS + CLV_LBFGS__OFF_SC;\n",
        "    /* one store per slot with its own value: a loop of zeros becomes a\n",
        "     * memset, which oclgrind 21.10 does not mark as initialised. A\n",
        "     * cooperative item copies its whole scalar block to every lane and\n",
        "     * back (ys, alpha, past included), so all of it is set here. */\n",
        "#ifdef CLV_LBFGS_GROUP\n",
        "    for (int k = 0; k < CLV_LBFGS__BLOCK; ++k)\n",
        "#else\n",
        "    for (int k = 0; k < CLV_LBFGS__N_SCALARS; ++k)\n",
        "#endif\n",
        "        sc[k] = k == CLV_LBFGS__SC_REASON \? CLV_LBFGS__I(CLV_LBFGS__RUNNING) : CLV_LBFGS__R(0.0);\n",
        "    clv_lbfgs__summary(state, clv_local(), summary);\n",
        "}\n",
        "\n",
        "#ifndef CLV_LBFGS_GROUP\n",
        "/* One step of every item after the host evaluated xt (host-callback\n",
        " * objectives): one launch per evaluation round. */\n",
        "__kernel void clv_lbfgs_advance(CLV_ITEMS, __global CLV_REAL *state, __global CLV_REAL *xt,\n",
        "                                __global const CLV_REAL *gt, __global const CLV_REAL *ft,\n",
        "                                __global CLV_REAL *summary)\n",
        "{\n",
        "    CLV_GUARD();\n",
        "    const size_t row = clv_local();\n",
        "    __global clv_real *block = state + row * (size_t)CLV_LBFGS__STATE_ELEMS + CLV_LBFGS__OFF_SC;\n",
        "    clv_lbfgs__advance(clv_lbfgs__view(state, row, block), xt + row * CLV_LBFGS__N, gt + row * CLV_LBFGS__N,\n",
        "                       ft[row]);\n",
        "    clv_lbfgs__summary(state, row, summary);\n",
        "}\n",
        "#endif\n",
        "\n",
        "#ifdef CLV_LBFGS_KERNEL_OBJECTIVE\n",
        "/* The user's data: replicated arrays passed through (unused ones point at a\n",
        " * one-element dummy). */\n",
        "typedef struct clv_lbfgs_data {\n",
        "    __global const clv_real *real[4];\n",
        "    __global const int *integer[2];\n",
        "} clv_lbfgs_data;\n",
        "\n",
        "/* Defined by the user's source, which follows this file: the value at x\n",
        " * (CLV_LBFGS_N reals) with the gradient written to g. item: the item's\n",
        " * index in the caller's batch (stable across chunks, devices, compaction).\n",
        " * Cooperative objectives take tmp, a __local buffer of clv_lanes() x\n",
        " * CLV_LBFGS_TMP values for the prelude's clv_group_* helpers: every lane\n",
        " * of the item's group calls the objective with the same x (all of it\n",
        " * readable by every lane), each works on a share, and the objective returns\n",
        " * the same value on every lane and writes every element of g from exactly\n",
        " * one lane (the optimizer waits for all lanes before it reads g). */\n",
        "#ifdef CLV_LBFGS_GROUP\n",
        "clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g, ulong item,\n",
        "                             clv_lbfgs_data data, __local clv_real *tmp);\n",
        "#else\n",
        "clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g, ulong item,\n",
        "                             clv_lbfgs_data data);\n",
        "#endif\n",
        "\n",
        "#ifndef CLV_LBFGS_GROUP\n",
        "/* L-BFGS iterations of every running item in one launch: evaluate and\n",
        " * advance until the item has accepted per_launch steps or ended. per_launch\n",
        " * is an argument, not a -D option, so that one program serves a minimize\n",
        " * with a progress callback (1: it sees every iteration) and one without\n",
        " * (more: fewer host round trips); the item's path does not depend on it. */\n",
        "__kernel void clv_lbfgs_iterate(CLV_ITEMS, __global CLV_REAL *state, __global CLV_REAL *xt,\n",
        "                                __global CLV_REAL *gt, __global CLV_REAL *ft, __global CLV_REAL *summary,\n",
        "                                __global const int *index, __global const CLV_REAL *r0,\n",
        "                                __global const CLV_REAL *r1, __global const CLV_REAL *r2,\n",
        "                                __global const CLV_REAL *r3, __global const int *i0, __global const int *i1,\n",
        "                                const int per_launch)\n",
        "{\n",
        "    CLV_GUARD();\n",
        "    const size_t row = clv_local();\n",
        "    clv_lbfgs_data data;\n",
        "    data.real[0] = r0;\n",
        "    data.real[1] = r1;\n",
        "    data.real[2] = r2;\n",
        "    data.real[3] = r3;\n",
        "    data.integer[0] = i0;\n",
        "    data.integer[1] = i1;\n",
        "    __global clv_real *x = xt + row * CLV_LBFGS__N, *g = gt + row * CLV_LBFGS__N;\n",
        "    const ulong item = (ulong)index[row];\n",
        "    __global clv_real *sc = state + row * (size_t)CLV_LBFGS__STATE_ELEMS + CLV_LBFGS__OFF_SC;\n",
        "    const clv_lbfgs__item v = clv_lbfgs__view(state, row, sc);\n",
        "    /* per_launch iterations, each at most a line search's worth of\n",
        "     * evaluations plus a re-evaluation */\n",
        "    int iterations = 0;\n",
        "    const long evaluations = (long)per_launch * (CLV_LBFGS_MAX_LINESEARCH + 2L);\n",
        "    for (long e = 0; e < evaluations; ++e) {\n",
        "        if (sc[CLV_LBFGS__SC_PHASE] == CLV_LBFGS__I(CLV_LBFGS__PHASE_DONE)) break;\n",
        "        const clv_real f = clv_lbfgs_objective(x, g, item, data);\n",
        "        ft[row] = f;\n",
        "        const int what = clv_lbfgs__advance(v, x, g, f);\n",
        "        if (what == CLV_LBFGS__FINISHED) break;\n",
        "        if (what == CLV_LBFGS__ITERATED && ++iterations == per_launch) break;\n",
        "    }\n",
        "    clv_lbfgs__summary(state, row, summary);\n",
        "}\n",
        "#else\n",
        "/* After the objective: wait until g is complete, then take, in one group\n",
        " * reduction, every product of the evaluation the state machine may read\n",
        " * (the trial's slope and norms, and s'y, y'y of the pair it would make). */\n",
        "inline void clv_lbfgs__evaluated(clv_lbfgs__item v, __global const clv_real *xt, __global const clv_real *gt,\n",
        "                                 __local clv_real *tmp)\n",
        "{\n",
        "    const int start = v.sc[CLV_LBFGS__SC_PHASE] == CLV_LBFGS__I(CLV_LBFGS__PHASE_INIT); /* x, g, d unset */\n",
        "    clv_real p[5] = { CLV_LBFGS__R(0.0), CLV_LBFGS__R(0.0), CLV_LBFGS__R(0.0), CLV_LBFGS__R(0.0),\n",
        "                      CLV_LBFGS__R(0.0) };\n",
        "    barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE);\n",
        "    CLV_LBFGS__FOR(i) {\n",
        "        const clv_real gi = gt[i], xi = xt[i];\n",
        "        p[1] += gi * gi;\n",
        "        p[2] += xi * xi;\n",
        "        if (start) continue;\n",
        "        const clv_real yi = gi - v.g[i], si = xi - v.x[i];\n",
        "        p[0] += gi * v.d[i];\n",
        "        p[3] += yi * si;\n",
        "        p[4] += yi * yi;\n",
        "    }\n",
        "    clv_group_sum_n(p, 5, tmp);\n",
        "    v.sc[CLV_LBFGS__SC_TDG] = p[0];\n",
        "    v.sc[CLV_LBFGS__SC_TGG] = p[1];\n",
        "    v.sc[CLV_LBFGS__SC_TXX] = p[2];\n",
        "    v.sc[CLV_LBFGS__SC_TYS] = p[3];\n",
        "    v.sc[CLV_LBFGS__SC_TYY] = p[4];\n",
        "}\n",
        "\n",
        "/* The same launch with one work group per item (CLV_ITEM_PER_GROUP): the\n",
        " * item's scalar block is a private copy on every lane, written back by\n",
        " * lane 0 at the end. */\n",
        "__kernel void clv_lbfgs_iterate(CLV_ITEMS, __global CLV_REAL *state, __global CLV_REAL *xt,\n",
        "                                __global CLV_REAL *gt, __global CLV_REAL *ft, __global CLV_REAL *summary,\n",
        "                                __global const int *index, __global const CLV_REAL *r0,\n",
        "                                __global const CLV_REAL *r1, __global const CLV_REAL *r2,\n",
        "                                __global const CLV_REAL *r3, __global const int *i0, __global const int *i1,\n",
        "                                const int per_launch, __local CLV_REAL *tmp)\n",
        "{\n",
        "    CLV_GUARD(); /* the whole group: one item */\n",
        "    const size_t row = clv_local();\n",
        "    clv_lbfgs_data data;\n",
        "    data.real[0] = r0;\n",
        "    data.real[1] = r1;\n",
        "    data.real[2] = r2;\n",
        "    data.real[3] = r3;\n",
        "    data.integer[0] = i0;\n",
        "    data.integer[1] = i1;\n",
        "    __global clv_real *x = xt + row * CLV_LBFGS__N, *g = gt + row * CLV_LBFGS__N;\n",
        "    const ulong item = (ulong)index[row];\n",
        "    __global clv_real *sc = state + row * (size_t)CLV_LBFGS__STATE_ELEMS + CLV_LBFGS__OFF_SC;\n",
        "    clv_real block[CLV_LBFGS__BLOCK];\n",
        "    for (int k = 0; k < CLV_LBFGS__BLOCK; ++k) block[k] = sc[k];\n",
        "    const clv_lbfgs__item v = clv_lbfgs__view(state, row, block);\n",
        "    int iterations = 0, evaluated = 0;\n",
        "    clv_real f = CLV_LBFGS__R(0.0);\n",
        "    const long evaluations = (long)per_launch * (CLV_LBFGS_MAX_LINESEARCH + 2L);\n",
        "    for (long e = 0; e < evaluations; ++e) { /* per_launch: the same on every lane */\n",
        "        if (block[CLV_LBFGS__SC_PHASE] == CLV_LBFGS__I(CLV_LBFGS__PHASE_DONE)) break;\n",
        "        barrier(CLK_GLOBAL_MEM_FENCE); /* every lane's share of the trial point is written */\n",
        "        f = clv_lbfgs_objective(x, g, item, data, tmp);\n",
        "        evaluated = 1;\n",
        "        clv_lbfgs__evaluated(v, x, g, tmp);\n",
        "        const int what = clv_lbfgs__advance(v, x, g, f, tmp);\n",
        "        if (what == CLV_LBFGS__FINISHED) break;\n",
        "        if (what == CLV_LBFGS__ITERATED && ++iterations == per_launch) break;\n",
        "    }\n",
        "    barrier(CLK_GLOBAL_MEM_FENCE); /* every lane has read the block before lane 0 rewrites it */\n",
        "    if (clv_lane() != 0) return;\n",
        "    for (int k = 0; k < CLV_LBFGS__BLOCK; ++k) sc[k] = block[k];\n",
        "    if (evaluated) ft[row] = f;\n",
        "    clv_lbfgs__summary(state, row, summary);\n",
        "}\n",
        "#endif\n",
        "#endif\n",
    };
    if (n_lines) *n_lines = sizeof lines / sizeof lines[0];
    return lines;
}
/* END EMBEDDED kernels/lbfgs.cl */

static inline const char *clv_lbfgs_reason_string(int reason)
{
    switch (reason) {
    case CLV_LBFGS_CONVERGENCE: return "converged: gradient test passed";
    case CLV_LBFGS_STOP: return "stopped: delta test passed (f decreased too little over past iterations)";
    case CLV_LBFGS_ALREADY_MINIMIZED: return "the start point already passes the gradient test";
    case CLV_LBFGSERR_CANCELED: return "canceled by the progress callback";
    case CLV_LBFGSERR_MAXIMUMITERATION: return "maximum number of iterations reached";
    case CLV_LBFGSERR_MAXIMUMLINESEARCH: return "line search: maximum number of evaluations reached";
    case CLV_LBFGSERR_MINIMUMSTEP: return "line search: step smaller than min_step";
    case CLV_LBFGSERR_MAXIMUMSTEP: return "line search: step larger than max_step";
    case CLV_LBFGSERR_WIDTHTOOSMALL: return "line search: interval of uncertainty too small";
    case CLV_LBFGSERR_NONFINITE: return "objective value or gradient not finite (NaN or inf)";
    default: return "unknown reason";
    }
}

/* printf into the solver's message (none when s is NULL); returns status. */
#define clv_lbfgs__fail(s, ...) clv_message((s) ? (s)->message : NULL, sizeof(s)->message, __VA_ARGS__)

/* A clvmap call failed: keep its message, prefixed with what we were doing. */
static inline clv_status clv_lbfgs__fail_mesh(clv_lbfgs *s, clv_status status, const char *what)
{
    return clv_lbfgs__fail(s, status, "%s: %s (%s)", what, clv_status_string(status), clv_mesh_message(s->mesh));
}

static inline const char *clv_lbfgs_message(const clv_lbfgs *s)
{
    return s ? s->message : "no solver (host out of memory, or NULL passed)";
}

static inline clv_status clv_lbfgs_set_first_item(clv_lbfgs *s, size_t first_item)
{
    if (!s) return CLV_ERROR_INVALID_ARGUMENT;
    if (first_item > 0x7fffffff)
        return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_set_first_item: %zu is above 2^31 - 1",
                               first_item);
    s->first_item = first_item;
    return CLV_OK;
}

static inline size_t clv_lbfgs_local_size(const clv_lbfgs *s) { return s ? s->lanes : 0; }

static inline clv_lbfgs_stats clv_lbfgs_get_stats(const clv_lbfgs *s)
{
    clv_lbfgs_stats z;
    memset(&z, 0, sizeof z);
    return s ? s->stats : z;
}

/* ---- parameters ------------------------------------------------------------ */

static inline clv_lbfgs_parameter clv_lbfgs_parameter_resolve(const clv_lbfgs_parameter *param)
{
    clv_lbfgs_parameter p;
    memset(&p, 0, sizeof p);
    if (param) p = *param;
    if (p.m == 0) p.m = 10;
    if (p.epsilon == 0) p.epsilon = 1e-5;
    if (p.linesearch == CLV_LBFGS_LINESEARCH_DEFAULT) p.linesearch = CLV_LBFGS_LINESEARCH_STRONG_WOLFE;
    if (p.max_linesearch == 0) p.max_linesearch = 40;
    if (p.ftol == 0) p.ftol = 1e-4;
    if (p.wolfe == 0) p.wolfe = 0.9;
    if (p.min_step == 0) p.min_step = 1e-20;
    if (p.max_step == 0) p.max_step = 1e20;
    /* iterations_per_launch 0 stays 0: it is chosen by each minimize
     * (clv_lbfgs__per_launch), which knows whether progress is observed */
    return p;
}

/* liblbfgs's LBFGSERR_INVALID_* checks, by name. */
static inline clv_status clv_lbfgs__check_parameter(clv_lbfgs *s, const clv_lbfgs_parameter *p)
{
    const char *bad = NULL;
    if (p->m < 1 || p->m > 1024) bad = "m must be 1..1024 (0: the default 10)";
    else if (!(p->epsilon > 0) || !isfinite(p->epsilon)) bad = "epsilon must be finite and > 0 (0: the default 1e-5)";
    else if (p->past < 0) bad = "past must be >= 0";
    else if (!(p->delta >= 0) || !isfinite(p->delta)) bad = "delta must be finite and >= 0";
    else if (p->max_iterations < 0) bad = "max_iterations must be >= 0 (0: no limit)";
    else if (p->linesearch != CLV_LBFGS_LINESEARCH_STRONG_WOLFE && p->linesearch != CLV_LBFGS_LINESEARCH_BACKTRACKING)
        bad = "linesearch must be a clv_lbfgs_linesearch value";
    else if (p->max_linesearch < 1) bad = "max_linesearch must be >= 1 (0: the default 40)";
    else if (!(p->ftol > 0 && p->ftol < 0.5)) bad = "ftol (c1) must be in (0, 0.5)";
    else if (!(p->wolfe > p->ftol && p->wolfe < 1)) bad = "wolfe (c2) must be in (ftol, 1)";
    else if (!(p->min_step > 0) || !isfinite(p->min_step)) bad = "min_step must be finite and > 0";
    else if (!(p->max_step > p->min_step) || !isfinite(p->max_step)) bad = "max_step must be finite and > min_step";
    else if (p->chunk < 0) bad = "chunk must be >= 0 (0: the whole batch at once)";
    else if (p->iterations_per_launch < 0 || p->iterations_per_launch > 1000)
        bad = "iterations_per_launch must be 1..1000 (0: the library chooses)";
    if (bad) return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_new: %s", bad);
    return CLV_OK;
}

static inline clv_status clv_lbfgs__check_objective(clv_lbfgs *s, const clv_lbfgs_objective *o)
{
    if (!o) return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_new: objective is NULL");
    if (!o->source == !o->evaluate)
        return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_new: give the objective either as "
                               "source (a kernel) or as evaluate (a host callback), %s",
                               o->source ? "not both" : "neither was set");
    if (o->evaluate && (o->data[0] || o->data[1] || o->data[2] || o->data[3] || o->idata[0] || o->idata[1]))
        return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_new: data/idata are passed to kernel "
                               "objectives only (a callback has its own user pointer)");
    if (o->cooperative && o->evaluate)
        return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_new: cooperative is for kernel "
                               "objectives (source); a host callback runs its own kernels, with any shape");
    if (o->tmp_elems && !o->cooperative)
        return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_new: tmp_elems is the __local tmp of "
                               "cooperative objectives; set cooperative too, or leave tmp_elems 0");
    if (o->tmp_elems > 1u << 20)
        return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_new: tmp_elems %zu is above 2^20 "
                               "values per lane (tmp lives in __local memory)", o->tmp_elems);
    return CLV_OK;
}

/* What only a cooperative objective may set, and the size of its private
 * scalar block. */
static inline clv_status clv_lbfgs__check_group(clv_lbfgs *s, const clv_lbfgs_objective *o,
                                                const clv_lbfgs_parameter *p)
{
    if (p->local_size && !o->cooperative)
        return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_new: local_size %zu is the work-group "
                               "size of cooperative objectives (clv_lbfgs_objective.cooperative); leave it 0 "
                               "for this one", p->local_size);
    uint64_t block = CLV_LBFGS__N_SCALARS + 2 * (uint64_t)p->m + (uint64_t)(p->past > 0 ? p->past : 1);
    if (o->cooperative && block > CLV_LBFGS__GROUP_BLOCK_MAX)
        return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_new: a cooperative item keeps 32 + 2 m + "
                               "max(past, 1) = %llu reals on every lane (m %d, past %d), at most %d: use a smaller "
                               "m or past", (unsigned long long)block, p->m, p->past, CLV_LBFGS__GROUP_BLOCK_MAX);
    return CLV_OK;
}

/* ---- building --------------------------------------------------------------- */

/* A real literal of the items' precision for the -D options: every digit
 * the value has ("%.17e" is 18 significant digits, a double round-trips;
 * "%.9e" for float), always with an exponent, so that it is a floating
 * literal the f suffix may follow ("%.17g" would print 2 as "2", and "2f"
 * is no C literal). Only a finite value has a literal: 0 otherwise. */
static inline int clv_lbfgs__literal(char *buf, size_t size, double v, int float32)
{
    if (!isfinite(v)) return 0;
    int w = snprintf(buf, size, float32 ? "%.9ef" : "%.17e", v);
    return w > 0 && (size_t)w < size;
}

static inline clv_status clv_lbfgs__options(clv_lbfgs *s, char *opt, size_t size)
{
    const clv_lbfgs_parameter *p = &s->param;
    char eps[40], delta[40], ftol[40], wolfe[40], lo[40], hi[40], group[64] = "";
    if (s->objective.cooperative)
        snprintf(group, sizeof group, " -DCLV_LBFGS_GROUP -DCLV_LBFGS_TMP=%zu", s->tmp_elems);
    const char *bad = !clv_lbfgs__literal(eps, sizeof eps, p->epsilon, p->float32) ? "epsilon"
                      : !clv_lbfgs__literal(delta, sizeof delta, p->delta, p->float32) ? "delta"
                      : !clv_lbfgs__literal(ftol, sizeof ftol, p->ftol, p->float32) ? "ftol"
                      : !clv_lbfgs__literal(wolfe, sizeof wolfe, p->wolfe, p->float32) ? "wolfe"
                      : !clv_lbfgs__literal(lo, sizeof lo, p->min_step, p->float32) ? "min_step"
                      : !clv_lbfgs__literal(hi, sizeof hi, p->max_step, p->float32) ? "max_step" : NULL;
    if (bad) /* the checks refuse these first; never hand the compiler "inf" */
        return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_new: %s is not finite", bad);
    int w = snprintf(opt, size,
                     "-DCLV_LBFGS_N=%lu -DCLV_LBFGS_M=%d -DCLV_LBFGS_PAST=%d -DCLV_LBFGS_EPSILON=%s "
                     "-DCLV_LBFGS_DELTA=%s -DCLV_LBFGS_FTOL=%s -DCLV_LBFGS_WOLFE=%s -DCLV_LBFGS_MIN_STEP=%s "
                     "-DCLV_LBFGS_MAX_STEP=%s -DCLV_LBFGS_MAX_ITERATIONS=%d -DCLV_LBFGS_MAX_LINESEARCH=%d "
                     "-DCLV_LBFGS_ZOOM=%d -DCLV_LBFGS_DOUBLE=%d%s%s %s",
                     (unsigned long)s->n, p->m, p->past, eps, delta, ftol, wolfe, lo, hi, p->max_iterations,
                     p->max_linesearch, p->linesearch == CLV_LBFGS_LINESEARCH_STRONG_WOLFE, !p->float32,
                     s->objective.source ? " -DCLV_LBFGS_KERNEL_OBJECTIVE" : "", group,
                     s->objective.options ? s->objective.options : "");
    if (w < 0 || (size_t)w >= size)
        return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_new: objective.options too long");
    return CLV_OK;
}

static inline clv_map_opts clv_lbfgs__map_opts(const clv_lbfgs *s)
{
    clv_map_opts mo;
    memset(&mo, 0, sizeof mo);
    if (s->objective.cooperative) {
        mo.shape = CLV_ITEM_PER_GROUP;
        mo.local_size = s->lanes ? s->lanes : s->param.local_size;
    }
    /* one item per work item: each runs its own line search, so work items
     * diverge; the core then keeps a vectorising CPU runtime (Intel's) from
     * packing them into masked SIMD lanes (clv_map_opts.divergent) */
    else mo.divergent = 1;
    return mo;
}

/* A cooperative solver's lanes, decided once (the core's one place:
 * clv_map_local_size), and its tmp against every device's __local memory. */
static inline clv_status clv_lbfgs__resolve_lanes(clv_lbfgs *s)
{
    clv_map_opts mo = clv_lbfgs__map_opts(s);
    size_t lanes = 0;
    clv_status st = clv_map_local_size(s->program, "clv_lbfgs_iterate", &mo, &lanes);
    if (st != CLV_OK) return clv_lbfgs__fail_mesh(s, st, "clv_lbfgs_new: the cooperative work-group size (local_size)");
    uint64_t bytes = clv_bytes_add(0, lanes, s->tmp_elems, clv_dtype_size(s->dtype));
    for (int d = 0; d < clv_mesh_device_count(s->mesh); ++d) {
        cl_ulong have = 0;
        clv_device_info info;
        if (clGetDeviceInfo(clv_mesh_device_id(s->mesh, d), CL_DEVICE_LOCAL_MEM_SIZE, sizeof have, &have, NULL) !=
                CL_SUCCESS || clv_mesh_device_info(s->mesh, d, &info) != CLV_OK)
            continue;
        if (bytes > (uint64_t)have)
            return clv_lbfgs__fail(s, CLV_ERROR_OUT_OF_MEMORY, "clv_lbfgs_new: the cooperative objective's tmp "
                                   "(%zu lanes x %zu values, %llu bytes of __local memory) does not fit device %d "
                                   "(%s: %llu bytes, CL_DEVICE_LOCAL_MEM_SIZE); use a smaller local_size or "
                                   "tmp_elems", lanes, s->tmp_elems, (unsigned long long)bytes, d, info.name,
                                   (unsigned long long)have);
    }
    s->lanes = lanes;
    return CLV_OK;
}

/* The prelude, kernels/lbfgs.cl, then the user's objective, each under its
 * own #line so that build logs name the right file (clv_library_build),
 * with a real zero (no data) as the stand-in for unused real data slots. */
static inline clv_status clv_lbfgs__build(clv_lbfgs *s)
{
    char options[4096];
    clv_status st = clv_lbfgs__options(s, options, sizeof options);
    if (st != CLV_OK) return st;
    clv_library_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.lines = clv_lbfgs_source_lines(&desc.n_lines);
    desc.library_name = "kernels/lbfgs.cl";
    desc.source = s->objective.source ? s->objective.source : "";
    desc.name = s->objective.name ? s->objective.name : "objective.cl";
    desc.options = options;
    desc.real = s->dtype;
    st = clv_library_build(s->mesh, &desc, &s->program, &s->dummy_real, s->message, sizeof s->message,
                           "clv_lbfgs_new");
    if (st != CLV_OK) return st;
    int32_t zero_int = 0;
    st = clv_array_new(&s->dummy_int, s->mesh, CLV_I32, 1, 1, CLV_REPLICATED);
    if (st == CLV_OK) st = clv_array_write(s->dummy_int, &zero_int);
    if (st != CLV_OK) return clv_lbfgs__fail_mesh(s, st, "clv_lbfgs_new: device arrays");
    return s->objective.cooperative ? clv_lbfgs__resolve_lanes(s) : CLV_OK;
}

static inline void clv_lbfgs_free(clv_lbfgs *s)
{
    if (!s) return;
    clv_array_free(s->dummy_real);
    clv_array_free(s->dummy_int);
    clv_program_free(s->program);
    CLV_FREE(s);
}

static inline clv_status clv_lbfgs_new(clv_lbfgs **out, clv_mesh *mesh, size_t n,
                                       const clv_lbfgs_objective *objective, const clv_lbfgs_parameter *param)
{
    if (!out) return CLV_ERROR_INVALID_ARGUMENT;
    clv_lbfgs *s = (clv_lbfgs *)clv_calloc(1, sizeof *s);
    *out = s;
    if (!s) return CLV_ERROR_OUT_OF_MEMORY;
    memset(s, 0, sizeof *s);
    s->mesh = mesh;
    s->param = clv_lbfgs_parameter_resolve(param);
    if (!mesh || clv_mesh_device_count(mesh) < 1)
        return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_new: mesh is NULL or not open");
    if (n == 0 || n > (size_t)1 << 24)
        return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_new: dimension n = %lu must be 1..2^24",
                               (unsigned long)n);
    clv_status st = clv_lbfgs__check_objective(s, objective);
    if (st == CLV_OK) st = clv_lbfgs__check_parameter(s, &s->param);
    if (st == CLV_OK) st = clv_lbfgs__check_group(s, objective, &s->param);
    if (st != CLV_OK) return st;
    s->n = n;
    s->objective = *objective;
    if (objective->cooperative)
        s->tmp_elems = objective->tmp_elems > CLV_LBFGS__GROUP_TMP_MIN ? objective->tmp_elems
                                                                       : CLV_LBFGS__GROUP_TMP_MIN;
    s->dtype = s->param.float32 ? CLV_F32 : CLV_F64;
    uint64_t elems = clv_bytes_add(CLV_LBFGS__N_SCALARS + 2 * (uint64_t)s->param.m +
                                   (uint64_t)(s->param.past > 0 ? s->param.past : 1), 3 + 2 * (uint64_t)s->param.m, n, 1);
    if (clv_bytes_add(0, elems, sizeof(double), 1) > (uint64_t)SIZE_MAX)
        return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_new: one item's state (n = %lu, m %d, "
                               "past %d) has more bytes than size_t can count", (unsigned long)n, s->param.m,
                               s->param.past);
    s->state_elems = (size_t)elems;
    return clv_lbfgs__build(s);
}

/* ---- host reads in the items' precision ------------------------------------ */

static inline double clv_lbfgs__get(const unsigned char *buf, clv_dtype dtype, size_t i)
{
    return dtype == CLV_F64 ? ((const double *)(const void *)buf)[i] : (double)((const float *)(const void *)buf)[i];
}

/* ---- working sets ------------------------------------------------------------ */

static inline void clv_lbfgs__work_free(clv_lbfgs__work *w)
{
    clv_array_free(w->state);
    clv_array_free(w->xt);
    clv_array_free(w->gt);
    clv_array_free(w->ft);
    clv_array_free(w->summary);
    clv_array_free(w->index);
    clv_array_free(w->scratch);
    CLV_FREE(w->ids);
    CLV_FREE(w->summary_host);
    memset(w, 0, sizeof *w);
}

/* Device arrays for count rows; ids and the host buffers too. */
static inline clv_status clv_lbfgs__work_new(clv_lbfgs *s, clv_lbfgs__work *w, size_t count)
{
    clv_mesh *m = s->mesh;
    clv_status st = CLV_OK;
    memset(w, 0, sizeof *w);
    w->count = count;
    w->ids = (size_t *)clv_calloc(count, sizeof *w->ids);
    w->summary_host = (unsigned char *)clv_calloc(count, 4 * clv_dtype_size(s->dtype));
    if (!w->ids || !w->summary_host) return clv_lbfgs__fail(s, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    if (st == CLV_OK) st = clv_array_new(&w->state, m, s->dtype, count, s->state_elems, CLV_SHARDED);
    if (st == CLV_OK) st = clv_array_new(&w->xt, m, s->dtype, count, s->n, CLV_SHARDED);
    if (st == CLV_OK) st = clv_array_new(&w->gt, m, s->dtype, count, s->n, CLV_SHARDED);
    if (st == CLV_OK) st = clv_array_new(&w->ft, m, s->dtype, count, 1, CLV_SHARDED);
    if (st == CLV_OK) st = clv_array_new(&w->summary, m, s->dtype, count, 4, CLV_SHARDED);
    if (st == CLV_OK) st = clv_array_new(&w->index, m, CLV_I32, count, 1, CLV_SHARDED);
    if (st == CLV_OK && s->objective.evaluate && s->objective.scratch_elems)
        st = clv_array_new(&w->scratch, m, s->dtype, count, s->objective.scratch_elems, CLV_SHARDED);
    if (st != CLV_OK) return clv_lbfgs__fail_mesh(s, st, "clv_lbfgs_minimize: working-set arrays");
    return CLV_OK;
}

static inline clv_status clv_lbfgs__write_index(clv_lbfgs *s, clv_lbfgs__work *w)
{
    int32_t *index = (int32_t *)clv_calloc(w->count, sizeof *index);
    if (!index) return clv_lbfgs__fail(s, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    for (size_t i = 0; i < w->count; ++i) index[i] = (int32_t)(s->first_item + w->ids[i]);
    clv_status st = clv_array_write(w->index, index);
    CLV_FREE(index);
    return st == CLV_OK ? CLV_OK : clv_lbfgs__fail_mesh(s, st, "clv_lbfgs_minimize: writing item indices");
}

/* A new working set for items [first, first + count): start points in xt,
 * every item reset to running. */
static inline clv_status clv_lbfgs__work_start(clv_lbfgs *s, clv_lbfgs__work *w, size_t first, size_t count,
                                               const double *x)
{
    clv_status st = clv_lbfgs__work_new(s, w, count);
    if (st != CLV_OK) return st;
    for (size_t i = 0; i < count; ++i) w->ids[i] = first + i;
    st = clv_array_write_f64(w->xt, x + first * s->n);
    if (st != CLV_OK) return clv_lbfgs__fail_mesh(s, st, "clv_lbfgs_minimize: writing start points");
    st = clv_lbfgs__write_index(s, w);
    if (st != CLV_OK) return st;
    clv_arg args[2];
    args[0] = clv_inout(w->state);
    args[1] = clv_out(w->summary);
    st = clv_map(s->program, "clv_lbfgs_reset", count, NULL, args, 2);
    return st == CLV_OK ? CLV_OK : clv_lbfgs__fail_mesh(s, st, "clv_lbfgs_minimize: clv_lbfgs_reset");
}

/* ---- one round ------------------------------------------------------------------ */

static inline clv_status clv_lbfgs__round_kernel(clv_lbfgs *s, clv_lbfgs__work *w, int per_launch)
{
    clv_arg args[15];
    int k = 0;
    args[k++] = clv_inout(w->state);
    args[k++] = clv_inout(w->xt);
    args[k++] = clv_inout(w->gt);
    args[k++] = clv_inout(w->ft);
    args[k++] = clv_out(w->summary);
    args[k++] = clv_in(w->index);
    for (int i = 0; i < 4; ++i) args[k++] = clv_in(s->objective.data[i] ? s->objective.data[i] : s->dummy_real);
    for (int i = 0; i < 2; ++i) args[k++] = clv_in(s->objective.idata[i] ? s->objective.idata[i] : s->dummy_int);
    args[k++] = clv_int(per_launch);
    clv_map_opts mo = clv_lbfgs__map_opts(s);
    if (s->objective.cooperative) args[k++] = clv_local_mem(s->lanes * s->tmp_elems * clv_dtype_size(s->dtype));
    clv_status st = clv_map(s->program, "clv_lbfgs_iterate", w->count, &mo, args, k);
    return st == CLV_OK ? CLV_OK : clv_lbfgs__fail_mesh(s, st, "clv_lbfgs_minimize: clv_lbfgs_iterate");
}

static inline clv_status clv_lbfgs__round_callback(clv_lbfgs *s, clv_lbfgs__work *w, int round)
{
    clv_lbfgs_batch b;
    char why[1024] = "";
    memset(&b, 0, sizeof b);
    b.mesh = s->mesh;
    b.n_items = w->count;
    b.n = s->n;
    b.dtype = s->dtype;
    b.x = w->xt;
    b.g = w->gt;
    b.f = w->ft;
    b.item = w->index;
    b.scratch = w->scratch;
    b.round = round;
    b.message = why;
    b.message_size = sizeof why;
    clv_status st = s->objective.evaluate(s->objective.user, &b);
    if (st != CLV_OK)
        return clv_lbfgs__fail(s, st, "clv_lbfgs_minimize: the objective callback failed in round %d: %s", round,
                               why[0] ? why : clv_status_string(st));
    /* the callback may have written g and f with its own OpenCL: a failover
     * mesh's host copies must see them (no-op otherwise) */
    st = clv_array_sync_host(w->gt);
    if (st == CLV_OK) st = clv_array_sync_host(w->ft);
    if (st != CLV_OK) return clv_lbfgs__fail_mesh(s, st, "clv_lbfgs_minimize: after the objective callback");
    clv_arg args[5];
    args[0] = clv_inout(w->state);
    args[1] = clv_inout(w->xt);
    args[2] = clv_in(w->gt);
    args[3] = clv_in(w->ft);
    args[4] = clv_out(w->summary);
    clv_map_opts mo = clv_lbfgs__map_opts(s); /* divergent: one line search per work item */
    st = clv_map(s->program, "clv_lbfgs_advance", w->count, &mo, args, 5);
    return st == CLV_OK ? CLV_OK : clv_lbfgs__fail_mesh(s, st, "clv_lbfgs_minimize: clv_lbfgs_advance");
}

/* ---- results and compaction ---------------------------------------------------- */

typedef struct clv_lbfgs__run {
    size_t n_items, finished;
    double *x;
    const clv_lbfgs_items *out;
    unsigned char *done;   /* per item: results recorded */
    double best_value;
    size_t best_item;
} clv_lbfgs__run;

static inline int clv_lbfgs__row_reason(const clv_lbfgs *s, const clv_lbfgs__work *w, size_t row)
{
    return (int)clv_lbfgs__get(w->summary_host, s->dtype, 4 * row);
}

/* Record row's outcome; state_row: the row's state on the host (x first). */
static inline void clv_lbfgs__record(clv_lbfgs *s, const clv_lbfgs__work *w, size_t row,
                                     const unsigned char *state_row, int reason, clv_lbfgs__run *r)
{
    size_t id = w->ids[row];
    for (size_t i = 0; i < s->n; ++i) r->x[id * s->n + i] = clv_lbfgs__get(state_row, s->dtype, i);
    if (r->out && r->out->fx) r->out->fx[id] = clv_lbfgs__get(w->summary_host, s->dtype, 4 * row + 3);
    if (r->out && r->out->reason) r->out->reason[id] = reason;
    if (r->out && r->out->iterations) r->out->iterations[id] = (int)clv_lbfgs__get(w->summary_host, s->dtype, 4 * row + 1);
    int evaluations = (int)clv_lbfgs__get(w->summary_host, s->dtype, 4 * row + 2);
    if (r->out && r->out->evaluations) r->out->evaluations[id] = evaluations;
    s->stats.evaluations += (uint64_t)evaluations;
    if (!r->done[id]) r->finished++;
    r->done[id] = 1;
}

/* Read every row's state; record the finished rows (all rows with
 * cancel_reason != 0, as canceled); keep the running rows' state and
 * trial points in state/xt (NULL: not kept). */
static inline clv_status clv_lbfgs__harvest(clv_lbfgs *s, clv_lbfgs__work *w, clv_lbfgs__run *r, int cancel,
                                            unsigned char **state_out, unsigned char **xt_out)
{
    size_t es = clv_dtype_size(s->dtype), row_bytes = s->state_elems * es;
    unsigned char *state = (unsigned char *)clv_calloc(w->count, row_bytes);
    unsigned char *xt = xt_out ? (unsigned char *)clv_calloc(w->count, s->n * es) : NULL;
    clv_status st = (!state || (xt_out && !xt)) ? CLV_ERROR_OUT_OF_MEMORY : CLV_OK;
    if (st == CLV_OK) st = clv_array_read(w->state, state);
    if (st == CLV_OK && xt) st = clv_array_read(w->xt, xt);
    if (st != CLV_OK) {
        CLV_FREE(state);
        CLV_FREE(xt);
        if (st == CLV_ERROR_OUT_OF_MEMORY) return clv_lbfgs__fail(s, st, "out of host memory");
        return clv_lbfgs__fail_mesh(s, st, "clv_lbfgs_minimize: reading the state");
    }
    for (size_t row = 0; row < w->count; ++row) {
        int reason = clv_lbfgs__row_reason(s, w, row);
        if (reason == CLV_LBFGS__RUNNING && !cancel) continue;
        if (reason == CLV_LBFGS__RUNNING) reason = CLV_LBFGSERR_CANCELED;
        if (!r->done[w->ids[row]]) clv_lbfgs__record(s, w, row, state + row * row_bytes, reason, r);
    }
    if (state_out) *state_out = state;
    else CLV_FREE(state);
    if (xt_out) *xt_out = xt;
    return CLV_OK;
}

/* Shrink the working set to its running rows (order kept: the rows' order
 * never matters to the results, only to the split over devices). */
static inline clv_status clv_lbfgs__compact(clv_lbfgs *s, clv_lbfgs__work *w, clv_lbfgs__run *r, size_t running)
{
    unsigned char *state = NULL, *xt = NULL;
    clv_lbfgs__work next;
    size_t es = clv_dtype_size(s->dtype), row_bytes = s->state_elems * es, x_bytes = s->n * es;
    memset(&next, 0, sizeof next);
    clv_status st = clv_lbfgs__harvest(s, w, r, 0, &state, &xt);
    if (st == CLV_OK) st = clv_lbfgs__work_new(s, &next, running);
    if (st != CLV_OK) {
        clv_lbfgs__work_free(&next);
        CLV_FREE(state);
        CLV_FREE(xt);
        return st;
    }
    size_t k = 0;
    for (size_t row = 0; row < w->count; ++row) {
        if (clv_lbfgs__row_reason(s, w, row) != CLV_LBFGS__RUNNING) continue;
        memmove(state + k * row_bytes, state + row * row_bytes, row_bytes);
        memmove(xt + k * x_bytes, xt + row * x_bytes, x_bytes);
        next.ids[k++] = w->ids[row];
    }
    st = clv_array_write(next.state, state);
    if (st == CLV_OK) st = clv_array_write(next.xt, xt);
    CLV_FREE(state);
    CLV_FREE(xt);
    if (st != CLV_OK) st = clv_lbfgs__fail_mesh(s, st, "clv_lbfgs_minimize: compacting");
    if (st == CLV_OK) st = clv_lbfgs__write_index(s, &next);
    clv_lbfgs__work_free(w);
    *w = next;
    if (st == CLV_OK) s->stats.compactions++;
    return st;
}

/* After a round: count running rows, update the best value. */
static inline size_t clv_lbfgs__scan(const clv_lbfgs *s, const clv_lbfgs__work *w, clv_lbfgs__run *r)
{
    size_t running = 0;
    for (size_t row = 0; row < w->count; ++row) {
        double f = clv_lbfgs__get(w->summary_host, s->dtype, 4 * row + 3);
        running += clv_lbfgs__row_reason(s, w, row) == CLV_LBFGS__RUNNING;
        /* rows are in ascending item order: ties go to the lowest index */
        if (f < r->best_value || (f == r->best_value && w->ids[row] < r->best_item)) {
            r->best_value = f;
            r->best_item = w->ids[row];
        }
    }
    return running;
}

static inline int clv_lbfgs__report(clv_lbfgs_progress_fn progress, void *user, const clv_lbfgs__run *r,
                                    const clv_lbfgs__work *w, size_t running, int round)
{
    if (!progress) return 0;
    clv_lbfgs_progress p;
    memset(&p, 0, sizeof p);
    p.round = round;
    p.n_items = r->n_items;
    p.finished = r->finished + (w->count - running);
    p.running = r->n_items - p.finished;
    p.working = w->count;
    p.best_value = r->best_value;
    p.best_item = r->best_item;
    return progress(user, &p);
}

/* A kernel objective's iterations per launch: the caller's, else 1 when a
 * progress callback watches (it sees every iteration) and
 * CLV_LBFGS__PER_LAUNCH_AUTO when nothing does. The item's path never
 * depends on it (it stops at its own end inside a launch), only how often
 * the host looks: so the minima are the same bits either way. */
static inline int clv_lbfgs__per_launch(const clv_lbfgs *s, clv_lbfgs_progress_fn progress)
{
    if (s->param.iterations_per_launch > 0) return s->param.iterations_per_launch;
    return progress ? 1 : CLV_LBFGS__PER_LAUNCH_AUTO;
}

/* Solve items [first, first + count) to the end. *canceled set on cancel. */
static inline clv_status clv_lbfgs__solve_chunk(clv_lbfgs *s, size_t first, size_t count, clv_lbfgs__run *r,
                                                clv_lbfgs_progress_fn progress, void *user, int *canceled)
{
    clv_lbfgs__work w;
    clv_status st = clv_lbfgs__work_start(s, &w, first, count, r->x);
    const int per_launch = clv_lbfgs__per_launch(s, progress);
    for (int round = 1; st == CLV_OK; ++round) {
        st = s->objective.evaluate ? clv_lbfgs__round_callback(s, &w, round)
                                   : clv_lbfgs__round_kernel(s, &w, per_launch);
        if (st == CLV_OK) st = clv_array_read(w.summary, w.summary_host);
        if (st != CLV_OK) {
            if (!s->message[0]) clv_lbfgs__fail_mesh(s, st, "clv_lbfgs_minimize: reading the summary");
            break;
        }
        s->stats.rounds++;
        s->stats.item_rounds += w.count;
        size_t running = clv_lbfgs__scan(s, &w, r);
        if (clv_lbfgs__report(progress, user, r, &w, running, round)) *canceled = 1;
        if (running == 0 || *canceled) break;
        double fraction = s->objective.evaluate ? CLV_LBFGS__COMPACT_CALLBACK : CLV_LBFGS__COMPACT_KERNEL;
        if (!s->param.no_compaction && (double)running <= fraction * (double)w.count)
            st = clv_lbfgs__compact(s, &w, r, running);
    }
    if (st == CLV_OK) st = clv_lbfgs__harvest(s, &w, r, *canceled, NULL, NULL);
    clv_lbfgs__work_free(&w);
    return st;
}

/* Device bytes of a device holding `rows` rows of a working set: state,
 * trial point, gradient, value, summary, item index and a callback's
 * scratch; the largest single buffer in *largest. (A compaction holds a
 * second, smaller working set for a moment: the other devices' rows move
 * there only when the first is already half empty.) */
static inline uint64_t clv_lbfgs__device_bytes(const clv_lbfgs *s, uint64_t rows, uint64_t *largest)
{
    uint64_t es = clv_dtype_size(s->dtype), sum = 0;
    uint64_t buffers[3];
    buffers[0] = clv_bytes_add(0, rows, s->state_elems, es);
    buffers[1] = clv_bytes_add(0, rows, s->n, es); /* xt (gt is as large) */
    buffers[2] = s->objective.evaluate ? clv_bytes_add(0, rows, s->objective.scratch_elems, es) : 0;
    *largest = 0;
    for (int i = 0; i < 3; ++i) {
        sum = clv_bytes_add(sum, buffers[i], 1, 1);
        if (buffers[i] > *largest) *largest = buffers[i];
    }
    sum = clv_bytes_add(sum, buffers[1], 1, 1);                    /* gt */
    return clv_bytes_add(sum, rows, 5 * es + sizeof(int32_t), 1); /* ft, summary, index */
}

/* Host bytes of a run: the done flags, a working set's ids, summary and
 * index, and its state and trial points read back by a compaction. */
static inline uint64_t clv_lbfgs__host_bytes(const clv_lbfgs *s, uint64_t n_items, uint64_t rows)
{
    uint64_t es = clv_dtype_size(s->dtype);
    uint64_t sum = clv_bytes_add(n_items, rows, sizeof(size_t) + 4 * es + sizeof(int32_t), 1);
    sum = clv_bytes_add(sum, rows, s->state_elems, es);
    return clv_bytes_add(sum, rows, s->n, es);
}

/* Refuse, before anything is allocated, a working set of `rows` items that
 * cannot fit a device's memory or largest allocation, or the host's. */
static inline clv_status clv_lbfgs__check_sizes(clv_lbfgs *s, size_t n_items, size_t rows)
{
    int nd = clv_mesh_device_count(s->mesh);
    size_t *split = (size_t *)clv_calloc(2 * (size_t)nd, sizeof(size_t));
    if (!split) return clv_lbfgs__fail(s, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    clv_status st = clv_mesh_split_items(s->mesh, rows, split, split + nd);
    if (st != CLV_OK) st = clv_lbfgs__fail_mesh(s, st, "clv_lbfgs_minimize: splitting the items");
    for (int i = 0; st == CLV_OK && i < nd; ++i) {
        clv_device_info info;
        uint64_t largest = 0, need = clv_lbfgs__device_bytes(s, split[nd + i], &largest);
        if (clv_mesh_device_info(s->mesh, i, &info) != CLV_OK || info.lost || split[nd + i] == 0) continue;
        if (largest > info.max_alloc_bytes || need > info.global_mem_bytes)
            st = clv_lbfgs__fail(s, CLV_ERROR_OUT_OF_MEMORY, "clv_lbfgs_minimize: %zu items at once (n_items %zu, "
                                 "chunk %ld) of n %lu with m %d and past %d need %llu bytes on device %d (%s), "
                                 "%llu in one buffer, but it has %llu bytes (CL_DEVICE_GLOBAL_MEM_SIZE) and "
                                 "allocates at most %llu at once (CL_DEVICE_MAX_MEM_ALLOC_SIZE); use a smaller "
                                 "chunk, m or past", rows, n_items, s->param.chunk, (unsigned long)s->n, s->param.m,
                                 s->param.past, (unsigned long long)need, i, info.name,
                                 (unsigned long long)largest, (unsigned long long)info.global_mem_bytes,
                                 (unsigned long long)info.max_alloc_bytes);
    }
    CLV_FREE(split);
    if (st != CLV_OK) return st;
    uint64_t need = clv_lbfgs__host_bytes(s, n_items, rows), available = clv_host_memory_available();
    if (need > (uint64_t)SIZE_MAX || (available && need > available))
        return clv_lbfgs__fail(s, need > (uint64_t)SIZE_MAX ? CLV_ERROR_INVALID_ARGUMENT : CLV_ERROR_OUT_OF_MEMORY,
                               "clv_lbfgs_minimize: %zu items at once (n_items %zu, chunk %ld) of n %lu with m %d "
                               "and past %d need %llu bytes of host memory, but %llu bytes are available "
                               "(MemAvailable + SwapFree); use a smaller chunk, m or past", rows, n_items,
                               s->param.chunk, (unsigned long)s->n, s->param.m, s->param.past,
                               (unsigned long long)need, (unsigned long long)available);
    return CLV_OK;
}

/* The arguments of a minimize call (s is not NULL). */
static inline clv_status clv_lbfgs__check_call(clv_lbfgs *s, size_t n_items, const double *x)
{
    s->message[0] = '\0';
    memset(&s->stats, 0, sizeof s->stats);
    if (!s->program) return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_minimize: the solver "
                                            "was not created successfully (see clv_lbfgs_new's status)");
    if (n_items == 0) return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_minimize: n_items is 0");
    if (n_items > 0x7fffffff || s->first_item > 0x7fffffff - n_items)
        return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_minimize: first item %zu + n_items %zu "
                               "above 2^31 - 1", s->first_item, n_items);
    if (!x) return clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_minimize: x is NULL");
    return CLV_OK;
}

/* Every item on this process. */
static inline clv_status clv_lbfgs__minimize_here(clv_lbfgs *s, size_t n_items, double *x, const clv_lbfgs_items *out,
                                                  clv_lbfgs_progress_fn progress, void *user)
{
    clv_status st = clv_lbfgs__check_call(s, n_items, x);
    if (st != CLV_OK) return st;
    size_t chunk = s->param.chunk > 0 && (size_t)s->param.chunk < n_items ? (size_t)s->param.chunk : n_items;
    st = clv_lbfgs__check_sizes(s, n_items, chunk);
    if (st != CLV_OK) return st;
    clv_lbfgs__run r;
    memset(&r, 0, sizeof r);
    r.n_items = n_items;
    r.x = x;
    r.out = out;
    r.best_value = INFINITY;
    r.done = (unsigned char *)clv_calloc(n_items, 1);
    if (!r.done) return clv_lbfgs__fail(s, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    memset(r.done, 0, n_items);
    int canceled = 0;
    size_t first = 0;
    for (; st == CLV_OK && first < n_items && !canceled; first += chunk) {
        size_t count = n_items - first < chunk ? n_items - first : chunk;
        st = clv_lbfgs__solve_chunk(s, first, count, &r, progress, user, &canceled);
    }
    /* items of chunks never started keep their start point */
    for (size_t id = first; st == CLV_OK && id < n_items; ++id) {
        if (out && out->reason) out->reason[id] = CLV_LBFGSERR_CANCELED;
        if (out && out->fx) out->fx[id] = NAN;
        if (out && out->iterations) out->iterations[id] = 0;
        if (out && out->evaluations) out->evaluations[id] = 0;
    }
    CLV_FREE(r.done);
    return st;
}

/* ---- a batch shared between processes ------------------------------------- */

/* An item's row in a shared minimize: x (n doubles), fx, then reason,
 * iterations and evaluations. */
static inline void clv_lbfgs__row_copy(unsigned char *row, size_t n, double *x, double *fx, int *ints, int to_row)
{
    size_t xb = n * sizeof(double);
    if (to_row) {
        memcpy(row, x, xb);
        if (fx) memcpy(row + xb, fx, sizeof(double));
        if (ints) memcpy(row + xb + sizeof(double), ints, 3 * sizeof(int));
        return;
    }
    memcpy(x, row, xb);
    if (fx) memcpy(fx, row + xb, sizeof(double));
    if (ints) memcpy(ints, row + xb + sizeof(double), 3 * sizeof(int));
}

/* Items first .. first + count - 1 of x on this process, under their
 * global indices, into their rows. */
static inline clv_status clv_lbfgs__solve_mine(clv_lbfgs *s, size_t first, size_t count, double *x,
                                               unsigned char *rows, size_t row, clv_lbfgs_progress_fn progress,
                                               void *user)
{
    size_t n = s->n;
    double *fx = (double *)clv_calloc(count, sizeof(double));
    int *ints = (int *)clv_calloc(count, 3 * sizeof(int));
    clv_status st = fx && ints ? CLV_OK : clv_lbfgs__fail(s, CLV_ERROR_OUT_OF_MEMORY, "clv_lbfgs_minimize: out of "
                                                          "host memory");
    if (st == CLV_OK) {
        clv_lbfgs_items mine;
        mine.fx = fx;
        mine.reason = ints;
        mine.iterations = ints + count;
        mine.evaluations = ints + 2 * count;
        size_t saved = s->first_item;
        s->first_item = saved + first; /* the objective sees global items */
        st = clv_lbfgs__minimize_here(s, count, x + first * n, &mine, progress, user);
        s->first_item = saved;
    }
    for (size_t i = 0; st == CLV_OK && i < count; ++i) {
        int three[3] = { ints[i], ints[count + i], ints[2 * count + i] };
        clv_lbfgs__row_copy(rows + (first + i) * row, n, x + (first + i) * n, fx + i, three, 1);
    }
    CLV_FREE(fx);
    CLV_FREE(ints);
    return st;
}

/* This process's items (clv_share_range), then every item's row from the
 * others (clv_share_exchange). A process that fails, or has no items,
 * still takes part in the exchange, so that none waits. */
static inline clv_status clv_lbfgs__minimize_shared(clv_lbfgs *s, size_t n_items, double *x,
                                                    const clv_lbfgs_items *out, clv_lbfgs_progress_fn progress,
                                                    void *user)
{
    const clv_share *sh = &s->param.share;
    size_t n = s->n, row = (n + 1) * sizeof(double) + 3 * sizeof(int), first = 0, count = 0, bytes = 0;
    clv_share_range(sh, n_items, &first, &count);
    clv_status st = clv_lbfgs__check_call(s, n_items, x);
    if (st == CLV_OK && !clv_size_mul(n_items, row, 0, &bytes))
        st = clv_lbfgs__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_lbfgs_minimize: n_items %zu of dimension %zu "
                             "need more host memory than size_t can count", n_items, n);
    unsigned char *rows = st == CLV_OK ? (unsigned char *)clv_calloc(n_items, row) : NULL;
    if (st == CLV_OK && !rows) st = clv_lbfgs__fail(s, CLV_ERROR_OUT_OF_MEMORY, "clv_lbfgs_minimize: out of host "
                                                    "memory");
    if (st == CLV_OK && count > 0) st = clv_lbfgs__solve_mine(s, first, count, x, rows, row, progress, user);
    st = clv_share_exchange(sh, st, s->message, rows, row, n_items, s->message, sizeof s->message,
                            "clv_lbfgs_minimize");
    for (size_t i = 0; st == CLV_OK && i < n_items; ++i) {
        double f = 0;
        int three[3] = { 0, 0, 0 };
        clv_lbfgs__row_copy(rows + i * row, n, x + i * n, &f, three, 0);
        if (out && out->fx) out->fx[i] = f;
        if (out && out->reason) out->reason[i] = three[0];
        if (out && out->iterations) out->iterations[i] = three[1];
        if (out && out->evaluations) out->evaluations[i] = three[2];
    }
    CLV_FREE(rows);
    return st;
}

static inline clv_status clv_lbfgs_minimize(clv_lbfgs *s, size_t n_items, double *x, const clv_lbfgs_items *out,
                                            clv_lbfgs_progress_fn progress, void *user)
{
    if (!s) return CLV_ERROR_INVALID_ARGUMENT;
    if (s->param.share.range || s->param.share.exchange)
        return clv_lbfgs__minimize_shared(s, n_items, x, out, progress, user);
    return clv_lbfgs__minimize_here(s, n_items, x, out, progress, user);
}

#ifdef __cplusplus
}
#endif

#endif /* CLVMAP_LBFGS_H */

/* ---- CLBlast interop (compiled when CLV_LBFGS_CLBLAST is defined or
 * <clblast_c.h> was included first) --------------------------------------------- */
#if (defined(CLV_LBFGS_CLBLAST) || defined(CLBLAST_CLBLAST_C_H_)) && !defined(CLVMAP_LBFGS_CLBLAST_DONE)
#define CLVMAP_LBFGS_CLBLAST_DONE
#include <clblast_c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* out = alpha * in * op(A) + beta * out for every item, as one GEMM per
 * device over the rows that device holds (row-major):
 *   matrix   a CLV_REPLICATED array holding A, rows x cols (one item of
 *            rows * cols elements, or rows items of cols);
 *   op(A)    A (transpose = 0: in has rows elements per item, out cols)
 *            or A^T (transpose = 1: in has cols, out rows);
 *   in, out  CLV_SHARDED arrays of b->n_items items, of b->dtype.
 * Bitwise results per item may depend on how many rows a device holds:
 * CLBlast chooses its GEMM kernel (direct or tiled) by size. */
static inline clv_status clv_lbfgs_gemm(const clv_lbfgs_batch *b, const clv_array *matrix, size_t rows,
                                        size_t cols, int transpose, double alpha, const clv_array *in,
                                        double beta, clv_array *out)
{
    int n_devices = clv_mesh_device_count(b->mesh);
    size_t k = transpose ? cols : rows, n_out = transpose ? rows : cols;
    for (int d = 0; d < n_devices; ++d) {
        size_t first = 0, count = 0, mfirst = 0, mcount = 0;
        cl_mem a = clv_array_buffer(in, d, &first, &count);
        cl_mem c = clv_array_buffer(out, d, NULL, NULL);
        cl_mem m = clv_array_buffer(matrix, d, &mfirst, &mcount);
        if (count == 0) continue;
        if (!a || !c || !m) {
            if (b->message) snprintf(b->message, b->message_size, "clv_lbfgs_gemm: device %d lacks a buffer "
                                     "(is the matrix CLV_REPLICATED and are in/out CLV_SHARDED?)", d);
            return CLV_ERROR_SHAPE;
        }
        cl_command_queue q = clv_mesh_queue(b->mesh, d);
        CLBlastTranspose op = transpose ? CLBlastTransposeYes : CLBlastTransposeNo;
        CLBlastStatusCode err =
            b->dtype == CLV_F64
                ? CLBlastDgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, op, count, n_out, k, alpha, a, 0, k, m, 0,
                               cols, beta, c, 0, n_out, &q, NULL)
                : CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, op, count, n_out, k, (float)alpha, a, 0, k,
                               m, 0, cols, (float)beta, c, 0, n_out, &q, NULL);
        if (err != CLBlastSuccess) {
            if (b->message) snprintf(b->message, b->message_size, "clv_lbfgs_gemm: CLBlast %sgemm failed with "
                                     "status %d on device %d (%lu x %lu x %lu)", b->dtype == CLV_F64 ? "D" : "S",
                                     (int)err, d, (unsigned long)count, (unsigned long)n_out, (unsigned long)k);
            return CLV_ERROR_OPENCL;
        }
    }
    return clv_array_sync_host(out); /* a failover mesh's host copy (no-op otherwise) */
}

#ifdef __cplusplus
}
#endif
#endif /* CLBlast interop */
