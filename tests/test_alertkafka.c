/*
 * test_alertkafka.c - the Kafka alert sink (alertkafka.h) against
 * librdkafka's mock cluster started in this process (lw_mock_new).
 *
 * Events are real ones: an alert table (alert.c) is driven through a few
 * evaluations of two edges so it produces pending / firing / resolved
 * transitions.  The cases check the message JSON (parsed with yajl), the
 * consumer-only property filter and the forced producer settings, then
 * deliver to the mock and read the topic back with a plain consumer
 * (key = fingerprint, value = the rendered JSON, per-key order, one
 * partition per key), a broker that is down (RETRY within the timeout,
 * delivered once it is back, nothing reordered), a too-large message
 * (REJECT), a fatal producer error (RETRY, then a fresh handle delivers),
 * and finally the whole path through lw_alertsink with the Kafka sink as
 * its custom callback, across a broker outage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "leadwatch/alert/alertkafka.h"
#include "leadwatch/ingest/mockkafka.h"
#include "leadwatch/core/timeutil.h"

#define T0 INT64_C(1767225600000) /* 2026-01-01 */
#define DAY INT64_C(86400000)
#define TOPIC "leadwatch-alerts"
#define NPART 2
#define MAX_EV 32
#define MAX_MSG 64

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- real events from the alert state machine ---- */

static lw_alert_obs_t obs(const char *source, char verdict, const char *summary)
{
    lw_alert_obs_t o;
    memset(&o, 0, sizeof o);
    o.nsm = "listeners";
    o.source = source;
    o.target = "listeners";
    o.kind = "depth";
    o.verdict = verdict == 'L' ? LW_ALERT_V_LEADS : LW_ALERT_V_INCONCLUSIVE;
    o.sensitivity_known = true;
    o.sensitive = true;
    o.evidence.p = 0.2;
    o.evidence.q = 0.3;
    o.evidence.lag = 2;
    o.evidence.coefficient = 0.5;
    o.evidence.oos_skill = NAN;
    o.evidence.window_first = "2025-10-01";
    o.evidence.window_last = "2025-12-31";
    o.evidence.as_of = "2025-12-31";
    o.evidence.summary = summary;
    if (summary && strlen(summary) > 100) /* a large message: long text everywhere */
        o.evidence.break_period = o.evidence.window_first = o.evidence.window_last =
            o.evidence.as_of = summary;
    return o;
}

/*
 * Two edges, for 1, keep_firing_for 0; per round the verdicts of
 * playlists and follows:  LL, LL, IL, II, LI  ->  the first two rounds arm
 * both edges (more than `for` consecutive leads), then
 *   playlists: pending, firing, resolved;  follows: pending, firing.
 * Returns the number of events copied into ev (in the order produced).
 */
static size_t make_events(lw_alert_event_t *ev, size_t max, const char *summary)
{
    static const char *const rounds[] = {"LL", "LL", "IL", "II", "LI"};
    lw_alert_opts_t opts;
    lw_alert_opts_default(&opts);
    opts.for_evals = 1;
    opts.arm_after = 2; /* LL arms */
    opts.keep_firing_for = 0;
    lw_alert_table_t *t = NULL;
    char err[256];
    assert_int_equal(lw_alert_table_new(&opts, &t, err, sizeof err), LW_OK);
    size_t n = 0;
    for (size_t r = 0; r < sizeof rounds / sizeof rounds[0]; r++) {
        lw_alert_obs_t o[2] = {obs("playlists", rounds[r][0], summary),
                               obs("follows", rounds[r][1], summary)};
        assert_int_equal(lw_alert_eval(t, o, 2, T0 + (int64_t)r * DAY + 123, err, sizeof err),
                         LW_OK);
        size_t ne;
        const lw_alert_event_t *e = lw_alert_events(t, &ne);
        for (size_t i = 0; i < ne; i++) {
            assert_true(n < max);
            ev[n++] = e[i];
        }
    }
    lw_alert_table_destroy(t);
    assert_int_equal(n, 5);
    return n;
}

/* ---- reading the topic back ---- */

typedef struct {
    char key[32];
    char *value;
    int32_t partition;
} msg_t;

typedef struct {
    msg_t m[MAX_MSG];
    size_t n;
} msgs_t;

static void msgs_release(msgs_t *ms)
{
    for (size_t i = 0; i < ms->n; i++)
        free(ms->m[i].value);
    ms->n = 0;
}

