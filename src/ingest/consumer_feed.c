/*
 * consumer_feed.c - the Kafka consumer's message path, split from
 * consumer.c (see its file comment, "Message path" and "Loss"): what
 * happens to each batch that lw_consumer_poll() takes from the consumer
 * queue, and the feed worker thread that overlaps decoding with fetching
 * (issue 19: the polling thread was the bottleneck of a catch-up, with the
 * second core mostly idle).
 *
 * One batch (feed_job_t: what one rd_kafka_consume_batch_queue returned, up
 * to POLL_BATCH messages) goes through three steps:
 *   1. classify (polling thread): for each message, whether it will be fed
 *      and into which pipeline source - the same checks as step 3 (end of
 *      partition, message error, row lookup, active/blocked/fenced/reseek,
 *      stale skip), run against each row's `hnext`: the `next` the batches
 *      in flight will leave when they are applied.  No side effect on the
 *      rows' other fields or on the counters.
 *   2. feed (worker thread): lw_pipeline_feed_ahead() for the messages
 *      classified as fed, in order, reading ahead within the batch only
 *      (lw_pipeline_forget_ahead() at its end).  The first feed that fails
 *      (a store error, or LW_ERR_FENCED from a flush the feed made) stops
 *      it, and the worker halts: it skips every batch handed after it
 *      (`fed` false) until the polling thread has applied the failure.
 *      Outcome and reject reason per message go back in the batch.
 *   3. apply (polling thread): exactly the per-message code of the path
 *      without a worker (on_message: loss counting, end of partition, stale
 *      skip, then `next`, counters, poison, dead letters), with the feed
 *      replaced by the worker's answer for every message up to the one
 *      where it stopped; messages after that one, and the batches it
 *      skipped, are fed here on this thread, as without a worker (after a
 *      fence they are skipped, their rows being put back).  Then the
 *      messages are destroyed.
 * The batches go round a ring of FEED_JOBS: the polling thread takes a
 * batch, classifies it, hands it over and applies whatever the worker is
 * through with, oldest first; it waits only when the ring is full (until
 * half of it is through: one wake-up per FEED_JOBS / 2 batches, the worker
 * signals only the batch waited for) and at a drain.  So the slower of the
 * two threads does not sleep while the other has work for it, and waking
 * a sleeping thread is off the busy thread's path.  Measured (bench_kafka,
 * 2 M messages, loaded machine): a first version with two buffers that
 * waited for batch N before handing N+1 over ran at 1.35 M msgs/s, below
 * the single-threaded path's 1.6 M in the same run (both threads spent
 * most of the run waking each other, ~140 us per batch); the ring, 1.85 M.
 * A batch with nothing to feed and nothing in flight is processed here at
 * once.
 *
 * Why the result is the same as feeding on one thread: the rows' state that
 * classification reads (active, blocked, fenced, reseek, and `next` through
 * `hnext`) changes only (a) by applying messages, whose effect on `hnext`
 * classification reproduces (a fed message moves it to offset + 1, an end
 * of partition past it moves it there), (b) when a feed fails (the worker
 * halts there: nothing after it is fed by the worker, and what follows is
 * processed by apply's own checks against the rows as they then are), and
 * (c) by the rebalance callback and the end of lw_consumer_poll(), which
 * drain first (below), so the next classification starts from the rows
 * themselves (`hnext` = `next` whenever nothing is in flight).  Apply
 * checks that its decision for each message matches the classification the
 * worker followed (the consumer fails with an internal error otherwise).
 * Apply runs in message order, batch after batch, before the rebalance that
 * follows them, as without a worker.  `next` itself only moves when a
 * message is applied: a batch handed over and not applied leaves no trace
 * in it (after a failure, lag and the fleet's reseek see exactly what was
 * fed and counted).
 *
 * Thread model (the invariant): the pipeline (and with it the store) is
 * touched by one thread at a time.  The worker touches only the pipeline
 * and the job it was handed, and only between the hand-over and its
 * answer; the polling thread touches neither the pipeline nor that job in
 * that time (it calls librdkafka, classifies the other job and reads and
 * writes the consumer's own fields, which the worker never reads).  The
 * hand-over (todo set under `mu`, work_cv) and the answer (todo cleared
 * under `mu`, done_cv) are the only synchronisation points; the mutex
 * orders every write before them.  The worker is busy only inside one
 * lw_consumer_poll() call: lw_kc_feed_drain() waits for it and applies every
 * batch in flight before the rebalance callback does anything (it flushes the
 * pipeline on revoke, reads the store on assign), before the end of
 * lw_consumer_poll() (idle marking, reseeks, committed-offset retries,
 * commit retries), and in flush and close.  librdkafka's other callbacks
 * served during a poll (commit results, statistics, errors) touch consumer
 * fields only.  Messages stay alive until applied: librdkafka allows an
 * application to hold them across polls.  No spinning: the handshake is one
 * mutex and two condition variables per batch (a signal with no waiter
 * costs no system call).
 *
 * Two differences in time, neither visible in the store: (1) a fatal
 * librdkafka error (error_cb), or a failed flush in the rebalance callback,
 * reported while a later batch is taken is set before the batches in
 * flight are applied; apply of a handed batch ignores a failure already set
 * when it starts (without a worker those were applied before it arrived),
 * and the batch taken then is processed on this thread, stopping after its
 * first message, as before.  (2) When a feed fails, up to FEED_JOBS - 1
 * later batches may already have been taken from librdkafka; after a
 * failure they are destroyed unprocessed (the consumer is failed: nothing
 * more is flushed or committed), after a fence they are processed here.
 */
