/* clv_nuts_opts.share over pretend processes (tests/fake_share.h, threads
 * with their own meshes): 1 process vs 2 and 3 give every chain's draws and
 * statistics bitwise (5 chains: uneven splits; 2 chains over 3 processes:
 * one runs none; those 2 chains' model has generated quantities); a bad option on one process gives every process its
 * status. */
#define _POSIX_C_SOURCE 200809L /* pthread barriers (fake_share.h) under -std=c99 */
#include "share_test.h"
#include "nuts_test.h"

typedef struct nuts_out {
    clv_status st;
    char message[512];
    clv_nuts_result r;
} nuts_out;

static int bad_rank = -1, n_chains = 5;
static nuts_model_def model;

static void nuts_job(clv_mesh *m, const clv_share *share, int rank, void *out)
{
    nuts_out *o = (nuts_out *)out;
    clv_nuts *s = nt_sampler(m, &model);
    clv_nuts_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.n_chains = n_chains;
    opts.num_warmup = 150;
    opts.num_draws = 100;
    opts.block = 60;
    opts.seed = 7;
    if (share) opts.share = *share;
    if (rank == bad_rank) opts.target_accept = 2;
    o->st = clv_nuts_run(s, &opts, &o->r);
    snprintf(o->message, sizeof o->message, "%.500s", clv_nuts_message(s));
    clv_nuts_free(s);
}

static void compare(const nuts_out *a, const nuts_out *b, int k, int rank)
{
    const clv_nuts_result *x = &a->r, *y = &b->r;
    size_t c = (size_t)x->n_chains, n = c * (size_t)x->num_draws, d = (size_t)x->dim;
    int same = b->st == CLV_OK && y->n_chains == x->n_chains && y->num_draws == x->num_draws && y->dim == x->dim &&
               y->num_warmup == x->num_warmup && st_same(x->draws, y->draws, n * d * sizeof(double)) &&
               st_same(x->lp, y->lp, n * sizeof(double)) &&
               st_same(x->accept_stat, y->accept_stat, n * sizeof(double)) &&
               st_same(x->step_size, y->step_size, n * sizeof(double)) &&
               st_same(x->tree_depth, y->tree_depth, n * sizeof(int)) &&
               st_same(x->n_leapfrog, y->n_leapfrog, n * sizeof(int)) &&
               st_same(x->divergent, y->divergent, n * sizeof(int)) &&
               st_same(x->energy, y->energy, n * sizeof(double)) &&
               st_same(x->inv_mass, y->inv_mass, c * d * sizeof(double)) &&
               st_same(x->final_step_size, y->final_step_size, c * sizeof(double)) &&
               st_same(x->init_tries, y->init_tries, c * sizeof(int)) && x->n_divergent == y->n_divergent &&
               x->n_leapfrog_total == y->n_leapfrog_total && x->max_depth == y->max_depth &&
               x->target_accept == y->target_accept && x->seed == y->seed && x->block == y->block &&
               y->n_generated == x->n_generated && (!y->generated) == (!x->generated) &&
               st_same(x->generated, y->generated, n * (size_t)x->n_generated * sizeof(double)) &&
               (!x->generated || (y->generated_names && !strcmp(x->generated_names[0], y->generated_names[0])));
    TU_CHECK(same, "%d chains, %d processes, rank %d: not bitwise one process's (%d vs %d chains, %llu vs %llu "
             "leapfrogs; %s)", x->n_chains, k, rank, y->n_chains, x->n_chains,
             (unsigned long long)y->n_leapfrog_total, (unsigned long long)x->n_leapfrog_total, b->message);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (!nuts_model_make("gauss", 3, &model)) return 1;
    nuts_out ref, outs[3];
    for (int pass = 0; pass < 2; ++pass) {
        n_chains = pass == 0 ? 5 : 2;
        if (pass == 1) { /* generated quantities too, with a process that runs no chain */
            nuts_model_free(&model);
            nuts_model_make("eight_schools", 0, &model);
        }
        memset(&ref, 0, sizeof ref);
        st_run(0, nuts_job, &ref, sizeof ref);
        TU_CHECK(ref.st == CLV_OK, "one process: %s", ref.message);
        printf("one process: %d chains x %d draws, %llu leapfrog steps\n", ref.r.n_chains, ref.r.num_draws,
               (unsigned long long)ref.r.n_leapfrog_total);
        for (int k = 2; k <= 3; ++k) {
            memset(outs, 0, sizeof outs);
            st_run(k, nuts_job, outs, sizeof outs[0]);
            for (int r = 0; r < k; ++r) {
                compare(&ref, &outs[r], k, r);
                clv_nuts_result_free(&outs[r].r);
            }
        }
        clv_nuts_result_free(&ref.r);
    }
    /* a bad option on rank 0 of 3 */
    bad_rank = 0;
    n_chains = 5;
    memset(outs, 0, sizeof outs);
    st_run(3, nuts_job, outs, sizeof outs[0]);
    for (int r = 0; r < 3; ++r) {
        TU_CHECK(outs[r].st == CLV_ERROR_INVALID_ARGUMENT && strstr(outs[r].message, "target_accept") &&
                 outs[r].r.draws == NULL, "rank %d of 3 after rank 0's bad target_accept: %s: %s", r,
                 clv_status_string(outs[r].st), outs[r].message);
        clv_nuts_result_free(&outs[r].r);
    }
    nuts_model_free(&model);
    return tu_summary();
}
