/* plot_png.h — the examples' pictures: an RGB canvas with lines, points,
 * filled rectangles, text in a 5x7 bitmap font, axes with ticks and numeric
 * labels, and PNG output through libpng.
 *
 *   plot_canvas c;
 *   plot_canvas_init(&c, 640, 400, PLOT_WHITE);
 *   plot_axes ax = plot_axes_at(60, 30, 560, 320, 0, 100, -1, 1);
 *   plot_axes_draw(&c, &ax, "a title", "iteration", "value");
 *   plot_clip_axes(&c, &ax);                     draw inside the frame only
 *   plot_polyline(&c, &ax, xs, ys, n, plot_palette(0));
 *   plot_write_png(&c, "out.png");               needs CLV_EXAMPLES_PNG
 *   plot_canvas_free(&c);
 *
 * Everything but plot_write_png is plain C99. plot_write_png exists when
 * CLV_EXAMPLES_PNG is defined (examples/meson.build defines it when libpng
 * is found and links libpng); PLOT_PNG_AVAILABLE says which.
 * Text: printable ASCII, plus the UTF-8 letters λ, θ, σ, τ, μ, χ and ² (the
 * survey's and the models' labels). Coordinates are pixels from the top left. */
#ifndef PLOT_PNG_H
#define PLOT_PNG_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef CLV_EXAMPLES_PNG
#include <png.h>
#include <sys/stat.h> /* mkdir (POSIX) */
#define PLOT_PNG_AVAILABLE 1
#else
#define PLOT_PNG_AVAILABLE 0
#endif

typedef struct plot_rgb { unsigned char r, g, b; } plot_rgb;

static const plot_rgb PLOT_WHITE = { 255, 255, 255 };
static const plot_rgb PLOT_BLACK = { 0, 0, 0 };
static const plot_rgb PLOT_GREY = { 128, 128, 128 };
static const plot_rgb PLOT_LIGHT = { 225, 225, 225 };

typedef struct plot_canvas {
    int width, height;
    unsigned char *pixels;    /* width x height x RGB, rows from the top */
    int clip_x0, clip_y0, clip_x1, clip_y1; /* drawing stays in [x0, x1) x [y0, y1) */
    double opacity;           /* 1: opaque drawing; less blends with what is there */
} plot_canvas;

/* A data rectangle mapped onto a pixel box (x, y: its top left). */
typedef struct plot_axes {
    int x, y, w, h;
    double x_min, x_max, y_min, y_max;
} plot_axes;

/* ---- canvas ---------------------------------------------------------------- */

static inline int plot_canvas_init(plot_canvas *c, int width, int height, plot_rgb background)
{
    memset(c, 0, sizeof *c);
    c->pixels = (unsigned char *)malloc((size_t)width * (size_t)height * 3);
    if (!c->pixels) return 0;
    c->width = width;
    c->height = height;
    c->opacity = 1;
    for (size_t q = 0; q < (size_t)width * (size_t)height; ++q) {
        c->pixels[3 * q] = background.r;
        c->pixels[3 * q + 1] = background.g;
        c->pixels[3 * q + 2] = background.b;
    }
    c->clip_x1 = width;
    c->clip_y1 = height;
    return 1;
}

static inline void plot_canvas_free(plot_canvas *c)
{
    free(c->pixels);
    memset(c, 0, sizeof *c);
}

static inline void plot_clip_none(plot_canvas *c)
{
    c->clip_x0 = c->clip_y0 = 0;
    c->clip_x1 = c->width;
    c->clip_y1 = c->height;
}

static inline void plot_pixel(plot_canvas *c, int x, int y, plot_rgb col)
{
    if (x < c->clip_x0 || y < c->clip_y0 || x >= c->clip_x1 || y >= c->clip_y1) return;
    unsigned char *p = c->pixels + 3 * ((size_t)y * (size_t)c->width + (size_t)x);
    if (c->opacity >= 1) {
        p[0] = col.r, p[1] = col.g, p[2] = col.b;
        return;
    }
    double a = c->opacity;
    p[0] = (unsigned char)(p[0] + a * (col.r - p[0]) + 0.5);
    p[1] = (unsigned char)(p[1] + a * (col.g - p[1]) + 0.5);
    p[2] = (unsigned char)(p[2] + a * (col.b - p[2]) + 0.5);
}

