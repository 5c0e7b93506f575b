/*
 * store_sqlite.c - the SQLite backend of the store (store_backend.h): the
 * durable state in one SQLite file.  The public contract is in store.h.
 *
 * Schema (current version LW_STORE_SCHEMA_VERSION = 5):
 *
 *   cells(metric TEXT, bucket INTEGER, count INTEGER, sum REAL, hll BLOB,
 *         PRIMARY KEY(metric, bucket)) WITHOUT ROWID
 *       one aggregate per metric and bucket start (ms since the epoch); hll
 *       is a serialised lw_hll_t or NULL.  WITHOUT ROWID clusters the rows by
 *       (metric, bucket), so reading a metric's series is one range scan.
 *   positions(source TEXT PRIMARY KEY, position INTEGER, fp_len INTEGER,
 *             fp_hash INTEGER)
 *       fp_hash holds the uint64 fingerprint's bit pattern as an int64
 *       (SQLite integers are signed 64-bit).
 *   ints(key TEXT PRIMARY KEY, value INTEGER)             -- since v2
 *   counters(name TEXT PRIMARY KEY, value INTEGER)        -- since v2
 *   index cells_by_bucket ON cells(bucket)                -- since v2, makes
 *       lw_store_bucket_range() two index lookups instead of a table scan.
 *   blobs(key TEXT PRIMARY KEY, value BLOB)               -- since v3, e.g.
 *       the alert table (alert.h, lw_alert_save) under "alert_state"
 *   verdicts(edge TEXT, as_of INTEGER, verdict TEXT, p, q, lag, coef, oos,
 *            PRIMARY KEY(edge, as_of)) WITHOUT ROWID      -- since v3, every
 *       edge's verdict at every evaluation of the daemon (as_of = start of
 *       the bucket whose close triggered it); "led before" is one lookup.
 *   cells.sum_comp REAL, cells.sum_micros INTEGER (NOT NULL DEFAULT 0)
 *                                                         -- since v4: a
 *       cell's sum is an lw_decsum_t (core/decsum.h): sum + sum_comp is
 *       its compensated double part, sum_micros the exact decimal
 *       fractions in 10^-6.  The upsert adds a delta as sum = sum + d.sum,
 *       sum_comp = sum_comp + d.sum_comp + lw_twosum_err(sum, d.sum) (the
 *       rounding error of that addition, a deterministic SQL function
 *       registered on the connection, like lw_hll_merge) and sum_micros =
 *       sum_micros + d.sum_micros, so cents add up exactly over any number
 *       of flushes, in the same transaction as before (exactly-once is
 *       unchanged).  Rows from before v4 read as 0 in both, which is what
 *       they were.
 *   exp_assign(experiment TEXT, user_hash INTEGER, variant TEXT,
 *              exposed INTEGER, seen_short INTEGER, seen_long INTEGER,
 *              PRIMARY KEY(experiment, user_hash)) WITHOUT ROWID
 *                                                         -- since v5 (issue 16):
 *       a user's first exposure to an experiment (user_hash: XXH3 of the user
 *       id as an int64 bit pattern; seen_*: bitsets of the metrics a user
 *       already counted for in each window, for distinct metrics).
 *   exp_cells(experiment TEXT, variant TEXT, metric TEXT, win INTEGER,
 *             num BLOB, den BLOB, PRIMARY KEY(experiment, variant, metric, win))
 *                                                         -- since v5: sums
 *       per hashed user bucket as vectors of little-endian doubles, added
 *       element-wise by the upsert's lw_vec_add (metric '' = exposed users).
 *       One row per vector rather than per bucket: a flush writes every
 *       touched cell, and with 64 buckets that is 64 times fewer upserts.
 *
 * PRAGMA application_id marks the file as a leadwatch store, so an
 * unrelated SQLite database is refused instead of being "migrated".
 *
 * Migrations.  PRAGMA user_version is the schema version (0 = empty file).
 * `migrations[]` lists the steps in order; step N turns a version N-1 file
 * into version N.  Each step runs in its own BEGIN IMMEDIATE transaction
 * that re-reads user_version first (another process may have migrated in
 * the meantime), runs the DDL and sets user_version = N, so a crash during a
 * migration leaves the file at the last completed version.  A file newer
 * than this code is refused; a read-only open never migrates and refuses an
 * older file.  Steps are never edited once released: a change is a new step.
 *
 * Durability.  journal_mode=WAL with synchronous=NORMAL: a commit appends
 * the transaction's pages and a commit frame to the -wal file with write(2)
 * but does not fsync; the WAL is fsynced before each checkpoint copies it
 * into the database.  A process crash (kill -9, abort, OOM kill) therefore
 * never loses a committed transaction: the written frames are in the OS page
 * cache and the next open replays them.  Uncommitted frames (a transaction
 * whose pages spilled to the WAL before the crash) have no commit frame and
 * are ignored.  A power loss or kernel crash may lose the last few commits
 * but never corrupts the file or splits a transaction, which the position
 * invariant in store.h tolerates: the store rolls back to an earlier
 * consistent point and the source is re-read from the position stored
 * there.  synchronous=FULL would add an fsync per flush for protection only
 * against power loss.  busy_timeout is 5 s, so a reader holding a lock only
 * delays, and only a lock held longer than that surfaces as SQLITE_BUSY.
 *
 * Transactions.  lw_store_begin() runs BEGIN IMMEDIATE (takes the write
 * lock up front, so a busy database fails at begin rather than half-way
 * through a flush).  Every write checks that a transaction is open
 * (LW_ERR_INVALID otherwise) and that SQLite has not rolled it back behind
 * our back: after SQLITE_FULL, SQLITE_IOERR or SQLITE_NOMEM SQLite may
 * abandon the whole transaction, and continuing would then run each later
 * statement in autocommit mode, committing aggregates without their
 * position.  Every SQLite failure returns LW_ERR_STORE with
 * sqlite3_errmsg() in errstr; none is retried or ignored here.
 *
 * Cells are merged in SQL: the upsert's DO UPDATE calls lw_hll_merge(old,
 * new), a deterministic function registered on the connection, which
 * validates both blobs and returns the serialised union
 * (lw_hll_union_serialized: two sparse blobs merge as sorted lists, others
 * through a dense scratch sketch); a corrupt stored sketch fails the
 * statement.  Measured (-O2, one transaction of 10k cells): about 3 us per
 * upsert for cells without a sketch or with a small sparse one (the direct
 * sparse merge cut this from 40 us), about 100 us for a dense 16 KiB sketch,
 * mostly SQLite writing its overflow pages.  All
 * statements are prepared once at open and reset after every use, so no
 * read transaction outlives a call (an open read would block WAL
 * checkpoints).
 */
