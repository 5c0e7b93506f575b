/*
 * decsum.c - exact sums of decimal amounts (see decsum.h for the method
 * and why).  lw_decsum_add is on the aggregator's per-event path: two
 * conversions, a multiply, one division to confirm the decimal and two
 * int64 adds; no libm call and no dependency on a floating-point chain.
 */
#include "leadwatch/core/decsum.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define EXACT_INT 9007199254740992.0 /* 2^53: doubles are exact integers below it */

void lw_decsum_add(lw_decsum_t *s, double x)
{
    /* |x| below the bound: i * 10^6 + u stays an exact integer, and the casts
     * truncate (no libm call: this runs per event) */
    if (fabs(x) < EXACT_INT / LW_DECSUM_SCALE - 2) {
        int64_t i = (int64_t)x;
        double f = (x - (double)i) * LW_DECSUM_SCALE;     /* x - i is exact */
        int64_t u = (int64_t)(f + (f >= 0 ? 0.5 : -0.5)); /* |u| <= 10^6 */
        /* the division rounds correctly: equal iff x is the double of i + u / 10^6 */
        if ((double)(i * LW_DECSUM_SCALE + u) / LW_DECSUM_SCALE == x) {
            int64_t w;
            if (__builtin_add_overflow(s->whole, i, &w))
                lw_ksum_add(&s->k, (double)i);
            else
                s->whole = w;
            s->micros += u;
            return;
        }
    }
    lw_ksum_add(&s->k, x);
}

void lw_decsum_merge(lw_decsum_t *s, const lw_decsum_t *other)
{
    lw_ksum_merge(&s->k, other->k);
    int64_t w;
    if (__builtin_add_overflow(s->whole, other->whole, &w))
        lw_ksum_add(&s->k, (double)other->whole);
    else
        s->whole = w;
    s->micros += other->micros;
}

lw_decsum_t lw_decsum_fold(const lw_decsum_t *s)
{
    lw_decsum_t f = *s;
    if (f.whole != 0)
        lw_ksum_add(&f.k, (double)f.whole);
    f.whole = 0;
    return f;
}

double lw_decsum_value(const lw_decsum_t *s)
{
    /* the integer parts and the whole units of the micros join the
     * compensated part (exact below 2^53) */
    int64_t whole = s->micros / LW_DECSUM_SCALE, frac = s->micros % LW_DECSUM_SCALE;
    lw_decsum_t f = lw_decsum_fold(s);
    lw_ksum_t k = f.k;
    lw_ksum_add(&k, (double)whole);
    k = lw_ksum_norm(k);
    if (frac == 0)
        return k.hi + k.lo;
    if (k.lo != 0 || k.hi != trunc(k.hi) || fabs(k.hi) >= EXACT_INT / LW_DECSUM_SCALE)
        return k.hi + k.lo + (double)frac / LW_DECSUM_SCALE;
    /* an integer plus a fraction of 6 digits: exact in int64 micro-units */
    int64_t t = (int64_t)k.hi * LW_DECSUM_SCALE + frac;
    uint64_t a = t < 0 ? (uint64_t)0 - (uint64_t)t : (uint64_t)t;
    char buf[48];
    snprintf(buf, sizeof buf, "%s%llu.%06llu", t < 0 ? "-" : "",
             (unsigned long long)(a / LW_DECSUM_SCALE), (unsigned long long)(a % LW_DECSUM_SCALE));
    return strtod(buf, NULL);
}
