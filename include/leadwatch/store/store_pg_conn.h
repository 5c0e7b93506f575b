/*
 * store_pg_conn.h - the PostgreSQL backend's insides, shared by its files
 * (store_pg.c: connecting, schema, transactions, cells, positions, keyed
 * rows, verdicts and the ops table; store_pg_conn.c: running statements;
 * store_pg_exp.c: the experiment tables; store_pg_fleet.c: owner epochs,
 * the global watermark and the evaluator lease).
 *
 * Internal to src/store/, like store_backend.h and store_common.h: only the
 * store_pg*.c files include it (it is the one place besides them that
 * includes libpq-fe.h).  It holds the backend's state (struct
 * lw_store_backend), the statement ids, the parameter list (params_t: text,
 * NULL or bytea, formatted into the list's own buffers) and the decoders of
 * binary result columns (int8, int4, float8 in network byte order), as
 * inline functions because every statement uses them.
 */
#ifndef LEADWATCH_STORE_STORE_PG_CONN_H
#define LEADWATCH_STORE_STORE_PG_CONN_H

#include "leadwatch/core/hll.h"
#include "leadwatch/store/store_backend.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#define LW_PG_MAX_TARGET 4096
#define LW_PG_MAX_PARAMS 8
#define LW_PG_PAGE 1000
#define LW_PG_PAGE_TEXT "1000"                 /* LW_PG_PAGE in SQL */
#define LW_PG_LEASE_LOCK "7810756212871492709" /* the evaluator lease's session lock */
/* the lease holder pings every second or so; a stopped holder's session ends after this */
#define LW_PG_LEASE_IDLE_TIMEOUT "10s"

/* The prepared statements, named "lw<id>"; their SQL: statement_sql in store_pg.c. */
enum {
    ST_ADD_CELL,
    ST_SET_HLL,
    ST_SET_POSITION,
    ST_INSERT_POSITION,
    ST_MOVE_POSITION,
    ST_GET_POSITION,
    ST_POSITIONS,
    ST_SET_INT,
    ST_GET_INT,
    ST_ADD_COUNTER,
    ST_COUNTERS,
    ST_READ_CELLS,
    ST_BUCKET_RANGE,
    ST_SET_BLOB,
    ST_GET_BLOB,
    ST_ADD_VERDICT,
    ST_EDGE_LED,
    ST_READ_VERDICTS,
    ST_PUT_EXP_ASSIGN,
    ST_EXP_ASSIGNS,
    ST_ADD_EXP_CELL,
    ST_EXP_CELLS,
    ST_CLAIM,
    ST_FENCE,
    ST_OWNER_EPOCH,
    ST_GLOBAL_WM,
    ST_RAISE_INT,
    ST_COUNT
};

struct lw_store_backend {
    PGconn *conn;
    bool readonly;
    bool in_txn;    /* begin succeeded and no commit/rollback since */
    bool iterating; /* inside a read callback */
    bool lease;     /* this session holds the evaluator lease (pg_lease) */
    int schema_version;
    int64_t conflicts; /* position conflicts in the open transaction */
    lw_hll_t *scratch;
    uint8_t cell_buf[LW_HLL_MAX_SERIALIZED];           /* add_cell's serialised argument */
    uint8_t merge_buf[LW_HLL_MAX_SERIALIZED];          /* the union written back */
    char vec_txt[2][LW_EXP_CELL_MAX_BUCKETS * 26 + 3]; /* add_exp_cell's arrays as text */
    double vec_num[LW_EXP_CELL_MAX_BUCKETS], vec_den[LW_EXP_CELL_MAX_BUCKETS];
};

/* Statement parameters: text (NULL = SQL NULL) or binary (bytea). */
typedef struct {
    int n;
    const char *v[LW_PG_MAX_PARAMS];
    int len[LW_PG_MAX_PARAMS];
    int fmt[LW_PG_MAX_PARAMS];
    char txt[LW_PG_MAX_PARAMS][32];
} params_t;

