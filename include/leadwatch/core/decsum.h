/*
 * decsum.h - sums of decimal amounts that come out exact: 10 M prices of
 * 0.01 .. 999.99 add up to the exact total in cents, printed as
 * 1666780306.9, never 1666780306.9000421 (a naive double loop) or
 * 829.1800000000001 (even a perfectly rounded sum of the doubles: 12.34 is
 * stored as 12.339999999999999857891..., and 78 such errors can move the
 * total past the midpoint between two doubles).
 *
 * How.  Each value x (a double from the JSON decoder) is split into its
 * integer part i = trunc(x) (exact) and a fraction.  When x is the double
 * nearest to a decimal with at most LW_DECSUM_DIGITS (6) fractional
 * digits, i.e. (i * 10^6 + u) / 10^6 == x for u = round((x - i) * 10^6),
 * the fraction is kept exactly as u micro-units in an int64 and i in
 * another int64 (on overflow, past 9.2e18, i goes to the compensated sum).  Other values (more
 * digits, 1/3, |x| >= 2^53 / 10^6 ~ 9e9) go to a compensated (Neumaier, core/ksum.h) double sum
 * whole, where integers add exactly below 2^53.  The value is read as the exact decimal total
 * (integer part and micro-units, formatted and parsed by strtod, so correctly rounded) when the
 * compensated part is an integer below 2^53, else hi + lo + micros / 10^6.
 *
 * Why not scaled integers alone: metric values are arbitrary JSON numbers
 * (durations in ms summing past 10^13 a day, ratios with many digits);
 * one int64 at a fixed resolution would overflow or round them.  Why not
 * a compensated sum alone: it is exact for the doubles, not for the
 * decimals the doubles stand for (the 829.18 above).  Bounds: the
 * micro-units overflow only after ~9.2e12 values in one sum.
 *
 * Folded (lw_decsum_fold: the int64 of integer parts into the compensated
 * sum), a sum is three numbers (hi, lo, micros) that the store keeps per
 * cell (store_sqlite.c, schema v4) and merges with lw_decsum_merge's rule.
 */
#ifndef LEADWATCH_DECSUM_H
#define LEADWATCH_DECSUM_H

#include <stdint.h>

#include "leadwatch/core/ksum.h"

#define LW_DECSUM_DIGITS 6
#define LW_DECSUM_SCALE 1000000 /* 10^LW_DECSUM_DIGITS */

typedef struct {
    lw_ksum_t k;    /* non-decimal values (and folded integer parts), compensated */
    int64_t whole;  /* integer parts of the decimal values (an int64 add per event) */
    int64_t micros; /* fractions of the decimal values, in 10^-6 */
} lw_decsum_t;

#define LW_DECSUM_ZERO ((lw_decsum_t){{0, 0}, 0, 0})

/* s += x (x finite). */
void lw_decsum_add(lw_decsum_t *s, double x);

/* s += other. */
void lw_decsum_merge(lw_decsum_t *s, const lw_decsum_t *other);

/*
 * The same sum with `whole` moved into the compensated part (exact below
 * 2^53): the three numbers the store keeps (k.hi, k.lo, micros).
 */
lw_decsum_t lw_decsum_fold(const lw_decsum_t *s);

/* The sum as one double: the exact decimal total correctly rounded when it is one. */
double lw_decsum_value(const lw_decsum_t *s);

#endif
