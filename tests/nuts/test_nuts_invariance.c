/* Guarantee 1: every draw and per-draw statistic (and eight_schools'
 * generated quantities) is bitwise identical over
 * 1, 2 and 3 devices (even and uneven splits), chunk sizes (none, 1, 2,
 * auto) and blocks of iterations (7, 13, 30, all), warmup windows and the
 * step size search included. CLV_TEST_SMALL=1: fewer iterations. */
#include "nuts_test.h"

typedef struct layout {
    int devices;
    const double *weights;
    long chunk;
    int block;
} layout;

static void run(const nuts_model_def *def, const layout *l, clv_nuts_result *r)
{
    memset(r, 0, sizeof *r);
    clv_mesh *m = tu_open(l->devices, l->weights);
    if (!m) return;
    clv_nuts *s = nt_sampler(m, def);
    clv_nuts_opts o;
    memset(&o, 0, sizeof o);
    o.n_chains = 7;
    o.num_warmup = tu_small() ? 24 : 60;
    o.num_draws = tu_small() ? 6 : 40;
    o.seed = 99;
    o.chunk = l->chunk;
    o.block = l->block;
    nt_run(s, &o, r);
    clv_nuts_free(s);
    clv_mesh_close(m);
}

static int same(const clv_nuts_result *a, const clv_nuts_result *b)
{
    size_t n = (size_t)a->n_chains * a->num_draws, d = (size_t)a->dim;
    return memcmp(a->draws, b->draws, n * d * sizeof(double)) == 0 &&
           memcmp(a->lp, b->lp, n * sizeof(double)) == 0 &&
           memcmp(a->accept_stat, b->accept_stat, n * sizeof(double)) == 0 &&
           memcmp(a->step_size, b->step_size, n * sizeof(double)) == 0 &&
           memcmp(a->energy, b->energy, n * sizeof(double)) == 0 &&
           memcmp(a->n_leapfrog, b->n_leapfrog, n * sizeof(int)) == 0 &&
           memcmp(a->tree_depth, b->tree_depth, n * sizeof(int)) == 0 &&
           memcmp(a->divergent, b->divergent, n * sizeof(int)) == 0 &&
           memcmp(a->inv_mass, b->inv_mass, (size_t)a->n_chains * d * sizeof(double)) == 0 &&
           a->n_generated == b->n_generated && (!a->generated) == (!b->generated) &&
           (!a->generated || memcmp(a->generated, b->generated, n * (size_t)a->n_generated * sizeof(double)) == 0);
}

static void check_model(const char *name)
{
    static const double uneven[] = { 1, 3, 2 };
    const layout layouts[] = {
        { 1, NULL, CLV_CHUNK_NONE, 0 }, { 2, NULL, 2, 7 }, { 3, NULL, 1, 13 },
        { 3, uneven, CLV_CHUNK_AUTO, 30 }, { 2, NULL, CLV_CHUNK_NONE, 1000 },
    };
    nuts_model_def def;
    nuts_model_make(name, 5, &def);
    clv_nuts_result ref;
    run(&def, &layouts[0], &ref);
    for (size_t i = 1; i < sizeof layouts / sizeof layouts[0]; ++i) {
        clv_nuts_result r;
        run(&def, &layouts[i], &r);
        if (!r.draws) continue; /* fewer devices: skipped */
        TU_CHECK(same(&ref, &r), "%s: draws differ between 1 device and %d devices, chunk %ld, block %d", name,
                 layouts[i].devices, layouts[i].chunk, layouts[i].block);
        clv_nuts_result_free(&r);
    }
    uint64_t leapfrogs = ref.n_leapfrog_total;
    printf("%s: %d chains x %d draws, %llu leapfrog steps, identical over %zu layouts\n", name, ref.n_chains,
           ref.num_draws, (unsigned long long)leapfrogs, sizeof layouts / sizeof layouts[0]);
    clv_nuts_result_free(&ref);
    nuts_model_free(&def);
}

int main(void)
{
    check_model("eight_schools");
    check_model("gauss");
    if (!tu_small()) check_model("funnel"); /* divergent trajectories too */
    return tu_summary();
}
