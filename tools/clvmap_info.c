/* clvmap-info — the OpenCL devices clvmap sees, and how to pick each one.
 *
 *   clvmap-info                 every device: one block each
 *   clvmap-info --quick         without the throughput measurement
 *   clvmap-info --items N       items of the measured map (default 2^20)
 *   clvmap-info --help
 *
 * For each device (in the order of clv_list_devices, the flat index that
 * CLV_DEVICES and clv_mesh_desc.devices take): its platform, the device
 * strings that select it alone (the flat index, and platform:index, each
 * checked by opening a mesh with it), type, compute units, global memory,
 * the largest single allocation, local memory, fp64, the largest work group
 * and the preferred work-group size multiple of a tiny kernel (plain OpenCL
 * through clv_mesh_device_id and clv_mesh_context: clvmap's API has no
 * field for these), and the throughput of a small map (a Philox normal draw
 * and a few flops per item, after one warm-up map; the best of 3).
 *
 * The first line is "N device(s)", then one block per device starting with
 * "device I: NAME". Exit status 0 when every device opened and ran, 1 when
 * one failed (its block says why), 2 for a usage error. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include "clvmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_DEVICES = 64, REPEATS = 3 };

static const char *const map_source =
    "__kernel void noise(CLV_ITEMS, __global const float *x, __global float *y, const float a) {\n"
    "    CLV_GUARD();\n"
    "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 0);\n"
    "    float v = x[clv_local()];\n"
    "    y[clv_local()] = a * v * v + sqrt(fabs(v) + 1.0f) + clv_normal_f32(&r);\n"
    "}\n";

/* Plain OpenCL, for CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE. */
static const char *const tiny_source =
    "__kernel void tiny(__global float *y) { y[get_global_id(0)] *= 2.0f; }\n";

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Open a mesh on SPEC; NULL (and the message in why) when it fails. */
static clv_mesh *open_spec(const char *spec, char *why, size_t why_size)
{
    clv_mesh_desc desc = {0};
    desc.devices = spec;
    clv_mesh *m = NULL;
    if (clv_mesh_open(&m, &desc) != CLV_OK) {
        if (why) snprintf(why, why_size, "%.*s", (int)why_size - 1, m ? clv_mesh_message(m) : "out of host memory");
        clv_mesh_close(m);
        return NULL;
    }
    return m;
}

/* Does SPEC select exactly the device ID? */
static int selects(const char *spec, cl_device_id id)
{
    clv_mesh *m = open_spec(spec, NULL, 0);
    int yes = m && clv_mesh_device_count(m) == 1 && clv_mesh_device_id(m, 0) == id;
    clv_mesh_close(m);
    return yes;
}

/* A platform:index string that selects the device: the platform's first
 * word, else its whole name (platforms match by case-insensitive
 * substring, the first match wins); "" when neither does. */
static void platform_selector(const char *platform, int guess, int n_listed, cl_device_id id, char *out,
                              size_t size)
{
    char word[256];
    size_t n = strcspn(platform, " ,:");
    out[0] = '\0';
    if (n == 0 || n >= sizeof word) return;
    memcpy(word, platform, n);
    word[n] = '\0';
    for (size_t i = 0; i < n; ++i)
        if (word[i] >= 'A' && word[i] <= 'Z') word[i] = (char)(word[i] - 'A' + 'a');
    const char *names[2] = {word, platform};
    for (int k = 0; k < 2; ++k) {
        if (strpbrk(names[k], ",:")) continue;
        /* the index within the platform: the guess first, then any */
        for (int j = -1; j < n_listed; ++j) {
            int index = j < 0 ? guess : j;
            if (j == guess) continue;
            snprintf(out, size, "%s:%d", names[k], index);
            if (selects(out, id)) return;
        }
    }
    out[0] = '\0';
}

static const char *type_name(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU) return "GPU";
    if (t & CL_DEVICE_TYPE_CPU) return "CPU";
    if (t & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
    return "other";
}

/* The preferred work-group size multiple of a tiny kernel; 0 if unknown. */
static size_t preferred_multiple(cl_context ctx, cl_device_id dev)
{
    cl_int err = CL_SUCCESS;
    size_t multiple = 0;
    const char *src = tiny_source;
    cl_program prog = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);
    if (err != CL_SUCCESS) return 0;
    if (clBuildProgram(prog, 1, &dev, "-cl-std=CL1.2", NULL, NULL) == CL_SUCCESS) {
        cl_kernel k = clCreateKernel(prog, "tiny", &err);
        if (err == CL_SUCCESS) {
            clGetKernelWorkGroupInfo(k, dev, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE, sizeof multiple,
                                     &multiple, NULL);
            clReleaseKernel(k);
        }
    }
    clReleaseProgram(prog);
    return multiple;
}

/* Items per second of a map of n_items on the mesh's one device (best of
 * REPEATS after a warm-up); < 0 on failure, the message in why. */
