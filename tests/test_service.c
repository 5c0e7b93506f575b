/*
 * test_service.c - `leadwatch run` as a service (src/app/service.c): the
 * daemon loop with its HTTP server, alert sinks and evaluator, against
 * librdkafka's mock cluster started in this process (lw_mock_new).
 *
 * Cases:
 *   scraped while starting  a thread scrapes /metrics as fast as it can
 *                           from before the service starts until it ends
 *                           (--exit-when-idle, 20 events on 2 partitions),
 *                           with a Kafka alert sink configured: every
 *                           scrape answers 200, and once the sink exists
 *                           its delivery metrics are in /metrics.  Under
 *                           ThreadSanitizer (make test-tsan) this is the
 *                           regression test of a data race: start() wrote
 *                           the service's `sink` after the HTTP server was
 *                           up without the mutex the scrapes read it under
 *                           (found by TSan in it_kafka_slow_eval, session 12).
 *                           The race window is the sink's creation (a Kafka
 *                           producer: milliseconds), so a scrape lands in
 *                           it often, not always.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "leadwatch/app/service.h"
#include "leadwatch/ingest/mockkafka.h"
#include "leadwatch/ingest/produce.h"
#include "leadwatch/store/store.h"
#include "testutil.h"

#define NPART 2
#define NEVENTS 20

static const char CONFIG_TEXT[] = "source: {format: segment}\n"
                                  "store: {flush_events: 10}\n"
                                  "buckets: {size: 1d, grace: 30d}\n"
                                  "metrics:\n"
                                  "  - {name: plays, count: true, where: {event: track_played}}\n"
                                  "  - {name: users, distinct: user}\n"
                                  "tree: {nsm: plays, inputs: [{metric: users, kind: breadth}]}\n"
                                  "alerts: {kafka: {topic: lw-alerts}}\n";

/* The Kafka sink's queue gauge: in /metrics once collect_sink saw the sink. */
#define SINK_SERIES "leadwatch_alert_queue_length{receiver=\"kafka\"}"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A loopback port nothing listens on now (bound to port 0, then closed). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

typedef struct {
    char url[64];
    atomic_bool done;
    atomic_int answered, failed, with_sink; /* 200s, other answers, 200s showing the sink */
} scraper_t;

typedef struct {
    char buf[1 << 16];
    size_t len;
} body_t;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    body_t *b = ud;
    size_t len = size * n,
           take = len < sizeof b->buf - 1 - b->len ? len : sizeof b->buf - 1 - b->len;
    memcpy(b->buf + b->len, p, take);
    b->len += take;
    b->buf[b->len] = '\0';
    return len;
}

/* Scrape until told to stop; a refused connection (not up yet, or gone) is retried at once. */
static void *scrape_main(void *arg)
{
    scraper_t *sc = arg;
    static body_t body; /* this thread's only */
    while (!atomic_load(&sc->done)) {
        CURL *c = curl_easy_init(); /* no cmocka assert here: not the test's thread */
        if (!c) {
            atomic_fetch_add(&sc->failed, 1);
            break;
        }
        body.len = 0;
        body.buf[0] = '\0';
        curl_easy_setopt(c, CURLOPT_URL, sc->url);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
        long code = 0;
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(c);
        if (code == 200) {
            atomic_fetch_add(&sc->answered, 1);
            if (strstr(body.buf, SINK_SERIES))
                atomic_fetch_add(&sc->with_sink, 1);
        } else if (code != 0) {
            atomic_fetch_add(&sc->failed, 1);
        } else {
            sleep_ms(1);
        }
    }
    return NULL;
}

static void test_scraped_while_starting(void **state)
{
    (void)state;
    char err[512];
    lw_config_t *cfg = NULL;
    TU_CONFIG(CONFIG_TEXT, &cfg);
    char *dir = tu_tempdir("service");
    char *db = tu_path(dir, "s.db");
    lw_mock_t *mock = lw_mock_new(1, err, sizeof err);
    assert_non_null(mock);
    assert_int_equal(lw_mock_create_topic(mock, "ev", NPART, err, sizeof err), LW_OK);
    assert_int_equal(lw_mock_create_topic(mock, "lw-alerts", 1, err, sizeof err), LW_OK);
    lw_kafka_prop_t props[] = {{"bootstrap.servers", lw_mock_bootstraps(mock)},
                               {"group.id", "service"},
                               {"session.timeout.ms", "6000"},
                               {"heartbeat.interval.ms", "500"}};
    lw_producer_t *prod = lw_producer_new(props, 1, err, sizeof err);
    assert_non_null(prod);
    for (int i = 0; i < NEVENTS; i++) {
        char line[160], user[16];
        snprintf(user, sizeof user, "u%d", i);
        int n = snprintf(line, sizeof line,
                         "{\"event\":\"track_played\",\"userId\":\"%s\","
                         "\"timestamp\":\"2024-01-%02dT10:00:00Z\"}",
                         user, 1 + i % 5);
        assert_int_equal(lw_producer_send(prod, "ev", user, strlen(user), line, (size_t)n, NULL, 0,
                                          err, sizeof err),
                         LW_OK);
    }
    assert_int_equal(lw_producer_flush(prod, 10000, err, sizeof err), LW_OK);
    lw_producer_destroy(prod);

    lw_store_t *store = NULL;
    assert_int_equal(lw_store_open(db, 0, &store, err, sizeof err), LW_OK);
    lw_pipeline_t *p = lw_pipeline_new(cfg, store, err, sizeof err);
    assert_non_null(p);
    char listen[32];
    int port = free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    scraper_t sc = {.done = false};
    snprintf(sc.url, sizeof sc.url, "http://127.0.0.1:%d/metrics", port);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, scrape_main, &sc), 0);

    const char *topics[] = {"ev"};
    lw_kafka_settings_t ks = {props, 4, topics, 1, NULL};
    volatile sig_atomic_t stop = 0;
    lw_service_opts_t so = {.cfg = cfg,
                            .pipeline = p,
                            .store = store,
                            .store_path = db,
                            .kafka = &ks,
                            .http_listen = listen,
                            .stop = &stop,
                            .exit_when_idle_ms = 300};
    lw_daemon_result_t res;
    lw_err_t rc = lw_service_run(&so, &res, err, sizeof err);
    atomic_store(&sc.done, true);
    assert_int_equal(pthread_join(th, NULL), 0);
    if (rc != LW_OK)
        fail_msg("service: %s", err);
    assert_true(res.idle_exit);
    assert_int_equal(res.consumer.messages, NEVENTS);
    assert_true(atomic_load(&sc.answered) > 0);
    assert_int_equal(atomic_load(&sc.failed), 0);
    assert_true(atomic_load(&sc.with_sink) > 0);

    lw_pipeline_destroy(p);
    lw_store_close(store);
    lw_mock_destroy(mock);
    lw_config_free(cfg);
    tu_rm_rf(dir);
    free(db);
    free(dir);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scraped_while_starting),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
