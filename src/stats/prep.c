/*
 * prep.c - series preparation (the steps and their order are in prep.h).
 *
 * Layout: everything works on one scratch copy z[0..n) of the input with (double)NAN
 * for missing values; each step reads and rewrites z, and the last writes
 * out[].  Seasonal means are accumulated per phase (row mod P) with plain
 * sums: P <= LW_PREP_MAX_PERIOD, so the per-phase arrays live on the stack.
 *
 * Missing values: only short gaps (opts->max_gap, issue 11) are filled, by
 * linear interpolation of the seasonally adjusted (and detrended) series,
 * and counted; zero or carry-forward fills are never used, and longer gaps
 * stay missing (the analysis then uses every row whose lags are defined).
 */
#include "leadwatch/stats/prep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREP_MEDIAN_HALF 3 /* running median over 2*3+1 rows (step 3b) */

static const char *const TRANSFORM_NAMES[] = {"none", "diff", "log_diff", "auto"};

const char *lw_transform_name(lw_transform_t t)
{
    return (unsigned)t < 4 ? TRANSFORM_NAMES[t] : "?";
}

bool lw_transform_parse(const char *s, lw_transform_t *out)
{
    for (unsigned i = 0; i < 4; i++)
        if (strcmp(s, TRANSFORM_NAMES[i]) == 0) {
            *out = (lw_transform_t)i;
            return true;
        }
    return false;
}

void lw_prep_opts_default(lw_prep_opts_t *o)
{
    o->transform = LW_TRANSFORM_AUTO;
    o->season_period = 0;
    o->adf_alpha = 0.05;
    o->skip_adf = false;
    o->trend = false;
    o->defer_diff = false;
    o->holiday = NULL;
    o->outlier_z = 0.0;
    o->max_gap = 0;
}

void lw_prep_longest_run(const double *const *series, size_t nseries, size_t n, size_t *start,
                         size_t *len)
{
    size_t best_s = 0, best_l = 0, cur_s = 0, cur_l = 0;
    for (size_t t = 0; t < n; t++) {
        bool ok = true;
        for (size_t j = 0; j < nseries && ok; j++)
            ok = isfinite(series[j][t]);
        if (ok) {
            if (cur_l == 0)
                cur_s = t;
            cur_l++;
            if (cur_l >= best_l) {
                best_l = cur_l;
                best_s = cur_s;
            }
        } else {
            cur_l = 0;
        }
    }
    *start = best_s;
    *len = best_l;
}

static void set_unusable(lw_prep_info_t *info, double *out, size_t n, const char *why)
{
    info->usable = false;
    snprintf(info->note, sizeof info->note, "%s", why);
    for (size_t t = 0; t < n; t++)
        out[t] = (double)NAN;
    info->n_defined_out = 0;
}

/*
 * Steps 3 and 3': per-phase means (and, with `trend`, a linear trend fitted
 * jointly on the defined values: Frisch-Waugh, the slope of z on t after both
 * are demeaned per phase) removed; the grand mean is added back.  Without
 * trend the slope is 0 and this is the plain phase-mean adjustment.  false
 * when a phase has < 2 values.
 */
