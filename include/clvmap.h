/* clvmap.h — JAX-style batching transforms (vmap, chunked map, shard) for
 * plain OpenCL 1.2, in one header.                          version 0.2.0
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
 *   Memory layout: an array of n_items items of item_elems elements is
 *   item-major, on the host and on each device: element e of item i is at
 *   [i * item_elems + e] of the host buffer, and at
 *   x[clv_local() * item_elems + e] in the kernel (the part of a sharded
 *   array on a device starts at that device's first item).
 *   Work groups are always full (the global size is padded to the local
 *   size), which keeps every item on the same compiled code path. One
 *   launch runs at most 2^31 work items (drivers count groups in 32 bits):
 *   a larger chunk, CLV_CHUNK_NONE included, is launched in parts, with
 *   the same bits (guarantee 1).
 *   Argument checks: clv_map compares each argument with the kernel's
 *   parameter before enqueuing anything: an array's dtype with the pointee
 *   (clv_real and clv_realN resolve to the program's real; typedefs of
 *   builtin types are read from your source; for any other type name,
 *   such as a struct, the device is asked its size once and the array's
 *   items must be a whole number of it), a value's type with the
 *   parameter's, and the __local bytes (clv_local_mem and the kernel's own)
 *   with CL_DEVICE_LOCAL_MEM_SIZE.
 *   With opts.shape = CLV_ITEM_PER_GROUP one work group serves one item and
 *   its work items ("lanes") share the item's work, cooperatively:
 *     CLV_GROUP_BLOCK(i, n)     i over this lane's contiguous block of
 *                               0 .. n-1 (CPU runtimes: one pass over memory);
 *     CLV_GROUP_FOR(i, n)       for (i = lane; i < n; i += lanes) (GPUs:
 *                               neighbouring lanes, neighbouring i);
 *     clv_lane(), clv_lanes()   this lane and the group's size;
 *     clv_group_sum/_max/_logsumexp/_broadcast(v, tmp), clv_group_sum_n(v,
 *       n, tmp) (_f32, _f64 and clv_real forms): the lanes' values combined,
 *       the same result on every lane; tmp is a __local buffer of lanes (x n)
 *       values: a clv_local_mem(L * size) argument, L from
 *       clv_map_local_size(p, kernel, &opts, &L). Every lane must call them
 *       (they hold barriers). The order of the combination depends on L
 *       only, so guarantee 1 holds at a fixed L (two L may round apart).
 *     CLV_LANE_SLOT(tmp, k), clv_group_sum_table(tmp, n, out): long
 *       per-lane accumulators kept in tmp (lanes x n) rather than in a
 *       private array, summed into __global out[0..n-1]: the same bits as
 *       clv_group_sum_n. A runtime that vectorises across the lanes spills
 *       a private array of more than ~32 values; PoCL does not mind.
 *     CLV_LANES_IN_TURN         1 where the mesh's devices run a group's
 *                               lanes one after another (PoCL's CPU
 *                               devices), else 0: for code that picks a form.
 *   Choose it for few heavy items (a likelihood over many observations, a
 *   long gradient): on a GPU 4 items x L lanes fill what 4 work items
 *   cannot. Keep one work item per item for many cheap items. On a CPU
 *   the lanes pay only where the runtime vectorises across them (Intel's);
 *   PoCL runs them in turn, so its default there is 8 lanes, not 64.
 *   One work item per item whose work items take different paths (each
 *   runs its own search or state machine): set opts.divergent. Intel's CPU
 *   runtime packs a group's work items into SIMD lanes and would run every
 *   path of each, masked; with divergent (and no local_size) such a map
 *   runs there at local size 1, which it leaves scalar (3x faster for the
 *   L-BFGS add-on's kernel). Other runtimes are unaffected; the results of
 *   a per-work-item kernel never depend on the local size.
 *
 * STREAMED ARGUMENTS (batches larger than device memory)
 *   Instead of clv_in(array)/clv_out(array), pass the batch in host memory:
 *     clv_in_host(x, bytes, CLV_F32, item_elems)     read by the kernel
 *     clv_out_host(y, bytes, CLV_F32, item_elems)    written by the kernel
 *     clv_inout_host(z, bytes, CLV_F32, item_elems)  read and written
 *   (item-major, bytes >= n_items * item_elems * dtype size). Each device
 *   streams its part through itself a chunk at a time: chunk j+1 uploads
 *   and chunk j-1 downloads while chunk j runs (a second queue per device
 *   for the transfers), so device memory holds 3 chunks of each streamed
 *   argument (+ scratch), whatever B; CLV_CHUNK_AUTO counts them. On a
 *   device that shares host memory (a CPU: CL_DEVICE_HOST_UNIFIED_MEMORY)
 *   the kernel reads clv_in_host chunks in place, through buffers made over
 *   your memory (CL_MEM_USE_HOST_PTR: no copy, no device bytes), unless
 *   clv_map_opts.stage_inputs is set; outputs are always staged. The
 *   kernel does not change: it indexes them with clv_local(), and gets the
 *   same bits as the resident map (guarantee 1). Nothing is copied on the
 *   host: outputs are written in place as chunks finish. In such a map every
 *   batched argument is streamed (a CLV_SHARDED array is refused with
 *   CLV_ERROR_SHAPE); CLV_REPLICATED arrays, scratch, clv_local_mem and
 *   values work as usual. An output may not overlap another streamed
 *   argument. With failover a lost device's unwritten items re-run on the
 *   others (the host memory is the source of truth); without, the message
 *   names the items not written.
 *
 * GUARANTEES
 *   1. Partition invariance: for a kernel whose items do not talk to each
 *      other, every output is bitwise identical for every chunk size and
 *      every device split on the same kind of device. RNG draws depend on the
 *      global item index, never on the chunk or device. clv_reduce uses one
 *      fixed order over the global index. "The same kind" means one
 *      platform and its compiler: a mesh may mix platforms ("pocl:0,intel:0"),
 *      and then each item has the bits of the device that ran it (whatever
 *      the chunk), while two vendors' devices agree within rounding only
 *      (exp, sin, the RNG's normal draws may differ in the last bits).
 *   2. Bounded, counted memory: a map allocates scratch for one chunk per
 *      device (and 3 chunks of staging per streamed argument); every buffer the library creates is counted (current and
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
 *   0.2.0 (2026-12-03) host-streamed arguments (clv_in_host, clv_out_host,
 *                      clv_inout_host) for batches beyond device memory;
 *                      cooperative work groups (clv_group_* helpers,
 *                      CLV_GROUP_FOR, clv_map_local_size, one place for the
 *                      local size); argument checks through typedefs
 *                      (clv_real, clv_realN, the source's typedefs, probed
 *                      sizes), __local bytes against the device, launches
 *                      split at 2^31 work items; the section for libraries
 *                      built on clvmap and clv_share.
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
#include <stdio.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLV_VERSION_MAJOR 0
#define CLV_VERSION_MINOR 2
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
    size_t local_size; /* work items per group; 0: 64 (or the device's limit; 8 lanes
                          per item with CLV_ITEM_PER_GROUP on PoCL's CPU devices) */
    uint64_t seed;     /* what clv_seed() returns in the kernel */
    uint64_t item_offset; /* global index of item 0: the kernel sees items item_offset ..
                             item_offset + n_items - 1 (clv_item(), the RNG), while
                             clv_local()/clv_slot() still index this map's arrays; lets
                             one process run its part of a larger batch with the same bits */
    int stage_inputs;  /* streamed maps: nonzero copies clv_in_host chunks into device buffers
                          even on a device that shares host memory (a CPU), where by
                          default the kernel reads them in place (no copy, no device bytes) */
    int divergent;     /* nonzero: the work items take different paths (a state machine or a
                          search per item). With CLV_ITEM_PER_WORK_ITEM and local_size 0 the
                          default local size is then 1 on a mesh with a CPU runtime that
                          vectorises across work items (Intel's: it runs a group's work items
                          in SIMD lanes, every path of each, masked); a per-work-item kernel's
                          results never depend on the local size */
} clv_map_opts;

typedef enum clv_arg_kind {
    CLV_ARG_IN = 1,     /* a clv_array the kernel reads */
    CLV_ARG_OUT,        /* a clv_array the kernel writes */
    CLV_ARG_INOUT,      /* a clv_array the kernel reads and writes */
    CLV_ARG_SCRATCH,    /* bytes per item of device scratch, for one chunk */
    CLV_ARG_LOCAL,      /* bytes of __local memory per work group */
    CLV_ARG_VALUE,      /* a scalar passed by value */
    CLV_ARG_REAL,       /* a scalar converted to the kernel's float/double */
    CLV_ARG_IN_HOST,    /* host memory the kernel reads, streamed in chunks (clv_in_host) */
    CLV_ARG_OUT_HOST,   /* host memory the kernel writes, streamed in chunks (clv_out_host) */
    CLV_ARG_INOUT_HOST  /* host memory the kernel reads and writes, streamed (clv_inout_host) */
} clv_arg_kind;

