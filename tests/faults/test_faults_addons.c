/* Suite `faults`, add-ons: NSS, NUTS and L-BFGS under the faults that
 * CLV_FAULT_INJECTION injects, each against its own fault-free run on a
 * failover mesh of two devices:
 *   - device 1, then device 0, dies halfway through its launches (NUTS: the
 *     chains of the lost device resume from their last completed block on
 *     the other; L-BFGS also with a host callback that writes its outputs
 *     with its own OpenCL): results bitwise equal, the device marked lost,
 *     items recovered;
 *   - the n-th device buffer allocation fails, for n spread over the whole
 *     run: the same bits (the map halved its chunk) or a clear
 *     CLV_ERROR_OUT_OF_MEMORY, and no device byte left held;
 *   - the build of the add-on's program fails: a clear CLV_ERROR_BUILD from
 *     its constructor, nothing returned. */
#define CLV_FAULT_INJECTION
#include "test_util.h"
#include "clvmap_nss.h"
#include "clvmap_nuts.h"
#include "clvmap_lbfgs.h"
#include "nss_problems.h"
#include "nuts_models.h"
#define LBFGS_TEST_NO_QUADRATIC
#include "objectives.h"

/* One add-on's work: run it on a mesh into an opaque result; compare two
 * results bit for bit; free one. */
typedef struct addon {
    const char *name;
    clv_status (*run)(clv_mesh *m, void *result, char *message, size_t size);
    int (*same)(const void *a, const void *b);
    void (*free)(void *result);
    size_t result_size;
} addon;

/* ---- NSS: the 3-d Gaussian of the nss suite ------------------------------ */

static clv_status nss_work(clv_mesh *m, void *result, char *message, size_t size)
{
    clv_nss_problem p;
    memset(&p, 0, sizeof p);
    p.source = nss_gauss_source;
    p.dim = 3;
    p.data = nss_gauss_data;
    p.n_data = 2;
    clv_nss *s = NULL;
    clv_status st = clv_nss_new(&s, m, &p);
    clv_nss_opts o;
    memset(&o, 0, sizeof o);
    o.n_live = 40;
    o.num_delete = 8;
    o.num_inner_steps = 6;
    o.chunk = 3;
    o.seed = 5;
    o.max_iterations = tu_small() ? 8 : 40;
    if (st == CLV_OK) st = clv_nss_run(s, &o, (clv_nss_result *)result);
    snprintf(message, size, "%s", st == CLV_OK ? "" : clv_nss_message(s));
    clv_nss_free(s);
    return st;
}

static int nss_same(const void *pa, const void *pb)
{
    const clv_nss_result *a = (const clv_nss_result *)pa, *b = (const clv_nss_result *)pb;
    size_t n = a->n_samples;
    return a->n_samples == b->n_samples && memcmp(&a->logZ, &b->logZ, sizeof a->logZ) == 0 &&
           a->evaluations == b->evaluations && memcmp(a->x, b->x, n * 3 * sizeof(double)) == 0 &&
           memcmp(a->loglikelihood, b->loglikelihood, n * sizeof(double)) == 0 &&
           memcmp(a->log_weight, b->log_weight, n * sizeof(double)) == 0;
}

static void nss_free(void *r) { clv_nss_result_free((clv_nss_result *)r); }

/* ---- NUTS: eight schools, blocks of 5 iterations --------------------------- */

static clv_status nuts_work(clv_mesh *m, void *result, char *message, size_t size)
{
    nuts_model_def def;
    nuts_model_make("eight_schools", 0, &def);
    clv_nuts_model model = nuts_model_desc(&def);
    clv_nuts *s = NULL;
    clv_status st = clv_nuts_new(&s, m, &model);
    clv_nuts_opts o;
    memset(&o, 0, sizeof o);
    o.n_chains = 6;
    o.num_warmup = tu_small() ? 20 : 40;
    o.num_draws = tu_small() ? 10 : 30;
    o.block = 5;
    o.chunk = 2;
    o.seed = 17;
    if (st == CLV_OK) st = clv_nuts_run(s, &o, (clv_nuts_result *)result);
    snprintf(message, size, "%s", st == CLV_OK ? "" : clv_nuts_message(s));
    clv_nuts_free(s);
    nuts_model_free(&def);
    return st;
}

