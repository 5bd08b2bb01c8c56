/* log Z against analytic values: the Gaussian on a uniform box in 2, 5 and
 * 10 dimensions and the eggbox. A run passes when it is within 3 of its own
 * reported errors AND within 0.5 nats of the truth.
 *
 * Sizes: n_live 500 for the 10-d Gaussian and the eggbox gives a log Z
 * error near 0.15 (sqrt(H / n_live) with H ~ 9 nats), so 0.5 is more than
 * 3 errors; every run has a fixed seed, so the outcome is a deterministic
 * function of the code (no flaking), and a change that moved log Z by a
 * few errors would show. CLV_TEST_SMALL=1 runs the 2-d Gaussian only,
 * with n_live 60. */
#include "test_util.h"
#include "nss_problems.h"

#include <math.h>

typedef struct evidence_case {
    const char *name;
    const char *source;
    int dim, n_live;
    double truth;
} evidence_case;

static void check_case(clv_mesh *m, const evidence_case *c, uint64_t seed)
{
    clv_nss *s = nss_sampler(m, c->source, c->dim, 0);
    clv_nss_opts o;
    memset(&o, 0, sizeof o);
    o.n_live = c->n_live;
    o.seed = seed;
    o.chunk = CLV_CHUNK_AUTO;
    clv_nss_result r;
    clv_status st = clv_nss_run(s, &o, &r);
    TU_CHECK(st == CLV_OK, "%s: clv_nss_run: %s", c->name, clv_nss_message(s));
    if (st == CLV_OK) {
        double off = r.logZ - c->truth;
        printf("%-10s dim %2d n_live %3d: log Z = %9.4f +- %.4f (truth %9.4f, off %+.4f = %+.2f errors), "
               "%ld iterations, %llu evaluations, ESS %.0f, stop: %s\n",
               c->name, c->dim, c->n_live, r.logZ, r.logZ_error, c->truth, off, off / r.logZ_error, r.iterations,
               (unsigned long long)r.evaluations, r.ess, clv_nss_stop_string(r.stop));
        TU_CHECK(r.stop == CLV_NSS_CONVERGED, "%s: did not converge", c->name);
        TU_CHECK(r.logZ_error > 0 && r.logZ_error < 1, "%s: implausible error %g", c->name, r.logZ_error);
        TU_CHECK(fabs(off) < 3 * r.logZ_error, "%s: log Z %g is %.2f errors from %g", c->name, r.logZ,
                 off / r.logZ_error, c->truth);
        TU_CHECK(tu_small() || fabs(off) < 0.5, "%s: log Z %g is %g from %g (> 0.5)", c->name, r.logZ, off,
                 c->truth);
        TU_CHECK(fabs(r.logZ_run - r.logZ) < 3 * r.logZ_error + 0.05, "%s: running log Z %g far from %g",
                 c->name, r.logZ_run, r.logZ);
        TU_CHECK(r.ess > 0.1 * c->n_live, "%s: ESS %g", c->name, r.ess);
    }
    clv_nss_result_free(&r);
    clv_nss_free(s);
}

int main(void)
{
    clv_mesh *m = tu_open(2, NULL); /* two devices: the runs are sharded */
    if (!m) m = tu_open(1, NULL);
    if (!m) return 1;
    const evidence_case all[] = {
        { "gauss", nss_gauss_source, 2, 200, nss_gauss_logz(2) },
        { "gauss", nss_gauss_source, 5, 300, nss_gauss_logz(5) },
        { "gauss", nss_gauss_source, 10, 500, nss_gauss_logz(10) },
        { "eggbox", nss_eggbox_source, 2, 500, NSS_EGGBOX_LOGZ },
    };
    const evidence_case small[] = { { "gauss", nss_gauss_source, 2, 60, nss_gauss_logz(2) } };
    const evidence_case *cases = tu_small() ? small : all;
    size_t n = tu_small() ? 1 : sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; ++i) check_case(m, &cases[i], 1000 + i);
    clv_mesh_close(m);
    return tu_summary();
}
