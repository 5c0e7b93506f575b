/*
 * test_jsonw.c - the one JSON writer and the one UTF-8 validator (core/
 * jsonw.h, core/utf8.h): the escaping table, lw_utf8_seq against an
 * independent reference decoder over every 1..3-byte input and a sweep of
 * 4-byte ones, the writer's layouts, numbers, bounds and misuse, and - the
 * point of having one writer - that the same hostile string comes out as
 * the same bytes through every JSON producer (alert payloads, Kafka alert
 * messages, the analysis JSON, report.json) and that the XML escaper
 * replaces exactly the bytes the JSON writer replaces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/alert/alertkafka.h"
#include "leadwatch/alert/alertsink.h"
#include "leadwatch/core/jsonw.h"
#include "leadwatch/core/utf8.h"
#include "leadwatch/report/analysis_out.h"
#include "leadwatch/report/report.h"

/* A hostile string: quote, backslash, newline, control, stray 0xFF, valid é,
   tab, a UTF-8-encoded surrogate, a 4-byte sequence cut short. */
#define HOSTILE                                                                                    \
    "a\"b\\c\nd\x01"                                                                               \
    "e\xff"                                                                                        \
    "f\xc3\xa9"                                                                                    \
    "g\t\xed\xa0\x80\xf0\x9f\x98"
/* ... and the one way every writer must spell it. */
#define HOSTILE_JSON                                                                               \
    "\"a\\\"b\\\\c\\nd\\u0001e\\ufffdf\xc3\xa9g\\t\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\""

static char *json_str(const char *s, size_t n)
{
    lw_buf_t b;
    lw_buf_init(&b, 1 << 16);
    assert_int_equal(lw_buf_put_json_str(&b, s, n), LW_OK);
    return lw_buf_detach(&b, NULL);
}

static void test_escape_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        const char *want;
    } cases[] = {
        {"", 0, "\"\""},
        {"plain ascii ~\x7f", 14, "\"plain ascii ~\x7f\""}, /* DEL is legal JSON */
        {"\"\\/", 3, "\"\\\"\\\\/\""},
        {"\n\r\t\b\f", 5, "\"\\n\\r\\t\\u0008\\u000c\""},
        {"a\0b", 3, "\"a\\u0000b\""}, /* n counts, not the NUL */
        {"\x1f", 1, "\"\\u001f\""},
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""},
        {"\xef\xbf\xbf", 3, "\"\xef\xbf\xbf\""}, /* U+FFFF: valid UTF-8 (only XML refuses it) */
        {"\xc0\xaf", 2, "\"\\ufffd\\ufffd\""},   /* overlong '/' */
        {"\xe0\x80\xaf", 3, "\"\\ufffd\\ufffd\\ufffd\""},            /* overlong, 3 bytes */
        {"\xed\xbf\xbf", 3, "\"\\ufffd\\ufffd\\ufffd\""},            /* surrogate U+DFFF */
        {"\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* > U+10FFFF */
        {"\xf5\x80", 2, "\"\\ufffd\\ufffd\""},
        {"\x80x", 2, "\"\\ufffdx\""},            /* stray continuation, scanning resumes */
        {"x\xe2\x82", 3, "\"x\\ufffd\\ufffd\""}, /* truncated at the end */
        {"\xe2\x82x", 3, "\"\\ufffd\\ufffdx\""}, /* truncated before ASCII */
        {HOSTILE, sizeof HOSTILE - 1, HOSTILE_JSON},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = json_str(cases[i].in, cases[i].n);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: got %s want %s", i, got, cases[i].want);
        /* the output is always valid UTF-8 */
        assert_true(lw_utf8_valid(got, strlen(got)));
        free(got);
    }
}

