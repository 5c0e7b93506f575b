/*
 * test_config.c - tests for the YAML configuration parser (src/config.c).
 *
 * 1. The example from the issue parses and every resolved field is checked.
 * 2. config/leadwatch.yaml (the annotated example) loads and is valid.
 * 3. Defaults apply when sections and keys are omitted.
 * 4. A table of bad configs: each must fail with LW_ERR_CONFIG, a message
 *    that starts with exactly "t.yaml:LINE: " and contains the expected
 *    key path and complaint, on one line, and leave *out NULL.
 * 5. Generated bad configs for the bounds (metrics, paths, nodes, size).
 * 6. lw_config_load on a real temp file and on a missing file; print and
 *    describe output.
 * 7. alerts and http: defaults equal the owners' *_opts_default() when the
 *    sections are absent or empty; a full section lands in every field and
 *    the sink options point at the config's strings; errors (in the table
 *    of 4) carry the line of the offending key; header values and URL
 *    credentials appear neither in printed output nor in errors; the
 *    daemon's example config/leadwatch-kafka.yaml enables both.
 * 8. The README's configuration reference equals the describe output, and
 *    the owners' *_opts_default() (filled from the tables) give the
 *    documented values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leadwatch/alert/alert.h"
#include "leadwatch/alert/alertsink.h"
#include "leadwatch/model/config.h"
#include "leadwatch/alert/http.h"
#include "leadwatch/core/timeutil.h"

static const char issue_example[] =
    "source:\n"
    "  format: segment          # segment | amplitude | custom\n"
    "  max_event_bytes: 1048576\n"
    "  max_depth: 64\n"
    "  max_future: 1d\n"
    "store: {path: leadwatch.db, flush_events: 200000, flush_interval: 1s}\n"
    "buckets: {size: 1d, grace: 2d}\n"
    "metrics:\n"
    "  - {name: listening_minutes, sum: properties.duration_ms, scale: 1.6666666666666667e-05, "
    "where: {event: track_played}}\n"
    "  - {name: active_users, distinct: user, where: {event: [session_start, track_played]}}\n"
    "  - {name: sessions, count: true, where: {event: session_start, properties.platform: ios}}\n"
    "  - {name: minutes_per_user, ratio: [listening_minutes, active_users]}\n"
    "  - {name: revenue, sum: properties.revenue, where: {event: purchase}}\n"
    "  - {name: weekly_active_users, distinct: user, window: 7d, where: {event: session_start}}\n"
    "  - {name: avg_order, mean: properties.revenue, where: {event: purchase}}\n"
    "tree:\n"
    "  nsm: listening_minutes\n"
    "  kpi: revenue\n"
    "  inputs: [{metric: active_users, kind: breadth}, {metric: minutes_per_user, kind: "
    "depth}]\n";

static lw_config_t *parse_ok(const char *text)
{
    lw_config_t *cfg = NULL;
    char err[512] = "";
    lw_err_t rc = lw_config_parse(text, strlen(text), "t.yaml", &cfg, err, sizeof err);
    if (rc != LW_OK)
        fail_msg("expected success, got %s: %s", lw_err_name(rc), err);
    assert_non_null(cfg);
    return cfg;
}

static void assert_where(const lw_where_t *w, const char *path, size_t nvalues)
{
    assert_string_equal(w->path, path);
    assert_int_equal(w->is_event, strcmp(path, "event") == 0);
    assert_int_equal(w->nvalues, nvalues);
}

static void test_issue_example(void **state)
{
    (void)state;
    lw_config_t *cfg = parse_ok(issue_example);

    assert_string_equal(cfg->file, "t.yaml");
    assert_int_equal(cfg->source.format, LW_FMT_SEGMENT);
    assert_null(cfg->source.event_field);
    assert_null(cfg->source.user_field);
    assert_null(cfg->source.time_field);
    assert_int_equal(cfg->source.max_event_bytes, 1048576);
    assert_int_equal(cfg->source.max_depth, 64);
    assert_int_equal(cfg->source.max_future_ms, LW_MS_PER_DAY);
    assert_string_equal(cfg->store.path, "leadwatch.db");
    assert_int_equal(cfg->store.flush_events, 200000);
    assert_int_equal(cfg->store.flush_interval_ms, 1000);
    assert_int_equal(cfg->buckets.size_ms, LW_MS_PER_DAY);
    assert_int_equal(cfg->buckets.grace_ms, 2 * LW_MS_PER_DAY);

    assert_int_equal(cfg->nmetrics, 7);
    const lw_metric_def_t *m = cfg->metrics;

    assert_string_equal(m[0].name, "listening_minutes");
    assert_int_equal(m[0].kind, LW_METRIC_SUM);
    assert_string_equal(m[0].field, "properties.duration_ms");
    assert_false(m[0].field_is_user);
    assert_true(m[0].scale == 1.6666666666666667e-05);
    assert_int_equal(m[0].window_ms, 0);
    assert_int_equal(m[0].nwhere, 1);
    assert_where(&m[0].where[0], "event", 1);
    assert_int_equal(m[0].where[0].values[0].type, LW_SCALAR_STRING);
    assert_string_equal(m[0].where[0].values[0].str, "track_played");
    assert_int_equal(m[0].line, 9);

    assert_string_equal(m[1].name, "active_users");
    assert_int_equal(m[1].kind, LW_METRIC_DISTINCT);
    assert_string_equal(m[1].field, "user");
    assert_true(m[1].field_is_user);
    assert_true(m[1].scale == 1.0);
    assert_int_equal(m[1].nwhere, 1);
    assert_where(&m[1].where[0], "event", 2);
    assert_string_equal(m[1].where[0].values[0].str, "session_start");
    assert_string_equal(m[1].where[0].values[1].str, "track_played");

    assert_string_equal(m[2].name, "sessions");
    assert_int_equal(m[2].kind, LW_METRIC_COUNT);
    assert_null(m[2].field);
    assert_int_equal(m[2].nwhere, 2);
    assert_where(&m[2].where[0], "event", 1);
    assert_where(&m[2].where[1], "properties.platform", 1);
    assert_false(m[2].where[1].is_event);
    assert_string_equal(m[2].where[1].values[0].str, "ios");

    assert_string_equal(m[3].name, "minutes_per_user");
    assert_int_equal(m[3].kind, LW_METRIC_RATIO);
    assert_int_equal(m[3].ratio_num, 0);
    assert_int_equal(m[3].ratio_den, 1);
    assert_int_equal(m[3].nwhere, 0);
    assert_null(m[3].where);

    assert_string_equal(m[4].name, "revenue");
    assert_int_equal(m[4].kind, LW_METRIC_SUM);
    assert_string_equal(m[4].field, "properties.revenue");
    assert_true(m[4].scale == 1.0);
    assert_int_equal(m[4].ratio_num, -1);

    assert_string_equal(m[5].name, "weekly_active_users");
    assert_int_equal(m[5].kind, LW_METRIC_DISTINCT);
    assert_true(m[5].field_is_user);
    assert_int_equal(m[5].window_ms, 7 * LW_MS_PER_DAY);

    assert_string_equal(m[6].name, "avg_order");
    assert_int_equal(m[6].kind, LW_METRIC_MEAN);
    assert_string_equal(m[6].field, "properties.revenue");
    assert_int_equal(m[6].line, 15);

    assert_int_equal(cfg->tree.nsm, 0);
    assert_int_equal(cfg->tree.kpi, 4);
    assert_int_equal(cfg->tree.ninputs, 2);
    assert_int_equal(cfg->tree.inputs[0].metric, 1);
    assert_int_equal(cfg->tree.inputs[0].kind, LW_INPUT_BREADTH);
    assert_int_equal(cfg->tree.inputs[1].metric, 3);
    assert_int_equal(cfg->tree.inputs[1].kind, LW_INPUT_DEPTH);

    assert_int_equal(lw_config_metric_index(cfg, "revenue"), 4);
    assert_int_equal(lw_config_metric_index(cfg, "avg_order"), 6);
    assert_int_equal(lw_config_metric_index(cfg, "nope"), -1);
    lw_config_free(cfg);
}

static void test_annotated_example(void **state)
{
    (void)state;
    char path[4096], err[512] = "";
    const char *src = getenv("LW_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/config/leadwatch.yaml", src ? src : LW_SOURCE_DIR);
    lw_config_t *cfg = NULL;
    lw_err_t rc = lw_config_load(path, &cfg, err, sizeof err);
    if (rc != LW_OK)
        fail_msg("%s", err);
    assert_string_equal(cfg->file, path);
    assert_int_equal(cfg->source.format, LW_FMT_SEGMENT);
    assert_string_equal(cfg->metrics[cfg->tree.nsm].name, "listening_minutes");
    assert_true(cfg->tree.kpi >= 0);
    assert_string_equal(cfg->metrics[cfg->tree.kpi].name, "revenue");
    assert_true(cfg->tree.ninputs >= 3 && cfg->tree.ninputs <= 5);
    int i = lw_config_metric_index(cfg, "sessions_per_user");
    assert_true(i >= 0);
    assert_int_equal(cfg->metrics[i].kind, LW_METRIC_RATIO);
    assert_string_equal(cfg->metrics[cfg->metrics[i].ratio_num].name, "sessions");
    assert_string_equal(cfg->metrics[cfg->metrics[i].ratio_den].name, "active_users");
    bool has_frequency = false;
    for (size_t k = 0; k < cfg->tree.ninputs; k++)
        if (cfg->tree.inputs[k].metric == i)
            has_frequency = cfg->tree.inputs[k].kind == LW_INPUT_FREQUENCY;
    assert_true(has_frequency);
    lw_config_free(cfg);
}

static void test_analysis_section(void **state)
{
    (void)state;
    lw_config_t *cfg = parse_ok("metrics: [{name: a, count: true}, {name: b, sum: x}]\n"
                                "tree: {nsm: a, inputs: [{metric: b, kind: depth}]}\n");
    lw_analyze_opts_t def;
    lw_analyze_opts_default(&def);
    assert_int_equal(cfg->analysis.max_lag, def.max_lag);
    assert_int_equal(cfg->analysis.transform, def.transform);
    assert_int_equal(cfg->analysis.seasonal, LW_SEASONAL_WEEKLY);
    assert_true(cfg->analysis.alpha == def.alpha);
    assert_true(cfg->analysis.mde_threshold == def.mde_threshold);
    assert_int_equal(cfg->analysis.ic, def.ic);
    assert_int_equal(cfg->analysis_window, 0);
    assert_true(cfg->analysis_full_every_ms == LW_MS_PER_DAY); /* issue 17's default */
    lw_config_free(cfg);

    /* full_every: a multiple of the bucket size; absent under weekly buckets = every close */
    cfg = parse_ok("metrics: [{name: a, count: true}, {name: b, sum: x}]\n"
                   "tree: {nsm: a, inputs: [{metric: b, kind: depth}]}\n"
                   "buckets: {size: 1h}\nanalysis: {full_every: 6h}\n");
    assert_true(cfg->analysis_full_every_ms == 6 * LW_MS_PER_HOUR);
    lw_config_free(cfg);
    cfg = parse_ok("metrics: [{name: a, count: true}, {name: b, sum: x}]\n"
                   "tree: {nsm: a, inputs: [{metric: b, kind: depth}]}\n"
                   "buckets: {size: 1w}\n");
    assert_true(cfg->analysis_full_every_ms == 7 * LW_MS_PER_DAY);
    lw_config_free(cfg);

    cfg = parse_ok("metrics: [{name: a, count: true}, {name: b, sum: x}]\n"
                   "tree: {nsm: a, inputs: [{metric: b, kind: depth}]}\n"
                   "analysis: {max_lag: 28, transform: log_diff, seasonal: 24, alpha: 0.1,\n"
                   "           window: 365, stability_window: 60, ic: bic, mde_threshold: 0.2,\n"
                   "           mde_horizon: 7}\n");
    assert_int_equal(cfg->analysis.max_lag, 28);
    assert_int_equal(cfg->analysis.transform, LW_TRANSFORM_LOG_DIFF);
    assert_int_equal(cfg->analysis.seasonal, LW_SEASONAL_PERIOD);
    assert_int_equal(cfg->analysis.seasonal_period, 24);
    assert_true(cfg->analysis.alpha == 0.1);
    assert_int_equal(cfg->analysis.window, 60);
    assert_int_equal(cfg->analysis_window, 365);
    assert_int_equal(cfg->analysis.ic, LW_IC_BIC);
    assert_true(cfg->analysis.mde_threshold == 0.2);
    assert_int_equal(cfg->analysis.mde_horizon, 7);
    lw_config_free(cfg);

    /* issue 11: the controls (in the tree), holidays, gaps and outliers (analysis) */
    assert_int_equal(def.max_gap, 3);
    assert_true(def.outlier_mad == 5.0);
    assert_int_equal(def.nholidays, 0);
    assert_int_equal(def.ncontrols, 0);
    cfg = parse_ok("metrics: [{name: a, count: true}, {name: b, sum: x}, {name: c, count: true}]\n"
                   "analysis: {holidays: [2025-12-25, 2026-01-01], max_gap: 0, outlier_mad: 0}\n"
                   "tree: {nsm: a, inputs: [{metric: b, kind: depth}], controls: [c]}\n");
    assert_int_equal(cfg->analysis.nholidays, 2);
    assert_string_equal(cfg->analysis.holidays[1], "2026-01-01");
    assert_int_equal(cfg->analysis.max_gap, 0);
    assert_true(cfg->analysis.outlier_mad == 0.0);
    assert_int_equal(cfg->analysis.ncontrols, 1);
    assert_string_equal(cfg->analysis.controls[0], "c");
    lw_config_free(cfg);

    cfg = parse_ok("metrics: [{name: a, count: true}, {name: b, sum: x}]\n"
                   "tree: {nsm: a, inputs: [{metric: b, kind: depth}]}\n"
                   "analysis: {seasonal: none}\n");
    assert_int_equal(cfg->analysis.seasonal, LW_SEASONAL_NONE);
    lw_config_free(cfg);
}

