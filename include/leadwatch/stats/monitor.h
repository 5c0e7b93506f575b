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
    uint32_t version;              /* LW_MONITOR_VERSION */
    uint32_t k;                    /* regressors */
    uint64_t histsize;             /* n */
    uint64_t rows;                 /* rows seen so far, history included (the last j) */
    uint64_t alarm;                /* first j with |process| > boundary; 0 = none yet */
    double alpha;                  /* false-alarm probability of the whole monitoring */
    double critval;                /* c */
    double sigma;                  /* history residual standard deviation, df = n - k */
    double cusum;                  /* sum of all residuals so far (history included) */
    double stat;                   /* max |process(j)| over the monitored rows so far */
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

/* ------------------------------------------------------------------------
 * Stop monitor: Page's CUSUM of the log-likelihood ratio "the lead terms
 * stopped" against the history fit (Page 1954, "Continuous inspection
 * schemes", Biometrika 41; Lorden 1971 for its optimality; the boundary by
 * Siegmund 1985, "Sequential Analysis", eq. (2.53)-(2.55)).  strucchange
 * has no such process, so it is checked against an exact re-implementation
 * in scripts/gen_stats_refs3.R (stopmon_*).
 *
 * History: OLS of y on Z over rows 1..n (k columns, `lead` marks the
 * columns of the input's lags), b_hat, sigma^2 = SSR / (n - k) (df n - k).
 * Post-change hypothesis: the lead coefficients are 0, the rest unchanged,
 * so the prediction loses g_t = sum_{j in lead} b_j z_tj.  For each new row
 * with residual e_t = y_t - z_t' b_hat the log-likelihood ratio
 * (Gaussian errors, sigma known) is
 *     l_t = -(2 e_t g_t + g_t^2) / (2 sigma^2)
 *     W_t = max(0, W_{t-1} + l_t),  alarm at the first W_t > h.
 * In control l_t ~ N(-v_t/2, v_t) with v_t = g_t^2 / sigma^2; after a
 * complete stop N(+v_t/2, v_t): the drift per row is v/2 both ways, with
 * v = mean(g^2) / sigma^2 over the history (v = "how much of y the lead
 * explains", b' Sigma_x b / sigma^2).  Treating v_t as the constant v, the
 * standardized walk has drift -sqrt(v)/2, and Siegmund's approximation of
 * the in-control average run length is
 *     ARL0(h) = (exp(h + 1.166 sqrt(v)) - h - 1.166 sqrt(v) - 1) / (v / 2).
 * Alarms of a rare-event CUSUM are close to a Poisson process, so the
 * probability of a false alarm within `horizon` rows is
 * 1 - exp(-horizon / ARL0); h solves that = alpha (bisection).  A lead
 * that weakens to a fraction r of itself drifts at (1 - 2r) v / 2: only
 * weakenings below half the old effect raise W (stated, not hidden).
 * The expected delay after a complete stop is about (h + 1.166 sqrt(v)) /
 * (v / 2) rows: e.g. v = 0.2 (a lead explaining 17 % of y's innovation
 * variance), alpha 0.05 over 365 rows: h = 6.5, delay ~ 70 rows.  No
 * detector does much better (Lorden: delay >= log(ARL0) / (v / 2)).
 * ------------------------------------------------------------------------ */

#define LW_STOPMON_VERSION 1u
#define LW_STOPMON_MAX_K 64u

typedef struct {
    uint32_t version;  /* LW_STOPMON_VERSION */
    uint32_t k;        /* regressors */
    uint64_t histsize; /* n */
    uint64_t rows;     /* rows monitored after the history */
    uint64_t alarm;    /* the monitored row (1-based) of the first W > h; 0 = none */
    double alpha;      /* false-alarm probability over the horizon */
    double horizon;    /* rows */
    double v;          /* mean(g^2) / sigma^2 over the history */
    double h;          /* threshold */
    double sigma;      /* history residual standard deviation, df = n - k */
    double stat;       /* W after the last row */
    double maxstat;    /* max W so far */
    double coef[LW_STOPMON_MAX_K];
    uint8_t lead[LW_STOPMON_MAX_K]; /* 1 = a lead column (0 after a stop) */
    uint64_t absorbed; /* parameters fitted before the regression (lw_stopmon_absorb), 0 = none */
} lw_stopmon_t;

/* ARL0(h) of the comment above; NaN for v <= 0. */
double lw_stopmon_arl0(double h, double v);

