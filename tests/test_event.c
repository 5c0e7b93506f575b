/*
 * test_event.c - tests for the event decoder (event.c).
 *
 * Every input is copied into an exact-size heap buffer without a NUL
 * terminator before decoding (dec()), so under ASan any read past len
 * fails the test.  Covered: the three formats and their user/time rules,
 * every reject reason and the precedence between them (a table of > 60
 * malformed inputs), path slots (nested, absent, compound, escaped keys
 * and values, duplicate keys, registration errors), number conversion,
 * UTF-8 acceptance/rejection, limits (size, depth, future bound) and every
 * prefix of valid events.  (Fuzzing with tests/fuzz/fuzz_event.c has found
 * no failing input so far; any it finds gets a test here.)
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

#include "leadwatch/model/event.h"
#include "leadwatch/core/timeutil.h"

/* 2026-03-29T00:00:00Z */
#define NOW INT64_C(1774742400000)
/* 2026-03-28T02:16:07.507Z */
#define T_TYPICAL INT64_C(1774664167507)

#define TYPICAL                                                                                    \
    "{\"type\":\"track\",\"event\":\"track_played\",\"userId\":\"u0596853\",\"timestamp\":"        \
    "\"2026-03-28T02:16:07.507Z\",\"properties\":{\"duration_ms\":235662,\"platform\":"            \
    "\"android\"}}"

/* The last input handed to the decoder; freed by the next dec() or dec_done(). */
static char *g_buf;
static size_t g_len;

static void dec_done(void)
{
    free(g_buf);
    g_buf = NULL;
}

/* Decode s[0..len) from an exact-size, unterminated heap copy. */
static lw_reject_t dec_n(lw_decoder_t *d, const char *s, size_t len, lw_event_t *ev)
{
    dec_done();
    g_buf = malloc(len ? len : 1);
    assert_non_null(g_buf);
    memcpy(g_buf, s, len);
    g_len = len;
    lw_event_t tmp;
    return lw_decoder_decode(d, g_buf, len, NOW, ev ? ev : &tmp);
}

static lw_reject_t dec(lw_decoder_t *d, const char *s, lw_event_t *ev)
{
    return dec_n(d, s, strlen(s), ev);
}

static bool in_input(lw_slice_t s)
{
    return s.ptr >= g_buf && s.ptr + s.len <= g_buf + g_len;
}

static lw_decoder_t *make(lw_format_t f, const char *const *paths, size_t npaths)
{
    char err[256] = "";
    lw_decoder_opts_t o = {.format = f};
    if (f == LW_FMT_CUSTOM) {
        o.event_path = "meta.name";
        o.user_path = "actor.id";
        o.time_path = "ts";
    }
    lw_decoder_t *d = lw_decoder_new(&o, err, sizeof err);
    assert_non_null(d);
    for (size_t i = 0; i < npaths; i++)
        assert_int_equal(lw_decoder_add_path(d, paths[i], err, sizeof err), (int)i);
    return d;
}

static void assert_slice(lw_slice_t s, const char *want)
{
    if (!lw_slice_eq(s, want))
        print_error("slice '%.*s' != '%s'\n", (int)s.len, s.ptr, want);
    assert_true(lw_slice_eq(s, want));
}

/* ------------------------------------------------------------- names */

static void test_names(void **state)
{
    (void)state;
    static const char *const want[LW_REJECT__COUNT] = {
        "none",         "empty",    "too_large",    "invalid_utf8",   "invalid_json",
        "not_object",   "too_deep", "bad_number",   "missing_event",  "missing_user",
        "missing_time", "bad_time", "time_too_old", "time_in_future", "duplicate"};
    for (int r = 0; r < LW_REJECT__COUNT; r++)
        assert_string_equal(lw_reject_name((lw_reject_t)r), want[r]);

    static const char *const fmts[] = {"segment", "amplitude", "custom"};
    for (size_t i = 0; i < 3; i++) {
        lw_format_t f;
        assert_true(lw_format_parse(fmts[i], &f));
        assert_int_equal(f, (lw_format_t)i);
        assert_string_equal(lw_format_name(f), fmts[i]);
    }
    {
        lw_format_t f;
        assert_true(lw_format_parse("posthog", &f));
        assert_int_equal(f, LW_FMT_POSTHOG);
        assert_string_equal(lw_format_name(f), "posthog");
        assert_true(lw_format_parse("rudderstack", &f));
        assert_int_equal(f, LW_FMT_SEGMENT);
    }
    lw_format_t f = LW_FMT_CUSTOM;
    assert_false(lw_format_parse("Segment", &f));
    assert_false(lw_format_parse("", &f));
    assert_false(lw_format_parse(NULL, &f));
    assert_int_equal(f, LW_FMT_CUSTOM);
}

/* ------------------------------------------------------------ formats */

static void test_segment_typical(void **state)
{
    (void)state;
    const char *paths[] = {"properties.duration_ms", "properties.platform", "type",
                           "properties.missing"};
    lw_decoder_t *d = make(LW_FMT_SEGMENT, paths, 4);
    lw_event_t ev;
    assert_int_equal(dec(d, TYPICAL, &ev), LW_REJECT_NONE);
    assert_slice(ev.name, "track_played");
    assert_slice(ev.user, "u0596853");
    assert_true(in_input(ev.name) && in_input(ev.user));
    assert_int_equal(ev.time_ms, T_TYPICAL);
    assert_int_equal(ev.nfields, 4);
    assert_int_equal(ev.fields[0].type, LW_VAL_NUMBER);
    assert_true(ev.fields[0].num == 235662.0);
    assert_slice(ev.fields[0].s, "235662");
    assert_int_equal(ev.fields[1].type, LW_VAL_STRING);
    assert_slice(ev.fields[1].s, "android");
    assert_int_equal(ev.fields[2].type, LW_VAL_STRING);
    assert_slice(ev.fields[2].s, "track");
    assert_int_equal(ev.fields[3].type, LW_VAL_ABSENT);

    /* trailing newline forms, surrounding whitespace */
    assert_int_equal(dec(d, TYPICAL "\n", &ev), LW_REJECT_NONE);
    assert_int_equal(dec(d, TYPICAL "\r\n", &ev), LW_REJECT_NONE);
    assert_int_equal(dec(d, " \t" TYPICAL " \n", &ev), LW_REJECT_NONE);
    assert_int_equal(ev.time_ms, T_TYPICAL);

    /* a second event without properties: the slots must not leak over */
    assert_int_equal(dec(d,
                         "{ \"event\" : \"x\" , \"userId\" : \"v\" , \"timestamp\" : "
                         "\"2026-03-28T00:00:00+01:00\" }",
                         &ev),
                     LW_REJECT_NONE);
    assert_slice(ev.name, "x");
    assert_int_equal(ev.time_ms, INT64_C(1774652400000));
    for (size_t i = 0; i < ev.nfields; i++)
        assert_int_equal(ev.fields[i].type, LW_VAL_ABSENT);
    dec_done();
    lw_decoder_destroy(d);
}

static void test_segment_user_rules(void **state)
{
    (void)state;
    lw_decoder_t *d = make(LW_FMT_SEGMENT, NULL, 0);
    static const struct {
        const char *users;
        lw_reject_t r;
        const char *want;
    } cases[] = {
        {"\"userId\":\"a\",\"anonymousId\":\"b\"", LW_REJECT_NONE, "a"},
        {"\"anonymousId\":\"b\",\"userId\":\"a\"", LW_REJECT_NONE, "a"},
        {"\"userId\":null,\"anonymousId\":\"b\"", LW_REJECT_NONE, "b"},
        {"\"userId\":\"\",\"anonymousId\":\"b\"", LW_REJECT_NONE, "b"},
        {"\"anonymousId\":\"b\"", LW_REJECT_NONE, "b"},
        {"\"userId\":12345", LW_REJECT_NONE, "12345"},
        {"\"userId\":-1.5e3", LW_REJECT_NONE, "-1.5e3"},
        {"\"userId\":null,\"anonymousId\":987", LW_REJECT_NONE, "987"},
        {"\"userId\":\"a\\u00e9\"", LW_REJECT_NONE, "a\xc3\xa9"},
        {"\"userId\":true,\"anonymousId\":\"b\"", LW_REJECT_NONE, "b"},
        {"\"userId\":null", LW_REJECT_MISSING_USER, NULL},
        {"\"userId\":\"\",\"anonymousId\":\"\"", LW_REJECT_MISSING_USER, NULL},
        {"\"userId\":null,\"anonymousId\":null", LW_REJECT_MISSING_USER, NULL},
        {"\"userId\":{\"id\":\"a\"}", LW_REJECT_MISSING_USER, NULL},
        {"\"userId\":[\"a\"]", LW_REJECT_MISSING_USER, NULL},
        {"\"userId\":false", LW_REJECT_MISSING_USER, NULL},
        {"\"user_id\":\"a\"", LW_REJECT_MISSING_USER, NULL}, /* amplitude name */
        {"\"UserId\":\"a\"", LW_REJECT_MISSING_USER, NULL},  /* keys are case-sensitive */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[512];
        snprintf(buf, sizeof buf, "{\"event\":\"e\",%s,\"timestamp\":\"2026-03-28T00:00:00Z\"}",
                 cases[i].users);
        lw_event_t ev;
        lw_reject_t r = dec(d, buf, &ev);
        if (r != cases[i].r)
            print_error("case %zu %s -> %s\n", i, buf, lw_reject_name(r));
        assert_int_equal(r, cases[i].r);
        if (cases[i].want)
            assert_slice(ev.user, cases[i].want);
    }
    dec_done();
    lw_decoder_destroy(d);
}

