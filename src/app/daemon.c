/*
 * daemon.c - see daemon.h.
 *
 * Loop:
 *     poll(100 ms, up to LW_CONSUMER_POLL_MAX messages, and no more than
 *          lw_pipeline_room: flushes every flush_events)  feeds the pipeline
 *     timer (every iteration, cheap):
 *         should_flush(mono)  → flush store, then commit to Kafka (async),
 *                               then post the committed watermark to the
 *                               evaluator thread (evaluator.h), which
 *                               evaluates the buckets it closed while this
 *                               loop keeps polling; its failure ends the loop
 *         every second        → stall check (a report to the evaluator),
 *                               /metrics counters and lag, the loss per
 *                               partition (a report to the evaluator, the
 *                               lost counters, the /readyz note),
 *                               readiness (joined the group, and a broker
 *                               connected within ready_broker_timeout_ms)
 *         every stats_interval → one progress line
 *         reload flag         → on_reload (SIGHUP), between two polls
 *         exit_when_idle      → idle = every assigned partition at its end
 *                               and no message for that long
 *     stop flag               → leave the loop
 * then lw_consumer_close (final flush, synchronous commit, leave group)
 * bounded by close_timeout_ms, then the final watermark is posted and the
 * evaluator drains (every bucket it closes is evaluated before this
 * returns; without draining after a failure); when the run failed, a line
 * with what was read and not committed (lw_daemon_result_t.committed has
 * the committed totals).  The clock is
 * read here (this is the edge); the pipeline, consumer and watcher take it
 * as arguments.
 *
 * Watermark: the pipeline keeps one watermark per source (partition) and
 * closes buckets on the oldest of the active ones (pipeline.h); a partition
 * at its end is idle and does not hold the others back.
 *
 * Metrics: the consumer and pipeline keep cumulative totals; once a second
 * the daemon adds the difference since the last look to the Prometheus
 * counters (so the counters are exact and the hot path stays free of
 * atomics).  The per-partition lag gauges are series created on first
 * sight; a partition that is revoked keeps its last value and is marked by
 * leadwatch_partition_assigned 0.  Gauges whose value is not known yet (the
 * watermark before the first event, a lag librdkafka has not reported) are
 * absent from /metrics rather than -1 or 0 (promtext.h).
 */
#include "leadwatch/app/daemon.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leadwatch/core/log.h"
#include "leadwatch/core/partslot.h"
#include "leadwatch/model/metric.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/core/clock.h"

#define POLL_TIMEOUT_MS 100
#define DEFAULT_STATS_MS 10000
#define DEFAULT_CLOSE_MS 10000
#define TICK_MS 1000
#define MAX_LAG_SERIES 1024 /* partitions with their own lag gauge */

typedef struct {
    lw_partkey_t key; /* first: lw_partslot's table */
    /* lost follows the consumer's count of the partition up (lw_promtext_raise) */
    lw_promtext_series_t *lag, *assigned, *lost;
} lag_slot_t;

/* The daemon's own Prometheus series and the totals last added to them. */
typedef struct {
    lw_promtext_t *reg;
    lw_promtext_series_t *consumed, *accepted, *late, *dead_lettered, *kafka_commits,
        *kafka_commit_errors, *rebalances, *flushes, *assigned, *lag_total, *watermark, *closed,
        *commit_seconds, *stalled, *fetch_wakeups, *stale_skipped, *exp_assigned, *exp_conflicts,
        *exp_dropped, *fenced, *flush_retries;
    lw_promtext_series_t *rejected[LW_REJECT__COUNT];
    lw_promtext_family_t *f_lag, *f_part, *f_lost;
    lw_consumer_stats_t last_c;
    lw_pipeline_stats_t last_p;
    lag_slot_t *slots;
    size_t nslots;
    lw_consumer_lag_t lagbuf[MAX_LAG_SERIES];
    lw_alert_loss_t lossbuf[MAX_LAG_SERIES];
} dmetrics_t;

