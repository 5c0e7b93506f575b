/*
 * alertkafka.c - see alertkafka.h.
 *
 * Configuration.  The properties are source.kafka in order, minus the
 * consumer-only ones, then the forced producer settings below (applied last
 * so they win).  Which properties are consumer-only is read from librdkafka
 * itself: rd_kafka_conf_properties_show() prints the property table that
 * CONFIGURATION.md is generated from, with a "C/P" scope column ("C"
 * consumer, "P" producer, "*" both).  A property is skipped when it appears
 * with scope C and never with another scope.  This follows the linked
 * librdkafka version instead of a hand-kept list; should the table's format
 * ever change, nothing is recognised and librdkafka merely logs its own
 * "consumer property ... ignored" warning.  The consumer's dead-letter
 * producer (produce.c) passes everything through and accepts that warning;
 * here the same properties would be set on a long-lived handle, so we skip
 * them to keep the log clean.
 *
 * Forced settings, and why:
 *   acks=all, enable.idempotence=true
 *       An alert state change acknowledged by only the leader can vanish
 *       when the leader fails; the idempotent producer keeps librdkafka's
 *       internal retries free of duplicates and in order per partition,
 *       which the per-alert key relies on (a consumer or a compacted topic
 *       must see "resolved" after "firing").
 *   message.timeout.ms = timeout_ms
 *       librdkafka then fails the message itself by the time we stop
 *       waiting, so a message we gave up on rarely lingers in the queue.
 *   linger.ms=0
 *       One message at a time, waited for: there is nothing to batch.
 *
 * Delivery.  lw_alertkafka_deliver renders the message, produces it with a
 * per-call sequence number as the message opaque, and serves
 * rd_kafka_poll() on the calling thread until the delivery report carrying
 * that number arrives or the deadline passes.  Reports of earlier messages
 * we gave up on carry older numbers and only count.  Error classes:
 *   permanent (REJECT): the message or topic can never be accepted - too
 *       large, invalid, not authorised, invalid topic name;
 *   fatal (RETRY): the idempotent producer can no longer be used; the
 *       handle is destroyed and re-created from a copy of the conf on the
 *       next call;
 *   everything else (RETRY): broker down, timeouts, leader changes,
 *       unknown topic (it may be created later).
 * The alert sink's worker retries with backoff and keeps its queue bounded,
 * so a RETRY never blocks consumption.
 */
#include "leadwatch/alert/alertkafka.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leadwatch/core/log.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/core/clock.h"

#define ERRMSG 512
#define POLL_SLICE_MS 50
#define TIMEOUT_STR 24

struct lw_alertkafka {
    rd_kafka_conf_t *conf; /* pristine copy, for re-creating the handle */
    rd_kafka_t *rk;        /* NULL after a fatal error until the next delivery */
    rd_kafka_topic_t *rkt; /* created with rk, so its metadata is fetched on connect */
    char *topic;
    int64_t timeout_ms;
    uint64_t seq;            /* sequence number of the message being waited for */
    bool done;               /* its delivery report arrived */
    rd_kafka_resp_err_t err; /*   with this result */
    lw_alertkafka_stats_t st;
};

/* ---- consumer-only properties ---- */

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
        (*e)--;
}

/*
 * For each of keys[0..n) set consumer_only[i].  One pass over librdkafka's
 * property table: line "NAME | SCOPE | RANGE | DEFAULT | ...".  Returns
 * false when the table cannot be produced (out of memory).
 */