static void test_amplitude(void **state)
{
    (void)state;
    const char *paths[] = {"event_properties.plan", "user_properties.country"};
    lw_decoder_t *d = make(LW_FMT_AMPLITUDE, paths, 2);
    lw_event_t ev;
    assert_int_equal(dec(d,
                         "{\"event_type\":\"upgrade\",\"user_id\":\"u1\",\"device_id\":\"d1\","
                         "\"event_time\":\"2026-03-28 02:16:07.507123\","
                         "\"event_properties\":{\"plan\":\"pro\"},"
                         "\"user_properties\":{\"country\":\"DE\"}}",
                         &ev),
                     LW_REJECT_NONE);
    assert_slice(ev.name, "upgrade");
    assert_slice(ev.user, "u1");
    assert_int_equal(ev.time_ms, T_TYPICAL);
    assert_slice(ev.fields[0].s, "pro");
    assert_slice(ev.fields[1].s, "DE");

    static const struct {
        const char *body;
        lw_reject_t r;
        const char *user;
        int64_t t;
    } cases[] = {
        /* device_id fallback, "time" fallback in epoch ms */
        {"\"user_id\":null,\"device_id\":\"d1\",\"time\":1774664167507", LW_REJECT_NONE, "d1",
         T_TYPICAL},
        {"\"device_id\":\"d1\",\"event_time\":null,\"time\":1774664167507", LW_REJECT_NONE, "d1",
         T_TYPICAL},
        {"\"user_id\":\"u\",\"event_time\":\"2026-03-28 02:16:07\",\"time\":1", LW_REJECT_NONE, "u",
         T_TYPICAL - 507},
        {"\"user_id\":\"u\",\"time\":1774664167507.9", LW_REJECT_NONE, "u", T_TYPICAL},
        {"\"user_id\":\"u\"", LW_REJECT_MISSING_TIME, NULL, 0},
        {"\"user_id\":\"u\",\"time\":null", LW_REJECT_MISSING_TIME, NULL, 0},
        /* a present event_time is used and must parse: no fallback */
        {"\"user_id\":\"u\",\"event_time\":\"soon\",\"time\":1774664167507", LW_REJECT_BAD_TIME,
         NULL, 0},
        {"\"user_id\":\"u\",\"time\":\"1774664167507\"", LW_REJECT_BAD_TIME, NULL, 0},
        {"\"user_id\":\"u\",\"event_time\":1774664167507", LW_REJECT_BAD_TIME, NULL, 0},
        {"\"user_id\":\"u\",\"time\":1774664167", LW_REJECT_TIME_TOO_OLD, NULL, 0}, /* seconds */
        {"\"user_id\":\"u\",\"time\":1e300", LW_REJECT_TIME_IN_FUTURE, NULL, 0},
        {"\"user_id\":\"u\",\"time\":-1e300", LW_REJECT_TIME_TOO_OLD, NULL, 0},
        {"\"userId\":\"u\",\"time\":1774664167507", LW_REJECT_MISSING_USER, NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[512];
        snprintf(buf, sizeof buf, "{\"event_type\":\"e\",%s}", cases[i].body);
        lw_reject_t r = dec(d, buf, &ev);
        if (r != cases[i].r)
            print_error("case %zu %s -> %s\n", i, buf, lw_reject_name(r));
        assert_int_equal(r, cases[i].r);
        if (r == LW_REJECT_NONE) {
            assert_slice(ev.user, cases[i].user);
            assert_int_equal(ev.time_ms, cases[i].t);
        }
    }
    /* segment's field names mean nothing to amplitude */
    assert_int_equal(dec(d, "{\"event\":\"e\",\"user_id\":\"u\",\"time\":1774664167507}", &ev),
                     LW_REJECT_MISSING_EVENT);
    dec_done();
    lw_decoder_destroy(d);
}

static void test_custom(void **state)
{
    (void)state;
    const char *paths[] = {"meta.name", "payload.value"};
    lw_decoder_t *d = make(LW_FMT_CUSTOM, paths, 2);
    static const struct {
        const char *ts;
        lw_reject_t r;
        int64_t t;
    } cases[] = {
        {"\"2026-03-28T04:16:07.507+02:00\"", LW_REJECT_NONE, T_TYPICAL},
        {"\"2026-03-28T02:16:07.507Z\"", LW_REJECT_NONE, T_TYPICAL},
        {"1774664167", LW_REJECT_NONE, T_TYPICAL - 507},  /* seconds */
        {"1774664167.507", LW_REJECT_NONE, T_TYPICAL},    /* fractional seconds */
        {"1774664167507", LW_REJECT_NONE, T_TYPICAL},     /* milliseconds */
        {"1.774664167507e12", LW_REJECT_NONE, T_TYPICAL}, /* ms in exponent form */
        {"99999999999", LW_REJECT_TIME_IN_FUTURE, 0},     /* < 1e11: seconds (year 5138) */
        {"100000000000", LW_REJECT_TIME_TOO_OLD, 0},      /* 1e11 ms = 1973 */
        {"-5", LW_REJECT_TIME_TOO_OLD, 0},
        {"\"2026-03-28\"", LW_REJECT_NONE, T_TYPICAL - 8167507},
        {"\"28/03/2026\"", LW_REJECT_BAD_TIME, 0},
        {"true", LW_REJECT_BAD_TIME, 0},
        {"{}", LW_REJECT_BAD_TIME, 0},
        {"null", LW_REJECT_MISSING_TIME, 0},
        {"4102444800", LW_REJECT_TIME_IN_FUTURE, 0}, /* 2100 in seconds */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[512];
        snprintf(buf, sizeof buf,
                 "{\"meta\":{\"name\":\"signup\"},\"actor\":{\"id\":42},\"ts\":%s,"
                 "\"payload\":{\"value\":[1,2]}}",
                 cases[i].ts);
        lw_event_t ev;
        lw_reject_t r = dec(d, buf, &ev);
        if (r != cases[i].r)
            print_error("case %zu %s -> %s\n", i, buf, lw_reject_name(r));
        assert_int_equal(r, cases[i].r);
        if (r == LW_REJECT_NONE) {
            assert_int_equal(ev.time_ms, cases[i].t);
            assert_slice(ev.name, "signup");
            assert_slice(ev.user, "42");
            /* a registered path may coincide with a format field */
            assert_int_equal(ev.fields[0].type, LW_VAL_STRING);
            assert_slice(ev.fields[0].s, "signup");
            assert_int_equal(ev.fields[1].type, LW_VAL_COMPOUND);
        }
    }
    lw_event_t ev;
    assert_int_equal(dec(d, "{\"meta\":\"signup\",\"actor\":{\"id\":1},\"ts\":1774664167}", &ev),
                     LW_REJECT_MISSING_EVENT);
    assert_int_equal(dec(d, "{\"meta\":{\"name\":\"s\"},\"actor\":{},\"ts\":1774664167}", &ev),
                     LW_REJECT_MISSING_USER);
    /* custom has no anonymous fallback */
    assert_int_equal(
        dec(d, "{\"meta\":{\"name\":\"s\"},\"anonymousId\":\"a\",\"ts\":1774664167}", &ev),
        LW_REJECT_MISSING_USER);
    dec_done();
    lw_decoder_destroy(d);
}

static void test_new_errors(void **state)
{
    (void)state;
    char err[256];
    lw_decoder_opts_t o = {.format = LW_FMT_CUSTOM, .event_path = "e", .user_path = "u"};
    err[0] = '\0';
    assert_null(lw_decoder_new(&o, err, sizeof err));
    assert_true(strlen(err) > 0);
    o.time_path = "t..x";
    assert_null(lw_decoder_new(&o, err, sizeof err));
    o.time_path = "t";
    lw_decoder_t *d = lw_decoder_new(&o, err, sizeof err);
    assert_non_null(d);
    lw_decoder_destroy(d);

    lw_decoder_opts_t bad[] = {
        {.format = (lw_format_t)7},
        {.format = LW_FMT_SEGMENT, .max_depth = -1},
        {.format = LW_FMT_SEGMENT, .max_future_ms = -1},
        {.format = LW_FMT_SEGMENT, .max_event_bytes = (size_t)1 << 40},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_null(lw_decoder_new(&bad[i], err, sizeof err));
        assert_true(strlen(err) > 0);
    }
    assert_null(lw_decoder_new(NULL, NULL, 0));
    lw_decoder_destroy(NULL);
}

/* -------------------------------------------------------------- paths */

static void test_paths_values(void **state)
{
    (void)state;
    const char *paths[] = {"p.num", "p.str",        "p.t",          "p.f",   "p.nul",
                           "p.obj", "p.arr",        "p.obj.deep.x", "p.esc", "p.arr.0",
                           "p",     "p.dotted.key", "top"};
    lw_decoder_t *d = make(LW_FMT_SEGMENT, paths, sizeof paths / sizeof paths[0]);
    lw_event_t ev;
    assert_int_equal(
        dec(d,
            "{\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\"2026-03-28T00:00:00Z\","
            "\"p\":{\"num\":-12.5e-1,\"str\":\"s\",\"t\":true,\"f\":false,\"nul\":null,"
            "\"obj\":{\"deep\":{\"x\":7,\"y\":[{\"x\":8}]}},\"arr\":[{\"0\":1}],"
            "\"esc\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\\ud83d\\ude00\","
            "\"dotted.key\":1,\"unused\":{\"num\":99}},\"top\":[]}",
            &ev),
        LW_REJECT_NONE);
    assert_int_equal(ev.fields[0].type, LW_VAL_NUMBER);
    assert_true(ev.fields[0].num == -1.25);
    assert_slice(ev.fields[0].s, "-12.5e-1");
    assert_int_equal(ev.fields[1].type, LW_VAL_STRING);
    assert_slice(ev.fields[1].s, "s");
    assert_int_equal(ev.fields[2].type, LW_VAL_BOOL);
    assert_true(ev.fields[2].b);
    assert_int_equal(ev.fields[3].type, LW_VAL_BOOL);
    assert_false(ev.fields[3].b);
    assert_int_equal(ev.fields[4].type, LW_VAL_NULL);
    assert_int_equal(ev.fields[5].type, LW_VAL_COMPOUND);
    assert_int_equal(ev.fields[6].type, LW_VAL_COMPOUND);
    assert_int_equal(ev.fields[7].type, LW_VAL_NUMBER);
    assert_true(ev.fields[7].num == 7.0);
    assert_int_equal(ev.fields[8].type, LW_VAL_STRING);
    assert_slice(ev.fields[8].s, "a\"b\\c/d\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    assert_false(in_input(ev.fields[8].s));             /* unescaped into the scratch buffer */
    assert_true(in_input(ev.fields[1].s));              /* no escapes: a view of the input */
    assert_int_equal(ev.fields[9].type, LW_VAL_ABSENT); /* paths do not index arrays */
    assert_int_equal(ev.fields[10].type, LW_VAL_COMPOUND);
    assert_int_equal(ev.fields[11].type, LW_VAL_ABSENT); /* a key with '.' is not addressable */
    assert_int_equal(ev.fields[12].type, LW_VAL_COMPOUND);
    dec_done();
    lw_decoder_destroy(d);
}

static void test_paths_escaped_keys(void **state)
{
    (void)state;
    const char *paths[] = {"properties.duration_ms", "caf\xc3\xa9", "a\"b"};
    lw_decoder_t *d = make(LW_FMT_SEGMENT, paths, 3);
    lw_event_t ev;
    assert_int_equal(dec(d,
                         "{\"\\u0065vent\":\"e\",\"user\\u0049d\":\"u\",\"timestamp\":\"2026-03-28"
                         "T00:00:00Z\",\"prop\\u0065rties\":{\"duration\\u005fms\":5},"
                         "\"caf\\u00e9\":1,\"a\\\"b\":2}",
                         &ev),
                     LW_REJECT_NONE);
    assert_slice(ev.name, "e");
    assert_slice(ev.user, "u");
    assert_true(ev.fields[0].num == 5.0);
    assert_true(ev.fields[1].num == 1.0);
    assert_true(ev.fields[2].num == 2.0);
    /* raw UTF-8 key matches too; a near-end key (under 16 bytes left) as well */
    assert_int_equal(dec(d,
                         "{\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\"2026-03-28T00:00:00Z"
                         "\",\"caf\xc3\xa9\":3}",
                         &ev),
                     LW_REJECT_NONE);
    assert_true(ev.fields[1].num == 3.0);
    /* a long escaped key is not truncated into a false match */
    char big[1024];
    int n = snprintf(big, sizeof big,
                     "{\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\"2026-03-28T00:00:00Z\","
                     "\"caf\\u00e9");
    for (int i = 0; i < 300; i++)
        big[n++] = 'x';
    snprintf(big + n, sizeof big - (size_t)n, "\":4}");
    assert_int_equal(dec(d, big, &ev), LW_REJECT_NONE);
    assert_int_equal(ev.fields[1].type, LW_VAL_ABSENT);
    dec_done();
    lw_decoder_destroy(d);
}

static void test_paths_duplicates(void **state)
{
    (void)state;
    const char *paths[] = {"p.a", "p.b", "x"};
    lw_decoder_t *d = make(LW_FMT_SEGMENT, paths, 3);
    lw_event_t ev;
    /* the last occurrence wins, for scalars and for whole objects */
    assert_int_equal(dec(d,
                         "{\"event\":\"first\",\"userId\":\"u\",\"timestamp\":\"2026-03-28T00:00:"
                         "00Z\",\"x\":1,\"p\":{\"a\":1,\"b\":2},\"x\":\"two\",\"p\":{\"a\":3},"
                         "\"event\":\"second\"}",
                         &ev),
                     LW_REJECT_NONE);
    assert_slice(ev.name, "second");
    assert_int_equal(ev.fields[0].type, LW_VAL_NUMBER);
    assert_true(ev.fields[0].num == 3.0);
    assert_int_equal(ev.fields[1].type, LW_VAL_ABSENT); /* not left over from the first "p" */
    assert_int_equal(ev.fields[2].type, LW_VAL_STRING);
    assert_slice(ev.fields[2].s, "two");
    /* a later non-object value replaces the object */
    assert_int_equal(dec(d,
                         "{\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\"2026-03-28T00:00:00Z\""
                         ",\"p\":{\"a\":1},\"p\":5}",
                         &ev),
                     LW_REJECT_NONE);
    assert_int_equal(ev.fields[0].type, LW_VAL_ABSENT);
    /* a later null user falls back to anonymousId */
    assert_int_equal(dec(d,
                         "{\"event\":\"e\",\"userId\":\"u\",\"anonymousId\":\"an\",\"userId\":"
                         "null,\"timestamp\":\"2026-03-28T00:00:00Z\"}",
                         &ev),
                     LW_REJECT_NONE);
    assert_slice(ev.user, "an");
    dec_done();
    lw_decoder_destroy(d);
}

static void test_paths_registration(void **state)
{
    (void)state;
    char err[256];
    lw_decoder_t *d = make(LW_FMT_SEGMENT, NULL, 0);
    assert_int_equal(lw_decoder_add_path(d, "a.b", err, sizeof err), 0);
    assert_int_equal(lw_decoder_add_path(d, "a", err, sizeof err), 1);
    assert_int_equal(lw_decoder_add_path(d, "a.b", err, sizeof err), 0); /* same slot */
    static const char *const bad[] = {"", ".", "a..b", ".a", "a.", "a.b.c.d.e.f.g.h.i"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(lw_decoder_add_path(d, bad[i], err, sizeof err), -1);
        assert_true(strlen(err) > 0);
    }
    assert_int_equal(lw_decoder_add_path(d, NULL, err, sizeof err), -1);
    assert_int_equal(lw_decoder_add_path(d, "a.b.c.d.e.f.g.h", err, sizeof err), 2); /* 8 ok */
    char longp[LW_EVENT_MAX_PATH_LEN + 2];
    memset(longp, 'k', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    assert_int_equal(lw_decoder_add_path(d, longp, err, sizeof err), -1);
    longp[LW_EVENT_MAX_PATH_LEN] = '\0';
    assert_int_equal(lw_decoder_add_path(d, longp, err, sizeof err), 3);
    for (int i = 4; i < LW_EVENT_MAX_PATHS; i++) {
        char p[32];
        snprintf(p, sizeof p, "m.k%d", i);
        assert_int_equal(lw_decoder_add_path(d, p, err, sizeof err), i);
    }
    err[0] = '\0';
    assert_int_equal(lw_decoder_add_path(d, "one.too.many", err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    /* all 64 slots work, including the 255-byte key */
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\"2026-03-28T00:00:00Z\","
             "\"m\":{\"k63\":63,\"k4\":4},\"%s\":1}",
             longp);
    lw_event_t ev;
    assert_int_equal(dec(d, buf, &ev), LW_REJECT_NONE);
    assert_int_equal(ev.nfields, LW_EVENT_MAX_PATHS);
    assert_true(ev.fields[63].num == 63.0);
    assert_true(ev.fields[4].num == 4.0);
    assert_true(ev.fields[3].num == 1.0);
    assert_int_equal(ev.fields[5].type, LW_VAL_ABSENT);
    /* no registration once decoding started */
    lw_decoder_t *d2 = make(LW_FMT_SEGMENT, NULL, 0);
    assert_int_equal(dec(d2, "{}", &ev), LW_REJECT_MISSING_EVENT);
    err[0] = '\0';
    assert_int_equal(lw_decoder_add_path(d2, "late", err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    dec_done();
    lw_decoder_destroy(d2);
    lw_decoder_destroy(d);
}

/* ------------------------------------------------------------ numbers */

static void test_numbers(void **state)
{
    (void)state;
    const char *paths[] = {"n"};
    lw_decoder_t *d = make(LW_FMT_SEGMENT, paths, 1);
    static const struct {
        const char *text;
        lw_reject_t r;
        double v;
    } cases[] = {
        {"0", LW_REJECT_NONE, 0.0},
        {"-0", LW_REJECT_NONE, -0.0},
        {"0.1", LW_REJECT_NONE, 0.1},
        {"1.5e-7", LW_REJECT_NONE, 1.5e-7},
        {"235662", LW_REJECT_NONE, 235662.0},
        {"123456789012345678", LW_REJECT_NONE, 123456789012345678.0},
        {"0.000000000000000000000000001", LW_REJECT_NONE, 1e-27},
        {"9007199254740993", LW_REJECT_NONE, 9007199254740993.0},
        {"1E22", LW_REJECT_NONE, 1e22},
        {"1e23", LW_REJECT_NONE, 1e23},
        {"2.2250738585072014e-308", LW_REJECT_NONE, 2.2250738585072014e-308},
        {"1.7976931348623157e308", LW_REJECT_NONE, 1.7976931348623157e308},
        {"17976931348623157e292", LW_REJECT_NONE, 1.7976931348623157e308},
        {"1e-400", LW_REJECT_NONE, 0.0}, /* underflow is not out of range */
        {"0e999999", LW_REJECT_NONE, 0.0},
        {"1.8e308", LW_REJECT_BAD_NUMBER, 0},
        {"1e309", LW_REJECT_BAD_NUMBER, 0},
        {"-1e400", LW_REJECT_BAD_NUMBER, 0},
        {"1e99999999999999999999", LW_REJECT_BAD_NUMBER, 0},
        {"NaN", LW_REJECT_BAD_NUMBER, 0},
        {"Infinity", LW_REJECT_BAD_NUMBER, 0},
        {"-Infinity", LW_REJECT_BAD_NUMBER, 0},
        {"-NaN", LW_REJECT_INVALID_JSON, 0},
        {"inf", LW_REJECT_INVALID_JSON, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* once as a captured path, once uncaptured */
        for (int cap = 0; cap < 2; cap++) {
            char buf[256];
            snprintf(buf, sizeof buf,
                     "{\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\"2026-03-28T00:00:00Z\","
                     "\"%s\":%s}",
                     cap ? "n" : "other", cases[i].text);
            lw_event_t ev;
            lw_reject_t r = dec(d, buf, &ev);
            if (r != cases[i].r)
                print_error("case %zu cap=%d %s -> %s\n", i, cap, buf, lw_reject_name(r));
            assert_int_equal(r, cases[i].r);
            if (r == LW_REJECT_NONE && cap) {
                assert_int_equal(ev.fields[0].type, LW_VAL_NUMBER);
                assert_true(ev.fields[0].num == cases[i].v);
                assert_true(signbit(ev.fields[0].num) == signbit(cases[i].v));
                assert_slice(ev.fields[0].s, cases[i].text);
            }
        }
    }
    /* a number longer than the 64-byte stack copy goes through the scratch */
    char buf[2048];
    int n = snprintf(buf, sizeof buf,
                     "{\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\"2026-03-28T00:00:00Z\","
                     "\"n\":0.");
    for (int i = 0; i < 100; i++)
        buf[n++] = '0';
    snprintf(buf + n, sizeof buf - (size_t)n, "25}");
    lw_event_t ev;
    assert_int_equal(dec(d, buf, &ev), LW_REJECT_NONE);
    assert_true(ev.fields[0].num == 2.5e-101);
    assert_int_equal(ev.fields[0].s.len, 104);
    dec_done();
    lw_decoder_destroy(d);
}

/* ----------------------------------------------------- malformed table */

#define OKB "\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\"2026-03-28T00:00:00Z\""
#define SEG_TS(ts) "{\"event\":\"e\",\"userId\":\"u\",\"timestamp\":" ts "}"

typedef struct {
    const char *s;
    size_t len; /* 0: strlen */
    lw_reject_t r;
} bad_case_t;

static const bad_case_t bad_cases[] = {
    /* empty */
    {"", 0, LW_REJECT_EMPTY},
    {"   \n", 0, LW_REJECT_EMPTY},
    {"\r\n", 0, LW_REJECT_EMPTY},
    {"null", 0, LW_REJECT_EMPTY},
    {" null \r\n", 0, LW_REJECT_EMPTY},
    /* invalid UTF-8 beats every JSON error */
    {"{\"event\":\"\xff\"," OKB "}", 0, LW_REJECT_INVALID_UTF8},
    {"{" OKB ",\"a\":\"\xc0\x80\"}", 0, LW_REJECT_INVALID_UTF8},         /* overlong NUL */
    {"{" OKB ",\"a\":\"\xe0\x80\xaf\"}", 0, LW_REJECT_INVALID_UTF8},     /* overlong '/' */
    {"{" OKB ",\"a\":\"\xed\xa0\x80\"}", 0, LW_REJECT_INVALID_UTF8},     /* UTF-8 surrogate */
    {"{" OKB ",\"a\":\"\xf4\x90\x80\x80\"}", 0, LW_REJECT_INVALID_UTF8}, /* > U+10FFFF */
    {"{" OKB ",\"a\":\"\xf5\x80\x80\x80\"}", 0, LW_REJECT_INVALID_UTF8},
    {"{" OKB ",\"a\":\"\x80\"}", 0, LW_REJECT_INVALID_UTF8},     /* lone continuation */
    {"{" OKB ",\"a\":\"\xe2\x82\"}", 0, LW_REJECT_INVALID_UTF8}, /* truncated */
    {"{" OKB ",\"a\":\"\xe2\x82", 0, LW_REJECT_INVALID_UTF8},    /* truncated at end */
    {"{" OKB "}\xc3", 0, LW_REJECT_INVALID_UTF8},                /* trailing + bad */
    {"{\xff:1}", 0, LW_REJECT_INVALID_UTF8},                     /* outside strings */
    {"[1,2,\xfe]", 0, LW_REJECT_INVALID_UTF8},
    {"\"\xed\xbf\xbf\"", 0, LW_REJECT_INVALID_UTF8},
    /* invalid JSON */
    {"{", 0, LW_REJECT_INVALID_JSON},
    {"}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\"}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":1,}", 0, LW_REJECT_INVALID_JSON},
    {"{,}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":1 \"b\":2}", 0, LW_REJECT_INVALID_JSON},
    {"{'a':1}", 0, LW_REJECT_INVALID_JSON},
    {"{a:1}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":tru}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":True}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":nul}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":01}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":-01}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":1.}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":.5}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":1e}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":1e+}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":-}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":+1}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":0x10}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":1.5e3.2}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":\"\\x\"}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":\"\\u12\"}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":\"\\u12G4\"}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":\"\\ud800\"}", 0, LW_REJECT_INVALID_JSON},        /* lone high surrogate */
    {"{\"a\":\"\\udc00\"}", 0, LW_REJECT_INVALID_JSON},        /* lone low surrogate */
    {"{\"a\":\"\\ud800\\u0041\"}", 0, LW_REJECT_INVALID_JSON}, /* high + non-low */
    {"{\"a\":\"\\ud800\\ud800\"}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":\"\\ud800", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":\"\t\"}", 0, LW_REJECT_INVALID_JSON}, /* raw control characters */
    {"{\"a\":\"\x01\"}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":\"\n\"}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":\"abc}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":\"\\\"}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":\"\\", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":[1,2}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":[1,2,]}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":{\"b\":1]}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":[}", 0, LW_REJECT_INVALID_JSON},
    {"{} {}", 0, LW_REJECT_INVALID_JSON},
    {"{},{}", 0, LW_REJECT_INVALID_JSON}, /* a ',' after the top-level value */
    {"{" OKB "},{}", 0, LW_REJECT_INVALID_JSON},
    {"{" OKB "} ,", 0, LW_REJECT_INVALID_JSON},
    {"1,2", 0, LW_REJECT_INVALID_JSON},
    {"\"a\",\"b\"", 0, LW_REJECT_INVALID_JSON},
    {"{}x", 0, LW_REJECT_INVALID_JSON},
    {"{}\n\n}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":1}\0", 8, LW_REJECT_INVALID_JSON},
    {"{\"a\"\0:1}", 8, LW_REJECT_INVALID_JSON},
    {"\xef\xbb\xbf{}", 0, LW_REJECT_INVALID_JSON}, /* BOM */
    {"{\"a\":1}\v", 0, LW_REJECT_INVALID_JSON},    /* \v is not JSON whitespace */
    {"{\"a\":1}\f", 0, LW_REJECT_INVALID_JSON},
    {"nul", 0, LW_REJECT_INVALID_JSON},
    {"null null", 0, LW_REJECT_INVALID_JSON},
    {"[1,2", 0, LW_REJECT_INVALID_JSON}, /* broken arrays are invalid, not not_object */
    {"{\"a\" 1}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\"::1}", 0, LW_REJECT_INVALID_JSON},
    {"{" OKB, 0, LW_REJECT_INVALID_JSON},
    {"{" OKB ",", 0, LW_REJECT_INVALID_JSON},
    {"{" OKB ",\"a\":", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":1}}", 0, LW_REJECT_INVALID_JSON},
    {"{\"a\":01,\"b\":1e400}", 0, LW_REJECT_INVALID_JSON}, /* first error wins */
    /* not an object */
    {"[]", 0, LW_REJECT_NOT_OBJECT},
    {"[{" OKB "}]", 0, LW_REJECT_NOT_OBJECT},
    {"\"str\"", 0, LW_REJECT_NOT_OBJECT},
    {"42", 0, LW_REJECT_NOT_OBJECT},
    {" -1.5e3 \n", 0, LW_REJECT_NOT_OBJECT},
    {"true", 0, LW_REJECT_NOT_OBJECT},
    {"false", 0, LW_REJECT_NOT_OBJECT},
    /* bad numbers */
    {"{" OKB ",\"a\":NaN}", 0, LW_REJECT_BAD_NUMBER},
    {"{" OKB ",\"a\":Infinity}", 0, LW_REJECT_BAD_NUMBER},
    {"{" OKB ",\"a\":-Infinity}", 0, LW_REJECT_BAD_NUMBER},
    {"{" OKB ",\"a\":1e400}", 0, LW_REJECT_BAD_NUMBER},
    {"{" OKB ",\"a\":[1,2,-1e999999999999]}", 0, LW_REJECT_BAD_NUMBER},
    {"{\"a\":1e400,}", 0, LW_REJECT_BAD_NUMBER}, /* first error wins */
    {"{\"a\":NaN, garbage", 0, LW_REJECT_BAD_NUMBER},
    {"NaN", 0, LW_REJECT_BAD_NUMBER},
    {"[Infinity]", 0, LW_REJECT_BAD_NUMBER},
    {"{\"timestamp\":1e999}", 0, LW_REJECT_BAD_NUMBER},
    /* missing event */
    {"{}", 0, LW_REJECT_MISSING_EVENT},
    {"{\"userId\":\"u\",\"timestamp\":\"2026-03-28T00:00:00Z\"}", 0, LW_REJECT_MISSING_EVENT},
    {"{\"event\":\"\",\"userId\":\"u\",\"timestamp\":\"2026-03-28T00:00:00Z\"}", 0,
     LW_REJECT_MISSING_EVENT},
    {"{\"event\":5,\"userId\":\"u\",\"timestamp\":\"2026-03-28T00:00:00Z\"}", 0,
     LW_REJECT_MISSING_EVENT},
    {"{\"event\":null,\"userId\":\"u\"}", 0, LW_REJECT_MISSING_EVENT},
    {"{\"event\":[\"e\"],\"userId\":\"u\"}", 0, LW_REJECT_MISSING_EVENT},
    {"{\"event\":{\"name\":\"e\"}}", 0, LW_REJECT_MISSING_EVENT},
    {"{\"properties\":{\"event\":\"e\"},\"userId\":\"u\"}", 0, LW_REJECT_MISSING_EVENT},
    /* missing user */
    {"{\"event\":\"e\",\"timestamp\":\"2026-03-28T00:00:00Z\"}", 0, LW_REJECT_MISSING_USER},
    {"{\"event\":\"e\",\"userId\":null,\"anonymousId\":\"\"}", 0, LW_REJECT_MISSING_USER},
    {"{\"event\":\"e\",\"userId\":true}", 0, LW_REJECT_MISSING_USER},
    {"{\"event\":\"e\",\"context\":{\"userId\":\"u\"}}", 0, LW_REJECT_MISSING_USER},
    /* missing time */
    {"{\"event\":\"e\",\"userId\":\"u\"}", 0, LW_REJECT_MISSING_TIME},
    {SEG_TS("null"), 0, LW_REJECT_MISSING_TIME},
    /* bad time */
    {SEG_TS("\"yesterday\""), 0, LW_REJECT_BAD_TIME},
    {SEG_TS("1774742400"), 0, LW_REJECT_BAD_TIME},
    {SEG_TS("\"2026-02-29T00:00:00Z\""), 0, LW_REJECT_BAD_TIME},
    {SEG_TS("\"2026-03-28T25:00:00Z\""), 0, LW_REJECT_BAD_TIME},
    {SEG_TS("\"\""), 0, LW_REJECT_BAD_TIME},
    {SEG_TS("{}"), 0, LW_REJECT_BAD_TIME},
    {SEG_TS("\"2026-03-28T00:00:00Z \""), 0, LW_REJECT_BAD_TIME},
    /* too old / in the future (now = 2026-03-29T00:00Z, bound 1 day) */
    {SEG_TS("\"1999-12-31T23:59:59.999Z\""), 0, LW_REJECT_TIME_TOO_OLD},
    {SEG_TS("\"1970-01-01T00:00:00Z\""), 0, LW_REJECT_TIME_TOO_OLD},
    {SEG_TS("\"2000-01-01T00:30:00+01:00\""), 0, LW_REJECT_TIME_TOO_OLD},
    {SEG_TS("\"2026-03-30T00:00:00.001Z\""), 0, LW_REJECT_TIME_IN_FUTURE},
    {SEG_TS("\"9999-12-31T23:59:59Z\""), 0, LW_REJECT_TIME_IN_FUTURE},
    /* boundaries that pass */
    {SEG_TS("\"2000-01-01T00:00:00Z\""), 0, LW_REJECT_NONE},
    {SEG_TS("\"2026-03-30T00:00:00Z\""), 0, LW_REJECT_NONE},
    {SEG_TS("\"2026-03-30T01:00:00+01:00\""), 0, LW_REJECT_NONE},
};

