/* Every bad input returns its documented status and a readable message,
 * changes nothing (arrays, split, counters, device bytes) and leaks nothing.
 * One line per case: "ok <name>" or "FAIL <name>: <why>". CI also runs this
 * under AddressSanitizer + LeakSanitizer. */
#include "clvmap.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { B = 10, MAX_DEVICES = 8 };

static const char *src =
    "__kernel void scale(CLV_ITEMS, __global const float *x, __global float *y, const float a) {\n"
    "    CLV_GUARD();\n"
    "    y[clv_local()] = a * x[clv_local()];\n"
    "}\n"
    "__kernel void takes_double(CLV_ITEMS, __global double *y) { CLV_GUARD(); y[clv_local()] = 1.0; }\n"
    "__kernel void takes_int(CLV_ITEMS, __global int *y) { CLV_GUARD(); y[clv_local()] = 1; }\n"
    "__kernel void no_items(__global float *y) { y[get_global_id(0)] = 0.0f; }\n"
    "__kernel void no_items5(__global float *y, ulong a, ulong b, ulong c, uint d) { y[a + b + c + d] = 0; }\n"
    "__kernel void with_scratch(CLV_ITEMS, __global float *s) { CLV_GUARD(); }\n";

/* A syntax error on line 3 of the user's source. */
static const char *bad_src =
    "__kernel void bad(CLV_ITEMS, __global float *y) {\n"
    "    CLV_GUARD();\n"
    "    y[clv_local()] = 1.0f +;\n"
    "}\n";

static int n_passed, n_failed;

/* The state a failing call must leave alone. */
typedef struct snapshot {
    clv_device_stats stats[MAX_DEVICES];
    size_t first[MAX_DEVICES], count[MAX_DEVICES]; /* the split of B items */
    float x[B], y[B];
} snapshot;

static clv_array *fixture_x, *fixture_y; /* the main mesh's sentinel arrays */
static int counters_may_change;           /* 1: compare bytes_current only, not every counter */

static void report(const char *name, const char *why)
{
    if (why[0]) {
        printf("FAIL %s: %s\n", name, why);
        ++n_failed;
    } else {
        printf("ok %s\n", name);
        ++n_passed;
    }
}

static void check(const char *name, int ok, const char *fmt, ...)
{
    char why[1024] = "";
    if (!ok) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        if (!why[0]) strcpy(why, "check failed");
    }
    report(name, why);
}

static void take(const clv_mesh *m, snapshot *s)
{
    memset(s, 0, sizeof *s);
    for (int d = 0; d < clv_mesh_device_count(m) && d < MAX_DEVICES; ++d) clv_mesh_stats(m, d, &s->stats[d]);
    clv_mesh_split_items(m, B, s->first, s->count);
    if (fixture_x) clv_array_read(fixture_x, s->x);
    if (fixture_y) clv_array_read(fixture_y, s->y);
}

static int bytes_differ(const snapshot *a, const snapshot *b)
{
    for (int d = 0; d < MAX_DEVICES; ++d)
        if (a->stats[d].bytes_current != b->stats[d].bytes_current) return 1;
    return 0;
}

/* Check one failing call: its status, that the message holds each needle,
 * and that nothing changed since `before`. m may be NULL (no message). */
static void expect(const char *name, const clv_mesh *m, const snapshot *before, clv_status got,
                   clv_status want, const char *needle1, const char *needle2)
{
    char why[1024] = "";
    const char *msg = clv_mesh_message(m);
    snapshot after;
    if (m) take(m, &after);
    if (got != want)
        snprintf(why, sizeof why, "status %d (%s), expected %d (%s); message: %.600s", (int)got,
                 clv_status_string(got), (int)want, clv_status_string(want), msg);
    else if (m && !msg[0])
        snprintf(why, sizeof why, "empty message");
    else if (m && needle1 && !strstr(msg, needle1))
        snprintf(why, sizeof why, "message lacks \"%s\": %.600s", needle1, msg);
    else if (m && needle2 && !strstr(msg, needle2))
        snprintf(why, sizeof why, "message lacks \"%s\": %.600s", needle2, msg);
    else if (m && !counters_may_change && memcmp(before->stats, after.stats, sizeof after.stats) != 0)
        snprintf(why, sizeof why, "device counters changed: something was enqueued");
    else if (m && bytes_differ(before, &after))
        snprintf(why, sizeof why, "device buffers left allocated (bytes_current on device 0: %llu -> %llu)",
                 (unsigned long long)before->stats[0].bytes_current,
                 (unsigned long long)after.stats[0].bytes_current);
    else if (m && (memcmp(before->first, after.first, sizeof after.first) != 0 ||
                   memcmp(before->count, after.count, sizeof after.count) != 0))
        snprintf(why, sizeof why, "the mesh's split changed");
    else if (m && (memcmp(before->x, after.x, sizeof after.x) != 0 || memcmp(before->y, after.y, sizeof after.y) != 0))
        snprintf(why, sizeof why, "an array was changed by a failing call");
    if (!why[0] && want != CLV_OK && m) /* its first line */
        printf("   message: %.*s\n", (int)(strcspn(msg, "\n") < 160 ? strcspn(msg, "\n") : 160), msg);
    report(name, why);
}

/* Snapshot m, evaluate call, check it. */
#define CASE(name, m, call, want, needle1, needle2)                           \
    do {                                                                       \
        snapshot before_;                                                      \
        take((m), &before_);                                                   \
        clv_status got_ = (call);                                              \
        expect((name), (m), &before_, got_, (want), (needle1), (needle2));     \
    } while (0)

static clv_arg bad_kind(void)
{
    clv_arg a = clv_int(0);
    a.kind = (clv_arg_kind)99;
    return a;
}

static clv_status build(clv_program **p, clv_mesh *m, const char *source, const char *name, clv_dtype real,
                        int fp64, const char *options)
{
    clv_program_desc d = {0};
    d.source = source;
    d.name = name;
    d.real = real;
    d.fp64 = fp64;
    d.options = options;
    clv_status st = clv_program_build(p, m, &d);
    if (st == CLV_OK && !*p) return CLV_ERROR_OPENCL; /* never: OK must give a program */
    if (st != CLV_OK && *p) {                           /* never: failure must give NULL */
        clv_program_free(*p);
        *p = NULL;
        return CLV_STATUS_COUNT;
    }
    return st;
}

