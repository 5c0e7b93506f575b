/*
 * ols.h - ordinary least squares on a reusable workspace (GSL QR with column
 * pivoting), with classical and Newey-West HAC covariances.  Pure: arrays in,
 * results out, no I/O.
 *
 * Definitions match statsmodels.regression.linear_model.OLS(y, X).fit():
 *   params      b = argmin ||y - X b||^2
 *   ssr         sum of squared residuals, residuals computed as y - X b
 *   df_resid    nobs - k            (k = columns = rank; rank deficiency is an error)
 *   scale       sigma^2 = ssr / df_resid
 *   cov         sigma^2 (X'X)^-1    (classical, statsmodels cov_type='nonrobust')
 *   cov_hac     see hac.h           (cov_type='HAC', cov_kwds={'maxlags': L})
 *   llf         -nobs/2 (ln(2 pi) + ln(ssr/nobs) + 1)
 *   aic         -2 llf + 2 k        bic = -2 llf + k ln(nobs)   (k includes the constant)
 *   rsquared    1 - ssr/tss, tss centered when X has a constant column, else uncentered
 *
 * Call lw_stats_init() once at program start (main and every test/bench
 * program that uses the statistics modules): it switches GSL's abort-on-error
 * handler off so a degenerate regression becomes a status, never an abort.
 */
#ifndef LEADWATCH_OLS_H
#define LEADWATCH_OLS_H

#include "leadwatch/core/common.h"

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

/* Bounds of one workspace; lw_ols_new rejects larger requests (LW_ERR_TOO_LARGE). */
#define LW_OLS_MAX_NOBS 10000000u
#define LW_OLS_MAX_K 512u

/* Relative pivot tolerance: a column whose pivoted, column-scaled R diagonal is
 * below this fraction of the largest is treated as linearly dependent. */
#define LW_OLS_RANK_TOL 1e-10
#define LW_STATS_REASON_MAX 256 /* >= every result struct's reason size */

/* Flags for lw_ols_fit. */
enum {
    LW_OLS_COV = 1u << 0,            /* classical covariance + bse */
    LW_OLS_HAC = 1u << 1,            /* Newey-West covariance + bse_hac */
    LW_OLS_HAC_CORRECTION = 1u << 2, /* multiply HAC by n/(n-k) (statsmodels use_correction) */
};

/* hac_maxlags value meaning "use lw_hac_default_lags(nobs)". */
#define LW_OLS_HAC_DEFAULT_LAGS ((size_t)-1)

typedef struct lw_ols lw_ols_t;

/*
 * Result of one fit.  The arrays point into the workspace and stay valid until
 * the next lw_ols_fit or lw_ols_destroy on that workspace.  Matrices are k x k
 * row-major.  cov/bse are NULL unless LW_OLS_COV was requested, cov_hac/bse_hac
 * NULL unless LW_OLS_HAC was.
 */
typedef struct {
    size_t nobs;
    size_t k;
    bool has_const; /* some column is constant and non-zero */
    double df_resid;
    double ssr;
    double scale; /* ssr / df_resid */
    double tss;   /* centered if has_const, else uncentered */
    double rsquared;
    double llf;
    double aic;
    double bic;
    size_t hac_lags;       /* L actually used (when LW_OLS_HAC) */
    const double *params;  /* k */
    const double *resid;   /* nobs */
    const double *xtx_inv; /* k x k: (X'X)^-1 (statsmodels normalized_cov_params) */
    const double *cov;     /* k x k or NULL */
    const double *bse;     /* k or NULL */
    const double *cov_hac; /* k x k or NULL */
    const double *bse_hac; /* k or NULL */
} lw_ols_result_t;

/* Turn GSL's abort handler off (idempotent).  Call once from main and tests. */
void lw_stats_init(void);

/* Shared by the tests that keep a status and a reason in their result struct
 * (breaks, ccf, forecast, sensitivity). */

/* True when every v[0..n-1] is finite. */
bool lw_stats_all_finite(const double *v, size_t n);

/*
 * A workspace in one allocation: a struct of `head` bytes whose flexible
 * array member `double mem[]` holds all its double arrays.
 * lw_stats_block_new allocates it for arrays of sizes[0..n) doubles, all
 * uninitialised (NULL when out of memory or the size overflows; free() it):
 * the caller assigns the struct, then lw_stats_carve points *parts[i] at
 * sizes[i] doubles of mem, in order.  One allocation, one failure check and
 * one free instead of one per array; the price is that ASan does not see an
 * overrun from one part into the next (the code that sizes the parts
 * bounds every index).
 */
void *lw_stats_block_new(size_t head, const size_t sizes[], size_t n);
void lw_stats_carve(double *mem, double **const parts[], const size_t sizes[], size_t n);

/*
 * The series-length check of a one-series test (adf, kpss): LW_OK when
 * min_n <= n <= max_n, else LW_ERR_INVALID ("who: N points is too few (need
 * >= MIN)") or LW_ERR_TOO_LARGE ("who: N points exceeds the bound MAX").
 */
lw_err_t lw_stats_check_nobs(const char *who, size_t n, size_t min_n, size_t max_n, char *errstr,
                             size_t errstr_size);

/*
 * The message buffer of a function whose errstr may be NULL: errstr, or
 * `local` (with *errstr_size = size) when errstr is NULL or *errstr_size is 0.
 */
char *lw_stats_errbuf(char *errstr, size_t *errstr_size, char *local, size_t size);

