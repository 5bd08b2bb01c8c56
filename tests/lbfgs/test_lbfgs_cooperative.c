/* Cooperative objectives (clv_lbfgs_objective.cooperative: one work group
 * per problem, the objective and the two-loop recursion's dot products
 * shared by its lanes), against the one-work-item form of the same
 * objective and against the analytic minimum:
 *   - a 1000-d Gaussian (a stationary AR(1) process, tests/lbfgs/objectives.h):
 *     both forms reach the mean, known exactly, to 1e-10, and agree to
 *     1e-10, with both line searches;
 *   - a logistic regression on N = 10^4 observations, d = 20, in plain scalar
 *     code: the two forms' minimum values agree to 1e-10 (relative, f64) and
 *     their weights to 1e-7 (as in lbfgs_logistic: f's rounding, ~1e-16 |f|,
 *     hides what is left of the decrease once |w - w*| ~ sqrt(1e-16 |f| /
 *     lambda_min), and the items end on a rounding stop there), both line
 *     searches; in f32 weights to 1e-3;
 *   - odd local sizes (1, 7) and the default give the same minima (the same
 *     tolerances);
 *   - at a fixed local size the results (x, f, reason, iterations,
 *     evaluations) are bitwise the same for every chunk, 1 or 2 devices,
 *     compaction or not and several iterations per launch;
 *   - bad inputs are refused with a message naming what is wrong.
 * CLV_TEST_SMALL=1 (oclgrind, ASan): smaller n and N, and 8 lanes instead
 * of the default 64 (oclgrind runs a group's lanes one after the other at
 * every barrier: the 96-d Gaussian took 8 minutes on 64). */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#define LBFGS_TEST_NO_ROSENBROCK
#define LBFGS_TEST_NO_QUADRATIC
#define LBFGS_TEST_NO_LOGISTIC
#define LBFGS_TEST_COOPERATIVE
#include "lbfgs_test.h"
#include "objectives.h"

#include <time.h>

typedef struct problem {
    const char *name;
    int n, n_items, n_samples;
    double *x0, *data0, *data1, *data2; /* gauss: rho, mu; logistic: X, y, lambda */
} problem;

typedef struct outcome {
    double *x, *fx;
    int *reason, *iters, *evals;
    double seconds;
} outcome;

static void outcome_alloc(outcome *o, const problem *p)
{
    o->x = (double *)calloc((size_t)p->n_items * p->n, sizeof(double));
    o->fx = (double *)calloc((size_t)p->n_items, sizeof(double));
    o->reason = (int *)calloc((size_t)p->n_items, sizeof(int));
    o->iters = (int *)calloc((size_t)p->n_items, sizeof(int));
    o->evals = (int *)calloc((size_t)p->n_items, sizeof(int));
}

static void outcome_free(outcome *o)
{
    free(o->x);
    free(o->fx);
    free(o->reason);
    free(o->iters);
    free(o->evals);
}

static int is_gauss(const problem *p) { return p->data2 == NULL; }

static void make_gauss(problem *p, int n)
{
    unsigned long long rng = 1013;
    static const double rhos[4] = { 0.3, 0.5, 0.6, 0.7 };
    memset(p, 0, sizeof *p);
    p->name = "AR(1) Gaussian";
    p->n = n;
    p->n_items = 4;
    p->x0 = (double *)calloc((size_t)p->n_items * n, sizeof(double));
    p->data0 = (double *)malloc((size_t)p->n_items * sizeof(double));
    p->data1 = (double *)malloc((size_t)p->n_items * n * sizeof(double));
    for (int i = 0; i < p->n_items; ++i) p->data0[i] = rhos[i];
    for (size_t k = 0; k < (size_t)p->n_items * n; ++k) p->data1[k] = lt_normal(&rng);
}