typedef struct clv_arg {
    clv_arg_kind kind;
    clv_array *array;
    size_t bytes;        /* SCRATCH, LOCAL: byte count; VALUE: value size */
    const char *type;    /* VALUE: the OpenCL C type name it must match */
    union { int32_t i; uint32_t u; int64_t l; uint64_t ul; float f; double d; } value;
    /* IN_HOST, OUT_HOST, INOUT_HOST: the user's batch in host memory (bytes
     * above: its size), item-major like an array's, never copied whole */
    void *host;
    clv_dtype dtype;
    size_t item_elems;
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
/* Out-of-core batches: host memory of n_items x item_elems elements of
 * dtype (item-major; bytes: the size of data, at least that much), streamed
 * through each device a chunk at a time (upload, kernel and download of
 * consecutive chunks overlap; see STREAMED ARGUMENTS in the manual). The
 * kernel indexes them with clv_local() as it would a sharded array. Not
 * mixed with CLV_SHARDED arrays in one map; replicated arrays, scratch,
 * __local memory and values mix freely. */
static inline clv_arg clv_in_host(const void *data, size_t bytes, clv_dtype dtype, size_t item_elems);
static inline clv_arg clv_out_host(void *data, size_t bytes, clv_dtype dtype, size_t item_elems);
static inline clv_arg clv_inout_host(void *data, size_t bytes, clv_dtype dtype, size_t item_elems);

/* Run kernel over items 0..n_items-1 on every device of the program's mesh.
 * args follow CLV_ITEMS in the kernel's parameter order. */
static inline clv_status clv_map(clv_program *p, const char *kernel, size_t n_items,
                                 const clv_map_opts *opts, const clv_arg *args, int n_args);

/* The work items per group a map of kernel with these options runs (the
 * same on every device): opts->local_size when set, else the library's
 * default for this kernel on this mesh. Size the clv_local_mem arguments
 * of cooperative kernels with it. */
static inline clv_status clv_map_local_size(clv_program *p, const char *kernel, const clv_map_opts *opts,
                                            size_t *local_size);

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

/* ---- building on clvmap --------------------------------------------------
 * What libraries on the public API (the add-on headers, and yours) share,
 * so that none needs its own copy. They keep their own message buffer per
 * object; these write into it. */

/* Zeroed host memory for n x size bytes through CLV_MALLOC (free it with
 * clv_free); NULL when n x size overflows size_t or memory runs out. */
static inline void *clv_calloc(size_t n, size_t size);
static inline void clv_free(void *p);
/* *bytes = n x size; 0 when that overflows size_t or exceeds limit (0: no limit). */
static inline int clv_size_mul(size_t n, size_t size, size_t limit, size_t *bytes);
/* total + a x b x c, saturating at UINT64_MAX: for adding up a plan's
 * bytes, where a size that overflows cannot be allocated and saturation
 * keeps every later sum honest (compare the result with what fits). */
static inline uint64_t clv_bytes_add(uint64_t total, uint64_t a, uint64_t b, uint64_t c);
/* printf fmt into buf[size] (nothing when buf is NULL) and return status:
 * `return clv_message(s->message, sizeof s->message, CLV_ERROR_..., ...)`. */
static inline clv_status clv_message(char *buf, size_t size, clv_status status, const char *fmt, ...);
/* An option that must be a finite number in [lo, hi] (lo > hi: any finite
 * number): CLV_OK, or CLV_ERROR_INVALID_ARGUMENT naming what in buf. */
static inline clv_status clv_check_number(char *buf, size_t size, const char *what, double value, double lo,
                                          double hi);
/* A chunk option: CLV_CHUNK_NONE, k > 0 or CLV_CHUNK_AUTO. */
static inline clv_status clv_check_chunk(char *buf, size_t size, const char *what, long chunk);

/* A library's program: its kernels (lines, shown in build logs as
 * library_name) around a user's source (a model, a problem, an objective,
 * shown as name), with the user's numbers uploaded as one replicated array
 * of n_data items (at least one: a zero when n_data is 0) in real. */
typedef struct clv_library_desc {
    const char *const *lines;
    size_t n_lines;
    const char *library_name;   /* e.g. "kernels/nuts.cl" */
    const char *source;         /* the user's OpenCL C */
    const char *name;           /* its file name in build logs (default "user.cl") */
    const char *options;        /* compiler options (the library's -D and the user's) */
    clv_dtype real;             /* CLV_F32 or CLV_F64 */
    const double *data;         /* n_data numbers, or NULL when n_data is 0 */
    size_t n_data;
} clv_library_desc;
/* Build it and upload the data: *program and *data on success, both NULL
 * on failure with the reason in buf ("what: ..." followed by the mesh's
 * message). */
static inline clv_status clv_library_build(clv_mesh *m, const clv_library_desc *desc, clv_program **program,
                                           clv_array **data, char *buf, size_t size, const char *what);

/* A name as one CSV cell: quoted (RFC 4180, "" for a quote) when it holds
 * a comma, a quote or a line break, or starts or ends with a blank, so that
 * CSV readers (pandas, R, ArviZ, clvmap_csv.h) see the name as written. */
static inline void clv_csv_write_name(FILE *f, const char *name);
/* Host memory that can still be had, in bytes: MemAvailable + SwapFree of
 * /proc/meminfo, or 0 where the system does not say. malloc may promise
 * more (Linux overcommits) and a program is then killed when it touches the
 * memory, with no status: a library refuses up front what is known not to
 * fit. */
static inline uint64_t clv_host_memory_available(void);

/* ---- sharing a batch between processes -----------------------------------
 * A library that runs a batch in steps (a sampler's draws and updates, an
 * optimiser's problems) can split every batched step between processes
 * that run the same program with the same options: each process runs the
 * rows `range` gives it, under their global indices
 * (clv_map_opts.item_offset, so every random number is the one a single
 * process would draw), then `exchange` completes every row on every process
 * and agrees on the outcome. clvmap_mpi.h makes one over MPI ranks
 * (clv_mpi_share); tests make one over threads. Zero (both NULL): this
 * process runs every row. */
typedef struct clv_share {
    /* rows [*first, *first + *count) of a batch of n_rows are this process's */
    void (*range)(void *user, size_t n_rows, size_t *first, size_t *count);
    /* Called by every process after its rows ran; status and message are its
     * own outcome. Fill the other processes' rows of rows (n_rows x row_bytes,
     * this process's in place) and return the status agreed by all, with why
     * filled when it is not CLV_OK. */
    clv_status (*exchange)(void *user, clv_status status, const char *message, void *rows, size_t row_bytes,
                           size_t n_rows, char *why, size_t why_size);
    void *user;
} clv_share;
/* This process's rows of a batch of n_rows (all of them without a share). */
static inline void clv_share_range(const clv_share *share, size_t n_rows, size_t *first, size_t *count);
/* Complete rows from the other processes (a no-op returning status without
 * a share); on disagreement CLV_ERROR_... with "what: why" in buf. */
static inline clv_status clv_share_exchange(const clv_share *share, clv_status status, const char *message,
                                            void *rows, size_t row_bytes, size_t n_rows, char *buf, size_t size,
                                            const char *what);

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
/* Work items per group when the caller does not choose (see
 * clv__resolve_local_size, the one place it is applied). */
#define CLV__DEFAULT_LOCAL_SIZE 64
/* ... and the lanes per item (CLV_ITEM_PER_GROUP) where every device runs a
 * group's work items one after another (clv__runs_lanes_in_turn). More than
 * 2: PoCL 3.1 miscompiles cooperative NUTS at 1 and 2 (clvmap_nuts.h). */
#define CLV__IN_TURN_LOCAL_SIZE 8
/* Devices in one mesh at most (a map tracks lost devices in a 64-bit mask). */
#define CLV__MAX_DEVICES 64
/* Chunks enqueued per device before the host waits and checks them. */
#define CLV__LAUNCH_WINDOW 64
/* Scratch buffers a device keeps between maps for reuse. */
#define CLV__SCRATCH_CACHE 4
/* Most work items in one launch: drivers count work groups in 32 bits
 * (PoCL aborts beyond), so a larger chunk is launched in parts. */
#define CLV__MAX_LAUNCH_WORK_ITEMS ((size_t)1 << 31)
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
    uint64_t max_launch_work_items; /* the library's cap on work items per launch
                                  (CLV__MAX_LAUNCH_WORK_ITEMS) is this instead */
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
    /* Streamed maps: a second queue for uploads and downloads, so that they
     * overlap the kernels; created by the first such map, released on close. */
    cl_command_queue transfer_queue;
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

/* ---- type names in a program's source ----------------------------------
 * Drivers report a kernel parameter's type as it is spelt ("clv_real*",
 * "count_t"), so typedefs would slip past the argument checks. The library
 * reads the program's typedefs of builtin types from its source (the
 * prelude's clv_real and clv_realN are known from the build) and, for a
 * name it cannot resolve that way (a struct, a type made by a macro), asks
 * the device for its size once (clv__probe_size). */

/* Copy src into dst[cap] (cut to fit; always terminated). */
static inline void clv__copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Size in bytes of an OpenCL C builtin scalar or vector type such as "int"
 * or "float4" (0: not one); *scalar gets the scalar's name. */
static inline size_t clv__builtin_size(const char *t, char scalar[8])
{
    static const char *const names[] = { "char", "uchar", "short", "ushort", "int", "uint",
                                         "long", "ulong", "float", "double", "half" };
    static const unsigned char sizes[] = { 1, 1, 2, 2, 4, 4, 8, 8, 4, 8, 2 };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
        size_t n = strlen(names[i]);
        if (strncmp(t, names[i], n) != 0) continue;
        const char *w = t + n;
        size_t lanes = 0;
        if (*w == '\0') lanes = 1;
        else if (!strcmp(w, "2")) lanes = 2;
        else if (!strcmp(w, "3") || !strcmp(w, "4")) lanes = 4; /* a 3-vector is stored as 4 */
        else if (!strcmp(w, "8")) lanes = 8;
        else if (!strcmp(w, "16")) lanes = 16;
        if (!lanes) continue; /* e.g. "int" is a prefix of "int5_t": not this one */
        if (scalar) clv__copy_name(scalar, 8, names[i]);
        return lanes * sizes[i];
    }
    return 0;
}

static inline int clv__is_ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* The next token of C source at *s: an identifier or one punctuation
 * character; comments, string and character literals and preprocessor
 * lines are skipped. Returns its length (0 at the end). */
static inline size_t clv__next_token(const char **s, const char **tok)
{
    const char *p = *s;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v') ++p;
        if (p[0] == '/' && p[1] == '/') { while (*p && *p != '\n') ++p; continue; }
        if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e ? e + 2 : p + strlen(p);
            continue;
        }
        if (*p == '#') { /* a directive, with its continuation lines */
            while (*p && *p != '\n') p += (p[0] == '\\' && p[1] == '\n') ? 2 : 1;
            continue;
        }
        if (*p == '"' || *p == '\'') {
            char q = *p++;
            while (*p && *p != q) p += (p[0] == '\\' && p[1]) ? 2 : 1;
            if (*p) ++p;
            continue;
        }
        break;
    }
    *tok = p;
    size_t n = 0;
    while (clv__is_ident_char(p[n])) ++n;
    if (n == 0 && *p) n = 1;
    *s = p + n;
    return n;
}

/* What one typedef'd name stands for: a builtin type, or "" when the
 * library cannot tell from the source (then size is probed on demand). */
typedef struct clv__typedef {
    char name[64];
    char builtin[16];       /* e.g. "double", "float4" */
    size_t size;            /* bytes; 0: not known (yet) */
    int probed;             /* the device was asked (size stays 0 if it could not say) */
} clv__typedef;

typedef struct clv__type_table {
    clv__typedef *entries;
    int count, capacity;
} clv__type_table;

static inline clv__typedef *clv__type_find(const clv__type_table *t, const char *name)
{
    for (int i = t->count - 1; i >= 0; --i) /* the latest definition wins */
        if (strcmp(t->entries[i].name, name) == 0) return &t->entries[i];
    return NULL;
}

/* Add name = builtin ("" unknown). Returns 0 when host memory ran out. */
static inline int clv__type_add(clv__type_table *t, const char *name, size_t name_len, const char *builtin)
{
    if (name_len == 0 || name_len >= sizeof t->entries[0].name) return 1; /* too long to be reported: ignore */
    if (t->count == t->capacity) {
        int cap = t->capacity ? 2 * t->capacity : 16;
        clv__typedef *grown = (clv__typedef *)CLV_REALLOC(t->entries, (size_t)cap * sizeof *grown);
        if (!grown) return 0;
        t->entries = grown;
        t->capacity = cap;
    }
    clv__typedef *e = &t->entries[t->count++];
    memset(e, 0, sizeof *e);
    memcpy(e->name, name, name_len);
    e->size = clv__builtin_size(builtin, NULL);
    if (e->size) clv__copy_name(e->builtin, sizeof e->builtin, builtin);
    return 1;
}

/* The builtin a typedef's type words name ("unsigned int" -> "uint", a
 * typedef of a typedef -> its builtin), or "" when it is none. */
static inline void clv__type_words(const clv__type_table *t, const char *const *words, const size_t *lens,
                                   int n, char out[16])
{
    char base[64] = "";
    int is_unsigned = 0, n_base = 0;
    out[0] = '\0';
    for (int i = 0; i < n; ++i) {
        if (lens[i] == 5 && !strncmp(words[i], "const", 5)) continue;
        if (lens[i] == 8 && !strncmp(words[i], "volatile", 8)) continue;
        if (lens[i] == 6 && !strncmp(words[i], "signed", 6)) continue;
        if (lens[i] == 8 && !strncmp(words[i], "unsigned", 8)) { is_unsigned = 1; continue; }
        if (++n_base > 1 || lens[i] >= sizeof base) return; /* "long long" and friends: not OpenCL C */
        memcpy(base, words[i], lens[i]);
        base[lens[i]] = '\0';
    }
    if (!n_base) snprintf(base, sizeof base, "int"); /* plain "unsigned" */
    if (is_unsigned) {
        char u[80];
        snprintf(u, sizeof u, "u%s", base);
        if (!strcmp(base, "char") || !strcmp(base, "short") || !strcmp(base, "int") || !strcmp(base, "long"))
            clv__copy_name(out, 16, u);
        return;
    }
    if (clv__builtin_size(base, NULL)) {
        clv__copy_name(out, 16, base);
        return;
    }
    const clv__typedef *e = clv__type_find(t, base);
    if (e) clv__copy_name(out, 16, e->builtin);
}

/* Read the file-scope typedefs of source into t. Typedefs of structs,
 * pointers, arrays, and of names the source does not define (macros) are
 * recorded with an unknown builtin. Returns 0 when host memory ran out. */
static inline int clv__scan_typedefs(clv__type_table *t, const char *source)
{
    const char *s = source, *tok;
    size_t n;
    int depth = 0;
    while ((n = clv__next_token(&s, &tok)) != 0) {
        if (n == 1 && (*tok == '{' || *tok == '(')) ++depth;
        else if (n == 1 && (*tok == '}' || *tok == ')')) depth -= depth > 0;
        if (depth != 0 || n != 7 || strncmp(tok, "typedef", 7) != 0) continue;
        const char *words[16];
        size_t lens[16];
        int n_words = 0, plain = 1, inner = 0;
        while ((n = clv__next_token(&s, &tok)) != 0 && !(inner == 0 && n == 1 && *tok == ';')) {
            if (n == 1 && (*tok == '{' || *tok == '(' || *tok == '[')) ++inner, plain = 0;
            else if (n == 1 && (*tok == '}' || *tok == ')' || *tok == ']')) inner -= inner > 0;
            else if (n == 1 && !clv__is_ident_char(*tok)) plain = 0; /* '*', ',' */
            else if (inner == 0 && n_words < 16) words[n_words] = tok, lens[n_words++] = n;
        }
        if (n_words == 0) continue;
        char builtin[16] = "";
        if (plain) clv__type_words(t, words, lens, n_words - 1, builtin);
        if (!clv__type_add(t, words[n_words - 1], lens[n_words - 1], builtin)) return 0;
    }
    return 1;
}

/* What one argument looks like in the kernel, as far as the driver says,
 * and what the library makes of its type name. */
typedef struct clv__param {
    int known;                  /* 0: the driver gave no argument info */
    cl_kernel_arg_address_qualifier address;
    cl_kernel_arg_type_qualifier qualifier;
    char type[64];              /* "float*", "int", "struct pair*" ... as spelt */
    char name[64];
    char builtin[16];           /* the builtin the type (a pointer's pointee) stands for, "" unknown */
    size_t size;                /* its size in bytes; 0 unknown (see clv__param_size) */
} clv__param;

typedef struct clv__kernel {
    char *name;
    cl_kernel *per_device;  /* one per mesh device */
    cl_uint n_args;
    clv__param *params;     /* n_args, from the first device that works */
    size_t static_local;    /* __local bytes the kernel declares itself (most over devices) */
    size_t group_max;       /* work items per group every device runs it with (0: no limit known) */
    size_t group_multiple;  /* CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE (first device) */
} clv__kernel;

