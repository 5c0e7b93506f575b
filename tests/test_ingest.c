/*
 * test_ingest.c - file ingest on real files and a real store: totals,
 * re-ingesting does not double-count, a grown file continues where it
 * stopped, a changed file is refused, oversized lines, CRLF, a last line
 * without newline, and the --rejects copy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "leadwatch/ingest/ingest.h"
#include "leadwatch/store/series.h"
#include "testutil.h"

static const char yaml[] = "source: {format: segment, max_event_bytes: 512}\n"
                           "store: {flush_events: 3}\n"
                           "buckets: {size: 1d, grace: 30d}\n"
                           "metrics:\n"
                           "  - {name: n, count: true}\n"
                           "  - {name: ms, sum: properties.d}\n"
                           "tree: {nsm: ms, inputs: [{metric: n, kind: breadth}]}\n";

typedef struct {
    char *dir;
    char *db;
    lw_config_t *cfg;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    fx->dir = tu_tempdir("ingest");
    fx->db = tu_path(fx->dir, "t.db");
    TU_CONFIG(yaml, &fx->cfg);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    lw_config_free(fx->cfg);
    tu_rm_rf(fx->dir);
    free(fx->dir);
    free(fx->db);
    free(fx);
    return 0;
}

static char *ev(int day, int d)
{
    static char buf[256];
    snprintf(buf, sizeof buf,
             "{\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\"2026-03-%02dT10:00:00Z\","
             "\"properties\":{\"d\":%d}}\n",
             day, d);
    return buf;
}

/* Ingest `path` into the fixture store; returns the status and the stats. */
static lw_err_t ingest(fx_t *fx, const char *path, bool from_start, FILE *rejects,
                       lw_pipeline_stats_t *st, lw_ingest_result_t *res, char *err, size_t errsz)
{
    lw_store_t *store;
    assert_int_equal(lw_store_open(fx->db, 0, &store, err, errsz), LW_OK);
    lw_pipeline_t *p = lw_pipeline_new(fx->cfg, store, err, errsz);
    assert_non_null(p);
    lw_ingest_opts_t o = {.from_start = from_start, .rejects = rejects};
    lw_err_t e = lw_ingest_path(p, path, &o, res, err, errsz);
    lw_pipeline_stats(p, st);
    lw_pipeline_destroy(p);
    lw_store_close(store);
    return e;
}

/* Sum of column `col` over the store. */
static double total(fx_t *fx, size_t col)
{
    char err[256];
    lw_store_t *store;
    lw_series_t s;
    assert_int_equal(lw_store_open(fx->db, LW_STORE_READONLY, &store, err, sizeof err), LW_OK);
    assert_int_equal(lw_series_load(fx->cfg, store, INT64_MIN, INT64_MAX, &s, err, sizeof err),
                     LW_OK);
    double t = 0;
    for (size_t i = 0; i < s.nrows; i++) {
        double v = lw_series_at(&s, i, col);
        t += isnan(v) ? 0 : v;
    }
    lw_series_release(&s);
    lw_store_close(store);
    return t;
}

static void append(const char *path, const char *text)
{
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_reingest_does_not_double_count(void **state)
{
    fx_t *fx = *state;
    char *file = tu_path(fx->dir, "a.jsonl");
    for (int i = 1; i <= 10; i++)
        append(file, ev(1 + i % 5, i));
    char err[512];
    lw_pipeline_stats_t st;
    lw_ingest_result_t res;
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_int_equal(st.accepted, 10);
    assert_double_equal(total(fx, 0), 10, 0);
    assert_double_equal(total(fx, 1), 55, 0);

    /* the same file again: everything skipped */
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_int_equal(st.read, 0);
    assert_true(res.skipped_bytes > 0);
    assert_double_equal(total(fx, 0), 10, 0);

    /* grown: only the new lines count */
    append(file, ev(6, 100));
    append(file, ev(6, 200));
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_int_equal(st.read, 2);
    assert_double_equal(total(fx, 1), 355, 0);

    /* changed content at the same path: refused, nothing counted */
    char *text = malloc(4096);
    text[0] = '\0';
    for (int i = 1; i <= 12; i++)
        strcat(text, ev(7, 1));
    assert_int_equal(tu_write_file(file, text, strlen(text)), 0);
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_ERR_INVALID);
    assert_non_null(strstr(err, "content changed"));
    assert_double_equal(total(fx, 1), 355, 0);
    /* unless asked to */
    assert_int_equal(ingest(fx, file, true, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_double_equal(total(fx, 1), 367, 0);
    free(text);
    free(file);
}

static void test_edge_lines_and_rejects(void **state)
{
    fx_t *fx = *state;
    char *file = tu_path(fx->dir, "b.jsonl");
    char *rej = tu_path(fx->dir, "rejects.txt");
    char big[2048];
    memset(big, 'x', sizeof big);
    big[0] = '{';
    big[sizeof big - 1] = '\0';
    char line[256];
    snprintf(line, sizeof line, "%s", ev(2, 1));
    line[strlen(line) - 1] = '\0';
    /* good, CRLF good, blank, oversized, invalid, good without final newline */
    FILE *f = fopen(file, "wb");
    fputs(ev(2, 1), f);
    fprintf(f, "%s\r\n", line);
    fputs("\n", f);
    fputs(big, f);
    fputs("\n", f);
    fputs("{\"event\":\n", f);
    fputs(line, f);
    fclose(f);

    FILE *rf = fopen(rej, "w");
    char err[512];
    lw_pipeline_stats_t st;
    lw_ingest_result_t res;
    assert_int_equal(ingest(fx, file, false, rf, &st, &res, err, sizeof err), LW_OK);
    fclose(rf);
    assert_int_equal(st.read, 6);
    assert_int_equal(st.accepted, 3);
    assert_int_equal(st.rejected[LW_REJECT_EMPTY], 1);
    assert_int_equal(st.rejected[LW_REJECT_TOO_LARGE], 1);
    assert_int_equal(st.rejected[LW_REJECT_INVALID_JSON], 1);
    assert_double_equal(total(fx, 0), 3, 0);

    /* the rejects file holds the three rejected lines, one per line */
    f = fopen(rej, "r");
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    assert_int_equal(lines, 3);

    /* the whole file is covered: a second run reads nothing */
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_int_equal(st.read, 0);
    free(file);
    free(rej);
}

static void test_missing_file(void **state)
{
    fx_t *fx = *state;
    char err[512];
    lw_store_t *store;
    assert_int_equal(lw_store_open(fx->db, 0, &store, err, sizeof err), LW_OK);
    lw_pipeline_t *p = lw_pipeline_new(fx->cfg, store, err, sizeof err);
    lw_ingest_opts_t o = {0};
    lw_ingest_result_t res;
    assert_int_equal(lw_ingest_path(p, "/nonexistent/x.jsonl", &o, &res, err, sizeof err),
                     LW_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/x.jsonl"));
    lw_pipeline_destroy(p);
    lw_store_close(store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reingest_does_not_double_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge_lines_and_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
