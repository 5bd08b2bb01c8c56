/* clvmap_csv.h alone (no OpenCL), then again beside clvmap.h with the
 * allocator hooks given once for both: compiled as C99 and as C++
 * (compile_csv_cpp.cpp) with -Werror -Wpedantic. */
#include <stdlib.h>
static size_t hook_calls;
static void *counted_malloc(size_t n) { ++hook_calls; return malloc(n); }
#define CLV_MALLOC(n) counted_malloc(n)
#define CLV_REALLOC(p, n) realloc((p), (n))
#define CLV_FREE(p) free(p)
#include "clvmap_csv.h"
#include "clvmap_csv.h" /* twice: include guard */
#include "clvmap.h"

int main(void)
{
    clv_csv_table t;
    const char text[] = "\"x\"\n1\n";
    clv_csv_status st = clv_csv_read(&t, text, sizeof text - 1, NULL);
    int ok = st == CLV_CSV_OK && t.n_rows == 1 && clv_csv_column(&t, "x") == 0 && hook_calls > 0;
    clv_csv_free(&t);
    (void)clv_csv_read_file;
    (void)clv_csv_status_string;
    (void)clv_status_string;
    return ok ? 0 : 1;
}