/* Reference: decode the code point the slow way (Unicode Table 3-7 by value). */
static size_t ref_seq(const unsigned char *p, size_t avail)
{
    unsigned c = p[0];
    size_t n;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0)
        n = 2, cp = c & 0x1Fu, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        n = 3, cp = c & 0x0Fu, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        n = 4, cp = c & 0x07u, min = 0x10000;
    else
        return 0;
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static void test_utf8_against_reference(void **state)
{
    (void)state;
    unsigned char s[4];
    size_t checked = 0;
    for (unsigned a = 0x80; a < 0x100; a++) {
        s[0] = (unsigned char)a;
        assert_int_equal(lw_utf8_seq(s, 1), ref_seq(s, 1));
        for (unsigned b = 0; b < 0x100; b++) {
            s[1] = (unsigned char)b;
            assert_int_equal(lw_utf8_seq(s, 2), ref_seq(s, 2));
            for (unsigned c = 0; c < 0x100; c++) {
                s[2] = (unsigned char)c;
                size_t want = ref_seq(s, 3);
                if (lw_utf8_seq(s, 3) != want)
                    fail_msg("%02x %02x %02x: got %zu want %zu", a, b, c, lw_utf8_seq(s, 3), want);
                if (a >= 0xF0 && (c & 0x3F) == (b & 0x3F)) { /* a sweep of 4-byte inputs */
                    for (unsigned d = 0x70; d < 0xD0; d += 0x0F) {
                        s[3] = (unsigned char)d;
                        assert_int_equal(lw_utf8_seq(s, 4), ref_seq(s, 4));
                        checked++;
                    }
                }
            }
        }
    }
    assert_true(checked > 10000);

    /* whole buffers, around the 8-byte ASCII skip */
    static const struct {
        const char *s;
        bool ok;
    } bufs[] = {
        {"", true},
        {"0123456789abcdef", true},
        {"0123456\xc3\xa9", true},                  /* a sequence straddling the first word */
        {"01234567\xc3", false},                    /* truncated after a full ASCII word */
        {"0123456789abcde\xff", false},             /* bad byte at the end of the second word */
        {"\xed\x9f\xbf ok \xf4\x8f\xbf\xbf", true}, /* U+D7FF, U+10FFFF */
        {"\xed\xa0\x80", false},
    };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        assert_int_equal(lw_utf8_valid(bufs[i].s, strlen(bufs[i].s)), bufs[i].ok);
}

static void test_writer_layouts(void **state)
{
    (void)state;
    lw_buf_t b;
    lw_jsonw_t w;
    for (unsigned indent = 0; indent <= 2; indent += 2) {
        lw_buf_init(&b, 4096);
        lw_jsonw_init(&w, &b, indent);
        lw_jsonw_object(&w);
        lw_jsonw_key(&w, "s");
        lw_jsonw_string(&w, "x");
        lw_jsonw_key(&w, "n");
        lw_jsonw_string(&w, NULL);
        lw_jsonw_key(&w, "a");
        lw_jsonw_array(&w);
        lw_jsonw_number(&w, 0.5);
        lw_jsonw_number(&w, NAN);
        lw_jsonw_number(&w, -INFINITY);
        lw_jsonw_int(&w, INT64_MIN);
        lw_jsonw_uint(&w, UINT64_MAX);
        lw_jsonw_bool(&w, true);
        lw_jsonw_null(&w);
        lw_jsonw_raw(&w, "{}", 2);
        lw_jsonw_end(&w);
        lw_jsonw_key(&w, "e");
        lw_jsonw_array(&w);
        lw_jsonw_end(&w);
        lw_jsonw_key(&w, "o");
        lw_jsonw_object(&w);
        lw_jsonw_key(&w, "k\n");
        lw_jsonw_number(&w, 0.1);
        lw_jsonw_end(&w);
        lw_jsonw_end(&w);
        assert_int_equal(lw_jsonw_finish(&w), LW_OK);
        const char *want =
            indent == 0
                ? "{\"s\":\"x\",\"n\":null,\"a\":[0.5,null,null,-9223372036854775808,"
                  "18446744073709551615,true,null,{}],\"e\":[],\"o\":{\"k\\n\":"
                  "0.10000000000000001}}"
                : "{\n  \"s\": \"x\",\n  \"n\": null,\n  \"a\": [\n    0.5,\n    null,\n    "
                  "null,\n    -9223372036854775808,\n    18446744073709551615,\n    true,\n    "
                  "null,\n    {}\n  ],\n  \"e\": [],\n  \"o\": {\n    \"k\\n\": "
                  "0.10000000000000001\n  }\n}";
        assert_string_equal(b.data, want);
        lw_buf_release(&b);
    }

    /* an unfinished document is not ok; a bound hit is the buffer's error */
    lw_buf_init(&b, 4096);
    lw_jsonw_init(&w, &b, 0);
    lw_jsonw_array(&w);
    assert_int_equal(lw_jsonw_finish(&w), LW_ERR_INVALID);
    lw_buf_release(&b);
    lw_buf_init(&b, 8);
    lw_jsonw_init(&w, &b, 0);
    lw_jsonw_array(&w);
    lw_jsonw_string(&w, "longer than eight");
    lw_jsonw_end(&w);
    assert_int_equal(lw_jsonw_finish(&w), LW_ERR_TOO_LARGE);
    lw_buf_release(&b);
}