static bool scan_consumer_props(const char *const *keys, size_t n, bool *consumer_only)
{
    bool *other = calloc(n ? n : 1, sizeof *other);
    char *text = NULL;
    size_t len = 0;
    FILE *f = other ? open_memstream(&text, &len) : NULL;
    if (!f) {
        free(other);
        return false;
    }
    rd_kafka_conf_properties_show(f);
    if (fclose(f) != 0 || !text) {
        free(text);
        free(other);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        consumer_only[i] = false;
    for (const char *line = text; line < text + len;) {
        const char *eol = memchr(line, '\n', (size_t)(text + len - line));
        if (!eol)
            eol = text + len;
        const char *bar1 = memchr(line, '|', (size_t)(eol - line));
        const char *bar2 = bar1 ? memchr(bar1 + 1, '|', (size_t)(eol - bar1 - 1)) : NULL;
        if (bar2) {
            const char *ns = line, *ne = bar1, *ss = bar1 + 1, *se = bar2;
            trim(&ns, &ne);
            trim(&ss, &se);
            bool c = se - ss == 1 && *ss == 'C';
            for (size_t i = 0; i < n; i++) {
                if (strlen(keys[i]) != (size_t)(ne - ns) || memcmp(keys[i], ns, (size_t)(ne - ns)))
                    continue;
                if (c)
                    consumer_only[i] = true;
                else
                    other[i] = true;
            }
        }
        line = eol + 1;
    }
    for (size_t i = 0; i < n; i++)
        consumer_only[i] = consumer_only[i] && !other[i];
    free(text);
    free(other);
    return true;
}

bool lw_alertkafka_is_consumer_prop(const char *key)
{
    bool c = false;
    return scan_consumer_props(&key, 1, &c) && c;
}

/* ---- the message ---- */

void lw_alertkafka_key(const lw_alert_event_t *ev, char *key, size_t key_size)
{
    snprintf(key, key_size, "%016" PRIx64, ev->fingerprint);
}

lw_err_t lw_alertkafka_json(lw_buf_t *b, const lw_alert_event_t *ev, const char *external_url)
{
    /* "at" has milliseconds, as the times lw_alertsink_json_alert writes. */
    char at[64];
    lw_alertsink_time_ms(ev->at_ms, at, sizeof at);
    lw_jsonw_t w;
    lw_jsonw_init(&w, b, 0);
    lw_jsonw_object(&w);
    lw_jsonw_key(&w, "version");
    lw_jsonw_string(&w, "1");
    lw_jsonw_key(&w, "state_change");
    lw_jsonw_object(&w);
    lw_jsonw_key(&w, "condition");
    lw_jsonw_string(&w, lw_alert_cond_name(ev->cond));
    lw_jsonw_key(&w, "from");
    lw_jsonw_string(&w, lw_alert_state_name(ev->from));
    lw_jsonw_key(&w, "to");
    lw_jsonw_string(&w, lw_alert_state_name(ev->to));
    lw_jsonw_key(&w, "refresh");
    lw_jsonw_bool(&w, ev->refresh);
    lw_jsonw_key(&w, "at");
    lw_jsonw_string(&w, at);
    lw_jsonw_end(&w);
    lw_jsonw_key(&w, "alert");
    lw_alertsink_jsonw_alert(&w, ev, external_url);
    lw_jsonw_end(&w);
    return lw_jsonw_finish(&w);
}

/* ---- the producer ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    lw_alertkafka_t *k = opaque;
    if ((uint64_t)(uintptr_t)m->_private != k->seq)
        return; /* a message we already gave up on (and returned RETRY for) */
    k->done = true;
    k->err = m->err;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[ERRMSG];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
        LW_LOG(LW_LOG_ERROR, "alertkafka", "fatal producer error %s: %s (will re-create)",
               rd_kafka_err2name(orig), why);
        return;
    }
    /* broker connection errors are frequent and retried by librdkafka */
    LW_LOG(LW_LOG_WARN, "alertkafka", "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err),
           reason);
}

static lw_err_t open_handle(lw_alertkafka_t *k, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(k->conf);
    if (!conf)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    char err[ERRMSG];
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!k->rk) {
        rd_kafka_conf_destroy(conf);
        return lw_seterr(errstr, errstr_size, LW_ERR_KAFKA,
                         "alerts.kafka: cannot create the producer: %s", err);
    }
    k->rkt = rd_kafka_topic_new(k->rk, k->topic, NULL);
    if (!k->rkt) {
        rd_kafka_destroy(k->rk);
        k->rk = NULL;
        return lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "alerts.kafka.topic %s: %s", k->topic,
                         rd_kafka_err2str(rd_kafka_last_error()));
    }
    return LW_OK;
}

