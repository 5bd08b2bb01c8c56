/* Fuzz target: validation of the option and parameter structs, on a real
 * PoCL mesh opened once per process.
 *
 * Byte 0 picks an area; the rest fill that area's structs field by field
 * (raw values: negative, huge, NaN, inf), and a "tame" byte may fold some
 * fields into small ranges so that valid options are reached too:
 *   0 core    clv_mesh_set_split (split, weights, n_weights),
 *             clv_mesh_split_items (any n_items), clv_map_opts (chunk,
 *             shape, local_size, seed), n_items, scratch bytes and argument
 *             lists of clv_map;
 *   1 nss     clv_nss_opts through clv_nss_run, clv_nss_problem through
 *             clv_nss_new's checks;
 *   2 nuts    clv_nuts_opts through clv_nuts_run, clv_nuts_model through
 *             clv_nuts_new's checks, clv_nuts_gradcheck_opts;
 *   3 lbfgs   clv_lbfgs_parameter and the dimension through clv_lbfgs_new's
 *             checks, n_items / x / outputs through clv_lbfgs_minimize.
 * Invariants: every call returns CLV_OK with a sane result or another
 * status with a non-empty message; never a crash, undefined behaviour or a
 * leak (ASan, UBSan, LSan). Runs are only started when the resolved options
 * are tiny (a few items, a few iterations), and the add-ons' private
 * resolve/check functions decide that first, so one execution stays cheap;
 * options that would build a new program (each clv_nss/clv_nuts/clv_lbfgs
 * problem is compiled for its sizes) are checked, not built. A run's CSV
 * output is read back with clvmap_csv.h and compared bitwise. */
#define _POSIX_C_SOURCE 200809L /* open_memstream, setenv */
#include "clvmap_csv.h"
#include "clvmap_lbfgs.h"
#include "clvmap_nss.h"
#include "clvmap_nuts.h"
#include "fuzz_check.h"
#include "nss_problems.h"

#include <math.h>
#include <signal.h>

static clv_mesh *mesh;
static clv_program *program;
static clv_nss *nss;
static clv_nuts *nuts;
static clv_lbfgs *lbfgs;

/* Local sizes a valid run may use: each new one costs PoCL a compile, so
 * runs use these (warmed up at start); raw values are still validated. */
static const size_t local_sizes[] = { 0, 1, 2, 4, 64 };
#define N_LOCAL_SIZES (sizeof local_sizes / sizeof local_sizes[0])

static const char *const map_source =
    "__kernel void twice(CLV_ITEMS, __global const float *x, __global float *y,\n"
    "                    __global uchar *scratch, const ulong scratch_bytes, const int group,\n"
    "                    const int x_replicated) {\n"
    "    CLV_GUARD();\n"
    "    if (group && get_local_id(0) != 0) return;\n"
    "    if (scratch_bytes) {\n"
    "        scratch[clv_slot() * scratch_bytes] = 1;\n"
    "        scratch[clv_slot() * scratch_bytes + scratch_bytes - 1] = 2;\n"
    "    }\n"
    "    y[clv_local()] = 2.0f * x[x_replicated ? clv_item() : clv_local()] + 1.0f;\n"
    "}\n";


static const char *const nuts_source =
    "clv_real logdensity(__global const clv_real *x, __global clv_real *grad, __global const clv_real *data) {\n"
    "    clv_real lp = 0;\n"
    "    for (int k = 0; k < CLV_NUTS_DIM; ++k) { lp -= 0.5 * x[k] * x[k]; grad[k] = -x[k]; }\n"
    "    return lp;\n"
    "}\n";

static const char *const lbfgs_source =
    "clv_real clv_lbfgs_objective(__global const clv_real *x, __global clv_real *g, ulong item,\n"
    "                             clv_lbfgs_data data) {\n"
    "    clv_real f = 0;\n"
    "    for (int i = 0; i < CLV_LBFGS_N; ++i) { f += (x[i] - 1) * (x[i] - 1); g[i] = 2 * (x[i] - 1); }\n"
    "    return f;\n"
    "}\n";

enum { NSS_DIM = 2, NUTS_DIM = 2, NUTS_MAX_DEPTH = 4, LBFGS_N = 2, LBFGS_CHUNK = 3 };

/* ---- helpers ---------------------------------------------------------------- */

static int cancel_countdown;
static int nss_cancel(const clv_nss_progress *p, void *user)
{
    (void)p;
    (void)user;
    return --cancel_countdown <= 0;
}
static int nuts_cancel(const clv_nuts_progress *p, void *user)
{
    (void)p;
    (void)user;
    return --cancel_countdown <= 0;
}
static int lbfgs_cancel(void *user, const clv_lbfgs_progress *p)
{
    (void)p;
    (void)user;
    return --cancel_countdown <= 0;
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b)); }

/* Read back what a writer put into an open_memstream buffer. */
static void read_csv(char *buf, size_t size, clv_csv_table *t, int keep_comments)
{
    clv_csv_opts o;
    memset(&o, 0, sizeof o);
    o.header = CLV_CSV_HEADER_YES;
    o.keep_comments = keep_comments;
    clv_csv_status st = clv_csv_read(t, buf, size, &o);
    FUZZ_CHECK(st == CLV_CSV_OK, "a CSV the library wrote does not read back: %s", t->message);
}