static void test_malformed_table(void **state)
{
    (void)state;
    lw_decoder_t *d = make(LW_FMT_SEGMENT, NULL, 0);
    size_t n = sizeof bad_cases / sizeof bad_cases[0];
    assert_true(n >= 60);
    int seen[LW_REJECT__COUNT] = {0};
    for (size_t i = 0; i < n; i++) {
        const bad_case_t *c = &bad_cases[i];
        size_t len = c->len ? c->len : strlen(c->s);
        lw_event_t ev;
        lw_reject_t r = dec_n(d, c->s, len, &ev);
        if (r != c->r)
            print_error("case %zu '%.*s': got %s, want %s\n", i, (int)len, c->s, lw_reject_name(r),
                        lw_reject_name(c->r));
        assert_int_equal(r, c->r);
        seen[r]++;
    }
    /* every reason but the limit ones (tested below) appears in the table;
     * duplicate is the pipeline's (dedup), never the decoder's */
    for (int r = 0; r < LW_REJECT__COUNT; r++) {
        if (r != LW_REJECT_TOO_LARGE && r != LW_REJECT_TOO_DEEP && r != LW_REJECT_DUPLICATE)
            assert_true(seen[r] > 0);
    }
    dec_done();
    lw_decoder_destroy(d);
}

/* -------------------------------------------------------------- limits */