static clv_status new_array(clv_array **a, clv_mesh *m, clv_dtype dtype, size_t n, size_t elems, clv_layout l)
{
    clv_status st = clv_array_new(a, m, dtype, n, elems, l);
    if (st != CLV_OK && *a) { /* failure must leave *out NULL */
        clv_array_free(*a);
        *a = NULL;
        return CLV_STATUS_COUNT;
    }
    return st;
}

static void test_status_strings(void)
{
    const char *seen[CLV_STATUS_COUNT];
    int ok = 1;
    for (int s = 0; s < CLV_STATUS_COUNT; ++s) {
        seen[s] = clv_status_string((clv_status)s);
        if (!seen[s] || !seen[s][0] || strcmp(seen[s], "unknown status") == 0) ok = 0;
        for (int t = 0; ok && t < s; ++t)
            if (strcmp(seen[s], seen[t]) == 0) ok = 0;
    }
    check("status_strings_distinct", ok, "a status has a NULL, empty, unknown or repeated string");
    check("status_string_out_of_range", clv_status_string(CLV_STATUS_COUNT) != NULL &&
          clv_status_string((clv_status)-5) != NULL, "NULL for an out-of-range status");
}

static void test_null_objects(void)
{
    clv_device_stats st;
    clv_mesh_close(NULL);
    clv_program_free(NULL);
    clv_array_free(NULL);
    check("null_objects", clv_mesh_message(NULL) != NULL && clv_mesh_open(NULL, NULL) == CLV_ERROR_INVALID_ARGUMENT &&
          clv_mesh_stats(NULL, 0, &st) == CLV_ERROR_INVALID_ARGUMENT &&
          clv_mesh_device_count(NULL) == 0 && clv_mesh_split_items(NULL, 3, NULL, NULL) != CLV_OK,
          "a NULL mesh was not refused");
}

