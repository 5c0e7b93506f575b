/*
 * test_consumer.c - the Kafka modules in one process: consumer.c (settings,
 * conf building, secrets, the daemon loop over a real mock cluster),
 * produce.c (pacing, delivery), mockkafka.c (control protocol) and daemon.c.
 *
 * The end-to-end cases start librdkafka's mock cluster in this process
 * (lw_mock_new), produce known messages with lw_producer, and run
 * lw_daemon_run with --exit-when-idle semantics into a temporary store:
 *   - clean data with poison interleaved: every message fed, poison counted
 *     by reason, the store's positions at each partition's end, Kafka's
 *     committed offsets equal to the store's;
 *   - a full disk (lw_store_set_max_pages): the daemon stops with
 *     LW_ERR_STORE and the group has no committed offset past the store;
 *   - lw_consumer_lag driven message by message: while behind, the lags
 *     sum to the messages not yet fed; at the end every lag is 0 and the
 *     watermarks sum to what was produced.
 *   - a commit Kafka refuses on partitions that then go quiet is retried
 *     until Kafka holds the store's offsets (issue 18.2);
 *   - the group's committed offsets unreadable at assignment: the partitions
 *     wait (paused) instead of starting from a store that is behind another
 *     member's progress, and start at the group's offsets once readable.
 * lw_consumer_check runs after every poll of these cases.
 * The multi-process failure cases (kill -9, SIGTERM, group failover, fault
 * injection) are the tests/it_kafka_*.sh scripts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <time.h>

#include "leadwatch/ingest/consumer.h"
#include "leadwatch/ingest/consumer_testing.h"
#include "leadwatch/app/daemon.h"
#include "leadwatch/ingest/mockkafka.h"
#include "leadwatch/ingest/produce.h"
#include "leadwatch/store/store.h"
#include "leadwatch/store/store_testing.h"
#include "testutil.h"

#ifdef NDEBUG
#error "the tests run with assertions on: lwcore's invariant asserts must be compiled in"
#endif

static void test_is_secret(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        bool secret;
    } cases[] = {{"sasl.password", true},           {"ssl.key.password", true},
                 {"ssl.keystore.password", true},   {"sasl.oauthbearer.client.secret", true},
                 {"sasl.oauthbearer.config", true}, {"ssl.key.pem", true},
                 {"bootstrap.servers", false},      {"group.id", false},
                 {"sasl.username", false},          {"security.protocol", false},
                 {"ssl.ca.location", false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (lw_kafka_is_secret(cases[i].key) != cases[i].secret)
            fail_msg("%s: secret should be %d", cases[i].key, cases[i].secret);
}

static void test_conf_new(void **state)
{
    (void)state;
    char err[512] = "", val[64];
    size_t vlen = sizeof val;
    const lw_kafka_prop_t props[] = {{"bootstrap.servers", "127.0.0.1:1"},
                                     {"enable.auto.commit", "true"},
                                     {"session.timeout.ms", "7000"}};
    const lw_kafka_prop_t forced[] = {{"enable.auto.commit", "false"}};
    rd_kafka_conf_t *conf = lw_kafka_conf_new(props, 3, forced, 1, err, sizeof err);
    assert_non_null(conf);
    assert_int_equal(rd_kafka_conf_get(conf, "enable.auto.commit", val, &vlen), RD_KAFKA_CONF_OK);
    assert_string_equal(val, "false"); /* forced wins over the user's value */
    vlen = sizeof val;
    assert_int_equal(rd_kafka_conf_get(conf, "session.timeout.ms", val, &vlen), RD_KAFKA_CONF_OK);
    assert_string_equal(val, "7000"); /* passed through unchanged */
    rd_kafka_conf_destroy(conf);

    const lw_kafka_prop_t bad[] = {{"group.id", "g"}, {"no.such.thing", "1"}};
    assert_null(lw_kafka_conf_new(bad, 2, NULL, 0, err, sizeof err));
    assert_non_null(strstr(err, "no.such.thing: "));
    assert_non_null(strstr(err, "No such configuration property"));
}

