/* clvmap_csv.h — a small reader of numeric CSV tables, in one header.
 *                                                           version 0.1.0
 *
 * WHAT IT IS
 *   Reads a table of numbers with an optional row of column names: what
 *   clv_nuts_write_csv (CmdStan's output layout) and clv_nss_write_csv
 *   write, and what numpy.savetxt(delimiter=","), pandas' to_csv of a
 *   numeric frame and R's write.csv write. It needs nothing but the C
 *   library (no OpenCL): a program may read a data file with it and hand
 *   the numbers to a clvmap model (clv_nuts_model.data, ...).
 *   Anything malformed is refused with the line and column where the
 *   reading stopped; memory is bounded by the options, and everything is
 *   freed on every path.
 *
 * A COMPLETE EXAMPLE (C99): column means of a CmdStan output file.
 *
 *   #include "clvmap_csv.h"
 *   #include <stdio.h>
 *   int main(int argc, char **argv) {
 *       clv_csv_table t;
 *       if (argc < 2) return 2;
 *       if (clv_csv_read_file(&t, argv[1], NULL) != CLV_CSV_OK) {
 *           fprintf(stderr, "%s\n", t.message);  // "f.csv: line 57, column 12: ..."
 *           return 1;
 *       }
 *       for (size_t c = 0; c < t.n_columns; ++c) {
 *           double sum = 0;
 *           for (size_t r = 0; r < t.n_rows; ++r) sum += t.values[r * t.n_columns + c];
 *           printf("%-20s %g\n", t.names ? t.names[c] : "?", sum / (double)t.n_rows);
 *       }
 *       clv_csv_free(&t);
 *       return 0;
 *   }
 *
 * WHAT IS READ
 *   - Lines end with LF or CRLF (a lone CR is an error); a UTF-8 byte order
 *     mark at the start is skipped; the last line may lack its LF.
 *   - A line whose first non-blank character is '#' is a comment (CmdStan
 *     writes them before the header, after it and at the end); blank lines
 *     are skipped. With opts.keep_comments the comment lines are kept.
 *   - Cells are separated by ',' ; spaces and tabs around a cell are
 *     ignored. A cell may be quoted ("a, b", with "" for a quote inside);
 *     a quoted cell does not span lines.
 *   - The header: with CLV_CSV_HEADER_AUTO (default) the first row is taken
 *     as column names when one of its cells is not a number; _YES and _NO
 *     force it. Names may be empty.
 *   - Numbers: what strtod reads, entirely: decimal (%.17g round-trips
 *     bitwise), hex floats (%a), inf / infinity / nan with any sign and
 *     case. Numbers too large for a double (1e999) are refused; tiny ones
 *     become subnormals or zero, as strtod rounds them. strtod follows the
 *     C locale's LC_NUMERIC: keep it "C" (the default) in programs that
 *     call setlocale.
 *   - Every row has as many cells as the first row (header or data); an
 *     empty cell is an error (no silent NaN).
 *   - Errors: CLV_CSV_ERROR_SYNTAX for a ragged row, a cell that is not a
 *     number, an empty cell, an unterminated quote, a NUL byte, a lone CR;
 *     CLV_CSV_ERROR_LIMIT for input over max_bytes, more than max_rows or
 *     max_columns, a cell longer than CLV_CSV_MAX_NUMBER characters or a
 *     number out of range; CLV_CSV_ERROR_IO when a file cannot be read.
 *     table.message says what and where ("line 3, column 7: ..."), and
 *     table.error_line / error_column hold the position (1-based bytes).
 *
 * MEMORY
 *   The values (8 bytes per cell), the names, the comments when kept, and
 *   for clv_csv_read_file the file's bytes: at most about 5 x the input
 *   size, and the input is at most opts.max_bytes. On failure nothing
 *   stays allocated; on success clv_csv_free releases it all.
 *
 * OPTIONS (define before including)
 *   CLV_MALLOC(n) / CLV_REALLOC(p, n) / CLV_FREE(p)   as in clvmap.h (all
 *                 three or none; shared with it when both are included);
 *   CLV_CSV_MAX_NUMBER   longest numeric cell in characters (default 256).
 *
 * REVISION HISTORY
 *   0.1.0 (2026-11-21) first version.
 *
 * LICENSE: MIT, as clvmap.h.
 *
 * ------------------------------------------------------------------------
 * Stop reading here if you only want the API.
 */
