/*
 * dedup.h - the set of event ids already counted in the buckets that are
 * still open, kept in memory with a hard bound and in the store with the
 * aggregates, so a duplicate is dropped exactly once across restarts.
 *
 * Vendors retry deliveries and deduplicate on an id (Segment/RudderStack
 * messageId, Amplitude insert_id, PostHog uuid).  The pipeline asks
 * lw_dedup_seen() for every accepted event that carries an id, and calls
 * lw_dedup_add() once the event is counted in an open bucket.  An id is
 * remembered only while its bucket is open (the watermark has not passed
 * the bucket's end + grace): a copy of an event of a closed bucket is late
 * anyway and never counted.
 *
 * Durability.  The ids added since the last flush are written by
 * lw_dedup_write() inside the pipeline's flush transaction, next to the
 * cells and positions they belong to: after a crash the store holds
 * exactly the ids of the events it counted, so re-reading from the stored
 * position neither drops an event as a false duplicate (its id was not
 * stored) nor counts a stored one twice.  lw_dedup_load() restores the set
 * of the open buckets when a pipeline starts.
 *
 * Bound.  At most max_ids ids are remembered.  Memory: a table of 12-byte
 * slots (an 8-byte key, a 4-byte bucket tag), at most the power of two that
 * holds max_ids at 2/3 load (18 to 36 bytes per id; 48 MiB for the default
 * 2,000,000), grown on demand from 12 KiB (while it grows, the old and the
 * new table exist together for the rehash), plus 16 bytes per id added
 * since the last flush.
 * Past it a new id is not remembered: its event is counted, a later copy of
 * it would be counted too, and lw_dedup_untracked() counts such ids (the
 * pipeline stores them as the counter dedup.untracked and logs a warning).
 * Ids are 64-bit hashes (XXH3) of the user and the id, and only the hash
 * is kept (in memory and in the store).  A new event whose hash equals one
 * of the n remembered ones is dropped as a duplicate although it is not:
 * probability n / 2^64 per event (1.1e-13 at the default 2,000,000 open
 * ids), so about 1e-4 wrongly dropped events per billion read at that
 * many open ids; two of the n remembered ids share a hash with probability
 * about n^2 / 2^65 (1e-7 for 2,000,000).  Keeping the full id to rule that
 * out would cost its length per id (36 bytes for a UUID, more than the
 * slot) in memory and in the store, for an error far below the
 * HyperLogLog's (~0.8 %) on the distinct counts.
 *
 * Single-threaded; owned by one pipeline.
 */
#ifndef LEADWATCH_DEDUP_H
#define LEADWATCH_DEDUP_H

#include "leadwatch/core/common.h"
#include "leadwatch/store/store.h"

typedef struct lw_dedup lw_dedup_t;

/* Chunks a bucket's ids may span in the store before they are merged into one. */
#define LW_DEDUP_MAX_CHUNKS 16

/* A new, empty set for buckets of size_ms.  NULL with errstr on failure. */
lw_dedup_t *lw_dedup_new(size_t max_ids, int64_t size_ms, char *errstr, size_t errstr_size);
void lw_dedup_destroy(lw_dedup_t *d);

/* The 64-bit key of (user, id) as the set stores it. */
uint64_t lw_dedup_key(lw_slice_t user, lw_slice_t id);

/* The same key from lw_hll_hash(user) (core/hll.h), for a caller that also
 * needs that hash: lw_dedup_key(user, id) == lw_dedup_key_hashed(
 * lw_hll_hash(user.ptr, user.len), id). */
uint64_t lw_dedup_key_hashed(uint64_t user_hash, lw_slice_t id);

/* true when `key` was counted before (in memory or restored from the store).
 * Remembers where a missing key would go, for the lw_dedup_add that follows. */
bool lw_dedup_seen(lw_dedup_t *d, uint64_t key);

/* A hint: start loading the table slot where lw_dedup_seen(key) will look. */
void lw_dedup_prefetch(const lw_dedup_t *d, uint64_t key);

/*
 * Remember `key` for the bucket of `time_ms` (pending until the next
 * lw_dedup_write).  Past max_ids it is not remembered and counted as
 * untracked; returns false then.
 */
bool lw_dedup_add(lw_dedup_t *d, uint64_t key, int64_t time_ms);

/* Ids that were not remembered because the set was full, since creation. */
int64_t lw_dedup_untracked(const lw_dedup_t *d);

/* Ids remembered now. */
size_t lw_dedup_count(const lw_dedup_t *d);

/*
 * Restore the ids of the buckets starting at or after open_from_ms (the
 * oldest bucket still open) from the store.  Outside a transaction.
 */
lw_err_t lw_dedup_load(lw_dedup_t *d, lw_store_t *s, int64_t open_from_ms, char *errstr,
                       size_t errstr_size);

/*
 * Inside the caller's store transaction: write the pending ids (as one new
 * chunk per bucket, merging a bucket's chunks when it would pass
 * LW_DEDUP_MAX_CHUNKS), and empty the stored ids of buckets before
 * open_from_ms.  Reads the chunk counts from the store, so a second writer
 * on the same store appends instead of overwriting.  Memory is untouched:
 * call lw_dedup_committed() after the commit (a rolled-back write is simply
 * written again by the next call).
 */
lw_err_t lw_dedup_write(lw_dedup_t *d, lw_store_t *s, int64_t open_from_ms, char *errstr,
                        size_t errstr_size);

/* The last write committed: forget the pending list and drop ids of buckets before open_from_ms. */
void lw_dedup_committed(lw_dedup_t *d, int64_t open_from_ms);

/* Internal consistency (load, bounds; `deep`: also recount every slot, O(table)); false with
 * the reason in why. */
bool lw_dedup_check(const lw_dedup_t *d, bool deep, char *why, size_t why_size);

#endif
