/* Partition invariance: a run's log Z, samples, weights and counts are
 * bitwise identical for chunk in {none, 1, 7, num_delete, auto} on 1, 2
 * and 3 devices (equal and uneven splits), because every random draw is
 * keyed by (seed, particle index, iteration) and the host does the rest in
 * one fixed order. The chunk applies to the init (n_live items) as well as
 * to the updates (num_delete items). Also: float programs are invariant
 * too, and one work group per particle gives the same bits as one work
 * item per particle. */
#include "test_util.h"
#include "nss_problems.h"

#include <math.h>

enum { DIM = 3, N_LIVE = 60, NUM_DELETE = 12 };

/* A run of the 3-d Gaussian (work space in use) on the first n devices. */
static int run(int n_devices, const double *weights, long chunk, int f32, clv_shape shape, clv_nss_result *r)
{
    clv_mesh *m = tu_open(n_devices, weights);
    if (!m) return 0;
    clv_nss_problem p;
    memset(&p, 0, sizeof p);
    p.source = nss_gauss_source;
    p.dim = DIM;
    p.data = nss_gauss_data;
    p.n_data = 2;
    p.work_elems = DIM;
    p.f32 = f32;
    clv_nss *s = NULL;
    clv_status st = clv_nss_new(&s, m, &p);
    clv_nss_opts o;
    memset(&o, 0, sizeof o);
    o.n_live = tu_small() ? 30 : N_LIVE;
    o.num_delete = tu_small() ? 6 : NUM_DELETE;
    o.num_inner_steps = 6;
    o.chunk = chunk;
    o.seed = 99;
    o.shape = shape;
    o.max_iterations = tu_small() ? 10 : 0;
    if (st == CLV_OK) st = clv_nss_run(s, &o, r);
    TU_CHECK(st == CLV_OK, "%d devices, chunk %ld: %s", n_devices, chunk, clv_nss_message(s));
    clv_nss_free(s);
    clv_mesh_close(m);
    return st == CLV_OK;
}

static int same_bits(const void *a, const void *b, size_t bytes) { return memcmp(a, b, bytes) == 0; }

/* Everything a result holds, bit for bit. */
static void compare(const clv_nss_result *ref, const clv_nss_result *r, const char *what)
{
    int same = ref->n_samples == r->n_samples && same_bits(&ref->logZ, &r->logZ, sizeof r->logZ) &&
               same_bits(&ref->logZ_error, &r->logZ_error, sizeof r->logZ_error) &&
               ref->evaluations == r->evaluations && ref->iterations == r->iterations &&
               ref->shrink_exhausted == r->shrink_exhausted;
    if (same) {
        size_t n = r->n_samples;
        same = same_bits(ref->x, r->x, n * DIM * sizeof(double)) &&
               same_bits(ref->loglikelihood, r->loglikelihood, n * sizeof(double)) &&
               same_bits(ref->log_weight, r->log_weight, n * sizeof(double));
    }
    TU_CHECK(same, "%s: log Z %.17g (%zu samples, %llu evaluations) differs from the reference %.17g (%zu, %llu)",
             what, r->logZ, r->n_samples, (unsigned long long)r->evaluations, ref->logZ, ref->n_samples,
             (unsigned long long)ref->evaluations);
}

static void check_splits(int f32)
{
    const long chunks[] = { CLV_CHUNK_NONE, 1, 7, NUM_DELETE, CLV_CHUNK_AUTO };
    const double uneven[3] = { 1, 3, 2 };
    clv_nss_result ref, r;
    if (!run(1, NULL, CLV_CHUNK_NONE, f32, CLV_ITEM_PER_WORK_ITEM, &ref)) return;
    printf("%s reference: log Z = %.17g +- %.4f, %zu samples, %llu evaluations\n", f32 ? "float" : "double",
           ref.logZ, ref.logZ_error, ref.n_samples, (unsigned long long)ref.evaluations);
    for (int n_dev = 1; n_dev <= 3; ++n_dev)
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; ++c) {
            if (f32 && c != 2) continue; /* float: chunk 7 only, on 1-3 devices */
            if (!run(n_dev, NULL, chunks[c], f32, CLV_ITEM_PER_WORK_ITEM, &r)) continue;
            char what[100];
            snprintf(what, sizeof what, "%s, %d device(s), chunk %ld", f32 ? "float" : "double", n_dev, chunks[c]);
            compare(&ref, &r, what);
            clv_nss_result_free(&r);
        }
    if (!f32 && run(3, uneven, 5, 0, CLV_ITEM_PER_WORK_ITEM, &r)) {
        compare(&ref, &r, "double, 3 devices weighted 1:3:2, chunk 5");
        clv_nss_result_free(&r);
    }
    if (!f32 && run(2, NULL, 3, 0, CLV_ITEM_PER_GROUP, &r)) {
        compare(&ref, &r, "double, one work group per particle, 2 devices, chunk 3");
        clv_nss_result_free(&r);
    }
    clv_nss_result_free(&ref);
}

int main(void)
{
    check_splits(0);
    check_splits(1);
    return tu_summary();
}