struct clv_program {
    clv_mesh *mesh;
    cl_program *per_device;
    clv_dtype real;
    clv__kernel *kernels;   /* created on first use, kept until free */
    int n_kernels;
    clv__type_table types;  /* the source's typedefs (argument checks) */
    char *text;             /* library lines and source, for size probes */
    char *options;          /* the compiler options it was built with */
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
        cl_device_id devices[CLV__MAX_DEVICES];
        cl_uint n_devices = 0;
        char pname[128] = "", pvendor[128] = "", psuffix[32] = "";
        clGetPlatformInfo(platforms[p], CL_PLATFORM_NAME, sizeof pname - 1, pname, NULL);
        clGetPlatformInfo(platforms[p], CL_PLATFORM_VENDOR, sizeof pvendor - 1, pvendor, NULL);
        if (clGetPlatformInfo(platforms[p], CLV__PLATFORM_ICD_SUFFIX_KHR, sizeof psuffix - 1, psuffix, NULL) !=
            CL_SUCCESS)
            psuffix[0] = '\0';
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, CLV__MAX_DEVICES, devices, &n_devices) != CL_SUCCESS)
            continue;
        if (n_devices > CLV__MAX_DEVICES) n_devices = CLV__MAX_DEVICES;
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
    int index[CLV__MAX_DEVICES];
    int parts[CLV__MAX_DEVICES];
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
    clv__found found[CLV__MAX_DEVICES];
    int n = clv__enumerate(found, CLV__MAX_DEVICES);
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
    clv__found found[CLV__MAX_DEVICES];
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
    int n_found = clv__enumerate(found, CLV__MAX_DEVICES);
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
    if (n_devices > CLV__MAX_DEVICES) /* maps track devices in 64-bit masks, splits in fixed tables */
        return clv__fail(m, CLV_ERROR_DEVICE_SPEC, "%zu devices asked for: a mesh has at most %d", n_devices,
                         CLV__MAX_DEVICES);
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
        if (d->transfer_queue && sub_device) clv__drain_queue(d->transfer_queue);
        if (d->transfer_queue) clReleaseCommandQueue(d->transfer_queue);
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
    double w[CLV__MAX_DEVICES], total = 0, cumulative = 0;
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
        "/* Global index of this work item's batch item: the same whatever the split.\n",
        " * Launches start at global id 0 and carry their first item in\n",
        " * clv__chunk_first: some runtimes (Intel's CPU runtime) mishandle global\n",
        " * offsets of 2^31 and more, and PoCL compiles a kernel again for every\n",
        " * non-zero offset. */\n",
        "#define clv_item()                                                  \\\n",
        "    (clv__chunk_first + (ulong)(clv__group_per_item \? get_group_id(0) : get_global_id(0)))\n",
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
        "\n",
        "/* ---- cooperative work groups ---------------------------------------------\n",
        " * With clv_map_opts.shape = CLV_ITEM_PER_GROUP one work group runs one\n",
        " * batch item, and all its work items can share the item's work: each takes\n",
        " * a share of a loop (CLV_GROUP_BLOCK: a contiguous block, for CPUs;\n",
        " * CLV_GROUP_FOR: interleaved, for GPUs) and the group combines the shares\n",
        " * (clv_group_sum and friends). Rules:\n",
        " *   - every work item of the group calls each clv_group_* function, the\n",
        " *     same number of times (they hold barriers): no early return before;\n",
        " *   - tmp is a __local buffer of at least clv_lanes() values of the type\n",
        " *     (clv_lanes() x n for the _n forms), e.g. a clv_local_mem(L *\n",
        " *     sizeof(double)) argument (clv_map_local_size tells the host L),\n",
        " *     reusable from one call to the next;\n",
        " *   - the result is the same on every work item of the group.\n",
        " * Order: the lanes' values are added in lane order, 0, 1, ..., L-1. For\n",
        " * one value every lane adds them itself after one barrier (L additions a\n",
        " * lane); for the _n forms lane k % L adds value k's row and leaves the sum\n",
        " * in tmp for the others, so the group makes L additions per value, not L\n",
        " * on every lane (L x L per value, which made a 20-value gradient's sum\n",
        " * cost more than the 10^4 observations it summed). One value done the _n\n",
        " * way (lane 0 adds, the others wait) would be cheaper still, but PoCL 3.1\n",
        " * miscompiles it in the NUTS kernels (wrong sums with an if (lane == 0),\n",
        " * a crash of its compiler with a one-trip loop) where oclgrind and Intel's\n",
        " * runtime find nothing wrong. No barrier sits in a loop (compilers that\n",
        " * turn a work group into loops, as PoCL does, handle that quickly). The\n",
        " * order depends on the local size only, never on the chunk, the device\n",
        " * split or the number of groups, so cooperative kernels keep partition\n",
        " * invariance; two different local sizes may round differently. */\n",
        "\n",
        "/* 1 where every device of the mesh runs a group's lanes one after another\n",
        " * (PoCL's CPU devices; the library passes -DCLV_LANES_IN_TURN to every\n",
        " * build), 0 where they run side by side (vectorised across the lanes:\n",
        " * Intel's CPU runtime, GPUs, oclgrind). One value for the whole mesh, so\n",
        " * code that chooses its form by it keeps partition invariance. */\n",
        "#ifndef CLV_LANES_IN_TURN\n",
        "#define CLV_LANES_IN_TURN 0\n",
        "#endif\n",
        "\n",
        "/* This work item's lane in the group (0 .. clv_lanes()-1) and the count. */\n",
        "#define clv_lane() get_local_id(0)\n",
        "#define clv_lanes() get_local_size(0)\n",
        "/* for (i = lane; i < n; i += lanes): this lane's share of 0 .. n-1,\n",
        " * interleaved. Neighbouring lanes touch neighbouring i at the same time:\n",
        " * the coalesced form on a GPU when element i sits next to element i + 1. */\n",
        "#define CLV_GROUP_FOR(i, n) for (size_t i = clv_lane(); i < (size_t)(n); i += clv_lanes())\n",
        "/* This lane's share of 0 .. n-1 as one contiguous block: lane l takes\n",
        " * [l q, min((l + 1) q, n)), q = ceil(n / lanes). The form for CPU runtimes:\n",
        " * PoCL runs a group's lanes one after another, so the interleaved form\n",
        " * walks all the data once per lane (L passes over memory), the block form\n",
        " * once in all; Intel's runtime, which vectorises across the lanes, also\n",
        " * reads blocks faster (4x at 10^5 x 20 doubles; see the README). */\n",
        "#define CLV__GROUP_BLOCK_LEN(n) (((size_t)(n) + clv_lanes() - 1) / clv_lanes())\n",
        "#define CLV_GROUP_BLOCK(i, n)                                                  \\\n",
        "    for (size_t i = clv_lane() * CLV__GROUP_BLOCK_LEN(n),                      \\\n",
        "                i##_end = min(i + CLV__GROUP_BLOCK_LEN(n), (size_t)(n));       \\\n",
        "         i < i##_end; ++i)\n",
        "\n",
        "#define CLV__GROUP_REDUCE(NAME, T, COMBINE)                                  \\\n",
        "inline T NAME(T v, __local T *tmp)                                          \\\n",
        "{                                                                            \\\n",
        "    volatile __local const T *all = tmp; /* read in lane order (see _N) */   \\\n",
        "    tmp[clv_lane()] = v;                                                     \\\n",
        "    barrier(CLK_LOCAL_MEM_FENCE);                                            \\\n",
        "    T r = all[0];                                                            \\\n",
        "    for (size_t l = 1; l < clv_lanes(); ++l) r = COMBINE(r, all[l]);         \\\n",
        "    barrier(CLK_LOCAL_MEM_FENCE); /* tmp may be reused at once */            \\\n",
        "    return r;                                                                \\\n",
        "}\n",
        "\n",
        "/* A table of lanes x n values in __local memory: value k of this lane.\n",
        " * The layout of the _n sums' tmp; as accumulators it keeps a long private\n",
        " * array out of registers (see clv_group_sum_table). */\n",
        "#define CLV_LANE_SLOT(tmp, k) (tmp)[(size_t)(k) * clv_lanes() + clv_lane()]\n",
        "\n",
        "/* Row k of the table (lane k % lanes adds it): the sum of its lanes'\n",
        " * values in lane order. volatile: read in order (Intel's vectorizer\n",
        " * otherwise regroups the additions and breaks the lane order). */\n",
        "#define CLV__TABLE_ROW_SUM(T, tmp, k, lanes, r)                              \\\n",
        "    do {                                                                     \\\n",
        "        volatile __local T *row_ = (tmp) + (k) * (lanes);                    \\\n",
        "        r = row_[0];                                                         \\\n",
        "        for (size_t l_ = 1; l_ < (lanes); ++l_) r += row_[l_];               \\\n",
        "    } while (0)\n",
        "\n",
        "/* v[0..n-1] (private, each lane its own) become the sums over the lanes:\n",
        " * one reduction for a whole vector (a gradient's shares, say); tmp holds\n",
        " * clv_lanes() x n values, value k of lane l at k x lanes + l, and lane\n",
        " * k % lanes sums row k. */\n",
        "#define CLV__GROUP_SUM_N(NAME, T)                                            \\\n",
        "inline void NAME(T *v, int n, __local T *tmp)                               \\\n",
        "{                                                                            \\\n",
        "    const size_t lanes = clv_lanes();                                        \\\n",
        "    for (int k = 0; k < n; ++k) CLV_LANE_SLOT(tmp, k) = v[k];               \\\n",
        "    barrier(CLK_LOCAL_MEM_FENCE);                                            \\\n",
        "    for (size_t k = clv_lane(); k < (size_t)n; k += lanes) {                 \\\n",
        "        T r;                                                                 \\\n",
        "        CLV__TABLE_ROW_SUM(T, tmp, k, lanes, r);                             \\\n",
        "        tmp[k * lanes] = r;                                                  \\\n",
        "    }                                                                        \\\n",
        "    barrier(CLK_LOCAL_MEM_FENCE);                                            \\\n",
        "    for (int k = 0; k < n; ++k) v[k] = tmp[(size_t)k * lanes];              \\\n",
        "    barrier(CLK_LOCAL_MEM_FENCE); /* tmp may be reused at once */            \\\n",
        "}\n",
        "\n",
        "/* The same sums when the shares already sit in the table (each lane\n",
        " * accumulated into CLV_LANE_SLOT(tmp, k) itself): out[k] = the sum of\n",
        " * row k, in lane order, so the same bits as clv_group_sum_n over the\n",
        " * same shares. Lane k % lanes writes out[k]; another lane sees it after a\n",
        " * barrier(CLK_GLOBAL_MEM_FENCE). tmp is free again on return. Why a table:\n",
        " * a runtime that vectorises across the lanes (Intel's CPU runtime, GPUs)\n",
        " * holds a private array as one vector register per element, and beyond\n",
        " * about 32 elements it spills them; cooperative logistic NUTS at d = 100\n",
        " * (10^4 rows, 500 + 500 iterations) took 58.5 s with private shares and\n",
        " * 41.1 s with the table on Intel's runtime (README). Where lanes run in\n",
        " * turn (CLV_LANES_IN_TURN: PoCL's CPU devices) private shares stay the\n",
        " * faster form. */\n",
        "#define CLV__GROUP_SUM_TABLE(NAME, T)                                        \\\n",
        "inline void NAME(__local T *tmp, int n, __global T *out)                    \\\n",
        "{                                                                            \\\n",
        "    const size_t lanes = clv_lanes();                                        \\\n",
        "    barrier(CLK_LOCAL_MEM_FENCE);                                            \\\n",
        "    for (size_t k = clv_lane(); k < (size_t)n; k += lanes) {                 \\\n",
        "        T r;                                                                 \\\n",
        "        CLV__TABLE_ROW_SUM(T, tmp, k, lanes, r);                             \\\n",
        "        out[k] = r;                                                          \\\n",
        "    }                                                                        \\\n",
        "    barrier(CLK_LOCAL_MEM_FENCE); /* tmp may be reused at once */            \\\n",
        "}\n",
        "\n",
        "/* Lane 0's value, on every lane. */\n",
        "#define CLV__GROUP_BROADCAST(NAME, T)                                        \\\n",
        "inline T NAME(T v, __local T *tmp)                                          \\\n",
        "{                                                                            \\\n",
        "    if (clv_lane() == 0) tmp[0] = v;                                         \\\n",
        "    barrier(CLK_LOCAL_MEM_FENCE);                                            \\\n",
        "    const T r = tmp[0];                                                      \\\n",
        "    barrier(CLK_LOCAL_MEM_FENCE);                                            \\\n",
        "    return r;                                                                \\\n",
        "}\n",
        "\n",
        "/* log(sum(exp(v))) over the lanes; -inf when every lane has -inf. */\n",
        "#define CLV__GROUP_LOGSUMEXP(NAME, T, MAX, SUM)                              \\\n",
        "inline T NAME(T v, __local T *tmp)                                          \\\n",
        "{                                                                            \\\n",
        "    const T top = MAX(v, tmp);                                               \\\n",
        "    const T s = SUM(isinf(top) \? (T)0 : exp(v - top), tmp);                 \\\n",
        "    return isinf(top) \? top : top + log(s);                                  \\\n",
        "}\n",
        "\n",
        "#define CLV__ADD(a, b) ((a) + (b))\n",
        "CLV__GROUP_REDUCE(clv_group_sum_f32, float, CLV__ADD)\n",
        "CLV__GROUP_REDUCE(clv_group_max_f32, float, fmax)\n",
        "CLV__GROUP_SUM_N(clv_group_sum_n_f32, float)\n",
        "CLV__GROUP_SUM_TABLE(clv_group_sum_table_f32, float)\n",
        "CLV__GROUP_BROADCAST(clv_group_broadcast_f32, float)\n",
        "CLV__GROUP_LOGSUMEXP(clv_group_logsumexp_f32, float, clv_group_max_f32, clv_group_sum_f32)\n",
        "\n",
        "#ifdef CLV_FP64\n",
        "CLV__GROUP_REDUCE(clv_group_sum_f64, double, CLV__ADD)\n",
        "CLV__GROUP_REDUCE(clv_group_max_f64, double, fmax)\n",
        "CLV__GROUP_SUM_N(clv_group_sum_n_f64, double)\n",
        "CLV__GROUP_SUM_TABLE(clv_group_sum_table_f64, double)\n",
        "CLV__GROUP_BROADCAST(clv_group_broadcast_f64, double)\n",
        "CLV__GROUP_LOGSUMEXP(clv_group_logsumexp_f64, double, clv_group_max_f64, clv_group_sum_f64)\n",
        "#endif\n",
        "\n",
        "/* The same for clv_real. */\n",
        "#ifdef CLV_REAL_F64\n",
        "#define clv_group_sum(v, tmp) clv_group_sum_f64((v), (tmp))\n",
        "#define clv_group_sum_n(v, n, tmp) clv_group_sum_n_f64((v), (n), (tmp))\n",
        "#define clv_group_sum_table(tmp, n, out) clv_group_sum_table_f64((tmp), (n), (out))\n",
        "#define clv_group_max(v, tmp) clv_group_max_f64((v), (tmp))\n",
        "#define clv_group_logsumexp(v, tmp) clv_group_logsumexp_f64((v), (tmp))\n",
        "#define clv_group_broadcast(v, tmp) clv_group_broadcast_f64((v), (tmp))\n",
        "#else\n",
        "#define clv_group_sum(v, tmp) clv_group_sum_f32((v), (tmp))\n",
        "#define clv_group_sum_n(v, n, tmp) clv_group_sum_n_f32((v), (n), (tmp))\n",
        "#define clv_group_sum_table(tmp, n, out) clv_group_sum_table_f32((tmp), (n), (out))\n",
        "#define clv_group_max(v, tmp) clv_group_max_f32((v), (tmp))\n",
        "#define clv_group_logsumexp(v, tmp) clv_group_logsumexp_f32((v), (tmp))\n",
        "#define clv_group_broadcast(v, tmp) clv_group_broadcast_f32((v), (tmp))\n",
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

