/*
 * test_metric.c - metric matching and bucket aggregation (metric.c), driven
 * with real decoded events: where clauses, every metric kind, missing
 * values, bucket/grace/late boundaries, slot exhaustion and flush, ratio and
 * value derivation, each event name's plan of metrics, the previous
 * bucket's reuse at bucket boundaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "leadwatch/model/metric.h"
#include "leadwatch/core/timeutil.h"
#include "testutil.h"

#define NOW                                                                                        \
    INT64_C(1893456000000) /* 2030-01-01: far enough that tests never hit the future bound */

static const char base_yaml[] =
    "source: {format: segment}\n"
    "buckets: {size: 1d, grace: 2d}\n"
    "metrics:\n"
    "  - {name: minutes, sum: properties.duration_ms, scale: 0.001, where: {event: track_played}}\n"
    "  - {name: users, distinct: user, where: {event: [session_start, track_played]}}\n"
    "  - {name: ios_sessions, count: true, where: {event: session_start, properties.platform: "
    "ios}}\n"
    "  - {name: premium, count: true, where: {properties.premium: true}}\n"
    "  - {name: tier2, count: true, where: {properties.tier: [2, 3]}}\n"
    "  - {name: per_user, ratio: [minutes, users]}\n"
    "  - {name: avg_rev, mean: properties.revenue, where: {event: purchase}}\n"
    "  - {name: all_events, count: true}\n"
    "tree:\n"
    "  nsm: minutes\n"
    "  inputs: [{metric: users, kind: breadth}]\n";

typedef struct {
    lw_config_t *cfg;
    lw_decoder_t *dec;
    lw_agg_t *agg;
} fx_t;

static void fx_open(fx_t *fx, const char *yaml)
{
    char err[256];
    TU_CONFIG(yaml, &fx->cfg);
    lw_decoder_opts_t o = {.format = fx->cfg->source.format};
    fx->dec = lw_decoder_new(&o, err, sizeof err);
    assert_non_null(fx->dec);
    fx->agg = lw_agg_new(fx->cfg, fx->dec, err, sizeof err);
    if (!fx->agg)
        fail_msg("lw_agg_new: %s", err);
}

static void fx_close(fx_t *fx)
{
    lw_agg_destroy(fx->agg);
    lw_decoder_destroy(fx->dec);
    lw_config_free(fx->cfg);
}

static lw_agg_result_t add_json(fx_t *fx, const char *json)
{
    lw_event_t ev;
    lw_reject_t r = lw_decoder_decode(fx->dec, json, strlen(json), NOW, &ev);
    if (r != LW_REJECT_NONE)
        fail_msg("decode rejected (%s): %s", lw_reject_name(r), json);
    return lw_agg_add(fx->agg, &ev);
}

static lw_agg_result_t add_ev(fx_t *fx, const char *event, const char *user, const char *ts,
                              const char *props)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"event\":\"%s\",\"userId\":\"%s\",\"timestamp\":\"%s\",\"properties\":%s}", event,
             user, ts, props ? props : "{}");
    return add_json(fx, buf);
}

typedef struct {
    int64_t count[LW_CONFIG_MAX_METRICS][8];
    double sum[LW_CONFIG_MAX_METRICS][8];
    double distinct[LW_CONFIG_MAX_METRICS][8];
    int64_t base;
    int ncells;
} collected_t;

static lw_err_t collect(void *ud, const lw_agg_cell_t *c)
{
    collected_t *col = ud;
    int64_t day = (c->bucket_ms - col->base) / LW_MS_PER_DAY;
    assert_true(day >= 0 && day < 8);
    col->count[c->metric][day] += c->count;
    col->sum[c->metric][day] += c->sum;
    col->distinct[c->metric][day] = c->hll ? lw_hll_estimate(c->hll) : 0;
    col->ncells++;
    return LW_OK;
}

static int64_t day_ms(const char *iso)
{
    int64_t t;
    assert_true(lw_time_parse_iso8601(iso, strlen(iso), &t));
    return t;
}

/* Every dirty cell's count, sum and serialized sketch, in callback order. */
typedef struct {
    char text[1 << 16];
    size_t len;
} cells_text_t;

