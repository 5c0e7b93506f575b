/*
 * ols.c - OLS on a reusable workspace (see ols.h for the definitions matched:
 * statsmodels OLS(y, X).fit(), df_resid = nobs - k).
 *
 * How a fit works:
 *   1. Copy X into the workspace matrix A (nobs x k view of a max_nobs x
 *      max_k block) and scale each column to unit Euclidean norm (D = diag of
 *      the reciprocal norms).  Scaling makes the rank test independent of the
 *      units of each column (a constant next to a series in the thousands).
 *   2. Householder QR with column pivoting, A D P = Q R
 *      (gsl_linalg_QRPT_decomp).  Rank = number of |R_ii| > LW_OLS_RANK_TOL *
 *      |R_00|; rank < k is reported as LW_ERR_STATS.  statsmodels uses a
 *      pseudo-inverse and would silently drop the direction; for a test
 *      statistic that is a degenerate input, so we refuse it.
 *   3. Solve for z = (AD)^+ y (gsl_linalg_QRPT_lssolve) and b = D z.  The
 *      residuals are recomputed from the caller's X as y - X b, as statsmodels
 *      does, so ssr is consistent with params.
 *   4. (X'X)^-1 = D P R^-1 R^-T P' D, from R^-1 (gsl_linalg_tri_invert);
 *      classical cov = scale (X'X)^-1, HAC cov in hac.c.
 * The workspace is one allocation: the struct, whose flexible array holds
 * every double array (the GSL views of a fit are made over them), with the
 * permutation's indices bounded by LW_OLS_MAX_K inside it.
 * Rejected: gsl_multifit_linear (SVD) allocates per problem size and gives no
 * rank status; forming X'X and using Cholesky squares the condition number
 * (granger.c does that only behind a conditioning check, for speed).
 */
#include "leadwatch/stats/ols.h"

#include "leadwatch/stats/hac.h"
#include "leadwatch/stats/qrpt.h"
#include "leadwatch/stats/vec4.h"

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_permutation.h>
#include <gsl/gsl_vector.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lw_ols {
    size_t max_nobs, max_k;
    double *A;                       /* max_nobs x max_k, row stride max_k */
    double *Rinv;                    /* max_k x max_k */
    double *tau, *norm;              /* max_k */
    double *yv, *zv;                 /* max_nobs, max_k */
    double *lsres;                   /* max_nobs: QRPT_lssolve's residual (unused by us) */
    size_t perm[LW_OLS_MAX_K];       /* permutation data */
    double *dscale;                  /* max_k */
    double *params, *bse, *bse_hac;  /* max_k each */
    double *resid;                   /* max_nobs */
    double *xtx_inv, *cov, *cov_hac; /* max_k^2 each */
    double *hac_work;                /* lw_hac_work_size(max_k) */
    double mem[];                    /* the arrays above, carved in this order */
};

void lw_stats_init(void)
{
    gsl_set_error_handler_off();
}

bool lw_stats_all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

lw_err_t lw_stats_check_nobs(const char *who, size_t n, size_t min_n, size_t max_n, char *errstr,
                             size_t errstr_size)
{
    if (n < min_n)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "%s: %zu points is too few (need >= %zu)", who, n, min_n);
    if (n > max_n)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                         "%s: %zu points exceeds the bound %zu", who, n, max_n);
    return LW_OK;
}

void *lw_stats_block_new(size_t head, const size_t sizes[], size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (sizes[i] > (SIZE_MAX - head) / sizeof(double) - total)
            return NULL;
        total += sizes[i];
    }
    return malloc(head + total * sizeof(double));
}

void lw_stats_carve(double *mem, double **const parts[], const size_t sizes[], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        *parts[i] = mem;
        mem += sizes[i];
    }
}

char *lw_stats_errbuf(char *errstr, size_t *errstr_size, char *local, size_t size)
{
    if (errstr && *errstr_size > 0)
        return errstr;
    *errstr_size = size;
    return local;
}

