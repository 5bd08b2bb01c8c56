/* Out-of-core maps: batched arguments streamed from host memory
 * (clv_in_host, clv_out_host, clv_inout_host).
 * 1. Bitwise the resident map's outputs (f32 and f64; clv_normal draws by
 *    global item; scratch; a replicated input beside the streamed ones;
 *    item_offset) for chunk 1, 7, auto and none on 1, 2 and 3 devices,
 *    equal and uneven weights; an inout map likewise; one work group per
 *    item with __local memory.
 * 2. A batch whose input exceeds the device's reported memory (meson runs
 *    this test with POCL_MEMORY_LIMIT=1, a 1 GiB device; CLV_STREAM_LOG2
 *    sets the batch, default 2^26 items x 16 floats = 4 GiB; 2^14 with
 *    CLV_TEST_SMALL=1): every output right, the device high-water the same
 *    as for a batch of 4 chunks at the same chunk, and under the
 *    reported memory with CLV_CHUNK_AUTO.
 * 3. Bad input: NULL host memory, too few bytes, an output aliasing an
 *    input, an unknown dtype, 0 elements per item, a sharded array in the
 *    same map: the status, nothing launched, nothing written, nothing held.
 * 4. Faults (CLV_FAULT_INJECTION): a device dying mid-stream with failover
 *    gives the fault-free bits (out and inout maps); without failover the
 *    message names the items not written, and exactly those are untouched;
 *    an allocation failure halves the chunk with the same bits. */
#define CLV_FAULT_INJECTION
#include "test_util.h"
#include <stdint.h>

#define D 5 /* elements per item of x */

static const char *source =
    "__kernel void body(CLV_ITEMS, __global const clv_real *x, __global const clv_real *c,\n"
    "                   __global clv_real *y, __global clv_real *s, const int d) {\n"
    "    CLV_GUARD();\n"
    "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 0);\n"
    "    __global clv_real *w = s + clv_slot() * d;\n"
    "    for (int e = 0; e < d; ++e) w[e] = x[clv_local() * d + e] * c[e] + clv_normal(&r);\n"
    "    clv_real acc = 0;\n"
    "    for (int e = 0; e < d; ++e) acc += w[e] * w[e];\n"
    "    y[clv_local() * 2] = sqrt(acc);\n"
    "    y[clv_local() * 2 + 1] = (clv_real)clv_item();\n"
    "}\n"
    "__kernel void bump(CLV_ITEMS, __global clv_real *z) {\n"
    "    CLV_GUARD();\n"
    "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 1);\n"
    "    z[clv_local()] = z[clv_local()] * (clv_real)0.5 + clv_uniform(&r);\n"
    "}\n"
    "/* one work group per item (CLV_ITEM_PER_GROUP): the lanes share the item */\n"
    "__kernel void lanes(CLV_ITEMS, __global const float *x, __global float *y, __local float *part) {\n"
    "    CLV_GUARD();\n"
    "    int lane = get_local_id(0);\n"
    "    part[lane] = x[clv_local() * 4 + lane] * (float)(lane + 1) + (float)clv_item();\n"
    "    barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    if (lane == 0) y[clv_local()] = (part[0] + part[1]) + (part[2] + part[3]);\n"
    "}\n"
    "__kernel void sum16(CLV_ITEMS, __global const float *x, __global float *y) {\n"
    "    CLV_GUARD();\n"
    "    float acc = 0;\n"
    "    for (int e = 0; e < 16; ++e) acc += x[clv_local() * 16 + e];\n"
    "    y[clv_local()] = acc;\n"
    "}\n";

static clv_program *build(clv_mesh *m, clv_dtype real)
{
    clv_program *p;
    clv_program_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.source = source;
    pd.name = "test_stream.cl";
    pd.real = real;
    TU_REQUIRE_OK(m, clv_program_build(&p, m, &pd));
    return p;
}

typedef struct batch {
    size_t n;
    clv_dtype real;
    void *x, *c; /* n x D, D */
} batch;

