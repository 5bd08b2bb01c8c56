/* Partition invariance of the optimizer (DESIGN.md guarantee 1): minima,
 * values, reasons, iteration and evaluation counts are bitwise identical
 * for every chunk (items solved at once), every device split (1-3 devices,
 * uneven weights, a device given nothing), with or without compaction and
 * for 1, 5 and the default (0: the library's choice) iterations per launch,
 * for kernel objectives (Rosenbrock, logistic regression with exp/log1p)
 * and a host-callback objective (its own clv_map kernel), with both line
 * searches. */
#define LBFGS_TEST_NO_QUADRATIC
#include "lbfgs_test.h"
#include "objectives.h"

typedef struct config {
    const char *name;
    int n_devices;
    const double *weights;
    long chunk;
    int no_compaction;
    int per_launch;
} config;

static const double uneven[3] = { 1.0, 0.0, 3.0 };
static const config configs[] = {
    /* the reference: one iteration per launch, so that the host compacts
     * between iterations (the default, 0, launches several when no progress
     * callback watches; the other configs use it) */
    { "1 device, 1 iteration per launch", 1, NULL, 0, 0, 1 },
    { "1 device", 1, NULL, 0, 0, 0 },
    { "1 device, chunk 1", 1, NULL, 1, 0, 0 },
    { "1 device, chunk 7", 1, NULL, 7, 0, 0 },
    { "1 device, no compaction", 1, NULL, 0, 1, 0 },
    { "2 devices", 2, NULL, 0, 0, 0 },
    { "3 devices", 3, NULL, 0, 0, 0 },
    { "3 devices, chunk 5", 3, NULL, 5, 0, 0 },
    { "3 devices 1:0:3", 3, uneven, 0, 0, 0 },
    { "2 devices, 5 iterations per launch", 2, NULL, 0, 0, 5 },
};

/* The callback objective: Rosenbrock through the caller's own map kernel. */
static const char *callback_cl =
    "__kernel void rosen(CLV_ITEMS, __global const double *x, __global double *g, __global double *f,\n"
    "                    const int n) {\n"
    "    CLV_GUARD();\n"
    "    __global const double *xi = x + clv_local() * n;\n"
    "    __global double *gi = g + clv_local() * n;\n"
    "    double s = 0;\n"
    "    for (int i = 0; i + 1 < n; i += 2) {\n"
    "        const double t1 = 1 - xi[i], t2 = 10 * (xi[i + 1] - xi[i] * xi[i]);\n"
    "        gi[i + 1] = 20 * t2;\n"
    "        gi[i] = -2 * (xi[i] * gi[i + 1] + t1);\n"
    "        s += t1 * t1 + t2 * t2;\n"
    "    }\n"
    "    f[clv_local()] = s;\n"
    "}\n";

static clv_status callback_evaluate(void *user, const clv_lbfgs_batch *b)
{
    clv_arg args[4];
    args[0] = clv_in(b->x);
    args[1] = clv_out(b->g);
    args[2] = clv_out(b->f);
    args[3] = clv_int((int32_t)b->n);
    clv_status st = clv_map((clv_program *)user, "rosen", b->n_items, NULL, args, 4);
    if (st != CLV_OK) snprintf(b->message, b->message_size, "%s", clv_mesh_message(b->mesh));
    return st;
}

typedef struct result {
    double *x, *fx;
    int *reason, *iters, *evals;
    int compactions;
} result;

enum { PROBLEM_ROSENBROCK, PROBLEM_LOGISTIC, PROBLEM_CALLBACK, N_PROBLEMS };
static const char *problem_names[N_PROBLEMS] = { "Rosenbrock kernel", "logistic kernel", "Rosenbrock callback" };

typedef struct problem_data {
    int n, n_items, n_samples;
    double *x0, *X, *y, *lambda;
} problem_data;

static void solve(const config *c, int problem, clv_lbfgs_linesearch ls, const problem_data *d, result *r)
{
    clv_mesh *m = tu_open(c->n_devices, c->weights);
    if (!m) exit(77);
    clv_lbfgs_parameter param;
    memset(&param, 0, sizeof param);
    param.linesearch = ls;
    param.chunk = c->chunk;
    param.no_compaction = c->no_compaction;
    param.iterations_per_launch = c->per_launch;
    param.max_iterations = 150; /* some items end on it: a reason that depends on counts */
    clv_array *Xa = NULL, *ya = NULL, *la = NULL, *na = NULL;
    clv_program *user = NULL;
    clv_lbfgs *s = NULL;
    if (problem == PROBLEM_ROSENBROCK) s = lt_solver(m, (size_t)d->n, rosenbrock_cl, NULL, NULL, NULL, NULL, &param);
    if (problem == PROBLEM_LOGISTIC) {
        int32_t ns = d->n_samples;
        Xa = lt_replicated(m, CLV_F64, (size_t)d->n_samples, (size_t)d->n, d->X);
        ya = lt_replicated(m, CLV_F64, (size_t)d->n_samples, 1, d->y);
        la = lt_replicated(m, CLV_F64, (size_t)d->n_items, 1, d->lambda);
        na = lt_replicated(m, CLV_I32, 1, 1, &ns);
        s = lt_solver(m, (size_t)d->n, logistic_cl, Xa, ya, la, na, &param);
    }
    if (problem == PROBLEM_CALLBACK) {
        clv_program_desc pd;
        memset(&pd, 0, sizeof pd);
        pd.source = callback_cl;
        pd.real = CLV_F64;
        TU_REQUIRE_OK(m, clv_program_build(&user, m, &pd));
        clv_lbfgs_objective obj;
        memset(&obj, 0, sizeof obj);
        obj.evaluate = callback_evaluate;
        obj.user = user;
        clv_status st = clv_lbfgs_new(&s, m, (size_t)d->n, &obj, &param);
        if (st != CLV_OK) {
            printf("FAIL: %s\n", clv_lbfgs_message(s));
            exit(1);
        }
    }
    clv_lbfgs_items out;
    memset(&out, 0, sizeof out);
    out.fx = r->fx;
    out.reason = r->reason;
    out.iterations = r->iters;
    out.evaluations = r->evals;
    memcpy(r->x, d->x0, (size_t)d->n_items * d->n * sizeof *r->x);
    TU_CHECK(clv_lbfgs_minimize(s, (size_t)d->n_items, r->x, &out, NULL, NULL) == CLV_OK, "%s: %s", c->name,
             clv_lbfgs_message(s));
    r->compactions = (int)clv_lbfgs_get_stats(s).compactions;
    clv_lbfgs_free(s);
    clv_program_free(user);
    clv_array_free(Xa), clv_array_free(ya), clv_array_free(la), clv_array_free(na);
    clv_mesh_close(m);
}

