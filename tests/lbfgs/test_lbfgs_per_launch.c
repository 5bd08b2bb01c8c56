/* iterations_per_launch (issue 16): the minima, values, reasons, iteration
 * and evaluation counts are bitwise identical for 1, the default (0: the
 * library chooses) and 16 iterations per launch, with both line searches;
 * the default with a progress callback reports every iteration (one launch
 * per iteration: progress.round runs 1, 2, ... up to the largest iteration
 * count), without one it launches several iterations at once (fewer rounds
 * than iterations); 16 reports once per launch; values outside 0..1000 are
 * refused by name. */
#define LBFGS_TEST_NO_QUADRATIC
#define LBFGS_TEST_NO_LOGISTIC
#include "lbfgs_test.h"
#include "objectives.h"

enum { N = 8, ITEMS = 40 };

typedef struct watch {
    int calls, last_round, rounds_in_order;
} watch;

static int progress(void *user, const clv_lbfgs_progress *p)
{
    watch *w = (watch *)user;
    w->calls++;
    w->rounds_in_order &= p->round == w->last_round + 1;
    w->last_round = p->round;
    return 0;
}

typedef struct run {
    double x[ITEMS * N], fx[ITEMS];
    int reason[ITEMS], iters[ITEMS], evals[ITEMS];
    uint64_t rounds;
    watch w;
} run;

static void solve(clv_mesh *m, clv_lbfgs_linesearch ls, int per_launch, int observed, const double *x0, run *r)
{
    clv_lbfgs_parameter param;
    memset(&param, 0, sizeof param);
    param.linesearch = ls;
    param.iterations_per_launch = per_launch;
    clv_lbfgs *s = lt_solver(m, N, rosenbrock_cl, NULL, NULL, NULL, NULL, &param);
    clv_lbfgs_items out;
    memset(&out, 0, sizeof out);
    out.fx = r->fx, out.reason = r->reason, out.iterations = r->iters, out.evaluations = r->evals;
    memcpy(r->x, x0, sizeof r->x);
    memset(&r->w, 0, sizeof r->w);
    r->w.rounds_in_order = 1;
    TU_CHECK(clv_lbfgs_minimize(s, ITEMS, r->x, &out, observed ? progress : NULL, &r->w) == CLV_OK, "%s",
             clv_lbfgs_message(s));
    r->rounds = clv_lbfgs_get_stats(s).rounds;
    clv_lbfgs_free(s);
}

static int same_bits(const run *a, const run *b)
{
    return !memcmp(a->x, b->x, sizeof a->x) && !memcmp(a->fx, b->fx, sizeof a->fx) &&
           !memcmp(a->reason, b->reason, sizeof a->reason) && !memcmp(a->iters, b->iters, sizeof a->iters) &&
           !memcmp(a->evals, b->evals, sizeof a->evals);
}

static int most(const int *v, int n)
{
    int m = 0;
    for (int i = 0; i < n; ++i) m = v[i] > m ? v[i] : m;
    return m;
}

int main(void)
{
    clv_mesh *m = tu_open(2, NULL);
    if (!m) return 77;
    static double x0[ITEMS * N];
    unsigned long long rng = 16;
    for (int i = 0; i < ITEMS * N; ++i) x0[i] = (i % 2 ? 1.0 : -1.2) + lt_uniform(&rng, -0.5, 0.5);
    static run one, dflt, dflt_watched, sixteen, sixteen_watched;
    for (int ls = CLV_LBFGS_LINESEARCH_STRONG_WOLFE; ls <= CLV_LBFGS_LINESEARCH_BACKTRACKING; ++ls) {
        const char *name = ls == CLV_LBFGS_LINESEARCH_STRONG_WOLFE ? "strong Wolfe" : "backtracking";
        solve(m, (clv_lbfgs_linesearch)ls, 1, 0, x0, &one);
        solve(m, (clv_lbfgs_linesearch)ls, 0, 0, x0, &dflt);
        solve(m, (clv_lbfgs_linesearch)ls, 0, 1, x0, &dflt_watched);
        solve(m, (clv_lbfgs_linesearch)ls, 16, 0, x0, &sixteen);
        solve(m, (clv_lbfgs_linesearch)ls, 16, 1, x0, &sixteen_watched);
        int top = most(one.iters, ITEMS);
        printf("%s: most iterations %d, evaluations of item 0 %d; rounds: 1 per launch %llu, default %llu "
               "(%llu with progress), 16 per launch %llu\n", name, top, one.evals[0], (unsigned long long)one.rounds,
               (unsigned long long)dflt.rounds, (unsigned long long)dflt_watched.rounds,
               (unsigned long long)sixteen.rounds);
        TU_CHECK(same_bits(&one, &dflt), "%s: the default's bits differ from 1 per launch", name);
        TU_CHECK(same_bits(&one, &dflt_watched), "%s: the default with progress differs from 1 per launch", name);
        TU_CHECK(same_bits(&one, &sixteen), "%s: 16 per launch differs from 1 per launch", name);
        TU_CHECK(same_bits(&one, &sixteen_watched), "%s: 16 per launch with progress differs", name);
        /* observed: one round per iteration (a first evaluation counts as
         * a round of its own), every round reported, in order */
        TU_CHECK(dflt_watched.rounds == one.rounds && dflt_watched.w.calls == (int)one.rounds &&
                     dflt_watched.w.rounds_in_order && one.rounds >= (uint64_t)top,
                 "%s: default with progress: %llu rounds, %d calls (1 per launch: %llu rounds)", name,
                 (unsigned long long)dflt_watched.rounds, dflt_watched.w.calls, (unsigned long long)one.rounds);
        /* unobserved: several iterations per launch */
        TU_CHECK(dflt.rounds < one.rounds / 4, "%s: the default without progress took %llu rounds (1 per "
                 "launch: %llu)", name, (unsigned long long)dflt.rounds, (unsigned long long)one.rounds);
        TU_CHECK(sixteen_watched.w.calls == (int)sixteen.rounds && sixteen_watched.w.rounds_in_order &&
                     sixteen.rounds <= (uint64_t)(top / 16 + 2),
                 "%s: 16 per launch: %d progress calls for %llu rounds, %d iterations", name,
                 sixteen_watched.w.calls, (unsigned long long)sixteen.rounds, top);
    }
    /* the range, as before: 0..1000 */
    int bad[2] = { -1, 1001 };
    for (int i = 0; i < 2; ++i) {
        clv_lbfgs_parameter param;
        memset(&param, 0, sizeof param);
        param.iterations_per_launch = bad[i];
        clv_lbfgs_objective obj;
        memset(&obj, 0, sizeof obj);
        obj.source = rosenbrock_cl;
        clv_lbfgs *s = NULL;
        clv_status st = clv_lbfgs_new(&s, m, N, &obj, &param);
        TU_CHECK(st == CLV_ERROR_INVALID_ARGUMENT && strstr(clv_lbfgs_message(s), "iterations_per_launch"),
                 "iterations_per_launch %d: %s", bad[i], clv_lbfgs_message(s));
        clv_lbfgs_free(s);
    }
    clv_mesh_close(m);
    return tu_summary();
}
