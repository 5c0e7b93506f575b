/*
 * http.c - /metrics, /healthz, /readyz on libmicrohttpd (see http.h).
 *
 * Why libmicrohttpd: it is a maintained, fuzzed HTTP/1.1 server that does
 * the parts a hand-written one gets wrong (request-line and header parsing,
 * 400/413/431 answers, keep-alive, timeouts, bounded per-connection memory).
 * We run it with MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD: one thread
 * of its own multiplexing every connection with epoll, so a client that
 * connects and sends nothing only occupies a slot until the connection
 * timeout.  Bounds: MHD_OPTION_CONNECTION_LIMIT (at the limit the server stops
 * accepting, so further clients wait in the kernel's listen backlog until a
 * slot frees or they give up), MHD_OPTION_CONNECTION_TIMEOUT (idle
 * seconds), MHD_OPTION_CONNECTION_MEMORY_LIMIT (request line + headers;
 * larger requests get 431/413), and max_response for the /metrics body.
 *
 * Bodies: none of our endpoints takes one.  A request that is not GET/HEAD
 * or announces a body is answered on the handler's first call, before the
 * body is read, so a client cannot make us read an upload (libmicrohttpd
 * closes the connection after such an early answer).  Other requests are
 * answered on the second call, once the request is complete, which lets
 * libmicrohttpd keep the connection alive for the next scrape.
 *
 * Slow clients (issue 18.3).  libmicrohttpd's timeout is an *idle* timeout:
 * a client that sends one header line every few seconds keeps its slot
 * forever, and max_connections such clients lock every prober out (measured
 * before: 64 loopback connections, one header line every 4 s, 0 of 7 probes
 * answered).  So a guard thread keeps a table of the open connections
 * (MHD_OPTION_NOTIFY_CONNECTION; bounded by max_connections) with the time
 * each started waiting for a request (accept, or the end of its previous
 * request) and whether a request is being answered (the handler saw its
 * headers; MHD_OPTION_NOTIFY_COMPLETED ends it).  Every GUARD_TICK_MS it
 * closes (shutdown(2); libmicrohttpd then cleans up) a waiting connection
 *   - older than timeout_s: the total deadline for a request, however
 *     slowly it trickles in;
 *   - older than EVICT_AFTER_MS while every slot is taken: at capacity the
 *     clients that have not produced a request for a second give way to the
 *     ones waiting in the listen backlog (a scraper or probe sends its whole
 *     request in one packet, so it is answered before it could be evicted).
 * A per-IP cap (MHD_OPTION_PER_IP_CONNECTION_LIMIT) was rejected: the
 * probes of a host usually come from the same address as a local attacker
 * (loopback), and the cap would refuse them too; eviction protects them
 * without refusing anyone with a request ready.  The fd is shut down under
 * the table mutex and libmicrohttpd's close notification (which precedes
 * its close(2)) takes the same mutex, so the fd cannot be reused meanwhile.
 * A request line longer than the connection's buffer is answered 414 at
 * once by libmicrohttpd.
 *
 * Readiness is an atomic flag plus a reason string under a mutex, written
 * by the daemon and read by the server thread.
 */
#include "leadwatch/alert/http.h"

#include "leadwatch/core/clock.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "leadwatch/core/buf.h"
#include "leadwatch/core/log.h"
#include "leadwatch/core/sync.h"

#define READY_REASON_SIZE 201
#define CONN_MEMORY_LIMIT (32 * 1024)
#define GUARD_TICK_MS 100
#define EVICT_AFTER_MS 1000

/* One open connection (the guard's table). */
typedef struct {
    bool used;
    bool busy;    /* a request is being answered */
    bool closing; /* shut down by the guard, close notification pending */
    int fd;
    int64_t wait_ms; /* monotonic time it started waiting for a request */
} conn_slot_t;

enum { P_METRICS, P_HEALTHZ, P_READYZ, P_OTHER, P_COUNT };
static const char *const path_names[P_COUNT] = {"/metrics", "/healthz", "/readyz", "other"};
static const unsigned codes[] = {200, 400, 404, 405, 500, 503};
#define NCODES (sizeof codes / sizeof codes[0])