static inline void p_text(params_t *p, const char *s)
{
    assert(p->n < LW_PG_MAX_PARAMS);
    p->v[p->n] = s;
    p->len[p->n] = 0;
    p->fmt[p->n++] = 0;
}

static inline void p_i64(params_t *p, int64_t x)
{
    assert(p->n < LW_PG_MAX_PARAMS);
    snprintf(p->txt[p->n], sizeof p->txt[0], "%lld", (long long)x);
    p_text(p, p->txt[p->n]);
}

/* %.17g round-trips every finite double exactly; NAN is stored as NULL. */
static inline void p_f64(params_t *p, double x)
{
    assert(p->n < LW_PG_MAX_PARAMS);
    if (isnan(x)) {
        p_text(p, NULL);
        return;
    }
    snprintf(p->txt[p->n], sizeof p->txt[0], "%.17g", x);
    p_text(p, p->txt[p->n]);
}

static inline void p_bin(params_t *p, const void *data, size_t len)
{
    assert(p->n < LW_PG_MAX_PARAMS && len <= (size_t)INT32_MAX);
    p->v[p->n] = data;
    p->len[p->n] = (int)len;
    p->fmt[p->n++] = 1;
}

/* Binary result columns: int8, int4 and float8 in network byte order. */
static inline uint64_t be_u64(const char *v)
{
    uint64_t r = 0;
    for (int i = 0; i < 8; i++) {
        r = (r << 8) | (uint8_t)v[i];
    }
    return r;
}

