/*
 * test_store.c - the SQLite store against real files in a temporary
 * directory (created under the build directory, removed afterwards).
 *
 * Covered: create/reopen, cell accumulation and sketch merging across
 * transactions, range reads, transaction atomicity (rollback, commit then
 * close, and a crash simulated by a forked child that _exit()s mid
 * transaction), positions/ints/counters round trips, the v1 -> v2 migration
 * from a file built by hand with the frozen v1 DDL, refusal of newer schemas,
 * non-SQLite files and foreign SQLite files, read-only opens, and failures
 * that must surface: SQLITE_FULL via max_page_count (works as root, unlike
 * chmod), SQLITE_BUSY from a competing writer, a corrupt stored sketch.
 * The interface: the backend chosen by target (postgresql:// refused), the
 * ops table dispatching to a fake backend, the position compare-and-set,
 * positions by prefix, a 0444 store read without leaving a -shm behind,
 * and lw_store_check finding a damaged page.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ctype.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "leadwatch/core/hll.h"
#include "leadwatch/store/store.h"
#include "leadwatch/store/store_backend.h"
#include "leadwatch/store/store_testing.h"

/* the schema version this build creates: SQLite 5, PostgreSQL 6 (v5: experiments;
 * PostgreSQL v6: the fleet's source_owners) */
#define LW_TEST_SCHEMA (pg_base ? 6 : 5)
static const char *pg_base; /* set when the contract tests run against PostgreSQL (below) */

static char tmpdir[512];

static const char *path_in(const char *name)
{
    static char buf[4][1024];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
    return p;
}

static int make_tmpdir(void **state)
{
    (void)state;
    const char *base = getenv("LW_BINARY_DIR");
    if (base == NULL || access(base, W_OK) != 0) {
        base = "/tmp";
    }
    snprintf(tmpdir, sizeof tmpdir, "%s/test_store.XXXXXX", base);
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

/* The directory is flat: remove its files, then it. */
static int remove_tmpdir(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    if (d == NULL) {
        return -1;
    }
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0) {
            remove(path_in(ent->d_name));
        }
    }
    closedir(d);
    return rmdir(tmpdir);
}

/*
 * PostgreSQL: with LW_TEST_PG_URL set (tests/it_store_pg.sh starts a server
 * and sets it), main() runs the contract tests against PostgreSQL instead,
 * each in a fresh database named after the test's file ("create.db" ->
 * lwt_create_db), created through the URL's own database.
 */
static void no_notice(void *arg, const char *message)
{
    (void)arg, (void)message;
}

static void pg_sql(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fail_msg("connect %s: %s", url, PQerrorMessage(c));
    }
    PQsetNoticeProcessor(c, no_notice, NULL);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    }
    PQclear(r);
    PQfinish(c);
}

/* `url` with its database replaced by `db` (the path between the authority and the query). */
static void pg_url_with_db(const char *url, const char *db, char *out, size_t size)
{
    const char *auth = strstr(url, "://");
    assert_non_null(auth);
    auth += 3;
    size_t host_len = strcspn(auth, "/?");
    const char *rest = strchr(auth, '?');
    snprintf(out, size, "%.*s/%s%s", (int)(auth + host_len - url), url, db, rest ? rest : "");
}

