/*
 * metric.h - metric matching and event-time bucket aggregation (pure core).
 *
 * lw_agg_t compiles the config's metric definitions against a decoder (it
 * registers the dotted paths the metrics read) and then takes decoded
 * events one at a time:
 *
 *   1. bucket = lw_bucket_start(event time, bucket size)
 *   2. watermark = max(watermark, event time)
 *   3. late  when watermark > bucket end + grace (the bucket has closed);
 *      the event is dropped and counted, nothing else happens
 *   4. for every non-ratio metric whose `where` matches: count += 1,
 *      sum += value * scale, sketch ∪= {hash(user or value)}.  A sum/mean
 *      metric whose property is missing or not a number skips the event
 *      and counts it against that metric ("missing_value") - never a zero.
 *
 * The aggregator holds only the *deltas* since the last flush, in a bounded
 * table of bucket slots (one slot = one bucket, all metrics).  The caller
 * (pipeline.c) writes the dirty cells to the store and then calls
 * lw_agg_flushed() to zero them.  Ratio metrics are never aggregated: they
 * are derived from their numerator and denominator at read time
 * (lw_metric_value).
 */
#ifndef LEADWATCH_METRIC_H
#define LEADWATCH_METRIC_H

#include "leadwatch/core/common.h"
#include "leadwatch/core/decsum.h"
#include "leadwatch/model/config.h"
#include "leadwatch/model/event.h"
#include "leadwatch/core/hll.h"

typedef struct lw_agg lw_agg_t;

typedef enum {
    LW_AGG_ACCEPTED = 0, /* counted in its bucket (possibly matching no metric) */
    LW_AGG_LATE,         /* its bucket had closed: dropped and counted */
    LW_AGG_NEED_FLUSH    /* no free bucket slot: flush, then add the event again */
} lw_agg_result_t;

/*
 * Compile the metrics of `cfg` (borrowed; must outlive the aggregator) and
 * register their paths with `dec`.  NULL with errstr set on failure.
 */
lw_agg_t *lw_agg_new(const lw_config_t *cfg, lw_decoder_t *dec, char *errstr, size_t errstr_size);
void lw_agg_destroy(lw_agg_t *agg);

/* One non-ratio metric an event matches and its contribution (experiments, issue 16). */
typedef struct {
    int metric;   /* index into cfg->metrics */
    double value; /* count and distinct: 1; sum and mean: the scaled number */
} lw_agg_hit_t;

/*
 * The non-ratio metrics `ev` matches, with the same rules as lw_agg_add (a
 * sum/mean/distinct-by-path metric whose value is missing does not match),
 * into hits[] (room for cfg->nmetrics).  Returns how many; changes nothing.
 */
size_t lw_agg_match(const lw_agg_t *agg, const lw_event_t *ev, lw_agg_hit_t *hits);

/* Does the decoded value equal the config scalar (a `where` value)? */
bool lw_scalar_matches(const lw_scalar_t *s, const lw_value_t *v);

/* Restore / read the watermark (newest event time seen, INT64_MIN when none). */
void lw_agg_set_watermark(lw_agg_t *agg, int64_t watermark_ms);
int64_t lw_agg_watermark(const lw_agg_t *agg);

/*
 * Add one decoded event (see the steps above), with the watermark advanced
 * to max(watermark, event time): the single-source rule.
 */
lw_agg_result_t lw_agg_add(lw_agg_t *agg, const lw_event_t *ev);

/*
 * The same with the watermark chosen by the caller (pipeline.c computes it
 * over several sources).  `watermark_ms` must not be below the current
 * watermark; it becomes the watermark when the event is accepted or late.
 */
lw_agg_result_t lw_agg_add_at(lw_agg_t *agg, const lw_event_t *ev, int64_t watermark_ms);

/*
 * lw_agg_add_at, with *user_hash = lw_hll_hash(ev->user.ptr, ev->user.len)
 * computed by the caller when user_hash is not NULL (the pipeline hashes the
 * user for the dedup key already): the same result, one hash fewer.
 */
lw_agg_result_t lw_agg_add_hashed(lw_agg_t *agg, const lw_event_t *ev, int64_t watermark_ms,
                                  const uint64_t *user_hash);

/* One dirty cell: what changed in (metric, bucket) since the last flush. */
typedef struct {
    int metric; /* index into cfg->metrics */
    int64_t bucket_ms;
    int64_t count;
    double sum;            /* the delta's sum as one double (lw_decsum_value of sum_exact) */
    lw_decsum_t sum_exact; /* the same, as the store keeps it (core/decsum.h) */
    const lw_hll_t *hll;   /* distinct metrics only, else NULL */
} lw_agg_cell_t;

/* Call cb for every dirty cell; stops and returns the first non-OK status. */
typedef lw_err_t (*lw_agg_cell_cb)(void *ud, const lw_agg_cell_t *cell);
lw_err_t lw_agg_foreach_dirty(lw_agg_t *agg, lw_agg_cell_cb cb, void *ud);

/* The dirty cells are now durable: zero them and free slots of closed buckets. */
void lw_agg_flushed(lw_agg_t *agg);

/* Number of dirty cells (for tests and flush decisions). */
size_t lw_agg_dirty_cells(const lw_agg_t *agg);

/* Per-metric count of events skipped because the value was missing / not a number. */
int64_t lw_agg_missing_value(const lw_agg_t *agg, int metric);
/* Zero the per-metric missing-value counters (after they were persisted). */
void lw_agg_reset_counters(lw_agg_t *agg);

/* Is the bucket starting at bucket_ms still open (can it still change)? */
bool lw_bucket_is_provisional(int64_t bucket_ms, int64_t size_ms, int64_t grace_ms,
                              int64_t watermark_ms);

/*
 * The value of a stored cell for a (non-ratio) metric: count, sum, mean
 * (sum/count), or distinct (estimate of the sketch).  Returns false when
 * the value is undefined (mean of zero events).
 */
typedef struct {
    bool present; /* the cell exists in the store */
    int64_t count;
    double sum;
    double distinct; /* estimate, for distinct metrics */
} lw_cell_value_t;

bool lw_metric_value(const lw_metric_def_t *m, const lw_cell_value_t *cell, double *out);

/* A ratio's value from its parts' values; false when undefined (den 0 or a part undefined). */
bool lw_ratio_value(bool num_ok, double num, bool den_ok, double den, double *out);

#endif
