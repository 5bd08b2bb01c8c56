/* clvmap.h — JAX-style batching transforms (vmap, chunked map, shard) for
 * plain OpenCL 1.2, in one header.                          version 0.1.0
 *
 * WHAT IT IS
 *   clvmap runs one OpenCL kernel over a batch of B independent items, the
 *   way jax.vmap, jax.lax.map(batch_size=k) and shard_map do in JAX:
 *     vmap   one launch over the whole batch (item i is work item i);
 *     chunk  at most k items per launch, launched in order, so per-item
 *            scratch memory is allocated for k items only;
 *     shard  the batch split over several devices (one queue each), every
 *            device running its part chunked, all devices at once.
 *   Any B >= 1, any chunk, any device count: remainders are handled. The same
 *   program runs on NVIDIA, AMD and Intel GPUs and on CPUs (PoCL).
 *
 * A COMPLETE EXAMPLE (a chunked, sharded map; C99)
 *
 *   #include "clvmap.h"
 *   static const char *src =
 *       "__kernel void noisy_square(CLV_ITEMS, __global const float *x,\n"
 *       "                           __global float *y, const float sigma) {\n"
 *       "    CLV_GUARD();                       // padding work items leave\n"
 *       "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 0);\n"
 *       "    float v = x[clv_local()];          // this device's part\n"
 *       "    y[clv_local()] = v * v + sigma * clv_normal_f32(&r);\n"
 *       "}\n";
 *   int main(void) {
 *       enum { B = 100000 };
 *       static float x[B], y[B];
 *       for (int i = 0; i < B; ++i) x[i] = (float)i / B;
 *       clv_mesh *m;                                   // CLV_DEVICES picks devices
 *       if (clv_mesh_open(&m, NULL)) { puts(clv_mesh_message(m)); return 1; }
 *       clv_program *p;
 *       clv_program_desc pd = {0}; pd.source = src;
 *       if (clv_program_build(&p, m, &pd)) { puts(clv_mesh_message(m)); return 1; }
 *       clv_array *xa, *ya;
 *       clv_array_new(&xa, m, CLV_F32, B, 1, CLV_SHARDED);
 *       clv_array_new(&ya, m, CLV_F32, B, 1, CLV_SHARDED);
 *       clv_array_write(xa, x);
 *       clv_map_opts o = {0}; o.chunk = 4096; o.seed = 42;
 *       clv_status s = CLV_MAP(p, "noisy_square", B, &o,
 *                              clv_in(xa), clv_out(ya), clv_float(0.1f));
 *       if (s) puts(clv_mesh_message(m)); else clv_array_read(ya, y);
 *       clv_array_free(xa); clv_array_free(ya);
 *       clv_program_free(p); clv_mesh_close(m);
 *       return s != CLV_OK;
 *   }
 *
 *   Run it on two devices:  CLV_DEVICES=0,1 ./a.out
 *   (with PoCL: POCL_DEVICES="pthread pthread" gives a CPU two devices).
 *
 * DEVICE SIDE
 *   A map kernel is an ordinary OpenCL C 1.2 kernel whose parameter list
 *   starts with CLV_ITEMS. The library's prelude (prepended to every program)
 *   gives it:
 *     clv_item()      the item's global index in the batch (use it for RNG
 *                     keys and for replicated per-item data);
 *     clv_local()     the item's index in this device's part of a CLV_SHARDED
 *                     array (use it to index batched inputs and outputs);
 *     clv_slot()      the item's slot in a scratch buffer (0 .. chunk-1);
 *     CLV_GUARD()     return on the padding work items of the last group;
 *     clv_seed()      clv_map_opts.seed;
 *     clv_real        float, or double when the program was built for f64;
 *     clv_rng         Philox-4x32-10 streams keyed by (seed, item, stream):
 *                     clv_rng_init, clv_rng_u32, clv_uniform_f32/_f64,
 *                     clv_normal_f32/_f64, clv_uniform/clv_normal (clv_real);
 *                     the host reproduces any draw with clv_rng_word_host.
 *     clv_real2..16   vector types of clv_real.
 *   Work groups are always full (the global size is padded to the local
 *   size), which keeps every item on the same compiled code path.
 *   With opts.shape = CLV_ITEM_PER_GROUP one work group serves one item: its
 *   work items share the item's inner loop through local memory
 *   (clv_local_mem(bytes) arguments) and get_local_id(0).
 *
 * GUARANTEES
 *   1. Partition invariance: for a kernel whose items do not talk to each
 *      other, every output is bitwise identical for every chunk size and
 *      every device split on the same kind of device. RNG draws depend on the
 *      global item index, never on the chunk or device. clv_reduce uses one
 *      fixed order over the global index.
 *   2. Bounded, counted memory: a map allocates scratch for one chunk per
 *      device; every buffer the library creates is counted (current and
 *      high-water bytes per device, see clv_mesh_stats). CLV_CHUNK_AUTO picks
 *      the largest chunk whose scratch fits. An allocation failure halves the
 *      chunk and re-runs the chunk; the stats count the halvings. Scratch is
 *      kept for the next map of the same size (repeated maps then allocate
 *      nothing); clv_mesh_trim releases it.
 *   3. Clear errors: every call returns a clv_status; clv_mesh_message()
 *      names the failing OpenCL call, the error, the device, and for build
 *      failures the log with line numbers of your source. Bad arguments are
 *      refused before anything is enqueued.
 *   4. OpenCL C 1.2 only; fp64 optional; no vendor extensions required.
 *   5. This header alone is enough: the device prelude is embedded in it.
 *
 * FAULTS
 *   A device that stops working in a map (a launch fails and the device then
 *   reports itself unavailable or cannot finish its queue) is marked lost
 *   (clv_device_info.lost) and never used again: splits, new arrays, builds
 *   and maps skip it. What happens to its items depends on the mesh:
 *     failover = 1  every sharded array keeps a host copy (clv_array_write
 *                   and each map's outputs refresh it; clv_array_sync_host
 *                   after you write buffers yourself). The other devices
 *                   finish their parts, every array with items on the lost
 *                   device is placed anew on the others from the copies, and
 *                   the lost device's items are run there: the map returns
 *                   CLV_OK with the bits a fault-free run gives (guarantee 1).
 *                   The NSS, NUTS and L-BFGS add-ons inherit this (NUTS
 *                   chains resume from their last completed block). Cost:
 *                   host memory for the arrays, and each map reads its
 *                   outputs back.
 *     failover = 0  (default) the map ends with CLV_ERROR_DEVICE_LOST; items
 *                   on the lost device are gone: reading such an array, or
 *                   mapping it as an input, says so; writing it again places
 *                   it on the devices left, and an output is placed anew by
 *                   the next map.
 *   With no device left every call returns CLV_ERROR_DEVICE_LOST. An
 *   allocation failure is not a loss: the chunk is halved (guarantee 2).
 *   Tests inject all of these with CLV_FAULT_INJECTION (tests/faults).
 *
 * OPTIONS (define before including)
 *   CLV_MALLOC(n) / CLV_REALLOC(p, n) / CLV_FREE(p)   host allocator hooks
 *                 (all three or none);
 *   CLV_MESSAGE_SIZE   bytes of the mesh's message buffer (default 8192);
 *   CLV_NO_THREADS     no once-only first enumeration (see THREADS);
 *   CLV_FAULT_INJECTION  tests only: clv_mesh_faults(m) makes a mesh act as a
 *                 device with less memory, one that fails large launches,
 *                 one that dies at its n-th launch, or makes the n-th
 *                 allocation or build fail (see clv_faults).
 *   Environment: CLV_DEVICES selects devices when clv_mesh_desc.devices is
 *   NULL (an empty CLV_DEVICES counts as unset; an empty devices string is
 *   refused). A device string is a comma-separated list of entries (spaces
 *   around them ignored), each naming devices not named before:
 *     all, gpu, cpu, accelerator   every device of that type;
 *     0,2                          flat indices: the order of
 *                                  clv_list_devices;
 *     pocl:0, nvidia:1             a platform and a device index within it.
 *                                  The platform word matches, ignoring case,
 *                                  a piece of the platform's name ("Portable
 *                                  Computing Language", "Intel(R) OpenCL",
 *                                  "NVIDIA CUDA", "rusticl") or vendor ("The
 *                                  pocl project", "Advanced Micro Devices,
 *                                  Inc."), its whole ICD suffix ("POCL",
 *                                  "INTEL", "NV", "AMD", "MESA"), or a short
 *                                  name: pocl, intel, nvidia, amd, rusticl.
 *                                  The first matching platform that has a
 *                                  device of that index is used;
 *     any of them + /N             each device named split into N equal
 *                                  sub-devices: cpu/2, 0/2, pocl:0/3
 *                                  (clCreateSubDevices with
 *                                  CL_DEVICE_PARTITION_EQUALLY, compute
 *                                  units / N each, rounded down). Each
 *                                  sub-device is a device of the mesh with
 *                                  its own context and queue; clv_mesh_close
 *                                  releases it. A device whose driver has no
 *                                  equal partition, or with fewer than N
 *                                  compute units, is refused with
 *                                  CLV_ERROR_DEVICE_SPEC (clv_list_devices
 *                                  shows how far each device splits). /1
 *                                  leaves the device whole.
 *   clv_mesh_desc.sub_devices = N splits every entry written without /N
 *   (and the default's devices) the same way. Default: all GPUs, else all
 *   CPUs, else every device.
 *
 * THREADS
 *   A mesh and the programs and arrays made from it belong to one host
 *   thread at a time: no call on a mesh, its programs or its arrays may run
 *   while another is running on the same mesh (they share its message,
 *   counters, scratch cache and array list; lock around them if you must).
 *   Different meshes may be used from different threads at once, and
 *   clv_status_string, clv_list_devices and the host RNG functions may be
 *   called from any thread, also as the process's first OpenCL use: the
 *   first platform enumeration runs once (pthread_once, InitOnceExecuteOnce),
 *   because ICD loaders and drivers (ocl-icd with PoCL 3.1) do not survive
 *   two threads racing through their own first-call setup. That once-flag
 *   is the library's only global state: one per program (a weak or
 *   selectany definition) with GCC, Clang and MSVC; with other compilers,
 *   or with CLV_NO_THREADS defined (no pthread/windows.h include), call
 *   clv_list_devices(NULL, 0) before starting threads. On glibc older than
 *   2.34, link with -pthread.
 *
 * REVISION HISTORY
 *   0.1.0 (2026-11-21) mesh, programs, arrays, map (vmap/chunk/shard),
 *                      reductions, Philox RNG (device and host), memory
 *                      accounting with a scratch cache, fault injection;
 *                      device loss and failover, clv_map_opts.item_offset.
 *
 * LICENSE: MIT. See the end of the file.
 *
 * ------------------------------------------------------------------------
 * Stop reading here if you only want the API: the declarations follow, each
 * with a line of comment; the implementation is after them.
 */
#ifndef CLVMAP_H
#define CLVMAP_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLV_VERSION_MAJOR 0
#define CLV_VERSION_MINOR 1
#define CLV_VERSION_PATCH 0

/* ---- results ------------------------------------------------------------ */

typedef enum clv_status {
    CLV_OK = 0,
    CLV_ERROR_INVALID_ARGUMENT, /* NULL pointer, zero size, chunk < -1, ... */
    CLV_ERROR_DEVICE_SPEC,      /* a device string that does not parse or names no device */
    CLV_ERROR_NO_DEVICE,        /* no OpenCL device of the kind asked for */
    CLV_ERROR_BUILD,            /* the OpenCL compiler rejected the program (log in message) */
    CLV_ERROR_NO_FP64,          /* double asked for on a device without cl_khr_fp64 */
    CLV_ERROR_UNKNOWN_KERNEL,   /* no kernel of that name in the program */
    CLV_ERROR_ARGUMENT_COUNT,   /* the kernel takes a different number of arguments */
    CLV_ERROR_ARGUMENT_TYPE,    /* an argument's dtype or kind does not match the kernel's */
    CLV_ERROR_SHAPE,            /* array sizes, meshes or splits that do not match */
    CLV_ERROR_OUT_OF_MEMORY,    /* host memory, or device memory even at chunk 1 */
    CLV_ERROR_OPENCL,           /* any other OpenCL failure (details in message) */
    CLV_ERROR_DEVICE_LOST,      /* a device stopped working; the mesh no longer uses it */
    CLV_STATUS_COUNT
} clv_status;

/* A fixed English description of a status (never NULL). */
static inline const char *clv_status_string(clv_status status);

/* ---- devices: the mesh -------------------------------------------------- */

typedef struct clv_mesh clv_mesh;

typedef enum clv_split {
    CLV_SPLIT_EQUAL = 0,     /* default: the same number of items per device (+-1) */
    CLV_SPLIT_COMPUTE_UNITS, /* in proportion to CL_DEVICE_MAX_COMPUTE_UNITS */
    CLV_SPLIT_MEASURED,      /* in proportion to items/s measured by earlier maps */
    CLV_SPLIT_WEIGHTS        /* in proportion to clv_mesh_desc.weights */
} clv_split;

typedef struct clv_mesh_desc {
    const char *devices;    /* NULL: $CLV_DEVICES, else the default (see OPTIONS) */
    clv_split split;        /* how batches are divided between devices */
    const double *weights;  /* CLV_SPLIT_WEIGHTS: one weight >= 0 per device */
    int n_weights;
    int no_fp64;            /* nonzero: treat every device as lacking fp64 (to check
                               that a program also runs on float-only GPUs) */
    int no_profiling;       /* nonzero: no profiling events (kernel_ns stays 0) */
    int failover;           /* nonzero: keep a host copy of every sharded array, so that
                               the items of a device that stops working are re-run on the
                               others with the same bits (see FAULTS) */
    int sub_devices;        /* N >= 2: split every device named without "/N" (see OPTIONS)
                               into N equal sub-devices; 0: no split */
} clv_mesh_desc;

typedef struct clv_device_info {
    char name[256];
    char vendor[256];
    char platform[256];
    unsigned compute_units;
    uint64_t global_mem_bytes;
    uint64_t max_alloc_bytes;
    size_t max_work_group_size;
    int fp64;               /* cl_khr_fp64 available (and not disabled by no_fp64) */
    int lost;               /* the device stopped working; maps and arrays skip it */
} clv_device_info;

typedef struct clv_device_stats {
    uint64_t items;             /* batch items run on this device */
    uint64_t launches;          /* kernel launches */
    uint64_t chunk_used;        /* items per launch in the latest map (after halvings) */
    uint64_t chunk_halvings;    /* times an allocation failure halved the chunk */
    uint64_t bytes_current;     /* device bytes held now by clvmap buffers, including
                                   scratch kept for the next map (see clv_mesh_trim) */
    uint64_t bytes_high_water;  /* most device bytes ever held at once */
    uint64_t scratch_high_water;/* most scratch bytes held at once by one map */
    uint64_t kernel_ns;         /* kernel time from profiling events */
    uint64_t items_recovered;   /* items re-run here for a device that was lost */
} clv_device_stats;

/* Open the devices named by desc (NULL: all defaults). Like sqlite3_open, a
 * mesh is returned even on failure so that clv_mesh_message can say why;
 * close it with clv_mesh_close. *out is NULL only when host memory ran out. */
static inline clv_status clv_mesh_open(clv_mesh **out, const clv_mesh_desc *desc);
/* Release everything the mesh holds (safe on NULL). Free its arrays and
 * programs first. */
static inline void clv_mesh_close(clv_mesh *m);
/* The latest error's message, or "" (never NULL). */
static inline const char *clv_mesh_message(const clv_mesh *m);
static inline int clv_mesh_device_count(const clv_mesh *m);
static inline clv_status clv_mesh_device_info(const clv_mesh *m, int device, clv_device_info *info);
static inline clv_status clv_mesh_stats(const clv_mesh *m, int device, clv_device_stats *stats);
/* Release the scratch buffers kept for reuse by the next map (they count in
 * bytes_current until then). */
static inline void clv_mesh_trim(clv_mesh *m);
/* Zero the counters (not the bytes currently held). */
static inline void clv_mesh_reset_stats(clv_mesh *m);
/* Change how later arrays and maps divide batches (arrays made before keep
 * their split). weights: CLV_SPLIT_WEIGHTS only. */
static inline clv_status clv_mesh_set_split(clv_mesh *m, clv_split split, const double *weights, int n_weights);
/* Items owned by each device for a batch of n_items under the current split. */
static inline clv_status clv_mesh_split_items(const clv_mesh *m, size_t n_items, size_t *first, size_t *count);
/* Interop (CLBlast and your own OpenCL code): the device's handles. */
static inline cl_context clv_mesh_context(const clv_mesh *m, int device);
static inline cl_command_queue clv_mesh_queue(const clv_mesh *m, int device);
static inline cl_device_id clv_mesh_device_id(const clv_mesh *m, int device);
/* Write a numbered list of every OpenCL device (the indices CLV_DEVICES uses)
 * into buf; returns the number of devices. */
static inline int clv_list_devices(char *buf, size_t size);

/* ---- programs ----------------------------------------------------------- */

typedef struct clv_program clv_program;

typedef enum clv_dtype { CLV_F32 = 0, CLV_F64, CLV_I32, CLV_U32 } clv_dtype;

typedef struct clv_program_desc {
    const char *source;  /* OpenCL C 1.2 source (the prelude is prepended) */
    const char *name;    /* shown in build logs as the file name (default "program.cl") */
    const char *options; /* extra compiler options, e.g. "-DDIM=16" */
    clv_dtype real;      /* CLV_F32 (default) or CLV_F64: what clv_real means */
    int fp64;            /* nonzero: enable double even when real is CLV_F32 */
    /* For libraries built on clvmap (the add-on headers): source lines placed
     * after the prelude and before `source`, reported in build logs as
     * library_name (default "library.cl"). */
    const char *const *library_lines;
    size_t n_library_lines;
    const char *library_name;
} clv_program_desc;

/* Build the program for every device of the mesh. On CLV_ERROR_BUILD the
 * mesh's message holds each failing device's log; *out is NULL on failure. */
static inline clv_status clv_program_build(clv_program **out, clv_mesh *m, const clv_program_desc *desc);
static inline void clv_program_free(clv_program *p);

/* ---- arrays ------------------------------------------------------------- */

typedef struct clv_array clv_array;

typedef enum clv_layout {
    CLV_SHARDED = 0, /* each device holds the items it owns (index with clv_local()) */
    CLV_REPLICATED   /* every device holds all items (index with clv_item() or freely) */
} clv_layout;

/* n_items items of item_elems elements of dtype each. A sharded array is
 * split like a map of n_items items on this mesh. */
static inline clv_status clv_array_new(clv_array **out, clv_mesh *m, clv_dtype dtype,
                                       size_t n_items, size_t item_elems, clv_layout layout);