static void test_defaults(void **state)
{
    (void)state;
    lw_config_t *cfg = parse_ok("source: {format: amplitude}\n"
                                "metrics: [{name: a, count: true}, {name: b, sum: x}]\n"
                                "tree: {nsm: a, inputs: [{metric: b, kind: frequency}]}\n");
    assert_int_equal(cfg->source.format, LW_FMT_AMPLITUDE);
    assert_int_equal(cfg->source.max_event_bytes, 1048576);
    assert_int_equal(cfg->source.max_depth, 64);
    assert_int_equal(cfg->source.max_future_ms, LW_MS_PER_DAY);
    assert_string_equal(cfg->store.path, "leadwatch.db");
    assert_int_equal(cfg->store.flush_events, 200000);
    assert_int_equal(cfg->store.flush_interval_ms, 1000);
    assert_int_equal(cfg->buckets.size_ms, LW_MS_PER_DAY);
    assert_int_equal(cfg->buckets.grace_ms, 2 * LW_MS_PER_DAY);
    assert_true(cfg->metrics[1].scale == 1.0);
    assert_int_equal(cfg->metrics[0].nwhere, 0);
    assert_int_equal(cfg->tree.kpi, -1);
    assert_int_equal(cfg->tree.inputs[0].kind, LW_INPUT_FREQUENCY);
    lw_config_free(cfg);

    /* no source section at all: Segment with the default limits */
    cfg = parse_ok("metrics: [{name: a, count: true}, {name: b, sum: x}]\n"
                   "tree: {nsm: a, inputs: [{metric: b, kind: depth}]}\n");
    assert_int_equal(cfg->source.format, LW_FMT_SEGMENT);
    assert_int_equal(cfg->source.max_event_bytes, 1048576);
    lw_config_free(cfg);
}

static void test_custom_and_overrides(void **state)
{
    (void)state;
    /* sections in an unusual order: tree before metrics, buckets after metrics */
    lw_config_t *cfg =
        parse_ok("tree:\n"
                 "  nsm: r\n"
                 "  inputs:\n"
                 "    - {metric: u, kind: efficiency}\n"
                 "metrics:\n"
                 "  - {name: r, ratio: [s, u]}\n" /* forward references */
                 "  - {name: s, sum: payload.amount, scale: -2.5}\n"
                 "  - {name: u, distinct: payload.account.id, window: 3w}\n"
                 "source:\n"
                 "  format: custom\n"
                 "  fields: {event: meta.type, user: meta.actor.id, time: meta.ts}\n"
                 "  max_event_bytes: 4096\n"
                 "  max_depth: 8\n"
                 "  max_future: 5m\n"
                 "store: {path: \"/var/lib/lw/x.db\", flush_events: 1e6, flush_interval: 1h}\n"
                 "buckets: {size: 1w, grace: 0}\n");
    assert_int_equal(cfg->source.format, LW_FMT_CUSTOM);
    assert_string_equal(cfg->source.event_field, "meta.type");
    assert_string_equal(cfg->source.user_field, "meta.actor.id");
    assert_string_equal(cfg->source.time_field, "meta.ts");
    assert_int_equal(cfg->source.max_event_bytes, 4096);
    assert_int_equal(cfg->source.max_depth, 8);
    assert_int_equal(cfg->source.max_future_ms, 5 * 60000);
    assert_string_equal(cfg->store.path, "/var/lib/lw/x.db");
    assert_int_equal(cfg->store.flush_events, 1000000);
    assert_int_equal(cfg->store.flush_interval_ms, LW_MS_PER_HOUR);
    assert_int_equal(cfg->buckets.size_ms, LW_MS_PER_WEEK);
    assert_int_equal(cfg->buckets.grace_ms, 0);
    assert_int_equal(cfg->metrics[0].kind, LW_METRIC_RATIO);
    assert_int_equal(cfg->metrics[0].ratio_num, 1);
    assert_int_equal(cfg->metrics[0].ratio_den, 2);
    assert_true(cfg->metrics[1].scale == -2.5);
    assert_string_equal(cfg->metrics[2].field, "payload.account.id");
    assert_false(cfg->metrics[2].field_is_user);
    assert_int_equal(cfg->metrics[2].window_ms, 3 * LW_MS_PER_WEEK);
    assert_int_equal(cfg->tree.nsm, 0);
    assert_int_equal(cfg->tree.inputs[0].metric, 2);
    assert_int_equal(cfg->tree.inputs[0].kind, LW_INPUT_EFFICIENCY);
    lw_config_free(cfg);
}

/* Plain scalars are typed by the YAML 1.2 core schema; quoted ones are strings. */
static void test_where_scalar_typing(void **state)
{
    (void)state;
    lw_config_t *cfg = parse_ok("source: {format: segment}\n"
                                "metrics:\n"
                                "  - name: a\n"
                                "    count: true\n"
                                "    where:\n"
                                "      p.bool: [true, False, \"true\"]\n"
                                "      p.num: [42, -1.5e3, .5, \"42\", '7']\n"
                                "      p.null: [null, ~, \"null\"]\n"
                                "      p.str: [ios, yes, 0x1F, 1.2.3]\n"
                                "      event: \"404\"\n"
                                "  - {name: b, count: true}\n"
                                "tree: {nsm: a, inputs: [{metric: b, kind: breadth}]}\n");
    const lw_metric_def_t *m = &cfg->metrics[0];
    assert_int_equal(m->nwhere, 5);
    const lw_scalar_t *v = m->where[0].values;
    assert_int_equal(m->where[0].nvalues, 3);
    assert_int_equal(v[0].type, LW_SCALAR_BOOL);
    assert_true(v[0].b);
    assert_int_equal(v[1].type, LW_SCALAR_BOOL);
    assert_false(v[1].b);
    assert_int_equal(v[2].type, LW_SCALAR_STRING);
    assert_string_equal(v[2].str, "true");

    v = m->where[1].values;
    assert_int_equal(m->where[1].nvalues, 5);
    assert_int_equal(v[0].type, LW_SCALAR_NUMBER);
    assert_true(v[0].num == 42.0);
    assert_int_equal(v[1].type, LW_SCALAR_NUMBER);
    assert_true(v[1].num == -1500.0);
    assert_int_equal(v[2].type, LW_SCALAR_NUMBER);
    assert_true(v[2].num == 0.5);
    assert_int_equal(v[3].type, LW_SCALAR_STRING);
    assert_string_equal(v[3].str, "42");
    assert_int_equal(v[4].type, LW_SCALAR_STRING);
    assert_string_equal(v[4].str, "7");

    v = m->where[2].values;
    assert_int_equal(v[0].type, LW_SCALAR_NULL);
    assert_int_equal(v[1].type, LW_SCALAR_NULL);
    assert_int_equal(v[2].type, LW_SCALAR_STRING);

    v = m->where[3].values;
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(v[i].type, LW_SCALAR_STRING);
    assert_string_equal(v[1].str, "yes");
    assert_string_equal(v[2].str, "0x1F");

    assert_true(m->where[4].is_event);
    assert_string_equal(m->where[4].values[0].str, "404");
    lw_config_free(cfg);
}

/* ------------------------------------------------------ bad configs */

#define SRC "source: {format: segment}\n"
#define MET "metrics:\n  - {name: a, count: true}\n  - {name: b, distinct: user}\n"
#define TREE "tree: {nsm: a, inputs: [{metric: b, kind: breadth}]}\n"
#define MET3(third) "metrics:\n  - {name: a, count: true}\n  - {name: b, distinct: user}\n" third

typedef struct {
    const char *text;
    int line;
    const char *expect; /* substring after "t.yaml:LINE: " */
} bad_case_t;