static void check_status(clv_status st, const char *message, size_t size, const char *what)
{
    FUZZ_CHECK(st >= CLV_OK && st < CLV_STATUS_COUNT, "%s: status %d", what, (int)st);
    if (st != CLV_OK) FUZZ_CHECK(fuzz_message_ok(message, size), "%s: %s without a message", what,
                                 clv_status_string(st));
}

static size_t pick_local_size(fuzz_bytes *b, int tame)
{
    uint64_t v = fuzz_take(b, tame ? 1 : 8);
    return tame ? local_sizes[v % N_LOCAL_SIZES] : (size_t)v;
}

/* ---- start-up: the mesh, one program per add-on, warm kernel caches -------- */

static void require(clv_status st, const char *what, const char *message)
{
    if (st != CLV_OK) {
        fprintf(stderr, "fuzz_opts: %s failed: %s: %s\n", what, clv_status_string(st), message);
        exit(1);
    }
}

static void warm_up(void)
{
    /* every kernel in every launch shape the runs use (local size, item or
     * group shape, zero or non-zero offset), so that later runs hit PoCL's
     * kernel cache: no compile (and no compiler leak) during fuzzing */
    float x[16] = { 0 };
    clv_array *xa = NULL, *ya = NULL;
    require(clv_array_new(&xa, mesh, CLV_F32, 16, 1, CLV_SHARDED), "clv_array_new", clv_mesh_message(mesh));
    require(clv_array_new(&ya, mesh, CLV_F32, 16, 1, CLV_SHARDED), "clv_array_new", clv_mesh_message(mesh));
    require(clv_array_write(xa, x), "clv_array_write", clv_mesh_message(mesh));
    for (size_t i = 0; i < N_LOCAL_SIZES; ++i)
        for (int shape = 0; shape < 2; ++shape)
            for (long chunk = 0; chunk < 6; chunk += 5) {
                clv_map_opts o;
                memset(&o, 0, sizeof o);
                o.chunk = chunk;
                o.shape = (clv_shape)shape;
                o.local_size = local_sizes[i];
                clv_arg args[6] = { clv_in(xa), clv_out(ya), clv_scratch(4), clv_ulong(4), clv_int(shape), clv_int(0) };
                require(clv_map(program, "twice", 16, &o, args, 6), "warm-up map", clv_mesh_message(mesh));
            }
    clv_array_free(xa);
    clv_array_free(ya);
    double start[8 * LBFGS_N] = { 0 };
    require(clv_lbfgs_minimize(lbfgs, 8, start, NULL, NULL, NULL), "warm-up L-BFGS", clv_lbfgs_message(lbfgs));
    clv_nuts_gradcheck g;
    require(clv_nuts_check_gradient(nuts, NULL, NULL, &g), "warm-up gradient check", clv_nuts_message(nuts));
    for (size_t i = 0; i < N_LOCAL_SIZES; ++i) {
        clv_nss_opts o;
        memset(&o, 0, sizeof o);
        o.n_live = 8;
        o.num_delete = 2;
        o.max_iterations = 1;
        o.local_size = local_sizes[i];
        clv_nss_result r;
        require(clv_nss_run(nss, &o, &r), "warm-up NSS run", clv_nss_message(nss));
        clv_nss_result_free(&r);
        o.shape = CLV_ITEM_PER_GROUP;
        require(clv_nss_run(nss, &o, &r), "warm-up NSS run (group shape)", clv_nss_message(nss));
        clv_nss_result_free(&r);
        clv_nuts_opts no;
        memset(&no, 0, sizeof no);
        no.n_chains = 2;
        no.num_warmup = 2;
        no.num_draws = 2;
        no.local_size = local_sizes[i];
        clv_nuts_result nr;
        require(clv_nuts_run(nuts, &no, &nr), "warm-up NUTS run", clv_nuts_message(nuts));
        clv_nuts_result_free(&nr);
    }
}

/* PoCL's LLVM installs its own handlers for the fatal signals (and SIGALRM,
 * SIGINT, SIGUSR1, ...) when the first program is built; they replace
 * libFuzzer's and the sanitizers', so a failed invariant (abort) would die
 * without the reproducer written and -timeout (SIGALRM) would not fire.
 * They are put back after start-up, which built every kernel. SIGFPE stays
 * PoCL's: it handles integer division by zero in kernels. */
static const int saved_signals[] = { SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGINT, SIGTERM, SIGALRM, SIGUSR1, SIGUSR2,
                                     SIGXFSZ };
#define N_SAVED_SIGNALS (sizeof saved_signals / sizeof saved_signals[0])
static struct sigaction saved_actions[N_SAVED_SIGNALS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < N_SAVED_SIGNALS; ++i) sigaction(saved_signals[i], NULL, &saved_actions[i]);
    /* two PoCL devices (unless the caller chose), so that splits matter */
    setenv("POCL_DEVICES", "pthread pthread", 0);
    clv_mesh_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.devices = getenv("CLV_FUZZ_DEVICES"); /* NULL: CLV_DEVICES, else the default */
    require(clv_mesh_open(&mesh, &desc), "clv_mesh_open", clv_mesh_message(mesh));
    clv_program_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.source = map_source;
    require(clv_program_build(&program, mesh, &pd), "clv_program_build", clv_mesh_message(mesh));

    clv_nss_problem np;
    memset(&np, 0, sizeof np);
    np.source = nss_standard_normal_source;
    np.dim = NSS_DIM;
    require(clv_nss_new(&nss, mesh, &np), "clv_nss_new", clv_nss_message(nss));

    clv_nuts_model nm;
    memset(&nm, 0, sizeof nm);
    nm.source = nuts_source;
    nm.dim = NUTS_DIM;
    nm.max_depth = NUTS_MAX_DEPTH;
    require(clv_nuts_new(&nuts, mesh, &nm), "clv_nuts_new", clv_nuts_message(nuts));

    clv_lbfgs_objective lo;
    memset(&lo, 0, sizeof lo);
    lo.source = lbfgs_source;
    clv_lbfgs_parameter lp;
    memset(&lp, 0, sizeof lp);
    lp.max_iterations = 50;
    lp.chunk = LBFGS_CHUNK;
    require(clv_lbfgs_new(&lbfgs, mesh, LBFGS_N, &lo, &lp), "clv_lbfgs_new", clv_lbfgs_message(lbfgs));
    warm_up();
    for (size_t i = 0; i < N_SAVED_SIGNALS; ++i) sigaction(saved_signals[i], &saved_actions[i], NULL);
    return 0;
}

