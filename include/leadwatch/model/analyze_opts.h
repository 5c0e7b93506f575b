/*
 * analyze_opts.h - the options of the lead analysis (analyze.h), in their
 * own header so that config.h can embed them without an include cycle
 * (analyze.h -> series.h -> config.h).  Every field mirrors a CLI flag of
 * `leadwatch analyze` and a key of the config's `analysis:` section.
 */
#ifndef LEADWATCH_ANALYZE_OPTS_H
#define LEADWATCH_ANALYZE_OPTS_H

#include "leadwatch/core/common.h"
#include "leadwatch/stats/granger.h"
#include "leadwatch/stats/prep.h"

#define LW_ANALYZE_MAX_LAG 60u
#define LW_ANALYZE_MAX_ROWS 1000000u
#define LW_ANALYZE_MAX_HOLIDAYS 128u
#define LW_ANALYZE_MAX_CONTROLS 8u
#define LW_ANALYZE_CONTROL_NAME_SIZE 129u
#define LW_ANALYZE_MAX_GAP 60u

typedef enum { LW_SEASONAL_NONE = 0, LW_SEASONAL_WEEKLY, LW_SEASONAL_PERIOD } lw_seasonal_t;

/* Defaults as commented; lw_analyze_opts_check enforces the bounds. */
typedef struct {
    size_t max_lag;           /* 1..LW_ANALYZE_MAX_LAG, default 14 */
    lw_transform_t transform; /* default auto */
    lw_seasonal_t seasonal;   /* default weekly */
    size_t seasonal_period;   /* LW_SEASONAL_PERIOD: 2..LW_PREP_MAX_PERIOD */
    double alpha;           /* significance for q-values and sub-windows, (0, 0.5], default 0.05 */
    size_t window;          /* stability sub-window in buckets, 0 = auto: max(n/4, 5 lag + 20) */
    lw_ic_t ic;             /* lag choice, default AIC */
    double adf_alpha;       /* auto transform: difference when ADF p >= this, default 0.05 */
    size_t hac_lags;        /* Newey-West bandwidth, 0 = floor(4 (T/100)^(2/9)) */
    double mde_threshold;   /* relative MDE above which an input is "not sensitive", 0.10 */
    size_t mde_horizon;     /* experiment length in buckets, default 14 */
    double mde_power;       /* default 0.8 (at alpha 0.05) */
    double stable_min_sign; /* share of sub-windows with the full-sample sign, default 0.8 */
    /* issue 11 (CLI --holidays, --controls, --max-gap; config keys to come) */
    size_t nholidays;                              /* special days, treated as missing */
    char holidays[LW_ANALYZE_MAX_HOLIDAYS][11];    /* YYYY-MM-DD, matched to the row labels */
    size_t ncontrols;                              /* known drivers (conditional Granger) */
    char controls[LW_ANALYZE_MAX_CONTROLS][LW_ANALYZE_CONTROL_NAME_SIZE]; /* metric names */
    size_t max_gap;     /* longest run of missing buckets interpolated, 0..60, default 3 */
    double outlier_mad; /* outliers: |deviation| above this many robust sds, 0 = off, 5 */
} lw_analyze_opts_t;

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
lw_err_t lw_analyze_opts_set_holidays(lw_analyze_opts_t *o, const char *list, char *errstr,
                                      size_t errstr_size);
lw_err_t lw_analyze_opts_set_controls(lw_analyze_opts_t *o, const char *list, char *errstr,
                                      size_t errstr_size);
const char *lw_ic_name(lw_ic_t ic);

#endif
