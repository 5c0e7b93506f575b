/*
 * analyze_opts.c - the bounds check and string parsers of the analysis
 * options (analyze_opts.h).  The bounds are the constants of the header,
 * which the config table also uses; lw_analyze_opts_check names the
 * offending key so the config and the CLI can pass the message through.
 * The defaults live in the config's analysis table (lw_analyze_opts_default
 * is defined next to it, in config_opts.c).
 */
#include "leadwatch/model/analyze_opts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *lw_ic_name(lw_ic_t ic)
{
    return ic == LW_IC_BIC ? "bic" : "aic";
}

bool lw_ic_parse(const char *s, lw_ic_t *out)
{
    if (strcmp(s, "aic") == 0)
        *out = LW_IC_AIC;
    else if (strcmp(s, "bic") == 0)
        *out = LW_IC_BIC;
    else
        return false;
    return true;
}

bool lw_seasonal_parse(const char *s, lw_seasonal_t *kind, size_t *period)
{
    if (strcmp(s, "none") == 0) {
        *kind = LW_SEASONAL_NONE;
        *period = 0;
        return true;
    }
    if (strcmp(s, "weekly") == 0) {
        *kind = LW_SEASONAL_WEEKLY;
        *period = 0;
        return true;
    }
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || s[0] == '-' || s[0] == '+' || v < 2 ||
        v > LW_PREP_MAX_PERIOD)
        return false;
    *kind = LW_SEASONAL_PERIOD;
    *period = (size_t)v;
    return true;
}

lw_err_t lw_analyze_opts_check(const lw_analyze_opts_t *o, char *errstr, size_t errstr_size)
{
    if (o->max_lag < 1 || o->max_lag > LW_ANALYZE_MAX_LAG)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "max_lag: %zu outside 1..%u",
                         o->max_lag, LW_ANALYZE_MAX_LAG);
    if ((unsigned)o->transform > LW_TRANSFORM_AUTO)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "transform: must be none, diff, log_diff or auto");
    if (o->seasonal == LW_SEASONAL_PERIOD &&
        (o->seasonal_period < 2 || o->seasonal_period > LW_PREP_MAX_PERIOD))
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "seasonal: period %zu outside 2..%u",
                         o->seasonal_period, LW_PREP_MAX_PERIOD);
    if ((unsigned)o->seasonal > LW_SEASONAL_PERIOD)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "seasonal: must be none, weekly or a period");
    if (!(o->alpha > 0.0 && o->alpha <= LW_ANALYZE_ALPHA_MAX))
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "alpha: %g outside (0, %g]", o->alpha,
                         LW_ANALYZE_ALPHA_MAX);
    if (o->window != 0 && (o->window < LW_GRANGER_MIN_NOBS(1) || o->window > LW_ANALYZE_MAX_ROWS))
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "window: %zu outside %zu..%u (0 = auto)", o->window,
                         LW_GRANGER_MIN_NOBS(1), LW_ANALYZE_MAX_ROWS);
    if (o->ic != LW_IC_AIC && o->ic != LW_IC_BIC)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "ic: must be aic or bic");
    if (!(o->adf_alpha > 0.0 && o->adf_alpha < 1.0))
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "adf_alpha: %g outside (0, 1)",
                         o->adf_alpha);
    if (o->hac_lags > LW_ANALYZE_HAC_LAGS_MAX)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "hac_lags: %zu above %d", o->hac_lags,
                         LW_ANALYZE_HAC_LAGS_MAX);
    if (!(o->mde_threshold > 0.0 && o->mde_threshold <= LW_ANALYZE_MDE_THRESHOLD_MAX))
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "mde_threshold: %g outside (0, %g]",
                         o->mde_threshold, LW_ANALYZE_MDE_THRESHOLD_MAX);
    if (o->mde_horizon < 1 || o->mde_horizon > LW_ANALYZE_MDE_HORIZON_MAX)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "mde_horizon: %zu outside 1..%d",
                         o->mde_horizon, LW_ANALYZE_MDE_HORIZON_MAX);
    if (!(o->mde_power > 0.0 && o->mde_power < 1.0))
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "mde_power: %g outside (0, 1)",
                         o->mde_power);
    if (!(o->stable_min_sign > 0.5 && o->stable_min_sign <= 1.0))
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "stable_min_sign: %g outside (0.5, 1]",
                         o->stable_min_sign);
    return LW_OK;
}