static bool seasonal_adjust(double *z, size_t n, size_t P, bool trend, double *slope)
{
    double zs[LW_PREP_MAX_PERIOD + 1], ts[LW_PREP_MAX_PERIOD + 1];
    size_t cnt[LW_PREP_MAX_PERIOD + 1];
    const size_t np = P >= 2 ? P : 1;
    memset(zs, 0, np * sizeof(double));
    memset(ts, 0, np * sizeof(double));
    memset(cnt, 0, np * sizeof(size_t));
    double gsum = 0.0;
    size_t gcnt = 0;
    for (size_t t = 0; t < n; t++)
        if (isfinite(z[t])) {
            zs[t % np] += z[t];
            ts[t % np] += (double)t;
            cnt[t % np]++;
            gsum += z[t];
            gcnt++;
        }
    for (size_t ph = 0; ph < np; ph++) {
        if (cnt[ph] < 2)
            return false;
        zs[ph] /= (double)cnt[ph];
        ts[ph] /= (double)cnt[ph];
    }
    double stz = 0.0, stt = 0.0;
    for (size_t t = 0; t < n; t++)
        if (isfinite(z[t])) {
            const double dt = (double)t - ts[t % np];
            stz += dt * (z[t] - zs[t % np]);
            stt += dt * dt;
        }
    const double b = trend && stt > 0.0 ? stz / stt : 0.0;
    const double gmean = gsum / (double)gcnt;
    for (size_t t = 0; t < n; t++)
        if (isfinite(z[t]))
            z[t] = z[t] - zs[t % np] - b * ((double)t - ts[t % np]) + gmean;
    *slope = b;
    return true;
}

static int cmp_dbl(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..k) (k >= 1), sorting v in place. */
static double median_sort(double *v, size_t k)
{
    qsort(v, k, sizeof(double), cmp_dbl);
    return k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
}

/* Median of v[0..k) (1 <= k <= 7, the running window), sorting v in place by
 * a stable insertion sort: the stable order glibc's qsort (a merge sort) gives
 * with cmp_dbl, so the same element at each position (-0.0 and +0.0 too) and
 * the same median at a fraction of the cost (issue 17: 15,000 windows per
 * hourly analysis).  tests/test_prep.c checks it against median_sort. */
