/*
 * test_series_csv.c - the `analyze --series` CSV reader: well-formed files
 * (quotes, CRLF, BOM, missing cells, trailing blank lines), label spacing
 * detection, and one table of malformed inputs, each of which must fail with
 * the right status and a message naming the line (and column where there
 * is one).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/store/series_csv.h"
#include "leadwatch/core/timeutil.h"
#include "testutil.h"

#include <math.h>
#include <string.h>

static void parse_ok(const char *text, lw_series_csv_t *s)
{
    char err[256] = "";
    lw_err_t e = lw_series_csv_parse(text, strlen(text), "t.csv", s, err, sizeof err);
    if (e != LW_OK)
        fail_msg("parse failed: %s", err);
}

static void test_basic(void **state)
{
    (void)state;
    lw_series_csv_t s;
    parse_ok("date,a,b\n2024-01-01,1,2.5\n2024-01-02,,3\n2024-01-03,4, \n", &s);
    assert_int_equal(s.nrows, 3);
    assert_int_equal(s.ncols, 2);
    assert_string_equal(s.label_header, "date");
    assert_string_equal(s.names[0], "a");
    assert_string_equal(s.names[1], "b");
    assert_string_equal(s.labels[1], "2024-01-02");
    assert_double_equal(s.values[0], 1.0, 0);
    assert_double_equal(s.values[1], 2.5, 0);
    assert_true(isnan(s.values[2])); /* empty cell */
    assert_double_equal(s.values[3], 3.0, 0);
    assert_true(isnan(s.values[5])); /* blank cell */
    assert_int_equal(s.bucket_ms, LW_MS_PER_DAY);
    assert_non_null(s.start_ms);
    assert_int_equal(s.start_ms[2] - s.start_ms[0], 2 * LW_MS_PER_DAY);
    assert_int_equal(lw_series_csv_column(&s, "b"), 1);
    assert_int_equal(lw_series_csv_column(&s, "c"), -1);
    lw_series_csv_release(&s);
}

static void test_quotes_crlf_bom(void **state)
{
    (void)state;
    lw_series_csv_t s;
    parse_ok("\xEF\xBB\xBF\"period\",\"x, y\",\"say \"\"hi\"\"\"\r\n"
             "\"W1\",\"1e3\",-2\r\nW2,\" 7 \",\r\n\r\n\n",
             &s);
    assert_int_equal(s.nrows, 2);
    assert_string_equal(s.label_header, "period");
    assert_string_equal(s.names[0], "x, y");
    assert_string_equal(s.names[1], "say \"hi\"");
    assert_string_equal(s.labels[0], "W1");
    assert_double_equal(s.values[0], 1000.0, 0);
    assert_double_equal(s.values[1], -2.0, 0);
    assert_double_equal(s.values[2], 7.0, 0);
    assert_true(isnan(s.values[3]));
    assert_int_equal(s.bucket_ms, 0); /* opaque labels */
    assert_null(s.start_ms);
    lw_series_csv_release(&s);
}

static void test_hourly_spacing(void **state)
{
    (void)state;
    lw_series_csv_t s;
    parse_ok("t,v\n2024-03-01T00:00:00Z,1\n2024-03-01T01:00:00Z,2\n2024-03-01T02:00:00Z,3\n", &s);
    assert_int_equal(s.bucket_ms, LW_MS_PER_HOUR);
    lw_series_csv_release(&s);
}

static void test_header_only(void **state)
{
    (void)state;
    lw_series_csv_t s;
    parse_ok("date,a\n", &s);
    assert_int_equal(s.nrows, 0);
    assert_int_equal(s.ncols, 1);
    lw_series_csv_release(&s);
}

typedef struct {
    const char *text;
    lw_err_t err;
    const char *needle; /* must appear in the message */
} bad_case_t;

