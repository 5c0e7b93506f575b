/*
 * granger.c - Granger non-causality scan over lags 1..K (definitions and
 * degrees of freedom in granger.h: statsmodels grangercausalitytests,
 * F df = (p, n - 3p - 1), chi2 and LR df = p).
 *
 * Why not one QR per regression: 6 edges x 2 directions x 28 lags on 730
 * points is 672 regressions of up to 702 x 57; Householder QR of each costs
 * ~0.5 GFLOP in total, far over the 50 ms budget.  Instead, per lag p:
 *
 *   1. Both series are centred once by their full-sample means.  Shifting a
 *      regressor or the regressand by a constant only moves the intercept, so
 *      every SSR (all the tests use) is unchanged, and the Gram matrix is far
 *      better conditioned for series with a large level.
 *   2. The Gram matrix [1, y lags, x lags]'[1, y lags, x lags] and X'y for
 *      rows p..n-1 are assembled in O(k^2) from prefix sums: entry
 *      sum_{t=p}^{n-1} u_{t-i} v_{t-j} = P_{uv,j-i}[n-i] - P_{uv,j-i}[p-i], where
 *      P_{uv,d}[a] = sum_{a'<a} u_{a'} v_{a'-d}.  The prefix arrays (4 series
 *      pairs x K+1 shifts x n) are built once per scan with Neumaier
 *      compensated summation, so each entry is accurate to a few ulps of the
 *      sum of its |terms|, like a direct dot product.  A scan of (x, y) right
 *      after one of (y, x) (analyze's two directions) finds both centred
 *      series in the workspace and reads the same prefixes with the roles of
 *      the two slots swapped (lw_granger_scan).
 *   3. Jacobi-scaled Cholesky of the Gram (cholrec.c: gsl_linalg_cholesky_decomp1's
 *      operations, side by side).  The
 *      restricted model's columns are a leading block, and the Cholesky factor
 *      of a leading block is the leading block of the factor, so one
 *      factorisation serves both models.
 *   4. SSRs are computed from explicit residuals y - X b, not y'y - b'X'y: at
 *      the least-squares optimum SSR(b + e) = SSR(b) + |X e|^2, so the error of
 *      a normal-equations b enters the SSR only to second order.
 *   5. Guard: when the scaled Gram's reciprocal condition number
 *      (gsl_linalg_cholesky_rcond's estimate, ||A||_1 from the Gram) is below
 *      GRANGER_RCOND_MIN (cond(X) above
 *      ~1e4), or Cholesky fails, that lag is recomputed with pivoted QR on the
 *      explicit design (ols.c), which also detects rank deficiency.
 * Cost per scan: O(K n) prefixes + sum_p O(p^3 + n p); measured in
 * bench/bench_granger.c.
 *
 * lw_granger_select_common (lag choice on the common rows K..n-1) and
 * lw_granger_ty (Toda-Yamamoto Wald test) are separate, workspace-free entry
 * points for the issue-11 redesign: the first uses one QR of the widest
 * nested design (see the comment above it), the second two explicit ols.c
 * fits; neither touches the scan's fast path.
 */
#include "leadwatch/stats/granger.h"

#include "leadwatch/stats/cholrec.h"
#include "leadwatch/stats/lagsum.h"
#include "leadwatch/stats/nprefix.h"
#include "leadwatch/stats/ols.h"
#include "leadwatch/stats/vec4.h"

#include <float.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Below this reciprocal condition number of the scaled Gram matrix the
 * normal equations are abandoned for QR (see step 5 above). */
#define GRANGER_RCOND_MIN 1e-8
/* A lag column whose centred sum of squares is below this fraction of its
 * raw sum of squares is constant over the rows used. */
#define GRANGER_CONST_TOL 1e-12

struct lw_granger {
    size_t max_nobs, max_lag, kmax;
    double *z;  /* 2 x max_nobs: centred y, x (slots swapped when sw = 1) */
    double *S;  /* 2 x (max_nobs + 1): prefix sums of z */
    double *PP; /* 4 x (max_lag + 1) x (max_nobs + 1): lagged cross-product prefixes */
    /* The series in slot s ^ sw is the scan's y (s = 0) or x (s = 1); z, S and PP were
     * built for built_n points and lags 0..built_lag (built_n = 0: nothing built). */
    size_t built_n, built_lag;
    int sw;
    double *gram; /* kmax x kmax raw Gram */
    double *xty;  /* kmax */
    double *dsc;  /* kmax: 1 / sqrt(diag) */
    double anorm; /* 1-norm of the scaled Gram (build_gram), for the rcond guard */
    double *bu, *br;
    double *L;                 /* kmax x kmax, the scaled Gram then its Cholesky factor */
    double *rhs, *sol, *work3; /* kmax, kmax, 3 kmax */
    lw_ols_t *ols;             /* fallback */
    double *Xd, *yd;
    double *fit;  /* max_nobs: fitted values */
    double *chw;  /* lw_cholrec_work_size(kmax): lw_cholrec_decomp's scratch */
    double mem[]; /* the arrays above, carved in this order */
};

