/* The inversion likelihood of examples/nss_inversion.c and its test and
 * benchmark: a linear inversion per particle, as PyAutoLens does for a
 * pixelised source (the case the PyAutoFit NSS PRs in shared/seeds/ were
 * written for), in a form small enough to read.
 *
 * The model. A source of n = side x side pixels s is blurred by a Gaussian
 * PSF (width 1 pixel, cut at 3) into an image of m = n pixels, A s, plus a
 * background b, plus noise of sigma: d = A s + b 1 + noise. The source is
 * unknown and is marginalised over a Gaussian prior with precision lambda H
 * (H the 4-neighbour graph Laplacian of the grid + 1e-3 I, a curvature
 * regulariser); theta = (log10 lambda, b) are the particle's parameters. With
 *   F = A^T A / sigma^2   (n x n, shared),  D(b) = A^T (d - b 1) / sigma^2,
 *   M = F + lambda H      (n x n, per particle: SPD),
 * the Bayesian evidence of the linear inversion (Suyu et al. 2006, eq. 19;
 * Dye & Warren 2005) is
 *   -2 log L(theta) = |d - b 1|^2 / sigma^2 - D^T M^-1 D + log det M
 *                     - n log lambda - log det H + m log(2 pi sigma^2),
 * (chi^2 + lambda s^T H s = |d - b1|^2/sigma^2 - D^T s at the most probable
 * source s = M^-1 D). The likelihood builds M in its work space with D as
 * an extra row n, and factors that (n + 1) x n matrix M = L L^T (Cholesky):
 * the factor's last row is z = L^-1 D, so D^T M^-1 D = z^T z with no
 * triangular solve, and log det M = 2 sum log L_ii. Work space per
 * particle: n x n + n values; everything else (F, H, A^T d, A^T 1) is
 * shared data.
 *
 * The Cholesky is left-looking in block columns of INV_NB = 32: each block
 * column first loses what the columns before it contribute, as 4 x 4 tiles
 * of dot products (eight-wide vectors: the n^3/6 multiply-adds run as
 * register-blocked SIMD from cache; a whole evaluation at n = 1024 runs at
 * ~46 % of one core's f64 peak on PoCL), then its diagonal block is
 * factored and the rows below are solved against it. The same OpenCL C source runs as one work item per
 * particle (the plain form) and as one work group per particle
 * (clv_nss_problem.cooperative: -DCLV_NSS_GROUP): there each lane takes
 * groups of four rows for the tiles and for the solve, lane 0
 * the diagonal block, three barriers per block; the two sums are group
 * sums. Every factor entry is summed in an order fixed by n and INV_NB, so
 * the factor's bits do not depend on the lanes.
 *
 * The reference log Z: log L is quadratic in b for a fixed lambda, so the
 * b integral is a Gaussian one (erf for the prior's edges), and lambda is
 * integrated by the trapezoid rule over inv_quad_points values of log10
 * lambda, each with one Cholesky on the host (inv_reference_logz). */
#ifndef NSS_INVERSION_H
#define NSS_INVERSION_H

#include "clvmap_nss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The prior box: log10 lambda in [INV_LOGLAM_LO, INV_LOGLAM_HI], b in [-INV_B_MAX, INV_B_MAX]. */
#define INV_LOGLAM_LO (-2.0)
#define INV_LOGLAM_HI 4.0
#define INV_B_MAX 1.0
/* data: header values, then F, H (n x n each), A^T d / sigma^2, A^T 1 / sigma^2 (n each) */
#define INV_HEADER 8

/* The OpenCL C source, in pieces under C99's 4095-character limit on a
 * string literal; inv_problem_make joins them into inv_problem.source. */
