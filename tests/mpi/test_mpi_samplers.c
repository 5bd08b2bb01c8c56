/* NUTS chains and NSS particle updates over MPI ranks: the same bits as one
 * process (clv_nuts_run and clv_nss_run with opts.share = clv_mpi_share).
 *
 *   test_mpi_samplers --reference FILE    one process: clv_nuts_run and
 *                                         clv_nss_run on CLV_DEVICES's devices
 *   mpirun -np K test_mpi_samplers FILE   the same runs through clvmap_mpi.h;
 *                                         rank 0 writes FILE
 *
 * FILE: every NUTS draw and statistic of 7 chains (uneven over 2 or 3 ranks;
 * adapted metric and step size, divergence and leapfrog totals), then the NSS
 * log Z, its error, the running estimate, every dead and live sample with
 * its log-likelihood, birth threshold and weight, and the counters, for a
 * 3-d Gaussian with num_delete = 20 (7 + 7 + 6 particles per update on 3
 * ranks); then 2 chains and an NSS run with num_delete = 2, so that with 3
 * ranks one rank has no chain and no particle. tests/mpi/run_mpi.sh compares the files byte for byte with one
 * process of the same device count; under MPI, rank 0 also reruns both
 * samplers alone with the plain API and compares, and every rank checks
 * that its gathered result equals rank 0's.
 * The MPI header comes first: it knows no add-on (any order works). */
#include "clvmap_mpi.h"
#include "clvmap_nss.h"
#include "clvmap_nuts.h"
#include "nss_problems.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(CLV_NUTS_SHARE) || !defined(CLV_NSS_SHARE)
#error "clvmap_nuts.h and clvmap_nss.h must offer opts.share (a clv_share)"
#endif

static int failures;
#define CHECK(cond, ...)                                   \
    do {                                                   \
        if (!(cond)) {                                     \
            ++failures;                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);    \
            printf(__VA_ARGS__);                           \
            printf("\n");                                  \
        }                                                  \
    } while (0)

static const char *gauss5 =
    "clv_real logdensity(__global const clv_real *x, __global clv_real *grad,\n"
    "                    __global const clv_real *data) {\n"
    "    clv_real lp = 0;\n"
    "    for (int k = 0; k < CLV_NUTS_DIM; ++k) {\n"
    "        const clv_real s2 = (k + 1) * (k + 1);\n"
    "        lp -= 0.5 * x[k] * x[k] / s2;\n"
    "        grad[k] = -x[k] / s2;\n"
    "    }\n"
    "    return lp;\n"
    "}\n";

enum { CHAINS = 7, DRAWS = 150, WARMUP = 150, DIM = 5 };

static clv_nuts_opts nuts_opts(void)
{
    clv_nuts_opts o;
    memset(&o, 0, sizeof o);
    o.n_chains = CHAINS;
    o.num_warmup = WARMUP;
    o.num_draws = DRAWS;
    o.block = 40;
    o.seed = 11;
    return o;
}

static clv_nuts_opts nuts_opts_few(void)
{
    clv_nuts_opts o = nuts_opts();
    o.n_chains = 2;
    o.num_warmup = 60;
    o.num_draws = 40;
    o.seed = 12;
    return o;
}

static clv_nss_opts nss_opts_few(long chunk)
{
    clv_nss_opts o;
    memset(&o, 0, sizeof o);
    o.n_live = 40;
    o.num_delete = 2;
    o.chunk = chunk;
    o.seed = 8;
    return o;
}

static clv_nss_opts nss_opts(long chunk)
{
    clv_nss_opts o;
    memset(&o, 0, sizeof o);
    o.n_live = 200;
    o.num_delete = 20;
    o.chunk = chunk;
    o.seed = 7;
    return o;
}

/* A growing byte buffer: the file's content. */
typedef struct bytes {
    char *data;
    size_t size, capacity;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
    if (b->size + n > b->capacity) {
        b->capacity = 2 * (b->size + n);
        b->data = (char *)realloc(b->data, b->capacity);
        if (!b->data) {
            printf("FAIL: out of memory\n");
            exit(1);
        }
    }
    memcpy(b->data + b->size, p, n);
    b->size += n;
}

static void put_nuts(bytes *b, const clv_nuts_result *r)
{
    size_t c = (size_t)r->n_chains, n = (size_t)r->num_draws, d = (size_t)r->dim;
    int head[4] = { r->n_chains, r->num_draws, r->num_warmup, r->dim };
    put(b, head, sizeof head);
    put(b, r->draws, c * n * d * sizeof(double));
    put(b, r->lp, c * n * sizeof(double));
    put(b, r->accept_stat, c * n * sizeof(double));
    put(b, r->step_size, c * n * sizeof(double));
    put(b, r->tree_depth, c * n * sizeof(int));
    put(b, r->n_leapfrog, c * n * sizeof(int));
    put(b, r->divergent, c * n * sizeof(int));
    put(b, r->energy, c * n * sizeof(double));
    put(b, r->inv_mass, c * d * sizeof(double));
    put(b, r->final_step_size, c * sizeof(double));
    put(b, r->init_tries, c * sizeof(int));
    uint64_t totals[2] = { r->n_divergent, r->n_leapfrog_total };
    put(b, totals, sizeof totals);
}

