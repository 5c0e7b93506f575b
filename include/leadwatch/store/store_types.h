/*
 * store_types.h - the value types the store interface exchanges (positions,
 * cells, verdict rows, iteration callbacks), shared by the public API
 * (store.h) and the backend interface (store_backend.h) so that neither
 * header includes the other.  Plain structs; no functions.
 */
#ifndef LEADWATCH_STORE_TYPES_H
#define LEADWATCH_STORE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lw_store lw_store_t;

/* A source position: where to resume, plus a fingerprint of what was read. */
typedef struct {
    int64_t position; /* byte offset (files) or next offset (Kafka) */
    int64_t fp_len;   /* files: how many leading bytes fp_hash covers; else 0 */
    uint64_t fp_hash;
} lw_position_t;

/* expected->position for "the source has no stored position yet". */
#define LW_POSITION_ABSENT INT64_C(-1)

/* Return non-zero to stop; `source` is valid during the callback only. */
typedef int (*lw_store_position_cb)(void *ud, const char *source, const lw_position_t *pos);

typedef void (*lw_store_counter_cb)(void *ud, const char *name, int64_t value);

/* One stored cell as read back; `hll` is NULL when the cell has no sketch. */
typedef struct {
    int64_t bucket_ms;
    int64_t count;
    double sum;
    const uint8_t *hll; /* serialised sketch, valid only during the callback */
    size_t hll_len;
} lw_cell_t;

/* Return non-zero from the callback to stop early. */
typedef int (*lw_store_cell_cb)(void *ud, const lw_cell_t *cell);

/* One edge's verdict at one evaluation of the daemon.  NAN = not available. */
typedef struct {
    const char *edge;    /* "from->to" */
    int64_t as_of_ms;    /* start of the bucket whose close triggered the evaluation */
    const char *verdict; /* lw_verdict_name() */
    double p, q;         /* primary Granger test at the chosen lag */
    int lag;             /* chosen lag, 0 = none */
    double coef;         /* elasticity */
    double oos;          /* out-of-sample skill (relative MSE reduction) */
} lw_verdict_row_t;

/* Return non-zero to stop; strings are valid during the callback only. */
typedef int (*lw_store_verdict_cb)(void *ud, const lw_verdict_row_t *v);

/*
 * Experiments (issue 16).  One assignment: a user's first exposure to an
 * experiment, which fixes its variant and the start of its windows.  The
 * user is kept only as the 64-bit hash of its id (lw_hll_hash, XXH3);
 * `seen` marks, per window (0 short, 1 long), the metrics (bit = index in
 * the config's metrics) the user already counted for, so a distinct metric
 * counts a user once per window.
 */
typedef struct {
    const char *experiment;
    const char *variant;
    uint64_t user_hash;
    int64_t exposed_ms;
    uint64_t seen[2];
} lw_exp_assign_t;

/* Return non-zero to stop; strings are valid during the callback only. */
typedef int (*lw_store_exp_assign_cb)(void *ud, const lw_exp_assign_t *a);

/*
 * One additive experiment cell: per hashed user bucket b (0 .. nb-1), sums
 * over the users of that bucket.  metric "" holds the variant's exposed users
 * in num[b] (den all 0); a metric's cell holds the sum of its per-user values
 * in num[b] and the number of events that contributed in den[b] (the event
 * count of a mean metric).  Stored as one row per (experiment, variant,
 * metric, window): the vectors add element-wise; a shorter one counts as
 * zeros past its end.
 */
typedef struct {
    const char *experiment;
    const char *variant;
    const char *metric;
    int window; /* 0 short, 1 long; 0 for the users row */
    uint32_t nb;
    const double *num; /* [nb] */
    const double *den; /* [nb] */
} lw_exp_cell_t;

/* Return non-zero to stop; strings and vectors are valid during the callback only. */
typedef int (*lw_store_exp_cell_cb)(void *ud, const lw_exp_cell_t *c);

#define LW_EXP_CELL_MAX_BUCKETS 1024 /* the longest vector a backend reads back */

#endif
