/* embed: copy an OpenCL C file into a header as an array of string lines.
 *
 *   embed [--check] HEADER KERNEL_FILE FUNCTION
 *
 * Replaces everything between the lines
 *   / * BEGIN EMBEDDED <KERNEL_FILE> ... * /   and   / * END EMBEDDED <KERNEL_FILE> * /
 * in HEADER with a function
 *   static inline const char *const *FUNCTION(size_t *n_lines)
 * returning the file's lines. Lines rather than one long literal keep every
 * literal under C99's 4095-character minimum (gcc -pedantic warns above it),
 * and clCreateProgramWithSource takes an array of strings anyway.
 *
 * With --check nothing is written: the exit status is 1 when the header's
 * copy differs from the file (meson runs this as a test for every header). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    if (size) *size = (size_t)n;
    return buf;
}

static void emit_line(FILE *out, const char *s, size_t n)
{
    fputs("        \"", out);
    for (size_t i = 0; i < n; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == '"' || c == '?') fprintf(out, "\\%c", c);
        else if (c == '\t') fputs("\\t", out);
        else if (c == '\n') fputs("\\n", out);
        else fputc(c, out);
    }
    fputs("\",\n", out);
}

/* Write the header with the embedded block regenerated to out. */
static int generate(FILE *out, const char *header, const char *kernel, size_t kernel_size, const char *rel,
                    const char *function)
{
    char begin[512], end[512];
    snprintf(begin, sizeof begin, "/* BEGIN EMBEDDED %s", rel);
    snprintf(end, sizeof end, "/* END EMBEDDED %s */", rel);
    const char *b = strstr(header, begin), *e = strstr(header, end);
    if (!b || !e || e < b) return 0;
    const char *b_line_end = strchr(b, '\n');
    fwrite(header, 1, (size_t)(b_line_end + 1 - header), out);
    fprintf(out, "static inline const char *const *%s(size_t *n_lines)\n{\n", function);
    fputs("    static const char *const lines[] = {\n", out);
    for (size_t at = 0; at < kernel_size;) {
        const char *nl = memchr(kernel + at, '\n', kernel_size - at);
        size_t n = nl ? (size_t)(nl - (kernel + at)) + 1 : kernel_size - at;
        emit_line(out, kernel + at, n);
        at += n;
    }
    fputs("    };\n    if (n_lines) *n_lines = sizeof lines / sizeof lines[0];\n    return lines;\n}\n", out);
    fputs(e, out);
    return 1;
}

int main(int argc, char **argv)
{
    int check = argc == 5 && strcmp(argv[1], "--check") == 0;
    if (argc != 4 + check) {
        fprintf(stderr, "usage: embed [--check] HEADER KERNEL_FILE FUNCTION\n");
        return 2;
    }
    const char *header_path = argv[1 + check], *kernel_path = argv[2 + check], *function = argv[3 + check];
    size_t header_size, kernel_size, new_size;
    char *header = slurp(header_path, &header_size);
    char *kernel = slurp(kernel_path, &kernel_size);
    if (!header || !kernel) {
        fprintf(stderr, "embed: cannot read %s\n", header ? kernel_path : header_path);
        return 1;
    }
    /* the marker names the file by its path relative to the project root */
    const char *rel = strstr(kernel_path, "kernels/");
    if (!rel) rel = kernel_path;
    FILE *tmp = tmpfile();
    if (!tmp || !generate(tmp, header, kernel, kernel_size, rel, function)) {
        fprintf(stderr, "embed: markers for %s not found in %s\n", rel, header_path);
        return 1;
    }
    new_size = (size_t)ftell(tmp);
    rewind(tmp);
    char *generated = malloc(new_size + 1);
    if (!generated || fread(generated, 1, new_size, tmp) != new_size) return 1;
    fclose(tmp);
    int same = new_size == header_size && memcmp(generated, header, new_size) == 0;
    if (check) {
        printf("%s: the copy of %s is %s\n", header_path, rel, same ? "up to date" : "STALE (run ninja embed)");
        free(generated);
        free(header);
        free(kernel);
        return same ? 0 : 1;
    }
    FILE *out = same ? NULL : fopen(header_path, "wb");
    if (!same && (!out || fwrite(generated, 1, new_size, out) != new_size)) {
        fprintf(stderr, "embed: cannot write %s\n", header_path);
        return 1;
    }
    if (out) fclose(out);
    free(generated);
    free(header);
    free(kernel);
    return 0;
}