lw_err_t lw_stats_record(void *res, size_t size, lw_err_t *status, char *reason, size_t reason_size,
                         lw_err_t err, const char *errstr)
{
    if (err != LW_OK) {
        char msg[LW_STATS_REASON_MAX];
        snprintf(msg, sizeof msg, "%s", errstr ? errstr : "failed"); /* errstr may be in res */
        memset(res, 0, size);
        snprintf(reason, reason_size, "%s", msg);
    }
    *status = err;
    return err;
}

double lw_ols_llf(double ssr, size_t nobs)
{
    /* Same operation order as statsmodels RegressionResults.llf, so the
     * likelihood-ratio statistics built from it round the same way. */
    const double nobs2 = (double)nobs / 2.0;
    double llf = -log(ssr) * nobs2;
    llf -= (1.0 + log(M_PI / nobs2)) * nobs2;
    return llf;
}

double lw_ols_ic(double ssr, size_t nobs, double k, bool bic)
{
    const double llf = lw_ols_llf(ssr, nobs);
    return bic ? -2.0 * llf + k * log((double)nobs) : -2.0 * llf + 2.0 * k;
}

lw_err_t lw_ols_nested_qr(gsl_matrix *A, gsl_vector *tau, gsl_vector *c, const char *who,
                          const char *design, char *errstr, size_t errstr_size)
{
    const size_t k = A->size2;
    for (size_t j = 0; j < k; j++) {
        gsl_vector_view col = gsl_matrix_column(A, j);
        const double nrm = gsl_blas_dnrm2(&col.vector);
        if (!(nrm > 0.0))
            return lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                             "%s: column %zu of the %s is all zero", who, j, design);
        gsl_vector_scale(&col.vector, 1.0 / nrm);
    }
    /* the four-lane QR (lw_ols_qr_qty: the reflectors of gsl_linalg_QR_decomp; issue 17, the
     * ADF lag search was most of the preparation) on A's own rows when they are packed */
    if (A->tda == k && c->stride == 1 && c->size == A->size1) {
        lw_err_t e = lw_ols_qr_qtm_upper(A->data, A->size1, k, c->data, 1, errstr, errstr_size);
        if (e != LW_OK)
            return e;
    } else {
        int st = gsl_linalg_QR_decomp(A, tau);
        if (st == GSL_SUCCESS)
            st = gsl_linalg_QR_QTvec(A, tau, c);
        if (st != GSL_SUCCESS)
            return lw_seterr(errstr, errstr_size, LW_ERR_STATS, "%s: QR failed: %s", who,
                             gsl_strerror(st));
    }
    for (size_t j = 0; j < k; j++)
        if (!(fabs(gsl_matrix_get(A, j, j)) > LW_OLS_RANK_TOL))
            return lw_seterr(errstr, errstr_size, LW_ERR_STATS, "%s: %s is singular at column %zu",
                             who, design, j);
    return LW_OK;
}

/* sum_{t >= from} a_t b_t over columns of padded length mp (t < from
 * scalar up to the first multiple of 4, then four lanes). */
static inline double dot_from(const double *a, const double *b, size_t from, size_t mp)
{
    double head = 0.0;
    size_t t = from;
    for (; t % 4 != 0 && t < mp; t++)
        head += a[t] * b[t];
    lw_v4d s = lw_splat4(0.0);
    for (; t < mp; t += 4)
        s += lw_ld4(a + t) * lw_ld4(b + t);
    return head + lw_hsum4(s);
}

/* b_t -= f a_t for t >= from. */
static inline void axpy_from(double f, const double *a, double *b, size_t from, size_t mp)
{
    size_t t = from;
    for (; t % 4 != 0 && t < mp; t++)
        b[t] -= f * a[t];
    const lw_v4d fv = lw_splat4(f);
    for (; t < mp; t += 4)
        lw_st4(b + t, lw_ld4(b + t) - fv * lw_ld4(a + t));
}

/* dot_from of v with four columns at once: four independent sums in flight (one
 * dot_from waits on its own accumulator every four rows), each with the
 * operations of its own dot_from, so the same bits. */
