/* clvmap_mpi.h — clvmap over MPI ranks: one batch over the devices of several
 * machines, with the same bits as one process.              version 0.2.0
 *
 * WHAT IT IS
 *   When one machine's devices are not enough, this header spreads a batch
 *   over MPI ranks (one rank per node, or one per GPU): the batch is split
 *   over the ranks, each rank splits its part over its own devices (the
 *   core's shard), and each device runs its part chunked (the core's
 *   chunked map): shard over ranks o shard over devices o chunk o vmap.
 *   Every rank runs its items with their GLOBAL indices (clv_map_opts.
 *   item_offset), so clv_item() and the RNG see what one process would:
 *   gathered outputs are bitwise those of one process on the same kind of
 *   device, whatever the number of ranks. Reductions gather the per-item
 *   values in global order and reduce them with clv_reduce's own fixed order
 *   (never partial sums per rank), so they are bitwise equal too.
 *   Optional: only programs that include this header need MPI (mpicc, or
 *   `dependency('mpi')` in meson); clvmap.h and the add-ons do not.
 *
 * A COMPLETE EXAMPLE (C99)
 *
 *   #include "clvmap_mpi.h"
 *   static const char *src =
 *       "__kernel void noisy_square(CLV_ITEMS, __global const float *x,\n"
 *       "                           __global float *y, const float sigma) {\n"
 *       "    CLV_GUARD();\n"
 *       "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 0);  // global item\n"
 *       "    float v = x[clv_local()];          // this rank's, this device's part\n"
 *       "    y[clv_local()] = v * v + sigma * clv_normal_f32(&r);\n"
 *       "}\n";
 *   int main(int argc, char **argv) {
 *       enum { B = 100000 };
 *       static float x[B], y[B];
 *       for (int i = 0; i < B; ++i) x[i] = (float)i / B;
 *       MPI_Init(&argc, &argv);
 *       clv_mpi_mesh *mm;                  // every rank opens its own devices
 *       clv_status s = clv_mpi_mesh_open(&mm, MPI_COMM_WORLD, NULL);
 *       clv_program *p = NULL;
 *       clv_array *xa = NULL, *ya = NULL;
 *       clv_program_desc pd = {0}; pd.source = src;
 *       if (s == CLV_OK) s = clv_mpi_program_build(&p, mm, &pd);
 *       if (s == CLV_OK) s = clv_mpi_array_new(&xa, mm, CLV_F32, B, 1, CLV_SHARDED);
 *       if (s == CLV_OK) s = clv_mpi_array_new(&ya, mm, CLV_F32, B, 1, CLV_SHARDED);
 *       if (s == CLV_OK) s = clv_mpi_array_write(mm, xa, x);   // each rank its part
 *       clv_map_opts o = {0}; o.chunk = 4096; o.seed = 42;
 *       if (s == CLV_OK) s = CLV_MPI_MAP(mm, p, "noisy_square", B, &o,
 *                                        clv_in(xa), clv_out(ya), clv_float(0.1f));
 *       if (s == CLV_OK) s = clv_mpi_array_gather(mm, ya, 0, y); // all of y on rank 0
 *       if (s != CLV_OK) puts(clv_mpi_mesh_message(mm));        // on every rank
 *       else if (clv_mpi_mesh_rank(mm) == 0) printf("y[B-1] = %g\n", y[B - 1]);
 *       clv_array_free(xa); clv_array_free(ya); clv_program_free(p);
 *       clv_mpi_mesh_close(mm);
 *       MPI_Finalize();
 *       return s != CLV_OK;
 *   }
 *
 *   mpirun -np 2 ./a.out              (two ranks, each with its CLV_DEVICES)
 *   mpirun --hostfile hosts -npernode 1 ./a.out   (one rank per node)
 *
 * HOW IT WORKS
 *   Split: item ranges are contiguous and in rank order: rank r owns items
 *   [first_r, first_r + count_r) of every batch, by cumulative rounding as
 *   the core splits over devices. Weights: by default each rank's device
 *   count (so k ranks of one device each split like one process with k
 *   devices), or equal, or given per rank.
 *   Arrays are the core's clv_array: a CLV_SHARDED array made with
 *   clv_mpi_array_new holds this rank's items only (NULL when the rank owns
 *   none: every function here accepts that), a CLV_REPLICATED one holds all
 *   items on every rank. Kernels index batched arrays with clv_local() and
 *   draw random numbers with clv_item() as always.
 *   Errors: every function here is COLLECTIVE (all ranks of the mesh call
 *   it, in the same order) and ends by agreeing on a status: if any rank
 *   failed, every rank returns the failing rank's status and
 *   clv_mpi_mesh_message() on every rank names each failing rank, its host
 *   and its own message. A rank whose devices do not open therefore stops
 *   every rank at clv_mpi_mesh_open with a clear message instead of leaving
 *   the others waiting in a later collective. clv_mpi_agree() does the same
 *   for your own fallible steps. MPI errors themselves follow the
 *   communicator's error handler (MPI's default aborts the whole job).
 *
 * ADD-ONS
 *   This header knows no add-on. Every add-on that runs a batch in steps
 *   takes the core's clv_share (clvmap.h), and clv_mpi_share(mm) makes one
 *   over the mesh's ranks: each rank runs its rows of every batched step
 *   (split as clv_mpi_split_items) under their global indices, then the
 *   rows are gathered to every rank (MPI_Allgatherv) and the ranks agree on
 *   the status as clv_mpi_agree does. Include the headers in any order:
 *     clvmap_lbfgs.h   param.share = clv_mpi_share(mm) in clv_lbfgs_new's
 *                      parameters: each clv_lbfgs_minimize's problems split
 *                      over ranks, x and the outputs on every rank; the
 *                      objective's `item` is the row's index in the whole
 *                      batch.
 *     clvmap_nuts.h    opts.share = clv_mpi_share(mm): chains split over
 *                      ranks, every chain's draws on every rank.
 *     clvmap_nss.h     opts.share = clv_mpi_share(mm): the live set
 *                      replicated on every rank, the initial draws and each
 *                      iteration's particle updates split over ranks and
 *                      exchanged; the same log Z on every rank.
 *   Every rank must make the same call with the same options (a share is
 *   collective, as every function here). The share is valid while the mesh
 *   is open.
 *
 * GUARANTEES
 *   1. Same bits as one process: gathered outputs, reductions, L-BFGS
 *      minima, NUTS draws and NSS results are bitwise equal for 1, 2, 3, ...
 *      ranks and any device count per rank, on the same kind of device
 *      (tests/mpi).
 *   2. No hang on a failed rank: failures are agreed collectively.
 *   3. No leak: every rank frees what it made on every path.
 *
 * OPTIONS (define before including): those of clvmap.h.
 *   CLV_MPI_MESSAGE_SIZE   bytes of a mesh's message (default 8192).
 *
 * REVISION HISTORY
 *   0.1.0 (2026-11-21) first version: mesh, split, agree, arrays (write,
 *                      scatter, gather), map, reduce, L-BFGS, NUTS, NSS.
 *   0.2.0 (2026-12-03) clv_mpi_share: one clv_share over the ranks for every
 *                      add-on (opts.share / param.share). The MPI versions
 *                      of the NUTS, NSS and L-BFGS runs are gone (call the
 *                      add-on itself with the share), and with them the
 *                      rule that add-on headers come before this one.
 *
 * LICENSE: MIT, as clvmap.h.
 *
 * ------------------------------------------------------------------------
 * Stop reading here if you only want the API.
 */
