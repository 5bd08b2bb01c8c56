/* The inversion likelihood of nss_inversion.h as a batched host callback
 * (clv_nss_problem.evaluate): the sampler hands a chunk of points (log10
 * lambda, b) as device arrays, and the callback evaluates them all with a
 * few launches over the whole chunk:
 *   inv_build   a clvmap map: M_p = F + lambda_p H and r_p = D0 - b_p a1
 *               for every point p, in the point's scratch (n^2 + n values,
 *               plus the block inverse below);
 *   Cholesky    blocked, right-looking, INV_CB_BLOCK columns at a time: the
 *               diagonal block is factored by a clvmap map (inv_diag, one
 *               work item per point, which also inverts it, W = L_kk^-1),
 *               and the two O(n^3) parts are CLBlast strided-batched GEMMs
 *               over all points of the chunk: the panel U = W P^T (kept
 *               transposed, in the upper triangle, so that no GEMM writes
 *               what it reads) and the trailing update A22 -= U^T U;
 *   inv_solve   a clvmap map: the two triangular solves and the value (the
 *               value the problem's source computes from z = L^-1 D).
 * CLBlast has no Cholesky (no potrf) and no batched triangular solve, so
 * the O(n^2) parts stay in maps. Without CLBlast (NSS_INVERSION_CLBLAST
 * undefined) inv_diag factors the whole matrix in one block: the plain
 * form's serial Cholesky, one work item per point.
 *
 * The value rounds differently from the kernel forms (blocked sums), so
 * log Z agrees with theirs within its error, not bitwise; it is bitwise
 * the same for every chunk and device split, since every GEMM's per-point
 * result does not depend on the batch count. */
#ifndef NSS_INVERSION_CALLBACK_H
#define NSS_INVERSION_CALLBACK_H

#ifdef NSS_INVERSION_CLBLAST
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <clblast_c.h>
#endif
#include "nss_inversion.h"

#include <stdio.h>

/* Columns per block of the blocked Cholesky (CLBlast). */
#define INV_CB_BLOCK 32

