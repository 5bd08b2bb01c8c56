/* The device-string parser (clv_mesh_desc.devices and $CLV_DEVICES), the
 * platform words users type (pocl:0, intel:0), and sub-devices (cpu/2).
 *
 * Runs on any platform. The cases that name devices 0, 1 and 2 need three
 * devices of the first platform (PoCL: POCL_DEVICES="pthread pthread
 * pthread", as meson gives it); with fewer they are skipped, saying so, and
 * the rest still runs. The sub-device cases need a device that splits
 * (CL_DEVICE_PARTITION_EQUALLY: PoCL and Intel's CPU runtime do); on one that
 * does not, "0/2" must be refused clearly.
 * One line per case: "ok <name>", "FAIL <name>: <why>" or "skip <what>: <why>". */
#define _POSIX_C_SOURCE 200112L /* setenv, unsetenv */
#include "clvmap.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_DEVICES = 64 };

static int n_passed, n_failed;
static int n_all;                           /* devices in the flat list ("all") */
static cl_device_id all_ids[MAX_DEVICES];  /* flat index -> device */
static char platform0[256], vendor0[256], suffix0[64]; /* device 0's platform */
static int n_first_platform;               /* devices 0.. on device 0's platform */

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
static clv_status open_desc(clv_mesh **m, const char *spec, int use_desc, int sub_devices)
{
    clv_mesh_desc d = {0};
    d.devices = spec;
    d.sub_devices = sub_devices;
    *m = NULL;
    return clv_mesh_open(m, use_desc ? &d : NULL);
}

static clv_status open_spec(clv_mesh **m, const char *spec, int use_desc) { return open_desc(m, spec, use_desc, 0); }

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
static void invalid_desc(const char *name, const char *spec, int sub_devices, clv_status want, const char *needle)
{
    clv_mesh *m;
    clv_status st = open_desc(&m, spec, 1, sub_devices);
    const char *msg = clv_mesh_message(m);
    if (st == want) printf("   message: %.200s\n", msg);
    check(name, st == want && m && msg[0] && (!needle || strstr(msg, needle)) && clv_mesh_device_count(m) == 0 &&
                    !clv_mesh_device_id(m, 0),
          "spec \"%.40s\": status %d (%s), expected %d; message: %.200s", spec, (int)st, clv_status_string(st),
          (int)want, msg);
    clv_mesh_close(m);
}

static void invalid(const char *name, const char *spec, clv_status want, const char *needle)
{
    invalid_desc(name, spec, 0, want, needle);
}

static void skip(const char *what, const char *why)
{
    printf("skip %s: %s\n", what, why);
}

/* Do any of the found devices have this type bit? */
static int have_type(cl_device_type type)
{
    for (int i = 0; i < n_all; ++i) {
        cl_device_type t = 0;
        clGetDeviceInfo(all_ids[i], CL_DEVICE_TYPE, sizeof t, &t, NULL);
        if (t & type) return 1;
    }
    return 0;
}

/* ---- the cases that need three devices of one platform ---------------- */

