/*
 * mockkafka.h - librdkafka's mock cluster on 127.0.0.1, for the demo, the
 * integration tests and the benchmark (`leadwatch mock-kafka`).
 *
 * The mock cluster runs inside a librdkafka handle: it listens on loopback
 * TCP ports (one per broker) and speaks enough of the Kafka protocol for
 * producers, consumer groups and offset commits.  It is NOT a broker: it
 * keeps only the newest 5 MiB or 100,000 message sets per partition (older
 * data is dropped), and everything is lost when the process exits.
 *
 * Fault injection is exposed as a line-oriented control protocol
 * (lw_mock_control) so a test in another process can drive it through the
 * command's stdin:
 *     topic NAME PARTITIONS        create a topic
 *     down BROKER | up BROKER      take a broker's listener down / up
 *     rtt BROKER MS                add round-trip time to a broker
 *     errors API COUNT ERR         the next COUNT requests of API (name, e.g.
 *                                  fetch, offsetcommit, joingroup, or number)
 *                                  fail with ERR (name, e.g. REQUEST_TIMED_OUT,
 *                                  or number)
 *     committed GROUP TOPIC        print "PARTITION OFFSET" per partition
 *                                  (-1001 when the group has none)
 *     watermarks TOPIC             print "PARTITION LOW HIGH" per partition
 *     produce TOPIC FILE           produce each line of FILE as a message
 *                                  ("<NULL>": no payload); prints "produced N"
 * Every answer ends with a line "ok" or "error: MESSAGE".
 */
#ifndef LEADWATCH_MOCKKAFKA_H
#define LEADWATCH_MOCKKAFKA_H

#include <stdio.h>

#include "leadwatch/core/common.h"

#define LW_MOCK_MAX_BROKERS 16
#define LW_MOCK_MAX_TOPICS 256
#define LW_MOCK_MAX_PARTITIONS 1024
#define LW_MOCK_MAX_LINE 1024

typedef struct lw_mock lw_mock_t;

/* Start `brokers` mock brokers (ids 1..brokers).  NULL with errstr on failure. */
lw_mock_t *lw_mock_new(int brokers, char *errstr, size_t errstr_size);
void lw_mock_destroy(lw_mock_t *m);

/* "127.0.0.1:PORT,..." (borrowed, valid until destroy). */
const char *lw_mock_bootstraps(const lw_mock_t *m);

/* Create a topic (replication 1).  LW_ERR_KAFKA with librdkafka's message. */
lw_err_t lw_mock_create_topic(lw_mock_t *m, const char *topic, int partitions, char *errstr,
                              size_t errstr_size);

/*
 * Execute one control line (see the header comment) and write the answer,
 * ending with "ok" or "error: ...", to `out` (flushed).  Returns LW_OK or
 * the command's error (also written).
 */
lw_err_t lw_mock_control(lw_mock_t *m, const char *line, FILE *out);

#endif
