/*
 * store_pg.c - the PostgreSQL backend of the store (store_backend.h), over
 * libpq.  Chosen by a target "postgresql://..." or "postgres://..." (a libpq
 * connection URI); the public contract is in store.h.
 *
 * Connecting.  The URI goes to PQconnectdbParams() unchanged except for
 * leadwatch's own query parameter password_file=PATH (percent-encoded like
 * any URI value), which is removed first: the file's first line is the
 * password, passed to libpq as the "password" keyword, so it is never part of
 * a string that is printed or logged.  Without it libpq's own sources apply
 * (PGPASSWORD, PGPASSFILE or ~/.pgpass, and every other PG* variable for what
 * the URI leaves out).  A URI that carries a password itself (user:secret@ or
 * password=) is refused: config printing, errors and reports show the URI.
 * fallback_application_name is "leadwatch" and connect_timeout 10 s unless
 * the URI says otherwise, and the session's idle_in_transaction_session_timeout
 * is set to 60 s unless something already set it (the URI's options, the
 * role, the server's configuration): a writer paused inside a flush
 * (SIGSTOP, a frozen VM) holds row locks that block every other writer of
 * those rows; the server ends its session after 60 s, which releases them
 * and makes that writer's commit fail.  leadwatch's own transactions never
 * sit idle (the daemon analyses before it begins).  Server notices (e.g.
 * "relation already exists, skipping") are dropped rather than printed on
 * stderr.  The tables live in the first schema of the connection's
 * search_path (pick one with options=-csearch_path%3Dname).
 *
 * Schema (LW_PG_SCHEMA_VERSION = 6, the same semantics and version numbers
 * as store_sqlite.c; text keys are COLLATE "C" so every ORDER BY is the
 * byte order SQLite uses):
 *   leadwatch_schema(version, applied_at)   one row per applied migration;
 *                                           the schema version is max(version)
 *   v1 cells(metric, bucket, count, sum, hll bytea, distinct_est),
 *      positions(source, position, fp_len, fp_hash)  fp_hash: the uint64's bits
 *   v2 ints, counters, index cells_by_bucket
 *   v3 blobs, verdicts, metric_kinds and the view leadwatch_series (below)
 *   v4 cells.sum_comp, cells.sum_micros and the function lw_twosum_err: a
 *      cell's sum kept exact for decimals, merged by the upsert with the
 *      rule of store_sqlite.c's v4 (core/decsum.h); the view's sum is the total
 *   v5 exp_assign, exp_cells: experiments (issue 16), as store_sqlite.c's v5,
 *      the vectors as double precision[] added by the SQL function lw_vec_add
 *      inside the upsert (so under its row lock); exp_assigns pages by
 *      (experiment, user_hash), LW_PG_PAGE rows a query
 *   v6 source_owners: the fleet's owner epochs and watermark (below; PostgreSQL only)
 * Migrations run like SQLite's: step N in one transaction that first takes
 * a transaction-scoped advisory lock (so two processes opening a new
 * database at once apply each step once), re-reads the version, runs the
 * DDL and records N.  DDL is transactional in PostgreSQL, so a failed step
 * leaves nothing behind.  A database with a newer version is refused; a
 * read-only open refuses an older one; a database that has a `cells` table
 * but no leadwatch_schema is another application's and is refused.
 *
 * For analysts (Grafana's PostgreSQL data source, BI tools, psql), the
 * view leadwatch_series has one row per (bucket, metric): bucket_start
 * (timestamptz), bucket_ms, metric, kind, count, sum, distinct_est and value,
 * the metric's number as `leadwatch export` computes it for count, sum,
 * mean and (unwindowed) distinct metrics.  cells.distinct_est is written by
 * this backend with every sketch it stores (lw_hll_estimate() of the merged
 * sketch, the very number export prints), so SQL never decodes a sketch.
 * The store does not otherwise know a metric's kind: the table
 * metric_kinds(metric, kind) says it (see README, "PostgreSQL store");
 * without a row the view guesses per cell (a sketch: distinct; sum 0:
 * count; else sum), which is wrong for mean metrics and for a sum metric's
 * zero buckets.  Ratio and windowed-distinct metrics are not in the view.
 *
 * Transactions.  begin runs BEGIN (READ COMMITTED): PostgreSQL has no
 * database write lock to take up front; writers serialise per row (the
 * upserts and the position update lock the rows they touch until commit).
 * A statement that fails inside a transaction aborts it on the server, so
 * every later statement fails too, and commit checks the transaction status
 * first: an aborted transaction is rolled back and commit returns
 * LW_ERR_STORE (PostgreSQL would answer COMMIT on it with ROLLBACK, no
 * error).  Outside a transaction a broken connection (a restarted server,
 * a terminated session) is reset once, before a statement or after one
 * that failed for it (then the statement, a read, runs again); inside a
 * transaction a broken connection fails every call, and the caller's
 * rollback ends it.
 *
 * Cells.  count and sum are added by the upsert itself (INSERT .. ON
 * CONFLICT DO UPDATE SET count = cells.count + excluded.count, ...), which
 * locks the row until commit.  A sketch is merged in the client under that
 * lock: the same upsert leaves hll alone and RETURNs the stored hll; when it
 * is NULL or byte-equal to ours (merge is idempotent, and a fresh insert
 * returns ours) there is nothing to do, otherwise lw_hll_union_serialized()
 * merges the two and an UPDATE writes the union.  No other writer can
 * change the row between the two statements (the row lock is held until
 * commit), so concurrent writers' sketches are never lost.  hll is
 * STORAGE EXTERNAL (out of line, uncompressed): measured, pglz-compressing
 * a dense 16 KiB sketch on every merge made a merging add_cell 2.5x slower
 * (3.6 ms against 1.2-1.5 ms), and only cells with over 5461 distinct users
 * hold a dense sketch.
 *
 * Why not merge in SQL: measured on this machine (PostgreSQL 15, values
 * read from a table so nothing is constant-folded), a PL/pgSQL
 * register-wise max over two dense 16 KiB bytea values takes about 300 ms
 * (set_byte copies the value on every register) and a set-based SQL version
 * (generate_series, string_agg) about 240 ms, against 1.2-1.5 ms for the
 * whole merging add_cell here; and either would have to re-implement the
 * sparse form and the validation of hll.c.  Debian's postgresql-15-hll
 * (Citus hll) was not used: its sketches are MurmurHash3 with the register
 * index in the low bits, bit-packed 5-6 bit registers and its own
 * estimator, so every write and read would convert, and the server would
 * need the extension installed by a superuser.
 *
 * Positions.  set_position without `expected` is an upsert.  With it, the
 * compare-and-set is one conditional statement: INSERT .. ON CONFLICT DO
 * NOTHING when the source must be absent, else UPDATE .. WHERE source = $1
 * AND (position, fp_len, fp_hash) = expected.  Under READ COMMITTED an
 * UPDATE that waits for a concurrent writer's row lock re-evaluates its
 * WHERE on the committed row, so of two writers that started from the same
 * position exactly one moves it; the other updates 0 rows and gets
 * "position conflict" (its transaction is left open for the caller to roll
 * back).  Every conflict is counted: when the transaction ends, the counter
 * "store.position_conflicts" is incremented in its own autocommit statement,
 * so the refusal stays visible in the shared store after the rollback.
 *
 * Reads run in the caller's transaction when one is open, else in
 * autocommit (one statement each).  read_cells pages through the cells by
 * bucket (LW_PG_PAGE rows a query), so a long series with dense sketches
 * never sits in memory at once; outside a transaction each page is its own
 * snapshot.  check() verifies the connection and the schema version; the
 * server owns physical integrity (data checksums, amcheck).
 *
 * Fleet (v6, store.h "Fleet"): source_owners(source, epoch, owner,
 * max_time, idle, claimed_at) has one row per Kafka partition a member ever
 * claimed.  claim is an upsert that raises the epoch and returns it; fence
 * is UPDATE .. WHERE source = $1 AND epoch = $2 (0 rows: LW_ERR_FENCED),
 * whose row lock is held until the flush commits, so a claim (which waits
 * for that lock) always reads the position the flush committed, and a flush
 * that waited for a claim re-evaluates its WHERE on the new epoch and is
 * refused.  The global watermark is one aggregate over those rows.  Deadlocks
 * (SQLSTATE 40P01) and serialization failures (40001) return LW_ERR_RETRY:
 * the server rolled the transaction back and it may simply run again.  The
 * evaluator lease is a session advisory lock (pg_lease).  Connections use TCP
 * keepalives (10 s idle, 5 s interval, 3 probes) unless the URI sets them.
 *
 * All statements are prepared once per connection (and again after a
 * reset) and use binary results; parameters are text except bytea.
 */
#include "leadwatch/store/store_backend.h"

#include "leadwatch/core/decsum.h"
#include "leadwatch/store/store.h"
#include "leadwatch/store/store_common.h"

