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
#include "leadwatch/model/alertsink_opts.h" /* lw_alertsink_opts_t, its bounds, check */
#include "leadwatch/core/jsonw.h"

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
