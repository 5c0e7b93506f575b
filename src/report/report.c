/*
 * report.c - the nightly validation report (contract in report.h).
 *
 * Rendering works in two passes over one analysis:
 *   1. Preparation (ctx_build): per edge, the verdict as the tree diagram
 *      draws it (a `leads` in the previous report that is now inconclusive
 *      becomes "no longer leads"), the headline sentence, the previous
 *      report's verdict, and the rolling-window p-value history.  Period
 *      labels come from the input (or "row N" when it has none).
 *   2. Emission into an lw_buf_t: HTML (charts from svg.h), Markdown or
 *      JSON.  Every append goes to the bounded buffer, whose sticky error is
 *      checked once at the end; on failure the buffer is rewound to where it
 *      was, so the caller never sees half a report.
 *
 * The rolling p-value history is recomputed here because the analysis keeps
 * only its summary (share of significant windows, sign consistency).  The
 * series are prepared again with the analysis' own options (prep.c is
 * deterministic, so the prepared values are the analysis' values), the
 * edge's run of complete rows is cut out, and lw_analyze_lag_test - the
 * function the stability step itself uses - gives the Granger p at the
 * chosen lag on windows of the analysis' width.  The step is a tenth of the
 * width (the analysis steps by half a width; a finer step draws a readable
 * line), and at most HIST_MAX_WINDOWS windows are drawn.
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
 * verdict in words and a symbol, so nothing depends on colour alone.
 *
 * The previous report is read back with a small bounded JSON reader (only
 * report.verdicts is needed; everything else is skipped).  Hand-written
 * because the core library does not link a JSON parser (yajl is only linked
 * into the tests) and the subset is tiny.
 */
#include "leadwatch/report/report.h"

#include "leadwatch/report/analysis_out.h"
#include "leadwatch/stats/prep.h"
#include "leadwatch/store/series.h"
#include "leadwatch/store/store.h"
#include "leadwatch/report/svg.h"
#include "leadwatch/core/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HIST_MAX_WINDOWS 400u
#define SENTENCE_SIZE 512u
#define PREV_MAX_DEPTH 64

/* ---------------------------------------------------------------- context */

typedef struct {
    lw_svg_verdict_t svg_verdict;
    const lw_report_prev_edge_t *prev; /* the same edge in the previous report, or NULL */
    char sentence[SENTENCE_SIZE];
    size_t lead; /* the lead the headline quotes, 0 = none */
    /* rolling-window p history */
    double *hist_p;
    const char **hist_label;
    size_t hist_n, hist_window, hist_step;
    bool hist_break;
    size_t hist_break_index;
} edge_ctx_t;

typedef struct {
    const lw_report_input_t *r;
    const lw_analysis_t *a;
    const lw_analyze_input_t *in;
    const char **labels; /* [nrows] */
    char *label_store;   /* backing for "row N" labels */
    double **prepared;   /* [nseries], lazily filled */
    edge_ctx_t *edges;   /* [nedges] */
    size_t smooth;       /* moving-average width for time-series charts */
    size_t gaps;         /* rows where every tree series is undefined */
} ctx_t;

static const char *unit_word(int64_t bucket_ms, size_t n)
{
    bool one = n == 1;
    if (bucket_ms == LW_MS_PER_DAY)
        return one ? "day" : "days";
    if (bucket_ms == LW_MS_PER_HOUR)
        return one ? "hour" : "hours";
    if (bucket_ms == LW_MS_PER_WEEK)
        return one ? "week" : "weeks";
    return one ? "period" : "periods";
}

