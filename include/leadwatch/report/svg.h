/*
 * svg.h - self-contained SVG charts for the report: a line chart of
 * (normalised) series, a lag bar chart with a significance band, p-values
 * by lag on a log axis, a value history with a break marker, a value-vs-
 * threshold gauge, and the metric tree diagram.
 *
 * Every function appends one complete <svg> element to an lw_buf_t and
 * does nothing else (no I/O, no globals), so tests and the report call it
 * the same way.  Data arrive as plain arrays of double in which NAN means
 * "undefined": a line breaks into a gap there, a bar or marker is left out;
 * no NaN or infinity ever reaches the output.  All text is XML-escaped.
 *
 * The output is inline-SVG-ready: viewBox sizing (scales and prints), a
 * <title> child plus role="img" and aria-label, generic font families, the
 * Okabe-Ito colour-blind-safe palette with dash patterns / marker shapes
 * and text labels so nothing depends on colour alone, no ids (so any number
 * of charts can share one HTML page), no scripts and no external
 * references.  The root carries class="lw-chart lw-chart-<kind>" and the
 * drawing area a rect with class="lw-plot" for the report's CSS and tests.
 *
 * Errors: LW_ERR_INVALID for bad options (errstr says which), or the
 * buffer's LW_ERR_TOO_LARGE / LW_ERR_NOMEM.  On any error the buffer is
 * rewound to its length at entry and its sticky error cleared, so it never
 * holds a partial chart; a buffer that already had a sticky error at entry
 * is left untouched and that error returned.
 */
#ifndef LEADWATCH_SVG_H
#define LEADWATCH_SVG_H

#include "leadwatch/core/buf.h"
#include "leadwatch/report/svg_canvas.h"

/* Bounds on the inputs (far above anything a report draws); the point and
   size bounds are in svg_canvas.h, which checks them. */
#define LW_SVG_MAX_SERIES 32
#define LW_SVG_MAX_TREE_INPUTS 64

/* Series normalisation for the line chart. */
typedef enum {
    LW_SVG_NORM_NONE = 0,
    LW_SVG_NORM_ZSCORE,  /* (v - mean) / sample sd over the defined points */
    LW_SVG_NORM_INDEX100 /* 100 * v / (first defined value) */
} lw_svg_norm_t;

/*
 * out[i] := in[i] normalised over its defined (finite) points; undefined
 * points stay NAN.  Z-score uses the sample standard deviation (n - 1); a
 * constant series becomes 0 at every defined point.  Returns false (out all
 * NAN) when normalisation is impossible: no defined point, or index with a
 * first defined value of 0.  in and out may be the same array.
 */
bool lw_svg_normalize(const double *in, size_t n, lw_svg_norm_t norm, double *out);

typedef struct {
    const char *name;     /* legend text */
    const double *values; /* [n] aligned with x_labels; NAN = undefined */
    lw_svg_norm_t norm;
    int shift;         /* draw value i at period i + shift (dashed; legend says so) */
    bool emphasis;     /* thicker line, e.g. the NSM */
    const char *color; /* "#RRGGBB" overriding the palette; NULL = palette (black if emphasis) */
    bool no_legend;    /* leave it out of the legend (the chart's text names it) */
} lw_svg_series_t;

typedef struct {
    lw_svg_frame_t frame;        /* default 960 x 380 */
    const char *const *x_labels; /* [n] period labels ("2024-03-01"); NULL = 0..n-1 */
    size_t n;
    const lw_svg_series_t *series;
    size_t nseries; /* 1..LW_SVG_MAX_SERIES */
} lw_svg_line_opts_t;

/*
 * Several series over a shared period axis, with a legend below.  Points
 * shifted outside 0..n-1 are dropped.  When y_label is NULL the axis is
 * named after the normalisation all series share ("z-score",
 * "Index (first value = 100)").  A series that cannot be normalised is
 * listed in the legend as "(no data)".
 */
lw_err_t lw_svg_line_chart(lw_buf_t *out, const lw_svg_line_opts_t *opts, char *errstr,
                           size_t errstr_size);

typedef struct {
    lw_svg_frame_t frame; /* default 720 x 300 */
    int lag_min;          /* lag of values[0]; bar i is lag lag_min + i */
    const double *values; /* [n]; NAN = no bar */
    size_t n;
    double band;            /* shade -band..+band; NAN or <= 0 = no band */
    const char *band_label; /* legend text; NULL = "significance band ±b" */
    bool highlight;         /* outline the bar at highlight_lag */
    int highlight_lag;
    const char *highlight_label; /* legend text; NULL = "detected lag k" */
} lw_svg_bar_opts_t;

/*
 * Bars from zero at integer lags, a zero line, and a shaded symmetric band;
 * bars outside the band are drawn in colour, those inside in grey.  The y
 * range is symmetric around zero.  Each bar has a tooltip with its value.
 */
