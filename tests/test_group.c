/* Cooperative work groups (CLV_ITEM_PER_GROUP and the prelude's
 * clv_group_* helpers): each item's N values are reduced by the work items
 * of its group.
 *   - sums equal, bit for bit, a host reduction in the documented order
 *     (each lane's strided share, then the lanes in order), for local
 *     sizes 1, 3, 7, 64 and 100, in float and double; clv_group_sum_n
 *     the same for a vector, and clv_group_sum_table (the lanes' shares
 *     kept in a __local table, CLV_LANE_SLOT) the same bits as it;
 *   - CLV_LANES_IN_TURN is 1 exactly on PoCL's CPU devices;
 *   - max, logsumexp and broadcast against host values;
 *   - bitwise the same for chunk 1, 5, all and auto and over 1, 2 and 3
 *     devices at a fixed local size;
 *   - clv_map_local_size says the local size a map uses;
 *   - clv_map_opts.divergent: a per-work-item kernel whose work items take
 *     different paths gives the same bits at local sizes 0 (the default,
 *     1 on Intel's CPU runtime with divergent set), 1, 3 and 64; the
 *     default is 1 exactly where the device vectorises across work items.
 * Run under oclgrind too (suite oclgrind: races, uninitialised reads). */
#include "test_util.h"

#include <math.h>

static const char *src =
    "__kernel void reduce(CLV_ITEMS, __global const clv_real *x, __global clv_real *out, const int n,\n"
    "                     __local clv_real *tmp) {\n"
    "    __global const clv_real *xi = x + clv_local() * n;\n"
    "    clv_real part = 0, top = -INFINITY;\n"
    "    CLV_GROUP_FOR(j, n) { part += xi[j]; top = fmax(top, xi[j]); }\n"
    "    /* a lane with no share contributes 0 to the sum and -inf to the max */\n"
    "    const clv_real sum = clv_group_sum(part, tmp);\n"
    "    const clv_real max = clv_group_max(top, tmp);\n"
    "    const clv_real lse = clv_group_logsumexp(clv_lane() < (size_t)n ? xi[clv_lane()] : -INFINITY, tmp);\n"
    "    const clv_real first = clv_group_broadcast(xi[0] + (clv_real)clv_lane(), tmp);\n"
    "    clv_real pair[2] = { part, -2 * part };\n"
    "    clv_group_sum_n(pair, 2, tmp);          /* tmp: 2 x lanes values */\n"
    "    /* lane 0 and the last lane report: every lane must hold the results */\n"
    "    for (int at = 0; at < 12; at += 6) {\n"
    "        if (clv_lane() != (at ? clv_lanes() - 1 : 0)) continue;\n"
    "        __global clv_real *o = out + clv_local() * 12 + at;\n"
    "        o[0] = sum; o[1] = max; o[2] = lse; o[3] = first; o[4] = pair[0]; o[5] = pair[1];\n"
    "    }\n"
    "}\n"
    "/* the same pair summed from a __local table (each lane's own slots) */\n"
    "__kernel void table(CLV_ITEMS, __global const clv_real *x, __global clv_real *out, const int n,\n"
    "                    __local clv_real *tmp) {\n"
    "    __global const clv_real *xi = x + clv_local() * n;\n"
    "    CLV_LANE_SLOT(tmp, 0) = 0;\n"
    "    CLV_LANE_SLOT(tmp, 1) = 0;\n"
    "    CLV_GROUP_FOR(j, n) { CLV_LANE_SLOT(tmp, 0) += xi[j]; }\n"
    "    CLV_LANE_SLOT(tmp, 1) = -2 * CLV_LANE_SLOT(tmp, 0);\n"
    "    __global clv_real *o = out + clv_local() * 3;\n"
    "    clv_group_sum_table(tmp, 2, o);\n"
    "    if (clv_lane() == 0) o[2] = CLV_LANES_IN_TURN;\n"
    "}\n";

enum { N = 37, MAX_ITEMS = 23 };

