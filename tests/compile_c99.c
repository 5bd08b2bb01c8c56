/* The header alone compiles as strict C99 with every warning an error, and
 * the C-only CLV_MAP macro expands (it is compiled, not run). */
#include "clvmap.h"

static clv_status never_called(clv_program *p, clv_array *x)
{
    clv_map_opts o = {0};
    return CLV_MAP(p, "k", 1, &o, clv_in(x), clv_int(3), clv_real(0.5));
}

int main(void)
{
    (void)never_called;
    return clv_status_string(CLV_OK)[0] == 's' ? 0 : 1;
}
