/*
 * hcform.c - the HC break test's dense products: W = -Q B for the direct W~,
 * the hat columns Q A and their updates, the anchor's whitening (see
 * hcform.h; issue 17).
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
 * of A between two groups of four rows in the same way; lw_hcform_whiten (the
 * anchor's forward substitution L^-1 w~_t) is compiled per q the same way
 * and, above LW_HCFORM_MAX_Q, shares each broadcast of L[c][l] between two
 * groups of rows; lw_hcform_update (the row-by-row mode's pending updates)
 * shares each broadcast of z between two groups of rows.  Every entry goes
 * through the plain loop's operations in its order.
 */
#include "leadwatch/stats/hcform.h"

#include "leadwatch/stats/vec4.h"

#include <math.h>

/* Up to this q two groups of four rows share a pass (2 q sums in registers). */
#define HCFORM_PAIR_MAX_Q 6
/* The loops over the q columns unrolled whole (-O2 does not unroll them by itself). */
#if defined(__GNUC__) && !defined(__clang__)
#define HCFORM_UNROLL _Pragma("GCC unroll 9")
#else
#define HCFORM_UNROLL
#endif
/* The copies per q: CALL(Q) with Q the constant 1..LW_HCFORM_MAX_Q equal to q,
 * else OTHER. */
#define HCFORM_BY_Q(q, CALL, OTHER)                                                                \
    switch (q) {                                                                                   \
    case 1: CALL(1); break;                                                                        \
    case 2: CALL(2); break;                                                                        \
    case 3: CALL(3); break;                                                                        \
    case 4: CALL(4); break;                                                                        \
    case 5: CALL(5); break;                                                                        \
    case 6: CALL(6); break;                                                                        \
    case 7: CALL(7); break;                                                                        \
    case 8: CALL(8); break;                                                                        \
    case 9: CALL(9); break;                                                                        \
    default: OTHER; break;                                                                         \
    }

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
void lw_hcform_neg_qb(const double *Q, const double *B, size_t mp, size_t k, size_t q, double *W){
#define FORM(QC) form_q(Q, B, mp, k, QC, W)
    HCFORM_BY_Q(q, FORM, form_any(Q, B, mp, k, q, W))
#undef FORM
}

/* H = Q A for four columns (hcform.h), eight rows of Q per step where the
 * rows allow: each entry is the sum over j in order whatever the step. */
LW_VEC_KERNEL void lw_hcform_hat4(const double *restrict Q, const double *restrict qs, size_t mp,
                                  size_t k, double *restrict H)
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

/* max(mx, l2) lane by lane, mx kept when l2 is not larger (the anchor's order). */
static inline LW_VEC_INLINE lw_v4d lane_max(lw_v4d mx, lw_v4d l2)
{
    return (lw_v4d){mx[0] > l2[0] ? mx[0] : l2[0], mx[1] > l2[1] ? mx[1] : l2[1],
                    mx[2] > l2[2] ? mx[2] : l2[2], mx[3] > l2[3] ? mx[3] : l2[3]};
}

/* lev and V of one group of four rows from its whitened v (q vectors). */
static inline LW_VEC_INLINE void put_group(const lw_v4d *v, lw_v4d l2, size_t mp, size_t q,
                                           size_t t, double *restrict V, double *restrict lev)
{
    lw_st4(lev + t, l2);
    const lw_v4d sl = {sqrt(l2[0]), sqrt(l2[1]), sqrt(l2[2]), sqrt(l2[3])};
    HCFORM_UNROLL
    for (size_t c = 0; c < q; c++)
        lw_st4(V + c * mp + t, v[c] * sl);
}

/* The body of lw_hcform_whiten for q columns (a constant in the copies below:
 * each row group's q vectors stay in registers; above LW_HCFORM_MAX_Q two
 * groups of rows share each broadcast of L[c][l]). */
static inline LW_VEC_INLINE double whiten_q(const double *restrict Wt, const double *restrict L,
                                            size_t mp, const size_t q, double *restrict V,
                                            double *restrict lev)
{
    double inv[LW_HCFORM_ROW_MAX_Q];
    HCFORM_UNROLL
    for (size_t c = 0; c < q; c++)
        inv[c] = 1.0 / L[c * q + c];
    lw_v4d mx = lw_splat4(0.0);
    size_t t = 0;
    if (q > LW_HCFORM_MAX_Q)
        for (; t + 8 <= mp; t += 8) {
            lw_v4d v[LW_HCFORM_ROW_MAX_Q], u[LW_HCFORM_ROW_MAX_Q];
            lw_v4d l2 = lw_splat4(0.0), m2 = l2;
            for (size_t c = 0; c < q; c++) {
                lw_v4d x = lw_ld4(Wt + c * mp + t), y = lw_ld4(Wt + c * mp + t + 4);
                for (size_t l = 0; l < c; l++) {
                    const lw_v4d b = lw_splat4(L[c * q + l]);
                    x -= b * v[l];
                    y -= b * u[l];
                }
                const lw_v4d iv = lw_splat4(inv[c]);
                v[c] = x * iv;
                u[c] = y * iv;
                l2 += v[c] * v[c];
                m2 += u[c] * u[c];
            }
            mx = lane_max(lane_max(mx, l2), m2);
            put_group(v, l2, mp, q, t, V, lev);
            put_group(u, m2, mp, q, t + 4, V, lev);
        }
    for (; t < mp; t += 4) {
        lw_v4d v[LW_HCFORM_ROW_MAX_Q], l2 = lw_splat4(0.0);
        HCFORM_UNROLL
        for (size_t c = 0; c < q; c++) {
            lw_v4d x = lw_ld4(Wt + c * mp + t);
            HCFORM_UNROLL
            for (size_t l = 0; l < c; l++)
                x -= lw_splat4(L[c * q + l]) * v[l];
            v[c] = x * lw_splat4(inv[c]);
            l2 += v[c] * v[c];
        }
        mx = lane_max(mx, l2);
        put_group(v, l2, mp, q, t, V, lev);
    }
    return fmax(fmax(mx[0], mx[1]), fmax(mx[2], mx[3]));
}

