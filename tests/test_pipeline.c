/*
 * test_pipeline.c - the event → store path with a real SQLite file:
 * flush atomicity (aggregates, positions, watermark and counters commit
 * together), nothing durable before a flush, watermark restored across
 * restarts, implicit flush when the aggregator runs out of slots (also in
 * a fleet member, where it raises the watermark to the fleet's), store
 * failure leaves the store at the previous flush, a watermark moved by an
 * idle source flushed on its own, and 10 M cent amounts that sum exactly
 * through the aggregator and ~100 flushes (core/decsum.h).  Every feed and
 * flush is followed by lw_pipeline_check (the invariants of pipeline.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/ingest/pipeline.h"
#include "leadwatch/store/series.h"
#include "leadwatch/store/store_backend.h"
#include "leadwatch/store/store_testing.h"
#include "leadwatch/core/timeutil.h"
#include "testutil.h"

#ifdef NDEBUG
#error "the tests run with assertions on: lwcore's invariant asserts must be compiled in"
#endif

#define NOW INT64_C(1893456000000)

static const char yaml[] =
    "source: {format: segment}\n"
    "store: {flush_events: 1000000, flush_interval: 1h}\n"
    "buckets: {size: 1d, grace: 1d}\n"
    "metrics:\n"
    "  - {name: plays, count: true, where: {event: track_played}}\n"
    "  - {name: ms, sum: properties.duration_ms, where: {event: track_played}}\n"
    "  - {name: users, distinct: user}\n"
    "tree: {nsm: ms, inputs: [{metric: users, kind: breadth}]}\n";

typedef struct {
    char *dir;
    char *db;
    lw_config_t *cfg;
    lw_store_t *store;
    lw_pipeline_t *p;
    int src;
} fx_t;

static void fx_start(fx_t *fx)
{
    char err[512];
    assert_int_equal(lw_store_open(fx->db, 0, &fx->store, err, sizeof err), LW_OK);
    fx->p = lw_pipeline_new(fx->cfg, fx->store, err, sizeof err);
    if (!fx->p)
        fail_msg("pipeline: %s", err);
    lw_position_t pos;
    bool found;
    fx->src = lw_pipeline_add_source(fx->p, "test:0", &pos, &found, err, sizeof err);
    assert_true(fx->src >= 0);
}

static void fx_stop(fx_t *fx)
{
    lw_pipeline_destroy(fx->p);
    lw_store_close(fx->store);
    fx->p = NULL;
    fx->store = NULL;
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    fx->dir = tu_tempdir("pipeline");
    fx->db = tu_path(fx->dir, "t.db");
    TU_CONFIG(yaml, &fx->cfg);
    fx_start(fx);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    fx_stop(fx);
    lw_config_free(fx->cfg);
    tu_rm_rf(fx->dir);
    free(fx->dir);
    free(fx->db);
    free(fx);
    return 0;
}

/* The pipeline's invariants hold (fails the test with the broken one). */
static void checked(const fx_t *fx)
{
    char why[256] = "";
    if (!lw_pipeline_check(fx->p, why, sizeof why))
        fail_msg("pipeline invariant: %s", why);
}

static lw_feed_outcome_t feed(fx_t *fx, const char *json, int64_t pos)
{
    char err[256];
    lw_position_t after = {.position = pos};
    lw_feed_outcome_t out;
    lw_reject_t reason;
    assert_int_equal(lw_pipeline_feed(fx->p, fx->src, json, strlen(json), &after, NOW, &out,
                                      &reason, err, sizeof err),
                     LW_OK);
    checked(fx);
    return out;
}

static void play(fx_t *fx, const char *user, const char *ts, int ms, int64_t pos)
{
    char buf[256];
    snprintf(buf, sizeof buf,
             "{\"event\":\"track_played\",\"userId\":\"%s\",\"timestamp\":\"%s\","
             "\"properties\":{\"duration_ms\":%d}}",
             user, ts, ms);
    assert_int_equal(feed(fx, buf, pos), LW_FEED_ACCEPTED);
}

static void load(fx_t *fx, lw_series_t *s)
{
    char err[256];
    assert_int_equal(lw_series_load(fx->cfg, fx->store, INT64_MIN, INT64_MAX, s, err, sizeof err),
                     LW_OK);
}

static lw_position_t stored_pos(fx_t *fx)
{
    lw_position_t pos = {0};
    char err[256];
    lw_err_t e = lw_store_get_position(fx->store, "test:0", &pos, err, sizeof err);
    assert_true(e == LW_OK || e == LW_ERR_NOT_FOUND);
    if (e == LW_ERR_NOT_FOUND)
        pos.position = -1;
    return pos;
}

