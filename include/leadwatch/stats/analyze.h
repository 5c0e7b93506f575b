/*
 * analyze.h - the analysis bundle for one metric tree: for every edge (each
 * input -> NSM, and NSM -> KPI) prepare both series, test Granger causality
 * both ways over lags 1..max_lag, search the lag by single-lag tests (Simes), fit the lagged
 * regressions with Newey-West errors, correct for multiple testing (BH),
 * check stability, out-of-sample skill and sensitivity, and reach a verdict
 * with reasons.  Pure: series in (lw_analyze_input_t), results out
 * (lw_analysis_t); the writers are in analysis_out.h.
 *
 * Per edge x -> y, in order (src/analyze.c explains each step; issue 11):
 *   1. Preparation per column (prep.h: log when positive, seasonal means with
 *      the bucket's period - 7 daily, 168 hourly with >= 3 weeks - and a
 *      linear trend, holidays and robust outliers set missing, gaps of up to
 *      max_gap interpolated, ADF ct + KPSS ct), then per EDGE: with transform
 *      auto both series (and the controls) are differenced when any has a
 *      unit root, else all stay detrended levels (prep_note says which and
 *      why).  The tests use every row whose needed lags are defined (a long
 *      gap costs only the rows that reach into it).  Too few such rows, or a
 *      constant series, gives insufficient_data.
 *   2. Granger x -> y and y -> x for lags 1..max_lag, controls (lags 0..p)
 *      in both models (the per-lag scan).  The primary test of each
 *      direction is a lag search on ONE common sample (rows whose lags up to
 *      max_lag are defined): y's own order q by AIC/BIC of its
 *      autoregressions (x plays no part), then for every k = 1..max_lag the
 *      F(1, .) test of x_{t-k} alone added to y's q own lags (and the
 *      controls' lags 0..q); the direction's p is the Simes combination of
 *      those max_lag p-values and its lag the k with the smallest p (issue 11,
 *      session 6).  The checks below run at that lag.
 *   3. Lagged regressions y_t = a + b_k x_{t-k} + e, k = 0..max_lag, all on the
 *      same rows t = max_lag..n-1, HAC (Newey-West, Bartlett) standard errors,
 *      normal p-values; the lead is the k >= 1 with the largest R^2.  Also
 *      the cross-correlation of the prewhitened series (ccf.h) with its
 *      +-1.96/sqrt(N) band and its own lead.  The
 *      elasticity comes from the distributed-lag regression
 *      y_t = a + sum_{k=1..P} b_k x_{t-k} + e with P = max(lag, lead):
 *      sum b_k, scaled at the means when a side is not in logs.
 *   4. BH q-values (multitest.h) over the family of all edges' primary tests
 *      in both directions (2 per analysable edge), and per edge across the
 *      lags of each scan.  Verdicts use q, never raw p.
 *   5. Stability, BOTH directions: the primary test on rolling sub-windows
 *      (sign consistency of the summed x-lag coefficients); the HC sup-Wald
 *      break test (breaks.h) on x's coefficients at the chosen lag, and when
 *      it finds a break the chosen-lag test before and after it.
 *   6. Out-of-sample skill, BOTH directions: rolling-origin one-step
 *      forecasts with and without the other series' lags, Clark-West.
 *   7. Sensitivity: the minimum detectable relative change of `from` over
 *      mde_horizon buckets (sensitivity.h) on its seasonally adjusted levels.
 *   8. Verdict: a direction holds when significant after BH AND stable AND
 *      with out-of-sample skill; both hold = feedback, x -> y = leads, y -> x
 *      = reverse, else inconclusive.  Before that, a break with x -> y
 *      significant before it and not after it is no_longer_leads (since, old
 *      lag).  Every verdict carries its reasons.
 *
 * A step that cannot run for an edge has status LW_STEP_SKIPPED with a note
 * and produces no numbers (the writers print null).
 */
#ifndef LEADWATCH_ANALYZE_H
#define LEADWATCH_ANALYZE_H

#include "leadwatch/model/analyze_opts.h"
#include "leadwatch/stats/breaks.h"
#include "leadwatch/stats/ccf.h"
#include "leadwatch/core/common.h"
#include "leadwatch/stats/forecast.h"
#include "leadwatch/stats/granger.h"
#include "leadwatch/stats/prep.h"
#include "leadwatch/stats/sensitivity.h"

#define LW_ANALYZE_MAX_SERIES 256u
#define LW_ANALYZE_MAX_EDGES 16u
#define LW_ANALYZE_MAX_REASONS 12u
#define LW_ANALYZE_REASON_SIZE 240u
#define LW_ANALYZE_NAME_SIZE 129u
#define LW_ANALYZE_LABEL_SIZE 129u
#define LW_ANALYZE_NOTE_SIZE 200u

