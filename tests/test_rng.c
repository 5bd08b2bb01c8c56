/* The prelude's RNG.
 * 1. clv_philox4x32_10 reproduces Random123's published known-answer vectors
 *    (kat_vectors in Random123; the same numbers appear in every port).
 * 2. clv_rng draws follow the documented layout — key = seed, counter =
 *    (draw, stream, item lo, item hi) — checked against a host Philox that is
 *    itself checked against the same vectors.
 * 3. Uniform and normal draws in float and double have the right range and
 *    moments (within 5 standard errors). */
#include "test_util.h"
#include <math.h>

static const char *source =
    "__kernel void kat(CLV_ITEMS, __global const uint *in, __global uint *out) {\n"
    "    CLV_GUARD();\n"
    "    __global const uint *v = in + 6 * clv_item();\n"
    "    uint4 r = clv_philox4x32_10((uint4)(v[0], v[1], v[2], v[3]), (uint2)(v[4], v[5]));\n"
    "    vstore4(r, clv_local(), out);\n"
    "}\n"
    "__kernel void stream(CLV_ITEMS, __global uint *out, const uint stream_id) {\n"
    "    CLV_GUARD();\n"
    "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), stream_id);\n"
    "    for (int k = 0; k < 6; ++k) out[6 * clv_local() + k] = clv_rng_u32(&r);\n"
    "}\n"
    "__kernel void draws(CLV_ITEMS, __global float *uf, __global float *nf,\n"
    "                    __global double *ud, __global double *nd) {\n"
    "    CLV_GUARD();\n"
    "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 3);\n"
    "    size_t j = clv_local();\n"
    "    uf[j] = clv_uniform_f32(&r); nf[j] = clv_normal_f32(&r);\n"
    "    ud[j] = clv_uniform_f64(&r); nd[j] = clv_normal_f64(&r);\n"
    "}\n";

static const uint32_t kat_in[3][6] = {
    { 0, 0, 0, 0, 0, 0 },
    { 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu },
    { 0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u },
};
static const uint32_t kat_out[3][4] = {
    { 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u },
    { 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu },
    { 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u },
};

static void host_philox(const uint32_t in_ctr[4], const uint32_t in_key[2], uint32_t out[4])
{
    uint32_t c[4] = { in_ctr[0], in_ctr[1], in_ctr[2], in_ctr[3] }, k[2] = { in_key[0], in_key[1] };
    for (int round = 0; round < 10; ++round) {
        if (round) { k[0] += 0x9E3779B9u; k[1] += 0xBB67AE85u; }
        uint64_t p0 = (uint64_t)0xD2511F53u * c[0], p1 = (uint64_t)0xCD9E8D57u * c[2];
        uint32_t n[4] = { (uint32_t)(p1 >> 32) ^ c[1] ^ k[0], (uint32_t)p1,
                          (uint32_t)(p0 >> 32) ^ c[3] ^ k[1], (uint32_t)p0 };
        memcpy(c, n, sizeof c);
    }
    memcpy(out, c, sizeof c);
}

static void test_kat(clv_mesh *m, clv_program *p)
{
    clv_array *in, *out;
    uint32_t got[3][4];
    TU_REQUIRE_OK(m, clv_array_new(&in, m, CLV_U32, 3, 6, CLV_REPLICATED));
    TU_REQUIRE_OK(m, clv_array_new(&out, m, CLV_U32, 3, 4, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_write(in, kat_in));
    TU_REQUIRE_OK(m, CLV_MAP(p, "kat", 3, NULL, clv_in(in), clv_out(out)));
    TU_REQUIRE_OK(m, clv_array_read(out, got));
    for (int v = 0; v < 3; ++v) {
        uint32_t host[4];
        host_philox(kat_in[v], kat_in[v] + 4, host);
        TU_CHECK(memcmp(got[v], kat_out[v], sizeof got[v]) == 0,
                 "device KAT %d: got %08x %08x %08x %08x", v, got[v][0], got[v][1], got[v][2], got[v][3]);
        TU_CHECK(memcmp(host, kat_out[v], sizeof host) == 0, "test's host KAT %d", v);
        clv_philox4x32_10_host(kat_in[v], kat_in[v] + 4, host);
        TU_CHECK(memcmp(host, kat_out[v], sizeof host) == 0, "clv_philox4x32_10_host KAT %d", v);
    }
    clv_array_free(in);
    clv_array_free(out);
}

/* Draw k of stream s for item i is word k%4 of philox((k/4, s, i lo, i hi), seed). */
static void test_stream_layout(clv_mesh *m, clv_program *p, size_t n_items)
{
    const uint64_t seed = 0x0123456789abcdefULL;
    const uint32_t stream_id = 5;
    uint32_t *got = (uint32_t *)malloc(n_items * 6 * sizeof *got);
    clv_array *out;
    clv_map_opts o;
    memset(&o, 0, sizeof o);
    o.seed = seed;
    o.chunk = 7;
    TU_REQUIRE_OK(m, clv_array_new(&out, m, CLV_U32, n_items, 6, CLV_SHARDED));
    TU_REQUIRE_OK(m, CLV_MAP(p, "stream", n_items, &o, clv_out(out), clv_uint(stream_id)));
    TU_REQUIRE_OK(m, clv_array_read(out, got));
    int bad = 0;
    for (size_t i = 0; i < n_items && !bad; ++i)
        for (uint32_t k = 0; k < 6; ++k) {
            uint32_t ctr[4] = { k / 4, stream_id, (uint32_t)i, (uint32_t)((uint64_t)i >> 32) };
            uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) }, block[4];
            host_philox(ctr, key, block);
            if (clv_rng_word_host(seed, i, stream_id, k) != got[i * 6 + k]) {
                bad = 1;
                TU_CHECK(0, "item %zu draw %u: clv_rng_word_host differs from the device", i, k);
                break;
            }
            if (block[k % 4] != got[i * 6 + k]) {
                bad = 1;
                TU_CHECK(0, "item %zu draw %u: device %08x, host %08x", i, k, got[i * 6 + k], block[k % 4]);
                break;
            }
        }
    TU_CHECK(!bad, "stream layout");
    clv_array_free(out);
    free(got);
}

