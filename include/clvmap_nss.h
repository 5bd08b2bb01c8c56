/* clvmap_nss.h — nested slice sampling on clvmap, in one header.
 *                                                           version 0.1.1
 *
 * WHAT IT IS
 *   Nested sampling (Skilling 2006) computes the evidence Z = ∫ L(x) π(x) dx
 *   of a model and weighted posterior samples. This header runs the nested
 *   slice sampler of blackjax.ns.nss (Yallup, Kroupa & Handley, "Nested
 *   slice sampling", 2025) on OpenCL devices through clvmap.h: every
 *   iteration deletes the num_delete lowest-likelihood live points and
 *   replaces them by num_delete particles that run hit-and-run slice
 *   sampling (Neal 2003) under the constraint L > L0, all in parallel.
 *   Both batched steps are chunked and sharded:
 *     init    the n_live draws from the prior      (map over n_live)
 *     update  the num_delete particle updates      (map over num_delete)
 *   so device memory for per-particle work space is chunk x work, whatever
 *   n_live and num_delete (the PyAutoFit NSS PRs had to chunk the step and
 *   then, separately, the init; here one option covers both).
 *   It needs clvmap.h beside it and nothing else: its kernels are embedded.
 *
 * A COMPLETE EXAMPLE (C99): a 3-d unit Gaussian on the prior [-5, 5]^3,
 * whose log Z is -3 log 10.
 *
 *   #include "clvmap_nss.h"
 *   #include <math.h>
 *   static const char *model =
 *       "clv_real loglikelihood(const clv_real *x, __global const clv_real *data,\n"
 *       "                       __global clv_real *work) {\n"
 *       "    clv_real s = 0;\n"
 *       "    for (int k = 0; k < CLV_NSS_DIM; ++k) s += x[k] * x[k];\n"
 *       "    return -0.5f * s - 0.9189385f * CLV_NSS_DIM;  // normalised\n"
 *       "}\n"
 *       "clv_real logprior(const clv_real *x, __global const clv_real *data) {\n"
 *       "    for (int k = 0; k < CLV_NSS_DIM; ++k)\n"
 *       "        if (fabs(x[k]) > 5) return -INFINITY;\n"
 *       "    return -CLV_NSS_DIM * log((clv_real)10);\n"
 *       "}\n"
 *       "void prior_transform(const clv_real *u, clv_real *x,\n"
 *       "                     __global const clv_real *data) {\n"
 *       "    for (int k = 0; k < CLV_NSS_DIM; ++k) x[k] = 10 * u[k] - 5;\n"
 *       "}\n";
 *   int main(void) {
 *       clv_mesh *m;
 *       if (clv_mesh_open(&m, NULL)) { puts(clv_mesh_message(m)); return 1; }
 *       clv_nss_problem problem = {0};
 *       problem.source = model;
 *       problem.dim = 3;
 *       clv_nss *s;
 *       clv_status st = clv_nss_new(&s, m, &problem);
 *       clv_nss_result r = {0};
 *       clv_nss_opts o = {0};              // n_live 500, num_delete 50, ...
 *       o.n_live = 200;
 *       o.chunk = 8;                       // at most 8 particles per launch
 *       o.seed = 7;
 *       if (st == CLV_OK) st = clv_nss_run(s, &o, &r);
 *       if (st != CLV_OK) puts(clv_nss_message(s));
 *       else printf("log Z = %.3f +- %.3f (exact %.3f)\n", r.logZ, r.logZ_error,
 *                   -3 * log(10.0));
 *       clv_nss_result_free(&r);
 *       clv_nss_free(s);
 *       clv_mesh_close(m);
 *       return st != CLV_OK;
 *   }
 *
 * DEVICE SIDE: what the problem's source defines
 *   Three OpenCL C functions with these names and signatures (the header
 *   declares them before your source, so a mismatch is a build error):
 *     clv_real loglikelihood(const clv_real *x, __global const clv_real *data,
 *                            __global clv_real *work);
 *     clv_real logprior(const clv_real *x, __global const clv_real *data);
 *     void prior_transform(const clv_real *u, clv_real *x,
 *                          __global const clv_real *data);
 *   x and u are private arrays of CLV_NSS_DIM values (a compile-time
 *   constant: clv_nss_problem.dim); u is uniform on (0, 1)^D and
 *   prior_transform maps it to a draw from the prior (as in MultiNest,
 *   PolyChord, dynesty). logprior is the prior's log density (up to a
 *   constant), -INFINITY outside its support; the slice sampler moves on it.
 *   data is clv_nss_problem.data, replicated on every device (a dummy
 *   element when there is none); work is CLV_NSS_WORK elements of __global
 *   memory owned by this particle (clv_nss_problem.work_elems): large
 *   per-evaluation state belongs there, since it is allocated for one chunk
 *   of particles only. clv_real is double, or float with problem.f32.
 *   The core's prelude (clv_rng, ...) is available; names starting clv_nss_
 *   are reserved.
 *
 * COOPERATIVE LIKELIHOODS (clv_nss_problem.cooperative = 1)
 *   One work group runs one particle (the shape is CLV_ITEM_PER_GROUP,
 *   clv_nss_opts.local_size lanes; 0: clv_map_local_size's default), and
 *   the likelihood takes a fourth parameter:
 *     clv_real loglikelihood(const clv_real *x, __global const clv_real *data,
 *                            __global clv_real *work, __local clv_real *tmp);
 *   Every lane calls it with the same x and the same work; each lane does a
 *   share of the work (CLV_GROUP_BLOCK or CLV_GROUP_FOR over the
 *   observations, rows of a matrix) and the shares are combined with the prelude's clv_group_*
 *   helpers, whose tmp is this one (clv_lanes() x CLV_NSS_TMP values,
 *   CLV_NSS_TMP = clv_nss_problem.tmp_elems, default 1). It must return
 *   the same value on every lane, call the clv_group_* helpers on every
 *   lane the same number of times, and put a barrier(CLK_GLOBAL_MEM_FENCE)
 *   between one lane writing work and another reading it. The slice
 *   sampler's bookkeeping (random numbers, the interval, logprior,
 *   prior_transform, the decisions) runs on lane 0 only, in the order of
 *   the one-work-item form; the points it needs evaluated reach the other
 *   lanes through __local memory. Guarantee 1 holds at a fixed local size
 *   (the lanes' sums are added in lane order; two local sizes may round
 *   apart). Each particle's walk ends with one evaluation of its final
 *   point whose value is not used (PoCL 3.1 hung a group on the loop's
 *   other form); result.evaluations does not count it.
 *   Which form: one work item per particle (the default) for cheap
 *   likelihoods, where num_delete particles already fill the device; a
 *   cooperative likelihood when one evaluation is heavy (a sum over
 *   thousands of observations, a linear solve: examples/nss_inversion.c's
 *   Cholesky of an n x n matrix per particle) and the particles per launch
 *   are few (num_delete, or a small chunk to bound the scratch): the lanes
 *   of each group keep the device busy instead of one work item per
 *   particle. On a CPU runtime a group is run by one core, so the gain is
 *   the vector lanes; on a GPU it is the whole compute unit. Inside a
 *   heavy likelihood keep hot accumulators in named variables of vector
 *   type, not in private arrays: PoCL 3.1 leaves such arrays on the stack
 *   and their short loops rolled (examples/nss_inversion.h's 4 x 4 tiles
 *   ran 3x faster once written out).
 *
 * BATCHED CALLBACK LIKELIHOODS (clv_nss_problem.evaluate)
 *   The likelihood is a host function that evaluates a batch of points at
 *   once, with whatever it likes on the devices: clvmap maps, CLBlast (one
 *   strided-batched GEMM over the batch), your own OpenCL:
 *     clv_status evaluate(void *user, const clv_nss_batch *batch);
 *   batch->x holds batch->count points (count x dim reals, CLV_SHARDED
 *   over the mesh like a clv_map of count items: clv_array_buffer and
 *   clv_mesh_queue give each device's cl_mem and queue); write their
 *   log-likelihoods to batch->loglikelihood (count x 1). batch->data is
 *   the problem's data, batch->scratch count x work_elems reals of work
 *   space for this batch only (NULL when work_elems is 0: put large
 *   per-point state there, so that it is allocated for one batch and
 *   counted). The source then defines only logprior and prior_transform
 *   (a loglikelihood in it is left unused). A call gets at most chunk
 *   points (clv_nss_opts.chunk, for the initial draws and the updates
 *   alike; CLV_CHUNK_NONE: all that wait; CLV_CHUNK_AUTO: the most whose x,
 *   log-likelihood and scratch fit in 3/4 of what the run leaves free on
 *   every device, times the devices; a callback's own buffers beyond
 *   scratch are not known to it). The updates run in ROUNDS: every
 *   particle's walker (the same slice sampler, the same random numbers,
 *   its interval and stepping-out state kept on the device) runs to its
 *   next point that needs a likelihood; the waiting points of all
 *   particles that still walk, in particle order, go to the callback a
 *   chunk at a time; the walkers take the values; until every particle has
 *   made num_inner_steps slice steps. Each round copies the waiting points
 *   and their values through the host (dim + 1 values a particle).
 *   Errors: a nonzero status from the callback stops the run with that
 *   status and the callback's batch->message (a value that is no
 *   clv_status: CLV_ERROR_INVALID_ARGUMENT); a NaN written is
 *   CLV_ERROR_INVALID_ARGUMENT naming the point (write -inf outside the
 *   support: unlike a kernel likelihood's NaN, a callback's is taken for a
 *   bug); rows left unwritten (each is preset to a NaN no arithmetic
 *   makes) are CLV_ERROR_SHAPE with how many were written; in every case
 *   the result is empty, the run's device and host memory is freed and
 *   the sampler can run again. Guarantee 1 holds when a row's value
 *   depends on that row only, not on count or the other rows (beware
 *   library calls that pick kernels by batch size). With the same
 *   likelihood arithmetic the results are those of the kernel form bit
 *   for bit (tests/nss/test_nss_batched.c checks a Gaussian: equal on
 *   PoCL); cooperative and tmp_elems are refused with a callback, shape
 *   and local_size are ignored. Device memory: guarantee 2, with the
 *   walkers' state (4 dim + 9 reals and 19 words a particle) in place of
 *   the kernel's scratch, plus one batch: chunk x (dim + 1 + work_elems)
 *   reals.
 *   Which form: a kernel likelihood (one work item, or cooperative) when
 *   the likelihood is written in OpenCL C and one evaluation fits a work
 *   item or a work group: nothing leaves the device, one launch per
 *   iteration. A callback when the likelihood is best done batched by a
 *   library (a GEMM over the chunk's points, a forward model shared by
 *   the batch) or needs host code; it costs a few launches and a small
 *   host round trip per round (a round is one evaluation of every walking
 *   particle), so it pays when an evaluation is heavy (a matrix per point,
 *   examples/nss_inversion.c --form callback) and the chunk is large
 *   enough for the library to fill the device.
 *
 * ALGORITHM (blackjax.ns.nss, checked against blackjax's source)
 *   Each iteration: sort the live points by log-likelihood; the num_delete
 *   lowest die; L0 = the largest of them; num_delete start points are drawn
 *   uniformly with replacement from the survivors (L > L0) on the host;
 *   each particle runs num_inner_steps hit-and-run slice steps: direction
 *   d ~ N(0, C) for C the live points' covariance (ddof 0), rescaled to
 *   Mahalanobis length 2; slice height log y = logprior(x) + log U; stepping
 *   out with w = 1 to an interval at most max_steps wide (at most
 *   max_steps - 1 expansions, split at random between the ends: Neal 2003
 *   fig. 3, as blackjax.mcmc.slice.stepping_out); shrinkage with at most
 *   max_shrinkage proposals, a proposal inside when logprior >= log y and
 *   loglikelihood > L0; when shrinkage runs out the particle stays put
 *   (counted in shrink_exhausted). Evidence per iteration as blackjax's
 *   update_ns_runtime_info; the run stops when logZ_live - logZ <
 *   -termination. The final log Z and its error come from simulated
 *   shrinkage (Fowlie, Handley & Su 2021; blackjax.ns.utils.log_weights)
 *   over the dead and final live points: 100 draws of the log volumes from
 *   the number of live points at each death (blackjax.ns.utils
 *   compute_num_live: tied log-likelihoods die before tied births, which
 *   handles plateaus such as a -inf region: Fowlie, Handley & Su,
 *   "Nested sampling with plateaus", MNRAS 2021), trapezoid weights; log Z
 *   is the mean over draws, its error the standard deviation. Over 200
 *   seeds of a 3-d test problem the truth was within 1 error 65% of the
 *   time and within 2 errors 96% (tests/nss/test_nss_honest.c).
 *
 * GUARANTEES
 *   1. Partition invariance: every number of a result (log Z, samples,
 *      counts) is bitwise identical for every chunk and every device split
 *      on the same kind of device. Device random numbers are keyed by
 *      (seed, particle index, iteration): clv_rng_init(seed, j, 0) for
 *      initial draw j and clv_rng_init(seed, j, t) for particle j of
 *      iteration t >= 1; the host's choices (start points, simulated
 *      shrinkage) use the core's host Philox on streams >= 2^31. The host
 *      does the rest (sorting, covariance, evidence) in one fixed order.
 *   2. Bounded memory: the device holds the data, the live/particle arrays
 *      of one iteration (n_live x dim at init, num_delete x dim after) and
 *      chunk x work_elems of scratch per device. clv_mesh_stats after a run
 *      reports it (the run resets the mesh's counters first).
 *   3. A NaN or -inf log-likelihood is outside every constraint: never a
 *      crash. NaN is stored as -inf (weight zero) and counted in
 *      nan_loglikelihood. A prior transform that gives a non-finite point,
 *      or a point where logprior is NaN or -inf, is an error that names the
 *      particle and its u.
 *   4. Every call returns a clv_status (clvmap.h's); clv_nss_message says
 *      why. No leak on any path.
 *
 * OPTIONS (define before including): those of clvmap.h (CLV_MALLOC, ...).
 *   CLV_NSS_MESSAGE_SIZE   bytes of a sampler's message (default 8192).
 *
 * REVISION HISTORY
 *   0.1.0 (2026-11-21) first version; clv_nss_opts.share (batched steps
 *                      split over processes, for clvmap_mpi.h); CSV names
 *                      quoted when they need it.
 *   0.1.1 (2026-12-03) sizes that cannot fit (n_live, num_delete, dim
 *                      against each device's memory and largest
 *                      allocation, and the host's) are refused before
 *                      anything is allocated, CLV_ERROR_OUT_OF_MEMORY with
 *                      the bytes needed and available; every size product
 *                      overflow-checked; the dead points' first room is
 *                      bounded by max_iterations (issue 11).
 *   (next, 2026-12-03) clv_nss_opts.share is the core's clv_share
 *                      (clv_nss_share stays as its typedef); a shared run
 *                      exchanges a stop vote after every progress call (a
 *                      stop on one process stops all), and a process that
 *                      fails before its first step still takes part; the
 *                      groundwork (messages, allocation, option checks,
 *                      building with data, CSV names, host memory) is the
 *                      core's (issue 12); cooperative likelihoods
 *                      (clv_nss_problem.cooperative and tmp_elems: one work
 *                      group per particle, the likelihood shared by its
 *                      lanes; CLV_NSS_COOPERATIVE) and the inversion
 *                      example (examples/nss_inversion.c; issue 15);
 *                      batched host-callback likelihoods
 *                      (clv_nss_problem.evaluate and user, clv_nss_batch,
 *                      clv_nss_evaluate_fn; CLV_NSS_BATCHED): the updates
 *                      in rounds, the chunk bounding the points per call;
 *                      examples/nss_inversion.c --form callback (issue 15).
 *
 * ------------------------------------------------------------------------
 * Stop reading here if you only want the API.
 */
#ifndef CLVMAP_NSS_H
#define CLVMAP_NSS_H

#include "clvmap.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLV_NSS_VERSION_MAJOR 0
#define CLV_NSS_VERSION_MINOR 1
#define CLV_NSS_VERSION_PATCH 1
/* clv_nss_opts has share (a clv_share) */
#define CLV_NSS_SHARE 1
/* clv_nss_problem has cooperative and tmp_elems */
#define CLV_NSS_COOPERATIVE 1
/* clv_nss_problem has evaluate and user (batched host-callback likelihoods) */
#define CLV_NSS_BATCHED 1

/* Largest dimension (the kernels keep a few points in private memory). */
#define CLV_NSS_MAX_DIM 256

/* ---- the problem: built once per sampler --------------------------------- */

/* What a batched likelihood callback is given each call (BATCHED CALLBACK
 * LIKELIHOODS): count points, at most clv_nss_opts.chunk of them. */
typedef struct clv_nss_batch {
    clv_mesh *mesh;
    size_t count;        /* points this call, split over the mesh like any clv_map of count */
    int dim;
    clv_dtype dtype;     /* CLV_F64 (CLV_F32 with problem.f32) */
    clv_array *x;        /* count x dim, sharded: the points (do not write) */
    clv_array *loglikelihood; /* count x 1, sharded: write every point's log-likelihood */
    clv_array *data;     /* the problem's data, replicated (a dummy element when none) */
    clv_array *scratch;  /* count x problem.work_elems reals, sharded, or NULL (work_elems 0) */
    long call;           /* the run's calls, from 1 */
    char *message;       /* on failure write why here (message_size bytes) */
    size_t message_size;
} clv_nss_batch;

/* Write the log-likelihood of every row of batch->x to batch->loglikelihood
 * (-inf for a point outside the likelihood's support). Return CLV_OK, or a
 * status that stops the run (with batch->message filled). A row's value
 * must depend on that row only, never on count or on the other rows: then
 * the run's bits do not depend on the chunk or the device split. With
 * clv_array_buffer and clv_mesh_queue you may run your own OpenCL or
 * CLBlast on the arrays; finish your queued work before returning (the
 * sampler reads loglikelihood on the same in-order queues). */
typedef clv_status (*clv_nss_evaluate_fn)(void *user, const clv_nss_batch *batch);