static const bad_case_t bad_cases[] = {
    /* unknown keys at every level */
    {SRC MET TREE "alerting: {}\n", 6, "alerting: unknown key (expected one of: source, store"},
    /* analysis */
    {SRC MET TREE "analysis: {max_lag: 0}\n", 6, "analysis.max_lag:"},
    {SRC MET TREE "analysis: {max_lag: 61}\n", 6, "analysis.max_lag:"},
    {SRC MET TREE "analysis: {transform: logs}\n", 6, "analysis.transform:"},
    {SRC MET TREE "analysis:\n  seasonal: monthly\n", 7,
     "analysis.seasonal: expected none, weekly"},
    {SRC MET TREE "analysis:\n  seasonal: 1\n", 7, "analysis.seasonal:"},
    {SRC MET TREE "analysis:\n  alpha: 0.9\n", 6, "analysis: alpha"},
    {SRC MET TREE "analysis:\n  ic: hqic\n", 7, "analysis.ic:"},
    {SRC MET TREE "analysis:\n  mde_power: 1.5\n", 6, "analysis: "},
    {SRC MET TREE "analysis:\n  lags: 3\n", 7, "analysis.lags: unknown key"},
    /* issue 11: holidays, gaps, outliers, controls */
    {SRC MET TREE "analysis:\n  holidays: [2025-12-25, 2025-02-30]\n", 7,
     "analysis.holidays[1]: holidays: '2025-02-30' is not a date YYYY-MM-DD"},
    {SRC MET TREE "analysis:\n  holidays: 2025-12-25\n", 7, "analysis.holidays: expected a list"},
    {SRC MET TREE "analysis:\n  max_gap: 61\n", 7, "analysis.max_gap:"},
    {SRC MET TREE "analysis:\n  outlier_mad: 1\n", 6, "analysis: outlier_mad"},
    {SRC MET3("  - {name: c, count: true}\n") "tree: {nsm: a, inputs: [{metric: b, kind: "
                                              "breadth}],\n       controls: [c, zz]}\n",
     7, "tree.controls[1]: unknown metric \"zz\""},
    {SRC MET3("  - {name: c, count: true}\n") "tree: {nsm: a, inputs: [{metric: b, kind: "
                                              "breadth}],\n       controls: [c, c]}\n",
     7, "tree.controls[1]: controls: 'c' listed twice"},
    {SRC MET3("  - {name: c, count: true}\n") "tree:\n  nsm: a\n  inputs: [{metric: b, kind: "
                                              "breadth}]\n  controls: [a]\n",
     9, "tree.controls: \"a\" is the NSM"},
    /* alerts: each kind of error, on the line of the offending key */
    {SRC MET TREE "alerts:\n  on: [no_longer_leads, stops_leading]\n", 7,
     "alerts.on[1]: unknown condition \"stops_leading\" (expected any of: no_longer_leads, "
     "reverse, kpi_link_lost, not_sensitive)"},
    {SRC MET TREE "alerts:\n  on: [pipeline_stalled]\n", 7,
     "alerts.on[0]: unknown condition \"pipeline_stalled\" (expected any of: no_longer_leads, "
     "reverse, kpi_link_lost, not_sensitive); the pipeline-stall alert is always on"},
    {SRC MET TREE "alerts:\n  on: [reverse, reverse]\n", 7,
     "alerts.on[1]: condition \"reverse\" listed twice"},
    {SRC MET TREE "alerts:\n  on: reverse\n", 7,
     "alerts.on: expected a list of conditions (any of no_longer_leads"},
    {SRC MET TREE "alerts:\n  on: [7]\n", 7,
     "alerts.on[0]: expected a condition name, got a number"},
    {SRC MET TREE "alerts:\n  alertmanager: {url: \"ftp://am:9093\"}\n", 7,
     "alerts.alertmanager.url: expected an http:// or https:// URL"},
    {SRC MET TREE "alerts:\n  alertmanager: {url: \"127.0.0.1:9093\"}\n", 7,
     "alerts.alertmanager.url: expected an http:// or https:// URL"},
    {SRC MET TREE "alerts:\n  webhook:\n    url: \"http://\"\n", 8,
     "alerts.webhook.url: the URL has no host"},
    {SRC MET TREE "alerts:\n  webhook:\n    url: \"http://h/a b\"\n", 8,
     "alerts.webhook.url: the URL contains a space"},
    {SRC MET TREE "alerts:\n  external_url: report.example\n", 7,
     "alerts.external_url: expected an http:// or https:// URL"},
    {SRC MET TREE "alerts:\n  alertmanager: {}\n", 7,
     "alerts.alertmanager.url: required key is missing"},
    {SRC MET TREE "alerts:\n  webhook: {receiver: x}\n", 7,
     "alerts.webhook.url: required key is missing"},
    {SRC MET TREE "alerts:\n  kafka: {topic: \"\"}\n", 7,
     "alerts.kafka.topic: expected a string, got an empty string"},
    {SRC MET TREE "alerts:\n  timeout: 5 seconds\n", 7,
     "alerts.timeout: invalid duration \"5 seconds\""},
    {SRC MET TREE "alerts:\n  resend: 60\n", 7, "alerts.resend: invalid duration \"60\""},
    {SRC MET TREE "alerts:\n  stall: {no_events_for: soon}\n", 7,
     "alerts.stall.no_events_for: invalid duration \"soon\""},
    {SRC MET TREE "alerts:\n  timeout: 50ms\n", 7,
     "alerts.timeout: 50ms is out of range [100ms, 2m]"},
    {SRC MET TREE "alerts:\n  for: 1000001\n", 7,
     "alerts.for: 1000001 is out of range [0, 1000000]"},
    {SRC MET TREE "alerts:\n  keep_firing_for: -1\n", 7,
     "alerts.keep_firing_for: -1 is out of range [0, 1000000]"},
    {SRC MET TREE "alerts:\n  max_alerts: 4\n", 7,
     "alerts.max_alerts: 4 is out of range [8, 4096]"},
    {SRC MET TREE "alerts:\n  queue_max: 0\n", 7, "alerts.queue_max: 0 is out of range [1, 65536]"},
    {SRC MET TREE "alerts:\n  max_batch: 1001\n", 7,
     "alerts.max_batch: 1001 is out of range [1, 1000]"},
    {SRC MET TREE "alerts:\n  stall: {missing_buckets: 401}\n", 7,
     "alerts.stall.missing_buckets: 401 is out of range [0, 400]"},
    {SRC MET TREE "alerts:\n  stall: {no_events_for: 500ms}\n", 7,
     "alerts.stall.no_events_for: 500ms is out of range [1s, 30d]"},
    {SRC MET TREE "alerts:\n  backoff:\n    initial: 2m\n    max: 1m\n", 9,
     "alerts.backoff.max: 1m is below initial 2m"},
    {SRC MET TREE "alerts:\n  backoff:\n    initial: 2m\n", 7,
     "alerts.backoff.max: 1m is below initial 2m"},
    {SRC MET TREE "alerts:\n  evaluate: yes\n", 7,
     "alerts.evaluate: expected true or false, got a string"},
    {SRC MET TREE "alerts:\n  colour: red\n", 7,
     "alerts.colour: unknown key (expected one of: evaluate, for, arm_after, keep_firing_for, "
     "monitor, monitor_alpha, on"},
    {SRC MET TREE "alerts:\n  webhook: {url: \"http://h\", token: x}\n", 7,
     "alerts.webhook.token: unknown key (expected one of: url, headers, receiver)"},
    {SRC MET TREE "alerts:\n  stall: {lag: 5}\n", 7, "alerts.stall.lag: unknown key"},
    {SRC MET TREE "alerts:\n  webhook:\n    url: \"http://h\"\n    headers:\n"
                  "      X-Token: \"abc\\r\\nX-Evil: 1\"\n",
     10, "alerts.webhook.headers.X-Token: the value contains a line break (not shown"},
    {SRC MET TREE "alerts:\n  webhook:\n    url: \"http://h\"\n    headers:\n"
                  "      X-Token: \"abc\\ndef\"\n",
     10, "alerts.webhook.headers.X-Token: the value contains a line break"},
    {SRC MET TREE "alerts:\n  webhook:\n    url: \"http://h\"\n    headers:\n"
                  "      X-Token: \"a\\x01\"\n",
     10, "alerts.webhook.headers.X-Token: the value contains a control character"},
    {SRC MET TREE "alerts:\n  webhook:\n    url: \"http://h\"\n    headers:\n"
                  "      \"Bad Name\": x\n",
     10, "alerts.webhook.headers.Bad Name: header name \"Bad Name\" may only contain"},
    {SRC MET TREE "alerts:\n  webhook:\n    url: \"http://h\"\n    headers:\n"
                  "      X-A: x\n      x-a: y\n",
     11, "alerts.webhook.headers.x-a: header given twice"},
    {SRC MET TREE "alerts:\n  webhook:\n    url: \"http://h\"\n    headers:\n"
                  "      X-A: ~\n",
     10, "alerts.webhook.headers.X-A: expected a header value, got null"},
    {SRC MET TREE "alerts:\n  webhook:\n    url: \"http://h\"\n    headers:\n"
                  "      content-length: 5\n",
     10, "alerts.webhook.headers.content-length: Content-Length is set by leadwatch"},
    {SRC MET TREE "alerts:\n  webhook: {url: \"http://h\", headers: [a]}\n", 7,
     "alerts.webhook.headers: expected a mapping of header names to values, got a list"},
    {SRC MET TREE "alerts: [x]\n", 6, "alerts: expected a mapping, got a list"},
    /* http */
    {SRC MET TREE "http:\n  max_connections: 0\n", 7,
     "http.max_connections: 0 is out of range [1, 10000]"},
    {SRC MET TREE "http:\n  timeout: 1500ms\n", 7,
     "http.timeout: 1500ms is not a whole number of seconds"},
    {SRC MET TREE "http:\n  timeout: 2h\n", 7, "http.timeout: 2h is out of range [1s, 1h]"},
    {SRC MET TREE "http:\n  max_response: 1024\n", 7,
     "http.max_response: 1024 is out of range [65536, 268435456]"},
    {SRC MET TREE "http:\n  max_connections: 8\n  listen: \"0.0.0.0\"\n", 8,
     "http.listen: \"0.0.0.0\" is not host:port"},
    {SRC MET TREE "http:\n  listen: \"example.com:80\"\n", 7, "http.listen: "},
    {SRC MET TREE "http:\n  port: 9464\n", 7,
     "http.port: unknown key (expected one of: listen, max_connections, timeout, max_response, "
     "ready_broker_timeout)"},
    {"source: {format: segment, kafka: 5}\n" MET TREE, 1,
     "source.kafka: expected a mapping of librdkafka properties, got a number"},
    /* source.kafka / topics / dead_letter_topic (the daemon's keys) */
    {"source:\n  kafka: {bootstrap.servers: x, no.such.property: 1}\n" MET TREE, 2,
     "source.kafka.no.such.property: No such configuration property"},
    {"source:\n  kafka:\n    group.id: a\n    group.id: b\n" MET TREE, 4,
     "source.kafka.group.id: duplicate key (first given at line 3)"},
    {"source:\n  kafka: {group.id: ~}\n" MET TREE, 2, "source.kafka.group.id: expected a value"},
    {"source:\n  kafka: {session.timeout.ms: lots}\n" MET TREE, 2,
     "source.kafka.session.timeout.ms: Invalid value"},
    {"source:\n  kafka: {group.id: [a]}\n" MET TREE, 2,
     "source.kafka.group.id: expected a value (string, number or boolean), got a list"},
    {"source:\n  topics: events\n" MET TREE, 2,
     "source.topics: expected a list of topic names, got a string"},
    {"source:\n  topics: []\n" MET TREE, 2, "source.topics: empty list"},
    {"source:\n  topics: [a, b, a]\n" MET TREE, 2, "source.topics[2]: topic \"a\" listed twice"},
    {"source:\n  topics: [a, 42]\n" MET TREE, 2,
     "source.topics[1]: expected a topic name, got a number"},
    {"source:\n  dead_letter_topic: \"\"\n" MET TREE, 2,
     "source.dead_letter_topic: expected a string, got an empty string"},
    {SRC "store: {path: x.db, fsync: true}\n" MET TREE, 2, "store.fsync: unknown key"},
    {SRC "buckets:\n  size: 1d\n  align: monday\n" MET TREE, 4, "buckets.align: unknown key"},
    {SRC "metrics:\n  - {name: a, count: true, colour: red}\n  - {name: b, distinct: user}\n" TREE,
     3, "metrics[0].colour: unknown key"},
    {SRC MET "tree: {nsm: a, alerts: [], inputs: [{metric: b, kind: breadth}]}\n", 5,
     "tree.alerts: unknown key"},
    {SRC MET "tree: {nsm: a, inputs: [{metric: b, kind: breadth, weight: 2}]}\n", 5,
     "tree.inputs[0].weight: unknown key"},
    {"source:\n  format: custom\n  fields: {event: e, user: u, time: t, ts: x}\n" MET TREE, 3,
     "source.fields.ts: unknown key"},
    /* wrong types and bounds */
    {"source: {format: segment, max_depth: deep}\n" MET TREE, 1,
     "source.max_depth: expected a whole number, got a string \"deep\""},
    {"source: {format: segment, max_depth: 0}\n" MET TREE, 1,
     "source.max_depth: 0 is out of range [1, 1024]"},
    {"source: {format: segment, max_event_bytes: [1]}\n" MET TREE, 1,
     "source.max_event_bytes: expected a whole number, got a list"},
    {SRC "store: {path: 123}\n" MET TREE, 2,
     "store.path: expected a string, got a number (quote it"},
    {SRC "store: {path: }\n" MET TREE, 2, "store.path: expected a string, got null"},
    {SRC "store: {flush_events: \"100\"}\n" MET TREE, 2,
     "store.flush_events: expected a whole number, got a string"},
    {SRC "store:\n  flush_events: 0\n" MET TREE, 3,
     "store.flush_events: 0 is out of range [1, 10000000]"},
    {SRC "store:\n  flush_events: 10000001\n" MET TREE, 3, "store.flush_events: 10000001 is out"},
    {SRC "store: {flush_events: 1.5}\n" MET TREE, 2, "store.flush_events: expected a whole number"},
    {SRC "store: {flush_interval: 2h}\n" MET TREE, 2,
     "store.flush_interval: 2h is out of range [1s, 1h]"},
    {SRC "buckets: {grace: 2 days}\n" MET TREE, 2, "buckets.grace: invalid duration \"2 days\""},
    {SRC "buckets: {grace: -1d}\n" MET TREE, 2, "buckets.grace: invalid duration \"-1d\""},
    {"source: {format: segment, max_future: 5}\n" MET TREE, 1,
     "source.max_future: invalid duration \"5\""},
    {SRC "buckets: {size: 2d}\n" MET TREE, 2, "buckets.size: bucket size must be 1h, 1d or 1w"},
    {SRC "buckets: {size: true}\n" MET TREE, 2, "buckets.size: invalid duration \"true\""},
    {"source: {format: kafka}\n" MET TREE, 1, "source.format: unknown format \"kafka\""},
    {"source: segment\n" MET TREE, 1, "source: expected a mapping, got a string"},
    {"source: {format: [segment]}\n" MET TREE, 1, "source.format: expected an event format"},
    /* metrics */
    {SRC "metrics:\n  - {name: a, count: true}\n  - {name: a, distinct: user}\n" TREE, 4,
     "metrics[1].name: duplicate metric \"a\" (first defined at line 3)"},
    {SRC MET3("  - {name: r, ratio: [a, foo]}\n") TREE, 5,
     "metrics[2].ratio: unknown metric \"foo\""},
    {SRC MET3("  - {name: r, ratio: [r, a]}\n") TREE, 5,
     "metrics[2].ratio: metric \"r\" cannot be a ratio of itself"},
    {SRC MET3("  - {name: r1, ratio: [r2, a]}\n  - {name: r2, ratio: [b, r3]}\n"
              "  - {name: r3, ratio: [r1, a]}\n") TREE,
     7, "metrics[4].ratio: cycle through ratios: r1 -> r2 -> r3 -> r1"},
    {SRC MET3("  - {name: r, ratio: [a]}\n") TREE, 5,
     "metrics[2].ratio: expected a list of two metric names"},
    {SRC MET3("  - {name: r, ratio: a/b}\n") TREE, 5,
     "metrics[2].ratio: expected a list of two metric names [numerator, denominator], got a "
     "string"},
    {SRC MET3("  - {name: r, ratio: [a, 5]}\n") TREE, 5,
     "metrics[2].ratio: expected a metric name, got a number"},
    {SRC MET3("  - name: r\n    ratio: [a, b]\n    where: {event: x}\n") TREE, 7,
     "metrics[2].where: not allowed on a ratio"},
    {SRC "metrics:\n  - name: a\n    count: true\n    sum: x\n  - {name: b, count: true}\n" TREE, 5,
     "metrics[0].sum: a metric has exactly one kind, but \"count\" is also given (line 4)"},
    {SRC "metrics:\n  - {name: a, mean: x, distinct: user}\n  - {name: b, count: true}\n" TREE, 3,
     "metrics[0].distinct: a metric has exactly one kind"},
    {SRC "metrics:\n  - {name: a}\n  - {name: b, count: true}\n" TREE, 3,
     "metrics[0]: metric \"a\" has no kind"},
    {SRC "metrics:\n  - {count: true}\n  - {name: b, count: true}\n" TREE, 3,
     "metrics[0].name: required key is missing"},
    {SRC "metrics:\n  - {name: a, count: false}\n  - {name: b, count: true}\n" TREE, 3,
     "metrics[0].count: must be true"},
    {SRC "metrics:\n  - {name: Active-Users, count: true}\n" TREE, 3,
     "metrics[0].name: name may only contain a-z, 0-9 and _: \"Active-Users\""},
    {SRC "metrics:\n  - {name: "
         "a1234567890123456789012345678901234567890123456789012345678901234, count: true}\n" TREE,
     3, "metrics[0].name: name longer than 64 characters"},
    {SRC "metrics:\n  - {name: 42, count: true}\n" TREE, 3,
     "metrics[0].name: expected a string, got a number"},
    {SRC "metrics: []\n" TREE, 2, "metrics: at least one metric is required"},
    {SRC "metrics: {a: 1}\n" TREE, 2, "metrics: expected a list of metrics, got a mapping"},
    {SRC "metrics:\n  - a\n" TREE, 3, "metrics[0]: expected a mapping, got a string"},
    {SRC TREE, 1, "metrics: required key is missing"},
    {SRC MET3("  - {name: c, count: true, scale: 2}\n") TREE, 5,
     "metrics[2].scale: only allowed on sum and mean metrics, not count"},
    {SRC MET3("  - {name: c, sum: x, scale: .inf}\n") TREE, 5,
     "metrics[2].scale: must be a finite number"},
    {SRC MET3("  - {name: c, sum: x, scale: 1e999}\n") TREE, 5,
     "metrics[2].scale: must be a finite number"},
    {SRC MET3("  - {name: c, mean: x, scale: \"2\"}\n") TREE, 5,
     "metrics[2].scale: expected a number, got a string"},
    {SRC MET3("  - {name: c, sum: x, window: 7d}\n") TREE, 5,
     "metrics[2].window: only allowed on distinct metrics, not sum"},
    {SRC MET3("  - {name: c, distinct: user, window: 36h}\n") TREE, 5,
     "metrics[2].window: 36h is not a multiple of the bucket size 1d"},
    {SRC "buckets: {size: 1h}\n" MET3("  - {name: c, distinct: user, window: 30m}\n") TREE, 6,
     "metrics[2].window: 30m is not a multiple of the bucket size 1h"},
    {SRC "buckets: {size: 1h}\nanalysis: {full_every: 90m}\n" MET3("") TREE, 3,
     "analysis.full_every: 90m is not a multiple of the bucket size 1h"},
    {SRC "analysis:\n  window: 90\n  full_every: 36h\n" MET3("") TREE, 4,
     "analysis.full_every: 36h is not a multiple of the bucket size 1d"},
    {SRC MET3("  - {name: c, distinct: user, window: 401d}\n") TREE, 5,
     "metrics[2].window: 401d spans more than 400 buckets of 1d"},
    {SRC MET3("  - {name: c, distinct: user, window: 0}\n") TREE, 5,
     "metrics[2].window: 0 is out of range"},
    /* paths */
    {SRC MET3("  - {name: c, sum: properties..x}\n") TREE, 5,
     "metrics[2].sum: path has an empty segment ('..'): \"properties..x\""},
    {SRC MET3("  - {name: c, mean: a.b.c.d.e.f.g.h.i}\n") TREE, 5,
     "metrics[2].mean: path has more than 8 segments"},
    /* array indexes: [N] after a key, nothing else */
    {SRC MET3("  - {name: c, sum: \"items[x].n\"}\n") TREE, 5,
     "metrics[2].sum: an array index is [N], N a whole number (\"items[0]\")"},
    {SRC MET3("  - {name: c, sum: \"items[0]n\"}\n") TREE, 5,
     "metrics[2].sum: expected '.' or '[' after ']'"},
    {SRC MET3("  - {name: c, count: true, where: {\"a.[0]\": 1}}\n") TREE, 5,
     "metrics[2].where.a.[0]: an array index must follow a key"},
    {SRC MET3("  - {name: c, distinct: \"\"}\n") TREE, 5,
     "metrics[2].distinct: expected a dotted path, got an empty string"},
    {SRC MET3("  - {name: c, count: true, where: {.p: 1}}\n") TREE, 5,
     "metrics[2].where..p: path has an empty segment (leading or trailing '.')"},
    {SRC MET3("  - {name: c, sum: x.}\n") TREE, 5, "metrics[2].sum: path has an empty segment"},
    /* where */
    {SRC MET3("  - name: c\n    count: true\n    where:\n      p: 1\n      p: 2\n") TREE, 9,
     "metrics[2].where.p: duplicate key (first given at line 8)"},
    {SRC MET3("  - {name: c, count: true, where: {p: []}}\n") TREE, 5,
     "metrics[2].where.p: empty list"},
    {SRC MET3("  - {name: c, count: true, where: {}}\n") TREE, 5,
     "metrics[2].where: no conditions"},
    {SRC MET3("  - {name: c, count: true, where: [event, x]}\n") TREE, 5,
     "metrics[2].where: expected a mapping of conditions, got a list"},
    {SRC MET3("  - name: c\n    count: true\n    where: {event: [x,\n      404]}\n") TREE, 8,
     "metrics[2].where.event[1]: event names are strings, got a number (quote it)"},
    {SRC MET3("  - {name: c, count: true, where: {p: {q: 1}}}\n") TREE, 5,
     "metrics[2].where.p: expected a value (string, number, boolean or null), got a mapping"},
    {SRC MET3("  - {name: c, count: true, where: {p: [[1]]}}\n") TREE, 5,
     "metrics[2].where.p[0]: expected a value"},
    {SRC MET3("  - {name: c, count: true, where: {p: .nan}}\n") TREE, 5,
     "metrics[2].where.p: must be a finite number"},
    {SRC MET3("  - {name: c, count: true, where: {1: x}}\n") TREE, 5,
     "metrics[2].where: expected `event` or a dotted path as key, got a number"},
    /* tree */
    {SRC MET "tree: {nsm: a, inputs: [{metric: b, kind: width}]}\n", 5,
     "tree.inputs[0].kind: unknown value \"width\" (expected one of: breadth, depth, frequency, "
     "efficiency)"},
    {SRC MET "tree: {nsm: a, inputs: [{metric: b}]}\n", 5, "tree.inputs[0].kind: required key"},
    {SRC MET "tree:\n  nsm: a\n  inputs:\n    - {metric: a, kind: breadth}\n", 8,
     "tree.inputs[0].metric: \"a\" is the NSM"},
    {SRC MET3("  - {name: c, count: true}\n") "tree:\n  nsm: a\n  kpi: c\n  inputs:\n"
                                              "    - {metric: b, kind: depth}\n"
                                              "    - {metric: c, kind: depth}\n",
     11, "tree.inputs[1].metric: \"c\" is the KPI"},
    {SRC MET3("  - {name: c, count: true}\n") "tree:\n  nsm: a\n  inputs:\n"
                                              "    - {metric: b, kind: depth}\n"
                                              "    - {metric: c, kind: depth}\n"
                                              "    - {metric: b, kind: breadth}\n",
     11, "tree.inputs[2].metric: duplicate input \"b\" (also tree.inputs[0])"},
    {SRC MET "tree:\n  nsm: a\n  inputs:\n    - {metric: zz, kind: depth}\n", 8,
     "tree.inputs[0].metric: unknown metric \"zz\""},
    {SRC MET "tree:\n  nsm: a\n  inputs:\n" /* 9 inputs: bound is 8 */
             "    - {metric: b, kind: depth}\n    - {metric: b, kind: depth}\n"
             "    - {metric: b, kind: depth}\n    - {metric: b, kind: depth}\n"
             "    - {metric: b, kind: depth}\n    - {metric: b, kind: depth}\n"
             "    - {metric: b, kind: depth}\n    - {metric: b, kind: depth}\n"
             "    - {metric: b, kind: depth}\n",
     16, "tree.inputs: more than 8 inputs"},
    {SRC MET "tree: {nsm: a, inputs: []}\n", 5, "tree.inputs: at least one input is required"},
    {SRC MET "tree: {nsm: a}\n", 5, "tree.inputs: required key is missing"},
    {SRC MET "tree:\n  inputs: [{metric: b, kind: breadth}]\n", 5,
     "tree.nsm: required key is missing"},
    {SRC MET "tree: {nsm: nope, inputs: [{metric: b, kind: breadth}]}\n", 5,
     "tree.nsm: unknown metric \"nope\""},
    {SRC MET "tree:\n  nsm: a\n  kpi: a\n  inputs: [{metric: b, kind: breadth}]\n", 7,
     "tree.kpi: the KPI must differ from the NSM"},
    {SRC MET, 1, "tree: required key is missing"},
    /* source.fields */
    {"source:\n  format: segment\n  fields: {event: e, user: u, time: t}\n" MET TREE, 3,
     "source.fields: only allowed when source.format is custom"},
    {"source:\n  format: custom\n" MET TREE, 1,
     "source.fields: required when source.format is custom"},
    {"source:\n  format: custom\n  fields: {event: e, user: u}\n" MET TREE, 3,
     "source.fields.time: required key is missing"},
    {"source:\n  format: custom\n  fields: {event: e, user: u, time: a..b}\n" MET TREE, 3,
     "source.fields.time: path has an empty segment"},
    /* document level */
    {"", 1, "document: the file is empty"},
    {"# only a comment\n\n", 1, "document: the file is empty"},
    {"---\n", 1, "document: the file is empty"},
    {"--- ~\n", 1, "document: the top level must be a mapping, got null"},
    {"- source\n- metrics\n", 1, "document: the top level must be a mapping, got a list"},
    {"hello\n", 1, "document: the top level must be a mapping, got a string"},
    {SRC MET TREE "source: {format: amplitude}\n", 6,
     "source: duplicate key (first given at line 1)"},
    {SRC "metrics:\n  - {name: a, name: b, count: true}\n" TREE, 3,
     "metrics[0].name: duplicate key (first given at line 3)"},
    {SRC MET TREE "1: x\n", 6, "document: expected a string key, got a number (quote it"},
    {SRC "store: {\"\": x}\n" MET TREE, 2, "store: expected a string key, got an empty string"},
    {SRC MET TREE "? [a, b]\n: x\n", 6, "document: expected a string key, got a list"},
    {"source: &s {format: segment}\nstore: *s\n" MET TREE, 2,
     "document: aliases (*s) are not allowed"},
    {"x: &a [*a]\n", 1, "document: aliases (*a) are not allowed"},
    {SRC "metrics:\n  - {name: a, count: !!bool true}\n", 3,
     "document: YAML tags (!...) are not supported"},
    {SRC MET TREE "---\nsource: {format: segment}\n", 6, "document: more than one YAML document"},
    {SRC "metrics:\n  - {name: a, count: true\n" TREE, 4, "syntax: "},
    {SRC "store: path: x\n" MET TREE, 2, "syntax: mapping values are not allowed in this context"},
    {SRC "store:\n\tpath: x\n", 3, "syntax: found character that cannot start any token"},
    {SRC "store: {path: \"a\\0b\"}\n" MET TREE, 2, "store.path: contains a NUL character"},
    {SRC "store: {path: \"unterminated}\n" MET TREE, 7,
     "syntax: found unexpected end of stream while scanning a quoted scalar (line 2)"},
    {"source: {format: segment}\nstore: {path: \"\xff\xfe\"}\n", 2,
     "syntax: invalid leading UTF-8 octet"},
    {"source: {format: \"seg\x01ment\"}\n", 1, "syntax: control characters are not allowed"},
    {SRC MET3("  - {name: \"bad\\u0001name\", count: true}\n") TREE, 5,
     "metrics[2].name: name may only contain a-z, 0-9 and _: \"bad?name\""},
    {SRC MET TREE "\xe2\x80\xa8unknown\x01: 1\n", 6, "syntax: "},
};

