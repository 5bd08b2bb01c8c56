/* The L-BFGS header alone compiles as strict C99 (-Wall -Wextra -Wpedantic
 * -Werror) without CLBlast, and its API links. */
#include "clvmap_lbfgs.h"

/* Every add-on header carries its version, as clvmap.h does (issue 11). */
#if !defined(CLV_LBFGS_VERSION_MAJOR) || !defined(CLV_LBFGS_VERSION_MINOR) || !defined(CLV_LBFGS_VERSION_PATCH)
#error "CLV_LBFGS_VERSION_MAJOR/MINOR/PATCH are not defined"
#endif

int main(void)
{
    clv_lbfgs_parameter p = clv_lbfgs_parameter_resolve(NULL);
    clv_lbfgs *s = NULL;
    clv_status st = clv_lbfgs_new(&s, NULL, 4, NULL, &p);
    int ok = st == CLV_ERROR_INVALID_ARGUMENT && s && clv_lbfgs_message(s)[0] && p.m == 10;
    clv_lbfgs_free(s);
    return ok ? 0 : 1;
}
