/* uninit_false_positive.c — oclgrind 21.10's --uninitialized plugin (Debian
 * 12) reports uninitialised values that are not there once a buffer takes
 * the place of a smaller one that a kernel had used. Plain OpenCL, no
 * clvmap:
 *
 *   1. kernel k runs with a 32-byte buffer `small` (its output); `small` is
 *      released;
 *   2. a 2048-byte buffer B is created (oclgrind gives it the freed slot)
 *      and k runs on it: each of 4 work items writes 4 doubles of its own
 *      512-byte row of B, reads them back and stores their sum of squares.
 *
 * Step 2 is correct, yet
 *
 *   cc tests/oclgrind/uninit_false_positive.c -lOpenCL -o repro
 *   oclgrind --uninitialized ./repro          3x "Uninitialized value written
 *                                             to global memory": work items
 *                                             1..3, whose rows lie past B's
 *                                             first 32 bytes; work item 0's
 *                                             row (bytes 0..31) is fine
 *   oclgrind --uninitialized ./repro --keep   nothing (`small` not released)
 *   oclgrind --uninitialized ./repro --unused nothing (`small` never used by
 *                                             a kernel)
 *
 * So the plugin keeps tracking the slot at the old buffer's size: stores
 * past it are lost and loads past it read as uninitialised. clvmap releases
 * and creates buffers all the time (arrays, the scratch kept between maps),
 * so a program that frees a buffer a kernel used and then runs a kernel
 * that writes global memory and reads it back can get these reports (NSS
 * scratch, NUTS chain state, the L-BFGS summary after reset).
 * tests/oclgrind/meson.build runs those programs without --uninitialized
 * (invalid accesses, data races and API checks stay on); the others keep
 * it. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <string.h>

static const char *source =
    "__kernel void k(__global double *work, __global double *out) {\n"
    "    size_t i = get_global_id(0);\n"
    "    __global double *w = work + i * 64;\n"
    "    double s = 0;\n"
    "    for (int k = 0; k < 4; ++k) w[k] = (double)(k + i);\n"
    "    for (int k = 0; k < 4; ++k) s += w[k] * w[k];\n"
    "    out[i] = s;\n"
    "}\n";

static int run(cl_command_queue q, cl_kernel k, cl_mem work, cl_mem out)
{
    size_t global = 4, local = 4;
    double h[4] = { 0 };
    clSetKernelArg(k, 0, sizeof work, &work);
    clSetKernelArg(k, 1, sizeof out, &out);
    cl_int err = clEnqueueNDRangeKernel(q, k, 1, NULL, &global, &local, 0, NULL, NULL);
    if (err == CL_SUCCESS) err = clEnqueueReadBuffer(q, out, CL_TRUE, 0, sizeof h, h, 0, NULL, NULL);
    printf("%s: %g %g %g %g (expected 14 30 54 86)\n", err == CL_SUCCESS ? "ok" : "failed", h[0], h[1], h[2],
           h[3]);
    return err == CL_SUCCESS;
}

int main(int argc, char **argv)
{
    int keep = argc > 1 && !strcmp(argv[1], "--keep");
    int unused = argc > 1 && !strcmp(argv[1], "--unused");
    cl_platform_id p;
    cl_device_id d;
    cl_int err;
    if (clGetPlatformIDs(1, &p, NULL) != CL_SUCCESS || clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &d, NULL))
        return 1;
    cl_context c = clCreateContext(NULL, 1, &d, NULL, NULL, &err);
    cl_command_queue q = clCreateCommandQueue(c, d, 0, &err);
    cl_program prog = clCreateProgramWithSource(c, 1, &source, NULL, &err);
    if (clBuildProgram(prog, 1, &d, "", NULL, NULL) != CL_SUCCESS) return 1;
    cl_kernel k = clCreateKernel(prog, "k", &err);
    const size_t bytes = 4 * 64 * sizeof(double);
    cl_mem a = clCreateBuffer(c, CL_MEM_READ_WRITE, bytes, NULL, &err);
    cl_mem small = clCreateBuffer(c, CL_MEM_READ_WRITE, 4 * sizeof(double), NULL, &err);
    int ok = unused ? 1 : run(q, k, a, small); /* step 1 */
    if (!keep) clReleaseMemObject(small);
    cl_mem b = clCreateBuffer(c, CL_MEM_READ_WRITE, bytes, NULL, &err);
    cl_mem out = clCreateBuffer(c, CL_MEM_READ_WRITE, 4 * sizeof(double), NULL, &err);
    ok &= run(q, k, b, out); /* step 2: reported under oclgrind --uninitialized */
    if (keep) clReleaseMemObject(small);
    clReleaseMemObject(out);
    clReleaseMemObject(b);
    clReleaseMemObject(a);
    clReleaseKernel(k);
    clReleaseProgram(prog);
    clReleaseCommandQueue(q);
    clReleaseContext(c);
    return ok ? 0 : 1;
}
