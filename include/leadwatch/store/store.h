/*
 * store.h - the durable state: per-(metric, bucket) aggregates, source
 * positions, the watermark and counters, behind one interface with
 * pluggable backends (store_backend.h): one SQLite file in WAL mode
 * (store_sqlite.c, the embedded default) or a PostgreSQL database
 * (store_pg.c).
 *
 * Choosing the backend: lw_store_open()'s target is
 *   - a plain path (or ":memory:")   -> SQLite
 *   - "sqlite:<path>"                -> SQLite
 *   - "postgres://..." or "postgresql://..." -> PostgreSQL (a libpq URI;
 *     leadwatch's own parameter password_file=PATH names a file holding the
 *     password, a password in the URI itself is refused)
 *   - any other "<scheme>://" -> LW_ERR_INVALID.
 *
 * Invariant: a source position (file offset, Kafka partition offset) is
 * written in the same transaction as every aggregate change it covers, so
 * after a crash the store is at a consistent point and re-reading from the
 * stored position neither loses nor double-counts an event.  A writer
 * moves a position with lw_store_move_position(), which commits only if
 * the stored position is still the one the writer started from, so a
 * second writer on the same source (an overlapping cron run) cannot commit.
 *
 * Cells are added, never overwritten: lw_store_add_cell() adds count and
 * sum and merges the HyperLogLog sketch inside the engine's upsert.  The
 * schema carries a version and is migrated on open.
 *
 * One handle is used by one thread.  Readers in other processes may open
 * the same store read-only while a writer runs.  Test-only hooks (a capped
 * file size to simulate a full disk) live in store_testing.h, not here.
 */
#ifndef LEADWATCH_STORE_H
#define LEADWATCH_STORE_H

#include "leadwatch/core/buf.h"
#include "leadwatch/core/common.h"
#include "leadwatch/core/decsum.h"
#include "leadwatch/core/hll.h"
#include "leadwatch/store/store_types.h"

#define LW_STORE_READONLY 0x1

/*
 * Open `target` (see the header comment for the accepted forms), creating
 * and migrating it when writable.  NULL *out on failure; LW_ERR_INVALID for
 * a target no built backend serves, LW_ERR_STORE when the backend fails.
 * A read-only open of a SQLite file nobody may write (mode without any w
 * bit) and without a -wal file is opened immutable, so it leaves no -shm
 * file behind.
 */
lw_err_t lw_store_open(const char *target, int flags, lw_store_t **out, char *errstr,
                       size_t errstr_size);
/* Roll back an open transaction and free the handle; NULL is a no-op. */
void lw_store_close(lw_store_t *s);

/* The backend's name ("sqlite", "postgresql"). */
const char *lw_store_backend_name(const lw_store_t *s);

/*
 * Verify the store's physical consistency (SQLite: PRAGMA quick_check, one
 * read of every page, linear in the file size: measured 0.22 s for a
 * 144 MB file with a warm cache, 1 ms for a 0.5 MB 60-day store).  LW_OK
 * when sound; LW_ERR_STORE with the first problem found.  Outside a
 * transaction.
 */
lw_err_t lw_store_check(lw_store_t *s, char *errstr, size_t errstr_size);

/* Schema version of the open file (equals the newest after a writable open). */
int lw_store_schema_version(lw_store_t *s);

/*
 * Transactions.  begin starts a write transaction (BEGIN IMMEDIATE); commit
 * makes everything since begin durable at once; rollback discards it.
 * Writes outside a transaction are an error (LW_ERR_INVALID).
 */
lw_err_t lw_store_begin(lw_store_t *s, char *errstr, size_t errstr_size);
lw_err_t lw_store_commit(lw_store_t *s, char *errstr, size_t errstr_size);
void lw_store_rollback(lw_store_t *s);

/* Add to the cell (metric, bucket_ms): count += count, sum += sum, sketch ∪= hll (hll may be NULL).
 */
lw_err_t lw_store_add_cell(lw_store_t *s, const char *metric, int64_t bucket_ms, int64_t count,
                           double sum, const lw_hll_t *hll, char *errstr, size_t errstr_size);
