/* The core's section for libraries built on clvmap: checked allocation,
 * messages, option checks, library programs with data, CSV names, and
 * clv_share's range/exchange helpers. */
#define _POSIX_C_SOURCE 200809L /* pthread barriers (fake_share.h) under -std=c99 */
#include "test_util.h"
#include "fake_share.h"

#include <math.h>

static const char *lines[] = { "#define LIB_SCALE 3\nclv_real user_f(clv_real v);\n",
                               "__kernel void lib_apply(CLV_ITEMS, __global const clv_real *data, __global clv_real *y) {\n",
                               "    CLV_GUARD(); y[clv_local()] = LIB_SCALE * user_f(data[clv_item() % 2]); }\n" };
static const char *user_src = "clv_real user_f(clv_real v) { return v + USER_SHIFT; }\n";

static void test_helpers(void)
{
    size_t bytes = 7;
    char buf[256];
    TU_CHECK(clv_calloc((size_t)-1, 16) == NULL, "clv_calloc: an overflowing size must give NULL");
    unsigned char *z = (unsigned char *)clv_calloc(3, 5);
    TU_CHECK(z && z[0] == 0 && z[14] == 0, "clv_calloc: zeroed memory");
    clv_free(z);
    TU_CHECK(clv_size_mul(3, 5, 0, &bytes) && bytes == 15, "clv_size_mul 3 x 5");
    TU_CHECK(!clv_size_mul((size_t)-1 / 2, 3, 0, &bytes) && bytes == 0, "clv_size_mul overflow");
    TU_CHECK(!clv_size_mul(1000, 1000, 999999, &bytes), "clv_size_mul over the limit");
    TU_CHECK(clv_bytes_add(7, 2, 3, 4) == 31, "clv_bytes_add 7 + 2 x 3 x 4");
    TU_CHECK(clv_bytes_add(0, UINT64_MAX / 2, 3, 1) == UINT64_MAX, "clv_bytes_add saturates a x b");
    TU_CHECK(clv_bytes_add(0, 1u << 31, 1u << 31, 1u << 31) == UINT64_MAX, "clv_bytes_add saturates a x b x c");
    TU_CHECK(clv_bytes_add(UINT64_MAX - 1, 1, 2, 1) == UINT64_MAX, "clv_bytes_add saturates the sum");
    TU_CHECK(clv_bytes_add(5, 0, UINT64_MAX, UINT64_MAX) == 5, "clv_bytes_add of a zero size");
    TU_CHECK(clv_message(buf, sizeof buf, CLV_ERROR_SHAPE, "x %d", 5) == CLV_ERROR_SHAPE && !strcmp(buf, "x 5"),
             "clv_message: %s", buf);
    TU_CHECK(clv_check_number(buf, sizeof buf, "opts.step", NAN, 0, 1) == CLV_ERROR_INVALID_ARGUMENT &&
             strstr(buf, "opts.step"), "NaN refused: %s", buf);
    TU_CHECK(clv_check_number(buf, sizeof buf, "opts.step", INFINITY, 1, 0) == CLV_ERROR_INVALID_ARGUMENT,
             "inf refused");
    TU_CHECK(clv_check_number(buf, sizeof buf, "opts.step", 2, 0, 1) == CLV_ERROR_INVALID_ARGUMENT &&
             strstr(buf, "[0, 1]"), "out of range refused: %s", buf);
    TU_CHECK(clv_check_number(buf, sizeof buf, "opts.step", 0.5, 0, 1) == CLV_OK, "0.5 in [0, 1]");
    TU_CHECK(clv_check_chunk(buf, sizeof buf, "opts.chunk", -2) == CLV_ERROR_INVALID_ARGUMENT &&
             strstr(buf, "opts.chunk"), "chunk -2 refused");
    TU_CHECK(clv_check_chunk(buf, sizeof buf, "opts.chunk", CLV_CHUNK_AUTO) == CLV_OK, "chunk auto");
}

static void test_csv_names(void)
{
    FILE *f = tmpfile();
    char got[256] = "";
    if (!f) {
        TU_CHECK(0, "tmpfile");
        return;
    }
    clv_csv_write_name(f, "plain");
    fputc('|', f);
    clv_csv_write_name(f, "a,b");
    fputc('|', f);
    clv_csv_write_name(f, "say \"hi\"");
    fputc('|', f);
    clv_csv_write_name(f, " padded");
    rewind(f);
    size_t n = fread(got, 1, sizeof got - 1, f);
    got[n] = '\0';
    fclose(f);
    TU_CHECK(!strcmp(got, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\" padded\""), "CSV names: %s", got);
}

static void test_library_build(clv_mesh *m)
{
    char buf[4096];
    const double data[2] = { 1.5, -2.0 };
    clv_library_desc d = {0};
    clv_program *p = NULL;
    clv_array *a = NULL, *y = NULL;
    d.lines = lines;
    d.n_lines = 3;
    d.library_name = "kernels/lib.cl";
    d.source = user_src;
    d.name = "mine.cl";
    d.options = "-DUSER_SHIFT=1";
    d.real = CLV_F32;
    d.data = data;
    d.n_data = 2;
    clv_status st = clv_library_build(m, &d, &p, &a, buf, sizeof buf, "lib_new");
    TU_CHECK(st == CLV_OK && p && a, "clv_library_build: %s", buf);
    float out[4] = {0};
    if (st == CLV_OK) st = clv_array_new(&y, m, CLV_F32, 4, 1, CLV_SHARDED);
    if (st == CLV_OK) st = CLV_MAP(p, "lib_apply", 4, NULL, clv_in(a), clv_out(y));
    if (st == CLV_OK) st = clv_array_read(y, out);
    TU_CHECK(st == CLV_OK && out[0] == 7.5f && out[1] == -3.0f && out[2] == 7.5f, "library kernel with data: %g %g (%s)",
             out[0], out[1], clv_mesh_message(m));
    clv_array_free(y);
    clv_array_free(a);
    clv_program_free(p);

    d.source = "clv_real user_f(clv_real v) { return v + ; }\n";
    st = clv_library_build(m, &d, &p, &a, buf, sizeof buf, "lib_new");
    TU_CHECK(st == CLV_ERROR_BUILD && !p && !a && strstr(buf, "lib_new: building mine.cl") && strstr(buf, "mine.cl:1"),
             "a bad user source: %s: %.300s", clv_status_string(st), buf);
    d.source = user_src;
    d.data = NULL;
    st = clv_library_build(m, &d, &p, &a, buf, sizeof buf, "lib_new");
    TU_CHECK(st == CLV_ERROR_INVALID_ARGUMENT && !p && !a && strstr(buf, "n_data"), "n_data without data: %s", buf);
}