static void test_limits(void **state)
{
    (void)state;
    char err[256];
    lw_decoder_opts_t o = {
        .format = LW_FMT_SEGMENT, .max_event_bytes = 80, .max_depth = 3, .max_future_ms = 1000};
    lw_decoder_t *d = lw_decoder_new(&o, err, sizeof err);
    assert_non_null(d);
    lw_event_t ev;
    const char *ok = "{\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\"2026-03-29T00:00:01Z\"}";
    assert_int_equal(dec(d, ok, &ev), LW_REJECT_NONE);

    /* size: exactly max passes, max + 1 is too large (and wins over invalid UTF-8) */
    char buf[256];
    size_t n = strlen(ok);
    memcpy(buf, ok, n);
    while (n < 80)
        buf[n++] = ' ';
    assert_int_equal(dec_n(d, buf, 80, &ev), LW_REJECT_NONE);
    buf[80] = '\xff';
    assert_int_equal(dec_n(d, buf, 81, &ev), LW_REJECT_TOO_LARGE);
    memset(buf, ' ', 200);
    assert_int_equal(dec_n(d, buf, 200, &ev), LW_REJECT_EMPTY); /* empty comes first */

    /* depth: 3 levels pass, 4 are too deep, and too_deep beats a later error */
    assert_int_equal(dec(d, "{\"a\":[{}]}", &ev), LW_REJECT_MISSING_EVENT);
    assert_int_equal(dec(d, "{\"a\":[[1]]}", &ev), LW_REJECT_MISSING_EVENT);
    assert_int_equal(dec(d, "{\"a\":[[[1]]]}", &ev), LW_REJECT_TOO_DEEP);
    assert_int_equal(dec(d, "{\"a\":[{\"b\":{}}]}", &ev), LW_REJECT_TOO_DEEP);
    assert_int_equal(dec(d, "[[[[", &ev), LW_REJECT_TOO_DEEP);
    assert_int_equal(dec(d, "{\"a\":1e999,\"b\":[[[1]]]}", &ev), LW_REJECT_BAD_NUMBER);
    assert_int_equal(dec(d, "{\"a\":[[[1]]],\"b\":1e999}", &ev), LW_REJECT_TOO_DEEP);
    assert_int_equal(dec(d, "{\"a\":[[[\xff]]]}", &ev), LW_REJECT_INVALID_UTF8);

    /* future bound of 1 s */
    assert_int_equal(dec(d, SEG_TS("\"2026-03-29T00:00:01.001Z\""), &ev), LW_REJECT_TIME_IN_FUTURE);
    dec_done();
    lw_decoder_destroy(d);

    /* default depth 64 */
    d = make(LW_FMT_SEGMENT, NULL, 0);
    char deep[512];
    for (int levels = 63; levels <= 65; levels++) {
        size_t k = 0;
        deep[k++] = '{';
        const char *key = "\"a\":";
        memcpy(deep + k, key, 4);
        k += 4;
        for (int i = 1; i < levels; i++)
            deep[k++] = '[';
        for (int i = 1; i < levels; i++)
            deep[k++] = ']';
        deep[k++] = '}';
        lw_reject_t r = dec_n(d, deep, k, &ev);
        assert_int_equal(r, levels <= 64 ? LW_REJECT_MISSING_EVENT : LW_REJECT_TOO_DEEP);
    }
    /* huge now does not overflow the future bound */
    const char *t = SEG_TS("\"2026-03-28T00:00:00Z\"");
    dec_done();
    g_buf = malloc(strlen(t));
    assert_non_null(g_buf);
    memcpy(g_buf, t, strlen(t));
    assert_int_equal(lw_decoder_decode(d, g_buf, strlen(t), INT64_MAX, &ev), LW_REJECT_NONE);
    assert_int_equal(lw_decoder_decode(d, g_buf, strlen(t), INT64_MIN, &ev),
                     LW_REJECT_TIME_IN_FUTURE);
    dec_done();
    lw_decoder_destroy(d);
}