/*
 * The same with the sum as the aggregator keeps it (lw_agg_cell_t.sum_exact,
 * core/decsum.h).  The store keeps each cell's sum in that form too, so
 * decimal amounts add up exactly over any number of flushes;
 * lw_store_read_cells returns lw_decsum_value of the total.
 */
lw_err_t lw_store_add_cell_sum(lw_store_t *s, const char *metric, int64_t bucket_ms, int64_t count,
                               const lw_decsum_t *sum, const lw_hll_t *hll, char *errstr,
                               size_t errstr_size);

/* Store `pos` for `source` unconditionally (inside a transaction). */
lw_err_t lw_store_set_position(lw_store_t *s, const char *source, const lw_position_t *pos,
                               char *errstr, size_t errstr_size);
/*
 * Compare-and-set: store `pos` only if the stored position of `source` still
 * equals *expected (all three fields; expected->position ==
 * LW_POSITION_ABSENT: only if none is stored).  Inside a transaction; on a
 * mismatch nothing is written and LW_ERR_STORE is returned with "position
 * conflict" and the stored position in errstr: another writer committed for
 * this source since `expected` was read, and the caller must roll back.
 */
lw_err_t lw_store_move_position(lw_store_t *s, const char *source, const lw_position_t *expected,
                                const lw_position_t *pos, char *errstr, size_t errstr_size);
/* LW_ERR_NOT_FOUND (errstr untouched) when the source has no position. */
lw_err_t lw_store_get_position(lw_store_t *s, const char *source, lw_position_t *pos, char *errstr,
                               size_t errstr_size);
/* Every stored position whose source name starts with `prefix`, by name. */
lw_err_t lw_store_positions(lw_store_t *s, const char *prefix, lw_store_position_cb cb, void *ud,
                            char *errstr, size_t errstr_size);

/* Named integers (e.g. "watermark_ms"): set and get (LW_ERR_NOT_FOUND when unset). */
#define LW_KEY_WATERMARK "watermark_ms" /* written by the pipeline, read by series.c */
lw_err_t lw_store_set_int(lw_store_t *s, const char *key, int64_t value, char *errstr,
                          size_t errstr_size);
lw_err_t lw_store_get_int(lw_store_t *s, const char *key, int64_t *value, char *errstr,
                          size_t errstr_size);

/* Counters (e.g. "rejected.invalid_json", "late"): add delta; iterate all. */
lw_err_t lw_store_add_counter(lw_store_t *s, const char *name, int64_t delta, char *errstr,
                              size_t errstr_size);
lw_err_t lw_store_counters(lw_store_t *s, lw_store_counter_cb cb, void *ud, char *errstr,
                           size_t errstr_size);

/* Cells of `metric` with from_ms <= bucket < to_ms, oldest first. */
lw_err_t lw_store_read_cells(lw_store_t *s, const char *metric, int64_t from_ms, int64_t to_ms,
                             lw_store_cell_cb cb, void *ud, char *errstr, size_t errstr_size);

/* Smallest and largest bucket over all metrics; LW_ERR_NOT_FOUND when empty. */
lw_err_t lw_store_bucket_range(lw_store_t *s, int64_t *min_ms, int64_t *max_ms, char *errstr,
                               size_t errstr_size);

/*
 * Named blobs (e.g. the alert table under "alert_state"): set inside a
 * transaction; get appends the value to `out` (LW_ERR_NOT_FOUND when unset,
 * the buffer's error when it does not fit).
 */
lw_err_t lw_store_set_blob(lw_store_t *s, const char *key, const void *data, size_t len,
                           char *errstr, size_t errstr_size);
lw_err_t lw_store_get_blob(lw_store_t *s, const char *key, lw_buf_t *out, char *errstr,
                           size_t errstr_size);

/* Insert (or replace) a verdict; inside a transaction. */
lw_err_t lw_store_add_verdict(lw_store_t *s, const lw_verdict_row_t *v, char *errstr,
                              size_t errstr_size);
/* *led = some evaluation before `before_ms` found `edge` leading. */
lw_err_t lw_store_edge_led(lw_store_t *s, const char *edge, int64_t before_ms, bool *led,
                           char *errstr, size_t errstr_size);
