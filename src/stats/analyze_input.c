/*
 * analyze_input.c - what the tree's input means before any statistic runs:
 * the input's bounds and columns (lw_analyze_check_input), the seasonal
 * period that fits the bucket (hourly with >= 3 weeks: hour-of-week 168;
 * hourly below that: 24; daily: 7), the control columns named by the
 * options, and the rows that are holidays.  Split from analyze.c; both
 * implement analyze.h.
 */
#include "leadwatch/stats/analyze.h"

#include "leadwatch/stats/multitest.h"
#include "leadwatch/core/timeutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lw_err_t lw_analyze_check_input(const lw_analyze_input_t *in, char *errstr, size_t errstr_size)
{
    if (in->nseries == 0 || in->nseries > LW_ANALYZE_MAX_SERIES)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "analyze: %zu series (1..%u)",
                         in->nseries, LW_ANALYZE_MAX_SERIES);
    if (in->nrows > LW_ANALYZE_MAX_ROWS)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "analyze: %zu rows, bound %u",
                         in->nrows, LW_ANALYZE_MAX_ROWS);
    if (in->nrows > 0 && !in->values)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "analyze: no values");
    if (in->nsm >= in->nseries || (in->kpi >= 0 && (size_t)in->kpi >= in->nseries) ||
        (in->kpi >= 0 && (size_t)in->kpi == in->nsm))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "analyze: bad NSM/KPI column");
    const size_t nedges = in->ninputs + (in->kpi >= 0 ? 1 : 0);
    if (nedges == 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "analyze: the tree has no edges (no inputs and no KPI)");
    if (nedges > LW_ANALYZE_MAX_EDGES)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "analyze: %zu edges, bound %u",
                         nedges, LW_ANALYZE_MAX_EDGES);
    for (size_t i = 0; i < in->ninputs; i++)
        if (in->inputs[i] >= in->nseries || in->inputs[i] == in->nsm)
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                             "analyze: input %zu is out of range or the NSM itself", i);
    return LW_OK;
}

lw_err_t lw_analyze_resolve_season(const lw_analyze_opts_t *o, const lw_analyze_input_t *in,
                                   lw_analysis_t *a, char *errstr, size_t errstr_size)
{
    switch (o->seasonal) {
    case LW_SEASONAL_NONE:
        a->season_period = 0;
        lw_analyze_note(a->season_note, "none");
        break;
    case LW_SEASONAL_PERIOD:
        a->season_period = o->seasonal_period;
        lw_analyze_note(a->season_note, "period %zu: the mean of each phase (row mod %zu) removed",
                        o->seasonal_period, o->seasonal_period);
        break;
    case LW_SEASONAL_WEEKLY:
        if (in->bucket_ms == LW_MS_PER_DAY) {
            a->season_period = 7;
            lw_analyze_note(a->season_note, "weekly: day-of-week means removed (period 7)");
        } else if (in->bucket_ms == LW_MS_PER_HOUR && in->nrows >= 3 * 168) {
            a->season_period = 168;
            lw_analyze_note(a->season_note,
                            "weekly on hourly buckets: hour-of-week means removed (period "
                            "168; at least 3 weeks of data)");
        } else if (in->bucket_ms == LW_MS_PER_HOUR) {
            a->season_period = 24;
            lw_analyze_note(a->season_note,
                            "weekly on hourly buckets with less than 3 weeks: hour-of-day "
                            "means removed (period 24)");
        } else if (in->bucket_ms == 0) {
            a->season_period = 7;
            lw_analyze_note(a->season_note,
                            "weekly: bucket size unknown (labels are not dates), assumed "
                            "daily: day-of-week means removed (period 7)");
        } else {
            return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                             "seasonal: weekly needs hourly or daily buckets (these are %.6g h); "
                             "use none or a period",
                             (double)in->bucket_ms / 3600000.0);
        }
        break;
    }
    return LW_OK;
}

/*
 * The tree's control columns from opts->controls (names of series in the
 * input).  A control may not be the NSM or the KPI; an input named as a
 * control is a control of the OTHER edges only.
 */
lw_err_t lw_analyze_resolve_controls(const lw_analyze_opts_t *o, const lw_analyze_input_t *in,
                                     size_t *cols, size_t *ncols, char *errstr, size_t errstr_size)
{
    *ncols = 0;
    for (size_t i = 0; i < o->ncontrols; i++) {
        size_t c = 0;
        while (c < in->nseries && strcmp(in->names[c], o->controls[i]) != 0)
            c++;
        if (c == in->nseries)
            return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                             "controls: no series '%s' in the input", o->controls[i]);
        if (c == in->nsm || (in->kpi >= 0 && c == (size_t)in->kpi))
            return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                             "controls: '%s' is the NSM or the KPI", o->controls[i]);
        cols[(*ncols)++] = c;
    }
    return LW_OK;
}

/*
 * Rows whose label starts with one of opts->holidays (a daily label is the
 * date, an hourly one the ISO time: every hour of the day matches).  NULL
 * when there are no holidays (or no memory: the caller checks), with
 * a->holiday_rows and a->holiday_note set.
 */
unsigned char *lw_analyze_holiday_mask(const lw_analyze_opts_t *o, const lw_analyze_input_t *in,
                                       lw_analysis_t *a)
{
    if (o->nholidays == 0 || in->nrows == 0)
        return NULL;
    unsigned char *m = calloc(in->nrows, 1);
    if (!m)
        return NULL;
    if (!in->labels) {
        lw_analyze_note(a->holiday_note,
                        "%zu holidays given, but the rows have no date labels: ignored",
                        o->nholidays);
        return m;
    }
    for (size_t t = 0; t < in->nrows; t++)
        for (size_t h = 0; h < o->nholidays && !m[t]; h++)
            if (strncmp(in->labels[t], o->holidays[h], 10) == 0) {
                m[t] = 1;
                a->holiday_rows++;
            }
    lw_analyze_note(a->holiday_note, "%zu holidays given, %zu rows matched: treated as missing",
                    o->nholidays, a->holiday_rows);
    return m;
}
