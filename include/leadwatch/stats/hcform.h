/*
 * hcform.h - the product -Q B of the HC sup-Wald break test's direct W~
 * formation (breaks_hc.c's hc_form; issue 17).
 *
 * How it works: W[c][t] = -(sum_j B[j][c] Q[j][t]) with the sum over the k
 * basis columns in order j = 0..k-1 (starting from +0.0), four rows t at a
 * time.  hcform.c compiles the loop once per number of columns q (1..9) so
 * that the q running sums stay in registers; the operations and their order
 * are those of the plain loop, hence the same bits (tests/test_breaks.c).
 */
#ifndef LEADWATCH_STATS_HCFORM_H
#define LEADWATCH_STATS_HCFORM_H

#include <stddef.h>

/* Largest q with a specialised loop (larger q: the plain loop). */
#define LW_HCFORM_MAX_Q 9

/* W (q columns of mp rows, stride mp) = -Q B: Q is k columns of mp rows
 * (stride mp, mp a multiple of 4), B is k x q row-major.  q >= 1. */
void lw_hcform_neg_qb(const double *Q, const double *B, size_t mp, size_t k, size_t q, double *W);

#endif
