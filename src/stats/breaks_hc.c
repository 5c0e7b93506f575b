/*
 * breaks_hc.c - the HC sup-Wald test of a partial structural change
 * (lw_breaks_supwald_hc, lw_breaks_supwald_hc_lags; definitions in breaks.h),
 * split out of breaks.c (issue 17).
 *
 * How it works: the path is computed without a regression per candidate
 * (Frisch-Waugh-Lovell on an orthonormal basis of the fixed columns, the
 * changing columns' residualised copy W~ updated one row at a time, or, for
 * up to HC_DIRECT_MAX_Q changing columns, formed at each evaluated candidate
 * from Q and B = Q'D_i Z_c), and when
 * only the sup and its argmax are asked for, most candidates are not
 * evaluated at all: a bound from the last evaluated one proves them below the
 * sup so far.  The derivations are in the comments above the helpers and
 * above hc_bound.
 */
#include "leadwatch/stats/breaks.h"
#include "leadwatch/stats/hcform.h"

#include "leadwatch/stats/ols.h"
#include "leadwatch/stats/vec4.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ HC sup-Wald, partial change */

static lw_err_t hc_fail(lw_breaks_supwald_hc_t *res, lw_err_t err, const char *errstr)
{
    return lw_stats_record(res, sizeof *res, &res->status, res->reason, sizeof res->reason, err,
                           errstr);
}

/*
 * The HC sup-Wald path without a regression per candidate (Frisch-Waugh-
 * Lovell).  With e0 = M y the residual of y on Z (M = I - Q Q', Q an
 * orthonormal basis of Z's columns) and W_i = D_i Z_c, the change estimate is
 * d = (W~'W~)^-1 W~'e0 with W~ = M W_i, the full-model residual is
 * u = e0 - W~ d, and the d-block of the HC0 sandwich of the regression on
 * A = [Z, W_i] is (W~'W~)^-1 (sum_t u_t^2 w~_t w~_t') (W~'W~)^-1 (the d rows
 * of (A'A)^-1 A' are (W~'W~)^-1 W~').  Since W~'e0 = W_i'e0 = c_i and
 * (W~'W~) d = c_i,
 *     W(i) = d' V_dd^-1 d = c_i' S_i^-1 c_i,   S_i = sum_t u_t^2 w~_t w~_t'.
 * Walking i downwards adds one row s = i - 1 to the new regime (issue 17:
 * every update below is O(m (k + q)) or smaller, only S_i is O(m q^2)):
 *   - W~ itself is kept (q columns of m): it gains (e_s - h_s) z_{c,s}', with
 *     h_s = Q q_s column s of the hat matrix (O(m (k + q)));
 *   - c gains z_{c,s} e0_s; B = Q' W_i (k x q) gains q_s z_{c,s}' and
 *     P = W_i'W_i gains z_{c,s} z_{c,s}', so that
 *         W~'W~ = W_i' M W_i = P - B'B      (O(k q^2), no pass over the rows);
 *   - u = e0 - W~ d and S_i = W~' diag(u^2) W~, one O(m q^2) product.
 * The meat cannot be carried by running sums: u depends on d, which changes
 * with i, so S_i would need the third and fourth moment tensors of the rows
 * (k^3, k^4 per row).  Total O(m k^2 + m^2 (k + q^2)) instead of a QR of
 * m x (k + q) per candidate.  Without a W path the O(m q^2) meat is only
 * formed at the candidates hc_bound cannot rule out (issue 17: about one in
 * ten on hourly data), which leaves O(m^2 (k + q)) for the row updates.  The row loops work on
 * groups of four rows (vec4.h: columns padded with zeros, one partial sum per lane, the same bits
 * with or without AVX2); tests/test_breaks.c checks the path against a refit
 * per candidate to 1e-9.
 */
/* The closed form P - B'B of W~'W~ cancels when a change column is nearly
 * in the span of the fixed ones (relative error ~ eps ||W_i||^2 / pivot^2):
 * when a pivot of its Cholesky factor is not above this fraction of the
 * column's norm, W~'W~ is recomputed from W~ and the rank test
 * (LW_BREAKS_RANK_TOL) is made on that. */
#define HC_GRAM_GUARD 1e-3
/* Hat columns computed per pass over Q (hc_hat_batch; four accumulators). */
#define HC_BATCH 4
/* hc_bound: joined rows whose a_s enter the norm of term (A) through their
 * Gram matrix (at most 2 q of them); later ones by the triangle inequality. */
#define HC_GRAM_CAP 16
/* hc_bound: the bound is inflated by this relative amount (and eta by it and
 * HC_ETA_SLACK) before it is compared, for the rounding of both sides. */
#define HC_PRUNE_MARGIN 1e-6
#define HC_ETA_SLACK 1e-9
/* A candidate this many rows after the anchor is evaluated whatever its bound
 * (hc_bound's loop over the joined rows is O(rows q^2)). */
#define HC_MAX_JOINED 48
/* An evaluated candidate becomes the anchor (hc_anchor: two more O(m q^2)
 * products) unless its W is at least this fraction of the sup so far and
 * fewer than HC_KEEP_JOINED rows joined since the anchor: near the top of the
 * path the next bounds fail whatever the anchor. */
#define HC_KEEP_NEAR 0.9
#define HC_KEEP_JOINED 8
/* Up to this many changing columns W~ is not carried row by row: it is formed
 * at each evaluated candidate as D_i Z_c - Q B (O(m k q), hc_form), and the
 * joined rows' a_s products of hc_bound come from the anchor's k x k
 * Q' diag(u^2) Q (hc_join), so a row that joins costs O(k q + k^2) instead of
 * the O(m (k + q)) of its hat column and W~ update.  Above it the evaluated
 * candidates' O(m k q) outweighs the rows' O(m (k + q)). */
#define HC_DIRECT_MAX_Q 9
_Static_assert(HC_DIRECT_MAX_Q <= LW_HCFORM_MAX_Q && LW_BREAKS_MAX_K <= LW_HCFORM_ROW_MAX_Q,
               "hcform.c covers the break test's sizes");

