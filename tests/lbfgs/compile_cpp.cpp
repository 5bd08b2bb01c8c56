// The L-BFGS header compiles as C++ (-Wall -Wextra -Wpedantic -Werror).
#include "clvmap_lbfgs.h"

int main()
{
    clv_lbfgs_parameter p = clv_lbfgs_parameter_resolve(nullptr);
    clv_lbfgs *s = nullptr;
    clv_status st = clv_lbfgs_new(&s, nullptr, 4, nullptr, &p);
    bool ok = st == CLV_ERROR_INVALID_ARGUMENT && s && clv_lbfgs_message(s)[0] && p.m == 10;
    clv_lbfgs_free(s);
    return ok ? 0 : 1;
}