/*
 * The closing record of such a result struct: *status = err; on failure the
 * struct res (size bytes) is first zeroed and reason (reason_size bytes,
 * inside res) gets errstr ("failed" when NULL).  Returns err.
 */
lw_err_t lw_stats_record(void *res, size_t size, lw_err_t *status, char *reason, size_t reason_size,
                         lw_err_t err, const char *errstr);

/*
 * Allocate a workspace for regressions with up to max_nobs rows and max_k
 * columns.  On success *out owns it (free with lw_ols_destroy); on error *out
 * is NULL.
 */
lw_err_t lw_ols_new(size_t max_nobs, size_t max_k, lw_ols_t **out, char *errstr,
                    size_t errstr_size);
void lw_ols_destroy(lw_ols_t *ols);

/*
 * Fit y (nobs) on X (nobs x k, row-major).  Requires 1 <= k < nobs within the
 * workspace bounds and finite inputs (LW_ERR_INVALID otherwise).  A design of
 * numerical rank < k (a constant or collinear column), a perfect fit
 * (ssr < DBL_EPSILON * tss, where llf is meaningless), or a GSL failure returns LW_ERR_STATS with a
 * reason; *res is then zeroed.  hac_maxlags is used only with LW_OLS_HAC.  Allocation free.  One
 * thread per workspace.
 */
lw_err_t lw_ols_fit(lw_ols_t *ols, const double *X, const double *y, size_t nobs, size_t k,
                    unsigned flags, size_t hac_maxlags, lw_ols_result_t *res, char *errstr,
                    size_t errstr_size);

/* Gaussian log-likelihood of an OLS fit: -nobs/2 (ln(2 pi) + ln(ssr/nobs) + 1). */
double lw_ols_llf(double ssr, size_t nobs);

/*
 * Information criterion of a fit with k parameters, as statsmodels'
 * RegressionResults.aic / .bic: -2 llf + 2 k (Akaike), or -2 llf + k ln(nobs)
 * (Schwarz) when bic.
 */
double lw_ols_ic(double ssr, size_t nobs, double k, bool bic);

/*
 * One QR for a search over nested designs (the lag searches of adf.c and
 * granger.c): scale each column of A (m x k, m > k) to unit norm, factor
 * A = QR in place and replace c (m) by Q'c.  The SSR of the fit on the first
 * j columns is then sum_{i >= j} c_i^2.  Scaling changes no fitted value; it
 * keeps the rank test meaningful.  A packed A (tda = k, as lw_nested_qr_alloc
 * makes it) is factored by lw_ols_qr_qtm_upper (R in the upper triangle,
 * rows below R unspecified, tau untouched; one column-major copy allocated), any other by
 * gsl_linalg_QR_decomp (tau: k).  LW_ERR_STATS "WHO: ..." when a column is
 * all zero, GSL fails, or |R_jj| <= LW_OLS_RANK_TOL; `design` names A in
 * those messages; LW_ERR_NOMEM.
 */
lw_err_t lw_ols_nested_qr(gsl_matrix *A, gsl_vector *tau, gsl_vector *c, const char *who,
                          const char *design, char *errstr, size_t errstr_size);

/*
 * Householder QR of X (m x k, row-major, m > k) and Q'y, for searches over
 * nested designs that read every SSR off one factorisation (analyze.c's lag
 * choice; issue 17): on return X's upper triangle is R, the entries below it
 * are 0, and y (m) is Q'y, so the SSR of the fit on the first j columns is
 * sum_{i >= j} (Q'y)_i^2 and |R_jj| is the distance of column j from the
 * span of the columns before it.  The reflectors are those of
 * gsl_linalg_QR_decomp (same signs), computed on a column-major copy with
 * the four-lane loops of vec4.h: the same R and Q'y to rounding, 2-3x
 * faster.  No scaling, no rank test (the caller's).  LW_ERR_INVALID (shape),
 * LW_ERR_NOMEM.
 */
lw_err_t lw_ols_qr_qty(double *X, size_t m, size_t k, double *y, char *errstr, size_t errstr_size);

/*
 * The same QR of X with Q' applied to nb right-hand sides at once: Y holds nb
 * columns of m (column c at Y + c m), each replaced by Q' times it (column c
 * of the result is what lw_ols_qr_qty would return for it, bit for bit).  One
 * pass over the reflectors for all of them (issue 17: the lag search's K
 * single-lag tests).  Errors as lw_ols_qr_qty.
 */
lw_err_t lw_ols_qr_qtm(double *X, size_t m, size_t k, double *Y, size_t nb, char *errstr,
                       size_t errstr_size);

/*
 * lw_ols_qr_qtm without clearing X's rows k..m-1 (left as they were: most
 * callers read only R, and the clearing was ~1.4 % of an hourly analyze's
 * instructions, issue 17); R (X's first k rows) and Y bit for bit the same.
 */
lw_err_t lw_ols_qr_qtm_upper(double *X, size_t m, size_t k, double *Y, size_t nb, char *errstr,
                             size_t errstr_size);

/* The arguments of lw_ols_nested_qr for an m x k design (adf's and granger's lag searches). */
typedef struct {
    gsl_matrix *A;   /* m x k */
    gsl_vector *tau; /* k */
    gsl_vector *c;   /* m: y, then Q'y */
} lw_nested_qr_t;

/* Allocate q; LW_ERR_NOMEM ("who: out of memory") with nothing left allocated. */
lw_err_t lw_nested_qr_alloc(lw_nested_qr_t *q, size_t m, size_t k, const char *who, char *errstr,
                            size_t errstr_size);
void lw_nested_qr_free(lw_nested_qr_t *q);

#endif
