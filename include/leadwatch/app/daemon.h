/*
 * daemon.h - the `leadwatch run` loop: consume Kafka into the store until
 * asked to stop.
 *
 * One thread, one loop (the shape of librdkafka's examples/consumer.c and
 * Redis' serverCron): poll the consumer with a short timeout (so a stop
 * flag is noticed within ~100 ms), feed what arrived, and on one timer
 * check the flush cadence (store.flush_events / store.flush_interval),
 * log progress every `stats_interval_ms`, and check idleness.  Signal
 * handlers live in main.c and only set the flags handed in here.
 *
 * Shutdown (stop flag, or --exit-when-idle): the batch in hand is finished,
 * the pipeline is flushed (store, then Kafka, synchronously), the consumer
 * leaves the group and is closed within `close_timeout_ms`.  A store
 * failure or a fatal Kafka error ends the loop without committing anything
 * past the store and returns the error.
 *
 * Service parts (lw_daemon_opts_t): after every successful flush the
 * committed watermark is posted to the evaluator (evaluator.h), whose own
 * thread evaluates the buckets it closed while this loop keeps polling (so
 * a slow evaluation never makes the consumer miss max.poll.interval.ms);
 * at shutdown the evaluator drains up to the final flush's watermark.
 * Once a second the stall check (no event for tunables.stall_after_ms while
 * partitions are assigned, or the summed consumer lag over
 * tunables.stall_max_lag) is reported to it, and the counters, lag gauges and readiness
 * (/readyz) are refreshed.  Ready = the consumer joined its group (first
 * assignment seen) and a Kafka broker was connected within
 * ready_broker_timeout_ms; it goes back and forth with the broker, and
 * each change is logged with its reason.  Also once a second each assigned
 * partition's loss (Kafka offsets skipped, consumer.h) is reported to the
 * evaluator (LeadwatchEventsLost), added to events_lost_total{topic,
 * partition}, and, once anything was lost, said by a ready /readyz
 * ("ready; N events lost since start (...)"): a loss does not make the
 * daemon unready (README, "Lost messages").  A SIGHUP flag makes the loop call on_reload
 * between two polls, so consumption never stops for a reload.
 */
#ifndef LEADWATCH_DAEMON_H
#define LEADWATCH_DAEMON_H

#include <signal.h>

#include "leadwatch/ingest/consumer.h"
#include "leadwatch/alert/http.h"
#include "leadwatch/alert/promtext.h"
#include "leadwatch/app/evaluator.h"

/* What SIGHUP may change while the loop runs (lw_daemon_opts_t.on_reload). */
typedef struct {
    int64_t stall_after_ms; /* no event for this long = pipeline stalled; 0 = no check */
    int64_t stall_max_lag;  /* summed consumer lag above this = stalled; 0 = no check */
} lw_daemon_tunables_t;

typedef struct {
    const lw_kafka_settings_t *kafka;
    const volatile sig_atomic_t *stop; /* set by SIGTERM/SIGINT; may be NULL */
    int64_t exit_when_idle_ms; /* > 0: stop once every assigned partition is at its end and no
                                  message arrived for this long */
    int64_t stats_interval_ms; /* progress log period; 0 = default 10 s */
    int64_t close_timeout_ms;  /* bound on leaving the group; 0 = default 10 s */

    /* service parts, all optional (NULL / 0 = off) */
    lw_evaluator_t *evaluator;       /* gets the watermark after each flush and the stall checks;
                                        drained and stopped (lw_evaluator_finish) at the end */
    lw_promtext_t *metrics;          /* the daemon registers and updates its counters here */
    lw_http_t *http;                 /* told when the daemon is ready (consuming, store writable,
                                        a broker connected) */
    int64_t ready_broker_timeout_ms; /* not ready after this long without a Kafka broker
                                        connected (lw_consumer_broker_silence_ms); 0 = off */
    lw_daemon_tunables_t tunables;
    volatile sig_atomic_t *reload; /* set by SIGHUP; the loop clears it and calls on_reload */
    lw_err_t (*on_reload)(void *ctx, lw_daemon_tunables_t *t); /* on the loop's thread */
    void *reload_ctx;                                          /* ctx of on_reload */
} lw_daemon_opts_t;

typedef struct {
    lw_consumer_stats_t consumer;
    lw_pipeline_stats_t committed; /* what committed flushes wrote (lw_pipeline_committed): the
                                      store's share of this run; the rest of
                                      lw_pipeline_stats() was read and not committed */
    bool idle_exit;                /* ended because of exit_when_idle_ms */
    double run_s; /* from the start of the loop to the end of the group leave (the consumption
                     time, without the service's alert-queue drain at exit) */
} lw_daemon_result_t;

/*
 * Run until stopped.  Borrows the pipeline (and its store).  LW_OK after a
 * clean stop; LW_ERR_STORE / LW_ERR_KAFKA / LW_ERR_CONFIG with errstr
 * otherwise.  *res is filled in every case.
 */
lw_err_t lw_daemon_run(lw_pipeline_t *p, const lw_daemon_opts_t *opts, lw_daemon_result_t *res,
                       char *errstr, size_t errstr_size);

#endif