static void test_valid(const char *upper, const char *piece)
{
    static const int i012[] = { 0, 1, 2 }, i0[] = { 0 }, i1[] = { 1 }, i02[] = { 0, 2 }, i20[] = { 2, 0 },
                     i01[] = { 0, 1 }, i210[] = { 2, 1, 0 };
    char spec[512];
    valid("all", "all", 1, i012, 3);
    valid("cpu", "cpu", 1, i012, 3);
    valid("index_0", "0", 1, i0, 1);
    valid("indices_0_2", "0,2", 1, i02, 2);
    valid("indices_2_0_order_kept", "2,0", 1, i20, 2);
    valid("indices_2_1_0_order_kept", "2,1,0", 1, i210, 3);
    valid("spaces", " 0 , 1 ", 1, i01, 2);
    valid("leading_zeros", "00,001", 1, i01, 2);
    snprintf(spec, sizeof spec, "%s:1", piece);
    valid("platform_substring", spec, 1, i1, 1);
    snprintf(spec, sizeof spec, "%s:0", upper);
    valid("platform_full_name_upper_case", spec, 1, i0, 1);
    snprintf(spec, sizeof spec, "%s:2,0", piece);
    valid("platform_and_flat_mixed", spec, 1, i20, 2);
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
    if (n_all == 3 && !have_type(CL_DEVICE_TYPE_GPU)) {
        valid("env_empty_means_default", NULL, 1, i012, 3);
        unsetenv("CLV_DEVICES");
        valid("default_all_cpus_when_no_gpu", NULL, 0, i012, 3);
        valid("default_zero_desc", NULL, 1, i012, 3);
    } else {
        skip("default_rule_cases", "they expect exactly three CPU devices and no GPU");
    }
    unsetenv("CLV_DEVICES");
    /* Success leaves no stale message behind ("The latest error's message, or """). */
    st = open_spec(&m, NULL, 0);
    check("default_open_leaves_empty_message", st == CLV_OK && clv_mesh_message(m)[0] == '\0',
          "status %d, message after a successful open: \"%s\"", (int)st, clv_mesh_message(m));
    clv_mesh_close(m);
}

static void test_invalid_three(const char *piece)
{
    char spec[512], needle[512];
    if (n_all == 3) invalid("out_of_range_after_good", "0,3", CLV_ERROR_DEVICE_SPEC, "3");
    snprintf(spec, sizeof spec, "%s:1,1", piece);
    invalid("named_twice_by_platform", spec, CLV_ERROR_DEVICE_SPEC, "twice");
    /* A type word whose devices were all named already names them twice, like
     * "0,0"; it must not claim that no device of that type exists. */
    invalid("type_named_twice", "cpu,cpu", CLV_ERROR_DEVICE_SPEC, "\"cpu\"");
    if (n_all == 3) invalid("type_after_all_indices", "0,1,2,all", CLV_ERROR_DEVICE_SPEC, "\"all\"");
    snprintf(spec, sizeof spec, "%s:%d", piece, n_first_platform + 2);
    snprintf(needle, sizeof needle, "%s:%d", piece, n_first_platform + 2);
    invalid("platform_index_out_of_range", spec, CLV_ERROR_DEVICE_SPEC, needle);
}

/* ---- the cases that run on any device --------------------------------- */

