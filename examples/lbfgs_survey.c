/* lbfgs_survey.c — a hyperparameter survey of a synthetic interferometric
 * image, every reconstruction of the grid solved at once by the batched
 * L-BFGS of clvmap_lbfgs.h, the forward model applied to the whole batch
 * with CLBlast.
 *
 * The problem (a toy of eht-imaging's parameter surveys, see eht-imaging's
 * pull request #304, "Modular JAX optimizers + multi-GPU sharding",
 * github.com/achael/eht-imaging):
 *   sky      x_true: a side x side image (default 32 x 32 = 1024 pixels) of
 *            three Gaussian blobs, total flux 1;
 *   data     n_vis complex visibilities at random (u, v) points, as 2 n_vis
 *            real rows of A: cos and -sin of 2 pi (u l + v m); y = A x_true +
 *            Gaussian noise of sigma (SNR ~ 20 on the brightest baselines);
 *   objective per item (lambda, theta):
 *            chi2(x) / 2 + lambda (|x - p_theta|^2 / 2 + |D x|^2 / 2)
 *            chi2 = |A x - y|^2 / sigma^2, p_theta: a Gaussian prior image of
 *            FWHM theta pixels and flux 1, D: finite differences (smoothness);
 *   grid     lambda (log-spaced, 1e2 .. 1e7) x theta (0.15 .. 0.6 of the
 *            image): default 16 x 12 = 192 items.
 * Per evaluation round, for the whole working batch on every device:
 *   R = X A^T (CLBlast GEMM), R -= y and chi2 (a clvmap kernel),
 *   G = R A / sigma^2 (GEMM), G += lambda grad(regulariser) (a kernel).
 * Output: the grid ranked by reduced chi2, the error of each image against
 * the truth, and PNG pictures in --out DIR (survey_plots.h): a contact sheet
 * of the whole grid (rows: lambda, columns: theta, each image labelled with
 * its reduced chi2) and the truth, dirty image, the image whose reduced chi2
 * is nearest 1 and the image closest to the truth side by side (PNG needs libpng: CLV_EXAMPLES_PNG).
 *
 *   lbfgs_survey [--side 32] [--vis 300] [--lambdas 16] [--widths 12]
 *                [--linesearch zoom|backtracking] [--chunk K] [--out DIR]
 *                [--small] [--devices SPEC] [--help]
 * Stopping: |g| <= 1e-4 max(1, |x|), or f down by less than 1e-8 (relative)
 * over 10 iterations (liblbfgs's delta test), or 3000 iterations.
 *   POCL_DEVICES="pthread pthread pthread" lbfgs_survey --devices 0,1,2
 * Needs CLBlast (libclblast-dev). */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#define CLV_LBFGS_CLBLAST
#include "clvmap_lbfgs.h"
#include "survey_plots.h" /* the PNG pictures */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const double PI = 3.14159265358979323846;

typedef struct options {
    int side, n_vis, n_lambda, n_width;
    long chunk;
    clv_lbfgs_linesearch linesearch;
    const char *out;
    const char *devices; /* clv_mesh_desc.devices (NULL: $CLV_DEVICES, else the default) */
} options;

/* The problem on the host and on the devices. */
typedef struct survey {
    options o;
    int npix, rows;            /* pixels, real rows of A (2 n_vis) */
    size_t n_items;
    double sigma;
    double *A, *y, *truth, *lambda, *theta, *prior;
    clv_mesh *mesh;
    clv_array *A_dev, *y_dev, *lambda_dev, *prior_dev;
    clv_program *program;      /* the residual and regulariser kernels */
} survey;

/* ---- the device kernels around the GEMMs ---------------------------------- */

