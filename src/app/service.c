/*
 * service.c - `leadwatch run` as a service (see service.h).
 *
 * Ownership: the caller owns the first config, the store and the pipeline.
 * The service owns the registry, the HTTP server, the alert sink (and its
 * Kafka producer), the evaluator (evaluator.h: the watcher on its own
 * thread and store connection), and every config a SIGHUP loaded (`cur`;
 * the previous one is freed once nothing points into it: the watcher and
 * the sink are switched first, under the evaluator's watch mutex, so no
 * evaluation runs on the old ones).  The alert sink copies its strings, the
 * watcher borrows `cur`.
 *
 * Reload, on the daemon's thread between two polls (daemon.h on_reload):
 *     load the file            -> refused on any error (file:line logged)
 *     lw_service_reload_blocker -> refused when buckets/metrics/tree changed
 *     sink options changed?     -> build the new sink first; on failure the
 *                                  reload is refused and the old one stays
 *     lw_evaluator_reload       -> refused when the alert options are not
 *                                  acceptable (e.g. max_alerts below use)
 *     swap: destroy the old sink (its queue is dropped, logged), re-announce
 *     firing alerts to the new one, new stall bounds, free the old config.
 */
#include "leadwatch/app/service.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leadwatch/alert/alertkafka.h"
#include "leadwatch/alert/alertsink.h"
#include "leadwatch/alert/http.h"
#include "leadwatch/core/log.h"
#include "leadwatch/core/clock.h"
#include "leadwatch/alert/procmetrics.h"
#include "leadwatch/alert/promtext.h"
#include "leadwatch/app/evaluator.h"

#define REG_FAMILIES 64
#define REG_SERIES 20000

/* ---- the reload rule ----------------------------------------------------- */

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool scalar_eq(const lw_scalar_t *a, const lw_scalar_t *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case LW_SCALAR_STRING: return str_eq(a->str, b->str);
    case LW_SCALAR_NUMBER: return a->num == b->num;
    case LW_SCALAR_BOOL: return a->b == b->b;
    case LW_SCALAR_NULL: return true;
    }
    return false;
}

static bool metric_eq(const lw_metric_def_t *a, const lw_metric_def_t *b)
{
    if (!str_eq(a->name, b->name) || a->kind != b->kind || !str_eq(a->field, b->field) ||
        a->scale != b->scale || a->ratio_num != b->ratio_num || a->ratio_den != b->ratio_den ||
        a->window_ms != b->window_ms || a->nwhere != b->nwhere)
        return false;
    for (size_t i = 0; i < a->nwhere; i++) {
        const lw_where_t *x = &a->where[i], *y = &b->where[i];
        if (!str_eq(x->path, y->path) || x->nvalues != y->nvalues)
            return false;
        for (size_t k = 0; k < x->nvalues; k++)
            if (!scalar_eq(&x->values[k], &y->values[k]))
                return false;
    }
    return true;
}

const char *lw_service_reload_blocker(const lw_config_t *cur, const lw_config_t *next)
{
    if (cur->buckets.size_ms != next->buckets.size_ms ||
        cur->buckets.grace_ms != next->buckets.grace_ms)
        return "buckets";
    if (cur->nmetrics != next->nmetrics)
        return "metrics";
    for (size_t i = 0; i < cur->nmetrics; i++)
        if (!metric_eq(&cur->metrics[i], &next->metrics[i]))
            return "metrics";
    if (cur->tree.nsm != next->tree.nsm || cur->tree.kpi != next->tree.kpi ||
        cur->tree.ninputs != next->tree.ninputs)
        return "tree";
    for (size_t i = 0; i < cur->tree.ninputs; i++)
        if (cur->tree.inputs[i].metric != next->tree.inputs[i].metric ||
            cur->tree.inputs[i].kind != next->tree.inputs[i].kind)
            return "tree";
    return NULL;
}