static void test_flush_commits_everything_together(void **state)
{
    fx_t *fx = *state;
    char err[256];
    play(fx, "a", "2026-03-02T10:00:00Z", 1000, 10);
    play(fx, "b", "2026-03-02T11:00:00Z", 2000, 20);
    assert_int_equal(feed(fx, "{not json", 30), LW_FEED_REJECTED);
    /* nothing is durable before the flush */
    assert_int_equal(stored_pos(fx).position, -1);
    lw_series_t s;
    load(fx, &s);
    assert_int_equal(s.nrows, 0);
    lw_series_release(&s);

    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    assert_int_equal(stored_pos(fx).position, 30); /* the reject moved the position too */
    load(fx, &s);
    assert_int_equal(s.nrows, 1);
    assert_double_equal(lw_series_at(&s, 0, 0), 2, 0);
    assert_double_equal(lw_series_at(&s, 0, 1), 3000, 0);
    assert_double_equal(lw_series_at(&s, 0, 2), 2, 0.05);
    assert_true(s.provisional[0]);
    lw_series_release(&s);

    int64_t v;
    assert_int_equal(lw_store_get_int(fx->store, LW_KEY_WATERMARK, &v, err, sizeof err), LW_OK);
    int64_t want;
    assert_true(lw_time_parse_iso8601("2026-03-02T11:00:00Z", 20, &want));
    assert_true(v == want);
}

/* lw_pipeline_room: what is left of flush_events, counted down by every read (a reject
 * too), back to flush_events after a flush, and never below 1 */
static void test_room_until_flush_events(void **state)
{
    fx_t *fx = *state;
    char err[256];
    assert_true(lw_pipeline_room(fx->p) == 1000000);
    play(fx, "a", "2026-03-02T10:00:00Z", 1000, 10);
    play(fx, "b", "2026-03-02T11:00:00Z", 2000, 20);
    assert_int_equal(feed(fx, "{not json", 30), LW_FEED_REJECTED);
    assert_true(lw_pipeline_room(fx->p) == 1000000 - 3);
    fx->cfg->store.flush_events = 2; /* the pipeline reads its config: now 3 of 2 are fed */
    assert_true(lw_pipeline_room(fx->p) == 1);
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    assert_true(lw_pipeline_room(fx->p) == 2);
    fx->cfg->store.flush_events = 1000000;
}

static void test_unflushed_work_is_lost_not_half_written(void **state)
{
    fx_t *fx = *state;
    char err[256];
    play(fx, "a", "2026-03-02T10:00:00Z", 1000, 10);
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    play(fx, "b", "2026-03-02T11:00:00Z", 2000, 20);
    play(fx, "c", "2026-03-03T11:00:00Z", 4000, 30);
    /* "crash": destroy without flushing, reopen */
    fx_stop(fx);
    fx_start(fx);
    assert_int_equal(stored_pos(fx).position, 10);
    lw_series_t s;
    load(fx, &s);
    assert_int_equal(s.nrows, 1);
    assert_double_equal(lw_series_at(&s, 0, 1), 1000, 0);
    lw_series_release(&s);
}

static void test_watermark_survives_restart(void **state)
{
    fx_t *fx = *state;
    char err[256];
    play(fx, "a", "2026-03-10T10:00:00Z", 1, 10);
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    fx_stop(fx);
    fx_start(fx);
    /* grace 1d: 03-08 closed at 03-10T00:00, so this is late after restart too */
    assert_int_equal(feed(fx,
                          "{\"event\":\"track_played\",\"userId\":\"z\",\"timestamp\":"
                          "\"2026-03-08T10:00:00Z\",\"properties\":{\"duration_ms\":5}}",
                          20),
                     LW_FEED_LATE);
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    /* counters persisted with the flush */
    lw_pipeline_stats_t st;
    lw_pipeline_stats(fx->p, &st);
    assert_int_equal(st.late, 1);
    assert_int_equal(st.read, 1);
}

typedef struct {
    int64_t late, accepted, invalid, missing_ms;
} counters_t;

static void on_counter(void *ud, const char *name, int64_t value)
{
    counters_t *c = ud;
    if (strcmp(name, "events.late") == 0)
        c->late = value;
    else if (strcmp(name, "events.accepted") == 0)
        c->accepted = value;
    else if (strcmp(name, "rejected.invalid_json") == 0)
        c->invalid = value;
    else if (strcmp(name, "missing_value.ms") == 0)
        c->missing_ms = value;
}

static void test_counters_persist(void **state)
{
    fx_t *fx = *state;
    char err[256];
    play(fx, "a", "2026-03-10T10:00:00Z", 1, 1);
    feed(fx, "[1]", 2);
    feed(fx, "{", 3);
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    play(fx, "a", "2026-03-10T10:00:00Z", 1, 4);
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    /* a play without a duration: counted, but not summed */
    feed(fx, "{\"event\":\"track_played\",\"userId\":\"b\",\"timestamp\":\"2026-03-10T11:00:00Z\"}",
         5);
    lw_pipeline_stats_t st;
    lw_pipeline_stats(fx->p, &st);
    assert_int_equal(st.missing_value[1], 1); /* before the flush */
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    lw_pipeline_stats(fx->p, &st);
    assert_int_equal(st.missing_value[1], 1); /* and after it */
    assert_int_equal(st.missing_value[0], 0);
    counters_t c = {0};
    assert_int_equal(lw_store_counters(fx->store, on_counter, &c, err, sizeof err), LW_OK);
    assert_int_equal(c.accepted, 3);
    assert_int_equal(c.missing_ms, 1);
    assert_int_equal(c.invalid, 1); /* "[1]" is not_object, "{" is invalid_json */
}

