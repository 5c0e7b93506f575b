/*
 * svg.c - the SVG charts of the report (svg.h): line chart, lag bars,
 * p-values by lag, rolling-window history, gauge bar and the metric tree,
 * drawn with the primitives of svg_canvas.c (layout, scales, axes, text
 * fitting and legends are explained there).
 *
 * Why hand-written: the report must be one self-contained file with no
 * JavaScript, so browser charting libraries are out, and the C options
 * (gnuplot, cairo, plotutils) either draw raster images, pull a large
 * dependency into a daemon, or produce SVG with fonts and ids we cannot
 * control.  The charts here are a few kinds of axes, paths and rectangles.
 *
 * The tree diagram has its own layout: input boxes stacked on the left
 * (as wide as the longest name needs, up to 22% of the width), the NSM box
 * (tall, name wrapped to 3 lines) and the KPI box to the right, everything
 * centred on the tallest column.  An edge runs horizontally for 75% of the
 * gap, then bends into its own port on the NSM's left side (ports are
 * spread over the box's height so edges do not converge on one point); its
 * label sits on the straight part, above it when the edge bends down and
 * below it when it bends up, so labels never cross another edge.
 *
 * Every chart follows the same steps: check the options (lw_svg_check_chart),
 * remember the buffer length, open the frame, compute the legend height
 * first and give the plot what is left, draw axes, data and reference
 * lines, close, and lw_svg_finish() - which rewinds to the remembered length on
 * any error, so the buffer never holds half a chart.
 */
#include "leadwatch/report/svg.h"

#include "leadwatch/report/svg_canvas.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- normalisation ------------------------------------------------------ */

bool lw_svg_normalize(const double *in, size_t n, lw_svg_norm_t norm, double *out)
{
    size_t k = 0;
    double sum = 0, first = NAN;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(in[i])) {
            if (k == 0)
                first = in[i];
            sum += in[i];
            k++;
        }
    }
    bool ok = k > 0 && !(norm == LW_SVG_NORM_INDEX100 && first == 0);
    if (!ok) {
        for (size_t i = 0; i < n; i++)
            out[i] = NAN;
        return false;
    }
    /* two-pass variance: accurate for series with a large mean */
    double mean = sum / (double)k, ss = 0;
    if (norm == LW_SVG_NORM_ZSCORE) {
        for (size_t i = 0; i < n; i++)
            if (isfinite(in[i]))
                ss += (in[i] - mean) * (in[i] - mean);
    }
    double sd = k > 1 ? sqrt(ss / (double)(k - 1)) : 0;
    for (size_t i = 0; i < n; i++) {
        double v = in[i], r;
        if (!isfinite(v)) {
            out[i] = NAN;
            continue;
        }
        switch (norm) {
        case LW_SVG_NORM_ZSCORE: r = sd > 0 ? (v - mean) / sd : 0; break;
        case LW_SVG_NORM_INDEX100: r = 100 * (v / first); break;
        default: r = v; break;
        }
        out[i] = isfinite(r) ? r : (double)NAN;
    }
    return true;
}

/* ---- line chart --------------------------------------------------------- */

static const char *norm_axis_name(lw_svg_norm_t norm)
{
    switch (norm) {
    case LW_SVG_NORM_ZSCORE: return "z-score";
    case LW_SVG_NORM_INDEX100: return "Index (first value = 100)";
    default: return "Value";
    }
}

lw_err_t lw_svg_line_chart(lw_buf_t *out, const lw_svg_line_opts_t *o, char *errstr,
                           size_t errstr_size)
{
    /* the buffer and the frame (n = 0: this chart checks its own inputs below) */
    lw_err_t err = lw_svg_check_chart(out, &o->frame, 0, true, "line chart", errstr, errstr_size);
    if (err != LW_OK)
        return err;
    if (o->n > LW_SVG_MAX_POINTS)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "%zu points exceed the bound %d",
                         o->n, LW_SVG_MAX_POINTS);
    if (o->nseries == 0 || o->nseries > LW_SVG_MAX_SERIES || !o->series)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "a line chart needs 1..%d series, got %zu", LW_SVG_MAX_SERIES, o->nseries);
    for (size_t s = 0; s < o->nseries; s++) {
        if (o->n > 0 && !o->series[s].values)
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "series %zu has no values", s);
        if (o->series[s].shift < -LW_SVG_MAX_POINTS || o->series[s].shift > LW_SVG_MAX_POINTS)
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                             "series %zu: shift %d out of range", s, o->series[s].shift);
    }

    size_t mark = out->len;
    double *norm = NULL;
    if (o->n > 0) {
        norm = malloc(o->n * o->nseries * sizeof *norm);
        if (!norm)
            return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory (line chart)");
    }
    lw_svg_legend_item_t items[LW_SVG_MAX_SERIES];
    bool has_data[LW_SVG_MAX_SERIES];
    const char *color[LW_SVG_MAX_SERIES];
    const char *dash[LW_SVG_MAX_SERIES];
    double dmin = INFINITY, dmax = -INFINITY;
    bool same_norm = true;
    size_t ci = 0;
    for (size_t s = 0; s < o->nseries; s++) {
        const lw_svg_series_t *sr = &o->series[s];
        double *v = norm + s * o->n;
        has_data[s] = o->n > 0 && lw_svg_normalize(sr->values, o->n, sr->norm, v);
        same_norm = same_norm && sr->norm == o->series[0].norm;
        for (size_t p = 0; has_data[s] && p < o->n; p++) {
            long idx = (long)p - sr->shift;
            if (idx < 0 || (size_t)idx >= o->n || !isfinite(v[idx]))
                continue;
            dmin = fmin(dmin, v[idx]);
            dmax = fmax(dmax, v[idx]);
        }
        if (sr->emphasis) {
            color[s] = LW_SVG_C_BLACK;
            dash[s] = NULL;
        } else {
            color[s] = lw_svg_series_colors[ci % LW_SVG_NSERIES_COLORS];
            dash[s] = ci >= LW_SVG_NSERIES_COLORS ? "2 2" : NULL;
            ci++;
        }
        if (sr->shift != 0)
            dash[s] = "7 4";
        if (sr->color)
            color[s] = sr->color;
        lw_svg_legend_item_t *it = &items[s];
        const char *name = sr->name ? sr->name : "series";
        if (!has_data[s])
            snprintf(it->text, sizeof it->text, "%s (no data)", name);
        else if (sr->shift != 0)
            snprintf(it->text, sizeof it->text, "%s (shifted %+d period%s)", name, sr->shift,
                     abs(sr->shift) == 1 ? "" : "s");
        else
            snprintf(it->text, sizeof it->text, "%s", name);
        it->color = color[s];
        it->dash = dash[s];
        it->width = sr->emphasis ? 2.6 : 1.6;
        it->kind = LW_SVG_SW_LINE;
        it->opacity = 1;
    }

    /* the legend lists the series not marked no_legend, in order */
    lw_svg_legend_item_t shown[LW_SVG_MAX_SERIES];
    size_t nshown = 0;
    for (size_t s = 0; s < o->nseries; s++)
        if (!o->series[s].no_legend)
            shown[nshown++] = items[s];
    lw_svg_layout_t L;
    lw_svg_open_axes(out, "line", &o->frame, o->frame.subtitle, 960, 380, shown, nshown, 0, &L);

    lw_svg_scale_t sc;
    lw_svg_scale_linear(&sc, dmin, dmax, 5);
    char ytitle[LW_SVG_TITLE_SIZE], xtitle[LW_SVG_TITLE_SIZE];
    lw_svg_axis_titles(&o->frame,
                       same_norm ? norm_axis_name(o->series[0].norm) : "Normalised value", NULL,
                       ytitle, xtitle);

    lw_svg_plot_area(out, &L);
    lw_svg_axis_y(out, &L, &sc, ytitle);
    lw_svg_axis_x_periods(out, &L, o->x_labels, o->n, xtitle);
    if (sc.lo < 0 && sc.hi > 0 && !sc.log)
        lw_svg_ref_hline(out, &L, lw_svg_map_y(&L, &sc, 0), "#bbb", NULL, NULL);
    lw_svg_axis_lines(out, &L);

    bool any = false;
    /*
     * Emphasised series (the NSM) first, then the others, then shifted ones
     * last: a shifted input is drawn to be compared with what lies under it.
     */
    for (int pass = 0; pass < 3; pass++) {
        for (size_t s = 0; s < o->nseries; s++) {
            const lw_svg_series_t *sr = &o->series[s];
            int rank = sr->emphasis ? 0 : sr->shift == 0 ? 1 : 2;
            if (!has_data[s] || rank != pass)
                continue;
            size_t m = out->len;
            lw_buf_puts(out, "<path class=\"lw-series\" d=\"");
            size_t drawn = lw_svg_line_path(out, &L, &sc, norm + s * o->n, o->n, sr->shift,
                                            lw_svg_x_of_index, 0);
            if (drawn == 0) { /* shifted entirely out of view */
                if (out->err != LW_OK)
                    break;
                lw_buf_rewind(out, m);
                continue;
            }
            any = true;
            lw_buf_puts(out, "\" fill=\"none\" stroke-linejoin=\"round\" stroke-linecap=\"round\" "
                             "stroke=\"");
            lw_buf_puts(out, color[s]);
            lw_buf_putc(out, '"');
            lw_svg_attr(out, "stroke-width", sr->emphasis ? 2.6 : 1.6);
            if (dash[s]) {
                lw_buf_puts(out, " stroke-dasharray=\"");
                lw_buf_puts(out, dash[s]);
                lw_buf_putc(out, '"');
            }
            lw_buf_puts(out, "><title>");
            lw_buf_put_xml(out, items[s].text);
            lw_buf_puts(out, "</title></path>");
        }
    }
    free(norm);
    return lw_svg_close_axes(out, &L, any, shown, nshown, mark, errstr, errstr_size);
}