/* Sections read at start only: a line per one that differs (they are ignored). */
static void log_restart_only(const lw_config_t *cur, const lw_config_t *next)
{
    bool source = cur->source.format != next->source.format ||
                  cur->source.nkafka != next->source.nkafka ||
                  cur->source.ntopics != next->source.ntopics ||
                  !str_eq(cur->source.dead_letter_topic, next->source.dead_letter_topic);
    for (size_t i = 0; !source && i < cur->source.nkafka; i++)
        source = !str_eq(cur->source.kafka[i].key, next->source.kafka[i].key) ||
                 !str_eq(cur->source.kafka[i].value, next->source.kafka[i].value);
    for (size_t i = 0; !source && i < cur->source.ntopics; i++)
        source = !str_eq(cur->source.topics[i], next->source.topics[i]);
    bool store = !str_eq(cur->store.path, next->store.path) ||
                 cur->store.flush_events != next->store.flush_events ||
                 cur->store.flush_interval_ms != next->store.flush_interval_ms;
    bool http = cur->http.configured != next->http.configured ||
                !str_eq(cur->http.listen, next->http.listen) ||
                cur->http.opts.max_connections != next->http.opts.max_connections ||
                cur->http.opts.timeout_s != next->http.opts.timeout_s ||
                cur->http.opts.max_response != next->http.opts.max_response ||
                cur->http.ready_broker_timeout_ms != next->http.ready_broker_timeout_ms;
    if (source || store || http)
        LW_LOG(LW_LOG_WARN, "service",
               "reload: changes to%s%s%s are read at start only; "
               "restart to apply them",
               source ? " source" : "", store ? " store" : "", http ? " http" : "");
}

static bool sink_wanted(const lw_config_t *cfg)
{
    return cfg->alerts.alertmanager_url || cfg->alerts.webhook_url || cfg->alerts.kafka_topic;
}

/* Do two configs ask for the same delivery? (else the sink is rebuilt on reload) */
static bool sink_same(const lw_config_t *a, const lw_config_t *b)
{
    const lw_alertsink_opts_t *x = &a->alerts.sink, *y = &b->alerts.sink;
    if (!str_eq(a->alerts.alertmanager_url, b->alerts.alertmanager_url) ||
        !str_eq(a->alerts.webhook_url, b->alerts.webhook_url) ||
        !str_eq(a->alerts.kafka_topic, b->alerts.kafka_topic) ||
        !str_eq(a->alerts.receiver, b->alerts.receiver) ||
        !str_eq(a->alerts.external_url, b->alerts.external_url) ||
        a->alerts.nwebhook_headers != b->alerts.nwebhook_headers)
        return false;
    for (size_t i = 0; i < a->alerts.nwebhook_headers; i++)
        if (!str_eq(a->alerts.webhook_headers[i], b->alerts.webhook_headers[i]))
            return false;
    return x->queue_max == y->queue_max && x->max_firing == y->max_firing &&
           x->max_batch == y->max_batch && x->timeout_ms == y->timeout_ms &&
           x->backoff_initial_ms == y->backoff_initial_ms &&
           x->backoff_max_ms == y->backoff_max_ms && x->resend_ms == y->resend_ms;
}

/* ---- the service --------------------------------------------------------- */

typedef struct {
    const lw_service_opts_t *o;
    lw_config_t *cur; /* the newest reloaded config (owned), NULL = still o->cfg */
    lw_promtext_t *reg;
    lw_http_t *http;
    lw_alertsink_t *sink;
    lw_alertkafka_t *kafka_sink;
    lw_evaluator_t *evaluator;
    lw_procmetrics_t *proc; /* build_info and process_* */
    lw_promtext_series_t *reloads_ok, *reloads_failed;
    /* delivery metrics per receiver, from the sink's cumulative stats */
    lw_promtext_series_t *m_enq[LW_ALERTSINK_NSINKS], *m_del[LW_ALERTSINK_NSINKS],
        *m_drop[LW_ALERTSINK_NSINKS], *m_fail[LW_ALERTSINK_NSINKS], *m_retry[LW_ALERTSINK_NSINKS],
        *m_queued[LW_ALERTSINK_NSINKS];
    lw_promtext_family_t *m_fam[6]; /* the families behind the arrays above, in that order */
    lw_alertsink_sink_stats_t last[LW_ALERTSINK_NSINKS];
    /* Guards `sink` and `last`: the loop thread sets the sink (start, after
     * the HTTP server), swaps it (reload) and takes it (shutdown) while the
     * HTTP thread copies its stats at each scrape.  Every write of `sink`
     * is under it; the loop thread, the only writer, reads it without. */
    pthread_mutex_t sink_mu;
} service_t;

static const lw_config_t *current(const service_t *s)
{
    return s->cur ? s->cur : s->o->cfg;
}

