/*
 * produce.h - a small Kafka producer: `simulate --produce` and the
 * dead-letter topic.
 *
 * The producer wraps one librdkafka producer handle.  lw_producer_send()
 * copies key, payload and headers into librdkafka's queue; when the queue is
 * full it serves delivery reports (rd_kafka_poll) until there is room, so a
 * fast caller is slowed to the broker's pace instead of failing.  Delivery
 * reports count successes and failures; lw_producer_flush() waits for every
 * outstanding message and reports the first failure.  The producer uses
 * librdkafka's defaults for durability (acks=all, idempotence as configured)
 * and passes every property through unchanged.
 *
 * Pacing (lw_pacer_t) is pure: given how many messages were sent and the
 * monotonic time, it says how long to wait so that the average rate stays at
 * `rate` messages per second since the start.  It does not sleep itself.
 */
#ifndef LEADWATCH_PRODUCE_H
#define LEADWATCH_PRODUCE_H

#include "leadwatch/ingest/kafka.h"

typedef struct lw_producer lw_producer_t;

typedef struct {
    int64_t sent;      /* messages accepted into the queue */
    int64_t delivered; /* acknowledged by the broker */
    int64_t failed;    /* delivery failed permanently */
} lw_producer_stats_t;

/* NULL with errstr ("KEY: message") when librdkafka refuses a property. */
lw_producer_t *lw_producer_new(const lw_kafka_prop_t *props, size_t nprops, char *errstr,
                               size_t errstr_size);

/*
 * Queue one message for `topic` (partitioned by key with librdkafka's
 * default partitioner; key may be NULL).  Blocks while the local queue is
 * full.  LW_ERR_KAFKA when librdkafka refuses it (unknown topic, too large).
 */
lw_err_t lw_producer_send(lw_producer_t *p, const char *topic, const void *key, size_t klen,
                          const void *val, size_t vlen, const lw_kafka_header_t *hdrs, size_t nhdrs,
                          char *errstr, size_t errstr_size);

/* Serve delivery reports without blocking. */
void lw_producer_poll(lw_producer_t *p);

/*
 * Wait up to timeout_ms for every queued message.  LW_ERR_KAFKA when some
 * are still outstanding or any delivery failed (errstr names the first).
 */
lw_err_t lw_producer_flush(lw_producer_t *p, int timeout_ms, char *errstr, size_t errstr_size);

void lw_producer_stats(const lw_producer_t *p, lw_producer_stats_t *out);

/* Destroy, dropping whatever was not delivered (flush first to keep it). */
void lw_producer_destroy(lw_producer_t *p);

typedef struct {
    double rate;           /* messages per second; <= 0: unlimited */
    int64_t start_mono_ms; /* when pacing started */
} lw_pacer_t;

void lw_pacer_init(lw_pacer_t *pc, double rate, int64_t mono_ms);

/* Milliseconds to wait before message number `sent` (0-based) may go; 0 = now. */
int64_t lw_pacer_delay_ms(const lw_pacer_t *pc, int64_t sent, int64_t mono_ms);

#endif
