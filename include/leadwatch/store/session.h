/*
 * session.h - one analysis session: store or CSV -> series -> the analysis
 * input (the metric tree over the series) -> results.  `analyze`, `report`
 * and the daemon's evaluator (watch.c) all go through it, so the three see
 * the same rows for the same as-of and window.
 *
 * A session is built once from one source and owns everything the results
 * point into (series, labels, names, the analysis):
 *
 *     store + config   lw_session_from_store: lw_series_load over the range,
 *                      the config's tree (names, kinds, NSM, KPI); trailing
 *                      provisional buckets left out and counted.
 *     CSV              lw_session_from_csv: the parsed file (owned from then
 *                      on) and the NSM / KPI / inputs columns by name.
 *
 * The range (lw_session_range_t) is applied the same way to both sources:
 * rows whose bucket (or CSV period label) starts after as_of are dropped,
 * then the window is applied.  A CSV whose labels are not ISO 8601 dates or
 * times cannot be cut at as_of: that is LW_ERR_CONFIG, never silently
 * ignored.  Two window meanings exist today and are kept, named here:
 *
 *     LW_SESSION_LAST_ROWS  the last `window` final rows (`analyze --window`);
 *     LW_SESSION_PERIODS    the `window` bucket periods ending at as_of (or at
 *                           the newest stored bucket), provisional ones among
 *                           them left out (`report --window`, the evaluator).
 *
 * Then lw_session_analyze runs lw_analyze_tree (stats/analyze.h, pure) on the
 * input; the window is echoed in the result (options.window in the JSON).
 *
 * The source builders (lw_session_source_*) are exported too: the tests use
 * them to resolve columns without a session.
 *
 * Ownership: the config passed to lw_session_from_store must outlive the
 * session (names point into it); the store is only read during the call.
 * A session is used by one thread at a time.
 */
#ifndef LEADWATCH_SESSION_H
#define LEADWATCH_SESSION_H

#include "leadwatch/core/common.h"
#include "leadwatch/model/config.h"
#include "leadwatch/stats/analyze.h"
#include "leadwatch/stats/experiment.h"
#include "leadwatch/store/series.h"
#include "leadwatch/store/series_csv.h"
#include "leadwatch/store/store.h"

/* ---------------------------------------------------------------- sources */

/*
 * An analysis input built from one of the two sources, owning the arrays
 * `in` points to (lw_session_source_release frees them).  The source data
 * (CSV or series) must outlive it: values and names are borrowed.
 */
typedef struct {
    lw_analyze_input_t in;
    size_t dropped_provisional; /* trailing provisional buckets left out (store only) */
    /* the arrays behind `in`, one slot per column at most (CSV columns
     * bound LW_SERIES_CSV_MAX_COLS, config metrics fewer) */
    size_t cols_[LW_SERIES_CSV_MAX_COLS];
    const char *names_[LW_SERIES_CSV_MAX_COLS], *kinds_[LW_SERIES_CSV_MAX_COLS];
    char **labels_; /* owned: the bucket labels of a store source */
    size_t nlabels_;
} lw_session_source_t;

/*
 * From a `--series` CSV: the NSM column `nsm`, the optional KPI column `kpi`
 * (NULL = none) and `inputs`, a comma-separated list of columns (NULL or ""
 * = every other column).  LW_ERR_CONFIG names a missing column and lists the
 * ones there are.
 */
lw_err_t lw_session_source_from_csv(lw_session_source_t *src, const lw_series_csv_t *csv,
                                    const char *nsm, const char *kpi, const char *inputs,
                                    char *errstr, size_t errstr_size);

/*
 * From the store's series (series.h) and the config's metric tree.  Trailing
 * provisional buckets are left out (they can still change) and counted;
 * labels are the bucket starts (YYYY-MM-DD, or ISO time for hourly buckets).
 */
lw_err_t lw_session_source_from_series(lw_session_source_t *src, const lw_config_t *cfg,
                                       const lw_series_t *series, char *errstr, size_t errstr_size);

void lw_session_source_release(lw_session_source_t *src);

/* ---------------------------------------------------------------- sessions */

typedef struct lw_session lw_session_t;

typedef enum {
    LW_SESSION_LAST_ROWS = 0, /* the last `window` final rows at or before as_of */
    LW_SESSION_PERIODS        /* the `window` bucket periods ending at as_of */
} lw_session_window_t;

/* Which rows to analyse.  lw_session_range_all() gives every row. */
typedef struct {
    int64_t as_of_ms; /* drop rows starting after it; INT64_MAX = keep all */
    size_t window;    /* buckets, 0 = all; at most LW_SERIES_MAX_ROWS */
    lw_session_window_t kind;
    bool tree_only; /* store sessions: load only the series the tree's analysis reads (NSM,
                       KPI, inputs, analysis.controls and the parts of those that are ratios);
                       the other columns are NAN.  The gaps are the same (every metric's
                       cells still count as data), so is the analysis; a windowed distinct
                       metric no edge uses costs no sketch merge (the daemon's evaluations) */
} lw_session_range_t;

