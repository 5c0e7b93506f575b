/*
 * report_html.c - the HTML rendering of the nightly report (lw_report_html,
 * contract in report.h; the prepared context comes from report_ctx.c).
 *
 * One self-contained page: inline CSS, inline SVG charts from svg.h, no
 * script.  Values first, statistics on demand: headline sentences, the
 * metric tree, small multiples of every tree metric indexed to 100 at the
 * window start (not z-scores: an analyst reads "10% above January"), a
 * strip of the daemon's stored verdicts (when each edge led), then one
 * section per edge whose first chart is the target and the input in their
 * own units on two aligned panels, the leader shifted by its lead and the
 * break date marked; the tests behind the verdict - each with a one-line
 * plain explanation - and their charts sit in a collapsed <details>.  Then
 * changes since the previous report, the experiments (report_exp.c, when
 * the store has any), data quality, a glossary, methods.
 *
 * Time series are a trailing moving average over one seasonal period (7
 * days for daily buckets), which removes the day-of-week saw-tooth that
 * would hide the lead; the chart subtitles say so.
 *
 * Phone legibility: SVG text scales with its viewBox, so a 960 px chart on
 * a 390 px phone would print 12 px text at 5 px.  Charts that span the
 * page are therefore drawn twice (two_widths): at 960 px for a desktop and
 * at 360 px for a phone, and CSS shows one (.lw-only-wide / .lw-only-narrow
 * at max-width 600 px, where the page padding leaves >= 350 px for them).
 * Small multiples and detail charts are drawn once at 340-360 px and laid
 * out in a grid.  All chart text is >= 12 px in viewBox units, so >= 11 px
 * on screen at both widths (the browser test measures it).
 *
 * Layout and CSS: a single column (max 1080 px).  Print CSS drops the page
 * width and avoids breaking a figure or an edge header across pages.
 * Colours: the verdict colours of svg.h (Okabe-Ito); every badge also
 * carries the verdict in words and a symbol, so nothing depends on colour.
 */
#include "leadwatch/report/report_ctx.h"