static void put_nss(bytes *b, const clv_nss_result *r)
{
    double z[4] = { r->logZ, r->logZ_error, r->logZ_run, r->ess };
    put(b, z, sizeof z);
    uint64_t counts[6] = { (uint64_t)r->n_samples, r->evaluations, (uint64_t)r->iterations, r->shrink_exhausted,
                           r->nan_loglikelihood, (uint64_t)r->stop };
    put(b, counts, sizeof counts);
    size_t n = r->n_samples;
    put(b, r->x, n * (size_t)r->dim * sizeof(double));
    put(b, r->loglikelihood, n * sizeof(double));
    put(b, r->loglikelihood_birth, n * sizeof(double));
    put(b, r->log_weight, n * sizeof(double));
}

/* Sanity that needs no reference: the samplers did their job. */
static void sanity_nuts(const clv_nuts_result *r)
{
    clv_nuts_summary sm;
    memset(&sm, 0, sizeof sm);
    CHECK(r->n_chains == CHAINS && r->num_draws == DRAWS, "NUTS result shape %d x %d", r->n_chains, r->num_draws);
    CHECK(clv_nuts_summarize_param(r, DIM - 1, &sm) == CLV_OK && sm.sd > 2.5 && sm.sd < 7.5,
          "NUTS: sd of x5 = %g, expected about 5", sm.sd);
    int distinct = 0;
    for (int c = 1; c < r->n_chains; ++c)
        distinct += memcmp(r->draws, r->draws + (size_t)c * DRAWS * DIM, DRAWS * DIM * sizeof(double)) != 0;
    CHECK(distinct == r->n_chains - 1, "NUTS: chains repeat chain 0's draws");
}

static void sanity_nss(const clv_nss_result *r)
{
    const double exact = -3 * log(10.0);
    CHECK(fabs(r->logZ - exact) < 5 * r->logZ_error + 0.3, "NSS: log Z = %.3f +- %.3f, exact %.3f", r->logZ,
          r->logZ_error, exact);
}

#define REQUIRE(cond, msg)                                          \
    do {                                                            \
        if (!(cond)) {                                              \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, (msg));  \
            exit(1);                                                \
        }                                                           \
    } while (0)

/* One process, the plain API. */
static void reference(clv_mesh *m, bytes *out)
{
    clv_nuts_model model;
    memset(&model, 0, sizeof model);
    model.source = gauss5;
    model.dim = DIM;
    clv_nuts *nuts;
    clv_status st = clv_nuts_new(&nuts, m, &model);
    REQUIRE(st == CLV_OK, clv_nuts_message(nuts));
    clv_nuts_opts no = nuts_opts();
    clv_nuts_result nr;
    memset(&nr, 0, sizeof nr);
    st = clv_nuts_run(nuts, &no, &nr);
    REQUIRE(st == CLV_OK, clv_nuts_message(nuts));
    sanity_nuts(&nr);
    put_nuts(out, &nr);
    clv_nuts_result_free(&nr);
    no = nuts_opts_few();
    st = clv_nuts_run(nuts, &no, &nr);
    REQUIRE(st == CLV_OK, clv_nuts_message(nuts));
    put_nuts(out, &nr);
    clv_nuts_result_free(&nr);
    clv_nuts_free(nuts);

    clv_nss_problem problem;
    memset(&problem, 0, sizeof problem);
    problem.source = nss_standard_normal_source;
    problem.dim = 3;
    clv_nss *nss;
    st = clv_nss_new(&nss, m, &problem);
    REQUIRE(st == CLV_OK, clv_nss_message(nss));
    clv_nss_opts so = nss_opts(CLV_CHUNK_NONE);
    clv_nss_result sr;
    memset(&sr, 0, sizeof sr);
    st = clv_nss_run(nss, &so, &sr);
    REQUIRE(st == CLV_OK, clv_nss_message(nss));
    sanity_nss(&sr);
    put_nss(out, &sr);
    clv_nss_result_free(&sr);
    so = nss_opts_few(CLV_CHUNK_NONE);
    st = clv_nss_run(nss, &so, &sr);
    REQUIRE(st == CLV_OK, clv_nss_message(nss));
    put_nss(out, &sr);
    clv_nss_result_free(&sr);
    clv_nss_free(nss);
}

#define MREQUIRE(st, mm)                                                                     \
    do {                                                                                     \
        if ((st) != CLV_OK) {                                                                \
            printf("FAIL %s:%d (rank %d): %s\n", __FILE__, __LINE__, clv_mpi_mesh_rank(mm), \
                   clv_mpi_mesh_message(mm));                                                \
            fflush(stdout);                                                                  \
            MPI_Abort(MPI_COMM_WORLD, 1);                                                    \
        }                                                                                    \
    } while (0)

/* A collective add-on call: its status is agreed by the share, so every
 * rank fails together, with the add-on's message. */
