/*
 * hcform.h - the dense kernels of the HC sup-Wald break test (breaks_hc.c;
 * issue 17): the direct W~'s product -Q B, the hat columns, their updates, the
 * anchor's whitening.
 *
 * How it works: W[c][t] = -(sum_j B[j][c] Q[j][t]) with the sum over the k
 * basis columns in order j = 0..k-1 (starting from +0.0), four rows t at a
 * time.  hcform.c compiles the loop once per number of columns q (1..9) so
 * that the q running sums stay in registers; the operations and their order
 * are those of the plain loop, hence the same bits (tests/test_breaks.c).
 * lw_hcform_hat4 is the same product for four columns (hat columns);
 * lw_hcform_whiten the anchor's forward substitution, compiled per q too;
 * lw_hcform_update the row-by-row mode's W~ updates.
 */
#ifndef LEADWATCH_STATS_HCFORM_H
#define LEADWATCH_STATS_HCFORM_H

#include <stddef.h>

/* Largest q with a specialised loop (larger q: the plain loop). */
#define LW_HCFORM_MAX_Q 9

/* W (q columns of mp rows, stride mp) = -Q B: Q is k columns of mp rows
 * (stride mp, mp a multiple of 4), B is k x q row-major.  q >= 1. */
void lw_hcform_neg_qb(const double *Q, const double *B, size_t mp, size_t k, size_t q, double *W);

/* H (4 columns of mp rows, stride mp) = Q A, A k x 4 row-major (qs[j * 4 + r]):
 * H[r][t] = sum_j qs[j * 4 + r] Q[j][t], j ascending from +0.0 (the break
 * test's hat columns h_s = Q q_s of four joining rows). */
void lw_hcform_hat4(const double *Q, const double *qs, size_t mp, size_t k, double *H);

/* The row-by-row mode's pending updates (breaks_hc.c's hc_flush): for the
 * np (1..4) terms l in order, W[c][t] = W[c][t] - zp[l * q + c] H[l][t]
 * (W: q columns, H: np columns, both of stride mp, a multiple of 4). */
void lw_hcform_update(double *W, const double *H, const double *zp, size_t mp, size_t q, size_t np);

/* One row of Q B (the direct mode's row of W~ in the bound): v[c] = sum_j
 * B[j * q + c] Qt[j * mp], j ascending from +0.0, Qt = Q + t (row t of the k
 * columns of stride mp); compiled per q up to LW_HCFORM_MAX_Q. */
void lw_hcform_row(const double *Qt, const double *B, size_t mp, size_t k, size_t q, double *v);

/* Largest q of lw_hcform_whiten (the break test's LW_BREAKS_MAX_K or more). */
#define LW_HCFORM_ROW_MAX_Q 64

/* The anchor's whitened rows (breaks_hc.c's hc_anchor): for every row t of the
 * q columns Wt (stride mp, mp a multiple of 4) v_t = L^-1 w_t by forward
 * substitution (L q x q lower, row-major; x -= L[c][l] v_l for l < c in order,
 * then x * (1 / L[c][c])), lev[t] = sum_c v_c^2 (c ascending), V[c][t] =
 * v_c sqrt(lev[t]).  Returns max_t lev[t] (0 if none is larger).  q <=
 * LW_HCFORM_ROW_MAX_Q. */
double lw_hcform_whiten(const double *Wt, const double *L, size_t mp, size_t q, double *V,
                        double *lev);

#endif