size_t lw_granger_min_nobs(size_t max_lag)
{
    return LW_GRANGER_MIN_NOBS(max_lag);
}

void lw_granger_destroy(lw_granger_t *g)
{
    if (g)
        lw_ols_destroy(g->ols);
    free(g); /* one block: the arrays are in g->mem */
}

lw_err_t lw_granger_new(size_t max_nobs, size_t max_lag, lw_granger_t **out, char *errstr,
                        size_t errstr_size)
{
    *out = NULL;
    if (max_lag == 0 || max_nobs < lw_granger_min_nobs(max_lag))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "granger: workspace for max_lag %zu needs max_nobs >= %zu", max_lag,
                         lw_granger_min_nobs(max_lag));
    if (max_lag > LW_GRANGER_MAX_LAG || max_nobs > LW_GRANGER_MAX_NOBS)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                         "granger: workspace (n %zu, lag %zu) exceeds the bound (%u, %u)", max_nobs,
                         max_lag, LW_GRANGER_MAX_NOBS, LW_GRANGER_MAX_LAG);
    const size_t k = 2 * max_lag + 1, N = max_nobs;
    const size_t sizes[] = {2 * N,
                            2 * (N + 1),
                            4 * (max_lag + 1) * (N + 1),
                            k * k,
                            k,
                            k,
                            k,
                            k,
                            k * k,
                            k,
                            k,
                            3 * k,
                            N * k,
                            N,
                            N,
                            lw_cholrec_work_size(k)};
    const size_t nparts = sizeof sizes / sizeof sizes[0];
    lw_granger_t *g = lw_stats_block_new(sizeof(lw_granger_t), sizes, nparts);
    if (!g)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "granger: out of memory");
    *g = (lw_granger_t){.max_nobs = max_nobs, .max_lag = max_lag, .kmax = k};
    double **const parts[] = {&g->z,  &g->S,  &g->PP,  &g->gram, &g->xty, &g->dsc,
                              &g->bu, &g->br, &g->L,   &g->rhs,  &g->sol, &g->work3,
                              &g->Xd, &g->yd, &g->fit, &g->chw};
    lw_stats_carve(g->mem, parts, sizes, nparts);
    lw_err_t err = lw_ols_new(max_nobs, k, &g->ols, errstr, errstr_size);
    if (err != LW_OK) {
        lw_granger_destroy(g);
        return err;
    }
    *out = g;
    return LW_OK;
}

static double *pp_row(const lw_granger_t *g, int s1, int s2, size_t d)
{
    const size_t pair = (size_t)((s1 ^ g->sw) * 2 + (s2 ^ g->sw));
    return g->PP + (pair * (g->max_lag + 1) + d) * (g->max_nobs + 1);
}

/* The centred series s (0 = y, 1 = x) of the current scan. */
static double *z_of(const lw_granger_t *g, int s)
{
    return g->z + (size_t)(s ^ g->sw) * g->max_nobs;
}

/* Neumaier-compensated prefix sums (see header comment, step 2). */
static void build_prefixes(lw_granger_t *g, size_t n, size_t K)
{
    for (int s = 0; s < 2; s++) {
        const double *u = z_of(g, s);
        double *P = g->S + (size_t)(s ^ g->sw) * (g->max_nobs + 1);
        double sum = 0.0, c = 0.0;
        P[0] = 0.0;
        for (size_t a = 0; a < n; a++) {
            sum = lw_nprefix_add(sum, u[a], &c);
            P[a + 1] = sum + c;
        }
    }
    for (int s1 = 0; s1 < 2; s1++)
        for (int s2 = 0; s2 < 2; s2++)
            lw_nprefix_lagged(z_of(g, s1), z_of(g, s2), n, K, pp_row(g, s1, s2, 0),
                              g->max_nobs + 1);
}

/* Column c of the lag-p design: 0 = constant, 1..p = y lag c, p+1..2p = x lag c-p. */
static void col_desc(size_t c, size_t p, int *series, size_t *lag)
{
    if (c <= p) {
        *series = 0;
        *lag = c;
    } else {
        *series = 1;
        *lag = c - p;
    }
}