static void close_handle(lw_alertkafka_t *k)
{
    if (!k->rk)
        return;
    /* drop what we gave up on instead of waiting for it in rd_kafka_destroy */
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(k->rk, 0);
    rd_kafka_topic_destroy(k->rkt);
    k->rkt = NULL;
    rd_kafka_destroy(k->rk);
    k->rk = NULL;
}

lw_err_t lw_alertkafka_new(const lw_kafka_prop_t *props, size_t nprops, const char *topic,
                           int64_t timeout_ms, lw_alertkafka_t **out, char *errstr,
                           size_t errstr_size)
{
    *out = NULL;
    if (!topic || !*topic)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "alerts.kafka.topic: required");
    if (timeout_ms == 0)
        timeout_ms = LW_ALERTKAFKA_TIMEOUT_DEFAULT_MS;
    if (timeout_ms < LW_ALERTKAFKA_TIMEOUT_MIN_MS || timeout_ms > LW_ALERTKAFKA_TIMEOUT_MAX_MS)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "alerts.kafka.timeout: %lld ms is outside %d..%d ms",
                         (long long)timeout_ms, LW_ALERTKAFKA_TIMEOUT_MIN_MS,
                         LW_ALERTKAFKA_TIMEOUT_MAX_MS);
    if (nprops > LW_KAFKA_MAX_PROPS)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                         "source.kafka: more than %d properties", LW_KAFKA_MAX_PROPS);
    bool has_bootstrap = false;
    for (size_t i = 0; i < nprops; i++)
        has_bootstrap |= (strcmp(props[i].key, "bootstrap.servers") == 0 ||
                          strcmp(props[i].key, "metadata.broker.list") == 0) &&
                         *props[i].value;
    if (!has_bootstrap)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "source.kafka.bootstrap.servers: required for alerts.kafka");

    lw_err_t rc = LW_ERR_NOMEM;
    lw_alertkafka_t *k = calloc(1, sizeof *k);
    const char **keys = calloc(nprops ? nprops : 1, sizeof *keys);
    bool *skip = calloc(nprops ? nprops : 1, sizeof *skip);
    lw_kafka_prop_t *kept = calloc(nprops ? nprops : 1, sizeof *kept);
    if (!k || !keys || !skip || !kept) {
        lw_seterr(errstr, errstr_size, rc, "out of memory");
        goto out_free;
    }
    k->topic = strdup(topic);
    if (!k->topic) {
        lw_seterr(errstr, errstr_size, rc, "out of memory");
        goto out_free;
    }
    k->timeout_ms = timeout_ms;

    for (size_t i = 0; i < nprops; i++)
        keys[i] = props[i].key;
    if (!scan_consumer_props(keys, nprops, skip)) {
        lw_seterr(errstr, errstr_size, rc, "out of memory");
        goto out_free;
    }
    size_t nkept = 0;
    for (size_t i = 0; i < nprops; i++) {
        if (skip[i])
            LW_LOG(LW_LOG_DEBUG, "alertkafka", "skipping consumer property %s", props[i].key);
        else
            kept[nkept++] = props[i];
    }
    char timeout[TIMEOUT_STR];
    snprintf(timeout, sizeof timeout, "%lld", (long long)timeout_ms);
    const lw_kafka_prop_t forced[] = {{"acks", "all"},
                                      {"enable.idempotence", "true"},
                                      {"message.timeout.ms", timeout},
                                      {"linger.ms", "0"}};
    char err[ERRMSG];
    k->conf =
        lw_kafka_conf_new(kept, nkept, forced, sizeof forced / sizeof forced[0], err, sizeof err);
    if (!k->conf) {
        rc = LW_ERR_CONFIG;
        lw_seterr(errstr, errstr_size, rc, "source.kafka.%s", err);
        goto out_free;
    }
    rd_kafka_conf_set_opaque(k->conf, k);
    rd_kafka_conf_set_dr_msg_cb(k->conf, on_delivery);
    rd_kafka_conf_set_error_cb(k->conf, on_error);
    rd_kafka_conf_set_log_cb(k->conf, lw_kafka_log_cb);
    rc = open_handle(k, errstr, errstr_size);
    if (rc != LW_OK)
        goto out_conf;
    free(kept);
    free(skip);
    free(keys);
    *out = k;
    return LW_OK;