#include "leadwatch/store/store_backend.h"
#include "leadwatch/store/store_common.h"
#include "leadwatch/store/store_testing.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "leadwatch/core/decsum.h"

#define LW_STORE_SCHEMA_VERSION 5
#define LW_STORE_APPLICATION_ID 1280794996 /* 0x4c576174, "LWat" */
#define LW_STORE_BUSY_TIMEOUT_MS 5000
#define LW_STORE_MAX_URI 4200 /* PATH_MAX escaped, plus the URI parts */

/* Ordered migration steps; migrations[i] produces version i + 1. */
static const char *const migrations[LW_STORE_SCHEMA_VERSION] = {
    /* v1: aggregates and source positions */
    "CREATE TABLE cells(metric TEXT NOT NULL, bucket INTEGER NOT NULL,"
    " count INTEGER NOT NULL DEFAULT 0, sum REAL NOT NULL DEFAULT 0, hll BLOB,"
    " PRIMARY KEY(metric, bucket)) WITHOUT ROWID;"
    "CREATE TABLE positions(source TEXT PRIMARY KEY, position INTEGER NOT NULL,"
    " fp_len INTEGER NOT NULL, fp_hash INTEGER NOT NULL);"
    "PRAGMA application_id = 1280794996;",
    /* v2: named integers (watermark), counters, bucket index */
    "CREATE TABLE ints(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX cells_by_bucket ON cells(bucket);",
    /* v3: blobs (alert state) and the verdict history of the daemon's evaluations */
    "CREATE TABLE blobs(key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE verdicts(edge TEXT NOT NULL, as_of INTEGER NOT NULL, verdict TEXT NOT NULL,"
    " p REAL, q REAL, lag INTEGER NOT NULL DEFAULT 0, coef REAL, oos REAL,"
    " PRIMARY KEY(edge, as_of)) WITHOUT ROWID;",
    /* v4: each cell's sum kept exact for decimals (core/decsum.h, issue 15) */
    "ALTER TABLE cells ADD COLUMN sum_comp REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE cells ADD COLUMN sum_micros INTEGER NOT NULL DEFAULT 0;",
    /* v5: experiments (issue 16): assignments and per-bucket sums */
    "CREATE TABLE exp_assign(experiment TEXT NOT NULL, user_hash INTEGER NOT NULL,"
    " variant TEXT NOT NULL, exposed INTEGER NOT NULL, seen_short INTEGER NOT NULL DEFAULT 0,"
    " seen_long INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(experiment, user_hash)) WITHOUT ROWID;"
    "CREATE TABLE exp_cells(experiment TEXT NOT NULL, variant TEXT NOT NULL, metric TEXT NOT NULL,"
    " win INTEGER NOT NULL, num BLOB NOT NULL, den BLOB NOT NULL,"
    " PRIMARY KEY(experiment, variant, metric, win)) WITHOUT ROWID;",
};

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_ADD_CELL,
    ST_SET_POSITION,
    ST_GET_POSITION,
    ST_POSITIONS,
    ST_SET_INT,
    ST_GET_INT,
    ST_ADD_COUNTER,
    ST_COUNTERS,
    ST_READ_CELLS,
    ST_BUCKET_RANGE,
    ST_SET_BLOB,
    ST_GET_BLOB,
    ST_ADD_VERDICT,
    ST_EDGE_LED,
    ST_READ_VERDICTS,
    ST_PUT_EXP_ASSIGN,
    ST_EXP_ASSIGNS,
    ST_ADD_EXP_CELL,
    ST_EXP_CELLS,
    ST_COUNT
};

/* One SQL text a statement: rows of one shape are the table, not copies. */
static const char *const statement_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_ADD_CELL] = "INSERT INTO cells(metric, bucket, count, sum, sum_comp, sum_micros, hll)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                    " ON CONFLICT(metric, bucket) DO UPDATE SET count = count + excluded.count,"
                    " sum = sum + excluded.sum,"
                    " sum_comp = sum_comp + excluded.sum_comp + lw_twosum_err(sum, excluded.sum),"
                    " sum_micros = sum_micros + excluded.sum_micros,"
                    " hll = lw_hll_merge(hll, excluded.hll)",
    [ST_SET_POSITION] = "INSERT INTO positions(source, position, fp_len, fp_hash)"
                        " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(source) DO UPDATE SET"
                        " position = excluded.position, fp_len = excluded.fp_len,"
                        " fp_hash = excluded.fp_hash",
    [ST_GET_POSITION] = "SELECT position, fp_len, fp_hash FROM positions WHERE source = ?1",
    [ST_POSITIONS] = "SELECT source, position, fp_len, fp_hash FROM positions"
                     " WHERE substr(source, 1, length(?1)) = ?1 ORDER BY source",
    [ST_SET_INT] = "INSERT INTO ints(key, value) VALUES(?1, ?2)"
                   " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [ST_GET_INT] = "SELECT value FROM ints WHERE key = ?1",
    [ST_ADD_COUNTER] = "INSERT INTO counters(name, value) VALUES(?1, ?2)"
                       " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
    [ST_COUNTERS] = "SELECT name, value FROM counters ORDER BY name",
    [ST_READ_CELLS] = "SELECT bucket, count, sum, hll, sum_comp, sum_micros FROM cells"
                      " WHERE metric = ?1 AND bucket >= ?2 AND bucket < ?3 ORDER BY bucket",
    /* one subquery each: SQLite reads a min() or max() alone off the index's end, but
     * "SELECT min(bucket), max(bucket)" scans all of it (8,760 hourly buckets x the metrics:
     * most of an hourly close's cost, issue 17) */
    [ST_BUCKET_RANGE] = "SELECT (SELECT min(bucket) FROM cells), (SELECT max(bucket) FROM cells)",
    [ST_SET_BLOB] = "INSERT INTO blobs(key, value) VALUES(?1, ?2)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [ST_GET_BLOB] = "SELECT value FROM blobs WHERE key = ?1",
    [ST_ADD_VERDICT] = "INSERT INTO verdicts(edge, as_of, verdict, p, q, lag, coef, oos)"
                       " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(edge, as_of) DO UPDATE"
                       " SET verdict = excluded.verdict, p = excluded.p, q = excluded.q,"
                       " lag = excluded.lag, coef = excluded.coef, oos = excluded.oos",
    [ST_EDGE_LED] = "SELECT 1 FROM verdicts WHERE edge = ?1 AND as_of < ?2 AND verdict = 'leads'"
                    " LIMIT 1",
    [ST_READ_VERDICTS] = "SELECT edge, as_of, verdict, p, q, lag, coef, oos FROM verdicts"
                         " WHERE (?1 IS NULL OR edge = ?1) AND as_of >= ?2 ORDER BY as_of, edge",
    [ST_PUT_EXP_ASSIGN] = "INSERT INTO exp_assign(experiment, user_hash, variant, exposed,"
                          " seen_short, seen_long) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
                          " ON CONFLICT(experiment, user_hash) DO UPDATE SET"
                          " seen_short = excluded.seen_short, seen_long = excluded.seen_long",
    [ST_EXP_ASSIGNS] = "SELECT experiment, user_hash, variant, exposed, seen_short, seen_long"
                       " FROM exp_assign",
    [ST_ADD_EXP_CELL] = "INSERT INTO exp_cells(experiment, variant, metric, win, num, den)"
                        " VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
                        " ON CONFLICT(experiment, variant, metric, win) DO UPDATE SET"
                        " num = lw_vec_add(num, excluded.num), den = lw_vec_add(den, excluded.den)",
    [ST_EXP_CELLS] = "SELECT experiment, variant, metric, win, num, den FROM exp_cells"
                     " ORDER BY experiment, variant, metric, win",
};