/* sum_{t=p}^{n-1} z_s1[t-i] z_s2[t-j] */
static double cross(const lw_granger_t *g, size_t n, size_t p, int s1, size_t i, int s2, size_t j)
{
    if (i > j) {
        const int ts = s1;
        const size_t ti = i;
        s1 = s2;
        i = j;
        s2 = ts;
        j = ti;
    }
    const double *P = pp_row(g, s1, s2, j - i);
    return P[n - i] - P[p - i];
}

static double colsum(const lw_granger_t *g, size_t n, size_t p, int s, size_t i)
{
    const double *P = g->S + (size_t)(s ^ g->sw) * (g->max_nobs + 1);
    return P[n - i] - P[p - i];
}

static void lag_fail(lw_granger_lag_t *r, size_t lag, const char *reason)
{
    memset(r, 0, sizeof(*r));
    r->lag = lag;
    r->status = LW_ERR_STATS;
    lw_seterr(r->reason, sizeof(r->reason), LW_ERR_STATS, "lag %zu: %s", lag, reason);
}

/* SSR of y_t on the first kk columns of the lag-p design with coefficients b.
 * The fitted values are accumulated over columns, four at a time (axpy-like
 * passes over t): the inner loop has no serial dependency, so it pipelines
 * and vectorises (four rows per lw_v4d, vec4.h; elementwise, so the same bits
 * as a scalar loop), and f is loaded/stored once per four columns.  A per-row
 * dot product was latency-bound and dominated the scan. */
LW_VEC_KERNEL static double ssr_of(lw_granger_t *g, size_t n, size_t p, size_t kk, const double *b)
{
    const double *zy = z_of(g, 0), *zx = z_of(g, 1);
    const size_t m = n - p, ncols = kk - 1;
    double *restrict f = g->fit;
    double ssr = 0.0;
    const double *cols[4];
    double bs[4];
    /* f = b0 (in the first group's pass), then each group of four lag columns adds its
     * four products; the rows are independent: every row sees the same operations */
    const lw_v4d bc = lw_splat4(b[0]);
    for (size_t c0 = 0; c0 < ncols; c0 += 4) {
        const bool first = c0 == 0;
        size_t nb = 0;
        for (size_t c = c0; c < ncols && nb < 4; c++, nb++) {
            const size_t col = c + 1; /* design column; 1..p y lags, p+1..2p x lags */
            cols[nb] = col <= p ? zy + p - col : zx + p - (col - p);
            bs[nb] = b[col];
        }
        for (; nb < 4; nb++) { /* pad with a zero-weight copy */
            cols[nb] = cols[0];
            bs[nb] = 0.0;
        }
        const double *restrict a0 = cols[0], *restrict a1 = cols[1];
        const double *restrict a2 = cols[2], *restrict a3 = cols[3];
        const lw_v4d b0 = lw_splat4(bs[0]), b1 = lw_splat4(bs[1]), b2 = lw_splat4(bs[2]),
                     b3 = lw_splat4(bs[3]);
        size_t r = 0;
        if (c0 + 8 < ncols) { /* this group and the next one (not the last) in one pass */
            const double *cn[4];
            double bn[4];
            for (size_t c = 0; c < 4; c++) {
                const size_t col = c0 + 4 + c + 1;
                cn[c] = col <= p ? zy + p - col : zx + p - (col - p);
                bn[c] = b[col];
            }
            const double *restrict e0 = cn[0], *restrict e1 = cn[1];
            const double *restrict e2 = cn[2], *restrict e3 = cn[3];
            const lw_v4d d0 = lw_splat4(bn[0]), d1 = lw_splat4(bn[1]), d2 = lw_splat4(bn[2]),
                         d3 = lw_splat4(bn[3]);
            for (; r + 4 <= m; r += 4) { /* f + group, then + the next group: two passes' ops */
                const lw_v4d fg =
                    (first ? bc : lw_ld4(f + r)) + (b0 * lw_ld4(a0 + r) + b1 * lw_ld4(a1 + r) +
                                                    b2 * lw_ld4(a2 + r) + b3 * lw_ld4(a3 + r));
                lw_st4(f + r, fg + (d0 * lw_ld4(e0 + r) + d1 * lw_ld4(e1 + r) +
                                    d2 * lw_ld4(e2 + r) + d3 * lw_ld4(e3 + r)));
            }
            for (; r < m; r++) {
                const double fg = (first ? b[0] : f[r]) +
                                  (bs[0] * a0[r] + bs[1] * a1[r] + bs[2] * a2[r] + bs[3] * a3[r]);
                f[r] = fg + (bn[0] * e0[r] + bn[1] * e1[r] + bn[2] * e2[r] + bn[3] * e3[r]);
            }
            c0 += 4;
            continue;
        }
        if (c0 + 4 < ncols) {
            for (; r + 4 <= m; r += 4) /* elementwise: the same bits as the scalar tail */
                lw_st4(f + r,
                       (first ? bc : lw_ld4(f + r)) + (b0 * lw_ld4(a0 + r) + b1 * lw_ld4(a1 + r) +
                                                       b2 * lw_ld4(a2 + r) + b3 * lw_ld4(a3 + r)));
            for (; r < m; r++)
                f[r] = (first ? b[0] : f[r]) +
                       (bs[0] * a0[r] + bs[1] * a1[r] + bs[2] * a2[r] + bs[3] * a3[r]);
            continue;
        }
        /* the last group: the fitted values are final, the residuals summed in row order
         * in the same pass (the serial sum overlaps the products of the next rows) */
        const double *restrict y = zy + p;
        for (; r + 4 <= m; r += 4) {
            const lw_v4d fv =
                (first ? bc : lw_ld4(f + r)) + (b0 * lw_ld4(a0 + r) + b1 * lw_ld4(a1 + r) +
                                                b2 * lw_ld4(a2 + r) + b3 * lw_ld4(a3 + r));
            const lw_v4d e = lw_ld4(y + r) - fv, e2 = e * e;
            ssr += e2[0];
            ssr += e2[1];
            ssr += e2[2];
            ssr += e2[3];
        }
        for (; r < m; r++) {
            const double e = y[r] - ((first ? b[0] : f[r]) + (bs[0] * a0[r] + bs[1] * a1[r] +
                                                              bs[2] * a2[r] + bs[3] * a3[r]));
            ssr += e * e;
        }
    }
    return ssr;
}

