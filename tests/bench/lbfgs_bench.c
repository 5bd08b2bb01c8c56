/* lbfgs_bench.c — one timed run of a batch of B L-BFGS problems, by
 * clvmap_lbfgs (batched, on the OpenCL devices) or by liblbfgs (a loop over
 * the items on the host), printing one line of key=value fields.
 * tests/bench/lbfgs_bench.sh runs it and tests/bench/lbfgs_ref.py (optax,
 * scipy) on the same problems and summarises; see that script.
 *
 *   lbfgs_bench --tool clvmap|liblbfgs --problem rosenbrock|logistic
 *               [--linesearch zoom|backtracking] [--items 1024] [--variant NAME]
 *               (liblbfgs: zoom runs More-Thuente, backtracking its default
 *               backtracking, LBFGS_LINESEARCH_BACKTRACKING = _WOLFE)
 *               [--no-compaction 1] [--per-launch K]   (clvmap's iterations per launch)
 *               [--samples N] [--features D]   (logistic; default 256 x 16)
 *               [--local-size L]   (--variant coop: lanes per problem; 0: default)
 *   lbfgs_bench --dump DIR      write the problems for lbfgs_ref.py (with
 *               --samples/--features: lbfgs_logistic_ITEMS_NxD.bin)
 *
 * Problems (the same bits in every tool):
 *   rosenbrock  extended Rosenbrock (liblbfgs's sample), n = 32, from
 *               (-1.2, 1, ...) + U(-0.5, 0.5) per coordinate and item;
 *   logistic    L2-regularised logistic regression, 256 samples x 16
 *               features (bias included), one L2 weight per item, log-spaced
 *               1e-3 .. 10, from w = 0. clvmap's kernel objective is
 *               logistic_cl of tests/lbfgs/objectives.h (four samples at a
 *               time: exp and log1p on clv_real4).
 * Settings: m = 10, epsilon 1e-5 (|g| <= 1e-5 max(1, |x|)), no iteration
 * limit but 10000. clvmap times clv_lbfgs_minimize after a warm-up solve
 * (the program build and PoCL's kernel compiles are excluded; build time is
 * printed as build_s).
 *
 * --variant gemm (logistic, clvmap, built with CLBlast): the objective as a
 * host callback the way XLA runs the vmapped one: Z = W X^T and G = R X as
 * CLBlast GEMMs over the batch, the loss terms by a kernel with one work
 * group per item (PoCL vectorises its straight-line body across the group,
 * exp and log1p included), instead of a kernel objective's per-item loop.
 *
 * --variant plain (logistic, clvmap): logistic_plain_cl, one work item per
 * problem in plain scalar code (no clv_real4). --variant coop: the
 * cooperative form, logistic_coop_cl (clv_lbfgs_objective.cooperative: one
 * work group per problem, each lane a strided share of the samples, plain
 * scalar code); the output line says lanes=L. */
#define _POSIX_C_SOURCE 199309L
#ifdef LBFGS_BENCH_CLBLAST
#define CLV_LBFGS_CLBLAST /* the gemm variant */
#endif
#include "clvmap_lbfgs.h"
#define LBFGS_TEST_NO_QUADRATIC
#define LBFGS_TEST_COOPERATIVE /* logistic_plain_cl, logistic_coop_cl */
#define LBFGS_TEST_NO_GAUSS_AR1
#include "../lbfgs/objectives.h"

#include <lbfgs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum { N_ROSEN = 32 };
/* the logistic problem's size (--samples, --features) */
static int N_SAMPLES = 256, N_FEATURES = 16;

typedef struct bench {
    const char *tool, *problem, *linesearch, *variant;
    int items, n, no_compaction, per_launch, lanes;
    size_t local_size;
    double *x0, *X, *y, *lambda;
} bench;