struct lw_store_backend {
    sqlite3 *db;
    bool readonly;
    bool in_txn; /* lw_store_begin succeeded and no commit/rollback since */
    int schema_version;
    sqlite3_stmt *st[ST_COUNT];
    lw_hll_t *fn_hll; /* scratch for the lw_hll_merge SQL function */
    uint8_t fn_buf[LW_HLL_MAX_SERIALIZED];
    uint8_t cell_buf[LW_HLL_MAX_SERIALIZED];         /* add_cell's serialised argument */
    uint8_t vec_buf[2][LW_EXP_CELL_MAX_BUCKETS * 8]; /* add_exp_cell's bound vectors */
    uint8_t vec_fn[LW_EXP_CELL_MAX_BUCKETS * 8];     /* lw_vec_add's result */
    double vec_num[LW_EXP_CELL_MAX_BUCKETS], vec_den[LW_EXP_CELL_MAX_BUCKETS]; /* exp_cells */
};

/* Report the connection's current error; always LW_ERR_STORE. */
static lw_err_t store_fail(sqlite3 *db, const char *what, char *errstr, size_t errstr_size)
{
    return lw_seterr(errstr, errstr_size, LW_ERR_STORE, "store: %s: %s (sqlite code %d)", what,
                     sqlite3_errmsg(db), sqlite3_extended_errcode(db));
}

/*
 * Step a statement that returns at most one row: LW_OK with the row ready to
 * read, LW_ERR_NOT_FOUND without one, else the failure.  The caller reads
 * the columns, then calls finish().
 */
static lw_err_t step_one(lw_store_backend_t *s, sqlite3_stmt *st, const char *what, char *errstr,
                         size_t errstr_size)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        return LW_OK;
    }
    if (rc == SQLITE_DONE) {
        return LW_ERR_NOT_FOUND;
    }
    return store_fail(s->db, what, errstr, errstr_size);
}

static void finish(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/*
 * The end of a row loop: LW_OK when it stopped at SQLITE_DONE (or a
 * callback's stop, which sets rc to it), else the error of "what"; the
 * statement is reset either way.
 */
static lw_err_t rows_end(lw_store_backend_t *s, sqlite3_stmt *st, int rc, const char *what,
                         char *errstr, size_t errstr_size)
{
    lw_err_t err = rc == SQLITE_DONE ? LW_OK : store_fail(s->db, what, errstr, errstr_size);
    finish(st);
    return err;
}

/* Step a statement that returns no rows we need, then reset it. */
static lw_err_t run(lw_store_backend_t *s, int which, const char *what, char *errstr,
                    size_t errstr_size)
{
    sqlite3_stmt *st = s->st[which];
    lw_err_t err = step_one(s, st, what, errstr, errstr_size);
    finish(st);
    return err == LW_ERR_NOT_FOUND ? LW_OK : err;
}

/* A write may proceed only inside a live transaction. */
static lw_err_t check_writable(lw_store_backend_t *s, const char *what, char *errstr,
                               size_t errstr_size)
{
    lw_err_t err = lw_store_check_in_txn(s->in_txn, what, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    if (sqlite3_get_autocommit(s->db)) {
        return lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                         "store: %s: the transaction was rolled back by SQLite after an earlier "
                         "error; roll back and start again",
                         what);
    }
    return LW_OK;
}

/* Refuse to restart a statement that is mid-iteration (a callback re-entering). */
static lw_err_t check_idle(lw_store_backend_t *s, int which, const char *what, char *errstr,
                           size_t errstr_size)
{
    return sqlite3_stmt_busy(s->st[which]) ? lw_store_reentered(what, errstr, errstr_size) : LW_OK;
}

/* Run one SQL text that returns at most one integer (a PRAGMA read). */
static lw_err_t query_int(sqlite3 *db, const char *sql, int64_t *out, char *errstr,
                          size_t errstr_size)
{
    sqlite3_stmt *st = NULL;
    lw_err_t err = LW_OK;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        return store_fail(db, sql, errstr, errstr_size);
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
    } else if (rc == SQLITE_DONE) {
        *out = 0;
    } else {
        err = store_fail(db, sql, errstr, errstr_size);
    }
    sqlite3_finalize(st);
    return err;
}

static lw_err_t exec(sqlite3 *db, const char *sql, const char *what, char *errstr,
                     size_t errstr_size)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        return store_fail(db, what, errstr, errstr_size);
    }
    return LW_OK;
}

/*
 * Bring the file to version `target` with migrations[target - 1], in one
 * transaction.  user_version is re-read under the write lock: another
 * process may have applied the step since we looked.
 */