static inline void dot4_from(const double *v, double *const *a, size_t from, size_t mp, double *out)
{
    double head[4] = {0.0, 0.0, 0.0, 0.0};
    size_t t = from;
    for (; t % 4 != 0 && t < mp; t++)
        for (size_t c = 0; c < 4; c++)
            head[c] += v[t] * a[c][t];
    lw_v4d s0 = lw_splat4(0.0), s1 = s0, s2 = s0, s3 = s0;
    for (; t < mp; t += 4) {
        const lw_v4d vt = lw_ld4(v + t);
        s0 += vt * lw_ld4(a[0] + t);
        s1 += vt * lw_ld4(a[1] + t);
        s2 += vt * lw_ld4(a[2] + t);
        s3 += vt * lw_ld4(a[3] + t);
    }
    out[0] = head[0] + lw_hsum4(s0);
    out[1] = head[1] + lw_hsum4(s1);
    out[2] = head[2] + lw_hsum4(s2);
    out[3] = head[3] + lw_hsum4(s3);
}

/* Reflector j of qr_columns (v = column j of C below the diagonal, v_j = 1) applied to
 * the g <= 4 columns a[c], for each active reflector js[0] < js[1] < .. < js[nj - 1]
 * in turn, every column with the operations of the reflector-by-reflector loop
 * (w = tau (a_j + dot_from(v, a, j + 1)), a_j -= w, axpy_from(w, v, a, j + 1)), so the
 * same bits; but the axpy of reflector j and the dot of the next one, j', share one pass
 * over the rows (the dot's scalar head, rows j' + 1 up to a multiple of 4, after the
 * axpy has passed them; its four lanes from there, as in dot_from).  Half the passes
 * over the columns: the lag search applies the design's reflectors to 49 columns
 * (issue 17). */
LW_VEC_INLINE static inline void apply_chain(const double *C, size_t mp, const size_t *js,
                                             size_t nj, const double *tau, double *const *a,
                                             size_t g)
{
    if (nj == 0)
        return;
    double w[4];
    {
        const size_t j = js[0];
        const double *v = C + j * mp;
        double d[4];
        if (g == 4)
            dot4_from(v, a, j + 1, mp, d);
        else
            for (size_t c = 0; c < g; c++)
                d[c] = dot_from(v, a[c], j + 1, mp);
        for (size_t c = 0; c < g; c++) {
            w[c] = tau[j] * (a[c][j] + d[c]);
            a[c][j] -= w[c];
        }
    }
    for (size_t i = 0; i < nj; i++) {
        const size_t j = js[i];
        const double *v = C + j * mp;
        if (i + 1 == nj) {
            for (size_t c = 0; c < g; c++)
                axpy_from(w[c], v, a[c], j + 1, mp);
            break;
        }
        const size_t jn = js[i + 1];
        const double *vn = C + jn * mp;
        const size_t h0 = lw_pad4(jn + 1); /* <= mp: jn < k < m */
        double head[4] = {0.0, 0.0, 0.0, 0.0};
        for (size_t c = 0; c < g; c++) {
            double *ac = a[c];
            for (size_t t = j + 1; t < h0; t++)
                ac[t] -= w[c] * v[t];
            for (size_t t = jn + 1; t < h0; t++)
                head[c] += vn[t] * ac[t];
        }
        lw_v4d s[4], wv[4];
        for (size_t c = 0; c < 4; c++) {
            s[c] = lw_splat4(0.0);
            wv[c] = lw_splat4(c < g ? w[c] : 0.0);
        }
        if (g == 4) {
            double *restrict a0 = a[0], *restrict a1 = a[1], *restrict a2 = a[2],
                             *restrict a3 = a[3];
            for (size_t t = h0; t < mp; t += 4) {
                const lw_v4d vt = lw_ld4(v + t), vnt = lw_ld4(vn + t);
                const lw_v4d x0 = lw_ld4(a0 + t) - wv[0] * vt, x1 = lw_ld4(a1 + t) - wv[1] * vt,
                             x2 = lw_ld4(a2 + t) - wv[2] * vt, x3 = lw_ld4(a3 + t) - wv[3] * vt;
                lw_st4(a0 + t, x0);
                lw_st4(a1 + t, x1);
                lw_st4(a2 + t, x2);
                lw_st4(a3 + t, x3);
                s[0] += vnt * x0;
                s[1] += vnt * x1;
                s[2] += vnt * x2;
                s[3] += vnt * x3;
            }
        } else {
            for (size_t t = h0; t < mp; t += 4) {
                const lw_v4d vt = lw_ld4(v + t), vnt = lw_ld4(vn + t);
                for (size_t c = 0; c < g; c++) {
                    const lw_v4d x = lw_ld4(a[c] + t) - wv[c] * vt;
                    lw_st4(a[c] + t, x);
                    s[c] += vnt * x;
                }
            }
        }
        for (size_t c = 0; c < g; c++) {
            w[c] = tau[jn] * (a[c][jn] + (head[c] + lw_hsum4(s[c])));
            a[c][jn] -= w[c];
        }
    }
}

