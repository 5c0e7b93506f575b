/*
 * test_timeutil.c - table-driven tests for timeutil.c: civil <-> days
 * round trips (checked against an independent day-by-day walk), ISO 8601
 * parsing (valid forms, offsets crossing midnight and year ends, leap
 * years, out-of-range fields, malformed text, no read past len, the
 * per-thread date cache against a reference validator, the fast path of
 * the common layouts against the general parser),
 * formatting, durations and bucket starts (hour/day/week, negative times,
 * Monday weeks).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/core/timeutil.h"

/* 2026-03-28T02:16:07.507Z computed by hand: days(2026-03-28) = 20540. */
#define T_20260328 INT64_C(1774664167507)

static void test_civil_known_days(void **state)
{
    (void)state;
    static const struct {
        int64_t y;
        unsigned m, d;
        int64_t days;
    } cases[] = {
        {1970, 1, 1, 0},       {1969, 12, 31, -1},  {1969, 12, 29, -3},      {2000, 1, 1, 10957},
        {2000, 2, 29, 11016},  {2000, 3, 1, 11017}, {1900, 3, 1, -25508},    {2026, 3, 28, 20540},
        {1600, 1, 1, -135140}, {0, 3, 1, -719468},  {2038, 1, 19, 24855},    {2100, 3, 1, 47541},
        {2024, 2, 29, 19782},  {1, 1, 1, -719162},  {9999, 12, 31, 2932896},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(lw_days_from_civil(cases[i].y, cases[i].m, cases[i].d), cases[i].days);
        int64_t y;
        unsigned m, d;
        lw_civil_from_days(cases[i].days, &y, &m, &d);
        assert_int_equal(y, cases[i].y);
        assert_int_equal(m, cases[i].m);
        assert_int_equal(d, cases[i].d);
    }
}

/* Walk day by day from 1600-01-01 to 2400-12-31 with an independent
 * month-length table and check both directions for every day. */