/* Where a contract test keeps its store: a file in tmpdir, or a fresh PostgreSQL database. */
static const char *target_in(const char *name)
{
    if (pg_base == NULL) {
        return path_in(name);
    }
    static char buf[4][1024];
    static int next;
    char *p = buf[next++ % 4];
    char db[64] = "lwt_", sql[160];
    for (size_t i = 0, n = 4; name[i] && n + 1 < sizeof db; i++, n++) {
        db[n] = isalnum((unsigned char)name[i]) ? (char)tolower((unsigned char)name[i]) : '_';
        db[n + 1] = '\0';
    }
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    pg_sql(pg_base, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    pg_sql(pg_base, sql);
    pg_url_with_db(pg_base, db, p, sizeof buf[0]);
    return p;
}

/* Raw SQL on a test's store, behind the store's back: one text per engine. */
static void raw_store_sql(const char *target, const char *sqlite_sql, const char *pg)
{
    if (pg_base != NULL) {
        pg_sql(target, pg);
        return;
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(target, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sqlite_sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static lw_store_t *open_ok(const char *path, int flags)
{
    char err[256] = "";
    lw_store_t *s = NULL;
    lw_err_t rc = lw_store_open(path, flags, &s, err, sizeof err);
    if (rc != LW_OK) {
        fail_msg("open %s: %s", path, err);
    }
    assert_non_null(s);
    return s;
}

#define OK(call)                                                                                   \
    do {                                                                                           \
        char ok_err_[256] = "";                                                                    \
        lw_err_t ok_rc_ = (call);                                                                  \
        if (ok_rc_ != LW_OK) {                                                                     \
            fail_msg("%s -> %s: %s", #call, lw_err_name(ok_rc_), ok_err_);                         \
        }                                                                                          \
    } while (0)
/* OK(...) calls pass ok_err_ as their errstr */
#define E ok_err_, sizeof ok_err_

static lw_hll_t *sketch(uint64_t from, uint64_t to)
{
    lw_hll_t *h = lw_hll_new();
    for (uint64_t i = from; i < to; i++) {
        lw_hll_add_hash(h, lw_hll_hash(&i, sizeof i));
    }
    return h;
}

/* Collects cells read back (copying the sketch). */
typedef struct {
    int n;
    int stop_after; /* 0 = never */
    lw_cell_t cells[16];
    lw_hll_t *merged; /* union of the sketches read, if non-NULL */
    int with_sketch;
} collect_t;

static int collect_cb(void *ud, const lw_cell_t *cell)
{
    collect_t *c = ud;
    assert_true(c->n < 16);
    c->cells[c->n] = *cell;
    c->cells[c->n].hll = NULL;
    c->n++;
    if (cell->hll != NULL) {
        c->with_sketch++;
        if (c->merged != NULL) {
            char err[128];
            assert_int_equal(
                lw_hll_merge_serialized(c->merged, cell->hll, cell->hll_len, err, sizeof err),
                LW_OK);
        }
    }
    return c->stop_after != 0 && c->n >= c->stop_after;
}

static int count_cells(lw_store_t *s, const char *metric)
{
    collect_t c = {0};
    OK(lw_store_read_cells(s, metric, INT64_MIN, INT64_MAX, collect_cb, &c, E));
    return c.n;
}

static void test_create_and_reopen(void **state)
{
    (void)state;
    const char *path = target_in("create.db");
    lw_store_t *s = open_ok(path, 0);
    assert_int_equal(lw_store_schema_version(s), LW_TEST_SCHEMA);
    int64_t lo, hi;
    assert_int_equal(lw_store_bucket_range(s, &lo, &hi, NULL, 0), LW_ERR_NOT_FOUND);

    lw_position_t pos = {.position = 4096, .fp_len = 512, .fp_hash = 42};
    OK(lw_store_begin(s, E));
    assert_true(lw_store_in_transaction(s));
    OK(lw_store_add_cell(s, "orders", 60000, 3, 7.5, NULL, E));
    OK(lw_store_add_cell(s, "orders", 120000, 1, 1.0, NULL, E));
    OK(lw_store_add_cell(s, "signups", -60000, 2, 0.0, NULL, E));
    OK(lw_store_set_position(s, "file:/var/log/events.jsonl", &pos, E));
    OK(lw_store_set_int(s, "watermark_ms", 123456789, E));
    OK(lw_store_commit(s, E));
    assert_false(lw_store_in_transaction(s));
    lw_store_close(s);

    s = open_ok(path, 0);
    assert_int_equal(lw_store_schema_version(s), LW_TEST_SCHEMA);
    collect_t c = {0};
    OK(lw_store_read_cells(s, "orders", 0, INT64_MAX, collect_cb, &c, E));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.cells[0].bucket_ms, 60000);
    assert_int_equal(c.cells[0].count, 3);
    assert_true(c.cells[0].sum == 7.5);
    assert_int_equal(c.cells[1].bucket_ms, 120000);
    assert_int_equal(c.with_sketch, 0);
    lw_position_t back;
    OK(lw_store_get_position(s, "file:/var/log/events.jsonl", &back, E));
    assert_int_equal(back.position, 4096);
    assert_int_equal(back.fp_len, 512);
    assert_int_equal(back.fp_hash, 42);
    int64_t wm;
    OK(lw_store_get_int(s, "watermark_ms", &wm, E));
    assert_int_equal(wm, 123456789);
    OK(lw_store_bucket_range(s, &lo, &hi, E));
    assert_int_equal(lo, -60000);
    assert_int_equal(hi, 120000);
    lw_store_close(s);
}

static void test_add_cell_accumulates_and_merges(void **state)
{
    (void)state;
    lw_store_t *s = open_ok(target_in("accumulate.db"), 0);
    lw_hll_t *a = sketch(0, 1000), *b = sketch(500, 1500), *big1 = sketch(0, 60000),
             *big2 = sketch(40000, 100000);

    OK(lw_store_begin(s, E));
    OK(lw_store_add_cell(s, "users", 0, 2, 1.5, a, E));
    OK(lw_store_add_cell(s, "plain", 0, 1, 1.0, NULL, E));
    OK(lw_store_add_cell(s, "dense", 0, 1, 0.0, big1, E));
    OK(lw_store_commit(s, E));

    OK(lw_store_begin(s, E));
    OK(lw_store_add_cell(s, "users", 0, 3, 2.5, b, E));
    OK(lw_store_add_cell(s, "plain", 0, 1, 1.0, NULL, E));
    OK(lw_store_add_cell(s, "dense", 0, 1, 0.0, big2, E));
    OK(lw_store_commit(s, E));

    OK(lw_store_begin(s, E));
    OK(lw_store_add_cell(s, "users", 0, 1, 1.0, NULL, E)); /* no sketch: keeps the stored one */
    OK(lw_store_commit(s, E));

    struct {
        const char *metric;
        int64_t count;
        double sum;
        double distinct; /* 0: no sketch expected */
        const lw_hll_t *x, *y;
    } want[] = {
        {"users", 6, 5.0, 1500, a, b},
        {"plain", 2, 2.0, 0, NULL, NULL},
        {"dense", 2, 0.0, 100000, big1, big2},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        lw_hll_t *got = lw_hll_new();
        collect_t c = {.merged = got};
        OK(lw_store_read_cells(s, want[i].metric, 0, 1, collect_cb, &c, E));
        assert_int_equal(c.n, 1);
        assert_int_equal(c.cells[0].count, want[i].count);
        assert_true(c.cells[0].sum == want[i].sum);
        if (want[i].distinct == 0) {
            assert_int_equal(c.with_sketch, 0);
        } else {
            assert_int_equal(c.with_sketch, 1);
            double est = lw_hll_estimate(got);
            assert_true(fabs(est - want[i].distinct) <= 0.02 * want[i].distinct);
            /* exactly the in-memory union */
            lw_hll_t *u = lw_hll_new();
            lw_hll_merge(u, want[i].x);
            lw_hll_merge(u, want[i].y);
            assert_true(lw_hll_estimate(u) == est);
            lw_hll_destroy(u);
        }
        lw_hll_destroy(got);
    }
    lw_hll_destroy(a);
    lw_hll_destroy(b);
    lw_hll_destroy(big1);
    lw_hll_destroy(big2);
    lw_store_close(s);
}

static int reenter_cb(void *ud, const lw_cell_t *cell)
{
    (void)cell;
    lw_store_t *s = ud;
    collect_t inner = {0};
    char err[128] = "";
    assert_int_equal(lw_store_read_cells(s, "m", 0, 10, collect_cb, &inner, err, sizeof err),
                     LW_ERR_INVALID);
    assert_non_null(strstr(err, "callback"));
    return 1;
}

static void test_read_cells_range(void **state)
{
    (void)state;
    lw_store_t *s = open_ok(target_in("range.db"), 0);
    OK(lw_store_begin(s, E));
    /* inserted out of order, read back oldest first */
    static const int64_t buckets[] = {5000, 1000, 3000, 2000, 4000};
    for (size_t i = 0; i < 5; i++) {
        OK(lw_store_add_cell(s, "m", buckets[i], (int64_t)i, 0.0, NULL, E));
    }
    OK(lw_store_add_cell(s, "other", 2500, 1, 0.0, NULL, E));
    OK(lw_store_commit(s, E));

    collect_t c = {0};
    OK(lw_store_read_cells(s, "m", 2000, 5000, collect_cb, &c, E)); /* [2000, 5000) */
    assert_int_equal(c.n, 3);
    assert_int_equal(c.cells[0].bucket_ms, 2000);
    assert_int_equal(c.cells[1].bucket_ms, 3000);
    assert_int_equal(c.cells[2].bucket_ms, 4000);
    assert_int_equal(c.cells[0].count, 3);

    collect_t stop = {.stop_after = 2};
    OK(lw_store_read_cells(s, "m", INT64_MIN, INT64_MAX, collect_cb, &stop, E));
    assert_int_equal(stop.n, 2);

    assert_int_equal(count_cells(s, "missing"), 0);
    OK(lw_store_read_cells(s, "m", 0, 10000, reenter_cb, s, E));
    /* the statement is usable again afterwards */
    assert_int_equal(count_cells(s, "m"), 5);

    int64_t lo, hi;
    OK(lw_store_bucket_range(s, &lo, &hi, E));
    assert_int_equal(lo, 1000);
    assert_int_equal(hi, 5000);
    lw_store_close(s);
}

static void test_rollback_discards(void **state)
{
    (void)state;
    const char *path = target_in("rollback.db");
    lw_store_t *s = open_ok(path, 0);
    lw_position_t pos = {.position = 10, .fp_len = 0, .fp_hash = 0};
    OK(lw_store_begin(s, E));
    OK(lw_store_add_cell(s, "m", 0, 1, 1.0, NULL, E));
    OK(lw_store_set_position(s, "src", &pos, E));
    OK(lw_store_commit(s, E));

    pos.position = 20;
    OK(lw_store_begin(s, E));
    OK(lw_store_add_cell(s, "m", 0, 5, 5.0, NULL, E));
    OK(lw_store_add_cell(s, "m", 60000, 1, 1.0, NULL, E));
    OK(lw_store_set_position(s, "src", &pos, E));
    OK(lw_store_add_counter(s, "late", 3, E));
    lw_store_rollback(s);
    assert_false(lw_store_in_transaction(s));

    collect_t c = {0};
    OK(lw_store_read_cells(s, "m", INT64_MIN, INT64_MAX, collect_cb, &c, E));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.cells[0].count, 1);
    lw_position_t back;
    OK(lw_store_get_position(s, "src", &back, E));
    assert_int_equal(back.position, 10);
    lw_store_close(s);

    /* and nothing of it reached the file */
    s = open_ok(path, 0);
    assert_int_equal(count_cells(s, "m"), 1);
    lw_store_close(s);
}

static void test_commit_then_close_is_durable(void **state)
{
    (void)state;
    const char *path = target_in("durable.db");
    lw_store_t *s = open_ok(path, 0);
    lw_position_t pos = {.position = 77, .fp_len = 0, .fp_hash = 0};
    OK(lw_store_begin(s, E));
    for (int i = 0; i < 10; i++) {
        OK(lw_store_add_cell(s, "m", i * 1000, 1, 0.0, NULL, E));
    }
    OK(lw_store_set_position(s, "kafka:events/0", &pos, E));
    OK(lw_store_commit(s, E));
    lw_store_close(s);

    s = open_ok(path, LW_STORE_READONLY);
    assert_int_equal(count_cells(s, "m"), 10);
    lw_position_t back;
    OK(lw_store_get_position(s, "kafka:events/0", &back, E));
    assert_int_equal(back.position, 77);
    lw_store_close(s);
}

/*
 * A process that dies mid-transaction: the child commits one transaction,
 * then writes enough 16 KiB sketches that SQLite spills uncommitted pages
 * into the WAL, and _exit()s without committing or closing.
 */
static void test_crash_before_commit(void **state)
{
    (void)state;
    const char *path = target_in("crash.db");
    lw_store_t *s = open_ok(path, 0);
    lw_store_close(s);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        lw_store_t *cs = NULL;
        lw_position_t pos = {.position = 100, .fp_len = 0, .fp_hash = 0};
        lw_hll_t *h = sketch(0, 100000);
        if (lw_store_open(path, 0, &cs, NULL, 0) != LW_OK || lw_store_begin(cs, NULL, 0) != LW_OK ||
            lw_store_add_cell(cs, "committed", 0, 1, 0.0, h, NULL, 0) != LW_OK ||
            lw_store_set_position(cs, "src", &pos, NULL, 0) != LW_OK ||
            lw_store_commit(cs, NULL, 0) != LW_OK || lw_store_begin(cs, NULL, 0) != LW_OK) {
            _exit(2);
        }
        for (int i = 0; i < 400; i++) { /* 400 x 16 KiB, beyond the 2 MiB page cache */
            if (lw_store_add_cell(cs, "uncommitted", i * 1000, 1, 0.0, h, NULL, 0) != LW_OK) {
                _exit(3);
            }
        }
        pos.position = 999;
        if (lw_store_set_position(cs, "src", &pos, NULL, 0) != LW_OK) {
            _exit(4);
        }
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* the uncommitted pages did reach the WAL (no commit frame), so recovery must skip them */
    struct stat st;
    char wal[1100];
    snprintf(wal, sizeof wal, "%s-wal", path);
    if (pg_base == NULL) {
        assert_int_equal(stat(wal, &st), 0);
        printf("# WAL left by the crashed writer: %lld bytes\n", (long long)st.st_size);
        assert_true(st.st_size > 1024 * 1024);
    }

    s = open_ok(path, 0);
    assert_int_equal(count_cells(s, "committed"), 1);
    assert_int_equal(count_cells(s, "uncommitted"), 0);
    lw_position_t back;
    OK(lw_store_get_position(s, "src", &back, E));
    assert_int_equal(back.position, 100);
    /* the store is usable after recovery */
    OK(lw_store_begin(s, E));
    OK(lw_store_add_cell(s, "uncommitted", 0, 1, 0.0, NULL, E));
    OK(lw_store_commit(s, E));
    assert_int_equal(count_cells(s, "uncommitted"), 1);
    lw_store_close(s);
}

static void test_positions_and_ints(void **state)
{
    (void)state;
    const char *path = target_in("positions.db");
    lw_store_t *s = open_ok(path, 0);
    static const lw_position_t cases[] = {
        {.position = 0, .fp_len = 0, .fp_hash = 0},
        {.position = INT64_MAX, .fp_len = 4096, .fp_hash = UINT64_C(0xFEDCBA9876543210)},
        {.position = 1, .fp_len = 1, .fp_hash = UINT64_MAX},
        {.position = 123, .fp_len = 64, .fp_hash = UINT64_C(0x8000000000000000)},
    };
    enum { N = sizeof cases / sizeof cases[0] };
    char names[N][32];
    OK(lw_store_begin(s, E));
    for (size_t i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "source-%zu", i);
        lw_position_t first = {.position = -1, .fp_len = -1, .fp_hash = 1};
        OK(lw_store_set_position(s, names[i], &first, E));
        OK(lw_store_set_position(s, names[i], &cases[i], E)); /* overwrites */
    }
    OK(lw_store_set_int(s, "watermark_ms", -5, E));
    OK(lw_store_set_int(s, "watermark_ms", INT64_MIN, E));
    OK(lw_store_set_int(s, "other", INT64_MAX, E));
    OK(lw_store_commit(s, E));
    lw_store_close(s);

    s = open_ok(path, 0);
    for (size_t i = 0; i < N; i++) {
        lw_position_t back;
        OK(lw_store_get_position(s, names[i], &back, E));
        assert_int_equal(back.position, cases[i].position);
        assert_int_equal(back.fp_len, cases[i].fp_len);
        assert_true(back.fp_hash == cases[i].fp_hash);
    }
    char err[64] = "untouched";
    lw_position_t none;
    assert_int_equal(lw_store_get_position(s, "nope", &none, err, sizeof err), LW_ERR_NOT_FOUND);
    assert_string_equal(err, "untouched");
    int64_t v;
    OK(lw_store_get_int(s, "watermark_ms", &v, E));
    assert_true(v == INT64_MIN);
    OK(lw_store_get_int(s, "other", &v, E));
    assert_true(v == INT64_MAX);
    assert_int_equal(lw_store_get_int(s, "nope", &v, err, sizeof err), LW_ERR_NOT_FOUND);
    assert_string_equal(err, "untouched");
    lw_store_close(s);
}

typedef struct {
    int n;
    char names[8][32];
    int64_t values[8];
} counters_t;

static void counter_cb(void *ud, const char *name, int64_t value)
{
    counters_t *c = ud;
    assert_true(c->n < 8);
    snprintf(c->names[c->n], sizeof c->names[0], "%s", name);
    c->values[c->n++] = value;
}

static void test_counters(void **state)
{
    (void)state;
    const char *path = target_in("counters.db");
    lw_store_t *s = open_ok(path, 0);
    counters_t c = {0};
    OK(lw_store_counters(s, counter_cb, &c, E));
    assert_int_equal(c.n, 0);

    OK(lw_store_begin(s, E));
    OK(lw_store_add_counter(s, "rejected.invalid_json", 2, E));
    OK(lw_store_add_counter(s, "late", 1, E));
    OK(lw_store_add_counter(s, "rejected.invalid_json", 5, E));
    OK(lw_store_commit(s, E));
    OK(lw_store_begin(s, E));
    OK(lw_store_add_counter(s, "late", 10, E));
    OK(lw_store_add_counter(s, "adjust", -3, E));
    OK(lw_store_commit(s, E));
    lw_store_close(s);

    s = open_ok(path, LW_STORE_READONLY);
    OK(lw_store_counters(s, counter_cb, &c, E));
    assert_int_equal(c.n, 3);
    assert_string_equal(c.names[0], "adjust");
    assert_int_equal(c.values[0], -3);
    assert_string_equal(c.names[1], "late");
    assert_int_equal(c.values[1], 11);
    assert_string_equal(c.names[2], "rejected.invalid_json");
    assert_int_equal(c.values[2], 7);
    lw_store_close(s);
}

/* ---- experiments (issue 16): assignments and additive cells ---- */

typedef struct {
    int n;
    char exp[4][32], var[4][32];
    uint64_t user[4];
    int64_t exposed[4];
    uint64_t seen[4][2];
} assigns_t;

static int assign_cb(void *ud, const lw_exp_assign_t *a)
{
    assigns_t *c = ud;
    assert_true(c->n < 4);
    snprintf(c->exp[c->n], sizeof c->exp[0], "%s", a->experiment);
    snprintf(c->var[c->n], sizeof c->var[0], "%s", a->variant);
    c->user[c->n] = a->user_hash;
    c->exposed[c->n] = a->exposed_ms;
    c->seen[c->n][0] = a->seen[0];
    c->seen[c->n][1] = a->seen[1];
    c->n++;
    return 0;
}

typedef struct {
    int n;
    char names[8][3][32];
    int window[8];
    uint32_t nb[8];
    double num[8][4], den[8][4];
} ecells_t;

static int ecell_cb(void *ud, const lw_exp_cell_t *cell)
{
    ecells_t *c = ud;
    assert_true(c->n < 8 && cell->nb <= 4);
    snprintf(c->names[c->n][0], 32, "%s", cell->experiment);
    snprintf(c->names[c->n][1], 32, "%s", cell->variant);
    snprintf(c->names[c->n][2], 32, "%s", cell->metric);
    c->window[c->n] = cell->window;
    c->nb[c->n] = cell->nb;
    for (uint32_t b = 0; b < cell->nb; b++) {
        c->num[c->n][b] = cell->num[b];
        c->den[c->n][b] = cell->den[b];
    }
    c->n++;
    return 0;
}

/* Counts rows in order: every key read once, ascending (cells by bucket). */
typedef struct {
    int n, stop_after;
    int64_t last;
    bool ordered;
    uint64_t key_sum;
} pages_t;

static int page_cell_cb(void *ud, const lw_cell_t *cell)
{
    pages_t *c = ud;
    c->ordered = c->ordered && (c->n == 0 || cell->bucket_ms > c->last);
    c->last = cell->bucket_ms;
    c->key_sum += (uint64_t)cell->bucket_ms;
    c->n++;
    return c->stop_after != 0 && c->n >= c->stop_after;
}

static int page_assign_cb(void *ud, const lw_exp_assign_t *a)
{
    pages_t *c = ud;
    c->key_sum += a->user_hash + (strcmp(a->experiment, "exp_b") == 0 ? 1000000 : 0);
    c->n++;
    return c->stop_after != 0 && c->n >= c->stop_after;
}

/*
 * Reads longer than one page (PostgreSQL pages cells and assignments by
 * their key, 1000 rows a query): every row once, in order, and a callback
 * that stops in the second page stops the read.
 */
static void test_reads_span_pages(void **state)
{
    (void)state;
    enum { N = 2345 };
    lw_store_t *s = open_ok(target_in("pages.db"), 0);
    OK(lw_store_begin(s, E));
    uint64_t cell_sum = 0, assign_sum = 0;
    for (int i = 0; i < N; i++) {
        OK(lw_store_add_cell(s, "m", (int64_t)i * 1000, 1, 0.0, NULL, E));
        cell_sum += (uint64_t)i * 1000;
        lw_exp_assign_t a = {i % 2 ? "exp_b" : "exp_a", "control", (uint64_t)i, 1000, {0, 0}};
        OK(lw_store_put_exp_assign(s, &a, E));
        assign_sum += (uint64_t)i + (i % 2 ? 1000000 : 0);
    }
    OK(lw_store_commit(s, E));

    pages_t all = {.ordered = true};
    OK(lw_store_read_cells(s, "m", INT64_MIN, INT64_MAX, page_cell_cb, &all, E));
    assert_int_equal(all.n, N);
    assert_true(all.ordered);
    assert_true(all.key_sum == cell_sum);

    pages_t range = {.ordered = true}; /* [500 s, 1700 s): 1200 buckets over two pages */
    OK(lw_store_read_cells(s, "m", 500000, 1700000, page_cell_cb, &range, E));
    assert_int_equal(range.n, 1200);
    assert_true(range.ordered && range.last == 1699000);

    pages_t stop = {.ordered = true, .stop_after = 1500};
    OK(lw_store_read_cells(s, "m", INT64_MIN, INT64_MAX, page_cell_cb, &stop, E));
    assert_int_equal(stop.n, 1500);

    pages_t as = {0};
    OK(lw_store_exp_assigns(s, page_assign_cb, &as, E));
    assert_int_equal(as.n, N);
    assert_true(as.key_sum == assign_sum);
    pages_t as_stop = {.stop_after = 1001};
    OK(lw_store_exp_assigns(s, page_assign_cb, &as_stop, E));
    assert_int_equal(as_stop.n, 1001);
    lw_store_close(s);
}

static void test_experiment_rows(void **state)
{
    (void)state;
    const char *path = target_in("experiments.db");
    lw_store_t *s = open_ok(path, 0);
    const uint64_t big = UINT64_C(0xfedcba9876543210); /* above INT64_MAX: the bits survive */
    lw_exp_assign_t a = {"exp_a", "treatment", big, 1000, {0, 0}};
    static const double one[3] = {0, 0, 1}, zero[3] = {0, 0, 0};
    static const double n1[3] = {0.5, 0, 2.5}, d1[3] = {1, 0, 1};
    static const double n2[4] = {0.25, 0, 0.25, -1}, d2[4] = {2, 0, 2, 1}; /* longer */
    lw_exp_cell_t users = {"exp_a", "treatment", "", 0, 3, one, zero};
    lw_exp_cell_t m = {"exp_a", "treatment", "listening", 1, 3, n1, d1};
    char msg[256];
    assert_int_equal(lw_store_put_exp_assign(s, &a, msg, sizeof msg), LW_ERR_INVALID); /* no txn */
    assert_int_equal(lw_store_add_exp_cell(s, &m, msg, sizeof msg), LW_ERR_INVALID);
    OK(lw_store_begin(s, E));
    OK(lw_store_put_exp_assign(s, &a, E));
    OK(lw_store_add_exp_cell(s, &users, E));
    OK(lw_store_add_exp_cell(s, &m, E));
    OK(lw_store_commit(s, E));
    OK(lw_store_begin(s, E));
    /* the same key again: only the seen bits change, never variant or time */
    lw_exp_assign_t again = {"exp_a", "control", big, 5000, {UINT64_C(1) << 63, 3}};
    lw_exp_assign_t other = {"exp_a", "control", 7, 2000, {0, 0}};
    OK(lw_store_put_exp_assign(s, &again, E));
    OK(lw_store_put_exp_assign(s, &other, E));
    m.num = n2;
    m.den = d2;
    m.nb = 4;
    OK(lw_store_add_exp_cell(s, &m, E));
    OK(lw_store_add_exp_cell(s, &users, E));
    OK(lw_store_commit(s, E));
    lw_store_close(s);

    s = open_ok(path, LW_STORE_READONLY);
    assigns_t as = {0};
    OK(lw_store_exp_assigns(s, assign_cb, &as, E));
    assert_int_equal(as.n, 2);
    int i = as.user[0] == big ? 0 : 1;
    assert_string_equal(as.var[i], "treatment");
    assert_int_equal(as.exposed[i], 1000);
    assert_true(as.seen[i][0] == UINT64_C(1) << 63 && as.seen[i][1] == 3);
    assert_true(as.user[1 - i] == 7);
    assert_string_equal(as.var[1 - i], "control");
    ecells_t ec = {0};
    OK(lw_store_exp_cells(s, ecell_cb, &ec, E));
    assert_int_equal(ec.n, 2);
    /* by key: the users row (metric "") first; vectors add element-wise, the shorter
     * one as zeros past its end */
    assert_string_equal(ec.names[0][2], "");
    assert_true(ec.nb[0] == 3 && ec.num[0][2] == 2 && ec.num[0][0] == 0 && ec.window[0] == 0);
    assert_string_equal(ec.names[1][2], "listening");
    assert_true(ec.nb[1] == 4 && ec.window[1] == 1);
    assert_true(ec.num[1][0] == 0.75 && ec.num[1][2] == 2.75 && ec.num[1][3] == -1);
    assert_true(ec.den[1][0] == 3 && ec.den[1][1] == 0 && ec.den[1][3] == 1);
    lw_store_close(s);
}

static void test_writes_need_a_transaction(void **state)
{
    (void)state;
    lw_store_t *s = open_ok(target_in("notxn.db"), 0);
    lw_position_t pos = {0};
    char err[256];
    assert_int_equal(lw_store_add_cell(s, "m", 0, 1, 1.0, NULL, err, sizeof err), LW_ERR_INVALID);
    assert_non_null(strstr(err, "outside a transaction"));
    assert_int_equal(lw_store_set_position(s, "x", &pos, err, sizeof err), LW_ERR_INVALID);
    assert_int_equal(lw_store_set_int(s, "x", 1, err, sizeof err), LW_ERR_INVALID);
    assert_int_equal(lw_store_add_counter(s, "x", 1, err, sizeof err), LW_ERR_INVALID);
    assert_int_equal(lw_store_commit(s, err, sizeof err), LW_ERR_INVALID);
    OK(lw_store_begin(s, E));
    assert_int_equal(lw_store_begin(s, err, sizeof err), LW_ERR_INVALID);
    assert_int_equal(lw_store_add_cell(s, "m", 0, 1, (double)NAN, NULL, err, sizeof err),
                     LW_ERR_INVALID);
    assert_int_equal(lw_store_add_cell(s, "m", 0, 1, HUGE_VAL, NULL, err, sizeof err),
                     LW_ERR_INVALID);
    OK(lw_store_commit(s, E));
    assert_int_equal(count_cells(s, "m"), 0);
    lw_store_close(s);
}

/* The v1 schema exactly as released; never edit (it is what old files contain). */
static const char v1_ddl[] =
    "CREATE TABLE cells(metric TEXT NOT NULL, bucket INTEGER NOT NULL,"
    " count INTEGER NOT NULL DEFAULT 0, sum REAL NOT NULL DEFAULT 0, hll BLOB,"
    " PRIMARY KEY(metric, bucket)) WITHOUT ROWID;"
    "CREATE TABLE positions(source TEXT PRIMARY KEY, position INTEGER NOT NULL,"
    " fp_len INTEGER NOT NULL, fp_hash INTEGER NOT NULL);"
    "PRAGMA application_id = 1280794996;"
    "PRAGMA user_version = 1;";

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fail_msg("raw sql on %s: %s", path, msg);
    }
    sqlite3_close(db);
}