static inline void clv__kernel_release(clv_mesh *m, clv__kernel *k)
{
    for (int i = 0; k->per_device && i < m->n_devices; ++i)
        if (k->per_device[i]) clReleaseKernel(k->per_device[i]);
    CLV_FREE(k->per_device);
    CLV_FREE(k->name);
    CLV_FREE(k->params);
}

static inline void clv_program_free(clv_program *p)
{
    if (!p) return;
    for (int k = 0; k < p->n_kernels; ++k) clv__kernel_release(p->mesh, &p->kernels[k]);
    CLV_FREE(p->kernels);
    for (int i = 0; p->per_device && i < p->mesh->n_devices; ++i)
        if (p->per_device[i]) clReleaseProgram(p->per_device[i]);
    CLV_FREE(p->per_device);
    CLV_FREE(p->types.entries);
    CLV_FREE(p->text);
    CLV_FREE(p->options);
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

/* Keep what argument checks and size probes need: the options, the text
 * after the prelude, and the typedefs read from it (clv_real and its
 * vectors are known from the build). Returns 0 when host memory ran out. */
static inline int clv__keep_text(clv_program *p, const clv_program_desc *desc, const char *options)
{
    size_t bytes = strlen(desc->source) + 2;
    for (size_t i = 0; i < desc->n_library_lines; ++i) bytes += strlen(desc->library_lines[i]) + 1;
    p->options = clv__strdup(options);
    p->text = (char *)CLV_MALLOC(bytes);
    if (!p->options || !p->text) return 0;
    char *at = p->text;
    for (size_t i = 0; i < desc->n_library_lines; ++i) {
        size_t n = strlen(desc->library_lines[i]);
        memcpy(at, desc->library_lines[i], n);
        at += n;
        *at++ = '\n';
    }
    memcpy(at, desc->source, strlen(desc->source) + 1);
    static const char *const real_names[] = { "clv_real", "clv_real2", "clv_real4", "clv_real8", "clv_real16" };
    static const char *const lanes[] = { "", "2", "4", "8", "16" };
    for (int i = 0; i < 5; ++i) {
        char builtin[16];
        snprintf(builtin, sizeof builtin, "%s%s", p->real == CLV_F64 ? "double" : "float", lanes[i]);
        if (!clv__type_add(&p->types, real_names[i], strlen(real_names[i]), builtin)) return 0;
    }
    return clv__scan_typedefs(&p->types, p->text);
}

/* A device whose runtime runs a work group's work items one after another
 * on one core: PoCL's CPU devices turn a group into loops over its work
 * items between barriers (and vectorise those loops only sometimes). The
 * lanes of a cooperative item buy no parallelism there, only per-lane
 * work: cooperative logistic NUTS (10^4 x 20) took 1.86 s at 64 lanes,
 * 1.58 s at 8 and 1.56 s at 4, the one-work-item form 1.58 s (README). */
static inline int clv__runs_lanes_in_turn(const clv__device *d)
{
    cl_device_type type = 0;
    if (clGetDeviceInfo(d->id, CL_DEVICE_TYPE, sizeof type, &type, NULL) != CL_SUCCESS) return 0;
    return (type & CL_DEVICE_TYPE_CPU) && strstr(d->info.platform, "Portable Computing Language") != NULL;
}

/* Every live device of the mesh runs lanes in turn (see above). */
static inline int clv__mesh_runs_lanes_in_turn(const clv_mesh *m)
{
    int any = 0;
    for (int d = 0; d < m->n_devices; ++d)
        if (clv__alive(m, d)) {
            if (!clv__runs_lanes_in_turn(&m->devices[d])) return 0;
            any = 1;
        }
    return any;
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
    if (desc->n_library_lines > ((size_t)1 << 24)) /* no library is that long */
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_program_desc: n_library_lines %zu is more than "
                         "2^24", desc->n_library_lines);
    for (size_t i = 0; i < desc->n_library_lines; ++i)
        if (!desc->library_lines[i])
            return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_program_desc: library_lines[%zu] is NULL (of %zu "
                             "lines)", i, desc->n_library_lines);
    int w = snprintf(options, sizeof options,
                     "-cl-std=CL1.2 -cl-kernel-arg-info -DCLV_REAL=%s%s%s -DCLV_LANES_IN_TURN=%d %s",
                     desc->real == CLV_F64 ? "double" : "float", fp64 ? " -DCLV_FP64" : "",
                     p->real == CLV_F64 ? " -DCLV_REAL_F64" : "", clv__mesh_runs_lanes_in_turn(m),
                     desc->options ? desc->options : "");
    if (w < 0 || (size_t)w >= sizeof options)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "compiler options longer than %d characters",
                         (int)sizeof options - 200);
    const char **sources = clv__program_sources(desc, library_line, user_line, &n_sources);
    if (!sources || !clv__keep_text(p, desc, options)) {
        CLV_FREE((void *)sources);
        return clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    }
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

/* The driver's view of parameter `index`, and the builtin its type names
 * (from the program's typedefs; a struct stays unknown here). */
static inline void clv__param_info(const clv_program *p, cl_kernel k, cl_uint index, clv__param *out)
{
    char raw[64] = "";
    size_t j = 0, i = 0;
    memset(out, 0, sizeof *out);
    if (clGetKernelArgInfo(k, index, CL_KERNEL_ARG_ADDRESS_QUALIFIER, sizeof out->address, &out->address,
                           NULL) != CL_SUCCESS)
        return;
    clGetKernelArgInfo(k, index, CL_KERNEL_ARG_TYPE_QUALIFIER, sizeof out->qualifier, &out->qualifier, NULL);
    clGetKernelArgInfo(k, index, CL_KERNEL_ARG_TYPE_NAME, sizeof raw - 1, raw, NULL);
    clGetKernelArgInfo(k, index, CL_KERNEL_ARG_NAME, sizeof out->name - 1, out->name, NULL);
    if (!strncmp(raw, "struct ", 7) || !strncmp(raw, "union ", 6)) /* keep the keyword's space */
        for (; raw[i] != ' '; ++i) out->type[j++] = raw[i];
    for (; raw[i] && j < sizeof out->type - 1; ++i)
        if (raw[i] != ' ') out->type[j++] = raw[i];
    out->type[j] = '\0';
    out->known = 1;
    char base[64];
    clv__copy_name(base, sizeof base, out->type);
    if (j && base[j - 1] == '*') base[j - 1] = '\0';
    out->size = clv__builtin_size(base, NULL);
    const clv__typedef *e = out->size ? NULL : clv__type_find(&p->types, base);
    if (out->size) clv__copy_name(out->builtin, sizeof out->builtin, base);
    else if (e && e->builtin[0]) clv__copy_name(out->builtin, sizeof out->builtin, e->builtin), out->size = e->size;
    else if (e) out->size = e->size; /* probed before, or 0 */
}

/* sizeof(type) on the device, for a type the library cannot resolve from
 * the source: the program's sources are built once more on one device with
 * a kernel whose required work-group size is sizeof(type), which the
 * driver reports without running anything. 0 when it cannot say. */
static inline size_t clv__probe_size(const clv_program *p, const char *type)
{
    clv_mesh *m = p->mesh;
    int d = clv__first_alive(m);
    for (const char *c = type; *c; ++c)
        if (!clv__is_ident_char(*c) && *c != ' ') return 0; /* only names reach the compiler */
    if (d < 0 || !p->text || strlen(type) > 64) return 0;
    size_t n_prelude, size[3] = { 0, 0, 0 };
    const char *const *prelude = clv_prelude_lines(&n_prelude);
    const char **src = (const char **)clv__calloc(n_prelude + 2, sizeof *src);
    char probe[200];
    snprintf(probe, sizeof probe, "\n__kernel __attribute__((reqd_work_group_size(sizeof(%s), 1, 1))) "
             "void clv__size_probe(void) {}\n", type);
    if (!src) return 0;
    for (size_t i = 0; i < n_prelude; ++i) src[i] = prelude[i];
    src[n_prelude] = p->text;
    src[n_prelude + 1] = probe;
    cl_int err = CL_SUCCESS;
    cl_program prog = clCreateProgramWithSource(m->devices[d].context, (cl_uint)(n_prelude + 2), src, NULL, &err);
    cl_kernel k = NULL;
    if (prog && clBuildProgram(prog, 1, &m->devices[d].id, p->options, NULL, NULL) == CL_SUCCESS)
        k = clCreateKernel(prog, "clv__size_probe", &err);
    if (k) clGetKernelWorkGroupInfo(k, m->devices[d].id, CL_KERNEL_COMPILE_WORK_GROUP_SIZE, sizeof size, size, NULL);
    if (k) clReleaseKernel(k);
    if (prog) clReleaseProgram(prog);
    CLV_FREE((void *)src);
    return size[0];
}

/* The size of a parameter's type (a pointer's pointee), probing the
 * device once per type name for what the source does not tell. */
static inline size_t clv__param_size(clv_program *p, clv__param *pi)
{
    if (pi->size || !pi->known) return pi->size;
    char base[64];
    size_t n = strlen(pi->type);
    clv__copy_name(base, sizeof base, pi->type);
    if (n && base[n - 1] == '*') base[n - 1] = '\0';
    clv__typedef *e = clv__type_find(&p->types, base);
    if (!e && clv__type_add(&p->types, base, strlen(base), "")) e = clv__type_find(&p->types, base);
    if (!e) return 0;
    if (!e->probed) e->size = clv__probe_size(p, base), e->probed = 1;
    pi->size = e->size;
    return pi->size;
}

/* "float*" -> "float", "clv_real*" (double program) -> "double (clv_real)". */
static inline const char *clv__describe_type(const clv__param *pi, char *out, size_t size)
{
    char base[64];
    size_t n = strlen(pi->type);
    clv__copy_name(base, sizeof base, pi->type);
    if (n && base[n - 1] == '*') base[n - 1] = '\0';
    if (pi->builtin[0] && strcmp(pi->builtin, base)) snprintf(out, size, "%s (%s)", pi->type, pi->builtin);
    else snprintf(out, size, "%s", pi->type);
    return out;
}

/* CLV_ERROR_UNKNOWN_KERNEL listing the program's kernels (as many as the
 * message holds). */
static inline clv_status clv__fail_unknown_kernel(clv_program *p, int device, const char *name)
{
    clv_mesh *m = p->mesh;
    size_t size = 0;
    cl_int err = clGetProgramInfo(p->per_device[device], CL_PROGRAM_KERNEL_NAMES, 0, NULL, &size);
    char *names = err == CL_SUCCESS ? (char *)CLV_MALLOC(size + 1) : NULL;
    if (names) err = clGetProgramInfo(p->per_device[device], CL_PROGRAM_KERNEL_NAMES, size, names, NULL);
    if (names && err == CL_SUCCESS) names[size] = '\0';
    clv_status st;
    if (names && err == CL_SUCCESS)
        st = clv__fail(m, CLV_ERROR_UNKNOWN_KERNEL, "no kernel named \"%s\" in the program (it has: %s)", name, names);
    else
        st = clv__fail(m, CLV_ERROR_UNKNOWN_KERNEL, "no kernel named \"%s\" in the program (its kernel names "
                       "could not be read: %s)", name, names ? clv__cl_error_name(err) : "out of host memory");
    CLV_FREE(names);
    size_t used = strlen(m->message);
    if (used == sizeof m->message - 1) memcpy(m->message + used - 4, " ...", 4); /* cut: say so */
    return st;
}

/* What the argument checks need, read once per kernel: each parameter as
 * the first working device reports it, and the __local bytes the kernel
 * declares itself (the most over the devices). */
