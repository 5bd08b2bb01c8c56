/* survey_plots.h — lbfgs_survey.c's pictures, drawn with plot_png.h, the
 * images in the "afmhot" colours of radio astronomy (black, red, yellow,
 * white), all on the scale 0 .. the truth's brightest pixel (the dirty
 * image on its own):
 *   DIR/survey_contact_sheet.png  every reconstruction of the grid: rows
 *       lambda, columns the prior's FWHM theta, each image labelled with its
 *       reduced chi2; the one whose reduced chi2 is nearest 1 (an imager's
 *       pick) framed red, the one closest to the truth framed green
 *   DIR/survey_images.png  truth, dirty image, reduced chi2 nearest 1,
 *       closest to the truth, side by side, titled
 * Images are enlarged by zoom = max(1, 64 / side) (nearest pixel), so a
 * cell is side * zoom pixels. Sizes (z = side * zoom):
 *   contact sheet  max(330, 110 + n_width (max(z, 60) + 10)) x (86 + n_lambda (z + 26))
 *   images         (4 (max(2 z, 160) + 20) + 20) x (2 z + 70)   (the four at twice the zoom) */
#ifndef SURVEY_PLOTS_H
#define SURVEY_PLOTS_H

#include "plot_png.h"

typedef struct survey_pictures {
    int side, n_lambda, n_width;
    const double *lambda, *theta;    /* per item, item = row * n_width + column */
    const double *images;            /* n_items x side^2 */
    const double *chi2_red;          /* per item */
    const double *truth, *dirty;     /* side^2 each */
    size_t nearest_one, closest;     /* items to frame: reduced chi2 nearest 1, closest to the truth */
} survey_pictures;

static inline int survey__zoom(int side) { return side >= 64 ? 1 : (64 + side - 1) / side; }

/* img (side x side, rows from the top) at (x, y), each pixel zoom x zoom. */
static inline void survey__image(plot_canvas *c, int x, int y, const double *img, int side, int zoom, double top)
{
    for (int j = 0; j < side; ++j)
        for (int i = 0; i < side; ++i)
            plot_fill_rect(c, x + i * zoom, y + j * zoom, zoom, zoom, plot_hot(img[j * side + i] / top));
}

static inline int survey__write(plot_canvas *c, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
#ifdef CLV_EXAMPLES_PNG
    int ok = plot_write_png(c, path);
    if (ok) printf("wrote %s\n", path);
    return ok;
#else
    (void)c;
    printf("%s not written: this build has no PNG output (libpng was not found)\n", path);
    return 1;
#endif
}

static inline double survey__top(const double *v, int n)
{
    double top = 0;
    for (int q = 0; q < n; ++q) top = fmax(top, v[q]);
    return top > 0 ? top : 1;
}