typedef struct {
    size_t m, k, q, mp;   /* mp: m rounded up to a multiple of 4 (column stride) */
    double *Qc;           /* k columns of mp: orthonormal basis of span(Z) (CGS2) */
    double *e0;           /* mp: residual of y on Z */
    double *W;            /* q columns of mp: W~ = M D_i Z_c of the current candidate */
    double *Y;            /* q columns of mp: u^2 W~ */
    double *H;            /* HC_BATCH columns of mp: hat columns Q q_s of the next rows */
    double *qs;           /* k x HC_BATCH: those rows of Q */
    size_t hrow0, hcount; /* H holds rows hrow0, hrow0 - 1, ... (hcount of them) */
    size_t pr0, pr1;      /* rows hrow0 - r, r in [pr0, pr1), joined but not yet in W~ */
    double *zp;           /* HC_BATCH x q: their z_s */
    double *B;            /* k x q: Q' D_i Z_c */
    double *P;            /* q x q: Z_c' D_i Z_c */
    double *c;            /* q: W_i' e0 */
    double *ww;           /* q: diagonal of W_i' W_i, the rank reference */
    double *G;            /* q x q: W~'W~, then its Cholesky factor */
    double *S;            /* q x q: the meat, then its Cholesky factor */
    double *d;            /* q */
    double *zs;           /* q: the changing columns of the row being added */
    double *sc;           /* q: S^-1 c (hc_wald, hc_bound) */
    /* The bound (hc_bound): the anchor j is the last candidate evaluated exactly;
     * the rows [i, j) joined the new regime since.  With a W path the bound is
     * only checked against W(i) (res->bound_violations). */
    bool prune; /* no W path asked for: candidates may be skipped */
    bool anchored;
    size_t aj;       /* the anchor's break row j */
    double *Sj, *Lj; /* q x q: its meat S_j and S_j's Cholesky factor (lower) */
    double *Kj;      /* q x q: sum_t lev_t v_t v_t', v_t = L_j^-1 w~_t(j) */
    double *dj;      /* q: its change estimate */
    double *Bj;      /* k x q: its B */
    double *uj;      /* mp: its full-model residual (padding 0) */
    double *us, *Ss; /* mp, q x q: u and S of the last hc_wald */
    double *lev;     /* mp: ||v_t||^2 = w~_t(j)' S_j^-1 w~_t(j) */
    double maxlev;
    double *dB;       /* k x q: sum over the joined rows s of q_s z_s' (= B - B_j) */
    double *Xa;       /* k x q: sum of q_s zeta_s', zeta_s = L_j^-1 z_s */
    double *Nj;       /* q x q: sum of r_s r_s', r_s = u_s(j) w~_s(j), the joined rows */
    double *Ga;       /* HC_GRAM_CAP columns of mp: a_s = u(j) * h_s of the joined rows */
    double *zeta;     /* HC_GRAM_CAP x q: their zeta_s */
    double *Mb;       /* q x q: the lower bound of S_i, then its factor */
    size_t njoined;   /* rows joined since the anchor */
    size_t gcap;      /* joined rows in the Gram of term (A) (<= HC_GRAM_CAP) */
    double *Ma;       /* q x q: sum_{s,l} (a_s'a_l) zeta_s zeta_l' over the first gcap of
                         them (|sum_s a_s zeta_s'|_2^2 = lambda_max(Ma) <= |Ma|_F) */
    double fa_rest;   /* sum of ||a_s|| ||zeta_s|| over the others */
    double fa_err;    /* direct mode: rounding allowance of term (A) (hc_join_gram) */
    size_t evaluated; /* candidates whose W was computed */
    /* Direct formation (HC_DIRECT_MAX_Q): W~ is valid only right after hc_form. */
    bool direct;
    const double *Z;   /* m x k design (row-major) */
    const size_t *chg; /* q changing columns */
    size_t lo;         /* rows lo..m-1 have joined the new regime */
    double *Gu;        /* k x k: Q' diag(u(j)^2) Q of the anchor */
    double *Yq;        /* k columns of mp: u(j)^2 Q (scratch of hc_anchor) */
    double *Qj;        /* HC_GRAM_CAP x k: q_s of the joined rows in the Gram of term (A) */
} hc_work_t;

/* Lower Cholesky factor of the q x q symmetric A in place (lower triangle
 * used).  Returns q, or the first column whose pivot is not above
 * tol^2 * ref[j] (ref NULL: not above 0), the matrix then being singular. */
static size_t chol_lower(double *A, size_t q, const double *ref, double tol)
{
    for (size_t j = 0; j < q; j++) {
        double dj = A[j * q + j];
        for (size_t l = 0; l < j; l++)
            dj -= A[j * q + l] * A[j * q + l];
        if (!(dj > (ref ? tol * tol * ref[j] : 0.0)) || !isfinite(dj))
            return j;
        const double ljj = sqrt(dj);
        A[j * q + j] = ljj;
        for (size_t i = j + 1; i < q; i++) {
            double v = A[i * q + j];
            for (size_t l = 0; l < j; l++)
                v -= A[i * q + l] * A[j * q + l];
            A[i * q + j] = v / ljj;
        }
    }
    return q;
}

/* x = (L L')^-1 b for the factor of chol_lower (x may alias b). */
static void chol_solve(const double *L, size_t q, const double *b, double *x)
{
    for (size_t i = 0; i < q; i++) {
        double v = b[i];
        for (size_t l = 0; l < i; l++)
            v -= L[i * q + l] * x[l];
        x[i] = v / L[i * q + i];
    }
    for (size_t i = q; i-- > 0;) {
        double v = x[i];
        for (size_t l = i + 1; l < q; l++)
            v -= L[l * q + i] * x[l];
        x[i] = v / L[i * q + i];
    }
}

/* Q (classical Gram-Schmidt, twice: orthogonal to working precision) and
 * e0 = y - Q Q'y.  Returns k, or the first column of Z that is constant or
 * collinear (|R_jj| not above LW_BREAKS_RANK_TOL * its norm).  The padding
 * rows m..mp-1 stay 0. */
