/*
 * nprefix.h - Neumaier-compensated prefix sums of lagged products, the
 * Granger scan's cross-product prefixes (granger.c step 2; issue 17).
 *
 * How it works: for every shift d the prefix P_d[a + 1] = sum_{d <= a' <= a}
 * u[a'] v[a' - d] is carried with one Neumaier step per term (t = s + x;
 * c += (big - t) + small, big / small the larger / smaller of s and x in
 * magnitude) and stored as s + c.  Each shift is an independent serial chain;
 * nprefix.c runs four shifts side by side, one per vector lane, each lane
 * doing the scalar chain's operations in its order: the same bits as
 * lw_nprefix_add applied term by term (tests/test_granger.c checks it).
 */
#ifndef LEADWATCH_STATS_NPREFIX_H
#define LEADWATCH_STATS_NPREFIX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* One Neumaier step: returns sum + x and adds the lost low part to *c.  The
 * larger and the smaller of the two are selected by a mask, then
 * (big - t) + small: the textbook `|sum| >= |x| ? (sum - t) + x : (x - t) + sum`
 * without its branch (the cross-product prefixes wander around zero and
 * mispredicted it). */
static inline double lw_nprefix_add(double sum, double x, double *c)
{
    const double t = sum + x;
    uint64_t us, ux;
    memcpy(&us, &sum, sizeof us);
    memcpy(&ux, &x, sizeof ux);
    const uint64_t mask = (uint64_t)0 - (uint64_t)(__builtin_fabs(sum) >= __builtin_fabs(x));
    const uint64_t ub = (us & mask) | (ux & ~mask), usm = (ux & mask) | (us & ~mask);
    double big, small;
    memcpy(&big, &ub, sizeof big);
    memcpy(&small, &usm, sizeof small);
    *c += (big - t) + small;
    return t;
}

/* For d = 0..K: row d of P (P + d * ld, ld >= n + 1) gets P_d[a] = 0 for
 * a <= min(d, n) and P_d[a + 1] = the compensated prefix sum of
 * u[a'] v[a' - d], a' = d..a, for a = d..n-1. */
void lw_nprefix_lagged(const double *u, const double *v, size_t n, size_t K, double *P, size_t ld);

#endif
