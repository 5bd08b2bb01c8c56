/* Per-item outcomes on planted failures: each item of one batch ends with
 * its own reason while the others go on (liblbfgs's codes):
 *   NaN at the start, inf in the gradient at the start, a NaN region on the
 *   way to the minimum, an unbounded objective, max_iterations, the delta
 *   test, max_step, a start already at the minimum, and canceling from the progress
 *   callback (with later chunks never started). */
#include "lbfgs_test.h"

enum { N = 6 };
enum { MODE_OK, MODE_NAN_START, MODE_INF_GRADIENT, MODE_NAN_REGION, MODE_UNBOUNDED, MODE_SLOW, MODE_AT_MINIMUM,
       N_MODES };
static const char *mode_names[N_MODES] = { "ok", "NaN at start", "inf gradient", "NaN region", "unbounded",
                                          "slow (Rosenbrock)", "at the minimum" };

/* mode = data.integer[0][item]: sum (x - 1)^2 with a planted failure. */
static const char *planted_cl =
    "clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g,\n"
    "                             ulong item, clv_lbfgs_data data) {\n"
    "    const int mode = data.integer[0][item];\n"
    "    clv_real f = 0;\n"
    "    if (mode == 5) {  /* Rosenbrock: slow from far away */\n"
    "        for (int i = 0; i + 1 < CLV_LBFGS_N; i += 2) {\n"
    "            const clv_real t1 = 1 - x[i], t2 = 10 * (x[i + 1] - x[i] * x[i]);\n"
    "            g[i + 1] = 20 * t2;\n"
    "            g[i] = -2 * (x[i] * g[i + 1] + t1);\n"
    "            f += t1 * t1 + t2 * t2;\n"
    "        }\n"
    "        return f;\n"
    "    }\n"
    "    for (int i = 0; i < CLV_LBFGS_N; ++i) {\n"
    "        f += (x[i] - 1) * (x[i] - 1);\n"
    "        g[i] = 2 * (x[i] - 1);\n"
    "    }\n"
    "    if (mode == 1) return NAN;\n"
    "    if (mode == 2) g[0] = INFINITY;\n"
    "    if (mode == 3 && x[0] > (clv_real)0.5) return NAN;\n"
    "    if (mode == 4) {  /* linear: no minimum */\n"
    "        for (int i = 0; i < CLV_LBFGS_N; ++i) g[i] = -1;\n"
    "        f = 0;\n"
    "        for (int i = 0; i < CLV_LBFGS_N; ++i) f -= x[i];\n"
    "    }\n"
    "    return f;\n"
    "}\n";

typedef struct watch {
    int calls, cancel_at;
    size_t last_running;
    double last_best;
    int monotone;
} watch;

static int progress(void *user, const clv_lbfgs_progress *p)
{
    watch *w = (watch *)user;
    if (w->calls && (p->running > w->last_running || p->best_value > w->last_best)) w->monotone = 0;
    w->calls++;
    w->last_running = p->running;
    w->last_best = p->best_value;
    return w->cancel_at && w->calls >= w->cancel_at;
}

typedef struct outcome {
    double x[N_MODES * 2 * N], fx[N_MODES * 2];
    int reason[N_MODES * 2], iters[N_MODES * 2];
} outcome;

/* Two items per mode (2k, 2k + 1), x0 = -1 (mode 6: x0 = 1). */
static void run(clv_mesh *m, clv_array *modes, clv_lbfgs_linesearch ls, int max_iterations, int past, long chunk,
                watch *w, outcome *o)
{
    clv_lbfgs_parameter param;
    memset(&param, 0, sizeof param);
    param.linesearch = ls;
    param.max_iterations = max_iterations;
    param.past = past;
    param.delta = past ? 1.0 : 0;
    param.max_step = 100; /* the unbounded item reaches it (both searches extrapolate) */
    param.chunk = chunk;
    clv_lbfgs *s = lt_solver(m, N, planted_cl, NULL, NULL, NULL, modes, &param);
    for (int i = 0; i < N_MODES * 2; ++i)
        for (int j = 0; j < N; ++j) o->x[i * N + j] = i / 2 == MODE_AT_MINIMUM ? 1.0 : -1.0 - 0.1 * (i % 2);
    clv_lbfgs_items out;
    memset(&out, 0, sizeof out);
    out.fx = o->fx;
    out.reason = o->reason;
    out.iterations = o->iters;
    TU_CHECK(clv_lbfgs_minimize(s, N_MODES * 2, o->x, &out, w ? progress : NULL, w) == CLV_OK, "%s",
             clv_lbfgs_message(s));
    clv_lbfgs_free(s);
}

static void check(const outcome *o, int item, int want, const char *what)
{
    TU_CHECK(o->reason[item] == want, "%s: item %d (%s) ended with %d (%s), expected %d (%s)", what, item,
             mode_names[item / 2], o->reason[item], clv_lbfgs_reason_string(o->reason[item]), want,
             clv_lbfgs_reason_string(want));
}