/* Householder QR of the first k of the nt columns of C (stride mp, rows 0..m-1,
 * zero padding), the columns after k (y, or several right-hand sides) only
 * transformed: reflector j as gsl_linalg_householder_transform makes it
 * (beta = -sign(alpha) |x|, v_0 = 1, tau = (beta - alpha) / beta).  Left-looking, four
 * columns at a time: the group gets the reflectors of the columns before it
 * (apply_chain), then its own design columns are factored in turn, each reflector
 * applied to the group's later columns.  Every column sees the reflectors in the same
 * order with the same operations as when each reflector was applied to all the
 * columns after it at once, so the same bits.  tau (k) and js (k) are scratch. */
LW_VEC_KERNEL static void qr_columns(double *C, size_t m, size_t k, size_t nt, size_t mp,
                                     double *tau, size_t *js)
{
    size_t nj = 0; /* active reflectors so far (tau = 0, H_j = I, are skipped) */
    for (size_t l0 = 0; l0 < nt; l0 += 4) {
        const size_t g = nt - l0 < 4 ? nt - l0 : 4;
        double *a[4];
        for (size_t c = 0; c < g; c++)
            a[c] = C + (l0 + c) * mp;
        apply_chain(C, mp, js, nj, tau, a, g);
        for (size_t c = 0; c < g && l0 + c < k; c++) {
            const size_t j = l0 + c;
            double *v = a[c];
            const double xn2 = dot_from(v, v, j + 1, mp);
            if (!(xn2 > 0.0) || j + 1 >= m)
                continue; /* tau = 0: H_j = I */
            const double alpha = v[j];
            const double beta = -(alpha >= 0.0 ? 1.0 : -1.0) * hypot(alpha, sqrt(xn2));
            const double tj = (beta - alpha) / beta, sc = alpha - beta;
            if (fabs(sc) > DBL_MIN) {
                for (size_t t = j + 1; t < m; t++)
                    v[t] *= 1.0 / sc;
            } else {
                for (size_t t = j + 1; t < m; t++)
                    v[t] = v[t] * (DBL_EPSILON / sc) * (1.0 / DBL_EPSILON);
            }
            v[j] = beta;
            tau[j] = tj;
            js[nj++] = j;
            for (size_t l = c + 1; l < g; l++) {
                double *b = a[l];
                const double wb = tj * (b[j] + dot_from(v, b, j + 1, mp));
                b[j] -= wb;
                axpy_from(wb, v, b, j + 1, mp);
            }
        }
    }
}

