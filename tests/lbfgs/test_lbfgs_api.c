/* The L-BFGS header's contract outside the numbers (the embedded kernels
 * and the manual's example are checked by lbfgs_embed and lbfgs_manual_copy):
 *   1. bad inputs are refused with a status and a message naming the
 *      problem: n = 0, m < 0, B = 0, NULL objective, both or neither kind
 *      of objective, NULL x, c1 >= c2, ...; a kernel objective that does not
 *      compile gives its build log with the file name and line;
 *   2. a failing callback stops the run with its message;
 *   3. every reason code has its own string; float32 items work. */
#include "lbfgs_test.h"
#include "nss/address_limit.h"

#include <time.h>

static const char *quadratic =
    "clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g,\n"
    "                             ulong item, clv_lbfgs_data data) {\n"
    "    clv_real f = 0;\n"
    "    for (int i = 0; i < CLV_LBFGS_N; ++i) { g[i] = 2 * (x[i] - 3); f += (x[i] - 3) * (x[i] - 3); }\n"
    "    return f;\n"
    "}\n";

/* clv_lbfgs_new must fail with status and a message containing `words`. */
static void expect_refused(clv_mesh *m, size_t n, const clv_lbfgs_objective *obj, const clv_lbfgs_parameter *p,
                           clv_status want, const char *words, const char *what)
{
    clv_lbfgs *s = NULL;
    clv_status st = clv_lbfgs_new(&s, m, n, obj, p);
    const char *msg = clv_lbfgs_message(s);
    TU_CHECK(st == want && s && strstr(msg, words), "%s: status %s, message \"%s\" (wanted %s with \"%s\")", what,
             clv_status_string(st), msg, clv_status_string(want), words);
    printf("  refused %-26s -> %s\n", what, msg);
    clv_lbfgs_free(s);
}

static void check_refusals(clv_mesh *m)
{
    clv_lbfgs_objective obj, both, none;
    clv_lbfgs_parameter p;
    memset(&obj, 0, sizeof obj);
    obj.source = quadratic;
    memset(&none, 0, sizeof none);
    both = obj;
    both.evaluate = (clv_lbfgs_evaluate_fn)1;
    expect_refused(m, 0, &obj, NULL, CLV_ERROR_INVALID_ARGUMENT, "dimension n = 0", "n = 0");
    expect_refused(m, 4, NULL, NULL, CLV_ERROR_INVALID_ARGUMENT, "objective is NULL", "NULL objective");
    expect_refused(m, 4, &none, NULL, CLV_ERROR_INVALID_ARGUMENT, "neither", "empty objective");
    expect_refused(m, 4, &both, NULL, CLV_ERROR_INVALID_ARGUMENT, "not both", "source and callback");
    expect_refused(NULL, 4, &obj, NULL, CLV_ERROR_INVALID_ARGUMENT, "mesh is NULL", "NULL mesh");
    memset(&p, 0, sizeof p);
    p.m = -1;
    expect_refused(m, 4, &obj, &p, CLV_ERROR_INVALID_ARGUMENT, "m must be", "m = -1");
    memset(&p, 0, sizeof p);
    p.ftol = 0.5;
    p.wolfe = 0.4;
    expect_refused(m, 4, &obj, &p, CLV_ERROR_INVALID_ARGUMENT, "ftol", "c1 = 0.5");
    memset(&p, 0, sizeof p);
    p.wolfe = 1.5;
    expect_refused(m, 4, &obj, &p, CLV_ERROR_INVALID_ARGUMENT, "wolfe", "c2 = 1.5");
    memset(&p, 0, sizeof p);
    p.epsilon = -1;
    expect_refused(m, 4, &obj, &p, CLV_ERROR_INVALID_ARGUMENT, "epsilon", "epsilon < 0");
    memset(&p, 0, sizeof p);
    p.linesearch = (clv_lbfgs_linesearch)7;
    expect_refused(m, 4, &obj, &p, CLV_ERROR_INVALID_ARGUMENT, "linesearch", "unknown line search");
    memset(&p, 0, sizeof p);
    p.chunk = -2;
    expect_refused(m, 4, &obj, &p, CLV_ERROR_INVALID_ARGUMENT, "chunk", "chunk < 0");
    clv_lbfgs_objective broken = obj;
    broken.source = "clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g,\n"
                    "                             ulong item, clv_lbfgs_data data) {\n"
                    "    return x[0] +;\n"
                    "}\n";
    broken.name = "broken.cl";
    expect_refused(m, 4, &broken, NULL, CLV_ERROR_BUILD, "broken.cl:3", "a syntax error");
    /* B = 0 and NULL x are refused by minimize */
    clv_lbfgs *s = lt_solver(m, 4, quadratic, NULL, NULL, NULL, NULL, NULL);
    double x[4] = { 0, 0, 0, 0 };
    TU_CHECK(clv_lbfgs_minimize(s, 0, x, NULL, NULL, NULL) == CLV_ERROR_INVALID_ARGUMENT &&
             strstr(clv_lbfgs_message(s), "n_items is 0"), "B = 0: %s", clv_lbfgs_message(s));
    printf("  refused %-26s -> %s\n", "B = 0", clv_lbfgs_message(s));
    TU_CHECK(clv_lbfgs_minimize(s, 1, NULL, NULL, NULL, NULL) == CLV_ERROR_INVALID_ARGUMENT &&
             strstr(clv_lbfgs_message(s), "x is NULL"), "NULL x: %s", clv_lbfgs_message(s));
    printf("  refused %-26s -> %s\n", "x = NULL", clv_lbfgs_message(s));
    TU_CHECK(clv_lbfgs_minimize(s, 1, x, NULL, NULL, NULL) == CLV_OK && fabs(x[0] - 3) < 1e-6,
             "a good run after refusals: x0 = %g (%s)", x[0], clv_lbfgs_message(s));
    clv_lbfgs_free(s);
    TU_CHECK(clv_lbfgs_minimize(NULL, 1, x, NULL, NULL, NULL) == CLV_ERROR_INVALID_ARGUMENT, "NULL solver");
    clv_lbfgs_free(NULL);
}