static void test_map_errors(clv_mesh *m, clv_mesh *other, clv_program *p)
{
    clv_map_opts o = {0}, bad = {0};
    clv_array *x = fixture_x, *y = fixture_y, *x11 = NULL, *xo = NULL, *xi = NULL, *xd = NULL;
    clv_arg good[3];
    good[0] = clv_in(x);
    good[1] = clv_out(y);
    good[2] = clv_float(2.0f);
    if (new_array(&x11, m, CLV_F32, B + 1, 1, CLV_SHARDED) || new_array(&xi, m, CLV_I32, B, 1, CLV_SHARDED) ||
        new_array(&xo, other, CLV_F32, B, 1, CLV_SHARDED)) {
        check("map_setup", 0, "%s", clv_mesh_message(m));
        goto done;
    }

    CASE("map_n_items_0", m, clv_map(p, "scale", 0, &o, good, 3), CLV_ERROR_INVALID_ARGUMENT, "n_items", NULL);
    bad.chunk = -2;
    CASE("map_chunk_-2", m, clv_map(p, "scale", B, &bad, good, 3), CLV_ERROR_INVALID_ARGUMENT, "-2", NULL);
    bad.chunk = -1000;
    CASE("map_chunk_-1000", m, clv_map(p, "scale", B, &bad, good, 3), CLV_ERROR_INVALID_ARGUMENT, "-1000", NULL);
    bad.chunk = 0;
    bad.item_offset = (uint64_t)-1 - 5; /* item_offset + B wraps around */
    CASE("map_item_offset_overflow", m, clv_map(p, "scale", B, &bad, good, 3), CLV_ERROR_INVALID_ARGUMENT,
         "item_offset", "overflows");
    bad.item_offset = (uint64_t)(size_t)-1 - B - 10; /* fits, but the padded last work group would wrap */
    CASE("map_item_offset_padding_wraps", m, clv_map(p, "scale", B, &bad, good, 3), CLV_ERROR_INVALID_ARGUMENT,
         "item_offset", "overflows");
    bad.item_offset = 0;
    bad.shape = (clv_shape)7;
    CASE("map_bad_shape", m, clv_map(p, "scale", B, &bad, good, 3), CLV_ERROR_INVALID_ARGUMENT, "shape", NULL);
    CASE("map_null_program", NULL, clv_map(NULL, "scale", B, &o, good, 3), CLV_ERROR_INVALID_ARGUMENT, NULL, NULL);
    CASE("map_null_kernel_name", m, clv_map(p, NULL, B, &o, good, 3), CLV_ERROR_INVALID_ARGUMENT, "kernel", NULL);
    CASE("map_null_args", m, clv_map(p, "scale", B, &o, NULL, 3), CLV_ERROR_INVALID_ARGUMENT, "NULL", NULL);
    CASE("map_negative_n_args", m, clv_map(p, "scale", B, &o, good, -1), CLV_ERROR_INVALID_ARGUMENT, NULL, NULL);
    CASE("map_unknown_kernel", m, clv_map(p, "scael", B, &o, good, 3), CLV_ERROR_UNKNOWN_KERNEL, "\"scael\"",
         "takes_double");
    CASE("map_unknown_kernel_again", m, clv_map(p, "scael", B, &o, good, 3), CLV_ERROR_UNKNOWN_KERNEL, "scale",
         "no_items");
    CASE("map_too_few_args", m, CLV_MAP(p, "scale", B, &o, clv_in(x), clv_out(y)), CLV_ERROR_ARGUMENT_COUNT,
         "scale", "2 given");
    CASE("map_too_many_args", m, CLV_MAP(p, "scale", B, &o, clv_in(x), clv_out(y), clv_float(1), clv_int(1)),
         CLV_ERROR_ARGUMENT_COUNT, "3 argument", "4 given");
    CASE("map_no_args", m, clv_map(p, "scale", B, &o, NULL, 0), CLV_ERROR_ARGUMENT_COUNT, "0 given", NULL);
    CASE("map_float_array_to_double_param", m, CLV_MAP(p, "takes_double", B, &o, clv_out(y)),
         CLV_ERROR_ARGUMENT_TYPE, "double", "float");
    CASE("map_float_array_to_int_param", m, CLV_MAP(p, "takes_int", B, &o, clv_out(y)), CLV_ERROR_ARGUMENT_TYPE,
         "int", "float");
    CASE("map_int_array_to_float_param", m, CLV_MAP(p, "scale", B, &o, clv_in(xi), clv_out(y), clv_float(1)),
         CLV_ERROR_ARGUMENT_TYPE, "argument 0", "int");
    CASE("map_int_value_to_float_param", m, CLV_MAP(p, "scale", B, &o, clv_in(x), clv_out(y), clv_int(2)),
         CLV_ERROR_ARGUMENT_TYPE, "float", "int");
    CASE("map_double_value_to_float_param", m, CLV_MAP(p, "scale", B, &o, clv_in(x), clv_out(y), clv_double(2)),
         CLV_ERROR_ARGUMENT_TYPE, "float", "double");
    CASE("map_value_to_pointer_param", m, CLV_MAP(p, "scale", B, &o, clv_float(1), clv_out(y), clv_float(1)),
         CLV_ERROR_ARGUMENT_TYPE, "argument 0", "pointer");
    CASE("map_array_to_value_param", m, CLV_MAP(p, "scale", B, &o, clv_in(x), clv_out(y), clv_in(x)),
         CLV_ERROR_ARGUMENT_TYPE, "argument 2", NULL);
    CASE("map_out_to_const_param", m, CLV_MAP(p, "scale", B, &o, clv_out(x), clv_out(y), clv_float(1)),
         CLV_ERROR_ARGUMENT_TYPE, "const", "argument 0");
    CASE("map_inout_to_const_param", m, CLV_MAP(p, "scale", B, &o, clv_inout(x), clv_out(y), clv_float(1)),
         CLV_ERROR_ARGUMENT_TYPE, "const", NULL);
    CASE("map_local_mem_to_global_param", m, CLV_MAP(p, "scale", B, &o, clv_local_mem(64), clv_out(y), clv_float(1)),
         CLV_ERROR_ARGUMENT_TYPE, "__local", NULL);
    CASE("map_scratch_to_value_param", m, CLV_MAP(p, "scale", B, &o, clv_in(x), clv_out(y), clv_scratch(4)),
         CLV_ERROR_ARGUMENT_TYPE, "scratch", NULL);
    CASE("map_scratch_0_bytes", m, CLV_MAP(p, "scale", B, &o, clv_in(x), clv_scratch(0), clv_float(1)),
         CLV_ERROR_INVALID_ARGUMENT, "0 bytes", NULL);
    CASE("map_null_array", m, CLV_MAP(p, "scale", B, &o, clv_in(NULL), clv_out(y), clv_float(1)),
         CLV_ERROR_INVALID_ARGUMENT, "NULL array", NULL);
    CASE("map_unknown_arg_kind", m, CLV_MAP(p, "scale", B, &o, clv_in(x), clv_out(y), bad_kind()),
         CLV_ERROR_INVALID_ARGUMENT, "kind", NULL);
    {
        clv_array *yr = NULL; /* each device would fill only its own items of its copy */
        if (new_array(&yr, m, CLV_F32, B, 1, CLV_REPLICATED) == CLV_OK && clv_mesh_device_count(m) > 1)
            CASE("map_replicated_output_on_many_devices", m,
                 CLV_MAP(p, "scale", B, &o, clv_in(x), clv_out(yr), clv_float(1)), CLV_ERROR_SHAPE, "replicated",
                 "CLV_SHARDED");
        clv_array_free(yr);
    }
    CASE("map_sharded_n_items_differs", m, CLV_MAP(p, "scale", B, &o, clv_in(x11), clv_out(y), clv_float(1)),
         CLV_ERROR_SHAPE, "11", "10");
    CASE("map_array_of_another_mesh", m, CLV_MAP(p, "scale", B, &o, clv_in(xo), clv_out(y), clv_float(1)),
         CLV_ERROR_SHAPE, "another mesh", NULL);
    CASE("map_kernel_without_clv_items", m, CLV_MAP(p, "no_items", B, &o, clv_out(y)), CLV_ERROR_ARGUMENT_COUNT,
         "CLV_ITEMS", "no_items");
    CASE("map_kernel_without_clv_items_5_params", m,
         CLV_MAP(p, "no_items5", B, &o, clv_out(y), clv_ulong(0), clv_ulong(0), clv_ulong(0), clv_uint(0)),
         CLV_ERROR_ARGUMENT_COUNT, "CLV_ITEMS", NULL);
    bad.shape = CLV_ITEM_PER_WORK_ITEM;
    bad.local_size = (size_t)1 << 20; /* beyond any device's work-group limit */
    CASE("map_local_size_too_big", m, clv_map(p, "scale", B, &bad, good, 3), CLV_ERROR_INVALID_ARGUMENT, "local",
         NULL);
    bad.shape = CLV_ITEM_PER_GROUP;
    CASE("map_local_size_too_big_per_group", m, clv_map(p, "scale", B, &bad, good, 3), CLV_ERROR_INVALID_ARGUMENT,
         "local", NULL);

    /* Scratch that no device can hold, even for one item: refused after
     * halving to chunk 1 (the halvings are counted; no buffer stays). */
    counters_may_change = 1;
    CASE("map_scratch_too_big", m, CLV_MAP(p, "with_scratch", 12, &o, clv_scratch((size_t)1 << 50)),
         CLV_ERROR_OUT_OF_MEMORY, "scratch", "device");
    /* bytes x chunk overflows size_t (4 x (2^62 + 1) = 4 mod 2^64): must not
     * turn into a 4-byte buffer. */
    CASE("map_scratch_size_overflow", m, CLV_MAP(p, "with_scratch", 12, &o, clv_scratch((size_t)-1 / 4 + 2)),
         CLV_ERROR_OUT_OF_MEMORY, "scratch", NULL);
    counters_may_change = 0;

    /* Two sharded arrays split differently (the split changed in between). */
    {
        const double w[MAX_DEVICES] = { 1 }; /* everything on device 0 */
        int n = clv_mesh_device_count(m);
        if (n >= 2 && clv_mesh_set_split(m, CLV_SPLIT_WEIGHTS, w, n) == CLV_OK) {
            new_array(&xd, m, CLV_F32, B, 1, CLV_SHARDED);
            clv_mesh_set_split(m, CLV_SPLIT_EQUAL, NULL, 0);
            CASE("map_arrays_split_differently", m, CLV_MAP(p, "scale", B, &o, clv_in(xd), clv_out(y), clv_float(1)),
                 CLV_ERROR_SHAPE, "split", NULL);
            clv_array_free(xd);
        } else {
            check("map_arrays_split_differently", 0, "needs 2 devices and a weighted split");
        }
    }
done:
    clv_array_free(x11);
    clv_array_free(xi);
    clv_array_free(xo);
}

