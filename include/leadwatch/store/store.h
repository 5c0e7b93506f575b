/*
 * store.h - the durable state: per-(metric, bucket) aggregates, source
 * positions, the watermark and counters, in one SQLite file (WAL mode).
 *
 * Invariant: a source position (file offset, Kafka partition offset) is
 * written in the same transaction as every aggregate change it covers, so
 * after a crash the store is at a consistent point and re-reading from the
 * stored position neither loses nor double-counts an event.
 *
 * Cells are added, never overwritten: lw_store_add_cell() adds count and
 * sum and merges the HyperLogLog sketch (an SQL function registered on the
 * connection does the merge inside the upsert).  The schema carries a
 * version (PRAGMA user_version) and is migrated on open.
 *
 * One handle is used by one thread.  Readers in other processes may open
 * the same file read-only while a writer runs (WAL).
 */
#ifndef LEADWATCH_STORE_H
#define LEADWATCH_STORE_H

#include "leadwatch/core/buf.h"
#include "leadwatch/core/common.h"
#include "leadwatch/core/hll.h"

typedef struct lw_store lw_store_t;

#define LW_STORE_READONLY 0x1

/* Open (creating and migrating when writable).  NULL *out on failure. */
lw_err_t lw_store_open(const char *path, int flags, lw_store_t **out, char *errstr,
                       size_t errstr_size);
void lw_store_close(lw_store_t *s);

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

/* A source position: where to resume, plus a fingerprint of what was read. */
typedef struct {
    int64_t position; /* byte offset (files) or next offset (Kafka) */
    int64_t fp_len;   /* files: how many leading bytes fp_hash covers; else 0 */
    uint64_t fp_hash;
} lw_position_t;

lw_err_t lw_store_set_position(lw_store_t *s, const char *source, const lw_position_t *pos,
                               char *errstr, size_t errstr_size);
/* LW_ERR_NOT_FOUND (errstr untouched) when the source has no position. */
lw_err_t lw_store_get_position(lw_store_t *s, const char *source, lw_position_t *pos, char *errstr,
                               size_t errstr_size);

/* Named integers (e.g. "watermark_ms"): set and get (LW_ERR_NOT_FOUND when unset). */
#define LW_KEY_WATERMARK "watermark_ms" /* written by the pipeline, read by series.c */
lw_err_t lw_store_set_int(lw_store_t *s, const char *key, int64_t value, char *errstr,
                          size_t errstr_size);
lw_err_t lw_store_get_int(lw_store_t *s, const char *key, int64_t *value, char *errstr,
                          size_t errstr_size);

/* Counters (e.g. "rejected.invalid_json", "late"): add delta; iterate all. */
lw_err_t lw_store_add_counter(lw_store_t *s, const char *name, int64_t delta, char *errstr,
                              size_t errstr_size);
typedef void (*lw_store_counter_cb)(void *ud, const char *name, int64_t value);
lw_err_t lw_store_counters(lw_store_t *s, lw_store_counter_cb cb, void *ud, char *errstr,
                           size_t errstr_size);

/* One stored cell as read back; `hll` is NULL when the cell has no sketch. */
typedef struct {
    int64_t bucket_ms;
    int64_t count;
    double sum;
    const uint8_t *hll; /* serialised sketch, valid only during the callback */
    size_t hll_len;
} lw_cell_t;

/* Return non-zero from the callback to stop early. */
typedef int (*lw_store_cell_cb)(void *ud, const lw_cell_t *cell);

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

/* One edge's verdict at one evaluation of the daemon.  NAN = not available. */
typedef struct {
    const char *edge;    /* "from->to" */
    int64_t as_of_ms;    /* start of the bucket whose close triggered the evaluation */
    const char *verdict; /* lw_verdict_name() */
    double p, q;         /* primary Granger test at the chosen lag */
    int lag;             /* chosen lag, 0 = none */
    double coef;         /* elasticity */
    double oos;          /* out-of-sample skill (relative MSE reduction) */
} lw_verdict_row_t;

/* Insert (or replace) a verdict; inside a transaction. */
lw_err_t lw_store_add_verdict(lw_store_t *s, const lw_verdict_row_t *v, char *errstr,
                              size_t errstr_size);
/* *led = some evaluation before `before_ms` found `edge` leading. */
lw_err_t lw_store_edge_led(lw_store_t *s, const char *edge, int64_t before_ms, bool *led,
                           char *errstr, size_t errstr_size);
/* Return non-zero to stop; strings are valid during the callback only. */
typedef int (*lw_store_verdict_cb)(void *ud, const lw_verdict_row_t *v);
/* Verdicts with as_of >= from_ms of one edge (NULL = all), oldest first. */
lw_err_t lw_store_read_verdicts(lw_store_t *s, const char *edge, int64_t from_ms,
                                lw_store_verdict_cb cb, void *ud, char *errstr, size_t errstr_size);

/* true between a successful lw_store_begin() and the matching commit/rollback. */
bool lw_store_in_transaction(const lw_store_t *s);

/*
 * Testing hook: cap the database file at `pages` pages (PRAGMA
 * max_page_count; never below the current size), so a test can make later
 * writes fail with SQLITE_FULL as a full disk would.  Not for production use.
 */
lw_err_t lw_store_set_max_pages(lw_store_t *s, int64_t pages, char *errstr, size_t errstr_size);

#endif