static inline void plot_fill_rect(plot_canvas *c, int x, int y, int w, int h, plot_rgb col)
{
    for (int j = y; j < y + h; ++j)
        for (int i = x; i < x + w; ++i) plot_pixel(c, i, j, col);
}

/* A one-pixel frame just inside the rectangle. */
static inline void plot_frame(plot_canvas *c, int x, int y, int w, int h, plot_rgb col)
{
    plot_fill_rect(c, x, y, w, 1, col);
    plot_fill_rect(c, x, y + h - 1, w, 1, col);
    plot_fill_rect(c, x, y, 1, h, col);
    plot_fill_rect(c, x + w - 1, y, 1, h, col);
}

/* Bresenham from (x0, y0) to (x1, y1); coordinates far outside the canvas
 * are clamped first (the line is clipped anyway). */
static inline void plot_line(plot_canvas *c, double fx0, double fy0, double fx1, double fy1, plot_rgb col)
{
    const double big = 4.0 * (c->width + c->height);
    if (!(fabs(fx0) < big && fabs(fy0) < big && fabs(fx1) < big && fabs(fy1) < big)) {
        if (!isfinite(fx0) || !isfinite(fy0) || !isfinite(fx1) || !isfinite(fy1)) return;
        fx0 = fmax(-big, fmin(big, fx0)), fy0 = fmax(-big, fmin(big, fy0));
        fx1 = fmax(-big, fmin(big, fx1)), fy1 = fmax(-big, fmin(big, fy1));
    }
    int x0 = (int)lround(fx0), y0 = (int)lround(fy0), x1 = (int)lround(fx1), y1 = (int)lround(fy1);
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        plot_pixel(c, x0, y0, col);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) err += dy, x0 += sx;
        if (e2 <= dx) err += dx, y0 += sy;
    }
}

/* A filled disc of radius r pixels (r 0: one pixel). */
static inline void plot_disc(plot_canvas *c, double x, double y, double r, plot_rgb col)
{
    int cx = (int)lround(x), cy = (int)lround(y), R = (int)ceil(r);
    for (int j = -R; j <= R; ++j)
        for (int i = -R; i <= R; ++i)
            if (i * i + j * j <= r * r + 0.5) plot_pixel(c, cx + i, cy + j, col);
}

/* ---- colours --------------------------------------------------------------- */

/* Distinct line colours (matplotlib's tab10), k cycles. */
static inline plot_rgb plot_palette(int k)
{
    static const plot_rgb tab[10] = { { 31, 119, 180 }, { 255, 127, 14 }, { 44, 160, 44 }, { 214, 39, 40 },
                                      { 148, 103, 189 }, { 140, 86, 75 }, { 227, 119, 194 }, { 127, 127, 127 },
                                      { 188, 189, 34 }, { 23, 190, 207 } };
    return tab[((k % 10) + 10) % 10];
}

static inline plot_rgb plot__ramp(const unsigned char (*stops)[3], int n, double t)
{
    if (!(t > 0)) t = 0;
    if (t > 1) t = 1;
    double u = t * (n - 1);
    int k = (int)u;
    if (k >= n - 1) k = n - 2;
    double f = u - k;
    plot_rgb col;
    col.r = (unsigned char)(stops[k][0] + f * (stops[k + 1][0] - stops[k][0]) + 0.5);
    col.g = (unsigned char)(stops[k][1] + f * (stops[k + 1][1] - stops[k][1]) + 0.5);
    col.b = (unsigned char)(stops[k][2] + f * (stops[k + 1][2] - stops[k][2]) + 0.5);
    return col;
}

/* t in [0, 1]: viridis (dark blue, green, yellow), eight stops of it. */
static inline plot_rgb plot_viridis(double t)
{
    static const unsigned char stops[8][3] = { { 68, 1, 84 }, { 70, 50, 127 }, { 54, 92, 141 }, { 39, 127, 142 },
                                               { 31, 161, 135 }, { 74, 194, 109 }, { 159, 218, 58 },
                                               { 253, 231, 37 } };
    return plot__ramp(stops, 8, t);
}

/* t in [0, 1]: black, red, yellow, white (the "afmhot" of radio images). */
static inline plot_rgb plot_hot(double t)
{
    static const unsigned char stops[4][3] = { { 0, 0, 0 }, { 170, 40, 0 }, { 255, 200, 40 }, { 255, 255, 255 } };
    return plot__ramp(stops, 4, t);
}

