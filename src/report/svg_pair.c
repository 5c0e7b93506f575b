/*
 * svg_pair.c - the "values first" chart of the report (lw_svg_pair_chart,
 * contract in svg.h): two metrics in their own units on two stacked panels
 * that share one period axis, with vertical marks (a break date, an alarm)
 * drawn across both.
 *
 * Why two panels and not one chart with a left and a right axis: two y
 * scales on one plot invite reading crossings of the lines as meaningful,
 * and their relative scaling is arbitrary.  Stacked panels keep each metric
 * in its own units (the numbers an analyst knows) while the shared x axis
 * keeps them aligned in time; the input drawn shifted by its lead lines its
 * movements up with the NSM movements they precede.
 *
 * Layout (viewBox px): the title block from lw_svg_open; then per panel a
 * 18 px name row and the plot; the period axis (ticks, labels, title) under
 * the lower panel only.  The left margin and the y axes come from the
 * canvas (lw_svg_layout_axes' x0), so the plots align with the report's
 * other charts.  Each panel is an .lw-plot rect (the report's browser test
 * measures them).  Mark labels sit at the top of the upper panel, right of
 * the line, or left of it near the right edge; a second mark whose label
 * would overlap the first moves one row down.
 */
#include "leadwatch/report/svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_ROW 18.0
#define AXIS_BELOW 44.0
#define RIGHT_PAD 16.0

static void panel_range(const lw_svg_panel_t *p, size_t n, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        long at = (long)i + p->shift;
        if (at < 0 || (size_t)at >= n || !isfinite(p->values[i]))
            continue;
        *lo = fmin(*lo, p->values[i]);
        *hi = fmax(*hi, p->values[i]);
    }
}

/* One panel: name, plot area, y axis, line.  Returns true when a point was drawn. */
static bool draw_panel(lw_buf_t *b, const lw_svg_layout_t *L, const lw_svg_panel_t *p, size_t n)
{
    lw_svg_text_fit(b, L->x0, L->y0 - 6, NULL, LW_SVG_FONT_PX, " font-weight=\"bold\"",
                    p->name ? p->name : "", L->pw / LW_SVG_BOLD_WIDER);
    lw_svg_plot_area(b, L);
    double lo, hi;
    panel_range(p, n, &lo, &hi);
    if (lo == hi && isfinite(lo)) { /* a constant series still gets an axis */
        lo -= fabs(lo) * 0.05 + 1e-9;
        hi += fabs(hi) * 0.05 + 1e-9;
    }
    lw_svg_scale_t sc;
    lw_svg_scale_linear(&sc, lo, hi, 4);
    lw_svg_axis_y(b, L, &sc, p->unit);
    lw_svg_axis_lines(b, L);
    if (!(lo <= hi))
        return false;
    size_t m = b->len;
    lw_buf_puts(b, "<path class=\"lw-series\" d=\"");
    size_t drawn = lw_svg_line_path(b, L, &sc, p->values, n, p->shift, lw_svg_x_of_index, 0);
    if (drawn == 0) {
        if (b->err == LW_OK)
            lw_buf_rewind(b, m);
        return false;
    }
    lw_buf_puts(b, "\" fill=\"none\" stroke-linejoin=\"round\" stroke-width=\"1.8\" stroke=\"");
    lw_buf_puts(b, p->color ? p->color : LW_SVG_C_BLACK);
    lw_buf_puts(b, "\"/>");
    return true;
}

