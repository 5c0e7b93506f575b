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

/* Next comma-separated item of *p into buf; false at the end or on an empty/too long item. */
static bool next_item(const char **p, char *buf, size_t size, bool *bad)
{
    *bad = false;
    if (**p == '\0')
        return false;
    const char *comma = strchr(*p, ',');
    const size_t len = comma ? (size_t)(comma - *p) : strlen(*p);
    if (len == 0 || len >= size) {
        *bad = true;
        return false;
    }
    memcpy(buf, *p, len);
    buf[len] = '\0';
    *p += len + (comma ? 1 : 0);
    if (comma && **p == '\0')
        *bad = true; /* trailing comma */
    return true;
}

static bool valid_date(const char *s)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    const int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    const int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    return !(m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
}

lw_err_t lw_analyze_opts_add_holiday(lw_analyze_opts_t *o, const char *date, char *errstr,
                                     size_t errstr_size)
{
    if (!valid_date(date))
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "holidays: '%s' is not a date YYYY-MM-DD", date);
    if (o->nholidays >= LW_ANALYZE_MAX_HOLIDAYS)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "holidays: more than %u dates",
                         LW_ANALYZE_MAX_HOLIDAYS);
    memcpy(o->holidays[o->nholidays++], date, 11);
    return LW_OK;
}

lw_err_t lw_analyze_opts_add_control(lw_analyze_opts_t *o, const char *name, char *errstr,
                                     size_t errstr_size)
{
    size_t len = strlen(name);
    if (len == 0 || len >= LW_ANALYZE_CONTROL_NAME_SIZE)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "controls: empty or too long name");
    if (o->ncontrols >= LW_ANALYZE_MAX_CONTROLS)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "controls: more than %u metrics",
                         LW_ANALYZE_MAX_CONTROLS);
    for (size_t i = 0; i < o->ncontrols; i++)
        if (strcmp(o->controls[i], name) == 0)
            return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "controls: '%s' listed twice",
                             name);
    memcpy(o->controls[o->ncontrols++], name, len + 1);
    return LW_OK;
}

/* A comma-separated list through `add` (replacing what was there). */
static lw_err_t set_list(lw_analyze_opts_t *o, const char *list, const char *what,
                         lw_err_t (*add)(lw_analyze_opts_t *, const char *, char *, size_t),
                         size_t *count, char *errstr, size_t errstr_size)
{
    char buf[LW_ANALYZE_CONTROL_NAME_SIZE];
    bool bad;
    const char *p = list;
    *count = 0;
    while (next_item(&p, buf, sizeof buf, &bad)) {
        lw_err_t err = add(o, buf, errstr, errstr_size);
        if (err != LW_OK)
            return err;
    }
    if (bad)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "%s: empty or too long item in '%s'",
                         what, list);
    return LW_OK;
}

lw_err_t lw_analyze_opts_set_holidays(lw_analyze_opts_t *o, const char *list, char *errstr,
                                      size_t errstr_size)
{
    return set_list(o, list, "holidays", lw_analyze_opts_add_holiday, &o->nholidays, errstr,
                    errstr_size);
}

lw_err_t lw_analyze_opts_set_controls(lw_analyze_opts_t *o, const char *list, char *errstr,
                                      size_t errstr_size)
{
    return set_list(o, list, "controls", lw_analyze_opts_add_control, &o->ncontrols, errstr,
                    errstr_size);
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
    if (o->max_gap > LW_ANALYZE_MAX_GAP)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "max_gap: %zu above %u", o->max_gap,
                         LW_ANALYZE_MAX_GAP);
    if (!(o->outlier_mad == 0.0 || (o->outlier_mad >= 2.0 && o->outlier_mad <= 100.0)))
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "outlier_mad: %g outside [2, 100] (0 = off)", o->outlier_mad);
    if (o->nholidays > LW_ANALYZE_MAX_HOLIDAYS || o->ncontrols > LW_ANALYZE_MAX_CONTROLS)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "holidays/controls: too many");
    return LW_OK;
}