/* ---- lag bar chart ------------------------------------------------------ */

lw_err_t lw_svg_bar_chart(lw_buf_t *out, const lw_svg_bar_opts_t *o, char *errstr,
                          size_t errstr_size)
{
    lw_err_t err = lw_svg_check_chart(out, &o->frame, o->n, o->values != NULL, "bar chart", errstr,
                                      errstr_size);
    if (err != LW_OK)
        return err;
    size_t mark = out->len;
    bool band = isfinite(o->band) && o->band > 0;
    double m = band ? o->band : 0;
    bool any = false;
    for (size_t i = 0; i < o->n; i++)
        if (isfinite(o->values[i])) {
            m = fmax(m, fabs(o->values[i]));
            any = true;
        }
    if (!(m > 0))
        m = 1;

    lw_svg_legend_item_t items[4];
    size_t ni = 0;
    memset(items, 0, sizeof items);
    lw_svg_legend_add(items, &ni,
                      (lw_svg_legend_item_t){.color = LW_SVG_C_BLUE, .kind = LW_SVG_SW_RECT},
                      band ? "outside the band" : "value");
    if (band) {
        lw_svg_legend_add(items, &ni,
                          (lw_svg_legend_item_t){.color = LW_SVG_C_GREY, .kind = LW_SVG_SW_RECT},
                          "inside the band");
        if (o->band_label)
            lw_svg_legend_add(items, &ni,
                              (lw_svg_legend_item_t){
                                  .color = LW_SVG_C_SKY, .kind = LW_SVG_SW_RECT, .opacity = 0.25},
                              "%s", o->band_label);
        else
            lw_svg_legend_add(items, &ni,
                              (lw_svg_legend_item_t){
                                  .color = LW_SVG_C_SKY, .kind = LW_SVG_SW_RECT, .opacity = 0.25},
                              "significance band \xC2\xB1%.3g", o->band);
    }
    if (o->highlight) {
        if (o->highlight_label)
            lw_svg_legend_add(
                items, &ni,
                (lw_svg_legend_item_t){.color = LW_SVG_C_BLACK, .kind = LW_SVG_SW_OUTLINE}, "%s",
                o->highlight_label);
        else
            lw_svg_legend_add(
                items, &ni,
                (lw_svg_legend_item_t){.color = LW_SVG_C_BLACK, .kind = LW_SVG_SW_OUTLINE},
                "detected lag %d", o->highlight_lag);
    }

    lw_svg_layout_t L;
    lw_svg_open_axes(out, "bar", &o->frame, o->frame.subtitle, 720, 300, items, ni, 0, &L);

    lw_svg_scale_t sc;
    lw_svg_scale_linear(&sc, -m * 1.05, m * 1.05, 4);
    /* symmetric around zero: take the larger end for both */
    double end = fmax(-sc.lo, sc.hi);
    sc.lo = -end;
    sc.hi = end;
    char ytitle[LW_SVG_TITLE_SIZE], xtitle[LW_SVG_TITLE_SIZE];
    lw_svg_axis_titles(&o->frame, "Cross-correlation", "Lag", ytitle, xtitle);

    lw_svg_plot_area(out, &L);
    lw_svg_axis_y(out, &L, &sc, ytitle);
    if (band) {
        double yt = lw_svg_map_y(&L, &sc, o->band), yb = lw_svg_map_y(&L, &sc, -o->band);
        lw_buf_puts(out, "<rect class=\"lw-band\"");
        lw_svg_rect_attrs(out, L.x0, yt, L.pw, yb - yt);
        lw_buf_puts(out, " fill=\"" LW_SVG_C_SKY "\" fill-opacity=\"0.25\"><title>");
        lw_buf_put_xml(out, items[2].text);
        lw_buf_puts(out, "</title></rect>");
    }
    lw_svg_axis_x_lags(out, &L, o->lag_min, o->n, xtitle);
    double slot = L.pw / (double)(o->n ? o->n : 1);
    double bw = fmax(1, slot * 0.72);
    double y0 = lw_svg_map_y(&L, &sc, 0);
    lw_buf_puts(out, "<g class=\"lw-bars\" fill=\"" LW_SVG_C_BLUE "\">");
    for (size_t i = 0; i < o->n; i++) {
        double v = o->values[i];
        if (!isfinite(v))
            continue;
        long lag = (long)o->lag_min + (long)i;
        double yv = lw_svg_map_y(&L, &sc, v);
        bool outside = !band || fabs(v) > o->band;
        bool hl = o->highlight && lag == o->highlight_lag;
        lw_buf_puts(out, "<rect");
        lw_svg_rect_attrs(out, lw_svg_x_of_slot(&L, o->n, (double)i) - bw / 2, fmin(yv, y0), bw,
                          fmax(fabs(y0 - yv), 0.5));
        if (!outside)
            lw_buf_puts(out, " fill=\"" LW_SVG_C_GREY "\"");
        if (hl)
            lw_buf_puts(out, " stroke=\"#000\" stroke-width=\"2\"");
        lw_buf_printf(out, "><title>lag %ld: ", lag);
        char val[48];
        lw_svg_fmt_value(val, sizeof val, v, 3);
        lw_buf_puts(out, val);
        if (band)
            lw_buf_puts(out, outside ? " (outside the band)" : " (inside the band)");
        lw_buf_puts(out, "</title></rect>");
    }
    lw_buf_puts(out, "</g>");
    lw_svg_ref_hline(out, &L, y0, "#333", NULL, NULL);
    lw_svg_axis_lines(out, &L);
    return lw_svg_close_axes(out, &L, any, items, ni, mark, errstr, errstr_size);
}

