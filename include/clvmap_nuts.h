/* clvmap_nuts.h — the No-U-Turn sampler with chains sharded across OpenCL
 * devices, on clvmap, in one header.                       version 0.1.1
 *
 * WHAT IT IS
 *   Multinomial NUTS (Hoffman & Gelman 2014; Betancourt 2017), as in Stan,
 *   NumPyro and BlackJAX, with Stan's windowed warmup, for a log density and
 *   gradient that you write in OpenCL C. Many chains run at once: each chain
 *   is one work item that runs a block of iterations inside one kernel launch
 *   (no host round trip per leapfrog step), and the chains are spread over
 *   the mesh's devices with clvmap's shard, chunked so that device memory
 *   for trajectories is chunk x (12 + 2 max_depth) x dim reals per device.
 *   Chains on different devices never wait for each other inside a block
 *   (the lockstep that vmapped chains suffer in JAX, see the BlackJAX
 *   "multiple chains" how-to); on the host, blocks bound the memory for
 *   draws and give a progress report.
 *   Diagnostics on the host: split R-hat, bulk and tail ESS (Vehtari,
 *   Gelman, Simpson, Carpenter & Buerkner 2021, as ArviZ and the `posterior`
 *   package), a stansummary-like table, CmdStan-layout CSV files (ArviZ's
 *   from_cmdstan and posterior read them), and a gradient checker.
 *   It needs clvmap.h beside it and nothing else: its kernels are embedded.
 *
 * A COMPLETE EXAMPLE (C99): a 5-d Gaussian with standard deviations 1..5.
 *
 *   #include "clvmap_nuts.h"
 *   static const char *source =
 *       "clv_real logdensity(__global const clv_real *x, __global clv_real *grad,\n"
 *       "                    __global const clv_real *data) {\n"
 *       "    clv_real lp = 0;\n"
 *       "    for (int k = 0; k < CLV_NUTS_DIM; ++k) {\n"
 *       "        const clv_real s2 = (k + 1) * (k + 1);\n"
 *       "        lp -= 0.5 * x[k] * x[k] / s2;\n"
 *       "        grad[k] = -x[k] / s2;\n"
 *       "    }\n"
 *       "    return lp;\n"
 *       "}\n";
 *   int main(void) {
 *       clv_mesh *m;
 *       if (clv_mesh_open(&m, NULL)) { puts(clv_mesh_message(m)); return 1; }
 *       clv_nuts_model model = {0};
 *       model.source = source;
 *       model.dim = 5;
 *       clv_nuts *s;
 *       clv_status st = clv_nuts_new(&s, m, &model);
 *       clv_nuts_opts o = {0};             // 4 chains, 1000 warmup, 1000 draws
 *       o.seed = 7;
 *       clv_nuts_result r = {0};
 *       if (st == CLV_OK) st = clv_nuts_run(s, &o, &r);
 *       if (st != CLV_OK) puts(clv_nuts_message(s));
 *       else clv_nuts_write_summary(&r, stdout, NULL);  // mean, sd, ESS, R-hat
 *       clv_nuts_result_free(&r);
 *       clv_nuts_free(s);
 *       clv_mesh_close(m);
 *       return st != CLV_OK;
 *   }
 *
 * DEVICE SIDE: what the model's source defines
 *   One OpenCL C function (declared before your source, so a mismatch is a
 *   build error):
 *     clv_real logdensity(__global const clv_real *x, __global clv_real *grad,
 *                         __global const clv_real *data);
 *   It returns log p(x) up to a constant and writes the D partial
 *   derivatives into grad. x and grad are CLV_NUTS_DIM values (a
 *   compile-time constant: clv_nuts_model.dim) of this chain's own memory.
 *   data is clv_nuts_model.data, replicated on every device (one dummy
 *   element when there is none). clv_real is double, or float with
 *   model.f32. Returning NaN or +-inf (or a NaN gradient) is allowed: such a
 *   point ends the trajectory as a divergence, never a crash. The core's
 *   prelude is available; names starting clv_nuts_ are reserved.
 *   Parameters are unconstrained: transform constrained ones yourself and
 *   add the log Jacobian (as Stan does), and give the constrained values
 *   back as generated quantities (below).
 *
 * GENERATED QUANTITIES: constrained parameters, Stan's transformed
 * parameters and generated quantities
 *   Set clv_nuts_model.n_generated = G and generated_names (G distinct
 *   names, e.g. "tau", "theta[1]" .. "theta[8]"), and define in the source
 *     void generated(__global const clv_real *z, __global clv_real *out,
 *                    __global const clv_real *data);
 *   which writes G values into out from a draw z (CLV_NUTS_DIM values).
 *   Eight schools, non-centred (examples/nuts_models.h):
 *     void generated(__global const clv_real *z, __global clv_real *out,
 *                    __global const clv_real *data) {
 *         const clv_real tau = exp(z[1]);
 *         out[0] = tau;
 *         for (int j = 0; j < 8; ++j) out[1 + j] = z[0] + tau * z[2 + j];
 *     }
 *   It runs once per post-warmup draw, in a kernel of its own
 *   (clv_nuts__generated, after each block of iterations, on the draws
 *   still on the devices), never inside the sampler: the draws and
 *   statistics are bitwise those of the same model without it, and the
 *   values are bitwise the same for every chunk, block and device split.
 *   They land in clv_nuts_result.generated (n_chains x num_draws x G, with
 *   generated_names), in the summary after the parameters, and in the CSV
 *   as extra columns after the parameters, as CmdStan writes transformed
 *   parameters and generated quantities (theta[1] as theta.1, which
 *   cmdstanpy and ArviZ read back as theta[1] of an array theta).
 *   clv_nuts_summarize_param(r, dim + j) summarises value j. n_generated
 *   > 0 with no `generated` in the source, NULL, empty or repeated names,
 *   or names without n_generated are refused by clv_nuts_new.
 *
 * CMDSTAN CSV
 *   clv_nuts_write_csv writes what CmdStan 2.33's sampler writes and what
 *   cmdstanpy (from_csv) and ArviZ (from_cmdstan) check: the configuration
 *   comments (model, method = sample, num_samples, num_warmup, save_warmup
 *   = 0, thin, adapt, algorithm = hmc, engine = nuts, max_depth, metric =
 *   diag_e, id, seed), the header, the adaptation block ("# Adaptation
 *   terminated", "# Step size = ", "# Diagonal elements of inverse mass
 *   matrix:" and the metric), the draws, and the closing block
 *     #
 *     #  Elapsed Time: 1.234 seconds (Warm-up)
 *     #                0.567 seconds (Sampling)
 *     #                1.801 seconds (Total)
 *     #
 *   with the run's wall-clock seconds (clv_nuts_result.warmup_seconds,
 *   sampling_seconds: initialisation and warmup, then the draws and their
 *   generated quantities; all chains ran together, so every chain's file
 *   carries the run's times). tests/bench/check_cmdstan.sh reads the files
 *   with cmdstanpy and ArviZ.
 *
 * COOPERATIVE MODELS (clv_nuts_model.cooperative = 1)
 *   When: few chains and an expensive log density (a likelihood over 10^4 or
 *   more observations, a gradient in many dimensions). One work item per
 *   chain (the default) is right for many chains of a cheap density; 4
 *   chains of a 10^5-row regression use 4 threads that way, and a GPU or a
 *   runtime that vectorises across work items (Intel's CPU runtime) stays
 *   idle. Cooperative: one work group of L lanes runs each chain.
 *   The model takes a fourth parameter and is called by every lane of the
 *   chain's group together, with the same x:
 *     clv_real logdensity(__global const clv_real *x, __global clv_real *grad,
 *                         __global const clv_real *data, __local clv_real *tmp);
 *   Each lane takes a share of the work (CLV_GROUP_BLOCK(i, N_OBS) over
 *   the observations: a contiguous block each), the group combines the shares with the prelude's helpers
 *   (clv_group_sum for log p, clv_group_sum_n for the gradient's D shares
 *   in one reduction), and the function must return the same value on every
 *   lane and write each element of grad on exactly one lane (e.g. lane 0,
 *   clv_lane() == 0). Every lane must call the clv_group_* helpers the same
 *   number of times (they hold barriers: no early return before them).
 *   tmp holds clv_lanes() x CLV_NUTS_TMP values (CLV_NUTS_TMP = the larger
 *   of CLV_NUTS_DIM and 2 max_depth + 2), enough for clv_group_sum_n over
 *   the whole gradient. examples/nuts_models.h has a logistic regression in
 *   both forms (logistic_plain, logistic_coop).
 *   Local size: clv_nuts_opts.local_size is the lanes per chain; 0 takes
 *   clv_map_local_size's choice for the device (8 on PoCL's CPU devices,
 *   which run a group's lanes in turn; 64 elsewhere). On PoCL 1 and 2 are
 *   refused (CLV_ERROR_INVALID_ARGUMENT): PoCL 3.1's compiler aborts the
 *   process on the cooperative kernels at those sizes. The tree building
 *   runs on every lane with the same numbers (vectors in strided shares, dot
 *   products as group sums), so the draws depend on L through the order of
 *   the sums: bitwise the same for every chunk and device split at a fixed
 *   L (guarantee 1), different (equal in distribution) between two values
 *   of L, and never bitwise equal to the one-work-item form's.
 *   Speed on CPUs (README, COOP=1 tests/bench/nuts_bench.sh, 2-core
 *   AVX-512 machine, regressions of 10^4 x 20, 10^4 x 100, 10^5 x 20): on
 *   PoCL, which runs the lanes in turn, the cooperative form costs what
 *   the plain form costs (0.98-0.99x by wall time); keep one work item per
 *   chain there (hand-vectorised clv_real4 code was PoCL's fast form). On
 *   Intel's runtime, which vectorises across a group's lanes, cooperative
 *   plain code ran 1.7-2.8x the plain form and 2.2-2.5x BlackJAX at D = 20
 *   when the data suit the lanes:
 *     - X by rows, each lane a block (CLV_GROUP_BLOCK), default 64 lanes:
 *       best at 10^5 x 20 (2.22x BlackJAX); 0.77x the plain form at
 *       D = 100 (every row a gather across the lanes);
 *     - X by columns, rows interleaved (CLV_GROUP_FOR), local_size 16 (one
 *       vector of Intel's code): best at D = 100 (1.71x the plain form)
 *       and at 10^4 x 20 (2.54x BlackJAX). Interleave only over lanes that
 *       run at once: at 64 lanes Intel's runs 4 vectors in turn, 0.44x.
 *   A lane's gradient share longer than ~32 values spills from registers
 *   where lanes run side by side: keep it in CLV_LANE_SLOT(tmp, k) and sum
 *   it with clv_group_sum_table(tmp, CLV_NUTS_DIM, grad) (lane k % L writes
 *   grad[k], as the sampler wants; the same bits as clv_group_sum_n).
 *   CLV_LANES_IN_TURN tells the two kinds of runtime apart in the source.
 *   examples/nuts_models.h: logistic_coop (rows) and logistic_coop_cols.
 *   PoCL: the first run builds the work-group functions for L, about 2.5
 *   minutes cold on 2 loaded cores (seconds from PoCL's kernel cache
 *   afterwards); Intel's CPU runtime builds them in about 40 s.
 *
 * ALGORITHM
 *   Transition: NumPyro's iterative multinomial NUTS (numpyro/infer/
 *   hmc_util.py): the trajectory doubles in a random direction; each new
 *   subtree of 2^depth leapfrog steps is built leaf by leaf with U-turn
 *   checkpoints (_leaf_idx_to_ckpt_idxs, _is_iterative_turning: OpenCL C has
 *   no recursion), its proposal chosen by uniform multinomial sampling, and
 *   joined by biased progressive sampling; the generalised U-turn criterion
 *   (Betancourt 2017, A.4.2) on every subtree and the whole trajectory; at
 *   most max_depth doublings (10); a divergence when the energy error
 *   exceeds 1000. Diagonal mass matrix.
 *   Warmup: Stan's (Stan Reference Manual, "HMC algorithm parameters"):
 *   step size by dual averaging (delta 0.8, gamma 0.05, t0 10, kappa 0.75,
 *   mu = log(10 eps)); inverse metric from Welford variances in windows of
 *   75 (init buffer) / 25, doubling / 50 (term buffer), regularised as
 *   (n / (n + 5)) var + 1e-3 (5 / (n + 5)); after each window Stan's step
 *   size search (init_stepsize) and a dual averaging restart; the final step
 *   size is exp(x_bar). Fewer than 150 warmup iterations: 15% / 75% / 10%.
 *   Initial points uniform on (-2, 2)^D (Stan's default), retried up to 100
 *   times until log p and its gradient are finite.
 *
 * GUARANTEES
 *   1. Partition invariance: chain c's random numbers are
 *      clv_rng_init(seed, c, t + 1) at iteration t (stream 0: its initial
 *      point), so every draw and statistic is bitwise identical for every
 *      chunk, block and device split on the same kind of device.
 *   2. Bounded memory: the device holds the data, n_chains x (5 D + 8)
 *      reals of state, a block of draws (n_chains x block x (D + 7 + G),
 *      G generated values) and
 *      chunk x (12 + 2 max_depth) x D reals of scratch.
 *   3. NaN or infinite log density or gradient: a divergent transition.
 *   4. Every call returns a clv_status (clvmap.h's); clv_nuts_message says
 *      why. No leak on any path.
 *
 * OPTIONS (define before including): those of clvmap.h (CLV_MALLOC, ...).
 *   CLV_NUTS_MESSAGE_SIZE   bytes of a sampler's message (default 8192).
 *
 * REVISION HISTORY
 *   0.1.0 (2026-11-21) first version; clv_nuts_opts.first_chain (chains of
 *                      a larger run, for clvmap_mpi.h); a cancelled run
 *                      keeps each chain's draws in its own rows; CSV
 *                      names quoted when they need it.
 *   0.1.1 (2026-12-03) sizes that cannot fit (n_chains, num_draws,
 *                      num_warmup, block, dim against each device's memory
 *                      and largest allocation, and the host's) are refused
 *                      before anything is allocated, CLV_ERROR_OUT_OF_MEMORY
 *                      with the bytes needed and available; every size
 *                      product overflow-checked; NaN or inf in any
 *                      floating-point option (max_energy_error = inf used to
 *                      pass; the gradient checker's radius, step, tolerance)
 *                      refused by name (issue 11).
 *   (next, 2026-12-03) clv_nuts_opts.share (a clv_share: the chains split
 *                      between processes, every chain's results on every
 *                      process, bitwise one process's; CLV_NUTS_SHARE); the
 *                      groundwork (messages, allocation, option checks,
 *                      building with data, CSV names, host memory) is the
 *                      core's (issue 12). Generated quantities
 *                      (clv_nuts_model.n_generated, generated_names, the
 *                      source's generated(): clv_nuts_result.generated, the
 *                      summary, CSV columns; CLV_NUTS_GENERATED); the CSV
 *                      ends with CmdStan's Elapsed Time block, measured
 *                      (clv_nuts_result.warmup_seconds, sampling_seconds),
 *                      so that cmdstanpy's from_csv reads it; indexed names
 *                      written CmdStan's way (theta[1] -> theta.1) (issue 18).
 *
 * ------------------------------------------------------------------------
 * Stop reading here if you only want the API.
 */
#ifndef CLVMAP_NUTS_H
#define CLVMAP_NUTS_H

#include "clvmap.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLV_NUTS_VERSION_MAJOR 0
#define CLV_NUTS_VERSION_MINOR 1
#define CLV_NUTS_VERSION_PATCH 1
/* clv_nuts_opts has first_chain and share (a clv_share) */
#define CLV_NUTS_FIRST_CHAIN 1
#define CLV_NUTS_SHARE 1
/* clv_nuts_model has n_generated and generated_names; clv_nuts_result has
 * generated, warmup_seconds and sampling_seconds */
#define CLV_NUTS_GENERATED 1

/* ---- the model: built once per sampler ------------------------------------ */

typedef struct clv_nuts_model {
    const char *source;  /* OpenCL C defining logdensity */
    const char *name;    /* the source's file name in build logs (default "model.cl") */
    int dim;             /* parameters, >= 1 */
    const double *data;  /* n_data values replicated on every device (NULL when n_data is 0) */
    size_t n_data;
    const char *options; /* extra compiler options, e.g. "-DN_OBS=1000" */
    int f32;             /* nonzero: clv_real is float (devices without fp64); default double */
    int max_depth;       /* largest tree depth a run may ask for (scratch grows with it); 0: 10 */
    int cooperative;     /* nonzero: logdensity takes a fourth parameter, __local clv_real *tmp, and
                            is evaluated by all work items of the chain's work group together
                            (COOPERATIVE MODELS); 0: one work item runs a chain (the default) */
    int n_generated;     /* values the source's `generated` function makes from each draw
                            (GENERATED QUANTITIES): constrained parameters, transformed
                            parameters, generated quantities; 0: none (no `generated` needed) */
    const char *const *generated_names; /* n_generated distinct names, e.g. "tau", "theta[1]"
                            (the summary's; the CSV writes theta[1] as CmdStan does, theta.1);
                            copied by clv_nuts_new */
} clv_nuts_model;

typedef struct clv_nuts clv_nuts;

/* Build the model's program for every device and upload its data. A sampler
 * is returned even on failure so that clv_nuts_message can say why; free it
 * with clv_nuts_free. *out is NULL only when host memory ran out. The mesh
 * must outlive the sampler. */
static inline clv_status clv_nuts_new(clv_nuts **out, clv_mesh *m, const clv_nuts_model *model);
/* Release the sampler (safe on NULL). */
static inline void clv_nuts_free(clv_nuts *s);
/* The latest error's message, or "" (never NULL). */
static inline const char *clv_nuts_message(const clv_nuts *s);
/* The model's dimension (0 for NULL). */
static inline int clv_nuts_dim(const clv_nuts *s);

/* ---- a run ----------------------------------------------------------------- */

typedef struct clv_nuts_progress {
    int iteration;                /* iterations done by every chain */
    int total;                    /* num_warmup + num_draws */
    int num_warmup;
    int n_devices;
    const size_t *device_first;   /* first chain on each device */
    const size_t *device_count;   /* chains on each device */
    const uint64_t *device_divergent; /* divergent post-warmup transitions so far, per device */
    const double *device_seconds; /* kernel seconds so far, per device (profiling events) */
} clv_nuts_progress;

/* Called after every block; a nonzero return stops the run (CLV_OK, with
 * result->num_draws the draws completed). */
typedef int (*clv_nuts_progress_fn)(const clv_nuts_progress *progress, void *user);