static unsigned long long rng = 20261121ULL;
static double uniform(void)
{
    unsigned long long z = (rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return ((double)((z ^ (z >> 31)) >> 11) + 0.5) * 0x1.0p-53;
}
static double normal(void) { return sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform()); }

static void make_problems(bench *b)
{
    int rosen = strcmp(b->problem, "rosenbrock") == 0;
    b->n = rosen ? N_ROSEN : N_FEATURES;
    b->x0 = (double *)calloc((size_t)b->items * b->n, sizeof *b->x0);
    b->X = (double *)malloc((size_t)N_SAMPLES * N_FEATURES * sizeof *b->X);
    b->y = (double *)malloc(N_SAMPLES * sizeof *b->y);
    b->lambda = (double *)malloc((size_t)b->items * sizeof *b->lambda);
    for (int i = 0; i < b->items; ++i)
        for (int j = 0; rosen && j < b->n; ++j) b->x0[(size_t)i * b->n + j] = (j % 2 ? 1.0 : -1.2) + uniform() - 0.5;
    double *truth = (double *)malloc((size_t)N_FEATURES * sizeof *truth);
    for (int j = 0; j < N_FEATURES; ++j) truth[j] = normal();
    for (int k = 0; k < N_SAMPLES; ++k) {
        double z = 0;
        for (int j = 0; j < N_FEATURES; ++j) {
            b->X[k * N_FEATURES + j] = j == N_FEATURES - 1 ? 1.0 : normal();
            z += b->X[k * N_FEATURES + j] * truth[j];
        }
        b->y[k] = uniform() < 1 / (1 + exp(-z)) ? 1.0 : 0.0;
    }
    free(truth);
    for (int i = 0; i < b->items; ++i) b->lambda[i] = pow(10.0, -3.0 + 4.0 * i / (b->items > 1 ? b->items - 1 : 1));
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_now(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_stime.tv_sec + 1e-6 * (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

typedef struct outcome {
    double *x, *fx;
    int *iters, *evals, *reason;
    double seconds, cpu_seconds, build_seconds;
} outcome;

/* ---- clvmap, logistic through CLBlast (--variant gemm) ---------------------- */

#ifdef LBFGS_BENCH_CLBLAST
static const char *loss_cl =
    "/* z (samples per item) -> the loss summed into f, z replaced by p - y */\n"
    "__kernel void loss(CLV_ITEMS, __global double *z, __global const double *y, __global double *f,\n"
    "                   __local double *part, const int ns) {\n"
    "    if (!clv_in_batch()) return;\n"
    "    const int lid = get_local_id(0), L = get_local_size(0);\n"
    "    __global double *zi = z + clv_local() * ns;\n"
    "    double acc = 0;\n"
    "    for (int k = lid; k < ns; k += L) {\n"
    "        const double t = zi[k], e = exp(-fabs(t));\n"
    "        acc += fmax(t, 0.0) + log1p(e) - y[k] * t;\n"
    "        zi[k] = (t >= 0 ? 1 / (1 + e) : e / (1 + e)) - y[k];\n"
    "    }\n"
    "    part[lid] = acc;\n"
    "    barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    for (int h = L / 2; h > 0; h /= 2) {\n"
    "        if (lid < h) part[lid] += part[lid + h];\n"
    "        barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    }\n"
    "    if (lid == 0) f[clv_local()] = part[0];\n"
    "}\n"
    "__kernel void l2(CLV_ITEMS, __global const double *w, __global double *g, __global double *f,\n"
    "                 __global const int *item, __global const double *lambda, const int n) {\n"
    "    CLV_GUARD();\n"
    "    const double lam = lambda[item[clv_local()]];\n"
    "    double r = 0;\n"
    "    for (int j = 0; j < n; ++j) {\n"
    "        const double v = w[clv_local() * n + j];\n"
    "        g[clv_local() * n + j] += lam * v;\n"
    "        r += v * v;\n"
    "    }\n"
    "    f[clv_local()] += 0.5 * lam * r;\n"
    "}\n";

typedef struct gemm_ctx {
    clv_program *program;
    clv_array *X, *y, *lambda;
} gemm_ctx;

static clv_status logistic_gemm(void *user, const clv_lbfgs_batch *b)
{
    gemm_ctx *c = (gemm_ctx *)user;
    clv_map_opts group;
    memset(&group, 0, sizeof group);
    group.shape = CLV_ITEM_PER_GROUP;
    group.local_size = 64;
    clv_status st = clv_lbfgs_gemm(b, c->X, N_SAMPLES, N_FEATURES, 1, 1.0, b->x, 0.0, b->scratch);
    if (st == CLV_OK)
        st = CLV_MAP(c->program, "loss", b->n_items, &group, clv_inout(b->scratch), clv_in(c->y), clv_out(b->f),
                     clv_local_mem(64 * sizeof(double)), clv_int(N_SAMPLES));
    if (st == CLV_OK) st = clv_lbfgs_gemm(b, c->X, N_SAMPLES, N_FEATURES, 0, 1.0, b->scratch, 0.0, b->g);
    if (st == CLV_OK)
        st = CLV_MAP(c->program, "l2", b->n_items, NULL, clv_in(b->x), clv_inout(b->g), clv_inout(b->f),
                     clv_in(b->item), clv_in(c->lambda), clv_int(N_FEATURES));
    if (st != CLV_OK && !b->message[0]) snprintf(b->message, b->message_size, "%s", clv_mesh_message(b->mesh));
    return st;
}
#endif

/* The objective of a clvmap run: a kernel, or (--variant gemm) a callback. */
static clv_status clvmap_objective(const bench *b, clv_mesh *m, clv_lbfgs_objective *obj, void *ctx)
{
    if (strcmp(b->variant, "gemm") != 0) return CLV_OK;
#ifdef LBFGS_BENCH_CLBLAST
    gemm_ctx *c = (gemm_ctx *)ctx;
    clv_program_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.source = loss_cl;
    pd.real = CLV_F64;
    clv_status st = clv_program_build(&c->program, m, &pd);
    if (st != CLV_OK) return st;
    c->X = (clv_array *)obj->data[0], c->y = (clv_array *)obj->data[1], c->lambda = (clv_array *)obj->data[2];
    memset(obj, 0, sizeof *obj);
    obj->evaluate = logistic_gemm;
    obj->user = c;
    obj->scratch_elems = N_SAMPLES;
    return CLV_OK;
#else
    (void)m, (void)obj, (void)ctx;
    printf("--variant gemm needs CLBlast (build with LBFGS_BENCH_CLBLAST)\n");
    return CLV_ERROR_INVALID_ARGUMENT;
#endif
}

/* ---- clvmap ------------------------------------------------------------------ */

static int run_clvmap(const bench *b, outcome *o)
{
    clv_mesh *m = NULL;
    if (clv_mesh_open(&m, NULL) != CLV_OK) {
        printf("mesh: %s\n", clv_mesh_message(m));
        return 1;
    }
    clv_array *Xa = NULL, *ya = NULL, *la = NULL, *na = NULL;
    int32_t ns = N_SAMPLES;
    int rosen = strcmp(b->problem, "rosenbrock") == 0;
    clv_lbfgs_objective obj;
    memset(&obj, 0, sizeof obj);
    int plain = strcmp(b->variant, "plain") == 0, coop = strcmp(b->variant, "coop") == 0;
    obj.source = rosen ? rosenbrock_cl : coop ? logistic_coop_cl : plain ? logistic_plain_cl : logistic_cl;
    if (rosen && (plain || coop)) {
        printf("--variant %s is for --problem logistic\n", b->variant);
        return 1;
    }
    obj.cooperative = coop;
    if (coop) obj.tmp_elems = (size_t)N_FEATURES + 1;
    if (!rosen) {
        clv_array_new(&Xa, m, CLV_F64, N_SAMPLES, N_FEATURES, CLV_REPLICATED);
        clv_array_write(Xa, b->X);
        clv_array_new(&ya, m, CLV_F64, N_SAMPLES, 1, CLV_REPLICATED);
        clv_array_write(ya, b->y);
        clv_array_new(&la, m, CLV_F64, (size_t)b->items, 1, CLV_REPLICATED);
        clv_array_write(la, b->lambda);
        clv_array_new(&na, m, CLV_I32, 1, 1, CLV_REPLICATED);
        clv_array_write(na, &ns);
        obj.data[0] = Xa, obj.data[1] = ya, obj.data[2] = la, obj.idata[0] = na;
    }
#ifdef LBFGS_BENCH_CLBLAST
    gemm_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
#else
    int ctx = 0;
#endif
    if (rosen && strcmp(b->variant, "gemm") == 0) {
        printf("--variant gemm is for --problem logistic\n");
        return 1;
    }
    if (clvmap_objective(b, m, &obj, &ctx) != CLV_OK) {
        printf("gemm objective: %s\n", clv_mesh_message(m));
        return 1;
    }
    clv_lbfgs_parameter p;
    memset(&p, 0, sizeof p);
    p.linesearch = strcmp(b->linesearch, "backtracking") == 0 ? CLV_LBFGS_LINESEARCH_BACKTRACKING
                                                                : CLV_LBFGS_LINESEARCH_STRONG_WOLFE;
    p.max_iterations = 10000;
    p.no_compaction = b->no_compaction;
    p.iterations_per_launch = b->per_launch;
    p.local_size = b->local_size;
    clv_lbfgs *s = NULL;
    double t0 = now();
    clv_status st = clv_lbfgs_new(&s, m, (size_t)b->n, &obj, &p);
    clv_lbfgs_items out;
    memset(&out, 0, sizeof out);
    out.fx = o->fx, out.iterations = o->iters, out.evaluations = o->evals, out.reason = o->reason;
    memcpy(o->x, b->x0, (size_t)b->items * b->n * sizeof *o->x);
    if (st == CLV_OK) st = clv_lbfgs_minimize(s, (size_t)b->items, o->x, &out, NULL, NULL); /* warm-up */
    o->build_seconds = now() - t0;
    memcpy(o->x, b->x0, (size_t)b->items * b->n * sizeof *o->x);
    clv_mesh_reset_stats(m); /* kernel_ns of the timed solve only */
    double c0 = cpu_now();
    t0 = now();
    if (st == CLV_OK) st = clv_lbfgs_minimize(s, (size_t)b->items, o->x, &out, NULL, NULL);
    o->seconds = now() - t0;
    o->cpu_seconds = cpu_now() - c0;
    if (st != CLV_OK) printf("clvmap: %s\n", clv_lbfgs_message(s));
    ((bench *)b)->lanes = (int)clv_lbfgs_local_size(s);
    clv_lbfgs_stats stats = clv_lbfgs_get_stats(s);
    uint64_t kernel_ns = 0;
    for (int d = 0; d < clv_mesh_device_count(m); ++d) {
        clv_device_stats ds;
        if (clv_mesh_stats(m, d, &ds) == CLV_OK) kernel_ns += ds.kernel_ns;
    }
    /* kernel time (profiling events, summed over devices) against the wall
     * time: the rest is launches, transfers and the host's bookkeeping */
    printf("# clvmap: %llu rounds, %llu compactions, devices %d, kernel time %.4f s of %.4f s\n",
           (unsigned long long)stats.rounds, (unsigned long long)stats.compactions, clv_mesh_device_count(m),
           1e-9 * (double)kernel_ns, o->seconds);
    clv_lbfgs_free(s);
#ifdef LBFGS_BENCH_CLBLAST
    clv_program_free(ctx.program);
#endif
    clv_array_free(Xa), clv_array_free(ya), clv_array_free(la), clv_array_free(na);
    clv_mesh_close(m);
    return st != CLV_OK;
}

/* ---- liblbfgs ------------------------------------------------------------------ */

typedef struct host_item {
    const bench *b;
    int item, iters, evals;
} host_item;

static lbfgsfloatval_t host_eval(void *inst, const lbfgsfloatval_t *x, lbfgsfloatval_t *g, const int n,
                                 const lbfgsfloatval_t step)
{
    host_item *h = (host_item *)inst;
    (void)step;
    h->evals++;
    if (strcmp(h->b->problem, "rosenbrock") == 0) return rosenbrock_host(x, g, n);
    return logistic_host(h->b->X, h->b->y, N_SAMPLES, h->b->lambda[h->item], x, g, n);
}

static int host_progress(void *inst, const lbfgsfloatval_t *x, const lbfgsfloatval_t *g, const lbfgsfloatval_t fx,
                         const lbfgsfloatval_t xnorm, const lbfgsfloatval_t gnorm, const lbfgsfloatval_t step, int n,
                         int k, int ls)
{
    (void)x, (void)g, (void)fx, (void)xnorm, (void)gnorm, (void)step, (void)n, (void)ls;
    ((host_item *)inst)->iters = k;
    return 0;
}

static int run_liblbfgs(const bench *b, outcome *o)
{
    lbfgs_parameter_t p;
    lbfgs_parameter_init(&p);
    p.m = 10;
    p.max_iterations = 10000;
    /* backtracking: liblbfgs's default backtracking (= _WOLFE), the algorithm
     * clvmap's backtracking follows; zoom: More-Thuente, liblbfgs's default */
    p.linesearch = strcmp(b->linesearch, "backtracking") == 0 ? LBFGS_LINESEARCH_BACKTRACKING
                                                                : LBFGS_LINESEARCH_MORETHUENTE;
    lbfgsfloatval_t *x = lbfgs_malloc(b->n);
    double c0 = cpu_now(), t0 = now();
    for (int i = 0; i < b->items; ++i) {
        host_item h = { b, i, 0, 0 };
        memcpy(x, b->x0 + (size_t)i * b->n, (size_t)b->n * sizeof *x);
        lbfgsfloatval_t fx = 0;
        int ret = lbfgs(b->n, x, &fx, host_eval, host_progress, &h, &p);
        memcpy(o->x + (size_t)i * b->n, x, (size_t)b->n * sizeof *x);
        o->fx[i] = fx, o->iters[i] = h.iters, o->evals[i] = h.evals;
        o->reason[i] = ret == 0 ? 0 : ret == LBFGSERR_MAXIMUMITERATION ? -2 : -3;
    }
    o->seconds = now() - t0;
    o->cpu_seconds = cpu_now() - c0;
    lbfgs_free(x);
    return 0;
}

/* ---- main ------------------------------------------------------------------------ */

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static void print_line(const bench *b, outcome *o)
{
    double fsum = 0, mean_it = 0, mean_ev = 0;
    int converged = 0;
    for (int i = 0; i < b->items; ++i) {
        fsum += o->fx[i];
        mean_it += o->iters[i];
        mean_ev += o->evals[i];
        converged += o->reason[i] >= 0;
    }
    qsort(o->iters, (size_t)b->items, sizeof *o->iters, cmp_int);
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    printf("lbfgs tool=%s problem=%s linesearch=%s variant=%s items=%d n=%d samples=%d lanes=%d seconds=%.6f "
           "cpu_seconds=%.4f build_s=%.3f iters_median=%d iters_mean=%.2f evals_mean=%.2f converged=%d fsum=%.10e "
           "rss_kb=%ld\n",
           b->tool, b->problem, b->linesearch, b->variant, b->items, b->n, N_SAMPLES, b->lanes, o->seconds,
           o->cpu_seconds, o->build_seconds, o->iters[b->items / 2], mean_it / b->items, mean_ev / b->items,
           converged, fsum, u.ru_maxrss);
}

static void dump(bench *b, const char *dir)
{
    const char *problems[2] = { "rosenbrock", "logistic" };
    for (int k = 0; k < 2; ++k) {
        int sized = N_SAMPLES != 256 || N_FEATURES != 16; /* only the logistic problem has these sizes */
        if (sized && k == 0) continue;
        rng = 20261121ULL;
        b->problem = problems[k];
        make_problems(b);
        char path[4096];
        if (sized)
            snprintf(path, sizeof path, "%s/lbfgs_logistic_%d_%dx%d.bin", dir, b->items, N_SAMPLES, N_FEATURES);
        else
            snprintf(path, sizeof path, "%s/lbfgs_%s_%d.bin", dir, problems[k], b->items);
        FILE *f = fopen(path, "wb");
        if (!f) {
            printf("cannot write %s\n", path);
            exit(1);
        }
        /* header: items, n, samples, features; then x0, X, y, lambda */
        int32_t head[4] = { b->items, b->n, N_SAMPLES, N_FEATURES };
        fwrite(head, sizeof head, 1, f);
        fwrite(b->x0, sizeof *b->x0, (size_t)b->items * b->n, f);
        fwrite(b->X, sizeof *b->X, (size_t)N_SAMPLES * N_FEATURES, f);
        fwrite(b->y, sizeof *b->y, N_SAMPLES, f);
        fwrite(b->lambda, sizeof *b->lambda, (size_t)b->items, f);
        fclose(f);
        printf("wrote %s\n", path);
        free(b->x0), free(b->X), free(b->y), free(b->lambda);
    }
}

int main(int argc, char **argv)
{
    bench b;
    memset(&b, 0, sizeof b);
    b.tool = "clvmap", b.problem = "rosenbrock", b.linesearch = "zoom", b.items = 1024, b.variant = "default";
    const char *dump_dir = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--tool")) b.tool = argv[i + 1];
        else if (!strcmp(argv[i], "--problem")) b.problem = argv[i + 1];
        else if (!strcmp(argv[i], "--linesearch")) b.linesearch = argv[i + 1];
        else if (!strcmp(argv[i], "--items")) b.items = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--variant")) b.variant = argv[i + 1];
        else if (!strcmp(argv[i], "--dump")) dump_dir = argv[i + 1];
        else if (!strcmp(argv[i], "--no-compaction")) b.no_compaction = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--per-launch")) b.per_launch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--samples")) N_SAMPLES = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--features")) N_FEATURES = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--local-size")) b.local_size = (size_t)atol(argv[i + 1]);
        else {
            printf("unknown option %s (see the top of tests/bench/lbfgs_bench.c)\n", argv[i]);
            return 2;
        }
    }
    if (b.items < 1 || N_SAMPLES < 1 || N_FEATURES < 2) return 2;
    if (dump_dir) {
        dump(&b, dump_dir);
        return 0;
    }
    make_problems(&b);
    outcome o;
    memset(&o, 0, sizeof o);
    o.x = (double *)malloc((size_t)b.items * b.n * sizeof *o.x);
    o.fx = (double *)malloc((size_t)b.items * sizeof *o.fx);
    o.iters = (int *)malloc((size_t)b.items * sizeof *o.iters);
    o.evals = (int *)malloc((size_t)b.items * sizeof *o.evals);
    o.reason = (int *)malloc((size_t)b.items * sizeof *o.reason);
    int rc = strcmp(b.tool, "liblbfgs") == 0 ? run_liblbfgs(&b, &o) : run_clvmap(&b, &o);
    if (rc == 0) print_line(&b, &o);
    free(o.x), free(o.fx), free(o.iters), free(o.evals), free(o.reason);
    free(b.x0), free(b.X), free(b.y), free(b.lambda);
    return rc;
}