static const char *kernels_cl =
    "/* r = X A^T - y (in place), f = chi2 / 2 */\n"
    "__kernel void residual(CLV_ITEMS, __global double *r, __global const double *y,\n"
    "                       __global double *f, const int rows, const double inv_var) {\n"
    "    CLV_GUARD();\n"
    "    __global double *ri = r + clv_local() * rows;\n"
    "    double chi2 = 0;\n"
    "    for (int k = 0; k < rows; ++k) {\n"
    "        ri[k] -= y[k];\n"
    "        chi2 += ri[k] * ri[k];\n"
    "    }\n"
    "    f[clv_local()] = 0.5 * chi2 * inv_var;\n"
    "}\n"
    "/* g += lambda (x - p_theta + D'D x), f += lambda (|x - p|^2 + |D x|^2) / 2 */\n"
    "__kernel void regularise(CLV_ITEMS, __global const double *x, __global double *g,\n"
    "                         __global double *f, __global const int *item,\n"
    "                         __global const double *lambda, __global const double *prior,\n"
    "                         const int side) {\n"
    "    CLV_GUARD();\n"
    "    const int npix = side * side, id = item[clv_local()];\n"
    "    __global const double *xi = x + clv_local() * npix, *p = prior + id * npix;\n"
    "    __global double *gi = g + clv_local() * npix;\n"
    "    const double lam = lambda[id];\n"
    "    double r = 0;\n"
    "    for (int j = 0; j < side; ++j)\n"
    "        for (int i = 0; i < side; ++i) {\n"
    "            const int q = j * side + i;\n"
    "            const double d = xi[q] - p[q];\n"
    "            double grad = d;\n"
    "            r += d * d;\n"
    "            if (i + 1 < side) { const double t = xi[q + 1] - xi[q]; r += t * t; grad -= t; }\n"
    "            if (i > 0) grad += xi[q] - xi[q - 1];\n"
    "            if (j + 1 < side) { const double t = xi[q + side] - xi[q]; r += t * t; grad -= t; }\n"
    "            if (j > 0) grad += xi[q] - xi[q - side];\n"
    "            gi[q] += lam * grad;\n"
    "        }\n"
    "    f[clv_local()] += 0.5 * lam * r;\n"
    "}\n";

/* One evaluation round: the callback of clv_lbfgs (see the top). */
static clv_status evaluate(void *user, const clv_lbfgs_batch *b)
{
    survey *s = (survey *)user;
    const double inv_var = 1.0 / (s->sigma * s->sigma);
    clv_arg args[7];
    clv_status st = clv_lbfgs_gemm(b, s->A_dev, (size_t)s->rows, (size_t)s->npix, 1, 1.0, b->x, 0.0, b->scratch);
    if (st != CLV_OK) return st;
    args[0] = clv_inout(b->scratch);
    args[1] = clv_in(s->y_dev);
    args[2] = clv_out(b->f);
    args[3] = clv_int(s->rows);
    args[4] = clv_double(inv_var);
    st = clv_map(s->program, "residual", b->n_items, NULL, args, 5);
    if (st == CLV_OK)
        st = clv_lbfgs_gemm(b, s->A_dev, (size_t)s->rows, (size_t)s->npix, 0, inv_var, b->scratch, 0.0, b->g);
    if (st != CLV_OK) {
        if (!b->message[0]) snprintf(b->message, b->message_size, "%s", clv_mesh_message(b->mesh));
        return st;
    }
    args[0] = clv_in(b->x);
    args[1] = clv_inout(b->g);
    args[2] = clv_inout(b->f);
    args[3] = clv_in(b->item);
    args[4] = clv_in(s->lambda_dev);
    args[5] = clv_in(s->prior_dev);
    args[6] = clv_int(s->o.side);
    st = clv_map(s->program, "regularise", b->n_items, NULL, args, 7);
    if (st != CLV_OK) snprintf(b->message, b->message_size, "%s", clv_mesh_message(b->mesh));
    return st;
}

/* ---- the synthetic problem ----------------------------------------------------- */

static unsigned long long rng_state = 20261121ULL;
static double uniform(void)
{
    unsigned long long z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return ((double)((z ^ (z >> 31)) >> 11) + 0.5) * 0x1.0p-53;
}
static double normal(void) { return sqrt(-2 * log(uniform())) * cos(2 * PI * uniform()); }

/* A Gaussian of FWHM fwhm pixels at (cx, cy), added with total flux. */
static void add_gaussian(double *img, int side, double cx, double cy, double fwhm, double flux)
{
    double s2 = fwhm * fwhm / (8 * log(2.0)), total = 0;
    double *g = (double *)malloc((size_t)side * side * sizeof *g);
    for (int j = 0; j < side; ++j)
        for (int i = 0; i < side; ++i) {
            g[j * side + i] = exp(-((i - cx) * (i - cx) + (j - cy) * (j - cy)) / (2 * s2));
            total += g[j * side + i];
        }
    for (int q = 0; q < side * side; ++q) img[q] += flux * g[q] / total;
    free(g);
}