typedef struct clv_nuts_opts {
    int n_chains;          /* 0: 4 */
    int num_warmup;        /* 0: 1000; negative: none (no adaptation) */
    int num_draws;         /* 0: 1000 */
    int max_depth;         /* 0: 10 (at most clv_nuts_model.max_depth) */
    double target_accept;  /* dual averaging's delta; 0: 0.8 */
    double step_size;      /* initial step size; 0: 1 */
    double max_energy_error; /* divergence threshold; 0: 1000 */
    double init_radius;    /* initial points uniform on (-r, r)^D; 0: 2 */
    const double *init;    /* NULL, or n_chains x dim initial points */
    int no_step_size_search; /* nonzero: skip Stan's init_stepsize heuristic */
    int block;             /* iterations per kernel launch; 0: 100 */
    long chunk;            /* chains per launch per device: CLV_CHUNK_NONE (0), k > 0, CLV_CHUNK_AUTO */
    size_t local_size;     /* work group size; 0: 1 (CPUs: chains spread over cores; GPUs: try 32-64);
                              cooperative models: the lanes per chain, 0: clv_map_local_size's */
    uint64_t seed;         /* the run is a pure function of the seed and the options */
    uint64_t first_chain;  /* global index of this run's first chain (its random numbers are
                              chain first_chain + c's): a process running chains first_chain ..
                              first_chain + n_chains - 1 of a larger run gets their draws bit
                              for bit; 0: chains 0 .. n_chains - 1 */
    clv_share share;       /* zero: this process runs every chain. Else the n_chains chains
                              are split between the processes (clv_share_range), each runs
                              its own under their global indices, and every process ends
                              with every chain's results (clv_share_exchange), bitwise what
                              one process gives; e.g. clvmap_mpi.h's clv_mpi_share */
    clv_nuts_progress_fn progress; /* NULL: none */
    void *progress_user;
} clv_nuts_opts;

/* Per-draw statistics as CmdStan names them. */
typedef struct clv_nuts_result {
    int n_chains, num_draws, num_warmup, dim;
    double *draws;          /* n_chains x num_draws x dim (post-warmup) */
    double *lp;             /* lp__          n_chains x num_draws */
    double *accept_stat;    /* accept_stat__ */
    double *step_size;      /* stepsize__ */
    int *tree_depth;        /* treedepth__ */
    int *n_leapfrog;        /* n_leapfrog__ */
    int *divergent;         /* divergent__ */
    double *energy;         /* energy__ */
    double *inv_mass;       /* n_chains x dim: the adapted diagonal inverse metric */
    double *final_step_size;/* n_chains */
    int *init_tries;        /* n_chains: random initial points tried */
    uint64_t n_divergent;   /* post-warmup divergent transitions, all chains */
    uint64_t n_leapfrog_total; /* leapfrog steps, warmup included */
    int max_depth;          /* the values used */
    double target_accept;
    uint64_t seed;
    long chunk;
    int block;
    int n_devices;
    clv_device_stats *device; /* n_devices entries: clv_mesh_stats at the end of the run */
    uint64_t peak_device_bytes; /* the largest bytes_high_water of any device */
    int n_generated;        /* clv_nuts_model.n_generated */
    double *generated;      /* n_chains x num_draws x n_generated: `generated` of each draw (NULL: none) */
    char **generated_names; /* n_generated names, the model's (NULL: none) */
    double warmup_seconds;  /* wall-clock seconds of the initialisation and warmup (this process's) */
    double sampling_seconds;/* wall-clock seconds of the post-warmup iterations and `generated` */
} clv_nuts_result;

/* Run the chains. opts NULL: all defaults. *result is overwritten (free it
 * with clv_nuts_result_free, also after a failure). Resets the mesh's
 * counters first. */
static inline clv_status clv_nuts_run(clv_nuts *s, const clv_nuts_opts *opts, clv_nuts_result *result);
/* Free the result's arrays and zero it (safe on a zeroed result). */
static inline void clv_nuts_result_free(clv_nuts_result *r);

/* ---- diagnostics (host) ------------------------------------------------------ */

typedef struct clv_nuts_summary {
    double mean, sd;         /* sd with ddof 1, over all chains' draws */
    double q5, q50, q95;     /* linear interpolation (numpy's default, R type 7) */
    double ess_bulk;         /* rank-normalised split-chain ESS */
    double ess_tail;         /* min of the 5% and 95% quantile ESS */
    double rhat;             /* max of rank-normalised split R-hat, bulk and folded */
} clv_nuts_summary;

/* Summary of values x[chain * n_draws + draw] (Vehtari et al. 2021, as
 * ArviZ's ess(method="bulk"/"tail") and rhat(method="rank")). NaN fields
 * when they are undefined (constant draws, fewer than 4 draws per chain). */
static inline clv_status clv_nuts_summarize(const double *x, int n_chains, int n_draws, clv_nuts_summary *out);
/* Summary of parameter k of a result (k = -1: lp__; dim .. dim + n_generated
 * - 1: generated quantity k - dim). */
static inline clv_status clv_nuts_summarize_param(const clv_nuts_result *r, int k, clv_nuts_summary *out);
/* A stansummary-like table: lp__, every parameter (names NULL: x.1 ...) and
 * every generated quantity (result->generated_names), then divergences and
 * the step sizes. */
static inline clv_status clv_nuts_write_summary(const clv_nuts_result *r, FILE *f, const char *const *names);
/* One chain as CmdStan's output CSV: '#' comment lines (configuration),
 * the header lp__, accept_stat__, stepsize__, treedepth__, n_leapfrog__,
 * divergent__, energy__, the parameters (names NULL: x.1 ..., as CmdStan
 * names a vector x) and the generated quantities, the adaptation lines,
 * one row per draw (%.17g), and the elapsed-time lines. A name's indices
 * in brackets are written with dots, as CmdStan does (theta[1] -> theta.1,
 * a[2,3] -> a.2.3), so that cmdstanpy and ArviZ rebuild the arrays. */
static inline clv_status clv_nuts_write_csv(const clv_nuts_result *r, int chain, FILE *f,
                                            const char *const *names);

/* ---- gradient checker -------------------------------------------------------- */

typedef struct clv_nuts_gradcheck_opts {
    int n_points;          /* 0: 10 random points, uniform on (-radius, radius)^D */
    double radius;         /* 0: 2 */
    double step;           /* relative step h (times max(1, |x_k|)); 0: 1e-5 (f32: 1e-2) */
    double tolerance;      /* 0: 1e-4 (f32: 2e-2) */
    uint64_t seed;
} clv_nuts_gradcheck_opts;

typedef struct clv_nuts_gradcheck {
    double worst;           /* the largest error over points and coordinates */
    int worst_coordinate;
    int n_over;             /* coordinates whose worst error exceeds the tolerance */
    int n_nonfinite;        /* points where log p or a partial was not finite */
} clv_nuts_gradcheck;

/* Compare the model's gradient with central differences at random points.
 * The error of partial k at a point is |analytic - numeric| / max(1,
 * |analytic|, |numeric|) (relative, absolute near zero); worst_per_coordinate
 * (NULL, or dim values) receives the worst over points. */
static inline clv_status clv_nuts_check_gradient(clv_nuts *s, const clv_nuts_gradcheck_opts *opts,
                                                 double *worst_per_coordinate, clv_nuts_gradcheck *out);

/* The device source (kernels/nuts.cl) as the lines handed to the compiler. */
static inline const char *const *clv_nuts_kernel_lines(size_t *n_lines);

#ifdef __cplusplus
}
#endif

/* ========================================================================
 * IMPLEMENTATION
 * ======================================================================== */

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/time.h>
#endif

#ifndef CLV_NUTS_MESSAGE_SIZE
#define CLV_NUTS_MESSAGE_SIZE 8192
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Layouts shared with kernels/nuts.cl (CLV_NUTS__STATE, __SCRATCH, ...). */
#define CLV_NUTS__STATE_ELEMS(d) (5 * (size_t)(d) + 8)
#define CLV_NUTS__STATE_M(d) (2 * (size_t)(d))
#define CLV_NUTS__STATE_EPS(d) (5 * (size_t)(d) + 1)
#define CLV_NUTS__SCRATCH_ELEMS(d, depth) ((12 + 2 * (size_t)(depth)) * (size_t)(d))
#define CLV_NUTS__N_CONFIG 10
#define CLV_NUTS__N_STATS 7
#define CLV_NUTS__ADD 1
#define CLV_NUTS__END 2
/* Host random stream of the gradient checker's points. */
#define CLV_NUTS__STREAM_GRADCHECK 0xFFFFFFFFu

struct clv_nuts {
    clv_mesh *mesh;
    clv_program *program;
    clv_array *data;        /* replicated */
    int dim;
    int f32;
    int max_depth;          /* checkpoint capacity compiled in */
    int cooperative;        /* clv_nuts_model.cooperative */
    int n_generated;        /* clv_nuts_model.n_generated */
    char **generated_names; /* a copy of clv_nuts_model.generated_names (one allocation) */
    char message[CLV_NUTS_MESSAGE_SIZE];
};

/* ---- small helpers ------------------------------------------------------ */

/* printf into the sampler's message (none when s is NULL); returns status. */
#define clv_nuts__fail(s, ...) clv_message((s) ? (s)->message : NULL, sizeof(s)->message, __VA_ARGS__)

/* A failed clvmap call: its status, with the mesh's message after ours. */
static inline clv_status clv_nuts__fail_core(clv_nuts *s, clv_status status, const char *what)
{
    return clv_nuts__fail(s, status, "%s: %s", what, clv_mesh_message(s->mesh));
}

/* Refuse `bytes` of host memory for `what` when they overflow size_t or are
 * more than the host has. */
static inline clv_status clv_nuts__check_host(clv_nuts *s, uint64_t bytes, const char *what)
{
    uint64_t available = clv_host_memory_available();
    if (bytes > (uint64_t)SIZE_MAX - 1)
        return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "%s need more host memory than size_t can count", what);
    if (available && bytes > available)
        return clv_nuts__fail(s, CLV_ERROR_OUT_OF_MEMORY, "%s need %llu bytes of host memory, but %llu bytes are "
                              "available (MemAvailable + SwapFree)", what, (unsigned long long)bytes,
                              (unsigned long long)available);
    return CLV_OK;
}

/* Wall-clock seconds from an arbitrary origin (CmdStan's elapsed times):
 * C11's timespec_get, POSIX's gettimeofday, else clock()'s CPU time. */
static inline double clv_nuts__seconds(void)
{
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && defined(TIME_UTC)
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) == TIME_UTC) return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#elif defined(__unix__) || defined(__APPLE__)
    struct timeval tv;
    if (gettimeofday(&tv, NULL) == 0) return (double)tv.tv_sec + 1e-6 * (double)tv.tv_usec;
#endif
    return (double)clock() / CLOCKS_PER_SEC;
}

static inline size_t clv_nuts__real_size(const clv_nuts *s)
{
    return s->f32 ? sizeof(float) : sizeof(double);
}

