/* Helpers shared by the lbfgs suite (on top of tests/test_util.h). */
#ifndef LBFGS_TEST_H
#define LBFGS_TEST_H

#include "test_util.h"
#include "clvmap_lbfgs.h"

#include <math.h>

/* A solver for a kernel objective with up to three real data arrays and one
 * int array; exits on failure (the test cannot go on). */
static inline clv_lbfgs *lt_solver(clv_mesh *m, size_t n, const char *source, clv_array *r0, clv_array *r1,
                                   clv_array *r2, clv_array *i0, const clv_lbfgs_parameter *param)
{
    clv_lbfgs_objective obj;
    memset(&obj, 0, sizeof obj);
    obj.source = source;
    obj.data[0] = r0;
    obj.data[1] = r1;
    obj.data[2] = r2;
    obj.idata[0] = i0;
    clv_lbfgs *s = NULL;
    clv_status st = clv_lbfgs_new(&s, m, n, &obj, param);
    if (st != CLV_OK) {
        printf("FAIL: clv_lbfgs_new: %s: %s\n", clv_status_string(st), clv_lbfgs_message(s));
        exit(1);
    }
    return s;
}

/* A replicated array holding host data (f64, or i32 when ints). */
static inline clv_array *lt_replicated(clv_mesh *m, clv_dtype dtype, size_t n_items, size_t elems, const void *host)
{
    clv_array *a = NULL;
    TU_REQUIRE_OK(m, clv_array_new(&a, m, dtype, n_items, elems, CLV_REPLICATED));
    TU_REQUIRE_OK(m, clv_array_write(a, host));
    return a;
}

/* Uniform in [lo, hi) from the tests' splitmix64 stream. */
static inline double lt_uniform(unsigned long long *state, double lo, double hi)
{
    return lo + (hi - lo) * (double)(tu_next(state) >> 11) * 0x1.0p-53;
}

static inline double lt_normal(unsigned long long *state)
{
    double u1 = lt_uniform(state, 0x1.0p-53, 1.0), u2 = lt_uniform(state, 0.0, 1.0);
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

static inline double lt_max_abs_diff(const double *a, const double *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; ++i) d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

static inline double lt_median_int(const int *v, size_t n)
{
    int *c = (int *)malloc(n * sizeof *c);
    memcpy(c, v, n * sizeof *c);
    for (size_t i = 1; i < n; ++i)
        for (size_t j = i; j > 0 && c[j - 1] > c[j]; --j) {
            int t = c[j];
            c[j] = c[j - 1];
            c[j - 1] = t;
        }
    double med = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    free(c);
    return med;
}

#endif