static int nuts_same(const void *pa, const void *pb)
{
    const clv_nuts_result *a = (const clv_nuts_result *)pa, *b = (const clv_nuts_result *)pb;
    size_t n = (size_t)a->n_chains * a->num_draws;
    return a->n_chains == b->n_chains && a->num_draws == b->num_draws &&
           memcmp(a->draws, b->draws, n * (size_t)a->dim * sizeof(double)) == 0 &&
           memcmp(a->lp, b->lp, n * sizeof(double)) == 0 &&
           memcmp(a->step_size, b->step_size, n * sizeof(double)) == 0 &&
           memcmp(a->n_leapfrog, b->n_leapfrog, n * sizeof(int)) == 0 &&
           memcmp(a->inv_mass, b->inv_mass, (size_t)a->n_chains * a->dim * sizeof(double)) == 0 &&
           a->n_generated == b->n_generated && a->generated && b->generated && /* tau, theta[1..8] */
           memcmp(a->generated, b->generated, n * (size_t)a->n_generated * sizeof(double)) == 0;
}

static void nuts_free(void *r) { clv_nuts_result_free((clv_nuts_result *)r); }

/* ---- L-BFGS: 40 Rosenbrock problems, n = 8, varied starts -------------------- */

enum { LB_ITEMS = 40, LB_N = 8 };

typedef struct lbfgs_result {
    double x[LB_ITEMS * LB_N], fx[LB_ITEMS];
    int reason[LB_ITEMS], iterations[LB_ITEMS], evaluations[LB_ITEMS];
} lbfgs_result;

/* Solve the 40 problems with the given objective (a kernel or a callback). */
static clv_status lbfgs_solve(clv_mesh *m, const clv_lbfgs_objective *obj, void *result, char *message, size_t size)
{
    lbfgs_result *r = (lbfgs_result *)result;
    clv_lbfgs_parameter param;
    memset(&param, 0, sizeof param);
    param.chunk = 7;
    param.max_iterations = 200;
    clv_lbfgs *s = NULL;
    clv_status st = clv_lbfgs_new(&s, m, LB_N, obj, &param);
    for (int i = 0; i < LB_ITEMS; ++i)
        for (int k = 0; k < LB_N; ++k) r->x[i * LB_N + k] = k % 2 ? 1.0 + 0.01 * i : -1.2 + 0.02 * i;
    clv_lbfgs_items out;
    memset(&out, 0, sizeof out);
    out.fx = r->fx;
    out.reason = r->reason;
    out.iterations = r->iterations;
    out.evaluations = r->evaluations;
    if (st == CLV_OK) st = clv_lbfgs_minimize(s, LB_ITEMS, r->x, &out, NULL, NULL);
    snprintf(message, size, "%s", st == CLV_OK ? "" : clv_lbfgs_message(s));
    clv_lbfgs_free(s);
    return st;
}

static clv_status lbfgs_work(clv_mesh *m, void *result, char *message, size_t size)
{
    clv_lbfgs_objective obj;
    memset(&obj, 0, sizeof obj);
    obj.source = rosenbrock_cl;
    return lbfgs_solve(m, &obj, result, message, size);
}

static int lbfgs_same(const void *a, const void *b) { return memcmp(a, b, sizeof(lbfgs_result)) == 0; }

/* The same problems through a host callback that writes g and f with its
 * own OpenCL (clEnqueueWriteBuffer on each device's part), as CLBlast code
 * would: the solver must refresh the failover host copies after it. */