/* Upload n doubles into a (float or double) array. */
/* BEGIN EMBEDDED kernels/nuts.cl (generated by tools/embed.c; do not edit) */
static inline const char *const *clv_nuts_kernel_lines(size_t *n_lines)
{
    static const char *const lines[] = {
        "/* clvmap NUTS: the device side (OpenCL C 1.2).\n",
        " *\n",
        " * This file is the single source of truth: it is embedded into\n",
        " * include/clvmap_nuts.h by tools/embed.c (ninja -C BUILD embed_nuts), and\n",
        " * tests/nuts/test_nuts_embed.c fails when the embedded copy is stale.\n",
        " *\n",
        " * clv_nuts_new compiles, after the core's prelude: this file, then the\n",
        " * user's source (with its own #line), with -DCLV_NUTS_DIM=<dim> and\n",
        " * -DCLV_NUTS_MAX_DEPTH=<checkpoint capacity>. The user's source defines\n",
        " * logdensity, declared below.\n",
        " *\n",
        " * Algorithm: the multinomial No-U-Turn sampler (Hoffman & Gelman, JMLR 15,\n",
        " * 2014; Betancourt, \"A conceptual introduction to HMC\", arXiv:1701.02434,\n",
        " * 2017, appendix A) with NumPyro's iterative tree building (numpyro/infer/\n",
        " * hmc_util.py: _iterative_build_subtree, _leaf_idx_to_ckpt_idxs,\n",
        " * _is_iterative_turning, _biased_transition_kernel), since OpenCL C has no\n",
        " * recursion; Stan's windowed adaptation (Stan Reference Manual, \"HMC\n",
        " * algorithm parameters\"; stan/mcmc/windowed_adaptation.hpp,\n",
        " * stepsize_adaptation.hpp, welford_var_estimator.hpp). One work item runs one\n",
        " * chain for a block of iterations; everything a chain carries from one block\n",
        " * to the next is in its row of the state array. */\n",
        "\n",
        "/* ---- what the user defines ----------------------------------------------\n",
        " * Returns log p(x) up to a constant and writes its gradient into grad.\n",
        " * x and grad: CLV_NUTS_DIM values of this chain's own __global scratch.\n",
        " * data: the model's replicated array. NaN or infinite values are allowed: the\n",
        " * sampler treats them as a divergence.\n",
        " *\n",
        " * Cooperative models (clv_nuts_model.cooperative; -DCLV_NUTS_GROUP): one\n",
        " * work group runs one chain, and logdensity takes a fourth parameter, tmp,\n",
        " * a __local buffer of clv_lanes() values for the prelude's clv_group_*\n",
        " * helpers. All lanes of the group call it together with the same x (all of\n",
        " * it readable by every lane); each lane works on a share (CLV_GROUP_FOR over\n",
        " * the observations, say) and the group combines the shares. It must return\n",
        " * the same value on every lane and leave every element of grad written by\n",
        " * exactly one lane (the sampler waits for all lanes before it reads grad).\n",
        " * The tree building runs on every lane with the same numbers; vectors of\n",
        " * length CLV_NUTS_DIM are updated in strided shares (lane k % L owns\n",
        " * element k), their dot products are group sums, and scalars in __global\n",
        " * memory are written by lane 0 between barriers.\n",
        " * Rule for this file: no call that holds a barrier under a condition and\n",
        " * no early exit from a loop that holds one (steps run unconditionally and\n",
        " * act on a flag). PoCL's work-group compiler replicates the code after\n",
        " * each conditional barrier; with them the cooperative run kernel did not\n",
        " * build in 15 minutes, without them it builds in about 2 (2 loaded cores).\n",
        " * The one-work-item form's arithmetic is the same either way. */\n",
        "#ifdef CLV_NUTS_GROUP\n",
        "clv_real logdensity(__global const clv_real *x, __global clv_real *grad, __global const clv_real *data,\n",
        "                    __local clv_real *tmp);\n",
        "#else\n",
        "clv_real logdensity(__global const clv_real *x, __global clv_real *grad, __global const clv_real *data);\n",
        "#endif\n",
        "\n",
        "/* Models with generated quantities (clv_nuts_model.n_generated > 0;\n",
        " * -DCLV_NUTS_N_GENERATED=<n>) also define generated: from a draw z\n",
        " * (CLV_NUTS_DIM values) it writes CLV_NUTS_N_GENERATED values into out\n",
        " * (constrained parameters, transformed parameters, generated quantities).\n",
        " * It runs after the sampler, in a kernel of its own, so the draws are\n",
        " * those of the same model without it. */\n",
        "#if defined(CLV_NUTS_N_GENERATED) && CLV_NUTS_N_GENERATED > 0\n",
        "void generated(__global const clv_real *z, __global clv_real *out, __global const clv_real *data);\n",
        "#endif\n",
        "\n",
        "#ifndef CLV_NUTS_DIM\n",
        "#error \"clvmap_nuts: CLV_NUTS_DIM must be defined (clv_nuts_new does it)\"\n",
        "#endif\n",
        "#ifndef CLV_NUTS_MAX_DEPTH\n",
        "#define CLV_NUTS_MAX_DEPTH 10\n",
        "#endif\n",
        "#define CLV_NUTS__D CLV_NUTS_DIM\n",
        "/* Cooperative models: tmp holds clv_lanes() x CLV_NUTS_TMP values (the\n",
        " * model may use all of them, e.g. clv_group_sum_n over its gradient). */\n",
        "#define CLV_NUTS_TMP (CLV_NUTS_DIM > 2 * CLV_NUTS_MAX_DEPTH + 2 \? CLV_NUTS_DIM : 2 * CLV_NUTS_MAX_DEPTH + 2)\n",
        "\n",
        "/* One chain per work item, or per work group (cooperative models): the\n",
        " * same code, with these in the places where the two differ. In the one\n",
        " * work item form they vanish, and the arithmetic is the form's own. */\n",
        "#ifdef CLV_NUTS_GROUP\n",
        "#define CLV_NUTS__FOR(k) for (int k = (int)clv_lane(); k < CLV_NUTS__D; k += (int)clv_lanes())\n",
        "#define CLV_NUTS__MINE(k) ((size_t)(k) % clv_lanes() == clv_lane())\n",
        "#define CLV_NUTS__SUM(v) clv_group_sum((v), tmp)\n",
        "#define CLV_NUTS__SYNC() barrier(CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE)\n",
        "#define CLV_NUTS__LEAD (clv_lane() == 0)\n",
        "#define CLV_NUTS__TMP , __local clv_real *tmp /* in parameter lists */\n",
        "#define CLV_NUTS__T , tmp                     /* in calls */\n",
        "#else\n",
        "#define CLV_NUTS__FOR(k) for (int k = 0; k < CLV_NUTS__D; ++k)\n",
        "#define CLV_NUTS__MINE(k) 1\n",
        "#define CLV_NUTS__SUM(v) (v)\n",
        "#define CLV_NUTS__SYNC() ((void)0)\n",
        "#define CLV_NUTS__LEAD 1\n",
        "#define CLV_NUTS__TMP\n",
        "#define CLV_NUTS__T\n",
        "#endif\n",
        "\n",
        "/* The chain's state row (kept between launches; host: CLV_NUTS__STATE_*). */\n",
        "#define CLV_NUTS__S_Z 0                        /* position */\n",
        "#define CLV_NUTS__S_G (1 * CLV_NUTS__D)        /* gradient of log p at z */\n",
        "#define CLV_NUTS__S_M (2 * CLV_NUTS__D)        /* inverse mass matrix (diagonal) */\n",
        "#define CLV_NUTS__S_WMEAN (3 * CLV_NUTS__D)    /* Welford running mean */\n",
        "#define CLV_NUTS__S_WM2 (4 * CLV_NUTS__D)      /* Welford sum of squares */\n",
        "#define CLV_NUTS__S_LP (5 * CLV_NUTS__D + 0)   /* log p at z */\n",
        "#define CLV_NUTS__S_EPS (5 * CLV_NUTS__D + 1)  /* step size of the next iteration */\n",
        "#define CLV_NUTS__S_XBAR (5 * CLV_NUTS__D + 2) /* dual averaging: averaged log step */\n",
        "#define CLV_NUTS__S_SBAR (5 * CLV_NUTS__D + 3) /* dual averaging: averaged statistic */\n",
        "#define CLV_NUTS__S_MU (5 * CLV_NUTS__D + 4)   /* dual averaging: shrinkage target */\n",
        "#define CLV_NUTS__S_DAN (5 * CLV_NUTS__D + 5)  /* dual averaging: iterations since restart */\n",
        "#define CLV_NUTS__S_WN (5 * CLV_NUTS__D + 6)   /* Welford: samples in the window */\n",
        "#define CLV_NUTS__STATE (5 * CLV_NUTS__D + 8)\n",
        "\n",
        "/* The chain's scratch (one chunk's worth; nothing survives a launch). */\n",
        "#define CLV_NUTS__ZL 0                 /* left end of the trajectory: z, r, grad */\n",
        "#define CLV_NUTS__RL (1 * CLV_NUTS__D)\n",
        "#define CLV_NUTS__GL (2 * CLV_NUTS__D)\n",
        "#define CLV_NUTS__ZR (3 * CLV_NUTS__D) /* right end */\n",
        "#define CLV_NUTS__RR (4 * CLV_NUTS__D)\n",
        "#define CLV_NUTS__GR (5 * CLV_NUTS__D)\n",
        "#define CLV_NUTS__ZP (6 * CLV_NUTS__D) /* the trajectory's proposal: z, grad */\n",
        "#define CLV_NUTS__GP (7 * CLV_NUTS__D)\n",
        "#define CLV_NUTS__RSUM (8 * CLV_NUTS__D) /* sum of the trajectory's momenta */\n",
        "#define CLV_NUTS__SZP (9 * CLV_NUTS__D)  /* the new subtree's proposal: z, grad */\n",
        "#define CLV_NUTS__SGP (10 * CLV_NUTS__D)\n",
        "#define CLV_NUTS__SRSUM (11 * CLV_NUTS__D) /* the new subtree's momentum sum */\n",
        "#define CLV_NUTS__CKR (12 * CLV_NUTS__D)   /* U-turn checkpoints: momenta */\n",
        "#define CLV_NUTS__CKS ((12 + CLV_NUTS_MAX_DEPTH) * CLV_NUTS__D) /* and momentum sums */\n",
        "#define CLV_NUTS__SCRATCH ((12 + 2 * CLV_NUTS_MAX_DEPTH) * CLV_NUTS__D)\n",
        "\n",
        "/* The replicated configuration (host: clv_nuts__config). */\n",
        "#define CLV_NUTS__C_DELTA 0     /* target acceptance statistic */\n",
        "#define CLV_NUTS__C_GAMMA 1\n",
        "#define CLV_NUTS__C_T0 2\n",
        "#define CLV_NUTS__C_KAPPA 3\n",
        "#define CLV_NUTS__C_MAX_DE 4    /* energy error that counts as a divergence */\n",
        "#define CLV_NUTS__C_RADIUS 5    /* initial points uniform on (-radius, radius)^D */\n",
        "#define CLV_NUTS__C_EPS0 6      /* initial step size */\n",
        "#define CLV_NUTS__C_HEURISTIC 7 /* nonzero: Stan's init_stepsize */\n",
        "#define CLV_NUTS__C_FD_STEP 8   /* relative step of the central differences */\n",
        "#define CLV_NUTS__C_ADAPT_EPS 9 /* nonzero: adapt the step size in warmup */\n",
        "\n",
        "/* Schedule flags of a warmup iteration (host: clv_nuts__schedule). */\n",
        "#define CLV_NUTS__ADD 1 /* the draw goes into the mass matrix estimate */\n",
        "#define CLV_NUTS__END 2 /* a metric window ends after this draw */\n",
        "\n",
        "/* Per-draw statistics (host: CLV_NUTS__STAT_*). */\n",
        "#define CLV_NUTS__N_STATS 7\n",
        "\n",
        "typedef struct clv_nuts__info {\n",
        "    clv_real accept_sum; /* sum over new leaves of min(1, exp(H0 - H)) */\n",
        "    int n_leapfrog;\n",
        "    int depth;\n",
        "    int divergent;\n",
        "    clv_real energy;     /* H at the chosen point */\n",
        "} clv_nuts__info;\n",
        "\n",
        "typedef struct clv_nuts__subtree {\n",
        "    clv_real weight;     /* log of the sum of exp(-(H - H0)) over its leaves */\n",
        "    clv_real logp, energy; /* at its proposal */\n",
        "    int turning, diverging;\n",
        "} clv_nuts__subtree;\n",
        "\n",
        "/* ---- small helpers ------------------------------------------------------ */\n",
        "\n",
        "void clv_nuts__copy(__global clv_real *dst, __global const clv_real *src)\n",
        "{\n",
        "    CLV_NUTS__FOR(k) dst[k] = src[k];\n",
        "}\n",
        "\n",
        "clv_real clv_nuts__logaddexp(clv_real a, clv_real b)\n",
        "{\n",
        "    const clv_real hi = fmax(a, b), lo = fmin(a, b);\n",
        "    if (hi == -INFINITY) return hi;\n",
        "    return hi + log1p(exp(lo - hi));\n",
        "}\n",
        "\n",
        "clv_real clv_nuts__kinetic(__global const clv_real *m, __global const clv_real *r CLV_NUTS__TMP)\n",
        "{\n",
        "    clv_real k = 0;\n",
        "    CLV_NUTS__FOR(i) k += m[i] * r[i] * r[i];\n",
        "    return (clv_real)0.5 * CLV_NUTS__SUM(k);\n",
        "}\n",
        "\n",
        "/* Momentum r ~ N(0, M) with M = diag(1 / m). Every lane draws every\n",
        " * normal (the stream is sequential) and keeps its own. */\n",
        "void clv_nuts__momentum(__global clv_real *r, __global const clv_real *m, clv_rng *rng)\n",
        "{\n",
        "    for (int k = 0; k < CLV_NUTS__D; ++k) {\n",
        "        const clv_real v = clv_normal(rng);\n",
        "        if (CLV_NUTS__MINE(k)) r[k] = v / sqrt(m[k]);\n",
        "    }\n",
        "}\n",
        "\n",
        "/* log p and its gradient, with *ok cleared when either is not finite (a NaN\n",
        " * gradient would otherwise poison every later step of the chain). */\n",
        "clv_real clv_nuts__eval(__global const clv_real *z, __global clv_real *g, __global const clv_real *data,\n",
        "                        int *ok CLV_NUTS__TMP)\n",
        "{\n",
        "    CLV_NUTS__SYNC(); /* every lane's share of z is written */\n",
        "    const clv_real lp = logdensity(z, g, data CLV_NUTS__T);\n",
        "    CLV_NUTS__SYNC(); /* every element of g is written */\n",
        "    int fine = isfinite(lp);\n",
        "    CLV_NUTS__FOR(k) fine &= isfinite(g[k]);\n",
        "#ifdef CLV_NUTS_GROUP\n",
        "    fine = CLV_NUTS__SUM((clv_real)(fine \? 0 : 1)) == 0;\n",
        "#endif\n",
        "    *ok = fine;\n",
        "    return lp;\n",
        "}\n",
        "\n",
        "/* One velocity-Verlet (leapfrog) step of signed size eps, in place. */\n",
        "clv_real clv_nuts__leapfrog(__global clv_real *z, __global clv_real *r, __global clv_real *g,\n",
        "                            __global const clv_real *m, clv_real eps, __global const clv_real *data,\n",
        "                            int *ok CLV_NUTS__TMP)\n",
        "{\n",
        "    const clv_real half_eps = (clv_real)0.5 * eps;\n",
        "    CLV_NUTS__FOR(k) {\n",
        "        r[k] += half_eps * g[k];\n",
        "        z[k] += eps * m[k] * r[k];\n",
        "    }\n",
        "    const clv_real lp = clv_nuts__eval(z, g, data, ok CLV_NUTS__T);\n",
        "    CLV_NUTS__FOR(k) r[k] += half_eps * g[k];\n",
        "    return lp;\n",
        "}\n",
        "\n",
        "/* The generalised no-U-turn criterion over a trajectory with end momenta\n",
        " * rl, rr and momentum sum rsum (Betancourt 2017, A.4.2; NumPyro's\n",
        " * _is_turning, which subtracts half of each end from the sum). */\n",
        "int clv_nuts__turning(__global const clv_real *m, __global const clv_real *rl, __global const clv_real *rr,\n",
        "                      __global const clv_real *rsum CLV_NUTS__TMP)\n",
        "{\n",
        "    clv_real left = 0, right = 0;\n",
        "    CLV_NUTS__FOR(k) {\n",
        "        const clv_real s = rsum[k] - (clv_real)0.5 * (rl[k] + rr[k]);\n",
        "        left += m[k] * rl[k] * s;\n",
        "        right += m[k] * rr[k] * s;\n",
        "    }\n",
        "#ifdef CLV_NUTS_GROUP\n",
        "    clv_real both[2] = { left, right };\n",
        "    clv_group_sum_n(both, 2, tmp);\n",
        "    left = both[0];\n",
        "    right = both[1];\n",
        "#endif\n",
        "    return left <= 0 || right <= 0;\n",
        "}\n",
        "\n",
        "/* NumPyro's _leaf_idx_to_ckpt_idxs: the checkpoints that leaf n closes.\n",
        " * idx_max = set bits of n except the lowest; the number of subtrees that end\n",
        " * at n is the number of trailing ones. */\n",
        "void clv_nuts__ckpt_idxs(int n, int *idx_min, int *idx_max)\n",
        "{\n",
        "    int ones = 0, trailing = 0;\n",
        "    for (int v = n >> 1; v > 0; v >>= 1) ones += v & 1;\n",
        "    for (int v = n; (v & 1) != 0; v >>= 1) ++trailing;\n",
        "    *idx_max = ones;\n",
        "    *idx_min = ones - trailing + 1;\n",
        "}\n",
        "\n",
        "/* NumPyro's _is_iterative_turning: does any subtree that ends at the newest\n",
        " * leaf (momentum r) make a U-turn\? The subtree from checkpoint i has momentum\n",
        " * sum rsum - cks[i] + ckr[i]. */\n",
        "int clv_nuts__iterative_turning(__global const clv_real *m, __global const clv_real *r,\n",
        "                                __global const clv_real *rsum, __global const clv_real *sc, int idx_min,\n",
        "                                int idx_max CLV_NUTS__TMP)\n",
        "{\n",
        "#ifdef CLV_NUTS_GROUP\n",
        "    /* every checkpoint's two products in one group reduction (no barrier\n",
        "     * inside the loop); the answer is the same as stopping at the first */\n",
        "    clv_real parts[2 * CLV_NUTS_MAX_DEPTH + 2];\n",
        "    int n = 0;\n",
        "    for (int i = idx_max; i >= idx_min; --i) {\n",
        "        __global const clv_real *ckr = sc + CLV_NUTS__CKR + i * CLV_NUTS__D;\n",
        "        __global const clv_real *cks = sc + CLV_NUTS__CKS + i * CLV_NUTS__D;\n",
        "        clv_real left = 0, right = 0;\n",
        "        CLV_NUTS__FOR(k) {\n",
        "            const clv_real s = rsum[k] - cks[k] + ckr[k] - (clv_real)0.5 * (ckr[k] + r[k]);\n",
        "            left += m[k] * ckr[k] * s;\n",
        "            right += m[k] * r[k] * s;\n",
        "        }\n",
        "        parts[n++] = left;\n",
        "        parts[n++] = right;\n",
        "    }\n",
        "    clv_group_sum_n(parts, n, tmp);\n",
        "    for (int j = 0; j < n; j += 2)\n",
        "        if (parts[j] <= 0 || parts[j + 1] <= 0) return 1;\n",
        "    return 0;\n",
        "#else\n",
        "    for (int i = idx_max; i >= idx_min; --i) {\n",
        "        __global const clv_real *ckr = sc + CLV_NUTS__CKR + i * CLV_NUTS__D;\n",
        "        __global const clv_real *cks = sc + CLV_NUTS__CKS + i * CLV_NUTS__D;\n",
        "        clv_real left = 0, right = 0;\n",
        "        for (int k = 0; k < CLV_NUTS__D; ++k) {\n",
        "            const clv_real s = rsum[k] - cks[k] + ckr[k] - (clv_real)0.5 * (ckr[k] + r[k]);\n",
        "            left += m[k] * ckr[k] * s;\n",
        "            right += m[k] * r[k] * s;\n",
        "        }\n",
        "        if (left <= 0 || right <= 0) return 1;\n",
        "    }\n",
        "    return 0;\n",
        "#endif\n",
        "}\n",
        "\n",
        "/* ---- one NUTS transition ------------------------------------------------- */\n",
        "\n",
        "/* Build a subtree of 2^depth leaves off one end of the trajectory (NumPyro's\n",
        " * _iterative_build_subtree): leaves join the subtree's proposal by uniform\n",
        " * multinomial sampling; the walk stops early at a divergence or a U-turn of\n",
        " * any sub-subtree ending at the new leaf. The trajectory's end moves in\n",
        " * place: when the walk stops early the whole transition ends anyway. */\n",
        "clv_nuts__subtree clv_nuts__build_subtree(__global clv_real *sc, __global const clv_real *m, int depth,\n",
        "                                          int right, clv_real eps, clv_real e0, clv_real max_de,\n",
        "                                          __global const clv_real *data, clv_rng *rng,\n",
        "                                          clv_nuts__info *info CLV_NUTS__TMP)\n",
        "{\n",
        "    __global clv_real *z = sc + (right \? CLV_NUTS__ZR : CLV_NUTS__ZL);\n",
        "    __global clv_real *r = sc + (right \? CLV_NUTS__RR : CLV_NUTS__RL);\n",
        "    __global clv_real *g = sc + (right \? CLV_NUTS__GR : CLV_NUTS__GL);\n",
        "    __global clv_real *srsum = sc + CLV_NUTS__SRSUM;\n",
        "    const clv_real step = right \? eps : -eps;\n",
        "    clv_nuts__subtree t;\n",
        "    t.weight = -INFINITY;\n",
        "    t.logp = 0;\n",
        "    t.energy = 0;\n",
        "    t.turning = 0;\n",
        "    t.diverging = 0;\n",
        "    const int n_leaves = 1 << depth;\n",
        "    int go = 1;\n",
        "    for (int leaf = 0; go && leaf < n_leaves; ++leaf) {\n",
        "        int ok;\n",
        "        const clv_real lp = clv_nuts__leapfrog(z, r, g, m, step, data, &ok CLV_NUTS__T);\n",
        "        const clv_real energy = -lp + clv_nuts__kinetic(m, r CLV_NUTS__T);\n",
        "        clv_real delta = energy - e0;\n",
        "        if (!ok || isnan(delta)) delta = INFINITY; /* NumPyro: NaN energy is a divergence */\n",
        "        info->accept_sum += delta > 0 \? exp(-delta) : (clv_real)1;\n",
        "        info->n_leapfrog += 1;\n",
        "        const clv_real w = -delta;\n",
        "        const clv_real u = clv_uniform(rng);\n",
        "        const clv_real combined = clv_nuts__logaddexp(t.weight, w);\n",
        "        if (leaf == 0 || log(u) < w - combined) {\n",
        "            clv_nuts__copy(sc + CLV_NUTS__SZP, z);\n",
        "            clv_nuts__copy(sc + CLV_NUTS__SGP, g);\n",
        "            t.logp = lp;\n",
        "            t.energy = energy;\n",
        "        }\n",
        "        t.weight = combined;\n",
        "        CLV_NUTS__FOR(k) srsum[k] = (leaf == 0 \? 0 : srsum[k]) + r[k];\n",
        "        int idx_min, idx_max;\n",
        "        clv_nuts__ckpt_idxs(leaf, &idx_min, &idx_max);\n",
        "        if ((leaf & 1) == 0) {\n",
        "            clv_nuts__copy(sc + CLV_NUTS__CKR + idx_max * CLV_NUTS__D, r);\n",
        "            clv_nuts__copy(sc + CLV_NUTS__CKS + idx_max * CLV_NUTS__D, srsum);\n",
        "        }\n",
        "        /* asked even after a divergence (whose transition ends anyway, so\n",
        "         * the checkpoint written above is never read): a call that holds\n",
        "         * barriers under a condition makes PoCL's work-group compiler\n",
        "         * replicate code, exponentially in the number of such branches */\n",
        "        const int turning = clv_nuts__iterative_turning(m, r, srsum, sc, idx_min, idx_max CLV_NUTS__T);\n",
        "        if (delta > max_de) {\n",
        "            t.diverging = 1;\n",
        "            go = 0;\n",
        "        } else if (turning) {\n",
        "            t.turning = 1;\n",
        "            go = 0;\n",
        "        }\n",
        "    }\n",
        "    return t;\n",
        "}\n",
        "\n",
        "/* NumPyro's build_tree: double the trajectory in a random direction until it\n",
        " * turns, diverges or reaches max_depth. Subtrees join by biased progressive\n",
        " * sampling (Betancourt 2017, A.3.2): the new subtree's proposal is taken with\n",
        " * probability min(1, w_new / w_old), never from a turning or diverging one.\n",
        " * On return the state row holds the chosen point. */\n",
        "void clv_nuts__transition(__global clv_real *st, __global clv_real *sc, clv_real eps, int max_depth,\n",
        "                          clv_real max_de, __global const clv_real *data, clv_rng *rng,\n",
        "                          clv_nuts__info *info CLV_NUTS__TMP)\n",
        "{\n",
        "    __global const clv_real *m = st + CLV_NUTS__S_M;\n",
        "    clv_nuts__momentum(sc + CLV_NUTS__RL, m, rng);\n",
        "    CLV_NUTS__FOR(k) {\n",
        "        const clv_real z = st[CLV_NUTS__S_Z + k], g = st[CLV_NUTS__S_G + k], r = sc[CLV_NUTS__RL + k];\n",
        "        sc[CLV_NUTS__ZL + k] = sc[CLV_NUTS__ZR + k] = sc[CLV_NUTS__ZP + k] = z;\n",
        "        sc[CLV_NUTS__GL + k] = sc[CLV_NUTS__GR + k] = sc[CLV_NUTS__GP + k] = g;\n",
        "        sc[CLV_NUTS__RR + k] = sc[CLV_NUTS__RSUM + k] = r;\n",
        "    }\n",
        "    const clv_real lp0 = st[CLV_NUTS__S_LP];\n",
        "    const clv_real e0 = -lp0 + clv_nuts__kinetic(m, sc + CLV_NUTS__RL CLV_NUTS__T);\n",
        "    clv_real weight = 0, prop_lp = lp0;\n",
        "    info->accept_sum = 0;\n",
        "    info->n_leapfrog = 0;\n",
        "    info->depth = 0;\n",
        "    info->divergent = 0;\n",
        "    info->energy = e0;\n",
        "    int go = max_depth > 0;\n",
        "    while (go) { /* one exit and no barrier under a condition (see build_subtree) */\n",
        "        const int right = (int)(clv_rng_u32(rng) & 1u);\n",
        "        const clv_nuts__subtree t =\n",
        "            clv_nuts__build_subtree(sc, m, info->depth, right, eps, e0, max_de, data, rng, info CLV_NUTS__T);\n",
        "        const clv_real u = clv_uniform(rng);\n",
        "        if (!t.turning && !t.diverging && log(u) < t.weight - weight) {\n",
        "            clv_nuts__copy(sc + CLV_NUTS__ZP, sc + CLV_NUTS__SZP);\n",
        "            clv_nuts__copy(sc + CLV_NUTS__GP, sc + CLV_NUTS__SGP);\n",
        "            prop_lp = t.logp;\n",
        "            info->energy = t.energy;\n",
        "        }\n",
        "        weight = clv_nuts__logaddexp(weight, t.weight);\n",
        "        CLV_NUTS__FOR(k) sc[CLV_NUTS__RSUM + k] += sc[CLV_NUTS__SRSUM + k];\n",
        "        info->depth += 1;\n",
        "        const int turning = clv_nuts__turning(m, sc + CLV_NUTS__RL, sc + CLV_NUTS__RR, sc + CLV_NUTS__RSUM CLV_NUTS__T);\n",
        "        if (t.diverging) info->divergent = 1;\n",
        "        go = !t.diverging && !t.turning && !turning && info->depth < max_depth;\n",
        "    }\n",
        "    clv_nuts__copy(st + CLV_NUTS__S_Z, sc + CLV_NUTS__ZP);\n",
        "    clv_nuts__copy(st + CLV_NUTS__S_G, sc + CLV_NUTS__GP);\n",
        "    CLV_NUTS__SYNC(); /* every lane read st[S_LP] (lp0) before it changes */\n",
        "    if (CLV_NUTS__LEAD) st[CLV_NUTS__S_LP] = prop_lp;\n",
        "    CLV_NUTS__SYNC();\n",
        "}\n",
        "\n",
        "/* ---- adaptation (Stan) --------------------------------------------------- */\n",
        "\n",
        "/* H(z, r) - H(z', r') after one leapfrog step of size eps from z with fresh\n",
        " * momentum, using the left-end scratch; -inf when the step fails. */\n",
        "clv_real clv_nuts__trial_step(__global clv_real *st, __global clv_real *sc, clv_real eps,\n",
        "                              __global const clv_real *data, clv_rng *rng CLV_NUTS__TMP)\n",
        "{\n",
        "    __global const clv_real *m = st + CLV_NUTS__S_M;\n",
        "    __global clv_real *z = sc + CLV_NUTS__ZL, *r = sc + CLV_NUTS__RL, *g = sc + CLV_NUTS__GL;\n",
        "    clv_nuts__copy(z, st + CLV_NUTS__S_Z);\n",
        "    clv_nuts__copy(g, st + CLV_NUTS__S_G);\n",
        "    clv_nuts__momentum(r, m, rng);\n",
        "    const clv_real h0 = -st[CLV_NUTS__S_LP] + clv_nuts__kinetic(m, r CLV_NUTS__T);\n",
        "    int ok;\n",
        "    const clv_real lp = clv_nuts__leapfrog(z, r, g, m, eps, data, &ok CLV_NUTS__T);\n",
        "    const clv_real h = -lp + clv_nuts__kinetic(m, r CLV_NUTS__T);\n",
        "    return ok && !isnan(h) \? h0 - h : -INFINITY;\n",
        "}\n",
        "\n",
        "/* Stan's base_hmc::init_stepsize: double or halve eps until the acceptance\n",
        " * of one leapfrog step crosses 0.8. Bounded (Stan throws instead). */\n",
        "clv_real clv_nuts__init_step_size(__global clv_real *st, __global clv_real *sc, clv_real eps,\n",
        "                                  __global const clv_real *data, clv_rng *rng, int enabled CLV_NUTS__TMP)\n",
        "{\n",
        "    /* Step 0 picks the direction, steps 1 .. 100 move; one loop with one\n",
        "     * exit, run zero times when not enabled (no barrier under a condition:\n",
        "     * see build_subtree). */\n",
        "    const clv_real log08 = log((clv_real)0.8);\n",
        "    int up = 0, go = enabled;\n",
        "    for (int i = 0; go; ++i) {\n",
        "        const clv_real dh = clv_nuts__trial_step(st, sc, eps, data, rng CLV_NUTS__T);\n",
        "        if (i == 0) {\n",
        "            up = dh > log08;\n",
        "        } else if (up \? !(dh > log08) : !(dh < log08)) {\n",
        "            go = 0;\n",
        "        } else {\n",
        "            const clv_real next = up \? eps * 2 : eps * (clv_real)0.5;\n",
        "            if (next > (clv_real)1e7 || next < (clv_real)1e-12) go = 0;\n",
        "            else eps = next;\n",
        "        }\n",
        "        if (i == 100) go = 0;\n",
        "    }\n",
        "    return eps;\n",
        "}\n",
        "\n",
        "/* Stan's stepsize_adaptation::learn_stepsize (Nesterov dual averaging,\n",
        " * Hoffman & Gelman 2014, algorithm 5). */\n",
        "void clv_nuts__dual_average(__global clv_real *st, clv_real accept, __global const clv_real *config, int on)\n",
        "{\n",
        "    const clv_real n = st[CLV_NUTS__S_DAN] + 1;\n",
        "    accept = accept > 1 \? 1 : accept;\n",
        "    const clv_real eta = 1 / (n + config[CLV_NUTS__C_T0]);\n",
        "    const clv_real sbar = (1 - eta) * st[CLV_NUTS__S_SBAR] + eta * (config[CLV_NUTS__C_DELTA] - accept);\n",
        "    const clv_real x = st[CLV_NUTS__S_MU] - sbar * sqrt(n) / config[CLV_NUTS__C_GAMMA];\n",
        "    const clv_real x_eta = pow(n, -config[CLV_NUTS__C_KAPPA]);\n",
        "    const clv_real xbar = (1 - x_eta) * st[CLV_NUTS__S_XBAR] + x_eta * x;\n",
        "    CLV_NUTS__SYNC(); /* every lane has read the old values */\n",
        "    if (CLV_NUTS__LEAD && on) {\n",
        "        st[CLV_NUTS__S_DAN] = n;\n",
        "        st[CLV_NUTS__S_SBAR] = sbar;\n",
        "        st[CLV_NUTS__S_XBAR] = xbar;\n",
        "        st[CLV_NUTS__S_EPS] = exp(x);\n",
        "    }\n",
        "    CLV_NUTS__SYNC();\n",
        "}\n",
        "\n",
        "/* Stan's welford_var_estimator::add_sample (when on). */\n",
        "void clv_nuts__welford_add(__global clv_real *st, int on)\n",
        "{\n",
        "    const clv_real n = st[CLV_NUTS__S_WN] + 1;\n",
        "    CLV_NUTS__SYNC();\n",
        "    if (CLV_NUTS__LEAD && on) st[CLV_NUTS__S_WN] = n;\n",
        "    CLV_NUTS__SYNC(); /* end_window may read it next */\n",
        "    if (on) CLV_NUTS__FOR(k) {\n",
        "        const clv_real z = st[CLV_NUTS__S_Z + k];\n",
        "        const clv_real delta = z - st[CLV_NUTS__S_WMEAN + k];\n",
        "        st[CLV_NUTS__S_WMEAN + k] += delta / n;\n",
        "        st[CLV_NUTS__S_WM2 + k] += (z - st[CLV_NUTS__S_WMEAN + k]) * delta;\n",
        "    }\n",
        "}\n",
        "\n",
        "/* End of a metric window (Stan's windowed_adaptation / var_adaptation):\n",
        " * inverse metric = regularised sample variance, shrunk towards 1e-3 as\n",
        " * (n / (n + 5)) var + 1e-3 (5 / (n + 5)); then a fresh step size search\n",
        " * and a dual averaging restart around log(10 eps). */\n",
        "void clv_nuts__end_window(__global clv_real *st, __global clv_real *sc, __global const clv_real *config,\n",
        "                          __global const clv_real *data, clv_rng *rng, int on CLV_NUTS__TMP)\n",
        "{\n",
        "    const clv_real n = st[CLV_NUTS__S_WN];\n",
        "    if (on) {\n",
        "        if (n >= 2) {\n",
        "            CLV_NUTS__FOR(k) {\n",
        "                const clv_real var = st[CLV_NUTS__S_WM2 + k] / (n - 1);\n",
        "                st[CLV_NUTS__S_M + k] = (n / (n + 5)) * var + (clv_real)1e-3 * (5 / (n + 5));\n",
        "            }\n",
        "        }\n",
        "        CLV_NUTS__FOR(k) st[CLV_NUTS__S_WMEAN + k] = st[CLV_NUTS__S_WM2 + k] = 0;\n",
        "    }\n",
        "    clv_real eps = st[CLV_NUTS__S_EPS];\n",
        "    CLV_NUTS__SYNC();\n",
        "    if (CLV_NUTS__LEAD && on) st[CLV_NUTS__S_WN] = 0;\n",
        "    eps = clv_nuts__init_step_size(st, sc, eps, data, rng, on && config[CLV_NUTS__C_HEURISTIC] != 0 CLV_NUTS__T);\n",
        "    CLV_NUTS__SYNC();\n",
        "    if (CLV_NUTS__LEAD && on) {\n",
        "        st[CLV_NUTS__S_EPS] = eps;\n",
        "        st[CLV_NUTS__S_MU] = log(10 * eps);\n",
        "        st[CLV_NUTS__S_DAN] = st[CLV_NUTS__S_SBAR] = st[CLV_NUTS__S_XBAR] = 0;\n",
        "    }\n",
        "    CLV_NUTS__SYNC();\n",
        "}\n",
        "\n",
        "/* Every step is called in every iteration and acts only when its flag is\n",
        " * set: no barrier under a condition (see build_subtree). warm: a warmup\n",
        " * iteration (flags and last count only then). */\n",
        "void clv_nuts__adapt(__global clv_real *st, __global clv_real *sc, clv_real accept, int warm, int flags, int last,\n",
        "                     __global const clv_real *config, __global const clv_real *data, clv_rng *rng CLV_NUTS__TMP)\n",
        "{\n",
        "    const int adapt_eps = warm && config[CLV_NUTS__C_ADAPT_EPS] != 0;\n",
        "    clv_nuts__dual_average(st, accept, config, adapt_eps);\n",
        "    clv_nuts__welford_add(st, warm && (flags & CLV_NUTS__ADD) != 0);\n",
        "    clv_nuts__end_window(st, sc, config, data, rng, warm && (flags & CLV_NUTS__END) != 0 CLV_NUTS__T);\n",
        "    const clv_real eps = exp(st[CLV_NUTS__S_XBAR]);\n",
        "    CLV_NUTS__SYNC();\n",
        "    if (CLV_NUTS__LEAD && last && adapt_eps) st[CLV_NUTS__S_EPS] = eps;\n",
        "    CLV_NUTS__SYNC();\n",
        "}\n",
        "\n",
        "/* ---- kernels ------------------------------------------------------------- */\n",
        "\n",
        "/* Initial state of each chain: position from init (use_init) or uniform on\n",
        " * (-radius, radius)^D, retried up to 100 times until log p and its gradient\n",
        " * are finite (as Stan); code = tries used, or -1. RNG stream 0. */\n",
        "__kernel void clv_nuts__init(CLV_ITEMS,\n",
        "                             __global clv_real *state,        /* n_chains x STATE */\n",
        "                             __global const clv_real *init,   /* n_chains x D */\n",
        "                             __global int *code,              /* n_chains */\n",
        "                             __global const clv_real *config, /* replicated */\n",
        "                             __global const clv_real *data,\n",
        "                             __global clv_real *scratch,\n",
        "                             const int use_init,\n",
        "                             const int heuristic CLV_NUTS__TMP)\n",
        "{\n",
        "    CLV_GUARD();\n",
        "    const ulong c = clv_local();\n",
        "    __global clv_real *st = state + c * CLV_NUTS__STATE;\n",
        "    __global clv_real *sc = scratch + clv_slot() * (ulong)CLV_NUTS__SCRATCH;\n",
        "    clv_rng rng = clv_rng_init(clv_seed(), clv_item(), 0u);\n",
        "    const clv_real radius = config[CLV_NUTS__C_RADIUS];\n",
        "    int ok = 0, tries = 0;\n",
        "    while (!ok && tries < (use_init \? 1 : 100)) {\n",
        "        for (int k = 0; k < CLV_NUTS__D; ++k) { /* every lane draws every number, keeps its own */\n",
        "            const clv_real z = use_init \? init[c * CLV_NUTS__D + k] : radius * (2 * clv_uniform(&rng) - 1);\n",
        "            if (CLV_NUTS__MINE(k)) st[CLV_NUTS__S_Z + k] = z;\n",
        "        }\n",
        "        const clv_real lp = clv_nuts__eval(st + CLV_NUTS__S_Z, st + CLV_NUTS__S_G, data, &ok CLV_NUTS__T);\n",
        "        if (CLV_NUTS__LEAD) st[CLV_NUTS__S_LP] = lp;\n",
        "        ++tries;\n",
        "    }\n",
        "    CLV_NUTS__FOR(k) {\n",
        "        st[CLV_NUTS__S_M + k] = 1;\n",
        "        st[CLV_NUTS__S_WMEAN + k] = st[CLV_NUTS__S_WM2 + k] = 0;\n",
        "    }\n",
        "    CLV_NUTS__SYNC(); /* st[S_LP] and the metric, for the step size search */\n",
        "    clv_real eps = config[CLV_NUTS__C_EPS0];\n",
        "    if (CLV_NUTS__LEAD) st[CLV_NUTS__S_MU] = log(10 * eps); /* Stan: set_mu(log(10 * stepsize)) before the search */\n",
        "    eps = clv_nuts__init_step_size(st, sc, eps, data, &rng, ok && heuristic CLV_NUTS__T);\n",
        "    if (CLV_NUTS__LEAD) {\n",
        "        st[CLV_NUTS__S_EPS] = eps;\n",
        "        st[CLV_NUTS__S_XBAR] = st[CLV_NUTS__S_SBAR] = st[CLV_NUTS__S_DAN] = st[CLV_NUTS__S_WN] = 0;\n",
        "        st[CLV_NUTS__S_WN + 1] = 0;\n",
        "        code[c] = ok \? tries : -1;\n",
        "    }\n",
        "}\n",
        "\n",
        "/* Iterations first .. first + n_iter - 1 of every chain. Iteration t draws\n",
        " * from RNG stream t + 1 of the chain, so a chain's draws do not depend on how\n",
        " * iterations are cut into launches, nor on the chunk or device. */\n",
        "__kernel void clv_nuts__run(CLV_ITEMS,\n",
        "                            __global clv_real *state,          /* n_chains x STATE */\n",
        "                            __global clv_real *draws,          /* n_chains x block x D */\n",
        "                            __global clv_real *stats,          /* n_chains x block x N_STATS */\n",
        "                            __global const int *schedule,      /* replicated, num_warmup flags */\n",
        "                            __global const clv_real *config,   /* replicated */\n",
        "                            __global const clv_real *data,\n",
        "                            __global clv_real *scratch,\n",
        "                            const int first, const int n_iter, const int block,\n",
        "                            const int num_warmup, const int max_depth CLV_NUTS__TMP)\n",
        "{\n",
        "    CLV_GUARD();\n",
        "    const ulong c = clv_local();\n",
        "    __global clv_real *st = state + c * CLV_NUTS__STATE;\n",
        "    __global clv_real *sc = scratch + clv_slot() * (ulong)CLV_NUTS__SCRATCH;\n",
        "    const clv_real max_de = config[CLV_NUTS__C_MAX_DE];\n",
        "    for (int j = 0; j < n_iter; ++j) {\n",
        "        const int t = first + j;\n",
        "        clv_rng rng = clv_rng_init(clv_seed(), clv_item(), (uint)t + 1u);\n",
        "        const clv_real eps = st[CLV_NUTS__S_EPS];\n",
        "        clv_nuts__info info;\n",
        "        clv_nuts__transition(st, sc, eps, max_depth, max_de, data, &rng, &info CLV_NUTS__T);\n",
        "        __global clv_real *d = draws + (c * block + j) * CLV_NUTS__D;\n",
        "        clv_nuts__copy(d, st + CLV_NUTS__S_Z);\n",
        "        __global clv_real *s = stats + (c * block + j) * CLV_NUTS__N_STATS;\n",
        "        const clv_real accept = info.n_leapfrog > 0 \? info.accept_sum / info.n_leapfrog : 0;\n",
        "        if (CLV_NUTS__LEAD) {\n",
        "            s[0] = st[CLV_NUTS__S_LP];\n",
        "            s[1] = accept;\n",
        "            s[2] = eps;\n",
        "            s[3] = info.depth;\n",
        "            s[4] = info.n_leapfrog;\n",
        "            s[5] = info.divergent;\n",
        "            s[6] = info.energy;\n",
        "        }\n",
        "        const int warm = t < num_warmup;\n",
        "        clv_nuts__adapt(st, sc, accept, warm, warm \? schedule[t] : 0, t == num_warmup - 1, config, data,\n",
        "                        &rng CLV_NUTS__T);\n",
        "        CLV_NUTS__SYNC(); /* the next iteration reads st[S_EPS] */\n",
        "    }\n",
        "}\n",
        "\n",
        "/* The user's gradient and central differences at given points: out holds\n",
        " * log p, then the D analytic partials, then the D numerical ones. */\n",
        "__kernel void clv_nuts__gradcheck(CLV_ITEMS,\n",
        "                                  __global const clv_real *points, /* n x D */\n",
        "                                  __global clv_real *out,          /* n x (1 + 2 D) */\n",
        "                                  __global const clv_real *config,\n",
        "                                  __global const clv_real *data,\n",
        "                                  __global clv_real *scratch CLV_NUTS__TMP)\n",
        "{\n",
        "    CLV_GUARD();\n",
        "    const ulong i = clv_local();\n",
        "    __global clv_real *x = scratch + clv_slot() * (ulong)CLV_NUTS__SCRATCH;\n",
        "    __global clv_real *g = x + CLV_NUTS__D;\n",
        "    __global clv_real *o = out + i * (1 + 2 * CLV_NUTS__D);\n",
        "    clv_nuts__copy(x, points + i * CLV_NUTS__D);\n",
        "    CLV_NUTS__SYNC();\n",
        "    const clv_real lp = logdensity(x, g, data CLV_NUTS__T);\n",
        "    CLV_NUTS__SYNC();\n",
        "    if (CLV_NUTS__LEAD) o[0] = lp;\n",
        "    CLV_NUTS__FOR(k) o[1 + k] = g[k];\n",
        "    for (int k = 0; k < CLV_NUTS__D; ++k) { /* the lane that owns x[k] moves it, between barriers */\n",
        "        const clv_real xk = x[k];\n",
        "        const clv_real h = config[CLV_NUTS__C_FD_STEP] * fmax((clv_real)1, fabs(xk));\n",
        "        CLV_NUTS__SYNC();\n",
        "        if (CLV_NUTS__MINE(k)) x[k] = xk + h;\n",
        "        CLV_NUTS__SYNC();\n",
        "        const clv_real up = logdensity(x, g, data CLV_NUTS__T);\n",
        "        CLV_NUTS__SYNC();\n",
        "        if (CLV_NUTS__MINE(k)) x[k] = xk - h;\n",
        "        CLV_NUTS__SYNC();\n",
        "        const clv_real down = logdensity(x, g, data CLV_NUTS__T);\n",
        "        CLV_NUTS__SYNC();\n",
        "        if (CLV_NUTS__MINE(k)) {\n",
        "            x[k] = xk;\n",
        "            o[1 + CLV_NUTS__D + k] = (up - down) / (2 * h);\n",
        "        }\n",
        "    }\n",
        "}\n",
        "\n",
        "#if defined(CLV_NUTS_N_GENERATED) && CLV_NUTS_N_GENERATED > 0\n",
        "/* The generated quantities of a block's draws: one work item per chain\n",
        " * calls generated on each of its n_iter draws (the layout of\n",
        " * clv_nuts__run's draws). A pure function of each draw, so the values do\n",
        " * not depend on the chunk or the device. */\n",
        "__kernel void clv_nuts__generated(CLV_ITEMS,\n",
        "                                  __global const clv_real *draws, /* n_chains x block x D */\n",
        "                                  __global clv_real *out,         /* n_chains x block x N_GENERATED */\n",
        "                                  __global const clv_real *data,\n",
        "                                  const int n_iter, const int block)\n",
        "{\n",
        "    CLV_GUARD();\n",
        "    const ulong c = clv_local();\n",
        "    for (int j = 0; j < n_iter; ++j)\n",
        "        generated(draws + (c * block + j) * CLV_NUTS__D, out + (c * block + j) * CLV_NUTS_N_GENERATED, data);\n",
        "}\n",
        "#endif\n",
    };
    if (n_lines) *n_lines = sizeof lines / sizeof lines[0];
    return lines;
}
/* END EMBEDDED kernels/nuts.cl */