static void check_error_line(const char *err)
{
    assert_null(strchr(err, '\n'));
    assert_null(strchr(err, '\r'));
}

static void test_bad_configs(void **state)
{
    (void)state;
    size_t n = sizeof bad_cases / sizeof bad_cases[0];
    int failures = 0;
    assert_true(n >= 40);
    for (size_t i = 0; i < n; i++) {
        const bad_case_t *bc = &bad_cases[i];
        lw_config_t *cfg = (lw_config_t *)&cfg; /* must be reset to NULL */
        char err[512] = "", prefix[64];
        lw_err_t rc = lw_config_parse(bc->text, strlen(bc->text), "t.yaml", &cfg, err, sizeof err);
        snprintf(prefix, sizeof prefix, "t.yaml:%d: ", bc->line);
        bool ok = rc == LW_ERR_CONFIG && cfg == NULL && strncmp(err, prefix, strlen(prefix)) == 0 &&
                  strstr(err + strlen(prefix), bc->expect) != NULL;
        if (!ok) {
            print_error("case %zu: rc=%s err=\"%s\"\n  want \"%s%s\"\n", i, lw_err_name(rc), err,
                        prefix, bc->expect);
            failures++;
            if (rc == LW_OK)
                lw_config_free(cfg);
            continue;
        }
        check_error_line(err);
    }
    assert_int_equal(failures, 0);
}