static inline int survey_contact_sheet(const survey_pictures *p, const char *dir)
{
    const int zoom = survey__zoom(p->side), z = p->side * zoom, cw = (z > 60 ? z : 60) + 10, ch = z + 26;
    const int x0 = 110, y0 = 50;
    int W = x0 + p->n_width * cw, H = y0 + p->n_lambda * ch + 36;
    if (W < 330) W = 330; /* room for the legend */
    plot_canvas c;
    if (!plot_canvas_init(&c, W, H, PLOT_WHITE)) return 0;
    double top = survey__top(p->truth, p->side * p->side);
    char buf[64];
    plot_text_centred(&c, x0 + p->n_width * cw / 2, 6, "prior FWHM θ (pixels)", 1, PLOT_BLACK);
    plot_text_up(&c, 6, y0 + p->n_lambda * ch / 2, "regularisation λ", 1, PLOT_BLACK);
    for (int b = 0; b < p->n_width; ++b) {
        snprintf(buf, sizeof buf, "θ %.1f", p->theta[b]);
        plot_text_centred(&c, x0 + b * cw + cw / 2, y0 - 22, buf, 1, PLOT_BLACK);
    }
    for (int a = 0; a < p->n_lambda; ++a) {
        int y = y0 + a * ch;
        snprintf(buf, sizeof buf, "λ %.2g", p->lambda[(size_t)a * p->n_width]);
        plot_text(&c, 22, y + z / 2 - 3, buf, 1, PLOT_BLACK);
        for (int b = 0; b < p->n_width; ++b) {
            size_t item = (size_t)a * p->n_width + b;
            int x = x0 + b * cw + (cw - z) / 2;
            survey__image(&c, x, y, p->images + item * (size_t)p->side * p->side, p->side, zoom, top);
            snprintf(buf, sizeof buf, "χ² %.3g", p->chi2_red[item]);
            plot_text_centred(&c, x0 + b * cw + cw / 2, y + z + 7, buf, 1, PLOT_BLACK);
            if (item == p->closest) {
                plot_frame(&c, x - 3, y - 3, z + 6, z + 6, plot_palette(2));
                plot_frame(&c, x - 2, y - 2, z + 4, z + 4, plot_palette(2));
            }
            if (item == p->nearest_one) {
                plot_frame(&c, x - 5, y - 5, z + 10, z + 10, plot_palette(3));
                plot_frame(&c, x - 4, y - 4, z + 8, z + 8, plot_palette(3));
            }
        }
    }
    int lx = plot_legend_entry(&c, 22, H - 30, "reduced χ² nearest 1", plot_palette(3));
    plot_legend_entry(&c, lx, H - 30, "closest to the truth", plot_palette(2));
    snprintf(buf, sizeof buf, "colours: 0 (black) .. %.3g (white), the truth's peak", top);
    plot_text(&c, 22, H - 14, buf, 1, PLOT_BLACK);
    int ok = survey__write(&c, dir, "survey_contact_sheet.png");
    plot_canvas_free(&c);
    return ok;
}

static inline int survey_images(const survey_pictures *p, const char *dir)
{
    const int zoom = 2 * survey__zoom(p->side), z = p->side * zoom, cw = (z > 160 ? z : 160) + 20;
    int W = 4 * cw + 20, H = z + 70, npix = p->side * p->side;
    plot_canvas c;
    if (!plot_canvas_init(&c, W, H, PLOT_WHITE)) return 0;
    double top = survey__top(p->truth, npix);
    char title[4][64], sub[4][64];
    const double *img[4] = { p->truth, p->dirty, p->images + p->nearest_one * (size_t)npix,
                             p->images + p->closest * (size_t)npix };
    double scale[4] = { top, survey__top(p->dirty, npix), top, top };
    snprintf(title[0], sizeof title[0], "truth");
    snprintf(sub[0], sizeof sub[0], "%dx%d pixels", p->side, p->side);
    snprintf(title[1], sizeof title[1], "dirty image");
    snprintf(sub[1], sizeof sub[1], "A'y, its own scale");
    snprintf(title[2], sizeof title[2], "χ² nearest 1: %.3g", p->chi2_red[p->nearest_one]);
    snprintf(sub[2], sizeof sub[2], "λ %.2g, θ %.1f", p->lambda[p->nearest_one], p->theta[p->nearest_one]);
    snprintf(title[3], sizeof title[3], "closest to the truth");
    snprintf(sub[3], sizeof sub[3], "λ %.2g, θ %.1f, χ² %.3g", p->lambda[p->closest], p->theta[p->closest],
             p->chi2_red[p->closest]);
    for (int k = 0; k < 4; ++k) {
        int x = 20 + k * cw;
        plot_text_centred(&c, x + cw / 2 - 10, 10, title[k], 1, PLOT_BLACK);
        plot_text_centred(&c, x + cw / 2 - 10, 24, sub[k], 1, PLOT_BLACK);
        survey__image(&c, x + (cw - 20 - z) / 2, 40, img[k], p->side, zoom, scale[k]);
    }
    char buf[96];
    snprintf(buf, sizeof buf, "colours: 0 (black) .. %.3g (white), the truth's peak", top);
    plot_text(&c, 20, H - 18, buf, 1, PLOT_BLACK);
    int ok = survey__write(&c, dir, "survey_images.png");
    plot_canvas_free(&c);
    return ok;
}

static inline int survey_pictures_write(const survey_pictures *p, const char *dir)
{
    int ok = survey_contact_sheet(p, dir);
    return survey_images(p, dir) && ok;
}

#endif /* SURVEY_PLOTS_H */
