/* Two translation units include the header and link into one program:
 * everything is static inline, so there are no duplicate symbols. */
#include "clvmap.h"
#include <stdio.h>

int describe_in_b(clv_status s);

int main(void)
{
    size_t n_lines = 0;
    clv_prelude_lines(&n_lines);
    if (n_lines == 0 || describe_in_b(CLV_ERROR_BUILD) != 0) {
        fprintf(stderr, "FAIL: prelude empty or status strings differ between units\n");
        return 1;
    }
    printf("ok: two units, %zu prelude lines\n", n_lines);
    return 0;
}