/*
 * Read every partition of TOPIC from the beginning until `want` messages
 * arrived (or 20 s passed), then `extra_ms` more to catch unexpected ones.
 */
static void consume(const char *bootstraps, size_t want, int extra_ms, msgs_t *out)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, err, sizeof err),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "group.id", "reader", err, sizeof err),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err),
                     RD_KAFKA_CONF_OK);
    rd_kafka_conf_set_log_cb(conf, lw_kafka_log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(rk);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(NPART);
    for (int32_t p = 0; p < NPART; p++)
        rd_kafka_topic_partition_list_add(parts, TOPIC, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(parts);

    memset(out, 0, sizeof *out);
    int64_t deadline = mono_ms() + 20000;
    int64_t stop = -1;
    while (mono_ms() < (stop >= 0 ? stop : deadline)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m && !m->err) {
            assert_true(out->n < MAX_MSG);
            msg_t *d = &out->m[out->n++];
            snprintf(d->key, sizeof d->key, "%.*s", (int)m->key_len, (const char *)m->key);
            d->value = strndup(m->payload, m->len);
            d->partition = m->partition;
        }
        if (m)
            rd_kafka_message_destroy(m);
        if (stop < 0 && out->n >= want)
            stop = mono_ms() + extra_ms;
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (out->n < want)
        fail_msg("read %zu messages of %zu", out->n, want);
}

/*
 * Every event's messages appear under its key, in event order per key,
 * each key on one partition.  `copies` (may be NULL) gets how many times
 * each event was read; without it exactly one copy each is required.
 */
static void check_topic(const msgs_t *ms, const lw_alert_event_t *ev, size_t n, int *copies)
{
    for (size_t i = 0; i < n; i++) {
        char key[24];
        lw_alertkafka_key(&ev[i], key, sizeof key);
        lw_buf_t b;
        lw_buf_init(&b, LW_ALERTKAFKA_MSG_MAX);
        assert_int_equal(lw_alertkafka_json(&b, &ev[i], NULL), LW_OK);
        /* position of this event's first copy must follow the previous event's with this key */
        int found = 0;
        size_t first = 0;
        int32_t part = -1;
        for (size_t j = 0; j < ms->n; j++) {
            if (strcmp(ms->m[j].key, key) != 0)
                continue;
            if (part < 0)
                part = ms->m[j].partition;
            assert_int_equal(ms->m[j].partition, part);
            if (strcmp(ms->m[j].value, b.data) == 0 && found++ == 0)
                first = j;
        }
        if (found == 0)
            fail_msg("event %zu (%s -> %s) not in the topic", i, lw_alert_state_name(ev[i].from),
                     lw_alert_state_name(ev[i].to));
        for (size_t k = i + 1; k < n; k++) {
            if (ev[k].fingerprint != ev[i].fingerprint)
                continue;
            /* no copy of a later event of the same alert before this one */
            lw_buf_t lb;
            lw_buf_init(&lb, LW_ALERTKAFKA_MSG_MAX);
            assert_int_equal(lw_alertkafka_json(&lb, &ev[k], NULL), LW_OK);
            for (size_t j = 0; j < first; j++)
                assert_false(strcmp(ms->m[j].value, lb.data) == 0);
            lw_buf_release(&lb);
        }
        if (copies)
            copies[i] = found;
        else
            assert_int_equal(found, 1);
        lw_buf_release(&b);
    }
}

/* ---- the cases ---- */

static const char *json_str_at(yajl_val root, const char **path)
{
    yajl_val v = yajl_tree_get(root, path, yajl_t_string);
    if (!v)
        fail_msg("missing string %s.%s", path[0], path[1] ? path[1] : "");
    return YAJL_GET_STRING(v);
}

static void test_json_shape(void **state)
{
    (void)state;
    lw_alert_event_t ev[MAX_EV];
    size_t n = make_events(ev, MAX_EV, "playlists stopped \"leading\"\n");
    for (size_t i = 0; i < n; i++) {
        lw_buf_t b;
        lw_buf_init(&b, LW_ALERTKAFKA_MSG_MAX);
        assert_int_equal(lw_alertkafka_json(&b, &ev[i], "http://lw:9464/"), LW_OK);
        char perr[256];
        yajl_val root = yajl_tree_parse(b.data, perr, sizeof perr);
        if (!root)
            fail_msg("event %zu: %s in %s", i, perr, b.data);
        assert_string_equal(json_str_at(root, (const char *[]){"version", NULL}), "1");
        assert_string_equal(json_str_at(root, (const char *[]){"state_change", "condition", NULL}),
                            lw_alert_cond_name(ev[i].cond));
        assert_string_equal(json_str_at(root, (const char *[]){"state_change", "from", NULL}),
                            lw_alert_state_name(ev[i].from));
        assert_string_equal(json_str_at(root, (const char *[]){"state_change", "to", NULL}),
                            lw_alert_state_name(ev[i].to));
        yajl_val refresh =
            yajl_tree_get(root, (const char *[]){"state_change", "refresh", NULL}, yajl_t_any);
        assert_true(refresh && YAJL_IS_FALSE(refresh));
        const char *at = json_str_at(root, (const char *[]){"state_change", "at", NULL});
        int64_t at_ms;
        assert_true(lw_time_parse_iso8601(at, strlen(at), &at_ms));
        assert_true(at_ms == ev[i].at_ms); /* milliseconds kept (T0 + r days + 123 ms) */

        /* "alert" is the webhook alert */
        char key[24];
        lw_alertkafka_key(&ev[i], key, sizeof key);
        assert_int_equal(strlen(key), 16);
        assert_string_equal(json_str_at(root, (const char *[]){"alert", "fingerprint", NULL}), key);
        assert_string_equal(
            json_str_at(root, (const char *[]){"alert", "labels", "alertname", NULL}),
            lw_alert_cond_alertname(ev[i].cond));
        assert_string_equal(json_str_at(root, (const char *[]){"alert", "labels", "edge", NULL}),
                            lw_alert_event_label(&ev[i], "edge"));
        assert_string_equal(
            json_str_at(root, (const char *[]){"alert", "annotations", "summary", NULL}),
            "playlists stopped \"leading\"\n");
        assert_string_equal(json_str_at(root, (const char *[]){"alert", "generatorURL", NULL}),
                            "http://lw:9464/");
        const char *status = json_str_at(root, (const char *[]){"alert", "status", NULL});
        assert_string_equal(status, ev[i].to == LW_ALERT_FIRING     ? "firing"
                                    : ev[i].to == LW_ALERT_RESOLVED ? "resolved"
                                                                    : "pending");
        /* exactly the sink's rendering of the alert */
        lw_buf_t a;
        lw_buf_init(&a, LW_ALERTKAFKA_MSG_MAX);
        assert_int_equal(lw_alertsink_json_alert(&a, &ev[i], "http://lw:9464/"), LW_OK);
        assert_non_null(strstr(b.data, a.data));
        lw_buf_release(&a);
        yajl_tree_free(root);
        lw_buf_release(&b);
    }
    /* the sequence is what make_events says */
    assert_int_equal(ev[0].to, LW_ALERT_PENDING);
    assert_int_equal(ev[n - 1].to, LW_ALERT_FIRING);

    /* a bound too small for the message is the buffer's error */
    lw_buf_t small;
    lw_buf_init(&small, 64);
    assert_int_equal(lw_alertkafka_json(&small, &ev[0], NULL), LW_ERR_TOO_LARGE);
    lw_buf_release(&small);
}

static void test_consumer_props(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        bool consumer;
    } cases[] = {
        {"group.id", true},
        {"auto.offset.reset", true},
        {"enable.auto.commit", true},
        {"session.timeout.ms", true},
        {"partition.assignment.strategy", true},
        {"bootstrap.servers", false},
        {"acks", false},
        {"client.id", false},
        {"security.protocol", false},
        {"linger.ms", false},
        {"no.such.property", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (lw_alertkafka_is_consumer_prop(cases[i].key) != cases[i].consumer)
            fail_msg("%s: consumer-only should be %d", cases[i].key, cases[i].consumer);
    }
}

static void conf_value(rd_kafka_t *rk, const char *key, char *out, size_t size)
{
    size_t sz = size;
    assert_int_equal(rd_kafka_conf_get(rd_kafka_conf(rk), key, out, &sz), RD_KAFKA_CONF_OK);
}

static void test_new_errors_and_forced(void **state)
{
    (void)state;
    char err[512];
    lw_alertkafka_t *k = (lw_alertkafka_t *)1;
    const lw_kafka_prop_t ok[] = {{"bootstrap.servers", "127.0.0.1:1"},
                                  {"group.id", "g"},
                                  {"acks", "1"},
                                  {"enable.idempotence", "false"},
                                  {"client.id", "lw-test"}};
    assert_int_equal(lw_alertkafka_new(ok, 5, "", 0, &k, err, sizeof err), LW_ERR_CONFIG);
    assert_null(k);
    assert_non_null(strstr(err, "alerts.kafka.topic"));
    assert_int_equal(lw_alertkafka_new(ok, 5, TOPIC, 50, &k, err, sizeof err), LW_ERR_CONFIG);
    assert_non_null(strstr(err, "alerts.kafka.timeout"));
    assert_int_equal(lw_alertkafka_new(ok + 1, 4, TOPIC, 0, &k, err, sizeof err), LW_ERR_CONFIG);
    assert_non_null(strstr(err, "bootstrap.servers"));
    const lw_kafka_prop_t bad[] = {{"bootstrap.servers", "127.0.0.1:1"},
                                   {"socket.timeout.ms", "soon"}};
    assert_int_equal(lw_alertkafka_new(bad, 2, TOPIC, 0, &k, err, sizeof err), LW_ERR_CONFIG);
    assert_non_null(strstr(err, "source.kafka.socket.timeout.ms"));
    /* the forced settings win over source.kafka; client.id passes through */
    assert_int_equal(lw_alertkafka_new(ok, 5, TOPIC, 1500, &k, err, sizeof err), LW_OK);
    char v[128];
    conf_value(lw_alertkafka_handle(k), "acks", v, sizeof v);
    assert_string_equal(v, "-1");
    conf_value(lw_alertkafka_handle(k), "enable.idempotence", v, sizeof v);
    assert_string_equal(v, "true");
    conf_value(lw_alertkafka_handle(k), "message.timeout.ms", v, sizeof v);
    assert_string_equal(v, "1500");
    conf_value(lw_alertkafka_handle(k), "client.id", v, sizeof v);
    assert_string_equal(v, "lw-test");
    /* group.id is consumer-only: not set on the producer (unset reads as UNKNOWN) */
    size_t sz = sizeof v;
    v[0] = '\0';
    rd_kafka_conf_res_t res =
        rd_kafka_conf_get(rd_kafka_conf(lw_alertkafka_handle(k)), "group.id", v, &sz);
    assert_true(res != RD_KAFKA_CONF_OK || v[0] == '\0');
    lw_alertkafka_destroy(k);
    lw_alertkafka_destroy(NULL);
}

typedef struct {
    lw_mock_t *mock;
    lw_kafka_prop_t props[3];
} env_t;

static void env_setup(env_t *e)
{
    char err[512];
    e->mock = lw_mock_new(1, err, sizeof err);
    assert_non_null(e->mock);
    assert_int_equal(lw_mock_create_topic(e->mock, TOPIC, NPART, err, sizeof err), LW_OK);
    e->props[0] = (lw_kafka_prop_t){"bootstrap.servers", lw_mock_bootstraps(e->mock)};
    e->props[1] = (lw_kafka_prop_t){"group.id", "leadwatch"}; /* consumer-only: skipped */
    e->props[2] = (lw_kafka_prop_t){"reconnect.backoff.max.ms", "500"};
}

static void env_control(env_t *e, const char *line)
{
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    assert_int_equal(lw_mock_control(e->mock, line, devnull), LW_OK);
    fclose(devnull);
}

static void test_deliver_and_consume(void **state)
{
    (void)state;
    env_t e;
    env_setup(&e);
    char err[512];
    lw_alertkafka_t *k = NULL;
    assert_int_equal(lw_alertkafka_new(e.props, 3, TOPIC, 5000, &k, err, sizeof err), LW_OK);
    lw_alert_event_t ev[MAX_EV];
    size_t n = make_events(ev, MAX_EV, NULL);
    int64_t slowest = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t t0 = mono_ms();
        lw_alertsink_result_t r = lw_alertkafka_deliver(k, &ev[i], err, sizeof err);
        if (r != LW_ALERTSINK_DELIVERED)
            fail_msg("event %zu: result %d: %s", i, (int)r, err);
        if (mono_ms() - t0 > slowest)
            slowest = mono_ms() - t0;
    }
    printf("%zu deliveries, slowest %lld ms (the first includes connecting)\n", n,
           (long long)slowest);
    lw_alertkafka_stats_t st;
    lw_alertkafka_stats(k, &st);
    assert_int_equal(st.delivered, n);
    assert_int_equal(st.retries + st.rejected + st.reopens, 0);

    msgs_t ms;
    consume(lw_mock_bootstraps(e.mock), n, 500, &ms);
    assert_int_equal(ms.n, n);
    check_topic(&ms, ev, n, NULL);
    /* the two alerts are told apart by key: 3 messages for playlists, 2 for follows */
    int per_key[2] = {0, 0};
    char k0[24];
    lw_alertkafka_key(&ev[0], k0, sizeof k0);
    for (size_t j = 0; j < ms.n; j++)
        per_key[strcmp(ms.m[j].key, k0) == 0 ? 0 : 1]++;
    assert_int_equal(per_key[0], 3);
    assert_int_equal(per_key[1], 2);
    msgs_release(&ms);
    lw_alertkafka_destroy(k);
    lw_mock_destroy(e.mock);
}