static const char *const nss_inversion_parts[] = {
    "// compiled with -DINV_N=n (the source pixels), data as nss_inversion.h says\n"
    "#define HDR 8\n"
    "// a[0..len-1] . b[0..len-1], four at a time (vector types: SIMD on CPUs)\n"
    "inline clv_real dot_prefix(__global const clv_real *a, __global const clv_real *b, int len) {\n"
    "    clv_real4 acc = (clv_real4)(0);\n"
    "    int k = 0;\n"
    "    for (; k + 4 <= len; k += 4) acc += vload4(0, a + k) * vload4(0, b + k);\n"
    "    clv_real s = (acc.x + acc.y) + (acc.z + acc.w);\n"
    "    for (; k < len; ++k) s += a[k] * b[k];\n"
    "    return s;\n"
    "}\n"
    "#ifndef INV_NB\n"
    "#define INV_NB 32\n"
    "#endif\n"
    "#if INV_NB % 8\n"
    "#error INV_NB must be a multiple of 8\n"
    "#endif\n"
    "// L(i, col) -= the eight lanes of acc summed, if (i, col) is in the\n"
    "// lower triangle of the rows < rows and the columns < c1.\n"
    "inline void tile_put(__global clv_real *L, int n, int rows, int c1, int i, int col, clv_real8 acc) {\n"
    "    if (i >= rows || col >= c1 || col > i) return;\n"
    "    const clv_real4 h = acc.lo + acc.hi;\n"
    "    L[(size_t)i * n + col] -= (h.x + h.y) + (h.z + h.w);\n"
    "}\n"
    "// L(i, c) -= sum_{k < k1} L(i, k) L(c, k) for the rows i0..i0+3 and the\n"
    "// columns c0..c0+3 (tile_put says which are written): 16 sums of eight\n"
    "// lanes each, eight values of k at a time (k1 a multiple of 8). Named\n"
    "// variables, not arrays: PoCL keeps arrays on the stack here.\n"
    "#define TILE_ROW(r) c##r##0 += x##r * y0; c##r##1 += x##r * y1; c##r##2 += x##r * y2; c##r##3 += x##r * y3\n"
    "#define TILE_PUT(r) tile_put(L, n, rows, c1, i0 + r, c0, c##r##0); tile_put(L, n, rows, c1, i0 + r, c0 + 1, c##r##1); \\\n"
    "    tile_put(L, n, rows, c1, i0 + r, c0 + 2, c##r##2); tile_put(L, n, rows, c1, i0 + r, c0 + 3, c##r##3)\n"
    "inline void tile_update(__global clv_real *L, int n, int rows, int i0, int c0, int c1, int k1) {\n"
    "    __global const clv_real *a0 = L + (size_t)min(i0, rows - 1) * n, *a1 = L + (size_t)min(i0 + 1, rows - 1) * n;\n"
    "    __global const clv_real *a2 = L + (size_t)min(i0 + 2, rows - 1) * n, *a3 = L + (size_t)min(i0 + 3, rows - 1) * n;\n"
    "    __global const clv_real *b0 = L + (size_t)min(c0, c1 - 1) * n, *b1 = L + (size_t)min(c0 + 1, c1 - 1) * n;\n"
    "    __global const clv_real *b2 = L + (size_t)min(c0 + 2, c1 - 1) * n, *b3 = L + (size_t)min(c0 + 3, c1 - 1) * n;\n"
    "    clv_real8 c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;\n"
    "    clv_real8 c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;\n"
    "    for (int k = 0; k < k1; k += 8) {\n"
    "        const clv_real8 x0 = vload8(0, a0 + k), x1 = vload8(0, a1 + k), x2 = vload8(0, a2 + k), x3 = vload8(0, a3 + k);\n"
    "        const clv_real8 y0 = vload8(0, b0 + k), y1 = vload8(0, b1 + k), y2 = vload8(0, b2 + k), y3 = vload8(0, b3 + k);\n"
    "        TILE_ROW(0); TILE_ROW(1); TILE_ROW(2); TILE_ROW(3);\n"
    "    }\n"
    "    TILE_PUT(0); TILE_PUT(1); TILE_PUT(2); TILE_PUT(3);\n"
    "}\n",
    "// Rows i..i+3's columns j0..j1-1 of the factor, given the diagonal\n"
    "// block's: L(i, j) = (L(i, j) - sum_{j0 <= k < j} L(i, k) L(j, k)) / L(j, j),\n"
    "// summed as dot_prefix does; four rows at once for four independent\n"
    "// chains. A row past the last is read as row j1 - 1 (finished, in the\n"
    "// lower triangle) and not written.\n"
    "inline void solve_rows(__global clv_real *L, int n, int rows, int i, int j0, int j1) {\n"
    "    __global clv_real *p0 = L + (size_t)i * n;\n"
    "    __global clv_real *p1 = L + (size_t)(i + 1 < rows ? i + 1 : j1 - 1) * n;\n"
    "    __global clv_real *p2 = L + (size_t)(i + 2 < rows ? i + 2 : j1 - 1) * n;\n"
    "    __global clv_real *p3 = L + (size_t)(i + 3 < rows ? i + 3 : j1 - 1) * n;\n"
    "    for (int j = j0; j < j1; ++j) {\n"
    "        __global const clv_real *Lj = L + (size_t)j * n;\n"
    "        clv_real4 a0 = 0, a1 = 0, a2 = 0, a3 = 0;\n"
    "        int k = j0;\n"
    "        for (; k + 4 <= j; k += 4) {\n"
    "            const clv_real4 v = vload4(0, Lj + k);\n"
    "            a0 += vload4(0, p0 + k) * v;\n"
    "            a1 += vload4(0, p1 + k) * v;\n"
    "            a2 += vload4(0, p2 + k) * v;\n"
    "            a3 += vload4(0, p3 + k) * v;\n"
    "        }\n"
    "        clv_real s0 = (a0.x + a0.y) + (a0.z + a0.w), s1 = (a1.x + a1.y) + (a1.z + a1.w);\n"
    "        clv_real s2 = (a2.x + a2.y) + (a2.z + a2.w), s3 = (a3.x + a3.y) + (a3.z + a3.w);\n"
    "        for (; k < j; ++k) {\n"
    "            s0 += p0[k] * Lj[k];\n"
    "            s1 += p1[k] * Lj[k];\n"
    "            s2 += p2[k] * Lj[k];\n"
    "            s3 += p3[k] * Lj[k];\n"
    "        }\n"
    "        const clv_real v0 = (p0[j] - s0) / Lj[j], v1 = (p1[j] - s1) / Lj[j];\n"
    "        const clv_real v2 = (p2[j] - s2) / Lj[j], v3 = (p3[j] - s3) / Lj[j];\n"
    "        p0[j] = v0;\n"
    "        if (i + 1 < rows) p1[j] = v1;\n"
    "        if (i + 2 < rows) p2[j] = v2;\n"
    "        if (i + 3 < rows) p3[j] = v3;\n"
    "    }\n"
    "}\n"
    "// The diagonal block's factor, columns j0..j1-1, in one work item.\n"
    "inline void factor_block(__global clv_real *L, int n, int j0, int j1) {\n"
    "    for (int j = j0; j < j1; ++j) {\n"
    "        __global clv_real *Lj = L + (size_t)j * n;\n"
    "        Lj[j] = sqrt(Lj[j] - dot_prefix(Lj + j0, Lj + j0, j - j0));\n"
    "        for (int i = j + 1; i < j1; ++i) {\n"
    "            __global clv_real *Li = L + (size_t)i * n;\n"
    "            Li[j] = (Li[j] - dot_prefix(Li + j0, Lj + j0, j - j0)) / Lj[j];\n"
    "        }\n"
    "    }\n"
    "}\n",
    "#ifdef CLV_NSS_GROUP\n"
    "#define LANE ((int)clv_lane())\n"
    "#define LANES ((int)clv_lanes())\n"
    "#define SYNC() barrier(CLK_GLOBAL_MEM_FENCE)\n"
    "#define SUM(v) clv_group_sum((v), tmp)\n"
    "clv_real loglikelihood(const clv_real *x, __global const clv_real *data,\n"
    "                       __global clv_real *work, __local clv_real *tmp)\n"
    "#else\n"
    "#define LANE 0\n"
    "#define LANES 1\n"
    "#define SYNC() ((void)0)\n"
    "#define SUM(v) (v)\n"
    "clv_real loglikelihood(const clv_real *x, __global const clv_real *data,\n"
    "                       __global clv_real *work)\n"
    "#endif\n"
    "{\n"
    "    const int n = INV_N;\n"
    "    const clv_real lam = pow((clv_real)10, x[0]), b = x[1];\n"
    "    __global const clv_real *F = data + HDR, *H = F + (size_t)n * n;\n"
    "    __global const clv_real *D0 = H + (size_t)n * n, *a1 = D0 + n;\n"
    "    __global clv_real *L = work, *r = work + (size_t)n * n;\n"
    "    // M = F + lambda H (lower triangle) and, as row n, the right-hand side\n"
    "    // D(b): the factor of that n + 1 row matrix has z = L^-1 D as its last\n"
    "    // row, and D^T M^-1 D = z^T z, so no triangular solve is needed.\n"
    "    for (int i = LANE; i < n; i += LANES) {\n"
    "        for (int j = 0; j <= i; ++j) L[i * n + j] = F[i * n + j] + lam * H[i * n + j];\n"
    "        r[i] = D0[i] - b * a1[i];\n"
    "    }\n"
    "    SYNC();\n"
    "    // Cholesky, left-looking in block columns of INV_NB: (1) the block\n"
    "    // column less what the columns before it contribute (4 x 4 tiles, each\n"
    "    // lane a group of four rows: the GEMM-shaped bulk of the work, read from\n"
    "    // cache), (2) the diagonal block's factor in one lane, (3) the rows below\n"
    "    // it, four per lane at a time. Three barriers per block. Each value is\n"
    "    // summed in an order fixed by n and INV_NB, whatever the lanes. Not\n"
    "    // positive definite: sqrt gives NaN, which runs through to the end.\n"
    "    const int rows = n + 1;\n"
    "    for (int j0 = 0; j0 < n; j0 += INV_NB) {\n"
    "        const int j1 = min(j0 + INV_NB, n);\n"
    "        if (j0 > 0)\n"
    "            for (int i0 = j0 + 4 * LANE; i0 < rows; i0 += 4 * LANES)\n"
    "                for (int c0 = j0; c0 < j1 && c0 <= i0 + 3; c0 += 4)\n"
    "                    tile_update(L, n, rows, i0, c0, j1, j0);\n"
    "        SYNC();\n"
    "        if (LANE == 0) factor_block(L, n, j0, j1);\n"
    "        SYNC();\n"
    "        for (int i = j1 + 4 * LANE; i < rows; i += 4 * LANES) solve_rows(L, n, rows, i, j0, j1);\n"
    "        SYNC();\n"
    "    }\n"
    "    clv_real q = 0, logdet = 0;\n"
    "    for (int i = LANE; i < n; i += LANES) {\n"
    "        q += r[i] * r[i];\n"
    "        logdet += log(L[i * n + i]);\n"
    "    }\n"
    "    q = SUM(q);\n"
    "    logdet = SUM(logdet);\n"
    "    const clv_real dd = data[2] - 2 * b * data[3] + b * b * data[4];\n"
    "    const clv_real v = (clv_real)-0.5 * (dd - q + 2 * logdet - n * log(lam) - data[1] + data[5]);\n"
    "    return isfinite(v) ? v : -INFINITY;\n"
    "}\n"
    "clv_real logprior(const clv_real *x, __global const clv_real *data) {\n"
    "    if (!(x[0] >= data[6] && x[0] <= data[7] && fabs(x[1]) <= 1)) return -INFINITY;\n"
    "    return -log((data[7] - data[6]) * 2);\n"
    "}\n"
    "void prior_transform(const clv_real *u, clv_real *x, __global const clv_real *data) {\n"
    "    x[0] = data[6] + (data[7] - data[6]) * u[0];\n"
    "    x[1] = 2 * u[1] - 1;\n"
    "}\n",
    NULL,
};

