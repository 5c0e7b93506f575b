/*
 * test_alertsink.c - alert delivery (alertsink.h) against a small HTTP
 * receiver the test runs itself (libmicrohttpd, a thread per connection so
 * it can stall on purpose): exact Alertmanager and webhook JSON, escaping,
 * custom headers, which sink gets which events, retries on 5xx with the
 * backoff schedule, permanent 4xx rejection, the queue bound with
 * drop-oldest counting, enqueue latency while the receiver stalls,
 * periodic re-sending of firing alerts, and the custom sink.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "leadwatch/alert/alertsink.h"

#define NOW_MS INT64_C(1767225600000) /* 2026-01-01T00:00:00Z, the injected wall clock */
#define MAX_REQ 4096

typedef struct {
    char url[128];
    char *body;
    char auth[128];
    int code;
    double at;
} req_t;

typedef struct {
    struct MHD_Daemon *mhd;
    pthread_mutex_t mu;
    req_t req[MAX_REQ];
    int nreq;
    int fail_remaining; /* answer fail_code while > 0 */
    int fail_code;
    int stall_ms;
} rx_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static enum MHD_Result rx_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **req_cls)
{
    rx_t *rx = cls;
    lw_buf_t *body = *req_cls;
    (void)method;
    (void)version;
    if (!body) {
        body = calloc(1, sizeof *body);
        lw_buf_init(body, 16u << 20);
        *req_cls = body;
        return MHD_YES;
    }
    if (*size) {
        lw_buf_append(body, data, *size);
        *size = 0;
        return MHD_YES;
    }
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    int code = 200, stall;
    pthread_mutex_lock(&rx->mu);
    if (rx->fail_remaining > 0) {
        rx->fail_remaining--;
        code = rx->fail_code;
    }
    stall = rx->stall_ms;
    if (rx->nreq < MAX_REQ) {
        req_t *r = &rx->req[rx->nreq++];
        snprintf(r->url, sizeof r->url, "%s", url);
        snprintf(r->auth, sizeof r->auth, "%s", auth ? auth : "");
        r->body = lw_buf_detach(body, NULL);
        r->code = code;
        r->at = now_s();
    }
    pthread_mutex_unlock(&rx->mu);
    if (stall)
        usleep((useconds_t)stall * 1000);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(3, (void *)"ok\n", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)code, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void rx_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    lw_buf_t *body = *req_cls;
    if (body) {
        lw_buf_release(body);
        free(body);
        *req_cls = NULL;
    }
}

static rx_t *rx_start(void)
{
    rx_t *rx = calloc(1, sizeof *rx);
    assert_non_null(rx);
    pthread_mutex_init(&rx->mu, NULL);
    rx->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                               NULL, NULL, rx_handler, rx, MHD_OPTION_NOTIFY_COMPLETED,
                               rx_completed, NULL, MHD_OPTION_END);
    assert_non_null(rx->mhd);
    return rx;
}

