/* The complete example from the top of include/clvmap.h, verbatim
 * (the test manual_copy, tests/check_manual.c, fails when the two differ). */
#include "clvmap.h"
static const char *src =
    "__kernel void noisy_square(CLV_ITEMS, __global const float *x,\n"
    "                           __global float *y, const float sigma) {\n"
    "    CLV_GUARD();                       // padding work items leave\n"
    "    clv_rng r = clv_rng_init(clv_seed(), clv_item(), 0);\n"
    "    float v = x[clv_local()];          // this device's part\n"
    "    y[clv_local()] = v * v + sigma * clv_normal_f32(&r);\n"
    "}\n";
int main(void) {
    enum { B = 100000 };
    static float x[B], y[B];
    for (int i = 0; i < B; ++i) x[i] = (float)i / B;
    clv_mesh *m;                                   // CLV_DEVICES picks devices
    if (clv_mesh_open(&m, NULL)) { puts(clv_mesh_message(m)); return 1; }
    clv_program *p;
    clv_program_desc pd = {0}; pd.source = src;
    if (clv_program_build(&p, m, &pd)) { puts(clv_mesh_message(m)); return 1; }
    clv_array *xa, *ya;
    clv_array_new(&xa, m, CLV_F32, B, 1, CLV_SHARDED);
    clv_array_new(&ya, m, CLV_F32, B, 1, CLV_SHARDED);
    clv_array_write(xa, x);
    clv_map_opts o = {0}; o.chunk = 4096; o.seed = 42;
    clv_status s = CLV_MAP(p, "noisy_square", B, &o,
                           clv_in(xa), clv_out(ya), clv_float(0.1f));
    if (s) puts(clv_mesh_message(m)); else clv_array_read(ya, y);
    clv_array_free(xa); clv_array_free(ya);
    clv_program_free(p); clv_mesh_close(m);
    return s != CLV_OK;
}