#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#define LW_PG_SCHEMA_VERSION 6
#define LW_PG_MAX_TARGET 4096
#define LW_PG_MAX_PASSWORD 1024
#define LW_PG_MAX_PARAMS 8
#define LW_PG_PAGE 1000
#define LW_PG_PAGE_TEXT "1000"                   /* LW_PG_PAGE in SQL */
#define LW_PG_MIGRATE_LOCK "7810756212871492707" /* advisory lock key: "leadwatc" as int8 */
#define LW_PG_LEASE_LOCK "7810756212871492709"   /* the evaluator lease's session lock */
/* the lease holder pings every second or so; a stopped holder's session ends after this */
#define LW_PG_LEASE_IDLE_TIMEOUT "10s"
#define LW_PG_CONFLICT_COUNTER "store.position_conflicts"
/* a writer paused inside a transaction (SIGSTOP, a stuck host) loses it after 60 s */
#define LW_PG_IDLE_TIMEOUT "60s"

/* Ordered migration steps; migrations[i] produces version i + 1.  Never edited once released. */
static const char *const migrations[LW_PG_SCHEMA_VERSION] = {
    /* v1: aggregates and source positions */
    "CREATE TABLE cells(metric text COLLATE \"C\" NOT NULL, bucket bigint NOT NULL,"
    " count bigint NOT NULL DEFAULT 0, sum double precision NOT NULL DEFAULT 0, hll bytea,"
    " distinct_est double precision, PRIMARY KEY(metric, bucket));"
    "ALTER TABLE cells ALTER COLUMN hll SET STORAGE EXTERNAL;"
    "CREATE TABLE positions(source text COLLATE \"C\" PRIMARY KEY, position bigint NOT NULL,"
    " fp_len bigint NOT NULL, fp_hash bigint NOT NULL);",
    /* v2: named integers (watermark), counters, bucket index */
    "CREATE TABLE ints(key text COLLATE \"C\" PRIMARY KEY, value bigint NOT NULL);"
    "CREATE TABLE counters(name text COLLATE \"C\" PRIMARY KEY, value bigint NOT NULL);"
    "CREATE INDEX cells_by_bucket ON cells(bucket);",
    /* v3: blobs (alert state), verdict history, and the analysts' view */
    "CREATE TABLE blobs(key text COLLATE \"C\" PRIMARY KEY, value bytea NOT NULL);"
    "CREATE TABLE verdicts(edge text COLLATE \"C\" NOT NULL, as_of bigint NOT NULL,"
    " verdict text NOT NULL, p double precision, q double precision,"
    " lag integer NOT NULL DEFAULT 0, coef double precision, oos double precision,"
    " PRIMARY KEY(edge, as_of));"
    "CREATE TABLE metric_kinds(metric text COLLATE \"C\" PRIMARY KEY,"
    " kind text NOT NULL CHECK (kind IN ('count', 'sum', 'mean', 'distinct')));"
    "CREATE VIEW leadwatch_series AS SELECT to_timestamp(c.bucket / 1000.0) AS bucket_start,"
    " c.bucket AS bucket_ms, c.metric, g.kind, c.count, c.sum, c.distinct_est,"
    " CASE g.kind WHEN 'count' THEN c.count::double precision WHEN 'sum' THEN c.sum"
    " WHEN 'mean' THEN c.sum / nullif(c.count, 0) WHEN 'distinct' THEN c.distinct_est"
    " END AS value FROM cells c LEFT JOIN metric_kinds k ON k.metric = c.metric"
    " CROSS JOIN LATERAL (SELECT coalesce(k.kind, CASE WHEN c.hll IS NOT NULL THEN 'distinct'"
    " WHEN c.sum = 0 THEN 'count' ELSE 'sum' END) AS kind) g;"
    "COMMENT ON VIEW leadwatch_series IS 'leadwatch: one row per (bucket, metric) with its value"
    " (count, sum, mean or distinct estimate by metric_kinds.kind; guessed per cell without a"
    " row); ratio and windowed distinct metrics: leadwatch export';",
    /* v4: each cell's sum kept exact for decimals (core/decsum.h, as SQLite's v4): sum +
     * sum_comp is the compensated double part, sum_micros the decimal fractions in 10^-6;
     * lw_twosum_err is core/ksum.h's, so both backends hold the same three numbers */
    "ALTER TABLE cells ADD COLUMN sum_comp double precision NOT NULL DEFAULT 0;"
    "ALTER TABLE cells ADD COLUMN sum_micros bigint NOT NULL DEFAULT 0;"
    "CREATE FUNCTION lw_twosum_err(a double precision, b double precision)"
    " RETURNS double precision LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS"
    " 'SELECT CASE WHEN abs(a) >= abs(b) THEN (a - (a + b)) + b ELSE (b - (a + b)) + a END';"
    "CREATE OR REPLACE VIEW leadwatch_series AS SELECT to_timestamp(c.bucket / 1000.0) AS"
    " bucket_start, c.bucket AS bucket_ms, c.metric, g.kind, c.count, t.sum, c.distinct_est,"
    " CASE g.kind WHEN 'count' THEN c.count::double precision WHEN 'sum' THEN t.sum"
    " WHEN 'mean' THEN t.sum / nullif(c.count, 0) WHEN 'distinct' THEN round(c.distinct_est)"
    " END AS value FROM cells c LEFT JOIN metric_kinds k ON k.metric = c.metric"
    " CROSS JOIN LATERAL (SELECT c.sum + c.sum_comp + c.sum_micros / 1000000.0::double precision"
    " AS sum) t"
    " CROSS JOIN LATERAL (SELECT coalesce(k.kind, CASE WHEN c.hll IS NOT NULL THEN 'distinct'"
    " WHEN t.sum = 0 THEN 'count' ELSE 'sum' END) AS kind) g;",
    /* v5: experiments (issue 16): assignments and per-bucket sums, as SQLite's v5 */
    "CREATE TABLE exp_assign(experiment text COLLATE \"C\" NOT NULL, user_hash bigint NOT NULL,"
    " variant text COLLATE \"C\" NOT NULL, exposed bigint NOT NULL,"
    " seen_short bigint NOT NULL DEFAULT 0, seen_long bigint NOT NULL DEFAULT 0,"
    " PRIMARY KEY(experiment, user_hash));"
    "CREATE TABLE exp_cells(experiment text COLLATE \"C\" NOT NULL,"
    " variant text COLLATE \"C\" NOT NULL, metric text COLLATE \"C\" NOT NULL,"
    " win integer NOT NULL, num double precision[] NOT NULL, den double precision[] NOT NULL,"
    " PRIMARY KEY(experiment, variant, metric, win));"
    "CREATE FUNCTION lw_vec_add(a double precision[], b double precision[])"
    " RETURNS double precision[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS"
    " 'SELECT coalesce(array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i), ''{}'')"
    " FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)';",
    /* v6: the fleet (store.h): per source its owner epoch, owner, newest event time, idleness */
    "CREATE TABLE source_owners(source text COLLATE \"C\" PRIMARY KEY, epoch bigint NOT NULL,"
    " owner text NOT NULL, max_time bigint, idle boolean NOT NULL DEFAULT false,"
    " claimed_at timestamptz NOT NULL DEFAULT now());",
};

enum {
    ST_ADD_CELL,
    ST_SET_HLL,
    ST_SET_POSITION,
    ST_INSERT_POSITION,
    ST_MOVE_POSITION,
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
    ST_CLAIM,
    ST_FENCE,
    ST_OWNER_EPOCH,
    ST_GLOBAL_WM,
    ST_RAISE_INT,
    ST_COUNT
};

