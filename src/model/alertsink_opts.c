/*
 * alertsink_opts.c - the bounds check of the alert sink options
 * (alertsink_opts.h).  The defaults live in the config's alerts table
 * (lw_alertsink_opts_default is defined next to it, in config_opts.c).
 * Messages name the config key ("alerts.queue_max") so that the config can
 * re-issue them on the key's line.
 */
#include "leadwatch/model/alertsink_opts.h"

#include <inttypes.h>
#include <string.h>

static bool http_url(const char *u)
{
    return u && (strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) &&
           strlen(u) < LW_ALERTSINK_URL_MAX - 32 && !strpbrk(u, " \t\r\n");
}

lw_err_t lw_alertsink_opts_check(const lw_alertsink_opts_t *o, char *errstr, size_t errstr_size)
{
    if (o->alertmanager_url && *o->alertmanager_url && !http_url(o->alertmanager_url))
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "alerts.alertmanager.url: not an http(s) URL");
    if (o->webhook_url && *o->webhook_url && !http_url(o->webhook_url))
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "alerts.webhook.url: not an http(s) URL");
    if (o->nwebhook_headers > LW_ALERTSINK_MAX_HEADERS)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "alerts.webhook.headers: more than %d",
                         LW_ALERTSINK_MAX_HEADERS);
    for (size_t i = 0; i < o->nwebhook_headers; i++) {
        const char *h = o->webhook_headers[i], *colon = h ? strchr(h, ':') : NULL;
        if (!colon || colon == h || strpbrk(h, "\r\n") || strlen(h) > LW_ALERTSINK_HEADER_MAX)
            return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                             "alerts.webhook.headers: entry %zu is not \"Name: value\"", i);
    }
    if (o->queue_max < 1 || o->queue_max > LW_ALERTSINK_QUEUE_MAX)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "alerts.queue_max: %zu is outside 1..%d", o->queue_max,
                         LW_ALERTSINK_QUEUE_MAX);
    if (o->max_firing < 1 || o->max_firing > LW_ALERTSINK_FIRING_MAX)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "alerts.max_firing: %zu is outside 1..%d", o->max_firing,
                         LW_ALERTSINK_FIRING_MAX);
    if (o->max_batch < 1 || o->max_batch > LW_ALERTSINK_BATCH_MAX)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "alerts.max_batch: %zu is outside 1..%d", o->max_batch,
                         LW_ALERTSINK_BATCH_MAX);
    if (o->timeout_ms < LW_ALERTSINK_TIMEOUT_MIN_MS || o->timeout_ms > LW_ALERTSINK_TIMEOUT_MAX_MS)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "alerts.timeout: %" PRId64 " ms is outside %d..%d ms", o->timeout_ms,
                         LW_ALERTSINK_TIMEOUT_MIN_MS, LW_ALERTSINK_TIMEOUT_MAX_MS);
    if (o->backoff_initial_ms < LW_ALERTSINK_BACKOFF_MIN_MS ||
        o->backoff_initial_ms > LW_ALERTSINK_BACKOFF_INITIAL_MAX_MS ||
        o->backoff_max_ms < o->backoff_initial_ms ||
        o->backoff_max_ms > LW_ALERTSINK_BACKOFF_MAX_MS)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "alerts.backoff: initial %d..%d ms, max initial..%d ms",
                         LW_ALERTSINK_BACKOFF_MIN_MS, LW_ALERTSINK_BACKOFF_INITIAL_MAX_MS,
                         LW_ALERTSINK_BACKOFF_MAX_MS);
    if (o->resend_ms < LW_ALERTSINK_RESEND_MIN_MS || o->resend_ms > LW_ALERTSINK_RESEND_MAX_MS)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "alerts.resend: %" PRId64 " ms is outside %d..%d ms", o->resend_ms,
                         LW_ALERTSINK_RESEND_MIN_MS, LW_ALERTSINK_RESEND_MAX_MS);
    return LW_OK;
}