static void test_pacer(void **state)
{
    (void)state;
    lw_pacer_t pc;
    lw_pacer_init(&pc, 1000.0, 5000); /* 1 message per ms from t = 5000 */
    static const struct {
        int64_t sent, now, wait;
    } cases[] = {{0, 5000, 0}, {10, 5000, 10}, {10, 5010, 0}, {10, 5020, 0}, {2500, 6000, 1500}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(lw_pacer_delay_ms(&pc, cases[i].sent, cases[i].now), cases[i].wait);
    lw_pacer_init(&pc, 0, 0); /* unlimited */
    assert_int_equal(lw_pacer_delay_ms(&pc, 1000000, 0), 0);
}

static char *run_control(lw_mock_t *m, const char *line, lw_err_t *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    *rc = lw_mock_control(m, line, f);
    fclose(f);
    return buf;
}

static void test_mock_control(void **state)
{
    (void)state;
    char err[256];
    lw_mock_t *m = lw_mock_new(2, err, sizeof err);
    assert_non_null(m);
    assert_non_null(strstr(lw_mock_bootstraps(m), "127.0.0.1:"));
    static const struct {
        const char *line;
        lw_err_t rc;
        const char *expect; /* substring of the answer */
    } cases[] = {
        {"topic t 3", LW_OK, "ok\n"},
        {"topic t 3", LW_ERR_INVALID, "error: topic t exists\n"},
        {"topic u 0", LW_ERR_INVALID, "error: bad partition count"},
        {"down 2", LW_OK, "ok\n"},
        {"up 2", LW_OK, "ok\n"},
        {"down 3", LW_ERR_INVALID, "error: bad broker id"},
        {"rtt 1 50", LW_OK, "ok\n"},
        {"rtt 1 x", LW_ERR_INVALID, "error: usage: rtt"},
        {"errors fetch 2 REQUEST_TIMED_OUT", LW_OK, "ok\n"},
        {"errors 8 1 16", LW_OK, "ok\n"},
        {"errors fetch 2 NO_SUCH_ERROR", LW_ERR_INVALID, "error: usage: errors"},
        {"watermarks t", LW_OK, "0 0 0\n1 0 0\n2 0 0\nok\n"},
        {"watermarks nope", LW_ERR_NOT_FOUND, "error: unknown topic nope"},
        {"committed g t", LW_OK, "0 -1001\n1 -1001\n2 -1001\nok\n"},
        {"frobnicate", LW_ERR_INVALID, "error: unknown command"},
        {"", LW_ERR_INVALID, "error: empty command"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lw_err_t rc;
        char *out = run_control(m, cases[i].line, &rc);
        if (rc != cases[i].rc || !strstr(out, cases[i].expect))
            fail_msg("'%s': rc %s, answer \"%s\", want \"%s\"", cases[i].line, lw_err_name(rc), out,
                     cases[i].expect);
        free(out);
    }
    /* clear the injected errors so the mock shuts down quietly */
    lw_err_t rc;
    free(run_control(m, "rtt 1 0", &rc));
    lw_mock_destroy(m);
}

static void test_settings_errors(void **state)
{
    (void)state;
    lw_config_t *cfg = NULL;
    TU_CONFIG("source: {format: segment}\n"
              "metrics:\n  - {name: a, count: true}\n  - {name: b, distinct: user}\n"
              "tree: {nsm: a, inputs: [{metric: b, kind: breadth}]}\n",
              &cfg);
    char *dir = tu_tempdir("consumer");
    char *db = tu_path(dir, "s.db");
    lw_store_t *store = NULL;
    char err[512];
    assert_int_equal(lw_store_open(db, 0, &store, err, sizeof err), LW_OK);
    lw_pipeline_t *p = lw_pipeline_new(cfg, store, err, sizeof err);
    assert_non_null(p);
    const char *topics[] = {"t"};
    static const struct {
        lw_kafka_prop_t props[2];
        size_t nprops, ntopics;
        const char *expect;
    } cases[] = {
        {{{"bootstrap.servers", "127.0.0.1:1"}}, 1, 1, "source.kafka.group.id: required"},
        {{{"group.id", "g"}}, 1, 1, "source.kafka.bootstrap.servers: required"},
        {{{"group.id", "g"}, {"bootstrap.servers", "x"}}, 2, 0, "source.topics: no topic"},
        {{{"group.id", "g"}, {"bootstrap.servers", "x"}}, 2, 1, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lw_kafka_settings_t ks = {cases[i].props, cases[i].nprops, topics, cases[i].ntopics, NULL};
        lw_consumer_t *c = lw_consumer_new(&ks, p, err, sizeof err);
        if (!cases[i].expect) {
            assert_non_null(c);
            lw_consumer_destroy(c);
            continue;
        }
        assert_null(c);
        if (!strstr(err, cases[i].expect))
            fail_msg("case %zu: \"%s\", want \"%s\"", i, err, cases[i].expect);
    }
    const lw_kafka_prop_t bad[] = {{"group.id", "g"}, {"bootstrap.servers", "x"}, {"nope", "1"}};
    lw_kafka_settings_t ks = {bad, 3, topics, 1, NULL};
    assert_null(lw_consumer_new(&ks, p, err, sizeof err));
    assert_non_null(strstr(err, "source.kafka.nope: "));

    lw_pipeline_destroy(p);
    lw_store_close(store);
    lw_config_free(cfg);
    tu_rm_rf(dir);
    free(db);
    free(dir);
}

typedef struct {
    const char *key, *want;
} prop_want_t;

static void expect_props(const rd_kafka_conf_t *conf, const prop_want_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char val[64];
        size_t vlen = sizeof val;
        assert_int_equal(rd_kafka_conf_get(conf, cases[i].key, val, &vlen), RD_KAFKA_CONF_OK);
        if (strcmp(val, cases[i].want) != 0)
            fail_msg("%s=%s, want %s", cases[i].key, val, cases[i].want);
    }
}

/* The properties leadwatch forces or defaults, as librdkafka sees them. */
static void test_defaults(void **state)
{
    (void)state;
    lw_config_t *cfg = NULL;
    TU_CONFIG("source: {format: segment}\n"
              "metrics:\n  - {name: a, count: true}\n  - {name: b, distinct: user}\n"
              "tree: {nsm: a, inputs: [{metric: b, kind: breadth}]}\n",
              &cfg);
    char *dir = tu_tempdir("consumer-defaults");
    char *db = tu_path(dir, "s.db");
    lw_store_t *store = NULL;
    char err[512];
    assert_int_equal(lw_store_open(db, 0, &store, err, sizeof err), LW_OK);
    lw_pipeline_t *p = lw_pipeline_new(cfg, store, err, sizeof err);
    assert_non_null(p);
    const char *topics[] = {"t"};
    const lw_kafka_prop_t props[] = {
        {"group.id", "g"}, {"bootstrap.servers", "127.0.0.1:1"}, {"enable.partition.eof", "false"}};
    lw_kafka_settings_t ks = {props, 3, topics, 1, NULL};
    lw_consumer_t *c = lw_consumer_new(&ks, p, err, sizeof err);
    assert_non_null(c);
    const rd_kafka_conf_t *conf = rd_kafka_conf(lw_consumer_handle(c));
    static const prop_want_t cases[] = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},  /* forced over the user's value */
        {"auto.offset.reset", "smallest"}, /* librdkafka's name for earliest */
        /* the bounded prefetch (librdkafka: 100000, 65536, 52428800) */
        {"queued.min.messages", "20000"},
        {"queued.max.messages.kbytes", "8192"},
        {"fetch.max.bytes", "1048576"}};
    expect_props(conf, cases, sizeof cases / sizeof cases[0]);
    lw_consumer_destroy(c);

    /* a user's prefetch setting wins; fetch.max.bytes is left to librdkafka
     * when a per-message or per-partition limit is set (it must not be
     * lower), and librdkafka caps it at queued.max.messages.kbytes */
    const lw_kafka_prop_t own[] = {{"group.id", "g"},
                                   {"bootstrap.servers", "127.0.0.1:1"},
                                   {"queued.min.messages", "5000"},
                                   {"fetch.message.max.bytes", "8388608"}};
    lw_kafka_settings_t ks2 = {own, 4, topics, 1, NULL};
    c = lw_consumer_new(&ks2, p, err, sizeof err);
    if (!c)
        fail_msg("%s", err);
    conf = rd_kafka_conf(lw_consumer_handle(c));
    static const prop_want_t own_cases[] = {{"queued.min.messages", "5000"},
                                            {"queued.max.messages.kbytes", "8192"},
                                            {"fetch.message.max.bytes", "8388608"},
                                            {"fetch.max.bytes", "8388608"}};
    expect_props(conf, own_cases, sizeof own_cases / sizeof own_cases[0]);
    /* the short fetch-queue backoff where librdkafka has it (>= 2.2), else nothing set */
    char val[64];
    size_t vlen = sizeof val;
    rd_kafka_conf_res_t r = rd_kafka_conf_get(conf, "fetch.queue.backoff.ms", val, &vlen);
    if (rd_kafka_version() >= 0x020200ff) {
        assert_int_equal(r, RD_KAFKA_CONF_OK);
        assert_string_equal(val, "10");
    } else {
        assert_int_equal(r, RD_KAFKA_CONF_UNKNOWN);
    }
    lw_consumer_destroy(c);
    lw_pipeline_destroy(p);
    lw_store_close(store);
    lw_config_free(cfg);
    tu_rm_rf(dir);
    free(db);
    free(dir);
}