#include "leadwatch/ingest/consumer.h"
#include "leadwatch/ingest/consumer_int.h"
#include "leadwatch/ingest/consumer_testing.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "leadwatch/core/log.h"
#include "leadwatch/core/sync.h"
#include "leadwatch/ingest/produce.h"

/* ---- step 2: feeding (the worker, or the polling thread when it feeds itself) ---- */

/* Feed message k of the job into its classified source, reading message k+1 ahead. */
static lw_err_t feed_one(lw_pipeline_t *p, feed_job_t *job, int k, int source,
                         lw_feed_outcome_t *outcome, lw_reject_t *reason, char *errstr,
                         size_t errstr_size)
{
    const rd_kafka_message_t *m = job->msg[k];
    const rd_kafka_message_t *next = k + 1 < job->n ? job->msg[k + 1] : NULL;
    bool ahead = next && next->err == RD_KAFKA_RESP_ERR_NO_ERROR && next->payload;
    lw_position_t after = {.position = m->offset + 1};
    return lw_pipeline_feed_ahead(p, source, m->payload ? m->payload : "", m->payload ? m->len : 0,
                                  ahead ? next->payload : NULL, ahead ? next->len : 0, &after,
                                  job->now_ms, outcome, reason, errstr, errstr_size);
}

/* The worker's part of a job: feed its classified messages, stop at the first failure. */
static void feed_job(lw_pipeline_t *p, feed_job_t *job)
{
    for (int k = 0; k < job->n; k++) {
        if (job->source[k] < 0)
            continue;
        lw_err_t err = feed_one(p, job, k, job->source[k], &job->outcome[k], &job->reason[k],
                                job->errstr, sizeof job->errstr);
        if (err != LW_OK) {
            job->stop_at = k;
            job->err = err;
            break;
        }
    }
    lw_pipeline_forget_ahead(p); /* read ahead within this batch only: its messages go away */
}

static void *feed_main(void *arg)
{
    lw_consumer_t *c = arg;
    feed_worker_t *w = &c->fw;
    lw_sync_name_thread("lw-feed");
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->done == w->handed && !w->quit)
            pthread_cond_wait(&w->work_cv, &w->mu);
        if (w->done == w->handed)
            break; /* quit, and nothing handed */
        feed_job_t *job = &w->jobs[w->done % FEED_JOBS];
        bool skip = w->halted;
        int delay_us = w->delay_us;
        pthread_mutex_unlock(&w->mu);
        if (delay_us > 0) {
            struct timespec ts = {delay_us / 1000000, (long)(delay_us % 1000000) * 1000};
            nanosleep(&ts, NULL);
        }
        job->fed = !skip;
        if (!skip)
            feed_job(c->p, job);
        pthread_mutex_lock(&w->mu);
        if (!skip && job->stop_at < job->n)
            w->halted = true; /* nothing after a failed feed is fed */
        w->done++;
        if (w->done == w->wake_at) /* the polling thread waits for this one */
            pthread_cond_signal(&w->done_cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

bool lw_kc_feed_start(lw_consumer_t *c)
{
    feed_worker_t *w = &c->fw;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work_cv, NULL);
    pthread_cond_init(&w->done_cv, NULL);
    if (pthread_create(&w->thread, NULL, feed_main, c) != 0) {
        pthread_cond_destroy(&w->done_cv);
        pthread_cond_destroy(&w->work_cv);
        pthread_mutex_destroy(&w->mu);
        return false;
    }
    w->started = w->on = true;
    return true;
}

/*
 * Wait until the worker is through with the batches numbered below `upto`
 * (counters wrap); the worker signals once, when it gets there.  Returns
 * `done` as it is then.
 */