/* The series and the tree.  Non-owning: every pointer must outlive lw_analyze_tree. */
typedef struct {
    size_t nrows;
    size_t nseries;
    const char *const *names;       /* [nseries] metric names */
    const double *values;           /* [nrows * nseries] row-major, NAN = missing */
    const char *const *labels;      /* [nrows] period labels, or NULL (row numbers are used) */
    int64_t bucket_ms;              /* bucket size, 0 = unknown (weekly then means period 7) */
    size_t nsm;                     /* column of the NSM */
    long kpi;                       /* column of the KPI, -1 = none */
    size_t ninputs;                 /* 0..LW_ANALYZE_MAX_EDGES-1 */
    const size_t *inputs;           /* [ninputs] columns */
    const char *const *input_kinds; /* [ninputs] "breadth", ... or NULL */
    size_t window;                  /* the caller's window in buckets (the rows are its last
                                       ones), 0 = all; only echoed in the result */
} lw_analyze_input_t;

/* The series come from store/session.h (store or CSV); this module does no I/O. */

typedef enum {
    LW_VERDICT_LEADS = 0,
    LW_VERDICT_REVERSE,
    LW_VERDICT_FEEDBACK,
    LW_VERDICT_INCONCLUSIVE,
    LW_VERDICT_NO_LONGER_LEADS, /* led before a break (since, old lag), not after */
    LW_VERDICT_INSUFFICIENT_DATA
} lw_verdict_t;

/* "leads", "reverse", "feedback", "inconclusive", "no_longer_leads", "insufficient_data". */
const char *lw_verdict_name(lw_verdict_t v);

typedef enum {
    LW_STEP_OK = 0,     /* ran; numbers valid */
    LW_STEP_SKIPPED,    /* not run for this edge (too little data, earlier step failed); note */
    LW_STEP_UNAVAILABLE /* not implemented in this build; note names the module */
} lw_step_t;

const char *lw_step_name(lw_step_t s);

/* One lagged regression y_t = a + b x_{t-k}. */
typedef struct {
    size_t k;
    bool ok; /* false: the fit failed (numbers 0, print null) */
    size_t nobs;
    double coef, se_hac, t, p, r2;
} lw_lagreg_t;

