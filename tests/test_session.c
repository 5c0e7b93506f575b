/*
 * test_session.c - the analysis session (store/session.h).
 *
 * A store is filled with 40 daily buckets whose values are known functions
 * of the day (x = day, y = 2 day + 1) and a watermark inside the last day,
 * so the last bucket is provisional.  Checked:
 *   - LAST_ROWS (analyze --window): the last N final rows, the provisional
 *     one left out and counted, only those rows read from the store; the
 *     values and labels of the view;
 *   - PERIODS (report --window, the evaluator): the N periods ending at the
 *     newest stored bucket, so the provisional one costs a row; with an
 *     as_of the window ends at its bucket;
 *   - an empty store: PERIODS without as_of is LW_ERR_NOT_FOUND, LAST_ROWS
 *     gives zero rows; a window above the bound is LW_ERR_CONFIG;
 *   - a CSV: --as-of cuts rows by their date labels (regression: it was
 *     silently ignored), then the window; opaque labels with an as_of are
 *     refused (LW_ERR_CONFIG naming --as-of); the CSV is taken on success
 *     and on error;
 *   - lw_session_analyze gives the same numbers as lw_analyze_tree on the
 *     same rows, and echoes the window (regression: options.window was null
 *     when --window was applied);
 *   - tree_only (the daemon's evaluations, issue 19): the tree's columns
 *     (with the parts of a ratio input) and the gaps are those of a full
 *     load, including a bucket whose only data is a metric outside the tree;
 *     the other columns are NAN;
 *   - lw_session_advance (the daemon's evaluator, issue 17): a session
 *     advanced one bucket at a time while the store fills (a rolling
 *     distinct, a ratio, a run of gaps, a window still filling, as-of
 *     buckets past the newest stored one) holds bit for bit the rows,
 *     gaps, labels and values of a fresh load of the same range, with and
 *     without tree_only, and its analysis gives the same numbers (to 1e-9;
 *     in fact equal); a changed window loads afresh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/store/session.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/stats/ols.h"
#include "testutil.h"

#include <math.h>
#include <string.h>

#define NDAYS 40
#define DAY0 INT64_C(1704067200000) /* 2024-01-01 */

static const char CFG[] = "metrics:\n"
                          "  - {name: y, sum: properties.y}\n"
                          "  - {name: x, sum: properties.x}\n"
                          "tree:\n"
                          "  nsm: y\n"
                          "  inputs: [{metric: x, kind: breadth}]\n"
                          "buckets: {size: 1d, grace: 0s}\n";

static char g_err[512];

typedef struct {
    char *dir, *path;
    lw_config_t *cfg;
    lw_store_t *store;
} fx_t;

static void fx_open(fx_t *f, bool fill)
{
    memset(f, 0, sizeof *f);
    f->dir = tu_tempdir("session");
    assert_non_null(f->dir);
    f->path = tu_path(f->dir, "lw.db");
    TU_CONFIG(CFG, &f->cfg);
    assert_int_equal(lw_store_open(f->path, 0, &f->store, g_err, sizeof g_err), LW_OK);
    if (!fill)
        return;
    assert_int_equal(lw_store_begin(f->store, g_err, sizeof g_err), LW_OK);
    for (int t = 0; t < NDAYS; t++) {
        int64_t b = DAY0 + t * LW_MS_PER_DAY;
        assert_int_equal(
            lw_store_add_cell(f->store, "y", b, 1, 2.0 * t + 1, NULL, g_err, sizeof g_err), LW_OK);
        assert_int_equal(
            lw_store_add_cell(f->store, "x", b, 1, (double)t, NULL, g_err, sizeof g_err), LW_OK);
    }
    /* inside the last day: that bucket is still open */
    assert_int_equal(lw_store_set_int(f->store, LW_KEY_WATERMARK,
                                      DAY0 + (NDAYS - 1) * LW_MS_PER_DAY + 3600000, g_err,
                                      sizeof g_err),
                     LW_OK);
    assert_int_equal(lw_store_commit(f->store, g_err, sizeof g_err), LW_OK);
}

static void fx_close(fx_t *f)
{
    lw_store_close(f->store);
    lw_config_free(f->cfg);
    tu_rm_rf(f->dir);
    free(f->path);
    free(f->dir);
}

