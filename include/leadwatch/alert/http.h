/*
 * http.h - the daemon's HTTP endpoint: GET /metrics (the promtext.h
 * registry in the Prometheus text format), /healthz (the process answers)
 * and /readyz (the daemon says it is consuming and the store is writable).
 *
 * Served by libmicrohttpd from its own internal thread, event-driven
 * (epoll), so an idle or slow client costs a socket and never holds up the
 * others; connections are bounded (max_connections: beyond it new clients
 * wait in the listen backlog) and each times out after timeout_s without
 * progress.  Slow clients cannot hold slots: a connection that has not
 * sent a complete request within timeout_s of starting to wait for one is
 * closed however slowly it trickles, and while every slot is taken the
 * connections that produced no request for a second are closed to let the
 * next clients in, so /healthz and /readyz answer within a second even with
 * max_connections slow clients open (http.c).  Binds 127.0.0.1 by default.  Any other
 * path is 404, any method but GET/HEAD is 405, and malformed requests are
 * answered 400 by libmicrohttpd itself; none of these affect other clients.
 * The server counts its answers in <ns>_http_requests_total{path,code}.
 */
#ifndef LEADWATCH_HTTP_H
#define LEADWATCH_HTTP_H

#include "leadwatch/core/common.h"
#include "leadwatch/model/http_opts.h" /* lw_http_opts_t, its bounds, check */
#include "leadwatch/alert/promtext.h"

typedef struct lw_http lw_http_t;

/*
 * Bind and start serving.  `metrics` is borrowed and must outlive the
 * server; the server registers its own request counter in it.  The server
 * starts not ready (/readyz 503 "starting").  LW_ERR_CONFIG for a bad
 * listen address, LW_ERR_IO when the address cannot be bound.
 */
lw_err_t lw_http_new(const lw_http_opts_t *opts, lw_promtext_t *metrics, lw_http_t **out,
                     char *errstr, size_t errstr_size);

/* Stop the thread, close every connection, free.  NULL is a no-op. */
void lw_http_destroy(lw_http_t *h);

/* The bound port (useful with port 0). */
uint16_t lw_http_port(const lw_http_t *h);

/* Connections open right now (accepted, not yet closed).  Any thread. */
unsigned lw_http_connections(const lw_http_t *h);

/* Connections closed so far for being slow (deadline or eviction at capacity).  Any thread. */
uint64_t lw_http_evicted(const lw_http_t *h);

/*
 * What /readyz answers: 200 "ready" or 503 "not ready: <reason>" (reason
 * copied, truncated to 200 bytes, may be NULL).  Any thread.
 */
void lw_http_set_ready(lw_http_t *h, bool ready, const char *reason);

/*
 * A note a ready /readyz adds to its body: 200 "ready; <note>" (copied,
 * truncated to LW_HTTP_NOTE_SIZE - 1 bytes; NULL or "" = plain "ready").
 * The daemon says there that events were lost.  Any thread.
 */
#define LW_HTTP_NOTE_SIZE 400
void lw_http_set_ready_note(lw_http_t *h, const char *note);

#endif