static void test_build_errors(clv_mesh *m)
{
    { /* a log longer than the message: the start of it is kept, with line numbers */
        static char many[200 * 48];
        size_t at = 0;
        for (int k = 0; k < 200; ++k)
            at += (size_t)snprintf(many + at, sizeof many - at, "int f%d(void) { return undeclared_%d; }\n", k, k);
        clv_program *lp = NULL;
        clv_program_desc pd;
        memset(&pd, 0, sizeof pd);
        pd.source = many;
        pd.name = "long_log.cl";
        clv_status st = clv_program_build(&lp, m, &pd);
        check("build_long_log_kept", st == CLV_ERROR_BUILD && strlen(clv_mesh_message(m)) > 2000 &&
              strstr(clv_mesh_message(m), "long_log.cl:1:") != NULL, "%s, message of %zu characters",
              clv_status_string(st), strlen(clv_mesh_message(m)));
        clv_program_free(lp);
    }

    clv_program *p = NULL;
    clv_program_desc d = {0};
    CASE("build_syntax_error_line_3", m, build(&p, m, bad_src, "my_kernels.cl", CLV_F32, 0, NULL), CLV_ERROR_BUILD,
         "my_kernels.cl", "my_kernels.cl:3:");
    CASE("build_syntax_error_default_name", m, build(&p, m, bad_src, NULL, CLV_F32, 0, NULL), CLV_ERROR_BUILD,
         "program.cl:3:", NULL);
    /* Options the compiler refuses are an OpenCL error, not a build log. */
    CASE("build_bad_option", m, build(&p, m, src, NULL, CLV_F32, 0, "-DX=1 -fno-such-option-at-all"),
         CLV_ERROR_OPENCL, "CL_INVALID_BUILD_OPTIONS", NULL);
    {   /* A long name is only a label: it builds, or is refused as an argument. */
        char name[400];
        memset(name, 'n', sizeof name);
        strcpy(name + sizeof name - 4, ".cl");
        clv_status st = build(&p, m, src, name, CLV_F32, 0, NULL);
        check("build_long_name", st == CLV_OK || (st == CLV_ERROR_INVALID_ARGUMENT && strstr(clv_mesh_message(m), "name")),
              "status %d (%s) for a 399-character name: %.300s", (int)st, clv_status_string(st), clv_mesh_message(m));
        clv_program_free(p);
        p = NULL;
    }
    {
        char options[3000];
        memset(options, ' ', sizeof options);
        options[sizeof options - 1] = '\0';
        CASE("build_options_too_long", m, build(&p, m, src, NULL, CLV_F32, 0, options), CLV_ERROR_INVALID_ARGUMENT,
             "options", NULL);
    }
    CASE("build_null_source", m, build(&p, m, NULL, NULL, CLV_F32, 0, NULL), CLV_ERROR_INVALID_ARGUMENT, "source",
         NULL);
    CASE("build_null_desc", m, clv_program_build(&p, m, NULL), CLV_ERROR_INVALID_ARGUMENT, "desc", NULL);
    d.source = src;
    CASE("build_null_out", m, clv_program_build(NULL, m, &d), CLV_ERROR_INVALID_ARGUMENT, "out", NULL);
    CASE("build_null_mesh", NULL, clv_program_build(&p, NULL, &d), CLV_ERROR_INVALID_ARGUMENT, NULL, NULL);
    CASE("build_bad_real", m, build(&p, m, src, NULL, (clv_dtype)CLV_I32, 0, NULL), CLV_ERROR_INVALID_ARGUMENT,
         "real", NULL);
    clv_program_free(p);
}

static void test_fp64_errors(void)
{
    clv_mesh *m = NULL;
    clv_mesh_desc md = {0};
    clv_program *p = NULL;
    clv_array *a = NULL;
    md.no_fp64 = 1;
    if (clv_mesh_open(&m, &md) != CLV_OK) {
        check("fp64_mesh_open", 0, "%s", clv_mesh_message(m));
        clv_mesh_close(m);
        return;
    }
    CASE("fp64_build_real_f64", m, build(&p, m, src, NULL, CLV_F64, 0, NULL), CLV_ERROR_NO_FP64, "cl_khr_fp64",
         "device 0");
    CASE("fp64_build_flag", m, build(&p, m, src, NULL, CLV_F32, 1, NULL), CLV_ERROR_NO_FP64, "cl_khr_fp64", NULL);
    CASE("fp64_build_option_real_double", m, build(&p, m, src, NULL, CLV_F32, 0, "-DCLV_REAL=double"),
         CLV_ERROR_NO_FP64, "cl_khr_fp64", NULL);
    CASE("fp64_array_new_f64", m, new_array(&a, m, CLV_F64, B, 1, CLV_SHARDED), CLV_ERROR_NO_FP64, "cl_khr_fp64",
         NULL);
    CASE("fp64_array_new_f64_replicated", m, new_array(&a, m, CLV_F64, B, 2, CLV_REPLICATED), CLV_ERROR_NO_FP64,
         NULL, NULL);
    {   /* float-only programs still build there */
        clv_program_desc d = {0};
        d.source = "__kernel void k(CLV_ITEMS, __global float *y) { CLV_GUARD(); y[clv_local()] = 1.0f; }";
        clv_status st = clv_program_build(&p, m, &d);
        check("fp64_off_float_program_builds", st == CLV_OK, "%s", clv_mesh_message(m));
    }
    clv_program_free(p);
    clv_array_free(a);
    clv_mesh_close(m);
}