/* ---- text: a 5x7 font, drawn in 6x9 cells ------------------------------------ */

/* Rows top to bottom, '#' lit; code points 32..126, then the extra letters. */
static const char *const plot__glyphs[] = {
    "..... ..... ..... ..... ..... ..... .....", "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",
    ".#.#. .#.#. ..... ..... ..... ..... .....", ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.",
    "..#.. .#### #.#.. .###. ..#.# ####. ..#..", "##... ##..# ...#. ..#.. .#... #..## ...##",
    ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#", "..#.. ..#.. ..... ..... ..... ..... .....",
    "...#. ..#.. .#... .#... .#... ..#.. ...#.", ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
    "..... ..#.. #.#.# .###. #.#.# ..#.. .....", "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
    "..... ..... ..... ..... .##.. ..#.. .#...", "..... ..... ..... ##### ..... ..... .....",
    "..... ..... ..... ..... ..... .##.. .##..", "..... ....# ...#. ..#.. .#... #.... .....",
    ".###. #...# #..## #.#.# ##..# #...# .###.", "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    ".###. #...# ....# ...#. ..#.. .#... #####", "##### ...#. ..#.. ...#. ....# #...# .###.",
    "...#. ..##. .#.#. #..#. ##### ...#. ...#.", "##### #.... ####. ....# ....# #...# .###.",
    "..##. .#... #.... ####. #...# #...# .###.", "##### ....# ...#. ..#.. .#... .#... .#...",
    ".###. #...# #...# .###. #...# #...# .###.", ".###. #...# #...# .#### ....# ...#. .##..",
    "..... .##.. .##.. ..... .##.. .##.. .....", "..... .##.. .##.. ..... .##.. ..#.. .#...",
    "...#. ..#.. .#... #.... .#... ..#.. ...#.", "..... ..... ##### ..... ##### ..... .....",
    ".#... ..#.. ...#. ....# ...#. ..#.. .#...", ".###. #...# ....# ...#. ..#.. ..... ..#..",
    ".###. #...# ....# .##.# #.#.# #.#.# .###.", ".###. #...# #...# ##### #...# #...# #...#",
    "####. #...# #...# ####. #...# #...# ####.", ".###. #...# #.... #.... #.... #...# .###.",
    "###.. #..#. #...# #...# #...# #..#. ###..", "##### #.... #.... ####. #.... #.... #####",
    "##### #.... #.... ####. #.... #.... #....", ".###. #...# #.... #.### #...# #...# .####",
    "#...# #...# #...# ##### #...# #...# #...#", ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
    "..### ...#. ...#. ...#. ...#. #..#. .##..", "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
    "#.... #.... #.... #.... #.... #.... #####", "#...# ##.## #.#.# #.#.# #...# #...# #...#",
    "#...# #...# ##..# #.#.# #..## #...# #...#", ".###. #...# #...# #...# #...# #...# .###.",
    "####. #...# #...# ####. #.... #.... #....", ".###. #...# #...# #...# #.#.# #..#. .##.#",
    "####. #...# #...# ####. #.#.. #..#. #...#", ".#### #.... #.... .###. ....# ....# ####.",
    "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..", "#...# #...# #...# #...# #...# #...# .###.",
    "#...# #...# #...# #...# #...# .#.#. ..#..", "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
    "#...# #...# .#.#. ..#.. .#.#. #...# #...#", "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
    "##### ....# ...#. ..#.. .#... #.... #####", ".###. .#... .#... .#... .#... .#... .###.",
    "..... #.... .#... ..#.. ...#. ....# .....", ".###. ...#. ...#. ...#. ...#. ...#. .###.",
    "..#.. .#.#. #...# ..... ..... ..... .....", "..... ..... ..... ..... ..... ..... #####",
    ".#... ..#.. ..... ..... ..... ..... .....", "..... ..... .###. ....# .#### #...# .####",
    "#.... #.... #.##. ##..# #...# #...# ####.", "..... ..... .###. #.... #.... #...# .###.",
    "....# ....# .##.# #..## #...# #...# .####", "..... ..... .###. #...# ##### #.... .###.",
    "..##. .#..# .#... ###.. .#... .#... .#...", "..... .#### #...# #...# .#### ....# .###.",
    "#.... #.... #.##. ##..# #...# #...# #...#", "..#.. ..... .##.. ..#.. ..#.. ..#.. .###.",
    "...#. ..... ..##. ...#. ...#. #..#. .##..", "#.... #.... #..#. #.#.. ##... #.#.. #..#.",
    ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.", "..... ..... ##.#. #.#.# #.#.# #...# #...#",
    "..... ..... #.##. ##..# #...# #...# #...#", "..... ..... .###. #...# #...# #...# .###.",
    "..... ..... ####. #...# ####. #.... #....", "..... ..... .##.# #..## .#### ....# ....#",
    "..... ..... #.##. ##..# #.... #.... #....", "..... ..... .###. #.... .###. ....# ####.",
    ".#... .#... ###.. .#... .#... .#..# ..##.", "..... ..... #...# #...# #...# #..## .##.#",
    "..... ..... #...# #...# #...# .#.#. ..#..", "..... ..... #...# #...# #.#.# #.#.# .#.#.",
    "..... ..... #...# .#.#. ..#.. .#.#. #...#", "..... ..... #...# #...# .#### ....# .###.",
    "..... ..... ##### ...#. ..#.. .#... #####", "...#. ..#.. ..#.. .#... ..#.. ..#.. ...#.",
    "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..", ".#... ..#.. ..#.. ...#. ..#.. ..#.. .#...",
    "..... ..... .#... #.#.# ...#. ..... .....",
    /* 95.. : λ θ σ τ μ ² χ */
    "##... ..#.. ..#.. .#.#. .#.#. #...# #...#", ".###. #...# #...# ##### #...# #...# .###.",
    "..... ..... .#### #..#. #...# #...# .###.", "..... ..... ##### ..#.. ..#.. ..#.. ...##",
    "..... ..... #...# #...# #...# ##..# #.##.", ".##.. #..#. ..#.. .#... ####. ..... .....",
    "..... ..... #...# .#.#. ..#.. .#.#. #...#",
};

