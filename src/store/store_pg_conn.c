/*
 * store_pg_conn.c - running the PostgreSQL backend's statements (the
 * plumbing every store_pg*.c file uses; declared in store_pg_conn.h).
 *
 * Every statement is prepared once per connection (lw_pg_prepare_session in
 * store_pg.c) and run by id with binary results (lw_pg_run).  Outside a
 * transaction a connection found broken is reset once and the statement run
 * again; inside one it is left broken, so the transaction fails as a whole
 * (store_pg.c's header comment, "Transactions").  Errors carry the server's
 * first line and SQLSTATE; deadlocks and serialization failures are
 * LW_ERR_RETRY.  The read frames mark the backend "iterating" while rows go
 * to a caller's callback, so a callback that reads the store again is
 * refused; lw_pg_read_pages is that frame for a read that pages by its key
 * (LW_PG_PAGE rows a query: cells by bucket, assignments by experiment and
 * user), so a long table never sits in memory at once.
 */
#include "leadwatch/store/store_pg_conn.h"

#include "leadwatch/store/store_common.h"

/* The server's or libpq's message, first line only, with the SQLSTATE when there is one. */
lw_err_t lw_pg_fail(PGconn *conn, const PGresult *res, const char *what, char *errstr,
                    size_t errstr_size)
{
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (msg == NULL) {
        msg = PQerrorMessage(conn);
    }
    size_t n = strcspn(msg, "\n");
    /* deadlock_detected, serialization_failure: the transaction may simply run again */
    bool retry = state && (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0);
    return lw_seterr(errstr, errstr_size, retry ? LW_ERR_RETRY : LW_ERR_STORE,
                     "store: %s: %.*s%s%s%s", what, (int)n, msg, state ? " (SQLSTATE " : "",
                     state ? state : "", state ? ")" : "");
}

lw_err_t lw_pg_prepare_session(lw_store_backend_t *b, char *errstr, size_t errstr_size);

/*
 * Outside a transaction, a connection found broken (a restarted server, a
 * terminated session) is reset once, with the session set up again; inside
 * one it is left broken, so the transaction fails as a whole.
 */
lw_err_t lw_pg_reconnect(lw_store_backend_t *b, const char *what, char *errstr, size_t errstr_size)
{
    if (b->in_txn || PQstatus(b->conn) != CONNECTION_BAD) {
        return LW_OK;
    }
    PQreset(b->conn);
    b->lease = false; /* a session lock ends with its session */
    if (PQstatus(b->conn) != CONNECTION_OK) {
        char w[64];
        snprintf(w, sizeof w, "%s (reconnecting)", what);
        return lw_pg_fail(b->conn, NULL, w, errstr, errstr_size);
    }
    return lw_pg_prepare_session(b, errstr, errstr_size);
}

/*
 * Run a prepared statement; LW_OK with *out set (the caller PQclear()s it)
 * when it succeeded, else the failure (nothing to clear).
 */
lw_err_t lw_pg_run(lw_store_backend_t *b, int which, const params_t *p, PGresult **out,
                   const char *what, char *errstr, size_t errstr_size)
{
    char name[16]; /* "lw" and any int: -O1's -Wformat-truncation */
    lw_err_t rc = lw_pg_reconnect(b, what, errstr, errstr_size);
    if (rc != LW_OK) {
        return rc;
    }
    snprintf(name, sizeof name, "lw%d", which);
    PGresult *res = PQexecPrepared(b->conn, name, p ? p->n : 0, p ? p->v : NULL, p ? p->len : NULL,
                                   p ? p->fmt : NULL, 1);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_FATAL_ERROR && !b->in_txn && PQstatus(b->conn) == CONNECTION_BAD) {
        /* the session died while idle: outside a transaction, try once more */
        PQclear(res);
        res = NULL;
        rc = lw_pg_reconnect(b, what, errstr, errstr_size);
        if (rc != LW_OK) {
            return rc;
        }
        res = PQexecPrepared(b->conn, name, p ? p->n : 0, p ? p->v : NULL, p ? p->len : NULL,
                             p ? p->fmt : NULL, 1);
        st = PQresultStatus(res);
    }
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        lw_err_t err = lw_pg_fail(b->conn, res, what, errstr, errstr_size);
        PQclear(res);
        return err;
    }
    if (out != NULL) {
        *out = res;
    } else {
        PQclear(res);
    }
    return LW_OK;
}

/* Run SQL text without parameters (transaction control, DDL); LW_OK or the failure. */
lw_err_t lw_pg_exec(PGconn *conn, const char *sql, const char *what, char *errstr,
                    size_t errstr_size)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    lw_err_t err = LW_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        err = lw_pg_fail(conn, res, what, errstr, errstr_size);
    }
    PQclear(res);
    return err;
}

/* One int8 from SQL text (no parameters); 0 when it returns no row or NULL. */
lw_err_t lw_pg_query_i64(PGconn *conn, const char *sql, int64_t *out, char *errstr,
                         size_t errstr_size)
{
    PGresult *res = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 1);
    lw_err_t err = LW_OK;
    *out = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        err = lw_pg_fail(conn, res, sql, errstr, errstr_size);
    } else if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
        assert(PQgetlength(res, 0, 0) == 8);
        *out = col_i64(res, 0, 0);
    }
    PQclear(res);
    return err;
}

