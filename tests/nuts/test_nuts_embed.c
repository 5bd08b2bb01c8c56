/* Copies that must not drift:
 * 1. the kernels embedded in include/clvmap_nuts.h are exactly kernels/nuts.cl
 *    (if not, run: ninja -C BUILD embed_nuts);
 * 2. the complete example in the header's manual is exactly
 *    tests/nuts/nuts_manual.c from its #include on (meson builds and runs it
 *    as the test nuts_manual). */
#include "test_util.h"
#include "clvmap_nuts.h"

/* The whole file root/rel into a static buffer; NULL if it cannot be read. */
static char *read_file(const char *rel, size_t *size)
{
    static char buffers[2][1 << 20];
    static int next;
    const char *root = getenv("CLV_SOURCE_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root ? root : ".", rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("FAIL: cannot open %s (set CLV_SOURCE_ROOT)\n", path);
        return NULL;
    }
    char *buf = buffers[next++ % 2];
    *size = fread(buf, 1, sizeof buffers[0] - 1, f);
    fclose(f);
    buf[*size] = '\0';
    return buf;
}

static void check_kernels(void)
{
    size_t n, n_lines, at = 0;
    char *file = read_file("kernels/nuts.cl", &n);
    if (!file) { TU_CHECK(0, "kernels/nuts.cl unreadable"); return; }
    const char *const *lines = clv_nuts_kernel_lines(&n_lines);
    int same = 1;
    for (size_t i = 0; i < n_lines && same; ++i) {
        size_t len = strlen(lines[i]);
        if (at + len > n || memcmp(file + at, lines[i], len) != 0) {
            printf("FAIL: embedded line %zu differs from kernels/nuts.cl: \"%s\"\n", i + 1, lines[i]);
            same = 0;
        }
        at += len;
    }
    TU_CHECK(same && at == n, "embedded kernels are stale (%zu of %zu bytes match): run ninja -C BUILD embed_nuts",
             at, n);
}

/* The header's lines from ' *   #include "clvmap_nuts.h"' to ' *   }', less
 * their ' *   ' prefix, equal the example file from its #include on. */
static void check_manual(void)
{
    size_t hn, en;
    char *header = read_file("include/clvmap_nuts.h", &hn);
    if (!header) { TU_CHECK(0, "header unreadable"); return; }
    char *begin = strstr(header, " *   #include \"clvmap_nuts.h\"");
    char *end = begin ? strstr(begin, "\n *   }\n") : NULL;
    char *example = read_file("tests/nuts/nuts_manual.c", &en);
    char *ex = example ? strstr(example, "#include \"clvmap_nuts.h\"") : NULL;
    if (!begin || !end || !ex) { TU_CHECK(0, "manual example or tests/nuts/nuts_manual.c not found"); return; }
    end += strlen("\n *   }\n");
    int same = 1;
    for (char *line = begin; line < end && same;) {
        char *nl = strchr(line, '\n');
        size_t prefix = strncmp(line, " *   ", 5) == 0 ? 5 : 2; /* ' *' alone for blank lines */
        size_t len = (size_t)(nl - line) + 1 - prefix;
        same = strncmp(ex, line + prefix, len) == 0;
        if (!same) printf("FAIL: manual differs at: %.*s", (int)len, line + prefix);
        ex += len;
        line = nl + 1;
    }
    TU_CHECK(same && *ex == '\0', "the header's example and tests/nuts/nuts_manual.c differ");
}

int main(void)
{
    check_kernels();
    check_manual();
    return tu_summary();
}
