/* The header's CLV_VERSION_* is meson.build's version (passed as WANT_*). */
#include "clvmap.h"
#include <stdio.h>

int main(void)
{
    int same = CLV_VERSION_MAJOR == WANT_MAJOR && CLV_VERSION_MINOR == WANT_MINOR && CLV_VERSION_PATCH == WANT_PATCH;
    printf("clvmap.h %d.%d.%d, meson.build %d.%d.%d: %s\n", CLV_VERSION_MAJOR, CLV_VERSION_MINOR, CLV_VERSION_PATCH,
           WANT_MAJOR, WANT_MINOR, WANT_PATCH, same ? "the same" : "DIFFERENT");
    return !same;
}