static int64_t raw_user_version(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void test_migrate_v1_to_v2(void **state)
{
    (void)state;
    const char *path = path_in("v1.db");
    raw_exec(path, v1_ddl);

    /* v1 data, sketch included, inserted with raw SQL */
    lw_hll_t *h = sketch(0, 2000);
    static uint8_t blob[LW_HLL_MAX_SERIALIZED];
    size_t n = lw_hll_serialize(h, blob, sizeof blob);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "INSERT INTO cells VALUES('m', 60000, 4, 2.5, ?1)", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(st, 1, blob, (int)n, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO positions VALUES('src', 555, 64, -1);"
                                  "INSERT INTO cells VALUES('m', 0, 1, 1.0, NULL);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    /* read-only refuses to use (or migrate) the old file */
    char err[256] = "";
    lw_store_t *s = NULL;
    assert_int_equal(lw_store_open(path, LW_STORE_READONLY, &s, err, sizeof err), LW_ERR_STORE);
    assert_null(s);
    assert_non_null(strstr(err, "writable"));

    s = open_ok(path, 0);
    assert_int_equal(lw_store_schema_version(s), LW_TEST_SCHEMA);
    lw_hll_t *got = lw_hll_new();
    collect_t c = {.merged = got};
    OK(lw_store_read_cells(s, "m", INT64_MIN, INT64_MAX, collect_cb, &c, E));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.cells[0].bucket_ms, 0);
    assert_int_equal(c.cells[1].count, 4);
    assert_true(c.cells[1].sum == 2.5);
    assert_true(lw_hll_estimate(got) == lw_hll_estimate(h));
    lw_position_t pos;
    OK(lw_store_get_position(s, "src", &pos, E));
    assert_int_equal(pos.position, 555);
    assert_true(pos.fp_hash == UINT64_MAX);
    /* the v2 tables exist and work, and old cells still merge */
    OK(lw_store_begin(s, E));
    OK(lw_store_set_int(s, "watermark_ms", 1, E));
    OK(lw_store_add_counter(s, "late", 1, E));
    OK(lw_store_add_cell(s, "m", 60000, 1, 0.5, h, E));
    OK(lw_store_commit(s, E));
    /* a sum from before v4 (no sum_comp / sum_micros) adds up with a new delta */
    collect_t after = {0};
    OK(lw_store_read_cells(s, "m", 60000, 60001, collect_cb, &after, E));
    assert_int_equal(after.n, 1);
    assert_int_equal(after.cells[0].count, 5);
    assert_true(after.cells[0].sum == 3.0);
    lw_store_close(s);

    /* the file is at the current version now; a read-only open accepts it */
    assert_int_equal(raw_user_version(path), LW_TEST_SCHEMA);
    s = open_ok(path, LW_STORE_READONLY);
    assert_int_equal(lw_store_schema_version(s), LW_TEST_SCHEMA);
    lw_store_close(s);
    lw_hll_destroy(h);
    lw_hll_destroy(got);
}

/* A step that fails half-way leaves the file at the previous version, with none of its DDL. */
static void test_failed_migration_is_atomic(void **state)
{
    (void)state;
    const char *path = path_in("v1-conflict.db");
    raw_exec(path, v1_ddl);
    /* v2 creates ints and then counters: a pre-existing counters table breaks the step */
    raw_exec(path, "CREATE TABLE counters(x);");
    char err[256] = "";
    lw_store_t *s = NULL;
    assert_int_equal(lw_store_open(path, 0, &s, err, sizeof err), LW_ERR_STORE);
    assert_null(s);
    printf("# failed migration: %s\n", err);
    assert_non_null(strstr(err, "migrating to schema version 2"));
    assert_non_null(strstr(err, "counters"));
    assert_int_equal(raw_user_version(path), 1);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM sqlite_schema WHERE name = 'ints'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0); /* the step's first table was rolled back */
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_newer_schema_rejected(void **state)
{
    (void)state;
    const char *path = target_in("newer.db");
    lw_store_close(open_ok(path, 0));
    raw_store_sql(path, "PRAGMA user_version = 99;",
                  "INSERT INTO leadwatch_schema(version) VALUES(99)");
    for (int flags = 0; flags <= LW_STORE_READONLY; flags++) {
        char err[256] = "";
        lw_store_t *s = NULL;
        assert_int_equal(lw_store_open(path, flags, &s, err, sizeof err), LW_ERR_STORE);
        assert_null(s);
        char want[96];
        snprintf(want, sizeof want,
                 "store schema version 99 is newer than this leadwatch supports (%d)",
                 LW_TEST_SCHEMA);
        assert_non_null(strstr(err, want));
    }
}

static void test_foreign_files_rejected(void **state)
{
    (void)state;
    const char *text = path_in("notes.txt");
    FILE *f = fopen(text, "w");
    assert_non_null(f);
    for (int i = 0; i < 100; i++) {
        fputs("this is a plain text file, not an SQLite database\n", f);
    }
    fclose(f);
    const char *foreign = path_in("foreign.db");
    raw_exec(foreign, "CREATE TABLE t(x); INSERT INTO t VALUES(1);");

    struct {
        const char *path;
        int flags;
        const char *msg;
    } cases[] = {
        {text, 0, "cannot be read as an SQLite database"},
        {text, LW_STORE_READONLY, "cannot be read as an SQLite database"},
        {foreign, 0, "not a leadwatch store"},
        {path_in("does-not-exist.db"), LW_STORE_READONLY, "cannot open"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        lw_store_t *s = NULL;
        assert_int_equal(lw_store_open(cases[i].path, cases[i].flags, &s, err, sizeof err),
                         LW_ERR_STORE);
        assert_null(s);
        if (strstr(err, cases[i].msg) == NULL) {
            fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
        }
    }
    /* the foreign database was left alone */
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(foreign, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/*
 * Two processes creating the same new store at once (two `ingest` runs on a new path, a fleet's
 * members starting on a new database): both opens succeed.  SQLite: the identity check once
 * read the schema, application_id and user_version in three read transactions, and the other
 * process's migrations could commit in between ("not a leadwatch store (application_id 0,
 * user_version 3, 0 schema objects)", about once in 50 concurrent starts in
 * it_ingest_reliability; this test failed at rounds 33, 69 and 276 of 300).  PostgreSQL: the
 * schema version and the 'cells' table were read in two queries, and a member seeing 'cells'
 * without the version refused the database (it_fleet_pg, once); a fresh database per round,
 * the child starting 0-56 ms after the parent, so it opens during the parent's migrations.
 * That window (between two reads) is too narrow to hit here: two runs of 30 rounds passed on
 * the old PostgreSQL code, so for PostgreSQL this checks only that such opens succeed.
 */
static void test_concurrent_create(void **state)
{
    (void)state;
    int failures = 0, rounds = pg_base ? 30 : 300;
    for (int round = 0; round < rounds && failures == 0; round++) {
        const char *target;
        if (pg_base) {
            target = target_in("race");
        } else {
            char side[1100];
            target = path_in("race.db");
            unlink(target);
            snprintf(side, sizeof side, "%s-wal", target);
            unlink(side);
            snprintf(side, sizeof side, "%s-shm", target);
            unlink(side);
        }
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0 && pg_base) {
            /* PostgreSQL: the child's check lands anywhere in the parent's migrations (~50 ms) */
            const struct timespec delay = {0, (long)(round * 7 % 60) * 1000000L};
            nanosleep(&delay, NULL);
        }
        char err[512] = "";
        lw_store_t *s = NULL;
        lw_err_t rc = lw_store_open(target, 0, &s, err, sizeof err);
        if (child == 0) {
            if (rc != LW_OK)
                fprintf(stderr, "round %d, child: %s\n", round, err);
            else
                lw_store_close(s);
            _exit(rc == LW_OK ? 0 : 1);
        }
        if (rc != LW_OK) {
            fprintf(stderr, "round %d, parent: %s\n", round, err);
            failures++;
        } else {
            lw_store_close(s);
        }
        int status = 0;
        assert_int_equal(waitpid(child, &status, 0), child);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failures++;
    }
    assert_int_equal(failures, 0);
}

static void test_readonly_while_writer_runs(void **state)
{
    (void)state;
    const char *path = target_in("readonly.db");
    lw_store_t *w = open_ok(path, 0);
    OK(lw_store_begin(w, E));
    OK(lw_store_add_cell(w, "m", 0, 1, 0.0, NULL, E));
    OK(lw_store_commit(w, E));

    lw_store_t *r = open_ok(path, LW_STORE_READONLY);
    assert_int_equal(lw_store_schema_version(r), LW_TEST_SCHEMA);
    assert_int_equal(count_cells(r, "m"), 1);

    /* a writer's open transaction is invisible to the reader, its commit visible */
    OK(lw_store_begin(w, E));
    OK(lw_store_add_cell(w, "m", 1000, 1, 0.0, NULL, E));
    assert_int_equal(count_cells(r, "m"), 1);
    OK(lw_store_commit(w, E));
    assert_int_equal(count_cells(r, "m"), 2);

    /* the reader cannot write */
    char err[256] = "";
    lw_err_t rc = lw_store_begin(r, err, sizeof err);
    if (rc == LW_OK) {
        rc = lw_store_add_cell(r, "m", 2000, 1, 0.0, NULL, err, sizeof err);
        lw_store_rollback(r);
    }
    assert_int_equal(rc, LW_ERR_STORE);
    printf("# read-only write: %s\n", err);
    assert_non_null(strstr(err, "readonly"));
    assert_int_equal(count_cells(w, "m"), 2);
    lw_store_close(r);
    lw_store_close(w);
}

static void test_disk_full_surfaces(void **state)
{
    (void)state;
    const char *path = path_in("full.db");
    lw_store_t *s = open_ok(path, 0);
    lw_hll_t *h = sketch(0, 100000);
    lw_position_t pos = {.position = 1, .fp_len = 0, .fp_hash = 0};
    OK(lw_store_begin(s, E));
    OK(lw_store_add_cell(s, "m", 0, 1, 0.0, h, E));
    OK(lw_store_set_position(s, "src", &pos, E));
    OK(lw_store_commit(s, E));

    OK(lw_store_set_max_pages(s, 30, E)); /* about 120 KiB */
    char err[256] = "";
    lw_err_t rc = LW_OK;
    OK(lw_store_begin(s, E));
    pos.position = 2;
    OK(lw_store_set_position(s, "src", &pos, E));
    int written = 0;
    for (int i = 1; i < 200 && rc == LW_OK; i++) {
        rc = lw_store_add_cell(s, "m", i * 1000, 1, 0.0, h, err, sizeof err);
        written += rc == LW_OK;
    }
    assert_int_equal(rc, LW_ERR_STORE);
    assert_true(written > 0 && written < 199);
    printf("# after %d cells: %s\n", written, err);
    assert_non_null(strstr(err, "full"));
    /*
     * SQLite may have rolled the whole transaction back on SQLITE_FULL; a
     * later write must then fail rather than run in autocommit mode (which
     * would store position 3 without its cells).
     */
    pos.position = 3;
    lw_err_t after = lw_store_set_position(s, "src", &pos, err, sizeof err);
    printf("# write after SQLITE_FULL: %s %s\n", lw_err_name(after), after == LW_OK ? "" : err);
    rc = lw_store_commit(s, err, sizeof err);
    printf("# commit after SQLITE_FULL: %s %s\n", lw_err_name(rc), rc == LW_OK ? "" : err);
    if (rc != LW_OK) {
        assert_int_equal(rc, LW_ERR_STORE);
        lw_store_rollback(s);
    }
    lw_store_close(s);

    s = open_ok(path, 0);
    lw_position_t back;
    OK(lw_store_get_position(s, "src", &back, E));
    int cells = count_cells(s, "m");
    /* either the transaction committed what succeeded (its cells and position 3) or nothing */
    if (back.position == 3) {
        assert_int_equal(cells, 1 + written);
    } else {
        assert_int_equal(back.position, 1);
        assert_int_equal(cells, 1);
    }
    lw_store_close(s);
    lw_hll_destroy(h);
}

static void test_busy_surfaces(void **state)
{
    (void)state;
    const char *path = path_in("busy.db");
    lw_store_t *s = open_ok(path, 0);
    sqlite3 *other = NULL;
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    char err[256] = "";
    /* waits for the 5 s busy timeout, then reports */
    assert_int_equal(lw_store_begin(s, err, sizeof err), LW_ERR_STORE);
    printf("# competing writer: %s\n", err);
    assert_non_null(strstr(err, "locked"));
    assert_false(lw_store_in_transaction(s));
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    OK(lw_store_begin(s, E));
    OK(lw_store_commit(s, E));
    lw_store_close(s);
}

static void test_corrupt_stored_sketch_surfaces(void **state)
{
    (void)state;
    const char *path = target_in("corrupt.db");
    lw_store_t *s = open_ok(path, 0);
    lw_hll_t *h = sketch(0, 10);
    OK(lw_store_begin(s, E));
    OK(lw_store_add_cell(s, "m", 0, 1, 0.0, h, E));
    OK(lw_store_commit(s, E));
    raw_store_sql(path, "UPDATE cells SET hll = x'5a0e0102' WHERE metric = 'm'",
                  "UPDATE cells SET hll = '\\x5a0e0102'::bytea WHERE metric = 'm'");

    char err[256] = "";
    OK(lw_store_begin(s, E));
    assert_int_equal(lw_store_add_cell(s, "m", 0, 1, 0.0, h, err, sizeof err), LW_ERR_STORE);
    assert_non_null(strstr(err, "corrupt sketch"));
    lw_store_rollback(s);
    /* a NULL sketch leaves the stored blob alone, so that add still works */
    OK(lw_store_begin(s, E));
    OK(lw_store_add_cell(s, "m", 0, 1, 0.0, NULL, E));
    OK(lw_store_commit(s, E));
    lw_store_close(s);
    lw_hll_destroy(h);
}

typedef struct {
    int n;
    char edge[4][32];
    char verdict[4][32];
    int64_t as_of[4];
    double p[4];
    int lag[4];
} verdicts_t;

static int verdict_cb(void *ud, const lw_verdict_row_t *v)
{
    verdicts_t *vs = ud;
    if (vs->n == 4)
        return 1;
    snprintf(vs->edge[vs->n], sizeof vs->edge[0], "%s", v->edge);
    snprintf(vs->verdict[vs->n], sizeof vs->verdict[0], "%s", v->verdict);
    vs->as_of[vs->n] = v->as_of_ms;
    vs->p[vs->n] = v->p;
    vs->lag[vs->n] = v->lag;
    vs->n++;
    return 0;
}

/* v3: the alert blob and the verdict history survive a reopen; "led before" looks only back. */
static void test_blobs_and_verdicts(void **state)
{
    (void)state;
    const char *path = target_in("verdicts.db");
    lw_store_t *s = open_ok(path, 0);
    lw_buf_t b;
    lw_buf_init(&b, 1 << 20);
    assert_int_equal(lw_store_get_blob(s, "alert_state", &b, NULL, 0), LW_ERR_NOT_FOUND);
    /* writes need a transaction */
    assert_int_equal(lw_store_set_blob(s, "alert_state", "x", 1, NULL, 0), LW_ERR_INVALID);
    lw_verdict_row_t v1 = {.edge = "a->nsm",
                           .as_of_ms = 86400000,
                           .verdict = "leads",
                           .p = 0.001,
                           .q = 0.002,
                           .lag = 2,
                           .coef = 0.5,
                           .oos = NAN};
    lw_verdict_row_t v2 = {.edge = "a->nsm",
                           .as_of_ms = 2 * 86400000LL,
                           .verdict = "inconclusive",
                           .p = NAN,
                           .q = NAN,
                           .lag = 0,
                           .coef = NAN,
                           .oos = NAN};
    lw_verdict_row_t v3 = {.edge = "b->nsm",
                           .as_of_ms = 2 * 86400000LL,
                           .verdict = "inconclusive",
                           .p = 0.4,
                           .q = 0.5,
                           .lag = 1,
                           .coef = 0.1,
                           .oos = 0.0};
    OK(lw_store_begin(s, E));
    OK(lw_store_set_blob(s, "alert_state", "state v1\n", 9, E));
    OK(lw_store_add_verdict(s, &v1, E));
    OK(lw_store_add_verdict(s, &v2, E));
    OK(lw_store_add_verdict(s, &v3, E));
    v3.verdict = "leads"; /* the same (edge, as_of) again replaces the row */
    OK(lw_store_add_verdict(s, &v3, E));
    OK(lw_store_set_blob(s, "alert_state", "state v2\n", 9, E));
    OK(lw_store_commit(s, E));
    lw_store_close(s);

    s = open_ok(path, LW_STORE_READONLY);
    OK(lw_store_get_blob(s, "alert_state", &b, E));
    assert_int_equal(b.len, 9);
    assert_memory_equal(b.data, "state v2\n", 9);
    bool led = true;
    OK(lw_store_edge_led(s, "a->nsm", 86400000, &led, E));
    assert_false(led); /* only verdicts strictly before as_of count */
    OK(lw_store_edge_led(s, "a->nsm", 86400000 + 1, &led, E));
    assert_true(led);
    OK(lw_store_edge_led(s, "c->nsm", INT64_MAX, &led, E));
    assert_false(led);
    verdicts_t vs = {0};
    OK(lw_store_read_verdicts(s, NULL, INT64_MIN, verdict_cb, &vs, E));
    assert_int_equal(vs.n, 3);
    assert_string_equal(vs.edge[0], "a->nsm");
    assert_true(vs.p[0] == 0.001);
    assert_int_equal(vs.lag[0], 2);
    assert_true(isnan(vs.p[1])); /* NAN round-trips as NULL */
    assert_string_equal(vs.edge[2], "b->nsm");
    assert_string_equal(vs.verdict[2], "leads");
    memset(&vs, 0, sizeof vs);
    OK(lw_store_read_verdicts(s, "a->nsm", 2 * 86400000LL, verdict_cb, &vs, E));
    assert_int_equal(vs.n, 1);
    assert_string_equal(vs.verdict[0], "inconclusive");
    lw_store_close(s);
    lw_buf_release(&b);
}

static void test_move_position_compare_and_set(void **state)
{
    (void)state;
    lw_store_t *s = open_ok(target_in("cas.db"), 0);
    const lw_position_t absent = {.position = LW_POSITION_ABSENT};
    const lw_position_t p1 = {.position = 10, .fp_len = 10, .fp_hash = 7};
    const lw_position_t p2 = {.position = 20, .fp_len = 20, .fp_hash = 8};
    char err[256] = "";
    OK(lw_store_begin(s, E));
    OK(lw_store_move_position(s, "src", &absent, &p1, E));
    /* a second "first writer" loses */
    assert_int_equal(lw_store_move_position(s, "src", &absent, &p2, err, sizeof err), LW_ERR_STORE);
    assert_non_null(strstr(err, "position conflict"));
    assert_non_null(strstr(err, "stored position 10"));
    /* a writer that started from a stale position loses, whatever field differs */
    lw_position_t stale = p1;
    stale.fp_hash = 9;
    assert_int_equal(lw_store_move_position(s, "src", &stale, &p2, err, sizeof err), LW_ERR_STORE);
    assert_int_equal(lw_store_move_position(s, "src", &p2, &p2, err, sizeof err), LW_ERR_STORE);
    /* the owner moves on */
    OK(lw_store_move_position(s, "src", &p1, &p2, E));
    OK(lw_store_commit(s, E));
    lw_position_t back;
    OK(lw_store_get_position(s, "src", &back, E));
    assert_int_equal(back.position, 20);
    assert_true(back.fp_hash == 8);
    /* outside a transaction: refused like every write */
    assert_int_equal(lw_store_move_position(s, "src", &p2, &p1, err, sizeof err), LW_ERR_INVALID);
    lw_store_close(s);
}

typedef struct {
    int n;
    char names[8][32];
    int64_t pos[8];
    int stop_after;
} positions_t;

static int position_cb(void *ud, const char *source, const lw_position_t *pos)
{
    positions_t *c = ud;
    assert_true(c->n < 8);
    snprintf(c->names[c->n], sizeof c->names[0], "%s", source);
    c->pos[c->n++] = pos->position;
    return c->stop_after != 0 && c->n >= c->stop_after;
}

static void test_positions_by_prefix(void **state)
{
    (void)state;
    lw_store_t *s = open_ok(target_in("prefix.db"), 0);
    const char *names[] = {"file:/b@2", "kafka:t/0", "file:/a@1", "file_x", "file:"};
    OK(lw_store_begin(s, E));
    for (int i = 0; i < 5; i++) {
        lw_position_t p = {.position = i + 1};
        OK(lw_store_set_position(s, names[i], &p, E));
    }
    OK(lw_store_commit(s, E));
    positions_t c = {0};
    OK(lw_store_positions(s, "file:", position_cb, &c, E));
    assert_int_equal(c.n, 3);
    assert_string_equal(c.names[0], "file:");
    assert_string_equal(c.names[1], "file:/a@1");
    assert_int_equal(c.pos[1], 3);
    assert_string_equal(c.names[2], "file:/b@2");
    memset(&c, 0, sizeof c);
    c.stop_after = 1;
    OK(lw_store_positions(s, "", position_cb, &c, E));
    assert_int_equal(c.n, 1);
    lw_store_close(s);
}

static void test_backend_chosen_by_target(void **state)
{
    (void)state;
    char err[256] = "";
    lw_store_t *s = (lw_store_t *)1;
    /* PostgreSQL: a password in the URI is refused before connecting, and never repeated */
    assert_int_equal(lw_store_open("postgresql://lw:s3cret@db.example/lw", 0, &s, err, sizeof err),
                     LW_ERR_INVALID);
    assert_null(s);
    assert_non_null(strstr(err, "password_file"));
    assert_null(strstr(err, "s3cret"));
    assert_int_equal(
        lw_store_open("postgres://x/y?sslmode=disable&password=s3cret", 0, &s, err, sizeof err),
        LW_ERR_INVALID);
    assert_null(strstr(err, "s3cret"));
    /* no server behind a socket directory that does not exist: the backend reports it */
    assert_int_equal(
        lw_store_open("postgresql:///lw?host=/nonexistent-lw-dir", 0, &s, err, sizeof err),
        LW_ERR_STORE);
    assert_null(s);
    assert_non_null(strstr(err, "cannot connect"));
    assert_int_equal(
        lw_store_open("postgres:///lw?password_file=/nonexistent-lw-file", 0, &s, err, sizeof err),
        LW_ERR_STORE);
    assert_int_equal(lw_store_open("mysql://x/y", 0, &s, err, sizeof err), LW_ERR_INVALID);
    assert_non_null(strstr(err, "unknown store scheme 'mysql'"));
    /* sqlite:<path> and a plain path are the same file */
    char target[1100];
    snprintf(target, sizeof target, "sqlite:%s", path_in("scheme.db"));
    s = open_ok(target, 0);
    assert_string_equal(lw_store_backend_name(s), "sqlite");
    OK(lw_store_begin(s, E));
    OK(lw_store_set_int(s, "k", 42, E));
    OK(lw_store_commit(s, E));
    lw_store_close(s);
    s = open_ok(path_in("scheme.db"), LW_STORE_READONLY);
    int64_t v = 0;
    OK(lw_store_get_int(s, "k", &v, E));
    assert_int_equal(v, 42);
    /* test hooks refuse another backend's handle, and the sqlite one takes this one */
    OK(lw_store_set_max_pages(s, 1000, E));
    lw_store_close(s);
}

/* A fake backend that records calls: the ops table is what runs. */
typedef struct {
    char log[512];
    const lw_position_t *expected;
    bool in_txn;
} fake_t;
static fake_t fake;

struct lw_store_backend {
    fake_t *f;
};
static struct lw_store_backend fake_be = {&fake};

static void fake_log(const char *what)
{
    size_t n = strlen(fake.log);
    snprintf(fake.log + n, sizeof fake.log - n, "%s;", what);
}

static lw_err_t fake_open(const char *target, int flags, lw_store_backend_t **out, char *errstr,
                          size_t errstr_size)
{
    (void)flags, (void)errstr, (void)errstr_size;
    fake_log(target);
    *out = &fake_be;
    return LW_OK;
}
static void fake_close(lw_store_backend_t *b)
{
    assert_ptr_equal(b, &fake_be);
    fake_log("close");
}
static lw_err_t fake_begin(lw_store_backend_t *b, char *errstr, size_t errstr_size)
{
    (void)errstr, (void)errstr_size;
    b->f->in_txn = true;
    fake_log("begin");
    return LW_OK;
}
static lw_err_t fake_commit(lw_store_backend_t *b, char *errstr, size_t errstr_size)
{
    (void)errstr, (void)errstr_size;
    b->f->in_txn = false;
    fake_log("commit");
    return LW_OK;
}
static bool fake_in_transaction(const lw_store_backend_t *b)
{
    return b->f->in_txn;
}
static lw_err_t fake_add_cell(lw_store_backend_t *b, const char *metric, int64_t bucket_ms,
                              int64_t count, const lw_decsum_t *sum_exact, const lw_hll_t *hll,
                              char *errstr, size_t errstr_size)
{
    (void)b, (void)hll, (void)errstr, (void)errstr_size;
    double sum = lw_decsum_value(sum_exact);
    char line[96];
    snprintf(line, sizeof line, "cell %s %lld %lld %g", metric, (long long)bucket_ms,
             (long long)count, sum);
    fake_log(line);
    return LW_OK;
}
static lw_err_t fake_set_position(lw_store_backend_t *b, const char *source,
                                  const lw_position_t *expected, const lw_position_t *pos,
                                  char *errstr, size_t errstr_size)
{
    (void)errstr, (void)errstr_size;
    b->f->expected = expected;
    char line[96];
    snprintf(line, sizeof line, "pos %s %lld", source, (long long)pos->position);
    fake_log(line);
    return LW_OK;
}
static lw_err_t fake_check(lw_store_backend_t *b, char *errstr, size_t errstr_size)
{
    (void)b;
    fake_log("check");
    return lw_seterr(errstr, errstr_size, LW_ERR_STORE, "fake: damaged");
}

static const lw_store_ops_t fake_ops = {
    .name = "fake",
    .open = fake_open,
    .close = fake_close,
    .begin = fake_begin,
    .commit = fake_commit,
    .in_transaction = fake_in_transaction,
    .add_cell = fake_add_cell,
    .set_position = fake_set_position,
    .check = fake_check,
};

static void test_ops_table_dispatches(void **state)
{
    (void)state;
    memset(&fake, 0, sizeof fake);
    lw_store_t *s = NULL;
    char err[128] = "";
    OK(lw_store_open_ops(&fake_ops, "fake-target", 0, &s, E));
    assert_string_equal(lw_store_backend_name(s), "fake");
    OK(lw_store_begin(s, E));
    assert_true(lw_store_in_transaction(s));
    OK(lw_store_add_cell(s, "m", 60000, 3, 1.5, NULL, E));
    lw_position_t p = {.position = 5}, was = {.position = LW_POSITION_ABSENT};
    OK(lw_store_set_position(s, "a", &p, E));
    assert_null(fake.expected); /* unconditional */
    OK(lw_store_move_position(s, "b", &was, &p, E));
    assert_ptr_equal(fake.expected, &was);
    OK(lw_store_commit(s, E));
    assert_false(lw_store_in_transaction(s));
    assert_int_equal(lw_store_check(s, err, sizeof err), LW_ERR_STORE);
    assert_string_equal(err, "fake: damaged");
    /* the sqlite-only test hook refuses a fake handle */
    assert_int_equal(lw_store_set_max_pages(s, 1, err, sizeof err), LW_ERR_INVALID);
    lw_store_close(s);
    assert_string_equal(fake.log, "fake-target;begin;cell m 60000 3 1.5;pos a 5;pos b 5;commit;"
                                  "check;close;");
}

/* Issue 18: a read-only open of a 0444 store leaves no (0444) -shm or -wal behind. */
static void test_readonly_0444_leaves_no_shm(void **state)
{
    (void)state;
    const char *path = path_in("ro444.db");
    lw_store_t *s = open_ok(path, 0);
    OK(lw_store_begin(s, E));
    OK(lw_store_add_cell(s, "m", 0, 2, 1.0, NULL, E));
    OK(lw_store_commit(s, E));
    lw_store_close(s);
    struct stat st;
    assert_int_not_equal(stat(path_in("ro444.db-wal"), &st), 0); /* a clean close */
    assert_int_equal(chmod(path, 0444), 0);
    s = open_ok(path, LW_STORE_READONLY);
    assert_int_equal(count_cells(s, "m"), 1);
    OK(lw_store_check(s, E));
    lw_store_close(s);
    assert_int_not_equal(stat(path_in("ro444.db-shm"), &st), 0);
    assert_int_not_equal(stat(path_in("ro444.db-wal"), &st), 0);
    /* the owner can make it writable again and write */
    assert_int_equal(chmod(path, 0644), 0);
    s = open_ok(path, 0);
    OK(lw_store_begin(s, E));
    OK(lw_store_add_cell(s, "m", 0, 2, 1.0, NULL, E));
    OK(lw_store_commit(s, E));
    lw_store_close(s);
}

/* lw_store_check finds a damaged page that no read of the cells touches. */
static void test_check_finds_damage(void **state)
{
    (void)state;
    const char *path = path_in("damaged.db");
    lw_store_t *s = open_ok(path, 0);
    OK(lw_store_begin(s, E));
    for (int i = 0; i < 2000; i++) {
        char metric[32];
        snprintf(metric, sizeof metric, "metric-%04d", i);
        OK(lw_store_add_cell(s, metric, (int64_t)i * 60000, i, i, NULL, E));
    }
    OK(lw_store_commit(s, E));
    OK(lw_store_check(s, E));
    lw_store_close(s);
    /* overwrite the middle of the file (a b-tree page) with garbage */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 8 * 4096);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)(st.st_size / 2 / 4096 * 4096), SEEK_SET), 0);
    char junk[4096];
    memset(junk, 0x5a, sizeof junk);
    assert_int_equal(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    fclose(f);
    s = open_ok(path, 0);
    char err[256] = "";
    assert_int_equal(lw_store_check(s, err, sizeof err), LW_ERR_STORE);
    assert_non_null(strstr(err, "damaged"));
    lw_store_close(s);
}

