/* nss_plots.h — nss.c's pictures (--png DIR), drawn with plot_png.h:
 *   DIR/nss_posterior.png  the weighted samples: x1 against x0 (1-d: log L
 *                          against x0), colour = posterior weight (viridis,
 *                          relative to the largest; the heaviest drawn last)
 *   DIR/nss_evidence.png   top: log Z (dead points) and log Z_live (the live
 *                          points' share) against the iteration, as the
 *                          progress callback saw them, and the final log Z;
 *                          below: log L of the dead points against -log X
 *                          (expected prior volume) and the posterior mass in
 *                          bins of -log X: where the evidence comes from
 * Sizes: nss_posterior.png 640 x 560, nss_evidence.png 900 x 640. */
#ifndef NSS_PLOTS_H
#define NSS_PLOTS_H

#include "clvmap_nss.h"
#include "plot_png.h"

#define NSS_POSTERIOR_W 640
#define NSS_POSTERIOR_H 560
#define NSS_EVIDENCE_W 900
#define NSS_EVIDENCE_H 640
#define NSS_MASS_BINS 80

/* The evidence history, one entry per progress call. */
typedef struct nss_history {
    size_t n, cap;
    double *iteration, *logZ, *logZ_live;
} nss_history;

static inline void nss_history_add(nss_history *h, const clv_nss_progress *p)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 1024;
        double *a = (double *)realloc(h->iteration, cap * sizeof *a);
        if (a) h->iteration = a;
        double *b = a ? (double *)realloc(h->logZ, cap * sizeof *b) : NULL;
        if (b) h->logZ = b;
        double *c = b ? (double *)realloc(h->logZ_live, cap * sizeof *c) : NULL;
        if (c) h->logZ_live = c;
        if (!c) return; /* out of memory: the history stops growing */
        h->cap = cap;
    }
    h->iteration[h->n] = (double)p->iteration;
    h->logZ[h->n] = p->logZ;
    h->logZ_live[h->n] = p->logZ_live;
    ++h->n;
}

static inline void nss_history_free(nss_history *h)
{
    free(h->iteration), free(h->logZ), free(h->logZ_live);
    memset(h, 0, sizeof *h);
}

static inline int nss__write(plot_canvas *c, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
#ifdef CLV_EXAMPLES_PNG
    int ok = plot_write_png(c, path);
    if (ok) printf("  picture: %s\n", path);
    return ok;
#else
    (void)c;
    fprintf(stderr, "nss: %s: this build has no PNG output (libpng was not found)\n", path);
    return 0;
#endif
}

static inline void nss__range(const double *v, size_t n, size_t stride, double *lo, double *hi)
{
    *lo = INFINITY, *hi = -INFINITY;
    for (size_t i = 0; i < n; ++i)
        if (isfinite(v[i * stride])) *lo = fmin(*lo, v[i * stride]), *hi = fmax(*hi, v[i * stride]);
    if (!(*lo <= *hi)) *lo = 0, *hi = 1;
}

typedef struct nss__order { double w; size_t i; } nss__order;
static inline int nss__by_weight(const void *a, const void *b)
{
    double x = ((const nss__order *)a)->w, y = ((const nss__order *)b)->w;
    return x < y ? -1 : x > y;
}