/* "sessions_per_user" -> "Sessions per user" (cap) or "sessions per user". */
static void human_name(const char *name, bool cap, char *buf, size_t size)
{
    size_t i = 0;
    for (; name[i] && i + 1 < size; i++) {
        char c = name[i] == '_' ? ' ' : name[i];
        if (i == 0 && cap && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        buf[i] = c;
    }
    buf[i] = '\0';
}

/* Shortest fixed form with at most `dec` decimals, never "-0". */
static void num_str(double v, int dec, char *buf, size_t size)
{
    if (!isfinite(v)) {
        snprintf(buf, size, "n/a");
        return;
    }
    snprintf(buf, size, "%.*f", dec, v);
    char *dot = strchr(buf, '.');
    if (dot) {
        char *end = buf + strlen(buf) - 1;
        while (end > dot && *end == '0')
            *end-- = '\0';
        if (end == dot)
            *end = '\0';
    }
    if (strcmp(buf, "-0") == 0)
        snprintf(buf, size, "0");
}

/* "= 0.123" or "< 0.001", to follow "p " or "q ". */
static void p_rel(double p, char *buf, size_t size)
{
    if (isfinite(p) && p < 0.001)
        snprintf(buf, size, "< 0.001");
    else if (isfinite(p))
        snprintf(buf, size, "= %.3f", p);
    else
        snprintf(buf, size, "= n/a");
}

/* The percent change of y for +1 % of x, with a sign: "+0.4%". */
static void elasticity_str(double el, char *buf, size_t size)
{
    double a = fabs(el);
    int dec = a >= 10 ? 0 : a >= 1 ? 1 : 2;
    char n[48];
    num_str(el, dec, n, sizeof n);
    snprintf(buf, size, "%s%s%%", el >= 0 && strcmp(n, "0") != 0 ? "+" : "", n);
}

static lw_svg_verdict_t svg_verdict_of(const lw_edge_result_t *e, const lw_report_prev_edge_t *prev)
{
    switch (e->verdict) {
    case LW_VERDICT_LEADS: return LW_SVG_VERDICT_LEADS;
    case LW_VERDICT_REVERSE: return LW_SVG_VERDICT_REVERSE;
    case LW_VERDICT_FEEDBACK: return LW_SVG_VERDICT_FEEDBACK;
    case LW_VERDICT_INCONCLUSIVE:
        return prev && strcmp(prev->verdict, "leads") == 0 ? LW_SVG_VERDICT_NO_LONGER_LEADS
                                                           : LW_SVG_VERDICT_INCONCLUSIVE;
    case LW_VERDICT_NO_LONGER_LEADS: return LW_SVG_VERDICT_NO_LONGER_LEADS;
    case LW_VERDICT_INSUFFICIENT_DATA: return LW_SVG_VERDICT_INSUFFICIENT;
    }
    return LW_SVG_VERDICT_INCONCLUSIVE;
}

static const char *verdict_symbol(lw_svg_verdict_t v)
{
    switch (v) {
    case LW_SVG_VERDICT_LEADS: return "\xE2\x9C\x93";           /* ✓ */
    case LW_SVG_VERDICT_NO_LONGER_LEADS: return "\xE2\x86\x93"; /* ↓ */
    case LW_SVG_VERDICT_REVERSE: return "\xE2\x86\xA9";         /* ↩ */
    case LW_SVG_VERDICT_FEEDBACK: return "\xE2\x87\x84";        /* ⇄ */
    case LW_SVG_VERDICT_INCONCLUSIVE: return "?";
    default: return "\xE2\x88\x85"; /* ∅ */
    }
}

/* CSS class suffix of a verdict: "leads", "no-longer-leads", ... */
static const char *verdict_class(lw_svg_verdict_t v)
{
    static const char *const names[] = {"leads",    "no-longer-leads", "reverse",
                                        "feedback", "inconclusive",    "insufficient"};
    return (unsigned)v < LW_SVG_VERDICT_COUNT ? names[v] : "inconclusive";
}

static const lw_report_prev_edge_t *prev_find(const lw_report_prev_t *prev, const char *from,
                                              const char *to)
{
    if (!prev)
        return NULL;
    for (size_t i = 0; i < prev->nedges; i++)
        if (strcmp(prev->edges[i].from, from) == 0 && strcmp(prev->edges[i].to, to) == 0)
            return &prev->edges[i];
    return NULL;
}

/* The lead the headline quotes: the lagged regression's, else Granger's chosen lag. */
static size_t quoted_lead(const lw_edge_result_t *e)
{
    if (e->lagreg_status == LW_STEP_OK && e->lead > 0)
        return e->lead;
    return e->lag;
}

/* The lead quoted for an edge: x's lead for leads/feedback, y's for reverse, else none. */
static size_t edge_lead(const lw_edge_result_t *e)
{
    switch (e->verdict) {
    case LW_VERDICT_LEADS:
    case LW_VERDICT_FEEDBACK: return quoted_lead(e);
    case LW_VERDICT_REVERSE: return e->lag_reverse;
    default: return 0;
    }
}

void lw_report_sentence(const lw_analysis_t *a, size_t i, const lw_report_prev_t *prev, char *buf,
                        size_t size)
{
    const lw_edge_result_t *e = &a->edges[i];
    char from[LW_ANALYZE_NAME_SIZE], to[LW_ANALYZE_NAME_SIZE], From[LW_ANALYZE_NAME_SIZE],
        To[LW_ANALYZE_NAME_SIZE], q[32], el[48];
    human_name(e->from, false, from, sizeof from);
    human_name(e->from, true, From, sizeof From);
    human_name(e->to, false, to, sizeof to);
    human_name(e->to, true, To, sizeof To);
    const lw_report_prev_edge_t *pe = prev_find(prev, e->from, e->to);
    size_t lead = quoted_lead(e);
    switch (e->verdict) {
    case LW_VERDICT_LEADS:
        if (e->elasticity_defined) {
            elasticity_str(e->elasticity, el, sizeof el);
            snprintf(buf, size, "%s leads %s by %zu %s; +1%% \xE2\x86\x92 %s.", From, to, lead,
                     unit_word(a->bucket_ms, lead), el);
        } else {
            snprintf(buf, size, "%s leads %s by %zu %s (strength not estimated).", From, to, lead,
                     unit_word(a->bucket_ms, lead));
        }
        break;
    case LW_VERDICT_REVERSE:
        snprintf(buf, size, "%s leads %s by %zu %s, not the other way round (reverse).", To, from,
                 e->lag_reverse, unit_word(a->bucket_ms, e->lag_reverse));
        break;
    case LW_VERDICT_FEEDBACK:
        snprintf(buf, size, "%s and %s lead each other (%zu and %zu %s; feedback).", From, to,
                 e->lag, e->lag_reverse, unit_word(a->bucket_ms, 2));
        break;
    case LW_VERDICT_INCONCLUSIVE:
        p_rel(e->q_defined ? e->q : (double)NAN, q, sizeof q);
        if (pe && strcmp(pe->verdict, "leads") == 0)
            snprintf(buf, size,
                     "%s no longer leads %s (it led by %zu %s in the previous report; q %s now).",
                     From, to, pe->lag, unit_word(a->bucket_ms, pe->lag), q);
        else
            snprintf(buf, size, "No reliable lead of %s on %s (inconclusive; q %s).", from, to, q);
        break;
    case LW_VERDICT_NO_LONGER_LEADS: {
        char since[LW_ANALYZE_LABEL_SIZE];
        lw_analysis_row_label(a, e->since_row, since, sizeof since);
        snprintf(buf, size, "%s no longer leads %s since %s (it led by %zu %s before).", From, to,
                 since, e->old_lag, unit_word(a->bucket_ms, e->old_lag));
        break;
    }
    case LW_VERDICT_INSUFFICIENT_DATA:
        snprintf(buf, size,
                 "Not enough data to test %s \xE2\x86\x92 %s (%zu complete %s, %zu needed).", from,
                 to, e->rows_used, unit_word(a->bucket_ms, e->rows_used), e->min_nobs);
        break;
    }
}

static double in_at(const lw_analyze_input_t *in, size_t row, size_t col)
{
    return in->values[row * in->nseries + col];
}

static void column(const lw_analyze_input_t *in, size_t col, double *out)
{
    for (size_t r = 0; r < in->nrows; r++)
        out[r] = in_at(in, r, col);
}

/* Trailing mean over w rows, NAN unless all w are defined. */
static void moving_average(const double *x, size_t n, size_t w, double *out)
{
    for (size_t t = 0; t < n; t++) {
        if (w <= 1) {
            out[t] = x[t];
            continue;
        }
        if (t + 1 < w) {
            out[t] = NAN;
            continue;
        }
        double s = 0;
        size_t k = 0;
        for (size_t j = t + 1 - w; j <= t; j++)
            if (isfinite(x[j]))
                s += x[j], k++;
        out[t] = k == w ? s / (double)w : (double)NAN;
    }
}

static lw_err_t prepared_col(ctx_t *c, size_t col, const double **out, char *errstr,
                             size_t errstr_size)
{
    if (c->prepared[col]) {
        *out = c->prepared[col];
        return LW_OK;
    }
    const size_t n = c->in->nrows;
    double *raw = malloc(n * sizeof(double)), *prep = malloc(n * sizeof(double));
    if (!raw || !prep) {
        free(raw);
        free(prep);
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: out of memory");
    }
    column(c->in, col, raw);
    lw_prep_opts_t po;
    lw_prep_opts_default(&po);
    po.transform = c->a->opts.transform;
    po.season_period = c->a->season_period;
    po.adf_alpha = c->a->opts.adf_alpha;
    lw_prep_info_t info;
    lw_err_t err = lw_prep_series(raw, n, &po, prep, &info, errstr, errstr_size);
    free(raw);
    if (err != LW_OK) {
        free(prep);
        return err;
    }
    c->prepared[col] = prep;
    *out = prep;
    return LW_OK;
}

/* Rolling-window Granger p at the edge's lag (see the file comment). */
static lw_err_t edge_history(ctx_t *c, size_t i, char *errstr, size_t errstr_size)
{
    const lw_edge_result_t *e = &c->a->edges[i];
    edge_ctx_t *ec = &c->edges[i];
    if (!e->analysed || e->lag == 0 || e->stab_window == 0 || e->rows_used == 0)
        return LW_OK;
    const size_t W = e->stab_window, n = e->rows_used;
    if (W < lw_granger_min_nobs(e->lag) || W > n)
        return LW_OK;
    size_t step = W / 10 ? W / 10 : 1;
    while ((n - W) / step + 1 > HIST_MAX_WINDOWS)
        step *= 2;
    const double *px, *py;
    lw_err_t err;
    if ((err = prepared_col(c, e->from_col, &px, errstr, errstr_size)) != LW_OK ||
        (err = prepared_col(c, e->to_col, &py, errstr, errstr_size)) != LW_OK)
        return err;
    const size_t nwin = (n - W) / step + 1;
    ec->hist_p = malloc(nwin * sizeof(double));
    ec->hist_label = malloc(nwin * sizeof(char *));
    if (!ec->hist_p || !ec->hist_label)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: out of memory");
    const double *x = px + e->row_first, *y = py + e->row_first;
    for (size_t w = 0; w < nwin; w++) {
        size_t s = w * step;
        double F, p, sum;
        char ignored[LW_ANALYZE_NOTE_SIZE];
        if (lw_analyze_lag_test(x + s, y + s, W, e->lag, &F, &p, &sum, ignored, sizeof ignored) ==
                LW_OK &&
            isfinite(p))
            ec->hist_p[w] = p;
        else
            ec->hist_p[w] = NAN;
        ec->hist_label[w] = c->labels[e->row_first + s + W - 1];
        if (e->break_found && !ec->hist_break && e->row_first + s + W - 1 >= e->break_row) {
            ec->hist_break = true;
            ec->hist_break_index = w;
        }
    }
    ec->hist_n = nwin;
    ec->hist_window = W;
    ec->hist_step = step;
    return LW_OK;
}

static void ctx_release(ctx_t *c)
{
    if (c->edges)
        for (size_t i = 0; i < c->a->nedges; i++) {
            free(c->edges[i].hist_p);
            free(c->edges[i].hist_label);
        }
    free(c->edges);
    if (c->prepared)
        for (size_t k = 0; k < c->in->nseries; k++)
            free(c->prepared[k]);
    free(c->prepared);
    free(c->labels);
    free(c->label_store);
}

static bool tree_col(const lw_analyze_input_t *in, size_t col)
{
    if (col == in->nsm || (in->kpi >= 0 && (size_t)in->kpi == col))
        return true;
    for (size_t i = 0; i < in->ninputs; i++)
        if (in->inputs[i] == col)
            return true;
    return false;
}

static lw_err_t ctx_build(ctx_t *c, const lw_report_input_t *r, bool history, char *errstr,
                          size_t errstr_size)
{
    memset(c, 0, sizeof *c);
    c->r = r;
    c->a = r->analysis;
    c->in = r->input;
    if (!c->a || !c->in || !c->in->values)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "report: no analysis or no series given");
    const size_t n = c->in->nrows;
    if (c->a->nrows != n)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "report: the analysis has %zu rows, the series %zu", c->a->nrows, n);
    for (size_t i = 0; i < c->a->nedges; i++)
        if (c->a->edges[i].from_col >= c->in->nseries || c->a->edges[i].to_col >= c->in->nseries)
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                             "report: edge %zu refers to a column outside the series", i);
    lw_err_t err = LW_OK;
    c->labels = calloc(n ? n : 1, sizeof(char *));
    c->prepared = calloc(c->in->nseries ? c->in->nseries : 1, sizeof(double *));
    c->edges = calloc(c->a->nedges ? c->a->nedges : 1, sizeof(edge_ctx_t));
    if (!c->labels || !c->prepared || !c->edges) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: out of memory");
        goto fail;
    }
    if (c->in->labels) {
        for (size_t k = 0; k < n; k++)
            c->labels[k] = c->in->labels[k];
    } else {
        const size_t w = 32;
        c->label_store = malloc(n * w + 1);
        if (!c->label_store) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: out of memory");
            goto fail;
        }
        for (size_t k = 0; k < n; k++) {
            snprintf(c->label_store + k * w, w, "row %zu", k);
            c->labels[k] = c->label_store + k * w;
        }
    }
    c->smooth = c->a->season_period > 1 ? c->a->season_period : 1;
    for (size_t k = 0; k < n; k++) {
        bool any = false;
        for (size_t col = 0; col < c->in->nseries && !any; col++)
            any = tree_col(c->in, col) && isfinite(in_at(c->in, k, col));
        c->gaps += !any;
    }
    for (size_t i = 0; i < c->a->nedges; i++) {
        const lw_edge_result_t *e = &c->a->edges[i];
        edge_ctx_t *ec = &c->edges[i];
        ec->prev = prev_find(r->prev, e->from, e->to);
        ec->svg_verdict = svg_verdict_of(e, ec->prev);
        ec->lead = edge_lead(e);
        lw_report_sentence(c->a, i, r->prev, ec->sentence, sizeof ec->sentence);
        if (history && (err = edge_history(c, i, errstr, errstr_size)) != LW_OK)
            goto fail;
    }
    return LW_OK;

