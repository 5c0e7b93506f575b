/*
 * config_print.c - lw_config_print (the resolved config, for check-config)
 * and lw_config_describe (every key of every table, for --describe and the
 * README's configuration reference, scripts/gen-config-doc).
 *
 * Secrets are never printed: librdkafka secrets show "(secret)", webhook
 * header values and the user:password part of a URL "(hidden)".  Describe
 * walks the tables from the top level, depth first (a section, then the
 * sections of its keys), so the order follows the file's structure.
 */
#include "leadwatch/model/config.h"

#include <stdio.h>
#include <string.h>

#include "leadwatch/model/config_table.h"
#include "leadwatch/model/kafka_opts.h"

/* ----------------------------------------------------------- printing */

static void print_scalar(const lw_scalar_t *s, FILE *out)
{
    switch (s->type) {
    case LW_SCALAR_STRING:
        for (const char *p = s->str; *p; p++) /* keep one metric per line */
            fputc((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p, out);
        break;
    case LW_SCALAR_NUMBER: fprintf(out, "%g", s->num); break;
    case LW_SCALAR_BOOL: fputs(s->b ? "true" : "false", out); break;
    case LW_SCALAR_NULL: fputs("null", out); break;
    }
}

static void print_metric(const lw_config_t *cfg, const lw_metric_def_t *m, FILE *out)
{
    char w[32];
    fprintf(out, "  %-24s ", m->name);
    switch (m->kind) {
    case LW_METRIC_COUNT: fputs("count", out); break;
    case LW_METRIC_SUM:
    case LW_METRIC_MEAN:
    case LW_METRIC_DISTINCT: fprintf(out, "%s(%s)", lw_metric_kind_name(m->kind), m->field); break;
    case LW_METRIC_RATIO:
        fprintf(out, "ratio(%s / %s)", cfg->metrics[m->ratio_num].name,
                cfg->metrics[m->ratio_den].name);
        break;
    }
    if ((m->kind == LW_METRIC_SUM || m->kind == LW_METRIC_MEAN) && m->scale != 1.0)
        fprintf(out, " x %g", m->scale);
    if (m->window_ms)
        fprintf(out, " window %s", lw_cfg_fmt_duration(m->window_ms, w, sizeof w));
    for (size_t i = 0; i < m->nwhere; i++) {
        const lw_where_t *wh = &m->where[i];
        fputs(i ? ", " : "  where ", out);
        fputs(wh->path, out);
        if (wh->nvalues == 1) {
            fputc('=', out);
            print_scalar(&wh->values[0], out);
            continue;
        }
        fputs(" in [", out);
        for (size_t j = 0; j < wh->nvalues; j++) {
            if (j)
                fputs(", ", out);
            print_scalar(&wh->values[j], out);
        }
        fputc(']', out);
    }
    fputc('\n', out);
}

/* A URL with its user:password (if any) replaced by "(hidden)". */
static void print_url(const char *url, FILE *out)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    const char *at = NULL;
    for (const char *p = host; *p && !strchr("/?#", *p); p++)
        if (*p == '@')
            at = p;
    if (at)
        fprintf(out, "%.*s(hidden)%s", (int)(host - url), url, at);
    else
        fputs(url, out);
}