static void make_logistic(problem *p, int n, int n_samples, int n_items)
{
    unsigned long long rng = 2027;
    memset(p, 0, sizeof *p);
    p->name = "logistic";
    p->n = n;
    p->n_items = n_items;
    p->n_samples = n_samples;
    p->x0 = (double *)calloc((size_t)n_items * n, sizeof(double));
    p->data0 = (double *)malloc((size_t)n_samples * n * sizeof(double));
    p->data1 = (double *)malloc((size_t)n_samples * sizeof(double));
    p->data2 = (double *)malloc((size_t)n_items * sizeof(double));
    double *truth = (double *)malloc((size_t)n * sizeof(double));
    for (int j = 0; j < n; ++j) truth[j] = 0.5 * lt_normal(&rng);
    for (int k = 0; k < n_samples; ++k) {
        double z = 0;
        for (int j = 0; j < n; ++j) {
            double v = j == n - 1 ? 1.0 : lt_normal(&rng);
            p->data0[(size_t)k * n + j] = v;
            z += v * truth[j];
        }
        p->data1[k] = lt_uniform(&rng, 0, 1) < 1 / (1 + exp(-z)) ? 1.0 : 0.0;
    }
    for (int i = 0; i < n_items; ++i) p->data2[i] = pow(10.0, -2 + 3.0 * i / (n_items > 1 ? n_items - 1 : 1));
    for (size_t k = 0; k < (size_t)n_items * n; ++k) p->x0[k] = 0.1 * lt_normal(&rng);
    free(truth);
}

static void problem_free(problem *p)
{
    free(p->x0);
    free(p->data0);
    free(p->data1);
    free(p->data2);
}

typedef struct setup {
    int cooperative, f32, n_devices;
    size_t local_size;
    long chunk;
    int no_compaction, per_launch;
    clv_lbfgs_linesearch ls;
} setup;

/* The local size of cooperative runs that do not choose one. */
static size_t default_lanes(void) { return tu_small() ? 8 : 0; }

static const char *source_of(const problem *p, int cooperative)
{
    if (is_gauss(p)) return cooperative ? gauss_ar1_coop_cl : gauss_ar1_cl;
    return cooperative ? logistic_coop_cl : logistic_plain_cl;
}

/* A replicated array of the items' dtype from doubles. */
static clv_array *real_array(clv_mesh *m, clv_dtype dt, size_t items, size_t elems, const double *host)
{
    clv_array *a = NULL;
    TU_REQUIRE_OK(m, clv_array_new(&a, m, dt, items, elems, CLV_REPLICATED));
    TU_REQUIRE_OK(m, clv_array_write_f64(a, host));
    return a;
}