/* A new sink (and Kafka producer) for cfg; both NULL when no receiver is configured. */
static lw_err_t sink_new(const service_t *s, const lw_config_t *cfg, lw_alertsink_t **sink,
                         lw_alertkafka_t **ks, char *errstr, size_t errstr_size)
{
    *sink = NULL;
    *ks = NULL;
    if (!sink_wanted(cfg))
        return LW_OK;
    lw_alertsink_opts_t so = cfg->alerts.sink;
    lw_err_t err;
    if (cfg->alerts.kafka_topic) {
        err = lw_alertkafka_new(s->o->kafka->props, s->o->kafka->nprops, cfg->alerts.kafka_topic,
                                so.timeout_ms, ks, errstr, errstr_size);
        if (err != LW_OK)
            return err;
        so.custom = lw_alertkafka_deliver;
        so.custom_ctx = *ks;
    }
    err = lw_alertsink_new(&so, sink, errstr, errstr_size);
    if (err != LW_OK) {
        lw_alertkafka_destroy(*ks);
        *ks = NULL;
    }
    return err;
}

static void sink_destroy(lw_alertsink_t *sink, lw_alertkafka_t *ks, int64_t drain_ms)
{
    if (!sink)
        return;
    if (drain_ms > 0 && !lw_alertsink_flush(sink, drain_ms)) {
        lw_alertsink_stats_t st;
        lw_alertsink_stats(sink, &st);
        size_t left = 0;
        for (int k = 0; k < LW_ALERTSINK_NSINKS; k++)
            left += st.sink[k].queued;
        LW_LOG(LW_LOG_WARN, "service", "%zu alert event(s) still queued after %lld ms: dropped",
               left, (long long)drain_ms);
    }
    lw_alertsink_destroy(sink); /* first: the worker calls into the Kafka producer */
    lw_alertkafka_destroy(ks);
}

static void log_sinks(const lw_config_t *cfg)
{
    if (!sink_wanted(cfg)) {
        LW_LOG(LW_LOG_INFO, "service",
               "no alert receiver configured: alert transitions are "
               "logged only");
        return;
    }
    LW_LOG(LW_LOG_INFO, "service", "alerts go to%s%s%s%s%s%s",
           cfg->alerts.alertmanager_url ? " alertmanager " : "",
           cfg->alerts.alertmanager_url ? cfg->alerts.alertmanager_url : "",
           cfg->alerts.webhook_url ? " webhook " : "",
           cfg->alerts.webhook_url ? cfg->alerts.webhook_url : "",
           cfg->alerts.kafka_topic ? " kafka topic " : "",
           cfg->alerts.kafka_topic ? cfg->alerts.kafka_topic : "");
}

/* Counter += (now - last), where a smaller `now` means a new sink (reload) started at 0. */
static void add_since(lw_promtext_series_t *m, uint64_t now, uint64_t last)
{
    lw_promtext_add(m, (double)(now >= last ? now - last : now));
}

static const size_t sink_metric_off[6] = {
    offsetof(service_t, m_enq),  offsetof(service_t, m_del),   offsetof(service_t, m_drop),
    offsetof(service_t, m_fail), offsetof(service_t, m_retry), offsetof(service_t, m_queued)};

/* The series of receiver kind k, created when it is first configured (so a
 * receiver that is not configured exports nothing). */
static bool sink_series(service_t *s, int k)
{
    if (s->m_enq[k])
        return true;
    const char *v[] = {k == LW_ALERTSINK_CUSTOM ? "kafka"
                                                : lw_alertsink_kind_name((lw_alertsink_kind_t)k)};
    for (size_t f = 0; f < 6; f++) {
        lw_promtext_series_t **arr = (lw_promtext_series_t **)((char *)s + sink_metric_off[f]);
        arr[k] = lw_promtext_series(s->m_fam[f], v);
    }
    return true;
}

/* Copies the sink's cumulative stats into the delivery metrics; sink_mu held. */
static void collect_sink_locked(service_t *s)
{
    lw_alertsink_stats_t st;
    if (!s->sink || !s->m_fam[0])
        return;
    lw_alertsink_stats(s->sink, &st);
    for (int k = 0; k < LW_ALERTSINK_NSINKS; k++) {
        const lw_alertsink_sink_stats_t *n = &st.sink[k], *l = &s->last[k];
        if (!n->configured || !sink_series(s, k))
            continue;
        add_since(s->m_enq[k], n->enqueued, l->enqueued);
        add_since(s->m_del[k], n->delivered, l->delivered);
        add_since(s->m_drop[k], n->dropped, l->dropped);
        add_since(s->m_fail[k], n->failed, l->failed);
        add_since(s->m_retry[k], n->retries, l->retries);
        lw_promtext_set(s->m_queued[k], (double)n->queued);
        s->last[k] = *n;
    }
}

