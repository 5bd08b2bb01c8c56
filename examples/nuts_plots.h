/* nuts_plots.h — nuts.c's pictures (--png DIR), drawn with plot_png.h:
 *   DIR/nuts_trace.png  one panel per parameter: the draws against the
 *                       iteration, one line per chain (colours as in the legend)
 *   DIR/nuts_hist.png   one panel per parameter: the histogram of all chains'
 *                       draws, the mean and the 5% / 95% quantiles marked
 * The parameters: those named in a comma-separated list, else the first
 * NUTS_PLOTS_MAX. Sizes: nuts_trace.png is 900 x (40 + 130 n) pixels,
 * nuts_hist.png 900 x (30 + 200 ceil(n / 3)), n the parameters drawn. */
#ifndef NUTS_PLOTS_H
#define NUTS_PLOTS_H

#include "clvmap_nuts.h"
#include "plot_png.h"

#define NUTS_PLOTS_MAX 6
#define NUTS_PLOTS_WIDTH 900
#define NUTS_TRACE_PANEL 130
#define NUTS_HIST_PANEL 200

/* The parameters to draw: the indices of the names in `only` (comma
 * separated; NULL: the first NUTS_PLOTS_MAX). Returns the count, -1 (and a
 * line on stderr) for a name the model lacks. */
static inline int nuts_plots_pick(const char *only, const char *const *names, int dim, int *pick)
{
    int n = 0;
    if (!only) {
        for (; n < dim && n < NUTS_PLOTS_MAX; ++n) pick[n] = n;
        return n;
    }
    const char *p = only;
    while (*p && n < NUTS_PLOTS_MAX) {
        size_t len = strcspn(p, ",");
        int k = 0;
        while (k < dim && !(strlen(names[k]) == len && strncmp(names[k], p, len) == 0)) ++k;
        if (k == dim) {
            fprintf(stderr, "nuts: --png-params: no parameter %.*s\n", (int)len, p);
            return -1;
        }
        pick[n++] = k;
        p += len + (p[len] == ',');
    }
    return n;
}

static inline double nuts__draw(const clv_nuts_result *r, int chain, int i, int k)
{
    return r->draws[((size_t)chain * r->num_draws + i) * r->dim + k];
}

static inline void nuts__range(const clv_nuts_result *r, int k, double *lo, double *hi)
{
    *lo = INFINITY, *hi = -INFINITY;
    for (int c = 0; c < r->n_chains; ++c)
        for (int i = 0; i < r->num_draws; ++i) {
            double v = nuts__draw(r, c, i, k);
            if (isfinite(v)) *lo = fmin(*lo, v), *hi = fmax(*hi, v);
        }
    if (!(*lo <= *hi)) *lo = 0, *hi = 1;
}

static inline int nuts__write(plot_canvas *c, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
#ifdef CLV_EXAMPLES_PNG
    int ok = plot_write_png(c, path);
    if (ok) printf("wrote %s\n", path);
    return ok;
#else
    (void)c;
    fprintf(stderr, "nuts: %s: this build has no PNG output (libpng was not found)\n", path);
    return 0;
#endif
}

static inline int nuts_plot_trace(const clv_nuts_result *r, const char *const *names, const int *pick, int n,
                           const char *model, const char *dir)
{
    plot_canvas c;
    int W = NUTS_PLOTS_WIDTH, H = 40 + NUTS_TRACE_PANEL * n;
    if (!plot_canvas_init(&c, W, H, PLOT_WHITE)) return 0;
    char title[256];
    snprintf(title, sizeof title, "%s: trace of %d chains x %d draws (after %d warmup)", model, r->n_chains,
             r->num_draws, r->num_warmup);
    plot_text(&c, 70, 8, title, 1, PLOT_BLACK);
    int x = 70 + plot_text_width(title, 1) + 30;
    for (int ch = 0; ch < r->n_chains && x < W - 80; ++ch) {
        char lab[32];
        snprintf(lab, sizeof lab, "chain %d", ch + 1);
        x = plot_legend_entry(&c, x, 8, lab, plot_palette(ch));
    }
    double *xs = (double *)malloc((size_t)r->num_draws * sizeof *xs), *ys = (double *)malloc((size_t)r->num_draws * sizeof *ys);
    for (int i = 0; i < r->num_draws; ++i) xs[i] = i + 1;
    /* with many chains the lines are drawn half transparent */
    double opacity = r->n_chains <= 2 ? 1 : r->n_chains <= 4 ? 0.75 : 0.5;
    for (int p = 0; p < n; ++p) {
        int k = pick[p];
        double lo, hi;
        nuts__range(r, k, &lo, &hi);
        plot_pad_range(&lo, &hi, 0.05);
        int last = p == n - 1;
        plot_axes ax = plot_axes_at(70, 32 + NUTS_TRACE_PANEL * p, W - 90, NUTS_TRACE_PANEL - (last ? 34 : 16),
                                    0.5, r->num_draws + 0.5, lo, hi);
        plot_clip_axes(&c, &ax);
        c.opacity = opacity;
        for (int ch = 0; ch < r->n_chains; ++ch) {
            for (int i = 0; i < r->num_draws; ++i) ys[i] = nuts__draw(r, ch, i, k);
            plot_polyline(&c, &ax, xs, ys, (size_t)r->num_draws, plot_palette(ch));
        }
        c.opacity = 1;
        /* x ticks on every panel; the axis label under the last one */
        plot_axes_draw(&c, &ax, NULL, last ? "iteration (after warmup)" : NULL, names[k]);
    }
    free(xs);
    free(ys);
    int ok = nuts__write(&c, dir, "nuts_trace.png");
    plot_canvas_free(&c);
    return ok;
}

