/* Reproducer found by fuzz_opts (area core), UBSan: clv_mesh_split_items
 * converts floor(W_<=i / W * n_items + 0.5) to size_t; when a device's
 * cumulative share is the whole batch (weights {1, 0}) and n_items is near
 * SIZE_MAX, the double is 2^64, outside size_t: undefined behaviour
 * ("1.84467e+19 is outside the range of representable values of type
 * 'unsigned long'", clvmap.h clv_mesh_split_items). clv_map reaches it too:
 * a map with only scalar arguments splits n_items this way.
 *
 *   clang -fsanitize=undefined -fno-sanitize-recover=all -Iinclude \
 *       tests/fuzz/known/split_items_overflow.c -lOpenCL -lm && POCL_DEVICES="pthread pthread" ./a.out
 *
 * The fix is in clvmap.h (clv_mesh_split_items). */
#include "clvmap.h"

#include <stdint.h>
#include <stdio.h>

int main(void)
{
    clv_mesh *m;
    if (clv_mesh_open(&m, NULL)) { puts(clv_mesh_message(m)); return 2; }
    int n = clv_mesh_device_count(m);
    double weights[64] = { 1 }; /* the first device takes everything */
    size_t first[64], count[64];
    if (clv_mesh_set_split(m, CLV_SPLIT_WEIGHTS, weights, n)) { puts(clv_mesh_message(m)); return 2; }
    clv_status st = clv_mesh_split_items(m, SIZE_MAX, first, count);
    printf("%d device(s): status %d, device 0 owns %zu of %zu\n", n, (int)st, count[0], (size_t)SIZE_MAX);
    clv_mesh_close(m);
    return 0;
}
