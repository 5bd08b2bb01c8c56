/* clv_nss_opts.share over pretend processes (tests/fake_share.h, threads
 * with their own meshes): 1 process vs 2 and 3 give bitwise the same log Z,
 * error, samples, weights and counters; a bad option on one process gives
 * every process its status; a stop asked by one process's progress
 * callback stops them all at the same iteration. */
#define _POSIX_C_SOURCE 200809L /* pthread barriers (fake_share.h) under -std=c99 */
#include "share_test.h"
#include "nss_problems.h"

enum { NS_LIVE = 60, NS_DELETE = 7, NS_DIM = 3 };

typedef struct nss_out {
    clv_status st;
    char message[512];
    clv_nss_result r;
} nss_out;

static int bad_rank = -1, stop_rank = -1;

static int stop_at_3(const clv_nss_progress *p, void *user)
{
    (void)user;
    return p->iteration >= 3;
}

static void nss_job(clv_mesh *m, const clv_share *share, int rank, void *out)
{
    nss_out *o = (nss_out *)out;
    clv_nss *s = nss_sampler(m, nss_gauss_source, NS_DIM, 0);
    clv_nss_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.n_live = NS_LIVE;
    opts.num_delete = NS_DELETE;
    opts.seed = 11;
    if (share) opts.share = *share;
    if (rank == bad_rank) opts.chunk = -5;
    if (rank == stop_rank) opts.progress = stop_at_3;
    o->st = clv_nss_run(s, &opts, &o->r);
    snprintf(o->message, sizeof o->message, "%.500s", clv_nss_message(s));
    clv_nss_free(s);
}

static void compare(const nss_out *a, const nss_out *b, int k, int rank)
{
    const clv_nss_result *x = &a->r, *y = &b->r;
    size_t n = x->n_samples, d = (size_t)x->dim;
    int same = b->st == CLV_OK && y->n_samples == n && y->dim == x->dim &&
               st_same(&x->logZ, &y->logZ, sizeof x->logZ) &&
               st_same(&x->logZ_error, &y->logZ_error, sizeof x->logZ_error) &&
               st_same(&x->logZ_run, &y->logZ_run, sizeof x->logZ_run) && st_same(&x->ess, &y->ess, sizeof x->ess) &&
               st_same(x->x, y->x, n * d * sizeof(double)) &&
               st_same(x->loglikelihood, y->loglikelihood, n * sizeof(double)) &&
               st_same(x->loglikelihood_birth, y->loglikelihood_birth, n * sizeof(double)) &&
               st_same(x->log_weight, y->log_weight, n * sizeof(double)) && x->evaluations == y->evaluations &&
               x->iterations == y->iterations && x->shrink_exhausted == y->shrink_exhausted && x->stop == y->stop;
    TU_CHECK(same, "%d processes, rank %d: log Z %.17g vs %.17g, %zu vs %zu samples, %ld vs %ld iterations (%s)", k,
             rank, y->logZ, x->logZ, y->n_samples, n, y->iterations, x->iterations, b->message);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    nss_out ref, outs[3];
    memset(&ref, 0, sizeof ref);
    st_run(0, nss_job, &ref, sizeof ref);
    TU_CHECK(ref.st == CLV_OK && ref.r.n_samples > 0, "one process: %s", ref.message);
    printf("one process: log Z %.6f +- %.6f, %zu samples, %ld iterations\n", ref.r.logZ, ref.r.logZ_error,
           ref.r.n_samples, ref.r.iterations);
    for (int k = 2; k <= 3; ++k) {
        memset(outs, 0, sizeof outs);
        st_run(k, nss_job, outs, sizeof outs[0]);
        for (int r = 0; r < k; ++r) {
            compare(&ref, &outs[r], k, r);
            clv_nss_result_free(&outs[r].r);
        }
    }
    /* a bad option on rank 1 of 3 */
    bad_rank = 1;
    memset(outs, 0, sizeof outs);
    st_run(3, nss_job, outs, sizeof outs[0]);
    for (int r = 0; r < 3; ++r) {
        TU_CHECK(outs[r].st == CLV_ERROR_INVALID_ARGUMENT && strstr(outs[r].message, "chunk"),
                 "rank %d of 3 after rank 1's bad chunk: %s: %s", r, clv_status_string(outs[r].st), outs[r].message);
        clv_nss_result_free(&outs[r].r);
    }
    bad_rank = -1;
    /* rank 2's progress asks to stop: every rank stops at iteration 3 */
    stop_rank = 2;
    memset(outs, 0, sizeof outs);
    st_run(3, nss_job, outs, sizeof outs[0]);
    for (int r = 0; r < 3; ++r) {
        TU_CHECK(outs[r].st == CLV_OK && outs[r].r.stop == CLV_NSS_CANCELLED && outs[r].r.iterations == 3,
                 "rank %d: %s, stop %d after %ld iterations (%s)", r, clv_status_string(outs[r].st),
                 (int)outs[r].r.stop, outs[r].r.iterations, outs[r].message);
        if (r > 0) compare(&outs[0], &outs[r], 3, r);
    }
    for (int r = 0; r < 3; ++r) clv_nss_result_free(&outs[r].r);
    clv_nss_result_free(&ref.r);
    return tu_summary();
}