static inline cl_int clv__kernel_describe(clv_program *p, clv__kernel *k, int ref)
{
    clv_mesh *m = p->mesh;
    cl_int err = clGetKernelInfo(k->per_device[ref], CL_KERNEL_NUM_ARGS, sizeof k->n_args, &k->n_args, NULL);
    if (err != CL_SUCCESS) return err;
    k->params = (clv__param *)clv__calloc(k->n_args ? k->n_args : 1, sizeof *k->params);
    if (!k->params) return CL_OUT_OF_HOST_MEMORY;
    for (cl_uint i = 0; i < k->n_args; ++i) clv__param_info(p, k->per_device[ref], i, &k->params[i]);
    for (int d = 0; d < m->n_devices; ++d) {
        cl_ulong local = 0;
        size_t most = 0;
        if (!k->per_device[d]) continue;
        if (clGetKernelWorkGroupInfo(k->per_device[d], m->devices[d].id, CL_KERNEL_LOCAL_MEM_SIZE, sizeof local,
                                     &local, NULL) == CL_SUCCESS && local > k->static_local)
            k->static_local = (size_t)local;
        if (clGetKernelWorkGroupInfo(k->per_device[d], m->devices[d].id, CL_KERNEL_WORK_GROUP_SIZE, sizeof most,
                                     &most, NULL) != CL_SUCCESS || most == 0)
            most = m->devices[d].info.max_work_group_size;
        if (m->devices[d].info.max_work_group_size && most > m->devices[d].info.max_work_group_size)
            most = m->devices[d].info.max_work_group_size;
        if (most && (k->group_max == 0 || most < k->group_max)) k->group_max = most;
    }
    clGetKernelWorkGroupInfo(k->per_device[ref], m->devices[ref].id, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE,
                             sizeof k->group_multiple, &k->group_multiple, NULL);
    return CL_SUCCESS;
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
        clv__kernel_release(m, &kern);
        return clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    }
    int ref = clv__first_alive(m); /* programs built after a loss skip the lost device */
    for (int i = 0; i < m->n_devices && err == CL_SUCCESS; ++i)
        if (p->per_device[i] && clv__alive(m, i)) kern.per_device[i] = clCreateKernel(p->per_device[i], name, &err);
    if (ref < 0) err = CL_DEVICE_NOT_AVAILABLE;
    if (err == CL_SUCCESS) err = clv__kernel_describe(p, &kern, ref);
    if (err != CL_SUCCESS) {
        clv__kernel_release(m, &kern);
        if (err == CL_INVALID_KERNEL_NAME) return clv__fail_unknown_kernel(p, ref, name);
        return clv__fail_cl(m, "clCreateKernel", err, ref);
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

/* Whether count items of a fit in one buffer on device d (its
 * CL_DEVICE_MAX_MEM_ALLOC_SIZE and global memory). */
static inline int clv__array_fits(const clv_array *a, int d, size_t count)
{
    const clv_device_info *info = &a->mesh->devices[d].info;
    uint64_t bytes = (uint64_t)count * clv__item_bytes(a);
    return (!info->max_alloc_bytes || bytes <= info->max_alloc_bytes) &&
           (!info->global_mem_bytes || bytes <= info->global_mem_bytes);
}

static inline clv_status clv__fail_too_big(const clv_array *a, int d, size_t count)
{
    const clv_device_info *info = &a->mesh->devices[d].info;
    return clv__fail(a->mesh, CLV_ERROR_OUT_OF_MEMORY, "array too large: device %d (%s) would hold %zu items of "
                     "%zu bytes = %llu bytes of the array in one buffer, but it allocates at most %llu bytes at "
                     "once (global memory %llu): use more devices, fewer items per array (run the batch in parts "
                     "with clv_map_opts.item_offset), or a smaller dtype", d, info->name, count, clv__item_bytes(a),
                     (unsigned long long)count * clv__item_bytes(a), (unsigned long long)info->max_alloc_bytes,
                     (unsigned long long)info->global_mem_bytes);
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
        buffers[i] = clv__array_fits(a, i, count[i]) ? clv__buffer_create(m, i, CL_MEM_READ_WRITE,
                                                                          count[i] * item_bytes, &err) : NULL;
        if (!buffers[i]) {
            st = err == CL_SUCCESS || err == CL_INVALID_BUFFER_SIZE ? clv__fail_too_big(a, i, count[i])
                                                                    : clv__fail_cl(m, "clCreateBuffer (array)", err, i);
            if (clv__is_alloc_error(err)) st = CLV_ERROR_OUT_OF_MEMORY;
            count[i] = 0;
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
static inline clv_arg clv__host_arg(clv_arg_kind kind, void *data, size_t bytes, clv_dtype dtype, size_t item_elems)
{
    clv_arg a = clv__arg(kind);
    a.host = data;
    a.bytes = bytes;
    a.dtype = dtype;
    a.item_elems = item_elems;
    return a;
}
static inline clv_arg clv_in_host(const void *data, size_t bytes, clv_dtype dtype, size_t item_elems)
{
    return clv__host_arg(CLV_ARG_IN_HOST, (void *)(uintptr_t)data, bytes, dtype, item_elems); /* only read */
}
static inline clv_arg clv_out_host(void *data, size_t bytes, clv_dtype dtype, size_t item_elems)
{
    return clv__host_arg(CLV_ARG_OUT_HOST, data, bytes, dtype, item_elems);
}
static inline clv_arg clv_inout_host(void *data, size_t bytes, clv_dtype dtype, size_t item_elems)
{
    return clv__host_arg(CLV_ARG_INOUT_HOST, data, bytes, dtype, item_elems);
}
static inline int clv__is_host_arg(const clv_arg *a)
{
    return a->kind == CLV_ARG_IN_HOST || a->kind == CLV_ARG_OUT_HOST || a->kind == CLV_ARG_INOUT_HOST;
}
static inline size_t clv__host_item_bytes(const clv_arg *a) { return a->item_elems * clv_dtype_size(a->dtype); }

/* ---- map: checking the call --------------------------------------------- */

static inline clv_status clv__check_array_param(clv_program *p, const char *kernel, int i, const clv_arg *a,
                                                clv__param *pi)
{
    clv_mesh *m = p->mesh;
    char what[96];
    int host = clv__is_host_arg(a); /* streamed host memory is checked as an array would be */
    size_t item_elems = host ? a->item_elems : a->array->item_elems;
    const char *dtype = clv__dtype_cname(host ? a->dtype : a->array->dtype);
    size_t n = strlen(pi->type);
    if (pi->address != CL_KERNEL_ARG_ADDRESS_GLOBAL && pi->address != CL_KERNEL_ARG_ADDRESS_CONSTANT)
        return clv__fail(m, CLV_ERROR_ARGUMENT_TYPE, "kernel \"%s\" argument %d (%s): an array was passed but "
                         "the parameter is not a __global pointer", kernel, i, pi->name);
    if (n == 0 || pi->type[n - 1] != '*')
        return clv__fail(m, CLV_ERROR_ARGUMENT_TYPE, "kernel \"%s\" argument %d (%s): an array was passed but "
                         "the parameter is %s", kernel, i, pi->name, pi->type);
    char scalar[8] = "";
    if (pi->builtin[0]) clv__builtin_size(pi->builtin, scalar);
    if (pi->builtin[0] && strcmp(scalar, dtype) != 0)
        return clv__fail(m, CLV_ERROR_ARGUMENT_TYPE, "kernel \"%s\" argument %d (%s): parameter is %s but the "
                         "array holds %s", kernel, i, pi->name, clv__describe_type(pi, what, sizeof what), dtype);
    size_t item_bytes = host ? clv__host_item_bytes(a) : clv__item_bytes(a->array);
    size_t size = pi->builtin[0] ? 0 : clv__param_size(p, pi);
    if (size && item_bytes % size != 0)
        return clv__fail(m, CLV_ERROR_ARGUMENT_TYPE, "kernel \"%s\" argument %d (%s): parameter points to %.*s "
                         "of %zu bytes, but the array's items are %zu bytes (%zu x %s), not a whole number of them",
                         kernel, i, pi->name, (int)n - 1, pi->type, size, item_bytes, item_elems, dtype);
    if (a->kind != CLV_ARG_IN && a->kind != CLV_ARG_IN_HOST && ((pi->qualifier & CL_KERNEL_ARG_TYPE_CONST) ||
                                  pi->address == CL_KERNEL_ARG_ADDRESS_CONSTANT))
        return clv__fail(m, CLV_ERROR_ARGUMENT_TYPE, "kernel \"%s\" argument %d (%s): passed as output but the "
                         "parameter is const", kernel, i, pi->name);
    return CLV_OK;
}

static inline clv_status clv__check_value_param(clv_program *p, const char *kernel, int i, const clv_arg *a,
                                                clv__param *pi)
{
    clv_mesh *m = p->mesh;
    char what[96];
    if (pi->address != CL_KERNEL_ARG_ADDRESS_PRIVATE)
        return clv__fail(m, CLV_ERROR_ARGUMENT_TYPE, "kernel \"%s\" argument %d (%s): a value was passed but "
                         "the parameter is a pointer (%s)", kernel, i, pi->name, pi->type);
    const char *given = a->kind == CLV_ARG_REAL ? "clv_real" : a->type;
    if (pi->builtin[0]) {
        int ok = a->kind == CLV_ARG_REAL ? !strcmp(pi->builtin, "float") || !strcmp(pi->builtin, "double")
                                         : !strcmp(pi->builtin, a->type);
        if (!ok)
            return clv__fail(m, CLV_ERROR_ARGUMENT_TYPE, "kernel \"%s\" argument %d (%s): parameter is %s but the "
                             "value passed is %s", kernel, i, pi->name, clv__describe_type(pi, what, sizeof what), given);
        return CLV_OK;
    }
    size_t size = clv__param_size(p, pi);
    int ok = size == 0 || (a->kind == CLV_ARG_REAL ? size == 4 || size == 8 : size == a->bytes);
    if (!ok)
        return clv__fail(m, CLV_ERROR_ARGUMENT_TYPE, "kernel \"%s\" argument %d (%s): parameter is %s of %zu "
                         "bytes but the value passed is %s", kernel, i, pi->name, pi->type, size, given);
    return CLV_OK;
}

/* One user argument against the kernel's parameter (first working device's view). */
static inline clv_status clv__check_param(clv_program *p, const char *kernel, int i, const clv_arg *a,
                                          clv__param *pi)
{
    clv_mesh *m = p->mesh;
    if (!pi->known) return CLV_OK;
    switch (a->kind) {
    case CLV_ARG_IN: case CLV_ARG_OUT: case CLV_ARG_INOUT:
    case CLV_ARG_IN_HOST: case CLV_ARG_OUT_HOST: case CLV_ARG_INOUT_HOST:
        return clv__check_array_param(p, kernel, i, a, pi);
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
        return clv__check_value_param(p, kernel, i, a, pi);
    }
    return CLV_OK;
}

/* A streamed host argument's own fields: memory, dtype, item shape, size. */
static inline clv_status clv__check_host_fields(clv_mesh *m, int i, const clv_arg *a, size_t n_items)
{
    size_t dsize = clv_dtype_size(a->dtype);
    if (!a->host) return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "argument %d: NULL host memory", i);
    if (dsize == 0) return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "argument %d: unknown dtype %d", i, (int)a->dtype);
    if (a->item_elems == 0)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "argument %d: host memory of 0 elements per item", i);
    size_t item_bytes = a->item_elems > (size_t)-1 / dsize ? 0 : a->item_elems * dsize;
    if (item_bytes == 0 || n_items > (size_t)-1 / item_bytes || (uintptr_t)-1 - (uintptr_t)a->host < n_items * item_bytes)
        return clv__fail(m, CLV_ERROR_SHAPE, "argument %d: %zu items of %zu x %s overflow the address space", i,
                         n_items, a->item_elems, clv__dtype_cname(a->dtype));
    if (a->bytes < n_items * item_bytes)
        return clv__fail(m, CLV_ERROR_SHAPE, "argument %d: host memory of %zu bytes, but the map's %zu items of "
                         "%zu x %s need %zu", i, a->bytes, n_items, a->item_elems, clv__dtype_cname(a->dtype),
                         n_items * item_bytes);
    return CLV_OK;
}

/* An argument's own fields, before it meets the kernel (hand-made clv_arg
 * values included). */
static inline clv_status clv__check_arg_fields(clv_mesh *m, int i, const clv_arg *a, size_t n_items)
{
    if (a->kind < CLV_ARG_IN || a->kind > CLV_ARG_INOUT_HOST)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "argument %d: unknown kind (build arguments with "
                         "clv_in, clv_out, clv_int, ...)", i);
    if (a->kind == CLV_ARG_VALUE && (!a->type || a->bytes == 0 || a->bytes > sizeof a->value))
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "argument %d: a value needs its OpenCL C type name and "
                         "1 to %zu bytes (build it with clv_int, clv_float, ...)", i, sizeof a->value);
    int is_array = a->kind == CLV_ARG_IN || a->kind == CLV_ARG_OUT || a->kind == CLV_ARG_INOUT;
    if (is_array && !a->array) return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "argument %d: NULL array", i);
    if (is_array && a->array->mesh != m)
        return clv__fail(m, CLV_ERROR_SHAPE, "argument %d: array belongs to another mesh", i);
    if (is_array && a->kind != CLV_ARG_IN && a->array->layout == CLV_REPLICATED && m->n_devices > 1)
        return clv__fail(m, CLV_ERROR_SHAPE, "argument %d: a replicated array cannot be an output on %d "
                         "devices (each would write only its own items); make it CLV_SHARDED", i, m->n_devices);
    if (is_array && a->array->layout == CLV_SHARDED && a->array->n_items != n_items)
        return clv__fail(m, CLV_ERROR_SHAPE, "argument %d: sharded array has %zu items, the map has %zu", i,
                         a->array->n_items, n_items);
    if ((a->kind == CLV_ARG_SCRATCH || a->kind == CLV_ARG_LOCAL) && a->bytes == 0)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "argument %d: scratch/local of 0 bytes", i);
    if (clv__is_host_arg(a)) return clv__check_host_fields(m, i, a, n_items);
    return CLV_OK;
}

/* The host range [lo, hi) of a streamed argument. */
static inline void clv__host_range(const clv_arg *a, size_t n_items, uintptr_t *lo, uintptr_t *hi)
{
    *lo = (uintptr_t)a->host;
    *hi = *lo + (uintptr_t)(n_items * clv__host_item_bytes(a));
}

/* Streamed host arguments among themselves and with the arrays: outputs
 * alias nothing else, and no CLV_SHARDED array is in the same map (a
 * streamed launch's clv_local() indexes its chunk, not the device's part). */
static inline clv_status clv__check_streamed(clv_mesh *m, const clv_arg *args, int n_args, size_t n_items)
{
    int streamed = -1, sharded = -1;
    for (int i = 0; i < n_args; ++i) {
        if (clv__is_host_arg(&args[i]) && streamed < 0) streamed = i;
        int is_array = args[i].kind >= CLV_ARG_IN && args[i].kind <= CLV_ARG_INOUT;
        if (is_array && args[i].array->layout == CLV_SHARDED && sharded < 0) sharded = i;
    }
    if (streamed < 0) return CLV_OK;
    if (sharded >= 0)
        return clv__fail(m, CLV_ERROR_SHAPE, "argument %d is a CLV_SHARDED array but argument %d is streamed "
                         "from host memory: a map streams all its batched arguments or none (pass the array's "
                         "contents with clv_in_host/clv_out_host, or make it CLV_REPLICATED)", sharded, streamed);
    for (int i = 0; i < n_args; ++i) {
        if (!clv__is_host_arg(&args[i]) || args[i].kind == CLV_ARG_IN_HOST) continue;
        uintptr_t lo, hi;
        clv__host_range(&args[i], n_items, &lo, &hi);
        for (int j = 0; j < n_args; ++j) {
            uintptr_t lo2, hi2;
            if (j == i || !clv__is_host_arg(&args[j])) continue;
            clv__host_range(&args[j], n_items, &lo2, &hi2);
            if (lo < hi2 && lo2 < hi)
                return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "argument %d: host output overlaps the host "
                                 "memory of argument %d (streamed chunks would read what others wrote); use "
                                 "clv_inout_host for one buffer read and written, or separate buffers", i, j);
        }
    }
    return CLV_OK;
}