/* zero_below: clear X's rows k..m-1 (lw_ols_qr_qtm's contract) or leave them (_upper). */
static lw_err_t qr_qtm(double *X, size_t m, size_t k, double *Y, size_t nb, bool zero_below,
                       char *errstr, size_t errstr_size)
{
    if (k == 0 || m <= k)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "qr: need m > k >= 1 (m=%zu, k=%zu)",
                         m, k);
    const size_t mp = lw_pad4(m);
    /* not calloc: every entry is written below (rows m..mp-1 of each column and tau zeroed),
     * and zeroing the whole block again was 1.4 % of an hourly analyze (issue 17) */
    double *C = malloc((mp * (k + nb) + k) * sizeof(double));
    size_t *js = malloc(k * sizeof *js);
    if (!C || !js) {
        free(C);
        free(js);
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "qr: out of memory");
    }
    for (size_t t = 0; t < m; t++)
        for (size_t j = 0; j < k; j++)
            C[j * mp + t] = X[t * k + j];
    for (size_t c = 0; c < nb; c++)
        memcpy(C + (k + c) * mp, Y + c * m, m * sizeof *C);
    for (size_t c = 0; c < k + nb; c++)
        for (size_t t = m; t < mp; t++)
            C[c * mp + t] = 0.0;
    memset(C + mp * (k + nb), 0, k * sizeof *C);
    qr_columns(C, m, k, k + nb, mp, C + mp * (k + nb), js);
    for (size_t t = 0; t < k; t++) /* R; the rows below it are all zero */
        for (size_t j = 0; j < k; j++)
            X[t * k + j] = t <= j ? C[j * mp + t] : 0.0;
    if (zero_below)
        memset(X + k * k, 0, (m - k) * k * sizeof *X);
    for (size_t c = 0; c < nb; c++)
        memcpy(Y + c * m, C + (k + c) * mp, m * sizeof *C);
    free(C);
    free(js);
    return LW_OK;
}

lw_err_t lw_ols_qr_qtm(double *X, size_t m, size_t k, double *Y, size_t nb, char *errstr,
                       size_t errstr_size)
{
    return qr_qtm(X, m, k, Y, nb, true, errstr, errstr_size);
}

lw_err_t lw_ols_qr_qtm_upper(double *X, size_t m, size_t k, double *Y, size_t nb, char *errstr,
                             size_t errstr_size)
{
    return qr_qtm(X, m, k, Y, nb, false, errstr, errstr_size);
}

lw_err_t lw_ols_qr_qty(double *X, size_t m, size_t k, double *y, char *errstr, size_t errstr_size)
{
    return lw_ols_qr_qtm(X, m, k, y, 1, errstr, errstr_size);
}

void lw_ols_destroy(lw_ols_t *ols)
{
    free(ols); /* one block: the arrays are in ols->mem */
}

lw_err_t lw_ols_new(size_t max_nobs, size_t max_k, lw_ols_t **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    if (max_nobs == 0 || max_k == 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "ols: empty workspace requested");
    if (max_nobs > LW_OLS_MAX_NOBS || max_k > LW_OLS_MAX_K)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                         "ols: workspace %zu x %zu exceeds the bound %u x %u", max_nobs, max_k,
                         LW_OLS_MAX_NOBS, LW_OLS_MAX_K);
    const size_t N = max_nobs, K = max_k;
    const size_t sizes[] = {N * K, K * K, K, K, N,     K,     N,     K,
                            K,     K,     K, N, K * K, K * K, K * K, lw_hac_work_size(K)};
    const size_t nparts = sizeof sizes / sizeof sizes[0];
    lw_ols_t *o = lw_stats_block_new(sizeof(lw_ols_t), sizes, nparts);
    if (!o)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "ols: out of memory");
    *o = (lw_ols_t){.max_nobs = max_nobs, .max_k = max_k};
    double **const parts[] = {&o->A,       &o->Rinv, &o->tau,     &o->norm,
                              &o->yv,      &o->zv,   &o->lsres,   &o->dscale,
                              &o->params,  &o->bse,  &o->bse_hac, &o->resid,
                              &o->xtx_inv, &o->cov,  &o->cov_hac, &o->hac_work};
    lw_stats_carve(o->mem, parts, sizes, nparts);
    *out = o;
    return LW_OK;
}

