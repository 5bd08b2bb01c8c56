/* The NUTS header alone compiles as strict C99 (-Wpedantic -Werror), here
 * and in tests/nuts/compile_nuts_cpp.cpp as C++. */
#include "clvmap_nuts.h"

int main(void)
{
    clv_nuts_opts o = {0};
    clv_nuts_result r = {0};
    clv_nuts_summary sm = {0};
    clv_nuts_result_free(&r);
    return o.n_chains + (int)sm.mean + (int)clv_nuts_message(NULL)[0] * 0;
}