typedef struct clv_nss_problem {
    const char *source;  /* OpenCL C defining loglikelihood, logprior, prior_transform */
    const char *name;    /* the source's file name in build logs (default "problem.cl") */
    int dim;             /* parameters per point, 1 .. CLV_NSS_MAX_DIM */
    const double *data;  /* n_data values replicated on every device (NULL when n_data is 0) */
    size_t n_data;
    size_t work_elems;   /* clv_real elements of __global work space per particle (0: none) */
    const char *options; /* extra compiler options, e.g. "-DN_OBS=100" */
    int f32;             /* nonzero: clv_real is float (devices without fp64); default double */
    int cooperative;     /* nonzero: loglikelihood takes a fourth parameter, __local clv_real *tmp,
                            and is evaluated by all work items of the particle's work group
                            together (COOPERATIVE LIKELIHOODS); 0: one work item runs a
                            particle (the default) */
    size_t tmp_elems;    /* cooperative: clv_real values of tmp per lane (CLV_NSS_TMP); 0: 1 */
    clv_nss_evaluate_fn evaluate; /* non-NULL: the likelihood is this host callback, called on
                            batches of points (BATCHED CALLBACK LIKELIHOODS), and source
                            defines only logprior and prior_transform; NULL: source's
                            loglikelihood (the default) */
    void *user;          /* passed to evaluate */
} clv_nss_problem;

typedef struct clv_nss clv_nss;

/* Build the problem's program for every device of the mesh and upload its
 * data. Like clv_mesh_open, a sampler is returned even on failure so that
 * clv_nss_message can say why; free it with clv_nss_free. *out is NULL only
 * when host memory ran out. The mesh must outlive the sampler. */
static inline clv_status clv_nss_new(clv_nss **out, clv_mesh *m, const clv_nss_problem *problem);
/* Release the sampler (safe on NULL). */
static inline void clv_nss_free(clv_nss *s);
/* The latest error's message, or "" (never NULL). */
static inline const char *clv_nss_message(const clv_nss *s);

/* ---- a run --------------------------------------------------------------- */

typedef struct clv_nss_progress {
    long iteration;        /* iterations done */
    double logZ;           /* evidence of the dead points so far */
    double logZ_live;      /* the live points' share: logmeanexp(L_live) + log X */
    double dlogZ;          /* logZ_live - logZ: the run stops below -termination */
    uint64_t evaluations;  /* likelihood evaluations so far */
} clv_nss_progress;

/* Called after every iteration; a nonzero return stops the run (its result
 * is then complete for the iterations done, stop = CLV_NSS_CANCELLED). */
typedef int (*clv_nss_progress_fn)(const clv_nss_progress *progress, void *user);

/* Sharing a run's batched steps between processes that run the same
 * sampler with the same options: the core's clv_share (clvmap.h; e.g.
 * clvmap_mpi.h's clv_mpi_share). Each process runs the rows `range` gives it
 * of every batch (the n_live initial draws, the num_delete particle
 * updates), with their global indices, then `exchange` fills in the other
 * processes' rows; the host work (sorting, covariance, evidence) is done
 * identically by every process. After every progress call the processes
 * also exchange whether any asked to stop, so a stop asked on one process
 * stops them all. The old name stays for code written against 0.1. */
typedef clv_share clv_nss_share;

typedef struct clv_nss_opts {
    int n_live;            /* live points; 0: 500 */
    int num_delete;        /* points replaced per iteration, < n_live; 0: n_live / 10 (at least 1) */
    int num_inner_steps;   /* slice steps per new point; 0: max(5, 2 dim) */
    int max_steps;         /* stepping-out interval, in widths (Neal's m); 0: 10 */
    int max_shrinkage;     /* shrinkage proposals per slice step; 0: 100 */
    long chunk;            /* particles per launch, for the init and the updates:
                              CLV_CHUNK_NONE (0), k > 0, or CLV_CHUNK_AUTO */
    double termination;    /* stop when logZ_live - logZ < -termination; 0: 3 */
    long max_iterations;   /* 0: no limit */
    uint64_t seed;         /* the run is a pure function of the seed and the options */
    clv_shape shape;       /* CLV_ITEM_PER_WORK_ITEM (default), or CLV_ITEM_PER_GROUP: one
                              work group per particle, its first work item working (GPUs:
                              particles of uneven length do not wait for each other);
                              a cooperative problem always runs one group per particle */
    size_t local_size;     /* work group size; 0: 64 per work item, 1 per group; cooperative
                              problems: the lanes per particle, 0: clv_map_local_size's */
    clv_nss_progress_fn progress; /* NULL: none */
    void *progress_user;   /* passed to progress */
    clv_share share;       /* zero: this process runs every particle */
} clv_nss_opts;

typedef enum clv_nss_stop {
    CLV_NSS_CONVERGED = 0,  /* logZ_live - logZ < -termination */
    CLV_NSS_MAX_ITERATIONS, /* max_iterations reached first */
    CLV_NSS_CANCELLED       /* the progress callback asked to stop */
} clv_nss_stop;

typedef struct clv_nss_result {
    double logZ;            /* mean over simulated-shrinkage draws */
    double logZ_error;      /* their standard deviation */
    double logZ_run;        /* the running estimate, dead + live (blackjax's integrator);
                               unlike logZ, biased where the likelihood has plateaus */
    int dim;
    size_t n_samples;       /* dead points, then the final live points, all sorted by logL */
    double *x;              /* n_samples x dim */
    double *loglikelihood;  /* n_samples (NaN stored as -inf) */
    double *loglikelihood_birth; /* the threshold each point was born above (-inf: initial) */
    double *log_weight;     /* posterior log weights, normalised: sum of exp(log_weight) = 1 */
    double ess;             /* Kish's effective sample size of the weights */
    uint64_t evaluations;   /* likelihood evaluations, init included */
    long iterations;
    uint64_t shrink_exhausted;  /* slice steps whose shrinkage ran out */
    uint64_t nan_loglikelihood; /* initial points whose log-likelihood was NaN */
    clv_nss_stop stop;
    int n_live, num_delete, num_inner_steps; /* the values used */
    long chunk;             /* as asked (the devices' chunk_used says what ran) */
    int n_devices;
    clv_device_stats *device; /* n_devices entries: clv_mesh_stats at the end of the run */
    uint64_t peak_device_bytes;  /* the largest bytes_high_water of any device */
    uint64_t peak_scratch_bytes; /* the largest scratch_high_water of any device */
} clv_nss_result;

/* Run nested sampling. opts NULL: all defaults. *result is overwritten (free
 * it with clv_nss_result_free, also after a failure). */
static inline clv_status clv_nss_run(clv_nss *s, const clv_nss_opts *opts, clv_nss_result *result);
/* Free the result's arrays and zero it (safe on a zeroed result). */
static inline void clv_nss_result_free(clv_nss_result *r);
/* Write the weighted samples as CSV: weight, log_weight, loglikelihood,
 * loglikelihood_birth, then one column per parameter named names[k] (NULL:
 * x0, x1, ...). CLV_ERROR_INVALID_ARGUMENT when an argument is NULL or the
 * stream reports a write error. */
static inline clv_status clv_nss_write_csv(const clv_nss_result *r, FILE *f, const char *const *names);
/* A fixed English name of a stop reason. */
static inline const char *clv_nss_stop_string(clv_nss_stop stop);
/* The device source (kernels/nss.cl) as the lines handed to the compiler. */
static inline const char *const *clv_nss_kernel_lines(size_t *n_lines);

#ifdef __cplusplus
}
#endif

/* ========================================================================
 * IMPLEMENTATION
 * ======================================================================== */

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef CLV_NSS_MESSAGE_SIZE
#define CLV_NSS_MESSAGE_SIZE 8192
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Host random streams, apart from the device's (0 .. iterations). */
#define CLV_NSS__STREAM_START 0x80000000u  /* | iteration: start-point choices */
#define CLV_NSS__STREAM_SHRINK 0xFFFFFFFFu /* simulated shrinkage */
/* Draws of the simulated shrinkage (blackjax.ns.utils.logX's default). */
#define CLV_NSS__SHRINK_DRAWS 100
/* Rows of a shared run's stop vote (each process owns some of them). */
#define CLV_NSS__VOTES 1024
/* A walker between rounds (kernels/nss.cl, CLV_NSS__REALS and
 * CLV_NSS__WORDS), plus its waiting point and its likelihood: reals and
 * 32-bit words per particle. */
#define CLV_NSS__WALK_REALS(d) (4 * (uint64_t)(d) + 9)
#define CLV_NSS__WALK_WORDS 18

struct clv_nss {
    clv_mesh *mesh;
    clv_program *program;
    clv_array *data;        /* replicated */
    int dim;
    int f32;
    size_t work_elems;      /* at least 1 */
    int cooperative;        /* clv_nss_problem.cooperative */
    size_t tmp_elems;       /* at least 1 */
    clv_nss_evaluate_fn evaluate; /* a batched host-callback likelihood, or NULL */
    void *user;
    size_t batch_work;      /* problem.work_elems as given: a callback's scratch per point */
    char message[CLV_NSS_MESSAGE_SIZE];
};

/* ---- small helpers ------------------------------------------------------ */

/* printf into the sampler's message (none when s is NULL); returns status. */
#define clv_nss__fail(s, ...) clv_message((s) ? (s)->message : NULL, sizeof(s)->message, __VA_ARGS__)

/* A failed clvmap call: its status, with the mesh's message after ours. */
static inline clv_status clv_nss__fail_core(clv_nss *s, clv_status status, const char *what)
{
    return clv_nss__fail(s, status, "%s: %s", what, clv_mesh_message(s->mesh));
}

static inline double clv_nss__logaddexp(double a, double b)
{
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    double hi = a > b ? a : b, lo = a > b ? b : a;
    return hi + log1p(exp(lo - hi));
}

/* log(1 - exp(x)) for x <= 0 (Maechler 2012, as blackjax.ns.utils.log1mexp). */
static inline double clv_nss__log1mexp(double x)
{
    return x > -0.6931471805599453 ? log(-expm1(x)) : log1p(-exp(x));
}

static inline const char *clv_nss_stop_string(clv_nss_stop stop)
{
    switch (stop) {
    case CLV_NSS_CONVERGED: return "converged";
    case CLV_NSS_MAX_ITERATIONS: return "max_iterations reached";
    case CLV_NSS_CANCELLED: return "cancelled by the progress callback";
    }
    return "unknown stop reason";
}