static void check_rows(const lw_analyze_input_t *in, size_t nrows, int first_day, size_t window)
{
    assert_int_equal(in->nrows, nrows);
    assert_int_equal(in->window, window);
    assert_int_equal(in->nseries, 2);
    assert_int_equal(in->nsm, 0);
    assert_int_equal(in->ninputs, 1);
    assert_int_equal(in->inputs[0], 1);
    for (size_t r = 0; r < nrows; r++) {
        int day = first_day + (int)r;
        assert_double_equal(in->values[r * 2 + 0], 2.0 * day + 1, 0);
        assert_double_equal(in->values[r * 2 + 1], (double)day, 0);
        char want[32];
        lw_time_format_date(DAY0 + day * LW_MS_PER_DAY, want, sizeof want);
        assert_string_equal(in->labels[r], want);
    }
}

static void test_store_windows(void **state)
{
    (void)state;
    fx_t f;
    fx_open(&f, true);
    lw_session_t *s = NULL;

    /* everything: 39 final rows, the open one counted */
    lw_session_range_t r = lw_session_range_all();
    assert_int_equal(lw_session_from_store(f.cfg, f.store, &r, &s, g_err, sizeof g_err), LW_OK);
    check_rows(lw_session_input(s), NDAYS - 1, 0, 0);
    assert_int_equal(lw_session_provisional(s), 1);
    assert_int_equal(lw_session_series(s)->nrows, NDAYS);
    lw_session_destroy(s);

    /* LAST_ROWS: the last 10 final rows, days 29..38; only they and the open day are read
     * (issue 17: the load starts at the window, not at the store's first bucket) */
    r.window = 10;
    assert_int_equal(lw_session_from_store(f.cfg, f.store, &r, &s, g_err, sizeof g_err), LW_OK);
    check_rows(lw_session_input(s), 10, NDAYS - 11, 10);
    assert_int_equal(lw_session_provisional(s), 1);
    assert_int_equal(lw_session_series(s)->nrows, 11);
    lw_session_destroy(s);
    /* a window longer than the data: every final row, from the first bucket */
    r.window = 100;
    assert_int_equal(lw_session_from_store(f.cfg, f.store, &r, &s, g_err, sizeof g_err), LW_OK);
    check_rows(lw_session_input(s), NDAYS - 1, 0, 100);
    assert_int_equal(lw_session_provisional(s), 1);
    assert_int_equal(lw_session_series(s)->nrows, NDAYS);
    lw_session_destroy(s);
    r.window = 10;

    /* PERIODS: days 30..39, the open day 39 left out */
    r.kind = LW_SESSION_PERIODS;
    assert_int_equal(lw_session_from_store(f.cfg, f.store, &r, &s, g_err, sizeof g_err), LW_OK);
    check_rows(lw_session_input(s), 9, NDAYS - 10, 10);
    assert_int_equal(lw_session_provisional(s), 1);
    assert_int_equal(lw_session_series(s)->nrows, 10);
    lw_session_destroy(s);

    /* an as_of inside day 20: both meanings end there */
    assert_true(lw_time_parse_iso8601("2024-01-21T12:00:00Z", 20, &r.as_of_ms));
    r.window = 5;
    for (int k = 0; k < 2; k++) {
        r.kind = k ? LW_SESSION_PERIODS : LW_SESSION_LAST_ROWS;
        assert_int_equal(lw_session_from_store(f.cfg, f.store, &r, &s, g_err, sizeof g_err), LW_OK);
        check_rows(lw_session_input(s), 5, 16, 5);
        assert_int_equal(lw_session_provisional(s), 0);
        assert_int_equal(lw_session_series(s)->nrows, 5);
        lw_session_destroy(s);
    }

    /* before the data: no rows, not an error */
    r.as_of_ms = DAY0 - LW_MS_PER_DAY;
    assert_int_equal(lw_session_from_store(f.cfg, f.store, &r, &s, g_err, sizeof g_err), LW_OK);
    assert_int_equal(lw_session_input(s)->nrows, 0);
    lw_session_destroy(s);

    r.window = LW_SERIES_MAX_ROWS + 1u;
    s = (lw_session_t *)&f; /* must be reset */
    assert_int_equal(lw_session_from_store(f.cfg, f.store, &r, &s, g_err, sizeof g_err),
                     LW_ERR_CONFIG);
    assert_null(s);
    fx_close(&f);
}