static void test_implicit_flush_when_slots_run_out(void **state)
{
    fx_t *fx = *state;
    /* grace 1d: 64 slots; 150 days in order need implicit flushes */
    char ts[64];
    for (int d = 0; d < 150; d++) {
        int64_t t = INT64_C(1772409600000) + (int64_t)d * LW_MS_PER_DAY; /* 2026-03-02 */
        lw_time_format_iso8601(t, ts, sizeof ts);
        play(fx, "u", ts, 7, d + 1);
    }
    lw_pipeline_stats_t st;
    lw_pipeline_stats(fx->p, &st);
    assert_true(st.flushes >= 2);
    /* the implicit flushes stored positions that cover exactly what they hold */
    lw_series_t s;
    load(fx, &s);
    int64_t pos = stored_pos(fx).position;
    assert_true(pos > 0 && pos < 150);
    double total = 0;
    for (size_t i = 0; i < s.nrows; i++)
        total += isnan(lw_series_at(&s, i, 0)) ? 0 : lw_series_at(&s, i, 0);
    assert_double_equal(total, (double)pos, 0);
    lw_series_release(&s);
}

/*
 * A fleet member (shared store): SQLite with a fake global watermark, the
 * fleet's, far ahead of this member's events.  When the slots run out the
 * implicit flush raises the member's watermark to the fleet's; the event
 * that needed the room is then counted against the raised watermark (late),
 * not the one from before the flush (which moved the aggregator's back and
 * aborted on its assert: the 3-daemon fleet with hourly buckets).
 */
static int64_t fleet_wm;
static lw_err_t fake_global_watermark(lw_store_backend_t *b, int64_t *wm, char *errstr,
                                      size_t errstr_size)
{
    (void)b, (void)errstr, (void)errstr_size;
    *wm = fleet_wm;
    return LW_OK;
}

static void test_shared_implicit_flush_raises_the_watermark(void **state)
{
    fx_t *fx = *state;
    fx_stop(fx);
    static lw_store_ops_t ops;
    ops = lw_store_sqlite_ops;
    ops.global_watermark = fake_global_watermark;
    char err[512];
    assert_int_equal(lw_store_open_ops(&ops, fx->db, 0, &fx->store, err, sizeof err), LW_OK);
    fx->p = lw_pipeline_new(fx->cfg, fx->store, err, sizeof err);
    assert_non_null(fx->p);
    lw_pipeline_set_shared(fx->p);
    lw_position_t pos;
    bool found;
    fx->src = lw_pipeline_add_source(fx->p, "test:0", &pos, &found, err, sizeof err);
    assert_true(fx->src >= 0);
    int64_t t0 = INT64_C(1772409600000); /* 2026-03-02 */
    fleet_wm = t0 + 120 * LW_MS_PER_DAY;
    /* grace 1d: 64 slots; 150 days in order, the first implicit flush before day 64 */
    char ts[64], buf[256];
    int late = 0;
    for (int d = 0; d < 150; d++) {
        lw_time_format_iso8601(t0 + (int64_t)d * LW_MS_PER_DAY, ts, sizeof ts);
        snprintf(buf, sizeof buf,
                 "{\"event\":\"track_played\",\"userId\":\"u\",\"timestamp\":\"%s\","
                 "\"properties\":{\"duration_ms\":7}}",
                 ts);
        late += feed(fx, buf, d + 1) == LW_FEED_LATE;
    }
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    checked(fx);
    lw_pipeline_stats_t st;
    lw_pipeline_committed(fx->p, &st);
    assert_true(st.flushes >= 2);
    /* days before the first flush counted, then late until the fleet's watermark's grace */
    assert_true(late > 0 && late < 150);
    assert_int_equal(st.accepted + st.late, 150);
    assert_int_equal(st.late, late);
    int64_t wm = 0;
    assert_int_equal(lw_store_get_int(fx->store, "watermark_ms", &wm, err, sizeof err), LW_OK);
    assert_true(wm >= fleet_wm);
}

static void test_store_full_keeps_previous_flush(void **state)
{
    fx_t *fx = *state;
    char err[512];
    play(fx, "a", "2026-03-02T10:00:00Z", 1000, 10);
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    /* the disk is now "full": no page may be added */
    assert_int_equal(lw_store_set_max_pages(fx->store, 1, err, sizeof err), LW_OK);
    char user[32], ts[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(user, sizeof user, "user-%d", i);
        int64_t t = INT64_C(1772409600000) + (int64_t)(i % 2) * LW_MS_PER_DAY + i;
        lw_time_format_iso8601(t, ts, sizeof ts);
        play(fx, user, ts, 1, 100 + i);
    }
    lw_err_t e = lw_pipeline_flush(fx->p, 0, err, sizeof err);
    assert_int_equal(e, LW_ERR_STORE);
    assert_non_null(strstr(err, "full"));
    /* reopen: exactly the first flush is there, position included */
    fx_stop(fx);
    fx_start(fx);
    assert_int_equal(stored_pos(fx).position, 10);
    lw_series_t s;
    load(fx, &s);
    assert_int_equal(s.nrows, 1);
    assert_double_equal(lw_series_at(&s, 0, 0), 1, 0);
    lw_series_release(&s);
}