/* ---- end to end against the in-process mock cluster ---- */

#define NPART 3

static const char *const CONFIG_TEXT =
    "source: {format: segment}\n"
    "store: {flush_events: 500}\n"
    "buckets: {size: 1d, grace: 30d}\n"
    "metrics:\n"
    "  - {name: plays, count: true, where: {event: track_played}}\n"
    "  - {name: users, distinct: user}\n"
    "tree: {nsm: plays, inputs: [{metric: users, kind: breadth}]}\n";

typedef struct {
    char *dir, *db;
    lw_config_t *cfg;
    lw_mock_t *mock;
    lw_kafka_prop_t props[5];
    const char *topics[1];
    int64_t good, poison[LW_REJECT__COUNT], total;
} e2e_t;

static void e2e_setup(e2e_t *e, const char *group)
{
    char err[512];
    memset(e, 0, sizeof *e);
    TU_CONFIG(CONFIG_TEXT, &e->cfg);
    e->dir = tu_tempdir("consumer-e2e");
    e->db = tu_path(e->dir, "k.db");
    e->mock = lw_mock_new(1, err, sizeof err);
    assert_non_null(e->mock);
    assert_int_equal(lw_mock_create_topic(e->mock, "ev", NPART, err, sizeof err), LW_OK);
    e->props[0] = (lw_kafka_prop_t){"bootstrap.servers", lw_mock_bootstraps(e->mock)};
    e->props[1] = (lw_kafka_prop_t){"group.id", group};
    e->props[2] = (lw_kafka_prop_t){"session.timeout.ms", "6000"};
    e->props[3] = (lw_kafka_prop_t){"heartbeat.interval.ms", "500"};
    e->props[4] = (lw_kafka_prop_t){"enable.auto.commit", "true"}; /* must be overridden */
    e->topics[0] = "ev";

    /* 3000 good events on 10 days, a poison message every 100th */
    lw_producer_t *prod = lw_producer_new(e->props, 1, err, sizeof err);
    assert_non_null(prod);
    static const struct {
        lw_reject_t reason;
        const char *text;
    } poison[] = {
        {LW_REJECT_INVALID_JSON, "{\"event\":"},
        {LW_REJECT_EMPTY, ""},
        {LW_REJECT_MISSING_USER, "{\"event\":\"x\",\"timestamp\":\"2024-01-02T00:00:00Z\"}"},
        {LW_REJECT_NOT_OBJECT, "[1]"}};
    for (int i = 0; i < 3000; i++) {
        char line[256], key[16], user[16];
        snprintf(key, sizeof key, "k%d", i % 97);
        snprintf(user, sizeof user, "u%d", i); /* distinct: sketches large enough to need pages */
        int n = snprintf(line, sizeof line,
                         "{\"event\":\"track_played\",\"userId\":\"%s\","
                         "\"timestamp\":\"2024-01-%02dT10:00:00Z\"}",
                         user, 1 + i % 10);
        assert_int_equal(lw_producer_send(prod, "ev", key, strlen(key), line, (size_t)n, NULL, 0,
                                          err, sizeof err),
                         LW_OK);
        e->good++;
        if (i % 100 == 0) {
            size_t k = (size_t)(i / 100) % 4;
            assert_int_equal(lw_producer_send(prod, "ev", key, strlen(key), poison[k].text,
                                              strlen(poison[k].text), NULL, 0, err, sizeof err),
                             LW_OK);
            e->poison[poison[k].reason]++;
        }
    }
    assert_int_equal(lw_producer_flush(prod, 10000, err, sizeof err), LW_OK);
    lw_producer_stats_t ps;
    lw_producer_stats(prod, &ps);
    e->total = ps.delivered;
    assert_int_equal(ps.delivered, 3030);
    lw_producer_destroy(prod);
}

static void e2e_teardown(e2e_t *e)
{
    lw_mock_destroy(e->mock);
    lw_config_free(e->cfg);
    tu_rm_rf(e->dir);
    free(e->db);
    free(e->dir);
}