static unsigned wait_done(feed_worker_t *w, unsigned upto)
{
    pthread_mutex_lock(&w->mu);
    w->wake_at = upto;
    while ((int)(upto - w->done) > 0)
        pthread_cond_wait(&w->done_cv, &w->mu);
    unsigned d = w->done;
    pthread_mutex_unlock(&w->mu);
    return d;
}

static unsigned done_now(feed_worker_t *w)
{
    pthread_mutex_lock(&w->mu);
    unsigned d = w->done;
    pthread_mutex_unlock(&w->mu);
    return d;
}

static void hand(lw_consumer_t *c, feed_job_t *job)
{
    feed_worker_t *w = &c->fw;
    job->handed = true;
    pthread_mutex_lock(&w->mu);
    w->handed++;
    pthread_cond_signal(&w->work_cv);
    pthread_mutex_unlock(&w->mu);
}

static void destroy_messages(feed_job_t *job)
{
    for (int k = 0; k < job->n; k++)
        rd_kafka_message_destroy(job->msg[k]);
    job->n = 0;
}

void lw_kc_feed_stop(lw_consumer_t *c)
{
    feed_worker_t *w = &c->fw;
    if (!w->started)
        return;
    lw_sync_set_signal(&w->mu, &w->work_cv, &w->quit);
    pthread_join(w->thread, NULL); /* the worker ends what it was handed first */
    pthread_cond_destroy(&w->done_cv);
    pthread_cond_destroy(&w->work_cv);
    pthread_mutex_destroy(&w->mu);
    w->started = w->on = false;
    for (; w->applied != w->handed; w->applied++) /* never (lw_consumer_poll drains) */
        destroy_messages(&w->jobs[w->applied % FEED_JOBS]);
}

void lw_consumer_set_feed_thread(lw_consumer_t *c, bool on)
{
    (void)lw_kc_feed_drain(c);
    c->fw.on = on && c->fw.started;
}

void lw_consumer_set_feed_delay(lw_consumer_t *c, int delay_us)
{
    (void)lw_kc_feed_drain(c);
    if (!c->fw.started)
        return;
    pthread_mutex_lock(&c->fw.mu);
    c->fw.delay_us = delay_us;
    pthread_mutex_unlock(&c->fw.mu);
}

/* ---- step 1: classification ---- */

/* The row of message k: the classification's when it found one, else a lookup. */
static part_t *row_of(lw_consumer_t *c, const feed_job_t *job, int k)
{
    const rd_kafka_message_t *m = job->msg[k];
    if (job->row[k] >= 0)
        return &c->parts[job->row[k]];
    return m->rkt ? lw_kc_part_find(c, rd_kafka_topic_name(m->rkt), m->partition) : NULL;
}

/* Which messages on_message() will feed, against `hnext` (see the file comment); true: any. */
static bool classify(lw_consumer_t *c, feed_job_t *job)
{
    bool any = false;
    if (c->fw.applied == c->fw.handed) { /* nothing in flight: from the rows themselves */
        for (size_t i = 0; i < c->nparts; i++)
            c->parts[i].hnext = c->parts[i].next;
    }
    job->handed = job->fed = false;
    job->stop_at = job->n;
    job->err = LW_OK;
    job->errstr[0] = '\0';
    for (int k = 0; k < job->n; k++) {
        const rd_kafka_message_t *m = job->msg[k];
        part_t *pt = NULL;
        job->source[k] = -1;
        if (m->rkt &&
            (m->err == RD_KAFKA_RESP_ERR_NO_ERROR || m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF))
            pt = lw_kc_part_find(c, rd_kafka_topic_name(m->rkt), m->partition);
        job->row[k] = pt ? (int)(pt - c->parts) : -1;
        if (!pt || !pt->active || pt->blocked || pt->fenced || pt->reseek)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (pt->hnext >= 0 && m->offset > pt->hnext)
                pt->hnext = m->offset; /* a gap at the end (count_lost) */
        } else if (pt->hnext < 0 || m->offset >= pt->hnext) {
            job->source[k] = pt->source;
            pt->hnext = m->offset + 1;
            any = true;
        }
    }
    return any;
}

/* ---- step 3: apply (on_message, as without a worker) ---- */

