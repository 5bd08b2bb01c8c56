/* The complete example of include/clvmap_nss.h's manual, kept here so that it
 * is built and run (meson test nss_manual); tests/nss/test_nss_embed.c
 * fails when the two copies differ. */
#include "clvmap_nss.h"
#include <math.h>
static const char *model =
    "clv_real loglikelihood(const clv_real *x, __global const clv_real *data,\n"
    "                       __global clv_real *work) {\n"
    "    clv_real s = 0;\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) s += x[k] * x[k];\n"
    "    return -0.5f * s - 0.9189385f * CLV_NSS_DIM;  // normalised\n"
    "}\n"
    "clv_real logprior(const clv_real *x, __global const clv_real *data) {\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k)\n"
    "        if (fabs(x[k]) > 5) return -INFINITY;\n"
    "    return -CLV_NSS_DIM * log((clv_real)10);\n"
    "}\n"
    "void prior_transform(const clv_real *u, clv_real *x,\n"
    "                     __global const clv_real *data) {\n"
    "    for (int k = 0; k < CLV_NSS_DIM; ++k) x[k] = 10 * u[k] - 5;\n"
    "}\n";
int main(void) {
    clv_mesh *m;
    if (clv_mesh_open(&m, NULL)) { puts(clv_mesh_message(m)); return 1; }
    clv_nss_problem problem = {0};
    problem.source = model;
    problem.dim = 3;
    clv_nss *s;
    clv_status st = clv_nss_new(&s, m, &problem);
    clv_nss_result r = {0};
    clv_nss_opts o = {0};              // n_live 500, num_delete 50, ...
    o.n_live = 200;
    o.chunk = 8;                       // at most 8 particles per launch
    o.seed = 7;
    if (st == CLV_OK) st = clv_nss_run(s, &o, &r);
    if (st != CLV_OK) puts(clv_nss_message(s));
    else printf("log Z = %.3f +- %.3f (exact %.3f)\n", r.logZ, r.logZ_error,
                -3 * log(10.0));
    clv_nss_result_free(&r);
    clv_nss_free(s);
    clv_mesh_close(m);
    return st != CLV_OK;
}
