/* Same bits as one process (clvmap_mpi.h guarantee 1).
 *
 *   test_mpi_same_bits --reference FILE   one process, the plain clvmap API
 *                                         (clv_map, clv_reduce,
 *                                         clv_lbfgs_minimize) on the devices
 *                                         CLV_DEVICES names; no MPI at all
 *   mpirun -np K test_mpi_same_bits FILE  the same work through clvmap_mpi.h
 *                                         over K ranks; rank 0 writes FILE
 *
 * FILE holds every output, in a fixed layout: maps (an f32 kernel with
 * normal draws, an f64 kernel with 4 outputs per item and uniform draws, a
 * work-group-per-item kernel, each checked also for the global index the
 * kernel saw), reductions (sum, max, logsumexp) of the f32 and f64 outputs,
 * a 2-item batch (a rank with no item when K = 3), and an L-BFGS batch of
 * Rosenbrock problems with per-item stiffness (minima, values, reasons,
 * iteration and evaluation counts). tests/mpi/run_mpi.sh compares the files
 * of 1, 2 and 3 ranks with those of one process with the same total device
 * count, byte for byte. Under MPI, rank 0 also recomputes everything itself
 * with the plain API (in-process reference) and compares section by section,
 * and every rank checks its all-gathered copy against rank 0's.
 * Batch sizes are odd so that every split has remainders; the MPI side uses
 * other chunk sizes than the reference. */
#include "clvmap_lbfgs.h"
#define LBFGS_TEST_NO_ROSENBROCK /* objectives.h: only ROSENBROCK_CHAINED_CL */
#define LBFGS_TEST_NO_QUADRATIC
#define LBFGS_TEST_NO_LOGISTIC
#include "objectives.h"
#include "clvmap_mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (!(cond)) {                                     \
            ++failures;                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);    \
            printf(__VA_ARGS__);                           \
            printf("\n");                                  \
        }                                                  \
    } while (0)

/* GROUP_B stays small: PoCL 3.1 with three pthread devices in one process
 * aborts now and then (pocl_release_dlhandle_cache: ref_count > 0) in long
 * work-group-per-item launches (10007 groups: about 1 run in 2). */
enum { B = 10007, GROUP_B = 1001, SMALL = 2, D64 = 4, GROUP_TERMS = 64, LB_ITEMS = 203, LB_N = 6 };
static const uint64_t SEED = 20261121u;

static const char *kernels =
    "__kernel void noisy_f32(CLV_ITEMS, __global const float *x, __global float *y,\n"
    "                        __global uint *seen, const float sigma) {\n"
    "    CLV_GUARD();\n"
    "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 0);\n"
    "    const float v = x[clv_local()];\n"
    "    y[clv_local()] = v * v + sigma * clv_normal_f32(&r) + log1p(fabs(v));\n"
    "    seen[clv_local()] = (uint)clv_item();\n"
    "}\n"
    "__kernel void mix_f64(CLV_ITEMS, __global const double *x, __global double *z,\n"
    "                      __global double *work) {\n"
    "    CLV_GUARD();\n"
    "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 3);\n"
    "    __global double *w = work + clv_slot() * 8;\n"
    "    const double v = x[clv_local()];\n"
    "    for (int k = 0; k < 8; ++k) w[k] = sin(v * (k + 1)) * exp(-0.1 * k) + clv_uniform_f64(&r);\n"
    "    double s = 0;\n"
    "    for (int k = 0; k < 8; ++k) s += w[k] * w[k];\n"
    "    z[clv_local() * 4 + 0] = s;\n"
    "    z[clv_local() * 4 + 1] = -s + 10 * clv_normal_f64(&r);\n"
    "    z[clv_local() * 4 + 2] = cos(v) * 30;\n"
    "    z[clv_local() * 4 + 3] = (double)clv_item();\n"
    "}\n"
    "__kernel void group_sum(CLV_ITEMS, __global const double *x, __global double *out,\n"
    "                        __local double *part) {\n"
    "    CLV_GUARD();\n"
    "    const int l = get_local_id(0), n = get_local_size(0);\n"
    "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 9);\n"
    "    double s = 0;\n"
    "    for (int t = l; t < 64; t += n) s += sqrt(1.0 + t * fabs(x[clv_local()])) * clv_uniform_f64(&r);\n"
    "    part[l] = s;\n"
    "    barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    if (l == 0) { double a = 0; for (int k = 0; k < n; ++k) a += part[k]; out[clv_local()] = a; }\n"
    "}\n";

