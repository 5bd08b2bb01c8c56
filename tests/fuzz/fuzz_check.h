/* Shared by the fuzz targets: an invariant that aborts with a message (so
 * libFuzzer, and the corpus replay without it, report the input), and the
 * declarations every target defines. */
#ifndef CLV_FUZZ_CHECK_H
#define CLV_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...)                                                        \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "fuzz invariant failed at %s:%d: %s\n  ", __FILE__,      \
                    __LINE__, #cond);                                                \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
            abort();                                                                 \
        }                                                                            \
    } while (0)

#ifdef __cplusplus
extern "C" {
#endif
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#ifdef __cplusplus
}
#endif

/* A message is non-empty and NUL-terminated inside its buffer. */
static inline int fuzz_message_ok(const char *message, size_t size)
{
    return message && message[0] != '\0' && memchr(message, '\0', size) != NULL;
}

/* Reading fuzz bytes: a little-endian integer of n bytes, 0 past the end. */
typedef struct fuzz_bytes {
    const uint8_t *data;
    size_t size, at;
} fuzz_bytes;

static inline uint64_t fuzz_take(fuzz_bytes *b, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
        uint64_t byte = b->at < b->size ? b->data[b->at] : 0;
        ++b->at;
        v |= byte << (8 * i);
    }
    return v;
}

static inline double fuzz_double(fuzz_bytes *b)
{
    uint64_t bits = fuzz_take(b, 8);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

#endif
