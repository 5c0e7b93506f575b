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
 * Files.  This file connects, migrates, runs transactions and holds the
 * cells, positions, keyed rows (ints, counters, blobs), verdicts and the ops
 * table; store_pg_conn.c runs statements (reconnect, errors, read frames,
 * the paged read), store_pg_exp.c holds the experiment tables and
 * store_pg_fleet.c the owner epochs and the evaluator lease; their shared
 * state and helpers are in store_pg_conn.h (internal to the backend).
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
#include "leadwatch/store/store_pg_conn.h"

#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#define LW_PG_SCHEMA_VERSION 6
#define LW_PG_MAX_PASSWORD 1024
#define LW_PG_MIGRATE_LOCK "7810756212871492707" /* advisory lock key: "leadwatc" as int8 */
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
lw_err_t lw_pg_prepare_session(lw_store_backend_t *b, char *errstr, size_t errstr_size)
{
    PQsetNoticeProcessor(b->conn, drop_notice, NULL);
    lw_err_t err = lw_pg_exec(b->conn,
                              b->readonly ? "SET default_transaction_read_only = on"
                                          : "SET default_transaction_read_only = off",
                              "session setup", errstr, errstr_size);
    if (err == LW_OK) {
        err = lw_pg_exec(
            b->conn,
            "SELECT set_config('idle_in_transaction_session_timeout', '" LW_PG_IDLE_TIMEOUT
            "', false) WHERE current_setting('idle_in_transaction_session_timeout') = '0'",
            "session setup", errstr, errstr_size);
    }
    for (int i = 0; i < ST_COUNT && err == LW_OK; i++) {
        char name[16];
        snprintf(name, sizeof name, "lw%d", i);
        PGresult *res = PQprepare(b->conn, name, statement_sql[i], 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            err = lw_pg_fail(b->conn, res, "preparing statements", errstr, errstr_size);
        }
        PQclear(res);
    }
    return err;
}

static lw_err_t read_version(PGconn *conn, int64_t *version, char *errstr, size_t errstr_size)
{
    int64_t has_table = 0;
    lw_err_t err =
        lw_pg_query_i64(conn, "SELECT (to_regclass('leadwatch_schema') IS NOT NULL)::int::int8",
                        &has_table, errstr, errstr_size);
    if (err != LW_OK || !has_table) {
        *version = 0;
        return err;
    }
    return lw_pg_query_i64(conn, "SELECT max(version)::int8 FROM leadwatch_schema", version, errstr,
                           errstr_size);
}

