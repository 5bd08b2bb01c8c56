/* pocl_three_devices: plain OpenCL (no clvmap) that shows PoCL 3.1's abort
 * with three or more pthread devices in one process:
 *   pocl_release_dlhandle_cache: Assertion `dlh->ref_count > 0' failed
 *
 *   cc -O2 tools/pocl_three_devices.c -lOpenCL -lm -o pocl_three_devices
 *   for i in $(seq 50); do POCL_DEVICES="pthread pthread pthread" ./pocl_three_devices; done
 *
 * What it does, as clvmap does: a context, a queue and a program for each
 * device of platform 0, then rounds of launches of uneven sizes (the
 * global size not a multiple of the work-group size: a different size on
 * every launch and device, local size 1..64), enqueued on every device
 * before waiting for any, their kernel objects released after every round.
 * Arguments: [rounds (40)] [launches per device per round (8)] [N: use device 0
 * split into N equal sub-devices instead of the platform's devices].
 * Exit status: 0 when every launch gave the right numbers, 1 on a wrong
 * number or an OpenCL error; the PoCL abort kills it (SIGABRT, 134). */
#define CL_TARGET_OPENCL_VERSION 120
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_DEV 8

static const char *source =
    "__kernel void fill(const ulong first, const ulong n, __global float *y) {\n"
    "    const size_t i = get_global_id(0);\n"
    "    if (i >= n) return;\n"
    "    y[i] = sqrt((float)(first + i)) + 0.5f;\n"
    "}\n";

static int check(cl_int err, const char *what)
{
    if (err == CL_SUCCESS) return 0;
    printf("%s: OpenCL error %d\n", what, (int)err);
    return 1;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 40, launches = argc > 2 ? atoi(argv[2]) : 8;
    cl_platform_id platform;
    cl_device_id dev[MAX_DEV];
    cl_uint n_dev = 0;
    cl_int err;
    if (check(clGetPlatformIDs(1, &platform, NULL), "clGetPlatformIDs") ||
        check(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, MAX_DEV, dev, &n_dev), "clGetDeviceIDs"))
        return 1;
    if (n_dev > MAX_DEV) n_dev = MAX_DEV;
    if (argc > 3 && atoi(argv[3]) >= 2) { /* device 0 split into N equal sub-devices instead */
        cl_uint cu = 0, got = 0;
        clGetDeviceInfo(dev[0], CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
        cl_uint parts = (cl_uint)atoi(argv[3]) > MAX_DEV ? MAX_DEV : (cl_uint)atoi(argv[3]);
        cl_device_partition_property props[] = { CL_DEVICE_PARTITION_EQUALLY,
                                                 (cl_device_partition_property)(cu / parts ? cu / parts : 1), 0 };
        cl_device_id whole = dev[0];
        if (check(clCreateSubDevices(whole, props, MAX_DEV, dev, &got), "clCreateSubDevices")) return 1;
        n_dev = got < parts ? got : parts;
        printf("device 0 split into %u sub-device(s)\n", n_dev);
    }
    printf("%u device(s), %d rounds x %d launches each\n", n_dev, rounds, launches);

    cl_context ctx[MAX_DEV];
    cl_command_queue q[MAX_DEV];
    cl_program prog[MAX_DEV];
    cl_mem buf[MAX_DEV];
    const size_t most = 70000;
    for (cl_uint d = 0; d < n_dev; ++d) {
        ctx[d] = clCreateContext(NULL, 1, &dev[d], NULL, NULL, &err);
        if (check(err, "clCreateContext")) return 1;
        q[d] = clCreateCommandQueue(ctx[d], dev[d], 0, &err);
        if (check(err, "clCreateCommandQueue")) return 1;
        prog[d] = clCreateProgramWithSource(ctx[d], 1, &source, NULL, &err);
        if (check(err, "clCreateProgramWithSource") ||
            check(clBuildProgram(prog[d], 1, &dev[d], "-cl-std=CL1.2", NULL, NULL), "clBuildProgram"))
            return 1;
        buf[d] = clCreateBuffer(ctx[d], CL_MEM_READ_WRITE, most * sizeof(float), NULL, &err);
        if (check(err, "clCreateBuffer")) return 1;
    }

    unsigned long long state = 12345;
    float *host = (float *)malloc(most * sizeof(float));
    int bad = 0;
    for (int r = 0; r < rounds && !bad; ++r) {
        cl_kernel k[MAX_DEV];
        cl_ulong n[MAX_DEV], first[MAX_DEV];
        for (cl_uint d = 0; d < n_dev; ++d) {
            k[d] = clCreateKernel(prog[d], "fill", &err);
            if (check(err, "clCreateKernel")) return 1;
            for (int l = 0; l < launches; ++l) {
                state = state * 6364136223846793005ULL + 1442695040888963407ULL;
                /* the same new local size on every device at once: a new
                 * specialisation compiled and cached on all of them */
                size_t local = 1 + (size_t)((r * launches + l) % 64);
                n[d] = 1 + (state >> 40) % (most - 64);
                first[d] = (cl_ulong)r * 1000003u + d;
                size_t global = (size_t)((n[d] + local - 1) / local * local);
                clSetKernelArg(k[d], 0, sizeof(cl_ulong), &first[d]);
                clSetKernelArg(k[d], 1, sizeof(cl_ulong), &n[d]);
                clSetKernelArg(k[d], 2, sizeof(cl_mem), &buf[d]);
                if (check(clEnqueueNDRangeKernel(q[d], k[d], 1, NULL, &global, &local, 0, NULL, NULL),
                          "clEnqueueNDRangeKernel"))
                    return 1;
            }
            clFlush(q[d]);
        }
        for (cl_uint d = 0; d < n_dev && !bad; ++d) {
            /* the last launch's numbers: y[i] = sqrt(first + i) + 0.5 */
            if (check(clEnqueueReadBuffer(q[d], buf[d], CL_TRUE, 0, (size_t)n[d] * sizeof(float), host, 0, NULL,
                                          NULL), "clEnqueueReadBuffer"))
                return 1;
            for (cl_ulong i = 0; i < n[d]; i += 997) {
                double want = 0.5 + sqrt((double)(float)(first[d] + i));
                if (!(fabs(host[i] - want) <= 1e-5 * want)) { /* sqrt: 3 ulp in OpenCL 1.2 */
                    printf("round %d device %u item %llu: %g, want %g\n", r, d, (unsigned long long)i, host[i],
                           want);
                    bad = 1;
                    break;
                }
            }
            clReleaseKernel(k[d]);
        }
    }
    for (cl_uint d = 0; d < n_dev; ++d) {
        clReleaseMemObject(buf[d]);
        clReleaseProgram(prog[d]);
        clReleaseCommandQueue(q[d]);
        clReleaseContext(ctx[d]);
    }
    free(host);
    printf(bad ? "wrong numbers\n" : "ok\n");
    return bad;
}