out_conf:
    rd_kafka_conf_destroy(k->conf);
out_free:
    if (k)
        free(k->topic);
    free(kept);
    free(skip);
    free(keys);
    free(k);
    return rc;
}

void lw_alertkafka_destroy(lw_alertkafka_t *k)
{
    if (!k)
        return;
    close_handle(k);
    rd_kafka_conf_destroy(k->conf);
    free(k->topic);
    free(k);
}

static bool is_permanent(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__INVALID_ARG: return true;
    default: return false;
    }
}

static lw_alertsink_result_t failed(lw_alertkafka_t *k, rd_kafka_resp_err_t e, const char *what,
                                    char *errstr, size_t errstr_size)
{
    char why[ERRMSG] = "";
    if (e == RD_KAFKA_RESP_ERR__FATAL || rd_kafka_fatal_error(k->rk, why, sizeof why)) {
        lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "%s %s: fatal producer error: %s", what,
                  k->topic, why);
        close_handle(k); /* re-created by the next delivery */
        k->st.retries++;
        return LW_ALERTSINK_RETRY;
    }
    lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "%s %s: %s", what, k->topic, rd_kafka_err2str(e));
    if (is_permanent(e)) {
        k->st.rejected++;
        return LW_ALERTSINK_REJECT;
    }
    k->st.retries++;
    return LW_ALERTSINK_RETRY;
}

lw_alertsink_result_t lw_alertkafka_deliver(void *ctx, const lw_alert_event_t *ev, char *errstr,
                                            size_t errstr_size)
{
    lw_alertkafka_t *k = ctx;
    int64_t deadline = lw_clock_mono_ms() + k->timeout_ms;
    if (!k->rk) {
        k->st.reopens++;
        if (open_handle(k, errstr, errstr_size) != LW_OK) {
            k->st.retries++;
            return LW_ALERTSINK_RETRY;
        }
    }

    lw_buf_t b;
    lw_buf_init(&b, LW_ALERTKAFKA_MSG_MAX);
    if (lw_alertkafka_json(&b, ev, NULL) != LW_OK) {
        lw_seterr(errstr, errstr_size, b.err, "alert message: %s", lw_err_name(b.err));
        lw_buf_release(&b);
        k->st.rejected++;
        return LW_ALERTSINK_REJECT;
    }
    char key[24];
    lw_alertkafka_key(ev, key, sizeof key);

    k->seq++;
    k->done = false;
    rd_kafka_resp_err_t e =
        rd_kafka_producev(k->rk, RD_KAFKA_V_RKT(k->rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(b.data, b.len),
                          RD_KAFKA_V_OPAQUE((void *)(uintptr_t)k->seq), RD_KAFKA_V_END);
    lw_buf_release(&b);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return failed(k, e, "producing to", errstr, errstr_size);

    for (int64_t now = lw_clock_mono_ms(); !k->done && now < deadline; now = lw_clock_mono_ms()) {
        int64_t left = deadline - now;
        rd_kafka_poll(k->rk, (int)(left < POLL_SLICE_MS ? left : POLL_SLICE_MS));
    }
    if (!k->done) {
        /* message.timeout.ms will fail it shortly; its late report is ignored */
        lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "no acknowledgement from %s within %lld ms",
                  k->topic, (long long)k->timeout_ms);
        k->st.retries++;
        return LW_ALERTSINK_RETRY;
    }
    if (k->err != RD_KAFKA_RESP_ERR_NO_ERROR)
        return failed(k, k->err, "delivery to", errstr, errstr_size);
    k->st.delivered++;
    return LW_ALERTSINK_DELIVERED;
}

void lw_alertkafka_stats(const lw_alertkafka_t *k, lw_alertkafka_stats_t *out)
{
    *out = k->st;
}

rd_kafka_t *lw_alertkafka_handle(lw_alertkafka_t *k)
{
    return k->rk;
}
