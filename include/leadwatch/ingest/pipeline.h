/*
 * pipeline.h - event → decode → metric → store, the one path every source
 * (file, stdin, Kafka) goes through.
 *
 * A pipeline owns a decoder and an aggregator and borrows the config and
 * the store.  Sources (a file, a Kafka partition) are registered by name;
 * every lw_pipeline_feed() names its source and the position *after* the
 * event, and lw_pipeline_flush() writes, in ONE store transaction, every
 * dirty aggregate cell, every source position that moved, the watermark
 * and the counter deltas.  Because positions and aggregates commit
 * together, a crash at any point leaves the store at a flush boundary, and
 * resuming each source from its stored position counts every event exactly
 * once.  The ids of counted events (dedup.h) commit in the same
 * transaction, so a copy of a counted event is rejected as `duplicate`
 * across restarts.
 *
 * Time is injected: feed takes `now_ms` (the wall clock, for the decoder's
 * future bound) and should_flush takes a monotonic `mono_ms`.
 * Single-threaded: one caller at a time.
 */
#ifndef LEADWATCH_PIPELINE_H
#define LEADWATCH_PIPELINE_H

#include "leadwatch/core/common.h"
#include "leadwatch/model/config.h"
#include "leadwatch/model/event.h"
#include "leadwatch/store/store.h"

#define LW_PIPELINE_MAX_SOURCES 4096
#define LW_PIPELINE_MAX_SOURCE_NAME 256

typedef struct lw_pipeline lw_pipeline_t;

typedef struct {
    int64_t read;      /* events fed (each element of a batch envelope is one) */
    int64_t envelopes; /* batch envelopes expanded into their elements */
    int64_t accepted;  /* decoded and inside an open bucket */
    int64_t late;      /* decoded, but their bucket had closed */
    int64_t rejected[LW_REJECT__COUNT];
    int64_t rejected_total;
    int64_t flushes; /* committed store transactions */
    int64_t
        flush_retries; /* flushes run again after the store broke a deadlock (lw_pipeline_stats) */
    int64_t discards;  /* pending states dropped after a refused flush (lw_pipeline_discard) */
    /* per config metric: matching events skipped because the sum/mean/distinct
     * field was missing or not a number */
    int64_t missing_value[LW_CONFIG_MAX_METRICS];
    /* experiments (exposure.h), filled by lw_pipeline_stats only; 0 without experiments */
    int64_t exp_assigned;  /* new (user, experiment) assignments */
    int64_t exp_conflicts; /* exposures of an assigned user to another variant */
    int64_t exp_dropped;   /* exposures not assigned (experiments.max_users and other bounds) */
} lw_pipeline_stats_t;

typedef enum { LW_FEED_ACCEPTED = 0, LW_FEED_LATE, LW_FEED_REJECTED } lw_feed_outcome_t;

/* Create; restores the watermark from the store.  NULL with errstr on failure. */
lw_pipeline_t *lw_pipeline_new(const lw_config_t *cfg, lw_store_t *store, char *errstr,
                               size_t errstr_size);
/* Destroy without flushing (call lw_pipeline_flush first to keep pending work). */
void lw_pipeline_destroy(lw_pipeline_t *p);

/*
 * Register a source and read its stored position.  Returns the source id
 * (>= 0) and sets *found / *stored, or -1 with errstr set.  Registering an
 * existing name returns the same id.
 */
int lw_pipeline_add_source(lw_pipeline_t *p, const char *name, lw_position_t *stored, bool *found,
                           char *errstr, size_t errstr_size);

/*
 * Feed one raw event.  `after` is the source position once this event is
 * consumed (it moves whether the event is accepted, late or rejected);
 * NULL for a source without positions (stdin, a pipe): nothing is stored
 * for it.
 * *outcome says what happened and *reason why it was rejected.  A batch
 * envelope (event.h) is expanded here: each element is decoded and counted
 * on its own (read, accepted, late, rejected by reason), and *outcome is
 * rejected (with the last element's reason) only when no element was
 * accepted or late; an empty envelope counts as one `empty` reject.  May flush
 * by itself when the aggregator runs out of bucket slots.  Returns an error
 * only when such a flush fails; then nothing about this event was recorded.
 */
lw_err_t lw_pipeline_feed(lw_pipeline_t *p, int source, const char *buf, size_t len,
                          const lw_position_t *after, int64_t now_ms, lw_feed_outcome_t *outcome,
                          lw_reject_t *reason, char *errstr, size_t errstr_size);

/*
 * lw_pipeline_feed, with the next message the caller will feed,
 * next[0..next_len) (NULL when it has none): with dedup on, the pipeline
 * decodes it now and prefetches its id's slot in the dedup table, so that
 * cache miss overlaps this event's counting instead of stalling the next
 * one (bench/RESULTS.md issue 19, session 9).  The next feed uses that
 * decode when it is given the same buffer (pointer, length and now_ms);
 * anything else is decoded afresh.  `next` must stay unchanged until it is
 * fed or lw_pipeline_forget_ahead() is called: call that before the buffer
 * goes away unfed (the consumer calls it after each poll batch, file
 * ingest when it leaves a file).  Counting,
 * outcomes and positions are those of lw_pipeline_feed, in the same order.
 */