static clv_status raw_rosenbrock(void *user, const clv_lbfgs_batch *b)
{
    (void)user;
    size_t rows = b->n_items, n = b->n;
    double *x = (double *)malloc(rows * n * sizeof *x), *g = (double *)malloc(rows * n * sizeof *g);
    double *f = (double *)malloc(rows * sizeof *f);
    clv_status st = x && g && f ? clv_array_read(b->x, x) : CLV_ERROR_OUT_OF_MEMORY;
    for (size_t r = 0; st == CLV_OK && r < rows; ++r) {
        f[r] = 0;
        for (size_t i = 0; i + 1 < n; i += 2) { /* the order of objectives.h's rosenbrock_cl */
            const double *xi = x + r * n;
            double t1 = 1 - xi[i], t2 = 10 * (xi[i + 1] - xi[i] * xi[i]);
            g[r * n + i + 1] = 20 * t2;
            g[r * n + i] = -2 * (xi[i] * g[r * n + i + 1] + t1);
            f[r] += t1 * t1 + t2 * t2;
        }
    }
    for (int d = 0; st == CLV_OK && d < clv_mesh_device_count(b->mesh); ++d) {
        size_t first = 0, count = 0;
        cl_mem gb = clv_array_buffer(b->g, d, &first, &count), fb = clv_array_buffer(b->f, d, NULL, NULL);
        if (count == 0) continue;
        cl_command_queue q = clv_mesh_queue(b->mesh, d);
        cl_int err = clEnqueueWriteBuffer(q, gb, CL_TRUE, 0, count * n * sizeof *g, g + first * n, 0, NULL, NULL);
        if (err == CL_SUCCESS)
            err = clEnqueueWriteBuffer(q, fb, CL_TRUE, 0, count * sizeof *f, f + first, 0, NULL, NULL);
        if (err != CL_SUCCESS) st = CLV_ERROR_OPENCL;
    }
    if (st != CLV_OK) snprintf(b->message, b->message_size, "raw_rosenbrock: %s", clv_status_string(st));
    free(x), free(g), free(f);
    return st;
}

static clv_status lbfgs_raw_work(clv_mesh *m, void *result, char *message, size_t size)
{
    clv_lbfgs_objective obj;
    memset(&obj, 0, sizeof obj);
    obj.evaluate = raw_rosenbrock;
    return lbfgs_solve(m, &obj, result, message, size);
}

static void lbfgs_free(void *r) { (void)r; }

/* ---- the checks, the same for each add-on ------------------------------------ */

static uint64_t device_launches(clv_mesh *m, int d)
{
    clv_device_stats st;
    clv_mesh_stats(m, d, &st);
    return st.launches;
}

/* The fault-free run; launches[d] and allocations are what it made. */
static void *reference(const addon *a, uint64_t launches[2], uint64_t *allocations)
{
    char message[512];
    void *ref = calloc(1, a->result_size);
    clv_mesh *m = tu_open_failover(2, NULL, 1);
    if (!m) exit(77);
    clv_status st = a->run(m, ref, message, sizeof message);
    if (st != CLV_OK) {
        printf("FAIL: %s, fault-free run: %s\n", a->name, message);
        exit(1);
    }
    launches[0] = device_launches(m, 0);
    launches[1] = device_launches(m, 1);
    *allocations = clv_mesh_faults(m)->allocations;
    clv_mesh_close(m);
    return ref;
}

static void check_loss(const addon *a, const void *ref, int device, uint64_t at)
{
    char message[512];
    void *r = calloc(1, a->result_size);
    clv_mesh *m = tu_open_failover(2, NULL, 1);
    clv_mesh_faults(m)->lose_devices = (uint64_t)1 << device;
    clv_mesh_faults(m)->lose_at_launch = at;
    clv_status st = a->run(m, r, message, sizeof message);
    clv_device_info info;
    clv_device_stats other;
    clv_mesh_device_info(m, device, &info);
    clv_mesh_stats(m, 1 - device, &other);
    TU_CHECK(st == CLV_OK && a->same(ref, r), "%s, device %d dies at launch %llu: %s", a->name, device,
             (unsigned long long)at, st == CLV_OK ? "results differ from the fault-free run" : message);
    TU_CHECK(info.lost && other.items_recovered > 0, "%s, device %d dies at launch %llu: lost %d, %llu items "
             "recovered on device %d", a->name, device, (unsigned long long)at, info.lost,
             (unsigned long long)other.items_recovered, 1 - device);
    if (st == CLV_OK)
        printf("%s: device %d lost at launch %llu, %llu items re-run on device %d, same bits\n", a->name, device,
               (unsigned long long)at, (unsigned long long)other.items_recovered, 1 - device);
    TU_CHECK(tu_bytes_held(m) == 0, "%s, device %d lost: device bytes still held after the run", a->name, device);
    a->free(r); /* also after a failure, as the add-ons document */
    free(r);
    clv_mesh_close(m);
}

