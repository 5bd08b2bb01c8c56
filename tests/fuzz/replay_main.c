/* main() for a fuzz target built without libFuzzer (any compiler): runs
 * LLVMFuzzerTestOneInput once on each file named on the command line, or on
 * each file of a named directory (sorted), as libFuzzer does with files. So
 * the committed corpus is a normal test in every build. An invariant that
 * fails aborts (the test fails and names the file last printed). */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_check.h"

#include <dirent.h>
#include <sys/stat.h>

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    size_t capacity = 4096, size = 0, got;
    uint8_t *data = (uint8_t *)malloc(capacity);
    while (data && (got = fread(data + size, 1, capacity - size, f)) > 0) {
        size += got;
        if (size == capacity) {
            uint8_t *grown = (uint8_t *)realloc(data, capacity *= 2);
            if (!grown) free(data);
            data = grown;
        }
    }
    fclose(f);
    if (!data) {
        fprintf(stderr, "out of memory reading %s\n", path);
        return -1;
    }
    printf("  %s (%lu bytes)\n", path, (unsigned long)size);
    fflush(stdout);
    /* an exact-size copy, so that ASan sees reads past the input */
    uint8_t *exact = (uint8_t *)malloc(size ? size : 1);
    if (exact) memcpy(exact, data, size);
    free(data);
    if (!exact) return -1;
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
    return 1;
}

static int replay_dir(const char *dir)
{
    struct dirent **entries = NULL;
    int n = scandir(dir, &entries, NULL, alphasort), count = 0;
    if (n < 0) {
        fprintf(stderr, "cannot list %s\n", dir);
        return -1;
    }
    for (int i = 0; i < n; ++i) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, entries[i]->d_name);
        if (entries[i]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            int r = replay_file(path);
            if (r < 0) count = -1;
            else if (count >= 0) count += r;
        }
        free(entries[i]);
    }
    free(entries);
    return count;
}

int main(int argc, char **argv)
{
    int total = 0, failed = 0;
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; ++i) {
        struct stat st;
        if (argv[i][0] == '-') continue; /* libFuzzer flags: ignored here */
        int r = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i]);
        if (r < 0) failed = 1;
        else total += r;
    }
    printf("replayed %d input(s)%s\n", total, failed ? "; some could not be read" : "");
    return failed || total == 0;
}