/* ---- p-values by lag ---------------------------------------------------- */

static void pvalue_markers(lw_buf_t *b, const lw_svg_layout_t *L, const lw_svg_scale_t *s,
                           const double *p, size_t n, int lag_min, double floor_p,
                           lw_svg_swatch_t kind, const char *color, const char *name)
{
    lw_buf_puts(b, "<g class=\"lw-markers\" stroke=\"#fff\" stroke-width=\"0.8\">");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(p[i]))
            continue;
        double v = lw_svg_clampd(p[i], floor_p, 1);
        lw_svg_marker(b, kind, lw_svg_x_of_slot(L, n, (double)i), lw_svg_map_y(L, s, v), color);
        lw_buf_puts(b, "><title>");
        lw_buf_put_xml(b, name);
        lw_buf_printf(b, ", lag %ld: ", (long)lag_min + (long)i);
        if (p[i] < floor_p)
            lw_buf_printf(b, "p &lt; %g (drawn at %g)", floor_p, floor_p);
        else
            lw_buf_printf(b, "p = %.3g", p[i]);
        lw_buf_puts(b, kind == LW_SVG_SW_LINE_CIRCLE ? "</title></circle>" : "</title></rect>");
    }
    lw_buf_puts(b, "</g>");
}

static void series_path(lw_buf_t *b, const lw_svg_layout_t *L, const lw_svg_scale_t *s,
                        const double *v, size_t n, lw_svg_xpos_fn xs, double floor_p,
                        const char *color, double width, const char *dash)
{
    size_t m = b->len;
    lw_buf_puts(b, "<path class=\"lw-series\" d=\"");
    if (lw_svg_line_path(b, L, s, v, n, 0, xs, floor_p) == 0) {
        if (b->err == LW_OK)
            lw_buf_rewind(b, m);
        return;
    }
    lw_buf_puts(b, "\" fill=\"none\" stroke-linejoin=\"round\" stroke-linecap=\"round\" stroke=\"");
    lw_buf_puts(b, color);
    lw_buf_putc(b, '"');
    lw_svg_attr(b, "stroke-width", width);
    if (dash) {
        lw_buf_puts(b, " stroke-dasharray=\"");
        lw_buf_puts(b, dash);
        lw_buf_putc(b, '"');
    }
    lw_buf_puts(b, "/>");
}

static double p_floor_of(double f)
{
    return isfinite(f) && f > 0 && f < 1 ? f : LW_SVG_P_FLOOR;
}

lw_err_t lw_svg_pvalue_chart(lw_buf_t *out, const lw_svg_pvalue_opts_t *o, char *errstr,
                             size_t errstr_size)
{
    lw_err_t err = lw_svg_check_chart(out, &o->frame, o->n, o->p_xy || o->p_yx, "p-value chart",
                                      errstr, errstr_size);
    if (err != LW_OK)
        return err;
    double alpha = isfinite(o->alpha) && o->alpha > 0 && o->alpha < 1 ? o->alpha : 0.05;
    double floor_p = p_floor_of(o->floor);
    size_t mark = out->len;

    double pmin = fmin(alpha, 0.01);
    bool clamped = false, any = false;
    const double *dirs[2] = {o->p_xy, o->p_yx};
    for (int d = 0; d < 2; d++)
        for (size_t i = 0; dirs[d] && i < o->n; i++) {
            double p = dirs[d][i];
            if (!isfinite(p))
                continue;
            any = true;
            if (p < floor_p)
                clamped = true;
            pmin = fmin(pmin, fmax(p, floor_p));
        }

    char sub[512];
    lw_svg_clamp_subtitle(sub, sizeof sub, &o->frame, clamped, "p-values", floor_p);

    lw_svg_legend_item_t items[3];
    size_t ni = 0;
    memset(items, 0, sizeof items);
    if (o->p_xy) {
        lw_svg_legend_add(items, &ni,
                          (lw_svg_legend_item_t){
                              .color = LW_SVG_C_BLUE, .kind = LW_SVG_SW_LINE_CIRCLE, .width = 2},
                          "%s", o->name_xy ? o->name_xy : "x \xE2\x86\x92 y");
    }
    if (o->p_yx) {
        lw_svg_legend_add(items, &ni,
                          (lw_svg_legend_item_t){.color = LW_SVG_C_VERMILLION,
                                                 .kind = LW_SVG_SW_LINE_SQUARE,
                                                 .width = 2,
                                                 .dash = "6 3"},
                          "%s", o->name_yx ? o->name_yx : "y \xE2\x86\x92 x");
    }
    lw_svg_legend_add(
        items, &ni,
        (lw_svg_legend_item_t){.color = LW_SVG_C_GREEN, .kind = LW_SVG_SW_RECT, .opacity = 0.12},
        "p < \xCE\xB1 (significant)");
    char alab[64];
    snprintf(alab, sizeof alab, "\xCE\xB1 = %g", alpha);

    lw_svg_layout_t L;
    lw_svg_open_axes(out, "pvalue", &o->frame, sub, 720, 300, items, ni,
                     lw_svg_text_px(alab, LW_SVG_SMALL_PX), &L);

    lw_svg_scale_t sc;
    lw_svg_scale_log(&sc, pmin, floor_p, 1);
    char ytitle[LW_SVG_TITLE_SIZE], xtitle[LW_SVG_TITLE_SIZE];
    lw_svg_axis_titles(&o->frame, "p-value (log)", "Lag", ytitle, xtitle);

    lw_svg_plot_area(out, &L);
    double ya = lw_svg_map_y(&L, &sc, alpha);
    lw_buf_puts(out, "<rect class=\"lw-significant\"");
    lw_svg_rect_attrs(out, L.x0, ya, L.pw, L.y0 + L.ph - ya);
    lw_buf_puts(out, " fill=\"" LW_SVG_C_GREEN "\" fill-opacity=\"0.12\"/>");
    lw_svg_axis_y(out, &L, &sc, ytitle);
    lw_svg_axis_x_lags(out, &L, o->lag_min, o->n, xtitle);
    lw_svg_axis_lines(out, &L);
    if (o->p_yx) {
        series_path(out, &L, &sc, o->p_yx, o->n, lw_svg_x_of_slot, floor_p, LW_SVG_C_VERMILLION, 2,
                    "6 3");
        pvalue_markers(out, &L, &sc, o->p_yx, o->n, o->lag_min, floor_p, LW_SVG_SW_LINE_SQUARE,
                       LW_SVG_C_VERMILLION, items[o->p_xy ? 1 : 0].text);
    }
    if (o->p_xy) {
        series_path(out, &L, &sc, o->p_xy, o->n, lw_svg_x_of_slot, floor_p, LW_SVG_C_BLUE, 2, NULL);
        pvalue_markers(out, &L, &sc, o->p_xy, o->n, o->lag_min, floor_p, LW_SVG_SW_LINE_CIRCLE,
                       LW_SVG_C_BLUE, items[0].text);
    }
    lw_buf_puts(out, "<g class=\"lw-alpha\">");
    lw_svg_ref_hline(out, &L, ya, "#333", "6 3", alab);
    lw_buf_puts(out, "</g>");
    return lw_svg_close_axes(out, &L, any, items, ni, mark, errstr, errstr_size);
}