#ifndef CLVMAP_CSV_H
#define CLVMAP_CSV_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLV_CSV_VERSION_MAJOR 0
#define CLV_CSV_VERSION_MINOR 1
#define CLV_CSV_VERSION_PATCH 0

typedef enum clv_csv_status {
    CLV_CSV_OK = 0,
    CLV_CSV_ERROR_INVALID_ARGUMENT, /* NULL table or data, unknown header mode */
    CLV_CSV_ERROR_IO,               /* the file cannot be opened or read */
    CLV_CSV_ERROR_SYNTAX,           /* malformed input (line and column in the message) */
    CLV_CSV_ERROR_LIMIT,            /* more than the options or the types allow */
    CLV_CSV_ERROR_OUT_OF_MEMORY,    /* host memory ran out */
    CLV_CSV_STATUS_COUNT
} clv_csv_status;

typedef enum clv_csv_header {
    CLV_CSV_HEADER_AUTO = 0, /* default: names when a cell of the first row is not a number */
    CLV_CSV_HEADER_YES,      /* the first row is names */
    CLV_CSV_HEADER_NO        /* every row is numbers */
} clv_csv_header;

typedef struct clv_csv_opts {
    clv_csv_header header;
    size_t max_bytes;    /* longer input is refused; 0: 1 GiB */
    size_t max_columns;  /* 0: 1048576 */
    size_t max_rows;     /* 0: no limit but max_bytes */
    int keep_comments;   /* nonzero: table.comments keeps the comment lines */
} clv_csv_opts;

typedef struct clv_csv_table {
    size_t n_rows, n_columns;
    double *values;      /* n_rows x n_columns, row-major (NULL when there are none) */
    char **names;        /* n_columns NUL-terminated names, or NULL without a header row */
    char *comments;      /* keep_comments: each comment line as written, '\n'-terminated */
    size_t error_line;   /* where reading stopped on failure (1-based; 0: not in the text) */
    size_t error_column; /* byte in that line (1-based) */
    char message[320];   /* why it failed, or "" */
} clv_csv_table;

/* Read a table from size bytes at data (no NUL terminator needed). *table is
 * overwritten; on failure it holds only the message and position. */
static inline clv_csv_status clv_csv_read(clv_csv_table *table, const void *data, size_t size,
                                          const clv_csv_opts *opts);
/* The same from a file. */
static inline clv_csv_status clv_csv_read_file(clv_csv_table *table, const char *path, const clv_csv_opts *opts);
/* Release the table's arrays and zero it (safe on a zeroed or failed table, and on NULL). */
static inline void clv_csv_free(clv_csv_table *table);
/* The index of the first column called name, or -1 (also without a header). */
static inline long clv_csv_column(const clv_csv_table *table, const char *name);
/* A fixed English description of a status (never NULL). */
static inline const char *clv_csv_status_string(clv_csv_status status);

#ifdef __cplusplus
}
#endif

/* ========================================================================
 * IMPLEMENTATION
 * ======================================================================== */

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(CLV_MALLOC) && defined(CLV_REALLOC) && defined(CLV_FREE)
/* all three given (or clvmap.h came first) */
#elif !defined(CLV_MALLOC) && !defined(CLV_REALLOC) && !defined(CLV_FREE)
#define CLV_MALLOC(n) malloc(n)
#define CLV_REALLOC(p, n) realloc((p), (n))
#define CLV_FREE(p) free(p)
#else
#error "clvmap_csv: define all of CLV_MALLOC, CLV_REALLOC and CLV_FREE, or none"
#endif

#ifndef CLV_CSV_MAX_NUMBER
#define CLV_CSV_MAX_NUMBER 256
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define CLV_CSV__DEFAULT_MAX_BYTES ((size_t)1 << 30)
#define CLV_CSV__DEFAULT_MAX_COLUMNS ((size_t)1 << 20)

