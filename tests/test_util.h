/* Small helpers shared by the core tests: checks that count, meshes over the
 * first platform's devices, and the seed and size knobs.
 *   CLV_TEST_SEED=n   rerun a property test with the seed it printed
 *   CLV_TEST_SMALL=1  small sizes (used under oclgrind, which is slow) */
#ifndef CLV_TEST_UTIL_H
#define CLV_TEST_UTIL_H

#include "clvmap.h"
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static int tu_passed, tu_failed;

#define TU_CHECK(cond, ...)                                          \
    do {                                                             \
        if (cond) {                                                  \
            ++tu_passed;                                             \
        } else {                                                     \
            ++tu_failed;                                             \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);              \
            printf(__VA_ARGS__);                                     \
            printf("\n");                                            \
        }                                                            \
    } while (0)

/* Stop the test program on a status that makes going on pointless. */
#define TU_REQUIRE_OK(mesh, call)                                               \
    do {                                                                        \
        clv_status tu_s_ = (call);                                              \
        if (tu_s_ != CLV_OK) {                                                  \
            printf("FAIL %s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #call,     \
                   clv_status_string(tu_s_), clv_mesh_message(mesh));           \
            exit(1);                                                            \
        }                                                                       \
    } while (0)

static inline int tu_small(void)
{
    const char *s = getenv("CLV_TEST_SMALL");
    return s && *s && strcmp(s, "0") != 0;
}

static inline unsigned long long tu_seed(void)
{
    const char *s = getenv("CLV_TEST_SEED");
    unsigned long long seed = s ? strtoull(s, NULL, 10) : 20261121ULL;
    printf("seed %llu (rerun with CLV_TEST_SEED=%llu)\n", seed, seed);
    return seed;
}

/* splitmix64: the tests' host-side random numbers. */
static inline unsigned long long tu_next(unsigned long long *state)
{
    unsigned long long z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Devices of the first platform (the same kind of device, so bitwise
 * comparisons across splits are meaningful). */
static inline int tu_platform_devices(char *platform, size_t size)
{
    cl_platform_id p;
    cl_uint n = 0, n_platforms = 0;
    if (clGetPlatformIDs(1, &p, &n_platforms) != CL_SUCCESS || n_platforms == 0) return 0;
    clGetPlatformInfo(p, CL_PLATFORM_NAME, size - 1, platform, NULL);
    platform[size - 1] = '\0';
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, NULL, &n) != CL_SUCCESS) return 0;
    return (int)n;
}

/* Into how many equal sub-devices a device splits (1: not at all). */
static inline int tu_equal_parts(cl_device_id id)
{
    cl_device_partition_property props[16];
    size_t bytes = 0;
    cl_uint cu = 0, max_sub = 0, most = 1;
    clGetDeviceInfo(id, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    if (clGetDeviceInfo(id, CL_DEVICE_PARTITION_MAX_SUB_DEVICES, sizeof max_sub, &max_sub, NULL) != CL_SUCCESS)
        max_sub = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_PARTITION_PROPERTIES, sizeof props, props, &bytes) != CL_SUCCESS) bytes = 0;
    for (size_t k = 0; k < bytes / sizeof props[0] && props[k]; ++k)
        if (props[k] == CL_DEVICE_PARTITION_EQUALLY) most = max_sub < cu ? max_sub : cu;
    return (int)most;
}

/* A device string for n devices of one kind on the first platform: its first
 * n devices ("P:0,P:1"), or else its device 0 split into n sub-devices
 * ("P:0/n", the one way to get several devices from Intel's CPU runtime).
 * CLV_TEST_SUB_DEVICES=1 asks for sub-devices even when there are n devices
 * (a test that is meant to run on them exits 77 when device 0 cannot split).
 * Returns 0, with the reason in why, when neither gives n devices. */
static inline int tu_device_spec(int n, char *spec, size_t size, char *why, size_t why_size)
{
    char platform[256] = "";
    cl_platform_id p;
    cl_device_id first;
    cl_uint n_platforms = 0;
    const char *env = getenv("CLV_TEST_SUB_DEVICES");
    int want_sub = env && *env && strcmp(env, "0") != 0;
    int have = tu_platform_devices(platform, sizeof platform), parts = 1;
    spec[0] = '\0';
    if (have > 0 && clGetPlatformIDs(1, &p, &n_platforms) == CL_SUCCESS &&
        clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &first, NULL) == CL_SUCCESS)
        parts = tu_equal_parts(first);
    if (want_sub && parts < 2) {
        printf("skip: CLV_TEST_SUB_DEVICES=1, but device 0 of \"%s\" cannot be split into sub-devices "
               "(no CL_DEVICE_PARTITION_EQUALLY, or one compute unit)\n", platform);
        exit(77);
    }
    if (n > 1 && (want_sub || have < n) && parts >= n) {
        snprintf(spec, size, "%s:0/%d", platform, n);
        return 1;
    }
    if (have >= n && !(want_sub && n > 1)) {
        for (int i = 0; i < n; ++i) {
            size_t used = strlen(spec);
            snprintf(spec + used, size - used, "%s%s:%d", i ? "," : "", platform, i);
        }
        return 1;
    }
    snprintf(why, why_size, "%d device(s) wanted; the first platform (%s) has %d, and its device 0 splits into "
             "%s%d sub-devices (PoCL: POCL_DEVICES=\"pthread pthread pthread\"; a CPU runtime: more cores)",
             n, platform[0] ? platform : "none", have, parts < 2 ? "no " : "at most ", parts < 2 ? 0 : parts);
    return 0;
}

/* A mesh of n devices of the first platform (tu_device_spec), split by
 * weights (NULL: equal), with failover when asked. NULL, with the reason
 * printed, when the platform cannot give n devices. */
static inline clv_mesh *tu_open_failover(int n, const double *weights, int failover)
{
    char spec[1024], why[512];
    if (!tu_device_spec(n, spec, sizeof spec, why, sizeof why)) {
        printf("skip: %s\n", why);
        return NULL;
    }
    clv_mesh_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.devices = spec;
    desc.failover = failover;
    if (weights) {
        desc.split = CLV_SPLIT_WEIGHTS;
        desc.weights = weights;
        desc.n_weights = n;
    }
    clv_mesh *m = NULL;
    clv_status s = clv_mesh_open(&m, &desc);
    if (s != CLV_OK) {
        printf("FAIL: clv_mesh_open(\"%s\"): %s\n", spec, clv_mesh_message(m));
        clv_mesh_close(m);
        exit(1);
    }
    return m;
}

static inline clv_mesh *tu_open(int n, const double *weights) { return tu_open_failover(n, weights, 0); }

/* A counter of clv_device_stats summed over the mesh's devices, e.g.
 * TU_STAT_SUM(m, items_recovered). */
#define TU_STAT_SUM(m, field) tu_stat_sum((m), offsetof(clv_device_stats, field))
static inline uint64_t tu_stat_sum(clv_mesh *m, size_t offset)
{
    uint64_t total = 0;
    for (int d = 0; d < clv_mesh_device_count(m); ++d) {
        clv_device_stats st;
        clv_mesh_stats(m, d, &st);
        total += *(const uint64_t *)((const char *)&st + offset);
    }
    return total;
}

/* Device bytes the mesh still holds once its kept scratch is released. */
static inline uint64_t tu_bytes_held(clv_mesh *m)
{
    clv_mesh_trim(m);
    return TU_STAT_SUM(m, bytes_current);
}

static inline int tu_summary(void)
{
    printf("%d passed, %d failed\n", tu_passed, tu_failed);
    return tu_failed != 0;
}

#endif
