/*
 * alertsink.c - bounded, retrying alert delivery on a worker thread (see
 * alertsink.h).
 *
 * Data layout.  Each sink has a ring of queue_max items (an event copy and
 * a per-sink sequence number).  lw_alertsink_enqueue pushes under the
 * mutex; a full ring first drops its head (the oldest event) and counts it.
 * The Alertmanager sink also keeps `firing`, the set of alerts firing now
 * (upserted on a firing event, removed on a resolved one, by fingerprint),
 * updated at enqueue time so it is right even when the ring dropped the
 * event that changed it.
 *
 * Worker loop (one thread, mutex held except around network calls):
 *   1. For each sink whose head is due (no backoff pending): copy up to
 *      max_batch (Alertmanager) or 1 (others) items, unlock, deliver, lock.
 *      Delivered or rejected: pop the items up to the last sequence number
 *      taken - the sequence numbers make this right even if overflow
 *      dropped some of them meanwhile.  Retry: attempt++, and the sink
 *      waits backoff(attempt) = d/2 + u d/2 with d = min(max, initial
 *      2^(attempt-1)) and u uniform in [0, 1) ("equal jitter", so a delay
 *      never collapses to 0 and synchronised retries spread out).  Sinks
 *      back off independently: a dead webhook does not delay Alertmanager.
 *   2. Every resend_ms, post the whole firing set to Alertmanager with
 *      endsAt = now + 4 resend_ms (Prometheus' rule: 4 x the resend delay),
 *      so a live leadwatch keeps its alerts and a dead one lets them
 *      expire.  A failed re-send waits for the next period (three can fail
 *      before Alertmanager would expire an alert).
 *   3. Otherwise sleep on the condition variable until the earliest due
 *      time or an enqueue.
 * Within an Alertmanager batch only the last event of each alert is sent:
 * Alertmanager merges alerts by labels and the order inside one POST is not
 * a contract.  An HTTP request in flight is aborted at shutdown through
 * curl's progress callback.
 *
 * HTTP: libcurl, one easy handle per sink reused for keep-alive, http and
 * https only, no redirects.  2xx = delivered; 408, 429, 5xx and transport
 * errors = retry; other statuses = rejected (logged with the start of the
 * answer).
 *
 * JSON is written with the core's streaming writer (core/jsonw.h), the
 * program's one escaping rule (RFC 8259: " \ and control characters
 * escaped, each invalid UTF-8 byte replaced by \ufffd so the output always
 * parses); yajl is not linked into the core.
 */
#include "leadwatch/alert/alertsink.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leadwatch/core/buf.h"
#include "leadwatch/core/jsonw.h"
#include "leadwatch/core/log.h"
#include "leadwatch/core/sync.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/core/clock.h"

#define BODY_MAX (8u << 20)
#define ANSWER_KEEP 200 /* bytes of an error answer kept for the log */

typedef struct {
    lw_alert_event_t ev;
    uint64_t seq;
} item_t;

typedef struct {
    bool on;
    item_t *ring;
    size_t cap, head, count;
    uint64_t next_seq;
    unsigned attempt;
    int64_t next_try; /* monotonic ms; 0 = now */
    lw_alertsink_sink_stats_t st;
    /* worker only */
    CURL *curl;
    char *url;
    struct curl_slist *headers;
} sink_t;

struct lw_alertsink {
    lw_alertsink_opts_t opts;
    char *receiver, *external_url;
    pthread_mutex_t mu;
    pthread_cond_t wake, idle;
    bool stop, busy;
    atomic_bool abort_io;
    sink_t sink[LW_ALERTSINK_NSINKS];
    lw_alert_event_t *firing; /* [max_firing] */
    size_t nfiring;
    int64_t next_resend;
    uint64_t resends, resend_failures;
    uint64_t rng_state;
    pthread_t thread;
    /* worker scratch */
    lw_alert_event_t *batch; /* [max(max_batch, max_firing)] */
    const lw_alert_event_t **ptrs;
    lw_buf_t body;
    char answer[ANSWER_KEEP + 1];
    size_t answer_len;
};

