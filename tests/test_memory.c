/* Bounded, counted memory (DESIGN.md guarantee 2).
 * 1. A chunked map's scratch high-water is exactly chunk x bytes-per-item on
 *    each device, the same for every batch size; the whole high-water is the
 *    batched arrays plus that scratch.
 * 2. CLV_CHUNK_AUTO fits the scratch in the device's reported memory and in
 *    one allocation (meson runs this test with POCL_MEMORY_LIMIT=1, a 1 GiB
 *    device) and gives the same bits as a small explicit chunk.
 * 3. Allocation failures halve the chunk and re-run it, at buffer creation
 *    and at enqueue (simulated with CLV_FAULT_INJECTION, since PoCL never
 *    fails an allocation), with the same bits; the stats count the halvings.
 *    When even one item does not fit, the map says so and holds nothing. */
#define CLV_FAULT_INJECTION
#include "test_util.h"

static const char *source =
    "/* Fills a large per-item scratch sparsely and sums it back. */\n"
    "__kernel void touch(CLV_ITEMS, __global const float *x, __global float *y,\n"
    "                    __global float *scratch, const ulong floats_per_item) {\n"
    "    CLV_GUARD();\n"
    "    __global float *s = scratch + clv_slot() * floats_per_item;\n"
    "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 0);\n"
    "    float acc = 0;\n"
    "    for (ulong k = 0; k < floats_per_item; k += 1024) s[k] = x[clv_local()] + clv_uniform_f32(&r);\n"
    "    for (ulong k = 0; k < floats_per_item; k += 1024) acc += s[k] * (float)(k + 1);\n"
    "    y[clv_local()] = acc;\n"
    "}\n"
    "/* in place: running it twice on an item would show */\n"
    "__kernel void bump(CLV_ITEMS, __global float *x) { CLV_GUARD(); x[clv_local()] += 1.0f; }\n";

static clv_program *build(clv_mesh *m)
{
    clv_program *p;
    clv_program_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.source = source;
    pd.name = "test_memory.cl";
    TU_REQUIRE_OK(m, clv_program_build(&p, m, &pd));
    return p;
}