/* BEGIN EMBEDDED kernels/nss.cl (generated by tools/embed.c; do not edit) */
static inline const char *const *clv_nss_kernel_lines(size_t *n_lines)
{
    static const char *const lines[] = {
        "/* clvmap nested slice sampling: the device side (OpenCL C 1.2).\n",
        " *\n",
        " * This file is the single source of truth: it is embedded into\n",
        " * include/clvmap_nss.h by tools/embed.c (ninja -C BUILD embed_nss), and\n",
        " * tests/nss/test_nss_embed.c fails when the embedded copy is stale.\n",
        " *\n",
        " * clv_nss_new compiles, after the core's prelude: this file, then the\n",
        " * user's source (with its own #line), with -DCLV_NSS_DIM=<dim> and\n",
        " * -DCLV_NSS_WORK=<work elements per particle, at least 1>. The user's\n",
        " * source defines the three functions declared below.\n",
        " *\n",
        " * Algorithm: nested slice sampling as in blackjax.ns.nss (Yallup, Kroupa &\n",
        " * Handley, \"Nested slice sampling\", 2025) with the hit-and-run slice sampler\n",
        " * of blackjax.mcmc.ss (Neal, \"Slice sampling\", Ann. Statist. 31, 2003). */\n",
        "\n",
        "/* ---- what the user defines ----------------------------------------------\n",
        " * x, u: CLV_NSS_DIM values in private memory. data: the problem's\n",
        " * replicated array. work: CLV_NSS_WORK elements of __global scratch that\n",
        " * belong to this particle for the duration of one evaluation.\n",
        " *\n",
        " * Cooperative likelihoods (clv_nss_problem.cooperative; -DCLV_NSS_GROUP):\n",
        " * one work group runs one particle. loglikelihood takes a fourth\n",
        " * parameter, tmp, a __local buffer of clv_lanes() x CLV_NSS_TMP values for\n",
        " * the prelude's clv_group_* helpers; all lanes of the group call it\n",
        " * together with the same x and the same work, each lane does a share\n",
        " * (CLV_GROUP_FOR over the observations, the rows of a matrix), and it must\n",
        " * return the same value on every lane (a group reduction's result is). A\n",
        " * lane that writes work for another to read puts a barrier between. The\n",
        " * slice sampler's bookkeeping (random numbers, the interval, the prior,\n",
        " * the decisions) runs on lane 0 only; the points it needs evaluated reach\n",
        " * the other lanes through __local memory. logprior and prior_transform run\n",
        " * on lane 0 only. */\n",
        "#if defined(CLV_NSS_GROUP)\n",
        "clv_real loglikelihood(const clv_real *x, __global const clv_real *data, __global clv_real *work,\n",
        "                       __local clv_real *tmp);\n",
        "#elif !defined(CLV_NSS_BATCH) /* a batched host callback evaluates the likelihood */\n",
        "clv_real loglikelihood(const clv_real *x, __global const clv_real *data, __global clv_real *work);\n",
        "#endif\n",
        "clv_real logprior(const clv_real *x, __global const clv_real *data);\n",
        "void prior_transform(const clv_real *u, clv_real *x, __global const clv_real *data);\n",
        "\n",
        "#ifndef CLV_NSS_DIM\n",
        "#error \"clvmap_nss: CLV_NSS_DIM must be defined (clv_nss_new does it)\"\n",
        "#endif\n",
        "#ifndef CLV_NSS_WORK\n",
        "#define CLV_NSS_WORK 1\n",
        "#endif\n",
        "#ifndef CLV_NSS_TMP\n",
        "#define CLV_NSS_TMP 1\n",
        "#endif\n",
        "\n",
        "/* Codes the init kernel reports per particle (host: clv_nss__init_check). */\n",
        "#define CLV_NSS__OK 0\n",
        "#define CLV_NSS__BAD_POINT 1 /* prior_transform gave a non-finite coordinate */\n",
        "#define CLV_NSS__BAD_PRIOR 2 /* logprior is NaN or -inf at a transformed point */\n",
        "\n",
        "/* Only the first work item of a group works when one group serves one\n",
        " * particle (clv_nss_opts.shape = CLV_ITEM_PER_GROUP). */\n",
        "#define CLV_NSS__IDLE(one_per_group) ((one_per_group) && get_local_id(0) != 0)\n",
        "\n",
        "/* The particle's own slot of the chunk's scratch. */\n",
        "#define CLV_NSS__WORK(work) ((work) + clv_slot() * (ulong)CLV_NSS_WORK)\n",
        "\n",
        "/* ---- initial draws: n_live points from the prior ------------------------\n",
        " * Stream 0 of item i is particle i's; u ~ U(0,1)^D, x = prior_transform(u). */\n",
        "#if !defined(CLV_NSS_GROUP) && !defined(CLV_NSS_BATCH)\n",
        "__kernel void clv_nss__init(CLV_ITEMS,\n",
        "                            __global clv_real *x_out,   /* n_live x D */\n",
        "                            __global clv_real *ll_out,  /* n_live */\n",
        "                            __global clv_real *lp_out,  /* n_live */\n",
        "                            __global int *code_out,     /* n_live */\n",
        "                            __global const clv_real *data,\n",
        "                            __global clv_real *work,    /* scratch */\n",
        "                            const int one_per_group)\n",
        "{\n",
        "    CLV_GUARD();\n",
        "    if (CLV_NSS__IDLE(one_per_group)) return;\n",
        "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 0u);\n",
        "    clv_real u[CLV_NSS_DIM], x[CLV_NSS_DIM];\n",
        "    for (int k = 0; k < CLV_NSS_DIM; ++k) u[k] = clv_uniform(&r);\n",
        "    prior_transform(u, x, data);\n",
        "    int code = CLV_NSS__OK;\n",
        "    for (int k = 0; k < CLV_NSS_DIM; ++k)\n",
        "        if (!isfinite(x[k])) code = CLV_NSS__BAD_POINT;\n",
        "    clv_real lp = -INFINITY, ll = -INFINITY;\n",
        "    if (code == CLV_NSS__OK) {\n",
        "        lp = logprior(x, data);\n",
        "        if (!(lp > -INFINITY)) code = CLV_NSS__BAD_PRIOR;\n",
        "    }\n",
        "    if (code == CLV_NSS__OK) ll = loglikelihood(x, data, CLV_NSS__WORK(work));\n",
        "    const ulong i = clv_local();\n",
        "    for (int k = 0; k < CLV_NSS_DIM; ++k) x_out[i * CLV_NSS_DIM + k] = x[k];\n",
        "    ll_out[i] = ll;\n",
        "    lp_out[i] = lp;\n",
        "    code_out[i] = code;\n",
        "}\n",
        "#endif\n",
        "\n",
        "/* ---- one hit-and-run slice step ------------------------------------------ */\n",
        "\n",
        "typedef struct clv_nss__walker {\n",
        "    clv_real x[CLV_NSS_DIM];\n",
        "    clv_real ll, lp;      /* log-likelihood and log-prior at x */\n",
        "    clv_real threshold;   /* L0: the constraint is ll > L0 (NaN fails it) */\n",
        "    uint evals;           /* likelihood evaluations */\n",
        "    uint exhausted;       /* steps whose shrinkage ran out (stayed put) */\n",
        "} clv_nss__walker;\n",
        "\n",
        "/* Uniform on (0, 1) for the slice sampler's choices: 32 random bits plus\n",
        " * half a step in double (one Philox word, not the prelude's two: the\n",
        " * sampler needs no finer grid, and the RNG is most of its cost), the\n",
        " * prelude's 23-bit clv_uniform_f32 in float. Never 0 or 1, so log is\n",
        " * finite. */\n",
        "inline clv_real clv_nss__uniform(clv_rng *r)\n",
        "{\n",
        "#ifdef CLV_FP64\n",
        "    if (sizeof(clv_real) == sizeof(double))\n",
        "        return ((clv_real)clv_rng_u32(r) + (clv_real)0.5) * (clv_real)0x1.0p-32;\n",
        "#endif\n",
        "    return (clv_real)clv_uniform_f32(r);\n",
        "}\n",
        "\n",
        "/* d = 2 chol z / |z|, z ~ N(0, I): a draw from N(0, C) rescaled to\n",
        " * Mahalanobis length 2 under C = chol chol^T, as blackjax.ns.nss\n",
        " * sample_direction_from_covariance_factor (d^T C^-1 d = 4), without C^-1.\n",
        " * The normals come in Box-Muller pairs (both halves used). */\n",
        "inline void clv_nss__direction(clv_rng *r, __global const clv_real *chol, clv_real *d)\n",
        "{\n",
        "    clv_real z[CLV_NSS_DIM + 1];\n",
        "    clv_real norm2 = 0;\n",
        "    for (int k = 0; k < CLV_NSS_DIM; k += 2) {\n",
        "        const clv_real radius = sqrt((clv_real)-2 * log(clv_nss__uniform(r)));\n",
        "        const clv_real angle = 2 * clv_nss__uniform(r);\n",
        "        z[k] = radius * cospi(angle);\n",
        "        z[k + 1] = radius * sinpi(angle);\n",
        "    }\n",
        "    for (int k = 0; k < CLV_NSS_DIM; ++k) norm2 += z[k] * z[k];\n",
        "    const clv_real scale = (clv_real)2 / sqrt(norm2);\n",
        "    for (int i = 0; i < CLV_NSS_DIM; ++i) {\n",
        "        clv_real s = 0;\n",
        "        for (int k = 0; k <= i; ++k) s += chol[i * CLV_NSS_DIM + k] * z[k];\n",
        "        d[i] = s * scale;\n",
        "    }\n",
        "}\n",
        "\n",
        "#if !defined(CLV_NSS_GROUP) && !defined(CLV_NSS_BATCH) /* the one-work-item form's slice step */\n",
        "/* Is x0 + t d inside the slice {logprior >= logslice} and the constraint\n",
        " * {loglikelihood > L0}\? The likelihood is evaluated only where the prior\n",
        " * test passes (outside the prior's support it may be undefined). */\n",
        "inline int clv_nss__inside(clv_nss__walker *w, const clv_real *d, clv_real t, clv_real logslice,\n",
        "                           __global const clv_real *data, __global clv_real *work,\n",
        "                           clv_real *x_new, clv_real *ll_new, clv_real *lp_new)\n",
        "{\n",
        "    for (int k = 0; k < CLV_NSS_DIM; ++k) x_new[k] = w->x[k] + t * d[k];\n",
        "    *lp_new = logprior(x_new, data);\n",
        "    if (!(*lp_new >= logslice)) return 0;\n",
        "    *ll_new = loglikelihood(x_new, data, work);\n",
        "    w->evals += 1;\n",
        "    return *ll_new > w->threshold;\n",
        "}\n",
        "\n",
        "/* Stepping out with w = 1 to an interval at most m = max_steps wide: m - 1\n",
        " * expansions at most, split at random between the two ends (Neal 2003,\n",
        " * fig. 3, which keeps detailed balance; blackjax.mcmc.slice.stepping_out\n",
        " * does the same with max_expansions = max_steps). Then shrinkage with at\n",
        " * most max_shrinkage proposals (Neal 2003, fig. 5). */\n",
        "inline void clv_nss__slice_step(clv_nss__walker *w, clv_rng *r, __global const clv_real *chol,\n",
        "                                __global const clv_real *data, __global clv_real *work,\n",
        "                                const int max_steps, const int max_shrinkage)\n",
        "{\n",
        "    clv_real d[CLV_NSS_DIM], x_new[CLV_NSS_DIM], ll_new = 0, lp_new = 0;\n",
        "    clv_nss__direction(r, chol, d);\n",
        "    const clv_real logslice = w->lp + log(clv_nss__uniform(r));\n",
        "    clv_real left = -clv_nss__uniform(r);\n",
        "    clv_real right = left + 1;\n",
        "    int j = (int)floor((clv_real)max_steps * clv_nss__uniform(r));\n",
        "    if (j > max_steps - 1) j = max_steps - 1; /* float rounding of m * v */\n",
        "    int k = max_steps - 1 - j;\n",
        "    while (j > 0 && clv_nss__inside(w, d, left, logslice, data, work, x_new, &ll_new, &lp_new)) {\n",
        "        left -= 1;\n",
        "        --j;\n",
        "    }\n",
        "    while (k > 0 && clv_nss__inside(w, d, right, logslice, data, work, x_new, &ll_new, &lp_new)) {\n",
        "        right += 1;\n",
        "        --k;\n",
        "    }\n",
        "    for (int s = 0; s < max_shrinkage; ++s) {\n",
        "        const clv_real t = left + clv_nss__uniform(r) * (right - left);\n",
        "        if (clv_nss__inside(w, d, t, logslice, data, work, x_new, &ll_new, &lp_new)) {\n",
        "            for (int q = 0; q < CLV_NSS_DIM; ++q) w->x[q] = x_new[q];\n",
        "            w->ll = ll_new;\n",
        "            w->lp = lp_new;\n",
        "            return;\n",
        "        }\n",
        "        if (t < 0) left = t;\n",
        "        else right = t;\n",
        "    }\n",
        "    w->exhausted += 1; /* stay put, as blackjax does */\n",
        "}\n",
        "#endif\n",
        "\n",
        "/* ---- the update: num_delete particles, each from its start point --------\n",
        " * A particle's state is D + 2 values: x, then its log-likelihood and\n",
        " * log-prior (one array each way keeps the host's transfers few). Item j of\n",
        " * iteration t uses stream t (t >= 1) of item j: the same draws whatever\n",
        " * the chunk and the device. */\n",
        "#define CLV_NSS__STATE (CLV_NSS_DIM + 2)\n",
        "\n",
        "#if !defined(CLV_NSS_GROUP) && !defined(CLV_NSS_BATCH)\n",
        "__kernel void clv_nss__update(CLV_ITEMS,\n",
        "                              __global const clv_real *start,  /* num_delete x (D + 2) */\n",
        "                              __global clv_real *state_out,    /* num_delete x (D + 2) */\n",
        "                              __global uint *counts_out,       /* num_delete x 2: evaluations,\n",
        "                                                                  exhausted shrinkages */\n",
        "                              __global const clv_real *chol,   /* D x D, lower */\n",
        "                              __global const clv_real *data,\n",
        "                              __global clv_real *work,         /* scratch */\n",
        "                              const clv_real threshold,\n",
        "                              const uint iteration,\n",
        "                              const int num_inner_steps,\n",
        "                              const int max_steps,\n",
        "                              const int max_shrinkage,\n",
        "                              const int one_per_group)\n",
        "{\n",
        "    CLV_GUARD();\n",
        "    if (CLV_NSS__IDLE(one_per_group)) return;\n",
        "    const ulong i = clv_local();\n",
        "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), iteration);\n",
        "    clv_nss__walker w;\n",
        "    __global const clv_real *in = start + i * CLV_NSS__STATE;\n",
        "    for (int k = 0; k < CLV_NSS_DIM; ++k) w.x[k] = in[k];\n",
        "    w.ll = in[CLV_NSS_DIM];\n",
        "    w.lp = in[CLV_NSS_DIM + 1];\n",
        "    w.threshold = threshold;\n",
        "    w.evals = 0;\n",
        "    w.exhausted = 0;\n",
        "    __global clv_real *my_work = CLV_NSS__WORK(work);\n",
        "    for (int step = 0; step < num_inner_steps; ++step)\n",
        "        clv_nss__slice_step(&w, &r, chol, data, my_work, max_steps, max_shrinkage);\n",
        "    __global clv_real *out = state_out + i * CLV_NSS__STATE;\n",
        "    for (int k = 0; k < CLV_NSS_DIM; ++k) out[k] = w.x[k];\n",
        "    out[CLV_NSS_DIM] = w.ll;\n",
        "    out[CLV_NSS_DIM + 1] = w.lp;\n",
        "    counts_out[2 * i] = w.evals;\n",
        "    counts_out[2 * i + 1] = w.exhausted;\n",
        "}\n",
        "#endif\n",
        "\n",
        "/* ---- cooperative likelihoods: one work group per particle ----------------\n",
        " * The same sampler as above, written as a walker that lane 0 advances\n",
        " * until it needs a likelihood: the point goes to every lane through\n",
        " * __local memory, the group evaluates it, and lane 0 takes the result.\n",
        " * Lane 0 draws the same random numbers in the same order and makes the\n",
        " * same decisions as clv_nss__slice_step; the other lanes only evaluate.\n",
        " * The loops holding barriers (the user's and the two below) run the same\n",
        " * number of times on every lane, since every lane reads the same flag.\n",
        " * A batched host callback (-DCLV_NSS_BATCH) uses the same walker, one work\n",
        " * item per particle, its state kept in __global memory between rounds. */\n",
        "#if defined(CLV_NSS_GROUP) || defined(CLV_NSS_BATCH)\n",
        "\n",
        "#define CLV_NSS__START 0  /* draw a direction, a slice and an interval */\n",
        "#define CLV_NSS__LEFT 1   /* stepping out to the left */\n",
        "#define CLV_NSS__RIGHT 2  /* stepping out to the right */\n",
        "#define CLV_NSS__SHRINK 3 /* shrinkage */\n",
        "\n",
        "typedef struct clv_nss__slice {\n",
        "    clv_real d[CLV_NSS_DIM];     /* the direction */\n",
        "    clv_real x_new[CLV_NSS_DIM]; /* the point waiting for its likelihood */\n",
        "    clv_real lp_new, logslice, left, right, t;\n",
        "    int j, k, shrinks, step, phase;\n",
        "} clv_nss__slice;\n",
        "\n",
        "/* x + t d and its prior; 1 when it lies in the slice (its likelihood is\n",
        " * needed), 0 when the prior already rules it out. */\n",
        "inline int clv_nss__propose(const clv_nss__walker *w, clv_nss__slice *sl, __global const clv_real *data)\n",
        "{\n",
        "    for (int q = 0; q < CLV_NSS_DIM; ++q) sl->x_new[q] = w->x[q] + sl->t * sl->d[q];\n",
        "    sl->lp_new = logprior(sl->x_new, data);\n",
        "    return sl->lp_new >= sl->logslice;\n",
        "}\n",
        "\n",
        "/* A rejected shrinkage proposal narrows the interval (Neal 2003, fig. 5). */\n",
        "inline void clv_nss__narrow(clv_nss__slice *sl)\n",
        "{\n",
        "    if (sl->t < 0) sl->left = sl->t;\n",
        "    else sl->right = sl->t;\n",
        "}\n",
        "\n",
        "/* Advance the walker to its next likelihood evaluation (1, the point in\n",
        " * sl->x_new) or to the end of its num_inner_steps slice steps (0). */\n",
        "inline int clv_nss__next(clv_nss__walker *w, clv_nss__slice *sl, clv_rng *r, __global const clv_real *chol,\n",
        "                         __global const clv_real *data, const int num_inner_steps, const int max_steps,\n",
        "                         const int max_shrinkage)\n",
        "{\n",
        "    for (;;) {\n",
        "        if (sl->phase == CLV_NSS__START) {\n",
        "            if (sl->step == num_inner_steps) return 0;\n",
        "            clv_nss__direction(r, chol, sl->d);\n",
        "            sl->logslice = w->lp + log(clv_nss__uniform(r));\n",
        "            sl->left = -clv_nss__uniform(r);\n",
        "            sl->right = sl->left + 1;\n",
        "            sl->j = (int)floor((clv_real)max_steps * clv_nss__uniform(r));\n",
        "            if (sl->j > max_steps - 1) sl->j = max_steps - 1;\n",
        "            sl->k = max_steps - 1 - sl->j;\n",
        "            sl->shrinks = 0;\n",
        "            sl->phase = CLV_NSS__LEFT;\n",
        "        } else if (sl->phase == CLV_NSS__LEFT) {\n",
        "            sl->t = sl->left;\n",
        "            if (sl->j > 0 && clv_nss__propose(w, sl, data)) return 1;\n",
        "            sl->phase = CLV_NSS__RIGHT;\n",
        "        } else if (sl->phase == CLV_NSS__RIGHT) {\n",
        "            sl->t = sl->right;\n",
        "            if (sl->k > 0 && clv_nss__propose(w, sl, data)) return 1;\n",
        "            sl->phase = CLV_NSS__SHRINK;\n",
        "        } else {\n",
        "            if (sl->shrinks == max_shrinkage) {\n",
        "                w->exhausted += 1; /* stay put, as blackjax does */\n",
        "                sl->step += 1;\n",
        "                sl->phase = CLV_NSS__START;\n",
        "                continue;\n",
        "            }\n",
        "            sl->shrinks += 1;\n",
        "            sl->t = sl->left + clv_nss__uniform(r) * (sl->right - sl->left);\n",
        "            if (clv_nss__propose(w, sl, data)) return 1;\n",
        "            clv_nss__narrow(sl);\n",
        "        }\n",
        "    }\n",
        "}\n",
        "\n",
        "/* The likelihood of the waiting point: the walker's next move. */\n",
        "inline void clv_nss__take(clv_nss__walker *w, clv_nss__slice *sl, const clv_real ll)\n",
        "{\n",
        "    const int inside = ll > w->threshold;\n",
        "    w->evals += 1;\n",
        "    if (sl->phase == CLV_NSS__LEFT) {\n",
        "        if (inside) {\n",
        "            sl->left -= 1;\n",
        "            sl->j -= 1;\n",
        "        } else {\n",
        "            sl->phase = CLV_NSS__RIGHT;\n",
        "        }\n",
        "    } else if (sl->phase == CLV_NSS__RIGHT) {\n",
        "        if (inside) {\n",
        "            sl->right += 1;\n",
        "            sl->k -= 1;\n",
        "        } else {\n",
        "            sl->phase = CLV_NSS__SHRINK;\n",
        "        }\n",
        "    } else if (inside) {\n",
        "        for (int q = 0; q < CLV_NSS_DIM; ++q) w->x[q] = sl->x_new[q];\n",
        "        w->ll = ll;\n",
        "        w->lp = sl->lp_new;\n",
        "        sl->step += 1;\n",
        "        sl->phase = CLV_NSS__START;\n",
        "    } else {\n",
        "        clv_nss__narrow(sl);\n",
        "    }\n",
        "}\n",
        "\n",
        "#endif /* the walker */\n",
        "\n",
        "#ifdef CLV_NSS_GROUP\n",
        "/* Lane 0's point (and a flag: more work or not) to every lane: shared\n",
        " * holds CLV_NSS_DIM + 1 values. */\n",
        "inline int clv_nss__share(const clv_real *x_lead, const int flag, clv_real *x, __local clv_real *shared)\n",
        "{\n",
        "    if (clv_lane() == 0) {\n",
        "        for (int q = 0; q < CLV_NSS_DIM; ++q) shared[q] = x_lead[q];\n",
        "        shared[CLV_NSS_DIM] = (clv_real)flag;\n",
        "    }\n",
        "    barrier(CLK_LOCAL_MEM_FENCE);\n",
        "    for (int q = 0; q < CLV_NSS_DIM; ++q) x[q] = shared[q];\n",
        "    const int got = (int)shared[CLV_NSS_DIM];\n",
        "    barrier(CLK_LOCAL_MEM_FENCE); /* every lane has read before lane 0 writes again */\n",
        "    return got;\n",
        "}\n",
        "\n",
        "__kernel void clv_nss__init(CLV_ITEMS,\n",
        "                            __global clv_real *x_out,   /* n_live x D */\n",
        "                            __global clv_real *ll_out,  /* n_live */\n",
        "                            __global clv_real *lp_out,  /* n_live */\n",
        "                            __global int *code_out,     /* n_live */\n",
        "                            __global const clv_real *data,\n",
        "                            __global clv_real *work,    /* scratch */\n",
        "                            const int one_per_group,\n",
        "                            __local clv_real *tmp,      /* lanes x CLV_NSS_TMP */\n",
        "                            __local clv_real *shared)   /* CLV_NSS_DIM + 1 */\n",
        "{\n",
        "    if (!clv_in_batch()) return; /* the whole group: clv_item() is the group's */\n",
        "    clv_real u[CLV_NSS_DIM], x_lead[CLV_NSS_DIM], x[CLV_NSS_DIM], lp = -INFINITY;\n",
        "    int code = CLV_NSS__OK;\n",
        "    if (clv_lane() == 0) {\n",
        "        clv_rng r = clv_rng_init(clv_seed(), clv_item(), 0u);\n",
        "        for (int k = 0; k < CLV_NSS_DIM; ++k) u[k] = clv_uniform(&r);\n",
        "        prior_transform(u, x_lead, data);\n",
        "        for (int k = 0; k < CLV_NSS_DIM; ++k)\n",
        "            if (!isfinite(x_lead[k])) code = CLV_NSS__BAD_POINT;\n",
        "        if (code == CLV_NSS__OK) {\n",
        "            lp = logprior(x_lead, data);\n",
        "            if (!(lp > -INFINITY)) code = CLV_NSS__BAD_PRIOR;\n",
        "        }\n",
        "    } else {\n",
        "        for (int k = 0; k < CLV_NSS_DIM; ++k) x_lead[k] = 0;\n",
        "    }\n",
        "    code = clv_nss__share(x_lead, code, x, shared);\n",
        "    const clv_real ll = code == CLV_NSS__OK \? loglikelihood(x, data, CLV_NSS__WORK(work), tmp) : -INFINITY;\n",
        "    (void)one_per_group;\n",
        "    if (clv_lane() != 0) return;\n",
        "    const ulong i = clv_local();\n",
        "    for (int k = 0; k < CLV_NSS_DIM; ++k) x_out[i * CLV_NSS_DIM + k] = x_lead[k];\n",
        "    ll_out[i] = ll;\n",
        "    lp_out[i] = lp;\n",
        "    code_out[i] = code;\n",
        "}\n",
        "\n",
        "__kernel void clv_nss__update(CLV_ITEMS,\n",
        "                              __global const clv_real *start,  /* num_delete x (D + 2) */\n",
        "                              __global clv_real *state_out,    /* num_delete x (D + 2) */\n",
        "                              __global uint *counts_out,       /* num_delete x 2 */\n",
        "                              __global const clv_real *chol,   /* D x D, lower */\n",
        "                              __global const clv_real *data,\n",
        "                              __global clv_real *work,         /* scratch */\n",
        "                              const clv_real threshold,\n",
        "                              const uint iteration,\n",
        "                              const int num_inner_steps,\n",
        "                              const int max_steps,\n",
        "                              const int max_shrinkage,\n",
        "                              const int one_per_group,\n",
        "                              __local clv_real *tmp,           /* lanes x CLV_NSS_TMP */\n",
        "                              __local clv_real *shared)        /* CLV_NSS_DIM + 1 */\n",
        "{\n",
        "    if (!clv_in_batch()) return; /* the whole group */\n",
        "    const ulong i = clv_local();\n",
        "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), iteration);\n",
        "    clv_nss__walker w;\n",
        "    clv_nss__slice sl;\n",
        "    clv_real x[CLV_NSS_DIM];\n",
        "    __global const clv_real *in = start + i * CLV_NSS__STATE;\n",
        "    for (int k = 0; k < CLV_NSS_DIM; ++k) w.x[k] = in[k];\n",
        "    w.ll = in[CLV_NSS_DIM];\n",
        "    w.lp = in[CLV_NSS_DIM + 1];\n",
        "    w.threshold = threshold;\n",
        "    w.evals = 0;\n",
        "    w.exhausted = 0;\n",
        "    sl.step = 0;\n",
        "    sl.phase = CLV_NSS__START;\n",
        "    for (int k = 0; k < CLV_NSS_DIM; ++k) sl.x_new[k] = 0;\n",
        "    __global clv_real *my_work = CLV_NSS__WORK(work);\n",
        "    (void)one_per_group;\n",
        "    /* No break out of this loop, and the likelihood is called on every\n",
        "     * pass: PoCL 3.1's work-group compiler hung the group on a loop left\n",
        "     * by a break after a barrier (with 3 or more lanes). So the pass that\n",
        "     * finds the walker done evaluates its current point once more, and the\n",
        "     * value is not used. */\n",
        "    int more = 1;\n",
        "    while (more) {\n",
        "        int lead_more = 0;\n",
        "        if (clv_lane() == 0) {\n",
        "            lead_more = clv_nss__next(&w, &sl, &r, chol, data, num_inner_steps, max_steps, max_shrinkage);\n",
        "            if (!lead_more)\n",
        "                for (int k = 0; k < CLV_NSS_DIM; ++k) sl.x_new[k] = w.x[k];\n",
        "        }\n",
        "        more = clv_nss__share(sl.x_new, lead_more, x, shared);\n",
        "        const clv_real ll = loglikelihood(x, data, my_work, tmp);\n",
        "        if (clv_lane() == 0 && more) clv_nss__take(&w, &sl, ll);\n",
        "    }\n",
        "    if (clv_lane() != 0) return;\n",
        "    __global clv_real *out = state_out + i * CLV_NSS__STATE;\n",
        "    for (int k = 0; k < CLV_NSS_DIM; ++k) out[k] = w.x[k];\n",
        "    out[CLV_NSS_DIM] = w.ll;\n",
        "    out[CLV_NSS_DIM + 1] = w.lp;\n",
        "    counts_out[2 * i] = w.evals;\n",
        "    counts_out[2 * i + 1] = w.exhausted;\n",
        "}\n",
        "#endif\n",
        "\n",
        "/* ---- batched host-callback likelihoods (-DCLV_NSS_BATCH) ------------------\n",
        " * The update runs in rounds over the particles: clv_nss__walk_start and\n",
        " * clv_nss__walk_take advance each particle's walker (the cooperative\n",
        " * form's, so the same random numbers in the same order and the same\n",
        " * decisions as clv_nss__slice_step) to its next point that needs a\n",
        " * likelihood (written to prop, need = 1) or to the end of its walk (need =\n",
        " * 0); the host has the callback evaluate the waiting points, a chunk at a\n",
        " * time, and clv_nss__walk_take takes their values. Between launches a\n",
        " * particle's walker, slice and random stream live in CLV_NSS__REALS reals\n",
        " * and CLV_NSS__WORDS words of __global memory. */\n",
        "#ifdef CLV_NSS_BATCH\n",
        "#define CLV_NSS__REALS (3 * CLV_NSS_DIM + 8)\n",
        "#define CLV_NSS__WORDS 18\n",
        "\n",
        "/* The initial draws without the likelihood: clv_nss__init's first half. */\n",
        "__kernel void clv_nss__draw(CLV_ITEMS,\n",
        "                            __global clv_real *x_out,   /* n_live x D */\n",
        "                            __global clv_real *lp_out,  /* n_live */\n",
        "                            __global int *code_out,     /* n_live */\n",
        "                            __global const clv_real *data)\n",
        "{\n",
        "    CLV_GUARD();\n",
        "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 0u);\n",
        "    clv_real u[CLV_NSS_DIM], x[CLV_NSS_DIM];\n",
        "    for (int k = 0; k < CLV_NSS_DIM; ++k) u[k] = clv_uniform(&r);\n",
        "    prior_transform(u, x, data);\n",
        "    int code = CLV_NSS__OK;\n",
        "    for (int k = 0; k < CLV_NSS_DIM; ++k)\n",
        "        if (!isfinite(x[k])) code = CLV_NSS__BAD_POINT;\n",
        "    clv_real lp = -INFINITY;\n",
        "    if (code == CLV_NSS__OK) {\n",
        "        lp = logprior(x, data);\n",
        "        if (!(lp > -INFINITY)) code = CLV_NSS__BAD_PRIOR;\n",
        "    }\n",
        "    const ulong i = clv_local();\n",
        "    for (int k = 0; k < CLV_NSS_DIM; ++k) x_out[i * CLV_NSS_DIM + k] = x[k];\n",
        "    lp_out[i] = lp;\n",
        "    code_out[i] = code;\n",
        "}\n",
        "\n",
        "inline void clv_nss__save(const clv_nss__walker *w, const clv_nss__slice *sl, const clv_rng *r,\n",
        "                          __global clv_real *re, __global uint *wo)\n",
        "{\n",
        "    for (int q = 0; q < CLV_NSS_DIM; ++q) {\n",
        "        re[q] = w->x[q];\n",
        "        re[CLV_NSS_DIM + q] = sl->d[q];\n",
        "        re[2 * CLV_NSS_DIM + q] = sl->x_new[q];\n",
        "    }\n",
        "    __global clv_real *v = re + 3 * CLV_NSS_DIM;\n",
        "    v[0] = w->ll;\n",
        "    v[1] = w->lp;\n",
        "    v[2] = w->threshold;\n",
        "    v[3] = sl->lp_new;\n",
        "    v[4] = sl->logslice;\n",
        "    v[5] = sl->left;\n",
        "    v[6] = sl->right;\n",
        "    v[7] = sl->t;\n",
        "    wo[0] = w->evals;\n",
        "    wo[1] = w->exhausted;\n",
        "    wo[2] = (uint)sl->j;\n",
        "    wo[3] = (uint)sl->k;\n",
        "    wo[4] = (uint)sl->shrinks;\n",
        "    wo[5] = (uint)sl->step;\n",
        "    wo[6] = (uint)sl->phase;\n",
        "    wo[7] = r->key.x;\n",
        "    wo[8] = r->key.y;\n",
        "    wo[9] = r->stream;\n",
        "    wo[10] = r->draw;\n",
        "    wo[11] = (uint)r->item;\n",
        "    wo[12] = (uint)(r->item >> 32);\n",
        "    wo[13] = r->block.x;\n",
        "    wo[14] = r->block.y;\n",
        "    wo[15] = r->block.z;\n",
        "    wo[16] = r->block.w;\n",
        "    wo[17] = r->used;\n",
        "}\n",
        "\n",
        "inline void clv_nss__load(clv_nss__walker *w, clv_nss__slice *sl, clv_rng *r, __global const clv_real *re,\n",
        "                          __global const uint *wo)\n",
        "{\n",
        "    for (int q = 0; q < CLV_NSS_DIM; ++q) {\n",
        "        w->x[q] = re[q];\n",
        "        sl->d[q] = re[CLV_NSS_DIM + q];\n",
        "        sl->x_new[q] = re[2 * CLV_NSS_DIM + q];\n",
        "    }\n",
        "    __global const clv_real *v = re + 3 * CLV_NSS_DIM;\n",
        "    w->ll = v[0];\n",
        "    w->lp = v[1];\n",
        "    w->threshold = v[2];\n",
        "    sl->lp_new = v[3];\n",
        "    sl->logslice = v[4];\n",
        "    sl->left = v[5];\n",
        "    sl->right = v[6];\n",
        "    sl->t = v[7];\n",
        "    w->evals = wo[0];\n",
        "    w->exhausted = wo[1];\n",
        "    sl->j = (int)wo[2];\n",
        "    sl->k = (int)wo[3];\n",
        "    sl->shrinks = (int)wo[4];\n",
        "    sl->step = (int)wo[5];\n",
        "    sl->phase = (int)wo[6];\n",
        "    r->key = (uint2)(wo[7], wo[8]);\n",
        "    r->stream = wo[9];\n",
        "    r->draw = wo[10];\n",
        "    r->item = (ulong)wo[11] | ((ulong)wo[12] << 32);\n",
        "    r->block = (uint4)(wo[13], wo[14], wo[15], wo[16]);\n",
        "    r->used = wo[17];\n",
        "}\n",
        "\n",
        "/* Walk particle i to its next point that needs a likelihood, or to the\n",
        " * end; keep the state for the next round. */\n",
        "inline void clv_nss__walk(clv_nss__walker *w, clv_nss__slice *sl, clv_rng *r, __global const clv_real *chol,\n",
        "                          __global const clv_real *data, const int num_inner_steps, const int max_steps,\n",
        "                          const int max_shrinkage, const ulong i, __global clv_real *reals, __global uint *words,\n",
        "                          __global clv_real *prop, __global int *need)\n",
        "{\n",
        "    const int more = clv_nss__next(w, sl, r, chol, data, num_inner_steps, max_steps, max_shrinkage);\n",
        "    for (int q = 0; q < CLV_NSS_DIM; ++q) prop[i * CLV_NSS_DIM + q] = more \? sl->x_new[q] : w->x[q];\n",
        "    need[i] = more;\n",
        "    clv_nss__save(w, sl, r, reals + i * CLV_NSS__REALS, words + i * CLV_NSS__WORDS);\n",
        "}\n",
        "\n",
        "__kernel void clv_nss__walk_start(CLV_ITEMS,\n",
        "                                  __global const clv_real *start, /* num_delete x (D + 2) */\n",
        "                                  __global clv_real *reals,       /* num_delete x CLV_NSS__REALS */\n",
        "                                  __global uint *words,           /* num_delete x CLV_NSS__WORDS */\n",
        "                                  __global clv_real *prop,        /* num_delete x D: points to evaluate */\n",
        "                                  __global int *need,             /* num_delete: 1 when prop waits */\n",
        "                                  __global const clv_real *chol,  /* D x D, lower */\n",
        "                                  __global const clv_real *data,\n",
        "                                  const clv_real threshold,\n",
        "                                  const uint iteration,\n",
        "                                  const int num_inner_steps,\n",
        "                                  const int max_steps,\n",
        "                                  const int max_shrinkage)\n",
        "{\n",
        "    CLV_GUARD();\n",
        "    const ulong i = clv_local();\n",
        "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), iteration);\n",
        "    clv_nss__walker w;\n",
        "    clv_nss__slice sl;\n",
        "    __global const clv_real *in = start + i * CLV_NSS__STATE;\n",
        "    for (int k = 0; k < CLV_NSS_DIM; ++k) {\n",
        "        w.x[k] = in[k];\n",
        "        sl.d[k] = 0;\n",
        "        sl.x_new[k] = 0;\n",
        "    }\n",
        "    w.ll = in[CLV_NSS_DIM];\n",
        "    w.lp = in[CLV_NSS_DIM + 1];\n",
        "    w.threshold = threshold;\n",
        "    w.evals = 0;\n",
        "    w.exhausted = 0;\n",
        "    sl.lp_new = sl.logslice = sl.left = sl.right = sl.t = 0;\n",
        "    sl.j = sl.k = sl.shrinks = 0;\n",
        "    sl.step = 0;\n",
        "    sl.phase = CLV_NSS__START;\n",
        "    clv_nss__walk(&w, &sl, &r, chol, data, num_inner_steps, max_steps, max_shrinkage, i, reals, words, prop, need);\n",
        "}\n",
        "\n",
        "__kernel void clv_nss__walk_take(CLV_ITEMS,\n",
        "                                 __global clv_real *reals,\n",
        "                                 __global uint *words,\n",
        "                                 __global clv_real *prop,\n",
        "                                 __global int *need,\n",
        "                                 __global const clv_real *ll,    /* num_delete: prop's likelihoods */\n",
        "                                 __global const clv_real *chol,\n",
        "                                 __global const clv_real *data,\n",
        "                                 const int num_inner_steps,\n",
        "                                 const int max_steps,\n",
        "                                 const int max_shrinkage)\n",
        "{\n",
        "    CLV_GUARD();\n",
        "    const ulong i = clv_local();\n",
        "    if (!need[i]) return;\n",
        "    clv_rng r;\n",
        "    clv_nss__walker w;\n",
        "    clv_nss__slice sl;\n",
        "    clv_nss__load(&w, &sl, &r, reals + i * CLV_NSS__REALS, words + i * CLV_NSS__WORDS);\n",
        "    clv_nss__take(&w, &sl, ll[i]);\n",
        "    clv_nss__walk(&w, &sl, &r, chol, data, num_inner_steps, max_steps, max_shrinkage, i, reals, words, prop, need);\n",
        "}\n",
        "\n",
        "/* The finished walkers as clv_nss__update writes them. */\n",
        "__kernel void clv_nss__walk_end(CLV_ITEMS,\n",
        "                                __global const clv_real *reals,\n",
        "                                __global const uint *words,\n",
        "                                __global clv_real *state_out,   /* num_delete x (D + 2) */\n",
        "                                __global uint *counts_out)      /* num_delete x 2 */\n",
        "{\n",
        "    CLV_GUARD();\n",
        "    const ulong i = clv_local();\n",
        "    __global const clv_real *re = reals + i * CLV_NSS__REALS;\n",
        "    __global clv_real *out = state_out + i * CLV_NSS__STATE;\n",
        "    for (int k = 0; k < CLV_NSS_DIM; ++k) out[k] = re[k];\n",
        "    out[CLV_NSS_DIM] = re[3 * CLV_NSS_DIM];\n",
        "    out[CLV_NSS_DIM + 1] = re[3 * CLV_NSS_DIM + 1];\n",
        "    counts_out[2 * i] = words[i * CLV_NSS__WORDS];\n",
        "    counts_out[2 * i + 1] = words[i * CLV_NSS__WORDS + 1];\n",
        "}\n",
        "#endif\n",
    };
    if (n_lines) *n_lines = sizeof lines / sizeof lines[0];
    return lines;
}
/* END EMBEDDED kernels/nss.cl */

