/* The NUTS header alone compiles as strict C99 (-Wpedantic -Werror), here
 * and in tests/nuts/compile_nuts_cpp.cpp as C++. */
#include "clvmap_nuts.h"

/* Every add-on header carries its version, as clvmap.h does (issue 11). */
#if !defined(CLV_NUTS_VERSION_MAJOR) || !defined(CLV_NUTS_VERSION_MINOR) || !defined(CLV_NUTS_VERSION_PATCH)
#error "CLV_NUTS_VERSION_MAJOR/MINOR/PATCH are not defined"
#endif

int main(void)
{
    clv_nuts_opts o = {0};
    clv_nuts_result r = {0};
    clv_nuts_summary sm = {0};
    clv_nuts_result_free(&r);
    return o.n_chains + (int)sm.mean + (int)clv_nuts_message(NULL)[0] * 0;
}