static result result_new(const problem_data *d)
{
    result r;
    r.x = (double *)malloc((size_t)d->n_items * d->n * sizeof *r.x);
    r.fx = (double *)malloc((size_t)d->n_items * sizeof *r.fx);
    r.reason = (int *)malloc((size_t)d->n_items * sizeof *r.reason);
    r.iters = (int *)malloc((size_t)d->n_items * sizeof *r.iters);
    r.evals = (int *)malloc((size_t)d->n_items * sizeof *r.evals);
    return r;
}

static void result_free(result *r) { free(r->x), free(r->fx), free(r->reason), free(r->iters), free(r->evals); }

static int same(const result *a, const result *b, const problem_data *d)
{
    size_t ni = (size_t)d->n_items;
    return memcmp(a->x, b->x, ni * d->n * sizeof *a->x) == 0 && memcmp(a->fx, b->fx, ni * sizeof *a->fx) == 0 &&
           memcmp(a->reason, b->reason, ni * sizeof *a->reason) == 0 &&
           memcmp(a->iters, b->iters, ni * sizeof *a->iters) == 0 &&
           memcmp(a->evals, b->evals, ni * sizeof *a->evals) == 0;
}

int main(void)
{
    unsigned long long seed = tu_seed();
    problem_data d;
    memset(&d, 0, sizeof d);
    d.n = 12;
    d.n_items = tu_small() ? 9 : 37;
    d.n_samples = tu_small() ? 22 : 62; /* not a multiple of 4: the objective's vector loop and its scalar tail */
    d.x0 = (double *)malloc((size_t)d.n_items * d.n * sizeof *d.x0);
    d.X = (double *)malloc((size_t)d.n_samples * d.n * sizeof *d.X);
    d.y = (double *)malloc((size_t)d.n_samples * sizeof *d.y);
    d.lambda = (double *)malloc((size_t)d.n_items * sizeof *d.lambda);
    for (int i = 0; i < d.n_items * d.n; ++i) d.x0[i] = lt_uniform(&seed, -2, 2);
    for (int i = 0; i < d.n_samples * d.n; ++i) d.X[i] = lt_normal(&seed);
    for (int k = 0; k < d.n_samples; ++k) d.y[k] = lt_uniform(&seed, 0, 1) < 0.5;
    for (int i = 0; i < d.n_items; ++i) d.lambda[i] = pow(10.0, lt_uniform(&seed, -3, 1));
    size_t n_configs = sizeof configs / sizeof configs[0];
    int compactions[N_PROBLEMS] = { 0, 0, 0 };
    if (tu_small()) n_configs = 4;
    for (int problem = 0; problem < N_PROBLEMS; ++problem)
        for (int ls = 1; ls <= 2; ++ls) {
            result ref = result_new(&d), r = result_new(&d);
            solve(&configs[0], problem, (clv_lbfgs_linesearch)ls, &d, &ref);
            int differ = 0, converged = 0;
            for (int i = 0; i < d.n_items; ++i) converged += ref.reason[i] >= 0;
            int skipped = 0;
            for (size_t k = 1; k < n_configs; ++k) {
                char spec[1024], why[512];
                if (!tu_device_spec(configs[k].n_devices, spec, sizeof spec, why, sizeof why)) {
                    printf("skip \"%s\": %s\n", configs[k].name, why); /* the others still run */
                    ++skipped;
                    continue;
                }
                solve(&configs[k], problem, (clv_lbfgs_linesearch)ls, &d, &r);
                int ok = same(&ref, &r, &d);
                differ += !ok;
                TU_CHECK(ok, "%s, %s: \"%s\" differs from \"%s\"", problem_names[problem],
                         ls == 1 ? "strong Wolfe" : "backtracking", configs[k].name, configs[0].name);
            }
            printf("%-20s %-13s %d items (%d converged, %d compactions): %d of %d splits bitwise equal to one "
                   "device\n", problem_names[problem], ls == 1 ? "strong Wolfe" : "backtracking", d.n_items,
                   converged, ref.compactions, (int)n_configs - 1 - skipped - differ, (int)n_configs - 1 - skipped);
            compactions[problem] += ref.compactions;
            result_free(&ref), result_free(&r);
        }
    for (int problem = 0; problem < N_PROBLEMS; ++problem)
        TU_CHECK(compactions[problem] > 0, "%s never compacted: the test misses that path", problem_names[problem]);
    free(d.x0), free(d.X), free(d.y), free(d.lambda);
    return tu_summary();
}
