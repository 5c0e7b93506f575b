/*
 * config_opts.c - the tables of the sections whose options belong to other
 * modules: analysis (lw_analyze_opts_t), alerts (lw_alert_opts_t,
 * lw_alertsink_opts_t and the pipeline-stall bounds) and http
 * (lw_http_opts_t); and those owners' *_opts_default(), which apply these
 * tables, so each default is stated once (config.h says how).
 *
 * A section check calls the owner's *_opts_check(); its "section.key:
 * message" is re-issued as "NAME:LINE: section.key: message" on the line of
 * that key (owner_fail).  The option structs handed to alertsink.h and
 * http.h point at strings the config owns (lw_cfg_wire_options).  Webhook
 * header values and URLs (which may carry user:password) are never echoed.
 */
#include "leadwatch/model/config.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "leadwatch/core/timeutil.h"
#include "leadwatch/model/config_table.h"

/* ----------------------------------------------------------- analysis */

static const char *const transform_names[] = {"none", "diff", "log_diff", "auto", NULL};
static const char *const ic_names[] = {"aic", "bic", NULL};
_Static_assert(sizeof(lw_transform_t) == sizeof(int), "T_ENUM stores an int");
_Static_assert(sizeof(lw_ic_t) == sizeof(int), "T_ENUM stores an int");
_Static_assert(LW_TRANSFORM_NONE == 0 && LW_TRANSFORM_DIFF == 1 && LW_TRANSFORM_LOG_DIFF == 2 &&
                   LW_TRANSFORM_AUTO == 3,
               "transform_names follows lw_transform_t");
_Static_assert(LW_IC_AIC == 0 && LW_IC_BIC == 1, "ic_names follows lw_ic_t");

static lw_err_t parse_seasonal(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                               const char *kp)
{
    lw_config_t *cfg = base;
    sval_t sv;
    lw_err_t err;
    char want[64];
    snprintf(want, sizeof want, "none, weekly or a period %lld..%lld", (long long)k->min,
             (long long)k->max);
    if ((err = lw_cfg_get_scalar(c, v, kp, want, &sv)))
        return err;
    if (!lw_seasonal_parse(sv.s, &cfg->analysis.seasonal, &cfg->analysis.seasonal_period))
        return lw_cfg_fail(c, sv.line, kp, "expected %s, got \"%.*s\"", want, DISP_MAX, sv.s);
    return LW_OK;
}

/* analysis.holidays: a list of dates YYYY-MM-DD (special days: treated as missing). */
static lw_err_t add_holiday(ctx_t *c, const sval_t *sv, const char *sub, size_t i, size_t n,
                            void *arg)
{
    lw_config_t *cfg = arg;
    (void)n;
    return lw_cfg_analysis_item(c, sv, sub, i, &cfg->analysis.nholidays,
                                lw_analyze_opts_add_holiday, &cfg->analysis);
}

lw_err_t lw_cfg_analysis_item(ctx_t *c, const sval_t *sv, const char *sub, size_t i, size_t *count,
                              lw_cfg_analysis_add_fn add, lw_analyze_opts_t *o)
{
    char msg[160];
    if (i == 0)
        *count = 0;
    if (add(o, sv->s, msg, sizeof msg) != LW_OK)
        return lw_cfg_fail(c, sv->line, sub, "%s", msg);
    return LW_OK;
}

static lw_err_t parse_holidays(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                               const char *kp)
{
    (void)k;
    return lw_cfg_each_string(c, v, kp, "dates YYYY-MM-DD", "a date YYYY-MM-DD", add_holiday, base);
}

static lw_err_t analysis_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    lw_config_t *cfg = base;
    char msg[256];
    if (lw_analyze_opts_check(&cfg->analysis, msg, sizeof msg) != LW_OK)
        return lw_cfg_fail(c, line, kp, "%s", msg);
    /* buckets come before analysis in the top-level table, so the size is known here */
    const int64_t size = cfg->buckets.size_ms;
    const int fl = lines[lw_cfg_key_index(&lw_cfg_analysis_section, "full_every")];
    if (size > 0 && cfg->analysis_full_every_ms % size != 0) {
        char a[32], b[32], sub[KP_MAX];
        if (!fl) { /* the default (1d) under weekly buckets: every close */
            cfg->analysis_full_every_ms = size;
            return LW_OK;
        }
        lw_cfg_kp_key(sub, kp, "full_every");
        return lw_cfg_fail(c, fl, sub, "%s is not a multiple of the bucket size %s",
                           lw_cfg_fmt_duration(cfg->analysis_full_every_ms, a, sizeof a),
                           lw_cfg_fmt_duration(size, b, sizeof b));
    }
    return LW_OK;
}