static inline int nss_plot_posterior(const clv_nss_result *r, const char *problem, const char *dir)
{
    plot_canvas c;
    if (!r->n_samples || !plot_canvas_init(&c, NSS_POSTERIOR_W, NSS_POSTERIOR_H, PLOT_WHITE)) return 0;
    const int two = r->dim >= 2;
    const double *xv = r->x, *yv = two ? r->x + 1 : r->loglikelihood;
    size_t stride_y = two ? (size_t)r->dim : 1;
    double xlo, xhi, ylo, yhi, wmax = -INFINITY;
    nss__range(xv, r->n_samples, (size_t)r->dim, &xlo, &xhi);
    nss__range(yv, r->n_samples, stride_y, &ylo, &yhi);
    plot_pad_range(&xlo, &xhi, 0.04);
    plot_pad_range(&ylo, &yhi, 0.04);
    nss__order *o = (nss__order *)malloc(r->n_samples * sizeof *o);
    if (!o) {
        plot_canvas_free(&c);
        return 0;
    }
    for (size_t i = 0; i < r->n_samples; ++i) wmax = fmax(wmax, r->log_weight[i]);
    for (size_t i = 0; i < r->n_samples; ++i) o[i].w = exp(r->log_weight[i] - wmax), o[i].i = i;
    qsort(o, r->n_samples, sizeof *o, nss__by_weight);
    plot_axes ax = plot_axes_at(70, 40, NSS_POSTERIOR_W - 170, NSS_POSTERIOR_H - 90, xlo, xhi, ylo, yhi);
    plot_clip_axes(&c, &ax);
    double radius = r->n_samples > 20000 ? 1 : r->n_samples > 3000 ? 1.5 : 2.5;
    for (size_t k = 0; k < r->n_samples; ++k) {
        size_t i = o[k].i;
        plot_disc(&c, plot_px(&ax, xv[i * r->dim]), plot_py(&ax, yv[i * stride_y]), radius, plot_viridis(o[k].w));
    }
    free(o);
    char title[256];
    snprintf(title, sizeof title, "%s, %d-d: %zu samples coloured by weight (ESS %.0f)", problem, r->dim,
             r->n_samples, r->ess);
    plot_axes_draw(&c, &ax, title, "x0", two ? "x1" : "log L");
    /* the colour bar */
    plot_axes bar = plot_axes_at(NSS_POSTERIOR_W - 70, 40, 16, NSS_POSTERIOR_H - 90, 0, 1, 0, 1);
    for (int j = 0; j < bar.h; ++j) plot_fill_rect(&c, bar.x, bar.y + j, bar.w, 1, plot_viridis(1 - (double)j / (bar.h - 1)));
    plot_frame(&c, bar.x, bar.y, bar.w, bar.h, PLOT_BLACK);
    for (int t = 0; t <= 4; ++t) {
        char lab[16];
        int py = (int)lround(plot_py(&bar, t / 4.0));
        snprintf(lab, sizeof lab, "%.2g", t / 4.0);
        plot_fill_rect(&c, bar.x + bar.w, py, 4, 1, PLOT_BLACK);
        plot_text(&c, bar.x + bar.w + 7, py - 3, lab, 1, PLOT_BLACK);
    }
    plot_text_up(&c, bar.x - 12, bar.y + bar.h / 2, "weight / largest weight", 1, PLOT_BLACK);
    int ok = nss__write(&c, dir, "nss_posterior.png");
    plot_canvas_free(&c);
    return ok;
}

/* -log X of every sample, expected: the j-th of the num_delete points an
 * iteration removes shrinks the volume by 1 / (n_live - j) in log; the
 * final live points share what is left. */
static inline void nss__minus_log_x(const clv_nss_result *r, double *t)
{
    size_t dead = r->n_samples > (size_t)r->n_live ? r->n_samples - (size_t)r->n_live : 0;
    int k = r->num_delete > 0 ? r->num_delete : 1;
    double s = 0;
    for (size_t i = 0; i < dead; ++i) t[i] = (s += 1.0 / (r->n_live - (int)(i % (size_t)k)));
    for (size_t m = 0; dead + m < r->n_samples; ++m)
        t[dead + m] = s + log((double)r->n_live / (double)(r->n_live - m));
}

