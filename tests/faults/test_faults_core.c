/* Suite `faults`, core: every fault that CLV_FAULT_INJECTION can inject, on
 * real (PoCL) devices, against the fault-free run of the same work.
 *   - a device that dies at its n-th launch, for every device of 2- and
 *     3-device meshes, early, mid-map and in a later map; two devices dying
 *     (the second during the re-run of the first one's items): with
 *     failover the outputs are bitwise those of the fault-free run and the
 *     lost device is never used again; without failover the map stops with
 *     CLV_ERROR_DEVICE_LOST and the arrays can be written again and reused;
 *     with no device left every call says so;
 *   - the n-th device buffer allocation failing, for every n of a scenario:
 *     the map halves its chunk and gives the same bits, or (an array's own
 *     buffer) the call fails with CLV_ERROR_OUT_OF_MEMORY; either way no
 *     device byte is left held;
 *   - a program build failing on one device of the mesh.
 * The dying device's buffers are overwritten with 0xFF bytes when it dies,
 * so a result recovered from them instead of from the host copies would
 * show as NaNs. */
#define CLV_FAULT_INJECTION
#include "test_util.h"

#define D 4 /* reals per item */

static const char *source =
    "__kernel void advance(CLV_ITEMS, __global const double *x, __global const double *shift,\n"
    "                   __global double *y, __global double *z, __global double *scratch) {\n"
    "    CLV_GUARD();\n"
    "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 3);\n"
    "    __global double *s = scratch + clv_slot() * " "4" ";\n"
    "    const size_t j = clv_local() * " "4" ";\n"
    "    double acc = 0;\n"
    "    for (int k = 0; k < 4; ++k) s[k] = x[j + k] + shift[k] + clv_normal_f64(&r);\n"
    "    for (int k = 0; k < 4; ++k) acc += sin(s[k]) * z[j + k];\n"
    "    for (int k = 0; k < 4; ++k) { y[j + k] = s[k] * acc; z[j + k] = 0.5 * z[j + k] + acc; }\n"
    "}\n";

typedef struct work {
    size_t n;
    long chunk;
    int n_maps;   /* maps of advance, one after the other (z carries over) */
} work;

typedef struct outputs {
    double *y, *z;
} outputs;

static clv_program *build(clv_mesh *m)
{
    clv_program *p = NULL;
    clv_program_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.source = source;
    pd.name = "test_faults_core.cl";
    pd.real = CLV_F64;
    TU_REQUIRE_OK(m, clv_program_build(&p, m, &pd));
    return p;
}

static void inputs(size_t n, double *x, double *z)
{
    unsigned long long st = 7;
    for (size_t i = 0; i < n * D; ++i) {
        x[i] = (double)(tu_next(&st) >> 11) * 0x1.0p-53 * 2 - 1;
        z[i] = (double)(tu_next(&st) >> 11) * 0x1.0p-53;
    }
}

/* The arrays of one run of the work. */
typedef struct state {
    clv_array *x, *shift, *y, *z;
} state;

static void state_free(state *s)
{
    clv_array_free(s->x);
    clv_array_free(s->shift);
    clv_array_free(s->y);
    clv_array_free(s->z);
    memset(s, 0, sizeof *s);
}

static clv_status state_new(clv_mesh *m, size_t n, const double *x, const double *z, state *s)
{
    static const double shift[D] = { 0.25, -0.5, 0.75, -1.0 };
    memset(s, 0, sizeof *s);
    clv_status st = clv_array_new(&s->x, m, CLV_F64, n, D, CLV_SHARDED);
    if (st == CLV_OK) st = clv_array_new(&s->shift, m, CLV_F64, 1, D, CLV_REPLICATED);
    if (st == CLV_OK) st = clv_array_new(&s->y, m, CLV_F64, n, D, CLV_SHARDED);
    if (st == CLV_OK) st = clv_array_new(&s->z, m, CLV_F64, n, D, CLV_SHARDED);
    if (st == CLV_OK) st = clv_array_write(s->x, x);
    if (st == CLV_OK) st = clv_array_write(s->shift, shift);
    if (st == CLV_OK) st = clv_array_write(s->z, z);
    if (st != CLV_OK) state_free(s);
    return st;
}