/* ---- area 0: the core's split and map options ------------------------------- */

static void fuzz_core(fuzz_bytes *b)
{
    int tame = (int)fuzz_take(b, 1);
    int n_devices = clv_mesh_device_count(mesh);
    /* the split */
    clv_split split = (clv_split)((int)fuzz_take(b, 1) % 6 - 1);
    int n_weights = (int)(int8_t)fuzz_take(b, 1);
    double weights[8];
    for (int i = 0; i < 8; ++i) weights[i] = fuzz_double(b);
    if (tame & 1)
        for (int i = 0; i < 8; ++i) weights[i] = (double)(fuzz_take(b, 1) % 4); /* 0..3, zeros included */
    if (tame & 2) n_weights = n_devices;
    int weights_null = (tame & 4) != 0 && (tame & 8) != 0;
    clv_status st = clv_mesh_set_split(mesh, split, weights_null ? NULL : weights, n_weights > 8 ? 8 : n_weights);
    check_status(st, clv_mesh_message(mesh), CLV_MESSAGE_SIZE, "clv_mesh_set_split");
    if (st != CLV_OK) {
        FUZZ_CHECK(clv_mesh_set_split(mesh, CLV_SPLIT_EQUAL, NULL, 0) == CLV_OK, "equal split refused");
    }

    /* how a batch of any size is split */
    size_t n_any = (size_t)fuzz_take(b, 8), first[64], count[64];
    st = clv_mesh_split_items(mesh, n_any, first, count);
    FUZZ_CHECK(st == CLV_OK, "clv_mesh_split_items(%lu): %s", (unsigned long)n_any, clv_status_string(st));
    size_t at = 0;
    for (int d = 0; d < n_devices; ++d) {
        FUZZ_CHECK(first[d] == at && count[d] <= n_any - at, "device %d owns [%lu, +%lu) after %lu of %lu", d,
                   (unsigned long)first[d], (unsigned long)count[d], (unsigned long)at, (unsigned long)n_any);
        at += count[d];
    }
    FUZZ_CHECK(at == n_any, "the split covers %lu of %lu items", (unsigned long)at, (unsigned long)n_any);

    /* a map */
    clv_map_opts o;
    memset(&o, 0, sizeof o);
    o.chunk = (long)fuzz_take(b, 8);
    o.shape = (clv_shape)(int)fuzz_take(b, 4);
    o.local_size = pick_local_size(b, tame & 16);
    o.seed = fuzz_take(b, 8);
    if (tame & 32) {
        o.chunk = (long)(fuzz_take(b, 1) % 12) - 1;
        o.shape = (clv_shape)(fuzz_take(b, 1) & 1);
    }
    size_t n_array = 1 + (size_t)(fuzz_take(b, 1) % 16);
    size_t n_items = (tame & 64) ? n_array : (size_t)fuzz_take(b, 8);
    size_t scratch = (size_t)fuzz_take(b, 2);
    int variant = (int)(fuzz_take(b, 1) % 8);
    clv_layout layout = (fuzz_take(b, 1) & 1) ? CLV_REPLICATED : CLV_SHARDED;
    /* item_offset, taken last: any value must be refused or leave the
     * outputs alone (x sharded, which the kernel indexes by clv_local());
     * tame & 128 keeps it small enough to run */
    uint64_t offset = fuzz_take(b, 8);
    if (layout == CLV_SHARDED) o.item_offset = (tame & 128) ? offset % 4096 : offset;

    float x[16], y[16];
    for (size_t i = 0; i < 16; ++i) x[i] = (float)i - 3.5f;
    clv_array *xa = NULL, *ya = NULL;
    require(clv_array_new(&xa, mesh, CLV_F32, n_array, 1, layout), "clv_array_new", clv_mesh_message(mesh));
    require(clv_array_new(&ya, mesh, CLV_F32, n_array, 1, CLV_SHARDED), "clv_array_new", clv_mesh_message(mesh));
    require(clv_array_write(xa, x), "clv_array_write", clv_mesh_message(mesh));
    clv_arg args[7];
    int n_args = 6;
    args[0] = clv_in(xa);
    args[1] = clv_out(ya);
    args[2] = clv_scratch(scratch);
    args[3] = clv_ulong(scratch);
    args[4] = clv_int(o.shape == CLV_ITEM_PER_GROUP);
    args[5] = clv_int(layout == CLV_REPLICATED);
    switch (variant) { /* argument lists that must be refused */
    case 1: n_args = 5; break;
    case 2: args[3] = clv_int(1); break;
    case 3: args[0] = clv_out(xa); break; /* output to a const parameter */
    case 4: args[0] = clv_in(NULL); break;
    case 5: args[6] = clv_int(0); n_args = 7; break;
    default: break;
    }
    clv_mesh_reset_stats(mesh);
    st = clv_map(program, "twice", n_items, &o, args, n_args);
    check_status(st, clv_mesh_message(mesh), CLV_MESSAGE_SIZE, "clv_map");
    if (variant >= 1 && variant <= 5) FUZZ_CHECK(st != CLV_OK, "argument list variant %d accepted", variant);
    if (st == CLV_OK) {
        FUZZ_CHECK(n_items == n_array && scratch > 0, "a map of %lu items over arrays of %lu, scratch %lu ran",
                   (unsigned long)n_items, (unsigned long)n_array, (unsigned long)scratch);
        require(clv_array_read(ya, y), "clv_array_read", clv_mesh_message(mesh));
        for (size_t i = 0; i < n_items; ++i)
            FUZZ_CHECK(y[i] == 2 * x[i] + 1, "item %lu: %g, want %g", (unsigned long)i, y[i], 2 * x[i] + 1);
        uint64_t items = 0;
        for (int d = 0; d < n_devices; ++d) {
            clv_device_stats s;
            clv_mesh_stats(mesh, d, &s);
            items += s.items;
            if (o.chunk > 0 && s.items) FUZZ_CHECK(s.chunk_used <= (uint64_t)o.chunk, "chunk_used %llu > %ld",
                                                   (unsigned long long)s.chunk_used, o.chunk);
        }
        FUZZ_CHECK(items == n_items, "devices ran %llu items of %lu", (unsigned long long)items,
                   (unsigned long)n_items);
    }
    clv_array_free(xa);
    clv_array_free(ya);
    clv_mesh_set_split(mesh, CLV_SPLIT_EQUAL, NULL, 0);
}