static const char *const inv_cb_source =
    "// -DINV_N=n -DNB=block -DSTRIDE=scratch values per point\n"
    "#define HDR 8\n"
    "__kernel void inv_build(CLV_ITEMS, __global const clv_real *x, __global const clv_real *data,\n"
    "                        __global clv_real *scratch) {\n"
    "    CLV_GUARD();\n"
    "    const ulong p = clv_local();\n"
    "    const int n = INV_N;\n"
    "    __global clv_real *M = scratch + p * STRIDE, *r = M + (size_t)n * n;\n"
    "    const clv_real lam = pow((clv_real)10, x[2 * p]), b = x[2 * p + 1];\n"
    "    __global const clv_real *F = data + HDR, *H = F + (size_t)n * n;\n"
    "    __global const clv_real *D0 = H + (size_t)n * n, *a1 = D0 + n;\n"
    "    for (size_t k = 0; k < (size_t)n * n; ++k) M[k] = F[k] + lam * H[k];\n"
    "    for (int i = 0; i < n; ++i) r[i] = D0[i] - b * a1[i];\n"
    "}\n"
    "// Factor the nb x nb diagonal block at k in place (lower); with inverse,\n"
    "// W = its inverse (lower, leading dimension NB) after the matrix and r.\n"
    "__kernel void inv_diag(CLV_ITEMS, __global clv_real *scratch, const int k, const int nb,\n"
    "                       const int inverse) {\n"
    "    CLV_GUARD();\n"
    "    const int n = INV_N;\n"
    "    __global clv_real *M = scratch + clv_local() * STRIDE;\n"
    "    __global clv_real *W = M + (size_t)n * n + n;\n"
    "    for (int j = 0; j < nb; ++j) {\n"
    "        __global clv_real *Aj = M + (size_t)(k + j) * n + k;\n"
    "        clv_real s = Aj[j];\n"
    "        for (int q = 0; q < j; ++q) s -= Aj[q] * Aj[q];\n"
    "        Aj[j] = sqrt(s); // not positive definite: NaN, which runs through to the end\n"
    "        const clv_real inv = 1 / Aj[j];\n"
    "        for (int i = j + 1; i < nb; ++i) {\n"
    "            __global clv_real *Ai = M + (size_t)(k + i) * n + k;\n"
    "            clv_real t = Ai[j];\n"
    "            for (int q = 0; q < j; ++q) t -= Ai[q] * Aj[q];\n"
    "            Ai[j] = t * inv;\n"
    "        }\n"
    "    }\n"
    "    if (!inverse) return;\n"
    "    for (int j = 0; j < nb; ++j)\n"
    "        for (int i = 0; i < nb; ++i) {\n"
    "            clv_real t = i == j ? 1 : 0;\n"
    "            if (i < j) { W[i * NB + j] = 0; continue; }\n"
    "            for (int q = j; q < i; ++q) t -= M[(size_t)(k + i) * n + k + q] * W[q * NB + j];\n"
    "            W[i * NB + j] = t / M[(size_t)(k + i) * n + k + i];\n"
    "        }\n"
    "}\n"
    "// L_ij (i >= j): in its block's lower triangle on the diagonal blocks,\n"
    "// transposed in the upper triangle elsewhere\n"
    "#define LIJ(i, j) ((i) / NB == (j) / NB ? M[(size_t)(i) * n + (j)] : M[(size_t)(j) * n + (i)])\n"
    "__kernel void inv_solve(CLV_ITEMS, __global const clv_real *x, __global clv_real *ll,\n"
    "                        __global const clv_real *data, __global clv_real *scratch) {\n"
    "    CLV_GUARD();\n"
    "    const ulong p = clv_local();\n"
    "    const int n = INV_N;\n"
    "    __global clv_real *M = scratch + p * STRIDE, *r = M + (size_t)n * n;\n"
    "    const clv_real lam = pow((clv_real)10, x[2 * p]), b = x[2 * p + 1];\n"
    "    __global const clv_real *D0 = data + HDR + 2 * (size_t)n * n, *a1 = D0 + n;\n"
    "    for (int j = 0; j < n; ++j) {\n"
    "        const clv_real zj = r[j] / M[(size_t)j * n + j];\n"
    "        r[j] = zj;\n"
    "        for (int i = j + 1; i < n; ++i) r[i] -= LIJ(i, j) * zj;\n"
    "    }\n"
    "    for (int i = n - 1; i >= 0; --i) {\n"
    "        const clv_real si = r[i] / M[(size_t)i * n + i];\n"
    "        r[i] = si;\n"
    "        for (int k = 0; k < i; ++k) r[k] -= LIJ(i, k) * si;\n"
    "    }\n"
    "    clv_real q = 0, logdet = 0;\n"
    "    for (int i = 0; i < n; ++i) {\n"
    "        q += (D0[i] - b * a1[i]) * r[i];\n"
    "        logdet += log(M[(size_t)i * n + i]);\n"
    "    }\n"
    "    const clv_real dd = data[2] - 2 * b * data[3] + b * b * data[4];\n"
    "    const clv_real v = (clv_real)-0.5 * (dd - q + 2 * logdet - n * log(lam) - data[1] + data[5]);\n"
    "    ll[p] = isfinite(v) ? v : -INFINITY;\n"
    "}\n";

typedef struct inv_cb {
    clv_program *program;
    int n, nb;        /* matrix size, block (n without CLBlast) */
    size_t stride;    /* scratch values per point: n^2 + n (+ NB^2 for W) */
    int clblast;
} inv_cb;

#ifdef NSS_INVERSION_CLBLAST
/* The panel and the trailing update of block k (kb columns, m rows below)
 * for every point, on every device: two strided-batched GEMMs over the
 * device's points. */