static inline void clv_array_free(clv_array *a);
/* Copy n_items*item_elems elements from host (scattered to their devices). */
static inline clv_status clv_array_write(clv_array *a, const void *host);
/* Copy the whole array to host (gathered in global item order). */
static inline clv_status clv_array_read(const clv_array *a, void *host);
/* As write/read, but the host side is double whatever the array's dtype
 * (converted element by element): one host code path for f32 and f64.
 * Integer dtypes truncate toward zero and clamp to their range; NaN is 0. */
static inline clv_status clv_array_write_f64(clv_array *a, const double *host);
static inline clv_status clv_array_read_f64(const clv_array *a, double *host);
/* The array's dtype, layout, items and elements per item (any may be NULL). */
static inline clv_status clv_array_shape(const clv_array *a, clv_dtype *dtype, clv_layout *layout,
                                         size_t *n_items, size_t *item_elems);
/* Interop: the buffer on a device and the items it holds (count 0: none).
 * Ask again after a device is lost: failover moves arrays to new buffers. */
static inline cl_mem clv_array_buffer(const clv_array *a, int device, size_t *first, size_t *count);
/* Failover meshes only (a no-op otherwise): after writing an array's buffers
 * yourself (CLBlast, your own kernels), refresh the host copy that a lost
 * device's items are recovered from. clv_map and clv_array_write keep it
 * current by themselves. */
static inline clv_status clv_array_sync_host(clv_array *a);
static inline size_t clv_dtype_size(clv_dtype dtype);

/* ---- map: vmap, chunked map and shard in one call ----------------------- */

#define CLV_CHUNK_NONE 0   /* one launch per device (vmap) */
#define CLV_CHUNK_AUTO (-1) /* the largest chunk whose scratch fits */

typedef enum clv_shape {
    CLV_ITEM_PER_WORK_ITEM = 0, /* default: item i is work item i */
    CLV_ITEM_PER_GROUP          /* item i is work group i of local_size work items */
} clv_shape;

typedef struct clv_map_opts {
    long chunk;        /* CLV_CHUNK_NONE (0), k > 0 items per launch, or CLV_CHUNK_AUTO */
    clv_shape shape;   /* launch shape */
    size_t local_size; /* work items per group; 0: 64 (or the device's limit) */
    uint64_t seed;     /* what clv_seed() returns in the kernel */
    uint64_t item_offset; /* global index of item 0: the kernel sees items item_offset ..
                             item_offset + n_items - 1 (clv_item(), the RNG), while
                             clv_local()/clv_slot() still index this map's arrays; lets
                             one process run its part of a larger batch with the same bits */
} clv_map_opts;

typedef enum clv_arg_kind {
    CLV_ARG_IN = 1,     /* a clv_array the kernel reads */
    CLV_ARG_OUT,        /* a clv_array the kernel writes */
    CLV_ARG_INOUT,      /* a clv_array the kernel reads and writes */
    CLV_ARG_SCRATCH,    /* bytes per item of device scratch, for one chunk */
    CLV_ARG_LOCAL,      /* bytes of __local memory per work group */
    CLV_ARG_VALUE,      /* a scalar passed by value */
    CLV_ARG_REAL        /* a scalar converted to the kernel's float/double */
} clv_arg_kind;

typedef struct clv_arg {
    clv_arg_kind kind;
    clv_array *array;
    size_t bytes;        /* SCRATCH, LOCAL: byte count; VALUE: value size */
    const char *type;    /* VALUE: the OpenCL C type name it must match */
    union { int32_t i; uint32_t u; int64_t l; uint64_t ul; float f; double d; } value;
} clv_arg;

static inline clv_arg clv_in(clv_array *a);
static inline clv_arg clv_out(clv_array *a);
static inline clv_arg clv_inout(clv_array *a);
static inline clv_arg clv_scratch(size_t bytes_per_item);
static inline clv_arg clv_local_mem(size_t bytes_per_group);
static inline clv_arg clv_int(int32_t v);
static inline clv_arg clv_uint(uint32_t v);
static inline clv_arg clv_long(int64_t v);
static inline clv_arg clv_ulong(uint64_t v);
static inline clv_arg clv_float(float v);
static inline clv_arg clv_double(double v);
static inline clv_arg clv_real(double v); /* float or double, as the kernel declares it */

/* Run kernel over items 0..n_items-1 on every device of the program's mesh.
 * args follow CLV_ITEMS in the kernel's parameter order. */
static inline clv_status clv_map(clv_program *p, const char *kernel, size_t n_items,
                                 const clv_map_opts *opts, const clv_arg *args, int n_args);

/* C only (a compound literal): CLV_MAP(p, "k", n, &opts, clv_in(x), clv_out(y)) */
#define CLV_MAP(p, kernel, n_items, opts, ...)                                 \
    clv_map((p), (kernel), (n_items), (opts), (const clv_arg[]){__VA_ARGS__},  \
            (int)(sizeof((const clv_arg[]){__VA_ARGS__}) / sizeof(clv_arg)))

/* ---- reductions over the batch ------------------------------------------ */

typedef enum clv_reduce_op { CLV_SUM = 0, CLV_MAX, CLV_LOGSUMEXP } clv_reduce_op;

/* For each element e of the item shape, out[e] = op over items 0..n-1 of
 * a[item][e], in double, in global item order (pairwise for sums): the same
 * bits whatever the split. The batch is read back to the host to do so. */
static inline clv_status clv_reduce(const clv_array *a, clv_reduce_op op, double *out);

/* ---- host-side RNG ------------------------------------------------------- */

/* Philox-4x32-10 on the host, bit-identical to the prelude's
 * clv_philox4x32_10: out = philox(counter, key). */
static inline void clv_philox4x32_10_host(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);
/* The same 32-bit words as the prelude's clv_rng_u32: word `draw` of stream
 * `stream` for item `item` under seed (draw counts 32-bit words from 0). */
static inline uint32_t clv_rng_word_host(uint64_t seed, uint64_t item, uint32_t stream, uint32_t draw);
/* As the prelude's clv_uniform_f64 for the words draw, draw+1: (0, 1). */
static inline double clv_uniform_f64_host(uint64_t seed, uint64_t item, uint32_t stream, uint32_t draw);

/* The prelude's OpenCL C source, as the lines handed to the compiler. */
static inline const char *const *clv_prelude_lines(size_t *n_lines);

#ifdef __cplusplus
}
#endif

/* ========================================================================
 * IMPLEMENTATION
 * ======================================================================== */

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(CLV_MALLOC) && defined(CLV_REALLOC) && defined(CLV_FREE)
/* all three given */
#elif !defined(CLV_MALLOC) && !defined(CLV_REALLOC) && !defined(CLV_FREE)
#define CLV_MALLOC(n) malloc(n)
#define CLV_REALLOC(p, n) realloc((p), (n))
#define CLV_FREE(p) free(p)
#else
#error "clvmap: define all of CLV_MALLOC, CLV_REALLOC and CLV_FREE, or none"
#endif

#ifndef CLV_MESSAGE_SIZE
#define CLV_MESSAGE_SIZE 8192
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Arguments the library passes before the user's (see CLV_ITEMS). */
#define CLV__HIDDEN_ARGS 5
/* Work items per group when the caller does not choose. */
#define CLV__DEFAULT_LOCAL_SIZE 64
/* Chunks enqueued per device before the host waits and checks them. */
#define CLV__LAUNCH_WINDOW 64
/* Scratch buffers a device keeps between maps for reuse. */
#define CLV__SCRATCH_CACHE 4
/* Fraction of free device memory that CLV_CHUNK_AUTO may fill. */
#define CLV__AUTO_MARGIN 0.75

#ifdef CLV_FAULT_INJECTION
/* Test-only faults (define CLV_FAULT_INJECTION before including): make the
 * mesh behave like a smaller or failing device. Reach them through
 * clv_mesh_faults(m). Zero means no fault. */
typedef struct clv_faults {
    uint64_t device_bytes;     /* buffer creation beyond this many bytes held on a
                                  device fails with CL_MEM_OBJECT_ALLOCATION_FAILURE */
    uint64_t launch_max_items; /* launches of more items fail at enqueue with
                                  CL_OUT_OF_RESOURCES, as some drivers report it */
    uint64_t failed_launch;    /* the device's n-th launch (counting from 1 in its
                                  stats) reports CL_MEM_OBJECT_ALLOCATION_FAILURE
                                  when collected, as a late failure; fires once */
    uint64_t fail_allocation;  /* the mesh's n-th device buffer creation (counting
                                  from 1, see allocations) fails as out of memory, */
    uint64_t fail_allocations_in_a_row; /* and so many after it (0 or 1: just it) */
    uint64_t lose_devices;     /* bit d: device d dies at its ... */
    uint64_t lose_at_launch;   /* ... n-th launch (counting from 1 in its stats): that
                                  launch and every later use fail, and its buffers
                                  are overwritten with 0xFF bytes, so a result read
                                  from them could not pass for a correct one */
    uint64_t fail_build;       /* the mesh's n-th program build on a device (counting
                                  from 1, see builds) fails */
    uint64_t allocations, builds; /* counted so far (tests use them to choose n) */
    uint64_t dead;             /* bit d: device d has died (set by lose_devices) */
} clv_faults;
#endif

typedef struct clv__device {
    cl_platform_id platform;
    cl_device_id id;
    cl_context context;
    cl_command_queue queue;
    clv_device_info info;
    clv_device_stats stats;
    double weight;          /* CLV_SPLIT_WEIGHTS */
    cl_uint address_bits;   /* CL_DEVICE_ADDRESS_BITS: the range of global ids */
    /* Scratch buffers kept from the last map for the next one of the same
     * size: repeated maps (sampler steps, optimiser iterations) then reuse
     * memory instead of paying for fresh allocation and page faults. Still
     * counted in bytes_current; clv_mesh_trim releases them. */
    cl_mem cached[CLV__SCRATCH_CACHE];
    size_t cached_bytes[CLV__SCRATCH_CACHE];
} clv__device;

struct clv_mesh {
    int n_devices;
    clv__device *devices;
    clv_split split;
    int profiling;
    int opened;             /* 0 for a mesh that only carries an open error */
    int failover;           /* clv_mesh_desc.failover */
    clv_array *arrays;      /* every live array, newest first: a lost device's
                               parts are moved to the others */
#ifdef CLV_FAULT_INJECTION
    clv_faults faults;
#endif
    char message[CLV_MESSAGE_SIZE];
};

typedef struct clv__kernel {
    char *name;
    cl_kernel *per_device;  /* one per mesh device */
    cl_uint n_args;
} clv__kernel;

struct clv_program {
    clv_mesh *mesh;
    cl_program *per_device;
    clv_dtype real;
    clv__kernel *kernels;   /* created on first use, kept until free */
    int n_kernels;
};

struct clv_array {
    clv_mesh *mesh;
    clv_dtype dtype;
    clv_layout layout;
    size_t n_items, item_elems;
    size_t *first, *count;  /* per device: items held (replicated: 0, n_items) */
    cl_mem *buffers;        /* per device; NULL where count is 0 */
    void *host;             /* failover meshes, sharded arrays: the contents as of
                               the last write, map or sync */
    clv_array *prev, *next; /* the mesh's list of arrays */
};

/* ---- small helpers ------------------------------------------------------ */

static inline void *clv__calloc(size_t n, size_t size)
{
    if (n != 0 && size > (size_t)-1 / n) return NULL;
    size_t bytes = n * size;
    void *p = CLV_MALLOC(bytes > 0 ? bytes : 1);
    if (p) memset(p, 0, bytes);
    return p;
}

static inline char *clv__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = (char *)CLV_MALLOC(n);
    if (d) memcpy(d, s, n);
    return d;
}

static inline const char *clv_status_string(clv_status status)
{
    switch (status) {
    case CLV_OK: return "success";
    case CLV_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case CLV_ERROR_DEVICE_SPEC: return "invalid device specification";
    case CLV_ERROR_NO_DEVICE: return "no OpenCL device found";
    case CLV_ERROR_BUILD: return "OpenCL program build failed";
    case CLV_ERROR_NO_FP64: return "double precision not supported by a device";
    case CLV_ERROR_UNKNOWN_KERNEL: return "unknown kernel name";
    case CLV_ERROR_ARGUMENT_COUNT: return "wrong number of kernel arguments";
    case CLV_ERROR_ARGUMENT_TYPE: return "kernel argument of the wrong type";
    case CLV_ERROR_SHAPE: return "array shape or split mismatch";
    case CLV_ERROR_OUT_OF_MEMORY: return "out of memory";
    case CLV_ERROR_OPENCL: return "OpenCL error";
    case CLV_ERROR_DEVICE_LOST: return "device lost";
    case CLV_STATUS_COUNT: break;
    }
    return "unknown status";
}