/* Event JSON for a play at an ISO time. */
static const char *play_json(const char *ts)
{
    static char buf[256];
    snprintf(buf, sizeof buf,
             "{\"event\":\"track_played\",\"userId\":\"u\",\"timestamp\":\"%s\","
             "\"properties\":{\"duration_ms\":1}}",
             ts);
    return buf;
}

static lw_feed_outcome_t feed_src(fx_t *fx, int src, const char *ts, int64_t pos)
{
    char err[256];
    const char *json = play_json(ts);
    lw_position_t after = {.position = pos};
    lw_feed_outcome_t out;
    lw_reject_t reason;
    assert_int_equal(lw_pipeline_feed(fx->p, src, json, strlen(json), &after, NOW, &out, &reason,
                                      err, sizeof err),
                     LW_OK);
    checked(fx);
    return out;
}

static int64_t ms(const char *iso)
{
    int64_t t;
    assert_true(lw_time_parse_iso8601(iso, strlen(iso), &t));
    return t;
}

/* Two partitions: one days ahead of the other must not make the other's events late. */
static void test_watermark_is_the_slowest_active_source(void **state)
{
    fx_t *fx = *state;
    char err[256];
    lw_position_t pos;
    bool found;
    int a = fx->src;
    int b = lw_pipeline_add_source(fx->p, "test:1", &pos, &found, err, sizeof err);
    assert_true(b >= 0);
    /* grace 1d; both partitions deliver from the start: A is fast, B slow */
    assert_int_equal(feed_src(fx, a, "2026-03-02T10:00:00Z", 1), LW_FEED_ACCEPTED);
    assert_int_equal(feed_src(fx, b, "2026-03-02T11:00:00Z", 1), LW_FEED_ACCEPTED);
    assert_int_equal(feed_src(fx, a, "2026-03-10T10:00:00Z", 2), LW_FEED_ACCEPTED);
    assert_int_equal(feed_src(fx, a, "2026-03-20T10:00:00Z", 3), LW_FEED_ACCEPTED);
    /* the watermark is B's newest time, so B's next days are not late */
    assert_true(lw_pipeline_watermark(fx->p) == ms("2026-03-02T11:00:00Z"));
    assert_int_equal(feed_src(fx, b, "2026-03-03T09:00:00Z", 2), LW_FEED_ACCEPTED);
    assert_int_equal(feed_src(fx, b, "2026-03-04T09:00:00Z", 3), LW_FEED_ACCEPTED);
    assert_true(lw_pipeline_watermark(fx->p) == ms("2026-03-04T09:00:00Z"));
    /* B is caught up (idle): the watermark moves to A's time */
    lw_pipeline_source_idle(fx->p, b);
    assert_true(lw_pipeline_watermark(fx->p) == ms("2026-03-20T10:00:00Z"));
    /* now an old event on B is late, and the watermark does not move back */
    assert_int_equal(feed_src(fx, b, "2026-03-04T10:00:00Z", 4), LW_FEED_LATE);
    assert_true(lw_pipeline_watermark(fx->p) == ms("2026-03-20T10:00:00Z"));
    /* the watermark is persisted with the flush */
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    int64_t v;
    assert_int_equal(lw_store_get_int(fx->store, LW_KEY_WATERMARK, &v, err, sizeof err), LW_OK);
    assert_true(v == ms("2026-03-20T10:00:00Z"));
    lw_pipeline_stats_t st;
    lw_pipeline_stats(fx->p, &st);
    assert_int_equal(st.late, 1);
    assert_int_equal(st.accepted, 6);
}

/*
 * Regression (issue 18.6): a source going idle moves the watermark with no
 * event fed; that watermark must reach the store at once (should_flush says
 * so, and the flush writes it alone), or no bucket closes until the next
 * message arrives.
 */
