/*
 * sensitivity.c - minimum detectable relative change of an input over an
 * experiment window (design, formula and bandwidth in sensitivity.h).
 *
 * Steps: take the last m = min(n, history) buckets; demean them (or take
 * the residuals of an OLS fit on [1, t], via ols.c, with `detrend`); the
 * long-run variance is hac.c's Newey-West estimate for the mean of u, i.e.
 * the HAC covariance of a regression of u on a constant, times m (with
 * X = ones, (X'X)^-1 = 1/m and V = S / m^2, so Omega = S / m = m V).
 * Reusing hac.c keeps one implementation of the Bartlett weights, already
 * checked against statsmodels.  Then the normal-approximation MDE.
 */
#include "leadwatch/stats/sensitivity.h"

#include "leadwatch/stats/hac.h"
#include "leadwatch/stats/ols.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lw_sens_opts_init(lw_sens_opts_t *opts)
{
    opts->alpha = 0.05;
    opts->power = 0.8;
    opts->horizon = 14;
    opts->baseline = 0;
    opts->history = LW_SENS_DEFAULT_HISTORY;
    opts->bandwidth = LW_SENS_DEFAULT_BANDWIDTH;
    opts->detrend = false;
    opts->threshold = 0.10;
}

static lw_err_t record(lw_sens_t *res, lw_err_t err, const char *errstr)
{
    return lw_stats_record(res, sizeof *res, &res->status, res->reason, sizeof res->reason, err,
                           errstr);
}

/* Residuals of u on [1, t] (t = 0..m-1) in place. */
static lw_err_t detrend(double *u, size_t m, char *errstr, size_t errstr_size)
{
    lw_ols_t *ols = NULL;
    double *X = malloc(2 * m * sizeof(double));
    double *yy = malloc(m * sizeof(double));
    lw_err_t err = LW_OK;
    if (!X || !yy) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "sensitivity: out of memory");
        goto free_bufs;
    }
    err = lw_ols_new(m, 2, &ols, errstr, errstr_size);
    if (err != LW_OK)
        goto free_bufs;
    for (size_t t = 0; t < m; t++) {
        X[2 * t] = 1.0;
        X[2 * t + 1] = (double)t;
        yy[t] = u[t];
    }
    lw_ols_result_t fit;
    err = lw_ols_fit(ols, X, yy, m, 2, 0, 0, &fit, errstr, errstr_size);
    if (err == LW_OK)
        memcpy(u, fit.resid, m * sizeof(double));
    lw_ols_destroy(ols);
free_bufs:
    free(yy);
    free(X);
    return err;
}

lw_err_t lw_sensitivity_mde(const double *x, size_t n, const lw_sens_opts_t *opts, lw_sens_t *res,
                            char *errstr, size_t errstr_size)
{
    char localerr[LW_SENS_REASON_SIZE];
    errstr = lw_stats_errbuf(errstr, &errstr_size, localerr, sizeof localerr);
    errstr[0] = '\0';
    memset(res, 0, sizeof(*res));
    const size_t H = opts->horizon;
    const size_t B = opts->baseline ? opts->baseline : H;
    if (!(opts->alpha > 0.0 && opts->alpha < 1.0) || !(opts->power > 0.0 && opts->power < 1.0) ||
        H < 1 || opts->history < 1 || !(opts->threshold > 0.0) || n > LW_SENS_MAX_NOBS)
        return record(res,
                      lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                "sensitivity: need 0 < alpha, power < 1, horizon >= 1, "
                                "history >= 1, threshold > 0"),
                      errstr);
    const size_t m = n < opts->history ? n : opts->history;
    const size_t need = B + 2 > LW_SENS_MIN_HISTORY ? B + 2 : LW_SENS_MIN_HISTORY;
    if (m < need || B > m)
        return record(res,
                      lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                "sensitivity: %zu buckets of history are too few (need at least "
                                "%zu, with history >= %zu)",
                                m, need, need),
                      errstr);
    const double *h = x + (n - m);
    for (size_t t = 0; t < m; t++)
        if (!isfinite(h[t]))
            return record(res,
                          lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                    "sensitivity: NaN or Inf at index %zu", n - m + t),
                          errstr);

    lw_err_t err = LW_OK;
    double *u = malloc((m + m + lw_hac_work_size(1)) * sizeof(double));
    if (!u) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "sensitivity: out of memory");
        goto done;
    }
    double *ones = u + m, *work = ones + m;
    double mean = 0.0, level = 0.0;
    for (size_t t = 0; t < m; t++)
        mean += h[t];
    mean /= (double)m;
    for (size_t t = m - B; t < m; t++)
        level += h[t];
    level /= (double)B;
    bool constant = true;
    for (size_t t = 0; t < m; t++) {
        u[t] = h[t] - mean;
        ones[t] = 1.0;
        constant = constant && h[t] == h[0];
    }
    if (constant) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                        "sensitivity: the history is constant (no variance, MDE undefined)");
        goto free_u;
    }
    if (opts->detrend) {
        err = detrend(u, m, errstr, errstr_size);
        if (err != LW_OK)
            goto free_u;
    }
    const size_t L =
        opts->bandwidth == LW_SENS_DEFAULT_BANDWIDTH ? lw_hac_default_lags(m) : opts->bandwidth;
    const double xtx_inv = 1.0 / (double)m;
    double V = 0.0;
    err = lw_hac_cov(ones, u, m, 1, &xtx_inv, L, false, &V, work, errstr, errstr_size);
    if (err != LW_OK)
        goto free_u;
    double g0 = 0.0;
    for (size_t t = 0; t < m; t++)
        g0 += u[t] * u[t];
    g0 /= (double)m;
    const double lrv = V * (double)m;
    if (!(lrv > 0.0) || !isfinite(lrv)) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                        "sensitivity: the long-run variance is zero (the history is a straight "
                        "line)");
        goto free_u;
    }
    if (!(level > 0.0)) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                        "sensitivity: the level (mean of the last %zu buckets) is %g; a relative "
                        "change needs a positive level",
                        B, level);
        goto free_u;
    }
    *res = (lw_sens_t){
        .nobs = m,
        .horizon = H,
        .baseline = B,
        .bandwidth = L,
        .level = level,
        .mean = mean,
        .lrv = lrv,
        .var = g0,
        .se = sqrt(lrv * (1.0 / (double)H + 1.0 / (double)B)),
        .z_alpha = gsl_cdf_ugaussian_Pinv(1.0 - opts->alpha / 2.0),
        .z_power = gsl_cdf_ugaussian_Pinv(opts->power),
    };
    res->mde_abs = (res->z_alpha + res->z_power) * res->se;
    res->mde_rel = res->mde_abs / level;
    res->sensitive = res->mde_rel <= opts->threshold;
free_u:
    free(u);
done:
    return record(res, err, errstr);
}