LW_VEC_KERNEL static size_t hc_basis(hc_work_t *w, const double *y, const double *Z)
{
    const size_t m = w->m, k = w->k, mp = w->mp;
    double r[LW_BREAKS_MAX_K + 1];
    for (size_t j = 0; j <= k; j++) {
        double *v = j < k ? w->Qc + j * mp : w->e0;
        double nrm0 = 0.0;
        for (size_t t = 0; t < m; t++) {
            v[t] = j < k ? Z[t * k + j] : y[t];
            nrm0 += v[t] * v[t];
        }
        for (int pass = 0; pass < 2; pass++) {
            for (size_t l = 0; l < j && l < k; l++) {
                const double *ql = w->Qc + l * mp;
                lw_v4d s = lw_splat4(0.0);
                for (size_t t = 0; t < mp; t += 4)
                    s += lw_ld4(ql + t) * lw_ld4(v + t);
                r[l] = lw_hsum4(s);
            }
            for (size_t l = 0; l < j && l < k; l++) {
                const double *ql = w->Qc + l * mp;
                const lw_v4d a = lw_splat4(r[l]);
                for (size_t t = 0; t < mp; t += 4)
                    lw_st4(v + t, lw_ld4(v + t) - a * lw_ld4(ql + t));
            }
        }
        if (j == k)
            break;
        double nrm = 0.0;
        for (size_t t = 0; t < m; t++)
            nrm += v[t] * v[t];
        if (!(nrm > LW_BREAKS_RANK_TOL * LW_BREAKS_RANK_TOL * nrm0))
            return j;
        nrm = sqrt(nrm);
        for (size_t t = 0; t < m; t++)
            v[t] /= nrm;
    }
    return k;
}

/* Columns h_s = Q q_s of the hat matrix for the HC_BATCH rows s0, s0 - 1,
 * ... (not below lo) that join the new regime next, in one pass over Q
 * (each basis column read once for the batch, not once per row:
 * hcform.c's lw_hcform_hat4). */
LW_VEC_KERNEL static void hc_hat_batch(hc_work_t *w, size_t s0, size_t lo)
{
    const size_t mp = w->mp, k = w->k;
    const size_t nb = s0 - lo + 1 < HC_BATCH ? s0 - lo + 1 : HC_BATCH;
    double *restrict qs = w->qs; /* qs[j * HC_BATCH + r] = Q[s0 - r][j], 0 past nb */
    for (size_t j = 0; j < k; j++)
        for (size_t r = 0; r < HC_BATCH; r++)
            qs[j * HC_BATCH + r] = r < nb ? w->Qc[j * mp + s0 - r] : 0.0;
    lw_hcform_hat4(w->Qc, qs, mp, k, w->H);
    w->hrow0 = s0;
    w->hcount = nb;
}

/* Applies the pending updates W~ += (e_s - h_s) z_s' of the joined rows of
 * the hat batch (in join order) in one pass over W~, the hat columns in
 * registers: every entry goes through the operations of the row-by-row
 * update in the same order (the rows s themselves, where e_s enters between
 * two hat terms, are redone from their old values), so the same bits. */
LW_VEC_KERNEL static void hc_flush(hc_work_t *w)
{
    const size_t mp = w->mp, q = w->q, r0 = w->pr0, r1 = w->pr1;
    if (r0 >= r1)
        return;
    double keep[HC_BATCH][LW_BREAKS_MAX_K];
    for (size_t r = r0; r < r1; r++)
        for (size_t c = 0; c < q; c++)
            keep[r][c] = w->W[c * mp + w->hrow0 - r];
    double *restrict W = w->W;
    const double *restrict H = w->H + r0 * mp, *restrict zp = w->zp + r0 * q;
    const size_t np = r1 - r0;
    lw_hcform_update(W, H, zp, mp, q, np); /* np terms in order */
    for (size_t r = r0; r < r1; r++) {
        const size_t t = w->hrow0 - r;
        for (size_t c = 0; c < q; c++) {
            double x = keep[r][c];
            for (size_t l = r0; l < r1; l++) {
                x = x - w->zp[l * q + c] * w->H[l * mp + t];
                if (l == r)
                    x += w->zp[l * q + c];
            }
            w->W[c * mp + t] = x;
        }
    }
    w->pr0 = r1;
}

/* W~ = D_lo Z_c - Q B formed directly (direct mode): four rows at a time,
 * q sums over the k basis columns. */
LW_VEC_KERNEL static void hc_form(hc_work_t *w)
{
    const size_t mp = w->mp, k = w->k, q = w->q, m = w->m, lo = w->lo;
    double *restrict W = w->W;
    lw_hcform_neg_qb(w->Qc, w->B, mp, k, q, W); /* -Q B, q sums in registers */
    for (size_t c = 0; c < q; c++) {
        const size_t col = w->chg[c];
        for (size_t t = lo; t < m; t++)
            W[c * mp + t] += w->Z[t * k + col];
    }
}

/* Brings W~ up to the current candidate (row updates pending, or formed). */
static void hc_sync(hc_work_t *w)
{
    if (w->direct)
        hc_form(w);
    else
        hc_flush(w);
}

/* Row t of W~ with the pending updates (hc_flush) applied, into x. */
static void hc_w_row(const hc_work_t *w, size_t t, double *x)
{
    if (w->direct) { /* z_t (t >= lo) - B' q_t */
        double v[HC_DIRECT_MAX_Q];
        lw_hcform_row(w->Qc + t, w->B, w->mp, w->k, w->q, v);
        for (size_t c = 0; c < w->q; c++)
            x[c] = (t >= w->lo ? w->Z[t * w->k + w->chg[c]] : 0.0) - v[c];
        return;
    }
    for (size_t c = 0; c < w->q; c++) {
        double v = w->W[c * w->mp + t];
        for (size_t l = w->pr0; l < w->pr1; l++) {
            v = v - w->zp[l * w->q + c] * w->H[l * w->mp + t];
            if (w->hrow0 - l == t)
                v += w->zp[l * w->q + c];
        }
        x[c] = v;
    }
}

/* Ma += na2 zeta zeta' + zeta yv' + yv zeta', yv = sum_l (a_s'a_l) zeta_l over
 * the n earlier joined rows of the Gram; zeta joins them. */
static void hc_join_ma(hc_work_t *w, const double *zeta, double na2, const double *dots, size_t n)
{
    const size_t q = w->q;
    double yv[LW_BREAKS_MAX_K] = {0};
    for (size_t l = 0; l < n; l++)
        for (size_t c = 0; c < q; c++)
            yv[c] += dots[l] * w->zeta[l * q + c];
    for (size_t a = 0; a < q; a++)
        for (size_t b = 0; b < q; b++)
            w->Ma[a * q + b] += na2 * zeta[a] * zeta[b] + zeta[a] * yv[b] + yv[a] * zeta[b];
    memcpy(w->zeta + n * q, zeta, q * sizeof(double));
}