static inline const char *clv_csv_status_string(clv_csv_status status)
{
    switch (status) {
    case CLV_CSV_OK: return "success";
    case CLV_CSV_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case CLV_CSV_ERROR_IO: return "the file cannot be read";
    case CLV_CSV_ERROR_SYNTAX: return "malformed CSV";
    case CLV_CSV_ERROR_LIMIT: return "over a size limit";
    case CLV_CSV_ERROR_OUT_OF_MEMORY: return "out of host memory";
    case CLV_CSV_STATUS_COUNT: break;
    }
    return "unknown status";
}

/* The state of one read. */
typedef struct clv_csv__reader {
    clv_csv_table *t;
    clv_csv_opts o;
    const char *text, *end;   /* the input */
    const char *line;         /* start of the current line */
    size_t line_number;
    double *values;
    size_t n_values, values_capacity;
    char **cells;             /* the first row's cells as strings */
    size_t n_cells, cells_capacity;
    char *comments;
    size_t comments_length, comments_capacity;
    size_t n_columns, n_rows;
    int first_row_done;
} clv_csv__reader;

static inline clv_csv_status clv_csv__fail_at(clv_csv__reader *r, clv_csv_status st, const char *at,
                                              const char *fmt, ...)
{
    clv_csv_table *t = r->t;
    size_t used = 0;
    if (at) {
        t->error_line = r->line_number;
        t->error_column = (size_t)(at - r->line) + 1;
        int w = snprintf(t->message, sizeof t->message, "line %lu, column %lu: ", (unsigned long)t->error_line,
                         (unsigned long)t->error_column);
        used = w > 0 && (size_t)w < sizeof t->message ? (size_t)w : 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->message + used, sizeof t->message - used, fmt, ap);
    va_end(ap);
    return st;
}

/* array (of elements of elem bytes, *capacity of them) with room for need:
 * the same or a reallocated pointer, or NULL when memory ran out (array is
 * then still valid and unchanged). */
static inline void *clv_csv__grow(void *array, size_t *capacity, size_t need, size_t elem)
{
    if (need <= *capacity) return array;
    size_t cap = *capacity ? *capacity : 16;
    while (cap < need) {
        if (cap > ((size_t)-1 / 2) / elem) return NULL;
        cap *= 2;
    }
    void *p = CLV_REALLOC(array, cap * elem);
    if (p) *capacity = cap;
    return p;
}

static inline int clv_csv__blank(char c) { return c == ' ' || c == '\t'; }

/* Parse the whole of [s, s+len) as a double; 1 ok, 0 not a number, -1 out of range. */
static inline int clv_csv__number(const char *s, size_t len, double *value)
{
    char buf[CLV_CSV_MAX_NUMBER + 1];
    char *endp = NULL;
    if (len == 0 || len > CLV_CSV_MAX_NUMBER) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    /* strtod skips leading white space of every kind; cells were trimmed of
     * blanks already, so anything else left there is not a number */
    if (buf[0] == ' ' || buf[0] == '\t' || buf[0] == '\n' || buf[0] == '\v' || buf[0] == '\f' || buf[0] == '\r')
        return 0;
    errno = 0;
    double v = strtod(buf, &endp);
    if (endp != buf + len) return 0;
    if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL)) return -1;
    *value = v;
    return 1;
}

/* The next cell of the line [*pos, eol): its text in [*cell, *cell + *len),
 * unquoted into *unquoted (malloc'ed) when it was quoted. Leaves *pos at
 * the separator or at eol. */