static void test_civil_walk(void **state)
{
    (void)state;
    int64_t y = 1600;
    unsigned m = 1, d = 1;
    int64_t days = lw_days_from_civil(1600, 1, 1);
    while (y <= 2400) {
        int64_t yy;
        unsigned mm, dd;
        assert_int_equal(lw_days_from_civil(y, m, d), days);
        lw_civil_from_days(days, &yy, &mm, &dd);
        assert_int_equal(yy, y);
        assert_int_equal(mm, m);
        assert_int_equal(dd, d);
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        unsigned dim = m == 2                                    ? (leap ? 29 : 28)
                       : (m == 4 || m == 6 || m == 9 || m == 11) ? 30
                                                                 : 31;
        days++;
        if (++d > dim) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
}

static void test_parse_valid(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t ms;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01", 0},
        {"1970-01-01T00:00Z", 0},
        {"1970-01-01t00:00:00z", 0},
        {"1970-01-01 00:00:01", 1000},
        {"1969-12-31T23:59:59.999Z", -1},
        {"2026-03-28T02:16:07.507Z", T_20260328},
        {"2026-03-28T02:16:07.5Z", T_20260328 - 7},
        {"2026-03-28T02:16:07.50799999Z", T_20260328},
        {"2026-03-28 02:16:07.507000", T_20260328},
        {"2026-03-28T04:16:07.507+02:00", T_20260328},
        {"2026-03-28T04:16:07.507+0200", T_20260328},
        {"2026-03-28T04:16:07.507+02", T_20260328},
        {"2026-03-27T20:46:07.507-05:30", T_20260328},
        {"2026-03-28T02:16:07.507-00:00", T_20260328},
        /* offsets crossing midnight and the year end */
        {"2026-03-28T23:30:00-01:00", INT64_C(1774744200000)}, /* = 29th 00:30Z */
        {"2026-03-29T00:30:00+01:00", INT64_C(1774740600000)}, /* = 28th 23:30Z */
        {"2000-01-01T00:30:00+01:00", INT64_C(946683000000)},
        {"1999-12-31T23:30:00Z", INT64_C(946683000000)},
        {"2000-01-01T05:00:00+23:59",
         INT64_C(946684800000) + 5 * 3600000 - 23 * 3600000 - 59 * 60000},
        /* leap days */
        {"2000-02-29T00:00:00Z", INT64_C(11016) * 86400000},
        {"2024-02-29T12:00:00Z", INT64_C(19782) * 86400000 + 12 * 3600000},
        {"2024-12-31T23:59:59Z", INT64_C(20088) * 86400000 + 86399000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = 42;
        bool ok = lw_time_parse_iso8601(cases[i].s, strlen(cases[i].s), &ms);
        if (!ok || ms != cases[i].ms)
            print_error("case %zu: %s -> ok=%d ms=%lld\n", i, cases[i].s, ok, (long long)ms);
        assert_true(ok);
        assert_int_equal(ms, cases[i].ms);
    }
}

static void test_parse_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2026",
        "2026-03",
        "2026-3-28",
        "26-03-28",
        "2026-13-01",
        "2026-00-10",
        "2026-01-00",
        "2026-01-32",
        "2026-02-29", /* not a leap year */
        "1900-02-29", /* century, not leap */
        "2024-02-30", /* Feb 30 never */
        "2026-04-31",
        "2026-03-28T",
        "2026-03-28T24:00:00Z",
        "2026-03-28T23:60:00Z",
        "2026-03-28T23:59:60Z", /* leap second rejected */
        "2026-03-28T2:16:07Z",
        "2026-03-28T02:16:07.Z",
        "2026-03-28T02:16:07.507ZZ",
        "2026-03-28T02:16:07.507+24:00",
        "2026-03-28T02:16:07.507+02:60",
        "2026-03-28T02:16:07.507+2",
        "2026-03-28T02:16:07.507+02:0",
        "2026-03-28T02:16:07.507 ",
        "2026-03-28X02:16:07Z",
        "2026-03-28T02-16-07Z",
        " 2026-03-28",
        "2026-03-28Z",
        "abcd-ef-gh",
        "2026-03-28T02:16:07.507Z\n",
        "-026-03-28",
        "2026-03-28T02:16:7Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        if (lw_time_parse_iso8601(bad[i], strlen(bad[i]), &ms))
            print_error("accepted bad case %zu: '%s'\n", i, bad[i]);
        assert_false(lw_time_parse_iso8601(bad[i], strlen(bad[i]), &ms));
    }
}

/* The parser caches the last valid date ("YYYY-MM-DD") of the thread.  An
 * independent reference for the date part: its day number, or INT64_MIN. */
static int64_t ref_date(const char *s)
{
    for (int i = 0; i < 10; i++)
        if (i == 4 || i == 7 ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
            return INT64_MIN;
    int y = atoi(s), m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1)
        return INT64_MIN;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap))
        return INT64_MIN;
    return lw_days_from_civil(y, (unsigned)m, (unsigned)d);
}

static void check_date_vs_ref(const char *date, const char *rest)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%.10s%s", date, rest);
    int64_t want = ref_date(date), ms = 42;
    bool ok = lw_time_parse_iso8601(buf, (size_t)n, &ms);
    if (ok != (want != INT64_MIN) || (ok && ms != want * 86400000 + 3723000))
        print_error("'%s': ok=%d ms=%lld, reference day %lld\n", buf, ok, (long long)ms,
                    (long long)want);
    assert_int_equal(ok, want != INT64_MIN);
    if (ok)
        assert_int_equal(ms, want * 86400000 + 3723000);
}

/* Invalid dates right after a cached valid one that differs in a byte or
 * two, every day and the impossible days 29-32 of every month over 1899-2101
 * (leap years, centuries, 2000), and random near-miss mutations. */
