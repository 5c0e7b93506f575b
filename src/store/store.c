/*
 * store.c - the store's public functions (store.h) as thin dispatchers over
 * a backend's ops table (store_backend.h).
 *
 * A handle is the pair (ops, backend state).  lw_store_open() picks the
 * backend from the target's scheme: no scheme or "sqlite:" is SQLite,
 * "postgres://" and "postgresql://" are PostgreSQL (the whole URI goes to
 * the backend), any other "<scheme>://" is refused as unknown.  A Windows-style drive
 * letter is not a concern (POSIX only), and a plain path that happens to
 * contain "://" after a slash is still a path: the scheme must be the
 * leading run of [a-z0-9+.-] before the first ':'.
 *
 * Nothing is checked here that the backend must check anyway (transaction
 * state, bounds): the contracts live in store_backend.h and every backend
 * keeps them, so a fake backend in a test sees exactly the calls made.
 */
#include "leadwatch/store/store.h"

#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/store/store_backend.h"

struct lw_store {
    const lw_store_ops_t *ops;
    lw_store_backend_t *be;
};

/*
 * An optional op (the experiment tables, the fleet): the backend's when it
 * has one, else `refusal` (a call that sets errstr and returns the error).
 */
#define OPTIONAL_OP(s, op, refusal, ...)                                                           \
    ((s)->ops->op != NULL ? (s)->ops->op((s)->be, __VA_ARGS__) : (refusal))

lw_err_t lw_store_open_ops(const lw_store_ops_t *ops, const char *target, int flags,
                           lw_store_t **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    lw_store_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "store: out of memory");
    }
    s->ops = ops;
    lw_err_t err = ops->open(target, flags, &s->be, errstr, errstr_size);
    if (err != LW_OK) {
        free(s);
        return err;
    }
    assert(s->be != NULL);
    *out = s;
    return LW_OK;
}

/* Length of the URL scheme at the start of `target` ("postgresql"), 0 when none. */
static size_t scheme_len(const char *target)
{
    size_t n = 0;
    if (!isalpha((unsigned char)target[0])) {
        return 0;
    }
    while (isalnum((unsigned char)target[n]) || target[n] == '+' || target[n] == '-' ||
           target[n] == '.') {
        n++;
    }
    return target[n] == ':' ? n : 0;
}

lw_err_t lw_store_open(const char *target, int flags, lw_store_t **out, char *errstr,
                       size_t errstr_size)
{
    *out = NULL;
    size_t n = scheme_len(target);
    if (n == 6 && strncmp(target, "sqlite", 6) == 0) {
        return lw_store_open_ops(&lw_store_sqlite_ops, target + 7, flags, out, errstr, errstr_size);
    }
    if (n > 0 && strncmp(target + n, "://", 3) == 0) {
        if ((n == 8 && strncmp(target, "postgres", 8) == 0) ||
            (n == 10 && strncmp(target, "postgresql", 10) == 0)) {
            return lw_store_open_ops(&lw_store_pg_ops, target, flags, out, errstr, errstr_size);
        }
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "store: unknown store scheme '%.*s' (use a file path, sqlite:<path> "
                         "or postgresql://...)",
                         (int)n, target);
    }
    return lw_store_open_ops(&lw_store_sqlite_ops, target, flags, out, errstr, errstr_size);
}

void lw_store_close(lw_store_t *s)
{
    if (s == NULL) {
        return;
    }
    s->ops->close(s->be);
    free(s);
}

lw_store_backend_t *lw_store_backend(lw_store_t *s, const lw_store_ops_t *ops)
{
    return s->ops == ops ? s->be : NULL;
}

const char *lw_store_backend_name(const lw_store_t *s)
{
    return s->ops->name;
}

int lw_store_schema_version(lw_store_t *s)
{
    return s->ops->schema_version(s->be);
}

lw_err_t lw_store_check(lw_store_t *s, char *errstr, size_t errstr_size)
{
    return s->ops->check(s->be, errstr, errstr_size);
}

bool lw_store_in_transaction(const lw_store_t *s)
{
    return s->ops->in_transaction(s->be);
}

lw_err_t lw_store_begin(lw_store_t *s, char *errstr, size_t errstr_size)
{
    return s->ops->begin(s->be, errstr, errstr_size);
}

lw_err_t lw_store_commit(lw_store_t *s, char *errstr, size_t errstr_size)
{
    return s->ops->commit(s->be, errstr, errstr_size);
}

void lw_store_rollback(lw_store_t *s)
{
    s->ops->rollback(s->be);
}