static void test_invalid(void)
{
    char long_spec[5001], spec[64];
    memset(long_spec, 'x', sizeof long_spec - 1);
    long_spec[sizeof long_spec - 1] = '\0';
    /* Only NULL means "the default" (clv_mesh_desc.devices: "NULL: $CLV_DEVICES,
     * else the default"); an explicit empty string is a spec with no entry. */
    invalid("empty_string", "", CLV_ERROR_DEVICE_SPEC, "empty");
    invalid("only_spaces", "   ", CLV_ERROR_DEVICE_SPEC, "empty");
    invalid("comma", ",", CLV_ERROR_DEVICE_SPEC, "empty");
    invalid("trailing_comma", "0,", CLV_ERROR_DEVICE_SPEC, "empty");
    invalid("leading_comma", ",0", CLV_ERROR_DEVICE_SPEC, "empty");
    snprintf(spec, sizeof spec, "%d", n_all);
    invalid("out_of_range", spec, CLV_ERROR_DEVICE_SPEC, spec);
    invalid("named_twice", "0,0", CLV_ERROR_DEVICE_SPEC, "twice");
    invalid("word", "x", CLV_ERROR_DEVICE_SPEC, "\"x\"");
    invalid("negative", "-1", CLV_ERROR_DEVICE_SPEC, "-1");
    invalid("platform_without_index", "pocl:", CLV_ERROR_DEVICE_SPEC, "pocl:");
    invalid("index_without_platform", ":0", CLV_ERROR_DEVICE_SPEC, ":0");
    invalid("unknown_platform", "nosuchplatform:0", CLV_ERROR_DEVICE_SPEC, "nosuchplatform");
    invalid("index_with_junk", "0:1x", CLV_ERROR_DEVICE_SPEC, "0:1x");
    invalid("huge_index", "99999999999999999999", CLV_ERROR_DEVICE_SPEC, "9999");
    invalid("very_long_string", long_spec, CLV_ERROR_DEVICE_SPEC, "xxxxxxxxxxxxxxxx");
    if (!have_type(CL_DEVICE_TYPE_GPU)) invalid("gpu_on_a_cpu_only_machine", "gpu", CLV_ERROR_NO_DEVICE, "gpu");
    if (!have_type(CL_DEVICE_TYPE_ACCELERATOR))
        invalid("accelerator_on_a_cpu_only_machine", "accelerator", CLV_ERROR_NO_DEVICE, "accelerator");
    /* the /N suffix, before any device is asked */
    invalid("split_into_zero", "0/0", CLV_ERROR_DEVICE_SPEC, "0 sub-devices");
    invalid("split_nothing", "/2", CLV_ERROR_DEVICE_SPEC, "\"/2\"");
    invalid("split_not_a_number", "0/x", CLV_ERROR_DEVICE_SPEC, "\"0/x\"");
    invalid("split_empty", "0/", CLV_ERROR_DEVICE_SPEC, "\"0/\"");
    invalid("split_too_many_digits", "0/1234567", CLV_ERROR_DEVICE_SPEC, "0/1234567");
    invalid("split_then_named_again", "0/2,0", CLV_ERROR_DEVICE_SPEC, "twice");
    invalid_desc("sub_devices_negative", "0", -1, CLV_ERROR_INVALID_ARGUMENT, "sub_devices");
}

/* The platform words users type: the name, a piece of it, the vendor, the
 * ICD suffix, and the short names of the platforms present. */
static void test_platform_words(char *upper, size_t upper_size, char *piece, size_t piece_size)
{
    static const int i0[] = { 0 };
    char spec[512];
    size_t len = strlen(platform0);
    for (size_t i = 0; i <= len && i < upper_size; ++i) upper[i] = (char)toupper((unsigned char)platform0[i]);
    /* a piece from the middle of the name, lower case, without ':' ',' '/' */
    size_t from = len > 4 ? 1 : 0, n = 0;
    for (size_t i = from; i < len && n < 6 && n + 1 < piece_size; ++i) {
        char ch = (char)tolower((unsigned char)platform0[i]);
        if (ch == ':' || ch == ',' || ch == '/' || ch == ' ') break;
        piece[n++] = ch;
    }
    piece[n] = '\0';
    printf("   platform \"%s\", vendor \"%s\", ICD suffix \"%s\"; words used: \"%s\", \"%s\"\n", platform0, vendor0,
           suffix0, upper, piece);
    snprintf(spec, sizeof spec, "%s:0", platform0);
    valid("platform_full_name", spec, 1, i0, 1);
    snprintf(spec, sizeof spec, "%s:0", upper);
    valid("platform_name_upper_case", spec, 1, i0, 1);
    if (n) {
        snprintf(spec, sizeof spec, "%s:0", piece);
        valid("platform_name_piece", spec, 1, i0, 1);
    }
    if (vendor0[0] && !strchr(vendor0, ':') && !strchr(vendor0, ',')) {
        snprintf(spec, sizeof spec, "%s:0", vendor0);
        valid("platform_vendor", spec, 1, i0, 1);
    }
    if (suffix0[0]) {
        snprintf(spec, sizeof spec, "%s:0", suffix0);
        valid("platform_icd_suffix", spec, 1, i0, 1);
        for (char *c = spec; *c; ++c) *c = (char)tolower((unsigned char)*c);
        valid("platform_icd_suffix_lower_case", spec, 1, i0, 1);
    }
    /* What README, the manual and the parser's hint promise: "pocl:0" is PoCL
     * (whose name, "Portable Computing Language", does not contain it). */
    if (strstr(platform0, "Portable Computing Language")) {
        valid("short_name_pocl", "pocl:0", 1, i0, 1);
        valid("short_name_pocl_upper_case", "POCL:0", 1, i0, 1);
        valid("short_name_pocl_mixed_case", "PoCL:0", 1, i0, 1);
    } else {
        skip("short_name_pocl", "the first platform is not PoCL");
    }
    if (strstr(platform0, "Intel") || strstr(vendor0, "Intel")) {
        valid("short_name_intel", "intel:0", 1, i0, 1);
        valid("short_name_intel_upper_case", "INTEL:0", 1, i0, 1);
    }
    /* a short name of a platform that is not there names nothing */
    static const char *const others[] = { "nvidia", "amd", "rusticl", "pocl", "intel" };
    char buf[8192];
    clv_list_devices(buf, sizeof buf);
    for (size_t k = 0; k < sizeof others / sizeof others[0]; ++k) {
        clv_mesh *m;
        snprintf(spec, sizeof spec, "%s:0", others[k]);
        clv_status st = open_spec(&m, spec, 1);
        clv_mesh_close(m);
        if (st == CLV_OK) continue; /* that platform is here */
        char name[64];
        snprintf(name, sizeof name, "short_name_%s_absent", others[k]);
        invalid(name, spec, CLV_ERROR_DEVICE_SPEC, spec);
    }
}