/* ---- the sampler -------------------------------------------------------- */

static inline const char *clv_nuts_message(const clv_nuts *s)
{
    return s ? s->message : "no sampler (host out of memory, or NULL passed)";
}

static inline int clv_nuts_dim(const clv_nuts *s) { return s ? s->dim : 0; }

static inline void clv_nuts_free(clv_nuts *s)
{
    if (!s) return;
    clv_array_free(s->data);
    clv_program_free(s->program);
    CLV_FREE(s->generated_names);
    CLV_FREE(s);
}

/* n names in one allocation: the pointers, then the strings (free with
 * one CLV_FREE). NULL when host memory ran out. */
static inline char **clv_nuts__copy_names(const char *const *names, int n)
{
    size_t bytes = (size_t)n * sizeof(char *);
    for (int k = 0; k < n; ++k) bytes += strlen(names[k]) + 1;
    char **out = (char **)clv_calloc(1, bytes);
    if (!out) return NULL;
    char *at = (char *)(out + n);
    for (int k = 0; k < n; ++k) {
        size_t len = strlen(names[k]) + 1;
        memcpy(at, names[k], len);
        out[k] = at;
        at += len;
    }
    return out;
}

/* Whether source mentions the identifier `name` followed by '(' (a
 * definition or a call: enough to say that a model forgot it; a wrong
 * definition is the compiler's to report). */
