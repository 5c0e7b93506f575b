/*
 * jnum.h - lexing and converting JSON numbers for the event decoder
 * (event.c); how and why: see src/model/jnum.c.
 */
#ifndef LEADWATCH_MODEL_JNUM_H
#define LEADWATCH_MODEL_JNUM_H

#include "leadwatch/core/common.h"

#include <string.h>

/* A lexed number: its text and what the conversion needs. */
typedef struct {
    const unsigned char *start;
    size_t len;
    uint64_t mant; /* first significant digits (exact when nd <= 19) */
    int nd;        /* significant digits (leading zeros excluded) */
    int frac_len;
    long exp;  /* explicit exponent, saturated */
    long lead; /* decimal exponent of the leading significant digit */
} lw_jnum_t;

/* What lw_jnum_lex found. */
typedef enum {
    LW_JNUM_OK,
    LW_JNUM_INVALID,  /* not the JSON number grammar */
    LW_JNUM_INFINITY, /* "-Infinity" (the decoder's bad_number, not invalid_json) */
} lw_jnum_status_t;

#define LW_JNUM_ONES UINT64_C(0x0101010101010101)
#define LW_JNUM_HIGHS UINT64_C(0x8080808080808080)

static inline bool lw_jnum_is_digit(unsigned c)
{
    return c - '0' < 10u;
}

static inline uint64_t lw_jnum_load64(const unsigned char *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return x;
}

/*
 * lw_jnum_digits8: the length k (1..7) of the digit run at p and its value in *v,
 * when 8 bytes are readable and the run ends within them; else 0 (the
 * caller's byte loop handles it).  SWAR: a byte b is flagged when b - '0'
 * borrows (b < '0') or b - '0' + 0x76 sets the high bit (b > '9'); borrows
 * and carries move only towards later bytes, so the first flag is exact.
 * The k digits are shifted to the top of the word (zeros before them) and
 * summed in three multiplies (Lemire's eight-digit parse).
 */
static const uint64_t lw_jnum_pow10_u64[9] = {1,      10,      100,      1000,     10000,
                                              100000, 1000000, 10000000, 100000000};
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline __attribute__((always_inline)) size_t
lw_jnum_digits8(const unsigned char *p, const unsigned char *end, uint64_t *v)
{
    if (end - p < 8)
        return 0;
    uint64_t t = lw_jnum_load64(p) - LW_JNUM_ONES * '0';
    uint64_t flag = (t | (t + LW_JNUM_ONES * 0x76)) & LW_JNUM_HIGHS;
    if (!flag)
        return 0; /* 8 or more digits */
    size_t k = (size_t)__builtin_ctzll(flag) / 8;
    if (k == 0)
        return 0;
    uint64_t x = t << (8 * (8 - k));
    x = x * 10 + (x >> 8);
    x = (((x & UINT64_C(0x000000FF000000FF)) * (100 + (UINT64_C(1000000) << 32))) +
         (((x >> 16) & UINT64_C(0x000000FF000000FF)) * (1 + (UINT64_C(10000) << 32)))) >>
        32;
    *v = x;
    return k;
}
#else
static inline __attribute__((always_inline)) size_t
lw_jnum_digits8(const unsigned char *p, const unsigned char *end, uint64_t *v)
{
    (void)p, (void)end, (void)v;
    return 0;
}
#endif

/*
 * Lex a number at *pp (first byte is '-' or a digit) without reading at or
 * past end; on success (LW_JNUM_OK) *pp points after it.  Inline:
 * the decoder lexes every number of every event (as a call it cost ~40
 * instructions per bench_ingest event, callgrind).
 */
static inline __attribute__((always_inline)) lw_jnum_status_t
lw_jnum_lex(const unsigned char **pp, const unsigned char *end, lw_jnum_t *n)
{
    const unsigned char *p = *pp;
    n->start = p;
    n->mant = 0;
    n->nd = 0;
    n->frac_len = 0;
    n->exp = 0;
    if (*p == '-') {
        p++;
        if (end - p >= 8 && memcmp(p, "Infinity", 8) == 0)
            return LW_JNUM_INFINITY;
    }
    if (p == end || !lw_jnum_is_digit(*p))
        return LW_JNUM_INVALID;
    const unsigned char *int_start = p;
    size_t k;
    if (*p == '0') {
        p++;
    } else if ((k = lw_jnum_digits8(p, end, &n->mant)) != 0) {
        n->nd = (int)k;
        p += k;
    } else {
        while (p < end && lw_jnum_is_digit(*p)) {
            if (n->nd < 19)
                n->mant = n->mant * 10 + (uint64_t)(*p - '0');
            n->nd++;
            p++;
        }
    }
    long int_len = p - int_start;
    bool int_nonzero = n->nd > 0;
    long frac_lz = 0;
    if (p < end && *p == '.') {
        p++;
        if (p == end || !lw_jnum_is_digit(*p))
            return LW_JNUM_INVALID;
        uint64_t fm;
        if (n->nd > 0 && n->nd <= 11 && (k = lw_jnum_digits8(p, end, &fm)) != 0) {
            n->mant = n->mant * lw_jnum_pow10_u64[k] + fm; /* nd + k <= 19 digits: exact */
            n->nd += (int)k;
            n->frac_len = (int)k;
            p += k;
        }
        while (p < end && lw_jnum_is_digit(*p)) {
            unsigned dg = (unsigned)(*p - '0');
            if (n->nd == 0 && dg == 0) {
                frac_lz++;
            } else {
                if (n->nd < 19)
                    n->mant = n->mant * 10 + dg;
                n->nd++;
            }
            n->frac_len++;
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool neg = false;
        if (p < end && (*p == '+' || *p == '-')) {
            neg = *p == '-';
            p++;
        }
        if (p == end || !lw_jnum_is_digit(*p))
            return LW_JNUM_INVALID;
        long e = 0;
        while (p < end && lw_jnum_is_digit(*p)) {
            if (e < 1000000)
                e = e * 10 + (*p - '0');
            p++;
        }
        n->exp = neg ? -e : e;
    }
    n->lead = int_nonzero ? int_len - 1 + n->exp : -(frac_lz + 1) + n->exp;
    n->len = (size_t)(p - n->start);
    *pp = p;
    return LW_JNUM_OK;
}

/*
 * Convert a lexed number.  tmp (capacity tmp_cap >= n->len + 1) holds the
 * NUL-terminated copy strtod needs: the input is not NUL-terminated.
 * Returns false when the magnitude overflows a double.
 */
bool lw_jnum_value(const lw_jnum_t *n, char *tmp, size_t tmp_cap, double *out);

#endif