static void print_alerts(const lw_config_t *cfg, FILE *out)
{
    const lw_alertsink_opts_t *s = &cfg->alerts.sink;
    char a[32], b[32], d[32];
    if (!cfg->alerts.configured) {
        fputs("alerts: not configured\n", out);
        return;
    }
    fprintf(out, "alerts: evaluate %s  for %u  keep_firing_for %u  max_alerts %zu  on [",
            cfg->alerts.evaluate ? "on" : "off", cfg->alerts.opts.for_evals,
            cfg->alerts.opts.keep_firing_for, cfg->alerts.opts.max_entries);
    const char *sep = "";
    for (int c = 0; c < LW_ALERT_COND_COUNT; c++)
        if (cfg->alerts.opts.on_mask & LW_ALERT_COND_BIT(c)) {
            fprintf(out, "%s%s", sep, lw_alert_cond_name((lw_alert_cond_t)c));
            sep = ", ";
        }
    fputs("]\n", out);
    if (cfg->alerts.alertmanager_url) {
        fputs("  alertmanager ", out);
        print_url(cfg->alerts.alertmanager_url, out);
        fputc('\n', out);
    }
    if (cfg->alerts.webhook_url) {
        fputs("  webhook ", out);
        print_url(cfg->alerts.webhook_url, out);
        fprintf(out, "  receiver %s", s->receiver);
        for (size_t i = 0; i < cfg->alerts.nwebhook_headers; i++) { /* values may be secrets */
            const char *h = cfg->alerts.webhook_headers[i];
            fprintf(out, "%s%.*s=(hidden)", i ? " " : "  headers ", (int)strcspn(h, ":"), h);
        }
        fputc('\n', out);
    }
    if (cfg->alerts.kafka_topic)
        fprintf(out, "  kafka topic %s\n", cfg->alerts.kafka_topic);
    if (cfg->alerts.external_url) {
        fputs("  external_url ", out);
        print_url(cfg->alerts.external_url, out);
        fputc('\n', out);
    }
    if (!cfg->alerts.alertmanager_url && !cfg->alerts.webhook_url && !cfg->alerts.kafka_topic)
        fputs("  no sinks: alerts are only logged and exported on /metrics\n", out);
    fprintf(out, "  queue_max %zu  max_firing %zu  max_batch %zu  timeout %s  resend %s  ",
            s->queue_max, s->max_firing, s->max_batch,
            lw_cfg_fmt_duration(s->timeout_ms, a, sizeof a),
            lw_cfg_fmt_duration(s->resend_ms, b, sizeof b));
    fprintf(out, "backoff %s..", lw_cfg_fmt_duration(s->backoff_initial_ms, a, sizeof a));
    fprintf(out, "%s\n", lw_cfg_fmt_duration(s->backoff_max_ms, b, sizeof b));
    fprintf(out, "  stall: no events for %s",
            lw_cfg_fmt_duration(cfg->alerts.stall_after_ms, d, sizeof d));
    if (cfg->alerts.stall_max_lag)
        fprintf(out, ", lag over %lld", (long long)cfg->alerts.stall_max_lag);
    if (cfg->alerts.stall_missing_buckets)
        fprintf(out, ", missing_buckets %zu", cfg->alerts.stall_missing_buckets);
    fputc('\n', out);
    fprintf(out, "  events lost: LeadwatchEventsLost until %s after a partition's newest loss\n",
            lw_cfg_fmt_duration(cfg->alerts.opts.lost_for_ms, d, sizeof d));
}

static void print_http(const lw_config_t *cfg, FILE *out)
{
    const lw_http_opts_t *h = &cfg->http.opts;
    if (!cfg->http.configured) {
        fputs("http: not configured (no /metrics endpoint)\n", out);
        return;
    }
    fprintf(out, "http: listen %s  max_connections %u  timeout %us  max_response %zu\n", h->listen,
            h->max_connections, h->timeout_s, h->max_response);
}

static void print_experiments(const lw_config_t *cfg, FILE *out)
{
    char a[32], b[32];
    if (!cfg->experiments.configured) {
        fputs("experiments: not configured\n", out);
        return;
    }
    fprintf(out, "experiments: windows %s / %s  buckets %ld  max_users %ld\n",
            lw_cfg_fmt_duration(cfg->experiments.short_ms, a, sizeof a),
            lw_cfg_fmt_duration(cfg->experiments.long_ms, b, sizeof b), cfg->experiments.buckets,
            cfg->experiments.max_users);
    for (size_t i = 0; i < cfg->experiments.nsources; i++) {
        const lw_exposure_src_t *s = &cfg->experiments.sources[i];
        if (s->experiment)
            fprintf(out, "  exposure event: experiment %s, variant %s", s->experiment, s->variant);
        else
            fprintf(out, "  exposure property: keys of %s starting with \"%s\"", s->object,
                    s->prefix);
        for (size_t j = 0; j < s->ncontrol; j++)
            fprintf(out, "%s%s", j ? "," : ", control ", s->control[j]);
        fputc('\n', out);
    }
}