/* ---- area 1: NSS -------------------------------------------------------------- */

static void fuzz_nss_problem(fuzz_bytes *b)
{
    clv_nss_problem p;
    double data[4] = { 1, 2, 3, 4 };
    char name[16];
    memset(&p, 0, sizeof p);
    uint8_t flags = (uint8_t)fuzz_take(b, 1);
    p.source = (flags & 1) ? NULL : nss_standard_normal_source;
    p.dim = (int)fuzz_take(b, 4);
    p.n_data = (flags & 2) ? (size_t)fuzz_take(b, 8) : (size_t)(fuzz_take(b, 1) % 5);
    p.data = (flags & 4) ? NULL : data;
    if (p.n_data > 4 && p.data) p.n_data = 4; /* the array has 4 */
    p.work_elems = (size_t)fuzz_take(b, 8);
    for (int i = 0; i < 15; ++i) name[i] = (char)(fuzz_take(b, 1) | 1); /* no NUL inside */
    name[15] = '\0';
    p.name = (flags & 8) ? name : NULL;
    p.f32 = (flags & 16) != 0;
    clv_nss *probe = (clv_nss *)calloc(1, sizeof *probe);
    FUZZ_CHECK(probe != NULL, "out of memory");
    probe->mesh = mesh;
    clv_status want = clv_nss__check_problem(probe, &p);
    check_status(want, probe->message, sizeof probe->message, "clv_nss__check_problem");
    if (want != CLV_OK) { /* refused before anything is built: cheap to confirm through the API */
        clv_nss *s = NULL;
        clv_status st = clv_nss_new(&s, mesh, &p);
        FUZZ_CHECK(st == want && strcmp(clv_nss_message(s), probe->message) == 0,
                   "clv_nss_new says %s (%s), its check %s (%s)", clv_status_string(st), clv_nss_message(s),
                   clv_status_string(want), probe->message);
        clv_nss_free(s);
    }
    free(probe);
}

static void check_nss_csv(const clv_nss_result *r)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    FUZZ_CHECK(f != NULL, "open_memstream");
    FUZZ_CHECK(clv_nss_write_csv(r, f, NULL) == CLV_OK, "clv_nss_write_csv");
    fclose(f);
    clv_csv_table t;
    read_csv(buf, size, &t, 0);
    FUZZ_CHECK(t.n_rows == r->n_samples && t.n_columns == 4 + (size_t)r->dim, "NSS CSV shape %lux%lu",
               (unsigned long)t.n_rows, (unsigned long)t.n_columns);
    long c_lw = clv_csv_column(&t, "log_weight"), c_ll = clv_csv_column(&t, "loglikelihood"),
         c_x0 = clv_csv_column(&t, "x0");
    FUZZ_CHECK(c_lw >= 0 && c_ll >= 0 && c_x0 >= 0, "NSS CSV columns");
    for (size_t i = 0; i < t.n_rows; ++i) {
        const double *row = t.values + i * t.n_columns;
        FUZZ_CHECK(same_bits(row[c_lw], r->log_weight[i]) && same_bits(row[c_ll], r->loglikelihood[i]),
                   "NSS CSV row %lu differs", (unsigned long)i);
        for (int k = 0; k < r->dim; ++k)
            FUZZ_CHECK(same_bits(row[c_x0 + k], r->x[i * (size_t)r->dim + (size_t)k]), "NSS CSV x");
    }
    clv_csv_free(&t);
    free(buf);
}

