/* The prelude embedded in include/clvmap.h is exactly kernels/prelude.cl.
 * If this fails, run: ninja -C build embed */
#include "test_util.h"

int main(void)
{
    const char *root = getenv("CLV_SOURCE_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/kernels/prelude.cl", root ? root : ".");
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("FAIL: cannot open %s (set CLV_SOURCE_ROOT)\n", path);
        return 1;
    }
    static char file[1 << 20];
    size_t n = fread(file, 1, sizeof file - 1, f);
    fclose(f);
    file[n] = '\0';
    size_t n_lines, at = 0;
    const char *const *lines = clv_prelude_lines(&n_lines);
    int same = 1;
    for (size_t i = 0; i < n_lines && same; ++i) {
        size_t len = strlen(lines[i]);
        if (at + len > n || memcmp(file + at, lines[i], len) != 0) {
            printf("FAIL: embedded line %zu differs from %s: \"%s\"\n", i + 1, path, lines[i]);
            same = 0;
        }
        at += len;
    }
    TU_CHECK(same && at == n, "embedded prelude is stale (%zu of %zu bytes match): run ninja -C build embed", at, n);
    return tu_summary();
}