static void test_idle_watermark_flushes_without_events(void **state)
{
    fx_t *fx = *state;
    char err[256];
    lw_position_t pos;
    bool found;
    int a = fx->src;
    int b = lw_pipeline_add_source(fx->p, "test:1", &pos, &found, err, sizeof err);
    assert_true(b >= 0);
    assert_int_equal(feed_src(fx, a, "2026-03-10T10:00:00Z", 1), LW_FEED_ACCEPTED);
    assert_int_equal(feed_src(fx, b, "2026-03-02T11:00:00Z", 1), LW_FEED_ACCEPTED);
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    checked(fx);
    assert_false(lw_pipeline_should_flush(fx->p, 1));
    int64_t v;
    assert_int_equal(lw_store_get_int(fx->store, LW_KEY_WATERMARK, &v, err, sizeof err), LW_OK);
    assert_true(v == ms("2026-03-02T11:00:00Z"));
    lw_pipeline_stats_t before, after;
    lw_pipeline_stats(fx->p, &before);

    lw_pipeline_source_idle(fx->p, b); /* B caught up: A's time is the watermark */
    checked(fx);
    assert_true(lw_pipeline_watermark(fx->p) == ms("2026-03-10T10:00:00Z"));
    assert_true(lw_pipeline_should_flush(fx->p, 1));
    assert_int_equal(lw_pipeline_flush(fx->p, 1, err, sizeof err), LW_OK);
    checked(fx);
    assert_int_equal(lw_store_get_int(fx->store, LW_KEY_WATERMARK, &v, err, sizeof err), LW_OK);
    assert_true(v == ms("2026-03-10T10:00:00Z"));
    assert_false(lw_pipeline_should_flush(fx->p, 2));
    /* a commit of the watermark alone: no event counted twice, positions unchanged */
    lw_pipeline_stats(fx->p, &after);
    assert_int_equal(after.read, before.read);
    assert_int_equal(after.accepted, before.accepted);
    assert_int_equal(after.flushes, before.flushes + 1);
    lw_position_t fl;
    assert_true(lw_pipeline_source_flushed(fx->p, b, &fl));
    assert_int_equal(fl.position, 1);
}

/* lw_pipeline_source_flushed follows the store, never the position fed. */
static void test_flushed_position_follows_the_store(void **state)
{
    fx_t *fx = *state;
    char err[256];
    lw_position_t fl;
    assert_false(lw_pipeline_source_flushed(fx->p, fx->src, &fl));
    play(fx, "u1", "2026-03-02T10:00:00Z", 5, 100);
    assert_false(lw_pipeline_source_flushed(fx->p, fx->src, &fl)); /* fed, not flushed */
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    checked(fx);
    assert_true(lw_pipeline_source_flushed(fx->p, fx->src, &fl));
    assert_int_equal(fl.position, 100);
    play(fx, "u2", "2026-03-02T11:00:00Z", 5, 200);
    assert_true(lw_pipeline_source_flushed(fx->p, fx->src, &fl));
    assert_int_equal(fl.position, 100);
    assert_int_equal(stored_pos(fx).position, 100);
    /* a restart reads the store's position as the flushed one */
    fx_stop(fx);
    fx_start(fx);
    checked(fx);
    assert_true(lw_pipeline_source_flushed(fx->p, fx->src, &fl));
    assert_int_equal(fl.position, 100);
}

/* ---- exact decimal sums ------------------------------------------------- */

typedef struct {
    int64_t bucket[3];
    double sum[3];
    size_t n;
} cents_cells_t;

static int cents_cell(void *ud, const lw_cell_t *c)
{
    cents_cells_t *cc = ud;
    if (cc->n < 3) {
        cc->bucket[cc->n] = c->bucket_ms;
        cc->sum[cc->n] = c->sum;
    }
    cc->n++;
    return 0;
}

/*
 * Revenue in cents sums exactly: 10 M events with random amounts
 * 0.01 .. 999.99 spread over three daily buckets go through the decoder,
 * the aggregator and ~100 flushes into SQLite; each stored cell is the
 * double nearest to the exact decimal total (so it prints as e.g.
 * 1666721234.56, not ...56000002), compared with an int64 count of cents.
 * A naive double sum of the same amounts in the same order is printed for
 * comparison (it is off by many ulps).  LW_TEST_CENTS_EVENTS overrides the
 * count for quick runs.
 */
