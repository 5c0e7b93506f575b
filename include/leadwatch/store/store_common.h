/*
 * store_common.h - what the store's backends (store_sqlite.c, store_pg.c)
 * share that does not depend on the engine: the transaction-state refusals,
 * the schema version check, the check of a cell's sum before it is written,
 * the message of a refused position compare-and-set and the int64 column
 * bits of a uint64.
 *
 * Internal to src/store/, like store_backend.h: only the backends include
 * it; nothing above the store sees it (store.h is the public API).  Each
 * function writes the message both backends return for the same case, so
 * the two cannot drift apart.
 */
#ifndef LEADWATCH_STORE_STORE_COMMON_H
#define LEADWATCH_STORE_STORE_COMMON_H

#include "leadwatch/core/common.h"
#include "leadwatch/core/decsum.h"
#include "leadwatch/store/store_types.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* LW_ERR_INVALID unless in_txn: a write `what` outside a transaction. */
lw_err_t lw_store_check_in_txn(bool in_txn, const char *what, char *errstr, size_t errstr_size);

/* LW_ERR_INVALID if in_txn: begin while a transaction is already open. */
lw_err_t lw_store_check_no_txn(bool in_txn, char *errstr, size_t errstr_size);

/*
 * LW_ERR_STORE when the store `where` has a schema `version` newer than
 * `current` (this build's), or older while opened `readonly` (only a
 * writable open migrates).
 */
lw_err_t lw_store_check_version(const char *where, int64_t version, int current, bool readonly,
                                char *errstr, size_t errstr_size);

/* LW_ERR_INVALID: a read `what` called again from inside its own callback. */
lw_err_t lw_store_reentered(const char *what, char *errstr, size_t errstr_size);

/*
 * The three numbers a cell keeps of `sum` (lw_decsum_fold) in *out, or
 * LW_ERR_INVALID when its double part is not finite (SQLite stores NaN as
 * NULL and inf + -inf is NaN, so both backends keep sums finite).
 */
lw_err_t lw_store_fold_sum(const char *metric, int64_t bucket_ms, const lw_decsum_t *sum,
                           lw_decsum_t *out, char *errstr, size_t errstr_size);

/*
 * LW_ERR_STORE for a refused compare-and-set on `source`: `now` is the
 * stored position (NULL: none stored), `expected` the one the writer
 * started from (LW_POSITION_ABSENT: none).
 */
lw_err_t lw_store_position_conflict(const char *source, const lw_position_t *now,
                                    const lw_position_t *expected, char *errstr,
                                    size_t errstr_size);

/* The int64 column value with the same bits as a uint64, and back. */
int64_t lw_store_u64_bits(uint64_t v);
uint64_t lw_store_i64_bits(int64_t v);

#endif