/* Verdicts with as_of >= from_ms of one edge (NULL = all), oldest first. */
lw_err_t lw_store_read_verdicts(lw_store_t *s, const char *edge, int64_t from_ms,
                                lw_store_verdict_cb cb, void *ud, char *errstr, size_t errstr_size);

/*
 * Experiments (issue 16, store_types.h).  put_exp_assign inserts an
 * assignment or, when (experiment, user_hash) is stored, replaces its seen
 * bits only (variant and exposure time never change); exp_assigns iterates
 * every assignment (paged on PostgreSQL).  add_exp_cell adds the vectors num
 * and den element-wise to the cell (experiment, variant, metric, window) in
 * the engine's upsert (atomic against other writers); exp_cells iterates
 * every cell, by key.  Writes inside a transaction, like cells.
 */
lw_err_t lw_store_put_exp_assign(lw_store_t *s, const lw_exp_assign_t *a, char *errstr,
                                 size_t errstr_size);
lw_err_t lw_store_exp_assigns(lw_store_t *s, lw_store_exp_assign_cb cb, void *ud, char *errstr,
                              size_t errstr_size);
lw_err_t lw_store_add_exp_cell(lw_store_t *s, const lw_exp_cell_t *c, char *errstr,
                               size_t errstr_size);
lw_err_t lw_store_exp_cells(lw_store_t *s, lw_store_exp_cell_cb cb, void *ud, char *errstr,
                            size_t errstr_size);

/* true between a successful lw_store_begin() and the matching commit/rollback. */
bool lw_store_in_transaction(const lw_store_t *s);

/*
 * Fleet: several daemons of one Kafka consumer group writing one shared
 * store (PostgreSQL; README "Running a fleet").  lw_store_shared() is true
 * when the backend supports it; the functions below are then:
 *
 *   claim   (in a transaction) take `source` for `owner`: its owner epoch
 *           is raised by one (1 for a new source) and returned in *epoch,
 *           with the newest event time stored for it in *max_time
 *           (INT64_MIN none); marks it active (not idle).  Called by the
 *           member a partition was just assigned to, before it reads the
 *           partition's position.
 *   fence   (in a transaction) the flush's condition: the source's epoch
 *           must still be `epoch` (else LW_ERR_FENCED, nothing written: the
 *           caller rolls the whole flush back); records its newest event
 *           time (raised, never lowered; INT64_MIN leaves it) and idleness.
 *           Locks the source's row until commit, so a concurrent claim waits
 *           for this flush and then reads the position it committed.
 *   owner   the source's current epoch and newest event time (INT64_MIN
 *           none); LW_ERR_NOT_FOUND when it was never claimed.
 *   global_watermark  the oldest newest-event-time over the sources that
 *           are not idle (the newest over all when every one is idle);
 *           INT64_MIN while an active source has none yet or none is stored.
 *   raise_int  set a named integer to max(stored, value) (in a transaction).
 *   lease   try to hold (or confirm) the evaluator lease on this handle's
 *           connection: *held says whether it is held now.  One holder per
 *           store; released when the connection ends (the process died, or the
 *           server ended the session).  Backends without a fleet: always held.
 */
bool lw_store_shared(const lw_store_t *s);
lw_err_t lw_store_claim(lw_store_t *s, const char *source, const char *owner, int64_t *epoch,
                        int64_t *max_time, char *errstr, size_t errstr_size);
lw_err_t lw_store_fence(lw_store_t *s, const char *source, int64_t epoch, int64_t max_time,
                        bool idle, char *errstr, size_t errstr_size);
lw_err_t lw_store_owner(lw_store_t *s, const char *source, int64_t *epoch, int64_t *max_time,
                        char *errstr, size_t errstr_size);
lw_err_t lw_store_global_watermark(lw_store_t *s, int64_t *wm, char *errstr, size_t errstr_size);
lw_err_t lw_store_raise_int(lw_store_t *s, const char *key, int64_t value, char *errstr,
                            size_t errstr_size);
lw_err_t lw_store_lease(lw_store_t *s, bool *held, char *errstr, size_t errstr_size);

#endif