static void make_problem(survey *s)
{
    const options *o = &s->o;
    int side = o->side;
    s->npix = side * side;
    s->rows = 2 * o->n_vis;
    s->n_items = (size_t)o->n_lambda * o->n_width;
    s->A = (double *)malloc((size_t)s->rows * s->npix * sizeof *s->A);
    s->y = (double *)malloc((size_t)s->rows * sizeof *s->y);
    s->truth = (double *)calloc((size_t)s->npix, sizeof *s->truth);
    s->lambda = (double *)malloc(s->n_items * sizeof *s->lambda);
    s->theta = (double *)malloc(s->n_items * sizeof *s->theta);
    s->prior = (double *)calloc(s->n_items * s->npix, sizeof *s->prior);
    add_gaussian(s->truth, side, 0.40 * side, 0.45 * side, 0.22 * side, 0.55);
    add_gaussian(s->truth, side, 0.62 * side, 0.60 * side, 0.12 * side, 0.30);
    add_gaussian(s->truth, side, 0.55 * side, 0.30 * side, 0.08 * side, 0.15);
    /* (u, v) in cycles per image, up to side/3: the longest baselines
     * resolve the smallest blob */
    for (int k = 0; k < o->n_vis; ++k) {
        double r = side / 3.0 * sqrt(uniform()), phi = 2 * PI * uniform();
        double u = r * cos(phi), v = r * sin(phi);
        for (int j = 0; j < side; ++j)
            for (int i = 0; i < side; ++i) {
                double ph = 2 * PI * (u * i + v * j) / side;
                s->A[(size_t)(2 * k) * s->npix + j * side + i] = cos(ph);
                s->A[(size_t)(2 * k + 1) * s->npix + j * side + i] = -sin(ph);
            }
    }
    s->sigma = 0.05; /* the zero baseline carries flux 1: SNR 20 */
    for (int k = 0; k < s->rows; ++k) {
        double v = 0;
        for (int q = 0; q < s->npix; ++q) v += s->A[(size_t)k * s->npix + q] * s->truth[q];
        s->y[k] = v + s->sigma * normal();
    }
    for (int a = 0; a < o->n_lambda; ++a)
        for (int b = 0; b < o->n_width; ++b) {
            size_t it = (size_t)a * o->n_width + b;
            s->lambda[it] = pow(10.0, 2.0 + 5.0 * a / (o->n_lambda > 1 ? o->n_lambda - 1 : 1));
            s->theta[it] = side * (0.15 + 0.45 * b / (o->n_width > 1 ? o->n_width - 1 : 1));
            add_gaussian(s->prior + it * s->npix, side, 0.5 * side, 0.5 * side, s->theta[it], 1.0);
        }
}

static clv_status upload(survey *s)
{
    clv_program_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.source = kernels_cl;
    pd.name = "lbfgs_survey.cl";
    pd.real = CLV_F64;
    clv_status st = clv_program_build(&s->program, s->mesh, &pd);
    if (st == CLV_OK) st = clv_array_new(&s->A_dev, s->mesh, CLV_F64, 1, (size_t)s->rows * s->npix, CLV_REPLICATED);
    if (st == CLV_OK) st = clv_array_write(s->A_dev, s->A);
    if (st == CLV_OK) st = clv_array_new(&s->y_dev, s->mesh, CLV_F64, 1, (size_t)s->rows, CLV_REPLICATED);
    if (st == CLV_OK) st = clv_array_write(s->y_dev, s->y);
    if (st == CLV_OK) st = clv_array_new(&s->lambda_dev, s->mesh, CLV_F64, s->n_items, 1, CLV_REPLICATED);
    if (st == CLV_OK) st = clv_array_write(s->lambda_dev, s->lambda);
    if (st == CLV_OK) st = clv_array_new(&s->prior_dev, s->mesh, CLV_F64, s->n_items, (size_t)s->npix, CLV_REPLICATED);
    if (st == CLV_OK) st = clv_array_write(s->prior_dev, s->prior);
    return st;
}