/* ---- the sampler -------------------------------------------------------- */

static inline const char *clv_nss_message(const clv_nss *s)
{
    return s ? s->message : "no sampler (host out of memory, or NULL passed)";
}

static inline void clv_nss_free(clv_nss *s)
{
    if (!s) return;
    clv_array_free(s->data);
    clv_program_free(s->program);
    CLV_FREE(s);
}

static inline clv_status clv_nss__check_problem(clv_nss *s, const clv_nss_problem *p)
{
    if (!p || !p->source) return clv_nss__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nss_new: problem and "
                                               "problem->source must not be NULL");
    if (p->dim < 1 || p->dim > CLV_NSS_MAX_DIM)
        return clv_nss__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nss_new: dim is %d; it must be 1 .. %d",
                             p->dim, CLV_NSS_MAX_DIM);
    if (p->name && (strlen(p->name) > 200 || strpbrk(p->name, "\"\\\n")))
        return clv_nss__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nss_new: problem->name must be at most 200 "
                             "characters without quotes, backslashes or newlines");
    if (p->tmp_elems > ((size_t)1 << 20))
        return clv_nss__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nss_new: tmp_elems %zu is absurdly large (it is "
                             "__local memory per lane)", p->tmp_elems);
    if (p->work_elems > ((size_t)1 << 40))
        return clv_nss__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nss_new: work_elems %zu is absurdly large",
                             p->work_elems);
    if (p->evaluate && (p->cooperative || p->tmp_elems))
        return clv_nss__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nss_new: a likelihood callback (evaluate) runs "
                             "its own kernels: cooperative and tmp_elems are for kernel likelihoods");
    return CLV_OK;
}

/* kernels/nss.cl, a #line that names the problem's file, then its source,
 * and the problem's data (clv_library_build). */
static inline clv_status clv_nss__build(clv_nss *s, const clv_nss_problem *p)
{
    char options[2048];
    int w = snprintf(options, sizeof options, "-DCLV_NSS_DIM=%d -DCLV_NSS_WORK=%zu%s%s -DCLV_NSS_TMP=%zu %s",
                     p->dim, s->work_elems, s->cooperative ? " -DCLV_NSS_GROUP" : "",
                     s->evaluate ? " -DCLV_NSS_BATCH" : "", s->tmp_elems, p->options ? p->options : "");
    if (w < 0 || (size_t)w >= sizeof options)
        return clv_nss__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nss_new: problem->options is too long");
    clv_library_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.lines = clv_nss_kernel_lines(&desc.n_lines);
    desc.library_name = "kernels/nss.cl";
    desc.source = p->source;
    desc.name = p->name ? p->name : "problem.cl";
    desc.options = options;
    desc.real = p->f32 ? CLV_F32 : CLV_F64;
    desc.data = p->data;
    desc.n_data = p->n_data;
    clv_status st = clv_library_build(s->mesh, &desc, &s->program, &s->data, s->message, sizeof s->message,
                                      "clv_nss_new");
    if (st == CLV_ERROR_NO_FP64)
        return clv_nss__fail(s, st, "clv_nss_new: %s (for float, set clv_nss_problem.f32)", clv_mesh_message(s->mesh));
    return st;
}