/* mean and variance within 5 standard errors of (mu, var); support checked. */
static void check_moments(const char *what, const double *x, size_t n, double mu, double var, double lo,
                          double hi)
{
    double s = 0, s2 = 0;
    size_t outside = 0;
    for (size_t i = 0; i < n; ++i) {
        s += x[i];
        if (!(x[i] > lo && x[i] < hi)) ++outside;
    }
    double mean = s / (double)n;
    for (size_t i = 0; i < n; ++i) s2 += (x[i] - mean) * (x[i] - mean);
    double v = s2 / (double)(n - 1);
    double se_mean = sqrt(var / (double)n), se_var = var * sqrt(2.0 / (double)(n - 1)) * 1.5;
    TU_CHECK(fabs(mean - mu) < 5 * se_mean, "%s: mean %.5f, expected %.5f +- %.5f", what, mean, mu, 5 * se_mean);
    TU_CHECK(fabs(v - var) < 5 * se_var, "%s: variance %.5f, expected %.5f +- %.5f", what, v, var, 5 * se_var);
    TU_CHECK(outside == 0, "%s: %zu draws outside (%g, %g)", what, outside, lo, hi);
    printf("%-10s mean %+.5f  var %.5f  (n = %zu)\n", what, mean, v, n);
}

static void test_distributions(clv_mesh *m, clv_program *p, size_t n)
{
    clv_array *a[4];
    float *f = (float *)malloc(n * sizeof *f);
    double *d = (double *)malloc(n * sizeof *d), *x = (double *)malloc(n * sizeof *x);
    clv_map_opts o;
    memset(&o, 0, sizeof o);
    o.seed = 99;
    for (int i = 0; i < 4; ++i)
        TU_REQUIRE_OK(m, clv_array_new(&a[i], m, i < 2 ? CLV_F32 : CLV_F64, n, 1, CLV_SHARDED));
    TU_REQUIRE_OK(m, CLV_MAP(p, "draws", n, &o, clv_out(a[0]), clv_out(a[1]), clv_out(a[2]), clv_out(a[3])));
    const char *names[4] = { "uniform32", "normal32", "uniform64", "normal64" };
    for (int i = 0; i < 4; ++i) {
        if (i < 2) {
            TU_REQUIRE_OK(m, clv_array_read(a[i], f));
            for (size_t j = 0; j < n; ++j) x[j] = f[j];
        } else {
            TU_REQUIRE_OK(m, clv_array_read(a[i], d));
            memcpy(x, d, n * sizeof *x);
        }
        int uniform = (i % 2) == 0;
        check_moments(names[i], x, n, uniform ? 0.5 : 0.0, uniform ? 1.0 / 12 : 1.0, uniform ? 0.0 : -10.0,
                      uniform ? 1.0 : 10.0);
        clv_array_free(a[i]);
    }
    free(f);
    free(d);
    free(x);
}

int main(void)
{
    clv_mesh *m = tu_open(1, NULL);
    clv_device_info info;
    memset(&info, 0, sizeof info);
    if (!m) return 77;
    clv_mesh_device_info(m, 0, &info);
    if (!info.fp64) {
        printf("skip: device has no fp64; the double-precision draws need it\n");
        clv_mesh_close(m);
        return 77;
    }
    clv_program *p;
    clv_program_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.source = source;
    pd.name = "test_rng.cl";
    pd.fp64 = 1;
    TU_REQUIRE_OK(m, clv_program_build(&p, m, &pd));
    test_kat(m, p);
    test_stream_layout(m, p, tu_small() ? 50 : 3000);
    test_distributions(m, p, tu_small() ? 2000 : 200000);
    clv_program_free(p);
    clv_mesh_close(m);
    return tu_summary();
}