/* The XML escaper replaces exactly the bytes the JSON writer replaces. */
static void test_xml_agrees(void **state)
{
    (void)state;
    lw_buf_t b;
    lw_buf_init(&b, 4096);
    assert_int_equal(lw_buf_put_xml(&b, "e\xff"
                                        "f\xc3\xa9\xed\xa0\x80\xf0\x9f\x98"),
                     LW_OK);
    assert_string_equal(b.data, "e\xef\xbf\xbd"
                                "f\xc3\xa9"
                                "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    lw_buf_release(&b);
}

static lw_alert_event_t hostile_event(void)
{
    lw_alert_event_t e;
    memset(&e, 0, sizeof e);
    e.cond = LW_ALERT_COND_NO_LONGER_LEADS;
    e.from = LW_ALERT_PENDING;
    e.to = LW_ALERT_FIRING;
    e.at_ms = e.starts_at_ms = INT64_C(1767225600000);
    snprintf(e.labels[0].key, sizeof e.labels[0].key, "alertname");
    snprintf(e.labels[0].value, sizeof e.labels[0].value, "%s", HOSTILE);
    e.nlabels = 1;
    snprintf(e.annotations[0].key, sizeof e.annotations[0].key, "summary");
    snprintf(e.annotations[0].value, sizeof e.annotations[0].value, "%s", HOSTILE);
    e.nannotations = 1;
    return e;
}

static void expect_hostile(const char *what, lw_buf_t *b, lw_err_t err)
{
    assert_int_equal(err, LW_OK);
    if (!strstr(b->data, HOSTILE_JSON))
        fail_msg("%s does not spell the hostile string as jsonw does:\n%s", what, b->data);
    assert_true(lw_utf8_valid(b->data, b->len));
    lw_buf_rewind(b, 0);
}

/* The same invalid UTF-8 gives the same bytes through every JSON producer. */
static void test_every_writer_same_bytes(void **state)
{
    (void)state;
    lw_buf_t b;
    lw_buf_init(&b, 1 << 20);
    lw_alert_event_t ev = hostile_event();
    const lw_alert_event_t *evs[] = {&ev};
    expect_hostile("alertmanager", &b,
                   lw_alertsink_json_alertmanager(&b, evs, 1, ev.at_ms, 1000, HOSTILE));
    expect_hostile("webhook", &b, lw_alertsink_json_webhook(&b, &ev, HOSTILE, NULL));
    expect_hostile("alert", &b, lw_alertsink_json_alert(&b, &ev, NULL));
    expect_hostile("kafka alert", &b, lw_alertkafka_json(&b, &ev, NULL));

    /* an analysis of one row and no edges, whose period label is hostile */
    lw_analysis_t *a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->nrows = 1;
    snprintf(a->first_label, sizeof a->first_label, "%s", HOSTILE);
    snprintf(a->last_label, sizeof a->last_label, "%s", HOSTILE);
    char err[256];
    lw_jsonw_t w;
    lw_jsonw_init(&w, &b, 2);
    expect_hostile("analysis JSON", &b, lw_analysis_json(a, &w, err, sizeof err));
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    assert_non_null(f);
    assert_int_equal(lw_analysis_write_json(a, f, err, sizeof err), LW_OK);
    fclose(f);
    lw_buf_append(&b, mem, memlen);
    free(mem);
    expect_hostile("analysis JSON to a file", &b, LW_OK);

    /* report.json with a hostile title around the same analysis */
    const char *names[] = {"nsm"};
    const double values[] = {1.0};
    lw_analyze_input_t in = {
        .nrows = 1, .nseries = 1, .names = names, .values = values, .nsm = 0, .kpi = -1};
    lw_report_input_t r = {.analysis = a, .input = &in, .title = HOSTILE};
    expect_hostile("report.json", &b, lw_report_json(&r, &b, err, sizeof err));
    free(a);
    lw_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_table),
        cmocka_unit_test(test_utf8_against_reference),
        cmocka_unit_test(test_writer_layouts),
        cmocka_unit_test(test_xml_agrees),
        cmocka_unit_test(test_every_writer_same_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
