/*
 * report_html.c - the HTML rendering of the nightly report (lw_report_html,
 * contract in report.h; the prepared context comes from report_ctx.c).
 *
 * One self-contained page: inline CSS, inline SVG charts from svg.h /
 * svg_charts.c, no script.  Sections in order: headline sentences, the
 * metric tree, the NSM and inputs over time, one section per edge (charts
 * and a table of the numbers), changes since the previous report, data
 * quality, methods.
 *
 * Time series on the page are z-scores (so the NSM and every input share an
 * axis) of a trailing moving average over one seasonal period (7 days for
 * daily buckets), which removes the day-of-week saw-tooth that would hide
 * the lead; the chart subtitle says so.
 *
 * Layout and CSS: a single column (max 1080 px) with edge sections in a
 * two-column grid of figures; inline SVG scales with its viewBox.  Print CSS
 * drops the page width, avoids breaking a figure or an edge header across
 * pages and starts each edge on a fresh page section when it fits.  Colours:
 * the verdict colours of svg.h (Okabe-Ito); every badge also carries the
 * verdict in words and a symbol, so nothing depends on colour alone.  A
 * chart that does not fit its share of the buffer is rewound and replaced
 * by a short note (fig_note), so one pathological series never loses the
 * whole page.
 */
#include "leadwatch/report/report_ctx.h"

#include "leadwatch/stats/prep.h"
#include "leadwatch/core/timeutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- HTML */