/* The glyph of the character at *s (advancing *s past it); NULL at the end. */
static inline const char *plot__next_glyph(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    if (!*p) return NULL;
    if (*p >= 32 && *p < 127) {
        *s += 1;
        return plot__glyphs[*p - 32];
    }
    if (p[1]) {
        int k = -1;
        if (p[0] == 0xCE && p[1] == 0xBB) k = 95;      /* λ */
        else if (p[0] == 0xCE && p[1] == 0xB8) k = 96; /* θ */
        else if (p[0] == 0xCF && p[1] == 0x83) k = 97; /* σ */
        else if (p[0] == 0xCF && p[1] == 0x84) k = 98; /* τ */
        else if (p[0] == 0xCE && p[1] == 0xBC) k = 99; /* μ */
        else if (p[0] == 0xC2 && p[1] == 0xB2) k = 100; /* ² */
        else if (p[0] == 0xCF && p[1] == 0x87) k = 101; /* χ */
        if (k >= 0) {
            *s += 2;
            return plot__glyphs[k];
        }
    }
    *s += 1; /* anything else: a question mark */
    return plot__glyphs['?' - 32];
}

/* Pixels of text at scale (1: 6 per character). */
static inline int plot_text_width(const char *s, int scale)
{
    int n = 0;
    while (plot__next_glyph(&s)) ++n;
    return n ? (6 * n - 1) * scale : 0;
}

static inline int plot_text_height(int scale) { return 7 * scale; }

/* Text with its top left at (x, y). up: rotated a quarter turn
 * anticlockwise, reading upwards, (x, y) then its bottom left. */
static inline void plot__text(plot_canvas *c, int x, int y, const char *s, int scale, plot_rgb col, int up)
{
    const char *g;
    int pen = 0;
    while ((g = plot__next_glyph(&s)) != NULL) {
        for (int row = 0; row < 7; ++row)
            for (int k = 0; k < 5; ++k)
                if (g[row * 6 + k] == '#') {
                    if (up) plot_fill_rect(c, x + row * scale, y - (pen + k + 1) * scale, scale, scale, col);
                    else plot_fill_rect(c, x + (pen + k) * scale, y + row * scale, scale, scale, col);
                }
        pen += 6;
    }
}

static inline void plot_text(plot_canvas *c, int x, int y, const char *s, int scale, plot_rgb col)
{
    plot__text(c, x, y, s, scale, col, 0);
}

