/*
 * ccf.c - prewhitened cross-correlation (definitions, conventions and the
 * statsmodels / R functions matched are in ccf.h).
 *
 * AR order search: the candidate models share their rows (t = max_ar..n-1)
 * and are nested (columns [1, x_{t-1}, ..., x_{t-max_ar}], AR(p) = the first
 * p + 1 columns), so one Householder QR of the widest design (ols.c,
 * lw_ols_qr_qty) gives every
 * SSR: with c = Q'x, SSR_p = sum_{i >= p+1} c_i^2 (the same device as
 * adf.c).  x is centred first and each column scaled to unit norm; neither
 * changes an SSR, and both help the conditioning for series with a large
 * level.  The rank test stops the search before the first column that is
 * (numerically) a combination of the earlier ones.  The chosen order is
 * refitted with ols.c (pivoted QR) on its own, longer sample.
 *
 * The correlations are direct O(N K) sums; an FFT (statsmodels' default)
 * only pays off for K close to N, and the direct sum is the definition.
 */
#include "leadwatch/stats/ccf.h"

#include "leadwatch/stats/lagsum.h"
#include "leadwatch/stats/ols.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t lw_ccf_default_max_ar(size_t n)
{
    if (n < 2)
        return 0;
    size_t p = (size_t)floor(10.0 * log10((double)n));
    if (p > n / 4)
        p = n / 4;
    if (p > LW_CCF_MAX_AR)
        p = LW_CCF_MAX_AR;
    return p;
}

static lw_err_t record(lw_ccf_t *res, lw_err_t err, const char *errstr)
{
    return lw_stats_record(res, sizeof *res, &res->status, res->reason, sizeof res->reason, err,
                           errstr);
}

/*
 * AIC-minimising order in 0..pmax on the common rows pmax..n-1 of the
 * centred series xc.  *pbest and *aic_best on success.
 */
static lw_err_t select_order(const double *xc, size_t n, size_t pmax, size_t *pbest,
                             double *aic_best, char *errstr, size_t errstr_size)
{
    const size_t m = n - pmax, k = pmax + 1;
    lw_err_t err = LW_OK;
    gsl_matrix *A = gsl_matrix_alloc(m, k);
    gsl_vector *c = gsl_vector_alloc(m);
    double *nrm = malloc(k * sizeof(double));
    if (!A || !c || !nrm) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "ccf: out of memory");
        goto free_all;
    }
    for (size_t r = 0; r < m; r++) {
        const size_t t = r + pmax;
        gsl_matrix_set(A, r, 0, 1.0);
        for (size_t i = 1; i <= pmax; i++)
            gsl_matrix_set(A, r, i, xc[t - i]);
        gsl_vector_set(c, r, xc[t]);
    }
    for (size_t j = 0; j < k; j++) {
        gsl_vector_view col = gsl_matrix_column(A, j);
        nrm[j] = gsl_blas_dnrm2(&col.vector);
        if (nrm[j] > 0.0)
            gsl_vector_scale(&col.vector, 1.0 / nrm[j]);
    }
    /* A is packed (gsl_matrix_alloc): the four-lane QR of ols.c, the reflectors of
     * gsl_linalg_QR_decomp (issue 17: this QR was most of the CCF step) */
    if ((err = lw_ols_qr_qtm_upper(A->data, m, k, c->data, 1, errstr, errstr_size)) != LW_OK)
        goto free_all;
    /* Usable orders: all columns up to p independent of the earlier ones. */
    size_t pusable = 0;
    while (pusable < pmax && nrm[pusable + 1] > 0.0 &&
           fabs(gsl_matrix_get(A, pusable + 1, pusable + 1)) > LW_OLS_RANK_TOL)
        pusable++;
    double tail = 0.0; /* sum_{i >= p+1} c_i^2 */
    for (size_t i = k; i < m; i++)
        tail += gsl_vector_get(c, i) * gsl_vector_get(c, i);
    for (size_t i = pmax; i > pusable; i--)
        tail += gsl_vector_get(c, i) * gsl_vector_get(c, i);
    bool found = false;
    for (size_t p = pusable + 1; p-- > 0;) {
        if (p < pusable) {
            const double ci = gsl_vector_get(c, p + 1);
            tail += ci * ci;
        }
        const double aic = lw_ols_ic(tail, m, (double)(p + 1), false);
        if (!isfinite(aic)) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                            "ccf: non-finite AIC for AR(%zu) (x fits exactly)", p);
            goto free_all;
        }
        if (!found || aic <= *aic_best) { /* walking down: ties go to the smaller p */
            found = true;
            *aic_best = aic;
            *pbest = p;
        }
    }
free_all:
    free(nrm);
    gsl_vector_free(c);
    gsl_matrix_free(A);
    return err;
}

/* Refit AR(p) on rows p..n-1 (p >= 1) with ols.c: c into *c0, phi into phi. */
static lw_err_t fit_ar(const double *x, size_t n, size_t p, double *c0, double *phi, char *errstr,
                       size_t errstr_size)
{
    const size_t m = n - p, k = p + 1;
    lw_ols_t *ols = NULL;
    double *X = malloc(m * k * sizeof(double));
    lw_err_t err = X ? lw_ols_new(m, k, &ols, errstr, errstr_size) : LW_ERR_NOMEM;
    if (!X) {
        lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "ccf: out of memory");
        goto free_x;
    }
    if (err != LW_OK)
        goto free_x;
    for (size_t r = 0; r < m; r++) {
        X[r * k] = 1.0;
        for (size_t i = 1; i <= p; i++)
            X[r * k + i] = x[r + p - i];
    }
    lw_ols_result_t fit;
    err = lw_ols_fit(ols, X, x + p, m, k, 0, 0, &fit, errstr, errstr_size);
    if (err == LW_OK) {
        *c0 = fit.params[0];
        for (size_t i = 0; i < p; i++)
            phi[i] = fit.params[1 + i];
    }
    lw_ols_destroy(ols);