static clv_status maps(clv_program *p, const work *w, state *s, int n_maps)
{
    clv_map_opts o;
    memset(&o, 0, sizeof o);
    o.chunk = w->chunk;
    o.seed = 11;
    clv_status st = CLV_OK;
    for (int t = 0; t < n_maps && st == CLV_OK; ++t)
        st = CLV_MAP(p, "advance", w->n, &o, clv_in(s->x), clv_in(s->shift), clv_out(s->y), clv_inout(s->z),
                     clv_scratch(D * sizeof(double)));
    return st;
}

/* The whole work: arrays, maps, read back into out (allocated here). */
static clv_status run(clv_mesh *m, clv_program *p, const work *w, outputs *out)
{
    size_t bytes = w->n * D * sizeof(double);
    double *x = (double *)malloc(bytes), *z = (double *)malloc(bytes);
    state s;
    inputs(w->n, x, z);
    out->y = (double *)malloc(bytes);
    out->z = (double *)malloc(bytes);
    clv_status st = state_new(m, w->n, x, z, &s);
    if (st == CLV_OK) st = maps(p, w, &s, w->n_maps);
    if (st == CLV_OK) st = clv_array_read(s.y, out->y);
    if (st == CLV_OK) st = clv_array_read(s.z, out->z);
    state_free(&s);
    free(x);
    free(z);
    return st;
}

static void outputs_free(outputs *o)
{
    free(o->y);
    free(o->z);
    memset(o, 0, sizeof *o);
}

static int same(const outputs *a, const outputs *b, size_t n)
{
    return memcmp(a->y, b->y, n * D * sizeof(double)) == 0 && memcmp(a->z, b->z, n * D * sizeof(double)) == 0;
}

static outputs reference(const work *w)
{
    outputs ref;
    clv_mesh *m = tu_open(1, NULL);
    if (!m) exit(77);
    clv_program *p = build(m);
    TU_REQUIRE_OK(m, run(m, p, w, &ref));
    clv_program_free(p);
    clv_mesh_close(m);
    return ref;
}

static uint64_t launches(clv_mesh *m, int device)
{
    clv_device_stats st;
    clv_mesh_stats(m, device, &st);
    return st.launches;
}

static int is_lost(clv_mesh *m, int device)
{
    clv_device_info info;
    clv_mesh_device_info(m, device, &info);
    return info.lost;
}

/* Devices in `mask` die at their launch `at`; with failover the work's
 * outputs are the fault-free ones, the dead never launch again. */
static void check_loss(const char *what, int n_devices, const double *weights, uint64_t mask, uint64_t at,
                       const work *w, const outputs *ref)
{
    clv_mesh *m = tu_open_failover(n_devices, weights, 1);
    if (!m) return;
    clv_program *p = build(m);
    clv_mesh_faults(m)->lose_devices = mask;
    clv_mesh_faults(m)->lose_at_launch = at;
    outputs got;
    clv_status st = run(m, p, w, &got);
    TU_CHECK(st == CLV_OK, "%s: %s: %s", what, clv_status_string(st), clv_mesh_message(m));
    TU_CHECK(st != CLV_OK || same(&got, ref, w->n), "%s: outputs differ from the fault-free run", what);
    int all_died = 1;
    for (int d = 0; d < n_devices; ++d)
        if (mask >> d & 1) {
            all_died &= is_lost(m, d);
            TU_CHECK(launches(m, d) == at - 1, "%s: device %d completed %llu launches, expected %llu before it "
                     "died", what, d, (unsigned long long)launches(m, d), (unsigned long long)(at - 1));
        }
    TU_CHECK(all_died, "%s: a device meant to die is not marked lost", what);
    TU_CHECK(TU_STAT_SUM(m, items_recovered) > 0, "%s: no item was re-run on another device", what);
    /* later work: the survivors only, still the same bits */
    uint64_t before[8];
    for (int d = 0; d < n_devices; ++d) before[d] = launches(m, d);
    outputs again;
    st = run(m, p, w, &again);
    TU_CHECK(st == CLV_OK && same(&again, ref, w->n), "%s: the next run on the devices left: %s", what,
             st == CLV_OK ? "outputs differ" : clv_mesh_message(m));
    for (int d = 0; d < n_devices; ++d)
        if (mask >> d & 1)
            TU_CHECK(launches(m, d) == before[d], "%s: lost device %d launched again", what, d);
    TU_CHECK(tu_bytes_held(m) == 0, "%s: device bytes still held after freeing every array", what);
    outputs_free(&got);
    outputs_free(&again);
    clv_program_free(p);
    clv_mesh_close(m);
}