static inline clv_status clv_nss_new(clv_nss **out, clv_mesh *m, const clv_nss_problem *problem)
{
    if (!out) return CLV_ERROR_INVALID_ARGUMENT;
    clv_nss *s = (clv_nss *)clv_calloc(1, sizeof *s);
    *out = s;
    if (!s) return CLV_ERROR_OUT_OF_MEMORY;
    s->mesh = m;
    if (clv_mesh_device_count(m) < 1)
        return clv_nss__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nss_new: the mesh is NULL or did not open: %s",
                             clv_mesh_message(m));
    clv_status st = clv_nss__check_problem(s, problem);
    if (st != CLV_OK) return st;
    s->dim = problem->dim;
    s->f32 = problem->f32 != 0;
    s->work_elems = problem->work_elems > 0 ? problem->work_elems : 1;
    s->cooperative = problem->cooperative != 0;
    s->tmp_elems = problem->tmp_elems > 0 ? problem->tmp_elems : 1;
    s->evaluate = problem->evaluate;
    s->user = problem->user;
    s->batch_work = problem->work_elems;
    return clv_nss__build(s, problem);
}

/* ---- a run: state ------------------------------------------------------- */

/* The live set (host), the dead points so far, one iteration's particles. */
typedef struct clv_nss__state {
    clv_nss *s;
    clv_nss_opts o;          /* defaults applied */
    int dim;
    size_t n_live, n_delete;
    double *live_x, *live_ll, *live_lp, *live_birth;
    double *live_born;       /* the iteration each live point was born in (0: initial) */
    size_t n_dead, dead_capacity;
    double *dead_x, *dead_ll, *dead_birth, *dead_born;
    size_t *order;           /* live indices sorted by logL */
    size_t *survivors;
    double *start, *next;    /* particles: n_delete x (dim + 2): x, logL, logprior */
    uint32_t *counts;        /* n_delete x 2: evaluations, exhausted shrinkages */
    double *cov, *chol;      /* dim x dim */
    clv_array *a_start, *a_next, *a_counts, *a_chol; /* a_start, a_next, a_counts: this process's rows */
    size_t first, count;     /* this process's rows of an update (clv_nss_share) */
    /* a batched callback likelihood: the walkers between rounds (count rows) */
    clv_array *a_reals, *a_words, *a_prop, *a_need, *a_ll;
    int32_t *need;           /* count: 1 when the particle's point waits for a likelihood */
    size_t *active;          /* count: the waiting particles, in index order */
    double *prop, *pack, *pll, *ll_rows; /* count x dim, count x dim, count, count */
    size_t cb_chunk;         /* points per callback at most */
    clv_array *b_x, *b_ll, *b_scratch; /* the callback's batch, b_n rows */
    size_t b_n;
    unsigned char *b_raw;    /* a batch's log-likelihoods as the device holds them */
    long calls;
    double logX, logZ, logZ_live;
    uint64_t evaluations, shrink_exhausted, nan_count;
    long iteration;
} clv_nss__state;

static inline void clv_nss__state_free(clv_nss__state *t)
{
    double *reals[] = { t->live_x, t->live_ll, t->live_lp, t->live_birth, t->live_born, t->dead_x, t->dead_ll,
                        t->dead_birth, t->dead_born, t->start, t->next, t->cov, t->chol };
    clv_array *arrays[] = { t->a_start, t->a_next, t->a_counts, t->a_chol, t->a_reals, t->a_words,
                            t->a_prop, t->a_need, t->a_ll, t->b_x, t->b_ll, t->b_scratch };
    void *more[] = { t->need, t->active, t->prop, t->pack, t->pll, t->ll_rows, t->b_raw };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; ++i) CLV_FREE(more[i]);
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; ++i) CLV_FREE(reals[i]);
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; ++i) clv_array_free(arrays[i]);
    CLV_FREE(t->order);
    CLV_FREE(t->survivors);
    CLV_FREE(t->counts);
}

/* Apply the defaults (in one place) and refuse what cannot run. */
static inline clv_status clv_nss__resolve(clv_nss *s, const clv_nss_opts *in, clv_nss_opts *o)
{
    memset(o, 0, sizeof *o);
    if (in) *o = *in;
    if (o->n_live < 0 || o->num_delete < 0 || o->num_inner_steps < 0 || o->max_steps < 0 ||
        o->max_shrinkage < 0 || o->max_iterations < 0)
        return clv_nss__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nss_run: n_live (%d), num_delete (%d), "
                             "num_inner_steps (%d), max_steps (%d), max_shrinkage (%d) and max_iterations (%ld) "
                             "must not be negative (0 means the default)", o->n_live, o->num_delete,
                             o->num_inner_steps, o->max_steps, o->max_shrinkage, o->max_iterations);
    clv_status st = clv_check_chunk(s->message, sizeof s->message, "clv_nss_run: chunk", o->chunk);
    if (st == CLV_OK)
        st = clv_check_number(s->message, sizeof s->message, "clv_nss_run: termination (0 means the default, 3)",
                              o->termination, 0, HUGE_VAL);
    if (st != CLV_OK) return st;
    if (o->shape != CLV_ITEM_PER_WORK_ITEM && o->shape != CLV_ITEM_PER_GROUP)
        return clv_nss__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nss_run: unknown shape %d", (int)o->shape);
    if (o->n_live == 0) o->n_live = 500;
    if (o->num_delete == 0) o->num_delete = o->n_live / 10 > 0 ? o->n_live / 10 : 1;
    if (o->num_inner_steps == 0) o->num_inner_steps = 2 * s->dim > 5 ? 2 * s->dim : 5;
    if (o->max_steps == 0) o->max_steps = 10;
    if (o->max_shrinkage == 0) o->max_shrinkage = 100;
    if (o->termination == 0) o->termination = 3;
    if (s->evaluate) { /* the walkers run one work item each; the callback its own kernels */
        o->shape = CLV_ITEM_PER_WORK_ITEM;
        o->local_size = 0;
    } else if (s->cooperative) o->shape = CLV_ITEM_PER_GROUP; /* local_size 0: clv_map_local_size's */
    else if (o->local_size == 0) o->local_size = o->shape == CLV_ITEM_PER_GROUP ? 1 : 0;
    if (o->num_delete >= o->n_live)
        return clv_nss__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nss_run: num_delete (%d) must be less than "
                             "n_live (%d): new points start from the survivors", o->num_delete, o->n_live);
    return CLV_OK;
}

/* Room for the dead points: 4 n_live at first (it grows by doubling), no
 * more than max_iterations can fill, never less than one iteration's. */
static inline size_t clv_nss__dead_capacity(const clv_nss__state *t)
{
    uint64_t cap = clv_bytes_add(0, t->n_live, 4, 1);
    uint64_t most = clv_bytes_add(0, t->n_delete, (uint64_t)t->o.max_iterations, 1);
    if (t->o.max_iterations > 0 && most < cap) cap = most;
    if (cap < t->n_delete) cap = t->n_delete;
    return cap > (uint64_t)SIZE_MAX ? SIZE_MAX : (size_t)cap;
}

/* Host bytes of a run before its dead points grow: clv_nss__state_alloc's
 * arrays, the init's codes (and rows when shared) and the sort keys. */
static inline uint64_t clv_nss__host_bytes(const clv_nss__state *t)
{
    uint64_t n = t->n_live, k = t->n_delete, d = (uint64_t)t->dim, b = 0;
    b = clv_bytes_add(b, n, d + 4, sizeof(double));               /* live x, ll, lp, birth, born */
    b = clv_bytes_add(b, t->dead_capacity, d + 3, sizeof(double)); /* dead x, ll, birth, born */
    b = clv_bytes_add(b, n, 2, sizeof(size_t));                   /* order, survivors */
    b = clv_bytes_add(b, k, 2 * (d + 2), sizeof(double));         /* start, next */
    b = clv_bytes_add(b, k, 2, sizeof(uint32_t));                 /* counts */
    b = clv_bytes_add(b, d, 2 * d, sizeof(double));               /* cov, chol */
    b = clv_bytes_add(b, n, 1, sizeof(int32_t) + sizeof(double) + sizeof(size_t)); /* codes, sort keys */
    if (t->o.share.exchange) b = clv_bytes_add(b, n, d + 3, sizeof(double)); /* the init's exchanged rows */
    if (t->s->evaluate) { /* clv_nss__batch_alloc's */
        b = clv_bytes_add(b, k, 2 * d + 2, sizeof(double));
        b = clv_bytes_add(b, k, 1, sizeof(int32_t) + sizeof(size_t));
        b = clv_bytes_add(b, n > k ? n : k, 1, sizeof(double));
    }
    return b;
}

/* Device bytes of a device holding n initial points and k particles: the
 * data, the covariance factor, one particle's scratch (the least any chunk
 * needs), the particle arrays and the initial points, which are all held at
 * once during the init; the largest single buffer in *largest. */
static inline uint64_t clv_nss__device_bytes(const clv_nss__state *t, uint64_t n, uint64_t k, uint64_t *largest)
{
    uint64_t rs = t->s->f32 ? sizeof(float) : sizeof(double), d = (uint64_t)t->dim, b = 0;
    size_t n_data = 1;
    clv_array_shape(t->s->data, NULL, NULL, &n_data, NULL);
    uint64_t buffers[5];
    buffers[0] = clv_bytes_add(0, n, d, rs);     /* initial points */
    buffers[1] = clv_bytes_add(0, k, d + 2, rs); /* start (next is as large) */
    buffers[2] = clv_bytes_add(0, d, d, rs);     /* Cholesky factor */
    buffers[3] = clv_bytes_add(0, t->s->work_elems, 1, rs);
    buffers[4] = clv_bytes_add(0, n_data, 1, rs);
    *largest = 0;
    for (int i = 0; i < 5; ++i) {
        b = clv_bytes_add(b, buffers[i], 1, 1);
        if (buffers[i] > *largest) *largest = buffers[i];
    }
    b = clv_bytes_add(b, n, 2 * rs + sizeof(int32_t), 1); /* initial ll, lp, code */
    b = clv_bytes_add(b, buffers[1], 1, 1);               /* next */
    b = clv_bytes_add(b, k, 2, sizeof(uint32_t));         /* counts */
    if (t->s->evaluate) { /* the walkers between rounds, and one point of a callback's batch */
        b = clv_bytes_add(b, k, CLV_NSS__WALK_REALS(d), rs);
        b = clv_bytes_add(b, k, CLV_NSS__WALK_WORDS + 1, sizeof(uint32_t));
        b = clv_bytes_add(b, d + 1 + t->s->batch_work, rs, 1);
    }
    return b;
}

/* Refuse, before anything is allocated, a run whose arrays cannot fit: a
 * device's global memory or largest allocation, or the host's memory. */
static inline clv_status clv_nss__check_sizes(clv_nss__state *t)
{
    clv_nss *s = t->s;
    int nd = clv_mesh_device_count(s->mesh);
    size_t *split = (size_t *)clv_calloc(4 * (size_t)nd, sizeof(size_t));
    if (!split) return clv_nss__fail(s, CLV_ERROR_OUT_OF_MEMORY, "clv_nss_run: out of host memory");
    size_t n_first, n_count, k_first, k_count;
    clv_share_range(&t->o.share, t->n_live, &n_first, &n_count);
    clv_share_range(&t->o.share, t->n_delete, &k_first, &k_count);
    clv_status st = n_count ? clv_mesh_split_items(s->mesh, n_count, split, split + nd) : CLV_OK;
    if (st == CLV_OK && k_count) st = clv_mesh_split_items(s->mesh, k_count, split + 2 * nd, split + 3 * nd);
    if (st != CLV_OK) st = clv_nss__fail_core(s, st, "clv_nss_run: splitting the points");
    for (int i = 0; st == CLV_OK && i < nd; ++i) {
        clv_device_info info;
        uint64_t largest = 0, need = clv_nss__device_bytes(t, split[nd + i], split[3 * nd + i], &largest);
        if (clv_mesh_device_info(s->mesh, i, &info) != CLV_OK || info.lost) continue;
        if (largest > info.max_alloc_bytes)
            st = clv_nss__fail(s, CLV_ERROR_OUT_OF_MEMORY, "clv_nss_run: n_live %d and num_delete %d with dim %d "
                               "(work_elems %zu) do not fit device %d (%s): its largest buffer would be %llu bytes, "
                               "above the %llu bytes it can allocate at once (CL_DEVICE_MAX_MEM_ALLOC_SIZE); use a "
                               "smaller n_live or more devices", t->o.n_live, t->o.num_delete, t->dim,
                               s->work_elems, i, info.name, (unsigned long long)largest,
                               (unsigned long long)info.max_alloc_bytes);
        else if (need > info.global_mem_bytes)
            st = clv_nss__fail(s, CLV_ERROR_OUT_OF_MEMORY, "clv_nss_run: n_live %d and num_delete %d with dim %d "
                               "(work_elems %zu) need %llu bytes of device memory on device %d (%s), which has %llu "
                               "bytes (CL_DEVICE_GLOBAL_MEM_SIZE); use a smaller n_live or more devices",
                               t->o.n_live, t->o.num_delete, t->dim, s->work_elems, (unsigned long long)need, i,
                               info.name,
                               (unsigned long long)info.global_mem_bytes);
    }
    CLV_FREE(split);
    if (st != CLV_OK) return st;
    uint64_t need = clv_nss__host_bytes(t), available = clv_host_memory_available();
    if (need > (uint64_t)SIZE_MAX)
        return clv_nss__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nss_run: n_live %d with dim %d needs more host "
                             "memory than size_t can count", t->o.n_live, t->dim);
    if (available && need > available)
        return clv_nss__fail(s, CLV_ERROR_OUT_OF_MEMORY, "clv_nss_run: n_live %d and num_delete %d with dim %d "
                             "need %llu bytes of host memory, but %llu bytes are available (MemAvailable + "
                             "SwapFree); use a smaller n_live", t->o.n_live, t->o.num_delete, t->dim,
                             (unsigned long long)need, (unsigned long long)available);
    return CLV_OK;
}

/* Every size product below is bounded: clv_nss__check_sizes refused the
 * run unless their sum fits in size_t. */
static inline clv_status clv_nss__state_alloc(clv_nss__state *t)
{
    size_t n = t->n_live, k = t->n_delete, d = (size_t)t->dim;
    t->live_x = (double *)clv_calloc(n * d, sizeof(double));
    t->live_ll = (double *)clv_calloc(n, sizeof(double));
    t->live_lp = (double *)clv_calloc(n, sizeof(double));
    t->live_birth = (double *)clv_calloc(n, sizeof(double));
    t->live_born = (double *)clv_calloc(n, sizeof(double));
    t->dead_x = (double *)clv_calloc(t->dead_capacity * d, sizeof(double));
    t->dead_ll = (double *)clv_calloc(t->dead_capacity, sizeof(double));
    t->dead_birth = (double *)clv_calloc(t->dead_capacity, sizeof(double));
    t->dead_born = (double *)clv_calloc(t->dead_capacity, sizeof(double));
    t->order = (size_t *)clv_calloc(n, sizeof(size_t));
    t->survivors = (size_t *)clv_calloc(n, sizeof(size_t));
    t->start = (double *)clv_calloc(k * (d + 2), sizeof(double));
    t->next = (double *)clv_calloc(k * (d + 2), sizeof(double));
    t->counts = (uint32_t *)clv_calloc(k * 2, sizeof(uint32_t));
    t->cov = (double *)clv_calloc(d * d, sizeof(double));
    t->chol = (double *)clv_calloc(d * d, sizeof(double));
    if (!t->live_x || !t->live_ll || !t->live_lp || !t->live_birth || !t->live_born || !t->dead_x ||
        !t->dead_ll || !t->dead_birth || !t->dead_born || !t->order || !t->survivors || !t->start || !t->next ||
        !t->counts || !t->cov || !t->chol)
        return clv_nss__fail(t->s, CLV_ERROR_OUT_OF_MEMORY, "clv_nss_run: out of host memory for n_live %d with "
                             "dim %d (%llu bytes)", t->o.n_live, t->dim, (unsigned long long)clv_nss__host_bytes(t));
    return CLV_OK;
}

/* Complete rows (n_rows x row_elems doubles, this process's in place) from
 * the other processes, agreeing on the status; st is this process's. */
static inline clv_status clv_nss__exchange(clv_nss__state *t, clv_status st, double *rows, size_t row_elems,
                                           size_t n_rows, const char *what)
{
    return clv_share_exchange(&t->o.share, st, t->s->message, rows, row_elems * sizeof(double), n_rows,
                              t->s->message, sizeof t->s->message, what);
}

static inline clv_status clv_nss__batch_alloc(clv_nss__state *t);

/* The device arrays of the update map (num_delete particles). */
static inline clv_status clv_nss__arrays_new(clv_nss__state *t)
{
    clv_nss *s = t->s;
    clv_dtype real = s->f32 ? CLV_F32 : CLV_F64;
    size_t d = (size_t)t->dim;
    clv_share_range(&t->o.share, t->n_delete, &t->first, &t->count);
    size_t k = t->count;
    clv_status st = CLV_OK;
    if (k > 0) st = clv_array_new(&t->a_start, s->mesh, real, k, d + 2, CLV_SHARDED);
    if (st == CLV_OK && k > 0) st = clv_array_new(&t->a_next, s->mesh, real, k, d + 2, CLV_SHARDED);
    if (st == CLV_OK && k > 0) st = clv_array_new(&t->a_counts, s->mesh, CLV_U32, k, 2, CLV_SHARDED);
    if (st == CLV_OK) st = clv_array_new(&t->a_chol, s->mesh, real, d * d, 1, CLV_REPLICATED);
    if (st != CLV_OK) return clv_nss__fail_core(s, st, "clv_nss_run: allocating the particle arrays");
    return s->evaluate ? clv_nss__batch_alloc(t) : CLV_OK;
}

static inline clv_map_opts clv_nss__map_opts(const clv_nss__state *t)
{
    clv_map_opts mo;
    memset(&mo, 0, sizeof mo);
    mo.chunk = t->o.chunk;
    mo.shape = t->o.shape;
    mo.local_size = t->o.local_size;
    mo.seed = t->o.seed;
    return mo;
}

/* Cooperative likelihoods: the kernels' last two arguments, the group's
 * __local tmp (CLV_NSS_TMP values per lane) and the point shared by lane 0
 * (dim + 1 values). */
static inline clv_status clv_nss__group_args(clv_nss__state *t, const char *kernel, const clv_map_opts *mo,
                                             clv_arg *args, int *n)
{
    clv_nss *s = t->s;
    size_t lanes = 0, real = s->f32 ? sizeof(float) : sizeof(double);
    if (!s->cooperative) return CLV_OK;
    clv_status st = clv_map_local_size(s->program, kernel, mo, &lanes);
    if (st != CLV_OK) return clv_nss__fail_core(s, st, "clv_nss_run: the cooperative likelihood's work-group size");
    args[(*n)++] = clv_local_mem(lanes * s->tmp_elems * real);
    args[(*n)++] = clv_local_mem(((size_t)t->dim + 1) * real);
    return CLV_OK;
}