static lw_err_t cell_text(void *ud, const lw_agg_cell_t *c)
{
    cells_text_t *t = ud;
    uint8_t buf[1 << 15];
    size_t n = c->hll ? lw_hll_serialize(c->hll, buf, sizeof buf) : 0;
    t->len += (size_t)snprintf(t->text + t->len, sizeof t->text - t->len,
                               "%d %lld %lld %.17g %zu:", c->metric, (long long)c->bucket_ms,
                               (long long)c->count, c->sum, n);
    for (size_t i = 0; i < n && t->len + 3 < sizeof t->text; i++)
        t->len += (size_t)snprintf(t->text + t->len, sizeof t->text - t->len, "%02x", buf[i]);
    assert_true(t->len + 3 < sizeof t->text);
    t->text[t->len++] = '\n';
    t->text[t->len] = 0;
    return LW_OK;
}

/* lw_agg_add_hashed with lw_hll_hash of the user: the cells of lw_agg_add_at, sketches included */
static void test_add_hashed_same_cells(void **state)
{
    (void)state;
    fx_t a, b;
    fx_open(&a, base_yaml);
    fx_open(&b, base_yaml);
    static const char *const names[] = {"track_played", "session_start", "purchase", "search"};
    static cells_text_t ta, tb;
    ta.len = tb.len = 0;
    for (int i = 0; i < 400; i++) {
        char buf[256], user[16];
        snprintf(user, sizeof user, "u%d", (i * 7919) % 97);
        snprintf(buf, sizeof buf,
                 "{\"event\":\"%s\",\"userId\":\"%s\",\"timestamp\":\"2026-03-0%dT10:00:00Z\","
                 "\"properties\":{\"duration_ms\":%d,\"revenue\":%d.5}}",
                 names[i % 4], user, 1 + i % 3, i * 10, i);
        lw_event_t ev;
        assert_int_equal(lw_decoder_decode(a.dec, buf, strlen(buf), NOW, &ev), LW_REJECT_NONE);
        int64_t wm = lw_agg_watermark(a.agg) > ev.time_ms ? lw_agg_watermark(a.agg) : ev.time_ms;
        lw_agg_result_t ra = lw_agg_add_at(a.agg, &ev, wm);
        lw_agg_result_t rb =
            lw_agg_add_hashed(b.agg, &ev, wm, &(uint64_t){lw_hll_hash(user, strlen(user))});
        assert_int_equal(ra, rb);
    }
    assert_int_equal(lw_agg_foreach_dirty(a.agg, cell_text, &ta), LW_OK);
    assert_int_equal(lw_agg_foreach_dirty(b.agg, cell_text, &tb), LW_OK);
    assert_true(ta.len > 1000);
    assert_string_equal(ta.text, tb.text);
    fx_close(&a);
    fx_close(&b);
}

static void test_matching_and_kinds(void **state)
{
    (void)state;
    fx_t fx;
    fx_open(&fx, base_yaml);
    const char *d = "2026-03-02T10:00:00Z";
    assert_int_equal(add_ev(&fx, "track_played", "a", d, "{\"duration_ms\":1500}"),
                     LW_AGG_ACCEPTED);
    assert_int_equal(add_ev(&fx, "track_played", "b", d, "{\"duration_ms\":2500.5}"),
                     LW_AGG_ACCEPTED);
    /* a string is not a number: not summed, counted as missing */
    add_ev(&fx, "track_played", "c", d, "{\"duration_ms\":\"100\"}");
    /* missing property */
    add_ev(&fx, "track_played", "c", d, "{}");
    add_ev(&fx, "session_start", "a", d, "{\"platform\":\"ios\"}");
    add_ev(&fx, "session_start", "d", d, "{\"platform\":\"android\"}");
    add_ev(&fx, "session_start", "e", d, "{\"platform\":\"IOS\"}"); /* case matters */
    add_ev(&fx, "search", "f", d, "{\"premium\":true,\"tier\":2}");
    add_ev(&fx, "search", "g", d, "{\"premium\":\"true\",\"tier\":3}"); /* string != bool */
    add_ev(&fx, "search", "h", d, "{\"premium\":false,\"tier\":4}");
    add_ev(&fx, "purchase", "a", d, "{\"revenue\":9.99}");
    add_ev(&fx, "purchase", "b", d, "{\"revenue\":0.01}");
    add_ev(&fx, "purchase", "b", d, "{\"revenue\":null}");

    collected_t col = {.base = day_ms("2026-03-02")};
    assert_int_equal(lw_agg_foreach_dirty(fx.agg, collect, &col), LW_OK);
    int minutes = lw_config_metric_index(fx.cfg, "minutes");
    int users = lw_config_metric_index(fx.cfg, "users");
    int ios = lw_config_metric_index(fx.cfg, "ios_sessions");
    int premium = lw_config_metric_index(fx.cfg, "premium");
    int tier2 = lw_config_metric_index(fx.cfg, "tier2");
    int avg = lw_config_metric_index(fx.cfg, "avg_rev");
    int all = lw_config_metric_index(fx.cfg, "all_events");

    assert_int_equal(col.count[minutes][0], 2);
    assert_double_equal(col.sum[minutes][0], 4.0005, 1e-12);
    assert_int_equal(lw_agg_missing_value(fx.agg, minutes), 2);
    /* users: a, b, c (track_played, even without duration) + d, e (session_start) */
    assert_double_equal(col.distinct[users][0], 5.0, 0.5);
    assert_int_equal(col.count[users][0], 7);
    assert_int_equal(col.count[ios][0], 1);
    assert_int_equal(col.count[premium][0], 1);
    assert_int_equal(col.count[tier2][0], 2);
    assert_int_equal(col.count[avg][0], 2);
    assert_double_equal(col.sum[avg][0], 10.0, 1e-12);
    assert_int_equal(lw_agg_missing_value(fx.agg, avg), 1);
    assert_int_equal(col.count[all][0], 13);
    fx_close(&fx);
}

