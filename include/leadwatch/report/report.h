/*
 * report.h - the nightly validation report: one analysis of the metric tree
 * (analyze.h) rendered as a self-contained HTML page with inline SVG charts
 * (svg.h), a Markdown summary for Slack or a wiki, and JSON (the analysis
 * JSON of analysis_out.h wrapped with the report's metadata).
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
 * What the HTML shows, in order: a headline (one plain-words sentence per
 * edge: verdict, lead and strength), the metric tree diagram, the NSM and
 * inputs over time (z-scores; each input also shifted by its lead), per
 * edge the cross-correlation bars with their band, Granger p by lag in both
 * directions on a log axis with the alpha line, the rolling-window p
 * history with the break period, out-of-sample skill and the MDE against
 * the threshold; then changes since the previous report, data-quality notes
 * and a methods footnote.  Every chart carries class "lw-chart" and a
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
    const lw_report_prev_t *prev; /* NULL = no previous report */
} lw_report_input_t;

/*
 * Render the page into `out` (appended).  LW_ERR_INVALID when the input is
 * inconsistent (no analysis, an edge column outside the series),
 * LW_ERR_TOO_LARGE / LW_ERR_NOMEM from the buffer; on error `out` is rewound
 * to its length at entry.  Allocates scratch per call; no shared state.
 */
lw_err_t lw_report_html(const lw_report_input_t *r, lw_buf_t *out, char *errstr,
                        size_t errstr_size);

/* The Markdown summary (headline, table, changes, data quality, methods); as above. */
lw_err_t lw_report_markdown(const lw_report_input_t *r, lw_buf_t *out, char *errstr,
                            size_t errstr_size);

/*
 * report.json: {"schema": "leadwatch.report/1", "report": {metadata,
 * headline, verdicts, changes, data_quality}, "analysis": <the
 * leadwatch.analysis/1 document of lw_analysis_write_json>}.  As above.
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
 * Render and write DIR/report.html, DIR/report.md, DIR/report.json (DIR
 * must exist).  Each file is written to a temporary file in DIR, fsynced
 * and renamed over the old one, so a reader (a web server, the next run)
 * sees either the old or the new file, never a partial one.  html_path
 * (optional) receives the path of report.html.  LW_ERR_IO names the file.
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
 * load the series in the window, analyse the tree, read the counters and the
 * previous DIR/report.json, write the three files.  html_path receives the
 * report's path.  Errors: LW_ERR_CONFIG (bad --as-of / --window), LW_ERR_STORE,
 * LW_ERR_NOT_FOUND (no buckets in the window), the analysis' and the
 * writers' errors.
 */
lw_err_t lw_report_run(const lw_config_t *cfg, const lw_report_run_opts_t *o, char *html_path,
                       size_t html_path_size, char *errstr, size_t errstr_size);

#endif