/* --------------------------------------------------------------- UTF-8 */

static void test_utf8_valid(void **state)
{
    (void)state;
    const char *paths[] = {"s"};
    lw_decoder_t *d = make(LW_FMT_SEGMENT, paths, 1);
    static const char *const good[] = {
        "caf\xc3\xa9",                 /* 2-byte */
        "\xe2\x82\xac",                /* 3-byte */
        "\xef\xbf\xbf",                /* U+FFFF */
        "\xed\x9f\xbf",                /* U+D7FF, just below the surrogates */
        "\xee\x80\x80",                /* U+E000, just above */
        "\xf0\x9f\x98\x80",            /* 4-byte */
        "\xf4\x8f\xbf\xbf",            /* U+10FFFF */
        "\xc2\x80",                    /* U+0080 */
        "0123456789abcdef\xc3\xa9xyz", /* multibyte after a clean 16-byte block */
        "0123456\xe2\x82\xac"
        "89abcdefghijklmnop", /* straddling a block boundary */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "{" OKB ",\"s\":\"%s\",\"e\":\"%s\"}", good[i], good[i]);
        lw_event_t ev;
        assert_int_equal(dec(d, buf, &ev), LW_REJECT_NONE);
        assert_slice(ev.fields[0].s, good[i]);
    }
    /* every single bad byte in every position of a 40-byte string */
    for (size_t pos = 0; pos < 40; pos++) {
        char s[41];
        memset(s, 'a', 40);
        s[40] = '\0';
        s[pos] = '\xc0';
        char buf[256];
        snprintf(buf, sizeof buf, "{" OKB ",\"s\":\"%s\"}", s);
        assert_int_equal(dec(d, buf, NULL), LW_REJECT_INVALID_UTF8);
        s[pos] = '\x1f';
        snprintf(buf, sizeof buf, "{" OKB ",\"s\":\"%s\"}", s);
        assert_int_equal(dec(d, buf, NULL), LW_REJECT_INVALID_JSON);
        s[pos] = '"';
        snprintf(buf, sizeof buf, "{" OKB ",\"s\":\"%s\"}", s);
        assert_int_not_equal(dec(d, buf, NULL), LW_REJECT_NONE);
    }
    dec_done();
    lw_decoder_destroy(d);
}

/* ---------------------------------------------------- bounds of reading */

/* Every prefix of valid events, each in an exact-size buffer: no prefix but
 * the complete ones may decode, and ASan must see no read past the end. */
static void test_prefixes_no_overread(void **state)
{
    (void)state;
    const char *paths[] = {"properties.duration_ms", "properties.platform", "type"};
    lw_decoder_t *d = make(LW_FMT_SEGMENT, paths, 3);
    static const char *const events[] = {
        TYPICAL "\r\n",
        "{\"event\":\"e\\u00e9\\ud83d\\ude00\",\"userId\":12,\"timestamp\":\"2026-03-28T00:00:00"
        "Z\",\"properties\":{\"duration_ms\":-1.5e-3,\"platform\":\"\xe2\x82\xac\",\"x\":[true,"
        "false,null,{}]}}\n",
    };
    for (size_t e = 0; e < sizeof events / sizeof events[0]; e++) {
        size_t full = strlen(events[e]);
        size_t obj_end = full;
        while (events[e][obj_end - 1] != '}')
            obj_end--;
        for (size_t len = 0; len <= full; len++) {
            lw_event_t ev;
            lw_reject_t r = dec_n(d, events[e], len, &ev);
            if (len >= obj_end)
                assert_int_equal(r, LW_REJECT_NONE);
            else
                assert_int_not_equal(r, LW_REJECT_NONE);
        }
    }
    dec_done();
    lw_decoder_destroy(d);
}

