/* The complete example of include/clvmap_lbfgs.h's manual, kept as a file
 * so that meson builds and runs it (test lbfgs_manual); lbfgs_manual_copy
 * fails when the two differ. */
#include "clvmap_lbfgs.h"
#include <stdio.h>
static const char *objective =
    "clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g,\n"
    "                             ulong item, clv_lbfgs_data data) {\n"
    "    const clv_real b = data.real[0][item];   // this item's stiffness\n"
    "    clv_real f = 0;\n"
    "    for (int i = 0; i < CLV_LBFGS_N; ++i) g[i] = 0;\n"
    "    for (int i = 0; i + 1 < CLV_LBFGS_N; ++i) {\n"
    "        const clv_real t = x[i + 1] - x[i] * x[i], u = 1 - x[i];\n"
    "        f += b * t * t + u * u;\n"
    "        g[i] += -4 * b * x[i] * t - 2 * u;\n"
    "        g[i + 1] += 2 * b * t;\n"
    "    }\n"
    "    return f;\n"
    "}\n";
int main(void) {
    enum { B = 1000, N = 8 };
    static double x[B * N], stiffness[B], fx[B];
    static int reason[B];
    for (int i = 0; i < B; ++i) stiffness[i] = 1.0 + 99.0 * i / (B - 1);
    for (int i = 0; i < B * N; ++i) x[i] = -1.2;
    clv_mesh *m;
    if (clv_mesh_open(&m, NULL)) { puts(clv_mesh_message(m)); return 1; }
    clv_array *b;
    clv_array_new(&b, m, CLV_F64, B, 1, CLV_REPLICATED);
    clv_array_write(b, stiffness);
    clv_lbfgs_objective obj = {0};
    obj.source = objective;
    obj.data[0] = b;
    clv_lbfgs_parameter param = {0};          // zero: liblbfgs-like defaults
    param.linesearch = CLV_LBFGS_LINESEARCH_BACKTRACKING;
    clv_lbfgs *s;
    clv_status st = clv_lbfgs_new(&s, m, N, &obj, &param);
    clv_lbfgs_items out = {0};
    out.fx = fx;
    out.reason = reason;
    if (st == CLV_OK) st = clv_lbfgs_minimize(s, B, x, &out, NULL, NULL);
    if (st != CLV_OK) puts(clv_lbfgs_message(s));
    else printf("b = 100: f = %.3g at x0 = %.6f (%s)\n", fx[B - 1], x[(B - 1) * N],
                clv_lbfgs_reason_string(reason[B - 1]));
    clv_lbfgs_free(s);
    clv_array_free(b);
    clv_mesh_close(m);
    return st != CLV_OK;
}