static size_t esize(clv_dtype t) { return clv_dtype_size(t); }

static void put(void *v, clv_dtype t, size_t i, double value)
{
    if (t == CLV_F64) ((double *)v)[i] = value;
    else ((float *)v)[i] = (float)value;
}

static batch make_batch(size_t n, clv_dtype real, unsigned long long seed)
{
    batch b;
    b.n = n;
    b.real = real;
    b.x = malloc(n * D * esize(real));
    b.c = malloc(D * esize(real));
    for (size_t i = 0; i < n * D; ++i) put(b.x, real, i, (double)(tu_next(&seed) >> 11) * 0x1p-53 - 0.5);
    for (size_t e = 0; e < D; ++e) put(b.c, real, e, 1.0 + 0.25 * (double)e);
    return b;
}

static void batch_free(batch *b)
{
    free(b->x);
    free(b->c);
}

/* clv_map_opts.stage_inputs for the streamed maps: 0 reads clv_in_host
 * chunks in place on a device sharing host memory (PoCL), 1 copies them to
 * staging buffers as on a GPU: the tests run both. */
static int g_stage;

static clv_map_opts opts(long chunk, uint64_t offset)
{
    clv_map_opts o;
    memset(&o, 0, sizeof o);
    o.chunk = chunk;
    o.seed = 77;
    o.item_offset = offset;
    o.stage_inputs = g_stage;
    return o;
}

