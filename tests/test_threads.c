/* Different meshes from different threads, as the process's first OpenCL
 * use (README "Threads"; issue 11 item 4). Before the first platform
 * enumeration was serialised, two threads opening their own meshes at once
 * in a fresh process got CLV_ERROR_NO_DEVICE most of the time, or crashed
 * inside PoCL 3.1's first clGetPlatformIDs.
 *
 * The race is only there once per process, so the test runs itself again
 * CLV_TEST_RUNS times (default 20) as a child: each child starts THREADS
 * threads that wait at a barrier, then each opens its own mesh (the first
 * OpenCL call of the process), builds a small program, maps it, checks the
 * result and closes the mesh, a few times over. A child fails on any error,
 * any wrong number, a crash or a hang; the test fails when any child does.
 * Under AddressSanitizer it needs ASAN_OPTIONS=use_sigaltstack=0 (CI phase 2
 * sets it): PoCL's compiler gives a compiling thread an alternate signal
 * stack of its own, and ASan's teardown of that thread then aborts. */
#define _POSIX_C_SOURCE 200809L /* pthread_barrier, posix_spawn, waitpid */
#include "clvmap.h"

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum { THREADS = 4, ROUNDS = 2, ITEMS = 257 };

static const char *source =
    "__kernel void twice(CLV_ITEMS, __global const float *x, __global float *y) {\n"
    "    CLV_GUARD();\n"
    "    y[clv_local()] = 2.0f * x[clv_local()] + (float)clv_item();\n"
    "}\n";

static pthread_barrier_t start_line;

typedef struct worker {
    int id;
    char error[512]; /* "" when every round was good */
} worker;

static int one_round(worker *w, int round)
{
    float x[ITEMS], y[ITEMS];
    clv_mesh *m = NULL;
    clv_program *p = NULL;
    clv_array *xa = NULL, *ya = NULL;
    clv_status s = clv_mesh_open(&m, NULL);
    if (s == CLV_OK && clv_mesh_device_count(m) < 1) s = CLV_ERROR_NO_DEVICE;
    if (s == CLV_OK) {
        clv_program_desc pd;
        memset(&pd, 0, sizeof pd);
        pd.source = source;
        s = clv_program_build(&p, m, &pd);
    }
    if (s == CLV_OK) s = clv_array_new(&xa, m, CLV_F32, ITEMS, 1, CLV_SHARDED);
    if (s == CLV_OK) s = clv_array_new(&ya, m, CLV_F32, ITEMS, 1, CLV_SHARDED);
    for (int i = 0; i < ITEMS; ++i) x[i] = (float)(i % 17) + (float)w->id;
    if (s == CLV_OK) s = clv_array_write(xa, x);
    if (s == CLV_OK) {
        clv_map_opts o;
        memset(&o, 0, sizeof o);
        o.chunk = 64;
        s = CLV_MAP(p, "twice", ITEMS, &o, clv_in(xa), clv_out(ya));
    }
    if (s == CLV_OK) s = clv_array_read(ya, y);
    int bad = -1;
    for (int i = 0; s == CLV_OK && i < ITEMS && bad < 0; ++i)
        if (y[i] != 2.0f * x[i] + (float)i) bad = i;
    if (s != CLV_OK)
        snprintf(w->error, sizeof w->error, "thread %d round %d: %s: %.400s", w->id, round, clv_status_string(s),
                 clv_mesh_message(m));
    else if (bad >= 0)
        snprintf(w->error, sizeof w->error, "thread %d round %d: y[%d] = %g, expected %g", w->id, round, bad,
                 (double)y[bad], (double)(2.0f * x[bad] + (float)bad));
    clv_array_free(xa);
    clv_array_free(ya);
    clv_program_free(p);
    clv_mesh_close(m);
    return s == CLV_OK && bad < 0;
}

static void *work(void *arg)
{
    worker *w = (worker *)arg;
    pthread_barrier_wait(&start_line);
    for (int r = 0; r < ROUNDS; ++r)
        if (!one_round(w, r)) break;
    return NULL;
}

/* One fresh process: THREADS threads open their meshes at the same moment. */
static int child(void)
{
    pthread_t threads[THREADS];
    worker workers[THREADS];
    int failed = 0;
    pthread_barrier_init(&start_line, NULL, THREADS);
    for (int t = 0; t < THREADS; ++t) {
        workers[t].id = t;
        workers[t].error[0] = '\0';
        if (pthread_create(&threads[t], NULL, work, &workers[t]) != 0) {
            printf("FAIL: pthread_create\n");
            return 1;
        }
    }
    for (int t = 0; t < THREADS; ++t) pthread_join(threads[t], NULL);
    for (int t = 0; t < THREADS; ++t)
        if (workers[t].error[0]) {
            printf("  FAIL %s\n", workers[t].error);
            failed = 1;
        }
    pthread_barrier_destroy(&start_line);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--child") == 0) return child();
    const char *env = getenv("CLV_TEST_RUNS");
    int runs = env && atoi(env) > 0 ? atoi(env) : 20, passed = 0, failed = 0;
    printf("%d fresh processes, %d threads each opening its own mesh first thing, %d rounds\n", runs, THREADS,
           ROUNDS);
    fflush(stdout);
    for (int r = 0; r < runs; ++r) {
        char *child_argv[] = { argv[0], (char *)"--child", NULL };
        pid_t pid;
        int status = 0;
        if (posix_spawn(&pid, argv[0], NULL, NULL, child_argv, environ) != 0) {
            printf("FAIL: cannot start %s\n", argv[0]);
            return 1;
        }
        if (waitpid(pid, &status, 0) != pid) status = -1;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            ++passed;
            continue;
        }
        ++failed;
        if (WIFSIGNALED(status))
            printf("FAIL run %d: the child died of signal %d (%s)\n", r, WTERMSIG(status),
                   strsignal(WTERMSIG(status)));
        else
            printf("FAIL run %d: the child exited with %d\n", r, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