static inline int clv_nuts__mentions_function(const char *source, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(source, name); p; p = strstr(p + 1, name)) {
        int before = p > source && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
        const char *q = p + n;
        if (before || isalnum((unsigned char)*q) || *q == '_') continue;
        while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') ++q;
        if (*q == '(') return 1;
    }
    return 0;
}

typedef struct clv_nuts__named {
    const char *name;
    int index;
} clv_nuts__named;

static inline int clv_nuts__by_name(const void *a, const void *b)
{
    const clv_nuts__named *x = (const clv_nuts__named *)a, *y = (const clv_nuts__named *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* No name twice, by sorting (n may be 2^20): the first repeat found is
 * reported with both indices. */
static inline clv_status clv_nuts__check_distinct(clv_nuts *s, const char *const *names, int n)
{
    clv_nuts__named *sorted = (clv_nuts__named *)clv_calloc((size_t)n, sizeof *sorted);
    if (!sorted) return clv_nuts__fail(s, CLV_ERROR_OUT_OF_MEMORY, "clv_nuts_new: out of host memory");
    for (int k = 0; k < n; ++k) {
        sorted[k].name = names[k];
        sorted[k].index = k;
    }
    qsort(sorted, (size_t)n, sizeof *sorted, clv_nuts__by_name);
    clv_status st = CLV_OK;
    for (int k = 1; k < n && st == CLV_OK; ++k)
        if (strcmp(sorted[k - 1].name, sorted[k].name) == 0)
            st = clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_new: generated_names[%d] and [%d] are both "
                                "\"%s\"", sorted[k - 1].index, sorted[k].index, sorted[k].name);
    CLV_FREE(sorted);
    return st;
}

/* n_generated and its names: 0 .. 2^20 values, each named once. */
static inline clv_status clv_nuts__check_generated(clv_nuts *s, const clv_nuts_model *p)
{
    const char *const *names = p->generated_names;
    if (p->n_generated < 0 || p->n_generated > (1 << 20))
        return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_new: n_generated is %d; it must be 0 .. 2^20",
                              p->n_generated);
    if (p->n_generated == 0 && names)
        return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_new: generated_names given but n_generated "
                              "is 0");
    if (p->n_generated == 0) return CLV_OK;
    if (!names)
        return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_new: n_generated is %d but generated_names "
                              "is NULL (give a name to each generated quantity)", p->n_generated);
    for (int k = 0; k < p->n_generated; ++k) {
        if (!names[k] || !names[k][0] || strlen(names[k]) > 200 || strpbrk(names[k], "\"\r\n"))
            return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_new: generated_names[%d] is %s; a name "
                                  "is 1 .. 200 characters without quotes or newlines", k,
                                  names[k] ? "not a usable name" : "NULL");
    }
    clv_status st = clv_nuts__check_distinct(s, names, p->n_generated);
    if (st != CLV_OK) return st;
    if (!clv_nuts__mentions_function(p->source, "generated"))
        return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_new: n_generated is %d but the model's "
                              "source does not define generated(__global const clv_real *z, __global clv_real "
                              "*out, __global const clv_real *data)", p->n_generated);
    return CLV_OK;
}

static inline clv_status clv_nuts__check_model(clv_nuts *s, const clv_nuts_model *p)
{
    if (!p || !p->source)
        return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_new: model and model->source must not be NULL");
    if (p->dim < 1 || p->dim > (1 << 20))
        return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_new: dim is %d; it must be 1 .. 2^20",
                              p->dim);
    if (p->max_depth < 0 || p->max_depth > 30)
        return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_new: max_depth %d is not 0 .. 30",
                              p->max_depth);
    if (p->name && (strlen(p->name) > 200 || strpbrk(p->name, "\"\\\n")))
        return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_new: model->name must be at most 200 "
                              "characters without quotes, backslashes or newlines");
    return clv_nuts__check_generated(s, p);
}

/* kernels/nuts.cl, a #line that names the model's file, then its source,
 * and the model's data (clv_library_build). */
static inline clv_status clv_nuts__build(clv_nuts *s, const clv_nuts_model *p)
{
    char options[2048], generated[64] = "";
    if (p->n_generated > 0) snprintf(generated, sizeof generated, " -DCLV_NUTS_N_GENERATED=%d", p->n_generated);
    int w = snprintf(options, sizeof options, "-DCLV_NUTS_DIM=%d -DCLV_NUTS_MAX_DEPTH=%d%s%s %s", p->dim,
                     s->max_depth, p->cooperative ? " -DCLV_NUTS_GROUP" : "", generated,
                     p->options ? p->options : "");
    if (w < 0 || (size_t)w >= sizeof options)
        return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_new: model->options is too long");
    clv_library_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.lines = clv_nuts_kernel_lines(&desc.n_lines);
    desc.library_name = "kernels/nuts.cl";
    desc.source = p->source;
    desc.name = p->name ? p->name : "model.cl";
    desc.options = options;
    desc.real = p->f32 ? CLV_F32 : CLV_F64;
    desc.data = p->data;
    desc.n_data = p->n_data;
    clv_status st = clv_library_build(s->mesh, &desc, &s->program, &s->data, s->message, sizeof s->message,
                                      "clv_nuts_new");
    if (st == CLV_ERROR_NO_FP64)
        return clv_nuts__fail(s, st, "clv_nuts_new: %s (for float, set clv_nuts_model.f32)", clv_mesh_message(s->mesh));
    return st;
}

static inline clv_status clv_nuts_new(clv_nuts **out, clv_mesh *m, const clv_nuts_model *model)
{
    if (!out) return CLV_ERROR_INVALID_ARGUMENT;
    clv_nuts *s = (clv_nuts *)clv_calloc(1, sizeof *s);
    *out = s;
    if (!s) return CLV_ERROR_OUT_OF_MEMORY;
    s->mesh = m;
    if (clv_mesh_device_count(m) < 1)
        return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_new: the mesh is NULL or did not open: %s",
                              clv_mesh_message(m));
    clv_status st = clv_nuts__check_model(s, model);
    if (st != CLV_OK) return st;
    s->dim = model->dim;
    s->f32 = model->f32 != 0;
    s->max_depth = model->max_depth > 0 ? model->max_depth : 10;
    s->cooperative = model->cooperative != 0;
    s->n_generated = model->n_generated;
    if (s->n_generated > 0 && !(s->generated_names = clv_nuts__copy_names(model->generated_names, s->n_generated)))
        return clv_nuts__fail(s, CLV_ERROR_OUT_OF_MEMORY, "clv_nuts_new: out of host memory");
    return clv_nuts__build(s, model);
}

/* ---- a run: options and the warmup schedule --------------------------------- */

/* PoCL 3.1 aborts the process (an assertion in its ParallelRegion.cc)
 * when it builds the cooperative NUTS kernels for work groups of 1 or 2
 * work items; 3 and more, and other runtimes, are fine. */
static inline int clv_nuts__mesh_has_pocl(const clv_mesh *m)
{
    for (int d = 0; d < clv_mesh_device_count(m); ++d) {
        clv_device_info info;
        if (clv_mesh_device_info(m, d, &info) == CLV_OK && strstr(info.platform, "Portable Computing Language"))
            return 1;
    }
    return 0;
}

/* Apply the defaults (in one place) and refuse what cannot run. */
static inline clv_status clv_nuts__resolve(clv_nuts *s, const clv_nuts_opts *in, clv_nuts_opts *o)
{
    memset(o, 0, sizeof *o);
    if (in) *o = *in;
    if (o->n_chains < 0 || o->num_draws < 0 || o->max_depth < 0 || o->block < 0)
        return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_run: n_chains (%d), num_draws (%d), "
                              "max_depth (%d) and block (%d) must not be negative (0 means the default)",
                              o->n_chains, o->num_draws, o->max_depth, o->block);
    char *m = s->message;
    size_t size = sizeof s->message;
    clv_status st = clv_check_chunk(m, size, "clv_nuts_run: chunk", o->chunk);
    if (st == CLV_OK)
        st = clv_check_number(m, size, "clv_nuts_run: target_accept (0: the default 0.8)", o->target_accept, 0, 1);
    if (st == CLV_OK && o->target_accept == 1)
        st = clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_run: target_accept is 1; it must be below 1 "
                            "(0: the default 0.8)");
    if (st == CLV_OK)
        st = clv_check_number(m, size, "clv_nuts_run: step_size (0: the default 1)", o->step_size, 0, HUGE_VAL);
    if (st == CLV_OK)
        st = clv_check_number(m, size, "clv_nuts_run: max_energy_error (0: the default 1000)", o->max_energy_error,
                              0, HUGE_VAL);
    if (st == CLV_OK)
        st = clv_check_number(m, size, "clv_nuts_run: init_radius (0: the default 2)", o->init_radius, 0,
                              HUGE_VAL);
    if (st != CLV_OK) return st;
    if (o->n_chains == 0) o->n_chains = 4;
    if (o->num_warmup == 0) o->num_warmup = 1000;
    if (o->num_warmup < 0) o->num_warmup = 0;
    if (o->num_draws == 0) o->num_draws = 1000;
    if (o->max_depth == 0) o->max_depth = s->max_depth < 10 ? s->max_depth : 10;
    if (o->target_accept == 0) o->target_accept = 0.8;
    if (o->step_size == 0) o->step_size = 1;
    if (o->max_energy_error == 0) o->max_energy_error = 1000;
    if (o->init_radius == 0) o->init_radius = 2;
    if (o->block == 0) o->block = 100;
    if (o->local_size == 0 && !s->cooperative) o->local_size = 1; /* cooperative: the core's default */
    if (s->cooperative && (o->local_size == 1 || o->local_size == 2) && clv_nuts__mesh_has_pocl(s->mesh))
        return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_run: local_size %zu with a cooperative "
                              "model on a PoCL device: PoCL 3.1's work-group compiler aborts the process building "
                              "the NUTS kernels for 1 or 2 lanes per chain (an assertion in ParallelRegion.cc); "
                              "use 0 (the default) or 3 and more", o->local_size);
    if (o->max_depth > s->max_depth)
        return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_run: max_depth %d exceeds the model's "
                              "max_depth %d (set clv_nuts_model.max_depth)", o->max_depth, s->max_depth);
    if ((int64_t)o->num_warmup + o->num_draws > 0x7FFFFFFE)
        return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_run: too many iterations");
    return CLV_OK;
}

/* Stan's windowed_adaptation: flags[t] says whether warmup draw t feeds the
 * variance estimate and whether a window ends after it. Windows: an init
 * buffer of 75, then 25, 50, 100, ... with the last one stretched to the
 * term buffer of 50; 15% / 75% / 10% when 75 + 25 + 50 > num_warmup; none
 * below 20 iterations (Stan's windowed_adaptation.hpp). */
static inline void clv_nuts__schedule(int num_warmup, int *flags)
{
    int init = 75, term = 50, base = 25;
    for (int t = 0; t < num_warmup; ++t) flags[t] = 0;
    if (num_warmup < 20) return;
    if (init + term + base > num_warmup) {
        init = (int)(0.15 * num_warmup);
        term = (int)(0.1 * num_warmup);
        base = num_warmup - (init + term);
    }
    int size = base, next = init + size - 1;
    const int last = num_warmup - term - 1;
    for (int t = 0; t < num_warmup; ++t) {
        if (t >= init && t < num_warmup - term) flags[t] |= CLV_NUTS__ADD;
        if (t != next) continue;
        flags[t] |= CLV_NUTS__END;
        if (next == last) continue;
        size *= 2;
        next = t + size;
        if (next != last && next + 2 * size >= num_warmup - term) next = last;
    }
}

static inline void clv_nuts__config(const clv_nuts_opts *o, int f32, double *c)
{
    c[0] = o->target_accept;
    c[1] = 0.05;  /* gamma, Stan's default */
    c[2] = 10;    /* t0 */
    c[3] = 0.75;  /* kappa */
    c[4] = o->max_energy_error;
    c[5] = o->init_radius;
    c[6] = o->step_size;
    c[7] = !o->no_step_size_search;
    c[8] = f32 ? 1e-2 : 1e-5;
    c[9] = o->num_warmup > 0;
}

/* ---- a run: device state -------------------------------------------------- */

typedef struct clv_nuts__run_state {
    clv_nuts *s;
    clv_nuts_opts o;
    int total;
    size_t n_chains, d, g; /* g: generated values per draw */
    clv_array *state, *init, *code, *config, *schedule, *draws, *stats, *generated;
    double *block_draws, *block_stats, *block_generated, *state_host;
    double started, warmup_done; /* wall-clock seconds (clv_nuts__seconds) */
    int *flags, *codes;
    int n_devices;
    size_t *device_first, *device_count;
    uint64_t *device_divergent;
    double *device_seconds;
} clv_nuts__run_state;

static inline void clv_nuts__run_free(clv_nuts__run_state *t)
{
    clv_array *arrays[] = { t->state, t->init, t->code, t->config, t->schedule, t->draws, t->stats, t->generated };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; ++i) clv_array_free(arrays[i]);
    CLV_FREE(t->block_draws);
    CLV_FREE(t->block_generated);
    CLV_FREE(t->block_stats);
    CLV_FREE(t->state_host);
    CLV_FREE(t->flags);
    CLV_FREE(t->codes);
    CLV_FREE(t->device_first);
    CLV_FREE(t->device_count);
    CLV_FREE(t->device_divergent);
    CLV_FREE(t->device_seconds);
}

/* Host bytes of a run: clv_nuts__host_alloc's and clv_nuts__result_alloc's
 * arrays. */
static inline uint64_t clv_nuts__host_bytes(const clv_nuts__run_state *t)
{
    uint64_t c = t->n_chains, d = t->d, g = t->g, b = (uint64_t)t->o.block, n = (uint64_t)t->o.num_draws, sum = 0;
    sum = clv_bytes_add(sum, c, b, (d + g + CLV_NUTS__N_STATS) * sizeof(double)); /* a block's draws, stats */
    sum = clv_bytes_add(sum, c, n, g * sizeof(double));                     /* the generated values */
    sum = clv_bytes_add(sum, c, CLV_NUTS__STATE_ELEMS(d), sizeof(double));  /* the state rows */
    sum = clv_bytes_add(sum, (uint64_t)t->o.num_warmup + 1 + c, 1, sizeof(int)); /* flags, codes */
    sum = clv_bytes_add(sum, c, n, d * sizeof(double));                     /* the draws */
    sum = clv_bytes_add(sum, c, n, 5 * sizeof(double) + 3 * sizeof(int));  /* their statistics */
    return clv_bytes_add(sum, c, d + 1, sizeof(double) + sizeof(int));      /* metric, step size, tries */
}

/* Device bytes of a device holding `chains` chains: their state, initial
 * points, codes and a block of draws and statistics, the replicated
 * configuration, schedule and data, and one chain's scratch (the least any
 * chunk needs); the largest single buffer in *largest. */
