/* The MPI header first (it knows no add-on; any order works), then the
 * add-ons that take its clv_mpi_share, strict C99. */
#include "clvmap_mpi.h"
#include "clvmap_lbfgs.h"
#include "clvmap_nss.h"
#include "clvmap_nuts.h"

int main(void)
{
    clv_mpi_mesh_desc d = {0};
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
    (void)clv_mpi_share;
    clv_nuts_opts no;
    clv_nss_opts so;
    clv_lbfgs_parameter lp;
    memset(&no, 0, sizeof no);
    memset(&so, 0, sizeof so);
    memset(&lp, 0, sizeof lp);
    no.share = clv_mpi_share(NULL); /* the share of a mesh (not used here) */
    so.share = no.share;
    lp.share = so.share;
    (void)lp;
    return 0;
}
