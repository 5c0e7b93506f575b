/*
 * consumer_testing.h - hooks for tests and measurements only, on the Kafka
 * consumer's feed worker (consumer_feed.c).  Kept out of consumer.h: a
 * daemon has no reason to call them.  Both take effect between
 * lw_consumer_poll() calls (they wait for nothing: the worker is idle then).
 */
#ifndef LEADWATCH_INGEST_CONSUMER_TESTING_H
#define LEADWATCH_INGEST_CONSUMER_TESTING_H

#include "leadwatch/ingest/consumer.h"

/*
 * Feed on the worker thread (on, the default) or on the polling thread
 * (off: the message path before issue 19).  Results are the same either
 * way.  Off also when the worker thread could not be started.
 */
void lw_consumer_set_feed_thread(lw_consumer_t *c, bool on);

/* A slow decoder: the worker sleeps `delay_us` microseconds before each batch (0: none). */
void lw_consumer_set_feed_delay(lw_consumer_t *c, int delay_us);

#endif
