/*
 * granger.h - Granger non-causality tests for one ordered pair of series, for
 * every lag 1..max_lag, on a reusable workspace.  Pure: arrays in, results out.
 *
 * Definitions are those of statsmodels.tsa.stattools.grangercausalitytests
 * (x = column 2, y = column 1; "does x Granger-cause y?"), which R's
 * lmtest::grangertest matches for the F test.  For lag p on series of length n:
 *   rows      t = p .. n-1   (lagmat2ds(trim='both') drops the first p rows)
 *   nobs      m = n - p
 *   restricted    y_t ~ const + y_{t-1} .. y_{t-p}                   (p + 1 params)
 *   unrestricted  y_t ~ const + y_{t-1} .. y_{t-p} + x_{t-1} .. x_{t-p} (k = 2p + 1)
 *   ssr F     F = ((ssr_r - ssr_u) / ssr_u) / p * df_resid_u,  df = (p, m - 2p - 1)
 *   ssr chi2  chi2 = m (ssr_r - ssr_u) / ssr_u,                 df = p
 *   LR        lr = -2 (llf_r - llf_u),                          df = p
 *   AIC, BIC  of the unrestricted model: -2 llf_u + 2k, -2 llf_u + k ln m
 * with llf the Gaussian OLS log-likelihood (ols.h).  p-values are upper tails
 * (gsl_cdf_fdist_Q, gsl_cdf_chisq_Q).
 *
 * Minimum length: n >= 3 max_lag + 2 (statsmodels refuses n <= 3 maxlag + 1;
 * it leaves df_resid_u >= 1 at the largest lag).
 *
 * A lag can be infeasible where statsmodels raises InfeasibleTestError: a lag
 * column constant over the rows used, a (numerically) singular design, or a
 * perfect fit (ssr_u / tss < DBL_EPSILON).  That lag gets status LW_ERR_STATS
 * and a reason; its numbers are 0 and must not be reported.
 *
 * Note on lag selection: as in statsmodels, each lag is fitted on its own
 * rows (n - p of them), so AIC/BIC across lags compare slightly different
 * samples; lw_granger_select_lag picks the minimum regardless, as asked.
 * lw_granger_select_common compares all lags on one common sample instead,
 * and lw_granger_ty runs the (Toda-Yamamoto) test at a chosen lag.
 */
#ifndef LEADWATCH_GRANGER_H
#define LEADWATCH_GRANGER_H

#include "leadwatch/core/common.h"
#include "leadwatch/model/analyze_opts.h" /* lw_ic_t, LW_GRANGER_MIN_NOBS */

#define LW_GRANGER_MAX_LAG 200u
#define LW_GRANGER_MAX_NOBS 1000000u
#define LW_GRANGER_REASON_SIZE 128

typedef struct lw_granger lw_granger_t;

typedef struct {
    size_t lag;
    lw_err_t status;                     /* LW_OK, or LW_ERR_STATS when this lag is infeasible */
    char reason[LW_GRANGER_REASON_SIZE]; /* "" when status == LW_OK */
    size_t nobs;                         /* n - lag */
    double f, f_p, df_num, df_denom;     /* ssr_ftest */
    double chi2, chi2_p, chi2_df;        /* ssr_chi2test */
    double lr, lr_p;                     /* lrtest, df = lag */
    double ssr_r, ssr_u, llf_r, llf_u;
    double aic, bic; /* unrestricted model */
} lw_granger_lag_t;

/* Smallest n accepted for lags up to max_lag: LW_GRANGER_MIN_NOBS (3 max_lag + 2). */
size_t lw_granger_min_nobs(size_t max_lag);

/*
 * Workspace for series of up to max_nobs points and lags up to max_lag.  On
 * error *out is NULL.  Free with lw_granger_destroy.
 */
lw_err_t lw_granger_new(size_t max_nobs, size_t max_lag, lw_granger_t **out, char *errstr,
                        size_t errstr_size);
void lw_granger_destroy(lw_granger_t *g);

