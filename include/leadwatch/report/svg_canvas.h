/*
 * svg_canvas.h - the drawing primitives under the report's SVG charts:
 * the chart frame and its checks, layout of title / plot / legend, text
 * width estimates and fitting, linear and log scales, axes, reference
 * lines, line paths with gaps, and the common exit that rewinds a failed
 * chart.  Used by svg.c (the chart kinds); callers outside the report draw
 * through svg.h, which includes this header for lw_svg_frame_t.
 *
 * Every function appends to an lw_buf_t and relies on its sticky error
 * (buf.h): none checks the buffer per call; lw_svg_finish() checks once.
 * Coordinates are clamped to a sane pixel range, so no NaN or infinity
 * ever reaches the document.  Not thread-safe per buffer.
 */
#ifndef LEADWATCH_SVG_CANVAS_H
#define LEADWATCH_SVG_CANVAS_H

#include "leadwatch/core/buf.h"

#define LW_SVG_MAX_POINTS 100000
#define LW_SVG_MIN_SIZE 120.0
#define LW_SVG_MAX_SIZE 4000.0

/* What every chart has: title, axes, size.  NULL strings are omitted. */
typedef struct {
    const char *title;    /* drawn on top, and the <title> / aria-label */
    const char *subtitle; /* optional second line under the title */
    const char *x_label;  /* axis title, e.g. "Lag" */
    const char *x_unit;   /* shown as "Lag (days)" */
    const char *y_label;
    const char *y_unit;
    double width, height; /* viewBox size in px; 0 = the chart's default */
} lw_svg_frame_t;

/* Text sizes (px), colours (Okabe-Ito, see svg_canvas.c) and strokes. */
#define LW_SVG_BOLD_WIDER 1.1 /* bold glyphs are about 10% wider */
#define LW_SVG_C_BLACK "#000000"
#define LW_SVG_C_BLUE "#0072B2"
#define LW_SVG_C_GREEN "#009E73"
#define LW_SVG_C_GREY "#8a939c"
#define LW_SVG_C_MUTED "#555"
#define LW_SVG_C_ORANGE "#E69F00"
#define LW_SVG_C_PURPLE "#CC79A7"
#define LW_SVG_C_SKY "#56B4E9"
#define LW_SVG_C_VERMILLION "#D55E00"
#define LW_SVG_FONT_PX 12.0
#define LW_SVG_HALO                                                                                \
    " stroke=\"#fff\" stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\""
#define LW_SVG_LEGEND_ROW 18.0
#define LW_SVG_SMALL_PX 12.0
#define LW_SVG_WRAP_MAX_LINES 4
#define LW_SVG_NSERIES_COLORS ((size_t)6)
/* The series palette (Okabe-Ito without black and yellow), in drawing order. */
extern const char *const lw_svg_series_colors[LW_SVG_NSERIES_COLORS];

typedef struct {
    double w, h;   /* whole chart */
    double x0, y0; /* top-left of the plot area */
    double pw, ph; /* plot area size */
} lw_svg_layout_t;

typedef struct {
    double lo, hi; /* data range; log10 units when log */
    bool log;
    double step; /* tick step (linear) or decades between labels (log) */
    int decimals;
} lw_svg_scale_t;

typedef enum {
    LW_SVG_SW_LINE,
    LW_SVG_SW_LINE_CIRCLE,
    LW_SVG_SW_LINE_SQUARE,
    LW_SVG_SW_RECT,
    LW_SVG_SW_OUTLINE
} lw_svg_swatch_t;

typedef struct {
    char text[256];
    const char *color;
    const char *dash; /* NULL = solid */
    double width;
    lw_svg_swatch_t kind;
    double opacity;
} lw_svg_legend_item_t;

typedef double (*lw_svg_xpos_fn)(const lw_svg_layout_t *L, size_t n, double i);

double lw_svg_clampd(double v, double lo, double hi);

void lw_svg_put_num(lw_buf_t *b, double v);

void lw_svg_attr(lw_buf_t *b, const char *name, double v);

double lw_svg_text_px(const char *s, double font_px);

