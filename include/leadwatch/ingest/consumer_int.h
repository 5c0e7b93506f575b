/*
 * consumer_int.h - internal to the consumer module (src/ingest/consumer*.c): the consumer's state
 * (the partition table and struct lw_consumer, described in consumer.c's
 * file comment) and the functions its two files share.  consumer.c holds
 * the lifecycle, message path, commits and broker contact;
 * consumer_rebalance.c the rebalance callback (claims, assign, revoke,
 * fencing, paused partitions).  Not an interface: nothing outside
 * src/ingest/consumer*.c includes it.  It does not include consumer.h
 * (the module checker would see a consumer <-> consumer_int cycle): include
 * "leadwatch/ingest/consumer.h" first.
 */
#ifndef LEADWATCH_INGEST_CONSUMER_INT_H
#define LEADWATCH_INGEST_CONSUMER_INT_H

#ifndef LEADWATCH_CONSUMER_H
#error "include leadwatch/ingest/consumer.h before consumer_int.h"
#endif
#include "leadwatch/ingest/produce.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define COMMITTED_TIMEOUT_MS 5000
/* a paused partition retries reading the group's committed offset this often, waiting this long */
#define COMMITTED_RETRY_MS 1000
#define COMMITTED_RETRY_TIMEOUT_MS 1000
/* an unconfirmed (refused) offset commit is sent again this often */
#define COMMIT_RETRY_MS 1000
#define SYNC_COMMIT_TIMEOUT_MS 5000
#define KAFKA_ERRMSG 512
/*
 * A partition that has been at its end this long (no message since) stops
 * holding the watermark back (lw_pipeline_source_idle).  Not immediately at
 * end-of-partition: a partition that is read as fast as it is written hits
 * its end many times a second, and during a replay a few hundred
 * milliseconds can be days of event time.
 */
#define IDLE_AFTER_MS 2000
/* librdkafka 2.2.0, the first with fetch.queue.backoff.ms, and leadwatch's default for it */
#define FETCH_QUEUE_BACKOFF_VERSION 0x020200ff
#define FETCH_QUEUE_BACKOFF_MS "10"
/* bound on the fetch wake-up's broker round trip (it runs on the caller's thread) */
#define WAKE_TIMEOUT_MS 500
/* at most one wake-up per this on an empty queue (the caller would wait anyway) */
#define WAKE_EMPTY_INTERVAL_MS 20
/* librdkafka statistics period unless source.kafka sets statistics.interval.ms: the
 * resolution of the broker contact time (readiness) */
#define BROKER_STATS_MS "1000"
/* messages taken from the consumer queue per rd_kafka_consume_batch_queue() */
#define POLL_BATCH 256

typedef struct {
    char *topic;
    int32_t partition;
    int source;
    int64_t next;
    int64_t hnext;     /* `next` as the batches handed to the feed worker will leave it
                          (consumer_feed.c); meaningful only while one is in flight */
    int64_t confirmed; /* the group's committed offset as Kafka last confirmed it, -1 none */
    int64_t inflight;  /* a commit sent, not answered yet, -1 none */
    bool active;
    bool blocked; /* assigned and paused: the group's committed offset is unknown */
    bool eof;
    bool idle;         /* reported idle to the pipeline */
    int64_t eof_since; /* mono time of the end-of-partition */
    int64_t eof_at;    /* offset of that end (the lag position while `next` is unknown) */
    int64_t lost;      /* offsets skipped past `next` since start (events lost, see below) */
    int64_t lost_first, lost_last; /* the newest skipped range, -1 none */
    bool reseek; /* fleet: put back at `next` after a refused flush; fed nothing until the seek */
    bool fenced; /* fleet: another member claimed it; paused and fed nothing until revoked */
} part_t;

/* batches in the feed worker's ring: up to FEED_JOBS - 1 in flight, one being taken */
#define FEED_JOBS 16

/*
 * One batch of messages (one rd_kafka_consume_batch_queue) on its way
 * through the message path (consumer_feed.c): taken and classified by the
 * polling thread, fed by the feed worker, its results applied (and the
 * messages destroyed) by the polling thread.
 */
typedef struct {
    rd_kafka_message_t *msg[POLL_BATCH];
    int n;
    int row[POLL_BATCH];    /* classification: index of the message's row, -1 none */
    int source[POLL_BATCH]; /* classification: pipeline source to feed it into, -1 not fed */
    int64_t now_ms;         /* the poll's wall clock, for the feed */
    bool handed;            /* given to the worker: the fields below are its answer */
    bool fed;               /* the worker fed it (false: skipped, an earlier batch stopped) */
    int stop_at;            /* the message whose feed failed (the worker stopped there); n: none */
    lw_err_t err;           /* that feed's status */
    char errstr[KAFKA_ERRMSG];
    lw_feed_outcome_t outcome[POLL_BATCH]; /* per message fed before stop_at */
    lw_reject_t reason[POLL_BATCH];
} feed_job_t;

/*
 * The feed worker thread and its ring of batches (consumer_feed.c).  Batch
 * number i lives in jobs[i % FEED_JOBS]; applied <= done <= handed <=
 * applied + FEED_JOBS - 1, and jobs[handed % FEED_JOBS] is the one being
 * taken.
 */
