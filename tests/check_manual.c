/* check_manual HEADER EXAMPLE: the complete example in a header's manual is
 * exactly the example file that meson builds and runs.
 *
 * The example in the header is the comment block from its first line
 * ' *   #include "' to the first line ' *   }'; without its ' *   ' prefix
 * (' *' alone on blank lines) it must equal EXAMPLE from its #include on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = (char *)malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: check_manual HEADER EXAMPLE\n");
        return 2;
    }
    char *header = slurp(argv[1]), *example = slurp(argv[2]);
    char *begin = header ? strstr(header, " *   #include \"") : NULL;
    char *end = begin ? strstr(begin, "\n *   }\n") : NULL;
    char *ex = example ? strstr(example, "#include \"") : NULL;
    if (!begin || !end || !ex) {
        printf("FAIL: no example in %s or no #include in %s\n", argv[1], argv[2]);
        return 1;
    }
    end += strlen("\n *   }\n");
    int same = 1;
    for (char *line = begin; line < end && same;) {
        char *nl = strchr(line, '\n');
        size_t prefix = strncmp(line, " *   ", 5) == 0 ? 5 : 2;
        size_t len = (size_t)(nl - line) + 1 - prefix;
        same = strncmp(ex, line + prefix, len) == 0;
        if (!same) printf("FAIL: %s's manual differs from %s at: %.*s", argv[1], argv[2], (int)len, line + prefix);
        ex += len;
        line = nl + 1;
    }
    same = same && *ex == '\0';
    printf("%s: the manual's example %s %s\n", argv[1], same ? "equals" : "DIFFERS FROM", argv[2]);
    free(header);
    free(example);
    return same ? 0 : 1;
}