static inline const char *clv__cl_error_name(cl_int err)
{
    switch (err) {
#define CLV__E(x) case x: return #x;
    CLV__E(CL_SUCCESS) CLV__E(CL_DEVICE_NOT_FOUND) CLV__E(CL_DEVICE_NOT_AVAILABLE)
    CLV__E(CL_COMPILER_NOT_AVAILABLE) CLV__E(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    CLV__E(CL_OUT_OF_RESOURCES) CLV__E(CL_OUT_OF_HOST_MEMORY)
    CLV__E(CL_PROFILING_INFO_NOT_AVAILABLE) CLV__E(CL_MEM_COPY_OVERLAP)
    CLV__E(CL_IMAGE_FORMAT_MISMATCH) CLV__E(CL_IMAGE_FORMAT_NOT_SUPPORTED)
    CLV__E(CL_BUILD_PROGRAM_FAILURE) CLV__E(CL_MAP_FAILURE)
    CLV__E(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    CLV__E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    CLV__E(CL_COMPILE_PROGRAM_FAILURE) CLV__E(CL_LINKER_NOT_AVAILABLE)
    CLV__E(CL_LINK_PROGRAM_FAILURE) CLV__E(CL_DEVICE_PARTITION_FAILED)
    CLV__E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) CLV__E(CL_INVALID_VALUE)
    CLV__E(CL_INVALID_DEVICE_TYPE) CLV__E(CL_INVALID_PLATFORM) CLV__E(CL_INVALID_DEVICE)
    CLV__E(CL_INVALID_CONTEXT) CLV__E(CL_INVALID_QUEUE_PROPERTIES)
    CLV__E(CL_INVALID_COMMAND_QUEUE) CLV__E(CL_INVALID_HOST_PTR)
    CLV__E(CL_INVALID_MEM_OBJECT) CLV__E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    CLV__E(CL_INVALID_IMAGE_SIZE) CLV__E(CL_INVALID_SAMPLER) CLV__E(CL_INVALID_BINARY)
    CLV__E(CL_INVALID_BUILD_OPTIONS) CLV__E(CL_INVALID_PROGRAM)
    CLV__E(CL_INVALID_PROGRAM_EXECUTABLE) CLV__E(CL_INVALID_KERNEL_NAME)
    CLV__E(CL_INVALID_KERNEL_DEFINITION) CLV__E(CL_INVALID_KERNEL)
    CLV__E(CL_INVALID_ARG_INDEX) CLV__E(CL_INVALID_ARG_VALUE) CLV__E(CL_INVALID_ARG_SIZE)
    CLV__E(CL_INVALID_KERNEL_ARGS) CLV__E(CL_INVALID_WORK_DIMENSION)
    CLV__E(CL_INVALID_WORK_GROUP_SIZE) CLV__E(CL_INVALID_WORK_ITEM_SIZE)
    CLV__E(CL_INVALID_GLOBAL_OFFSET) CLV__E(CL_INVALID_EVENT_WAIT_LIST)
    CLV__E(CL_INVALID_EVENT) CLV__E(CL_INVALID_OPERATION) CLV__E(CL_INVALID_GL_OBJECT)
    CLV__E(CL_INVALID_BUFFER_SIZE) CLV__E(CL_INVALID_MIP_LEVEL)
    CLV__E(CL_INVALID_GLOBAL_WORK_SIZE) CLV__E(CL_INVALID_PROPERTY)
    CLV__E(CL_INVALID_IMAGE_DESCRIPTOR) CLV__E(CL_INVALID_COMPILER_OPTIONS)
    CLV__E(CL_INVALID_LINKER_OPTIONS) CLV__E(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef CLV__E
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL platform installed)";
    default: return "unknown OpenCL error";
    }
}

/* Record a failure in the mesh's message and return its status. */
static inline clv_status clv__fail(clv_mesh *m, clv_status status, const char *fmt, ...)
{
    if (m) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->message, sizeof m->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* Record a failed OpenCL call: which call, which error, which device. */
static inline clv_status clv__fail_cl(clv_mesh *m, const char *call, cl_int err, int device)
{
    clv_status status = (err == CL_OUT_OF_HOST_MEMORY) ? CLV_ERROR_OUT_OF_MEMORY : CLV_ERROR_OPENCL;
    if (device >= 0 && m && device < m->n_devices)
        return clv__fail(m, status, "%s failed with %s (%d) on device %d (%s)", call,
                         clv__cl_error_name(err), (int)err, device, m->devices[device].info.name);
    return clv__fail(m, status, "%s failed with %s (%d)", call, clv__cl_error_name(err), (int)err);
}

static inline int clv__is_alloc_error(cl_int err)
{
    return err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_RESOURCES ||
           err == CL_INVALID_BUFFER_SIZE;
}

/* ---- device buffers, counted -------------------------------------------- */

static inline void clv__count_bytes(clv__device *d, int64_t delta)
{
    d->stats.bytes_current = (uint64_t)((int64_t)d->stats.bytes_current + delta);
    if (d->stats.bytes_current > d->stats.bytes_high_water)
        d->stats.bytes_high_water = d->stats.bytes_current;
}

/* Every device buffer of the library is created here; err says why not. */
static inline cl_mem clv__buffer_create_once(clv_mesh *m, int device, cl_mem_flags flags, size_t bytes, cl_int *err)
{
    clv__device *d = &m->devices[device];
#ifdef CLV_FAULT_INJECTION
    uint64_t nth = ++m->faults.allocations, from = m->faults.fail_allocation; /* counts every creation asked */
    uint64_t run = m->faults.fail_allocations_in_a_row > 1 ? m->faults.fail_allocations_in_a_row : 1;
    int injected = from && nth >= from && nth - from < run;
#endif
    if (bytes > d->info.max_alloc_bytes) {
        *err = CL_INVALID_BUFFER_SIZE;
        return NULL;
    }
#ifdef CLV_FAULT_INJECTION
    if ((m->faults.device_bytes && d->stats.bytes_current + bytes > m->faults.device_bytes) || injected) {
        *err = CL_MEM_OBJECT_ALLOCATION_FAILURE;
        return NULL;
    }
#endif
    cl_mem buf = clCreateBuffer(d->context, flags, bytes, NULL, err);
    if (buf) clv__count_bytes(d, (int64_t)bytes);
    return buf;
}

static inline void clv__buffer_release(clv_mesh *m, int device, cl_mem buf, size_t bytes)
{
    if (!buf) return;
    clReleaseMemObject(buf);
    clv__count_bytes(&m->devices[device], -(int64_t)bytes);
}

static inline uint64_t clv__cached_total(const clv__device *d)
{
    uint64_t total = 0;
    for (int c = 0; c < CLV__SCRATCH_CACHE; ++c) total += d->cached[c] ? d->cached_bytes[c] : 0;
    return total;
}

static inline void clv__release_cache(clv_mesh *m, int device)
{
    clv__device *d = &m->devices[device];
    for (int c = 0; c < CLV__SCRATCH_CACHE; ++c) {
        clv__buffer_release(m, device, d->cached[c], d->cached_bytes[c]);
        d->cached[c] = NULL;
    }
}

static inline void clv_mesh_trim(clv_mesh *m)
{
    for (int i = 0; m && i < m->n_devices; ++i) clv__release_cache(m, i);
}

/* As clv__buffer_create_once, but an allocation failure first releases the
 * scratch kept for reuse and tries again. */
static inline cl_mem clv__buffer_create(clv_mesh *m, int device, cl_mem_flags flags, size_t bytes, cl_int *err)
{
    cl_mem buf = clv__buffer_create_once(m, device, flags, bytes, err);
    if (!buf && clv__is_alloc_error(*err) && clv__cached_total(&m->devices[device]) > 0) {
        clv__release_cache(m, device);
        buf = clv__buffer_create_once(m, device, flags, bytes, err);
    }
    return buf;
}

/* ---- device discovery and the CLV_DEVICES parser ------------------------ */

/* The process's first platform enumeration runs once, whatever the number of
 * threads asking. ICD loaders and drivers set themselves up lazily in their
 * first clGetPlatformIDs / clGetDeviceIDs, and not all of them guard that
 * against a second thread: with ocl-icd and PoCL 3.1, two threads opening
 * their own meshes as the process's first OpenCL use got no platform, or
 * crashed in the driver (tests/test_threads.c). Once that first enumeration
 * has finished, later ones may run concurrently.
 *
 * The once-flag must be one per program, not one per translation unit (every
 * function here is static inline, so a static flag would be one per file
 * that includes this header, and two files could still race each other). It
 * is a weak definition (GCC, Clang) or __declspec(selectany) (MSVC, MinGW),
 * which the linker merges into one; with other compilers, or with
 * CLV_NO_THREADS defined, there is no flag: then call clv_list_devices(NULL, 0)
 * once before starting threads. POSIX: glibc before 2.34 needs -pthread. */
#if !defined(CLV_NO_THREADS) && defined(_WIN32) && (defined(_MSC_VER) || defined(__GNUC__))
#define CLV__ONCE_WIN32 1
#elif !defined(CLV_NO_THREADS) && !defined(_WIN32) && (defined(__GNUC__) || defined(__clang__))
#define CLV__ONCE_PTHREAD 1
#endif
#if defined(CLV__ONCE_WIN32) || defined(CLV__ONCE_PTHREAD)
#ifdef __cplusplus
} /* the system headers are included with their own linkage */
#endif
#ifdef CLV__ONCE_WIN32
#include <windows.h>
#else
#include <pthread.h>
#endif
#ifdef __cplusplus
extern "C" {
#endif
#endif

static inline void clv__first_enumeration(void)
{
    cl_platform_id platforms[16];
    cl_uint n_platforms = 0, n_devices = 0;
    if (clGetPlatformIDs(16, platforms, &n_platforms) != CL_SUCCESS) return;
    if (n_platforms > 16) n_platforms = 16;
    for (cl_uint p = 0; p < n_platforms; ++p) clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, NULL, &n_devices);
}

#if defined(CLV__ONCE_WIN32)
__declspec(selectany) INIT_ONCE clv__enumeration_once = INIT_ONCE_STATIC_INIT;
static BOOL CALLBACK clv__first_enumeration_win32(PINIT_ONCE once, PVOID parameter, PVOID *context)
{
    (void)once;
    (void)parameter;
    (void)context;
    clv__first_enumeration();
    return TRUE;
}
static inline void clv__enumerate_once(void)
{
    InitOnceExecuteOnce(&clv__enumeration_once, clv__first_enumeration_win32, NULL, NULL);
}
#elif defined(CLV__ONCE_PTHREAD)
__attribute__((weak)) pthread_once_t clv__enumeration_once = PTHREAD_ONCE_INIT;
static inline void clv__enumerate_once(void) { pthread_once(&clv__enumeration_once, clv__first_enumeration); }
#else
static inline void clv__enumerate_once(void) {}
#endif

typedef struct clv__found {
    cl_platform_id platform;
    cl_device_id device;
    int platform_index, index_in_platform;
    cl_device_type type;
    char platform_name[128];   /* CL_PLATFORM_NAME: "Portable Computing Language" */
    char platform_vendor[128]; /* CL_PLATFORM_VENDOR: "The pocl project" */
    char platform_suffix[32];  /* cl_khr_icd's CL_PLATFORM_ICD_SUFFIX_KHR: "POCL", "INTEL", "NV" */
} clv__found;

/* cl_khr_icd (cl_ext.h): every ICD-loaded platform answers it. */
#define CLV__PLATFORM_ICD_SUFFIX_KHR 0x0920

/* Every device of every platform, in the order CLV_DEVICES indices use. */
static inline int clv__enumerate(clv__found *found, int capacity)
{
    cl_platform_id platforms[16];
    cl_uint n_platforms = 0;
    int n = 0;
    clv__enumerate_once();
    if (clGetPlatformIDs(16, platforms, &n_platforms) != CL_SUCCESS) return 0;
    if (n_platforms > 16) n_platforms = 16;
    for (cl_uint p = 0; p < n_platforms; ++p) {
        cl_device_id devices[64];
        cl_uint n_devices = 0;
        char pname[128] = "", pvendor[128] = "", psuffix[32] = "";
        clGetPlatformInfo(platforms[p], CL_PLATFORM_NAME, sizeof pname - 1, pname, NULL);
        clGetPlatformInfo(platforms[p], CL_PLATFORM_VENDOR, sizeof pvendor - 1, pvendor, NULL);
        if (clGetPlatformInfo(platforms[p], CLV__PLATFORM_ICD_SUFFIX_KHR, sizeof psuffix - 1, psuffix, NULL) !=
            CL_SUCCESS)
            psuffix[0] = '\0';
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 64, devices, &n_devices) != CL_SUCCESS)
            continue;
        if (n_devices > 64) n_devices = 64;
        for (cl_uint i = 0; i < n_devices && n < capacity; ++i, ++n) {
            found[n].platform = platforms[p];
            found[n].device = devices[i];
            found[n].platform_index = (int)p;
            found[n].index_in_platform = (int)i;
            found[n].type = 0;
            clGetDeviceInfo(devices[i], CL_DEVICE_TYPE, sizeof found[n].type, &found[n].type, NULL);
            memcpy(found[n].platform_name, pname, sizeof pname);
            memcpy(found[n].platform_vendor, pvendor, sizeof pvendor);
            memcpy(found[n].platform_suffix, psuffix, sizeof psuffix);
        }
    }
    return n;
}

static inline int clv__contains_nocase(const char *hay, const char *needle, size_t needle_len)
{
    size_t hay_len = strlen(hay);
    for (size_t i = 0; needle_len <= hay_len && i <= hay_len - needle_len; ++i) {
        size_t j = 0;
        while (j < needle_len && tolower((unsigned char)hay[i + j]) == tolower((unsigned char)needle[j])) ++j;
        if (j == needle_len) return 1;
    }
    return 0;
}

static inline int clv__equals_nocase(const char *s, const char *word, size_t len)
{
    return strlen(s) == len && clv__contains_nocase(s, word, len);
}

/* Does the platform word of a "platform:index" entry name f's platform? What
 * users type: a piece of the platform's name ("Portable Computing Language",
 * "NVIDIA CUDA", "Intel(R) OpenCL", "rusticl") or vendor ("The pocl
 * project", "Advanced Micro Devices, Inc."), its ICD suffix ("POCL", "NV",
 * "AMD", "INTEL", "MESA"), or a short name whose long form the name or vendor
 * holds (pocl, amd; intel, nvidia and rusticl are in the names already). */
static inline int clv__platform_matches(const clv__found *f, const char *word, size_t len)
{
    static const char *const short_names[][2] = {
        { "pocl", "Portable Computing Language" },
        { "amd", "Advanced Micro Devices" },
    };
    if (clv__contains_nocase(f->platform_name, word, len) || clv__contains_nocase(f->platform_vendor, word, len))
        return 1;
    if (f->platform_suffix[0] && clv__equals_nocase(f->platform_suffix, word, len)) return 1;
    for (size_t k = 0; k < sizeof short_names / sizeof short_names[0]; ++k)
        if (clv__equals_nocase(short_names[k][0], word, len) &&
            (clv__contains_nocase(f->platform_name, short_names[k][1], strlen(short_names[k][1])) ||
             clv__contains_nocase(f->platform_vendor, short_names[k][1], strlen(short_names[k][1]))))
            return 1;
    return 0;
}

/* Parse a non-negative decimal integer filling exactly [s, s+len). */
static inline int clv__parse_index(const char *s, size_t len, int *value)
{
    if (len == 0 || len > 6) return 0;
    int v = 0;
    for (size_t i = 0; i < len; ++i) {
        if (!isdigit((unsigned char)s[i])) return 0;
        v = v * 10 + (s[i] - '0');
    }
    *value = v;
    return 1;
}

static inline int clv__type_matches(cl_device_type type, const char *word, size_t len)
{
    if (len == 3 && strncmp(word, "all", 3) == 0) return 1;
    if (len == 3 && strncmp(word, "gpu", 3) == 0) return (type & CL_DEVICE_TYPE_GPU) != 0;
    if (len == 3 && strncmp(word, "cpu", 3) == 0) return (type & CL_DEVICE_TYPE_CPU) != 0;
    if (len == 11 && strncmp(word, "accelerator", 11) == 0) return (type & CL_DEVICE_TYPE_ACCELERATOR) != 0;
    return -1; /* not a type word */
}

/* The devices a device string chose: found[index[k]], split into parts[k]
 * sub-devices (0: the entry had no "/N"; 1: "/1", not split). */
typedef struct clv__chosen {
    int index[64];
    int parts[64];
    int n;
} clv__chosen;

/* Add found[i] to the chosen list unless it is there already. */
static inline int clv__choose(clv__chosen *c, int i, int parts)
{
    for (int k = 0; k < c->n; ++k)
        if (c->index[k] == i) return 0;
    c->index[c->n] = i;
    c->parts[c->n++] = parts;
    return 1;
}

/* One comma-separated token of a device string: a type word, an index, or
 * platform:index, each with an optional "/N" (split into N sub-devices). */
static inline clv_status clv__parse_token(clv_mesh *m, const char *tok, size_t len, const clv__found *found,
                                          int n_found, clv__chosen *c)
{
    int index, parts = 0;
    size_t base = len; /* the entry without its "/N" */
    if (len == 0)
        return clv__fail(m, CLV_ERROR_DEVICE_SPEC, "device string has an empty entry (use e.g. \"0,1\")");
    /* "/N" is the last '/' when digits alone follow it; any other '/' belongs
     * to a platform word ("Mesa/X.org:0"). */
    for (size_t i = len; i-- > 0;)
        if (tok[i] == '/') {
            if (clv__parse_index(tok + i + 1, len - i - 1, &parts)) base = i;
            break;
        }
    if (base < len && parts == 0)
        return clv__fail(m, CLV_ERROR_DEVICE_SPEC, "device entry \"%.*s\": a device cannot be split into 0 "
                         "sub-devices (use /2 or more, or no /N)", (int)len, tok);
    if (base == 0)
        return clv__fail(m, CLV_ERROR_DEVICE_SPEC, "device entry \"%.*s\" names no device before its /N "
                         "(use e.g. cpu/2 or 0/2)", (int)len, tok);
    const char *colon = (const char *)memchr(tok, ':', base);
    if (clv__type_matches(0, tok, base) >= 0) {
        int before = c->n, matched = 0;
        for (int i = 0; i < n_found; ++i)
            if (clv__type_matches(found[i].type, tok, base) == 1) {
                matched = 1;
                clv__choose(c, i, parts);
            }
        if (!matched)
            return clv__fail(m, CLV_ERROR_NO_DEVICE, "no OpenCL device of type \"%.*s\"", (int)base, tok);
        if (c->n == before)
            return clv__fail(m, CLV_ERROR_DEVICE_SPEC, "device entry \"%.*s\" names only devices named "
                             "before it (each device may be named once)", (int)len, tok);
        return CLV_OK;
    }
    if (clv__parse_index(tok, base, &index)) {
        if (index >= n_found)
            return clv__fail(m, CLV_ERROR_DEVICE_SPEC, "device index %d out of range: %d device(s) found",
                             index, n_found);
        if (!clv__choose(c, index, parts))
            return clv__fail(m, CLV_ERROR_DEVICE_SPEC, "device %d named twice", index);
        return CLV_OK;
    }
    if (colon && colon > tok && clv__parse_index(colon + 1, base - (size_t)(colon + 1 - tok), &index)) {
        size_t name_len = (size_t)(colon - tok);
        for (int i = 0; i < n_found; ++i) {
            if (!clv__platform_matches(&found[i], tok, name_len) || found[i].index_in_platform != index)
                continue;
            if (!clv__choose(c, i, parts))
                return clv__fail(m, CLV_ERROR_DEVICE_SPEC, "device \"%.*s\" named twice", (int)len, tok);
            return CLV_OK;
        }
        return clv__fail(m, CLV_ERROR_DEVICE_SPEC, "no device \"%.*s\": no platform matching \"%.*s\" (by "
                         "name, vendor or short name such as pocl, intel, nvidia, amd) has a device %d; "
                         "clv_list_devices() lists them", (int)len, tok, (int)name_len, tok, index);
    }
    return clv__fail(m, CLV_ERROR_DEVICE_SPEC, "cannot parse device entry \"%.*s\": expected all, gpu, cpu, "
                     "accelerator, an index such as 0, or platform:index such as pocl:0, each optionally "
                     "split into N sub-devices with /N (cpu/2)", (int)len, tok);
}

/* Choose devices from a spec (NULL: the default rule). */
static inline clv_status clv__parse_devices(clv_mesh *m, const char *spec, const clv__found *found, int n_found,
                                            clv__chosen *c)
{
    c->n = 0;
    if (!spec) {
        clv_status st = clv__parse_token(m, "gpu", 3, found, n_found, c);
        if (st != CLV_OK) st = clv__parse_token(m, "cpu", 3, found, n_found, c);
        if (st != CLV_OK) st = clv__parse_token(m, "all", 3, found, n_found, c);
        if (st == CLV_OK) m->message[0] = '\0'; /* the tries that found nothing were no error */
        return st;
    }
    const char *s = spec;
    for (;;) {
        while (*s == ' ') ++s;
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        while (len > 0 && s[len - 1] == ' ') --len;
        clv_status st = clv__parse_token(m, s, len, found, n_found, c);
        if (st != CLV_OK) return st;
        if (!end) return CLV_OK;
        s = end + 1;
    }
}

/* Into how many equal sub-devices the device splits at most (1: not at all,
 * its driver offers no CL_DEVICE_PARTITION_EQUALLY). */
static inline cl_uint clv__max_equal_parts(cl_device_id device, cl_uint *compute_units)
{
    cl_device_partition_property props[16];
    size_t props_bytes = 0;
    cl_uint cu = 0, max_sub = 0, parts = 1;
    clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    if (clGetDeviceInfo(device, CL_DEVICE_PARTITION_MAX_SUB_DEVICES, sizeof max_sub, &max_sub, NULL) != CL_SUCCESS)
        max_sub = 0;
    if (clGetDeviceInfo(device, CL_DEVICE_PARTITION_PROPERTIES, sizeof props, props, &props_bytes) != CL_SUCCESS)
        props_bytes = 0;
    for (size_t k = 0; k < props_bytes / sizeof props[0] && props[k]; ++k)
        if (props[k] == CL_DEVICE_PARTITION_EQUALLY) parts = max_sub < cu ? max_sub : cu;
    if (compute_units) *compute_units = cu;
    return parts > 1 ? parts : 1;
}

static inline int clv_list_devices(char *buf, size_t size)
{
    clv__found found[64];
    int n = clv__enumerate(found, 64);
    size_t used = 0;
    if (buf && size) buf[0] = '\0';
    for (int i = 0; i < n && buf && used < size; ++i) {
        char name[256] = "", split[64] = "";
        clGetDeviceInfo(found[i].device, CL_DEVICE_NAME, sizeof name - 1, name, NULL);
        cl_uint parts = clv__max_equal_parts(found[i].device, NULL);
        if (parts > 1) snprintf(split, sizeof split, "  (sub-devices: up to %u, e.g. %d/2)", parts, i);
        int w = snprintf(buf + used, size - used, "%d: %s:%d  %s%s\n", i, found[i].platform_name,
                         found[i].index_in_platform, name, split);
        if (w < 0) break;
        used += (size_t)w;
    }
    return n;
}

/* ---- mesh --------------------------------------------------------------- */

