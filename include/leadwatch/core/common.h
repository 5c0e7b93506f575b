/*
 * common.h - status codes and small value types shared by every module.
 *
 * Every function that does something returns lw_err_t (LW_OK == 0) and, where
 * a person will read the failure, takes `char *errstr, size_t errstr_size`
 * and writes one line (no trailing newline) describing what went wrong.
 * Predicates return bool.  lw_slice_t is a non-owning view into a buffer
 * someone else owns; its lifetime is stated by whoever hands it out.
 */
#ifndef LEADWATCH_COMMON_H
#define LEADWATCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LW_VERSION "0.1.0"

typedef enum {
    LW_OK = 0,
    LW_ERR_INVALID,   /* bad argument or malformed input */
    LW_ERR_CONFIG,    /* configuration error (exit code 2) */
    LW_ERR_NOMEM,     /* allocation failed */
    LW_ERR_TOO_LARGE, /* a bound was hit */
    LW_ERR_IO,        /* file or socket error */
    LW_ERR_STORE,     /* SQLite error */
    LW_ERR_NOT_FOUND, /* lookup found nothing */
    LW_ERR_KAFKA,     /* librdkafka error */
    LW_ERR_STATS,     /* numerical failure in statistics */
    LW_ERR_FENCED,    /* a shared store refused a writer that lost its claim (store.h, fleet) */
    LW_ERR_RETRY      /* the store aborted a transaction to break a deadlock: run it again */
} lw_err_t;

/* Stable lower-case name of a status ("ok", "invalid", ...). */
const char *lw_err_name(lw_err_t err);

/* A non-owning view of `len` bytes; not NUL-terminated. */
typedef struct {
    const char *ptr;
    size_t len;
} lw_slice_t;

/* true when the slice equals the NUL-terminated string `s`. */
bool lw_slice_eq(lw_slice_t a, const char *s);

/*
 * Where a callback that can only say "stop" (a store reader's row callback)
 * keeps its failure: the status and the caller's errstr to describe it.
 * The reader returns its own status; the caller then takes lw_cb_status().
 */
typedef struct {
    lw_err_t err;
    char *errstr;
    size_t errstr_size;
} lw_cb_err_t;

/* The reader's status when it failed, else the callback's. */
static inline lw_err_t lw_cb_status(lw_err_t reader, const lw_cb_err_t *cb)
{
    return reader != LW_OK ? reader : cb->err;
}

/* snprintf into errstr when errstr is non-NULL; always returns `err`. */
lw_err_t lw_seterr(char *errstr, size_t errstr_size, lw_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* calloc(n, size); on failure NULL with "out of memory" in errstr (LW_ERR_NOMEM's message). */
void *lw_calloc_err(size_t n, size_t size, char *errstr, size_t errstr_size);

/* Free an owned array of n owned strings; a NULL array is a no-op whatever n is. */
void lw_free_strv(char **v, size_t n);

/*
 * free() each of n pointers, in order (NULLs are no-ops).  LW_FREE_ALL(a, b, ...)
 * is a destructor's list of owned buffers in one statement: the handle itself
 * last, after the fields read from it.
 */
void lw_free_each(void *const *p, size_t n);
#define LW_FREE_ALL(...)                                                                           \
    lw_free_each((void *const[]){__VA_ARGS__},                                                     \
                 sizeof((void *const[]){__VA_ARGS__}) / sizeof(void *))

/* A whole decimal number lo..hi, the whole string (no sign games, no trailing text). */
bool lw_parse_long(const char *s, long lo, long hi, long *out);

#endif
