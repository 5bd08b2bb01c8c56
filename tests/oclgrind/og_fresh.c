/* og_fresh — kernels run first thing in a fresh process, for oclgrind's
 * --uninitialized check (suite `oclgrind`).
 *
 * The programs of the suite that run clv_lbfgs_iterate and
 * clv_nuts__gradcheck (test_lbfgs_api, test_lbfgs_failures,
 * test_nuts_errors) run without --uninitialized: oclgrind 21.10 reports
 * false positives once a buffer takes the slot of a smaller one a kernel
 * used (tests/oclgrind/uninit_false_positive.c), and those programs free
 * and create many. Here each case is a process of its own that builds one
 * program and runs it before anything is released, so the check holds.
 *
 *   og_fresh lbfgs-wolfe         kernel objective (clv_lbfgs_reset, clv_lbfgs_iterate),
 *                                strong-Wolfe line search, 3 items
 *   og_fresh lbfgs-backtracking  the same, backtracking line search
 *   og_fresh lbfgs-f32           the same in float (strong Wolfe)
 *   og_fresh lbfgs-cooperative   a cooperative objective (gauss_ar1_coop_cl,
 *                                n = 12, a work group of 5 lanes per item),
 *                                strong Wolfe, double
 *   og_fresh lbfgs-cooperative-bt  the same in float, backtracking, n = 4 on
 *                                8 lanes (lanes without an element)
 *   og_fresh nuts-gradcheck      clv_nuts__gradcheck on eight_schools
 *   og_fresh nuts-cooperative    clv_nuts__init and clv_nuts__run of a
 *                                cooperative model (logistic_coop, 2 chains,
 *                                a work group each); test_nuts_cooperative
 *                                runs six samplers in one process
 */
#include "clvmap_lbfgs.h"
#define LBFGS_TEST_NO_ROSENBROCK /* objectives.h: only ROSENBROCK_CHAINED_CL */
#define LBFGS_TEST_NO_QUADRATIC
#define LBFGS_TEST_NO_LOGISTIC
#define LBFGS_TEST_COOPERATIVE
#define LBFGS_TEST_NO_LOGISTIC_SCALAR
#include "objectives.h"
#include "clvmap_nuts.h"
#include "nuts_models.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A shifted quadratic with a Rosenbrock coupling: item i's minimum is at
 * x = 1 for every coordinate. */
static const char *objective = ROSENBROCK_CHAINED_CL("1 + (clv_real)item");

/* The AR(1) Gaussian of 3 items, cooperative: its minimum is its mean. */
static int lbfgs_cooperative(clv_mesh *m, clv_lbfgs_linesearch linesearch, int float32, int n, size_t lanes)
{
    enum { B = 3 };
    (void)gauss_ar1_cl; /* the one-work-item twin, unused here */
    double x[B * 12], rho[B] = { 0.3, 0.5, 0.7 }, mu[B * 12];
    for (int i = 0; i < B * n; ++i) {
        x[i] = 0;
        mu[i] = 0.25 * (i % 7) - 0.5;
    }
    clv_dtype dt = float32 ? CLV_F32 : CLV_F64;
    clv_array *a_rho = NULL, *a_mu = NULL;
    clv_status st = clv_array_new(&a_rho, m, dt, B, 1, CLV_REPLICATED);
    if (st == CLV_OK) st = clv_array_write_f64(a_rho, rho);
    if (st == CLV_OK) st = clv_array_new(&a_mu, m, dt, B, (size_t)n, CLV_REPLICATED);
    if (st == CLV_OK) st = clv_array_write_f64(a_mu, mu);
    clv_lbfgs_objective obj;
    memset(&obj, 0, sizeof obj);
    obj.source = gauss_ar1_coop_cl;
    obj.cooperative = 1;
    obj.data[0] = a_rho;
    obj.data[1] = a_mu;
    clv_lbfgs_parameter param;
    memset(&param, 0, sizeof param);
    param.linesearch = linesearch;
    param.float32 = float32;
    param.local_size = lanes;
    param.epsilon = float32 ? 1e-4 : 1e-10;
    clv_lbfgs *s = NULL;
    if (st == CLV_OK) st = clv_lbfgs_new(&s, m, (size_t)n, &obj, &param);
    if (st == CLV_OK) st = clv_lbfgs_minimize(s, B, x, NULL, NULL, NULL);
    int ok = st == CLV_OK;
    if (!ok) printf("FAIL: %s\n", s ? clv_lbfgs_message(s) : clv_mesh_message(m));
    for (int i = 0; ok && i < B * n; ++i)
        if (!(fabs(x[i] - mu[i]) < (float32 ? 1e-3 : 1e-6))) {
            printf("FAIL: x[%d] = %.6f, not the mean %.6f\n", i, x[i], mu[i]);
            ok = 0;
        }
    if (ok) printf("cooperative AR(1) Gaussian, n = %d, %zu lanes: the mean reached\n", n, clv_lbfgs_local_size(s));
    clv_lbfgs_free(s);
    clv_array_free(a_rho);
    clv_array_free(a_mu);
    return ok;
}

