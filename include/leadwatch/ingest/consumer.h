/*
 * consumer.h - the Kafka source: a librdkafka high-level consumer in a
 * group, feeding every message through the pipeline (the same path as file
 * ingest) with the store as the owner of the offsets.
 *
 * Offsets.  Each assigned partition is a pipeline source named
 * "kafka:TOPIC:PARTITION" whose position is the partition's NEXT offset.
 * lw_pipeline_flush() writes the aggregates and those next offsets in ONE
 * SQLite transaction; only after it succeeded does lw_consumer_flush()
 * commit the same offsets to Kafka, so Kafka's committed offset (kept for
 * lag monitoring and for failover to another instance) is never ahead of
 * the store.  On assignment a partition starts at
 *     max(the store's position, the group's committed offset)
 * and, when neither exists, at auto.offset.reset (default earliest).  For a
 * single instance the committed offset is never ahead of the store, so the
 * store decides and every message is counted exactly once across crashes:
 * the store is always at a flush boundary and resuming from the stored next
 * offset re-reads exactly what the store does not hold.  The committed
 * offset only wins when another instance consumed the partition meanwhile
 * (failover) or an operator moved the group's offsets forward.
 *
 * Fleet (a shared store, lw_store_shared(): PostgreSQL; several daemons of
 * one group).  On assignment a member claims its new partitions in the
 * store (lw_store_claim: one transaction, in name order, raising each
 * partition's owner epoch and reading its position and newest event time),
 * and the store's position is where the partition starts (the rule above,
 * with the store now shared by the group).  Every flush is conditional on
 * the epochs this member claimed (pipeline.h, "Fleet"): a member that lost a
 * partition (a zombie after a rebalance, a process paused past its session
 * timeout) can never commit for it.  A refused flush (LW_ERR_FENCED) is not a
 * failure: it is counted (fenced_flushes), everything fed since the last
 * flush is dropped (lw_pipeline_discard), each partition still ours is put
 * back at its stored position (re-read, then sought on the next poll) and
 * each one claimed by another member is paused and fed nothing until Kafka
 * revokes it.  Nothing is committed to Kafka for a refused flush.
 *
 * Forced settings: enable.auto.commit=false and enable.auto.offset.store=false
 * (the store owns offsets; librdkafka must never commit by itself) and
 * enable.partition.eof=true (to know when a partition is idle).  Defaults
 * when not given: auto.offset.reset=earliest; a bounded prefetch
 * (queued.min.messages, queued.max.messages.kbytes, fetch.max.bytes below:
 * librdkafka's own let a catch-up hold ~70 MiB); with librdkafka >= 2.2
 * fetch.queue.backoff.ms=10 (see consumer.c).  Every other
 * property is passed to rd_kafka_conf_set() unchanged, so bootstrap.servers,
 * group.id, security.protocol, sasl.*, ssl.* all work.  Values of secret
 * properties (lw_kafka_is_secret) never appear in logs or messages.
 *
 * Rebalancing works with eager (range, roundrobin) and cooperative
 * (cooperative-sticky) assignors.  On revocation the pipeline is flushed
 * and, when the store commit succeeded and the partitions were not lost,
 * their offsets are committed to Kafka synchronously before they are
 * released.
 *
 * Commits Kafka refuses are retried until Kafka confirms them (also for a
 * partition that receives nothing more).  When the group's committed offset
 * cannot be read at assignment, the partition is paused, not started from
 * the store: with several members the store may be behind another member's
 * progress, and starting there would count that member's messages again.
 * The read is retried every second; each failure is logged as an error
 * (consumer.c has the details).
 *
 * Poison messages (anything the decoder rejects, empty or null payloads)
 * are counted by reason and skipped; their offset still advances.  With a
 * dead-letter topic they are also produced there (best effort: key and
 * payload unchanged, headers "leadwatch-reason" and "leadwatch-source").
 *
 * Failures: a fatal librdkafka error (error_cb with RD_KAFKA_RESP_ERR__FATAL)
 * or a store failure makes every later call return an error; nothing is
 * committed to Kafka after a failed flush.
 *
 * Single-threaded API: every function, and the callbacks librdkafka runs
 * from inside lw_consumer_poll(), run on the caller's thread.  Inside
 * lw_consumer_poll() the consumer's feed worker thread decodes and
 * aggregates one batch of messages (lw_pipeline_feed_ahead) while the
 * caller's thread takes the next one from librdkafka; the call waits for
 * the worker before it returns, so between calls the pipeline and its
 * store are the caller's again (consumer_feed.c).  With librdkafka < 2.2
 * the consumer owns one more helper thread that only sends the fetch
 * wake-up requests (consumer.c).
 */
#ifndef LEADWATCH_CONSUMER_H
#define LEADWATCH_CONSUMER_H