/* ------------------------------------------------------------ envelopes */

/* Decode an envelope and collect each element's verdict, name and time. */
typedef struct {
    lw_reject_t r;
    char name[32];
    char user[32];
    char ctx[32];
    int64_t t;
    char id[40];
} elem_t;

static size_t expand(lw_decoder_t *d, const char *s, elem_t *out, size_t max)
{
    lw_event_t ev;
    assert_int_equal(dec(d, s, &ev), LW_REJECT_NONE);
    assert_true(ev.envelope);
    size_t n = 0;
    lw_reject_t r;
    while (lw_decoder_next(d, NOW, &ev, &r)) {
        assert_true(n < max);
        memset(&out[n], 0, sizeof out[n]);
        out[n].r = r;
        if (r == LW_REJECT_NONE) {
            snprintf(out[n].name, sizeof out[n].name, "%.*s", (int)ev.name.len, ev.name.ptr);
            snprintf(out[n].user, sizeof out[n].user, "%.*s", (int)ev.user.len, ev.user.ptr);
            snprintf(out[n].id, sizeof out[n].id, "%.*s", (int)ev.id.len,
                     ev.id.ptr ? ev.id.ptr : "");
            if (ev.nfields > 0 && ev.fields[0].type == LW_VAL_STRING)
                snprintf(out[n].ctx, sizeof out[n].ctx, "%.*s", (int)ev.fields[0].s.len,
                         ev.fields[0].s.ptr);
            out[n].t = ev.time_ms;
        }
        n++;
    }
    assert_false(lw_decoder_next(d, NOW, &ev, &r)); /* stays finished */
    return n;
}

/* Segment HTTP API /v1/batch: sentAt and context at the envelope level. */
static void test_envelope_segment_batch(void **state)
{
    (void)state;
    const char *paths[] = {"context.library.name"};
    lw_decoder_t *d = make(LW_FMT_SEGMENT, paths, 1);
    elem_t e[8];
    size_t n =
        expand(d,
               "{\"batch\":[{\"type\":\"track\",\"event\":\"a\",\"userId\":\"u1\","
               "\"timestamp\":\"2026-03-28T02:16:07.507Z\",\"messageId\":\"m1\"},"
               " {\"type\":\"track\",\"event\":\"b\",\"anonymousId\":\"an\\u0031\","
               "\"originalTimestamp\":\"2026-03-28T02:16:00.000Z\","
               "\"receivedAt\":\"2026-03-28T02:16:09.000Z\","
               "\"context\":{\"library\":{\"name\":\"own\"}}},"
               "{\"type\":\"track\",\"userId\":\"u3\",\"timestamp\":\"2026-03-28T02:16:07Z\"},"
               "42],"
               "\"sentAt\":\"2026-03-28T02:16:05.000Z\","
               "\"context\":{\"library\":{\"name\":\"analytics-\\\"node\"}},"
               "\"api_key\":\"secret\"}\n",
               e, 8);
    assert_int_equal(n, 4);
    assert_int_equal(e[0].r, LW_REJECT_NONE);
    assert_string_equal(e[0].name, "a");
    assert_string_equal(e[0].id, "m1");
    assert_string_equal(e[0].ctx, "analytics-\"node"); /* inherited from the envelope */
    assert_int_equal(e[0].t, T_TYPICAL);
    assert_int_equal(e[1].r, LW_REJECT_NONE);
    assert_string_equal(e[1].user, "an1");
    assert_string_equal(e[1].ctx, "own"); /* its own context wins */
    assert_string_equal(e[1].id, "");
    /* receivedAt - (envelope sentAt - originalTimestamp) = 09 - (05 - 00) = 02:16:04 */
    assert_int_equal(e[1].t, T_TYPICAL - 3507);
    assert_int_equal(e[2].r, LW_REJECT_MISSING_EVENT);
    assert_int_equal(e[3].r, LW_REJECT_NOT_OBJECT);

    /* an empty envelope has no elements; an object with an event name is an event */
    n = expand(d, "{\"batch\":[ ],\"sentAt\":\"2026-03-28T02:16:05Z\"}", e, 8);
    assert_int_equal(n, 0);
    lw_event_t ev;
    assert_int_equal(dec(d,
                         "{\"event\":\"x\",\"userId\":\"u\",\"timestamp\":\"2026-03-28T02:16:07."
                         "507Z\",\"batch\":[1]}",
                         &ev),
                     LW_REJECT_NONE);
    assert_false(ev.envelope);
    /* "batch" that is not an array is no envelope: the object lacks an event */
    assert_int_equal(dec(d, "{\"batch\":{\"event\":\"x\"}}", &ev), LW_REJECT_MISSING_EVENT);
    /* an envelope inside an envelope is not expanded twice */
    n = expand(d, "{\"batch\":[{\"batch\":[]}]}", e, 8);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].r, LW_REJECT_MISSING_EVENT);
    /* invalid JSON anywhere rejects the whole line */
    assert_int_equal(dec(d, "{\"batch\":[{\"event\":\"a\"},]}", &ev), LW_REJECT_INVALID_JSON);
    dec_done();
    lw_decoder_destroy(d);
}

/* Amplitude HTTP V2 {"api_key", "events": [...]} and PostHog /batch. */
static void test_envelope_amplitude_posthog(void **state)
{
    (void)state;
    lw_decoder_t *d = make(LW_FMT_AMPLITUDE, NULL, 0);
    elem_t e[4];
    size_t n = expand(d,
                      "{\"api_key\":\"k\",\"events\":[{\"event_type\":\"play\",\"user_id\":\"u1\","
                      "\"time\":1774664167507,\"insert_id\":\"i-1\"},{\"event_type\":\"play\","
                      "\"device_id\":\"d2\",\"time\":\"soon\"}],\"options\":{\"min_id_length\":1}}",
                      e, 4);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].r, LW_REJECT_NONE);
    assert_string_equal(e[0].id, "i-1");
    assert_int_equal(e[0].t, T_TYPICAL);
    assert_int_equal(e[1].r, LW_REJECT_BAD_TIME);
    /* the Export API calls it $insert_id; insert_id wins when both are there */
    lw_event_t ev;
    assert_int_equal(dec(d,
                         "{\"event_type\":\"play\",\"user_id\":\"u1\",\"time\":1774664167507,"
                         "\"$insert_id\":\"x-1\",\"amplitude_id\":42}",
                         &ev),
                     LW_REJECT_NONE);
    assert_slice(ev.id, "x-1");
    assert_int_equal(dec(d,
                         "{\"event_type\":\"play\",\"user_id\":\"u1\",\"time\":1774664167507,"
                         "\"$insert_id\":\"x-1\",\"insert_id\":\"y\"}",
                         &ev),
                     LW_REJECT_NONE);
    assert_slice(ev.id, "y");
    /* a "batch" key means nothing to amplitude */
    assert_int_equal(dec(d, "{\"batch\":[]}", &ev), LW_REJECT_MISSING_EVENT);
    dec_done();
    lw_decoder_destroy(d);

    d = make(LW_FMT_POSTHOG, NULL, 0);
    n = expand(d,
               "{\"api_key\":\"phc_x\",\"historical_migration\":false,\"batch\":["
               "{\"event\":\"$pageview\",\"distinct_id\":\"p1\",\"uuid\":\"0190-a\","
               "\"timestamp\":\"2026-03-28T02:16:07.507Z\",\"properties\":{}},"
               "{\"event\":\"signup\",\"properties\":{\"distinct_id\":\"p2\"},"
               "\"timestamp\":\"2026-03-28T04:16:07.507+02:00\"},"
               "{\"event\":\"x\",\"timestamp\":\"2026-03-28T02:16:07.507Z\"}]}",
               e, 4);
    assert_int_equal(n, 3);
    assert_int_equal(e[0].r, LW_REJECT_NONE);
    assert_string_equal(e[0].user, "p1");
    assert_string_equal(e[0].id, "0190-a");
    assert_int_equal(e[1].r, LW_REJECT_NONE);
    assert_string_equal(e[1].user, "p2");
    assert_int_equal(e[1].t, T_TYPICAL);
    assert_int_equal(e[2].r, LW_REJECT_MISSING_USER);
    dec_done();
    lw_decoder_destroy(d);
}

/* Abandoning an envelope half-way: the next decode starts afresh. */
static void test_envelope_abandoned(void **state)
{
    (void)state;
    lw_decoder_t *d = make(LW_FMT_SEGMENT, NULL, 0);
    lw_event_t ev;
    lw_reject_t r;
    assert_int_equal(dec(d, "{\"batch\":[{},{}]}", &ev), LW_REJECT_NONE);
    assert_true(lw_decoder_next(d, NOW, &ev, &r));
    assert_int_equal(dec(d, TYPICAL, &ev), LW_REJECT_NONE);
    assert_false(ev.envelope);
    assert_false(lw_decoder_next(d, NOW, &ev, &r));
    /* custom format has no envelopes */
    lw_decoder_t *c = make(LW_FMT_CUSTOM, NULL, 0);
    assert_int_equal(dec(c, "{\"batch\":[]}", &ev), LW_REJECT_MISSING_EVENT);
    dec_done();
    lw_decoder_destroy(c);
    lw_decoder_destroy(d);
}

/* ---------------------------------------------- vendor time and user rules */

/* Segment/RudderStack: timestamp, else receivedAt - (sentAt - originalTimestamp), else
 * originalTimestamp. */