static lw_err_t metrics_init(dmetrics_t *m, lw_promtext_t *reg, char *errstr, size_t errstr_size)
{
    memset(m, 0, sizeof *m);
    m->reg = reg;
    if (!reg)
        return LW_OK;
    lw_promtext_family_t *f;
    lw_err_t err;
#define ONE(type, name, help, outp)                                                                \
    do {                                                                                           \
        err =                                                                                      \
            lw_promtext_family(reg, type, name, help, NULL, 0, NULL, 0, &f, errstr, errstr_size);  \
        if (err != LW_OK)                                                                          \
            return err;                                                                            \
        outp = lw_promtext_series(f, NULL);                                                        \
    } while (0)
    /* One line a series: rows of one shape are the table of the daemon's series, not copies. */
    ONE(LW_PROMTEXT_COUNTER, "events_consumed_total", "Kafka messages fed to the pipeline",
        m->consumed);
    ONE(LW_PROMTEXT_COUNTER, "events_accepted_total", "events decoded into an open bucket",
        m->accepted);
    ONE(LW_PROMTEXT_COUNTER, "events_late_total",
        "events decoded but older than their bucket's close (watermark - grace)", m->late);
    ONE(LW_PROMTEXT_COUNTER, "events_dead_lettered_total",
        "rejected messages handed to the dead-letter topic", m->dead_lettered);
    ONE(LW_PROMTEXT_COUNTER, "kafka_commits_total", "offset commits acknowledged by the broker",
        m->kafka_commits);
    ONE(LW_PROMTEXT_COUNTER, "kafka_commit_errors_total",
        "offset commits the broker refused (non-fatal)", m->kafka_commit_errors);
    ONE(LW_PROMTEXT_COUNTER, "rebalances_total", "consumer group assignment changes",
        m->rebalances);
    ONE(LW_PROMTEXT_COUNTER, "kafka_fetch_wakeups_total",
        "librdkafka < 2.2: fetchers woken after the prefetch queue was full", m->fetch_wakeups);
    ONE(LW_PROMTEXT_COUNTER, "kafka_stale_messages_total",
        "messages below a partition's next offset, not fed again (0 expected)", m->stale_skipped);
    ONE(LW_PROMTEXT_COUNTER, "store_commits_total",
        "store transactions (aggregates and offsets together)", m->flushes);
    ONE(LW_PROMTEXT_COUNTER, "experiment_assignments_total",
        "new (user, experiment) assignments from exposures (experiments: section)",
        m->exp_assigned);
    ONE(LW_PROMTEXT_COUNTER, "experiment_exposure_conflicts_total",
        "exposures of an assigned user to another variant (counted, not used)", m->exp_conflicts);
    ONE(LW_PROMTEXT_COUNTER, "experiment_exposures_dropped_total",
        "exposures not assigned: experiments.max_users or the variant bound reached",
        m->exp_dropped);
    ONE(LW_PROMTEXT_COUNTER, "store_fenced_flushes_total",
        "fleet: flushes the shared store refused (a partition was claimed by another member); "
        "their events were dropped and consumed again",
        m->fenced);
    ONE(LW_PROMTEXT_COUNTER, "store_flush_retries_total",
        "flushes run again after the store aborted them to break a deadlock", m->flush_retries);
    ONE(LW_PROMTEXT_GAUGE, "partitions_assigned", "Kafka partitions assigned to this instance",
        m->assigned);
    ONE(LW_PROMTEXT_GAUGE, "consumer_total_lag_messages",
        "summed consumer lag of the assigned partitions in messages (absent while unknown)",
        m->lag_total);
    ONE(LW_PROMTEXT_GAUGE, "watermark_timestamp_seconds",
        "newest event time that closes buckets (pipeline watermark)", m->watermark);
    ONE(LW_PROMTEXT_GAUGE, "pipeline_stalled", "1 while the pipeline counts as stalled",
        m->stalled);
#undef ONE
    static const char *const reason_label[] = {"reason"};
    err = lw_promtext_family(reg, LW_PROMTEXT_COUNTER, "events_rejected_total",
                             "messages the decoder rejected, by reason (poison; skipped)",
                             reason_label, 1, NULL, 0, &f, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    for (int r = LW_REJECT_NONE + 1; r < LW_REJECT__COUNT; r++) {
        const char *v[] = {lw_reject_name((lw_reject_t)r)};
        m->rejected[r] = lw_promtext_series(f, v);
    }
    static const double commit_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                            0.05,   0.1,   0.25,   0.5,   1,    5};
    err = lw_promtext_family(
        reg, LW_PROMTEXT_HISTOGRAM, "store_commit_seconds",
        "latency of one store flush (aggregates + offsets, one transaction)", NULL, 0,
        commit_buckets, sizeof commit_buckets / sizeof commit_buckets[0], &f, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    m->commit_seconds = lw_promtext_series(f, NULL);
    static const char *const part_labels[] = {"topic", "partition"};
    err = lw_promtext_family(
        reg, LW_PROMTEXT_GAUGE, "consumer_lag_messages",
        "high watermark - next offset to consume, per partition (absent while unknown)",
        part_labels, 2, NULL, 0, &m->f_lag, errstr, errstr_size);
    if (err == LW_OK)
        err = lw_promtext_family(reg, LW_PROMTEXT_GAUGE, "partition_assigned",
                                 "1 while the partition is assigned to this instance", part_labels,
                                 2, NULL, 0, &m->f_part, errstr, errstr_size);
    if (err == LW_OK)
        err = lw_promtext_family(reg, LW_PROMTEXT_COUNTER, "events_lost_total",
                                 "Kafka offsets skipped because the log no longer held them "
                                 "(retention or truncation passed the consumer), per partition",
                                 part_labels, 2, NULL, 0, &m->f_lost, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    m->slots = calloc(MAX_LAG_SERIES, sizeof *m->slots);
    if (!m->slots)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    return LW_OK;
}

static void metrics_free(dmetrics_t *m)
{
    free(m->slots);
}

static lag_slot_t *lag_slot(dmetrics_t *m, const char *topic, int32_t partition)
{
    bool added;
    lag_slot_t *s = lw_partslot(m->slots, sizeof *m->slots, &m->nslots, MAX_LAG_SERIES, topic,
                                partition, &added);
    if (!s || !added)
        return s;
    char pn[16];
    snprintf(pn, sizeof pn, "%d", (int)partition);
    const char *v[] = {s->key.topic, pn};
    s->lag = lw_promtext_series(m->f_lag, v);
    s->assigned = lw_promtext_series(m->f_part, v);
    s->lost = lw_promtext_series(m->f_lost, v);
    lw_promtext_add(s->lost, 0.0); /* present at 0, so increase() sees the first loss */
    return s;
}

#define ADD_DELTA(series, now, last)                                                               \
    lw_promtext_add(series, (double)((now) - (last) > 0 ? (now) - (last) : 0))

/*
 * Refresh counters and gauges from the cumulative totals; rows[0..n) are
 * the assigned partitions (lw_consumer_lag).
 */
static void metrics_update(dmetrics_t *m, lw_consumer_t *c, lw_pipeline_t *p,
                           const lw_consumer_lag_t *rows, size_t n)
{
    if (!m->reg)
        return;
    lw_consumer_stats_t cs;
    lw_pipeline_stats_t ps;
    lw_consumer_stats(c, &cs);
    lw_pipeline_stats(p, &ps);
    ADD_DELTA(m->consumed, cs.messages, m->last_c.messages);
    ADD_DELTA(m->dead_lettered, cs.dead_lettered, m->last_c.dead_lettered);
    ADD_DELTA(m->kafka_commits, cs.kafka_commits, m->last_c.kafka_commits);
    ADD_DELTA(m->kafka_commit_errors, cs.kafka_commit_errors, m->last_c.kafka_commit_errors);
    ADD_DELTA(m->rebalances, cs.rebalances, m->last_c.rebalances);
    ADD_DELTA(m->fetch_wakeups, cs.fetch_wakeups, m->last_c.fetch_wakeups);
    ADD_DELTA(m->stale_skipped, cs.stale_skipped, m->last_c.stale_skipped);
    ADD_DELTA(m->accepted, ps.accepted, m->last_p.accepted);
    ADD_DELTA(m->late, ps.late, m->last_p.late);
    ADD_DELTA(m->flushes, ps.flushes, m->last_p.flushes);
    ADD_DELTA(m->exp_assigned, ps.exp_assigned, m->last_p.exp_assigned);
    ADD_DELTA(m->exp_conflicts, ps.exp_conflicts, m->last_p.exp_conflicts);
    ADD_DELTA(m->exp_dropped, ps.exp_dropped, m->last_p.exp_dropped);
    ADD_DELTA(m->fenced, cs.fenced_flushes, m->last_c.fenced_flushes);
    ADD_DELTA(m->flush_retries, ps.flush_retries, m->last_p.flush_retries);
    for (int r = LW_REJECT_NONE + 1; r < LW_REJECT__COUNT; r++)
        ADD_DELTA(m->rejected[r], ps.rejected[r], m->last_p.rejected[r]);
    m->last_c = cs;
    m->last_p = ps;
    lw_promtext_set(m->assigned, (double)cs.assigned);
    lw_promtext_set_known(m->lag_total, (double)cs.lag_total, cs.lag_total >= 0);

    int64_t wm = lw_pipeline_watermark(p);
    if (wm != INT64_MIN)
        lw_promtext_set(m->watermark, (double)wm / 1000.0);

    for (size_t i = 0; i < m->nslots; i++)
        lw_promtext_set(m->slots[i].assigned, 0.0);
    for (size_t i = 0; i < n; i++) {
        lag_slot_t *s = lag_slot(m, rows[i].topic, rows[i].partition);
        if (!s)
            continue;
        lw_promtext_set_known(s->lag, (double)rows[i].lag, rows[i].lag >= 0);
        lw_promtext_set(s->assigned, 1.0);
        lw_promtext_raise(s->lost, (double)rows[i].lost);
    }
}

/*
 * The loss of the assigned partitions (rows[0..n)) to the evaluator
 * (LeadwatchEventsLost), every tick so a firing alert can resolve, and the
 * /readyz note: "" when nothing was lost, else the total and the newest
 * skipped range of the partition that lost the most.  A partition revoked since keeps its count on
 * /metrics; the note and the alert report the assigned ones.
 */
static void report_loss(const lw_daemon_opts_t *opts, dmetrics_t *m, const lw_consumer_stats_t *cs,
                        const lw_consumer_lag_t *rows, size_t n, char *note, size_t size)
{
    lw_alert_loss_t *loss = m->lossbuf;
    size_t nl = 0, nparts = 0;
    const lw_consumer_lag_t *most = NULL; /* the partition that lost the most */
    for (size_t i = 0; i < n && nl < MAX_LAG_SERIES; i++) {
        if (rows[i].lost <= 0)
            continue;
        loss[nl++] = (lw_alert_loss_t){rows[i].topic, rows[i].partition,  0,
                                       rows[i].lost,  rows[i].lost_first, rows[i].lost_last};
        nparts++;
        if (!most || rows[i].lost > most->lost)
            most = &rows[i];
    }
    if (opts->evaluator)
        lw_evaluator_losses(opts->evaluator, loss, nl, lw_clock_wall_ms());
    note[0] = '\0';
    if (cs->events_lost <= 0)
        return;
    int k = snprintf(note, size,
                     "%lld events lost since start (Kafka offsets skipped: the log "
                     "no longer held them",
                     (long long)cs->events_lost);
    if (most && k > 0 && (size_t)k < size)
        snprintf(note + k, size - (size_t)k, "; %s/%d offsets %lld..%lld%s", most->topic,
                 (int)most->partition, (long long)most->lost_first, (long long)most->lost_last,
                 nparts > 1 ? " and more partitions" : "");
    size_t len = strlen(note);
    if (len + 2 < size)
        memcpy(note + len, ")", 2);
}

static void log_progress(lw_consumer_t *c, lw_pipeline_t *p)
{
    lw_consumer_stats_t cs;
    lw_pipeline_stats_t ps;
    lw_consumer_stats(c, &cs);
    lw_pipeline_stats(p, &ps);
    /* no partition: say where the group join stands (librdkafka's statistics) */
    char group[192] = "";
    if (cs.assigned == 0 && cs.group_state[0])
        snprintf(group, sizeof group, "; group state %s, join state %s%s%s%s", cs.group_state,
                 cs.join_state[0] ? cs.join_state : "?",
                 cs.rebalance_reason[0] ? " (last rebalance: " : "", cs.rebalance_reason,
                 cs.rebalance_reason[0] ? ")" : "");
    LW_LOG(LW_LOG_INFO, "daemon",
           "%d partition(s); %lld messages, %lld accepted, %lld late, %lld poison, %lld lost "
           "(offsets skipped); %lld flushes, %lld Kafka commits, lag %lld%s",
           cs.assigned, (long long)cs.messages, (long long)ps.accepted, (long long)ps.late,
           (long long)cs.poison, (long long)cs.events_lost, (long long)ps.flushes,
           (long long)cs.kafka_commits, (long long)cs.lag_total, group);
}

/*
 * After a failed run: what was read and never committed, beside what the
 * store holds from this run (`ingest` prints the same split).
 */
static void log_not_committed(const lw_pipeline_t *p, const lw_pipeline_stats_t *done)
{
    lw_pipeline_stats_t fed;
    lw_pipeline_stats(p, &fed);
    if (fed.read <= done->read)
        return;
    LW_LOG(LW_LOG_ERROR, "daemon",
           "not committed: %lld events read after the last successful flush (%lld accepted, "
           "%lld late, %lld rejected); committed: %lld accepted, %lld late, %lld rejected in %lld "
           "transaction(s)",
           (long long)(fed.read - done->read), (long long)(fed.accepted - done->accepted),
           (long long)(fed.late - done->late),
           (long long)(fed.rejected_total - done->rejected_total), (long long)done->accepted,
           (long long)done->late, (long long)done->rejected_total, (long long)done->flushes);
}

/*
 * Flush (store, then Kafka), time it, then post the watermark to the
 * evaluator: after a successful flush the pipeline's watermark is the one
 * the store holds (pipeline.c), never ahead of it.
 */
static lw_err_t flush_and_post(lw_consumer_t *c, lw_pipeline_t *p, const lw_daemon_opts_t *opts,
                               dmetrics_t *m, char *errstr, size_t errstr_size)
{
    int64_t t0 = lw_clock_mono_ms();
    lw_pipeline_stats_t before;
    lw_pipeline_stats(p, &before);
    lw_err_t err = lw_consumer_flush(c, t0, false, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    if (m->reg) {
        lw_pipeline_stats_t after;
        lw_pipeline_stats(p, &after);
        if (after.flushes > before.flushes)
            lw_promtext_observe(m->commit_seconds, (double)(lw_clock_mono_ms() - t0) / 1000.0);
    }
    if (!opts->evaluator)
        return LW_OK;
    lw_evaluator_post(opts->evaluator, lw_pipeline_watermark(p));
    return lw_evaluator_failed(opts->evaluator, errstr, errstr_size);
}

/*
 * The readiness rule (daemon.h): false with the reason in *why when the
 * consumer has not joined its group yet or no broker was connected for
 * longer than the timeout.
 */
static bool is_ready(const lw_daemon_opts_t *opts, lw_consumer_t *c, const lw_consumer_stats_t *cs,
                     int64_t mono, char *why, size_t size)
{
    if (cs->rebalances == 0) {
        snprintf(why, size, "not in the consumer group yet");
        return false;
    }
    int64_t silence = lw_consumer_broker_silence_ms(c, mono);
    if (opts->ready_broker_timeout_ms > 0 && silence > opts->ready_broker_timeout_ms) {
        snprintf(why, size,
                 "no Kafka broker connected for %lld s (http.ready_broker_timeout %lld s)",
                 (long long)(silence / 1000), (long long)(opts->ready_broker_timeout_ms / 1000));
        return false;
    }
    return true;
}

/* The stall rule (daemon.h); *reason gets the human explanation. */
static bool is_stalled(const lw_daemon_tunables_t *t, const lw_consumer_stats_t *cs,
                       int64_t since_msg_ms, char *reason, size_t size)
{
    if (t->stall_after_ms > 0 && since_msg_ms >= t->stall_after_ms) {
        snprintf(reason, size, "no events consumed for %lld s (alerts.stall.no_events_for %lld s)",
                 (long long)(since_msg_ms / 1000), (long long)(t->stall_after_ms / 1000));
        return true;
    }
    if (t->stall_max_lag > 0 && cs->lag_total > t->stall_max_lag) {
        snprintf(reason, size, "consumer lag %lld messages > alerts.stall.max_lag %lld",
                 (long long)cs->lag_total, (long long)t->stall_max_lag);
        return true;
    }
    return false;
}

lw_err_t lw_daemon_run(lw_pipeline_t *p, const lw_daemon_opts_t *opts, lw_daemon_result_t *res,
                       char *errstr, size_t errstr_size)
{
    memset(res, 0, sizeof *res);
    dmetrics_t *m = calloc(1, sizeof *m);
    if (!m)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    lw_err_t err = metrics_init(m, opts->metrics, errstr, errstr_size);
    if (err != LW_OK) {
        metrics_free(m);
        free(m);
        return err;
    }
    lw_consumer_t *c = lw_consumer_new(opts->kafka, p, errstr, errstr_size);
    if (!c) {
        metrics_free(m);
        free(m);
        return LW_ERR_CONFIG;
    }
    lw_daemon_tunables_t tun = opts->tunables;
    int64_t stats_ms = opts->stats_interval_ms > 0 ? opts->stats_interval_ms : DEFAULT_STATS_MS;
    int64_t close_ms = opts->close_timeout_ms > 0 ? opts->close_timeout_ms : DEFAULT_CLOSE_MS;
    int64_t mono = lw_clock_mono_ms();
    int64_t started = mono;
    int64_t last_stats = mono, last_msg = mono, last_tick = mono - TICK_MS;
    bool ready = false;

    LW_LOG(LW_LOG_INFO, "daemon", "consuming; offsets are owned by the store");
    while (!(opts->stop && *opts->stop)) {
        int nfed = 0;
        int64_t room = lw_pipeline_room(p);
        int most = room < LW_CONSUMER_POLL_MAX ? (int)room : LW_CONSUMER_POLL_MAX;
        err = lw_consumer_poll(c, POLL_TIMEOUT_MS, most, lw_clock_wall_ms(), lw_clock_mono_ms(),
                               &nfed, errstr, errstr_size);
        if (err != LW_OK)
            break;
        mono = lw_clock_mono_ms();
        if (nfed > 0)
            last_msg = mono;
        if (lw_pipeline_should_flush(p, mono)) {
            err = flush_and_post(c, p, opts, m, errstr, errstr_size);
            if (err != LW_OK)
                break;
            mono = lw_clock_mono_ms();
        }
        if (opts->reload && *opts->reload) {
            *opts->reload = 0;
            if (opts->on_reload)
                (void)opts->on_reload(opts->reload_ctx, &tun);
        }
        if (mono - last_tick >= TICK_MS) {
            last_tick = mono;
            lw_consumer_stats_t cs;
            lw_consumer_stats(c, &cs);
            if (opts->evaluator) {
                char why[160] = "";
                bool stalled =
                    cs.rebalances > 0 && is_stalled(&tun, &cs, mono - last_msg, why, sizeof why);
                lw_evaluator_pipeline(opts->evaluator, stalled, stalled ? why : NULL,
                                      lw_clock_wall_ms());
                err = lw_evaluator_failed(opts->evaluator, errstr, errstr_size);
                if (err != LW_OK)
                    break;
                if (m->reg)
                    lw_promtext_set(m->stalled, stalled ? 1.0 : 0.0);
            }
            size_t nrows = lw_consumer_lag(c, m->lagbuf, MAX_LAG_SERIES);
            if (nrows > MAX_LAG_SERIES)
                nrows = MAX_LAG_SERIES;
            metrics_update(m, c, p, m->lagbuf, nrows);
            char note[LW_HTTP_NOTE_SIZE];
            report_loss(opts, m, &cs, m->lagbuf, nrows, note, sizeof note);
            /* the store took every flush (else the loop has ended) */
            char why[160] = "";
            bool now_ready = is_ready(opts, c, &cs, mono, why, sizeof why);
            if (opts->http && now_ready)
                lw_http_set_ready_note(opts->http, note); /* a loss: still ready, says so */
            if (opts->http && now_ready != ready) {
                lw_http_set_ready(opts->http, now_ready, now_ready ? NULL : why);
                if (now_ready)
                    LW_LOG(LW_LOG_INFO, "daemon", "ready");
                else
                    LW_LOG(LW_LOG_WARN, "daemon", "not ready: %s", why);
                ready = now_ready;
            }
        }
        if (mono - last_stats >= stats_ms) {
            log_progress(c, p);
            last_stats = mono;
        }
        if (opts->exit_when_idle_ms > 0 && lw_consumer_idle(c) &&
            mono - last_msg >= opts->exit_when_idle_ms) {
            LW_LOG(LW_LOG_INFO, "daemon", "every partition at its end for %lld ms: stopping",
                   (long long)opts->exit_when_idle_ms);
            res->idle_exit = true;
            break;
        }
    }
    if (opts->http)
        lw_http_set_ready(opts->http, false, err == LW_OK ? "stopping" : errstr);
    if (err == LW_OK && opts->stop && *opts->stop)
        LW_LOG(LW_LOG_INFO, "daemon", "stop requested: flushing and leaving the group");

    char cerr[512];
    lw_err_t cl = lw_consumer_close(c, lw_clock_mono_ms(), (int)close_ms, cerr, sizeof cerr);
    if (err == LW_OK && cl != LW_OK) {
        err = cl;
        lw_seterr(errstr, errstr_size, err, "%s", cerr);
    }
    res->run_s = (double)(lw_clock_mono_ms() - started) / 1000.0;
    /* the close flushed: evaluate every bucket its watermark closed before returning */
    if (opts->evaluator) {
        if (err == LW_OK)
            lw_evaluator_post(opts->evaluator, lw_pipeline_watermark(p));
        lw_err_t ee = lw_evaluator_finish(opts->evaluator, err == LW_OK, cerr, sizeof cerr);
        if (err == LW_OK && ee != LW_OK) {
            err = ee;
            lw_seterr(errstr, errstr_size, err, "%s", cerr);
        }
    }
    log_progress(c, p);
    lw_pipeline_committed(p, &res->committed);
    log_not_committed(p, &res->committed);
    lw_consumer_stats(c, &res->consumer);
    lw_consumer_destroy(c);
    metrics_free(m);
    free(m);
    return err;
}