static const key_spec_t analysis_keys[] = {
    KEY_INT("max_lag", C_SIZE, CFG(analysis.max_lag), "14", 1, LW_ANALYZE_MAX_LAG,
            "Granger tests and lagged regressions use lags 1..max_lag buckets"),
    KEY_ENUM("transform", CFG(analysis.transform), "auto", transform_names,
             "auto: logs when all values > 0, differenced when ADF keeps a unit root"),
    {.key = "seasonal",
     .type = T_CUSTOM,
     .custom = parse_seasonal,
     .doc_type = "none|weekly|N",
     .doc_def = "weekly",
     .min = 2, /* the period N */
     .max = LW_PREP_MAX_PERIOD,
     .help = "remove day-of-week (daily) / hour-of-day (hourly) means, or a period N"},
    KEY_NUMBER("alpha", CFG(analysis.alpha), "0.05", 0, LW_ANALYZE_ALPHA_MAX, true, false,
               "false discovery rate for the Benjamini-Hochberg q-values"),
    KEY_INT("window", C_SIZE, CFG(analysis_window), "0", 0, LW_SERIES_MAX_ROWS,
            "analyse the last N buckets (up to --as-of); 0 = every bucket in the store"),
    KEY_DURATION("full_every", CFG(analysis_full_every_ms), "1d", LW_MS_PER_HOUR,
                 366 * LW_MS_PER_DAY,
                 "the daemon runs the full analysis (verdicts, gauges, their alerts) at the bucket "
                 "closes whose end is a multiple of this in UTC, and only the sequential monitors "
                 "at the others; a multiple of buckets.size (absent with weekly buckets: every "
                 "close)"),
    KEY_INT("stability_window", C_SIZE, CFG(analysis.window), "0", 0, LW_ANALYZE_MAX_ROWS,
            "stability sub-window in buckets; 0 = max(n/4, 5 lag + 20), at most n/2"),
    KEY_ENUM("ic", CFG(analysis.ic), "aic", ic_names,
             "information criterion that chooses the Granger lag: aic or bic"),
    KEY_NUMBER("adf_alpha", CFG(analysis.adf_alpha), "0.05", 0, 1, true, true,
               "auto transform: difference when the ADF p-value is at least this"),
    KEY_INT("hac_lags", C_SIZE, CFG(analysis.hac_lags), "0", 0, LW_ANALYZE_HAC_LAGS_MAX,
            "Newey-West bandwidth; 0 = floor(4 (T/100)^(2/9))"),
    KEY_NUMBER("mde_threshold", CFG(analysis.mde_threshold), "0.1", 0, LW_ANALYZE_MDE_THRESHOLD_MAX,
               true, false,
               "inputs whose minimum detectable change exceeds this are flagged not sensitive"),
    KEY_INT("mde_horizon", C_SIZE, CFG(analysis.mde_horizon), "14", 1, LW_ANALYZE_MDE_HORIZON_MAX,
            "length of the hypothetical experiment, in buckets"),
    KEY_NUMBER("mde_power", CFG(analysis.mde_power), "0.8", 0, 1, true, true,
               "power of the hypothetical experiment"),
    KEY_NUMBER("stable_min_sign", CFG(analysis.stable_min_sign), "0.8", 0.5, 1, true, false,
               "share of sub-windows whose effect is not significantly against the full-sample "
               "sign for 'stable'"),
    KEY_INT("max_gap", C_SIZE, CFG(analysis.max_gap), "3", 0, LW_ANALYZE_MAX_GAP,
            "runs of up to this many missing buckets are interpolated; longer gaps only cost "
            "the rows they touch"),
    KEY_NUMBER("outlier_mad", CFG(analysis.outlier_mad), "5", 0, 100, false, false,
               "values beyond this many robust sds (after season and trend) are outliers, "
               "treated as missing; 0 = off, else at least 2"),
    KEY_CUSTOM("holidays", parse_holidays, "list of dates", "[]",
               "special days (YYYY-MM-DD): treated as missing in every series, then interpolated"),
};