static void test_parse_date_cache(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"2024-02-29", "2026-02-29"}, {"2024-02-29", "2024-02-30"}, {"2000-02-29", "1900-02-29"},
        {"2026-01-31", "2026-04-31"}, {"2026-03-28", "2026-13-28"}, {"2026-03-28", "2026-03-2x"},
        {"2026-03-28", "2026-03-28"}, {"2026-12-31", "2026-12-32"}, {"2026-10-01", "2026-00-01"},
    };
    int64_t ms;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        check_date_vs_ref(pairs[i][0], "T01:02:03Z");
        check_date_vs_ref(pairs[i][1], "T01:02:03Z");
        check_date_vs_ref(pairs[i][1], "T01:02:03Z"); /* twice: an invalid date is never cached */
        check_date_vs_ref(pairs[i][0], "T01:02:03Z");
    }
    /* a cached date does not excuse a bad time or a short string */
    check_date_vs_ref("2026-03-28", "T01:02:03Z");
    assert_false(lw_time_parse_iso8601("2026-03-28T25:00:00Z", 20, &ms));
    assert_false(lw_time_parse_iso8601("2026-03-28", 9, &ms));
    assert_false(lw_time_parse_iso8601("2026-03-28X", 11, &ms));
    check_date_vs_ref("2026-03-28", "T01:02:03Z");

    char d[40]; /* room for any int fields: -O1's -Wformat-truncation */
    for (int y = 1899; y <= 2101; y++)
        for (int m = 1; m <= 12; m++)
            for (int day = 1; day <= 32; day++) {
                snprintf(d, sizeof d, "%04d-%02d-%02d", y, m, day);
                check_date_vs_ref(d, "T01:02:03Z");
                check_date_vs_ref(d, "T01:02:03Z"); /* the cached path */
            }

    srand(19);
    static const char alphabet[] = "0123456789-x";
    for (int it = 0; it < 200000; it++) {
        snprintf(d, sizeof d, "%04d-%02d-%02d", 1990 + rand() % 60, 1 + rand() % 12,
                 1 + rand() % 28);
        check_date_vs_ref(d, "T01:02:03Z"); /* valid: cached */
        int flips = 1 + rand() % 2;
        for (int f = 0; f < flips; f++)
            d[rand() % 10] = alphabet[rand() % (sizeof alphabet - 1)];
        check_date_vs_ref(d, "T01:02:03Z");
    }
}

/* One string through lw_time_parse_iso8601 (fast path for 20 and 24 bytes)
 * and lw_time_parse_iso8601_general: same verdict, same time. */
static int check_fast_vs_general(const char *s, size_t len)
{
    int64_t a = -1, b = -1;
    bool fa = lw_time_parse_iso8601(s, len, &a);
    bool fb = lw_time_parse_iso8601_general(s, len, &b);
    if (fa != fb || (fa && a != b))
        fail_msg("%.*s: %d %lld vs general %d %lld", (int)len, s, fa, (long long)a, fb,
                 (long long)b);
    return fa;
}

/* The fast path of the 20- and 24-byte layouts against the general parser:
 * field values over and past their ranges (hour 0-29, minute and second
 * 0-69), every byte of both layouts replaced by characters the grammar
 * gives a meaning to and by bytes around the digit range and >= 0x80, one
 * or two at a time, and the other separators and zones of the same
 * lengths. */