double lw_prep_median_small(double *v, size_t k)
{
    for (size_t i = 1; i < k; i++) {
        const double x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
    return k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
}

/*
 * Step 3b on the adjusted series r: flag[t] = 1 for outliers.  Returns the
 * count.  scratch holds 2n doubles.
 */
static size_t find_outliers(const double *r, size_t n, double zthr, unsigned char *flag,
                            double *scratch)
{
    double *d = scratch, *tmp = scratch + n;
    size_t nd = 0;
    for (size_t t = 0; t < n; t++) {
        d[t] = (double)NAN;
        if (!isfinite(r[t]))
            continue;
        double win[2 * PREP_MEDIAN_HALF + 1];
        size_t k = 0;
        const size_t lo = t >= PREP_MEDIAN_HALF ? t - PREP_MEDIAN_HALF : 0;
        for (size_t j = lo; j < n && j <= t + PREP_MEDIAN_HALF; j++)
            if (isfinite(r[j]))
                win[k++] = r[j];
        if (k >= 3) {
            d[t] = r[t] - lw_prep_median_small(win, k);
            tmp[nd++] = d[t];
        }
    }
    if (nd < 10)
        return 0;
    const double med = median_sort(tmp, nd);
    for (size_t i = 0; i < nd; i++)
        tmp[i] = fabs(tmp[i] - med);
    const double scale = 1.4826 * median_sort(tmp, nd);
    if (!(scale > 0.0))
        return 0;
    size_t cnt = 0;
    for (size_t t = 0; t < n; t++)
        if (isfinite(d[t]) && fabs(d[t] - med) > zthr * scale) {
            flag[t] = 1;
            cnt++;
        }
    return cnt;
}

/* Step 3c: fill runs of <= max_gap missing values between two defined ones. */
static size_t interpolate_gaps(double *z, size_t n, size_t max_gap)
{
    size_t filled = 0, t = 0;
    while (t < n) {
        if (isfinite(z[t])) {
            t++;
            continue;
        }
        size_t e = t;
        while (e < n && !isfinite(z[e]))
            e++;
        if (t > 0 && e < n && e - t <= max_gap) {
            const double a = z[t - 1], b = z[e], len = (double)(e - t + 1);
            for (size_t j = t; j < e; j++)
                z[j] = a + (b - a) * (double)(j - t + 1) / len;
            filled += e - t;
        }
        t = e;
    }
    return filled;
}

lw_err_t lw_prep_series(const double *x, size_t n, const lw_prep_opts_t *opts, double *out,
                        lw_prep_info_t *info, char *errstr, size_t errstr_size)
{
    memset(info, 0, sizeof(*info));
    if (opts->season_period == 1 || opts->season_period > LW_PREP_MAX_PERIOD)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "prep: seasonal period %zu outside 2..%u (0 = none)", opts->season_period,
                         LW_PREP_MAX_PERIOD);
    if (!(opts->adf_alpha > 0.0 && opts->adf_alpha < 1.0))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "prep: adf_alpha %g outside (0, 1)",
                         opts->adf_alpha);
    if ((unsigned)opts->transform > LW_TRANSFORM_AUTO)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "prep: unknown transform");
    if (opts->skip_adf && opts->transform == LW_TRANSFORM_AUTO)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "prep: transform auto needs the ADF test (skip_adf set)");

    info->requested = opts->transform;
    info->n = n;
    info->usable = true;

    double sum = 0.0;
    size_t ndef = 0;
    for (size_t t = 0; t < n; t++) {
        const double v = x[t];
        if (isnan(v)) {
            info->n_missing++;
            out[t] = (double)NAN;
        } else if (!isfinite(v)) {
            info->n_nonfinite++;
            out[t] = (double)NAN;
        } else {
            if (v <= 0.0)
                info->n_nonpositive++;
            sum += v;
            ndef++;
            out[t] = v;
        }
    }
    if (ndef == 0) {
        set_unusable(info, out, n,
                     info->n_nonfinite ? "no finite values (all missing or infinite)"
                                       : "no values (all missing)");
        return LW_OK;
    }
    info->level_mean = sum / (double)ndef;

    /* 2. log */
    if (opts->transform == LW_TRANSFORM_LOG_DIFF && info->n_nonpositive > 0) {
        char why[LW_PREP_NOTE_SIZE];
        snprintf(why, sizeof why, "log_diff needs positive values; %zu are <= 0",
                 info->n_nonpositive);
        set_unusable(info, out, n, why);
        return LW_OK;
    }
    if (opts->transform == LW_TRANSFORM_LOG_DIFF ||
        (opts->transform == LW_TRANSFORM_AUTO && info->n_nonpositive == 0)) {
        info->log = true;
        for (size_t t = 0; t < n; t++)
            if (isfinite(out[t]))
                out[t] = log(out[t]);
    }

    /* 2b. holidays */
    if (opts->holiday)
        for (size_t t = 0; t < n; t++)
            if (opts->holiday[t] && isfinite(out[t])) {
                out[t] = (double)NAN;
                info->n_holidays++;
            }

    /* 3. seasonal adjustment (3': with a trend), 3b. outliers, 3c. short gaps */
    const bool adjust = opts->season_period >= 2 || opts->trend;
    double *keep = NULL, *scratch = NULL;
    unsigned char *flag = NULL;
    if (opts->outlier_z > 0.0 && adjust) {
        keep = malloc(n * sizeof(double));
        scratch = malloc(2 * n * sizeof(double));
        flag = calloc(n, 1);
        if (!keep || !scratch || !flag) {
            free(keep);
            free(scratch);
            free(flag);
            return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "prep: out of memory");
        }
        memcpy(keep, out, n * sizeof(double));
    }
    for (int pass = 0; adjust && pass < 2; pass++) {
        const bool ok =
            seasonal_adjust(out, n, opts->season_period, opts->trend, &info->trend_slope);
        if (!ok) {
            char why[LW_PREP_NOTE_SIZE];
            snprintf(why, sizeof why,
                     "seasonal adjustment with period %zu needs >= 2 values in every phase",
                     opts->season_period);
            set_unusable(info, out, n, why);
            free(keep);
            free(scratch);
            free(flag);
            return LW_OK;
        }
        info->season_period = opts->season_period >= 2 ? opts->season_period : 0;
        info->detrended = opts->trend;
        if (pass == 1 || !keep)
            break;
        info->n_outliers = find_outliers(out, n, opts->outlier_z, flag, scratch);
        if (info->n_outliers == 0)
            break;
        for (size_t t = 0; t < n; t++)
            out[t] = flag[t] ? (double)NAN : keep[t];
    }
    free(keep);
    free(scratch);
    free(flag);
    if (opts->max_gap > 0)
        info->n_interpolated = interpolate_gaps(out, n, opts->max_gap);

    /* 4. ADF (4': constant + trend, and KPSS) on the longest defined run */
    size_t rs, rl;
    const double *one[1] = {out};
    lw_prep_longest_run(one, 1, n, &rs, &rl);
    const lw_adf_reg_t reg = opts->trend ? LW_ADF_CT : LW_ADF_C;
    if (opts->skip_adf) {
        snprintf(info->adf_note, sizeof info->adf_note, "not requested");
    } else if (rl >= LW_PREP_ADF_MIN_NOBS) {
        char aerr[128];
        if (lw_adf_ex(out + rs, rl, LW_ADF_DEFAULT_MAXLAG, LW_ADF_AUTOLAG_AIC, reg, &info->adf,
                      aerr, sizeof aerr) == LW_OK) {
            info->adf_run = true;
            info->adf_ct = opts->trend;
        } else {
            snprintf(info->adf_note, sizeof info->adf_note, "%s", aerr);
        }
        if (opts->trend && lw_kpss(out + rs, rl, LW_KPSS_CT, LW_KPSS_AUTO, &info->kpss, aerr,
                                   sizeof aerr) == LW_OK)
            info->kpss_run = true;
    } else {
        snprintf(info->adf_note, sizeof info->adf_note,
                 "longest run of consecutive values is %zu, ADF needs %u", rl,
                 LW_PREP_ADF_MIN_NOBS);
    }
    info->unit_root = !info->adf_run || !(info->adf.pvalue < opts->adf_alpha);
    if (!info->adf_run)
        snprintf(info->decision, sizeof info->decision, "unit root assumed: ADF could not run");
    else if (!info->unit_root)
        snprintf(info->decision, sizeof info->decision,
                 "%sstationary: ADF(%s) p = %.3g rejects a unit root%s",
                 opts->trend ? "trend-" : "", opts->trend ? "ct" : "c", info->adf.pvalue,
                 info->kpss_run && info->kpss.pvalue < 0.05
                     ? " (KPSS disagrees, p < 0.05)"
                     : (info->kpss_run ? " (KPSS agrees)" : ""));
    else
        snprintf(info->decision, sizeof info->decision,
                 "unit root: ADF(%s) p = %.3g does not reject%s", opts->trend ? "ct" : "c",
                 info->adf.pvalue,
                 !info->kpss_run            ? ""
                 : info->kpss.pvalue < 0.05 ? ", KPSS rejects stationarity (confirmed)"
                                            : ", KPSS does not reject either (conservative)");

    /* 5. difference */
    switch (opts->transform) {
    case LW_TRANSFORM_DIFF:
    case LW_TRANSFORM_LOG_DIFF: info->diff = true; break;
    case LW_TRANSFORM_AUTO: info->diff = !opts->defer_diff && info->unit_root; break;
    case LW_TRANSFORM_NONE: break;
    }
    if (info->diff) {
        for (size_t t = n; t-- > 1;)
            out[t] = out[t] - out[t - 1]; /* (double)NAN propagates */
        if (n > 0)
            out[0] = (double)NAN;
    }
    for (size_t t = 0; t < n; t++)
        if (isfinite(out[t]))
            info->n_defined_out++;
    if (info->n_defined_out == 0)
        set_unusable(info, out, n, "no two consecutive values to difference");
    return LW_OK;
}