static lw_err_t migrate_step(sqlite3 *db, int target, char *errstr, size_t errstr_size)
{
    int64_t version = 0;
    char what[64], set_version[48];
    snprintf(what, sizeof what, "migrating to schema version %d", target);
    snprintf(set_version, sizeof set_version, "PRAGMA user_version = %d", target);
    lw_err_t err = exec(db, "BEGIN IMMEDIATE", what, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    err = query_int(db, "PRAGMA user_version", &version, errstr, errstr_size);
    if (err != LW_OK) {
        goto rollback;
    }
    if (version < target) {
        err = exec(db, migrations[target - 1], what, errstr, errstr_size);
        if (err != LW_OK) {
            goto rollback;
        }
        err = exec(db, set_version, what, errstr, errstr_size);
        if (err != LW_OK) {
            goto rollback;
        }
    }
    err = exec(db, "COMMIT", what, errstr, errstr_size);
    if (err != LW_OK) {
        goto rollback;
    }
    return LW_OK;

rollback:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}

/* Apply, in order, every migration step a version `from` file lacks. */
static lw_err_t migrate(sqlite3 *db, int from, char *errstr, size_t errstr_size)
{
    for (int target = from + 1; target <= LW_STORE_SCHEMA_VERSION; target++) {
        lw_err_t err = migrate_step(db, target, errstr, errstr_size);
        if (err != LW_OK) {
            return err;
        }
    }
    return LW_OK;
}

/*
 * lw_hll_merge(a, b): the serialised union of two serialised sketches, an
 * SQL error when either is corrupt or not a blob.  When one side is NULL the
 * other is returned as it is, without decoding (the common "add a cell with
 * no sketch" case stays cheap).  Uses the store's scratch sketch (one thread
 * per handle).
 */
static void sql_hll_merge(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    lw_store_backend_t *s = sqlite3_user_data(ctx);
    int types[2] = {sqlite3_value_type(argv[0]), sqlite3_value_type(argv[1])};
    assert(argc == 2);
    (void)argc;
    for (int i = 0; i < 2; i++) {
        if (types[i] != SQLITE_NULL && types[i] != SQLITE_BLOB) {
            sqlite3_result_error(ctx, "lw_hll_merge: argument is not a blob", -1);
            return;
        }
    }
    if (types[0] == SQLITE_NULL || types[1] == SQLITE_NULL) {
        sqlite3_result_value(ctx, argv[types[0] == SQLITE_NULL ? 1 : 0]);
        return;
    }
    /* blob before bytes, as sqlite3_value_bytes() documents */
    const uint8_t *a = sqlite3_value_blob(argv[0]);
    size_t alen = (size_t)sqlite3_value_bytes(argv[0]);
    const uint8_t *b = sqlite3_value_blob(argv[1]);
    size_t blen = (size_t)sqlite3_value_bytes(argv[1]);
    char err[160];
    size_t n = 0;
    if (lw_hll_union_serialized(a, alen, b, blen, s->fn_hll, s->fn_buf, &n, err, sizeof err) !=
        LW_OK) {
        char msg[200];
        snprintf(msg, sizeof msg, "lw_hll_merge: corrupt sketch: %s", err);
        sqlite3_result_error(ctx, msg, -1);
        return;
    }
    sqlite3_result_blob(ctx, s->fn_buf, (int)n, SQLITE_TRANSIENT);
}

/* lw_twosum_err(a, b): the rounding error of a + b (core/ksum.h), for the cells upsert. */
/* Doubles as 8 little-endian bytes each (exp_cells' vectors), whatever the host. */
static void vec_put(uint8_t *out, const double *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        uint64_t u;
        memcpy(&u, &v[i], 8);
        for (int k = 0; k < 8; k++)
            out[i * 8 + (uint32_t)k] = (uint8_t)(u >> (8 * k));
    }
}

static double vec_at(const uint8_t *in, size_t i)
{
    uint64_t u = 0;
    for (int k = 7; k >= 0; k--)
        u = (u << 8) | in[i * 8 + (size_t)k];
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/*
 * lw_vec_add(a, b): the element-wise sum of two vectors of little-endian
 * doubles (exp_cells); the shorter counts as zeros past its end.
 */
static void sql_vec_add(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    lw_store_backend_t *s = sqlite3_user_data(ctx);
    assert(argc == 2);
    (void)argc;
    const uint8_t *v[2];
    size_t n[2];
    for (int i = 0; i < 2; i++) {
        if (sqlite3_value_type(argv[i]) != SQLITE_BLOB) {
            sqlite3_result_error(ctx, "lw_vec_add: argument is not a blob", -1);
            return;
        }
        v[i] = sqlite3_value_blob(argv[i]);
        n[i] = (size_t)sqlite3_value_bytes(argv[i]);
        if (n[i] % 8 != 0 || n[i] > sizeof s->vec_fn) {
            sqlite3_result_error(ctx, "lw_vec_add: not a vector of at most 1024 doubles", -1);
            return;
        }
    }
    size_t len = n[0] > n[1] ? n[0] : n[1];
    for (size_t i = 0; i < len / 8; i++) {
        double x = (i * 8 < n[0] ? vec_at(v[0], i) : 0) + (i * 8 < n[1] ? vec_at(v[1], i) : 0);
        vec_put(s->vec_fn + i * 8, &x, 1);
    }
    sqlite3_result_blob(ctx, s->vec_fn, (int)len, SQLITE_TRANSIENT);
}

static void sql_twosum_err(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    assert(argc == 2);
    (void)argc;
    sqlite3_result_double(
        ctx, lw_twosum_err(sqlite3_value_double(argv[0]), sqlite3_value_double(argv[1])));
}

/*
 * Read the identity of the file and refuse what this code cannot use:
 * not SQLite, another application's database, a newer schema, or (read-only)
 * an older schema.
 */
static lw_err_t check_file(lw_store_backend_t *s, const char *path, char *errstr,
                           size_t errstr_size)
{
    int64_t app_id = 0, version = 0, objects = 0;
    /* The three reads share one read transaction: read one by one, a second process creating
     * the same new store could commit its migrations between them, and the file looked like
     * another application's (objects 0, application_id 0, user_version 3: it_ingest_reliability
     * saw it about once in 50 concurrent starts).  A fresh file read here is migrated under
     * BEGIN IMMEDIATE, each step re-reading user_version, so the slower process skips them. */
    lw_err_t err = exec(s->db, "BEGIN", "reading the store's identity", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    /* reading the schema is what detects a file that is not SQLite at all */
    if (query_int(s->db, "SELECT count(*) FROM sqlite_schema", &objects, NULL, 0) != LW_OK) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                        "store %s: cannot be read as an SQLite database: %s", path,
                        sqlite3_errmsg(s->db));
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return err;
    }
    err = query_int(s->db, "PRAGMA application_id", &app_id, errstr, errstr_size);
    if (err == LW_OK) {
        err = query_int(s->db, "PRAGMA user_version", &version, errstr, errstr_size);
    }
    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL); /* a read: nothing to lose */
    if (err != LW_OK) {
        return err;
    }
    bool fresh = app_id == 0 && version == 0 && objects == 0;
    if (!fresh && app_id != LW_STORE_APPLICATION_ID) {
        return lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                         "store %s: an SQLite database but not a leadwatch store "
                         "(application_id %lld, user_version %lld, %lld schema objects)",
                         path, (long long)app_id, (long long)version, (long long)objects);
    }
    err = lw_store_check_version(path, version, LW_STORE_SCHEMA_VERSION, s->readonly, errstr,
                                 errstr_size);
    if (err == LW_OK) {
        s->schema_version = (int)version;
    }
    return err;
}