static void fuzz_nss(fuzz_bytes *b)
{
    if (fuzz_take(b, 1) & 1) {
        fuzz_nss_problem(b);
        return;
    }
    int tame = (int)fuzz_take(b, 1);
    clv_nss_opts o;
    memset(&o, 0, sizeof o);
    o.n_live = (int)fuzz_take(b, 4);
    o.num_delete = (int)fuzz_take(b, 4);
    o.num_inner_steps = (int)fuzz_take(b, 4);
    o.max_steps = (int)fuzz_take(b, 4);
    o.max_shrinkage = (int)fuzz_take(b, 4);
    o.chunk = (long)fuzz_take(b, 8);
    o.termination = fuzz_double(b);
    o.max_iterations = (long)fuzz_take(b, 8);
    o.seed = fuzz_take(b, 8);
    o.shape = (clv_shape)(int)fuzz_take(b, 4);
    o.local_size = pick_local_size(b, tame & 1);
    int cancel = (int)(fuzz_take(b, 1) % 4);
    if (tame & 2) {
        o.n_live = (int)(fuzz_take(b, 1) % 34) - 1;
        o.num_delete = (int)(fuzz_take(b, 1) % 34) - 1;
        o.num_inner_steps = (int)(fuzz_take(b, 1) % 8);
        o.max_steps = (int)(fuzz_take(b, 1) % 12);
        o.max_shrinkage = (int)(fuzz_take(b, 1) % 40);
        o.chunk = (long)(fuzz_take(b, 1) % 10) - 1;
        o.termination = (double)(fuzz_take(b, 1) % 8) - 0.5;
        o.max_iterations = (long)(fuzz_take(b, 1) % 4);
        o.shape = (clv_shape)(fuzz_take(b, 1) & 1);
    }
    if (cancel) {
        o.progress = nss_cancel;
        cancel_countdown = cancel;
    }
    clv_nss_opts resolved;
    clv_status want = clv_nss__resolve(nss, &o, &resolved);
    check_status(want, clv_nss_message(nss), CLV_NSS_MESSAGE_SIZE, "clv_nss__resolve");
    int known_size = 0;
    for (size_t i = 0; i < N_LOCAL_SIZES; ++i) known_size |= o.local_size == local_sizes[i];
    if (want == CLV_OK && !(resolved.n_live <= 32 && resolved.num_inner_steps <= 10 && resolved.max_steps <= 20 &&
                            resolved.max_shrinkage <= 50 && resolved.max_iterations >= 1 &&
                            resolved.max_iterations <= 3 && known_size))
        return; /* valid but not cheap: validation is what is fuzzed */
    clv_nss_result r;
    clv_status st = clv_nss_run(nss, &o, &r);
    check_status(st, clv_nss_message(nss), CLV_NSS_MESSAGE_SIZE, "clv_nss_run");
    if (want != CLV_OK) FUZZ_CHECK(st == want, "clv_nss_run says %s, its resolve said %s", clv_status_string(st),
                                   clv_status_string(want));
    if (st == CLV_OK) {
        FUZZ_CHECK(r.n_live == resolved.n_live && r.num_delete == resolved.num_delete && r.dim == NSS_DIM,
                   "NSS result sizes");
        FUZZ_CHECK(r.iterations <= resolved.max_iterations, "%ld iterations, max %ld", r.iterations,
                   resolved.max_iterations);
        FUZZ_CHECK(r.n_samples == (size_t)r.iterations * (size_t)r.num_delete + (size_t)r.n_live,
                   "NSS samples %lu", (unsigned long)r.n_samples);
        FUZZ_CHECK(r.ess >= 0 && r.ess <= (double)r.n_samples + 1e-9, "NSS ESS %g of %lu", r.ess,
                   (unsigned long)r.n_samples);
        double total = 0;
        for (size_t i = 0; i < r.n_samples; ++i) total += exp(r.log_weight[i]);
        FUZZ_CHECK(fabs(total - 1) < 1e-9, "NSS weights sum to %.17g", total);
        if (cancel) FUZZ_CHECK(r.stop != CLV_NSS_MAX_ITERATIONS || r.iterations < cancel,
                               "cancelled run stopped by %s", clv_nss_stop_string(r.stop));
        check_nss_csv(&r);
    }
    clv_nss_result_free(&r);
}

/* ---- area 2: NUTS ------------------------------------------------------------- */

static void fuzz_nuts_model(fuzz_bytes *b)
{
    clv_nuts_model p;
    double data[4] = { 1, 2, 3, 4 };
    char name[16];
    memset(&p, 0, sizeof p);
    uint8_t flags = (uint8_t)fuzz_take(b, 1);
    p.source = (flags & 1) ? NULL : nuts_source;
    p.dim = (int)fuzz_take(b, 4);
    p.n_data = (size_t)(fuzz_take(b, 1) % 5);
    p.data = (flags & 4) ? NULL : data;
    p.max_depth = (int)fuzz_take(b, 4);
    for (int i = 0; i < 15; ++i) name[i] = (char)(fuzz_take(b, 1) | 1);
    name[15] = '\0';
    p.name = (flags & 8) ? name : NULL;
    p.f32 = (flags & 16) != 0;
    if (flags & 32) { /* generated quantities: counts, NULL, repeated and empty names, a source without them */
        static const char *const names[] = { "a", "b[1]", "a", "", NULL, "c", NULL };
        p.n_generated = (int)(fuzz_take(b, 1) % 5) - 1;
        p.generated_names = (flags & 64) ? NULL : names + fuzz_take(b, 1) % 3;
    }
    clv_nuts *probe = (clv_nuts *)calloc(1, sizeof *probe);
    FUZZ_CHECK(probe != NULL, "out of memory");
    probe->mesh = mesh;
    clv_status want = clv_nuts__check_model(probe, &p);
    check_status(want, probe->message, sizeof probe->message, "clv_nuts__check_model");
    if (want != CLV_OK) {
        clv_nuts *s = NULL;
        clv_status st = clv_nuts_new(&s, mesh, &p);
        FUZZ_CHECK(st == want && strcmp(clv_nuts_message(s), probe->message) == 0,
                   "clv_nuts_new says %s (%s), its check %s (%s)", clv_status_string(st), clv_nuts_message(s),
                   clv_status_string(want), probe->message);
        clv_nuts_free(s);
    }
    free(probe);
}