const section_t lw_cfg_analysis_section =
    SECTION("analysis", analysis_keys, analysis_check,
            "statistics options of analyze and report (optional section)");

/* ------------------------------------------------------ alerts, http */

_Static_assert(LW_CONFIG_MAX_URL < LW_ALERTSINK_URL_MAX - 32, "alertsink accepts every URL");

/*
 * Point the option structs handed to alert.h, alertsink.h and http.h at
 * the strings the config owns.  Unset receiver / external_url keep the
 * sink's defaults (static strings), so an absent section gives exactly
 * lw_alertsink_opts_default().  Idempotent.
 */
void lw_cfg_wire_options(lw_config_t *cfg)
{
    lw_alertsink_opts_t def;
    lw_alertsink_opts_t *s = &cfg->alerts.sink;
    lw_alertsink_opts_default(&def);
    s->alertmanager_url = cfg->alerts.alertmanager_url;
    s->webhook_url = cfg->alerts.webhook_url;
    /* char ** -> const char *const * needs the cast in C (it is implicit only in C++) */
    s->webhook_headers = (const char *const *)cfg->alerts.webhook_headers;
    s->nwebhook_headers = cfg->alerts.nwebhook_headers;
    s->receiver = cfg->alerts.receiver ? cfg->alerts.receiver : def.receiver;
    s->external_url = cfg->alerts.external_url ? cfg->alerts.external_url : def.external_url;
    cfg->http.opts.listen = cfg->http.listen;
}

/*
 * Turn an owner's "section.key: message" (lw_alert_opts_check and friends)
 * into the usual "file:line: section.key: message", on the line of that key
 * when the file gives it, else on the section's line.  `renames` maps the
 * owner's field names to the config's key names (max_entries -> max_alerts).
 */
static lw_err_t owner_fail(ctx_t *c, const section_t *sec, int line, const int *lines,
                           const char *msg, const char *const (*renames)[2])
{
    const char *colon = strstr(msg, ": ");
    size_t plen = strlen(sec->path);
    if (!colon || strncmp(msg, sec->path, plen) != 0 || msg[plen] != '.')
        return lw_cfg_fail(c, line, sec->path, "%s", msg);
    char key[64], kp[KP_MAX];
    const char *k0 = msg + plen + 1;
    size_t klen = strcspn(k0, ".:"), rlen;
    if (klen >= sizeof key || colon < k0 + klen)
        return lw_cfg_fail(c, line, sec->path, "%s", msg);
    memcpy(key, k0, klen);
    key[klen] = '\0';
    for (; renames && (*renames)[0]; renames++)
        if (strcmp(key, (*renames)[0]) == 0)
            snprintf(key, sizeof key, "%s", (*renames)[1]);
    for (size_t i = 0; i < sec->nkeys; i++)
        if (strcmp(sec->keys[i].key, key) == 0 && lines[i]) {
            line = lines[i];
            break;
        }
    /* section.key, then the owner's rest of the path (".url" of "webhook.url") */
    int n = snprintf(kp, sizeof kp, "%s.%s", sec->path, key);
    rlen = (size_t)(colon - (k0 + klen));
    if (n > 0 && (size_t)n + rlen < sizeof kp) {
        memcpy(kp + n, k0 + klen, rlen);
        kp[(size_t)n + rlen] = '\0';
    }
    return lw_cfg_fail(c, line, kp, "%s", colon + 2);
}

#define ALERT_COND_CHOICES "no_longer_leads, reverse, kpi_link_lost, not_sensitive"

/* alerts.on: a list of edge conditions -> opts.on_mask; [] = no edge alerts. */
static lw_err_t add_alert_cond(ctx_t *c, const sval_t *sv, const char *sub, size_t i, size_t n,
                               void *arg)
{
    lw_config_t *cfg = arg;
    char d[DISP_MAX];
    lw_alert_cond_t cond = LW_ALERT_COND_COUNT;
    (void)i;
    (void)n;
    bool known = lw_alert_cond_parse(sv->s, &cond);
    if (!known || (LW_ALERT_COND_BIT(cond) & LW_ALERT_EDGE_CONDS_ALL) == 0)
        return lw_cfg_fail(c, sv->line, sub, "unknown condition \"%s\" (expected any of: %s)%s",
                           lw_cfg_disp(sv->s, d, sizeof d), ALERT_COND_CHOICES,
                           known ? "; the pipeline-stall alert is always on, see alerts.stall"
                                 : "");
    if (cfg->alerts.opts.on_mask & LW_ALERT_COND_BIT(cond))
        return lw_cfg_fail(c, sv->line, sub, "condition \"%s\" listed twice", sv->s);
    cfg->alerts.opts.on_mask |= LW_ALERT_COND_BIT(cond);
    return LW_OK;
}

