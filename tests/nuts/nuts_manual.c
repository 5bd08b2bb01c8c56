/* The complete example of include/clvmap_nuts.h's manual, verbatim from its
 * #include on (tests/nuts/test_nuts_embed.c checks). */
#include "clvmap_nuts.h"
static const char *source =
    "clv_real logdensity(__global const clv_real *x, __global clv_real *grad,\n"
    "                    __global const clv_real *data) {\n"
    "    clv_real lp = 0;\n"
    "    for (int k = 0; k < CLV_NUTS_DIM; ++k) {\n"
    "        const clv_real s2 = (k + 1) * (k + 1);\n"
    "        lp -= 0.5 * x[k] * x[k] / s2;\n"
    "        grad[k] = -x[k] / s2;\n"
    "    }\n"
    "    return lp;\n"
    "}\n";
int main(void) {
    clv_mesh *m;
    if (clv_mesh_open(&m, NULL)) { puts(clv_mesh_message(m)); return 1; }
    clv_nuts_model model = {0};
    model.source = source;
    model.dim = 5;
    clv_nuts *s;
    clv_status st = clv_nuts_new(&s, m, &model);
    clv_nuts_opts o = {0};             // 4 chains, 1000 warmup, 1000 draws
    o.seed = 7;
    clv_nuts_result r = {0};
    if (st == CLV_OK) st = clv_nuts_run(s, &o, &r);
    if (st != CLV_OK) puts(clv_nuts_message(s));
    else clv_nuts_write_summary(&r, stdout, NULL);  // mean, sd, ESS, R-hat
    clv_nuts_result_free(&r);
    clv_nuts_free(s);
    clv_mesh_close(m);
    return st != CLV_OK;
}
