/*
 * svg_scatter.c - a scatter of points with error bars and a fitted line
 * (lw_svg_scatter_chart, contract in svg.h): the report's "Experiments"
 * chart, one point per experiment arm, the input's effect on x and the
 * NSM's on y.
 *
 * Scales: both axes are linear over the points' range widened to include
 * 0 and padded by 8 %, so the zero lines (dashed) always show which
 * quadrant a point is in.  Error bars do not widen the range: one noisy
 * experiment would otherwise squeeze every other point into a corner; a
 * bar is clipped at the plot's edge instead.  The line is clipped to the
 * plot on both axes (solved for the x where it crosses the top and the
 * bottom).  Markers are circles (filled or hollow, the caller says what
 * the difference means), each with a <title> tooltip.
 */
#include "leadwatch/report/svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MARKER_R 4.0

static void range_of(const lw_svg_point_t *p, size_t n, bool y, double *lo, double *hi)
{
    *lo = 0;
    *hi = 0;
    for (size_t i = 0; i < n; i++) {
        double v = y ? p[i].y : p[i].x;
        if (isfinite(p[i].x) && isfinite(p[i].y)) {
            *lo = fmin(*lo, v);
            *hi = fmax(*hi, v);
        }
    }
    double pad = (*hi - *lo) * 0.08;
    if (!(pad > 0))
        pad = 1;
    *lo -= pad;
    *hi += pad;
}

static void seg(lw_buf_t *b, double x0, double y0, double x1, double y1)
{
    lw_buf_puts(b, "M");
    lw_svg_put_num(b, x0);
    lw_buf_putc(b, ' ');
    lw_svg_put_num(b, y0);
    lw_buf_puts(b, "L");
    lw_svg_put_num(b, x1);
    lw_buf_putc(b, ' ');
    lw_svg_put_num(b, y1);
}

static void zero_lines(lw_buf_t *b, const lw_svg_layout_t *L, const lw_svg_scale_t *sx,
                       const lw_svg_scale_t *sy)
{
    double x = lw_svg_map_x(L, sx, 0), y = lw_svg_map_y(L, sy, 0);
    lw_buf_puts(b, "<path class=\"lw-zero\" d=\"");
    seg(b, x, L->y0, x, L->y0 + L->ph);
    seg(b, L->x0, y, L->x0 + L->pw, y);
    lw_buf_puts(b, "\" fill=\"none\" stroke=\"" LW_SVG_C_MUTED "\" stroke-dasharray=\"4 3\"/>");
}

static void error_bars(lw_buf_t *b, const lw_svg_layout_t *L, const lw_svg_scale_t *sx,
                       const lw_svg_scale_t *sy, const lw_svg_point_t *p, size_t n)
{
    lw_buf_puts(b, "<path class=\"lw-errbar\" d=\"");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(p[i].x) || !isfinite(p[i].y))
            continue;
        double x = lw_svg_map_x(L, sx, p[i].x), y = lw_svg_map_y(L, sy, p[i].y);
        if (isfinite(p[i].x_lo) && isfinite(p[i].x_hi))
            seg(b, lw_svg_map_x(L, sx, p[i].x_lo), y, lw_svg_map_x(L, sx, p[i].x_hi), y);
        if (isfinite(p[i].y_lo) && isfinite(p[i].y_hi))
            seg(b, x, lw_svg_map_y(L, sy, p[i].y_lo), x, lw_svg_map_y(L, sy, p[i].y_hi));
    }
    lw_buf_puts(b, "\" fill=\"none\" stroke=\"" LW_SVG_C_GREY "\" stroke-width=\"1\"/>");
}

/* The line clipped to the plot; false when it misses it. */
static bool fit_line(lw_buf_t *b, const lw_svg_layout_t *L, const lw_svg_scale_t *sx,
                     const lw_svg_scale_t *sy, const lw_svg_scatter_opts_t *o)
{
    double a = o->line_x, c = o->line_y, k = o->line_slope;
    if (!isfinite(a) || !isfinite(c) || !isfinite(k))
        return false;
    double x0 = sx->lo, x1 = sx->hi;
    if (k != 0) { /* the x where it crosses the bottom and the top */
        double xa = a + (sy->lo - c) / k, xb = a + (sy->hi - c) / k;
        x0 = fmax(x0, fmin(xa, xb));
        x1 = fmin(x1, fmax(xa, xb));
    } else if (c < sy->lo || c > sy->hi) {
        return false;
    }
    if (!(x0 < x1))
        return false;
    lw_buf_puts(b, "<path class=\"lw-fit\" d=\"");
    seg(b, lw_svg_map_x(L, sx, x0), lw_svg_map_y(L, sy, c + k * (x0 - a)), lw_svg_map_x(L, sx, x1),
        lw_svg_map_y(L, sy, c + k * (x1 - a)));
    lw_buf_puts(b, "\" fill=\"none\" stroke=\"" LW_SVG_C_VERMILLION "\" stroke-width=\"2\"/>");
    return true;
}

