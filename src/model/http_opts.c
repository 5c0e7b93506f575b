/*
 * http_opts.c - the listen-address parser and the bounds check of the HTTP
 * endpoint options (http_opts.h).  The defaults live in the config's http
 * table (lw_http_opts_default is defined next to it, in config_opts.c).
 */
#include "leadwatch/model/http_opts.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool lw_http_listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *colon, *h = s;
    size_t hl;
    memset(ss, 0, sizeof *ss);
    if (!s)
        return false;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return false;
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return false;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= sizeof host)
        return false;
    memcpy(host, h, hl);
    host[hl] = '\0';

    char *end;
    const char *ps = colon + 1;
    if (*ps < '0' || *ps > '9')
        return false;
    unsigned long port = strtoul(ps, &end, 10);
    if (*end != '\0' || port > 65535)
        return false;

    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (s[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof *v4;
        return true;
    }
    if (s[0] == '[' && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof *v6;
        return true;
    }
    return false;
}

lw_err_t lw_http_opts_check(const lw_http_opts_t *o, char *errstr, size_t errstr_size)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (!lw_http_listen_parse(o->listen, &ss, &len))
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "http.listen: \"%s\" is not host:port with a numeric host "
                         "(127.0.0.1:9464, [::1]:9464, localhost:9464)",
                         o->listen ? o->listen : "");
    if (o->max_connections < 1 || o->max_connections > LW_HTTP_CONNECTIONS_MAX)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "http.max_connections: %u is outside 1..%d", o->max_connections,
                         LW_HTTP_CONNECTIONS_MAX);
    if (o->timeout_s < 1 || o->timeout_s > LW_HTTP_TIMEOUT_MAX_S)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "http.timeout: %us is outside 1..%d",
                         o->timeout_s, LW_HTTP_TIMEOUT_MAX_S);
    if (o->max_response < LW_HTTP_RESPONSE_MIN || o->max_response > LW_HTTP_RESPONSE_MAX)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "http.max_response: %zu is outside %d..%d", o->max_response,
                         LW_HTTP_RESPONSE_MIN, LW_HTTP_RESPONSE_MAX);
    return LW_OK;
}
