/*
 * evaluator.h - the daemon's evaluations on their own thread, so the Kafka
 * consumer keeps polling while an evaluation runs (issue 19: with hourly
 * buckets one evaluation costs seconds, and a consumer that does not poll
 * for max.poll.interval.ms leaves its group and loses its partitions).
 *
 * How it works.  lw_evaluator_new() opens a second connection to the
 * pipeline's store (SQLite WAL: it reads beside the pipeline's writes, and
 * the two writers take turns on the write lock, see "Store" below), creates
 * the watcher (watch.h) on it - which loads the alert state and
 * re-announces the firing alerts - and starts the evaluator thread.
 *
 *   consumer thread                        evaluator thread
 *   flush committed -> lw_evaluator_post(W)   queue of watermarks
 *   every second -> lw_evaluator_pipeline()   newest stall report (mailbox)
 *   every second -> lw_evaluator_losses()     newest loss report (mailbox)
 *   SIGHUP -> lw_evaluator_reload()  --- watch mutex ---  one evaluation
 *
 * The consumer posts the pipeline's watermark after each successful flush:
 * a watermark the store holds (never ahead of it), so every bucket it
 * closes is final in the store when the evaluator reads it.  The evaluator
 * takes the posted watermarks in order and calls lw_watch_advance_max() one
 * evaluation at a time, each under the watch mutex; between two
 * evaluations it applies the newest stall report (lw_watch_pipeline, with
 * the time it was made) once every watermark posted before that report is
 * evaluated, so the stall state meets the evaluations in the order the
 * consumer thread saw them (a stall must not turn the evaluations of a
 * backlog it came after into no data).  Reload and re-announce take the same mutex, so
 * they wait for at most the evaluation in progress, never for a backlog.
 *
 * Same verdicts as evaluating on the consumer thread: each evaluation is
 * "as of" its bucket and reads only closed buckets, so it does not depend
 * on when it runs, and every closed bucket is evaluated however far behind
 * the evaluator is (a post closing thousands of buckets too: no catch-up
 * bound skips any, tests/test_evaluator.c and it_kafka_year_hourly.sh).
 *
 * Store.  An evaluation holds the write lock only for its own transaction
 * (verdict rows, alert state, monitors and position: milliseconds; the
 * analysis runs before it), so the consumer's flush waits at most that
 * long; both connections have the store's busy timeout (5 s).  Should the
 * evaluator's begin still find the store locked (a flush longer than the
 * busy timeout), the evaluation is retried (the watcher restores its state
 * after a failed transaction) for up to RETRY_MS (evaluator.c); any other
 * store failure stops the evaluator, and lw_evaluator_failed() tells the
 * daemon, which stops as after a failed flush.
 *
 * Shutdown: lw_evaluator_finish(drain = true) after the final flush's
 * watermark was posted evaluates every bucket it closes, then joins the
 * thread; drain = false (a failed run) stops after the evaluation in
 * progress (the rest is evaluated at the next start: the position is in
 * the store).
 *
 * Fleet (a shared store, store.h "Fleet"): exactly one member evaluates
 * and alerts at a time, the holder of the evaluator lease (lw_store_lease:
 * a PostgreSQL session advisory lock on a third connection, lease_store).
 * The thread confirms or tries the lease every second and before each
 * evaluation.  Without it, the posted watermarks and the stall and loss
 * reports are dropped (no watch exists).  On taking it, the watch is made
 * from the store (lw_watch_new: alert table, monitors, last evaluated
 * bucket, firing alerts re-announced), and from then on every second the
 * store's watermark (the fleet's global one, raised by every member's flush)
 * is posted, so the leader evaluates what all members' flushes closed.
 * The holder dies: the server ends its session at once and another member
 * takes over within a second; the holder stops answering (SIGSTOP, a frozen
 * host): the lease session's idle_session_timeout (10 s) ends it.  A holder
 * that resumes after losing it finds out at its next check, before its next
 * evaluation (an evaluation already running when the session ended still
 * commits: the verdicts are "as of" a closed bucket, so both write the same
 * rows).  /metrics: leadwatch_evaluator_leader (1 while held).
 *
 * /metrics: leadwatch_evaluation_backlog_buckets, the buckets closed by the
 * posted watermarks and not evaluated yet.
 *
 * Test hook: the environment variable LW_TEST_EVAL_DELAY_MS (read once by
 * lw_evaluator_new, logged as a warning when set) makes the evaluator
 * thread sleep that long before each evaluation (tests/it_kafka_slow_eval.sh).
 * LW_TEST_EVAL_SYNC=1 (likewise) makes lw_evaluator_post wait until the
 * evaluator has evaluated everything posted, so the consumer thread waits
 * for each flush's evaluations as when it evaluated them itself: the
 * "live" reference of tests/it_kafka_year_hourly.sh (ignored in a fleet,
 * where another member may be the one evaluating).
 */