/* The registry's collect function (promtext.h): runs at every scrape, on
 * the HTTP thread, so the delivery metrics are current even while the loop
 * thread is busy evaluating. */
static void collect_sink(void *ctx)
{
    service_t *s = ctx;
    pthread_mutex_lock(&s->sink_mu);
    collect_sink_locked(s);
    pthread_mutex_unlock(&s->sink_mu);
}

/* Takes the sink out of the service (NULL after), counting what it did so far. */
static lw_alertsink_t *take_sink(service_t *s)
{
    pthread_mutex_lock(&s->sink_mu);
    collect_sink_locked(s);
    lw_alertsink_t *old = s->sink;
    s->sink = NULL;
    memset(s->last, 0, sizeof s->last);
    pthread_mutex_unlock(&s->sink_mu);
    return old;
}

/* Per-receiver delivery families (series: sink_series). */
static lw_err_t register_sink_metrics(service_t *s, char *errstr, size_t errstr_size)
{
    static const char *const recv_label[] = {"receiver"};
    static const struct {
        const char *name, *help;
        lw_promtext_type_t type;
    } fams[6] = {
        {"alert_events_enqueued_total", "alert events queued for a receiver", LW_PROMTEXT_COUNTER},
        {"alert_events_delivered_total", "alert events the receiver accepted", LW_PROMTEXT_COUNTER},
        {"alert_events_dropped_total", "oldest alert events pushed out of a full queue",
         LW_PROMTEXT_COUNTER},
        {"alert_events_failed_total", "alert events the receiver rejected permanently (4xx)",
         LW_PROMTEXT_COUNTER},
        {"alert_delivery_retries_total", "failed delivery attempts that were retried",
         LW_PROMTEXT_COUNTER},
        {"alert_queue_length", "alert events waiting for a receiver", LW_PROMTEXT_GAUGE},
    };
    for (size_t f = 0; f < 6; f++) {
        lw_err_t err =
            lw_promtext_family(s->reg, fams[f].type, fams[f].name, fams[f].help, recv_label, 1,
                               NULL, 0, &s->m_fam[f], errstr, errstr_size);
        if (err != LW_OK)
            return err;
    }
    return LW_OK;
}

static lw_err_t on_reload(void *ctx, lw_daemon_tunables_t *t)
{
    service_t *s = ctx;
    char err[1024];
    lw_config_t *next = NULL;
    LW_LOG(LW_LOG_INFO, "service", "SIGHUP: reloading %s", s->o->config_path);
    lw_err_t e = lw_config_load(s->o->config_path, &next, err, sizeof err);
    if (e != LW_OK) {
        LW_LOG(LW_LOG_ERROR, "service", "reload refused, keeping the running config: %s", err);
        goto refused;
    }
    const char *blocker = lw_service_reload_blocker(current(s), next);
    if (blocker) {
        LW_LOG(LW_LOG_ERROR, "service",
               "reload refused, keeping the running config: the `%s` section changed, which "
               "needs a restart (the stored series and verdicts belong to the running tree)",
               blocker);
        goto refused;
    }
    log_restart_only(current(s), next);
    bool new_sink = !sink_same(current(s), next);
    lw_alertsink_t *sink = s->sink;
    lw_alertkafka_t *ks = s->kafka_sink;
    if (new_sink && sink_new(s, next, &sink, &ks, err, sizeof err) != LW_OK) {
        LW_LOG(LW_LOG_ERROR, "service", "reload refused, keeping the running config: %s", err);
        goto refused;
    }
    if (lw_evaluator_reload(s->evaluator, next, sink, err, sizeof err) != LW_OK) {
        LW_LOG(LW_LOG_ERROR, "service", "reload refused, keeping the running config: %s", err);
        if (new_sink)
            sink_destroy(sink, ks, 0);
        goto refused;
    }
    if (new_sink) {
        lw_alertsink_t *old = take_sink(s); /* counts what the old sink did before it goes */
        sink_destroy(old, s->kafka_sink, 0);
        pthread_mutex_lock(&s->sink_mu);
        s->sink = sink;
        pthread_mutex_unlock(&s->sink_mu);
        s->kafka_sink = ks;
        log_sinks(next);
        lw_evaluator_reannounce(s->evaluator, lw_clock_wall_ms());
    }
    t->stall_after_ms = next->alerts.stall_after_ms;
    t->stall_max_lag = next->alerts.stall_max_lag;
    lw_config_free(s->cur);
    s->cur = next;
    LW_LOG(LW_LOG_INFO, "service", "reloaded the analysis and alerts sections%s",
           new_sink ? " (new alert receivers)" : "");
    if (s->reloads_ok)
        lw_promtext_inc(s->reloads_ok);
    return LW_OK;
refused:
    lw_config_free(next);
    if (s->reloads_failed)
        lw_promtext_inc(s->reloads_failed);
    return LW_ERR_CONFIG;
}