/*
 * Cell sums are exact for decimals in the store too (schema v4,
 * core/decsum.h): 0.1 added in ten separate transactions reads back as
 * exactly 1 (a plain REAL column gives 0.9999999999999999); 791.58 +
 * 621.36 + 820.15 + 761.34 reads back as 2994.43, where even a perfectly
 * rounded sum of the four doubles is 2994.4300000000003; a compensated
 * part is kept (1e16 + 1 - 1e16 = 1); a non-finite sum is refused.
 */
static void test_cell_sums_exact(void **state)
{
    (void)state;
    lw_store_t *s = open_ok(target_in("decsum.db"), 0);
    for (int i = 0; i < 10; i++) {
        OK(lw_store_begin(s, E));
        OK(lw_store_add_cell(s, "rev", 0, 1, 0.1, NULL, E));
        OK(lw_store_commit(s, E));
    }
    static const double prices[] = {791.58, 621.36, 820.15, 761.34};
    for (size_t i = 0; i < 4; i++) {
        OK(lw_store_begin(s, E));
        OK(lw_store_add_cell(s, "rev", 1000, 1, prices[i], NULL, E));
        OK(lw_store_commit(s, E));
    }
    OK(lw_store_begin(s, E));
    const lw_decsum_t big = {{1e16, 1.0}, 0, 0}, minus = {{-1e16, 0.0}, 0, 0};
    OK(lw_store_add_cell_sum(s, "big", 0, 1, &big, NULL, E));
    OK(lw_store_add_cell_sum(s, "big", 0, 1, &minus, NULL, E));
    const lw_decsum_t bad = {{1.0, (double)NAN}, 0, 0};
    char err[256] = "";
    assert_int_equal(lw_store_add_cell_sum(s, "rev", 0, 1, &bad, NULL, err, sizeof err),
                     LW_ERR_INVALID);
    OK(lw_store_commit(s, E));
    collect_t c = {0};
    OK(lw_store_read_cells(s, "rev", INT64_MIN, INT64_MAX, collect_cb, &c, E));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.cells[0].count, 10);
    if (c.cells[0].sum != 1.0)
        fail_msg("ten times 0.1 read back as %.17g", c.cells[0].sum);
    if (c.cells[1].sum != 2994.43)
        fail_msg("the four prices read back as %.17g", c.cells[1].sum);
    collect_t b = {0};
    OK(lw_store_read_cells(s, "big", INT64_MIN, INT64_MAX, collect_cb, &b, E));
    assert_int_equal(b.n, 1);
    assert_true(b.cells[0].sum == 1.0);
    lw_store_close(s);
}