static lw_err_t parse_alert_on(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                               const char *kp)
{
    lw_config_t *cfg = base;
    (void)k;
    cfg->alerts.opts.on_mask = 0;
    return lw_cfg_each_string(c, v, kp, "conditions (any of " ALERT_COND_CHOICES ")",
                              "a condition name", add_alert_cond, base);
}

/* RFC 9110 section 5.6.2 token characters. */
static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/*
 * alerts.webhook.headers: a mapping Name: value, stored as "Name: value"
 * lines for the sink.  Values may be secrets (Authorization), so no message
 * ever repeats one.  Content-Length and Transfer-Encoding belong to the
 * sink's framing and are refused.
 */
static lw_err_t add_webhook_header(ctx_t *c, const sval_t *ks, yaml_node_t *vn, const char *sub,
                                   size_t i, size_t n, void *arg)
{
    static const char *const framing[] = {"Content-Length", "Transfer-Encoding"};
    lw_config_t *cfg = arg;
    char d[DISP_MAX];
    lw_err_t err;
    sval_t vs;
    if (i == 0 && !(cfg->alerts.webhook_headers = calloc(n, sizeof *cfg->alerts.webhook_headers)))
        return lw_cfg_fail(c, ks->line, sub, "out of memory");
    for (size_t j = 0; j < ks->len; j++)
        if (!is_tchar((unsigned char)ks->s[j]))
            return lw_cfg_fail(c, ks->line, sub,
                               "header name \"%s\" may only contain letters, digits and "
                               "!#$%%&'*+-.^_`|~",
                               lw_cfg_disp(ks->s, d, sizeof d));
    for (size_t j = 0; j < sizeof framing / sizeof framing[0]; j++)
        if (strcasecmp(ks->s, framing[j]) == 0)
            return lw_cfg_fail(c, ks->line, sub, "%s is set by leadwatch itself", framing[j]);
    for (size_t j = 0; j < i; j++) {
        const char *prev = cfg->alerts.webhook_headers[j];
        if (strncasecmp(prev, ks->s, ks->len) == 0 && prev[ks->len] == ':')
            return lw_cfg_fail(c, ks->line, sub, "header given twice (names are case-insensitive)");
    }
    if ((err = lw_cfg_get_scalar(c, vn, sub, "a header value", &vs)))
        return err;
    if (vs.type == LW_SCALAR_NULL || vs.len == 0)
        return lw_cfg_fail(c, vs.line, sub, "expected a header value, got %s",
                           vs.type == LW_SCALAR_NULL ? "null" : "an empty string");
    for (size_t j = 0; j < vs.len; j++) {
        unsigned char ch = (unsigned char)vs.s[j];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return lw_cfg_fail(c, vs.line, sub,
                               "the value contains a %s (not shown: header values may be secret)",
                               ch == '\r' || ch == '\n' ? "line break" : "control character");
    }
    size_t len = ks->len + 2 + vs.len;
    if (len > LW_CONFIG_MAX_HEADER)
        return lw_cfg_fail(c, vs.line, sub,
                           "header longer than " STR(LW_CONFIG_MAX_HEADER) " bytes");
    char *h = malloc(len + 1);
    if (!h)
        return lw_cfg_fail(c, vs.line, sub, "out of memory");
    memcpy(h, ks->s, ks->len);
    memcpy(h + ks->len, ": ", 2);
    memcpy(h + ks->len + 2, vs.s, vs.len + 1);
    cfg->alerts.webhook_headers[i] = h;
    cfg->alerts.nwebhook_headers = i + 1;
    return LW_OK;
}

static lw_err_t parse_webhook_headers(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                                      const char *kp)
{
    (void)k;
    return lw_cfg_each_pair(c, v, kp, "header names to values", "headers", LW_ALERTSINK_MAX_HEADERS,
                            "a header name", "a header name", add_webhook_header, base);
}