/* The kernel's sum in its order: lane l sums x[l], x[l+L], ... in turn;
 * then the lanes' sums are added in lane order 0, 1, ..., L-1. */
static double lane_sum(const double *x, int n, size_t lanes, int f32)
{
    double total = 0;
    float total_f = 0;
    for (size_t l = 0; l < lanes; ++l) {
        double p = 0;
        float pf = 0;
        for (size_t j = l; j < (size_t)n; j += lanes) {
            if (f32) pf += (float)x[j];
            else p += x[j];
        }
        if (f32) total_f = l == 0 ? pf : total_f + pf;
        else total = l == 0 ? p : total + p;
    }
    return f32 ? (double)total_f : total;
}

typedef struct fixture {
    clv_mesh *m;
    clv_program *p;
    clv_array *x, *out, *table;
    int items;
} fixture;

/* Map kernel ("reduce" into f->out, 12 values per item; "table" into
 * f->table, 3: the two sums and CLV_LANES_IN_TURN) and read the results. */
static int map_kernel(fixture *f, const char *kernel, size_t local, long chunk, double *out)
{
    clv_array *result = strcmp(kernel, "table") ? f->out : f->table;
    clv_map_opts o = {0};
    o.shape = CLV_ITEM_PER_GROUP;
    o.local_size = local;
    o.chunk = chunk;
    clv_dtype dtype = CLV_F32;
    clv_array_shape(f->x, &dtype, NULL, NULL, NULL);
    clv_status s = CLV_MAP(f->p, kernel, (size_t)f->items, &o, clv_in(f->x), clv_out(result), clv_int(N),
                           clv_local_mem(2 * local * clv_dtype_size(dtype)));
    if (s == CLV_OK) s = clv_array_read_f64(result, out);
    if (s != CLV_OK) printf("map %s (local %zu, chunk %ld): %s\n", kernel, local, chunk, clv_mesh_message(f->m));
    return s == CLV_OK;
}

static int run(fixture *f, size_t local, long chunk, double *out)
{
    return map_kernel(f, "reduce", local, chunk, out);
}

/* Whether device 0 of m (a one-device mesh) runs a group's lanes in turn:
 * what CLV_LANES_IN_TURN should be, and where the grouped default is 8. */
static int lanes_in_turn(clv_mesh *m)
{
    clv_device_info info;
    cl_device_type type = 0;
    clv_mesh_device_info(m, 0, &info);
    clGetDeviceInfo(clv_mesh_device_id(m, 0), CL_DEVICE_TYPE, sizeof type, &type, NULL);
    return (type & CL_DEVICE_TYPE_CPU) && strstr(info.platform, "Portable Computing Language") != NULL;
}

