/* Reproducer found by fuzz_opts (area nuts): a NUTS run cancelled by its
 * progress callback sets result->num_draws to the draws completed, but the
 * per-draw arrays keep the stride of the requested num_draws, so chains 1..
 * are read from the wrong rows (clv_nuts_write_csv, clv_nuts_summarize_param,
 * n_divergent against divergent[], ...).
 *
 *   cc -Iinclude tests/fuzz/known/nuts_cancel_stride.c -lOpenCL -lm && ./a.out
 *
 * Exit status 0 when chain 1's kept draws equal the same run's uncancelled
 * draws (bitwise), 1 otherwise. The fix is in clvmap_nuts.h
 * (clv_nuts__keep_draws). */
#include "clvmap_nuts.h"

#include <stdio.h>
#include <string.h>

static const char *source =
    "clv_real logdensity(__global const clv_real *x, __global clv_real *grad, __global const clv_real *data) {\n"
    "    clv_real lp = 0;\n"
    "    for (int k = 0; k < CLV_NUTS_DIM; ++k) { lp -= 0.5 * x[k] * x[k]; grad[k] = -x[k]; }\n"
    "    return lp;\n"
    "}\n";

static int calls;
static int stop_after_two_blocks(const clv_nuts_progress *p, void *user)
{
    (void)p;
    (void)user;
    return ++calls >= 2;
}

int main(void)
{
    clv_mesh *m;
    if (clv_mesh_open(&m, NULL)) { puts(clv_mesh_message(m)); return 2; }
    clv_nuts_model model;
    memset(&model, 0, sizeof model);
    model.source = source;
    model.dim = 2;
    clv_nuts *s;
    if (clv_nuts_new(&s, m, &model)) { puts(clv_nuts_message(s)); return 2; }
    clv_nuts_opts o;
    memset(&o, 0, sizeof o);
    o.n_chains = 2;
    o.num_warmup = -1; /* none */
    o.num_draws = 4;
    o.block = 1;
    o.seed = 3;
    clv_nuts_result full, cut;
    if (clv_nuts_run(s, &o, &full)) { puts(clv_nuts_message(s)); return 2; }
    o.progress = stop_after_two_blocks;
    if (clv_nuts_run(s, &o, &cut)) { puts(clv_nuts_message(s)); return 2; }
    int bad = 0;
    printf("cancelled run: %d draws per chain (of %d)\n", cut.num_draws, full.num_draws);
    for (int c = 0; c < cut.n_chains; ++c)
        for (int i = 0; i < cut.num_draws; ++i) {
            double got = cut.lp[c * cut.num_draws + i], want = full.lp[c * full.num_draws + i];
            printf("chain %d draw %d: lp %.17g, uncancelled %.17g%s\n", c, i, got, want,
                   memcmp(&got, &want, sizeof got) ? "   <-- differs" : "");
            bad += memcmp(&got, &want, sizeof got) != 0;
        }
    clv_nuts_result_free(&full);
    clv_nuts_result_free(&cut);
    clv_nuts_free(s);
    clv_mesh_close(m);
    return bad != 0;
}
