/* The inversion likelihood (examples/nss_inversion.h: a Cholesky of an
 * n x n matrix and two triangular solves per evaluation), plain and
 * cooperative:
 *   - log Z of both forms within 4 reported errors of the host's quadrature
 *     (Gaussian in the background b, trapezoid in log10 lambda), and of
 *     each other;
 *   - the cooperative result bitwise the same for chunk none, 1, 4 and auto
 *     and on 1 and 2 devices (local size 8);
 *   - the scratch high-water exactly chunk x (n^2 + n) values for chunk 1
 *     and 4: the per-particle matrices are allocated for one chunk only,
 *     whatever n_live and num_delete; the device peak is the shared data
 *     plus that plus the small particle arrays;
 *   - every sample's log-likelihood, as the device's blocked Cholesky gave
 *     it, within 1e-9 (relative) of the host's plain one at the same point,
 *     for n = 36 and n = 100 (blocks of 32: a partial last block, and the
 *     4 x 4 tiles of the trailing rows with a short last row group; small
 *     runs, as under oclgrind: n = 16 and 36). */
#include "test_util.h"
#include "nss_inversion.h"

static inv_problem prob;

static clv_status run(clv_mesh *m, int coop, long chunk, clv_nss_result *r, char *why, size_t size)
{
    clv_nss *s = NULL;
    clv_status st = inv_sampler(&s, m, &prob, coop);
    clv_nss_opts o;
    memset(&o, 0, sizeof o);
    o.n_live = tu_small() ? 20 : 60;
    o.num_delete = tu_small() ? 4 : 10;
    o.num_inner_steps = 5;
    o.chunk = chunk;
    o.local_size = coop ? 8 : 0;
    o.seed = 5;
    o.max_iterations = tu_small() ? 4 : 0;
    clv_mesh_trim(m); /* the previous run's kept scratch would count in this run's peak */
    if (st == CLV_OK) st = clv_nss_run(s, &o, r);
    snprintf(why, size, "%s", clv_nss_message(s));
    clv_nss_free(s);
    return st;
}

/* Every finite sample log-likelihood against inv_loglikelihood_host. */
static void check_values(const clv_nss_result *r, const char *what)
{
    double worst = 0;
    size_t bad = 0;
    for (size_t k = 0; k < r->n_samples; ++k) {
        double host = inv_loglikelihood_host(&prob, r->x[2 * k], r->x[2 * k + 1]);
        double dev = r->loglikelihood[k], rel = fabs(dev - host) / fmax(1, fabs(host));
        if (!(rel <= 1e-9)) ++bad;
        if (rel > worst || rel != rel) worst = rel;
    }
    TU_CHECK(r->n_samples > 0 && bad == 0, "%s: %zu of %zu log-likelihoods off the host's (worst relative %.3g)", what,
             bad, r->n_samples, worst);
    printf("  %-34s %zu log-likelihoods, worst relative difference to the host %.2g\n", what, r->n_samples, worst);
}

static int same(const clv_nss_result *a, const clv_nss_result *b)
{
    return a->n_samples == b->n_samples && a->evaluations == b->evaluations &&
           memcmp(&a->logZ, &b->logZ, sizeof a->logZ) == 0 &&
           memcmp(a->x, b->x, a->n_samples * 2 * sizeof(double)) == 0 &&
           memcmp(a->loglikelihood, b->loglikelihood, a->n_samples * sizeof(double)) == 0;
}

static void check(clv_mesh *m, long chunk, const clv_nss_result *ref, const char *what)
{
    char why[8192];
    clv_nss_result r;
    clv_status st = run(m, 1, chunk, &r, why, sizeof why);
    TU_CHECK(st == CLV_OK, "%s: %s", what, why);
    if (st == CLV_OK) {
        TU_CHECK(same(ref, &r), "%s: log Z %.17g differs from %.17g", what, r.logZ, ref->logZ);
        uint64_t per = ((uint64_t)prob.n * prob.n + prob.n) * sizeof(double);
        if (chunk > 0)
            TU_CHECK(r.peak_scratch_bytes == (uint64_t)chunk * per, "%s: scratch high-water %llu, not %ld x %llu",
                     what, (unsigned long long)r.peak_scratch_bytes, chunk, (unsigned long long)per);
        printf("  %-34s log Z %.6f, peak device bytes %llu, scratch %llu\n", what, r.logZ,
               (unsigned long long)r.peak_device_bytes, (unsigned long long)r.peak_scratch_bytes);
    }
    clv_nss_result_free(&r);
}