/* ---- history over rolling windows --------------------------------------- */

lw_err_t lw_svg_history_chart(lw_buf_t *out, const lw_svg_history_opts_t *o, char *errstr,
                              size_t errstr_size)
{
    lw_err_t err = lw_svg_check_chart(out, &o->frame, o->n, o->values != NULL, "history chart",
                                      errstr, errstr_size);
    if (err != LW_OK)
        return err;
    if (o->has_break && o->break_index >= o->n)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "break index %zu is outside the %zu windows", o->break_index, o->n);
    size_t mark = out->len;
    double floor_p = p_floor_of(o->floor);
    bool thr = isfinite(o->threshold) && (!o->log_y || o->threshold > 0);
    double dmin = INFINITY, dmax = -INFINITY;
    bool clamped = false;
    for (size_t i = 0; i < o->n; i++) {
        double v = o->values[i];
        if (!isfinite(v))
            continue;
        if (o->log_y && v < floor_p) {
            v = floor_p;
            clamped = true;
        }
        dmin = fmin(dmin, v);
        dmax = fmax(dmax, v);
    }
    bool any = dmin <= dmax;
    if (thr) {
        dmin = fmin(dmin, o->threshold);
        dmax = fmax(dmax, o->threshold);
    }

    char sub[512];
    lw_svg_clamp_subtitle(sub, sizeof sub, &o->frame, clamped, "values", floor_p);

    lw_svg_legend_item_t items[3];
    size_t ni = 0;
    memset(items, 0, sizeof items);
    lw_svg_legend_add(
        items, &ni,
        (lw_svg_legend_item_t){.color = LW_SVG_C_BLUE, .kind = LW_SVG_SW_LINE, .width = 2}, "%s",
        o->series_name ? o->series_name : "value");
    char tlab[128];
    tlab[0] = '\0';
    if (thr) {
        if (o->threshold_label)
            snprintf(tlab, sizeof tlab, "%s", o->threshold_label);
        else
            snprintf(tlab, sizeof tlab, "threshold %g", o->threshold);
        lw_svg_legend_add(items, &ni,
                          (lw_svg_legend_item_t){
                              .color = "#333", .kind = LW_SVG_SW_LINE, .width = 1.5, .dash = "6 3"},
                          "%s", tlab);
    }
    if (o->has_break) {
        lw_svg_legend_add(
            items, &ni,
            (lw_svg_legend_item_t){
                .color = LW_SVG_C_VERMILLION, .kind = LW_SVG_SW_LINE, .width = 2, .dash = "4 3"},
            "%s", o->break_label ? o->break_label : "break");
    }

    lw_svg_layout_t L;
    lw_svg_open_axes(out, "history", &o->frame, sub, 720, 300, items, ni,
                     lw_svg_text_px(tlab, LW_SVG_SMALL_PX), &L);
    if (o->has_break) { /* room for the break's label above the plot */
        L.y0 += 8;
        L.ph -= 8;
    }

    lw_svg_scale_t sc;
    if (o->log_y)
        lw_svg_scale_log(&sc, any || thr ? dmin : floor_p, floor_p, fmax(1, any || thr ? dmax : 1));
    else
        lw_svg_scale_linear(&sc, dmin, dmax, 5);
    char ytitle[LW_SVG_TITLE_SIZE], xtitle[LW_SVG_TITLE_SIZE];
    lw_svg_axis_titles(&o->frame, (o->log_y ? "p-value (log)" : "Value"), "Window end", ytitle,
                       xtitle);

    lw_svg_plot_area(out, &L);
    lw_svg_axis_y(out, &L, &sc, ytitle);
    lw_svg_axis_x_periods(out, &L, o->x_labels, o->n, xtitle);
    lw_svg_axis_lines(out, &L);
    if (thr)
        lw_svg_ref_hline(out, &L, lw_svg_map_y(&L, &sc, o->threshold), "#333", "6 3", tlab);
    series_path(out, &L, &sc, o->values, o->n, lw_svg_x_of_index, o->log_y ? floor_p : 0,
                LW_SVG_C_BLUE, 2, NULL);
    if (o->has_break) {
        double x = lw_svg_x_of_index(&L, o->n, (double)o->break_index);
        lw_buf_puts(out, "<g class=\"lw-break\"><path d=\"M");
        lw_svg_put_num(out, x);
        lw_buf_putc(out, ' ');
        lw_svg_put_num(out, L.y0);
        lw_buf_putc(out, 'v');
        lw_svg_put_num(out, L.ph);
        lw_buf_puts(out, "\" stroke=\"" LW_SVG_C_VERMILLION "\" stroke-width=\"2\" "
                         "stroke-dasharray=\"4 3\"/>");
        char lab[300];
        const char *when = o->x_labels ? o->x_labels[o->break_index] : NULL;
        snprintf(lab, sizeof lab, "%s%s%s", o->break_label ? o->break_label : "break",
                 when ? ": " : "", when ? when : "");
        /* above the plot, centred on the marker but kept inside the chart */
        double lw = fmin(lw_svg_text_px(lab, LW_SVG_SMALL_PX), L.w - 32);
        lw_svg_text_fit(out, lw_svg_clampd(x, 16 + lw / 2, L.w - 16 - lw / 2), L.y0 - 5, "middle",
                        LW_SVG_SMALL_PX, " font-weight=\"bold\" fill=\"" LW_SVG_C_VERMILLION "\"",
                        lab, L.w - 32);
        lw_buf_puts(out, "</g>");
    }
    return lw_svg_close_axes(out, &L, any, items, ni, mark, errstr, errstr_size);
}

/* ---- value against a threshold ----------------------------------------- */

/* "6.2%" or "6.2 ms": the unit follows without a space only for "%". */
static void fmt_with_unit(char *dst, size_t size, double v, int decimals, const char *unit)
{
    char n[64];
    lw_svg_fmt_value(n, sizeof n, v, decimals);
    if (!unit || !*unit)
        snprintf(dst, size, "%s", n);
    else
        snprintf(dst, size, "%s%s%s", n, strcmp(unit, "%") == 0 ? "" : " ", unit);
}