static void test_array_errors(clv_mesh *m, clv_array *x)
{
    clv_array *a = NULL;
    float host[B];
    double out[2] = { -7, -7 };
    CASE("array_new_0_items", m, new_array(&a, m, CLV_F32, 0, 1, CLV_SHARDED), CLV_ERROR_INVALID_ARGUMENT,
         "n_items", NULL);
    CASE("array_new_0_elems", m, new_array(&a, m, CLV_F32, B, 0, CLV_SHARDED), CLV_ERROR_INVALID_ARGUMENT,
         "item_elems", NULL);
    CASE("array_new_bad_dtype", m, new_array(&a, m, (clv_dtype)9, B, 1, CLV_SHARDED), CLV_ERROR_INVALID_ARGUMENT,
         "dtype", NULL);
    CASE("array_new_bad_layout", m, new_array(&a, m, CLV_F32, B, 1, (clv_layout)5), CLV_ERROR_INVALID_ARGUMENT,
         "layout", NULL);
    CASE("array_new_overflow", m, new_array(&a, m, CLV_F32, (size_t)-1 / 2, 3, CLV_SHARDED),
         CLV_ERROR_INVALID_ARGUMENT, "overflow", NULL);
    CASE("array_new_too_big_for_device", m, new_array(&a, m, CLV_F32, (size_t)1 << 40, 1, CLV_REPLICATED),
         CLV_ERROR_OUT_OF_MEMORY, "at most", "device");
    CASE("array_new_null_out", m, clv_array_new(NULL, m, CLV_F32, B, 1, CLV_SHARDED), CLV_ERROR_INVALID_ARGUMENT,
         "out", NULL);
    CASE("array_new_null_mesh", NULL, new_array(&a, NULL, CLV_F32, B, 1, CLV_SHARDED), CLV_ERROR_INVALID_ARGUMENT,
         NULL, NULL);
    CASE("array_write_null_host", m, clv_array_write(x, NULL), CLV_ERROR_INVALID_ARGUMENT, "host", NULL);
    CASE("array_read_null_host", m, clv_array_read(x, NULL), CLV_ERROR_INVALID_ARGUMENT, "host", NULL);
    CASE("array_write_null_array", m, clv_array_write(NULL, host), CLV_ERROR_INVALID_ARGUMENT, NULL, NULL);
    CASE("array_read_null_array", m, clv_array_read(NULL, host), CLV_ERROR_INVALID_ARGUMENT, NULL, NULL);
    CASE("reduce_bad_op", m, clv_reduce(x, (clv_reduce_op)7, out), CLV_ERROR_INVALID_ARGUMENT, "op", NULL);
    CASE("reduce_negative_op", m, clv_reduce(x, (clv_reduce_op)-1, out), CLV_ERROR_INVALID_ARGUMENT, "op", NULL);
    CASE("reduce_null_out", m, clv_reduce(x, CLV_SUM, NULL), CLV_ERROR_INVALID_ARGUMENT, "out", NULL);
    CASE("reduce_null_array", m, clv_reduce(NULL, CLV_SUM, out), CLV_ERROR_INVALID_ARGUMENT, NULL, NULL);
    check("reduce_failures_leave_out_alone", out[0] == -7 && out[1] == -7, "out was written: %g %g", out[0], out[1]);
    check("array_buffer_bad_device", !clv_array_buffer(x, -1, NULL, NULL) && !clv_array_buffer(x, 99, NULL, NULL) &&
          !clv_array_buffer(NULL, 0, NULL, NULL), "a buffer was returned for a bad device");
    clv_array_free(a);
}

/* The weights cases fit the mesh's n devices (1 to MAX_DEVICES): one weight
 * too many, a bad weight at device min(1, n-1) and at device n-1. */
static void test_split_errors(clv_mesh *m)
{
    int n = clv_mesh_device_count(m), bad = n > 1 ? 1 : 0;
    double ones[MAX_DEVICES + 1], negative[MAX_DEVICES], zeros[MAX_DEVICES], nans[MAX_DEVICES], infs[MAX_DEVICES];
    char too_many[32], bad_weight[32], last_weight[32];
    for (int i = 0; i <= MAX_DEVICES; ++i) ones[i] = 1;
    for (int i = 0; i < MAX_DEVICES; ++i) negative[i] = nans[i] = infs[i] = 1, zeros[i] = 0;
    negative[bad] = -1;
    nans[bad] = nan("");
    infs[n - 1] = INFINITY;
    snprintf(too_many, sizeof too_many, "%d weights", n + 1);
    snprintf(bad_weight, sizeof bad_weight, "weight %d", bad);
    snprintf(last_weight, sizeof last_weight, "weight %d", n - 1);
    CASE("split_wrong_weight_count", m, clv_mesh_set_split(m, CLV_SPLIT_WEIGHTS, ones, n + 1),
         CLV_ERROR_INVALID_ARGUMENT, too_many, "one weight per device");
    CASE("split_null_weights", m, clv_mesh_set_split(m, CLV_SPLIT_WEIGHTS, NULL, n), CLV_ERROR_INVALID_ARGUMENT,
         "weight", NULL);
    CASE("split_negative_weight", m, clv_mesh_set_split(m, CLV_SPLIT_WEIGHTS, negative, n),
         CLV_ERROR_INVALID_ARGUMENT, bad_weight, NULL);
    CASE("split_nan_weight", m, clv_mesh_set_split(m, CLV_SPLIT_WEIGHTS, nans, n), CLV_ERROR_INVALID_ARGUMENT,
         bad_weight, NULL);
    CASE("split_inf_weight", m, clv_mesh_set_split(m, CLV_SPLIT_WEIGHTS, infs, n), CLV_ERROR_INVALID_ARGUMENT,
         last_weight, NULL);
    CASE("split_all_zero_weights", m, clv_mesh_set_split(m, CLV_SPLIT_WEIGHTS, zeros, n), CLV_ERROR_INVALID_ARGUMENT,
         "zero", NULL);
    CASE("split_unknown", m, clv_mesh_set_split(m, (clv_split)9, NULL, 0), CLV_ERROR_INVALID_ARGUMENT, "split",
         NULL);
    CASE("split_null_mesh", NULL, clv_mesh_set_split(NULL, CLV_SPLIT_EQUAL, NULL, 0), CLV_ERROR_INVALID_ARGUMENT,
         NULL, NULL);
}