static void test_store_empty(void **state)
{
    (void)state;
    fx_t f;
    fx_open(&f, false);
    lw_session_t *s = NULL;
    lw_session_range_t r = {.as_of_ms = INT64_MAX, .window = 7, .kind = LW_SESSION_PERIODS};
    assert_int_equal(lw_session_from_store(f.cfg, f.store, &r, &s, g_err, sizeof g_err),
                     LW_ERR_NOT_FOUND);
    assert_null(s);
    assert_non_null(strstr(g_err, "no buckets"));
    r.kind = LW_SESSION_LAST_ROWS;
    assert_int_equal(lw_session_from_store(f.cfg, f.store, &r, &s, g_err, sizeof g_err), LW_OK);
    assert_int_equal(lw_session_input(s)->nrows, 0);
    assert_int_equal(lw_session_provisional(s), 0);
    lw_session_destroy(s);
    fx_close(&f);
}

/* A CSV of `n` rows: label (dates from 2024-01-01, or "rK"), nsm = 2k + 1, a = k. */
static void make_csv(lw_series_csv_t *csv, size_t n, bool dates)
{
    size_t cap = 64 + n * 64, off = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    off += (size_t)snprintf(text, cap, "period,nsm,a\n");
    for (size_t k = 0; k < n; k++) {
        char label[32];
        if (dates)
            lw_time_format_date(DAY0 + (int64_t)k * LW_MS_PER_DAY, label, sizeof label);
        else
            snprintf(label, sizeof label, "r%zu", k);
        off += (size_t)snprintf(text + off, cap - off, "%s,%zu,%zu\n", label, 2 * k + 1, k);
    }
    assert_int_equal(lw_series_csv_parse(text, off, "s.csv", csv, g_err, sizeof g_err), LW_OK);
    free(text);
}

static void test_csv_as_of_and_window(void **state)
{
    (void)state;
    lw_series_csv_t csv;
    lw_session_t *s = NULL;
    lw_session_range_t r = lw_session_range_all();

    /* --as-of 2024-01-20 keeps days 0..19; --window 7 then keeps 13..19 */
    make_csv(&csv, 30, true);
    assert_true(lw_time_parse_iso8601("2024-01-20", 10, &r.as_of_ms));
    r.window = 7;
    assert_int_equal(lw_session_from_csv(&csv, "nsm", NULL, NULL, &r, &s, g_err, sizeof g_err),
                     LW_OK);
    assert_null(csv.values); /* taken */
    assert_int_equal(csv.nrows, 0);
    check_rows(lw_session_input(s), 7, 13, 7);
    assert_null(lw_session_series(s));
    assert_int_equal(lw_session_provisional(s), 0);
    lw_session_destroy(s);

    /* an as_of before every row: no rows */
    make_csv(&csv, 30, true);
    r.as_of_ms = DAY0 - 1;
    r.window = 0;
    assert_int_equal(lw_session_from_csv(&csv, "nsm", NULL, NULL, &r, &s, g_err, sizeof g_err),
                     LW_OK);
    assert_int_equal(lw_session_input(s)->nrows, 0);
    lw_session_destroy(s);

    /* one dated row (no spacing to check) is still cut by its date */
    make_csv(&csv, 1, true);
    assert_int_equal(lw_session_from_csv(&csv, "nsm", NULL, NULL, &r, &s, g_err, sizeof g_err),
                     LW_OK);
    assert_int_equal(lw_session_input(s)->nrows, 0);
    lw_session_destroy(s);

    /* opaque labels: the window applies, an as_of is refused */
    make_csv(&csv, 30, false);
    r = lw_session_range_all();
    r.window = 4;
    assert_int_equal(lw_session_from_csv(&csv, "nsm", NULL, "a", &r, &s, g_err, sizeof g_err),
                     LW_OK);
    assert_int_equal(lw_session_input(s)->nrows, 4);
    assert_string_equal(lw_session_input(s)->labels[0], "r26");
    lw_session_destroy(s);
    make_csv(&csv, 30, false);
    r.as_of_ms = DAY0;
    s = (lw_session_t *)&r; /* must be reset */
    assert_int_equal(lw_session_from_csv(&csv, "nsm", NULL, NULL, &r, &s, g_err, sizeof g_err),
                     LW_ERR_CONFIG);
    assert_null(s);
    assert_null(csv.values); /* taken on error too */
    assert_non_null(strstr(g_err, "--as-of"));
    assert_non_null(strstr(g_err, "'r0'"));

    /* a missing column: the source builder's message */
    make_csv(&csv, 30, true);
    r = lw_session_range_all();
    assert_int_equal(lw_session_from_csv(&csv, "zz", NULL, NULL, &r, &s, g_err, sizeof g_err),
                     LW_ERR_CONFIG);
    assert_null(s);
    assert_null(csv.values);
    assert_non_null(strstr(g_err, "--nsm: no column 'zz'"));
}