static const char *const kind_names[LW_ALERTSINK_NSINKS] = {"alertmanager", "webhook", "custom"};

const char *lw_alertsink_kind_name(lw_alertsink_kind_t k)
{
    return (unsigned)k < LW_ALERTSINK_NSINKS ? kind_names[k] : "?";
}

/* ---- JSON ------------------------------------------------------------------ */

/* Strings go through core/jsonw.h, the program's one JSON escaping rule. */

static void json_kv(lw_jsonw_t *w, const char *key, const lw_alert_kv_t *kv, size_t n)
{
    lw_jsonw_key(w, key);
    lw_jsonw_object(w);
    for (size_t i = 0; i < n; i++) {
        lw_jsonw_key(w, kv[i].key);
        lw_jsonw_string(w, kv[i].value);
    }
    lw_jsonw_end(w);
}

void lw_alertsink_time_ms(int64_t ms, char *buf, size_t size)
{
    char t[48];
    int64_t frac = ms % 1000;
    if (frac < 0)
        frac += 1000;
    lw_time_format_iso8601(ms - frac, t, sizeof t);
    size_t n = strlen(t);
    if (n > 0 && t[n - 1] == 'Z')
        t[n - 1] = '\0';
    snprintf(buf, size, "%s.%03dZ", t, (int)frac);
}

static void json_time(lw_jsonw_t *w, const char *key, int64_t ms)
{
    char t[64];
    lw_alertsink_time_ms(ms, t, sizeof t);
    lw_jsonw_key(w, key);
    lw_jsonw_string(w, t);
}

static void json_str(lw_jsonw_t *w, const char *key, const char *s)
{
    lw_jsonw_key(w, key);
    lw_jsonw_string(w, s ? s : "");
}

static const char *status_name(const lw_alert_event_t *ev)
{
    return ev->to == LW_ALERT_FIRING     ? "firing"
           : ev->to == LW_ALERT_RESOLVED ? "resolved"
                                         : lw_alert_state_name(ev->to);
}

lw_err_t lw_alertsink_json_alertmanager(lw_buf_t *b, const lw_alert_event_t *const *ev, size_t n,
                                        int64_t now_ms, int64_t ttl_ms, const char *external_url)
{
    lw_jsonw_t w;
    lw_jsonw_init(&w, b, 0);
    lw_jsonw_array(&w);
    for (size_t i = 0; i < n; i++) {
        const lw_alert_event_t *e = ev[i];
        lw_jsonw_object(&w);
        json_kv(&w, "labels", e->labels, e->nlabels);
        json_kv(&w, "annotations", e->annotations, e->nannotations);
        json_time(&w, "startsAt", e->starts_at_ms);
        json_time(&w, "endsAt", e->to == LW_ALERT_RESOLVED ? e->ends_at_ms : now_ms + ttl_ms);
        if (external_url && *external_url)
            json_str(&w, "generatorURL", external_url);
        lw_jsonw_end(&w);
    }
    lw_jsonw_end(&w);
    return lw_jsonw_finish(&w);
}

void lw_alertsink_jsonw_alert(lw_jsonw_t *w, const lw_alert_event_t *ev, const char *external_url)
{
    char fp[24];
    lw_jsonw_object(w);
    json_str(w, "status", status_name(ev));
    json_kv(w, "labels", ev->labels, ev->nlabels);
    json_kv(w, "annotations", ev->annotations, ev->nannotations);
    json_time(w, "startsAt", ev->starts_at_ms);
    if (ev->to == LW_ALERT_RESOLVED)
        json_time(w, "endsAt", ev->ends_at_ms);
    else
        json_str(w, "endsAt", "0001-01-01T00:00:00Z"); /* Alertmanager's zero time */
    json_str(w, "generatorURL", external_url);
    snprintf(fp, sizeof fp, "%016" PRIx64, ev->fingerprint);
    json_str(w, "fingerprint", fp);
    lw_jsonw_end(w);
}

lw_err_t lw_alertsink_json_alert(lw_buf_t *b, const lw_alert_event_t *ev, const char *external_url)
{
    lw_jsonw_t w;
    lw_jsonw_init(&w, b, 0);
    lw_alertsink_jsonw_alert(&w, ev, external_url);
    return lw_jsonw_finish(&w);
}

