/* check_manual HEADER EXAMPLE: the complete example in a header's manual is
 * exactly the example file that meson builds and runs.
 *
 * check_manual --names DOC... -- HEADER...: every clv_/CLV_ name that a
 * document mentions (a header's manual: its first comment; any other file
 * whole, e.g. README.md) is defined or declared in one of the headers
 * (outside their manuals), so that a renamed or invented function cannot
 * stay in the documentation.
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

/* The part of a file that documents: a header's first comment, or all. */
static void doc_part(char *text, const char *path, char **begin, char **end)
{
    size_t n = strlen(path);
    *begin = text;
    *end = text + strlen(text);
    if (n > 2 && strcmp(path + n - 2, ".h") == 0) {
        char *open = strstr(text, "/*");
        char *close = open ? strstr(open, "*/") : NULL;
        if (open && close) *begin = open, *end = close;
    }
}

static int is_ident(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

/* Whether name occurs as a whole identifier in [begin, end). */
static int has_word(const char *begin, const char *end, const char *word, size_t len)
{
    char name[128];
    memcpy(name, word, len);
    name[len] = '\0';
    for (const char *p = begin; p + len <= end; ++p) {
        p = strstr(p, name);
        if (!p || p + len > end) return 0;
        if ((p == begin || !is_ident(p[-1])) && !is_ident(p[len])) return 1;
    }
    return 0;
}

static int check_names(int n_docs, char **docs, int n_headers, char **headers)
{
    char *text[64], *def_begin[64], *def_end[64];
    int bad = 0, seen = 0;
    if (n_headers > 64) return 2;
    for (int h = 0; h < n_headers; ++h) {
        char *db, *de;
        text[h] = slurp(headers[h]);
        if (!text[h]) { printf("FAIL: cannot read %s\n", headers[h]); return 1; }
        doc_part(text[h], headers[h], &db, &de); /* the declarations are what follows the manual */
        def_begin[h] = de;
        def_end[h] = text[h] + strlen(text[h]);
    }
    for (int d = 0; d < n_docs; ++d) {
        char *doc = slurp(docs[d]), *b, *e;
        if (!doc) { printf("FAIL: cannot read %s\n", docs[d]); return 1; }
        doc_part(doc, docs[d], &b, &e);
        for (char *p = b; p < e; ++p) {
            if ((p > b && is_ident(p[-1])) || (strncmp(p, "clv_", 4) && strncmp(p, "CLV_", 4))) continue;
            size_t len = 0;
            while (p + len < e && is_ident(p[len])) ++len;
            char name[128];
            if (len >= sizeof name) len = sizeof name - 1;
            memcpy(name, p, len);
            name[len] = '\0';
            int found = name[len - 1] == '_'; /* a prefix, as in "the clv_nss_ functions" */
            for (int h = 0; h < n_headers && !found; ++h) found = has_word(def_begin[h], def_end[h], name, len);
            for (int h = 0; h < n_headers && !found && name[len - 1] == 's'; ++h) /* a plural: "clv_arrays" */
                found = has_word(def_begin[h], def_end[h], name, len - 1);
            ++seen;
            if (!found) {
                printf("FAIL: %s mentions %s, which no header defines\n", docs[d], name);
                ++bad;
            }
            p += len;
        }
        free(doc);
    }
    for (int h = 0; h < n_headers; ++h) free(text[h]);
    printf("%d name(s) checked in %d document(s), %d unknown\n", seen, n_docs, bad);
    return bad != 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--names") == 0) {
        int split = 2;
        while (split < argc && strcmp(argv[split], "--")) ++split;
        if (split >= argc - 1 || split == 2) {
            fprintf(stderr, "usage: check_manual --names DOC... -- HEADER...\n");
            return 2;
        }
        return check_names(split - 2, argv + 2, argc - split - 1, argv + split + 1);
    }
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