/* ---- a run: a batched host-callback likelihood -------------------------- */

/* What a batch's log-likelihoods are set to before the callback: a quiet
 * NaN with a payload no arithmetic makes, so that a row the callback did
 * not write is told apart from a NaN it wrote. */
static const uint64_t clv_nss__unwritten64 = 0x7FFC1A5C1A5C1A5CULL;
static const uint32_t clv_nss__unwritten32 = 0x7FE1A5C1u;

/* Points per callback at most: chunk; all of a batch for CLV_CHUNK_NONE;
 * for CLV_CHUNK_AUTO the most whose batch (x, log-likelihood, scratch)
 * fits in CLV__AUTO_MARGIN of what the run leaves free on every device
 * (the callback's own buffers are its business: put them in work_elems
 * to have them counted). */
static inline size_t clv_nss__callback_chunk(const clv_nss__state *t)
{
    clv_nss *s = t->s;
    size_t most = t->n_live > t->n_delete ? t->n_live : t->n_delete;
    if (t->o.chunk > 0) return (size_t)t->o.chunk < most ? (size_t)t->o.chunk : most;
    if (t->o.chunk == CLV_CHUNK_NONE) return most;
    uint64_t rs = s->f32 ? sizeof(float) : sizeof(double), d = (uint64_t)t->dim, largest = 0;
    uint64_t point = clv_bytes_add(0, d + 1 + s->batch_work, rs, 1);
    uint64_t widest = clv_bytes_add(0, d > s->batch_work ? d : s->batch_work, rs, 1);
    uint64_t base = clv_nss__device_bytes(t, t->n_live, t->n_delete, &largest), per_device = UINT64_MAX;
    int alive = 0;
    for (int i = 0; i < clv_mesh_device_count(s->mesh); ++i) {
        clv_device_info info;
        if (clv_mesh_device_info(s->mesh, i, &info) != CLV_OK || info.lost) continue;
        alive++;
        uint64_t free_bytes = info.global_mem_bytes > base ? info.global_mem_bytes - base : 0;
        uint64_t fit = (uint64_t)(CLV__AUTO_MARGIN * (double)free_bytes) / point;
        if (info.max_alloc_bytes / widest < fit) fit = info.max_alloc_bytes / widest;
        if (fit < per_device) per_device = fit;
    }
    uint64_t total = alive > 0 && per_device <= UINT64_MAX / (uint64_t)alive ? per_device * (uint64_t)alive
                                                                             : per_device;
    if (total < 1) total = 1;
    return total < most ? (size_t)total : most;
}

/* The walkers' device arrays (this process's count rows) and the host's
 * rows for the rounds. */
static inline clv_status clv_nss__batch_alloc(clv_nss__state *t)
{
    clv_nss *s = t->s;
    clv_dtype real = s->f32 ? CLV_F32 : CLV_F64;
    size_t d = (size_t)t->dim, k = t->count, rs = s->f32 ? sizeof(float) : sizeof(double);
    t->cb_chunk = clv_nss__callback_chunk(t);
    clv_status st = CLV_OK;
    if (k > 0) {
        st = clv_array_new(&t->a_reals, s->mesh, real, k, (size_t)CLV_NSS__WALK_REALS(d) - d - 1, CLV_SHARDED);
        if (st == CLV_OK) st = clv_array_new(&t->a_words, s->mesh, CLV_U32, k, CLV_NSS__WALK_WORDS, CLV_SHARDED);
        if (st == CLV_OK) st = clv_array_new(&t->a_prop, s->mesh, real, k, d, CLV_SHARDED);
        if (st == CLV_OK) st = clv_array_new(&t->a_need, s->mesh, CLV_I32, k, 1, CLV_SHARDED);
        if (st == CLV_OK) st = clv_array_new(&t->a_ll, s->mesh, real, k, 1, CLV_SHARDED);
        if (st != CLV_OK) return clv_nss__fail_core(s, st, "clv_nss_run: allocating the walkers");
    }
    size_t rows = k > 0 ? k : 1;
    t->need = (int32_t *)clv_calloc(rows, sizeof(int32_t));
    t->active = (size_t *)clv_calloc(rows, sizeof(size_t));
    t->prop = (double *)clv_calloc(rows * d, sizeof(double));
    t->pack = (double *)clv_calloc(rows * d, sizeof(double));
    t->pll = (double *)clv_calloc(rows, sizeof(double));
    t->ll_rows = (double *)clv_calloc(rows, sizeof(double));
    t->b_raw = (unsigned char *)clv_calloc(t->cb_chunk, rs);
    if (!t->need || !t->active || !t->prop || !t->pack || !t->pll || !t->ll_rows || !t->b_raw)
        return clv_nss__fail(s, CLV_ERROR_OUT_OF_MEMORY, "clv_nss_run: out of host memory");
    return CLV_OK;
}

/* The callback's arrays for a batch of m points (made again when m
 * changes, so that a device never holds more than one batch). */
static inline clv_status clv_nss__batch_arrays(clv_nss__state *t, size_t m)
{
    clv_nss *s = t->s;
    clv_dtype real = s->f32 ? CLV_F32 : CLV_F64;
    if (t->b_n == m) return CLV_OK;
    clv_array_free(t->b_x);
    clv_array_free(t->b_ll);
    clv_array_free(t->b_scratch);
    t->b_x = t->b_ll = t->b_scratch = NULL;
    t->b_n = 0;
    clv_status st = clv_array_new(&t->b_x, s->mesh, real, m, (size_t)t->dim, CLV_SHARDED);
    if (st == CLV_OK) st = clv_array_new(&t->b_ll, s->mesh, real, m, 1, CLV_SHARDED);
    if (st == CLV_OK && s->batch_work) st = clv_array_new(&t->b_scratch, s->mesh, real, m, s->batch_work, CLV_SHARDED);
    if (st != CLV_OK)
        return clv_nss__fail(s, st, "clv_nss_run: allocating the likelihood callback's batch of %zu points (chunk "
                             "%zu): %s", m, t->cb_chunk, clv_mesh_message(s->mesh));
    t->b_n = m;
    return CLV_OK;
}

/* "x = (x0, x1, ...)" of a point, for messages. */
static inline void clv_nss__describe(const clv_nss__state *t, const double *x, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "x = (");
    for (int k = 0; k < t->dim && used + 40 < size; ++k)
        used += (size_t)snprintf(buf + used, size - used, "%s%.17g", k ? ", " : "", x[k]);
    if (used + 2 < size) snprintf(buf + used, size - used, ")");
}

/* The batch's values after a call: a row left unwritten or a NaN is an
 * error naming the point; the others go to ll. Row r is point x[r] and
 * global `what` index[r] (index NULL: base + r). */
static inline clv_status clv_nss__take_batch(clv_nss__state *t, const double *x, size_t m, double *ll,
                                             const size_t *index, size_t base, const char *what)
{
    clv_nss *s = t->s;
    size_t rs = s->f32 ? sizeof(float) : sizeof(double), unwritten = 0, first = 0;
    char where[600];
    for (size_t r = 0; r < m; ++r) {
        const unsigned char *v = t->b_raw + r * rs;
        double value;
        int blank;
        if (s->f32) {
            float f;
            memcpy(&f, v, sizeof f);
            value = f;
            blank = memcmp(v, &clv_nss__unwritten32, sizeof f) == 0;
        } else {
            memcpy(&value, v, sizeof value);
            blank = memcmp(v, &clv_nss__unwritten64, sizeof value) == 0;
        }
        if (blank) {
            if (unwritten++ == 0) first = r;
            continue;
        }
        if (isnan(value)) {
            clv_nss__describe(t, x + r * (size_t)t->dim, where, sizeof where);
            return clv_nss__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nss_run: the likelihood callback wrote NaN for "
                                 "%s %zu (row %zu of call %ld, %s): write -inf for a point outside the "
                                 "likelihood's support", what, index ? t->first + index[r] : base + r, r, t->calls,
                                 where);
        }
        ll[r] = value;
    }
    if (unwritten)
        return clv_nss__fail(s, CLV_ERROR_SHAPE, "clv_nss_run: the likelihood callback wrote %zu of the %zu "
                             "log-likelihoods of call %ld (the first left unwritten: row %zu, %s %zu): it must "
                             "write batch->count values", m - unwritten, m, t->calls, first, what,
                             index ? t->first + index[first] : base + first);
    return CLV_OK;
}

/* One call of the callback on m points (host rows x, m <= cb_chunk). */
static inline clv_status clv_nss__call(clv_nss__state *t, const double *x, size_t m, double *ll,
                                       const size_t *index, size_t base, const char *what)
{
    clv_nss *s = t->s;
    size_t rs = s->f32 ? sizeof(float) : sizeof(double);
    clv_status st = clv_nss__batch_arrays(t, m);
    if (st != CLV_OK) return st;
    for (size_t r = 0; r < m; ++r)
        memcpy(t->b_raw + r * rs, s->f32 ? (const void *)&clv_nss__unwritten32 : (const void *)&clv_nss__unwritten64,
               rs);
    st = clv_array_write_f64(t->b_x, x);
    if (st == CLV_OK) st = clv_array_write(t->b_ll, t->b_raw);
    if (st != CLV_OK) return clv_nss__fail_core(s, st, "clv_nss_run: uploading a batch for the likelihood callback");
    clv_nss_batch b;
    char why[1024] = "";
    memset(&b, 0, sizeof b);
    b.mesh = s->mesh;
    b.count = m;
    b.dim = t->dim;
    b.dtype = s->f32 ? CLV_F32 : CLV_F64;
    b.x = t->b_x;
    b.loglikelihood = t->b_ll;
    b.data = s->data;
    b.scratch = t->b_scratch;
    b.call = ++t->calls;
    b.message = why;
    b.message_size = sizeof why;
    clv_status cst = s->evaluate(s->user, &b);
    why[sizeof why - 1] = '\0';
    if (cst != CLV_OK) {
        int known = (int)cst > 0 && (int)cst < (int)CLV_STATUS_COUNT;
        if (!known)
            return clv_nss__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nss_run: the likelihood callback returned %d, "
                                 "which is no clv_status, in call %ld (%zu points, %ss from %zu)%s%s", (int)cst,
                                 t->calls, m, what, index ? t->first + index[0] : base, why[0] ? ": " : "", why);
        return clv_nss__fail(s, cst, "clv_nss_run: the likelihood callback failed in call %ld (%zu points, %ss "
                             "from %zu): %s (%s)", t->calls, m, what, index ? t->first + index[0] : base,
                             why[0] ? why : "no message", clv_status_string(cst));
    }
    /* the callback may have written with its own OpenCL: a failover mesh's
     * host copy must see it (no-op otherwise) */
    st = clv_array_sync_host(t->b_ll);
    if (st == CLV_OK) st = clv_array_read(t->b_ll, t->b_raw);
    if (st != CLV_OK) return clv_nss__fail_core(s, st, "clv_nss_run: reading the likelihood callback's values");
    return clv_nss__take_batch(t, x, m, ll, index, base, what);
}

/* Log-likelihoods of n host points (rows of x) by the callback, at most
 * cb_chunk a call, in row order. */
static inline clv_status clv_nss__evaluate(clv_nss__state *t, const double *x, size_t n, double *ll,
                                           const size_t *index, size_t base, const char *what)
{
    size_t d = (size_t)t->dim;
    for (size_t off = 0; off < n; off += t->cb_chunk) {
        size_t m = n - off < t->cb_chunk ? n - off : t->cb_chunk;
        clv_status st = clv_nss__call(t, x + off * d, m, ll + off, index ? index + off : NULL, base + off, what);
        if (st != CLV_OK) return st;
    }
    return CLV_OK;
}

/* A walker kernel over this process's particles: one launch per device
 * (they hold no scratch). */
static inline clv_status clv_nss__walk_map(clv_nss__state *t, const char *kernel, const clv_arg *args, int n)
{
    clv_map_opts mo = clv_nss__map_opts(t);
    mo.chunk = CLV_CHUNK_NONE;
    mo.item_offset = t->first;
    clv_status st = clv_map(t->s->program, kernel, t->count, &mo, args, n);
    if (st != CLV_OK) return clv_nss__fail(t->s, st, "clv_nss_run: %s: %s", kernel, clv_mesh_message(t->s->mesh));
    return CLV_OK;
}

/* The update in rounds: the walkers run to their next point that needs a
 * likelihood, the callback evaluates the waiting points in particle order
 * (a chunk at a time), the walkers take the values; until every walker has
 * made its num_inner_steps slice steps. */
static inline clv_status clv_nss__update_batch(clv_nss__state *t, double threshold)
{
    clv_nss *s = t->s;
    size_t d = (size_t)t->dim;
    clv_arg args[12];
    int n = 0;
    args[n++] = clv_in(t->a_start);
    args[n++] = clv_out(t->a_reals);
    args[n++] = clv_out(t->a_words);
    args[n++] = clv_out(t->a_prop);
    args[n++] = clv_out(t->a_need);
    args[n++] = clv_in(t->a_chol);
    args[n++] = clv_in(s->data);
    args[n++] = s->f32 ? clv_float((float)threshold) : clv_double(threshold);
    args[n++] = clv_uint((uint32_t)(t->iteration + 1));
    args[n++] = clv_int(t->o.num_inner_steps);
    args[n++] = clv_int(t->o.max_steps);
    args[n++] = clv_int(t->o.max_shrinkage);
    clv_status st = clv_nss__walk_map(t, "clv_nss__walk_start", args, n);
    for (;;) {
        if (st != CLV_OK) return st;
        st = clv_array_read(t->a_need, t->need);
        if (st == CLV_OK) st = clv_array_read_f64(t->a_prop, t->prop);
        if (st != CLV_OK) return clv_nss__fail_core(s, st, "clv_nss_run: reading the walkers' points");
        size_t n_active = 0;
        for (size_t j = 0; j < t->count; ++j)
            if (t->need[j]) {
                memcpy(t->pack + n_active * d, t->prop + j * d, d * sizeof(double));
                t->active[n_active++] = j;
            }
        if (n_active == 0) break;
        st = clv_nss__evaluate(t, t->pack, n_active, t->pll, t->active, 0, "particle");
        if (st != CLV_OK) return st;
        memset(t->ll_rows, 0, t->count * sizeof(double));
        for (size_t r = 0; r < n_active; ++r) t->ll_rows[t->active[r]] = t->pll[r];
        st = clv_array_write_f64(t->a_ll, t->ll_rows);
        if (st != CLV_OK) return clv_nss__fail_core(s, st, "clv_nss_run: uploading the walkers' likelihoods");
        n = 0;
        args[n++] = clv_inout(t->a_reals);
        args[n++] = clv_inout(t->a_words);
        args[n++] = clv_inout(t->a_prop);
        args[n++] = clv_inout(t->a_need);
        args[n++] = clv_in(t->a_ll);
        args[n++] = clv_in(t->a_chol);
        args[n++] = clv_in(s->data);
        args[n++] = clv_int(t->o.num_inner_steps);
        args[n++] = clv_int(t->o.max_steps);
        args[n++] = clv_int(t->o.max_shrinkage);
        st = clv_nss__walk_map(t, "clv_nss__walk_take", args, n);
    }
    n = 0;
    args[n++] = clv_in(t->a_reals);
    args[n++] = clv_in(t->a_words);
    args[n++] = clv_out(t->a_next);
    args[n++] = clv_out(t->a_counts);
    return clv_nss__walk_map(t, "clv_nss__walk_end", args, n);
}

/* The initial draws of a callback likelihood: the points and their prior
 * on the device, then (when every point is valid: else clv_nss__init_check
 * names the first bad one) the callback on them a chunk at a time. */
static inline clv_status clv_nss__draw_map(clv_nss__state *t, clv_array *x, clv_array *lp, clv_array *code,
                                           size_t first, size_t count)
{
    clv_arg args[4];
    args[0] = clv_out(x);
    args[1] = clv_out(lp);
    args[2] = clv_out(code);
    args[3] = clv_in(t->s->data);
    clv_map_opts mo = clv_nss__map_opts(t);
    mo.chunk = CLV_CHUNK_NONE;
    mo.item_offset = first;
    clv_status st = clv_map(t->s->program, "clv_nss__draw", count, &mo, args, 4);
    if (st != CLV_OK) return clv_nss__fail_core(t->s, st, "clv_nss_run: initial draws");
    return CLV_OK;
}

static inline clv_status clv_nss__init_evaluate(clv_nss__state *t, const int32_t *codes, size_t first, size_t count)
{
    for (size_t i = first; i < first + count; ++i)
        if (codes[i] != 0) {
            for (size_t j = first; j < first + count; ++j) t->live_ll[j] = -INFINITY;
            return CLV_OK;
        }
    return clv_nss__evaluate(t, t->live_x + first * (size_t)t->dim, count, t->live_ll + first, NULL, first,
                             "initial point");
}

/* ---- a run: the initial draws ------------------------------------------- */

/* The u that the device drew for coordinate k of initial point `item`. */
static inline double clv_nss__initial_u(const clv_nss__state *t, size_t item, int k)
{
    if (!t->s->f32) return clv_uniform_f64_host(t->o.seed, item, 0, 2u * (uint32_t)k);
    uint32_t word = clv_rng_word_host(t->o.seed, item, 0, (uint32_t)k);
    return ((double)(word >> 9) + 0.5) * (1.0 / 8388608.0); /* clv_uniform_f32 */
}

/* The first point the init kernel flagged, as an error naming it and its u. */
static inline clv_status clv_nss__init_check(clv_nss__state *t, const int32_t *codes)
{
    for (size_t i = 0; i < t->n_live; ++i) {
        if (codes[i] == 0) continue;
        char u[400] = "";
        size_t used = 0;
        for (int k = 0; k < t->dim && used + 40 < sizeof u; ++k)
            used += (size_t)snprintf(u + used, sizeof u - used, "%s%.17g", k ? ", " : "",
                                     clv_nss__initial_u(t, i, k));
        if (codes[i] == 1)
            return clv_nss__fail(t->s, CLV_ERROR_INVALID_ARGUMENT, "prior_transform gave a non-finite point for "
                                 "initial point %zu (u = (%s))", i, u);
        return clv_nss__fail(t->s, CLV_ERROR_INVALID_ARGUMENT, "logprior is NaN or -inf at prior_transform(u) for "
                             "initial point %zu (u = (%s)): the transform must map into the prior's support",
                             i, u);
    }
    return CLV_OK;
}

