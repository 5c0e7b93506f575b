/*
 * svg_strip.c - a categorical history strip (lw_svg_strip_chart, contract
 * in svg.h): one band per row (an edge of the metric tree), coloured per
 * period by a category (its verdict at that period), so a reader sees at a
 * glance when each edge led and when it stopped.
 *
 * Drawing: the row names are written above their band (a phone-width chart
 * has no room for a left column of names); each band is one rect per run
 * of equal categories (a tooltip gives the category and the first and last
 * period of the run), so a two-year daily history is a handful of rects,
 * not 730.  A band is the whole plot width; periods without a category
 * stay the panel colour.  The period axis sits under the last band, the
 * category legend under it.  The whole band area is the .lw-plot rect.
 */
#include "leadwatch/report/svg.h"

#include <stdio.h>
#include <string.h>

#define BAND_H 16.0
#define NAME_H 17.0
#define ROW_GAP 6.0

lw_err_t lw_svg_strip_chart(lw_buf_t *out, const lw_svg_strip_opts_t *o, char *errstr,
                            size_t errstr_size)
{
    /* Every chart opens with lw_svg_check_chart; what follows only looks like the bar chart's. */
    lw_err_t err = lw_svg_check_chart(out, &o->frame, o->n, o->rows != NULL, "strip chart", errstr,
                                      errstr_size);
    if (err != LW_OK)
        return err;
    if (o->nrows == 0 || o->nrows > LW_SVG_MAX_STRIP_ROWS)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "strip chart: 1..%d rows, got %zu",
                         LW_SVG_MAX_STRIP_ROWS, o->nrows);
    if (o->ncats == 0 || o->ncats > LW_SVG_MAX_STRIP_CATS || !o->cat_names || !o->cat_colors)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "strip chart: 1..%d categories with names and colours",
                         LW_SVG_MAX_STRIP_CATS);
    for (size_t r = 0; r < o->nrows; r++)
        if (o->n > 0 && !o->rows[r].cells)
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                             "strip chart: row %zu has no cells", r);
    size_t mark = out->len;
    lw_svg_legend_item_t items[LW_SVG_MAX_STRIP_CATS];
    size_t nit = 0;
    for (size_t k = 0; k < o->ncats; k++)
        lw_svg_legend_add(
            items, &nit,
            (lw_svg_legend_item_t){
                .color = o->cat_colors[k], .kind = LW_SVG_SW_RECT, .width = 1, .opacity = 1},
            "%s", o->cat_names[k] ? o->cat_names[k] : "");
    double w = o->frame.width > 0 ? o->frame.width : 960;
    double leg_h = (double)lw_svg_legend_rows(items, nit, w - 32) * LW_SVG_LEGEND_ROW;
    double top_est = o->frame.subtitle && *o->frame.subtitle ? 58 : 40;
    double bands = (double)o->nrows * (NAME_H + BAND_H + ROW_GAP);
    double h = o->frame.height > 0 ? o->frame.height : top_est + 6 + bands + 44 + leg_h + 16;
    double top = lw_svg_open(out, "strip", &o->frame, o->frame.subtitle, NULL, w, h);
    lw_svg_layout_t L;
    lw_svg_layout_axes(&L, w, h, top, leg_h, 0);
    L.x0 = 16;
    L.pw = w - 32;
    L.ph = bands;
    lw_svg_plot_area(out, &L);
    for (size_t r = 0; r < o->nrows; r++) {
        const lw_svg_strip_row_t *row = &o->rows[r];
        double y = L.y0 + (double)r * (NAME_H + BAND_H + ROW_GAP);
        lw_svg_text_fit(out, L.x0, y + NAME_H - 5, NULL, LW_SVG_FONT_PX, NULL,
                        row->name ? row->name : "", L.pw);
        double by = y + NAME_H;
        lw_buf_puts(out, "<rect");
        lw_svg_rect_attrs(out, L.x0, by, L.pw, BAND_H);
        lw_buf_puts(out, " fill=\"#eef0f2\"/>");
        size_t i = 0;
        while (i < o->n) {
            signed char c = row->cells[i];
            size_t j = i + 1;
            while (j < o->n && row->cells[j] == c)
                j++;
            if (c >= 0 && (size_t)c < o->ncats) {
                double x0 = L.x0 + L.pw * (double)i / (double)o->n;
                double x1 = L.x0 + L.pw * (double)j / (double)o->n;
                lw_buf_puts(out, "<rect class=\"lw-run\"");
                lw_svg_rect_attrs(out, x0, by, x1 - x0, BAND_H);
                lw_buf_puts(out, " fill=\"");
                lw_buf_puts(out, o->cat_colors[(size_t)c]);
                lw_buf_puts(out, "\"><title>");
                lw_buf_put_xml(out, o->cat_names[(size_t)c] ? o->cat_names[(size_t)c] : "");
                if (o->x_labels && o->x_labels[i] && o->x_labels[j - 1]) {
                    lw_buf_puts(out, ": ");
                    lw_buf_put_xml(out, o->x_labels[i]);
                    lw_buf_puts(out, " \xE2\x80\x93 ");
                    lw_buf_put_xml(out, o->x_labels[j - 1]);
                }
                lw_buf_puts(out, "</title></rect>");
            }
            i = j;
        }
    }
    char xtitle[LW_SVG_TITLE_SIZE];
    lw_svg_label_with_unit(xtitle, sizeof xtitle, o->frame.x_label, o->frame.x_unit);
    /* slots: a period is a band segment, its tick at the segment's start */
    lw_svg_axis_x_periods(out, &L, o->x_labels, o->n, xtitle);
    lw_svg_legend_draw(out, items, nit, 16, lw_svg_legend_top(&L), w - 32);
    lw_svg_close(out);
    return lw_svg_finish(out, mark, LW_OK, errstr, errstr_size);
}
