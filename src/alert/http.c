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
 * Readiness is an atomic flag plus a reason string under a mutex, written
 * by the daemon and read by the server thread.
 */
#include "leadwatch/alert/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/core/buf.h"
#include "leadwatch/core/log.h"

#define READY_REASON_SIZE 201
#define CONN_MEMORY_LIMIT (32 * 1024)

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
    lw_promtext_series_t *requests[P_COUNT][NCODES];
};

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
        return MHD_YES;
    }
    *upload_data_size = 0;
    switch (path) {
    case P_METRICS: return serve_metrics(h, conn);
    case P_HEALTHZ: return reply_text(h, conn, path, 200, "ok\n");
    case P_READYZ: {
        char text[READY_REASON_SIZE + 32];
        if (atomic_load(&h->ready))
            return reply_text(h, conn, path, 200, "ready\n");
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

    h->mhd = MHD_start_daemon(MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
                              NULL, NULL, handler, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned int)opts->max_connections,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)opts->timeout_s,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY_LIMIT,
                              MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (!h->mhd) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_IO,
                        "http.listen: cannot listen on %s (in use, or not a local address?)",
                        opts->listen);
        goto destroy_mutex;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : 0;
    LW_LOG(LW_LOG_INFO, "http", "serving /metrics /healthz /readyz on %s (port %u)", opts->listen,
           (unsigned)h->port);
    *out = h;
    return LW_OK;

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
    MHD_stop_daemon(h->mhd);
    pthread_mutex_destroy(&h->mu);
    free(h);
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

void lw_http_set_ready(lw_http_t *h, bool ready, const char *reason)
{
    pthread_mutex_lock(&h->mu);
    snprintf(h->reason, sizeof h->reason, "%s", reason && *reason ? reason : "unspecified");
    pthread_mutex_unlock(&h->mu);
    atomic_store(&h->ready, ready);
}
