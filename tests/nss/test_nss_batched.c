/* Batched host-callback likelihoods (clv_nss_problem.evaluate): the
 * Gaussian of examples/nss_problems.h (nss_gauss_source: its logprior and
 * prior_transform, its likelihood as a clvmap map run by the callback):
 *   - log Z within 4 reported errors of the exact -D log 10, and within 4
 *     errors (combined) of the kernel likelihood's run; whether the two are
 *     bitwise equal is printed (same random numbers and decisions, so they
 *     are when the two compilations of the likelihood round alike);
 *   - the callback run bitwise the same for chunk none, 1, 3 and auto, and
 *     on 2 devices (chunk none and 3);
 *   - every call gets at most chunk points; peak device bytes grow by
 *     exactly (chunk - 1) x the bytes of one point of the batch (x, its
 *     log-likelihood, work_elems of scratch) over chunk 1;
 *   - bad callbacks: one that fails (its status and message come back), one
 *     that returns no clv_status, one that writes NaN, one that leaves rows
 *     unwritten, one that passes an invalid buffer to OpenCL; each a clear
 *     status and message, an empty result, the device bytes back where
 *     they were, and the sampler still usable; evaluate with cooperative is
 *     refused by clv_nss_new. */
#include "test_util.h"
#include "nss_problems.h"

#include <math.h>

enum { DIM = 3 };

static const char *const gauss_map =
    "__kernel void gauss(CLV_ITEMS, __global const clv_real *x, __global clv_real *ll,\n"
    "                    __global const clv_real *data) {\n"
    "    CLV_GUARD();\n"
    "    const ulong i = clv_local();\n"
    "    const clv_real sigma = data[1];\n"
    "    clv_real s = 0;\n"
    "    for (int k = 0; k < DIM; ++k) s += (x[i * DIM + k] / sigma) * (x[i * DIM + k] / sigma);\n"
    "    ll[i] = (clv_real)-0.5 * s - DIM * (log(sigma) + (clv_real)0.91893853320467274);\n"
    "}\n";

enum mode { GOOD, FAILS, NOT_A_STATUS, WRITES_NAN, SHORT_COUNT, BAD_BUFFER };

typedef struct user {
    clv_program *program;
    enum mode mode;
    long bad_call;     /* the call that misbehaves */
    size_t most;       /* the largest batch seen */
    long calls;
} user;

static clv_status evaluate(void *u_, const clv_nss_batch *b)
{
    user *u = (user *)u_;
    u->calls = b->call;
    if (b->count > u->most) u->most = b->count;
    int bad = b->call == u->bad_call;
    if (bad && u->mode == FAILS) {
        snprintf(b->message, b->message_size, "the forward model ran out of patience");
        return CLV_ERROR_OPENCL;
    }
    if (bad && u->mode == NOT_A_STATUS) return (clv_status)1234;
    if (bad && u->mode == BAD_BUFFER) {
        double v = 0;
        cl_int err = clEnqueueWriteBuffer(clv_mesh_queue(b->mesh, 0), (cl_mem)0, CL_TRUE, 0, sizeof v, &v, 0, NULL,
                                          NULL);
        snprintf(b->message, b->message_size, "clEnqueueWriteBuffer on a NULL buffer: error %d", (int)err);
        return err == CL_SUCCESS ? CLV_OK : CLV_ERROR_OPENCL;
    }
    if (bad && u->mode == SHORT_COUNT) {
        /* the first count - 1 values only, written into device 0's buffer */
        size_t first = 0, count = 0;
        cl_mem buf = clv_array_buffer(b->loglikelihood, 0, &first, &count);
        double v = -1;
        for (size_t r = 0; r + 1 < count; ++r)
            if (clEnqueueWriteBuffer(clv_mesh_queue(b->mesh, 0), buf, CL_TRUE, r * sizeof v, sizeof v, &v, 0, NULL,
                                     NULL) != CL_SUCCESS)
                return CLV_ERROR_OPENCL;
        return CLV_OK;
    }
    clv_status st = CLV_MAP(u->program, "gauss", b->count, NULL, clv_in(b->x), clv_out(b->loglikelihood),
                            clv_in(b->data));
    if (st != CLV_OK) {
        snprintf(b->message, b->message_size, "gauss: %s", clv_mesh_message(b->mesh));
        return st;
    }
    if (bad && u->mode == WRITES_NAN) {
        double *ll = (double *)calloc(b->count, sizeof(double));
        if (!ll) return CLV_ERROR_OUT_OF_MEMORY;
        st = clv_array_read(b->loglikelihood, ll);
        ll[b->count / 2] = NAN;
        if (st == CLV_OK) st = clv_array_write(b->loglikelihood, ll);
        free(ll);
    }
    return st;
}