static inline clv_status inv_cb_gemms(const inv_cb *c, const clv_nss_batch *b, int k, int kb, int m)
{
    const size_t n = (size_t)c->n, s = c->stride;
    for (int d = 0; d < clv_mesh_device_count(b->mesh); ++d) {
        size_t first = 0, count = 0;
        cl_mem buf = clv_array_buffer(b->scratch, d, &first, &count);
        if (count == 0) continue;
        cl_command_queue q = clv_mesh_queue(b->mesh, d);
        size_t u = (size_t)k * n + (size_t)k + (size_t)kb, w = n * n + n, panel = ((size_t)k + (size_t)kb) * n + (size_t)k;
        size_t a22 = ((size_t)k + (size_t)kb) * n + (size_t)k + (size_t)kb;
        /* U (kb x m, upper) = W (kb x kb) P^T, P (m x kb) the panel below the block */
        CLBlastStatusCode e = CLBlastDgemmStridedBatched(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes,
                                                         (size_t)kb, (size_t)m, (size_t)kb, 1.0, buf, w,
                                                         (size_t)c->nb, s, buf, panel, n, s, 0.0, buf, u, n, s, count,
                                                         &q, NULL);
        /* A22 (m x m) -= U^T U */
        if (e == CLBlastSuccess)
            e = CLBlastDgemmStridedBatched(CLBlastLayoutRowMajor, CLBlastTransposeYes, CLBlastTransposeNo, (size_t)m,
                                           (size_t)m, (size_t)kb, -1.0, buf, u, n, s, buf, u, n, s, 1.0, buf, a22, n,
                                           s, count, &q, NULL);
        if (e != CLBlastSuccess) {
            snprintf(b->message, b->message_size, "CLBlastDgemmStridedBatched (block %d, device %d): CLBlast status %d",
                     k, d, (int)e);
            return CLV_ERROR_OPENCL;
        }
    }
    return CLV_OK;
}
#endif

/* The callback: every point of the batch, a few launches each. */
static inline clv_status inv_cb_evaluate(void *user, const clv_nss_batch *b)
{
    const inv_cb *c = (const inv_cb *)user;
    clv_status st = CLV_MAP(c->program, "inv_build", b->count, NULL, clv_in(b->x), clv_in(b->data),
                            clv_inout(b->scratch));
    for (int k = 0; st == CLV_OK && k < c->n; k += c->nb) {
        int kb = c->n - k < c->nb ? c->n - k : c->nb, m = c->n - k - kb;
        st = CLV_MAP(c->program, "inv_diag", b->count, NULL, clv_inout(b->scratch), clv_int(k), clv_int(kb),
                     clv_int(c->clblast && m > 0));
#ifdef NSS_INVERSION_CLBLAST
        if (st == CLV_OK && m > 0) {
            clv_status g = inv_cb_gemms(c, b, k, kb, m);
            if (g != CLV_OK) return g;
        }
#endif
    }
    if (st == CLV_OK)
        st = CLV_MAP(c->program, "inv_solve", b->count, NULL, clv_in(b->x), clv_out(b->loglikelihood),
                     clv_in(b->data), clv_inout(b->scratch));
    if (st != CLV_OK) snprintf(b->message, b->message_size, "%s", clv_mesh_message(b->mesh));
    return st;
}

/* The callback's program for mesh m (free c->program with clv_program_free). */
static inline clv_status inv_cb_new(inv_cb *c, clv_mesh *m, const inv_problem *p)
{
    memset(c, 0, sizeof *c);
    c->n = p->n;
#ifdef NSS_INVERSION_CLBLAST
    c->clblast = 1;
    c->nb = p->n < INV_CB_BLOCK ? p->n : INV_CB_BLOCK;
    c->stride = (size_t)p->n * p->n + (size_t)p->n + (size_t)c->nb * c->nb;
#else
    c->nb = p->n;
    c->stride = (size_t)p->n * p->n + (size_t)p->n;
#endif
    char options[128];
    snprintf(options, sizeof options, "-DINV_N=%d -DNB=%d -DSTRIDE=%zu", c->n, c->nb, c->stride);
    clv_program_desc d;
    memset(&d, 0, sizeof d);
    d.source = inv_cb_source;
    d.name = "nss_inversion_callback.h";
    d.options = options;
    d.real = CLV_F64;
    return clv_program_build(&c->program, m, &d);
}

/* The sampler with the callback likelihood (the prior and its transform
 * from the problem's source; c must outlive it). */
static inline clv_status inv_sampler_callback(clv_nss **out, clv_mesh *m, const inv_problem *p, inv_cb *c)
{
    char options[64];
    snprintf(options, sizeof options, "-DINV_N=%d", p->n);
    clv_nss_problem prob;
    memset(&prob, 0, sizeof prob);
    prob.source = p->source;
    prob.name = "nss_inversion.h";
    prob.dim = 2;
    prob.data = p->data;
    prob.n_data = p->n_data;
    prob.work_elems = c->stride;
    prob.options = options;
    prob.evaluate = inv_cb_evaluate;
    prob.user = c;
    return clv_nss_new(out, m, &prob);
}

#endif