/* Fill the scaled Gram of the first kk columns into L, X'y into rhs; return
 * false when a column is constant over the rows (statsmodels' infeasibility). */
static bool build_gram(lw_granger_t *g, size_t n, size_t p, size_t kk)
{
    const size_t m = n - p;
    for (size_t a = 0; a < kk; a++) {
        int sa;
        size_t la;
        col_desc(a, p, &sa, &la);
        for (size_t b = a; b < kk; b++) {
            int sb;
            size_t lb;
            col_desc(b, p, &sb, &lb);
            double v;
            if (a == 0)
                v = b == 0 ? (double)m : colsum(g, n, p, sb, lb);
            else
                v = cross(g, n, p, sa, la, sb, lb);
            g->gram[a * kk + b] = v;
        }
        g->xty[a] = a == 0 ? colsum(g, n, p, 0, 0) : cross(g, n, p, sa, la, 0, 0);
    }
    for (size_t a = 1; a < kk; a++) {
        const double ss = g->gram[a * kk + a], s = g->gram[a];
        const double css = ss - s * s / (double)m;
        if (!(ss > 0.0) || !(css > GRANGER_CONST_TOL * ss))
            return false;
    }
    for (size_t a = 0; a < kk; a++)
        g->dsc[a] = 1.0 / sqrt(g->gram[a * kk + a]);
    for (size_t a = 0; a < kk; a++) {
        for (size_t b = a; b < kk; b++) {
            const double v = g->gram[a * kk + b] * g->dsc[a] * g->dsc[b];
            g->L[a * g->kmax + b] = v;
            g->L[b * g->kmax + a] = v;
        }
        g->rhs[a] = g->xty[a] * g->dsc[a];
    }
    g->anorm = 0.0;
    for (size_t b = 0; b < kk; b++) {
        double col = 0.0;
        for (size_t a = 0; a < kk; a++)
            col += fabs(g->L[a * g->kmax + b]);
        if (col > g->anorm)
            g->anorm = col;
    }
    return true;
}

/* x <- A^-1 x = L^-T L^-1 x for gsl_linalg_invnorm1 (A symmetric: TransA does not
 * matter): L y = x by row dot products, L' z = y by column updates, both over
 * L's contiguous rows on four-double vectors.  Only the condition estimate
 * uses it (the fits solve with GSL), so its rounding moves no result; the
 * reference BLAS's scalar dtrsv was a sixth of a scan at K = 48 (issue 17). */
LW_VEC_KERNEL static void chol_ainv_rows(const double *L, size_t k, size_t tda, double *x)
{
    for (size_t i = 0; i < k; i++) {
        const double *Li = L + i * tda;
        lw_v4d acc = lw_splat4(0.0);
        size_t j = 0;
        for (; j + 4 <= i; j += 4)
            acc += lw_ld4(Li + j) * lw_ld4(x + j);
        double s = lw_hsum4(acc);
        for (; j < i; j++)
            s += Li[j] * x[j];
        x[i] = (x[i] - s) / Li[i];
    }
    for (size_t i = k; i-- > 0;) {
        const double *Li = L + i * tda;
        const double zi = x[i] / Li[i];
        x[i] = zi;
        const lw_v4d zv = lw_splat4(zi);
        size_t j = 0;
        for (; j + 4 <= i; j += 4)
            lw_st4(x + j, lw_ld4(x + j) - zv * lw_ld4(Li + j));
        for (; j < i; j++)
            x[j] -= zi * Li[j];
    }
}