lw_err_t lw_svg_gauge_bar(lw_buf_t *out, const lw_svg_gauge_opts_t *o, char *errstr,
                          size_t errstr_size)
{
    /* the buffer and the frame (n = 0: this chart checks its own inputs below) */
    lw_err_t err = lw_svg_check_chart(out, &o->frame, 0, true, "gauge", errstr, errstr_size);
    if (err != LW_OK)
        return err;
    if (!isfinite(o->threshold) || o->threshold < 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "gauge: the threshold must be a finite number >= 0");
    size_t mark = out->len;
    int dec = o->decimals < 0 ? 0 : o->decimals > 4 ? 4 : o->decimals;
    bool has = isfinite(o->value);
    double v = has ? fmax(o->value, 0) : 0;
    double max = isfinite(o->max) && o->max > 0 ? o->max : 1.25 * fmax(v, o->threshold);
    if (!(max > 0))
        max = 1;
    bool pass = has && (o->lower_is_better ? o->value <= o->threshold : o->value >= o->threshold);
    const char *name = o->frame.x_label ? o->frame.x_label : "value";
    const char *unit = o->frame.x_unit;

    char vtxt[80], ttxt[80], mtxt[80], ztxt[80], verdict[400];
    fmt_with_unit(vtxt, sizeof vtxt, o->value, dec, unit);
    fmt_with_unit(ttxt, sizeof ttxt, o->threshold, dec, unit);
    fmt_with_unit(mtxt, sizeof mtxt, max, dec, unit);
    fmt_with_unit(ztxt, sizeof ztxt, 0, 0, unit);
    if (o->verdict_text)
        snprintf(verdict, sizeof verdict, "%s", o->verdict_text);
    else if (!has)
        snprintf(verdict, sizeof verdict, "no estimate of %s (threshold %s)", name, ttxt);
    else if (o->lower_is_better)
        snprintf(verdict, sizeof verdict, "%s %s: %s %s %s %s threshold %s",
                 pass ? "\xE2\x9C\x93" : "\xE2\x9C\x97", pass ? "passes" : "fails", name, vtxt,
                 pass ? "\xE2\x89\xA4" : ">", "the", ttxt);
    else
        snprintf(verdict, sizeof verdict, "%s %s: %s %s %s %s threshold %s",
                 pass ? "\xE2\x9C\x93" : "\xE2\x9C\x97", pass ? "passes" : "fails", name, vtxt,
                 pass ? "\xE2\x89\xA5" : "<", "the", ttxt);

    double w = o->frame.width > 0 ? o->frame.width : 560;
    double top_est = o->frame.subtitle && *o->frame.subtitle ? 58 : 40;
    double h = o->frame.height > 0 ? o->frame.height : top_est + 86;
    double top = lw_svg_open(out, "gauge", &o->frame, o->frame.subtitle, verdict, w, h);
    const char *color = !has ? LW_SVG_C_GREY : pass ? LW_SVG_C_GREEN : LW_SVG_C_VERMILLION;
    double x0 = 16, x1 = w - 16, ty = top + 20, th = 22;
    double xv = x0 + (x1 - x0) * fmin(v / max, 1);
    double xt = x0 + (x1 - x0) * fmin(o->threshold / max, 1);

    lw_buf_puts(out, "<rect class=\"lw-plot\"");
    lw_svg_rect_attrs(out, x0, ty, x1 - x0, th);
    lw_buf_puts(out, " fill=\"#eef0f2\" stroke=\"#c9ced3\"/>");
    if (has) {
        lw_buf_puts(out, "<rect class=\"lw-value\"");
        lw_svg_rect_attrs(out, x0, ty, xv - x0, th);
        lw_buf_puts(out, " fill=\"");
        lw_buf_puts(out, color);
        lw_buf_puts(out, "\"><title>");
        lw_buf_put_xml(out, name);
        lw_buf_putc(out, ' ');
        lw_buf_put_xml(out, vtxt);
        lw_buf_puts(out, "</title></rect>");
        if (o->value > max) { /* off the scale: an arrow at the end */
            lw_buf_puts(out, "<path d=\"M");
            lw_svg_put_num(out, x1 + 10);
            lw_buf_putc(out, ' ');
            lw_svg_put_num(out, ty + th / 2);
            lw_buf_puts(out, "l-9-7v14z\" fill=\"");
            lw_buf_puts(out, color);
            lw_buf_puts(out, "\"/>");
        }
        /* value label inside the bar's end when it fits, else just after it */
        double tw = lw_svg_text_px(vtxt, LW_SVG_FONT_PX) + 10;
        bool inside = xv - x0 > tw;
        lw_svg_text_open(out, inside ? xv - 5 : xv + 5, ty + th / 2 + 4, inside ? "end" : "start",
                         LW_SVG_FONT_PX,
                         inside ? " font-weight=\"bold\" fill=\"#fff\""
                                : " font-weight=\"bold\"" LW_SVG_HALO);
        lw_buf_put_xml(out, vtxt);
        lw_buf_puts(out, "</text>");
    }
    lw_buf_puts(out, "<g class=\"lw-threshold\"><path d=\"M");
    lw_svg_put_num(out, xt);
    lw_buf_putc(out, ' ');
    lw_svg_put_num(out, ty - 5);
    lw_buf_putc(out, 'v');
    lw_svg_put_num(out, th + 10);
    lw_buf_puts(out, "\" stroke=\"#000\" stroke-width=\"2\"/>");
    char tl[120];
    snprintf(tl, sizeof tl, "threshold %s", ttxt);
    double tlw = lw_svg_text_px(tl, LW_SVG_SMALL_PX);
    lw_svg_text_fit(out, lw_svg_clampd(xt, x0 + tlw / 2, x1 - tlw / 2), ty - 8, "middle",
                    LW_SVG_SMALL_PX, NULL, tl, w - 32);
    lw_buf_puts(out, "</g><g font-size=\"12\" fill=\"" LW_SVG_C_MUTED "\">");
    lw_svg_text_open(out, x0, ty + th + 14, NULL, LW_SVG_FONT_PX, NULL);
    lw_buf_put_xml(out, ztxt);
    lw_buf_puts(out, "</text>");
    lw_svg_text_open(out, x1, ty + th + 14, "end", LW_SVG_FONT_PX, NULL);
    lw_buf_put_xml(out, mtxt);
    lw_buf_puts(out, "</text></g>");
    lw_svg_text_fit(out, x0, ty + th + 34, NULL, 13, " font-weight=\"bold\" class=\"lw-verdict\"",
                    verdict, (w - 32) / LW_SVG_BOLD_WIDER);
    lw_svg_close(out);
    return lw_svg_finish(out, mark, LW_OK, errstr, errstr_size);
}

/* ---- metric tree -------------------------------------------------------- */

static const struct {
    const char *label, *slug, *color, *dash;
    double width;
} verdicts[LW_SVG_VERDICT_COUNT] = {
    [LW_SVG_VERDICT_LEADS] = {"leads", "leads", LW_SVG_C_GREEN, NULL, 3},
    [LW_SVG_VERDICT_NO_LONGER_LEADS] = {"stopped leading", "no-longer-leads", LW_SVG_C_ORANGE,
                                        "9 4", 2.5},
    [LW_SVG_VERDICT_REVERSE] = {"reverse", "reverse", LW_SVG_C_VERMILLION, "12 3 3 3", 2.5},
    [LW_SVG_VERDICT_FEEDBACK] = {"feedback", "feedback", LW_SVG_C_PURPLE, "3 3", 2.5},
    [LW_SVG_VERDICT_INCONCLUSIVE] = {"inconclusive", "inconclusive", "#6f7780", "5 5", 1.8},
    [LW_SVG_VERDICT_INSUFFICIENT] = {"insufficient data", "insufficient-data", "#a9b0b7", "1 4",
                                     1.8},
};