/* ---------------------------------------------- PostgreSQL only */

/* Count of `name` in the store's counters (0 when absent). */
typedef struct {
    const char *name;
    int64_t value;
} one_counter_t;

static void one_counter_cb(void *ud, const char *name, int64_t value)
{
    one_counter_t *c = ud;
    if (strcmp(name, c->name) == 0) {
        c->value = value;
    }
}

static int64_t counter_value(lw_store_t *s, const char *name)
{
    one_counter_t c = {name, 0};
    OK(lw_store_counters(s, one_counter_cb, &c, E));
    return c.value;
}

/* One committed transaction that stores `pos` for `source` unconditionally. */
static void commit_position(lw_store_t *s, const char *source, const lw_position_t *pos)
{
    OK(lw_store_begin(s, E));
    OK(lw_store_set_position(s, source, pos, E));
    OK(lw_store_commit(s, E));
}

/*
 * Two writers on one source (a zombie after a rebalance and the new owner):
 * both start from p0; the owner commits p0 -> p1; the zombie's flush is
 * refused, rolled back and counted.  Then the concurrent case: the zombie
 * blocks on the owner's row lock and is refused when the owner commits.
 */
static void test_pg_zombie_writer_refused_and_counted(void **state)
{
    (void)state;
    const char *url = target_in("zombie.db");
    lw_store_t *owner = open_ok(url, 0), *zombie = open_ok(url, 0);
    const lw_position_t p0 = {.position = 100}, p1 = {.position = 200}, p2 = {.position = 300};
    commit_position(owner, "kafka:events/0", &p0);

    OK(lw_store_begin(owner, E));
    OK(lw_store_add_cell(owner, "m", 0, 5, 5.0, NULL, E));
    OK(lw_store_move_position(owner, "kafka:events/0", &p0, &p1, E));
    OK(lw_store_commit(owner, E));

    char err[256] = "";
    OK(lw_store_begin(zombie, E));
    OK(lw_store_add_cell(zombie, "m", 0, 7, 7.0, NULL, E));
    assert_int_equal(lw_store_move_position(zombie, "kafka:events/0", &p0, &p2, err, sizeof err),
                     LW_ERR_STORE);
    printf("# zombie: %s\n", err);
    assert_non_null(strstr(err, "position conflict"));
    assert_non_null(strstr(err, "stored position 200"));
    lw_store_rollback(zombie);
    assert_int_equal(counter_value(owner, "store.position_conflicts"), 1);

    /* concurrent: the owner holds the row; the zombie waits, then is refused */
    const lw_position_t p3 = {.position = 400}, p4 = {.position = 500};
    OK(lw_store_begin(owner, E));
    OK(lw_store_add_cell(owner, "m", 0, 1, 1.0, NULL, E));
    OK(lw_store_move_position(owner, "kafka:events/0", &p1, &p3, E));
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        lw_store_t *z = NULL;
        char zerr[256] = "";
        if (lw_store_open(url, 0, &z, NULL, 0) != LW_OK || lw_store_begin(z, NULL, 0) != LW_OK ||
            lw_store_add_cell(z, "m", 0, 100, 100.0, NULL, NULL, 0) != LW_OK) {
            _exit(2);
        }
        lw_err_t rc = lw_store_move_position(z, "kafka:events/0", &p1, &p4, zerr, sizeof zerr);
        lw_store_rollback(z);
        lw_store_close(z);
        _exit(rc == LW_ERR_STORE && strstr(zerr, "stored position 400") != NULL ? 0 : 3);
    }
    usleep(300 * 1000);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* still waiting for the row lock */
    OK(lw_store_commit(owner, E));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    collect_t c = {0};
    OK(lw_store_read_cells(owner, "m", INT64_MIN, INT64_MAX, collect_cb, &c, E));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.cells[0].count, 6); /* the owner's 5 + 1, none of the zombies' */
    lw_position_t back;
    OK(lw_store_get_position(owner, "kafka:events/0", &back, E));
    assert_int_equal(back.position, 400);
    assert_int_equal(counter_value(owner, "store.position_conflicts"), 2);
    lw_store_close(zombie);
    lw_store_close(owner);
}

