/* consumer.c — a program built against an INSTALLED clvmap (or one used as
 * a meson subproject) by .ci/consumers.sh: through pkg-config, CMake's
 * find_package and meson's dependency('clvmap', fallback : 'clvmap').
 * It includes every header the plain clvmap dependency covers, runs one
 * chunked map on the default devices and checks the result.
 *
 * Built with -DCONSUMER_LBFGS (clvmap-lbfgs / clvmap::lbfgs) it also needs
 * clvmap_lbfgs.h's CLBlast interop, which only that dependency turns on;
 * with -DCONSUMER_MPI (clvmap-mpi / clvmap::mpi) it also opens an MPI mesh. */
#include "clvmap.h"
#include "clvmap_csv.h"
#include "clvmap_lbfgs.h"
#include "clvmap_nss.h"
#include "clvmap_nuts.h"
#ifdef CONSUMER_MPI
#include "clvmap_mpi.h"
#endif

#include <stdio.h>

#if defined(CONSUMER_LBFGS) && !defined(CLV_LBFGS_CLBLAST)
#error "the clvmap-lbfgs dependency should define CLV_LBFGS_CLBLAST"
#endif

static const char *const src =
    "__kernel void twice_plus(CLV_ITEMS, __global const float *x, __global float *y, const float c) {\n"
    "    CLV_GUARD();\n"
    "    y[clv_local()] = 2.0f * x[clv_local()] + c;\n"
    "}\n";

static int run_map(clv_mesh *m)
{
    enum { B = 1000 };
    static float x[B], y[B];
    for (int i = 0; i < B; ++i) x[i] = (float)i;
    clv_program *p = NULL;
    clv_array *xa = NULL, *ya = NULL;
    clv_program_desc pd = {0};
    pd.source = src;
    clv_status s = clv_program_build(&p, m, &pd);
    if (s == CLV_OK) s = clv_array_new(&xa, m, CLV_F32, B, 1, CLV_SHARDED);
    if (s == CLV_OK) s = clv_array_new(&ya, m, CLV_F32, B, 1, CLV_SHARDED);
    if (s == CLV_OK) s = clv_array_write(xa, x);
    clv_map_opts o = {0};
    o.chunk = 64;
    if (s == CLV_OK) s = CLV_MAP(p, "twice_plus", B, &o, clv_in(xa), clv_out(ya), clv_float(1.0f));
    if (s == CLV_OK) s = clv_array_read(ya, y);
    int bad = 0;
    for (int i = 0; s == CLV_OK && i < B; ++i) bad += y[i] != 2.0f * (float)i + 1.0f;
    if (s != CLV_OK) printf("consumer: %s: %s\n", clv_status_string(s), clv_mesh_message(m));
    else if (bad) printf("consumer: %d wrong outputs\n", bad);
    clv_array_free(xa);
    clv_array_free(ya);
    clv_program_free(p);
    return s == CLV_OK && !bad;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int ok = 1;
#ifdef CONSUMER_MPI
    MPI_Init(&argc, &argv);
    clv_mpi_mesh *mm = NULL;
    ok = clv_mpi_mesh_open(&mm, MPI_COMM_WORLD, NULL) == CLV_OK;
    if (!ok) printf("consumer: MPI: %s\n", clv_mpi_mesh_message(mm));
    clv_mpi_mesh_close(mm);
#endif
#ifdef CONSUMER_LBFGS
    /* the interop function exists only with CLV_LBFGS_CLBLAST (and CLBlast linked) */
    printf("consumer: clv_lbfgs_gemm at %p\n", (void *)(size_t)&clv_lbfgs_gemm);
#endif
    clv_mesh *m = NULL;
    if (clv_mesh_open(&m, NULL) != CLV_OK) {
        printf("consumer: %s\n", clv_mesh_message(m));
        clv_mesh_close(m);
        return 1;
    }
    ok = run_map(m) && ok;
    printf("consumer: %s on %d device(s)\n", ok ? "ok" : "FAILED", clv_mesh_device_count(m));
    clv_mesh_close(m);
#ifdef CONSUMER_MPI
    MPI_Finalize();
#endif
    return ok ? 0 : 1;
}