static void device_loss(void)
{
    const work w = { tu_small() ? 301 : 997, 16, 3 };
    const outputs ref = reference(&w);
    static const double heavy_middle[3] = { 1, 3, 1 };
    char what[160];
    int cases = 0;
    for (int n_dev = 2; n_dev <= 3; ++n_dev)
        for (int k = 0; k < n_dev; ++k) {
            size_t per_map = (w.n / (size_t)n_dev + (size_t)w.chunk - 1) / (size_t)w.chunk; /* launches per map */
            const uint64_t ats[4] = { 1, per_map / 2 + 1, per_map, 2 * per_map + 1 };
            for (int a = 0; a < 4; ++a) {
                snprintf(what, sizeof what, "%d devices, device %d dies at launch %llu", n_dev, k,
                         (unsigned long long)ats[a]);
                check_loss(what, n_dev, NULL, (uint64_t)1 << k, ats[a], &w, &ref);
                ++cases;
            }
        }
    /* device 1 (3/5 of the items) dies in the first pass; device 2 at the
     * same launch count, which it reaches only while re-running device 1's
     * items: device 0 ends with everything */
    size_t count2 = w.n - (size_t)((4.0 / 5.0) * (double)w.n + 0.5);
    uint64_t at = (count2 + (size_t)w.chunk - 1) / (size_t)w.chunk + 2;
    snprintf(what, sizeof what, "3 devices 1:3:1, devices 1 and 2 die at launch %llu (2 during the re-run)",
             (unsigned long long)at);
    check_loss(what, 3, heavy_middle, 6, at, &w, &ref);
    printf("device loss with failover: %d single-loss cases and 1 double loss, bitwise equal\n", cases);
    outputs_free((outputs *)&ref);
}

/* The last device dies: a clear error, then every call says so (on the
 * arrays made before too), and the mesh can still be closed without leaks. */
