/* A cap on the test program's address space around calls that must refuse
 * huge sizes before allocating them: without the refusal they fail as a
 * malloc under the cap would, instead of filling the machine's memory (the
 * OOM killer, no status). Linux only; not under AddressSanitizer, which
 * reserves terabytes of address space for its shadow memory. Shared by
 * tests/nss, tests/nuts and tests/lbfgs. */
#ifndef CLV_TEST_ADDRESS_LIMIT_H
#define CLV_TEST_ADDRESS_LIMIT_H

#include <stdio.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AL_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define AL_ASAN 1
#endif

#if defined(__linux__) && !defined(AL_ASAN)
#include <sys/resource.h>

static struct rlimit al_saved;
static int al_active;

/* The process's address space now (VmSize), in bytes; 0 if unknown. */
static inline unsigned long long al_vm_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kb = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %llu", &kb) == 1) break;
    fclose(f);
    return kb * 1024;
}

/* Allow `extra` bytes more address space than the process holds now. */
static inline void al_limit(unsigned long long extra)
{
    unsigned long long now = al_vm_bytes();
    struct rlimit r;
    if (!now || getrlimit(RLIMIT_AS, &al_saved) != 0) return;
    r = al_saved;
    r.rlim_cur = (rlim_t)(now + extra);
    if (al_saved.rlim_cur != RLIM_INFINITY && r.rlim_cur > al_saved.rlim_cur) return;
    al_active = setrlimit(RLIMIT_AS, &r) == 0;
    if (al_active) printf("address space capped at %llu MiB\n", (now + extra) >> 20);
}

static inline void al_restore(void)
{
    if (al_active) setrlimit(RLIMIT_AS, &al_saved);
    al_active = 0;
}
#else
static inline void al_limit(unsigned long long extra) { (void)extra; }
static inline void al_restore(void) {}
#endif

#endif
