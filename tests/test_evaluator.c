/*
 * test_evaluator.c - the evaluator thread (src/app/evaluator.c) against the
 * synchronous watcher it wraps (src/alert/watch.c), on two SQLite stores
 * holding the same cells.
 *
 * Data: daily sums from 2024-01-01, y_t = 100 + A x1_{t-1} + A x2_{t-2} + e
 * with x1, x2 AR(1) (phi 0.5) from a seeded xorshift + Box-Muller, and x1's
 * lead replaced by an independent series from day BREAK on, so x1's
 * no_longer_leads alert fires some weeks later (window 56, lags 1..4,
 * for 2: the setting of test_watch.c).
 *
 * Cases:
 *   same as synchronous  one lw_watch_advance per "flush" watermark (steps of
 *                        1..5 days) on store A; the same watermarks posted to
 *                        an evaluator on store B with LW_TEST_EVAL_DELAY_MS=2,
 *                        so they queue and merge; then a stall report made
 *                        after the last post.  Same verdict rows (bit for
 *                        bit), same evaluations, same firing alerts and
 *                        transitions: the stall is applied only after the
 *                        evaluations of the data posted before it (before
 *                        that rule, the backlog's evaluations became no data
 *                        and x1's alert never fired).  The backlog gauge is
 *                        > 0 while the thread sleeps and 0 after the drain.
 *   long catch-up        hourly buckets, posts closing 10, +700, +700, +700
 *                        and +2037 buckets, all queued at once: the evaluator
 *                        evaluates every closed bucket, as a synchronous
 *                        watcher called once per post does, with the same
 *                        verdict rows (a post closing more than
 *                        LW_WATCH_MAX_ENTRY_SPAN buckets used to skip the
 *                        oldest: 37 here).
 *   sync hook            LW_TEST_EVAL_SYNC=1 (with a 2 ms delay per
 *                        evaluation): every lw_evaluator_post returns with
 *                        the buckets it closed evaluated (backlog 0); without
 *                        the hook the first post returns before they are.
 *   no drain             finish without drain stops after the evaluation in
 *                        progress: fewer evaluations, the position in the
 *                        store is the last one evaluated, and a new
 *                        evaluator resumes there and catches up.
 *   memory store         ":memory:" cannot be shared: LW_ERR_CONFIG.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/app/evaluator.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/stats/ols.h"
#include "leadwatch/store/store.h"
#include "testutil.h"

#define DAY LW_MS_PER_DAY
#define T0 (INT64_C(19723) * DAY) /* 2024-01-01 */
#define NDAYS 130
#define BREAK 70
#define NOW INT64_C(1800000000000)

static const char CFG[] =
    "metrics:\n"
    "  - {name: y, sum: properties.y}\n"
    "  - {name: x1, sum: properties.x1}\n"
    "  - {name: x2, sum: properties.x2}\n"
    "tree:\n"
    "  nsm: y\n"
    "  inputs: [{metric: x1, kind: breadth}, {metric: x2, kind: depth}]\n"
    "analysis: {window: 56, max_lag: 4, transform: none, seasonal: none, stability_window: 24}\n"
    "buckets: {size: 1d, grace: 0s}\n"
    "alerts: {monitor: false, for: 2, keep_firing_for: 1, arm_after: 10}\n";

static char g_err[512];

/* A call that must succeed; the failure names it with the module's message. */
static void ok_or_fail(lw_err_t e, const char *call)
{
    if (e != LW_OK)
        fail_msg("%s: %s: %s", call, lw_err_name(e), g_err);
}
#define OK(call) ok_or_fail((call), #call)

static uint64_t g_rng = 0x9E3779B97F4A7C15u;