#ifndef CLVMAP_MPI_H
#define CLVMAP_MPI_H

/* Only MPI's C API is used: keep the deprecated C++ bindings (and their
 * warnings) out of C++ programs that do not ask for them. */
#if defined(__cplusplus) && !defined(OMPI_SKIP_MPICXX)
#define OMPI_SKIP_MPICXX 1
#endif
#if defined(__cplusplus) && !defined(MPICH_SKIP_MPICXX)
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include "clvmap.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CLV_MPI_VERSION_MAJOR 0
#define CLV_MPI_VERSION_MINOR 2
#define CLV_MPI_VERSION_PATCH 0

/* root argument of the gathers: every rank receives */
#define CLV_MPI_ALL (-1)

typedef enum clv_mpi_split {
    CLV_MPI_SPLIT_DEVICES = 0, /* default: in proportion to each rank's device count */
    CLV_MPI_SPLIT_EQUAL,       /* the same number of items per rank (+-1) */
    CLV_MPI_SPLIT_WEIGHTS      /* in proportion to clv_mpi_mesh_desc.weights */
} clv_mpi_split;

typedef struct clv_mpi_mesh_desc {
    clv_mesh_desc local;     /* this rank's devices, as clv_mesh_open (zero: $CLV_DEVICES, else defaults) */
    clv_mpi_split split;     /* how batches are divided between ranks */
    const double *weights;   /* CLV_MPI_SPLIT_WEIGHTS: one weight >= 0 per rank, the same on every rank */
    int n_weights;
} clv_mpi_mesh_desc;

typedef struct clv_mpi_mesh clv_mpi_mesh;

/* Collective. Duplicate comm (library traffic stays apart from yours), open
 * this rank's devices and agree: a mesh is returned even on failure (on
 * every rank) so that clv_mpi_mesh_message can say which rank failed and
 * why; close it with clv_mpi_mesh_close. *out is NULL only when host memory
 * ran out. desc NULL: all defaults. */
static inline clv_status clv_mpi_mesh_open(clv_mpi_mesh **out, MPI_Comm comm, const clv_mpi_mesh_desc *desc);
/* Collective (frees the duplicated communicator). Free arrays and programs
 * first. Safe on NULL (then not collective). */
static inline void clv_mpi_mesh_close(clv_mpi_mesh *mm);
/* The latest error's message on this rank, or "" (never NULL). */
static inline const char *clv_mpi_mesh_message(const clv_mpi_mesh *mm);
/* This rank's devices: build programs and arrays on it, or use the
 * collective helpers below. NULL when the mesh failed to open. */
static inline clv_mesh *clv_mpi_mesh_local(const clv_mpi_mesh *mm);
static inline int clv_mpi_mesh_rank(const clv_mpi_mesh *mm);
static inline int clv_mpi_mesh_size(const clv_mpi_mesh *mm);
/* The mesh's own (duplicated) communicator. */
static inline MPI_Comm clv_mpi_mesh_comm(const clv_mpi_mesh *mm);
/* Devices of every rank together, and of one rank. */
static inline int clv_mpi_mesh_device_count(const clv_mpi_mesh *mm);
static inline int clv_mpi_mesh_rank_devices(const clv_mpi_mesh *mm, int rank);

/* Items owned by each rank for a batch of n_items (first and count: one
 * entry per rank). Local; the same answer on every rank. */
static inline clv_status clv_mpi_split_items(const clv_mpi_mesh *mm, size_t n_items, size_t *first, size_t *count);
/* This rank's items of a batch of n_items. */
static inline clv_status clv_mpi_local_items(const clv_mpi_mesh *mm, size_t n_items, size_t *first, size_t *count);

/* Collective. Agree on a status: CLV_OK when every rank passes CLV_OK; else
 * every rank returns the status of the lowest failing rank and its message
 * lists every failing rank with its host and local_message (may be NULL).
 * what names the step in the message. */
static inline clv_status clv_mpi_agree(clv_mpi_mesh *mm, clv_status local, const char *what,
                                       const char *local_message);

/* Collective: clv_program_build on every rank, agreed (a build log that
 * fails on one rank is shown on every rank). */
static inline clv_status clv_mpi_program_build(clv_program **out, clv_mpi_mesh *mm, const clv_program_desc *desc);

/* Collective. A CLV_SHARDED array of a batch of n_items holds this rank's
 * items (split as clv_mpi_split_items; *out is NULL with CLV_OK on a rank
 * that owns none); a CLV_REPLICATED one holds all n_items on every rank. */
