/*
 * kpss.h - KPSS stationarity test (Kwiatkowski, Phillips, Schmidt & Shin
 * 1992), the confirming test beside ADF: its null is (trend-)stationarity,
 * ADF's is a unit root.  Pure: arrays in, result out.
 *
 * Matches statsmodels.tsa.stattools.kpss(x, regression='c'|'ct', nlags) of
 * statsmodels 0.13:
 *   residuals  e_t = x_t - mean(x)                          ('c', level stationarity)
 *              e_t = OLS residuals of x on [1, t], t = 1..n  ('ct', trend stationarity)
 *   eta        sum_t S_t^2 / n^2, S_t = e_1 + .. + e_t       (KPSS eq. 11)
 *   s^2(l)     (sum e_t^2 + 2 sum_{i=1..l} (1 - i/(l+1)) sum_t e_t e_{t-i}) / n
 *              (Bartlett / Newey-West long-run variance, KPSS eq. 10)
 *   stat       eta / s^2(l)
 * Bandwidth l: LW_KPSS_AUTO = Hobijn, Franses & Ooms (1998) data-dependent
 * rule (statsmodels _kpss_autolag: covlags = floor(n^(2/9)), s0 = g0 + 2 sum
 * g_i, s1 = 2 sum i g_i with g_i = sum_t e_t e_{t-i} / n, l = floor(1.1447
 * ((s1/s0)^2)^(1/3) n^(1/3))); LW_KPSS_LEGACY = ceil(12 (n/100)^(1/4))
 * (Schwert 1989); both capped at n - 1.  An explicit lag must be < n.
 * No degrees of freedom enter: the statistic is compared with the asymptotic
 * KPSS (1992) table 1 critical values,
 *   'c':  0.347 (10%), 0.463 (5%), 0.574 (2.5%), 0.739 (1%)
 *   'ct': 0.119,       0.146,      0.176,        0.216
 * and p is linearly interpolated in that table (numpy.interp), so it lies
 * in [0.01, 0.10]: beyond the table p is clamped and p_bound says which way
 * the true p-value lies (statsmodels' InterpolationWarning).
 */
#ifndef LEADWATCH_KPSS_H
#define LEADWATCH_KPSS_H

#include "leadwatch/core/common.h"

#define LW_KPSS_MIN_NOBS 3u
#define LW_KPSS_MAX_NOBS 10000000u
#define LW_KPSS_AUTO ((size_t)-1)   /* nlags: Hobijn et al. (1998) */
#define LW_KPSS_LEGACY ((size_t)-2) /* nlags: ceil(12 (n/100)^(1/4)) */

typedef enum { LW_KPSS_C, LW_KPSS_CT } lw_kpss_reg_t;

typedef struct {
    double stat;    /* eta / s^2(l) */
    double pvalue;  /* interpolated in the KPSS table, within [0.01, 0.10] */
    int p_bound;    /* 0: interior; -1: true p is smaller (stat beyond 1%); +1: larger */
    size_t nlags;   /* bandwidth l used */
    double crit[4]; /* 10%, 5%, 2.5%, 1% critical values */
} lw_kpss_result_t;

/*
 * Run the test on x[0..n).  nlags: LW_KPSS_AUTO, LW_KPSS_LEGACY or an
 * explicit lag < n.  LW_ERR_INVALID for n < LW_KPSS_MIN_NOBS, NaN/Inf, a
 * constant series (or, with LW_KPSS_CT, an exactly linear one) or nlags >= n;
 * LW_ERR_TOO_LARGE beyond LW_KPSS_MAX_NOBS; LW_ERR_STATS when the long-run
 * variance is not positive (possible with the automatic bandwidth on
 * pathological series).  *res is zeroed on error.  Allocates one n-double
 * scratch array; thread-safe.
 */
lw_err_t lw_kpss(const double *x, size_t n, lw_kpss_reg_t reg, size_t nlags, lw_kpss_result_t *res,
                 char *errstr, size_t errstr_size);

/* p-value of a statistic by the table interpolation above; *bound as p_bound. */
double lw_kpss_pvalue(double stat, lw_kpss_reg_t reg, int *bound);

#endif