static int open_fixture(fixture *f, clv_mesh *m, clv_dtype real, const double *x, int items)
{
    clv_program_desc pd = {0};
    memset(f, 0, sizeof *f);
    f->m = m;
    f->items = items;
    pd.source = src;
    pd.name = "group.cl";
    pd.real = real;
    TU_REQUIRE_OK(m, clv_program_build(&f->p, m, &pd));
    TU_REQUIRE_OK(m, clv_array_new(&f->x, m, real, (size_t)items, N, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_new(&f->out, m, real, (size_t)items, 12, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_new(&f->table, m, real, (size_t)items, 3, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_write_f64(f->x, x));
    return 1;
}

static void close_fixture(fixture *f)
{
    clv_array_free(f->x);
    clv_array_free(f->out);
    clv_array_free(f->table);
    clv_program_free(f->p);
}

/* Against the host, for each local size. */
static void test_values(clv_mesh *m, clv_dtype real, const double *x, int items)
{
    static const size_t locals[] = { 1, 3, 7, 64, 100 };
    int f32 = real == CLV_F32;
    fixture f;
    open_fixture(&f, m, real, x, items);
    for (size_t li = 0; li < sizeof locals / sizeof locals[0]; ++li) {
        size_t local = locals[li];
        double out[MAX_ITEMS * 12];
        if (!run(&f, local, CLV_CHUNK_NONE, out)) {
            TU_CHECK(0, "%s local %zu: map failed", f32 ? "f32" : "f64", local);
            continue;
        }
        int bad_sum = -1, bad_other = -1, bad_lane = -1;
        for (int i = 0; i < items; ++i) {
            const double *xi = x + (size_t)i * N;
            double max = -INFINITY, lse = 0, lse_max = -INFINITY;
            for (int j = 0; j < N; ++j) max = fmax(max, f32 ? (double)(float)xi[j] : xi[j]);
            size_t used = local < N ? local : N; /* lanes that see a value in the logsumexp */
            for (size_t j = 0; j < used; ++j) lse_max = fmax(lse_max, xi[j]);
            for (size_t j = 0; j < used; ++j) lse += exp(xi[j] - lse_max);
            lse = lse_max + log(lse);
            double first = f32 ? (double)(float)xi[0] : xi[0];
            double tol = f32 ? 1e-5 : 1e-13;
            if (memcmp(out + 12 * i, out + 12 * i + 6, 6 * sizeof(double)) != 0 && bad_lane < 0) bad_lane = i;
            if ((out[12 * i] != lane_sum(xi, N, local, f32) || out[12 * i + 4] != out[12 * i] ||
                 out[12 * i + 5] != -2 * out[12 * i]) && bad_sum < 0)
                bad_sum = i;
            if ((out[12 * i + 1] != max || fabs(out[12 * i + 2] - lse) > tol * (1 + fabs(lse)) ||
                 out[12 * i + 3] != first) && bad_other < 0)
                bad_other = i;
        }
        TU_CHECK(bad_sum < 0, "%s local %zu: item %d's sum %.17g, clv_group_sum_n's %.17g and %.17g (-2x), the lane "
                 "order's %.17g", f32 ? "f32" : "f64", local, bad_sum, bad_sum < 0 ? 0 : out[12 * bad_sum],
                 bad_sum < 0 ? 0 : out[12 * bad_sum + 4], bad_sum < 0 ? 0 : out[12 * bad_sum + 5],
                 bad_sum < 0 ? 0 : lane_sum(x + (size_t)bad_sum * N, N, local, f32));
        TU_CHECK(bad_lane < 0, "%s local %zu: item %d: the last lane's results differ from lane 0's (sum %.17g vs "
                 "%.17g, sum_n %.17g vs %.17g)", f32 ? "f32" : "f64", local, bad_lane,
                 bad_lane < 0 ? 0 : out[12 * bad_lane], bad_lane < 0 ? 0 : out[12 * bad_lane + 6],
                 bad_lane < 0 ? 0 : out[12 * bad_lane + 4], bad_lane < 0 ? 0 : out[12 * bad_lane + 10]);
        TU_CHECK(bad_other < 0, "%s local %zu: item %d's max/logsumexp/broadcast differ: %g %g %g",
                 f32 ? "f32" : "f64", local, bad_other, bad_other < 0 ? 0 : out[12 * bad_other + 1],
                 bad_other < 0 ? 0 : out[12 * bad_other + 2], bad_other < 0 ? 0 : out[12 * bad_other + 3]);
        double table[MAX_ITEMS * 3];
        if (!map_kernel(&f, "table", local, CLV_CHUNK_NONE, table)) {
            TU_CHECK(0, "%s local %zu: table map failed", f32 ? "f32" : "f64", local);
            continue;
        }
        int bad_table = -1;
        for (int i = 0; i < items && bad_table < 0; ++i)
            if (table[3 * i] != out[12 * i + 4] || table[3 * i + 1] != out[12 * i + 5]) bad_table = i;
        TU_CHECK(bad_table < 0, "%s local %zu: item %d: clv_group_sum_table %.17g %.17g, clv_group_sum_n %.17g %.17g",
                 f32 ? "f32" : "f64", local, bad_table, bad_table < 0 ? 0 : table[3 * bad_table],
                 bad_table < 0 ? 0 : table[3 * bad_table + 1], bad_table < 0 ? 0 : out[12 * bad_table + 4],
                 bad_table < 0 ? 0 : out[12 * bad_table + 5]);
        TU_CHECK(table[2] == lanes_in_turn(m), "CLV_LANES_IN_TURN is %g, want %d", table[2], lanes_in_turn(m));
    }
    size_t resolved = 0;
    clv_map_opts o = {0};
    o.shape = CLV_ITEM_PER_GROUP;
    TU_CHECK(clv_map_local_size(f.p, "reduce", &o, &resolved) == CLV_OK && resolved >= 1 && resolved <= 64,
             "clv_map_local_size: %zu (%s)", resolved, clv_mesh_message(m));
    o.local_size = 7;
    TU_CHECK(clv_map_local_size(f.p, "reduce", &o, &resolved) == CLV_OK && resolved == 7,
             "clv_map_local_size with local_size 7: %zu", resolved);
    TU_CHECK(clv_map_local_size(f.p, "no_such_kernel", &o, &resolved) == CLV_ERROR_UNKNOWN_KERNEL,
             "clv_map_local_size of an unknown kernel");
    close_fixture(&f);
}

/* Each item iterates its own Collatz-like map for a data-dependent number
 * of steps: the work items of a group diverge. */
static const char *divergent_src =
    "__kernel void wander(CLV_ITEMS, __global const double *x, __global double *out) {\n"
    "    CLV_GUARD();\n"
    "    double v = x[clv_local()], acc = 0;\n"
    "    int steps = 0;\n"
    "    while (fabs(v) > 1e-3 && steps < 200) {\n"
    "        v = fmod(v * 7.0, 13.0) > 6.5 ? v * 0.5 : v * 0.3 + 0.01 * steps;\n"
    "        acc += sqrt(fabs(v)) * (steps & 1 ? 1.0 : -1.0);\n"
    "        ++steps;\n"
    "    }\n"
    "    out[clv_local()] = acc + steps;\n"
    "}\n";

static void test_divergent(clv_mesh *m, const double *x, int items)
{
    clv_device_info info;
    clv_mesh_device_info(m, 0, &info);
    if (!info.fp64) {
        printf("skip divergent: device 0 has no fp64\n");
        return;
    }
    clv_program *p = NULL;
    clv_program_desc pd = {0};
    pd.source = divergent_src;
    pd.real = CLV_F64;
    TU_REQUIRE_OK(m, clv_program_build(&p, m, &pd));
    clv_array *xa = NULL, *out = NULL;
    TU_REQUIRE_OK(m, clv_array_new(&xa, m, CLV_F64, (size_t)items, 1, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_write(xa, x));
    TU_REQUIRE_OK(m, clv_array_new(&out, m, CLV_F64, (size_t)items, 1, CLV_SHARDED));
    double ref[MAX_ITEMS * N], got[MAX_ITEMS * N];
    static const size_t locals[] = { 0, 1, 3, 64 };
    for (int divergent = 0; divergent <= 1; ++divergent)
        for (size_t l = 0; l < sizeof locals / sizeof locals[0]; ++l) {
            clv_map_opts o = {0};
            o.local_size = locals[l];
            o.divergent = divergent;
            TU_REQUIRE_OK(m, CLV_MAP(p, "wander", (size_t)items, &o, clv_in(xa), clv_out(out)));
            TU_REQUIRE_OK(m, clv_array_read_f64(out, divergent || l ? got : ref));
            if (divergent || l)
                TU_CHECK(memcmp(ref, got, sizeof(double) * (size_t)items) == 0, "divergent %d, local size %zu: "
                         "bits differ from the default's", divergent, locals[l]);
        }
    /* the default with divergent: 1 on Intel's CPU runtime, else unchanged;
     * ignored for CLV_ITEM_PER_GROUP and with local_size set */
    clv_map_opts o = {0};
    size_t plain = 0, diverging = 0, grouped = 0, chosen = 0;
    TU_CHECK(clv_map_local_size(p, "wander", &o, &plain) == CLV_OK, "%s", clv_mesh_message(m));
    o.divergent = 1;
    TU_CHECK(clv_map_local_size(p, "wander", &o, &diverging) == CLV_OK, "%s", clv_mesh_message(m));
    o.local_size = 3;
    TU_CHECK(clv_map_local_size(p, "wander", &o, &chosen) == CLV_OK && chosen == 3, "divergent, local_size 3: "
             "%zu", chosen);
    o.local_size = 0;
    o.shape = CLV_ITEM_PER_GROUP;
    cl_device_type type = 0;
    clGetDeviceInfo(clv_mesh_device_id(m, 0), CL_DEVICE_TYPE, sizeof type, &type, NULL);
    int intel_cpu = (type & CL_DEVICE_TYPE_CPU) && strstr(info.platform, "Intel") != NULL;
    /* one group per item: 8 lanes where PoCL's CPU device runs them in turn, else the usual default */
    size_t want_grouped = lanes_in_turn(m) ? (plain < 8 ? plain : 8) : plain;
    TU_CHECK(clv_map_local_size(p, "wander", &o, &grouped) == CLV_OK && grouped == want_grouped, "divergent, one "
             "group per item: %zu, want %zu on %s (one work item per item: %zu)", grouped, want_grouped,
             info.platform, plain);
    printf("divergent: default local size %zu, %zu with divergent (%s, %s)\n", plain, diverging, info.platform,
           intel_cpu ? "vectorises across work items" : "no change expected");
    TU_CHECK(diverging == (intel_cpu ? 1 : plain), "divergent default local size %zu on %s (not divergent: %zu)",
             diverging, info.platform, plain);
    clv_array_free(xa);
    clv_array_free(out);
    clv_program_free(p);
}

/* Bitwise the same over chunks and device splits at a fixed local size. */
static void test_invariance(clv_dtype real, const double *x, int items)
{
    double ref[MAX_ITEMS * 12], got[MAX_ITEMS * 12];
    int have_ref = 0;
    static const long chunks[] = { CLV_CHUNK_NONE, 1, 5, CLV_CHUNK_AUTO };
    for (int n_dev = 1; n_dev <= 3; ++n_dev) {
        clv_mesh *m = tu_open(n_dev, NULL);
        if (!m) continue;
        fixture f;
        open_fixture(&f, m, real, x, items);
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; ++c) {
            if (!run(&f, 7, chunks[c], have_ref ? got : ref)) {
                TU_CHECK(0, "%d device(s), chunk %ld: map failed", n_dev, chunks[c]);
                continue;
            }
            if (!have_ref) {
                have_ref = 1;
                continue;
            }
            TU_CHECK(memcmp(ref, got, sizeof(double) * 12 * (size_t)items) == 0,
                     "%s, %d device(s), chunk %ld: not bitwise equal to 1 device, one launch",
                     real == CLV_F32 ? "f32" : "f64", n_dev, chunks[c]);
        }
        close_fixture(&f);
        clv_mesh_close(m);
    }
}

int main(void)
{
    unsigned long long state = tu_seed();
    int items = tu_small() ? 5 : MAX_ITEMS;
    double x[MAX_ITEMS * N];
    for (int i = 0; i < items * N; ++i) x[i] = (double)(tu_next(&state) >> 11) * 0x1.0p-53 * 20.0 - 10.0;
    clv_mesh *m = NULL;
    clv_mesh_desc d = {0};
    d.devices = "0";
    TU_REQUIRE_OK(m, clv_mesh_open(&m, &d));
    clv_device_info info;
    clv_mesh_device_info(m, 0, &info);
    test_values(m, CLV_F32, x, items);
    if (info.fp64) test_values(m, CLV_F64, x, items);
    else printf("skip f64 values: device 0 has no fp64\n");
    test_divergent(m, x, items * N);
    clv_mesh_close(m);
    test_invariance(CLV_F32, x, items);
    if (info.fp64) test_invariance(CLV_F64, x, items);
    return tu_summary();
}