lw_err_t lw_svg_bar_chart(lw_buf_t *out, const lw_svg_bar_opts_t *opts, char *errstr,
                          size_t errstr_size);

#define LW_SVG_P_FLOOR 1e-12

typedef struct {
    lw_svg_frame_t frame; /* default 720 x 300 */
    int lag_min;          /* lag of element 0, usually 1 */
    size_t n;
    const double *p_xy;  /* [n] p-values, direction x -> y; NULL or NAN = missing */
    const double *p_yx;  /* [n] reverse direction; NULL = not drawn */
    const char *name_xy; /* legend, e.g. "sessions → minutes" */
    const char *name_yx;
    double alpha; /* reference line; 0 or NAN = 0.05 */
    double floor; /* p below this is drawn at it; 0 or NAN = LW_SVG_P_FLOOR */
} lw_svg_pvalue_opts_t;

/*
 * p-values by lag on a log10 axis from 1 down to the decade below the
 * smallest (clamped) p (at least 0.01), with a dashed line labelled
 * "α = <alpha>".  The two directions differ in colour, dash and marker
 * (circle / square).  A clamped point's tooltip reads "p < floor" and the
 * chart notes the clamping under the title.
 */
lw_err_t lw_svg_pvalue_chart(lw_buf_t *out, const lw_svg_pvalue_opts_t *opts, char *errstr,
                             size_t errstr_size);

typedef struct {
    lw_svg_frame_t frame;        /* default 720 x 300 */
    const char *const *x_labels; /* [n] window labels (e.g. window end dates) */
    size_t n;
    const double *values; /* [n]; NAN = gap */
    const char *series_name;
    bool log_y;       /* log10 axis (p-values); values <= floor are clamped */
    double floor;     /* log axis floor; 0 or NAN = LW_SVG_P_FLOOR */
    double threshold; /* horizontal reference line; NAN = none */
    const char *threshold_label;
    bool has_break; /* vertical marker at break_index */
    size_t break_index;
    const char *break_label; /* NULL = "break" */
} lw_svg_history_opts_t;

/* A value over rolling windows, optional threshold line and break marker. */
lw_err_t lw_svg_history_chart(lw_buf_t *out, const lw_svg_history_opts_t *opts, char *errstr,
                              size_t errstr_size);

typedef struct {
    lw_svg_frame_t frame; /* default 560 wide, ~126 high; x_label names the value, x_unit "%" */
    double value;         /* NAN = "no estimate" */
    double threshold;
    double max;               /* scale end; 0 or NAN = 1.25 * max(value, threshold) */
    bool lower_is_better;     /* MDE: passing means value <= threshold */
    int decimals;             /* for the printed numbers (0..4) */
    const char *verdict_text; /* the line under the bar; NULL = "✓ passes: ..." / "✗ fails: ..." */
} lw_svg_gauge_opts_t;

/*
 * A horizontal bar of `value` on a 0..max scale with a marked threshold and
 * a verdict in words ("passes" / "fails" with ✓ / ✗), coloured green or
 * vermillion; values beyond max are drawn to the end with an arrow.
 */
lw_err_t lw_svg_gauge_bar(lw_buf_t *out, const lw_svg_gauge_opts_t *opts, char *errstr,
                          size_t errstr_size);

/* How an edge of the metric tree is drawn. */
typedef enum {
    LW_SVG_VERDICT_LEADS = 0,
    LW_SVG_VERDICT_NO_LONGER_LEADS, /* inconclusive now, led before */
    LW_SVG_VERDICT_REVERSE,         /* the target leads the input */
    LW_SVG_VERDICT_FEEDBACK,        /* both directions */
    LW_SVG_VERDICT_INCONCLUSIVE,
    LW_SVG_VERDICT_INSUFFICIENT, /* not enough data to test */
    LW_SVG_VERDICT_COUNT
} lw_svg_verdict_t;

/* "leads", "no longer leads", "reverse", "feedback", "inconclusive", "insufficient data". */
const char *lw_svg_verdict_label(lw_svg_verdict_t v);
/* "#RRGGBB" colour of the verdict (Okabe-Ito; greys for the undecided ones). */
const char *lw_svg_verdict_color(lw_svg_verdict_t v);
/* SVG stroke-dasharray of the verdict, or NULL for a solid line. */
const char *lw_svg_verdict_dash(lw_svg_verdict_t v);

typedef struct {
    const char *name;
    lw_svg_verdict_t verdict; /* of the edge input -> NSM */
    const char *edge_label;   /* e.g. "lag 3 · +0.4%"; NULL = verdict only */
} lw_svg_tree_input_t;

typedef struct {
    lw_svg_frame_t frame; /* width default 960; height grows with the inputs */
    const lw_svg_tree_input_t *inputs;
    size_t ninputs; /* 0..LW_SVG_MAX_TREE_INPUTS */
    const char *nsm_name;
    const char *kpi_name; /* NULL = no KPI box */
    lw_svg_verdict_t kpi_verdict;
    const char *kpi_edge_label;
} lw_svg_tree_opts_t;