/* Run touch over n items with chunk; y read back into out (if not NULL). */
static clv_status run(clv_mesh *m, clv_program *p, size_t n, long chunk, size_t scratch_bytes, float *out)
{
    float *x = (float *)malloc(n * sizeof *x);
    clv_array *xa, *ya;
    clv_map_opts o;
    memset(&o, 0, sizeof o);
    o.chunk = chunk;
    o.seed = 5;
    for (size_t i = 0; i < n; ++i) x[i] = (float)i * 0.001f;
    TU_REQUIRE_OK(m, clv_array_new(&xa, m, CLV_F32, n, 1, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_new(&ya, m, CLV_F32, n, 1, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_write(xa, x));
    clv_status s = CLV_MAP(p, "touch", n, &o, clv_in(xa), clv_out(ya), clv_scratch(scratch_bytes),
                           clv_ulong(scratch_bytes / sizeof(float)));
    if (s == CLV_OK && out) TU_REQUIRE_OK(m, clv_array_read(ya, out));
    clv_array_free(xa);
    clv_array_free(ya);
    free(x);
    return s;
}

static void test_high_water(int n_devices)
{
    clv_mesh *m = tu_open(n_devices, NULL);
    if (!m) return;
    clv_program *p = build(m);
    const size_t per_item = 4096 * 4; /* 16 KiB of scratch per item */
    const long chunks[3] = { 1, 16, 256 };
    const size_t sizes[2] = { 4096, 16384 };
    for (int c = 0; c < 3; ++c)
        for (int s = 0; s < 2; ++s) {
            size_t n = tu_small() ? sizes[s] / 64 : sizes[s];
            long chunk = tu_small() ? chunks[c] / 16 + 1 : chunks[c];
            clv_mesh_reset_stats(m);
            TU_REQUIRE_OK(m, run(m, p, n, chunk, per_item, NULL));
            size_t first[8], count[8];
            clv_mesh_split_items(m, n, first, count);
            for (int d = 0; d < n_devices; ++d) {
                clv_device_stats st;
                clv_mesh_stats(m, d, &st);
                uint64_t arrays = 2 * count[d] * sizeof(float);
                TU_CHECK(st.scratch_high_water == (uint64_t)chunk * per_item,
                         "%d dev, n %zu, chunk %ld: device %d scratch high-water %llu, expected %llu",
                         n_devices, n, chunk, d, (unsigned long long)st.scratch_high_water,
                         (unsigned long long)chunk * per_item);
                TU_CHECK(st.bytes_high_water == arrays + (uint64_t)chunk * per_item,
                         "device %d high-water %llu, expected arrays %llu + scratch", d,
                         (unsigned long long)st.bytes_high_water, (unsigned long long)arrays);
                /* run() freed its arrays: only the scratch kept for reuse remains */
                TU_CHECK(st.bytes_current == (uint64_t)chunk * per_item,
                         "device %d holds %llu bytes after the map: expected only the scratch kept for "
                         "reuse", d, (unsigned long long)st.bytes_current);
                TU_CHECK(st.chunk_used == (uint64_t)chunk && st.chunk_halvings == 0, "chunk_used %llu",
                         (unsigned long long)st.chunk_used);
            }
        }
    /* A repeated map of the same size keeps exactly one chunk's scratch and
     * holds at most that plus its own arrays (device 0's part of them). */
    clv_device_stats after;
    size_t first0[8], count0[8];
    clv_mesh_split_items(m, 4096, first0, count0);
    TU_REQUIRE_OK(m, run(m, p, 4096, 16, per_item, NULL));
    TU_REQUIRE_OK(m, run(m, p, 4096, 16, per_item, NULL));
    clv_mesh_reset_stats(m);
    TU_REQUIRE_OK(m, run(m, p, 4096, 16, per_item, NULL));
    clv_mesh_stats(m, 0, &after);
    TU_CHECK(after.bytes_current == 16 * per_item &&
             after.bytes_high_water == after.bytes_current + 2 * count0[0] * sizeof(float),
             "repeated map: high-water %llu, current %llu, arrays %zu", (unsigned long long)after.bytes_high_water,
             (unsigned long long)after.bytes_current, 2 * count0[0] * sizeof(float));
    TU_CHECK(after.scratch_high_water == 16 * per_item, "reuse: scratch high-water %llu",
             (unsigned long long)after.scratch_high_water);
    clv_mesh_trim(m);
    for (int d = 0; d < n_devices; ++d) {
        clv_mesh_stats(m, d, &after);
        TU_CHECK(after.bytes_current == 0, "after clv_mesh_trim device %d holds %llu bytes", d,
                 (unsigned long long)after.bytes_current);
    }
    clv_program_free(p);
    clv_mesh_close(m);
}

static void test_auto(void)
{
    clv_mesh *m = tu_open(1, NULL);
    clv_program *p = build(m);
    clv_device_info info;
    clv_device_stats st;
    clv_mesh_device_info(m, 0, &info);
    /* more scratch than the device has: auto must cut the batch */
    const size_t n = tu_small() ? 64 : 1024;
    const size_t per_item = (size_t)(info.global_mem_bytes / (n / 2));
    printf("device memory %llu MiB, max allocation %llu MiB, scratch per item %zu KiB\n",
           (unsigned long long)(info.global_mem_bytes >> 20), (unsigned long long)(info.max_alloc_bytes >> 20),
           per_item >> 10);
    float *ref = (float *)malloc(n * sizeof *ref), *got = (float *)malloc(n * sizeof *got);
    TU_REQUIRE_OK(m, run(m, p, n, 4, per_item, ref));
    clv_mesh_reset_stats(m);
    TU_REQUIRE_OK(m, run(m, p, n, CLV_CHUNK_AUTO, per_item, got));
    clv_mesh_stats(m, 0, &st);
    printf("auto chunk %llu items (scratch %llu MiB)\n", (unsigned long long)st.chunk_used,
           (unsigned long long)(st.scratch_high_water >> 20));
    TU_CHECK(st.chunk_used >= 1 && st.chunk_used < n, "auto chunk %llu of %zu", (unsigned long long)st.chunk_used, n);
    TU_CHECK(st.scratch_high_water <= info.max_alloc_bytes && st.bytes_high_water <= info.global_mem_bytes,
             "auto scratch %llu exceeds the device", (unsigned long long)st.scratch_high_water);
    TU_CHECK(st.chunk_used * 2 * per_item > info.max_alloc_bytes * 0.9 / 2,
             "auto chunk %llu is far below what fits", (unsigned long long)st.chunk_used);
    TU_CHECK(memcmp(ref, got, n * sizeof *ref) == 0, "auto chunk changed the results");
    free(ref);
    free(got);
    clv_program_free(p);
    clv_mesh_close(m);
}

static void test_halving(void)
{
    clv_mesh *m = tu_open(2, NULL);
    if (!m) m = tu_open(1, NULL);
    clv_program *p = build(m);
    const size_t n = tu_small() ? 300 : 3000, per_item = 4096;
    float *ref = (float *)malloc(n * sizeof *ref), *got = (float *)malloc(n * sizeof *got);
    clv_device_stats st;
    TU_REQUIRE_OK(m, run(m, p, n, CLV_CHUNK_NONE, per_item, ref));

    /* at creation: a device that holds the arrays plus 100 items of scratch */
    clv_mesh_reset_stats(m);
    clv_mesh_faults(m)->device_bytes = 2 * n * sizeof(float) + 100 * per_item;
    TU_REQUIRE_OK(m, run(m, p, n, 1000, per_item, got));
    clv_mesh_stats(m, 0, &st);
    /* halving stops at the first chunk that fits: at most 100, more than 50 */
    TU_CHECK(st.chunk_halvings >= 1 && st.chunk_used <= 100 && 2 * st.chunk_used > 100,
             "creation: %llu halvings, chunk %llu",
             (unsigned long long)st.chunk_halvings, (unsigned long long)st.chunk_used);
    TU_CHECK(memcmp(ref, got, n * sizeof *ref) == 0, "creation halving changed the results");
    printf("creation failures: chunk 1000 -> %llu after %llu halvings\n", (unsigned long long)st.chunk_used,
           (unsigned long long)st.chunk_halvings);

    /* at enqueue: launches over 50 items fail with CL_OUT_OF_RESOURCES */
    clv_mesh_reset_stats(m);
    clv_mesh_faults(m)->device_bytes = 0;
    clv_mesh_faults(m)->launch_max_items = 50;
    memset(got, 0, n * sizeof *got);
    TU_REQUIRE_OK(m, run(m, p, n, 400, per_item, got));
    clv_mesh_stats(m, 0, &st);
    TU_CHECK(st.chunk_used <= 50 && 2 * st.chunk_used > 50 && st.chunk_halvings >= 1,
             "enqueue: chunk %llu after %llu halvings",
             (unsigned long long)st.chunk_used, (unsigned long long)st.chunk_halvings);
    TU_CHECK(memcmp(ref, got, n * sizeof *ref) == 0, "enqueue halving changed the results");

    /* not even one item fits: a clear error, nothing held */
    clv_mesh_faults(m)->launch_max_items = 0;
    const size_t big_item = 1 << 16; /* more than the headroom left beside the arrays */
    clv_mesh_faults(m)->device_bytes = 2 * n * sizeof(float) + big_item / 2;
    clv_status s = run(m, p, n, 64, big_item, NULL);
    clv_mesh_stats(m, 0, &st);
    TU_CHECK(s == CLV_ERROR_OUT_OF_MEMORY && strstr(clv_mesh_message(m), "one item"),
             "one item too big: %s: %s", clv_status_string(s), clv_mesh_message(m));
    clv_mesh_trim(m);
    clv_mesh_stats(m, 0, &st);
    TU_CHECK(st.bytes_current == 0, "after the failure the device holds %llu bytes",
             (unsigned long long)st.bytes_current);
    clv_mesh_faults(m)->device_bytes = 0;
    free(ref);
    free(got);
    clv_program_free(p);
    clv_mesh_close(m);
}

/* A launch that fails late (when collected) while later launches of the
 * window completed: a pure map re-runs from the failed chunk with the same
 * bits; a map with an inout array stops with a clear error instead of
 * applying items twice. */
static void test_late_failure(void)
{
    clv_mesh *m = tu_open(1, NULL);
    clv_program *p = build(m);
    const size_t n = tu_small() ? 120 : 600, per_item = 256;
    float *ref = (float *)malloc(n * sizeof *ref), *got = (float *)malloc(n * sizeof *got);
    TU_REQUIRE_OK(m, run(m, p, n, CLV_CHUNK_NONE, per_item, ref));
    clv_mesh_reset_stats(m);
    clv_mesh_faults(m)->failed_launch = 5;
    TU_REQUIRE_OK(m, run(m, p, n, 10, per_item, got));
    clv_device_stats st;
    clv_mesh_stats(m, 0, &st);
    TU_CHECK(memcmp(ref, got, n * sizeof *ref) == 0 && st.chunk_halvings == 1 && st.items == n,
             "late failure, pure map: same bits %d, %llu halvings, %llu items", memcmp(ref, got, n * sizeof *ref) == 0,
             (unsigned long long)st.chunk_halvings, (unsigned long long)st.items);

    clv_array *x;
    for (size_t i = 0; i < n; ++i) got[i] = 0;
    TU_REQUIRE_OK(m, clv_array_new(&x, m, CLV_F32, n, 1, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_write(x, got));
    clv_map_opts o;
    memset(&o, 0, sizeof o);
    o.chunk = 10;
    clv_mesh_reset_stats(m);
    clv_mesh_faults(m)->failed_launch = 5;
    clv_status s = CLV_MAP(p, "bump", n, &o, clv_inout(x));
    TU_REQUIRE_OK(m, clv_array_read(x, got));
    int twice = 0;
    for (size_t i = 0; i < n; ++i) twice += got[i] > 1.0f;
    TU_CHECK(s == CLV_ERROR_OPENCL && strstr(clv_mesh_message(m), "inout") && twice == 0,
             "late failure, inout map: %s (%s), %d items applied twice", clv_status_string(s), clv_mesh_message(m),
             twice);
    clv_mesh_faults(m)->failed_launch = 0;
    clv_array_free(x);
    free(ref);
    free(got);
    clv_program_free(p);
    clv_mesh_close(m);
}

int main(void)
{
    clv_mesh *probe = tu_open(1, NULL);
    if (!probe) return 77; /* (tu_open printed why) */
    clv_mesh_close(probe);
    test_high_water(1);
    test_high_water(2);
    test_auto();
    test_halving();
    test_late_failure();
    return tu_summary();
}
