/* A clv_share over threads of one process: k "processes" (threads, each
 * with its own mesh) run the same add-on with the same options and split
 * every batched step as MPI ranks would, so that a test can check "the same
 * bits whatever the process count" without MPI. POSIX threads; tests only.
 *
 *   fake_share_group g;  fake_share_group_init(&g, 3);
 *   clv_share sh = fake_share_of(&g, rank);     // one per thread
 *   ... each thread: opts.share = sh; run; ...
 *   fake_share_group_free(&g);
 *
 * Rows are split evenly by rank order (rank r owns [r n / k, (r+1) n / k)).
 * exchange: every thread posts its rows and status, all wait, each copies
 * the others' rows, all wait again; the agreed status is the first failing
 * rank's, with that rank's message (then CLV_ERROR_SHAPE when the ranks
 * exchanged different shapes). Under -std=c99 define _POSIX_C_SOURCE
 * 200809L before the first #include (barriers are POSIX). */
#ifndef FAKE_SHARE_H
#define FAKE_SHARE_H

#include "clvmap.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>

enum { FAKE_SHARE_MAX = 16 };

typedef struct fake_share_group {
    int k;
    pthread_barrier_t barrier;
    void *rows[FAKE_SHARE_MAX];
    size_t n_rows[FAKE_SHARE_MAX], row_bytes[FAKE_SHARE_MAX];
    clv_status status[FAKE_SHARE_MAX];
    char message[FAKE_SHARE_MAX][512];
    int exchanges[FAKE_SHARE_MAX];     /* calls per rank (all must agree) */
} fake_share_group;

typedef struct fake_share_rank {
    fake_share_group *group;
    int rank;
} fake_share_rank;

static fake_share_rank fake_share_ranks[FAKE_SHARE_MAX];

static inline int fake_share_group_init(fake_share_group *g, int k)
{
    memset(g, 0, sizeof *g);
    if (k < 1 || k > FAKE_SHARE_MAX) return 0;
    g->k = k;
    return pthread_barrier_init(&g->barrier, NULL, (unsigned)k) == 0;
}

static inline void fake_share_group_free(fake_share_group *g) { pthread_barrier_destroy(&g->barrier); }

static inline void fake_share_split(int k, int rank, size_t n, size_t *first, size_t *count)
{
    size_t a = n * (size_t)rank / (size_t)k, b = n * (size_t)(rank + 1) / (size_t)k;
    *first = a;
    *count = b - a;
}

static inline void fake_share_range(void *user, size_t n_rows, size_t *first, size_t *count)
{
    const fake_share_rank *r = (const fake_share_rank *)user;
    fake_share_split(r->group->k, r->rank, n_rows, first, count);
}

static inline clv_status fake_share_exchange(void *user, clv_status status, const char *message, void *rows,
                                             size_t row_bytes, size_t n_rows, char *why, size_t why_size)
{
    const fake_share_rank *r = (const fake_share_rank *)user;
    fake_share_group *g = r->group;
    g->rows[r->rank] = rows;
    g->n_rows[r->rank] = n_rows;
    g->row_bytes[r->rank] = row_bytes;
    g->status[r->rank] = status;
    snprintf(g->message[r->rank], sizeof g->message[r->rank], "%s", message ? message : "");
    g->exchanges[r->rank]++;
    pthread_barrier_wait(&g->barrier);
    clv_status agreed = CLV_OK;
    for (int q = 0; q < g->k && agreed == CLV_OK; ++q) /* statuses first, as clv_mpi_share */
        if (g->status[q] != CLV_OK) {
            snprintf(why, why_size, "rank %d: %s", q, g->message[q]);
            agreed = g->status[q];
        }
    for (int q = 0; q < g->k && agreed == CLV_OK; ++q)
        if (g->n_rows[q] != n_rows || g->row_bytes[q] != row_bytes) {
            snprintf(why, why_size, "rank %d exchanged %zu rows of %zu bytes, rank %d %zu of %zu", q, g->n_rows[q],
                     g->row_bytes[q], r->rank, n_rows, row_bytes);
            agreed = CLV_ERROR_SHAPE;
        }
    for (int q = 0; agreed == CLV_OK && q < g->k; ++q) {
        size_t first, count;
        if (q == r->rank) continue;
        fake_share_split(g->k, q, n_rows, &first, &count);
        memcpy((char *)rows + first * row_bytes, (const char *)g->rows[q] + first * row_bytes, count * row_bytes);
    }
    pthread_barrier_wait(&g->barrier); /* nobody changes its rows before all have copied */
    return agreed;
}

static inline clv_share fake_share_of(fake_share_group *g, int rank)
{
    clv_share sh;
    fake_share_ranks[rank].group = g;
    fake_share_ranks[rank].rank = rank;
    sh.range = fake_share_range;
    sh.exchange = fake_share_exchange;
    sh.user = &fake_share_ranks[rank];
    return sh;
}

#endif
