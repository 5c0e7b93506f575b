/*
 * alertsink_opts.h - the options of the alert delivery sinks (alertsink.h),
 * at the model layer so that the configuration (config.h) can embed and
 * validate them without including the alert layer.
 *
 * Owned by alertsink.h (which includes this header); names keep their
 * lw_alertsink_ prefix.  Defaults are stated once, as config text in the
 * `alerts:` table of config_opts.c, which lw_alertsink_opts_default()
 * applies; bounds are the constants below, used by that table and by
 * lw_alertsink_opts_check().  The event type is only forward-declared here
 * (alert.h defines it).
 */
#ifndef LEADWATCH_ALERTSINK_OPTS_H
#define LEADWATCH_ALERTSINK_OPTS_H

#include "leadwatch/core/common.h"

#define LW_ALERTSINK_MAX_HEADERS 16
#define LW_ALERTSINK_URL_MAX 2048u
#define LW_ALERTSINK_HEADER_MAX 4096    /* bytes in one "Name: value" line */
#define LW_ALERTSINK_QUEUE_MAX 65536    /* queue_max: 1..this */
#define LW_ALERTSINK_FIRING_MAX 4096    /* max_firing: 1..this */
#define LW_ALERTSINK_BATCH_MAX 1000     /* max_batch: 1..this */
#define LW_ALERTSINK_TIMEOUT_MIN_MS 100 /* timeout_ms */
#define LW_ALERTSINK_TIMEOUT_MAX_MS 120000
#define LW_ALERTSINK_BACKOFF_MIN_MS 10 /* backoff_initial_ms and backoff_max_ms */
#define LW_ALERTSINK_BACKOFF_INITIAL_MAX_MS 600000
#define LW_ALERTSINK_BACKOFF_MAX_MS 3600000 /* backoff_max_ms: backoff_initial_ms..this */
#define LW_ALERTSINK_RESEND_MIN_MS 100      /* resend_ms */
#define LW_ALERTSINK_RESEND_MAX_MS 3600000

typedef struct lw_alert_event lw_alert_event_t; /* alert.h */

typedef enum {
    LW_ALERTSINK_DELIVERED = 0,
    LW_ALERTSINK_RETRY, /* temporary: try again after the backoff */
    LW_ALERTSINK_REJECT /* permanent: drop the event, count it as failed */
} lw_alertsink_result_t;

/* A custom sink; runs on the worker thread, one event per call. */
typedef lw_alertsink_result_t (*lw_alertsink_deliver_fn)(void *ctx, const lw_alert_event_t *ev,
                                                         char *errstr, size_t errstr_size);

/* Defaults: `leadwatch check-config --describe` (the alerts table). */
typedef struct {
    const char *alertmanager_url;       /* base URL ("http://127.0.0.1:9093"); NULL or "" = off */
    const char *webhook_url;            /* full URL; NULL or "" = off */
    const char *const *webhook_headers; /* "Name: value" lines added to webhook POSTs */
    size_t nwebhook_headers;            /* 0..LW_ALERTSINK_MAX_HEADERS */
    const char *receiver;               /* webhook payload "receiver" (alerts.webhook.receiver) */
    const char *external_url;           /* generatorURL / externalURL, default "" (left out) */
    size_t queue_max;                   /* events per sink queue */
    size_t max_firing;                  /* alerts kept for re-sending */
    size_t max_batch;                   /* alerts per Alertmanager POST */
    int64_t timeout_ms;                 /* per HTTP request */
    int64_t backoff_initial_ms;         /* first retry delay */
    int64_t backoff_max_ms;             /* cap, backoff_initial_ms..LW_ALERTSINK_BACKOFF_MAX_MS */
    int64_t resend_ms;                  /* Alertmanager re-send period */

    lw_alertsink_deliver_fn custom; /* NULL = no custom sink */
    void *custom_ctx;

    /* Injection points for tests; NULL = the real ones. */
    int64_t (*wall_ms)(void *ctx); /* wall clock for endsAt; default CLOCK_REALTIME */
    uint64_t (*rng)(void *ctx);    /* jitter, uniform 64 bits; default xorshift seeded by time */
    void *inject_ctx;
} lw_alertsink_opts_t;

/* The table defaults (config_opts.c); no sink, no custom callback, no injection. */
void lw_alertsink_opts_default(lw_alertsink_opts_t *o);
/* LW_ERR_CONFIG with "alerts.<key>: what is wrong". */
lw_err_t lw_alertsink_opts_check(const lw_alertsink_opts_t *o, char *errstr, size_t errstr_size);

#endif