static inline uint64_t clv_nuts__device_bytes(const clv_nuts__run_state *t, uint64_t chains, uint64_t *largest)
{
    uint64_t rs = clv_nuts__real_size(t->s), d = t->d, b = (uint64_t)t->o.block, sum = 0;
    size_t n_data = 1;
    clv_array_shape(t->s->data, NULL, NULL, &n_data, NULL);
    uint64_t buffers[8];
    buffers[7] = clv_bytes_add(0, chains, b, (uint64_t)t->g * rs);
    buffers[0] = clv_bytes_add(0, chains, CLV_NUTS__STATE_ELEMS(d), rs);
    buffers[1] = clv_bytes_add(0, chains, d, rs);
    buffers[2] = clv_bytes_add(0, chains, b, d * rs);
    buffers[3] = clv_bytes_add(0, chains, b, CLV_NUTS__N_STATS * rs);
    buffers[4] = clv_bytes_add(0, (uint64_t)t->o.num_warmup + 1, 1, sizeof(int32_t));
    buffers[5] = clv_bytes_add(0, CLV_NUTS__SCRATCH_ELEMS(d, t->s->max_depth), 1, rs);
    buffers[6] = clv_bytes_add(0, n_data, 1, rs);
    *largest = 0;
    for (int i = 0; i < 8; ++i) {
        sum = clv_bytes_add(sum, buffers[i], 1, 1);
        if (buffers[i] > *largest) *largest = buffers[i];
    }
    sum = clv_bytes_add(sum, chains, sizeof(int32_t), 1);  /* codes */
    return clv_bytes_add(sum, CLV_NUTS__N_CONFIG, rs, 1); /* the configuration */
}

/* Refuse, before anything is allocated, a run that cannot fit a device's
 * memory or largest allocation, or the host's memory. */
static inline clv_status clv_nuts__check_sizes(clv_nuts__run_state *t)
{
    clv_nuts *s = t->s;
    int nd = t->n_devices;
    size_t *split = (size_t *)clv_calloc(2 * (size_t)nd, sizeof(size_t));
    if (!split) return clv_nuts__fail(s, CLV_ERROR_OUT_OF_MEMORY, "clv_nuts_run: out of host memory");
    clv_status st = clv_mesh_split_items(s->mesh, t->n_chains, split, split + nd);
    if (st != CLV_OK) st = clv_nuts__fail_core(s, st, "clv_nuts_run: splitting chains");
    for (int i = 0; st == CLV_OK && i < nd; ++i) {
        clv_device_info info;
        uint64_t largest = 0, need = clv_nuts__device_bytes(t, split[nd + i], &largest);
        if (clv_mesh_device_info(s->mesh, i, &info) != CLV_OK || info.lost || split[nd + i] == 0) continue;
        if (largest > info.max_alloc_bytes)
            st = clv_nuts__fail(s, CLV_ERROR_OUT_OF_MEMORY, "clv_nuts_run: n_chains %d (%zu on device %d, %s) with "
                                "dim %zu and block %d need a buffer of %llu bytes, above the %llu bytes the "
                                "device can allocate at once (CL_DEVICE_MAX_MEM_ALLOC_SIZE); use fewer chains, "
                                "a smaller block or more devices", t->o.n_chains, split[nd + i], i, info.name, t->d,
                                t->o.block, (unsigned long long)largest, (unsigned long long)info.max_alloc_bytes);
        else if (need > info.global_mem_bytes)
            st = clv_nuts__fail(s, CLV_ERROR_OUT_OF_MEMORY, "clv_nuts_run: n_chains %d (%zu on device %d, %s) with "
                                "dim %zu, block %d and num_warmup %d need %llu bytes of device memory, but the "
                                "device has %llu bytes (CL_DEVICE_GLOBAL_MEM_SIZE); use fewer chains, a smaller "
                                "block or more devices", t->o.n_chains, split[nd + i], i, info.name, t->d,
                                t->o.block, t->o.num_warmup, (unsigned long long)need,
                                (unsigned long long)info.global_mem_bytes);
    }
    CLV_FREE(split);
    if (st != CLV_OK) return st;
    char what[200];
    snprintf(what, sizeof what, "clv_nuts_run: n_chains %d x num_draws %d draws of dim %zu (and a block of %d)",
             t->o.n_chains, t->o.num_draws, t->d, t->o.block);
    return clv_nuts__check_host(s, clv_nuts__host_bytes(t), what);
}

/* Every size product below is bounded: clv_nuts__check_sizes refused the
 * run unless their sum fits in size_t. */
static inline clv_status clv_nuts__host_alloc(clv_nuts__run_state *t)
{
    size_t c = t->n_chains, d = t->d, b = (size_t)t->o.block, nd = (size_t)t->n_devices;
    t->block_draws = (double *)clv_calloc(c * b * d, sizeof(double));
    t->block_stats = (double *)clv_calloc(c * b * CLV_NUTS__N_STATS, sizeof(double));
    t->block_generated = t->g ? (double *)clv_calloc(c * b * t->g, sizeof(double)) : NULL;
    t->state_host = (double *)clv_calloc(c * CLV_NUTS__STATE_ELEMS(d), sizeof(double));
    t->flags = (int *)clv_calloc((size_t)t->o.num_warmup + 1, sizeof(int));
    t->codes = (int *)clv_calloc(c, sizeof(int));
    t->device_first = (size_t *)clv_calloc(nd, sizeof(size_t));
    t->device_count = (size_t *)clv_calloc(nd, sizeof(size_t));
    t->device_divergent = (uint64_t *)clv_calloc(nd, sizeof(uint64_t));
    t->device_seconds = (double *)clv_calloc(nd, sizeof(double));
    if (!t->block_draws || !t->block_stats || !t->state_host || !t->flags || !t->codes || !t->device_first ||
        !t->device_count || !t->device_divergent || !t->device_seconds || (t->g && !t->block_generated))
        return clv_nuts__fail(t->s, CLV_ERROR_OUT_OF_MEMORY, "clv_nuts_run: out of host memory");
    return CLV_OK;
}

static inline clv_status clv_nuts__device_alloc(clv_nuts__run_state *t)
{
    clv_nuts *s = t->s;
    clv_dtype real = s->f32 ? CLV_F32 : CLV_F64;
    size_t c = t->n_chains, d = t->d, b = (size_t)t->o.block;
    clv_status st = clv_array_new(&t->state, s->mesh, real, c, CLV_NUTS__STATE_ELEMS(d), CLV_SHARDED);
    if (st == CLV_OK) st = clv_array_new(&t->init, s->mesh, real, c, d, CLV_SHARDED);
    if (st == CLV_OK) st = clv_array_new(&t->code, s->mesh, CLV_I32, c, 1, CLV_SHARDED);
    if (st == CLV_OK) st = clv_array_new(&t->config, s->mesh, real, CLV_NUTS__N_CONFIG, 1, CLV_REPLICATED);
    if (st == CLV_OK)
        st = clv_array_new(&t->schedule, s->mesh, CLV_I32, (size_t)t->o.num_warmup + 1, 1, CLV_REPLICATED);
    if (st == CLV_OK) st = clv_array_new(&t->draws, s->mesh, real, c, b * d, CLV_SHARDED);
    if (st == CLV_OK) st = clv_array_new(&t->stats, s->mesh, real, c, b * CLV_NUTS__N_STATS, CLV_SHARDED);
    if (st == CLV_OK && t->g) st = clv_array_new(&t->generated, s->mesh, real, c, b * t->g, CLV_SHARDED);
    if (st != CLV_OK) return clv_nuts__fail_core(s, st, "clv_nuts_run: allocating the chains' arrays");
    return CLV_OK;
}

static inline clv_status clv_nuts__upload(clv_nuts__run_state *t)
{
    clv_nuts *s = t->s;
    double config[CLV_NUTS__N_CONFIG];
    clv_nuts__config(&t->o, s->f32, config);
    clv_nuts__schedule(t->o.num_warmup, t->flags);
    clv_status st = clv_array_write_f64(t->config, config);
    if (st == CLV_OK) st = clv_array_write(t->schedule, t->flags);
    if (st == CLV_OK && t->o.init) st = clv_array_write_f64(t->init, t->o.init);
    if (st != CLV_OK) return clv_nuts__fail_core(s, st, "clv_nuts_run: uploading the configuration");
    return CLV_OK;
}

static inline clv_map_opts clv_nuts__map_opts(const clv_nuts__run_state *t)
{
    clv_map_opts mo;
    memset(&mo, 0, sizeof mo);
    mo.chunk = t->o.chunk;
    mo.local_size = t->o.local_size;
    mo.seed = t->o.seed;
    mo.item_offset = t->o.first_chain;
    if (t->s->cooperative) mo.shape = CLV_ITEM_PER_GROUP;
    return mo;
}

/* Cooperative models: the kernels' last argument, the group's __local tmp
 * (CLV_NUTS_TMP values per lane). */
static inline clv_status clv_nuts__group_arg(clv_nuts *s, const char *kernel, const clv_map_opts *mo, clv_arg *args,
                                             int *n)
{
    size_t lanes = 0;
    if (!s->cooperative) return CLV_OK;
    clv_status st = clv_map_local_size(s->program, kernel, mo, &lanes);
    if (st != CLV_OK) return clv_nuts__fail_core(s, st, "clv_nuts: the cooperative model's work-group size");
    size_t per_lane = (size_t)(s->dim > 2 * s->max_depth + 2 ? s->dim : 2 * s->max_depth + 2); /* CLV_NUTS_TMP */
    args[(*n)++] = clv_local_mem(lanes * per_lane * clv_nuts__real_size(s));
    return CLV_OK;
}

static inline clv_status clv_nuts__init_chains(clv_nuts__run_state *t)
{
    clv_nuts *s = t->s;
    clv_map_opts mo = clv_nuts__map_opts(t);
    clv_arg args[9];
    int n = 8;
    args[0] = clv_inout(t->state);
    args[1] = clv_in(t->init);
    args[2] = clv_out(t->code);
    args[3] = clv_in(t->config);
    args[4] = clv_in(s->data);
    args[5] = clv_scratch(CLV_NUTS__SCRATCH_ELEMS(t->d, s->max_depth) * clv_nuts__real_size(s));
    args[6] = clv_int(t->o.init != NULL);
    args[7] = clv_int(!t->o.no_step_size_search && t->o.num_warmup > 0);
    clv_status st = clv_nuts__group_arg(s, "clv_nuts__init", &mo, args, &n);
    if (st != CLV_OK) return st;
    st = clv_map(s->program, "clv_nuts__init", t->n_chains, &mo, args, n);
    if (st == CLV_OK) st = clv_array_read(t->code, t->codes);
    if (st != CLV_OK) return clv_nuts__fail_core(s, st, "clv_nuts_run: initialising the chains");
    for (size_t c = 0; c < t->n_chains; ++c)
        if (t->codes[c] < 0)
            return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_run: chain %zu: log density or gradient "
                                  "not finite at %s", c, t->o.init ? "the given initial point" :
                                  "100 random initial points (try a smaller init_radius or give init)");
    return CLV_OK;
}

static inline clv_status clv_nuts__run_block(clv_nuts__run_state *t, int first, int n_iter)
{
    clv_nuts *s = t->s;
    clv_map_opts mo = clv_nuts__map_opts(t);
    clv_arg args[13];
    int n = 0;
    args[n++] = clv_inout(t->state);
    args[n++] = clv_out(t->draws);
    args[n++] = clv_out(t->stats);
    args[n++] = clv_in(t->schedule);
    args[n++] = clv_in(t->config);
    args[n++] = clv_in(s->data);
    args[n++] = clv_scratch(CLV_NUTS__SCRATCH_ELEMS(t->d, s->max_depth) * clv_nuts__real_size(s));
    args[n++] = clv_int(first);
    args[n++] = clv_int(n_iter);
    args[n++] = clv_int(t->o.block);
    args[n++] = clv_int(t->o.num_warmup);
    args[n++] = clv_int(t->o.max_depth);
    clv_status st = clv_nuts__group_arg(s, "clv_nuts__run", &mo, args, &n);
    if (st != CLV_OK) return st;
    st = clv_map(s->program, "clv_nuts__run", t->n_chains, &mo, args, n);
    if (st == CLV_OK) st = clv_array_read_f64(t->draws, t->block_draws);
    if (st == CLV_OK)
        st = clv_array_read_f64(t->stats, t->block_stats);
    if (st != CLV_OK) return clv_nuts__fail_core(s, st, "clv_nuts_run: running a block of iterations");
    return CLV_OK;
}

/* The generated quantities of a block of post-warmup draws, from the draws
 * still on the devices: a kernel of its own, one work item per chain,
 * after the sampler's (whose numbers it cannot change). */
static inline clv_status clv_nuts__generate_block(clv_nuts__run_state *t, int n_iter)
{
    clv_nuts *s = t->s;
    clv_map_opts mo;
    memset(&mo, 0, sizeof mo);
    mo.chunk = t->o.chunk;
    mo.local_size = s->cooperative ? 0 : t->o.local_size; /* cooperative: lanes per chain, not this kernel's */
    mo.item_offset = t->o.first_chain;
    clv_arg args[5];
    args[0] = clv_in(t->draws);
    args[1] = clv_out(t->generated);
    args[2] = clv_in(s->data);
    args[3] = clv_int(n_iter);
    args[4] = clv_int(t->o.block);
    clv_status st = clv_map(s->program, "clv_nuts__generated", t->n_chains, &mo, args, 5);
    if (st == CLV_OK) st = clv_array_read_f64(t->generated, t->block_generated);
    if (st != CLV_OK) return clv_nuts__fail_core(s, st, "clv_nuts_run: the generated quantities of a block");
    return CLV_OK;
}

/* ---- a run: results ---------------------------------------------------------- */

static inline void clv_nuts_result_free(clv_nuts_result *r)
{
    if (!r) return;
    CLV_FREE(r->draws);
    CLV_FREE(r->lp);
    CLV_FREE(r->accept_stat);
    CLV_FREE(r->step_size);
    CLV_FREE(r->tree_depth);
    CLV_FREE(r->n_leapfrog);
    CLV_FREE(r->divergent);
    CLV_FREE(r->energy);
    CLV_FREE(r->inv_mass);
    CLV_FREE(r->final_step_size);
    CLV_FREE(r->init_tries);
    CLV_FREE(r->device);
    CLV_FREE(r->generated);
    CLV_FREE(r->generated_names);
    memset(r, 0, sizeof *r);
}

/* Bounded as clv_nuts__host_alloc's. */
static inline clv_status clv_nuts__result_alloc(clv_nuts__run_state *t, clv_nuts_result *r)
{
    size_t c = t->n_chains, n = (size_t)t->o.num_draws, d = t->d;
    r->n_chains = (int)c;
    r->num_draws = t->o.num_draws;
    r->num_warmup = t->o.num_warmup;
    r->dim = (int)d;
    r->draws = (double *)clv_calloc(c * n * d, sizeof(double));
    r->lp = (double *)clv_calloc(c * n, sizeof(double));
    r->accept_stat = (double *)clv_calloc(c * n, sizeof(double));
    r->step_size = (double *)clv_calloc(c * n, sizeof(double));
    r->tree_depth = (int *)clv_calloc(c * n, sizeof(int));
    r->n_leapfrog = (int *)clv_calloc(c * n, sizeof(int));
    r->divergent = (int *)clv_calloc(c * n, sizeof(int));
    r->energy = (double *)clv_calloc(c * n, sizeof(double));
    r->inv_mass = (double *)clv_calloc(c * d, sizeof(double));
    r->final_step_size = (double *)clv_calloc(c, sizeof(double));
    r->init_tries = (int *)clv_calloc(c, sizeof(int));
    r->device = (clv_device_stats *)clv_calloc((size_t)t->n_devices, sizeof(clv_device_stats));
    r->n_generated = (int)t->g;
    if (t->g) {
        r->generated = (double *)clv_calloc(c * n * t->g, sizeof(double));
        r->generated_names = clv_nuts__copy_names((const char *const *)t->s->generated_names, (int)t->g);
    }
    if (!r->draws || !r->lp || !r->accept_stat || !r->step_size || !r->tree_depth || !r->n_leapfrog ||
        !r->divergent || !r->energy || !r->inv_mass || !r->final_step_size || !r->init_tries || !r->device ||
        (t->g && (!r->generated || !r->generated_names)))
        return clv_nuts__fail(t->s, CLV_ERROR_OUT_OF_MEMORY, "clv_nuts_run: out of host memory for n_chains %d x "
                              "num_draws %d draws of dim %zu (%llu bytes)", t->o.n_chains, t->o.num_draws, t->d,
                              (unsigned long long)clv_nuts__host_bytes(t));
    r->max_depth = t->o.max_depth;
    r->target_accept = t->o.target_accept;
    r->seed = t->o.seed;
    r->chunk = t->o.chunk;
    r->block = t->o.block;
    r->n_devices = t->n_devices;
    return CLV_OK;
}

/* Copy a block's post-warmup iterations into the result; count leapfrogs
 * and divergences (per device, for the progress report). */
static inline void clv_nuts__collect(clv_nuts__run_state *t, clv_nuts_result *r, int first, int n_iter)
{
    size_t d = t->d, b = (size_t)t->o.block;
    int dev = 0;
    for (size_t c = 0; c < t->n_chains; ++c) {
        while (dev + 1 < t->n_devices && c >= t->device_first[dev] + t->device_count[dev]) ++dev;
        for (int j = 0; j < n_iter; ++j) {
            const double *st = t->block_stats + (c * b + (size_t)j) * CLV_NUTS__N_STATS;
            r->n_leapfrog_total += (uint64_t)st[4];
            int draw = first + j - t->o.num_warmup;
            if (draw < 0) continue;
            size_t at = c * (size_t)t->o.num_draws + (size_t)draw;
            memcpy(r->draws + at * d, t->block_draws + (c * b + (size_t)j) * d, d * sizeof(double));
            if (t->g)
                memcpy(r->generated + at * t->g, t->block_generated + (c * b + (size_t)j) * t->g,
                       t->g * sizeof(double));
            r->lp[at] = st[0];
            r->accept_stat[at] = st[1];
            r->step_size[at] = st[2];
            r->tree_depth[at] = (int)st[3];
            r->n_leapfrog[at] = (int)st[4];
            r->divergent[at] = st[5] != 0;
            r->energy[at] = st[6];
            r->n_divergent += st[5] != 0;
            t->device_divergent[dev] += st[5] != 0;
        }
    }
}

/* Tell the progress callback; nonzero: stop. */
static inline int clv_nuts__report(clv_nuts__run_state *t, int done)
{
    if (!t->o.progress) return 0;
    for (int i = 0; i < t->n_devices; ++i) {
        clv_device_stats ds;
        if (clv_mesh_stats(t->s->mesh, i, &ds) == CLV_OK) t->device_seconds[i] = (double)ds.kernel_ns * 1e-9;
    }
    clv_nuts_progress p;
    p.iteration = done;
    p.total = t->total;
    p.num_warmup = t->o.num_warmup;
    p.n_devices = t->n_devices;
    p.device_first = t->device_first;
    p.device_count = t->device_count;
    p.device_divergent = t->device_divergent;
    p.device_seconds = t->device_seconds;
    return t->o.progress(&p, t->o.progress_user);
}