static int chol_ainv(CBLAS_TRANSPOSE_t TransA, gsl_vector *x, void *params)
{
    (void)TransA;
    const gsl_matrix *L = params;
    if (x->stride != 1)
        return GSL_EINVAL;
    chol_ainv_rows(L->data, L->size1, L->tda, x->data);
    return GSL_SUCCESS;
}

/* Solve with the leading kk x kk block of the factor in g->L into b. */
static bool chol_solve(lw_granger_t *g, size_t kk, double *b)
{
    gsl_matrix_const_view Lv = gsl_matrix_const_view_array_with_tda(g->L, kk, kk, g->kmax);
    gsl_vector_const_view rv = gsl_vector_const_view_array(g->rhs, kk);
    gsl_vector_view sv = gsl_vector_view_array(g->sol, kk);
    if (gsl_linalg_cholesky_solve(&Lv.matrix, &rv.vector, &sv.vector) != GSL_SUCCESS)
        return false;
    for (size_t a = 0; a < kk; a++) {
        b[a] = gsl_vector_get(&sv.vector, a) * g->dsc[a];
        if (!isfinite(b[a]))
            return false;
    }
    return true;
}

/* Fast path; false means "use the QR fallback". */
static bool ssr_fast(lw_granger_t *g, size_t n, size_t p, double *ssr_r, double *ssr_u)
{
    const size_t k = 2 * p + 1;
    gsl_matrix_view Lv = gsl_matrix_view_array_with_tda(g->L, k, k, g->kmax);
    if (!lw_cholrec_decomp(g->L, k, g->kmax, g->chw)) /* gsl_linalg_cholesky_decomp1's bits */
        return false;
    /* gsl_linalg_cholesky_rcond's estimate, with ||A||_1 taken from the scaled Gram itself
     * (build_gram, O(k^2)) instead of rebuilt from the factor (O(k^3) dot products: a fifth
     * of an hourly scan at K = 48, issue 17); ||A^-1||_1 is the same Hager estimate */
    double ainv = 0.0;
    gsl_vector_view w = gsl_vector_view_array(g->work3, 3 * k);
    if (!(g->anorm > 0.0) ||
        gsl_linalg_invnorm1(k, chol_ainv, &Lv.matrix, &ainv, &w.vector) != GSL_SUCCESS ||
        !(1.0 / g->anorm / ainv >= GRANGER_RCOND_MIN))
        return false;
    if (!chol_solve(g, k, g->bu) || !chol_solve(g, p + 1, g->br))
        return false;
    *ssr_u = ssr_of(g, n, p, k, g->bu);
    *ssr_r = ssr_of(g, n, p, p + 1, g->br);
    return true;
}

/* Explicit design of the first kk columns, then pivoted QR (ols.c). */
static lw_err_t ssr_qr(lw_granger_t *g, size_t n, size_t p, size_t kk, double *ssr)
{
    const double *zy = z_of(g, 0), *zx = z_of(g, 1);
    const size_t m = n - p;
    for (size_t r = 0; r < m; r++) {
        const size_t t = r + p;
        double *row = g->Xd + r * kk;
        row[0] = 1.0;
        for (size_t c = 1; c < kk; c++)
            row[c] = c <= p ? zy[t - c] : zx[t - (c - p)];
        g->yd[r] = zy[t];
    }
    lw_ols_result_t res;
    lw_err_t err = lw_ols_fit(g->ols, g->Xd, g->yd, m, kk, 0, 0, &res, NULL, 0);
    if (err == LW_OK)
        *ssr = res.ssr;
    return err;
}