static int lbfgs(clv_mesh *m, clv_lbfgs_linesearch linesearch, int float32)
{
    enum { B = 3, N = 4 };
    double x[B * N], fx[B];
    int reason[B];
    for (int i = 0; i < B * N; ++i) x[i] = -1.2;
    clv_lbfgs_objective obj;
    memset(&obj, 0, sizeof obj);
    obj.source = objective;
    clv_lbfgs_parameter param;
    memset(&param, 0, sizeof param);
    param.linesearch = linesearch;
    param.float32 = float32;
    clv_lbfgs *s = NULL;
    clv_lbfgs_items out;
    memset(&out, 0, sizeof out);
    out.fx = fx;
    out.reason = reason;
    clv_status st = clv_lbfgs_new(&s, m, N, &obj, &param);
    if (st == CLV_OK) st = clv_lbfgs_minimize(s, B, x, &out, NULL, NULL);
    int ok = st == CLV_OK;
    if (!ok) printf("FAIL: %s\n", clv_lbfgs_message(s));
    for (int i = 0; ok && i < B; ++i) {
        printf("item %d: f = %.3g, x0 = %.6f (%s)\n", i, fx[i], x[i * N], clv_lbfgs_reason_string(reason[i]));
        if (!(fabs(x[i * N] - 1) < (float32 ? 1e-2 : 1e-4))) {
            printf("FAIL: item %d did not reach x = 1\n", i);
            ok = 0;
        }
    }
    clv_lbfgs_free(s);
    return ok;
}

static int gradcheck(clv_mesh *m)
{
    nuts_model_def def;
    if (!nuts_model_make("eight_schools", 0, &def)) return 0;
    clv_nuts_model model = nuts_model_desc(&def);
    clv_nuts *s = NULL;
    clv_nuts_gradcheck g;
    clv_status st = clv_nuts_new(&s, m, &model);
    if (st == CLV_OK) st = clv_nuts_check_gradient(s, NULL, NULL, &g);
    int ok = st == CLV_OK && g.n_over == 0 && g.n_nonfinite == 0;
    if (st != CLV_OK) printf("FAIL: %s\n", clv_nuts_message(s));
    else printf("%s: worst relative error %.2e, %d over the tolerance%s\n", def.name, g.worst, g.n_over,
                ok ? "" : " (FAIL)");
    clv_nuts_free(s);
    nuts_model_free(&def);
    return ok;
}

static int cooperative(clv_mesh *m)
{
    nuts_model_def def;
    if (!nuts_model_make_sized("logistic_coop", 3, 64, &def)) return 0;
    clv_nuts_model model = nuts_model_desc(&def);
    clv_nuts *s = NULL;
    clv_nuts_opts o;
    memset(&o, 0, sizeof o);
    o.n_chains = 2;
    o.num_warmup = 20;
    o.num_draws = 10;
    o.seed = 7;
    clv_nuts_result r;
    memset(&r, 0, sizeof r);
    clv_status st = clv_nuts_new(&s, m, &model);
    if (st == CLV_OK) st = clv_nuts_run(s, &o, &r);
    int ok = st == CLV_OK && r.num_draws == 10;
    if (!ok) printf("FAIL: %s\n", clv_nuts_message(s));
    else printf("%s: %d chains x %d draws, first beta[0] %.5f\n", def.name, o.n_chains, r.num_draws, r.draws[0]);
    clv_nuts_result_free(&r);
    clv_nuts_free(s);
    nuts_model_free(&def);
    return ok;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    clv_mesh *m = NULL;
    if (clv_mesh_open(&m, NULL) != CLV_OK) {
        printf("FAIL: %s\n", clv_mesh_message(m));
        clv_mesh_close(m);
        return 1;
    }
    int ok;
    if (!strcmp(what, "lbfgs-wolfe")) ok = lbfgs(m, CLV_LBFGS_LINESEARCH_STRONG_WOLFE, 0);
    else if (!strcmp(what, "lbfgs-backtracking")) ok = lbfgs(m, CLV_LBFGS_LINESEARCH_BACKTRACKING, 0);
    else if (!strcmp(what, "lbfgs-f32")) ok = lbfgs(m, CLV_LBFGS_LINESEARCH_STRONG_WOLFE, 1);
    else if (!strcmp(what, "lbfgs-cooperative")) ok = lbfgs_cooperative(m, CLV_LBFGS_LINESEARCH_STRONG_WOLFE, 0, 12, 5);
    else if (!strcmp(what, "lbfgs-cooperative-bt"))
        ok = lbfgs_cooperative(m, CLV_LBFGS_LINESEARCH_BACKTRACKING, 1, 4, 8);
    else if (!strcmp(what, "nuts-gradcheck")) ok = gradcheck(m);
    else if (!strcmp(what, "nuts-cooperative")) ok = cooperative(m);
    else {
        printf("usage: og_fresh lbfgs-wolfe | lbfgs-backtracking | lbfgs-f32 | lbfgs-cooperative | "
               "lbfgs-cooperative-bt | nuts-gradcheck | nuts-cooperative\n");
        ok = 0;
    }
    clv_mesh_close(m);
    return ok ? 0 : 1;
}
