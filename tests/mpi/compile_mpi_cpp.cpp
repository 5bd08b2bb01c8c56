/* The MPI header (after the add-ons, whose MPI versions it then defines),
 * as C++. */
#include "clvmap_lbfgs.h"
#include "clvmap_nss.h"
#include "clvmap_nuts.h"
#include "clvmap_mpi.h"

int main(void)
{
    clv_mpi_mesh_desc d = clv_mpi_mesh_desc();
    (void)d;
    (void)clv_mpi_mesh_open;
    (void)clv_mpi_mesh_close;
    (void)clv_mpi_mesh_message;
    (void)clv_mpi_mesh_local;
    (void)clv_mpi_mesh_rank;
    (void)clv_mpi_mesh_size;
    (void)clv_mpi_mesh_comm;
    (void)clv_mpi_mesh_device_count;
    (void)clv_mpi_mesh_rank_devices;
    (void)clv_mpi_split_items;
    (void)clv_mpi_local_items;
    (void)clv_mpi_agree;
    (void)clv_mpi_program_build;
    (void)clv_mpi_array_new;
    (void)clv_mpi_array_write;
    (void)clv_mpi_array_scatter;
    (void)clv_mpi_array_gather;
    (void)clv_mpi_map;
    (void)clv_mpi_reduce;
    (void)clv_mpi_lbfgs_minimize;
#ifdef CLV_NUTS_FIRST_CHAIN
    (void)clv_mpi_nuts_run;
#endif
#ifdef CLV_NSS_SHARE
    (void)clv_mpi_nss_run;
#endif
    return 0;
}
