/* Suite `csv`: the CSV reader (include/clvmap_csv.h) on hand-written input,
 * each case with what it must give: the numbers bit for bit, or the status
 * and the line and column of the error. No OpenCL. */
#include "test_util.h"
#include "clvmap_csv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static clv_csv_status read_text(clv_csv_table *t, const char *text, clv_csv_header header)
{
    clv_csv_opts o;
    memset(&o, 0, sizeof o);
    o.header = header;
    return clv_csv_read(t, text, strlen(text), &o);
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* An error case: status, line, column, and a word the message must hold. */
static void bad(const char *text, size_t size, clv_csv_status want, size_t line, size_t column, const char *word)
{
    clv_csv_table t;
    clv_csv_status st = clv_csv_read(&t, text, size, NULL);
    TU_CHECK(st == want, "status %s for input \"%.40s\": %s", clv_csv_status_string(st), text, t.message);
    TU_CHECK(t.error_line == line && t.error_column == column, "position %lu:%lu (want %lu:%lu): %s",
          (unsigned long)t.error_line, (unsigned long)t.error_column, (unsigned long)line, (unsigned long)column,
          t.message);
    TU_CHECK(strstr(t.message, word) != NULL, "message \"%s\" lacks \"%s\"", t.message, word);
    TU_CHECK(!t.values && !t.names && t.n_rows == 0 && t.n_columns == 0, "failed read left data");
    clv_csv_free(&t);
}

static void test_basic(void)
{
    clv_csv_table t;
    TU_CHECK(read_text(&t, "a,b,c\n1,2,3\n4.5,-6e-3,0x1p-3\n", CLV_CSV_HEADER_AUTO) == CLV_CSV_OK, "%s", t.message);
    TU_CHECK(t.n_rows == 2 && t.n_columns == 3 && t.names, "shape %lux%lu", (unsigned long)t.n_rows,
          (unsigned long)t.n_columns);
    TU_CHECK(t.names && !strcmp(t.names[0], "a") && !strcmp(t.names[2], "c"), "names");
    TU_CHECK(t.values && t.values[3] == 4.5 && t.values[4] == -6e-3 && t.values[5] == 0.125, "values");
    TU_CHECK(clv_csv_column(&t, "b") == 1 && clv_csv_column(&t, "z") == -1, "clv_csv_column");
    TU_CHECK(t.message[0] == '\0' && t.comments == NULL, "no message, no comments");
    clv_csv_free(&t);
    TU_CHECK(t.values == NULL && t.names == NULL && t.n_rows == 0, "free zeroes");
    clv_csv_free(&t);
    clv_csv_free(NULL);

    /* no header: every row numbers (auto and forced) */
    TU_CHECK(read_text(&t, "1,2\n3,4", CLV_CSV_HEADER_AUTO) == CLV_CSV_OK && !t.names && t.n_rows == 2 &&
          t.values[3] == 4, "headerless, no final LF");
    clv_csv_free(&t);
    TU_CHECK(read_text(&t, "1,2\n3,4\n", CLV_CSV_HEADER_YES) == CLV_CSV_OK && t.names && t.n_rows == 1 &&
          !strcmp(t.names[1], "2"), "header forced on numbers");
    clv_csv_free(&t);
    TU_CHECK(read_text(&t, "a,b\n", CLV_CSV_HEADER_NO) == CLV_CSV_ERROR_SYNTAX && t.error_line == 1 &&
          t.error_column == 1, "header refused: %s", t.message);
    clv_csv_free(&t);

    /* empty input, only comments, header only */
    TU_CHECK(clv_csv_read(&t, NULL, 0, NULL) == CLV_CSV_OK && t.n_rows == 0 && t.n_columns == 0, "empty");
    clv_csv_free(&t);
    TU_CHECK(read_text(&t, "# only\n\n   \n#x\n", CLV_CSV_HEADER_AUTO) == CLV_CSV_OK && t.n_columns == 0, "comments");
    clv_csv_free(&t);
    TU_CHECK(read_text(&t, "lp__,x\n", CLV_CSV_HEADER_AUTO) == CLV_CSV_OK && t.n_rows == 0 && t.n_columns == 2 &&
          !t.values, "header only");
    clv_csv_free(&t);
}

static void test_layouts(void)
{
    clv_csv_table t;
    clv_csv_opts o;
    memset(&o, 0, sizeof o);
    o.keep_comments = 1;
    /* CmdStan: comments before, inside (after the header) and after; CRLF;
     * a byte order mark; blanks around cells; a blank line */
    const char *cmdstan = "\xEF\xBB\xBF# model = m\r\nlp__, accept_stat__ ,x.1\r\n# Adaptation terminated\r\n"
                          "# Step size = 0.5\r\n -1.5 ,\t0.25,3\r\n\r\n  # trailing comment\r\n-2,1,4\r\n";
    TU_CHECK(clv_csv_read(&t, cmdstan, strlen(cmdstan), &o) == CLV_CSV_OK, "%s", t.message);
    TU_CHECK(t.n_rows == 2 && t.n_columns == 3 && !strcmp(t.names[1], "accept_stat__"), "CmdStan shape, names");
    TU_CHECK(t.values[0] == -1.5 && t.values[1] == 0.25 && t.values[5] == 4, "CmdStan values");
    TU_CHECK(t.comments && !strcmp(t.comments, "# model = m\n# Adaptation terminated\n# Step size = 0.5\n"
                                            "  # trailing comment\n"), "comments kept: [%s]", t.comments);
    clv_csv_free(&t);

    /* quoted names: commas, doubled quotes, blanks kept inside quotes */
    const char *quoted = "\"a,b\", \"say \"\"hi\"\"\" ,\" c \",\"\"\n1,2,3,4\n";
    TU_CHECK(read_text(&t, quoted, CLV_CSV_HEADER_AUTO) == CLV_CSV_OK && t.n_columns == 4, "%s", t.message);
    TU_CHECK(t.names && !strcmp(t.names[0], "a,b") && !strcmp(t.names[1], "say \"hi\"") &&
          !strcmp(t.names[2], " c ") && !strcmp(t.names[3], ""), "quoted names");
    clv_csv_free(&t);
    /* a quoted number is a number */
    TU_CHECK(read_text(&t, "\"1.5\",2\n", CLV_CSV_HEADER_AUTO) == CLV_CSV_OK && !t.names && t.values[0] == 1.5,
          "quoted number");
    clv_csv_free(&t);
    /* pandas' unnamed index column: an empty name */
    TU_CHECK(read_text(&t, ",a\n0,1.5\n", CLV_CSV_HEADER_AUTO) == CLV_CSV_OK && t.names && !strcmp(t.names[0], ""),
          "empty first name");
    clv_csv_free(&t);
}

static void test_numbers(void)
{
    clv_csv_table t;
    const char *text = "nan,NaN,-nan,inf,-Infinity,+INF,1e-320,4.9406564584124654e-324,-0,0x1.fffffffffffffp+1023,"
                       "2.2250738585072014e-308,0.1,1e-400\n";
    TU_CHECK(read_text(&t, text, CLV_CSV_HEADER_AUTO) == CLV_CSV_OK && t.n_columns == 13, "%s", t.message);
    if (t.values) {
        TU_CHECK(isnan(t.values[0]) && isnan(t.values[1]) && isnan(t.values[2]), "NaN spellings");
        TU_CHECK(t.values[3] == INFINITY && t.values[4] == -INFINITY && t.values[5] == INFINITY, "inf spellings");
        TU_CHECK(t.values[6] > 0 && t.values[6] < 2.3e-308, "subnormal 1e-320 kept: %g", t.values[6]);
        TU_CHECK(t.values[7] == 4.9406564584124654e-324, "smallest subnormal");
        TU_CHECK(t.values[8] == 0 && signbit(t.values[8]), "negative zero keeps its sign");
        TU_CHECK(t.values[9] == 1.7976931348623157e308, "largest double (hex)");
        TU_CHECK(same_bits(t.values[11], 0.1), "0.1 bitwise");
        TU_CHECK(t.values[12] == 0, "underflow to zero");
    }
    clv_csv_free(&t);
    /* every double survives %.17g, as the library's writers print them */
    double v[] = { 1.0 / 3, -2.718281828459045, 6.02214076e23, 5e-324, 1e308, -0.0, 123456789012345678.0 };
    char buf[512];
    size_t n = 0;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; ++i)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%.17g", i ? "," : "", v[i]);
    TU_CHECK(read_text(&t, buf, CLV_CSV_HEADER_NO) == CLV_CSV_OK, "%s", t.message);
    for (size_t i = 0; t.values && i < sizeof v / sizeof v[0]; ++i)
        TU_CHECK(same_bits(t.values[i], v[i]), "%%.17g round trip of %.17g: %.17g", v[i], t.values[i]);
    clv_csv_free(&t);
}