static void test_cents_sum_exactly(void **state)
{
    (void)state;
    static const char cfg_text[] =
        "source: {format: segment}\n"
        "store: {flush_events: 10000000, flush_interval: 1h}\n"
        "buckets: {size: 1d, grace: 5d}\n"
        "metrics:\n"
        "  - {name: revenue, sum: properties.amount}\n"
        "  - {name: buys, count: true}\n"
        "tree: {nsm: revenue, inputs: [{metric: buys, kind: breadth}]}\n";
    static const char *const ts[3] = {"2029-12-28T12:00:00Z", "2029-12-29T12:00:00Z",
                                      "2029-12-30T12:00:00Z"}; /* before NOW */
    const char *env = getenv("LW_TEST_CENTS_EVENTS");
    const long long nev = env ? atoll(env) : 10000000LL;
    const long long flush_every = 99991; /* ~100 flushes, not aligned with anything */
    char *dir = tu_tempdir("cents");
    char *db = tu_path(dir, "c.db");
    lw_config_t *cfg = NULL;
    TU_CONFIG(cfg_text, &cfg);
    char err[512];
    lw_store_t *store = NULL;
    assert_int_equal(lw_store_open(db, 0, &store, err, sizeof err), LW_OK);
    lw_pipeline_t *p = lw_pipeline_new(cfg, store, err, sizeof err);
    if (!p)
        fail_msg("pipeline: %s", err);
    lw_position_t pos;
    bool found;
    int src = lw_pipeline_add_source(p, "cents:0", &pos, &found, err, sizeof err);
    assert_true(src >= 0);

    int64_t exact[3] = {0, 0, 0}; /* cents */
    double naive[3] = {0, 0, 0};
    uint64_t x = 0x9E3779B97F4A7C15u; /* xorshift64 */
    char buf[256];
    for (long long i = 0; i < nev; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int b = (int)(x % 3);
        int64_t cents = 1 + (int64_t)((x >> 8) % 99999);
        int len = snprintf(buf, sizeof buf,
                           "{\"event\":\"buy\",\"userId\":\"u\",\"timestamp\":\"%s\","
                           "\"properties\":{\"amount\":%lld.%02lld}}",
                           ts[b], (long long)(cents / 100), (long long)(cents % 100));
        exact[b] += cents;
        naive[b] += strtod(strstr(buf, "\"amount\":") + 9, NULL);
        lw_position_t after = {.position = i + 1};
        lw_feed_outcome_t out;
        lw_reject_t reason = LW_REJECT_NONE;
        err[0] = '\0';
        if (lw_pipeline_feed(p, src, buf, (size_t)len, &after, NOW, &out, &reason, err,
                             sizeof err) != LW_OK ||
            out != LW_FEED_ACCEPTED)
            fail_msg("event %lld not accepted (outcome %d, %s): %s", i, (int)out,
                     lw_reject_name(reason), err);
        if ((i + 1) % flush_every == 0)
            assert_int_equal(lw_pipeline_flush(p, 0, err, sizeof err), LW_OK);
    }
    assert_int_equal(lw_pipeline_flush(p, 0, err, sizeof err), LW_OK);

    cents_cells_t cc = {.n = 0};
    assert_int_equal(lw_store_read_cells(store, "revenue", INT64_MIN, INT64_MAX, cents_cell, &cc,
                                         err, sizeof err),
                     LW_OK);
    assert_int_equal(cc.n, 3);
    for (int b = 0; b < 3; b++) {
        char want[64];
        snprintf(want, sizeof want, "%lld.%02lld", (long long)(exact[b] / 100),
                 (long long)(exact[b] % 100));
        double nearest = strtod(want, NULL);
        char got[64], shortest[64];
        snprintf(got, sizeof got, "%.17g", cc.sum[b]);
        for (int prec = 15; prec <= 17; prec++) { /* lw_format_double's rule */
            snprintf(shortest, sizeof shortest, "%.*g", prec, cc.sum[b]);
            if (strtod(shortest, NULL) == cc.sum[b])
                break;
        }
        printf("cents: bucket %d: exact %s, stored %s (prints %s), naive sum %.17g (%+.0f ulp)\n",
               b, want, got, shortest, naive[b],
               (naive[b] - nearest) / (nextafter(nearest, INFINITY) - nearest));
        if (cc.sum[b] != nearest)
            fail_msg("bucket %d: stored %s, exact %s", b, got, want);
        /* the printed form is the decimal itself, without binary noise */
        assert_true(strtod(shortest, NULL) == nearest && strlen(shortest) <= strlen(want));
    }
    lw_pipeline_destroy(p);
    lw_store_close(store);
    lw_config_free(cfg);
    tu_rm_rf(dir);
    free(dir);
    free(db);
}

/* A batch envelope: every element is read, accepted or rejected on its own. */
static void test_envelope_elements_counted_each(void **state)
{
    fx_t *fx = *state;
    char err[256];
    const char *env =
        "{\"batch\":[{\"event\":\"track_played\",\"userId\":\"a\",\"timestamp\":"
        "\"2026-03-02T10:00:00Z\",\"properties\":{\"duration_ms\":5}},"
        "{\"event\":\"track_played\",\"anonymousId\":\"b\",\"originalTimestamp\":"
        "\"2026-03-02T10:00:00Z\",\"properties\":{\"duration_ms\":7}},"
        "{\"event\":\"track_played\"}],\"sentAt\":\"2026-03-02T10:00:01Z\",\"api_key\":\"k\"}";
    assert_int_equal(feed(fx, env, 100), LW_FEED_ACCEPTED);
    /* all rejected: the feed says rejected; an empty envelope is one `empty` */
    assert_int_equal(feed(fx, "{\"batch\":[{},{}]}", 120), LW_FEED_REJECTED);
    assert_int_equal(feed(fx, "{\"batch\":[]}", 130), LW_FEED_REJECTED);
    lw_pipeline_stats_t st;
    lw_pipeline_stats(fx->p, &st);
    assert_int_equal(st.read, 6);
    assert_int_equal(st.accepted, 2);
    assert_int_equal(st.envelopes, 3);
    assert_int_equal(st.rejected[LW_REJECT_MISSING_EVENT], 2);
    assert_int_equal(st.rejected[LW_REJECT_MISSING_USER], 1);
    assert_int_equal(st.rejected[LW_REJECT_EMPTY], 1);
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    assert_int_equal(stored_pos(fx).position, 130);
    lw_series_t s;
    load(fx, &s);
    assert_int_equal(s.nrows, 1);
    assert_double_equal(lw_series_at(&s, 0, 0), 2, 0);
    assert_double_equal(lw_series_at(&s, 0, 1), 12, 0);
    lw_series_release(&s);
}