/* In direct mode, ||a_s||^2 and a_s'a_l (l: the earlier joined rows in the
 * Gram) as q_s' G_u q_l, G_u = Q' diag(u(j)^2) Q, into *na2 and dots; returns
 * a bound on how far the square roots of those products are off by rounding
 * (added to eta through fa_err). */
static double hc_join_gram(hc_work_t *w, const double *qv, size_t n, bool keep, double *na2,
                           double *dots)
{
    const size_t k = w->k;
    double g[LW_BREAKS_MAX_K], q1 = 0.0, gmax = 0.0;
    for (size_t a = 0; a < k; a++) {
        double v = 0.0;
        for (size_t b = 0; b < k; b++)
            v += w->Gu[a * k + b] * qv[b];
        g[a] = v;
        q1 += fabs(qv[a]);
        gmax = fmax(gmax, w->Gu[a * k + a]); /* |G_u entries| <= its largest diagonal */
    }
    double v = 0.0;
    for (size_t a = 0; a < k; a++)
        v += g[a] * qv[a];
    *na2 = v > 0.0 ? v : 0.0;
    for (size_t l = 0; l < n; l++) {
        double d = 0.0;
        for (size_t a = 0; a < k; a++)
            d += g[a] * w->Qj[l * k + a];
        dots[l] = d;
    }
    if (keep)
        memcpy(w->Qj + n * k, qv, k * sizeof(double));
    return sqrt(4.0 * (double)(w->m + k + 2) * DBL_EPSILON * gmax) * q1;
}

/* What hc_bound needs of row s, joining the new regime after the anchor j
 * (h: its hat column, or NULL in direct mode; qv[j * qstride]: its row of Q). */
LW_VEC_KERNEL static void hc_join(hc_work_t *w, size_t s, const double *h, const double *qv,
                                  size_t qstride, const double *zs)
{
    const size_t mp = w->mp, k = w->k, q = w->q;
    double zeta[LW_BREAKS_MAX_K], rs[LW_BREAKS_MAX_K];
    double nz2 = 0.0;
    for (size_t c = 0; c < q; c++) { /* zeta = L_j^-1 z_s */
        double v = zs[c];
        for (size_t l = 0; l < c; l++)
            v -= w->Lj[c * q + l] * zeta[l];
        zeta[c] = v / w->Lj[c * q + c];
        nz2 += zeta[c] * zeta[c];
    }
    for (size_t c = 0; c < q; c++) { /* r_s(j) = u_s(j) w~_s(j), w~_s(j) = -B_j' q_s */
        double v = 0.0;
        for (size_t j = 0; j < k; j++)
            v -= w->Bj[j * q + c] * qv[j * qstride];
        rs[c] = w->uj[s] * v;
    }
    for (size_t j = 0; j < k; j++) {
        const double qj = qv[j * qstride];
        for (size_t c = 0; c < q; c++) {
            w->dB[j * q + c] += qj * zs[c];
            w->Xa[j * q + c] += qj * zeta[c];
        }
    }
    for (size_t a = 0; a < q; a++)
        for (size_t b = 0; b <= a; b++)
            w->Nj[a * q + b] += rs[a] * rs[b];
    /* a_s = u(j) h_s: its norm, and its products with the earlier joined rows' */
    const size_t cap = w->gcap;
    const size_t n = w->njoined < cap ? w->njoined : cap;
    double dots[HC_GRAM_CAP];
    if (!h) {
        double na2, nz = sqrt(nz2);
        w->fa_err += hc_join_gram(w, qv, n, w->njoined < cap, &na2, dots) * nz;
        if (w->njoined >= cap)
            w->fa_rest += sqrt(na2) * nz;
        else
            hc_join_ma(w, zeta, na2, dots, n);
        w->njoined++;
        return;
    }
    double *as = w->njoined < cap ? w->Ga + w->njoined * mp : NULL;
    const double *restrict uj = w->uj;
    lw_v4d nn0 = lw_splat4(0.0), nn1 = nn0;
    for (size_t t = 0; t < mp; t += 8) { /* mp is a multiple of 4: a tail of 4 */
        const lw_v4d a0 = lw_ld4(uj + t) * lw_ld4(h + t);
        if (as)
            lw_st4(as + t, a0);
        nn0 += a0 * a0;
        if (t + 4 < mp) {
            const lw_v4d a1 = lw_ld4(uj + t + 4) * lw_ld4(h + t + 4);
            if (as)
                lw_st4(as + t + 4, a1);
            nn1 += a1 * a1;
        }
    }
    const double na2 = lw_hsum4(nn0 + nn1);
    if (w->njoined >= cap) {
        w->fa_rest += sqrt(na2 * nz2);
    } else {
        const double *restrict Ga = w->Ga;
        size_t l = 0;
        for (; l + 4 <= n; l += 4) { /* four products per pass over the new a_s */
            lw_v4d s0 = lw_splat4(0.0), s1 = s0, s2 = s0, s3 = s0;
            for (size_t t = 0; t < mp; t += 4) {
                const lw_v4d a = lw_ld4(as + t);
                s0 += a * lw_ld4(Ga + l * mp + t);
                s1 += a * lw_ld4(Ga + (l + 1) * mp + t);
                s2 += a * lw_ld4(Ga + (l + 2) * mp + t);
                s3 += a * lw_ld4(Ga + (l + 3) * mp + t);
            }
            dots[l] = lw_hsum4(s0);
            dots[l + 1] = lw_hsum4(s1);
            dots[l + 2] = lw_hsum4(s2);
            dots[l + 3] = lw_hsum4(s3);
        }
        for (; l < n; l++) {
            lw_v4d s0 = lw_splat4(0.0), s1 = s0;
            size_t t = 0;
            for (; t + 8 <= mp; t += 8) {
                s0 += lw_ld4(as + t) * lw_ld4(Ga + l * mp + t);
                s1 += lw_ld4(as + t + 4) * lw_ld4(Ga + l * mp + t + 4);
            }
            for (; t < mp; t += 4)
                s0 += lw_ld4(as + t) * lw_ld4(Ga + l * mp + t);
            dots[l] = lw_hsum4(s0 + s1);
        }
        hc_join_ma(w, zeta, na2, dots, n);
    }
    w->njoined++;
}

/* Row s's share of c, ww, P and B (qv[j * qstride]: its row of Q), then what
 * the bound needs of it (h: its hat column, NULL in direct mode). */
