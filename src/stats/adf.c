/*
 * adf.c - augmented Dickey-Fuller test with a constant (lw_adf) or a constant
 * and a linear trend (lw_adf_ex with LW_ADF_CT); see adf.h for the statsmodels
 * adfuller definitions and df: df_resid = nobs - usedlag - 1 - ntrend.
 *
 * Lag search: all candidate models share their rows and are nested (columns
 * [1, (t,) x_{t-1}, dx_{t-1}, ..., dx_{t-maxlag}], model L = first
 * L + 1 + ntrend columns: statsmodels' add_trend(prepend=True) order),
 * so one Householder QR of the widest design (columns scaled to unit norm)
 * gives every SSR at once: with c = Q'y, SSR_L = sum_{i >= L+1+ntrend} c_i^2.  This
 * replaces statsmodels' maxlag + 1 separate fits.  The winning lag is refitted
 * on its own (longer) sample with ols.c to get the t statistic.
 *
 * MacKinnon tables (published response-surface coefficients, N = 1 series,
 * "c" = constant and "ct" = constant + trend), the values
 * statsmodels.tsa.adfvalues carries:
 *   MacKinnon, J.G. (1994) "Approximate asymptotic distribution functions for
 *   unit-root and cointegration tests", J. Business & Economic Statistics
 *   12(2), 167-176: p = Phi(sum_i g_i tau^i), with the "small p" polynomial
 *   for tau <= tau* and the "large p" one above; p = 0 below tau_min and 1
 *   above tau_max ("c": -1.61, -18.83, 2.74; "ct": -2.89, -16.18, 0.7).
 *   MacKinnon, J.G. (2010) "Critical values for cointegration tests", Queen's
 *   Economics Dept. Working Paper 1227, table 2: C(T) = b0 + b1/T + b2/T^2 +
 *   b3/T^3 for the 1%, 5% and 10% levels.
 *
 * The constant-only path is the one lw_adf always ran (same columns in the
 * same order, ntrend = 1), so its results are unchanged bit for bit.
 */
#include "leadwatch/stats/adf.h"

#include "leadwatch/stats/ols.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * One regression's MacKinnon coefficients: p = 1 above tau_max, 0 below
 * tau_min, else Phi of the "small p" polynomial for tau <= tau_star and of
 * the "large p" one above; crit: the 2010 rows for 1%, 5%, 10%, b0..b3.
 */
typedef struct {
    double tau_max, tau_min, tau_star;
    double smallp[3], largep[4];
    double crit[3][4];
} mackinnon_t;

/* MacKinnon (1994), table 3, and (2010), table 2, N = 1, constant ("c"). */
static const mackinnon_t MACKINNON_C = {
    .tau_max = 2.74,
    .tau_min = -18.83,
    .tau_star = -1.61,
    .smallp = {2.1659, 1.4412, 3.8269e-2},
    .largep = {1.7339, 9.3202e-1, -1.2745e-1, -1.0368e-2},
    .crit = {{-3.43035, -6.5393, -16.786, -79.433},
             {-2.86154, -2.8903, -4.234, -40.040},
             {-2.56677, -1.5384, -2.809, 0.0}},
};

/* The same for constant + trend ("ct"); the 1994 polynomial coefficients
 * with statsmodels' scalings (small p: 1, 1, 1e-2; large p: 1, 1e-1, 1e-1,
 * 1e-2) already applied. */
/* Same fields as MACKINNON_C: the published coefficients are data, not code. */
static const mackinnon_t MACKINNON_CT = {
    .tau_max = 0.7,
    .tau_min = -16.18,
    .tau_star = -2.89,
    .smallp = {3.2512, 1.6047, 4.9588e-2},
    .largep = {2.5261, 6.1654e-1, -3.7956e-1, -6.0285e-2},
    .crit = {{-3.95877, -9.0531, -28.428, -134.155},
             {-3.41049, -4.3904, -9.036, -45.374},
             {-3.12705, -2.5856, -3.925, -22.380}},
};