static inline void clv__read_device_info(clv__device *d, int no_fp64)
{
    cl_device_fp_config fp64_config = 0;
    cl_uint cu = 0;
    cl_ulong gmem = 0, maxalloc = 0;
    size_t wg = 1;
    clGetDeviceInfo(d->id, CL_DEVICE_NAME, sizeof d->info.name - 1, d->info.name, NULL);
    clGetDeviceInfo(d->id, CL_DEVICE_VENDOR, sizeof d->info.vendor - 1, d->info.vendor, NULL);
    clGetPlatformInfo(d->platform, CL_PLATFORM_NAME, sizeof d->info.platform - 1, d->info.platform, NULL);
    clGetDeviceInfo(d->id, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    clGetDeviceInfo(d->id, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gmem, &gmem, NULL);
    clGetDeviceInfo(d->id, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof maxalloc, &maxalloc, NULL);
    clGetDeviceInfo(d->id, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    if (clGetDeviceInfo(d->id, CL_DEVICE_ADDRESS_BITS, sizeof d->address_bits, &d->address_bits, NULL) !=
        CL_SUCCESS)
        d->address_bits = 32; /* the smaller of the two the standard allows */
    /* the OpenCL 1.2 test for double (the extension string can be long) */
    clGetDeviceInfo(d->id, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64_config, &fp64_config, NULL);
    d->info.compute_units = cu;
    d->info.global_mem_bytes = gmem;
    d->info.max_alloc_bytes = maxalloc;
    d->info.max_work_group_size = wg;
    d->info.fp64 = !no_fp64 && fp64_config != 0;
}

/* Split the device found[c->index[k]] into c->parts[k] equal sub-devices,
 * stored as m->devices[first..] (clv_mesh_close releases them). */
static inline clv_status clv__split_device(clv_mesh *m, const clv__found *found, const clv__chosen *c, int k,
                                           int first)
{
    const clv__found *f = &found[c->index[k]];
    int parts = c->parts[k];
    char name[256] = "";
    cl_uint cu = 0, n_made = 0;
    cl_uint most = clv__max_equal_parts(f->device, &cu);
    clGetDeviceInfo(f->device, CL_DEVICE_NAME, sizeof name - 1, name, NULL);
    if (most < 2)
        return clv__fail(m, CLV_ERROR_DEVICE_SPEC, "device %d (%s, %s) cannot be split into %d sub-devices: its "
                         "driver offers no equal partition (CL_DEVICE_PARTITION_EQUALLY)%s", c->index[k], name,
                         f->platform_name, parts,
                         cu > 1 ? "" : ", and it has a single compute unit");
    if ((cl_uint)parts > most)
        return clv__fail(m, CLV_ERROR_DEVICE_SPEC, "device %d (%s, %s) cannot be split into %d sub-devices: it "
                         "has %u compute units and splits into at most %u", c->index[k], name, f->platform_name,
                         parts, cu, most);
    cl_device_id *made = (cl_device_id *)clv__calloc(cu, sizeof *made);
    if (!made) return clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    cl_device_partition_property props[3] = { CL_DEVICE_PARTITION_EQUALLY,
                                              (cl_device_partition_property)(cu / (cl_uint)parts), 0 };
    cl_int err = clCreateSubDevices(f->device, props, cu, made, &n_made);
    if (err == CL_SUCCESS && n_made < (cl_uint)parts) err = CL_DEVICE_PARTITION_FAILED;
    for (cl_uint i = 0; err == CL_SUCCESS && i < n_made && i < cu; ++i) {
        if (i < (cl_uint)parts) {
            m->devices[first + (int)i].platform = f->platform;
            m->devices[first + (int)i].id = made[i];
        } else {
            clReleaseDevice(made[i]); /* the compute units left over when parts does not divide them */
        }
    }
    if (err != CL_SUCCESS)
        for (cl_uint i = 0; i < n_made && i < cu; ++i) clReleaseDevice(made[i]);
    CLV_FREE(made);
    if (err != CL_SUCCESS)
        return clv__fail(m, CLV_ERROR_DEVICE_SPEC, "device %d (%s, %s) cannot be split into %d sub-devices: "
                         "clCreateSubDevices(CL_DEVICE_PARTITION_EQUALLY, %u compute units each) failed with %s "
                         "(%d)", c->index[k], name, f->platform_name, parts, cu / (cl_uint)parts,
                         clv__cl_error_name(err), (int)err);
    return CLV_OK;
}

/* A context and a queue for m->devices[index] (platform and id set). */
static inline clv_status clv__open_device(clv_mesh *m, int index)
{
    clv__device *d = &m->devices[index];
    cl_int err;
    cl_context_properties props[3] = { CL_CONTEXT_PLATFORM, (cl_context_properties)d->platform, 0 };
    d->weight = 1.0;
    d->context = clCreateContext(props, 1, &d->id, NULL, NULL, &err);
    if (!d->context) return clv__fail_cl(m, "clCreateContext", err, -1);
    /* The OpenCL 1.2 call, the one every driver has. It is marked deprecated
     * when another header (CLBlast's, say) raised CL_TARGET_OPENCL_VERSION. */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#elif defined(_MSC_VER)
#pragma warning(push)
#pragma warning(disable : 4996)
#endif
    d->queue = clCreateCommandQueue(d->context, d->id, m->profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic pop
#elif defined(_MSC_VER)
#pragma warning(pop)
#endif
    if (!d->queue) return clv__fail_cl(m, "clCreateCommandQueue", err, -1);
    return CLV_OK;
}

static inline clv_status clv__check_weights(clv_mesh *m, clv_split split, const double *weights, int n_weights)
{
    if (split < CLV_SPLIT_EQUAL || split > CLV_SPLIT_WEIGHTS)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "unknown split %d", (int)split);
    if (split != CLV_SPLIT_WEIGHTS) return CLV_OK;
    if (!weights || n_weights != m->n_devices)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "CLV_SPLIT_WEIGHTS needs one weight per device "
                         "(%d devices, %d weights)", m->n_devices, weights ? n_weights : 0);
    double total = 0;
    for (int i = 0; i < n_weights; ++i) {
        if (!(weights[i] >= 0) || !isfinite(weights[i]))
            return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "weight %d is %g: weights must be finite and >= 0",
                             i, weights[i]);
        total += weights[i];
    }
    if (!(total > 0) || !isfinite(total))
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "split weights must not all be zero and must sum to a "
                         "finite number (got %g)", total);
    return CLV_OK;
}

static inline clv_status clv_mesh_set_split(clv_mesh *m, clv_split split, const double *weights, int n_weights)
{
    if (!m || !m->opened) return CLV_ERROR_INVALID_ARGUMENT;
    clv_status st = clv__check_weights(m, split, weights, n_weights);
    if (st != CLV_OK) return st;
    m->split = split;
    if (split == CLV_SPLIT_WEIGHTS)
        for (int i = 0; i < m->n_devices; ++i) m->devices[i].weight = weights[i];
    return CLV_OK;
}

static inline clv_status clv_mesh_open(clv_mesh **out, const clv_mesh_desc *desc)
{
    clv_mesh_desc defaults;
    clv__found found[64];
    clv__chosen chosen;
    if (!out) return CLV_ERROR_INVALID_ARGUMENT;
    memset(&defaults, 0, sizeof defaults);
    if (!desc) desc = &defaults;
    clv_mesh *m = (clv_mesh *)clv__calloc(1, sizeof *m);
    *out = m;
    if (!m) return CLV_ERROR_OUT_OF_MEMORY;
    m->profiling = !desc->no_profiling;
    m->failover = desc->failover != 0;
    if (desc->sub_devices < 0)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_mesh_desc.sub_devices is %d: use 0 (no split) or "
                         "N >= 2 (every device split into N)", desc->sub_devices);
    const char *spec = desc->devices;
    if (!spec) {
        spec = getenv("CLV_DEVICES");
        if (spec && !*spec) spec = NULL; /* CLV_DEVICES= (set but empty): as if unset */
    }
    int n_found = clv__enumerate(found, 64);
    if (n_found == 0)
        return clv__fail(m, CLV_ERROR_NO_DEVICE, "no OpenCL platform or device found (is an ICD such as "
                         "pocl-opencl-icd installed, and /etc/OpenCL/vendors populated?)");
    clv_status st = clv__parse_devices(m, spec, found, n_found, &chosen);
    if (st != CLV_OK) return st;
    /* Entries without "/N" take clv_mesh_desc.sub_devices. Every device counts
     * its parts (at most its compute units, checked by clv__split_device). */
    size_t n_devices = 0;
    for (int k = 0; k < chosen.n; ++k) {
        if (chosen.parts[k] == 0) chosen.parts[k] = desc->sub_devices > 1 ? desc->sub_devices : 1;
        n_devices += (size_t)chosen.parts[k];
    }
    if (n_devices > 4096)
        return clv__fail(m, CLV_ERROR_DEVICE_SPEC, "%zu devices asked for: at most 4096", n_devices);
    m->devices = (clv__device *)clv__calloc(n_devices, sizeof *m->devices);
    if (!m->devices) return clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    m->n_devices = (int)n_devices;
    for (int k = 0, first = 0; k < chosen.n; first += chosen.parts[k++]) {
        if (chosen.parts[k] > 1) {
            st = clv__split_device(m, found, &chosen, k, first);
            if (st != CLV_OK) return st;
        } else {
            m->devices[first].platform = found[chosen.index[k]].platform;
            m->devices[first].id = found[chosen.index[k]].device;
        }
    }
    for (int i = 0; i < m->n_devices; ++i) {
        st = clv__open_device(m, i);
        if (st != CLV_OK) return st;
        clv__read_device_info(&m->devices[i], desc->no_fp64);
    }
    st = clv__check_weights(m, desc->split, desc->weights, desc->n_weights);
    if (st != CLV_OK) return st;
    m->opened = 1;
    return clv_mesh_set_split(m, desc->split, desc->weights, desc->n_weights);
}

/* Before a sub-device is released, wait (a bounded while) until the driver
 * holds no reference to its queue. PoCL 3.1's queues and contexts do not
 * retain a sub-device, and its worker threads drop a finished command's
 * event, which reads queue->device, just after clFinish has returned: a
 * sub-device released then is used after it was freed (valgrind, and a crash
 * in POclReleaseEvent seen in test_invariance on "0/2"). Every event holds a
 * reference to its queue, so when only the mesh's reference is left no event
 * can still reach the device. */
static inline void clv__drain_queue(cl_command_queue queue)
{
    clFinish(queue);
    for (long tries = 0; tries < 200000; ++tries) {
        cl_uint refs = 0;
        if (clGetCommandQueueInfo(queue, CL_QUEUE_REFERENCE_COUNT, sizeof refs, &refs, NULL) != CL_SUCCESS ||
            refs <= 1)
            return;
#if defined(CLV__ONCE_WIN32)
        SwitchToThread();
#elif defined(CLV__ONCE_PTHREAD)
        sched_yield();
#endif
    }
}

static inline void clv_mesh_close(clv_mesh *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_devices; ++i) {
        clv__device *d = &m->devices[i];
        cl_device_id parent = NULL;
        /* a sub-device (CLV_DEVICES "cpu/2") is the mesh's own; a root device is the platform's */
        int sub_device = d->id && clGetDeviceInfo(d->id, CL_DEVICE_PARENT_DEVICE, sizeof parent, &parent,
                                                  NULL) == CL_SUCCESS && parent;
        for (int c = 0; c < CLV__SCRATCH_CACHE; ++c)
            if (d->cached[c]) clReleaseMemObject(d->cached[c]);
        if (d->queue && sub_device) clv__drain_queue(d->queue);
        if (d->queue) clReleaseCommandQueue(d->queue);
        if (d->context) clReleaseContext(d->context);
        if (sub_device) clReleaseDevice(d->id);
    }
    CLV_FREE(m->devices);
    CLV_FREE(m);
}

#ifdef CLV_FAULT_INJECTION
static inline clv_faults *clv_mesh_faults(clv_mesh *m) { return &m->faults; }
#endif

static inline const char *clv_mesh_message(const clv_mesh *m)
{
    return m ? m->message : "no mesh (host out of memory, or NULL passed)";
}

static inline int clv_mesh_device_count(const clv_mesh *m) { return m && m->opened ? m->n_devices : 0; }

static inline int clv__valid_device(const clv_mesh *m, int device)
{
    return m && m->opened && device >= 0 && device < m->n_devices;
}

static inline int clv__alive(const clv_mesh *m, int device) { return !m->devices[device].info.lost; }

/* The first device still working, or -1. */
static inline int clv__first_alive(const clv_mesh *m)
{
    for (int d = 0; d < m->n_devices; ++d)
        if (clv__alive(m, d)) return d;
    return -1;
}

/* Refuse work on a mesh whose every device is lost. */
static inline clv_status clv__check_alive(clv_mesh *m, const char *what)
{
    if (clv__first_alive(m) >= 0) return CLV_OK;
    return clv__fail(m, CLV_ERROR_DEVICE_LOST, "%s: every device of the mesh is lost", what);
}

static inline clv_status clv_mesh_device_info(const clv_mesh *m, int device, clv_device_info *info)
{
    if (info) memset(info, 0, sizeof *info);
    if (!clv__valid_device(m, device) || !info) return CLV_ERROR_INVALID_ARGUMENT;
    *info = m->devices[device].info;
    return CLV_OK;
}

static inline clv_status clv_mesh_stats(const clv_mesh *m, int device, clv_device_stats *stats)
{
    if (stats) memset(stats, 0, sizeof *stats);
    if (!clv__valid_device(m, device) || !stats) return CLV_ERROR_INVALID_ARGUMENT;
    *stats = m->devices[device].stats;
    return CLV_OK;
}

static inline void clv_mesh_reset_stats(clv_mesh *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_devices; ++i) {
        clv_device_stats *s = &m->devices[i].stats;
        uint64_t held = s->bytes_current;
        memset(s, 0, sizeof *s);
        s->bytes_current = s->bytes_high_water = held;
    }
}

static inline cl_context clv_mesh_context(const clv_mesh *m, int device)
{
    return clv__valid_device(m, device) ? m->devices[device].context : NULL;
}
static inline cl_command_queue clv_mesh_queue(const clv_mesh *m, int device)
{
    return clv__valid_device(m, device) ? m->devices[device].queue : NULL;
}
static inline cl_device_id clv_mesh_device_id(const clv_mesh *m, int device)
{
    return clv__valid_device(m, device) ? m->devices[device].id : NULL;
}

/* The weight of a device under the mesh's split. */
static inline double clv__device_weight(const clv_mesh *m, int i)
{
    const clv__device *d = &m->devices[i];
    if (d->info.lost) return 0;
    switch (m->split) {
    case CLV_SPLIT_COMPUTE_UNITS: return d->info.compute_units ? (double)d->info.compute_units : 1.0;
    case CLV_SPLIT_WEIGHTS: return d->weight;
    case CLV_SPLIT_MEASURED:
        /* items per second of kernel time in the maps run so far */
        if (d->stats.kernel_ns && d->stats.items) return (double)d->stats.items / (double)d->stats.kernel_ns;
        return -1; /* unmeasured: handled by the caller */
    case CLV_SPLIT_EQUAL: break;
    }
    return 1.0;
}

static inline clv_status clv_mesh_split_items(const clv_mesh *m, size_t n_items, size_t *first, size_t *count)
{
    double w[64], total = 0, cumulative = 0;
    int unmeasured = 0;
    if (!m || !m->opened || !first || !count) return CLV_ERROR_INVALID_ARGUMENT;
    for (int i = 0; i < m->n_devices; ++i) {
        w[i] = clv__device_weight(m, i);
        if (w[i] < 0) unmeasured = 1;
    }
    for (int i = 0; i < m->n_devices; ++i) {
        if (unmeasured) w[i] = m->devices[i].info.lost ? 0.0 : 1.0; /* measured split before any map: equal */
        total += w[i];
    }
    if (!(total > 0)) /* every device with weight is lost: equal over the others */
        for (int i = 0; i < m->n_devices; ++i) total += w[i] = m->devices[i].info.lost ? 0.0 : 1.0;
    if (!(total > 0)) { /* no device left: nobody owns anything */
        memset(first, 0, (size_t)m->n_devices * sizeof *first);
        memset(count, 0, (size_t)m->n_devices * sizeof *count);
        return CLV_OK;
    }
    /* Cumulative rounding: device i owns [round(W_<i / W * n), round(W_<=i / W * n)). */
    size_t start = 0;
    for (int i = 0; i < m->n_devices; ++i) {
        cumulative += w[i];
        /* in double, then checked: (size_t) of a value >= 2^64 is undefined,
         * and n_items near SIZE_MAX rounds up to 2^64 */
        double share = floor(cumulative / total * (double)n_items + 0.5);
        size_t end = (i == m->n_devices - 1 || !(share < (double)n_items)) ? n_items : (size_t)share;
        if (end < start) end = start;
        if (end > n_items) end = n_items;
        first[i] = start;
        count[i] = end - start;
        start = end;
    }
    return CLV_OK;
}

/* ---- programs ----------------------------------------------------------- */

