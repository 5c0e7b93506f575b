/*
 * alert.h - the alert state machine: for every (edge, condition) an alert
 * with Prometheus semantics, inactive -> pending -> firing -> resolved,
 * driven by one evaluation per closed bucket; plus the pipeline-stall alert.
 *
 * Pure: the caller passes every edge's verdict (lw_alert_obs_t) and `now`;
 * the table answers with the transitions to deliver (lw_alert_event_t, with
 * labels and annotations already formatted).  No I/O, no clock, no threads:
 * one owner (the daemon's consumer thread) calls everything.
 *
 * Conditions and what each evaluation means for them (src/alert.c has the
 * full table):
 *   no_longer_leads  input edge that led before and now does not lead
 *   kpi_link_lost    the NSM -> KPI edge, same rule
 *   reverse          an edge that led before whose target now leads it
 *   not_sensitive    input edge that was sensitive before and still leads,
 *                    but its minimum detectable effect is now too large
 *   pipeline_stalled LeadwatchPipelineStalled, from lw_alert_pipeline()
 *   events_lost      LeadwatchEventsLost per Kafka partition, from lw_alert_loss()
 * An edge that never led (never sensitive) cannot raise its condition: the
 * table remembers per (edge, condition) whether it was ever healthy
 * ("armed"), and the caller may also say so from the store's verdict history.
 *
 * Timing, in evaluations (not seconds): an alert is pending for `for_evals`
 * consecutive failing evaluations and fires on the next failing one
 * (for_evals = 0 fires on the first).  A firing alert keeps firing through
 * `keep_firing_for` consecutive passing evaluations and resolves on the next
 * passing one.  Any passing evaluation ends a pending alert.
 *
 * No data is not a broken relationship: an observation flagged nodata, an
 * insufficient_data verdict, or any evaluation while the pipeline is
 * reported stalled puts non-firing alerts into NODATA and breaks every
 * streak; a firing alert is held (neither confirmed nor resolved).
 *
 * The whole table serialises to a text blob (lw_alert_save / lw_alert_load)
 * that the daemon keeps in the store; after a restart lw_alert_refresh
 * gives REFRESH events for the alerts already firing, which a sink re-sends
 * with their original startsAt instead of announcing them as new.
 */
#ifndef LEADWATCH_ALERT_H
#define LEADWATCH_ALERT_H

#include "leadwatch/core/buf.h"
#include "leadwatch/core/common.h"
#include "leadwatch/model/alert_opts.h" /* lw_alert_opts_t, lw_alert_cond_t and its names */

#define LW_ALERT_NAME_SIZE 129u  /* metric names, as LW_ANALYZE_NAME_SIZE */
#define LW_ALERT_KEY_SIZE 24u    /* label / annotation names */
#define LW_ALERT_VALUE_SIZE 264u /* label / annotation values (edge = 2 names + "->") */
#define LW_ALERT_MAX_LABELS                                                                        \
    6u /* alertname, edge, input, kind, nsm (+1 spare); the loss                                   \
          alert: alertname, nsm, partition, topic */
#define LW_ALERT_MAX_ANNOTATIONS 14u

typedef enum {
    LW_ALERT_INACTIVE = 0,
    LW_ALERT_PENDING,
    LW_ALERT_FIRING,
    LW_ALERT_RESOLVED, /* behaves as inactive; remembers that it fired */
    LW_ALERT_NODATA,   /* no judgement possible at the last evaluation */
    LW_ALERT_STATE_COUNT
} lw_alert_state_t;

/* "inactive", "pending", "firing", "resolved", "nodata". */
const char *lw_alert_state_name(lw_alert_state_t s);

/* The verdict of one edge at one evaluation (mirrors lw_verdict_t in analyze.h). */
typedef enum {
    LW_ALERT_V_LEADS = 0,
    LW_ALERT_V_REVERSE,
    LW_ALERT_V_FEEDBACK,
    LW_ALERT_V_INCONCLUSIVE,
    LW_ALERT_V_INSUFFICIENT_DATA
} lw_alert_verdict_t;

/* "leads", "reverse", "feedback", "inconclusive", "insufficient_data". */
const char *lw_alert_verdict_name(lw_alert_verdict_t v);

/*
 * The evidence behind a verdict, copied into the annotations.  NAN / 0 /
 * NULL / "" mean "not available" and leave the annotation out.
 */
typedef struct {
    double p, q;              /* primary Granger test at the chosen lag */
    unsigned lag;             /* chosen lag in buckets, 0 = none */
    double coefficient;       /* elasticity or summed lag coefficient */
    double oos_skill;         /* out-of-sample skill */
    const char *break_period; /* bucket label of a structural break */
    const char *window_first; /* first and last bucket of the window */
    const char *window_last;  /*   analysed */
    const char *as_of;        /* the bucket whose close triggered the evaluation */
    const char *summary;      /* short human text; NULL = a default per condition */
} lw_alert_evidence_t;