static const char *rosenbrock = ROSENBROCK_CHAINED_CL("data.real[0][item]");

/* Every output, in the file's order. */
typedef struct outputs {
    float y32[B];
    uint32_t seen[B];
    double z64[B * D64];
    double group[GROUP_B];
    double sums[12];      /* y32 sum, max, lse; z64 sum (4), lse (4); group max */
    double small_y[SMALL * D64];
    double small_sum[D64];
    double lb_x[LB_ITEMS * LB_N], lb_fx[LB_ITEMS];
    int lb_reason[LB_ITEMS], lb_iters[LB_ITEMS], lb_evals[LB_ITEMS];
} outputs;

typedef struct inputs {
    float x32[B];
    double x64[B];
    double small_x[SMALL];
    double stiffness[LB_ITEMS];
    double lb_start[LB_ITEMS * LB_N];
} inputs;

static void make_inputs(inputs *in)
{
    for (int i = 0; i < B; ++i) {
        in->x32[i] = (float)(clv_uniform_f64_host(7, (uint64_t)i, 1, 0) * 4 - 2);
        in->x64[i] = clv_uniform_f64_host(7, (uint64_t)i, 2, 0) * 6 - 3;
    }
    in->small_x[0] = 0.25;
    in->small_x[1] = -1.5;
    for (int i = 0; i < LB_ITEMS; ++i) {
        in->stiffness[i] = 1.0 + 99.0 * i / (LB_ITEMS - 1);
        for (int k = 0; k < LB_N; ++k)
            in->lb_start[i * LB_N + k] = clv_uniform_f64_host(7, (uint64_t)i, 3, 2u * (uint32_t)k) * 4 - 2;
    }
}

static int write_file(const char *path, const outputs *o)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(o, sizeof *o, 1, f) == 1;
    return fclose(f) == 0 && ok;
}

static clv_lbfgs_parameter lbfgs_parameters(long chunk)
{
    clv_lbfgs_parameter p;
    memset(&p, 0, sizeof p);
    p.chunk = chunk;
    p.max_iterations = 400;
    return p;
}

/* ---- one process: the plain clvmap API ----------------------------------- */