lw_err_t lw_alertsink_json_webhook(lw_buf_t *b, const lw_alert_event_t *ev, const char *receiver,
                                   const char *external_url)
{
    const char *alertname = lw_alert_event_label(ev, "alertname");
    char key[LW_ALERT_VALUE_SIZE + 32];
    snprintf(key, sizeof key, "{}:{alertname=\"%s\"}", alertname ? alertname : "");
    lw_jsonw_t w;
    lw_jsonw_init(&w, b, 0);
    lw_jsonw_object(&w);
    json_str(&w, "version", "4");
    json_str(&w, "groupKey", key);
    lw_jsonw_key(&w, "truncatedAlerts");
    lw_jsonw_int(&w, 0);
    json_str(&w, "status", status_name(ev));
    json_str(&w, "receiver", receiver);
    lw_jsonw_key(&w, "groupLabels");
    lw_jsonw_object(&w);
    json_str(&w, "alertname", alertname);
    lw_jsonw_end(&w);
    json_kv(&w, "commonLabels", ev->labels, ev->nlabels);
    json_kv(&w, "commonAnnotations", ev->annotations, ev->nannotations);
    json_str(&w, "externalURL", external_url);
    lw_jsonw_key(&w, "alerts");
    lw_jsonw_array(&w);
    lw_alertsink_jsonw_alert(&w, ev, external_url);
    lw_jsonw_end(&w);
    lw_jsonw_end(&w);
    return lw_jsonw_finish(&w);
}

/* ---- clocks and jitter ------------------------------------------------------ */

static int64_t wall_ms(const lw_alertsink_t *s)
{
    if (s->opts.wall_ms)
        return s->opts.wall_ms(s->opts.inject_ctx);
    return lw_clock_wall_ms();
}

static uint64_t rand64(lw_alertsink_t *s)
{
    if (s->opts.rng)
        return s->opts.rng(s->opts.inject_ctx);
    /* xorshift64*: jitter needs spread, not secrecy */
    s->rng_state ^= s->rng_state >> 12;
    s->rng_state ^= s->rng_state << 25;
    s->rng_state ^= s->rng_state >> 27;
    return s->rng_state * UINT64_C(2685821657736338717);
}

static int64_t backoff_ms(lw_alertsink_t *s, unsigned attempt)
{
    int64_t d = s->opts.backoff_initial_ms;
    for (unsigned i = 1; i < attempt && d < s->opts.backoff_max_ms; i++)
        d *= 2;
    if (d > s->opts.backoff_max_ms)
        d = s->opts.backoff_max_ms;
    double u = (double)(rand64(s) >> 11) * 0x1p-53;
    return d / 2 + (int64_t)(u * (double)(d - d / 2));
}

/* ---- queues ---------------------------------------------------------------- */

static bool sink_wants(lw_alertsink_kind_t k, const lw_alert_event_t *ev)
{
    bool resolved = ev->to == LW_ALERT_RESOLVED && ev->from == LW_ALERT_FIRING;
    switch (k) {
    case LW_ALERTSINK_AM: return ev->to == LW_ALERT_FIRING || resolved;
    case LW_ALERTSINK_WEBHOOK: return (ev->to == LW_ALERT_FIRING && !ev->refresh) || resolved;
    default: return true;
    }
}

static void ring_push(sink_t *sk, const lw_alert_event_t *ev)
{
    if (sk->count == sk->cap) {
        sk->head = (sk->head + 1) % sk->cap;
        sk->count--;
        sk->st.dropped++;
    }
    item_t *it = &sk->ring[(sk->head + sk->count) % sk->cap];
    it->ev = *ev;
    it->seq = sk->next_seq++;
    sk->count++;
    sk->st.enqueued++;
}

/* Pop items with seq <= last; returns how many. */
static size_t ring_pop_upto(sink_t *sk, uint64_t last)
{
    size_t n = 0;
    while (sk->count > 0 && sk->ring[sk->head].seq <= last) {
        sk->head = (sk->head + 1) % sk->cap;
        sk->count--;
        n++;
    }
    return n;
}

