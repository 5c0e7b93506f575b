/*
 * qrpt.h - column-pivoted Householder QR with the rounding of GSL's
 * gsl_linalg_QRPT_decomp (issue 17; lw_ols_fit's factorisation).
 *
 * How it works: qrpt.c takes GSL 2.7's steps in GSL's order - the column
 * norms and their downdates, the pivot choice, gsl_linalg_householder_transform
 * (called) - and applies each reflector to the remaining columns four at a
 * time on contiguous row segments (GSL's gsl_linalg_householder_hm walks one
 * column at a time down a row-major matrix), every entry with the same
 * operations in the same order: the same factor, tau, permutation and signum,
 * bit for bit (tests/test_ols.c compares them with GSL).
 */
#ifndef LEADWATCH_STATS_QRPT_H
#define LEADWATCH_STATS_QRPT_H

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_permutation.h>
#include <gsl/gsl_vector.h>

/* gsl_linalg_QRPT_decomp's contract (A M x N with row stride tda, tau
 * min(M, N), p and norm N); returns GSL_SUCCESS or GSL's error code for a
 * size mismatch. */
int lw_qrpt_decomp(gsl_matrix *A, gsl_vector *tau, gsl_permutation *p, int *signum,
                   gsl_vector *norm);

#endif
