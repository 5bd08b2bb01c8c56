/* Fuzz target: the CSV reader (include/clvmap_csv.h).
 *
 * Every input is read three ways (header auto-detected with comments kept;
 * header forced with a row limit; no header with a column limit). Invariants:
 *   - no crash, no undefined behaviour, no leak (ASan + UBSan + LSan);
 *   - on failure: a non-empty, NUL-terminated message, a position for
 *     syntax errors, and nothing left allocated in the table;
 *   - on success: a consistent table (values exactly when there are rows,
 *     names exactly when there is a header, limits respected, comments are
 *     '#' lines), which, written back with %.17g and quoted names, reads
 *     back to the same names and the same bits (NaN as NaN). */
#include "clvmap_csv.h"
#include "fuzz_check.h"

#include <math.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* A growing text buffer for the write-back. */
typedef struct text {
    char *s;
    size_t n, cap;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->n + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->n + n + 1) cap *= 2;
        char *grown = (char *)realloc(t->s, cap);
        FUZZ_CHECK(grown != NULL, "out of memory in the harness");
        t->s = grown;
        t->cap = cap;
    }
    memcpy(t->s + t->n, s, n);
    t->n += n;
    t->s[t->n] = '\0';
}

static void write_back(const clv_csv_table *t, text *out)
{
    char num[64];
    if (t->names) {
        for (size_t c = 0; c < t->n_columns; ++c) {
            if (c) put(out, ",", 1);
            put(out, "\"", 1);
            for (const char *p = t->names[c]; *p; ++p) put(out, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
            put(out, "\"", 1);
        }
        put(out, "\n", 1);
    }
    for (size_t r = 0; r < t->n_rows; ++r) {
        for (size_t c = 0; c < t->n_columns; ++c) {
            int w = snprintf(num, sizeof num, "%s%.17g", c ? "," : "", t->values[r * t->n_columns + c]);
            put(out, num, (size_t)w);
        }
        put(out, "\r\n", 2); /* CRLF on the way back, for good measure */
    }
}

static int same_value(double a, double b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return memcmp(&a, &b, sizeof a) == 0;
}

static void check_failed(const clv_csv_table *t, clv_csv_status st)
{
    FUZZ_CHECK(st > CLV_CSV_OK && st < CLV_CSV_STATUS_COUNT, "status %d", (int)st);
    FUZZ_CHECK(fuzz_message_ok(t->message, sizeof t->message), "status %s without a message",
               clv_csv_status_string(st));
    FUZZ_CHECK(!t->values && !t->names && !t->comments && t->n_rows == 0 && t->n_columns == 0,
               "a failed read left data in the table: %s", t->message);
    if (st == CLV_CSV_ERROR_SYNTAX)
        FUZZ_CHECK(t->error_line >= 1 && t->error_column >= 1, "syntax error without a position: %s", t->message);
}

static void check_table(const clv_csv_table *t, const clv_csv_opts *o)
{
    FUZZ_CHECK(t->message[0] == '\0', "success with a message: %s", t->message);
    FUZZ_CHECK((t->n_rows > 0) == (t->values != NULL), "%lu rows, values %p", (unsigned long)t->n_rows,
               (const void *)t->values);
    FUZZ_CHECK(t->n_rows == 0 || t->n_columns > 0, "rows without columns");
    FUZZ_CHECK(t->n_rows <= ((size_t)-1 / 8) / (t->n_columns ? t->n_columns : 1), "size overflow");
    if (o->header == CLV_CSV_HEADER_NO) FUZZ_CHECK(!t->names, "names without a header row");
    if (o->header == CLV_CSV_HEADER_YES) FUZZ_CHECK((t->names != NULL) == (t->n_columns > 0), "header forced");
    if (o->max_rows) FUZZ_CHECK(t->n_rows <= o->max_rows, "max_rows");
    if (o->max_columns) FUZZ_CHECK(t->n_columns <= o->max_columns, "max_columns");
    if (t->names)
        for (size_t c = 0; c < t->n_columns; ++c) {
            FUZZ_CHECK(t->names[c] != NULL, "name %lu is NULL", (unsigned long)c);
            FUZZ_CHECK(!strpbrk(t->names[c], "\r\n"), "a name with a line break");
            FUZZ_CHECK(clv_csv_column(t, t->names[c]) <= (long)c, "clv_csv_column");
        }
    /* every value is read (ASan sees a short array) */
    size_t n_nan = 0;
    for (size_t i = 0; i < t->n_rows * t->n_columns; ++i) n_nan += isnan(t->values[i]) != 0;
    (void)n_nan;
    FUZZ_CHECK((t->comments != NULL) == (o->keep_comments != 0), "comments kept: %d", o->keep_comments);
    if (t->comments) {
        size_t len = strlen(t->comments);
        FUZZ_CHECK(len == 0 || t->comments[len - 1] == '\n', "comments end with a line feed");
        for (const char *line = t->comments; *line;) {
            const char *p = line;
            while (*p == ' ' || *p == '\t') ++p;
            FUZZ_CHECK(*p == '#', "a kept comment line that is not one");
            line = strchr(line, '\n') + 1;
        }
    }
}

static void check_roundtrip(const clv_csv_table *t)
{
    text out = { NULL, 0, 0 };
    write_back(t, &out);
    clv_csv_opts o;
    memset(&o, 0, sizeof o);
    o.header = t->names ? CLV_CSV_HEADER_YES : CLV_CSV_HEADER_NO;
    clv_csv_table back;
    clv_csv_status st = clv_csv_read(&back, out.s ? out.s : "", out.n, &o);
    FUZZ_CHECK(st == CLV_CSV_OK, "the table written back does not read: %s\n%s", back.message, out.s);
    FUZZ_CHECK(back.n_rows == t->n_rows && back.n_columns == t->n_columns,
               "shape %lux%lu read back as %lux%lu", (unsigned long)t->n_rows, (unsigned long)t->n_columns,
               (unsigned long)back.n_rows, (unsigned long)back.n_columns);
    for (size_t c = 0; t->names && c < t->n_columns; ++c)
        FUZZ_CHECK(strcmp(back.names[c], t->names[c]) == 0, "name %lu: \"%s\" read back as \"%s\"",
                   (unsigned long)c, t->names[c], back.names[c]);
    for (size_t i = 0; i < t->n_rows * t->n_columns; ++i)
        FUZZ_CHECK(same_value(back.values[i], t->values[i]), "value %lu: %.17g read back as %.17g",
                   (unsigned long)i, t->values[i], back.values[i]);
    clv_csv_free(&back);
    free(out.s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct { clv_csv_header header; size_t max_rows, max_columns; int keep_comments; } modes[] = {
        { CLV_CSV_HEADER_AUTO, 0, 0, 1 },
        { CLV_CSV_HEADER_YES, 5, 0, 0 },
        { CLV_CSV_HEADER_NO, 0, 3, 0 },
    };
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; ++m) {
        clv_csv_opts o;
        memset(&o, 0, sizeof o);
        o.header = modes[m].header;
        o.max_rows = modes[m].max_rows;
        o.max_columns = modes[m].max_columns;
        o.keep_comments = modes[m].keep_comments;
        clv_csv_table t;
        clv_csv_status st = clv_csv_read(&t, data, size, &o);
        if (st == CLV_CSV_OK) {
            check_table(&t, &o);
            check_roundtrip(&t);
        } else {
            check_failed(&t, st);
        }
        clv_csv_free(&t);
        clv_csv_free(&t); /* twice: safe on a freed table */
    }
    return 0;
}
