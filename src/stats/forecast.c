/*
 * forecast.c - rolling-origin one-step forecasts and the Clark-West (2007)
 * test; definitions and sources in forecast.h.
 *
 * Steps:
 *   1. Build both designs over rows t = L..n-1 (model (a) is a column prefix
 *      of (b) but lw_breaks_recursive wants a dense row-major matrix, so (a)
 *      gets its own copy: m k_a doubles, cheap).
 *   2. lw_breaks_recursive on each: before row t is added to the Givens QR of
 *      rows L..t-1 the prediction z_t' b_{t-1} is taken, which is exactly the
 *      expanding-window refit forecast, at O(k^2) per origin instead of
 *      O(t k^2) for a refit (breaks.c explains the numerics).
 *   3. Errors, RMSEs, the adjusted differences f_t and their t statistic,
 *      accumulated in one pass each (two-pass mean/variance for f).
 * Rejected: refitting with ols.c at each origin (tests/test_forecast.c
 * times it: ~0.9 s for one edge at 730 points and k_b = 57, against ~3 ms
 * for both models here); Sherman-Morrison updates of (X'X)^-1 (half the
 * flops, but the error grows with the number of updates: statsmodels'
 * recursive_olsresiduals drifts to 1e-7 on tests/data/stats_refs2).
 * Possible 20% saving not taken: (a)'s columns are a prefix of (b)'s, so
 * (a)'s R factor is the leading block of (b)'s and one sweep could serve both.
 */
#include "leadwatch/stats/forecast.h"

#include "leadwatch/stats/breaks.h"
#include "leadwatch/stats/ols.h"

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lw_err_t record(lw_forecast_t *res, lw_err_t err, const char *errstr)
{
    return lw_stats_record(res, sizeof *res, &res->status, res->reason, sizeof res->reason, err,
                           errstr);
}

void lw_forecast_sums(const double *y, const double *pa, const double *pb, size_t R, size_t m,
                      lw_forecast_sums_t *s)
{
    const size_t P = m - R;
    double ssa = 0.0, ssb = 0.0, fsum = 0.0, yss = 0.0;
    for (size_t i = R; i < m; i++) {
        const double ea = y[i] - pa[i], eb = y[i] - pb[i], d = pa[i] - pb[i];
        yss += y[i] * y[i];
        ssa += ea * ea;
        ssb += eb * eb;
        fsum += ea * ea - (eb * eb - d * d);
    }
    const double fmean = fsum / (double)P;
    double fss = 0.0;
    for (size_t i = R; i < m; i++) {
        const double ea = y[i] - pa[i], eb = y[i] - pb[i], d = pa[i] - pb[i];
        const double f = ea * ea - (eb * eb - d * d) - fmean;
        fss += f * f;
    }
    s->ssa = ssa;
    s->ssb = ssb;
    s->yss = yss;
    s->fmean = fmean;
    s->fsd = sqrt(fss / (double)(P - 1));
}

void lw_forecast_fill(lw_forecast_t *res, size_t P, const lw_forecast_sums_t *s)
{
    res->noos = P;
    res->mse_a = s->ssa / (double)P;
    res->mse_b = s->ssb / (double)P;
    res->rmse_a = sqrt(res->mse_a);
    res->rmse_b = sqrt(res->mse_b);
    res->rel_rmse_change = 1.0 - res->rmse_b / res->rmse_a;
    res->cw_mean = s->fmean;
    res->cw_se = s->fsd / sqrt((double)P);
    res->cw_t = s->fmean / res->cw_se;
    res->cw_p = gsl_cdf_ugaussian_Q(res->cw_t);
}