struct lw_http {
    struct MHD_Daemon *mhd;
    lw_promtext_t *metrics;
    lw_http_opts_t opts;
    uint16_t port;
    atomic_bool ready;
    pthread_mutex_t mu; /* guards reason */
    char reason[READY_REASON_SIZE];
    char note[LW_HTTP_NOTE_SIZE]; /* said by a 200 /readyz, "" = nothing */
    lw_promtext_series_t *requests[P_COUNT][NCODES];
    /* the slow-client guard (see the file comment) */
    pthread_mutex_t gmu; /* guards slots, guard_quit */
    pthread_cond_t gcv;
    conn_slot_t *slots; /* max_connections entries */
    bool guard_quit;
    bool guard_started;
    pthread_t guard;
    atomic_llong evicted; /* connections closed by the guard */
};

/* MHD_OPTION_NOTIFY_CONNECTION: add / remove the connection in the table (MHD's thread). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    lw_http_t *h = cls;
    pthread_mutex_lock(&h->gmu);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        for (unsigned i = 0; ci && i < h->opts.max_connections; i++) {
            if (!h->slots[i].used) {
                h->slots[i] = (conn_slot_t){true, false, false, ci->connect_fd, lw_clock_mono_ms()};
                *socket_ctx = &h->slots[i];
                break;
            }
        }
    } else if (*socket_ctx) {
        conn_slot_t *cs = *socket_ctx;
        cs->used = false;
        *socket_ctx = NULL;
    }
    pthread_mutex_unlock(&h->gmu);
}

static conn_slot_t *conn_slot(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* A request's headers arrived (busy) or its answer was sent (waiting again). */
static void mark_busy(lw_http_t *h, struct MHD_Connection *conn, bool busy)
{
    pthread_mutex_lock(&h->gmu);
    conn_slot_t *cs = conn_slot(conn);
    if (cs && cs->used) {
        cs->busy = busy;
        cs->wait_ms = lw_clock_mono_ms();
    }
    pthread_mutex_unlock(&h->gmu);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)req_cls;
    (void)toe;
    mark_busy(cls, conn, false);
}

/* The guard thread: the total deadline, and eviction at capacity. */
static void *guard_main(void *arg)
{
    lw_http_t *h = arg;
    lw_sync_name_thread("lw-http-guard");
    pthread_mutex_lock(&h->gmu);
    while (!h->guard_quit) {
        struct timespec until; /* pthread_cond_timedwait takes CLOCK_REALTIME */
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += GUARD_TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&h->gcv, &h->gmu, &until);
        if (h->guard_quit)
            break;
        int64_t now = lw_clock_mono_ms(), deadline = (int64_t)h->opts.timeout_s * 1000;
        unsigned used = 0;
        for (unsigned i = 0; i < h->opts.max_connections; i++)
            used += h->slots[i].used;
        bool full = used >= h->opts.max_connections;
        for (unsigned i = 0; i < h->opts.max_connections; i++) {
            conn_slot_t *cs = &h->slots[i];
            if (!cs->used || cs->busy || cs->closing)
                continue;
            int64_t age = now - cs->wait_ms;
            if (age >= deadline || (full && age >= EVICT_AFTER_MS)) {
                shutdown(cs->fd, SHUT_RDWR);
                cs->closing = true;
                atomic_fetch_add(&h->evicted, 1);
            }
        }
    }
    pthread_mutex_unlock(&h->gmu);
    return NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    LW_LOG(LW_LOG_DEBUG, "http", "%s", line);
}

static void count(lw_http_t *h, int path, unsigned code)
{
    for (size_t i = 0; i < NCODES; i++)
        if (codes[i] == code && h->requests[path][i])
            lw_promtext_inc(h->requests[path][i]);
}

static enum MHD_Result reply(lw_http_t *h, struct MHD_Connection *conn, int path, unsigned code,
                             const char *ctype, char *body, size_t len, bool owned)
{
    struct MHD_Response *r =
        owned ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
              : MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_COPY);
    if (!r) {
        if (owned)
            free(body);
        return MHD_NO; /* closes the connection */
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    count(h, path, code);
    return ret;
}