static clv_program *build_map(clv_mesh *m)
{
    clv_program_desc d;
    memset(&d, 0, sizeof d);
    d.source = gauss_map;
    d.real = CLV_F64;
    d.options = "-DDIM=3";
    clv_program *p = NULL;
    TU_REQUIRE_OK(m, clv_program_build(&p, m, &d));
    return p;
}

static clv_status run(clv_mesh *m, user *u, long chunk, size_t work, clv_nss_result *r, char *why, size_t why_size)
{
    memset(r, 0, sizeof *r); /* clv_nss_new can fail before clv_nss_run touches it */
    clv_nss_problem p;
    memset(&p, 0, sizeof p);
    p.source = nss_gauss_source;
    p.dim = DIM;
    p.data = nss_gauss_data;
    p.n_data = 2;
    p.work_elems = work;
    if (u) {
        p.evaluate = evaluate;
        p.user = u;
    }
    clv_nss *s = NULL;
    clv_status st = clv_nss_new(&s, m, &p);
    clv_nss_opts o;
    memset(&o, 0, sizeof o);
    o.n_live = tu_small() ? 30 : 150;
    o.num_delete = tu_small() ? 5 : 15;
    o.num_inner_steps = 6;
    o.chunk = chunk;
    o.seed = 5;
    o.max_iterations = tu_small() ? 6 : 0;
    if (st == CLV_OK) st = clv_nss_run(s, &o, r);
    snprintf(why, why_size, "%s", clv_nss_message(s));
    clv_nss_free(s);
    return st;
}

static int same(const clv_nss_result *a, const clv_nss_result *b)
{
    return a->n_samples == b->n_samples && memcmp(&a->logZ, &b->logZ, sizeof a->logZ) == 0 &&
           memcmp(&a->logZ_error, &b->logZ_error, sizeof a->logZ_error) == 0 && a->evaluations == b->evaluations &&
           a->shrink_exhausted == b->shrink_exhausted && a->iterations == b->iterations &&
           memcmp(a->x, b->x, a->n_samples * DIM * sizeof(double)) == 0 &&
           memcmp(a->loglikelihood, b->loglikelihood, a->n_samples * sizeof(double)) == 0 &&
           memcmp(a->log_weight, b->log_weight, a->n_samples * sizeof(double)) == 0;
}

static void check_bits(clv_mesh *m, long chunk, const clv_nss_result *ref, const char *what)
{
    char why[8192];
    clv_nss_result r;
    user u;
    memset(&u, 0, sizeof u);
    u.program = build_map(m);
    clv_status st = run(m, &u, chunk, 0, &r, why, sizeof why);
    TU_CHECK(st == CLV_OK, "%s: %s", what, why);
    if (st == CLV_OK) {
        TU_CHECK(same(ref, &r), "%s: log Z %.17g (%llu evaluations) differs from %.17g (%llu)", what, r.logZ,
                 (unsigned long long)r.evaluations, ref->logZ, (unsigned long long)ref->evaluations);
        if (chunk > 0) TU_CHECK(u.most <= (size_t)chunk, "%s: a call of %zu points", what, u.most);
        printf("  %-32s log Z %.6f +- %.4f, %llu evaluations, %ld calls of at most %zu points\n", what, r.logZ,
               r.logZ_error, (unsigned long long)r.evaluations, u.calls, u.most);
    }
    clv_nss_result_free(&r);
    clv_program_free(u.program);
}