/* NaN log-likelihoods become -inf (outside every constraint, weight 0). */
static inline void clv_nss__sanitise(clv_nss__state *t)
{
    for (size_t i = 0; i < t->n_live; ++i)
        if (isnan(t->live_ll[i])) {
            t->live_ll[i] = -INFINITY;
            t->nan_count++;
        }
}

static inline clv_status clv_nss__init_map(clv_nss__state *t, clv_array *x, clv_array *ll, clv_array *lp,
                                           clv_array *code, size_t first, size_t count)
{
    clv_nss *s = t->s;
    clv_map_opts mo = clv_nss__map_opts(t);
    mo.item_offset = first;
    clv_arg args[9];
    int n = 7;
    args[0] = clv_out(x);
    args[1] = clv_out(ll);
    args[2] = clv_out(lp);
    args[3] = clv_out(code);
    args[4] = clv_in(s->data);
    args[5] = clv_scratch(s->work_elems * (s->f32 ? sizeof(float) : sizeof(double)));
    args[6] = clv_int(t->o.shape == CLV_ITEM_PER_GROUP);
    clv_status st = clv_nss__group_args(t, "clv_nss__init", &mo, args, &n);
    if (st != CLV_OK) return st;
    st = clv_map(s->program, "clv_nss__init", count, &mo, args, n);
    if (st != CLV_OK) return clv_nss__fail_core(s, st, "clv_nss_run: initial draws");
    return CLV_OK;
}

static inline clv_status clv_nss__init(clv_nss__state *t)
{
    clv_nss *s = t->s;
    clv_dtype real = s->f32 ? CLV_F32 : CLV_F64;
    clv_array *x = NULL, *ll = NULL, *lp = NULL, *code = NULL;
    size_t first = 0, count = 0, d = (size_t)t->dim, row = d + 3;
    clv_share_range(&t->o.share, t->n_live, &first, &count);
    int32_t *codes = (int32_t *)clv_calloc(t->n_live, sizeof(int32_t));
    double *rows = t->o.share.exchange ? (double *)clv_calloc(t->n_live * row, sizeof(double)) : NULL;
    clv_status st = codes && (rows || !t->o.share.exchange) ? CLV_OK
                    : clv_nss__fail(s, CLV_ERROR_OUT_OF_MEMORY, "clv_nss_run: out of host memory");
    if (st == CLV_OK && count > 0) {
        st = clv_array_new(&x, s->mesh, real, count, d, CLV_SHARDED);
        if (st == CLV_OK && !s->evaluate) st = clv_array_new(&ll, s->mesh, real, count, 1, CLV_SHARDED);
        if (st == CLV_OK) st = clv_array_new(&lp, s->mesh, real, count, 1, CLV_SHARDED);
        if (st == CLV_OK) st = clv_array_new(&code, s->mesh, CLV_I32, count, 1, CLV_SHARDED);
        if (st != CLV_OK) st = clv_nss__fail_core(s, st, "clv_nss_run: allocating the initial points");
        if (st == CLV_OK)
            st = s->evaluate ? clv_nss__draw_map(t, x, lp, code, first, count)
                             : clv_nss__init_map(t, x, ll, lp, code, first, count);
        if (st == CLV_OK) st = clv_array_read_f64(x, t->live_x + first * d);
        if (st == CLV_OK && !s->evaluate) st = clv_array_read_f64(ll, t->live_ll + first);
        if (st == CLV_OK) st = clv_array_read_f64(lp, t->live_lp + first);
        if (st == CLV_OK) st = clv_array_read(code, codes + first);
        if (st == CLV_OK && s->evaluate) st = clv_nss__init_evaluate(t, codes, first, count);
    }
    if (t->o.share.exchange && !rows) { /* still take part, so that no process waits */
        double none = 0;
        clv_nss__exchange(t, st, &none, 0, 0, "clv_nss_run: initial draws");
    } else if (rows) { /* every process's rows to every process: x, logL, logprior, code */
        for (size_t i = first; st == CLV_OK && i < first + count; ++i) {
            memcpy(rows + i * row, t->live_x + i * d, d * sizeof(double));
            rows[i * row + d] = t->live_ll[i];
            rows[i * row + d + 1] = t->live_lp[i];
            rows[i * row + d + 2] = (double)codes[i];
        }
        st = clv_nss__exchange(t, st, rows, row, t->n_live, "clv_nss_run: initial draws");
        for (size_t i = 0; st == CLV_OK && i < t->n_live; ++i) {
            memcpy(t->live_x + i * d, rows + i * row, d * sizeof(double));
            t->live_ll[i] = rows[i * row + d];
            t->live_lp[i] = rows[i * row + d + 1];
            codes[i] = (int32_t)rows[i * row + d + 2];
        }
    }
    CLV_FREE(rows);
    if (st == CLV_OK) st = clv_nss__init_check(t, codes);
    if (st == CLV_OK) {
        for (size_t i = 0; i < t->n_live; ++i) t->live_birth[i] = -INFINITY;
        t->evaluations = t->n_live;
        clv_nss__sanitise(t);
    }
    clv_array_free(x);
    clv_array_free(ll);
    clv_array_free(lp);
    clv_array_free(code);
    CLV_FREE(codes);
    return st;
}

/* ---- a run: one iteration ----------------------------------------------- */

/* log mean exp of the live log-likelihoods. */
static inline double clv_nss__logmeanexp(const double *v, size_t n)
{
    double mx = -INFINITY, sum = 0;
    for (size_t i = 0; i < n; ++i) if (v[i] > mx) mx = v[i];
    if (mx == -INFINITY || !isfinite(mx)) return mx;
    for (size_t i = 0; i < n; ++i) sum += exp(v[i] - mx);
    return mx + log(sum / (double)n);
}

typedef struct clv_nss__key { double value; size_t index; } clv_nss__key;

/* Ascending value, then ascending index: a total order, so the sort is
 * deterministic whatever qsort does with ties. */
static inline int clv_nss__key_cmp(const void *a, const void *b)
{
    const clv_nss__key *x = (const clv_nss__key *)a, *y = (const clv_nss__key *)b;
    if (x->value < y->value) return -1;
    if (x->value > y->value) return 1;
    return (x->index > y->index) - (x->index < y->index);
}

static inline clv_status clv_nss__sort_live(clv_nss__state *t)
{
    clv_nss__key *keys = (clv_nss__key *)clv_calloc(t->n_live, sizeof *keys);
    if (!keys) return clv_nss__fail(t->s, CLV_ERROR_OUT_OF_MEMORY, "clv_nss_run: out of host memory");
    for (size_t i = 0; i < t->n_live; ++i) {
        keys[i].value = t->live_ll[i];
        keys[i].index = i;
    }
    qsort(keys, t->n_live, sizeof *keys, clv_nss__key_cmp);
    for (size_t i = 0; i < t->n_live; ++i) t->order[i] = keys[i].index;
    CLV_FREE(keys);
    return CLV_OK;
}

/* Covariance of the live points (ddof 0, as blackjax's
 * particles_covariance_matrix) and its Cholesky factor. A tiny ridge is
 * added if the covariance is singular (e.g. a plateau of identical points). */
static inline void clv_nss__covariance(clv_nss__state *t)
{
    size_t n = t->n_live, d = (size_t)t->dim;
    double mean[CLV_NSS_MAX_DIM];
    for (size_t k = 0; k < d; ++k) {
        double s = 0;
        for (size_t i = 0; i < n; ++i) s += t->live_x[i * d + k];
        mean[k] = s / (double)n;
    }
    for (size_t a = 0; a < d; ++a)
        for (size_t b = 0; b <= a; ++b) {
            double s = 0;
            for (size_t i = 0; i < n; ++i) s += (t->live_x[i * d + a] - mean[a]) * (t->live_x[i * d + b] - mean[b]);
            t->cov[a * d + b] = t->cov[b * d + a] = s / (double)n;
        }
}

/* Lower Cholesky factor of cov + ridge I; 0 when not positive definite. */
static inline int clv_nss__cholesky(const double *cov, size_t d, double ridge, double *L)
{
    for (size_t i = 0; i < d; ++i)
        for (size_t j = 0; j <= i; ++j) {
            double s = cov[i * d + j] + (i == j ? ridge : 0);
            for (size_t k = 0; k < j; ++k) s -= L[i * d + k] * L[j * d + k];
            if (i == j) {
                if (!(s > 0) || !isfinite(s)) return 0;
                L[i * d + i] = sqrt(s);
            } else {
                L[i * d + j] = s / L[j * d + j];
            }
            L[j * d + i] = i == j ? L[i * d + i] : 0;
        }
    return 1;
}

static inline clv_status clv_nss__upload_chol(clv_nss__state *t)
{
    size_t d = (size_t)t->dim;
    clv_nss__covariance(t);
    double scale = 0;
    for (size_t k = 0; k < d; ++k) scale += fabs(t->cov[k * d + k]);
    scale = scale > 0 && isfinite(scale) ? scale / (double)d : 1;
    double ridge = 0;
    for (int tries = 0; !clv_nss__cholesky(t->cov, d, ridge, t->chol); ++tries) {
        if (tries == 30)
            return clv_nss__fail(t->s, CLV_ERROR_INVALID_ARGUMENT, "iteration %ld: the live points' covariance "
                                 "is not finite (a point with a non-finite coordinate?)", t->iteration);
        ridge = ridge == 0 ? 1e-12 * scale : ridge * 10;
    }
    clv_status st = clv_array_write_f64(t->a_chol, t->chol);
    if (st != CLV_OK) return clv_nss__fail_core(t->s, st, "clv_nss_run: uploading the covariance");
    return CLV_OK;
}

static inline clv_status clv_nss__grow_dead(clv_nss__state *t)
{
    if (t->n_dead + t->n_delete <= t->dead_capacity) return CLV_OK;
    size_t cap = 2 * t->dead_capacity, d = (size_t)t->dim;
    if (clv_bytes_add(0, t->dead_capacity, 2 * (uint64_t)d, sizeof(double)) > (uint64_t)SIZE_MAX)
        return clv_nss__fail(t->s, CLV_ERROR_OUT_OF_MEMORY, "clv_nss_run: twice %zu dead points of dim %d need "
                             "more host memory than size_t can count", t->dead_capacity, t->dim);
    double *x = (double *)CLV_REALLOC(t->dead_x, cap * d * sizeof(double));
    if (x) t->dead_x = x;
    double *ll = (double *)CLV_REALLOC(t->dead_ll, cap * sizeof(double));
    if (ll) t->dead_ll = ll;
    double *birth = (double *)CLV_REALLOC(t->dead_birth, cap * sizeof(double));
    if (birth) t->dead_birth = birth;
    double *born = (double *)CLV_REALLOC(t->dead_born, cap * sizeof(double));
    if (born) t->dead_born = born;
    if (!x || !ll || !birth || !born) return clv_nss__fail(t->s, CLV_ERROR_OUT_OF_MEMORY, "clv_nss_run: out of host memory");
    t->dead_capacity = cap;
    return CLV_OK;
}

/* Move the n_delete lowest live points to the dead list and advance log X
 * and log Z (blackjax.ns.base.update_ns_runtime_info: with m_i = N, N-1,
 * ..., N-k+1 live points, log X_i = log X + cumsum(-1/m_i), log dX_i =
 * log X_i + log(1 - e^{-1/m_i})). */
static inline clv_status clv_nss__kill(clv_nss__state *t)
{
    size_t d = (size_t)t->dim;
    clv_status st = clv_nss__grow_dead(t);
    if (st != CLV_OK) return st;
    double log_dZ = -INFINITY;
    for (size_t j = 0; j < t->n_delete; ++j) {
        size_t i = t->order[j];
        memcpy(t->dead_x + t->n_dead * d, t->live_x + i * d, d * sizeof(double));
        t->dead_ll[t->n_dead] = t->live_ll[i];
        t->dead_birth[t->n_dead] = t->live_birth[i];
        t->dead_born[t->n_dead] = t->live_born[i];
        t->n_dead++;
        double m = (double)(t->n_live - j);
        t->logX -= 1.0 / m;
        log_dZ = clv_nss__logaddexp(log_dZ, t->live_ll[i] + t->logX + clv_nss__log1mexp(-1.0 / m));
    }
    t->logZ = clv_nss__logaddexp(t->logZ, log_dZ);
    return CLV_OK;
}

/* Start points: uniform with replacement over the survivors (logL > L0),
 * chosen on the host from stream 2^31 | iteration (blackjax.ns.base.delete_fn). */
static inline clv_status clv_nss__choose_starts(clv_nss__state *t, double threshold)
{
    size_t n_surv = 0, d = (size_t)t->dim;
    for (size_t i = 0; i < t->n_live; ++i)
        if (t->live_ll[i] > threshold) t->survivors[n_surv++] = i;
    if (n_surv == 0)
        return clv_nss__fail(t->s, CLV_ERROR_INVALID_ARGUMENT, "iteration %ld: no live point has a log-likelihood "
                             "above the threshold L0 = %.17g, so no new point can start: the likelihood is "
                             "constant (a plateau) or -inf/NaN on all %zu live points", t->iteration + 1, threshold,
                             t->n_live);
    uint32_t stream = CLV_NSS__STREAM_START | (uint32_t)(t->iteration + 1);
    for (size_t j = 0; j < t->n_delete; ++j) {
        double u = clv_uniform_f64_host(t->o.seed, j, stream, 0);
        size_t pick = (size_t)(u * (double)n_surv);
        size_t i = t->survivors[pick < n_surv ? pick : n_surv - 1];
        double *p = t->start + j * (d + 2);
        memcpy(p, t->live_x + i * d, d * sizeof(double));
        p[d] = t->live_ll[i];
        p[d + 1] = t->live_lp[i];
    }
    return CLV_OK;
}

/* The update of a kernel likelihood: one launch (a chunk) runs whole walks. */
static inline clv_status clv_nss__update_kernel(clv_nss__state *t, double threshold)
{
    clv_nss *s = t->s;
    clv_map_opts mo = clv_nss__map_opts(t);
    mo.item_offset = t->first;
    clv_arg args[14];
    int n = 0;
    args[n++] = clv_in(t->a_start);
    args[n++] = clv_out(t->a_next);
    args[n++] = clv_out(t->a_counts);
    args[n++] = clv_in(t->a_chol);
    args[n++] = clv_in(s->data);
    args[n++] = clv_scratch(s->work_elems * (s->f32 ? sizeof(float) : sizeof(double)));
    /* Not clv_real(): clvmap 0.1.0 hands it over as 8 bytes first, which
     * PoCL accepts for a float parameter declared clv_real (reported). */
    args[n++] = s->f32 ? clv_float((float)threshold) : clv_double(threshold);
    args[n++] = clv_uint((uint32_t)(t->iteration + 1));
    args[n++] = clv_int(t->o.num_inner_steps);
    args[n++] = clv_int(t->o.max_steps);
    args[n++] = clv_int(t->o.max_shrinkage);
    args[n++] = clv_int(t->o.shape == CLV_ITEM_PER_GROUP);
    clv_status st = clv_nss__group_args(t, "clv_nss__update", &mo, args, &n);
    if (st != CLV_OK) return st;
    st = clv_map(s->program, "clv_nss__update", t->count, &mo, args, n);
    if (st != CLV_OK) return clv_nss__fail_core(s, st, "clv_nss_run: particle update");
    return CLV_OK;
}

/* This process's particles: rows first .. first + count - 1. */
static inline clv_status clv_nss__update_local(clv_nss__state *t, double threshold)
{
    clv_nss *s = t->s;
    size_t d = (size_t)t->dim;
    clv_status st = clv_array_write_f64(t->a_start, t->start + t->first * (d + 2));
    if (st != CLV_OK) return clv_nss__fail_core(s, st, "clv_nss_run: uploading the start points");
    st = s->evaluate ? clv_nss__update_batch(t, threshold) : clv_nss__update_kernel(t, threshold);
    if (st != CLV_OK) return st;
    st = clv_array_read_f64(t->a_next, t->next + t->first * (d + 2));
    if (st == CLV_OK) st = clv_array_read(t->a_counts, t->counts + 2 * t->first);
    if (st != CLV_OK) return clv_nss__fail_core(s, st, "clv_nss_run: reading the particles");
    return CLV_OK;
}

static inline clv_status clv_nss__update_map(clv_nss__state *t, double threshold)
{
    clv_status st = t->count > 0 ? clv_nss__update_local(t, threshold) : CLV_OK;
    if (!t->o.share.exchange) return st;
    /* every process's particles to every process: x, logL, logprior, counts */
    size_t d = (size_t)t->dim, row = d + 4, k = t->n_delete;
    double *rows = (double *)clv_calloc(k * row, sizeof(double));
    if (!rows && st == CLV_OK) st = clv_nss__fail(t->s, CLV_ERROR_OUT_OF_MEMORY, "clv_nss_run: out of host memory");
    for (size_t j = t->first; rows && st == CLV_OK && j < t->first + t->count; ++j) {
        memcpy(rows + j * row, t->next + j * (d + 2), (d + 2) * sizeof(double));
        rows[j * row + d + 2] = (double)t->counts[2 * j];
        rows[j * row + d + 3] = (double)t->counts[2 * j + 1];
    }
    if (!rows) { /* still take part, so that no process waits */
        double none = 0;
        clv_nss__exchange(t, st, &none, 0, 0, "clv_nss_run: particle update");
        return st;
    }
    st = clv_nss__exchange(t, st, rows, row, k, "clv_nss_run: particle update");
    for (size_t j = 0; st == CLV_OK && j < k; ++j) {
        memcpy(t->next + j * (d + 2), rows + j * row, (d + 2) * sizeof(double));
        t->counts[2 * j] = (uint32_t)rows[j * row + d + 2];
        t->counts[2 * j + 1] = (uint32_t)rows[j * row + d + 3];
    }
    CLV_FREE(rows);
    return st;
}