/* Each event name's plan (metric.c): lw_agg_match gives, for names in one,
 * several or no where.event list, names that only share a prefix or a
 * length with a listed one, exactly the metrics whose conditions hold. */
static void test_plans_by_event_name(void **state)
{
    (void)state;
    fx_t fx;
    fx_open(&fx, base_yaml);
    static const struct {
        const char *name;
        const char *want; /* metric names hit, in config order */
    } cases[] = {
        {"track_played", "minutes users premium tier2 all_events"},
        {"session_start", "users ios_sessions premium tier2 all_events"},
        {"purchase", "premium tier2 avg_rev all_events"},
        {"search", "premium tier2 all_events"},
        {"track_playeD", "premium tier2 all_events"},
        {"track_played_", "premium tier2 all_events"},
        {"track", "premium tier2 all_events"},
        {"session_start", "users ios_sessions premium tier2 all_events"},
        {"track_played", "minutes users premium tier2 all_events"},
        /* a name differing only in its last bytes (metric.c compares words from both ends) */
        {"searcH", "premium tier2 all_events"},
        {"Search", "premium tier2 all_events"},
        {"purchasE", "premium tier2 all_events"},
        {"session_starT", "premium tier2 all_events"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[512];
        snprintf(buf, sizeof buf,
                 "{\"event\":\"%s\",\"userId\":\"u\",\"timestamp\":\"2026-03-02T10:00:00Z\","
                 "\"properties\":{\"platform\":\"ios\",\"premium\":true,\"tier\":2,"
                 "\"duration_ms\":5,\"revenue\":1}}",
                 cases[i].name);
        lw_event_t ev;
        assert_int_equal(lw_decoder_decode(fx.dec, buf, strlen(buf), NOW, &ev), LW_REJECT_NONE);
        lw_agg_hit_t hits[LW_CONFIG_MAX_METRICS];
        size_t n = lw_agg_match(fx.agg, &ev, hits);
        char got[512] = "";
        for (size_t h = 0; h < n; h++) {
            size_t used = strlen(got);
            snprintf(got + used, sizeof got - used, "%s%s", h ? " " : "",
                     fx.cfg->metrics[hits[h].metric].name);
        }
        assert_string_equal(got, cases[i].want);
    }
    fx_close(&fx);
}

/* Event names of 1-3, 4-7 and more than 16 bytes against near misses (metric.c's name compare). */
static void test_name_lengths(void **state)
{
    (void)state;
    fx_t fx;
    fx_open(&fx, "source: {format: segment}\n"
                 "buckets: {size: 1d, grace: 2d}\n"
                 "metrics:\n"
                 "  - {name: short, count: true, where: {event: [a, abc]}}\n"
                 "  - {name: mid, count: true, where: {event: [abcd, abcdefg]}}\n"
                 "  - {name: long, count: true, where: {event: [abcdefghijklmnopqrs]}}\n"
                 "tree:\n"
                 "  nsm: short\n"
                 "  inputs: [{metric: mid, kind: breadth}]\n");
    static const struct {
        const char *name;
        size_t hits; /* 0 or 1: the one metric its name selects */
    } cases[] = {
        {"a", 1},
        {"b", 0},
        {"abc", 1},
        {"abd", 0},
        {"xbc", 0},
        {"abcd", 1},
        {"abce", 0},
        {"xbcd", 0},
        {"abcdefg", 1},
        {"abcdefh", 0},
        {"abcxefg", 0},
        {"abcdefghijklmnopqrs", 1},
        {"abcdefghijklmnopqrt", 0},
        {"abcdefghijklmnopXrs", 0},
        {"Abcdefghijklmnopqrs", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf,
                 "{\"event\":\"%s\",\"userId\":\"u\",\"timestamp\":\"2026-03-02T10:00:00Z\"}",
                 cases[i].name);
        lw_event_t ev;
        assert_int_equal(lw_decoder_decode(fx.dec, buf, strlen(buf), NOW, &ev), LW_REJECT_NONE);
        lw_agg_hit_t hits[LW_CONFIG_MAX_METRICS];
        if (lw_agg_match(fx.agg, &ev, hits) != cases[i].hits)
            fail_msg("name '%s': want %zu hits", cases[i].name, cases[i].hits);
    }
    fx_close(&fx);
}

/* The bucket of the previous event is reused only for times inside it:
 * events alternating across a day boundary before and after 1970, and
 * across the Monday boundary of weekly buckets, land in their own buckets. */
static void test_bucket_reuse_at_boundaries(void **state)
{
    (void)state;
    fx_t fx;
    fx_open(&fx, "source: {format: segment}\n"
                 "buckets: {size: 1d, grace: 7d}\n"
                 "metrics: [{name: n, count: true}, {name: m, count: true}]\n"
                 "tree: {nsm: n, inputs: [{metric: m, kind: breadth}]}\n");
    static const char *const days[] = {
        "1969-12-31T23:59:59.999Z", "1970-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z",
        "1969-12-31T00:00:00.000Z", "1969-12-30T23:59:59.999Z", "1970-01-01T23:59:59.999Z",
        "1970-01-02T00:00:00.000Z", "1970-01-01T23:59:59.999Z", "1969-12-31T12:00:00Z",
    };
    /* the decoder refuses times that old: the parsed time is set on a decoded event */
    static const char ok[] =
        "{\"event\":\"x\",\"userId\":\"u\",\"timestamp\":\"2026-03-02T10:00:00Z\"}";
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
        lw_event_t ev;
        assert_int_equal(lw_decoder_decode(fx.dec, ok, strlen(ok), NOW, &ev), LW_REJECT_NONE);
        ev.time_ms = day_ms(days[i]);
        assert_int_equal(lw_agg_add(fx.agg, &ev), LW_AGG_ACCEPTED);
    }
    collected_t col = {.base = day_ms("1969-12-30")};
    lw_agg_foreach_dirty(fx.agg, collect, &col);
    assert_int_equal(col.count[0][0], 1); /* 12-30 */
    assert_int_equal(col.count[0][1], 4); /* 12-31 */
    assert_int_equal(col.count[0][2], 3); /* 01-01 */
    assert_int_equal(col.count[0][3], 1); /* 01-02 */
    fx_close(&fx);

    fx_open(&fx, "source: {format: segment}\n"
                 "buckets: {size: 1w, grace: 2w}\n"
                 "metrics: [{name: n, count: true}, {name: m, count: true}]\n"
                 "tree: {nsm: n, inputs: [{metric: m, kind: breadth}]}\n");
    static const char *const weeks[] = {
        "2026-03-08T23:59:59.999Z", "2026-03-09T00:00:00Z",     "2026-03-08T23:59:59.999Z",
        "2026-03-02T00:00:00Z",     "2026-03-15T23:59:59.999Z",
    };
    for (size_t i = 0; i < sizeof weeks / sizeof weeks[0]; i++)
        assert_int_equal(add_ev(&fx, "x", "u", weeks[i], NULL), LW_AGG_ACCEPTED);
    col = (collected_t){.base = day_ms("2026-03-02")};
    lw_agg_foreach_dirty(fx.agg, collect, &col);
    assert_int_equal(col.count[0][0], 3); /* week of Mon 03-02 */
    assert_int_equal(col.count[0][7], 2); /* week of Mon 03-09 */
    assert_int_equal(col.ncells, 2 * 2);
    fx_close(&fx);
}

