/*
 * test_http.c - the /metrics, /healthz, /readyz server (http.h) on an
 * ephemeral loopback port, driven by libcurl and by raw sockets: status
 * codes and bodies, readiness following the flag, 200 concurrent clients,
 * idle and half-sent connections that must not block others (and are
 * closed by the timeout), malformed requests answered 4xx while the server
 * keeps serving, the connection bound, and the listen-address checks;
 * slowloris (issue 18.3): max_connections clients trickling header lines
 * must not keep /healthz from answering within a second, the total deadline
 * closes a trickling connection, and a 26 KB request line is answered at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "leadwatch/alert/http.h"

typedef struct {
    lw_promtext_t *reg;
    lw_promtext_series_t *events;
    lw_http_t *srv;
} fixture_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static fixture_t *start(unsigned max_conn, unsigned timeout_s)
{
    fixture_t *f = calloc(1, sizeof *f);
    char err[256];
    lw_promtext_family_t *fam;
    assert_non_null(f);
    assert_int_equal(lw_promtext_new("leadwatch", 16, 256, &f->reg, err, sizeof err), LW_OK);
    assert_int_equal(lw_promtext_family(f->reg, LW_PROMTEXT_COUNTER, "events_consumed_total",
                                        "Events consumed.", NULL, 0, NULL, 0, &fam, err,
                                        sizeof err),
                     LW_OK);
    f->events = lw_promtext_series(fam, NULL);
    lw_http_opts_t o;
    lw_http_opts_default(&o);
    o.listen = "127.0.0.1:0";
    o.max_connections = max_conn;
    o.timeout_s = timeout_s;
    if (lw_http_new(&o, f->reg, &f->srv, err, sizeof err) != LW_OK)
        fail_msg("http: %s", err);
    assert_true(lw_http_port(f->srv) > 0);
    return f;
}

static void stop(fixture_t *f)
{
    lw_http_destroy(f->srv);
    lw_promtext_destroy(f->reg);
    free(f);
}

typedef struct {
    char *data;
    size_t len;
} body_t;

static long g_timeout_ms = 5000; /* per request */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    body_t *b = ud;
    size_t add = size * n;
    char *grown = realloc(b->data, b->len + add + 1);
    if (!grown)
        return 0;
    memcpy(grown + b->len, p, add);
    b->data = grown;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

/* One request; returns the status (0 on a transport error), body in *body. */
static long request(const fixture_t *f, const char *method, const char *path, body_t *body,
                    char *ctype, size_t ctype_size)
{
    char url[128];
    long code = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)lw_http_port(f->srv), path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, g_timeout_ms);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        if (ctype)
            snprintf(ctype, ctype_size, "%s", ct ? ct : "");
    }
    curl_easy_cleanup(c);
    return code;
}

static long get(const fixture_t *f, const char *path)
{
    body_t b = {0};
    long code = request(f, "GET", path, &b, NULL, 0);
    free(b.data);
    return code;
}

