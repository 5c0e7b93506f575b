/*
 * hll.h - HyperLogLog distinct counter (precision 14: 16384 registers,
 * standard error 1.04/sqrt(16384) = 0.81%), mergeable by register-wise max,
 * with a compact serialised form for the store.  See hll.c for the
 * estimator and the encoding.
 */
#ifndef LEADWATCH_HLL_H
#define LEADWATCH_HLL_H

#include "leadwatch/core/common.h"

#define LW_HLL_P 14
#define LW_HLL_REGISTERS (1u << LW_HLL_P)
#define LW_HLL_REL_ERROR 0.008125 /* relative standard error, 1.04 / sqrt(LW_HLL_REGISTERS) */
/* Largest serialised size (dense form plus header). */
#define LW_HLL_MAX_SERIALIZED (LW_HLL_REGISTERS + 8)

typedef struct lw_hll lw_hll_t;

lw_hll_t *lw_hll_new(void);
void lw_hll_destroy(lw_hll_t *h);
void lw_hll_clear(lw_hll_t *h);
bool lw_hll_is_empty(const lw_hll_t *h);

/* 64-bit hash of a key (xxHash XXH3). */
uint64_t lw_hll_hash(const void *key, size_t len);

/* Add an element by its 64-bit hash. */
void lw_hll_add_hash(lw_hll_t *h, uint64_t hash);

/* dst := dst ∪ src. */
void lw_hll_merge(lw_hll_t *dst, const lw_hll_t *src);

/* Estimated number of distinct elements. */
double lw_hll_estimate(const lw_hll_t *h);

/*
 * Serialise into buf (cap >= LW_HLL_MAX_SERIALIZED always suffices); returns
 * the number of bytes written.  Sparse sketches serialise small.
 */
size_t lw_hll_serialize(const lw_hll_t *h, uint8_t *buf, size_t cap);

/*
 * Replace h's contents with a serialised sketch.  LW_ERR_INVALID (errstr set)
 * on a corrupt or truncated blob, h then cleared.
 */
lw_err_t lw_hll_deserialize(lw_hll_t *h, const uint8_t *buf, size_t len, char *errstr,
                            size_t errstr_size);

/*
 * *estimate := lw_hll_estimate() of the sketch a blob serialises (bit for
 * bit), without deserialising it.  LW_ERR_INVALID (errstr set, *estimate
 * untouched) on a corrupt blob.
 */
lw_err_t lw_hll_estimate_serialized(const uint8_t *buf, size_t len, double *estimate, char *errstr,
                                    size_t errstr_size);

/* Merge a serialised sketch into h without an intermediate sketch. */
lw_err_t lw_hll_merge_serialized(lw_hll_t *h, const uint8_t *buf, size_t len, char *errstr,
                                 size_t errstr_size);

/*
 * out := the serialised union of two serialised sketches, byte for byte what
 * lw_hll_serialize() gives for the merged sketch.  out must hold
 * LW_HLL_MAX_SERIALIZED bytes; scratch is overwritten (used when the union
 * does not stay sparse).  LW_ERR_INVALID (errstr set, out undefined) when
 * either blob is corrupt.  Two sparse blobs merge without touching scratch.
 */
lw_err_t lw_hll_union_serialized(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                                 lw_hll_t *scratch, uint8_t *out, size_t *out_len, char *errstr,
                                 size_t errstr_size);

#endif