typedef struct {
    char from[LW_ANALYZE_NAME_SIZE];
    char to[LW_ANALYZE_NAME_SIZE];
    const char *role; /* "input" or "kpi" */
    char kind[32];    /* the input kind, "nsm" for the KPI edge, "" unknown */
    size_t from_col, to_col;

    lw_verdict_t verdict;
    size_t nreasons;
    char reasons[LW_ANALYZE_MAX_REASONS][LW_ANALYZE_REASON_SIZE];

    /* data */
    lw_prep_info_t prep_from, prep_to;
    size_t rows_total;      /* rows in the input */
    size_t row_first;       /* first row used (index into the input) */
    size_t rows_used;       /* length of the run used */
    size_t rows_incomplete; /* rows where x or y (prepared) is undefined */
    size_t min_nobs;        /* rows the lag structure needs: 3 max_lag + 2 */
    bool analysed;          /* steps 2.. ran (false = insufficient_data before them) */

    /* Granger (records [0..max_lag), lag p at index p-1; valid when analysed) */
    size_t max_lag;
    lw_granger_lag_t *granger, *granger_reverse;
    double *q_lags, *q_lags_reverse; /* BH across the lags of each scan */
    bool *q_lags_defined, *q_lags_reverse_defined;
    size_t lag, lag_reverse;           /* chosen lags, 0 = none feasible */
    double p, q, p_reverse, q_reverse; /* p: Simes p of the lag search (step 2) */
    bool q_defined, q_reverse_defined;
    double effect_sum; /* sum of x-lag coefficients, unrestricted model at `lag` */
    bool effect_sum_defined;

    /* lagged regression */
    lw_step_t lagreg_status;
    char lagreg_note[LW_ANALYZE_NOTE_SIZE];
    lw_lagreg_t *lagreg; /* [max_lag + 1], k = index */
    size_t lead;         /* best k >= 1, 0 = none */
    size_t dl_lags;      /* P of the distributed-lag model */
    size_t dl_nobs;
    double dl_sum, dl_sum_se_hac, dl_sum_p; /* sum of b_1..b_P with its HAC se */
    double elasticity, elasticity_se;
    bool elasticity_defined;
    const char *elasticity_basis; /* "log-log", "at the means", ... */
    size_t hac_lags;

    /* prewhitened cross-correlation */
    lw_step_t ccf_status;
    char ccf_note[LW_ANALYZE_NOTE_SIZE];
    lw_ccf_t ccf;  /* prewhitened CCF summary (ccf.h) */
    double *ccf_r; /* [2 max_lag + 1], ccf_r[max_lag + k] = r(k) */

    /* stability */
    lw_step_t stab_status;
    char stab_note[LW_ANALYZE_NOTE_SIZE];
    size_t stab_window, stab_step, stab_nwindows, stab_nsig, stab_nsame_sign;
    double stab_frac_sig, stab_sign_consistency;
    bool stable;
    lw_step_t break_status;
    char break_note[LW_ANALYZE_NOTE_SIZE];
    size_t break_lags;    /* y and x lags of the tested model: min(lag, 4), so k <= 9 */
    lw_breaks_supf_t brk; /* sup-F result (rows relative to the run) */
    bool break_found;     /* p defined and < alpha */
    size_t break_row;     /* input row of the first period of the new regime */

    /* out-of-sample skill */
    lw_step_t oos_status;
    char oos_note[LW_ANALYZE_NOTE_SIZE];
    lw_forecast_t oos; /* lags = min(lag, LW_FORECAST_MAX_LAGS) both; default first window */
    bool oos_skill;    /* Clark-West one-sided p < alpha */

    /* sensitivity */
    lw_step_t sens_status;
    char sens_note[LW_ANALYZE_NOTE_SIZE];
    lw_sens_t sens; /* MDE of `from` in original units, seasonally adjusted levels */

    /* issue 11: joint preparation, all-row regressions, both-way gates, regime */
    bool differenced;                       /* both series (and controls) differenced */
    char prep_note[LW_ANALYZE_REASON_SIZE]; /* what was done to the pair and why */
    size_t row_last;                        /* last row with both series defined */
    size_t rows_complete;                   /* rows in [row_first, row_last] with both */
    size_t rows_tested;                     /* rows of the chosen-lag test */
    size_t ncontrols;                       /* control columns in both models */
    size_t control_cols[LW_ANALYZE_MAX_CONTROLS];
    double *ic_common, *ic_common_reverse;    /* [max_lag] AIC/BIC of the regressand's own
                                                 autoregressions of order 1..max_lag, common sample */
    size_t own_lag, own_lag_reverse;          /* the order chosen from them (q of the lag search) */
    double lag_p[LW_ANALYZE_MAX_LAG];         /* p of the single-lag test of x_{t-k}, [k - 1] */
    double lag_p_reverse[LW_ANALYZE_MAX_LAG]; /* the same for y -> x; 1 where infeasible */
    bool stable_reverse, oos_skill_reverse;   /* the same gates for y -> x */
    lw_step_t stab_rev_status, oos_rev_status;
    double stab_sign_consistency_reverse;
    lw_forecast_t oos_reverse;
    lw_breaks_supwald_hc_t brk_hc; /* the HC sup-Wald test behind brk */
    bool regime_tested;            /* pre/post-break tests ran */
    double p_before, p_after;      /* chosen-lag F test p before / after the break */
    size_t rows_after;
    bool no_longer;   /* verdict no_longer_leads */
    size_t since_row; /* = break_row when no_longer */
    size_t old_lag;   /* = lag when no_longer */
} lw_edge_result_t;

typedef struct {
    lw_analyze_opts_t opts;
    size_t window; /* the input's window (options.window), 0 = all */
    size_t nrows;
    int64_t bucket_ms;
    size_t season_period; /* resolved */
    char season_note[LW_ANALYZE_NOTE_SIZE];
    char first_label[LW_ANALYZE_LABEL_SIZE], last_label[LW_ANALYZE_LABEL_SIZE];
    const char *const *labels; /* the input's labels (borrowed; NULL = row numbers) */
    size_t bh_family;          /* number of p-values in the cross-edge BH family */
    size_t holiday_rows;       /* rows matched by opts.holidays */
    char holiday_note[LW_ANALYZE_NOTE_SIZE];
    size_t nedges;
    lw_edge_result_t *edges;
    /* What the team's past A/B tests say about the edges (stats/experiment.h,
     * issue 16): borrowed, NULL unless the session that ran the analysis found
     * experiment aggregates in the store and the config has `experiments:`
     * (lw_session_load_experiments); lw_analyze_tree leaves it NULL.  The
     * writers match its edges to these by metric names (lw_exp_analysis_edge). */
    const struct lw_exp_analysis *experiments;
} lw_analysis_t;

/*
 * Run the whole analysis.  On LW_OK *out owns a new result (lw_analysis_free);
 * degenerate data is NOT an error: such edges get insufficient_data with a
 * reason.  Errors (with *out NULL): LW_ERR_CONFIG for bad options,
 * LW_ERR_INVALID for an inconsistent input (column out of range, no edges,
 * too many), LW_ERR_NOMEM.  `labels` of the input are borrowed by the result
 * for the writers: keep them alive while the result is used.  Single-threaded;
 * allocates its workspaces per call.
 */