#ifndef LEADWATCH_EVALUATOR_H
#define LEADWATCH_EVALUATOR_H

#include "leadwatch/alert/alertsink.h"
#include "leadwatch/alert/promtext.h"
#include "leadwatch/alert/watch.h"
#include "leadwatch/core/common.h"
#include "leadwatch/model/config.h"

typedef struct lw_evaluator lw_evaluator_t;

typedef struct {
    const char *store_target; /* the pipeline's store (lw_store_open target), opened again */
    const lw_config_t *cfg;   /* borrowed; lw_evaluator_reload switches it */
    lw_promtext_t *metrics;   /* NULL: no gauges */
    lw_alertsink_t *sink;     /* NULL: transitions are only logged */
} lw_evaluator_opts_t;

typedef struct {
    uint64_t backlog;       /* buckets closed by the posted watermarks, not evaluated yet */
    int64_t posted_ms;      /* newest watermark posted, INT64_MIN = none */
    uint64_t evaluations;   /* done by this evaluator */
    lw_watch_stats_t watch; /* as of the last evaluation */
} lw_evaluator_stats_t;

/*
 * Open the store, create the watcher and start the thread.  LW_ERR_CONFIG
 * for a store that cannot be shared (":memory:") or bad alert options,
 * otherwise as lw_watch_new / lw_store_open.
 */
lw_err_t lw_evaluator_new(const lw_evaluator_opts_t *o, int64_t now_ms, lw_evaluator_t **out,
                          char *errstr, size_t errstr_size);
/* Finish (without draining) if not finished, close the store; NULL is a no-op. */
void lw_evaluator_destroy(lw_evaluator_t *ev);

/* A watermark the store holds (after a successful flush).  Never blocks for an evaluation. */
void lw_evaluator_post(lw_evaluator_t *ev, int64_t watermark_ms);

/* The pipeline-stall state (lw_watch_pipeline), applied between two evaluations. */
void lw_evaluator_pipeline(lw_evaluator_t *ev, bool stalled, const char *reason, int64_t now_ms);

/*
 * The consumer's loss per partition (cumulative lost_total since start, the
 * newest skipped range; rows with lost_total 0 may be left out), copied and
 * applied (lw_watch_losses) at the thread's next step; call it regularly
 * (the daemon: every second), also with n = 0, so LeadwatchEventsLost can
 * resolve.  Never blocks for an evaluation.
 */
void lw_evaluator_losses(lw_evaluator_t *ev, const lw_alert_loss_t *l, size_t n, int64_t now_ms);

/* lw_watch_reload / lw_watch_reannounce under the watch mutex. */
lw_err_t lw_evaluator_reload(lw_evaluator_t *ev, const lw_config_t *cfg, lw_alertsink_t *sink,
                             char *errstr, size_t errstr_size);
void lw_evaluator_reannounce(lw_evaluator_t *ev, int64_t now_ms);

/* LW_OK while the evaluator works; its failure (LW_ERR_STORE, ...) with errstr once it stopped. */
lw_err_t lw_evaluator_failed(lw_evaluator_t *ev, char *errstr, size_t errstr_size);

/*
 * Stop the thread: with drain, after evaluating every bucket the posted
 * watermarks closed; without, after the evaluation in progress.  Returns
 * the evaluator's failure if any.  Later calls return the same.
 */
lw_err_t lw_evaluator_finish(lw_evaluator_t *ev, bool drain, char *errstr, size_t errstr_size);

void lw_evaluator_stats(lw_evaluator_t *ev, lw_evaluator_stats_t *out);

#endif
