/*
 * hcform.c - W = -Q B for the break test's direct W~ (see hcform.h; issue 17).
 *
 * How it works: one body (form_q) always inlined with q a constant, so each
 * of the nine copies keeps its q four-row sums in vector registers, the loops
 * over q unrolled whole (the loop with a run-time q spent more instructions
 * on its loop over the columns than on the sums).
 * Up to HCFORM_PAIR_MAX_Q columns two groups of four rows are summed in
 * one pass (one broadcast of B[j][c] for both).
 * Every sum is acc += splat(B[j][c]) * Q[j][t..t+3], j ascending from +0.0,
 * stored negated: the plain loop's operations (form_any, used above
 * LW_HCFORM_MAX_Q), so the same bits whatever the copy.  lw_hcform_hat4
 * (the row-by-row mode's hat columns, four at a time) shares each broadcast
 * of A between two groups of four rows in the same way.
 */
#include "leadwatch/stats/hcform.h"

#include "leadwatch/stats/vec4.h"

/* Up to this q two groups of four rows share a pass (2 q sums in registers). */
#define HCFORM_PAIR_MAX_Q 6
/* The loops over the q columns unrolled whole (-O2 does not unroll them by itself). */
#if defined(__GNUC__) && !defined(__clang__)
#define HCFORM_UNROLL _Pragma("GCC unroll 9")
#else
#define HCFORM_UNROLL
#endif

static inline LW_VEC_INLINE void form_q(const double *restrict Q, const double *restrict B,
                                        size_t mp, size_t k, const size_t q, double *restrict W)
{
    size_t t = 0;
    if (q <= HCFORM_PAIR_MAX_Q) /* eight rows per pass: each broadcast serves two groups */
        for (; t + 8 <= mp; t += 8) {
            lw_v4d acc[HCFORM_PAIR_MAX_Q], acd[HCFORM_PAIR_MAX_Q];
            HCFORM_UNROLL
            for (size_t c = 0; c < q; c++)
                acc[c] = acd[c] = lw_splat4(0.0);
            for (size_t j = 0; j < k; j++) {
                const lw_v4d qv = lw_ld4(Q + j * mp + t), qw = lw_ld4(Q + j * mp + t + 4);
                HCFORM_UNROLL
                for (size_t c = 0; c < q; c++) {
                    const lw_v4d b = lw_splat4(B[j * q + c]);
                    acc[c] += b * qv;
                    acd[c] += b * qw;
                }
            }
            HCFORM_UNROLL
            for (size_t c = 0; c < q; c++) {
                lw_st4(W + c * mp + t, -acc[c]);
                lw_st4(W + c * mp + t + 4, -acd[c]);
            }
        }
    for (; t < mp; t += 4) {
        lw_v4d acc[LW_HCFORM_MAX_Q];
        HCFORM_UNROLL
        for (size_t c = 0; c < q; c++)
            acc[c] = lw_splat4(0.0);
        for (size_t j = 0; j < k; j++) {
            const lw_v4d qv = lw_ld4(Q + j * mp + t);
            HCFORM_UNROLL
            for (size_t c = 0; c < q; c++)
                acc[c] += lw_splat4(B[j * q + c]) * qv;
        }
        HCFORM_UNROLL
        for (size_t c = 0; c < q; c++)
            lw_st4(W + c * mp + t, -acc[c]);
    }
}

/* The plain loop for any q (each sum through memory). */
static void form_any(const double *restrict Q, const double *restrict B, size_t mp, size_t k,
                     size_t q, double *restrict W)
{
    for (size_t t = 0; t < mp; t += 4)
        for (size_t c = 0; c < q; c++) {
            lw_v4d acc = lw_splat4(0.0);
            for (size_t j = 0; j < k; j++)
                acc += lw_splat4(B[j * q + c]) * lw_ld4(Q + j * mp + t);
            lw_st4(W + c * mp + t, -acc);
        }
}

LW_VEC_KERNEL
void lw_hcform_neg_qb(const double *Q, const double *B, size_t mp, size_t k, size_t q, double *W)
{
    switch (q) {
    case 1: form_q(Q, B, mp, k, 1, W); break;
    case 2: form_q(Q, B, mp, k, 2, W); break;
    case 3: form_q(Q, B, mp, k, 3, W); break;
    case 4: form_q(Q, B, mp, k, 4, W); break;
    case 5: form_q(Q, B, mp, k, 5, W); break;
    case 6: form_q(Q, B, mp, k, 6, W); break;
    case 7: form_q(Q, B, mp, k, 7, W); break;
    case 8: form_q(Q, B, mp, k, 8, W); break;
    case 9: form_q(Q, B, mp, k, 9, W); break;
    default: form_any(Q, B, mp, k, q, W); break;
    }
}

/* H = Q A for four columns (hcform.h), eight rows of Q per step where the
 * rows allow: each entry is the sum over j in order whatever the step. */
LW_VEC_KERNEL
void lw_hcform_hat4(const double *restrict Q, const double *restrict qs, size_t mp, size_t k,
                    double *restrict H)
{
    size_t t = 0;
    for (; t + 8 <= mp; t += 8) { /* two groups of rows: each broadcast serves both */
        lw_v4d h0 = lw_splat4(0.0), h1 = h0, h2 = h0, h3 = h0, g0 = h0, g1 = h0, g2 = h0, g3 = h0;
        for (size_t j = 0; j < k; j++) {
            const lw_v4d qv = lw_ld4(Q + j * mp + t), qw = lw_ld4(Q + j * mp + t + 4);
            const double *a = qs + j * 4;
            const lw_v4d a0 = lw_splat4(a[0]), a1 = lw_splat4(a[1]), a2 = lw_splat4(a[2]),
                         a3 = lw_splat4(a[3]);
            h0 += a0 * qv;
            h1 += a1 * qv;
            h2 += a2 * qv;
            h3 += a3 * qv;
            g0 += a0 * qw;
            g1 += a1 * qw;
            g2 += a2 * qw;
            g3 += a3 * qw;
        }
        lw_st4(H + t, h0);
        lw_st4(H + mp + t, h1);
        lw_st4(H + 2 * mp + t, h2);
        lw_st4(H + 3 * mp + t, h3);
        lw_st4(H + t + 4, g0);
        lw_st4(H + mp + t + 4, g1);
        lw_st4(H + 2 * mp + t + 4, g2);
        lw_st4(H + 3 * mp + t + 4, g3);
    }
    for (; t < mp; t += 4) {
        lw_v4d h0 = lw_splat4(0.0), h1 = h0, h2 = h0, h3 = h0;
        for (size_t j = 0; j < k; j++) {
            const lw_v4d qv = lw_ld4(Q + j * mp + t);
            const double *a = qs + j * 4;
            h0 += lw_splat4(a[0]) * qv;
            h1 += lw_splat4(a[1]) * qv;
            h2 += lw_splat4(a[2]) * qv;
            h3 += lw_splat4(a[3]) * qv;
        }
        lw_st4(H + t, h0);
        lw_st4(H + mp + t, h1);
        lw_st4(H + 2 * mp + t, h2);
        lw_st4(H + 3 * mp + t, h3);
    }
}