static void test_segment_time_chain(void **state)
{
    (void)state;
    lw_decoder_t *d = make(LW_FMT_SEGMENT, NULL, 0);
    static const struct {
        const char *body;
        lw_reject_t r;
        int64_t t;
    } cases[] = {
        /* timestamp wins over everything */
        {"\"timestamp\":\"2026-03-28T02:16:07.507Z\",\"originalTimestamp\":\"2020-01-01T00:00:"
         "00Z\","
         "\"sentAt\":\"2020-01-01T00:00:00Z\",\"receivedAt\":\"2020-01-01T00:00:00Z\"",
         LW_REJECT_NONE, T_TYPICAL},
        /* corrected: device clock 1 h fast: orig 03:16:07.507, sent 03:16:10.507, received
           02:16:10.507 */
        {"\"originalTimestamp\":\"2026-03-28T03:16:07.507Z\",\"sentAt\":\"2026-03-28T03:16:10."
         "507Z\","
         "\"receivedAt\":\"2026-03-28T02:16:10.507Z\"",
         LW_REJECT_NONE, T_TYPICAL},
        /* timestamp null: the chain goes on */
        {"\"timestamp\":null,\"originalTimestamp\":\"2026-03-28T02:16:07.507Z\"", LW_REJECT_NONE,
         T_TYPICAL},
        /* only two of three: originalTimestamp as it is */
        {"\"originalTimestamp\":\"2026-03-28T02:16:07.507Z\",\"sentAt\":\"2026-03-28T09:00:00Z\"",
         LW_REJECT_NONE, T_TYPICAL},
        {"\"originalTimestamp\":\"2026-03-28T02:16:07.507Z\",\"receivedAt\":\"2026-03-28T09:00:"
         "00Z\"",
         LW_REJECT_NONE, T_TYPICAL},
        /* sentAt / receivedAt alone give no time */
        {"\"sentAt\":\"2026-03-28T02:16:07.507Z\",\"receivedAt\":\"2026-03-28T02:16:07.507Z\"",
         LW_REJECT_MISSING_TIME, 0},
        /* a present field must parse */
        {"\"originalTimestamp\":\"yesterday\"", LW_REJECT_BAD_TIME, 0},
        {"\"originalTimestamp\":\"2026-03-28T02:16:07.507Z\",\"sentAt\":\"x\",\"receivedAt\":"
         "\"2026-03-28T02:16:07.507Z\"",
         LW_REJECT_BAD_TIME, 0},
        {"\"timestamp\":1774664167507", LW_REJECT_BAD_TIME, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[512];
        snprintf(buf, sizeof buf, "{\"event\":\"e\",\"userId\":\"u\",%s}", cases[i].body);
        lw_event_t ev;
        lw_reject_t r = dec(d, buf, &ev);
        if (r != cases[i].r)
            print_error("case %zu: %s\n", i, lw_reject_name(r));
        assert_int_equal(r, cases[i].r);
        if (r == LW_REJECT_NONE)
            assert_true(ev.time_ms == cases[i].t);
    }
    dec_done();
    lw_decoder_destroy(d);
}

/* source.user replaces the format's user fields; source.dedup.id the id path. */
static void test_user_override_and_id_path(void **state)
{
    (void)state;
    char err[256];
    lw_decoder_opts_t o = {.format = LW_FMT_AMPLITUDE, .user_override = "amplitude_id"};
    lw_decoder_t *d = lw_decoder_new(&o, err, sizeof err);
    assert_non_null(d);
    lw_event_t ev;
    assert_int_equal(dec(d,
                         "{\"event_type\":\"play\",\"user_id\":\"u1\",\"amplitude_id\":123456789,"
                         "\"time\":1774664167507}",
                         &ev),
                     LW_REJECT_NONE);
    assert_slice(ev.user, "123456789");
    assert_int_equal(ev.id.len, 0);
    /* no fallback to user_id / device_id */
    assert_int_equal(
        dec(d, "{\"event_type\":\"play\",\"user_id\":\"u1\",\"time\":1774664167507}", &ev),
        LW_REJECT_MISSING_USER);
    dec_done();
    lw_decoder_destroy(d);

    lw_decoder_opts_t c = {.format = LW_FMT_CUSTOM,
                           .event_path = "n",
                           .user_path = "u",
                           .time_path = "t",
                           .id_path = "meta.id"};
    d = lw_decoder_new(&c, err, sizeof err);
    assert_non_null(d);
    assert_int_equal(
        dec(d, "{\"n\":\"e\",\"u\":\"x\",\"t\":1774664167,\"meta\":{\"id\":\"q\\u0031\"}}", &ev),
        LW_REJECT_NONE);
    assert_slice(ev.id, "q1");
    dec_done();
    lw_decoder_destroy(d);
}

/* ------------------------------------------------------ array indexes */

/* --------------------------------------------- block and tail boundaries */

/*
 * The scanner reads strings 16 bytes at a time (the last ones through the
 * block that ends at the document's end) and digit runs 8 at a time when 8
 * are readable.  These put values at every offset from the document's start
 * and end, so each special byte lands at every position of a block.
 */
#define HEAD "{\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\"2026-03-28T02:16:07.507Z\","

/* Decode HEAD "pad":"<pad>","v":<value><tail>, with `pad` x's; the value at slot 0. */
static lw_reject_t dec_at(lw_decoder_t *d, size_t pad, const char *value, size_t vlen,
                          const char *tail, lw_event_t *ev)
{
    char buf[512];
    size_t n = 0, hl = strlen(HEAD), tl = strlen(tail);
    assert_true(hl + pad + vlen + tl + 20 < sizeof buf);
    memcpy(buf, HEAD, hl);
    n = hl;
    memcpy(buf + n, "\"p\":\"", 5);
    n += 5;
    memset(buf + n, 'x', pad);
    n += pad;
    memcpy(buf + n, "\",\"v\":", 6);
    n += 6;
    memcpy(buf + n, value, vlen);
    n += vlen;
    memcpy(buf + n, tail, tl);
    n += tl;
    return dec_n(d, buf, n, ev);
}

static void test_string_blocks(void **state)
{
    (void)state;
    const char *paths[] = {"v"};
    lw_decoder_t *d = make(LW_FMT_SEGMENT, paths, 1);
    static const struct {
        const char *raw; /* the JSON string, quotes included */
        lw_reject_t r;
        const char *want; /* its unescaped value */
    } cases[] = {
        {"\"plain\"", LW_REJECT_NONE, "plain"},
        {"\"\"", LW_REJECT_NONE, ""},
        {"\"a\\\\\"", LW_REJECT_NONE, "a\\"},
        {"\"\\\\\\\\\\\\\"", LW_REJECT_NONE, "\\\\\\"},
        {"\"\\\\\\\"\"", LW_REJECT_NONE, "\\\""},
        {"\"q\\\"q\\\"\"", LW_REJECT_NONE, "q\"q\""},
        {"\"\\u00e9t\\u00E9\"", LW_REJECT_NONE, "\xc3\xa9t\xc3\xa9"},
        {"\"\\ud83d\\ude00!\"", LW_REJECT_NONE, "\xf0\x9f\x98\x80!"},
        {"\"\\/\\b\\f\\n\\r\\t\"", LW_REJECT_NONE, "/\b\f\n\r\t"},
        {"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", LW_REJECT_NONE,
         "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"\"bad\\x\"", LW_REJECT_INVALID_JSON, NULL},
        {"\"ctl\x01\"", LW_REJECT_INVALID_JSON, NULL},
        {"\"tab\t\"", LW_REJECT_INVALID_JSON, NULL},
        {"\"lone\\ud83d\"", LW_REJECT_INVALID_JSON, NULL},
        {"\"lone\\ude00\"", LW_REJECT_INVALID_JSON, NULL},
        {"\"hex\\u12g4\"", LW_REJECT_INVALID_JSON, NULL},
        {"\"utf\xc3\x28\"", LW_REJECT_INVALID_UTF8, NULL},
        {"\"utf\xed\xa0\x80\"", LW_REJECT_INVALID_UTF8, NULL},
        {"\"utf\xf0\x9f\x98\"", LW_REJECT_INVALID_UTF8, NULL},
        {"\"utf\x80\"", LW_REJECT_INVALID_UTF8, NULL},
        {"\"odd\\\\\\\"", LW_REJECT_INVALID_JSON, NULL}, /* the quote is escaped: unterminated */
    };
    /* tails: the value last (within the final block), or followed by more */
    static const char *const tails[] = {"}", "} ", "}\r\n", ",\"z\":\"zzzzzzzzzzzzzzzzzzzzzzzz\"}"};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t t = 0; t < 4; t++)
            for (size_t pad = 0; pad < 40; pad++) {
                lw_event_t ev;
                lw_reject_t r = dec_at(d, pad, cases[c].raw, strlen(cases[c].raw), tails[t], &ev);
                if (r != cases[c].r)
                    print_error("case %zu tail %zu pad %zu: %s\n", c, t, pad, lw_reject_name(r));
                assert_int_equal(r, cases[c].r);
                if (r == LW_REJECT_NONE) {
                    assert_int_equal(ev.fields[0].type, LW_VAL_STRING);
                    assert_slice(ev.fields[0].s, cases[c].want);
                }
            }
    /* runs of 0..40 escaped backslashes, then an escaped quote, at every offset */
    for (size_t run = 0; run <= 40; run++)
        for (size_t t = 0; t < 4; t++)
            for (size_t pad = 0; pad < 40; pad++) {
                char raw[128], want[64];
                size_t n = 0;
                raw[n++] = '"';
                for (size_t i = 0; i < run; i++) {
                    raw[n++] = '\\';
                    raw[n++] = '\\';
                    want[i] = '\\';
                }
                memcpy(raw + n, "\\\"x\"", 4); /* \"x" */
                n += 4;
                memcpy(want + run, "\"x", 3);
                lw_event_t ev;
                assert_int_equal(dec_at(d, pad, raw, n, tails[t], &ev), LW_REJECT_NONE);
                assert_slice(ev.fields[0].s, want);
                /* without x": an odd run ends it, the quote is escaped: unterminated */
                assert_int_equal(dec_at(d, pad, raw, n - 2, tails[t], NULL),
                                 LW_REJECT_INVALID_JSON);
            }
    /* unterminated at the very end, at every length */
    for (size_t pad = 0; pad < 40; pad++)
        assert_int_equal(dec_at(d, pad, "\"abcdefghijklmnopqrst", 21, "", NULL),
                         LW_REJECT_INVALID_JSON);
    /* whole documents shorter than one block */
    assert_int_equal(dec(d, "{\"a\":\"b\"}", NULL), LW_REJECT_MISSING_EVENT);
    assert_int_equal(dec(d, "{\"a\":\"b", NULL), LW_REJECT_INVALID_JSON);
    assert_int_equal(dec(d, "{\"a\":\"\\", NULL), LW_REJECT_INVALID_JSON);
    assert_int_equal(dec(d, "\"\xc3\"", NULL), LW_REJECT_INVALID_UTF8);
    assert_int_equal(dec(d, "\"ab\"", NULL), LW_REJECT_NOT_OBJECT);
    dec_done();
    lw_decoder_destroy(d);
}

