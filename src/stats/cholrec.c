/*
 * cholrec.c - Cholesky factorisation with GSL's rounding (issue 17; the
 * contract is in cholrec.h).
 *
 * How it works: GSL 2.7's gsl_linalg_cholesky_decomp1 is recursive.  At
 * n <= 24 it factors column by column (gaxpy Cholesky): column j below and on
 * the diagonal loses A(j:n, 0:j) A(j, 0:j)' (reference dgemv: each entry one
 * dot product summed from 0 in column order, then added times -1), then the
 * column is multiplied by 1 / sqrt(its diagonal) (the diagonal included).
 * Above 24 it splits at n1 = ((n + 8) / 16) * 8, factors A11, solves
 * A21 <- A21 L11^-T (reference dtrsm, right / lower / transposed: per row of
 * A21, entry j is divided by L11(j, j) and then every later entry k of the row
 * loses L11(k, j) times it), downdates A22 <- A22 - A21 A21' (reference dsyrk:
 * each entry one dot product from 0 in column order, added times -1) and
 * factors A22.  This file does each of those steps with the same operations
 * per entry in the same order, so the factor is the same bits; it only puts
 * independent entries side by side: the triangular solve runs along a row of
 * A21 over a transposed copy of L11, the rank update computes four entries
 * of a row of A22 per pass over a transposed copy of A21, and the unblocked
 * columns four rows at a time.  tests/test_granger.c compares it with GSL bit
 * for bit on every size 1..121.
 */
#include "leadwatch/stats/cholrec.h"

#include "leadwatch/stats/vec4.h"

#include <math.h>

/* GSL's linalg/recurse.h: the split and the crossover to the unblocked code. */
#define CHOLREC_CROSSOVER 24
#define CHOLREC_SPLIT(n) ((n) >= 16 ? (((n) + 8) / 16) * 8 : (n) / 2)

size_t lw_cholrec_work_size(size_t n)
{
    return lw_pad4(n) * n;
}

/* Unblocked (n <= CHOLREC_CROSSOVER). */
static bool chol_cols(double *A, size_t n, size_t tda)
{
    for (size_t j = 0; j < n; j++) {
        const double *Aj = A + j * tda;
        if (j > 0) {
            size_t i = j;
            for (; i + 4 <= n; i += 4) { /* four rows' dot products in flight */
                const double *A0 = A + i * tda, *A1 = A0 + tda, *A2 = A1 + tda, *A3 = A2 + tda;
                double t0 = 0.0, t1 = 0.0, t2 = 0.0, t3 = 0.0;
                for (size_t l = 0; l < j; l++) {
                    t0 += Aj[l] * A0[l];
                    t1 += Aj[l] * A1[l];
                    t2 += Aj[l] * A2[l];
                    t3 += Aj[l] * A3[l];
                }
                A[i * tda + j] += -1.0 * t0;
                A[(i + 1) * tda + j] += -1.0 * t1;
                A[(i + 2) * tda + j] += -1.0 * t2;
                A[(i + 3) * tda + j] += -1.0 * t3;
            }
            for (; i < n; i++) {
                const double *Ai = A + i * tda;
                double t = 0.0;
                for (size_t l = 0; l < j; l++)
                    t += Aj[l] * Ai[l];
                A[i * tda + j] += -1.0 * t;
            }
        }
        double ajj = A[j * tda + j];
        if (ajj <= 0.0)
            return false;
        ajj = sqrt(ajj);
        const double s = 1.0 / ajj;
        for (size_t i = j; i < n; i++)
            A[i * tda + j] *= s;
    }
    return true;
}

/* T (cols x pad4(rows)) <- M', M rows x cols at stride tda; T's rows zero past
 * `rows`, so the kernels below read whole four-double groups. */
static void transpose_pad4(const double *M, size_t rows, size_t cols, size_t tda, double *T)
{
    const size_t np = lw_pad4(rows);
    for (size_t c = 0; c < cols; c++)
        for (size_t r = 0; r < np; r++)
            T[c * np + r] = r < rows ? M[r * tda + c] : 0.0;
}

/* B (n2 x n1, stride tda) <- B L^-T, L the n1 x n1 lower factor at stride tda;
 * Lt (n1 x pad4(n1)) receives L's transpose (Lt[j][k] = L(k, j), zero past n1). */
LW_VEC_KERNEL static void trsm_rlt(const double *L, size_t n1, double *B, size_t n2, size_t tda,
                                   double *Lt)
{
    const size_t np = lw_pad4(n1);
    transpose_pad4(L, n1, n1, tda, Lt);
    for (size_t i = 0; i < n2; i++) {
        double *Bi = B + i * tda;
        for (size_t j = 0; j < n1; j++) {
            Bi[j] /= Lt[j * np + j];
            const double bij = Bi[j];
            const double *Lj = Lt + j * np;
            size_t k = j + 1;
            const lw_v4d bv = lw_splat4(bij);
            for (; k + 4 <= n1; k += 4)
                lw_st4(Bi + k, lw_ld4(Bi + k) - lw_ld4(Lj + k) * bv);
            for (; k < n1; k++)
                Bi[k] -= Lj[k] * bij;
        }
    }
}

/* C (n2 x n2 lower, stride tda) <- C - B B', B n2 x n1 at stride tda; Bt
 * (n1 x pad4(n2)) receives B's transpose (zero past n2). */
LW_VEC_KERNEL static void syrk_ln(const double *B, size_t n2, size_t n1, double *C, size_t tda,
                                  double *Bt)
{
    const size_t np = lw_pad4(n2);
    transpose_pad4(B, n2, n1, tda, Bt);
    for (size_t i = 0; i < n2; i++) {
        const double *Bi = B + i * tda;
        double *Ci = C + i * tda;
        for (size_t j = 0; j <= i; j += 4) { /* entries j..j+3 of row i, each summed in k order */
            lw_v4d t = lw_splat4(0.0);
            for (size_t k = 0; k < n1; k++)
                t += lw_splat4(Bi[k]) * lw_ld4(Bt + k * np + j);
            for (size_t r = 0; r < 4 && j + r <= i; r++)
                Ci[j + r] += -1.0 * t[r];
        }
    }
}

bool lw_cholrec_decomp(double *A, size_t n, size_t tda, double *work)
{
    if (n <= CHOLREC_CROSSOVER)
        return chol_cols(A, n, tda);
    const size_t n1 = CHOLREC_SPLIT(n), n2 = n - n1;
    double *A21 = A + n1 * tda, *A22 = A21 + n1;
    if (!lw_cholrec_decomp(A, n1, tda, work))
        return false;
    trsm_rlt(A, n1, A21, n2, tda, work);
    syrk_ln(A21, n2, n1, A22, tda, work);
    return lw_cholrec_decomp(A22, n2, tda, work);
}
