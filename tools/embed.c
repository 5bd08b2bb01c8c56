/* embed: copy an OpenCL C file into a header as an array of string lines.
 *
 *   embed HEADER KERNEL_FILE FUNCTION
 *
 * Replaces everything between the lines
 *   / * BEGIN EMBEDDED <KERNEL_FILE> ... * /   and   / * END EMBEDDED <KERNEL_FILE> * /
 * in HEADER with a function
 *   static inline const char *const *FUNCTION(size_t *n_lines)
 * returning the file's lines. Lines rather than one long literal keep every
 * literal under C99's 4095-character minimum (gcc -pedantic warns above it),
 * and clCreateProgramWithSource takes an array of strings anyway.
 *
 * tests/test_embed.c fails when the copy in a header differs from the file. */
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

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: embed HEADER KERNEL_FILE FUNCTION\n");
        return 2;
    }
    const char *header_path = argv[1], *kernel_path = argv[2], *function = argv[3];
    size_t header_size, kernel_size;
    char *header = slurp(header_path, &header_size);
    char *kernel = slurp(kernel_path, &kernel_size);
    if (!header || !kernel) {
        fprintf(stderr, "embed: cannot read %s\n", header ? kernel_path : header_path);
        return 1;
    }
    /* the marker names the file by its path relative to the project root */
    const char *rel = strstr(kernel_path, "kernels/");
    if (!rel) rel = kernel_path;
    char begin[512], end[512];
    snprintf(begin, sizeof begin, "/* BEGIN EMBEDDED %s", rel);
    snprintf(end, sizeof end, "/* END EMBEDDED %s */", rel);
    char *b = strstr(header, begin), *e = strstr(header, end);
    if (!b || !e || e < b) {
        fprintf(stderr, "embed: markers for %s not found in %s\n", rel, header_path);
        return 1;
    }
    char *b_line_end = strchr(b, '\n');
    FILE *out = fopen(header_path, "wb");
    if (!out) {
        fprintf(stderr, "embed: cannot write %s\n", header_path);
        return 1;
    }
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
    fclose(out);
    free(header);
    free(kernel);
    return 0;
}
