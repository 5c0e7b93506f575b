/*
 * forecast.h - out-of-sample skill of x for predicting y: rolling-origin
 * (expanding window) one-step-ahead forecasts from two nested models, their
 * RMSEs and the Clark-West test.  Pure: arrays in, result struct out.
 *
 * Models, on rows t = L..n-1, L = max(ylags, xlags):
 *   (a) restricted     y_t = c + sum_{j=1..ylags} g_j y_{t-j}            k_a = 1 + ylags
 *   (b) unrestricted   (a) + sum_{j=1..xlags} b_j x_{t-j}                k_b = k_a + xlags
 * (ylags = 0 makes (a) the expanding historical mean.)  With R = `initial`
 * training rows, the forecast of y_t for every t = L+R..n-1 uses the OLS fit
 * of each model on rows L..t-1, refitted at every origin (expanding window):
 * P = n - L - R forecasts, e_i,t = y_t - yhat_i,t.
 *
 *   RMSE_i              sqrt(sum_t e_i,t^2 / P)
 *   rel_rmse_change     1 - RMSE_b / RMSE_a  (> 0: x's lags improve forecasts)
 *   Clark & West (2007) adjusted MSPE difference, per forecast
 *       f_t = e_a,t^2 - (e_b,t^2 - (yhat_a,t - yhat_b,t)^2)
 *   cw_mean = mean f, cw_se = sd(f) / sqrt(P) with sd's divisor P - 1 (the
 *   OLS standard error of a regression of f on a constant, which the paper
 *   uses for one-step forecasts; no HAC correction is needed at horizon 1),
 *   cw_t = cw_mean / cw_se, one-sided p = 1 - Phi(cw_t) against the
 *   alternative that (b) predicts better.  The statistic is compared with
 *   N(0,1) as the paper recommends (approximately normal; slightly
 *   undersized).
 *     Clark, T.E. & West, K.D. (2007) "Approximately normal tests for equal
 *     predictive accuracy in nested models", J. Econometrics 138(1), 291-311,
 *     eq. (2.3)-(2.4) and section 3.
 *
 * Default initial window (initial = 0): half the usable rows,
 * R = ceil((n - L) / 2), raised to k_b + LW_FORECAST_MIN_DF when that is
 * larger.  At least LW_FORECAST_MIN_OOS forecasts are required.
 *
 * Cost: each model's forecasts come from lw_breaks_recursive (Givens row
 * updates, O(k^2) per origin), numerically the same as refitting OLS at each
 * origin (checked against statsmodels refits to 1e-9 in tests/test_forecast.c).
 */
#ifndef LEADWATCH_FORECAST_H
#define LEADWATCH_FORECAST_H

#include "leadwatch/core/common.h"

#define LW_FORECAST_REASON_SIZE 160
#define LW_FORECAST_MIN_DF 10u  /* residual df of (b) in the first window (default R) */
#define LW_FORECAST_MIN_OOS 10u /* fewest out-of-sample forecasts accepted */
#define LW_FORECAST_MAX_LAGS 30u
#define LW_FORECAST_MAX_NOBS 1000000u

typedef struct {
    lw_err_t status;                      /* LW_OK or the returned error */
    char reason[LW_FORECAST_REASON_SIZE]; /* "" when LW_OK */
    size_t n, ylags, xlags;
    size_t first_row;      /* L */
    size_t initial;        /* R, training rows of the first window */
    size_t first_forecast; /* series index of the first forecast target, L + R */
    size_t noos;           /* P */
    double mse_a, mse_b, rmse_a, rmse_b;
    double rel_rmse_change;            /* 1 - rmse_b / rmse_a */
    double cw_mean, cw_se, cw_t, cw_p; /* Clark-West, one-sided p */
} lw_forecast_t;

/*
 * Run the comparison for "does x help forecast y".  y, x: n values each,
 * oldest first, finite.  ylags in 0..LW_FORECAST_MAX_LAGS, xlags in
 * 1..LW_FORECAST_MAX_LAGS, initial = 0 for the default.  pred_a/pred_b,
 * when non-NULL, receive n forecasts (slots before first_forecast are 0).
 * Returns LW_OK; LW_ERR_INVALID for bad arguments, NaN/Inf or a series too
 * short (the reason states the minimum); LW_ERR_STATS for a design that is
 * rank-deficient in the first window (e.g. constant x) or forecasts that are
 * all exact (f has no variance); LW_ERR_NOMEM.  res->status/reason mirror
 * the return and every number is 0 on error.  Allocates scratch and frees
 * it; no shared state.
 */
lw_err_t lw_forecast_oos(const double *y, const double *x, size_t n, size_t ylags, size_t xlags,
                         size_t initial, lw_forecast_t *res, double *pred_a, double *pred_b,
                         char *errstr, size_t errstr_size);

/*
 * The sums behind the Clark-West numbers of forecasts pa (model (a)) and pb
 * (model (b)) of y at i = R..m-1 (m > R + 1): squared errors of each, the
 * sum of squares of y, the mean and the sample sd (divisor P - 1) of f_i.
 * Shared by lw_forecast_oos and analyze.c's step 6, which each judge the
 * degenerate cases (no error, no variance) their own way before filling.
 */
typedef struct {
    double ssa, ssb, yss;
    double fmean, fsd;
} lw_forecast_sums_t;

void lw_forecast_sums(const double *y, const double *pa, const double *pb, size_t R, size_t m,
                      lw_forecast_sums_t *s);

/* res->noos = P and the MSEs, RMSEs, rel_rmse_change and cw_* from s. */
void lw_forecast_fill(lw_forecast_t *res, size_t P, const lw_forecast_sums_t *s);

#endif