/* One SQL text a statement: rows of one shape are the table (as store_sqlite.c's), not copies. */
static const char *const statement_sql[ST_COUNT] = {
    [ST_ADD_CELL] =
        "INSERT INTO cells AS c(metric, bucket, count, sum, sum_comp, sum_micros, hll,"
        " distinct_est) VALUES($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT(metric, bucket) DO UPDATE"
        " SET count = c.count + excluded.count, sum = c.sum + excluded.sum,"
        " sum_comp = c.sum_comp + excluded.sum_comp + lw_twosum_err(c.sum, excluded.sum),"
        " sum_micros = c.sum_micros + excluded.sum_micros"
        " RETURNING c.hll",
    [ST_SET_HLL] = "UPDATE cells SET hll = $3, distinct_est = $4 WHERE metric = $1 AND bucket = $2",
    [ST_SET_POSITION] = "INSERT INTO positions(source, position, fp_len, fp_hash)"
                        " VALUES($1, $2, $3, $4) ON CONFLICT(source) DO UPDATE SET"
                        " position = excluded.position, fp_len = excluded.fp_len,"
                        " fp_hash = excluded.fp_hash",
    [ST_INSERT_POSITION] = "INSERT INTO positions(source, position, fp_len, fp_hash)"
                           " VALUES($1, $2, $3, $4) ON CONFLICT(source) DO NOTHING",
    [ST_MOVE_POSITION] = "UPDATE positions SET position = $2, fp_len = $3, fp_hash = $4"
                         " WHERE source = $1 AND position = $5 AND fp_len = $6 AND fp_hash = $7",
    [ST_GET_POSITION] = "SELECT position, fp_len, fp_hash FROM positions WHERE source = $1",
    [ST_POSITIONS] = "SELECT source, position, fp_len, fp_hash FROM positions"
                     " WHERE left(source, length($1)) = $1 ORDER BY source",
    [ST_SET_INT] = "INSERT INTO ints(key, value) VALUES($1, $2)"
                   " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [ST_GET_INT] = "SELECT value FROM ints WHERE key = $1",
    [ST_ADD_COUNTER] = "INSERT INTO counters AS c(name, value) VALUES($1, $2)"
                       " ON CONFLICT(name) DO UPDATE SET value = c.value + excluded.value",
    [ST_COUNTERS] = "SELECT name, value FROM counters ORDER BY name",
    [ST_READ_CELLS] = "SELECT bucket, count, sum, hll, sum_comp, sum_micros FROM cells"
                      " WHERE metric = $1 AND bucket >= $2 AND bucket < $3 ORDER BY bucket"
                      " LIMIT " LW_PG_PAGE_TEXT,
    [ST_BUCKET_RANGE] = "SELECT min(bucket), max(bucket) FROM cells",
    [ST_SET_BLOB] = "INSERT INTO blobs(key, value) VALUES($1, $2)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [ST_GET_BLOB] = "SELECT value FROM blobs WHERE key = $1",
    [ST_ADD_VERDICT] = "INSERT INTO verdicts(edge, as_of, verdict, p, q, lag, coef, oos)"
                       " VALUES($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT(edge, as_of) DO UPDATE"
                       " SET verdict = excluded.verdict, p = excluded.p, q = excluded.q,"
                       " lag = excluded.lag, coef = excluded.coef, oos = excluded.oos",
    [ST_EDGE_LED] = "SELECT 1 FROM verdicts WHERE edge = $1 AND as_of < $2 AND verdict = 'leads'"
                    " LIMIT 1",
    [ST_READ_VERDICTS] = "SELECT edge, as_of, verdict, p, q, lag, coef, oos FROM verdicts"
                         " WHERE ($1::text IS NULL OR edge = $1) AND as_of >= $2"
                         " ORDER BY as_of, edge",
    [ST_PUT_EXP_ASSIGN] = "INSERT INTO exp_assign AS a(experiment, user_hash, variant, exposed,"
                          " seen_short, seen_long) VALUES($1, $2, $3, $4, $5, $6)"
                          " ON CONFLICT(experiment, user_hash) DO UPDATE SET"
                          " seen_short = excluded.seen_short, seen_long = excluded.seen_long",
    [ST_EXP_ASSIGNS] = "SELECT experiment, user_hash, variant, exposed, seen_short, seen_long"
                       " FROM exp_assign WHERE (experiment, user_hash) > ($1, $2)"
                       " ORDER BY experiment, user_hash LIMIT " LW_PG_PAGE_TEXT,
    [ST_ADD_EXP_CELL] = "INSERT INTO exp_cells AS c(experiment, variant, metric, win, num, den)"
                        " VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT(experiment, variant, metric,"
                        " win) DO UPDATE SET num = lw_vec_add(c.num, excluded.num),"
                        " den = lw_vec_add(c.den, excluded.den)",
    [ST_EXP_CELLS] = "SELECT experiment, variant, metric, win, num, den FROM exp_cells"
                     " ORDER BY experiment, variant, metric, win",
    [ST_CLAIM] = "INSERT INTO source_owners AS o(source, epoch, owner) VALUES($1, 1, $2)"
                 " ON CONFLICT(source) DO UPDATE SET epoch = o.epoch + 1, owner = excluded.owner,"
                 " idle = false, claimed_at = now() RETURNING o.epoch, o.max_time",
    [ST_FENCE] = "UPDATE source_owners SET max_time = greatest(max_time, $3), idle = $4"
                 " WHERE source = $1 AND epoch = $2",
    [ST_OWNER_EPOCH] = "SELECT epoch, max_time FROM source_owners WHERE source = $1",
    [ST_GLOBAL_WM] = "SELECT CASE WHEN bool_and(idle) THEN max(max_time)"
                     " WHEN bool_or(NOT idle AND max_time IS NULL) THEN NULL"
                     " ELSE min(max_time) FILTER (WHERE NOT idle) END FROM source_owners",
    [ST_RAISE_INT] = "INSERT INTO ints AS i(key, value) VALUES($1, $2)"
                     " ON CONFLICT(key) DO UPDATE SET value = greatest(i.value, excluded.value)",
};

struct lw_store_backend {
    PGconn *conn;
    bool readonly;
    bool in_txn;    /* begin succeeded and no commit/rollback since */
    bool iterating; /* inside a read callback */
    bool lease;     /* this session holds the evaluator lease (pg_lease) */
    int schema_version;
    int64_t conflicts; /* position conflicts in the open transaction */
    lw_hll_t *scratch;
    uint8_t cell_buf[LW_HLL_MAX_SERIALIZED];           /* add_cell's serialised argument */
    uint8_t merge_buf[LW_HLL_MAX_SERIALIZED];          /* the union written back */
    char vec_txt[2][LW_EXP_CELL_MAX_BUCKETS * 26 + 3]; /* add_exp_cell's arrays as text */
    double vec_num[LW_EXP_CELL_MAX_BUCKETS], vec_den[LW_EXP_CELL_MAX_BUCKETS];
};

/* Statement parameters: text (NULL = SQL NULL) or binary (bytea). */
typedef struct {
    int n;
    const char *v[LW_PG_MAX_PARAMS];
    int len[LW_PG_MAX_PARAMS];
    int fmt[LW_PG_MAX_PARAMS];
    char txt[LW_PG_MAX_PARAMS][32];
} params_t;

static void p_text(params_t *p, const char *s)
{
    assert(p->n < LW_PG_MAX_PARAMS);
    p->v[p->n] = s;
    p->len[p->n] = 0;
    p->fmt[p->n++] = 0;
}

static void p_i64(params_t *p, int64_t x)
{
    assert(p->n < LW_PG_MAX_PARAMS);
    snprintf(p->txt[p->n], sizeof p->txt[0], "%lld", (long long)x);
    p_text(p, p->txt[p->n]);
}

/* %.17g round-trips every finite double exactly; NAN is stored as NULL. */
static void p_f64(params_t *p, double x)
{
    assert(p->n < LW_PG_MAX_PARAMS);
    if (isnan(x)) {
        p_text(p, NULL);
        return;
    }
    snprintf(p->txt[p->n], sizeof p->txt[0], "%.17g", x);
    p_text(p, p->txt[p->n]);
}

static void p_bin(params_t *p, const void *data, size_t len)
{
    assert(p->n < LW_PG_MAX_PARAMS && len <= (size_t)INT32_MAX);
    p->v[p->n] = data;
    p->len[p->n] = (int)len;
    p->fmt[p->n++] = 1;
}

/* Binary result columns: int8, int4 and float8 in network byte order. */
static uint64_t be_u64(const char *v)
{
    uint64_t r = 0;
    for (int i = 0; i < 8; i++) {
        r = (r << 8) | (uint8_t)v[i];
    }
    return r;
}