static void test_endpoints(void **state)
{
    (void)state;
    fixture_t *f = start(64, 10);
    for (int i = 0; i < 5; i++)
        lw_promtext_inc(f->events);

    body_t b = {0};
    char ct[128] = "";
    assert_int_equal(request(f, "GET", "/metrics", &b, ct, sizeof ct), 200);
    assert_string_equal(ct, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(b.data, "# TYPE leadwatch_events_consumed_total counter\n"
                                   "leadwatch_events_consumed_total 5\n"));
    free(b.data);

    memset(&b, 0, sizeof b);
    assert_int_equal(request(f, "GET", "/healthz", &b, NULL, 0), 200);
    assert_string_equal(b.data, "ok\n");
    free(b.data);

    memset(&b, 0, sizeof b);
    assert_int_equal(request(f, "GET", "/readyz", &b, NULL, 0), 503);
    assert_string_equal(b.data, "not ready: starting\n");
    free(b.data);
    lw_http_set_ready(f->srv, true, NULL);
    assert_int_equal(get(f, "/readyz"), 200);
    /* a note (the daemon's events lost) keeps 200 and is said in the body */
    lw_http_set_ready_note(f->srv, "5 events lost since start");
    memset(&b, 0, sizeof b);
    assert_int_equal(request(f, "GET", "/readyz", &b, NULL, 0), 200);
    assert_string_equal(b.data, "ready; 5 events lost since start\n");
    free(b.data);
    lw_http_set_ready_note(f->srv, NULL);
    memset(&b, 0, sizeof b);
    assert_int_equal(request(f, "GET", "/readyz", &b, NULL, 0), 200);
    assert_string_equal(b.data, "ready\n");
    free(b.data);
    lw_http_set_ready(f->srv, false, "store not writable");
    memset(&b, 0, sizeof b);
    assert_int_equal(request(f, "GET", "/readyz", &b, NULL, 0), 503);
    assert_string_equal(b.data, "not ready: store not writable\n");
    free(b.data);

    assert_int_equal(get(f, "/"), 404);
    assert_int_equal(get(f, "/metrics/x"), 404);
    assert_int_equal(get(f, "/metricsx"), 404);
    memset(&b, 0, sizeof b);
    assert_int_equal(request(f, "POST", "/metrics", &b, NULL, 0), 405);
    free(b.data);
    memset(&b, 0, sizeof b);
    assert_int_equal(request(f, "HEAD", "/metrics", &b, NULL, 0), 200);
    assert_null(b.data);

    /* the server counted its own answers */
    memset(&b, 0, sizeof b);
    assert_int_equal(request(f, "GET", "/metrics", &b, NULL, 0), 200);
    assert_non_null(
        strstr(b.data, "leadwatch_http_requests_total{path=\"/readyz\",code=\"503\"} 2\n"));
    assert_non_null(
        strstr(b.data, "leadwatch_http_requests_total{path=\"other\",code=\"404\"} 3\n"));
    assert_non_null(
        strstr(b.data, "leadwatch_http_requests_total{path=\"/metrics\",code=\"405\"} 1\n"));
    free(b.data);
    stop(f);
}

static void test_concurrent_clients(void **state)
{
    (void)state;
    enum { N = 200 };
    fixture_t *f = start(256, 10);
    CURLM *m = curl_multi_init();
    CURL *h[N];
    body_t bodies[N];
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", (unsigned)lw_http_port(f->srv));
    memset(bodies, 0, sizeof bodies);
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
    for (int i = 0; i < N; i++) {
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_URL, url);
        curl_easy_setopt(h[i], CURLOPT_TIMEOUT_MS, 60000L);
        curl_easy_setopt(h[i], CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &bodies[i]);
        curl_multi_add_handle(m, h[i]);
    }
    double t0 = now_s();
    int running = 1, peak = 0;
    while (running) {
        curl_multi_perform(m, &running);
        if (running > peak)
            peak = running;
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double took = now_s() - t0;
    int ok = 0;
    for (int i = 0; i < N; i++) {
        long code = 0;
        curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &code);
        ok += code == 200 && bodies[i].data &&
              strstr(bodies[i].data, "leadwatch_events_consumed_total 0\n") != NULL;
        curl_multi_remove_handle(m, h[i]);
        curl_easy_cleanup(h[i]);
        free(bodies[i].data);
    }
    curl_multi_cleanup(m);
    print_message("    %d concurrent clients: %d x 200 in %.1f ms (peak in flight %d)\n", N, ok,
                  took * 1e3, peak);
    assert_int_equal(ok, N);
    assert_int_equal(peak, N);
    assert_int_equal(get(f, "/healthz"), 200);
    stop(f);
}

