/* Runs one add-on job as k pretend processes (tests/fake_share.h): each
 * thread gets its own mesh of the first device, opened before the threads
 * start and used by that thread only, and its rank's clv_share; k = 0 is
 * one process without a share (the reference). A job writes its outcome
 * into its own out slot; the checks (TU_CHECK) run on the main thread.
 * Define _POSIX_C_SOURCE 200809L before the first #include. */
#ifndef SHARE_TEST_H
#define SHARE_TEST_H

#include "test_util.h"
#include "fake_share.h"

typedef void (*st_job_fn)(clv_mesh *m, const clv_share *share, int rank, void *out);

typedef struct st_thread {
    clv_mesh *m;
    clv_share share;
    int rank;
    st_job_fn job;
    void *out;
} st_thread;

static void *st_thread_main(void *arg)
{
    st_thread *t = (st_thread *)arg;
    t->job(t->m, &t->share, t->rank, t->out);
    return NULL;
}

/* outs: k (at least 1) slots of out_size bytes. */
static inline void st_run(int k, st_job_fn job, void *outs, size_t out_size)
{
    if (k == 0) {
        clv_mesh *m = tu_open(1, NULL);
        job(m, NULL, 0, outs);
        clv_mesh_close(m);
        return;
    }
    fake_share_group g;
    st_thread th[FAKE_SHARE_MAX];
    pthread_t id[FAKE_SHARE_MAX];
    if (!fake_share_group_init(&g, k)) {
        printf("FAIL: fake_share_group_init(%d)\n", k);
        exit(1);
    }
    for (int r = 0; r < k; ++r) {
        th[r].m = tu_open(1, NULL);
        th[r].share = fake_share_of(&g, r);
        th[r].rank = r;
        th[r].job = job;
        th[r].out = (char *)outs + (size_t)r * out_size;
    }
    for (int r = 0; r < k; ++r) pthread_create(&id[r], NULL, st_thread_main, &th[r]);
    for (int r = 0; r < k; ++r) pthread_join(id[r], NULL);
    for (int r = 0; r < k; ++r) clv_mesh_close(th[r].m);
    fake_share_group_free(&g);
}

/* n bytes at a and b the same (either NULL only when n is 0). */
static inline int st_same(const void *a, const void *b, size_t n)
{
    return n == 0 || (a && b && memcmp(a, b, n) == 0);
}

#endif