static lw_feed_outcome_t play_id(fx_t *fx, const char *user, const char *id, int64_t pos)
{
    char buf[256];
    snprintf(buf, sizeof buf,
             "{\"event\":\"track_played\",\"userId\":\"%s\",\"messageId\":\"%s\","
             "\"timestamp\":\"2026-03-02T10:00:00Z\",\"properties\":{\"duration_ms\":1}}",
             user, id);
    return feed(fx, buf, pos);
}

static int64_t plays_stored(fx_t *fx)
{
    lw_series_t s;
    load(fx, &s);
    int64_t n = s.nrows ? (int64_t)lw_series_at(&s, 0, 0) : 0;
    lw_series_release(&s);
    return n;
}

/* messageId seen before (in this run or a committed one) is a duplicate; a
 * copy of an event that was never committed is not. */
static void test_dedup_exact_across_restarts(void **state)
{
    fx_t *fx = *state;
    char err[256];
    assert_int_equal(play_id(fx, "a", "m1", 10), LW_FEED_ACCEPTED);
    assert_int_equal(play_id(fx, "a", "m1", 20), LW_FEED_REJECTED);
    assert_int_equal(play_id(fx, "b", "m1", 30), LW_FEED_ACCEPTED); /* another user's id */
    assert_int_equal(play_id(fx, "a", "m2", 40), LW_FEED_ACCEPTED);
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    /* m3 is fed but never committed ("crash") */
    assert_int_equal(play_id(fx, "a", "m3", 50), LW_FEED_ACCEPTED);
    fx_stop(fx);
    fx_start(fx);
    assert_int_equal(play_id(fx, "a", "m2", 60), LW_FEED_REJECTED);
    assert_int_equal(play_id(fx, "a", "m3", 70), LW_FEED_ACCEPTED);
    assert_int_equal(play_id(fx, "a", "m3", 80), LW_FEED_REJECTED);
    lw_pipeline_stats_t st;
    lw_pipeline_stats(fx->p, &st);
    assert_int_equal(st.rejected[LW_REJECT_DUPLICATE], 2);
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    assert_int_equal(plays_stored(fx), 4); /* m1/a, m1/b, m2, m3 */
    fx_stop(fx);
    fx_start(fx);
    assert_int_equal(play_id(fx, "b", "m1", 90), LW_FEED_REJECTED);
}

/* source.dedup.enabled: false counts every copy. */
static void test_dedup_can_be_disabled(void **state)
{
    fx_t *fx = *state;
    char err[256];
    fx_stop(fx);
    lw_config_free(fx->cfg);
    static const char off[] = "source: {format: segment, dedup: {enabled: false}}\n"
                              "store: {flush_events: 1000000, flush_interval: 1h}\n"
                              "buckets: {size: 1d, grace: 1d}\n"
                              "metrics:\n"
                              "  - {name: plays, count: true, where: {event: track_played}}\n"
                              "  - {name: users, distinct: user}\n"
                              "tree: {nsm: plays, inputs: [{metric: users, kind: breadth}]}\n";
    TU_CONFIG(off, &fx->cfg);
    fx_start(fx);
    assert_int_equal(play_id(fx, "a", "m1", 10), LW_FEED_ACCEPTED);
    assert_int_equal(play_id(fx, "a", "m1", 20), LW_FEED_ACCEPTED);
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    assert_int_equal(plays_stored(fx), 2);
}

/* The messages of test_feed_ahead_counts_as_feed: duplicates (one spelled
 * with escapes, so its strings live in the decoder's scratch), a reject,
 * envelopes before and after plain events. */
static const char *const ahead_msgs[] = {
    "{\"event\":\"track_played\",\"userId\":\"a\",\"messageId\":\"m1\",\"timestamp\":"
    "\"2026-03-02T10:00:00Z\",\"properties\":{\"duration_ms\":1}}",
    "{\"event\":\"track\\u005fplayed\",\"userId\":\"\\u0061\",\"messageId\":\"m\\u0031\","
    "\"timestamp\":\"2026-03-02T10:00:00Z\",\"properties\":{\"duration_ms\":2}}",
    "{\"event\":\"track_played\",\"userId\":\"b\\n\",\"messageId\":\"m1\",\"timestamp\":"
    "\"2026-03-02T10:00:00Z\",\"properties\":{\"duration_ms\":4}}",
    "{\"event\":\"track_played\",\"userId\":\"d\\t\",\"messageId\":\"m9\",\"timestamp\":"
    "\"2026-03-02T10:00:00Z\",\"properties\":{\"duration_ms\":256}}",
    "{not json",
    "{\"batch\":[{\"event\":\"track_played\",\"userId\":\"a\",\"messageId\":\"m2\",\"timestamp\":"
    "\"2026-03-02T10:00:00Z\",\"properties\":{\"duration_ms\":8}},{\"event\":\"track_played\","
    "\"userId\":\"a\",\"messageId\":\"m2\",\"timestamp\":\"2026-03-02T10:00:00Z\"}]}",
    "{\"event\":\"track_played\",\"userId\":\"b\\n\",\"messageId\":\"m1\",\"timestamp\":"
    "\"2026-03-02T10:00:00Z\",\"properties\":{\"duration_ms\":16}}",
    "{\"event\":\"track_played\",\"userId\":\"a\",\"messageId\":\"m2\",\"timestamp\":"
    "\"2026-03-02T10:00:00Z\",\"properties\":{\"duration_ms\":32}}",
    "{\"batch\":[{\"event\":\"track_played\",\"userId\":\"c\",\"messageId\":\"m3\",\"timestamp\":"
    "\"2026-03-02T10:00:00Z\",\"properties\":{\"duration_ms\":64}}]}",
    "{\"event\":\"track_played\",\"userId\":\"c\",\"messageId\":\"m4\",\"timestamp\":"
    "\"2026-03-02T10:00:00Z\",\"properties\":{\"duration_ms\":128}}",
};