static lw_err_t start(service_t *s, char *errstr, size_t errstr_size)
{
    const lw_service_opts_t *o = s->o;
    const lw_config_t *cfg = o->cfg;
    lw_err_t err =
        lw_promtext_new("leadwatch", REG_FAMILIES, REG_SERIES, &s->reg, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    static const char *const result_label[] = {"result"};
    lw_promtext_family_t *f;
    err = lw_promtext_family(s->reg, LW_PROMTEXT_COUNTER, "config_reloads_total",
                             "SIGHUP reloads by result", result_label, 1, NULL, 0, &f, errstr,
                             errstr_size);
    if (err != LW_OK)
        return err;
    s->reloads_ok = lw_promtext_series(f, (const char *const[]){"applied"});
    s->reloads_failed = lw_promtext_series(f, (const char *const[]){"refused"});
    if ((err = register_sink_metrics(s, errstr, errstr_size)) != LW_OK)
        return err;
    if ((err = lw_procmetrics_new(s->reg, &s->proc, errstr, errstr_size)) != LW_OK)
        return err;
    if ((err = lw_promtext_add_collect(s->reg, collect_sink, s)) != LW_OK)
        return lw_seterr(errstr, errstr_size, err, "metrics: too many collectors");

    if (cfg->http.configured || o->http_listen) {
        lw_http_opts_t ho = cfg->http.opts;
        if (o->http_listen)
            ho.listen = o->http_listen;
        err = lw_http_new(&ho, s->reg, &s->http, errstr, errstr_size);
        if (err != LW_OK)
            return err == LW_ERR_IO ? LW_ERR_CONFIG : err;
        LW_LOG(LW_LOG_INFO, "service", "serving /metrics, /healthz and /readyz on port %u",
               (unsigned)lw_http_port(s->http));
    }
    /* the HTTP thread may be scraping already: its collect_sink reads `sink` under sink_mu,
     * so the sink is made aside and published under the mutex, as a reload does */
    lw_alertsink_t *sink;
    err = sink_new(s, cfg, &sink, &s->kafka_sink, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    pthread_mutex_lock(&s->sink_mu);
    s->sink = sink;
    pthread_mutex_unlock(&s->sink_mu);
    log_sinks(cfg);
    lw_evaluator_opts_t eo = {
        .store_target = o->store_path, .cfg = cfg, .metrics = s->reg, .sink = sink};
    return lw_evaluator_new(&eo, lw_clock_wall_ms(), &s->evaluator, errstr, errstr_size);
}

lw_err_t lw_service_run(const lw_service_opts_t *o, lw_daemon_result_t *res, char *errstr,
                        size_t errstr_size)
{
    service_t s = {.o = o};
    memset(res, 0, sizeof *res);
    if (pthread_mutex_init(&s.sink_mu, NULL) != 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "service: cannot create a mutex");
    lw_err_t err = start(&s, errstr, errstr_size);
    if (err == LW_OK) {
        lw_daemon_opts_t d = {
            .kafka = o->kafka,
            .stop = o->stop,
            .exit_when_idle_ms = o->exit_when_idle_ms,
            .evaluator = s.evaluator,
            .metrics = s.reg,
            .http = s.http,
            .ready_broker_timeout_ms = o->cfg->http.ready_broker_timeout_ms,
            .tunables = {.stall_after_ms = o->cfg->alerts.stall_after_ms,
                         .stall_max_lag = o->cfg->alerts.stall_max_lag},
            .reload = o->reload,
            .on_reload = on_reload,
            .reload_ctx = &s,
        };
        err = lw_daemon_run(o->pipeline, &d, res, errstr, errstr_size);
    }
    lw_evaluator_destroy(s.evaluator);
    sink_destroy(take_sink(&s), s.kafka_sink, LW_SERVICE_DRAIN_MS);
    lw_http_destroy(s.http);
    lw_promtext_destroy(s.reg);
    lw_procmetrics_free(s.proc);
    lw_config_free(s.cur);
    pthread_mutex_destroy(&s.sink_mu);
    return err;
}