static void markers(lw_buf_t *b, const lw_svg_layout_t *L, const lw_svg_scale_t *sx,
                    const lw_svg_scale_t *sy, const lw_svg_point_t *p, size_t n)
{
    lw_buf_puts(b, "<g class=\"lw-points\" stroke=\"" LW_SVG_C_BLUE "\" stroke-width=\"1.5\">");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(p[i].x) || !isfinite(p[i].y))
            continue;
        lw_buf_puts(b, "<circle class=\"lw-point\"");
        lw_svg_attr(b, "cx", lw_svg_map_x(L, sx, p[i].x));
        lw_svg_attr(b, "cy", lw_svg_map_y(L, sy, p[i].y));
        lw_svg_attr(b, "r", MARKER_R);
        lw_buf_puts(b,
                    p[i].filled ? " fill=\"" LW_SVG_C_BLUE "\"><title>" : " fill=\"#fff\"><title>");
        if (p[i].label) {
            lw_buf_put_xml(b, p[i].label);
            lw_buf_puts(b, ": ");
        }
        char xs[32], ys[32];
        lw_svg_fmt_value(xs, sizeof xs, p[i].x, sx->decimals + 1);
        lw_svg_fmt_value(ys, sizeof ys, p[i].y, sy->decimals + 1);
        lw_buf_printf(b, "x %s, y %s</title></circle>", xs, ys);
    }
    lw_buf_puts(b, "</g>");
}

lw_err_t lw_svg_scatter_chart(lw_buf_t *out, const lw_svg_scatter_opts_t *o, char *errstr,
                              size_t errstr_size)
{
    lw_err_t err = lw_svg_check_chart(out, &o->frame, o->n, o->points != NULL, "scatter chart",
                                      errstr, errstr_size);
    if (err != LW_OK)
        return err;
    size_t mark = out->len, drawn = 0;
    for (size_t i = 0; i < o->n; i++)
        drawn += isfinite(o->points[i].x) && isfinite(o->points[i].y);
    lw_svg_legend_item_t items[1];
    size_t ni = 0;
    memset(items, 0, sizeof items);
    if (o->line && o->line_label)
        lw_svg_legend_add(items, &ni,
                          (lw_svg_legend_item_t){
                              .color = LW_SVG_C_VERMILLION, .kind = LW_SVG_SW_LINE, .width = 2},
                          "%s", o->line_label);
    lw_svg_layout_t L;
    lw_svg_open_axes(out, "scatter", &o->frame, o->frame.subtitle, 360, 380, items, ni, 0, &L);
    double xlo, xhi, ylo, yhi;
    range_of(o->points, o->n, false, &xlo, &xhi);
    range_of(o->points, o->n, true, &ylo, &yhi);
    lw_svg_scale_t sx, sy;
    lw_svg_scale_linear(&sx, xlo, xhi, 4);
    lw_svg_scale_linear(&sy, ylo, yhi, 4);
    char ytitle[LW_SVG_TITLE_SIZE], xtitle[LW_SVG_TITLE_SIZE];
    lw_svg_axis_titles(&o->frame, "y", "x", ytitle, xtitle);
    lw_svg_plot_area(out, &L);
    lw_svg_axis_y(out, &L, &sy, ytitle);
    lw_svg_axis_x_linear(out, &L, &sx, xtitle);
    lw_svg_axis_lines(out, &L);
    zero_lines(out, &L, &sx, &sy);
    error_bars(out, &L, &sx, &sy, o->points, o->n);
    if (o->line)
        fit_line(out, &L, &sx, &sy, o);
    markers(out, &L, &sx, &sy, o->points, o->n);
    return lw_svg_close_axes(out, &L, drawn > 0, items, ni, mark, errstr, errstr_size);
}