static enum MHD_Result reply_text(lw_http_t *h, struct MHD_Connection *conn, int path,
                                  unsigned code, const char *text)
{
    return reply(h, conn, path, code, "text/plain; charset=utf-8", (char *)text, strlen(text),
                 false);
}

static enum MHD_Result serve_metrics(lw_http_t *h, struct MHD_Connection *conn)
{
    lw_buf_t b;
    size_t len = 0;
    lw_buf_init(&b, h->opts.max_response);
    lw_err_t err = lw_promtext_render(h->metrics, &b);
    if (err != LW_OK) {
        lw_buf_release(&b);
        LW_LOG(LW_LOG_WARN, "http", "/metrics: rendering failed: %s", lw_err_name(err));
        return reply_text(h, conn, P_METRICS, 500, "metrics too large or out of memory\n");
    }
    char *body = lw_buf_detach(&b, &len);
    if (!body)
        return reply(h, conn, P_METRICS, 200, LW_PROMTEXT_CONTENT_TYPE, (char *)"", 0, false);
    return reply(h, conn, P_METRICS, 200, LW_PROMTEXT_CONTENT_TYPE, body, len, true);
}

/* A request that carries (or announces) a body. */
static bool has_body(struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
    return te != NULL || (cl != NULL && strcmp(cl, "0") != 0);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **req_cls)
{
    static int seen; /* address used as the "headers done" marker */
    lw_http_t *h = cls;
    (void)version;
    (void)upload_data;

    int path = P_OTHER;
    for (int i = 0; i < P_OTHER; i++)
        if (strcmp(url, path_names[i]) == 0)
            path = i;
    bool get =
        strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (*req_cls == NULL && (!get || has_body(conn))) {
        /* answered before the body: libmicrohttpd then closes the connection */
        if (!get)
            return reply_text(h, conn, path, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
        return reply_text(h, conn, path, MHD_HTTP_BAD_REQUEST, "GET takes no body\n");
    }
    if (*req_cls == NULL) {
        /* wait for the end of the request so the connection can be kept alive */
        *req_cls = &seen;
        mark_busy(h, conn, true);
        return MHD_YES;
    }
    *upload_data_size = 0;
    switch (path) {
    case P_METRICS: return serve_metrics(h, conn);
    case P_HEALTHZ: return reply_text(h, conn, path, 200, "ok\n");
    case P_READYZ: {
        char text[READY_REASON_SIZE + 32];
        if (atomic_load(&h->ready)) {
            char ok[LW_HTTP_NOTE_SIZE + 16];
            pthread_mutex_lock(&h->mu);
            snprintf(ok, sizeof ok, "ready%s%s\n", h->note[0] ? "; " : "", h->note);
            pthread_mutex_unlock(&h->mu);
            return reply_text(h, conn, path, 200, ok);
        }
        pthread_mutex_lock(&h->mu);
        snprintf(text, sizeof text, "not ready: %s\n", h->reason);
        pthread_mutex_unlock(&h->mu);
        return reply_text(h, conn, path, 503, text);
    }
    default: return reply_text(h, conn, path, 404, "not found: try /metrics, /healthz, /readyz\n");
    }
}

static lw_err_t register_counters(lw_http_t *h, char *errstr, size_t errstr_size)
{
    static const char *const labels[] = {"path", "code"};
    lw_promtext_family_t *fam;
    lw_err_t err = lw_promtext_family(h->metrics, LW_PROMTEXT_COUNTER, "http_requests_total",
                                      "HTTP requests answered, by path and status code.", labels, 2,
                                      NULL, 0, &fam, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    for (int p = 0; p < P_COUNT; p++) {
        for (size_t c = 0; c < NCODES; c++) {
            char code[8];
            snprintf(code, sizeof code, "%u", codes[c]);
            const char *values[] = {path_names[p], code};
            /* only the pairs that can happen, so the page has no noise */
            bool possible =
                codes[c] == 405 || codes[c] == 400 || (p == P_OTHER) == (codes[c] == 404);
            if (possible && codes[c] == 500)
                possible = p == P_METRICS;
            if (possible && codes[c] == 503)
                possible = p == P_READYZ;
            h->requests[p][c] = possible ? lw_promtext_series(fam, values) : NULL;
        }
    }
    return LW_OK;
}

lw_err_t lw_http_new(const lw_http_opts_t *opts, lw_promtext_t *metrics, lw_http_t **out,
                     char *errstr, size_t errstr_size)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    lw_err_t err = lw_http_opts_check(opts, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    lw_http_listen_parse(opts->listen, &ss, &sslen);

    lw_http_t *h = calloc(1, sizeof *h);
    if (!h)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "http: out of memory");
    if (pthread_mutex_init(&h->mu, NULL) != 0) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "http: cannot create a mutex");
        goto free_h;
    }
    h->metrics = metrics;
    h->opts = *opts;
    h->opts.listen = NULL; /* not kept: the caller's string */
    atomic_init(&h->ready, false);
    snprintf(h->reason, sizeof h->reason, "starting");
    err = register_counters(h, errstr, errstr_size);
    if (err != LW_OK)
        goto destroy_mutex;
    h->slots = calloc(opts->max_connections, sizeof *h->slots);
    if (!h->slots) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "http: out of memory");
        goto destroy_mutex;
    }
    err = lw_sync_pair_init(&h->gmu, &h->gcv, "http", errstr, errstr_size);
    if (err != LW_OK)
        goto free_slots;
    atomic_init(&h->evicted, 0);

    h->mhd = MHD_start_daemon(MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
                              NULL, NULL, handler, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned int)opts->max_connections,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)opts->timeout_s,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY_LIMIT,
                              MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (!h->mhd) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_IO,
                        "http.listen: cannot listen on %s (in use, or not a local address?)",
                        opts->listen);
        goto destroy_gcv;
    }
    if (pthread_create(&h->guard, NULL, guard_main, h) != 0) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "http: cannot start the guard thread");
        goto stop_mhd;
    }
    h->guard_started = true;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : 0;
    LW_LOG(LW_LOG_INFO, "http", "serving /metrics /healthz /readyz on %s (port %u)", opts->listen,
           (unsigned)h->port);
    *out = h;
    return LW_OK;