fail:
    ctx_release(c);
    return err;
}

/* ---------------------------------------------------------------- shared text */

static const char *title_of(const lw_report_input_t *r)
{
    return r->title ? r->title : "Metric tree validation report";
}

static void time_str(int64_t ms, char *buf, size_t size)
{
    lw_time_format_iso8601(ms, buf, size);
}

static const char *nsm_name(const ctx_t *c)
{
    return c->in->names[c->in->nsm];
}

static const char *kpi_name(const ctx_t *c)
{
    return c->in->kpi >= 0 ? c->in->names[c->in->kpi] : NULL;
}

static int64_t counter_sum(const lw_report_input_t *r, const char *prefix, bool exact)
{
    int64_t s = 0;
    size_t pl = strlen(prefix);
    for (size_t i = 0; i < r->ncounters; i++) {
        const char *nm = r->counters[i].name;
        if (exact ? strcmp(nm, prefix) == 0 : strncmp(nm, prefix, pl) == 0)
            s += r->counters[i].value;
    }
    return s;
}

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

static void html_badge(lw_buf_t *b, lw_svg_verdict_t v)
{
    lw_buf_puts(b, "<span class=\"lw-badge\"><span class=\"lw-sym\" aria-hidden=\"true\">");
    lw_buf_puts(b, verdict_symbol(v));
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

static lw_err_t html_tree(ctx_t *c, lw_buf_t *b, char *errstr, size_t errstr_size)
{
    lw_svg_tree_input_t ins[LW_SVG_MAX_TREE_INPUTS];
    char labels[LW_ANALYZE_MAX_EDGES][64];
    size_t nin = 0;
    lw_svg_verdict_t kv = LW_SVG_VERDICT_INSUFFICIENT;
    const char *kl = NULL;
    char el[48];
    for (size_t i = 0; i < c->a->nedges; i++) {
        const lw_edge_result_t *e = &c->a->edges[i];
        const edge_ctx_t *ec = &c->edges[i];
        labels[i][0] = '\0';
        if (ec->lead > 0 && e->verdict != LW_VERDICT_INSUFFICIENT_DATA) {
            if (e->elasticity_defined && e->verdict == LW_VERDICT_LEADS) {
                elasticity_str(e->elasticity, el, sizeof el);
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
                            .nsm_name = nsm_name(c),
                            .kpi_name = kpi_name(c),
                            .kpi_verdict = kv,
                            .kpi_edge_label = kl};
    return lw_svg_tree_diagram(b, &t, errstr, errstr_size);
}

/* z-scores of the smoothed column; false when it cannot be normalised. */
static void smoothed_col(const ctx_t *c, size_t col, double *tmp, double *out)
{
    column(c->in, col, tmp);
    moving_average(tmp, c->in->nrows, c->smooth, out);
}

static void smooth_subtitle(const ctx_t *c, char *buf, size_t size, const char *extra)
{
    if (c->smooth > 1)
        snprintf(buf, size, "z-scores of the %zu-%s moving average%s", c->smooth,
                 unit_word(c->a->bucket_ms, 1), extra);
    else
        snprintf(buf, size, "z-scores%s", extra);
}

static const char *period_axis(const ctx_t *c)
{
    if (c->a->bucket_ms == LW_MS_PER_DAY)
        return "Day";
    if (c->a->bucket_ms == LW_MS_PER_HOUR)
        return "Hour";
    if (c->a->bucket_ms == LW_MS_PER_WEEK)
        return "Week";
    return "Period";
}

static lw_err_t html_overview(ctx_t *c, lw_buf_t *b, double *scratch, char *errstr,
                              size_t errstr_size)
{
    const size_t n = c->in->nrows;
    lw_svg_series_t s[LW_SVG_MAX_SERIES];
    char names[LW_SVG_MAX_SERIES][LW_ANALYZE_NAME_SIZE + 16];
    size_t ns = 0;
    double *tmp = scratch;
    double *buf = scratch + n;
    /* the NSM first (emphasised), then every input edge's source */
    snprintf(names[ns], sizeof names[ns], "%s (NSM)", nsm_name(c));
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
    lw_svg_line_opts_t o = {.frame = {.title = "North Star Metric and inputs",
                                      .subtitle = sub,
                                      .x_label = period_axis(c),
                                      .y_label = "z-score",
                                      .y_unit = "sd",
                                      .height = 420},
                            .x_labels = c->labels,
                            .n = n,
                            .series = s,
                            .nseries = ns};
    return lw_svg_line_chart(b, &o, errstr, errstr_size);
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

static lw_err_t html_edge_charts(ctx_t *c, size_t i, lw_buf_t *b, double *scratch, char *errstr,
                                 size_t errstr_size)
{
    const lw_edge_result_t *e = &c->a->edges[i];
    const edge_ctx_t *ec = &c->edges[i];
    const size_t n = c->in->nrows;
    lw_err_t err;
    const char *unit = unit_word(c->a->bucket_ms, 2);
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
                 ec->lead, unit_word(c->a->bucket_ms, ec->lead));
    else
        extra[0] = '\0';
    smooth_subtitle(c, sub, sizeof sub, extra);
    fig_open(b, true);
    lw_svg_line_opts_t lo = {.frame = {.title = title,
                                       .subtitle = sub,
                                       .x_label = period_axis(c),
                                       .y_label = "z-score",
                                       .y_unit = "sd",
                                       .height = 320},
                             .x_labels = c->labels,
                             .n = n,
                             .series = s,
                             .nseries = ns};
    if ((err = lw_svg_line_chart(b, &lo, errstr, errstr_size)) != LW_OK)
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
        p_rel(e->q_defined ? e->q : (double)NAN, q, sizeof q);
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
                 unit_word(c->a->bucket_ms, 1));
        snprintf(sub, sizeof sub, "Lag %zu, step %zu %s", e->lag, ec->hist_step,
                 unit_word(c->a->bucket_ms, ec->hist_step));
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
                 e->sens.horizon, unit_word(c->a->bucket_ms, 1), c->a->opts.mde_power,
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

static void html_edge_table(const ctx_t *c, size_t i, lw_buf_t *b)
{
    const lw_edge_result_t *e = &c->a->edges[i];
    char a1[200], a2[200], a3[64];
    lw_buf_puts(b, "<table class=\"lw-stats\">\n");
    transform_desc(&e->prep_from, a1, sizeof a1);
    transform_desc(&e->prep_to, a2, sizeof a2);
    html_rowf(
        b, "Data", "%zu complete %s used (%s to %s); %s: %s; %s: %s", e->rows_used,
        unit_word(c->a->bucket_ms, e->rows_used), e->rows_used ? c->labels[e->row_first] : "-",
        e->rows_used ? c->labels[e->row_first + e->rows_used - 1] : "-", e->from, a1, e->to, a2);
    if (e->analysed) {
        p_rel(e->p, a1, sizeof a1);
        p_rel(e->q_defined ? e->q : (double)NAN, a2, sizeof a2);
        html_rowf(b, "Granger x \xE2\x86\x92 y", "lag %zu, p %s, q %s", e->lag, a1, a2);
        p_rel(e->p_reverse, a1, sizeof a1);
        p_rel(e->q_reverse_defined ? e->q_reverse : (double)NAN, a2, sizeof a2);
        html_rowf(b, "Granger y \xE2\x86\x92 x", "lag %zu, p %s, q %s", e->lag_reverse, a1, a2);
    }
    if (e->lagreg_status == LW_STEP_OK) {
        if (e->elasticity_defined) {
            elasticity_str(e->elasticity, a1, sizeof a1);
            num_str(e->elasticity_se, 2, a2, sizeof a2);
            html_rowf(b, "Strength", "+1%% \xE2\x86\x92 %s (se %s; %s, distributed lag 1..%zu)", a1,
                      a2, e->elasticity_basis ? e->elasticity_basis : "", e->dl_lags);
        }
        if (e->lead > 0 && e->lagreg) {
            num_str(e->lagreg[e->lead].r2, 3, a1, sizeof a1);
            html_rowf(b, "Lead (lagged regression)", "%zu %s, R\xC2\xB2 = %s", e->lead,
                      unit_word(c->a->bucket_ms, e->lead), a1);
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
        num_str(e->brk.sup_f, 2, a1, sizeof a1);
        p_rel(e->brk.p_defined ? e->brk.p : (double)NAN, a2, sizeof a2);
        if (e->break_found)
            html_rowf(b, "Structural break", "yes, from %s (sup-F %s, p %s)",
                      c->labels[e->break_row], a1, a2);
        else
            html_rowf(b, "Structural break", "none found (sup-F %s, p %s)", a1, a2);
    }
    if (e->oos_status == LW_STEP_OK) {
        num_str(e->oos.rel_rmse_change * 100, 2, a1, sizeof a1);
        p_rel(e->oos.cw_p, a2, sizeof a2);
        html_rowf(b, "Out-of-sample skill",
                  "%s: RMSE %s%% lower with %s's lags over %zu one-step forecasts (Clark-West p "
                  "%s)",
                  e->oos_skill ? "yes" : "no", a1, e->from, e->oos.noos, a2);
    } else if (e->analysed) {
        html_row(b, "Out-of-sample skill", e->oos_note);
    }
    if (e->sens_status == LW_STEP_OK) {
        num_str(e->sens.mde_rel * 100, 1, a1, sizeof a1);
        num_str(c->a->opts.mde_threshold * 100, 1, a3, sizeof a3);
        html_rowf(b, "Sensitivity", "MDE %s%% over %zu %s (threshold %s%%): %s", a1,
                  e->sens.horizon, unit_word(c->a->bucket_ms, e->sens.horizon), a3,
                  e->sens.sensitive ? "sensitive" : "not sensitive");
    }
    lw_buf_puts(b, "</table>\n");
}

static lw_err_t html_edges(ctx_t *c, lw_buf_t *b, double *scratch, char *errstr, size_t errstr_size)
{
    lw_err_t err;
    lw_buf_puts(b, "<section id=\"edges\"><h2>Edge by edge</h2>\n");
    for (size_t i = 0; i < c->a->nedges; i++) {
        const lw_edge_result_t *e = &c->a->edges[i];
        const edge_ctx_t *ec = &c->edges[i];
        lw_buf_printf(b, "<section class=\"lw-edge lw-v-%s\" id=\"edge-%zu\" data-from=\"",
                      verdict_class(ec->svg_verdict), i + 1);
        lw_buf_put_xml(b, e->from);
        lw_buf_puts(b, "\" data-to=\"");
        lw_buf_put_xml(b, e->to);
        lw_buf_printf(b, "\" data-verdict=\"%s\"", lw_verdict_name(e->verdict));
        html_vc_style(b, ec->svg_verdict);
        lw_buf_puts(b, ">\n<h3>");
        lw_buf_put_xml(b, e->from);
        lw_buf_puts(b, " \xE2\x86\x92 ");
        lw_buf_put_xml(b, e->to);
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

static void html_changes(const ctx_t *c, lw_buf_t *b)
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
        lw_buf_put_xml(b, e->from);
        lw_buf_puts(b, "\" data-to=\"");
        lw_buf_put_xml(b, e->to);
        lw_buf_puts(b, "\"><strong>");
        lw_buf_put_xml(b, e->from);
        lw_buf_puts(b, " \xE2\x86\x92 ");
        lw_buf_put_xml(b, e->to);
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
    int64_t fired = counter_sum(c->r, "alerts.fired", false),
            resolved = counter_sum(c->r, "alerts.resolved", false);
    if (fired || resolved)
        lw_buf_printf(b, " Alerts: %lld fired, %lld resolved (store counters).", (long long)fired,
                      (long long)resolved);
    lw_buf_puts(b, "</p>\n</section>\n");
}

static void html_quality(const ctx_t *c, lw_buf_t *b)
{
    const lw_report_input_t *r = c->r;
    lw_buf_puts(b, "<section id=\"quality\"><h2>Data quality</h2>\n<ul class=\"lw-dq\">\n");
    int64_t rejected = counter_sum(r, "rejected.", false);
    int64_t late = counter_sum(r, "events.late", true) + counter_sum(r, "late", true);
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
                  r->provisional, unit_word(c->a->bucket_ms, r->provisional));
    lw_buf_printf(b,
                  "<li data-dq=\"gaps\">%zu gap %s (no data for any tree metric) out of "
                  "%zu.</li>\n",
                  c->gaps, unit_word(c->a->bucket_ms, c->gaps), c->in->nrows);
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
        lw_buf_put_xml(b, e->from);
        lw_buf_puts(b, " \xE2\x86\x92 ");
        lw_buf_put_xml(b, e->to);
        lw_buf_printf(b,
                      ": %zu of %zu %s used (%zu incomplete after preparation, %zu values "
                      "interpolated).</li>\n",
                      e->rows_used, e->rows_total, unit_word(c->a->bucket_ms, e->rows_total),
                      e->rows_incomplete, filled);
    }
    lw_buf_puts(b, "</ul>\n</section>\n");
}

static void methods_text(const ctx_t *c, lw_buf_t *b, bool html)
{
    const lw_analysis_t *a = c->a;
    const lw_analyze_opts_t *o = &a->opts;
    const char *p0 = html ? "<p>" : "", *p1 = html ? "</p>\n" : "\n\n";
    lw_buf_puts(b, p0);
    lw_buf_printf(
        b,
        "Each edge x \xE2\x86\x92 y is tested with Granger causality in both directions (SSR F "
        "test, statsmodels grangercausalitytests definitions) at lags 1..%zu; the lag is chosen "
        "by %s. Verdicts use Benjamini-Hochberg q-values over the %zu primary tests of the tree "
        "(both directions of every edge), at \xCE\xB1 = %g.",
        o->max_lag, lw_ic_name(o->ic), a->bh_family, o->alpha);
    lw_buf_puts(b, p1);
    lw_buf_puts(b, p0);
    lw_buf_printf(b,
                  "Preparation: transform %s (auto: log when every value is positive, first "
                  "difference when the ADF test at %g does not reject a unit root); ",
                  lw_transform_name(o->transform), o->adf_alpha);
    if (a->season_period)
        lw_buf_printf(b, "seasonality removed with period %zu (phase means)", a->season_period);
    else
        lw_buf_puts(b, "no seasonal adjustment");
    if (a->season_note[0]) {
        lw_buf_puts(b, " (");
        if (html)
            lw_buf_put_xml(b, a->season_note);
        else
            lw_buf_puts(b, a->season_note);
        lw_buf_puts(b, ")");
    }
    lw_buf_puts(b, ". Missing values are never filled: each edge uses its longest run of "
                   "complete periods.");
    lw_buf_puts(b, p1);
    lw_buf_puts(b, p0);
    lw_buf_printf(b,
                  "Strength: lagged regressions with Newey-West (HAC) errors and a distributed-lag "
                  "elasticity. Cross-correlation of Box-Jenkins prewhitened series with a "
                  "\xC2\xB1"
                  "1.96/\xE2\x88\x9A"
                  "N band. Stability: Granger at the chosen lag on rolling windows "
                  "(stable when \xE2\x89\xA5 %g%% share its sign) and the Andrews sup-F break test "
                  "(Hansen p-values, 15%% trimming). Out-of-sample skill: rolling-origin "
                  "one-step forecasts with and without x, Clark-West test. Sensitivity: the "
                  "minimum detectable change over %zu periods at power %g, against %g%%.",
                  o->stable_min_sign * 100, o->mde_horizon, o->mde_power, o->mde_threshold * 100);
    lw_buf_puts(b, p1);
}

static lw_err_t html_render(ctx_t *c, lw_buf_t *b, char *errstr, size_t errstr_size)
{
    const lw_report_input_t *r = c->r;
    const lw_analysis_t *a = c->a;
    const size_t n = c->in->nrows;
    char gen[40], tmp[96];
    lw_err_t err;
    time_str(r->generated_ms, gen, sizeof gen);
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
    lw_buf_put_xml(b, title_of(r));
    lw_buf_puts(b, " \xE2\x80\x93 ");
    lw_buf_put_xml(b, a->last_label);
    lw_buf_puts(b, "</title>\n<style>");
    lw_buf_puts(b, CSS);
    lw_buf_puts(b, "</style>\n</head>\n<body>\n<main>\n<header>\n<h1>");
    lw_buf_put_xml(b, title_of(r));
    lw_buf_puts(b, "</h1>\n<p class=\"lw-meta\" id=\"meta\">North Star Metric <strong>");
    lw_buf_put_xml(b, nsm_name(c));
    lw_buf_puts(b, "</strong>");
    if (kpi_name(c)) {
        lw_buf_puts(b, " \xC2\xB7 KPI <strong>");
        lw_buf_put_xml(b, kpi_name(c));
        lw_buf_puts(b, "</strong>");
    }
    lw_buf_puts(b, " \xC2\xB7 window <span class=\"lw-window\">");
    lw_buf_put_xml(b, a->first_label);
    lw_buf_puts(b, " \xE2\x80\x93 ");
    lw_buf_put_xml(b, a->last_label);
    lw_buf_printf(b, "</span> (%zu %s) \xC2\xB7 generated ", n, unit_word(a->bucket_ms, n));
    lw_buf_put_xml(b, gen);
    lw_buf_puts(b, "</p>\n</header>\n");

    /* 1. headline */
    lw_buf_puts(b, "<section id=\"headline\" class=\"lw-headline\"><h2>Headline</h2>\n<ul>\n");
    for (size_t i = 0; i < a->nedges; i++) {
        const lw_edge_result_t *e = &a->edges[i];
        const edge_ctx_t *ec = &c->edges[i];
        lw_buf_puts(b, "<li class=\"lw-edge-line\" data-from=\"");
        lw_buf_put_xml(b, e->from);
        lw_buf_puts(b, "\" data-to=\"");
        lw_buf_put_xml(b, e->to);
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
    methods_text(c, b, true);
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

typedef lw_err_t (*render_fn)(ctx_t *c, lw_buf_t *b, char *errstr, size_t errstr_size);

/*
 * Build the context (with the rolling p-value history only for the HTML
 * charts), render one format, and leave `out` as it was on any error.
 */
static lw_err_t render(const lw_report_input_t *r, lw_buf_t *out, bool history, render_fn fn,
                       char *errstr, size_t errstr_size)
{
    if (out->err != LW_OK)
        return out->err;
    const size_t start = out->len;
    ctx_t c;
    lw_err_t err = ctx_build(&c, r, history, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    err = fn(&c, out, errstr, errstr_size);
    ctx_release(&c);
    if (err != LW_OK)
        lw_buf_rewind(out, start);
    return err;
}

lw_err_t lw_report_html(const lw_report_input_t *r, lw_buf_t *out, char *errstr, size_t errstr_size)
{
    return render(r, out, true, html_render, errstr, errstr_size);
}

/* ---------------------------------------------------------------- Markdown */

/* Markdown-safe text: escape the characters that would start markup. */
static void md_text(lw_buf_t *b, const char *s)
{
    for (; *s; s++) {
        if (strchr("\\`*_[]<>|#", *s))
            lw_buf_putc(b, '\\');
        lw_buf_putc(b, *s == '\n' ? ' ' : *s);
    }
}

static lw_err_t md_render(ctx_t *c, lw_buf_t *b, char *errstr, size_t errstr_size)
{
    const lw_report_input_t *r = c->r;
    const lw_analysis_t *a = c->a;
    char gen[40];
    time_str(r->generated_ms, gen, sizeof gen);
    lw_buf_puts(b, "# ");
    md_text(b, title_of(r));
    lw_buf_puts(b, "\n\nNSM **");
    md_text(b, nsm_name(c));
    lw_buf_puts(b, "**");
    if (kpi_name(c)) {
        lw_buf_puts(b, " · KPI **");
        md_text(b, kpi_name(c));
        lw_buf_puts(b, "**");
    }
    lw_buf_puts(b, " · window ");
    md_text(b, a->first_label);
    lw_buf_puts(b, " – ");
    md_text(b, a->last_label);
    lw_buf_printf(b, " (%zu %s) · generated %s\n\n## Headline\n\n", a->nrows,
                  unit_word(a->bucket_ms, a->nrows), gen);
    for (size_t i = 0; i < a->nedges; i++) {
        const edge_ctx_t *ec = &c->edges[i];
        lw_buf_printf(b, "- %s **%s** — ", verdict_symbol(ec->svg_verdict),
                      lw_svg_verdict_label(ec->svg_verdict));
        md_text(b, ec->sentence);
        lw_buf_puts(b, "\n");
    }
    lw_buf_puts(b, "\n## Changes since the previous report\n\n");
    if (!r->prev) {
        lw_buf_puts(b, "First report in this directory: nothing to compare.\n");
    } else {
        size_t changed = 0;
        for (size_t i = 0; i < a->nedges; i++) {
            const lw_edge_result_t *e = &a->edges[i];
            const lw_report_prev_edge_t *pe = c->edges[i].prev;
            if (pe && strcmp(pe->verdict, lw_verdict_name(e->verdict)) == 0)
                continue;
            changed++;
            lw_buf_puts(b, "- ");
            md_text(b, e->from);
            lw_buf_puts(b, " → ");
            md_text(b, e->to);
            lw_buf_puts(b, ": ");
            md_text(b, pe ? pe->verdict : "new edge");
            lw_buf_printf(b, " → %s\n", lw_verdict_name(e->verdict));
        }
        if (!changed) {
            lw_buf_puts(b, "No verdict changed since ");
            md_text(b, r->prev->generated[0] ? r->prev->generated : "the previous report");
            lw_buf_puts(b, ".\n");
        }
    }
    lw_buf_puts(b, "\n## Details\n");
    /* the analysis' own Markdown table and reasons */
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    if (!f)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: open_memstream failed");
    lw_err_t err = lw_analysis_write_md(a, f, errstr, errstr_size);
    if (fclose(f) != 0 && err == LW_OK)
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: memory stream failed");
    if (err == LW_OK)
        lw_buf_append(b, mem, memlen);
    free(mem);
    if (err != LW_OK)
        return err;
    lw_buf_puts(b, "\n## Data quality\n\n");
    lw_buf_printf(b, "- %lld events rejected, %lld late events\n",
                  (long long)counter_sum(r, "rejected.", false),
                  (long long)(counter_sum(r, "events.late", true) + counter_sum(r, "late", true)));
    lw_buf_printf(b, "- %zu provisional %s left out, %zu gap %s\n", r->provisional,
                  unit_word(a->bucket_ms, r->provisional), c->gaps,
                  unit_word(a->bucket_ms, c->gaps));
    lw_buf_puts(b, "\n## Methods\n\n");
    methods_text(c, b, false);
    lw_buf_puts(b, "The full report with charts is report.html next to this file.\n");
    if (b->err != LW_OK)
        return lw_seterr(errstr, errstr_size, b->err, "report: Markdown exceeds %zu bytes", b->max);
    return LW_OK;
}

lw_err_t lw_report_markdown(const lw_report_input_t *r, lw_buf_t *out, char *errstr,
                            size_t errstr_size)
{
    return render(r, out, false, md_render, errstr, errstr_size);
}

/* ---------------------------------------------------------------- JSON */

/* A JSON string: escape ", \ and control characters; invalid UTF-8 is passed through
   lw_buf_put_xml's repair first would change & < >, so bytes >= 0x80 are copied and the
   writers' inputs (metric names, labels, our own sentences) are UTF-8 by construction. */
static void j_str(lw_buf_t *b, const char *s)
{
    lw_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            lw_buf_putc(b, '\\');
            lw_buf_putc(b, (char)*p);
        } else if (*p < 0x20) {
            lw_buf_printf(b, "\\u%04x", *p);
        } else {
            lw_buf_putc(b, (char)*p);
        }
    }
    lw_buf_putc(b, '"');
}

static void j_kstr(lw_buf_t *b, const char *k, const char *v, bool comma)
{
    lw_buf_puts(b, comma ? ",\n    " : "\n    ");
    j_str(b, k);
    lw_buf_puts(b, ": ");
    if (v)
        j_str(b, v);
    else
        lw_buf_puts(b, "null");
}

static lw_err_t json_render(ctx_t *c, lw_buf_t *b, char *errstr, size_t errstr_size)
{
    const lw_report_input_t *r = c->r;
    const lw_analysis_t *a = c->a;
    char gen[40];
    time_str(r->generated_ms, gen, sizeof gen);
    lw_buf_puts(b, "{\n  \"schema\": \"" LW_REPORT_SCHEMA "\",\n  \"report\": {");
    j_kstr(b, "generated", gen, false);
    lw_buf_printf(b, ",\n    \"generated_ms\": %lld", (long long)r->generated_ms);
    j_kstr(b, "title", title_of(r), true);
    j_kstr(b, "leadwatch_version", LW_VERSION, true);
    j_kstr(b, "config", r->config_path, true);
    j_kstr(b, "store", r->store_path, true);
    j_kstr(b, "as_of", r->as_of, true);
    lw_buf_printf(b, ",\n    \"window\": %zu", r->window);
    j_kstr(b, "first_label", a->first_label, true);
    j_kstr(b, "last_label", a->last_label, true);
    lw_buf_printf(b, ",\n    \"periods\": %zu", a->nrows);
    j_kstr(b, "nsm", nsm_name(c), true);
    j_kstr(b, "kpi", kpi_name(c), true);
    lw_buf_puts(b, ",\n    \"verdicts\": [");
    for (size_t i = 0; i < a->nedges; i++) {
        const lw_edge_result_t *e = &a->edges[i];
        const edge_ctx_t *ec = &c->edges[i];
        lw_buf_puts(b, i ? ",\n      {" : "\n      {");
        lw_buf_puts(b, "\"from\": ");
        j_str(b, e->from);
        lw_buf_puts(b, ", \"to\": ");
        j_str(b, e->to);
        lw_buf_puts(b, ", \"verdict\": ");
        j_str(b, lw_verdict_name(e->verdict));
        lw_buf_puts(b, ", \"shown_as\": ");
        j_str(b, lw_svg_verdict_label(ec->svg_verdict));
        lw_buf_printf(b, ", \"lag\": %zu, \"headline\": ", ec->lead);
        j_str(b, ec->sentence);
        lw_buf_puts(b, ", \"previous_verdict\": ");
        if (ec->prev)
            j_str(b, ec->prev->verdict);
        else
            lw_buf_puts(b, "null");
        lw_buf_puts(b, "}");
    }
    lw_buf_puts(b, "\n    ],\n    \"previous_report\": ");
    if (r->prev)
        j_str(b, r->prev->generated);
    else
        lw_buf_puts(b, "null");
    lw_buf_printf(b,
                  ",\n    \"data_quality\": {\"rejected\": %lld, \"late\": %lld, "
                  "\"provisional_left_out\": %zu, \"gaps\": %zu, \"counters\": {",
                  (long long)counter_sum(r, "rejected.", false),
                  (long long)(counter_sum(r, "events.late", true) + counter_sum(r, "late", true)),
                  r->provisional, c->gaps);
    for (size_t i = 0; i < r->ncounters; i++) {
        lw_buf_puts(b, i ? ", " : "");
        j_str(b, r->counters[i].name);
        lw_buf_printf(b, ": %lld", (long long)r->counters[i].value);
    }
    lw_buf_puts(b, "}}\n  },\n  \"analysis\": ");
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    if (!f)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: open_memstream failed");
    lw_err_t err = lw_analysis_write_json(a, f, errstr, errstr_size);
    if (fclose(f) != 0 && err == LW_OK)
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: memory stream failed");
    if (err == LW_OK) {
        while (memlen > 0 && (mem[memlen - 1] == '\n' || mem[memlen - 1] == ' '))
            memlen--;
        lw_buf_append(b, mem, memlen);
    }
    free(mem);
    if (err != LW_OK)
        return err;
    lw_buf_puts(b, "\n}\n");
    if (b->err != LW_OK)
        return lw_seterr(errstr, errstr_size, b->err, "report: JSON exceeds %zu bytes", b->max);
    return LW_OK;
}

lw_err_t lw_report_json(const lw_report_input_t *r, lw_buf_t *out, char *errstr, size_t errstr_size)
{
    return render(r, out, false, json_render, errstr, errstr_size);
}

/* ---------------------------------------------------------------- previous report */

typedef struct {
    const char *p, *end;
    int depth;
} jr_t;

static void jr_ws(jr_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool jr_lit(jr_t *j, char c)
{
    jr_ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return true;
    }
    return false;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* A string into buf (NULL = skip), truncated to size; \u escapes become UTF-8. */
static bool jr_string(jr_t *j, char *buf, size_t size)
{
    if (!jr_lit(j, '"'))
        return false;
    size_t n = 0;
    while (j->p < j->end && *j->p != '"') {
        unsigned long cp;
        if (*j->p == '\\') {
            if (j->end - j->p < 2)
                return false;
            char e = j->p[1];
            j->p += 2;
            switch (e) {
            case 'n': cp = '\n'; break;
            case 't': cp = '\t'; break;
            case 'r': cp = '\r'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case '"':
            case '\\':
            case '/': cp = (unsigned char)e; break;
            case 'u': {
                if (j->end - j->p < 4)
                    return false;
                cp = 0;
                for (int k = 0; k < 4; k++) {
                    int h = hexval(j->p[k]);
                    if (h < 0)
                        return false;
                    cp = cp * 16 + (unsigned long)h;
                }
                j->p += 4;
                if (cp >= 0xD800 && cp <= 0xDFFF)
                    cp = 0xFFFD; /* surrogates: names here are never outside the BMP */
                break;
            }
            default: return false;
            }
        } else {
            if ((unsigned char)*j->p < 0x20)
                return false;
            if (buf && n + 1 < size)
                buf[n++] = *j->p;
            j->p++;
            continue;
        }
        char u[4];
        size_t ul = 0;
        if (cp < 0x80) {
            u[ul++] = (char)cp;
        } else if (cp < 0x800) {
            u[ul++] = (char)(0xC0 | (cp >> 6));
            u[ul++] = (char)(0x80 | (cp & 0x3F));
        } else {
            u[ul++] = (char)(0xE0 | (cp >> 12));
            u[ul++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            u[ul++] = (char)(0x80 | (cp & 0x3F));
        }
        for (size_t k = 0; k < ul; k++)
            if (buf && n + 1 < size)
                buf[n++] = u[k];
    }
    if (j->p >= j->end)
        return false;
    j->p++;
    if (buf && size)
        buf[n] = '\0';
    return true;
}

static bool jr_number(jr_t *j, double *v)
{
    jr_ws(j);
    char tmp[64];
    size_t n = 0;
    while (j->p + n < j->end && n + 1 < sizeof tmp && strchr("+-.0123456789eE", j->p[n]))
        n++;
    if (n == 0)
        return false;
    memcpy(tmp, j->p, n);
    tmp[n] = '\0';
    char *endp;
    errno = 0;
    double d = strtod(tmp, &endp);
    /* an underflow (4.9e-324, a p-value the analysis printed) is a number; only overflow is not */
    if (endp != tmp + n || (errno == ERANGE && isinf(d)))
        return false;
    j->p += n;
    if (v)
        *v = d;
    return true;
}

static bool jr_skip(jr_t *j);

static bool jr_skip_container(jr_t *j, char open, char close)
{
    if (++j->depth > PREV_MAX_DEPTH || !jr_lit(j, open))
        return false;
    if (jr_lit(j, close)) {
        j->depth--;
        return true;
    }
    do {
        if (open == '{' && (!jr_string(j, NULL, 0) || !jr_lit(j, ':')))
            return false;
        if (!jr_skip(j))
            return false;
    } while (jr_lit(j, ','));
    j->depth--;
    return jr_lit(j, close);
}

static bool jr_skip(jr_t *j)
{
    jr_ws(j);
    if (j->p >= j->end)
        return false;
    switch (*j->p) {
    case '{': return jr_skip_container(j, '{', '}');
    case '[': return jr_skip_container(j, '[', ']');
    case '"': return jr_string(j, NULL, 0);
    case 't':
    case 'f':
    case 'n': {
        const char *w = *j->p == 't' ? "true" : *j->p == 'f' ? "false" : "null";
        size_t l = strlen(w);
        if ((size_t)(j->end - j->p) < l || memcmp(j->p, w, l) != 0)
            return false;
        j->p += l;
        return true;
    }
    default: return jr_number(j, NULL);
    }
}

static bool jr_peek(jr_t *j, char c)
{
    jr_ws(j);
    return j->p < j->end && *j->p == c;
}

static bool prev_edge(jr_t *j, lw_report_prev_edge_t *pe)
{
    memset(pe, 0, sizeof *pe);
    if (!jr_lit(j, '{'))
        return false;
    if (jr_lit(j, '}'))
        return true;
    do {
        char key[32];
        if (!jr_string(j, key, sizeof key) || !jr_lit(j, ':'))
            return false;
        if (strcmp(key, "from") == 0 && jr_peek(j, '"')) {
            if (!jr_string(j, pe->from, sizeof pe->from))
                return false;
        } else if (strcmp(key, "to") == 0 && jr_peek(j, '"')) {
            if (!jr_string(j, pe->to, sizeof pe->to))
                return false;
        } else if (strcmp(key, "verdict") == 0 && jr_peek(j, '"')) {
            if (!jr_string(j, pe->verdict, sizeof pe->verdict))
                return false;
        } else if (strcmp(key, "lag") == 0 && !jr_peek(j, 'n')) {
            double d;
            if (!jr_number(j, &d))
                return false;
            pe->lag = d >= 0 && d < 1e6 ? (size_t)d : 0;
        } else if (!jr_skip(j)) {
            return false;
        }
    } while (jr_lit(j, ','));
    return jr_lit(j, '}');
}

static bool prev_report_obj(jr_t *j, lw_report_prev_t *out, bool *have_verdicts)
{
    if (!jr_lit(j, '{'))
        return false;
    if (jr_lit(j, '}'))
        return true;
    do {
        char key[32];
        if (!jr_string(j, key, sizeof key) || !jr_lit(j, ':'))
            return false;
        if (strcmp(key, "generated") == 0 && jr_peek(j, '"')) {
            if (!jr_string(j, out->generated, sizeof out->generated))
                return false;
        } else if (strcmp(key, "last_label") == 0 && jr_peek(j, '"')) {
            if (!jr_string(j, out->last_label, sizeof out->last_label))
                return false;
        } else if (strcmp(key, "verdicts") == 0 && jr_peek(j, '[')) {
            *have_verdicts = true;
            jr_lit(j, '[');
            if (!jr_lit(j, ']')) {
                do {
                    lw_report_prev_edge_t pe;
                    if (!prev_edge(j, &pe))
                        return false;
                    if (out->nedges < LW_ANALYZE_MAX_EDGES && pe.from[0] && pe.to[0])
                        out->edges[out->nedges++] = pe;
                } while (jr_lit(j, ','));
                if (!jr_lit(j, ']'))
                    return false;
            }
        } else if (!jr_skip(j)) {
            return false;
        }
    } while (jr_lit(j, ','));
    return jr_lit(j, '}');
}

lw_err_t lw_report_prev_parse(const char *json, size_t len, lw_report_prev_t *out, char *errstr,
                              size_t errstr_size)
{
    memset(out, 0, sizeof *out);
    jr_t j = {json, json + len, 0};
    char schema[64] = "";
    bool have_verdicts = false;
    if (!jr_lit(&j, '{'))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "previous report: not a JSON object");
    if (!jr_lit(&j, '}')) {
        do {
            char key[32];
            bool ok;
            if (!jr_string(&j, key, sizeof key) || !jr_lit(&j, ':'))
                ok = false;
            else if (strcmp(key, "schema") == 0 && jr_peek(&j, '"'))
                ok = jr_string(&j, schema, sizeof schema);
            else if (strcmp(key, "report") == 0 && jr_peek(&j, '{'))
                ok = prev_report_obj(&j, out, &have_verdicts);
            else
                ok = jr_skip(&j);
            if (!ok) {
                size_t off = (size_t)(j.p - json);
                memset(out, 0, sizeof *out);
                return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                 "previous report: malformed JSON near byte %zu", off);
            }
        } while (jr_lit(&j, ','));
        jr_ws(&j);
        if (!jr_lit(&j, '}') || (jr_ws(&j), j.p != j.end)) {
            memset(out, 0, sizeof *out);
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                             "previous report: malformed JSON near byte %zu", (size_t)(j.p - json));
        }
    }
    if (strcmp(schema, LW_REPORT_SCHEMA) != 0 || !have_verdicts) {
        memset(out, 0, sizeof *out);
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "previous report: not a %s document",
                         LW_REPORT_SCHEMA);
    }
    return LW_OK;
}

static lw_err_t path_join(char *buf, size_t size, const char *dir, const char *name, char *errstr,
                          size_t errstr_size)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "report: path too long: %s/%s", dir,
                         name);
    return LW_OK;
}