/* Every floating-point parameter, NaN or +-inf, is refused by name before
 * anything is built (issue 11: epsilon or delta = inf passed the checks and
 * reached the compiler as -DCLV_LBFGS_EPSILON=inf, a CLV_ERROR_BUILD). */
static void check_nonfinite(clv_mesh *m)
{
    clv_lbfgs_objective obj;
    memset(&obj, 0, sizeof obj);
    obj.source = quadratic;
    const char *names[] = { "epsilon", "delta", "ftol", "wolfe", "min_step", "max_step" };
    const double bad[] = { INFINITY, NAN, -INFINITY };
    for (int k = 0; k < 6; ++k)
        for (int v = 0; v < 3; ++v) {
            clv_lbfgs_parameter p;
            memset(&p, 0, sizeof p);
            double *field = k == 0 ? &p.epsilon : k == 1 ? &p.delta : k == 2 ? &p.ftol : k == 3 ? &p.wolfe
                          : k == 4 ? &p.min_step : &p.max_step;
            *field = bad[v];
            p.past = k == 1 ? 3 : 0; /* delta matters only with past */
            char what[64];
            snprintf(what, sizeof what, "%s = %g", names[k], bad[v]);
            expect_refused(m, 4, &obj, &p, CLV_ERROR_INVALID_ARGUMENT, names[k], what);
        }
}

static clv_status never_called(void *user, const clv_lbfgs_batch *b)
{
    (void)user;
    snprintf(b->message, b->message_size, "the objective ran, but the working set cannot fit");
    return CLV_ERROR_INVALID_ARGUMENT;
}

/* A working set that cannot fit is refused before anything is allocated,
 * naming the options and the bytes: one item of n = 2^24 with m = 1024
 * holds 2051 x 2^24 reals of state (275 GB). Under an address-space cap, so
 * that a missing refusal fails as a malloc would. */