/* ---- output ----------------------------------------------------------------- */

typedef struct ranked {
    size_t item;
    double chi2, error;
} ranked;

static int by_chi2(const void *a, const void *b)
{
    const ranked *p = (const ranked *)a, *q = (const ranked *)b;
    if (p->chi2 != q->chi2) return p->chi2 < q->chi2 ? -1 : 1;
    return p->item < q->item ? -1 : p->item > q->item;
}

static double chi2_of(const survey *s, const double *x)
{
    double c = 0;
    for (int k = 0; k < s->rows; ++k) {
        double v = -s->y[k];
        for (int q = 0; q < s->npix; ++q) v += s->A[(size_t)k * s->npix + q] * x[q];
        c += v * v;
    }
    return c / (s->sigma * s->sigma);
}

static double error_of(const survey *s, const double *x)
{
    double e = 0, t = 0;
    for (int q = 0; q < s->npix; ++q) {
        e += (x[q] - s->truth[q]) * (x[q] - s->truth[q]);
        t += s->truth[q] * s->truth[q];
    }
    return sqrt(e / t);
}

static void report(const survey *s, const double *x, const int *reason, const int *iters)
{
    ranked *r = (ranked *)malloc(s->n_items * sizeof *r);
    size_t closest = 0;
    int converged = 0;
    for (size_t i = 0; i < s->n_items; ++i) {
        r[i].item = i;
        r[i].chi2 = chi2_of(s, x + i * s->npix) / s->rows;
        r[i].error = error_of(s, x + i * s->npix);
        if (r[i].error < r[closest].error) closest = i;
        converged += reason[i] >= 0;
    }
    qsort(r, s->n_items, sizeof *r, by_chi2);
    printf("\n%d of %zu items converged. The grid ranked by reduced chi2 (chi2 / %d):\n", converged, s->n_items,
           s->rows);
    printf("%5s %5s %10s %8s %10s %10s %6s  %s\n", "rank", "item", "lambda", "theta", "chi2_red", "|x-x*|/|x*|",
           "iters", "reason");
    for (size_t k = 0; k < s->n_items; ++k) {
        if (s->n_items > 40 && k >= 15 && k + 5 < s->n_items) {
            if (k == 15) printf("%5s\n", "...");
            continue;
        }
        size_t i = r[k].item;
        printf("%5zu %5zu %10.4g %8.2f %10.4f %10.4f %6d  %s\n", k + 1, i, s->lambda[i], s->theta[i], r[k].chi2,
               r[k].error, iters[i], reason[i] >= 0 ? "ok" : clv_lbfgs_reason_string(reason[i]));
    }
    /* an imager's pick: the fits whose reduced chi2 is nearest 1 */
    size_t near = 0;
    for (size_t k = 1; k < s->n_items; ++k)
        if (fabs(r[k].chi2 - 1) < fabs(r[near].chi2 - 1)) near = k;
    printf("nearest chi2_red = 1:\n");
    for (size_t k = near > 2 ? near - 2 : 0; k < s->n_items && k <= near + 2; ++k) {
        size_t i = r[k].item;
        printf("%5zu %5zu %10.4g %8.2f %10.4f %10.4f %6d  %s\n", k + 1, i, s->lambda[i], s->theta[i], r[k].chi2,
               r[k].error, iters[i], reason[i] >= 0 ? "ok" : clv_lbfgs_reason_string(reason[i]));
    }
    printf("closest to the truth: item %zu (lambda %.4g, theta %.2f px): error %.4f, chi2_red %.4f\n", closest,
           s->lambda[closest], s->theta[closest], error_of(s, x + closest * s->npix),
           chi2_of(s, x + closest * s->npix) / s->rows);
    if (s->o.out) {
        double *dirty = (double *)calloc((size_t)s->npix, sizeof *dirty);
        double *chi2 = (double *)malloc(s->n_items * sizeof *chi2);
        for (int k = 0; k < s->rows; ++k)
            for (int q = 0; q < s->npix; ++q) dirty[q] += s->A[(size_t)k * s->npix + q] * s->y[k] / s->rows;
        for (size_t k = 0; k < s->n_items; ++k) chi2[r[k].item] = r[k].chi2;
        survey_pictures p;
        p.side = s->o.side, p.n_lambda = s->o.n_lambda, p.n_width = s->o.n_width;
        p.lambda = s->lambda, p.theta = s->theta, p.images = x, p.chi2_red = chi2;
        p.truth = s->truth, p.dirty = dirty, p.nearest_one = r[near].item, p.closest = closest;
        survey_pictures_write(&p, s->o.out);
        free(dirty);
        free(chi2);
    }
    free(r);
}

