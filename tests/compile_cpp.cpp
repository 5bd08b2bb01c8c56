// The header alone compiles as C++11 with every warning an error; C++ passes
// an array to clv_map instead of the CLV_MAP macro.
#include "clvmap.h"

static clv_status never_called(clv_program *p, clv_array *x)
{
    clv_map_opts o = clv_map_opts();
    const clv_arg args[] = { clv_in(x), clv_int(3), clv_real(0.5) };
    return clv_map(p, "k", 1, &o, args, 3);
}

int main()
{
    (void)never_called;
    return clv_status_string(CLV_OK)[0] == 's' ? 0 : 1;
}