typedef struct {
    bool on;      /* hand batches to the worker (lw_consumer_set_feed_thread) */
    int delay_us; /* (mu) tests: the worker sleeps this long before each batch */
    bool started; /* the thread runs */
    pthread_t thread;
    pthread_mutex_t mu;     /* guards handed, done, halted, quit: the hand-over */
    pthread_cond_t work_cv; /* handed moved, or quit */
    pthread_cond_t done_cv; /* done moved */
    unsigned handed;        /* (mu) batches handed to the worker */
    unsigned done;          /* (mu) batches the worker is through with */
    unsigned wake_at;       /* (mu) the polling thread waits until done reaches this */
    bool halted;            /* (mu) a feed failed: the worker skips what follows until cleared */
    bool quit;              /* (mu) */
    unsigned applied;       /* polling thread: batches whose results are applied */
    bool stopped;           /* polling thread: the message path stopped in this poll */
    int nfed;               /* messages counted by the current lw_consumer_poll() */
    feed_job_t jobs[FEED_JOBS];
} feed_worker_t;

struct lw_consumer {
    rd_kafka_t *rk;
    lw_pipeline_t *p;
    lw_producer_t *dlq;
    const char *dlq_topic;

    part_t *parts;
    size_t nparts, cap_parts;
    size_t last_hit;

    rd_kafka_queue_t *q; /* the consumer queue: served in batches; its length */

    /* fetch wake-up (librdkafka < 2.2, see the file comment) */
    bool wake_needed;        /* the queue reached a fetch-stop threshold */
    int64_t queue_min_msgs;  /* queued.min.messages */
    int64_t queue_max_bytes; /* queued.max.messages.kbytes * 1024 */
    int64_t bytes_fed;       /* payload + key bytes of the messages fed: the average size */
    int64_t last_wake_ms;    /* mono time of the last wake-up on an empty queue */
    bool waker_started;      /* the waker thread runs (waker_main) */
    pthread_t waker;
    pthread_mutex_t wake_mu; /* guards wake_list and wake_quit */
    pthread_cond_t wake_cv;
    rd_kafka_topic_partition_list_t *wake_list; /* for the waker to send; NULL when none */
    bool wake_quit;

    int64_t now_ms, mono_ms;         /* the clock as of the current poll, for callbacks */
    int64_t last_commit_retry_ms;    /* mono time of the last commit retry */
    int64_t last_committed_retry_ms; /* mono time of the last committed-offset read retry */
    bool broker_tracked;             /* statistics are on: broker_seen_ms means something */
    int64_t broker_seen_ms; /* mono time of the last report with a broker up (INT64_MIN: none
                               yet, the first poll starts the count) */
    lw_err_t failed;        /* LW_OK until a fatal error */
    char failmsg[KAFKA_ERRMSG];
    lw_consumer_stats_t st;
    bool shared;        /* the store is shared by a fleet (store.h "Fleet") */
    char owner[128];    /* this member in source_owners: host:pid */
    bool reseek_needed; /* a row has `reseek` set */
    feed_worker_t fw;   /* the message path's worker (consumer_feed.c) */
};

/* consumer.c */
/* Record the first fatal error; every later call reports it. */
lw_err_t lw_kc_fail(lw_consumer_t *c, lw_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
part_t *lw_kc_part_find(lw_consumer_t *c, const char *topic, int32_t partition);
/* Find or add the row and register its pipeline source; NULL with the consumer failed. */
part_t *lw_kc_part_get(lw_consumer_t *c, const char *topic, int32_t partition,
                       lw_position_t *stored, bool *found);
void lw_kc_commit_kafka(lw_consumer_t *c, const rd_kafka_topic_partition_list_t *which, bool sync);

/* consumer_feed.c (the message path; see its file comment for the thread model) */
/* Start the feed worker (from lw_consumer_new); false when the thread cannot start. */
bool lw_kc_feed_start(lw_consumer_t *c);
/* Wait for the worker, then stop and join it (from lw_consumer_destroy). */
void lw_kc_feed_stop(lw_consumer_t *c);
/*
 * The buffer to take the next batch into; when the ring is full, first
 * waits for the oldest batch in flight and applies it.  NULL when the
 * message path stopped in this poll (the consumer failed): take nothing more.
 */
feed_job_t *lw_kc_feed_free_job(lw_consumer_t *c);
/*
 * A batch just taken into that buffer (job->n messages): classify it and
 * hand it to the worker (or, with nothing in flight and nothing to feed,
 * or the consumer failed, process it here), then apply the batches the
 * worker is through with.  True when the message path stopped.
 */
bool lw_kc_feed_batch(lw_consumer_t *c, feed_job_t *job);
/*
 * Wait for every batch in flight and apply their results: after it the
 * pipeline, the store and every row are the polling thread's alone.  Called
 * before anything else touches them (the rebalance callback, the end of
 * lw_consumer_poll, flush, close).  True when the message path stopped.
 */
bool lw_kc_feed_drain(lw_consumer_t *c);

/* consumer_rebalance.c */
void lw_kc_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t *parts, void *opaque);
void lw_kc_on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque);
void lw_kc_handle_rebalance(lw_consumer_t *c, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t *parts);
bool lw_kc_on_fenced(lw_consumer_t *c, const char *why);
void lw_kc_reseek_rows(lw_consumer_t *c);
lw_err_t lw_kc_flush_pipeline(lw_consumer_t *c, char *errstr, size_t errstr_size, bool *fenced);
void lw_kc_retry_blocked(lw_consumer_t *c);

#endif