void lw_config_print(const lw_config_t *cfg, FILE *out)
{
    char a[32], b[32];
    fprintf(out, "source: %s  store: %s  buckets: %s (grace %s)\n",
            lw_format_name(cfg->source.format), cfg->store.path,
            lw_cfg_fmt_duration(cfg->buckets.size_ms, a, sizeof a),
            lw_cfg_fmt_duration(cfg->buckets.grace_ms, b, sizeof b));
    if (cfg->source.format == LW_FMT_CUSTOM)
        fprintf(out, "fields: event=%s user=%s time=%s\n", cfg->source.event_field,
                cfg->source.user_field, cfg->source.time_field);
    if (cfg->source.user_override)
        fprintf(out, "user: %s\n", cfg->source.user_override);
    static const char *const vendor_id[] = {[LW_FMT_SEGMENT] = "messageId",
                                            [LW_FMT_AMPLITUDE] = "insert_id / $insert_id",
                                            [LW_FMT_CUSTOM] = NULL,
                                            [LW_FMT_POSTHOG] = "uuid"};
    const char *id = cfg->source.dedup_id ? cfg->source.dedup_id : vendor_id[cfg->source.format];
    if (cfg->source.dedup && id)
        fprintf(out, "dedup: by %s while its bucket is open, at most %ld ids\n", id,
                cfg->source.dedup_max_ids);
    else
        fputs("dedup: off\n", out);
    fprintf(out,
            "limits: max_event_bytes %zu  max_depth %d  max_future %s  flush every %ld events "
            "or %s\n",
            cfg->source.max_event_bytes, cfg->source.max_depth,
            lw_cfg_fmt_duration(cfg->source.max_future_ms, a, sizeof a), cfg->store.flush_events,
            lw_cfg_fmt_duration(cfg->store.flush_interval_ms, b, sizeof b));
    if (cfg->source.ntopics || cfg->source.nkafka) {
        fputs("kafka:", out);
        for (size_t i = 0; i < cfg->source.ntopics; i++)
            fprintf(out, "%s%s", i ? "," : " topics ", cfg->source.topics[i]);
        if (cfg->source.dead_letter_topic)
            fprintf(out, "  dead letters %s", cfg->source.dead_letter_topic);
        for (size_t i = 0; i < cfg->source.nkafka; i++) /* secrets are never printed */
            fprintf(out, "%s%s=%s", i ? " " : "\n  ", cfg->source.kafka[i].key,
                    lw_kafka_is_secret(cfg->source.kafka[i].key) ? "(secret)"
                                                                 : cfg->source.kafka[i].value);
        fputc('\n', out);
    }
    fputs("metrics:\n", out);
    for (size_t i = 0; i < cfg->nmetrics; i++)
        print_metric(cfg, &cfg->metrics[i], out);
    fputs("tree:\n", out);
    const char *pad = "";
    if (cfg->tree.kpi >= 0) {
        fprintf(out, "  KPI  %s\n   ^  ", cfg->metrics[cfg->tree.kpi].name);
        pad = "    ";
    } else {
        fputs("  ", out);
    }
    fprintf(out, "NSM %s\n", cfg->metrics[cfg->tree.nsm].name);
    for (size_t i = 0; i < cfg->tree.ninputs; i++)
        fprintf(out, "%s     ^ %-10s %s\n", pad, lw_input_kind_name(cfg->tree.inputs[i].kind),
                cfg->metrics[cfg->tree.inputs[i].metric].name);
    for (size_t i = 0; i < cfg->analysis.ncontrols; i++)
        fprintf(out, "%s%s%s",
                i ? ", " : "  controls (in both models of every edge): ", cfg->analysis.controls[i],
                i + 1 == cfg->analysis.ncontrols ? "\n" : "");
    for (size_t i = 0; i < cfg->analysis.nholidays; i++)
        fprintf(out, "%s%s%s",
                i ? ", " : "holidays (treated as missing): ", cfg->analysis.holidays[i],
                i + 1 == cfg->analysis.nholidays ? "\n" : "");
    print_alerts(cfg, out);
    print_http(cfg, out);
    print_experiments(cfg, out);
}

/* ----------------------------------------------------------- describe */

static const char *type_name(const key_spec_t *k, char *buf, size_t size)
{
    switch (k->type) {
    case T_STRING: return "string";
    case T_NAME: return "name";
    case T_PATH: return "path";
    case T_INT: return "integer";
    case T_NUMBER: return "number";
    case T_DURATION: return "duration";
    case T_BUCKET: return "1h|1d|1w";
    case T_FORMAT: return "segment|rudderstack|amplitude|posthog|custom";
    case T_TRUE: return "true";
    case T_REF: return "metric";
    case T_BOOL: return "true|false";
    case T_URL: return "url";
    case T_SECONDS: return "duration";
    case T_SECTION: return "mapping";
    case T_CUSTOM: return k->doc_type;
    case T_ENUM: {
        size_t used = 0;
        buf[0] = '\0';
        for (int i = 0; k->enum_names[i] && used < size; i++)
            used +=
                (size_t)snprintf(buf + used, size - used, "%s%s", i ? "|" : "", k->enum_names[i]);
        return buf;
    }
    }
    return "?";
}