static inline clv_csv_status clv_csv__cell(clv_csv__reader *r, const char **pos, const char *eol,
                                           const char **cell, size_t *len, char **unquoted, const char **cell_at)
{
    const char *p = *pos;
    *unquoted = NULL;
    while (p < eol && clv_csv__blank(*p)) ++p;
    *cell_at = p;
    if (p < eol && *p == '"') {
        const char *q = p + 1;
        size_t n = 0;
        /* first pass: find the closing quote and the unquoted length */
        for (;;) {
            if (q >= eol) return clv_csv__fail_at(r, CLV_CSV_ERROR_SYNTAX, p, "quoted cell has no closing "
                                                  "quote on this line");
            if (*q == '"') {
                if (q + 1 < eol && q[1] == '"') {
                    q += 2;
                    ++n;
                    continue;
                }
                break;
            }
            ++q;
            ++n;
        }
        char *s = (char *)CLV_MALLOC(n + 1);
        if (!s) return clv_csv__fail_at(r, CLV_CSV_ERROR_OUT_OF_MEMORY, NULL, "out of host memory");
        size_t k = 0;
        for (const char *c = p + 1; c < q; ++c) {
            s[k++] = *c;
            if (*c == '"') ++c; /* "" -> " */
        }
        s[k] = '\0';
        const char *after = q + 1;
        while (after < eol && clv_csv__blank(*after)) ++after;
        if (after < eol && *after != ',') {
            CLV_FREE(s);
            return clv_csv__fail_at(r, CLV_CSV_ERROR_SYNTAX, after, "'%c' after a quoted cell (expected ',' or "
                                    "the end of the line)", *after);
        }
        *unquoted = s;
        *cell = s;
        *len = k;
        *pos = after;
        return CLV_CSV_OK;
    }
    const char *q = p;
    while (q < eol && *q != ',') {
        if (*q == '"')
            return clv_csv__fail_at(r, CLV_CSV_ERROR_SYNTAX, q, "a quote inside an unquoted cell (quote the "
                                    "whole cell, with \"\" for a quote in it)");
        ++q;
    }
    const char *e = q;
    while (e > p && clv_csv__blank(e[-1])) --e;
    *cell = p;
    *len = (size_t)(e - p);
    *pos = q;
    return CLV_CSV_OK;
}

/* Append one number to the values. */
static inline clv_csv_status clv_csv__push(clv_csv__reader *r, double v)
{
    double *values = (double *)clv_csv__grow(r->values, &r->values_capacity, r->n_values + 1, sizeof(double));
    if (!values)
        return clv_csv__fail_at(r, CLV_CSV_ERROR_OUT_OF_MEMORY, NULL, "out of host memory (%lu values)",
                                (unsigned long)r->n_values);
    r->values = values;
    r->values[r->n_values++] = v;
    return CLV_CSV_OK;
}

/* A numeric cell: parsed and appended, or the error that says why not. */
static inline clv_csv_status clv_csv__value(clv_csv__reader *r, const char *cell, size_t len, const char *at)
{
    double v = 0;
    if (len == 0) return clv_csv__fail_at(r, CLV_CSV_ERROR_SYNTAX, at, "empty cell (expected a number)");
    if (len > CLV_CSV_MAX_NUMBER)
        return clv_csv__fail_at(r, CLV_CSV_ERROR_LIMIT, at, "cell of %lu characters is longer than a number may "
                                "be (%d)", (unsigned long)len, CLV_CSV_MAX_NUMBER);
    int ok = clv_csv__number(cell, len, &v);
    if (ok < 0) return clv_csv__fail_at(r, CLV_CSV_ERROR_LIMIT, at, "number out of the range of a double");
    if (ok == 0) {
        char shown[40];
        size_t n = len < sizeof shown - 1 ? len : sizeof shown - 1;
        for (size_t i = 0; i < n; ++i) {
            unsigned char c = (unsigned char)cell[i];
            shown[i] = (c >= 32 && c < 127) ? (char)c : '?';
        }
        shown[n] = '\0';
        return clv_csv__fail_at(r, CLV_CSV_ERROR_SYNTAX, at, "\"%s%s\" is not a number", shown,
                                len > n ? "..." : "");
    }
    return clv_csv__push(r, v);
}