lw_err_t lw_report_prev_load(const char *dir, lw_report_prev_t *out, char *errstr,
                             size_t errstr_size)
{
    memset(out, 0, sizeof *out);
    char path[4096];
    lw_err_t err = path_join(path, sizeof path, dir, "report.json", errstr, errstr_size);
    if (err != LW_OK)
        return err;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return LW_ERR_NOT_FOUND;
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: %s", path, strerror(errno));
    }
    char *text = malloc(LW_REPORT_MAX_PREV_BYTES);
    if (!text) {
        fclose(f);
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: out of memory");
    }
    size_t len = fread(text, 1, LW_REPORT_MAX_PREV_BYTES, f);
    bool bad = ferror(f) != 0, big = len == LW_REPORT_MAX_PREV_BYTES;
    fclose(f);
    if (bad)
        err = lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: read error", path);
    else if (big)
        err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "%s: larger than %u bytes", path,
                        LW_REPORT_MAX_PREV_BYTES);
    else
        err = lw_report_prev_parse(text, len, out, errstr, errstr_size);
    free(text);
    return err;
}

/* ---------------------------------------------------------------- files */

/* Write data to DIR/name via a temporary file, fsync, rename. */
static lw_err_t write_atomic(const char *dir, const char *name, const char *data, size_t len,
                             char *errstr, size_t errstr_size)
{
    char path[4096], tmp[4096];
    lw_err_t err;
    if ((err = path_join(path, sizeof path, dir, name, errstr, errstr_size)) != LW_OK)
        return err;
    int n = snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "report: path too long: %s", dir);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: cannot create a file: %s", dir,
                         strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: write failed: %s", tmp,
                            strerror(errno));
            goto unlink_tmp;
        }
        off += (size_t)w;
    }
    /* readable like any report file (mkstemp creates 0600) */
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto unlink_tmp;
    }
    if (close(fd) != 0) {
        fd = -1;
        err =
            lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
        goto unlink_tmp;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: rename failed: %s", path,
                        strerror(errno));
        goto unlink_tmp;
    }
    return LW_OK;

