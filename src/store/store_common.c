/*
 * store_common.c - the engine-independent parts of the store's backends
 * (store_common.h): refusals and messages both backends return word for
 * word, the finite-sum rule of a cell, and the uint64 <-> int64 column bits
 * (memcpy, so no value above INT64_MAX goes through an
 * implementation-defined conversion).
 */
#include "leadwatch/store/store_common.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

lw_err_t lw_store_check_in_txn(bool in_txn, const char *what, char *errstr, size_t errstr_size)
{
    if (!in_txn) {
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "store: %s outside a transaction (call lw_store_begin first)", what);
    }
    return LW_OK;
}

lw_err_t lw_store_check_no_txn(bool in_txn, char *errstr, size_t errstr_size)
{
    if (in_txn) {
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "store: begin: a transaction is already open");
    }
    return LW_OK;
}

lw_err_t lw_store_check_version(const char *where, int64_t version, int current, bool readonly,
                                char *errstr, size_t errstr_size)
{
    if (version > current) {
        return lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                         "store %s: store schema version %lld is newer than this leadwatch "
                         "supports (%d)",
                         where, (long long)version, current);
    }
    if (readonly && version < current) {
        return lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                         "store %s: schema version %lld is older than this leadwatch uses (%d); "
                         "open it writable once (e.g. run the daemon) to migrate it",
                         where, (long long)version, current);
    }
    return LW_OK;
}

lw_err_t lw_store_reentered(const char *what, char *errstr, size_t errstr_size)
{
    return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                     "store: %s called again from its own callback", what);
}

lw_err_t lw_store_fold_sum(const char *metric, int64_t bucket_ms, const lw_decsum_t *sum,
                           lw_decsum_t *out, char *errstr, size_t errstr_size)
{
    *out = lw_decsum_fold(sum);
    if (!isfinite(out->k.hi) || !isfinite(out->k.lo)) {
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "store: add cell %s@%lld: sum is not finite", metric,
                         (long long)bucket_ms);
    }
    return LW_OK;
}

lw_err_t lw_store_position_conflict(const char *source, const lw_position_t *now,
                                    const lw_position_t *expected, char *errstr, size_t errstr_size)
{
    char have[32] = "none", want[32] = "none";
    if (now != NULL) {
        snprintf(have, sizeof have, "%lld", (long long)now->position);
    }
    if (expected->position != LW_POSITION_ABSENT) {
        snprintf(want, sizeof want, "%lld", (long long)expected->position);
    }
    return lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                     "store: position conflict on %s: another writer committed for it "
                     "(stored position %s, this writer started from %s)",
                     source, have, want);
}

int64_t lw_store_u64_bits(uint64_t v)
{
    int64_t r;
    memcpy(&r, &v, sizeof r);
    return r;
}

uint64_t lw_store_i64_bits(int64_t v)
{
    uint64_t r;
    memcpy(&r, &v, sizeof r);
    return r;
}