static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Read until the peer closes or `ms` pass; returns bytes read (-1 = still open at the end). */
static long read_until_close(int fd, char *buf, size_t size, int ms)
{
    size_t got = 0;
    double deadline = now_s() + ms / 1e3;
    while (now_s() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = recv(fd, buf + got, size - 1 - got, 0);
        if (n <= 0) {
            buf[got] = '\0';
            return (long)got;
        }
        got += (size_t)n;
        if (got + 1 >= size)
            break;
    }
    buf[got] = '\0';
    return -1;
}

static void test_slow_clients(void **state)
{
    (void)state;
    fixture_t *f = start(64, 1);
    int idle = raw_connect(lw_http_port(f->srv));
    int half = raw_connect(lw_http_port(f->srv));
    const char *partial = "GET /metrics HTTP/1.1\r\nHost: x\r\n"; /* no blank line */
    assert_int_equal(send(half, partial, strlen(partial), 0), (ssize_t)strlen(partial));

    /* others are served at once while both hang */
    double t0 = now_s();
    for (int i = 0; i < 20; i++)
        assert_int_equal(get(f, "/healthz"), 200);
    double took = now_s() - t0;
    print_message("    20 requests beside 2 stalled clients: %.1f ms\n", took * 1e3);
    assert_true(took < 1.0);

    /* and the timeout (1 s) closes the stalled connections */
    char buf[4096];
    t0 = now_s();
    assert_true(read_until_close(idle, buf, sizeof buf, 5000) >= 0);
    assert_true(read_until_close(half, buf, sizeof buf, 5000) >= 0);
    print_message("    stalled connections closed after %.2f s\n", now_s() - t0);
    close(idle);
    close(half);
    assert_int_equal(get(f, "/healthz"), 200);
    stop(f);
}

static void test_malformed_requests(void **state)
{
    (void)state;
    fixture_t *f = start(64, 2);
    static char big[48 * 1024];
    memset(big, 0, sizeof big);
    strcpy(big, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + strlen(big), 'a', 40 * 1024);
    strcat(big, "\r\n\r\n");
    static const struct {
        const char *name, *req;
        size_t len;
        const char *want; /* prefix of the status line */
    } cases[] = {
        /* libmicrohttpd closes a one-word request line without an answer */
        {"one word", "GARBAGE\r\n\r\n", 0, ""},
        {"no version", "GET /\r\n\r\n", 0, "HTTP/1.1 400"},
        {"bad header line", "GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 0,
         "HTTP/1.1 400"},
        {"binary", "\x01\x02\x03\xff\xfe GET\r\n\r\n", 0, "HTTP/1.1 400"},
        {"bad content-length", "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n", 0,
         "HTTP/1.1 400"},
        {"bad version", "GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n", 0, "HTTP/1.1 505"},
        {"huge header", big, 0, "HTTP/1.1 431"},
        {"unknown method", "BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 0, "HTTP/1.1 405"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int fd = raw_connect(lw_http_port(f->srv));
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].req);
        assert_int_equal(send(fd, cases[i].req, len, MSG_NOSIGNAL), (ssize_t)len);
        char buf[4096];
        long n = read_until_close(fd, buf, sizeof buf, 4000);
        close(fd);
        bool ok = cases[i].want[0] ? strncmp(buf, cases[i].want, strlen(cases[i].want)) == 0
                                   : n == 0; /* closed, nothing sent */
        if (!ok)
            fail_msg("%s: got \"%.40s\" (%ld bytes), want %s", cases[i].name, buf, n,
                     cases[i].want);
        /* the server keeps serving */
        assert_int_equal(get(f, "/healthz"), 200);
    }
    stop(f);
}

static void test_connection_bound(void **state)
{
    (void)state;
    fixture_t *f = start(4, 2);
    int held[4];
    for (int i = 0; i < 4; i++)
        held[i] = raw_connect(lw_http_port(f->srv));
    for (int tries = 0; tries < 100 && lw_http_connections(f->srv) < 4; tries++)
        usleep(10 * 1000);
    assert_int_equal(lw_http_connections(f->srv), 4);
    /* a fifth connection is not taken (it waits in the listen backlog) */
    g_timeout_ms = 500;
    assert_int_equal(get(f, "/healthz"), 0);
    g_timeout_ms = 5000;
    assert_true(lw_http_connections(f->srv) <= 4);
    for (int i = 0; i < 4; i++)
        close(held[i]);
    /* slots come back once the held connections go */
    long code = 0;
    for (int tries = 0; tries < 50 && code != 200; tries++) {
        code = get(f, "/healthz");
        if (code != 200)
            usleep(50 * 1000);
    }
    assert_int_equal(code, 200);
    stop(f);
}

