/* Fuzz target: the CLV_DEVICES parser (clv__parse_devices in clvmap.h),
 * against a synthetic list of found devices, so no OpenCL call is made.
 *
 * Input: byte 0 picks the default rule (spec NULL) when its top bit is set;
 * bytes 1..4 describe the platforms (count, devices and types per
 * platform); the rest, up to a NUL, is the device string.
 * Invariants: no crash or undefined behaviour; on success at least one
 * device, every index valid and unique, the message empty for the default
 * rule; on failure a non-empty NUL-terminated message; and the result
 * (status and chosen list, in order) equals an independent reading of the
 * grammar written from the manual: all / gpu / cpu / accelerator, flat
 * indices, platform:index (the platform word matched case-insensitively as
 * a substring of the platform's name or vendor, as its whole ICD suffix, or
 * as the short name pocl or amd of a platform whose name or vendor holds the
 * long form), each optionally followed by /N (N >= 1 sub-devices; the last
 * '/' when only 1..6 digits follow it), entries separated by commas, spaces
 * around entries ignored, each device named once. */
#include "clvmap.h"
#include "fuzz_check.h"

#include <ctype.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* name, vendor and ICD suffix of each synthetic platform */
static const char *const platform_names[][3] = {
    { "Portable Computing Language", "The pocl project", "POCL" },
    { "NVIDIA CUDA", "NVIDIA Corporation", "NV" },
    { "AMD Accelerated Parallel Processing", "Advanced Micro Devices, Inc.", "AMD" },
    { "Intel(R) OpenCL Graphics", "Intel(R) Corporation", "INTEL" },
    { "", "", "" },
    { "pocl:2,x", "a/2", "" },
    { "Oclgrind", "University of Bristol", "oclg" },
    { "rusticl", "Mesa/X.org", "MESA" },
    { "Clover", "Mesa", "MESA" },
};

static const cl_device_type types[] = {
    CL_DEVICE_TYPE_CPU, CL_DEVICE_TYPE_GPU, CL_DEVICE_TYPE_ACCELERATOR, CL_DEVICE_TYPE_CUSTOM,
    CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_DEFAULT, CL_DEVICE_TYPE_CPU | CL_DEVICE_TYPE_GPU, 0,
    CL_DEVICE_TYPE_CPU | CL_DEVICE_TYPE_DEFAULT,
};

/* ---- the reference reading ---------------------------------------------- */

static int ref_contains(const char *hay, const char *needle, size_t n)
{
    size_t h = strlen(hay);
    for (size_t i = 0; n <= h && i + n <= h; ++i) {
        size_t j = 0;
        while (j < n && tolower((unsigned char)hay[i + j]) == tolower((unsigned char)needle[j])) ++j;
        if (j == n) return 1;
    }
    return 0;
}

