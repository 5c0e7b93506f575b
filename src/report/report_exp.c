/*
 * report_exp.c - the report's "Experiments" section (issue 16; contract in
 * report_ctx.h): what the team's past A/B tests say about each edge of the
 * tree, shown only when the analysis carries an experiment analysis
 * (lw_analysis_t.experiments, set by the session when the store holds
 * experiment aggregates).
 *
 * HTML, values first: per edge of the analysis that the experiments cover
 * (matched by metric names, lw_exp_analysis_edge) a figure whose caption
 * is the verdict in words with its numbers (comparisons, how often the
 * input moved, agreement, the corrected slope and its interval, the
 * reason), then a scatter (svg_scatter.c) of the input's relative effect
 * in the short window (x) against the NSM's in the long window (y), one
 * point per treatment arm, filled when the input moved significantly,
 * with its confidence intervals as bars and the corrected slope drawn
 * through the points' mean.  The charts are drawn once at 360 px and laid
 * out in the report's .lw-grid (one column on a phone), so chart text is
 * 12 px in viewBox units at any width.  Each figure is
 * <figure class="lw-exp" data-from data-to data-verdict data-n> for the
 * tests.
 *
 * Markdown: the experiments writer's edge table and per-edge tables of the
 * comparisons (experiments_out.h), the same numbers as `leadwatch
 * experiments --format markdown`.
 */
#include "leadwatch/report/report_ctx.h"

#include "leadwatch/report/experiments_out.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CHART_W 360.0

static const char *verdict_color(lw_exp_verdict v)
{
    return v == LW_EXP_CONFIRMS      ? LW_SVG_C_GREEN
           : v == LW_EXP_CONTRADICTS ? LW_SVG_C_VERMILLION
                                     : LW_SVG_C_GREY;
}

static const char *verdict_words(lw_exp_verdict v)
{
    return v == LW_EXP_CONFIRMS      ? "experiments confirm the edge"
           : v == LW_EXP_CONTRADICTS ? "experiments contradict the edge"
                                     : "not enough experiment evidence";
}

/* "%.3g", or "n/a" */
static void fmt3(double v, char *buf, size_t size)
{
    if (isfinite(v))
        snprintf(buf, size, "%.3g", v);
    else
        snprintf(buf, size, "n/a");
}

/* The caption: the verdict and its numbers, in words. */
static void caption(lw_buf_t *b, const lw_edge_result_t *e, const lw_exp_meta *m)
{
    char slope[32], lo[32], hi[32], ci[80];
    fmt3(m->slope, slope, sizeof slope);
    fmt3(m->slope_lo, lo, sizeof lo);
    fmt3(m->slope_hi, hi, sizeof hi);
    if (isfinite(m->slope_lo) && isfinite(m->slope_hi))
        snprintf(ci, sizeof ci, "[%s, %s]", lo, hi);
    else
        snprintf(ci, sizeof ci, "[unbounded]");
    lw_buf_puts(b, "<figcaption><strong>");
    lw_buf_put_xml(b, e->from);
    lw_buf_puts(b, " \xE2\x86\x92 ");
    lw_buf_put_xml(b, e->to);
    lw_buf_printf(b, ": %s</strong> (<span class=\"lw-exp-verdict\">%s</span>).<br>",
                  verdict_words(m->verdict), lw_exp_verdict_name(m->verdict));
    lw_buf_printf(b, "%zu comparisons; the input moved significantly in %zu (%.0f%%)", m->n,
                  m->n_x_sig, 100.0 * m->sensitivity);
    if (isfinite(m->agreement))
        lw_buf_printf(b, ", the NSM moved the same way in %.0f%% of those", 100.0 * m->agreement);
    lw_buf_printf(b,
                  "; corrected slope <span class=\"lw-exp-slope\">%s</span> %s (%% NSM change per "
                  "%% input change). ",
                  slope, ci);
    lw_buf_put_xml(b, m->reason);
    lw_buf_puts(b, ".</figcaption>");
}