/* The new particles take the dead points' slots, born at the threshold. */
static inline void clv_nss__replace(clv_nss__state *t, double threshold)
{
    size_t d = (size_t)t->dim;
    for (size_t j = 0; j < t->n_delete; ++j) {
        size_t i = t->order[j];
        const double *p = t->next + j * (d + 2);
        memcpy(t->live_x + i * d, p, d * sizeof(double));
        t->live_ll[i] = p[d];
        t->live_lp[i] = p[d + 1];
        t->live_birth[i] = threshold;
        t->live_born[i] = (double)(t->iteration + 1);
        t->evaluations += t->counts[2 * j];
        t->shrink_exhausted += t->counts[2 * j + 1];
    }
    t->logZ_live = clv_nss__logmeanexp(t->live_ll, t->n_live) + t->logX;
}

static inline clv_status clv_nss__iterate(clv_nss__state *t)
{
    clv_status st = clv_nss__upload_chol(t);
    if (st == CLV_OK) st = clv_nss__sort_live(t);
    if (st != CLV_OK) return st;
    double threshold = t->live_ll[t->order[t->n_delete - 1]];
    st = clv_nss__choose_starts(t, threshold);
    if (st == CLV_OK) st = clv_nss__kill(t);
    if (st == CLV_OK) st = clv_nss__update_map(t, threshold);
    if (st != CLV_OK) return st;
    clv_nss__replace(t, threshold);
    t->iteration++;
    return CLV_OK;
}

/* ---- a run: the final evidence ------------------------------------------ */

/* The samples (dead, then live) sorted by logL into the result; born[i]:
 * the iteration sample i was born in (0: an initial point). */
static inline clv_status clv_nss__gather(clv_nss__state *t, clv_nss_result *r, double *born)
{
    size_t n = t->n_dead + t->n_live, d = (size_t)t->dim;
    clv_nss__key *keys = (clv_nss__key *)clv_calloc(n, sizeof *keys);
    r->x = (double *)clv_calloc(n * d, sizeof(double));
    r->loglikelihood = (double *)clv_calloc(n, sizeof(double));
    r->loglikelihood_birth = (double *)clv_calloc(n, sizeof(double));
    r->log_weight = (double *)clv_calloc(n, sizeof(double));
    if (!keys || !r->x || !r->loglikelihood || !r->loglikelihood_birth || !r->log_weight) {
        CLV_FREE(keys);
        return clv_nss__fail(t->s, CLV_ERROR_OUT_OF_MEMORY, "clv_nss_run: out of host memory");
    }
    for (size_t i = 0; i < n; ++i) {
        keys[i].value = i < t->n_dead ? t->dead_ll[i] : t->live_ll[i - t->n_dead];
        keys[i].index = i; /* ties in the order they died */
    }
    qsort(keys, n, sizeof *keys, clv_nss__key_cmp);
    for (size_t i = 0; i < n; ++i) {
        size_t k = keys[i].index, live = k - t->n_dead;
        int dead = k < t->n_dead;
        memcpy(r->x + i * d, dead ? t->dead_x + k * d : t->live_x + live * d, d * sizeof(double));
        r->loglikelihood[i] = keys[i].value;
        r->loglikelihood_birth[i] = dead ? t->dead_birth[k] : t->live_birth[live];
        born[i] = dead ? t->dead_born[k] : t->live_born[live];
    }
    r->n_samples = n;
    CLV_FREE(keys);
    return CLV_OK;
}

/* Live points at each death (blackjax.ns.utils.compute_num_live): the
 * births that come before the death minus the deaths before it, events in
 * logL order, the initial points born before everything and, on a tie, a
 * death before a birth. The tie rule is what makes plateaus right (Fowlie,
 * Handley & Su, "Nested sampling with plateaus", MNRAS 2021): the q points
 * of a plateau among n die with n, n-1, ..., n-q+1 live points, so log X
 * shrinks by about log((n - q) / n), the plateau's share, even though
 * points are born at the plateau's level (L0 = -inf while -inf points are
 * deleted) in between. */
static inline clv_status clv_nss__num_live(clv_nss__state *t, const clv_nss_result *r, const double *born,
                                           double *n_live)
{
    size_t n = r->n_samples, n_initial = 0, n_births = 0;
    clv_nss__key *births = (clv_nss__key *)clv_calloc(n, sizeof *births);
    if (!births) return clv_nss__fail(t->s, CLV_ERROR_OUT_OF_MEMORY, "clv_nss_run: out of host memory");
    for (size_t i = 0; i < n; ++i) {
        if (born[i] == 0) {
            n_initial++;
            continue;
        }
        births[n_births].value = r->loglikelihood_birth[i];
        births[n_births].index = n_births;
        n_births++;
    }
    qsort(births, n_births, sizeof *births, clv_nss__key_cmp);
    size_t before = 0;
    for (size_t i = 0; i < n; ++i) {
        while (before < n_births && births[before].value < r->loglikelihood[i]) before++;
        double live = (double)(n_initial + before) - (double)i;
        n_live[i] = live > 1 ? live : 1;
    }
    CLV_FREE(births);
    return CLV_OK;
}

/* The shrinkage uniforms of sample `item` for every draw: word j of stream
 * CLV_NSS__STREAM_SHRINK of that item (clv_rng_word_host's layout), 32
 * bits plus half a step, four draws per Philox block. */
static inline void clv_nss__shrink_uniforms(uint64_t seed, size_t item, double *u)
{
    uint32_t key[2], counter[4], block[4];
    key[0] = (uint32_t)seed;
    key[1] = (uint32_t)(seed >> 32);
    for (uint32_t b = 0; b < CLV_NSS__SHRINK_DRAWS / 4; ++b) {
        counter[0] = b;
        counter[1] = CLV_NSS__STREAM_SHRINK;
        counter[2] = (uint32_t)item;
        counter[3] = (uint32_t)((uint64_t)item >> 32);
        clv_philox4x32_10_host(counter, key, block);
        for (int q = 0; q < 4; ++q) u[4 * b + (uint32_t)q] = ((double)block[q] + 0.5) * (1.0 / 4294967296.0);
    }
}

/* Per draw j: log X_i = sum of log(U_ij) / n_i over the samples so far;
 * the trapezoid log dX_i = log(X_{i-1} - X_{i+1}) - log 2
 * (blackjax.ns.utils.logX); log Z_j = logsumexp_i(L_i + log dX_i), kept as
 * a running maximum and sum. Samples outer, draws inner, so each sample's
 * uniforms come from 25 Philox blocks. Adds each log dX_ij to
 * sum_log_dX[i]; returns log Z_j in logZ[j]. */
static inline void clv_nss__shrink(const clv_nss__state *t, const clv_nss_result *r, const double *n_live,
                                   double *sum_log_dX, double *logZ)
{
    enum { D = CLV_NSS__SHRINK_DRAWS };
    double prev[D], cur[D], next[D], mx[D], sum[D], u[D];
    size_t n = r->n_samples;
    clv_nss__shrink_uniforms(t->o.seed, 0, u);
    for (int j = 0; j < D; ++j) {
        prev[j] = 0;
        cur[j] = log(u[j]) / n_live[0];
        mx[j] = -INFINITY;
        sum[j] = 0;
    }
    for (size_t i = 0; i < n; ++i) {
        if (i + 1 < n) clv_nss__shrink_uniforms(t->o.seed, i + 1, u);
        const double ll = r->loglikelihood[i];
        double total = 0;
        for (int j = 0; j < D; ++j) {
            next[j] = i + 1 < n ? cur[j] + log(u[j]) / n_live[i + 1] : -INFINITY;
            const double log_dX = prev[j] + clv_nss__log1mexp(next[j] - prev[j]) - 0.6931471805599453;
            total += log_dX;
            const double term = ll + log_dX;
            if (term > mx[j]) {
                sum[j] = sum[j] * exp(mx[j] - term) + 1;
                mx[j] = term;
            } else if (term > -INFINITY) {
                sum[j] += exp(term - mx[j]);
            }
            prev[j] = cur[j];
            cur[j] = next[j];
        }
        sum_log_dX[i] = total;
    }
    for (int j = 0; j < D; ++j) logZ[j] = mx[j] == -INFINITY ? mx[j] : mx[j] + log(sum[j]);
}

/* log Z and its error by simulated shrinkage (Fowlie, Handley & Su 2021),
 * the weights (mean log dX over draws, as blackjax.ns.utils.ess) and their
 * Kish ESS. */
static inline clv_status clv_nss__evidence(clv_nss__state *t, clv_nss_result *r, const double *born)
{
    size_t n = r->n_samples;
    double *n_live = (double *)clv_calloc(n, sizeof(double));
    double *sum_log_dX = (double *)clv_calloc(n, sizeof(double));
    clv_status st = n_live && sum_log_dX ? clv_nss__num_live(t, r, born, n_live)
                                         : clv_nss__fail(t->s, CLV_ERROR_OUT_OF_MEMORY, "clv_nss_run: out of host memory");
    double logZ[CLV_NSS__SHRINK_DRAWS], mean = 0, var = 0;
    if (st == CLV_OK) clv_nss__shrink(t, r, n_live, sum_log_dX, logZ);
    for (int j = 0; st == CLV_OK && j < CLV_NSS__SHRINK_DRAWS; ++j) mean += logZ[j] / CLV_NSS__SHRINK_DRAWS;
    for (int j = 0; st == CLV_OK && j < CLV_NSS__SHRINK_DRAWS; ++j)
        var += (logZ[j] - mean) * (logZ[j] - mean) / CLV_NSS__SHRINK_DRAWS;
    if (st == CLV_OK) {
        r->logZ = mean;
        r->logZ_error = sqrt(var);
        double lse = -INFINITY, lse2 = -INFINITY;
        for (size_t i = 0; i < n; ++i) {
            r->log_weight[i] = sum_log_dX[i] / CLV_NSS__SHRINK_DRAWS + r->loglikelihood[i];
            lse = clv_nss__logaddexp(lse, r->log_weight[i]);
        }
        for (size_t i = 0; i < n; ++i) {
            r->log_weight[i] -= lse;
            lse2 = clv_nss__logaddexp(lse2, 2 * r->log_weight[i]);
        }
        r->ess = exp(-lse2); /* (sum w)^2 / sum w^2 with sum w = 1 */
    }
    CLV_FREE(n_live);
    CLV_FREE(sum_log_dX);
    return st;
}

/* ---- a run -------------------------------------------------------------- */

static inline void clv_nss__fill_stats(clv_nss__state *t, clv_nss_result *r)
{
    clv_mesh *m = t->s->mesh;
    r->n_devices = clv_mesh_device_count(m);
    r->device = (clv_device_stats *)clv_calloc((size_t)r->n_devices, sizeof *r->device);
    for (int i = 0; r->device && i < r->n_devices; ++i) {
        clv_mesh_stats(m, i, &r->device[i]);
        if (r->device[i].bytes_high_water > r->peak_device_bytes) r->peak_device_bytes = r->device[i].bytes_high_water;
        if (r->device[i].scratch_high_water > r->peak_scratch_bytes)
            r->peak_scratch_bytes = r->device[i].scratch_high_water;
    }
}

static inline int clv_nss__report(clv_nss__state *t)
{
    if (!t->o.progress) return 0;
    clv_nss_progress p;
    p.iteration = t->iteration;
    p.logZ = t->logZ;
    p.logZ_live = t->logZ_live;
    p.dlogZ = t->logZ_live - t->logZ;
    p.evaluations = t->evaluations;
    return t->o.progress(&p, t->o.progress_user) != 0;
}

/* Whether any process asked to stop (every process votes after every
 * iteration when shared, so that none is left waiting in the next
 * exchange): each fills all CLV_NSS__VOTES one-byte rows with its vote and
 * keeps its own range of them. */
static inline clv_status clv_nss__agree_stop(clv_nss__state *t, int *stop)
{
    if (!t->o.share.exchange) return CLV_OK;
    unsigned char votes[CLV_NSS__VOTES];
    memset(votes, *stop ? 1 : 0, sizeof votes);
    clv_status st = clv_share_exchange(&t->o.share, CLV_OK, "", votes, 1, sizeof votes, t->s->message,
                                       sizeof t->s->message, "clv_nss_run: progress");
    for (size_t i = 0; i < sizeof votes; ++i) *stop |= votes[i] != 0;
    return st;
}

/* Iterate until converged, max_iterations, or the callback says stop. */
static inline clv_status clv_nss__loop(clv_nss__state *t, clv_nss_stop *stop)
{
    for (;;) {
        if (t->logZ_live - t->logZ < -t->o.termination) {
            *stop = CLV_NSS_CONVERGED;
            return CLV_OK;
        }
        if (t->o.max_iterations && t->iteration >= t->o.max_iterations) {
            *stop = CLV_NSS_MAX_ITERATIONS;
            return CLV_OK;
        }
        clv_status st = clv_nss__iterate(t);
        if (st != CLV_OK) return st;
        int asked = clv_nss__report(t);
        st = clv_nss__agree_stop(t, &asked);
        if (st != CLV_OK) return st;
        if (asked) {
            *stop = CLV_NSS_CANCELLED;
            return CLV_OK;
        }
    }
}

static inline clv_status clv_nss__finish(clv_nss__state *t, clv_nss_result *r)
{
    r->logZ_run = clv_nss__logaddexp(t->logZ, t->logZ_live);
    r->dim = t->dim;
    r->evaluations = t->evaluations;
    r->iterations = t->iteration;
    r->shrink_exhausted = t->shrink_exhausted;
    r->nan_loglikelihood = t->nan_count;
    r->n_live = (int)t->n_live;
    r->num_delete = (int)t->n_delete;
    r->num_inner_steps = t->o.num_inner_steps;
    r->chunk = t->o.chunk;
    size_t n = t->n_dead + t->n_live;
    double *born = (double *)clv_calloc(n, sizeof(double));
    clv_status st = born ? clv_nss__gather(t, r, born)
                         : clv_nss__fail(t->s, CLV_ERROR_OUT_OF_MEMORY, "clv_nss_run: out of host memory");
    if (st == CLV_OK) st = clv_nss__evidence(t, r, born);
    CLV_FREE(born);
    clv_nss__fill_stats(t, r);
    return st;
}

static inline clv_status clv_nss_run(clv_nss *s, const clv_nss_opts *opts, clv_nss_result *result)
{
    if (result) memset(result, 0, sizeof *result);
    if (!s) return CLV_ERROR_INVALID_ARGUMENT;
    clv_nss__state t;
    memset(&t, 0, sizeof t);
    t.s = s;
    t.dim = s->dim;
    clv_status st = !s->program ? clv_nss__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nss_run: the sampler did not "
                                                "build (see clv_nss_new's status)")
                    : !result ? clv_nss__fail(s, CLV_ERROR_INVALID_ARGUMENT, "clv_nss_run: result is NULL")
                    : clv_nss__resolve(s, opts, &t.o);
    if (st == CLV_OK) {
        t.n_live = (size_t)t.o.n_live;
        t.n_delete = (size_t)t.o.num_delete;
        t.logZ = -INFINITY;
        s->message[0] = '\0';
        t.dead_capacity = clv_nss__dead_capacity(&t);
        st = clv_nss__check_sizes(&t);
    }
    if (st != CLV_OK) { /* a shared run's processes still take part, so that none waits */
        if (opts) clv_share_exchange(&opts->share, st, s->message, NULL, 0, 0, NULL, 0, "clv_nss_run");
        return st;
    }
    clv_mesh_reset_stats(s->mesh);
    st = clv_nss__state_alloc(&t);
    if (st == CLV_OK) st = clv_nss__arrays_new(&t);
    if (st == CLV_OK) st = clv_nss__init(&t);
    if (st == CLV_OK) {
        t.logZ_live = clv_nss__logmeanexp(t.live_ll, t.n_live);
        st = clv_nss__loop(&t, &result->stop);
    }
    if (st == CLV_OK) st = clv_nss__finish(&t, result);
    clv_nss__state_free(&t);
    if (st != CLV_OK) clv_nss_result_free(result);
    return st;
}

static inline void clv_nss_result_free(clv_nss_result *r)
{
    if (!r) return;
    CLV_FREE(r->x);
    CLV_FREE(r->loglikelihood);
    CLV_FREE(r->loglikelihood_birth);
    CLV_FREE(r->log_weight);
    CLV_FREE(r->device);
    memset(r, 0, sizeof *r);
}

/* A name as one CSV cell: quoted (RFC 4180, "" for a quote) when it holds a
 * comma, a quote or a line break, or starts or ends with a blank, so that
 * CSV readers (pandas, R, ArviZ, clvmap_csv.h) see the name as written. */
static inline clv_status clv_nss_write_csv(const clv_nss_result *r, FILE *f, const char *const *names)
{
    if (!r || !f || (r->n_samples > 0 && (!r->x || !r->log_weight))) return CLV_ERROR_INVALID_ARGUMENT;
    fputs("weight,log_weight,loglikelihood,loglikelihood_birth", f);
    for (int k = 0; k < r->dim; ++k) {
        if (names && names[k]) {
            fputc(',', f);
            clv_csv_write_name(f, names[k]);
        } else {
            fprintf(f, ",x%d", k);
        }
    }
    fputc('\n', f);
    for (size_t i = 0; i < r->n_samples; ++i) {
        fprintf(f, "%.17g,%.17g,%.17g,%.17g", exp(r->log_weight[i]), r->log_weight[i], r->loglikelihood[i],
                r->loglikelihood_birth[i]);
        for (int k = 0; k < r->dim; ++k) fprintf(f, ",%.17g", r->x[i * (size_t)r->dim + (size_t)k]);
        fputc('\n', f);
    }
    return ferror(f) ? CLV_ERROR_INVALID_ARGUMENT : CLV_OK;
}

#ifdef __cplusplus
}
#endif

#endif /* CLVMAP_NSS_H */

/*
 * MIT License. Copyright (c) 2026 the clvmap authors.
 * Permission is hereby granted, free of charge, to any person obtaining a
 * copy of this software and associated documentation files (the
 * "Software"), to deal in the Software without restriction, including
 * without limitation the rights to use, copy, modify, merge, publish,
 * distribute, sublicense, and/or sell copies of the Software, and to permit
 * persons to whom the Software is furnished to do so, subject to the
 * following conditions: The above copyright notice and this permission
 * notice shall be included in all copies or substantial portions of the
 * Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
 */
