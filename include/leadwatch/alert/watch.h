/*
 * watch.h - the daemon's evaluator: every time a bucket closes, analyse the
 * metric tree over the configured window, record each edge's verdict in the
 * store, drive the alert table (alert.h), publish the per-edge gauges
 * (promtext.h) and hand the alert transitions to the delivery queues
 * (alertsink.h).
 *
 * When.  A bucket B is closed once the pipeline's watermark passed
 * B + bucket size + grace (lw_bucket_is_provisional() is false): from then
 * on no event can change it.  lw_watch_advance() is called (by the daemon's
 * evaluator thread) with a watermark a successful store flush committed,
 * and evaluates every closed bucket not evaluated yet, oldest
 * first, each "as of" that bucket: the window is the `analysis.window`
 * buckets ending at B (all buckets up to B when 0), so the verdicts do not
 * depend on how fast the daemon catches up, and a restart resumes at the
 * first bucket not yet evaluated.  A catch-up evaluates every closed bucket
 * (a year of hourly ones too: tests/it_kafka_year_hourly.sh), so it gives
 * the alerts of a live run; lw_watch_advance_max bounds one call's work.
 *
 * One evaluation = one store transaction holding the verdict rows (table
 * `verdicts`), the alert table (blob "alert_state") and the last evaluated
 * bucket (int "watch.last_as_of_ms"), so the verdict history, the alert
 * state and the position of the evaluator move together.  The alert events
 * are queued for delivery only after that commit, so a crash between the
 * two re-delivers at most one evaluation's events and never loses state: at
 * start the table is loaded from the store and the alerts that were firing
 * are re-announced as refreshes (Alertmanager keeps them; a webhook is not
 * told again).
 *
 * Monitor.  Each edge also has a sequential monitor (stats/leadmon.h),
 * advanced at every evaluation and stored in the same transaction (blob
 * "monitor_state"); once it runs, the no_longer_leads / kpi_link_lost
 * alert comes from its boundary crossing (alert.h, lw_alert_mon_t).
 *
 * No data.  An edge is `nodata` (its alerts can neither fire nor resolve)
 * when its verdict is insufficient_data, when one of the newest
 * `alerts.stall.missing_buckets` buckets of the window is a gap (the
 * pipeline saw nothing), or while the pipeline is stalled
 * (lw_watch_pipeline(), driven by the daemon's timer); the stall raises its
 * own alert, LeadwatchPipelineStalled.
 *
 * Loss.  lw_watch_losses(), driven by the same timer, raises
 * LeadwatchEventsLost per Kafka partition whose consumer skipped offsets
 * (alert.h, lw_alert_loss); a loss does not make the edges nodata.
 *
 * Threads: one thread at a time (the daemon's evaluator thread,
 * app/evaluator.h, which serialises the stall reports and reloads with its
 * evaluations); the sink's queue and the registry's series are the only
 * things shared with other threads, and they are thread-safe.  Time is injected (now_ms is the wall
 * clock for the alert timestamps; durations are measured by the caller's clock callback).
 */
#ifndef LEADWATCH_WATCH_H
#define LEADWATCH_WATCH_H

#include "leadwatch/alert/alert.h"
#include "leadwatch/alert/alertsink.h"
#include "leadwatch/core/common.h"
#include "leadwatch/model/config.h"
#include "leadwatch/alert/promtext.h"
#include "leadwatch/stats/analyze.h"
#include "leadwatch/stats/leadmon.h"
#include "leadwatch/store/store.h"

/* buckets one evaluator queue entry covers at most (app/evaluator.c merges posts up to it) */
#define LW_WATCH_MAX_ENTRY_SPAN 2000u
#define LW_WATCH_MAX_LOSS 1024u /* Kafka partitions lw_watch_losses() tracks */
#define LW_WATCH_KEY_STATE "alert_state"
#define LW_WATCH_KEY_LAST "watch.last_as_of_ms"
#define LW_WATCH_KEY_MONITOR "monitor_state" /* the edges' sequential monitors (watch.c) */

typedef struct lw_watch lw_watch_t;

typedef struct {
    const lw_config_t *cfg;        /* tree, buckets, analysis, alerts; borrowed (lw_watch_reload) */
    lw_store_t *store;             /* writable; the evaluator's own connection to the pipeline's
                                      store (SQLite WAL: reads beside the pipeline's writes) */
    lw_promtext_t *metrics;        /* NULL: no gauges */
    lw_alertsink_t *sink;          /* NULL: transitions are only logged */
    int64_t (*mono_ms)(void *ctx); /* clock for the evaluation duration; NULL = CLOCK_MONOTONIC */
    int64_t (*wall_ms)(void *ctx); /* read per evaluation for the alert times (a catch-up
                                      spans seconds); NULL = the now_ms passed in */
    void *clock_ctx;
} lw_watch_deps_t;

typedef struct {
    uint64_t evaluations;      /* buckets evaluated (full ones and closes) */
    uint64_t full_evaluations; /* of them, with the full analysis (analysis.full_every) */
    int64_t last_as_of_ms;     /* newest bucket evaluated, INT64_MIN = none */
    double last_duration_s;    /* of the newest evaluation */
    size_t firing;             /* alerts firing now */
    uint64_t transitions;      /* alert events produced */
    bool stalled;              /* the pipeline is reported stalled */
} lw_watch_stats_t;