LW_VEC_KERNEL static void hc_row_sums(hc_work_t *w, size_t s, const double *zs, const double *h,
                                      const double *qv, size_t qstride)
{
    const size_t k = w->k, q = w->q;
    for (size_t c = 0; c < q; c++) {
        w->c[c] += zs[c] * w->e0[s];
        w->ww[c] += zs[c] * zs[c];
        for (size_t b = 0; b <= c; b++)
            w->P[c * q + b] += zs[c] * zs[b];
    }
    for (size_t j = 0; j < k; j++)
        for (size_t c = 0; c < q; c++)
            w->B[j * q + c] += qv[j * qstride] * zs[c];
    if (w->anchored)
        hc_join(w, s, h, qv, qstride, zs);
}

/* Row s joins the new regime (rows join in decreasing order down to lo). */
LW_VEC_KERNEL static void hc_add_row(hc_work_t *w, size_t s, size_t lo, const double *zs)
{
    const size_t mp = w->mp, k = w->k, q = w->q;
    w->lo = s;
    if (w->direct) { /* no hat column, no W~ update (hc_form) */
        double qv[LW_BREAKS_MAX_K];
        for (size_t j = 0; j < k; j++)
            qv[j] = w->Qc[j * mp + s];
        hc_row_sums(w, s, zs, NULL, qv, 1);
        return;
    }
    if (w->hcount == 0 || s + w->hcount <= w->hrow0) {
        hc_flush(w);
        hc_hat_batch(w, s, lo);
        w->pr0 = w->pr1 = 0;
    }
    const size_t r = w->hrow0 - s;
    memcpy(w->zp + r * q, zs, q * sizeof(double)); /* W~ += (e_s - h_s) z_s' pending */
    w->pr1 = r + 1;
    hc_row_sums(w, s, zs, w->H + r * mp, w->qs + r, HC_BATCH);
}

/* S (lower triangle, q x q) = sum_t Y[a][t] X[b][t] (q columns of mp each),
 * two rows and two columns of S per pass. */
LW_VEC_KERNEL static void hc_cross2(const hc_work_t *w, size_t q, const double *Y, const double *X,
                                    double *S)
{
    const size_t mp = w->mp;
    for (size_t a = 0; a < q; a += 2) {
        const size_t a1 = a + 1 < q ? a + 1 : a;
        const double *ya0 = Y + a * mp, *ya1 = Y + a1 * mp;
        for (size_t b = 0; b <= a; b += 2) {
            const size_t b1 = b + 1 < q ? b + 1 : b;
            const double *wb0 = X + b * mp, *wb1 = X + b1 * mp;
            lw_v4d s00 = lw_splat4(0.0), s01 = s00, s10 = s00, s11 = s00;
            for (size_t t = 0; t < mp; t += 4) {
                const lw_v4d y0 = lw_ld4(ya0 + t), y1 = lw_ld4(ya1 + t);
                const lw_v4d w0 = lw_ld4(wb0 + t), w1 = lw_ld4(wb1 + t);
                s00 += y0 * w0;
                s01 += y0 * w1;
                s10 += y1 * w0;
                s11 += y1 * w1;
            }
            S[a * q + b] = lw_hsum4(s00);
            if (b1 <= a)
                S[a * q + b1] = lw_hsum4(s01);
            if (a1 > a) {
                S[a1 * q + b] = lw_hsum4(s10);
                S[a1 * q + b1] = lw_hsum4(s11);
            }
        }
    }
}

/* S = sum_t Y[a][t] W~[b][t] (lower triangle). */
static void hc_cross(const hc_work_t *w, const double *Y, double *S)
{
    hc_cross2(w, w->q, Y, w->W, S);
}

/* d = (W~'W~)^-1 c for the break at row i (rows i..m-1 already added); fails
 * when a change column is collinear with the fixed ones. */
LW_VEC_KERNEL static lw_err_t hc_change(hc_work_t *w, const size_t *chg, char *errstr,
                                        size_t errstr_size)
{
    const size_t k = w->k, q = w->q;
    for (size_t a = 0; a < q; a++) { /* W~'W~ = P - B'B, four entries of a row at a time */
        size_t b = 0;
        for (; b + 4 <= a + 1; b += 4) { /* four sums in flight, each in its own j order */
            double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
            for (size_t j = 0; j < k; j++) {
                const double *Bj = w->B + j * q;
                s0 += Bj[a] * Bj[b];
                s1 += Bj[a] * Bj[b + 1];
                s2 += Bj[a] * Bj[b + 2];
                s3 += Bj[a] * Bj[b + 3];
            }
            w->G[a * q + b] = w->P[a * q + b] - s0;
            w->G[a * q + b + 1] = w->P[a * q + b + 1] - s1;
            w->G[a * q + b + 2] = w->P[a * q + b + 2] - s2;
            w->G[a * q + b + 3] = w->P[a * q + b + 3] - s3;
        }
        for (; b <= a; b++) {
            double s = 0.0;
            for (size_t j = 0; j < k; j++)
                s += w->B[j * q + a] * w->B[j * q + b];
            w->G[a * q + b] = w->P[a * q + b] - s;
        }
    }
    size_t bad = chol_lower(w->G, q, w->ww, HC_GRAM_GUARD);
    if (bad < q) { /* nearly dependent: W~'W~ from W~ itself (see HC_GRAM_GUARD) */
        hc_sync(w);
        hc_cross(w, w->W, w->G);
        bad = chol_lower(w->G, q, w->ww, LW_BREAKS_RANK_TOL);
    }
    if (bad < q)
        return lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                         "HC sup-Wald: the change of column %zu is constant or collinear with "
                         "the fixed columns",
                         chg[bad]);
    chol_solve(w->G, q, w->c, w->d);
    return LW_OK;
}

/* W(i) = c' S^-1 c with the d of hc_change; u is kept in w->us and S in
 * w->Ss (for hc_anchor). */