static void test_buckets_grace_late(void **state)
{
    (void)state;
    fx_t fx;
    fx_open(&fx, base_yaml);
    int all = lw_config_metric_index(fx.cfg, "all_events");
    /* day 0 = 2026-03-02 (Monday).  Its end + grace = 2026-03-05T00:00:00Z. */
    assert_int_equal(add_ev(&fx, "x", "u", "2026-03-02T23:59:59.999Z", NULL), LW_AGG_ACCEPTED);
    assert_int_equal(add_ev(&fx, "x", "u", "2026-03-05T00:00:00Z", NULL), LW_AGG_ACCEPTED);
    /* watermark == end + grace exactly: day 0 still open */
    assert_int_equal(add_ev(&fx, "x", "u", "2026-03-02T00:00:00Z", NULL), LW_AGG_ACCEPTED);
    assert_true(lw_bucket_is_provisional(day_ms("2026-03-02"), LW_MS_PER_DAY, 2 * LW_MS_PER_DAY,
                                         lw_agg_watermark(fx.agg)));
    /* one millisecond later day 0 closes */
    assert_int_equal(add_ev(&fx, "x", "u", "2026-03-05T00:00:00.001Z", NULL), LW_AGG_ACCEPTED);
    assert_int_equal(add_ev(&fx, "x", "u", "2026-03-02T12:00:00Z", NULL), LW_AGG_LATE);
    assert_false(lw_bucket_is_provisional(day_ms("2026-03-02"), LW_MS_PER_DAY, 2 * LW_MS_PER_DAY,
                                          lw_agg_watermark(fx.agg)));
    /* day 1 is still open */
    assert_int_equal(add_ev(&fx, "x", "u", "2026-03-03T12:00:00Z", NULL), LW_AGG_ACCEPTED);
    /* an event with a +02:00 offset lands in its UTC day */
    assert_int_equal(add_ev(&fx, "x", "u", "2026-03-05T01:00:00+02:00", NULL), LW_AGG_ACCEPTED);

    collected_t col = {.base = day_ms("2026-03-02")};
    lw_agg_foreach_dirty(fx.agg, collect, &col);
    assert_int_equal(col.count[all][0], 2);
    assert_int_equal(col.count[all][1], 1);
    assert_int_equal(col.count[all][2], 1); /* 2026-03-04T23:00Z */
    assert_int_equal(col.count[all][3], 2);
    fx_close(&fx);
}

