/*
 * kafka.h - the librdkafka plumbing shared by every Kafka client in
 * leadwatch: the consumer (consumer.h), the producer and dead-letter topic
 * (produce.h), the mock cluster (mockkafka.h) and the Kafka alert sink
 * (alertkafka.h).
 *
 * Settings reach librdkafka as an ordered list of KEY=VALUE properties
 * (lw_kafka_prop_t) passed to rd_kafka_conf_set() unchanged, so every
 * librdkafka property works; lw_kafka_conf_new() applies them in order (a
 * later key overrides an earlier one) and then the caller's forced ones.
 * librdkafka's log lines are routed into LW_LOG by lw_kafka_log_cb().  Values
 * of secret properties never appear in an error message.
 *
 * This module holds no state; every function may be called from any thread.
 */
#ifndef LEADWATCH_KAFKA_H
#define LEADWATCH_KAFKA_H

#include <stdbool.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "leadwatch/core/common.h"
#include "leadwatch/model/kafka_opts.h" /* lw_kafka_is_secret */

/* Bounds on the settings (checked by lw_consumer_new, the CLI and the config). */
#define LW_KAFKA_MAX_PROPS 256
#define LW_KAFKA_MAX_TOPICS 256

/* One librdkafka property, passed through unchanged. */
typedef struct {
    const char *key;
    const char *value;
} lw_kafka_prop_t;

/* One message header (value may be binary). */
typedef struct {
    const char *name;
    const void *value;
    size_t len;
} lw_kafka_header_t;

/*
 * A new librdkafka conf with `props` set in order, then `forced` (which
 * override and are applied last).  NULL with errstr "KEY: librdkafka's
 * message" on the first property librdkafka refuses (the value of a secret
 * is never repeated).  The caller owns the conf.
 */
rd_kafka_conf_t *lw_kafka_conf_new(const lw_kafka_prop_t *props, size_t nprops,
                                   const lw_kafka_prop_t *forced, size_t nforced, char *errstr,
                                   size_t errstr_size);

/* Route librdkafka's log lines into LW_LOG (subsystem "rdkafka"). */
void lw_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

#endif
