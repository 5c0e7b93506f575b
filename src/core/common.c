/*
 * common.c - status names, the errstr helper, calloc with its errstr and the
 * free helpers (see common.h).
 */
#include "leadwatch/core/common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *lw_err_name(lw_err_t err)
{
    switch (err) {
    case LW_OK: return "ok";
    case LW_ERR_INVALID: return "invalid";
    case LW_ERR_CONFIG: return "config";
    case LW_ERR_NOMEM: return "nomem";
    case LW_ERR_TOO_LARGE: return "too_large";
    case LW_ERR_IO: return "io";
    case LW_ERR_STORE: return "store";
    case LW_ERR_NOT_FOUND: return "not_found";
    case LW_ERR_KAFKA: return "kafka";
    case LW_ERR_STATS: return "stats";
    case LW_ERR_FENCED: return "fenced";
    case LW_ERR_RETRY: return "retry";
    }
    return "unknown";
}

bool lw_slice_eq(lw_slice_t a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && (n == 0 || memcmp(a.ptr, s, n) == 0);
}

lw_err_t lw_seterr(char *errstr, size_t errstr_size, lw_err_t err, const char *fmt, ...)
{
    if (errstr && errstr_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return err;
}

void *lw_calloc_err(size_t n, size_t size, char *errstr, size_t errstr_size)
{
    /* an n * size that overflows is refused here, not left to calloc (which
     * fails too, but ASan's allocator aborts on it instead of returning NULL) */
    void *p = size && n > SIZE_MAX / size ? NULL : calloc(n, size);
    if (!p)
        lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    return p;
}

void lw_free_strv(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void lw_free_each(void *const *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(p[i]);
}

bool lw_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}
