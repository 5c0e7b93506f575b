/*
 * alertsink.h - delivery of alert events (alert.h) off the caller's thread:
 * Alertmanager (v2 API), a generic webhook (Alertmanager webhook payload
 * v4) and a custom callback (the future Kafka sink).
 *
 * The caller (the daemon's consumer thread) hands events to
 * lw_alertsink_enqueue, which copies them into one bounded queue per sink
 * and returns: it never waits for the network.  One worker thread delivers
 * each queue in order, retrying failures (transport errors, 408, 429, 5xx)
 * with exponential backoff and jitter for as long as it takes; a full
 * queue drops its oldest event and counts it.  Permanent failures (other
 * 4xx, or the custom callback saying so) drop the event and count it.
 *
 * Which events each sink gets:
 *   alertmanager: firing (also refreshes) and resolved.  It also keeps the
 *                 set of alerts currently firing and re-posts them every
 *                 resend_ms with endsAt = now + 4 resend_ms, so Alertmanager
 *                 keeps them while leadwatch lives and lets them expire if
 *                 it dies; a resolution is posted with endsAt = when it
 *                 resolved.
 *   webhook:      firing (not refreshes) and resolved, one POST each.
 *   custom:       every state change (pending, nodata, ... too).
 *
 * Payloads (exact shapes in src/alertsink.c):
 *   POST <alertmanager>/api/v2/alerts
 *     [{"labels":{..},"annotations":{..},"startsAt":"..","endsAt":"..","generatorURL":".."}]
 *   POST <webhook>   {"version":"4","groupKey":..,"truncatedAlerts":0,"status":..,
 *     "receiver":..,"groupLabels":{"alertname":..},"commonLabels":{..},
 *     "commonAnnotations":{..},"externalURL":..,"alerts":[{"status":..,"labels":..,
 *     "annotations":..,"startsAt":..,"endsAt":..,"generatorURL":..,"fingerprint":..}]}
 */
#ifndef LEADWATCH_ALERTSINK_H
#define LEADWATCH_ALERTSINK_H

#include "leadwatch/alert/alert.h"
#include "leadwatch/core/common.h"
#include "leadwatch/core/jsonw.h"

#define LW_ALERTSINK_MAX_HEADERS 16u
#define LW_ALERTSINK_URL_MAX 2048u

typedef enum {
    LW_ALERTSINK_DELIVERED = 0,
    LW_ALERTSINK_RETRY, /* temporary: try again after the backoff */
    LW_ALERTSINK_REJECT /* permanent: drop the event, count it as failed */
} lw_alertsink_result_t;

/* A custom sink; runs on the worker thread, one event per call. */
typedef lw_alertsink_result_t (*lw_alertsink_deliver_fn)(void *ctx, const lw_alert_event_t *ev,
                                                         char *errstr, size_t errstr_size);

typedef struct {
    const char *alertmanager_url;       /* base URL ("http://127.0.0.1:9093"); NULL or "" = off */
    const char *webhook_url;            /* full URL; NULL or "" = off */
    const char *const *webhook_headers; /* "Name: value" lines added to webhook POSTs */
    size_t nwebhook_headers;            /* 0..LW_ALERTSINK_MAX_HEADERS */
    const char *receiver;               /* webhook payload "receiver", default "leadwatch" */
    const char *external_url;           /* generatorURL / externalURL, default "" (left out) */
    size_t queue_max;                   /* events per sink queue, 1..65536, default 256 */
    size_t max_firing;                  /* alerts kept for re-sending, 1..4096, default 256 */
    size_t max_batch;                   /* alerts per Alertmanager POST, 1..1000, default 64 */
    int64_t timeout_ms;                 /* per HTTP request, 100..120000, default 5000 */
    int64_t backoff_initial_ms;         /* first retry delay, 10..600000, default 500 */
    int64_t backoff_max_ms;             /* cap, backoff_initial_ms..3600000, default 60000 */
    int64_t resend_ms; /* Alertmanager re-send period, 100..3600000, default 60000 */

    lw_alertsink_deliver_fn custom; /* NULL = no custom sink */
    void *custom_ctx;

    /* Injection points for tests; NULL = the real ones. */
    int64_t (*wall_ms)(void *ctx); /* wall clock for endsAt; default CLOCK_REALTIME */
    uint64_t (*rng)(void *ctx);    /* jitter, uniform 64 bits; default xorshift seeded by time */
    void *inject_ctx;
} lw_alertsink_opts_t;

