/* With <clblast_c.h> included first, the header also compiles its CLBlast
 * interop (clv_lbfgs_gemm), strictly, as C99. clblast_c.h includes CL/cl.h
 * itself: without CL_TARGET_OPENCL_VERSION 120 first, the OpenCL headers
 * target 3.0 and deprecate clCreateCommandQueue, which clvmap.h uses. */
#define CL_TARGET_OPENCL_VERSION 120
#include <clblast_c.h>
#include "clvmap_lbfgs.h"

int main(void)
{
    clv_status (*gemm)(const clv_lbfgs_batch *, const clv_array *, size_t, size_t, int, double,
                       const clv_array *, double, clv_array *) = clv_lbfgs_gemm;
    return gemm ? 0 : 1;
}