/*
 * Test x -> y for every lag 1..max_lag; out[p-1] receives lag p.
 * Returns LW_ERR_INVALID (out untouched) when n < lw_granger_min_nobs(max_lag),
 * max_lag is 0 or beyond the workspace, any value is NaN/Inf, or x or y is
 * constant over the whole series; LW_ERR_TOO_LARGE beyond the workspace.
 * Otherwise LW_OK, with per-lag status in out[].  Allocation free.
 */
lw_err_t lw_granger_scan(lw_granger_t *g, const double *y, const double *x, size_t n,
                         size_t max_lag, lw_granger_lag_t *out, char *errstr, size_t errstr_size);

/*
 * Index into recs[0..count) of the feasible lag with the smallest AIC or BIC
 * (ties: the smaller lag).  LW_ERR_NOT_FOUND when no lag is feasible.
 */
lw_err_t lw_granger_select_lag(const lw_granger_lag_t *recs, size_t count, lw_ic_t ic,
                               size_t *best_index);

/*
 * Lag choice on ONE common sample (issue 11).  For max_lag K every candidate
 * p in 1..K is fitted on the same rows t = K..n-1 (m = n - K of them):
 *   y_t ~ const + y_{t-1} .. y_{t-p} + x_{t-1} .. x_{t-p}     (k_p = 2p + 1)
 *   aic_p = -2 llf_p + 2 k_p,  bic_p = -2 llf_p + k_p ln m    (llf on m rows)
 * and the smallest criterion wins (ties: the smaller p).  Because the rows
 * do not move with p, rescaling y or x by a constant shifts every llf_p by
 * the same amount and the choice cannot change (lw_granger_select_lag's
 * per-lag samples lack that property).  Matches statsmodels OLS fits of the
 * explicit designs on the common rows (scripts/gen_stats_refs3.py).
 * ic_values, when non-NULL, has max_lag slots and receives the criterion of
 * lag p at [p-1].  Needs n >= lw_granger_min_nobs(max_lag) (the widest model
 * keeps df_resid >= 1).  LW_ERR_INVALID: bad sizes, NaN/Inf, constant x or
 * y; LW_ERR_TOO_LARGE beyond LW_GRANGER_MAX_LAG/MAX_NOBS; LW_ERR_STATS: a
 * singular common design or a perfect fit.  *best_lag is 0 on error.
 * Allocates O(n K) scratch and frees it; thread-safe.
 */
lw_err_t lw_granger_select_common(const double *y, const double *x, size_t n, size_t max_lag,
                                  lw_ic_t ic, size_t *best_lag, double *ic_values, char *errstr,
                                  size_t errstr_size);

/*
 * Toda & Yamamoto (1995) test of x -> y that stays valid whatever the
 * integration order (up to d): fit p + d lags of both series,
 *   y_t ~ const + y_{t-1} .. y_{t-p-d} + x_{t-1} .. x_{t-p-d},  t = p+d .. n-1,
 * and Wald-test only the first p x-lag coefficients (the d extra lags are
 * never restricted).  With classical OLS covariance the Wald statistic is
 *   W = (ssr_r - ssr_u) / (ssr_u / df_u),   chi2 df = p            (asymptotic test)
 *   F = W / p,                              df = (p, df_u)
 *   df_u = m - (2(p + d) + 1),  m = n - p - d,
 * identical to statsmodels OLS(...).fit().wald_test(R, use_f=False) and
 * .f_test(R).  d = 0 is the ordinary Granger F test at lag p
 * (grangercausalitytests ssr_ftest), i.e. the test at a lag chosen by
 * lw_granger_select_common.  Needs n >= 3 (p + d) + 2.
 */
typedef struct {
    size_t p, d, nobs;
    double f, f_p, df_num, df_denom; /* F form */
    double chi2, chi2_p;             /* Wald chi2, df = p */
    double ssr_r, ssr_u;
} lw_granger_ty_t;

/*
 * Run the Toda-Yamamoto test (p >= 1, d >= 0, p + d <= LW_GRANGER_MAX_LAG).
 * Same input checks and statuses as lw_granger_select_common; *res is zeroed
 * on error.  Allocates scratch internally; thread-safe.
 */
lw_err_t lw_granger_ty(const double *y, const double *x, size_t n, size_t p, size_t d,
                       lw_granger_ty_t *res, char *errstr, size_t errstr_size);

#endif