#define REQUIRE(st, m)                                                               \
    do {                                                                             \
        if ((st) != CLV_OK) {                                                        \
            printf("FAIL %s:%d: %s: %s\n", __FILE__, __LINE__, clv_status_string(st), \
                   clv_mesh_message(m));                                             \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

static void reference(clv_mesh *m, const inputs *in, outputs *o)
{
    memset(o, 0, sizeof *o);
    clv_program *p;
    clv_program_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.source = kernels;
    pd.name = "same_bits.cl";
    pd.fp64 = 1;
    REQUIRE(clv_program_build(&p, m, &pd), m);
    clv_array *x32, *y32, *seen, *x64, *z64, *xg, *grp, *sx, *sy;
    REQUIRE(clv_array_new(&x32, m, CLV_F32, B, 1, CLV_SHARDED), m);
    REQUIRE(clv_array_new(&y32, m, CLV_F32, B, 1, CLV_SHARDED), m);
    REQUIRE(clv_array_new(&seen, m, CLV_U32, B, 1, CLV_SHARDED), m);
    REQUIRE(clv_array_new(&x64, m, CLV_F64, B, 1, CLV_SHARDED), m);
    REQUIRE(clv_array_new(&z64, m, CLV_F64, B, D64, CLV_SHARDED), m);
    REQUIRE(clv_array_new(&xg, m, CLV_F64, GROUP_B, 1, CLV_SHARDED), m);
    REQUIRE(clv_array_new(&grp, m, CLV_F64, GROUP_B, 1, CLV_SHARDED), m);
    REQUIRE(clv_array_new(&sx, m, CLV_F64, SMALL, 1, CLV_SHARDED), m);
    REQUIRE(clv_array_new(&sy, m, CLV_F64, SMALL, D64, CLV_SHARDED), m);
    REQUIRE(clv_array_write(x32, in->x32), m);
    REQUIRE(clv_array_write(x64, in->x64), m);
    REQUIRE(clv_array_write(xg, in->x64), m);
    REQUIRE(clv_array_write(sx, in->small_x), m);
    clv_map_opts mo;
    memset(&mo, 0, sizeof mo);
    mo.seed = SEED;
    REQUIRE(CLV_MAP(p, "noisy_f32", B, &mo, clv_in(x32), clv_out(y32), clv_out(seen), clv_float(0.5f)), m);
    REQUIRE(CLV_MAP(p, "mix_f64", B, &mo, clv_in(x64), clv_out(z64), clv_scratch(8 * sizeof(double))), m);
    REQUIRE(CLV_MAP(p, "mix_f64", SMALL, &mo, clv_in(sx), clv_out(sy), clv_scratch(8 * sizeof(double))), m);
    clv_map_opts go = mo;
    go.shape = CLV_ITEM_PER_GROUP;
    go.local_size = 16;
    REQUIRE(CLV_MAP(p, "group_sum", GROUP_B, &go, clv_in(xg), clv_out(grp), clv_local_mem(16 * sizeof(double))), m);
    REQUIRE(clv_array_read(y32, o->y32), m);
    REQUIRE(clv_array_read(seen, o->seen), m);
    REQUIRE(clv_array_read(z64, o->z64), m);
    REQUIRE(clv_array_read(grp, o->group), m);
    REQUIRE(clv_array_read(sy, o->small_y), m);
    REQUIRE(clv_reduce(y32, CLV_SUM, &o->sums[0]), m);
    REQUIRE(clv_reduce(y32, CLV_MAX, &o->sums[1]), m);
    REQUIRE(clv_reduce(y32, CLV_LOGSUMEXP, &o->sums[2]), m);
    REQUIRE(clv_reduce(z64, CLV_SUM, &o->sums[3]), m);
    REQUIRE(clv_reduce(z64, CLV_LOGSUMEXP, &o->sums[7]), m);
    REQUIRE(clv_reduce(grp, CLV_MAX, &o->sums[11]), m);
    REQUIRE(clv_reduce(sy, CLV_SUM, o->small_sum), m);
    clv_array *arrays[] = { x32, y32, seen, x64, z64, xg, grp, sx, sy };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; ++i) clv_array_free(arrays[i]);
    clv_program_free(p);

    /* L-BFGS: all items at once, the stiffness indexed by the batch item */
    clv_array *stiff;
    REQUIRE(clv_array_new(&stiff, m, CLV_F64, LB_ITEMS, 1, CLV_REPLICATED), m);
    REQUIRE(clv_array_write(stiff, in->stiffness), m);
    clv_lbfgs_objective obj;
    memset(&obj, 0, sizeof obj);
    obj.source = rosenbrock;
    obj.data[0] = stiff;
    clv_lbfgs_parameter param = lbfgs_parameters(0);
    clv_lbfgs *s;
    clv_status st = clv_lbfgs_new(&s, m, LB_N, &obj, &param);
    memcpy(o->lb_x, in->lb_start, sizeof o->lb_x);
    clv_lbfgs_items items = { o->lb_fx, o->lb_reason, o->lb_iters, o->lb_evals };
    if (st == CLV_OK) st = clv_lbfgs_minimize(s, LB_ITEMS, o->lb_x, &items, NULL, NULL);
    if (st != CLV_OK) {
        printf("FAIL: reference L-BFGS: %s\n", clv_lbfgs_message(s));
        exit(1);
    }
    clv_lbfgs_free(s);
    clv_array_free(stiff);
}

/* ---- K ranks: clvmap_mpi.h ------------------------------------------------ */

#define MREQUIRE(st, mm)                                                                  \
    do {                                                                                  \
        if ((st) != CLV_OK) {                                                             \
            printf("FAIL %s:%d (rank %d): %s: %s\n", __FILE__, __LINE__, clv_mpi_mesh_rank(mm), \
                   clv_status_string(st), clv_mpi_mesh_message(mm));                      \
            fflush(stdout);                                                               \
            MPI_Abort(MPI_COMM_WORLD, 1);                                                 \
        }                                                                                 \
    } while (0)

static void distributed(clv_mpi_mesh *mm, const inputs *in, outputs *o, outputs *everywhere)
{
    memset(o, 0, sizeof *o);
    const int rank = clv_mpi_mesh_rank(mm), root_scatter = clv_mpi_mesh_size(mm) - 1;
    clv_program *p;
    clv_program_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.source = kernels;
    pd.name = "same_bits.cl";
    pd.fp64 = 1;
    MREQUIRE(clv_mpi_program_build(&p, mm, &pd), mm);
    clv_array *x32, *y32, *seen, *x64, *z64, *xg, *grp, *sx, *sy;
    MREQUIRE(clv_mpi_array_new(&x32, mm, CLV_F32, B, 1, CLV_SHARDED), mm);
    MREQUIRE(clv_mpi_array_new(&y32, mm, CLV_F32, B, 1, CLV_SHARDED), mm);
    MREQUIRE(clv_mpi_array_new(&seen, mm, CLV_U32, B, 1, CLV_SHARDED), mm);
    MREQUIRE(clv_mpi_array_new(&x64, mm, CLV_F64, B, 1, CLV_SHARDED), mm);
    MREQUIRE(clv_mpi_array_new(&z64, mm, CLV_F64, B, D64, CLV_SHARDED), mm);
    MREQUIRE(clv_mpi_array_new(&xg, mm, CLV_F64, GROUP_B, 1, CLV_SHARDED), mm);
    MREQUIRE(clv_mpi_array_new(&grp, mm, CLV_F64, GROUP_B, 1, CLV_SHARDED), mm);
    MREQUIRE(clv_mpi_array_new(&sx, mm, CLV_F64, SMALL, 1, CLV_SHARDED), mm);
    MREQUIRE(clv_mpi_array_new(&sy, mm, CLV_F64, SMALL, D64, CLV_SHARDED), mm);
    /* x32 scattered from the last rank (others pass NULL), the rest written
     * from the copy every rank has */
    MREQUIRE(clv_mpi_array_scatter(mm, x32, root_scatter, rank == root_scatter ? in->x32 : NULL), mm);
    MREQUIRE(clv_mpi_array_write(mm, x64, in->x64), mm);
    MREQUIRE(clv_mpi_array_write(mm, xg, in->x64), mm);
    MREQUIRE(clv_mpi_array_write(mm, sx, in->small_x), mm);
    clv_map_opts mo;
    memset(&mo, 0, sizeof mo);
    mo.seed = SEED;
    mo.chunk = 7; /* the reference runs one launch per device */
    MREQUIRE(CLV_MPI_MAP(mm, p, "noisy_f32", B, &mo, clv_in(x32), clv_out(y32), clv_out(seen), clv_float(0.5f)), mm);
    mo.chunk = CLV_CHUNK_AUTO;
    MREQUIRE(CLV_MPI_MAP(mm, p, "mix_f64", B, &mo, clv_in(x64), clv_out(z64), clv_scratch(8 * sizeof(double))), mm);
    mo.chunk = 1;
    MREQUIRE(CLV_MPI_MAP(mm, p, "mix_f64", SMALL, &mo, clv_in(sx), clv_out(sy), clv_scratch(8 * sizeof(double))),
             mm);
    clv_map_opts go = mo;
    go.chunk = 100;
    go.shape = CLV_ITEM_PER_GROUP;
    go.local_size = 16;
    MREQUIRE(CLV_MPI_MAP(mm, p, "group_sum", GROUP_B, &go, clv_in(xg), clv_out(grp), clv_local_mem(16 * sizeof(double))),
             mm);
    MREQUIRE(clv_mpi_array_gather(mm, y32, 0, rank == 0 ? o->y32 : NULL), mm);
    MREQUIRE(clv_mpi_array_gather(mm, seen, 0, rank == 0 ? o->seen : NULL), mm);
    MREQUIRE(clv_mpi_array_gather(mm, z64, 0, rank == 0 ? o->z64 : NULL), mm);
    MREQUIRE(clv_mpi_array_gather(mm, grp, 0, rank == 0 ? o->group : NULL), mm);
    MREQUIRE(clv_mpi_array_gather(mm, sy, 0, rank == 0 ? o->small_y : NULL), mm);
    /* the same, to every rank */
    MREQUIRE(clv_mpi_array_gather(mm, y32, CLV_MPI_ALL, everywhere->y32), mm);
    MREQUIRE(clv_mpi_array_gather(mm, z64, CLV_MPI_ALL, everywhere->z64), mm);
    MREQUIRE(clv_mpi_array_gather(mm, sy, CLV_MPI_ALL, everywhere->small_y), mm);
    MREQUIRE(clv_mpi_reduce(mm, y32, CLV_SUM, &o->sums[0]), mm);
    MREQUIRE(clv_mpi_reduce(mm, y32, CLV_MAX, &o->sums[1]), mm);
    MREQUIRE(clv_mpi_reduce(mm, y32, CLV_LOGSUMEXP, &o->sums[2]), mm);
    MREQUIRE(clv_mpi_reduce(mm, z64, CLV_SUM, &o->sums[3]), mm);
    MREQUIRE(clv_mpi_reduce(mm, z64, CLV_LOGSUMEXP, &o->sums[7]), mm);
    MREQUIRE(clv_mpi_reduce(mm, grp, CLV_MAX, &o->sums[11]), mm);
    MREQUIRE(clv_mpi_reduce(mm, sy, CLV_SUM, o->small_sum), mm);
    memcpy(everywhere->sums, o->sums, sizeof o->sums);
    memcpy(everywhere->small_sum, o->small_sum, sizeof o->small_sum);
    clv_array *arrays[] = { x32, y32, seen, x64, z64, xg, grp, sx, sy };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; ++i) clv_array_free(arrays[i]);
    clv_program_free(p);

    /* L-BFGS: each rank its items; the objective's `item` is the row's
     * index in the whole batch, so every rank holds all the stiffnesses. */
    clv_mesh *local = clv_mpi_mesh_local(mm);
    clv_array *stiff = NULL;
    clv_status st = clv_array_new(&stiff, local, CLV_F64, LB_ITEMS, 1, CLV_REPLICATED);
    if (st == CLV_OK) st = clv_array_write(stiff, in->stiffness);
    MREQUIRE(clv_mpi_agree(mm, st, "stiffness slice", clv_mesh_message(local)), mm);
    clv_lbfgs_objective obj;
    memset(&obj, 0, sizeof obj);
    obj.source = rosenbrock;
    obj.data[0] = stiff;
    clv_lbfgs_parameter param = lbfgs_parameters(29); /* the reference solves all at once */
    param.share = clv_mpi_share(mm);
    clv_lbfgs *s;
    st = clv_lbfgs_new(&s, local, LB_N, &obj, &param);
    MREQUIRE(clv_mpi_agree(mm, st, "clv_lbfgs_new", clv_lbfgs_message(s)), mm);
    memcpy(o->lb_x, in->lb_start, sizeof o->lb_x);
    clv_lbfgs_items items = { o->lb_fx, o->lb_reason, o->lb_iters, o->lb_evals };
    st = clv_lbfgs_minimize(s, LB_ITEMS, o->lb_x, &items, NULL, NULL);
    if (st != CLV_OK) { /* agreed by the share: every rank stops here */
        printf("FAIL %s:%d (rank %d): %s\n", __FILE__, __LINE__, rank, clv_lbfgs_message(s));
        fflush(stdout);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memcpy(everywhere->lb_x, o->lb_x, sizeof o->lb_x);
    clv_lbfgs_free(s);
    clv_array_free(stiff);
}

/* ---- comparisons ------------------------------------------------------------ */

static void compare(const char *what, const outputs *a, const outputs *b)
{
#define SAME(field) CHECK(memcmp(a->field, b->field, sizeof a->field) == 0, "%s: %s differs", what, #field)
    SAME(y32);
    SAME(seen);
    SAME(z64);
    SAME(group);
    SAME(sums);
    SAME(small_y);
    SAME(small_sum);
    SAME(lb_x);
    SAME(lb_fx);
    SAME(lb_reason);
    SAME(lb_iters);
    SAME(lb_evals);
#undef SAME
}

/* Checks that do not need a reference: the global index every item saw,
 * and that the L-BFGS batch did converge (so equal bits are not equal junk). */
static void sanity(const outputs *o)
{
    int bad_index = 0, converged = 0;
    for (int i = 0; i < B; ++i) {
        if (o->seen[i] != (uint32_t)i) ++bad_index;
        if (o->z64[i * D64 + 3] != (double)i) ++bad_index;
    }
    CHECK(bad_index == 0, "%d items saw a wrong global index", bad_index);
    for (int i = 0; i < LB_ITEMS; ++i) converged += o->lb_reason[i] >= 0 && o->lb_fx[i] < 1e-8;
    CHECK(converged > LB_ITEMS / 2, "only %d of %d L-BFGS items converged", converged, LB_ITEMS);
}

int main(int argc, char **argv)
{
    static inputs in;
    static outputs mine, ref, everywhere, root_copy;
    make_inputs(&in);
    if (argc == 3 && strcmp(argv[1], "--reference") == 0) {
        clv_mesh *m;
        clv_status st = clv_mesh_open(&m, NULL);
        REQUIRE(st, m);
        printf("reference: one process, %d device(s)\n", clv_mesh_device_count(m));
        reference(m, &in, &ref);
        clv_mesh_close(m);
        sanity(&ref);
        CHECK(write_file(argv[2], &ref), "cannot write %s", argv[2]);
        printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
        return failures != 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: test_mpi_same_bits --reference FILE | mpirun ... test_mpi_same_bits FILE\n");
        return 2;
    }
    MPI_Init(&argc, &argv);
    clv_mpi_mesh *mm;
    clv_status st = clv_mpi_mesh_open(&mm, MPI_COMM_WORLD, NULL);
    MREQUIRE(st, mm);
    const int rank = clv_mpi_mesh_rank(mm), size = clv_mpi_mesh_size(mm);
    if (rank == 0)
        printf("%d rank(s), %d device(s) in all\n", size, clv_mpi_mesh_device_count(mm));
    {
        size_t first = 0, count = 0;
        clv_mpi_local_items(mm, B, &first, &count);
        printf("rank %d: %d device(s), items [%zu, %zu) of %d\n", rank, clv_mpi_mesh_rank_devices(mm, rank), first,
               first + count, B);
        fflush(stdout);
    }
    distributed(mm, &in, &mine, &everywhere);

    /* Every rank's all-gathered copy equals rank 0's gathered one. */
    if (rank == 0) root_copy = mine;
    MPI_Bcast(&root_copy, (int)sizeof root_copy, MPI_BYTE, 0, MPI_COMM_WORLD);
    CHECK(memcmp(everywhere.y32, root_copy.y32, sizeof root_copy.y32) == 0, "rank %d: all-gathered y32 differs", rank);
    CHECK(memcmp(everywhere.z64, root_copy.z64, sizeof root_copy.z64) == 0, "rank %d: all-gathered z64 differs", rank);
    CHECK(memcmp(everywhere.small_y, root_copy.small_y, sizeof root_copy.small_y) == 0,
          "rank %d: all-gathered small_y differs", rank);
    CHECK(memcmp(everywhere.sums, root_copy.sums, sizeof root_copy.sums) == 0,
          "rank %d: reductions differ from rank 0's", rank);
    CHECK(memcmp(everywhere.lb_x, root_copy.lb_x, sizeof root_copy.lb_x) == 0,
          "rank %d: L-BFGS minima differ from rank 0's", rank);

    if (rank == 0) {
        sanity(&mine);
        /* in-process reference: rank 0 alone, the plain API, whole batches */
        reference(clv_mpi_mesh_local(mm), &in, &ref);
        compare("ranks vs rank 0 alone", &mine, &ref);
        CHECK(write_file(argv[1], &mine), "cannot write %s", argv[1]);
    }
    int total = 0;
    MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("%s: %d failure(s) over %d rank(s)\n", total ? "FAILED" : "PASSED", total, size);
    clv_mpi_mesh_close(mm);
    MPI_Finalize();
    return total != 0;
}