lw_err_t lw_analyze_tree(const lw_analyze_opts_t *opts, const lw_analyze_input_t *in,
                         lw_analysis_t **out, char *errstr, size_t errstr_size);

void lw_analysis_free(lw_analysis_t *a);

/* Label of row `row` (the input's label or "row N") into buf. */
void lw_analysis_row_label(const lw_analysis_t *a, size_t row, char *buf, size_t size);

/*
 * The Granger F test at one lag p by normal equations, as the stability
 * windows compute it (src/analyze.c, granger_lag_ne, falling back to
 * granger.c when the normal equations are not trustworthy): *F and *p with
 * df (p, n - 3p - 1), and *effect_sum, the sum of the x-lag coefficients of
 * the unrestricted model.  Exposed so the tests can hold it to
 * lw_granger_scan.  LW_ERR_INVALID when n < 3p + 2, LW_ERR_STATS when the
 * test is infeasible, LW_ERR_NOMEM.
 */
lw_err_t lw_analyze_lag_test(const double *x, const double *y, size_t n, size_t p, double *F,
                             double *pvalue, double *effect_sum, char *errstr, size_t errstr_size);

/* The lag search of one direction (step 2), as lw_analyze_tree runs it. */
typedef struct {
    size_t lag;                       /* argmin of lag_p (ties to the smaller k), 0 = none */
    size_t own_lag;                   /* q: y's own order by the criterion, 0 = infeasible */
    size_t nobs;                      /* rows of the common sample */
    double p;                         /* Simes p = min_k K p_(k) / k (1 when lag = 0) */
    double lag_p[LW_ANALYZE_MAX_LAG]; /* [k - 1]: p of x_{t-k} added to q own lags */
    double ic[LW_ANALYZE_MAX_LAG];    /* [q - 1]: AIC/BIC of the order-q autoregression, NAN
                                         where skipped */
} lw_lag_search_t;

/*
 * The lag search x -> y with max lag K and criterion ic on x[0..n), y[0..n)
 * (NAN = undefined; no controls): the static lag_search of analyze.c, which
 * lw_analyze_tree runs on the prepared series.  Exposed so the tests can hold
 * it to statsmodels (scripts/gen_lagsearch_refs.py).  LW_ERR_INVALID for K
 * outside 1..LW_ANALYZE_MAX_LAG or n out of range, LW_ERR_STATS when no lag is
 * feasible (*out still filled), LW_ERR_NOMEM.
 */
lw_err_t lw_analyze_lag_search(const double *x, const double *y, size_t n, size_t K, lw_ic_t ic,
                               lw_lag_search_t *out, char *errstr, size_t errstr_size);

/*
 * The analysis' own pieces, shared by the files that implement this header
 * (analyze.c computes the evidence, analyze_verdict.c turns it into words
 * and verdicts, analyze_input.c reads the input); the tests call them too.
 */

/* Append a reason to e (dropped past LW_ANALYZE_MAX_REASONS); a note into an LW_ANALYZE_NOTE_SIZE
 * buffer. */
void lw_analyze_reason(lw_edge_result_t *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void lw_analyze_note(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Step 8: the verdict of an edge (and the descriptive reasons) from its evidence. */
void lw_analyze_decide(const lw_analysis_t *a, lw_edge_result_t *e);

/* LW_ERR_INVALID / LW_ERR_TOO_LARGE when the input's shape or columns are out of bounds. */
lw_err_t lw_analyze_check_input(const lw_analyze_input_t *in, char *errstr, size_t errstr_size);
/* The seasonal period for the options and the bucket size into a->season_period / season_note. */
lw_err_t lw_analyze_resolve_season(const lw_analyze_opts_t *o, const lw_analyze_input_t *in,
                                   lw_analysis_t *a, char *errstr, size_t errstr_size);
/* The control columns named by o->controls; LW_ERR_CONFIG for an unknown name, the NSM or the KPI.
 */
lw_err_t lw_analyze_resolve_controls(const lw_analyze_opts_t *o, const lw_analyze_input_t *in,
                                     size_t *cols, size_t *ncols, char *errstr, size_t errstr_size);
/*
 * Rows whose label starts with a holiday (a calloc'ed mask of in->nrows, the
 * caller frees it), NULL when there are no holidays or on allocation failure
 * (the caller checks o->nholidays); a->holiday_rows and holiday_note are set.
 */
unsigned char *lw_analyze_holiday_mask(const lw_analyze_opts_t *o, const lw_analyze_input_t *in,
                                       lw_analysis_t *a);

#endif