static void check_nuts_csv(const clv_nuts_result *r, int chain)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    FUZZ_CHECK(f != NULL, "open_memstream");
    FUZZ_CHECK(clv_nuts_write_csv(r, chain, f, NULL) == CLV_OK, "clv_nuts_write_csv");
    fclose(f);
    clv_csv_table t;
    read_csv(buf, size, &t, 1);
    FUZZ_CHECK(t.n_rows == (size_t)r->num_draws && t.n_columns == 7 + (size_t)r->dim, "NUTS CSV shape");
    FUZZ_CHECK(clv_csv_column(&t, "lp__") == 0 && clv_csv_column(&t, "x.1") == 7, "NUTS CSV columns");
    for (int i = 0; i < r->num_draws; ++i) {
        size_t at = (size_t)chain * (size_t)r->num_draws + (size_t)i;
        const double *row = t.values + (size_t)i * t.n_columns;
        FUZZ_CHECK(same_bits(row[0], r->lp[at]) && same_bits(row[2], r->step_size[at]) &&
                   row[3] == r->tree_depth[at] && row[4] == r->n_leapfrog[at] && row[5] == r->divergent[at] &&
                   same_bits(row[6], r->energy[at]), "NUTS CSV draw %d differs", i);
        for (int k = 0; k < r->dim; ++k)
            FUZZ_CHECK(same_bits(row[7 + k], r->draws[at * (size_t)r->dim + (size_t)k]), "NUTS CSV x");
    }
    const char *step = strstr(t.comments, "# Step size = ");
    FUZZ_CHECK(step && same_bits(strtod(step + 14, NULL), r->final_step_size[chain]), "NUTS CSV step size");
    clv_csv_free(&t);
    free(buf);
}