/* Two writers adding sketches to one cell at once lose no register (row lock, merge in client). */
static void test_pg_concurrent_sketch_merge(void **state)
{
    (void)state;
    const char *url = target_in("merge.db");
    lw_store_t *a = open_ok(url, 0);
    lw_hll_t *ha = sketch(0, 30000), *hb = sketch(20000, 50000);
    OK(lw_store_begin(a, E));
    OK(lw_store_add_cell(a, "users", 0, 1, 0.0, ha, E)); /* a now holds the row */
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        lw_store_t *b = NULL;
        if (lw_store_open(url, 0, &b, NULL, 0) != LW_OK || lw_store_begin(b, NULL, 0) != LW_OK ||
            lw_store_add_cell(b, "users", 0, 1, 0.0, hb, NULL, 0) != LW_OK ||
            lw_store_commit(b, NULL, 0) != LW_OK) {
            _exit(2);
        }
        lw_store_close(b);
        _exit(0);
    }
    usleep(200 * 1000);
    OK(lw_store_commit(a, E));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    lw_hll_t *got = lw_hll_new(), *want = lw_hll_new();
    collect_t c = {.merged = got};
    OK(lw_store_read_cells(a, "users", 0, 1, collect_cb, &c, E));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.cells[0].count, 2);
    lw_hll_merge(want, ha);
    lw_hll_merge(want, hb);
    assert_true(lw_hll_estimate(got) == lw_hll_estimate(want));
    lw_hll_destroy(got);
    lw_hll_destroy(want);
    lw_hll_destroy(ha);
    lw_hll_destroy(hb);
    lw_store_close(a);
}