lw_err_t lw_pipeline_feed_ahead(lw_pipeline_t *p, int source, const char *buf, size_t len,
                                const char *next, size_t next_len, const lw_position_t *after,
                                int64_t now_ms, lw_feed_outcome_t *outcome, lw_reject_t *reason,
                                char *errstr, size_t errstr_size);

/* Drop the message decoded ahead (its buffer is about to go away unfed). */
void lw_pipeline_forget_ahead(lw_pipeline_t *p);

/*
 * Mark a source as caught up (a Kafka partition at its end): it stops
 * holding the watermark back until it delivers an event again.  The
 * watermark is the oldest "newest event time" over the sources that are
 * not idle, never moving back; with a single source it is the newest event
 * time seen (see pipeline.c).
 */
void lw_pipeline_source_idle(lw_pipeline_t *p, int source);

/*
 * True when flush_events were fed since the last flush or flush_interval
 * passed, and at once when the watermark moved with nothing fed (a source
 * went idle): the buckets it closes must reach the store without waiting
 * for the next event.
 */
bool lw_pipeline_should_flush(const lw_pipeline_t *p, int64_t mono_ms);

/*
 * How many more events may be fed before flush_events is reached (at least
 * 1): a caller that feeds in large batches bounds each batch by it, so the
 * buckets reach the store every flush_events events exactly, however large
 * its batches (the daemon's polls, LW_CONSUMER_POLL_MAX).
 */
int64_t lw_pipeline_room(const lw_pipeline_t *p);

/*
 * Commit everything pending in one transaction (a no-op when nothing is
 * pending).  Each position is written only if the store still holds the
 * one this pipeline read or last committed for the source
 * (lw_store_move_position): when another writer committed for it in the
 * meantime the flush fails with "position conflict" and nothing commits.  On failure the
 * transaction is rolled back, the pending state is kept, and the caller must stop feeding (the
 * store is unusable or full); the error names the store's reason.
 */
lw_err_t lw_pipeline_flush(lw_pipeline_t *p, int64_t mono_ms, char *errstr, size_t errstr_size);

/*
 * Fleet (a shared store, store.h "Fleet"; the Kafka consumer drives it).
 * lw_pipeline_set_shared(): from now on the watermark is the store's global
 * one (the oldest newest-event-time over every member's active partitions),
 * read and raised inside each flush and adopted after its commit, never
 * moved by this member's events alone; deduplication is turned off (its id
 * set is per member).  A claimed source (lw_pipeline_source_claim, with the
 * epoch lw_store_claim returned and the position and newest event time read
 * in the same transaction) is part of every flush's condition: each flush
 * first fences every claimed source in name order (lw_store_fence, which
 * also stores its newest event time and idleness), then writes the cells in
 * (metric, bucket) order, so members lock shared rows in one order.  A
 * fenced flush returns LW_ERR_FENCED and commits nothing; a flush the store
 * aborted to break a deadlock (LW_ERR_RETRY) is run again up to 5 times
 * (counted in flush_retries).  lw_pipeline_discard() drops everything
 * pending (cells, counters, positions fed) and puts each source back at the
 * position the store held after the last flush; the caller re-reads what it
 * still owns.  lw_pipeline_source_release(): no longer ours (idle, not
 * fenced).  Claiming a source that has pending events is a bug (asserted).
 */
void lw_pipeline_set_shared(lw_pipeline_t *p);
void lw_pipeline_source_claim(lw_pipeline_t *p, int source, int64_t epoch, int64_t max_time,
                              const lw_position_t *pos, bool found);
void lw_pipeline_source_release(lw_pipeline_t *p, int source);
/* true when claimed (and *epoch its epoch). */
bool lw_pipeline_source_claimed(const lw_pipeline_t *p, int source, int64_t *epoch);
void lw_pipeline_discard(lw_pipeline_t *p);

/* Totals since creation, including what is not yet flushed. */
void lw_pipeline_stats(const lw_pipeline_t *p, lw_pipeline_stats_t *out);
/* Totals of what committed flushes wrote (what the store holds from this pipeline). */
void lw_pipeline_committed(const lw_pipeline_t *p, lw_pipeline_stats_t *out);

/* The store the pipeline writes to (borrowed). */
lw_store_t *lw_pipeline_store(const lw_pipeline_t *p);
/* true when the config has an `experiments:` section (exposures are assigned). */
bool lw_pipeline_has_experiments(const lw_pipeline_t *p);

/* The config the pipeline was built with (borrowed). */
const lw_config_t *lw_pipeline_config(const lw_pipeline_t *p);

/* Watermark (newest event time seen), INT64_MIN when none. */
int64_t lw_pipeline_watermark(const lw_pipeline_t *p);

/*
 * The position the store holds for `source` as of the last committed flush
 * (or as read at registration): true and *out set, false (and *out zero)
 * when the store has none.  What a source may acknowledge upstream (Kafka
 * offset commits) is bounded by this, never by the position fed.
 */
bool lw_pipeline_source_flushed(const lw_pipeline_t *p, int source, lw_position_t *out);

/*
 * Sanity check of the pipeline's invariants (listed in pipeline.c): true
 * when they hold, else false with the first broken one in `why` (may be
 * NULL).  O(sources + aggregator slots).  Asserted inside the pipeline after
 * every flush, idle mark and registration; the tests call it directly.
 */
bool lw_pipeline_check(const lw_pipeline_t *p, char *why, size_t why_size);

/* The store key of the watermark, LW_KEY_WATERMARK, is in store.h (series.c reads it). */

#endif
