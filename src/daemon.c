/*
 * daemon.c - see daemon.h.
 *
 * Loop:
 *     poll(100 ms, up to BATCH messages)     feeds the pipeline
 *     timer (every iteration, cheap):
 *         should_flush(mono)  → flush store, then commit to Kafka (async)
 *         every stats_interval → one progress line
 *         exit_when_idle      → idle = every assigned partition at its end
 *                               and no message for that long
 *     stop flag               → leave the loop
 * then lw_consumer_close (final flush, synchronous commit, leave group)
 * bounded by close_timeout_ms.  The clock is read here (this is the edge);
 * the pipeline and consumer take it as arguments.
 *
 * Watermark: the pipeline keeps one watermark, the newest event time seen
 * across every partition this instance consumes; an idle partition does
 * not hold it back (buckets close on the busiest partition's time), so an
 * idle partition's events that arrive more than `grace` behind the
 * watermark are counted late, exactly as out-of-order lines in a file.
 */
#include "leadwatch/daemon.h"

#include <string.h>
#include <time.h>

#include "leadwatch/log.h"

#define POLL_TIMEOUT_MS 100
#define BATCH 10000
#define DEFAULT_STATS_MS 10000
#define DEFAULT_CLOSE_MS 10000

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void log_progress(lw_consumer_t *c, lw_pipeline_t *p)
{
    lw_consumer_stats_t cs;
    lw_pipeline_stats_t ps;
    lw_consumer_stats(c, &cs);
    lw_pipeline_stats(p, &ps);
    LW_LOG(LW_LOG_INFO, "daemon",
           "%d partition(s); %lld messages, %lld accepted, %lld late, %lld poison; "
           "%lld flushes, %lld Kafka commits",
           cs.assigned, (long long)cs.messages, (long long)ps.accepted, (long long)ps.late,
           (long long)cs.poison, (long long)ps.flushes, (long long)cs.kafka_commits);
}

lw_err_t lw_daemon_run(lw_pipeline_t *p, const lw_daemon_opts_t *opts, lw_daemon_result_t *res,
                       char *errstr, size_t errstr_size)
{
    memset(res, 0, sizeof *res);
    lw_consumer_t *c = lw_consumer_new(opts->kafka, p, errstr, errstr_size);
    if (!c)
        return LW_ERR_CONFIG;
    int64_t stats_ms = opts->stats_interval_ms > 0 ? opts->stats_interval_ms : DEFAULT_STATS_MS;
    int64_t close_ms = opts->close_timeout_ms > 0 ? opts->close_timeout_ms : DEFAULT_CLOSE_MS;
    int64_t mono = clock_ms(CLOCK_MONOTONIC);
    int64_t last_stats = mono, last_msg = mono;
    lw_err_t err = LW_OK;

    LW_LOG(LW_LOG_INFO, "daemon", "consuming; offsets are owned by the store");
    while (!(opts->stop && *opts->stop)) {
        int nfed = 0;
        err = lw_consumer_poll(c, POLL_TIMEOUT_MS, BATCH, clock_ms(CLOCK_REALTIME),
                               clock_ms(CLOCK_MONOTONIC), &nfed, errstr, errstr_size);
        if (err != LW_OK)
            break;
        mono = clock_ms(CLOCK_MONOTONIC);
        if (nfed > 0)
            last_msg = mono;
        if (lw_pipeline_should_flush(p, mono)) {
            err = lw_consumer_flush(c, mono, false, errstr, errstr_size);
            if (err != LW_OK)
                break;
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
    if (err == LW_OK && opts->stop && *opts->stop)
        LW_LOG(LW_LOG_INFO, "daemon", "stop requested: flushing and leaving the group");

    char cerr[512];
    lw_err_t cl = lw_consumer_close(c, clock_ms(CLOCK_MONOTONIC), (int)close_ms, cerr, sizeof cerr);
    if (err == LW_OK && cl != LW_OK) {
        err = cl;
        lw_seterr(errstr, errstr_size, err, "%s", cerr);
    }
    log_progress(c, p);
    lw_consumer_stats(c, &res->consumer);
    lw_consumer_destroy(c);
    return err;
}