static void test_weekly_buckets_start_monday(void **state)
{
    (void)state;
    fx_t fx;
    fx_open(&fx, "source: {format: segment}\n"
                 "buckets: {size: 1w, grace: 0}\n"
                 "metrics: [{name: n, count: true}, {name: m, count: true}]\n"
                 "tree: {nsm: n, inputs: [{metric: m, kind: breadth}]}\n");
    /* Sunday 2026-03-08 and Monday 2026-03-09 fall in different weeks */
    add_ev(&fx, "x", "u", "2026-03-08T23:00:00Z", NULL);
    add_ev(&fx, "x", "u", "2026-03-09T01:00:00Z", NULL);
    collected_t col = {.base = day_ms("2026-03-02")};
    lw_agg_foreach_dirty(fx.agg, collect, &col);
    assert_int_equal(col.count[0][0], 1); /* week of Mon 03-02 */
    assert_int_equal(col.count[0][7], 1); /* week of Mon 03-09 (7 days later) */
    fx_close(&fx);
}

static void test_slot_exhaustion_and_flush(void **state)
{
    (void)state;
    fx_t fx;
    fx_open(&fx, "source: {format: segment}\n"
                 "buckets: {size: 1h, grace: 0}\n"
                 "metrics: [{name: n, count: true}, {name: m, count: true}]\n"
                 "tree: {nsm: n, inputs: [{metric: m, kind: breadth}]}\n");
    /* grace 0: 2 open buckets; the table has max(2*2+4, 64) = 64 slots */
    char ts[64];
    int hour;
    lw_agg_result_t r = LW_AGG_ACCEPTED;
    int64_t t0 = day_ms("2026-02-01");
    for (hour = 0; hour < 200 && r == LW_AGG_ACCEPTED; hour++) {
        lw_time_format_iso8601(t0 + hour * LW_MS_PER_HOUR + 60000, ts, sizeof ts);
        r = add_ev(&fx, "x", "u", ts, NULL);
    }
    assert_int_equal(r, LW_AGG_NEED_FLUSH);
    hour--; /* the hour that did not fit */
    assert_int_equal(hour, 64);
    assert_int_equal(lw_agg_dirty_cells(fx.agg), 128); /* 64 hours x 2 metrics */
    lw_agg_flushed(fx.agg);
    assert_int_equal(lw_agg_dirty_cells(fx.agg), 0);
    assert_int_equal(add_ev(&fx, "x", "u", ts, NULL), LW_AGG_ACCEPTED);
    collected_t col = {.base = lw_bucket_start(t0 + 64 * LW_MS_PER_HOUR, LW_MS_PER_DAY)};
    lw_agg_foreach_dirty(fx.agg, collect, &col);
    assert_int_equal(col.ncells, 2);
    assert_int_equal(col.count[0][0], 1);
    fx_close(&fx);
}