/* x is AR(1) noise, y follows x two rows later: a lead the analysis finds. */
static void test_analyze_same_numbers(void **state)
{
    (void)state;
    enum { N = 160, W = 120 };
    size_t cap = 64 + N * 80, off = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    off += (size_t)snprintf(text, cap, "period,nsm,a\n");
    double x[N], y[N];
    uint64_t rng = 88172645463325252u;
    for (size_t t = 0; t < N; t++) {
        double u[2];
        for (int i = 0; i < 2; i++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            u[i] = ((double)(rng >> 11) + 0.5) / 9007199254740992.0 - 0.5;
        }
        x[t] = (t ? 0.5 * x[t - 1] : 0) + u[0];
        y[t] = (t >= 2 ? 0.8 * x[t - 2] : 0) + 0.3 * u[1];
        char label[32];
        lw_time_format_date(DAY0 + (int64_t)t * LW_MS_PER_DAY, label, sizeof label);
        off += (size_t)snprintf(text + off, cap - off, "%s,%.17g,%.17g\n", label, y[t], x[t]);
    }
    lw_series_csv_t csv, csv2;
    assert_int_equal(lw_series_csv_parse(text, off, "lead.csv", &csv, g_err, sizeof g_err), LW_OK);
    assert_int_equal(lw_series_csv_parse(text, off, "lead.csv", &csv2, g_err, sizeof g_err), LW_OK);
    free(text);
    lw_analyze_opts_t o;
    lw_analyze_opts_default(&o);
    o.max_lag = 4;
    o.seasonal = LW_SEASONAL_NONE;
    o.transform = LW_TRANSFORM_NONE;

    lw_session_t *s = NULL;
    lw_session_range_t r = lw_session_range_all();
    r.window = W;
    assert_int_equal(lw_session_from_csv(&csv, "nsm", NULL, NULL, &r, &s, g_err, sizeof g_err),
                     LW_OK);
    const lw_analysis_t *a = NULL;
    assert_int_equal(lw_session_analyze(s, &o, &a, g_err, sizeof g_err), LW_OK);
    assert_non_null(a);
    assert_int_equal(a->window, W);
    assert_int_equal(a->nrows, W);
    assert_int_equal(a->nedges, 1);

    /* the same rows by hand: the source builder, a view of the last W rows, lw_analyze_tree */
    lw_session_source_t src;
    assert_int_equal(
        lw_session_source_from_csv(&src, &csv2, "nsm", NULL, NULL, g_err, sizeof g_err), LW_OK);
    assert_int_equal(src.in.window, 0);
    src.in.values += (N - W) * src.in.nseries;
    src.in.labels += N - W;
    src.in.nrows = W;
    lw_analysis_t *b = NULL;
    assert_int_equal(lw_analyze_tree(&o, &src.in, &b, g_err, sizeof g_err), LW_OK);
    assert_int_equal(b->window, 0);
    assert_string_equal(a->first_label, b->first_label);
    assert_string_equal(a->last_label, "2024-06-08"); /* row 159 */
    const lw_edge_result_t *ea = &a->edges[0], *eb = &b->edges[0];
    assert_int_equal(ea->verdict, eb->verdict);
    assert_int_equal(ea->lag, eb->lag);
    assert_true(ea->lag >= 2);
    assert_true(ea->p == eb->p && ea->q == eb->q && ea->p < 1e-6);
    assert_true(ea->p_reverse == eb->p_reverse);

    /* a second analysis replaces the first (ASan checks nothing leaks) */
    o.max_lag = 3;
    assert_int_equal(lw_session_analyze(s, &o, &a, g_err, sizeof g_err), LW_OK);
    assert_int_equal(a->edges[0].max_lag, 3);
    /* bad options: the analysis' error, no result */
    o.max_lag = 0;
    assert_int_equal(lw_session_analyze(s, &o, &a, g_err, sizeof g_err), LW_ERR_CONFIG);
    assert_null(a);

    lw_analysis_free(b);
    lw_session_source_release(&src);
    lw_series_csv_release(&csv2);
    lw_session_destroy(s);
}