lw_err_t lw_forecast_oos(const double *y, const double *x, size_t n, size_t ylags, size_t xlags,
                         size_t initial, lw_forecast_t *res, double *pred_a, double *pred_b,
                         char *errstr, size_t errstr_size)
{
    char localerr[LW_FORECAST_REASON_SIZE];
    errstr = lw_stats_errbuf(errstr, &errstr_size, localerr, sizeof localerr);
    errstr[0] = '\0';
    memset(res, 0, sizeof(*res));
    if (ylags > LW_FORECAST_MAX_LAGS || xlags < 1 || xlags > LW_FORECAST_MAX_LAGS ||
        n > LW_FORECAST_MAX_NOBS)
        return record(res,
                      lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                "forecast: need ylags <= %u, 1 <= xlags <= %u, n <= %u",
                                LW_FORECAST_MAX_LAGS, LW_FORECAST_MAX_LAGS, LW_FORECAST_MAX_NOBS),
                      errstr);
    const size_t L = ylags > xlags ? ylags : xlags;
    const size_t ka = 1 + ylags, kb = ka + xlags;
    const size_t m = n > L ? n - L : 0;
    size_t R = initial;
    if (R == 0) {
        R = (m + 1) / 2;
        if (R < kb + LW_FORECAST_MIN_DF)
            R = kb + LW_FORECAST_MIN_DF;
    }
    if (R < kb + 1 || R + LW_FORECAST_MIN_OOS > m) {
        const size_t rmin = initial ? initial : kb + LW_FORECAST_MIN_DF;
        const size_t need = L + (rmin > kb + 1 ? rmin : kb + 1) + LW_FORECAST_MIN_OOS;
        return record(res,
                      lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                "forecast: %zu points are too few for %zu+%zu lags with a "
                                "%zu-row first window (need at least %zu, and initial > %zu)",
                                n, ylags, xlags, R, need > 2 * (L + kb) ? need : 2 * (L + kb), kb),
                      errstr);
    }
    bool constant = true;
    for (size_t t = 1; t < n && constant; t++)
        constant = y[t] == y[0];
    if (constant)
        return record(res, lw_seterr(errstr, errstr_size, LW_ERR_STATS, "forecast: y is constant"),
                      errstr);
    if (!lw_stats_all_finite(y, n) || !lw_stats_all_finite(x, n))
        return record(
            res,
            lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "forecast: NaN or Inf in the input"),
            errstr);

    lw_err_t err = LW_OK;
    double *Zb = malloc(m * kb * sizeof(double));
    double *Za = malloc(m * ka * sizeof(double));
    double *buf = malloc(3 * m * sizeof(double));
    if (!Zb || !Za || !buf) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "forecast: out of memory");
        goto free_bufs;
    }
    double *yy = buf, *pa = buf + m, *pb = buf + 2 * m;
    for (size_t t = L; t < n; t++) {
        double *rb = Zb + (t - L) * kb;
        double *ra = Za + (t - L) * ka;
        rb[0] = ra[0] = 1.0;
        for (size_t j = 1; j <= ylags; j++)
            rb[j] = ra[j] = y[t - j];
        for (size_t j = 1; j <= xlags; j++)
            rb[ylags + j] = x[t - j];
        yy[t - L] = y[t];
    }
    err = lw_breaks_recursive(yy, Za, m, ka, R, pa, NULL, errstr, errstr_size);
    if (err == LW_OK)
        err = lw_breaks_recursive(yy, Zb, m, kb, R, pb, NULL, errstr, errstr_size);
    if (err != LW_OK)
        goto free_bufs;

    lw_forecast_sums_t s;
    lw_forecast_sums(yy, pa, pb, R, m, &s);
    /* Errors at rounding level of y itself mean the forecasts are exact. */
    if (!(s.ssa > DBL_EPSILON * s.yss) || !(s.ssb > DBL_EPSILON * s.yss) || !(s.fsd > 0.0) ||
        !isfinite(s.ssa) || !isfinite(s.ssb) || !isfinite(s.fsd)) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                        "forecast: the forecasts are exact or identical (no variance to test)");
        goto free_bufs;
    }
    /* The sample's layout; analyze.c step 5 sets the same fields from its own rows. */
    res->n = n;
    res->ylags = ylags;
    res->xlags = xlags;
    res->first_row = L;
    res->initial = R;
    res->first_forecast = L + R;
    lw_forecast_fill(res, m - R, &s);
    if (pred_a || pred_b) {
        for (size_t t = 0; t < n; t++) {
            const bool oos = t >= L + R;
            if (pred_a)
                pred_a[t] = oos ? pa[t - L] : 0.0;
            if (pred_b)
                pred_b[t] = oos ? pb[t - L] : 0.0;
        }
    }
free_bufs:
    free(buf);
    free(Za);
    free(Zb);
    return record(res, err, errstr);
}