#include <librdkafka/rdkafka.h>

#include "leadwatch/ingest/kafka.h"
#include "leadwatch/ingest/pipeline.h"

/* A partition that is assigned at once; more is refused as too large. */
#define LW_KAFKA_MAX_PARTITIONS 4096

/*
 * leadwatch's prefetch defaults, each applied only when source.kafka does
 * not set it (fetch.max.bytes also not when message.max.bytes,
 * fetch.message.max.bytes, max.partition.fetch.bytes or
 * receive.message.max.bytes is set).  librdkafka's are 100000, 65536 and
 * 52428800.  queued.max.messages.kbytes stops the next fetch only once the
 * queue is over it, and a fetch response is decompressed whole, so the
 * queue can overshoot by fetch.max.bytes times the compression ratio per
 * broker (~8x for zstd JSON events): 1 MiB keeps that ~8 MiB (4 MiB let a
 * zstd catch-up over 1 M distinct users a day reach 50-72 MiB RSS; now
 * 24-39 MiB, bench/RESULTS.md, issue 19).  1 MiB per fetch request still
 * moves 50 MB/s per broker over a 20 ms round trip.
 */
#define LW_KAFKA_DEFAULT_QUEUED_MIN_MESSAGES "20000"
#define LW_KAFKA_DEFAULT_QUEUED_MAX_KBYTES "8192"
#define LW_KAFKA_DEFAULT_FETCH_MAX_BYTES "1048576"

/* What the consumer needs from the configuration; all borrowed. */
typedef struct {
    const lw_kafka_prop_t *props; /* source.kafka, in order (a later key overrides) */
    size_t nprops;
    const char *const *topics; /* source.topics, >= 1 */
    size_t ntopics;
    const char *dead_letter_topic; /* NULL: poison messages are only counted */
} lw_kafka_settings_t;

typedef struct lw_consumer lw_consumer_t;

typedef struct {
    int64_t messages; /* messages fed to the pipeline */
    int64_t poison;   /* of which the decoder rejected */
    int64_t poison_by_reason[LW_REJECT__COUNT];
    int64_t dead_lettered;         /* poison messages handed to the dead-letter producer */
    int64_t kafka_commits;         /* offset commits acknowledged by the broker */
    int64_t kafka_commit_errors;   /* offset commits the broker refused (non-fatal) */
    int64_t rebalances;            /* assignment changes seen */
    int assigned;                  /* partitions assigned now */
    int64_t fetch_wakeups;         /* librdkafka < 2.2: fetchers woken after a full queue */
    int64_t stale_skipped;         /* messages below a partition's next offset, not fed again */
    int64_t lag_total;             /* sum of the known lags of the assigned partitions
                                      (lw_consumer_lag); -1 when none is known */
    int64_t committed_read_errors; /* failed reads of the group's committed offsets */
    int64_t events_lost;    /* offsets the consumer never read because the log no longer held them
                               (retention/truncation past its position; see consumer.c "Loss") */
    int blocked;            /* assigned partitions paused until their committed offset is read */
    int64_t fenced_flushes; /* fleet: flushes the shared store refused (another member claimed a
                               partition of ours); their events were dropped and re-read */
    /* the consumer group as librdkafka's last statistics report saw it ("" before the first
       report or with statistics off): its state ("up" once the coordinator is known), its join
       state ("steady" once assigned; "wait-join" while the coordinator holds the JoinGroup)
       and the reason of its last rebalance */
    char group_state[24];
    char join_state[24];
    char rebalance_reason[96];
} lw_consumer_stats_t;

/* One assigned partition's consumer lag (lw_consumer_lag). */
typedef struct {
    const char *topic;
    int32_t partition;
    int64_t position;       /* next offset to consume, -1 unknown */
    int64_t high_watermark; /* -1 unknown */
    int64_t lag;            /* high_watermark - position (>= 0), -1 unknown */
    int64_t lost;           /* offsets skipped on this partition since start (events lost) */
    int64_t lost_first;     /* the newest skipped range, first..last offsets (-1 when lost 0) */
    int64_t lost_last;
} lw_consumer_lag_t;

/*
 * Create the consumer and subscribe to the topics.  Borrows `p` (and its
 * store) for its lifetime.  Nothing is consumed until lw_consumer_poll().
 * NULL with errstr on a bad property ("source.kafka.KEY: message"), a
 * missing group.id or bootstrap.servers, or a librdkafka failure.
 */
lw_consumer_t *lw_consumer_new(const lw_kafka_settings_t *ks, lw_pipeline_t *p, char *errstr,
                               size_t errstr_size);

