/*
 * lagsum.h - serial sums over a series taken for four lags side by side
 * (the Granger scan's per-lag total sums of squares, the CCF's lagged
 * cross sums; issue 17).  Each lag's result has exactly the bits of the
 * plain left-to-right loop given in its comment; see lagsum.c.
 */
#ifndef LEADWATCH_LAGSUM_H
#define LEADWATCH_LAGSUM_H

#include <stddef.h>

/*
 * For i = 0..count-1, p = p0 + i (p <= n):
 *   out[i] = sum over t = p..n-1, in order, of (z[t] - mean[i]) * (z[t] - mean[i]).
 */
void lw_lagsum_tailss(const double *z, size_t n, size_t p0, size_t count, const double *mean,
                      double *out);

/*
 * For i = 0..count-1, k = k0 + i (k <= n):
 *   sp[i] = sum over t = 0..n-k-1, in order, of x[t] * y[t + k],
 *   sn[i] = sum over t = 0..n-k-1, in order, of x[t + k] * y[t].
 */
void lw_lagsum_cross(const double *x, const double *y, size_t n, size_t k0, size_t count,
                     double *sp, double *sn);

#endif
