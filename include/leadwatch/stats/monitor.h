/*
 * monitor.h - sequential structural-change monitoring of a regression
 * y_t = z_t' b + u_t against a stable history: the OLS-based CUSUM
 * monitor of Chu, Stinchcombe & White (1996) in the form of R
 * strucchange::mefp(..., type = "OLS-CUSUM") + monitor() (Zeileis, Leisch,
 * Kleiber & Hornik 2005, "Monitoring structural change in dynamic
 * econometric models", J. Applied Econometrics 20, 99-121).  Pure.
 *
 * History: OLS of y on Z over rows 1..n (n = histsize): b_hat and
 *   sigma = sqrt(SSR / (n - k))       (df = n - k; strucchange efp's sigma).
 * Each new row j = n+1, n+2, ... adds its residual e_j = y_j - z_j' b_hat:
 *   process(j)  = (sum_{i=1..j} e_i) / (sigma sqrt(n))     (history residuals included)
 *   boundary(j) = sqrt(x (x - 1) (c^2 + ln(x / (x - 1)))),  x = j / n
 *   alarm       = the first j with |process(j)| > boundary(j)
 * c solves 2 (Phi(c) - c phi(c)) = 2 - alpha (strucchange's critval, found
 * there by optimize() to ~1e-8; here by bisection to 1e-15), so the
 * probability of ANY false alarm over an unbounded horizon is alpha.  This
 * boundary has no finite period (mefp's `period` does not apply to it).
 * Note the CUSUM of residuals only sees changes that move the mean of y
 * (a regressor with a non-zero mean, or the intercept); the ME
 * (moving-estimates) process is not implemented yet.
 *
 * State: lw_monitor_t is a plain struct without pointers (store it as bytes
 * or field by field; lw_monitor_check validates one read back).  Each
 * update is O(k) (no refit), and feeding rows one at a time or in bulk
 * gives the same state bit for bit (lw_monitor_feed is the same loop).
 */
#ifndef LEADWATCH_MONITOR_H
#define LEADWATCH_MONITOR_H

#include "leadwatch/core/common.h"

#include <stdint.h>

#define LW_MONITOR_VERSION 1u
#define LW_MONITOR_MAX_K 32u          /* regressors (incl. the constant) */
#define LW_MONITOR_MAX_HIST 10000000u /* history rows */

typedef struct {
    uint32_t version;  /* LW_MONITOR_VERSION */
    uint32_t k;        /* regressors */
    uint64_t histsize; /* n */
    uint64_t rows;     /* rows seen so far, history included (the last j) */
    uint64_t alarm;    /* first j with |process| > boundary; 0 = none yet */
    double alpha;      /* false-alarm probability of the whole monitoring */
    double critval;    /* c */
    double sigma;      /* history residual standard deviation, df = n - k */
    double cusum;      /* sum of all residuals so far (history included) */
    double stat;       /* max |process(j)| over the monitored rows so far */
    double coef[LW_MONITOR_MAX_K]; /* history OLS coefficients */
} lw_monitor_t;

/* c for alpha in (0, 1): 2 (Phi(c) - c phi(c)) = 2 - alpha; NaN outside. */
double lw_monitor_critval(double alpha);

/* boundary(j) for j > histsize (0 for j <= histsize). */
double lw_monitor_boundary(const lw_monitor_t *m, uint64_t j);

/*
 * Fit the history: y (n), Z (n x k row-major, include the constant column).
 * Needs 1 <= k <= LW_MONITOR_MAX_K, k < n <= LW_MONITOR_MAX_HIST, finite
 * values, alpha in (0, 1) (LW_ERR_INVALID otherwise); a rank-deficient
 * design or a perfect fit is LW_ERR_STATS.  *m is fully written (zeroed on
 * error).  Allocates a temporary OLS workspace.
 */
lw_err_t lw_monitor_init(lw_monitor_t *m, const double *y, const double *Z, size_t n, size_t k,
                         double alpha, char *errstr, size_t errstr_size);

/*
 * Add one row (z: k regressors, y).  *process and *boundary (either may be
 * NULL) receive process(j) and boundary(j) of the new row j; returns LW_OK
 * and sets *alarm_now when this row is the first crossing (m->alarm = j).
 * Rows keep being accepted after an alarm (the statistic path goes on).
 * LW_ERR_INVALID for NaN/Inf input or a state that fails lw_monitor_check
 * (the state is then unchanged).
 */
lw_err_t lw_monitor_update(lw_monitor_t *m, const double *z, double y, double *process,
                           double *boundary, bool *alarm_now, char *errstr, size_t errstr_size);

/*
 * Add count rows (Z count x k row-major, y count); process/boundary
 * (optional) receive count values.  Equivalent to count lw_monitor_update
 * calls; stops at the first invalid row (rows before it are applied).
 */
lw_err_t lw_monitor_feed(lw_monitor_t *m, const double *y, const double *Z, size_t count,
                         double *process, double *boundary, char *errstr, size_t errstr_size);

/* True when a (deserialized) state is internally consistent. */
bool lw_monitor_check(const lw_monitor_t *m);

#endif