/* Send one more header line on each of the n connections (a slowloris step). */
static void trickle(const int *fds, int n)
{
    for (int i = 0; i < n; i++)
        (void)send(fds[i], "X-Slow: 1\r\n", 11, MSG_NOSIGNAL);
}

/*
 * Regression (issue 18.3): 64 loopback clients, each trickling a header
 * line; before, every slot stayed taken and 0 of 7 probes were answered.
 */
static void test_slowloris(void **state)
{
    (void)state;
    enum { N = 64, PROBES = 7 };
    fixture_t *f = start(N, 10);
    int fds[N];
    const char *start_line = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < N; i++) {
        fds[i] = raw_connect(lw_http_port(f->srv));
        assert_int_equal(send(fds[i], start_line, strlen(start_line), MSG_NOSIGNAL),
                         (ssize_t)strlen(start_line));
    }
    for (int tries = 0; tries < 100 && lw_http_connections(f->srv) < N; tries++)
        usleep(10 * 1000);
    assert_int_equal(lw_http_connections(f->srv), N);
    usleep(1100 * 1000); /* every slow client is now past the eviction age */
    trickle(fds, N);
    g_timeout_ms = 1000;
    double worst = 0;
    int answered = 0;
    for (int i = 0; i < PROBES; i++) {
        double t0 = now_s();
        answered += get(f, i % 2 ? "/readyz" : "/healthz") != 0;
        double took = now_s() - t0;
        worst = took > worst ? took : worst;
        trickle(fds, N);
    }
    g_timeout_ms = 5000;
    print_message("    %d of %d probes answered beside %d slow clients, slowest %.0f ms, %llu "
                  "evicted\n",
                  answered, PROBES, N, worst * 1e3, (unsigned long long)lw_http_evicted(f->srv));
    assert_int_equal(answered, PROBES);
    assert_true(worst < 1.0);
    assert_true(lw_http_evicted(f->srv) > 0);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    stop(f);
}

/* A connection trickling header lines faster than the idle timeout still ends at the deadline. */
static void test_request_deadline(void **state)
{
    (void)state;
    fixture_t *f = start(64, 2);
    int fd = raw_connect(lw_http_port(f->srv));
    const char *start_line = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
    assert_int_equal(send(fd, start_line, strlen(start_line), MSG_NOSIGNAL),
                     (ssize_t)strlen(start_line));
    double t0 = now_s();
    bool closed = false;
    while (!closed && now_s() - t0 < 6.0) {
        trickle(&fd, 1); /* every 300 ms: the 2 s idle timeout never fires */
        char buf[256];
        closed = read_until_close(fd, buf, sizeof buf, 300) >= 0;
    }
    double took = now_s() - t0;
    print_message("    trickling connection closed after %.2f s (deadline 2 s)\n", took);
    assert_true(closed);
    assert_true(took < 3.5);
    close(fd);
    assert_int_equal(get(f, "/healthz"), 200);
    stop(f);
}

/* Time to the status line of one raw request; the line in status (may be empty). */
static double first_answer(const fixture_t *f, const char *req, size_t n, char *status, size_t size)
{
    int fd = raw_connect(lw_http_port(f->srv));
    assert_int_equal(send(fd, req, n, MSG_NOSIGNAL), (ssize_t)n);
    double t0 = now_s();
    size_t got = 0;
    status[0] = '\0';
    while (now_s() - t0 < 12.0 && !strstr(status, "\r\n")) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t r = recv(fd, status + got, size - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        status[got] = '\0';
        if (got + 1 >= size)
            break;
    }
    close(fd);
    char *eol = strstr(status, "\r\n");
    if (eol)
        *eol = '\0';
    return now_s() - t0;
}

