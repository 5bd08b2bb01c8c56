/* clv_lbfgs_parameter.share over pretend processes (tests/fake_share.h,
 * threads with their own meshes): 1 process vs 2 and 3 give every item's
 * minimum, value, reason and counts bitwise (the objective's `item` is the
 * global index: each item has its own scale); a failing process (x NULL on
 * one) gives every process its status. */
#define _POSIX_C_SOURCE 200809L /* pthread barriers (fake_share.h) under -std=c99 */
#include "share_test.h"
#include "lbfgs_test.h"
#include "objectives.h"

enum { LS_N = 4, LS_ITEMS = 11 };

/* Rosenbrock scaled by data[0][item]: a wrong `item` changes the bits. */
static const char *scaled_rosenbrock =
    "clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g,\n"
    "                             ulong item, clv_lbfgs_data data) {\n"
    "    const clv_real w = data.real[0][item];\n"
    "    clv_real f = 0;\n"
    "    for (int i = 0; i + 1 < CLV_LBFGS_N; i += 2) {\n"
    "        const clv_real t1 = 1 - x[i], t2 = 10 * (x[i + 1] - x[i] * x[i]);\n"
    "        g[i + 1] = w * 20 * t2;\n"
    "        g[i] = -2 * w * (x[i] * 20 * t2 + t1);\n"
    "        f += w * (t1 * t1 + t2 * t2);\n"
    "    }\n"
    "    return f;\n"
    "}\n";

typedef struct lbfgs_out {
    clv_status st;
    char message[512];
    double x[LS_ITEMS * LS_N], fx[LS_ITEMS];
    int reason[LS_ITEMS], iterations[LS_ITEMS], evaluations[LS_ITEMS];
} lbfgs_out;

static int bad_rank = -1, scaled = 0;
static double starts[LS_ITEMS * LS_N], scales[LS_ITEMS];

static void lbfgs_job(clv_mesh *m, const clv_share *share, int rank, void *out)
{
    lbfgs_out *o = (lbfgs_out *)out;
    clv_lbfgs_parameter param;
    memset(&param, 0, sizeof param);
    if (share) param.share = *share;
    clv_array *w = scaled ? lt_replicated(m, CLV_F64, LS_ITEMS, 1, scales) : NULL;
    clv_lbfgs *s = lt_solver(m, LS_N, scaled ? scaled_rosenbrock : rosenbrock_cl, w, NULL, NULL, NULL, &param);
    memcpy(o->x, starts, sizeof o->x);
    clv_lbfgs_items items = { o->fx, o->reason, o->iterations, o->evaluations };
    o->st = clv_lbfgs_minimize(s, LS_ITEMS, rank == bad_rank ? NULL : o->x, &items, NULL, NULL);
    snprintf(o->message, sizeof o->message, "%.500s", clv_lbfgs_message(s));
    clv_lbfgs_free(s);
    clv_array_free(w);
}

static void compare(const lbfgs_out *a, const lbfgs_out *b, int k, int rank)
{
    int same = b->st == CLV_OK && st_same(a->x, b->x, sizeof a->x) && st_same(a->fx, b->fx, sizeof a->fx) &&
               st_same(a->reason, b->reason, sizeof a->reason) &&
               st_same(a->iterations, b->iterations, sizeof a->iterations) &&
               st_same(a->evaluations, b->evaluations, sizeof a->evaluations);
    TU_CHECK(same, "%s, %d processes, rank %d: not bitwise one process's (%s)", scaled ? "scaled" : "plain", k, rank,
             b->message);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    (void)quadratic_cl; /* objectives.h's others */
    (void)logistic_cl;
    unsigned long long state = tu_seed();
    for (int i = 0; i < LS_ITEMS * LS_N; ++i) starts[i] = lt_uniform(&state, -2, 2);
    for (int i = 0; i < LS_ITEMS; ++i) scales[i] = lt_uniform(&state, 0.5, 3);
    static lbfgs_out ref, outs[3];
    for (scaled = 0; scaled < 2; ++scaled) {
        memset(&ref, 0, sizeof ref);
        st_run(0, lbfgs_job, &ref, sizeof ref);
        TU_CHECK(ref.st == CLV_OK, "one process: %s", ref.message);
        int converged = 0;
        for (int i = 0; i < LS_ITEMS; ++i) converged += ref.reason[i] == CLV_LBFGS_CONVERGENCE;
        printf("%s: one process, %d of %d items converged\n", scaled ? "scaled" : "plain", converged, LS_ITEMS);
        for (int k = 2; k <= 3; ++k) {
            memset(outs, 0, sizeof outs);
            st_run(k, lbfgs_job, outs, sizeof outs[0]);
            for (int r = 0; r < k; ++r) compare(&ref, &outs[r], k, r);
        }
    }
    /* x NULL on rank 1 of 3 */
    scaled = 0;
    bad_rank = 1;
    memset(outs, 0, sizeof outs);
    st_run(3, lbfgs_job, outs, sizeof outs[0]);
    for (int r = 0; r < 3; ++r)
        TU_CHECK(outs[r].st == CLV_ERROR_INVALID_ARGUMENT && strstr(outs[r].message, "x is NULL"),
                 "rank %d of 3 after rank 1's NULL x: %s: %s", r, clv_status_string(outs[r].st), outs[r].message);
    return tu_summary();
}