static void fuzz_nuts(fuzz_bytes *b)
{
    int area = (int)(fuzz_take(b, 1) % 3);
    if (area == 1) {
        fuzz_nuts_model(b);
        return;
    }
    if (area == 2) { /* the gradient checker's options */
        clv_nuts_gradcheck_opts g;
        memset(&g, 0, sizeof g);
        g.n_points = (int)(int8_t)fuzz_take(b, 1) % 9;
        g.radius = fuzz_double(b);
        g.step = fuzz_double(b);
        g.tolerance = fuzz_double(b);
        g.seed = fuzz_take(b, 8);
        double worst[NUTS_DIM];
        clv_nuts_gradcheck out;
        clv_status st = clv_nuts_check_gradient(nuts, &g, worst, &out);
        check_status(st, clv_nuts_message(nuts), CLV_NUTS_MESSAGE_SIZE, "clv_nuts_check_gradient");
        if (st == CLV_OK) {
            FUZZ_CHECK(out.n_over >= 0 && out.n_over <= NUTS_DIM && out.n_nonfinite >= 0 &&
                       out.worst_coordinate >= 0 && out.worst_coordinate < NUTS_DIM, "gradcheck counts");
            FUZZ_CHECK(!(out.worst < 0), "gradcheck worst %g", out.worst);
        }
        return;
    }
    int tame = (int)fuzz_take(b, 1);
    clv_nuts_opts o;
    memset(&o, 0, sizeof o);
    o.n_chains = (int)fuzz_take(b, 4);
    o.num_warmup = (int)fuzz_take(b, 4);
    o.num_draws = (int)fuzz_take(b, 4);
    o.max_depth = (int)fuzz_take(b, 4);
    o.target_accept = fuzz_double(b);
    o.step_size = fuzz_double(b);
    o.max_energy_error = fuzz_double(b);
    o.init_radius = fuzz_double(b);
    o.no_step_size_search = (int)fuzz_take(b, 1) & 1;
    o.block = (int)fuzz_take(b, 4);
    o.chunk = (long)fuzz_take(b, 8);
    o.local_size = pick_local_size(b, tame & 1);
    o.seed = fuzz_take(b, 8);
    int cancel = (int)(fuzz_take(b, 1) % 4), with_init = (int)fuzz_take(b, 1) & 1;
    if (tame & 2) {
        o.n_chains = (int)(fuzz_take(b, 1) % 6) - 1;
        o.num_warmup = (int)(fuzz_take(b, 1) % 34) - 2;
        o.num_draws = (int)(fuzz_take(b, 1) % 12) - 1;
        o.max_depth = (int)(fuzz_take(b, 1) % 7) - 1;
        o.block = (int)(fuzz_take(b, 1) % 8) - 1;
        o.chunk = (long)(fuzz_take(b, 1) % 6) - 2;
    }
    if (tame & 4) {
        o.target_accept = (double)(fuzz_take(b, 1) % 11) / 10;
        o.step_size = (double)(fuzz_take(b, 1) % 8) / 4;
        o.max_energy_error = (double)(fuzz_take(b, 1) % 3) * 500;
        o.init_radius = (double)(fuzz_take(b, 1) % 5);
    }
    double init[4 * NUTS_DIM];
    for (int i = 0; i < 4 * NUTS_DIM; ++i) init[i] = (tame & 8) ? fuzz_double(b) : (double)(fuzz_take(b, 1) % 5) - 2;
    if (cancel) {
        o.progress = nuts_cancel;
        cancel_countdown = cancel;
    }
    clv_nuts_opts resolved;
    clv_status want = clv_nuts__resolve(nuts, &o, &resolved);
    check_status(want, clv_nuts_message(nuts), CLV_NUTS_MESSAGE_SIZE, "clv_nuts__resolve");
    if (with_init && resolved.n_chains <= 4) o.init = init; /* room for 4 chains */
    int known_size = 0;
    for (size_t i = 0; i < N_LOCAL_SIZES; ++i) known_size |= o.local_size == local_sizes[i];
    if (want == CLV_OK && !(resolved.n_chains <= 4 && resolved.num_warmup <= 40 && resolved.num_draws <= 10 &&
                            known_size))
        return; /* valid but not cheap */
    clv_nuts_result r;
    clv_status st = clv_nuts_run(nuts, &o, &r);
    check_status(st, clv_nuts_message(nuts), CLV_NUTS_MESSAGE_SIZE, "clv_nuts_run");
    if (want != CLV_OK) FUZZ_CHECK(st == want, "clv_nuts_run says %s, its resolve said %s", clv_status_string(st),
                                   clv_status_string(want));
    if (st == CLV_OK) {
        FUZZ_CHECK(r.n_chains == resolved.n_chains && r.dim == NUTS_DIM && r.max_depth == resolved.max_depth,
                   "NUTS result sizes");
        FUZZ_CHECK(r.num_draws >= 0 && r.num_draws <= resolved.num_draws, "NUTS draws %d of %d", r.num_draws,
                   resolved.num_draws);
        uint64_t divergent = 0;
        for (size_t i = 0; i < (size_t)r.n_chains * (size_t)r.num_draws; ++i) {
            FUZZ_CHECK(r.tree_depth[i] >= 0 && r.tree_depth[i] <= r.max_depth, "tree depth %d", r.tree_depth[i]);
            FUZZ_CHECK(r.divergent[i] == 0 || r.divergent[i] == 1, "divergent %d", r.divergent[i]);
            FUZZ_CHECK(r.n_leapfrog[i] >= 0 && r.n_leapfrog[i] < (2 << r.max_depth), "n_leapfrog %d",
                       r.n_leapfrog[i]);
            FUZZ_CHECK(!(r.accept_stat[i] < 0) && !(r.accept_stat[i] > 1), "accept_stat %g", r.accept_stat[i]);
            divergent += (uint64_t)r.divergent[i];
        }
        FUZZ_CHECK(divergent == r.n_divergent, "divergences %llu, counted %llu", (unsigned long long)r.n_divergent,
                   (unsigned long long)divergent);
        if (r.num_draws > 0) check_nuts_csv(&r, r.n_chains - 1);
    }
    clv_nuts_result_free(&r);
}

/* ---- area 3: L-BFGS ----------------------------------------------------------- */

static void fuzz_lbfgs_parameter(fuzz_bytes *b)
{
    clv_lbfgs_parameter p;
    memset(&p, 0, sizeof p);
    int tame = (int)fuzz_take(b, 1);
    p.m = (int)fuzz_take(b, 4);
    p.epsilon = fuzz_double(b);
    p.past = (int)fuzz_take(b, 4);
    p.delta = fuzz_double(b);
    p.max_iterations = (int)fuzz_take(b, 4);
    p.linesearch = (clv_lbfgs_linesearch)(int)fuzz_take(b, 4);
    p.max_linesearch = (int)fuzz_take(b, 4);
    p.ftol = fuzz_double(b);
    p.wolfe = fuzz_double(b);
    p.min_step = fuzz_double(b);
    p.max_step = fuzz_double(b);
    p.chunk = (long)fuzz_take(b, 8);
    p.float32 = (int)fuzz_take(b, 1) & 1;
    p.no_compaction = (int)fuzz_take(b, 1) & 1;
    p.iterations_per_launch = (int)fuzz_take(b, 4);
    size_t n = (size_t)fuzz_take(b, 8);
    if (tame & 1) {
        p.m = (int)(fuzz_take(b, 1) % 5) - 1;
        p.past = (int)(fuzz_take(b, 1) % 4) - 1;
        p.max_iterations = (int)(fuzz_take(b, 1) % 4) - 1;
        p.linesearch = (clv_lbfgs_linesearch)(int)(fuzz_take(b, 1) % 4);
        p.max_linesearch = (int)(fuzz_take(b, 1) % 4) - 1;
        p.chunk = (long)(fuzz_take(b, 1) % 4) - 1;
        p.iterations_per_launch = (int)(fuzz_take(b, 1) % 4) - 1;
        n = (size_t)(fuzz_take(b, 1) % 4);
    }
    if (tame & 2) {
        static const double small[] = { 0, -1, 1e-5, 0.5, 0.9, 1, 2, 1e-20, 1e20, INFINITY, NAN };
        size_t k = sizeof small / sizeof small[0];
        p.epsilon = small[fuzz_take(b, 1) % k];
        p.delta = small[fuzz_take(b, 1) % k];
        p.ftol = small[fuzz_take(b, 1) % k];
        p.wolfe = small[fuzz_take(b, 1) % k];
        p.min_step = small[fuzz_take(b, 1) % k];
        p.max_step = small[fuzz_take(b, 1) % k];
    }
    clv_lbfgs_objective obj;
    memset(&obj, 0, sizeof obj);
    obj.source = lbfgs_source;
    clv_lbfgs *probe = (clv_lbfgs *)calloc(1, sizeof *probe);
    FUZZ_CHECK(probe != NULL, "out of memory");
    probe->mesh = mesh;
    probe->param = clv_lbfgs_parameter_resolve(&p);
    probe->n = n;
    probe->objective = obj;
    clv_status want = clv_lbfgs__check_parameter(probe, &probe->param);
    check_status(want, probe->message, sizeof probe->message, "clv_lbfgs__check_parameter");
    int n_ok = n >= 1 && n <= ((size_t)1 << 24);
    if (want == CLV_OK && n_ok) {
        /* valid: the compiler options it would build with fit their buffer */
        char options[4096];
        clv_status st = clv_lbfgs__options(probe, options, sizeof options);
        FUZZ_CHECK(st == CLV_OK, "valid parameters give no build options: %s", probe->message);
    } else {
        clv_lbfgs *s = NULL;
        clv_status st = clv_lbfgs_new(&s, mesh, n, &obj, &p);
        check_status(st, clv_lbfgs_message(s), CLV_LBFGS_MESSAGE_SIZE, "clv_lbfgs_new");
        FUZZ_CHECK(st != CLV_OK, "clv_lbfgs_new accepted what its check refused: n %lu, %s",
                   (unsigned long)n, probe->message);
        clv_lbfgs_free(s);
    }
    free(probe);
}

