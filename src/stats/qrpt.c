/*
 * qrpt.c - gsl_linalg_QRPT_decomp's factorisation with its rounding (the
 * contract is in qrpt.h).
 *
 * How it works: as GSL 2.7 does, the column norms (gsl_blas_dnrm2) are taken
 * first; at each step i the remaining column of largest norm is swapped in
 * (the first of equals), the Householder vector of its part from row i down
 * is made by gsl_linalg_householder_transform, the reflector is applied to
 * the columns right of it, and their norms are downdated (recomputed with
 * dnrm2 when the downdate lost too much).  The reflector step is GSL's
 * householder_hm without BLAS: for each column j, w_j = A_ij summed over the
 * rows from A_0j in row order with the products A_ij v_i, then A_0j - tau w_j
 * and A_ij - (tau v_i) w_j.  Here four columns go side by side on four-double
 * vectors (their sums independent, each in that order), so a row-major matrix
 * is read a row segment at a time instead of a column at a time: the same
 * bits, several times faster on the tall designs of lw_ols_fit.
 */
#include "leadwatch/stats/qrpt.h"

#include "leadwatch/stats/vec4.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <math.h>

/* Columns c0..c0+nc-1 of the (M - i) x ... block at row i get the reflector
 * (tau, v = column i from row i, v_0 = 1). */
LW_VEC_KERNEL static void reflect_cols(double *A, size_t tda, size_t M, size_t i, size_t c0,
                                       size_t nc, double tau)
{
    const double *vcol = A + i; /* v_r = A[(i + r) * tda + i], r >= 1 */
    size_t j = c0;
    for (; j + 4 <= c0 + nc; j += 4) {
        lw_v4d w = lw_ld4(A + i * tda + j);
        for (size_t r = i + 1; r < M; r++)
            w += lw_ld4(A + r * tda + j) * lw_splat4(vcol[r * tda]);
        lw_st4(A + i * tda + j, lw_ld4(A + i * tda + j) - lw_splat4(tau) * w);
        for (size_t r = i + 1; r < M; r++)
            lw_st4(A + r * tda + j, lw_ld4(A + r * tda + j) - lw_splat4(tau * vcol[r * tda]) * w);
    }
    for (; j < c0 + nc; j++) {
        double w = A[i * tda + j];
        for (size_t r = i + 1; r < M; r++)
            w += A[r * tda + j] * vcol[r * tda];
        A[i * tda + j] = A[i * tda + j] - tau * w;
        for (size_t r = i + 1; r < M; r++)
            A[r * tda + j] = A[r * tda + j] - tau * vcol[r * tda] * w;
    }
}

int lw_qrpt_decomp(gsl_matrix *A, gsl_vector *tau, gsl_permutation *p, int *signum,
                   gsl_vector *norm)
{
    const size_t M = A->size1, N = A->size2, tda = A->tda, K = M < N ? M : N;
    if (tau->size != K || p->size != N || norm->size != N)
        return GSL_EBADLEN;
    *signum = 1;
    gsl_permutation_init(p);
    for (size_t i = 0; i < N; i++) {
        gsl_vector_view c = gsl_matrix_column(A, i);
        gsl_vector_set(norm, i, gsl_blas_dnrm2(&c.vector));
    }
    for (size_t i = 0; i < K; i++) {
        double max_norm = gsl_vector_get(norm, i);
        size_t kmax = i;
        for (size_t j = i + 1; j < N; j++) {
            const double x = gsl_vector_get(norm, j);
            if (x > max_norm) {
                max_norm = x;
                kmax = j;
            }
        }
        if (kmax != i) {
            gsl_matrix_swap_columns(A, i, kmax);
            gsl_permutation_swap(p, i, kmax);
            gsl_vector_swap_elements(norm, i, kmax);
            *signum = -*signum;
        }
        gsl_vector_view c_full = gsl_matrix_column(A, i);
        gsl_vector_view c = gsl_vector_subvector(&c_full.vector, i, M - i);
        const double tau_i = gsl_linalg_householder_transform(&c.vector);
        gsl_vector_set(tau, i, tau_i);
        if (i + 1 < N && tau_i != 0.0)
            reflect_cols(A->data, tda, M, i, i + 1, N - (i + 1), tau_i);
        if (i + 1 < M) {
            for (size_t j = i + 1; j < N; j++) {
                const double x = gsl_vector_get(norm, j);
                if (x > 0.0) {
                    double y = 0.0;
                    const double temp = gsl_matrix_get(A, i, j) / x;
                    if (fabs(temp) >= 1)
                        y = 0.0;
                    else
                        y = x * sqrt(1 - temp * temp);
                    if (fabs(y / x) < sqrt(20.0) * GSL_SQRT_DBL_EPSILON) {
                        gsl_vector_view cf = gsl_matrix_column(A, j);
                        gsl_vector_view cs = gsl_vector_subvector(&cf.vector, i + 1, M - (i + 1));
                        y = gsl_blas_dnrm2(&cs.vector);
                    }
                    gsl_vector_set(norm, j, y);
                }
            }
        }
    }
    return GSL_SUCCESS;
}