static inline clv_status clv_mpi_array_new(clv_array **out, clv_mpi_mesh *mm, clv_dtype dtype, size_t n_items,
                                           size_t item_elems, clv_layout layout);
/* Collective. host holds the WHOLE batch on every rank; each rank writes
 * the items its array holds. */
static inline clv_status clv_mpi_array_write(clv_mpi_mesh *mm, clv_array *a, const void *host);
/* Collective. host holds the whole batch on root only (other ranks may pass
 * NULL); it is scattered, each rank writing its items. */
static inline clv_status clv_mpi_array_scatter(clv_mpi_mesh *mm, clv_array *a, int root, const void *host);
/* Collective. The whole batch, in global item order, into host on root
 * (root CLV_MPI_ALL: on every rank; other ranks may pass NULL). */
static inline clv_status clv_mpi_array_gather(clv_mpi_mesh *mm, const clv_array *a, int root, void *host);

/* Collective. Run kernel over the global batch 0..n_items-1 (plus
 * opts->item_offset): each rank runs its items with their global indices
 * on its devices; sharded array arguments are this rank's part (NULL on a
 * rank that owns no item). */
static inline clv_status clv_mpi_map(clv_mpi_mesh *mm, clv_program *p, const char *kernel, size_t n_items,
                                     const clv_map_opts *opts, const clv_arg *args, int n_args);

/* C only (a compound literal), as CLV_MAP. */
#define CLV_MPI_MAP(mm, p, kernel, n_items, opts, ...)                                 \
    clv_mpi_map((mm), (p), (kernel), (n_items), (opts), (const clv_arg[]){__VA_ARGS__}, \
                (int)(sizeof((const clv_arg[]){__VA_ARGS__}) / sizeof(clv_arg)))

/* Collective. clv_reduce over the whole batch: the per-item values are
 * gathered in global order and reduced by clv_reduce itself, so out (on
 * every rank) is bitwise what one process's clv_reduce gives. */
static inline clv_status clv_mpi_reduce(clv_mpi_mesh *mm, const clv_array *a, clv_reduce_op op, double *out);

/* A clv_share over the mesh's ranks, for the add-ons' options: range is
 * this rank's part of a batch (clv_mpi_local_items), exchange is collective
 * (MPI_Allgatherv of every rank's rows, after the ranks agree on the status
 * and on the batch's shape; the agreed message names each failing rank).
 * Valid while mm is open. */
static inline clv_share clv_mpi_share(clv_mpi_mesh *mm);

#ifdef __cplusplus
}
#endif

/* ========================================================================
 * IMPLEMENTATION
 * ======================================================================== */

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CLV_MPI_MESSAGE_SIZE
#define CLV_MPI_MESSAGE_SIZE 8192
#endif

/* Bytes of each rank's message in an agreement (longer ones are cut). */
#define CLV_MPI__SLOT 1024
#define CLV_MPI__HOST 64