static void test_flushed_zeroes_and_keeps_open(void **state)
{
    (void)state;
    fx_t fx;
    fx_open(&fx, base_yaml);
    int users = lw_config_metric_index(fx.cfg, "users");
    add_ev(&fx, "session_start", "a", "2026-03-02T10:00:00Z", NULL);
    lw_agg_flushed(fx.agg);
    add_ev(&fx, "session_start", "b", "2026-03-02T11:00:00Z", NULL);
    collected_t col = {.base = day_ms("2026-03-02")};
    lw_agg_foreach_dirty(fx.agg, collect, &col);
    /* only the delta since the flush: user b */
    assert_int_equal(col.count[users][0], 1);
    assert_double_equal(col.distinct[users][0], 1.0, 0.01);
    fx_close(&fx);
}

static void test_values_and_ratios(void **state)
{
    (void)state;
    lw_metric_def_t mean = {.kind = LW_METRIC_MEAN}, cnt = {.kind = LW_METRIC_COUNT},
                    dist = {.kind = LW_METRIC_DISTINCT}, sum = {.kind = LW_METRIC_SUM};
    lw_cell_value_t cv = {.present = true, .count = 4, .sum = 10, .distinct = 3.2};
    double v;
    assert_true(lw_metric_value(&mean, &cv, &v));
    assert_double_equal(v, 2.5, 0);
    assert_true(lw_metric_value(&cnt, &cv, &v));
    assert_double_equal(v, 4, 0);
    assert_true(lw_metric_value(&dist, &cv, &v));
    assert_double_equal(v, 3.2, 0);
    assert_true(lw_metric_value(&sum, &cv, &v));
    assert_double_equal(v, 10, 0);
    lw_cell_value_t empty = {0};
    assert_false(lw_metric_value(&mean, &empty, &v)); /* mean of nothing is undefined */
    assert_true(lw_metric_value(&cnt, &empty, &v));
    assert_double_equal(v, 0, 0);

    assert_true(lw_ratio_value(true, 3, true, 4, &v));
    assert_double_equal(v, 0.75, 0);
    assert_false(lw_ratio_value(true, 3, true, 0, &v));
    assert_false(lw_ratio_value(false, 3, true, 4, &v));
    assert_false(lw_ratio_value(true, 3, false, 4, &v));
    assert_false(lw_ratio_value(true, 1e308, true, 1e-308, &v)); /* overflow is undefined */
}

static void test_watermark_restore(void **state)
{
    (void)state;
    fx_t fx;
    fx_open(&fx, base_yaml);
    assert_true(lw_agg_watermark(fx.agg) == INT64_MIN);
    lw_agg_set_watermark(fx.agg, day_ms("2026-03-10"));
    /* with the watermark restored, 03-07 (end+grace = 03-10) is still open, 03-06 is not */
    assert_int_equal(add_ev(&fx, "x", "u", "2026-03-07T05:00:00Z", NULL), LW_AGG_ACCEPTED);
    assert_int_equal(add_ev(&fx, "x", "u", "2026-03-06T05:00:00Z", NULL), LW_AGG_LATE);
    fx_close(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching_and_kinds),
        cmocka_unit_test(test_plans_by_event_name),
        cmocka_unit_test(test_buckets_grace_late),
        cmocka_unit_test(test_bucket_reuse_at_boundaries),
        cmocka_unit_test(test_weekly_buckets_start_monday),
        cmocka_unit_test(test_slot_exhaustion_and_flush),
        cmocka_unit_test(test_flushed_zeroes_and_keeps_open),
        cmocka_unit_test(test_values_and_ratios),
        cmocka_unit_test(test_watermark_restore),
        cmocka_unit_test(test_add_hashed_same_cells),
        cmocka_unit_test(test_name_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