static void one_lag(lw_granger_t *g, size_t n, size_t p, double tss, lw_granger_lag_t *r)
{
    const size_t k = 2 * p + 1, m = n - p;
    if (!build_gram(g, n, p, k)) {
        lag_fail(r, p, "a lag column is constant over the rows used");
        return;
    }
    double ssr_r = 0.0, ssr_u = 0.0;
    if (!ssr_fast(g, n, p, &ssr_r, &ssr_u)) {
        if (ssr_qr(g, n, p, k, &ssr_u) != LW_OK || ssr_qr(g, n, p, p + 1, &ssr_r) != LW_OK) {
            lag_fail(r, p, "design is singular (x and y lags are collinear)");
            return;
        }
    }
    if (!(tss > 0.0) || !(ssr_u > 0.0) || ssr_u / tss < DBL_EPSILON) {
        lag_fail(r, p, "the unrestricted model fits perfectly");
        return;
    }

    memset(r, 0, sizeof(*r));
    r->lag = p;
    r->status = LW_OK;
    r->nobs = m;
    r->ssr_r = ssr_r;
    r->ssr_u = ssr_u;
    const double dfp = (double)p, df_resid = (double)(m - k);
    /* Same operation order as statsmodels. */
    r->f = (ssr_r - ssr_u) / ssr_u / dfp * df_resid;
    r->df_num = dfp;
    r->df_denom = df_resid;
    r->f_p = r->f > 0.0 ? gsl_cdf_fdist_Q(r->f, dfp, df_resid) : 1.0;
    r->chi2 = (double)m * (ssr_r - ssr_u) / ssr_u;
    r->chi2_df = dfp;
    r->chi2_p = r->chi2 > 0.0 ? gsl_cdf_chisq_Q(r->chi2, dfp) : 1.0;
    r->llf_r = lw_ols_llf(ssr_r, m);
    r->llf_u = lw_ols_llf(ssr_u, m);
    r->lr = -2.0 * (r->llf_r - r->llf_u);
    r->lr_p = r->lr > 0.0 ? gsl_cdf_chisq_Q(r->lr, dfp) : 1.0;
    r->aic = -2.0 * r->llf_u + 2.0 * (double)k;
    r->bic = -2.0 * r->llf_u + (double)k * log((double)m);
    const double all[] = {r->f, r->f_p, r->chi2, r->chi2_p, r->lr, r->lr_p, r->aic, r->bic};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (!isfinite(all[i])) {
            lag_fail(r, p, "non-finite test statistic");
            return;
        }
}

/* z[t] == u[t] - mean for every t < n, bit for bit. */
static bool same_centred(const double *z, const double *u, double mean, size_t n)
{
    for (size_t t = 0; t < n; t++) {
        const double v = u[t] - mean;
        if (memcmp(&v, &z[t], sizeof v) != 0)
            return false;
    }
    return true;
}

lw_err_t lw_granger_scan(lw_granger_t *g, const double *y, const double *x, size_t n,
                         size_t max_lag, lw_granger_lag_t *out, char *errstr, size_t errstr_size)
{
    if (max_lag == 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "granger: max_lag must be >= 1");
    if (max_lag > g->max_lag || n > g->max_nobs)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                         "granger: n %zu / max_lag %zu exceed the workspace (%zu / %zu)", n,
                         max_lag, g->max_nobs, g->max_lag);
    if (n < lw_granger_min_nobs(max_lag))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "granger: %zu points is too few for lag %zu (need >= 3*lag+2 = %zu)", n,
                         max_lag, lw_granger_min_nobs(max_lag));
    const double *src[2] = {y, x};
    const char *name[2] = {"y", "x"};
    double mean[2];
    for (int s = 0; s < 2; s++) {
        double sum = 0.0;
        bool constant = true;
        for (size_t t = 0; t < n; t++) {
            if (!isfinite(src[s][t]))
                return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                 "granger: %s[%zu] is NaN or Inf", name[s], t);
            sum += src[s][t];
            constant = constant && src[s][t] == src[s][0];
        }
        if (constant)
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "granger: %s is constant",
                             name[s]);
        mean[s] = sum / (double)n;
    }
    /* The reverse direction (x, y) of the scan before, or the same pair again: the
     * centred series are already in the two slots (bit for bit), so are their prefix
     * sums, with the roles swapped (PP_{uv,d} is the same sum of the same products
     * u_a v_{a-d} whichever of u, v is called y); only the slot map changes.  The
     * prefixes were a fifth of a scan at hourly K = 48 (issue 17). */
    int reuse = -1;
    if (g->built_n == n && g->built_lag >= max_lag)
        for (int a = 0; a < 2 && reuse < 0; a++)
            if (same_centred(g->z + (size_t)a * g->max_nobs, y, mean[0], n) &&
                same_centred(g->z + (size_t)(1 - a) * g->max_nobs, x, mean[1], n))
                reuse = a;
    if (reuse >= 0) {
        g->sw = reuse;
    } else {
        g->sw = 0;
        for (int s = 0; s < 2; s++) {
            double *z = g->z + (size_t)s * g->max_nobs;
            for (size_t t = 0; t < n; t++)
                z[t] = src[s][t] - mean[s];
        }
        build_prefixes(g, n, max_lag);
        g->built_n = n;
        g->built_lag = max_lag;
    }
    /* Each lag's total sum of squares of y about its mean over rows p..n-1
     * (the perfect-fit check), four lags per call (lagsum.h). */
    for (size_t p0 = 1; p0 <= max_lag; p0 += 4) {
        const size_t cnt = max_lag + 1 - p0 < 4 ? max_lag + 1 - p0 : 4;
        double ymean[4], tss[4];
        for (size_t i = 0; i < cnt; i++)
            ymean[i] = colsum(g, n, p0 + i, 0, 0) / (double)(n - (p0 + i));
        lw_lagsum_tailss(z_of(g, 0), n, p0, cnt, ymean, tss);
        for (size_t i = 0; i < cnt; i++)
            one_lag(g, n, p0 + i, tss[i], &out[p0 + i - 1]);
    }
    return LW_OK;
}