/* ---- main ---------------------------------------------------------------------- */

static int parse(int argc, char **argv, options *o)
{
    o->side = 32, o->n_vis = 300, o->n_lambda = 16, o->n_width = 12, o->chunk = 0;
    o->linesearch = CLV_LBFGS_LINESEARCH_STRONG_WOLFE;
    o->out = ".";
    o->devices = NULL;
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--small")) o->side = 12, o->n_vis = 60, o->n_lambda = 4, o->n_width = 3;
        else if (!strcmp(a, "--side") && v) o->side = atoi(v), ++i;
        else if (!strcmp(a, "--vis") && v) o->n_vis = atoi(v), ++i;
        else if (!strcmp(a, "--lambdas") && v) o->n_lambda = atoi(v), ++i;
        else if (!strcmp(a, "--widths") && v) o->n_width = atoi(v), ++i;
        else if (!strcmp(a, "--chunk") && v) o->chunk = atol(v), ++i;
        else if ((!strcmp(a, "--out") || !strcmp(a, "--png")) && v) o->out = v, ++i;
        else if (!strcmp(a, "--devices") && v) o->devices = v, ++i;
        else if (!strcmp(a, "--linesearch") && v) {
            o->linesearch = !strcmp(v, "backtracking") ? CLV_LBFGS_LINESEARCH_BACKTRACKING
                                                       : CLV_LBFGS_LINESEARCH_STRONG_WOLFE;
            ++i;
        } else {
            int help = !strcmp(a, "--help") || !strcmp(a, "-h");
            static const char *const valued[] = { "--side", "--vis", "--lambdas", "--widths", "--chunk", "--out",
                                                  "--png", "--devices", "--linesearch" };
            int known = 0;
            for (size_t k = 0; k < sizeof valued / sizeof valued[0]; ++k) known |= !strcmp(a, valued[k]);
            if (!help) fprintf(stderr, known ? "lbfgs_survey: %s needs a value\n" : "lbfgs_survey: unknown option %s\n", a);
            fprintf(help ? stdout : stderr,
                    "usage: %s [--side 32] [--vis 300] [--lambdas 16] [--widths 12] [--linesearch zoom|backtracking]\n"
                    "          [--chunk K] [--out DIR] [--small] [--devices SPEC] [--help]\n"
                    "  --out DIR       (or --png DIR) the pictures: DIR/survey_contact_sheet.png, DIR/survey_images.png\n"
                    "                  (default .)%s\n"
                    "  --devices SPEC  as CLV_DEVICES: all, gpu, cpu, 0,1, portable:0, ... (default: $CLV_DEVICES,\n"
                    "                  else every GPU, else the CPUs; clvmap-info lists them)\n", argv[0],
                    PLOT_PNG_AVAILABLE ? "" : "; not in this build: PNG needs libpng, not found");
            return help ? 1 : 2;
        }
    }
    const char *small = getenv("CLV_TEST_SMALL"); /* oclgrind runs: tiny */
    if (small && *small && strcmp(small, "0")) o->side = 6, o->n_vis = 12, o->n_lambda = 2, o->n_width = 2;
    if (o->side < 2 || o->n_vis < 1 || o->n_lambda < 1 || o->n_width < 1 || o->chunk < 0) {
        printf("sizes must be positive\n");
        return 2;
    }
    return 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int on_progress(void *user, const clv_lbfgs_progress *p)
{
    (void)user;
    if (p->round % 50 == 0)
        printf("  round %4d: %zu running, %zu in the launches, best f %.6g\n", p->round, p->running, p->working,
               p->best_value);
    return 0;
}