#ifdef __cplusplus
extern "C" {
#endif

struct clv_mpi_mesh {
    MPI_Comm comm;          /* duplicated */
    int rank, size;
    clv_mesh *local;        /* NULL when this rank's devices failed to open */
    int *devices;           /* size: devices per rank */
    double *weights;        /* size: split weights */
    char *hosts;            /* size x CLV_MPI__HOST */
    char *slots;            /* size x CLV_MPI__SLOT: messages of an agreement */
    uint64_t *values;       /* size x 4: status and values of an agreement */
    size_t *first, *count;  /* size: a split */
    char message[CLV_MPI_MESSAGE_SIZE];
};

/* ---- small helpers ------------------------------------------------------ */

/* printf into the mesh's message (none when mm is NULL); returns status. */
#define clv_mpi__fail(mm, ...) clv_message((mm) ? (mm)->message : NULL, sizeof(mm)->message, __VA_ARGS__)

static inline const char *clv_mpi_mesh_message(const clv_mpi_mesh *mm) { return mm ? mm->message : ""; }
static inline clv_mesh *clv_mpi_mesh_local(const clv_mpi_mesh *mm) { return mm ? mm->local : NULL; }
static inline int clv_mpi_mesh_rank(const clv_mpi_mesh *mm) { return mm ? mm->rank : -1; }
static inline int clv_mpi_mesh_size(const clv_mpi_mesh *mm) { return mm ? mm->size : 0; }
static inline MPI_Comm clv_mpi_mesh_comm(const clv_mpi_mesh *mm) { return mm ? mm->comm : MPI_COMM_NULL; }

static inline int clv_mpi_mesh_rank_devices(const clv_mpi_mesh *mm, int rank)
{
    return mm && mm->devices && rank >= 0 && rank < mm->size ? mm->devices[rank] : 0;
}

static inline int clv_mpi_mesh_device_count(const clv_mpi_mesh *mm)
{
    int total = 0;
    for (int r = 0; mm && mm->devices && r < mm->size; ++r) total += mm->devices[r];
    return total;
}

/* ---- agreement ---------------------------------------------------------- */

/* Every rank contributes its status and up to three values (mm->values
 * receives size x 4: status, v0, v1, v2). On failure anywhere every rank
 * builds the same message and returns the lowest failing rank's status. */
static inline clv_status clv_mpi__agree_values(clv_mpi_mesh *mm, clv_status local, const char *what,
                                               const char *local_message, uint64_t v0, uint64_t v1, uint64_t v2)
{
    uint64_t mine[4];
    mine[0] = (uint64_t)local;
    mine[1] = v0;
    mine[2] = v1;
    mine[3] = v2;
    MPI_Allgather(mine, 4, MPI_UINT64_T, mm->values, 4, MPI_UINT64_T, mm->comm);
    int first_bad = -1, n_bad = 0;
    for (int r = 0; r < mm->size; ++r)
        if (mm->values[4 * r] != CLV_OK) {
            if (first_bad < 0) first_bad = r;
            ++n_bad;
        }
    if (first_bad < 0) return CLV_OK;
    /* Somebody failed: every rank knows it and takes this branch together. */
    char slot[CLV_MPI__SLOT];
    memset(slot, 0, sizeof slot);
    if (local != CLV_OK) snprintf(slot, sizeof slot, "%s", local_message && *local_message ? local_message
                                                           : clv_status_string(local));
    MPI_Allgather(slot, CLV_MPI__SLOT, MPI_CHAR, mm->slots, CLV_MPI__SLOT, MPI_CHAR, mm->comm);
    size_t used = (size_t)snprintf(mm->message, sizeof mm->message, "%s failed on %d of %d rank%s:", what, n_bad,
                                   mm->size, mm->size == 1 ? "" : "s");
    for (int r = 0; r < mm->size && used < sizeof mm->message; ++r) {
        if (mm->values[4 * r] == CLV_OK) continue;
        char *text = mm->slots + (size_t)r * CLV_MPI__SLOT;
        text[CLV_MPI__SLOT - 1] = '\0';
        used += (size_t)snprintf(mm->message + used, sizeof mm->message - used, "\n  rank %d (host %s): %s: %s", r,
                                 mm->hosts + (size_t)r * CLV_MPI__HOST,
                                 clv_status_string((clv_status)mm->values[4 * r]), text);
    }
    clv_status st = (clv_status)mm->values[4 * first_bad];
    return st > CLV_OK && st < CLV_STATUS_COUNT ? st : CLV_ERROR_INVALID_ARGUMENT;
}

static inline clv_status clv_mpi_agree(clv_mpi_mesh *mm, clv_status local, const char *what,
                                       const char *local_message)
{
    if (!mm) return CLV_ERROR_INVALID_ARGUMENT;
    return clv_mpi__agree_values(mm, local, what ? what : "clv_mpi_agree", local_message, 0, 0, 0);
}

/* The local mesh's message, or why there is no local mesh. */
static inline const char *clv_mpi__local_message(const clv_mpi_mesh *mm)
{
    return mm->local ? clv_mesh_message(mm->local) : "this rank's devices did not open";
}

/* ---- the mesh ----------------------------------------------------------- */

static inline void clv_mpi__free_parts(clv_mpi_mesh *mm)
{
    CLV_FREE(mm->devices);
    CLV_FREE(mm->weights);
    CLV_FREE(mm->hosts);
    CLV_FREE(mm->slots);
    CLV_FREE(mm->values);
    CLV_FREE(mm->first);
    CLV_FREE(mm->count);
}

static inline void clv_mpi_mesh_close(clv_mpi_mesh *mm)
{
    if (!mm) return;
    clv_mesh_close(mm->local);
    if (mm->comm != MPI_COMM_NULL) MPI_Comm_free(&mm->comm);
    clv_mpi__free_parts(mm);
    CLV_FREE(mm);
}

/* Check the split description on this rank (every rank checks its own). */
static inline clv_status clv_mpi__check_desc(clv_mpi_mesh *mm, const clv_mpi_mesh_desc *d)
{
    if (d->split != CLV_MPI_SPLIT_DEVICES && d->split != CLV_MPI_SPLIT_EQUAL && d->split != CLV_MPI_SPLIT_WEIGHTS)
        return clv_mpi__fail(mm, CLV_ERROR_INVALID_ARGUMENT, "unknown split %d", (int)d->split);
    if (d->split != CLV_MPI_SPLIT_WEIGHTS) return CLV_OK;
    if (!d->weights || d->n_weights != mm->size)
        return clv_mpi__fail(mm, CLV_ERROR_INVALID_ARGUMENT, "CLV_MPI_SPLIT_WEIGHTS needs one weight per rank "
                             "(%d ranks, %d weights)", mm->size, d->weights ? d->n_weights : 0);
    double total = 0;
    for (int r = 0; r < mm->size; ++r) {
        if (!(d->weights[r] >= 0) || !(d->weights[r] < 1e300))
            return clv_mpi__fail(mm, CLV_ERROR_INVALID_ARGUMENT, "weight %d (%g) must be finite and >= 0", r,
                                 d->weights[r]);
        total += d->weights[r];
    }
    if (!(total > 0)) return clv_mpi__fail(mm, CLV_ERROR_INVALID_ARGUMENT, "the weights sum to 0");
    return CLV_OK;
}

/* After every rank's devices are known: the split weights, the same on every
 * rank (weights given per rank must agree: rank 0's are checked against). */
static inline clv_status clv_mpi__set_weights(clv_mpi_mesh *mm, const clv_mpi_mesh_desc *d)
{
    for (int r = 0; r < mm->size; ++r)
        mm->weights[r] = d->split == CLV_MPI_SPLIT_EQUAL ? 1.0
                         : d->split == CLV_MPI_SPLIT_WEIGHTS ? d->weights[r]
                                                             : (double)mm->devices[r];
    double *root = (double *)clv_calloc((size_t)mm->size, sizeof(double));
    if (!root) return clv_mpi__fail(mm, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    memcpy(root, mm->weights, (size_t)mm->size * sizeof(double));
    MPI_Bcast(root, mm->size, MPI_DOUBLE, 0, mm->comm);
    int same = memcmp(root, mm->weights, (size_t)mm->size * sizeof(double)) == 0;
    CLV_FREE(root);
    if (!same)
        return clv_mpi__fail(mm, CLV_ERROR_INVALID_ARGUMENT, "the split weights differ from rank 0's: every rank "
                             "must pass the same weights");
    return CLV_OK;
}

static inline clv_status clv_mpi_mesh_open(clv_mpi_mesh **out, MPI_Comm comm, const clv_mpi_mesh_desc *desc)
{
    if (!out) return CLV_ERROR_INVALID_ARGUMENT;
    *out = NULL;
    clv_mpi_mesh_desc d;
    memset(&d, 0, sizeof d);
    if (desc) d = *desc;
    clv_mpi_mesh *mm = (clv_mpi_mesh *)clv_calloc(1, sizeof *mm);
    MPI_Comm dup = MPI_COMM_NULL;
    MPI_Comm_dup(comm, &dup);
    if (!mm) { /* the other ranks would wait for this one: end the job */
        fprintf(stderr, "clv_mpi_mesh_open: out of host memory\n");
        MPI_Abort(dup, 1);
        return CLV_ERROR_OUT_OF_MEMORY;
    }
    *out = mm;
    mm->comm = dup;
    MPI_Comm_rank(dup, &mm->rank);
    MPI_Comm_size(dup, &mm->size);
    size_t n = (size_t)mm->size;
    mm->devices = (int *)clv_calloc(n, sizeof(int));
    mm->weights = (double *)clv_calloc(n, sizeof(double));
    mm->hosts = (char *)clv_calloc(n, CLV_MPI__HOST);
    mm->slots = (char *)clv_calloc(n, CLV_MPI__SLOT);
    mm->values = (uint64_t *)clv_calloc(n, 4 * sizeof(uint64_t));
    mm->first = (size_t *)clv_calloc(n, sizeof(size_t));
    mm->count = (size_t *)clv_calloc(n, sizeof(size_t));
    if (!mm->devices || !mm->weights || !mm->hosts || !mm->slots || !mm->values || !mm->first || !mm->count) {
        /* Nothing can be agreed without these: leave the job to MPI. */
        fprintf(stderr, "clv_mpi_mesh_open: rank %d: out of host memory\n", mm->rank);
        MPI_Abort(dup, 1);
    }
    char host[MPI_MAX_PROCESSOR_NAME + 1];
    int len = 0;
    memset(host, 0, sizeof host);
    MPI_Get_processor_name(host, &len);
    char mine[CLV_MPI__HOST];
    memset(mine, 0, sizeof mine);
    memcpy(mine, host, sizeof mine - 1); /* a long name is cut */
    MPI_Allgather(mine, CLV_MPI__HOST, MPI_CHAR, mm->hosts, CLV_MPI__HOST, MPI_CHAR, dup);

    clv_status st = clv_mpi__check_desc(mm, &d);
    const char *why = mm->message;
    if (st == CLV_OK) {
        st = clv_mesh_open(&mm->local, &d.local);
        if (!mm->local) st = clv_mpi__fail(mm, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
        else if (st != CLV_OK) {
            /* On a cluster the environment differs per node: say where the
             * device list came from. */
            const char *env = getenv("CLV_DEVICES");
            if (!d.local.devices && env && *env)
                clv_mpi__fail(mm, st, "CLV_DEVICES=\"%.200s\" on this rank: %s", env, clv_mesh_message(mm->local));
            else
                clv_mpi__fail(mm, st, "%s", clv_mesh_message(mm->local));
        }
    }
    int n_devices = st == CLV_OK ? clv_mesh_device_count(mm->local) : 0;
    st = clv_mpi__agree_values(mm, st, "clv_mpi_mesh_open", why, (uint64_t)n_devices, 0, 0);
    if (st != CLV_OK) return st;
    for (int r = 0; r < mm->size; ++r) mm->devices[r] = (int)mm->values[4 * r + 1];
    st = clv_mpi__set_weights(mm, &d);
    return clv_mpi__agree_values(mm, st, "clv_mpi_mesh_open", mm->message, 0, 0, 0);
}

/* ---- the split ---------------------------------------------------------- */

/* Cumulative rounding over ranks, as clv_mesh_split_items over devices:
 * rank r owns [round(W_<r / W * n), round(W_<=r / W * n)). */
static inline clv_status clv_mpi_split_items(const clv_mpi_mesh *mm, size_t n_items, size_t *first, size_t *count)
{
    if (!mm || !mm->local || !first || !count) return CLV_ERROR_INVALID_ARGUMENT;
    double total = 0, cumulative = 0;
    for (int r = 0; r < mm->size; ++r) total += mm->weights[r];
    size_t start = 0;
    for (int r = 0; r < mm->size; ++r) {
        cumulative += mm->weights[r];
        size_t end = r == mm->size - 1 ? n_items : (size_t)floor(cumulative / total * (double)n_items + 0.5);
        if (end < start) end = start;
        if (end > n_items) end = n_items;
        first[r] = start;
        count[r] = end - start;
        start = end;
    }
    return CLV_OK;
}

static inline clv_status clv_mpi_local_items(const clv_mpi_mesh *mm, size_t n_items, size_t *first, size_t *count)
{
    if (!mm || !mm->local || !first || !count) return CLV_ERROR_INVALID_ARGUMENT;
    clv_mpi_split_items(mm, n_items, mm->first, mm->count);
    *first = mm->first[mm->rank];
    *count = mm->count[mm->rank];
    return CLV_OK;
}

/* ---- programs and arrays ------------------------------------------------ */

static inline clv_status clv_mpi_program_build(clv_program **out, clv_mpi_mesh *mm, const clv_program_desc *desc)
{
    if (out) *out = NULL;
    if (!mm) return CLV_ERROR_INVALID_ARGUMENT;
    clv_status st = !out || !mm->local ? CLV_ERROR_INVALID_ARGUMENT : clv_program_build(out, mm->local, desc);
    st = clv_mpi__agree_values(mm, st, "clv_mpi_program_build", clv_mpi__local_message(mm), 0, 0, 0);
    if (st != CLV_OK && out) {
        clv_program_free(*out);
        *out = NULL;
    }
    return st;
}

static inline clv_status clv_mpi_array_new(clv_array **out, clv_mpi_mesh *mm, clv_dtype dtype, size_t n_items,
                                           size_t item_elems, clv_layout layout)
{
    if (out) *out = NULL;
    if (!mm) return CLV_ERROR_INVALID_ARGUMENT;
    clv_status st = CLV_OK;
    const char *why = mm->message;
    if (!out || !mm->local || n_items == 0 || item_elems == 0)
        st = clv_mpi__fail(mm, CLV_ERROR_INVALID_ARGUMENT, "NULL out, no local mesh, or a zero size");
    size_t first = 0, count = n_items;
    if (st == CLV_OK && layout == CLV_SHARDED) clv_mpi_local_items(mm, n_items, &first, &count);
    if (st == CLV_OK && count > 0) {
        st = clv_array_new(out, mm->local, dtype, count, item_elems, layout);
        why = clv_mesh_message(mm->local);
    }
    st = clv_mpi__agree_values(mm, st, "clv_mpi_array_new", why, 0, 0, 0);
    if (st != CLV_OK && out) {
        clv_array_free(*out);
        *out = NULL;
    }
    return st;
}

/* What each rank holds of an array: its layout, items and bytes per item,
 * agreed (values[4r + 1] = count, + 2 = bytes per item, + 3 = layout). A
 * NULL array is a rank's empty part of a sharded batch. */
static inline clv_status clv_mpi__shapes(clv_mpi_mesh *mm, const clv_array *a, const char *what, clv_status st,
                                         const char *why, size_t *total, size_t *item_bytes, clv_layout *layout)
{
    clv_dtype dtype = CLV_F32;
    clv_layout lay = CLV_SHARDED;
    size_t count = 0, elems = 0;
    if (st == CLV_OK && a && clv_array_shape(a, &dtype, &lay, &count, &elems) != CLV_OK)
        st = clv_mpi__fail(mm, CLV_ERROR_INVALID_ARGUMENT, "not a valid array"), why = mm->message;
    size_t bytes = a ? elems * clv_dtype_size(dtype) : 0;
    st = clv_mpi__agree_values(mm, st, what, why, (uint64_t)count, (uint64_t)bytes, (uint64_t)lay);
    if (st != CLV_OK) return st;
    /* The ranks' parts must fit together: one item size, one layout. */
    size_t sum = 0, ref_bytes = 0;
    int ref_layout = -1, consistent = 1;
    for (int r = 0; r < mm->size; ++r) {
        const uint64_t *v = mm->values + 4 * r;
        sum += (size_t)v[1];
        if (v[1] == 0) continue; /* an empty part says nothing */
        if (ref_layout < 0) {
            ref_layout = (int)v[3];
            ref_bytes = (size_t)v[2];
        } else if ((size_t)v[2] != ref_bytes || (int)v[3] != ref_layout) {
            consistent = 0;
        }
        if (v[1] > (uint64_t)INT_MAX) consistent = 0; /* MPI counts are int */
    }
    if (ref_layout == CLV_REPLICATED)
        for (int r = 0; r < mm->size; ++r)
            if ((size_t)mm->values[4 * r + 1] != (size_t)mm->values[1]) consistent = 0;
    if (!consistent || ref_layout < 0) {
        /* The same verdict on every rank: no further agreement needed. */
        return clv_mpi__fail(mm, CLV_ERROR_SHAPE, "%s: the ranks' arrays do not fit together (different dtypes, "
                             "item sizes or layouts, more than INT_MAX items on a rank, or no items at all)", what);
    }
    *layout = (clv_layout)ref_layout;
    *item_bytes = ref_bytes;
    *total = ref_layout == CLV_REPLICATED ? (size_t)mm->values[1] : sum;
    /* mm->first / mm->count: each rank's part in global order */
    size_t at = 0;
    for (int r = 0; r < mm->size; ++r) {
        mm->count[r] = (size_t)mm->values[4 * r + 1];
        mm->first[r] = at;
        at += mm->count[r];
    }
    return CLV_OK;
}

/* An MPI datatype of one item (counts stay in items, not bytes). */
static inline MPI_Datatype clv_mpi__item_type(size_t item_bytes)
{
    MPI_Datatype t;
    MPI_Type_contiguous((int)item_bytes, MPI_BYTE, &t);
    MPI_Type_commit(&t);
    return t;
}

static inline void clv_mpi__int_counts(const clv_mpi_mesh *mm, int *counts, int *displs)
{
    for (int r = 0; r < mm->size; ++r) {
        counts[r] = (int)mm->count[r];
        displs[r] = (int)mm->first[r];
    }
}

static inline clv_status clv_mpi_array_write(clv_mpi_mesh *mm, clv_array *a, const void *host)
{
    if (!mm) return CLV_ERROR_INVALID_ARGUMENT;
    size_t total = 0, item_bytes = 0;
    clv_layout layout = CLV_SHARDED;
    clv_status st = !host ? clv_mpi__fail(mm, CLV_ERROR_INVALID_ARGUMENT, "host is NULL") : CLV_OK;
    st = clv_mpi__shapes(mm, a, "clv_mpi_array_write", st, mm->message, &total, &item_bytes, &layout);
    if (st != CLV_OK) return st;
    if (a) {
        size_t first = layout == CLV_SHARDED ? mm->first[mm->rank] : 0;
        st = clv_array_write(a, (const char *)host + first * item_bytes);
    }
    return clv_mpi__agree_values(mm, st, "clv_mpi_array_write", clv_mpi__local_message(mm), 0, 0, 0);
}

static inline clv_status clv_mpi_array_scatter(clv_mpi_mesh *mm, clv_array *a, int root, const void *host)
{
    if (!mm) return CLV_ERROR_INVALID_ARGUMENT;
    size_t total = 0, item_bytes = 0;
    clv_layout layout = CLV_SHARDED;
    clv_status st = CLV_OK;
    if (root < 0 || root >= mm->size)
        st = clv_mpi__fail(mm, CLV_ERROR_INVALID_ARGUMENT, "root %d is not a rank (0 .. %d)", root, mm->size - 1);
    else if (mm->rank == root && !host)
        st = clv_mpi__fail(mm, CLV_ERROR_INVALID_ARGUMENT, "host is NULL on the root rank");
    st = clv_mpi__shapes(mm, a, "clv_mpi_array_scatter", st, mm->message, &total, &item_bytes, &layout);
    if (st != CLV_OK) return st;
    size_t mine = layout == CLV_SHARDED ? mm->count[mm->rank] : total;
    char *buf = (char *)clv_calloc(mine, item_bytes);
    int *counts = (int *)clv_calloc((size_t)mm->size, sizeof(int));
    int *displs = (int *)clv_calloc((size_t)mm->size, sizeof(int));
    st = buf && counts && displs ? CLV_OK : clv_mpi__fail(mm, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    st = clv_mpi__agree_values(mm, st, "clv_mpi_array_scatter", mm->message, 0, 0, 0);
    if (st == CLV_OK) {
        MPI_Datatype t = clv_mpi__item_type(item_bytes);
        if (layout == CLV_SHARDED) {
            clv_mpi__int_counts(mm, counts, displs);
            MPI_Scatterv(host, counts, displs, t, buf, (int)mine, t, root, mm->comm);
        } else {
            if (mm->rank == root) memcpy(buf, host, total * item_bytes);
            MPI_Bcast(buf, (int)total, t, root, mm->comm);
        }
        MPI_Type_free(&t);
        if (a) st = clv_array_write(a, buf);
        st = clv_mpi__agree_values(mm, st, "clv_mpi_array_scatter", clv_mpi__local_message(mm), 0, 0, 0);
    }
    CLV_FREE(buf);
    CLV_FREE(counts);
    CLV_FREE(displs);
    return st;
}

/* Gather into host (every rank when all, else root); sets *total. Used by
 * clv_mpi_array_gather and clv_mpi_reduce (which needs the bytes). */
static inline clv_status clv_mpi__gather(clv_mpi_mesh *mm, const clv_array *a, int root, void *host, int host_owned,
                                         const char *what, size_t *total_out, size_t *item_bytes_out)
{
    size_t total = 0, item_bytes = 0;
    clv_layout layout = CLV_SHARDED;
    clv_status st = CLV_OK;
    int all = root == CLV_MPI_ALL;
    if (!all && (root < 0 || root >= mm->size))
        st = clv_mpi__fail(mm, CLV_ERROR_INVALID_ARGUMENT, "root %d is not a rank (0 .. %d) nor CLV_MPI_ALL", root,
                           mm->size - 1);
    else if ((all || mm->rank == root) && !host && !host_owned)
        st = clv_mpi__fail(mm, CLV_ERROR_INVALID_ARGUMENT, "host is NULL on a receiving rank");
    st = clv_mpi__shapes(mm, a, what, st, mm->message, &total, &item_bytes, &layout);
    if (st != CLV_OK) return st;
    *total_out = total;
    *item_bytes_out = item_bytes;
    int receives = all || mm->rank == root;
    if (layout == CLV_REPLICATED) { /* every rank holds it all: no traffic */
        st = receives ? clv_array_read(a, host) : CLV_OK;
        return clv_mpi__agree_values(mm, st, what, clv_mpi__local_message(mm), 0, 0, 0);
    }
    size_t first = mm->first[mm->rank], mine = mm->count[mm->rank];
    /* Receiving ranks read their part straight into place. */
    char *part = receives ? (char *)host + first * item_bytes : (char *)clv_calloc(mine, item_bytes);
    int *counts = (int *)clv_calloc((size_t)mm->size, sizeof(int));
    int *displs = (int *)clv_calloc((size_t)mm->size, sizeof(int));
    if (!part || !counts || !displs) st = clv_mpi__fail(mm, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    const char *why = mm->message;
    if (st == CLV_OK && a) {
        st = clv_array_read(a, part);
        why = clv_mesh_message(mm->local);
    }
    st = clv_mpi__agree_values(mm, st, what, why, 0, 0, 0);
    if (st == CLV_OK) {
        MPI_Datatype t = clv_mpi__item_type(item_bytes);
        clv_mpi__int_counts(mm, counts, displs);
        if (all)
            MPI_Allgatherv(MPI_IN_PLACE, 0, t, host, counts, displs, t, mm->comm);
        else if (mm->rank == root)
            MPI_Gatherv(MPI_IN_PLACE, 0, t, host, counts, displs, t, root, mm->comm);
        else
            MPI_Gatherv(part, (int)mine, t, NULL, NULL, NULL, t, root, mm->comm);
        MPI_Type_free(&t);
    }
    if (!receives) CLV_FREE(part);
    CLV_FREE(counts);
    CLV_FREE(displs);
    return st;
}

static inline clv_status clv_mpi_array_gather(clv_mpi_mesh *mm, const clv_array *a, int root, void *host)
{
    size_t total = 0, item_bytes = 0;
    if (!mm) return CLV_ERROR_INVALID_ARGUMENT;
    return clv_mpi__gather(mm, a, root, host, 0, "clv_mpi_array_gather", &total, &item_bytes);
}

/* ---- map and reduce ----------------------------------------------------- */

static inline clv_status clv_mpi_map(clv_mpi_mesh *mm, clv_program *p, const char *kernel, size_t n_items,
                                     const clv_map_opts *opts, const clv_arg *args, int n_args)
{
    if (!mm) return CLV_ERROR_INVALID_ARGUMENT;
    clv_status st = CLV_OK;
    const char *why = mm->message;
    clv_map_opts o;
    memset(&o, 0, sizeof o);
    if (opts) o = *opts;
    size_t first = 0, count = 0;
    if (!mm->local || !p || !kernel || n_items == 0 || (n_args > 0 && !args) || n_args < 0)
        st = clv_mpi__fail(mm, CLV_ERROR_INVALID_ARGUMENT, "clv_mpi_map: NULL program, kernel or args, no local "
                           "mesh, or n_items 0");
    if (st == CLV_OK) clv_mpi_local_items(mm, n_items, &first, &count);
    if (st == CLV_OK && count > 0) {
        o.item_offset += (uint64_t)first; /* this rank's items keep their global indices */
        st = clv_map(p, kernel, count, &o, args, n_args);
        why = clv_mesh_message(mm->local);
    }
    char what[160];
    snprintf(what, sizeof what, "clv_mpi_map(\"%.100s\")", kernel ? kernel : "(null)");
    return clv_mpi__agree_values(mm, st, what, why, 0, 0, 0);
}

static inline clv_status clv_mpi_reduce(clv_mpi_mesh *mm, const clv_array *a, clv_reduce_op op, double *out)
{
    if (!mm) return CLV_ERROR_INVALID_ARGUMENT;
    clv_status st = CLV_OK;
    if (!out) st = clv_mpi__fail(mm, CLV_ERROR_INVALID_ARGUMENT, "out is NULL");
    else if (op != CLV_SUM && op != CLV_MAX && op != CLV_LOGSUMEXP)
        st = clv_mpi__fail(mm, CLV_ERROR_INVALID_ARGUMENT, "unknown op %d", (int)op);
    /* Each rank's part and item shape, agreed. */
    size_t total = 0, item_bytes = 0;
    clv_layout layout = CLV_SHARDED;
    st = clv_mpi__shapes(mm, a, "clv_mpi_reduce", st, mm->message, &total, &item_bytes, &layout);
    if (st != CLV_OK) return st;
    /* The dtype and elements per item, from a rank that holds items. */
    uint64_t shape[2] = { 0, 0 };
    int holder = 0;
    while (holder < mm->size && mm->count[holder] == 0) ++holder;
    if (mm->rank == holder) {
        clv_dtype dtype = CLV_F64;
        size_t elems = 0;
        clv_array_shape(a, &dtype, NULL, NULL, &elems);
        shape[0] = (uint64_t)dtype;
        shape[1] = (uint64_t)elems;
    }
    MPI_Bcast(shape, 2, MPI_UINT64_T, holder, mm->comm);
    size_t elems = (size_t)shape[1];
    if (layout == CLV_REPLICATED) { /* every rank holds every item: reduce here */
        st = clv_reduce(a, op, out);
        return clv_mpi__agree_values(mm, st, "clv_mpi_reduce", clv_mesh_message(mm->local), 0, 0, 0);
    }
    /* Root gathers the per-item values in global order and hands them to
     * clv_reduce itself (one fixed order; the same code as one process). */
    const int root = 0;
    char *all = NULL;
    if (mm->rank == root) {
        all = (char *)clv_calloc(total, item_bytes);
        st = all ? CLV_OK : clv_mpi__fail(mm, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    }
    st = clv_mpi__agree_values(mm, st, "clv_mpi_reduce", mm->message, 0, 0, 0);
    if (st == CLV_OK) st = clv_mpi__gather(mm, a, root, all, 1, "clv_mpi_reduce", &total, &item_bytes);
    if (st == CLV_OK) {
        clv_status mine = CLV_OK;
        if (mm->rank == root) {
            clv_array *whole = NULL;
            mine = clv_array_new(&whole, mm->local, (clv_dtype)shape[0], total, elems, CLV_SHARDED);
            if (mine == CLV_OK) mine = clv_array_write(whole, all);
            if (mine == CLV_OK) mine = clv_reduce(whole, op, out);
            clv_array_free(whole);
        }
        st = clv_mpi__agree_values(mm, mine, "clv_mpi_reduce", clv_mesh_message(mm->local), 0, 0, 0);
        if (st == CLV_OK) MPI_Bcast(out, (int)elems, MPI_DOUBLE, root, mm->comm);
    }
    CLV_FREE(all);
    return st;
}

/* ---- sharing add-on batches ---------------------------------------------- */

static inline void clv_mpi__share_range(void *user, size_t n_rows, size_t *first, size_t *count)
{
    clv_mpi_local_items((clv_mpi_mesh *)user, n_rows, first, count);
}

/* Agree first (status, then the shape: every rank the same n_rows and
 * row_bytes); move rows only when every rank succeeded. */
static inline clv_status clv_mpi__share_exchange(void *user, clv_status status, const char *message, void *rows,
                                                 size_t row_bytes, size_t n_rows, char *why, size_t why_size)
{
    clv_mpi_mesh *mm = (clv_mpi_mesh *)user;
    if (status == CLV_OK && (row_bytes > (size_t)INT_MAX || n_rows > (size_t)INT_MAX)) {
        status = CLV_ERROR_SHAPE;
        message = "a shared batch of more than INT_MAX rows or of rows above INT_MAX bytes";
    }
    clv_status st = clv_mpi__agree_values(mm, status, "a shared step", message, (uint64_t)n_rows,
                                          (uint64_t)row_bytes, 0);
    for (int r = 1; st == CLV_OK && r < mm->size; ++r)
        if (mm->values[4 * r + 1] != mm->values[1] || mm->values[4 * r + 2] != mm->values[2])
            st = clv_mpi__fail(mm, CLV_ERROR_SHAPE, "the ranks' shared steps differ (rank 0: %llu rows of %llu "
                               "bytes, rank %d: %llu of %llu; the options or the problem differ)",
                               (unsigned long long)mm->values[1], (unsigned long long)mm->values[2], r,
                               (unsigned long long)mm->values[4 * r + 1], (unsigned long long)mm->values[4 * r + 2]);
    if (st != CLV_OK) {
        snprintf(why, why_size, "%s", mm->message);
        return st;
    }
    int *counts = (int *)clv_calloc((size_t)mm->size, sizeof(int));
    int *displs = (int *)clv_calloc((size_t)mm->size, sizeof(int));
    int ok = counts && displs, every = 0;
    MPI_Allreduce(&ok, &every, 1, MPI_INT, MPI_MIN, mm->comm);
    if (every && row_bytes > 0 && n_rows > 0) {
        clv_mpi_split_items(mm, n_rows, mm->first, mm->count);
        clv_mpi__int_counts(mm, counts, displs);
        MPI_Datatype t = clv_mpi__item_type(row_bytes);
        MPI_Allgatherv(MPI_IN_PLACE, 0, t, rows, counts, displs, t, mm->comm);
        MPI_Type_free(&t);
    }
    clv_free(counts);
    clv_free(displs);
    if (!every) {
        snprintf(why, why_size, "out of host memory on a rank");
        return CLV_ERROR_OUT_OF_MEMORY;
    }
    return CLV_OK;
}

static inline clv_share clv_mpi_share(clv_mpi_mesh *mm)
{
    clv_share sh;
    sh.range = clv_mpi__share_range;
    sh.exchange = clv_mpi__share_exchange;
    sh.user = mm;
    return sh;
}

#ifdef __cplusplus
}
#endif

#endif /* CLVMAP_MPI_H */