static int ref_index(const char *s, size_t n, int *v)
{
    if (n < 1 || n > 6) return 0;
    *v = 0;
    for (size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9') return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

static int ref_equal(const char *s, const char *word, size_t n)
{
    if (strlen(s) != n) return 0;
    for (size_t i = 0; i < n; ++i)
        if (tolower((unsigned char)s[i]) != tolower((unsigned char)word[i])) return 0;
    return 1;
}

static int ref_platform(const clv__found *f, const char *w, size_t n)
{
    if (ref_contains(f->platform_name, w, n) || ref_contains(f->platform_vendor, w, n)) return 1;
    if (f->platform_suffix[0] && ref_equal(f->platform_suffix, w, n)) return 1;
    if (ref_equal("pocl", w, n))
        return ref_contains(f->platform_name, "Portable Computing Language", 27) ||
               ref_contains(f->platform_vendor, "Portable Computing Language", 27);
    if (ref_equal("amd", w, n))
        return ref_contains(f->platform_name, "Advanced Micro Devices", 22) ||
               ref_contains(f->platform_vendor, "Advanced Micro Devices", 22);
    return 0;
}

static int ref_add(int *chosen, int *parts, int *n, int i, int p)
{
    for (int k = 0; k < *n; ++k)
        if (chosen[k] == i) return 0;
    parts[*n] = p;
    chosen[(*n)++] = i;
    return 1;
}

/* The type a word names: a mask, ~0 for "all", 0 for not a type word. */
static cl_device_type ref_type(const char *s, size_t n)
{
    if (n == 3 && !memcmp(s, "all", 3)) return ~(cl_device_type)0;
    if (n == 3 && !memcmp(s, "gpu", 3)) return CL_DEVICE_TYPE_GPU;
    if (n == 3 && !memcmp(s, "cpu", 3)) return CL_DEVICE_TYPE_CPU;
    if (n == 11 && !memcmp(s, "accelerator", 11)) return CL_DEVICE_TYPE_ACCELERATOR;
    return 0;
}

static clv_status ref_token(const char *s, size_t n, const clv__found *found, int n_found, int *chosen,
                            int *parts, int *n_chosen)
{
    int v, p = 0;
    if (n == 0) return CLV_ERROR_DEVICE_SPEC;
    const char *slash = NULL;
    for (const char *q = s; q < s + n; ++q)
        if (*q == '/') slash = q;
    if (slash && ref_index(slash + 1, (size_t)(s + n - slash - 1), &p)) {
        if (p == 0 || slash == s) return CLV_ERROR_DEVICE_SPEC;
        n = (size_t)(slash - s);
    } else {
        p = 0;
    }
    cl_device_type mask = ref_type(s, n);
    if (mask) {
        int any = 0, added = 0;
        for (int i = 0; i < n_found; ++i)
            if (mask == ~(cl_device_type)0 || (found[i].type & mask)) {
                any = 1;
                added |= ref_add(chosen, parts, n_chosen, i, p);
            }
        return !any ? CLV_ERROR_NO_DEVICE : !added ? CLV_ERROR_DEVICE_SPEC : CLV_OK;
    }
    if (ref_index(s, n, &v))
        return v < n_found && ref_add(chosen, parts, n_chosen, v, p) ? CLV_OK : CLV_ERROR_DEVICE_SPEC;
    const char *colon = (const char *)memchr(s, ':', n);
    if (colon && colon > s && ref_index(colon + 1, n - (size_t)(colon + 1 - s), &v)) {
        for (int i = 0; i < n_found; ++i)
            if (found[i].index_in_platform == v && ref_platform(&found[i], s, (size_t)(colon - s)))
                return ref_add(chosen, parts, n_chosen, i, p) ? CLV_OK : CLV_ERROR_DEVICE_SPEC;
    }
    return CLV_ERROR_DEVICE_SPEC;
}

static clv_status ref_parse(const char *spec, const clv__found *found, int n_found, int *chosen, int *parts,
                            int *n_chosen)
{
    *n_chosen = 0;
    if (!spec) {
        static const char *const rule[] = { "gpu", "cpu", "all" };
        for (int r = 0; r < 3; ++r) {
            *n_chosen = 0;
            if (ref_token(rule[r], 3, found, n_found, chosen, parts, n_chosen) == CLV_OK) return CLV_OK;
        }
        return ref_token("all", 3, found, n_found, chosen, parts, n_chosen);
    }
    for (const char *s = spec;;) {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        while (s < end && *s == ' ') ++s;
        while (end > s && end[-1] == ' ') --end;
        clv_status st = ref_token(s, (size_t)(end - s), found, n_found, chosen, parts, n_chosen);
        if (st != CLV_OK || !comma) return st;
        s = comma + 1;
    }
}

/* ---- the target ----------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static clv_mesh *mesh;
    static clv__found found[64];
    if (!mesh) {
        mesh = (clv_mesh *)calloc(1, sizeof *mesh);
        FUZZ_CHECK(mesh != NULL, "out of memory");
    }
    fuzz_bytes b = { data, size, 0 };
    int use_default = (int)(fuzz_take(&b, 1) & 0x80);
    /* platforms: 1..4, each with 0..15 devices of types drawn from a byte */
    uint32_t layout = (uint32_t)fuzz_take(&b, 4);
    int n_platforms = 1 + (int)(layout & 3), n_found = 0;
    for (int p = 0; p < n_platforms; ++p) {
        int n_dev = (int)((layout >> (2 + 6 * p)) & 15);
        if (p == 3) n_dev = (int)(layout >> 28);
        const char *const *name = platform_names[(layout >> (6 + 6 * p % 24)) %
                                                 (sizeof platform_names / sizeof platform_names[0])];
        for (int i = 0; i < n_dev && n_found < 64; ++i, ++n_found) {
            memset(&found[n_found], 0, sizeof found[n_found]);
            found[n_found].platform_index = p;
            found[n_found].index_in_platform = i;
            found[n_found].type = types[(layout + (uint32_t)(7 * i + 3 * p)) % (sizeof types / sizeof types[0])];
            snprintf(found[n_found].platform_name, sizeof found[n_found].platform_name, "%s", name[0]);
            snprintf(found[n_found].platform_vendor, sizeof found[n_found].platform_vendor, "%s", name[1]);
            snprintf(found[n_found].platform_suffix, sizeof found[n_found].platform_suffix, "%s", name[2]);
        }
    }
    /* the spec: the remaining bytes up to a NUL, as CLV_DEVICES would be */
    size_t n = b.at < size ? size - b.at : 0;
    char *spec = (char *)malloc(n + 1);
    FUZZ_CHECK(spec != NULL, "out of memory");
    if (n) memcpy(spec, data + b.at, n);
    spec[n] = '\0';

    clv__chosen c;
    int want[64], want_parts[64], n_want = -1;
    memset(&c, 0xff, sizeof c);
    mesh->message[0] = '\0';
    const char *arg = use_default ? NULL : spec;
    clv_status st = clv__parse_devices(mesh, arg, found, n_found, &c);
    clv_status ref = ref_parse(arg, found, n_found, want, want_parts, &n_want);
    int n_chosen = c.n, *chosen = c.index;

    if (st == CLV_OK) {
        FUZZ_CHECK(n_chosen >= 1 && n_chosen <= n_found, "%d devices chosen of %d", n_chosen, n_found);
        for (int i = 0; i < n_chosen; ++i) {
            FUZZ_CHECK(chosen[i] >= 0 && chosen[i] < n_found, "index %d of %d", chosen[i], n_found);
            FUZZ_CHECK(c.parts[i] >= 0 && c.parts[i] <= 999999, "device %d split into %d", i, c.parts[i]);
            for (int k = 0; k < i; ++k) FUZZ_CHECK(chosen[k] != chosen[i], "device %d chosen twice", chosen[i]);
        }
        if (!arg) FUZZ_CHECK(mesh->message[0] == '\0', "default rule left a message: %s", mesh->message);
    } else {
        FUZZ_CHECK(st == CLV_ERROR_DEVICE_SPEC || st == CLV_ERROR_NO_DEVICE, "status %s", clv_status_string(st));
        FUZZ_CHECK(fuzz_message_ok(mesh->message, sizeof mesh->message), "no message for %s",
                   clv_status_string(st));
    }
    FUZZ_CHECK(st == ref, "spec \"%s\" (%d devices): parser says %s (%s), the reference %s", arg ? arg : "(null)",
               n_found, clv_status_string(st), mesh->message, clv_status_string(ref));
    if (st == CLV_OK) {
        FUZZ_CHECK(n_chosen == n_want, "spec \"%s\": %d devices, the reference %d", arg ? arg : "(null)",
                   n_chosen, n_want);
        for (int i = 0; i < n_chosen; ++i)
            FUZZ_CHECK(chosen[i] == want[i] && c.parts[i] == want_parts[i],
                       "spec \"%s\": device %d is %d/%d, the reference %d/%d", arg ? arg : "(null)", i, chosen[i],
                       c.parts[i], want[i], want_parts[i]);
    }
    free(spec);
    return 0;
}