/*
 * Input boxes (left) → NSM box → KPI box.  Each edge is coloured and dashed
 * by its verdict and labelled "<verdict> · <edge_label>"; a reverse edge
 * points back at the input, a feedback edge has arrowheads at both ends.
 * A legend of all verdicts sits at the bottom.  Long names are shortened
 * with "…" in the box and kept whole in its tooltip.
 */
lw_err_t lw_svg_tree_diagram(lw_buf_t *out, const lw_svg_tree_opts_t *opts, char *errstr,
                             size_t errstr_size);

/* ---- values in their own units (svg_pair.c) ---- */

#define LW_SVG_MAX_MARKS 8

/* One panel of a pair chart: a metric in its own units. */
typedef struct {
    const char *name;     /* drawn above the panel, e.g. "listening_minutes" */
    const char *unit;     /* y axis title; NULL = none */
    const double *values; /* [n]; NAN = gap */
    int shift;            /* value i is drawn at period i + shift (an input moved by its lead) */
    const char *color;    /* NULL = black */
} lw_svg_panel_t;

/* A vertical mark across both panels (a break date, an alarm). */
typedef struct {
    size_t index;      /* period index */
    const char *label; /* e.g. "break 2025-07-15" */
    const char *color; /* NULL = vermillion */
    const char *dash;  /* NULL = "5 3" */
} lw_svg_vmark_t;

typedef struct {
    lw_svg_frame_t frame;        /* default 960 x 420 */
    const char *const *x_labels; /* [n] period labels; NULL = 0..n-1 */
    size_t n;
    lw_svg_panel_t top, bottom;
    const lw_svg_vmark_t *marks; /* marks outside 0..n-1 are left out */
    size_t nmarks;               /* 0..LW_SVG_MAX_MARKS */
} lw_svg_pair_opts_t;

/*
 * Two stacked panels over one shared period axis, each with its own y
 * axis in the metric's own units (so values are read, not z-scores), and
 * vertical marks drawn across both.  Each panel is an .lw-plot area.
 */
lw_err_t lw_svg_pair_chart(lw_buf_t *out, const lw_svg_pair_opts_t *opts, char *errstr,
                           size_t errstr_size);

/* ---- categorical history strip (svg_strip.c) ---- */

#define LW_SVG_MAX_STRIP_ROWS 64
#define LW_SVG_MAX_STRIP_CATS 8

typedef struct {
    const char *name;         /* row label, left */
    const signed char *cells; /* [n] category per period, -1 = none */
} lw_svg_strip_row_t;

typedef struct {
    lw_svg_frame_t frame;        /* width default 960; height grows with the rows */
    const char *const *x_labels; /* [n] */
    size_t n;
    const lw_svg_strip_row_t *rows;
    size_t nrows;                  /* 1..LW_SVG_MAX_STRIP_ROWS */
    const char *const *cat_names;  /* [ncats] legend text */
    const char *const *cat_colors; /* [ncats] */
    size_t ncats;                  /* 1..LW_SVG_MAX_STRIP_CATS */
} lw_svg_strip_opts_t;

/*
 * One horizontal band per row; each run of periods with the same category
 * is one rectangle in its colour (tooltip: category, first and last
 * period); periods without a category stay blank.  Legend of the
 * categories below, period axis under the last row.
 */
lw_err_t lw_svg_strip_chart(lw_buf_t *out, const lw_svg_strip_opts_t *opts, char *errstr,
                            size_t errstr_size);

/* ---- a scatter with error bars and a fitted line (svg_scatter.c) ---- */

/* One point; NAN x or y = not drawn. */
typedef struct {
    double x, y;
    double x_lo, x_hi, y_lo, y_hi; /* error bar ends; NAN = no bar on that axis */
    bool filled;                   /* filled marker, else hollow (say which in the subtitle) */
    const char *label;             /* tooltip; NULL = the coordinates only */
} lw_svg_point_t;

typedef struct {
    lw_svg_frame_t frame; /* default 360 x 380; x_label / y_label name the axes */
    const lw_svg_point_t *points;
    size_t n;
    bool line; /* the line y = line_y + line_slope (x - line_x), clipped to the plot */
    double line_x, line_y, line_slope;
    const char *line_label; /* legend text of the line */
} lw_svg_scatter_opts_t;

/*
 * Points on two linear axes, both always including 0 (dashed zero lines),
 * the range that of the points (error bars are clipped to the plot: a bar
 * that reaches the edge runs beyond it), grey error bars, markers with a
 * tooltip, and the optional line in vermillion with a legend entry.
 */
lw_err_t lw_svg_scatter_chart(lw_buf_t *out, const lw_svg_scatter_opts_t *opts, char *errstr,
                              size_t errstr_size);

#endif