/* The bounds of k as describe shows them (" [1..60]", " (0..0.5]"), or "". */
static void format_bounds(const key_spec_t *k, char *buf, size_t size)
{
    char lo[32], hi[32];
    buf[0] = '\0';
    if (k->type == T_INT || (k->type == T_CUSTOM && k->max != 0))
        snprintf(buf, size, " [%lld..%lld]", (long long)k->min, (long long)k->max);
    else if ((k->type == T_DURATION || k->type == T_SECONDS) && k->max < INT64_MAX / 2)
        snprintf(buf, size, " [%s..%s]", lw_cfg_fmt_duration(k->min, lo, sizeof lo),
                 lw_cfg_fmt_duration(k->max, hi, sizeof hi));
    else if (k->type == T_NUMBER && (k->fmin != 0 || k->fmax != 0))
        snprintf(buf, size, " %c%g..%g%c", k->fmin_open ? '(' : '[', k->fmin, k->fmax,
                 k->fmax_open ? ')' : ']');
}

static const char *default_text(const key_spec_t *k)
{
    return k->required ? "required" : k->def ? k->def : k->doc_def ? k->doc_def : "-";
}

static void describe_section(const section_t *sec, FILE *out)
{
    char tbuf[96], bounds[80];
    fprintf(out, "%s: %s\n", sec->path, sec->help);
    for (size_t i = 0; i < sec->nkeys; i++) {
        const key_spec_t *k = &sec->keys[i];
        format_bounds(k, bounds, sizeof bounds);
        fprintf(out, "  %-16s %-34s %-13s %s%s\n", k->key, type_name(k, tbuf, sizeof tbuf),
                default_text(k), k->help, bounds);
    }
}

/* The key `path` ("analysis.max_lag") in the tree under sec, or NULL. */
static const key_spec_t *find_key(const section_t *sec, const char *path)
{
    bool top = sec == &lw_cfg_top_section;
    size_t plen = top ? 0 : strlen(sec->path);
    if (!top && (strncmp(path, sec->path, plen) != 0 || path[plen] != '.'))
        plen = SIZE_MAX;
    for (size_t i = 0; i < sec->nkeys; i++) {
        const key_spec_t *k = &sec->keys[i];
        if (plen != SIZE_MAX && !k->sub && strcmp(path + (top ? 0 : plen + 1), k->key) == 0)
            return k;
        if (k->sub) {
            const key_spec_t *found = find_key(k->sub, path);
            if (found)
                return found;
        }
    }
    return NULL;
}

bool lw_config_key_doc(const char *path, char *buf, size_t size)
{
    const key_spec_t *k = find_key(&lw_cfg_top_section, path);
    if (!k)
        return false;
    char bounds[80];
    format_bounds(k, bounds, sizeof bounds);
    snprintf(buf, size, "default %s%s%s", default_text(k), bounds[0] ? ";" : "", bounds);
    return true;
}

/* A section, then the sections of its keys, depth first. */
static void describe_tree(const section_t *sec, FILE *out)
{
    fputc('\n', out);
    describe_section(sec, out);
    for (size_t i = 0; i < sec->nkeys; i++)
        if (sec->keys[i].sub)
            describe_tree(sec->keys[i].sub, out);
}

void lw_config_describe(FILE *out)
{
    fputs("Configuration keys (KEY TYPE DEFAULT HELP [BOUNDS]); unknown keys are errors.\n"
          "Durations: a whole number and a unit ms, s, m, h, d or w (500ms, 30s, 2d). Paths: "
          "dotted JSON "
          "paths with optional array indexes (context.items[0].id), at most " STR(
              LW_EVENT_MAX_PATH_DEPTH) " keys and indexes.\n"
                                       "Plain true/false are booleans, plain numbers are numbers, "
                                       "null/~ is null; quoted "
                                       "values are always strings.\n",
          out);
    describe_tree(&lw_cfg_top_section, out);
}
