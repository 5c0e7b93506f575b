/*
 * kpss.c - KPSS stationarity test (definitions, bandwidth rules and the
 * critical-value table in kpss.h; statsmodels kpss of 0.13).
 *
 * Steps: residuals (demeaned, or detrended by the closed-form simple
 * regression on t = 1..n, which equals statsmodels' OLS on [1, t] to
 * rounding), partial sums, the autocovariance sums g_i = sum_t e_t e_{t-i}
 * computed once per lag needed, then eta / s^2.  Sums are plain left-to-right
 * loops like numpy's dot/sum of contiguous float64 (pairwise there; the
 * difference is a few ulps, far inside the tests' 1e-9).
 *
 * The automatic bandwidth is an integer truncation of a real number, so a
 * statistic near the truncation boundary could pick a different lag than
 * statsmodels by rounding; the reference tests check the lag exactly.
 */
#include "leadwatch/stats/kpss.h"

#include "leadwatch/stats/ols.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* KPSS (1992) table 1: upper-tail critical values at 10%, 5%, 2.5%, 1%. */
static const double KPSS_CRIT_C[4] = {0.347, 0.463, 0.574, 0.739};
static const double KPSS_CRIT_CT[4] = {0.119, 0.146, 0.176, 0.216};
static const double KPSS_PVALS[4] = {0.10, 0.05, 0.025, 0.01};

double lw_kpss_pvalue(double stat, lw_kpss_reg_t reg, int *bound)
{
    const double *crit = reg == LW_KPSS_CT ? KPSS_CRIT_CT : KPSS_CRIT_C;
    *bound = 0;
    if (!(stat > crit[0])) { /* numpy.interp clamps to the end values (NaN lands here too) */
        *bound = 1;
        return KPSS_PVALS[0];
    }
    if (stat >= crit[3]) {
        *bound = -1;
        return KPSS_PVALS[3];
    }
    size_t i = 0;
    while (stat > crit[i + 1])
        i++;
    const double w = (stat - crit[i]) / (crit[i + 1] - crit[i]);
    return KPSS_PVALS[i] + w * (KPSS_PVALS[i + 1] - KPSS_PVALS[i]);
}

/* sum_{t=lag}^{n-1} e_t e_{t-lag} */
static double autocov_sum(const double *e, size_t n, size_t lag)
{
    double s = 0.0;
    for (size_t t = lag; t < n; t++)
        s += e[t] * e[t - lag];
    return s;
}

/* Hobijn, Franses & Ooms (1998) bandwidth, as statsmodels _kpss_autolag. */
static bool auto_lags(const double *e, size_t n, size_t *out)
{
    const double nd = (double)n;
    const size_t covlags = (size_t)pow(nd, 2.0 / 9.0);
    double s0 = autocov_sum(e, n, 0) / nd, s1 = 0.0;
    for (size_t i = 1; i <= covlags && i < n; i++) {
        const double g = autocov_sum(e, n, i) / (nd / 2.0);
        s0 += g;
        s1 += (double)i * g;
    }
    const double sh = s1 / s0;
    const double l = 1.1447 * pow(sh * sh, 1.0 / 3.0) * pow(nd, 1.0 / 3.0);
    if (!isfinite(l) || !(s0 > 0.0))
        return false;
    *out = l >= (double)n ? n - 1 : (size_t)l;
    return true;
}

lw_err_t lw_kpss(const double *x, size_t n, lw_kpss_reg_t reg, size_t nlags, lw_kpss_result_t *res,
                 char *errstr, size_t errstr_size)
{
    memset(res, 0, sizeof(*res));
    if (reg != LW_KPSS_C && reg != LW_KPSS_CT)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "kpss: unknown regression %d",
                         (int)reg);
    lw_err_t err =
        lw_stats_check_nobs("kpss", n, LW_KPSS_MIN_NOBS, LW_KPSS_MAX_NOBS, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    if (nlags != LW_KPSS_AUTO && nlags != LW_KPSS_LEGACY && nlags >= n)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "kpss: nlags %zu must be below the %zu observations", nlags, n);
    double mean = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "kpss: x[%zu] is NaN or Inf", i);
        mean += x[i];
    }
    const double nd = (double)n;
    mean /= nd;

    double *e = malloc(n * sizeof(double));
    if (!e)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "kpss: out of memory");
    err = LW_OK;
    if (reg == LW_KPSS_C) {
        for (size_t i = 0; i < n; i++)
            e[i] = x[i] - mean;
    } else {
        /* x on [1, t], t = 1..n: slope = sum (t - tbar)(x - xbar) / sum (t - tbar)^2 */
        const double tbar = (nd + 1.0) / 2.0;
        double sxy = 0.0, sxx = 0.0;
        for (size_t i = 0; i < n; i++) {
            const double dt = (double)(i + 1) - tbar;
            sxy += dt * (x[i] - mean);
            sxx += dt * dt;
        }
        const double b = sxy / sxx;
        for (size_t i = 0; i < n; i++)
            e[i] = (x[i] - mean) - b * ((double)(i + 1) - tbar);
    }
    const double g0 = autocov_sum(e, n, 0);
    double xscale = 0.0;
    for (size_t i = 0; i < n; i++)
        xscale += (x[i] - mean) * (x[i] - mean);
    if (!(g0 > 1e-24 * xscale) || !(xscale > 0.0)) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "kpss: the series is %s",
                        reg == LW_KPSS_C ? "constant" : "exactly linear in time");
        goto free_e;
    }

    size_t l = nlags;
    if (nlags == LW_KPSS_LEGACY) {
        l = (size_t)ceil(12.0 * pow(nd / 100.0, 0.25));
        if (l > n - 1)
            l = n - 1;
    } else if (nlags == LW_KPSS_AUTO && !auto_lags(e, n, &l)) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                        "kpss: automatic bandwidth undefined (non-positive long-run variance)");
        goto free_e;
    }

    double eta = 0.0, S = 0.0;
    for (size_t i = 0; i < n; i++) {
        S += e[i];
        eta += S * S;
    }
    eta /= nd * nd;
    double s2 = g0;
    for (size_t i = 1; i <= l; i++)
        s2 += 2.0 * autocov_sum(e, n, i) * (1.0 - ((double)i / ((double)l + 1.0)));
    s2 /= nd;
    if (!(s2 > 0.0) || !isfinite(eta / s2)) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                        "kpss: long-run variance %g is not positive at bandwidth %zu", s2, l);
        goto free_e;
    }
    res->stat = eta / s2;
    res->nlags = l;
    res->pvalue = lw_kpss_pvalue(res->stat, reg, &res->p_bound);
    memcpy(res->crit, reg == LW_KPSS_CT ? KPSS_CRIT_CT : KPSS_CRIT_C, sizeof(res->crit));
free_e:
    free(e);
    if (err != LW_OK)
        memset(res, 0, sizeof(*res));
    return err;
}