void lw_alertsink_opts_default(lw_alertsink_opts_t *o);
/* LW_ERR_CONFIG with "alerts.<key>: what is wrong". */
lw_err_t lw_alertsink_opts_check(const lw_alertsink_opts_t *o, char *errstr, size_t errstr_size);

typedef enum {
    LW_ALERTSINK_AM = 0,
    LW_ALERTSINK_WEBHOOK,
    LW_ALERTSINK_CUSTOM,
    LW_ALERTSINK_NSINKS
} lw_alertsink_kind_t;

typedef struct {
    bool configured;
    uint64_t enqueued;  /* events accepted into the queue */
    uint64_t delivered; /* events delivered */
    uint64_t dropped;   /* oldest events pushed out by a full queue */
    uint64_t failed;    /* events rejected permanently */
    uint64_t retries;   /* failed attempts that were retried */
    size_t queued;      /* events waiting now */
} lw_alertsink_sink_stats_t;

typedef struct {
    lw_alertsink_sink_stats_t sink[LW_ALERTSINK_NSINKS];
    size_t firing;            /* alerts in the Alertmanager re-send set */
    uint64_t resends;         /* re-send POSTs that succeeded */
    uint64_t resend_failures; /* re-send POSTs that failed (retried next period) */
} lw_alertsink_stats_t;

typedef struct lw_alertsink lw_alertsink_t;

/*
 * Copy the options (strings included) and start the worker thread.
 * LW_ERR_CONFIG for bad options, LW_ERR_NOMEM, LW_ERR_IO when curl or the
 * thread cannot start.
 */
lw_err_t lw_alertsink_new(const lw_alertsink_opts_t *opts, lw_alertsink_t **out, char *errstr,
                          size_t errstr_size);

/*
 * Stop the worker (an HTTP request in flight is aborted) and free
 * everything; events still queued are lost.  NULL is a no-op.
 */
void lw_alertsink_destroy(lw_alertsink_t *s);

/*
 * Queue copies of n events for every sink that wants them.  Never waits on
 * the network: it only holds the queue mutex for the copies.  Any thread.
 */
void lw_alertsink_enqueue(lw_alertsink_t *s, const lw_alert_event_t *ev, size_t n);

/* Wait up to timeout_ms for every queue to empty; true when they did. */
bool lw_alertsink_flush(lw_alertsink_t *s, int64_t timeout_ms);

void lw_alertsink_stats(lw_alertsink_t *s, lw_alertsink_stats_t *out);

/* "alertmanager", "webhook", "custom". */
const char *lw_alertsink_kind_name(lw_alertsink_kind_t k);

/*
 * The JSON documents, exposed for tests and for the Kafka sink (one alert
 * as in the webhook's alerts[]).  `now_ms` is the wall clock (endsAt of
 * firing alerts is now + 4 resend_ms).  Errors are the buffer's.  Strings
 * are escaped by core/jsonw.h (invalid UTF-8 -> \ufffd per byte).
 */
lw_err_t lw_alertsink_json_alertmanager(lw_buf_t *b, const lw_alert_event_t *const *ev, size_t n,
                                        int64_t now_ms, int64_t ttl_ms, const char *external_url);
lw_err_t lw_alertsink_json_webhook(lw_buf_t *b, const lw_alert_event_t *ev, const char *receiver,
                                   const char *external_url);
lw_err_t lw_alertsink_json_alert(lw_buf_t *b, const lw_alert_event_t *ev, const char *external_url);

/* The same alert object as a value inside a document another writer builds. */
void lw_alertsink_jsonw_alert(lw_jsonw_t *w, const lw_alert_event_t *ev, const char *external_url);

/* RFC 3339 UTC with milliseconds, as the payloads write times: "2026-01-01T00:00:00.250Z". */
void lw_alertsink_time_ms(int64_t ms, char *buf, size_t size);

#endif