/* n = 100: four blocks, the last one short (small runs: n = 36, two blocks,
 * so that oclgrind sees the tiles); each form as run() runs it. */
static void check_larger(clv_mesh *m)
{
    inv_problem small = prob;
    const int side = tu_small() ? 6 : 10;
    if (!inv_problem_make(&prob, side)) {
        prob = small;
        TU_CHECK(0, "side %d: out of host memory", side);
        return;
    }
    for (int coop = 0; coop < 2; ++coop) {
        char why[8192], what[64];
        clv_nss_result r;
        memset(&r, 0, sizeof r);
        clv_status st = run(m, coop, CLV_CHUNK_NONE, &r, why, sizeof why);
        snprintf(what, sizeof what, "n = %d, %s, values", prob.n, coop ? "cooperative" : "plain");
        TU_CHECK(st == CLV_OK, "%s: %s", what, why);
        if (st == CLV_OK) check_values(&r, what);
        clv_nss_result_free(&r);
    }
    inv_problem_free(&prob);
    prob = small;
}

int main(void)
{
    if (!inv_problem_make(&prob, tu_small() ? 4 : 6)) return 1;
    double reference = inv_reference_logz(&prob, 201);
    clv_mesh *m = tu_open(1, NULL);
    if (!m) {
        inv_problem_free(&prob);
        return 77;
    }
    char why[8192];
    clv_nss_result plain, coop;
    clv_status st1 = run(m, 0, CLV_CHUNK_NONE, &plain, why, sizeof why);
    TU_CHECK(st1 == CLV_OK, "plain: %s", why);
    clv_status st2 = run(m, 1, CLV_CHUNK_NONE, &coop, why, sizeof why);
    TU_CHECK(st2 == CLV_OK, "cooperative: %s", why);
    if (st1 == CLV_OK && st2 == CLV_OK) {
        printf("n = %d: reference log Z %.6f, plain %.6f +- %.4f, cooperative %.6f +- %.4f\n", prob.n, reference,
               plain.logZ, plain.logZ_error, coop.logZ, coop.logZ_error);
        if (!tu_small()) {
            TU_CHECK(fabs(plain.logZ - reference) <= 4 * plain.logZ_error, "plain: log Z %.5f, reference %.5f",
                     plain.logZ, reference);
            TU_CHECK(fabs(coop.logZ - reference) <= 4 * coop.logZ_error, "cooperative: log Z %.5f, reference %.5f",
                     coop.logZ, reference);
            double e = sqrt(plain.logZ_error * plain.logZ_error + coop.logZ_error * coop.logZ_error);
            TU_CHECK(fabs(plain.logZ - coop.logZ) <= 4 * e, "plain %.5f, cooperative %.5f", plain.logZ, coop.logZ);
        }
        check_values(&plain, "plain, values");
        check_values(&coop, "cooperative, values");
        check(m, 1, &coop, "cooperative, chunk 1");
        check(m, 4, &coop, "cooperative, chunk 4");
        check(m, CLV_CHUNK_AUTO, &coop, "cooperative, chunk auto");
        clv_mesh *two = tu_open(2, NULL);
        if (two) {
            check(two, CLV_CHUNK_NONE, &coop, "cooperative, 2 devices");
            check(two, 4, &coop, "cooperative, 2 devices, chunk 4");
            clv_mesh_close(two);
        }
    }
    clv_nss_result_free(&plain);
    clv_nss_result_free(&coop);
    check_larger(m);
    clv_mesh_close(m);
    inv_problem_free(&prob);
    return tu_summary();
}