static inline int64_t col_i64(const PGresult *r, int row, int col)
{
    uint64_t u = be_u64(PQgetvalue(r, row, col));
    int64_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static inline int col_i32(const PGresult *r, int row, int col)
{
    const uint8_t *v = (const uint8_t *)PQgetvalue(r, row, col);
    uint32_t u = ((uint32_t)v[0] << 24) | ((uint32_t)v[1] << 16) | ((uint32_t)v[2] << 8) | v[3];
    int32_t x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* NULL reads back as NAN. */
static inline double col_f64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) {
        return (double)NAN;
    }
    uint64_t u = be_u64(PQgetvalue(r, row, col));
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* ---- store_pg_conn.c: running statements */

/* The server's or libpq's message as errstr (LW_ERR_RETRY for deadlocks and serialization). */
lw_err_t lw_pg_fail(PGconn *conn, const PGresult *res, const char *what, char *errstr,
                    size_t errstr_size);
/* Outside a transaction, reset a broken connection once (and set the session up again). */
lw_err_t lw_pg_reconnect(lw_store_backend_t *b, const char *what, char *errstr, size_t errstr_size);
/* Run prepared statement `which`: LW_OK with *out set (caller PQclear()s; out may be NULL). */
lw_err_t lw_pg_run(lw_store_backend_t *b, int which, const params_t *p, PGresult **out,
                   const char *what, char *errstr, size_t errstr_size);
/* Run SQL text without parameters. */
lw_err_t lw_pg_exec(PGconn *conn, const char *sql, const char *what, char *errstr,
                    size_t errstr_size);
/* One int8 from SQL text; 0 when no row or NULL. */
lw_err_t lw_pg_query_i64(PGconn *conn, const char *sql, int64_t *out, char *errstr,
                         size_t errstr_size);
/* A write may proceed only inside a live transaction. */
lw_err_t lw_pg_check_writable(lw_store_backend_t *b, const char *what, char *errstr,
                              size_t errstr_size);
/* Refuse a read from inside a read's callback. */
lw_err_t lw_pg_check_idle(lw_store_backend_t *b, const char *what, char *errstr,
                          size_t errstr_size);
/* A read's frame: read_begin runs st and marks the backend iterating; read_end undoes both. */
lw_err_t lw_pg_read_begin(lw_store_backend_t *b, int st, const params_t *p, const char *what,
                          PGresult **res, char *errstr, size_t errstr_size);
lw_err_t lw_pg_read_end(lw_store_backend_t *b, PGresult *res, lw_err_t err);
/*
 * A paged read (LIMIT LW_PG_PAGE): next() sets the parameters of the next
 * page from ctx and returns false when there is none; row() hands one row on
 * and returns nonzero to stop (it also advances ctx past the row).
 */
typedef bool (*lw_pg_page_fn)(void *ctx, params_t *p);
typedef int (*lw_pg_row_fn)(void *ctx, const PGresult *res, int row);
lw_err_t lw_pg_read_pages(lw_store_backend_t *b, int st, const char *what, lw_pg_page_fn next,
                          lw_pg_row_fn row, void *ctx, char *errstr, size_t errstr_size);
/* A write of params p inside a live transaction. */
lw_err_t lw_pg_keyed_write(lw_store_backend_t *b, int which, const params_t *p, const char *what,
                           char *errstr, size_t errstr_size);
/* A keyed write of one integer: text key $1, value $2. */
lw_err_t lw_pg_keyed_int_write(lw_store_backend_t *b, int which, const char *key, int64_t value,
                               const char *what, char *errstr, size_t errstr_size);
/* A single-row lookup by text key: LW_OK with *res set, else LW_ERR_NOT_FOUND or the failure. */
lw_err_t lw_pg_lookup(lw_store_backend_t *b, int which, const char *key, PGresult **res,
                      const char *what, char *errstr, size_t errstr_size);
/*
 * The int8 columns 0..n-1 of a one-row result into *out[0..n-1] (SQL NULL
 * as INT64_MIN), then PQclear(res); when err is not LW_OK only err (res is
 * then not set).  Returns err.
 */
lw_err_t lw_pg_take_i64s(lw_err_t err, PGresult *res, int64_t *const *out, int n);
/* A write whose result the caller reads (and PQclear()s): inside a live transaction only. */
lw_err_t lw_pg_write_result(lw_store_backend_t *b, int which, const params_t *p, PGresult **res,
                            const char *what, char *errstr, size_t errstr_size);

/* ---- store_pg.c */

/* Session settings and the prepared statements, on a new or reset connection. */
lw_err_t lw_pg_prepare_session(lw_store_backend_t *b, char *errstr, size_t errstr_size);

/* ---- store_pg_exp.c: the ops of the experiment tables (store_backend.h) */

lw_err_t lw_pg_put_exp_assign(lw_store_backend_t *b, const lw_exp_assign_t *a, char *errstr,
                              size_t errstr_size);
lw_err_t lw_pg_exp_assigns(lw_store_backend_t *b, lw_store_exp_assign_cb cb, void *ud, char *errstr,
                           size_t errstr_size);
lw_err_t lw_pg_add_exp_cell(lw_store_backend_t *b, const lw_exp_cell_t *c, char *errstr,
                            size_t errstr_size);
lw_err_t lw_pg_exp_cells(lw_store_backend_t *b, lw_store_exp_cell_cb cb, void *ud, char *errstr,
                         size_t errstr_size);

/* ---- store_pg_fleet.c: the fleet's ops (store.h "Fleet") */

lw_err_t lw_pg_claim(lw_store_backend_t *b, const char *source, const char *owner, int64_t *epoch,
                     int64_t *max_time, char *errstr, size_t errstr_size);
lw_err_t lw_pg_fence(lw_store_backend_t *b, const char *source, int64_t epoch, int64_t max_time,
                     bool idle, char *errstr, size_t errstr_size);
lw_err_t lw_pg_owner(lw_store_backend_t *b, const char *source, int64_t *epoch, int64_t *max_time,
                     char *errstr, size_t errstr_size);
lw_err_t lw_pg_global_watermark(lw_store_backend_t *b, int64_t *wm, char *errstr,
                                size_t errstr_size);
lw_err_t lw_pg_raise_int(lw_store_backend_t *b, const char *key, int64_t value, char *errstr,
                         size_t errstr_size);
lw_err_t lw_pg_lease(lw_store_backend_t *b, bool *held, char *errstr, size_t errstr_size);

#endif