/* A data row after the first: exactly n_columns numbers. */
static inline clv_csv_status clv_csv__data_row(clv_csv__reader *r, const char *p, const char *eol)
{
    size_t column = 0;
    for (;;) {
        const char *cell = NULL, *at = NULL;
        char *unquoted = NULL;
        size_t len = 0;
        clv_csv_status st = clv_csv__cell(r, &p, eol, &cell, &len, &unquoted, &at);
        if (st != CLV_CSV_OK) return st;
        if (column >= r->n_columns) {
            CLV_FREE(unquoted);
            return clv_csv__fail_at(r, CLV_CSV_ERROR_SYNTAX, at, "more cells than the %lu of the %s row",
                                    (unsigned long)r->n_columns, r->t->names ? "header" : "first");
        }
        st = clv_csv__value(r, cell, len, at);
        CLV_FREE(unquoted);
        if (st != CLV_CSV_OK) return st;
        ++column;
        if (p >= eol) break;
        ++p; /* the ',' */
    }
    if (column < r->n_columns)
        return clv_csv__fail_at(r, CLV_CSV_ERROR_SYNTAX, eol, "%lu cell(s), but the %s row has %lu",
                                (unsigned long)column, r->t->names ? "header" : "first", (unsigned long)r->n_columns);
    return CLV_CSV_OK;
}

static inline void clv_csv__free_cells(clv_csv__reader *r)
{
    for (size_t i = 0; i < r->n_cells; ++i) CLV_FREE(r->cells[i]);
    CLV_FREE(r->cells);
    r->cells = NULL;
    r->n_cells = r->cells_capacity = 0;
}

/* The first row: names or numbers (opts.header decides, or its cells do). */
static inline clv_csv_status clv_csv__first_row(clv_csv__reader *r, const char *p, const char *eol)
{
    int all_numbers = 1;
    for (;;) {
        const char *cell = NULL, *at = NULL;
        char *unquoted = NULL;
        size_t len = 0;
        clv_csv_status st = clv_csv__cell(r, &p, eol, &cell, &len, &unquoted, &at);
        if (st != CLV_CSV_OK) return st;
        if (r->n_cells >= r->o.max_columns) {
            CLV_FREE(unquoted);
            return clv_csv__fail_at(r, CLV_CSV_ERROR_LIMIT, at, "more than max_columns (%lu) cells",
                                    (unsigned long)r->o.max_columns);
        }
        if (!unquoted) {
            unquoted = (char *)CLV_MALLOC(len + 1);
            if (unquoted) {
                memcpy(unquoted, cell, len);
                unquoted[len] = '\0';
            }
        }
        char **cells = unquoted ? (char **)clv_csv__grow(r->cells, &r->cells_capacity, r->n_cells + 1,
                                                         sizeof(char *)) : NULL;
        if (!cells) {
            CLV_FREE(unquoted);
            return clv_csv__fail_at(r, CLV_CSV_ERROR_OUT_OF_MEMORY, NULL, "out of host memory");
        }
        r->cells = cells;
        r->cells[r->n_cells++] = unquoted;
        if (all_numbers) {
            double v;
            all_numbers = clv_csv__number(cell, len, &v) != 0;
        }
        if (p >= eol) break;
        ++p;
    }
    r->n_columns = r->n_cells;
    r->first_row_done = 1;
    int header = r->o.header == CLV_CSV_HEADER_YES || (r->o.header == CLV_CSV_HEADER_AUTO && !all_numbers);
    if (header) {
        r->t->names = r->cells; /* the table owns them now */
        r->cells = NULL;
        r->n_cells = r->cells_capacity = 0;
        return CLV_CSV_OK;
    }
    /* numbers: the caller parses the row again as data */
    clv_csv__free_cells(r);
    return CLV_CSV_OK;
}

static inline clv_csv_status clv_csv__comment(clv_csv__reader *r, const char *p, const char *eol)
{
    if (!r->o.keep_comments) return CLV_CSV_OK;
    size_t n = (size_t)(eol - p);
    char *comments = (char *)clv_csv__grow(r->comments, &r->comments_capacity, r->comments_length + n + 2, 1);
    if (!comments) return clv_csv__fail_at(r, CLV_CSV_ERROR_OUT_OF_MEMORY, NULL, "out of host memory");
    r->comments = comments;
    memcpy(r->comments + r->comments_length, p, n);
    r->comments_length += n;
    r->comments[r->comments_length++] = '\n';
    r->comments[r->comments_length] = '\0';
    return CLV_CSV_OK;
}