static void firing_update(lw_alertsink_t *s, const lw_alert_event_t *ev)
{
    size_t i = 0;
    while (i < s->nfiring && s->firing[i].fingerprint != ev->fingerprint)
        i++;
    if (ev->to == LW_ALERT_FIRING) {
        if (i == s->nfiring) {
            if (s->nfiring == s->opts.max_firing) {
                LW_LOG(LW_LOG_WARN, "alertsink",
                       "re-send set full (%zu alerts): a new firing alert is sent once only",
                       s->opts.max_firing);
                return;
            }
            s->nfiring++;
        }
        s->firing[i] = *ev;
    } else if (ev->to == LW_ALERT_RESOLVED && i < s->nfiring) {
        s->firing[i] = s->firing[--s->nfiring];
    }
}

void lw_alertsink_enqueue(lw_alertsink_t *s, const lw_alert_event_t *ev, size_t n)
{
    bool any = false;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < LW_ALERTSINK_NSINKS; k++) {
            if (s->sink[k].on && sink_wants((lw_alertsink_kind_t)k, &ev[i])) {
                ring_push(&s->sink[k], &ev[i]);
                any = true;
            }
        }
        if (s->sink[LW_ALERTSINK_AM].on)
            firing_update(s, &ev[i]);
    }
    if (any)
        pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
}

/* ---- HTTP ------------------------------------------------------------------ */

static size_t on_answer(char *p, size_t size, size_t n, void *ud)
{
    lw_alertsink_t *s = ud;
    size_t len = size * n, room = ANSWER_KEEP - s->answer_len;
    size_t take = len < room ? len : room;
    memcpy(s->answer + s->answer_len, p, take);
    s->answer_len += take;
    s->answer[s->answer_len] = '\0';
    return len;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    lw_alertsink_t *s = ud;
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return atomic_load(&s->abort_io) ? 1 : 0;
}