/* Bring the database to version `target` with migrations[target - 1], in one transaction. */
static lw_err_t migrate_step(PGconn *conn, int target, char *errstr, size_t errstr_size)
{
    char what[64], record[96];
    int64_t version = 0;
    snprintf(what, sizeof what, "migrating to schema version %d", target);
    snprintf(record, sizeof record, "INSERT INTO leadwatch_schema(version) VALUES(%d)", target);
    lw_err_t err = lw_pg_exec(conn, "BEGIN", what, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    err = lw_pg_exec(conn, "SELECT pg_advisory_xact_lock(" LW_PG_MIGRATE_LOCK ")", what, errstr,
                     errstr_size);
    if (err == LW_OK) {
        err = lw_pg_exec(conn,
                         "CREATE TABLE IF NOT EXISTS leadwatch_schema(version integer PRIMARY KEY,"
                         " applied_at timestamptz NOT NULL DEFAULT now())",
                         what, errstr, errstr_size);
    }
    if (err == LW_OK) {
        err = read_version(conn, &version, errstr, errstr_size);
    }
    if (err == LW_OK && version < target) {
        err = lw_pg_exec(conn, migrations[target - 1], what, errstr, errstr_size);
        if (err == LW_OK) {
            err = lw_pg_exec(conn, record, what, errstr, errstr_size);
        }
    }
    if (err == LW_OK) {
        err = lw_pg_exec(conn, "COMMIT", what, errstr, errstr_size);
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
        err = lw_pg_query_i64(b->conn, "SELECT (to_regclass('cells') IS NOT NULL)::int::int8",
                              &foreign, errstr, errstr_size);
    }
    if (err == LW_OK && foreign) {
        /* Members starting at once on a new database: another one may have committed its first
         * migration (which creates 'cells' and records version 1 in one transaction, under
         * LW_PG_MIGRATE_LOCK) between the two reads above, and the database looked like another
         * application's (it_fleet_pg saw it once).  Read both again under that lock: no
         * migration is then half-way. */
        const char *what = "reading the store's schema version";
        err = lw_pg_exec(b->conn, "BEGIN", what, errstr, errstr_size);
        if (err == LW_OK) {
            err = lw_pg_exec(b->conn, "SELECT pg_advisory_xact_lock(" LW_PG_MIGRATE_LOCK ")", what,
                             errstr, errstr_size);
            if (err == LW_OK)
                err = read_version(b->conn, &version, errstr, errstr_size);
            if (err == LW_OK && version > 0)
                foreign = 0;
            /* a read: its end cannot lose anything; an error above is the one reported */
            lw_pg_exec(b->conn, err == LW_OK ? "COMMIT" : "ROLLBACK", what, NULL, 0);
        }
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
        err = lw_pg_prepare_session(b, errstr, errstr_size);
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
    (void)lw_pg_run(b, ST_ADD_COUNTER, &p, NULL, "count position conflicts", NULL, 0);
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
    err = lw_pg_reconnect(b, "begin", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    err = lw_pg_exec(b->conn, "BEGIN", "begin", errstr, errstr_size);
    if (err == LW_OK) {
        b->in_txn = true;
        b->conflicts = 0;
    }
    return err;
}

static lw_err_t pg_commit(lw_store_backend_t *b, char *errstr, size_t errstr_size)
{
    lw_err_t err = lw_pg_check_writable(b, "commit", errstr, errstr_size);
    if (err == LW_ERR_STORE) {
        pg_rollback(b);
    }
    if (err != LW_OK) {
        return err;
    }
    PGresult *res = PQexec(b->conn, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        err = lw_pg_fail(b->conn, res, "commit", errstr, errstr_size);
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
    lw_err_t err = lw_pg_check_writable(b, "add cell", errstr, errstr_size);
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
    err = lw_pg_run(b, ST_ADD_CELL, &p, &res, "add cell", errstr, errstr_size);
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
    return lw_pg_run(b, ST_SET_HLL, &u, NULL, "add cell (merge sketch)", errstr, errstr_size);
}

static lw_err_t pg_get_position(lw_store_backend_t *b, const char *source, lw_position_t *pos,
                                char *errstr, size_t errstr_size)
{
    params_t p = {0};
    PGresult *res = NULL;
    p_text(&p, source);
    lw_err_t err = lw_pg_run(b, ST_GET_POSITION, &p, &res, "get position", errstr, errstr_size);
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
    lw_err_t err = lw_pg_check_writable(b, "set position", errstr, errstr_size);
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
    err = lw_pg_run(b, which, &p, &res, "set position", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    bool moved = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return moved ? LW_OK : position_conflict(b, source, expected, errstr, errstr_size);
}

static lw_err_t pg_positions(lw_store_backend_t *b, const char *prefix, lw_store_position_cb cb,
                             void *ud, char *errstr, size_t errstr_size)
{
    params_t p = {0};
    PGresult *res = NULL;
    p_text(&p, prefix);
    lw_err_t err =
        lw_pg_read_begin(b, ST_POSITIONS, &p, "read positions", &res, errstr, errstr_size);
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
    return lw_pg_read_end(b, res, LW_OK);
}

static lw_err_t pg_set_int(lw_store_backend_t *b, const char *key, int64_t value, char *errstr,
                           size_t errstr_size)
{
    return lw_pg_keyed_int_write(b, ST_SET_INT, key, value, "set int", errstr, errstr_size);
}

static lw_err_t pg_add_counter(lw_store_backend_t *b, const char *name, int64_t delta, char *errstr,
                               size_t errstr_size)
{
    return lw_pg_keyed_int_write(b, ST_ADD_COUNTER, name, delta, "add counter", errstr,
                                 errstr_size);
}

static lw_err_t pg_get_int(lw_store_backend_t *b, const char *key, int64_t *value, char *errstr,
                           size_t errstr_size)
{
    PGresult *res = NULL;
    lw_err_t err = lw_pg_lookup(b, ST_GET_INT, key, &res, "get int", errstr, errstr_size);
    return lw_pg_take_i64s(err, res, (int64_t *const[]){value}, 1); /* value is NOT NULL */
}

static lw_err_t pg_counters(lw_store_backend_t *b, lw_store_counter_cb cb, void *ud, char *errstr,
                            size_t errstr_size)
{
    PGresult *res = NULL;
    lw_err_t err =
        lw_pg_read_begin(b, ST_COUNTERS, NULL, "read counters", &res, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        cb(ud, PQgetvalue(res, i, 0), col_i64(res, i, 1));
    }
    return lw_pg_read_end(b, res, LW_OK);
}

/* A cell row's sum (columns 2, 4, 5: sum, sum_comp, sum_micros) as lw_decsum_value reads it. */
static double cell_sum(const PGresult *res, int row)
{
    const lw_decsum_t d = {{col_f64(res, row, 2), col_f64(res, row, 4)}, 0, col_i64(res, row, 5)};
    return lw_decsum_value(&d);
}

/* read_cells' page position and callback (lw_pg_read_pages' ctx). */
typedef struct {
    const char *metric;
    int64_t from_ms, to_ms; /* the next page starts at from_ms */
    lw_store_cell_cb cb;
    void *ud;
} cells_read_t;

static bool cells_page(void *ctx, params_t *p)
{
    cells_read_t *r = ctx;
    if (r->from_ms >= r->to_ms) {
        return false;
    }
    p_text(p, r->metric);
    p_i64(p, r->from_ms);
    p_i64(p, r->to_ms);
    return true;
}

static int cells_row(void *ctx, const PGresult *res, int i)
{
    cells_read_t *r = ctx;
    lw_cell_t cell = {
        .bucket_ms = col_i64(res, i, 0),
        .count = col_i64(res, i, 1),
        .sum = cell_sum(res, i),
    };
    if (!PQgetisnull(res, i, 3)) {
        cell.hll = (const uint8_t *)PQgetvalue(res, i, 3);
        cell.hll_len = (size_t)PQgetlength(res, i, 3);
    }
    if (r->cb(r->ud, &cell) != 0 || cell.bucket_ms == INT64_MAX) {
        return 1;
    }
    r->from_ms = cell.bucket_ms + 1;
    return 0;
}

static lw_err_t pg_read_cells(lw_store_backend_t *b, const char *metric, int64_t from_ms,
                              int64_t to_ms, lw_store_cell_cb cb, void *ud, char *errstr,
                              size_t errstr_size)
{
    cells_read_t r = {metric, from_ms, to_ms, cb, ud};
    return lw_pg_read_pages(b, ST_READ_CELLS, "read cells", cells_page, cells_row, &r, errstr,
                            errstr_size);
}

static lw_err_t pg_bucket_range(lw_store_backend_t *b, int64_t *min_ms, int64_t *max_ms,
                                char *errstr, size_t errstr_size)
{
    PGresult *res = NULL;
    lw_err_t err = lw_pg_run(b, ST_BUCKET_RANGE, NULL, &res, "bucket range", errstr, errstr_size);
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
    return lw_pg_keyed_write(b, ST_SET_BLOB, &p, "set blob", errstr, errstr_size);
}

static lw_err_t pg_get_blob(lw_store_backend_t *b, const char *key, lw_buf_t *out, char *errstr,
                            size_t errstr_size)
{
    PGresult *res = NULL;
    lw_err_t err = lw_pg_lookup(b, ST_GET_BLOB, key, &res, "get blob", errstr, errstr_size);
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
    return lw_pg_keyed_write(b, ST_ADD_VERDICT, &p, "add verdict", errstr, errstr_size);
}

static lw_err_t pg_edge_led(lw_store_backend_t *b, const char *edge, int64_t before_ms, bool *led,
                            char *errstr, size_t errstr_size)
{
    params_t p = {0};
    PGresult *res = NULL;
    p_text(&p, edge);
    p_i64(&p, before_ms);
    lw_err_t err = lw_pg_run(b, ST_EDGE_LED, &p, &res, "edge led", errstr, errstr_size);
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
    lw_err_t err =
        lw_pg_read_begin(b, ST_READ_VERDICTS, &p, "read verdicts", &res, errstr, errstr_size);
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
    return lw_pg_read_end(b, res, LW_OK);
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
    .put_exp_assign = lw_pg_put_exp_assign,
    .exp_assigns = lw_pg_exp_assigns,
    .add_exp_cell = lw_pg_add_exp_cell,
    .exp_cells = lw_pg_exp_cells,
    .check = pg_check,
    .claim = lw_pg_claim,
    .fence = lw_pg_fence,
    .owner = lw_pg_owner,
    .global_watermark = lw_pg_global_watermark,
    .raise_int = lw_pg_raise_int,
    .lease = lw_pg_lease,
};
