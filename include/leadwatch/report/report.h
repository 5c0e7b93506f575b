/*
 * report.h - the nightly validation report: one analysis of the metric tree
 * (analyze.h) rendered as a self-contained HTML page with inline SVG charts
 * (svg.h), a Markdown summary for a wiki, a Slack mrkdwn summary
 * (report.slack.txt), and JSON (the analysis JSON of analysis_out.h wrapped
 * with the report's metadata).
 *
 * Layers, from pure to I/O:
 *   1. lw_report_html / lw_report_markdown / lw_report_json render an
 *      lw_report_input_t (the analysis, the series it ran on, and metadata
 *      handed in: time of generation, counters, the previous report) into
 *      a bounded lw_buf_t.  No clock, no files: the tests drive these.
 *   2. lw_report_prev_parse reads back the "verdicts" of a previous
 *      report.json so the new report can say what changed.
 *   3. lw_report_write_dir renders all three and replaces DIR/report.html,
 *      DIR/report.md and DIR/report.json atomically (temp file, fsync,
 *      rename; report.json last, since it is what the next run compares
 *      against).
 *   4. lw_report_run is the `leadwatch report` entry
 *      point: config -> store (read-only; safe next to a running daemon,
 *      SQLite WAL) -> series -> analysis -> files.
 *
 * What the HTML shows, in order (values first, statistics on demand): a
 * headline (one plain-words sentence per edge, generated from its verdict
 * and evidence: which input leads, by how many days, since when it
 * stopped), the metric tree diagram, small multiples of the NSM and inputs
 * indexed to 100 at the window start, a strip of when each edge led (the
 * daemon's stored verdicts, when there are any), then per edge the NSM and
 * the input shifted by its lead in their own units on two aligned panels
 * with the break date marked, and - in a collapsed <details> - the
 * statistics behind the verdict with a one-line explanation of each test
 * and their charts (cross-correlation, Granger p by lag, rolling p history,
 * sensitivity); then, when the store holds experiments (issue 16), the
 * "Experiments" section (report_exp.c): per edge the verdict of the team's
 * A/B tests and a scatter of input effect vs NSM effect per experiment;
 * then changes since the previous report, data quality, a
 * glossary and the methods.  Charts are drawn at two widths where needed
 * (a desktop one and a 360 px one, switched by CSS) so chart text is at
 * least 11 px at a 390 px phone width.  Every chart carries class "lw-chart" and a
 * "lw-plot" drawing area; every edge section is <section class="lw-edge">
 * with data-from / data-to / data-verdict attributes, which the tests and
 * the browser check read.
 */
#ifndef LEADWATCH_REPORT_H
#define LEADWATCH_REPORT_H

#include <stdio.h>

#include "leadwatch/stats/analyze.h"
#include "leadwatch/core/buf.h"
#include "leadwatch/model/config.h"

/* Bounds. */
#define LW_REPORT_MAX_BYTES (8u * 1024u * 1024u) /* one rendered file; the target is < 2 MB */
#define LW_REPORT_MAX_COUNTERS 256u              /* store counters shown */
#define LW_REPORT_COUNTER_NAME 96u
#define LW_REPORT_MAX_PREV_BYTES (16u * 1024u * 1024u) /* previous report.json read back */
#define LW_REPORT_SCHEMA "leadwatch.report/1"

/* One store counter ("rejected.invalid_json", "events.late", "missing_value.x"). */
typedef struct {
    char name[LW_REPORT_COUNTER_NAME];
    int64_t value;
} lw_report_counter_t;

/* One edge of a previous report, as read back from its report.json. */
typedef struct {
    char from[LW_ANALYZE_NAME_SIZE];
    char to[LW_ANALYZE_NAME_SIZE];
    char verdict[32]; /* lw_verdict_name() spelling; kept as text (a newer build may add names) */
    size_t lag;       /* the lead the headline quoted, 0 = none */
} lw_report_prev_edge_t;

typedef struct {
    char generated[40];                     /* ISO time the previous report was written */
    char last_label[LW_ANALYZE_LABEL_SIZE]; /* last period it analysed */
    size_t nedges;
    lw_report_prev_edge_t edges[LW_ANALYZE_MAX_EDGES];
} lw_report_prev_t;

/* One stored verdict of the daemon (the store's verdicts table), for the history strip. */
#define LW_REPORT_MAX_HISTORY 65536u /* rows read back; the oldest beyond it are left out */
typedef struct {
    char edge[2 * LW_ANALYZE_NAME_SIZE + 2]; /* "from->to" */
    int64_t as_of_ms;                        /* start of the evaluated bucket */
    char verdict[24];                        /* lw_verdict_name() spelling, or "nodata" */
} lw_report_verdict_t;

/* Everything the renderers read.  Non-owning; all pointers outlive the call. */
typedef struct {
    const lw_analysis_t *analysis;   /* required */
    const lw_analyze_input_t *input; /* required: the series the analysis ran on */
    const char *title;               /* NULL = "Metric tree validation report" */
    int64_t generated_ms;            /* when (injected; printed in UTC) */
    const char *config_path;         /* shown in the metadata; NULL = not shown */
    const char *store_path;
    const char *as_of;                   /* --as-of as given, NULL = latest */
    size_t window;                       /* --window in buckets, 0 = everything in the store */
    size_t provisional;                  /* trailing provisional buckets left out */
    const lw_report_counter_t *counters; /* store counters, any order */
    size_t ncounters;
    const lw_report_prev_t *prev;       /* NULL = no previous report */
    const lw_report_verdict_t *history; /* stored verdicts, oldest first; NULL = none */
    size_t nhistory;
    size_t alert_window; /* analysis.window of the config (what alerting uses), 0 = all */
} lw_report_input_t;

