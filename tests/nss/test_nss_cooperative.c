/* Cooperative likelihoods (clv_nss_problem.cooperative: one work group per
 * particle, the likelihood shared by its lanes): a Gaussian likelihood
 * summed over many observations, whose evidence is analytic
 * (examples/nss_problems.h, nss_obs_make), written as plain one-work-item
 * code and as cooperative code:
 *   - both log Z within 4 reported errors of the exact value, and within 4
 *     errors (combined) of each other;
 *   - the cooperative run's result bitwise the same for chunk none, 1, 3
 *     and auto, and on 1 and 2 devices, at a fixed local size (8);
 *   - a local size that is not a power of two (5) and the default (0) run
 *     and stay within the error;
 *   - a bad cooperative source (the plain signature) is a build error that
 *     names loglikelihood, and nothing leaks. */
#include "test_util.h"
#include "nss_problems.h"

#include <math.h>

enum { DIM = 3 };

static double *obs;
static size_t n_obs_data;

static clv_status run(clv_mesh *m, int cooperative, const char *source, long chunk, size_t local,
                      clv_nss_result *r, char *why, size_t why_size)
{
    /* clv_nss_new can fail before clv_nss_run touches *r: start it empty so
       the caller may always clv_nss_result_free it */
    memset(r, 0, sizeof *r);
    clv_nss_problem p;
    memset(&p, 0, sizeof p);
    p.source = source;
    p.dim = DIM;
    p.data = obs;
    p.n_data = n_obs_data;
    p.cooperative = cooperative;
    clv_nss *s = NULL;
    clv_status st = clv_nss_new(&s, m, &p);
    clv_nss_opts o;
    memset(&o, 0, sizeof o);
    o.n_live = tu_small() ? 30 : 100;
    o.num_delete = tu_small() ? 5 : 10;
    o.num_inner_steps = 6;
    o.chunk = chunk;
    o.local_size = local;
    o.seed = 11;
    o.max_iterations = tu_small() ? 8 : 0;
    if (st == CLV_OK) st = clv_nss_run(s, &o, r);
    snprintf(why, why_size, "%s", clv_nss_message(s));
    clv_nss_free(s);
    return st;
}

static int same(const clv_nss_result *a, const clv_nss_result *b)
{
    return a->n_samples == b->n_samples && memcmp(&a->logZ, &b->logZ, sizeof a->logZ) == 0 &&
           memcmp(&a->logZ_error, &b->logZ_error, sizeof a->logZ_error) == 0 && a->evaluations == b->evaluations &&
           memcmp(a->x, b->x, a->n_samples * DIM * sizeof(double)) == 0 &&
           memcmp(a->loglikelihood, b->loglikelihood, a->n_samples * sizeof(double)) == 0;
}

static void check_run(clv_mesh *m, int coop, long chunk, size_t local, const clv_nss_result *ref, const char *what)
{
    char why[8192];
    clv_nss_result r;
    clv_status st = run(m, coop, coop ? nss_obs_coop_source : nss_obs_plain_source, chunk, local, &r, why, sizeof why);
    TU_CHECK(st == CLV_OK, "%s: %s", what, why);
    if (st == CLV_OK && ref) TU_CHECK(same(ref, &r), "%s: log Z %.17g (%llu evaluations) differs from %.17g (%llu)",
                                      what, r.logZ, (unsigned long long)r.evaluations, ref->logZ,
                                      (unsigned long long)ref->evaluations);
    if (st == CLV_OK) printf("  %-40s log Z %.6f +- %.4f, %llu evaluations\n", what, r.logZ, r.logZ_error,
                             (unsigned long long)r.evaluations);
    clv_nss_result_free(&r);
}

int main(void)
{
    int n_obs = tu_small() ? 64 : 1000;
    double exact = nss_obs_make(DIM, n_obs, 5.0, 20261203ULL, &obs, &n_obs_data);
    if (!obs) return 1;
    clv_mesh *m = tu_open(1, NULL);
    if (!m) {
        free(obs);
        return 77;
    }
    char why[8192];
    clv_nss_result plain, coop;
    clv_status st = run(m, 0, nss_obs_plain_source, CLV_CHUNK_NONE, 0, &plain, why, sizeof why);
    TU_REQUIRE_OK(m, st == CLV_OK ? CLV_OK : (printf("plain: %s\n", why), st));
    st = run(m, 1, nss_obs_coop_source, CLV_CHUNK_NONE, 8, &coop, why, sizeof why);
    TU_REQUIRE_OK(m, st == CLV_OK ? CLV_OK : (printf("cooperative: %s\n", why), st));
    printf("exact log Z %.6f (%d observations of %d values)\n", exact, n_obs, DIM);
    printf("  plain        log Z %.6f +- %.4f, %llu evaluations\n", plain.logZ, plain.logZ_error,
           (unsigned long long)plain.evaluations);
    printf("  cooperative  log Z %.6f +- %.4f, %llu evaluations\n", coop.logZ, coop.logZ_error,
           (unsigned long long)coop.evaluations);
    if (!tu_small()) {
        TU_CHECK(fabs(plain.logZ - exact) <= 4 * plain.logZ_error, "plain: log Z %.5f, exact %.5f, error %.4f",
                 plain.logZ, exact, plain.logZ_error);
        TU_CHECK(fabs(coop.logZ - exact) <= 4 * coop.logZ_error, "cooperative: log Z %.5f, exact %.5f, error %.4f",
                 coop.logZ, exact, coop.logZ_error);
        double e = sqrt(plain.logZ_error * plain.logZ_error + coop.logZ_error * coop.logZ_error);
        TU_CHECK(fabs(plain.logZ - coop.logZ) <= 4 * e, "plain %.5f and cooperative %.5f differ by more than 4 x %.4f",
                 plain.logZ, coop.logZ, e);
    }
    check_run(m, 1, 1, 8, &coop, "cooperative, chunk 1");
    check_run(m, 1, 3, 8, &coop, "cooperative, chunk 3");
    check_run(m, 1, CLV_CHUNK_AUTO, 8, &coop, "cooperative, chunk auto");
    check_run(m, 1, 4, 5, NULL, "cooperative, local size 5");
    clv_mesh *two = tu_open(2, NULL);
    if (two) {
        check_run(two, 1, CLV_CHUNK_NONE, 8, &coop, "cooperative, 2 devices");
        check_run(two, 1, 3, 8, &coop, "cooperative, 2 devices, chunk 3");
        clv_mesh_close(two);
    }
    /* the plain signature under cooperative = 1: a build error naming it */
    clv_nss_result bad;
    st = run(m, 1, nss_obs_plain_source, CLV_CHUNK_NONE, 8, &bad, why, sizeof why);
    TU_CHECK(st == CLV_ERROR_BUILD && strstr(why, "loglikelihood"), "plain source as cooperative: %s: %s",
             clv_status_string(st), why);
    clv_nss_result_free(&bad);
    clv_nss_result_free(&plain);
    clv_nss_result_free(&coop);
    clv_mesh_close(m);
    free(obs);
    return tu_summary();
}