/* BEGIN EMBEDDED kernels/prelude.cl (generated by tools/embed.c; do not edit) */
static inline const char *const *clv_prelude_lines(size_t *n_lines)
{
    static const char *const lines[] = {
        "/* clvmap device prelude (OpenCL C 1.2). Prepended to every program that\n",
        " * clv_program_build builds. This file is the single source of truth: it is\n",
        " * embedded into include/clvmap.h by tools/embed.c, and tests/test_embed.c\n",
        " * fails when the embedded copy is stale.\n",
        " *\n",
        " * Everything here is either a macro or an inline function so that programs\n",
        " * that never use the RNG pay nothing for it. */\n",
        "\n",
        "#ifdef CLV_FP64\n",
        "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n",
        "#endif\n",
        "\n",
        "#ifndef CLV_REAL\n",
        "#define CLV_REAL float\n",
        "#endif\n",
        "typedef CLV_REAL clv_real;\n",
        "/* Vector types of clv_real (float2..float16 or double2..double16): PoCL and\n",
        " * GPU compilers turn operations on them into SIMD where they will not\n",
        " * vectorise a loop over work items by themselves. */\n",
        "#define CLV__PASTE_(a, b) a##b\n",
        "#define CLV__PASTE(a, b) CLV__PASTE_(a, b)\n",
        "typedef CLV__PASTE(CLV_REAL, 2) clv_real2;\n",
        "typedef CLV__PASTE(CLV_REAL, 4) clv_real4;\n",
        "typedef CLV__PASTE(CLV_REAL, 8) clv_real8;\n",
        "typedef CLV__PASTE(CLV_REAL, 16) clv_real16;\n",
        "\n",
        "/* ---- item indexing -------------------------------------------------------\n",
        " * A map kernel starts its parameter list with CLV_ITEMS. The library fills\n",
        " * these hidden parameters; the kernel reads them only through the helpers\n",
        " * below, so it cannot depend on how the batch was cut into devices and\n",
        " * chunks. */\n",
        "#define CLV_ITEMS                                                   \\\n",
        "    const ulong clv__chunk_end,   /* one past the chunk's last item */ \\\n",
        "    const ulong clv__device_first,/* first item this device owns */   \\\n",
        "    const ulong clv__chunk_first, /* first item of this launch */     \\\n",
        "    const ulong clv__seed,        /* clv_map_opts.seed */            \\\n",
        "    const uint  clv__group_per_item /* 1: one work group per item */\n",
        "\n",
        "/* Global index of this work item's batch item: the same whatever the split. */\n",
        "#define clv_item()                                                  \\\n",
        "    ((ulong)(clv__group_per_item \? get_global_id(0) / get_local_size(0) \\\n",
        "                                 : get_global_id(0)))\n",
        "/* False for the padding work items of the last work group of a launch. */\n",
        "#define clv_in_batch() (clv_item() < clv__chunk_end)\n",
        "/* Leave the kernel on padding work items (one-item-per-work-item shape). */\n",
        "#define CLV_GUARD() do { if (!clv_in_batch()) return; } while (0)\n",
        "/* Index of the item in this device's part of a batched (sharded) array. */\n",
        "#define clv_local() (clv_item() - clv__device_first)\n",
        "/* Slot of the item in the launch's scratch buffer (0 .. chunk-1). */\n",
        "#define clv_slot() (clv_item() - clv__chunk_first)\n",
        "/* The seed given in clv_map_opts. */\n",
        "#define clv_seed() (clv__seed)\n",
        "\n",
        "/* ---- Philox-4x32-10 ------------------------------------------------------\n",
        " * Salmon, Moraes, Dror & Shaw, \"Parallel random numbers: as easy as 1, 2, 3\"\n",
        " * (SC'11); constants and round structure as in Random123. Checked against\n",
        " * Random123's published known-answer vectors in tests/test_rng.c. */\n",
        "inline uint4 clv_philox4x32_10(uint4 ctr, uint2 key)\n",
        "{\n",
        "    for (int round = 0; round < 10; ++round) {\n",
        "        if (round > 0) {\n",
        "            key.x += 0x9E3779B9u;\n",
        "            key.y += 0xBB67AE85u;\n",
        "        }\n",
        "        const uint hi0 = mul_hi(0xD2511F53u, ctr.x);\n",
        "        const uint lo0 = 0xD2511F53u * ctr.x;\n",
        "        const uint hi1 = mul_hi(0xCD9E8D57u, ctr.z);\n",
        "        const uint lo1 = 0xCD9E8D57u * ctr.z;\n",
        "        ctr = (uint4)(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);\n",
        "    }\n",
        "    return ctr;\n",
        "}\n",
        "\n",
        "/* A counter-based stream: key = seed (64 bits), counter = (draw, stream,\n",
        " * item). Draw n of stream s for item i is a pure function of\n",
        " * (seed, i, s, n), never of the chunk or the device. */\n",
        "typedef struct clv_rng {\n",
        "    uint2 key;\n",
        "    uint  stream;\n",
        "    uint  draw;   /* next block of 128 bits */\n",
        "    ulong item;\n",
        "    uint4 block;  /* the current block */\n",
        "    uint  used;   /* 32-bit words of block already handed out (4 = empty) */\n",
        "} clv_rng;\n",
        "\n",
        "inline clv_rng clv_rng_init(ulong seed, ulong item, uint stream)\n",
        "{\n",
        "    clv_rng r;\n",
        "    r.key = (uint2)((uint)seed, (uint)(seed >> 32));\n",
        "    r.stream = stream;\n",
        "    r.draw = 0;\n",
        "    r.item = item;\n",
        "    r.block = (uint4)(0);\n",
        "    r.used = 4;\n",
        "    return r;\n",
        "}\n",
        "\n",
        "/* The next 128 random bits of the stream. */\n",
        "inline uint4 clv_rng_block(clv_rng *r)\n",
        "{\n",
        "    const uint4 ctr = (uint4)(r->draw, r->stream, (uint)r->item,\n",
        "                              (uint)(r->item >> 32));\n",
        "    r->draw += 1;\n",
        "    return clv_philox4x32_10(ctr, r->key);\n",
        "}\n",
        "\n",
        "/* The next 32 random bits. */\n",
        "inline uint clv_rng_u32(clv_rng *r)\n",
        "{\n",
        "    if (r->used == 4) {\n",
        "        r->block = clv_rng_block(r);\n",
        "        r->used = 0;\n",
        "    }\n",
        "    const uint words[4] = { r->block.x, r->block.y, r->block.z, r->block.w };\n",
        "    return words[r->used++];\n",
        "}\n",
        "\n",
        "/* Uniform on the open interval (0, 1): 23 random bits plus half a step, so\n",
        " * neither 0 nor 1 can occur and log(u) is always finite. */\n",
        "inline float clv_uniform_f32(clv_rng *r)\n",
        "{\n",
        "    return ((float)(clv_rng_u32(r) >> 9) + 0.5f) * 0x1.0p-23f;\n",
        "}\n",
        "\n",
        "/* Standard normal by Box-Muller (one of the pair is used; simple and\n",
        " * branch-free, which keeps the work items of a group in step). */\n",
        "inline float clv_normal_f32(clv_rng *r)\n",
        "{\n",
        "    const float u1 = clv_uniform_f32(r);\n",
        "    const float u2 = clv_uniform_f32(r);\n",
        "    return sqrt(-2.0f * log(u1)) * cospi(2.0f * u2);\n",
        "}\n",
        "\n",
        "#ifdef CLV_FP64\n",
        "/* Uniform on (0, 1) with 52 random bits plus half a step. */\n",
        "inline double clv_uniform_f64(clv_rng *r)\n",
        "{\n",
        "    const ulong hi = clv_rng_u32(r);\n",
        "    const ulong lo = clv_rng_u32(r);\n",
        "    const ulong bits = ((hi << 32) | lo) >> 12;\n",
        "    return ((double)bits + 0.5) * 0x1.0p-52;\n",
        "}\n",
        "\n",
        "inline double clv_normal_f64(clv_rng *r)\n",
        "{\n",
        "    const double u1 = clv_uniform_f64(r);\n",
        "    const double u2 = clv_uniform_f64(r);\n",
        "    return sqrt(-2.0 * log(u1)) * cospi(2.0 * u2);\n",
        "}\n",
        "#define clv_uniform(r) clv_uniform_f64(r)\n",
        "#define clv_normal(r) clv_normal_f64(r)\n",
        "#else\n",
        "#define clv_uniform(r) clv_uniform_f32(r)\n",
        "#define clv_normal(r) clv_normal_f32(r)\n",
        "#endif\n",
    };
    if (n_lines) *n_lines = sizeof lines / sizeof lines[0];
    return lines;
}
/* END EMBEDDED kernels/prelude.cl */

/* Append the build log of every device whose build failed to the message. */
static inline void clv__collect_build_logs(clv_mesh *m, cl_program *programs, const char *name)
{
    size_t used = (size_t)snprintf(m->message, sizeof m->message, "build of %s failed", name);
    for (int i = 0; i < m->n_devices && used < sizeof m->message; ++i) {
        cl_build_status bs = CL_BUILD_NONE;
        if (!programs[i]) continue;
        clGetProgramBuildInfo(programs[i], m->devices[i].id, CL_PROGRAM_BUILD_STATUS, sizeof bs, &bs, NULL);
        if (bs == CL_BUILD_SUCCESS) continue;
        used += (size_t)snprintf(m->message + used, sizeof m->message - used, "\n-- device %d (%s):\n", i,
                                 m->devices[i].info.name);
        if (used >= sizeof m->message) break;
        /* the log's size first: a buffer too small for it gets nothing */
        size_t log_size = 0;
        clGetProgramBuildInfo(programs[i], m->devices[i].id, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_size);
        char *log = (char *)CLV_MALLOC(log_size + 1);
        if (log && clGetProgramBuildInfo(programs[i], m->devices[i].id, CL_PROGRAM_BUILD_LOG, log_size, log,
                                         NULL) == CL_SUCCESS) {
            log[log_size] = '\0';
            snprintf(m->message + used, sizeof m->message - used, "%s", log);
        }
        CLV_FREE(log);
        used = strlen(m->message);
    }
}

static inline void clv_program_free(clv_program *p)
{
    if (!p) return;
    for (int k = 0; k < p->n_kernels; ++k) {
        for (int i = 0; i < p->mesh->n_devices; ++i)
            if (p->kernels[k].per_device[i]) clReleaseKernel(p->kernels[k].per_device[i]);
        CLV_FREE(p->kernels[k].per_device);
        CLV_FREE(p->kernels[k].name);
    }
    CLV_FREE(p->kernels);
    for (int i = 0; p->per_device && i < p->mesh->n_devices; ++i)
        if (p->per_device[i]) clReleaseProgram(p->per_device[i]);
    CLV_FREE(p->per_device);
    CLV_FREE(p);
}

static inline clv_status clv__check_fp64(clv_mesh *m, int want_fp64)
{
    for (int i = 0; want_fp64 && i < m->n_devices; ++i)
        if (!m->devices[i].info.fp64)
            return clv__fail(m, CLV_ERROR_NO_FP64, "double precision asked for, but device %d (%s) has no "
                             "cl_khr_fp64: build with real = CLV_F32 or choose other devices", i,
                             m->devices[i].info.name);
    return CLV_OK;
}

/* The sources handed to the compiler: the prelude, the library's lines and
 * the user's source, each after a #line that names it in build logs. */
static inline const char **clv__program_sources(const clv_program_desc *desc, const char *library_line,
                                                const char *user_line, cl_uint *count)
{
    size_t n_prelude, n = 0;
    const char *const *prelude = clv_prelude_lines(&n_prelude);
    if (desc->n_library_lines > ((size_t)1 << 24)) return NULL; /* no library is that long */
    const char **all = (const char **)clv__calloc(n_prelude + desc->n_library_lines + 3, sizeof *all);
    if (!all) return NULL;
    for (size_t i = 0; i < n_prelude; ++i) all[n++] = prelude[i];
    if (desc->n_library_lines) {
        all[n++] = library_line;
        for (size_t i = 0; i < desc->n_library_lines; ++i) all[n++] = desc->library_lines[i];
    }
    all[n++] = user_line;
    all[n++] = desc->source;
    *count = (cl_uint)n;
    return all;
}

/* A #line directive naming a source in build logs; the name is checked. */
static inline clv_status clv__line_directive(clv_mesh *m, const char *name, char *out, size_t size)
{
    if (strlen(name) > 255 || strpbrk(name, "\"\\\n"))
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "source names (clv_program_desc.name, library_name) "
                         "must be at most 255 characters without quotes, backslashes or newlines");
    snprintf(out, size, "\n#line 1 \"%s\"\n", name);
    return CLV_OK;
}

static inline clv_status clv__build_all(clv_program *p, const clv_program_desc *desc, const char *name,
                                        int fp64)
{
    clv_mesh *m = p->mesh;
    char user_line[300], library_line[300], options[2048];
    cl_uint n_sources = 0;
    cl_int err = CL_SUCCESS;
    int failed = 0, injected = 0;
    clv_status st = clv__line_directive(m, name, user_line, sizeof user_line);
    if (st == CLV_OK)
        st = clv__line_directive(m, desc->library_name ? desc->library_name : "library.cl", library_line,
                                 sizeof library_line);
    if (st != CLV_OK) return st;
    if (desc->n_library_lines && !desc->library_lines)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_program_desc: n_library_lines without library_lines");
    int w = snprintf(options, sizeof options, "-cl-std=CL1.2 -cl-kernel-arg-info -DCLV_REAL=%s%s %s",
                     desc->real == CLV_F64 ? "double" : "float", fp64 ? " -DCLV_FP64" : "",
                     desc->options ? desc->options : "");
    if (w < 0 || (size_t)w >= sizeof options)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "compiler options longer than %d characters",
                         (int)sizeof options - 200);
    const char **sources = clv__program_sources(desc, library_line, user_line, &n_sources);
    if (!sources) return clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    int device = 0;
    const char *call = "clCreateProgramWithSource";
    for (; device < m->n_devices; ++device) {
        if (!clv__alive(m, device)) continue;
        p->per_device[device] = clCreateProgramWithSource(m->devices[device].context, n_sources, sources, NULL,
                                                          &err);
        if (!p->per_device[device]) break;
        cl_int berr = clBuildProgram(p->per_device[device], 1, &m->devices[device].id, options, NULL, NULL);
#ifdef CLV_FAULT_INJECTION
        if (++m->faults.builds == m->faults.fail_build) berr = CL_BUILD_PROGRAM_FAILURE, injected = 1;
#endif
        if (berr == CL_BUILD_PROGRAM_FAILURE) failed = 1;
        else if (berr != CL_SUCCESS) {
            err = berr;
            call = "clBuildProgram";
            break;
        }
    }
    CLV_FREE((void *)sources);
    if (err != CL_SUCCESS) {
        clv__fail_cl(m, call, err, device);
        size_t used = strlen(m->message);
        snprintf(m->message + used, sizeof m->message - used, " with options \"%s\"", options);
        return err == CL_OUT_OF_HOST_MEMORY ? CLV_ERROR_OUT_OF_MEMORY : CLV_ERROR_OPENCL;
    }
    if (failed) {
        clv__collect_build_logs(m, p->per_device, name);
        if (injected) {
            size_t used = strlen(m->message);
            snprintf(m->message + used, sizeof m->message - used, " (a build failure injected by the test)");
        }
        return CLV_ERROR_BUILD;
    }
    return CLV_OK;
}

static inline clv_status clv_program_build(clv_program **out, clv_mesh *m, const clv_program_desc *desc)
{
    if (out) *out = NULL;
    if (!m || !m->opened) return CLV_ERROR_INVALID_ARGUMENT;
    if (!out || !desc || !desc->source)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_program_build: out, desc and desc->source "
                         "must not be NULL");
    if (desc->real != CLV_F32 && desc->real != CLV_F64)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_program_desc.real must be CLV_F32 or CLV_F64");
    int fp64 = desc->real == CLV_F64 || desc->fp64 ||
               (desc->options && strstr(desc->options, "CLV_REAL=double"));
    clv_status st = clv__check_fp64(m, fp64);
    if (st == CLV_OK) st = clv__check_alive(m, "clv_program_build");
    if (st != CLV_OK) return st;
    clv_program *p = (clv_program *)clv__calloc(1, sizeof *p);
    if (!p) return clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    p->mesh = m;
    p->real = desc->real;
    if (desc->options && strstr(desc->options, "CLV_REAL=double")) p->real = CLV_F64;
    p->per_device = (cl_program *)clv__calloc((size_t)m->n_devices, sizeof *p->per_device);
    st = p->per_device ? clv__build_all(p, desc, desc->name ? desc->name : "program.cl", fp64)
                       : clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    if (st != CLV_OK) {
        clv_program_free(p);
        return st;
    }
    *out = p;
    return CLV_OK;
}

/* The kernel's per-device objects, created on first use. */
static inline clv_status clv__find_kernel(clv_program *p, const char *name, clv__kernel **out)
{
    clv_mesh *m = p->mesh;
    for (int k = 0; k < p->n_kernels; ++k)
        if (strcmp(p->kernels[k].name, name) == 0) {
            *out = &p->kernels[k];
            return CLV_OK;
        }
    clv__kernel kern;
    cl_int err = CL_SUCCESS;
    memset(&kern, 0, sizeof kern);
    kern.per_device = (cl_kernel *)clv__calloc((size_t)m->n_devices, sizeof(cl_kernel));
    kern.name = clv__strdup(name);
    clv__kernel *grown = (clv__kernel *)CLV_REALLOC(p->kernels, (size_t)(p->n_kernels + 1) * sizeof *grown);
    if (grown) p->kernels = grown;
    if (!kern.per_device || !kern.name || !grown) {
        CLV_FREE(kern.per_device);
        CLV_FREE(kern.name);
        return clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    }
    int ref = clv__first_alive(m); /* programs built after a loss skip the lost device */
    for (int i = 0; i < m->n_devices && err == CL_SUCCESS; ++i)
        if (p->per_device[i] && clv__alive(m, i)) kern.per_device[i] = clCreateKernel(p->per_device[i], name, &err);
    if (ref < 0) err = CL_DEVICE_NOT_AVAILABLE;
    if (err == CL_SUCCESS) err = clGetKernelInfo(kern.per_device[ref], CL_KERNEL_NUM_ARGS, sizeof kern.n_args,
                                                 &kern.n_args, NULL);
    if (err != CL_SUCCESS) {
        for (int i = 0; i < m->n_devices; ++i)
            if (kern.per_device[i]) clReleaseKernel(kern.per_device[i]);
        CLV_FREE(kern.per_device);
        CLV_FREE(kern.name);
        if (err != CL_INVALID_KERNEL_NAME) return clv__fail_cl(m, "clCreateKernel", err, ref);
        char names[1024] = "";
        clGetProgramInfo(p->per_device[ref], CL_PROGRAM_KERNEL_NAMES, sizeof names - 1, names, NULL);
        return clv__fail(m, CLV_ERROR_UNKNOWN_KERNEL, "no kernel named \"%s\" in the program (it has: %s)",
                         name, names);
    }
    p->kernels[p->n_kernels] = kern;
    *out = &p->kernels[p->n_kernels++];
    return CLV_OK;
}

/* ---- arrays ------------------------------------------------------------- */

static inline size_t clv_dtype_size(clv_dtype dtype)
{
    switch (dtype) {
    case CLV_F32: return 4;
    case CLV_F64: return 8;
    case CLV_I32: return 4;
    case CLV_U32: return 4;
    }
    return 0;
}

static inline const char *clv__dtype_cname(clv_dtype dtype)
{
    switch (dtype) {
    case CLV_F32: return "float";
    case CLV_F64: return "double";
    case CLV_I32: return "int";
    case CLV_U32: return "uint";
    }
    return "?";
}

static inline double clv__element(const void *data, clv_dtype dtype, size_t index)
{
    switch (dtype) {
    case CLV_F32: return (double)((const float *)data)[index];
    case CLV_F64: return ((const double *)data)[index];
    case CLV_I32: return (double)((const int32_t *)data)[index];
    case CLV_U32: return (double)((const uint32_t *)data)[index];
    }
    return 0;
}

static inline void clv__release_buffers(clv_mesh *m, cl_mem *buffers, const size_t *count, size_t item_bytes)
{
    for (int i = 0; buffers && i < m->n_devices; ++i) clv__buffer_release(m, i, buffers[i], count[i] * item_bytes);
}

static inline size_t clv__item_bytes(const clv_array *a) { return a->item_elems * clv_dtype_size(a->dtype); }

static inline void clv_array_free(clv_array *a)
{
    if (!a) return;
    clv_mesh *m = a->mesh;
    if (a->prev) a->prev->next = a->next;
    else if (m->arrays == a) m->arrays = a->next;
    if (a->next) a->next->prev = a->prev;
    if (a->count) clv__release_buffers(m, a->buffers, a->count, clv__item_bytes(a));
    CLV_FREE(a->buffers);
    CLV_FREE(a->first);
    CLV_FREE(a->count);
    CLV_FREE(a->host);
    CLV_FREE(a);
}

static inline clv_status clv__array_check_new(clv_mesh *m, clv_dtype dtype, size_t n_items, size_t item_elems,
                                              clv_layout layout)
{
    if (dtype != CLV_F32 && dtype != CLV_F64 && dtype != CLV_I32 && dtype != CLV_U32)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_array_new: unknown dtype %d", (int)dtype);
    if (layout != CLV_SHARDED && layout != CLV_REPLICATED)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_array_new: unknown layout %d", (int)layout);
    if (n_items == 0 || item_elems == 0)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_array_new: n_items (%zu) and item_elems (%zu) "
                         "must be at least 1", n_items, item_elems);
    if (item_elems > ((size_t)-1 / 8) / n_items)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_array_new: %zu x %zu elements overflow size_t",
                         n_items, item_elems);
    if (dtype == CLV_F64) {
        clv_status st = clv__check_fp64(m, 1);
        if (st != CLV_OK) return st;
    }
    return clv__check_alive(m, "clv_array_new");
}

/* Give the array buffers on the devices still working, split as the mesh
 * splits now, filled from src (all items, global order) when src is not
 * NULL. All or nothing: on failure the array keeps its old buffers. */