/* The goto-cleanup unwind (STYLE.md), like the evaluator's: each undoes its own steps. */
stop_mhd:
    MHD_stop_daemon(h->mhd);
destroy_gcv:
    pthread_cond_destroy(&h->gcv);
    pthread_mutex_destroy(&h->gmu);
free_slots:
    free(h->slots);
destroy_mutex:
    pthread_mutex_destroy(&h->mu);
free_h:
    free(h);
    return err;
}

void lw_http_destroy(lw_http_t *h)
{
    if (!h)
        return;
    if (h->guard_started) {
        pthread_mutex_lock(&h->gmu);
        h->guard_quit = true;
        pthread_cond_signal(&h->gcv);
        pthread_mutex_unlock(&h->gmu);
        pthread_join(h->guard, NULL);
    }
    MHD_stop_daemon(h->mhd);
    pthread_cond_destroy(&h->gcv);
    pthread_mutex_destroy(&h->gmu);
    free(h->slots);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

uint64_t lw_http_evicted(const lw_http_t *h)
{
    return (uint64_t)atomic_load(&((lw_http_t *)h)->evicted);
}

uint16_t lw_http_port(const lw_http_t *h)
{
    return h->port;
}

unsigned lw_http_connections(const lw_http_t *h)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}

void lw_http_set_ready_note(lw_http_t *h, const char *note)
{
    pthread_mutex_lock(&h->mu);
    snprintf(h->note, sizeof h->note, "%s", note ? note : "");
    pthread_mutex_unlock(&h->mu);
}

void lw_http_set_ready(lw_http_t *h, bool ready, const char *reason)
{
    pthread_mutex_lock(&h->mu);
    snprintf(h->reason, sizeof h->reason, "%s", reason && *reason ? reason : "unspecified");
    pthread_mutex_unlock(&h->mu);
    atomic_store(&h->ready, ready);
}
