/*
 * ccf.h - cross-correlation of Box-Jenkins prewhitened series at lags -K..K,
 * with the +-1.96/sqrt(N) band and the best lead k >= 1.  Pure: arrays in,
 * result struct out, no I/O.
 *
 * Steps (Box, Jenkins & Reinsel, "Time Series Analysis", 4th ed., section
 * 12.2.2, prewhitening before identifying a transfer function):
 *   1. AR order: p in 0..max_ar chosen by AIC among OLS fits
 *        x_t = c + phi_1 x_{t-1} + ... + phi_p x_{t-p} + e_t
 *      all on the common rows t = max_ar..n-1, AIC = -2 llf + 2 (p + 1)
 *      with the Gaussian llf of ols.h (ties: the smaller p).  This is
 *      statsmodels.tsa.ar_model.ar_select_order(x, max_ar, ic='aic',
 *      trend='c') (hold-back = max_ar).
 *   2. The chosen AR(p) is refitted by OLS on rows p..n-1 (statsmodels
 *      AutoReg(x, p, trend='c').fit()), giving c, phi.
 *   3. Both series are filtered with phi(B): for t = p..n-1
 *        xw_t = x_t - sum_i phi_i x_{t-i},  yw_t = y_t - sum_i phi_i y_{t-i}
 *      (N = n - p points; the constant is left out since step 4 demeans).
 *   4. Sample cross-correlation, normalised by N and the overall standard
 *      deviations (divisor N), as R's ccf() and statsmodels' ccf(adjusted=False):
 *        r(k) = c(k) / (s_xw s_yw),  c(k) = (1/N) sum_{t} (xw_t - mean)(yw_{t+k} - mean)
 *      summing over the N - |k| pairs that exist.  Sign convention: r(k) for
 *      k > 0 correlates x now with y k periods later, so a peak at k > 0 means
 *      x leads y.  r(k) = R ccf(yw, xw)[lag k] = statsmodels
 *      ccf(yw, xw, adjusted=False)[k] for k >= 0 and ccf(xw, yw,
 *      adjusted=False)[-k] for k < 0.
 *   5. band = 1.96 / sqrt(N) (approximate 95% limits for white noise,
 *      z_0.975 rounded as in R's plot.acf); lead = the k in 1..K with the
 *      largest |r(k)| (ties: smaller k), significant when |r(lead)| > band.
 *
 * Default max_ar (max_ar = LW_CCF_DEFAULT_AR): min(floor(10 log10 n), n / 4,
 * LW_CCF_MAX_AR), R's ar() default order.max capped for short series.
 */
#ifndef LEADWATCH_CCF_H
#define LEADWATCH_CCF_H

#include "leadwatch/core/common.h"

#define LW_CCF_REASON_SIZE 160
#define LW_CCF_MAX_AR 40u
#define LW_CCF_MAX_LAG 400u
#define LW_CCF_MAX_NOBS 1000000u
#define LW_CCF_DEFAULT_AR ((size_t)-1)

typedef struct {
    lw_err_t status;                 /* LW_OK or the returned error */
    char reason[LW_CCF_REASON_SIZE]; /* "" when LW_OK */
    size_t n;                        /* input length */
    size_t max_ar;                   /* AR orders searched: 0..max_ar */
    size_t ar_order;                 /* p */
    double ar_const;                 /* c of the refitted AR(p) */
    double ar_coef[LW_CCF_MAX_AR];   /* phi_1..phi_p (rest 0) */
    double ar_aic;                   /* AIC of the chosen order (common sample) */
    size_t npw;                      /* N = n - p prewhitened points */
    size_t max_lag;                  /* K */
    double band;                     /* 1.96 / sqrt(N) */
    size_t lead;                     /* best k >= 1 by |r(k)| */
    double lead_r;                   /* r(lead) */
    bool lead_significant;           /* |r(lead)| > band */
} lw_ccf_t;

/*
 * Prewhitened CCF of x (input) and y (response), n points each, finite.
 * r receives 2 K + 1 values, r[K + k] = r(k) for k = -K..K (K = max_lag >= 1).
 * Needs n - max_ar >= 2 (max_ar + 1) + 1 for the order search and
 * N >= K + 2.  Returns LW_OK; LW_ERR_INVALID for bad arguments, NaN/Inf or a
 * series too short (the reason states the minimum); LW_ERR_STATS when x or
 * y is constant (or becomes constant after filtering) or the AR fit fails;
 * LW_ERR_NOMEM.  res->status/reason mirror the return, numbers 0 on error.
 * Allocates scratch internally; no shared state.
 */
lw_err_t lw_ccf_prewhitened(const double *x, const double *y, size_t n, size_t max_lag,
                            size_t max_ar, lw_ccf_t *res, double *r, char *errstr,
                            size_t errstr_size);

/* The default AR order bound for n points (see above). */
size_t lw_ccf_default_max_ar(size_t n);

#endif