/* Append s[0..len) escaped, shortened with "…" at a code point boundary to max_px. */
void lw_svg_put_text_fit_n(lw_buf_t *b, const char *s, size_t len, double max_px, double font_px);

/*
 * Greedy word wrap of s into at most maxl lines of about max_px: line k is
 * s[start[k] .. start[k] + len[k]).  A word wider than a line gets a line
 * of its own; whatever is left for the last line is shortened by the
 * caller (lw_svg_put_text_fit_n).  Returns the number of lines.
 */
size_t lw_svg_wrap_lines(const char *s, double max_px, double font_px, size_t maxl, size_t *start,
                         size_t *len);

/* <text x y [anchor] [size] extra>; the caller writes content and </text>. */
void lw_svg_text_open(lw_buf_t *b, double x, double y, const char *anchor, double font_px,
                      const char *extra);

void lw_svg_text_fit(lw_buf_t *b, double x, double y, const char *anchor, double font_px,
                     const char *extra, const char *s, double max_px);

/* "Label (unit)" into dst; either part may be NULL. */
void lw_svg_label_with_unit(char *dst, size_t size, const char *label, const char *unit);

/* A number for a label: %g-like but without exponents for everyday values. */
void lw_svg_fmt_value(char *dst, size_t size, double v, int decimals);

lw_err_t lw_svg_check_frame(const lw_svg_frame_t *f, char *errstr, size_t errstr_size);

lw_err_t lw_svg_check_buf(lw_buf_t *out, char *errstr, size_t errstr_size);

/*
 * The checks every chart starts with: an output buffer, a valid frame, and
 * at most LW_SVG_MAX_POINTS data points, which must be given when n > 0.
 */
lw_err_t lw_svg_check_chart(lw_buf_t *out, const lw_svg_frame_t *frame, size_t n, bool have_data,
                            const char *what, char *errstr, size_t errstr_size);

/*
 * Open the <svg>, write <title>, background, title and subtitle.  Returns
 * the y where content may start.
 */
double lw_svg_open(lw_buf_t *b, const char *kind, const lw_svg_frame_t *f, const char *subtitle,
                   const char *aria_extra, double w, double h);

void lw_svg_close(lw_buf_t *b);

/* The plot-area rectangle the report's tests look for, and the axis lines. */
void lw_svg_plot_area(lw_buf_t *b, const lw_svg_layout_t *L);

void lw_svg_axis_lines(lw_buf_t *b, const lw_svg_layout_t *L);

size_t lw_svg_legend_rows(const lw_svg_legend_item_t *it, size_t n, double avail);

void lw_svg_marker(lw_buf_t *b, lw_svg_swatch_t kind, double x, double y, const char *color);

void lw_svg_legend_draw(lw_buf_t *b, const lw_svg_legend_item_t *it, size_t n, double x0, double y0,
                        double avail);

/*
 * A linear scale covering [dmin, dmax] (dmin > dmax means no data) in whole
 * nice steps, about `target` intervals.
 */
void lw_svg_scale_linear(lw_svg_scale_t *s, double dmin, double dmax, int target);

/* Log10 scale over whole decades [10^lo, 10^hi], values clamped to floor. */
void lw_svg_scale_log(lw_svg_scale_t *s, double pmin, double floor_p, double pmax);

double lw_svg_map_y(const lw_svg_layout_t *L, const lw_svg_scale_t *s, double v);

/* Gridlines, tick labels and the rotated axis title of a y axis. */
void lw_svg_axis_y(lw_buf_t *b, const lw_svg_layout_t *L, const lw_svg_scale_t *s,
                   const char *title);

double lw_svg_x_of_index(const lw_svg_layout_t *L, size_t n, double i);

double lw_svg_x_of_slot(const lw_svg_layout_t *L, size_t n, double i);

/*
 * Period axis.  ISO-dated labels ("2024-03-01", "2024-03", "2024-03-01T05")
 * get ticks at month starts, every k-th month (k = 1, 2, 3, 6, 12, ...
 * aligned to January) for the smallest k whose labels fit; other labels get
 * every step-th period.  A tick too close to the previous one is skipped.
 */
