/* The manual example of include/clvmap_csv.h, verbatim (test csv_manual_copy
 * checks it): column means of a CSV file, here a CmdStan-layout one. */
#include "clvmap_csv.h"
#include <stdio.h>
int main(int argc, char **argv) {
    clv_csv_table t;
    if (argc < 2) return 2;
    if (clv_csv_read_file(&t, argv[1], NULL) != CLV_CSV_OK) {
        fprintf(stderr, "%s\n", t.message);  // "f.csv: line 57, column 12: ..."
        return 1;
    }
    for (size_t c = 0; c < t.n_columns; ++c) {
        double sum = 0;
        for (size_t r = 0; r < t.n_rows; ++r) sum += t.values[r * t.n_columns + c];
        printf("%-20s %g\n", t.names ? t.names[c] : "?", sum / (double)t.n_rows);
    }
    clv_csv_free(&t);
    return 0;
}
