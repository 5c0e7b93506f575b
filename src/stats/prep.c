/*
 * prep.c - series preparation (the steps and their order are in prep.h).
 *
 * Layout: everything works on one scratch copy z[0..n) of the input with (double)NAN
 * for missing values; each step reads and rewrites z, and the last writes
 * out[].  Seasonal means are accumulated per phase (row mod P) with plain
 * sums: P <= LW_PREP_MAX_PERIOD, so the per-phase arrays live on the stack.
 *
 * Rejected: filling missing values (zero, carry-forward, interpolation).
 * Every fill invents data that the tests would then count as evidence; the
 * analysis instead uses only complete rows and reports how many it dropped.
 */
#include "leadwatch/stats/prep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Subtract per-phase means, add back the grand mean.  false when a phase has < 2 values. */
static bool seasonal_adjust(double *z, size_t n, size_t P)
{
    double sum[LW_PREP_MAX_PERIOD];
    size_t cnt[LW_PREP_MAX_PERIOD];
    memset(sum, 0, P * sizeof(double));
    memset(cnt, 0, P * sizeof(size_t));
    double gsum = 0.0;
    size_t gcnt = 0;
    for (size_t t = 0; t < n; t++)
        if (isfinite(z[t])) {
            sum[t % P] += z[t];
            cnt[t % P]++;
            gsum += z[t];
            gcnt++;
        }
    for (size_t ph = 0; ph < P; ph++)
        if (cnt[ph] < 2)
            return false;
    const double gmean = gsum / (double)gcnt;
    for (size_t t = 0; t < n; t++)
        if (isfinite(z[t]))
            z[t] = z[t] - sum[t % P] / (double)cnt[t % P] + gmean;
    return true;
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

    /* 3. seasonal adjustment */
    if (opts->season_period >= 2) {
        if (!seasonal_adjust(out, n, opts->season_period)) {
            char why[LW_PREP_NOTE_SIZE];
            snprintf(why, sizeof why,
                     "seasonal adjustment with period %zu needs >= 2 values in every phase",
                     opts->season_period);
            set_unusable(info, out, n, why);
            return LW_OK;
        }
        info->season_period = opts->season_period;
    }

    /* 4. ADF on the longest defined run */
    size_t rs, rl;
    const double *one[1] = {out};
    lw_prep_longest_run(one, 1, n, &rs, &rl);
    if (opts->skip_adf) {
        snprintf(info->adf_note, sizeof info->adf_note, "not requested");
    } else if (rl >= LW_PREP_ADF_MIN_NOBS) {
        char aerr[128];
        if (lw_adf(out + rs, rl, LW_ADF_DEFAULT_MAXLAG, LW_ADF_AUTOLAG_AIC, &info->adf, aerr,
                   sizeof aerr) == LW_OK) {
            info->adf_run = true;
        } else {
            snprintf(info->adf_note, sizeof info->adf_note, "%s", aerr);
        }
    } else {
        snprintf(info->adf_note, sizeof info->adf_note,
                 "longest run of consecutive values is %zu, ADF needs %u", rl,
                 LW_PREP_ADF_MIN_NOBS);
    }

    /* 5. difference */
    switch (opts->transform) {
    case LW_TRANSFORM_DIFF:
    case LW_TRANSFORM_LOG_DIFF: info->diff = true; break;
    case LW_TRANSFORM_AUTO:
        info->diff = !info->adf_run || !(info->adf.pvalue < opts->adf_alpha);
        break;
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