/* spec: the main mesh's devices (NULL: the default), n of them. */
static void test_mesh_open_errors(const char *spec, int n)
{
    clv_mesh *m = NULL;
    clv_mesh_desc d = {0};
    const double w[MAX_DEVICES + 1] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    d.devices = spec;
    d.split = CLV_SPLIT_WEIGHTS;
    d.weights = w;
    d.n_weights = n > 1 ? n - 1 : 2;
    clv_status st = clv_mesh_open(&m, &d);
    check("mesh_open_wrong_weight_count", st == CLV_ERROR_INVALID_ARGUMENT && m && strstr(clv_mesh_message(m), "weight")
          && clv_mesh_device_count(m) == 0, "status %d, message: %s", (int)st, clv_mesh_message(m));
    clv_mesh_close(m);
    d.weights = NULL;
    d.n_weights = 0;
    d.split = (clv_split)11;
    st = clv_mesh_open(&m, &d);
    check("mesh_open_unknown_split", st == CLV_ERROR_INVALID_ARGUMENT && m && strstr(clv_mesh_message(m), "split"),
          "status %d, message: %s", (int)st, clv_mesh_message(m));
    clv_mesh_close(m);
}

/* A good map on the same mesh and program after all the failures. */
static void test_good_map(clv_mesh *m, clv_program *p, const float *x0)
{
    clv_map_opts o = {0};
    float y[B];
    snapshot before, after;
    int ok = 1;
    take(m, &before);
    o.chunk = 3;
    clv_status st = CLV_MAP(p, "scale", B, &o, clv_in(fixture_x), clv_out(fixture_y), clv_float(2.0f));
    if (st == CLV_OK) st = clv_array_read(fixture_y, y);
    for (int i = 0; st == CLV_OK && i < B; ++i) ok &= y[i] == 2.0f * x0[i];
    take(m, &after);
    check("good_map_after_failures", st == CLV_OK && ok, "status %d, message: %s", (int)st, clv_mesh_message(m));
    check("good_map_frees_its_buffers", before.stats[0].bytes_current == after.stats[0].bytes_current,
          "bytes_current %llu -> %llu", (unsigned long long)before.stats[0].bytes_current,
          (unsigned long long)after.stats[0].bytes_current);
    o.chunk = CLV_CHUNK_AUTO;
    st = CLV_MAP(p, "scale", B, &o, clv_in(fixture_x), clv_out(fixture_y), clv_float(3.0f));
    if (st == CLV_OK) st = clv_array_read(fixture_y, y);
    ok = 1;
    for (int i = 0; st == CLV_OK && i < B; ++i) ok &= y[i] == 3.0f * x0[i];
    check("map_chunk_auto_accepted", st == CLV_OK && ok, "status %d, message: %s", (int)st, clv_mesh_message(m));
}

/* ---- hostile inputs (issue 11): types the driver reports by their
 * typedef names, __local memory, library lines, hand-made arguments,
 * arrays and launches beyond the device's limits. */

static const char *typed_src =
    "typedef int count_t;\n"
    "typedef count_t count2_t;            /* a typedef of a typedef */\n"
    "typedef unsigned int   word_t;\n"
    "#define INDEX_TYPE uint\n"
    "typedef INDEX_TYPE index_t;          /* made by a macro: probed */\n"
    "typedef double my_real;\n"
    "typedef struct { double a, b, c; } triple;  /* 24 bytes: probed */\n"
    "__kernel void real_out(CLV_ITEMS, __global clv_real *y) { CLV_GUARD(); y[clv_local()] = 1; }\n"
    "__kernel void real4_out(CLV_ITEMS, __global clv_real4 *y) { CLV_GUARD(); y[clv_local()] = 1; }\n"
    "__kernel void my_real_out(CLV_ITEMS, __global my_real *y) { CLV_GUARD(); y[clv_local()] = 1; }\n"
    "__kernel void triple_out(CLV_ITEMS, __global triple *y) {\n"
    "    CLV_GUARD(); y[clv_local()].a = 1; y[clv_local()].b = 2; y[clv_local()].c = 3; }\n"
    "__kernel void count_in(CLV_ITEMS, __global int *y, const count2_t n) { CLV_GUARD(); y[clv_local()] = n; }\n"
    "__kernel void word_in(CLV_ITEMS, __global int *y, const word_t n) { CLV_GUARD(); y[clv_local()] = (int)n; }\n"
    "__kernel void index_in(CLV_ITEMS, __global int *y, const index_t n) { CLV_GUARD(); y[clv_local()] = (int)n; }\n"
    "__kernel void real_in(CLV_ITEMS, __global double *y, const my_real v) { CLV_GUARD(); y[clv_local()] = v; }\n"
    "__kernel void pair_in(CLV_ITEMS, __global float *y, const float2 v) { CLV_GUARD(); y[clv_local()] = v.x; }\n"
    "__kernel void with_local(CLV_ITEMS, __global float *y, __local float *tmp) {\n"
    "    CLV_GUARD(); tmp[get_local_id(0)] = 1; y[clv_local()] = tmp[get_local_id(0)]; }\n";

/* A program with kernels whose names together fill more than 1 KB. */
static void test_many_kernel_names(clv_mesh *m)
{
    static char many[120 * 80];
    size_t at = 0;
    for (int k = 0; k < 120; ++k)
        at += (size_t)snprintf(many + at, sizeof many - at,
                               "__kernel void kernel_with_a_long_name_%03d(CLV_ITEMS) { CLV_GUARD(); }\n", k);
    clv_program *p = NULL;
    clv_map_opts o = {0};
    if (build(&p, m, many, "many.cl", CLV_F32, 0, NULL) != CLV_OK) {
        check("unknown_kernel_names_over_1kb", 0, "build: %s", clv_mesh_message(m));
        return;
    }
    CASE("unknown_kernel_names_over_1kb", m, clv_map(p, "missing", B, &o, NULL, 0), CLV_ERROR_UNKNOWN_KERNEL,
         "kernel_with_a_long_name_000", "kernel_with_a_long_name_119");
    clv_program_free(p);
}

static void test_library_lines(clv_mesh *m)
{
    const char *lines[3] = { "#define LIB_ONE 1\n", NULL, "#define LIB_TWO 2\n" };
    clv_program_desc d = {0};
    clv_program *p = NULL;
    d.source = src;
    d.library_lines = lines;
    d.n_library_lines = 3;
    CASE("build_null_library_line", m, clv_program_build(&p, m, &d), CLV_ERROR_INVALID_ARGUMENT,
         "library_lines[1]", "NULL");
    clv_program_free(p);
}

