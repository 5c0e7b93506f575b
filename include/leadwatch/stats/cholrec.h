/*
 * cholrec.h - Cholesky factorisation with the rounding of GSL's
 * gsl_linalg_cholesky_decomp1 (issue 17).
 *
 * How it works: cholrec.c follows GSL's recursive algorithm (split at
 * GSL_LINALG_SPLIT, unblocked gaxpy columns at 24 and below, the off-diagonal
 * block solved by a right triangular solve and the trailing block downdated
 * by a rank update) and the reference CBLAS loop order inside each step, so
 * every entry of the factor goes through the same floating-point operations
 * in the same order: the same bits.  What differs is only which independent
 * entries are computed side by side (four rows or columns per pass instead of
 * one), which the reference CBLAS's strided scalar loops left serial.
 */
#ifndef LEADWATCH_STATS_CHOLREC_H
#define LEADWATCH_STATS_CHOLREC_H

#include <stdbool.h>
#include <stddef.h>

/* Lower Cholesky factor of the n x n symmetric matrix A (row-major, row
 * stride tda; lower triangle read, factor written over it; the strict upper
 * triangle is neither read nor written, where GSL copies the lower triangle
 * into it).  work: lw_cholrec_work_size(n) doubles of scratch.  False when a
 * pivot is not positive (GSL: GSL_EDOM), A then being partly overwritten. */
bool lw_cholrec_decomp(double *A, size_t n, size_t tda, double *work);

/* Doubles of scratch lw_cholrec_decomp needs for an n x n matrix. */
size_t lw_cholrec_work_size(size_t n);

#endif