free_x:
    free(X);
    return err;
}

static bool is_constant(const double *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[0])
            return false;
    return true;
}

lw_err_t lw_ccf_prewhitened(const double *x, const double *y, size_t n, size_t max_lag,
                            size_t max_ar, lw_ccf_t *res, double *r, char *errstr,
                            size_t errstr_size)
{
    char localerr[LW_CCF_REASON_SIZE];
    errstr = lw_stats_errbuf(errstr, &errstr_size, localerr, sizeof localerr);
    errstr[0] = '\0';
    memset(res, 0, sizeof(*res));
    if (max_ar == LW_CCF_DEFAULT_AR)
        max_ar = lw_ccf_default_max_ar(n);
    if (max_lag < 1 || max_lag > LW_CCF_MAX_LAG || max_ar > LW_CCF_MAX_AR || n > LW_CCF_MAX_NOBS)
        return record(res,
                      lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                "ccf: need 1 <= max_lag <= %u, max_ar <= %u, n <= %u",
                                LW_CCF_MAX_LAG, LW_CCF_MAX_AR, LW_CCF_MAX_NOBS),
                      errstr);
    /* Order search needs n - max_ar >= 2 (max_ar + 1) + 1; the CCF needs
     * N = n - p >= max_lag + 2 for every p <= max_ar. */
    size_t need = 3 * max_ar + 3;
    if (need < max_ar + max_lag + 2)
        need = max_ar + max_lag + 2;
    if (n < need)
        return record(res,
                      lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                "ccf: %zu points are too few for lags up to %zu with AR order up "
                                "to %zu (need at least %zu)",
                                n, max_lag, max_ar, need),
                      errstr);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || !isfinite(y[i]))
            return record(
                res,
                lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "ccf: NaN or Inf at index %zu", i),
                errstr);
    if (is_constant(x, n) || is_constant(y, n))
        return record(res,
                      lw_seterr(errstr, errstr_size, LW_ERR_STATS, "ccf: %s is constant",
                                is_constant(x, n) ? "x" : "y"),
                      errstr);

    lw_err_t err = LW_OK;
    double *work = malloc(3 * n * sizeof(double));
    if (!work) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "ccf: out of memory");
        goto done;
    }
    double *xc = work, *xw = work + n, *yw = work + 2 * n;
    double xmean = 0.0;
    for (size_t i = 0; i < n; i++)
        xmean += x[i];
    xmean /= (double)n;
    for (size_t i = 0; i < n; i++)
        xc[i] = x[i] - xmean;

    size_t p = 0;
    double aic = 0.0;
    if (max_ar > 0) {
        err = select_order(xc, n, max_ar, &p, &aic, errstr, errstr_size);
        if (err != LW_OK)
            goto free_work;
    } else {
        double ss = 0.0;
        for (size_t i = 0; i < n; i++)
            ss += xc[i] * xc[i];
        aic = -2.0 * lw_ols_llf(ss, n) + 2.0;
    }
    res->ar_const = xmean;
    if (p > 0) {
        err = fit_ar(x, n, p, &res->ar_const, res->ar_coef, errstr, errstr_size);
        if (err != LW_OK)
            goto free_work;
    }

    const size_t N = n - p;
    double mx = 0.0, my = 0.0;
    for (size_t t = p; t < n; t++) {
        double ax = x[t], ay = y[t];
        for (size_t i = 1; i <= p; i++) {
            ax -= res->ar_coef[i - 1] * x[t - i];
            ay -= res->ar_coef[i - 1] * y[t - i];
        }
        xw[t - p] = ax;
        yw[t - p] = ay;
        mx += ax;
        my += ay;
    }
    mx /= (double)N;
    my /= (double)N;
    double sxx = 0.0, syy = 0.0;
    for (size_t t = 0; t < N; t++) {
        xw[t] -= mx;
        yw[t] -= my;
        sxx += xw[t] * xw[t];
        syy += yw[t] * yw[t];
    }
    /* Both sums are N s^2, so r(k) = sum / sqrt(sxx syy); the 1/N factors cancel. */
    const double denom = sqrt(sxx) * sqrt(syy);
    if (!(denom > 0.0) || !isfinite(denom)) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                        "ccf: a prewhitened series has no variance");
        goto free_work;
    }
    /* lag +k: x_t y_{t+k}; lag -k: x_{t+k} y_t; four lags per call (lagsum.h) */
    for (size_t k0 = 0; k0 <= max_lag; k0 += 4) {
        const size_t cnt = max_lag + 1 - k0 < 4 ? max_lag + 1 - k0 : 4;
        double sp[4], sn[4];
        lw_lagsum_cross(xw, yw, N, k0, cnt, sp, sn);
        for (size_t i = 0; i < cnt; i++) {
            r[max_lag + k0 + i] = sp[i] / denom;
            r[max_lag - k0 - i] = sn[i] / denom;
        }
    }
    /* The result's fields one by one; other results' fills share this shape only. */
    res->n = n;
    res->max_ar = max_ar;
    res->ar_order = p;
    res->ar_aic = aic;
    res->npw = N;
    res->max_lag = max_lag;
    res->band = 1.96 / sqrt((double)N);
    res->lead = 1;
    for (size_t kk = 2; kk <= max_lag; kk++)
        if (fabs(r[max_lag + kk]) > fabs(r[max_lag + res->lead]))
            res->lead = kk;
    res->lead_r = r[max_lag + res->lead];
    res->lead_significant = fabs(res->lead_r) > res->band;
free_work:
    free(work);
done:
    return record(res, err, errstr);
}