/* The n-th allocation fails for about a dozen n spread over the run. */
static void check_allocations(const addon *a, const void *ref, uint64_t allocations)
{
    char message[512];
    int same = 0, refused = 0;
    uint64_t step = allocations / 12 + 1;
    for (uint64_t n = 1; n <= allocations; n += step) {
        void *r = calloc(1, a->result_size);
        clv_mesh *m = tu_open_failover(2, NULL, 1);
        clv_mesh_faults(m)->fail_allocation = n;
        clv_status st = a->run(m, r, message, sizeof message);
        if (st == CLV_OK) {
            TU_CHECK(a->same(ref, r), "%s, allocation %llu fails: results differ", a->name, (unsigned long long)n);
            ++same;
        } else {
            TU_CHECK(st == CLV_ERROR_OUT_OF_MEMORY && message[0], "%s, allocation %llu fails: %s: %s", a->name,
                     (unsigned long long)n, clv_status_string(st), message);
            ++refused;
        }
        TU_CHECK(tu_bytes_held(m) == 0, "%s, allocation %llu fails: device bytes still held", a->name,
                 (unsigned long long)n);
        a->free(r);
        free(r);
        clv_mesh_close(m);
    }
    printf("%s: %llu allocations; failing one of every %llu: %d runs gave the same bits, %d stopped with "
           "CLV_ERROR_OUT_OF_MEMORY\n", a->name, (unsigned long long)allocations, (unsigned long long)step, same,
           refused);
}

static void check_build(const addon *a)
{
    char message[512];
    void *r = calloc(1, a->result_size);
    clv_mesh *m = tu_open_failover(2, NULL, 1);
    clv_mesh_faults(m)->fail_build = 2; /* the add-on's program, on device 1 */
    clv_status st = a->run(m, r, message, sizeof message);
    TU_CHECK(st == CLV_ERROR_BUILD && strstr(message, "injected"), "%s, a failing build: %s: %s", a->name,
             clv_status_string(st), message);
    TU_CHECK(tu_bytes_held(m) == 0, "%s, a failing build: device bytes still held", a->name);
    a->free(r); /* also after a failure, as the add-ons document */
    free(r);
    clv_mesh_close(m);
}

int main(void)
{
    static const addon addons[] = {
        { "NSS", nss_work, nss_same, nss_free, sizeof(clv_nss_result) },
        { "NUTS", nuts_work, nuts_same, nuts_free, sizeof(clv_nuts_result) },
        { "L-BFGS", lbfgs_work, lbfgs_same, lbfgs_free, sizeof(lbfgs_result) },
        { "L-BFGS, callback writing its own buffers", lbfgs_raw_work, lbfgs_same, lbfgs_free, sizeof(lbfgs_result) },
    };
    (void)logistic_cl; /* objectives.h's other objective */
    for (size_t i = 0; i < sizeof addons / sizeof addons[0]; ++i) {
        const addon *a = &addons[i];
        uint64_t launches[2], allocations;
        void *ref = reference(a, launches, &allocations);
        check_loss(a, ref, 1, launches[1] / 2 + 1);
        check_loss(a, ref, 0, launches[0] / 3 + 1);
        check_allocations(a, ref, allocations);
        check_build(a);
        a->free(ref);
        free(ref);
    }
    return tu_summary();
}