/*
 * A writer paused inside its flush (SIGSTOP, here: it simply waits) holds the
 * position's row lock; the server ends its idle transaction (the URI lowers
 * idle_in_transaction_session_timeout from leadwatch's 60 s to 300 ms), the
 * other writer proceeds, and the paused one's commit fails: nothing of it lands.
 */
static void test_pg_paused_writer_loses_its_flush(void **state)
{
    (void)state;
    const char *url = target_in("paused.db");
    char short_idle[1200];
    snprintf(short_idle, sizeof short_idle,
             "%s&options=-c%%20idle_in_transaction_session_timeout%%3D300", url);
    lw_store_t *paused = open_ok(short_idle, 0), *other = open_ok(url, 0);
    const lw_position_t p0 = {.position = 10}, p1 = {.position = 20}, p2 = {.position = 30};
    commit_position(other, "kafka:events/3", &p0);

    OK(lw_store_begin(paused, E));
    OK(lw_store_add_cell(paused, "m", 0, 100, 0.0, NULL, E));
    OK(lw_store_move_position(paused, "kafka:events/3", &p0, &p1, E));
    /* the other writer waits for the row lock until the server ends the paused session */
    OK(lw_store_begin(other, E));
    OK(lw_store_add_cell(other, "m", 0, 1, 0.0, NULL, E));
    OK(lw_store_move_position(other, "kafka:events/3", &p0, &p2, E));
    OK(lw_store_commit(other, E));
    char err[256] = "";
    assert_int_equal(lw_store_commit(paused, err, sizeof err), LW_ERR_STORE);
    printf("# the paused writer's commit: %s\n", err);
    lw_store_rollback(paused);
    collect_t c = {0};
    OK(lw_store_read_cells(other, "m", INT64_MIN, INT64_MAX, collect_cb, &c, E));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.cells[0].count, 1);
    lw_position_t back;
    OK(lw_store_get_position(other, "kafka:events/3", &back, E));
    assert_int_equal(back.position, 30);
    lw_store_close(paused);
    lw_store_close(other);
}

/* The server ends the session mid-transaction: the flush fails, the next begin reconnects. */
static void test_pg_connection_lost(void **state)
{
    (void)state;
    const char *url = target_in("lost.db");
    lw_store_t *s = open_ok(url, 0);
    OK(lw_store_begin(s, E));
    OK(lw_store_add_cell(s, "m", 0, 1, 1.0, NULL, E));
    pg_sql(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()");
    char err[256] = "";
    lw_err_t rc = lw_store_add_cell(s, "m", 1000, 1, 1.0, NULL, err, sizeof err);
    printf("# after the server ended the session: %s %s\n", lw_err_name(rc), err);
    assert_int_equal(rc, LW_ERR_STORE);
    assert_int_equal(lw_store_commit(s, err, sizeof err), LW_ERR_STORE);
    lw_store_rollback(s);
    /* outside a transaction a read reconnects, and a read whose session the server ended
     * while idle runs again on a new one */
    assert_int_equal(count_cells(s, "m"), 0);
    pg_sql(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()");
    usleep(200 * 1000); /* the session is gone */
    assert_int_equal(count_cells(s, "m"), 0);
    OK(lw_store_begin(s, E));
    OK(lw_store_add_cell(s, "m", 0, 2, 2.0, NULL, E));
    OK(lw_store_commit(s, E));
    collect_t c = {0};
    OK(lw_store_read_cells(s, "m", INT64_MIN, INT64_MAX, collect_cb, &c, E));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.cells[0].count, 2);
    lw_store_close(s);
}

/*
 * Fleet: a claim raises the owner epoch, a flush fenced on an older epoch is
 * refused (LW_ERR_FENCED), the newest event times give the global watermark
 * (oldest over active sources; newest over all when all are idle), a claim
 * waits for a flush holding the source's row and then sees its position.
 */
static void test_pg_fleet_claim_fence_watermark(void **state)
{
    (void)state;
    const char *url = target_in("fleet.db");
    lw_store_t *a = open_ok(url, 0), *b = open_ok(url, 0);
    assert_true(lw_store_shared(a));
    int64_t ea, eb, mt, wm;
    OK(lw_store_global_watermark(a, &wm, E));
    assert_true(wm == INT64_MIN); /* nothing claimed */
    OK(lw_store_begin(a, E));
    OK(lw_store_claim(a, "kafka:t:0", "a", &ea, &mt, E));
    OK(lw_store_claim(a, "kafka:t:1", "a", &ea, &mt, E));
    OK(lw_store_commit(a, E));
    assert_int_equal(ea, 1);
    assert_true(mt == INT64_MIN);
    /* a's flush: both sources fenced on epoch 1 with their newest event times */
    OK(lw_store_begin(a, E));
    OK(lw_store_fence(a, "kafka:t:0", 1, 5000, false, E));
    OK(lw_store_fence(a, "kafka:t:1", 1, 9000, false, E));
    OK(lw_store_global_watermark(a, &wm, E));
    assert_int_equal(wm, 5000);
    OK(lw_store_raise_int(a, "watermark_ms", wm, E));
    OK(lw_store_commit(a, E));
    /* b takes partition 0: epoch 2, newest time 5000 */
    OK(lw_store_begin(b, E));
    OK(lw_store_claim(b, "kafka:t:0", "b", &eb, &mt, E));
    OK(lw_store_commit(b, E));
    assert_int_equal(eb, 2);
    assert_int_equal(mt, 5000);
    /* a's late flush on partition 0 is refused; its transaction rolls back */
    char err[256] = "";
    OK(lw_store_begin(a, E));
    assert_int_equal(lw_store_fence(a, "kafka:t:0", 1, 7000, false, err, sizeof err),
                     LW_ERR_FENCED);
    printf("# the zombie's flush: %s\n", err);
    assert_non_null(strstr(err, "owner epoch 2"));
    lw_store_rollback(a);
    OK(lw_store_owner(a, "kafka:t:0", &ea, &mt, E));
    assert_int_equal(ea, 2);
    assert_int_equal(mt, 5000);
    /* raise_int never lowers; idle sources do not hold the watermark */
    OK(lw_store_begin(b, E));
    OK(lw_store_raise_int(b, "watermark_ms", 10, E));
    OK(lw_store_fence(b, "kafka:t:0", 2, 6000, true, E));
    OK(lw_store_global_watermark(b, &wm, E));
    assert_int_equal(wm, 9000); /* partition 1 is the only active one */
    OK(lw_store_commit(b, E));
    OK(lw_store_get_int(a, "watermark_ms", &wm, E));
    assert_int_equal(wm, 5000);
    /* a claim waits for the flush that holds the row, then reads its position */
    OK(lw_store_begin(b, E));
    OK(lw_store_fence(b, "kafka:t:0", 2, 6500, false, E));
    OK(lw_store_set_position(b, "kafka:t:0", &(lw_position_t){.position = 77}, E));
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        lw_store_t *c = NULL;
        char e2[256];
        int64_t ec, mc;
        lw_position_t pos = {0};
        if (lw_store_open(url, 0, &c, e2, sizeof e2) != LW_OK ||
            lw_store_begin(c, e2, sizeof e2) != LW_OK ||
            lw_store_claim(c, "kafka:t:0", "c", &ec, &mc, e2, sizeof e2) != LW_OK ||
            lw_store_get_position(c, "kafka:t:0", &pos, e2, sizeof e2) != LW_OK ||
            lw_store_commit(c, e2, sizeof e2) != LW_OK)
            _exit(2);
        _exit(ec == 3 && mc == 6500 && pos.position == 77 ? 0 : 1);
    }
    usleep(300 * 1000); /* the claim is waiting for b's row lock */
    OK(lw_store_commit(b, E));
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    lw_store_close(a);
    lw_store_close(b);
}