/* One line [line, eol) (eol excludes the LF and a CR before it). */
static inline clv_csv_status clv_csv__line(clv_csv__reader *r, const char *eol)
{
    const char *p = r->line;
    const char *nul = (const char *)memchr(p, '\0', (size_t)(eol - p));
    if (nul) return clv_csv__fail_at(r, CLV_CSV_ERROR_SYNTAX, nul, "NUL byte (is this a text file?)");
    const char *cr = (const char *)memchr(p, '\r', (size_t)(eol - p));
    if (cr) return clv_csv__fail_at(r, CLV_CSV_ERROR_SYNTAX, cr, "carriage return not followed by a line feed");
    while (p < eol && clv_csv__blank(*p)) ++p;
    if (p == eol) return CLV_CSV_OK; /* blank line */
    if (*p == '#') return clv_csv__comment(r, r->line, eol);
    if (!r->first_row_done) {
        clv_csv_status st = clv_csv__first_row(r, p, eol);
        if (st != CLV_CSV_OK || r->t->names) return st;
    }
    if (r->o.max_rows && r->n_rows >= r->o.max_rows)
        return clv_csv__fail_at(r, CLV_CSV_ERROR_LIMIT, p, "more than max_rows (%lu) rows",
                                (unsigned long)r->o.max_rows);
    clv_csv_status st = clv_csv__data_row(r, p, eol);
    if (st == CLV_CSV_OK) ++r->n_rows;
    return st;
}

static inline void clv_csv__release(clv_csv__reader *r)
{
    clv_csv__free_cells(r);
    CLV_FREE(r->values);
    CLV_FREE(r->comments);
    r->values = NULL;
    r->comments = NULL;
}

static inline void clv_csv_free(clv_csv_table *t)
{
    if (!t) return;
    if (t->names)
        for (size_t i = 0; i < t->n_columns; ++i) CLV_FREE(t->names[i]);
    CLV_FREE(t->names);
    CLV_FREE(t->values);
    CLV_FREE(t->comments);
    memset(t, 0, sizeof *t);
}

/* A failed read: free everything, keep the message and the position. */
static inline clv_csv_status clv_csv__abandon(clv_csv__reader *r, clv_csv_status st)
{
    clv_csv_table *t = r->t;
    char message[sizeof t->message];
    size_t line = t->error_line, column = t->error_column;
    memcpy(message, t->message, sizeof message);
    clv_csv__release(r);
    t->n_columns = r->n_columns; /* how many names the table holds */
    clv_csv_free(t);
    memcpy(t->message, message, sizeof message);
    t->error_line = line;
    t->error_column = column;
    return st;
}

static inline clv_csv_status clv_csv_read(clv_csv_table *t, const void *data, size_t size, const clv_csv_opts *opts)
{
    if (!t) return CLV_CSV_ERROR_INVALID_ARGUMENT;
    memset(t, 0, sizeof *t);
    clv_csv__reader r;
    memset(&r, 0, sizeof r);
    r.t = t;
    if (opts) r.o = *opts;
    if (!r.o.max_bytes) r.o.max_bytes = CLV_CSV__DEFAULT_MAX_BYTES;
    if (!r.o.max_columns) r.o.max_columns = CLV_CSV__DEFAULT_MAX_COLUMNS;
    if (!data && size > 0)
        return clv_csv__fail_at(&r, CLV_CSV_ERROR_INVALID_ARGUMENT, NULL, "clv_csv_read: data is NULL");
    if (r.o.header != CLV_CSV_HEADER_AUTO && r.o.header != CLV_CSV_HEADER_YES && r.o.header != CLV_CSV_HEADER_NO)
        return clv_csv__fail_at(&r, CLV_CSV_ERROR_INVALID_ARGUMENT, NULL, "clv_csv_read: unknown header mode %d",
                                (int)r.o.header);
    if (size > r.o.max_bytes)
        return clv_csv__fail_at(&r, CLV_CSV_ERROR_LIMIT, NULL, "input of %lu bytes is over max_bytes (%lu)",
                                (unsigned long)size, (unsigned long)r.o.max_bytes);
    r.text = data ? (const char *)data : ""; /* NULL + 0 is undefined */
    r.end = r.text + size;
    r.line = r.text;
    if (size >= 3 && memcmp(r.text, "\xEF\xBB\xBF", 3) == 0) r.line += 3; /* UTF-8 byte order mark */
    clv_csv_status st = CLV_CSV_OK;
    for (r.line_number = 1; st == CLV_CSV_OK && r.line < r.end; ++r.line_number) {
        const char *lf = (const char *)memchr(r.line, '\n', (size_t)(r.end - r.line));
        const char *eol = lf ? lf : r.end;
        if (eol > r.line && eol[-1] == '\r') --eol;
        st = clv_csv__line(&r, eol);
        r.line = lf ? lf + 1 : r.end;
    }
    if (st == CLV_CSV_OK && r.o.keep_comments && !r.comments) { /* kept, but none: "" */
        r.comments = (char *)clv_csv__grow(NULL, &r.comments_capacity, 1, 1);
        if (r.comments) r.comments[0] = '\0';
        else st = clv_csv__fail_at(&r, CLV_CSV_ERROR_OUT_OF_MEMORY, NULL, "out of host memory");
    }
    if (st != CLV_CSV_OK) return clv_csv__abandon(&r, st);
    clv_csv__free_cells(&r);
    t->n_rows = r.n_rows;
    t->n_columns = r.n_columns;
    t->values = r.values;
    t->comments = r.comments;
    return CLV_CSV_OK;
}