/*
 * What the edge's sequential monitor (stats/leadmon.h) says, for
 * no_longer_leads and kpi_link_lost.  NONE: no monitor runs (the edge has
 * not led for arm_after evaluations yet); the verdict rule applies.
 * WATCHING: the lead holds (a pass; the entry is armed).  ALARM: the
 * monitor crossed its boundary: a failure that fires at once (the
 * boundary already bounds the false alarms; `for` does not apply).
 */
typedef enum { LW_ALERT_MON_NONE = 0, LW_ALERT_MON_WATCHING, LW_ALERT_MON_ALARM } lw_alert_mon_t;

/* One edge at one evaluation.  Strings (none may be NULL) are borrowed for the call only. */
typedef struct {
    const char *nsm;    /* the tree's NSM */
    const char *source; /* edge x -> y: x (the NSM itself for the KPI edge) */
    const char *target; /* y (the NSM, or the KPI) */
    const char *kind;   /* input kind ("breadth", ...), "kpi" for the KPI edge */
    bool is_kpi;        /* the NSM -> KPI edge: kpi_link_lost instead of no_longer_leads */
    lw_alert_verdict_t verdict;
    bool nodata;            /* the pipeline cannot support a judgement for this edge */
    bool gap;               /* ... because of missing buckets (nodata for the monitor too;
                               the rest of `nodata` is about the verdict's checks) */
    bool led_before;        /* the caller knows this edge led (arms at once; see alert.c) */
    bool predicts;          /* verdict inconclusive, but the primary test source -> target is
                               still significant after BH (q < alpha): not a failure */
    bool sensitivity_known; /* the MDE check ran */
    bool sensitive;         /*   and found the input able to move the target */
    lw_alert_mon_t monitor; /* the sequential monitor's word (see above) */
    lw_alert_evidence_t evidence;
} lw_alert_obs_t;

typedef struct {
    char key[LW_ALERT_KEY_SIZE];
    char value[LW_ALERT_VALUE_SIZE];
} lw_alert_kv_t;

/*
 * A transition to deliver.  `refresh` marks a re-announcement of an alert
 * that was already firing (after a restart): Alertmanager should get it,
 * a webhook that already saw it should not.  starts_at_ms is when the alert
 * became active (pending) or fired (firing and later); ends_at_ms is when
 * it resolved (0 while not resolved).  Labels are sorted by key.
 */
typedef struct lw_alert_event {
    lw_alert_cond_t cond;
    lw_alert_state_t from, to;
    bool refresh;
    int64_t at_ms;
    int64_t starts_at_ms;
    int64_t ends_at_ms;
    uint64_t fingerprint; /* FNV-1a of the labels: the alert's identity */
    size_t nlabels;
    lw_alert_kv_t labels[LW_ALERT_MAX_LABELS];
    size_t nannotations;
    lw_alert_kv_t annotations[LW_ALERT_MAX_ANNOTATIONS];
} lw_alert_event_t;

/* Value of label / annotation `key` in an event, or NULL. */
const char *lw_alert_event_label(const lw_alert_event_t *ev, const char *key);
const char *lw_alert_event_annotation(const lw_alert_event_t *ev, const char *key);

typedef struct lw_alert_table lw_alert_table_t;

/* An empty table with a copy of the options (checked). */
lw_err_t lw_alert_table_new(const lw_alert_opts_t *opts, lw_alert_table_t **out, char *errstr,
                            size_t errstr_size);
void lw_alert_table_destroy(lw_alert_table_t *t);

/*
 * Replace the options (SIGHUP).  New for/keep_firing_for values apply from
 * the next evaluation to the streaks already counted; conditions taken out
 * of on_mask are retired at the next lw_alert_eval (a firing one resolves).
 * LW_ERR_CONFIG (nothing changed) when the options are invalid or
 * max_entries is below the entries in use.
 */
lw_err_t lw_alert_table_set_opts(lw_alert_table_t *t, const lw_alert_opts_t *opts, char *errstr,
                                 size_t errstr_size);

/*
 * One evaluation of the whole tree: obs[0..n) are every edge's verdicts.
 * Entries of edges (or conditions) not in this evaluation are retired: a
 * firing one gives a RESOLVED event whose annotation `reason` says so.
 * Events of this call replace the previous call's (lw_alert_events).
 * LW_ERR_TOO_LARGE when the edges need more than max_entries entries (the
 * table is unchanged); LW_ERR_INVALID for a NULL name or a duplicate edge.
 */
