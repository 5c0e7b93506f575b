/*
 * store_pg_fleet.c - the PostgreSQL backend's fleet operations (store.h
 * "Fleet", schema v6 in store_pg.c): owner epochs in source_owners, the
 * global watermark over them, a raise-only integer and the evaluator lease.
 *
 * claim is an upsert that raises the source's epoch and returns it with the
 * newest event time; fence is UPDATE .. WHERE source = $1 AND epoch = $2,
 * whose row lock is held until the flush commits: 0 rows means another
 * member claimed the source since, and the flush is refused (LW_ERR_FENCED,
 * with the epoch that holds it now).  The global watermark is one aggregate
 * over the rows (the idle sources' newest time when all are idle, else the
 * oldest of the busy ones, NULL while a busy one has none).  The lease is a
 * session advisory lock (pg_try_advisory_lock), confirmed by a round trip
 * while held; see lw_pg_lease.
 */
#include "leadwatch/store/store_pg_conn.h"

#include <string.h>

lw_err_t lw_pg_claim(lw_store_backend_t *b, const char *source, const char *owner, int64_t *epoch,
                     int64_t *max_time, char *errstr, size_t errstr_size)
{
    params_t p = {0};
    PGresult *res = NULL;
    p_text(&p, source);
    p_text(&p, owner);
    lw_err_t err = lw_pg_write_result(b, ST_CLAIM, &p, &res, "claim", errstr, errstr_size);
    return lw_pg_take_i64s(err, res, (int64_t *const[]){epoch, max_time}, 2);
}

lw_err_t lw_pg_fence(lw_store_backend_t *b, const char *source, int64_t epoch, int64_t max_time,
                     bool idle, char *errstr, size_t errstr_size)
{
    params_t p = {0};
    PGresult *res = NULL;
    p_text(&p, source);
    p_i64(&p, epoch);
    if (max_time == INT64_MIN) {
        p_text(&p, NULL);
    } else {
        p_i64(&p, max_time);
    }
    p_text(&p, idle ? "true" : "false");
    lw_err_t err = lw_pg_write_result(b, ST_FENCE, &p, &res, "fence", errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    bool ours = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (ours) {
        return LW_OK;
    }
    int64_t now = -1;
    PGresult *r2 = NULL;
    if (lw_pg_lookup(b, ST_OWNER_EPOCH, source, &r2, "owner epoch", NULL, 0) == LW_OK) {
        now = col_i64(r2, 0, 0);
        PQclear(r2);
    }
    return lw_seterr(errstr, errstr_size, LW_ERR_FENCED,
                     "store: %s was claimed by another member (owner epoch %lld, this member "
                     "holds %lld): the flush is refused",
                     source, (long long)now, (long long)epoch);
}

lw_err_t lw_pg_owner(lw_store_backend_t *b, const char *source, int64_t *epoch, int64_t *max_time,
                     char *errstr, size_t errstr_size)
{
    PGresult *res = NULL;
    lw_err_t err = lw_pg_lookup(b, ST_OWNER_EPOCH, source, &res, "owner", errstr, errstr_size);
    return lw_pg_take_i64s(err, res, (int64_t *const[]){epoch, max_time}, 2);
}

lw_err_t lw_pg_global_watermark(lw_store_backend_t *b, int64_t *wm, char *errstr,
                                size_t errstr_size)
{
    PGresult *res = NULL;
    lw_err_t err = lw_pg_run(b, ST_GLOBAL_WM, NULL, &res, "global watermark", errstr, errstr_size);
    return lw_pg_take_i64s(err, res, (int64_t *const[]){wm}, 1);
}

lw_err_t lw_pg_raise_int(lw_store_backend_t *b, const char *key, int64_t value, char *errstr,
                         size_t errstr_size)
{
    return lw_pg_keyed_int_write(b, ST_RAISE_INT, key, value, "raise int", errstr, errstr_size);
}

/*
 * The evaluator lease: a session advisory lock on this connection.  Held:
 * a round trip confirms the session still lives (a server that ended it,
 * e.g. after LW_PG_LEASE_IDLE_TIMEOUT of silence while this process was
 * stopped, took the lock with it).  Not held: try to take it; once taken,
 * the session gets idle_session_timeout, so a holder that stops answering
 * (SIGSTOP, a frozen VM) loses it after that long, and one that dies loses
 * it at once (the server sees the connection close).
 */
lw_err_t lw_pg_lease(lw_store_backend_t *b, bool *held, char *errstr, size_t errstr_size)
{
    *held = false;
    if (b->in_txn) {
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "store: lease inside a transaction");
    }
    if (b->lease && lw_pg_exec(b->conn, "SELECT 1", "lease", errstr, errstr_size) != LW_OK) {
        /* lost: said once (the caller must reload what another holder may have changed) */
        b->lease = false;
        return LW_OK;
    }
    if (!b->lease) {
        lw_err_t err = lw_pg_reconnect(b, "lease", errstr, errstr_size);
        int64_t got = 0;
        if (err == LW_OK) {
            err = lw_pg_query_i64(b->conn,
                                  "SELECT pg_try_advisory_lock(" LW_PG_LEASE_LOCK ")::int::int8",
                                  &got, errstr, errstr_size);
        }
        if (err == LW_OK && got) {
            b->lease = true;
            err = lw_pg_exec(b->conn, "SET idle_session_timeout = '" LW_PG_LEASE_IDLE_TIMEOUT "'",
                             "lease", errstr, errstr_size);
        }
        if (err != LW_OK) {
            return err;
        }
    }
    *held = b->lease;
    return LW_OK;
}