static const key_spec_t alertmanager_keys[] = {
    KEY_REQUIRED("url", T_URL, CFG(alerts.alertmanager_url),
                 "Alertmanager base URL; alerts are POSTed to <url>/api/v2/alerts"),
};

static const section_t alertmanager_section =
    SECTION("alerts.alertmanager", alertmanager_keys, NULL,
            "deliver firing and resolved alerts to Alertmanager (v2 API); absent = off");

static const key_spec_t webhook_keys[] = {
    KEY_REQUIRED(
        "url", T_URL, CFG(alerts.webhook_url),
        "full URL; one POST per firing or resolved alert, Alertmanager webhook payload v4"),
    KEY_CUSTOM("headers", parse_webhook_headers, "mapping", "-",
               "extra request headers, Name: value (at most " STR(
                   LW_ALERTSINK_MAX_HEADERS) "); values are never printed or logged"),
    {.key = "receiver",
     .type = T_STRING,
     .off = CFG(alerts.receiver),
     .doc_def = "leadwatch",
     .help = "the payload's \"receiver\" field"},
};

static const section_t webhook_section =
    SECTION("alerts.webhook", webhook_keys, NULL,
            "deliver firing and resolved alerts to a generic webhook; absent = off");

static const key_spec_t alert_kafka_keys[] = {
    KEY_REQUIRED("topic", T_STRING, CFG(alerts.kafka_topic),
                 "Kafka topic (on source.kafka's cluster) that gets one JSON message per state "
                 "change"),
};

static const section_t alert_kafka_section =
    SECTION("alerts.kafka", alert_kafka_keys, NULL,
            "publish every alert state change to Kafka; absent = off");

static lw_err_t backoff_check(ctx_t *c, void *base, int line, const int *lines, const char *kp);

static const key_spec_t backoff_keys[] = {
    KEY_DURATION("initial", CFG(alerts.sink.backoff_initial_ms), "500ms",
                 LW_ALERTSINK_BACKOFF_MIN_MS, LW_ALERTSINK_BACKOFF_INITIAL_MAX_MS,
                 "delay before the first retry of a failed delivery (then doubled, with jitter)"),
    KEY_DURATION("max", CFG(alerts.sink.backoff_max_ms), "1m", LW_ALERTSINK_BACKOFF_MIN_MS,
                 LW_ALERTSINK_BACKOFF_MAX_MS,
                 "cap of the retry delay (at least initial); retries go on until delivered"),
};

static const section_t backoff_section =
    SECTION("alerts.backoff", backoff_keys, backoff_check,
            "retries of failed deliveries (transport errors, 408, 429, 5xx)");

static lw_err_t backoff_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    const lw_alertsink_opts_t *s = &((lw_config_t *)base)->alerts.sink;
    char sub[KP_MAX], a[32], b[32];
    int max_line = lines[lw_cfg_key_index(&backoff_section, "max")];
    if (s->backoff_max_ms >= s->backoff_initial_ms)
        return LW_OK;
    lw_cfg_kp_key(sub, kp, "max");
    return lw_cfg_fail(c, max_line ? max_line : line, sub, "%s is below initial %s",
                       lw_cfg_fmt_duration(s->backoff_max_ms, a, sizeof a),
                       lw_cfg_fmt_duration(s->backoff_initial_ms, b, sizeof b));
}

static const key_spec_t stall_keys[] = {
    KEY_DURATION("no_events_for", CFG(alerts.stall_after_ms), "15m", 1000, 30 * LW_MS_PER_DAY,
                 "stalled when no event arrived for this long"),
    KEY_INT("max_lag", C_INT64, CFG(alerts.stall_max_lag), "0", 0, 1000000000000000,
            "stalled when the consumer lag (messages, summed over partitions) exceeds this; "
            "0 = off"),
    KEY_INT("missing_buckets", C_SIZE, CFG(alerts.stall_missing_buckets), "1", 0,
            LW_CONFIG_MAX_WINDOW_BUCKETS,
            "edges are nodata when the newest N closed buckets of the window have a gap; "
            "0 = off"),
};

static const section_t stall_section =
    SECTION("alerts.stall", stall_keys, NULL,
            "when the pipeline counts as stalled: edges go nodata and LeadwatchPipelineStalled "
            "fires instead of edge alerts");