lw_err_t lw_ols_fit(lw_ols_t *ols, const double *X, const double *y, size_t nobs, size_t k,
                    unsigned flags, size_t hac_maxlags, lw_ols_result_t *res, char *errstr,
                    size_t errstr_size)
{
    memset(res, 0, sizeof(*res));
    if (k == 0 || nobs <= k)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "ols: need nobs > k >= 1 (nobs=%zu, k=%zu)", nobs, k);
    if (nobs > ols->max_nobs || k > ols->max_k)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                         "ols: %zu x %zu exceeds the workspace %zu x %zu", nobs, k, ols->max_nobs,
                         ols->max_k);
    if (!lw_stats_all_finite(X, nobs * k) || !lw_stats_all_finite(y, nobs))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "ols: NaN or Inf in the input");

    gsl_matrix_view Av = gsl_matrix_view_array_with_tda(ols->A, nobs, k, ols->max_k);
    gsl_matrix *A = &Av.matrix;
    bool has_const = false;
    for (size_t j = 0; j < k; j++) {
        double ss = 0.0;
        bool constant = true;
        for (size_t t = 0; t < nobs; t++) {
            const double v = X[t * k + j];
            ss += v * v;
            constant = constant && v == X[j];
        }
        if (constant && X[j] != 0.0)
            has_const = true;
        if (!(ss > 0.0) || !isfinite(ss))
            return lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                             "ols: column %zu is all zero (or overflows)", j);
        ols->dscale[j] = 1.0 / sqrt(ss);
        for (size_t t = 0; t < nobs; t++) /* gsl_matrix_set without its call and range check */
            A->data[t * A->tda + j] = X[t * k + j] * ols->dscale[j];
    }

    gsl_vector_view tau = gsl_vector_view_array(ols->tau, k);
    gsl_vector_view nrm = gsl_vector_view_array(ols->norm, k);
    gsl_permutation perm = {k, ols->perm};
    int signum = 0;
    int st = lw_qrpt_decomp(A, &tau.vector, &perm, &signum, &nrm.vector); /* GSL QRPT's bits */
    if (st != GSL_SUCCESS)
        return lw_seterr(errstr, errstr_size, LW_ERR_STATS, "ols: QR failed: %s", gsl_strerror(st));
    const double r00 = fabs(gsl_matrix_get(A, 0, 0));
    for (size_t j = 0; j < k; j++)
        if (!(fabs(gsl_matrix_get(A, j, j)) > LW_OLS_RANK_TOL * r00))
            return lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                             "ols: design is rank deficient (column %zu is constant or "
                             "collinear with others)",
                             perm.data[j]);

    gsl_vector_view yv = gsl_vector_view_array(ols->yv, nobs);
    gsl_vector_view zv = gsl_vector_view_array(ols->zv, k);
    gsl_vector_view lsres = gsl_vector_view_array(ols->lsres, nobs);
    memcpy(ols->yv, y, nobs * sizeof *y);
    st = gsl_linalg_QRPT_lssolve(A, &tau.vector, &perm, &yv.vector, &zv.vector, &lsres.vector);
    if (st != GSL_SUCCESS)
        return lw_seterr(errstr, errstr_size, LW_ERR_STATS, "ols: solve failed: %s",
                         gsl_strerror(st));
    for (size_t j = 0; j < k; j++)
        ols->params[j] = gsl_vector_get(&zv.vector, j) * ols->dscale[j];

    double ssr = 0.0, ysum = 0.0;
    for (size_t t = 0; t < nobs; t++) {
        double fit = 0.0;
        for (size_t j = 0; j < k; j++)
            fit += X[t * k + j] * ols->params[j];
        ols->resid[t] = y[t] - fit;
        ssr += ols->resid[t] * ols->resid[t];
        ysum += y[t];
    }
    double tss = 0.0;
    const double ymean = ysum / (double)nobs;
    for (size_t t = 0; t < nobs; t++) {
        const double d = has_const ? y[t] - ymean : y[t];
        tss += d * d;
    }
    /* Same threshold statsmodels grangercausalitytests uses to call a fit
     * perfect: R^2 indistinguishable from 1 in double precision. */
    if (!(ssr > 0.0) || ssr < DBL_EPSILON * tss)
        return lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                         "ols: perfect fit (ssr/tss < DBL_EPSILON), likelihood undefined");

    /* (X'X)^-1 = D P R^-1 R^-T P' D. */
    gsl_matrix_view Rv = gsl_matrix_view_array_with_tda(ols->Rinv, k, k, ols->max_k);
    gsl_matrix *R = &Rv.matrix;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            gsl_matrix_set(R, i, j, j >= i ? gsl_matrix_get(A, i, j) : 0.0);
    st = gsl_linalg_tri_invert(CblasUpper, CblasNonUnit, R);
    if (st != GSL_SUCCESS)
        return lw_seterr(errstr, errstr_size, LW_ERR_STATS, "ols: R inverse failed: %s",
                         gsl_strerror(st));
    for (size_t a = 0; a < k; a++)
        for (size_t b = a; b < k; b++) {
            double s = 0.0; /* (R^-1 R^-T)[a][b]; R^-1 upper so c >= max(a, b) */
            for (size_t c = b; c < k; c++)
                s += gsl_matrix_get(R, a, c) * gsl_matrix_get(R, b, c);
            const size_t pa = perm.data[a], pb = perm.data[b];
            const double v = s * ols->dscale[pa] * ols->dscale[pb];
            ols->xtx_inv[pa * k + pb] = v;
            ols->xtx_inv[pb * k + pa] = v;
        }

    res->nobs = nobs;
    res->k = k;
    res->has_const = has_const;
    res->df_resid = (double)(nobs - k);
    res->ssr = ssr;
    res->scale = ssr / res->df_resid;
    res->tss = tss;
    res->rsquared = tss > 0.0 ? 1.0 - ssr / tss : 0.0;
    res->llf = lw_ols_llf(ssr, nobs);
    res->aic = -2.0 * res->llf + 2.0 * (double)k;
    res->bic = -2.0 * res->llf + (double)k * log((double)nobs);
    res->params = ols->params;
    res->resid = ols->resid;
    res->xtx_inv = ols->xtx_inv;

    if (flags & LW_OLS_COV) {
        for (size_t i = 0; i < k * k; i++)
            ols->cov[i] = res->scale * ols->xtx_inv[i];
        for (size_t j = 0; j < k; j++)
            ols->bse[j] = sqrt(ols->cov[j * k + j]);
        res->cov = ols->cov;
        res->bse = ols->bse;
    }
    if (flags & LW_OLS_HAC) {
        const size_t L =
            hac_maxlags == LW_OLS_HAC_DEFAULT_LAGS ? lw_hac_default_lags(nobs) : hac_maxlags;
        lw_err_t err = lw_hac_cov(X, ols->resid, nobs, k, ols->xtx_inv, L,
                                  (flags & LW_OLS_HAC_CORRECTION) != 0, ols->cov_hac, ols->hac_work,
                                  errstr, errstr_size);
        if (err != LW_OK) {
            memset(res, 0, sizeof(*res));
            return err;
        }
        for (size_t j = 0; j < k; j++) {
            const double v = ols->cov_hac[j * k + j];
            ols->bse_hac[j] = v > 0.0 ? sqrt(v) : 0.0;
        }
        res->hac_lags = L;
        res->cov_hac = ols->cov_hac;
        res->bse_hac = ols->bse_hac;
    }
    if (!isfinite(res->llf) || !isfinite(res->scale)) {
        memset(res, 0, sizeof(*res));
        return lw_seterr(errstr, errstr_size, LW_ERR_STATS, "ols: non-finite result");
    }
    return LW_OK;
}

lw_err_t lw_nested_qr_alloc(lw_nested_qr_t *q, size_t m, size_t k, const char *who, char *errstr,
                            size_t errstr_size)
{
    q->A = gsl_matrix_alloc(m, k);
    q->tau = gsl_vector_alloc(k);
    q->c = gsl_vector_alloc(m);
    if (!q->A || !q->tau || !q->c) {
        lw_nested_qr_free(q);
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "%s: out of memory", who);
    }
    return LW_OK;
}

void lw_nested_qr_free(lw_nested_qr_t *q)
{
    gsl_vector_free(q->c);
    gsl_vector_free(q->tau);
    gsl_matrix_free(q->A);
    q->A = NULL;
    q->tau = q->c = NULL;
}