/* Horner for sum_i c[i] x^i (numpy polyval with reversed coefficients). */
static double poly(const double *c, size_t nc, double x)
{
    double v = 0.0;
    for (size_t i = nc; i-- > 0;)
        v = v * x + c[i];
    return v;
}

static double mackinnon_p(const mackinnon_t *t, double stat)
{
    if (stat > t->tau_max)
        return 1.0;
    if (stat < t->tau_min)
        return 0.0;
    if (stat <= t->tau_star)
        return gsl_cdf_ugaussian_P(poly(t->smallp, 3, stat));
    return gsl_cdf_ugaussian_P(poly(t->largep, 4, stat));
}

static void mackinnon_crit(const mackinnon_t *t, size_t nobs, double crit[3])
{
    for (int i = 0; i < 3; i++)
        crit[i] = poly(t->crit[i], 4, 1.0 / (double)nobs);
}

static const mackinnon_t *mackinnon(lw_adf_reg_t reg)
{
    return reg == LW_ADF_C ? &MACKINNON_C : &MACKINNON_CT;
}

double lw_adf_mackinnonp(double stat)
{
    return mackinnon_p(&MACKINNON_C, stat);
}

void lw_adf_mackinnoncrit(size_t nobs, double crit[3])
{
    mackinnon_crit(&MACKINNON_C, nobs, crit);
}

double lw_adf_mackinnonp_ex(double stat, lw_adf_reg_t reg)
{
    return mackinnon_p(mackinnon(reg), stat);
}

void lw_adf_mackinnoncrit_ex(size_t nobs, lw_adf_reg_t reg, double crit[3])
{
    mackinnon_crit(mackinnon(reg), nobs, crit);
}

/* Lag in 0..maxlag minimising the criterion, all on rows t = maxlag..n-2 of
 * dx; ntrend deterministic columns (1: constant; 2: constant, trend) first. */
static lw_err_t select_lag(const double *x, const double *dx, size_t n, size_t maxlag,
                           size_t ntrend, lw_adf_autolag_t autolag, size_t *best_lag,
                           double *best_ic, char *errstr, size_t errstr_size)
{
    const size_t m = n - 1 - maxlag, k = maxlag + 1 + ntrend;
    lw_nested_qr_t q;
    lw_err_t err = lw_nested_qr_alloc(&q, m, k, "adf", errstr, errstr_size);
    if (err != LW_OK)
        return err;
    gsl_matrix *A = q.A;
    gsl_vector *c = q.c;
    for (size_t r = 0; r < m; r++) {
        const size_t t = r + maxlag;
        gsl_matrix_set(A, r, 0, 1.0);
        if (ntrend == 2)
            gsl_matrix_set(A, r, 1, (double)(r + 1));
        gsl_matrix_set(A, r, ntrend, x[t]);
        for (size_t i = 1; i <= maxlag; i++)
            gsl_matrix_set(A, r, ntrend + i, dx[t - i]);
        gsl_vector_set(c, r, dx[t]);
    }
    err = lw_ols_nested_qr(A, q.tau, c, "adf", "lag-search design", errstr, errstr_size);
    if (err != LW_OK)
        goto free_all;
    /* tail = sum_{i >= L+1+ntrend} c_i^2, walking L from maxlag down to 0. */
    double tail = 0.0;
    for (size_t i = k; i < m; i++)
        tail += gsl_vector_get(c, i) * gsl_vector_get(c, i);
    bool found = false;
    for (size_t L = maxlag + 1; L-- > 0;) {
        if (L < maxlag) {
            const double ci = gsl_vector_get(c, L + 1 + ntrend);
            tail += ci * ci;
        }
        const double kk = (double)(L + 1 + ntrend);
        const double ic = lw_ols_ic(tail, m, kk, autolag == LW_ADF_AUTOLAG_BIC);
        if (!isfinite(ic)) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                            "adf: non-finite information criterion at lag %zu", L);
            goto free_all;
        }
        if (!found || ic <= *best_ic) { /* <=: walking down, ties go to the smaller lag */
            found = true;
            *best_ic = ic;
            *best_lag = L;
        }
    }
free_all:
    lw_nested_qr_free(&q);
    return err;
}