lw_err_t lw_granger_select_lag(const lw_granger_lag_t *recs, size_t count, lw_ic_t ic,
                               size_t *best_index)
{
    bool found = false;
    double best = 0.0;
    for (size_t i = 0; i < count; i++) {
        if (recs[i].status != LW_OK)
            continue;
        const double v = ic == LW_IC_BIC ? recs[i].bic : recs[i].aic;
        if (!found || v < best) {
            found = true;
            best = v;
            *best_index = i;
        }
    }
    return found ? LW_OK : LW_ERR_NOT_FOUND;
}

/* ------------------------------------------------------------ common-sample lag choice */

/* NaN/Inf or a constant series is LW_ERR_INVALID (shared by the functions below). */
static lw_err_t check_pair(const double *y, const double *x, size_t n, const char *who,
                           char *errstr, size_t errstr_size)
{
    bool cy = true, cx = true;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(y[i]) || !isfinite(x[i]))
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "%s: value %zu is NaN or Inf",
                             who, i);
        cy = cy && y[i] == y[0];
        cx = cx && x[i] == x[0];
    }
    if (cy || cx)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "%s: %s is constant", who,
                         cy ? "y" : "x");
    return LW_OK;
}

/*
 * The candidate models on the common rows are nested when the columns are
 * ordered [1, y_{t-1}, x_{t-1}, y_{t-2}, x_{t-2}, ...]: model p is the first
 * 2p + 1 columns.  So, as in adf.c's lag search, one Householder QR of the
 * widest design (centred series, columns scaled to unit norm) gives every
 * SSR at once: with c = Q'y, SSR_p = sum_{i >= 2p+1} c_i^2.  Cost one
 * O(m K^2) factorisation instead of K fits.
 */
lw_err_t lw_granger_select_common(const double *y, const double *x, size_t n, size_t max_lag,
                                  lw_ic_t ic, size_t *best_lag, double *ic_values, char *errstr,
                                  size_t errstr_size)
{
    *best_lag = 0;
    if (max_lag == 0 || n < lw_granger_min_nobs(max_lag))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "granger: %zu points is too few for max_lag %zu (need >= %zu)", n, max_lag,
                         max_lag ? lw_granger_min_nobs(max_lag) : 0);
    if (max_lag > LW_GRANGER_MAX_LAG || n > LW_GRANGER_MAX_NOBS)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                         "granger: n %zu / max_lag %zu exceeds the bound (%u, %u)", n, max_lag,
                         LW_GRANGER_MAX_NOBS, LW_GRANGER_MAX_LAG);
    lw_err_t err = check_pair(y, x, n, "granger", errstr, errstr_size);
    if (err != LW_OK)
        return err;
    double my = 0.0, mx = 0.0;
    for (size_t i = 0; i < n; i++) {
        my += y[i];
        mx += x[i];
    }
    my /= (double)n;
    mx /= (double)n;

    const size_t K = max_lag, m = n - K, k = 2 * K + 1;
    lw_nested_qr_t q;
    if ((err = lw_nested_qr_alloc(&q, m, k, "granger", errstr, errstr_size)) != LW_OK)
        return err;
    gsl_matrix *A = q.A;
    gsl_vector *c = q.c;
    double tss = 0.0;
    for (size_t r = 0; r < m; r++) {
        const size_t t = r + K;
        gsl_matrix_set(A, r, 0, 1.0);
        for (size_t i = 1; i <= K; i++) {
            gsl_matrix_set(A, r, 2 * i - 1, y[t - i] - my);
            gsl_matrix_set(A, r, 2 * i, x[t - i] - mx);
        }
        gsl_vector_set(c, r, y[t] - my);
    }
    {
        double mt = 0.0;
        for (size_t r = 0; r < m; r++)
            mt += gsl_vector_get(c, r);
        mt /= (double)m;
        for (size_t r = 0; r < m; r++)
            tss += (gsl_vector_get(c, r) - mt) * (gsl_vector_get(c, r) - mt);
    }
    err = lw_ols_nested_qr(A, q.tau, c, "granger", "common design", errstr, errstr_size);
    if (err != LW_OK)
        goto free_all;
    /* tail = SSR_p, walking p from K down to 1; ties go to the smaller p. */
    double tail = 0.0, best = 0.0;
    for (size_t i = k; i < m; i++)
        tail += gsl_vector_get(c, i) * gsl_vector_get(c, i);
    for (size_t p = K; p >= 1; p--) {
        if (p < K) {
            const double a = gsl_vector_get(c, 2 * p + 1), b = gsl_vector_get(c, 2 * p + 2);
            tail += a * a + b * b;
        }
        if (!(tail > DBL_EPSILON * tss)) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                            "granger: perfect fit at lag %zu on the common rows", p);
            goto free_all;
        }
        const double v = lw_ols_ic(tail, m, (double)(2 * p + 1), ic == LW_IC_BIC);
        if (!isfinite(v)) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                            "granger: non-finite information criterion at lag %zu", p);
            goto free_all;
        }
        if (ic_values)
            ic_values[p - 1] = v;
        if (*best_lag == 0 || v <= best) {
            best = v;
            *best_lag = p;
        }
    }