/* The __local memory a launch asks for (the kernel's own and every
 * clv_local_mem) against each device's CL_DEVICE_LOCAL_MEM_SIZE: drivers
 * may abort on an impossible request instead of failing it. */
static inline clv_status clv__check_local_mem(clv_mesh *m, const clv__kernel *k, const char *kernel,
                                              const clv_arg *args, int n_args)
{
    size_t total = k->static_local;
    int any = 0;
    for (int i = 0; i < n_args; ++i) {
        if (args[i].kind != CLV_ARG_LOCAL) continue;
        any = 1;
        total = args[i].bytes > (size_t)-1 - total ? (size_t)-1 : total + args[i].bytes;
    }
    for (int d = 0; any && d < m->n_devices; ++d) {
        cl_ulong have = 0;
        if (!clv__alive(m, d)) continue;
        if (clGetDeviceInfo(m->devices[d].id, CL_DEVICE_LOCAL_MEM_SIZE, sizeof have, &have, NULL) != CL_SUCCESS)
            continue;
        if ((cl_ulong)total > have)
            return clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "kernel \"%s\": %zu bytes of __local memory per work "
                             "group (clv_local_mem arguments and the kernel's own %zu) but device %d (%s) has %llu",
                             kernel, total, k->static_local, d, m->devices[d].info.name, (unsigned long long)have);
    }
    return CLV_OK;
}

/* Everything that can be checked before anything is enqueued. */
static inline clv_status clv__check_args(clv_program *p, const clv__kernel *k, const char *kernel,
                                         size_t n_items, const clv_arg *args, int n_args)
{
    clv_mesh *m = p->mesh;
    if (k->n_args < CLV__HIDDEN_ARGS || (k->params[0].known && strcmp(k->params[0].name, "clv__chunk_end") != 0))
        return clv__fail(m, CLV_ERROR_ARGUMENT_COUNT, "kernel \"%s\" must start its parameters with CLV_ITEMS",
                         kernel);
    if ((int)k->n_args - CLV__HIDDEN_ARGS != n_args)
        return clv__fail(m, CLV_ERROR_ARGUMENT_COUNT, "kernel \"%s\" takes %d argument(s) after CLV_ITEMS, "
                         "%d given", kernel, (int)k->n_args - CLV__HIDDEN_ARGS, n_args);
    for (int i = 0; i < n_args; ++i) {
        clv_status st = clv__check_arg_fields(m, i, &args[i], n_items);
        if (st == CLV_OK) st = clv__check_param(p, kernel, i, &args[i], &k->params[i + CLV__HIDDEN_ARGS]);
        if (st != CLV_OK) return st;
    }
    clv_status st = clv__check_streamed(m, args, n_args, n_items);
    return st != CLV_OK ? st : clv__check_local_mem(m, k, kernel, args, n_args);
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
    size_t most_local = 0;
    for (int d = 0; d < m->n_devices; ++d)
        if (clv__alive(m, d) && m->devices[d].info.max_work_group_size > most_local)
            most_local = m->devices[d].info.max_work_group_size;
    if (o->local_size > most_local && most_local)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_map: local_size %zu is more than any device of the "
                         "mesh runs in one work group (at most %zu)", o->local_size, most_local);
    if (n_args < 0 || (n_args > 0 && !args))
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_map: %d arguments but args is NULL", n_args);
    if (m->n_devices > CLV__MAX_DEVICES)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_map: more than %d devices", CLV__MAX_DEVICES);
    return clv__check_alive(m, "clv_map");
}

/* A device whose runtime packs a work group's work items into SIMD lanes
 * (implicit vectorisation) and runs the group's tail (local size modulo
 * the vector width) as scalar code: Intel's CPU runtime ("Work-Group Size
 * Considerations", Intel's OpenCL developer guide for Core and Xeon
 * processors). Its GPUs vectorise too, but a group of 1 there would leave
 * the SIMD lanes idle, so only its CPU device counts. */
static inline int clv__vectorises_work_items(const clv__device *d)
{
    cl_device_type type = 0;
    if (clGetDeviceInfo(d->id, CL_DEVICE_TYPE, sizeof type, &type, NULL) != CL_SUCCESS) return 0;
    return (type & CL_DEVICE_TYPE_CPU) && strstr(d->info.platform, "Intel") != NULL;
}

/* The one place a map's local size is decided: the caller's (checked
 * against what every device runs this kernel with), or the default,
 * CLV__DEFAULT_LOCAL_SIZE, lowered to that limit (to a multiple of the
 * preferred multiple where it can be). The same on every device: a
 * cooperative kernel's reduction order depends on it, and must not depend
 * on the split. A divergent per-work-item map (clv_map_opts.divergent) on
 * a mesh with a vectorising CPU runtime gets 1: groups smaller than the
 * vector width run scalar, and masked vector code of divergent work items
 * ran Intel's L-BFGS kernel 3x slower (README, L-BFGS rounds). Only
 * there: PoCL's pthread device already runs such a kernel scalar at any
 * local size, and pays a little per work group. One group per item
 * (CLV_ITEM_PER_GROUP) on a mesh whose every device runs lanes in turn
 * (PoCL's CPU devices) gets CLV__IN_TURN_LOCAL_SIZE lanes instead. */
static inline clv_status clv__resolve_local_size(clv_mesh *m, const clv__kernel *k, const char *kernel,
                                                 const clv_map_opts *o, size_t *local_size)
{
    size_t most = k->group_max, want = CLV__DEFAULT_LOCAL_SIZE;
    if (o->local_size && most && o->local_size > most)
        return clv__fail(m, CLV_ERROR_INVALID_ARGUMENT, "clv_map: local_size %zu is more than kernel \"%s\" "
                         "can run with on every device of the mesh: at most %zu", o->local_size, kernel, most);
    if (o->local_size) {
        *local_size = o->local_size;
        return CLV_OK;
    }
    if (o->divergent && o->shape == CLV_ITEM_PER_WORK_ITEM)
        for (int d = 0; d < m->n_devices; ++d)
            if (clv__alive(m, d) && clv__vectorises_work_items(&m->devices[d])) {
                *local_size = 1;
                return CLV_OK;
            }
    if (o->shape == CLV_ITEM_PER_GROUP && clv__mesh_runs_lanes_in_turn(m)) want = CLV__IN_TURN_LOCAL_SIZE;
    if (most && want > most) {
        want = most;
        if (k->group_multiple && want > k->group_multiple) want -= want % k->group_multiple;
    }
    *local_size = want ? want : 1;
    return CLV_OK;
}

/* The last global id of the map, padding included, must fit every
 * device's address range: a wrapped id would pass CLV_GUARD. */
static inline clv_status clv__check_index_range(clv_mesh *m, const clv_map_opts *o, size_t n_items,
                                                size_t local_size)
{
    uint64_t ids = (uint64_t)-1, group = local_size;
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
    return CLV_OK;
}

/* ---- map: planning (split, chunk, scratch) ------------------------------ */

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
    const clv__param *params; /* the kernel's parameters (clv_real() arguments) */
    int ran_after_failure;  /* a launch completed after an earlier one failed */
    cl_event events[CLV__LAUNCH_WINDOW]; /* the window's launches, in order */
    size_t event_first[CLV__LAUNCH_WINDOW], event_end[CLV__LAUNCH_WINDOW];
    int n_events;
    /* streamed maps (host arguments): each streamed argument has `slots`
     * staging buffers of one chunk (in `scratch`, after its scratch); window
     * entry e uses slot e % slots; its uploads and downloads (the last of
     * each, NULL if none) run on the device's transfer queue */
    int streamed, downloads, slots;
    int zero_copy;          /* clv_in_host chunks are read in place: the device shares host
                               memory (CL_DEVICE_HOST_UNIFIED_MEMORY) and stage_inputs is 0 */
    size_t lost_at;         /* the device was lost: next, as it was then */
    cl_event up_events[CLV__LAUNCH_WINDOW], down_events[CLV__LAUNCH_WINDOW];
} clv__launch;

/* Staging buffers per streamed argument and device: chunk j+1 uploads while
 * chunk j runs and chunk j-1 downloads. */
#define CLV__STREAM_SLOTS 3
/* Streamed inputs one launch reads in place at most (more: the map fails). */
#define CLV__MAX_IN_PLACE 64

/* Per-chunk device buffers an argument needs: one for scratch, a slot's
 * worth for a streamed one; and the bytes per item of each. */
static inline int clv__buffers_of(const clv_arg *a, int slots)
{
    return a->kind == CLV_ARG_SCRATCH ? 1 : clv__is_host_arg(a) ? slots : 0;
}
/* As clv__buffers_of, for this device's map: no slots for inputs read in place. */
static inline int clv__slot_buffers(const clv__launch *l, const clv_arg *a)
{
    return l->zero_copy && a->kind == CLV_ARG_IN_HOST ? 0 : clv__buffers_of(a, l->slots);
}
static inline size_t clv__buffer_item_bytes(const clv_arg *a)
{
    return a->kind == CLV_ARG_SCRATCH ? a->bytes : clv__host_item_bytes(a);
}

/* Bytes per item of a chunk's buffers (scratch and every staging slot). */
static inline size_t clv__scratch_per_item(const clv_arg *args, int n_args, size_t *largest)
{
    size_t total = 0;
    *largest = 0;
    for (int i = 0; i < n_args; ++i)
        for (int b = 0; b < clv__buffers_of(&args[i], CLV__STREAM_SLOTS); ++b) {
            size_t bytes = clv__buffer_item_bytes(&args[i]);
            total = bytes > (size_t)-1 - total ? (size_t)-1 : total + bytes;
            if (bytes > *largest) *largest = bytes;
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
        for (int b = 0; b < clv__slot_buffers(l, &args[i]); ++b, ++s) {
            clv__scratch_give(m, device, l->scratch[s], clv__buffer_item_bytes(&args[i]) * l->chunk);
            l->scratch[s] = NULL;
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
        size_t chunks = (l->end - l->next + l->chunk - 1) / l->chunk; /* no more slots than chunks */
        l->slots = chunks < CLV__STREAM_SLOTS ? (int)chunks : CLV__STREAM_SLOTS;
        if (l->slots < 1) l->slots = 1;
        for (int i = 0; i < n_args && err == CL_SUCCESS; ++i)
            for (int b = 0; b < clv__slot_buffers(l, &args[i]) && err == CL_SUCCESS; ++b, ++s) {
                size_t bytes = clv__buffer_item_bytes(&args[i]);
                if (bytes > (size_t)-1 / l->chunk) {
                    err = CL_INVALID_BUFFER_SIZE; /* bytes x chunk overflows size_t */
                    break;
                }
                l->scratch[s] = clv__scratch_take(m, device, bytes * l->chunk, &err);
            }
        if (err == CL_SUCCESS) {
            uint64_t bytes = 0; /* as allocated: fewer staging slots than CLV__STREAM_SLOTS for few chunks */
            for (int i = 0; i < n_args; ++i)
                bytes += (uint64_t)clv__slot_buffers(l, &args[i]) * clv__buffer_item_bytes(&args[i]) * l->chunk;
            if (bytes > d->stats.scratch_high_water) d->stats.scratch_high_water = bytes;
            return CLV_OK;
        }
        clv__free_scratch(m, device, l, args, n_args);
        clv__release_cache(m, device); /* all of it, so the retry has the most room */
        if (!clv__is_alloc_error(err)) return clv__fail_cl(m, "clCreateBuffer (scratch)", err, device);
        if (l->chunk == 1)
            return clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "device %d (%s): scratch%s of %zu bytes for one item "
                             "cannot be allocated (%s)", device, d->info.name, l->streamed ? " and staging" : "",
                             l->scratch_bytes, clv__cl_error_name(err));
        l->chunk = (l->chunk + 1) / 2;
        d->stats.chunk_halvings++;
    }
}

/* Most items one launch may run (CLV__MAX_LAUNCH_WORK_ITEMS work items). */
static inline size_t clv__launch_items_max(const clv_mesh *m, size_t local_size, clv_shape shape)
{
    size_t work_items = CLV__MAX_LAUNCH_WORK_ITEMS;
#ifdef CLV_FAULT_INJECTION
    if (m->faults.max_launch_work_items) work_items = (size_t)m->faults.max_launch_work_items;
#endif
    (void)m;
    size_t groups = work_items / local_size;
    if (groups == 0) groups = 1;
    return shape == CLV_ITEM_PER_GROUP ? groups : groups * local_size;
}

/* Set up each device's launch state for the items [a, b) of the batch that
 * it owns: its chunk and scratch. */
static inline clv_status clv__plan(clv_program *p, const clv__kernel *k, const clv_map_opts *o,
                                   const clv_arg *args, int n_args, const size_t *first, const size_t *count,
                                   size_t a, size_t b, size_t local_size, clv__launch *plan)
{
    clv_mesh *m = p->mesh;
    size_t largest, per_item = clv__scratch_per_item(args, n_args, &largest);
    int streamed = 0, downloads = 0;
    for (int i = 0; i < n_args; ++i) {
        streamed |= clv__is_host_arg(&args[i]);
        downloads |= args[i].kind == CLV_ARG_OUT_HOST || args[i].kind == CLV_ARG_INOUT_HOST;
    }
    for (int d = 0; d < m->n_devices; ++d) {
        clv__launch *l = &plan[d];
        l->streamed = streamed;
        l->downloads = downloads;
        size_t end = first[d] + count[d];
        l->first = first[d];
        l->next = l->start = first[d] > a ? first[d] : a;
        l->end = end < b ? end : b;
        if (l->end <= l->next || !clv__alive(m, d)) l->end = l->next = l->start; /* nothing to run */
        l->scratch_bytes = per_item;
        l->real = p->real;
        l->params = k->params;
        l->ran_after_failure = 0;
        size_t items = l->end - l->next;
        if (items == 0) continue;
        if (o->chunk == CLV_CHUNK_AUTO) l->chunk = clv__auto_chunk(&m->devices[d], items, per_item, largest);
        else if (o->chunk == CLV_CHUNK_NONE || (size_t)o->chunk > items) l->chunk = items;
        else l->chunk = (size_t)o->chunk;
        l->local_size = local_size;
        size_t most = clv__launch_items_max(m, l->local_size, o->shape);
        if (l->chunk > most) l->chunk = most;
        clv__device *dev = &m->devices[d];
        cl_int err = CL_SUCCESS;
        if (streamed && !dev->transfer_queue) /* the first streamed map on this device */
            dev->transfer_queue = clCreateCommandQueue(dev->context, dev->id, 0, &err);
        if (streamed && !dev->transfer_queue) return clv__fail_cl(m, "clCreateCommandQueue (transfers)", err, d);
        cl_bool unified = CL_FALSE;
        if (streamed && !o->stage_inputs &&
            clGetDeviceInfo(dev->id, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL) != CL_SUCCESS)
            unified = CL_FALSE;
        l->zero_copy = streamed && !o->stage_inputs && unified == CL_TRUE;
        clv_status st = clv__alloc_scratch(m, d, l, args, n_args);
        if (st != CLV_OK) return st;
    }
    return CLV_OK;
}

