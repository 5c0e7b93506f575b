/*
 * report_ctx.c - the preparation pass shared by the report renderers
 * (report_ctx.h), and the text helpers the formats have in common.
 *
 * lw_report_render builds a context (lw_report_ctx_build) per render call:
 * per edge, the verdict as the tree diagram draws it (a `leads` in the
 * previous report that is now inconclusive becomes "no longer leads"), the
 * headline sentence, the previous report's verdict, and - for HTML only -
 * the rolling-window p-value history.  Period labels come from the input
 * (or "row N" when it has none).  Then it calls one format's render function
 * (report_html.c, report_md.c, report_json.c) on a bounded lw_buf_t and
 * rewinds the buffer on any error, so a caller never sees half a report.
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
 */
#include "leadwatch/report/report_ctx.h"

#include "leadwatch/stats/prep.h"
#include "leadwatch/core/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST_MAX_WINDOWS 400u

/* ---------------------------------------------------------------- context */

const char *lw_report_unit_word(int64_t bucket_ms, size_t n)
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
void lw_report_num_str(double v, int dec, char *buf, size_t size)
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
void lw_report_p_rel(double p, char *buf, size_t size)
{
    if (isfinite(p) && p < 0.001)
        snprintf(buf, size, "< 0.001");
    else if (isfinite(p))
        snprintf(buf, size, "= %.3f", p);
    else
        snprintf(buf, size, "= n/a");
}