static inline int nss_plot_evidence(const clv_nss_result *r, const nss_history *h, const char *problem, double truth,
                                    const char *dir)
{
    plot_canvas c;
    double *t = (double *)malloc(r->n_samples * sizeof *t), *w = (double *)malloc(NSS_MASS_BINS * sizeof *w);
    if (!t || !w || !plot_canvas_init(&c, NSS_EVIDENCE_W, NSS_EVIDENCE_H, PLOT_WHITE)) {
        free(t), free(w);
        return 0;
    }
    char title[256];
    /* top: the history. Its y range starts 40 below the final log Z: the
     * first iterations' log Z is far below and says little. */
    double lo = r->logZ, hi = r->logZ, xmax = h->n ? h->iteration[h->n - 1] : 1;
    for (size_t i = 0; i < h->n; ++i) {
        if (isfinite(h->logZ[i])) lo = fmin(lo, h->logZ[i]), hi = fmax(hi, h->logZ[i]);
        if (isfinite(h->logZ_live[i])) lo = fmin(lo, h->logZ_live[i]), hi = fmax(hi, h->logZ_live[i]);
    }
    if (isfinite(truth)) lo = fmin(lo, truth), hi = fmax(hi, truth);
    lo = fmax(lo, r->logZ - 40);
    plot_pad_range(&lo, &hi, 0.05);
    plot_axes top = plot_axes_at(80, 40, NSS_EVIDENCE_W - 110, 230, 0, xmax > 0 ? xmax : 1, lo, hi);
    plot_clip_axes(&c, &top);
    double line_x[2] = { top.x_min, top.x_max }, line_y[2] = { r->logZ, r->logZ };
    plot_polyline(&c, &top, line_x, line_y, 2, PLOT_GREY);
    plot_polyline(&c, &top, h->iteration, h->logZ_live, h->n, plot_palette(1));
    plot_polyline(&c, &top, h->iteration, h->logZ, h->n, plot_palette(0));
    int n = snprintf(title, sizeof title, "%s, %d-d: log Z = %.3f +- %.3f after %ld iterations", problem, r->dim,
                     r->logZ, r->logZ_error, r->iterations);
    if (isfinite(truth) && n > 0 && (size_t)n < sizeof title)
        snprintf(title + n, sizeof title - (size_t)n, " (analytic %.3f)", truth);
    plot_axes_draw(&c, &top, title, "iteration", "log Z");
    /* the legend at the bottom right, where log Z has risen above it */
    int lx = top.x + top.w - 410, ly = top.y + top.h - 18;
    plot_fill_rect(&c, lx - 6, ly - 4, 404, 15, PLOT_WHITE);
    plot_frame(&c, lx - 6, ly - 4, 404, 15, PLOT_LIGHT);
    lx = plot_legend_entry(&c, lx, ly, "log Z (dead points)", plot_palette(0));
    lx = plot_legend_entry(&c, lx, ly, "log Z_live", plot_palette(1));
    plot_legend_entry(&c, lx, ly, "final log Z", PLOT_GREY);

    /* below: log L and the weights against -log X */
    nss__minus_log_x(r, t);
    /* the posterior mass in NSS_MASS_BINS bins of -log X (w: the bins) */
    double llo, lhi, tmax = r->n_samples ? t[r->n_samples - 1] : 1, mass_top = 0;
    if (!(tmax > 0)) tmax = 1;
    for (int b = 0; b < NSS_MASS_BINS; ++b) w[b] = 0;
    for (size_t i = 0; i < r->n_samples; ++i) {
        int b = (int)(t[i] / tmax * NSS_MASS_BINS);
        w[b < 0 ? 0 : b >= NSS_MASS_BINS ? NSS_MASS_BINS - 1 : b] += exp(r->log_weight[i]);
    }
    for (int b = 0; b < NSS_MASS_BINS; ++b) mass_top = fmax(mass_top, w[b]);
    nss__range(r->loglikelihood, r->n_samples, 1, &llo, &lhi);
    /* the first dead points can lie far below the rest: 1% of them, and
     * anything 100 below the top, off the bottom */
    if (r->n_samples > 100) llo = r->loglikelihood[r->n_samples / 100];
    llo = fmax(llo, lhi - 100);
    plot_pad_range(&llo, &lhi, 0.05);
    int pw = (NSS_EVIDENCE_W - 110 - 70) / 2;
    plot_axes left = plot_axes_at(80, 340, pw, 250, 0, tmax, llo, lhi);
    plot_axes right = plot_axes_at(80 + pw + 70, 340, pw, 250, 0, tmax, 0, 1.05);
    double radius = r->n_samples > 5000 ? 1 : 1.5;
    plot_clip_axes(&c, &left);
    for (size_t i = 0; i < r->n_samples; ++i)
        plot_disc(&c, plot_px(&left, t[i]), plot_py(&left, r->loglikelihood[i]), radius, plot_palette(0));
    plot_axes_draw(&c, &left, "log L of the samples", "-log X (prior volume, expected)", "log L");
    plot_clip_axes(&c, &right);
    for (int b = 0; b < NSS_MASS_BINS; ++b) {
        int x0 = (int)lround(plot_px(&right, tmax * b / NSS_MASS_BINS));
        int x1 = (int)lround(plot_px(&right, tmax * (b + 1) / NSS_MASS_BINS));
        int y0 = (int)lround(plot_py(&right, mass_top > 0 ? w[b] / mass_top : 0));
        plot_fill_rect(&c, x0, y0, x1 - x0 > 1 ? x1 - x0 - 1 : 1, right.y + right.h - y0, plot_palette(2));
    }
    plot_axes_draw(&c, &right, "posterior mass (sum of weights) per bin", "-log X (prior volume, expected)",
                   "mass / largest bin");
    free(t), free(w);
    int ok = nss__write(&c, dir, "nss_evidence.png");
    plot_canvas_free(&c);
    return ok;
}

/* Both pictures into dir; 0 on a failure (reported). */
static inline int nss_plots_write(const clv_nss_result *r, const nss_history *h, const char *problem, double truth,
                                  const char *dir)
{
    int ok = nss_plot_posterior(r, problem, dir);
    return nss_plot_evidence(r, h, problem, truth, dir) && ok;
}

#endif /* NSS_PLOTS_H */