static lw_err_t scatter(lw_buf_t *b, const lw_exp_analysis *x, const lw_edge_result_t *e,
                        const lw_exp_meta *m, char *errstr, size_t errstr_size)
{
    lw_svg_point_t *pts = calloc(m->n ? m->n : 1, sizeof *pts);
    char *labels = calloc(m->n ? m->n : 1, 2 * LW_EXP_MAX_NAME + 4);
    if (!pts || !labels) {
        free(pts);
        free(labels);
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: out of memory");
    }
    const double z = lw_exp_out_z(x);
    double mx = 0, my = 0;
    for (size_t i = 0; i < m->n; i++) {
        const lw_exp_point *p = &m->points[i];
        char *lab = labels + i * (2 * LW_EXP_MAX_NAME + 4);
        snprintf(lab, 2 * LW_EXP_MAX_NAME + 4, "%s / %s",
                 lw_exp_data_experiment(x->data, p->experiment),
                 lw_exp_data_variant(x->data, p->experiment, p->variant));
        pts[i] = (lw_svg_point_t){.x = 100 * p->x,
                                  .y = 100 * p->y,
                                  .x_lo = 100 * (p->x - z * p->se_x),
                                  .x_hi = 100 * (p->x + z * p->se_x),
                                  .y_lo = 100 * (p->y - z * p->se_y),
                                  .y_hi = 100 * (p->y + z * p->se_y),
                                  .filled = p->x_sig,
                                  .label = lab};
        mx += pts[i].x / (double)m->n;
        my += pts[i].y / (double)m->n;
    }
    char sub[96], line[64], sl[32];
    snprintf(sub, sizeof sub,
             "\xE2\x97\x8F input moved significantly, \xE2\x97\x8B not; bars %.0f%% CI",
             100.0 * (1.0 - x->opts.alpha));
    fmt3(m->slope, sl, sizeof sl);
    snprintf(line, sizeof line, "corrected slope %s", sl);
    lw_svg_scatter_opts_t so = {.frame = {.title = "Effects per experiment",
                                          .subtitle = sub,
                                          .x_label = e->from,
                                          .x_unit = "%, short window",
                                          .y_label = e->to,
                                          .y_unit = "%, long window",
                                          .width = CHART_W},
                                .points = pts,
                                .n = m->n,
                                .line = m->n > 0 && isfinite(m->slope),
                                .line_x = mx,
                                .line_y = my,
                                .line_slope = m->slope,
                                .line_label = line};
    lw_err_t err = lw_svg_scatter_chart(b, &so, errstr, errstr_size);
    free(pts);
    free(labels);
    return err;
}

lw_err_t lw_report_html_experiments(const lw_report_ctx_t *c, lw_buf_t *b, char *errstr,
                                    size_t errstr_size)
{
    const lw_analysis_t *a = c->a;
    const lw_exp_analysis *x = a->experiments;
    if (!x)
        return LW_OK;
    lw_buf_printf(b,
                  "<section id=\"experiments\"><h2>Experiments</h2>\n<p class=\"lw-meta\">"
                  "What %zu of the team's own A/B tests say about the edges: randomized "
                  "experiments show whether moving an input moves the NSM, which a lead in the "
                  "time series cannot. Each point is one treatment arm against its control: the "
                  "input's relative effect in the short window after exposure (x), the NSM's in "
                  "the long window (y); the slope is corrected for the noise in both.</p>\n"
                  "<div class=\"lw-grid\">\n",
                  x->nexperiments);
    for (size_t i = 0; i < a->nedges; i++) {
        const lw_edge_result_t *e = &a->edges[i];
        const lw_exp_meta *m = lw_exp_analysis_edge(x, e->from, e->to, NULL);
        if (!m)
            continue;
        lw_buf_puts(b, "<figure class=\"lw-exp\" data-from=\"");
        lw_buf_put_xml(b, e->from);
        lw_buf_puts(b, "\" data-to=\"");
        lw_buf_put_xml(b, e->to);
        lw_buf_printf(b, "\" data-verdict=\"%s\" data-n=\"%zu\" style=\"--vc:%s\">",
                      lw_exp_verdict_name(m->verdict), m->n, verdict_color(m->verdict));
        caption(b, e, m);
        lw_err_t err = scatter(b, x, e, m, errstr, errstr_size);
        if (err != LW_OK)
            return err;
        lw_buf_puts(b, "</figure>\n");
    }
    lw_buf_puts(b, "</div>\n</section>\n");
    return LW_OK;
}

static lw_err_t md_edges(const void *x, FILE *f, char *errstr, size_t errstr_size)
{
    return lw_exp_write_md_edges(x, f, errstr, errstr_size);
}

lw_err_t lw_report_md_experiments(const lw_report_ctx_t *c, lw_buf_t *b, char *errstr,
                                  size_t errstr_size)
{
    if (!c->a->experiments)
        return LW_OK;
    lw_buf_putc(b, '\n');
    return lw_report_put_stream(b, md_edges, c->a->experiments, errstr, errstr_size);
}
