/*
 * alert_opts.c - names of the alert conditions and the bounds check of the
 * alert options (alert_opts.h).  The defaults live in the config's alerts
 * table (lw_alert_opts_default is defined next to it, in config_opts.c).
 * Messages name the config key ("alerts.for") so that the config can
 * re-issue them on the key's line.
 */
#include "leadwatch/model/alert_opts.h"

#include <string.h>

static const char *const cond_names[LW_ALERT_COND_COUNT] = {"no_longer_leads",  "reverse",
                                                            "kpi_link_lost",    "not_sensitive",
                                                            "pipeline_stalled", "events_lost"};
static const char *const cond_alertnames[LW_ALERT_COND_COUNT] = {
    "LeadwatchInputNoLongerLeads", "LeadwatchEdgeReversed",    "LeadwatchKpiLinkLost",
    "LeadwatchInputNotSensitive",  "LeadwatchPipelineStalled", "LeadwatchEventsLost"};

const char *lw_alert_cond_name(lw_alert_cond_t c)
{
    return (unsigned)c < LW_ALERT_COND_COUNT ? cond_names[c] : "?";
}

bool lw_alert_cond_parse(const char *s, lw_alert_cond_t *out)
{
    for (unsigned i = 0; i < LW_ALERT_COND_COUNT; i++) {
        if (s && strcmp(s, cond_names[i]) == 0) {
            *out = (lw_alert_cond_t)i;
            return true;
        }
    }
    return false;
}

const char *lw_alert_cond_alertname(lw_alert_cond_t c)
{
    return (unsigned)c < LW_ALERT_COND_COUNT ? cond_alertnames[c] : "?";
}

lw_err_t lw_alert_opts_check(const lw_alert_opts_t *o, char *errstr, size_t errstr_size)
{
    if (o->for_evals > LW_ALERT_MAX_EVALS)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "alerts.for: %u is above %u",
                         o->for_evals, LW_ALERT_MAX_EVALS);
    if (o->arm_after > LW_ALERT_MAX_EVALS)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "alerts.arm_after: %u is above %u",
                         o->arm_after, LW_ALERT_MAX_EVALS);
    if (o->keep_firing_for > LW_ALERT_MAX_EVALS)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "alerts.keep_firing_for: %u is above %u", o->keep_firing_for,
                         LW_ALERT_MAX_EVALS);
    if (o->stall_for > LW_ALERT_MAX_EVALS || o->stall_keep_firing_for > LW_ALERT_MAX_EVALS)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "alerts.stall_for / stall_keep_firing_for: above %u", LW_ALERT_MAX_EVALS);
    if (o->lost_for_ms < 0 || o->lost_for_ms > LW_ALERT_LOST_FOR_MAX_MS)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "alerts.events_lost_for: %lld ms is outside 0..30d",
                         (long long)o->lost_for_ms);
    if ((o->on_mask & ~LW_ALERT_EDGE_CONDS_ALL) != 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "alerts.on: only no_longer_leads, reverse, kpi_link_lost and "
                         "not_sensitive can be chosen");
    if (o->max_entries < LW_ALERT_MIN_ENTRIES || o->max_entries > LW_ALERT_MAX_ENTRIES)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "alerts.max_entries: %zu is outside %d..%u", o->max_entries,
                         LW_ALERT_MIN_ENTRIES, LW_ALERT_MAX_ENTRIES);
    return LW_OK;
}
