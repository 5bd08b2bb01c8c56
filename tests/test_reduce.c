/* clv_reduce: sums, maxima and logsumexp over the batch, per element of the
 * item, for every dtype. Bitwise equal across device splits (one fixed order
 * over the global index) and close to a long-double reference computed here
 * independently (sequential sum, direct max, shifted logsumexp). */
#include "test_util.h"
#include <math.h>

#define E 3 /* elements per item */

static const double uneven[3] = { 2.0, 0.0, 1.0 };

static void fill(void *host, clv_dtype t, size_t n, unsigned long long *st)
{
    for (size_t i = 0; i < n; ++i) {
        double u = (double)(tu_next(st) >> 11) * 0x1.0p-53;
        switch (t) {
        case CLV_F32: ((float *)host)[i] = (float)(u * 200.0 - 100.0); break;
        case CLV_F64: ((double *)host)[i] = u * 2e6 - 1e6; break;
        case CLV_I32: ((int32_t *)host)[i] = (int32_t)(u * 2e6) - 1000000; break;
        case CLV_U32: ((uint32_t *)host)[i] = (uint32_t)(u * 4e9); break;
        }
    }
}

static long double value(const void *host, clv_dtype t, size_t i)
{
    switch (t) {
    case CLV_F32: return ((const float *)host)[i];
    case CLV_F64: return ((const double *)host)[i];
    case CLV_I32: return ((const int32_t *)host)[i];
    case CLV_U32: return ((const uint32_t *)host)[i];
    }
    return 0;
}

/* sum, max, logsumexp, and sum of |x| (the scale of a sum's rounding error) */
static void reference(const void *host, clv_dtype t, size_t n, size_t e, long double out[4])
{
    long double sum = 0, mx = -INFINITY, lse = 0, abs_sum = 0;
    for (size_t i = 0; i < n; ++i) {
        long double x = value(host, t, i * E + e);
        sum += x;
        abs_sum += fabsl(x);
        if (x > mx) mx = x;
    }
    for (size_t i = 0; i < n; ++i) lse += expl(value(host, t, i * E + e) - mx);
    out[0] = sum;
    out[1] = mx;
    out[2] = mx + logl(lse);
    out[3] = abs_sum;
}