static void test_broker_down_retry(void **state)
{
    (void)state;
    env_t e;
    env_setup(&e);
    char err[512];
    lw_alertkafka_t *k = NULL;
    const int64_t timeout = 1000;
    assert_int_equal(lw_alertkafka_new(e.props, 3, TOPIC, timeout, &k, err, sizeof err), LW_OK);
    lw_alert_event_t ev[MAX_EV];
    size_t n = make_events(ev, MAX_EV, NULL);

    lw_alertsink_result_t r0 = lw_alertkafka_deliver(k, &ev[0], err, sizeof err);
    if (r0 != LW_ALERTSINK_DELIVERED)
        fail_msg("first delivery: %d: %s", (int)r0, err);
    env_control(&e, "down 1");
    int64_t t0 = mono_ms();
    lw_alertsink_result_t r = lw_alertkafka_deliver(k, &ev[1], err, sizeof err);
    int64_t took = mono_ms() - t0;
    assert_int_equal(r, LW_ALERTSINK_RETRY);
    assert_true(err[0] != '\0');
    if (took > timeout + 500) /* poll slices, a loaded machine */
        fail_msg("RETRY after %lld ms, timeout %lld ms", (long long)took, (long long)timeout);
    printf("broker down: RETRY after %lld ms (%s)\n", (long long)took, err);

    /* a second attempt while down is also retried, not rejected */
    assert_int_equal(lw_alertkafka_deliver(k, &ev[1], err, sizeof err), LW_ALERTSINK_RETRY);

    env_control(&e, "up 1");
    int attempts = 0;
    t0 = mono_ms();
    do {
        r = lw_alertkafka_deliver(k, &ev[1], err, sizeof err);
        attempts++;
    } while (r == LW_ALERTSINK_RETRY && attempts < 30);
    assert_int_equal(r, LW_ALERTSINK_DELIVERED);
    printf("broker back: delivered after %d attempt(s), %lld ms\n", attempts,
           (long long)(mono_ms() - t0));
    for (size_t i = 2; i < n; i++)
        assert_int_equal(lw_alertkafka_deliver(k, &ev[i], err, sizeof err), LW_ALERTSINK_DELIVERED);
    lw_alertkafka_stats_t st;
    lw_alertkafka_stats(k, &st);
    assert_int_equal(st.delivered, n);
    assert_true(st.retries >= 2);

    /* at least once: every event present, in order per key; duplicates only of ev[1] */
    msgs_t ms;
    consume(lw_mock_bootstraps(e.mock), n, 1500, &ms);
    int copies[MAX_EV];
    check_topic(&ms, ev, n, copies);
    for (size_t i = 0; i < n; i++) {
        if (i != 1)
            assert_int_equal(copies[i], 1);
    }
    assert_true(copies[1] >= 1 && copies[1] <= 2 + attempts);
    msgs_release(&ms);
    lw_alertkafka_destroy(k);
    lw_mock_destroy(e.mock);
}

