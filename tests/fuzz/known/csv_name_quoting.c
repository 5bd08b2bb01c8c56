/* Reproducer (found writing tests/csv/test_csv_roundtrip.c): the CSV writers
 * print parameter names as they are, so a name holding a comma, a quote or a
 * line break makes a file that no CSV reader reads as written:
 * clv_nuts_write_csv(r, 0, f, {"tau, scaled"}) writes the header
 * "...,energy__,tau, scaled" (9 cells over 8 columns), and
 * clv_nss_write_csv does the same. RFC 4180 (and CmdStan's readers, pandas,
 * R) expect such a name quoted: "tau, scaled", with "" for a quote.
 * This program builds one-draw results by hand (no OpenCL call), writes
 * them, reads them back with clvmap_csv.h and exits 1 while the names do
 * not survive. The fix is in the writers (clv_nuts__csv_name, clv_nss__csv_name).
 *
 *   cc -Iinclude tests/fuzz/known/csv_name_quoting.c -lOpenCL -lm && ./a.out */
#define _POSIX_C_SOURCE 200809L
#include "clvmap_csv.h"
#include "clvmap_nss.h"
#include "clvmap_nuts.h"

#include <stdio.h>
#include <string.h>

static int check(const char *what, char *buf, size_t size, const char *name)
{
    clv_csv_table t;
    clv_csv_opts o;
    memset(&o, 0, sizeof o);
    o.header = CLV_CSV_HEADER_YES;
    clv_csv_status st = clv_csv_read(&t, buf, size, &o);
    int ok = st == CLV_CSV_OK && clv_csv_column(&t, name) >= 0;
    printf("%s: %s\n", what, ok ? "name read back" : st != CLV_CSV_OK ? t.message : "name not found");
    clv_csv_free(&t);
    return ok;
}

int main(void)
{
    const char *names[1] = { "tau, \"scaled\"" };
    double zero[2] = { 0, 0 }, one = 1;
    int izero = 0, ione = 1;
    clv_nuts_result r;
    memset(&r, 0, sizeof r);
    r.n_chains = r.num_draws = r.dim = 1;
    r.draws = r.lp = r.accept_stat = r.step_size = r.energy = zero;
    r.tree_depth = r.divergent = &izero;
    r.n_leapfrog = &ione;
    r.inv_mass = r.final_step_size = &one;
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    clv_nuts_write_csv(&r, 0, f, names);
    fclose(f);
    int ok = check("clv_nuts_write_csv", buf, size, names[0]);
    free(buf);

    clv_nss_result n;
    memset(&n, 0, sizeof n);
    n.dim = 1;
    n.n_samples = 1;
    n.x = n.loglikelihood = n.loglikelihood_birth = n.log_weight = zero;
    buf = NULL;
    f = open_memstream(&buf, &size);
    clv_nss_write_csv(&n, f, names);
    fclose(f);
    ok &= check("clv_nss_write_csv", buf, size, names[0]);
    free(buf);
    return !ok;
}