static inline clv_status clv__array_place(clv_array *a, const void *src)
{
    clv_mesh *m = a->mesh;
    size_t n = (size_t)m->n_devices, item_bytes = clv__item_bytes(a);
    if (clv__first_alive(m) < 0) return clv__check_alive(m, "placing an array");
    size_t *first = (size_t *)clv__calloc(n, sizeof(size_t)), *count = (size_t *)clv__calloc(n, sizeof(size_t));
    cl_mem *buffers = (cl_mem *)clv__calloc(n, sizeof(cl_mem));
    clv_status st = first && count && buffers ? CLV_OK : clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    if (st == CLV_OK && a->layout == CLV_SHARDED) clv_mesh_split_items(m, a->n_items, first, count);
    for (int i = 0; st == CLV_OK && i < m->n_devices; ++i) {
        cl_int err = CL_SUCCESS;
        if (a->layout == CLV_REPLICATED) count[i] = clv__alive(m, i) ? a->n_items : 0;
        if (count[i] == 0) continue;
        buffers[i] = clv__buffer_create(m, i, CL_MEM_READ_WRITE, count[i] * item_bytes, &err);
        if (!buffers[i]) {
            count[i] = 0;
            st = clv__fail_cl(m, "clCreateBuffer (array)", err, i);
            if (clv__is_alloc_error(err)) st = CLV_ERROR_OUT_OF_MEMORY;
        } else if (src) {
            err = clEnqueueWriteBuffer(m->devices[i].queue, buffers[i], CL_TRUE, 0, count[i] * item_bytes,
                                       (const char *)src + first[i] * item_bytes, 0, NULL, NULL);
            if (err != CL_SUCCESS) st = clv__fail_cl(m, "clEnqueueWriteBuffer (moving an array)", err, i);
        }
    }
    if (st != CLV_OK) {
        if (count) clv__release_buffers(m, buffers, count, item_bytes);
        CLV_FREE(first);
        CLV_FREE(count);
        CLV_FREE(buffers);
        return st;
    }
    if (a->count) clv__release_buffers(m, a->buffers, a->count, item_bytes); /* the old placement, if any */
    CLV_FREE(a->first);
    CLV_FREE(a->count);
    CLV_FREE(a->buffers);
    a->first = first;
    a->count = count;
    a->buffers = buffers;
    return CLV_OK;
}

/* A sharded array with items on a lost device (their contents are gone
 * unless the mesh keeps host copies). Sets *device to the first such. */
static inline int clv__array_damaged(const clv_array *a, int *device)
{
    for (int d = 0; a->layout == CLV_SHARDED && d < a->mesh->n_devices; ++d)
        if (a->count[d] && !clv__alive(a->mesh, d)) {
            if (device) *device = d;
            return 1;
        }
    return 0;
}

static inline clv_status clv__fail_damaged(const clv_array *a, const char *what)
{
    int d = 0;
    clv__array_damaged(a, &d);
    return clv__fail(a->mesh, CLV_ERROR_DEVICE_LOST, "%s: items [%zu, %zu) of the array were on device %d (%s), "
                     "which is lost, and the mesh keeps no host copy (clv_mesh_desc.failover is off): write the "
                     "array again to place it on the remaining devices", what, a->first[d],
                     a->first[d] + a->count[d], d, a->mesh->devices[d].info.name);
}

static inline clv_status clv_array_new(clv_array **out, clv_mesh *m, clv_dtype dtype, size_t n_items,
                                       size_t item_elems, clv_layout layout)
{
    if (out) *out = NULL;
    if (!m || !m->opened) return CLV_ERROR_INVALID_ARGUMENT;
    if (!out) return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_array_new: out is NULL");
    clv_status st = clv__array_check_new(m, dtype, n_items, item_elems, layout);
    if (st != CLV_OK) return st;
    clv_array *a = (clv_array *)clv__calloc(1, sizeof *a);
    if (!a) return clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    a->mesh = m;
    a->dtype = dtype;
    a->layout = layout;
    a->n_items = n_items;
    a->item_elems = item_elems;
    if (m->failover && layout == CLV_SHARDED) {
        a->host = clv__calloc(n_items, clv__item_bytes(a)); /* zeros, like a fresh buffer may not be */
        if (!a->host) st = clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "out of host memory (failover copy of "
                                     "%zu x %zu bytes)", n_items, clv__item_bytes(a));
    }
    if (st == CLV_OK) st = clv__array_place(a, NULL);
    if (st != CLV_OK) {
        clv_array_free(a);
        return st;
    }
    a->next = m->arrays;
    if (m->arrays) m->arrays->prev = a;
    m->arrays = a;
    *out = a;
    return CLV_OK;
}

/* Wait for every device's queue, even after a failure: transfers still in
 * flight must not outlive the host memory they use. */
static inline clv_status clv__finish_all(clv_mesh *m, clv_status st, const char *what)
{
    for (int i = 0; i < m->n_devices; ++i) {
        if (!clv__alive(m, i)) continue;
        cl_int err = clFinish(m->devices[i].queue);
        if (err != CL_SUCCESS && st == CLV_OK) st = clv__fail_cl(m, what, err, i);
    }
    return st;
}

/* Copy between host and every device part of the array (read: one copy of
 * a replicated array); blocks until done. */
static inline clv_status clv__array_transfer(const clv_array *a, void *host, int read, int only_alive)
{
    clv_mesh *m = a->mesh;
    size_t item_bytes = clv__item_bytes(a);
    clv_status st = CLV_OK;
    for (int i = 0; i < m->n_devices; ++i) {
        if (!a->count[i] || (only_alive && !clv__alive(m, i))) continue;
        char *at = (char *)host + a->first[i] * item_bytes;
        size_t bytes = a->count[i] * item_bytes;
        cl_command_queue q = m->devices[i].queue;
        cl_int err = read ? clEnqueueReadBuffer(q, a->buffers[i], CL_FALSE, 0, bytes, at, 0, NULL, NULL)
                          : clEnqueueWriteBuffer(q, a->buffers[i], CL_FALSE, 0, bytes, at, 0, NULL, NULL);
        if (err != CL_SUCCESS) {
            st = clv__fail_cl(m, read ? "clEnqueueReadBuffer" : "clEnqueueWriteBuffer", err, i);
            break;
        }
        if (read && a->layout == CLV_REPLICATED) break; /* one copy is the array */
    }
    return clv__finish_all(m, st, read ? "clFinish (array read)" : "clFinish (array write)");
}

static inline clv_status clv_array_write(clv_array *a, const void *host)
{
    if (!a) return CLV_ERROR_INVALID_ARGUMENT;
    if (!host) return clv__fail(a->mesh, CLV_ERROR_INVALID_ARGUMENT, "clv_array_write: host is NULL");
    clv_status alive = clv__check_alive(a->mesh, "clv_array_write");
    if (alive != CLV_OK) return alive;
    /* items on a lost device: the host has them all, so place the array on the devices left */
    clv_status st = clv__array_damaged(a, NULL) ? clv__array_place(a, host)
                                                : clv__array_transfer(a, (void *)host, 0, 0);
    if (st == CLV_OK && a->host) memcpy(a->host, host, a->n_items * clv__item_bytes(a));
    return st;
}

static inline clv_status clv_array_read(const clv_array *a, void *host)
{
    if (!a) return CLV_ERROR_INVALID_ARGUMENT;
    if (!host) return clv__fail(a->mesh, CLV_ERROR_INVALID_ARGUMENT, "clv_array_read: host is NULL");
    clv_status alive = clv__check_alive(a->mesh, "clv_array_read");
    if (alive != CLV_OK) return alive;
    if (!clv__array_damaged(a, NULL)) return clv__array_transfer(a, host, 1, 0);
    if (!a->host) return clv__fail_damaged(a, "clv_array_read");
    memcpy(host, a->host, a->n_items * clv__item_bytes(a)); /* failover: the host copy is the array */
    return CLV_OK;
}

/* Failover: read the parts on the devices still working into the host copy. */
static inline clv_status clv__pull_host(clv_array *a)
{
    return a->host ? clv__array_transfer(a, a->host, 1, 1) : CLV_OK;
}

static inline clv_status clv_array_sync_host(clv_array *a)
{
    if (!a) return CLV_ERROR_INVALID_ARGUMENT;
    clv_status alive = a->host ? clv__check_alive(a->mesh, "clv_array_sync_host") : CLV_OK;
    if (alive != CLV_OK) return alive;
    return clv__pull_host(a);
}

/* A double as an integer dtype: truncated toward zero and clamped to the
 * type's range, NaN as 0 (a plain cast would be undefined out of range). */
static inline double clv__to_integer(double v, double lowest, double highest)
{
    if (!(v == v)) return 0;
    if (v < lowest) return lowest;
    if (v > highest) return highest;
    return v;
}

/* f64 host data through a temporary of the array's dtype (floats round to
 * nearest; integers as clv__to_integer). */
static inline clv_status clv_array_write_f64(clv_array *a, const double *host)
{
    if (!a) return CLV_ERROR_INVALID_ARGUMENT;
    if (!host) return clv__fail(a->mesh, CLV_ERROR_INVALID_ARGUMENT, "clv_array_write_f64: host is NULL");
    if (a->dtype == CLV_F64) return clv_array_write(a, host);
    size_t n = a->n_items * a->item_elems;
    void *tmp = clv__calloc(n, clv_dtype_size(a->dtype));
    if (!tmp) return clv__fail(a->mesh, CLV_ERROR_OUT_OF_MEMORY, "clv_array_write_f64: out of host memory");
    for (size_t i = 0; i < n; ++i) {
        if (a->dtype == CLV_F32) ((float *)tmp)[i] = (float)host[i];
        else if (a->dtype == CLV_I32) ((int32_t *)tmp)[i] = (int32_t)clv__to_integer(host[i], -2147483648.0, 2147483647.0);
        else ((uint32_t *)tmp)[i] = (uint32_t)clv__to_integer(host[i], 0.0, 4294967295.0);
    }
    clv_status st = clv_array_write(a, tmp);
    CLV_FREE(tmp);
    return st;
}

static inline clv_status clv_array_read_f64(const clv_array *a, double *host)
{
    if (!a) return CLV_ERROR_INVALID_ARGUMENT;
    if (!host) return clv__fail(a->mesh, CLV_ERROR_INVALID_ARGUMENT, "clv_array_read_f64: host is NULL");
    if (a->dtype == CLV_F64) return clv_array_read(a, host);
    size_t n = a->n_items * a->item_elems;
    void *tmp = clv__calloc(n, clv_dtype_size(a->dtype));
    if (!tmp) return clv__fail(a->mesh, CLV_ERROR_OUT_OF_MEMORY, "clv_array_read_f64: out of host memory");
    clv_status st = clv_array_read(a, tmp);
    for (size_t i = 0; st == CLV_OK && i < n; ++i) host[i] = clv__element(tmp, a->dtype, i);
    CLV_FREE(tmp);
    return st;
}

static inline clv_status clv_array_shape(const clv_array *a, clv_dtype *dtype, clv_layout *layout,
                                         size_t *n_items, size_t *item_elems)
{
    if (!a) return CLV_ERROR_INVALID_ARGUMENT;
    if (dtype) *dtype = a->dtype;
    if (layout) *layout = a->layout;
    if (n_items) *n_items = a->n_items;
    if (item_elems) *item_elems = a->item_elems;
    return CLV_OK;
}

static inline cl_mem clv_array_buffer(const clv_array *a, int device, size_t *first, size_t *count)
{
    if (!a || device < 0 || device >= a->mesh->n_devices) return NULL;
    int usable = clv__alive(a->mesh, device); /* a lost device's buffer is not the array's any more */
    if (first) *first = usable ? a->first[device] : 0;
    if (count) *count = usable ? a->count[device] : 0;
    return usable ? a->buffers[device] : NULL;
}

/* ---- kernel arguments --------------------------------------------------- */

static inline clv_arg clv__arg(clv_arg_kind kind)
{
    clv_arg a;
    memset(&a, 0, sizeof a);
    a.kind = kind;
    return a;
}
static inline clv_arg clv_in(clv_array *x) { clv_arg a = clv__arg(CLV_ARG_IN); a.array = x; return a; }
static inline clv_arg clv_out(clv_array *x) { clv_arg a = clv__arg(CLV_ARG_OUT); a.array = x; return a; }
static inline clv_arg clv_inout(clv_array *x) { clv_arg a = clv__arg(CLV_ARG_INOUT); a.array = x; return a; }
static inline clv_arg clv_scratch(size_t bytes) { clv_arg a = clv__arg(CLV_ARG_SCRATCH); a.bytes = bytes; return a; }
static inline clv_arg clv_local_mem(size_t bytes) { clv_arg a = clv__arg(CLV_ARG_LOCAL); a.bytes = bytes; return a; }
static inline clv_arg clv__value(const char *type, size_t bytes)
{
    clv_arg a = clv__arg(CLV_ARG_VALUE);
    a.type = type;
    a.bytes = bytes;
    return a;
}
static inline clv_arg clv_int(int32_t v) { clv_arg a = clv__value("int", 4); a.value.i = v; return a; }
static inline clv_arg clv_uint(uint32_t v) { clv_arg a = clv__value("uint", 4); a.value.u = v; return a; }
static inline clv_arg clv_long(int64_t v) { clv_arg a = clv__value("long", 8); a.value.l = v; return a; }
static inline clv_arg clv_ulong(uint64_t v) { clv_arg a = clv__value("ulong", 8); a.value.ul = v; return a; }
static inline clv_arg clv_float(float v) { clv_arg a = clv__value("float", 4); a.value.f = v; return a; }
static inline clv_arg clv_double(double v) { clv_arg a = clv__value("double", 8); a.value.d = v; return a; }
static inline clv_arg clv_real(double v) { clv_arg a = clv__arg(CLV_ARG_REAL); a.value.d = v; return a; }

/* ---- map ---------------------------------------------------------------- */

/* What one argument looks like in the kernel, as far as the driver says. */
typedef struct clv__param {
    int known;                  /* 0: the driver gave no argument info */
    cl_kernel_arg_address_qualifier address;
    cl_kernel_arg_type_qualifier qualifier;
    char type[64];              /* "float*", "int", ... without spaces */
    char name[64];
} clv__param;

static inline void clv__param_info(cl_kernel k, cl_uint index, clv__param *out)
{
    char raw[64] = "";
    size_t j = 0;
    memset(out, 0, sizeof *out);
    if (clGetKernelArgInfo(k, index, CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof out->address, &out->address,
                           NULL) != CL_SUCCESS)
        return;
    clGetKernelArgInfo(k, index, CL_KERNEL_ARG_TYPE_QUALIFIER, sizeof out->qualifier, &out->qualifier, NULL);
    clGetKernelArgInfo(k, index, CL_KERNEL_ARG_TYPE_NAME, sizeof raw - 1, raw, NULL);
    clGetKernelArgInfo(k, index, CL_KERNEL_ARG_NAME, sizeof out->name - 1, out->name, NULL);
    for (size_t i = 0; raw[i] && j < sizeof out->type - 1; ++i)
        if (raw[i] != ' ') out->type[j++] = raw[i];
    out->type[j] = '\0';
    out->known = 1;
}

/* Scalar type names the driver may report; anything else (a typedef) is not checked. */
static inline int clv__is_builtin_scalar(const char *t)
{
    static const char *const names[] = { "char", "uchar", "short", "ushort", "int", "uint", "long",
                                         "ulong", "float", "double", "half", "size_t", "bool" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i)
        if (strcmp(t, names[i]) == 0) return 1;
    return 0;
}

/* Whether pointer type "float*" points to want: 1 yes (or a typedef that
 * cannot be checked), 0 no, -1 when type is not a pointer. */
static inline int clv__pointee_is(const char *type, const char *want)
{
    size_t n = strlen(type);
    if (n == 0 || type[n - 1] != '*') return -1; /* not a pointer */
    char base[64];
    memcpy(base, type, n - 1);
    base[n - 1] = '\0';
    if (!clv__is_builtin_scalar(base)) return 1; /* typedef'd: trust the caller */
    return strcmp(base, want) == 0;
}

static inline clv_status clv__check_array_param(clv_mesh *m, const char *kernel, int i, const clv_arg *a,
                                                const clv__param *pi)
{
    if (pi->address != CL_KERNEL_ARG_ADDRESS_GLOBAL && pi->address != CL_KERNEL_ARG_ADDRESS_CONSTANT)
        return clv__fail(m, CLV_ERROR_ARGUMENT_TYPE, "kernel \"%s\" argument %d (%s): an array was passed but "
                         "the parameter is not a __global pointer", kernel, i, pi->name);
    int match = clv__pointee_is(pi->type, clv__dtype_cname(a->array->dtype));
    if (match == 0)
        return clv__fail(m, CLV_ERROR_ARGUMENT_TYPE, "kernel \"%s\" argument %d (%s): parameter is %s but the "
                         "array holds %s", kernel, i, pi->name, pi->type, clv__dtype_cname(a->array->dtype));
    if (a->kind != CLV_ARG_IN && ((pi->qualifier & CL_KERNEL_ARG_TYPE_CONST) ||
                                  pi->address == CL_KERNEL_ARG_ADDRESS_CONSTANT))
        return clv__fail(m, CLV_ERROR_ARGUMENT_TYPE, "kernel \"%s\" argument %d (%s): passed as output but the "
                         "parameter is const", kernel, i, pi->name);
    return CLV_OK;
}

static inline clv_status clv__check_value_param(clv_mesh *m, const char *kernel, int i, const clv_arg *a,
                                                const clv__param *pi)
{
    if (pi->address != CL_KERNEL_ARG_ADDRESS_PRIVATE)
        return clv__fail(m, CLV_ERROR_ARGUMENT_TYPE, "kernel \"%s\" argument %d (%s): a value was passed but "
                         "the parameter is a pointer (%s)", kernel, i, pi->name, pi->type);
    if (a->kind == CLV_ARG_REAL) {
        if (strcmp(pi->type, "float") && strcmp(pi->type, "double") && clv__is_builtin_scalar(pi->type))
            return clv__fail(m, CLV_ERROR_ARGUMENT_TYPE, "kernel \"%s\" argument %d (%s): clv_real passed but "
                             "the parameter is %s", kernel, i, pi->name, pi->type);
        return CLV_OK;
    }
    if (clv__is_builtin_scalar(pi->type) && strcmp(pi->type, a->type) != 0)
        return clv__fail(m, CLV_ERROR_ARGUMENT_TYPE, "kernel \"%s\" argument %d (%s): parameter is %s but a "
                         "%s was passed", kernel, i, pi->name, pi->type, a->type);
    return CLV_OK;
}