LW_VEC_KERNEL static lw_err_t hc_wald(hc_work_t *w, double *out, char *errstr, size_t errstr_size)
{
    const size_t mp = w->mp, q = w->q;
    /* u = e0 - W~ d, then Y = u^2 W~, eight rows at a time: two independent four-row
     * chains over c (one alone waits on its own u at every column: most of this
     * function), each row with the operations it had four at a time, so the same bits */
    const double *restrict e0 = w->e0, *restrict Wt = w->W, *restrict dv = w->d;
    double *restrict Yt = w->Y, *restrict ut = w->us;
    size_t t = 0;
    for (; t + 8 <= mp; t += 8) {
        lw_v4d u0 = lw_ld4(e0 + t), u1 = lw_ld4(e0 + t + 4);
        for (size_t c = 0; c < q; c++) {
            const lw_v4d dc = lw_splat4(dv[c]);
            u0 -= dc * lw_ld4(Wt + c * mp + t);
            u1 -= dc * lw_ld4(Wt + c * mp + t + 4);
        }
        lw_st4(ut + t, u0);
        lw_st4(ut + t + 4, u1);
        u0 *= u0;
        u1 *= u1;
        for (size_t c = 0; c < q; c++) {
            lw_st4(Yt + c * mp + t, u0 * lw_ld4(Wt + c * mp + t));
            lw_st4(Yt + c * mp + t + 4, u1 * lw_ld4(Wt + c * mp + t + 4));
        }
    }
    for (; t < mp; t += 4) {
        lw_v4d u = lw_ld4(e0 + t);
        for (size_t c = 0; c < q; c++)
            u -= lw_splat4(dv[c]) * lw_ld4(Wt + c * mp + t);
        lw_st4(ut + t, u);
        u *= u;
        for (size_t c = 0; c < q; c++)
            lw_st4(Yt + c * mp + t, u * lw_ld4(Wt + c * mp + t));
    }
    hc_cross(w, w->Y, w->S);
    memcpy(w->Ss, w->S, q * q * sizeof(double));
    double v = 0.0;
    if (chol_lower(w->S, q, NULL, 0.0) == q) {
        chol_solve(w->S, q, w->c, w->sc);
        for (size_t c = 0; c < q; c++)
            v += w->c[c] * w->sc[c];
    } else {
        v = NAN;
    }
    if (!isfinite(v))
        return lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                         "HC sup-Wald: robust covariance of the change is singular");
    *out = v;
    return LW_OK;
}

/* The candidate i just evaluated by hc_wald becomes the anchor: its factor,
 * d, B, the whitened rows v_t = L_j^-1 w~_t (in Y) and their squared norms,
 * K = sum_t lev_t v_t v_t'; what hc_join accumulates starts again. */
LW_VEC_KERNEL static void hc_anchor(hc_work_t *w, size_t i)
{
    const size_t mp = w->mp, k = w->k, q = w->q;
    memcpy(w->Lj, w->S, q * q * sizeof(double));
    memcpy(w->Sj, w->Ss, q * q * sizeof(double));
    memcpy(w->uj, w->us, mp * sizeof(double));
    memcpy(w->dj, w->d, q * sizeof(double));
    memcpy(w->Bj, w->B, k * q * sizeof(double));
    double *restrict V = w->Y, *restrict lev = w->lev;
    const double *restrict Wt = w->W, *restrict L = w->Lj;
    w->maxlev = lw_hcform_whiten(Wt, L, mp, q, V, lev); /* v_t = L_j^-1 w~_t, four rows */
    hc_cross2(w, q, V, V, w->Kj);                       /* sum_t lev_t v_t v_t' */
    if (w->direct) { /* G_u = Q' diag(u(j)^2) Q for hc_join_gram */
        const double *restrict uj = w->uj, *restrict Q = w->Qc;
        double *restrict Yq = w->Yq;
        for (size_t j = 0; j < k; j++)
            for (size_t t = 0; t < mp; t += 4) {
                const lw_v4d u = lw_ld4(uj + t);
                lw_st4(Yq + j * mp + t, u * u * lw_ld4(Q + j * mp + t));
            }
        hc_cross2(w, k, Yq, Q, w->Gu);
        for (size_t a = 0; a < k; a++)
            for (size_t b = 0; b < a; b++)
                w->Gu[b * k + a] = w->Gu[a * k + b];
    }
    memset(w->dB, 0, k * q * sizeof(double));
    memset(w->Xa, 0, k * q * sizeof(double));
    memset(w->Nj, 0, q * q * sizeof(double));
    memset(w->Ma, 0, q * q * sizeof(double));
    w->njoined = 0;
    w->fa_rest = 0.0;
    w->fa_err = 0.0;
    w->aj = i;
    w->anchored = true;
}

/*
 * An upper bound on W(i) from the anchor j > i (issue 17), O(k q + r q^2 + q^3)
 * for r = j - i joined rows instead of the O(m q^2) meat.  With r_t = u_t w~_t
 * (so S = sum_t r_t r_t') and N the joined rows [i, j):
 *   - rows in N: r_t(i) is computed (u_t(i) = e0_t - w~_t(i)'d_i);
 *   - rows t outside N: w~_t(i) = w~_t(j) - dB' q_t (dB = sum_{s in N} q_s z_s')
 *     and u_t(i) = u_t(j) + a_t, a_t = -w~_t(j)'(d_i - d_j) + q_t' dB d_i, so
 *     their rows differ from the anchor's by
 *         Delta = -diag(u(j)) Q dB + diag(a) W~_j - diag(a) Q dB.
 *     In the anchor's whitened coordinates (y = L_j'v, v'S_j v = |y|^2),
 *     |Delta v| <= eta |y| with eta the sum of
 *       (A) |sum_s a_s zeta_s'|_2 <= |Ma|_F^(1/2), a_s = u(j) h_s, zeta_s =
 *           L_j^-1 z_s, Ma = sum_{s,l} (a_s'a_l) zeta_s zeta_l' (hc_join; rows past
 *           the first gcap add |a_s| |zeta_s| each),
 *       (BC) sqrt(e'K e) + |dB d_i| sqrt(max lev), e = L_j'(d_i - d_j),
 *       (DE) (sqrt(max lev) |e| + |dB d_i|) |sum_s q_s zeta_s'|_F
 *     (Q has orthonormal columns; |diag(a) V|_F^2 = sum_t a_t^2 lev_t).
 *   Then |R_i v|^2 >= (1 - eta)|R_j v|^2 - (1/eta - 1)|Delta v|^2 over the rows
 *   outside N gives
 *         S_i >= (1 - eta)^2 S_j - (1 - eta) N_j + sum_{t in N} r_t(i) r_t(i)'
 *   (N_j: the joined rows' r_t(j) r_t(j)', which S_j counts), so when that
 *   matrix M is positive definite W(i) = c' S_i^-1 c <= c' M^-1 c (and S_i is
 *   not singular).  Returns HUGE_VAL when there is no such bound.
 */