static uint64_t bytes_now(clv_mesh *m)
{
    return TU_STAT_SUM(m, bytes_current);
}

static void check_bad(clv_mesh *m, clv_program *prog, enum mode mode, clv_status want, const char *needle,
                      const char *what)
{
    char why[8192];
    clv_nss_result r;
    user u;
    memset(&u, 0, sizeof u);
    u.program = prog;
    u.mode = mode;
    u.bad_call = 7; /* during the updates: the init takes one call at chunk none */
    uint64_t before = bytes_now(m);
    clv_status st = run(m, &u, CLV_CHUNK_NONE, 0, &r, why, sizeof why);
    printf("  %-28s -> %s: %s\n", what, clv_status_string(st), why);
    TU_CHECK(st == want && strstr(why, needle) != NULL, "%s: %s: %s (wanted %s, \"%s\")", what,
             clv_status_string(st), why, clv_status_string(want), needle);
    TU_CHECK(r.n_samples == 0 && r.x == NULL && r.device == NULL, "%s: the failed run left a result", what);
    TU_CHECK(bytes_now(m) == before, "%s: %llu device bytes held after the failure, %llu before", what,
             (unsigned long long)bytes_now(m), (unsigned long long)before);
    clv_nss_result_free(&r);
    /* in the initial draws too (call 1) */
    u.bad_call = 1;
    st = run(m, &u, CLV_CHUNK_NONE, 0, &r, why, sizeof why);
    TU_CHECK(st == want && strstr(why, "initial point"), "%s in the initial draws: %s: %s", what,
             clv_status_string(st), why);
    clv_nss_result_free(&r);
}

static uint64_t peak_at(clv_mesh *m, clv_program *prog, long chunk, size_t work, double *logZ)
{
    char why[8192];
    clv_nss_result r;
    user u;
    memset(&u, 0, sizeof u);
    u.program = prog;
    clv_mesh_trim(m);
    clv_status st = run(m, &u, chunk, work, &r, why, sizeof why);
    TU_CHECK(st == CLV_OK, "chunk %ld, work %zu: %s", chunk, work, why);
    uint64_t peak = r.peak_device_bytes;
    *logZ = r.logZ;
    clv_nss_result_free(&r);
    return peak;
}