/* Text centred on x, top at y. */
static inline void plot_text_centred(plot_canvas *c, int x, int y, const char *s, int scale, plot_rgb col)
{
    plot__text(c, x - plot_text_width(s, scale) / 2, y, s, scale, col, 0);
}

/* Text reading upwards, centred on y, its left edge at x. */
static inline void plot_text_up(plot_canvas *c, int x, int y, const char *s, int scale, plot_rgb col)
{
    plot__text(c, x, y + plot_text_width(s, scale) / 2, s, scale, col, 1);
}

/* ---- axes -------------------------------------------------------------------- */

static inline plot_axes plot_axes_at(int x, int y, int w, int h, double x_min, double x_max, double y_min, double y_max)
{
    plot_axes a;
    a.x = x, a.y = y, a.w = w, a.h = h;
    a.x_min = x_min, a.x_max = x_max, a.y_min = y_min, a.y_max = y_max;
    if (!(a.x_max > a.x_min)) a.x_min -= 0.5, a.x_max = a.x_min + 1;
    if (!(a.y_max > a.y_min)) a.y_min -= 0.5, a.y_max = a.y_min + 1;
    return a;
}

/* Widen [*lo, *hi] by a fraction of its span on both sides (a point range:
 * by 1 or its magnitude's tenth). */
static inline void plot_pad_range(double *lo, double *hi, double fraction)
{
    double span = *hi - *lo;
    if (!(span > 0)) span = fabs(*lo) > 0 ? 0.2 * fabs(*lo) / fraction : 1 / fraction;
    *lo -= fraction * span;
    *hi += fraction * span;
}

static inline double plot_px(const plot_axes *a, double x) { return a->x + (x - a->x_min) / (a->x_max - a->x_min) * (a->w - 1); }
static inline double plot_py(const plot_axes *a, double y) { return a->y + a->h - 1 - (y - a->y_min) / (a->y_max - a->y_min) * (a->h - 1); }

static inline void plot_clip_axes(plot_canvas *c, const plot_axes *a)
{
    c->clip_x0 = a->x + 1, c->clip_y0 = a->y + 1;
    c->clip_x1 = a->x + a->w - 1, c->clip_y1 = a->y + a->h - 1;
}