/* The adapted inverse metric and step size, from the state rows. */
static inline clv_status clv_nuts__read_adaptation(clv_nuts__run_state *t, clv_nuts_result *r)
{
    size_t d = t->d, row = CLV_NUTS__STATE_ELEMS(d);
    clv_status st = clv_array_read_f64(t->state, t->state_host);
    if (st != CLV_OK) return clv_nuts__fail_core(t->s, st, "clv_nuts_run: reading the chains' state");
    for (size_t c = 0; c < t->n_chains; ++c) {
        const double *sr = t->state_host + c * row;
        memcpy(r->inv_mass + c * d, sr + CLV_NUTS__STATE_M(d), d * sizeof(double));
        r->final_step_size[c] = sr[CLV_NUTS__STATE_EPS(d)];
        r->init_tries[c] = t->codes[c];
    }
    for (int i = 0; i < t->n_devices; ++i) {
        clv_mesh_stats(t->s->mesh, i, &r->device[i]);
        if (r->device[i].bytes_high_water > r->peak_device_bytes) r->peak_device_bytes = r->device[i].bytes_high_water;
    }
    return CLV_OK;
}

/* A cancelled run keeps its first `kept` draws per chain: the per-draw
 * arrays were laid out for num_draws per chain, so move chains 1.. down to
 * the stride that result->num_draws now says (n_chains x kept). */
static inline void clv_nuts__keep_draws(clv_nuts__run_state *t, clv_nuts_result *r, int kept)
{
    size_t n = (size_t)t->o.num_draws, k = (size_t)kept, d = t->d;
    for (size_t c = 1; c < t->n_chains; ++c) {
        memmove(r->draws + c * k * d, r->draws + c * n * d, k * d * sizeof(double));
        memmove(r->lp + c * k, r->lp + c * n, k * sizeof(double));
        memmove(r->accept_stat + c * k, r->accept_stat + c * n, k * sizeof(double));
        memmove(r->step_size + c * k, r->step_size + c * n, k * sizeof(double));
        memmove(r->tree_depth + c * k, r->tree_depth + c * n, k * sizeof(int));
        memmove(r->n_leapfrog + c * k, r->n_leapfrog + c * n, k * sizeof(int));
        memmove(r->divergent + c * k, r->divergent + c * n, k * sizeof(int));
        memmove(r->energy + c * k, r->energy + c * n, k * sizeof(double));
        if (t->g) memmove(r->generated + c * k * t->g, r->generated + c * n * t->g, k * t->g * sizeof(double));
    }
    r->num_draws = kept;
}

static inline clv_status clv_nuts__iterate(clv_nuts__run_state *t, clv_nuts_result *r)
{
    for (int first = 0; first < t->total;) {
        /* blocks never straddle the end of warmup, so warmup is a whole
         * number of launches and the progress report marks its end */
        int end = first + t->o.block;
        if (first < t->o.num_warmup && end > t->o.num_warmup) end = t->o.num_warmup;
        if (end > t->total) end = t->total;
        clv_status st = clv_nuts__run_block(t, first, end - first);
        if (st == CLV_OK && t->g && first >= t->o.num_warmup) st = clv_nuts__generate_block(t, end - first);
        if (st != CLV_OK) return st;
        clv_nuts__collect(t, r, first, end - first);
        first = end;
        if (first == t->o.num_warmup) t->warmup_done = clv_nuts__seconds();
        if (clv_nuts__report(t, first) && first < t->total) {
            clv_nuts__keep_draws(t, r, first > t->o.num_warmup ? first - t->o.num_warmup : 0);
            break;
        }
    }
    return CLV_OK;
}

static inline clv_status clv_nuts__run(clv_nuts__run_state *t, clv_nuts_result *r)
{
    clv_nuts *s = t->s;
    t->n_devices = clv_mesh_device_count(s->mesh);
    clv_status st = clv_nuts__check_sizes(t);
    if (st == CLV_OK) st = clv_nuts__host_alloc(t);
    if (st == CLV_OK) st = clv_nuts__result_alloc(t, r);
    if (st == CLV_OK) st = clv_mesh_split_items(s->mesh, t->n_chains, t->device_first, t->device_count);
    if (st != CLV_OK && s->message[0] == '\0') st = clv_nuts__fail_core(s, st, "clv_nuts_run: splitting chains");
    if (st == CLV_OK) st = clv_nuts__device_alloc(t);
    if (st == CLV_OK) st = clv_nuts__upload(t);
    t->started = clv_nuts__seconds();
    t->warmup_done = -1; /* not yet */
    if (st == CLV_OK) st = clv_nuts__init_chains(t);
    if (st == CLV_OK && t->o.num_warmup == 0) t->warmup_done = clv_nuts__seconds();
    if (st == CLV_OK) st = clv_nuts__iterate(t, r);
    if (st == CLV_OK) st = clv_nuts__read_adaptation(t, r);
    if (st == CLV_OK) {
        double end = clv_nuts__seconds();
        if (t->warmup_done < 0) t->warmup_done = end; /* stopped during warmup */
        r->warmup_seconds = t->warmup_done - t->started;
        r->sampling_seconds = end - t->warmup_done;
    }
    return st;
}

/* ---- a run shared between processes ---------------------------------------- */

/* A shared run exchanges one row per chain: its draws and statistics, metric,
 * step size, tries and generated values, then three counters (leapfrog steps, post-warmup
 * divergences and peak device bytes: a process's totals in the row of its
 * first chain, zero in the others). */
#define CLV_NUTS__N_FIELDS 12

static inline void clv_nuts__fields(clv_nuts_result *r, unsigned char **at, size_t *bytes)
{
    size_t n = (size_t)r->num_draws, d = (size_t)r->dim, i = 0;
    at[i] = (unsigned char *)r->draws, bytes[i++] = n * d * sizeof(double);
    at[i] = (unsigned char *)r->lp, bytes[i++] = n * sizeof(double);
    at[i] = (unsigned char *)r->accept_stat, bytes[i++] = n * sizeof(double);
    at[i] = (unsigned char *)r->step_size, bytes[i++] = n * sizeof(double);
    at[i] = (unsigned char *)r->tree_depth, bytes[i++] = n * sizeof(int);
    at[i] = (unsigned char *)r->n_leapfrog, bytes[i++] = n * sizeof(int);
    at[i] = (unsigned char *)r->divergent, bytes[i++] = n * sizeof(int);
    at[i] = (unsigned char *)r->energy, bytes[i++] = n * sizeof(double);
    at[i] = (unsigned char *)r->inv_mass, bytes[i++] = d * sizeof(double);
    at[i] = (unsigned char *)r->final_step_size, bytes[i++] = sizeof(double);
    at[i] = (unsigned char *)r->init_tries, bytes[i++] = sizeof(int);
    at[i] = (unsigned char *)r->generated, bytes[i++] = n * (size_t)r->n_generated * sizeof(double);
}

/* Bytes of a chain's row for num_draws n of dim d and g generated values
 * (UINT64_MAX: too many). */
static inline uint64_t clv_nuts__row_bytes(uint64_t n, uint64_t d, uint64_t g)
{
    uint64_t b = clv_bytes_add(0, n, d + g + 4, sizeof(double));
    b = clv_bytes_add(b, n, 3, sizeof(int));
    b = clv_bytes_add(b, d + 1, sizeof(double), 1);
    return clv_bytes_add(b, 1, sizeof(int) + 3 * sizeof(uint64_t), 1);
}

/* Chain c of r to row (to_row) or back. */
static inline void clv_nuts__row_copy(clv_nuts_result *r, size_t c, unsigned char *row, int to_row)
{
    unsigned char *at[CLV_NUTS__N_FIELDS];
    size_t bytes[CLV_NUTS__N_FIELDS];
    clv_nuts__fields(r, at, bytes);
    for (int i = 0; i < CLV_NUTS__N_FIELDS; ++i) {
        if (bytes[i] == 0) continue; /* no generated values: a NULL array */
        if (to_row) memcpy(row, at[i] + c * bytes[i], bytes[i]);
        else memcpy(at[i] + c * bytes[i], row, bytes[i]);
        row += bytes[i];
    }
}

/* This process's chains (mine, run as chains first .. first + count - 1)
 * into rows, exchanged, and every chain into *r. st: mine's outcome. */
static inline clv_status clv_nuts__share_results(clv_nuts__run_state *t, clv_status st, clv_nuts_result *mine,
                                                 size_t first, size_t count, clv_nuts_result *r)
{
    clv_nuts *s = t->s;
    if (st == CLV_OK && count > 0) t->o.num_draws = mine->num_draws; /* a stop the progress asked for */
    uint64_t row64 = clv_nuts__row_bytes((uint64_t)t->o.num_draws, t->d, t->g);
    char what[200];
    snprintf(what, sizeof what, "clv_nuts_run: every process's copy of n_chains %d x num_draws %d draws of dim %zu",
             t->o.n_chains, t->o.num_draws, t->d);
    if (st == CLV_OK) st = clv_nuts__check_host(s, clv_bytes_add(0, t->n_chains, row64, 2), what);
    size_t row = st == CLV_OK ? (size_t)row64 : 0;
    unsigned char *rows = NULL;
    if (st == CLV_OK) st = clv_nuts__result_alloc(t, r);
    if (st == CLV_OK && !(rows = (unsigned char *)clv_calloc(t->n_chains, row)))
        st = clv_nuts__fail(s, CLV_ERROR_OUT_OF_MEMORY, "clv_nuts_run: out of host memory");
    if (st == CLV_OK && count > 0) {
        uint64_t counters[3] = { mine->n_leapfrog_total, mine->n_divergent, mine->peak_device_bytes };
        for (size_t c = 0; c < count; ++c) clv_nuts__row_copy(mine, c, rows + (first + c) * row, 1);
        memcpy(rows + (first + 1) * row - sizeof counters, counters, sizeof counters);
        memcpy(r->device, mine->device, (size_t)t->n_devices * sizeof *r->device);
        r->warmup_seconds = mine->warmup_seconds;
        r->sampling_seconds = mine->sampling_seconds;
    }
    st = clv_share_exchange(&t->o.share, st, s->message, rows, row, t->n_chains, s->message, sizeof s->message,
                            "clv_nuts_run");
    for (size_t c = 0; st == CLV_OK && c < t->n_chains; ++c) {
        uint64_t counters[3];
        clv_nuts__row_copy(r, c, rows + c * row, 0);
        memcpy(counters, rows + (c + 1) * row - sizeof counters, sizeof counters);
        r->n_leapfrog_total += counters[0];
        r->n_divergent += counters[1];
        if (counters[2] > r->peak_device_bytes) r->peak_device_bytes = counters[2];
    }
    CLV_FREE(rows);
    if (st != CLV_OK) clv_nuts_result_free(r);
    return st;
}

/* The run's chains split by the share: this process runs its own (the
 * caller's options, opts, for them), then every process gets every chain. */
static inline clv_status clv_nuts__run_shared(clv_nuts__run_state *t, const clv_nuts_opts *opts,
                                              clv_nuts_result *r)
{
    size_t first = 0, count = 0;
    clv_share_range(&t->o.share, t->n_chains, &first, &count);
    clv_nuts_result mine;
    memset(&mine, 0, sizeof mine);
    clv_status st = CLV_OK;
    t->n_devices = clv_mesh_device_count(t->s->mesh);
    if (count > 0) {
        clv_nuts_opts lo = *opts;
        lo.n_chains = (int)count;
        lo.first_chain = t->o.first_chain + first;
        lo.init = opts->init ? opts->init + first * t->d : NULL;
        memset(&lo.share, 0, sizeof lo.share);
        st = clv_nuts_run(t->s, &lo, &mine);
    }
    st = clv_nuts__share_results(t, st, &mine, first, count, r);
    clv_nuts_result_free(&mine);
    return st;
}

static inline clv_status clv_nuts_run(clv_nuts *s, const clv_nuts_opts *opts, clv_nuts_result *result)
{
    if (!s || !result) return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_run: NULL sampler or result");
    memset(result, 0, sizeof *result);
    s->message[0] = '\0';
    clv_nuts__run_state t;
    memset(&t, 0, sizeof t);
    t.s = s;
    clv_status st = s->program ? CLV_OK : clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_run: the "
                                                         "sampler did not build");
    if (st == CLV_OK) st = clv_nuts__resolve(s, opts, &t.o);
    if (st != CLV_OK) { /* a shared run's processes still take part, so that none waits */
        if (opts) clv_share_exchange(&opts->share, st, s->message, NULL, 0, 0, NULL, 0, "clv_nuts_run");
        return st;
    }
    t.total = t.o.num_warmup + t.o.num_draws;
    t.n_chains = (size_t)t.o.n_chains;
    t.d = (size_t)s->dim;
    t.g = (size_t)s->n_generated;
    if (t.o.block > t.total) t.o.block = t.total;
    if (t.o.share.range || t.o.share.exchange) return clv_nuts__run_shared(&t, opts, result);
    clv_mesh_reset_stats(s->mesh);
    st = clv_nuts__run(&t, result);
    clv_nuts__run_free(&t);
    return st;
}

/* ---- diagnostics ---------------------------------------------------------- */

/* Inverse of the standard normal CDF: Acklam's rational approximation
 * (relative error 1.15e-9) refined by one Halley step on erfc. */
static inline double clv_nuts__norm_ppf(double p)
{
    static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00 };
    static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                6.680131188771972e+01, -1.328068155288572e+01 };
    static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00 };
    static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                3.754408661907416e+00 };
    if (!(p > 0 && p < 1)) return p == 0 ? -INFINITY : p == 1 ? INFINITY : NAN;
    double x;
    if (p < 0.02425 || p > 1 - 0.02425) {
        double q = sqrt(-2 * log(p < 0.5 ? p : 1 - p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        if (p > 0.5) x = -x;
    } else {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    double e = 0.5 * erfc(-x / sqrt(2.0)) - p;
    double u = e * sqrt(2 * 3.14159265358979323846) * exp(x * x / 2);
    return x - u / (1 + x * u / 2);
}

typedef struct clv_nuts__ranked {
    double value;
    size_t index;
} clv_nuts__ranked;

static inline int clv_nuts__by_value(const void *a, const void *b)
{
    double x = ((const clv_nuts__ranked *)a)->value, y = ((const clv_nuts__ranked *)b)->value;
    return x < y ? -1 : x > y ? 1 : 0;
}

static inline int clv_nuts__by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Rank-normalise in place (Vehtari et al. 2021, eq. 14): average ranks for
 * ties, z = Phi^-1((r - 3/8) / (S + 1/4)). */
static inline int clv_nuts__z_scale(double *y, size_t n)
{
    clv_nuts__ranked *r = (clv_nuts__ranked *)clv_calloc(n, sizeof *r);
    if (!r) return 0;
    for (size_t i = 0; i < n; ++i) {
        r[i].value = y[i];
        r[i].index = i;
    }
    qsort(r, n, sizeof *r, clv_nuts__by_value);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && r[j + 1].value == r[i].value) ++j;
        double rank = 0.5 * (double)(i + j) + 1; /* the average of ranks i+1 .. j+1 */
        for (size_t k = i; k <= j; ++k) y[r[k].index] = clv_nuts__norm_ppf((rank - 0.375) / ((double)n + 0.25));
        i = j + 1;
    }
    CLV_FREE(r);
    return 1;
}

/* Split each chain into its first and last halves (the middle draw of an
 * odd count dropped, as ArviZ and posterior): m chains of n -> 2m of n/2. */
static inline void clv_nuts__split(const double *x, int m, int n, double *out)
{
    int h = n / 2;
    for (int c = 0; c < m; ++c) {
        memcpy(out + (size_t)(2 * c) * h, x + (size_t)c * n, (size_t)h * sizeof(double));
        memcpy(out + (size_t)(2 * c + 1) * h, x + (size_t)c * n + (n - h), (size_t)h * sizeof(double));
    }
}

/* Basic R-hat over m chains of n (ArviZ's _rhat). */
static inline double clv_nuts__rhat_basic(const double *y, int m, int n)
{
    double mean_of_means = 0, within = 0, between = 0;
    for (int c = 0; c < m; ++c) {
        double mu = 0, v = 0;
        for (int i = 0; i < n; ++i) mu += y[(size_t)c * n + i];
        mu /= n;
        for (int i = 0; i < n; ++i) v += (y[(size_t)c * n + i] - mu) * (y[(size_t)c * n + i] - mu);
        within += v / (n - 1);
        mean_of_means += mu;
        between += mu * mu;
    }
    within /= m;
    mean_of_means /= m;
    between = (between - m * mean_of_means * mean_of_means) / (m - 1) * n;
    return sqrt((between / within + n - 1) / n);
}

/* Mean over chains of the lag-t autocovariance (biased, divided by n). */
static inline double clv_nuts__mean_acov(const double *y, int m, int n, const double *means, int t)
{
    double total = 0;
    for (int c = 0; c < m; ++c) {
        const double *v = y + (size_t)c * n;
        double s = 0;
        for (int i = 0; i + t < n; ++i) s += (v[i] - means[c]) * (v[i + t] - means[c]);
        total += s / n;
    }
    return total / m;
}

/* Effective sample size of m chains of n (ArviZ's _ess: Geyer's initial
 * monotone sequence on the multi-chain autocorrelation, Vehtari et al. 2021
 * eqs. 10-13). Lags are computed as the sum needs them. */
static inline double clv_nuts__ess(const double *y, int m, int n)
{
    double *means = (double *)clv_calloc((size_t)m, sizeof(double));
    double *rho = (double *)clv_calloc((size_t)n + 2, sizeof(double));
    if (!means || !rho) {
        CLV_FREE(means);
        CLV_FREE(rho);
        return NAN;
    }
    double grand = 0, between = 0;
    for (int c = 0; c < m; ++c) {
        for (int i = 0; i < n; ++i) means[c] += y[(size_t)c * n + i];
        means[c] /= n;
        grand += means[c];
    }
    grand /= m;
    for (int c = 0; c < m; ++c) between += (means[c] - grand) * (means[c] - grand);
    double acov0 = clv_nuts__mean_acov(y, m, n, means, 0);
    double mean_var = acov0 * n / (n - 1.0);
    double var_plus = mean_var * (n - 1.0) / n + (m > 1 ? between / (m - 1) : 0);
    double ess = NAN;
    if (var_plus > 0) {
        rho[0] = 1;
        double even = 1, odd = 1 - (mean_var - clv_nuts__mean_acov(y, m, n, means, 1)) / var_plus;
        rho[1] = odd;
        int t = 1;
        while (t < n - 3 && even + odd > 0) {
            even = 1 - (mean_var - clv_nuts__mean_acov(y, m, n, means, t + 1)) / var_plus;
            odd = 1 - (mean_var - clv_nuts__mean_acov(y, m, n, means, t + 2)) / var_plus;
            if (even + odd >= 0) {
                rho[t + 1] = even;
                rho[t + 2] = odd;
            }
            t += 2;
        }
        int max_t = t - 2;
        if (even > 0) rho[max_t + 1] = even;
        for (t = 1; t <= max_t - 2; t += 2) { /* monotone: pairs never increase */
            if (rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]) {
                rho[t + 1] = (rho[t - 1] + rho[t]) / 2;
                rho[t + 2] = rho[t + 1];
            }
        }
        double tau = -1;
        for (t = 0; t <= max_t; ++t) tau += 2 * rho[t];
        tau += rho[max_t + 1];
        double total = (double)m * n;
        if (tau < 1 / log10(total)) tau = 1 / log10(total);
        ess = total / tau;
    }
    CLV_FREE(means);
    CLV_FREE(rho);
    return ess;
}