int main(void)
{
    clv_mesh *m = tu_open(1, NULL);
    if (!m) return 77;
    char why[8192];
    double exact = nss_gauss_logz(DIM);
    clv_nss_result kernel, cb;
    TU_REQUIRE_OK(m, run(m, NULL, CLV_CHUNK_NONE, 0, &kernel, why, sizeof why) == CLV_OK
                         ? CLV_OK : (printf("kernel: %s\n", why), CLV_ERROR_INVALID_ARGUMENT));
    user u;
    memset(&u, 0, sizeof u);
    u.program = build_map(m);
    clv_status st = run(m, &u, CLV_CHUNK_NONE, 0, &cb, why, sizeof why);
    TU_REQUIRE_OK(m, st == CLV_OK ? CLV_OK : (printf("callback: %s\n", why), st));
    int bitwise = same(&kernel, &cb);
    printf("exact log Z %.6f\n", exact);
    printf("  kernel likelihood   log Z %.6f +- %.4f, %llu evaluations\n", kernel.logZ, kernel.logZ_error,
           (unsigned long long)kernel.evaluations);
    printf("  callback likelihood log Z %.6f +- %.4f, %llu evaluations, %ld calls: %s the kernel form's\n", cb.logZ,
           cb.logZ_error, (unsigned long long)cb.evaluations, u.calls,
           bitwise ? "bitwise equal to" : "not bitwise equal to");
    if (!tu_small()) {
        TU_CHECK(fabs(cb.logZ - exact) <= 4 * cb.logZ_error, "callback: log Z %.5f, exact %.5f, error %.4f", cb.logZ,
                 exact, cb.logZ_error);
        double e = sqrt(kernel.logZ_error * kernel.logZ_error + cb.logZ_error * cb.logZ_error);
        TU_CHECK(fabs(kernel.logZ - cb.logZ) <= 4 * e, "kernel %.5f and callback %.5f differ by more than 4 x %.4f",
                 kernel.logZ, cb.logZ, e);
    }
    TU_CHECK(cb.nan_loglikelihood == 0 && cb.evaluations > (uint64_t)cb.n_live, "callback: %llu evaluations",
             (unsigned long long)cb.evaluations);
    check_bits(m, 1, &cb, "chunk 1");
    check_bits(m, 3, &cb, "chunk 3");
    check_bits(m, CLV_CHUNK_AUTO, &cb, "chunk auto");
    clv_mesh *two = tu_open(2, NULL);
    if (two) {
        check_bits(two, CLV_CHUNK_NONE, &cb, "2 devices");
        check_bits(two, 3, &cb, "2 devices, chunk 3");
        clv_mesh_close(two);
    }

    /* memory: one batch of chunk points on the device, each x, its
     * log-likelihood and work_elems of scratch */
    enum { WORK = 2000 };
    uint64_t point = (DIM + 1 + WORK) * sizeof(double);
    double z1, z4, z16;
    uint64_t p1 = peak_at(m, u.program, 1, WORK, &z1), p4 = peak_at(m, u.program, 4, WORK, &z4);
    uint64_t p16 = peak_at(m, u.program, 16, WORK, &z16);
    printf("  peak device bytes: chunk 1 %llu, 4 %llu, 16 %llu (a point: %llu bytes)\n", (unsigned long long)p1,
           (unsigned long long)p4, (unsigned long long)p16, (unsigned long long)point);
    TU_CHECK(p4 - p1 == 3 * point && p16 - p1 == 15 * point, "peak device bytes %llu, %llu, %llu at chunk 1, 4, 16 "
             "do not grow by %llu bytes a point", (unsigned long long)p1, (unsigned long long)p4,
             (unsigned long long)p16, (unsigned long long)point);
    TU_CHECK(z1 == z4 && z4 == z16, "log Z with scratch: %.17g, %.17g, %.17g at chunk 1, 4, 16", z1, z4, z16);

    /* bad callbacks */
    check_bad(m, u.program, FAILS, CLV_ERROR_OPENCL, "ran out of patience", "a failing callback");
    check_bad(m, u.program, NOT_A_STATUS, CLV_ERROR_INVALID_ARGUMENT, "1234", "a status that is none");
    check_bad(m, u.program, WRITES_NAN, CLV_ERROR_INVALID_ARGUMENT, "NaN", "a NaN written");
    check_bad(m, u.program, SHORT_COUNT, CLV_ERROR_SHAPE, "left unwritten", "count - 1 values written");
    check_bad(m, u.program, BAD_BUFFER, CLV_ERROR_OPENCL, "NULL buffer", "an invalid buffer");
    /* the sampler's problem is refused before anything is built */
    clv_nss_problem p;
    memset(&p, 0, sizeof p);
    p.source = nss_gauss_source;
    p.dim = DIM;
    p.evaluate = evaluate;
    p.cooperative = 1;
    clv_nss *s = NULL;
    st = clv_nss_new(&s, m, &p);
    TU_CHECK(st == CLV_ERROR_INVALID_ARGUMENT && strstr(clv_nss_message(s), "cooperative"), "evaluate + cooperative: "
             "%s: %s", clv_status_string(st), clv_nss_message(s));
    clv_nss_free(s);
    /* still good after all that */
    check_bits(m, 2, &cb, "chunk 2, after the failures");

    clv_nss_result_free(&kernel);
    clv_nss_result_free(&cb);
    clv_program_free(u.program);
    clv_mesh_close(m);
    return tu_summary();
}
