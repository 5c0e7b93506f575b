/*
 * hac.h - Newey-West heteroskedasticity- and autocorrelation-consistent
 * (HAC) covariance of OLS coefficients, Bartlett kernel.  Pure functions.
 *
 * Matches statsmodels `OLS(y, X).fit(cov_type='HAC', cov_kwds={'maxlags': L})`
 * (statsmodels.stats.sandwich_covariance.cov_hac_simple / S_hac_simple):
 *
 *   g_t   = x_t * u_t                         (score of row t, u = OLS residual)
 *   S     = sum_t g_t g_t' + sum_{j=1..L} w_j sum_{t=j..n-1} (g_t g_{t-j}' + g_{t-j} g_t')
 *   w_j   = 1 - j / (L + 1)                   (Bartlett; Newey & West 1987, eq. 2)
 *   V     = (X'X)^-1 S (X'X)^-1               (sandwich)
 *   V    *= n / (n - k)                       only when use_correction is set
 *
 * Small-sample correction: statsmodels' *function* cov_hac_simple defaults to
 * use_correction=True, but OLS.fit(cov_type='HAC') passes
 * cov_kwds.get('use_correction', False), i.e. the OLS default (what people
 * get from the documented call) is NO correction.  We match that default
 * (use_correction = false) and offer the n/(n-k) factor as an option; the
 * tests check both against statsmodels.  Standard errors are sqrt(diag(V)); as
 * in statsmodels, inference with HAC uses the normal distribution (use_t=False).
 *
 * Default bandwidth (maxlags when the caller has none): floor(4 (n/100)^(2/9)),
 * Newey & West (1994), the same rule as statsmodels' S_hac_simple.
 */
#ifndef LEADWATCH_HAC_H
#define LEADWATCH_HAC_H

#include "leadwatch/core/common.h"

/* floor(4 * (n / 100)^(2/9)); 0 for n == 0. */
size_t lw_hac_default_lags(size_t nobs);

/* Doubles of scratch space lw_hac_cov needs for a k-column design. */
size_t lw_hac_work_size(size_t k);

/*
 * Newey-West covariance of the OLS coefficients.
 *   X        nobs x k design, row-major (row t at X + t*k)
 *   resid    nobs OLS residuals y - X b
 *   xtx_inv  k x k (X'X)^-1, row-major (statsmodels' normalized_cov_params)
 *   maxlags  Bartlett window L (may exceed nobs - 1: lags >= nobs add nothing)
 *   cov_out  k x k result, row-major
 *   work     lw_hac_work_size(k) doubles, contents clobbered
 * Returns LW_ERR_INVALID when nobs <= k (and use_correction is set) or when k
 * or nobs is 0; cov_out is untouched on error.  Does not allocate.
 */
lw_err_t lw_hac_cov(const double *X, const double *resid, size_t nobs, size_t k,
                    const double *xtx_inv, size_t maxlags, bool use_correction, double *cov_out,
                    double *work, char *errstr, size_t errstr_size);

/*
 * Four one-column Newey-West variances side by side (issue 17: analyze.c's
 * lagged regressions, four lags at a time): lane l of the result is, bit for
 * bit, lw_hac_cov(x_l, u_l, nobs, 1, &one, maxlags, false, ...) with
 * one = 1.0, given g4[4 t + l] = x_l[t] * u_l[t] (t < nobs).  Each lane runs
 * the scalar path's single running sum in its order; the four sums are
 * independent chains, so the latency of one add is shared by four.
 */
void lw_hac_one_column4(const double *g4, size_t nobs, size_t maxlags, double out[4]);

#endif