/* Reading ahead (lw_pipeline_feed_ahead, as the consumer feeds) counts
 * exactly as lw_pipeline_feed, message by message; a buffer rewritten in
 * place after lw_pipeline_forget_ahead is decoded afresh. */
static void test_feed_ahead_counts_as_feed(void **state)
{
    fx_t *fx = *state;
    char err[256];
    size_t n = sizeof ahead_msgs / sizeof *ahead_msgs;
    lw_feed_outcome_t want[sizeof ahead_msgs / sizeof *ahead_msgs];
    for (size_t i = 0; i < n; i++)
        want[i] = feed(fx, ahead_msgs[i], (int64_t)i + 1);
    lw_pipeline_stats_t plain;
    lw_pipeline_stats(fx->p, &plain);
    assert_int_equal(plain.rejected[LW_REJECT_DUPLICATE], 4);
    assert_int_equal(plain.accepted, 6);
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    lw_series_t s;
    load(fx, &s);
    assert_int_equal(s.nrows, 1);
    assert_int_equal(s.ncols, 3);
    double plain_row[3] = {s.values[0], s.values[1], s.values[2]};
    assert_double_equal(plain_row[2], 4, 0.01); /* users a, "b\n", "d\t", c (HLL estimate) */
    lw_series_release(&s);
    fx_stop(fx);
    tu_rm_rf(fx->dir);
    free(fx->dir);
    free(fx->db);
    fx->dir = tu_tempdir("pipeline");
    fx->db = tu_path(fx->dir, "t.db");
    fx_start(fx);
    for (size_t i = 0; i < n; i++) {
        lw_position_t after = {.position = (int64_t)i + 1};
        lw_feed_outcome_t out;
        lw_reject_t reason;
        const char *next = i + 1 < n ? ahead_msgs[i + 1] : NULL;
        assert_int_equal(lw_pipeline_feed_ahead(
                             fx->p, fx->src, ahead_msgs[i], strlen(ahead_msgs[i]), next,
                             next ? strlen(next) : 0, &after, NOW, &out, &reason, err, sizeof err),
                         LW_OK);
        checked(fx);
        assert_int_equal(out, want[i]);
    }
    lw_pipeline_stats_t ahead;
    lw_pipeline_stats(fx->p, &ahead);
    assert_memory_equal(&ahead, &plain, sizeof ahead);
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    load(fx, &s);
    assert_int_equal(s.nrows, 1);
    assert_memory_equal(s.values, plain_row, sizeof plain_row);
    assert_double_equal(lw_series_at(&s, 0, 0), 6, 0);
    assert_double_equal(lw_series_at(&s, 0, 1), 1 + 4 + 256 + 8 + 64 + 128, 0);
    lw_series_release(&s);

    /* read ahead of buf, forget, rewrite buf in place: the feed sees the new bytes */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", ahead_msgs[9]); /* c/m4 again: a duplicate */
    lw_position_t after = {.position = 100};
    lw_feed_outcome_t out;
    lw_reject_t reason;
    assert_int_equal(lw_pipeline_feed_ahead(fx->p, fx->src, ahead_msgs[0], strlen(ahead_msgs[0]),
                                            buf, strlen(buf), &after, NOW, &out, &reason, err,
                                            sizeof err),
                     LW_OK);
    assert_int_equal(out, LW_FEED_REJECTED); /* a/m1 again */
    lw_pipeline_forget_ahead(fx->p);
    char *id = strstr(buf, "\"m4\"");
    assert_non_null(id);
    id[2] = '5'; /* c/m5: new, so accepted only when decoded afresh */
    assert_int_equal(lw_pipeline_feed(fx->p, fx->src, buf, strlen(buf), &after, NOW, &out, &reason,
                                      err, sizeof err),
                     LW_OK);
    assert_int_equal(out, LW_FEED_ACCEPTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flush_commits_everything_together, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unflushed_work_is_lost_not_half_written, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_watermark_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters_persist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_implicit_flush_when_slots_run_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_implicit_flush_raises_the_watermark, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_full_keeps_previous_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watermark_is_the_slowest_active_source, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_idle_watermark_flushes_without_events, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_flushed_position_follows_the_store, setup, teardown),
        cmocka_unit_test(test_cents_sum_exactly),
        cmocka_unit_test_setup_teardown(test_envelope_elements_counted_each, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_exact_across_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedup_can_be_disabled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feed_ahead_counts_as_feed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_room_until_flush_events, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
