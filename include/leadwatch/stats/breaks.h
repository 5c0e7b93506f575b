/*
 * breaks.h - structural-break tests for a linear relationship at an unknown
 * break date, and the recursive (expanding-window) least squares they rest
 * on.  Pure: arrays in, result structs out, no I/O, no globals.
 *
 * 1. Andrews (1993) sup-F / Quandt likelihood-ratio test.  For a regression
 *    y_t = z_t' b + u_t on rows t = 0..m-1 (k parameters), a break at row tau
 *    (first row of the second regime) splits the sample into [0, tau) and
 *    [tau, m); every coefficient may change (pure structural change, the
 *    model of Andrews 1993 and of R strucchange::Fstats).  The Chow statistic
 *    at tau is
 *        F(tau) = ((SSR_0 - SSR_1 - SSR_2) / k) / ((SSR_1 + SSR_2) / (m - 2k))
 *    with df = (k, m - 2k), SSR_0 the full-sample fit and SSR_1, SSR_2 the two
 *    sub-sample fits.  Candidates: tau in [h, m - h], h = ceil(trim * m)
 *    (trim = 0.15 by default: 15% trimming, Andrews 1993).  sup_f = max F,
 *    break_row = its argmax (the first maximum).  The p-value is Hansen's
 *    (1997) approximation for the Wald form sup_wald = k * sup_f:
 *        p ~ P(chi2_v > b0 + b1 * sup_wald)
 *    with (b0, b1, v) from his published response surface for k restrictions
 *    at the effective trimming tau0 = h / m, linearly interpolated between
 *    the tabulated trimmings 0.01, 0.03, ..., 0.49 (exactly the rule of
 *    strucchange::pvalue.Fstats).  Table embedded for k = 1..10; for k > 10
 *    p_defined is false with a reason (choose fewer lags for the test).
 *      Andrews, D.W.K. (1993) "Tests for parameter instability and structural
 *        change with unknown change point", Econometrica 61(4), 821-856.
 *      Hansen, B.E. (1997) "Approximate asymptotic p values for structural-
 *        change tests", J. Business & Economic Statistics 15(1), 60-67.
 *
 * 2. CUSUM of recursive residuals (Brown, Durbin & Evans 1975, J. Royal
 *    Statistical Society B 37(2), 149-192), in the form of
 *    strucchange::efp(type = "Rec-CUSUM"): w_t the recursive residuals of
 *    rows k..m-1 (below), sigma = sd(w) with divisor (m - k - 1), process
 *    W(r) = sum_{t<r} w_t / (sigma sqrt(m - k)) at r/(m - k), r = 0..m-k;
 *    statistic S = max_r |W(r)| / (1 + 2 r/(m - k)); p-value from the
 *    boundary-crossing probability of Brownian motion across a(1 + 2t)
 *    (the closed form strucchange::pvalue.efp uses for "Brownian motion",
 *    max functional; a = 0.948 gives p = 0.05).  Reported with the row of
 *    the largest excursion.
 *
 * 3. Recursive least squares (lw_breaks_recursive): for t = first..m-1, the
 *    prediction of y_t from the OLS fit on rows 0..t-1 (one-step-ahead,
 *    expanding window) and the recursive residual
 *        w_t = (y_t - z_t' b_{t-1}) / sqrt(1 + z_t' (Z_{t-1}' Z_{t-1})^-1 z_t)
 *    as statsmodels.stats.diagnostic.recursive_olsresiduals (rypred,
 *    rresid_scaled) defines them.  forecast.c builds on this.
 *
 * 4. Heteroskedasticity-robust sup-Wald test of a PARTIAL structural change
 *    (lw_breaks_supwald_hc; issue 11): only q chosen columns (the x lags of
 *    a lead relationship) may change at the break; the other coefficients
 *    are the same in both regimes.  For a break after row i (old regime rows
 *    0..i-1) the model is y = Z b + (D_i Z_c) d + u with D_i = 1{t >= i},
 *    and
 *        W(i) = d_hat' V_dd^-1 d_hat,   V = (A'A)^-1 (sum_t u_t^2 a_t a_t') (A'A)^-1
 *    (White 1980 HC0, R sandwich::sandwich of the lm fit; A = [Z, D_i Z_c]);
 *    chi2 df = q asymptotically at a fixed date.  Candidates follow
 *    strucchange::Fstats: from = floor(trim m), to = m - from, clamped to
 *    [k + 1, m - k - 1]; sup_wald = max W, break_row = the first argmax
 *    (first row of the new regime).  p: Hansen (1997) for q restrictions,
 *    q <= 40, at tau0 = 1 / (1 + sqrt(lambda)), lambda = (m - from) to /
 *    (from (m - to)), exactly strucchange:::pvalue.Fstats(type = "supF").
 *    With Z_c = Z (all columns) W(i) is strucchange::Fstats(vcov. =
 *    sandwich)'s statistic.  Cost: no fit per candidate; Z is orthogonalised
 *    once and each candidate costs O(m (k + q^2)) (breaks.c: Frisch-Waugh-
 *    Lovell, W(i) = c_i' S_i^-1 c_i), 1e-12 of the refit-per-candidate form;
 *    without a W path only the candidates that a bound cannot place below the
 *    sup so far are evaluated (O(m (k + q)) for the others), with the same
 *    sup, argmax and p to the bit as the full path.
 *
 * Degenerate input (NaN/Inf, fewer rows than the trimming and k need, a
 * rank-deficient design in the shortest admissible segment, a perfect fit)
 * returns a status with a reason; the result's numbers are then 0 and must
 * not be reported.
 */