static lw_err_t sink_http_init(lw_alertsink_t *s, sink_t *sk, const char *url, const char *suffix,
                               const char *const *extra, size_t nextra)
{
    size_t n = strlen(url) + strlen(suffix) + 1;
    sk->url = malloc(n);
    if (!sk->url)
        return LW_ERR_NOMEM;
    snprintf(sk->url, n, "%s%s", url, suffix);
    if (suffix[0] == '/') { /* "base/" + "/api..." -> one slash */
        size_t bl = strlen(url);
        if (bl > 0 && url[bl - 1] == '/')
            memmove(sk->url + bl - 1, sk->url + bl, strlen(sk->url + bl) + 1);
    }
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    for (size_t i = 0; h && i < nextra; i++) {
        struct curl_slist *more = curl_slist_append(h, extra[i]);
        if (!more) {
            curl_slist_free_all(h);
            h = NULL;
        }
        h = more;
    }
    if (!h)
        return LW_ERR_NOMEM;
    sk->headers = h;
    sk->curl = curl_easy_init();
    if (!sk->curl)
        return LW_ERR_IO;
    curl_easy_setopt(sk->curl, CURLOPT_URL, sk->url);
    curl_easy_setopt(sk->curl, CURLOPT_HTTPHEADER, sk->headers);
    curl_easy_setopt(sk->curl, CURLOPT_TIMEOUT_MS, (long)s->opts.timeout_ms);
    curl_easy_setopt(sk->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)s->opts.timeout_ms);
    curl_easy_setopt(sk->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(sk->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(sk->curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(sk->curl, CURLOPT_WRITEFUNCTION, on_answer);
    curl_easy_setopt(sk->curl, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(sk->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(sk->curl, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(sk->curl, CURLOPT_NOPROGRESS, 0L);
    return LW_OK;
}

static lw_alertsink_result_t http_post(lw_alertsink_t *s, sink_t *sk, char *err, size_t errsz)
{
    long code = 0;
    s->answer_len = 0;
    s->answer[0] = '\0';
    curl_easy_setopt(sk->curl, CURLOPT_POSTFIELDS, s->body.data ? s->body.data : "");
    curl_easy_setopt(sk->curl, CURLOPT_POSTFIELDSIZE, (long)s->body.len);
    CURLcode rc = curl_easy_perform(sk->curl);
    if (rc != CURLE_OK) {
        snprintf(err, errsz, "%s", curl_easy_strerror(rc));
        return LW_ALERTSINK_RETRY;
    }
    curl_easy_getinfo(sk->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && code < 300)
        return LW_ALERTSINK_DELIVERED;
    snprintf(err, errsz, "HTTP %ld: %.*s", code, (int)strcspn(s->answer, "\r\n"), s->answer);
    return code == 408 || code == 429 || code >= 500 ? LW_ALERTSINK_RETRY : LW_ALERTSINK_REJECT;
}

/* Deliver n events to sink k; runs without the mutex. */
static lw_alertsink_result_t deliver(lw_alertsink_t *s, lw_alertsink_kind_t k,
                                     const lw_alert_event_t *ev, size_t n, char *err, size_t errsz)
{
    sink_t *sk = &s->sink[k];
    lw_buf_rewind(&s->body, 0);
    switch (k) {
    case LW_ALERTSINK_AM: {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            bool later = false;
            for (size_t j = i + 1; j < n && !later; j++)
                later = ev[j].fingerprint == ev[i].fingerprint;
            if (!later)
                s->ptrs[m++] = &ev[i];
        }
        lw_alertsink_json_alertmanager(&s->body, s->ptrs, m, wall_ms(s), 4 * s->opts.resend_ms,
                                       s->external_url);
        break;
    }
    case LW_ALERTSINK_WEBHOOK:
        lw_alertsink_json_webhook(&s->body, ev, s->receiver, s->external_url);
        break;
    default: return s->opts.custom(s->opts.custom_ctx, ev, err, errsz);
    }
    if (s->body.err != LW_OK) {
        snprintf(err, errsz, "payload too large");
        return LW_ALERTSINK_REJECT;
    }
    return http_post(s, sk, err, errsz);
}

/* ---- worker ---------------------------------------------------------------- */

static bool queues_empty(const lw_alertsink_t *s)
{
    for (int k = 0; k < LW_ALERTSINK_NSINKS; k++)
        if (s->sink[k].count > 0)
            return false;
    return true;
}

static void timed_wait(lw_alertsink_t *s, int64_t until_mono)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(until_mono / 1000);
    ts.tv_nsec = (long)(until_mono % 1000) * 1000000L;
    pthread_cond_timedwait(&s->wake, &s->mu, &ts);
}

/* Step 1 of the file comment for one sink; mutex held on entry and exit. */
static bool service_sink(lw_alertsink_t *s, lw_alertsink_kind_t k, int64_t now, int64_t *wake_at)
{
    sink_t *sk = &s->sink[k];
    char err[256] = "";
    if (!sk->on || sk->count == 0)
        return false;
    if (sk->next_try > now) {
        if (sk->next_try < *wake_at)
            *wake_at = sk->next_try;
        return false;
    }
    size_t n = k == LW_ALERTSINK_AM ? s->opts.max_batch : 1;
    if (n > sk->count)
        n = sk->count;
    for (size_t i = 0; i < n; i++)
        s->batch[i] = sk->ring[(sk->head + i) % sk->cap].ev;
    uint64_t last = sk->ring[(sk->head + n - 1) % sk->cap].seq;
    s->busy = true;
    pthread_mutex_unlock(&s->mu);
    lw_alertsink_result_t r = deliver(s, k, s->batch, n, err, sizeof err);
    pthread_mutex_lock(&s->mu);
    s->busy = false;
    if (r == LW_ALERTSINK_RETRY) {
        sk->attempt++;
        sk->st.retries++;
        int64_t wait = backoff_ms(s, sk->attempt);
        sk->next_try = lw_clock_mono_ms() + wait;
        LW_LOG(LW_LOG_WARN, "alertsink", "%s: attempt %u failed (%s); retrying in %" PRId64 " ms",
               kind_names[k], sk->attempt, err, wait);
        return true;
    }
    size_t popped = ring_pop_upto(sk, last);
    if (r == LW_ALERTSINK_DELIVERED) {
        sk->st.delivered += popped;
    } else {
        sk->st.failed += popped;
        LW_LOG(LW_LOG_ERROR, "alertsink", "%s: %zu event(s) rejected, dropped: %s", kind_names[k],
               popped, err);
    }
    sk->attempt = 0;
    sk->next_try = 0;
    return true;
}

/* Step 2 of the file comment; mutex held on entry and exit. */
static bool service_resend(lw_alertsink_t *s, int64_t now, int64_t *wake_at)
{
    char err[256] = "";
    if (!s->sink[LW_ALERTSINK_AM].on)
        return false;
    if (now < s->next_resend || s->nfiring == 0) {
        if (s->nfiring > 0 && s->next_resend < *wake_at)
            *wake_at = s->next_resend;
        return false;
    }
    size_t n = s->nfiring;
    memcpy(s->batch, s->firing, n * sizeof *s->batch);
    s->busy = true;
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < n; i++)
        s->ptrs[i] = &s->batch[i];
    lw_buf_rewind(&s->body, 0);
    lw_alertsink_json_alertmanager(&s->body, s->ptrs, n, wall_ms(s), 4 * s->opts.resend_ms,
                                   s->external_url);
    lw_alertsink_result_t r = s->body.err == LW_OK
                                  ? http_post(s, &s->sink[LW_ALERTSINK_AM], err, sizeof err)
                                  : LW_ALERTSINK_REJECT;
    pthread_mutex_lock(&s->mu);
    s->busy = false;
    if (r == LW_ALERTSINK_DELIVERED) {
        s->resends++;
    } else {
        s->resend_failures++;
        LW_LOG(LW_LOG_WARN, "alertsink", "alertmanager: re-sending %zu firing alert(s) failed: %s",
               n, err);
    }
    s->next_resend = lw_clock_mono_ms() + s->opts.resend_ms;
    return true;
}

static void *worker(void *arg)
{
    lw_alertsink_t *s = arg;
    lw_sync_name_thread("lw-alerts");
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        int64_t now = lw_clock_mono_ms();
        int64_t wake_at = now + 3600000;
        bool did = false;
        for (int k = 0; k < LW_ALERTSINK_NSINKS && !s->stop; k++)
            did |= service_sink(s, (lw_alertsink_kind_t)k, now, &wake_at);
        if (!s->stop)
            did |= service_resend(s, now, &wake_at);
        if (did)
            continue;
        if (queues_empty(s))
            pthread_cond_broadcast(&s->idle);
        timed_wait(s, wake_at);
    }
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------- */

static void sinks_free(lw_alertsink_t *s)
{
    for (int k = 0; k < LW_ALERTSINK_NSINKS; k++) {
        sink_t *sk = &s->sink[k];
        if (sk->curl)
            curl_easy_cleanup(sk->curl);
        curl_slist_free_all(sk->headers);
        free(sk->url);
        free(sk->ring);
    }
}

/* `o` is the caller's options: the URLs and headers are copied from it. */
static lw_err_t sinks_init(lw_alertsink_t *s, const lw_alertsink_opts_t *o)
{
    s->sink[LW_ALERTSINK_AM].on = o->alertmanager_url && *o->alertmanager_url;
    s->sink[LW_ALERTSINK_WEBHOOK].on = o->webhook_url && *o->webhook_url;
    s->sink[LW_ALERTSINK_CUSTOM].on = o->custom != NULL;
    for (int k = 0; k < LW_ALERTSINK_NSINKS; k++) {
        sink_t *sk = &s->sink[k];
        if (!sk->on)
            continue;
        sk->cap = o->queue_max;
        sk->ring = calloc(sk->cap, sizeof *sk->ring);
        if (!sk->ring)
            return LW_ERR_NOMEM;
        sk->st.configured = true;
    }
    lw_err_t err = LW_OK;
    if (s->sink[LW_ALERTSINK_AM].on)
        err = sink_http_init(s, &s->sink[LW_ALERTSINK_AM], o->alertmanager_url, "/api/v2/alerts",
                             NULL, 0);
    if (err == LW_OK && s->sink[LW_ALERTSINK_WEBHOOK].on)
        err = sink_http_init(s, &s->sink[LW_ALERTSINK_WEBHOOK], o->webhook_url, "",
                             o->webhook_headers, o->nwebhook_headers);
    return err;
}

/* Everything the handle owns besides the thread and its sync objects, then the handle. */
static void handle_free(lw_alertsink_t *s)
{
    sinks_free(s);
    lw_buf_release(&s->body);
    LW_FREE_ALL(s->firing, s->ptrs, s->batch, s->external_url, s->receiver, s);
}

void lw_alertsink_destroy(lw_alertsink_t *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    atomic_store(&s->abort_io, true);
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->idle);
    handle_free(s);
}

lw_err_t lw_alertsink_new(const lw_alertsink_opts_t *opts, lw_alertsink_t **out, char *errstr,
                          size_t errstr_size)
{
    lw_err_t err = lw_alertsink_opts_check(opts, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    lw_alertsink_t *s = calloc(1, sizeof *s);
    if (!s)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "alertsink: out of memory");
    s->opts = *opts;
    s->opts.alertmanager_url = s->opts.webhook_url = NULL; /* copied into the sinks */
    s->opts.webhook_headers = NULL;
    s->receiver = strdup(opts->receiver ? opts->receiver : "leadwatch");
    s->external_url = strdup(opts->external_url ? opts->external_url : "");
    size_t scratch = opts->max_batch > opts->max_firing ? opts->max_batch : opts->max_firing;
    s->batch = calloc(scratch, sizeof *s->batch);
    s->ptrs = calloc(scratch, sizeof *s->ptrs);
    s->firing = calloc(opts->max_firing, sizeof *s->firing);
    lw_buf_init(&s->body, BODY_MAX);
    if (!s->receiver || !s->external_url || !s->batch || !s->ptrs || !s->firing) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "alertsink: out of memory");
        goto free_all;
    }
    err = sinks_init(s, opts);
    if (err != LW_OK) {
        lw_seterr(errstr, errstr_size, err, "alertsink: cannot set up the sinks (%s)",
                  lw_err_name(err));
        goto free_all;
    }
    s->rng_state = (uint64_t)wall_ms(s) * UINT64_C(0x9E3779B97F4A7C15) | 1;
    s->next_resend = lw_clock_mono_ms() + opts->resend_ms;
    atomic_init(&s->abort_io, false);

    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_IO, "alertsink: condattr");
        goto free_all;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc_wake = pthread_cond_init(&s->wake, &ca);
    int rc_idle = pthread_cond_init(&s->idle, &ca);
    pthread_condattr_destroy(&ca);
    if (rc_wake != 0 || rc_idle != 0 || pthread_mutex_init(&s->mu, NULL) != 0) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_IO, "alertsink: cannot create sync objects");
        goto destroy_sync;
    }
    if (pthread_create(&s->thread, NULL, worker, s) != 0) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_IO, "alertsink: cannot start the worker: %s",
                        strerror(errno));
        goto destroy_mutex;
    }
    *out = s;
    return LW_OK;

destroy_mutex:
    pthread_mutex_destroy(&s->mu);
destroy_sync:
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->idle);
free_all:
    handle_free(s);
    return err;
}

bool lw_alertsink_flush(lw_alertsink_t *s, int64_t timeout_ms)
{
    int64_t until = lw_clock_mono_ms() + timeout_ms;
    bool empty;
    pthread_mutex_lock(&s->mu);
    while (!(empty = queues_empty(s) && !s->busy) && !s->stop && lw_clock_mono_ms() < until) {
        struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
        pthread_cond_timedwait(&s->idle, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
    return empty;
}

void lw_alertsink_stats(lw_alertsink_t *s, lw_alertsink_stats_t *out)
{
    pthread_mutex_lock(&s->mu);
    for (int k = 0; k < LW_ALERTSINK_NSINKS; k++) {
        out->sink[k] = s->sink[k].st;
        out->sink[k].queued = s->sink[k].count;
    }
    out->firing = s->nfiring;
    out->resends = s->resends;
    out->resend_failures = s->resend_failures;
    pthread_mutex_unlock(&s->mu);
}
