/* lbfgs_objective.c — where the time of the logistic benchmark goes: one
 * evaluation of the logistic objective (f and gradient) for every item of a
 * batch, as a plain clv_map, in the forms that were tried. Not a test.
 *
 *   lbfgs_objective [--items 1024] [--samples 256] [--features 16] [--reps 20]
 *
 * Forms (the data of tests/bench/lbfgs_bench.c's logistic problem in shape):
 *   scalar     one work item per item, a loop over the samples with scalar
 *              exp/log1p (the objective before clv_real4)
 *   no_exp     the same with exp/log1p replaced by a division: what the
 *              transcendentals cost
 *   group16/64 one work group per item (CLV_ITEM_PER_GROUP), samples strided
 *              over the group, partial sums reduced in a fixed order in
 *              local memory (bitwise the same whatever the split)
 *   vec2/4/8   one work item per item, VW samples at a time, exp/log1p on
 *              clv_realVW (the form of logistic_cl in tests/lbfgs/objectives.h
 *              is vec4)
 * Prints the wall time of one map (median of reps) and the largest relative
 * difference of f from the scalar form. In the source below: group sums its
 * partial sums over the group in a fixed order (column c: g[c], or f at
 * c = N); vec's COLUMN(x, j) is feature j of samples k .. k + VW - 1 as one
 * vector, as logistic_cl builds it; samples must be a multiple of 8. */
