/*
 * adf.h - augmented Dickey-Fuller unit-root test with a constant (or, with
 * lw_adf_ex, a constant and a linear trend), lag chosen by information
 * criterion; MacKinnon approximate p-values and critical values.  Pure.
 *
 * Matches statsmodels.tsa.stattools.adfuller(x, maxlag, regression='c',
 * autolag='AIC'|'BIC'|None):
 *   dx_t = a + g x_{t-1} + sum_{i=1..L} c_i dx_{t-i} + e_t
 *   stat = g_hat / se(g_hat)   (classical OLS se, df_resid = nobs - L - 2)
 * maxlag default ceil(12 (n/100)^(1/4)) capped at n/2 - 2 (integer division;
 * Schwert 1989, as statsmodels).  With autolag every L in 0..maxlag is fitted
 * on the SAME rows (the last n - 1 - maxlag differences) and the smallest
 * AIC (or BIC) wins, ties to the smaller L; the chosen L is then refitted on
 * its own n - 1 - L rows, and that fit gives stat, nobs and the critical values.
 * p-value: MacKinnon (1994) response surface (statsmodels mackinnonp, N=1);
 * critical values: MacKinnon (2010) (statsmodels mackinnoncrit, N=1, nobs of
 * the final regression).
 *
 * Minimum length: n >= 4 (maxlag is capped at n/2 - 2, which must be >= 0;
 * statsmodels' own limit).  Constant or non-finite input is LW_ERR_INVALID.
 *
 * Constant + trend (lw_adf_ex(..., LW_ADF_CT, ...)) matches adfuller(x,
 * maxlag, regression='ct', autolag):
 *   dx_t = a + d (r + 1) + g x_{t-1} + sum_{i=1..L} c_i dx_{t-i} + e_t
 * (r = row index in the regression; the trend's origin only moves a), stat =
 * g_hat / se(g_hat) with df_resid = nobs - L - 3; the lag search compares
 * L + 3 parameters per model; maxlag capped at n/2 - 3 (n >= 6); p-value
 * from MacKinnon (1994) "ct" and critical values from MacKinnon (2010) "ct"
 * (mackinnonp(stat, 'ct', 1), mackinnoncrit(1, 'ct', nobs)).  A series that
 * is exactly linear in t is a perfect fit: LW_ERR_STATS.
 */
#ifndef LEADWATCH_ADF_H
#define LEADWATCH_ADF_H

#include "leadwatch/core/common.h"

#define LW_ADF_MIN_NOBS 4u
#define LW_ADF_MAX_NOBS 1000000u
#define LW_ADF_CT_MIN_NOBS 6u
#define LW_ADF_DEFAULT_MAXLAG ((size_t)-1)

/* Deterministic terms of the test regression (statsmodels regression=). */
typedef enum { LW_ADF_C, LW_ADF_CT } lw_adf_reg_t;

typedef enum { LW_ADF_AUTOLAG_AIC, LW_ADF_AUTOLAG_BIC, LW_ADF_AUTOLAG_NONE } lw_adf_autolag_t;

typedef struct {
    double stat;    /* t statistic of the lagged level */
    double pvalue;  /* MacKinnon 1994 approximate p-value */
    size_t usedlag; /* number of lagged differences in the final regression */
    size_t nobs;    /* rows of the final regression: n - 1 - usedlag */
    size_t maxlag;  /* largest lag considered */
    double crit[3]; /* critical values at 1%, 5%, 10% (MacKinnon 2010) */
    double icbest;  /* the winning AIC/BIC (0 when autolag is NONE) */
} lw_adf_result_t;

/*
 * Run the test on x[0..n).  maxlag = LW_ADF_DEFAULT_MAXLAG for the default;
 * an explicit maxlag above n/2 - 2 is LW_ERR_INVALID (as statsmodels).
 * LW_ERR_STATS when a regression is singular.  Allocates scratch internally
 * (freed before returning); *res is zeroed on error.
 */
lw_err_t lw_adf(const double *x, size_t n, size_t maxlag, lw_adf_autolag_t autolag,
                lw_adf_result_t *res, char *errstr, size_t errstr_size);

/*
 * As lw_adf with the deterministic terms chosen by reg (LW_ADF_C gives exactly
 * lw_adf's result).  res->nobs = n - 1 - usedlag; df_resid = nobs - usedlag -
 * 1 - (reg == LW_ADF_CT ? 2 : 1).  Same error conventions as lw_adf; the
 * minimum length is LW_ADF_CT_MIN_NOBS for LW_ADF_CT.
 */
lw_err_t lw_adf_ex(const double *x, size_t n, size_t maxlag, lw_adf_autolag_t autolag,
                   lw_adf_reg_t reg, lw_adf_result_t *res, char *errstr, size_t errstr_size);

/* MacKinnon (1994) approximate p-value for reg (N=1); clamped to [0, 1]. */
double lw_adf_mackinnonp_ex(double stat, lw_adf_reg_t reg);

/* MacKinnon (2010) critical values (1%, 5%, 10%) for reg and nobs rows. */
void lw_adf_mackinnoncrit_ex(size_t nobs, lw_adf_reg_t reg, double crit[3]);

/* MacKinnon (1994) approximate p-value of a constant-only ADF statistic (N=1). */
double lw_adf_mackinnonp(double stat);

/* MacKinnon (2010) finite-sample critical values (1%, 5%, 10%) for nobs rows. */
void lw_adf_mackinnoncrit(size_t nobs, double crit[3]);

#endif
