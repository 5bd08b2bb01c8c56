/* clvmap device prelude (OpenCL C 1.2). Prepended to every program that
 * clv_program_build builds. This file is the single source of truth: it is
 * embedded into include/clvmap.h by tools/embed.c, and tests/test_embed.c
 * fails when the embedded copy is stale.
 *
 * Everything here is either a macro or an inline function so that programs
 * that never use the RNG pay nothing for it. */

#ifdef CLV_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#ifndef CLV_REAL
#define CLV_REAL float
#endif
typedef CLV_REAL clv_real;
/* Vector types of clv_real (float2..float16 or double2..double16): PoCL and
 * GPU compilers turn operations on them into SIMD where they will not
 * vectorise a loop over work items by themselves. */
#define CLV__PASTE_(a, b) a##b
#define CLV__PASTE(a, b) CLV__PASTE_(a, b)
typedef CLV__PASTE(CLV_REAL, 2) clv_real2;
typedef CLV__PASTE(CLV_REAL, 4) clv_real4;
typedef CLV__PASTE(CLV_REAL, 8) clv_real8;
typedef CLV__PASTE(CLV_REAL, 16) clv_real16;

/* ---- item indexing -------------------------------------------------------
 * A map kernel starts its parameter list with CLV_ITEMS. The library fills
 * these hidden parameters; the kernel reads them only through the helpers
 * below, so it cannot depend on how the batch was cut into devices and
 * chunks. */
#define CLV_ITEMS                                                   \
    const ulong clv__chunk_end,   /* one past the chunk's last item */ \
    const ulong clv__device_first,/* first item this device owns */   \
    const ulong clv__chunk_first, /* first item of this launch */     \
    const ulong clv__seed,        /* clv_map_opts.seed */            \
    const uint  clv__group_per_item /* 1: one work group per item */

/* Global index of this work item's batch item: the same whatever the split.
 * Launches start at global id 0 and carry their first item in
 * clv__chunk_first: some runtimes (Intel's CPU runtime) mishandle global
 * offsets of 2^31 and more, and PoCL compiles a kernel again for every
 * non-zero offset. */
#define clv_item()                                                  \
    (clv__chunk_first + (ulong)(clv__group_per_item ? get_group_id(0) : get_global_id(0)))
/* False for the padding work items of the last work group of a launch. */
#define clv_in_batch() (clv_item() < clv__chunk_end)
/* Leave the kernel on padding work items (one-item-per-work-item shape). */
#define CLV_GUARD() do { if (!clv_in_batch()) return; } while (0)
/* Index of the item in this device's part of a batched (sharded) array. */
#define clv_local() (clv_item() - clv__device_first)
/* Slot of the item in the launch's scratch buffer (0 .. chunk-1). */
#define clv_slot() (clv_item() - clv__chunk_first)
/* The seed given in clv_map_opts. */
#define clv_seed() (clv__seed)

/* ---- Philox-4x32-10 ------------------------------------------------------
 * Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3"
 * (SC'11); constants and round structure as in Random123. Checked against
 * Random123's published known-answer vectors in tests/test_rng.c. */
inline uint4 clv_philox4x32_10(uint4 ctr, uint2 key)
{
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            key.x += 0x9E3779B9u;
            key.y += 0xBB67AE85u;
        }
        const uint hi0 = mul_hi(0xD2511F53u, ctr.x);
        const uint lo0 = 0xD2511F53u * ctr.x;
        const uint hi1 = mul_hi(0xCD9E8D57u, ctr.z);
        const uint lo1 = 0xCD9E8D57u * ctr.z;
        ctr = (uint4)(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);
    }
    return ctr;
}

/* A counter-based stream: key = seed (64 bits), counter = (draw, stream,
 * item). Draw n of stream s for item i is a pure function of
 * (seed, i, s, n), never of the chunk or the device. */
typedef struct clv_rng {
    uint2 key;
    uint  stream;
    uint  draw;   /* next block of 128 bits */
    ulong item;
    uint4 block;  /* the current block */
    uint  used;   /* 32-bit words of block already handed out (4 = empty) */
} clv_rng;

inline clv_rng clv_rng_init(ulong seed, ulong item, uint stream)
{
    clv_rng r;
    r.key = (uint2)((uint)seed, (uint)(seed >> 32));
    r.stream = stream;
    r.draw = 0;
    r.item = item;
    r.block = (uint4)(0);
    r.used = 4;
    return r;
}