static void no_device_left(void)
{
    const work w = { 200, 16, 1 };
    clv_mesh *m = tu_open_failover(1, NULL, 1);
    if (!m) return;
    clv_program *p = build(m);
    size_t bytes = w.n * D * sizeof(double);
    double *x = (double *)malloc(bytes), *z = (double *)malloc(bytes), sum = 0;
    inputs(w.n, x, z);
    state s;
    TU_REQUIRE_OK(m, state_new(m, w.n, x, z, &s));
    clv_mesh_faults(m)->lose_devices = 1;
    clv_mesh_faults(m)->lose_at_launch = 3;
    clv_status st = maps(p, &w, &s, 1);
    TU_CHECK(st == CLV_ERROR_DEVICE_LOST && strstr(clv_mesh_message(m), "every device"),
             "last device lost: got %s: %s", clv_status_string(st), clv_mesh_message(m));
    const char *calls[4] = { "clv_array_read", "clv_array_write", "clv_array_sync_host", "clv_reduce" };
    clv_status got[4] = { clv_array_read(s.y, x), clv_array_write(s.x, x), clv_array_sync_host(s.z),
                          clv_reduce(s.y, CLV_SUM, &sum) };
    for (int c = 0; c < 4; ++c)
        TU_CHECK(got[c] == CLV_ERROR_DEVICE_LOST, "%s on an array made before the last device died: %s", calls[c],
                 clv_status_string(got[c]));
    clv_array *a = NULL;
    st = clv_array_new(&a, m, CLV_F64, 10, 1, CLV_SHARDED);
    TU_CHECK(st == CLV_ERROR_DEVICE_LOST && !a && strstr(clv_mesh_message(m), "every device"),
             "clv_array_new with no device left: %s: %s", clv_status_string(st), clv_mesh_message(m));
    clv_program *p2 = NULL;
    clv_program_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.source = source;
    pd.real = CLV_F64;
    st = clv_program_build(&p2, m, &pd);
    TU_CHECK(st == CLV_ERROR_DEVICE_LOST && !p2, "clv_program_build with no device left: %s: %s",
             clv_status_string(st), clv_mesh_message(m));
    state_free(&s);
    TU_CHECK(state_new(m, 4, x, z, &s) == CLV_ERROR_DEVICE_LOST, "arrays on a mesh with no device left");
    TU_CHECK(tu_bytes_held(m) == 0, "no device left: device bytes still counted as held");
    free(x);
    free(z);
    clv_program_free(p);
    clv_mesh_close(m);
}

/* Without failover the map stops clearly; the arrays can be written again
 * and the same work then runs on the device left, with the same bits. */
static void loss_without_failover(void)
{
    const work w = { 500, 16, 1 };
    const outputs ref = reference(&w);
    clv_mesh *m = tu_open_failover(2, NULL, 0);
    if (!m) return;
    clv_program *p = build(m);
    size_t bytes = w.n * D * sizeof(double);
    double *x = (double *)malloc(bytes), *z = (double *)malloc(bytes), *y = (double *)malloc(bytes);
    inputs(w.n, x, z);
    state s;
    TU_REQUIRE_OK(m, state_new(m, w.n, x, z, &s));
    clv_mesh_faults(m)->lose_devices = 2;
    clv_mesh_faults(m)->lose_at_launch = 3;
    clv_status st = maps(p, &w, &s, 1);
    TU_CHECK(st == CLV_ERROR_DEVICE_LOST && strstr(clv_mesh_message(m), "failover"),
             "loss without failover: %s: %s", clv_status_string(st), clv_mesh_message(m));
    TU_CHECK(is_lost(m, 1) && !is_lost(m, 0), "loss without failover: device 1 not marked lost");
    st = clv_array_read(s.z, y);
    TU_CHECK(st == CLV_ERROR_DEVICE_LOST && strstr(clv_mesh_message(m), "lost"),
             "reading an array with items on the lost device: %s: %s", clv_status_string(st),
             clv_mesh_message(m));
    st = maps(p, &w, &s, 1);
    TU_CHECK(st == CLV_ERROR_DEVICE_LOST && strstr(clv_mesh_message(m), "of the array were on device 1"),
             "a map whose input lost items must refuse, naming them: %s: %s", clv_status_string(st),
             clv_mesh_message(m));
    /* write the inputs again (y, an output, is placed anew by the map) */
    TU_REQUIRE_OK(m, clv_array_write(s.x, x));
    TU_REQUIRE_OK(m, clv_array_write(s.z, z));
    uint64_t dead_launches = launches(m, 1);
    st = maps(p, &w, &s, 1);
    outputs got = { (double *)malloc(bytes), (double *)malloc(bytes) };
    if (st == CLV_OK) st = clv_array_read(s.y, got.y);
    if (st == CLV_OK) st = clv_array_read(s.z, got.z);
    TU_CHECK(st == CLV_OK && same(&got, &ref, w.n), "after writing the arrays again: %s",
             st == CLV_OK ? "outputs differ from the fault-free run" : clv_mesh_message(m));
    TU_CHECK(launches(m, 1) == dead_launches, "the lost device launched again");
    state_free(&s);
    TU_CHECK(tu_bytes_held(m) == 0, "loss without failover: device bytes still held");
    outputs_free(&got);
    outputs_free((outputs *)&ref);
    free(x);
    free(z);
    free(y);
    clv_program_free(p);
    clv_mesh_close(m);
}

