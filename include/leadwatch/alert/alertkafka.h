/*
 * alertkafka.h - the Kafka alert sink (`alerts: kafka: {topic: ...}`): one
 * JSON message per alert state change, produced by a custom sink of
 * alertsink.h (lw_alertsink_opts_t.custom = lw_alertkafka_deliver), so it
 * runs on the alert worker thread with the same bounded queue, retries and
 * backoff as the HTTP sinks.
 *
 * The producer is built from the same `source.kafka` properties as the
 * consumer (bootstrap.servers, security.*, sasl.*, ssl.* ...), minus the
 * properties librdkafka documents as consumer-only (group.id,
 * auto.offset.reset, ...), plus forced settings (see src/alertkafka.c).
 *
 * Message key: the alert's fingerprint as 16 lower-case hex digits, so all
 * changes of one alert go to one partition in order and a compacted topic
 * keeps the latest state per alert.  Message value (one line, UTF-8):
 *
 *   {"version":"1",
 *    "state_change":{"condition":"no_longer_leads",   lw_alert_cond_name
 *                    "from":"pending","to":"firing",   lw_alert_state_name
 *                    "refresh":false,                  re-announcement after a restart
 *                    "at":"2026-01-03T00:00:00.000Z"}, when the change happened
 *    "alert":{...}}
 *
 * where "alert" is exactly one element of the webhook payload's alerts[]
 * (lw_alertsink_json_alert: status, labels, annotations, startsAt, endsAt,
 * generatorURL, fingerprint).  "status" there is "firing", "resolved" or
 * the state name for the other states ("pending", "nodata", "inactive").
 *
 * Delivery is at least once: lw_alertkafka_deliver waits for the broker's
 * acknowledgement; when it gives up (RETRY) the message may still be
 * delivered later, so a consumer can see the same state change twice (same
 * key, same "at"), never out of order for one key.
 */
#ifndef LEADWATCH_ALERTKAFKA_H
#define LEADWATCH_ALERTKAFKA_H

#include <librdkafka/rdkafka.h>

#include "leadwatch/alert/alertsink.h"
#include "leadwatch/ingest/kafka.h"

#define LW_ALERTKAFKA_TIMEOUT_MIN_MS 100
#define LW_ALERTKAFKA_TIMEOUT_MAX_MS 120000
#define LW_ALERTKAFKA_TIMEOUT_DEFAULT_MS 5000
#define LW_ALERTKAFKA_MSG_MAX (256u * 1024u) /* bound on one rendered message */

typedef struct lw_alertkafka lw_alertkafka_t;

/*
 * Create the producer for `topic`.  `props` (borrowed for the call) are
 * source.kafka; consumer-only ones are skipped (lw_alertkafka_is_consumer_prop).
 * `timeout_ms` (LW_ALERTKAFKA_TIMEOUT_MIN_MS..MAX_MS, 0 = the default) bounds
 * one delivery.  LW_ERR_CONFIG ("alerts.kafka...: ..." / "source.kafka.KEY:
 * ...") for an empty topic, a bad timeout, no bootstrap.servers or a property
 * librdkafka refuses; LW_ERR_KAFKA when the handle cannot be created.  Does
 * not contact the broker.  *out is NULL on error.
 */
lw_err_t lw_alertkafka_new(const lw_kafka_prop_t *props, size_t nprops, const char *topic,
                           int64_t timeout_ms, lw_alertkafka_t **out, char *errstr,
                           size_t errstr_size);

/*
 * Destroy the producer; a message whose delivery was given up on is
 * dropped.  NULL is a no-op.  Not while lw_alertkafka_deliver runs (destroy
 * the alert sink first).
 */
void lw_alertkafka_destroy(lw_alertkafka_t *k);

/*
 * An lw_alertsink_deliver_fn: `ctx` is the lw_alertkafka_t.  Produce one
 * message for `ev` and wait up to the timeout for the broker's
 * acknowledgement (acks=all).  DELIVERED when acknowledged; RETRY on a
 * temporary failure (broker down, timeout, leader change, fatal producer
 * error: the handle is then re-created on the next call); REJECT on a
 * permanent one (message too large, topic authorization, invalid topic).
 * errstr says why for RETRY and REJECT.  One thread at a time (the alert
 * worker).
 */
lw_alertsink_result_t lw_alertkafka_deliver(void *ctx, const lw_alert_event_t *ev, char *errstr,
                                            size_t errstr_size);

/*
 * Render the message value for `ev` (the shape in the file comment) into
 * `b`.  Errors are the buffer's.  Pure; for tests and other producers.
 */
lw_err_t lw_alertkafka_json(lw_buf_t *b, const lw_alert_event_t *ev, const char *external_url);

/* The message key: 16 lower-case hex digits of the fingerprint.  key >= 17 bytes. */
void lw_alertkafka_key(const lw_alert_event_t *ev, char *key, size_t key_size);

/*
 * true for a property librdkafka documents as consumer-only (scope "C" in
 * rd_kafka_conf_properties_show), e.g. group.id, auto.offset.reset.  Thread-safe.
 */
bool lw_alertkafka_is_consumer_prop(const char *key);

typedef struct {
    uint64_t delivered; /* acknowledged messages */
    uint64_t retries;   /* deliveries that returned RETRY */
    uint64_t rejected;  /* deliveries that returned REJECT */
    uint64_t reopens;   /* producer handles re-created after a fatal error */
} lw_alertkafka_stats_t;

/* Counters; call from the delivering thread or after the sink stopped. */
void lw_alertkafka_stats(const lw_alertkafka_t *k, lw_alertkafka_stats_t *out);

/* The current producer handle (borrowed; changes after a reopen), for tests. */
rd_kafka_t *lw_alertkafka_handle(lw_alertkafka_t *k);

#endif