/* The group's committed offsets, per partition (-1 when none). */
static void committed(e2e_t *e, int64_t out[NPART])
{
    char err[512];
    rd_kafka_conf_t *conf = lw_kafka_conf_new(e->props, 2, NULL, 0, err, sizeof err);
    assert_non_null(conf);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPART);
    for (int p = 0; p < NPART; p++)
        rd_kafka_topic_partition_list_add(l, "ev", p);
    assert_int_equal(rd_kafka_committed(rk, l, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    for (int p = 0; p < NPART; p++)
        out[p] = l->elems[p].offset < 0 ? -1 : l->elems[p].offset;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
}

static int64_t stored(lw_store_t *s, int p)
{
    char name[64], err[256];
    lw_position_t pos;
    snprintf(name, sizeof name, "kafka:ev:%d", p);
    lw_err_t rc = lw_store_get_position(s, name, &pos, err, sizeof err);
    return rc == LW_OK ? pos.position : -1;
}

static int sum_cells(void *ud, const lw_cell_t *cell)
{
    int64_t *acc = ud;
    assert_int_equal(cell->count, 300);
    acc[0]++;
    acc[1] += cell->count;
    return 0;
}

static void test_daemon_end_to_end(void **state)
{
    (void)state;
    e2e_t e;
    e2e_setup(&e, "e2e");
    char err[512];
    lw_store_t *store = NULL;
    assert_int_equal(lw_store_open(e.db, 0, &store, err, sizeof err), LW_OK);
    lw_pipeline_t *p = lw_pipeline_new(e.cfg, store, err, sizeof err);
    assert_non_null(p);
    lw_kafka_settings_t ks = {e.props, 5, e.topics, 1, NULL};
    volatile sig_atomic_t stop = 0;
    lw_daemon_opts_t o = {.kafka = &ks, .stop = &stop, .exit_when_idle_ms = 500};
    lw_daemon_result_t res;
    lw_err_t rc = lw_daemon_run(p, &o, &res, err, sizeof err);
    if (rc != LW_OK)
        fail_msg("daemon: %s", err);
    assert_true(res.idle_exit);
    assert_int_equal(res.consumer.messages, e.total);
    int64_t npoison = 0;
    for (int r = 0; r < LW_REJECT__COUNT; r++) {
        assert_int_equal(res.consumer.poison_by_reason[r], e.poison[r]);
        npoison += e.poison[r];
    }
    assert_int_equal(res.consumer.poison, npoison);
    lw_pipeline_stats_t st;
    lw_pipeline_stats(p, &st);
    assert_int_equal(st.accepted, e.good);
    assert_int_equal(st.rejected_total, npoison);

    /* the store is at each partition's end; Kafka has exactly the same offsets */
    int64_t comm[NPART], sum = 0;
    committed(&e, comm);
    for (int i = 0; i < NPART; i++) {
        assert_int_equal(comm[i], stored(store, i));
        sum += stored(store, i);
    }
    assert_int_equal(sum, e.total);

    /* the series: 300 plays on each of 10 days, exactly */
    int64_t days[2] = {0, 0}; /* cells, plays */
    assert_int_equal(
        lw_store_read_cells(store, "plays", INT64_MIN, INT64_MAX, sum_cells, days, err, sizeof err),
        LW_OK);
    assert_int_equal(days[0], 10);
    assert_int_equal(days[1], e.good);
    lw_pipeline_destroy(p);
    lw_store_close(store);
    e2e_teardown(&e);
}

/* Sum of events.accepted, events.late and rejected.* (every message fed lands in one). */
static void add_counter(void *ud, const char *name, int64_t value)
{
    if (strcmp(name, "events.accepted") == 0 || strcmp(name, "events.late") == 0 ||
        strncmp(name, "rejected.", 9) == 0)
        *(int64_t *)ud += value;
}

static void test_store_full(void **state)
{
    (void)state;
    e2e_t e;
    e2e_setup(&e, "full");
    char err[512];
    lw_store_t *store = NULL;
    assert_int_equal(lw_store_open(e.db, 0, &store, err, sizeof err), LW_OK);
    lw_pipeline_t *p = lw_pipeline_new(e.cfg, store, err, sizeof err);
    assert_non_null(p);
    /* a "disk" that is full now: the first flush that needs a page fails */
    assert_int_equal(lw_store_set_max_pages(store, 1, err, sizeof err), LW_OK);
    lw_kafka_settings_t ks = {e.props, 4, e.topics, 1, NULL};
    lw_daemon_opts_t o = {.kafka = &ks, .exit_when_idle_ms = 500};
    lw_daemon_result_t res;
    lw_err_t rc = lw_daemon_run(p, &o, &res, err, sizeof err);
    assert_int_equal(rc, LW_ERR_STORE);
    assert_non_null(strstr(err, "store flush failed"));
    assert_false(res.idle_exit);
    /* consumption stopped early, and Kafka holds nothing past the store */
    int64_t comm[NPART], sum = 0;
    committed(&e, comm);
    for (int i = 0; i < NPART; i++) {
        if (comm[i] > stored(store, i))
            fail_msg("partition %d: Kafka committed %lld, store %lld", i, (long long)comm[i],
                     (long long)stored(store, i));
        sum += stored(store, i) > 0 ? stored(store, i) : 0;
    }
    assert_true(sum < e.total);
    /* and the store counted exactly the messages its positions cover */
    int64_t counted = 0;
    assert_int_equal(lw_store_counters(store, add_counter, &counted, err, sizeof err), LW_OK);
    assert_int_equal(counted, sum);
    lw_pipeline_destroy(p);
    lw_store_close(store);
    e2e_teardown(&e);
}

/* Poll once (at most `max` messages); fails the test on a consumer error. */
static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_mono(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

/* The wall clock, as the daemon passes it: the simulator's 2024 events are in the past. */
static int64_t now_wall(void)
{
    return clock_ms(CLOCK_REALTIME);
}

static int poll_some(lw_consumer_t *c, int max)
{
    char err[512];
    int nfed = 0;
    if (lw_consumer_poll(c, 100, max, now_wall(), now_mono(), &nfed, err, sizeof err) != LW_OK)
        fail_msg("poll: %s", err);
    return nfed;
}

/*
 * lw_consumer_lag while behind and at the end: the lags of the assigned
 * partitions sum to what is not fed yet, and are 0 with position = high
 * watermark once every partition is at its end.
 */
static void test_lag(void **state)
{
    (void)state;
    e2e_t e;
    e2e_setup(&e, "lag");
    char err[512];
    lw_store_t *store = NULL;
    assert_int_equal(lw_store_open(e.db, 0, &store, err, sizeof err), LW_OK);
    lw_pipeline_t *p = lw_pipeline_new(e.cfg, store, err, sizeof err);
    assert_non_null(p);
    lw_kafka_settings_t ks = {e.props, 4, e.topics, 1, NULL};
    lw_consumer_t *c = lw_consumer_new(&ks, p, err, sizeof err);
    assert_non_null(c);
    lw_consumer_lag_t lag[NPART + 1];
    lw_consumer_stats_t st;
    /* nothing assigned yet: no rows, no known lag */
    assert_int_equal(lw_consumer_lag(c, lag, NPART), 0);
    lw_consumer_stats(c, &st);
    assert_int_equal(st.lag_total, -1);

    /* one message at a time until every partition has a position and a
     * watermark: partitions arrive one fetch batch after another, so the
     * last one to start is still behind then */
    bool behind_seen = false;
    for (int i = 0; i < 100000 && !behind_seen; i++) {
        poll_some(c, 1);
        size_t n = lw_consumer_lag(c, lag, NPART);
        if (n < NPART)
            continue;
        bool known = true;
        int64_t sum = 0;
        for (size_t k = 0; k < n; k++) {
            known = known && lag[k].position >= 0 && lag[k].high_watermark >= 0;
            sum += lag[k].lag;
        }
        if (!known)
            continue;
        lw_consumer_stats(c, &st);
        assert_true(sum > 0);
        assert_int_equal(st.lag_total, sum);
        /* one pass from offset 0: what is not fed yet is exactly the lag */
        assert_int_equal(sum, e.total - st.messages);
        for (size_t k = 0; k < n; k++) {
            assert_string_equal(lag[k].topic, "ev");
            assert_int_equal(lag[k].lag, lag[k].high_watermark - lag[k].position);
        }
        behind_seen = true;
    }
    assert_true(behind_seen);
    /* a short array: the count is still every assigned partition */
    lag[1].partition = -7;
    assert_int_equal(lw_consumer_lag(c, lag, 1), NPART);
    assert_int_equal(lag[1].partition, -7);

    for (int i = 0; i < 1000 && !lw_consumer_idle(c); i++)
        poll_some(c, 1000);
    assert_true(lw_consumer_idle(c));
    lw_consumer_stats(c, &st);
    assert_int_equal(st.messages, e.total);
    assert_int_equal(st.lag_total, 0);
    int64_t high = 0;
    bool seen[NPART] = {false};
    assert_int_equal(lw_consumer_lag(c, lag, NPART + 1), NPART);
    for (size_t k = 0; k < NPART; k++) {
        assert_int_equal(lag[k].lag, 0);
        assert_int_equal(lag[k].position, lag[k].high_watermark);
        assert_in_range(lag[k].partition, 0, NPART - 1);
        seen[lag[k].partition] = true;
        high += lag[k].high_watermark;
    }
    assert_true(seen[0] && seen[1] && seen[2]);
    assert_int_equal(high, e.total);

    assert_int_equal(lw_consumer_close(c, now_mono(), 5000, err, sizeof err), LW_OK);
    lw_consumer_destroy(c);
    lw_pipeline_destroy(p);
    lw_store_close(store);
    e2e_teardown(&e);
}

/*
 * librdkafka < 2.2 stops fetching at queued.min.messages and would resume
 * only after its broker thread's 1-second window: with a tiny threshold the
 * consumer must wake the fetchers (and still consume everything exactly).
 */
static void test_fetch_wakeup(void **state)
{
    (void)state;
    e2e_t e;
    e2e_setup(&e, "wake");
    char err[512];
    lw_store_t *store = NULL;
    assert_int_equal(lw_store_open(e.db, 0, &store, err, sizeof err), LW_OK);
    lw_pipeline_t *p = lw_pipeline_new(e.cfg, store, err, sizeof err);
    assert_non_null(p);
    lw_kafka_prop_t props[5] = {
        e.props[0], e.props[1], e.props[2], e.props[3], {"queued.min.messages", "200"}};
    lw_kafka_settings_t ks = {props, 5, e.topics, 1, NULL};
    lw_consumer_t *c = lw_consumer_new(&ks, p, err, sizeof err);
    assert_non_null(c);
    for (int i = 0; i < 20000 && !lw_consumer_idle(c); i++)
        poll_some(c, 50);
    lw_consumer_stats_t st;
    lw_consumer_stats(c, &st);
    assert_int_equal(st.messages, e.total);
    assert_int_equal(st.lag_total, 0);
    if (rd_kafka_version() < 0x020200ff)
        assert_true(st.fetch_wakeups > 0);
    else
        assert_int_equal(st.fetch_wakeups, 0);
    lw_consumer_destroy(c);
    lw_pipeline_destroy(p);
    lw_store_close(store);
    e2e_teardown(&e);
}

/* Poll for `ms` milliseconds (checking the invariants each time); returns the messages fed. */
static int64_t poll_for(lw_consumer_t *c, int64_t ms)
{
    int64_t fed = 0, end = now_mono() + ms;
    char why[256];
    while (now_mono() < end) {
        fed += poll_some(c, 1000);
        if (!lw_consumer_check(c, why, sizeof why))
            fail_msg("consumer invariant: %s", why);
    }
    return fed;
}

static void mock_do(e2e_t *e, const char *line)
{
    lw_err_t rc;
    char *out = run_control(e->mock, line, &rc);
    if (rc != LW_OK)
        fail_msg("%s: %s", line, out);
    free(out);
}

/* Open a store + pipeline + consumer on e's topic (props: the first 4 of e). */
static lw_consumer_t *open_consumer(e2e_t *e, const char *db, lw_store_t **store, lw_pipeline_t **p)
{
    char err[512];
    assert_int_equal(lw_store_open(db, 0, store, err, sizeof err), LW_OK);
    *p = lw_pipeline_new(e->cfg, *store, err, sizeof err);
    assert_non_null(*p);
    static lw_kafka_settings_t ks;
    ks = (lw_kafka_settings_t){e->props, 4, e->topics, 1, NULL};
    lw_consumer_t *c = lw_consumer_new(&ks, *p, err, sizeof err);
    assert_non_null(c);
    return c;
}

static void close_consumer(lw_consumer_t *c, lw_store_t *store, lw_pipeline_t *p)
{
    char err[512];
    assert_int_equal(lw_consumer_close(c, now_mono(), 5000, err, sizeof err), LW_OK);
    lw_consumer_destroy(c);
    lw_pipeline_destroy(p);
    lw_store_close(store);
}

/*
 * Regression (issue 18.2): Kafka refuses the offset commit after the last
 * flush and no message arrives afterwards.  The offsets used to be marked
 * committed when sent, so Kafka stayed behind the store for good; now the
 * refused commit is sent again until Kafka confirms it.
 */
static void test_refused_commit_is_retried(void **state)
{
    (void)state;
    e2e_t e;
    e2e_setup(&e, "retry");
    char err[512];
    lw_store_t *store;
    lw_pipeline_t *p;
    lw_consumer_t *c = open_consumer(&e, e.db, &store, &p);
    for (int i = 0; i < 1000 && !lw_consumer_idle(c); i++)
        poll_some(c, 1000);
    assert_true(lw_consumer_idle(c));
    /* the next two OffsetCommit requests are refused */
    mock_do(&e, "errors offsetcommit 2 OFFSET_METADATA_TOO_LARGE");
    assert_int_equal(lw_consumer_flush(c, now_mono(), false, err, sizeof err), LW_OK);
    poll_for(c, 4000); /* quiet: nothing more to consume */
    lw_consumer_stats_t st;
    lw_consumer_stats(c, &st);
    assert_true(st.kafka_commit_errors >= 1);
    int64_t comm[NPART], sum = 0;
    committed(&e, comm);
    for (int i = 0; i < NPART; i++) {
        if (comm[i] != stored(store, i))
            fail_msg("partition %d: Kafka %lld, store %lld", i, (long long)comm[i],
                     (long long)stored(store, i));
        sum += comm[i];
    }
    assert_int_equal(sum, e.total);
    close_consumer(c, store, p);
    e2e_teardown(&e);
}

/*
 * Regression (issue 18.2): store A is behind the group (another member
 * consumed 300 more messages and committed them).  When A is assigned the
 * partitions while the group's committed offsets cannot be read, it used to
 * start from its own store and count those 300 messages a second time; now
 * the partitions wait and start at the group's offsets once readable.
 */
/* Produce n good events to "ev" (users prefix-i, day 2024-01-11). */
static void produce_more(e2e_t *e, int n, const char *prefix)
{
    char err[512];
    lw_producer_t *prod = lw_producer_new(e->props, 1, err, sizeof err);
    assert_non_null(prod);
    for (int i = 0; i < n; i++) {
        char line[160], key[16];
        snprintf(key, sizeof key, "k%d", i % 97);
        int len = snprintf(line, sizeof line,
                           "{\"event\":\"track_played\",\"userId\":\"%s%d\","
                           "\"timestamp\":\"2024-01-11T10:00:00Z\"}",
                           prefix, i);
        assert_int_equal(lw_producer_send(prod, "ev", key, strlen(key), line, (size_t)len, NULL, 0,
                                          err, sizeof err),
                         LW_OK);
    }
    assert_int_equal(lw_producer_flush(prod, 10000, err, sizeof err), LW_OK);
    lw_producer_destroy(prod);
}

static void test_unreadable_committed_offsets_pause(void **state)
{
    (void)state;
    e2e_t e;
    e2e_setup(&e, "blocked");
    lw_store_t *store;
    lw_pipeline_t *p;
    /* member A consumes everything and leaves (store A = group = the end) */
    lw_consumer_t *c = open_consumer(&e, e.db, &store, &p);
    for (int i = 0; i < 1000 && !lw_consumer_idle(c); i++)
        poll_some(c, 1000);
    close_consumer(c, store, p);
    /* 300 more messages, consumed and committed by member B (its own store) */
    produce_more(&e, 300, "b");
    char *db_b = tu_path(e.dir, "b.db");
    c = open_consumer(&e, db_b, &store, &p);
    for (int i = 0; i < 1000 && !lw_consumer_idle(c); i++)
        poll_some(c, 1000);
    lw_consumer_stats_t st;
    lw_consumer_stats(c, &st);
    assert_int_equal(st.messages, 300);
    close_consumer(c, store, p);
    free(db_b);

    /* A comes back while the group's offsets cannot be read (3 failed reads) */
    mock_do(&e, "errors offsetfetch 3 GROUP_AUTHORIZATION_FAILED");
    c = open_consumer(&e, e.db, &store, &p);
    int64_t fed = 0, end = now_mono() + 15000;
    bool blocked_seen = false;
    do {
        fed += poll_for(c, 200);
        lw_consumer_stats(c, &st);
        blocked_seen = blocked_seen || st.blocked > 0;
    } while (now_mono() < end && (st.assigned < NPART || st.blocked > 0 || !lw_consumer_idle(c)));
    assert_int_equal(fed, 0); /* B's 300 messages are not counted again */
    assert_true(blocked_seen);
    assert_true(st.committed_read_errors >= 1);
    assert_int_equal(st.blocked, 0);
    assert_true(lw_consumer_idle(c));
    lw_consumer_lag_t lag[NPART];
    assert_int_equal(lw_consumer_lag(c, lag, NPART), NPART);
    for (int i = 0; i < NPART; i++)
        assert_int_equal(lag[i].lag, 0);
    close_consumer(c, store, p);
    e2e_teardown(&e);
}

/*
 * One assignment of more partitions than the row table's first size (16):
 * the table grows while the assignment is read (a regression: the rows were
 * held through pointers that growth moved; the fleet bench's 48 partitions
 * crashed the daemon).
 */
static void test_wide_assignment(void **state)
{
    (void)state;
    e2e_t e;
    e2e_setup(&e, "wide");
    char err[512], why[256];
    assert_int_equal(lw_mock_create_topic(e.mock, "wide", 40, err, sizeof err), LW_OK);
    e.topics[0] = "wide";
    lw_store_t *store;
    lw_pipeline_t *p;
    lw_consumer_t *c = open_consumer(&e, e.db, &store, &p);
    lw_consumer_stats_t st;
    int64_t end = now_mono() + 20000;
    do {
        poll_for(c, 200);
        lw_consumer_stats(c, &st);
    } while (now_mono() < end && st.assigned < 40);
    assert_int_equal(st.assigned, 40);
    assert_true(lw_consumer_check(c, why, sizeof why));
    /* the group as librdkafka's statistics (every second) see it: what the daemon's progress
       line shows while nothing is assigned */
    end = now_mono() + 10000;
    do {
        poll_for(c, 200);
        lw_consumer_stats(c, &st);
    } while (now_mono() < end && strcmp(st.join_state, "steady") != 0);
    assert_string_equal(st.group_state, "up");
    assert_string_equal(st.join_state, "steady");
    lw_consumer_lag_t lag[40];
    assert_int_equal(lw_consumer_lag(c, lag, 40), 40);
    for (int i = 0; i < 40; i++)
        assert_string_equal(lag[i].topic, "wide");
    close_consumer(c, store, p);
    e2e_teardown(&e);
}

/*
 * Issue 14: the log moves past a stopped consumer (here: the broker answers
 * OFFSET_OUT_OF_RANGE and auto.offset.reset=latest sends the fetch to the
 * end, as after retention deleted what the store's position points at).
 * Every skipped offset is counted as lost, per partition and in total, and
 * nothing after the gap is lost or counted twice.
 */
static void test_skipped_offsets_are_counted_lost(void **state)
{
    (void)state;
    e2e_t e;
    e2e_setup(&e, "lost");
    char err[512];
    lw_store_t *store;
    lw_pipeline_t *p;
    lw_consumer_t *c = open_consumer(&e, e.db, &store, &p);
    for (int i = 0; i < 1000 && !lw_consumer_idle(c); i++)
        poll_some(c, 1000);
    lw_consumer_stats_t st;
    lw_consumer_stats(c, &st);
    assert_int_equal(st.events_lost, 0);
    close_consumer(c, store, p);

    produce_more(&e, 300, "gone");
    mock_do(&e, "errors fetch 1 OFFSET_OUT_OF_RANGE");
    assert_int_equal(lw_store_open(e.db, 0, &store, err, sizeof err), LW_OK);
    p = lw_pipeline_new(e.cfg, store, err, sizeof err);
    assert_non_null(p);
    lw_kafka_prop_t props[5];
    memcpy(props, e.props, 4 * sizeof props[0]);
    props[4] = (lw_kafka_prop_t){"auto.offset.reset", "latest"};
    lw_kafka_settings_t ks = {props, 5, e.topics, 1, NULL};
    c = lw_consumer_new(&ks, p, err, sizeof err);
    assert_non_null(c);
    int64_t fed = 0, end = now_mono() + 15000;
    do {
        fed += poll_for(c, 200);
        lw_consumer_stats(c, &st);
    } while (now_mono() < end && (st.assigned < NPART || !lw_consumer_idle(c)));
    /* the injected error hits the partitions of one fetch: those are reset to
     * their end and lose all their new messages, the others read theirs;
     * either way every one of the 300 is fed or counted lost, exactly */
    assert_true(st.events_lost > 0);
    assert_int_equal(fed + st.events_lost, 300);
    lw_consumer_lag_t lag[NPART];
    assert_int_equal(lw_consumer_lag(c, lag, NPART), NPART);
    int64_t per_part = 0;
    for (int i = 0; i < NPART; i++) {
        per_part += lag[i].lost;
        assert_int_equal(lag[i].lag, 0);
    }
    assert_int_equal(per_part, st.events_lost);
    int64_t lost = st.events_lost, fed_before = fed;

    /* what comes after the gap is read, and the gap is not counted again */
    produce_more(&e, 30, "after");
    end = now_mono() + 15000;
    do {
        fed += poll_for(c, 200);
    } while (now_mono() < end && fed < fed_before + 30);
    fed += poll_for(c, 500);
    lw_consumer_stats(c, &st);
    assert_int_equal(fed, fed_before + 30);
    assert_int_equal(st.events_lost, lost);
    close_consumer(c, store, p);
    e2e_teardown(&e);
}

/* ---- issue 19: the feed worker (consumer_feed.c) ---- */

/* Messages the store counted (every message fed lands in one counter). */
static int64_t store_counted(lw_store_t *s)
{
    char err[256];
    int64_t n = 0;
    assert_int_equal(lw_store_counters(s, add_counter, &n, err, sizeof err), LW_OK);
    return n;
}

/*
 * Poll one member with at most `max` messages (several batches), checking
 * the invariants.
 */
static int64_t poll_checked(lw_consumer_t *c, int max)
{
    char err[512], why[256];
    int nfed = 0;
    if (lw_consumer_poll(c, 100, max, now_wall(), now_mono(), &nfed, err, sizeof err) != LW_OK)
        fail_msg("poll: %s", err);
    if (!lw_consumer_check(c, why, sizeof why))
        fail_msg("consumer invariant: %s", why);
    return nfed;
}

/*
 * Many small batches across rebalances, with a slow feed worker (20 ms per
 * batch of up to 256) and polls of more batches than the ring holds, so
 * that the polls take their batches while others are in the worker and the
 * rebalance callback finds some in flight: member A
 * consumes a long topic, member B (its own store) joins mid-stream and
 * leaves mid-stream, A reads to the end.  Each store counted exactly what
 * its member fed, together they miss nothing, and Kafka holds each
 * partition's end.  Without the drain at the
 * start of the rebalance callback the revocation flushes messages the
 * polling thread has not applied (lw_consumer_check fails) and the revoked
 * partitions' batches are then refused (internal error).
 */
static void test_feed_worker_across_rebalances(void **state)
{
    (void)state;
    e2e_t e;
    e2e_setup(&e, "rebal");
    produce_more(&e, 60000, "r");
    const int64_t total = e.total + 60000;
    lw_store_t *sa, *sb;
    lw_pipeline_t *pa, *pb;
    lw_consumer_t *a = open_consumer(&e, e.db, &sa, &pa);
    lw_consumer_set_feed_delay(a, 20000);
    int64_t fed_a = 0, fed_b = 0, end = now_mono() + 20000;
    while (fed_a < 3000 && now_mono() < end)
        fed_a += poll_checked(a, 5000);
    char *db_b = tu_path(e.dir, "b.db");
    lw_consumer_t *b = open_consumer(&e, db_b, &sb, &pb);
    lw_consumer_set_feed_delay(b, 20000);
    lw_consumer_stats_t sta;
    do {
        fed_a += poll_checked(a, 5000);
        fed_b += poll_checked(b, 5000);
    } while (fed_b < 3000 && now_mono() < end);
    assert_true(fed_b >= 3000); /* B joined and fed while A was mid-stream */
    lw_consumer_stats(a, &sta);
    assert_true(sta.assigned < NPART);
    close_consumer(b, sb, pb); /* leaves mid-stream: A takes its partitions back */
    end = now_mono() + 20000;
    do { /* still slow, and long polls (80 batches): the rebalance comes in the middle of a
          * poll with batches in flight (without the drain this failed 3 times in 3 runs;
          * with polls of 5000, once in 3) */
        fed_a += poll_checked(a, 20000);
        lw_consumer_stats(a, &sta);
    } while (now_mono() < end && sta.assigned < NPART);
    lw_consumer_set_feed_delay(a, 0);
    do {
        fed_a += poll_checked(a, 5000);
        lw_consumer_stats(a, &sta);
    } while (now_mono() < end && !lw_consumer_idle(a));
    assert_true(sta.rebalances >= 3);
    fed_a += poll_checked(a, 5000);
    close_consumer(a, sa, pa);

    /* each store counted what its member fed, exactly once (a member's
     * positions only move forward, so neither can pass the total); together
     * nothing is missed (an overlap is possible across stores: a commit the
     * mock refuses during the rebalance, README "Several instances") */
    assert_true(fed_a <= total && fed_b <= total && fed_a + fed_b >= total);
    char err[256];
    assert_int_equal(lw_store_open(e.db, 0, &sa, err, sizeof err), LW_OK);
    assert_int_equal(lw_store_open(db_b, 0, &sb, err, sizeof err), LW_OK);
    assert_int_equal(store_counted(sa), fed_a);
    assert_int_equal(store_counted(sb), fed_b);
    int64_t comm[NPART], sum = 0;
    committed(&e, comm);
    for (int i = 0; i < NPART; i++) {
        assert_int_equal(comm[i], stored(sa, i)); /* A read every partition to its end */
        assert_true(stored(sb, i) <= stored(sa, i));
        sum += comm[i];
    }
    assert_int_equal(sum, total);
    lw_store_close(sa);
    lw_store_close(sb);
    free(db_b);
    e2e_teardown(&e);
}

/*
 * A store failure in a flush the feed makes by itself, in the worker: 2100
 * events over 70 days in time order need more bucket slots (68 at 1d
 * buckets, 30d grace) than the aggregator has, so a feed flushes (pipeline.c)
 * and the full "disk" fails it, with more batches handed behind the failing
 * one (a slow worker); 900 poison messages follow (they need no slot, so a
 * feed of them would succeed).  The consumer fails, and no partition's position
 * (`next`, what lag and the fleet's reseek use) is past what was fed and
 * counted: the positions sum to the messages counted (every partition starts
 * at 0 here), and the pipeline holds exactly those.  An implementation that
 * advanced `next` when handing a batch over would leave the skipped
 * batches' offsets in it; a worker that fed on after the failure would leave
 * their events in the pipeline.
 */
static void test_feed_worker_store_failure(void **state)
{
    (void)state;
    e2e_t e;
    e2e_setup(&e, "wfail");
    char err[512];
    assert_int_equal(lw_mock_create_topic(e.mock, "days", NPART, err, sizeof err), LW_OK);
    lw_producer_t *prod = lw_producer_new(e.props, 1, err, sizeof err);
    assert_non_null(prod);
    for (int i = 0; i < 3000; i++) {
        char line[160], key[16], day[32];
        time_t t = (time_t)(1704067200 + (int64_t)(i / 30) * 86400); /* 2024-01-01 + i/30 days */
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(day, sizeof day, "%Y-%m-%dT10:00:00Z", &tm);
        snprintf(key, sizeof key, "k%d", i % 97);
        int len = snprintf(line, sizeof line,
                           "{\"event\":\"track_played\",\"userId\":\"d%d\",\"timestamp\":\"%s\"}",
                           i, day);
        if (i >= 2100) /* after 70 days: poison, counted without a bucket slot */
            len = snprintf(line, sizeof line, "{\"event\":");
        assert_int_equal(lw_producer_send(prod, "days", key, strlen(key), line, (size_t)len, NULL,
                                          0, err, sizeof err),
                         LW_OK);
    }
    assert_int_equal(lw_producer_flush(prod, 10000, err, sizeof err), LW_OK);
    lw_producer_destroy(prod);
    e.topics[0] = "days";
    lw_store_t *store;
    lw_pipeline_t *p;
    lw_consumer_t *c = open_consumer(&e, e.db, &store, &p);
    assert_int_equal(lw_store_set_max_pages(store, 1, err, sizeof err), LW_OK);
    lw_consumer_set_feed_delay(c, 1000); /* batches queue up behind the failing one */
    lw_err_t rc = LW_OK;
    int64_t end = now_mono() + 20000;
    while (rc == LW_OK && now_mono() < end) {
        int nfed = 0;
        rc = lw_consumer_poll(c, 100, 3000, now_wall(), now_mono(), &nfed, err, sizeof err);
    }
    assert_int_equal(rc, LW_ERR_STORE);
    assert_non_null(strstr(err, "store flush failed"));
    lw_consumer_stats_t st;
    lw_consumer_stats(c, &st);
    assert_true(st.messages > 0 && st.messages < 2100);
    lw_consumer_lag_t lag[NPART];
    size_t n = lw_consumer_lag(c, lag, NPART);
    int64_t covered = 0;
    for (size_t i = 0; i < n; i++)
        covered += lag[i].position > 0 ? lag[i].position : 0;
    assert_int_equal(covered, st.messages);
    /* and the pipeline was fed nothing more (the worker stopped at the failure) */
    lw_pipeline_stats_t ps;
    lw_pipeline_stats(p, &ps);
    assert_int_equal(ps.accepted + ps.late + ps.rejected_total, st.messages);
    char why[256];
    assert_true(lw_consumer_check(c, why, sizeof why));
    lw_consumer_destroy(c);
    lw_pipeline_destroy(p);
    assert_int_equal(store_counted(store), 0); /* nothing was ever stored */
    lw_store_close(store);
    e2e_teardown(&e);
}

/*
 * The same topic read with the worker off, on, and on with a slow feed
 * (5 ms per batch): each store ends at every partition's end with exactly
 * the counts and series of test_daemon_end_to_end.
 */
static void test_feed_worker_modes_agree(void **state)
{
    (void)state;
    static const struct {
        const char *group;
        bool on;
        int delay_us;
    } modes[] = {{"mode-off", false, 0}, {"mode-on", true, 0}, {"mode-slow", true, 5000}};
    e2e_t e;
    e2e_setup(&e, "modes");
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        char err[512], name[32];
        e.props[1].value = modes[m].group;
        snprintf(name, sizeof name, "%s.db", modes[m].group);
        char *db = tu_path(e.dir, name);
        lw_store_t *store;
        lw_pipeline_t *p;
        lw_consumer_t *c = open_consumer(&e, db, &store, &p);
        lw_consumer_set_feed_thread(c, modes[m].on);
        lw_consumer_set_feed_delay(c, modes[m].delay_us);
        int64_t fed = 0;
        for (int i = 0; i < 2000 && !lw_consumer_idle(c); i++)
            fed += poll_checked(c, 1000);
        lw_consumer_stats_t st;
        lw_consumer_stats(c, &st);
        assert_int_equal(fed, e.total);
        assert_int_equal(st.poison, e.total - e.good);
        close_consumer(c, store, p);
        assert_int_equal(lw_store_open(db, 0, &store, err, sizeof err), LW_OK);
        int64_t sum = 0, days[2] = {0, 0};
        for (int i = 0; i < NPART; i++)
            sum += stored(store, i);
        assert_int_equal(sum, e.total);
        assert_int_equal(store_counted(store), e.total);
        assert_int_equal(lw_store_read_cells(store, "plays", INT64_MIN, INT64_MAX, sum_cells, days,
                                             err, sizeof err),
                         LW_OK);
        assert_int_equal(days[0], 10);
        assert_int_equal(days[1], e.good);
        lw_store_close(store);
        free(db);
    }
    e2e_teardown(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_secret),
        cmocka_unit_test(test_conf_new),
        cmocka_unit_test(test_pacer),
        cmocka_unit_test(test_mock_control),
        cmocka_unit_test(test_settings_errors),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_daemon_end_to_end),
        cmocka_unit_test(test_store_full),
        cmocka_unit_test(test_lag),
        cmocka_unit_test(test_fetch_wakeup),
        cmocka_unit_test(test_refused_commit_is_retried),
        cmocka_unit_test(test_unreadable_committed_offsets_pause),
        cmocka_unit_test(test_skipped_offsets_are_counted_lost),
        cmocka_unit_test(test_wide_assignment),
        cmocka_unit_test(test_feed_worker_across_rebalances),
        cmocka_unit_test(test_feed_worker_store_failure),
        cmocka_unit_test(test_feed_worker_modes_agree),
    };
    if (getenv("LW_TEST_FILTER")) /* e.g. LW_TEST_FILTER='test_feed_*' */
        cmocka_set_test_filter(getenv("LW_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