lw_err_t lw_store_add_cell(lw_store_t *s, const char *metric, int64_t bucket_ms, int64_t count,
                           double sum, const lw_hll_t *hll, char *errstr, size_t errstr_size)
{
    lw_decsum_t d = LW_DECSUM_ZERO;
    lw_decsum_add(&d, sum);
    return s->ops->add_cell(s->be, metric, bucket_ms, count, &d, hll, errstr, errstr_size);
}

lw_err_t lw_store_add_cell_sum(lw_store_t *s, const char *metric, int64_t bucket_ms, int64_t count,
                               const lw_decsum_t *sum, const lw_hll_t *hll, char *errstr,
                               size_t errstr_size)
{
    return s->ops->add_cell(s->be, metric, bucket_ms, count, sum, hll, errstr, errstr_size);
}

lw_err_t lw_store_read_cells(lw_store_t *s, const char *metric, int64_t from_ms, int64_t to_ms,
                             lw_store_cell_cb cb, void *ud, char *errstr, size_t errstr_size)
{
    return s->ops->read_cells(s->be, metric, from_ms, to_ms, cb, ud, errstr, errstr_size);
}

lw_err_t lw_store_bucket_range(lw_store_t *s, int64_t *min_ms, int64_t *max_ms, char *errstr,
                               size_t errstr_size)
{
    return s->ops->bucket_range(s->be, min_ms, max_ms, errstr, errstr_size);
}

lw_err_t lw_store_set_position(lw_store_t *s, const char *source, const lw_position_t *pos,
                               char *errstr, size_t errstr_size)
{
    return s->ops->set_position(s->be, source, NULL, pos, errstr, errstr_size);
}

lw_err_t lw_store_move_position(lw_store_t *s, const char *source, const lw_position_t *expected,
                                const lw_position_t *pos, char *errstr, size_t errstr_size)
{
    assert(expected != NULL);
    return s->ops->set_position(s->be, source, expected, pos, errstr, errstr_size);
}

lw_err_t lw_store_get_position(lw_store_t *s, const char *source, lw_position_t *pos, char *errstr,
                               size_t errstr_size)
{
    return s->ops->get_position(s->be, source, pos, errstr, errstr_size);
}

lw_err_t lw_store_positions(lw_store_t *s, const char *prefix, lw_store_position_cb cb, void *ud,
                            char *errstr, size_t errstr_size)
{
    return s->ops->positions(s->be, prefix, cb, ud, errstr, errstr_size);
}

lw_err_t lw_store_set_int(lw_store_t *s, const char *key, int64_t value, char *errstr,
                          size_t errstr_size)
{
    return s->ops->set_int(s->be, key, value, errstr, errstr_size);
}

lw_err_t lw_store_get_int(lw_store_t *s, const char *key, int64_t *value, char *errstr,
                          size_t errstr_size)
{
    return s->ops->get_int(s->be, key, value, errstr, errstr_size);
}

lw_err_t lw_store_add_counter(lw_store_t *s, const char *name, int64_t delta, char *errstr,
                              size_t errstr_size)
{
    return s->ops->add_counter(s->be, name, delta, errstr, errstr_size);
}

lw_err_t lw_store_counters(lw_store_t *s, lw_store_counter_cb cb, void *ud, char *errstr,
                           size_t errstr_size)
{
    return s->ops->counters(s->be, cb, ud, errstr, errstr_size);
}

lw_err_t lw_store_set_blob(lw_store_t *s, const char *key, const void *data, size_t len,
                           char *errstr, size_t errstr_size)
{
    return s->ops->set_blob(s->be, key, data, len, errstr, errstr_size);
}

lw_err_t lw_store_get_blob(lw_store_t *s, const char *key, lw_buf_t *out, char *errstr,
                           size_t errstr_size)
{
    return s->ops->get_blob(s->be, key, out, errstr, errstr_size);
}

lw_err_t lw_store_add_verdict(lw_store_t *s, const lw_verdict_row_t *v, char *errstr,
                              size_t errstr_size)
{
    return s->ops->add_verdict(s->be, v, errstr, errstr_size);
}

lw_err_t lw_store_edge_led(lw_store_t *s, const char *edge, int64_t before_ms, bool *led,
                           char *errstr, size_t errstr_size)
{
    return s->ops->edge_led(s->be, edge, before_ms, led, errstr, errstr_size);
}