#define _POSIX_C_SOURCE 199309L
#include "clvmap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *source =
    "__kernel void scalar(CLV_ITEMS, __global const double *w_, __global double *g_, __global double *f_,\n"
    "                     __global const double *X, __global const double *y, __global const double *lam,\n"
    "                     const int ns) {\n"
    "    CLV_GUARD();\n"
    "    __global const double *w = w_ + clv_local() * N;\n"
    "    __global double *g = g_ + clv_local() * N;\n"
    "    const double lambda = lam[clv_item()];\n"
    "    double f = 0;\n"
    "    for (int j = 0; j < N; ++j) { g[j] = lambda * w[j]; f += lambda * w[j] * w[j] / 2; }\n"
    "    for (int k = 0; k < ns; ++k) {\n"
    "        __global const double *xk = X + k * N;\n"
    "        double z = 0;\n"
    "        for (int j = 0; j < N; ++j) z += xk[j] * w[j];\n"
    "#ifdef NO_EXP\n"
    "        const double e = 1 / (1 + fabs(z)), l = e;\n"
    "#else\n"
    "        const double e = exp(-fabs(z)), l = log1p(e);\n"
    "#endif\n"
    "        f += fmax(z, 0.0) + l - y[k] * z;\n"
    "        const double p = z >= 0 ? 1 / (1 + e) : e / (1 + e);\n"
    "        for (int j = 0; j < N; ++j) g[j] += (p - y[k]) * xk[j];\n"
    "    }\n"
    "    f_[clv_local()] = f;\n"
    "}\n"
    "\n"
    "__kernel void group(CLV_ITEMS, __global const double *w_, __global double *g_, __global double *f_,\n"
    "                    __global const double *X, __global const double *y, __global const double *lam,\n"
    "                    const int ns, __local double *part) {\n"
    "    if (!clv_in_batch()) return;\n"
    "    const int lid = get_local_id(0), L = get_local_size(0);\n"
    "    __global const double *w = w_ + clv_local() * N;\n"
    "    double f = 0, gl[N];\n"
    "    for (int j = 0; j < N; ++j) gl[j] = 0;\n"
    "    for (int k = lid; k < ns; k += L) {\n"
    "        __global const double *xk = X + k * N;\n"
    "        double z = 0;\n"
    "        for (int j = 0; j < N; ++j) z += xk[j] * w[j];\n"
    "        const double e = exp(-fabs(z));\n"
    "        f += fmax(z, 0.0) + log1p(e) - y[k] * z;\n"
    "        const double r = (z >= 0 ? 1 / (1 + e) : e / (1 + e)) - y[k];\n"
    "        for (int j = 0; j < N; ++j) gl[j] += r * xk[j];\n"
    "    }\n"
    "    for (int j = 0; j < N; ++j) part[lid * (N + 1) + j] = gl[j];\n"
    "    part[lid * (N + 1) + N] = f;\n"
    "    barrier(CLK_LOCAL_MEM_FENCE);\n"
    "    const double lambda = lam[clv_item()];\n"
    "    for (int c = lid; c <= N; c += L) {\n"
    "        double s = 0;\n"
    "        for (int t = 0; t < L; ++t) s += part[t * (N + 1) + c];\n"
    "        if (c < N) {\n"
    "            g_[clv_local() * N + c] = s + lambda * w[c];\n"
    "        } else {\n"
    "            double r = 0;\n"
    "            for (int j = 0; j < N; ++j) r += w[j] * w[j];\n"
    "            f_[clv_local()] = s + lambda * r / 2;\n"
    "        }\n"
    "    }\n"
    "}\n"
    "\n"
    "#ifdef VW\n"
    "#define VT LO_CAT(double, VW)\n"
    "#define LO_CAT(a, b) LO_CAT2(a, b)\n"
    "#define LO_CAT2(a, b) a##b\n"
    "#if VW == 2\n"
    "#define COLUMN(x, j) ((double2)(x[j], x[N + j]))\n"
    "#elif VW == 4\n"
    "#define COLUMN(x, j) ((double4)(x[j], x[N + j], x[2 * N + j], x[3 * N + j]))\n"
    "#else\n"
    "#define COLUMN(x, j) ((double8)(x[j], x[N + j], x[2 * N + j], x[3 * N + j], x[4 * N + j], x[5 * N + j], \\\n"
    "                                x[6 * N + j], x[7 * N + j]))\n"
    "#endif\n"
    "__kernel void vec(CLV_ITEMS, __global const double *w_, __global double *g_, __global double *f_,\n"
    "                  __global const double *X, __global const double *y, __global const double *lam,\n"
    "                  const int ns) {\n"
    "    CLV_GUARD();\n"
    "    __global const double *w = w_ + clv_local() * N;\n"
    "    __global double *g = g_ + clv_local() * N;\n"
    "    const double lambda = lam[clv_item()];\n"
    "    double f = 0;\n"
    "    for (int j = 0; j < N; ++j) { g[j] = lambda * w[j]; f += lambda * w[j] * w[j] / 2; }\n"
    "    for (int k = 0; k + VW <= ns; k += VW) {\n"
    "        __global const double *xk = X + k * N;\n"
    "        double zs[VW], ls[VW], rs[VW];\n"
    "        VT z = (VT)(0);\n"
    "        for (int j = 0; j < N; ++j) z += COLUMN(xk, j) * w[j];\n"
    "        const VT e = exp(-fabs(z)), l = log1p(e);\n"
    "        const VT r = select(e / (1 + e), 1 / (1 + e), z >= 0);\n"
    "        LO_CAT(vstore, VW)(z, 0, zs);\n"
    "        LO_CAT(vstore, VW)(l, 0, ls);\n"
    "        LO_CAT(vstore, VW)(r, 0, rs);\n"
    "        for (int t = 0; t < VW; ++t) {\n"
    "            f += fmax(zs[t], 0.0) + ls[t] - y[k + t] * zs[t];\n"
    "            for (int j = 0; j < N; ++j) g[j] += (rs[t] - y[k + t]) * xk[t * N + j];\n"
    "        }\n"
    "    }\n"
    "    f_[clv_local()] = f;\n"
    "}\n"
    "#endif\n";

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct form {
    const char *name, *kernel, *options;
    int group; /* local size of CLV_ITEM_PER_GROUP, 0: one work item per item */
} form;