static void test_reject_and_fatal(void **state)
{
    (void)state;
    env_t e;
    env_setup(&e);
    char err[512];
    /* 250-byte annotations make the message larger than message.max.bytes */
    char summary[250];
    memset(summary, 'x', sizeof summary - 1);
    summary[sizeof summary - 1] = '\0';
    lw_alert_event_t big[MAX_EV], ev[MAX_EV];
    make_events(big, MAX_EV, summary);
    size_t n = make_events(ev, MAX_EV, NULL);
    lw_buf_t b;
    lw_buf_init(&b, LW_ALERTKAFKA_MSG_MAX);
    assert_int_equal(lw_alertkafka_json(&b, &big[0], NULL), LW_OK);
    assert_true(b.len > 1500);
    lw_buf_release(&b);

    const lw_kafka_prop_t props[] = {e.props[0], {"message.max.bytes", "1000"}};
    lw_alertkafka_t *k = NULL;
    assert_int_equal(lw_alertkafka_new(props, 2, TOPIC, 3000, &k, err, sizeof err), LW_OK);
    assert_int_equal(lw_alertkafka_deliver(k, &big[0], err, sizeof err), LW_ALERTSINK_REJECT);
    assert_non_null(strstr(err, TOPIC));
    assert_int_equal(lw_alertkafka_deliver(k, &ev[0], err, sizeof err), LW_ALERTSINK_DELIVERED);

    /* a fatal idempotence error: RETRY, then a new handle delivers */
    assert_int_equal(rd_kafka_test_fatal_error(lw_alertkafka_handle(k),
                                               RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                               "injected by test_alertkafka"),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(lw_alertkafka_deliver(k, &ev[1], err, sizeof err), LW_ALERTSINK_RETRY);
    assert_non_null(strstr(err, "fatal"));
    assert_null(lw_alertkafka_handle(k));
    assert_int_equal(lw_alertkafka_deliver(k, &ev[1], err, sizeof err), LW_ALERTSINK_DELIVERED);
    assert_non_null(lw_alertkafka_handle(k));
    lw_alertkafka_stats_t st;
    lw_alertkafka_stats(k, &st);
    assert_int_equal(st.rejected, 1);
    assert_int_equal(st.reopens, 1);
    assert_int_equal(st.delivered, 2);

    msgs_t ms;
    consume(lw_mock_bootstraps(e.mock), 2, 500, &ms);
    assert_int_equal(ms.n, 2);
    check_topic(&ms, ev, 2, NULL);
    (void)n;
    msgs_release(&ms);
    lw_alertkafka_destroy(k);
    lw_mock_destroy(e.mock);
}

static void test_alertsink_end_to_end(void **state)
{
    (void)state;
    env_t e;
    env_setup(&e);
    char err[512];
    lw_alertkafka_t *k = NULL;
    assert_int_equal(lw_alertkafka_new(e.props, 3, TOPIC, 800, &k, err, sizeof err), LW_OK);
    lw_alert_event_t ev[MAX_EV];
    size_t n = make_events(ev, MAX_EV, NULL);

    lw_alertsink_opts_t o;
    lw_alertsink_opts_default(&o);
    o.custom = lw_alertkafka_deliver;
    o.custom_ctx = k;
    o.backoff_initial_ms = 50;
    o.backoff_max_ms = 400;
    lw_alertsink_t *s = NULL;
    assert_int_equal(lw_alertsink_new(&o, &s, err, sizeof err), LW_OK);

    lw_alertsink_enqueue(s, ev, 2);
    assert_true(lw_alertsink_flush(s, 20000));

    /* the broker goes away: the rest waits in the queue and is retried */
    env_control(&e, "down 1");
    lw_alertsink_enqueue(s, ev + 2, n - 2);
    sleep_ms(2000);
    lw_alertsink_stats_t st;
    lw_alertsink_stats(s, &st);
    assert_int_equal(st.sink[LW_ALERTSINK_CUSTOM].delivered, 2);
    assert_true(st.sink[LW_ALERTSINK_CUSTOM].retries >= 1);
    assert_int_equal(st.sink[LW_ALERTSINK_CUSTOM].queued, n - 2);
    env_control(&e, "up 1");
    assert_true(lw_alertsink_flush(s, 30000));
    lw_alertsink_stats(s, &st);
    assert_int_equal(st.sink[LW_ALERTSINK_CUSTOM].delivered, n);
    assert_int_equal(st.sink[LW_ALERTSINK_CUSTOM].failed, 0);
    assert_int_equal(st.sink[LW_ALERTSINK_CUSTOM].dropped, 0);
    printf("through lw_alertsink: %zu delivered, %llu retries during a 2 s outage\n", n,
           (unsigned long long)st.sink[LW_ALERTSINK_CUSTOM].retries);
    lw_alertsink_destroy(s);

    msgs_t ms;
    consume(lw_mock_bootstraps(e.mock), n, 1500, &ms);
    int copies[MAX_EV];
    check_topic(&ms, ev, n, copies);
    msgs_release(&ms);
    lw_alertkafka_destroy(k);
    lw_mock_destroy(e.mock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_shape),
        cmocka_unit_test(test_consumer_props),
        cmocka_unit_test(test_new_errors_and_forced),
        cmocka_unit_test(test_deliver_and_consume),
        cmocka_unit_test(test_broker_down_retry),
        cmocka_unit_test(test_reject_and_fatal),
        cmocka_unit_test(test_alertsink_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
