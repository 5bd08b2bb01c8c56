/* A rank that fails gives a clear error on every rank, and nothing hangs
 * (clvmap_mpi.h guarantee 2). Run by tests/mpi/run_mpi.sh under mpirun, with
 * a timeout:
 *
 *   test_mpi_failures open  R   every rank opens its mesh; rank R's
 *                               environment names no device (the driver
 *                               gives it CLV_DEVICES=7): every rank must get
 *                               the failure, with a message naming rank R
 *                               and the device error
 *   test_mpi_failures build R   rank R's program does not compile: every rank
 *                               gets CLV_ERROR_BUILD with rank R's build log
 *   test_mpi_failures map   R   rank R passes an argument of the wrong type
 *                               to a map: every rank gets its status
 *   test_mpi_failures die   R   rank R exits at once after the mesh opened
 *                               (no MPI_Finalize): the others go on into
 *                               collectives; mpirun must end the job with an
 *                               error instead of waiting (the driver checks
 *                               the exit status and the time)
 *
 * Every rank prints "rank r: OK: ..." when it saw what it should, else
 * "rank r: FAIL: ..." and exits 1. */
#include "clvmap_mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *source =
    "#ifdef BROKEN\n"
    "this line is not OpenCL C\n"
    "#endif\n"
    "__kernel void twice(CLV_ITEMS, __global const float *x, __global float *y, const float k) {\n"
    "    CLV_GUARD();\n"
    "    y[clv_local()] = k * x[clv_local()];\n"
    "}\n";

static int rank_world;

static int verdict(int ok, const char *what, const char *message)
{
    /* the message's first two lines are enough to show */
    char shown[600];
    snprintf(shown, sizeof shown, "%s", message);
    char *cut = strchr(shown, '\n');
    if (cut) cut = strchr(cut + 1, '\n');
    if (cut) *cut = '\0';
    printf("rank %d: %s: %s | %s\n", rank_world, ok ? "OK" : "FAIL", what, shown);
    fflush(stdout);
    return ok ? 0 : 1;
}

/* The message names the failing rank (and no other). */
static int names_rank(const char *message, int bad)
{
    char want[32];
    snprintf(want, sizeof want, "rank %d (host ", bad);
    return strstr(message, want) != NULL && strstr(message, "failed on 1 of") != NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_mpi_failures open|build|map|die RANK\n");
        return 2;
    }
    const char *mode = argv[1];
    const int bad = atoi(argv[2]);
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_world);
    int rc = 0;
    clv_mpi_mesh *mm = NULL;
    clv_status st = clv_mpi_mesh_open(&mm, MPI_COMM_WORLD, NULL);
    if (strcmp(mode, "open") == 0) {
        const char *msg = clv_mpi_mesh_message(mm);
        rc = verdict(st == CLV_ERROR_DEVICE_SPEC && names_rank(msg, bad) && strstr(msg, "clv_mpi_mesh_open") &&
                     strstr(msg, "CLV_DEVICES") != NULL,
                     "every rank sees the open failure", msg);
        if (st == CLV_OK) rc = verdict(0, "the mesh opened although a rank has no device", "");
    } else if (st != CLV_OK) {
        rc = verdict(0, "the mesh should open", clv_mpi_mesh_message(mm));
    } else if (strcmp(mode, "build") == 0) {
        clv_program *p = NULL;
        clv_program_desc pd;
        memset(&pd, 0, sizeof pd);
        pd.source = source;
        pd.name = "failures.cl";
        pd.options = rank_world == bad ? "-DBROKEN" : "";
        st = clv_mpi_program_build(&p, mm, &pd);
        const char *msg = clv_mpi_mesh_message(mm);
        rc = verdict(st == CLV_ERROR_BUILD && p == NULL && names_rank(msg, bad) && strstr(msg, "failures.cl"),
                     "every rank sees the build failure", msg);
        clv_program_free(p);
    } else if (strcmp(mode, "map") == 0 || strcmp(mode, "die") == 0) {
        enum { N = 1000 };
        static float x[N], y[N];
        for (int i = 0; i < N; ++i) x[i] = (float)i;
        clv_program *p = NULL;
        clv_array *xa = NULL, *ya = NULL;
        clv_program_desc pd;
        memset(&pd, 0, sizeof pd);
        pd.source = source;
        st = clv_mpi_program_build(&p, mm, &pd);
        if (st == CLV_OK) st = clv_mpi_array_new(&xa, mm, CLV_F32, N, 1, CLV_SHARDED);
        if (st == CLV_OK) st = clv_mpi_array_new(&ya, mm, CLV_F32, N, 1, CLV_SHARDED);
        if (st == CLV_OK) st = clv_mpi_array_write(mm, xa, x);
        if (st != CLV_OK) {
            rc = verdict(0, "setup", clv_mpi_mesh_message(mm));
        } else if (strcmp(mode, "map") == 0) {
            /* rank `bad` passes an int where the kernel takes a float */
            clv_arg k = rank_world == bad ? clv_int(2) : clv_float(2.0f);
            st = CLV_MPI_MAP(mm, p, "twice", N, NULL, clv_in(xa), clv_out(ya), k);
            const char *msg = clv_mpi_mesh_message(mm);
            rc = verdict(st == CLV_ERROR_ARGUMENT_TYPE && names_rank(msg, bad) && strstr(msg, "twice"),
                         "every rank sees the map failure", msg);
            /* and the mesh still works afterwards, on every rank */
            st = CLV_MPI_MAP(mm, p, "twice", N, NULL, clv_in(xa), clv_out(ya), clv_float(2.0f));
            if (st == CLV_OK) st = clv_mpi_array_gather(mm, ya, CLV_MPI_ALL, y);
            if (st != CLV_OK || y[N - 1] != 2.0f * (N - 1))
                rc = verdict(0, "a map after the failure", clv_mpi_mesh_message(mm));
        } else {
            if (rank_world == bad) {
                printf("rank %d: exiting abruptly\n", rank_world);
                fflush(stdout);
                _Exit(3);
            }
            for (int round = 0; round < 1000 && st == CLV_OK; ++round) {
                st = CLV_MPI_MAP(mm, p, "twice", N, NULL, clv_in(xa), clv_out(ya), clv_float(2.0f));
                if (st == CLV_OK) st = clv_mpi_array_gather(mm, ya, CLV_MPI_ALL, y);
            }
            rc = verdict(0, "the collectives went on without the dead rank", clv_mpi_mesh_message(mm));
        }
        clv_array_free(xa);
        clv_array_free(ya);
        clv_program_free(p);
    } else {
        rc = verdict(0, "unknown mode", mode);
    }
    clv_mpi_mesh_close(mm);
    MPI_Finalize();
    return rc;
}
