/* Bounded memory: the per-particle work space is allocated for one chunk.
 * With work_elems = 1000 doubles (8000 bytes a particle), a few iterations
 * on two devices, every device's scratch high-water is exactly
 * chunk x 8000 bytes for chunk 1, 2 and 3, whatever n_live (40 .. 400) and
 * num_delete (4 .. 100): the init (n_live draws) and the update (num_delete
 * particles) are both chunked, the gap the PyAutoFit NSS PRs had to close
 * twice. Without a chunk it grows with n_live (the init's vmap). */
#include "test_util.h"
#include "nss_problems.h"

enum { DIM = 4, WORK = 1000 };

static uint64_t scratch_peak(clv_nss *s, int n_live, int num_delete, long chunk, uint64_t *device_peak)
{
    clv_nss_opts o;
    memset(&o, 0, sizeof o);
    o.n_live = n_live;
    o.num_delete = num_delete;
    o.num_inner_steps = 2;
    o.chunk = chunk;
    o.max_iterations = 2;
    clv_nss_result r;
    clv_status st = clv_nss_run(s, &o, &r);
    TU_CHECK(st == CLV_OK, "n_live %d, num_delete %d, chunk %ld: %s", n_live, num_delete, chunk,
             clv_nss_message(s));
    uint64_t peak = 0;
    for (int d = 0; st == CLV_OK && d < r.n_devices; ++d)
        if (r.device[d].scratch_high_water > peak) peak = r.device[d].scratch_high_water;
    TU_CHECK(st != CLV_OK || peak == r.peak_scratch_bytes, "peak_scratch_bytes %llu, devices say %llu",
             (unsigned long long)r.peak_scratch_bytes, (unsigned long long)peak);
    *device_peak = r.peak_device_bytes;
    clv_nss_result_free(&r);
    return peak;
}

/* The most items any device owns of a batch of n. */
static uint64_t largest_share(clv_mesh *m, size_t n)
{
    size_t first[64], count[64], most = 0;
    clv_mesh_split_items(m, n, first, count);
    for (int d = 0; d < clv_mesh_device_count(m); ++d)
        if (count[d] > most) most = count[d];
    return most;
}

int main(void)
{
    clv_mesh *m = tu_open(2, NULL);
    if (!m) m = tu_open(1, NULL); /* oclgrind has one device */
    if (!m) return 1;
    clv_nss *s = nss_sampler(m, nss_gauss_source, DIM, WORK);
    const int sizes[][2] = { { 40, 4 }, { 200, 40 }, { 400, 100 } };
    int n_sizes = tu_small() ? 2 : 3;
    uint64_t per_particle = WORK * sizeof(double), device_peak;
    for (long chunk = 1; chunk <= 3; ++chunk)
        for (int i = 0; i < n_sizes; ++i) {
            uint64_t peak = scratch_peak(s, sizes[i][0], sizes[i][1], chunk, &device_peak);
            printf("chunk %ld, n_live %3d, num_delete %3d: scratch high-water %6llu bytes, device high-water "
                   "%llu bytes\n", chunk, sizes[i][0], sizes[i][1], (unsigned long long)peak,
                   (unsigned long long)device_peak);
            TU_CHECK(peak == (uint64_t)chunk * per_particle, "chunk %ld, n_live %d, num_delete %d: scratch "
                     "high-water %llu, expected %llu", chunk, sizes[i][0], sizes[i][1],
                     (unsigned long long)peak, (unsigned long long)(chunk * per_particle));
        }
    uint64_t small = scratch_peak(s, sizes[0][0], sizes[0][1], CLV_CHUNK_NONE, &device_peak);
    uint64_t large = scratch_peak(s, sizes[n_sizes - 1][0], sizes[n_sizes - 1][1], CLV_CHUNK_NONE, &device_peak);
    printf("no chunk: scratch high-water %llu bytes at n_live %d, %llu at n_live %d\n", (unsigned long long)small,
           sizes[0][0], (unsigned long long)large, sizes[n_sizes - 1][0]);
    TU_CHECK(small == largest_share(m, (size_t)sizes[0][0]) * per_particle, "no chunk, n_live %d: %llu",
             sizes[0][0], (unsigned long long)small);
    TU_CHECK(large == largest_share(m, (size_t)sizes[n_sizes - 1][0]) * per_particle, "no chunk, n_live %d: %llu",
             sizes[n_sizes - 1][0], (unsigned long long)large);
    clv_nss_free(s);
    clv_mesh_close(m);
    return tu_summary();
}