#include "leadwatch/stats/prep.h"
#include "leadwatch/core/timeutil.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
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
    ".lw-badge{display:inline-block;min-width:10.5em;font-weight:600;"
    "color:var(--ink);margin-right:8px}"
    ".lw-badge .lw-sym{display:inline-block;width:1.3em;text-align:center;color:var(--vc)}"
    "figure{margin:0}svg{display:block;width:100%;height:auto}"
    ".lw-only-narrow{display:none}"
    ".lw-edge{margin:28px 0;padding:14px 16px;border:1px solid var(--rule);"
    "border-top:6px solid var(--vc,#6f7780);border-radius:4px}"
    ".lw-grid{display:grid;grid-template-columns:1fr 1fr;gap:10px 18px;margin-top:10px}"
    ".lw-grid svg{max-width:440px}"
    ".lw-multiples{display:grid;grid-template-columns:repeat(3,1fr);gap:8px 14px}"
    ".lw-reasons{margin:4px 0 8px;padding-left:20px;color:var(--ink);font-size:14px}"
    ".lw-note{color:var(--muted);font-size:14px;padding:10px;background:var(--panel);"
    "border-radius:3px}"
    "details{margin:10px 0 0}summary{cursor:pointer;font-weight:600;padding:4px 0}"
    "dl.lw-explain dt,dl.lw-glossary dt{font-weight:600;margin-top:6px}"
    "dl.lw-explain dd,dl.lw-glossary dd{margin:0 0 0 1.2em}"
    "table{border-collapse:collapse;font-size:14px;margin:6px 0}"
    "th,td{text-align:left;padding:3px 10px 3px 0;border-bottom:1px solid var(--rule);"
    "vertical-align:top}"
    "th{font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".lw-exp{border-left:6px solid var(--vc,#6f7780);padding-left:10px}"
    ".lw-exp figcaption{font-size:14px;margin-bottom:6px}"
    ".lw-methods{font-size:13.5px;color:#333}"
    "footer{margin-top:40px;color:var(--muted);font-size:13px}"
    "@media (max-width:900px){.lw-multiples{grid-template-columns:1fr 1fr}}"
    "@media (max-width:760px){.lw-grid{grid-template-columns:1fr}}"
    /* a phone: the 360 px drawings, and the padding that leaves them >= 350 px */
    "@media (max-width:600px){main{padding:14px 8px 32px}.lw-edge{padding:10px 6px}"
    ".lw-multiples{grid-template-columns:1fr}.lw-only-wide{display:none}.lw-only-narrow{display:"
    "block}"
    ".lw-badge{display:block}table{font-size:13px}}"
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

/* A chart drawn twice: at `wide` px for a desktop and at 360 px for a phone (CSS picks one). */
#define NARROW_W 360.0

typedef lw_err_t (*chart_fn)(lw_report_ctx_t *c, size_t i, lw_buf_t *b, double *scratch,
                             double width, char *errstr, size_t errstr_size);

static lw_err_t two_widths(lw_report_ctx_t *c, size_t i, lw_buf_t *b, double *scratch, chart_fn fn,
                           double wide, char *errstr, size_t errstr_size)
{
    lw_err_t err;
    lw_buf_puts(b, "<figure class=\"lw-fig lw-only-wide\">");
    if ((err = fn(c, i, b, scratch, wide, errstr, errstr_size)) != LW_OK)
        return err;
    lw_buf_puts(b, "</figure>\n<figure class=\"lw-fig lw-only-narrow\">");
    if ((err = fn(c, i, b, scratch, NARROW_W, errstr, errstr_size)) != LW_OK)
        return err;
    lw_buf_puts(b, "</figure>\n");
    return LW_OK;
}

/* The tree's edge label: the lead in the report's one vocabulary, or when it stopped. */
static void tree_label(const lw_report_ctx_t *c, size_t i, char *buf, size_t size)
{
    const lw_edge_result_t *e = &c->a->edges[i];
    const lw_report_edge_ctx_t *ec = &c->edges[i];
    const char *u = lw_report_unit_word(c->a->bucket_ms, ec->lead);
    char el[48];
    buf[0] = '\0';
    if (e->verdict == LW_VERDICT_NO_LONGER_LEADS && ec->since[0]) {
        snprintf(buf, size, "%.40s", ec->since);
    } else if (ec->lead > 0 && e->verdict == LW_VERDICT_FEEDBACK) {
        snprintf(buf, size, "%zu \xE2\x87\x84 %zu %s", ec->lead, e->lag_reverse,
                 lw_report_unit_word(c->a->bucket_ms, 2));
    } else if (ec->lead > 0 && e->verdict == LW_VERDICT_LEADS && e->elasticity_defined) {
        lw_report_elasticity_str(e->elasticity, el, sizeof el);
        snprintf(buf, size, "%zu %s \xC2\xB7 %s", ec->lead, u, el);
    } else if (ec->lead > 0 && e->verdict != LW_VERDICT_INSUFFICIENT_DATA) {
        snprintf(buf, size, "%zu %s", ec->lead, u);
    }
}

static lw_err_t tree_chart(lw_report_ctx_t *c, size_t unused, lw_buf_t *b, double *scratch,
                           double width, char *errstr, size_t errstr_size)
{
    (void)unused;
    (void)scratch;
    lw_svg_tree_input_t ins[LW_SVG_MAX_TREE_INPUTS];
    char labels[LW_ANALYZE_MAX_EDGES][64];
    size_t nin = 0;
    lw_svg_verdict_t kv = LW_SVG_VERDICT_INSUFFICIENT;
    const char *kl = NULL;
    for (size_t i = 0; i < c->a->nedges; i++) {
        const lw_edge_result_t *e = &c->a->edges[i];
        tree_label(c, i, labels[i], sizeof labels[i]);
        if (strcmp(e->role, "kpi") == 0) {
            kv = c->edges[i].svg_verdict;
            kl = labels[i][0] ? labels[i] : NULL;
        } else if (nin < LW_SVG_MAX_TREE_INPUTS) {
            ins[nin++] = (lw_svg_tree_input_t){e->from, c->edges[i].svg_verdict,
                                               labels[i][0] ? labels[i] : NULL};
        }
    }
    lw_svg_tree_opts_t t = {.frame = {.title = "Metric tree", .width = width},
                            .inputs = ins,
                            .ninputs = nin,
                            .nsm_name = lw_report_nsm_name(c),
                            .kpi_name = lw_report_kpi_name(c),
                            .kpi_verdict = kv,
                            .kpi_edge_label = kl};
    char sub[160];
    snprintf(sub, sizeof sub, "Inputs \xE2\x86\x92 NSM \xE2\x86\x92 KPI, by verdict and lead");
    t.frame.subtitle = sub;
    return lw_svg_tree_diagram(b, &t, errstr, errstr_size);
}

/* The trailing moving average of a column, in its own units. */
static void smoothed_col(const lw_report_ctx_t *c, size_t col, double *tmp, double *out)
{
    lw_report_column(c->in, col, tmp);
    lw_report_moving_average(tmp, c->in->nrows, c->smooth, out);
}

static void smooth_words(const lw_report_ctx_t *c, char *buf, size_t size)
{
    if (c->smooth > 1)
        snprintf(buf, size, "%zu-%s average", c->smooth, lw_report_unit_word(c->a->bucket_ms, 1));
    else
        snprintf(buf, size, "per %s", lw_report_unit_word(c->a->bucket_ms, 1));
}

/* First row where the smoothed NSM is defined: the index base of the overview. */
static size_t index_base_row(const double *v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (isfinite(v[k]))
            return k;
    return 0;
}

/* One small multiple: series col indexed (100 = window start), the NSM in grey behind it. */
static lw_err_t multiple_chart(lw_report_ctx_t *c, size_t col, lw_buf_t *b, double *scratch,
                               char *errstr, size_t errstr_size)
{
    const size_t n = c->in->nrows;
    double *tmp = scratch, *nsm = scratch + n, *xv = scratch + 2 * n;
    smoothed_col(c, c->in->nsm, tmp, nsm);
    smoothed_col(c, col, tmp, xv);
    const bool is_nsm = col == c->in->nsm;
    char title[LW_ANALYZE_NAME_SIZE + 16], sub[200], sw[48], nsm_name[LW_ANALYZE_NAME_SIZE + 8];
    size_t base = index_base_row(nsm, n);
    smooth_words(c, sw, sizeof sw);
    snprintf(title, sizeof title, "%s%s", c->in->names[col], is_nsm ? " (NSM)" : "");
    snprintf(sub, sizeof sub, "100 = %s; %s%s", c->labels[base], sw, is_nsm ? "" : "; grey: NSM");
    snprintf(nsm_name, sizeof nsm_name, "%s (NSM)", lw_report_nsm_name(c));
    lw_svg_series_t s[2];
    size_t ns = 0;
    if (!is_nsm)
        s[ns++] = (lw_svg_series_t){.name = nsm_name,
                                    .values = nsm,
                                    .norm = LW_SVG_NORM_INDEX100,
                                    .color = "#b8bec4",
                                    .no_legend = true};
    s[ns++] = (lw_svg_series_t){.name = c->in->names[col],
                                .values = xv,
                                .norm = LW_SVG_NORM_INDEX100,
                                .emphasis = is_nsm,
                                .color = is_nsm ? NULL : LW_SVG_C_BLUE};
    lw_svg_line_opts_t o = {
        .frame = {.title = title, .subtitle = sub, .y_label = "Index", .width = 340, .height = 220},
        .x_labels = c->labels,
        .n = n,
        .series = s,
        .nseries = ns};
    return lw_svg_line_chart(b, &o, errstr, errstr_size);
}

/*
 * Closes the figure a chart was written into when it was (err == LW_OK);
 * returns err, which the caller returns at once when it is not LW_OK.
 */
static lw_err_t fig_end(lw_buf_t *b, lw_err_t err)
{
    if (err == LW_OK)
        lw_buf_puts(b, "</figure>\n");
    return err;
}

static lw_err_t html_overview(lw_report_ctx_t *c, lw_buf_t *b, double *scratch, char *errstr,
                              size_t errstr_size)
{
    lw_err_t err;
    lw_buf_puts(b, "<div class=\"lw-multiples\">\n<figure class=\"lw-fig\">");
    if ((err = fig_end(b, multiple_chart(c, c->in->nsm, b, scratch, errstr, errstr_size))) != LW_OK)
        return err;
    for (size_t i = 0; i < c->a->nedges; i++) {
        const lw_edge_result_t *e = &c->a->edges[i];
        if (strcmp(e->role, "input") != 0)
            continue;
        lw_buf_puts(b, "<figure class=\"lw-fig\">");
        if ((err = fig_end(b, multiple_chart(c, e->from_col, b, scratch, errstr, errstr_size))) !=
            LW_OK)
            return err;
    }
    lw_buf_puts(b, "</div>\n");
    return LW_OK;
}

/* Verdict category of a stored verdict name, in strip order; -1 = unknown or no data. */
static const char *const STRIP_NAMES[] = {"leads",    "stopped leading", "reverse",
                                          "feedback", "inconclusive",    "insufficient data"};

static signed char strip_cat(const char *v)
{
    static const char *const names[] = {"leads",    "no_longer_leads", "reverse",
                                        "feedback", "inconclusive",    "insufficient_data"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (strcmp(v, names[k]) == 0)
            return (signed char)k;
    return -1;
}

/* Cells [nedges][nrows] of the stored verdicts; false when none falls in the window. */
static bool strip_cells(const lw_report_ctx_t *c, signed char *cells)
{
    const size_t n = c->in->nrows;
    memset(cells, -1, c->a->nedges * n);
    int64_t first;
    if (!c->r->history || n == 0 || c->a->bucket_ms <= 0 ||
        !lw_time_parse_iso8601(c->labels[0], strlen(c->labels[0]), &first))
        return false;
    bool any = false;
    char key[2 * LW_ANALYZE_NAME_SIZE + 2];
    for (size_t i = 0; i < c->a->nedges; i++) {
        const lw_edge_result_t *e = &c->a->edges[i];
        snprintf(key, sizeof key, "%s->%s", e->from, e->to);
        for (size_t k = 0; k < c->r->nhistory; k++) {
            const lw_report_verdict_t *v = &c->r->history[k];
            if (v->as_of_ms < first || strcmp(v->edge, key) != 0)
                continue;
            size_t row = (size_t)((v->as_of_ms - first) / c->a->bucket_ms);
            if (row >= n)
                continue;
            cells[i * n + row] = strip_cat(v->verdict);
            any = true;
        }
    }
    return any;
}

static lw_err_t strip_chart(lw_report_ctx_t *c, size_t unused, lw_buf_t *b, double *scratch,
                            double width, char *errstr, size_t errstr_size)
{
    (void)unused;
    const size_t n = c->in->nrows;
    signed char *cells = (signed char *)scratch; /* the caller filled them */
    lw_svg_strip_row_t rows[LW_SVG_MAX_STRIP_ROWS];
    char names[LW_ANALYZE_MAX_EDGES][2 * LW_ANALYZE_NAME_SIZE + 8];
    size_t nr = 0;
    for (size_t i = 0; i < c->a->nedges && nr < LW_SVG_MAX_STRIP_ROWS; i++) {
        snprintf(names[i], sizeof names[i], "%s \xE2\x86\x92 %s", c->a->edges[i].from,
                 c->a->edges[i].to);
        rows[nr++] = (lw_svg_strip_row_t){names[i], cells + i * n};
    }
    const char *colors[6];
    for (size_t k = 0; k < 6; k++)
        colors[k] = lw_svg_verdict_color((lw_svg_verdict_t)k);
    lw_svg_strip_opts_t o = {.frame = {.title = "When each edge led",
                                       .subtitle = "The daemon's verdict at each closed bucket "
                                                   "(the store's verdicts table)",
                                       .width = width},
                             .x_labels = c->labels,
                             .n = n,
                             .rows = rows,
                             .nrows = nr,
                             .cat_names = STRIP_NAMES,
                             .cat_colors = colors,
                             .ncats = 6};
    return lw_svg_strip_chart(b, &o, errstr, errstr_size);
}

static lw_err_t html_history(lw_report_ctx_t *c, lw_buf_t *b, char *errstr, size_t errstr_size)
{
    const size_t n = c->in->nrows;
    lw_buf_puts(b, "<section id=\"history\"><h2>When each edge led</h2>\n");
    signed char *cells = malloc(c->a->nedges * (n ? n : 1));
    if (!cells)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: out of memory");
    lw_err_t err = LW_OK;
    if (!strip_cells(c, cells))
        lw_buf_puts(b, "<p class=\"lw-note\">No stored verdicts in this window: the daemon "
                       "(leadwatch run) records one per edge each time a bucket closes; this "
                       "strip fills in as it runs.</p>\n");
    else
        err = two_widths(c, 0, b, (double *)(void *)cells, strip_chart, 960, errstr, errstr_size);
    free(cells);
    lw_buf_puts(b, "</section>\n");
    return err;
}

static void fig_note(lw_buf_t *b, const char *what, const char *why)
{
    lw_buf_puts(b, "<figure class=\"lw-fig\"><p class=\"lw-note\">");
    lw_buf_put_xml(b, what);
    lw_buf_puts(b, ": ");
    lw_buf_put_xml(b, why && *why ? why : "not available");
    lw_buf_puts(b, "</p></figure>\n");
}

/*
 * The period (row) at which the daemon's stored verdicts last turned from
 * leads to no_longer_leads for edge i - when its alert rule saw the stop -
 * or SIZE_MAX when the history has no such turn in the window.
 */
static size_t stored_stop_row(const lw_report_ctx_t *c, size_t i)
{
    const size_t n = c->in->nrows;
    const lw_edge_result_t *e = &c->a->edges[i];
    int64_t first;
    size_t found = SIZE_MAX;
    if (!c->r->history || n == 0 || c->a->bucket_ms <= 0 ||
        !lw_time_parse_iso8601(c->labels[0], strlen(c->labels[0]), &first))
        return found;
    char key[2 * LW_ANALYZE_NAME_SIZE + 2];
    snprintf(key, sizeof key, "%s->%s", e->from, e->to);
    bool led = false;
    for (size_t k = 0; k < c->r->nhistory; k++) {
        const lw_report_verdict_t *v = &c->r->history[k];
        if (strcmp(v->edge, key) != 0)
            continue;
        if (strcmp(v->verdict, "leads") == 0) {
            led = true;
        } else if (strcmp(v->verdict, "no_longer_leads") == 0 && led) {
            led = false;
            if (v->as_of_ms >= first && (size_t)((v->as_of_ms - first) / c->a->bucket_ms) < n)
                found = (size_t)((v->as_of_ms - first) / c->a->bucket_ms);
        }
    }
    return found;
}

/* The values chart: y (top) and x shifted by its lead (bottom), own units, break marked. */
static lw_err_t values_chart(lw_report_ctx_t *c, size_t i, lw_buf_t *b, double *scratch,
                             double width, char *errstr, size_t errstr_size)
{
    const lw_edge_result_t *e = &c->a->edges[i];
    const lw_report_edge_ctx_t *ec = &c->edges[i];
    const size_t n = c->in->nrows;
    double *tmp = scratch, *yv = scratch + n, *xv = scratch + 2 * n;
    smoothed_col(c, e->to_col, tmp, yv);
    smoothed_col(c, e->from_col, tmp, xv);
    const bool x_leads =
        ec->lead > 0 && (e->verdict == LW_VERDICT_LEADS || e->verdict == LW_VERDICT_FEEDBACK ||
                         e->verdict == LW_VERDICT_NO_LONGER_LEADS);
    const bool y_leads = ec->lead > 0 && e->verdict == LW_VERDICT_REVERSE;
    const char *unit = lw_report_unit_word(c->a->bucket_ms, ec->lead);
    char title[320], sub[320], sw[48], top[LW_ANALYZE_NAME_SIZE + 64],
        bot[LW_ANALYZE_NAME_SIZE + 64], marks_lab[2][LW_ANALYZE_LABEL_SIZE + 32];
    smooth_words(c, sw, sizeof sw);
    snprintf(top, sizeof top, "%s%s", e->to,
             y_leads ? "" : (strcmp(e->role, "kpi") == 0 ? " (KPI)" : " (NSM)"));
    if (y_leads) {
        snprintf(top, sizeof top, "%s, drawn %zu %s later", e->to, ec->lead, unit);
        snprintf(bot, sizeof bot, "%s", e->from);
    } else if (x_leads) {
        snprintf(bot, sizeof bot, "%s, drawn %zu %s later (its lead)", e->from, ec->lead, unit);
    } else {
        snprintf(bot, sizeof bot, "%s", e->from);
    }
    snprintf(title, sizeof title, "%s and %s", e->to, e->from);
    if (x_leads || y_leads)
        snprintf(sub, sizeof sub, "Own units, %s; the leader shifted by its lead", sw);
    else
        snprintf(sub, sizeof sub, "Own units, %s; no lead to line up", sw);
    lw_svg_vmark_t marks[2];
    char stop_lab[LW_ANALYZE_LABEL_SIZE + 48];
    size_t nm = 0;
    if (e->verdict == LW_VERDICT_NO_LONGER_LEADS && e->since_row < n) {
        snprintf(marks_lab[nm], sizeof marks_lab[nm], "stopped leading %s", ec->since);
        marks[nm] = (lw_svg_vmark_t){.index = e->since_row, .label = marks_lab[nm]};
        nm++;
    } else if (e->break_found && e->break_row < n) {
        snprintf(marks_lab[nm], sizeof marks_lab[nm], "break %s", c->labels[e->break_row]);
        marks[nm] = (lw_svg_vmark_t){.index = e->break_row, .label = marks_lab[nm]};
        nm++;
    }
    const size_t stop = stored_stop_row(c, i);
    if (stop != SIZE_MAX) {
        snprintf(stop_lab, sizeof stop_lab, "daemon: stopped %s", c->labels[stop]);
        marks[nm++] = (lw_svg_vmark_t){
            .index = stop, .label = stop_lab, .color = LW_SVG_C_BLUE, .dash = "2 3"};
    }
    lw_svg_pair_opts_t o = {
        .frame = {.title = title,
                  .subtitle = sub,
                  .width = width,
                  .height = width < 500 ? 380 : 400},
        .x_labels = c->labels,
        .n = n,
        .top = {.name = top, .values = yv, .shift = y_leads ? (int)ec->lead : 0},
        .bottom = {.name = bot,
                   .values = xv,
                   .shift = x_leads ? (int)ec->lead : 0,
                   .color = LW_SVG_C_BLUE},
        .marks = marks,
        .nmarks = nm};
    return lw_svg_pair_chart(b, &o, errstr, errstr_size);
}

/* The detail charts (inside the collapsed statistics). */
static lw_err_t html_detail_charts(lw_report_ctx_t *c, size_t i, lw_buf_t *b, double *scratch,
                                   char *errstr, size_t errstr_size)
{
    const lw_edge_result_t *e = &c->a->edges[i];
    const lw_report_edge_ctx_t *ec = &c->edges[i];
    const size_t n = c->in->nrows;
    lw_err_t err;
    const char *unit = lw_report_unit_word(c->a->bucket_ms, 2);
    char title[320], sub[400], xy[300], yx[300];
    const double W = NARROW_W, H = 280;

    /* cross-correlation */
    if (e->ccf_status == LW_STEP_OK && e->ccf_r) {
        lw_buf_puts(b, "<figure class=\"lw-fig\">");
        snprintf(sub, sizeof sub, "k > 0: %s moves first by k", e->from);
        char hl[80], band[80];
        snprintf(hl, sizeof hl, "peak at lead %zu", e->ccf.lead);
        snprintf(band, sizeof band, "95%% band \xC2\xB1%.3f", e->ccf.band);
        lw_svg_bar_opts_t bo = {.frame = {.title = "Cross-correlation",
                                          .subtitle = sub,
                                          .x_label = "Lead",
                                          .x_unit = unit,
                                          .y_label = "r",
                                          .width = W,
                                          .height = H},
                                .lag_min = -(int)e->max_lag,
                                .values = e->ccf_r,
                                .n = 2 * e->max_lag + 1,
                                .band = e->ccf.band,
                                .band_label = band,
                                .highlight = e->ccf.lead > 0,
                                .highlight_lag = (int)e->ccf.lead,
                                .highlight_label = hl};
        if ((err = fig_end(b, lw_svg_bar_chart(b, &bo, errstr, errstr_size))) != LW_OK)
            return err;
    } else {
        fig_note(b, "Cross-correlation", e->ccf_note);
    }

    /* Granger p by lag order, both directions */
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
        snprintf(sub, sizeof sub, "Raw p per lag order; chosen %zu, q %s", e->lag, q);
        lw_buf_puts(b, "<figure class=\"lw-fig\">");
        lw_svg_pvalue_opts_t po = {.frame = {.title = "Granger p by lag order",
                                             .subtitle = sub,
                                             .x_label = "Lag order",
                                             .y_label = "p",
                                             .y_unit = "log",
                                             .width = W,
                                             .height = H + 20},
                                   .lag_min = 1,
                                   .n = e->max_lag,
                                   .p_xy = pxy,
                                   .p_yx = pyx,
                                   .name_xy = xy,
                                   .name_yx = yx,
                                   .alpha = c->a->opts.alpha};
        if ((err = fig_end(b, lw_svg_pvalue_chart(b, &po, errstr, errstr_size))) != LW_OK)
            return err;
    } else {
        fig_note(b, "Granger p-values", "not run: insufficient data");
    }

    /* rolling-window p history with the break */
    if (ec->hist_n >= 2) {
        char alpha[48], brk[96], sname[64];
        snprintf(title, sizeof title, "Granger p, rolling %zu-%s windows", ec->hist_window,
                 lw_report_unit_word(c->a->bucket_ms, 1));
        snprintf(sub, sizeof sub, "Lag order %zu, step %zu %s", e->lag, ec->hist_step,
                 lw_report_unit_word(c->a->bucket_ms, ec->hist_step));
        snprintf(alpha, sizeof alpha, "\xCE\xB1 %g", c->a->opts.alpha);
        snprintf(sname, sizeof sname, "p at lag order %zu", e->lag);
        if (ec->hist_break)
            snprintf(brk, sizeof brk, "break %s", c->labels[e->break_row]);
        lw_buf_puts(b, "<figure class=\"lw-fig\">");
        lw_svg_history_opts_t ho = {.frame = {.title = title,
                                              .subtitle = sub,
                                              .x_label = "Window end",
                                              .y_label = "p",
                                              .y_unit = "log",
                                              .width = W,
                                              .height = H},
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
        if ((err = fig_end(b, lw_svg_history_chart(b, &ho, errstr, errstr_size))) != LW_OK)
            return err;
    } else {
        fig_note(b, "Rolling-window p-values",
                 e->stab_status != LW_STEP_OK ? e->stab_note : "too few windows");
    }

    /* sensitivity: how big a change a short experiment can see (information, not a gate) */
    if (e->sens_status == LW_STEP_OK) {
        char mde[32], thr[32], vt[200];
        lw_report_num_str(e->sens.mde_rel * 100, 1, mde, sizeof mde);
        lw_report_num_str(c->a->opts.mde_threshold * 100, 1, thr, sizeof thr);
        snprintf(sub, sizeof sub, "%zu-%s test, power %g; target \xE2\x89\xA4 %s%%",
                 e->sens.horizon, lw_report_unit_word(c->a->bucket_ms, 1), c->a->opts.mde_power,
                 thr);
        if (e->sens.sensitive)
            snprintf(vt, sizeof vt, "\xE2\x9C\x93 a change of %s%% shows (within target)", mde);
        else
            snprintf(vt, sizeof vt, "! only changes \xE2\x89\xA5 %s%% show (target %s%%)", mde,
                     thr);
        lw_buf_puts(b, "<figure class=\"lw-fig\">");
        lw_svg_gauge_opts_t go = {.frame = {.title = "Experiment sensitivity (MDE)",
                                            .subtitle = sub,
                                            .x_label = "MDE",
                                            .x_unit = "%",
                                            .width = W},
                                  .value = e->sens.mde_rel * 100,
                                  .threshold = c->a->opts.mde_threshold * 100,
                                  .lower_is_better = true,
                                  .decimals = 1,
                                  .verdict_text = vt};
        if ((err = fig_end(b, lw_svg_gauge_bar(b, &go, errstr, errstr_size))) != LW_OK)
            return err;
    } else {
        fig_note(b, "Experiment sensitivity (MDE)", e->sens_note);
    }
    return LW_OK;
}

/* The tests html_explained explains, in its order. */
typedef enum {
    EX_DATA,
    EX_GRANGER,
    EX_GRANGER_REVERSE,
    EX_LEAD,
    EX_ELASTICITY,
    EX_CCF,
    EX_STABILITY,
    EX_BREAK,
    EX_OOS,
    EX_MDE,
    EX_COUNT
} explained_t;

/* Each test's name and its plain explanation: what question it answers. */
static const struct {
    const char *test, *what;
} EXPLAINED[EX_COUNT] = {
    [EX_DATA] = {"Data", "Each test needs enough complete periods."},
    [EX_GRANGER] =
        {"Granger test",
         "Does x's past improve a forecast of y made from y's own past? A small p says yes; "
         "q is p corrected for testing every edge at once, significant below \xCE\xB1."},
    [EX_GRANGER_REVERSE] = {"Granger test, other direction",
                            "The same question the other way round: does y's past forecast x?"},
    [EX_LEAD] = {"Lead",
                 "How many periods after x moves y follows most closely (the best fit of y on x "
                 "k periods earlier)."},
    [EX_ELASTICITY] = {"Strength (elasticity)",
                       "The percent change of y after a 1% change of x, summed over the lags, with "
                       "errors robust to autocorrelation (Newey-West)."},
    [EX_CCF] = {"Cross-correlation",
                "Correlation of the surprises in x and y (each series' own pattern removed) at "
                "each shift; bars outside the band are unlikely to be chance."},
    [EX_STABILITY] =
        {"Stability",
         "Does the effect keep its direction in sub-windows of the data, not only over "
         "the whole window?"},
    [EX_BREAK] = {"Structural break",
                  "Did the relationship change at some date? (Andrews sup-F test on x's "
                  "coefficients)"},
    [EX_OOS] = {"Out-of-sample skill",
                "Do one-step forecasts made with x beat those without it on periods the model "
                "had not seen? (Clark-West test)"},
    [EX_MDE] = {"Experiment sensitivity (MDE)",
                "The smallest change of x a short experiment would detect (5% false alarms, "
                "80% power). It sizes experiments; it does not enter the verdict."},
};

/* One <dt>test</dt><dd>plain explanation. Result.</dd>. */
static void explain(lw_buf_t *b, explained_t ex, const char *result)
{
    lw_buf_puts(b, "<dt>");
    lw_buf_put_xml(b, EXPLAINED[ex].test);
    lw_buf_puts(b, "</dt><dd>");
    lw_buf_put_xml(b, EXPLAINED[ex].what);
    lw_buf_puts(b, " <strong>");
    lw_buf_put_xml(b, result);
    lw_buf_puts(b, "</strong></dd>\n");
}

static void html_explained(const lw_report_ctx_t *c, size_t i, lw_buf_t *b)
{
    const lw_edge_result_t *e = &c->a->edges[i];
    const lw_report_edge_ctx_t *ec = &c->edges[i];
    const char *u1 = lw_report_unit_word(c->a->bucket_ms, 1);
    char r[600], a1[64], a2[64], a3[64];
    lw_buf_puts(b, "<dl class=\"lw-explain\">\n");
    if (!e->analysed) {
        explain(b, EX_DATA, ec->sentence);
        lw_buf_puts(b, "</dl>\n");
        return;
    }
    lw_report_p_rel(e->p, a1, sizeof a1);
    lw_report_p_rel(e->q_defined ? e->q : (double)NAN, a2, sizeof a2);
    snprintf(r, sizeof r, "%s \xE2\x86\x92 %s: lag order %zu, p %s, q %s.", e->from, e->to, e->lag,
             a1, a2);
    explain(b, EX_GRANGER, r);
    lw_report_p_rel(e->p_reverse, a1, sizeof a1);
    lw_report_p_rel(e->q_reverse_defined ? e->q_reverse : (double)NAN, a2, sizeof a2);
    snprintf(r, sizeof r, "%s \xE2\x86\x92 %s: lag order %zu, p %s, q %s.", e->to, e->from,
             e->lag_reverse, a1, a2);
    explain(b, EX_GRANGER_REVERSE, r);
    if (e->lagreg_status == LW_STEP_OK && e->lead > 0 && e->lagreg) {
        lw_report_num_str(e->lagreg[e->lead].r2, 3, a1, sizeof a1);
        snprintf(r, sizeof r, "%zu %s (R\xC2\xB2 %s).", e->lead,
                 lw_report_unit_word(c->a->bucket_ms, e->lead), a1);
        explain(b, EX_LEAD, r);
    }
    if (e->lagreg_status == LW_STEP_OK && e->elasticity_defined) {
        lw_report_elasticity_str(e->elasticity, a1, sizeof a1);
        lw_report_num_str(e->elasticity_se, 2, a2, sizeof a2);
        snprintf(r, sizeof r, "+1%% in %s \xE2\x86\x92 %s in %s (standard error %s).", e->from, a1,
                 e->to, a2);
        explain(b, EX_ELASTICITY, r);
    }
    if (e->ccf_status == LW_STEP_OK) {
        lw_report_num_str(e->ccf.lead_r, 3, a1, sizeof a1);
        snprintf(r, sizeof r, "Peak at lead %zu, r %s%s.", e->ccf.lead, a1,
                 e->ccf.lead_significant ? ", outside the band" : ", inside the band (weak)");
        explain(b, EX_CCF, r);
    }
    if (e->stab_status == LW_STEP_OK) {
        snprintf(r, sizeof r, "%s: same sign in %zu of %zu windows of %zu %s.",
                 e->stable ? "Stable" : "Not stable", e->stab_nsame_sign, e->stab_nwindows,
                 e->stab_window, lw_report_unit_word(c->a->bucket_ms, e->stab_window));
        explain(b, EX_STABILITY, r);
    }
    if (e->break_status == LW_STEP_OK) {
        lw_report_p_rel(e->brk.p_defined ? e->brk.p : (double)NAN, a1, sizeof a1);
        if (e->break_found)
            snprintf(r, sizeof r, "Yes: from %s (p %s).", c->labels[e->break_row], a1);
        else
            snprintf(r, sizeof r, "None found (p %s).", a1);
        explain(b, EX_BREAK, r);
    }
    if (e->oos_status == LW_STEP_OK) {
        lw_report_num_str(e->oos.rel_rmse_change * 100, 1, a1, sizeof a1);
        lw_report_p_rel(e->oos.cw_p, a2, sizeof a2);
        snprintf(r, sizeof r, "%s: forecast error %s%% lower with x over %zu forecasts (p %s).",
                 e->oos_skill ? "Yes" : "No", a1, e->oos.noos, a2);
        explain(b, EX_OOS, r);
    }
    if (e->sens_status == LW_STEP_OK) {
        lw_report_num_str(e->sens.mde_rel * 100, 1, a1, sizeof a1);
        lw_report_num_str(c->a->opts.mde_threshold * 100, 1, a3, sizeof a3);
        snprintf(r, sizeof r, "%s%% over %zu %s (target \xE2\x89\xA4 %s%%): %s.", a1,
                 e->sens.horizon, lw_report_unit_word(c->a->bucket_ms, e->sens.horizon), a3,
                 e->sens.sensitive ? "an experiment can move it detectably"
                                   : "a short experiment sees only large changes");
        explain(b, EX_MDE, r);
    }
    (void)u1;
    lw_buf_puts(b, "</dl>\n");
}

static void html_edge_table(const lw_report_ctx_t *c, size_t i, lw_buf_t *b)
{
    const lw_edge_result_t *e = &c->a->edges[i];
    char a1[200], a2[200];
    lw_buf_puts(b, "<table class=\"lw-stats\">\n");
    transform_desc(&e->prep_from, a1, sizeof a1);
    transform_desc(&e->prep_to, a2, sizeof a2);
    html_rowf(b, "Data", "%zu complete %s used (%s to %s); %s: %s; %s: %s", e->rows_used,
              lw_report_unit_word(c->a->bucket_ms, e->rows_used),
              e->rows_used ? c->labels[e->row_first] : "-",
              e->rows_used ? c->labels[e->row_first + e->rows_used - 1] : "-", e->from, a1, e->to,
              a2);
    if (e->analysed && e->lagreg_status != LW_STEP_OK)
        html_row(b, "Lagged regression", e->lagreg_note);
    if (e->analysed && e->stab_status != LW_STEP_OK)
        html_row(b, "Stability", e->stab_note);
    if (e->analysed && e->oos_status != LW_STEP_OK)
        html_row(b, "Out-of-sample skill", e->oos_note);
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
        if ((err = two_widths(c, i, b, scratch, values_chart, 960, errstr, errstr_size)) != LW_OK)
            return err;
        lw_buf_puts(b, "<details class=\"lw-detail\"><summary>The statistics behind this "
                       "verdict</summary>\n");
        html_explained(c, i, b);
        html_edge_table(c, i, b);
        lw_buf_puts(b, "<div class=\"lw-grid\">\n");
        if ((err = html_detail_charts(c, i, b, scratch, errstr, errstr_size)) != LW_OK)
            return err;
        lw_buf_puts(b, "</div>\n");
        if (e->nreasons) {
            lw_buf_puts(b, "<p class=\"lw-meta\">The analysis' own notes:</p>\n"
                           "<ul class=\"lw-reasons\">\n");
            for (size_t k = 0; k < e->nreasons; k++) {
                lw_buf_puts(b, "<li>");
                lw_buf_put_xml(b, e->reasons[k]);
                lw_buf_puts(b, "</li>\n");
            }
            lw_buf_puts(b, "</ul>\n");
        }
        lw_buf_puts(b, "</details>\n</section>\n");
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
        if (c->edges[i].since[0]) {
            lw_buf_puts(b, " (stopped leading on ");
            lw_buf_put_xml(b, c->edges[i].since);
            lw_buf_puts(b, ")");
        }
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

static void gloss(lw_buf_t *b, const char *term, const char *def)
{
    lw_buf_puts(b, "<dt>");
    lw_buf_put_xml(b, term);
    lw_buf_puts(b, "</dt><dd>");
    lw_buf_put_xml(b, def);
    lw_buf_puts(b, "</dd>\n");
}

static void html_glossary(const lw_report_ctx_t *c, lw_buf_t *b)
{
    char alpha[160];
    snprintf(alpha, sizeof alpha,
             "The false-discovery level: an edge counts as significant when its q is below "
             "%g.",
             c->a->opts.alpha);
    lw_buf_puts(b, "<section id=\"glossary\"><h2>Glossary</h2>\n<dl class=\"lw-glossary\">\n");
    gloss(b, "Lead",
          "How many periods an input's movements come before the North Star Metric's: the "
          "shift that fits best (for a reverse edge, the lag order of the reverse model). "
          "Always a number of days (or hours, weeks) in this report.");
    gloss(b, "Lag order",
          "The number of past periods a Granger model uses. A statistics setting, not the "
          "lead; it appears only in the statistics details.");
    gloss(b, "leads",
          "The input's past predicts the metric, reliably: significant, stable "
          "over time and useful for forecasting new periods.");
    gloss(b, "stopped leading",
          "It led before a structural break and no longer does after it (verdict "
          "no_longer_leads); the date is the break.");
    gloss(b, "reverse", "The metric leads the input, not the other way round.");
    gloss(b, "feedback", "Each leads the other.");
    gloss(b, "inconclusive",
          "No reliable lead either way: not significant, or significant but "
          "failing a check (stability, forecasting).");
    gloss(b, "insufficient data", "Too few complete periods to run the tests.");
    gloss(b, "p-value",
          "How surprising the data would be if there were no lead; small = "
          "evidence of a lead.");
    gloss(b, "q-value",
          "The p-value corrected for testing every edge of the tree at once "
          "(Benjamini-Hochberg).");
    gloss(b, "\xCE\xB1 (alpha)", alpha);
    gloss(b, "Elasticity", "The percent change of the metric after a 1% change of the input.");
    gloss(b, "Structural break",
          "A date after which the relationship between two metrics "
          "changed.");
    gloss(b, "MDE",
          "Minimum detectable effect: the smallest change a short experiment would "
          "detect.");
    gloss(b, "Index 100",
          "A metric divided by its value at the window start, times 100, so "
          "metrics of any unit share one scale.");
    lw_buf_puts(b, "</dl>\n</section>\n");
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
    lw_buf_printf(b, "</span> (%zu %s", n, lw_report_unit_word(a->bucket_ms, n));
    if (r->alert_window && r->window == r->alert_window)
        lw_buf_puts(b, ", the window alerting uses");
    else if (r->alert_window)
        lw_buf_printf(b, "; alerting uses the last %zu", r->alert_window);
    lw_buf_puts(b, ") \xC2\xB7 generated ");
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

    /* 2. tree, 3. values over time (indexed), 4. when each edge led */
    lw_buf_puts(b, "<section id=\"tree\"><h2>Metric tree</h2>\n");
    if ((err = two_widths(c, 0, b, scratch, tree_chart, 960, errstr, errstr_size)) != LW_OK)
        goto done;
    lw_buf_puts(b, "</section>\n<section id=\"series\"><h2>Over time</h2>\n"
                   "<p class=\"lw-meta\">Each metric indexed to 100 at the window start "
                   "(110 = 10% above it), the North Star Metric in grey behind each input.</p>\n");
    if ((err = html_overview(c, b, scratch, errstr, errstr_size)) != LW_OK)
        goto done;
    lw_buf_puts(b, "</section>\n");
    if ((err = html_history(c, b, errstr, errstr_size)) != LW_OK)
        goto done;

    /* 5. changes (before the detail: it is what a returning reader wants) */
    html_changes(c, b);

    /* 4. edges */
    if ((err = html_edges(c, b, scratch, errstr, errstr_size)) != LW_OK)
        goto done;
    /* issue 16: the team's A/B tests per edge, when the store has experiments */
    if ((err = lw_report_html_experiments(c, b, errstr, errstr_size)) != LW_OK)
        goto done;

    html_quality(c, b);
    html_glossary(c, b);
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
    lw_buf_puts(
        b,
        " \xC2\xB7 also as report.md, report.slack.txt and report.json</footer>\n</main>\n</body>\n"
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