/* A device dies and, while the map recovers, the n-th allocation fails
 * too (a re-placed array, the re-run's scratch), for every n the recovery
 * makes: the map either succeeds with the fault-free bits or stops with
 * CLV_ERROR_OUT_OF_MEMORY; then the same map, run again on the same arrays,
 * must give the fault-free bits (it places what is still damaged from the
 * host copies), and no byte may be left held. */
static void failover_with_allocation_failures(void)
{
    const work w = { 300, 16, 1 };
    const outputs ref = reference(&w);
    size_t bytes = w.n * D * sizeof(double);
    double *x = (double *)malloc(bytes), *z = (double *)malloc(bytes);
    inputs(w.n, x, z);
    int survived = 0, stopped = 0;
    uint64_t recovery_allocations = 0;
    /* device 1 dies: of three, or of two where the platform gives only two
     * (Intel's CPU runtime: one device split in two) */
    char spec[1024], why[512];
    int n_devices = tu_device_spec(3, spec, sizeof spec, why, sizeof why) ? 3 : 2;
    for (uint64_t n = 0; n == 0 || n <= recovery_allocations; ++n) {
        clv_mesh *m = tu_open_failover(n_devices, NULL, 1);
        if (!m) break;
        clv_program *p = build(m);
        state s;
        TU_REQUIRE_OK(m, state_new(m, w.n, x, z, &s));
        clv_faults *f = clv_mesh_faults(m);
        uint64_t before = f->allocations;
        f->lose_devices = 2;
        f->lose_at_launch = 3;
        f->fail_allocation = n ? before + n : 0; /* n = 0: count the allocations of a recovery */
        f->fail_allocations_in_a_row = 2;        /* also the retry after the kept scratch is released */
        clv_status st = maps(p, &w, &s, 1);
        if (n == 0) recovery_allocations = f->allocations - before;
        f->fail_allocation = 0;
        outputs got = { (double *)malloc(bytes), (double *)malloc(bytes) };
        if (st == CLV_OK) {
            ++survived;
        } else {
            TU_CHECK(st == CLV_ERROR_OUT_OF_MEMORY, "loss, then allocation %llu fails: %s: %s", (unsigned long long)n,
                     clv_status_string(st), clv_mesh_message(m));
            ++stopped;
            TU_REQUIRE_OK(m, clv_array_write(s.z, z)); /* the failed map may have updated z in part */
            st = maps(p, &w, &s, 1);
        }
        if (st == CLV_OK) st = clv_array_read(s.y, got.y);
        if (st == CLV_OK) st = clv_array_read(s.z, got.z);
        TU_CHECK(st == CLV_OK && same(&got, &ref, w.n), "loss, then allocation %llu fails: %s",
                 (unsigned long long)n, st == CLV_OK ? "outputs differ from the fault-free run" : clv_mesh_message(m));
        state_free(&s);
        TU_CHECK(tu_bytes_held(m) == 0, "loss, then allocation %llu fails: device bytes still held",
                 (unsigned long long)n);
        outputs_free(&got);
        clv_program_free(p);
        clv_mesh_close(m);
    }
    if (survived + stopped == 0) {
        printf("skip failover_with_allocation_failures: no mesh of 2 devices (see above)\n");
        outputs_free((outputs *)&ref);
        free(x);
        free(z);
        return;
    }
    TU_CHECK(survived > 1 && stopped > 0, "a loss with failing allocations should meet both outcomes: %d "
             "recovered, %d stopped", survived - 1, stopped);
    printf("a loss and two failing allocations in its recovery: %llu allocations tried, %d recovered, %d stopped "
           "and then ran correctly\n", (unsigned long long)recovery_allocations, survived - 1, stopped);
    outputs_free((outputs *)&ref);
    free(x);
    free(z);
}

