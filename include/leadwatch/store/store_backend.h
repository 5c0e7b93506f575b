/*
 * store_backend.h - the store's backend interface: one table of function
 * pointers per storage engine, in the style of SQLite's VFS (sqlite3_vfs)
 * and libuv's handle types.
 *
 * store.c owns the public lw_store_* functions (store.h) and turns each into
 * one call through `ops`; it chooses the backend from the target given to
 * lw_store_open() (see store.h: a plain path or "sqlite:<path>" is SQLite,
 * "postgres://" / "postgresql://" is PostgreSQL, store_pg.c).
 * A backend keeps its own state behind `lw_store_backend_t`, a type each
 * backend's .c file defines for itself; nothing outside that file sees its
 * fields, and nothing above src/store/ includes an engine's header
 * (sqlite3.h, libpq-fe.h).
 *
 * Contracts every backend keeps (the tests in test_store.c hold SQLite to
 * them; a PostgreSQL backend must pass the same tests):
 *   - Transactions: begin takes the write lock up front where the engine has
 *     one (SQLite; PostgreSQL locks the rows each write touches instead);
 *     commit makes every write since begin durable at once or none of it;
 *     rollback discards.  Every write outside a transaction returns
 *     LW_ERR_INVALID; a transaction the engine aborted on its own returns
 *     LW_ERR_STORE from every later write and from commit, never silently
 *     continues in autocommit mode.
 *   - Cells are additive: add_cell adds count and the sum (an lw_decsum_t,
 *     core/decsum.h, kept exact; read_cells returns lw_decsum_value) and merges
 *     the sketch (an upsert; with several writers the merge must be atomic
 *     against the others: in the engine (SQLite's lw_hll_merge function), or in
 *     the client under a row lock the upsert took and holds until commit
 *     (PostgreSQL), never a read-modify-write without a lock).
 *   - Positions: set_position with expected == NULL writes unconditionally;
 *     with expected->position == LW_POSITION_ABSENT it writes only when the
 *     source has no stored position; otherwise only when the stored
 *     (position, fp_len, fp_hash) equals *expected.  A mismatch returns
 *     LW_ERR_STORE with "position conflict" and the stored position in
 *     errstr and writes nothing (the caller rolls back); the check and the write happen inside the
 * caller's transaction, so two writers cannot both commit for one source.
 *   - Reads (get_*, read_*, counters, positions, bucket_range) may run in or
 *     out of a transaction, see the caller's own uncommitted writes, and
 *     hold no lock after they return.  Callback pointers are valid during the
 *     callback only; a callback must not call back into the same store.
 *   - Errors: LW_ERR_STORE with the engine's message for engine failures,
 *     LW_ERR_NOT_FOUND (errstr untouched) for a missing key.
 *   - One handle is used by one thread at a time.
 */
#ifndef LEADWATCH_STORE_BACKEND_H
#define LEADWATCH_STORE_BACKEND_H

#include "leadwatch/core/buf.h"
#include "leadwatch/core/common.h"
#include "leadwatch/core/decsum.h"
#include "leadwatch/core/hll.h"
#include "leadwatch/store/store_types.h"

typedef struct lw_store_backend lw_store_backend_t;