/* A write may proceed only inside a live transaction. */
lw_err_t lw_pg_check_writable(lw_store_backend_t *b, const char *what, char *errstr,
                              size_t errstr_size)
{
    lw_err_t err = lw_store_check_in_txn(b->in_txn, what, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    PGTransactionStatusType ts = PQtransactionStatus(b->conn);
    if (ts != PQTRANS_INTRANS) {
        return lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                         "store: %s: the transaction was aborted by an earlier error%s; roll "
                         "back and start again",
                         what, ts == PQTRANS_UNKNOWN ? " (connection lost)" : "");
    }
    return LW_OK;
}

/* Refuse a read from inside a read's callback (the contract forbids it). */
lw_err_t lw_pg_check_idle(lw_store_backend_t *b, const char *what, char *errstr, size_t errstr_size)
{
    return b->iterating ? lw_store_reentered(what, errstr, errstr_size) : LW_OK;
}

/*
 * The start of a read that hands rows to a callback: refuse re-entry from a
 * callback (check_idle), run statement st and mark the backend iterating.
 * On LW_OK *res holds the rows; lw_pg_read_end() clears the mark and the result.
 */
lw_err_t lw_pg_read_begin(lw_store_backend_t *b, int st, const params_t *p, const char *what,
                          PGresult **res, char *errstr, size_t errstr_size)
{
    lw_err_t err = lw_pg_check_idle(b, what, errstr, errstr_size);
    if (err == LW_OK)
        err = lw_pg_run(b, st, p, res, what, errstr, errstr_size);
    if (err == LW_OK)
        b->iterating = true;
    return err;
}

lw_err_t lw_pg_read_end(lw_store_backend_t *b, PGresult *res, lw_err_t err)
{
    b->iterating = false;
    PQclear(res);
    return err;
}

/* Run a keyed write (text key, one more parameter set by the caller). */
lw_err_t lw_pg_keyed_write(lw_store_backend_t *b, int which, const params_t *p, const char *what,
                           char *errstr, size_t errstr_size)
{
    lw_err_t err = lw_pg_check_writable(b, what, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    return lw_pg_run(b, which, p, NULL, what, errstr, errstr_size);
}

/* A keyed write of one integer (set int, add counter): text key $1, value $2. */
lw_err_t lw_pg_keyed_int_write(lw_store_backend_t *b, int which, const char *key, int64_t value,
                               const char *what, char *errstr, size_t errstr_size)
{
    params_t p = {0};
    p_text(&p, key);
    p_i64(&p, value);
    return lw_pg_keyed_write(b, which, &p, what, errstr, errstr_size);
}

/* A single-row lookup by text key: LW_OK with *res holding the row, else NOT_FOUND or failure. */
lw_err_t lw_pg_lookup(lw_store_backend_t *b, int which, const char *key, PGresult **res,
                      const char *what, char *errstr, size_t errstr_size)
{
    params_t p = {0};
    p_text(&p, key);
    lw_err_t err = lw_pg_run(b, which, &p, res, what, errstr, errstr_size);
    if (err == LW_OK && PQntuples(*res) == 0) {
        PQclear(*res);
        *res = NULL;
        err = LW_ERR_NOT_FOUND;
    }
    return err;
}

/* A write whose result the caller reads (and PQclear()s): inside a live transaction only. */
lw_err_t lw_pg_write_result(lw_store_backend_t *b, int which, const params_t *p, PGresult **res,
                            const char *what, char *errstr, size_t errstr_size)
{
    lw_err_t err = lw_pg_check_writable(b, what, errstr, errstr_size);
    return err == LW_OK ? lw_pg_run(b, which, p, res, what, errstr, errstr_size) : err;
}

lw_err_t lw_pg_read_pages(lw_store_backend_t *b, int st, const char *what, lw_pg_page_fn next,
                          lw_pg_row_fn row, void *ctx, char *errstr, size_t errstr_size)
{
    lw_err_t err = lw_pg_check_idle(b, what, errstr, errstr_size);
    bool more = err == LW_OK;
    while (more) {
        params_t p = {0};
        PGresult *res = NULL;
        if (!next(ctx, &p)) {
            break;
        }
        err = lw_pg_run(b, st, &p, &res, what, errstr, errstr_size);
        if (err != LW_OK) {
            break;
        }
        int rows = PQntuples(res);
        bool stop = false;
        b->iterating = true;
        for (int i = 0; i < rows && !stop; i++) {
            stop = row(ctx, res, i) != 0;
        }
        more = !stop && rows == LW_PG_PAGE;
        b->iterating = false;
        PQclear(res);
    }
    return err;
}

lw_err_t lw_pg_take_i64s(lw_err_t err, PGresult *res, int64_t *const *out, int n)
{
    if (err != LW_OK) {
        return err;
    }
    assert(PQntuples(res) > 0 && PQnfields(res) >= n);
    for (int k = 0; k < n; k++) {
        *out[k] = PQgetisnull(res, 0, k) ? INT64_MIN : col_i64(res, 0, k);
    }
    PQclear(res);
    return err;
}