/* Into how many equal sub-devices device 0 splits, asked of OpenCL directly. */
static cl_uint equal_parts(cl_device_id id, cl_uint *cu)
{
    cl_device_partition_property props[16];
    size_t bytes = 0;
    cl_uint max_sub = 0, most = 1;
    clGetDeviceInfo(id, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof *cu, cu, NULL);
    if (clGetDeviceInfo(id, CL_DEVICE_PARTITION_MAX_SUB_DEVICES, sizeof max_sub, &max_sub, NULL) != CL_SUCCESS)
        max_sub = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_PARTITION_PROPERTIES, sizeof props, props, &bytes) != CL_SUCCESS) bytes = 0;
    for (size_t k = 0; k < bytes / sizeof props[0] && props[k]; ++k)
        if (props[k] == CL_DEVICE_PARTITION_EQUALLY) most = max_sub < *cu ? max_sub : *cu;
    return most;
}

/* The mesh is n sub-devices of flat device `parent`, distinct, each with
 * units compute units. */
static int is_split(const clv_mesh *m, int first, int n, int parent, cl_uint units)
{
    if (clv_mesh_device_count(m) < first + n) return 0;
    for (int i = first; i < first + n; ++i) {
        cl_device_id id = clv_mesh_device_id(m, i), up = NULL;
        clv_device_info info;
        if (clGetDeviceInfo(id, CL_DEVICE_PARENT_DEVICE, sizeof up, &up, NULL) != CL_SUCCESS) return 0;
        if (up != all_ids[parent] || clv_mesh_device_info(m, i, &info) != CLV_OK) return 0;
        if (info.compute_units != units) return 0;
        for (int j = first; j < i; ++j)
            if (clv_mesh_device_id(m, j) == id) return 0;
    }
    return 1;
}

static void split_case(const char *name, const char *spec, int sub_devices, int want_devices, int first, int n,
                       int parent, cl_uint units)
{
    clv_mesh *m;
    clv_status st = open_desc(&m, spec, 1, sub_devices);
    check(name, st == CLV_OK && clv_mesh_device_count(m) == want_devices && is_split(m, first, n, parent, units),
          "spec \"%s\", sub_devices %d: status %s, %d device(s) (want %d, %d of them sub-devices of %d with %u "
          "compute units): %s", spec, sub_devices, clv_status_string(st), clv_mesh_device_count(m), want_devices,
          n, parent, units, clv_mesh_message(m));
    clv_mesh_close(m);
}