int main(int argc, char **argv)
{
    int items = 1024, samples = 256, features = 16, reps = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--items")) items = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--samples")) samples = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--features")) features = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else {
            printf("usage: %s [--items 1024] [--samples 256 (a multiple of 8)] [--features 16] [--reps 20]\n", argv[0]);
            return 2;
        }
    }
    if (items < 1 || samples < 8 || samples % 8 || features < 1 || reps < 1) return 2;
    clv_mesh *m = NULL;
    if (clv_mesh_open(&m, NULL) != CLV_OK) {
        printf("mesh: %s\n", clv_mesh_message(m));
        return 1;
    }
    double *w = (double *)malloc((size_t)items * features * sizeof *w);
    double *X = (double *)malloc((size_t)samples * features * sizeof *X), *y = (double *)malloc(samples * sizeof *y);
    double *lam = (double *)malloc(items * sizeof *lam), *f = (double *)malloc(items * sizeof *f);
    double *f_ref = (double *)malloc(items * sizeof *f_ref), *t = (double *)malloc(reps * sizeof *t);
    srand(20261121);
    for (int i = 0; i < items * features; ++i) w[i] = rand() / (double)RAND_MAX - 0.5;
    for (int i = 0; i < samples * features; ++i) X[i] = 2 * (rand() / (double)RAND_MAX) - 1;
    for (int k = 0; k < samples; ++k) y[k] = rand() & 1;
    for (int i = 0; i < items; ++i) lam[i] = pow(10.0, -3.0 + 4.0 * i / (items > 1 ? items - 1 : 1));
    clv_array *W, *G, *F, *Xa, *Ya, *La;
    clv_array_new(&W, m, CLV_F64, items, features, CLV_SHARDED);
    clv_array_new(&G, m, CLV_F64, items, features, CLV_SHARDED);
    clv_array_new(&F, m, CLV_F64, items, 1, CLV_SHARDED);
    clv_array_new(&Xa, m, CLV_F64, samples, features, CLV_REPLICATED);
    clv_array_new(&Ya, m, CLV_F64, samples, 1, CLV_REPLICATED);
    clv_array_new(&La, m, CLV_F64, items, 1, CLV_REPLICATED);
    clv_array_write(W, w), clv_array_write(Xa, X), clv_array_write(Ya, y), clv_array_write(La, lam);
    const form forms[] = {
        { "scalar", "scalar", "", 0 },   { "no_exp", "scalar", "-DNO_EXP", 0 },
        { "group16", "group", "", 16 },  { "group64", "group", "", 64 },
        { "vec2", "vec", "-DVW=2", 0 },  { "vec4", "vec", "-DVW=4", 0 },
        { "vec8", "vec", "-DVW=8", 0 },
    };
    printf("logistic objective, %d items x %d samples x %d features, %d device(s), median of %d maps\n", items,
           samples, features, clv_mesh_device_count(m), reps);
    int rc = 0;
    for (size_t k = 0; k < sizeof forms / sizeof forms[0] && rc == 0; ++k) {
        const form *fm = &forms[k];
        char options[256];
        snprintf(options, sizeof options, "-DN=%d %s", features, fm->options);
        clv_program_desc pd;
        memset(&pd, 0, sizeof pd);
        pd.source = source;
        pd.real = CLV_F64;
        pd.options = options;
        clv_program *p = NULL;
        clv_map_opts o;
        memset(&o, 0, sizeof o);
        o.shape = fm->group ? CLV_ITEM_PER_GROUP : CLV_ITEM_PER_WORK_ITEM;
        o.local_size = (size_t)fm->group;
        clv_status st = clv_program_build(&p, m, &pd);
        for (int r = -2; st == CLV_OK && r < reps; ++r) { /* two warm-ups: PoCL compiles per launch shape */
            double t0 = now();
            if (fm->group)
                st = CLV_MAP(p, fm->kernel, (size_t)items, &o, clv_in(W), clv_out(G), clv_out(F), clv_in(Xa),
                             clv_in(Ya), clv_in(La), clv_int(samples),
                             clv_local_mem((size_t)fm->group * (features + 1) * sizeof(double)));
            else
                st = CLV_MAP(p, fm->kernel, (size_t)items, &o, clv_in(W), clv_out(G), clv_out(F), clv_in(Xa),
                             clv_in(Ya), clv_in(La), clv_int(samples));
            if (r >= 0) t[r] = now() - t0;
        }
        if (st == CLV_OK) st = clv_array_read(F, k == 0 ? f_ref : f);
        if (st != CLV_OK) {
            printf("%s: %s\n", fm->name, clv_mesh_message(m));
            rc = 1;
        } else {
            double diff = 0;
            for (int i = 0; k > 0 && i < items; ++i) diff = fmax(diff, fabs(f[i] - f_ref[i]) / fabs(f_ref[i]));
            qsort(t, (size_t)reps, sizeof *t, cmp_double);
            printf("  %-8s %8.3f ms per evaluation of the batch", fm->name, 1e3 * t[reps / 2]);
            if (strcmp(fm->name, "no_exp") == 0) printf("   (another function: timing only)\n");
            else printf("   max rel |f - f_scalar| %.1e\n", diff);
        }
        clv_program_free(p);
    }
    clv_array_free(W), clv_array_free(G), clv_array_free(F), clv_array_free(Xa), clv_array_free(Ya), clv_array_free(La);
    clv_mesh_close(m);
    free(w), free(X), free(y), free(lam), free(f), free(f_ref), free(t);
    return rc;
}