static const char CFG_TREE[] = "metrics:\n"
                               "  - {name: y, sum: properties.y}\n"
                               "  - {name: x, sum: properties.x}\n"
                               "  - {name: n, count: true, where: {event: e}}\n"
                               "  - {name: q, ratio: [x, n]}\n"
                               "  - {name: u, distinct: user, window: 7d}\n"
                               "  - {name: c, count: true, where: {event: other}}\n"
                               "tree:\n"
                               "  nsm: y\n"
                               "  inputs: [{metric: q, kind: depth}]\n"
                               "buckets: {size: 1d, grace: 0s}\n";

/* A store for CFG_TREE in a temp dir, with a sketch to write the distinct metric's cells. */
typedef struct {
    char *dir, *path;
    lw_config_t *cfg;
    lw_store_t *st;
    lw_hll_t *h;
} tree_fx_t;

static void tree_open(tree_fx_t *t, const char *name)
{
    t->dir = tu_tempdir(name);
    assert_non_null(t->dir);
    t->path = tu_path(t->dir, "lw.db");
    t->cfg = NULL;
    TU_CONFIG(CFG_TREE, &t->cfg);
    t->st = NULL;
    assert_int_equal(lw_store_open(t->path, 0, &t->st, g_err, sizeof g_err), LW_OK);
    t->h = lw_hll_new();
    assert_non_null(t->h);
}

static void tree_close(tree_fx_t *t)
{
    lw_hll_destroy(t->h);
    lw_store_close(t->st);
    lw_config_free(t->cfg);
    tu_rm_rf(t->dir);
    free(t->path);
    free(t->dir);
}

static void test_tree_only(void **state)
{
    (void)state;
    enum { N = 30 };
    tree_fx_t fx;
    tree_open(&fx, "session_tree");
    lw_config_t *cfg = fx.cfg;
    lw_store_t *st = fx.st;
    lw_hll_t *h = fx.h;
    assert_int_equal(lw_store_begin(st, g_err, sizeof g_err), LW_OK);
    for (int t = 0; t < N; t++) {
        int64_t b = DAY0 + t * LW_MS_PER_DAY;
        for (uint64_t k = 0; k < (uint64_t)(t + 1) * 5; k++)
            lw_hll_add_hash(h, lw_hll_hash(&k, sizeof k));
        /* day 10: only c; day 11: only u; day 12: nothing (a gap) */
        if (t != 10 && t != 11 && t != 12) {
            assert_int_equal(
                lw_store_add_cell(st, "y", b, 1, 3.0 * t + 1, NULL, g_err, sizeof g_err), LW_OK);
            assert_int_equal(lw_store_add_cell(st, "x", b, 1, (double)t, NULL, g_err, sizeof g_err),
                             LW_OK);
            assert_int_equal(lw_store_add_cell(st, "n", b, t % 4 + 1, 0, NULL, g_err, sizeof g_err),
                             LW_OK);
        }
        if (t != 10 && t != 12)
            assert_int_equal(lw_store_add_cell(st, "u", b, 1, 0, h, g_err, sizeof g_err), LW_OK);
        if (t == 10 || (t % 3 == 0 && t != 12))
            assert_int_equal(lw_store_add_cell(st, "c", b, 2, 0, NULL, g_err, sizeof g_err), LW_OK);
    }
    assert_int_equal(
        lw_store_set_int(st, LW_KEY_WATERMARK, DAY0 + N * LW_MS_PER_DAY, g_err, sizeof g_err),
        LW_OK);
    assert_int_equal(lw_store_commit(st, g_err, sizeof g_err), LW_OK);

    lw_session_t *full = NULL, *lite = NULL;
    lw_session_range_t r = {
        .as_of_ms = DAY0 + (N - 1) * LW_MS_PER_DAY, .window = 25, .kind = LW_SESSION_PERIODS};
    assert_int_equal(lw_session_from_store(cfg, st, &r, &full, g_err, sizeof g_err), LW_OK);
    r.tree_only = true;
    assert_int_equal(lw_session_from_store(cfg, st, &r, &lite, g_err, sizeof g_err), LW_OK);
    const lw_series_t *sf = lw_session_series(full), *sl = lw_session_series(lite);
    assert_int_equal(sf->nrows, 25);
    assert_int_equal(sl->nrows, sf->nrows);
    size_t row10 = 10 - (N - 25);
    assert_false(sf->gap[row10]);     /* c only: data */
    assert_false(sf->gap[row10 + 1]); /* u only: data */
    assert_true(sf->gap[row10 + 2]);
    for (size_t i = 0; i < sf->nrows; i++) {
        assert_int_equal(sl->gap[i], sf->gap[i]);
        for (size_t m = 0; m < 4; m++) { /* y, x, n, q: the tree and the ratio's parts */
            double a = lw_series_at(sf, i, m), b = lw_series_at(sl, i, m);
            assert_true(a == b || (isnan(a) && isnan(b)));
        }
        assert_true(isnan(lw_series_at(sl, i, 4)) && isnan(lw_series_at(sl, i, 5)));
        if (!sf->gap[i] && i != row10 + 1)
            assert_false(isnan(lw_series_at(sf, i, 5))); /* c: a count, 0 without cells */
    }
    assert_false(isnan(lw_series_at(sf, row10 + 1, 4))); /* u in the full load */
    const lw_analyze_input_t *fi = lw_session_input(full), *li = lw_session_input(lite);
    assert_int_equal(fi->nrows, li->nrows);
    assert_int_equal(li->inputs[0], 3);

    lw_session_destroy(full);
    lw_session_destroy(lite);
    tree_close(&fx);
}

