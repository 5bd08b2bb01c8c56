/* The complete example from the top of include/clvmap_mpi.h, verbatim
 * (the mpi suite's mpi_manual_copy test fails when the two differ).
 * Run it with: mpirun -np 2 ./mpi_manual */
#include "clvmap_mpi.h"
static const char *src =
    "__kernel void noisy_square(CLV_ITEMS, __global const float *x,\n"
    "                           __global float *y, const float sigma) {\n"
    "    CLV_GUARD();\n"
    "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 0);  // global item\n"
    "    float v = x[clv_local()];          // this rank's, this device's part\n"
    "    y[clv_local()] = v * v + sigma * clv_normal_f32(&r);\n"
    "}\n";
int main(int argc, char **argv) {
    enum { B = 100000 };
    static float x[B], y[B];
    for (int i = 0; i < B; ++i) x[i] = (float)i / B;
    MPI_Init(&argc, &argv);
    clv_mpi_mesh *mm;                  // every rank opens its own devices
    clv_status s = clv_mpi_mesh_open(&mm, MPI_COMM_WORLD, NULL);
    clv_program *p = NULL;
    clv_array *xa = NULL, *ya = NULL;
    clv_program_desc pd = {0}; pd.source = src;
    if (s == CLV_OK) s = clv_mpi_program_build(&p, mm, &pd);
    if (s == CLV_OK) s = clv_mpi_array_new(&xa, mm, CLV_F32, B, 1, CLV_SHARDED);
    if (s == CLV_OK) s = clv_mpi_array_new(&ya, mm, CLV_F32, B, 1, CLV_SHARDED);
    if (s == CLV_OK) s = clv_mpi_array_write(mm, xa, x);   // each rank its part
    clv_map_opts o = {0}; o.chunk = 4096; o.seed = 42;
    if (s == CLV_OK) s = CLV_MPI_MAP(mm, p, "noisy_square", B, &o,
                                     clv_in(xa), clv_out(ya), clv_float(0.1f));
    if (s == CLV_OK) s = clv_mpi_array_gather(mm, ya, 0, y); // all of y on rank 0
    if (s != CLV_OK) puts(clv_mpi_mesh_message(mm));        // on every rank
    else if (clv_mpi_mesh_rank(mm) == 0) printf("y[B-1] = %g\n", y[B - 1]);
    clv_array_free(xa); clv_array_free(ya); clv_program_free(p);
    clv_mpi_mesh_close(mm);
    MPI_Finalize();
    return s != CLV_OK;
}