lw_err_t lw_adf(const double *x, size_t n, size_t maxlag, lw_adf_autolag_t autolag,
                lw_adf_result_t *res, char *errstr, size_t errstr_size)
{
    return lw_adf_ex(x, n, maxlag, autolag, LW_ADF_C, res, errstr, errstr_size);
}

lw_err_t lw_adf_ex(const double *x, size_t n, size_t maxlag, lw_adf_autolag_t autolag,
                   lw_adf_reg_t reg, lw_adf_result_t *res, char *errstr, size_t errstr_size)
{
    memset(res, 0, sizeof(*res));
    if (reg != LW_ADF_C && reg != LW_ADF_CT)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "adf: unknown regression %d",
                         (int)reg);
    const size_t ntrend = reg == LW_ADF_CT ? 2 : 1;
    const size_t min_n = reg == LW_ADF_CT ? LW_ADF_CT_MIN_NOBS : LW_ADF_MIN_NOBS;
    lw_err_t err = lw_stats_check_nobs("adf", n, min_n, LW_ADF_MAX_NOBS, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    bool constant = true;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "adf: x[%zu] is NaN or Inf", i);
        constant = constant && x[i] == x[0];
    }
    if (constant)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "adf: the series is constant");
    const size_t cap = n / 2 - 1 - ntrend;
    if (maxlag == LW_ADF_DEFAULT_MAXLAG) {
        maxlag = (size_t)ceil(12.0 * pow((double)n / 100.0, 0.25));
        if (maxlag > cap)
            maxlag = cap;
    } else if (maxlag > cap) {
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "adf: maxlag %zu exceeds n/2 - %zu = %zu", maxlag, 1 + ntrend, cap);
    }

    err = LW_OK;
    lw_ols_t *ols = NULL;
    double *dx = malloc((n - 1) * sizeof(double));
    double *X = malloc((n - 1) * (maxlag + 1 + ntrend) * sizeof(double));
    if (!dx || !X) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "adf: out of memory");
        goto free_bufs;
    }
    for (size_t i = 0; i + 1 < n; i++)
        dx[i] = x[i + 1] - x[i];

    size_t lag = maxlag;
    double icbest = 0.0;
    if (autolag != LW_ADF_AUTOLAG_NONE) {
        err = select_lag(x, dx, n, maxlag, ntrend, autolag, &lag, &icbest, errstr, errstr_size);
        if (err != LW_OK)
            goto free_bufs;
    }

    /* Final regression: dx_t on [x_t, dx_{t-1..t-lag}, 1 (, r + 1)], t = lag..n-2
     * (statsmodels add_trend appends the deterministic columns). */
    const size_t m = n - 1 - lag, k = lag + 1 + ntrend;
    for (size_t r = 0; r < m; r++) {
        const size_t t = r + lag;
        double *row = X + r * k;
        row[0] = x[t];
        for (size_t i = 1; i <= lag; i++)
            row[i] = dx[t - i];
        row[lag + 1] = 1.0;
        if (ntrend == 2)
            row[lag + 2] = (double)(r + 1);
    }
    err = lw_ols_new(m, k, &ols, errstr, errstr_size);
    if (err != LW_OK)
        goto free_bufs;
    lw_ols_result_t fit;
    err = lw_ols_fit(ols, X, dx + lag, m, k, LW_OLS_COV, 0, &fit, errstr, errstr_size);
    if (err != LW_OK)
        goto free_ols;
    res->stat = fit.params[0] / fit.bse[0];
    if (!isfinite(res->stat)) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STATS, "adf: non-finite statistic");
        goto free_ols;
    }
    res->pvalue = lw_adf_mackinnonp_ex(res->stat, reg);
    res->usedlag = lag;
    res->nobs = m;
    res->maxlag = maxlag;
    res->icbest = icbest;
    lw_adf_mackinnoncrit_ex(m, reg, res->crit);

free_ols:
    lw_ols_destroy(ols);
free_bufs:
    free(X);
    free(dx);
    if (err != LW_OK)
        memset(res, 0, sizeof(*res));
    return err;
}