int main(void)
{
    clv_mesh *m = tu_open(tu_small() ? 1 : 2, NULL);
    if (!m) return 77;
    int32_t mode_of[N_MODES * 2];
    for (int i = 0; i < N_MODES * 2; ++i) mode_of[i] = i / 2;
    clv_array *modes = lt_replicated(m, CLV_I32, N_MODES * 2, 1, mode_of);
    for (int ls = 1; ls <= 2; ++ls) {
        const char *lsname = ls == 1 ? "strong Wolfe" : "backtracking";
        outcome o;
        watch w;
        memset(&w, 0, sizeof w);
        w.monotone = 1;
        run(m, modes, (clv_lbfgs_linesearch)ls, 25, 0, 0, &w, &o);
        printf("%s, max_iterations 25:\n", lsname);
        for (int i = 0; i < N_MODES * 2; i += 2)
            printf("  %-18s -> %3d %-60s after %d iterations, f = %g\n", mode_names[i / 2], o.reason[i],
                   clv_lbfgs_reason_string(o.reason[i]), o.iters[i], o.fx[i]);
        for (int i = 0; i < 2; ++i) {
            char what[64];
            snprintf(what, sizeof what, "%s, copy %d", lsname, i);
            check(&o, 2 * MODE_OK + i, CLV_LBFGS_CONVERGENCE, what);
            check(&o, 2 * MODE_NAN_START + i, CLV_LBFGSERR_NONFINITE, what);
            check(&o, 2 * MODE_INF_GRADIENT + i, CLV_LBFGSERR_NONFINITE, what);
            check(&o, 2 * MODE_SLOW + i, CLV_LBFGSERR_MAXIMUMITERATION, what);
            check(&o, 2 * MODE_AT_MINIMUM + i, CLV_LBFGS_ALREADY_MINIMIZED, what);
            TU_CHECK(o.iters[2 * MODE_SLOW + i] == 25, "max_iterations 25, %d done", o.iters[2 * MODE_SLOW + i]);
            TU_CHECK(o.x[(2 * MODE_NAN_START + i) * N] == -1.0 - 0.1 * i, "a NaN start keeps x");
            /* a NaN region: the line search stops at its edge, or the
             * gradient test never passes there: never a convergence */
            TU_CHECK(o.reason[2 * MODE_NAN_REGION + i] < 0 && o.x[(2 * MODE_NAN_REGION + i) * N] <= 0.5 &&
                     isfinite(o.fx[2 * MODE_NAN_REGION + i]), "NaN region: reason %d, x0 %g",
                     o.reason[2 * MODE_NAN_REGION + i], o.x[(2 * MODE_NAN_REGION + i) * N]);
            /* unbounded: both searches extend the step (zoom x2, backtracking
             * x2.1 while the slope stays steep, as liblbfgs) up to max_step */
            check(&o, 2 * MODE_UNBOUNDED + i, CLV_LBFGSERR_MAXIMUMSTEP, what);
        }
        TU_CHECK(w.calls > 0 && w.monotone, "progress: %d calls, running and best value monotone: %d", w.calls,
                 w.monotone);
        /* the delta test stops the slow item first */
        run(m, modes, (clv_lbfgs_linesearch)ls, 0, 3, 0, NULL, &o);
        printf("  past 3, delta 1: slow item -> %s after %d iterations\n",
               clv_lbfgs_reason_string(o.reason[2 * MODE_SLOW]), o.iters[2 * MODE_SLOW]);
        check(&o, 2 * MODE_SLOW, CLV_LBFGS_STOP, "delta test");
        check(&o, 2 * MODE_OK, CLV_LBFGS_CONVERGENCE, "delta test");
        /* cancel after 2 rounds, 4 items per chunk: the first chunk's
         * running items and the later chunks are canceled */
        memset(&w, 0, sizeof w);
        w.monotone = 1;
        w.cancel_at = 2;
        run(m, modes, (clv_lbfgs_linesearch)ls, 0, 0, 4, &w, &o);
        int canceled = 0;
        for (int i = 0; i < N_MODES * 2; ++i) canceled += o.reason[i] == CLV_LBFGSERR_CANCELED;
        printf("  canceled after 2 rounds: %d of %d items canceled\n", canceled, N_MODES * 2);
        check(&o, 2 * MODE_NAN_START, CLV_LBFGSERR_NONFINITE, "cancel");
        check(&o, 2 * MODE_OK, CLV_LBFGSERR_CANCELED, "cancel");
        check(&o, N_MODES * 2 - 1, CLV_LBFGSERR_CANCELED, "cancel (a chunk never started)");
        TU_CHECK(o.x[(N_MODES * 2 - 1) * N] == 1.0, "a chunk never started keeps its start");
        TU_CHECK(w.calls == 2, "progress called %d times before the cancel took effect", w.calls);
    }
    clv_array_free(modes);
    clv_mesh_close(m);
    return tu_summary();
}