static void test_parse_fast_vs_general(void **state)
{
    (void)state;
    static const char subst[] = "0123456789:.-+TtZz /\x2f\x3a\x7f\x80\xb0\xf9\xfa\xff";
    char t[96]; /* room for any int fields: -O1's -Wformat-truncation */
    int accepted = 0;
    for (int h = 0; h < 30; h++)
        for (int mi = 0; mi < 70; mi += 3)
            for (int ss = 0; ss < 70; ss += 7) {
                snprintf(t, sizeof t, "2026-03-28T%02d:%02d:%02d.%03dZ", h, mi, ss,
                         (h * 37 + mi) % 1000);
                accepted += check_fast_vs_general(t, 24);
                snprintf(t, sizeof t, "2026-03-28T%02d:%02d:%02dZ", h, mi, ss);
                accepted += check_fast_vs_general(t, 20);
            }
    assert_int_equal(accepted, 2 * 24 * 20 * 9);
    static const char *const forms[] = {
        "2026-03-28T04:16:07.507Z", "2026-03-28t04:16:07.507z", "2026-03-28 04:16:07.507Z",
        "2026-03-28T04:16:07.5070", "2026-03-28T04:16:07+0200", "2026-03-28T04:16:07-02:0",
        "2026-03-28T04:16+02:00Zx", "2026-03-28T04:16:07.50Z",  "2026-03-28T04:16:07z",
        "2026-03-28T04:16:07+02",   "2026-03-28T04:16+02:00",   "2026-02-29T04:16:07.507Z",
        "2024-02-29T23:59:59.999Z", "2024-02-29T23:59:59Z",     "2026-03-28T24:00:00.000Z",
        "2026-03-28T04:60:07.507Z", "2026-03-28T04:16:60Z",     "2026-03-28T04:16:07.5.7Z",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
        check_fast_vs_general(forms[i], strlen(forms[i]));
    srand(1919);
    for (int it = 0; it < 400000; it++) {
        bool long_form = it % 2 == 0;
        int len = snprintf(t, sizeof t,
                           long_form ? "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ"
                                     : "%04d-%02d-%02dT%02d:%02d:%02dZ%d",
                           1990 + rand() % 60, 1 + rand() % 12, 1 + rand() % 31, rand() % 25,
                           rand() % 61, rand() % 61, rand() % 1000);
        if (!long_form)
            len = 20;
        check_fast_vs_general(t, (size_t)len); /* may fill the date cache */
        int flips = 1 + rand() % 2;
        for (int f = 0; f < flips; f++)
            t[rand() % len] = subst[rand() % (sizeof subst - 1)];
        check_fast_vs_general(t, (size_t)len);
    }
}

/* Every prefix of a valid timestamp copied into an exact-size heap buffer:
 * ASan catches any read past len; prefixes that are complete forms parse. */
static void test_parse_no_overread(void **state)
{
    (void)state;
    const char *full = "2026-03-28T04:16:07.507+02:00";
    size_t n = strlen(full);
    int accepted = 0;
    for (size_t len = 0; len <= n; len++) {
        char *p = malloc(len ? len : 1);
        assert_non_null(p);
        memcpy(p, full, len);
        int64_t ms;
        if (lw_time_parse_iso8601(p, len, &ms))
            accepted++;
        free(p);
    }
    /* date, HH:MM, :SS, .5, .50, .507, +02, +02:00 */
    assert_int_equal(accepted, 8);
}

static void test_format(void **state)
{
    (void)state;
    static const struct {
        int64_t ms;
        const char *iso, *date;
    } cases[] = {
        {0, "1970-01-01T00:00:00Z", "1970-01-01"},
        {-1, "1969-12-31T23:59:59Z", "1969-12-31"},
        {T_20260328, "2026-03-28T02:16:07Z", "2026-03-28"},
        {INT64_C(951782400000), "2000-02-29T00:00:00Z", "2000-02-29"},
        {INT64_C(253402300799999), "9999-12-31T23:59:59Z", "9999-12-31"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[32], dbuf[16];
        lw_time_format_iso8601(cases[i].ms, buf, 21);
        assert_string_equal(buf, cases[i].iso);
        lw_time_format_date(cases[i].ms, dbuf, 11);
        assert_string_equal(dbuf, cases[i].date);
        int64_t back;
        assert_true(lw_time_parse_iso8601(buf, strlen(buf), &back));
        assert_int_equal(back, cases[i].ms - (((cases[i].ms % 1000) + 1000) % 1000));
    }
}

static void test_duration(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool ok;
        int64_t ms;
    } cases[] = {
        {"0", true, 0},
        {"30s", true, 30000},
        {"15m", true, 900000},
        {"1h", true, 3600000},
        {"2d", true, 172800000},
        {"1w", true, 604800000},
        {"0s", true, 0},
        {"007m", true, 420000},
        {"", false, 0},
        {"s", false, 0},
        {"5", false, 0},
        {"-1h", false, 0},
        {"+1h", false, 0},
        {"1.5h", false, 0},
        {"1hh", false, 0},
        {"1 h", false, 0},
        {" 1h", false, 0},
        {"1H", false, 0},
        {"1y", false, 0},
        {"1ms", false, 0},
        {"99999999999999999999s", false, 0},
        {"15250284452471w", false, 0}, /* overflows int64 ms */
        {"15250284452w", true, INT64_C(15250284452) * 604800000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = -7;
        bool ok = lw_duration_parse(cases[i].s, &ms);
        if (ok != cases[i].ok)
            print_error("case %zu '%s'\n", i, cases[i].s);
        assert_int_equal(ok, cases[i].ok);
        if (ok)
            assert_int_equal(ms, cases[i].ms);
        else
            assert_int_equal(ms, -7); /* untouched on failure */
    }
    int64_t ms;
    assert_false(lw_duration_parse(NULL, &ms));
}

static int64_t iso(const char *s)
{
    int64_t ms = 0;
    assert_true(lw_time_parse_iso8601(s, strlen(s), &ms));
    return ms;
}

static void test_bucket(void **state)
{
    (void)state;
    const int64_t H = LW_MS_PER_HOUR, D = LW_MS_PER_DAY, W = LW_MS_PER_WEEK;
    struct {
        const char *t;
        int64_t size;
        const char *start;
    } cases[] = {
        {"2026-03-28T02:16:07.507Z", H, "2026-03-28T02:00:00Z"},
        {"2026-03-28T02:16:07.507Z", D, "2026-03-28T00:00:00Z"},
        {"2026-03-28T02:16:07.507Z", W, "2026-03-23T00:00:00Z"}, /* Saturday -> Monday 23rd */
        {"2026-03-23T00:00:00Z", W, "2026-03-23T00:00:00Z"},     /* Monday is its own start */
        {"2026-03-22T23:59:59.999Z", W, "2026-03-16T00:00:00Z"}, /* Sunday belongs to prior week */
        {"1970-01-01T00:00:00Z", W, "1969-12-29T00:00:00Z"},     /* epoch was a Thursday */
        {"1970-01-04T23:59:59Z", W, "1969-12-29T00:00:00Z"},
        {"1970-01-05T00:00:00Z", W, "1970-01-05T00:00:00Z"},
        {"1969-12-29T00:00:00Z", W, "1969-12-29T00:00:00Z"},
        {"1969-12-28T23:59:59.999Z", W, "1969-12-22T00:00:00Z"},
        {"1969-12-31T23:59:59.999Z", D, "1969-12-31T00:00:00Z"},
        {"1969-12-31T23:59:59.999Z", H, "1969-12-31T23:00:00Z"},
        {"1969-12-31T00:00:00Z", D, "1969-12-31T00:00:00Z"},
        {"2024-02-29T13:00:00Z", D, "2024-02-29T00:00:00Z"},
        {"2025-01-01T10:00:00Z", W, "2024-12-30T00:00:00Z"}, /* week spans the year end */
        {"1900-01-01T00:00:01Z", W, "1900-01-01T00:00:00Z"}, /* 1900-01-01 was a Monday */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = lw_bucket_start(iso(cases[i].t), cases[i].size);
        char buf[32];
        lw_time_format_iso8601(got, buf, sizeof buf);
        if (got != iso(cases[i].start))
            print_error("case %zu: %s -> %s\n", i, cases[i].t, buf);
        assert_int_equal(got, iso(cases[i].start));
    }
    /* property: start <= t < start + size and start is idempotent */
    for (int64_t t = -3 * W; t < 3 * W; t += 7777777) {
        const int64_t sizes[] = {H, D, W};
        for (size_t k = 0; k < 3; k++) {
            int64_t s = lw_bucket_start(t, sizes[k]);
            assert_true(s <= t && t < s + sizes[k]);
            assert_int_equal(lw_bucket_start(s, sizes[k]), s);
            if (sizes[k] == W) /* every week start is a Monday: (days + 3) % 7 == 0 */
                assert_int_equal(((s / D) % 7 + 7 + 3) % 7, 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil_known_days),
        cmocka_unit_test(test_civil_walk),
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_parse_no_overread),
        cmocka_unit_test(test_parse_date_cache),
        cmocka_unit_test(test_parse_fast_vs_general),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
