/*
 * kafka_opts.h - what the model layer knows about librdkafka properties:
 * which ones hold secrets.  The configuration (config.h) checks and prints
 * source.kafka, the consumer and producer (ingest layer) log and report
 * errors about the same properties, and all of them must hide the same
 * values, so the predicate lives here, below both.
 */
#ifndef LEADWATCH_KAFKA_OPTS_H
#define LEADWATCH_KAFKA_OPTS_H

#include "leadwatch/core/common.h"

/*
 * true for property names whose values are secrets (*password*, *secret*,
 * sasl.oauthbearer.config, private keys, keystores, tokens): their values
 * never appear in logs, messages or printed configs.
 */
bool lw_kafka_is_secret(const char *key);

#endif