const char *lw_svg_verdict_label(lw_svg_verdict_t v)
{
    return (unsigned)v < LW_SVG_VERDICT_COUNT ? verdicts[v].label : "unknown";
}

const char *lw_svg_verdict_color(lw_svg_verdict_t v)
{
    return (unsigned)v < LW_SVG_VERDICT_COUNT ? verdicts[v].color : "#000000";
}

const char *lw_svg_verdict_dash(lw_svg_verdict_t v)
{
    return (unsigned)v < LW_SVG_VERDICT_COUNT ? verdicts[v].dash : NULL;
}

/* An edge's label: the verdict in words, then " · extra" when there is one. */
static void edge_label(char *buf, size_t size, lw_svg_verdict_t v, const char *extra)
{
    snprintf(buf, size, "%s%s%s", verdicts[v].label, extra ? " \xC2\xB7 " : "", extra ? extra : "");
}

/* Filled triangle with its tip at (x, y) pointing right (dir 1) or left (-1). */
static void arrowhead(lw_buf_t *b, double x, double y, int dir, const char *color)
{
    lw_buf_puts(b, "<path d=\"M");
    lw_svg_put_num(b, x);
    lw_buf_putc(b, ' ');
    lw_svg_put_num(b, y);
    lw_buf_puts(b, dir > 0 ? "l-10-5v10z" : "l10-5v10z");
    lw_buf_puts(b, "\" fill=\"");
    lw_buf_puts(b, color);
    lw_buf_puts(b, "\"/>");
}

/*
 * One edge group: tooltip, stroked path from (sx,sy) to (ex,ey) running
 * horizontally to hx first (hx == ex: straight line), and arrowheads by
 * verdict (reverse points back at the source, feedback both ways).
 */
/* The verdict's stroke colour (the caller wrote stroke="), width and dash pattern. */
static void verdict_stroke(lw_buf_t *b, lw_svg_verdict_t v)
{
    lw_buf_puts(b, verdicts[v].color);
    lw_buf_putc(b, '"');
    lw_svg_attr(b, "stroke-width", verdicts[v].width);
    if (verdicts[v].dash) {
        lw_buf_puts(b, " stroke-dasharray=\"");
        lw_buf_puts(b, verdicts[v].dash);
        lw_buf_putc(b, '"');
    }
}

static void tree_edge(lw_buf_t *b, lw_svg_verdict_t v, const char *from, const char *to,
                      const char *label, double sx, double sy, double hx, double ex, double ey)
{
    bool back = v == LW_SVG_VERDICT_REVERSE || v == LW_SVG_VERDICT_FEEDBACK;
    bool fwd = v != LW_SVG_VERDICT_REVERSE;
    lw_buf_puts(b, "<g class=\"lw-edge lw-verdict-");
    lw_buf_puts(b, verdicts[v].slug);
    lw_buf_puts(b, "\"><title>");
    lw_buf_put_xml(b, from);
    lw_buf_puts(b, " \xE2\x86\x92 ");
    lw_buf_put_xml(b, to);
    lw_buf_puts(b, ": ");
    lw_buf_put_xml(b, label);
    lw_buf_puts(b, "</title><path d=\"M");
    lw_svg_put_num(b, back ? sx + 8 : sx);
    lw_buf_putc(b, ' ');
    lw_svg_put_num(b, sy);
    double end = fwd ? ex - 8 : ex;
    if (hx < end - 1) {
        double cx = hx + (end - hx) / 2;
        lw_buf_putc(b, 'H');
        lw_svg_put_num(b, hx);
        lw_buf_putc(b, 'C');
        lw_svg_put_num(b, cx);
        lw_buf_putc(b, ' ');
        lw_svg_put_num(b, sy);
        lw_buf_putc(b, ' ');
        lw_svg_put_num(b, cx);
        lw_buf_putc(b, ' ');
        lw_svg_put_num(b, ey);
        lw_buf_putc(b, ' ');
    } else {
        lw_buf_putc(b, 'L');
    }
    lw_svg_put_num(b, end);
    lw_buf_putc(b, ' ');
    lw_svg_put_num(b, ey);
    lw_buf_puts(b, "\" fill=\"none\" stroke-linecap=\"butt\" stroke=\"");
    verdict_stroke(b, v);
    lw_buf_puts(b, "/>");
    if (fwd)
        arrowhead(b, ex, ey, 1, verdicts[v].color);
    if (back)
        arrowhead(b, sx, sy, -1, verdicts[v].color);
    lw_buf_puts(b, "</g>");
}

/*
 * A labelled box: optional caption (small, grey) above the name wrapped to
 * at most `maxl` lines (the last shortened with "…"); tooltip = full name.
 */
static void tree_box(lw_buf_t *b, const char *cls, double x, double y, double bw, double bh,
                     const char *caption, const char *name, size_t maxl, const char *fill,
                     const char *stroke)
{
    lw_buf_puts(b, "<g class=\"lw-node ");
    lw_buf_puts(b, cls);
    lw_buf_puts(b, "\"><title>");
    lw_buf_put_xml(b, name);
    lw_buf_puts(b, "</title><rect");
    lw_svg_rect_attrs(b, x, y, bw, bh);
    lw_buf_puts(b, " rx=\"6\" fill=\"");
    lw_buf_puts(b, fill);
    lw_buf_puts(b, "\" stroke=\"");
    lw_buf_puts(b, stroke);
    lw_buf_puts(b, "\" stroke-width=\"1.5\"/>");
    double fs = caption ? 13 : LW_SVG_FONT_PX, lh = fs + 3;
    double room =
        caption ? (bw - 14) / LW_SVG_BOLD_WIDER : bw - 14; /* the name is bold under a caption */
    size_t st[LW_SVG_WRAP_MAX_LINES], ln[LW_SVG_WRAP_MAX_LINES];
    size_t nl = lw_svg_wrap_lines(
        name, room, fs, maxl < LW_SVG_WRAP_MAX_LINES ? maxl : LW_SVG_WRAP_MAX_LINES, st, ln);
    double block = (caption ? 16 : 0) + (double)nl * lh;
    double ty = y + bh / 2 - block / 2; /* top of the text block */
    if (caption) {
        lw_svg_text_fit(b, x + bw / 2, ty + 10, "middle", LW_SVG_SMALL_PX,
                        " fill=\"" LW_SVG_C_MUTED "\"", caption, bw - 12);
        ty += 16;
    }
    for (size_t k = 0; k < nl; k++) {
        lw_svg_text_open(b, x + bw / 2, ty + (double)k * lh + fs - 2, "middle", fs,
                         caption ? " font-weight=\"bold\"" : NULL);
        lw_svg_put_text_fit_n(b, name + st[k], ln[k], room, fs);
        lw_buf_puts(b, "</text>");
    }
    lw_buf_puts(b, "</g>");
}

/*
 * Input i, where its edge leaves its box (cy, the box's middle), where it
 * meets the NSM box (py: the inputs spread over its height less 12 px a
 * side) and the edge's label; the edges and their labels both need them.
 */
