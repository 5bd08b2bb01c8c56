/* The NSS header alone compiles as strict C99 (-Wpedantic -Werror), here
 * and in tests/nss/compile_nss_cpp.cpp as C++. */
#include "clvmap_nss.h"

int main(void)
{
    clv_nss_opts o = {0};
    clv_nss_result r = {0};
    clv_nss_result_free(&r);
    return (int)o.n_live + (int)clv_nss_message(NULL)[0] * 0;
}
