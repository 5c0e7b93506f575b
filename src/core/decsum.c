/*
 * decsum.c - exact sums of decimal amounts (see decsum.h for the method
 * and why).  lw_decsum_add is on the aggregator's per-event path: a trunc,
 * a multiply, a rounding and one division to confirm the decimal, no
 * branches on the common path beyond that check.
 */
#include "leadwatch/core/decsum.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define EXACT_INT 9007199254740992.0 /* 2^53: doubles are exact integers below it */

void lw_decsum_add(lw_decsum_t *s, double x)
{
    double i = trunc(x);
    if (fabs(i) < EXACT_INT / LW_DECSUM_SCALE - 1) { /* i * 10^6 + u stays an exact integer */
        double u = nearbyint((x - i) * LW_DECSUM_SCALE); /* |u| <= 10^6 */
        if ((i * LW_DECSUM_SCALE + u) / LW_DECSUM_SCALE == x) {
            if (i != 0)
                lw_ksum_add(&s->k, i);
            s->micros += (int64_t)u;
            return;
        }
    }
    lw_ksum_add(&s->k, x);
}

void lw_decsum_merge(lw_decsum_t *s, const lw_decsum_t *other)
{
    lw_ksum_merge(&s->k, other->k);
    s->micros += other->micros;
}

double lw_decsum_value(const lw_decsum_t *s)
{
    /* the whole units of the micros join the compensated part (exact below 2^53) */
    int64_t whole = s->micros / LW_DECSUM_SCALE, frac = s->micros % LW_DECSUM_SCALE;
    lw_ksum_t k = s->k;
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
