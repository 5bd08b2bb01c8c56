/* mpi_bench — a compute-bound map over MPI ranks (clvmap_mpi.h).
 *
 *   mpirun -np K mpi_bench [--items N] [--work W] [--repeats R] [--chunk C]
 *
 * Each item runs W iterations of a few transcendental functions in float
 * (about 30 W flops, no memory traffic to speak of) and writes one float;
 * the batch of N items is split over the K ranks, each rank's part over its
 * devices, and the outputs are gathered to rank 0. One warm-up run (kernel
 * compilation, PoCL's cache), then R timed runs; per run:
 *   compute  the slowest rank's clv_mpi_map (all ranks start at a barrier)
 *   gather   clv_mpi_array_gather to rank 0 after that
 *   total    barrier to gathered result on rank 0
 *   cpu      the largest CPU time (process, all threads) a rank used in its
 *            map: on a machine shared with other work, wall times stretch
 *            while this stays the work actually done
 * Rank 0 prints the median and the best of each, items per second, and a
 * checksum of the gathered output (the same for every K: same bits).
 * tests/bench/mpi_bench.sh runs K = 1, 2, 3 with one single-core PoCL
 * device per rank and fits the scaling model of README.md
 * (Several machines (MPI), Scaling model). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "clvmap_mpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU seconds used by this process (all its threads: PoCL's workers too). */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *source =
    "__kernel void busy(CLV_ITEMS, __global float *y, const int work) {\n"
    "    CLV_GUARD();\n"
    "    float x = (float)(clv_item() % 1000) * 0.001f;\n"
    "    float acc = 0.0f;\n"
    "    for (int t = 0; t < work; ++t) {\n"
    "        x = sin(x) * 0.999f + cos(x * 0.5f) * 0.5f;\n"
    "        acc += sqrt(x * x + 1.0f);\n"
    "    }\n"
    "    y[clv_local()] = acc;\n"
    "}\n";

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double best(const double *v, int n)
{
    double b = v[0];
    for (int i = 1; i < n; ++i) b = v[i] < b ? v[i] : b;
    return b;
}

int main(int argc, char **argv)
{
    size_t items = 1 << 16;
    int work = 2000, repeats = 5;
    long chunk = 0;
    for (int i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--items") == 0 && i + 1 < argc) items = (size_t)strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--work") == 0 && i + 1 < argc) work = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc) chunk = atol(argv[++i]);
        else {
            printf("usage: mpirun -np K mpi_bench [--items N] [--work W] [--repeats R] [--chunk C]\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (items == 0 || work < 1 || repeats < 1 || repeats > 100) {
        printf("mpi_bench: items, work and repeats (1..100) must be positive\n");
        return 2;
    }
    MPI_Init(&argc, &argv);
    clv_mpi_mesh *mm;
    clv_status st = clv_mpi_mesh_open(&mm, MPI_COMM_WORLD, NULL);
    clv_program *p = NULL;
    clv_array *y = NULL;
    clv_program_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.source = source;
    pd.name = "busy.cl";
    if (st == CLV_OK) st = clv_mpi_program_build(&p, mm, &pd);
    if (st == CLV_OK) st = clv_mpi_array_new(&y, mm, CLV_F32, items, 1, CLV_SHARDED);
    const int rank = clv_mpi_mesh_rank(mm), size = clv_mpi_mesh_size(mm);
    float *out = rank == 0 ? (float *)calloc(items, sizeof(float)) : NULL;
    if (rank == 0 && !out) st = CLV_ERROR_OUT_OF_MEMORY;
    st = clv_mpi_agree(mm, st, "mpi_bench setup", clv_mpi_mesh_message(mm));
    double t_compute[100], t_gather[100], t_total[100], t_cpu[100];
    clv_map_opts o;
    memset(&o, 0, sizeof o);
    o.chunk = chunk;
    for (int r = -1; st == CLV_OK && r < repeats; ++r) { /* r = -1: warm-up */
        MPI_Barrier(MPI_COMM_WORLD);
        double c0 = cpu_seconds(), t0 = MPI_Wtime();
        st = CLV_MPI_MAP(mm, p, "busy", items, &o, clv_out(y), clv_int(work));
        double t1 = MPI_Wtime(), mine = t1 - t0, slowest = 0, cpu = cpu_seconds() - c0, cpu_max = 0;
        MPI_Reduce(&cpu, &cpu_max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
        /* clv_mpi_map ends in an agreement, so t1 is already the slowest
         * rank's end on every rank; the max only guards clock skew */
        MPI_Reduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
        double t2 = MPI_Wtime();
        if (st == CLV_OK) st = clv_mpi_array_gather(mm, y, 0, out);
        double t3 = MPI_Wtime();
        if (r >= 0 && rank == 0) {
            t_compute[r] = slowest;
            t_gather[r] = t3 - t2;
            t_total[r] = (t3 - t0) - (t2 - t1);
            t_cpu[r] = cpu_max;
        }
    }
    if (st != CLV_OK) {
        printf("rank %d: %s\n", rank, clv_mpi_mesh_message(mm));
    } else if (rank == 0) {
        double sum = 0;
        for (size_t i = 0; i < items; ++i) sum += out[i];
        int devices = clv_mpi_mesh_device_count(mm);
        double bc = best(t_compute, repeats), bg = best(t_gather, repeats), bt = best(t_total, repeats);
        double bu = best(t_cpu, repeats), mu = median(t_cpu, repeats);
        double mc = median(t_compute, repeats), mg = median(t_gather, repeats), mt = median(t_total, repeats);
        printf("ranks %d devices %d items %zu work %d repeats %d\n", size, devices, items, work, repeats);
        printf("compute_s median %.4f best %.4f\n", mc, bc);
        printf("gather_s median %.6f best %.6f (%zu bytes to rank 0)\n", mg, bg, items * sizeof(float));
        printf("total_s median %.4f best %.4f\n", mt, bt);
        printf("cpu_s median %.4f best %.4f (the busiest rank's CPU time in its map)\n", mu, bu);
        printf("items_per_s %.0f\n", (double)items / mt);
        printf("checksum %.9g\n", sum);
    }
    free(out);
    clv_array_free(y);
    clv_program_free(p);
    clv_mpi_mesh_close(mm);
    MPI_Finalize();
    return st != CLV_OK;
}