LW_VEC_KERNEL
double lw_hcform_whiten(const double *Wt, const double *L, size_t mp, size_t q, double *V,
                        double *lev)
{
    double mx = 0.0;
#define WHITEN(QC) mx = whiten_q(Wt, L, mp, QC, V, lev)
    HCFORM_BY_Q(q, WHITEN, WHITEN(q)) /* default: a run-time q */
#undef WHITEN
    return mx;
}

/* W -= sum_l zp[l] H[l]' (hcform.h): with four terms eight rows per pass, each
 * broadcast of zp serving two groups; every entry x = x - z h, l in order. */
LW_VEC_KERNEL
void lw_hcform_update(double *restrict W, const double *restrict H, const double *restrict zp,
                      size_t mp, size_t q, size_t np)
{
    size_t t = 0;
    if (np == 4)
        for (; t + 8 <= mp; t += 8) {
            const lw_v4d h0 = lw_ld4(H + t), h1 = lw_ld4(H + mp + t), h2 = lw_ld4(H + 2 * mp + t),
                         h3 = lw_ld4(H + 3 * mp + t);
            const lw_v4d g0 = lw_ld4(H + t + 4), g1 = lw_ld4(H + mp + t + 4),
                         g2 = lw_ld4(H + 2 * mp + t + 4), g3 = lw_ld4(H + 3 * mp + t + 4);
            for (size_t c = 0; c < q; c++) {
                const lw_v4d z0 = lw_splat4(zp[c]), z1 = lw_splat4(zp[q + c]),
                             z2 = lw_splat4(zp[2 * q + c]), z3 = lw_splat4(zp[3 * q + c]);
                lw_v4d x = lw_ld4(W + c * mp + t), y = lw_ld4(W + c * mp + t + 4);
                x = x - z0 * h0;
                y = y - z0 * g0;
                x = x - z1 * h1;
                y = y - z1 * g1;
                x = x - z2 * h2;
                y = y - z2 * g2;
                x = x - z3 * h3;
                y = y - z3 * g3;
                lw_st4(W + c * mp + t, x);
                lw_st4(W + c * mp + t + 4, y);
            }
        }
    for (; t < mp; t += 4) { /* absent terms skipped */
        const lw_v4d h0 = lw_ld4(H + t), h1 = np > 1 ? lw_ld4(H + mp + t) : h0,
                     h2 = np > 2 ? lw_ld4(H + 2 * mp + t) : h0,
                     h3 = np > 3 ? lw_ld4(H + 3 * mp + t) : h0;
        if (np == 4) {
            for (size_t c = 0; c < q; c++) {
                lw_v4d x = lw_ld4(W + c * mp + t);
                x = x - lw_splat4(zp[c]) * h0;
                x = x - lw_splat4(zp[q + c]) * h1;
                x = x - lw_splat4(zp[2 * q + c]) * h2;
                x = x - lw_splat4(zp[3 * q + c]) * h3;
                lw_st4(W + c * mp + t, x);
            }
        } else {
            for (size_t c = 0; c < q; c++) {
                lw_v4d x = lw_ld4(W + c * mp + t);
                x = x - lw_splat4(zp[c]) * h0;
                if (np > 1)
                    x = x - lw_splat4(zp[q + c]) * h1;
                if (np > 2)
                    x = x - lw_splat4(zp[2 * q + c]) * h2;
                lw_st4(W + c * mp + t, x);
            }
        }
    }
}

/* The body of lw_hcform_row for q columns (a constant in the copies below: the
 * q sums in registers, B's row j and Q's entry j read once per j). */
static inline LW_VEC_INLINE void row_q(const double *restrict Qt, const double *restrict B,
                                       size_t mp, size_t k, const size_t q, double *restrict v)
{
    double acc[LW_HCFORM_MAX_Q];
    HCFORM_UNROLL
    for (size_t c = 0; c < q; c++)
        acc[c] = 0.0;
    for (size_t j = 0; j < k; j++) {
        const double qj = Qt[j * mp];
        HCFORM_UNROLL
        for (size_t c = 0; c < q; c++)
            acc[c] += B[j * q + c] * qj;
    }
    HCFORM_UNROLL
    for (size_t c = 0; c < q; c++)
        v[c] = acc[c];
}

/* Any q (not used by the break test: direct mode has q <= 9). */
static void row_any(const double *Qt, const double *B, size_t mp, size_t k, size_t q, double *v)
{
    for (size_t c = 0; c < q; c++) {
        double s = 0.0;
        for (size_t j = 0; j < k; j++)
            s += B[j * q + c] * Qt[j * mp];
        v[c] = s;
    }
}

void lw_hcform_row(const double *Qt, const double *B, size_t mp, size_t k, size_t q, double *v)
{
#define ROW(QC) row_q(Qt, B, mp, k, QC, v)
    HCFORM_BY_Q(q, ROW, row_any(Qt, B, mp, k, q, v))
#undef ROW
}