/* ------------------------------------------------- generated bounds */

typedef struct {
    char *buf;
    size_t len, cap;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(sbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->buf = realloc(b->buf, b->cap);
        assert_non_null(b->buf);
    }
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void expect_error(const char *text, size_t len, int line, const char *expect)
{
    lw_config_t *cfg = NULL;
    char err[512] = "", prefix[64];
    lw_err_t rc = lw_config_parse(text, len, "t.yaml", &cfg, err, sizeof err);
    snprintf(prefix, sizeof prefix, "t.yaml:%d: ", line);
    if (rc != LW_ERR_CONFIG || strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, expect))
        fail_msg("rc=%s err=\"%s\" want \"%s%s\"", lw_err_name(rc), err, prefix, expect);
    assert_null(cfg);
}

/* ------------------------------------------------ experiments (issue 16) */

static char *with_experiments(const char *section)
{
    size_t n = strlen(issue_example) + strlen(section) + 1;
    char *t = malloc(n);
    assert_non_null(t);
    snprintf(t, n, "%s%s", issue_example, section);
    return t;
}

static void test_experiments_section(void **state)
{
    (void)state;
    lw_config_t *cfg = parse_ok(issue_example);
    assert_false(cfg->experiments.configured);
    lw_config_free(cfg);

    char *t = with_experiments("experiments:\n"
                               "  long_window: 8w\n"
                               "  exposures:\n"
                               "    - where: {event: Experiment Viewed}\n"
                               "      experiment: properties.experiment_id\n"
                               "      variant: properties.variation_id\n"
                               "    - object: properties\n"
                               "      prefix: $feature/\n"
                               "      control: [control, \"false\"]\n");
    cfg = parse_ok(t);
    assert_true(cfg->experiments.configured);
    assert_int_equal(cfg->experiments.short_ms, 14 * LW_MS_PER_DAY);
    assert_int_equal(cfg->experiments.long_ms, 56 * LW_MS_PER_DAY);
    assert_int_equal(cfg->experiments.buckets, 64);
    assert_int_equal(cfg->experiments.max_users, 2000000);
    assert_int_equal(cfg->experiments.nsources, 2);
    const lw_exposure_src_t *e = &cfg->experiments.sources[0];
    assert_int_equal(e->nwhere, 1);
    assert_where(&e->where[0], "event", 1);
    assert_string_equal(e->experiment, "properties.experiment_id");
    assert_string_equal(e->variant, "properties.variation_id");
    assert_int_equal(e->ncontrol, 1);
    assert_string_equal(e->control[0], "control");
    e = &cfg->experiments.sources[1];
    assert_null(e->experiment);
    assert_string_equal(e->object, "properties");
    assert_string_equal(e->prefix, "$feature/");
    assert_int_equal(e->ncontrol, 2);
    assert_string_equal(e->control[1], "false");
    lw_config_free(cfg);
    free(t);

    /* errors name the line of the item or key */
    int base = 1;
    for (const char *c = issue_example; *c; c++)
        base += *c == '\n';
    static const struct {
        const char *text;
        int line; /* relative to the section's first line */
        const char *expect;
    } bad[] = {
        {"experiments:\n  buckets: 1\n  exposures: [{object: p, prefix: x}]\n", 1,
         "experiments.buckets: 1 is out of range [2, 1024]"},
        {"experiments:\n  short_window: 60d\n  exposures: [{object: p, prefix: x}]\n", 0,
         "experiments.long_window: shorter than short_window"},
        {"experiments:\n  exposures:\n    - {experiment: a.b, variant: a.c}\n", 2,
         "an exposure event needs `where`"},
        {"experiments:\n  exposures:\n    - {where: {event: x}, experiment: a.b}\n", 2,
         "needs both experiment and variant"},
        {"experiments:\n  exposures:\n    - {object: p, prefix: x, variant: a}\n", 2, "not both"},
        {"experiments:\n  exposures:\n    - {where: {event: x}}\n", 2,
         "give experiment and variant"},
        {"experiments:\n  exposures: []\n", 1, "at least one exposure source"},
        {"experiments:\n  max_users: 5\n", 0, "experiments.exposures: required key is missing"},
        {"experiments:\n  exposures: [{object: p, prefix: x, control: 1}]\n", 1, "a variant value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = with_experiments(bad[i].text);
        expect_error(t, strlen(t), base + bad[i].line, bad[i].expect);
        free(t);
    }
}

static void test_too_many_metrics(void **state)
{
    (void)state;
    sbuf_t b = {0};
    sb_add(&b, "source: {format: segment}\nmetrics:\n");
    for (int i = 0; i < LW_CONFIG_MAX_METRICS + 1; i++)
        sb_add(&b, "  - {name: m%d, count: true}\n", i);
    sb_add(&b, "tree: {nsm: m0, inputs: [{metric: m1, kind: breadth}]}\n");
    expect_error(b.buf, b.len, 3 + LW_CONFIG_MAX_METRICS, "metrics: more than 64 metrics");

    /* exactly the bound is fine */
    b.len = 0;
    sb_add(&b, "source: {format: segment}\nmetrics:\n");
    for (int i = 0; i < LW_CONFIG_MAX_METRICS; i++)
        sb_add(&b, "  - {name: m%d, count: true}\n", i);
    sb_add(&b, "tree: {nsm: m0, inputs: [{metric: m1, kind: breadth}]}\n");
    lw_config_t *cfg = parse_ok(b.buf);
    assert_int_equal(cfg->nmetrics, LW_CONFIG_MAX_METRICS);
    lw_config_free(cfg);
    free(b.buf);
}

static void test_where_bounds(void **state)
{
    (void)state;
    sbuf_t b = {0};
    /* 65 any-of values (bound 64) */
    sb_add(&b, "source: {format: segment}\nmetrics:\n  - {name: a, count: true, where: {p: [");
    for (int i = 0; i < LW_CONFIG_MAX_ANY_OF + 1; i++)
        sb_add(&b, "%sv%d", i ? ", " : "", i);
    sb_add(&b, "]}}\n");
    expect_error(b.buf, b.len, 3, "metrics[0].where.p: more than 64 values");

    /* 17 conditions (bound 16) */
    b.len = 0;
    sb_add(&b, "source: {format: segment}\nmetrics:\n  - {name: a, count: true, where: {");
    for (int i = 0; i < LW_CONFIG_MAX_WHERE + 1; i++)
        sb_add(&b, "%sp%d: 1", i ? ", " : "", i);
    sb_add(&b, "}}\n");
    expect_error(b.buf, b.len, 3, "metrics[0].where: more than 16 conditions");
    free(b.buf);
}

/* The decoder has LW_EVENT_MAX_PATHS slots; the config must not need more. */
static void test_path_budget(void **state)
{
    (void)state;
    sbuf_t b = {0};
    sb_add(&b, "source: {format: segment}\nmetrics:\n");
    for (int i = 0; i < 20; i++) /* 20 x (1 field + 3 where paths) = 80 paths */
        sb_add(&b, "  - {name: m%d, sum: f%d, where: {event: x, w%da: 1, w%db: 1, w%dc: 1}}\n", i,
               i, i, i, i);
    sb_add(&b, "tree: {nsm: m0, inputs: [{metric: m1, kind: breadth}]}\n");
    /* metric 16 brings paths 65..68 */
    expect_error(b.buf, b.len, 3 + 16, "metrics[16]: the metrics use more than 64 distinct JSON");
    free(b.buf);
}

static void test_document_bounds(void **state)
{
    (void)state;
    /* nesting */
    sbuf_t b = {0};
    sb_add(&b, "x: ");
    for (int i = 0; i < 40; i++)
        sb_add(&b, "[");
    expect_error(b.buf, b.len, 1, "document: nested deeper than 32 levels");

    /* node count: a long flow list of small scalars */
    b.len = 0;
    sb_add(&b, "x: [");
    for (int i = 0; i < LW_CONFIG_MAX_NODES + 10; i++)
        sb_add(&b, "1,");
    sb_add(&b, "1]\n");
    expect_error(b.buf, b.len, 1, "document: more than 100000 YAML nodes");

    /* size */
    b.len = 0;
    sb_add(&b, "source: {format: segment}\n");
    while (b.len <= LW_CONFIG_MAX_BYTES)
        sb_add(&b, "# padding padding padding padding padding padding padding padding\n");
    expect_error(b.buf, b.len, 1, "document: larger than 1048576 bytes");
    free(b.buf);

    /* billion laughs never gets to expand */
    const char *laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n"
                         "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n";
    expect_error(laughs, strlen(laughs), 2, "document: aliases (*a) are not allowed");
}

/* ------------------------------------------------------ file loading */

static void test_load_temp_file(void **state)
{
    (void)state;
    char path[] = "/tmp/lw_test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(issue_example, f);
    fclose(f);

    lw_config_t *cfg = NULL;
    char err[512] = "";
    lw_err_t rc = lw_config_load(path, &cfg, err, sizeof err);
    if (rc != LW_OK)
        fail_msg("%s", err);
    assert_string_equal(cfg->file, path);
    assert_int_equal(cfg->nmetrics, 7);
    lw_config_free(cfg);

    /* an error in a real file names the file */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("source: {format: segment}\nmetrics:\n  - {name: a, ratio: [foo, a]}\n", f);
    fclose(f);
    rc = lw_config_load(path, &cfg, err, sizeof err);
    assert_int_equal(rc, LW_ERR_CONFIG);
    assert_null(cfg);
    char want[128];
    snprintf(want, sizeof want, "%s:3: metrics[0].ratio: unknown metric \"foo\"", path);
    assert_string_equal(err, want);
    unlink(path);

    /* missing file: LW_ERR_IO and strerror */
    rc = lw_config_load(path, &cfg, err, sizeof err);
    assert_int_equal(rc, LW_ERR_IO);
    assert_null(cfg);
    snprintf(want, sizeof want, "%s: cannot read: %s", path, strerror(ENOENT));
    assert_string_equal(err, want);

    /* a directory cannot be read either */
    rc = lw_config_load("/tmp", &cfg, err, sizeof err);
    assert_int_equal(rc, LW_ERR_IO);
    assert_non_null(strstr(err, "/tmp: cannot read: "));
}

/* ---------------------------------------------------------- capture */

static char *capture(void (*fn)(const void *, FILE *), const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    fn(arg, f);
    fclose(f);
    return buf;
}

static void print_fn(const void *arg, FILE *f)
{
    lw_config_print(arg, f);
}

static void describe_fn(const void *arg, FILE *f)
{
    (void)arg;
    lw_config_describe(f);
}

/* ------------------------------------------------------ alerts, http */

static void assert_sink_equal(const lw_alertsink_opts_t *a, const lw_alertsink_opts_t *b)
{
    assert_true(a->alertmanager_url == b->alertmanager_url);
    assert_true(a->webhook_url == b->webhook_url);
    assert_int_equal(a->nwebhook_headers, b->nwebhook_headers);
    assert_string_equal(a->receiver, b->receiver);
    assert_string_equal(a->external_url, b->external_url);
    assert_int_equal(a->queue_max, b->queue_max);
    assert_int_equal(a->max_firing, b->max_firing);
    assert_int_equal(a->max_batch, b->max_batch);
    assert_int_equal(a->timeout_ms, b->timeout_ms);
    assert_int_equal(a->backoff_initial_ms, b->backoff_initial_ms);
    assert_int_equal(a->backoff_max_ms, b->backoff_max_ms);
    assert_int_equal(a->resend_ms, b->resend_ms);
    assert_null(a->custom);
    assert_null(a->custom_ctx);
    assert_null(a->wall_ms);
    assert_null(a->rng);
    assert_null(a->inject_ctx);
}

/* The table defaults restate the owners' *_opts_default(). */
static void assert_alert_defaults(const lw_config_t *cfg)
{
    lw_alert_opts_t ao;
    lw_alertsink_opts_t so;
    lw_alert_opts_default(&ao);
    lw_alertsink_opts_default(&so);
    assert_true(cfg->alerts.evaluate);
    assert_int_equal(cfg->alerts.opts.for_evals, ao.for_evals);
    assert_int_equal(cfg->alerts.opts.keep_firing_for, ao.keep_firing_for);
    assert_int_equal(cfg->alerts.opts.on_mask, ao.on_mask);
    assert_int_equal(cfg->alerts.opts.stall_for, ao.stall_for);
    assert_int_equal(cfg->alerts.opts.stall_keep_firing_for, ao.stall_keep_firing_for);
    assert_int_equal(cfg->alerts.opts.max_entries, ao.max_entries);
    assert_sink_equal(&cfg->alerts.sink, &so);
    assert_null(cfg->alerts.alertmanager_url);
    assert_null(cfg->alerts.webhook_url);
    assert_null(cfg->alerts.webhook_headers);
    assert_int_equal(cfg->alerts.nwebhook_headers, 0);
    assert_null(cfg->alerts.receiver);
    assert_null(cfg->alerts.external_url);
    assert_null(cfg->alerts.kafka_topic);
    assert_int_equal(cfg->alerts.stall_after_ms, 15 * 60000);
    assert_int_equal(cfg->alerts.stall_max_lag, 0);
    assert_int_equal(cfg->alerts.stall_missing_buckets, 1);
    assert_int_equal(lw_alert_opts_check(&cfg->alerts.opts, NULL, 0), LW_OK);
    assert_int_equal(lw_alertsink_opts_check(&cfg->alerts.sink, NULL, 0), LW_OK);
}

static void assert_http_defaults(const lw_config_t *cfg)
{
    lw_http_opts_t ho;
    lw_http_opts_default(&ho);
    assert_string_equal(cfg->http.listen, ho.listen);
    assert_true(cfg->http.opts.listen == cfg->http.listen);
    assert_int_equal(cfg->http.opts.max_connections, ho.max_connections);
    assert_int_equal(cfg->http.opts.timeout_s, ho.timeout_s);
    assert_int_equal(cfg->http.opts.max_response, ho.max_response);
    assert_int_equal(lw_http_opts_check(&cfg->http.opts, NULL, 0), LW_OK);
}

static void test_alerts_http_defaults(void **state)
{
    (void)state;
    /* sections absent: not configured, defaults in place */
    lw_config_t *cfg = parse_ok(SRC MET TREE);
    assert_false(cfg->alerts.configured);
    assert_false(cfg->http.configured);
    assert_alert_defaults(cfg);
    assert_http_defaults(cfg);
    lw_config_free(cfg);

    /* present but empty (`{}` or a bare key): configured, same defaults */
    static const char *const empty[] = {SRC MET TREE "alerts: {}\nhttp: {}\n",
                                        SRC MET TREE "alerts:\nhttp:\n"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        cfg = parse_ok(empty[i]);
        assert_true(cfg->alerts.configured);
        assert_true(cfg->http.configured);
        assert_alert_defaults(cfg);
        assert_http_defaults(cfg);
        lw_config_free(cfg);
    }

    /* http alone: listen and the other keys */
    cfg = parse_ok(SRC MET TREE "http:\n  listen: \"[::1]:0\"\n  max_connections: 200\n"
                                "  timeout: 1m\n  max_response: 65536\n");
    assert_false(cfg->alerts.configured);
    assert_true(cfg->http.configured);
    assert_string_equal(cfg->http.listen, "[::1]:0");
    assert_true(cfg->http.opts.listen == cfg->http.listen);
    assert_int_equal(cfg->http.opts.max_connections, 200);
    assert_int_equal(cfg->http.opts.timeout_s, 60);
    assert_int_equal(cfg->http.opts.max_response, 65536);
    lw_config_free(cfg);

    cfg = parse_ok(SRC MET TREE "http: {listen: \"localhost:9464\"}\n");
    assert_string_equal(cfg->http.opts.listen, "localhost:9464");
    assert_int_equal(cfg->http.opts.timeout_s, 10);
    lw_config_free(cfg);

    /* an empty `on` list means no edge alerts */
    cfg = parse_ok(SRC MET TREE "alerts: {on: []}\n");
    assert_int_equal(cfg->alerts.opts.on_mask, 0);
    lw_config_free(cfg);
}

static const char alerts_full[] =
    SRC MET TREE "alerts:\n"
                 "  evaluate: false\n"
                 "  for: 0\n"
                 "  keep_firing_for: 7\n"
                 "  on: [reverse, not_sensitive]\n"
                 "  max_alerts: 512\n"
                 "  alertmanager: {url: \"http://127.0.0.1:9093\"}\n"
                 "  webhook:\n"
                 "    url: \"https://hooks.example/leadwatch?x=1\"\n"
                 "    headers: {Authorization: \"Bearer s3cr3t\", X-Team: growth}\n"
                 "    receiver: growth-team\n"
                 "  kafka: {topic: leadwatch-alerts}\n"
                 "  external_url: \"https://leadwatch.example/report\"\n"
                 "  queue_max: 1024\n"
                 "  max_firing: 100\n"
                 "  max_batch: 10\n"
                 "  timeout: 2500ms\n"
                 "  backoff: {initial: 250ms, max: 2m}\n"
                 "  resend: 30s\n"
                 "  stall: {no_events_for: 1h, max_lag: 50000, missing_buckets: 0}\n"
                 "http: {listen: \"127.0.0.1:19464\"}\n";

static void test_alerts_full(void **state)
{
    (void)state;
    lw_config_t *cfg = parse_ok(alerts_full);
    const lw_alertsink_opts_t *s = &cfg->alerts.sink;
    assert_true(cfg->alerts.configured);
    assert_false(cfg->alerts.evaluate);
    assert_int_equal(cfg->alerts.opts.for_evals, 0);
    assert_int_equal(cfg->alerts.opts.keep_firing_for, 7);
    assert_int_equal(cfg->alerts.opts.on_mask, LW_ALERT_COND_BIT(LW_ALERT_COND_REVERSE) |
                                                   LW_ALERT_COND_BIT(LW_ALERT_COND_NOT_SENSITIVE));
    assert_int_equal(cfg->alerts.opts.max_entries, 512);
    assert_int_equal(cfg->alerts.opts.stall_for, 0);
    assert_string_equal(cfg->alerts.alertmanager_url, "http://127.0.0.1:9093");
    assert_string_equal(cfg->alerts.webhook_url, "https://hooks.example/leadwatch?x=1");
    assert_int_equal(cfg->alerts.nwebhook_headers, 2);
    assert_string_equal(cfg->alerts.webhook_headers[0], "Authorization: Bearer s3cr3t");
    assert_string_equal(cfg->alerts.webhook_headers[1], "X-Team: growth");
    assert_string_equal(cfg->alerts.receiver, "growth-team");
    assert_string_equal(cfg->alerts.external_url, "https://leadwatch.example/report");
    assert_string_equal(cfg->alerts.kafka_topic, "leadwatch-alerts");
    assert_int_equal(cfg->alerts.stall_after_ms, LW_MS_PER_HOUR);
    assert_int_equal(cfg->alerts.stall_max_lag, 50000);
    assert_int_equal(cfg->alerts.stall_missing_buckets, 0);

    /* the sink options point at the config's strings */
    assert_true(s->alertmanager_url == cfg->alerts.alertmanager_url);
    assert_true(s->webhook_url == cfg->alerts.webhook_url);
    assert_true(s->webhook_headers == (const char *const *)cfg->alerts.webhook_headers);
    assert_int_equal(s->nwebhook_headers, 2);
    assert_true(s->receiver == cfg->alerts.receiver);
    assert_true(s->external_url == cfg->alerts.external_url);
    assert_int_equal(s->queue_max, 1024);
    assert_int_equal(s->max_firing, 100);
    assert_int_equal(s->max_batch, 10);
    assert_int_equal(s->timeout_ms, 2500);
    assert_int_equal(s->backoff_initial_ms, 250);
    assert_int_equal(s->backoff_max_ms, 120000);
    assert_int_equal(s->resend_ms, 30000);
    assert_null(s->custom);
    assert_null(s->wall_ms);
    assert_null(s->rng);
    assert_int_equal(lw_alertsink_opts_check(s, NULL, 0), LW_OK);
    assert_int_equal(lw_alert_opts_check(&cfg->alerts.opts, NULL, 0), LW_OK);

    assert_true(cfg->http.configured);
    assert_string_equal(cfg->http.opts.listen, "127.0.0.1:19464");
    assert_int_equal(cfg->http.opts.max_connections, 64);

    /* printed: header names only, never the values; userinfo of URLs hidden */
    char *out = capture(print_fn, cfg);
    static const char *const want[] = {
        "alerts: evaluate off  for 0  keep_firing_for 7  max_alerts 512  on [reverse, "
        "not_sensitive]\n",
        "  alertmanager http://127.0.0.1:9093\n",
        "  webhook https://hooks.example/leadwatch?x=1  receiver growth-team  headers "
        "Authorization=(hidden) X-Team=(hidden)\n",
        "  kafka topic leadwatch-alerts\n",
        "  external_url https://leadwatch.example/report\n",
        "queue_max 1024  max_firing 100  max_batch 10  timeout 2500ms  resend 30s  backoff "
        "250ms..2m\n",
        "  stall: no events for 1h, lag over 50000\n",
        "  events lost: LeadwatchEventsLost until 1h after a partition's newest loss\n",
        "http: listen 127.0.0.1:19464  max_connections 64  timeout 10s  max_response 16777216\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(out, want[i]))
            fail_msg("missing \"%s\" in:\n%s", want[i], out);
    assert_null(strstr(out, "s3cr3t"));
    assert_null(strstr(out, "growth\n"));
    free(out);
    lw_config_free(cfg);

    cfg = parse_ok(SRC MET TREE "alerts:\n"
                                "  alertmanager: {url: \"https://am:pa55@am.example:9093/x@y\"}\n");
    out = capture(print_fn, cfg);
    if (!strstr(out, "  alertmanager https://(hidden)@am.example:9093/x@y\n") ||
        strstr(out, "pa55"))
        fail_msg("URL credentials printed:\n%s", out);
    assert_non_null(strstr(out, "http: not configured"));
    free(out);
    lw_config_free(cfg);
}

/* Config errors never repeat a header value or a URL (either may carry a secret). */
static void test_alerts_secrets_in_errors(void **state)
{
    (void)state;
    static const char *const texts[] = {
        SRC MET TREE "alerts:\n  webhook:\n    url: \"http://h\"\n    headers:\n"
                     "      Authorization: \"Bearer hunter2\\n\"\n",
        SRC MET TREE "alerts:\n  alertmanager: {url: \"ftp://u:hunter2@h\"}\n",
        SRC MET TREE "alerts:\n  webhook: {url: \"http://u:hunter2@h/a b\"}\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        lw_config_t *cfg = NULL;
        char err[512] = "";
        assert_int_equal(
            lw_config_parse(texts[i], strlen(texts[i]), "t.yaml", &cfg, err, sizeof err),
            LW_ERR_CONFIG);
        assert_null(cfg);
        assert_non_null(strstr(err, "t.yaml:"));
        if (strstr(err, "hunter2"))
            fail_msg("secret in \"%s\"", err);
    }
}

static void test_kafka_example_alerts(void **state)
{
    (void)state;
    char path[4096], err[512] = "";
    const char *src = getenv("LW_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/config/leadwatch-kafka.yaml", src ? src : LW_SOURCE_DIR);
    lw_config_t *cfg = NULL;
    if (lw_config_load(path, &cfg, err, sizeof err) != LW_OK)
        fail_msg("%s", err);
    assert_true(cfg->alerts.configured);
    assert_true(cfg->alerts.evaluate);
    assert_string_equal(cfg->alerts.alertmanager_url, "http://127.0.0.1:9093");
    assert_int_equal(cfg->alerts.opts.on_mask, LW_ALERT_EDGE_CONDS_ALL);
    assert_true(cfg->http.configured);
    assert_string_equal(cfg->http.opts.listen, "127.0.0.1:9464");
    lw_config_free(cfg);
}

/* ---------------------------------------------- print and describe */

static void test_print(void **state)
{
    (void)state;
    lw_config_t *cfg = parse_ok(issue_example);
    char *out = capture(print_fn, cfg);
    static const char *const want[] = {
        "source: segment  store: leadwatch.db  buckets: 1d (grace 2d)",
        ("listening_minutes        sum(properties.duration_ms) x 1.66667e-05  where "
         "event=track_played"),
        "active_users             distinct(user)  where event in [session_start, track_played]",
        "sessions                 count  where event=session_start, properties.platform=ios",
        "minutes_per_user         ratio(listening_minutes / active_users)\n",
        "weekly_active_users      distinct(user) window 1w  where event=session_start",
        "avg_order                mean(properties.revenue)  where event=purchase",
        "  KPI  revenue\n   ^  NSM listening_minutes\n",
        "         ^ breadth    active_users\n",
        "         ^ depth      minutes_per_user\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(out, want[i]))
            fail_msg("missing \"%s\" in:\n%s", want[i], out);
    free(out);
    lw_config_free(cfg);
}

/* source.kafka passes scalars through as text; topics keep order; secrets are not printed. */
static void test_kafka_keys(void **state)
{
    (void)state;
    static const char text[] = "source:\n"
                               "  format: segment\n"
                               "  kafka:\n"
                               "    bootstrap.servers: broker1:9092,broker2:9092\n"
                               "    group.id: leadwatch\n"
                               "    session.timeout.ms: 6000\n"
                               "    enable.partition.eof: true\n"
                               "    security.protocol: SASL_SSL\n"
                               "    sasl.mechanism: PLAIN\n"
                               "    sasl.password: \"hunter2\"\n"
                               "  topics: [events, more-events]\n"
                               "  dead_letter_topic: events-dlq\n" MET TREE;
    lw_config_t *cfg = parse_ok(text);
    static const char *const kv[][2] = {{"bootstrap.servers", "broker1:9092,broker2:9092"},
                                        {"group.id", "leadwatch"},
                                        {"session.timeout.ms", "6000"},
                                        {"enable.partition.eof", "true"},
                                        {"security.protocol", "SASL_SSL"},
                                        {"sasl.mechanism", "PLAIN"},
                                        {"sasl.password", "hunter2"}};
    assert_int_equal(cfg->source.nkafka, sizeof kv / sizeof kv[0]);
    for (size_t i = 0; i < cfg->source.nkafka; i++) {
        assert_string_equal(cfg->source.kafka[i].key, kv[i][0]);
        assert_string_equal(cfg->source.kafka[i].value, kv[i][1]);
        assert_int_equal(cfg->source.kafka[i].line, (int)i + 4);
    }
    assert_int_equal(cfg->source.ntopics, 2);
    assert_string_equal(cfg->source.topics[0], "events");
    assert_string_equal(cfg->source.topics[1], "more-events");
    assert_string_equal(cfg->source.dead_letter_topic, "events-dlq");
    char *out = capture(print_fn, cfg);
    if (!strstr(out, "kafka: topics events,more-events  dead letters events-dlq") ||
        !strstr(out, "group.id=leadwatch") || !strstr(out, "sasl.password=(secret)") ||
        strstr(out, "hunter2"))
        fail_msg("kafka settings printed wrongly:\n%s", out);
    free(out);
    lw_config_free(cfg);

    /* all optional: a file-ingest config has none */
    cfg = parse_ok(SRC MET TREE);
    assert_int_equal(cfg->source.nkafka, 0);
    assert_int_equal(cfg->source.ntopics, 0);
    assert_null(cfg->source.dead_letter_topic);
    lw_config_free(cfg);
}

static void test_describe(void **state)
{
    (void)state;
    char *out = capture(describe_fn, NULL);
    static const char *const want[] = {
        "source: ",
        "source.fields: ",
        "store: ",
        "buckets: ",
        "metrics[]: ",
        "tree: ",
        "tree.inputs[]: ",
        "max_event_bytes",
        "1048576",
        "[64..67108864]",
        "max_future",
        "flush_events",
        "200000",
        "[1..10000000]",
        "flush_interval",
        "[1s..1h]",
        "leadwatch.db",
        "grace",
        "2d",
        "[0..366d]",
        "1h|1d|1w",
        "segment|rudderstack|amplitude|posthog|custom",
        "breadth|depth|frequency|efficiency",
        "window",
        "scale",
        "where",
        "ratio",
        "distinct",
        "mean",
        "count",
        "nsm",
        "kpi",
        "inputs",
        "required",
        "alerts: ",
        "alerts.alertmanager: ",
        "alerts.webhook: ",
        "alerts.kafka: ",
        "alerts.backoff: ",
        "alerts.stall: ",
        "http: ",
        "keep_firing_for",
        "list of conditions",
        "all four",
        "[0..1000000]",
        "[8..4096]",
        "[100ms..2m]",
        "500ms",
        "[10ms..10m]",
        "15m",
        "true|false",
        "url",
        "127.0.0.1:9464",
        "[1s..1h]",
        "[65536..268435456]",
        "unit ms, s, m, h, d or w",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(out, want[i]))
            fail_msg("missing \"%s\" in describe output", want[i]);
    free(out);
}

/*
 * The README's configuration reference is the describe output, copied by
 * scripts/gen-config-doc between its markers in a ```text fence.
 */
/* --help text takes defaults and bounds from the tables (lw_cli_put_help). */
static void test_key_doc(void **state)
{
    (void)state;
    char doc[160];
    assert_true(lw_config_key_doc("analysis.max_lag", doc, sizeof doc));
    assert_string_equal(doc, "default 14; [1..60]");
    assert_true(lw_config_key_doc("analysis.alpha", doc, sizeof doc));
    assert_string_equal(doc, "default 0.05; (0..0.5]");
    assert_true(lw_config_key_doc("alerts.backoff.initial", doc, sizeof doc) ||
                lw_config_key_doc("store.flush_events", doc, sizeof doc));
    assert_non_null(strstr(doc, "default "));
    snprintf(doc, sizeof doc, "untouched");
    assert_false(lw_config_key_doc("analysis.no_such_key", doc, sizeof doc));
    assert_false(lw_config_key_doc("max_lag", doc, sizeof doc));
    assert_string_equal(doc, "untouched");
}

/* store.url (PostgreSQL) becomes the store target, password_file the backend's parameter. */
static void test_store_url(void **state)
{
    (void)state;
    static const char rest[] = "metrics:\n  - {name: a, count: true}\n  - {name: b, count: true}\n"
                               "tree: {nsm: a, inputs: [{metric: b, kind: breadth}]}\n";
    char text[1024];
    snprintf(text, sizeof text, "store: {url: 'postgresql://lw@db.internal:5432/leadwatch'}\n%s",
             rest);
    lw_config_t *cfg = parse_ok(text);
    assert_string_equal(cfg->store.path, "postgresql://lw@db.internal:5432/leadwatch");
    lw_config_free(cfg);
    snprintf(text, sizeof text,
             "store:\n  url: 'postgres:///lw?host=/run/pg&sslmode=disable'\n"
             "  password_file: /etc/leadwatch/pg pass&x\n%s",
             rest);
    cfg = parse_ok(text);
    assert_string_equal(cfg->store.path, "postgres:///lw?host=/run/pg&sslmode=disable"
                                         "&password_file=/etc/leadwatch/pg%20pass%26x");
    assert_string_equal(cfg->store.password_file, "/etc/leadwatch/pg pass&x");
    lw_config_free(cfg);

    struct {
        const char *store;
        int line;
        const char *expect;
    } bad[] = {
        {"store: {url: 'postgresql://lw:secret@db/lw'}\n", 1, "must not carry a password"},
        {"store: {url: 'postgresql://db/lw?password=secret'}\n", 1, "must not carry a password"},
        {"store: {url: 'mysql://db/lw'}\n", 1, "expected a postgresql:// URI"},
        {"store: {password_file: /x}\n", 1, "only allowed with store.url"},
        {"store:\n  path: a.db\n  url: postgresql://db/lw\n", 2, "not both"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "%s%s", bad[i].store, rest);
        expect_error(text, strlen(text), bad[i].line, bad[i].expect);
        char err[512] = "";
        lw_config_t *c = NULL;
        lw_config_parse(text, strlen(text), "t.yaml", &c, err, sizeof err);
        assert_null(strstr(err, "secret")); /* the password is never repeated */
    }
}

static void test_readme_reference(void **state)
{
    (void)state;
    static const char begin[] = "<!-- BEGIN config-reference -->\n```text\n";
    static const char end[] = "```\n<!-- END config-reference -->";
    char path[4096];
    const char *src = getenv("LW_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/README.md", src ? src : LW_SOURCE_DIR);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&text, &cap, '\0', f); /* the whole file (it has no NUL) */
    fclose(f);
    assert_true(n > 0);
    char *b = strstr(text, begin);
    if (!b)
        fail_msg("%s: no \"%s\" marker", path, "<!-- BEGIN config-reference -->");
    b += strlen(begin);
    char *e = strstr(b, end);
    if (!e)
        fail_msg("%s: no end marker after the reference", path);
    *e = '\0';
    char *want = capture(describe_fn, NULL);
    if (strcmp(b, want) != 0)
        fail_msg("README.md's configuration reference differs from lw_config_describe(); run "
                 "scripts/gen-config-doc");
    free(want);
    free(text);
}

/* The owners' defaults come from the tables; these are the documented values. */
static void test_owner_defaults(void **state)
{
    (void)state;
    lw_analyze_opts_t an;
    lw_analyze_opts_default(&an);
    assert_int_equal(an.max_lag, 14);
    assert_int_equal(an.transform, LW_TRANSFORM_AUTO);
    assert_int_equal(an.seasonal, LW_SEASONAL_WEEKLY);
    assert_int_equal(an.seasonal_period, 0);
    assert_true(an.alpha == 0.05 && an.adf_alpha == 0.05);
    assert_int_equal(an.window, 0);
    assert_int_equal(an.ic, LW_IC_AIC);
    assert_int_equal(an.hac_lags, 0);
    assert_true(an.mde_threshold == 0.1 && an.mde_power == 0.8 && an.stable_min_sign == 0.8);
    assert_int_equal(an.mde_horizon, 14);
    assert_int_equal(lw_analyze_opts_check(&an, NULL, 0), LW_OK);

    lw_alert_opts_t al;
    lw_alert_opts_default(&al);
    assert_int_equal(al.for_evals, 3);
    assert_int_equal(al.arm_after, 28);
    assert_int_equal(al.keep_firing_for, 2);
    assert_int_equal(al.on_mask, LW_ALERT_EDGE_CONDS_ALL);
    assert_int_equal(al.stall_for, 0);
    assert_int_equal(al.stall_keep_firing_for, 0);
    assert_int_equal(al.max_entries, 256);

    lw_alertsink_opts_t si;
    lw_alertsink_opts_default(&si);
    assert_null(si.alertmanager_url);
    assert_null(si.webhook_url);
    assert_string_equal(si.receiver, "leadwatch");
    assert_string_equal(si.external_url, "");
    assert_int_equal(si.queue_max, 256);
    assert_int_equal(si.max_firing, 256);
    assert_int_equal(si.max_batch, 64);
    assert_int_equal(si.timeout_ms, 5000);
    assert_int_equal(si.backoff_initial_ms, 500);
    assert_int_equal(si.backoff_max_ms, 60000);
    assert_int_equal(si.resend_ms, 60000);

    lw_http_opts_t ht;
    lw_http_opts_default(&ht);
    assert_string_equal(ht.listen, "127.0.0.1:9464");
    assert_int_equal(ht.max_connections, 64);
    assert_int_equal(ht.timeout_s, 10);
    assert_int_equal(ht.max_response, 16u << 20);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(lw_metric_kind_name(LW_METRIC_COUNT), "count");
    assert_string_equal(lw_metric_kind_name(LW_METRIC_SUM), "sum");
    assert_string_equal(lw_metric_kind_name(LW_METRIC_DISTINCT), "distinct");
    assert_string_equal(lw_metric_kind_name(LW_METRIC_RATIO), "ratio");
    assert_string_equal(lw_metric_kind_name(LW_METRIC_MEAN), "mean");
    assert_string_equal(lw_metric_kind_name((lw_metric_kind_t)99), "unknown");
    assert_string_equal(lw_input_kind_name(LW_INPUT_BREADTH), "breadth");
    assert_string_equal(lw_input_kind_name(LW_INPUT_DEPTH), "depth");
    assert_string_equal(lw_input_kind_name(LW_INPUT_FREQUENCY), "frequency");
    assert_string_equal(lw_input_kind_name(LW_INPUT_EFFICIENCY), "efficiency");
    assert_string_equal(lw_input_kind_name((lw_input_kind_t)7), "unknown");
    lw_config_free(NULL); /* allowed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_example),
        cmocka_unit_test(test_annotated_example),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_analysis_section),
        cmocka_unit_test(test_custom_and_overrides),
        cmocka_unit_test(test_where_scalar_typing),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_too_many_metrics),
        cmocka_unit_test(test_experiments_section),
        cmocka_unit_test(test_where_bounds),
        cmocka_unit_test(test_path_budget),
        cmocka_unit_test(test_document_bounds),
        cmocka_unit_test(test_load_temp_file),
        cmocka_unit_test(test_print),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_kafka_keys),
        cmocka_unit_test(test_alerts_http_defaults),
        cmocka_unit_test(test_alerts_full),
        cmocka_unit_test(test_alerts_secrets_in_errors),
        cmocka_unit_test(test_kafka_example_alerts),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_readme_reference),
        cmocka_unit_test(test_key_doc),
        cmocka_unit_test(test_store_url),
        cmocka_unit_test(test_owner_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