static void test_typed_pointers(clv_mesh *m, clv_program *p, clv_array *f32, clv_array *f64, clv_array *f64x3)
{
    clv_map_opts o = {0};
    CASE("clv_real_pointer_f32_array_f64_program", m, CLV_MAP(p, "real_out", B, &o, clv_out(f32)),
         CLV_ERROR_ARGUMENT_TYPE, "clv_real", "double");
    CASE("clv_real4_pointer_f32_array_f64_program", m, CLV_MAP(p, "real4_out", B, &o, clv_out(f32)),
         CLV_ERROR_ARGUMENT_TYPE, "clv_real4", "double4");
    CASE("typedef_double_pointer_f32_array", m, CLV_MAP(p, "my_real_out", B, &o, clv_out(f32)),
         CLV_ERROR_ARGUMENT_TYPE, "my_real", "float");
    CASE("struct_pointer_item_not_whole", m, CLV_MAP(p, "triple_out", B, &o, clv_out(f64)), CLV_ERROR_ARGUMENT_TYPE,
         "24 bytes", "8 bytes");
    clv_status st = CLV_MAP(p, "real_out", B, &o, clv_out(f64));
    if (st == CLV_OK) st = CLV_MAP(p, "my_real_out", B, &o, clv_out(f64));
    check("clv_real_pointer_f64_array_accepted", st == CLV_OK, "%s", clv_mesh_message(m));
    double got[3 * B];
    st = CLV_MAP(p, "triple_out", B, &o, clv_out(f64x3));
    if (st == CLV_OK) st = clv_array_read(f64x3, got);
    check("struct_pointer_whole_items_accepted", st == CLV_OK && got[0] == 1 && got[1] == 2 && got[3 * B - 1] == 3,
          "status %s: %s", clv_status_string(st), clv_mesh_message(m));
}

static void test_typed_values(clv_mesh *m, clv_program *p, clv_array *i32, clv_array *f64, clv_array *f32)
{
    clv_map_opts o = {0};
    CASE("typedef_int_given_float", m, CLV_MAP(p, "count_in", B, &o, clv_out(i32), clv_float(3.0f)),
         CLV_ERROR_ARGUMENT_TYPE, "count2_t (int)", "float");
    CASE("typedef_int_given_double", m, CLV_MAP(p, "count_in", B, &o, clv_out(i32), clv_double(3.0)),
         CLV_ERROR_ARGUMENT_TYPE, "count2_t (int)", "double");
    CASE("typedef_int_given_real", m, CLV_MAP(p, "count_in", B, &o, clv_out(i32), clv_real(3.0)),
         CLV_ERROR_ARGUMENT_TYPE, "count2_t (int)", "clv_real");
    CASE("typedef_unsigned_int_given_int", m, CLV_MAP(p, "word_in", B, &o, clv_out(i32), clv_int(3)),
         CLV_ERROR_ARGUMENT_TYPE, "word_t (uint)", "int");
    CASE("macro_typedef_given_double", m, CLV_MAP(p, "index_in", B, &o, clv_out(i32), clv_double(3.0)),
         CLV_ERROR_ARGUMENT_TYPE, "index_t of 4 bytes", "double");
    CASE("float2_given_float", m, CLV_MAP(p, "pair_in", B, &o, clv_out(f32), clv_float(1.0f)),
         CLV_ERROR_ARGUMENT_TYPE, "float2", "float");
    clv_arg untyped = clv_int(1);
    untyped.type = NULL;
    CASE("value_arg_without_type", m, CLV_MAP(p, "count_in", B, &o, clv_out(i32), untyped),
         CLV_ERROR_INVALID_ARGUMENT, "type name", NULL);
    clv_arg huge = clv_int(1);
    huge.bytes = 4096;
    CASE("value_arg_too_many_bytes", m, CLV_MAP(p, "count_in", B, &o, clv_out(i32), huge),
         CLV_ERROR_INVALID_ARGUMENT, "bytes", NULL);

    int got_i[B];
    double got_d[B];
    int ok = 1;
    clv_status st = CLV_MAP(p, "count_in", B, &o, clv_out(i32), clv_int(7));
    if (st == CLV_OK) st = clv_array_read(i32, got_i);
    ok &= st == CLV_OK && got_i[0] == 7 && got_i[B - 1] == 7;
    if (st == CLV_OK) st = CLV_MAP(p, "index_in", B, &o, clv_out(i32), clv_uint(9));
    if (st == CLV_OK) st = clv_array_read(i32, got_i);
    ok &= st == CLV_OK && got_i[B - 1] == 9;
    if (st == CLV_OK) st = CLV_MAP(p, "real_in", B, &o, clv_out(f64), clv_real(0.1)); /* my_real: double */
    if (st == CLV_OK) st = clv_array_read(f64, got_d);
    ok &= st == CLV_OK && got_d[0] == 0.1;
    check("typedef_values_arrive", ok, "status %s: %s", clv_status_string(st), clv_mesh_message(m));
}

static void test_local_memory(clv_mesh *m, clv_program *p, clv_array *f32)
{
    clv_map_opts o = {0};
    o.shape = CLV_ITEM_PER_GROUP;
    o.local_size = 4;
    CASE("local_mem_size_max", m, CLV_MAP(p, "with_local", B, &o, clv_out(f32), clv_local_mem((size_t)-1)),
         CLV_ERROR_OUT_OF_MEMORY, "__local", "has");
    CASE("local_mem_1_gib", m, CLV_MAP(p, "with_local", B, &o, clv_out(f32), clv_local_mem((size_t)1 << 30)),
         CLV_ERROR_OUT_OF_MEMORY, "1073741824", NULL);
    clv_status st = CLV_MAP(p, "with_local", B, &o, clv_out(f32), clv_local_mem(4 * sizeof(float)));
    check("local_mem_small_accepted", st == CLV_OK, "%s", clv_mesh_message(m));
    clv_map_opts bad = {0};
    bad.local_size = (size_t)-5;
    CASE("local_size_huge_named", m, CLV_MAP(p, "with_local", B, &bad, clv_out(f32), clv_local_mem(16)),
         CLV_ERROR_INVALID_ARGUMENT, "local_size", NULL);
}