static int64_t col_i64(const PGresult *r, int row, int col)
{
    uint64_t u = be_u64(PQgetvalue(r, row, col));
    int64_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static int col_i32(const PGresult *r, int row, int col)
{
    const uint8_t *v = (const uint8_t *)PQgetvalue(r, row, col);
    uint32_t u = ((uint32_t)v[0] << 24) | ((uint32_t)v[1] << 16) | ((uint32_t)v[2] << 8) | v[3];
    int32_t x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* NULL reads back as NAN. */
static double col_f64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) {
        return (double)NAN;
    }
    uint64_t u = be_u64(PQgetvalue(r, row, col));
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* The server's or libpq's message, first line only, with the SQLSTATE when there is one. */
static lw_err_t pg_fail(PGconn *conn, const PGresult *res, const char *what, char *errstr,
                        size_t errstr_size)
{
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (msg == NULL) {
        msg = PQerrorMessage(conn);
    }
    size_t n = strcspn(msg, "\n");
    /* deadlock_detected, serialization_failure: the transaction may simply run again */
    bool retry = state && (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0);
    return lw_seterr(errstr, errstr_size, retry ? LW_ERR_RETRY : LW_ERR_STORE,
                     "store: %s: %.*s%s%s%s", what, (int)n, msg, state ? " (SQLSTATE " : "",
                     state ? state : "", state ? ")" : "");
}

static lw_err_t prepare_session(lw_store_backend_t *b, char *errstr, size_t errstr_size);

/*
 * Outside a transaction, a connection found broken (a restarted server, a
 * terminated session) is reset once, with the session set up again; inside
 * one it is left broken, so the transaction fails as a whole.
 */
static lw_err_t reconnect(lw_store_backend_t *b, const char *what, char *errstr, size_t errstr_size)
{
    if (b->in_txn || PQstatus(b->conn) != CONNECTION_BAD) {
        return LW_OK;
    }
    PQreset(b->conn);
    b->lease = false; /* a session lock ends with its session */
    if (PQstatus(b->conn) != CONNECTION_OK) {
        char w[64];
        snprintf(w, sizeof w, "%s (reconnecting)", what);
        return pg_fail(b->conn, NULL, w, errstr, errstr_size);
    }
    return prepare_session(b, errstr, errstr_size);
}

/*
 * Run a prepared statement; LW_OK with *out set (the caller PQclear()s it)
 * when it succeeded, else the failure (nothing to clear).
 */
static lw_err_t run(lw_store_backend_t *b, int which, const params_t *p, PGresult **out,
                    const char *what, char *errstr, size_t errstr_size)
{
    char name[8];
    lw_err_t rc = reconnect(b, what, errstr, errstr_size);
    if (rc != LW_OK) {
        return rc;
    }
    snprintf(name, sizeof name, "lw%d", which);
    PGresult *res = PQexecPrepared(b->conn, name, p ? p->n : 0, p ? p->v : NULL, p ? p->len : NULL,
                                   p ? p->fmt : NULL, 1);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_FATAL_ERROR && !b->in_txn && PQstatus(b->conn) == CONNECTION_BAD) {
        /* the session died while idle: outside a transaction, try once more */
        PQclear(res);
        res = NULL;
        rc = reconnect(b, what, errstr, errstr_size);
        if (rc != LW_OK) {
            return rc;
        }
        res = PQexecPrepared(b->conn, name, p ? p->n : 0, p ? p->v : NULL, p ? p->len : NULL,
                             p ? p->fmt : NULL, 1);
        st = PQresultStatus(res);
    }
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        lw_err_t err = pg_fail(b->conn, res, what, errstr, errstr_size);
        PQclear(res);
        return err;
    }
    if (out != NULL) {
        *out = res;
    } else {
        PQclear(res);
    }
    return LW_OK;
}

/* Run SQL text without parameters (transaction control, DDL); LW_OK or the failure. */
static lw_err_t exec(PGconn *conn, const char *sql, const char *what, char *errstr,
                     size_t errstr_size)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    lw_err_t err = LW_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        err = pg_fail(conn, res, what, errstr, errstr_size);
    }
    PQclear(res);
    return err;
}

/* One int8 from SQL text (no parameters); 0 when it returns no row or NULL. */
static lw_err_t query_i64(PGconn *conn, const char *sql, int64_t *out, char *errstr,
                          size_t errstr_size)
{
    PGresult *res = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 1);
    lw_err_t err = LW_OK;
    *out = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        err = pg_fail(conn, res, sql, errstr, errstr_size);
    } else if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
        assert(PQgetlength(res, 0, 0) == 8);
        *out = col_i64(res, 0, 0);
    }
    PQclear(res);
    return err;
}

/* A write may proceed only inside a live transaction. */
static lw_err_t check_writable(lw_store_backend_t *b, const char *what, char *errstr,
                               size_t errstr_size)
{
    lw_err_t err = lw_store_check_in_txn(b->in_txn, what, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    PGTransactionStatusType ts = PQtransactionStatus(b->conn);
    if (ts != PQTRANS_INTRANS) {
        return lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                         "store: %s: the transaction was aborted by an earlier error%s; roll "
                         "back and start again",
                         what, ts == PQTRANS_UNKNOWN ? " (connection lost)" : "");
    }
    return LW_OK;
}

/* Refuse a read from inside a read's callback (the contract forbids it). */
static lw_err_t check_idle(lw_store_backend_t *b, const char *what, char *errstr,
                           size_t errstr_size)
{
    return b->iterating ? lw_store_reentered(what, errstr, errstr_size) : LW_OK;
}

static void drop_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* ------------------------------------------------------- connecting */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode `n` bytes of `s` into out (NUL-terminated); false when malformed or too long. */
static bool percent_decode(const char *s, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                return false;
            }
            c = hi * 16 + lo;
            i += 2;
        }
        if (o + 1 >= size) {
            return false;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return true;
}

/*
 * Split leadwatch's password_file=PATH off the URI's query: `uri` gets the
 * URI without it, `passfile` its decoded value ("" when absent).  Refuses a
 * URI that carries a password (in the userinfo or as password=).
 */
static lw_err_t split_target(const char *target, char *uri, size_t uri_size, char *passfile,
                             size_t passfile_size, char *errstr, size_t errstr_size)
{
    size_t len = strlen(target);
    passfile[0] = '\0';
    if (len >= uri_size) {
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "store: PostgreSQL URI too long");
    }
    const char *auth = strstr(target, "://");
    if (auth == NULL) {
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "store: not a postgresql:// URI");
    }
    auth += 3;
    size_t auth_len = strcspn(auth, "/?");
    const char *at = memchr(auth, '@', auth_len);
    if (at != NULL && memchr(auth, ':', (size_t)(at - auth)) != NULL) {
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "store: the PostgreSQL URI carries a password; put it in a file named "
                         "by store.password_file (or use PGPASSFILE / ~/.pgpass) instead");
    }
    const char *q = strchr(auth, '?');
    size_t head = q ? (size_t)(q - target) : len;
    memcpy(uri, target, head);
    uri[head] = '\0';
    if (q == NULL) {
        return LW_OK;
    }
    char sep = '?';
    size_t o = head;
    for (const char *p = q + 1; *p;) {
        size_t n = strcspn(p, "&");
        if (n >= 9 && strncmp(p, "password=", 9) == 0) {
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                             "store: the PostgreSQL URI carries a password; put it in a file "
                             "named by store.password_file instead");
        }
        if (n >= 14 && strncmp(p, "password_file=", 14) == 0) {
            if (!percent_decode(p + 14, n - 14, passfile, passfile_size) || passfile[0] == '\0') {
                return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                 "store: bad password_file in the PostgreSQL URI");
            }
        } else if (n > 0) {
            uri[o++] = sep;
            memcpy(uri + o, p, n);
            o += n;
            uri[o] = '\0';
            sep = '&';
        }
        p += n + (p[n] == '&');
    }
    return LW_OK;
}

/* The first line of `path` (without its newline) into pw. */
static lw_err_t read_password(const char *path, char *pw, size_t size, char *errstr,
                              size_t errstr_size)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return lw_seterr(errstr, errstr_size, LW_ERR_STORE, "store: password file %s: cannot open",
                         path);
    }
    bool ok = fgets(pw, (int)size, f) != NULL;
    fclose(f);
    if (!ok) {
        return lw_seterr(errstr, errstr_size, LW_ERR_STORE, "store: password file %s is empty",
                         path);
    }
    size_t n = strcspn(pw, "\r\n");
    if (pw[n] == '\0' && strlen(pw) == size - 1) {
        memset(pw, 0, size);
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                         "store: password file %s: first line too long", path);
    }
    pw[n] = '\0';
    return LW_OK;
}

/* Session settings and prepared statements, after every (re)connect. */
static lw_err_t prepare_session(lw_store_backend_t *b, char *errstr, size_t errstr_size)
{
    PQsetNoticeProcessor(b->conn, drop_notice, NULL);
    lw_err_t err = exec(b->conn,
                        b->readonly ? "SET default_transaction_read_only = on"
                                    : "SET default_transaction_read_only = off",
                        "session setup", errstr, errstr_size);
    if (err == LW_OK) {
        err = exec(b->conn,
                   "SELECT set_config('idle_in_transaction_session_timeout', '" LW_PG_IDLE_TIMEOUT
                   "', false) WHERE current_setting('idle_in_transaction_session_timeout') = '0'",
                   "session setup", errstr, errstr_size);
    }
    for (int i = 0; i < ST_COUNT && err == LW_OK; i++) {
        char name[16];
        snprintf(name, sizeof name, "lw%d", i);
        PGresult *res = PQprepare(b->conn, name, statement_sql[i], 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            err = pg_fail(b->conn, res, "preparing statements", errstr, errstr_size);
        }
        PQclear(res);
    }
    return err;
}

static lw_err_t read_version(PGconn *conn, int64_t *version, char *errstr, size_t errstr_size)
{
    int64_t has_table = 0;
    lw_err_t err =
        query_i64(conn, "SELECT (to_regclass('leadwatch_schema') IS NOT NULL)::int::int8",
                  &has_table, errstr, errstr_size);
    if (err != LW_OK || !has_table) {
        *version = 0;
        return err;
    }
    return query_i64(conn, "SELECT max(version)::int8 FROM leadwatch_schema", version, errstr,
                     errstr_size);
}