unlink_tmp:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return err;
}

lw_err_t lw_report_write_dir(const lw_report_input_t *r, const char *dir, char *html_path,
                             size_t html_path_size, char *errstr, size_t errstr_size)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: not a directory", dir);
    lw_buf_t html, md, json;
    lw_buf_init(&html, LW_REPORT_MAX_BYTES);
    lw_buf_init(&md, LW_REPORT_MAX_BYTES);
    lw_buf_init(&json, LW_REPORT_MAX_BYTES);
    lw_err_t err;
    if ((err = lw_report_html(r, &html, errstr, errstr_size)) != LW_OK ||
        (err = lw_report_markdown(r, &md, errstr, errstr_size)) != LW_OK ||
        (err = lw_report_json(r, &json, errstr, errstr_size)) != LW_OK)
        goto release_bufs;
    /* report.json last: it is what the next run compares against */
    if ((err = write_atomic(dir, "report.html", html.data, html.len, errstr, errstr_size)) !=
            LW_OK ||
        (err = write_atomic(dir, "report.md", md.data, md.len, errstr, errstr_size)) != LW_OK ||
        (err = write_atomic(dir, "report.json", json.data, json.len, errstr, errstr_size)) != LW_OK)
        goto release_bufs;
    if (html_path)
        err = path_join(html_path, html_path_size, dir, "report.html", errstr, errstr_size);