static void test_number_runs(void **state)
{
    (void)state;
    const char *paths[] = {"v"};
    lw_decoder_t *d = make(LW_FMT_SEGMENT, paths, 1);
    static const char *const tails[] = {"}", "\n}", ",\"z\":[1,2,{\"y\":null}]}", " }"};
    uint64_t rng = UINT64_C(0x9E3779B97F4A7C15);
    char num[64], tmp[64];
    for (int li = 1; li <= 21; li++)
        for (int lf = 0; lf <= 12; lf++)
            for (int e = 0; e < 3; e++)
                for (size_t t = 0; t < 4; t++) {
                    size_t n = 0;
                    rng = rng * UINT64_C(6364136223846793005) + 1442695040888963407u;
                    if (rng >> 63)
                        num[n++] = '-';
                    for (int i = 0; i < li; i++)
                        num[n++] = (char)('0' + (i == 0 && li > 1 ? 1 + (rng >> (i % 50)) % 9
                                                                  : (rng >> (i * 3 % 60)) % 10));
                    if (li == 1 && (rng & 4))
                        num[n - 1] = '0'; /* "0.xxx" */
                    if (lf) {
                        num[n++] = '.';
                        for (int i = 0; i < lf; i++)
                            num[n++] = (char)('0' + (rng >> ((i * 5 + 7) % 60)) % 10);
                    }
                    if (e == 1)
                        n += (size_t)snprintf(num + n, sizeof num - n, "e+%d", (int)(rng % 30));
                    else if (e == 2)
                        n += (size_t)snprintf(num + n, sizeof num - n, "E-%d", (int)(rng % 30));
                    memcpy(tmp, num, n);
                    tmp[n] = '\0';
                    double want = strtod(tmp, NULL);
                    for (size_t pad = 0; pad < 10; pad++) {
                        lw_event_t ev;
                        lw_reject_t r = dec_at(d, pad, num, n, tails[t], &ev);
                        if (r != LW_REJECT_NONE)
                            print_error("%s: %s\n", tmp, lw_reject_name(r));
                        assert_int_equal(r, LW_REJECT_NONE);
                        assert_int_equal(ev.fields[0].type, LW_VAL_NUMBER);
                        assert_slice(ev.fields[0].s, tmp);
                        if (ev.fields[0].num != want || signbit(ev.fields[0].num) != signbit(want))
                            print_error("%s: %.17g != %.17g\n", tmp, ev.fields[0].num, want);
                        assert_true(ev.fields[0].num == want);
                        assert_true(signbit(ev.fields[0].num) == signbit(want));
                    }
                }
    /* malformed numbers at every offset of the word read */
    static const char *const bad[] = {"01",    "1.",    "1.e5", "1e",   "1e+",       "-",
                                      "--1",   "1.2.3", "+1",   ".5",   "12345678.", "123456789a",
                                      "1234x", "-01",   "0x10", "1e5e", "00000000"};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
        for (size_t t = 0; t < 4; t++)
            for (size_t pad = 0; pad < 10; pad++) {
                lw_reject_t r = dec_at(d, pad, bad[b], strlen(bad[b]), tails[t], NULL);
                if (r != LW_REJECT_INVALID_JSON)
                    print_error("%s: %s\n", bad[b], lw_reject_name(r));
                assert_int_equal(r, LW_REJECT_INVALID_JSON);
            }
    assert_int_equal(dec_at(d, 3, "-Infinity", 9, "}", NULL), LW_REJECT_BAD_NUMBER);
    assert_int_equal(dec_at(d, 3, "1e999", 5, "}", NULL), LW_REJECT_BAD_NUMBER);
    /* digits at the very end of the input (fewer than 8 readable) */
    assert_int_equal(dec(d, "12345", NULL), LW_REJECT_NOT_OBJECT);
    assert_int_equal(dec(d, "1234567", NULL), LW_REJECT_NOT_OBJECT);
    assert_int_equal(dec(d, "123456789012", NULL), LW_REJECT_NOT_OBJECT);
    assert_int_equal(dec(d, "1234567.", NULL), LW_REJECT_INVALID_JSON);
    dec_done();
    lw_decoder_destroy(d);
}

/* Nested objects and arrays around the values, and every prefix of such a document. */
static void test_nested_blocks(void **state)
{
    (void)state;
    const char *paths[] = {"a.b.c", "a.l[2]", "v"};
    lw_decoder_t *d = make(LW_FMT_SEGMENT, paths, 3);
    const char *doc = HEAD "\"a\":{\"x\":[[],{},[{\"q\\\"\":\"\\\\\"}]],\"b\":{\"c\":\"d\\u00e9\"},"
                           "\"l\":[0,{\"k\":[1,2]},12.5e1,\"s\"],\"e\":{}},\"v\":[[[]]]}";
    lw_event_t ev;
    assert_int_equal(dec(d, doc, &ev), LW_REJECT_NONE);
    assert_slice(ev.fields[0].s, "d\xc3\xa9");
    assert_true(ev.fields[1].type == LW_VAL_NUMBER && ev.fields[1].num == 125.0);
    assert_int_equal(ev.fields[2].type, LW_VAL_COMPOUND);
    size_t len = strlen(doc);
    for (size_t k = 1; k < len; k++) {
        lw_reject_t r = dec_n(d, doc, k, NULL);
        if (r != LW_REJECT_INVALID_JSON)
            print_error("prefix %zu: %s\n", k, lw_reject_name(r));
        assert_int_equal(r, LW_REJECT_INVALID_JSON);
    }
    dec_done();
    lw_decoder_destroy(d);
}

static void test_paths_array_indexes(void **state)
{
    (void)state;
    const char *paths[] = {"contexts.data[0].data.id",
                           "contexts.data[1].schema",
                           "m[1][0]",
                           "items[2]",
                           "items[0].sku",
                           "o[0]"};
    lw_decoder_t *d = make(LW_FMT_SEGMENT, paths, 6);
    lw_event_t ev;
    assert_int_equal(
        dec(d,
            "{\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\"2026-03-28T00:00:00Z\","
            "\"contexts\":{\"schema\":\"iglu:x\",\"data\":[{\"schema\":\"s0\",\"data\":{\"id\":"
            "\"first\"}},{\"schema\":\"s1\",\"data\":{\"id\":\"second\"}}]},"
            "\"m\":[[1,2],[3,[4]]],\"items\":[{\"sku\":\"a\"},{\"sku\":\"b\"},[7]],"
            "\"o\":{\"[0]\":1,\"0\":2}}",
            &ev),
        LW_REJECT_NONE);
    assert_slice(ev.fields[0].s, "first");
    assert_slice(ev.fields[1].s, "s1");
    assert_true(ev.fields[2].type == LW_VAL_NUMBER && ev.fields[2].num == 3.0);
    assert_int_equal(ev.fields[3].type, LW_VAL_COMPOUND); /* [7] */
    assert_slice(ev.fields[4].s, "a");
    assert_int_equal(ev.fields[5].type, LW_VAL_ABSENT); /* an object is not an array */

    /* out of range, wrong shape, empty arrays: absent */
    assert_int_equal(dec(d,
                         "{\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\"2026-03-28T00:00:00Z\","
                         "\"contexts\":{\"data\":[]},\"m\":[[9]],\"items\":{\"0\":{\"sku\":1}},"
                         "\"o\":[5]}",
                         &ev),
                     LW_REJECT_NONE);
    for (int i = 0; i < 5; i++)
        assert_int_equal(ev.fields[i].type, LW_VAL_ABSENT);
    assert_true(ev.fields[5].num == 5.0);

    /* a duplicate key resets what was seen below it, indexes included */
    assert_int_equal(dec(d,
                         "{\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\"2026-03-28T00:00:00Z\","
                         "\"items\":[{\"sku\":\"a\"}],\"items\":[1]}",
                         &ev),
                     LW_REJECT_NONE);
    assert_int_equal(ev.fields[4].type, LW_VAL_ABSENT);
    dec_done();
    lw_decoder_destroy(d);

    /* registration: what is accepted and what is not */
    char err[256];
    d = make(LW_FMT_SEGMENT, NULL, 0);
    assert_int_equal(lw_decoder_add_path(d, "a[0]", err, sizeof err), 0);
    assert_int_equal(lw_decoder_add_path(d, "a[00]", err, sizeof err), 0); /* the same index */
    assert_int_equal(lw_decoder_add_path(d, "a[1000000]", err, sizeof err), 1);
    static const char *const bad[] = {
        "[0]",  "a[",    "a[]",   "a[x]",       "a[0]b",
        "a]",   "a.[0]", "a[-1]", "a[1000001]", "a[0][0][0][0][0][0][0][0]",
        "a[0]."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (lw_decoder_add_path(d, bad[i], err, sizeof err) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_non_null(lw_event_path_problem(bad[i], strlen(bad[i])));
        assert_true(strlen(err) > 0);
    }
    assert_null(lw_event_path_problem("a[0][1].b", 9));
    lw_decoder_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_segment_typical),
        cmocka_unit_test(test_segment_user_rules),
        cmocka_unit_test(test_amplitude),
        cmocka_unit_test(test_custom),
        cmocka_unit_test(test_new_errors),
        cmocka_unit_test(test_paths_values),
        cmocka_unit_test(test_paths_escaped_keys),
        cmocka_unit_test(test_paths_duplicates),
        cmocka_unit_test(test_paths_registration),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_malformed_table),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_prefixes_no_overread),
        cmocka_unit_test(test_envelope_segment_batch),
        cmocka_unit_test(test_envelope_amplitude_posthog),
        cmocka_unit_test(test_envelope_abandoned),
        cmocka_unit_test(test_segment_time_chain),
        cmocka_unit_test(test_user_override_and_id_path),
        cmocka_unit_test(test_paths_array_indexes),
        cmocka_unit_test(test_string_blocks),
        cmocka_unit_test(test_number_runs),
        cmocka_unit_test(test_nested_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
