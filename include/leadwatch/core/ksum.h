/*
 * ksum.h - compensated (Neumaier) summation of doubles: a running sum plus
 * the rounding error each addition lost, so a sum of many values is as
 * accurate as if it were computed in much wider precision and rounded once
 * at the end: for n values the error is about 2 eps |sum| + n eps^2
 * sum|x|, against n eps sum|x| for a naive loop.  Integers add exactly
 * while the total stays below 2^53.
 *
 * It is exact for the doubles, not for the decimals they stand for (12.34
 * is 12.339999999999999857891...): core/decsum.h builds exact decimal sums
 * on it.  lw_twosum_err is also the SQL function the store's cell upsert
 * uses (store_sqlite.c).
 *
 * Representation: value = hi + lo (both doubles; lo is the accumulated
 * compensation).  lw_ksum_norm folds lo into hi and leaves the residue, so
 * hi alone is the correctly rounded value for readers that take one double.
 */
#ifndef LEADWATCH_KSUM_H
#define LEADWATCH_KSUM_H

#include <math.h>

typedef struct {
    double hi; /* running sum */
    double lo; /* compensation: the rounding errors of the additions to hi */
} lw_ksum_t;

/* The rounding error of a + b: (a + b) - fl(a + b), exactly (Neumaier's branch of TwoSum). */
static inline double lw_twosum_err(double a, double b)
{
    double t = a + b;
    return fabs(a) >= fabs(b) ? (a - t) + b : (b - t) + a;
}

/* k += x */
static inline void lw_ksum_add(lw_ksum_t *k, double x)
{
    k->lo += lw_twosum_err(k->hi, x);
    k->hi += x;
}

/* k += other (another compensated sum, e.g. a flush of deltas) */
static inline void lw_ksum_merge(lw_ksum_t *k, lw_ksum_t other)
{
    lw_ksum_add(k, other.hi);
    k->lo += other.lo;
}

/* The sum rounded to one double. */
static inline double lw_ksum_value(lw_ksum_t k)
{
    return k.hi + k.lo;
}

/* Same value, with hi = the rounded sum and lo = what rounding left out. */
static inline lw_ksum_t lw_ksum_norm(lw_ksum_t k)
{
    double v = k.hi + k.lo;
    return (lw_ksum_t){.hi = v, .lo = lw_twosum_err(k.hi, k.lo)};
}

#endif