static const char CSS[] =
    ":root{--ink:#1d232a;--muted:#5b6570;--rule:#d6dbe0;--bg:#ffffff;--panel:#f6f8fa}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--ink);"
    "font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}"
    "main{max-width:1080px;margin:0 auto;padding:24px 20px 48px}"
    "h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 10px;"
    "padding-bottom:4px;border-bottom:1px solid var(--rule)}"
    "h3{font-size:17px;margin:0 0 6px}"
    ".lw-meta{color:var(--muted);margin:0 0 8px}"
    ".lw-headline ul{list-style:none;padding:0;margin:0}"
    ".lw-headline li{padding:8px 12px;margin:6px 0;background:var(--panel);"
    "border-left:6px solid var(--vc,#6f7780);border-radius:3px}"
    ".lw-headline a{color:inherit;text-decoration:none}"
    ".lw-headline a:hover{text-decoration:underline}"
    ".lw-badge{display:inline-block;min-width:9.5em;font-weight:600;"
    "color:var(--ink);margin-right:8px}"
    ".lw-badge .lw-sym{display:inline-block;width:1.3em;text-align:center;color:var(--vc)}"
    "figure{margin:0}svg{display:block;width:100%;height:auto}"
    ".lw-edge{margin:28px 0;padding:14px 16px;border:1px solid var(--rule);"
    "border-top:6px solid var(--vc,#6f7780);border-radius:4px}"
    ".lw-grid{display:grid;grid-template-columns:1fr 1fr;gap:10px 18px;margin-top:10px}"
    ".lw-grid .lw-wide{grid-column:1/3}"
    ".lw-reasons{margin:4px 0 8px;padding-left:20px;color:var(--ink)}"
    ".lw-note{color:var(--muted);font-size:14px;padding:10px;background:var(--panel);"
    "border-radius:3px}"
    "table{border-collapse:collapse;font-size:14px;margin:6px 0}"
    "th,td{text-align:left;padding:3px 10px 3px 0;border-bottom:1px solid var(--rule);"
    "vertical-align:top}"
    "th{font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".lw-methods{font-size:13.5px;color:#333}"
    "footer{margin-top:40px;color:var(--muted);font-size:13px}"
    "@media (max-width:760px){.lw-grid{grid-template-columns:1fr}.lw-grid .lw-wide{grid-column:1}}"
    "@page{size:A4;margin:14mm}"
    "@media print{body{font-size:11pt}main{max-width:none;padding:0}"
    "h2{break-after:avoid}figure,.lw-headline li,table{break-inside:avoid}"
    ".lw-edge{break-inside:auto;border-color:#999}.lw-edge h3{break-after:avoid}"
    ".lw-headline li,.lw-note{background:none}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

/* "from → to", escaped. */
static void html_edge_name(lw_buf_t *b, const lw_edge_result_t *e)
{
    lw_buf_put_xml(b, e->from);
    lw_buf_puts(b, " \xE2\x86\x92 ");
    lw_buf_put_xml(b, e->to);
}

/* The values of data-from="..." data-to="..." (the caller wrote data-from=\"). */
static void html_edge_data(lw_buf_t *b, const lw_edge_result_t *e)
{
    lw_buf_put_xml(b, e->from);
    lw_buf_puts(b, "\" data-to=\"");
    lw_buf_put_xml(b, e->to);
}

static void html_badge(lw_buf_t *b, lw_svg_verdict_t v)
{
    lw_buf_puts(b, "<span class=\"lw-badge\"><span class=\"lw-sym\" aria-hidden=\"true\">");
    lw_buf_puts(b, lw_report_verdict_symbol(v));
    lw_buf_puts(b, "</span>");
    lw_buf_put_xml(b, lw_svg_verdict_label(v));
    lw_buf_puts(b, "</span>");
}

static void html_vc_style(lw_buf_t *b, lw_svg_verdict_t v)
{
    lw_buf_printf(b, " style=\"--vc:%s\"", lw_svg_verdict_color(v));
}

static void html_row(lw_buf_t *b, const char *k, const char *v)
{
    lw_buf_puts(b, "<tr><th scope=\"row\">");
    lw_buf_put_xml(b, k);
    lw_buf_puts(b, "</th><td>");
    lw_buf_put_xml(b, v);
    lw_buf_puts(b, "</td></tr>\n");
}

static void html_rowf(lw_buf_t *b, const char *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void html_rowf(lw_buf_t *b, const char *k, const char *fmt, ...)
{
    char v[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    html_row(b, k, v);
}

static void transform_desc(const lw_prep_info_t *p, char *buf, size_t size)
{
    if (!p->usable) {
        snprintf(buf, size, "unusable: %s", p->note);
        return;
    }
    snprintf(buf, size, "%s%s%s", p->log ? "log" : "levels", p->diff ? ", differenced" : "",
             p->season_period ? ", seasonally adjusted" : "");
}

static lw_err_t html_tree(lw_report_ctx_t *c, lw_buf_t *b, char *errstr, size_t errstr_size)
{
    lw_svg_tree_input_t ins[LW_SVG_MAX_TREE_INPUTS];
    char labels[LW_ANALYZE_MAX_EDGES][64];
    size_t nin = 0;
    lw_svg_verdict_t kv = LW_SVG_VERDICT_INSUFFICIENT;
    const char *kl = NULL;
    char el[48];
    for (size_t i = 0; i < c->a->nedges; i++) {
        const lw_edge_result_t *e = &c->a->edges[i];
        const lw_report_edge_ctx_t *ec = &c->edges[i];
        labels[i][0] = '\0';
        if (ec->lead > 0 && e->verdict != LW_VERDICT_INSUFFICIENT_DATA) {
            if (e->elasticity_defined && e->verdict == LW_VERDICT_LEADS) {
                lw_report_elasticity_str(e->elasticity, el, sizeof el);
                snprintf(labels[i], sizeof labels[i], "lead %zu \xC2\xB7 %s", ec->lead, el);
            } else if (e->verdict == LW_VERDICT_REVERSE) {
                snprintf(labels[i], sizeof labels[i], "lag %zu", e->lag_reverse);
            } else {
                snprintf(labels[i], sizeof labels[i], "lead %zu", ec->lead);
            }
        }
        if (strcmp(e->role, "kpi") == 0) {
            kv = ec->svg_verdict;
            kl = labels[i][0] ? labels[i] : NULL;
        } else if (nin < LW_SVG_MAX_TREE_INPUTS) {
            ins[nin++] =
                (lw_svg_tree_input_t){e->from, ec->svg_verdict, labels[i][0] ? labels[i] : NULL};
        }
    }
    lw_svg_tree_opts_t t = {.frame = {.title = "Metric tree",
                                      .subtitle = "Inputs \xE2\x86\x92 North Star Metric "
                                                  "\xE2\x86\x92 KPI; edges coloured, dashed and "
                                                  "labelled by verdict"},
                            .inputs = ins,
                            .ninputs = nin,
                            .nsm_name = lw_report_nsm_name(c),
                            .kpi_name = lw_report_kpi_name(c),
                            .kpi_verdict = kv,
                            .kpi_edge_label = kl};
    return lw_svg_tree_diagram(b, &t, errstr, errstr_size);
}

/* z-scores of the smoothed column; false when it cannot be normalised. */
static void smoothed_col(const lw_report_ctx_t *c, size_t col, double *tmp, double *out)
{
    lw_report_column(c->in, col, tmp);
    lw_report_moving_average(tmp, c->in->nrows, c->smooth, out);
}

static void smooth_subtitle(const lw_report_ctx_t *c, char *buf, size_t size, const char *extra)
{
    if (c->smooth > 1)
        snprintf(buf, size, "z-scores of the %zu-%s moving average%s", c->smooth,
                 lw_report_unit_word(c->a->bucket_ms, 1), extra);
    else
        snprintf(buf, size, "z-scores%s", extra);
}

static const char *period_axis(const lw_report_ctx_t *c)
{
    if (c->a->bucket_ms == LW_MS_PER_DAY)
        return "Day";
    if (c->a->bucket_ms == LW_MS_PER_HOUR)
        return "Hour";
    if (c->a->bucket_ms == LW_MS_PER_WEEK)
        return "Week";
    return "Period";
}

/* The smoothed series s[0..ns) as z-scores over the periods, one shared axis. */
static lw_err_t zscore_chart(const lw_report_ctx_t *c, lw_buf_t *b, const char *title,
                             const char *sub, double height, const lw_svg_series_t *s, size_t ns,
                             char *errstr, size_t errstr_size)
{
    lw_svg_line_opts_t o = {.frame = {.title = title,
                                      .subtitle = sub,
                                      .x_label = period_axis(c),
                                      .y_label = "z-score",
                                      .y_unit = "sd",
                                      .height = height},
                            .x_labels = c->labels,
                            .n = c->in->nrows,
                            .series = s,
                            .nseries = ns};
    return lw_svg_line_chart(b, &o, errstr, errstr_size);
}

static lw_err_t html_overview(lw_report_ctx_t *c, lw_buf_t *b, double *scratch, char *errstr,
                              size_t errstr_size)
{
    const size_t n = c->in->nrows;
    lw_svg_series_t s[LW_SVG_MAX_SERIES];
    char names[LW_SVG_MAX_SERIES][LW_ANALYZE_NAME_SIZE + 16];
    size_t ns = 0;
    double *tmp = scratch;
    double *buf = scratch + n;
    /* the NSM first (emphasised), then every input edge's source */
    snprintf(names[ns], sizeof names[ns], "%s (NSM)", lw_report_nsm_name(c));
    smoothed_col(c, c->in->nsm, tmp, buf + ns * n);
    s[ns] = (lw_svg_series_t){
        .name = names[ns], .values = buf + ns * n, .norm = LW_SVG_NORM_ZSCORE, .emphasis = true};
    ns++;
    for (size_t i = 0; i < c->a->nedges && ns < LW_SVG_MAX_SERIES; i++) {
        const lw_edge_result_t *e = &c->a->edges[i];
        if (strcmp(e->role, "input") != 0)
            continue;
        snprintf(names[ns], sizeof names[ns], "%s", e->from);
        smoothed_col(c, e->from_col, tmp, buf + ns * n);
        s[ns] = (lw_svg_series_t){
            .name = names[ns], .values = buf + ns * n, .norm = LW_SVG_NORM_ZSCORE};
        ns++;
    }
    char sub[160];
    smooth_subtitle(c, sub, sizeof sub, ", so every series shares one axis");
    return zscore_chart(c, b, "North Star Metric and inputs", sub, 420, s, ns, errstr, errstr_size);
}

static void fig_open(lw_buf_t *b, bool wide)
{
    lw_buf_puts(b, wide ? "<figure class=\"lw-fig lw-wide\">" : "<figure class=\"lw-fig\">");
}

static void fig_note(lw_buf_t *b, const char *what, const char *why)
{
    lw_buf_puts(b, "<figure class=\"lw-fig\"><p class=\"lw-note\">");
    lw_buf_put_xml(b, what);
    lw_buf_puts(b, ": ");
    lw_buf_put_xml(b, why && *why ? why : "not available");
    lw_buf_puts(b, "</p></figure>\n");
}

static lw_err_t html_edge_charts(lw_report_ctx_t *c, size_t i, lw_buf_t *b, double *scratch,
                                 char *errstr, size_t errstr_size)
{
    const lw_edge_result_t *e = &c->a->edges[i];
    const lw_report_edge_ctx_t *ec = &c->edges[i];
    const size_t n = c->in->nrows;
    lw_err_t err;
    const char *unit = lw_report_unit_word(c->a->bucket_ms, 2);
    char title[320], sub[400], shifted[LW_ANALYZE_NAME_SIZE + 48], xy[300], yx[300];

    /* 1. time series with the lead overlay */
    double *tmp = scratch, *yv = scratch + n, *xv = scratch + 2 * n;
    smoothed_col(c, e->to_col, tmp, yv);
    smoothed_col(c, e->from_col, tmp, xv);
    lw_svg_series_t s[3] = {
        {.name = e->to, .values = yv, .norm = LW_SVG_NORM_ZSCORE, .emphasis = true},
        {.name = e->from, .values = xv, .norm = LW_SVG_NORM_ZSCORE},
    };
    size_t ns = 2;
    if (ec->lead > 0 && (e->verdict == LW_VERDICT_LEADS || e->verdict == LW_VERDICT_FEEDBACK)) {
        snprintf(shifted, sizeof shifted, "%s", e->from);
        s[ns++] = (lw_svg_series_t){
            .name = shifted, .values = xv, .norm = LW_SVG_NORM_ZSCORE, .shift = (int)ec->lead};
    }
    snprintf(title, sizeof title, "%s and %s over time", e->to, e->from);
    char extra[220];
    if (ns == 3)
        snprintf(extra, sizeof extra, "; dashed: %s shifted by its lead of %zu %s", e->from,
                 ec->lead, lw_report_unit_word(c->a->bucket_ms, ec->lead));
    else
        extra[0] = '\0';
    smooth_subtitle(c, sub, sizeof sub, extra);
    fig_open(b, true);
    if ((err = zscore_chart(c, b, title, sub, 320, s, ns, errstr, errstr_size)) != LW_OK)
        return err;
    lw_buf_puts(b, "</figure>\n");

    /* 2. cross-correlation */
    if (e->ccf_status == LW_STEP_OK && e->ccf_r) {
        fig_open(b, false);
        snprintf(sub, sizeof sub, "Prewhitened, AR(%zu); k > 0: %s leads by k", e->ccf.ar_order,
                 e->from);
        char hl[80], band[80];
        snprintf(hl, sizeof hl, "largest |r| at lead %zu", e->ccf.lead);
        snprintf(band, sizeof band, "95%% band \xC2\xB1%.3f (1.96/\xE2\x88\x9A%zu)", e->ccf.band,
                 e->ccf.npw);
        lw_svg_bar_opts_t bo = {.frame = {.title = "Cross-correlation",
                                          .subtitle = sub,
                                          .x_label = "Lag",
                                          .x_unit = unit,
                                          .y_label = "r",
                                          .width = 520,
                                          .height = 300},
                                .lag_min = -(int)e->max_lag,
                                .values = e->ccf_r,
                                .n = 2 * e->max_lag + 1,
                                .band = e->ccf.band,
                                .band_label = band,
                                .highlight = e->ccf.lead > 0,
                                .highlight_lag = (int)e->ccf.lead,
                                .highlight_label = hl};
        if ((err = lw_svg_bar_chart(b, &bo, errstr, errstr_size)) != LW_OK)
            return err;
        lw_buf_puts(b, "</figure>\n");
    } else {
        fig_note(b, "Cross-correlation", e->ccf_note);
    }

    /* 3. Granger p by lag, both directions */
    if (e->analysed && e->granger && e->max_lag > 0) {
        double *pxy = scratch + 3 * n, *pyx = pxy + e->max_lag;
        for (size_t k = 0; k < e->max_lag; k++) {
            pxy[k] = e->granger[k].status == LW_OK ? e->granger[k].f_p : (double)NAN;
            pyx[k] = e->granger_reverse && e->granger_reverse[k].status == LW_OK
                         ? e->granger_reverse[k].f_p
                         : (double)NAN;
        }
        snprintf(xy, sizeof xy, "%s \xE2\x86\x92 %s", e->from, e->to);
        snprintf(yx, sizeof yx, "%s \xE2\x86\x92 %s", e->to, e->from);
        char q[32];
        lw_report_p_rel(e->q_defined ? e->q : (double)NAN, q, sizeof q);
        snprintf(sub, sizeof sub, "Raw p per lag; chosen lag %zu, BH q %s", e->lag, q);
        fig_open(b, false);
        lw_svg_pvalue_opts_t po = {.frame = {.title = "Granger p-values by lag",
                                             .subtitle = sub,
                                             .x_label = "Lag",
                                             .x_unit = unit,
                                             .y_label = "p-value",
                                             .y_unit = "log scale",
                                             .width = 520,
                                             .height = 300},
                                   .lag_min = 1,
                                   .n = e->max_lag,
                                   .p_xy = pxy,
                                   .p_yx = pyx,
                                   .name_xy = xy,
                                   .name_yx = yx,
                                   .alpha = c->a->opts.alpha};
        if ((err = lw_svg_pvalue_chart(b, &po, errstr, errstr_size)) != LW_OK)
            return err;
        lw_buf_puts(b, "</figure>\n");
    } else {
        fig_note(b, "Granger p-values", "not run: insufficient data");
    }

    /* 4. rolling-window p history with the break */
    if (ec->hist_n >= 2) {
        char alpha[48], brk[96], sname[64];
        snprintf(title, sizeof title, "Granger p over rolling %zu-%s windows", ec->hist_window,
                 lw_report_unit_word(c->a->bucket_ms, 1));
        snprintf(sub, sizeof sub, "Lag %zu, step %zu %s", e->lag, ec->hist_step,
                 lw_report_unit_word(c->a->bucket_ms, ec->hist_step));
        snprintf(alpha, sizeof alpha, "\xCE\xB1 = %g", c->a->opts.alpha);
        snprintf(sname, sizeof sname, "p at lag %zu", e->lag);
        if (ec->hist_break)
            snprintf(brk, sizeof brk, "break %s", c->labels[e->break_row]);
        fig_open(b, false);
        lw_svg_history_opts_t ho = {.frame = {.title = title,
                                              .subtitle = sub,
                                              .x_label = "Window end",
                                              .y_label = "p-value",
                                              .y_unit = "log scale",
                                              .width = 520,
                                              .height = 300},
                                    .x_labels = ec->hist_label,
                                    .n = ec->hist_n,
                                    .values = ec->hist_p,
                                    .series_name = sname,
                                    .log_y = true,
                                    .threshold = c->a->opts.alpha,
                                    .threshold_label = alpha,
                                    .has_break = ec->hist_break,
                                    .break_index = ec->hist_break_index,
                                    .break_label = ec->hist_break ? brk : NULL};
        if ((err = lw_svg_history_chart(b, &ho, errstr, errstr_size)) != LW_OK)
            return err;
        lw_buf_puts(b, "</figure>\n");
    } else {
        fig_note(b, "Rolling-window p-values",
                 e->stab_status != LW_STEP_OK ? e->stab_note : "too few windows");
    }

    /* 5. sensitivity: MDE against the threshold */
    if (e->sens_status == LW_STEP_OK) {
        snprintf(sub, sizeof sub, "%zu-%s test, power %g; passes at \xE2\x89\xA4 %g%%",
                 e->sens.horizon, lw_report_unit_word(c->a->bucket_ms, 1), c->a->opts.mde_power,
                 c->a->opts.mde_threshold * 100);
        fig_open(b, false);
        lw_svg_gauge_opts_t go = {.frame = {.title = "Sensitivity (MDE)",
                                            .subtitle = sub,
                                            .x_label = "MDE",
                                            .x_unit = "%",
                                            .width = 520},
                                  .value = e->sens.mde_rel * 100,
                                  .threshold = c->a->opts.mde_threshold * 100,
                                  .lower_is_better = true,
                                  .decimals = 1};
        if ((err = lw_svg_gauge_bar(b, &go, errstr, errstr_size)) != LW_OK)
            return err;
        lw_buf_puts(b, "</figure>\n");
    } else {
        fig_note(b, "Sensitivity (MDE)", e->sens_note);
    }
    return LW_OK;
}

static void html_edge_table(const lw_report_ctx_t *c, size_t i, lw_buf_t *b)
{
    const lw_edge_result_t *e = &c->a->edges[i];
    char a1[200], a2[200], a3[64];
    lw_buf_puts(b, "<table class=\"lw-stats\">\n");
    transform_desc(&e->prep_from, a1, sizeof a1);
    transform_desc(&e->prep_to, a2, sizeof a2);
    html_rowf(b, "Data", "%zu complete %s used (%s to %s); %s: %s; %s: %s", e->rows_used,
              lw_report_unit_word(c->a->bucket_ms, e->rows_used),
              e->rows_used ? c->labels[e->row_first] : "-",
              e->rows_used ? c->labels[e->row_first + e->rows_used - 1] : "-", e->from, a1, e->to,
              a2);
    if (e->analysed) {
        lw_report_p_rel(e->p, a1, sizeof a1);
        lw_report_p_rel(e->q_defined ? e->q : (double)NAN, a2, sizeof a2);
        html_rowf(b, "Granger x \xE2\x86\x92 y", "lag %zu, p %s, q %s", e->lag, a1, a2);
        lw_report_p_rel(e->p_reverse, a1, sizeof a1);
        lw_report_p_rel(e->q_reverse_defined ? e->q_reverse : (double)NAN, a2, sizeof a2);
        html_rowf(b, "Granger y \xE2\x86\x92 x", "lag %zu, p %s, q %s", e->lag_reverse, a1, a2);
    }
    if (e->lagreg_status == LW_STEP_OK) {
        if (e->elasticity_defined) {
            lw_report_elasticity_str(e->elasticity, a1, sizeof a1);
            lw_report_num_str(e->elasticity_se, 2, a2, sizeof a2);
            html_rowf(b, "Strength", "+1%% \xE2\x86\x92 %s (se %s; %s, distributed lag 1..%zu)", a1,
                      a2, e->elasticity_basis ? e->elasticity_basis : "", e->dl_lags);
        }
        if (e->lead > 0 && e->lagreg) {
            lw_report_num_str(e->lagreg[e->lead].r2, 3, a1, sizeof a1);
            html_rowf(b, "Lead (lagged regression)", "%zu %s, R\xC2\xB2 = %s", e->lead,
                      lw_report_unit_word(c->a->bucket_ms, e->lead), a1);
        }
    } else if (e->analysed) {
        html_row(b, "Lagged regression", e->lagreg_note);
    }
    if (e->stab_status == LW_STEP_OK)
        html_rowf(b, "Stability", "%s: same sign in %zu of %zu windows of %zu, %zu with p < %g",
                  e->stable ? "stable" : "unstable", e->stab_nsame_sign, e->stab_nwindows,
                  e->stab_window, e->stab_nsig, c->a->opts.alpha);
    else if (e->analysed)
        html_row(b, "Stability", e->stab_note);
    if (e->break_status == LW_STEP_OK) {
        lw_report_num_str(e->brk.sup_f, 2, a1, sizeof a1);
        lw_report_p_rel(e->brk.p_defined ? e->brk.p : (double)NAN, a2, sizeof a2);
        if (e->break_found)
            html_rowf(b, "Structural break", "yes, from %s (sup-F %s, p %s)",
                      c->labels[e->break_row], a1, a2);
        else
            html_rowf(b, "Structural break", "none found (sup-F %s, p %s)", a1, a2);
    }
    if (e->oos_status == LW_STEP_OK) {
        lw_report_num_str(e->oos.rel_rmse_change * 100, 2, a1, sizeof a1);
        lw_report_p_rel(e->oos.cw_p, a2, sizeof a2);
        html_rowf(b, "Out-of-sample skill",
                  "%s: RMSE %s%% lower with %s's lags over %zu one-step forecasts (Clark-West p "
                  "%s)",
                  e->oos_skill ? "yes" : "no", a1, e->from, e->oos.noos, a2);
    } else if (e->analysed) {
        html_row(b, "Out-of-sample skill", e->oos_note);
    }
    if (e->sens_status == LW_STEP_OK) {
        lw_report_num_str(e->sens.mde_rel * 100, 1, a1, sizeof a1);
        lw_report_num_str(c->a->opts.mde_threshold * 100, 1, a3, sizeof a3);
        html_rowf(b, "Sensitivity", "MDE %s%% over %zu %s (threshold %s%%): %s", a1,
                  e->sens.horizon, lw_report_unit_word(c->a->bucket_ms, e->sens.horizon), a3,
                  e->sens.sensitive ? "sensitive" : "not sensitive");
    }
    lw_buf_puts(b, "</table>\n");
}

static lw_err_t html_edges(lw_report_ctx_t *c, lw_buf_t *b, double *scratch, char *errstr,
                           size_t errstr_size)
{
    lw_err_t err;
    lw_buf_puts(b, "<section id=\"edges\"><h2>Edge by edge</h2>\n");
    for (size_t i = 0; i < c->a->nedges; i++) {
        const lw_edge_result_t *e = &c->a->edges[i];
        const lw_report_edge_ctx_t *ec = &c->edges[i];
        lw_buf_printf(b, "<section class=\"lw-edge lw-v-%s\" id=\"edge-%zu\" data-from=\"",
                      lw_report_verdict_class(ec->svg_verdict), i + 1);
        html_edge_data(b, e);
        lw_buf_printf(b, "\" data-verdict=\"%s\"", lw_verdict_name(e->verdict));
        html_vc_style(b, ec->svg_verdict);
        lw_buf_puts(b, ">\n<h3>");
        html_edge_name(b, e);
        lw_buf_puts(b, "</h3>\n<p class=\"lw-verdict\">");
        html_badge(b, ec->svg_verdict);
        lw_buf_put_xml(b, ec->sentence);
        lw_buf_puts(b, "</p>\n");
        if (e->nreasons) {
            lw_buf_puts(b, "<ul class=\"lw-reasons\">\n");
            for (size_t k = 0; k < e->nreasons; k++) {
                lw_buf_puts(b, "<li>");
                lw_buf_put_xml(b, e->reasons[k]);
                lw_buf_puts(b, "</li>\n");
            }
            lw_buf_puts(b, "</ul>\n");
        }
        html_edge_table(c, i, b);
        lw_buf_puts(b, "<div class=\"lw-grid\">\n");
        if ((err = html_edge_charts(c, i, b, scratch, errstr, errstr_size)) != LW_OK)
            return err;
        lw_buf_puts(b, "</div>\n</section>\n");
    }
    lw_buf_puts(b, "</section>\n");
    return LW_OK;
}

static void html_changes(const lw_report_ctx_t *c, lw_buf_t *b)
{
    const lw_report_prev_t *prev = c->r->prev;
    lw_buf_puts(b, "<section id=\"changes\"><h2>Changes since the previous report</h2>\n");
    if (!prev) {
        lw_buf_puts(b, "<p class=\"lw-note\">No previous report in this directory: this is the "
                       "first run, so there is nothing to compare.</p>\n</section>\n");
        return;
    }
    size_t changed = 0;
    lw_buf_puts(b, "<ul class=\"lw-changes\">\n");
    for (size_t i = 0; i < c->a->nedges; i++) {
        const lw_edge_result_t *e = &c->a->edges[i];
        const lw_report_prev_edge_t *pe = c->edges[i].prev;
        const char *now = lw_verdict_name(e->verdict);
        if (pe && strcmp(pe->verdict, now) == 0)
            continue;
        changed++;
        lw_buf_puts(b, "<li class=\"lw-change\" data-from=\"");
        html_edge_data(b, e);
        lw_buf_puts(b, "\"><strong>");
        html_edge_name(b, e);
        lw_buf_puts(b, "</strong>: ");
        if (pe) {
            lw_buf_put_xml(b, pe->verdict);
            lw_buf_puts(b, " \xE2\x86\x92 ");
        } else {
            lw_buf_puts(b, "new edge, ");
        }
        lw_buf_put_xml(b, now);
        lw_buf_puts(b, "</li>\n");
    }
    for (size_t k = 0; k < prev->nedges; k++) {
        bool found = false;
        for (size_t i = 0; i < c->a->nedges && !found; i++)
            found = strcmp(prev->edges[k].from, c->a->edges[i].from) == 0 &&
                    strcmp(prev->edges[k].to, c->a->edges[i].to) == 0;
        if (found)
            continue;
        changed++;
        lw_buf_puts(b, "<li class=\"lw-change\"><strong>");
        lw_buf_put_xml(b, prev->edges[k].from);
        lw_buf_puts(b, " \xE2\x86\x92 ");
        lw_buf_put_xml(b, prev->edges[k].to);
        lw_buf_puts(b, "</strong>: no longer in the tree (was ");
        lw_buf_put_xml(b, prev->edges[k].verdict);
        lw_buf_puts(b, ")</li>\n");
    }
    lw_buf_puts(b, "</ul>\n<p class=\"lw-meta\">");
    if (changed == 0)
        lw_buf_puts(b, "No verdict changed since ");
    else
        lw_buf_printf(b, "%zu change%s since ", changed, changed == 1 ? "" : "s");
    lw_buf_puts(b, "the report of ");
    lw_buf_put_xml(b, prev->generated[0] ? prev->generated : "an unknown time");
    if (prev->last_label[0]) {
        lw_buf_puts(b, " (data to ");
        lw_buf_put_xml(b, prev->last_label);
        lw_buf_puts(b, ")");
    }
    lw_buf_puts(b, ".");
    int64_t fired = lw_report_counter_sum(c->r, "alerts.fired", false),
            resolved = lw_report_counter_sum(c->r, "alerts.resolved", false);
    if (fired || resolved)
        lw_buf_printf(b, " Alerts: %lld fired, %lld resolved (store counters).", (long long)fired,
                      (long long)resolved);
    lw_buf_puts(b, "</p>\n</section>\n");
}

static void html_quality(const lw_report_ctx_t *c, lw_buf_t *b)
{
    const lw_report_input_t *r = c->r;
    lw_buf_puts(b, "<section id=\"quality\"><h2>Data quality</h2>\n<ul class=\"lw-dq\">\n");
    int64_t rejected = lw_report_counter_sum(r, "rejected.", false);
    int64_t late =
        lw_report_counter_sum(r, "events.late", true) + lw_report_counter_sum(r, "late", true);
    lw_buf_printf(b, "<li data-dq=\"rejected\">%lld event%s rejected", (long long)rejected,
                  rejected == 1 ? "" : "s");
    if (rejected) {
        lw_buf_puts(b, " (");
        bool first = true;
        for (size_t i = 0; i < r->ncounters; i++) {
            if (strncmp(r->counters[i].name, "rejected.", 9) != 0 || r->counters[i].value == 0)
                continue;
            lw_buf_puts(b, first ? "" : ", ");
            lw_buf_put_xml(b, r->counters[i].name + 9);
            lw_buf_printf(b, " %lld", (long long)r->counters[i].value);
            first = false;
        }
        lw_buf_puts(b, ")");
    }
    lw_buf_puts(b, ".</li>\n");
    lw_buf_printf(b,
                  "<li data-dq=\"late\">%lld late event%s (arrived after their bucket "
                  "closed).</li>\n",
                  (long long)late, late == 1 ? "" : "s");
    lw_buf_printf(b,
                  "<li data-dq=\"provisional\">%zu provisional %s at the end left out (they "
                  "can still change).</li>\n",
                  r->provisional, lw_report_unit_word(c->a->bucket_ms, r->provisional));
    lw_buf_printf(b,
                  "<li data-dq=\"gaps\">%zu gap %s (no data for any tree metric) out of "
                  "%zu.</li>\n",
                  c->gaps, lw_report_unit_word(c->a->bucket_ms, c->gaps), c->in->nrows);
    for (size_t i = 0; i < r->ncounters; i++) {
        if (strncmp(r->counters[i].name, "missing_value.", 14) != 0 || r->counters[i].value == 0)
            continue;
        lw_buf_puts(b, "<li data-dq=\"missing\">");
        lw_buf_put_xml(b, r->counters[i].name + 14);
        lw_buf_printf(b, ": %lld event%s without the value.</li>\n",
                      (long long)r->counters[i].value, r->counters[i].value == 1 ? "" : "s");
    }
    for (size_t i = 0; i < c->a->nedges; i++) {
        const lw_edge_result_t *e = &c->a->edges[i];
        const size_t filled = e->prep_from.n_interpolated + e->prep_to.n_interpolated;
        if (e->rows_incomplete == 0 && e->rows_used == e->rows_total && filled == 0)
            continue;
        lw_buf_puts(b, "<li data-dq=\"edge\">");
        html_edge_name(b, e);
        lw_buf_printf(b,
                      ": %zu of %zu %s used (%zu incomplete after preparation, %zu values "
                      "interpolated).</li>\n",
                      e->rows_used, e->rows_total,
                      lw_report_unit_word(c->a->bucket_ms, e->rows_total), e->rows_incomplete,
                      filled);
    }
    lw_buf_puts(b, "</ul>\n</section>\n");
}

static lw_err_t html_render(lw_report_ctx_t *c, lw_buf_t *b, char *errstr, size_t errstr_size)
{
    const lw_report_input_t *r = c->r;
    const lw_analysis_t *a = c->a;
    const size_t n = c->in->nrows;
    char gen[40], tmp[96];
    lw_err_t err;
    lw_report_time_str(r->generated_ms, gen, sizeof gen);
    size_t maxlag = 0;
    for (size_t i = 0; i < a->nedges; i++)
        if (a->edges[i].max_lag > maxlag)
            maxlag = a->edges[i].max_lag;
    size_t ncols = (size_t)LW_SVG_MAX_SERIES + 4;
    double *scratch = malloc((ncols * (n ? n : 1) + 2 * maxlag + 2) * sizeof(double));
    if (!scratch)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: out of memory");

    lw_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<meta name=\"generator\" content=\"leadwatch " LW_VERSION "\">\n<title>");
    lw_buf_put_xml(b, lw_report_title_of(r));
    lw_buf_puts(b, " \xE2\x80\x93 ");
    lw_buf_put_xml(b, a->last_label);
    lw_buf_puts(b, "</title>\n<style>");
    lw_buf_puts(b, CSS);
    lw_buf_puts(b, "</style>\n</head>\n<body>\n<main>\n<header>\n<h1>");
    lw_buf_put_xml(b, lw_report_title_of(r));
    lw_buf_puts(b, "</h1>\n<p class=\"lw-meta\" id=\"meta\">North Star Metric <strong>");
    lw_buf_put_xml(b, lw_report_nsm_name(c));
    lw_buf_puts(b, "</strong>");
    if (lw_report_kpi_name(c)) {
        lw_buf_puts(b, " \xC2\xB7 KPI <strong>");
        lw_buf_put_xml(b, lw_report_kpi_name(c));
        lw_buf_puts(b, "</strong>");
    }
    lw_buf_puts(b, " \xC2\xB7 window <span class=\"lw-window\">");
    lw_buf_put_xml(b, a->first_label);
    lw_buf_puts(b, " \xE2\x80\x93 ");
    lw_buf_put_xml(b, a->last_label);
    lw_buf_printf(b, "</span> (%zu %s) \xC2\xB7 generated ", n,
                  lw_report_unit_word(a->bucket_ms, n));
    lw_buf_put_xml(b, gen);
    lw_buf_puts(b, "</p>\n</header>\n");

    /* 1. headline */
    lw_buf_puts(b, "<section id=\"headline\" class=\"lw-headline\"><h2>Headline</h2>\n<ul>\n");
    for (size_t i = 0; i < a->nedges; i++) {
        const lw_edge_result_t *e = &a->edges[i];
        const lw_report_edge_ctx_t *ec = &c->edges[i];
        lw_buf_puts(b, "<li class=\"lw-edge-line\" data-from=\"");
        html_edge_data(b, e);
        lw_buf_printf(b, "\" data-verdict=\"%s\" data-lead=\"%zu\"", lw_verdict_name(e->verdict),
                      ec->lead);
        html_vc_style(b, ec->svg_verdict);
        lw_buf_puts(b, ">");
        html_badge(b, ec->svg_verdict);
        lw_buf_puts(b, "<a href=\"#edge-");
        lw_buf_printf(b, "%zu\">", i + 1);
        lw_buf_put_xml(b, ec->sentence);
        lw_buf_puts(b, "</a></li>\n");
    }
    lw_buf_puts(b, "</ul>\n</section>\n");

    /* 2. tree, 3. series */
    lw_buf_puts(b, "<section id=\"tree\"><h2>Metric tree</h2>\n<figure class=\"lw-fig\">");
    if ((err = html_tree(c, b, errstr, errstr_size)) != LW_OK)
        goto done;
    lw_buf_puts(b, "</figure>\n</section>\n<section id=\"series\"><h2>Over time</h2>\n"
                   "<figure class=\"lw-fig\">");
    if ((err = html_overview(c, b, scratch, errstr, errstr_size)) != LW_OK)
        goto done;
    lw_buf_puts(b, "</figure>\n</section>\n");

    /* 5. changes (before the detail: it is what a returning reader wants) */
    html_changes(c, b);

    /* 4. edges */
    if ((err = html_edges(c, b, scratch, errstr, errstr_size)) != LW_OK)
        goto done;

    html_quality(c, b);
    lw_buf_puts(b, "<section id=\"methods\" class=\"lw-methods\"><h2>Methods</h2>\n");
    lw_report_methods_text(c, b, true);
    lw_buf_puts(b, "</section>\n<footer>leadwatch " LW_VERSION);
    if (r->config_path) {
        lw_buf_puts(b, " \xC2\xB7 config ");
        lw_buf_put_xml(b, r->config_path);
    }
    if (r->store_path) {
        lw_buf_puts(b, " \xC2\xB7 store ");
        lw_buf_put_xml(b, r->store_path);
    }
    if (r->window) {
        snprintf(tmp, sizeof tmp, " \xC2\xB7 window %zu", r->window);
        lw_buf_puts(b, tmp);
    }
    if (r->as_of) {
        lw_buf_puts(b, " \xC2\xB7 as of ");
        lw_buf_put_xml(b, r->as_of);
    }
    lw_buf_puts(b, " \xC2\xB7 also as report.md and report.json</footer>\n</main>\n</body>\n"
                   "</html>\n");
    err = b->err;
    if (err != LW_OK)
        lw_seterr(errstr, errstr_size, err, "report: the page exceeds %zu bytes", b->max);
done:
    free(scratch);
    return err;
}

lw_err_t lw_report_html(const lw_report_input_t *r, lw_buf_t *out, char *errstr, size_t errstr_size)
{
    return lw_report_render(r, out, true, html_render, errstr, errstr_size);
}