/* The n-th allocation fails, for every n the work makes. */
static void allocation_failures(void)
{
    const work w = { tu_small() ? 150 : 600, 64, 2 };
    const outputs ref = reference(&w);
    clv_mesh *m = tu_open(2, NULL);
    if (!m) return;
    clv_program *p = build(m);
    outputs got;
    clv_mesh_trim(m);
    uint64_t start = clv_mesh_faults(m)->allocations;
    TU_REQUIRE_OK(m, run(m, p, &w, &got));
    outputs_free(&got);
    uint64_t total = clv_mesh_faults(m)->allocations - start;
    int halved = 0, refused = 0;
    for (uint64_t n = 1; n <= total; ++n) {
        clv_mesh_trim(m); /* every trial allocates what the first did */
        clv_mesh_faults(m)->fail_allocation = clv_mesh_faults(m)->allocations + n;
        clv_mesh_reset_stats(m);
        clv_status st = run(m, p, &w, &got);
        clv_device_stats s0, s1;
        clv_mesh_stats(m, 0, &s0);
        clv_mesh_stats(m, 1, &s1);
        if (st == CLV_OK) {
            TU_CHECK(same(&got, &ref, w.n), "allocation %llu of %llu failed: outputs differ",
                     (unsigned long long)n, (unsigned long long)total);
            TU_CHECK(s0.chunk_halvings + s1.chunk_halvings == 1, "allocation %llu of %llu failed, the run "
                     "succeeded, but %llu halvings were counted", (unsigned long long)n,
                     (unsigned long long)total, (unsigned long long)(s0.chunk_halvings + s1.chunk_halvings));
            ++halved;
        } else {
            TU_CHECK(st == CLV_ERROR_OUT_OF_MEMORY && strstr(clv_mesh_message(m), "clCreateBuffer (array)"),
                     "allocation %llu of %llu failed: %s: %s", (unsigned long long)n, (unsigned long long)total,
                     clv_status_string(st), clv_mesh_message(m));
            ++refused;
        }
        TU_CHECK(tu_bytes_held(m) == 0, "allocation %llu failed: device bytes still held", (unsigned long long)n);
        outputs_free(&got);
    }
    clv_mesh_faults(m)->fail_allocation = 0;
    TU_CHECK(halved > 0 && refused > 0, "the sweep should meet both kinds: %d halved, %d refused", halved, refused);
    printf("allocation failures: %llu allocations, %d recovered by halving (same bits), %d refused clearly\n",
           (unsigned long long)total, halved, refused);
    outputs_free((outputs *)&ref);
    clv_program_free(p);
    clv_mesh_close(m);
}

/* A build that fails on one device: CLV_ERROR_BUILD, nothing returned, and
 * the next build succeeds. */
static void build_failures(void)
{
    clv_mesh *m = tu_open(2, NULL);
    if (!m) return;
    clv_program_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.source = source;
    pd.real = CLV_F64;
    for (int device = 0; device < 2; ++device) {
        clv_program *p = NULL;
        clv_mesh_faults(m)->fail_build = clv_mesh_faults(m)->builds + 1 + (uint64_t)device;
        clv_status st = clv_program_build(&p, m, &pd);
        TU_CHECK(st == CLV_ERROR_BUILD && !p && strstr(clv_mesh_message(m), "injected"),
                 "build failing on device %d: %s: %s", device, clv_status_string(st), clv_mesh_message(m));
        st = clv_program_build(&p, m, &pd);
        TU_CHECK(st == CLV_OK && p, "the build after a failed one: %s", clv_mesh_message(m));
        clv_program_free(p);
    }
    clv_mesh_close(m);
}

int main(void)
{
    device_loss();
    no_device_left();
    loss_without_failover();
    failover_with_allocation_failures();
    allocation_failures();
    build_failures();
    return tu_summary();
}