static void test_errors(void)
{
    /* ragged rows: the column where the extra cell starts, or the end of the short row */
    bad("a,b\n1,2\n3,4,5\n", 14, CLV_CSV_ERROR_SYNTAX, 3, 5, "more cells");
    bad("a,b\n1,2\n3\n", 10, CLV_CSV_ERROR_SYNTAX, 3, 2, "1 cell(s), but the header row has 2");
    bad("1,2\n# c\n3\n", 10, CLV_CSV_ERROR_SYNTAX, 3, 2, "first row has 2");
    /* non-numeric cells, empty cells, a trailing comma */
    bad("a,b\n1,x2\n", 9, CLV_CSV_ERROR_SYNTAX, 2, 3, "\"x2\" is not a number");
    bad("a,b\n1,2abc\n", 11, CLV_CSV_ERROR_SYNTAX, 2, 3, "not a number");
    bad("a,b\n1, \n", 8, CLV_CSV_ERROR_SYNTAX, 2, 4, "empty cell");
    bad("a,b\n1,2,\n", 9, CLV_CSV_ERROR_SYNTAX, 2, 5, "more cells");
    bad("a,b\n1,,\n", 8, CLV_CSV_ERROR_SYNTAX, 2, 3, "empty cell");
    bad("1\n1 2\n", 6, CLV_CSV_ERROR_SYNTAX, 2, 1, "not a number");
    bad("1\n\v1\n", 5, CLV_CSV_ERROR_SYNTAX, 2, 1, "not a number"); /* strtod would skip \v */
    bad("a\nNA\n", 5, CLV_CSV_ERROR_SYNTAX, 2, 1, "\"NA\" is not a number");
    /* quotes */
    bad("\"a,b\n1\n", 7, CLV_CSV_ERROR_SYNTAX, 1, 1, "no closing quote");
    bad("\"a\"x,b\n1,2\n", 11, CLV_CSV_ERROR_SYNTAX, 1, 4, "after a quoted cell");
    bad("a\"b,c\n1,2\n", 10, CLV_CSV_ERROR_SYNTAX, 1, 2, "quote inside an unquoted cell");
    /* bytes that are not text */
    bad("a,b\n1,\0\n", 8, CLV_CSV_ERROR_SYNTAX, 2, 3, "NUL");
    bad("a,b\r1,2\n", 8, CLV_CSV_ERROR_SYNTAX, 1, 4, "carriage return");
    /* sizes */
    bad("a\n1e999\n", 8, CLV_CSV_ERROR_LIMIT, 2, 1, "out of the range");
    bad("a\n-1e309\n", 9, CLV_CSV_ERROR_LIMIT, 2, 1, "out of the range");
    char big[CLV_CSV_MAX_NUMBER + 8];
    memset(big, '1', sizeof big);
    big[0] = 'a';
    big[1] = '\n';
    bad(big, sizeof big, CLV_CSV_ERROR_LIMIT, 2, 1, "longer than a number");

    clv_csv_table t;
    clv_csv_opts o;
    memset(&o, 0, sizeof o);
    o.max_rows = 2;
    const char *three = "x\n1\n2\n3\n";
    TU_CHECK(clv_csv_read(&t, three, strlen(three), &o) == CLV_CSV_ERROR_LIMIT && t.error_line == 4 &&
          strstr(t.message, "max_rows"), "max_rows: %s", t.message);
    clv_csv_free(&t);
    memset(&o, 0, sizeof o);
    o.max_columns = 2;
    TU_CHECK(clv_csv_read(&t, "1,2,3\n", 6, &o) == CLV_CSV_ERROR_LIMIT && t.error_column == 5, "max_columns: %s",
          t.message);
    clv_csv_free(&t);
    memset(&o, 0, sizeof o);
    o.max_bytes = 5;
    TU_CHECK(clv_csv_read(&t, "1,2,3\n", 6, &o) == CLV_CSV_ERROR_LIMIT && t.error_line == 0 &&
          strstr(t.message, "max_bytes"), "max_bytes: %s", t.message);
    clv_csv_free(&t);
    memset(&o, 0, sizeof o);
    o.header = (clv_csv_header)7;
    TU_CHECK(clv_csv_read(&t, "1\n", 2, &o) == CLV_CSV_ERROR_INVALID_ARGUMENT && t.message[0], "header mode");
    TU_CHECK(clv_csv_read(&t, NULL, 3, NULL) == CLV_CSV_ERROR_INVALID_ARGUMENT && t.message[0], "NULL data");
    TU_CHECK(clv_csv_read(NULL, "1", 1, NULL) == CLV_CSV_ERROR_INVALID_ARGUMENT, "NULL table");
    TU_CHECK(strcmp(clv_csv_status_string((clv_csv_status)99), "unknown status") == 0, "status string");
}

