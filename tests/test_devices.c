/* The device-string parser (clv_mesh_desc.devices and $CLV_DEVICES). Run with
 * POCL_DEVICES="pthread pthread pthread": one platform, three CPU devices.
 * One line per case: "ok <name>" or "FAIL <name>: <why>". */
#define _POSIX_C_SOURCE 200112L /* setenv, unsetenv */
#include "clvmap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N_DEVICES = 3 };

static int n_passed, n_failed;
static cl_device_id all_ids[N_DEVICES]; /* flat index -> device, from "all" */

static void check(const char *name, int ok, const char *fmt, ...)
{
    if (ok) {
        printf("ok %s\n", name);
        ++n_passed;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %s: ", name);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    ++n_failed;
}

/* spec NULL: desc.devices left NULL. desc NULL when use_desc is 0. */
static clv_status open_spec(clv_mesh **m, const char *spec, int use_desc)
{
    clv_mesh_desc d = {0};
    d.devices = spec;
    *m = NULL;
    return clv_mesh_open(m, use_desc ? &d : NULL);
}

/* The mesh holds exactly the devices of flat indices want[0..n), in order. */
static int has_devices(const clv_mesh *m, const int *want, int n)
{
    if (clv_mesh_device_count(m) != n) return 0;
    for (int i = 0; i < n; ++i)
        if (clv_mesh_device_id(m, i) != all_ids[want[i]]) return 0;
    return 1;
}

static void valid(const char *name, const char *spec, int use_desc, const int *want, int n)
{
    clv_mesh *m;
    clv_status st = open_spec(&m, spec, use_desc);
    check(name, st == CLV_OK && has_devices(m, want, n), "spec \"%s\": status %d (%s), %d device(s): %s",
          spec ? spec : "(NULL)", (int)st, clv_status_string(st), clv_mesh_device_count(m), clv_mesh_message(m));
    clv_mesh_close(m);
}

/* A refused spec: the status, a mesh whose message names the entry, no devices. */
static void invalid(const char *name, const char *spec, clv_status want, const char *needle)
{
    clv_mesh *m;
    clv_status st = open_spec(&m, spec, 1);
    const char *msg = clv_mesh_message(m);
    if (st == want) printf("   message: %.160s\n", msg);
    check(name, st == want && m && msg[0] && (!needle || strstr(msg, needle)) && clv_mesh_device_count(m) == 0 &&
                    !clv_mesh_device_id(m, 0),
          "spec \"%.40s\": status %d (%s), expected %d; message: %.200s", spec, (int)st, clv_status_string(st),
          (int)want, msg);
    clv_mesh_close(m);
}

static void test_valid(void)
{
    static const int i012[] = { 0, 1, 2 }, i0[] = { 0 }, i1[] = { 1 }, i02[] = { 0, 2 }, i20[] = { 2, 0 },
                     i01[] = { 0, 1 }, i210[] = { 2, 1, 0 };
    valid("all", "all", 1, i012, 3);
    valid("cpu", "cpu", 1, i012, 3);
    valid("index_0", "0", 1, i0, 1);
    valid("indices_0_2", "0,2", 1, i02, 2);
    valid("indices_2_0_order_kept", "2,0", 1, i20, 2);
    valid("indices_2_1_0_order_kept", "2,1,0", 1, i210, 3);
    valid("spaces", " 0 , 1 ", 1, i01, 2);
    valid("leading_zeros", "00,001", 1, i01, 2);
    valid("platform_substring", "portable:1", 1, i1, 1);
    valid("platform_full_name_upper_case", "PORTABLE COMPUTING LANGUAGE:0", 1, i0, 1);
    valid("platform_and_flat_mixed", "Computing:2,0", 1, i20, 2);
    valid("index_then_type", "0,cpu", 1, i012, 3);
}

static void test_environment(void)
{
    static const int i20[] = { 2, 0 }, i1[] = { 1 }, i012[] = { 0, 1, 2 };
    clv_mesh *m;
    setenv("CLV_DEVICES", "2,0", 1);
    valid("env_used_when_desc_devices_null", NULL, 1, i20, 2);
    valid("env_used_when_desc_null", NULL, 0, i20, 2);
    valid("desc_devices_overrides_env", "1", 1, i1, 1);
    setenv("CLV_DEVICES", "x", 1);
    clv_status st = open_spec(&m, NULL, 0);
    check("env_bad_spec_refused", st == CLV_ERROR_DEVICE_SPEC && strstr(clv_mesh_message(m), "\"x\""),
          "status %d: %s", (int)st, clv_mesh_message(m));
    clv_mesh_close(m);
    setenv("CLV_DEVICES", "", 1); /* set but empty: as if unset */
    valid("env_empty_means_default", NULL, 1, i012, 3);
    unsetenv("CLV_DEVICES");
    valid("default_all_cpus_when_no_gpu", NULL, 0, i012, 3);
    valid("default_zero_desc", NULL, 1, i012, 3);
    /* Success leaves no stale message behind ("The latest error's message, or """). */
    st = open_spec(&m, NULL, 0);
    check("default_open_leaves_empty_message", st == CLV_OK && clv_mesh_message(m)[0] == '\0',
          "status %d, message after a successful open: \"%s\"", (int)st, clv_mesh_message(m));
    clv_mesh_close(m);
}

static void test_invalid(void)
{
    char long_spec[5001];
    memset(long_spec, 'x', sizeof long_spec - 1);
    long_spec[sizeof long_spec - 1] = '\0';
    /* Only NULL means "the default" (clv_mesh_desc.devices: "NULL: $CLV_DEVICES,
     * else the default"); an explicit empty string is a spec with no entry. */
    invalid("empty_string", "", CLV_ERROR_DEVICE_SPEC, "empty");
    invalid("only_spaces", "   ", CLV_ERROR_DEVICE_SPEC, "empty");
    invalid("comma", ",", CLV_ERROR_DEVICE_SPEC, "empty");
    invalid("trailing_comma", "0,", CLV_ERROR_DEVICE_SPEC, "empty");
    invalid("leading_comma", ",0", CLV_ERROR_DEVICE_SPEC, "empty");
    invalid("out_of_range", "7", CLV_ERROR_DEVICE_SPEC, "7");
    invalid("out_of_range_after_good", "0,3", CLV_ERROR_DEVICE_SPEC, "3");
    invalid("named_twice", "0,0", CLV_ERROR_DEVICE_SPEC, "twice");
    invalid("named_twice_by_platform", "portable:1,1", CLV_ERROR_DEVICE_SPEC, "twice");
    invalid("word", "x", CLV_ERROR_DEVICE_SPEC, "\"x\"");
    invalid("negative", "-1", CLV_ERROR_DEVICE_SPEC, "-1");
    invalid("platform_without_index", "pocl:", CLV_ERROR_DEVICE_SPEC, "pocl:");
    invalid("index_without_platform", ":0", CLV_ERROR_DEVICE_SPEC, ":0");
    invalid("unknown_platform", "nosuchplatform:0", CLV_ERROR_DEVICE_SPEC, "nosuchplatform");
    invalid("platform_index_out_of_range", "portable:5", CLV_ERROR_DEVICE_SPEC, "portable:5");
    invalid("index_with_junk", "0:1x", CLV_ERROR_DEVICE_SPEC, "0:1x");
    invalid("huge_index", "99999999999999999999", CLV_ERROR_DEVICE_SPEC, "9999");
    invalid("very_long_string", long_spec, CLV_ERROR_DEVICE_SPEC, "xxxxxxxxxxxxxxxx");
    invalid("gpu_on_a_cpu_only_machine", "gpu", CLV_ERROR_NO_DEVICE, "gpu");
    invalid("accelerator_on_a_cpu_only_machine", "accelerator", CLV_ERROR_NO_DEVICE, "accelerator");
    /* A type word whose devices were all named already names them twice, like
     * "0,0"; it must not claim that no device of that type exists. */
    invalid("type_named_twice", "cpu,cpu", CLV_ERROR_DEVICE_SPEC, "\"cpu\"");
    invalid("type_after_all_indices", "0,1,2,all", CLV_ERROR_DEVICE_SPEC, "\"all\"");
}

static void test_list(void)
{
    char buf[4096], small[8];
    int n = clv_list_devices(buf, sizeof buf);
    check("list_devices_numbered", n == N_DEVICES && strncmp(buf, "0: ", 3) == 0 && strstr(buf, "\n1: ") &&
          strstr(buf, "\n2: ") && strstr(buf, "Portable Computing Language:2"), "returned %d:\n%s", n, buf);
    printf("%s", buf);
    check("list_devices_null_buffer", clv_list_devices(NULL, 0) == N_DEVICES, "wrong count");
    memset(small, '#', sizeof small);
    n = clv_list_devices(small, sizeof small);
    check("list_devices_truncates", n == N_DEVICES && memchr(small, '\0', sizeof small) != NULL,
          "returned %d, buffer not terminated", n);
}

/* Random strings over the parser's own alphabet: never a crash, only the
 * documented outcomes. */
static void test_fuzz(void)
{
    static const char alphabet[] = "0123456789,: aclpugx";
    unsigned seed = 12345u, state = seed;
    int bad = 0, n_ok = 0;
    char spec[16], first_bad[64] = "";
    for (int t = 0; t < 2000; ++t) {
        int len = (int)((state = state * 1103515245u + 12345u) >> 16) % 11;
        for (int i = 0; i < len; ++i)
            spec[i] = alphabet[((state = state * 1103515245u + 12345u) >> 16) % (sizeof alphabet - 1)];
        spec[len] = '\0';
        clv_mesh *m;
        clv_status st = open_spec(&m, spec, 1);
        int n = clv_mesh_device_count(m);
        int fine = m && (st == CLV_OK ? n >= 1 && n <= N_DEVICES
                                      : (st == CLV_ERROR_DEVICE_SPEC || st == CLV_ERROR_NO_DEVICE) && n == 0 &&
                                            clv_mesh_message(m)[0]);
        n_ok += st == CLV_OK;
        if (!fine && !bad++) snprintf(first_bad, sizeof first_bad, "\"%s\" gave %d", spec, (int)st);
        clv_mesh_close(m);
    }
    check("fuzz_2000_strings", bad == 0, "seed %u: %d bad, first %s", seed, bad, first_bad);
    printf("   fuzz: %d of 2000 opened a mesh\n", n_ok);
}

int main(void)
{
    clv_mesh *m;
    unsetenv("CLV_DEVICES");
    clv_status st = open_spec(&m, "all", 1);
    for (int i = 0; i < N_DEVICES; ++i) all_ids[i] = clv_mesh_device_id(m, i);
    check("setup_three_devices", st == CLV_OK && clv_mesh_device_count(m) == N_DEVICES && all_ids[2] &&
          all_ids[0] != all_ids[1] && all_ids[1] != all_ids[2],
          "needs POCL_DEVICES=\"pthread pthread pthread\": status %d, %d device(s): %s", (int)st,
          clv_mesh_device_count(m), clv_mesh_message(m));
    clv_mesh_close(m);
    if (st == CLV_OK && all_ids[2]) {
        test_valid();
        test_environment();
        test_invalid();
        test_list();
        test_fuzz();
    }
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed != 0;
}