/* A sharded array no device can hold: the sizes and what to do. */
static void test_array_too_big(clv_mesh *m)
{
    clv_array *a = NULL;
    CASE("array_larger_than_device", m, new_array(&a, m, CLV_F32, (size_t)1 << 42, 1, CLV_SHARDED),
         CLV_ERROR_OUT_OF_MEMORY, "at most", "item_offset");
    clv_array_free(a);
}

/* More work items than one launch may hold (2^31): the map is launched in
 * parts, every item runs. */
static void test_launch_split(void)
{
    static const char *count_src =
        "__kernel void last_items(CLV_ITEMS, __global uint *seen, const ulong n) {\n"
        "    CLV_GUARD();\n"
        "    ulong i = clv_item();\n"
        "    if (i + 4 >= n) { seen[2 * (i & 3)] = (uint)i; seen[2 * (i & 3) + 1] = (uint)(i >> 32); }\n"
        "}\n";
    clv_mesh *one = NULL;
    clv_mesh_desc d = {0};
    clv_program *p = NULL;
    clv_array *seen = NULL;
    d.devices = "0";
    size_t n = ((size_t)1 << 31) + 3;
    clv_status st = clv_mesh_open(&one, &d);
    if (st == CLV_OK) st = build(&p, one, count_src, "split.cl", CLV_F32, 0, NULL);
    if (st == CLV_OK) st = new_array(&seen, one, CLV_U32, 1, 8, CLV_REPLICATED);
    uint32_t words[8] = {0};
    clv_device_stats ds;
    memset(&ds, 0, sizeof ds);
    if (st == CLV_OK) st = clv_array_write(seen, words);
    if (st == CLV_OK) st = CLV_MAP(p, "last_items", n, NULL, clv_inout(seen), clv_ulong((uint64_t)n));
    if (st == CLV_OK) st = clv_array_read(seen, words);
    if (st == CLV_OK) st = clv_mesh_stats(one, 0, &ds);
    uint64_t last = (uint64_t)words[2 * ((n - 1) & 3)] | (uint64_t)words[2 * ((n - 1) & 3) + 1] << 32;
    check("launch_split_at_2^31_work_items", st == CLV_OK && ds.launches == 2 && ds.items == n && last == n - 1,
          "status %s, %llu launches, %llu items, last item seen %llu: %s", clv_status_string(st),
          (unsigned long long)ds.launches, (unsigned long long)ds.items, (unsigned long long)last,
          clv_mesh_message(one));
    clv_array_free(seen);
    clv_program_free(p);
    clv_mesh_close(one);
}

static void test_hostile_inputs(clv_mesh *m)
{
    clv_program *p = NULL;
    clv_array *f32 = NULL, *f64 = NULL, *f64x3 = NULL, *i32 = NULL;
    clv_status st = build(&p, m, typed_src, "typed.cl", CLV_F64, 1, NULL);
    if (st == CLV_OK) st = new_array(&f32, m, CLV_F32, B, 1, CLV_SHARDED);
    if (st == CLV_OK) st = new_array(&f64, m, CLV_F64, B, 1, CLV_SHARDED);
    if (st == CLV_OK) st = new_array(&f64x3, m, CLV_F64, B, 3, CLV_SHARDED);
    if (st == CLV_OK) st = new_array(&i32, m, CLV_I32, B, 1, CLV_SHARDED);
    if (st != CLV_OK) check("hostile_setup", 0, "%s", clv_mesh_message(m));
    if (st == CLV_OK) {
        test_typed_pointers(m, p, f32, f64, f64x3);
        test_typed_values(m, p, i32, f64, f32);
        test_local_memory(m, p, f32);
    }
    clv_array_free(f32);
    clv_array_free(f64);
    clv_array_free(f64x3);
    clv_array_free(i32);
    clv_program_free(p);
    test_many_kernel_names(m);
    test_library_lines(m);
    test_array_too_big(m);
    test_launch_split();
}

int main(void)
{
    clv_mesh *m = NULL, *other = NULL;
    clv_mesh_desc od = {0};
    clv_program *p = NULL;
    float x0[B], y0[B];
    clv_status st;

    test_status_strings();
    test_null_objects();
    /* The default devices; when that is one device that splits (Intel's CPU
     * runtime), its two halves, so that the cases see a sharded mesh. */
    const char *spec = NULL;
    st = clv_mesh_open(&m, NULL);
    if (st == CLV_OK && clv_mesh_device_count(m) == 1) {
        clv_mesh *halves = NULL;
        clv_mesh_desc hd = {0};
        hd.devices = "0/2";
        if (clv_mesh_open(&halves, &hd) == CLV_OK) {
            clv_mesh_close(m);
            m = halves;
            spec = hd.devices;
        } else {
            printf("   one device, and it does not split: %s\n", clv_mesh_message(halves));
            clv_mesh_close(halves);
        }
    }
    printf("   %d device(s) (%s)\n", clv_mesh_device_count(m), spec ? spec : "the default");
    od.devices = "0";
    if (st == CLV_OK) st = clv_mesh_open(&other, &od);
    if (st == CLV_OK) st = build(&p, m, src, "errors.cl", CLV_F32, 1, NULL);
    if (st == CLV_OK) st = new_array(&fixture_x, m, CLV_F32, B, 1, CLV_SHARDED);
    if (st == CLV_OK) st = new_array(&fixture_y, m, CLV_F32, B, 1, CLV_SHARDED);
    for (int i = 0; i < B; ++i) {
        x0[i] = (float)(i + 1);
        y0[i] = -7.0f; /* sentinel: no failing map may write it */
    }
    if (st == CLV_OK) st = clv_array_write(fixture_x, x0);
    if (st == CLV_OK) st = clv_array_write(fixture_y, y0);
    check("setup", st == CLV_OK && clv_mesh_device_count(m) <= MAX_DEVICES, "%s", clv_mesh_message(m));
    if (st == CLV_OK) {
        test_map_errors(m, other, p);
        test_build_errors(m);
        test_fp64_errors();
        test_array_errors(m, fixture_x);
        test_split_errors(m);
        test_mesh_open_errors(spec, clv_mesh_device_count(m));
        test_good_map(m, p, x0);
        test_hostile_inputs(m);
    }
    clv_array_free(fixture_x);
    clv_array_free(fixture_y);
    clv_program_free(p);
    clv_mesh_close(other);
    clv_mesh_close(m);
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed != 0;
}