static inline lw_session_range_t lw_session_range_all(void)
{
    return (lw_session_range_t){.as_of_ms = INT64_MAX, .window = 0, .kind = LW_SESSION_LAST_ROWS};
}

/*
 * Load the config's series from `store` over `range` and build the tree's
 * input.  On LW_OK *out is a new session (lw_session_destroy); it may have
 * zero rows (an empty store or window).  Errors, with *out NULL: the store's
 * (LW_ERR_STORE ...), LW_ERR_NOT_FOUND when a PERIODS window has no as_of
 * and the store holds no buckets, LW_ERR_CONFIG for a window above
 * LW_SERIES_MAX_ROWS, LW_ERR_NOMEM.
 */
lw_err_t lw_session_from_store(const lw_config_t *cfg, lw_store_t *store,
                               const lw_session_range_t *range, lw_session_t **out, char *errstr,
                               size_t errstr_size);

/*
 * Take `*csv` (always: on success and on error; the caller's copy is zeroed)
 * and build the input from its columns (see lw_session_source_from_csv).
 * LW_ERR_CONFIG for a missing column, or for an as_of when the period labels
 * are not ISO 8601 dates or times; LW_ERR_NOMEM.
 */
lw_err_t lw_session_from_csv(lw_series_csv_t *csv, const char *nsm, const char *kpi,
                             const char *inputs, const lw_session_range_t *range,
                             lw_session_t **out, char *errstr, size_t errstr_size);

void lw_session_destroy(lw_session_t *s);

/*
 * Move the store session *sp to `range` (the daemon's evaluator, one
 * bucket close after another): when *sp is a PERIODS session of the same
 * window and tree_only and range->as_of is at or after its own, only the
 * buckets after its last row are read from the store (one range read of
 * those buckets), appended, and the rows older than the window dropped
 * (amortised O(columns) per bucket: the rows live in twice the window and
 * move back once per window); *advanced = true.  The rows are then exactly
 * those a fresh lw_session_from_store(range) would hold, bit for bit
 * (test_session): the same reader computes each row, closed buckets do not
 * change, and a window still filling checks that the store's oldest bucket
 * did not move back.  Otherwise (no session, another range, no rows, a
 * provisional bucket among the new ones) *sp is replaced by a fresh session
 * (*advanced = false).  The previous analysis is freed either way.  On an
 * error *sp is unchanged or already advanced, never half-way: it stays a
 * valid session to destroy or advance again.  *sp may be NULL.
 */
lw_err_t lw_session_advance(lw_session_t **sp, const lw_config_t *cfg, lw_store_t *store,
                            const lw_session_range_t *range, bool *advanced, char *errstr,
                            size_t errstr_size);

/*
 * Analyse the input with `opts` (lw_analyze_tree).  On LW_OK *out is the
 * result, owned by the session (valid until the next call or destroy).
 * Errors are lw_analyze_tree's, with *out NULL.
 */
lw_err_t lw_session_analyze(lw_session_t *s, const lw_analyze_opts_t *opts,
                            const lw_analysis_t **out, char *errstr, size_t errstr_size);

/*
 * Issue 16: what the team's past A/B tests say about the tree's edges.  When
 * cfg has an `experiments:` section and the store holds experiment
 * aggregates (store/exp_rows.h's lw_exp_load), run lw_exp_analyze once with
 * `opts` (NULL = lw_exp_opts_init) over every stored experiment (the
 * aggregates are per experiment, not per bucket: --as-of and the window do
 * not cut them) and keep it; every later lw_session_analyze result points
 * to it (lw_analysis_t.experiments).  Without the section or without
 * experiment rows nothing is kept and LW_OK is returned: the analysis is
 * then exactly what it was before.  cfg must outlive the session (the role
 * names point into it).  Errors: the store's, lw_exp_analyze's, LW_ERR_NOMEM.
 */
lw_err_t lw_session_load_experiments(lw_session_t *s, const lw_config_t *cfg, lw_store_t *store,
                                     const lw_exp_opts *opts, char *errstr, size_t errstr_size);

/* The experiment analysis lw_session_load_experiments kept, or NULL. */
const lw_exp_analysis *lw_session_experiments(const lw_session_t *s);

/* The analysis input (the rows in the range, the tree's columns); owned by the session. */
const lw_analyze_input_t *lw_session_input(const lw_session_t *s);

/* The series as loaded from the store, provisional rows included; NULL for a CSV session. */
const lw_series_t *lw_session_series(const lw_session_t *s);

/* Trailing provisional buckets left out of the input (0 for a CSV session). */
size_t lw_session_provisional(const lw_session_t *s);

#endif
