/*
 * hcform.c - W = -Q B for the break test's direct W~ (see hcform.h; issue 17).
 *
 * How it works: one body (form_q) always inlined with q a constant, so each
 * of the nine copies keeps its q four-row sums in vector registers where the
 * loop with a run-time q kept them in memory (a load and a store per term).
 * Up to HCFORM_PAIR_MAX_Q columns two groups of four rows are summed in
 * one pass (one broadcast of B[j][c] for both).
 * Every sum is acc += splat(B[j][c]) * Q[j][t..t+3], j ascending from +0.0,
 * stored negated: the plain loop's operations (form_any, used above
 * LW_HCFORM_MAX_Q), so the same bits whatever the copy.
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