typedef struct inv_problem {
    int side, n;          /* n = side^2 source pixels = image pixels */
    double *data;         /* INV_HEADER + 2 n^2 + 2 n values (the source's data) */
    char *source;         /* nss_inversion_parts joined */
    size_t n_data;
    double sigma, b_true;
} inv_problem;

/* splitmix64 and Box-Muller: the noise (numbers nobody here chose). */
static inline double inv__normal(unsigned long long *state)
{
    double u[2];
    for (int k = 0; k < 2; ++k) {
        unsigned long long z = (*state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        u[k] = ((double)(z >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

/* Lower Cholesky factor of the n x n matrix a (row-major) in l; 0 when not
 * positive definite. The host's reference, and log det H. */
static inline int inv_cholesky(const double *a, int n, double *l)
{
    for (int j = 0; j < n; ++j) {
        double s = a[(size_t)j * n + j];
        for (int k = 0; k < j; ++k) s -= l[(size_t)j * n + k] * l[(size_t)j * n + k];
        if (!(s > 0)) return 0;
        l[(size_t)j * n + j] = sqrt(s);
        for (int i = j + 1; i < n; ++i) {
            double t = a[(size_t)i * n + j];
            for (int k = 0; k < j; ++k) t -= l[(size_t)i * n + k] * l[(size_t)j * n + k];
            l[(size_t)i * n + j] = t / l[(size_t)j * n + j];
        }
    }
    return 1;
}

/* v^T M^-1 w with M = l l^T (tmp: 2 n values). */
static inline double inv__quad(const double *l, int n, const double *v, const double *w, double *tmp)
{
    double *y = tmp, *z = tmp + n, s = 0;
    for (int pass = 0; pass < 2; ++pass) {
        const double *rhs = pass ? w : v;
        double *out = pass ? z : y;
        for (int i = 0; i < n; ++i) {
            double t = rhs[i];
            for (int k = 0; k < i; ++k) t -= l[(size_t)i * n + k] * out[k];
            out[i] = t / l[(size_t)i * n + i];
        }
    }
    for (int i = 0; i < n; ++i) s += y[i] * z[i];
    return s;
}

/* nss_inversion_parts as one string (malloc'd); NULL when memory ran out. */
static inline char *inv__join_source(void)
{
    size_t size = 1;
    for (int k = 0; nss_inversion_parts[k]; ++k) size += strlen(nss_inversion_parts[k]);
    char *text = (char *)malloc(size);
    if (!text) return NULL;
    text[0] = 0;
    for (int k = 0; nss_inversion_parts[k]; ++k) strcat(text, nss_inversion_parts[k]);
    return text;
}

/* Build the problem for a side x side grid; 0 when host memory ran out. */
static inline int inv_problem_make(inv_problem *p, int side)
{
    memset(p, 0, sizeof *p);
    const int n = side * side, radius = 3;
    const double sigma = 0.05, b_true = 0.2, psf_width = 1.0;
    p->side = side;
    p->n = n;
    p->sigma = sigma;
    p->b_true = b_true;
    p->n_data = INV_HEADER + 2 * (size_t)n * n + 2 * (size_t)n;
    p->data = (double *)calloc(p->n_data, sizeof(double));
    double *src = (double *)calloc((size_t)n, sizeof(double)), *img = (double *)calloc((size_t)n, sizeof(double));
    double *l = (double *)calloc((size_t)n * n, sizeof(double));
    p->source = inv__join_source();
    if (!p->data || !src || !img || !l || !p->source) {
        free(src);
        free(img);
        free(l);
        free(p->data);
        free(p->source);
        p->data = NULL;
        p->source = NULL;
        return 0;
    }
    double *F = p->data + INV_HEADER, *H = F + (size_t)n * n, *D0 = H + (size_t)n * n, *a1 = D0 + n;
    double psf[7][7], norm = 0;
    for (int dy = -radius; dy <= radius; ++dy)
        for (int dx = -radius; dx <= radius; ++dx)
            norm += psf[dy + radius][dx + radius] = exp(-0.5 * (dx * dx + dy * dy) / (psf_width * psf_width));
    for (int k = 0; k < 49; ++k) psf[k / 7][k % 7] /= norm;
    /* the true source: two blobs */
    for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x) {
            double u = (x + 0.5) / side, v = (y + 0.5) / side;
            src[y * side + x] = exp(-((u - 0.35) * (u - 0.35) + (v - 0.4) * (v - 0.4)) / 0.02) +
                                0.6 * exp(-((u - 0.7) * (u - 0.7) + (v - 0.65) * (v - 0.65)) / 0.01);
        }
    /* image pixel p sees source pixel q through psf(p - q); F_ij = sum_p A_pi A_pj / sigma^2 */
    unsigned long long state = 20261203ULL;
    double dd = 0, d1 = 0;
    for (int py = 0; py < side; ++py)
        for (int px = 0; px < side; ++px) {
            int q[49];
            double w[49];
            int nq = 0;
            for (int dy = -radius; dy <= radius; ++dy)
                for (int dx = -radius; dx <= radius; ++dx) {
                    int sx = px - dx, sy = py - dy;
                    if (sx < 0 || sy < 0 || sx >= side || sy >= side) continue;
                    q[nq] = sy * side + sx;
                    w[nq++] = psf[dy + radius][dx + radius];
                }
            double model = b_true;
            for (int a = 0; a < nq; ++a) model += w[a] * src[q[a]];
            double d = model + sigma * inv__normal(&state);
            img[py * side + px] = d;
            dd += d * d / (sigma * sigma);
            d1 += d / (sigma * sigma);
            for (int a = 0; a < nq; ++a) {
                D0[q[a]] += w[a] * d / (sigma * sigma);
                a1[q[a]] += w[a] / (sigma * sigma);
                for (int c = 0; c < nq; ++c) F[(size_t)q[a] * n + q[c]] += w[a] * w[c] / (sigma * sigma);
            }
        }
    /* H: the grid's graph Laplacian + 1e-3 I */
    for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x) {
            int i = y * side + x;
            H[(size_t)i * n + i] += 1e-3;
            const int nx[4] = { x - 1, x + 1, x, x }, ny[4] = { y, y, y - 1, y + 1 };
            for (int k = 0; k < 4; ++k) {
                if (nx[k] < 0 || ny[k] < 0 || nx[k] >= side || ny[k] >= side) continue;
                H[(size_t)i * n + i] += 1;
                H[(size_t)i * n + ny[k] * side + nx[k]] -= 1;
            }
        }
    double logdet_h = 0;
    if (inv_cholesky(H, n, l))
        for (int i = 0; i < n; ++i) logdet_h += 2 * log(l[(size_t)i * n + i]);
    double *h = p->data;
    h[0] = n;
    h[1] = logdet_h;
    h[2] = dd;
    h[3] = d1;
    h[4] = n / (sigma * sigma);
    h[5] = n * log(6.283185307179586 * sigma * sigma);
    h[6] = INV_LOGLAM_LO;
    h[7] = INV_LOGLAM_HI;
    free(src);
    free(img);
    free(l);
    return 1;
}

static inline void inv_problem_free(inv_problem *p)
{
    free(p->data);
    free(p->source);
    p->data = NULL;
    p->source = NULL;
}

/* log L(log10 lambda, b) on the host (the check of a single value). */
static inline double inv_loglikelihood_host(const inv_problem *p, double loglam, double b)
{
    int n = p->n;
    const double *h = p->data, *F = h + INV_HEADER, *H = F + (size_t)n * n, *D0 = H + (size_t)n * n, *a1 = D0 + n;
    double lam = pow(10, loglam), v = NAN;
    double *m = (double *)malloc((size_t)n * n * sizeof(double)), *l = (double *)calloc((size_t)n * n, sizeof(double));
    double *rhs = (double *)malloc((size_t)n * sizeof(double)), *tmp = (double *)malloc(2 * (size_t)n * sizeof(double));
    if (m && l && rhs && tmp) {
        for (size_t k = 0; k < (size_t)n * n; ++k) m[k] = F[k] + lam * H[k];
        for (int i = 0; i < n; ++i) rhs[i] = D0[i] - b * a1[i];
        if (inv_cholesky(m, n, l)) {
            double logdet = 0;
            for (int i = 0; i < n; ++i) logdet += 2 * log(l[(size_t)i * n + i]);
            double dd = h[2] - 2 * b * h[3] + b * b * h[4];
            v = -0.5 * (dd - inv__quad(l, n, rhs, rhs, tmp) + logdet - n * log(lam) - h[1] + h[5]);
        }
    }
    free(m);
    free(l);
    free(rhs);
    free(tmp);
    return v;
}

/* log of int_{-B}^{B} exp(c0 + c1 b - c2 b^2 / 2) db, c2 > 0. */
static inline double inv__log_gauss_box(double c0, double c1, double c2)
{
    double mu = c1 / c2, s = 1 / sqrt(c2);
    double mass = 0.5 * (erf((INV_B_MAX - mu) / (s * sqrt(2.0))) - erf((-INV_B_MAX - mu) / (s * sqrt(2.0))));
    return c0 + 0.5 * c1 * mu + log(s * sqrt(6.283185307179586) * mass);
}

/* The reference log Z (see the top of this file); NaN when memory ran out. */
static inline double inv_reference_logz(const inv_problem *p, int points)
{
    int n = p->n;
    const double *h = p->data, *F = h + INV_HEADER, *H = F + (size_t)n * n, *D0 = H + (size_t)n * n, *a1 = D0 + n;
    double *m = (double *)malloc((size_t)n * n * sizeof(double)), *l = (double *)calloc((size_t)n * n, sizeof(double));
    double *tmp = (double *)malloc(2 * (size_t)n * sizeof(double)), *f = (double *)malloc((size_t)points * sizeof(double));
    double result = NAN;
    if (m && l && tmp && f) {
        double step = (INV_LOGLAM_HI - INV_LOGLAM_LO) / (points - 1), top = -INFINITY, sum = 0;
        for (int t = 0; t < points; ++t) {
            double lam = pow(10, INV_LOGLAM_LO + t * step);
            for (size_t k = 0; k < (size_t)n * n; ++k) m[k] = F[k] + lam * H[k];
            f[t] = -INFINITY;
            if (!inv_cholesky(m, n, l)) continue;
            double logdet = 0;
            for (int i = 0; i < n; ++i) logdet += 2 * log(l[(size_t)i * n + i]);
            /* -2 log L = dd(b) - q(b) + const, quadratic in b */
            double q00 = inv__quad(l, n, D0, D0, tmp), q01 = inv__quad(l, n, a1, D0, tmp);
            double q11 = inv__quad(l, n, a1, a1, tmp);
            double k0 = -0.5 * (h[2] - q00 + logdet - n * log(lam) - h[1] + h[5]);
            double k1 = h[3] - q01; /* coefficient of b in log L */
            double k2 = h[4] - q11; /* log L has -k2 b^2 / 2 */
            f[t] = inv__log_gauss_box(k0, k1, k2) - log(2 * INV_B_MAX);
            if (f[t] > top) top = f[t];
        }
        for (int t = 0; t < points; ++t) sum += (t == 0 || t == points - 1 ? 0.5 : 1) * exp(f[t] - top);
        result = top + log(sum * step / (INV_LOGLAM_HI - INV_LOGLAM_LO));
    }
    free(m);
    free(l);
    free(tmp);
    free(f);
    return result;
}

/* The sampler for the problem: plain or cooperative. */
static inline clv_status inv_sampler(clv_nss **out, clv_mesh *m, const inv_problem *p, int cooperative)
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
    prob.work_elems = (size_t)p->n * p->n + (size_t)p->n;
    prob.options = options;
    prob.cooperative = cooperative;
    return clv_nss_new(out, m, &prob);
}

#endif