lw_err_t lw_store_read_verdicts(lw_store_t *s, const char *edge, int64_t from_ms,
                                lw_store_verdict_cb cb, void *ud, char *errstr, size_t errstr_size)
{
    return s->ops->read_verdicts(s->be, edge, from_ms, cb, ud, errstr, errstr_size);
}

/*
 * A backend without experiment support (a test's fake) says so instead of
 * crashing.  The four experiment entry points below differ only in the op
 * and its arguments (one public function an op, as every dispatcher here).
 */
static lw_err_t no_exp(const lw_store_t *s, char *errstr, size_t errstr_size)
{
    return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                     "store: the %s backend keeps no experiments", s->ops->name);
}

lw_err_t lw_store_put_exp_assign(lw_store_t *s, const lw_exp_assign_t *a, char *errstr,
                                 size_t errstr_size)
{
    return OPTIONAL_OP(s, put_exp_assign, no_exp(s, errstr, errstr_size), a, errstr, errstr_size);
}

lw_err_t lw_store_exp_assigns(lw_store_t *s, lw_store_exp_assign_cb cb, void *ud, char *errstr,
                              size_t errstr_size)
{
    return OPTIONAL_OP(s, exp_assigns, no_exp(s, errstr, errstr_size), cb, ud, errstr, errstr_size);
}

lw_err_t lw_store_add_exp_cell(lw_store_t *s, const lw_exp_cell_t *c, char *errstr,
                               size_t errstr_size)
{
    return OPTIONAL_OP(s, add_exp_cell, no_exp(s, errstr, errstr_size), c, errstr, errstr_size);
}

lw_err_t lw_store_exp_cells(lw_store_t *s, lw_store_exp_cell_cb cb, void *ud, char *errstr,
                            size_t errstr_size)
{
    return OPTIONAL_OP(s, exp_cells, no_exp(s, errstr, errstr_size), cb, ud, errstr, errstr_size);
}

bool lw_store_shared(const lw_store_t *s)
{
    return s->ops->claim != NULL;
}

/* A fleet call on a backend without one (store.h: lw_store_shared() is false). */
static lw_err_t not_shared(const lw_store_t *s, const char *what, char *errstr, size_t errstr_size)
{
    return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                     "store: %s needs a shared store (PostgreSQL), not %s", what, s->ops->name);
}

lw_err_t lw_store_claim(lw_store_t *s, const char *source, const char *owner, int64_t *epoch,
                        int64_t *max_time, char *errstr, size_t errstr_size)
{
    return OPTIONAL_OP(s, claim, not_shared(s, "claim", errstr, errstr_size), source, owner, epoch,
                       max_time, errstr, errstr_size);
}

lw_err_t lw_store_fence(lw_store_t *s, const char *source, int64_t epoch, int64_t max_time,
                        bool idle, char *errstr, size_t errstr_size)
{
    return OPTIONAL_OP(s, fence, not_shared(s, "fence", errstr, errstr_size), source, epoch,
                       max_time, idle, errstr, errstr_size);
}

lw_err_t lw_store_owner(lw_store_t *s, const char *source, int64_t *epoch, int64_t *max_time,
                        char *errstr, size_t errstr_size)
{
    return OPTIONAL_OP(s, owner, not_shared(s, "owner", errstr, errstr_size), source, epoch,
                       max_time, errstr, errstr_size);
}

lw_err_t lw_store_global_watermark(lw_store_t *s, int64_t *wm, char *errstr, size_t errstr_size)
{
    return OPTIONAL_OP(s, global_watermark, not_shared(s, "global watermark", errstr, errstr_size),
                       wm, errstr, errstr_size);
}

lw_err_t lw_store_raise_int(lw_store_t *s, const char *key, int64_t value, char *errstr,
                            size_t errstr_size)
{
    if (s->ops->raise_int)
        return s->ops->raise_int(s->be, key, value, errstr, errstr_size);
    /* one writer: a read and a write in its transaction cannot interleave with another's */
    int64_t have;
    lw_err_t err = lw_store_get_int(s, key, &have, errstr, errstr_size);
    if (err == LW_OK && have >= value)
        return LW_OK;
    if (err != LW_OK && err != LW_ERR_NOT_FOUND)
        return err;
    return lw_store_set_int(s, key, value, errstr, errstr_size);
}

lw_err_t lw_store_lease(lw_store_t *s, bool *held, char *errstr, size_t errstr_size)
{
    if (!s->ops->lease) {
        *held = true;
        return LW_OK;
    }
    return s->ops->lease(s->be, held, errstr, errstr_size);
}