typedef struct lw_store_ops {
    const char *name; /* "sqlite", "postgresql", ... */

    /* Open `target` (the part after the scheme); NULL *out on failure. */
    lw_err_t (*open)(const char *target, int flags, lw_store_backend_t **out, char *errstr,
                     size_t errstr_size);
    /* Roll back an open transaction and free everything; NULL is a no-op. */
    void (*close)(lw_store_backend_t *b);
    int (*schema_version)(lw_store_backend_t *b);

    lw_err_t (*begin)(lw_store_backend_t *b, char *errstr, size_t errstr_size);
    lw_err_t (*commit)(lw_store_backend_t *b, char *errstr, size_t errstr_size);
    void (*rollback)(lw_store_backend_t *b);
    bool (*in_transaction)(const lw_store_backend_t *b);

    lw_err_t (*add_cell)(lw_store_backend_t *b, const char *metric, int64_t bucket_ms,
                         int64_t count, const lw_decsum_t *sum, const lw_hll_t *hll, char *errstr,
                         size_t errstr_size);
    lw_err_t (*read_cells)(lw_store_backend_t *b, const char *metric, int64_t from_ms,
                           int64_t to_ms, lw_store_cell_cb cb, void *ud, char *errstr,
                           size_t errstr_size);
    lw_err_t (*bucket_range)(lw_store_backend_t *b, int64_t *min_ms, int64_t *max_ms, char *errstr,
                             size_t errstr_size);

    lw_err_t (*set_position)(lw_store_backend_t *b, const char *source,
                             const lw_position_t *expected, const lw_position_t *pos, char *errstr,
                             size_t errstr_size);
    lw_err_t (*get_position)(lw_store_backend_t *b, const char *source, lw_position_t *pos,
                             char *errstr, size_t errstr_size);
    lw_err_t (*positions)(lw_store_backend_t *b, const char *prefix, lw_store_position_cb cb,
                          void *ud, char *errstr, size_t errstr_size);

    lw_err_t (*set_int)(lw_store_backend_t *b, const char *key, int64_t value, char *errstr,
                        size_t errstr_size);
    lw_err_t (*get_int)(lw_store_backend_t *b, const char *key, int64_t *value, char *errstr,
                        size_t errstr_size);
    lw_err_t (*add_counter)(lw_store_backend_t *b, const char *name, int64_t delta, char *errstr,
                            size_t errstr_size);
    lw_err_t (*counters)(lw_store_backend_t *b, lw_store_counter_cb cb, void *ud, char *errstr,
                         size_t errstr_size);
    lw_err_t (*set_blob)(lw_store_backend_t *b, const char *key, const void *data, size_t len,
                         char *errstr, size_t errstr_size);
    lw_err_t (*get_blob)(lw_store_backend_t *b, const char *key, lw_buf_t *out, char *errstr,
                         size_t errstr_size);

    lw_err_t (*add_verdict)(lw_store_backend_t *b, const lw_verdict_row_t *v, char *errstr,
                            size_t errstr_size);
    lw_err_t (*edge_led)(lw_store_backend_t *b, const char *edge, int64_t before_ms, bool *led,
                         char *errstr, size_t errstr_size);
    lw_err_t (*read_verdicts)(lw_store_backend_t *b, const char *edge, int64_t from_ms,
                              lw_store_verdict_cb cb, void *ud, char *errstr, size_t errstr_size);

    /* Experiments (store.h): assignments and additive cells. */
    lw_err_t (*put_exp_assign)(lw_store_backend_t *b, const lw_exp_assign_t *a, char *errstr,
                               size_t errstr_size);
    lw_err_t (*exp_assigns)(lw_store_backend_t *b, lw_store_exp_assign_cb cb, void *ud,
                            char *errstr, size_t errstr_size);
    lw_err_t (*add_exp_cell)(lw_store_backend_t *b, const lw_exp_cell_t *c, char *errstr,
                             size_t errstr_size);
    lw_err_t (*exp_cells)(lw_store_backend_t *b, lw_store_exp_cell_cb cb, void *ud, char *errstr,
                          size_t errstr_size);

    /* Verify the stored data's physical consistency (see lw_store_check). */
    lw_err_t (*check)(lw_store_backend_t *b, char *errstr, size_t errstr_size);

    /*
     * The fleet (store.h, "Fleet"): NULL in a backend that has one writer
     * (SQLite); then lw_store_shared() is false, raise_int is a read and a
     * write in the caller's transaction and the lease is always held.
     */
    lw_err_t (*claim)(lw_store_backend_t *b, const char *source, const char *owner, int64_t *epoch,
                      int64_t *max_time, char *errstr, size_t errstr_size);
    lw_err_t (*fence)(lw_store_backend_t *b, const char *source, int64_t epoch, int64_t max_time,
                      bool idle, char *errstr, size_t errstr_size);
    lw_err_t (*owner)(lw_store_backend_t *b, const char *source, int64_t *epoch, int64_t *max_time,
                      char *errstr, size_t errstr_size);
    lw_err_t (*global_watermark)(lw_store_backend_t *b, int64_t *wm, char *errstr,
                                 size_t errstr_size);
    lw_err_t (*raise_int)(lw_store_backend_t *b, const char *key, int64_t value, char *errstr,
                          size_t errstr_size);
    lw_err_t (*lease)(lw_store_backend_t *b, bool *held, char *errstr, size_t errstr_size);
} lw_store_ops_t;

/* The SQLite backend (store_sqlite.c). */
extern const lw_store_ops_t lw_store_sqlite_ops;
/* The PostgreSQL backend (store_pg.c); `target` is the whole postgresql:// URI. */
extern const lw_store_ops_t lw_store_pg_ops;

/*
 * Open a store on an explicit backend, bypassing the choice by target
 * (tests plug a fake backend in this way).  `ops` must outlive the handle.
 */
lw_err_t lw_store_open_ops(const lw_store_ops_t *ops, const char *target, int flags,
                           lw_store_t **out, char *errstr, size_t errstr_size);

/* The backend state behind a handle, for backend-specific helpers (store_testing.h). */
lw_store_backend_t *lw_store_backend(lw_store_t *s, const lw_store_ops_t *ops);

#endif