/* A share over two pretend processes: this one owns the second half. */
static void half_range(void *user, size_t n, size_t *first, size_t *count)
{
    (void)user;
    *first = n / 2;
    *count = n - n / 2;
}

static clv_status fill_first_half(void *user, clv_status st, const char *message, void *rows, size_t row_bytes,
                                  size_t n_rows, char *why, size_t why_size)
{
    int *calls = (int *)user;
    ++*calls;
    if (st != CLV_OK) {
        snprintf(why, why_size, "process 1: %s", message);
        return st;
    }
    memset(rows, 0x11, row_bytes * (n_rows / 2));
    return CLV_OK;
}

static void test_share(void)
{
    size_t first = 9, count = 9;
    char buf[256];
    clv_share_range(NULL, 10, &first, &count);
    TU_CHECK(first == 0 && count == 10, "no share: every row");
    int calls = 0;
    clv_share sh = { half_range, fill_first_half, &calls };
    clv_share_range(&sh, 11, &first, &count);
    TU_CHECK(first == 5 && count == 6, "half range: %zu + %zu", first, count);
    unsigned char rows[11];
    memset(rows, 0, sizeof rows);
    TU_CHECK(clv_share_exchange(&sh, CLV_OK, "", rows, 1, 11, buf, sizeof buf, "step") == CLV_OK && rows[4] == 0x11 &&
             rows[5] == 0 && calls == 1, "exchange fills the other rows");
    TU_CHECK(clv_share_exchange(&sh, CLV_ERROR_OPENCL, "boom", rows, 1, 11, buf, sizeof buf, "step") ==
             CLV_ERROR_OPENCL && strstr(buf, "step: process 1: boom"), "a failure agreed: %s", buf);
    TU_CHECK(clv_share_exchange(NULL, CLV_ERROR_SHAPE, "", rows, 1, 11, buf, sizeof buf, "step") == CLV_ERROR_SHAPE,
             "no share: the status passes through");
}

/* fake_share.h over 3 threads: each sees every row after the exchange; a
 * failing rank's status and message reach all. */
typedef struct fake_job {
    fake_share_group *g;
    int rank, fail;
    int rows[10];
    clv_status st;
    char why[256];
} fake_job;

static void *fake_worker(void *arg)
{
    fake_job *j = (fake_job *)arg;
    clv_share sh = fake_share_of(j->g, j->rank);
    size_t first, count;
    clv_share_range(&sh, 10, &first, &count);
    for (size_t i = first; i < first + count; ++i) j->rows[i] = 100 * j->rank + (int)i;
    j->st = clv_share_exchange(&sh, j->fail ? CLV_ERROR_OPENCL : CLV_OK, j->fail ? "device on fire" : "", j->rows,
                               sizeof(int), 10, j->why, sizeof j->why, "step");
    return NULL;
}

static void test_fake_share(int failing_rank)
{
    fake_share_group g;
    fake_job jobs[3];
    pthread_t th[3];
    fake_share_group_init(&g, 3);
    for (int r = 0; r < 3; ++r) {
        memset(&jobs[r], 0, sizeof jobs[r]);
        jobs[r].g = &g;
        jobs[r].rank = r;
        jobs[r].fail = r == failing_rank;
        pthread_create(&th[r], NULL, fake_worker, &jobs[r]);
    }
    for (int r = 0; r < 3; ++r) pthread_join(th[r], NULL);
    fake_share_group_free(&g);
    for (int r = 0; r < 3; ++r) {
        if (failing_rank >= 0) {
            TU_CHECK(jobs[r].st == CLV_ERROR_OPENCL && strstr(jobs[r].why, "device on fire"),
                     "rank %d got %s (%s) for rank %d's failure", r, clv_status_string(jobs[r].st), jobs[r].why,
                     failing_rank);
            continue;
        }
        int ok = jobs[r].st == CLV_OK;
        for (int i = 0; i < 10; ++i) {
            size_t first, count;
            int owner = 0;
            for (int q = 0; q < 3; ++q) {
                fake_share_split(3, q, 10, &first, &count);
                if ((size_t)i >= first && (size_t)i < first + count) owner = q;
            }
            ok &= jobs[r].rows[i] == 100 * owner + i;
        }
        TU_CHECK(ok, "rank %d: rows after the exchange (%s)", r, jobs[r].why);
    }
}

int main(void)
{
    test_fake_share(-1);
    test_fake_share(1);
    clv_mesh *m = NULL;
    clv_mesh_desc md = {0};
    md.devices = "0";
    test_helpers();
    test_csv_names();
    test_share();
    TU_REQUIRE_OK(m, clv_mesh_open(&m, &md));
    test_library_build(m);
    clv_mesh_close(m);
    return tu_summary();
}