/* Bit-equal doubles, NAN equal to NAN. */
static bool same(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

static void check_same_session(const lw_session_t *a, const lw_session_t *b)
{
    const lw_series_t *sa = lw_session_series(a), *sb = lw_session_series(b);
    assert_int_equal(sa->nrows, sb->nrows);
    assert_int_equal(sa->ncols, sb->ncols);
    assert_true(sa->watermark_ms == sb->watermark_ms);
    for (size_t i = 0; i < sa->nrows; i++) {
        assert_true(sa->bucket_ms[i] == sb->bucket_ms[i]);
        assert_int_equal(sa->gap[i], sb->gap[i]);
        assert_int_equal(sa->provisional[i], sb->provisional[i]);
        for (size_t m = 0; m < sa->ncols; m++)
            assert_true(same(lw_series_at(sa, i, m), lw_series_at(sb, i, m)));
    }
    const lw_analyze_input_t *ia = lw_session_input(a), *ib = lw_session_input(b);
    assert_int_equal(ia->nrows, ib->nrows);
    assert_int_equal(ia->window, ib->window);
    assert_int_equal(ia->nseries, ib->nseries);
    for (size_t i = 0; i < ia->nrows; i++) {
        assert_string_equal(ia->labels[i], ib->labels[i]);
        for (size_t m = 0; m < ia->nseries; m++)
            assert_true(same(ia->values[i * ia->nseries + m], ib->values[i * ib->nseries + m]));
    }
}

static void test_advance_equals_fresh(void **state)
{
    (void)state;
    enum { N = 75, W = 25 };
    tree_fx_t fx;
    tree_open(&fx, "session_adv");
    lw_config_t *cfg = fx.cfg;
    lw_store_t *st = fx.st;
    lw_hll_t *h = fx.h;
    lw_analyze_opts_t o;
    lw_analyze_opts_default(&o);
    o.max_lag = 2;
    o.seasonal = LW_SEASONAL_NONE;
    lw_session_t *adv[2] = {NULL, NULL};
    size_t advanced[2] = {0, 0}, compared = 0;
    uint64_t rng = 88172645463325252u;
    for (int t = 0; t < N + 3; t++) {
        const int64_t b = DAY0 + t * LW_MS_PER_DAY;
        if (t < N) { /* day t arrives, then closes */
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            const double u = (double)(rng >> 11) / 9007199254740992.0;
            for (uint64_t k = 0; k < (uint64_t)(t % 9 + 1) * 7; k++) {
                uint64_t id = k * 31 + (uint64_t)t;
                lw_hll_add_hash(h, lw_hll_hash(&id, sizeof id));
            }
            assert_int_equal(lw_store_begin(st, g_err, sizeof g_err), LW_OK);
            if (t < 30 || t > 33) { /* days 30..33: a run of gaps */
                assert_int_equal(
                    lw_store_add_cell(st, "y", b, 1, 3.0 * t + u, NULL, g_err, sizeof g_err),
                    LW_OK);
                assert_int_equal(
                    lw_store_add_cell(st, "x", b, 1, 1.0 + u * t, NULL, g_err, sizeof g_err),
                    LW_OK);
                assert_int_equal(
                    lw_store_add_cell(st, "n", b, t % 4 + 1, 0, NULL, g_err, sizeof g_err), LW_OK);
                assert_int_equal(lw_store_add_cell(st, "u", b, 1, 0, h, g_err, sizeof g_err),
                                 LW_OK);
            }
            assert_int_equal(
                lw_store_set_int(st, LW_KEY_WATERMARK, b + LW_MS_PER_DAY + 1, g_err, sizeof g_err),
                LW_OK);
            assert_int_equal(lw_store_commit(st, g_err, sizeof g_err), LW_OK);
        }
        for (int k = 0; k < 2; k++) {
            lw_session_range_t r = {
                .as_of_ms = b, .window = W, .kind = LW_SESSION_PERIODS, .tree_only = k == 1};
            bool moved = false;
            assert_int_equal(lw_session_advance(&adv[k], cfg, st, &r, &moved, g_err, sizeof g_err),
                             LW_OK);
            advanced[k] += moved;
            lw_session_t *fresh = NULL;
            assert_int_equal(lw_session_from_store(cfg, st, &r, &fresh, g_err, sizeof g_err),
                             LW_OK);
            check_same_session(adv[k], fresh);
            if (lw_session_input(fresh)->nrows >= 20) {
                const lw_analysis_t *aa = NULL, *af = NULL;
                lw_err_t ea = lw_session_analyze(adv[k], &o, &aa, g_err, sizeof g_err);
                lw_err_t ef = lw_session_analyze(fresh, &o, &af, g_err, sizeof g_err);
                assert_int_equal(ea, ef);
                if (ea == LW_OK) {
                    assert_int_equal(aa->nedges, af->nedges);
                    for (size_t e = 0; e < aa->nedges; e++) {
                        const lw_edge_result_t *x = &aa->edges[e], *y = &af->edges[e];
                        assert_int_equal(x->verdict, y->verdict);
                        assert_int_equal(x->lag, y->lag);
                        assert_true(same(x->p, y->p) || fabs(x->p - y->p) <= 1e-9);
                        assert_true(same(x->q, y->q) || fabs(x->q - y->q) <= 1e-9);
                        assert_true(same(x->p_reverse, y->p_reverse));
                    }
                    assert_string_equal(aa->first_label, af->first_label);
                    assert_string_equal(aa->last_label, af->last_label);
                    compared++;
                }
            }
            lw_session_destroy(fresh);
        }
    }
    /* every step after the first advanced (none needed a fresh load) */
    assert_int_equal(advanced[0], N + 2);
    assert_int_equal(advanced[1], N + 2);
    assert_true(compared > 80);

    /* another window: loaded afresh, the same rows as a fresh load */
    lw_session_range_t r = {.as_of_ms = DAY0 + (N - 1) * LW_MS_PER_DAY,
                            .window = W + 5,
                            .kind = LW_SESSION_PERIODS,
                            .tree_only = true};
    bool moved = true;
    assert_int_equal(lw_session_advance(&adv[1], cfg, st, &r, &moved, g_err, sizeof g_err), LW_OK);
    assert_false(moved);
    assert_int_equal(lw_session_input(adv[1])->nrows, W + 5);

    lw_session_destroy(adv[0]);
    lw_session_destroy(adv[1]);
    tree_close(&fx);
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_windows),
        cmocka_unit_test(test_store_empty),
        cmocka_unit_test(test_csv_as_of_and_window),
        cmocka_unit_test(test_analyze_same_numbers),
        cmocka_unit_test(test_tree_only),
        cmocka_unit_test(test_advance_equals_fresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