/* One user argument against the kernel's parameter (device 0's view). */
static inline clv_status clv__check_param(clv_mesh *m, const char *kernel, int i, const clv_arg *a,
                                          const clv__param *pi)
{
    if (!pi->known) return CLV_OK;
    switch (a->kind) {
    case CLV_ARG_IN: case CLV_ARG_OUT: case CLV_ARG_INOUT:
        return clv__check_array_param(m, kernel, i, a, pi);
    case CLV_ARG_SCRATCH:
        if (pi->address != CL_KERNEL_ARG_ADDRESS_GLOBAL)
            return clv__fail(m, CLV_ERROR_ARGUMENT_TYPE, "kernel \"%s\" argument %d (%s): scratch needs a "
                             "__global pointer parameter", kernel, i, pi->name);
        return CLV_OK;
    case CLV_ARG_LOCAL:
        if (pi->address != CL_KERNEL_ARG_ADDRESS_LOCAL)
            return clv__fail(m, CLV_ERROR_ARGUMENT_TYPE, "kernel \"%s\" argument %d (%s): clv_local_mem needs "
                             "a __local pointer parameter", kernel, i, pi->name);
        return CLV_OK;
    case CLV_ARG_VALUE: case CLV_ARG_REAL:
        return clv__check_value_param(m, kernel, i, a, pi);
    }
    return CLV_OK;
}

/* Everything that can be checked before anything is enqueued. */
static inline clv_status clv__check_args(clv_program *p, const clv__kernel *k, const char *kernel,
                                         size_t n_items, const clv_arg *args, int n_args)
{
    clv_mesh *m = p->mesh;
    clv__param pi;
    cl_kernel ref = k->per_device[clv__first_alive(m)];
    clv__param_info(ref, 0, &pi);
    if (k->n_args < CLV__HIDDEN_ARGS || (pi.known && strcmp(pi.name, "clv__chunk_end") != 0))
        return clv__fail(m, CLV_ERROR_ARGUMENT_COUNT, "kernel \"%s\" must start its parameters with CLV_ITEMS",
                         kernel);
    if ((int)k->n_args - CLV__HIDDEN_ARGS != n_args)
        return clv__fail(m, CLV_ERROR_ARGUMENT_COUNT, "kernel \"%s\" takes %d argument(s) after CLV_ITEMS, "
                         "%d given", kernel, (int)k->n_args - CLV__HIDDEN_ARGS, n_args);
    for (int i = 0; i < n_args; ++i) {
        const clv_arg *a = &args[i];
        if (a->kind < CLV_ARG_IN || a->kind > CLV_ARG_REAL)
            return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "argument %d: unknown kind (build arguments with "
                             "clv_in, clv_out, clv_int, ...)", i);
        int is_array = a->kind == CLV_ARG_IN || a->kind == CLV_ARG_OUT || a->kind == CLV_ARG_INOUT;
        if (is_array && !a->array)
            return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "argument %d: NULL array", i);
        if (is_array && a->array->mesh != m)
            return clv__fail(m, CLV_ERROR_SHAPE, "argument %d: array belongs to another mesh", i);
        if (is_array && a->kind != CLV_ARG_IN && a->array->layout == CLV_REPLICATED && m->n_devices > 1)
            return clv__fail(m, CLV_ERROR_SHAPE, "argument %d: a replicated array cannot be an output on %d "
                             "devices (each would write only its own items); make it CLV_SHARDED", i,
                             m->n_devices);
        if (is_array && a->array->layout == CLV_SHARDED && a->array->n_items != n_items)
            return clv__fail(m, CLV_ERROR_SHAPE, "argument %d: sharded array has %zu items, the map has %zu",
                             i, a->array->n_items, n_items);
        if ((a->kind == CLV_ARG_SCRATCH || a->kind == CLV_ARG_LOCAL) && a->bytes == 0)
            return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "argument %d: scratch/local of 0 bytes", i);
        clv__param_info(ref, (cl_uint)(i + CLV__HIDDEN_ARGS), &pi);
        clv_status st = clv__check_param(m, kernel, i, a, &pi);
        if (st != CLV_OK) return st;
    }
    return CLV_OK;
}

/* The split a map uses: that of its sharded arrays, which must agree. */
static inline clv_status clv__map_split(clv_mesh *m, size_t n_items, const clv_arg *args, int n_args,
                                        size_t *first, size_t *count)
{
    const clv_array *ref = NULL;
    for (int i = 0; i < n_args; ++i) {
        const clv_array *a = args[i].array;
        if (args[i].kind < CLV_ARG_IN || args[i].kind > CLV_ARG_INOUT || a->layout != CLV_SHARDED) continue;
        if (!ref) {
            ref = a;
            continue;
        }
        for (int d = 0; d < m->n_devices; ++d)
            if (a->first[d] != ref->first[d] || a->count[d] != ref->count[d])
                return clv__fail(m, CLV_ERROR_SHAPE, "argument %d is split over the devices differently from "
                                 "an earlier argument (was the mesh's split changed in between?)", i);
    }
    if (!ref) return clv_mesh_split_items(m, n_items, first, count);
    memcpy(first, ref->first, (size_t)m->n_devices * sizeof *first);
    memcpy(count, ref->count, (size_t)m->n_devices * sizeof *count);
    return CLV_OK;
}

/* Per-device state of a map in progress. */
typedef struct clv__launch {
    size_t first;           /* the device's first item (its arrays start there) */
    size_t start, end;      /* the items [start, end) this pass runs on the device */
    size_t next;            /* first item not yet known to be done */
    size_t chunk;
    size_t local_size;
    cl_mem *scratch;        /* one per scratch argument */
    size_t scratch_bytes;   /* all scratch buffers together */
    clv_dtype real;         /* the program's clv_real, for clv_real() arguments */
    int ran_after_failure;  /* a launch completed after an earlier one failed */
    cl_event events[CLV__LAUNCH_WINDOW]; /* the window's launches, in order */
    size_t event_first[CLV__LAUNCH_WINDOW], event_end[CLV__LAUNCH_WINDOW];
    int n_events;
} clv__launch;

static inline size_t clv__scratch_per_item(const clv_arg *args, int n_args, size_t *largest)
{
    size_t total = 0;
    *largest = 0;
    for (int i = 0; i < n_args; ++i)
        if (args[i].kind == CLV_ARG_SCRATCH) {
            total = args[i].bytes > (size_t)-1 - total ? (size_t)-1 : total + args[i].bytes;
            if (args[i].bytes > *largest) *largest = args[i].bytes;
        }
    return total;
}

/* A scratch buffer of exactly `bytes`: a kept one if there is one; else the
 * kept ones are released first, so that a map's peak stays its arrays plus
 * one chunk's scratch. */
static inline cl_mem clv__scratch_take(clv_mesh *m, int device, size_t bytes, cl_int *err)
{
    clv__device *d = &m->devices[device];
    for (int c = 0; c < CLV__SCRATCH_CACHE; ++c)
        if (d->cached[c] && d->cached_bytes[c] == bytes) {
            cl_mem buffer = d->cached[c];
            d->cached[c] = NULL;
            *err = CL_SUCCESS;
            return buffer;
        }
    clv__release_cache(m, device);
    return clv__buffer_create(m, device, CL_MEM_READ_WRITE, bytes, err);
}

/* Keep a scratch buffer for the next map, or release it if there is no room. */
static inline void clv__scratch_give(clv_mesh *m, int device, cl_mem buffer, size_t bytes)
{
    clv__device *d = &m->devices[device];
    for (int c = 0; buffer && !d->info.lost && c < CLV__SCRATCH_CACHE; ++c)
        if (!d->cached[c]) {
            d->cached[c] = buffer;
            d->cached_bytes[c] = bytes;
            return;
        }
    clv__buffer_release(m, device, buffer, bytes);
}

static inline void clv__free_scratch(clv_mesh *m, int device, clv__launch *l, const clv_arg *args, int n_args)
{
    for (int i = 0, s = 0; i < n_args; ++i)
        if (args[i].kind == CLV_ARG_SCRATCH) {
            clv__scratch_give(m, device, l->scratch[s], args[i].bytes * l->chunk);
            l->scratch[s++] = NULL;
        }
}

/* CLV_CHUNK_AUTO: the largest chunk whose scratch fits in free memory and
 * whose largest scratch buffer fits in one allocation. */
static inline size_t clv__auto_chunk(const clv__device *d, size_t items, size_t per_item, size_t largest)
{
    if (per_item == 0) return items;
    uint64_t held = d->stats.bytes_current - clv__cached_total(d); /* kept scratch can be reused */
    uint64_t free_bytes = d->info.global_mem_bytes > held ? d->info.global_mem_bytes - held : 0;
    double by_total = CLV__AUTO_MARGIN * (double)free_bytes / (double)per_item;
    double by_alloc = 0.9 * (double)d->info.max_alloc_bytes / (double)largest;
    double best = by_total < by_alloc ? by_total : by_alloc;
    if (best < 1) return 1;
    return best < (double)items ? (size_t)best : items;
}

/* Allocate one chunk's scratch, halving the chunk while allocation fails. */
static inline clv_status clv__alloc_scratch(clv_mesh *m, int device, clv__launch *l, const clv_arg *args,
                                            int n_args)
{
    clv__device *d = &m->devices[device];
    for (;;) {
        cl_int err = CL_SUCCESS;
        int s = 0;
        for (int i = 0; i < n_args && err == CL_SUCCESS; ++i)
            if (args[i].kind == CLV_ARG_SCRATCH) {
                if (args[i].bytes > (size_t)-1 / l->chunk) {
                    err = CL_INVALID_BUFFER_SIZE; /* bytes x chunk overflows size_t */
                    break;
                }
                l->scratch[s] = clv__scratch_take(m, device, args[i].bytes * l->chunk, &err);
                if (l->scratch[s]) ++s;
            }
        if (err == CL_SUCCESS) {
            uint64_t bytes = (uint64_t)l->scratch_bytes * l->chunk;
            if (bytes > d->stats.scratch_high_water) d->stats.scratch_high_water = bytes;
            return CLV_OK;
        }
        clv__free_scratch(m, device, l, args, n_args);
        clv__release_cache(m, device); /* all of it, so the retry has the most room */
        if (!clv__is_alloc_error(err)) return clv__fail_cl(m, "clCreateBuffer (scratch)", err, device);
        if (l->chunk == 1)
            return clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "device %d (%s): scratch of %zu bytes for one item "
                             "cannot be allocated (%s)", device, d->info.name, l->scratch_bytes,
                             clv__cl_error_name(err));
        l->chunk = (l->chunk + 1) / 2;
        d->stats.chunk_halvings++;
    }
}

static inline size_t clv__round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

static inline cl_int clv__set_hidden_args(cl_kernel k, cl_ulong chunk_end, cl_ulong device_first,
                                          cl_ulong chunk_first, cl_ulong seed, cl_uint group_per_item)
{
    cl_int err = clSetKernelArg(k, 0, sizeof chunk_end, &chunk_end);
    if (err == CL_SUCCESS) err = clSetKernelArg(k, 1, sizeof device_first, &device_first);
    if (err == CL_SUCCESS) err = clSetKernelArg(k, 2, sizeof chunk_first, &chunk_first);
    if (err == CL_SUCCESS) err = clSetKernelArg(k, 3, sizeof seed, &seed);
    if (err == CL_SUCCESS) err = clSetKernelArg(k, 4, sizeof group_per_item, &group_per_item);
    return err;
}

/* A clv_real() argument as the parameter's type: float or double by name,
 * the program's clv_real for a typedef such as clv_real (drivers may accept
 * either size for a typedef, so the size cannot be probed). */
static inline cl_int clv__set_real_arg(cl_kernel k, cl_uint index, double value, clv_dtype real)
{
    clv__param pi;
    clv__param_info(k, index, &pi);
    int is_double = real == CLV_F64;
    if (pi.known && strcmp(pi.type, "double") == 0) is_double = 1;
    if (pi.known && strcmp(pi.type, "float") == 0) is_double = 0;
    float f = (float)value;
    return is_double ? clSetKernelArg(k, index, sizeof value, &value) : clSetKernelArg(k, index, sizeof f, &f);
}

/* The user's arguments on one device. */
static inline cl_int clv__set_user_args(cl_kernel k, int device, const clv__launch *l, const clv_arg *args,
                                        int n_args)
{
    cl_int err = CL_SUCCESS;
    for (int i = 0, s = 0; i < n_args && err == CL_SUCCESS; ++i) {
        cl_uint index = (cl_uint)(i + CLV__HIDDEN_ARGS);
        const clv_arg *a = &args[i];
        if (a->kind == CLV_ARG_IN || a->kind == CLV_ARG_OUT || a->kind == CLV_ARG_INOUT)
            err = clSetKernelArg(k, index, sizeof(cl_mem), &a->array->buffers[device]);
        else if (a->kind == CLV_ARG_SCRATCH)
            err = clSetKernelArg(k, index, sizeof(cl_mem), &l->scratch[s++]);
        else if (a->kind == CLV_ARG_LOCAL)
            err = clSetKernelArg(k, index, a->bytes, NULL);
        else if (a->kind == CLV_ARG_VALUE)
            err = clSetKernelArg(k, index, a->bytes, &a->value);
        else
            err = clv__set_real_arg(k, index, a->value.d, l->real);
    }
    return err;
}

/* Enqueue up to a window of chunks on one device. Returns the first enqueue
 * error (the chunks enqueued before it still run). */
static inline cl_int clv__enqueue_window(clv_mesh *m, int device, cl_kernel k, clv__launch *l,
                                         const clv_map_opts *o, const clv_arg *args, int n_args)
{
    clv__device *d = &m->devices[device];
    size_t at = l->next;
    cl_int err = clv__set_user_args(k, device, l, args, n_args);
    cl_uint per_group = o->shape == CLV_ITEM_PER_GROUP;
    while (err == CL_SUCCESS && at < l->end && l->n_events < CLV__LAUNCH_WINDOW) {
        size_t count = l->end - at < l->chunk ? l->end - at : l->chunk;
        size_t shift = (size_t)o->item_offset; /* global index of local item 0 */
        size_t offset = per_group ? (shift + at) * l->local_size : shift + at;
        size_t global = per_group ? count * l->local_size : clv__round_up(count, l->local_size);
        err = clv__set_hidden_args(k, shift + at + count, shift + l->first, shift + at, o->seed, per_group);
#ifdef CLV_FAULT_INJECTION
        if (m->faults.launch_max_items && count > m->faults.launch_max_items) err = CL_OUT_OF_RESOURCES;
#endif
        if (err != CL_SUCCESS) break;
        err = clEnqueueNDRangeKernel(d->queue, k, 1, &offset, &global, &l->local_size, 0, NULL,
                                     &l->events[l->n_events]);
        if (err != CL_SUCCESS) break;
        l->event_first[l->n_events] = at;
        l->event_end[l->n_events++] = at + count;
        at += count;
    }
    clFlush(d->queue);
    return err;
}

#ifdef CLV_FAULT_INJECTION
/* lose_devices: the device dies. Its buffers are overwritten first, so that
 * a result recovered from them instead of from the host copy would show. */
static inline void clv__fault_kill(clv_mesh *m, int device)
{
    const cl_uchar poison = 0xFF;
    for (clv_array *a = m->arrays; a; a = a->next)
        if (a->count[device])
            clEnqueueFillBuffer(m->devices[device].queue, a->buffers[device], &poison, 1, 0,
                                a->count[device] * clv__item_bytes(a), 0, NULL, NULL);
    clFinish(m->devices[device].queue);
    m->faults.dead |= (uint64_t)1 << device;
}
#endif

static inline uint64_t clv__event_ns(cl_event ev)
{
    cl_ulong t0 = 0, t1 = 0;
    if (clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) != CL_SUCCESS ||
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) != CL_SUCCESS || t1 < t0)
        return 0;
    return t1 - t0;
}

/* Wait for a device's window; advance next past the chunks that finished,
 * in order, up to the first that did not. Launches that completed after a
 * failed one are noted (re-running them is only safe without inout arrays).
 * Returns the first failure (CL_SUCCESS if none). */
static inline cl_int clv__collect_window(clv_mesh *m, int device, clv__launch *l)
{
    clv__device *d = &m->devices[device];
    cl_int finish_err = clFinish(d->queue), first_error = CL_SUCCESS;
    for (int e = 0; e < l->n_events; ++e) {
        cl_int status = CL_COMPLETE;
        if (clGetEventInfo(l->events[e], CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL) !=
            CL_SUCCESS)
            status = CL_INVALID_EVENT;
#ifdef CLV_FAULT_INJECTION
        if (m->faults.failed_launch && d->stats.launches + 1 == m->faults.failed_launch && first_error == CL_SUCCESS) {
            status = CL_MEM_OBJECT_ALLOCATION_FAILURE; /* as if the device failed it late */
            m->faults.failed_launch = 0;
        }
        if ((m->faults.lose_devices >> device & 1) && d->stats.launches + 1 == m->faults.lose_at_launch &&
            first_error == CL_SUCCESS && !(m->faults.dead >> device & 1))
            clv__fault_kill(m, device);
        if (m->faults.dead >> device & 1) status = CL_DEVICE_NOT_AVAILABLE;
#endif
        if (first_error == CL_SUCCESS && status == CL_COMPLETE) {
            d->stats.kernel_ns += m->profiling ? clv__event_ns(l->events[e]) : 0;
            d->stats.items += l->event_end[e] - l->event_first[e];
            d->stats.launches++;
            l->next = l->event_end[e];
        } else if (first_error == CL_SUCCESS) {
            first_error = status < 0 ? status : (finish_err != CL_SUCCESS ? finish_err : CL_INVALID_EVENT);
        } else if (status == CL_COMPLETE) {
            l->ran_after_failure = 1;
        }
        clReleaseEvent(l->events[e]);
    }
    l->n_events = 0;
    return first_error != CL_SUCCESS ? first_error : finish_err;
}

/* Has the device stopped working? Asked only after a launch failed with
 * something other than an allocation failure that a smaller chunk could
 * cure: a device that is gone reports itself unavailable or cannot drain
 * its queue, a healthy one can. */
static inline int clv__device_unavailable(clv_mesh *m, int device)
{
    cl_bool available = CL_TRUE;
#ifdef CLV_FAULT_INJECTION
    if (m->faults.dead >> device & 1) return 1;
#endif
    /* a failed query says nothing either way */
    return clGetDeviceInfo(m->devices[device].id, CL_DEVICE_AVAILABLE, sizeof available, &available, NULL) ==
               CL_SUCCESS && !available;
}

static inline int clv__device_gone(clv_mesh *m, int device, cl_int err)
{
    if (err == CL_DEVICE_NOT_AVAILABLE || clv__device_unavailable(m, device)) return 1;
    return clFinish(m->devices[device].queue) != CL_SUCCESS;
}

/* Stop using a device: maps, splits and new arrays skip it from now on.
 * Its buffers stay with their arrays until failover moves them (or, without
 * failover, until the array is written again); replicated copies go now. */
static inline void clv__lose_device(clv_mesh *m, int device, cl_int err)
{
    clv__device *d = &m->devices[device];
    d->info.lost = 1;
    clv__release_cache(m, device);
    for (clv_array *a = m->arrays; a; a = a->next)
        if (a->layout == CLV_REPLICATED && a->count[device]) {
            clv__buffer_release(m, device, a->buffers[device], a->count[device] * clv__item_bytes(a));
            a->buffers[device] = NULL;
            a->count[device] = 0;
        }
    clv__fail(m, CLV_ERROR_DEVICE_LOST, "device %d (%s) stopped working (%s)", device, d->info.name,
              clv__cl_error_name(err));
}