static double hc_bound(hc_work_t *w, size_t i)
{
    const size_t k = w->k, q = w->q;
    const double *d = w->d;
    double dd[LW_BREAKS_MAX_K], e[LW_BREAKS_MAX_K];
    for (size_t c = 0; c < q; c++)
        dd[c] = d[c] - w->dj[c];
    double ne2 = 0.0, eke = 0.0;
    for (size_t c = 0; c < q; c++) { /* e = L_j' dd */
        double v = 0.0;
        for (size_t l = c; l < q; l++)
            v += w->Lj[l * q + c] * dd[l];
        e[c] = v;
        ne2 += v * v;
    }
    for (size_t a = 0; a < q; a++) {
        eke += w->Kj[a * q + a] * e[a] * e[a];
        for (size_t b = 0; b < a; b++)
            eke += 2.0 * w->Kj[a * q + b] * e[a] * e[b];
    }
    double gn2 = 0.0, fro2 = 0.0;
    for (size_t j = 0; j < k; j++) {
        double g = 0.0;
        for (size_t c = 0; c < q; c++) {
            g += w->dB[j * q + c] * d[c];
            fro2 += w->Xa[j * q + c] * w->Xa[j * q + c];
        }
        gn2 += g * g;
    }
    const double ml = sqrt(w->maxlev), gn = sqrt(gn2), fro = sqrt(fro2);
    double ma2 = 0.0;
    for (size_t a = 0; a < q * q; a++)
        ma2 += w->Ma[a] * w->Ma[a];
    double eta = sqrt(sqrt(ma2)) + w->fa_rest + sqrt(eke > 0.0 ? eke : 0.0) + gn * ml +
                 (ml * sqrt(ne2) + gn) * fro;
    eta = eta * (1.0 + HC_PRUNE_MARGIN) + HC_ETA_SLACK;
    if (!(eta < 1.0))
        return HUGE_VAL;
    const double f = 1.0 - eta;
    double *M = w->Mb;
    for (size_t a = 0; a < q; a++)
        for (size_t b = 0; b <= a; b++)
            M[a * q + b] = f * f * w->Sj[a * q + b] - f * w->Nj[a * q + b];
    for (size_t t = i; t < w->aj; t++) {
        double r[LW_BREAKS_MAX_K], u = w->e0[t];
        hc_w_row(w, t, r);
        for (size_t c = 0; c < q; c++)
            u -= r[c] * d[c];
        for (size_t c = 0; c < q; c++)
            r[c] *= u;
        for (size_t a = 0; a < q; a++)
            for (size_t b = 0; b <= a; b++)
                M[a * q + b] += r[a] * r[b];
    }
    if (chol_lower(M, q, NULL, 0.0) < q)
        return HUGE_VAL;
    chol_solve(M, q, w->c, w->sc);
    double ub = 0.0;
    for (size_t c = 0; c < q; c++)
        ub += w->c[c] * w->sc[c];
    return isfinite(ub) && ub >= 0.0 ? ub * (1.0 + HC_PRUNE_MARGIN) : HUGE_VAL;
}

