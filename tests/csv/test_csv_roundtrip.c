/* Suite `csv`: what the library writes, the reader reads back bit for bit.
 * A NUTS run (4 chains over the mesh's devices) is written with
 * clv_nuts_write_csv, CmdStan's layout, one file per chain, and an NSS run
 * with clv_nss_write_csv; clvmap_csv.h reads the files and every number
 * (draws, sampler statistics, the adapted step size and inverse metric in
 * the comments; NSS weights, likelihoods and points) must equal the
 * result's, bitwise. */
#include "test_util.h"
#include "clvmap_csv.h"
#include "clvmap_nss.h"
#include "clvmap_nuts.h"
#include "nss_problems.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static const char *const nuts_source =
    "clv_real logdensity(__global const clv_real *x, __global clv_real *grad, __global const clv_real *data) {\n"
    "    clv_real lp = 0;\n"
    "    for (int k = 0; k < CLV_NUTS_DIM; ++k) {\n"
    "        const clv_real s2 = data[k] * data[k];\n"
    "        lp -= 0.5 * x[k] * x[k] / s2;\n"
    "        grad[k] = -x[k] / s2;\n"
    "    }\n"
    "    return lp;\n"
    "}\n";


/* The "# Diagonal elements of inverse mass matrix:" line's numbers. */
static int read_inv_mass(const char *comments, double *out, int dim)
{
    const char *p = strstr(comments, "# Diagonal elements of inverse mass matrix:\n# ");
    if (!p) return 0;
    p += strlen("# Diagonal elements of inverse mass matrix:\n# ");
    for (int k = 0; k < dim; ++k) {
        char *end;
        out[k] = strtod(p, &end);
        if (end == p) return 0;
        p = end;
        if (*p == ',') p += 2;
    }
    return 1;
}

static void nuts_roundtrip(clv_mesh *m)
{
    enum { DIM = 3 };
    double scales[DIM] = { 1, 10, 0.01 };
    const char *names[DIM] = { "mu", "log_tau", "theta.1" };
    clv_nuts_model model;
    memset(&model, 0, sizeof model);
    model.source = nuts_source;
    model.dim = DIM;
    model.data = scales;
    model.n_data = DIM;
    clv_nuts *s = NULL;
    clv_status st = clv_nuts_new(&s, m, &model);
    TU_CHECK(st == CLV_OK, "clv_nuts_new: %s", clv_nuts_message(s));
    clv_nuts_opts o;
    memset(&o, 0, sizeof o);
    o.n_chains = 4;
    o.num_warmup = 150;
    o.num_draws = 60;
    o.seed = 11;
    clv_nuts_result r;
    memset(&r, 0, sizeof r);
    if (st == CLV_OK) st = clv_nuts_run(s, &o, &r);
    TU_CHECK(st == CLV_OK, "clv_nuts_run: %s", clv_nuts_message(s));
    for (int c = 0; st == CLV_OK && c < r.n_chains; ++c) {
        char path[64];
        snprintf(path, sizeof path, "csv_roundtrip_nuts_%d.csv", c + 1);
        FILE *f = fopen(path, "w");
        TU_CHECK(f && clv_nuts_write_csv(&r, c, f, c == 1 ? NULL : names) == CLV_OK, "writing %s", path);
        if (f) fclose(f);
        clv_csv_opts co;
        memset(&co, 0, sizeof co);
        co.keep_comments = 1;
        clv_csv_table t;
        clv_csv_status cs = clv_csv_read_file(&t, path, &co);
        TU_CHECK(cs == CLV_CSV_OK, "reading %s: %s", path, t.message);
        if (cs != CLV_CSV_OK) continue;
        TU_CHECK(t.n_rows == (size_t)r.num_draws && t.n_columns == 7 + DIM, "%s: %lux%lu", path,
              (unsigned long)t.n_rows, (unsigned long)t.n_columns);
        long lp = clv_csv_column(&t, "lp__"), acc = clv_csv_column(&t, "accept_stat__"),
             eps = clv_csv_column(&t, "stepsize__"), depth = clv_csv_column(&t, "treedepth__"),
             leap = clv_csv_column(&t, "n_leapfrog__"), div = clv_csv_column(&t, "divergent__"),
             energy = clv_csv_column(&t, "energy__");
        long x0 = clv_csv_column(&t, c == 1 ? "x.1" : "mu");
        TU_CHECK(lp == 0 && acc == 1 && eps == 2 && depth == 3 && leap == 4 && div == 5 && energy == 6 && x0 == 7,
              "%s: CmdStan's columns", path);
        TU_CHECK(c == 1 || clv_csv_column(&t, "log_tau") == 8, "%s: names", path);
        int bad = 0;
        for (int i = 0; i < r.num_draws && lp == 0 && x0 == 7; ++i) {
            size_t at = (size_t)c * r.num_draws + i;
            const double *row = t.values + (size_t)i * t.n_columns;
            bad += !same_bits(row[0], r.lp[at]) + !same_bits(row[1], r.accept_stat[at]) +
                   !same_bits(row[2], r.step_size[at]) + (row[3] != r.tree_depth[at]) +
                   (row[4] != r.n_leapfrog[at]) + (row[5] != r.divergent[at]) + !same_bits(row[6], r.energy[at]);
            for (int k = 0; k < DIM; ++k) bad += !same_bits(row[7 + k], r.draws[at * DIM + k]);
        }
        TU_CHECK(bad == 0, "%s: %d numbers differ from the result", path, bad);
        const char *step = t.comments ? strstr(t.comments, "# Step size = ") : NULL;
        TU_CHECK(step && same_bits(strtod(step + 14, NULL), r.final_step_size[c]), "%s: step size comment", path);
        double inv[DIM];
        int ok = t.comments && read_inv_mass(t.comments, inv, DIM);
        for (int k = 0; ok && k < DIM; ++k) ok = same_bits(inv[k], r.inv_mass[c * DIM + k]);
        TU_CHECK(ok, "%s: inverse metric comment", path);
        clv_csv_free(&t);
        remove(path);
    }
    clv_nuts_result_free(&r);
    clv_nuts_free(s);
}