static void fuzz_lbfgs(fuzz_bytes *b)
{
    if (fuzz_take(b, 1) & 1) {
        fuzz_lbfgs_parameter(b);
        return;
    }
    int tame = (int)fuzz_take(b, 1);
    size_t n_items = (tame & 1) ? (size_t)(fuzz_take(b, 1) % 9) : (size_t)fuzz_take(b, 8);
    double x[8 * LBFGS_N], start[8 * LBFGS_N], fx[8];
    int reason[8], iterations[8], evaluations[8];
    for (int i = 0; i < 8 * LBFGS_N; ++i)
        start[i] = x[i] = (tame & 2) ? fuzz_double(b) : (double)(int8_t)fuzz_take(b, 1) / 8;
    uint8_t outs = (uint8_t)fuzz_take(b, 1);
    clv_lbfgs_items out;
    memset(&out, 0, sizeof out);
    if (outs & 1) out.fx = fx;
    if (outs & 2) out.reason = reason;
    if (outs & 4) out.iterations = iterations;
    if (outs & 8) out.evaluations = evaluations;
    int cancel = (int)(fuzz_take(b, 1) % 4);
    cancel_countdown = cancel;
    if (n_items > 8 && n_items <= 0x7fffffff) n_items = 0x80000000u; /* x holds 8: the refused size instead */
    clv_status st = clv_lbfgs_minimize(lbfgs, n_items, (outs & 16) ? NULL : x, (outs & 32) ? NULL : &out,
                                       cancel ? lbfgs_cancel : NULL, NULL);
    check_status(st, clv_lbfgs_message(lbfgs), CLV_LBFGS_MESSAGE_SIZE, "clv_lbfgs_minimize");
    if (n_items == 0 || n_items > 8 || (outs & 16)) FUZZ_CHECK(st != CLV_OK, "%lu items accepted",
                                                               (unsigned long)n_items);
    if (st == CLV_OK && !(outs & 32)) {
        for (size_t i = 0; i < n_items; ++i) {
            if (out.reason) FUZZ_CHECK(out.reason[i] >= CLV_LBFGSERR_NONFINITE && out.reason[i] <= CLV_LBFGS_ALREADY_MINIMIZED,
                                       "item %lu: reason %d", (unsigned long)i, out.reason[i]);
            if (out.iterations) FUZZ_CHECK(out.iterations[i] >= 0 && out.iterations[i] <= 50,
                                           "item %lu: %d iterations", (unsigned long)i, out.iterations[i]);
            if (out.reason && out.fx && out.reason[i] == CLV_LBFGS_CONVERGENCE)
                FUZZ_CHECK(isfinite(out.fx[i]) && out.fx[i] <= 1e-6, "item %lu converged at f = %g",
                           (unsigned long)i, out.fx[i]);
            int all_finite = 1;
            for (int k = 0; k < LBFGS_N; ++k) all_finite &= isfinite(start[i * LBFGS_N + k]) != 0;
            if (out.reason && !all_finite) FUZZ_CHECK(out.reason[i] == CLV_LBFGSERR_NONFINITE ||
                                                      out.reason[i] == CLV_LBFGSERR_CANCELED,
                                                      "item %lu starts non-finite, ends with reason %d",
                                                      (unsigned long)i, out.reason[i]);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_bytes b = { data, size, 0 };
    switch (fuzz_take(&b, 1) % 4) {
    case 0: fuzz_core(&b); break;
    case 1: fuzz_nss(&b); break;
    case 2: fuzz_nuts(&b); break;
    default: fuzz_lbfgs(&b); break;
    }
    return 0;
}