static void test_sub_devices(const char *piece)
{
    char spec[512], needle[64];
    cl_uint cu = 0, most = equal_parts(all_ids[0], &cu);
    printf("   device 0: %u compute units, splits into at most %u equal sub-devices\n", cu, most);
    if (most < 2) {
        /* The driver cannot split it: "0/2" is refused and says why. */
        invalid("split_refused_when_the_device_cannot", "0/2", CLV_ERROR_DEVICE_SPEC, "cannot be split");
        invalid_desc("sub_devices_refused_when_the_device_cannot", "0", 2, CLV_ERROR_DEVICE_SPEC,
                     "cannot be split");
        skip("sub_device_meshes", "device 0 offers no CL_DEVICE_PARTITION_EQUALLY or has one compute unit");
        return;
    }
    static const int i0[] = { 0 };
    split_case("split_index_in_2", "0/2", 0, 2, 0, 2, 0, cu / 2);
    split_case("split_platform_entry_in_2", (snprintf(spec, sizeof spec, "%s:0/2", piece), spec), 0, 2, 0, 2, 0,
               cu / 2);
    if (most >= 3) split_case("split_index_in_3", "0/3", 0, 3, 0, 3, 0, cu / 3);
    valid("split_by_1_is_the_device", "0/1", 1, i0, 1);
    split_case("desc_sub_devices_2", "0", 2, 2, 0, 2, 0, cu / 2);
    valid("suffix_1_wins_over_desc", "0/1", 1, i0, 1);
    {
        clv_mesh *m;
        clv_status st = open_desc(&m, "0/1", 1, 2);
        check("suffix_1_wins_over_desc_sub_devices", st == CLV_OK && has_devices(m, i0, 1), "status %s, %d devices",
              clv_status_string(st), clv_mesh_device_count(m));
        clv_mesh_close(m);
    }
    if (n_all >= 2) {
        /* 0/2,1: device 0's two parts, then device 1 whole */
        clv_mesh *m;
        clv_status st = open_spec(&m, "0/2,1", 1);
        check("split_then_whole", st == CLV_OK && clv_mesh_device_count(m) == 3 && is_split(m, 0, 2, 0, cu / 2) &&
                                      clv_mesh_device_id(m, 2) == all_ids[1],
              "status %s, %d devices: %s", clv_status_string(st), clv_mesh_device_count(m), clv_mesh_message(m));
        clv_mesh_close(m);
    }
    /* cpu/2: every CPU in two */
    {
        clv_mesh *m;
        int n_cpu = 0;
        for (int i = 0; i < n_all; ++i) {
            cl_device_type t = 0;
            clGetDeviceInfo(all_ids[i], CL_DEVICE_TYPE, sizeof t, &t, NULL);
            n_cpu += (t & CL_DEVICE_TYPE_CPU) != 0;
        }
        clv_status st = open_spec(&m, "cpu/2", 1);
        if (n_cpu > 0)
            check("split_type_word", st == CLV_OK && clv_mesh_device_count(m) == 2 * n_cpu,
                  "status %s, %d devices for %d CPUs: %s", clv_status_string(st), clv_mesh_device_count(m), n_cpu,
                  clv_mesh_message(m));
        clv_mesh_close(m);
    }
    snprintf(spec, sizeof spec, "0/%u", most + 1);
    snprintf(needle, sizeof needle, "into %u sub-devices", most + 1);
    invalid("split_beyond_the_device", spec, CLV_ERROR_DEVICE_SPEC, needle);
    invalid_desc("desc_sub_devices_beyond_the_device", "0", (int)most + 1, CLV_ERROR_DEVICE_SPEC, needle);
    /* Open and close many times: every sub-device made is released (a leak
     * would show under ASan / LeakSanitizer in phase 2, and the driver must
     * not run out of partitions). */
    int good = 0;
    for (int r = 0; r < 50; ++r) {
        clv_mesh *m;
        good += open_spec(&m, "0/2", 1) == CLV_OK && clv_mesh_device_count(m) == 2;
        clv_mesh_close(m);
    }
    check("split_50_times", good == 50, "%d of 50 opens gave 2 sub-devices", good);
}

