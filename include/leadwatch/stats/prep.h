/*
 * prep.h - preparation of one metric series before the lead tests:
 * transform (none | diff | log_diff | auto), seasonal adjustment, and the
 * missing-value policy.  Pure: arrays in, arrays and a report out.
 *
 * Steps, in this order, on x[0..n) (NAN = missing):
 *   1. Non-finite values (+-Inf) are counted and treated as missing; they
 *      are never used.  Missing values are NEVER filled: they stay NAN all
 *      the way through, and the analysis later uses only rows where every
 *      value it needs is defined (analyze.h states how).
 *   2. Log: for log_diff, and for auto when every defined value is > 0
 *      (then coefficients read directly as elasticities).  log_diff with a
 *      value <= 0 makes the series unusable (reason given); auto with one
 *      stays in levels.
 *   3. Seasonal adjustment with period P (0 = none; 7 = day of week for daily
 *      buckets, 24 = hour of day for hourly, or any N): the mean of each
 *      phase (row index mod P, over defined values) is subtracted and the
 *      grand mean added back, so the level (and elasticities at the mean)
 *      keep their meaning.  This estimates P - 1 extra means that the later
 *      test degrees of freedom do not count (as is usual for pre-adjusted
 *      data); the JSON says so.  Needs >= 2 defined values per phase.
 *   4. ADF (adf.h, constant, lag by AIC, MacKinnon p) on the longest run of
 *      consecutive defined values of the step-3 series; always reported when
 *      that run has >= LW_PREP_ADF_MIN_NOBS points.
 *   5. Difference (diff, log_diff; auto when the ADF p >= adf_alpha, i.e. a
 *      unit root is not rejected, or when ADF could not run):
 *      out[t] = z[t] - z[t-1], out[0] = NAN, NAN where either is missing.
 * Output out[t] stays aligned with row t of the input.
 *
 * Issue-11 steps (off when the new option fields are zero, so the steps
 * above are unchanged for callers that do not set them):
 *   2b. Holidays: rows with holiday[t] != 0 are treated as missing.
 *   3'. With `trend`, step 3 fits the phase means AND a linear trend jointly
 *      (least squares on the defined values, by Frisch-Waugh: the slope of z
 *      on t after both are demeaned per phase) and removes both.
 *   3b. Outliers (outlier_z > 0): d_t = r_t - median(r_{t-3..t+3}) on the
 *      step-3 residual r; a value with |d_t - median d| > outlier_z * 1.4826
 *      MAD(d) is treated as missing, and step 3 is refitted without it.  The
 *      running median makes the rule work for stationary and random-walk
 *      series alike (a spike stands out from its neighbours, a level does not).
 *   3c. Short gaps: a run of at most max_gap missing values with defined
 *      values on both sides is filled by linear interpolation of the step-3
 *      series (counted in n_interpolated); longer gaps stay missing.
 *   4'. With `trend`, the unit-root decision uses ADF with constant and trend
 *      (adf.h LW_ADF_CT) and KPSS 'ct' (kpss.h) as the confirming test:
 *      unit_root = ADF does not reject at adf_alpha (KPSS is reported; it
 *      names the case where the two disagree in `decision`).
 *   5'. With `defer_diff`, step 5 is not applied for auto: the caller decides
 *      for the pair (analyze.c differences both series of an edge when
 *      either has a unit root) and sets `diff` itself.
 */
#ifndef LEADWATCH_PREP_H
#define LEADWATCH_PREP_H

#include "leadwatch/stats/adf.h"
#include "leadwatch/stats/kpss.h"
#include "leadwatch/core/common.h"
#include "leadwatch/model/analyze_opts.h" /* lw_transform_t, LW_PREP_MAX_PERIOD */

#define LW_PREP_ADF_MIN_NOBS 20u
#define LW_PREP_NOTE_SIZE 160

