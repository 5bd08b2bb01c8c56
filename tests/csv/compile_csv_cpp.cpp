#include "compile_csv.c"
