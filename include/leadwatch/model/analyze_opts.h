/*
 * analyze_opts.h - the options of the lead analysis (analyze.h), in their
 * own model-level header so that config.h can embed them without including
 * the stats layer.  Every field mirrors a CLI flag of `leadwatch analyze`
 * and a key of the config's `analysis:` section.
 *
 * The small enums and constants the options need (lw_transform_t and the
 * largest seasonal period of prep.h, lw_ic_t and the smallest sample of
 * granger.h) are defined here; prep.h and granger.h include this header.
 * Defaults are stated once, as config text in the `analysis:` table of
 * config_opts.c, which lw_analyze_opts_default() applies; bounds are the
 * constants below, used by that table (and so by --describe and the
 * README) and by lw_analyze_opts_check().
 */
#ifndef LEADWATCH_ANALYZE_OPTS_H
#define LEADWATCH_ANALYZE_OPTS_H

#include "leadwatch/core/common.h"

#define LW_ANALYZE_MAX_LAG 60u
#define LW_ANALYZE_MAX_ROWS 1000000u
#define LW_PREP_MAX_PERIOD 400u           /* seasonal period N: 2..this */
#define LW_ANALYZE_ALPHA_MAX 0.5          /* alpha in (0, this] */
#define LW_ANALYZE_HAC_LAGS_MAX 1000      /* hac_lags: 0..this */
#define LW_ANALYZE_MDE_THRESHOLD_MAX 10.0 /* mde_threshold in (0, this] */
#define LW_ANALYZE_MDE_HORIZON_MAX 1000   /* mde_horizon: 1..this */
/* Smallest n accepted by the Granger tests for lags up to max_lag. */
#define LW_GRANGER_MIN_NOBS(max_lag) (3 * (size_t)(max_lag) + 2)

typedef enum {
    LW_TRANSFORM_NONE = 0,
    LW_TRANSFORM_DIFF,
    LW_TRANSFORM_LOG_DIFF,
    LW_TRANSFORM_AUTO
} lw_transform_t;

typedef enum { LW_IC_AIC, LW_IC_BIC } lw_ic_t;
#define LW_ANALYZE_MAX_HOLIDAYS 128u
#define LW_ANALYZE_MAX_CONTROLS 8u
#define LW_ANALYZE_CONTROL_NAME_SIZE 129u
#define LW_ANALYZE_MAX_GAP 60u

typedef enum { LW_SEASONAL_NONE = 0, LW_SEASONAL_WEEKLY, LW_SEASONAL_PERIOD } lw_seasonal_t;

/* Defaults: `leadwatch check-config --describe`; lw_analyze_opts_check enforces the bounds. */
typedef struct {
    size_t max_lag;           /* 1..LW_ANALYZE_MAX_LAG */
    lw_transform_t transform; /* none, diff, log_diff or auto */
    lw_seasonal_t seasonal;   /* none, weekly or a period */
    size_t seasonal_period;   /* LW_SEASONAL_PERIOD: 2..LW_PREP_MAX_PERIOD */
    double alpha;             /* significance for q-values and sub-windows, (0, ALPHA_MAX] */
    size_t window;    /* stability sub-window in buckets, 0 = auto: max(n/4, 5 lag + 20), <= n/2 */
    lw_ic_t ic;       /* own-lag order of the lag search (analyze.h step 2) */
    double adf_alpha; /* auto transform: difference when ADF p >= this, (0, 1) */
    size_t hac_lags;  /* Newey-West bandwidth, 0 = floor(4 (T/100)^(2/9)) */
    double mde_threshold;   /* relative MDE above which an input is "not sensitive" */
    size_t mde_horizon;     /* experiment length in buckets */
    double mde_power;       /* (0, 1) */
    double stable_min_sign; /* share of sub-windows with the full-sample sign, (0.5, 1] */
    /* issue 11: analysis.holidays / --holidays, tree.controls / --controls, analysis.max_gap */
    size_t nholidays;                           /* special days, treated as missing */
    char holidays[LW_ANALYZE_MAX_HOLIDAYS][11]; /* YYYY-MM-DD, matched to the row labels */
    size_t ncontrols;                           /* known drivers (conditional Granger) */
    char controls[LW_ANALYZE_MAX_CONTROLS][LW_ANALYZE_CONTROL_NAME_SIZE]; /* metric names */
    size_t max_gap;     /* longest run of missing buckets interpolated, 0..LW_ANALYZE_MAX_GAP */
    double outlier_mad; /* outliers: |deviation| above this many robust sds, 0 = off */
} lw_analyze_opts_t;

/* The table defaults (config_opts.c). */
void lw_analyze_opts_default(lw_analyze_opts_t *o);
/* LW_ERR_CONFIG with "key: what is wrong" when an option is out of bounds. */
lw_err_t lw_analyze_opts_check(const lw_analyze_opts_t *o, char *errstr, size_t errstr_size);

/* Names for the enum options ("none|weekly|<N>", "aic|bic"); parsers return false on junk. */
bool lw_seasonal_parse(const char *s, lw_seasonal_t *kind, size_t *period);
bool lw_ic_parse(const char *s, lw_ic_t *out);
/*
 * Comma-separated lists into the options (replacing what was there):
 * holidays "YYYY-MM-DD,..." (each a valid calendar date), controls
 * "metric,..." (names checked against the series by lw_analyze_tree).
 * LW_ERR_CONFIG with "holidays: ..." / "controls: ..." on junk or too many.
 */
/* Append one holiday / control (the config's YAML lists); same checks and messages. */
lw_err_t lw_analyze_opts_add_holiday(lw_analyze_opts_t *o, const char *date, char *errstr,
                                     size_t errstr_size);
lw_err_t lw_analyze_opts_add_control(lw_analyze_opts_t *o, const char *name, char *errstr,
                                     size_t errstr_size);
lw_err_t lw_analyze_opts_set_holidays(lw_analyze_opts_t *o, const char *list, char *errstr,
                                      size_t errstr_size);
lw_err_t lw_analyze_opts_set_controls(lw_analyze_opts_t *o, const char *list, char *errstr,
                                      size_t errstr_size);
const char *lw_ic_name(lw_ic_t ic);

#endif