static lw_err_t alerts_check(ctx_t *c, void *base, int line, const int *lines, const char *kp);

static const key_spec_t alerts_keys[] = {
    KEY_VALUE("evaluate", T_BOOL, CFG(alerts.evaluate), "true",
              "re-evaluate the metric tree over analysis.window on every bucket close"),
    KEY_INT("for", C_UINT, CFG(alerts.opts.for_evals), "3", 0, LW_ALERT_MAX_EVALS,
            "failing evaluations an alert stays pending before it fires (0 = fire at once)"),
    KEY_INT("arm_after", C_UINT, CFG(alerts.opts.arm_after), "28", 0, LW_ALERT_MAX_EVALS,
            "consecutive leading evaluations before an edge counts as having led (only then "
            "can its loss alert; keeps chance leads from arming)"),
    KEY_INT("keep_firing_for", C_UINT, CFG(alerts.opts.keep_firing_for), "2", 0, LW_ALERT_MAX_EVALS,
            "passing evaluations a firing alert survives before it resolves"),
    KEY_VALUE(
        "monitor", T_BOOL, CFG(alerts.opts.monitor), "true",
        "true: no_longer_leads / kpi_link_lost come from each edge's sequential monitor "
        "(README, Alerts: its measured delay and false alerts); false = from the window's verdict "
        "(for/arm_after rule)"),
    KEY_NUMBER("monitor_alpha", CFG(alerts.opts.monitor_alpha), "0.05", 0, 0.5, true, false,
               "the sequential monitor's false alarms per edge and year: its threshold is "
               "simulated for alpha / 3.5, the excess measured over the design (README, Alerts, "
               "gives the measured rates)"),
    KEY_CUSTOM("on", parse_alert_on, "list of conditions", "all four",
               "conditions that alert, any of no_longer_leads, reverse, kpi_link_lost, "
               "not_sensitive; [] = no edge alerts (the stall alert stays)"),
    KEY_INT("max_alerts", C_SIZE, CFG(alerts.opts.max_entries), "256", LW_ALERT_MIN_ENTRIES,
            LW_ALERT_MAX_ENTRIES, "bound on tracked (edge, condition) pairs"),
    KEY_SECTION("alertmanager", &alertmanager_section, "Alertmanager sink, see below"),
    KEY_SECTION("webhook", &webhook_section, "webhook sink"),
    KEY_SECTION("kafka", &alert_kafka_section, "Kafka sink"),
    KEY_VALUE("external_url", T_URL, CFG(alerts.external_url), NULL,
              "link put in generatorURL / externalURL (e.g. the published report)"),
    KEY_INT("queue_max", C_SIZE, CFG(alerts.sink.queue_max), "256", 1, LW_ALERTSINK_QUEUE_MAX,
            "events queued per sink; when full the oldest is dropped and counted"),
    KEY_INT("max_firing", C_SIZE, CFG(alerts.sink.max_firing), "256", 1, LW_ALERTSINK_FIRING_MAX,
            "firing alerts kept for re-sending to Alertmanager"),
    KEY_INT("max_batch", C_SIZE, CFG(alerts.sink.max_batch), "64", 1, LW_ALERTSINK_BATCH_MAX,
            "alerts per Alertmanager POST"),
    KEY_DURATION("timeout", CFG(alerts.sink.timeout_ms), "5s", LW_ALERTSINK_TIMEOUT_MIN_MS,
                 LW_ALERTSINK_TIMEOUT_MAX_MS, "per HTTP request to a receiver"),
    KEY_SECTION("backoff", &backoff_section, "retry delays, see below"),
    KEY_DURATION(
        "resend", CFG(alerts.sink.resend_ms), "1m", LW_ALERTSINK_RESEND_MIN_MS,
        LW_ALERTSINK_RESEND_MAX_MS,
        "firing alerts are re-sent to Alertmanager this often (endsAt = now + 4 x resend)"),
    KEY_SECTION("stall", &stall_section, "pipeline-stall bounds, see below"),
    KEY_DURATION("events_lost_for", CFG(alerts.opts.lost_for_ms), "1h", 0, LW_ALERT_LOST_FOR_MAX_MS,
                 "LeadwatchEventsLost keeps firing this long after a partition's newest loss "
                 "(Kafka offsets skipped), then resolves"),
};