/* After a failed window: a lost device is dropped; allocation failures
 * halve the chunk and re-allocate; anything else ends the map. */
static inline clv_status clv__recover(clv_mesh *m, int device, clv__launch *l, cl_int err, const clv_arg *args,
                                      int n_args)
{
    /* a smaller chunk may cure an allocation failure, not a device that says it is gone */
    int may_shrink = clv__is_alloc_error(err) && l->chunk > 1 && !clv__device_unavailable(m, device);
    if (!may_shrink && clv__device_gone(m, device, err)) {
        clv__free_scratch(m, device, l, args, n_args);
        clv__lose_device(m, device, err);
        l->next = l->end;
        return CLV_ERROR_DEVICE_LOST;
    }
    if (!clv__is_alloc_error(err)) return clv__fail_cl(m, "a kernel launch (enqueue or execution)", err, device);
    for (int i = 0; l->ran_after_failure && i < n_args; ++i)
        if (args[i].kind == CLV_ARG_INOUT)
            return clv__fail(m, CLV_ERROR_OPENCL, "device %d (%s) failed a launch with %s but ran later ones: "
                             "re-running would apply items of an inout array twice, so the map stops here "
                             "(the inout arrays are partly updated)", device, m->devices[device].info.name,
                             clv__cl_error_name(err));
    l->ran_after_failure = 0;
    if (l->chunk == 1)
        return clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "device %d (%s): a launch of one item failed with %s",
                         device, m->devices[device].info.name, clv__cl_error_name(err));
    clv__free_scratch(m, device, l, args, n_args);
    clv__release_cache(m, device);
    l->chunk = (l->chunk + 1) / 2;
    m->devices[device].stats.chunk_halvings++;
    return clv__alloc_scratch(m, device, l, args, n_args);
}

static inline size_t clv__local_size(const clv_mesh *m, int device, cl_kernel k, const clv_map_opts *o)
{
    size_t kernel_max = 0;
    size_t want = o->local_size ? o->local_size : CLV__DEFAULT_LOCAL_SIZE;
    clGetKernelWorkGroupInfo(k, m->devices[device].id, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_max,
                             &kernel_max, NULL);
    if (o->local_size) return want; /* the caller's choice; the driver checks it */
    if (kernel_max && want > kernel_max) want = kernel_max;
    if (want > m->devices[device].info.max_work_group_size) want = m->devices[device].info.max_work_group_size;
    return want ? want : 1;
}

/* Set up each device's launch state for the items [a, b) of the batch that
 * it owns: its chunk and scratch. */
static inline clv_status clv__plan(clv_program *p, const clv__kernel *k, const clv_map_opts *o,
                                   const clv_arg *args, int n_args, const size_t *first, const size_t *count,
                                   size_t a, size_t b, clv__launch *plan)
{
    clv_mesh *m = p->mesh;
    size_t largest, per_item = clv__scratch_per_item(args, n_args, &largest);
    for (int d = 0; d < m->n_devices; ++d) {
        clv__launch *l = &plan[d];
        size_t end = first[d] + count[d];
        l->first = first[d];
        l->next = l->start = first[d] > a ? first[d] : a;
        l->end = end < b ? end : b;
        if (l->end <= l->next || !clv__alive(m, d)) l->end = l->next = l->start; /* nothing to run */
        l->scratch_bytes = per_item;
        l->real = p->real;
        l->ran_after_failure = 0;
        size_t items = l->end - l->next;
        if (items == 0) continue;
        if (o->chunk == CLV_CHUNK_AUTO) l->chunk = clv__auto_chunk(&m->devices[d], items, per_item, largest);
        else if (o->chunk == CLV_CHUNK_NONE || (size_t)o->chunk > items) l->chunk = items;
        else l->chunk = (size_t)o->chunk;
        l->local_size = clv__local_size(m, d, k->per_device[d], o);
        clv_status st = clv__alloc_scratch(m, d, l, args, n_args);
        if (st != CLV_OK) return st;
    }
    return CLV_OK;
}

/* Run every device's chunks, all devices at once, a window at a time. A
 * device that is lost stops; the others finish, and the result is then
 * CLV_ERROR_DEVICE_LOST. Any other failure ends the map at once. */
static inline clv_status clv__run(clv_program *p, const clv__kernel *k, const clv_map_opts *o,
                                  const clv_arg *args, int n_args, clv__launch *plan)
{
    clv_mesh *m = p->mesh;
    int lost = 0;
    for (;;) {
        int busy = 0;
        cl_int enqueue_err[64];
        for (int d = 0; d < m->n_devices; ++d) {
            enqueue_err[d] = CL_SUCCESS;
            if (plan[d].next >= plan[d].end) continue;
            busy = 1;
            enqueue_err[d] = clv__enqueue_window(m, d, k->per_device[d], &plan[d], o, args, n_args);
        }
        if (!busy) return lost ? CLV_ERROR_DEVICE_LOST : CLV_OK;
        clv_status st = CLV_OK;
        for (int d = 0; d < m->n_devices; ++d) {
            if (plan[d].next >= plan[d].end && plan[d].n_events == 0) continue;
            cl_int err = clv__collect_window(m, d, &plan[d]);
            if (err == CL_SUCCESS) err = enqueue_err[d];
            if (err == CL_SUCCESS) continue;
            clv_status r = clv__recover(m, d, &plan[d], err, args, n_args);
            if (r == CLV_ERROR_DEVICE_LOST) lost = 1;
            else if (r != CLV_OK && st == CLV_OK) st = r;
        }
        if (st != CLV_OK) return st;
    }
}

static inline clv_status clv__check_map(clv_program *p, const char *kernel, size_t n_items,
                                        const clv_map_opts *o, const clv_arg *args, int n_args)
{
    clv_mesh *m = p->mesh;
    if (!kernel) return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_map: kernel name is NULL");
    if (n_items == 0) return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_map: n_items is 0 (a map needs "
                                       "at least one item)");
    if (o->chunk < CLV_CHUNK_AUTO)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_map: chunk %ld is negative (use a positive "
                         "chunk, CLV_CHUNK_NONE or CLV_CHUNK_AUTO)", o->chunk);
    if (o->shape != CLV_ITEM_PER_WORK_ITEM && o->shape != CLV_ITEM_PER_GROUP)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_map: unknown shape %d", (int)o->shape);
    /* The last global id of the map, padding included, must fit every
     * device's address range: a wrapped id would pass CLV_GUARD. */
    uint64_t ids = (uint64_t)-1, group = o->local_size ? o->local_size : CLV__DEFAULT_LOCAL_SIZE;
    for (int d = 0; d < m->n_devices; ++d)
        if (clv__alive(m, d) && m->devices[d].address_bits < 64) {
            uint64_t top = ((uint64_t)1 << m->devices[d].address_bits) - 1;
            if (top < ids) ids = top;
        }
    if ((uint64_t)(size_t)-1 < ids) ids = (uint64_t)(size_t)-1;
    uint64_t per_item = o->shape == CLV_ITEM_PER_GROUP ? group : 1, pad = o->shape == CLV_ITEM_PER_GROUP ? 0 : group;
    uint64_t limit = ids / per_item; /* items whose ids fit */
    if ((uint64_t)n_items > limit || pad > limit - n_items || o->item_offset > limit - n_items - pad)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_map: item_offset %llu + %zu items overflows the "
                         "device's index range", (unsigned long long)o->item_offset, n_items);
    if (n_args < 0 || (n_args > 0 && !args))
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_map: %d arguments but args is NULL", n_args);
    if (m->n_devices > 64) return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_map: more than 64 devices");
    return clv__check_alive(m, "clv_map");
}

static inline clv_status clv__check_local_size(clv_mesh *m, const clv__kernel *k, const char *kernel,
                                               const clv_map_opts *o)
{
    for (int d = 0; o->local_size && d < m->n_devices; ++d) {
        size_t kernel_max = 0;
        if (!clv__alive(m, d)) continue;
        clGetKernelWorkGroupInfo(k->per_device[d], m->devices[d].id, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof kernel_max, &kernel_max, NULL);
        if (o->local_size > m->devices[d].info.max_work_group_size || (kernel_max && o->local_size > kernel_max))
            return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_map: local_size %zu is more than kernel \"%s\" "
                             "can run on device %d (%s): at most %zu", o->local_size, kernel, d,
                             m->devices[d].info.name, kernel_max ? kernel_max : m->devices[d].info.max_work_group_size);
    }
    return CLV_OK;
}

/* Bit d: device d is lost. */
static inline uint64_t clv__lost_mask(const clv_mesh *m)
{
    uint64_t mask = 0;
    for (int d = 0; d < m->n_devices && d < 64; ++d) mask |= (uint64_t)!clv__alive(m, d) << d;
    return mask;
}

/* After devices in `lost` died in a pass: without failover their items
 * are an error; with it, the map's outputs on the devices left are read
 * into the host copies and every array with items on a lost device is
 * placed anew on the devices left, from its host copy. */
static inline clv_status clv__failover(clv_mesh *m, const clv_arg *args, int n_args, const char *kernel,
                                       uint64_t lost)
{
    int gone = 0;
    while (gone < m->n_devices - 1 && !(lost >> gone & 1)) ++gone;
    if (clv__first_alive(m) < 0)
        return clv__fail(m, CLV_ERROR_DEVICE_LOST, "every device of the mesh is lost (the last, device %d (%s), "
                         "while running \"%s\"); when all fail on one kernel, suspect the kernel (an "
                         "out-of-bounds access) before the devices", gone, m->devices[gone].info.name, kernel);
    if (!m->failover)
        return clv__fail(m, CLV_ERROR_DEVICE_LOST, "device %d (%s) stopped working during a map of \"%s\"; the "
                         "mesh no longer uses it, but without clv_mesh_desc.failover the items it held are lost "
                         "(write those arrays again, or open the mesh with failover = 1)", gone,
                         m->devices[gone].info.name, kernel);
    clv_status st = CLV_OK;
    for (int i = 0; st == CLV_OK && i < n_args; ++i)
        if (args[i].kind == CLV_ARG_OUT || args[i].kind == CLV_ARG_INOUT) st = clv__pull_host(args[i].array);
    for (clv_array *a = m->arrays; st == CLV_OK && a; a = a->next)
        if (clv__array_damaged(a, NULL)) st = clv__array_place(a, a->host);
    return st;
}

/* Arguments with items on a lost device: with a host copy (failover) the
 * array is placed anew from it; without, an output is placed anew empty
 * (the map writes every item) and an input cannot be. */
static inline clv_status clv__place_damaged(const clv_arg *args, int n_args)
{
    for (int i = 0; i < n_args; ++i) {
        clv_array *a = args[i].array;
        if (args[i].kind < CLV_ARG_IN || args[i].kind > CLV_ARG_INOUT || !clv__array_damaged(a, NULL)) continue;
        if (!a->host && args[i].kind != CLV_ARG_OUT) return clv__fail_damaged(a, "clv_map");
        for (int j = 0; !a->host && j < n_args; ++j) /* not while another argument still needs the old placement */
            if (j != i && args[j].array == a) return clv__fail_damaged(a, "clv_map");
        clv_status st = clv__array_place(a, a->host);
        if (st != CLV_OK) return st;
    }
    return CLV_OK;
}

/* Run items [0, n_items), then again any part that a lost device held, on
 * the devices left (failover), until every item ran on a device that
 * stayed. An interval leaves the to-do list only once its pass has run. */
static inline clv_status clv__run_all(clv_program *p, const clv__kernel *k, const char *kernel,
                                      const clv_map_opts *o, const clv_arg *args, int n_args, size_t n_items,
                                      clv__launch *plan)
{
    clv_mesh *m = p->mesh;
    size_t todo_a[65], todo_b[65], first[64], count[64];
    int n_todo = 1, pass = 0;
    todo_a[0] = 0;
    todo_b[0] = n_items;
    while (n_todo > 0) {
        size_t a = todo_a[n_todo - 1], b = todo_b[n_todo - 1];
        uint64_t lost_before = clv__lost_mask(m);
        for (int d = 0; d < m->n_devices; ++d) { /* nothing left from the last pass */
            plan[d].start = plan[d].next = plan[d].end = 0;
            plan[d].n_events = 0;
        }
        clv_status st = clv__place_damaged(args, n_args);
        if (st == CLV_OK) st = clv__map_split(m, n_items, args, n_args, first, count);
        if (st == CLV_OK) st = clv__plan(p, k, o, args, n_args, first, count, a, b, plan);
        if (st == CLV_OK) {
            --n_todo;
            st = clv__run(p, k, o, args, n_args, plan);
        }
        uint64_t lost = clv__lost_mask(m) & ~lost_before;
        for (int d = 0; d < m->n_devices; ++d) {
            clv__launch *l = &plan[d];
            clv__free_scratch(m, d, l, args, n_args);
            if (l->end == l->start) continue;
            if (lost >> d & 1) { /* all of its part again: its finished outputs died with it */
                if (n_todo < 65) todo_a[n_todo] = l->start, todo_b[n_todo++] = l->end;
                continue;
            }
            m->devices[d].stats.chunk_used = l->chunk;
            if (pass > 0) m->devices[d].stats.items_recovered += l->next - l->start;
        }
        if (st == CLV_ERROR_DEVICE_LOST && lost) /* lost in this pass (not a refusal before it) */
            st = clv__failover(m, args, n_args, kernel, lost);
        if (st != CLV_OK) return st; /* another error: the map stops, its message stands */
        ++pass;
    }
    return CLV_OK;
}

static inline clv_status clv_map(clv_program *p, const char *kernel, size_t n_items, const clv_map_opts *opts,
                                 const clv_arg *args, int n_args)
{
    clv_map_opts o;
    clv__kernel *k = NULL;
    if (!p) return CLV_ERROR_INVALID_ARGUMENT;
    clv_mesh *m = p->mesh;
    memset(&o, 0, sizeof o);
    if (opts) o = *opts;
    clv_status st = clv__check_map(p, kernel, n_items, &o, args, n_args);
    if (st == CLV_OK) st = clv__find_kernel(p, kernel, &k);
    if (st == CLV_OK) st = clv__check_args(p, k, kernel, n_items, args, n_args);
    if (st == CLV_OK) st = clv__check_local_size(m, k, kernel, &o);
    if (st != CLV_OK) return st;
    clv__launch *plan = (clv__launch *)clv__calloc((size_t)m->n_devices, sizeof *plan);
    int n_scratch = 0;
    for (int i = 0; i < n_args; ++i) n_scratch += args[i].kind == CLV_ARG_SCRATCH;
    for (int d = 0; plan && d < m->n_devices; ++d) {
        plan[d].scratch = (cl_mem *)clv__calloc((size_t)n_scratch, sizeof(cl_mem));
        if (!plan[d].scratch) st = clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    }
    if (!plan) return clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    if (st == CLV_OK) st = clv__run_all(p, k, kernel, &o, args, n_args, n_items, plan);
    for (int i = 0; st == CLV_OK && m->failover && i < n_args; ++i) /* keep the host copies current */
        if (args[i].kind == CLV_ARG_OUT || args[i].kind == CLV_ARG_INOUT) st = clv__pull_host(args[i].array);
    for (int d = 0; d < m->n_devices; ++d) CLV_FREE(plan[d].scratch);
    CLV_FREE(plan);
    return st;
}

/* ---- reductions --------------------------------------------------------- */

/* Pairwise sum of f(x[first..first+n)) over items, stride item_elems: a
 * fixed tree over the global index, accurate to O(log n) roundings. */
static inline double clv__pairwise(const void *data, const clv_array *a, size_t e, size_t first, size_t n,
                                   double shift, int exponentiate)
{
    if (n <= 8) {
        double s = 0;
        for (size_t i = first; i < first + n; ++i) {
            double x = clv__element(data, a->dtype, i * a->item_elems + e);
            s += exponentiate ? exp(x - shift) : x;
        }
        return s;
    }
    size_t half = n / 2;
    return clv__pairwise(data, a, e, first, half, shift, exponentiate) +
           clv__pairwise(data, a, e, first + half, n - half, shift, exponentiate);
}

static inline double clv__max_over_items(const void *data, const clv_array *a, size_t e)
{
    double best = -INFINITY;
    for (size_t i = 0; i < a->n_items; ++i) {
        double x = clv__element(data, a->dtype, i * a->item_elems + e);
        if (x != x) return x; /* NaN wins */
        if (x > best) best = x;
    }
    return best;
}

static inline clv_status clv_reduce(const clv_array *a, clv_reduce_op op, double *out)
{
    if (!a) return CLV_ERROR_INVALID_ARGUMENT;
    clv_mesh *m = a->mesh;
    if (!out) return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_reduce: out is NULL");
    if (op != CLV_SUM && op != CLV_MAX && op != CLV_LOGSUMEXP)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_reduce: unknown op %d", (int)op);
    void *data = clv__calloc(a->n_items * a->item_elems, clv_dtype_size(a->dtype));
    if (!data) return clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "clv_reduce: out of host memory");
    clv_status st = clv_array_read(a, data);
    for (size_t e = 0; st == CLV_OK && e < a->item_elems; ++e) {
        if (op == CLV_SUM) {
            out[e] = clv__pairwise(data, a, e, 0, a->n_items, 0, 0);
            continue;
        }
        double mx = clv__max_over_items(data, a, e);
        if (op == CLV_MAX || !isfinite(mx)) out[e] = mx;
        else out[e] = mx + log(clv__pairwise(data, a, e, 0, a->n_items, mx, 1));
    }
    CLV_FREE(data);
    return st;
}

/* ---- host-side RNG ------------------------------------------------------- */

static inline void clv_philox4x32_10_host(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3], k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c0 = n0;
        c1 = (uint32_t)p1;
        c2 = n2;
        c3 = (uint32_t)p0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

static inline uint32_t clv_rng_word_host(uint64_t seed, uint64_t item, uint32_t stream, uint32_t draw)
{
    uint32_t ctr[4], key[2], block[4];
    ctr[0] = draw / 4;
    ctr[1] = stream;
    ctr[2] = (uint32_t)item;
    ctr[3] = (uint32_t)(item >> 32);
    key[0] = (uint32_t)seed;
    key[1] = (uint32_t)(seed >> 32);
    clv_philox4x32_10_host(ctr, key, block);
    return block[draw % 4];
}

static inline double clv_uniform_f64_host(uint64_t seed, uint64_t item, uint32_t stream, uint32_t draw)
{
    uint64_t hi = clv_rng_word_host(seed, item, stream, draw);
    uint64_t lo = clv_rng_word_host(seed, item, stream, draw + 1);
    return ((double)(((hi << 32) | lo) >> 12) + 0.5) * (1.0 / 4503599627370496.0); /* 2^-52 */
}

#ifdef __cplusplus
}
#endif

#endif /* CLVMAP_H */

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
