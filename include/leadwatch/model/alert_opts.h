/*
 * alert_opts.h - the options of the alert state machine (alert.h) and the
 * names of its conditions, at the model layer so that the configuration
 * (config.h) can embed and validate them without including the alert layer.
 *
 * Owned by alert.h (which includes this header); the names keep their
 * lw_alert_ prefix so callers do not change.  Defaults are stated once, as
 * config text in the `alerts:` table of config_opts.c, which
 * lw_alert_opts_default() applies; bounds are the constants below, which
 * both that table and lw_alert_opts_check() use.
 */
#ifndef LEADWATCH_ALERT_OPTS_H
#define LEADWATCH_ALERT_OPTS_H

#include "leadwatch/core/common.h"

#define LW_ALERT_MIN_ENTRIES 8      /* lower bound of opts.max_entries */
#define LW_ALERT_MAX_ENTRIES 4096u  /* upper bound of opts.max_entries */
#define LW_ALERT_MAX_EVALS 1000000u /* upper bound of for_evals / keep_firing_for / arm_after */
#define LW_ALERT_LOST_FOR_MAX_MS (30LL * 86400000LL) /* upper bound of lost_for_ms */

typedef enum {
    LW_ALERT_COND_NO_LONGER_LEADS = 0,
    LW_ALERT_COND_REVERSE,
    LW_ALERT_COND_KPI_LINK_LOST,
    LW_ALERT_COND_NOT_SENSITIVE,
    LW_ALERT_COND_PIPELINE_STALLED,
    LW_ALERT_COND_EVENTS_LOST, /* Kafka offsets skipped (one alert per topic/partition) */
    LW_ALERT_COND_COUNT
} lw_alert_cond_t;

/* "no_longer_leads", "reverse", "kpi_link_lost", "not_sensitive", "pipeline_stalled",
 * "events_lost". */
const char *lw_alert_cond_name(lw_alert_cond_t c);
/* The inverse of lw_alert_cond_name; false on anything else. */
bool lw_alert_cond_parse(const char *s, lw_alert_cond_t *out);
/* The alertname label: "LeadwatchInputNoLongerLeads", ..., "LeadwatchEventsLost". */
const char *lw_alert_cond_alertname(lw_alert_cond_t c);

/* Bit of a condition in lw_alert_opts_t.on_mask. */
#define LW_ALERT_COND_BIT(c) (1u << (unsigned)(c))
#define LW_ALERT_EDGE_CONDS_ALL                                                                    \
    (LW_ALERT_COND_BIT(LW_ALERT_COND_NO_LONGER_LEADS) | LW_ALERT_COND_BIT(LW_ALERT_COND_REVERSE) | \
     LW_ALERT_COND_BIT(LW_ALERT_COND_KPI_LINK_LOST) |                                              \
     LW_ALERT_COND_BIT(LW_ALERT_COND_NOT_SENSITIVE))

/* Defaults: `leadwatch check-config --describe` (the alerts table). */
typedef struct {
    unsigned for_evals;             /* 0..LW_ALERT_MAX_EVALS (config key alerts.for) */
    unsigned keep_firing_for;       /* 0..LW_ALERT_MAX_EVALS */
    unsigned arm_after;             /* consecutive healthy evaluations before an edge counts as
                                       having led (its loss can alert), 0..LW_ALERT_MAX_EVALS;
                                       0 and 1 arm on the first */
    unsigned on_mask;               /* conditions that alert, default LW_ALERT_EDGE_CONDS_ALL */
    bool monitor;                   /* no_longer_leads / kpi_link_lost from the sequential
                                       monitor (alerts.monitor, default true since issue 11
                                       session 7); false = the window-verdict rule */
    double monitor_alpha;           /* the monitor's target false alarms per edge and year
                                       (alerts.monitor_alpha, default 0.05), in (0, 0.5]; the
                                       threshold's design probability is this divided by
                                       LW_LEADMON_ALPHA_EXCESS (stats/leadmon.h) */
    unsigned stall_for;             /* pipeline alert: 0 (the stall check has its own */
    unsigned stall_keep_firing_for; /*   time bound); not config keys */
    int64_t lost_for_ms; /* LeadwatchEventsLost keeps firing this long after the newest loss
                            of its partition (alerts.events_lost_for, default 1h), then
                            resolves; 0..LW_ALERT_LOST_FOR_MAX_MS */
    size_t max_entries;  /* (edge, condition) pairs, LW_ALERT_MIN_ENTRIES..LW_ALERT_MAX_ENTRIES
                            (config key alerts.max_alerts) */
} lw_alert_opts_t;

/* The table defaults (config_opts.c); on_mask = every edge condition, stall_* = 0. */
void lw_alert_opts_default(lw_alert_opts_t *o);
/* LW_ERR_CONFIG with "alerts.<key>: what is wrong" when an option is out of bounds. */
lw_err_t lw_alert_opts_check(const lw_alert_opts_t *o, char *errstr, size_t errstr_size);

#endif