static void test_files(void)
{
    clv_csv_table t;
    TU_CHECK(clv_csv_read_file(&t, "/nonexistent/dir/x.csv", NULL) == CLV_CSV_ERROR_IO &&
          strstr(t.message, "/nonexistent/dir/x.csv"), "missing file: %s", t.message);
    TU_CHECK(clv_csv_read_file(&t, NULL, NULL) == CLV_CSV_ERROR_INVALID_ARGUMENT, "NULL path");
    char path[] = "test_csv_tmp.csv";
    FILE *f = fopen(path, "wb");
    TU_CHECK(f != NULL, "cannot write %s", path);
    if (!f) return;
    /* more than one read buffer (64 KiB) of rows */
    fputs("# generated\ni,half\n", f);
    for (int i = 0; i < 20000; ++i) fprintf(f, "%d,%.17g\n", i, i / 2.0);
    fputs("1,bad\n", f);
    fclose(f);
    TU_CHECK(clv_csv_read_file(&t, path, NULL) == CLV_CSV_ERROR_SYNTAX && t.error_line == 20003 &&
          t.error_column == 3 && strstr(t.message, "test_csv_tmp.csv: line 20003, column 3"), "file error: %s",
          t.message);
    clv_csv_free(&t);
    f = fopen(path, "wb");
    if (!f) return;
    fputs("i,half\n", f);
    for (int i = 0; i < 20000; ++i) fprintf(f, "%d,%.17g\n", i, i / 2.0);
    fclose(f);
    TU_CHECK(clv_csv_read_file(&t, path, NULL) == CLV_CSV_OK && t.n_rows == 20000 && t.values[2 * 19999 + 1] == 9999.5,
          "file: %s", t.message);
    clv_csv_free(&t);
    clv_csv_opts o;
    memset(&o, 0, sizeof o);
    o.max_bytes = 1000;
    TU_CHECK(clv_csv_read_file(&t, path, &o) == CLV_CSV_ERROR_LIMIT && strstr(t.message, "max_bytes"),
          "file over max_bytes: %s", t.message);
    clv_csv_free(&t);
    remove(path);
}

int main(void)
{
    test_basic();
    test_layouts();
    test_numbers();
    test_errors();
    test_files();
    return tu_summary();
}