/* ---- map: launching (windows of chunks, events) ------------------------ */

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

/* Only the hidden arguments that change from one chunk to the next. */
static inline cl_int clv__set_chunk_args(cl_kernel k, cl_ulong chunk_end, cl_ulong chunk_first)
{
    cl_int err = clSetKernelArg(k, 0, sizeof chunk_end, &chunk_end);
    if (err == CL_SUCCESS) err = clSetKernelArg(k, 2, sizeof chunk_first, &chunk_first);
    return err;
}

/* A clv_real() argument as the parameter's type: float or double as the
 * type name resolves (clv_real, a typedef of either, a probed size), else
 * the program's clv_real. */
static inline cl_int clv__set_real_arg(cl_kernel k, cl_uint index, double value, clv_dtype real,
                                       const clv__param *pi)
{
    int is_double = real == CLV_F64;
    if (pi->known && (strcmp(pi->builtin, "double") == 0 || (!pi->builtin[0] && pi->size == 8))) is_double = 1;
    if (pi->known && (strcmp(pi->builtin, "float") == 0 || (!pi->builtin[0] && pi->size == 4))) is_double = 0;
    float f = (float)value;
    return is_double ? clSetKernelArg(k, index, sizeof value, &value) : clSetKernelArg(k, index, sizeof f, &f);
}

/* The user's arguments on one device. */
static inline cl_int clv__set_user_args(cl_kernel k, int device, const clv__launch *l, const clv_arg *args,
                                        int n_args)
{
    cl_int err = CL_SUCCESS;
    for (int i = 0, s = 0; i < n_args && err == CL_SUCCESS; s += clv__slot_buffers(l, &args[i]), ++i) {
        cl_uint index = (cl_uint)(i + CLV__HIDDEN_ARGS);
        const clv_arg *a = &args[i];
        if (a->kind == CLV_ARG_IN || a->kind == CLV_ARG_OUT || a->kind == CLV_ARG_INOUT)
            err = clSetKernelArg(k, index, sizeof(cl_mem), &a->array->buffers[device]);
        else if (a->kind == CLV_ARG_SCRATCH)
            err = clSetKernelArg(k, index, sizeof(cl_mem), &l->scratch[s]);
        else if (clv__is_host_arg(a))
            continue; /* the chunk's staging slot, set at each launch */
        else if (a->kind == CLV_ARG_LOCAL)
            err = clSetKernelArg(k, index, a->bytes, NULL);
        else if (a->kind == CLV_ARG_VALUE)
            err = clSetKernelArg(k, index, a->bytes, &a->value);
        else
            err = clv__set_real_arg(k, index, a->value.d, l->real, &l->params[index]);
    }
    return err;
}

/* Streamed maps: the uploads (download = 0) or downloads of window entry e,
 * on the transfer queue, non-blocking, into or out of the entry's slot.
 * Uploads wait for the kernel that last used the slot, downloads for the
 * entry's kernel; the last transfer's event is kept. */
static inline cl_int clv__stream_transfers(clv_mesh *m, int device, clv__launch *l, const clv_arg *args,
                                           int n_args, int e, int download)
{
    cl_command_queue tq = m->devices[device].transfer_queue;
    size_t at = l->event_first[e], count = l->event_end[e] - at;
    int slot = e % l->slots;
    cl_event *kept = download ? &l->down_events[e] : &l->up_events[e];
    cl_event wait = download ? l->events[e] : e >= l->slots ? l->events[e - l->slots] : NULL;
    cl_int err = CL_SUCCESS;
    for (int i = 0, s = 0; i < n_args && err == CL_SUCCESS; s += clv__slot_buffers(l, &args[i]), ++i) {
        const clv_arg *a = &args[i];
        int moves = download ? a->kind == CLV_ARG_OUT_HOST || a->kind == CLV_ARG_INOUT_HOST
                             : (a->kind == CLV_ARG_IN_HOST && !l->zero_copy) || a->kind == CLV_ARG_INOUT_HOST;
        if (!moves) continue;
        size_t item_bytes = clv__host_item_bytes(a);
        char *host = (char *)a->host + at * item_bytes;
        cl_event ev = NULL;
        err = download ? clEnqueueReadBuffer(tq, l->scratch[s + slot], CL_FALSE, 0, count * item_bytes, host,
                                             wait ? 1 : 0, wait ? &wait : NULL, &ev)
                       : clEnqueueWriteBuffer(tq, l->scratch[s + slot], CL_FALSE, 0, count * item_bytes, host,
                                              wait ? 1 : 0, wait ? &wait : NULL, &ev);
        if (*kept) clReleaseEvent(*kept);
        *kept = ev;
    }
    if (err != CL_SUCCESS && *kept) { /* part of the entry moved: it counts as not moved */
        clReleaseEvent(*kept);
        *kept = NULL;
    }
    return err;
}

#ifdef CLV_FAULT_INJECTION
/* Streamed maps under fault injection: the launch of window entry e is the
 * one that fails or dies. Nothing of it may reach the host, as on a device
 * that really failed, so its downloads are not enqueued. */
static inline int clv__fault_at_entry(const clv_mesh *m, int device, const clv__launch *l, int e)
{
    uint64_t nth = m->devices[device].stats.launches + 1 + (uint64_t)e;
    int dies = (m->faults.lose_devices >> device & 1) && nth == m->faults.lose_at_launch &&
               !(m->faults.dead >> device & 1);
    (void)l;
    return dies || (m->faults.failed_launch && nth == m->faults.failed_launch);
}
#endif

/* A streamed map's window: for each chunk, its uploads, then its kernel
 * (after its uploads and the download of the chunk that last used its
 * slot), then the previous chunk's downloads, so that the transfer queue
 * holds U0 U1 D0 U2 D1 ...: chunk j+1 uploads and chunk j-1 downloads while
 * chunk j runs. clv_local() indexes the chunk's slot (device_first = the
 * chunk's first item). */
static inline cl_int clv__enqueue_stream_window(clv_mesh *m, int device, cl_kernel k, clv__launch *l,
                                                const clv_map_opts *o, const clv_arg *args, int n_args)
{
    clv__device *d = &m->devices[device];
    size_t at = l->next, shift = (size_t)o->item_offset;
    cl_uint per_group = o->shape == CLV_ITEM_PER_GROUP;
    int stop = 0, fault_entry = -1, downloaded = 0; /* entries whose downloads are enqueued */
    cl_int err = clv__set_user_args(k, device, l, args, n_args);
    while (err == CL_SUCCESS && !stop && at < l->end && l->n_events < CLV__LAUNCH_WINDOW) {
        int e = l->n_events, slot = e % l->slots;
        size_t count = l->end - at < l->chunk ? l->end - at : l->chunk;
        size_t global = per_group ? count * l->local_size : clv__round_up(count, l->local_size);
        l->event_first[e] = at;
        l->event_end[e] = at + count;
        l->up_events[e] = l->down_events[e] = NULL;
        err = clv__stream_transfers(m, device, l, args, n_args, e, 0);
        cl_mem in_place[CLV__MAX_IN_PLACE];
        int n_in_place = 0;
        for (int i = 0, s = 0; i < n_args && err == CL_SUCCESS; s += clv__slot_buffers(l, &args[i]), ++i) {
            cl_uint index = (cl_uint)(i + CLV__HIDDEN_ARGS);
            if (!clv__is_host_arg(&args[i])) continue;
            if (clv__slot_buffers(l, &args[i]) > 0) {
                err = clSetKernelArg(k, index, sizeof(cl_mem), &l->scratch[s + slot]);
                continue;
            }
            /* read in place: a buffer over the caller's memory, released once enqueued
               (the runtime keeps it until the kernel is done) */
            size_t item_bytes = clv__host_item_bytes(&args[i]);
            cl_mem wrap = n_in_place < CLV__MAX_IN_PLACE
                              ? clCreateBuffer(d->context, CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR, count * item_bytes,
                                               (char *)args[i].host + at * item_bytes, &err)
                              : NULL;
            if (!wrap && err == CL_SUCCESS) err = CL_OUT_OF_RESOURCES;
            if (wrap) in_place[n_in_place++] = wrap;
            if (err == CL_SUCCESS) err = clSetKernelArg(k, index, sizeof(cl_mem), &wrap);
        }
        if (err == CL_SUCCESS)
            err = clv__set_hidden_args(k, shift + at + count, shift + at, shift + at, o->seed, per_group);
#ifdef CLV_FAULT_INJECTION
        if (m->faults.launch_max_items && count > m->faults.launch_max_items) err = CL_OUT_OF_RESOURCES;
        stop = clv__fault_at_entry(m, device, l, e);
        if (stop) fault_entry = e;
#endif
        cl_event wait[2];
        cl_uint n_wait = 0;
        if (l->up_events[e]) wait[n_wait++] = l->up_events[e];
        if (e >= l->slots && l->down_events[e - l->slots]) wait[n_wait++] = l->down_events[e - l->slots];
        if (err == CL_SUCCESS)
            err = clEnqueueNDRangeKernel(d->queue, k, 1, NULL, &global, &l->local_size, n_wait,
                                         n_wait ? wait : NULL, &l->events[e]);
        for (int w = 0; w < n_in_place; ++w) clReleaseMemObject(in_place[w]);
        if (err != CL_SUCCESS) {
            if (l->up_events[e]) clReleaseEvent(l->up_events[e]);
            l->up_events[e] = NULL;
            break;
        }
        l->n_events++;
        at += count;
        clFlush(d->queue); /* the kernel may start while the transfers go on */
        if (e > 0 && err == CL_SUCCESS) err = clv__stream_transfers(m, device, l, args, n_args, e - 1, 1);
        if (e > 0) downloaded = e;
        clFlush(d->transfer_queue);
    }
    /* the last chunk's downloads (not a chunk meant to fail: see above) */
    if (downloaded < l->n_events && l->n_events - 1 != fault_entry) {
        cl_int last = clv__stream_transfers(m, device, l, args, n_args, l->n_events - 1, 1);
        if (err == CL_SUCCESS) err = last;
    }
    clFlush(d->queue);
    clFlush(d->transfer_queue);
    return err;
}

/* Enqueue up to a window of chunks on one device. Returns the first enqueue
 * error (the chunks enqueued before it still run). */