/* A tick step of 1, 2 or 5 times a power of ten giving at most max_ticks. */
static inline double plot__tick_step(double lo, double hi, int max_ticks)
{
    double raw = (hi - lo) / (max_ticks > 1 ? max_ticks : 1), p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* A tick label: decimals enough for the step; exponent form past 1e5 or
 * below 1e-3. */
static inline void plot__tick_label(char *buf, size_t size, double v, double step)
{
    double mag = fmax(fabs(v), step);
    if (fabs(v) < 1e-9 * step) v = 0;
    if (mag >= 1e5 || step < 1e-3) snprintf(buf, size, "%.0e", v);
    else {
        int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
        snprintf(buf, size, "%.*f", dec, v);
    }
}

static inline int plot__count_ticks(double lo, double hi, double step, int *first)
{
    double f = ceil(lo / step - 1e-9);
    *first = 0;
    int n = 0;
    for (double t = f; t * step <= hi + 1e-9 * step && n < 1000; t += 1) ++n;
    *first = (int)f;
    return n;
}

/* The frame, ticks with labels (as many as fit), title above, labels below
 * and on the left. Any text may be NULL. */
static inline void plot_axes_draw(plot_canvas *c, const plot_axes *a, const char *title, const char *x_label,
                           const char *y_label)
{
    char buf[64];
    plot_clip_none(c);
    double saved = c->opacity;
    c->opacity = 1;
    plot_frame(c, a->x, a->y, a->w, a->h, PLOT_BLACK);
    /* x: the most ticks whose labels keep a character's gap between them */
    for (int want = a->w / 40 > 2 ? a->w / 40 : 2; want >= 2; --want) {
        double step = plot__tick_step(a->x_min, a->x_max, want);
        int first, n = plot__count_ticks(a->x_min, a->x_max, step, &first), widest = 0;
        for (int k = 0; k < n; ++k) {
            plot__tick_label(buf, sizeof buf, (first + k) * step, step);
            int w = plot_text_width(buf, 1);
            if (w > widest) widest = w;
        }
        double spacing = n > 1 ? step / (a->x_max - a->x_min) * a->w : a->w;
        if (spacing < widest + 8 && want > 2) continue;
        for (int k = 0; k < n; ++k) {
            double v = (first + k) * step;
            int px = (int)lround(plot_px(a, v));
            plot_fill_rect(c, px, a->y + a->h, 1, 4, PLOT_BLACK);
            plot__tick_label(buf, sizeof buf, v, step);
            plot_text_centred(c, px, a->y + a->h + 6, buf, 1, PLOT_BLACK);
        }
        break;
    }
    /* y: labels right-aligned left of the frame, at least 16 pixels apart */
    int widest_y = 0;
    {
        int want = a->h / 28 > 2 ? a->h / 28 : 2;
        double step = plot__tick_step(a->y_min, a->y_max, want);
        int first, n = plot__count_ticks(a->y_min, a->y_max, step, &first);
        while (n < 3 && step / (a->y_max - a->y_min) * a->h > 32) { /* at least 3 where they fit */
            double p = pow(10, floor(log10(step) + 1e-9)), m = step / p;
            step = m > 4 ? 2 * p : m > 1.5 ? p : 0.5 * p;
            n = plot__count_ticks(a->y_min, a->y_max, step, &first);
        }
        for (int k = 0; k < n; ++k) {
            double v = (first + k) * step;
            int py = (int)lround(plot_py(a, v));
            plot_fill_rect(c, a->x - 4, py, 4, 1, PLOT_BLACK);
            plot__tick_label(buf, sizeof buf, v, step);
            int w = plot_text_width(buf, 1);
            if (w > widest_y) widest_y = w;
            plot_text(c, a->x - 7 - w, py - 3, buf, 1, PLOT_BLACK);
        }
    }
    if (title) plot_text_centred(c, a->x + a->w / 2, a->y - 12, title, 1, PLOT_BLACK);
    if (x_label) plot_text_centred(c, a->x + a->w / 2, a->y + a->h + 18, x_label, 1, PLOT_BLACK);
    if (y_label) plot_text_up(c, a->x - 7 - widest_y - 12, a->y + a->h / 2, y_label, 1, PLOT_BLACK);
    c->opacity = saved;
}

/* Lines through (xs[k], ys[k]) in data coordinates, skipping non-finite
 * points (a gap). Clipped to the canvas's clip rectangle. */
static inline void plot_polyline(plot_canvas *c, const plot_axes *a, const double *xs, const double *ys, size_t n,
                          plot_rgb col)
{
    int have = 0;
    double px = 0, py = 0;
    for (size_t k = 0; k < n; ++k) {
        if (!isfinite(xs[k]) || !isfinite(ys[k])) {
            have = 0;
            continue;
        }
        double qx = plot_px(a, xs[k]), qy = plot_py(a, ys[k]);
        if (have) plot_line(c, px, py, qx, qy, col);
        else plot_pixel(c, (int)lround(qx), (int)lround(qy), col);
        px = qx, py = qy, have = 1;
    }
}

/* A legend entry: a short line of colour and its label; returns the x after it. */
static inline int plot_legend_entry(plot_canvas *c, int x, int y, const char *label, plot_rgb col)
{
    double saved = c->opacity;
    c->opacity = 1;
    plot_fill_rect(c, x, y + 2, 14, 3, col);
    plot_text(c, x + 18, y, label, 1, PLOT_BLACK);
    c->opacity = saved;
    return x + 18 + plot_text_width(label, 1) + 14;
}

/* ---- PNG ------------------------------------------------------------------------ */

#ifdef CLV_EXAMPLES_PNG
/* Write the canvas as an 8-bit RGB PNG, making the file's folder (one
 * level) when it is missing; 0 (and a line on stderr) on failure. */
static inline int plot_write_png(const plot_canvas *c, const char *path)
{
    FILE *f = fopen(path, "wb");
    const char *slash = strrchr(path, '/');
    if (!f && slash && slash > path && (size_t)(slash - path) < 4096) {
        char dir[4096];
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
        if (mkdir(dir, 0777) == 0) f = fopen(path, "wb");
    }
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        return 0;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, info ? &info : NULL);
        fclose(f);
        fprintf(stderr, "libpng failed writing %s\n", path);
        return 0;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)c->width, (png_uint_32)c->height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 9);
    png_write_info(png, info);
    for (int j = 0; j < c->height; ++j) png_write_row(png, c->pixels + (size_t)j * (size_t)c->width * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        return 0;
    }
    return 1;
}
#endif

#endif /* PLOT_PNG_H */