lw_err_t lw_alert_eval(lw_alert_table_t *t, const lw_alert_obs_t *obs, size_t n, int64_t now_ms,
                       char *errstr, size_t errstr_size);

/*
 * The per-close part of an evaluation, between two full ones (the daemon's
 * analysis.full_every): only the entries the sequential monitors drive
 * (no_longer_leads / kpi_link_lost of an edge whose obs.monitor is not
 * NONE, and that a full evaluation already made) take one step, with the
 * rule of lw_alert_eval (an alarm fires at once; a gap or a stall is
 * nodata); every other entry, streak and the retirement wait for the next
 * full evaluation.  Events replace the previous call's.  Errors as
 * lw_alert_eval's check of obs.
 */
lw_err_t lw_alert_eval_monitors(lw_alert_table_t *t, const lw_alert_obs_t *obs, size_t n,
                                int64_t now_ms, char *errstr, size_t errstr_size);

/*
 * The pipeline-stall check, called from the daemon's periodic timer.  While
 * `stalled` is true every edge evaluation counts as nodata; the stall alert
 * follows stall_for / stall_keep_firing_for.  `reason` (may be NULL) goes
 * into the annotations.  Events replace the previous call's.
 */
lw_err_t lw_alert_pipeline(lw_alert_table_t *t, const char *nsm, bool stalled, const char *reason,
                           int64_t now_ms, char *errstr, size_t errstr_size);

/*
 * One Kafka partition's loss report (lw_alert_loss): offsets the consumer
 * skipped because the log no longer held them.
 */
typedef struct {
    const char *topic; /* NULL or "" = ignored */
    int32_t partition;
    int64_t lost_new;   /* offsets lost since the previous report; <= 0 = no new loss */
    int64_t lost_total; /* on this partition since the daemon started (annotation) */
    int64_t first;      /* the newest skipped range, first..last (annotation); -1 unknown */
    int64_t last;
} lw_alert_loss_t;

/*
 * LeadwatchEventsLost, one alert per (topic, partition), labels alertname,
 * nsm, partition, topic.  Rule: a report with lost_new > 0 fires it at once
 * (a loss is a fact, not an estimate: `for` does not apply; a firing one
 * gets a REFRESH event with the new numbers); it resolves at the first call
 * at least opts.lost_for_ms after its newest loss (Prometheus's
 * increase(leadwatch_events_lost_total[lost_for]) > 0), whether or not the
 * partition is still reported.  Called with n = 0 it only resolves.  Its
 * entries live only while firing (as the stall's).  LW_ERR_TOO_LARGE (the
 * other partitions are still handled) when no entry is left for one.
 * Events replace the previous call's.
 */
lw_err_t lw_alert_loss(lw_alert_table_t *t, const char *nsm, const lw_alert_loss_t *l, size_t n,
                       int64_t now_ms, char *errstr, size_t errstr_size);

/*
 * REFRESH events (from = to = FIRING, refresh = true) for every firing
 * alert, e.g. right after lw_alert_load.  Events replace the previous call's.
 */
void lw_alert_refresh(lw_alert_table_t *t, int64_t now_ms);

/* The events of the last call; valid until the next call on the table. */
const lw_alert_event_t *lw_alert_events(const lw_alert_table_t *t, size_t *n);

/* State of one (edge, condition); LW_ALERT_INACTIVE when there is no entry. */
lw_alert_state_t lw_alert_state(const lw_alert_table_t *t, const char *source, const char *target,
                                lw_alert_cond_t cond);

/* What a /metrics gauge needs to know about entry i (0..count-1). */
typedef struct {
    const char *nsm, *source, *target, *kind; /* valid until the next call on the table */
    lw_alert_cond_t cond;
    lw_alert_state_t state;
} lw_alert_info_t;

size_t lw_alert_count(const lw_alert_table_t *t);
bool lw_alert_entry(const lw_alert_table_t *t, size_t i, lw_alert_info_t *out);

/*
 * Serialise the table (entries, streaks, history, last annotations, the
 * stall flag) as text into `out`.  Errors are the buffer's (TOO_LARGE, NOMEM).
 */
lw_err_t lw_alert_save(const lw_alert_table_t *t, lw_buf_t *out);

/*
 * Replace the table's entries with a blob from lw_alert_save.  The blob is
 * validated fully; on any error (LW_ERR_INVALID, or LW_ERR_TOO_LARGE when it
 * holds more than max_entries) the table is left as it was.
 */
lw_err_t lw_alert_load(lw_alert_table_t *t, const char *data, size_t len, char *errstr,
                       size_t errstr_size);

/* Internal invariants (streaks vs states, unique keys); for tests. */
bool lw_alert_check(const lw_alert_table_t *t);

#endif
