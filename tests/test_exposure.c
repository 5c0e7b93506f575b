/*
 * test_exposure.c - experiment assignments and aggregates (exposure.c,
 * issue 16) through the pipeline and back through lw_exp_rows: first
 * exposure wins, conflicts counted, window bounds, distinct once per window,
 * mean and ratio parts, property families (PostHog, Amplitude), max_users,
 * and the state surviving a restart without double counting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/core/hll.h"
#include "leadwatch/ingest/pipeline.h"
#include "leadwatch/store/exp_rows.h"
#include "testutil.h"

#define NOW INT64_C(1896134400000) /* 2030-02-01 */

static const char yaml[] = "source: {format: segment}\n"
                           "store: {flush_events: 1000000, flush_interval: 1h}\n"
                           "buckets: {size: 1d, grace: 1d}\n"
                           "metrics:\n"
                           "  - {name: plays, count: true, where: {event: play}}\n"
                           "  - {name: ms, sum: properties.ms, where: {event: play}}\n"
                           "  - {name: active, distinct: user, where: {event: play}}\n"
                           "  - {name: avg_ms, mean: properties.ms, where: {event: play}}\n"
                           "  - {name: per_user, ratio: [plays, active]}\n"
                           "tree: {nsm: ms, kpi: avg_ms, inputs: [{metric: active, kind: breadth},"
                           " {metric: per_user, kind: frequency}]}\n"
                           "experiments:\n"
                           "  short_window: 2d\n"
                           "  long_window: 4d\n"
                           "  buckets: 2\n"
                           "  max_users: %d\n"
                           "  exposures:\n"
                           "    - where: {event: Experiment Viewed}\n"
                           "      experiment: properties.experiment_id\n"
                           "      variant: properties.variation_id\n"
                           "    - object: properties\n"
                           "      prefix: $feature/\n"
                           "    - object: context.traits\n"
                           "      prefix: \"[Experiment] \"\n";

typedef struct {
    char *dir, *db;
    lw_config_t *cfg;
    lw_store_t *store;
    lw_pipeline_t *p;
    int src;
    int64_t pos;
} fx_t;

static void start(fx_t *fx)
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

static void stop(fx_t *fx)
{
    char err[512];
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    lw_pipeline_destroy(fx->p);
    lw_store_close(fx->store);
}

static fx_t *fx_new(int max_users)
{
    fx_t *fx = calloc(1, sizeof *fx);
    char text[4096];
    snprintf(text, sizeof text, yaml, max_users);
    fx->dir = tu_tempdir("exposure");
    fx->db = tu_path(fx->dir, "t.db");
    TU_CONFIG(text, &fx->cfg);
    start(fx);
    return fx;
}

static void fx_free(fx_t *fx)
{
    stop(fx);
    lw_config_free(fx->cfg);
    tu_rm_rf(fx->dir);
    free(fx->dir);
    free(fx->db);
    free(fx);
}

