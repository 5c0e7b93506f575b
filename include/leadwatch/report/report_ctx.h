/*
 * report_ctx.h - the prepared context the report renderers share (internal
 * to the report module: report_html.c, report_md.c and report_json.c use it;
 * nothing outside src/report/ should).
 *
 * lw_report_render() builds one lw_report_ctx_t from an lw_report_input_t
 * (per edge: the verdict as drawn, the headline sentence, the previous
 * report's verdict and, for HTML only, the rolling-window p history), calls
 * one format's render function, releases the context, and rewinds the
 * output buffer on any error so a caller never sees half a document.
 * The small text helpers below are shared by the formats so a number, a
 * p-value or a verdict symbol reads the same in HTML and in Markdown.
 */
#ifndef LEADWATCH_REPORT_CTX_H
#define LEADWATCH_REPORT_CTX_H

#include "leadwatch/report/report.h"
#include "leadwatch/report/svg.h"

#define LW_REPORT_SENTENCE_SIZE 512u

/* Per edge, prepared once for every format. */
typedef struct {
    lw_svg_verdict_t svg_verdict;
    const lw_report_prev_edge_t *prev; /* the same edge in the previous report, or NULL */
    char sentence[LW_REPORT_SENTENCE_SIZE];
    size_t lead;                       /* the lead the headline quotes, 0 = none */
    char since[LW_ANALYZE_LABEL_SIZE]; /* no_longer_leads: the date it stopped leading, else "" */
    /* rolling-window p history (HTML only) */
    double *hist_p;
    const char **hist_label;
    size_t hist_n, hist_window, hist_step;
    bool hist_break;
    size_t hist_break_index;
} lw_report_edge_ctx_t;

/* What one render call reads; owned by lw_report_render for the call. */
typedef struct {
    const lw_report_input_t *r;
    const lw_analysis_t *a;
    const lw_analyze_input_t *in;
    const char **labels;         /* [nrows] */
    char *label_store;           /* backing for "row N" labels */
    double **prepared;           /* [nseries], lazily filled */
    lw_report_edge_ctx_t *edges; /* [nedges] */
    size_t smooth;               /* moving-average width for time-series charts */
    size_t gaps;                 /* rows where every tree series is undefined */
} lw_report_ctx_t;

typedef lw_err_t (*lw_report_render_fn)(lw_report_ctx_t *c, lw_buf_t *b, char *errstr,
                                        size_t errstr_size);

/*
 * Build the context (with the rolling p-value history only when `history`,
 * i.e. for the HTML charts), call fn, release the context.  On any error
 * `out` is rewound to its length on entry; a sticky error already in `out`
 * is returned at once.
 */
lw_err_t lw_report_render(const lw_report_input_t *r, lw_buf_t *out, bool history,
                          lw_report_render_fn fn, char *errstr, size_t errstr_size);

/* Build / release a context directly (lw_report_render does both). */
lw_err_t lw_report_ctx_build(lw_report_ctx_t *c, const lw_report_input_t *r, bool history,
                             char *errstr, size_t errstr_size);
void lw_report_ctx_release(lw_report_ctx_t *c);

/* "day"/"days", "hour"/"hours", ... for the bucket size; "period(s)" otherwise. */
const char *lw_report_unit_word(int64_t bucket_ms, size_t n);
/* Shortest fixed form with at most `dec` decimals, never "-0"; "n/a" when not finite. */
void lw_report_num_str(double v, int dec, char *buf, size_t size);
/* "= 0.123" or "< 0.001", to follow "p " or "q ". */
void lw_report_p_rel(double p, char *buf, size_t size);
/* The percent change of y for +1 % of x, with a sign: "+0.4%". */
void lw_report_elasticity_str(double el, char *buf, size_t size);
/* A symbol that carries the verdict without colour (UTF-8). */
const char *lw_report_verdict_symbol(lw_svg_verdict_t v);
/* CSS class suffix of a verdict: "leads", "no-longer-leads", ... */
const char *lw_report_verdict_class(lw_svg_verdict_t v);
/* Column col of the input into out[nrows]. */
void lw_report_column(const lw_analyze_input_t *in, size_t col, double *out);
/* Trailing mean over w rows of x[n] into out[n]; NaN unless all w are defined. */
void lw_report_moving_average(const double *x, size_t n, size_t w, double *out);

const char *lw_report_title_of(const lw_report_input_t *r);
void lw_report_time_str(int64_t ms, char *buf, size_t size);
const char *lw_report_nsm_name(const lw_report_ctx_t *c);
const char *lw_report_kpi_name(const lw_report_ctx_t *c); /* NULL = no KPI */
/* Sum of the store counters named `prefix` (exact) or starting with it. */
int64_t lw_report_counter_sum(const lw_report_input_t *r, const char *prefix, bool exact);
/* Appends s with a format's escaping (Markdown, Slack mrkdwn). */
typedef void (*lw_report_text_fn)(lw_buf_t *b, const char *s);
/*
 * One line per edge whose verdict changed since the previous report:
 * "<prefix>FROM → TO: previous → now[ on DATE]\n", names through name_fn;
 * heading (may be "") comes before the first; returns how many (0
 * without a previous report).
 */
size_t lw_report_change_lines(const lw_report_ctx_t *c, lw_buf_t *b, lw_report_text_fn text,
                              lw_report_text_fn name_fn, const char *heading, const char *prefix);
/*
 * The text formats' opening line: "NSM <name> · KPI <name> · <window_word>FIRST
 * – LAST (N days)", names through name_fn (which adds the format's markup),
 * labels through text; no newline.
 */
void lw_report_meta_line(const lw_report_ctx_t *c, lw_buf_t *b, lw_report_text_fn text,
                         lw_report_text_fn name_fn, const char *window_word);
/* One line per edge: "<prefix><symbol> <bold>verdict<bold><sep>sentence\n". */
void lw_report_headline_lines(const lw_report_ctx_t *c, lw_buf_t *b, lw_report_text_fn text,
                              const char *prefix, const char *bold, const char *sep);
/* The methods footnote, as HTML paragraphs or Markdown paragraphs. */
void lw_report_methods_text(const lw_report_ctx_t *c, lw_buf_t *b, bool html);

/* A FILE writer's output (fn(arg, f, ...) on a memory stream) appended to b;
 * fn's error, or LW_ERR_NOMEM when the stream fails. */
typedef lw_err_t (*lw_report_stream_fn)(const void *arg, FILE *f, char *errstr, size_t errstr_size);
lw_err_t lw_report_put_stream(lw_buf_t *b, lw_report_stream_fn fn, const void *arg, char *errstr,
                              size_t errstr_size);

/* The "Experiments" section (report_exp.c, issue 16) when the analysis
 * carries an experiment analysis; nothing otherwise. */
lw_err_t lw_report_html_experiments(const lw_report_ctx_t *c, lw_buf_t *b, char *errstr,
                                    size_t errstr_size);
lw_err_t lw_report_md_experiments(const lw_report_ctx_t *c, lw_buf_t *b, char *errstr,
                                  size_t errstr_size);

#endif