/* Quantile of sorted values, numpy's linear interpolation. */
static inline double clv_nuts__quantile(const double *sorted, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)h;
    if (lo + 1 >= n) return sorted[n - 1];
    return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

/* ESS of the indicator x <= q over split chains (ArviZ's _ess_quantile). */
static inline double clv_nuts__ess_indicator(const double *x, int m, int n, double q, double *work, double *split)
{
    for (size_t i = 0; i < (size_t)m * n; ++i) work[i] = x[i] <= q ? 1 : 0;
    clv_nuts__split(work, m, n, split);
    return clv_nuts__ess(split, 2 * m, n / 2);
}

static inline void clv_nuts__moments(const double *x, size_t total, double *sorted, clv_nuts_summary *out)
{
    double mean = 0, ss = 0;
    for (size_t i = 0; i < total; ++i) mean += x[i];
    mean /= (double)total;
    for (size_t i = 0; i < total; ++i) ss += (x[i] - mean) * (x[i] - mean);
    out->mean = mean;
    out->sd = total > 1 ? sqrt(ss / (double)(total - 1)) : NAN;
    memcpy(sorted, x, total * sizeof(double));
    qsort(sorted, total, sizeof(double), clv_nuts__by_double);
    out->q5 = clv_nuts__quantile(sorted, total, 0.05);
    out->q50 = clv_nuts__quantile(sorted, total, 0.5);
    out->q95 = clv_nuts__quantile(sorted, total, 0.95);
}

/* R-hat, bulk and tail ESS (needs n >= 4). */
static inline void clv_nuts__convergence(const double *x, int m, int n, const double *sorted, double *work,
                                         double *split, clv_nuts_summary *out)
{
    size_t total = (size_t)m * (size_t)n, half = (size_t)(n / 2), ns = 2 * (size_t)m * half;
    clv_nuts__split(x, m, n, split);
    if (!clv_nuts__z_scale(split, ns)) return;
    out->ess_bulk = clv_nuts__ess(split, 2 * m, (int)half);
    double rhat_bulk = clv_nuts__rhat_basic(split, 2 * m, (int)half);
    clv_nuts__split(x, m, n, split);
    memcpy(work, split, ns * sizeof(double));
    qsort(work, ns, sizeof(double), clv_nuts__by_double);
    double median = clv_nuts__quantile(work, ns, 0.5);
    for (size_t i = 0; i < ns; ++i) split[i] = fabs(split[i] - median);
    if (!clv_nuts__z_scale(split, ns)) return;
    double rhat_tail = clv_nuts__rhat_basic(split, 2 * m, (int)half);
    out->rhat = rhat_bulk > rhat_tail ? rhat_bulk : rhat_tail;
    double lo = clv_nuts__ess_indicator(x, m, n, clv_nuts__quantile(sorted, total, 0.05), work, split);
    double hi = clv_nuts__ess_indicator(x, m, n, clv_nuts__quantile(sorted, total, 0.95), work, split);
    out->ess_tail = lo < hi ? lo : hi;
}

static inline clv_status clv_nuts_summarize(const double *x, int n_chains, int n_draws, clv_nuts_summary *out)
{
    if (!x || !out || n_chains < 1 || n_draws < 1) return CLV_ERROR_INVALID_ARGUMENT;
    /* the split chains are counted in int (2 n_chains), the draws in size_t */
    if (n_chains > 0x3FFFFFFF ||
        clv_bytes_add(0, (uint64_t)n_chains, (uint64_t)n_draws, 3 * sizeof(double)) > (uint64_t)SIZE_MAX - 1)
        return CLV_ERROR_INVALID_ARGUMENT;
    size_t total = (size_t)n_chains * (size_t)n_draws;
    out->ess_bulk = out->ess_tail = out->rhat = NAN;
    double *sorted = (double *)clv_calloc(total, sizeof(double));
    double *work = (double *)clv_calloc(total, sizeof(double));
    double *split = (double *)clv_calloc(total, sizeof(double));
    clv_status st = sorted && work && split ? CLV_OK : CLV_ERROR_OUT_OF_MEMORY;
    if (st == CLV_OK) clv_nuts__moments(x, total, sorted, out);
    if (st == CLV_OK && n_draws >= 4 && sorted[0] != sorted[total - 1])
        clv_nuts__convergence(x, n_chains, n_draws, sorted, work, split, out);
    CLV_FREE(sorted);
    CLV_FREE(work);
    CLV_FREE(split);
    return st;
}

static inline clv_status clv_nuts_summarize_param(const clv_nuts_result *r, int k, clv_nuts_summary *out)
{
    int n_generated = r && r->generated ? r->n_generated : 0;
    if (!r || !out || !r->draws || k < -1 || k >= r->dim + n_generated) return CLV_ERROR_INVALID_ARGUMENT;
    size_t total = (size_t)r->n_chains * r->num_draws;
    if (total == 0) return CLV_ERROR_INVALID_ARGUMENT;
    double *x = (double *)clv_calloc(total, sizeof(double));
    if (!x) return CLV_ERROR_OUT_OF_MEMORY;
    for (size_t i = 0; i < total; ++i)
        x[i] = k < 0 ? r->lp[i] : k < r->dim ? r->draws[i * (size_t)r->dim + (size_t)k]
                                             : r->generated[i * (size_t)n_generated + (size_t)(k - r->dim)];
    clv_status st = clv_nuts_summarize(x, r->n_chains, r->num_draws, out);
    CLV_FREE(x);
    return st;
}

/* Column k's name: lp__ (k = -1), parameter k (names NULL: x.1 ...), or
 * generated quantity k - dim. */
static inline void clv_nuts__name(char *buf, size_t size, const clv_nuts_result *r, const char *const *names, int k)
{
    if (k < 0) snprintf(buf, size, "lp__");
    else if (k >= r->dim) snprintf(buf, size, "%s", r->generated_names[k - r->dim]);
    else if (names && names[k]) snprintf(buf, size, "%s", names[k]);
    else snprintf(buf, size, "x.%d", k + 1);
}

/* CmdStan's CSV form of an indexed name: theta[1] -> theta.1, a[2, 3] ->
 * a.2.3 (cmdstanpy and ArviZ turn the dots back into an array); any other
 * name as it is. */
static inline void clv_nuts__csv_name(char *name)
{
    size_t n = strlen(name);
    char *open = strchr(name, '[');
    if (!open || open == name || n < 3 || name[n - 1] != ']') return;
    char *out = open;
    for (const char *p = open; *p; ++p) {
        if (*p == '[' || *p == ',') *out++ = '.';
        else if (*p != ']' && *p != ' ') *out++ = *p;
    }
    *out = '\0';
}

static inline clv_status clv_nuts_write_summary(const clv_nuts_result *r, FILE *f, const char *const *names)
{
    if (!r || !f || !r->draws) return CLV_ERROR_INVALID_ARGUMENT;
    fprintf(f, "%-16s %10s %10s %10s %10s %10s %9s %9s %7s\n", "", "Mean", "StdDev", "5%", "50%", "95%",
            "ESS_bulk", "ESS_tail", "R_hat");
    int n_generated = r->generated ? r->n_generated : 0;
    for (int k = -1; k < r->dim + n_generated; ++k) {
        clv_nuts_summary sm;
        char name[64];
        clv_status st = clv_nuts_summarize_param(r, k, &sm);
        if (st != CLV_OK) return st;
        clv_nuts__name(name, sizeof name, r, names, k);
        fprintf(f, "%-16s %10.4g %10.4g %10.4g %10.4g %10.4g %9.0f %9.0f %7.4f\n", name, sm.mean, sm.sd, sm.q5,
                sm.q50, sm.q95, sm.ess_bulk, sm.ess_tail, sm.rhat);
    }
    double eps = 0;
    for (int c = 0; c < r->n_chains; ++c) eps += r->final_step_size[c] / r->n_chains;
    fprintf(f, "\n%d chains x %d draws (after %d warmup); %llu divergent transitions; mean step size %.4g\n",
            r->n_chains, r->num_draws, r->num_warmup, (unsigned long long)r->n_divergent, eps);
    return ferror(f) ? CLV_ERROR_INVALID_ARGUMENT : CLV_OK;
}

static inline void clv_nuts__csv_header(const clv_nuts_result *r, int chain, FILE *f, const char *const *names)
{
    fprintf(f, "# stan_version_major = 2\n# stan_version_minor = 33\n# stan_version_patch = 0\n"
               "# model = clvmap_nuts\n# method = sample (Default)\n#   sample\n"
               "#     num_samples = %d\n#     num_warmup = %d\n#     save_warmup = 0\n#     thin = 1\n"
               "#     adapt\n#       engaged = %d\n#       gamma = 0.05\n#       delta = %g\n"
               "#       kappa = 0.75\n#       t0 = 10\n#       init_buffer = 75\n#       term_buffer = 50\n"
               "#       window = 25\n#     algorithm = hmc (Default)\n#       hmc\n#         engine = nuts\n"
               "#           nuts\n#             max_depth = %d\n#         metric = diag_e\n"
               "# id = %d\n# random\n#   seed = %llu\n# output\n#   generator = clvmap_nuts %d.%d.%d\n",
            r->num_draws, r->num_warmup, r->num_warmup > 0, r->target_accept, r->max_depth, chain + 1,
            (unsigned long long)r->seed, CLV_NUTS_VERSION_MAJOR, CLV_NUTS_VERSION_MINOR, CLV_NUTS_VERSION_PATCH);
    fprintf(f, "lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__");
    for (int k = 0; k < r->dim + (r->generated ? r->n_generated : 0); ++k) {
        char name[256];
        clv_nuts__name(name, sizeof name, r, names, k);
        clv_nuts__csv_name(name);
        fputc(',', f);
        clv_csv_write_name(f, name);
    }
    fprintf(f, "\n# Adaptation terminated\n# Step size = %.17g\n# Diagonal elements of inverse mass matrix:\n# ",
            r->final_step_size[chain]);
    for (int k = 0; k < r->dim; ++k) fprintf(f, "%s%.17g", k ? ", " : "", r->inv_mass[(size_t)chain * r->dim + k]);
    fprintf(f, "\n");
}

static inline clv_status clv_nuts_write_csv(const clv_nuts_result *r, int chain, FILE *f, const char *const *names)
{
    if (!r || !f || !r->draws || chain < 0 || chain >= r->n_chains) return CLV_ERROR_INVALID_ARGUMENT;
    clv_nuts__csv_header(r, chain, f, names);
    for (int i = 0; i < r->num_draws; ++i) {
        size_t at = (size_t)chain * r->num_draws + (size_t)i;
        fprintf(f, "%.17g,%.17g,%.17g,%d,%d,%d,%.17g", r->lp[at], r->accept_stat[at], r->step_size[at],
                r->tree_depth[at], r->n_leapfrog[at], r->divergent[at], r->energy[at]);
        for (int k = 0; k < r->dim; ++k) fprintf(f, ",%.17g", r->draws[at * (size_t)r->dim + (size_t)k]);
        for (int k = 0; r->generated && k < r->n_generated; ++k)
            fprintf(f, ",%.17g", r->generated[at * (size_t)r->n_generated + (size_t)k]);
        fprintf(f, "\n");
    }
    /* CmdStan's closing block, which cmdstanpy needs to count the draws */
    double warmup = r->warmup_seconds > 0 ? r->warmup_seconds : 0;
    double sampling = r->sampling_seconds > 0 ? r->sampling_seconds : 0;
    fprintf(f, "# \n#  Elapsed Time: %.3f seconds (Warm-up)\n#                %.3f seconds (Sampling)\n"
               "#                %.3f seconds (Total)\n# \n", warmup, sampling, warmup + sampling);
    return ferror(f) ? CLV_ERROR_INVALID_ARGUMENT : CLV_OK;
}

/* ---- gradient checker ---------------------------------------------------- */

static inline void clv_nuts__gradcheck_points(const clv_nuts *s, const clv_nuts_gradcheck_opts *o, int n,
                                              double radius, double *points)
{
    for (int i = 0; i < n; ++i)
        for (int k = 0; k < s->dim; ++k)
            points[(size_t)i * s->dim + k] =
                radius * (2 * clv_uniform_f64_host(o->seed, (uint64_t)i, CLV_NUTS__STREAM_GRADCHECK, 2u * (uint32_t)k) - 1);
}

static inline clv_status clv_nuts__gradcheck_map(clv_nuts *s, const double *config, const double *points,
                                                 int n, double *out)
{
    clv_dtype real = s->f32 ? CLV_F32 : CLV_F64;
    size_t d = (size_t)s->dim;
    clv_array *ap = NULL, *ao = NULL, *ac = NULL;
    clv_status st = clv_array_new(&ap, s->mesh, real, (size_t)n, d, CLV_SHARDED);
    if (st == CLV_OK) st = clv_array_new(&ao, s->mesh, real, (size_t)n, 1 + 2 * d, CLV_SHARDED);
    if (st == CLV_OK) st = clv_array_new(&ac, s->mesh, real, CLV_NUTS__N_CONFIG, 1, CLV_REPLICATED);
    if (st == CLV_OK) st = clv_array_write_f64(ap, points);
    if (st == CLV_OK) st = clv_array_write_f64(ac, config);
    if (st == CLV_OK) {
        clv_map_opts mo;
        memset(&mo, 0, sizeof mo);
        mo.local_size = s->cooperative ? 0 : 1;
        if (s->cooperative) mo.shape = CLV_ITEM_PER_GROUP;
        clv_arg args[6];
        int n_args = 5;
        args[0] = clv_in(ap);
        args[1] = clv_out(ao);
        args[2] = clv_in(ac);
        args[3] = clv_in(s->data);
        args[4] = clv_scratch(CLV_NUTS__SCRATCH_ELEMS(d, s->max_depth) * clv_nuts__real_size(s));
        st = clv_nuts__group_arg(s, "clv_nuts__gradcheck", &mo, args, &n_args);
        if (st == CLV_OK) st = clv_map(s->program, "clv_nuts__gradcheck", (size_t)n, &mo, args, n_args);
    }
    if (st == CLV_OK) st = clv_array_read_f64(ao, out);
    if (st != CLV_OK) st = clv_nuts__fail_core(s, st, "clv_nuts_check_gradient");
    clv_array_free(ap);
    clv_array_free(ao);
    clv_array_free(ac);
    return st;
}

static inline void clv_nuts__gradcheck_score(const clv_nuts *s, const double *out, int n, double tolerance,
                                             double *worst_k, clv_nuts_gradcheck *r)
{
    size_t d = (size_t)s->dim;
    for (size_t k = 0; k < d; ++k) worst_k[k] = 0;
    for (int i = 0; i < n; ++i) {
        const double *o = out + (size_t)i * (1 + 2 * d);
        int finite = isfinite(o[0]);
        for (size_t k = 0; k < d; ++k) {
            double a = o[1 + k], num = o[1 + d + k];
            finite &= isfinite(a) && isfinite(num);
            double scale = fabs(a) > fabs(num) ? fabs(a) : fabs(num);
            double err = fabs(a - num) / (scale > 1 ? scale : 1);
            if (!(err <= worst_k[k])) worst_k[k] = err; /* NaN counts as the worst */
        }
        r->n_nonfinite += !finite;
    }
    r->worst = 0;
    for (size_t k = 0; k < d; ++k) {
        if (!(worst_k[k] <= r->worst)) {
            r->worst = worst_k[k];
            r->worst_coordinate = (int)k;
        }
        r->n_over += !(worst_k[k] <= tolerance);
    }
}

static inline clv_status clv_nuts_check_gradient(clv_nuts *s, const clv_nuts_gradcheck_opts *opts,
                                                 double *worst_per_coordinate, clv_nuts_gradcheck *out)
{
    if (!s || !out || !s->program) return clv_nuts__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nuts_check_gradient: "
                                                         "NULL argument or a sampler that did not build");
    clv_nuts_gradcheck_opts o;
    memset(&o, 0, sizeof o);
    if (opts) o = *opts;
    memset(out, 0, sizeof *out);
    clv_status st = clv_check_number(s->message, sizeof s->message, "clv_nuts_check_gradient: radius (0: the "
                                     "default 2)", o.radius, 0, HUGE_VAL);
    if (st == CLV_OK)
        st = clv_check_number(s->message, sizeof s->message, "clv_nuts_check_gradient: step (0: the default)",
                              o.step, 0, HUGE_VAL);
    if (st == CLV_OK)
        st = clv_check_number(s->message, sizeof s->message, "clv_nuts_check_gradient: tolerance (0: the "
                              "default)", o.tolerance, 0, HUGE_VAL);
    if (st != CLV_OK) return st;
    int n = o.n_points > 0 ? o.n_points : 10;
    char what[120];
    snprintf(what, sizeof what, "clv_nuts_check_gradient: n_points %d of dim %d", n, s->dim);
    st = clv_nuts__check_host(s, clv_bytes_add(0, (uint64_t)n, 2 + 2 * (uint64_t)s->dim, sizeof(double)), what);
    if (st != CLV_OK) return st;
    double config[CLV_NUTS__N_CONFIG] = { 0 };
    config[8] = o.step > 0 ? o.step : s->f32 ? 1e-2 : 1e-5;
    double tolerance = o.tolerance > 0 ? o.tolerance : s->f32 ? 2e-2 : 1e-4;
    size_t d = (size_t)s->dim;
    double *points = (double *)clv_calloc((size_t)n * d, sizeof(double));
    double *res = (double *)clv_calloc((size_t)n * (1 + 2 * d), sizeof(double));
    double *worst = (double *)clv_calloc(d, sizeof(double));
    st = points && res && worst ? CLV_OK : clv_nuts__fail(s, CLV_ERROR_OUT_OF_MEMORY,
                                                          "clv_nuts_check_gradient: out of host memory");
    if (st == CLV_OK) {
        clv_nuts__gradcheck_points(s, &o, n, o.radius > 0 ? o.radius : 2, points);
        st = clv_nuts__gradcheck_map(s, config, points, n, res);
    }
    if (st == CLV_OK) {
        clv_nuts__gradcheck_score(s, res, n, tolerance, worst, out);
        if (worst_per_coordinate) memcpy(worst_per_coordinate, worst, d * sizeof(double));
    }
    CLV_FREE(points);
    CLV_FREE(res);
    CLV_FREE(worst);
    return st;
}

#ifdef __cplusplus
}
#endif

#endif /* CLVMAP_NUTS_H */

/* LICENSE: MIT, as clvmap.h. */