static const lw_svg_tree_input_t *tree_input_at(const lw_svg_tree_opts_t *o, size_t i,
                                                double in_top, double pitch, double box_h,
                                                double nsm_y, double nsm_h, double *cy, double *py,
                                                char *label, size_t label_size)
{
    const lw_svg_tree_input_t *in = &o->inputs[i];
    *cy = in_top + (double)i * pitch + box_h / 2;
    *py = nsm_y + 12 + ((double)i + 0.5) * (nsm_h - 24) / (double)o->ninputs;
    edge_label(label, label_size, in->verdict, in->edge_label);
    return in;
}

/* The tree's plot rect (x, y, w, h), then every input's edge to the NSM box (under the boxes). */
static void tree_input_edges(lw_buf_t *out, const lw_svg_tree_opts_t *o, const char *nsm,
                             const double rect[4], double in_top, double pitch, double box_h,
                             double in_right, double hx, double nsm_x, double nsm_y, double nsm_h)
{
    char label[400];
    lw_buf_puts(out, "<rect class=\"lw-plot\"");
    lw_svg_rect_attrs(out, rect[0], rect[1], rect[2], rect[3]);
    lw_buf_puts(out, " fill=\"none\"/>");
    for (size_t i = 0; i < o->ninputs; i++) {
        double cy, py;
        const lw_svg_tree_input_t *in =
            tree_input_at(o, i, in_top, pitch, box_h, nsm_y, nsm_h, &cy, &py, label, sizeof label);
        tree_edge(out, in->verdict, in->name ? in->name : "input", nsm, label, in_right, cy, hx,
                  nsm_x, py);
    }
}

/*
 * The tree at phone width (< 560 px): input boxes in a column on the left,
 * each edge's label under its box (there is no room beside the curve), the
 * NSM box in a right-hand column as tall as the inputs, and the KPI under
 * the NSM with a vertical arrow labelled to its left.
 */
static void tree_narrow(lw_buf_t *out, const lw_svg_tree_opts_t *o, const char *nsm,
                        const lw_svg_legend_item_t *items, double w)
{
    const bool has_kpi = o->kpi_name != NULL;
    const double margin = 12, pitch = 58, box_h = 32;
    double nsm_w = lw_svg_clampd(w * 0.37, 90, 160);
    double nsm_x = w - margin - nsm_w;
    double widest = 0;
    for (size_t i = 0; i < o->ninputs; i++)
        widest = fmax(widest, lw_svg_text_px(o->inputs[i].name, LW_SVG_FONT_PX));
    double in_w = lw_svg_clampd(widest + 20, 90, nsm_x - margin - 36);
    double in_right = margin + in_w, region = nsm_x - in_right;
    double hx = in_right + region * 0.4;
    size_t rows = o->ninputs ? o->ninputs : 1;
    double top = o->frame.subtitle && *o->frame.subtitle ? 58 : 40;
    double col_top = top + 12, col_h = (double)rows * pitch - (pitch - box_h) + 18;
    double nsm_h = fmax(col_h, 90), kpi_h = 64, kpi_y = col_top + nsm_h + 56;
    double ext = has_kpi ? kpi_y + kpi_h - col_top : nsm_h;
    double leg_w = w - 2 * margin, leg_y = col_top + ext + 26;
    double h =
        leg_y + (double)lw_svg_legend_rows(items, LW_SVG_VERDICT_COUNT, leg_w) * LW_SVG_LEGEND_ROW;
    if (o->frame.height > h)
        h = o->frame.height;
    lw_svg_open(out, "tree", &o->frame, o->frame.subtitle, NULL, w, h);
    const double rect[4] = {margin, col_top, w - 2 * margin, ext};
    tree_input_edges(out, o, nsm, rect, col_top, pitch, box_h, in_right, hx, nsm_x, col_top, nsm_h);
    char label[400];
    lw_buf_puts(out, "<g class=\"lw-edge-labels\" font-size=\"12\">");
    for (size_t i = 0; i < o->ninputs; i++) {
        const lw_svg_tree_input_t *in = &o->inputs[i];
        edge_label(label, sizeof label, in->verdict, in->edge_label);
        lw_svg_text_fit(out, margin + 2, col_top + (double)i * pitch + box_h + 15, NULL,
                        LW_SVG_SMALL_PX, LW_SVG_HALO, label, nsm_x - margin - 4);
    }
    lw_buf_puts(out, "</g>");
    for (size_t i = 0; i < o->ninputs; i++)
        tree_box(out, "lw-input", margin, col_top + (double)i * pitch, in_w, box_h, NULL,
                 o->inputs[i].name ? o->inputs[i].name : "input", 1, "#f3f5f7", "#6b7580");
    tree_box(out, "lw-nsm", nsm_x, col_top, nsm_w, nsm_h, "North Star Metric", nsm, 3, "#e6f0f8",
             LW_SVG_C_BLUE);
    if (has_kpi) {
        const lw_svg_verdict_t v = o->kpi_verdict;
        double cx = nsm_x + nsm_w / 2, y0 = col_top + nsm_h, y1 = kpi_y;
        lw_buf_puts(out, "<g class=\"lw-edge lw-verdict-");
        lw_buf_puts(out, verdicts[v].slug);
        lw_buf_puts(out, "\"><path d=\"M");
        lw_svg_put_num(out, cx);
        lw_buf_putc(out, ' ');
        lw_svg_put_num(out, y0);
        lw_buf_puts(out, "V");
        lw_svg_put_num(out, y1 - 8);
        lw_buf_puts(out, "\" fill=\"none\" stroke=\"");
        verdict_stroke(out, v);
        lw_buf_puts(out, "/><path d=\"M");
        lw_svg_put_num(out, cx - 6);
        lw_buf_putc(out, ' ');
        lw_svg_put_num(out, y1 - 9);
        lw_buf_puts(out, "h12l-6 9z\" fill=\"");
        lw_buf_puts(out, verdicts[v].color);
        lw_buf_puts(out, "\"/></g>");
        edge_label(label, sizeof label, v, o->kpi_edge_label);
        lw_svg_text_fit(out, nsm_x - 6, (y0 + y1) / 2 + 4, "end", LW_SVG_SMALL_PX,
                        " font-weight=\"bold\"" LW_SVG_HALO, label, nsm_x - margin - 6);
        tree_box(out, "lw-kpi", nsm_x, kpi_y, nsm_w, kpi_h, "KPI", o->kpi_name, 3, "#f3f5f7",
                 "#333");
    }
    lw_svg_legend_draw(out, items, LW_SVG_VERDICT_COUNT, margin, leg_y, leg_w);
    lw_svg_close(out);
}

