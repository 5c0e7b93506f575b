/*
 * sensitivity.h - can a short experiment move this input detectably?  The
 * minimum detectable relative change (MDE) of a metric over an H-bucket
 * treatment window, from an autocorrelation-robust variance of its recent
 * history.  Pure: arrays in, result struct out.
 *
 * Design (stated exactly): a pre/post comparison of means.  The treatment
 * window is the next H buckets (default 14); it is compared with a baseline
 * of the B buckets just before it (default B = H, i.e. equal length; set
 * B = the history length for "compare with the whole pre-period").  Under
 * no effect both are stretches of the same stationary process, and the
 * variance of an H-bucket mean of a weakly dependent series is about
 * Omega / H, Omega its long-run variance.  Treating the two windows as
 * independent:
 *     SE   = sqrt(Omega (1/H + 1/B))
 *     MDE  = (z_{1-alpha/2} + z_{power}) SE            (absolute, two-sided)
 *     MDE% = MDE / level,   level = mean of the last B history buckets
 * (standard normal-approximation power formula, e.g. Cohen 1988 ch. 2 /
 * any "sample size for a two-sample z test" derivation).  The input is
 * flagged not sensitive when MDE% > threshold (default 0.10).
 *
 * Omega: Newey & West (1987) Bartlett-kernel long-run variance of the last
 * `history` buckets u_t (demeaned; with `detrend`, the residuals of an OLS
 * fit on [1, t], so a steady growth trend is not counted as noise):
 *     Omega = g_0 + 2 sum_{j=1..L} (1 - j/(L+1)) g_j,
 *     g_j = (1/m) sum_{t=j}^{m-1} u_t u_{t-j}            (divisor m, not m - j)
 * Bandwidth L = floor(4 (m/100)^(2/9)) (Newey & West 1994; hac.h) unless
 * given.  This equals m * se^2 of statsmodels OLS(u, ones).fit(cov_type='HAC',
 * cov_kwds={'maxlags': L}) (no small-sample correction), computed here with
 * hac.c.  z quantiles are exact (gsl_cdf_ugaussian_Pinv).
 */
#ifndef LEADWATCH_SENSITIVITY_H
#define LEADWATCH_SENSITIVITY_H

#include "leadwatch/core/common.h"

#define LW_SENS_REASON_SIZE 160
#define LW_SENS_MAX_NOBS 1000000u
#define LW_SENS_MIN_HISTORY 20u                /* fewest history buckets accepted */
#define LW_SENS_DEFAULT_HISTORY 182u           /* about six months of daily buckets */
#define LW_SENS_DEFAULT_BANDWIDTH ((size_t)-1) /* floor(4 (m/100)^(2/9)) */

typedef struct {
    double alpha;     /* two-sided level, default 0.05 */
    double power;     /* default 0.8 */
    size_t horizon;   /* H, default 14 */
    size_t baseline;  /* B, default 0 = H */
    size_t history;   /* buckets of history used (the most recent), default 182 */
    size_t bandwidth; /* Bartlett L, default LW_SENS_DEFAULT_BANDWIDTH */
    bool detrend;     /* remove an OLS linear trend before Omega, default false */
    double threshold; /* relative MDE above which "not sensitive", default 0.10 */
} lw_sens_opts_t;

typedef struct {
    lw_err_t status;                  /* LW_OK or the returned error */
    char reason[LW_SENS_REASON_SIZE]; /* "" when LW_OK */
    size_t nobs;                      /* m, history buckets used */
    size_t horizon, baseline, bandwidth;
    double level;   /* mean of the last B buckets */
    double mean;    /* mean of the history */
    double lrv;     /* Omega */
    double var;     /* g_0, the plain variance (divisor m), for comparison */
    double se;      /* SE of the difference of the two window means */
    double z_alpha; /* z_{1 - alpha/2} */
    double z_power; /* z_{power} */
    double mde_abs; /* in the metric's units */
    double mde_rel; /* mde_abs / level */
    bool sensitive; /* mde_rel <= threshold */
} lw_sens_t;

/* Fill opts with the defaults above. */
void lw_sens_opts_init(lw_sens_opts_t *opts);

/*
 * MDE of the series x (n buckets, oldest first; the last min(n, history)
 * are used).  Returns LW_OK; LW_ERR_INVALID for bad options, NaN/Inf in the
 * window used or fewer than max(LW_SENS_MIN_HISTORY, B + 2) buckets (the
 * reason states the minimum); LW_ERR_STATS for a constant history (no
 * variance: the MDE is not defined) or a level <= 0 (a relative change is
 * not defined).  res->status/reason mirror the return, numbers 0 on error.
 * Allocates a scratch copy; no shared state.
 */
lw_err_t lw_sensitivity_mde(const double *x, size_t n, const lw_sens_opts_t *opts, lw_sens_t *res,
                            char *errstr, size_t errstr_size);

#endif