static void nss_roundtrip(clv_mesh *m)
{
    clv_nss_problem p;
    memset(&p, 0, sizeof p);
    p.source = nss_standard_normal_source;
    p.dim = 2;
    clv_nss *s = NULL;
    clv_status st = clv_nss_new(&s, m, &p);
    TU_CHECK(st == CLV_OK, "clv_nss_new: %s", clv_nss_message(s));
    clv_nss_opts o;
    memset(&o, 0, sizeof o);
    o.n_live = 50;
    o.seed = 5;
    clv_nss_result r;
    memset(&r, 0, sizeof r);
    if (st == CLV_OK) st = clv_nss_run(s, &o, &r);
    TU_CHECK(st == CLV_OK, "clv_nss_run: %s", clv_nss_message(s));
    if (st == CLV_OK) {
        const char *path = "csv_roundtrip_nss.csv";
        FILE *f = fopen(path, "w");
        TU_CHECK(f && clv_nss_write_csv(&r, f, NULL) == CLV_OK, "writing %s", path);
        if (f) fclose(f);
        clv_csv_table t;
        clv_csv_status cs = clv_csv_read_file(&t, path, NULL);
        TU_CHECK(cs == CLV_CSV_OK && t.n_rows == r.n_samples && t.n_columns == 6, "reading %s: %s (%lu rows of %lu)",
              path, t.message, (unsigned long)t.n_rows, (unsigned long)r.n_samples);
        long w = clv_csv_column(&t, "weight"), lw = clv_csv_column(&t, "log_weight"),
             ll = clv_csv_column(&t, "loglikelihood"), born = clv_csv_column(&t, "loglikelihood_birth"),
             x0 = clv_csv_column(&t, "x0");
        TU_CHECK(w == 0 && lw == 1 && ll == 2 && born == 3 && x0 == 4, "NSS columns");
        int bad = 0, infinite_births = 0;
        double total = 0;
        for (size_t i = 0; cs == CLV_CSV_OK && x0 == 4 && i < t.n_rows; ++i) {
            const double *row = t.values + i * 6;
            bad += !same_bits(row[0], exp(r.log_weight[i])) + !same_bits(row[1], r.log_weight[i]) +
                   !same_bits(row[2], r.loglikelihood[i]) + !same_bits(row[3], r.loglikelihood_birth[i]) +
                   !same_bits(row[4], r.x[2 * i]) + !same_bits(row[5], r.x[2 * i + 1]);
            infinite_births += isinf(row[3]) != 0; /* the initial points: "-inf" in the file */
            total += row[0];
        }
        TU_CHECK(bad == 0, "%s: %d numbers differ from the result", path, bad);
        TU_CHECK(infinite_births >= 50, "%s: %d births at -inf read back", path, infinite_births);
        TU_CHECK(fabs(total - 1) < 1e-9, "%s: weights sum to %.17g", path, total);
        clv_csv_free(&t);
        remove(path);
    }
    clv_nss_result_free(&r);
    clv_nss_free(s);
}

int main(void)
{
    clv_mesh *m;
    if (clv_mesh_open(&m, NULL) != CLV_OK) {
        printf("FAIL: clv_mesh_open: %s\n", clv_mesh_message(m));
        clv_mesh_close(m);
        return 1;
    }
    nuts_roundtrip(m);
    nss_roundtrip(m);
    clv_mesh_close(m);
    return tu_summary();
}