lw_err_t lw_svg_tree_diagram(lw_buf_t *out, const lw_svg_tree_opts_t *o, char *errstr,
                             size_t errstr_size)
{
    /* the buffer and the frame (n = 0: this chart checks its own inputs below) */
    lw_err_t err = lw_svg_check_chart(out, &o->frame, 0, true, "tree diagram", errstr, errstr_size);
    if (err != LW_OK)
        return err;
    if (o->ninputs > LW_SVG_MAX_TREE_INPUTS || (o->ninputs > 0 && !o->inputs))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "tree: %zu inputs (bound %d, inputs required)", o->ninputs,
                         LW_SVG_MAX_TREE_INPUTS);
    for (size_t i = 0; i < o->ninputs; i++)
        if ((unsigned)o->inputs[i].verdict >= LW_SVG_VERDICT_COUNT)
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                             "tree: input %zu has an unknown verdict %d", i,
                             (int)o->inputs[i].verdict);
    bool has_kpi = o->kpi_name != NULL;
    if (has_kpi && (unsigned)o->kpi_verdict >= LW_SVG_VERDICT_COUNT)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "tree: unknown KPI verdict %d",
                         (int)o->kpi_verdict);
    size_t mark = out->len;
    const char *nsm = o->nsm_name ? o->nsm_name : "North Star Metric";

    lw_svg_legend_item_t items[LW_SVG_VERDICT_COUNT];
    memset(items, 0, sizeof items);
    for (int v = 0; v < LW_SVG_VERDICT_COUNT; v++) {
        items[v] = (lw_svg_legend_item_t){.color = verdicts[v].color,
                                          .dash = verdicts[v].dash,
                                          .width = verdicts[v].width,
                                          .kind = LW_SVG_SW_LINE};
        snprintf(items[v].text, sizeof items[v].text, "%s%s", verdicts[v].label,
                 v == LW_SVG_VERDICT_REVERSE    ? " (arrow points back)"
                 : v == LW_SVG_VERDICT_FEEDBACK ? " (both ways)"
                                                : "");
    }

    double w = o->frame.width > 0 ? o->frame.width : 960;
    if (w < 560) {
        tree_narrow(out, o, nsm, items, w);
        return lw_svg_finish(out, mark, LW_OK, errstr, errstr_size);
    }
    const double margin = 16, pitch = 48, box_h = 34;
    double widest = 0; /* inputs' boxes are as wide as the longest name needs */
    for (size_t i = 0; i < o->ninputs; i++)
        widest = fmax(widest, lw_svg_text_px(o->inputs[i].name, LW_SVG_FONT_PX));
    double in_w = lw_svg_clampd(widest + 24, 110, w * 0.22);
    double nsm_w = lw_svg_clampd(w * 0.18, 110, 200);
    double kpi_w = has_kpi ? lw_svg_clampd(w * 0.14, 90, 180) : 0;
    double kpi_gap = has_kpi ? lw_svg_clampd(w * 0.14, 90, 160) : 0;
    double nsm_x = w - margin - kpi_w - kpi_gap - nsm_w;
    double in_right = margin + in_w;
    double region = nsm_x - in_right;
    double hx = in_right + region * 0.75;
    size_t rows = o->ninputs ? o->ninputs : 1;
    double top = o->frame.subtitle && *o->frame.subtitle ? 58 : 40;
    double col_top = top + 16;
    double col_h = (double)rows * pitch - (pitch - box_h);
    /* the NSM and KPI boxes are tall enough for a caption and 3 wrapped lines */
    size_t st[LW_SVG_WRAP_MAX_LINES], ln[LW_SVG_WRAP_MAX_LINES];
    double nsm_text =
        14 + 16 * (double)lw_svg_wrap_lines(nsm, (nsm_w - 14) / LW_SVG_BOLD_WIDER, 13, 3, st, ln) +
        16;
    double kpi_h =
        has_kpi ? 14 +
                      16 * (double)lw_svg_wrap_lines(o->kpi_name, (kpi_w - 14) / LW_SVG_BOLD_WIDER,
                                                     13, 3, st, ln) +
                      16
                : 0;
    kpi_h = fmax(kpi_h, 60);
    double nsm_h = fmax(fmax(64, col_h * 0.55), nsm_text);
    /* everything is centred on the middle of the tallest column */
    double ext = fmax(col_h, fmax(nsm_h, kpi_h));
    double ny = col_top + ext / 2;
    double in_top = ny - col_h / 2;
    double nsm_y = ny - nsm_h / 2;
    double leg_w = w - 2 * margin;
    double leg_y = col_top + ext + 34;
    double h =
        leg_y + (double)lw_svg_legend_rows(items, LW_SVG_VERDICT_COUNT, leg_w) * LW_SVG_LEGEND_ROW;
    if (o->frame.height > h)
        h = o->frame.height;

    double got_top = lw_svg_open(out, "tree", &o->frame, o->frame.subtitle, NULL, w, h);
    assert(got_top == top);
    (void)got_top;
    /* edges under the boxes, then their labels, then the boxes */
    const double rect[4] = {margin, col_top, w - 2 * margin, ext};
    tree_input_edges(out, o, nsm, rect, in_top, pitch, box_h, in_right, hx, nsm_x, nsm_y, nsm_h);
    char label[400];
    if (has_kpi) {
        edge_label(label, sizeof label, o->kpi_verdict, o->kpi_edge_label);
        tree_edge(out, o->kpi_verdict, nsm, o->kpi_name, label, nsm_x + nsm_w, ny, nsm_x + nsm_w,
                  w - margin - kpi_w, ny);
    }
    lw_buf_puts(out, "<g class=\"lw-edge-labels\" font-size=\"12\">");
    for (size_t i = 0; i < o->ninputs; i++) {
        double cy, py;
        (void)tree_input_at(o, i, in_top, pitch, box_h, nsm_y, nsm_h, &cy, &py, label,
                            sizeof label);
        bool above = py >= cy - 0.5; /* the curve bends down: the label goes above */
        lw_svg_text_fit(out, in_right + 14, above ? cy - 7 : cy + 16, NULL, LW_SVG_SMALL_PX,
                        LW_SVG_HALO, label, hx - in_right - 16);
    }
    if (has_kpi) {
        double cx = nsm_x + nsm_w + kpi_gap / 2;
        lw_svg_text_fit(out, cx, ny - 22, "middle", LW_SVG_SMALL_PX,
                        " font-weight=\"bold\"" LW_SVG_HALO, verdicts[o->kpi_verdict].label,
                        (kpi_gap - 6) / LW_SVG_BOLD_WIDER);
        if (o->kpi_edge_label)
            lw_svg_text_fit(out, cx, ny - 8, "middle", LW_SVG_SMALL_PX, LW_SVG_HALO,
                            o->kpi_edge_label, kpi_gap - 6);
    }
    lw_buf_puts(out, "</g>");
    for (size_t i = 0; i < o->ninputs; i++)
        tree_box(out, "lw-input", margin, in_top + (double)i * pitch, in_w, box_h, NULL,
                 o->inputs[i].name ? o->inputs[i].name : "input", 1, "#f3f5f7", "#6b7580");
    if (o->ninputs == 0)
        lw_svg_text_fit(out, margin, ny + 4, NULL, LW_SVG_FONT_PX, " fill=\"" LW_SVG_C_MUTED "\"",
                        "No inputs configured", in_w);
    tree_box(out, "lw-nsm", nsm_x, nsm_y, nsm_w, nsm_h, "North Star Metric", nsm, 3, "#e6f0f8",
             LW_SVG_C_BLUE);
    if (has_kpi)
        tree_box(out, "lw-kpi", w - margin - kpi_w, ny - kpi_h / 2, kpi_w, kpi_h, "KPI",
                 o->kpi_name, 3, "#f3f5f7", "#333");
    lw_svg_legend_draw(out, items, LW_SVG_VERDICT_COUNT, margin, leg_y, leg_w);
    lw_svg_close(out);
    return lw_svg_finish(out, mark, LW_OK, errstr, errstr_size);
}