static void dead_letter(lw_consumer_t *c, const rd_kafka_message_t *m, lw_reject_t reason)
{
    char src[LW_PIPELINE_MAX_SOURCE_NAME + 32];
    snprintf(src, sizeof src, "%s:%d:%lld", rd_kafka_topic_name(m->rkt), (int)m->partition,
             (long long)m->offset);
    const char *rname = lw_reject_name(reason);
    lw_kafka_header_t hdrs[] = {{"leadwatch-reason", rname, strlen(rname)},
                                {"leadwatch-source", src, strlen(src)}};
    char err[KAFKA_ERRMSG];
    if (lw_producer_send(c->dlq, c->dlq_topic, m->key, m->key_len, m->payload, m->len, hdrs, 2, err,
                         sizeof err) == LW_OK)
        c->st.dead_lettered++;
    else
        LW_LOG(LW_LOG_WARN, "consumer", "dead-letter topic %s: %s", c->dlq_topic, err);
}

/*
 * Offsets [from, to) of a partition were never delivered: the log moved on
 * past `next` (retention or truncation passed a stopped or slow consumer,
 * and auto.offset.reset sent it to the log's start or end).  Their events
 * are lost; count them per partition and say so as an error.
 */
static void count_lost(lw_consumer_t *c, part_t *pt, int64_t from, int64_t to)
{
    pt->lost += to - from;
    pt->lost_first = from;
    pt->lost_last = to - 1;
    c->st.events_lost += to - from;
    LW_LOG(LW_LOG_ERROR, "consumer",
           "kafka:%s:%d: offsets %lld..%lld were skipped, %lld messages never read (the log no "
           "longer held them at this consumer's position: retention or truncation passed it and "
           "auto.offset.reset moved it on); %lld lost on this partition since start",
           pt->topic, (int)pt->partition, (long long)from, (long long)(to - 1),
           (long long)(to - from), (long long)pt->lost);
}

/* Message k's checks before the feed: its row when it is to be fed, else NULL. */
static part_t *precheck(lw_consumer_t *c, const feed_job_t *job, int k)
{
    const rd_kafka_message_t *m = job->msg[k];
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        part_t *pt = row_of(c, job, k);
        if (pt && (pt->fenced || pt->reseek))
            return NULL; /* from before the seek, or not ours */
        if (pt && pt->active && !pt->blocked && pt->next >= 0 && m->offset > pt->next) {
            /* at the end, beyond the next offset: everything between is gone */
            count_lost(c, pt, pt->next, m->offset);
            pt->next = m->offset;
        }
        if (pt && pt->active && !pt->eof) {
            pt->eof = true;
            pt->eof_since = c->mono_ms;
            pt->eof_at = m->offset;
        }
        return NULL;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (m->err == RD_KAFKA_RESP_ERR__FATAL)
            return NULL; /* reported through error_cb */
        LW_LOG(LW_LOG_WARN, "consumer", "%s%s%s: %s", m->rkt ? rd_kafka_topic_name(m->rkt) : "",
               m->rkt ? ": " : "", rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
        return NULL;
    }
    part_t *pt = row_of(c, job, k);
    if (!pt || !pt->active || pt->blocked || pt->fenced || pt->reseek)
        return NULL; /* no longer ours, or its start is unknown: not fed, not counted */
    if (pt->next >= 0 && m->offset > pt->next)
        count_lost(c, pt, pt->next, m->offset);
    if (pt->next >= 0 && m->offset < pt->next) {
        /* already fed: a message taken before a revoke and re-assign in the
         * same batch (librdkafka's version barrier should have dropped it) */
        c->st.stale_skipped++;
        return NULL;
    }
    return pt;
}

/*
 * Message k of the job: the checks, then the feed (the worker's answer when
 * it had the message, else fed here; *fed_here says so), then the row and
 * the counters.
 */
static lw_err_t on_message(lw_consumer_t *c, feed_job_t *job, int k, bool *fed_here, char *errstr,
                           size_t errstr_size)
{
    const rd_kafka_message_t *m = job->msg[k];
    part_t *pt = precheck(c, job, k);
    bool by_worker = job->fed && k <= job->stop_at;
    if (by_worker && (pt ? pt->source : -1) != job->source[k])
        return lw_kc_fail(c, LW_ERR_INVALID,
                          "feed worker: message %s:%d:%lld was classified %s but is %s (internal "
                          "error)",
                          m->rkt ? rd_kafka_topic_name(m->rkt) : "?", (int)m->partition,
                          (long long)m->offset, job->source[k] >= 0 ? "fed" : "not fed",
                          pt ? "to be fed" : "not to be fed");
    if (!pt)
        return LW_OK;
    lw_feed_outcome_t outcome = LW_FEED_ACCEPTED;
    lw_reject_t reason = 0;
    lw_err_t err = LW_OK;
    if (!by_worker) {
        *fed_here = true;
        err = feed_one(c->p, job, k, pt->source, &outcome, &reason, errstr, errstr_size);
    } else if (k == job->stop_at) {
        err = job->err;
        snprintf(errstr, errstr_size, "%s", job->errstr);
    } else {
        outcome = job->outcome[k];
        reason = job->reason[k];
    }
    if (err == LW_ERR_FENCED) /* a flush the feed made by itself: nothing of this message counts */
        return lw_kc_on_fenced(c, errstr) ? LW_OK : c->failed;
    if (err != LW_OK)
        return lw_kc_fail(c, err, "store flush failed: %s", errstr);
    pt->next = m->offset + 1;
    c->bytes_fed += (int64_t)(m->len + m->key_len);
    pt->eof = false;
    pt->idle = false; /* the pipeline counts it as active again */
    c->st.messages++;
    c->fw.nfed++;
    if (outcome == LW_FEED_REJECTED) {
        c->st.poison++;
        c->st.poison_by_reason[reason]++;
        if (c->dlq)
            dead_letter(c, m, reason);
    }
    return LW_OK;
}