static void feed(fx_t *fx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void feed(fx_t *fx, const char *fmt, ...)
{
    char buf[1024], err[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    lw_position_t after = {.position = ++fx->pos};
    lw_feed_outcome_t out;
    lw_reject_t reason;
    assert_int_equal(lw_pipeline_feed(fx->p, fx->src, buf, strlen(buf), &after, NOW, &out, &reason,
                                      err, sizeof err),
                     LW_OK);
    assert_int_not_equal(out, LW_FEED_REJECTED);
}

static void expose(fx_t *fx, const char *user, const char *ts, const char *exp, const char *var)
{
    feed(fx,
         "{\"event\":\"Experiment Viewed\",\"userId\":\"%s\",\"timestamp\":\"%s\","
         "\"properties\":{\"experiment_id\":\"%s\",\"variation_id\":\"%s\"}}",
         user, ts, exp, var);
}

static void play(fx_t *fx, const char *user, const char *ts, int ms)
{
    feed(fx,
         "{\"event\":\"play\",\"userId\":\"%s\",\"timestamp\":\"%s\",\"properties\":{\"ms\":%d}}",
         user, ts, ms);
}

/* Sums over user buckets of one (experiment, variant, metric, window). */
typedef struct {
    const char *exp, *var, *metric;
    lw_exp_window w;
    double users, num, den;
    int rows;
} sum_t;

static int sum_cb(void *ud, const lw_exp_row *r)
{
    sum_t *s = ud;
    if (strcmp(r->experiment, s->exp) == 0 && strcmp(r->variant, s->var) == 0 &&
        strcmp(r->metric, s->metric) == 0 && r->window == s->w) {
        s->users += r->users;
        s->num += r->num;
        s->den += r->den;
        s->rows++;
    }
    return 0;
}

static sum_t total(fx_t *fx, const char *exp, const char *var, const char *metric, lw_exp_window w)
{
    char err[512];
    sum_t s = {exp, var, metric, w, 0, 0, 0, 0};
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    assert_int_equal(lw_exp_rows(fx->store, fx->cfg, sum_cb, &s, err, sizeof err), LW_OK);
    return s;
}

static void test_first_exposure_and_windows(void **state)
{
    (void)state;
    fx_t *fx = fx_new(1000);
    play(fx, "a", "2030-01-01T00:00:00Z", 999); /* before any exposure: never counts */
    expose(fx, "a", "2030-01-01T00:00:00Z", "e1", "treatment");
    expose(fx, "b", "2030-01-01T00:00:00Z", "e1", "control");
    expose(fx, "a", "2030-01-01T05:00:00Z", "e1", "control");   /* conflict: ignored */
    expose(fx, "a", "2030-01-01T06:00:00Z", "e1", "treatment"); /* the same: nothing */
    play(fx, "a", "2030-01-01T00:00:00Z", 10);                  /* at exposure: counts */
    play(fx, "a", "2030-01-02T12:00:00Z", 20);                  /* inside both windows */
    play(fx, "a", "2030-01-03T00:00:00Z", 40);                  /* short ended (2d), long not */
    play(fx, "a", "2030-01-05T00:00:00Z", 80);                  /* both windows over */
    play(fx, "b", "2029-12-31T23:00:00Z", 5);                   /* before b's exposure */
    play(fx, "b", "2030-01-01T01:00:00Z", 7);

    sum_t s = total(fx, "e1", "treatment", "ms", LW_EXP_SHORT);
    assert_true(s.users == 1 && s.num == 30 && s.den == 1);
    s = total(fx, "e1", "treatment", "ms", LW_EXP_LONG);
    assert_true(s.users == 1 && s.num == 70 && s.den == 1);
    s = total(fx, "e1", "treatment", "active", LW_EXP_LONG); /* distinct: once per window */
    assert_true(s.num == 1 && s.den == 1);
    s = total(fx, "e1", "treatment", "avg_ms", LW_EXP_LONG); /* mean: events in den */
    assert_true(s.num == 70 && s.den == 3);
    s = total(fx, "e1", "treatment", "per_user", LW_EXP_SHORT); /* ratio: the parts */
    assert_true(s.num == 2 && s.den == 1);
    s = total(fx, "e1", "control", "ms", LW_EXP_SHORT);
    assert_true(s.users == 1 && s.num == 7);
    /* a metric outside the tree has no rows; every variant has the tree's rows */
    s = total(fx, "e1", "control", "plays", LW_EXP_SHORT);
    assert_int_equal(s.rows, 0);

    lw_pipeline_stats_t st;
    lw_pipeline_stats(fx->p, &st);
    assert_int_equal(st.exp_assigned, 2);
    assert_int_equal(st.exp_conflicts, 1);
    assert_int_equal(st.exp_dropped, 0);
    fx_free(fx);
}

static void test_restart_keeps_assignments(void **state)
{
    (void)state;
    fx_t *fx = fx_new(1000);
    expose(fx, "a", "2030-01-01T00:00:00Z", "e1", "treatment");
    play(fx, "a", "2030-01-01T01:00:00Z", 10);
    stop(fx);
    start(fx); /* the assignment and its distinct bits come back from the store */
    expose(fx, "a", "2030-01-01T02:00:00Z", "e1", "control"); /* still a conflict */
    play(fx, "a", "2030-01-01T03:00:00Z", 5);
    sum_t s = total(fx, "e1", "treatment", "active", LW_EXP_SHORT);
    assert_true(s.users == 1 && s.num == 1);
    s = total(fx, "e1", "treatment", "ms", LW_EXP_SHORT);
    assert_true(s.num == 15);
    assert_int_equal(total(fx, "e1", "control", "ms", LW_EXP_SHORT).rows, 0);
    lw_pipeline_stats_t st;
    lw_pipeline_stats(fx->p, &st);
    assert_int_equal(st.exp_assigned, 0); /* this pipeline's own count */
    assert_int_equal(st.exp_conflicts, 1);
    fx_free(fx);
}

static void test_property_families(void **state)
{
    (void)state;
    fx_t *fx = fx_new(1000);
    /* PostHog: $feature/<flag> on the event itself, other keys around it */
    feed(fx, "{\"event\":\"play\",\"userId\":\"p\",\"timestamp\":\"2030-01-01T00:00:00Z\","
             "\"properties\":{\"x\":{\"$feature/no\":\"nested\"},\"ms\":3,"
             "\"$feature/new-player\":\"test\",\"$feature/dark\":true,\"$feature/esc\\\"\":\"x\","
             "\"arr\":[1,{\"a\":\"}\"}]}}");
    /* Amplitude-style user properties with a space and brackets in the key */
    feed(fx, "{\"event\":\"play\",\"userId\":\"q\",\"timestamp\":\"2030-01-01T00:00:00Z\","
             "\"context\":{\"traits\":{\"[Experiment] onboarding\":\"control\"}},"
             "\"properties\":{\"ms\":4}}");
    sum_t s = total(fx, "new-player", "test", "ms", LW_EXP_SHORT);
    assert_true(s.users == 1 && s.num == 3); /* the exposing event counts itself */
    s = total(fx, "dark", "true", "ms", LW_EXP_SHORT);
    assert_true(s.users == 1 && s.num == 3);
    s = total(fx, "onboarding", "control", "ms", LW_EXP_SHORT);
    assert_true(s.users == 1 && s.num == 4);
    assert_int_equal(total(fx, "no", "nested", "ms", LW_EXP_SHORT).rows, 0);
    lw_pipeline_stats_t st;
    lw_pipeline_stats(fx->p, &st);
    assert_int_equal(st.exp_assigned, 3);
    fx_free(fx);
}

static void test_max_users(void **state)
{
    (void)state;
    fx_t *fx = fx_new(3);
    char u[16];
    for (int i = 0; i < 5; i++) {
        snprintf(u, sizeof u, "u%d", i);
        expose(fx, u, "2030-01-01T00:00:00Z", "e1", i % 2 ? "control" : "treatment");
        play(fx, u, "2030-01-01T01:00:00Z", 1);
    }
    lw_pipeline_stats_t st;
    lw_pipeline_stats(fx->p, &st);
    assert_int_equal(st.exp_assigned, 3);
    assert_int_equal(st.exp_dropped, 2);
    sum_t t = total(fx, "e1", "treatment", "ms", LW_EXP_SHORT);
    sum_t c = total(fx, "e1", "control", "ms", LW_EXP_SHORT);
    assert_true(t.users + c.users == 3 && t.num + c.num == 3);
    /* the user bucket is XXH3(id) mod buckets */
    fx_free(fx);
}

static int bucket_cb(void *ud, const lw_exp_row *r)
{
    int *bad = ud;
    uint64_t h = lw_hll_hash("solo", 4);
    if (strcmp(r->experiment, "e9") == 0 && r->bucket != (uint32_t)(h % 2))
        (*bad)++;
    return 0;
}

static void test_user_bucket(void **state)
{
    (void)state;
    fx_t *fx = fx_new(10);
    char err[512];
    expose(fx, "solo", "2030-01-01T00:00:00Z", "e9", "control");
    assert_int_equal(lw_pipeline_flush(fx->p, 0, err, sizeof err), LW_OK);
    int bad = 0;
    assert_int_equal(lw_exp_rows(fx->store, fx->cfg, bucket_cb, &bad, err, sizeof err), LW_OK);
    assert_int_equal(bad, 0);
    assert_int_equal(total(fx, "e9", "control", "ms", LW_EXP_LONG).rows, 1);
    fx_free(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_exposure_and_windows),
        cmocka_unit_test(test_restart_keeps_assignments),
        cmocka_unit_test(test_property_families),
        cmocka_unit_test(test_max_users),
        cmocka_unit_test(test_user_bucket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