static inline cl_int clv__enqueue_window(clv_mesh *m, int device, cl_kernel k, clv__launch *l,
                                         const clv_map_opts *o, const clv_arg *args, int n_args)
{
    if (l->streamed) return clv__enqueue_stream_window(m, device, k, l, o, args, n_args);
    clv__device *d = &m->devices[device];
    size_t at = l->next;
    size_t shift = (size_t)o->item_offset; /* global index of local item 0 */
    cl_int err = clv__set_user_args(k, device, l, args, n_args);
    cl_uint per_group = o->shape == CLV_ITEM_PER_GROUP;
    /* the same for every chunk of the window: set once; each launch sets only
       where its chunk starts and ends (2 clSetKernelArg calls, not 5) */
    if (err == CL_SUCCESS)
        err = clv__set_hidden_args(k, shift + at, shift + l->first, shift + at, o->seed, per_group);
    while (err == CL_SUCCESS && at < l->end && l->n_events < CLV__LAUNCH_WINDOW) {
        size_t count = l->end - at < l->chunk ? l->end - at : l->chunk;
        size_t global = per_group ? count * l->local_size : clv__round_up(count, l->local_size);
        err = clv__set_chunk_args(k, shift + at + count, shift + at);
#ifdef CLV_FAULT_INJECTION
        if (m->faults.launch_max_items && count > m->faults.launch_max_items) err = CL_OUT_OF_RESOURCES;
#endif
        if (err != CL_SUCCESS) break;
        err = clEnqueueNDRangeKernel(d->queue, k, 1, NULL, &global, &l->local_size, 0, NULL,
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

/* A streamed chunk is done when its kernel, its uploads and its downloads
 * are: a chunk whose outputs did not all reach the host is not. One whose
 * downloads were held back (fault injection) is CL_SUBMITTED: not done, no
 * error, run again by the next window. */
static inline cl_int clv__stream_entry_status(const clv__launch *l, int e, cl_int kernel_status)
{
    cl_event transfers[2];
    transfers[0] = l->up_events[e];
    transfers[1] = l->down_events[e];
    if (kernel_status != CL_COMPLETE) return kernel_status;
    if (l->downloads && !transfers[1]) return CL_SUBMITTED;
    for (int t = 0; t < 2; ++t) {
        cl_int status = CL_COMPLETE;
        if (transfers[t] && clGetEventInfo(transfers[t], CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status,
                                           NULL) != CL_SUCCESS)
            status = CL_INVALID_EVENT;
        if (status != CL_COMPLETE) return status < 0 ? status : CL_INVALID_EVENT;
    }
    return CL_COMPLETE;
}

/* Wait for a device's window; advance next past the chunks that finished,
 * in order, up to the first that did not. Launches that completed after a
 * failed one are noted (re-running them is only safe without inout arrays).
 * Returns the first failure (CL_SUCCESS if none). */
static inline cl_int clv__collect_window(clv_mesh *m, int device, clv__launch *l)
{
    clv__device *d = &m->devices[device];
    cl_int finish_err = clFinish(d->queue), first_error = CL_SUCCESS;
    int held_back = 0;
    if (l->streamed && d->transfer_queue) {
        cl_int transfer_err = clFinish(d->transfer_queue);
        if (finish_err == CL_SUCCESS) finish_err = transfer_err;
    }
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
        if (l->streamed) status = clv__stream_entry_status(l, e, status);
        if (status == CL_SUBMITTED) held_back = 1;
        if (held_back) {
            /* neither done nor failed */
        } else if (first_error == CL_SUCCESS && status == CL_COMPLETE) {
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
        if (l->streamed && l->up_events[e]) clReleaseEvent(l->up_events[e]);
        if (l->streamed && l->down_events[e]) clReleaseEvent(l->down_events[e]);
        l->up_events[e] = l->down_events[e] = NULL;
    }
    l->n_events = 0;
    return first_error != CL_SUCCESS ? first_error : finish_err;
}

/* Has the device stopped working? Asked only after a launch failed with
 * something other than an allocation failure that a smaller chunk could
 * cure: a device that is gone reports itself unavailable or cannot drain
 * its queue, a healthy one can. */
/* ---- map: recovering (halving the chunk, losing a device) -------------- */

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
        l->lost_at = l->next;
        l->next = l->end;
        return CLV_ERROR_DEVICE_LOST;
    }
    if (!clv__is_alloc_error(err)) return clv__fail_cl(m, "a kernel launch (enqueue or execution)", err, device);
    for (int i = 0; l->ran_after_failure && i < n_args; ++i)
        if (args[i].kind == CLV_ARG_INOUT || args[i].kind == CLV_ARG_INOUT_HOST)
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

/* ---- map: running and failover ---------------------------------------- */

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
        cl_int enqueue_err[CLV__MAX_DEVICES];
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

/* Bit d: device d is lost. */
static inline uint64_t clv__lost_mask(const clv_mesh *m)
{
    uint64_t mask = 0;
    for (int d = 0; d < m->n_devices && d < CLV__MAX_DEVICES; ++d) mask |= (uint64_t)!clv__alive(m, d) << d;
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

/* A streamed map lost device `device` (the first lost in the pass): the host
 * arguments hold its items [l->start, l->lost_at), not [l->lost_at, l->end).
 * Without failover the map ends saying so; with it those are re-run on the
 * devices left (CLV_OK: clv__failover goes on), unless an inout chunk after
 * the failure may already have been applied. */
static inline clv_status clv__stream_lost(clv_mesh *m, const clv_arg *args, int n_args, const char *kernel,
                                          const clv__launch *l, int device)
{
    for (int i = 0; l->ran_after_failure && i < n_args; ++i)
        if (args[i].kind == CLV_ARG_INOUT_HOST)
            return clv__fail(m, CLV_ERROR_DEVICE_LOST, "device %d (%s) stopped working during a map of \"%s\" "
                             "after finishing launches that followed the one that failed: re-running items "
                             "%zu..%zu would apply some of the inout host argument %d twice, so the map stops "
                             "(items %zu..%zu of it are written, the others partly)", device,
                             m->devices[device].info.name, kernel, l->lost_at, l->end - 1, i, l->start,
                             l->lost_at ? l->lost_at - 1 : 0);
    if (m->failover || clv__first_alive(m) < 0) return CLV_OK;
    if (l->lost_at == l->start)
        return clv__fail(m, CLV_ERROR_DEVICE_LOST, "device %d (%s) stopped working during a map of \"%s\"; the "
                         "mesh no longer uses it; without clv_mesh_desc.failover its items %zu..%zu were not "
                         "written to the host outputs (none of its items was; the other devices' items were)",
                         device, m->devices[device].info.name, kernel, l->start, l->end - 1);
    return clv__fail(m, CLV_ERROR_DEVICE_LOST, "device %d (%s) stopped working during a map of \"%s\"; the "
                     "mesh no longer uses it; without clv_mesh_desc.failover its items %zu..%zu were not written "
                     "to the host outputs (items %zu..%zu, its part before them, and the other devices' items "
                     "were)", device, m->devices[device].info.name, kernel, l->lost_at, l->end - 1, l->start,
                     l->lost_at - 1);
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
                                      size_t local_size, clv__launch *plan)
{
    clv_mesh *m = p->mesh;
    size_t todo_a[CLV__MAX_DEVICES + 1], todo_b[CLV__MAX_DEVICES + 1], first[CLV__MAX_DEVICES], count[CLV__MAX_DEVICES];
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
        if (st == CLV_OK) st = clv__plan(p, k, o, args, n_args, first, count, a, b, local_size, plan);
        if (st == CLV_OK) {
            --n_todo;
            st = clv__run(p, k, o, args, n_args, plan);
        }
        uint64_t lost = clv__lost_mask(m) & ~lost_before;
        int lost_device = -1;
        for (int d = 0; d < m->n_devices; ++d) {
            clv__launch *l = &plan[d];
            clv__free_scratch(m, d, l, args, n_args);
            if (l->end == l->start) continue;
            if ((lost >> d & 1) && l->streamed) { /* the host holds what it finished: the rest again */
                if (lost_device < 0) lost_device = d;
                if (n_todo < CLV__MAX_DEVICES + 1) todo_a[n_todo] = l->lost_at, todo_b[n_todo++] = l->end;
                continue;
            }
            if (lost >> d & 1) { /* all of its part again: its finished outputs died with it */
                if (n_todo < CLV__MAX_DEVICES + 1) todo_a[n_todo] = l->start, todo_b[n_todo++] = l->end;
                continue;
            }
            m->devices[d].stats.chunk_used = l->chunk;
            if (pass > 0) m->devices[d].stats.items_recovered += l->next - l->start;
        }
        if (st == CLV_ERROR_DEVICE_LOST && lost_device >= 0) { /* streamed: what reached the host, what not */
            clv_status said = clv__stream_lost(m, args, n_args, kernel, &plan[lost_device], lost_device);
            if (said != CLV_OK) return said;
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
    size_t local_size = 0;
    clv_status st = clv__check_map(p, kernel, n_items, &o, args, n_args);
    if (st == CLV_OK) st = clv__find_kernel(p, kernel, &k);
    if (st == CLV_OK) st = clv__check_args(p, k, kernel, n_items, args, n_args);
    if (st == CLV_OK) st = clv__resolve_local_size(m, k, kernel, &o, &local_size);
    if (st == CLV_OK) st = clv__check_index_range(m, &o, n_items, local_size);
    if (st != CLV_OK) return st;
    clv__launch *plan = (clv__launch *)clv__calloc((size_t)m->n_devices, sizeof *plan);
    int n_scratch = 0; /* scratch and staging buffers */
    for (int i = 0; i < n_args; ++i) n_scratch += clv__buffers_of(&args[i], CLV__STREAM_SLOTS);
    for (int d = 0; plan && d < m->n_devices; ++d) {
        plan[d].scratch = (cl_mem *)clv__calloc((size_t)n_scratch, sizeof(cl_mem));
        if (!plan[d].scratch) st = clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    }
    if (!plan) return clv__fail(m, CLV_ERROR_OUT_OF_MEMORY, "out of host memory");
    if (st == CLV_OK) st = clv__run_all(p, k, kernel, &o, args, n_args, n_items, local_size, plan);
    for (int i = 0; st == CLV_OK && m->failover && i < n_args; ++i) /* keep the host copies current */
        if (args[i].kind == CLV_ARG_OUT || args[i].kind == CLV_ARG_INOUT) st = clv__pull_host(args[i].array);
    for (int d = 0; d < m->n_devices; ++d) CLV_FREE(plan[d].scratch);
    CLV_FREE(plan);
    return st;
}

static inline clv_status clv_map_local_size(clv_program *p, const char *kernel, const clv_map_opts *opts,
                                            size_t *local_size)
{
    clv_map_opts o;
    clv__kernel *k = NULL;
    if (!p) return CLV_ERROR_INVALID_ARGUMENT;
    memset(&o, 0, sizeof o);
    if (opts) o = *opts;
    if (!kernel || !local_size)
        return clv__fail(p->mesh, CLV_ERROR_INVALID_ARGUMENT, "clv_map_local_size: kernel and local_size must "
                         "not be NULL");
    clv_status st = clv__check_alive(p->mesh, "clv_map_local_size");
    if (st == CLV_OK) st = clv__find_kernel(p, kernel, &k);
    if (st == CLV_OK) st = clv__resolve_local_size(p->mesh, k, kernel, &o, local_size);
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

/* ---- building on clvmap --------------------------------------------------- */

static inline void *clv_calloc(size_t n, size_t size) { return clv__calloc(n, size); }
static inline void clv_free(void *p) { CLV_FREE(p); }

static inline uint64_t clv_bytes_add(uint64_t total, uint64_t a, uint64_t b, uint64_t c)
{
    if (b != 0 && a > UINT64_MAX / b) return UINT64_MAX;
    uint64_t p = a * b;
    if (c != 0 && p > UINT64_MAX / c) return UINT64_MAX;
    p *= c;
    return p > UINT64_MAX - total ? UINT64_MAX : total + p;
}

static inline int clv_size_mul(size_t n, size_t size, size_t limit, size_t *bytes)
{
    if (bytes) *bytes = 0;
    if (n != 0 && size > (size_t)-1 / n) return 0;
    if (limit && n * size > limit) return 0;
    if (bytes) *bytes = n * size;
    return 1;
}

static inline clv_status clv_message(char *buf, size_t size, clv_status status, const char *fmt, ...)
{
    if (buf && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, size, fmt, ap);
        va_end(ap);
    }
    return status;
}

static inline clv_status clv_check_number(char *buf, size_t size, const char *what, double value, double lo,
                                          double hi)
{
    if (!isfinite(value))
        return clv_message(buf, size, CLV_ERROR_INVALID_ARGUMENT, "%s is %g; it must be a finite number", what,
                           value);
    if (lo <= hi && (value < lo || value > hi))
        return clv_message(buf, size, CLV_ERROR_INVALID_ARGUMENT, "%s is %g; it must be in [%g, %g]", what, value,
                           lo, hi);
    return CLV_OK;
}

static inline clv_status clv_check_chunk(char *buf, size_t size, const char *what, long chunk)
{
    if (chunk < CLV_CHUNK_AUTO)
        return clv_message(buf, size, CLV_ERROR_INVALID_ARGUMENT, "%s is %ld; use a positive chunk, "
                           "CLV_CHUNK_NONE (0) or CLV_CHUNK_AUTO (-1)", what, chunk);
    return CLV_OK;
}

static inline clv_status clv_library_build(clv_mesh *m, const clv_library_desc *desc, clv_program **program,
                                           clv_array **data, char *buf, size_t size, const char *what)
{
    if (program) *program = NULL;
    if (data) *data = NULL;
    if (!m || !desc || !program || !data || !what)
        return clv_message(buf, size, CLV_ERROR_INVALID_ARGUMENT, "clv_library_build: NULL argument");
    if (desc->n_data > 0 && !desc->data)
        return clv_message(buf, size, CLV_ERROR_INVALID_ARGUMENT, "%s: n_data is %zu but data is NULL", what,
                           desc->n_data);
    clv_program_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.source = desc->source;
    pd.name = desc->name ? desc->name : "user.cl";
    pd.library_lines = desc->lines;
    pd.n_library_lines = desc->n_lines;
    pd.library_name = desc->library_name;
    pd.options = desc->options;
    pd.real = desc->real;
    clv_status st = clv_program_build(program, m, &pd);
    if (st != CLV_OK) return clv_message(buf, size, st, "%s: building %s: %s", what, pd.name, clv_mesh_message(m));
    double zero = 0;
    st = clv_array_new(data, m, desc->real, desc->n_data > 0 ? desc->n_data : 1, 1, CLV_REPLICATED);
    if (st == CLV_OK) st = clv_array_write_f64(*data, desc->n_data > 0 ? desc->data : &zero);
    if (st != CLV_OK) {
        clv_message(buf, size, st, "%s: uploading %zu data values: %s", what, desc->n_data, clv_mesh_message(m));
        clv_array_free(*data);
        clv_program_free(*program);
        *data = NULL;
        *program = NULL;
    }
    return st;
}

static inline void clv_csv_write_name(FILE *f, const char *name)
{
    size_t n = strlen(name);
    if (!strpbrk(name, ",\"\r\n") && !(n && (name[0] == ' ' || name[n - 1] == ' ' || name[0] == '\t' ||
                                             name[n - 1] == '\t'))) {
        fputs(name, f);
        return;
    }
    fputc('"', f);
    for (const char *p = name; *p; ++p) {
        if (*p == '"') fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

static inline uint64_t clv_host_memory_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0, total = 0;
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemAvailable: %llu", &kb) == 1 || sscanf(line, "SwapFree: %llu", &kb) == 1) {
            total += kb;
            found++;
        }
    }
    fclose(f);
    return found ? (uint64_t)total * 1024 : 0;
}

static inline void clv_share_range(const clv_share *share, size_t n_rows, size_t *first, size_t *count)
{
    *first = 0;
    *count = n_rows;
    if (share && share->range) share->range(share->user, n_rows, first, count);
    if (*first > n_rows) *first = n_rows;
    if (*count > n_rows - *first) *count = n_rows - *first;
}

static inline clv_status clv_share_exchange(const clv_share *share, clv_status status, const char *message,
                                            void *rows, size_t row_bytes, size_t n_rows, char *buf, size_t size,
                                            const char *what)
{
    if (!share || !share->exchange) return status;
    char why[512];
    why[0] = '\0';
    clv_status agreed = share->exchange(share->user, status, message ? message : "", rows, row_bytes, n_rows, why,
                                        sizeof why);
    if (agreed != CLV_OK) return clv_message(buf, size, agreed, "%s: %s", what, why);
    return CLV_OK;
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