static void test_list(void)
{
    char buf[8192], small[8], want[300];
    int n = clv_list_devices(buf, sizeof buf);
    snprintf(want, sizeof want, "%s:%d", platform0, n_first_platform - 1);
    check("list_devices_numbered", n == n_all && strncmp(buf, "0: ", 3) == 0 && strstr(buf, want) &&
                                       (n_all < 2 || strstr(buf, "\n1: ")),
          "returned %d:\n%s", n, buf);
    printf("%s", buf);
    check("list_devices_null_buffer", clv_list_devices(NULL, 0) == n_all, "wrong count");
    memset(small, '#', sizeof small);
    n = clv_list_devices(small, sizeof small);
    check("list_devices_truncates", n == n_all && memchr(small, '\0', sizeof small) != NULL,
          "returned %d, buffer not terminated", n);
}

/* Random strings over the parser's own alphabet: never a crash, only the
 * documented outcomes. */
static void test_fuzz(void)
{
    static const char alphabet[] = "0123456789,: aclpugx/";
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
        int fine = m && (st == CLV_OK ? n >= 1 : (st == CLV_ERROR_DEVICE_SPEC || st == CLV_ERROR_NO_DEVICE) &&
                                                      n == 0 && clv_mesh_message(m)[0]);
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
    char upper[256], piece[16];
    unsetenv("CLV_DEVICES");
    clv_status st = open_spec(&m, "all", 1);
    n_all = clv_mesh_device_count(m);
    if (n_all > MAX_DEVICES) n_all = MAX_DEVICES;
    for (int i = 0; i < n_all; ++i) all_ids[i] = clv_mesh_device_id(m, i);
    check("setup_devices", st == CLV_OK && n_all >= 1, "status %d: %s", (int)st, clv_mesh_message(m));
    clv_mesh_close(m);
    if (st != CLV_OK || n_all < 1) {
        printf("%d passed, %d failed\n", n_passed, n_failed);
        return 1;
    }
    cl_platform_id p0 = NULL;
    clGetDeviceInfo(all_ids[0], CL_DEVICE_PLATFORM, sizeof p0, &p0, NULL);
    clGetPlatformInfo(p0, CL_PLATFORM_NAME, sizeof platform0 - 1, platform0, NULL);
    clGetPlatformInfo(p0, CL_PLATFORM_VENDOR, sizeof vendor0 - 1, vendor0, NULL);
    if (clGetPlatformInfo(p0, 0x0920 /* CL_PLATFORM_ICD_SUFFIX_KHR */, sizeof suffix0 - 1, suffix0, NULL) !=
        CL_SUCCESS)
        suffix0[0] = '\0';
    for (int i = 0; i < n_all; ++i) {
        cl_platform_id p = NULL;
        clGetDeviceInfo(all_ids[i], CL_DEVICE_PLATFORM, sizeof p, &p, NULL);
        if (p != p0) break;
        n_first_platform = i + 1;
    }
    printf("%d device(s), %d on the first platform\n", n_all, n_first_platform);

    test_platform_words(upper, sizeof upper, piece, sizeof piece);
    if (n_first_platform >= 3 && n_all == n_first_platform) {
        test_valid(upper, piece);
        test_environment();
        test_invalid_three(piece);
    } else {
        skip("three_device_cases", "they name devices 0, 1 and 2 of one platform, and this machine lists fewer "
             "(PoCL: POCL_DEVICES=\"pthread pthread pthread\"; Intel's CPU runtime has one device)");
    }
    test_invalid();
    test_sub_devices(piece);
    test_list();
    test_fuzz();
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed != 0;
}