/* WAL + synchronous=NORMAL; see the header comment for the durability argument. */
static lw_err_t set_journal(lw_store_backend_t *s, const char *path, char *errstr,
                            size_t errstr_size)
{
    sqlite3_stmt *st = NULL;
    lw_err_t err = LW_OK;
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK) {
        return store_fail(s->db, "enabling WAL", errstr, errstr_size);
    }
    /* Two processes opening a new store at once both ask for WAL; SQLite may
     * answer SQLITE_BUSY at once (deadlock avoidance: the busy handler is not
     * called for this lock upgrade), so retry for as long as busy_timeout. */
    int rc, waited_ms = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_BUSY && waited_ms < LW_STORE_BUSY_TIMEOUT_MS) {
        sqlite3_reset(st);
        const struct timespec pause = {0, 10 * 1000000L};
        nanosleep(&pause, NULL);
        waited_ms += 10;
    }
    if (rc != SQLITE_ROW) {
        err = store_fail(s->db, "enabling WAL", errstr, errstr_size);
        goto finalize;
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    /* an in-memory database (tests) reports "memory" and has nothing to make durable */
    if (mode == NULL || (strcmp(mode, "wal") != 0 && strcmp(path, ":memory:") != 0)) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                        "store %s: could not enable WAL mode (journal_mode is %s)", path,
                        mode ? mode : "unknown");
        goto finalize;
    }
    err = exec(s->db, "PRAGMA synchronous = NORMAL", "setting synchronous", errstr, errstr_size);
finalize:
    sqlite3_finalize(st);
    return err;
}

/*
 * A file whose mode has no write bit and that has no -wal file cannot be
 * changed by a running writer (a writer opens it read-write, so its mode
 * would need a w bit), so reading it as immutable is exact.  Opened the
 * usual way, a WAL reader creates a -shm file with the database's mode and
 * leaves it behind: 0444, which a later writer (after chmod u+w) cannot
 * open.  Immutable opens take no locks and create no -shm.
 */
static bool nobody_writes(const char *path)
{
    struct stat st;
    char wal[LW_STORE_MAX_URI];
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 0222) != 0) {
        return false;
    }
    if ((size_t)snprintf(wal, sizeof wal, "%s-wal", path) >= sizeof wal) {
        return false;
    }
    return stat(wal, &st) != 0 || st.st_size == 0;
}

/* "file:<path with %, ? and # escaped>?immutable=1"; false when it does not fit. */
static bool immutable_uri(const char *path, char *uri, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    const char *prefix = "file:";
    const char *suffix = "?immutable=1";
    for (const char *c = prefix; *c; c++) {
        uri[n++] = *c;
    }
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if (n + 4 + strlen(suffix) >= size) {
            return false;
        }
        if (*c == '%' || *c == '?' || *c == '#') {
            uri[n++] = '%';
            uri[n++] = hex[*c >> 4];
            uri[n++] = hex[*c & 15];
        } else {
            uri[n++] = (char)*c;
        }
    }
    snprintf(uri + n, size - n, "%s", suffix);
    return true;
}

static lw_err_t sqlite_open(const char *path, int flags, lw_store_backend_t **out, char *errstr,
                            size_t errstr_size)
{
    lw_err_t err;
    *out = NULL;
    lw_store_backend_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "store: out of memory");
    }
    s->readonly = (flags & LW_STORE_READONLY) != 0;
    s->fn_hll = lw_hll_new();
    if (s->fn_hll == NULL) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "store: out of memory");
        goto free_store;
    }
    int oflags = s->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    char uri[LW_STORE_MAX_URI];
    const char *name = path;
    if (s->readonly && nobody_writes(path) && immutable_uri(path, uri, sizeof uri)) {
        name = uri;
        oflags |= SQLITE_OPEN_URI;
    }
    if (sqlite3_open_v2(name, &s->db, oflags, NULL) != SQLITE_OK) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STORE, "store %s: cannot open: %s", path,
                        s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto close_db;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, LW_STORE_BUSY_TIMEOUT_MS);

    err = check_file(s, path, errstr, errstr_size);
    if (err != LW_OK) {
        goto close_db;
    }
    if (!s->readonly) {
        err = set_journal(s, path, errstr, errstr_size);
        if (err != LW_OK) {
            goto close_db;
        }
        err = migrate(s->db, s->schema_version, errstr, errstr_size);
        if (err != LW_OK) {
            goto close_db;
        }
        s->schema_version = LW_STORE_SCHEMA_VERSION;
    }
    if (sqlite3_create_function_v2(s->db, "lw_hll_merge", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, s,
                                   sql_hll_merge, NULL, NULL, NULL) != SQLITE_OK) {
        err = store_fail(s->db, "registering lw_hll_merge", errstr, errstr_size);
        goto close_db;
    }
    if (sqlite3_create_function_v2(s->db, "lw_vec_add", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, s,
                                   sql_vec_add, NULL, NULL, NULL) != SQLITE_OK) {
        err = store_fail(s->db, "registering lw_vec_add", errstr, errstr_size);
        goto close_db;
    }
    if (sqlite3_create_function_v2(s->db, "lw_twosum_err", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                   NULL, sql_twosum_err, NULL, NULL, NULL) != SQLITE_OK) {
        err = store_fail(s->db, "registering lw_twosum_err", errstr, errstr_size);
        goto close_db;
    }
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                               NULL) != SQLITE_OK) {
            err = store_fail(s->db, "preparing statements", errstr, errstr_size);
            goto close_db;
        }
    }
    *out = s;
    return LW_OK;

close_db:
    for (int i = 0; i < ST_COUNT; i++) {
        sqlite3_finalize(s->st[i]);
    }
    sqlite3_close_v2(s->db);
free_store:
    lw_hll_destroy(s->fn_hll);
    free(s);
    return err;
}

static void sqlite_rollback(lw_store_backend_t *s)
{
    if (!sqlite3_get_autocommit(s->db)) {
        /* ROLLBACK fails only with statements pending, and every statement is reset after use */
        (void)run(s, ST_ROLLBACK, "rollback", NULL, 0);
    }
    s->in_txn = false;
}

static void sqlite_close(lw_store_backend_t *s)
{
    if (s == NULL) {
        return;
    }
    sqlite_rollback(s);
    for (int i = 0; i < ST_COUNT; i++) {
        sqlite3_finalize(s->st[i]);
    }
    sqlite3_close_v2(s->db);
    lw_hll_destroy(s->fn_hll);
    free(s);
}

static int sqlite_schema_version(lw_store_backend_t *s)
{
    return s->schema_version;
}

static bool sqlite_in_transaction(const lw_store_backend_t *s)
{
    return s->in_txn;
}