static inline clv_csv_status clv_csv_read_file(clv_csv_table *t, const char *path, const clv_csv_opts *opts)
{
    if (!t) return CLV_CSV_ERROR_INVALID_ARGUMENT;
    memset(t, 0, sizeof *t);
    if (!path) {
        snprintf(t->message, sizeof t->message, "clv_csv_read_file: path is NULL");
        return CLV_CSV_ERROR_INVALID_ARGUMENT;
    }
    size_t max_bytes = opts && opts->max_bytes ? opts->max_bytes : CLV_CSV__DEFAULT_MAX_BYTES;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(t->message, sizeof t->message, "%.200s: cannot open: %s", path, strerror(errno));
        return CLV_CSV_ERROR_IO;
    }
    char *buf = NULL;
    size_t size = 0, capacity = 0;
    clv_csv_status st = CLV_CSV_OK;
    for (;;) {
        char *grown = (char *)clv_csv__grow(buf, &capacity, size + 65536, 1);
        if (!grown) {
            snprintf(t->message, sizeof t->message, "%.200s: out of host memory", path);
            st = CLV_CSV_ERROR_OUT_OF_MEMORY;
            break;
        }
        buf = grown;
        /* read at most max_bytes + 1: the extra byte tells "too long" */
        size_t limit = max_bytes < (size_t)-1 ? max_bytes + 1 : max_bytes;
        size_t want = capacity - size;
        if (want > limit - size) want = limit - size;
        size_t got = fread(buf + size, 1, want, f);
        size += got;
        if (size > max_bytes) {
            snprintf(t->message, sizeof t->message, "%.200s: longer than max_bytes (%lu)", path,
                     (unsigned long)max_bytes);
            st = CLV_CSV_ERROR_LIMIT;
            break;
        }
        if (got < want) {
            if (ferror(f)) {
                snprintf(t->message, sizeof t->message, "%.200s: read error", path);
                st = CLV_CSV_ERROR_IO;
            }
            break;
        }
    }
    fclose(f);
    if (st == CLV_CSV_OK) {
        st = clv_csv_read(t, buf, size, opts);
        if (st != CLV_CSV_OK) {
            /* prefix the file's name: "data.csv: line 3, column 7: ..." */
            char message[sizeof t->message];
            snprintf(message, sizeof message, "%.120s: %.190s", path, t->message);
            memcpy(t->message, message, sizeof message);
        }
    }
    CLV_FREE(buf);
    return st;
}

static inline long clv_csv_column(const clv_csv_table *t, const char *name)
{
    if (!t || !t->names || !name) return -1;
    for (size_t i = 0; i < t->n_columns; ++i)
        if (strcmp(t->names[i], name) == 0) return (long)i;
    return -1;
}

#ifdef __cplusplus
}
#endif

#endif /* CLVMAP_CSV_H */

/* LICENSE: MIT, as clvmap.h. */