free_all:
    lw_nested_qr_free(&q);
    if (err != LW_OK)
        *best_lag = 0;
    return err;
}

/* ------------------------------------------------------------ Toda-Yamamoto */

/* Design [1, y_{t-1..t-q}, x lags j in [xfrom, q]] on rows t = q..n-1. */
static size_t ty_design(const double *y, const double *x, size_t n, size_t q, size_t xfrom,
                        double *X)
{
    const size_t k = 1 + q + (q - xfrom + 1);
    for (size_t t = q; t < n; t++) {
        double *row = X + (t - q) * k;
        size_t j = 0;
        row[j++] = 1.0;
        for (size_t i = 1; i <= q; i++)
            row[j++] = y[t - i];
        for (size_t i = xfrom; i <= q; i++)
            row[j++] = x[t - i];
    }
    return k;
}

lw_err_t lw_granger_ty(const double *y, const double *x, size_t n, size_t p, size_t d,
                       lw_granger_ty_t *res, char *errstr, size_t errstr_size)
{
    memset(res, 0, sizeof(*res));
    const size_t q = p + d;
    if (p == 0 || q > LW_GRANGER_MAX_LAG || n > LW_GRANGER_MAX_NOBS)
        return lw_seterr(errstr, errstr_size, p == 0 ? LW_ERR_INVALID : LW_ERR_TOO_LARGE,
                         "granger-ty: p %zu, d %zu, n %zu outside 1 <= p, p + d <= %u, n <= %u", p,
                         d, n, LW_GRANGER_MAX_LAG, LW_GRANGER_MAX_NOBS);
    if (n < lw_granger_min_nobs(q))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "granger-ty: %zu points is too few for p + d = %zu (need >= %zu)", n, q,
                         lw_granger_min_nobs(q));
    lw_err_t err = check_pair(y, x, n, "granger-ty", errstr, errstr_size);
    if (err != LW_OK)
        return err;
    const size_t m = n - q, ku = 2 * q + 1;
    lw_ols_t *ols = NULL;
    double *X = malloc(m * ku * sizeof(double));
    if (!X)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "granger-ty: out of memory");
    err = lw_ols_new(m, ku, &ols, errstr, errstr_size);
    if (err != LW_OK)
        goto free_x;
    lw_ols_result_t fit;
    (void)ty_design(y, x, n, q, 1, X);
    err = lw_ols_fit(ols, X, y + q, m, ku, 0, 0, &fit, errstr, errstr_size);
    if (err != LW_OK)
        goto free_ols;
    const double ssr_u = fit.ssr, df_u = fit.df_resid;
    const size_t kr = ty_design(y, x, n, q, p + 1, X);
    err = lw_ols_fit(ols, X, y + q, m, kr, 0, 0, &fit, errstr, errstr_size);
    if (err != LW_OK)
        goto free_ols;
    const double ssr_r = fit.ssr;
    const double w = fmax(ssr_r - ssr_u, 0.0) / (ssr_u / df_u);
    if (!isfinite(w)) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STATS, "granger-ty: non-finite statistic");
        goto free_ols;
    }
    /* The result's fields one by one; other results' fills share this shape only. */
    res->p = p;
    res->d = d;
    res->nobs = m;
    res->ssr_u = ssr_u;
    res->ssr_r = ssr_r;
    res->chi2 = w;
    res->chi2_p = gsl_cdf_chisq_Q(w, (double)p);
    res->f = w / (double)p;
    res->df_num = (double)p;
    res->df_denom = df_u;
    res->f_p = gsl_cdf_fdist_Q(res->f, res->df_num, df_u);
free_ols:
    lw_ols_destroy(ols);
free_x:
    free(X);
    if (err != LW_OK)
        memset(res, 0, sizeof(*res));
    return err;
}