const section_t lw_cfg_alerts_section =
    SECTION("alerts", alerts_keys, alerts_check,
            "alert when an input stops leading the NSM (optional section; `run` only)");

static lw_err_t alerts_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    static const char *const renames[][2] = {{"max_entries", "max_alerts"}, {NULL, NULL}};
    lw_config_t *cfg = base;
    char msg[256];
    (void)kp;
    cfg->alerts.configured = true;
    lw_cfg_wire_options(cfg);
    if (lw_alert_opts_check(&cfg->alerts.opts, msg, sizeof msg) != LW_OK ||
        lw_alertsink_opts_check(&cfg->alerts.sink, msg, sizeof msg) != LW_OK)
        return owner_fail(c, &lw_cfg_alerts_section, line, lines, msg, renames);
    return LW_OK;
}

static lw_err_t http_check(ctx_t *c, void *base, int line, const int *lines, const char *kp);

static const key_spec_t http_keys[] = {
    KEY_VALUE("listen", T_STRING, CFG(http.listen), "127.0.0.1:9464",
              "host:port, host an IPv4 / [IPv6] literal or localhost; port 0 = any free port"),
    KEY_INT("max_connections", C_UINT, CFG(http.opts.max_connections), "64", 1,
            LW_HTTP_CONNECTIONS_MAX,
            "open connections at most; more clients wait in the listen backlog"),
    {.key = "timeout",
     .type = T_SECONDS,
     .off = CFG(http.opts.timeout_s),
     .def = "10s",
     .min = 1000 /* 1s: whole seconds */,
     .max = LW_HTTP_TIMEOUT_MAX_S * 1000LL,
     .help = "a connection idle this long is closed (whole seconds)"},
    KEY_INT("max_response", C_SIZE, CFG(http.opts.max_response), "16777216", LW_HTTP_RESPONSE_MIN,
            LW_HTTP_RESPONSE_MAX, "bound on a /metrics body, bytes"),
    KEY_DURATION("ready_broker_timeout", CFG(http.ready_broker_timeout_ms), "10s", 0, LW_MS_PER_DAY,
                 "/readyz answers 503 once no Kafka broker was connected for this long "
                 "(librdkafka statistics, every second); 0 = off"),
};

const section_t lw_cfg_http_section =
    SECTION("http", http_keys, http_check,
            "GET /metrics, /healthz, /readyz for `run` (optional section; the server runs only "
            "when it is present, `http:` alone for the defaults)");

static lw_err_t http_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    lw_config_t *cfg = base;
    char msg[256];
    (void)kp;
    cfg->http.configured = true;
    lw_cfg_wire_options(cfg);
    if (lw_http_opts_check(&cfg->http.opts, msg, sizeof msg) != LW_OK)
        return owner_fail(c, &lw_cfg_http_section, line, lines, msg, NULL);
    return LW_OK;
}

/* ------------------------------------------ the owners' defaults, from the tables */

void lw_analyze_opts_default(lw_analyze_opts_t *o)
{
    memset(o, 0, sizeof *o);
    lw_cfg_defaults_into(&lw_cfg_analysis_section, CFG(analysis), sizeof *o, o);
    bool ok = lw_seasonal_parse(lw_cfg_default_text(&lw_cfg_analysis_section, "seasonal"),
                                &o->seasonal, &o->seasonal_period);
    assert(ok && "analysis.seasonal default");
    (void)ok;
}

void lw_alert_opts_default(lw_alert_opts_t *o)
{
    memset(o, 0, sizeof *o);
    lw_cfg_defaults_into(&lw_cfg_alerts_section, CFG(alerts.opts), sizeof *o, o);
    o->on_mask = LW_ALERT_EDGE_CONDS_ALL; /* `on`: "all four" */
}

void lw_alertsink_opts_default(lw_alertsink_opts_t *o)
{
    memset(o, 0, sizeof *o);
    lw_cfg_defaults_into(&lw_cfg_alerts_section, CFG(alerts.sink), sizeof *o, o);
    o->receiver = lw_cfg_default_text(&webhook_section, "receiver");
    o->external_url = "";
}

void lw_http_opts_default(lw_http_opts_t *o)
{
    memset(o, 0, sizeof *o);
    lw_cfg_defaults_into(&lw_cfg_http_section, CFG(http.opts), sizeof *o, o);
    o->listen = lw_cfg_default_text(&lw_cfg_http_section, "listen");
}