static void draw_marks(lw_buf_t *b, const lw_svg_layout_t *top, const lw_svg_layout_t *bot,
                       const lw_svg_pair_opts_t *o)
{
    double used_right[LW_SVG_MAX_MARKS]; /* label extents per label row */
    size_t nrows = 0;
    lw_buf_puts(b, "<g class=\"lw-marks\">");
    for (size_t k = 0; k < o->nmarks; k++) {
        const lw_svg_vmark_t *mk = &o->marks[k];
        if (mk->index >= o->n)
            continue;
        const char *color = mk->color ? mk->color : LW_SVG_C_VERMILLION;
        double x = lw_svg_x_of_index(bot, o->n, (double)mk->index);
        lw_buf_puts(b, "<path d=\"M");
        lw_svg_put_num(b, x);
        lw_buf_putc(b, ' ');
        lw_svg_put_num(b, top->y0);
        lw_buf_puts(b, "V");
        lw_svg_put_num(b, bot->y0 + bot->ph);
        lw_buf_puts(b, "\" stroke=\"");
        lw_buf_puts(b, color);
        lw_buf_puts(b, "\" stroke-width=\"2\" stroke-dasharray=\"");
        lw_buf_puts(b, mk->dash ? mk->dash : "5 3");
        lw_buf_puts(b, "\"/>");
        const char *lab = mk->label ? mk->label : "";
        double tw = lw_svg_text_px(lab, LW_SVG_FONT_PX) * LW_SVG_BOLD_WIDER;
        bool left = x + 4 + tw > top->x0 + top->pw;
        double x0 = left ? x - 4 - tw : x + 4;
        size_t row = 0;
        while (row < nrows && x0 < used_right[row] + 6)
            row++;
        if (row == nrows && nrows < LW_SVG_MAX_MARKS)
            nrows++;
        if (row < LW_SVG_MAX_MARKS)
            used_right[row] = x0 + tw;
        char extra[160]; /* the label in its line's colour */
        snprintf(extra, sizeof extra, " font-weight=\"bold\" class=\"lw-mark\" fill=\"%s\"%s",
                 color, LW_SVG_HALO);
        lw_svg_text_fit(b, left ? x - 4 : x + 4, top->y0 + 14 + 15 * (double)row,
                        left ? "end" : NULL, LW_SVG_FONT_PX, extra, lab,
                        left ? x - 4 - top->x0 : top->x0 + top->pw - x - 4);
    }
    lw_buf_puts(b, "</g>");
}

lw_err_t lw_svg_pair_chart(lw_buf_t *out, const lw_svg_pair_opts_t *o, char *errstr,
                           size_t errstr_size)
{
    lw_err_t err = lw_svg_check_chart(out, &o->frame, o->n, o->top.values && o->bottom.values,
                                      "pair chart", errstr, errstr_size);
    if (err != LW_OK)
        return err;
    if (o->nmarks > LW_SVG_MAX_MARKS || (o->nmarks && !o->marks))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "pair chart: at most %d marks",
                         LW_SVG_MAX_MARKS);
    if (abs(o->top.shift) > LW_SVG_MAX_POINTS || abs(o->bottom.shift) > LW_SVG_MAX_POINTS)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "pair chart: shift out of range");
    size_t mark = out->len;
    double w = o->frame.width > 0 ? o->frame.width : 960;
    double h = o->frame.height > 0 ? o->frame.height : 420;
    double top = lw_svg_open(out, "pair", &o->frame, o->frame.subtitle, NULL, w, h);
    lw_svg_layout_t L1, L2;
    lw_svg_layout_axes(&L1, w, h, top, 0, 0);
    L1.pw = w - L1.x0 - RIGHT_PAD;
    double avail = h - top - 2 * NAME_ROW - AXIS_BELOW - 8;
    if (avail < 80)
        avail = 80;
    L1.y0 = top + NAME_ROW;
    L1.ph = avail / 2;
    L2 = L1;
    L2.y0 = L1.y0 + L1.ph + NAME_ROW + 8;
    bool any = draw_panel(out, &L1, &o->top, o->n);
    any = draw_panel(out, &L2, &o->bottom, o->n) || any;
    char xtitle[LW_SVG_TITLE_SIZE];
    lw_svg_label_with_unit(xtitle, sizeof xtitle, o->frame.x_label, o->frame.x_unit);
    lw_svg_axis_x_periods(out, &L2, o->x_labels, o->n, xtitle);
    draw_marks(out, &L1, &L2, o);
    if (!any)
        lw_svg_no_data_note(out, &L1);
    lw_svg_close(out);
    return lw_svg_finish(out, mark, LW_OK, errstr, errstr_size);
}