/*
 * The daemon's `max_messages` per lw_consumer_poll() (bench_kafka polls as
 * it does), bounded by lw_pipeline_room() so flushes come every
 * store.flush_events events (a message with an envelope of several events
 * can take it past).  Each poll waits for the feed worker before it
 * returns, and the worker then sleeps until the next poll's first batch.
 * Measured with bench_kafka (2 M messages, like for like, 7 pairs a run,
 * session 11): leadwatch 2.01 and 2.26 M msgs/s at 10,000 a poll, 2.36 and
 * 2.36 M at 100,000 in the same minutes, then 2.14 and 2.19 M at 100,000
 * on the final build: a gain within the runs' spread, not a proven one; the
 * bound by lw_pipeline_room is what keeps flushes exact.  A poll of 100,000
 * at catch-up speed takes ~50 ms
 * (~0.5 s under ASan), between two looks at signals, flush timers and the
 * evaluator.
 */
#define LW_CONSUMER_POLL_MAX 100000

/*
 * Serve librdkafka (rebalances included) and feed up to `max_messages`
 * messages, waiting at most `timeout_ms` for the first one.  `now_ms` is
 * the wall clock (for the decoder), `mono_ms` a monotonic clock (for flushes
 * done inside callbacks).  *nfed counts messages fed by this call.
 * Returns LW_ERR_STORE when a flush failed, LW_ERR_KAFKA on a fatal
 * librdkafka error; once failed, it keeps failing with the same message.
 */
lw_err_t lw_consumer_poll(lw_consumer_t *c, int timeout_ms, int max_messages, int64_t now_ms,
                          int64_t mono_ms, int *nfed, char *errstr, size_t errstr_size);

/*
 * Flush the pipeline (one store transaction) and then commit every moved
 * partition offset to Kafka (asynchronously unless `sync`).  On a store
 * failure nothing is committed to Kafka and the consumer is failed.
 */
lw_err_t lw_consumer_flush(lw_consumer_t *c, int64_t mono_ms, bool sync, char *errstr,
                           size_t errstr_size);

/* true when at least one partition is assigned and every assigned one is at its end. */
bool lw_consumer_idle(const lw_consumer_t *c);

/*
 * Leave the group: final flush and synchronous commit (skipped when the
 * consumer failed), revoke, close; waits at most `timeout_ms` for the
 * broker, then gives up on a clean leave.  Returns the first error.
 * Call lw_consumer_destroy() afterwards in any case.
 */
lw_err_t lw_consumer_close(lw_consumer_t *c, int64_t mono_ms, int timeout_ms, char *errstr,
                           size_t errstr_size);

void lw_consumer_destroy(lw_consumer_t *c);

/* A copy of the counters; lag_total is computed as lw_consumer_lag() does. */
void lw_consumer_stats(const lw_consumer_t *c, lw_consumer_stats_t *out);

/*
 * Milliseconds since librdkafka last reported a broker connected (its
 * statistics, every statistics.interval.ms: 1 s unless source.kafka sets
 * it; counted from the first lw_consumer_poll()), for readiness; -1 when
 * unknown (statistics turned off with statistics.interval.ms=0, or no poll
 * yet).
 */
int64_t lw_consumer_broker_silence_ms(const lw_consumer_t *c, int64_t mono_ms);

/*
 * The lag of every assigned partition, for /metrics and stall checks.
 * Fills up to `max` entries (in assignment order) and returns the number of
 * assigned partitions, which may be larger than `max` (call again with a
 * bigger array to see them all).  No broker round trip: the high watermark
 * is librdkafka's cached value (rd_kafka_get_watermark_offsets), refreshed
 * by every fetch response, so it is as fresh as the last fetch (the fetcher
 * pauses while librdkafka's prefetch queue is full, so under a backlog the
 * lag is a lower bound) and unknown (-1) until the first fetch answered.  The position is the next
 * offset leadwatch will feed (the store's position once flushed), unknown (-1) while a partition
 * waits for auto.offset.reset to resolve.  When the cached watermark is behind the position (an
 * older fetch), lag is 0. `topic` strings are borrowed and stay valid until the next
 * lw_consumer_poll() (in practice until lw_consumer_destroy()).
 */
size_t lw_consumer_lag(lw_consumer_t *c, lw_consumer_lag_t *out, size_t max);

/*
 * Sanity check of the consumer's invariants, then the pipeline's
 * (lw_pipeline_check): no commit in flight ahead of the store's flushed
 * position, the store never ahead of the offset fed, a blocked partition is
 * assigned and has no start.  True when they hold, else false with the
 * first broken one in `why` (may be NULL).  Asserted after every rebalance
 * and before every commit; the tests call it.
 */
bool lw_consumer_check(const lw_consumer_t *c, char *why, size_t why_size);

/* The underlying handle (borrowed), e.g. for metadata queries in tests. */
rd_kafka_t *lw_consumer_handle(lw_consumer_t *c);

#endif