/* out[op][e] for one mesh */
static void reduce_on(clv_mesh *m, clv_dtype t, size_t n, const void *host, double out[3][E])
{
    clv_array *a;
    TU_REQUIRE_OK(m, clv_array_new(&a, m, t, n, E, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_write(a, host));
    TU_REQUIRE_OK(m, clv_reduce(a, CLV_SUM, out[0]));
    TU_REQUIRE_OK(m, clv_reduce(a, CLV_MAX, out[1]));
    TU_REQUIRE_OK(m, clv_reduce(a, CLV_LOGSUMEXP, out[2]));
    clv_array_free(a);
}

static void test_dtype(clv_mesh **meshes, int n_meshes, clv_dtype t, size_t n, unsigned long long *st)
{
    void *host = malloc(n * E * 8);
    double first[3][E], got[3][E];
    fill(host, t, n * E, st);
    reduce_on(meshes[0], t, n, host, first);
    for (int k = 1; k < n_meshes; ++k) {
        if (!meshes[k]) continue;
        reduce_on(meshes[k], t, n, host, got);
        TU_CHECK(memcmp(first, got, sizeof got) == 0, "dtype %d n %zu: mesh %d reduces to other bits", (int)t, n, k);
    }
    for (size_t e = 0; e < E; ++e) {
        long double ref[4];
        reference(host, t, n, e, ref);
        /* pairwise summation in double: error <= ~log2(n) eps sum|x| */
        TU_CHECK(fabsl((long double)first[0][e] - ref[0]) <= 1e-13L * ref[3],
                 "dtype %d n %zu sum[%zu]: %.17g vs reference %.17Lg", (int)t, n, e, first[0][e], ref[0]);
        TU_CHECK((long double)first[1][e] == ref[1], "dtype %d max[%zu]: %.17g vs %.17Lg", (int)t, e, first[1][e],
                 ref[1]);
        TU_CHECK(fabsl((long double)first[2][e] - ref[2]) <= 1e-12L * fabsl(ref[2]) + 1e-12L,
                 "dtype %d lse[%zu]: %.17g vs %.17Lg", (int)t, e, first[2][e], ref[2]);
    }
    free(host);
}

/* logsumexp of all -inf is -inf; a NaN anywhere makes every reduction NaN. */
static void test_special(clv_mesh *m)
{
    double host[4 * E], out[E];
    clv_array *a;
    for (int i = 0; i < 4 * E; ++i) host[i] = -INFINITY;
    host[2 * E + 1] = NAN;
    TU_REQUIRE_OK(m, clv_array_new(&a, m, CLV_F64, 4, E, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_write(a, host));
    TU_REQUIRE_OK(m, clv_reduce(a, CLV_LOGSUMEXP, out));
    TU_CHECK(isinf(out[0]) && out[0] < 0, "lse of -inf items is %g", out[0]);
    TU_CHECK(isnan(out[1]), "lse with a NaN is %g", out[1]);
    TU_REQUIRE_OK(m, clv_reduce(a, CLV_MAX, out));
    TU_CHECK(isnan(out[1]), "max with a NaN is %g", out[1]);
    TU_REQUIRE_OK(m, clv_reduce(a, CLV_SUM, out));
    TU_CHECK(isnan(out[1]) && isinf(out[0]), "sum: %g %g", out[0], out[1]);
    clv_array_free(a);
}

/* clv_array_write_f64/read_f64 convert per dtype; clv_array_shape reports it. */
static void test_f64_io(clv_mesh *m)
{
    const double in[4] = { 1.5, -2.25, 3.75, 1e10 }; /* -2.25 and 1e10 clamp for u32 / i32 */
    double out[4];
    const clv_dtype types[4] = { CLV_F32, CLV_F64, CLV_I32, CLV_U32 };
    for (int t = 0; t < 4; ++t) {
        clv_array *a;
        clv_dtype dt;
        clv_layout lay;
        size_t n, e;
        TU_REQUIRE_OK(m, clv_array_new(&a, m, types[t], 2, 2, CLV_SHARDED));
        TU_REQUIRE_OK(m, clv_array_shape(a, &dt, &lay, &n, &e));
        TU_CHECK(dt == types[t] && lay == CLV_SHARDED && n == 2 && e == 2, "clv_array_shape of dtype %d", t);
        double v[4] = { in[0], in[1], in[2], in[3] };
        TU_REQUIRE_OK(m, clv_array_write_f64(a, v));
        TU_REQUIRE_OK(m, clv_array_read_f64(a, out));
        for (int i = 0; i < 4; ++i) {
            double want = types[t] == CLV_F32 ? (double)(float)v[i]
                        : types[t] == CLV_F64 ? v[i]
                        : types[t] == CLV_I32 ? (v[i] > 2147483647.0 ? 2147483647.0 : (double)(int32_t)v[i])
                        : (v[i] < 0 ? 0.0 : v[i] > 4294967295.0 ? 4294967295.0 : (double)(uint32_t)v[i]);
            TU_CHECK(out[i] == want, "dtype %d element %d: wrote %g, read %g, expected %g", t, i, v[i], out[i], want);
        }
        clv_array_free(a);
    }
}

int main(void)
{
    unsigned long long st = tu_seed();
    clv_mesh *meshes[4] = { tu_open(1, NULL), tu_open(2, NULL), tu_open(3, NULL), tu_open(3, uneven) };
    if (!meshes[0]) return 77;
    const size_t sizes[] = { 1, 2, 17, 1000, 4999, 65536 };
    const int n_sizes = tu_small() ? 4 : (int)(sizeof sizes / sizeof sizes[0]);
    const clv_dtype types[] = { CLV_F32, CLV_F64, CLV_I32, CLV_U32 };
    for (int si = 0; si < n_sizes; ++si)
        for (int ti = 0; ti < 4; ++ti) test_dtype(meshes, 4, types[ti], sizes[si], &st);
    test_special(meshes[0]);
    test_f64_io(meshes[2] ? meshes[2] : meshes[0]);
    for (int k = 0; k < 4; ++k) clv_mesh_close(meshes[k]);
    return tu_summary();
}