static void check_huge_sizes(clv_mesh *m)
{
    const size_t n = (size_t)1 << 24;
    clv_lbfgs_objective obj;
    clv_lbfgs_parameter p;
    memset(&obj, 0, sizeof obj);
    memset(&p, 0, sizeof p);
    obj.evaluate = never_called;
    p.m = 1024;
    clv_lbfgs *s = NULL;
    TU_REQUIRE_OK(m, clv_lbfgs_new(&s, m, n, &obj, &p));
    double *x = (double *)calloc(n, sizeof(double));
    al_limit(4ull << 30);
    clock_t start = clock();
    clv_status st = clv_lbfgs_minimize(s, 1, x, NULL, NULL, NULL);
    double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
    al_restore();
    const char *msg = clv_lbfgs_message(s);
    TU_CHECK(st == CLV_ERROR_OUT_OF_MEMORY && strstr(msg, "n 16777216 with m 1024") && strstr(msg, "bytes") &&
             seconds < 5, "n = 2^24, m = 1024: %s after %.1f s: %s", clv_status_string(st), seconds, msg);
    printf("  refused %-26s -> %s\n", "n = 2^24, m = 1024", msg);
    free(x);
    clv_lbfgs_free(s);
}

static clv_status failing_callback(void *user, const clv_lbfgs_batch *b)
{
    (void)user;
    snprintf(b->message, b->message_size, "the forward model is not ready (round %d)", b->round);
    return CLV_ERROR_INVALID_ARGUMENT;
}

static void check_callback_failure(clv_mesh *m)
{
    clv_lbfgs_objective obj;
    memset(&obj, 0, sizeof obj);
    obj.evaluate = failing_callback;
    clv_lbfgs *s = NULL;
    TU_REQUIRE_OK(m, clv_lbfgs_new(&s, m, 3, &obj, NULL));
    double x[6] = { 0 };
    clv_status st = clv_lbfgs_minimize(s, 2, x, NULL, NULL, NULL);
    TU_CHECK(st == CLV_ERROR_INVALID_ARGUMENT && strstr(clv_lbfgs_message(s), "not ready (round 1)"),
             "callback failure: %s, %s", clv_status_string(st), clv_lbfgs_message(s));
    printf("  callback failure -> %s\n", clv_lbfgs_message(s));
    clv_lbfgs_free(s);
}

static void check_reasons(void)
{
    const int codes[] = { CLV_LBFGS_CONVERGENCE, CLV_LBFGS_STOP, CLV_LBFGS_ALREADY_MINIMIZED, CLV_LBFGSERR_CANCELED,
                          CLV_LBFGSERR_MAXIMUMITERATION, CLV_LBFGSERR_MAXIMUMLINESEARCH, CLV_LBFGSERR_MINIMUMSTEP,
                          CLV_LBFGSERR_MAXIMUMSTEP, CLV_LBFGSERR_WIDTHTOOSMALL, CLV_LBFGSERR_NONFINITE };
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; ++i) {
        TU_CHECK(strcmp(clv_lbfgs_reason_string(codes[i]), "unknown reason") != 0, "code %d has no string", codes[i]);
        for (size_t j = 0; j < i; ++j)
            TU_CHECK(strcmp(clv_lbfgs_reason_string(codes[i]), clv_lbfgs_reason_string(codes[j])) != 0,
                     "codes %d and %d share a string", codes[i], codes[j]);
    }
    TU_CHECK(strcmp(clv_lbfgs_reason_string(99), "unknown reason") == 0, "unknown code");
}

static void check_float32(clv_mesh *m)
{
    clv_lbfgs_parameter p;
    memset(&p, 0, sizeof p);
    p.float32 = 1;
    p.epsilon = 1e-4;
    clv_lbfgs *s = lt_solver(m, 4, quadratic, NULL, NULL, NULL, NULL, &p);
    double x[8] = { 0, 1, 2, 3, -5, 5, 10, 0 }, fx[2];
    int reason[2];
    clv_lbfgs_items out;
    memset(&out, 0, sizeof out);
    out.fx = fx;
    out.reason = reason;
    TU_CHECK(clv_lbfgs_minimize(s, 2, x, &out, NULL, NULL) == CLV_OK, "float32: %s", clv_lbfgs_message(s));
    for (int i = 0; i < 8; ++i) TU_CHECK(fabs(x[i] - 3) < 1e-3, "float32: x[%d] = %g", i, x[i]);
    TU_CHECK(reason[0] >= 0 && reason[1] >= 0, "float32 reasons %d %d", reason[0], reason[1]);
    clv_lbfgs_free(s);
}

int main(void)
{
    check_reasons();
    clv_mesh *m = tu_open(1, NULL);
    if (!m) return 77;
    check_refusals(m);
    check_nonfinite(m);
    check_huge_sizes(m);
    check_callback_failure(m);
    check_float32(m);
    clv_mesh_close(m);
    return tu_summary();
}