/* The percent change of y for +1 % of x, with a sign: "+0.4%". */
void lw_report_elasticity_str(double el, char *buf, size_t size)
{
    double a = fabs(el);
    int dec = a >= 10 ? 0 : a >= 1 ? 1 : 2;
    char n[48];
    lw_report_num_str(el, dec, n, sizeof n);
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

const char *lw_report_verdict_symbol(lw_svg_verdict_t v)
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
const char *lw_report_verdict_class(lw_svg_verdict_t v)
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

/*
 * The report's one vocabulary: the LEAD of x on y is how many buckets x's
 * movements come before y's - for x -> y the k >= 1 with the largest R² of
 * y_t on x_{t-k} (the lagged regression), else the Granger lag order; for
 * y -> x, where no lagged regression runs, the Granger lag order of y -> x.
 * "Lag order" is kept for the number of lags in a Granger model and appears
 * only in the statistics details.
 */
size_t lw_report_lead_of(const lw_edge_result_t *e)
{
    if (e->lagreg_status == LW_STEP_OK && e->lead > 0)
        return e->lead;
    return e->lag;
}

/* The lead quoted for an edge: x's lead for leads/feedback/no longer, y's for reverse. */
static size_t edge_lead(const lw_edge_result_t *e)
{
    switch (e->verdict) {
    case LW_VERDICT_LEADS:
    case LW_VERDICT_FEEDBACK:
    case LW_VERDICT_NO_LONGER_LEADS: return lw_report_lead_of(e);
    case LW_VERDICT_REVERSE: return e->lag_reverse;
    default: return 0;
    }
}

/* Which checks a significant direction failed, as words ("is not stable over the window"). */
static void failed_checks(const lw_edge_result_t *e, bool reverse, char *buf, size_t size)
{
    lw_step_t stab = reverse ? e->stab_rev_status : e->stab_status;
    lw_step_t oos = reverse ? e->oos_rev_status : e->oos_status;
    bool stable = reverse ? e->stable_reverse : e->stable;
    bool skill = reverse ? e->oos_skill_reverse : e->oos_skill;
    const char *a = NULL, *b = NULL;
    if (stab != LW_STEP_OK)
        a = "could not be checked for stability";
    else if (!stable)
        a = "is not stable across the window";
    if (oos != LW_STEP_OK)
        b = "could not be checked out of sample";
    else if (!skill)
        b = "does not improve forecasts out of sample";
    if (a && b)
        snprintf(buf, size, "%s and %s", a, b);
    else if (a || b)
        snprintf(buf, size, "%s", a ? a : b);
    else
        snprintf(buf, size, "does not pass every check");
}

/* The inconclusive sentence, from what the evidence says (never contradicts the q-values). */
static void inconclusive_sentence(const lw_analysis_t *a, const lw_edge_result_t *e,
                                  const lw_report_prev_edge_t *pe, const char *from,
                                  const char *From, const char *to, const char *To, char *buf,
                                  size_t size)
{
    const double alpha = a->opts.alpha;
    const bool fwd = e->q_defined && e->q < alpha;
    const bool rev = e->q_reverse_defined && e->q_reverse < alpha;
    const size_t lead = lw_report_lead_of(e);
    char q[32], why[700], fc[160];
    if (fwd) {
        lw_report_p_rel(e->q, q, sizeof q);
        failed_checks(e, false, fc, sizeof fc);
        snprintf(why, sizeof why,
                 "the %zu-%s lead is significant (q %s) but %s, so it is not counted", lead,
                 lw_report_unit_word(a->bucket_ms, 1), q, fc);
    } else if (rev) {
        lw_report_p_rel(e->q_reverse, q, sizeof q);
        failed_checks(e, true, fc, sizeof fc);
        snprintf(why, sizeof why,
                 "only the opposite direction is significant (%s may lead %s, q %s), and it %s", to,
                 from, q, fc);
    } else {
        lw_report_p_rel(e->q_defined ? e->q : (double)NAN, q, sizeof q);
        snprintf(why, sizeof why, "neither direction is significant (q %s)", q);
    }
    if (pe && strcmp(pe->verdict, "leads") == 0)
        snprintf(buf, size,
                 "%s no longer leads %s (it led by %zu %s in the previous report; now %s).", From,
                 to, pe->lag, lw_report_unit_word(a->bucket_ms, pe->lag), why);
    else if (fwd)
        snprintf(buf, size, "%s may lead %s, but not reliably: %s.", From, to, why);
    else
        snprintf(buf, size, "No reliable lead of %s on %s: %s.", from, to, why);
    (void)To;
}

void lw_report_sentence(const lw_analysis_t *a, size_t i, const lw_report_prev_t *prev, char *buf,
                        size_t size)
{
    const lw_edge_result_t *e = &a->edges[i];
    char from[LW_ANALYZE_NAME_SIZE], to[LW_ANALYZE_NAME_SIZE], From[LW_ANALYZE_NAME_SIZE],
        To[LW_ANALYZE_NAME_SIZE], el[48];
    human_name(e->from, false, from, sizeof from);
    human_name(e->from, true, From, sizeof From);
    human_name(e->to, false, to, sizeof to);
    human_name(e->to, true, To, sizeof To);
    const lw_report_prev_edge_t *pe = prev_find(prev, e->from, e->to);
    size_t lead = lw_report_lead_of(e);
    switch (e->verdict) {
    case LW_VERDICT_LEADS:
        if (e->elasticity_defined) {
            lw_report_elasticity_str(e->elasticity, el, sizeof el);
            snprintf(buf, size, "%s leads %s by %zu %s; +1%% \xE2\x86\x92 %s.", From, to, lead,
                     lw_report_unit_word(a->bucket_ms, lead), el);
        } else {
            snprintf(buf, size, "%s leads %s by %zu %s (strength not estimated).", From, to, lead,
                     lw_report_unit_word(a->bucket_ms, lead));
        }
        break;
    case LW_VERDICT_REVERSE:
        snprintf(buf, size, "%s leads %s by %zu %s, not the other way round (reverse).", To, from,
                 e->lag_reverse, lw_report_unit_word(a->bucket_ms, e->lag_reverse));
        break;
    case LW_VERDICT_FEEDBACK:
        snprintf(buf, size, "%s and %s lead each other (feedback): %s by %zu %s, %s by %zu %s.",
                 From, to, from, lead, lw_report_unit_word(a->bucket_ms, lead), to, e->lag_reverse,
                 lw_report_unit_word(a->bucket_ms, e->lag_reverse));
        break;
    case LW_VERDICT_INCONCLUSIVE:
        inconclusive_sentence(a, e, pe, from, From, to, To, buf, size);
        break;
    case LW_VERDICT_NO_LONGER_LEADS: {
        char since[LW_ANALYZE_LABEL_SIZE];
        lw_analysis_row_label(a, e->since_row, since, sizeof since);
        snprintf(buf, size, "%s stopped leading %s on %s (before, it led by %zu %s).", From, to,
                 since, lead, lw_report_unit_word(a->bucket_ms, lead));
        break;
    }
    case LW_VERDICT_INSUFFICIENT_DATA:
        snprintf(buf, size,
                 "Not enough data to test %s \xE2\x86\x92 %s (%zu complete %s, %zu needed).", from,
                 to, e->rows_used, lw_report_unit_word(a->bucket_ms, e->rows_used), e->min_nobs);
        break;
    }
}

static double in_at(const lw_analyze_input_t *in, size_t row, size_t col)
{
    return in->values[row * in->nseries + col];
}

void lw_report_column(const lw_analyze_input_t *in, size_t col, double *out)
{
    for (size_t r = 0; r < in->nrows; r++)
        out[r] = in_at(in, r, col);
}

/* Trailing mean over w rows, NAN unless all w are defined. */
void lw_report_moving_average(const double *x, size_t n, size_t w, double *out)
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

static lw_err_t prepared_col(lw_report_ctx_t *c, size_t col, const double **out, char *errstr,
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
    lw_report_column(c->in, col, raw);
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
static lw_err_t edge_history(lw_report_ctx_t *c, size_t i, char *errstr, size_t errstr_size)
{
    const lw_edge_result_t *e = &c->a->edges[i];
    lw_report_edge_ctx_t *ec = &c->edges[i];
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

void lw_report_ctx_release(lw_report_ctx_t *c)
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

lw_err_t lw_report_ctx_build(lw_report_ctx_t *c, const lw_report_input_t *r, bool history,
                             char *errstr, size_t errstr_size)
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
    c->edges = calloc(c->a->nedges ? c->a->nedges : 1, sizeof(lw_report_edge_ctx_t));
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
        lw_report_edge_ctx_t *ec = &c->edges[i];
        ec->prev = prev_find(r->prev, e->from, e->to);
        ec->svg_verdict = svg_verdict_of(e, ec->prev);
        ec->lead = edge_lead(e);
        if (e->verdict == LW_VERDICT_NO_LONGER_LEADS)
            lw_analysis_row_label(c->a, e->since_row, ec->since, sizeof ec->since);
        lw_report_sentence(c->a, i, r->prev, ec->sentence, sizeof ec->sentence);
        if (history && (err = edge_history(c, i, errstr, errstr_size)) != LW_OK)
            goto fail;
    }
    return LW_OK;

fail:
    lw_report_ctx_release(c);
    return err;
}

/* ---------------------------------------------------------------- shared text */

const char *lw_report_title_of(const lw_report_input_t *r)
{
    return r->title ? r->title : "Metric tree validation report";
}

void lw_report_time_str(int64_t ms, char *buf, size_t size)
{
    lw_time_format_iso8601(ms, buf, size);
}

lw_err_t lw_report_put_stream(lw_buf_t *b, lw_report_stream_fn fn, const void *arg, char *errstr,
                              size_t errstr_size)
{
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    if (!f)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: open_memstream failed");
    lw_err_t err = fn(arg, f, errstr, errstr_size);
    if (fclose(f) != 0 && err == LW_OK)
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: memory stream failed");
    if (err == LW_OK)
        lw_buf_append(b, mem, memlen);
    free(mem);
    return err;
}

const char *lw_report_nsm_name(const lw_report_ctx_t *c)
{
    return c->in->names[c->in->nsm];
}

const char *lw_report_kpi_name(const lw_report_ctx_t *c)
{
    return c->in->kpi >= 0 ? c->in->names[c->in->kpi] : NULL;
}

int64_t lw_report_counter_sum(const lw_report_input_t *r, const char *prefix, bool exact)
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

size_t lw_report_change_lines(const lw_report_ctx_t *c, lw_buf_t *b, lw_report_text_fn text,
                              lw_report_text_fn name_fn, const char *heading, const char *prefix)
{
    size_t changed = 0;
    for (size_t i = 0; c->r->prev && i < c->a->nedges; i++) {
        const lw_edge_result_t *e = &c->a->edges[i];
        const lw_report_edge_ctx_t *ec = &c->edges[i];
        if (ec->prev && strcmp(ec->prev->verdict, lw_verdict_name(e->verdict)) == 0)
            continue;
        lw_buf_puts(b, changed++ == 0 ? heading : "");
        lw_buf_puts(b, prefix);
        name_fn(b, e->from);
        lw_buf_puts(b, " \xE2\x86\x92 ");
        name_fn(b, e->to);
        lw_buf_puts(b, ": ");
        text(b, ec->prev ? ec->prev->verdict : "new edge");
        lw_buf_puts(b, " \xE2\x86\x92 ");
        text(b, lw_verdict_name(e->verdict));
        if (ec->since[0]) {
            lw_buf_puts(b, " (stopped leading on ");
            text(b, ec->since);
            lw_buf_puts(b, ")");
        }
        lw_buf_putc(b, '\n');
    }
    return changed;
}

void lw_report_meta_line(const lw_report_ctx_t *c, lw_buf_t *b, lw_report_text_fn text,
                         lw_report_text_fn name_fn, const char *window_word)
{
    const lw_analysis_t *a = c->a;
    lw_buf_puts(b, "NSM ");
    name_fn(b, lw_report_nsm_name(c));
    if (lw_report_kpi_name(c)) {
        lw_buf_puts(b, " \xC2\xB7 KPI ");
        name_fn(b, lw_report_kpi_name(c));
    }
    lw_buf_puts(b, " \xC2\xB7 ");
    lw_buf_puts(b, window_word);
    text(b, a->first_label);
    lw_buf_puts(b, " \xE2\x80\x93 ");
    text(b, a->last_label);
    lw_buf_printf(b, " (%zu %s)", a->nrows, lw_report_unit_word(a->bucket_ms, a->nrows));
}

void lw_report_headline_lines(const lw_report_ctx_t *c, lw_buf_t *b, lw_report_text_fn text,
                              const char *prefix, const char *bold, const char *sep)
{
    for (size_t i = 0; i < c->a->nedges; i++) {
        const lw_report_edge_ctx_t *ec = &c->edges[i];
        lw_buf_printf(b, "%s%s %s%s%s%s", prefix, lw_report_verdict_symbol(ec->svg_verdict), bold,
                      lw_svg_verdict_label(ec->svg_verdict), bold, sep);
        text(b, ec->sentence);
        lw_buf_putc(b, '\n');
    }
}

void lw_report_methods_text(const lw_report_ctx_t *c, lw_buf_t *b, bool html)
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

/*
 * Build the context (with the rolling p-value history only for the HTML
 * charts), render one format, and leave `out` as it was on any error.
 */
lw_err_t lw_report_render(const lw_report_input_t *r, lw_buf_t *out, bool history,
                          lw_report_render_fn fn, char *errstr, size_t errstr_size)
{
    if (out->err != LW_OK)
        return out->err;
    const size_t start = out->len;
    lw_report_ctx_t c;
    lw_err_t err = lw_report_ctx_build(&c, r, history, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    err = fn(&c, out, errstr, errstr_size);
    lw_report_ctx_release(&c);
    if (err != LW_OK)
        lw_buf_rewind(out, start);
    return err;
}