/* Regression (issue 18.6): a 26 KB query got no answer for 10 s. */
static void test_long_query_answered_at_once(void **state)
{
    (void)state;
    fixture_t *f = start(64, 10);
    static char req[27 * 1024];
    static const char *const paths[] = {"/metrics?q=", "/healthz?", "/"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        size_t n = (size_t)snprintf(req, sizeof req, "GET %s", paths[i]);
        memset(req + n, 'a', 26 * 1024);
        n += 26 * 1024;
        n += (size_t)snprintf(req + n, sizeof req - n, " HTTP/1.1\r\nHost: x\r\n\r\n");
        char status[256];
        double took = first_answer(f, req, n, status, sizeof status);
        print_message("    26 KB request line on %s: \"%s\" after %.0f ms\n", paths[i], status,
                      took * 1e3);
        assert_true(strncmp(status, "HTTP/1.1 ", 9) == 0);
        assert_true(took < 1.0);
    }
    /* the whole answer through a real client (curl adds its own headers) */
    static char url[27 * 1024 + 64];
    int n =
        snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics?q=", (unsigned)lw_http_port(f->srv));
    memset(url + n, 'a', 26 * 1024);
    url[n + 26 * 1024] = '\0';
    CURL *c = curl_easy_init();
    body_t body = {0};
    long code = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    double t0 = now_s();
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    free(body.data);
    print_message("    26 KB query via curl: %s, %ld after %.0f ms\n", curl_easy_strerror(rc), code,
                  (now_s() - t0) * 1e3);
    assert_int_equal(rc, CURLE_OK);
    assert_true(code == 200 || code == 414 || code == 431);
    assert_int_equal(get(f, "/healthz"), 200);
    stop(f);
}

static void test_listen_checks(void **state)
{
    (void)state;
    char err[256];
    lw_http_opts_t o;
    lw_http_opts_default(&o);
    assert_int_equal(lw_http_opts_check(&o, err, sizeof err), LW_OK);
    static const char *const bad[] = {
        "",          "9464",     "127.0.0.1",   "127.0.0.1:x", "127.0.0.1:70000", "example.com:80",
        "[::1]9464", "::1:9464", "127.0.0.1:-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.listen = bad[i];
        if (lw_http_opts_check(&o, err, sizeof err) != LW_ERR_CONFIG)
            fail_msg("listen \"%s\" accepted", bad[i]);
        assert_non_null(strstr(err, "http.listen"));
    }
    static const char *const good[] = {"127.0.0.1:9464", "[::1]:9464", "localhost:0", "0.0.0.0:80"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        o.listen = good[i];
        assert_int_equal(lw_http_opts_check(&o, err, sizeof err), LW_OK);
    }
    o.listen = "127.0.0.1:0";
    o.max_connections = 0;
    assert_int_equal(lw_http_opts_check(&o, err, sizeof err), LW_ERR_CONFIG);

    /* a port in use is an I/O error naming the key */
    fixture_t *f = start(8, 2);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)lw_http_port(f->srv));
    lw_http_opts_default(&o);
    o.listen = addr;
    lw_http_t *second = NULL;
    assert_int_equal(lw_http_new(&o, f->reg, &second, err, sizeof err), LW_ERR_IO);
    assert_non_null(strstr(err, "http.listen"));
    stop(f);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_concurrent_clients),
        cmocka_unit_test(test_slow_clients),
        cmocka_unit_test(test_malformed_requests),
        cmocka_unit_test(test_connection_bound),
        cmocka_unit_test(test_listen_checks),
        cmocka_unit_test(test_slowloris),
        cmocka_unit_test(test_request_deadline),
        cmocka_unit_test(test_long_query_answered_at_once),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