static unsigned rx_port(const rx_t *rx)
{
    return MHD_get_daemon_info(rx->mhd, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void rx_stop(rx_t *rx)
{
    MHD_stop_daemon(rx->mhd);
    for (int i = 0; i < rx->nreq; i++)
        free(rx->req[i].body);
    pthread_mutex_destroy(&rx->mu);
    free(rx);
}

static int rx_count(rx_t *rx)
{
    pthread_mutex_lock(&rx->mu);
    int n = rx->nreq;
    pthread_mutex_unlock(&rx->mu);
    return n;
}

static int64_t fixed_wall(void *ctx)
{
    (void)ctx;
    return NOW_MS;
}

static uint64_t zero_rng(void *ctx)
{
    (void)ctx;
    return 0;
}

static void kv(lw_alert_kv_t *arr, size_t *n, const char *k, const char *v)
{
    snprintf(arr[*n].key, sizeof arr[*n].key, "%s", k);
    snprintf(arr[*n].value, sizeof arr[*n].value, "%s", v);
    (*n)++;
}

/* An event as alert.c makes them; `input` distinguishes alerts. */
static lw_alert_event_t event(lw_alert_state_t from, lw_alert_state_t to, const char *input)
{
    lw_alert_event_t e;
    char edge[128];
    memset(&e, 0, sizeof e);
    e.cond = LW_ALERT_COND_NO_LONGER_LEADS;
    e.from = from;
    e.to = to;
    e.at_ms = NOW_MS;
    e.starts_at_ms = NOW_MS - 86400000 + 250;
    e.ends_at_ms = to == LW_ALERT_RESOLVED ? NOW_MS - 1000 : 0;
    snprintf(edge, sizeof edge, "%s->listeners", input);
    kv(e.labels, &e.nlabels, "alertname", "LeadwatchInputNoLongerLeads");
    kv(e.labels, &e.nlabels, "edge", edge);
    kv(e.labels, &e.nlabels, "input", input);
    kv(e.labels, &e.nlabels, "kind", "depth");
    kv(e.labels, &e.nlabels, "nsm", "listeners");
    kv(e.annotations, &e.nannotations, "summary", "playlists no longer leads listeners");
    kv(e.annotations, &e.nannotations, "q", "0.41");
    uint64_t h = 1469598103934665603u;
    for (const char *p = input; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    e.fingerprint = h;
    return e;
}

static void test_json_exact(void **state)
{
    (void)state;
    lw_buf_t b;
    lw_buf_init(&b, 1 << 20);
    lw_alert_event_t fire = event(LW_ALERT_PENDING, LW_ALERT_FIRING, "playlists");
    lw_alert_event_t res = event(LW_ALERT_FIRING, LW_ALERT_RESOLVED, "playlists");
    const lw_alert_event_t *both[] = {&fire, &res};
    assert_int_equal(
        lw_alertsink_json_alertmanager(&b, both, 2, NOW_MS, 240000, "http://lw:9464/metrics"),
        LW_OK);
    const char *labels = "{\"alertname\":\"LeadwatchInputNoLongerLeads\",\"edge\":\"playlists->"
                         "listeners\",\"input\":\"playlists\",\"kind\":\"depth\",\"nsm\":"
                         "\"listeners\"}";
    const char *ann = "{\"summary\":\"playlists no longer leads listeners\",\"q\":\"0.41\"}";
    char want[4096];
    snprintf(
        want, sizeof want,
        "[{\"labels\":%s,\"annotations\":%s,\"startsAt\":\"2025-12-31T00:00:00.250Z\","
        "\"endsAt\":\"2026-01-01T00:04:00.000Z\",\"generatorURL\":\"http://lw:9464/metrics\"},"
        "{\"labels\":%s,\"annotations\":%s,\"startsAt\":\"2025-12-31T00:00:00.250Z\","
        "\"endsAt\":\"2025-12-31T23:59:59.000Z\",\"generatorURL\":\"http://lw:9464/metrics\"}]",
        labels, ann, labels, ann);
    assert_string_equal(b.data, want);

    lw_buf_rewind(&b, 0);
    assert_int_equal(lw_alertsink_json_webhook(&b, &fire, "leadwatch", ""), LW_OK);
    snprintf(
        want, sizeof want,
        "{\"version\":\"4\",\"groupKey\":\"{}:{alertname=\\\"LeadwatchInputNoLongerLeads\\\"}\","
        "\"truncatedAlerts\":0,\"status\":\"firing\",\"receiver\":\"leadwatch\","
        "\"groupLabels\":{\"alertname\":\"LeadwatchInputNoLongerLeads\"},"
        "\"commonLabels\":%s,\"commonAnnotations\":%s,\"externalURL\":\"\","
        "\"alerts\":[{\"status\":\"firing\",\"labels\":%s,\"annotations\":%s,"
        "\"startsAt\":\"2025-12-31T00:00:00.250Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
        "\"generatorURL\":\"\",\"fingerprint\":\"%016llx\"}]}",
        labels, ann, labels, ann, (unsigned long long)fire.fingerprint);
    assert_string_equal(b.data, want);

    /* escaping: quotes, backslash, controls, invalid UTF-8; valid UTF-8 passes */
    lw_alert_event_t odd = fire;
    snprintf(odd.annotations[0].value, sizeof odd.annotations[0].value, "%s",
             "a\"b\\c\nd\x01"
             "e\xff"
             "f\xc3\xa9"
             "g\t\xed\xa0\x80");
    lw_buf_rewind(&b, 0);
    assert_int_equal(lw_alertsink_json_alert(&b, &odd, NULL), LW_OK);
    assert_non_null(
        strstr(b.data,
               "\"summary\":\"a\\\"b\\\\c\\nd\\u0001e\\ufffdf\xc3\xa9g\\t\\ufffd\\ufffd\\ufffd\""));
    lw_buf_release(&b);
}

static lw_alertsink_t *sink_new(lw_alertsink_opts_t *o)
{
    lw_alertsink_t *s = NULL;
    char err[256];
    o->wall_ms = fixed_wall;
    if (lw_alertsink_new(o, &s, err, sizeof err) != LW_OK)
        fail_msg("alertsink: %s", err);
    return s;
}

static void test_alertmanager_and_webhook(void **state)
{
    (void)state;
    rx_t *rx = rx_start();
    char am[128], hook[128];
    snprintf(am, sizeof am, "http://127.0.0.1:%u/", rx_port(rx));
    snprintf(hook, sizeof hook, "http://127.0.0.1:%u/hook", rx_port(rx));
    static const char *const headers[] = {"Authorization: Bearer t0k"};
    lw_alertsink_opts_t o;
    lw_alertsink_opts_default(&o);
    o.alertmanager_url = am;
    o.webhook_url = hook;
    o.webhook_headers = headers;
    o.nwebhook_headers = 1;
    o.external_url = "http://lw:9464/";
    lw_alertsink_t *s = sink_new(&o);

    lw_alert_event_t ev[4] = {
        event(LW_ALERT_INACTIVE, LW_ALERT_PENDING, "playlists"), /* nobody over HTTP */
        event(LW_ALERT_PENDING, LW_ALERT_FIRING, "playlists"),
        event(LW_ALERT_FIRING, LW_ALERT_FIRING, "searches"), /* refresh: Alertmanager only */
        event(LW_ALERT_NODATA, LW_ALERT_INACTIVE, "playlists"),
    };
    ev[2].refresh = true;
    lw_alertsink_enqueue(s, ev, 4);
    assert_true(lw_alertsink_flush(s, 5000));
    lw_alert_event_t res = event(LW_ALERT_FIRING, LW_ALERT_RESOLVED, "playlists");
    lw_alertsink_enqueue(s, &res, 1);
    assert_true(lw_alertsink_flush(s, 5000));

    lw_alertsink_stats_t st;
    lw_alertsink_stats(s, &st);
    assert_int_equal(st.sink[LW_ALERTSINK_AM].delivered, 3);
    assert_int_equal(st.sink[LW_ALERTSINK_WEBHOOK].delivered, 2);
    assert_false(st.sink[LW_ALERTSINK_CUSTOM].configured);
    assert_int_equal(st.firing, 1); /* searches still firing */

    /* the receiver saw: AM batch of 2 (firing, refresh), 1 webhook firing, then AM + webhook
       resolved; order across sinks is free, so sort by url */
    lw_buf_t want;
    lw_buf_init(&want, 1 << 20);
    int am_posts = 0, hook_posts = 0;
    for (int i = 0; i < rx->nreq; i++) {
        req_t *r = &rx->req[i];
        lw_buf_rewind(&want, 0);
        if (strcmp(r->url, "/api/v2/alerts") == 0) {
            const lw_alert_event_t *first[] = {&ev[1], &ev[2]}, *second[] = {&res};
            lw_alertsink_json_alertmanager(&want, am_posts == 0 ? first : second,
                                           am_posts == 0 ? 2 : 1, NOW_MS, 4 * o.resend_ms,
                                           "http://lw:9464/");
            assert_string_equal(r->body, want.data);
            assert_string_equal(r->auth, "");
            am_posts++;
        } else {
            assert_string_equal(r->url, "/hook");
            lw_alertsink_json_webhook(&want, hook_posts == 0 ? &ev[1] : &res, "leadwatch",
                                      "http://lw:9464/");
            assert_string_equal(r->body, want.data);
            assert_string_equal(r->auth, "Bearer t0k");
            hook_posts++;
        }
    }
    assert_int_equal(am_posts, 2);
    assert_int_equal(hook_posts, 2);
    lw_buf_release(&want);
    lw_alertsink_destroy(s);
    rx_stop(rx);
}

static void test_retry_backoff_and_reject(void **state)
{
    (void)state;
    rx_t *rx = rx_start();
    char hook[128];
    snprintf(hook, sizeof hook, "http://127.0.0.1:%u/hook", rx_port(rx));
    lw_alertsink_opts_t o;
    lw_alertsink_opts_default(&o);
    o.webhook_url = hook;
    o.backoff_initial_ms = 80;
    o.backoff_max_ms = 10000;
    o.rng = zero_rng; /* delays are exactly d/2: 40, 80, 160 ms */
    lw_alertsink_t *s = sink_new(&o);

    rx->fail_remaining = 3;
    rx->fail_code = 503;
    lw_alert_event_t ev = event(LW_ALERT_PENDING, LW_ALERT_FIRING, "playlists");
    lw_alertsink_enqueue(s, &ev, 1);
    assert_true(lw_alertsink_flush(s, 5000));
    assert_int_equal(rx->nreq, 4);
    static const double want_gap[] = {0.040, 0.080, 0.160};
    for (int i = 1; i < 4; i++) {
        double gap = rx->req[i].at - rx->req[i - 1].at;
        print_message("    retry %d after %.1f ms (backoff %.0f ms)\n", i, gap * 1e3,
                      want_gap[i - 1] * 1e3);
        assert_true(gap >= want_gap[i - 1] - 0.002);
        assert_true(gap < want_gap[i - 1] + 0.150);
        assert_string_equal(rx->req[i].body, rx->req[0].body);
    }
    lw_alertsink_stats_t st;
    lw_alertsink_stats(s, &st);
    assert_int_equal(st.sink[LW_ALERTSINK_WEBHOOK].retries, 3);
    assert_int_equal(st.sink[LW_ALERTSINK_WEBHOOK].delivered, 1);

    /* 400 is permanent: one attempt, counted as failed; 429 is retried */
    rx->fail_remaining = 1;
    rx->fail_code = 400;
    lw_alertsink_enqueue(s, &ev, 1);
    assert_true(lw_alertsink_flush(s, 5000));
    assert_int_equal(rx->nreq, 5);
    rx->fail_remaining = 1;
    rx->fail_code = 429;
    lw_alertsink_enqueue(s, &ev, 1);
    assert_true(lw_alertsink_flush(s, 5000));
    assert_int_equal(rx->nreq, 7);
    lw_alertsink_stats(s, &st);
    assert_int_equal(st.sink[LW_ALERTSINK_WEBHOOK].failed, 1);
    assert_int_equal(st.sink[LW_ALERTSINK_WEBHOOK].delivered, 2);
    assert_int_equal(st.sink[LW_ALERTSINK_WEBHOOK].retries, 4);
    lw_alertsink_destroy(s);
    rx_stop(rx);
}

static void test_queue_bound_drops_oldest(void **state)
{
    (void)state;
    rx_t *rx = rx_start();
    char hook[128];
    snprintf(hook, sizeof hook, "http://127.0.0.1:%u/hook", rx_port(rx));
    lw_alertsink_opts_t o;
    lw_alertsink_opts_default(&o);
    o.webhook_url = hook;
    o.queue_max = 8;
    o.backoff_initial_ms = 100;
    o.backoff_max_ms = 100;
    lw_alertsink_t *s = sink_new(&o);

    rx->fail_remaining = 1000000; /* receiver "down" */
    rx->fail_code = 503;
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "e%02d", i);
        lw_alert_event_t ev = event(LW_ALERT_PENDING, LW_ALERT_FIRING, name);
        lw_alertsink_enqueue(s, &ev, 1);
    }
    lw_alertsink_stats_t st;
    lw_alertsink_stats(s, &st);
    assert_int_equal(st.sink[LW_ALERTSINK_WEBHOOK].enqueued, 20);
    assert_int_equal(st.sink[LW_ALERTSINK_WEBHOOK].dropped, 12);
    assert_int_equal(st.sink[LW_ALERTSINK_WEBHOOK].queued, 8);
    assert_false(lw_alertsink_flush(s, 300)); /* still down */

    pthread_mutex_lock(&rx->mu);
    rx->fail_remaining = 0; /* back up */
    int first_ok = rx->nreq;
    pthread_mutex_unlock(&rx->mu);
    assert_true(lw_alertsink_flush(s, 5000));
    /* exactly the 8 newest, in order, each once */
    int k = 12;
    for (int i = first_ok; i < rx->nreq; i++) {
        if (rx->req[i].code != 200)
            continue;
        char needle[48];
        snprintf(needle, sizeof needle, "\"input\":\"e%02d\"", k++);
        if (!strstr(rx->req[i].body, needle))
            fail_msg("request %d lacks %s", i, needle);
    }
    assert_int_equal(k, 20);
    lw_alertsink_stats(s, &st);
    assert_int_equal(st.sink[LW_ALERTSINK_WEBHOOK].delivered, 8);
    assert_int_equal(st.sink[LW_ALERTSINK_WEBHOOK].dropped, 12);
    lw_alertsink_destroy(s);
    rx_stop(rx);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void test_enqueue_never_blocks(void **state)
{
    (void)state;
    enum { N = 20000 };
    rx_t *rx = rx_start();
    rx->stall_ms = 3000; /* every request hangs for 3 s */
    char am[128], hook[128];
    snprintf(am, sizeof am, "http://127.0.0.1:%u", rx_port(rx));
    snprintf(hook, sizeof hook, "http://127.0.0.1:%u/hook", rx_port(rx));
    lw_alertsink_opts_t o;
    lw_alertsink_opts_default(&o);
    o.alertmanager_url = am;
    o.webhook_url = hook;
    o.timeout_ms = 10000;
    lw_alertsink_t *s = sink_new(&o);

    static double lat[N];
    lw_alert_event_t ev = event(LW_ALERT_PENDING, LW_ALERT_FIRING, "playlists");
    for (int i = 0; i < N; i++) {
        double t0 = now_s();
        lw_alertsink_enqueue(s, &ev, 1);
        lat[i] = now_s() - t0;
        if (i == 10)
            usleep(100 * 1000); /* let the worker get stuck in a request */
    }
    qsort(lat, N, sizeof lat[0], cmp_double);
    print_message("    enqueue under a stalled receiver: p50 %.1f us, p99 %.1f us, max %.1f us\n",
                  lat[N / 2] * 1e6, lat[N * 99 / 100] * 1e6, lat[N - 1] * 1e6);
    assert_true(lat[N - 1] < 0.050); /* never waits for the 3 s request */
    lw_alertsink_stats_t st;
    lw_alertsink_stats(s, &st);
    assert_true(rx_count(rx) >= 1);
    assert_int_equal(st.sink[LW_ALERTSINK_WEBHOOK].queued, o.queue_max);
    assert_true(st.sink[LW_ALERTSINK_WEBHOOK].dropped >= N - o.queue_max - 1);

    double t0 = now_s();
    lw_alertsink_destroy(s); /* aborts the request in flight */
    double took = now_s() - t0;
    print_message("    destroy with a request in flight: %.1f ms\n", took * 1e3);
    assert_true(took < 1.5);
    rx_stop(rx);
}

static void test_resend_firing(void **state)
{
    (void)state;
    rx_t *rx = rx_start();
    char am[128];
    snprintf(am, sizeof am, "http://127.0.0.1:%u", rx_port(rx));
    lw_alertsink_opts_t o;
    lw_alertsink_opts_default(&o);
    o.alertmanager_url = am;
    o.resend_ms = 150;
    lw_alertsink_t *s = sink_new(&o);

    lw_alert_event_t fire = event(LW_ALERT_PENDING, LW_ALERT_FIRING, "playlists");
    lw_alertsink_enqueue(s, &fire, 1);
    usleep(800 * 1000);
    int n = rx_count(rx);
    print_message("    %d POSTs in 800 ms with resend 150 ms\n", n);
    assert_true(n >= 4);
    lw_buf_t want;
    lw_buf_init(&want, 1 << 20);
    const lw_alert_event_t *one[] = {&fire};
    lw_alertsink_json_alertmanager(&want, one, 1, NOW_MS, 600, "");
    pthread_mutex_lock(&rx->mu);
    for (int i = 0; i < rx->nreq; i++)
        assert_string_equal(rx->req[i].body, want.data); /* endsAt = now + 4 x 150 ms */
    pthread_mutex_unlock(&rx->mu);

    lw_alert_event_t res = event(LW_ALERT_FIRING, LW_ALERT_RESOLVED, "playlists");
    lw_alertsink_enqueue(s, &res, 1);
    assert_true(lw_alertsink_flush(s, 5000));
    usleep(100 * 1000);
    int after = rx_count(rx);
    usleep(500 * 1000);
    assert_int_equal(rx_count(rx), after); /* nothing left to re-send */
    lw_alertsink_stats_t st;
    lw_alertsink_stats(s, &st);
    assert_int_equal(st.firing, 0);
    assert_true(st.resends >= 3);
    lw_buf_release(&want);
    lw_alertsink_destroy(s);
    rx_stop(rx);
}

typedef struct {
    pthread_mutex_t mu;
    lw_alert_state_t seen[16];
    int n, calls;
} custom_t;

static lw_alertsink_result_t custom_deliver(void *ctx, const lw_alert_event_t *ev, char *err,
                                            size_t errsz)
{
    custom_t *c = ctx;
    pthread_mutex_lock(&c->mu);
    lw_alertsink_result_t r = LW_ALERTSINK_DELIVERED;
    if (++c->calls == 2) {
        snprintf(err, errsz, "broker away");
        r = LW_ALERTSINK_RETRY;
    } else if (c->n < 16) {
        c->seen[c->n++] = ev->to;
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

static void test_custom_sink(void **state)
{
    (void)state;
    custom_t c;
    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.mu, NULL);
    lw_alertsink_opts_t o;
    lw_alertsink_opts_default(&o);
    o.custom = custom_deliver;
    o.custom_ctx = &c;
    o.backoff_initial_ms = 20;
    lw_alertsink_t *s = sink_new(&o);
    lw_alert_event_t ev[4] = {
        event(LW_ALERT_INACTIVE, LW_ALERT_PENDING, "p"),
        event(LW_ALERT_PENDING, LW_ALERT_FIRING, "p"),
        event(LW_ALERT_FIRING, LW_ALERT_RESOLVED, "p"),
        event(LW_ALERT_RESOLVED, LW_ALERT_NODATA, "p"),
    };
    lw_alertsink_enqueue(s, ev, 4);
    assert_true(lw_alertsink_flush(s, 5000));
    assert_int_equal(c.n, 4);
    assert_int_equal(c.calls, 5);
    for (int i = 0; i < 4; i++)
        assert_int_equal(c.seen[i], ev[i].to);

    /* options are checked */
    char err[256];
    lw_alertsink_opts_default(&o);
    o.webhook_url = "ftp://x";
    assert_int_equal(lw_alertsink_opts_check(&o, err, sizeof err), LW_ERR_CONFIG);
    o.webhook_url = "http://x";
    static const char *const bad[] = {"NoColon"};
    o.webhook_headers = bad;
    o.nwebhook_headers = 1;
    assert_int_equal(lw_alertsink_opts_check(&o, err, sizeof err), LW_ERR_CONFIG);
    o.nwebhook_headers = 0;
    o.queue_max = 0;
    assert_int_equal(lw_alertsink_opts_check(&o, err, sizeof err), LW_ERR_CONFIG);
    lw_alertsink_destroy(s);
    pthread_mutex_destroy(&c.mu);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_exact),
        cmocka_unit_test(test_alertmanager_and_webhook),
        cmocka_unit_test(test_retry_backoff_and_reject),
        cmocka_unit_test(test_queue_bound_drops_oldest),
        cmocka_unit_test(test_enqueue_never_blocks),
        cmocka_unit_test(test_resend_firing),
        cmocka_unit_test(test_custom_sink),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