int main(int argc, char **argv)
{
    survey s;
    memset(&s, 0, sizeof s);
    int bad = parse(argc, argv, &s.o);
    if (bad) return bad == 1 ? 0 : 2;
    make_problem(&s);
    clv_mesh_desc desc = {0};
    desc.devices = s.o.devices; /* NULL: $CLV_DEVICES, else the default */
    clv_status st = clv_mesh_open(&s.mesh, &desc);
    if (st == CLV_OK) st = upload(&s);
    if (st != CLV_OK) { /* --devices naming no device lands here too */
        fprintf(stderr, "lbfgs_survey: %s\n", clv_mesh_message(s.mesh));
        clv_array_free(s.A_dev), clv_array_free(s.y_dev), clv_array_free(s.lambda_dev), clv_array_free(s.prior_dev);
        clv_program_free(s.program);
        clv_mesh_close(s.mesh);
        free(s.A), free(s.y), free(s.truth), free(s.lambda), free(s.theta), free(s.prior);
        return 1;
    }
    printf("survey: %dx%d image, %d visibilities (%d real rows), %d lambdas x %d prior widths = %zu items, "
           "%d device(s), %s\n", s.o.side, s.o.side, s.o.n_vis, s.rows, s.o.n_lambda, s.o.n_width, s.n_items,
           clv_mesh_device_count(s.mesh),
           s.o.linesearch == CLV_LBFGS_LINESEARCH_BACKTRACKING ? "backtracking" : "strong Wolfe");
    clv_lbfgs_objective obj;
    memset(&obj, 0, sizeof obj);
    obj.evaluate = evaluate;
    obj.user = &s;
    obj.scratch_elems = (size_t)s.rows; /* the residuals */
    clv_lbfgs_parameter param;
    memset(&param, 0, sizeof param);
    param.linesearch = s.o.linesearch;
    param.chunk = s.o.chunk;
    param.max_iterations = 3000;
    param.epsilon = 1e-4;
    param.past = 10;     /* stop when f fell by less than 1e-8 of itself */
    param.delta = 1e-8;  /* over 10 iterations: rounding level here */
    clv_lbfgs *solver = NULL;
    double *x = (double *)calloc(s.n_items * s.npix, sizeof *x), *fx = (double *)malloc(s.n_items * sizeof *fx);
    int *reason = (int *)malloc(s.n_items * sizeof *reason), *iters = (int *)malloc(s.n_items * sizeof *iters);
    for (size_t i = 0; i < s.n_items; ++i) /* start from the prior */
        memcpy(x + i * s.npix, s.prior + i * s.npix, (size_t)s.npix * sizeof *x);
    st = clv_lbfgs_new(&solver, s.mesh, (size_t)s.npix, &obj, &param);
    clv_lbfgs_items out;
    memset(&out, 0, sizeof out);
    out.fx = fx;
    out.reason = reason;
    out.iterations = iters;
    double t0 = now();
    if (st == CLV_OK) st = clv_lbfgs_minimize(solver, s.n_items, x, &out, on_progress, NULL);
    double seconds = now() - t0;
    if (st != CLV_OK) {
        printf("failed: %s\n", clv_lbfgs_message(solver));
    } else {
        clv_lbfgs_stats stats = clv_lbfgs_get_stats(solver);
        unsigned long long hash = 1469598103934665603ULL; /* FNV-1a of the results' bits */
        for (size_t i = 0; i < s.n_items * s.npix * sizeof *x; ++i)
            hash = (hash ^ ((const unsigned char *)x)[i]) * 1099511628211ULL;
        printf("solved in %.2f s: %llu rounds, %llu evaluations, %llu compactions, %.1f%% of the rows of an "
               "uncompacted run; results hash %016llx\n", seconds, (unsigned long long)stats.rounds,
               (unsigned long long)stats.evaluations, (unsigned long long)stats.compactions,
               100.0 * (double)stats.item_rounds / ((double)stats.rounds * (double)s.n_items),
               hash);
        report(&s, x, reason, iters);
    }
    clv_lbfgs_free(solver);
    clv_array_free(s.A_dev), clv_array_free(s.y_dev), clv_array_free(s.lambda_dev), clv_array_free(s.prior_dev);
    clv_program_free(s.program);
    clv_mesh_close(s.mesh);
    free(s.A), free(s.y), free(s.truth), free(s.lambda), free(s.theta), free(s.prior);
    free(x), free(fx), free(reason), free(iters);
    return st != CLV_OK;
}