/*
 * Two writers locking two cells in opposite orders deadlock; PostgreSQL aborts
 * one (SQLSTATE 40P01, after deadlock_timeout) and the store says LW_ERR_RETRY,
 * which the pipeline runs again (the fleet sorts its cells so this is rare).
 */
static void test_pg_deadlock_is_retry(void **state)
{
    (void)state;
    const char *url = target_in("deadlock.db");
    lw_store_t *a = open_ok(url, 0);
    int go[2], ready[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        lw_store_t *c = NULL;
        char e2[256];
        char x = 0;
        if (lw_store_open(url, 0, &c, e2, sizeof e2) != LW_OK ||
            lw_store_begin(c, e2, sizeof e2) != LW_OK ||
            lw_store_add_cell(c, "y", 0, 1, 0.0, NULL, e2, sizeof e2) != LW_OK)
            _exit(100);
        if (write(ready[1], "r", 1) != 1 || read(go[0], &x, 1) != 1)
            _exit(101);
        lw_err_t rc = lw_store_add_cell(c, "x", 0, 1, 0.0, NULL, e2, sizeof e2);
        if (rc == LW_OK)
            rc = lw_store_commit(c, e2, sizeof e2);
        else
            lw_store_rollback(c);
        _exit((int)rc);
    }
    char x = 0;
    OK(lw_store_begin(a, E));
    OK(lw_store_add_cell(a, "x", 0, 1, 0.0, NULL, E));
    assert_int_equal(read(ready[0], &x, 1), 1);
    assert_int_equal(write(go[1], "g", 1), 1);
    usleep(200 * 1000); /* the child waits for x */
    char err[256] = "";
    lw_err_t rc = lw_store_add_cell(a, "y", 0, 1, 0.0, NULL, err, sizeof err);
    if (rc == LW_OK) {
        OK(lw_store_commit(a, E));
    } else {
        printf("# the aborted writer: %s %s\n", lw_err_name(rc), err);
        lw_store_rollback(a);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    lw_err_t child = (lw_err_t)WEXITSTATUS(st);
    /* exactly one of the two was aborted, as a retry; the other committed */
    assert_true((rc == LW_ERR_RETRY && child == LW_OK) || (rc == LW_OK && child == LW_ERR_RETRY));
    lw_store_close(a);
}

/* The evaluator lease: one holder; released when its session ends; SQLite always holds it. */
static void test_pg_lease(void **state)
{
    (void)state;
    const char *url = target_in("lease.db");
    lw_store_t *a = open_ok(url, 0), *b = open_ok(url, 0);
    bool ha = false, hb = true;
    OK(lw_store_lease(a, &ha, E));
    OK(lw_store_lease(b, &hb, E));
    assert_true(ha);
    assert_false(hb);
    OK(lw_store_lease(a, &ha, E)); /* confirmed */
    assert_true(ha);
    lw_store_close(a); /* the holder goes away: its session ends */
    usleep(200 * 1000);
    OK(lw_store_lease(b, &hb, E));
    assert_true(hb);
    /* the server ends the holder's session: the next check says so, and takes it again */
    pg_sql(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()");
    usleep(200 * 1000);
    hb = true;
    char err[256] = "";
    lw_err_t rc = lw_store_lease(b, &hb, err, sizeof err);
    printf("# lease check after the session ended: %s held=%d %s\n", lw_err_name(rc), hb, err);
    assert_int_equal(rc, LW_OK);
    assert_false(hb); /* lost, said once */
    OK(lw_store_lease(b, &hb, E));
    assert_true(hb);
    lw_store_close(b);
}

/* store.password_file's form: the password comes from the file, never from the URI. */
static void test_pg_password_file(void **state)
{
    (void)state;
    const char *pw_url = getenv("LW_TEST_PG_PW_URL"); /* a role that needs a password */
    const char *pw = getenv("LW_TEST_PG_PW");
    if (pw_url == NULL || pw == NULL) {
        skip();
    }
    const char *file = path_in("pgpass.txt");
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", pw);
    fclose(f);
    char url[1200], err[512] = "";
    snprintf(url, sizeof url, "%s%spassword_file=%s", pw_url, strchr(pw_url, '?') ? "&" : "?",
             file);
    lw_store_t *s = open_ok(url, 0);
    assert_string_equal(lw_store_backend_name(s), "postgresql");
    OK(lw_store_begin(s, E));
    OK(lw_store_set_int(s, "k", 1, E));
    OK(lw_store_commit(s, E));
    lw_store_close(s);
    /* a wrong password fails, and the message repeats neither */
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("wrong-password-123\n", f);
    fclose(f);
    s = NULL;
    assert_int_equal(lw_store_open(url, 0, &s, err, sizeof err), LW_ERR_STORE);
    printf("# wrong password: %s\n", err);
    assert_null(strstr(err, "wrong-password-123"));
    assert_null(strstr(err, pw));
    assert_non_null(strstr(err, "password"));
}

/* Cost per add_cell on this server (printed for the README; asserts only sanity). */
static void test_pg_measure(void **state)
{
    (void)state;
    const char *url = target_in("measure.db");
    lw_store_t *s = open_ok(url, 0);
    lw_hll_t *dense1 = sketch(0, 60000), *dense2 = sketch(30000, 90000), *small = sketch(0, 20);
    struct {
        const char *what;
        const lw_hll_t *first, *second;
        int n;
    } runs[] = {
        {"plain cell (no sketch)", NULL, NULL, 2000},
        {"small sparse sketch, merged", small, small, 1000},
        {"dense 16 KiB sketch, merged", dense1, dense2, 200},
    };
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        char metric[32];
        snprintf(metric, sizeof metric, "m%zu", r);
        OK(lw_store_begin(s, E));
        for (int i = 0; i < runs[r].n; i++) {
            OK(lw_store_add_cell(s, metric, i * 1000LL, 1, 1.0, runs[r].first, E));
        }
        OK(lw_store_commit(s, E));
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        OK(lw_store_begin(s, E));
        for (int i = 0; i < runs[r].n; i++) {
            OK(lw_store_add_cell(s, metric, i * 1000LL, 1, 1.0, runs[r].second, E));
        }
        OK(lw_store_commit(s, E));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double us =
            ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) /
            runs[r].n;
        printf("# add_cell on an existing cell, %s: %.1f us each (%d in one transaction)\n",
               runs[r].what, us, runs[r].n);
        int64_t lo = 0, hi = 0;
        OK(lw_store_bucket_range(s, &lo, &hi, E));
        assert_true(hi >= (runs[r].n - 1) * 1000LL);
    }
    lw_hll_destroy(dense1);
    lw_hll_destroy(dense2);
    lw_hll_destroy(small);
    lw_store_close(s);
}

int main(void)
{
    pg_base = getenv("LW_TEST_PG_URL");
    if (pg_base != NULL && pg_base[0] != '\0') {
        const struct CMUnitTest pg_tests[] = {
            cmocka_unit_test(test_create_and_reopen),
            cmocka_unit_test(test_add_cell_accumulates_and_merges),
            cmocka_unit_test(test_read_cells_range),
            cmocka_unit_test(test_rollback_discards),
            cmocka_unit_test(test_commit_then_close_is_durable),
            cmocka_unit_test(test_crash_before_commit),
            cmocka_unit_test(test_positions_and_ints),
            cmocka_unit_test(test_counters),
            cmocka_unit_test(test_experiment_rows),
            cmocka_unit_test(test_reads_span_pages),
            cmocka_unit_test(test_writes_need_a_transaction),
            cmocka_unit_test(test_newer_schema_rejected),
            cmocka_unit_test(test_readonly_while_writer_runs),
            cmocka_unit_test(test_corrupt_stored_sketch_surfaces),
            cmocka_unit_test(test_blobs_and_verdicts),
            cmocka_unit_test(test_move_position_compare_and_set),
            cmocka_unit_test(test_positions_by_prefix),
            cmocka_unit_test(test_cell_sums_exact),
            cmocka_unit_test(test_pg_zombie_writer_refused_and_counted),
            cmocka_unit_test(test_pg_concurrent_sketch_merge),
            cmocka_unit_test(test_pg_connection_lost),
            cmocka_unit_test(test_pg_paused_writer_loses_its_flush),
            cmocka_unit_test(test_pg_password_file),
            cmocka_unit_test(test_pg_fleet_claim_fence_watermark),
            cmocka_unit_test(test_pg_lease),
            cmocka_unit_test(test_concurrent_create),
            cmocka_unit_test(test_pg_deadlock_is_retry),
            cmocka_unit_test(test_pg_measure),
        };
        return cmocka_run_group_tests_name("store_postgresql", pg_tests, make_tmpdir,
                                           remove_tmpdir);
    }
    pg_base = NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_reopen),
        cmocka_unit_test(test_add_cell_accumulates_and_merges),
        cmocka_unit_test(test_cell_sums_exact),
        cmocka_unit_test(test_read_cells_range),
        cmocka_unit_test(test_rollback_discards),
        cmocka_unit_test(test_commit_then_close_is_durable),
        cmocka_unit_test(test_crash_before_commit),
        cmocka_unit_test(test_positions_and_ints),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_experiment_rows),
        cmocka_unit_test(test_reads_span_pages),
        cmocka_unit_test(test_writes_need_a_transaction),
        cmocka_unit_test(test_migrate_v1_to_v2),
        cmocka_unit_test(test_failed_migration_is_atomic),
        cmocka_unit_test(test_newer_schema_rejected),
        cmocka_unit_test(test_foreign_files_rejected),
        cmocka_unit_test(test_concurrent_create),
        cmocka_unit_test(test_readonly_while_writer_runs),
        cmocka_unit_test(test_disk_full_surfaces),
        cmocka_unit_test(test_busy_surfaces),
        cmocka_unit_test(test_corrupt_stored_sketch_surfaces),
        cmocka_unit_test(test_blobs_and_verdicts),
        cmocka_unit_test(test_move_position_compare_and_set),
        cmocka_unit_test(test_positions_by_prefix),
        cmocka_unit_test(test_backend_chosen_by_target),
        cmocka_unit_test(test_ops_table_dispatches),
        cmocka_unit_test(test_readonly_0444_leaves_no_shm),
        cmocka_unit_test(test_check_finds_damage),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