static lw_err_t sqlite_begin(lw_store_backend_t *s, char *errstr, size_t errstr_size)
{
    lw_err_t err = lw_store_check_no_txn(s->in_txn, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    err = run(s, ST_BEGIN, "begin", errstr, errstr_size);
    if (err == LW_OK) {
        s->in_txn = true;
    }
    return err;
}

static lw_err_t sqlite_commit(lw_store_backend_t *s, char *errstr, size_t errstr_size)
{
    lw_err_t err = check_writable(s, "commit", errstr, errstr_size);
    if (err == LW_ERR_STORE) {
        s->in_txn = false; /* SQLite already rolled it back */
    }
    if (err != LW_OK) {
        return err;
    }
    err = run(s, ST_COMMIT, "commit", errstr, errstr_size);
    /* a failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY); rollback ends it */
    if (err == LW_OK || sqlite3_get_autocommit(s->db)) {
        s->in_txn = false;
    }
    return err;
}

static lw_err_t sqlite_add_cell(lw_store_backend_t *s, const char *metric, int64_t bucket_ms,
                                int64_t count, const lw_decsum_t *sum, const lw_hll_t *hll,
                                char *errstr, size_t errstr_size)
{
    lw_err_t err = check_writable(s, "add cell", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    lw_decsum_t f; /* the three numbers a cell keeps; SQLite stores NaN as NULL */
    err = lw_store_fold_sum(metric, bucket_ms, sum, &f, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    sqlite3_stmt *st = s->st[ST_ADD_CELL];
    sqlite3_bind_text(st, 1, metric, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, bucket_ms);
    sqlite3_bind_int64(st, 3, count);
    sqlite3_bind_double(st, 4, f.k.hi);
    sqlite3_bind_double(st, 5, f.k.lo);
    sqlite3_bind_int64(st, 6, f.micros);
    if (hll != NULL) {
        size_t n = lw_hll_serialize(hll, s->cell_buf, sizeof s->cell_buf);
        sqlite3_bind_blob(st, 7, s->cell_buf, (int)n, SQLITE_STATIC);
    }
    return run(s, ST_ADD_CELL, "add cell", errstr, errstr_size);
}

static lw_err_t sqlite_get_position(lw_store_backend_t *s, const char *source, lw_position_t *pos,
                                    char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = s->st[ST_GET_POSITION];
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    lw_err_t err = step_one(s, st, "get position", errstr, errstr_size);
    if (err == LW_OK) {
        pos->position = sqlite3_column_int64(st, 0);
        pos->fp_len = sqlite3_column_int64(st, 1);
        pos->fp_hash = (uint64_t)sqlite3_column_int64(st, 2);
    }
    finish(st);
    return err;
}

/*
 * The compare of the compare-and-set: BEGIN IMMEDIATE holds the write lock,
 * so nothing can change the row between this read and the upsert.
 */
static lw_err_t check_expected(lw_store_backend_t *s, const char *source,
                               const lw_position_t *expected, char *errstr, size_t errstr_size)
{
    lw_position_t now;
    lw_err_t err = sqlite_get_position(s, source, &now, errstr, errstr_size);
    if (err != LW_OK && err != LW_ERR_NOT_FOUND) {
        return err;
    }
    bool absent = err == LW_ERR_NOT_FOUND;
    bool want_absent = expected->position == LW_POSITION_ABSENT;
    if (absent && want_absent) {
        return LW_OK;
    }
    if (!absent && !want_absent && now.position == expected->position &&
        now.fp_len == expected->fp_len && now.fp_hash == expected->fp_hash) {
        return LW_OK;
    }
    return lw_store_position_conflict(source, absent ? NULL : &now, expected, errstr, errstr_size);
}

static lw_err_t sqlite_set_position(lw_store_backend_t *s, const char *source,
                                    const lw_position_t *expected, const lw_position_t *pos,
                                    char *errstr, size_t errstr_size)
{
    lw_err_t err = check_writable(s, "set position", errstr, errstr_size);
    if (err == LW_OK && expected != NULL) {
        err = check_expected(s, source, expected, errstr, errstr_size);
    }
    if (err != LW_OK) {
        return err;
    }
    sqlite3_stmt *st = s->st[ST_SET_POSITION];
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, pos->position);
    sqlite3_bind_int64(st, 3, pos->fp_len);
    sqlite3_bind_int64(st, 4, lw_store_u64_bits(pos->fp_hash));
    return run(s, ST_SET_POSITION, "set position", errstr, errstr_size);
}

static lw_err_t sqlite_positions(lw_store_backend_t *s, const char *prefix, lw_store_position_cb cb,
                                 void *ud, char *errstr, size_t errstr_size)
{
    lw_err_t err = check_idle(s, ST_POSITIONS, "positions", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    sqlite3_stmt *st = s->st[ST_POSITIONS];
    sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        lw_position_t pos = {
            .position = sqlite3_column_int64(st, 1),
            .fp_len = sqlite3_column_int64(st, 2),
            .fp_hash = (uint64_t)sqlite3_column_int64(st, 3),
        };
        if (cb(ud, (const char *)sqlite3_column_text(st, 0), &pos) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    return rows_end(s, st, rc, "read positions", errstr, errstr_size);
}

/* Statement id with its first parameter bound to key (static: the caller's
 * key outlives the statement's step and reset). */
static sqlite3_stmt *keyed(lw_store_backend_t *s, int id, const char *key)
{
    sqlite3_stmt *st = s->st[id];
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    return st;
}

/* A keyed write of one integer (set int, add counter): text key ?1, value ?2. */
static lw_err_t keyed_int_write(lw_store_backend_t *s, int which, const char *key, int64_t value,
                                const char *what, char *errstr, size_t errstr_size)
{
    lw_err_t err = check_writable(s, what, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    sqlite3_bind_int64(keyed(s, which, key), 2, value);
    return run(s, which, what, errstr, errstr_size);
}

static lw_err_t sqlite_set_int(lw_store_backend_t *s, const char *key, int64_t value, char *errstr,
                               size_t errstr_size)
{
    return keyed_int_write(s, ST_SET_INT, key, value, "set int", errstr, errstr_size);
}

static lw_err_t sqlite_get_int(lw_store_backend_t *s, const char *key, int64_t *value, char *errstr,
                               size_t errstr_size)
{
    sqlite3_stmt *st = keyed(s, ST_GET_INT, key);
    lw_err_t err = step_one(s, st, "get int", errstr, errstr_size);
    if (err == LW_OK) {
        *value = sqlite3_column_int64(st, 0);
    }
    finish(st);
    return err;
}

static lw_err_t sqlite_add_counter(lw_store_backend_t *s, const char *name, int64_t delta,
                                   char *errstr, size_t errstr_size)
{
    return keyed_int_write(s, ST_ADD_COUNTER, name, delta, "add counter", errstr, errstr_size);
}

static lw_err_t sqlite_counters(lw_store_backend_t *s, lw_store_counter_cb cb, void *ud,
                                char *errstr, size_t errstr_size)
{
    lw_err_t err = check_idle(s, ST_COUNTERS, "counters", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    sqlite3_stmt *st = s->st[ST_COUNTERS];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cb(ud, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
    }
    return rows_end(s, st, rc, "read counters", errstr, errstr_size);
}

static lw_err_t sqlite_read_cells(lw_store_backend_t *s, const char *metric, int64_t from_ms,
                                  int64_t to_ms, lw_store_cell_cb cb, void *ud, char *errstr,
                                  size_t errstr_size)
{
    lw_err_t err = check_idle(s, ST_READ_CELLS, "read cells", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    sqlite3_stmt *st = s->st[ST_READ_CELLS];
    sqlite3_bind_text(st, 1, metric, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from_ms);
    sqlite3_bind_int64(st, 3, to_ms);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        lw_cell_t cell = {
            .bucket_ms = sqlite3_column_int64(st, 0),
            .count = sqlite3_column_int64(st, 1),
        };
        const lw_decsum_t sum = {{sqlite3_column_double(st, 2), sqlite3_column_double(st, 4)},
                                 0,
                                 sqlite3_column_int64(st, 5)};
        cell.sum = lw_decsum_value(&sum);
        if (sqlite3_column_type(st, 3) == SQLITE_BLOB) {
            cell.hll = sqlite3_column_blob(st, 3);
            cell.hll_len = (size_t)sqlite3_column_bytes(st, 3);
        }
        if (cb(ud, &cell) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    return rows_end(s, st, rc, "read cells", errstr, errstr_size);
}

static lw_err_t sqlite_bucket_range(lw_store_backend_t *s, int64_t *min_ms, int64_t *max_ms,
                                    char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = s->st[ST_BUCKET_RANGE];
    lw_err_t err = step_one(s, st, "bucket range", errstr, errstr_size);
    if (err == LW_OK && sqlite3_column_type(st, 0) == SQLITE_NULL) {
        err = LW_ERR_NOT_FOUND; /* min/max over no rows */
    } else if (err == LW_OK) {
        *min_ms = sqlite3_column_int64(st, 0);
        *max_ms = sqlite3_column_int64(st, 1);
    }
    finish(st);
    return err;
}

/* NAN (not available) is stored as NULL and read back as NAN. */
static void bind_real(sqlite3_stmt *st, int i, double v)
{
    if (isnan(v)) {
        sqlite3_bind_null(st, i);
    } else {
        sqlite3_bind_double(st, i, v);
    }
}

static double column_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? (double)NAN : sqlite3_column_double(st, i);
}

static lw_err_t sqlite_set_blob(lw_store_backend_t *s, const char *key, const void *data,
                                size_t len, char *errstr, size_t errstr_size)
{
    lw_err_t err = check_writable(s, "set blob", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    if (len > (size_t)INT32_MAX) {
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "store: blob %s too large", key);
    }
    sqlite3_stmt *st = keyed(s, ST_SET_BLOB, key);
    sqlite3_bind_blob(st, 2, len ? data : "", (int)len, SQLITE_STATIC);
    return run(s, ST_SET_BLOB, "set blob", errstr, errstr_size);
}

/* Parallel to set/get int on purpose: one statement a type, bind and column calls differ. */
static lw_err_t sqlite_get_blob(lw_store_backend_t *s, const char *key, lw_buf_t *out, char *errstr,
                                size_t errstr_size)
{
    sqlite3_stmt *st = keyed(s, ST_GET_BLOB, key);
    lw_err_t err = step_one(s, st, "get blob", errstr, errstr_size);
    if (err == LW_OK) {
        const void *v = sqlite3_column_blob(st, 0);
        int n = sqlite3_column_bytes(st, 0);
        if (n > 0 && lw_buf_append(out, v, (size_t)n) != LW_OK) {
            err = lw_seterr(errstr, errstr_size, out->err, "store: blob %s: does not fit", key);
        }
    }
    finish(st);
    return err;
}

static lw_err_t sqlite_add_verdict(lw_store_backend_t *s, const lw_verdict_row_t *v, char *errstr,
                                   size_t errstr_size)
{
    lw_err_t err = check_writable(s, "add verdict", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    sqlite3_stmt *st = s->st[ST_ADD_VERDICT];
    sqlite3_bind_text(st, 1, v->edge, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, v->as_of_ms);
    sqlite3_bind_text(st, 3, v->verdict, -1, SQLITE_STATIC);
    bind_real(st, 4, v->p);
    bind_real(st, 5, v->q);
    sqlite3_bind_int64(st, 6, v->lag);
    bind_real(st, 7, v->coef);
    bind_real(st, 8, v->oos);
    return run(s, ST_ADD_VERDICT, "add verdict", errstr, errstr_size);
}

static lw_err_t sqlite_edge_led(lw_store_backend_t *s, const char *edge, int64_t before_ms,
                                bool *led, char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = s->st[ST_EDGE_LED];
    sqlite3_bind_text(st, 1, edge, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, before_ms);
    lw_err_t err = step_one(s, st, "edge led", errstr, errstr_size);
    *led = err == LW_OK;
    if (err == LW_ERR_NOT_FOUND) {
        err = LW_OK;
    }
    finish(st);
    return err;
}

static lw_err_t sqlite_read_verdicts(lw_store_backend_t *s, const char *edge, int64_t from_ms,
                                     lw_store_verdict_cb cb, void *ud, char *errstr,
                                     size_t errstr_size)
{
    sqlite3_stmt *st = s->st[ST_READ_VERDICTS];
    if (edge) {
        sqlite3_bind_text(st, 1, edge, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 2, from_ms);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        lw_verdict_row_t v = {
            .edge = (const char *)sqlite3_column_text(st, 0),
            .as_of_ms = sqlite3_column_int64(st, 1),
            .verdict = (const char *)sqlite3_column_text(st, 2),
            .p = column_real(st, 3),
            .q = column_real(st, 4),
            .lag = sqlite3_column_int(st, 5),
            .coef = column_real(st, 6),
            .oos = column_real(st, 7),
        };
        if (cb(ud, &v)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    return rows_end(s, st, rc, "read verdicts", errstr, errstr_size);
}

/*
 * PRAGMA quick_check: every page and every record's format, without
 * checking that indexes match their tables (integrity_check's extra, and
 * most of its cost).  The first problem is reported.
 */
static lw_err_t sqlite_check(lw_store_backend_t *s, char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = NULL;
    lw_err_t err = LW_OK;
    if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK) {
        return store_fail(s->db, "quick_check", errstr, errstr_size);
    }
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        err = store_fail(s->db, "quick_check", errstr, errstr_size);
    } else {
        const char *res = (const char *)sqlite3_column_text(st, 0);
        if (res == NULL || strcmp(res, "ok") != 0) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                            "store: the database file is damaged (quick_check: %s)",
                            res ? res : "no answer");
        }
    }
    sqlite3_finalize(st);
    return err;
}

static lw_err_t sqlite_put_exp_assign(lw_store_backend_t *s, const lw_exp_assign_t *a, char *errstr,
                                      size_t errstr_size)
{
    lw_err_t err = check_writable(s, "put assignment", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    sqlite3_stmt *st = keyed(s, ST_PUT_EXP_ASSIGN, a->experiment);
    sqlite3_bind_int64(st, 2, (int64_t)a->user_hash);
    sqlite3_bind_text(st, 3, a->variant, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, a->exposed_ms);
    sqlite3_bind_int64(st, 5, (int64_t)a->seen[0]);
    sqlite3_bind_int64(st, 6, (int64_t)a->seen[1]);
    return run(s, ST_PUT_EXP_ASSIGN, "put assignment", errstr, errstr_size);
}

/* Every read's frame (check idle, step, callback, rows_end), as sqlite_exp_cells; rows differ. */
static lw_err_t sqlite_exp_assigns(lw_store_backend_t *s, lw_store_exp_assign_cb cb, void *ud,
                                   char *errstr, size_t errstr_size)
{
    lw_err_t err = check_idle(s, ST_EXP_ASSIGNS, "read assignments", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    sqlite3_stmt *st = s->st[ST_EXP_ASSIGNS];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        lw_exp_assign_t a = {
            .experiment = (const char *)sqlite3_column_text(st, 0),
            .user_hash = (uint64_t)sqlite3_column_int64(st, 1),
            .variant = (const char *)sqlite3_column_text(st, 2),
            .exposed_ms = sqlite3_column_int64(st, 3),
            .seen = {(uint64_t)sqlite3_column_int64(st, 4), (uint64_t)sqlite3_column_int64(st, 5)},
        };
        if (cb(ud, &a) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    return rows_end(s, st, rc, "read assignments", errstr, errstr_size);
}

static lw_err_t sqlite_add_exp_cell(lw_store_backend_t *s, const lw_exp_cell_t *c, char *errstr,
                                    size_t errstr_size)
{
    lw_err_t err = check_writable(s, "add experiment cell", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    if (c->nb == 0 || c->nb > LW_EXP_CELL_MAX_BUCKETS) {
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "store: add experiment cell: %u buckets, not 1..%d", c->nb,
                         LW_EXP_CELL_MAX_BUCKETS);
    }
    vec_put(s->vec_buf[0], c->num, c->nb);
    vec_put(s->vec_buf[1], c->den, c->nb);
    sqlite3_stmt *st = keyed(s, ST_ADD_EXP_CELL, c->experiment);
    sqlite3_bind_text(st, 2, c->variant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->metric, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, c->window);
    sqlite3_bind_blob(st, 5, s->vec_buf[0], (int)c->nb * 8, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, s->vec_buf[1], (int)c->nb * 8, SQLITE_STATIC);
    return run(s, ST_ADD_EXP_CELL, "add experiment cell", errstr, errstr_size);
}

static lw_err_t sqlite_exp_cells(lw_store_backend_t *s, lw_store_exp_cell_cb cb, void *ud,
                                 char *errstr, size_t errstr_size)
{
    lw_err_t err = check_idle(s, ST_EXP_CELLS, "read experiment cells", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    sqlite3_stmt *st = s->st[ST_EXP_CELLS];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        lw_exp_cell_t c = {
            .experiment = (const char *)sqlite3_column_text(st, 0),
            .variant = (const char *)sqlite3_column_text(st, 1),
            .metric = (const char *)sqlite3_column_text(st, 2),
            .window = sqlite3_column_int(st, 3),
            .num = s->vec_num,
            .den = s->vec_den,
        };
        const uint8_t *num = sqlite3_column_blob(st, 4), *den = sqlite3_column_blob(st, 5);
        size_t nn = (size_t)sqlite3_column_bytes(st, 4) / 8,
               nd = (size_t)sqlite3_column_bytes(st, 5) / 8;
        size_t nb = nn > nd ? nn : nd;
        if (nb > LW_EXP_CELL_MAX_BUCKETS) {
            finish(st);
            return lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                             "store: experiment cell %s/%s/%s: %zu buckets", c.experiment,
                             c.variant, c.metric, nb);
        }
        for (size_t i = 0; i < nb; i++) {
            s->vec_num[i] = i < nn ? vec_at(num, i) : 0;
            s->vec_den[i] = i < nd ? vec_at(den, i) : 0;
        }
        c.nb = (uint32_t)nb;
        if (cb(ud, &c) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    return rows_end(s, st, rc, "read experiment cells", errstr, errstr_size);
}

lw_err_t lw_store_set_max_pages(lw_store_t *store, int64_t pages, char *errstr, size_t errstr_size)
{
    lw_store_backend_t *s = lw_store_backend(store, &lw_store_sqlite_ops);
    if (s == NULL) {
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "store: set_max_pages needs the sqlite backend");
    }
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", (long long)pages);
    int64_t now = 0;
    return query_int(s->db, sql, &now, errstr, errstr_size);
}

const lw_store_ops_t lw_store_sqlite_ops = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .schema_version = sqlite_schema_version,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .in_transaction = sqlite_in_transaction,
    .add_cell = sqlite_add_cell,
    .read_cells = sqlite_read_cells,
    .bucket_range = sqlite_bucket_range,
    .set_position = sqlite_set_position,
    .get_position = sqlite_get_position,
    .positions = sqlite_positions,
    .set_int = sqlite_set_int,
    .get_int = sqlite_get_int,
    .add_counter = sqlite_add_counter,
    .counters = sqlite_counters,
    .set_blob = sqlite_set_blob,
    .get_blob = sqlite_get_blob,
    .add_verdict = sqlite_add_verdict,
    .edge_led = sqlite_edge_led,
    .read_verdicts = sqlite_read_verdicts,
    .put_exp_assign = sqlite_put_exp_assign,
    .exp_assigns = sqlite_exp_assigns,
    .add_exp_cell = sqlite_add_exp_cell,
    .exp_cells = sqlite_exp_cells,
    .check = sqlite_check,
};