/* The next 128 random bits of the stream. */
inline uint4 clv_rng_block(clv_rng *r)
{
    const uint4 ctr = (uint4)(r->draw, r->stream, (uint)r->item,
                              (uint)(r->item >> 32));
    r->draw += 1;
    return clv_philox4x32_10(ctr, r->key);
}

/* The next 32 random bits. */
inline uint clv_rng_u32(clv_rng *r)
{
    if (r->used == 4) {
        r->block = clv_rng_block(r);
        r->used = 0;
    }
    const uint words[4] = { r->block.x, r->block.y, r->block.z, r->block.w };
    return words[r->used++];
}

/* Uniform on the open interval (0, 1): 23 random bits plus half a step, so
 * neither 0 nor 1 can occur and log(u) is always finite. */
inline float clv_uniform_f32(clv_rng *r)
{
    return ((float)(clv_rng_u32(r) >> 9) + 0.5f) * 0x1.0p-23f;
}

/* Standard normal by Box-Muller (one of the pair is used; simple and
 * branch-free, which keeps the work items of a group in step). */
inline float clv_normal_f32(clv_rng *r)
{
    const float u1 = clv_uniform_f32(r);
    const float u2 = clv_uniform_f32(r);
    return sqrt(-2.0f * log(u1)) * cospi(2.0f * u2);
}

#ifdef CLV_FP64
/* Uniform on (0, 1) with 52 random bits plus half a step. */
inline double clv_uniform_f64(clv_rng *r)
{
    const ulong hi = clv_rng_u32(r);
    const ulong lo = clv_rng_u32(r);
    const ulong bits = ((hi << 32) | lo) >> 12;
    return ((double)bits + 0.5) * 0x1.0p-52;
}

inline double clv_normal_f64(clv_rng *r)
{
    const double u1 = clv_uniform_f64(r);
    const double u2 = clv_uniform_f64(r);
    return sqrt(-2.0 * log(u1)) * cospi(2.0 * u2);
}
#define clv_uniform(r) clv_uniform_f64(r)
#define clv_normal(r) clv_normal_f64(r)
#else
#define clv_uniform(r) clv_uniform_f32(r)
#define clv_normal(r) clv_normal_f32(r)
#endif

/* ---- cooperative work groups ---------------------------------------------
 * With clv_map_opts.shape = CLV_ITEM_PER_GROUP one work group runs one
 * batch item, and all its work items can share the item's work: each takes
 * a share of a loop (CLV_GROUP_BLOCK: a contiguous block, for CPUs;
 * CLV_GROUP_FOR: interleaved, for GPUs) and the group combines the shares
 * (clv_group_sum and friends). Rules:
 *   - every work item of the group calls each clv_group_* function, the
 *     same number of times (they hold barriers): no early return before;
 *   - tmp is a __local buffer of at least clv_lanes() values of the type
 *     (clv_lanes() x n for the _n forms), e.g. a clv_local_mem(L *
 *     sizeof(double)) argument (clv_map_local_size tells the host L),
 *     reusable from one call to the next;
 *   - the result is the same on every work item of the group.
 * Order: the lanes' values are added in lane order, 0, 1, ..., L-1. For
 * one value every lane adds them itself after one barrier (L additions a
 * lane); for the _n forms lane k % L adds value k's row and leaves the sum
 * in tmp for the others, so the group makes L additions per value, not L
 * on every lane (L x L per value, which made a 20-value gradient's sum
 * cost more than the 10^4 observations it summed). One value done the _n
 * way (lane 0 adds, the others wait) would be cheaper still, but PoCL 3.1
 * miscompiles it in the NUTS kernels (wrong sums with an if (lane == 0),
 * a crash of its compiler with a one-trip loop) where oclgrind and Intel's
 * runtime find nothing wrong. No barrier sits in a loop (compilers that
 * turn a work group into loops, as PoCL does, handle that quickly). The
 * order depends on the local size only, never on the chunk, the device
 * split or the number of groups, so cooperative kernels keep partition
 * invariance; two different local sizes may round differently. */

/* 1 where every device of the mesh runs a group's lanes one after another
 * (PoCL's CPU devices; the library passes -DCLV_LANES_IN_TURN to every
 * build), 0 where they run side by side (vectorised across the lanes:
 * Intel's CPU runtime, GPUs, oclgrind). One value for the whole mesh, so
 * code that chooses its form by it keeps partition invariance. */
#ifndef CLV_LANES_IN_TURN
#define CLV_LANES_IN_TURN 0
#endif