static inline int nuts__by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static inline int nuts_plot_hist(const clv_nuts_result *r, const char *const *names, const int *pick, int n,
                          const char *model, const char *dir)
{
    const int cols = 3, bins = 40;
    int rows = (n + cols - 1) / cols, W = NUTS_PLOTS_WIDTH, H = 30 + NUTS_HIST_PANEL * rows;
    int pw = W / cols;
    size_t total = (size_t)r->n_chains * (size_t)r->num_draws;
    double *v = (double *)malloc(total * sizeof *v);
    plot_canvas c;
    if (!v || !plot_canvas_init(&c, W, H, PLOT_WHITE)) {
        free(v);
        return 0;
    }
    char title[256];
    snprintf(title, sizeof title, "%s: marginal histograms of %zu draws (%d chains); red: mean, grey: 5%% and 95%%",
             model, total, r->n_chains);
    plot_text(&c, 20, 8, title, 1, PLOT_BLACK);
    for (int p = 0; p < n; ++p) {
        int k = pick[p];
        size_t m = 0;
        for (int ch = 0; ch < r->n_chains; ++ch)
            for (int i = 0; i < r->num_draws; ++i) {
                double d = nuts__draw(r, ch, i, k);
                if (isfinite(d)) v[m++] = d;
            }
        qsort(v, m, sizeof *v, nuts__by_value);
        double lo = m ? v[0] : 0, hi = m ? v[m - 1] : 1, mean = 0;
        for (size_t i = 0; i < m; ++i) mean += v[i];
        mean = m ? mean / m : 0;
        if (!(hi > lo)) plot_pad_range(&lo, &hi, 0.05);
        int count[40] = { 0 }, top = 1;
        for (size_t i = 0; i < m; ++i) {
            int b = (int)((v[i] - lo) / (hi - lo) * bins);
            count[b < 0 ? 0 : b >= bins ? bins - 1 : b]++;
        }
        for (int b = 0; b < bins; ++b) top = count[b] > top ? count[b] : top;
        double xlo = lo, xhi = hi;
        plot_pad_range(&xlo, &xhi, 0.03);
        int px = (p % cols) * pw, py = 30 + (p / cols) * NUTS_HIST_PANEL;
        plot_axes ax = plot_axes_at(px + 58, py + 16, pw - 76, NUTS_HIST_PANEL - 62, xlo, xhi, 0, 1.08 * top);
        plot_clip_axes(&c, &ax);
        for (int b = 0; b < bins; ++b) {
            int x0 = (int)lround(plot_px(&ax, lo + (hi - lo) * b / bins));
            int x1 = (int)lround(plot_px(&ax, lo + (hi - lo) * (b + 1) / bins));
            int y0 = (int)lround(plot_py(&ax, count[b]));
            plot_fill_rect(&c, x0, y0, x1 - x0 > 1 ? x1 - x0 - 1 : 1, ax.y + ax.h - y0, plot_palette(0));
        }
        if (m) {
            double q5 = v[(size_t)(0.05 * (m - 1))], q95 = v[(size_t)(0.95 * (m - 1))];
            double marks[3] = { q5, mean, q95 };
            for (int q = 0; q < 3; ++q) {
                double mx = plot_px(&ax, marks[q]);
                plot_line(&c, mx, ax.y, mx, ax.y + ax.h, q == 1 ? plot_palette(3) : PLOT_GREY);
            }
        }
        char sub[128];
        snprintf(sub, sizeof sub, "%s  mean %.3g", names[k], mean);
        plot_axes_draw(&c, &ax, sub, NULL, "draws");
    }
    free(v);
    int ok = nuts__write(&c, dir, "nuts_hist.png");
    plot_canvas_free(&c);
    return ok;
}

/* Both pictures into dir; 0 on a failure (reported). */
static inline int nuts_plots_write(const clv_nuts_result *r, const char *const *names, const char *only,
                            const char *model, const char *dir)
{
    int pick[NUTS_PLOTS_MAX];
    int n = nuts_plots_pick(only, names, r->dim, pick);
    if (n <= 0) return n == 0;
    int ok = nuts_plot_trace(r, names, pick, n, model, dir);
    return nuts_plot_hist(r, names, pick, n, model, dir) && ok;
}

#endif /* NUTS_PLOTS_H */