lw_err_t lw_breaks_supwald_hc(const double *y, const double *Z, size_t m, size_t k,
                              const size_t *chg, size_t q, double trim, lw_breaks_supwald_hc_t *res,
                              double *w_path, char *errstr, size_t errstr_size)
{
    char localerr[LW_BREAKS_REASON_SIZE];
    errstr = lw_stats_errbuf(errstr, &errstr_size, localerr, sizeof localerr);
    memset(res, 0, sizeof(*res));
    if (k == 0 || k > LW_BREAKS_MAX_K || q == 0 || q > k || !(trim > 0.0 && trim < 0.5) ||
        m > LW_BREAKS_MAX_NOBS) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                  "HC sup-Wald: need 1 <= q <= k <= %u, trim in (0, 0.5), m <= %u", LW_BREAKS_MAX_K,
                  LW_BREAKS_MAX_NOBS);
        return hc_fail(res, LW_ERR_INVALID, errstr);
    }
    for (size_t j = 0; j < q; j++)
        if (chg[j] >= k || (j > 0 && chg[j] <= chg[j - 1])) {
            lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                      "HC sup-Wald: changing columns must be increasing indices below k");
            return hc_fail(res, LW_ERR_INVALID, errstr);
        }
    if (!lw_stats_all_finite(y, m) || !lw_stats_all_finite(Z, m * k)) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "HC sup-Wald: NaN or Inf in the input");
        return hc_fail(res, LW_ERR_INVALID, errstr);
    }
    /* strucchange::Fstats: from = floor(trim m), to = m - from, then clamped to [k+1, m-k-1] */
    size_t from = (size_t)floor(trim * (double)m + 1e-9), to = m - from;
    if (from < k + 1)
        from = k + 1;
    if (m < k + 1 || to + k + 1 > m)
        to = m >= k + 1 ? m - k - 1 : 0;
    const size_t ka = k + q;
    if (from > to || m <= 2 * ka) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                  "HC sup-Wald: %zu rows is too short for k = %zu, q = %zu at trim %.3g", m, k, q,
                  trim);
        return hc_fail(res, LW_ERR_INVALID, errstr);
    }
    lw_err_t err = LW_OK;
    const size_t mp = lw_pad4(m);
    hc_work_t w = {.m = m,
                   .k = k,
                   .q = q,
                   .mp = mp,
                   .prune = w_path == NULL,
                   .direct = q <= HC_DIRECT_MAX_Q,
                   .Z = Z,
                   .chg = chg,
                   .lo = m};
    w.gcap = 2 * q < HC_GRAM_CAP ? 2 * q : HC_GRAM_CAP;
    double **const parts[] = {&w.Qc, &w.e0, &w.W,  &w.Y,   &w.H,  &w.qs, &w.B,  &w.P,  &w.G,
                              &w.S,  &w.c,  &w.ww, &w.d,   &w.zs, &w.sc, &w.Sj, &w.Lj, &w.Kj,
                              &w.dj, &w.Bj, &w.uj, &w.lev, &w.dB, &w.Xa, &w.Nj, &w.Ga, &w.zeta,
                              &w.Mb, &w.zp, &w.us, &w.Ss,  &w.Ma, &w.Gu, &w.Yq, &w.Qj};
    const size_t sizes[] = {mp * k,
                            mp,
                            mp * q,
                            mp * q,
                            w.direct ? 0 : mp * HC_BATCH,
                            k * HC_BATCH,
                            k * q,
                            q * q,
                            q * q,
                            q * q,
                            q,
                            q,
                            q,
                            q,
                            q,
                            q * q,
                            q * q,
                            q * q,
                            q,
                            k * q,
                            mp,
                            mp,
                            k * q,
                            k * q,
                            q * q,
                            w.direct ? 0 : mp * HC_GRAM_CAP,
                            HC_GRAM_CAP * q,
                            q * q,
                            HC_BATCH * q,
                            mp,
                            q * q,
                            q * q,
                            w.direct ? k * k : 0,
                            w.direct ? mp * k : 0,
                            w.direct ? HC_GRAM_CAP * k : 0};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        total += sizes[i];
    double *mem = calloc(total, sizeof(double)); /* zero: the padding rows stay 0 */
    if (!mem) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "HC sup-Wald: out of memory");
        goto free_mem;
    }
    lw_stats_carve(mem, parts, sizes, sizeof sizes / sizeof sizes[0]);
    const size_t bad = hc_basis(&w, y, Z);
    if (bad < k) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                        "HC sup-Wald: column %zu is constant or collinear with others (break "
                        "after row %zu)",
                        bad, to);
        goto free_mem;
    }
    if (w_path)
        memset(w_path, 0, (m + 1) * sizeof(double));
    for (size_t s = m; s-- > to;) {
        for (size_t c = 0; c < q; c++)
            w.zs[c] = Z[s * k + chg[c]];
        hc_add_row(&w, s, from, w.zs);
    }
    /* walk i downwards so each step switches on one more row's interaction; a
     * candidate whose bound (hc_bound) is below the largest W so far cannot be
     * the sup nor tie it and is not evaluated (only without a W path) */
    for (size_t i = to; i >= from; i--) {
        double wi = 0.0;
        bool skip = false;
        err = hc_change(&w, chg, errstr, errstr_size);
        /* with a W path nothing is skipped, but the bound is checked against W(i) */
        const bool bounded = err == LW_OK && w.anchored && w.njoined < HC_MAX_JOINED;
        const double ub = bounded ? hc_bound(&w, i) : HUGE_VAL;
        if (bounded && w.prune)
            skip = ub < res->sup_wald;
        if (err == LW_OK && !skip) {
            hc_sync(&w);
            err = hc_wald(&w, &wi, errstr, errstr_size);
            w.evaluated++;
            if (err == LW_OK && bounded && !w.prune) {
                res->bounds_checked++;
                res->bound_violations += !(wi <= ub);
            }
            if (err == LW_OK && (!w.anchored || w.njoined >= HC_KEEP_JOINED ||
                                 !(wi >= HC_KEEP_NEAR * res->sup_wald)))
                hc_anchor(&w, i);
        }
        if (err != LW_OK) {
            char why[LW_BREAKS_REASON_SIZE];
            snprintf(why, sizeof(why), "%s", errstr);
            lw_seterr(errstr, errstr_size, err, "%s (break after row %zu)", why, i);
            goto free_mem;
        }
        if (w_path)
            w_path[i] = wi;
        if (!skip && (i == to || wi >= res->sup_wald)) { /* >=: ties go to the earliest i */
            res->sup_wald = wi;
            res->break_row = i;
        }
        if (i == from)
            break;
        for (size_t c = 0; c < q; c++)
            w.zs[c] = Z[(i - 1) * k + chg[c]];
        hc_add_row(&w, i - 1, from, w.zs);
    }
    res->nobs = m;
    res->k = k;
    res->q = q;
    res->evaluated = w.evaluated;
    res->first = from;
    res->last = to;
    res->lambda = ((double)(m - from) * (double)to) / ((double)from * (double)(m - to));
    res->tau0 = res->lambda < 1.0 ? res->lambda : 1.0 / (1.0 + sqrt(res->lambda));
    res->p_defined = lw_breaks_hansen_p40(res->sup_wald, q, res->tau0, &res->p);
    if (!res->p_defined)
        snprintf(res->reason, sizeof(res->reason),
                 "no p-value for %zu restrictions (Hansen's table stops at %u)", q,
                 LW_BREAKS_HANSEN40_MAX_K);
free_mem:
    free(mem);
    if (err != LW_OK)
        return hc_fail(res, err, errstr);
    return LW_OK;
}

lw_err_t lw_breaks_supwald_hc_lags(const double *y, const double *x, size_t n, size_t ylags,
                                   size_t xlags, double trim, lw_breaks_supwald_hc_t *res,
                                   double *w_path, char *errstr, size_t errstr_size)
{
    char localerr[LW_BREAKS_REASON_SIZE];
    errstr = lw_stats_errbuf(errstr, &errstr_size, localerr, sizeof localerr);
    memset(res, 0, sizeof(*res));
    const size_t L = ylags > xlags ? ylags : xlags, k = 1 + ylags + xlags;
    if (xlags == 0 || k > LW_BREAKS_MAX_K || n <= L || n > LW_BREAKS_MAX_NOBS ||
        !lw_stats_all_finite(y, n) || !lw_stats_all_finite(x, n)) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                  "HC sup-Wald: need xlags >= 1, 1 + ylags + xlags <= %u, finite values and more "
                  "than %zu points (got %zu)",
                  LW_BREAKS_MAX_K, L, n);
        return hc_fail(res, LW_ERR_INVALID, errstr);
    }
    const size_t m = n - L;
    size_t chg[LW_BREAKS_MAX_K];
    for (size_t j = 0; j < xlags; j++)
        chg[j] = 1 + ylags + j;
    double *Z = malloc(m * k * sizeof(double));
    double *yy = malloc(m * sizeof(double));
    lw_err_t err;
    if (!Z || !yy) {
        lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "HC sup-Wald: out of memory");
        err = hc_fail(res, LW_ERR_NOMEM, errstr);
        goto free_design;
    }
    lw_breaks_lag_design(y, x, n, ylags, xlags, Z, yy);
    err = lw_breaks_supwald_hc(yy, Z, m, k, chg, xlags, trim, res, w_path ? w_path + L : NULL,
                               errstr, errstr_size);
    if (err == LW_OK) {
        res->break_period = L + res->break_row;
        if (w_path)
            memset(w_path, 0, L * sizeof(double));
    }
free_design:
    free(yy);
    free(Z);
    return err;
}
