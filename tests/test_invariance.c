/* Partition invariance (DESIGN.md guarantee 1): for kernels whose items do
 * not talk to each other, every output is bitwise identical for every chunk
 * size and every device split, and equal to one launch on one device.
 *
 * Property test over random batch sizes (and primes, and sizes around the
 * local size), chunk in {1, 3, 64, B, auto}, meshes of 1-3 devices with equal
 * and uneven weights (one device given nothing), f32 and f64, kernels that
 * use the RNG, scratch, an in-place (inout) array, a replicated input, and
 * the one-work-group-per-item shape with local memory. */
#include "test_util.h"

#define D 5 /* elements per item */

static const char *source =
    "/* y = f(x, shift, noise) through per-item scratch; z updated in place */\n"
    "__kernel void mix_items(CLV_ITEMS, __global const clv_real *x, __global const clv_real *shift,\n"
    "                  __global clv_real *y, __global clv_real *z, __global clv_real *scratch,\n"
    "                  const int d, const clv_real scale) {\n"
    "    CLV_GUARD();\n"
    "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 1);\n"
    "    __global clv_real *s = scratch + clv_slot() * d;\n"
    "    const size_t j = clv_local() * d;\n"
    "    for (int k = 0; k < d; ++k) s[k] = scale * x[j + k] + shift[k] + clv_normal(&r);\n"
    "    clv_real acc = 0;\n"
    "    for (int k = 0; k < d; ++k) acc += sin(s[k]) * exp(-(clv_real)0.1 * s[k] * s[k]) + clv_uniform(&r);\n"
    "    for (int k = 0; k < d; ++k) y[j + k] = s[k] * acc + log1p(fabs(s[k]));\n"
    "    for (int k = 0; k < d; ++k) z[j + k] = z[j + k] * (clv_real)0.5 + acc;\n"
    "}\n"
    "/* one work group per item: the group sums a long inner loop in local memory */\n"
    "__kernel void group_sum(CLV_ITEMS, __global const clv_real *x, __global clv_real *out,\n"
    "                        __local clv_real *part, const int inner) {\n"
    "    if (!clv_in_batch()) return;  /* the whole group agrees */\n"
    "    const size_t lid = get_local_id(0), L = get_local_size(0);\n"
    "    clv_rng r = clv_rng_init(clv_seed(), clv_item() * L + lid, 2);\n"
    "    clv_real acc = 0, base = x[clv_local() * " "5" "];\n"
    "    for (int t = lid; t < inner; t += L) acc += cos(base + (clv_real)t * (clv_real)0.01) * clv_uniform(&r);\n"
    "    part[lid] = acc;\n"
    "    barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    for (size_t h = L / 2; h > 0; h /= 2) {\n"
    "        if (lid < h) part[lid] += part[lid + h];\n"
    "        barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    }\n"
    "    if (lid == 0) out[clv_local()] = part[0];\n"
    "}\n"
    "/* scalar arguments arrive exactly, whatever clv_real is */\n"
    "__kernel void echo(CLV_ITEMS, __global clv_real *out, const clv_real a, const float b, const int c) {\n"
    "    CLV_GUARD();\n"
    "    out[3 * clv_local()] = a; out[3 * clv_local() + 1] = b; out[3 * clv_local() + 2] = c;\n"
    "}\n";

typedef struct mesh_case {
    const char *name;
    int n_devices;
    const double *weights; /* NULL: equal */
    clv_split split;       /* applied after opening, when not CLV_SPLIT_WEIGHTS */
} mesh_case;

static const double uneven3[3] = { 1.0, 0.0, 3.0 }; /* device 1 gets nothing */
static const double uneven2[2] = { 5.0, 1.0 };

/* Outputs of one map, read back to the host. */
typedef struct outputs {
    unsigned char *y, *z, *g;
} outputs;

static void free_outputs(outputs *o)
{
    free(o->y);
    free(o->z);
    free(o->g);
    memset(o, 0, sizeof *o);
}

static void fill_inputs(unsigned char *x, unsigned char *z, size_t n, clv_dtype real, unsigned long long seed)
{
    unsigned long long st = seed;
    for (size_t i = 0; i < n * D; ++i) {
        double v = (double)(tu_next(&st) >> 11) * 0x1.0p-53 * 4.0 - 2.0;
        double w = (double)(tu_next(&st) >> 11) * 0x1.0p-53;
        if (real == CLV_F32) {
            ((float *)x)[i] = (float)v;
            ((float *)z)[i] = (float)w;
        } else {
            ((double *)x)[i] = v;
            ((double *)z)[i] = w;
        }
    }
}

/* Run both kernels over items [skip, n) of the batch with the given chunk
 * (skip > 0: local arrays of n - skip items and opts.item_offset = skip, as
 * one process of several runs its part); outputs to *out. */
