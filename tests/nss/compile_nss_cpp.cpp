// The NSS header compiles as C++ (-Wpedantic -Werror).
#include "clvmap_nss.h"

int main()
{
    clv_nss_opts o = clv_nss_opts();
    clv_nss_result r = clv_nss_result();
    clv_nss_result_free(&r);
    return o.n_live + static_cast<int>(clv_nss_stop_string(CLV_NSS_CONVERGED)[0]) * 0;
}
