/* The NSS header alone compiles as strict C99 (-Wpedantic -Werror), here
 * and in tests/nss/compile_nss_cpp.cpp as C++. */
#include "clvmap_nss.h"

/* Every add-on header carries its version, as clvmap.h does (issue 11). */
#if !defined(CLV_NSS_VERSION_MAJOR) || !defined(CLV_NSS_VERSION_MINOR) || !defined(CLV_NSS_VERSION_PATCH)
#error "CLV_NSS_VERSION_MAJOR/MINOR/PATCH are not defined"
#endif

int main(void)
{
    clv_nss_opts o = {0};
    clv_nss_result r = {0};
    clv_nss_result_free(&r);
    return (int)o.n_live + (int)clv_nss_message(NULL)[0] * 0;
}