static int run_part(clv_mesh *m, clv_program *p, clv_dtype real, size_t n, size_t skip, long chunk,
                    unsigned long long seed, outputs *out)
{
    size_t es = clv_dtype_size(real), bytes = n * D * es;
    unsigned char *x = (unsigned char *)malloc(bytes), *z = (unsigned char *)malloc(bytes);
    double shift64[D] = { 0.1, -0.2, 0.3, -0.4, 0.5 };
    float shift32[D] = { 0.1f, -0.2f, 0.3f, -0.4f, 0.5f };
    clv_array *xa, *sa, *ya, *za, *ga;
    clv_map_opts o;
    memset(&o, 0, sizeof o);
    o.chunk = chunk;
    o.seed = seed;
    o.item_offset = skip;
    fill_inputs(x, z, n, real, seed);
    n -= skip;
    bytes = n * D * es;
    out->y = (unsigned char *)malloc(bytes);
    out->z = (unsigned char *)malloc(bytes);
    out->g = (unsigned char *)malloc(n * es);
    TU_REQUIRE_OK(m, clv_array_new(&xa, m, real, n, D, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_new(&sa, m, real, 1, D, CLV_REPLICATED));
    TU_REQUIRE_OK(m, clv_array_new(&ya, m, real, n, D, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_new(&za, m, real, n, D, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_new(&ga, m, real, n, 1, CLV_SHARDED));
    TU_REQUIRE_OK(m, clv_array_write(xa, x + skip * D * es));
    TU_REQUIRE_OK(m, clv_array_write(sa, real == CLV_F32 ? (void *)shift32 : (void *)shift64));
    TU_REQUIRE_OK(m, clv_array_write(za, z + skip * D * es));
    clv_status s = CLV_MAP(p, "mix_items", n, &o, clv_in(xa), clv_in(sa), clv_out(ya), clv_inout(za),
                           clv_scratch(D * es), clv_int(D), clv_real(0.75));
    if (s == CLV_OK) {
        o.shape = CLV_ITEM_PER_GROUP;
        o.local_size = 16;
        s = CLV_MAP(p, "group_sum", n, &o, clv_in(xa), clv_out(ga), clv_local_mem(16 * es), clv_int(100));
    }
    if (s != CLV_OK) printf("FAIL: map (n %zu, chunk %ld): %s\n", n, chunk, clv_mesh_message(m));
    TU_REQUIRE_OK(m, clv_array_read(ya, out->y));
    TU_REQUIRE_OK(m, clv_array_read(za, out->z));
    TU_REQUIRE_OK(m, clv_array_read(ga, out->g));
    clv_array_free(xa);
    clv_array_free(sa);
    clv_array_free(ya);
    clv_array_free(za);
    clv_array_free(ga);
    free(x);
    free(z);
    return s == CLV_OK;
}

static int run_case(clv_mesh *m, clv_program *p, clv_dtype real, size_t n, long chunk, unsigned long long seed,
                    outputs *out)
{
    return run_part(m, p, real, n, 0, chunk, seed, out);
}

/* The tail [n/3, n) of the batch run alone with item_offset = n/3 gives
 * the tail of the whole batch's outputs, bit for bit. */
static void check_item_offset(clv_mesh *m, clv_program *p, clv_dtype real, size_t n, unsigned long long seed,
                              const outputs *ref)
{
    size_t skip = n / 3, es = clv_dtype_size(real), bytes = (n - skip) * D * es;
    outputs got;
    int ok = run_part(m, p, real, n, skip, 7, seed, &got);
    TU_CHECK(ok && memcmp(got.y, ref->y + skip * D * es, bytes) == 0 &&
             memcmp(got.z, ref->z + skip * D * es, bytes) == 0 &&
             memcmp(got.g, ref->g + skip * es, (n - skip) * es) == 0,
             "%s, n %zu: items [%zu, %zu) run with item_offset %zu differ from the same items of the whole batch",
             real == CLV_F32 ? "f32" : "f64", n, skip, n, skip);
    free_outputs(&got);
}

static clv_program *build(clv_mesh *m, clv_dtype real)
{
    clv_program *p;
    clv_program_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.source = source;
    pd.name = "test_invariance.cl";
    pd.real = real;
    TU_REQUIRE_OK(m, clv_program_build(&p, m, &pd));
    return p;
}

/* clv_real() to a clv_real parameter, clv_float and clv_int next to it. */
static void check_scalar_args(clv_mesh *m, clv_program *p, clv_dtype real)
{
    clv_array *out;
    double got[3 * 5];
    float got32[3 * 5];
    TU_REQUIRE_OK(m, clv_array_new(&out, m, real, 5, 3, CLV_SHARDED));
    TU_REQUIRE_OK(m, CLV_MAP(p, "echo", 5, NULL, clv_out(out), clv_real(-4.43), clv_float(2.5f), clv_int(-7)));
    if (real == CLV_F32) {
        TU_REQUIRE_OK(m, clv_array_read(out, got32));
        for (int i = 0; i < 15; ++i) got[i] = got32[i];
    } else {
        TU_REQUIRE_OK(m, clv_array_read(out, got));
    }
    double want_a = real == CLV_F32 ? (double)(float)-4.43 : -4.43;
    for (int i = 0; i < 5; ++i)
        TU_CHECK(got[3 * i] == want_a && got[3 * i + 1] == 2.5 && got[3 * i + 2] == -7.0,
                 "%s: scalar arguments arrived as %.17g %g %g", real == CLV_F32 ? "f32" : "f64", got[3 * i],
                 got[3 * i + 1], got[3 * i + 2]);
    clv_array_free(out);
}

int main(void)
{
    unsigned long long seed = tu_seed(), st = seed;
    const mesh_case meshes[] = {
        { "1 device", 1, NULL, CLV_SPLIT_EQUAL },
        { "2 devices", 2, NULL, CLV_SPLIT_EQUAL },
        { "2 devices 5:1", 2, uneven2, CLV_SPLIT_WEIGHTS },
        { "3 devices", 3, NULL, CLV_SPLIT_EQUAL },
        { "3 devices 1:0:3", 3, uneven3, CLV_SPLIT_WEIGHTS },
        { "3 devices by compute units", 3, NULL, CLV_SPLIT_COMPUTE_UNITS },
        { "3 devices by measured speed", 3, NULL, CLV_SPLIT_MEASURED },
    };
    const int n_meshes = (int)(sizeof meshes / sizeof meshes[0]);
    size_t sizes[12];
    int n_sizes = 0;
    if (tu_small()) {
        sizes[n_sizes++] = 1;
        sizes[n_sizes++] = 65;
        sizes[n_sizes++] = 101;
    } else {
        const size_t fixed[] = { 1, 2, 63, 64, 65, 997, 4999 }; /* 997 and 4999 are prime */
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; ++i) sizes[n_sizes++] = fixed[i];
        for (int i = 0; i < 3; ++i) sizes[n_sizes++] = 1 + (size_t)(tu_next(&st) % 5000);
    }
    const clv_dtype reals[2] = { CLV_F32, CLV_F64 };
    int compared = 0;
    for (int r = 0; r < 2; ++r) {
        clv_mesh *ref_mesh = tu_open(1, NULL);
        clv_device_info info;
        memset(&info, 0, sizeof info);
        if (!ref_mesh) return 77;
        clv_mesh_device_info(ref_mesh, 0, &info);
        if (reals[r] == CLV_F64 && !info.fp64) {
            printf("skip f64: the device has no fp64\n");
            clv_mesh_close(ref_mesh);
            continue;
        }
        clv_program *ref_prog = build(ref_mesh, reals[r]);
        check_scalar_args(ref_mesh, ref_prog, reals[r]);
        for (int si = 0; si < n_sizes; ++si) {
            size_t n = sizes[si];
            outputs ref;
            unsigned long long case_seed = seed + (unsigned long long)si;
            run_case(ref_mesh, ref_prog, reals[r], n, CLV_CHUNK_NONE, case_seed, &ref);
            check_item_offset(ref_mesh, ref_prog, reals[r], n, case_seed, &ref);
            for (int mi = 0; mi < n_meshes; ++mi) {
                clv_mesh *m = tu_open(meshes[mi].n_devices, meshes[mi].weights);
                if (!m) continue;
                clv_program *p = build(m, reals[r]);
                if (meshes[mi].split == CLV_SPLIT_MEASURED) { /* measure first: one map of n items */
                    outputs warm;
                    run_case(m, p, reals[r], n, CLV_CHUNK_NONE, case_seed, &warm);
                    free_outputs(&warm);
                }
                if (meshes[mi].split != CLV_SPLIT_WEIGHTS)
                    TU_REQUIRE_OK(m, clv_mesh_set_split(m, meshes[mi].split, NULL, 0));
                const long chunks[5] = { 1, 3, 64, (long)n, CLV_CHUNK_AUTO };
                for (int ci = 0; ci < 5; ++ci) {
                    outputs got;
                    int ok = run_case(m, p, reals[r], n, chunks[ci], case_seed, &got);
                    size_t bytes = n * D * clv_dtype_size(reals[r]);
                    int same = ok && memcmp(got.y, ref.y, bytes) == 0 && memcmp(got.z, ref.z, bytes) == 0 &&
                               memcmp(got.g, ref.g, n * clv_dtype_size(reals[r])) == 0;
                    TU_CHECK(same, "%s, n %zu, chunk %ld, %s: outputs differ from one launch on one device "
                             "(seed %llu)", reals[r] == CLV_F32 ? "f32" : "f64", n, chunks[ci], meshes[mi].name,
                             seed);
                    ++compared;
                    free_outputs(&got);
                }
                clv_program_free(p);
                clv_mesh_close(m);
            }
            free_outputs(&ref);
        }
        clv_program_free(ref_prog);
        clv_mesh_close(ref_mesh);
    }
    printf("%d configurations compared bitwise\n", compared);
    return tu_summary();
}
