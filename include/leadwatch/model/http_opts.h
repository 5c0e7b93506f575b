/*
 * http_opts.h - the options of the daemon's HTTP endpoint (http.h), at the
 * model layer so that the configuration (config.h) can embed and validate
 * them without including the alert layer.
 *
 * Owned by http.h (which includes this header); names keep their lw_http_
 * prefix.  Defaults are stated once, as config text in the `http:` table of
 * config_opts.c, which lw_http_opts_default() applies; bounds are the
 * constants below, used by that table and by lw_http_opts_check().  The
 * listen address parser is here too because the check and the server must
 * agree on what "host:port" means.
 */
#ifndef LEADWATCH_HTTP_OPTS_H
#define LEADWATCH_HTTP_OPTS_H

#include <sys/socket.h>

#include "leadwatch/core/common.h"

#define LW_HTTP_CONNECTIONS_MAX 10000 /* max_connections: 1..this */
#define LW_HTTP_TIMEOUT_MAX_S 3600    /* timeout_s: 1..this */
#define LW_HTTP_RESPONSE_MIN 65536    /* max_response: this..LW_HTTP_RESPONSE_MAX */
#define LW_HTTP_RESPONSE_MAX 268435456

/* Defaults: `leadwatch check-config --describe` (the http table). */
typedef struct {
    const char *listen;       /* "host:port", host an IPv4/[IPv6] literal or "localhost";
                                 port 0 = any free port */
    unsigned max_connections; /* 1..LW_HTTP_CONNECTIONS_MAX */
    unsigned timeout_s;       /* idle timeout per connection, 1..LW_HTTP_TIMEOUT_MAX_S */
    size_t max_response;      /* bound on a /metrics body, bytes */
} lw_http_opts_t;

/* The table defaults (config_opts.c); listen points at static text. */
void lw_http_opts_default(lw_http_opts_t *o);
/* LW_ERR_CONFIG with "http.<key>: what is wrong". */
lw_err_t lw_http_opts_check(const lw_http_opts_t *o, char *errstr, size_t errstr_size);

/*
 * Parse "host:port" (IPv4 literal, [IPv6] literal or localhost = 127.0.0.1;
 * port 0..65535) into a socket address; false on anything else.  Pure: no
 * name resolution.
 */
bool lw_http_listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);

#endif