#ifndef LEADWATCH_BREAKS_H
#define LEADWATCH_BREAKS_H

#include "leadwatch/core/common.h"
#include "leadwatch/stats/breaks_pvalue.h"

#define LW_BREAKS_REASON_SIZE 160
#define LW_BREAKS_MAX_K 64u         /* parameters in the tested regression */
#define LW_BREAKS_MAX_NOBS 1000000u /* rows */
#define LW_BREAKS_DEFAULT_TRIM 0.15 /* Andrews' recommended trimming */
#define LW_BREAKS_RANK_TOL 1e-10    /* |R_jj| / ||column j|| below this: collinear */

typedef struct {
    lw_err_t status;                    /* LW_OK or the returned error */
    char reason[LW_BREAKS_REASON_SIZE]; /* why it failed; with LW_OK, why p is undefined */
    size_t nobs;                        /* m, rows of the regression */
    size_t k;                           /* parameters = restrictions tested */
    size_t h;                           /* ceil(trim * m): shortest regime */
    size_t first, last;                 /* candidate tau range [h, m - h] */
    double ssr_full;                    /* SSR_0 */
    double sup_f;                       /* max Chow F over the candidates */
    size_t break_row;                   /* argmax tau (row index, 0-based) */
    size_t break_period;                /* break_row + offset (series index; see _lags) */
    double df_num, df_denom;            /* k, m - 2k */
    double sup_wald;                    /* k * sup_f, Hansen's statistic */
    double tau0;                        /* effective trimming h / m */
    bool p_defined;                     /* false when k > LW_BREAKS_HANSEN_MAX_K */
    double p;                           /* Hansen (1997) approximate p-value */
} lw_breaks_supf_t;

typedef struct {
    lw_err_t status;
    char reason[LW_BREAKS_REASON_SIZE];
    size_t nobs, k;
    double sigma;   /* sd of the recursive residuals (divisor m - k - 1) */
    double stat;    /* max_r |W(r)| / (1 + 2 r / (m - k)) */
    size_t max_row; /* row t whose partial sum attains the maximum */
    double p;       /* Brownian-motion boundary-crossing p-value */
} lw_breaks_cusum_t;

typedef struct {
    lw_err_t status;
    char reason[LW_BREAKS_REASON_SIZE]; /* why it failed; with LW_OK, why p is undefined */
    size_t nobs, k, q;                  /* rows, parameters, changing coefficients (df) */
    size_t first, last;                 /* candidate break rows [from, to] */
    double sup_wald;                    /* max W(i) */
    size_t break_row;                   /* argmax i: first row of the new regime */
    size_t evaluated;                   /* candidates whose W(i) was computed (the others
                                           were proved below the sup; all with a W path) */
    size_t break_period;                /* series index (the _lags form) */
    double lambda, tau0;                /* strucchange's trimming summary */
    bool p_defined;                     /* false when q > LW_BREAKS_HANSEN40_MAX_K */
    double p;                           /* Hansen (1997) approximate p-value */
    /* with a W path: candidates whose pruning bound was also computed, and those whose
     * W(i) exceeded it (a broken bound; tests/test_breaks.c) */
    size_t bounds_checked, bound_violations;
} lw_breaks_supwald_hc_t;