/* "none", "diff", "log_diff", "auto". */
const char *lw_transform_name(lw_transform_t t);
/* Parse one of those names; false otherwise. */
bool lw_transform_parse(const char *s, lw_transform_t *out);

typedef struct {
    lw_transform_t transform;
    size_t season_period; /* 0 = none, else 2..LW_PREP_MAX_PERIOD */
    double adf_alpha;     /* auto differences when ADF p >= this; default 0.05 */
    bool skip_adf;        /* no step 4 (only with transform none/diff/log_diff) */
    /* issue 11 (all off when zero) */
    bool trend;                   /* 3'/4': joint seasonal + linear trend, ADF ct + KPSS ct */
    bool defer_diff;              /* 5': auto leaves the differencing to the caller */
    const unsigned char *holiday; /* [n] non-zero = a special day (missing), or NULL */
    double outlier_z;             /* 3b: robust threshold in MADs, 0 = off */
    size_t max_gap;               /* 3c: longest gap interpolated, 0 = none */
} lw_prep_opts_t;

typedef struct {
    bool usable;                  /* false: `note` says why; out[] is all NAN */
    char note[LW_PREP_NOTE_SIZE]; /* why unusable, or "" */
    lw_transform_t requested;
    bool log;                         /* natural log applied */
    bool diff;                        /* first difference applied */
    size_t season_period;             /* 0 = not adjusted */
    size_t n;                         /* input rows */
    size_t n_missing;                 /* NAN in the input */
    size_t n_nonfinite;               /* +-Inf in the input (also treated as missing) */
    size_t n_nonpositive;             /* defined values <= 0 (matters for log) */
    size_t n_defined_out;             /* defined values in out[] */
    double level_mean;                /* mean of the defined input values (original units) */
    bool adf_run;                     /* ADF computed (see step 4) */
    lw_adf_result_t adf;              /* on the pre-difference series */
    char adf_note[LW_PREP_NOTE_SIZE]; /* why ADF did not run, or "" */
    /* issue 11 */
    bool detrended;     /* a linear trend was removed (3') */
    double trend_slope; /* per row, in the transformed scale */
    bool adf_ct;        /* adf is the constant + trend form */
    bool kpss_run;      /* kpss computed ('ct' with trend, else 'c') */
    lw_kpss_result_t kpss;
    bool unit_root;                   /* 4'/5': the series is treated as I(1) */
    size_t n_holidays;                /* defined values set missing as holidays */
    size_t n_outliers;                /* values set missing by 3b */
    size_t n_interpolated;            /* values filled by 3c */
    char decision[LW_PREP_NOTE_SIZE]; /* the unit-root decision in words */
} lw_prep_info_t;

void lw_prep_opts_default(lw_prep_opts_t *o);

/*
 * Prepare x[0..n) into out[0..n) (may not alias x).  Returns LW_OK whenever
 * the inputs are well-formed, also when the series turns out unusable
 * (info->usable false with a note: all missing, non-positive under log_diff,
 * a seasonal phase without data...).  LW_ERR_INVALID for bad options
 * (period 1 or above the bound, adf_alpha outside (0,1)), LW_ERR_NOMEM.
 */
lw_err_t lw_prep_series(const double *x, size_t n, const lw_prep_opts_t *opts, double *out,
                        lw_prep_info_t *info, char *errstr, size_t errstr_size);

/*
 * Longest run of consecutive rows where every one of the `nseries` arrays
 * (each n long) is finite; ties go to the later run (the most recent data).
 * Sets *start and *len (0 when none).
 */
void lw_prep_longest_run(const double *const *series, size_t nseries, size_t n, size_t *start,
                         size_t *len);

/*
 * Median of v[0..k), 1 <= k <= 7 finite values (outlier step's running
 * window), sorting v in place in stable ascending order; the same bits as a
 * stable sort (glibc qsort) followed by the middle element or the mean of
 * the two middle ones.
 */
double lw_prep_median_small(double *v, size_t k);

#endif