void lw_svg_axis_x_periods(lw_buf_t *b, const lw_svg_layout_t *L, const char *const *labels,
                           size_t n, const char *title);

/* x position of v on a linear scale, clamped to the plot. */
double lw_svg_map_x(const lw_svg_layout_t *L, const lw_svg_scale_t *s, double v);

/* A linear value axis along x: vertical gridlines, tick labels (a label that
 * would overlap the previous one is left out), the axis title. */
void lw_svg_axis_x_linear(lw_buf_t *b, const lw_svg_layout_t *L, const lw_svg_scale_t *s,
                          const char *title);

/* Lag axis: integer labels at slot centres, always including 0. */
void lw_svg_axis_x_lags(lw_buf_t *b, const lw_svg_layout_t *L, int lag_min, size_t n,
                        const char *title);

/*
 * Layout of a chart with axes: margins around the plot, the legend below.
 * `legend_h` is the legend's height (0 = none).
 */
void lw_svg_layout_axes(lw_svg_layout_t *L, double w, double h, double top, double legend_h,
                        double right_label);

double lw_svg_legend_top(const lw_svg_layout_t *L);

/*
 * Horizontal reference line across the plot, labelled in the right margin
 * (reserve it with lw_svg_layout_axes' right_label).
 */
void lw_svg_ref_hline(lw_buf_t *b, const lw_svg_layout_t *L, double y, const char *color,
                      const char *dash, const char *label);

size_t lw_svg_line_path(lw_buf_t *b, const lw_svg_layout_t *L, const lw_svg_scale_t *s,
                        const double *v, size_t n, int shift, lw_svg_xpos_fn xs, double floor_p);

void lw_svg_no_data_note(lw_buf_t *b, const lw_svg_layout_t *L);

/*
 * Common exit: on error rewind to `mark` and explain.  Returns err (or the
 * buffer's sticky error) for the caller to return.
 */
lw_err_t lw_svg_finish(lw_buf_t *b, size_t mark, lw_err_t err, char *errstr, size_t errstr_size);

/* ---- shared chart scaffolding (the steps every axis chart repeats) ---- */

#define LW_SVG_TITLE_SIZE 300 /* an axis title buffer */

/* x="" y="" width="" height="" attributes. */
void lw_svg_rect_attrs(lw_buf_t *b, double x, double y, double w, double h);

/* Path data "M x y h len": a horizontal segment. */
void lw_svg_hpath(lw_buf_t *b, double x, double y, double len);

/* items[(*n)++] = it, with its text formatted (truncated to fit); the caller sizes items. */
void lw_svg_legend_add(lw_svg_legend_item_t *items, size_t *n, lw_svg_legend_item_t it,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The frame's subtitle, plus "<what> below F are drawn at F" when clamped. */
void lw_svg_clamp_subtitle(char *sub, size_t size, const lw_svg_frame_t *f, bool clamped,
                           const char *what, double floor_p);

/* "Label (unit)" for both axes (LW_SVG_TITLE_SIZE each): the frame's labels, else the defaults. */
void lw_svg_axis_titles(const lw_svg_frame_t *f, const char *y_default, const char *x_default,
                        char *ytitle, char *xtitle);

/*
 * Open a chart with axes: its size (the frame's, else the default), the
 * <svg> with title and subtitle, and the layout *L: the legend's rows
 * measured first below the plot, right_label px kept free right of it.
 */
void lw_svg_open_axes(lw_buf_t *out, const char *kind, const lw_svg_frame_t *f,
                      const char *subtitle, double def_w, double def_h,
                      const lw_svg_legend_item_t *items, size_t nitems, double right_label,
                      lw_svg_layout_t *L);

/* Close it: "No data" when !any, the legend, </svg>, then lw_svg_finish(mark). */
lw_err_t lw_svg_close_axes(lw_buf_t *out, const lw_svg_layout_t *L, bool any,
                           const lw_svg_legend_item_t *items, size_t nitems, size_t mark,
                           char *errstr, size_t errstr_size);

#endif