static double throughput(clv_mesh *m, size_t n_items, char *why, size_t why_size)
{
    clv_program *p = NULL;
    clv_array *x = NULL, *y = NULL;
    float *host = (float *)malloc(n_items * sizeof *host);
    double best = -1;
    clv_program_desc pd = {0};
    pd.source = map_source;
    pd.name = "clvmap_info.c";
    clv_status s = host ? clv_program_build(&p, m, &pd) : CLV_ERROR_OUT_OF_MEMORY;
    if (s == CLV_OK) s = clv_array_new(&x, m, CLV_F32, n_items, 1, CLV_SHARDED);
    if (s == CLV_OK) s = clv_array_new(&y, m, CLV_F32, n_items, 1, CLV_SHARDED);
    if (s == CLV_OK) {
        for (size_t i = 0; i < n_items; ++i) host[i] = (float)i / (float)n_items;
        s = clv_array_write(x, host);
    }
    for (int r = 0; r <= REPEATS && s == CLV_OK; ++r) {
        clv_map_opts o = {0};
        o.seed = 1;
        double t0 = now_seconds();
        s = CLV_MAP(p, "noise", n_items, &o, clv_in(x), clv_out(y), clv_float(0.5f));
        if (s == CLV_OK) s = clv_array_read(y, host); /* the map's end, as a user sees it */
        double rate = (double)n_items / (now_seconds() - t0);
        if (s == CLV_OK && r > 0 && rate > best) best = rate; /* r = 0: warm-up (compiles) */
    }
    if (s != CLV_OK) {
        snprintf(why, why_size, "%s: %.*s", clv_status_string(s), (int)why_size / 2, clv_mesh_message(m));
        best = -1;
    }
    clv_array_free(x);
    clv_array_free(y);
    clv_program_free(p);
    free(host);
    return best;
}

static void usage(FILE *f)
{
    fputs("usage: clvmap-info [--quick] [--items N] [--help]\n"
          "  Lists the OpenCL devices clvmap sees, one block per device: the strings that\n"
          "  select it (CLV_DEVICES, clv_mesh_desc.devices, the examples' --devices), memory,\n"
          "  fp64, local memory, work-group sizes and the throughput of a small map.\n"
          "  --quick    skip the throughput measurement\n"
          "  --items N  items of the measured map (default 1048576)\n"
          "  --help     this text\n",
          f);
}

int main(int argc, char **argv)
{
    int quick = 0;
    size_t n_items = (size_t)1 << 20;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--items") && i + 1 < argc) {
            char *end = NULL;
            unsigned long long v = strtoull(argv[++i], &end, 10);
            if (!end || *end || v == 0) {
                fprintf(stderr, "clvmap-info: --items needs a positive number\n");
                return 2;
            }
            n_items = (size_t)v;
        } else {
            fprintf(stderr, "clvmap-info: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }

    char list[8192];
    int n = clv_list_devices(list, sizeof list);
    if (n > MAX_DEVICES) n = MAX_DEVICES;
    printf("%d device(s)%s\n", n, n == 0 ? ": no OpenCL platform or device found (is an ICD installed?)" : "");
    int failed = 0;
    char platforms[MAX_DEVICES][256];
    for (int i = 0; i < n; ++i) {
        char flat[16], why[1024] = "", by_platform[300];
        snprintf(flat, sizeof flat, "%d", i);
        platforms[i][0] = '\0';
        clv_mesh *m = open_spec(flat, why, sizeof why);
        clv_device_info info;
        if (!m || clv_mesh_device_info(m, 0, &info) != CLV_OK) {
            printf("\ndevice %d: cannot open it: %s\n", i, why);
            clv_mesh_close(m);
            failed = 1;
            continue;
        }
        cl_device_id id = clv_mesh_device_id(m, 0);
        snprintf(platforms[i], sizeof platforms[i], "%s", info.platform);
        int in_platform = 0; /* devices are listed platform by platform */
        for (int j = 0; j < i; ++j) in_platform += strcmp(platforms[j], info.platform) == 0;
        platform_selector(info.platform, in_platform, n, id, by_platform, sizeof by_platform);

        cl_device_type type = 0;
        cl_ulong local_mem = 0;
        cl_device_local_mem_type local_type = CL_LOCAL;
        char version[256] = "";
        clGetDeviceInfo(id, CL_DEVICE_TYPE, sizeof type, &type, NULL);
        clGetDeviceInfo(id, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_mem, &local_mem, NULL);
        clGetDeviceInfo(id, CL_DEVICE_LOCAL_MEM_TYPE, sizeof local_type, &local_type, NULL);
        clGetDeviceInfo(id, CL_DEVICE_VERSION, sizeof version - 1, version, NULL);
        size_t multiple = preferred_multiple(clv_mesh_context(m, 0), id);

        printf("\ndevice %d: %s\n", i, info.name);
        printf("  platform        %s\n", info.platform);
        printf("  select with     CLV_DEVICES=%s", flat);
        if (by_platform[0]) printf("  or  CLV_DEVICES=\"%s\"", by_platform);
        printf("   (also --devices / clv_mesh_desc.devices)\n");
        printf("  type            %s, %s\n", type_name(type), version);
        printf("  vendor          %s\n", info.vendor);
        printf("  compute units   %u\n", info.compute_units);
        printf("  global memory   %.1f MiB\n", (double)info.global_mem_bytes / (1 << 20));
        printf("  max allocation  %.1f MiB\n", (double)info.max_alloc_bytes / (1 << 20));
        printf("  local memory    %.1f KiB%s\n", (double)local_mem / 1024,
               local_type == CL_GLOBAL ? " (emulated in global memory)" : "");
        printf("  fp64            %s\n", info.fp64 ? "yes" : "no (CLV_F64 is refused)");
        printf("  max work group  %zu\n", info.max_work_group_size);
        if (multiple) printf("  work-group multiple  %zu (preferred, of a tiny kernel)\n", multiple);
        else printf("  work-group multiple  unknown (the tiny kernel did not build)\n");
        if (!quick) {
            double rate = throughput(m, n_items, why, sizeof why);
            if (rate > 0)
                printf("  throughput      %.3g items/s (a map of %zu items: a normal draw and a few flops each)\n",
                       rate, n_items);
            else {
                printf("  throughput      failed: %s\n", why);
                failed = 1;
            }
        }
        clv_mesh_close(m);
    }
    return failed;
}