/* h with 1 - exp(-horizon / ARL0(h)) = alpha (|rel err| 1e-14); NaN when not solvable. */
double lw_stopmon_threshold(double v, double alpha, double horizon);

/*
 * Fit the history: y (n), Z (n x k row-major, include the constant),
 * lead[k] (non-zero = a lead column; at least one).  Needs 1 <= k <=
 * LW_STOPMON_MAX_K, k < n <= LW_MONITOR_MAX_HIST, alpha in (0, 1), horizon
 * >= 1 (LW_ERR_INVALID); a rank-deficient or perfect fit, or lead terms
 * that explain nothing (v = 0), is LW_ERR_STATS.  *m is zeroed on error.
 */
lw_err_t lw_stopmon_init(lw_stopmon_t *m, const double *y, const double *Z, size_t n, size_t k,
                         const unsigned char *lead, double alpha, double horizon, char *errstr,
                         size_t errstr_size);

/*
 * One new row: z (k), y.  *llr (may be NULL) gets l_t; *alarm_now is set
 * when this row is the first crossing.  Rows are accepted after an alarm.
 * LW_ERR_INVALID (state unchanged) for NaN/Inf or an invalid state.
 */
lw_err_t lw_stopmon_update(lw_stopmon_t *m, const double *z, double y, double *llr, bool *alarm_now,
                           char *errstr, size_t errstr_size);

/* True when a (deserialized) state is internally consistent. */
bool lw_stopmon_check(const lw_stopmon_t *m);

/*
 * The history's y and regressors were adjusted by `extra` parameters fitted
 * on the same rows before the regression (leadmon's phase means: the same
 * fit as extra dummy columns, by Frisch-Waugh-Lovell): the residual df is n
 * - k - extra, so sigma is scaled by sqrt((n - k) / (n - k - extra)), v by
 * the inverse square, h recomputed (Siegmund), and lw_stopmon_calibrate
 * draws sigma and inflates the residuals with this df.  Call after
 * lw_stopmon_init, before any row.  LW_ERR_INVALID (m unchanged) when
 * n - k - extra < 2 or rows were already monitored.
 */
lw_err_t lw_stopmon_absorb(lw_stopmon_t *m, size_t extra, char *errstr, size_t errstr_size);

#define LW_STOPMON_MAX_REPS 100000u

/*
 * Replace m->h (Siegmund's approximation) by a threshold found by
 * simulation, so that the false-alarm probability within m->horizon rows is
 * m->alpha for THIS history, including the error of the history fit itself.
 * Siegmund's h assumes the fitted coefficients and sigma are the truth and
 * the increments have a constant variance; with 90 history rows and a
 * chosen lag the monitor then alarms 4-7x more often than designed (the
 * fitted lead terms overstate the lead by their own noise, out-of-sample
 * residuals are larger than in-sample ones, and the increments are a
 * variance mixture).  Each of `reps` replicates takes the history fit as
 * the truth and gives the monitor the fit it would have made on a history
 * of its own: coefficients b_hat + d, d ~ N(0, sigma^2 (Z'Z)^-1), sigma_m =
 * sigma sqrt(chi2_df / df) (df = n - k); it then runs that monitor's CUSUM
 * over `horizon` rows whose regressors and errors are moving blocks (length
 * round(n^(1/3))) of the history's rows (residuals inflated by
 * sqrt(n / df)), the monitor seeing residual u - z'd and stop part
 * sum_lead (b_hat + d)_j z_j; h = the replicate maxima's (1 - alpha) quantile
 * (at most floor(alpha reps) replicates above it).  This is the parameter
 * bootstrap of Gandy & Kvaløy (2013, "Guaranteed conditional performance
 * of control charts via bootstrap methods", Scand. J. Statist. 40) in its
 * unconditional form: it controls the false-alarm rate averaged over the
 * history's estimation error.  Deterministic for a given seed (GSL
 * mt19937), so a live run and a catch-up compute the same h.  y and Z are
 * the history given to lw_stopmon_init.  100 <= reps <= LW_STOPMON_MAX_REPS.
 * Cost: O(reps * horizon * k).  On error m is unchanged.
 */
lw_err_t lw_stopmon_calibrate(lw_stopmon_t *m, const double *y, const double *Z, size_t n,
                              size_t reps, uint64_t seed, char *errstr, size_t errstr_size);

#endif