/*
 * analysis.full_every: true when the close of bucket `as_of_ms` runs the
 * full analysis, i.e. the bucket's end is a multiple of full_every on the
 * bucket grid (UTC; weeks from the Monday before the epoch), so a live run
 * and a catch-up evaluate in full at the same buckets.  lw_watch_last_full:
 * the newest such bucket at or before as_of_ms.
 */
bool lw_watch_full_close(const lw_config_t *cfg, int64_t as_of_ms);
int64_t lw_watch_last_full(const lw_config_t *cfg, int64_t as_of_ms);

/*
 * Load the alert state and the evaluator's position from the store and
 * re-announce the alerts already firing (refresh events to the sink).
 * LW_ERR_CONFIG for bad alert options, LW_ERR_STORE, LW_ERR_INVALID for a
 * stored alert table that does not parse (named in errstr), LW_ERR_NOMEM.
 */
lw_err_t lw_watch_new(const lw_watch_deps_t *deps, int64_t now_ms, lw_watch_t **out, char *errstr,
                      size_t errstr_size);
void lw_watch_destroy(lw_watch_t *w);

/*
 * Evaluate every bucket closed by `watermark_ms` (the watermark the last
 * flush committed) that was not evaluated yet.  *nevals (may be NULL) gets
 * the number done.  A store failure is returned (LW_ERR_STORE): the daemon
 * treats it like a failed flush.  Analysis failures of one evaluation are
 * logged and counted as no data, never fatal.
 */
lw_err_t lw_watch_advance(lw_watch_t *w, int64_t watermark_ms, int64_t now_ms, size_t *nevals,
                          char *errstr, size_t errstr_size);

/*
 * The same, bounded: at most `max_evals` evaluations (0: none, only the
 * count of closed buckets), so a caller can take a lock per evaluation
 * (app/evaluator.h).  *left (may be NULL) gets the closed buckets still to
 * evaluate; call again with the same or a newer watermark to go on: a
 * sequence of bounded calls evaluates exactly the buckets one unbounded
 * call would.
 */
lw_err_t lw_watch_advance_max(lw_watch_t *w, int64_t watermark_ms, int64_t now_ms, size_t max_evals,
                              size_t *nevals, uint64_t *left, char *errstr, size_t errstr_size);

/*
 * The pipeline-stall state from the daemon's timer (no events for
 * alerts.stall.no_events_for, or consumer lag over alerts.stall.max_lag).
 * `reason` may be NULL.  Persists the alert table when it changed.
 */
lw_err_t lw_watch_pipeline(lw_watch_t *w, bool stalled, const char *reason, int64_t now_ms,
                           char *errstr, size_t errstr_size);

/*
 * The consumer's loss per Kafka partition (l[i].lost_total: offsets skipped
 * since the daemon started, cumulative; lost_new is ignored), from the
 * daemon's timer.  The watcher remembers per partition the count it already
 * alerted (in memory: a new process counts from 0, as the consumer does) and
 * hands the increase to lw_alert_loss (LeadwatchEventsLost); called with
 * n = 0 it only resolves the alerts whose alerts.events_lost_for passed.
 * Persists the alert table when it changed.  At most LW_WATCH_MAX_LOSS
 * partitions are tracked (more are not alerted; the consumer still logs and
 * counts them).
 */
lw_err_t lw_watch_losses(lw_watch_t *w, const lw_alert_loss_t *l, size_t n, int64_t now_ms,
                         char *errstr, size_t errstr_size);

/*
 * SIGHUP: take the analysis and alerts sections (and the sink: NULL = none)
 * from `cfg`.  The tree, buckets and metrics must be those the watcher was
 * created with (the caller checks; they need a restart).  LW_ERR_CONFIG
 * and nothing changed when the alert options are not acceptable.
 */
lw_err_t lw_watch_reload(lw_watch_t *w, const lw_config_t *cfg, lw_alertsink_t *sink, char *errstr,
                         size_t errstr_size);

/* Re-announce the firing alerts (refresh events) to the sink, e.g. a new one after a reload. */
void lw_watch_reannounce(lw_watch_t *w, int64_t now_ms);

void lw_watch_stats(const lw_watch_t *w, lw_watch_stats_t *out);

/*
 * The pieces of one evaluation that `analyze --replay` shares with the
 * daemon.  lw_watch_edge_obs: edge i of `an` as an alert observation
 * (strings borrowed from `an`, `nsm`, `as_of` and `brk`, a buffer for the
 * break label); monitor left NONE.  lw_watch_monitor_edge: advance edge i's
 * monitor with the window `in` (the input `an` was computed from), whose
 * newest row is bucket index `last_index`, and `obs` (edge i's observation:
 * whether it leads), and say what it tells the alert.
 */
void lw_watch_edge_obs(const lw_analysis_t *an, size_t i, const char *nsm, double alpha, bool gap,
                       char *brk, size_t brk_size, const char *as_of, lw_alert_obs_t *o);
lw_alert_mon_t lw_watch_monitor_edge(lw_leadmon_t *m, const lw_leadmon_opts_t *o,
                                     const lw_analysis_t *an, size_t i,
                                     const lw_analyze_input_t *in, int64_t last_index,
                                     const lw_alert_obs_t *obs);
/* What a monitor state tells the alert (NONE while idle). */
lw_alert_mon_t lw_watch_monitor_state(const lw_leadmon_t *m);

/* The alert table (borrowed; for tests and /metrics). */
const lw_alert_table_t *lw_watch_alerts(const lw_watch_t *w);

#endif