/* Bring the database to version `target` with migrations[target - 1], in one transaction. */
static lw_err_t migrate_step(PGconn *conn, int target, char *errstr, size_t errstr_size)
{
    char what[64], record[96];
    int64_t version = 0;
    snprintf(what, sizeof what, "migrating to schema version %d", target);
    snprintf(record, sizeof record, "INSERT INTO leadwatch_schema(version) VALUES(%d)", target);
    lw_err_t err = exec(conn, "BEGIN", what, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    err = exec(conn, "SELECT pg_advisory_xact_lock(" LW_PG_MIGRATE_LOCK ")", what, errstr,
               errstr_size);
    if (err == LW_OK) {
        err = exec(conn,
                   "CREATE TABLE IF NOT EXISTS leadwatch_schema(version integer PRIMARY KEY,"
                   " applied_at timestamptz NOT NULL DEFAULT now())",
                   what, errstr, errstr_size);
    }
    if (err == LW_OK) {
        err = read_version(conn, &version, errstr, errstr_size);
    }
    if (err == LW_OK && version < target) {
        err = exec(conn, migrations[target - 1], what, errstr, errstr_size);
        if (err == LW_OK) {
            err = exec(conn, record, what, errstr, errstr_size);
        }
    }
    if (err == LW_OK) {
        err = exec(conn, "COMMIT", what, errstr, errstr_size);
    }
    if (err != LW_OK) {
        PQclear(PQexec(conn, "ROLLBACK"));
    }
    return err;
}

/* Refuse another application's database, a newer schema, or (read-only) an older one. */
static lw_err_t check_database(lw_store_backend_t *b, const char *where, char *errstr,
                               size_t errstr_size)
{
    int64_t version = 0, foreign = 0;
    lw_err_t err = read_version(b->conn, &version, errstr, errstr_size);
    if (err == LW_OK && version == 0) {
        err = query_i64(b->conn, "SELECT (to_regclass('cells') IS NOT NULL)::int::int8", &foreign,
                        errstr, errstr_size);
    }
    if (err != LW_OK) {
        return err;
    }
    if (foreign) {
        return lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                         "store %s: has a table 'cells' but is not a leadwatch store "
                         "(no leadwatch_schema table)",
                         where);
    }
    err = lw_store_check_version(where, version, LW_PG_SCHEMA_VERSION, b->readonly, errstr,
                                 errstr_size);
    if (err == LW_OK) {
        b->schema_version = (int)version;
    }
    return err;
}

static void pg_close(lw_store_backend_t *b);

static lw_err_t pg_open(const char *target, int flags, lw_store_backend_t **out, char *errstr,
                        size_t errstr_size)
{
    *out = NULL;
    char uri[LW_PG_MAX_TARGET], passfile[LW_PG_MAX_TARGET];
    char password[LW_PG_MAX_PASSWORD] = "";
    lw_err_t err =
        split_target(target, uri, sizeof uri, passfile, sizeof passfile, errstr, errstr_size);
    if (err == LW_OK && passfile[0] != '\0') {
        err = read_password(passfile, password, sizeof password, errstr, errstr_size);
    }
    if (err != LW_OK) {
        return err;
    }
    lw_store_backend_t *b = calloc(1, sizeof *b);
    if (b == NULL || (b->scratch = lw_hll_new()) == NULL) {
        free(b);
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "store: out of memory");
    }
    b->readonly = (flags & LW_STORE_READONLY) != 0;
    /* earlier keywords are overridden by what the expanded URI sets */
    /* keepalives: a member notices a dead server (or network) in ~25 s instead of hours */
    const char *keys[] = {"connect_timeout",
                          "fallback_application_name",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "dbname",
                          password[0] ? "password" : NULL,
                          NULL};
    const char *vals[] = {"10", "leadwatch", "10", "5", "3", uri, password, NULL};
    b->conn = PQconnectdbParams(keys, vals, 1);
    memset(password, 0, sizeof password);
    /* where: the URI without any query (no secret either way) */
    char where[256];
    snprintf(where, sizeof where, "%.*s", (int)strcspn(uri, "?"), uri);
    if (b->conn == NULL || PQstatus(b->conn) != CONNECTION_OK) {
        const char *msg = b->conn ? PQerrorMessage(b->conn) : "out of memory";
        err = lw_seterr(errstr, errstr_size, LW_ERR_STORE, "store %s: cannot connect: %.*s", where,
                        (int)strcspn(msg, "\n"), msg);
        goto fail;
    }
    PQsetNoticeProcessor(b->conn, drop_notice, NULL);
    err = check_database(b, where, errstr, errstr_size);
    for (int t = b->schema_version + 1; err == LW_OK && !b->readonly && t <= LW_PG_SCHEMA_VERSION;
         t++) {
        err = migrate_step(b->conn, t, errstr, errstr_size);
        b->schema_version = t;
    }
    if (err == LW_OK) {
        err = prepare_session(b, errstr, errstr_size);
    }
    if (err != LW_OK) {
        goto fail;
    }
    *out = b;
    return LW_OK;

fail:
    pg_close(b);
    return err;
}

/* Record the transaction's position conflicts, after it ended, in autocommit. */
static void count_conflicts(lw_store_backend_t *b)
{
    if (b->conflicts == 0 || b->readonly || PQtransactionStatus(b->conn) != PQTRANS_IDLE) {
        b->conflicts = 0;
        return;
    }
    params_t p = {0};
    p_text(&p, LW_PG_CONFLICT_COUNTER);
    p_i64(&p, b->conflicts);
    b->conflicts = 0;
    (void)run(b, ST_ADD_COUNTER, &p, NULL, "count position conflicts", NULL, 0);
}

static void pg_rollback(lw_store_backend_t *b)
{
    if (PQtransactionStatus(b->conn) != PQTRANS_IDLE &&
        PQtransactionStatus(b->conn) != PQTRANS_UNKNOWN) {
        PQclear(PQexec(b->conn, "ROLLBACK"));
    }
    b->in_txn = false;
    count_conflicts(b);
}

static void pg_close(lw_store_backend_t *b)
{
    if (b == NULL) {
        return;
    }
    if (b->conn != NULL) {
        pg_rollback(b);
        PQfinish(b->conn);
    }
    lw_hll_destroy(b->scratch);
    free(b);
}

/* Accessors, statement ids and SQL are each backend's own; shared logic: store_common.c. */
static int pg_schema_version(lw_store_backend_t *b)
{
    return b->schema_version;
}

static bool pg_in_transaction(const lw_store_backend_t *b)
{
    return b->in_txn;
}

static lw_err_t pg_begin(lw_store_backend_t *b, char *errstr, size_t errstr_size)
{
    lw_err_t err = lw_store_check_no_txn(b->in_txn, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    if (b->readonly) {
        return lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                         "store: begin: the store is opened readonly");
    }
    err = reconnect(b, "begin", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    err = exec(b->conn, "BEGIN", "begin", errstr, errstr_size);
    if (err == LW_OK) {
        b->in_txn = true;
        b->conflicts = 0;
    }
    return err;
}

static lw_err_t pg_commit(lw_store_backend_t *b, char *errstr, size_t errstr_size)
{
    lw_err_t err = check_writable(b, "commit", errstr, errstr_size);
    if (err == LW_ERR_STORE) {
        pg_rollback(b);
    }
    if (err != LW_OK) {
        return err;
    }
    PGresult *res = PQexec(b->conn, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        err = pg_fail(b->conn, res, "commit", errstr, errstr_size);
    } else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STORE, "store: commit: the server answered %s",
                        PQcmdStatus(res));
    }
    PQclear(res);
    /* a failed COMMIT ends the transaction too (or the connection is gone) */
    b->in_txn = false;
    count_conflicts(b);
    return err;
}