static double gauss(void)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        g_rng ^= g_rng << 13;
        g_rng ^= g_rng >> 7;
        g_rng ^= g_rng << 17;
        u[i] = ((double)(g_rng >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

/* Both stores get the same cells of every day and the watermark of the last. */
static void fill(lw_store_t *const *st, size_t nst)
{
    double a = 0, b = 0, z = 0, pa[NDAYS], pb[NDAYS], pz[NDAYS];
    for (int t = 0; t < 50; t++) {
        a = 0.5 * a + gauss();
        b = 0.5 * b + gauss();
        z = 0.5 * z + gauss();
    }
    for (int t = 0; t < NDAYS; t++) {
        pa[t] = a = 0.5 * a + gauss();
        pb[t] = b = 0.5 * b + gauss();
        pz[t] = z = 0.5 * z + gauss();
    }
    for (size_t k = 0; k < nst; k++)
        OK(lw_store_begin(st[k], g_err, sizeof g_err));
    for (int t = 0; t < NDAYS; t++) {
        double lead1 = t >= 1 ? (t >= BREAK ? pz[t - 1] : pa[t - 1]) : 0.0;
        double lead2 = t >= 2 ? pb[t - 2] : 0.0;
        double y = 100.0 + 0.8 * lead1 + 0.8 * lead2 + 0.3 * gauss();
        int64_t b_ms = T0 + t * DAY;
        for (size_t k = 0; k < nst; k++) {
            OK(lw_store_add_cell(st[k], "y", b_ms, 1, y, NULL, g_err, sizeof g_err));
            OK(lw_store_add_cell(st[k], "x1", b_ms, 1, 100.0 + pa[t], NULL, g_err, sizeof g_err));
            OK(lw_store_add_cell(st[k], "x2", b_ms, 1, 100.0 + pb[t], NULL, g_err, sizeof g_err));
        }
    }
    for (size_t k = 0; k < nst; k++) {
        OK(lw_store_set_int(st[k], LW_KEY_WATERMARK, T0 + NDAYS * DAY, g_err, sizeof g_err));
        OK(lw_store_commit(st[k], g_err, sizeof g_err));
    }
}

/* The watermark that closes day `d` (grace 0). */
static int64_t wm_closing(int d)
{
    return T0 + (int64_t)d * DAY + DAY + 1;
}

typedef struct {
    char *text;
    size_t len, cap;
} dump_t;

static int dump_row(void *ud, const lw_verdict_row_t *v)
{
    dump_t *d = ud;
    char line[256];
    int n = snprintf(line, sizeof line, "%s %lld %s %a %a %d %a %a\n", v->edge,
                     (long long)v->as_of_ms, v->verdict, v->p, v->q, v->lag, v->coef, v->oos);
    assert_true(n > 0 && (size_t)n < sizeof line);
    if (d->len + (size_t)n + 1 > d->cap) {
        d->cap = (d->cap + (size_t)n + 1) * 2;
        d->text = realloc(d->text, d->cap);
        assert_non_null(d->text);
    }
    memcpy(d->text + d->len, line, (size_t)n + 1);
    d->len += (size_t)n;
    return 0;
}

static char *verdicts(const char *path)
{
    lw_store_t *st = NULL;
    OK(lw_store_open(path, LW_STORE_READONLY, &st, g_err, sizeof g_err));
    dump_t d = {0};
    OK(lw_store_read_verdicts(st, NULL, INT64_MIN, dump_row, &d, g_err, sizeof g_err));
    lw_store_close(st);
    return d.text ? d.text : calloc(1, 1);
}

static int64_t stored_position(const char *path)
{
    lw_store_t *st = NULL;
    int64_t v = INT64_MIN;
    OK(lw_store_open(path, LW_STORE_READONLY, &st, g_err, sizeof g_err));
    lw_err_t e = lw_store_get_int(st, LW_WATCH_KEY_LAST, &v, g_err, sizeof g_err);
    assert_true(e == LW_OK || e == LW_ERR_NOT_FOUND);
    lw_store_close(st);
    return v;
}

/*
 * The watcher on this thread, as the daemon ran it before: one advance per
 * watermark, then a stall report when `stall`; its stats.
 */
static lw_watch_stats_t run_synchronous(const lw_config_t *cfg, const char *path,
                                        const int64_t *wms, size_t n, bool stall)
{
    lw_store_t *st = NULL;
    OK(lw_store_open(path, 0, &st, g_err, sizeof g_err));
    lw_watch_deps_t wd = {.cfg = cfg, .store = st};
    lw_watch_t *w = NULL;
    OK(lw_watch_new(&wd, NOW, &w, g_err, sizeof g_err));
    for (size_t i = 0; i < n; i++)
        OK(lw_watch_advance(w, wms[i], NOW, NULL, g_err, sizeof g_err));
    if (stall)
        OK(lw_watch_pipeline(w, true, "test stall", NOW, g_err, sizeof g_err));
    lw_watch_stats_t out;
    lw_watch_stats(w, &out);
    lw_watch_destroy(w);
    lw_store_close(st);
    return out;
}

typedef struct {
    char *dir, *pa, *pb;
    lw_config_t *cfg;
} fx_t;

/* Two store paths a.db and b.db in a fresh directory, and the config `yaml`. */
static void fx_paths(fx_t *f, const char *name, const char *yaml)
{
    f->dir = tu_tempdir(name);
    assert_non_null(f->dir);
    f->pa = tu_path(f->dir, "a.db");
    f->pb = tu_path(f->dir, "b.db");
    TU_CONFIG(yaml, &f->cfg);
}

static void fx_open(fx_t *f)
{
    fx_paths(f, "evaluator", CFG);
    lw_store_t *st[2] = {NULL, NULL};
    OK(lw_store_open(f->pa, 0, &st[0], g_err, sizeof g_err));
    OK(lw_store_open(f->pb, 0, &st[1], g_err, sizeof g_err));
    g_rng = 0x9E3779B97F4A7C15u;
    fill(st, 2);
    lw_store_close(st[0]);
    lw_store_close(st[1]);
}

static void fx_close(fx_t *f)
{
    lw_config_free(f->cfg);
    tu_rm_rf(f->dir);
    free(f->pa);
    free(f->pb);
    free(f->dir);
}

static void test_same_as_synchronous(void **state)
{
    (void)state;
    fx_t f;
    fx_open(&f);
    /* the flushes' watermarks: steps of 1..5 days from day 20 */
    int64_t wms[NDAYS];
    size_t nd = 0;
    for (int d = 20, k = 0; d < NDAYS; d += 1 + k % 5, k++)
        wms[nd++] = wm_closing(d);
    wms[nd++] = wm_closing(NDAYS - 1);

    /* A: the watcher on this thread, as the daemon did before */
    lw_watch_stats_t sync = run_synchronous(f.cfg, f.pa, wms, nd, true);
    assert_int_equal(sync.evaluations, NDAYS);
    assert_true(sync.firing >= 2); /* x1's alert and the stall */

    /* B: the same watermarks posted to the evaluator thread, which sleeps 2 ms per evaluation */
    assert_int_equal(setenv("LW_TEST_EVAL_DELAY_MS", "2", 1), 0);
    lw_promtext_t *reg = NULL;
    OK(lw_promtext_new("leadwatch", 64, 4096, &reg, g_err, sizeof g_err));
    lw_evaluator_opts_t eo = {.store_target = f.pb, .cfg = f.cfg, .metrics = reg};
    lw_evaluator_t *ev = NULL;
    OK(lw_evaluator_new(&eo, NOW, &ev, g_err, sizeof g_err));
    unsetenv("LW_TEST_EVAL_DELAY_MS");
    for (size_t i = 0; i < nd; i++)
        lw_evaluator_post(ev, wms[i]);
    lw_evaluator_pipeline(ev, true, "test stall", NOW);
    lw_evaluator_stats_t es;
    lw_evaluator_stats(ev, &es);
    assert_true(es.backlog > 0);
    assert_int_equal(es.posted_ms, wm_closing(NDAYS - 1));
    OK(lw_evaluator_finish(ev, true, g_err, sizeof g_err));
    lw_evaluator_stats(ev, &es);
    assert_int_equal(es.backlog, 0);
    assert_int_equal(es.evaluations, NDAYS);
    assert_int_equal(es.watch.evaluations, sync.evaluations);
    assert_int_equal(es.watch.firing, sync.firing);
    assert_int_equal(es.watch.transitions, sync.transitions);
    assert_int_equal(es.watch.last_as_of_ms, sync.last_as_of_ms);
    assert_true(es.watch.stalled);
    lw_buf_t page;
    lw_buf_init(&page, 1 << 20);
    assert_int_equal(lw_promtext_render(reg, &page), LW_OK);
    assert_non_null(strstr(page.data, "leadwatch_evaluation_backlog_buckets 0\n"));
    lw_buf_release(&page);
    lw_evaluator_destroy(ev);
    lw_promtext_destroy(reg);

    char *va = verdicts(f.pa), *vb = verdicts(f.pb);
    assert_true(strlen(va) > 0);
    assert_string_equal(va, vb);
    free(va);
    free(vb);
    fx_close(&f);
}

static const char CFG_HOURLY[] =
    "metrics:\n"
    "  - {name: y, sum: properties.y}\n"
    "  - {name: x1, sum: properties.x1}\n"
    "tree:\n"
    "  nsm: y\n"
    "  inputs: [{metric: x1, kind: breadth}]\n"
    "analysis: {window: 24, max_lag: 2, transform: none, seasonal: none}\n"
    "buckets: {size: 1h, grace: 0s}\n"
    "alerts: {monitor: false}\n";

static void test_catchup_long(void **state)
{
    (void)state;
    const int64_t H = LW_MS_PER_HOUR;
    const int64_t steps[] = {10, 700, 700, 700, (int64_t)LW_WATCH_MAX_ENTRY_SPAN + 37};
    const size_t nsteps = sizeof steps / sizeof steps[0];
    int64_t total = 0;
    for (size_t i = 0; i < nsteps; i++)
        total += steps[i];
    fx_t f = {0};
    fx_paths(&f, "evaluator_catchup", CFG_HOURLY);
    const char *paths[2] = {f.pa, f.pb};
    for (int k = 0; k < 2; k++) { /* the first and the newest closed hour; gaps between */
        lw_store_t *st = NULL;
        OK(lw_store_open(paths[k], 0, &st, g_err, sizeof g_err));
        OK(lw_store_begin(st, g_err, sizeof g_err));
        OK(lw_store_add_cell(st, "y", T0, 1, 1.0, NULL, g_err, sizeof g_err));
        OK(lw_store_add_cell(st, "y", T0 + (total - 1) * H, 1, 1.0, NULL, g_err, sizeof g_err));
        OK(lw_store_commit(st, g_err, sizeof g_err));
        lw_store_close(st);
    }
    int64_t wms[8], closed = 0;
    for (size_t i = 0; i < nsteps; i++) {
        closed += steps[i];
        wms[i] = T0 + closed * H + 1; /* closes hours 0 .. closed - 1 */
    }

    lw_watch_stats_t sync = run_synchronous(f.cfg, f.pa, wms, nsteps, false);
    assert_int_equal(sync.evaluations, (uint64_t)total);

    lw_evaluator_opts_t eo = {.store_target = f.pb, .cfg = f.cfg};
    lw_evaluator_t *ev = NULL;
    OK(lw_evaluator_new(&eo, NOW, &ev, g_err, sizeof g_err));
    for (size_t i = 0; i < nsteps; i++)
        lw_evaluator_post(ev, wms[i]);
    OK(lw_evaluator_finish(ev, true, g_err, sizeof g_err));
    lw_evaluator_stats_t es;
    lw_evaluator_stats(ev, &es);
    assert_int_equal(es.watch.evaluations, (uint64_t)total);
    assert_int_equal(es.watch.last_as_of_ms, sync.last_as_of_ms);
    lw_evaluator_destroy(ev);
    char *va = verdicts(f.pa), *vb = verdicts(f.pb);
    assert_string_equal(va, vb);
    free(va);
    free(vb);
    fx_close(&f);
}

static void test_no_drain(void **state)
{
    (void)state;
    fx_t f;
    fx_open(&f);
    assert_int_equal(setenv("LW_TEST_EVAL_DELAY_MS", "20", 1), 0);
    lw_evaluator_opts_t eo = {.store_target = f.pb, .cfg = f.cfg};
    lw_evaluator_t *ev = NULL;
    OK(lw_evaluator_new(&eo, NOW, &ev, g_err, sizeof g_err));
    unsetenv("LW_TEST_EVAL_DELAY_MS");
    lw_evaluator_post(ev, wm_closing(NDAYS - 1));
    OK(lw_evaluator_finish(ev, false, g_err, sizeof g_err));
    lw_evaluator_stats_t es;
    lw_evaluator_stats(ev, &es);
    assert_true(es.evaluations < NDAYS);
    assert_true(es.backlog > 0);
    /* the stored position is the last evaluation's (none when stopped before the first) */
    assert_int_equal(stored_position(f.pb), es.evaluations ? es.watch.last_as_of_ms : INT64_MIN);
    lw_evaluator_destroy(ev);

    /* a new evaluator resumes after the stored position and catches up */
    OK(lw_evaluator_new(&eo, NOW, &ev, g_err, sizeof g_err));
    lw_evaluator_post(ev, wm_closing(NDAYS - 1));
    OK(lw_evaluator_finish(ev, true, g_err, sizeof g_err));
    lw_evaluator_stats(ev, &es);
    assert_int_equal(stored_position(f.pb), T0 + (NDAYS - 1) * DAY);
    assert_true(es.evaluations > 0 && es.evaluations <= NDAYS);
    lw_evaluator_destroy(ev);
    fx_close(&f);
}

/*
 * The loss mailbox: reports replace each other (cumulative counts, nothing
 * is lost by the replacement) and reach the watcher even while the thread
 * is stopping; the alert fires once per partition and is in the store.
 */
static void test_loss_report(void **state)
{
    (void)state;
    fx_t f;
    fx_open(&f);
    lw_evaluator_opts_t eo = {.store_target = f.pa, .cfg = f.cfg};
    lw_evaluator_t *ev = NULL;
    OK(lw_evaluator_new(&eo, NOW, &ev, g_err, sizeof g_err));
    lw_alert_loss_t l[2] = {{"events", 0, 0, 10, 0, 9}, {"events", 1, 0, 0, -1, -1}};
    lw_evaluator_losses(ev, l, 2, NOW);
    l[0].lost_total = 25;
    l[1].lost_total = 3;
    lw_evaluator_losses(ev, l, 2, NOW + 1000);
    lw_evaluator_losses(ev, l, 2, NOW + 2000); /* the same counts again: nothing new */
    OK(lw_evaluator_finish(ev, true, g_err, sizeof g_err));
    lw_evaluator_stats_t es;
    lw_evaluator_stats(ev, &es);
    assert_int_equal(es.watch.firing, 2);
    assert_int_equal(es.watch.transitions, 2);
    lw_evaluator_destroy(ev);

    /* the next process loads them firing */
    lw_store_t *st = NULL;
    OK(lw_store_open(f.pa, 0, &st, g_err, sizeof g_err));
    lw_watch_deps_t wd = {.cfg = f.cfg, .store = st};
    lw_watch_t *w = NULL;
    OK(lw_watch_new(&wd, NOW + 3000, &w, g_err, sizeof g_err));
    assert_int_equal(lw_alert_state(lw_watch_alerts(w), "events", "0", LW_ALERT_COND_EVENTS_LOST),
                     LW_ALERT_FIRING);
    assert_int_equal(lw_alert_state(lw_watch_alerts(w), "events", "1", LW_ALERT_COND_EVENTS_LOST),
                     LW_ALERT_FIRING);
    lw_watch_destroy(w);
    lw_store_close(st);
    fx_close(&f);
}

/* An evaluator on a fresh store at `path` (hourly cells at the first and the 60th hour) with
 * LW_TEST_EVAL_DELAY_MS=2, and LW_TEST_EVAL_SYNC=1 when sync; returns it after a post closing
 * 20 buckets, its evaluations done by then in *done. */
static lw_evaluator_t *post_hourly(const lw_config_t *cfg, const char *path, bool sync,
                                   uint64_t *done)
{
    const int64_t H = LW_MS_PER_HOUR;
    lw_store_t *st = NULL;
    OK(lw_store_open(path, 0, &st, g_err, sizeof g_err));
    OK(lw_store_begin(st, g_err, sizeof g_err));
    OK(lw_store_add_cell(st, "y", T0, 1, 1.0, NULL, g_err, sizeof g_err));
    OK(lw_store_add_cell(st, "y", T0 + 59 * H, 1, 1.0, NULL, g_err, sizeof g_err));
    OK(lw_store_commit(st, g_err, sizeof g_err));
    lw_store_close(st);
    setenv("LW_TEST_EVAL_DELAY_MS", "2", 1);
    if (sync)
        setenv("LW_TEST_EVAL_SYNC", "1", 1);
    lw_evaluator_opts_t eo = {.store_target = path, .cfg = cfg};
    lw_evaluator_t *ev = NULL;
    OK(lw_evaluator_new(&eo, NOW, &ev, g_err, sizeof g_err));
    unsetenv("LW_TEST_EVAL_DELAY_MS");
    unsetenv("LW_TEST_EVAL_SYNC");
    lw_evaluator_post(ev, T0 + 20 * H + 1); /* closes hours 0 .. 19 */
    lw_evaluator_stats_t es;
    lw_evaluator_stats(ev, &es);
    *done = es.evaluations;
    if (sync)
        assert_int_equal(es.backlog, 0);
    return ev;
}

static void test_sync_hook(void **state)
{
    (void)state;
    const int64_t H = LW_MS_PER_HOUR;
    fx_t f = {0};
    fx_paths(&f, "evaluator_sync", CFG_HOURLY);
    uint64_t done = 0;
    lw_evaluator_t *ev = post_hourly(f.cfg, f.pa, true, &done);
    assert_int_equal(done, 20);
    for (int64_t h = 21; h <= 60; h += 13) { /* each post's buckets evaluated when it returns */
        lw_evaluator_post(ev, T0 + h * H + 1);
        lw_evaluator_stats_t es;
        lw_evaluator_stats(ev, &es);
        assert_int_equal(es.evaluations, (uint64_t)h);
        assert_int_equal(es.backlog, 0);
    }
    OK(lw_evaluator_finish(ev, true, g_err, sizeof g_err));
    lw_evaluator_destroy(ev);
    /* without the hook the post returns at once: 20 evaluations of 2 ms are not done yet */
    ev = post_hourly(f.cfg, f.pb, false, &done);
    assert_true(done < 20);
    OK(lw_evaluator_finish(ev, true, g_err, sizeof g_err));
    lw_evaluator_destroy(ev);
    fx_close(&f);
}

static void test_memory_store_refused(void **state)
{
    (void)state;
    lw_config_t *cfg = NULL;
    TU_CONFIG(CFG, &cfg);
    lw_evaluator_opts_t eo = {.store_target = ":memory:", .cfg = cfg};
    lw_evaluator_t *ev = (lw_evaluator_t *)&eo;
    assert_int_equal(lw_evaluator_new(&eo, NOW, &ev, g_err, sizeof g_err), LW_ERR_CONFIG);
    assert_null(ev);
    assert_non_null(strstr(g_err, "store file"));
    lw_config_free(cfg);
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_synchronous),
        cmocka_unit_test(test_catchup_long),
        cmocka_unit_test(test_sync_hook),
        cmocka_unit_test(test_no_drain),
        cmocka_unit_test(test_loss_report),
        cmocka_unit_test(test_memory_store_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