/* The resident map: sharded x and y, replicated c. */
static clv_status run_resident(clv_mesh *m, clv_program *p, const batch *b, long chunk, uint64_t offset, void *y)
{
    clv_array *xa, *ca, *ya;
    clv_map_opts o = opts(chunk, offset);
    TU_REQUIRE_OK(m, clv_array_new(&xa, m, b->real, b->n, D, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_new(&ca, m, b->real, D, 1, CLV_REPLICATED));
    TU_REQUIRE_OK(m, clv_array_new(&ya, m, b->real, b->n, 2, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_write(xa, b->x));
    TU_REQUIRE_OK(m, clv_array_write(ca, b->c));
    clv_status s = CLV_MAP(p, "body", b->n, &o, clv_in(xa), clv_in(ca), clv_out(ya),
                           clv_scratch(D * esize(b->real)), clv_int(D));
    if (s == CLV_OK) TU_REQUIRE_OK(m, clv_array_read(ya, y));
    clv_array_free(xa);
    clv_array_free(ca);
    clv_array_free(ya);
    return s;
}

/* The same map with x and y streamed from host memory. */
static clv_status run_streamed(clv_mesh *m, clv_program *p, const batch *b, long chunk, uint64_t offset, void *y)
{
    clv_array *ca;
    clv_map_opts o = opts(chunk, offset);
    size_t es = esize(b->real);
    TU_REQUIRE_OK(m, clv_array_new(&ca, m, b->real, D, 1, CLV_REPLICATED));
    TU_REQUIRE_OK(m, clv_array_write(ca, b->c));
    clv_status s = CLV_MAP(p, "body", b->n, &o, clv_in_host(b->x, b->n * D * es, b->real, D), clv_in(ca),
                           clv_out_host(y, b->n * 2 * es, b->real, 2), clv_scratch(D * es), clv_int(D));
    clv_array_free(ca);
    return s;
}

static clv_status run_bump_resident(clv_mesh *m, clv_program *p, const batch *b, long chunk, void *z)
{
    clv_array *za;
    clv_map_opts o = opts(chunk, 0);
    TU_REQUIRE_OK(m, clv_array_new(&za, m, b->real, b->n, 1, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_write(za, b->x)); /* the first n values of x */
    clv_status s = CLV_MAP(p, "bump", b->n, &o, clv_inout(za));
    if (s == CLV_OK) s = CLV_MAP(p, "bump", b->n, &o, clv_inout(za));
    if (s == CLV_OK) TU_REQUIRE_OK(m, clv_array_read(za, z));
    clv_array_free(za);
    return s;
}

static clv_status run_bump_streamed(clv_mesh *m, clv_program *p, const batch *b, long chunk, void *z)
{
    clv_map_opts o = opts(chunk, 0);
    size_t bytes = b->n * esize(b->real);
    (void)m;
    memcpy(z, b->x, bytes);
    clv_status s = CLV_MAP(p, "bump", b->n, &o, clv_inout_host(z, bytes, b->real, 1));
    if (s == CLV_OK) s = CLV_MAP(p, "bump", b->n, &o, clv_inout_host(z, bytes, b->real, 1));
    return s;
}

static const char *chunk_name(long chunk, char *buf)
{
    if (chunk == CLV_CHUNK_AUTO) return "auto";
    if (chunk == CLV_CHUNK_NONE) return "none";
    snprintf(buf, 32, "%ld", chunk);
    return buf;
}

/* 1. streamed == resident, bit for bit */
static void check_invariance(clv_dtype real)
{
    size_t n = tu_small() ? 150 : 1500;
    const uint64_t offsets[2] = {0, 1234567};
    clv_mesh *m1 = tu_open(1, NULL);
    if (!m1) return;
    clv_program *p1 = build(m1, real);
    batch b = make_batch(n, real, tu_seed());
    size_t ybytes = n * 2 * esize(real), zbytes = n * esize(real);
    void *ref[2], *got = malloc(ybytes), *zref = malloc(zbytes), *z = malloc(zbytes);
    for (int k = 0; k < 2; ++k) {
        ref[k] = malloc(ybytes);
        TU_REQUIRE_OK(m1, run_resident(m1, p1, &b, CLV_CHUNK_NONE, offsets[k], ref[k]));
    }
    TU_REQUIRE_OK(m1, run_bump_resident(m1, p1, &b, CLV_CHUNK_NONE, zref));
    clv_program_free(p1);
    clv_mesh_close(m1);

    const long chunks[4] = {1, 7, CLV_CHUNK_AUTO, CLV_CHUNK_NONE};
    const double uneven[3] = {1.0, 3.0, 2.0};
    for (int nd = 1; nd <= 3; ++nd)
        for (int w = 0; w < (nd > 1 ? 2 : 1); ++w) {
            clv_mesh *m = tu_open(nd, w ? uneven : NULL);
            if (!m) continue;
            clv_program *p = build(m, real);
            for (int c = 0; c < 4; ++c) {
                char buf[32];
                const char *cn = chunk_name(chunks[c], buf);
                if (chunks[c] == 1 && tu_small() && nd > 1) continue;
                for (int k = 0; k < 2; ++k) {
                    g_stage = (c + k + w) & 1;
                    memset(got, 0xAB, ybytes);
                    clv_status s = run_streamed(m, p, &b, chunks[c], offsets[k], got);
                    TU_CHECK(s == CLV_OK, "%s %d dev w%d chunk %s: %s", clv_dtype_size(real) == 8 ? "f64" : "f32",
                             nd, w, cn, clv_mesh_message(m));
                    TU_CHECK(s != CLV_OK || memcmp(got, ref[k], ybytes) == 0,
                             "%s %d dev w%d chunk %s offset %llu stage %d: streamed outputs differ from the resident "
                             "map", clv_dtype_size(real) == 8 ? "f64" : "f32", nd, w, cn, (unsigned long long)offsets[k],
                             g_stage);
                }
                clv_status s = run_bump_streamed(m, p, &b, chunks[c], z);
                TU_CHECK(s == CLV_OK && memcmp(z, zref, zbytes) == 0, "inout %d dev w%d chunk %s: %s", nd, w, cn,
                         s == CLV_OK ? "differs from the resident map" : clv_mesh_message(m));
            }
            /* staging is counted like scratch: trimmed, nothing is held */
            TU_CHECK(tu_bytes_held(m) == 0, "%d dev: device bytes held after the maps", nd);
            clv_program_free(p);
            clv_mesh_close(m);
        }
    for (int k = 0; k < 2; ++k) free(ref[k]);
    free(got);
    free(zref);
    free(z);
    batch_free(&b);
}

/* 1b. one work group per item, streamed == resident */
static void check_per_group(void)
{
    const size_t n = 333;
    float x[333 * 4], ref[333], got[333];
    for (size_t i = 0; i < n * 4; ++i) x[i] = (float)(i % 97) * 0.125f;
    clv_map_opts o = opts(7, 5);
    o.shape = CLV_ITEM_PER_GROUP;
    o.local_size = 4;
    clv_mesh *m = tu_open(1, NULL);
    if (!m) return;
    clv_program *p = build(m, CLV_F32);
    clv_array *xa, *ya;
    TU_REQUIRE_OK(m, clv_array_new(&xa, m, CLV_F32, n, 4, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_new(&ya, m, CLV_F32, n, 1, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_write(xa, x));
    TU_REQUIRE_OK(m, CLV_MAP(p, "lanes", n, &o, clv_in(xa), clv_out(ya), clv_local_mem(4 * sizeof(float))));
    TU_REQUIRE_OK(m, clv_array_read(ya, ref));
    clv_array_free(xa);
    clv_array_free(ya);
    clv_program_free(p);
    clv_mesh_close(m);
    for (int nd = 1; nd <= 2; ++nd) {
        m = tu_open(nd, NULL);
        if (!m) continue;
        p = build(m, CLV_F32);
        memset(got, 0, sizeof got);
        clv_status s = CLV_MAP(p, "lanes", n, &o, clv_in_host(x, sizeof x, CLV_F32, 4),
                               clv_out_host(got, sizeof got, CLV_F32, 1), clv_local_mem(4 * sizeof(float)));
        TU_CHECK(s == CLV_OK && memcmp(got, ref, sizeof ref) == 0, "per group, %d device(s): %s", nd,
                 s == CLV_OK ? "streamed outputs differ from the resident map" : clv_mesh_message(m));
        clv_program_free(p);
        clv_mesh_close(m);
    }
}

/* 2. more than the device's memory, streamed */
static uint64_t high_water(clv_mesh *m)
{
    clv_device_stats st;
    clv_mesh_stats(m, 0, &st);
    return st.bytes_high_water;
}

static clv_status run_sum16(clv_mesh *m, clv_program *p, size_t n, long chunk, const float *x, float *y)
{
    clv_map_opts o = opts(chunk, 0);
    (void)m;
    return CLV_MAP(p, "sum16", n, &o, clv_in_host(x, n * 16 * sizeof(float), CLV_F32, 16),
                   clv_out_host(y, n * sizeof(float), CLV_F32, 1));
}

static void check_out_of_core(void)
{
    const char *env = getenv("CLV_STREAM_LOG2");
    int log2 = env && *env ? atoi(env) : tu_small() ? 14 : 26;
    const long chunk = tu_small() ? 1 << 10 : 1 << 16;
    g_stage = 1; /* copied to staging, as on a GPU: the high-water is exact */
    size_t n = (size_t)1 << log2, small = (size_t)chunk * 4;
    clv_mesh *m = tu_open(1, NULL);
    if (!m) return;
    clv_program *p = build(m, CLV_F32);
    clv_device_info info;
    clv_mesh_device_info(m, 0, &info);
    float *x = (float *)malloc(n * 16 * sizeof(float)), *y = (float *)malloc(n * sizeof(float));
    if (!x || !y) {
        printf("skip: no host memory for %zu items\n", n);
        free(x);
        free(y);
        clv_program_free(p);
        clv_mesh_close(m);
        return;
    }
    for (size_t i = 0; i < n; ++i)
        for (int e = 0; e < 16; ++e) x[i * 16 + e] = (float)((i + (size_t)e) & 1023); /* sums are exact */
    printf("out of core: %zu items x 16 floats = %.2f GiB of input, device reports %.2f GiB\n", n,
           (double)n * 64 / (1 << 30), (double)info.global_mem_bytes / (1 << 30));
    /* The point is an input beyond the device's memory (PoCL: POCL_MEMORY_LIMIT=1, as meson runs it). A
     * runtime that cannot be told to report less (Intel's) still gets the flat high-water checks below. */
    if (!tu_small() && (uint64_t)n * 64 <= info.global_mem_bytes)
        printf("note: the input (%zu bytes) fits this device (%llu bytes; PoCL shrinks it with "
               "POCL_MEMORY_LIMIT=1): only the memory bound is checked, not a batch beyond the device\n", n * 64,
               (unsigned long long)info.global_mem_bytes);
    clv_mesh_reset_stats(m);
    clv_status s = run_sum16(m, p, small, chunk, x, y);
    TU_CHECK(s == CLV_OK, "%zu items: %s", small, clv_mesh_message(m));
    uint64_t hw_small = high_water(m);
    clv_mesh_trim(m);
    clv_mesh_reset_stats(m); /* high-water back to what is held now */
    uint64_t base = high_water(m);
    memset(y, 0, n * sizeof(float));
    s = run_sum16(m, p, n, chunk, x, y);
    TU_CHECK(s == CLV_OK, "%zu items: %s", n, clv_mesh_message(m));
    uint64_t hw_big = high_water(m);
    size_t bad = 0;
    for (size_t i = 0; s == CLV_OK && i < n; ++i) {
        double want = 0;
        for (int e = 0; e < 16; ++e) want += (double)((i + (size_t)e) & 1023);
        bad += y[i] != (float)want;
    }
    TU_CHECK(bad == 0, "%zu of %zu streamed outputs are wrong", bad, n);
    printf("chunk %ld: high-water %llu bytes for %zu items, %llu for 2^%d (before: %llu)\n", chunk,
           (unsigned long long)hw_small, small, (unsigned long long)hw_big, log2, (unsigned long long)base);
    TU_CHECK(hw_big <= hw_small && hw_small > 0, "device high-water grows with the batch: %llu for %zu items, "
             "%llu for 2^%d", (unsigned long long)hw_small, small, (unsigned long long)hw_big, log2);
    TU_CHECK(hw_small == 3ull * (uint64_t)chunk * (64 + 4), "high-water %llu, expected 3 slots x chunk x 68 bytes",
             (unsigned long long)hw_small);
    /* read in place (PoCL shares host memory): only the output's slots */
    g_stage = 0;
    clv_mesh_trim(m);
    clv_mesh_reset_stats(m);
    s = run_sum16(m, p, n, chunk, x, y);
    TU_CHECK(s == CLV_OK, "in place: %s", clv_mesh_message(m));
    TU_CHECK(high_water(m) <= hw_small, "in place: high-water %llu above the staged %llu",
             (unsigned long long)high_water(m), (unsigned long long)hw_small);
    printf("in place: high-water %llu bytes\n", (unsigned long long)high_water(m));
    g_stage = 1;
    /* CLV_CHUNK_AUTO: the staging fits the reported memory */
    clv_mesh_trim(m);
    s = run_sum16(m, p, n, CLV_CHUNK_AUTO, x, y);
    clv_device_stats st;
    clv_mesh_stats(m, 0, &st);
    TU_CHECK(s == CLV_OK, "auto: %s", clv_mesh_message(m));
    TU_CHECK(st.bytes_high_water < info.global_mem_bytes, "auto: high-water %llu, device memory %llu",
             (unsigned long long)st.bytes_high_water, (unsigned long long)info.global_mem_bytes);
    printf("auto: chunk %llu, high-water %llu bytes\n", (unsigned long long)st.chunk_used,
           (unsigned long long)st.bytes_high_water);
    bad = 0;
    for (size_t i = 0; s == CLV_OK && i < n; i += 997) {
        double want = 0;
        for (int e = 0; e < 16; ++e) want += (double)((i + (size_t)e) & 1023);
        bad += y[i] != (float)want;
    }
    TU_CHECK(bad == 0, "auto: %zu sampled outputs wrong", bad);
    free(x);
    free(y);
    clv_program_free(p);
    clv_mesh_close(m);
}

/* 3. bad input */
static uint64_t g_base;
static void expect_refused(clv_mesh *m, clv_status s, clv_status want, const char *what, const void *y,
                           size_t ybytes, const char *needle)
{
    const unsigned char *c = (const unsigned char *)y;
    size_t touched = 0;
    for (size_t i = 0; i < ybytes; ++i) touched += c[i] != 0xCD;
    TU_CHECK(s == want, "%s: %s, expected %s (%s)", what, clv_status_string(s), clv_status_string(want),
             clv_mesh_message(m));
    TU_CHECK(!needle || strstr(clv_mesh_message(m), needle), "%s: message \"%s\" lacks \"%s\"", what,
             clv_mesh_message(m), needle);
    TU_CHECK(touched == 0, "%s: %zu output bytes written", what, touched);
    TU_CHECK(TU_STAT_SUM(m, launches) == 0, "%s: launched", what);
    TU_CHECK(TU_STAT_SUM(m, bytes_current) == g_base, "%s: device bytes held", what);
}

static void check_bad_input(void)
{
    clv_mesh *m = tu_open(2, NULL);
    if (!m) return;
    clv_program *p = build(m, CLV_F32);
    const size_t n = 100;
    float *x = (float *)calloc(n * 17, sizeof(float)), *y = (float *)malloc(n * 2 * sizeof(float));
    size_t xb = n * D * sizeof(float), yb = n * 2 * sizeof(float);
    clv_array *ca, *sa;
    TU_REQUIRE_OK(m, clv_array_new(&ca, m, CLV_F32, D, 1, CLV_REPLICATED));
    TU_REQUIRE_OK(m, clv_array_new(&sa, m, CLV_F32, n, 2, CLV_SHARDED));
    clv_map_opts o = opts(7, 0);
    clv_mesh_trim(m);
    clv_mesh_reset_stats(m);
    g_base = TU_STAT_SUM(m, bytes_current); /* the two arrays */
    {
        float *big = (float *)malloc(n * 7 * sizeof(float));
        memset(big, 0xCD, n * 7 * sizeof(float));
        clv_status s = CLV_MAP(p, "body", n, &o, clv_in_host(big, xb, CLV_F32, D), clv_in(ca),
                               clv_out_host(big + n * D - 10, yb, CLV_F32, 2), clv_scratch(D * 4), clv_int(D));
        expect_refused(m, s, CLV_ERROR_INVALID_ARGUMENT, "an output overlapping an input", big,
                       n * 7 * sizeof(float), "overlaps");
        s = CLV_MAP(p, "bump", n, &o, clv_inout_host(big, n * 4, CLV_F32, 1));
        TU_CHECK(s == CLV_OK, "one inout buffer is no alias: %s", clv_mesh_message(m));
        clv_mesh_trim(m);
        clv_mesh_reset_stats(m);
        free(big);
    }
    /* messages, one at a time (the mesh keeps the latest) */
    memset(y, 0xCD, yb);
    expect_refused(m, CLV_MAP(p, "body", n, &o, clv_in_host(NULL, xb, CLV_F32, D), clv_in(ca),
                              clv_out_host(y, yb, CLV_F32, 2), clv_scratch(D * 4), clv_int(D)),
                   CLV_ERROR_INVALID_ARGUMENT, "NULL input", y, yb, "NULL host");
    expect_refused(m, CLV_MAP(p, "body", n, &o, clv_in_host(x, xb - 1, CLV_F32, D), clv_in(ca),
                              clv_out_host(y, yb, CLV_F32, 2), clv_scratch(D * 4), clv_int(D)),
                   CLV_ERROR_SHAPE, "input too short", y, yb, "need 2000");
    expect_refused(m, CLV_MAP(p, "body", n, &o, clv_in_host(x, xb, CLV_F32, D), clv_in(ca),
                              clv_out_host(y, yb - 4, CLV_F32, 2), clv_scratch(D * 4), clv_int(D)),
                   CLV_ERROR_SHAPE, "output too short", y, yb, "need 800");
    expect_refused(m, CLV_MAP(p, "body", n, &o, clv_in_host(x, 2 * xb, CLV_F64, D), clv_in(ca),
                              clv_out_host(y, yb, CLV_F32, 2), clv_scratch(D * 4), clv_int(D)),
                   CLV_ERROR_ARGUMENT_TYPE, "f64 host memory for a float parameter", y, yb, "holds double");
    expect_refused(m, CLV_MAP(p, "body", n, &o, clv_in_host(x, xb, (clv_dtype)9, D), clv_in(ca),
                              clv_out_host(y, yb, CLV_F32, 2), clv_scratch(D * 4), clv_int(D)),
                   CLV_ERROR_INVALID_ARGUMENT, "unknown dtype", y, yb, "unknown dtype");
    expect_refused(m, CLV_MAP(p, "body", n, &o, clv_in_host(x, xb, CLV_F32, 0), clv_in(ca),
                              clv_out_host(y, yb, CLV_F32, 2), clv_scratch(D * 4), clv_int(D)),
                   CLV_ERROR_INVALID_ARGUMENT, "0 elements per item", y, yb, "0 elements per item");
    expect_refused(m, CLV_MAP(p, "body", n, &o, clv_in_host(x, xb, CLV_F32, D), clv_in(ca),
                              clv_out(sa), clv_scratch(D * 4), clv_int(D)),
                   CLV_ERROR_SHAPE, "sharded output mixed with a streamed input", y, yb, "CLV_SHARDED");
    clv_array_free(ca);
    clv_array_free(sa);
    TU_CHECK(tu_bytes_held(m) == 0, "bad input: device bytes held at the end");
    free(x);
    free(y);
    clv_program_free(p);
    clv_mesh_close(m);
}

/* 4. faults */
static void check_faults(void)
{
    size_t n = 900;
    batch b = make_batch(n, CLV_F32, 99);
    size_t ybytes = n * 2 * sizeof(float), zbytes = n * sizeof(float);
    void *ref = malloc(ybytes), *got = malloc(ybytes), *zref = malloc(zbytes), *z = malloc(zbytes);
    clv_mesh *m = tu_open(1, NULL);
    if (!m) return;
    clv_program *p = build(m, CLV_F32);
    TU_REQUIRE_OK(m, run_resident(m, p, &b, CLV_CHUNK_NONE, 0, ref));
    TU_REQUIRE_OK(m, run_bump_resident(m, p, &b, CLV_CHUNK_NONE, zref));
    clv_program_free(p);
    clv_mesh_close(m);

    /* failover: device 1 dies at its 3rd launch, out and inout maps */
    for (int kind = 0; kind < 2; ++kind) {
        m = tu_open_failover(3, NULL, 1);
        if (!m) break;
        p = build(m, CLV_F32);
        clv_mesh_faults(m)->lose_devices = 2;
        clv_mesh_faults(m)->lose_at_launch = 3;
        clv_status s = kind ? run_bump_streamed(m, p, &b, 7, z) : run_streamed(m, p, &b, 7, 0, got);
        TU_CHECK(s == CLV_OK, "failover (%s, stage %d): %s", kind ? "inout" : "out", g_stage, clv_mesh_message(m));
        TU_CHECK(s != CLV_OK || (kind ? memcmp(z, zref, zbytes) : memcmp(got, ref, ybytes)) == 0,
                 "failover (%s): outputs differ from the fault-free run", kind ? "inout" : "out");
        clv_device_info info;
        clv_device_stats st;
        clv_mesh_device_info(m, 1, &info);
        clv_mesh_stats(m, 1, &st);
        TU_CHECK(info.lost && st.launches == 2, "failover: device 1 lost %d after %llu launches", info.lost,
                 (unsigned long long)st.launches);
        TU_CHECK(TU_STAT_SUM(m, items_recovered) > 0, "failover: nothing recovered");
        TU_CHECK(tu_bytes_held(m) == 0, "failover: device bytes held");
        clv_program_free(p);
        clv_mesh_close(m);
    }

    /* without failover: the items not written are named, and untouched */
    m = tu_open(3, NULL);
    if (m) {
        p = build(m, CLV_F32);
        size_t first[3], count[3];
        clv_mesh_split_items(m, n, first, count);
        clv_mesh_faults(m)->lose_devices = 2;
        clv_mesh_faults(m)->lose_at_launch = 3;
        memset(got, 0xCD, ybytes);
        clv_status s = run_streamed(m, p, &b, 7, 0, got);
        char want[96];
        size_t lost_from = first[1] + 14, lost_to = first[1] + count[1] - 1;
        snprintf(want, sizeof want, "items %zu..%zu were not written", lost_from, lost_to);
        TU_CHECK(s == CLV_ERROR_DEVICE_LOST, "no failover: %s", clv_status_string(s));
        TU_CHECK(strstr(clv_mesh_message(m), want) != NULL, "no failover: message \"%s\" lacks \"%s\"",
                 clv_mesh_message(m), want);
        size_t wrong = 0;
        for (size_t i = 0; i < n; ++i) {
            int lost = i >= lost_from && i <= lost_to;
            const unsigned char *gi = (const unsigned char *)got + i * 8, *ri = (const unsigned char *)ref + i * 8;
            int untouched = 1;
            for (int k = 0; k < 8; ++k) untouched &= gi[k] == 0xCD;
            wrong += lost ? !untouched : memcmp(gi, ri, 8) != 0;
        }
        TU_CHECK(wrong == 0, "no failover: %zu items are not as the message says", wrong);
        TU_CHECK(tu_bytes_held(m) == 0, "no failover: device bytes held");
        clv_program_free(p);
        clv_mesh_close(m);
    }

    /* allocation failures halve the chunk (at creation, and a late one), same bits */
    for (int kind = 0; kind < 2; ++kind) {
        m = tu_open(2, NULL);
        if (!m) break;
        p = build(m, CLV_F32);
        if (kind == 0) /* room for chunk 64, not 128 (x has slots only when staged) */
            clv_mesh_faults(m)->device_bytes = 3 * 64 * ((g_stage ? D * 4 : 0) + 8) + D * 4 * 64 + 64;
        else clv_mesh_faults(m)->failed_launch = 2;
        clv_status s = run_streamed(m, p, &b, 128, 0, got);
        TU_CHECK(s == CLV_OK && memcmp(got, ref, ybytes) == 0, "halving (%s): %s", kind ? "late" : "creation",
                 s == CLV_OK ? "outputs differ" : clv_mesh_message(m));
        TU_CHECK(TU_STAT_SUM(m, chunk_halvings) > 0, "halving (%s): the chunk was not halved", kind ? "late" : "creation");
        s = run_bump_streamed(m, p, &b, 128, z);
        TU_CHECK(s == CLV_OK && memcmp(z, zref, zbytes) == 0, "halving inout (%s): %s", kind ? "late" : "creation",
                 s == CLV_OK ? "outputs differ" : clv_mesh_message(m));
        clv_program_free(p);
        clv_mesh_close(m);
    }
    free(ref);
    free(got);
    free(zref);
    free(z);
    batch_free(&b);
}

int main(void)
{
    check_bad_input();
    check_invariance(CLV_F32);
    {
        clv_mesh *m = tu_open(1, NULL);
        clv_device_info info;
        int fp64 = m && clv_mesh_device_info(m, 0, &info) == CLV_OK && info.fp64;
        clv_mesh_close(m);
        if (fp64) check_invariance(CLV_F64);
        else printf("skip: f64 (no cl_khr_fp64)\n");
    }
    check_per_group();
    for (g_stage = 0; g_stage < 2; ++g_stage) check_faults();
    check_out_of_core();
    return tu_summary();
}