static void test_malformed(void **state)
{
    (void)state;
    static const bad_case_t cases[] = {
        {"", LW_ERR_INVALID, "t.csv:1: empty file"},
        {"date\n2024-01-01\n", LW_ERR_INVALID, "at least one metric column"},
        {"date,a\n2024-01-01,1,2\n", LW_ERR_INVALID, "t.csv:2: 3 fields, the header has 2"},
        {"date,a\nd1,1\nd2\n", LW_ERR_INVALID, "t.csv:3: 1 fields"},
        {"date,a\nd1,abc\n", LW_ERR_INVALID, "t.csv:2: column 'a': 'abc' is not a finite number"},
        {"date,a\nd1,nan\n", LW_ERR_INVALID, "t.csv:2: column 'a'"},
        {"date,a\nd1,inf\n", LW_ERR_INVALID, "not a finite number"},
        {"date,a\nd1,1e999\n", LW_ERR_INVALID, "not a finite number"},
        {"date,a\nd1,0x10\n", LW_ERR_INVALID, "not a finite number"},
        {"date,a\nd1,12abc\n", LW_ERR_INVALID, "not a finite number"},
        {"date,a,a\nd1,1,2\n", LW_ERR_INVALID, "duplicate column name 'a'"},
        {"date,a,\nd1,1,2\n", LW_ERR_INVALID, "column 3 has an empty name"},
        {"date,a\nd1,1\n\nd2,2\n", LW_ERR_INVALID, "t.csv:3: empty line"},
        {"date,a\n\"d1,1\n", LW_ERR_INVALID, "unterminated quoted field"},
        {"date,a\n\"d1\"x,1\n", LW_ERR_INVALID, "text after the closing quote"},
        {"date,a\nd\"1,1\n", LW_ERR_INVALID, "quote inside an unquoted field"},
        {"date,a\nd1,1\rd2,2\n", LW_ERR_INVALID, "bare carriage return"},
        {"date,a\n2024-01-01,1\n2024-01-02,2\n2024-01-04,3\n", LW_ERR_INVALID,
         "t.csv:4: period '2024-01-04' is 48 h after the previous one"},
        {"date,a\n2024-01-02,1\n2024-01-01,2\n", LW_ERR_INVALID, "t.csv:3:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lw_series_csv_t s;
        char err[512] = "";
        lw_err_t e =
            lw_series_csv_parse(cases[i].text, strlen(cases[i].text), "t.csv", &s, err, sizeof err);
        if (e != cases[i].err || !strstr(err, cases[i].needle))
            fail_msg("case %zu: status %s, message '%s', wanted '%s'", i, lw_err_name(e), err,
                     cases[i].needle);
        assert_int_equal(s.nrows, 0);
        assert_null(s.values);
    }
}

static void test_bounds(void **state)
{
    (void)state;
    /* a field longer than the cell bound */
    size_t n = LW_SERIES_CSV_MAX_CELL + 64;
    char *text = malloc(n + 32);
    assert_non_null(text);
    memcpy(text, "date,a\n", 7);
    memset(text + 7, 'x', n);
    memcpy(text + 7 + n, ",1\n", 4);
    lw_series_csv_t s;
    char err[256];
    assert_int_equal(lw_series_csv_parse(text, strlen(text), "t.csv", &s, err, sizeof err),
                     LW_ERR_TOO_LARGE);
    assert_non_null(strstr(err, "t.csv:2: field longer than"));
    free(text);

    /* too many columns */
    size_t cap = 16 + (LW_SERIES_CSV_MAX_COLS + 2) * 8;
    text = malloc(cap);
    assert_non_null(text);
    size_t off = (size_t)snprintf(text, cap, "d");
    for (unsigned c = 0; c <= LW_SERIES_CSV_MAX_COLS; c++)
        off += (size_t)snprintf(text + off, cap - off, ",c%u", c);
    snprintf(text + off, cap - off, "\n");
    assert_int_equal(lw_series_csv_parse(text, strlen(text), "t.csv", &s, err, sizeof err),
                     LW_ERR_TOO_LARGE);
    assert_non_null(strstr(err, "metric columns"));
    free(text);
}

static void test_load_file(void **state)
{
    (void)state;
    char *dir = tu_tempdir("csv");
    assert_non_null(dir);
    char *path = tu_path(dir, "s.csv");
    const char *text = "day,m\n2024-02-28,1\n2024-02-29,2\n2024-03-01,3\n";
    assert_int_equal(tu_write_file(path, text, strlen(text)), 0);
    lw_series_csv_t s;
    char err[256];
    assert_int_equal(lw_series_csv_load(path, &s, err, sizeof err), LW_OK);
    assert_int_equal(s.nrows, 3);
    assert_int_equal(s.bucket_ms, LW_MS_PER_DAY); /* across the leap day */
    lw_series_csv_release(&s);

    char *missing = tu_path(dir, "nope.csv");
    assert_int_equal(lw_series_csv_load(missing, &s, err, sizeof err), LW_ERR_IO);
    assert_non_null(strstr(err, "nope.csv"));
    free(missing);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),          cmocka_unit_test(test_quotes_crlf_bom),
        cmocka_unit_test(test_hourly_spacing), cmocka_unit_test(test_header_only),
        cmocka_unit_test(test_malformed),      cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