/*
 * Apply a job in message order, then destroy its messages.  A handed job
 * ignores a failure already set when it starts (see the file comment);
 * otherwise the first message that fails the consumer, or that finds it
 * failed, ends it (the rest are destroyed unprocessed).  True when stopped.
 */
static bool apply(lw_consumer_t *c, feed_job_t *job)
{
    char errstr[KAFKA_ERRMSG];
    bool later_failure = job->handed && c->failed != LW_OK;
    bool stop = false, fed_here = false;
    for (int k = 0; k < job->n; k++) {
        if (!stop) {
            lw_err_t err = on_message(c, job, k, &fed_here, errstr, sizeof errstr);
            stop = err != LW_OK || (c->failed != LW_OK && !later_failure);
        }
        rd_kafka_message_destroy(job->msg[k]);
    }
    if (fed_here)
        lw_pipeline_forget_ahead(c->p); /* read ahead from this batch only */
    job->n = 0;
    return stop;
}

/*
 * Apply the batches in flight that the worker is through with, oldest
 * first, waiting for every one numbered below `upto`.  A batch in which the
 * worker stopped is applied only once the worker is through with all of
 * them (it skips the rest): from then on this thread alone touches the
 * pipeline, and the rest are processed here.  Once the message path
 * stopped, what remains is destroyed unprocessed.
 */
static void collect(lw_consumer_t *c, unsigned upto)
{
    feed_worker_t *w = &c->fw;
    if (w->applied == w->handed)
        return;
    unsigned done = (int)(upto - w->applied) > 0 ? wait_done(w, upto) : done_now(w);
    while (w->applied != done) {
        feed_job_t *job = &w->jobs[w->applied % FEED_JOBS];
        if (job->fed && job->stop_at < job->n) {
            done = wait_done(w, w->handed);
            pthread_mutex_lock(&w->mu);
            w->halted = false; /* nothing is queued now: the next batch is fed again */
            pthread_mutex_unlock(&w->mu);
        }
        w->applied++;
        if (w->stopped)
            destroy_messages(job);
        else if (apply(c, job))
            w->stopped = true;
    }
}

bool lw_kc_feed_drain(lw_consumer_t *c)
{
    collect(c, c->fw.handed);
    return c->fw.stopped;
}

feed_job_t *lw_kc_feed_free_job(lw_consumer_t *c)
{
    feed_worker_t *w = &c->fw;
    if (w->handed - w->applied == FEED_JOBS) /* full: wait until half of it is through, so
                                               that the worker wakes this thread once per
                                               FEED_JOBS / 2 batches, not per batch */
        collect(c, w->applied + FEED_JOBS / 2);
    return w->stopped ? NULL : &w->jobs[w->handed % FEED_JOBS];
}

bool lw_kc_feed_batch(lw_consumer_t *c, feed_job_t *job)
{
    feed_worker_t *w = &c->fw;
    if (w->stopped) {
        destroy_messages(job);
        return true;
    }
    job->now_ms = c->now_ms;
    bool inflight = w->applied != w->handed;
    bool any = classify(c, job);
    if (w->on && c->failed == LW_OK && (any || inflight)) {
        hand(c, job);
        collect(c, w->applied); /* what the worker is through with, without waiting */
        return w->stopped;
    }
    /* here: nothing in flight and nothing to feed, the worker off, or the consumer failed
     * while this batch was taken (the batches before it are applied first, in order) */
    collect(c, w->handed);
    if (w->stopped)
        destroy_messages(job);
    else if (apply(c, job))
        w->stopped = true;
    return w->stopped;
}