/* This work item's lane in the group (0 .. clv_lanes()-1) and the count. */
#define clv_lane() get_local_id(0)
#define clv_lanes() get_local_size(0)
/* for (i = lane; i < n; i += lanes): this lane's share of 0 .. n-1,
 * interleaved. Neighbouring lanes touch neighbouring i at the same time:
 * the coalesced form on a GPU when element i sits next to element i + 1. */
#define CLV_GROUP_FOR(i, n) for (size_t i = clv_lane(); i < (size_t)(n); i += clv_lanes())
/* This lane's share of 0 .. n-1 as one contiguous block: lane l takes
 * [l q, min((l + 1) q, n)), q = ceil(n / lanes). The form for CPU runtimes:
 * PoCL runs a group's lanes one after another, so the interleaved form
 * walks all the data once per lane (L passes over memory), the block form
 * once in all; Intel's runtime, which vectorises across the lanes, also
 * reads blocks faster (4x at 10^5 x 20 doubles; see the README). */
#define CLV__GROUP_BLOCK_LEN(n) (((size_t)(n) + clv_lanes() - 1) / clv_lanes())
#define CLV_GROUP_BLOCK(i, n)                                                  \
    for (size_t i = clv_lane() * CLV__GROUP_BLOCK_LEN(n),                      \
                i##_end = min(i + CLV__GROUP_BLOCK_LEN(n), (size_t)(n));       \
         i < i##_end; ++i)

#define CLV__GROUP_REDUCE(NAME, T, COMBINE)                                  \
inline T NAME(T v, __local T *tmp)                                          \
{                                                                            \
    volatile __local const T *all = tmp; /* read in lane order (see _N) */   \
    tmp[clv_lane()] = v;                                                     \
    barrier(CLK_LOCAL_MEM_FENCE);                                            \
    T r = all[0];                                                            \
    for (size_t l = 1; l < clv_lanes(); ++l) r = COMBINE(r, all[l]);         \
    barrier(CLK_LOCAL_MEM_FENCE); /* tmp may be reused at once */            \
    return r;                                                                \
}

/* A table of lanes x n values in __local memory: value k of this lane.
 * The layout of the _n sums' tmp; as accumulators it keeps a long private
 * array out of registers (see clv_group_sum_table). */
#define CLV_LANE_SLOT(tmp, k) (tmp)[(size_t)(k) * clv_lanes() + clv_lane()]

/* Row k of the table (lane k % lanes adds it): the sum of its lanes'
 * values in lane order. volatile: read in order (Intel's vectorizer
 * otherwise regroups the additions and breaks the lane order). */
#define CLV__TABLE_ROW_SUM(T, tmp, k, lanes, r)                              \
    do {                                                                     \
        volatile __local T *row_ = (tmp) + (k) * (lanes);                    \
        r = row_[0];                                                         \
        for (size_t l_ = 1; l_ < (lanes); ++l_) r += row_[l_];               \
    } while (0)

/* v[0..n-1] (private, each lane its own) become the sums over the lanes:
 * one reduction for a whole vector (a gradient's shares, say); tmp holds
 * clv_lanes() x n values, value k of lane l at k x lanes + l, and lane
 * k % lanes sums row k. */
#define CLV__GROUP_SUM_N(NAME, T)                                            \
inline void NAME(T *v, int n, __local T *tmp)                               \
{                                                                            \
    const size_t lanes = clv_lanes();                                        \
    for (int k = 0; k < n; ++k) CLV_LANE_SLOT(tmp, k) = v[k];               \
    barrier(CLK_LOCAL_MEM_FENCE);                                            \
    for (size_t k = clv_lane(); k < (size_t)n; k += lanes) {                 \
        T r;                                                                 \
        CLV__TABLE_ROW_SUM(T, tmp, k, lanes, r);                             \
        tmp[k * lanes] = r;                                                  \
    }                                                                        \
    barrier(CLK_LOCAL_MEM_FENCE);                                            \
    for (int k = 0; k < n; ++k) v[k] = tmp[(size_t)k * lanes];              \
    barrier(CLK_LOCAL_MEM_FENCE); /* tmp may be reused at once */            \
}

/* The same sums when the shares already sit in the table (each lane
 * accumulated into CLV_LANE_SLOT(tmp, k) itself): out[k] = the sum of
 * row k, in lane order, so the same bits as clv_group_sum_n over the
 * same shares. Lane k % lanes writes out[k]; another lane sees it after a
 * barrier(CLK_GLOBAL_MEM_FENCE). tmp is free again on return. Why a table:
 * a runtime that vectorises across the lanes (Intel's CPU runtime, GPUs)
 * holds a private array as one vector register per element, and beyond
 * about 32 elements it spills them; cooperative logistic NUTS at d = 100
 * (10^4 rows, 500 + 500 iterations) took 58.5 s with private shares and
 * 41.1 s with the table on Intel's runtime (README). Where lanes run in
 * turn (CLV_LANES_IN_TURN: PoCL's CPU devices) private shares stay the
 * faster form. */
#define CLV__GROUP_SUM_TABLE(NAME, T)                                        \
inline void NAME(__local T *tmp, int n, __global T *out)                    \
{                                                                            \
    const size_t lanes = clv_lanes();                                        \
    barrier(CLK_LOCAL_MEM_FENCE);                                            \
    for (size_t k = clv_lane(); k < (size_t)n; k += lanes) {                 \
        T r;                                                                 \
        CLV__TABLE_ROW_SUM(T, tmp, k, lanes, r);                             \
        out[k] = r;                                                          \
    }                                                                        \
    barrier(CLK_LOCAL_MEM_FENCE); /* tmp may be reused at once */            \
}

/* Lane 0's value, on every lane. */
#define CLV__GROUP_BROADCAST(NAME, T)                                        \
inline T NAME(T v, __local T *tmp)                                          \
{                                                                            \
    if (clv_lane() == 0) tmp[0] = v;                                         \
    barrier(CLK_LOCAL_MEM_FENCE);                                            \
    const T r = tmp[0];                                                      \
    barrier(CLK_LOCAL_MEM_FENCE);                                            \
    return r;                                                                \
}

/* log(sum(exp(v))) over the lanes; -inf when every lane has -inf. */
#define CLV__GROUP_LOGSUMEXP(NAME, T, MAX, SUM)                              \
inline T NAME(T v, __local T *tmp)                                          \
{                                                                            \
    const T top = MAX(v, tmp);                                               \
    const T s = SUM(isinf(top) ? (T)0 : exp(v - top), tmp);                 \
    return isinf(top) ? top : top + log(s);                                  \
}

#define CLV__ADD(a, b) ((a) + (b))
CLV__GROUP_REDUCE(clv_group_sum_f32, float, CLV__ADD)
CLV__GROUP_REDUCE(clv_group_max_f32, float, fmax)
CLV__GROUP_SUM_N(clv_group_sum_n_f32, float)
CLV__GROUP_SUM_TABLE(clv_group_sum_table_f32, float)
CLV__GROUP_BROADCAST(clv_group_broadcast_f32, float)
CLV__GROUP_LOGSUMEXP(clv_group_logsumexp_f32, float, clv_group_max_f32, clv_group_sum_f32)

#ifdef CLV_FP64
CLV__GROUP_REDUCE(clv_group_sum_f64, double, CLV__ADD)
CLV__GROUP_REDUCE(clv_group_max_f64, double, fmax)
CLV__GROUP_SUM_N(clv_group_sum_n_f64, double)
CLV__GROUP_SUM_TABLE(clv_group_sum_table_f64, double)
CLV__GROUP_BROADCAST(clv_group_broadcast_f64, double)
CLV__GROUP_LOGSUMEXP(clv_group_logsumexp_f64, double, clv_group_max_f64, clv_group_sum_f64)
#endif

/* The same for clv_real. */
#ifdef CLV_REAL_F64
#define clv_group_sum(v, tmp) clv_group_sum_f64((v), (tmp))
#define clv_group_sum_n(v, n, tmp) clv_group_sum_n_f64((v), (n), (tmp))
#define clv_group_sum_table(tmp, n, out) clv_group_sum_table_f64((tmp), (n), (out))
#define clv_group_max(v, tmp) clv_group_max_f64((v), (tmp))
#define clv_group_logsumexp(v, tmp) clv_group_logsumexp_f64((v), (tmp))
#define clv_group_broadcast(v, tmp) clv_group_broadcast_f64((v), (tmp))
#else
#define clv_group_sum(v, tmp) clv_group_sum_f32((v), (tmp))
#define clv_group_sum_n(v, n, tmp) clv_group_sum_n_f32((v), (n), (tmp))
#define clv_group_sum_table(tmp, n, out) clv_group_sum_table_f32((tmp), (n), (out))
#define clv_group_max(v, tmp) clv_group_max_f32((v), (tmp))
#define clv_group_logsumexp(v, tmp) clv_group_logsumexp_f32((v), (tmp))
#define clv_group_broadcast(v, tmp) clv_group_broadcast_f32((v), (tmp))
#endif