release_bufs:
    lw_buf_release(&json);
    lw_buf_release(&md);
    lw_buf_release(&html);
    return err;
}

/* ---------------------------------------------------------------- the command */

typedef struct {
    lw_report_counter_t *c;
    size_t n;
} counters_t;

static void counter_cb(void *ud, const char *name, int64_t value)
{
    counters_t *cs = ud;
    if (cs->n >= LW_REPORT_MAX_COUNTERS)
        return;
    snprintf(cs->c[cs->n].name, sizeof cs->c[cs->n].name, "%s", name);
    cs->c[cs->n].value = value;
    cs->n++;
}

lw_err_t lw_report_run(const lw_config_t *cfg, const lw_report_run_opts_t *o, char *html_path,
                       size_t html_path_size, char *errstr, size_t errstr_size)
{
    if (!o->out_dir)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "report: --out DIR is required");
    if (o->max_lag > LW_ANALYZE_MAX_LAG)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "report: --max-lag: at most %u",
                         LW_ANALYZE_MAX_LAG);
    if (o->window > LW_SERIES_MAX_ROWS)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "report: --window: at most %d",
                         LW_SERIES_MAX_ROWS);
    const int64_t size = cfg->buckets.size_ms;
    int64_t to_ms = INT64_MAX, from_ms = INT64_MIN;
    if (o->as_of) {
        int64_t t;
        if (!lw_time_parse_iso8601(o->as_of, strlen(o->as_of), &t))
            return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                             "report: --as-of: '%s' is not a date (YYYY-MM-DD)", o->as_of);
        to_ms = lw_bucket_start(t, size);
    }
    lw_store_t *store = NULL;
    lw_err_t err = lw_store_open(cfg->store.path, LW_STORE_READONLY, &store, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    lw_series_t series;
    memset(&series, 0, sizeof series);
    lw_report_counter_t *counters = calloc(LW_REPORT_MAX_COUNTERS, sizeof *counters);
    counters_t cs = {counters, 0};
    lw_analyze_source_t src;
    memset(&src, 0, sizeof src);
    bool have_src = false;
    lw_analysis_t *an = NULL;
    if (!counters) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: out of memory");
        goto close_store;
    }
    if (o->window) {
        if (to_ms == INT64_MAX) {
            int64_t lo, hi;
            err = lw_store_bucket_range(store, &lo, &hi, errstr, errstr_size);
            if (err == LW_ERR_NOT_FOUND)
                err = lw_seterr(errstr, errstr_size, LW_ERR_NOT_FOUND,
                                "report: the store %s holds no buckets", cfg->store.path);
            if (err != LW_OK)
                goto close_store;
            to_ms = hi;
        }
        from_ms = to_ms - (int64_t)(o->window - 1) * size;
    }
    if ((err = lw_series_load(cfg, store, from_ms, to_ms, &series, errstr, errstr_size)) != LW_OK)
        goto close_store;
    if ((err = lw_store_counters(store, counter_cb, &cs, errstr, errstr_size)) != LW_OK)
        goto release_series;
    lw_store_close(store);
    store = NULL;
    if ((err = lw_analyze_source_from_series(&src, cfg, &series, errstr, errstr_size)) != LW_OK)
        goto release_series;
    have_src = true;
    if (src.in.nrows == 0) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOT_FOUND,
                        "report: no final buckets in the window (store %s)", cfg->store.path);
        goto release_series;
    }
    lw_analyze_opts_t ao = cfg->analysis;
    if (o->max_lag)
        ao.max_lag = o->max_lag;
    if ((err = lw_analyze_tree(&ao, &src.in, &an, errstr, errstr_size)) != LW_OK)
        goto release_series;
    lw_report_prev_t prev;
    char perr[256];
    lw_err_t pe = lw_report_prev_load(o->out_dir, &prev, perr, sizeof perr);
    if (pe != LW_OK && pe != LW_ERR_NOT_FOUND)
        fprintf(stderr, "leadwatch report: ignoring the previous report: %s\n", perr);
    lw_report_input_t r = {.analysis = an,
                           .input = &src.in,
                           .generated_ms = o->now_ms,
                           .config_path = cfg->file,
                           .store_path = cfg->store.path,
                           .as_of = o->as_of,
                           .window = o->window,
                           .provisional = src.dropped_provisional,
                           .counters = counters,
                           .ncounters = cs.n,
                           .prev = pe == LW_OK ? &prev : NULL};
    err = lw_report_write_dir(&r, o->out_dir, html_path, html_path_size, errstr, errstr_size);
    lw_analysis_free(an);
release_series:
    if (have_src)
        lw_analyze_source_release(&src);
    lw_series_release(&series);
close_store:
    free(counters);
    if (store)
        lw_store_close(store);
    return err;
}