/*
 * HC sup-Wald test (section 4 above) on y (m), Z (m x k row-major, with the
 * constant column), the q strictly increasing column indices chg[] that may
 * change, trim in (0, 0.5) (LW_BREAKS_DEFAULT_TRIM = 0.15, Andrews 1993).
 * w_path, when non-NULL, has m + 1 slots and receives W(i) for i in
 * [first, last] (other slots 0).  Needs m > 2 (k + q) and a non-empty
 * candidate range.  Returns LW_OK, LW_ERR_INVALID (arguments, NaN/Inf, too
 * short), LW_ERR_STATS (a rank-deficient interaction design or a singular
 * robust covariance at some break, named in the message), LW_ERR_NOMEM;
 * res->status/reason mirror it and its numbers are 0 on error.  Thread-safe.
 */
lw_err_t lw_breaks_supwald_hc(const double *y, const double *Z, size_t m, size_t k,
                              const size_t *chg, size_t q, double trim, lw_breaks_supwald_hc_t *res,
                              double *w_path, char *errstr, size_t errstr_size);

/*
 * The lead relationship of lw_breaks_supf_lags (rows t = L..n-1, Z = [1,
 * y lags, x lags]) with only the xlags coefficients allowed to change
 * (q = xlags, the lag p under test).  res->break_period = L + break_row;
 * w_path (optional) has n + 1 slots indexed by series period.
 */
lw_err_t lw_breaks_supwald_hc_lags(const double *y, const double *x, size_t n, size_t ylags,
                                   size_t xlags, double trim, lw_breaks_supwald_hc_t *res,
                                   double *w_path, char *errstr, size_t errstr_size);

/*
 * Sup-F test on a given design: y (m), Z (m x k row-major, include the
 * constant column yourself), trim in (0, 0.5) (LW_BREAKS_DEFAULT_TRIM).
 * f_path, when non-NULL, has m + 1 slots and receives F(tau) for tau in
 * [first, last] (other slots 0).  Needs h >= k + 1 so both regimes are
 * over-determined, i.e. m >= about (k + 1) / trim.  Returns LW_OK, or
 * LW_ERR_INVALID (bad arguments, NaN/Inf, too short; message says the
 * minimum), LW_ERR_STATS (rank-deficient shortest segment, perfect fit),
 * LW_ERR_NOMEM.  res->status/reason mirror the return.  Allocates scratch
 * internally and frees it; thread-safe (no shared state).
 */
lw_err_t lw_breaks_supf(const double *y, const double *Z, size_t m, size_t k, double trim,
                        lw_breaks_supf_t *res, double *f_path, char *errstr, size_t errstr_size);

/*
 * Convenience for the lead relationship
 *     y_t = c + sum_{j=1..ylags} g_j y_{t-j} + sum_{j=1..xlags} b_j x_{t-j} + u_t
 * on rows t = L..n-1, L = max(ylags, xlags) (k = 1 + ylags + xlags, xlags >=
 * 1).  Builds the design and calls lw_breaks_supf; res->break_period is the
 * series index L + break_row (the first period of the new regime).
 * f_path (optional) has n + 1 slots indexed by series period.
 */
lw_err_t lw_breaks_supf_lags(const double *y, const double *x, size_t n, size_t ylags, size_t xlags,
                             double trim, lw_breaks_supf_t *res, double *f_path, char *errstr,
                             size_t errstr_size);

/* The lag design [1, y_{t-1..ylags}, x_{t-1..xlags}] of rows t = L..n-1,
 * L = max(ylags, xlags), into Z ((n - L) x (1 + ylags + xlags), row-major) and
 * yy (n - L): what the _lags entry points test. */
void lw_breaks_lag_design(const double *y, const double *x, size_t n, size_t ylags, size_t xlags,
                          double *Z, double *yy);

/*
 * CUSUM of recursive residuals for the design (y, Z) as described above.
 * Needs m >= k + 3.  Same error conventions as lw_breaks_supf.
 */
lw_err_t lw_breaks_cusum(const double *y, const double *Z, size_t m, size_t k,
                         lw_breaks_cusum_t *res, char *errstr, size_t errstr_size);

/*
 * Expanding-window least squares by Givens row updates of the R factor.
 * For t = first..m-1 (k <= first < m): pred[t] = z_t' b where b is the OLS
 * fit on rows 0..t-1, and (when w is non-NULL) w[t] the recursive residual.
 * Slots below `first` are set to 0.  Rows 0..first-1 must have full column
 * rank (LW_ERR_STATS otherwise, naming the column).  Cost O(m k^2), no
 * allocation beyond one (k^2 + 3k)-double scratch block.
 */
lw_err_t lw_breaks_recursive(const double *y, const double *Z, size_t m, size_t k, size_t first,
                             double *pred, double *w, char *errstr, size_t errstr_size);

#endif