#define SREQUIRE(st, message, mm)                                                            \
    do {                                                                                     \
        if ((st) != CLV_OK) {                                                                \
            printf("FAIL %s:%d (rank %d): %s\n", __FILE__, __LINE__, clv_mpi_mesh_rank(mm), \
                   (message));                                                               \
            fflush(stdout);                                                                  \
            MPI_Abort(MPI_COMM_WORLD, 1);                                                    \
        }                                                                                    \
    } while (0)

/* K ranks, clv_mpi_share; every rank gets the whole result. */
static void distributed(clv_mpi_mesh *mm, bytes *out)
{
    clv_mesh *m = clv_mpi_mesh_local(mm);
    clv_nuts_model model;
    memset(&model, 0, sizeof model);
    model.source = gauss5;
    model.dim = DIM;
    clv_nuts *nuts;
    clv_status st = clv_nuts_new(&nuts, m, &model);
    MREQUIRE(clv_mpi_agree(mm, st, "clv_nuts_new", clv_nuts_message(nuts)), mm);
    clv_nuts_opts no = nuts_opts();
    no.chunk = 2; /* the reference runs one launch per device */
    no.share = clv_mpi_share(mm);
    clv_nuts_result nr;
    SREQUIRE(clv_nuts_run(nuts, &no, &nr), clv_nuts_message(nuts), mm);
    put_nuts(out, &nr);
    clv_nuts_result_free(&nr);
    no = nuts_opts_few();
    no.share = clv_mpi_share(mm);
    SREQUIRE(clv_nuts_run(nuts, &no, &nr), clv_nuts_message(nuts), mm);
    put_nuts(out, &nr);
    clv_nuts_result_free(&nr);
    clv_nuts_free(nuts);

    clv_nss_problem problem;
    memset(&problem, 0, sizeof problem);
    problem.source = nss_standard_normal_source;
    problem.dim = 3;
    clv_nss *nss;
    st = clv_nss_new(&nss, m, &problem);
    MREQUIRE(clv_mpi_agree(mm, st, "clv_nss_new", clv_nss_message(nss)), mm);
    clv_nss_opts so = nss_opts(3);
    so.share = clv_mpi_share(mm);
    clv_nss_result sr;
    memset(&sr, 0, sizeof sr);
    SREQUIRE(clv_nss_run(nss, &so, &sr), clv_nss_message(nss), mm);
    put_nss(out, &sr);
    clv_nss_result_free(&sr);
    so = nss_opts_few(1);
    so.share = clv_mpi_share(mm);
    SREQUIRE(clv_nss_run(nss, &so, &sr), clv_nss_message(nss), mm);
    put_nss(out, &sr);
    clv_nss_result_free(&sr);
    clv_nss_free(nss);
}

static int write_file(const char *path, const bytes *b)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(b->data, 1, b->size, f) == b->size;
    return fclose(f) == 0 && ok;
}

int main(int argc, char **argv)
{
    bytes mine = { NULL, 0, 0 }, ref = { NULL, 0, 0 };
    if (argc == 3 && strcmp(argv[1], "--reference") == 0) {
        clv_mesh *m;
        clv_status st = clv_mesh_open(&m, NULL);
        REQUIRE(st == CLV_OK, clv_mesh_message(m));
        printf("reference: one process, %d device(s)\n", clv_mesh_device_count(m));
        reference(m, &ref);
        clv_mesh_close(m);
        CHECK(write_file(argv[2], &ref), "cannot write %s", argv[2]);
        free(ref.data);
        printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
        return failures != 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: test_mpi_samplers --reference FILE | mpirun ... test_mpi_samplers FILE\n");
        return 2;
    }
    MPI_Init(&argc, &argv);
    clv_mpi_mesh *mm;
    MREQUIRE(clv_mpi_mesh_open(&mm, MPI_COMM_WORLD, NULL), mm);
    const int rank = clv_mpi_mesh_rank(mm), size = clv_mpi_mesh_size(mm);
    if (rank == 0) printf("%d rank(s), %d device(s) in all\n", size, clv_mpi_mesh_device_count(mm));
    distributed(mm, &mine);

    /* every rank holds the same result */
    unsigned long long n = mine.size, n0 = n;
    MPI_Bcast(&n0, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
    char *root = (char *)malloc(n0 ? n0 : 1);
    if (rank == 0) memcpy(root, mine.data, n0);
    MPI_Bcast(root, (int)n0, MPI_BYTE, 0, MPI_COMM_WORLD);
    CHECK(n == n0 && memcmp(root, mine.data, n) == 0, "rank %d: its result differs from rank 0's", rank);
    free(root);

    if (rank == 0) {
        reference(clv_mpi_mesh_local(mm), &ref);
        CHECK(ref.size == mine.size && memcmp(ref.data, mine.data, ref.size) == 0,
              "ranks vs rank 0 alone: the samplers' results differ");
        CHECK(write_file(argv[1], &mine), "cannot write %s", argv[1]);
    }
    free(mine.data);
    free(ref.data);
    int total = 0;
    MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("%s: %d failure(s) over %d rank(s)\n", total ? "FAILED" : "PASSED", total, size);
    clv_mpi_mesh_close(mm);
    MPI_Finalize();
    return total != 0;
}