/* Solve p under u; 0 when the platform cannot give u's devices. */
static int solve(const problem *p, const setup *u, outcome *o)
{
    clv_mesh *m = tu_open(u->n_devices, NULL);
    if (!m) return 0;
    clv_dtype dt = u->f32 ? CLV_F32 : CLV_F64;
    clv_array *a0 = NULL, *a1 = NULL, *a2 = NULL, *ai = NULL;
    int32_t ns = p->n_samples;
    clv_lbfgs_objective obj;
    memset(&obj, 0, sizeof obj);
    obj.source = source_of(p, u->cooperative);
    obj.cooperative = u->cooperative;
    if (is_gauss(p)) {
        a0 = real_array(m, dt, (size_t)p->n_items, 1, p->data0);
        a1 = real_array(m, dt, (size_t)p->n_items, (size_t)p->n, p->data1);
    } else {
        a0 = real_array(m, dt, (size_t)p->n_samples, (size_t)p->n, p->data0);
        a1 = real_array(m, dt, (size_t)p->n_samples, 1, p->data1);
        a2 = real_array(m, dt, (size_t)p->n_items, 1, p->data2);
        ai = lt_replicated(m, CLV_I32, 1, 1, &ns);
        if (u->cooperative) obj.tmp_elems = (size_t)p->n + 1;
    }
    obj.data[0] = a0;
    obj.data[1] = a1;
    obj.data[2] = a2;
    obj.idata[0] = ai;
    clv_lbfgs_parameter param;
    memset(&param, 0, sizeof param);
    param.epsilon = u->f32 ? 1e-4 : is_gauss(p) ? 1e-13 : 1e-11;
    param.max_iterations = 5000;
    param.linesearch = u->ls;
    param.float32 = u->f32;
    param.local_size = u->cooperative && !u->local_size ? default_lanes() : u->local_size;
    param.chunk = u->chunk;
    param.no_compaction = u->no_compaction;
    param.iterations_per_launch = u->per_launch;
    clv_lbfgs *s = NULL;
    clv_status st = clv_lbfgs_new(&s, m, (size_t)p->n, &obj, &param);
    TU_CHECK(st == CLV_OK, "clv_lbfgs_new (%s, cooperative %d): %s", p->name, u->cooperative, clv_lbfgs_message(s));
    memcpy(o->x, p->x0, (size_t)p->n_items * p->n * sizeof(double));
    clv_lbfgs_items out;
    out.fx = o->fx;
    out.reason = o->reason;
    out.iterations = o->iters;
    out.evaluations = o->evals;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (st == CLV_OK) st = clv_lbfgs_minimize(s, (size_t)p->n_items, o->x, &out, NULL, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    o->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    TU_CHECK(st == CLV_OK, "clv_lbfgs_minimize (%s): %s", p->name, clv_lbfgs_message(s));
    clv_lbfgs_free(s);
    clv_array_free(a0);
    clv_array_free(a1);
    clv_array_free(a2);
    clv_array_free(ai);
    clv_mesh_close(m);
    return 1;
}

static const char *ls_name(clv_lbfgs_linesearch ls)
{
    return ls == CLV_LBFGS_LINESEARCH_BACKTRACKING ? "backtracking" : "strong Wolfe";
}

/* Every item ended well: converged, or stopped by a line search at its best
 * point (the gradient test tighter than f's rounding, guarantee 4). */
static int ended_well(const outcome *o, int n_items)
{
    for (int i = 0; i < n_items; ++i)
        if (o->reason[i] != CLV_LBFGS_CONVERGENCE && o->reason[i] != CLV_LBFGSERR_MAXIMUMLINESEARCH &&
            o->reason[i] != CLV_LBFGSERR_WIDTHTOOSMALL && o->reason[i] != CLV_LBFGSERR_MINIMUMSTEP)
            return 0;
    return 1;
}

/* Largest |f_a - f_b| / max(1, |f_b|) over the items. */
static double rel_f_diff(const outcome *a, const outcome *b, int n_items)
{
    double d = 0;
    for (int i = 0; i < n_items; ++i) d = fmax(d, fabs(a->fx[i] - b->fx[i]) / fmax(1.0, fabs(b->fx[i])));
    return d;
}

/* The 1000-d Gaussian: its minimum is its mean. */
static void test_gauss(void)
{
    problem p;
    make_gauss(&p, tu_small() ? 40 : 1000);
    for (int k = 0; k < 2; ++k) {
        clv_lbfgs_linesearch ls = k ? CLV_LBFGS_LINESEARCH_BACKTRACKING : CLV_LBFGS_LINESEARCH_STRONG_WOLFE;
        outcome one, coop;
        outcome_alloc(&one, &p);
        outcome_alloc(&coop, &p);
        setup u;
        memset(&u, 0, sizeof u);
        u.n_devices = 1;
        u.ls = ls;
        solve(&p, &u, &one);
        u.cooperative = 1;
        solve(&p, &u, &coop);
        size_t all = (size_t)p.n_items * p.n;
        double e1 = lt_max_abs_diff(one.x, p.data1, all), ec = lt_max_abs_diff(coop.x, p.data1, all);
        double d = lt_max_abs_diff(one.x, coop.x, all);
        TU_CHECK(ended_well(&one, p.n_items) && ended_well(&coop, p.n_items),
                 "%d-d Gaussian, %s: reasons %d (one item) / %d (cooperative)", p.n, ls_name(ls), one.reason[0],
                 coop.reason[0]);
        TU_CHECK(ec <= 1e-10 && e1 <= 1e-10, "%d-d Gaussian, %s: |x - mean| = %.3g cooperative, %.3g one work item",
                 p.n, ls_name(ls), ec, e1);
        TU_CHECK(d <= 1e-10, "%d-d Gaussian, %s: cooperative and one-work-item minima %.3g apart", p.n, ls_name(ls), d);
        printf("%d-d Gaussian, %s: |x - mean| %.2g (cooperative, %d iterations, %.2f s), %.2g (one work item, "
               "%d iterations, %.2f s)\n", p.n, ls_name(ls), ec, coop.iters[0], coop.seconds, e1, one.iters[0],
               one.seconds);
        outcome_free(&one);
        outcome_free(&coop);
    }
    problem_free(&p);
}

/* Logistic regression: the two forms' minima, f64 and f32; odd local sizes. */
static void test_logistic(const problem *p)
{
    for (int f32 = 0; f32 < 2; ++f32)
        for (int k = 0; k < 2; ++k) {
            clv_lbfgs_linesearch ls = k ? CLV_LBFGS_LINESEARCH_BACKTRACKING : CLV_LBFGS_LINESEARCH_STRONG_WOLFE;
            outcome one, coop;
            outcome_alloc(&one, p);
            outcome_alloc(&coop, p);
            setup u;
            memset(&u, 0, sizeof u);
            u.n_devices = 1;
            u.ls = ls;
            u.f32 = f32;
            solve(p, &u, &one);
            u.cooperative = 1;
            solve(p, &u, &coop);
            double tol = f32 ? 1e-3 : 1e-7, d = lt_max_abs_diff(one.x, coop.x, (size_t)p->n_items * p->n);
            double df = rel_f_diff(&coop, &one, p->n_items), ftol = f32 ? 1e-5 : 1e-10;
            TU_CHECK(ended_well(&one, p->n_items) && ended_well(&coop, p->n_items),
                     "logistic %s %s: reasons %d / %d", f32 ? "f32" : "f64", ls_name(ls), one.reason[0],
                     coop.reason[0]);
            TU_CHECK(d <= tol && df <= ftol, "logistic N = %d, d = %d, %s, %s: cooperative and one-work-item "
                     "minima %.3g apart (tolerance %g), values %.3g (relative; tolerance %g)", p->n_samples, p->n,
                     f32 ? "f32" : "f64", ls_name(ls), d, tol, df, ftol);
            printf("logistic N = %d, d = %d, %s, %s: minima %.2g apart, values %.2g (relative); %.2f s cooperative, "
                   "%.2f s one work item\n", p->n_samples, p->n, f32 ? "f32" : "f64", ls_name(ls), d, df,
                   coop.seconds, one.seconds);
            outcome_free(&one);
            outcome_free(&coop);
        }
    /* local sizes: 1 (a group of one), 7 (not a power of two), the default */
    outcome ref;
    outcome_alloc(&ref, p);
    setup u;
    memset(&u, 0, sizeof u);
    u.n_devices = 1;
    u.cooperative = 1;
    solve(p, &u, &ref);
    static const size_t sizes[2] = { 1, 7 };
    for (int k = 0; k < 2; ++k) {
        outcome o;
        outcome_alloc(&o, p);
        u.local_size = sizes[k];
        solve(p, &u, &o);
        double d = lt_max_abs_diff(o.x, ref.x, (size_t)p->n_items * p->n), df = rel_f_diff(&o, &ref, p->n_items);
        TU_CHECK(ended_well(&o, p->n_items) && d <= 1e-7 && df <= 1e-10, "logistic, local size %zu: %.3g from the "
                 "default's minima, values %.3g (relative; reason %d)", sizes[k], d, df, o.reason[0]);
        outcome_free(&o);
    }
    outcome_free(&ref);
}

static int same_bits(const outcome *a, const outcome *b, const problem *p)
{
    size_t n = (size_t)p->n_items;
    return !memcmp(a->x, b->x, n * p->n * sizeof(double)) && !memcmp(a->fx, b->fx, n * sizeof(double)) &&
           !memcmp(a->reason, b->reason, n * sizeof(int)) && !memcmp(a->iters, b->iters, n * sizeof(int)) &&
           !memcmp(a->evals, b->evals, n * sizeof(int));
}

/* Partition invariance at a fixed local size. */
static void test_invariance(const problem *p)
{
    typedef struct { const char *name; int n_devices; long chunk; int no_compaction, per_launch; } split;
    static const split splits[] = {
        { "chunk 1", 1, 1, 0, 0 },
        { "chunk 3", 1, 3, 0, 0 },
        { "no compaction", 1, 0, 1, 0 },
        { "3 iterations per launch", 1, 0, 0, 3 },
        { "2 devices", 2, 0, 0, 0 },
        { "2 devices, chunk 2", 2, 2, 0, 0 },
    };
    for (int k = 0; k < 2; ++k) {
        clv_lbfgs_linesearch ls = k ? CLV_LBFGS_LINESEARCH_BACKTRACKING : CLV_LBFGS_LINESEARCH_STRONG_WOLFE;
        outcome ref;
        outcome_alloc(&ref, p);
        setup u;
        memset(&u, 0, sizeof u);
        u.cooperative = 1;
        u.local_size = tu_small() ? 4 : 16;
        u.ls = ls;
        u.n_devices = 1;
        solve(p, &u, &ref);
        for (size_t i = 0; i < sizeof splits / sizeof splits[0]; ++i) {
            outcome o;
            outcome_alloc(&o, p);
            u.n_devices = splits[i].n_devices;
            u.chunk = splits[i].chunk;
            u.no_compaction = splits[i].no_compaction;
            u.per_launch = splits[i].per_launch;
            if (solve(p, &u, &o))
                TU_CHECK(same_bits(&o, &ref, p), "cooperative %s, local size %zu, %s: not bitwise the results of one "
                         "device, one launch", ls_name(ls), u.local_size, splits[i].name);
            outcome_free(&o);
        }
        outcome_free(&ref);
    }
}

/* clv_lbfgs_new's status and message for obj / param on a one-device mesh. */
static void expect_refused(const char *what, const clv_lbfgs_objective *obj, const clv_lbfgs_parameter *param,
                           size_t n, clv_status want, const char *needle)
{
    clv_mesh *m = tu_open(1, NULL);
    if (!m) return;
    clv_lbfgs *s = NULL;
    clv_status st = clv_lbfgs_new(&s, m, n, obj, param);
    TU_CHECK(st == want && strstr(clv_lbfgs_message(s), needle), "%s: status %s (want %s), message \"%s\" (want "
             "\"%s\" in it)", what, clv_status_string(st), clv_status_string(want), clv_lbfgs_message(s), needle);
    clv_lbfgs_free(s);
    clv_mesh_close(m);
}

static clv_status no_callback(void *user, const clv_lbfgs_batch *b)
{
    (void)user;
    (void)b;
    return CLV_ERROR_INVALID_ARGUMENT;
}

static void test_bad_inputs(void)
{
    clv_lbfgs_objective obj;
    clv_lbfgs_parameter param;
    memset(&obj, 0, sizeof obj);
    memset(&param, 0, sizeof param);
    obj.evaluate = no_callback;
    obj.cooperative = 1;
    expect_refused("cooperative host callback", &obj, NULL, 4, CLV_ERROR_INVALID_ARGUMENT, "cooperative is for kernel");
    memset(&obj, 0, sizeof obj);
    obj.source = gauss_ar1_cl;
    obj.tmp_elems = 16;
    expect_refused("tmp_elems without cooperative", &obj, NULL, 4, CLV_ERROR_INVALID_ARGUMENT, "tmp_elems");
    obj.tmp_elems = 0;
    param.local_size = 8;
    expect_refused("local_size without cooperative", &obj, &param, 4, CLV_ERROR_INVALID_ARGUMENT, "local_size 8");
    obj.source = gauss_ar1_coop_cl;
    obj.cooperative = 1;
    param.local_size = (size_t)1 << 20;
    expect_refused("local_size too large", &obj, &param, 4, CLV_ERROR_INVALID_ARGUMENT, "local_size");
    param.local_size = 0;
    obj.tmp_elems = (size_t)1 << 20;
    expect_refused("tmp larger than local memory", &obj, &param, 4, CLV_ERROR_OUT_OF_MEMORY,
                   "CL_DEVICE_LOCAL_MEM_SIZE");
    obj.tmp_elems = 0;
    param.m = 200;
    expect_refused("m too large for a cooperative item", &obj, &param, 4, CLV_ERROR_INVALID_ARGUMENT, "m 200");
    param.m = 0;
    obj.source = gauss_ar1_cl; /* a one-work-item objective marked cooperative: its signature lacks tmp */
    expect_refused("one-work-item source as cooperative", &obj, &param, 4, CLV_ERROR_BUILD, "clv_lbfgs_objective");
    obj.source = gauss_ar1_coop_cl;
    obj.cooperative = 0;
    expect_refused("cooperative source as one work item", &obj, &param, 4, CLV_ERROR_BUILD, "clv_lbfgs_objective");
}

int main(void)
{
    problem lg;
    test_bad_inputs();
    test_gauss();
    make_logistic(&lg, 20, tu_small() ? 160 : 10000, tu_small() ? 2 : 6);
    test_logistic(&lg);
    problem_free(&lg);
    make_logistic(&lg, tu_small() ? 6 : 20, tu_small() ? 60 : 2000, tu_small() ? 3 : 5);
    test_invariance(&lg);
    problem_free(&lg);
    return tu_summary();
}