/*
 * Render the page into `out` (appended).  LW_ERR_INVALID when the input is
 * inconsistent (no analysis, an edge column outside the series),
 * LW_ERR_TOO_LARGE / LW_ERR_NOMEM from the buffer; on error `out` is rewound
 * to its length at entry.  Allocates scratch per call; no shared state.
 */
lw_err_t lw_report_html(const lw_report_input_t *r, lw_buf_t *out, char *errstr,
                        size_t errstr_size);

/*
 * The Slack summary in mrkdwn (*bold*, bullets, no tables or headings):
 * the title line, one line per edge (symbol, verdict, sentence), the
 * changes since the previous report; as above.
 */
lw_err_t lw_report_slack(const lw_report_input_t *r, lw_buf_t *out, char *errstr,
                         size_t errstr_size);

/* The Markdown summary (headline, table, changes, data quality, methods); as above. */
lw_err_t lw_report_markdown(const lw_report_input_t *r, lw_buf_t *out, char *errstr,
                            size_t errstr_size);

/*
 * report.json: {"schema": "leadwatch.report/1", "report": {metadata,
 * headline, verdicts, changes, data_quality}, "analysis": <the
 * leadwatch.analysis/1 document of lw_analysis_write_json>[, "experiments":
 * <the `leadwatch experiments --format json` document>]}; "experiments" only
 * when the analysis carries an experiment analysis (issue 16).  As above.
 */
lw_err_t lw_report_json(const lw_report_input_t *r, lw_buf_t *out, char *errstr,
                        size_t errstr_size);

/*
 * The plain-words headline sentence of edge `i` ("Sessions per user leads
 * listening minutes by 3 days; +1% → +0.4%."), without HTML, into buf
 * (truncated to size).  `prev` may be NULL.
 */
void lw_report_sentence(const lw_analysis_t *a, size_t i, const lw_report_prev_t *prev, char *buf,
                        size_t size);

/*
 * The lead of x on y in buckets - the report's one meaning of "lead", in the
 * headline, the tree, the charts and report.json's "lead": the lagged
 * regression's best k >= 1, else the Granger lag order.  "Lag order" (the
 * number of lags of a Granger model) appears only in the statistics.
 */
size_t lw_report_lead_of(const lw_edge_result_t *e);

/*
 * Parse a previous report.json (len bytes).  LW_ERR_INVALID with a message
 * when it is not a leadwatch report (bad JSON, wrong schema, missing
 * verdicts); *out is zeroed first.  Bounded: depth 64, LW_ANALYZE_MAX_EDGES
 * edges (more are ignored).
 */
lw_err_t lw_report_prev_parse(const char *json, size_t len, lw_report_prev_t *out, char *errstr,
                              size_t errstr_size);

/*
 * Read DIR/report.json into *out.  LW_ERR_NOT_FOUND when there is none (the
 * first run), LW_ERR_IO when it cannot be read, LW_ERR_INVALID when it does
 * not parse (the caller then reports "no comparison" and goes on).
 */
lw_err_t lw_report_prev_load(const char *dir, lw_report_prev_t *out, char *errstr,
                             size_t errstr_size);

/*
 * Render and write DIR/report.html, DIR/report.md, DIR/report.slack.txt and
 * DIR/report.json (DIR must exist; report.json last).  Each file is written to a temporary file in
 * DIR, fsynced and renamed over the old one, so a reader (a web server, the next run) sees either
 * the old or the new file, never a partial one.  html_path (optional) receives the path of
 * report.html.  LW_ERR_IO names the file.
 */
lw_err_t lw_report_write_dir(const lw_report_input_t *r, const char *dir, char *html_path,
                             size_t html_path_size, char *errstr, size_t errstr_size);

/* Options of `leadwatch report`. */
typedef struct {
    const char *out_dir; /* required */
    const char *as_of;   /* YYYY-MM-DD (or ISO time): last bucket analysed; NULL = latest */
    size_t window;       /* buckets ending at as_of, 0 = all */
    size_t max_lag;      /* 0 = analysis default */
    int64_t now_ms;      /* generation time (the caller reads the clock) */
} lw_report_run_opts_t;

/*
 * The whole command for a loaded config: open cfg->store.path read-only,
 * load the series in the window, analyse the tree, read the counters, the
 * daemon's stored verdicts in the window (at most LW_REPORT_MAX_HISTORY, the
 * newest) and the previous DIR/report.json, write the four files.  html_path receives the
 * report's path.  Errors: LW_ERR_CONFIG (bad --as-of / --window), LW_ERR_STORE,
 * LW_ERR_NOT_FOUND (no buckets in the window), the analysis' and the
 * writers' errors.
 */
lw_err_t lw_report_run(const lw_config_t *cfg, const lw_report_run_opts_t *o, char *html_path,
                       size_t html_path_size, char *errstr, size_t errstr_size);

#endif
