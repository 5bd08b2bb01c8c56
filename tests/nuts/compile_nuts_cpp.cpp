// The NUTS header compiles as C++ (-Wpedantic -Werror).
#include "clvmap_nuts.h"

int main()
{
    clv_nuts_opts o = clv_nuts_opts();
    clv_nuts_result r = clv_nuts_result();
    clv_nuts_result_free(&r);
    return o.n_chains + static_cast<int>(clv_nuts_message(NULL)[0]) * 0;
}