static lw_err_t pg_add_cell(lw_store_backend_t *b, const char *metric, int64_t bucket_ms,
                            int64_t count, const lw_decsum_t *sum, const lw_hll_t *hll,
                            char *errstr, size_t errstr_size)
{
    lw_err_t err = check_writable(b, "add cell", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    lw_decsum_t f; /* the three numbers a cell keeps, finite as on SQLite */
    err = lw_store_fold_sum(metric, bucket_ms, sum, &f, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    params_t p = {0};
    size_t n = 0;
    p_text(&p, metric);
    p_i64(&p, bucket_ms);
    p_i64(&p, count);
    p_f64(&p, f.k.hi);
    p_f64(&p, f.k.lo);
    p_i64(&p, f.micros);
    double est = (double)NAN;
    if (hll != NULL) {
        n = lw_hll_serialize(hll, b->cell_buf, sizeof b->cell_buf);
        p_bin(&p, b->cell_buf, n);
        est = lw_hll_estimate(hll);
    } else {
        p_text(&p, NULL);
    }
    p_f64(&p, est);
    PGresult *res = NULL;
    err = run(b, ST_ADD_CELL, &p, &res, "add cell", errstr, errstr_size);
    if (err != LW_OK || hll == NULL) {
        PQclear(res);
        return err;
    }
    /* the row is locked until commit: merge the stored sketch with ours */
    assert(PQntuples(res) == 1);
    const uint8_t *stored = (const uint8_t *)PQgetvalue(res, 0, 0);
    size_t stored_len = (size_t)PQgetlength(res, 0, 0);
    const uint8_t *write = NULL;
    size_t write_len = 0;
    if (PQgetisnull(res, 0, 0)) {
        write = b->cell_buf;
        write_len = n;
    } else if (stored_len != n || memcmp(stored, b->cell_buf, n) != 0) {
        char why[160];
        if (lw_hll_union_serialized(stored, stored_len, b->cell_buf, n, b->scratch, b->merge_buf,
                                    &write_len, why, sizeof why) != LW_OK) {
            PQclear(res);
            /* abort the transaction on the server too (count and sum were added) */
            PQclear(PQexec(b->conn, "DO $$BEGIN RAISE EXCEPTION 'leadwatch: corrupt sketch';"
                                    " END$$"));
            return lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                             "store: add cell %s@%lld: corrupt sketch: %s", metric,
                             (long long)bucket_ms, why);
        }
        write = b->merge_buf;
        /* the estimate the view shows (the union was just built, so it decodes) */
        if (lw_hll_deserialize(b->scratch, write, write_len, why, sizeof why) != LW_OK) {
            PQclear(res);
            return lw_seterr(errstr, errstr_size, LW_ERR_STORE, "store: add cell: %s", why);
        }
        est = lw_hll_estimate(b->scratch);
    }
    PQclear(res);
    if (write == NULL) {
        return LW_OK; /* a fresh insert, or a stored sketch equal to ours */
    }
    params_t u = {0};
    p_text(&u, metric);
    p_i64(&u, bucket_ms);
    p_bin(&u, write, write_len);
    p_f64(&u, est);
    return run(b, ST_SET_HLL, &u, NULL, "add cell (merge sketch)", errstr, errstr_size);
}

static lw_err_t pg_get_position(lw_store_backend_t *b, const char *source, lw_position_t *pos,
                                char *errstr, size_t errstr_size)
{
    params_t p = {0};
    PGresult *res = NULL;
    p_text(&p, source);
    lw_err_t err = run(b, ST_GET_POSITION, &p, &res, "get position", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    if (PQntuples(res) == 0) {
        err = LW_ERR_NOT_FOUND;
    } else {
        pos->position = col_i64(res, 0, 0);
        pos->fp_len = col_i64(res, 0, 1);
        pos->fp_hash = lw_store_i64_bits(col_i64(res, 0, 2));
    }
    PQclear(res);
    return err;
}

/* The refused compare-and-set: count it, report the stored position. */
static lw_err_t position_conflict(lw_store_backend_t *b, const char *source,
                                  const lw_position_t *expected, char *errstr, size_t errstr_size)
{
    lw_position_t now;
    b->conflicts++;
    lw_err_t err = pg_get_position(b, source, &now, errstr, errstr_size);
    if (err != LW_OK && err != LW_ERR_NOT_FOUND) {
        return err;
    }
    return lw_store_position_conflict(source, err == LW_OK ? &now : NULL, expected, errstr,
                                      errstr_size);
}

static lw_err_t pg_set_position(lw_store_backend_t *b, const char *source,
                                const lw_position_t *expected, const lw_position_t *pos,
                                char *errstr, size_t errstr_size)
{
    lw_err_t err = check_writable(b, "set position", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    params_t p = {0};
    p_text(&p, source);
    p_i64(&p, pos->position);
    p_i64(&p, pos->fp_len);
    p_i64(&p, lw_store_u64_bits(pos->fp_hash));
    int which = ST_SET_POSITION;
    if (expected != NULL && expected->position == LW_POSITION_ABSENT) {
        which = ST_INSERT_POSITION;
    } else if (expected != NULL) {
        which = ST_MOVE_POSITION;
        p_i64(&p, expected->position);
        p_i64(&p, expected->fp_len);
        p_i64(&p, lw_store_u64_bits(expected->fp_hash));
    }
    PGresult *res = NULL;
    err = run(b, which, &p, &res, "set position", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    bool moved = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return moved ? LW_OK : position_conflict(b, source, expected, errstr, errstr_size);
}

/*
 * The start of a read that hands rows to a callback: refuse re-entry from a
 * callback (check_idle), run statement st and mark the backend iterating.
 * On LW_OK *res holds the rows; read_end() clears the mark and the result.
 */
static lw_err_t read_begin(lw_store_backend_t *b, int st, const params_t *p, const char *what,
                           PGresult **res, char *errstr, size_t errstr_size)
{
    lw_err_t err = check_idle(b, what, errstr, errstr_size);
    if (err == LW_OK)
        err = run(b, st, p, res, what, errstr, errstr_size);
    if (err == LW_OK)
        b->iterating = true;
    return err;
}

static lw_err_t read_end(lw_store_backend_t *b, PGresult *res, lw_err_t err)
{
    b->iterating = false;
    PQclear(res);
    return err;
}

static lw_err_t pg_positions(lw_store_backend_t *b, const char *prefix, lw_store_position_cb cb,
                             void *ud, char *errstr, size_t errstr_size)
{
    params_t p = {0};
    PGresult *res = NULL;
    p_text(&p, prefix);
    lw_err_t err = read_begin(b, ST_POSITIONS, &p, "read positions", &res, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        lw_position_t pos = {
            .position = col_i64(res, i, 1),
            .fp_len = col_i64(res, i, 2),
            .fp_hash = lw_store_i64_bits(col_i64(res, i, 3)),
        };
        if (cb(ud, PQgetvalue(res, i, 0), &pos) != 0) {
            break;
        }
    }
    return read_end(b, res, LW_OK);
}

/* Run a keyed write (text key, one more parameter set by the caller). */
static lw_err_t keyed_write(lw_store_backend_t *b, int which, const params_t *p, const char *what,
                            char *errstr, size_t errstr_size)
{
    lw_err_t err = check_writable(b, what, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    return run(b, which, p, NULL, what, errstr, errstr_size);
}

/* A keyed write of one integer (set int, add counter): text key $1, value $2. */
static lw_err_t keyed_int_write(lw_store_backend_t *b, int which, const char *key, int64_t value,
                                const char *what, char *errstr, size_t errstr_size)
{
    params_t p = {0};
    p_text(&p, key);
    p_i64(&p, value);
    return keyed_write(b, which, &p, what, errstr, errstr_size);
}

static lw_err_t pg_set_int(lw_store_backend_t *b, const char *key, int64_t value, char *errstr,
                           size_t errstr_size)
{
    return keyed_int_write(b, ST_SET_INT, key, value, "set int", errstr, errstr_size);
}

static lw_err_t pg_add_counter(lw_store_backend_t *b, const char *name, int64_t delta, char *errstr,
                               size_t errstr_size)
{
    return keyed_int_write(b, ST_ADD_COUNTER, name, delta, "add counter", errstr, errstr_size);
}

/* A single-row lookup by text key: LW_OK with *res holding the row, else NOT_FOUND or failure. */
static lw_err_t lookup(lw_store_backend_t *b, int which, const char *key, PGresult **res,
                       const char *what, char *errstr, size_t errstr_size)
{
    params_t p = {0};
    p_text(&p, key);
    lw_err_t err = run(b, which, &p, res, what, errstr, errstr_size);
    if (err == LW_OK && PQntuples(*res) == 0) {
        PQclear(*res);
        *res = NULL;
        err = LW_ERR_NOT_FOUND;
    }
    return err;
}

static lw_err_t pg_get_int(lw_store_backend_t *b, const char *key, int64_t *value, char *errstr,
                           size_t errstr_size)
{
    PGresult *res = NULL;
    lw_err_t err = lookup(b, ST_GET_INT, key, &res, "get int", errstr, errstr_size);
    if (err == LW_OK) {
        *value = col_i64(res, 0, 0);
        PQclear(res);
    }
    return err;
}

static lw_err_t pg_counters(lw_store_backend_t *b, lw_store_counter_cb cb, void *ud, char *errstr,
                            size_t errstr_size)
{
    PGresult *res = NULL;
    lw_err_t err = read_begin(b, ST_COUNTERS, NULL, "read counters", &res, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        cb(ud, PQgetvalue(res, i, 0), col_i64(res, i, 1));
    }
    return read_end(b, res, LW_OK);
}

/* A cell row's sum (columns 2, 4, 5: sum, sum_comp, sum_micros) as lw_decsum_value reads it. */
static double cell_sum(const PGresult *res, int row)
{
    const lw_decsum_t d = {{col_f64(res, row, 2), col_f64(res, row, 4)}, 0, col_i64(res, row, 5)};
    return lw_decsum_value(&d);
}

static lw_err_t pg_read_cells(lw_store_backend_t *b, const char *metric, int64_t from_ms,
                              int64_t to_ms, lw_store_cell_cb cb, void *ud, char *errstr,
                              size_t errstr_size)
{
    lw_err_t err = check_idle(b, "read cells", errstr, errstr_size);
    bool more = err == LW_OK && from_ms < to_ms;
    while (more) {
        params_t p = {0};
        PGresult *res = NULL;
        p_text(&p, metric);
        p_i64(&p, from_ms);
        p_i64(&p, to_ms);
        err = run(b, ST_READ_CELLS, &p, &res, "read cells", errstr, errstr_size);
        if (err != LW_OK) {
            break;
        }
        int rows = PQntuples(res);
        more = rows == LW_PG_PAGE;
        b->iterating = true;
        for (int i = 0; i < rows; i++) {
            lw_cell_t cell = {
                .bucket_ms = col_i64(res, i, 0),
                .count = col_i64(res, i, 1),
                .sum = cell_sum(res, i),
            };
            if (!PQgetisnull(res, i, 3)) {
                cell.hll = (const uint8_t *)PQgetvalue(res, i, 3);
                cell.hll_len = (size_t)PQgetlength(res, i, 3);
            }
            if (cb(ud, &cell) != 0) {
                more = false;
                break;
            }
            if (cell.bucket_ms == INT64_MAX) {
                more = false;
                break;
            }
            from_ms = cell.bucket_ms + 1;
        }
        b->iterating = false;
        PQclear(res);
        more = more && from_ms < to_ms && from_ms != INT64_MIN;
    }
    return err;
}

static lw_err_t pg_bucket_range(lw_store_backend_t *b, int64_t *min_ms, int64_t *max_ms,
                                char *errstr, size_t errstr_size)
{
    PGresult *res = NULL;
    lw_err_t err = run(b, ST_BUCKET_RANGE, NULL, &res, "bucket range", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    if (PQgetisnull(res, 0, 0)) {
        err = LW_ERR_NOT_FOUND; /* min/max over no rows */
    } else {
        *min_ms = col_i64(res, 0, 0);
        *max_ms = col_i64(res, 0, 1);
    }
    PQclear(res);
    return err;
}

static lw_err_t pg_set_blob(lw_store_backend_t *b, const char *key, const void *data, size_t len,
                            char *errstr, size_t errstr_size)
{
    if (len > (size_t)INT32_MAX / 2) {
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "store: blob %s too large", key);
    }
    params_t p = {0};
    p_text(&p, key);
    p_bin(&p, len ? data : "", len);
    return keyed_write(b, ST_SET_BLOB, &p, "set blob", errstr, errstr_size);
}

static lw_err_t pg_get_blob(lw_store_backend_t *b, const char *key, lw_buf_t *out, char *errstr,
                            size_t errstr_size)
{
    PGresult *res = NULL;
    lw_err_t err = lookup(b, ST_GET_BLOB, key, &res, "get blob", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    size_t n = (size_t)PQgetlength(res, 0, 0);
    if (n > 0 && lw_buf_append(out, PQgetvalue(res, 0, 0), n) != LW_OK) {
        err = lw_seterr(errstr, errstr_size, out->err, "store: blob %s: does not fit", key);
    }
    PQclear(res);
    return err;
}

static lw_err_t pg_add_verdict(lw_store_backend_t *b, const lw_verdict_row_t *v, char *errstr,
                               size_t errstr_size)
{
    params_t p = {0};
    p_text(&p, v->edge);
    p_i64(&p, v->as_of_ms);
    p_text(&p, v->verdict);
    p_f64(&p, v->p);
    p_f64(&p, v->q);
    p_i64(&p, v->lag);
    p_f64(&p, v->coef);
    p_f64(&p, v->oos);
    return keyed_write(b, ST_ADD_VERDICT, &p, "add verdict", errstr, errstr_size);
}

static lw_err_t pg_edge_led(lw_store_backend_t *b, const char *edge, int64_t before_ms, bool *led,
                            char *errstr, size_t errstr_size)
{
    params_t p = {0};
    PGresult *res = NULL;
    p_text(&p, edge);
    p_i64(&p, before_ms);
    lw_err_t err = run(b, ST_EDGE_LED, &p, &res, "edge led", errstr, errstr_size);
    *led = err == LW_OK && PQntuples(res) > 0;
    PQclear(res);
    return err;
}

/* Every read's frame (check idle, run, iterate, clear), as pg_positions; rows differ. */
static lw_err_t pg_read_verdicts(lw_store_backend_t *b, const char *edge, int64_t from_ms,
                                 lw_store_verdict_cb cb, void *ud, char *errstr, size_t errstr_size)
{
    params_t p = {0};
    PGresult *res = NULL;
    p_text(&p, edge);
    p_i64(&p, from_ms);
    lw_err_t err = read_begin(b, ST_READ_VERDICTS, &p, "read verdicts", &res, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        lw_verdict_row_t v = {
            .edge = PQgetvalue(res, i, 0),
            .as_of_ms = col_i64(res, i, 1),
            .verdict = PQgetvalue(res, i, 2),
            .p = col_f64(res, i, 3),
            .q = col_f64(res, i, 4),
            .lag = col_i32(res, i, 5),
            .coef = col_f64(res, i, 6),
            .oos = col_f64(res, i, 7),
        };
        if (cb(ud, &v)) {
            break;
        }
    }
    return read_end(b, res, LW_OK);
}

static lw_err_t pg_put_exp_assign(lw_store_backend_t *b, const lw_exp_assign_t *a, char *errstr,
                                  size_t errstr_size)
{
    params_t p = {0};
    p_text(&p, a->experiment);
    p_i64(&p, (int64_t)a->user_hash);
    p_text(&p, a->variant);
    p_i64(&p, a->exposed_ms);
    p_i64(&p, (int64_t)a->seen[0]);
    p_i64(&p, (int64_t)a->seen[1]);
    return keyed_write(b, ST_PUT_EXP_ASSIGN, &p, "put assignment", errstr, errstr_size);
}

/* Pages by the key (experiment, user_hash); no experiment is named "", so ("", min) starts. */
static lw_err_t pg_exp_assigns(lw_store_backend_t *b, lw_store_exp_assign_cb cb, void *ud,
                               char *errstr, size_t errstr_size)
{
    char last_exp[LW_PG_MAX_TARGET] = "";
    int64_t last_hash = INT64_MIN;
    lw_err_t err = check_idle(b, "read assignments", errstr, errstr_size);
    bool more = err == LW_OK;
    while (more) {
        params_t p = {0};
        PGresult *res = NULL;
        p_text(&p, last_exp);
        p_i64(&p, last_hash);
        err = run(b, ST_EXP_ASSIGNS, &p, &res, "read assignments", errstr, errstr_size);
        if (err != LW_OK) {
            break;
        }
        int rows = PQntuples(res);
        more = rows == LW_PG_PAGE;
        b->iterating = true;
        for (int i = 0; i < rows; i++) {
            lw_exp_assign_t a = {
                .experiment = PQgetvalue(res, i, 0),
                .user_hash = (uint64_t)col_i64(res, i, 1),
                .variant = PQgetvalue(res, i, 2),
                .exposed_ms = col_i64(res, i, 3),
                .seen = {(uint64_t)col_i64(res, i, 4), (uint64_t)col_i64(res, i, 5)},
            };
            if (cb(ud, &a) != 0) {
                more = false;
                break;
            }
            snprintf(last_exp, sizeof last_exp, "%s", a.experiment);
            last_hash = (int64_t)a.user_hash;
        }
        b->iterating = false;
        PQclear(res);
    }
    return err;
}

/* A float8[] literal: {x,y,...} with %.17g (round-trips exactly). */
static void array_text(char *out, size_t size, const double *v, uint32_t n)
{
    size_t used = (size_t)snprintf(out, size, "{");
    for (uint32_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%.17g", i ? "," : "", v[i]);
    if (used < size)
        snprintf(out + used, size - used, "}");
}

/* A binary float8[] of one dimension into out[max]: its length, or -1 when it is not one. */
static int col_f64_array(const PGresult *r, int row, int col, double *out, int max)
{
    const char *v = PQgetvalue(r, row, col);
    int len = PQgetlength(r, row, col);
    if (len < 12)
        return -1;
    int ndim = (int)(be_u64(v) >> 32);
    if (ndim == 0)
        return 0;
    if (ndim != 1 || len < 20)
        return -1;
    int n = (int)(be_u64(v + 12) >> 32);
    if (n < 0 || n > max || len != 20 + 12 * n)
        return -1;
    for (int i = 0; i < n; i++) {
        const char *e = v + 20 + 12 * i;
        if ((int)(be_u64(e) >> 32) != 8)
            return -1; /* NULL element */
        uint64_t u = be_u64(e + 4);
        memcpy(&out[i], &u, sizeof out[i]);
    }
    return n;
}

static lw_err_t pg_add_exp_cell(lw_store_backend_t *b, const lw_exp_cell_t *c, char *errstr,
                                size_t errstr_size)
{
    if (c->nb == 0 || c->nb > LW_EXP_CELL_MAX_BUCKETS)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "store: add experiment cell: %u buckets, not 1..%d", c->nb,
                         LW_EXP_CELL_MAX_BUCKETS);
    params_t p = {0};
    array_text(b->vec_txt[0], sizeof b->vec_txt[0], c->num, c->nb);
    array_text(b->vec_txt[1], sizeof b->vec_txt[1], c->den, c->nb);
    p_text(&p, c->experiment);
    p_text(&p, c->variant);
    p_text(&p, c->metric);
    p_i64(&p, c->window);
    p_text(&p, b->vec_txt[0]);
    p_text(&p, b->vec_txt[1]);
    return keyed_write(b, ST_ADD_EXP_CELL, &p, "add experiment cell", errstr, errstr_size);
}

static lw_err_t pg_exp_cells(lw_store_backend_t *b, lw_store_exp_cell_cb cb, void *ud, char *errstr,
                             size_t errstr_size)
{
    PGresult *res = NULL;
    lw_err_t err =
        read_begin(b, ST_EXP_CELLS, NULL, "read experiment cells", &res, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        lw_exp_cell_t c = {
            .experiment = PQgetvalue(res, i, 0),
            .variant = PQgetvalue(res, i, 1),
            .metric = PQgetvalue(res, i, 2),
            .window = col_i32(res, i, 3),
            .num = b->vec_num,
            .den = b->vec_den,
        };
        int nn = col_f64_array(res, i, 4, b->vec_num, LW_EXP_CELL_MAX_BUCKETS);
        int nd = col_f64_array(res, i, 5, b->vec_den, LW_EXP_CELL_MAX_BUCKETS);
        if (nn < 0 || nd < 0) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                            "store: experiment cell %s/%s/%s: not a vector of at most %d doubles",
                            c.experiment, c.variant, c.metric, LW_EXP_CELL_MAX_BUCKETS);
            break;
        }
        for (int k = nd; k < nn; k++)
            b->vec_den[k] = 0;
        for (int k = nn; k < nd; k++)
            b->vec_num[k] = 0;
        c.nb = (uint32_t)(nn > nd ? nn : nd);
        if (cb(ud, &c)) {
            break;
        }
    }
    return read_end(b, res, err);
}

/* The connection answers and the schema is the one this code uses. */
static lw_err_t pg_check(lw_store_backend_t *b, char *errstr, size_t errstr_size)
{
    int64_t version = 0;
    lw_err_t err = read_version(b->conn, &version, errstr, errstr_size);
    if (err == LW_OK && version != b->schema_version) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                        "store: schema version changed under us (%lld, opened at %d)",
                        (long long)version, b->schema_version);
    }
    return err;
}

/* ------------------------------------------------------- the fleet (store.h) */

/* A write whose result the caller reads (and PQclear()s): inside a live transaction only. */
static lw_err_t write_result(lw_store_backend_t *b, int which, const params_t *p, PGresult **res,
                             const char *what, char *errstr, size_t errstr_size)
{
    lw_err_t err = check_writable(b, what, errstr, errstr_size);
    return err == LW_OK ? run(b, which, p, res, what, errstr, errstr_size) : err;
}

static lw_err_t pg_claim(lw_store_backend_t *b, const char *source, const char *owner,
                         int64_t *epoch, int64_t *max_time, char *errstr, size_t errstr_size)
{
    params_t p = {0};
    PGresult *res = NULL;
    p_text(&p, source);
    p_text(&p, owner);
    lw_err_t err = write_result(b, ST_CLAIM, &p, &res, "claim", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    *epoch = col_i64(res, 0, 0);
    *max_time = PQgetisnull(res, 0, 1) ? INT64_MIN : col_i64(res, 0, 1);
    PQclear(res);
    return LW_OK;
}

static lw_err_t pg_fence(lw_store_backend_t *b, const char *source, int64_t epoch, int64_t max_time,
                         bool idle, char *errstr, size_t errstr_size)
{
    params_t p = {0};
    PGresult *res = NULL;
    p_text(&p, source);
    p_i64(&p, epoch);
    if (max_time == INT64_MIN) {
        p_text(&p, NULL);
    } else {
        p_i64(&p, max_time);
    }
    p_text(&p, idle ? "true" : "false");
    lw_err_t err = write_result(b, ST_FENCE, &p, &res, "fence", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    bool ours = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (ours) {
        return LW_OK;
    }
    int64_t now = -1;
    PGresult *r2 = NULL;
    if (lookup(b, ST_OWNER_EPOCH, source, &r2, "owner epoch", NULL, 0) == LW_OK) {
        now = col_i64(r2, 0, 0);
        PQclear(r2);
    }
    return lw_seterr(errstr, errstr_size, LW_ERR_FENCED,
                     "store: %s was claimed by another member (owner epoch %lld, this member "
                     "holds %lld): the flush is refused",
                     source, (long long)now, (long long)epoch);
}

static lw_err_t pg_owner(lw_store_backend_t *b, const char *source, int64_t *epoch,
                         int64_t *max_time, char *errstr, size_t errstr_size)
{
    PGresult *res = NULL;
    lw_err_t err = lookup(b, ST_OWNER_EPOCH, source, &res, "owner", errstr, errstr_size);
    if (err == LW_OK) {
        *epoch = col_i64(res, 0, 0);
        *max_time = PQgetisnull(res, 0, 1) ? INT64_MIN : col_i64(res, 0, 1);
        PQclear(res);
    }
    return err;
}

static lw_err_t pg_global_watermark(lw_store_backend_t *b, int64_t *wm, char *errstr,
                                    size_t errstr_size)
{
    PGresult *res = NULL;
    lw_err_t err = run(b, ST_GLOBAL_WM, NULL, &res, "global watermark", errstr, errstr_size);
    if (err == LW_OK) {
        *wm = PQgetisnull(res, 0, 0) ? INT64_MIN : col_i64(res, 0, 0);
        PQclear(res);
    }
    return err;
}

static lw_err_t pg_raise_int(lw_store_backend_t *b, const char *key, int64_t value, char *errstr,
                             size_t errstr_size)
{
    return keyed_int_write(b, ST_RAISE_INT, key, value, "raise int", errstr, errstr_size);
}

/*
 * The evaluator lease: a session advisory lock on this connection.  Held:
 * a round trip confirms the session still lives (a server that ended it,
 * e.g. after LW_PG_LEASE_IDLE_TIMEOUT of silence while this process was
 * stopped, took the lock with it).  Not held: try to take it; once taken,
 * the session gets idle_session_timeout, so a holder that stops answering
 * (SIGSTOP, a frozen VM) loses it after that long, and one that dies loses
 * it at once (the server sees the connection close).
 */
static lw_err_t pg_lease(lw_store_backend_t *b, bool *held, char *errstr, size_t errstr_size)
{
    *held = false;
    if (b->in_txn) {
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "store: lease inside a transaction");
    }
    if (b->lease && exec(b->conn, "SELECT 1", "lease", errstr, errstr_size) != LW_OK) {
        /* lost: said once (the caller must reload what another holder may have changed) */
        b->lease = false;
        return LW_OK;
    }
    if (!b->lease) {
        lw_err_t err = reconnect(b, "lease", errstr, errstr_size);
        int64_t got = 0;
        if (err == LW_OK) {
            err = query_i64(b->conn, "SELECT pg_try_advisory_lock(" LW_PG_LEASE_LOCK ")::int::int8",
                            &got, errstr, errstr_size);
        }
        if (err == LW_OK && got) {
            b->lease = true;
            err = exec(b->conn, "SET idle_session_timeout = '" LW_PG_LEASE_IDLE_TIMEOUT "'",
                       "lease", errstr, errstr_size);
        }
        if (err != LW_OK) {
            return err;
        }
    }
    *held = b->lease;
    return LW_OK;
}

const lw_store_ops_t lw_store_pg_ops = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .schema_version = pg_schema_version,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .in_transaction = pg_in_transaction,
    .add_cell = pg_add_cell,
    .read_cells = pg_read_cells,
    .bucket_range = pg_bucket_range,
    .set_position = pg_set_position,
    .get_position = pg_get_position,
    .positions = pg_positions,
    .set_int = pg_set_int,
    .get_int = pg_get_int,
    .add_counter = pg_add_counter,
    .counters = pg_counters,
    .set_blob = pg_set_blob,
    .get_blob = pg_get_blob,
    .add_verdict = pg_add_verdict,
    .edge_led = pg_edge_led,
    .read_verdicts = pg_read_verdicts,
    .put_exp_assign = pg_put_exp_assign,
    .exp_assigns = pg_exp_assigns,
    .add_exp_cell = pg_add_exp_cell,
    .exp_cells = pg_exp_cells,
    .check = pg_check,
    .claim = pg_claim,
    .fence = pg_fence,
    .owner = pg_owner,
    .global_watermark = pg_global_watermark,
    .raise_int = pg_raise_int,
    .lease = pg_lease,
};
