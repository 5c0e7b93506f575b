/*
 * analyze_fit.c - the all-row lag designs of the per-edge analysis and their
 * fits (analyze_work.h; split from analyze.c, issue 12): the chosen-lag pair
 * of Granger models (lw_analyze_pair_test) and the lag search of one
 * direction (own order on one common sample, the single-lag tests, Simes).
 *
 * How it works: see the comment of each step below; analyze.c's header lists
 * the statistical choices and their sources.
 */
#include "leadwatch/stats/analyze_work.h"

#include "leadwatch/stats/analyze.h"

#include "leadwatch/stats/multitest.h"
#include "leadwatch/stats/ols.h"

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- all-row regressions
 *
 * Issue 11: the Granger tests, the lag choice, the stability windows, the
 * out-of-sample check and the break test all run on explicit designs built
 * from the edge's full-length prepared series (NAN = undefined), keeping
 * EVERY row t whose needed values are defined: y_t, y_{t-1..L}, x_{t-1..L}
 * and each control c_{t-0..L}.  A long gap therefore costs only the rows
 * whose lags reach into it.  Columns, in this order:
 *   1, y_{t-1..p}, c1_{t-0..p}, .., x_{t-1..p}
 * so the restricted model (no x) is the leading block and the x lags are the
 * last p columns (the ones the break test lets change).
 */

/* Rows t in [lo, hi), t >= need, whose values up to lag `need` are defined. */
size_t lw_analyze_valid_rows(const lw_analyze_work_t *w, const double *y, const double *x,
                             size_t need, size_t lo, size_t hi, size_t *rows)
{
    /* Row t is valid when y_t, y and x at t - need..t - 1 and every control at t - need..t
     * are finite: one pass keeping the last index before t where y or x is not finite and
     * the last index up to t where a control is not (was a window of need per row). */
    size_t m = 0;
    if (lo < need)
        lo = need;
    if (lo >= hi)
        return 0;
    const size_t s = lo - need;
    ptrdiff_t bad_yx = (ptrdiff_t)s - 1, bad_c = (ptrdiff_t)s - 1;
    for (size_t t = s; t < hi; t++) {
        for (size_t c = 0; c < w->nc; c++)
            if (!isfinite(w->fc[c][t]))
                bad_c = (ptrdiff_t)t;
        const ptrdiff_t first = (ptrdiff_t)(t - need);
        if (t >= lo && isfinite(y[t]) && bad_yx < first && bad_c < first)
            rows[m++] = t;
        if (!isfinite(y[t]) || !isfinite(x[t]))
            bad_yx = (ptrdiff_t)t;
    }
    return m;
}

size_t lw_analyze_design_k(const lw_analyze_work_t *w, size_t p, bool with_x)
{
    return 1 + p + w->nc * (p + 1) + (with_x ? p : 0);
}

/* The lag-p design of the rows into X (m x k) and yv; returns k. */
size_t lw_analyze_fill_design(const lw_analyze_work_t *w, const double *y, const double *x,
                              size_t p, const size_t *rows, size_t m, bool with_x, double *X,
                              double *yv)
{
    const size_t k = lw_analyze_design_k(w, p, with_x);
    for (size_t i = 0; i < m; i++) {
        const size_t t = rows[i];
        double *r = X + i * k;
        size_t c = 0;
        r[c++] = 1.0;
        for (size_t j = 1; j <= p; j++)
            r[c++] = y[t - j];
        for (size_t cc = 0; cc < w->nc; cc++)
            for (size_t j = 0; j <= p; j++)
                r[c++] = w->fc[cc][t - j];
        if (with_x)
            for (size_t j = 1; j <= p; j++)
                r[c++] = x[t - j];
        yv[i] = y[t];
    }
    return k;
}

/*
 * The record of a pair of fits: F, chi2 and LR with their p-values (granger.h's formulas).
 * false (reason set) when the statistic is not finite.
 */
static bool fill_record(lw_granger_lag_t *rec, size_t p, size_t m, size_t ku, double s)
{
    const double dfd = (double)(m - ku), d = rec->ssr_r - rec->ssr_u;
    rec->df_num = (double)p;
    rec->df_denom = dfd;
    rec->f = d > 0.0 ? d / rec->ssr_u / (double)p * dfd : 0.0;
    rec->f_p = gsl_cdf_fdist_Q(rec->f, (double)p, dfd);
    rec->chi2 = d > 0.0 ? (double)m * d / rec->ssr_u : 0.0;
    rec->chi2_df = (double)p;
    rec->chi2_p = gsl_cdf_chisq_Q(rec->chi2, (double)p);
    rec->lr = -2.0 * (rec->llf_r - rec->llf_u);
    rec->lr_p = gsl_cdf_chisq_Q(rec->lr > 0.0 ? rec->lr : 0.0, (double)p);
    if (!isfinite(rec->f) || !isfinite(s)) {
        snprintf(rec->reason, sizeof rec->reason, "non-finite statistic");
        return false;
    }
    rec->status = LW_OK;
    return true;
}

/*
 * lw_analyze_pair_test by two separate fits (lw_ols_fit: column-scaled,
 * pivoted QR, rank and perfect-fit tests, classical covariance): the
 * reference path, taken whenever the one-QR path below declines.
 */
bool lw_analyze_pair_test_refit(lw_analyze_work_t *w, const double *y, const double *x, size_t p,
                                size_t lo, size_t hi, lw_granger_lag_t *rec, double *sum,
                                double *sum_t)
{
    memset(rec, 0, sizeof(*rec));
    rec->lag = p;
    rec->status = LW_ERR_STATS;
    const size_t m = lw_analyze_valid_rows(w, y, x, p, lo, hi, w->rows);
    const size_t ku = lw_analyze_design_k(w, p, true), kr = lw_analyze_design_k(w, p, false);
    rec->nobs = m;
    if (m < ku + 2) {
        snprintf(rec->reason, sizeof rec->reason, "%zu usable rows for %zu parameters", m, ku);
        return false;
    }
    lw_ols_result_t r;
    char err[LW_GRANGER_REASON_SIZE];
    lw_analyze_fill_design(w, y, x, p, w->rows, m, false, w->X, w->yv);
    if (lw_ols_fit(w->ols, w->X, w->yv, m, kr, 0, 0, &r, err, sizeof err) != LW_OK) {
        snprintf(rec->reason, sizeof rec->reason, "restricted model: %.100s", err);
        return false;
    }
    rec->ssr_r = r.ssr;
    rec->llf_r = r.llf;
    lw_analyze_fill_design(w, y, x, p, w->rows, m, true, w->X, w->yv);
    if (lw_ols_fit(w->ols, w->X, w->yv, m, ku, sum_t ? LW_OLS_COV : 0u, 0, &r, err, sizeof err) !=
        LW_OK) {
        snprintf(rec->reason, sizeof rec->reason, "unrestricted model: %.100s", err);
        return false;
    }
    rec->ssr_u = r.ssr;
    rec->llf_u = r.llf;
    rec->aic = r.aic;
    rec->bic = r.bic;
    double s = 0.0;
    for (size_t j = ku - p; j < ku; j++)
        s += r.params[j];
    if (!fill_record(rec, p, m, ku, s))
        return false;
    if (sum)
        *sum = s;
    if (sum_t) { /* t of the sum: 1' V 1 over the x-lag block, classical V = s^2 (X'X)^-1 */
        double v = 0.0;
        for (size_t i = ku - p; i < ku; i++)
            for (size_t j = ku - p; j < ku; j++)
                v += r.cov[i * ku + j];
        *sum_t = v > 0.0 ? s / sqrt(v) : 0.0;
    }
    return true;
}

/* Relative |R_jj| (to the column's norm) below which the one-QR path hands the
 * pair to lw_ols_fit: 1000 times lw_ols_fit's own rank tolerance, so a design
 * the one-QR path accepts is one lw_ols_fit accepts too. */
#define PAIR_QR_TOL (1e3 * LW_OLS_RANK_TOL)

/* Sum of squared residuals y - X b over m rows of the first k columns (row stride ks). */
static double ssr_explicit(const double *X, size_t ks, const double *y, size_t m, size_t k,
                           const double *b)
{
    double ssr = 0.0;
    for (size_t t = 0; t < m; t++) {
        double fit = 0.0;
        for (size_t j = 0; j < k; j++)
            fit += X[t * ks + j] * b[j];
        const double r = y[t] - fit;
        ssr += r * r;
    }
    return ssr;
}

/* Back substitution R b = c for the leading k x k block of R (row-major, stride ks). */
static void back_solve(const double *R, size_t ks, const double *c, size_t k, double *b)
{
    for (size_t i = k; i-- > 0;) {
        double v = c[i];
        for (size_t j = i + 1; j < k; j++)
            v -= R[i * ks + j] * b[j];
        b[i] = v / R[i * ks + i];
    }
}

/*
 * The pair of lw_analyze_pair_test from ONE QR (issue 17): the restricted
 * model's columns are the leading kr of the unrestricted design, so one
 * unpivoted Householder QR of the m x ku design (lw_ols_qr_qty) gives both
 * fits: b_u = R^-1 (Q'y)_{0..ku}, b_r = R11^-1 (Q'y)_{0..kr}; the SSRs are
 * summed from the explicit residuals y - X b as lw_ols_fit sums them.  The
 * classical variance of the x-lag sum is s^2 1'[(X'X)^-1]_xx 1 and the
 * trailing block of (X'X)^-1 = R^-1 R^-T is R22^-1 R22^-T, so it is s^2 |z|^2
 * with R22' z = 1.  Declines (returns false, nothing written) where
 * lw_ols_fit could refuse or be ill-conditioned: a zero column, a pivot
 * below PAIR_QR_TOL of its column's norm, a (near) perfect fit; the caller
 * then refits.  Scratch: X, X2 (m x ku), yv, pa (m), mu, b, dsc (ku).
 */
static bool pair_test_qr(lw_analyze_work_t *w, const double *y, const double *x, size_t p, size_t m,
                         lw_granger_lag_t *rec, double *sum, double *sum_t)
{
    double *X = w->X, *R = w->X2, *yv = w->yv, *qy = w->pa, *cn = w->mu, *b = w->b;
    const size_t ku = lw_analyze_fill_design(w, y, x, p, w->rows, m, true, X, yv);
    const size_t kr = ku - p;
    for (size_t j = 0; j < ku; j++)
        cn[j] = 0.0;
    double ysum = 0.0;
    for (size_t t = 0; t < m; t++) {
        for (size_t j = 0; j < ku; j++)
            cn[j] += X[t * ku + j] * X[t * ku + j];
        ysum += yv[t];
    }
    for (size_t j = 0; j < ku; j++)
        if (!(cn[j] > 0.0) || !isfinite(cn[j]))
            return false;
    memcpy(R, X, m * ku * sizeof *R);
    memcpy(qy, yv, m * sizeof *qy);
    if (lw_ols_qr_qtm_upper(R, m, ku, qy, 1, NULL, 0) != LW_OK)
        return false;
    for (size_t j = 0; j < ku; j++)
        if (!(fabs(R[j * ku + j]) > PAIR_QR_TOL * sqrt(cn[j])))
            return false;
    const double ymean = ysum / (double)m;
    double tss = 0.0;
    for (size_t t = 0; t < m; t++)
        tss += (yv[t] - ymean) * (yv[t] - ymean);
    back_solve(R, ku, qy, kr, b);
    const double ssr_r = ssr_explicit(X, ku, yv, m, kr, b);
    back_solve(R, ku, qy, ku, b);
    const double ssr_u = ssr_explicit(X, ku, yv, m, ku, b);
    /* lw_ols_fit's perfect-fit test (column 0 is the constant: tss centred), with a margin */
    if (!(ssr_u > 1e3 * DBL_EPSILON * tss) || !(ssr_r > 1e3 * DBL_EPSILON * tss))
        return false;
    double s = 0.0;
    for (size_t j = kr; j < ku; j++)
        s += b[j];
    double v = 0.0;
    if (sum_t) { /* R22' z = 1, forward */
        double *z = w->dsc;
        for (size_t i = 0; i < p; i++) {
            double a = 1.0;
            for (size_t j = 0; j < i; j++)
                a -= R[(kr + j) * ku + kr + i] * z[j];
            z[i] = a / R[(kr + i) * ku + kr + i];
            v += z[i] * z[i];
        }
        v *= ssr_u / (double)(m - ku);
    }
    rec->ssr_r = ssr_r;
    rec->llf_r = lw_ols_llf(ssr_r, m);
    rec->ssr_u = ssr_u;
    rec->llf_u = lw_ols_llf(ssr_u, m);
    rec->aic = -2.0 * rec->llf_u + 2.0 * (double)ku;
    rec->bic = -2.0 * rec->llf_u + (double)ku * log((double)m);
    if (!isfinite(rec->llf_r) || !isfinite(rec->llf_u))
        return false;
    if (!fill_record(rec, p, m, ku, s))
        return true;
    if (sum)
        *sum = s;
    if (sum_t)
        *sum_t = v > 0.0 ? s / sqrt(v) : 0.0;
    return true;
}

/*
 * Granger x -> y at lag p on the rows of [lo, hi) (t >= lo + skip): the
 * records of granger.h (same formulas, with the controls in both models and
 * the rows chosen as above).  *sum = sum of the x-lag coefficients; *sum_t
 * its classical t.  false (rec->status LW_ERR_STATS with a reason) when
 * infeasible.  Both models from one QR (pair_test_qr), else two refits
 * (lw_analyze_pair_test_refit); tests/test_analyze.c checks they agree.
 */
bool lw_analyze_pair_test(lw_analyze_work_t *w, const double *y, const double *x, size_t p,
                          size_t lo, size_t hi, lw_granger_lag_t *rec, double *sum, double *sum_t)
{
    memset(rec, 0, sizeof(*rec));
    rec->lag = p;
    rec->status = LW_ERR_STATS;
    const size_t m = lw_analyze_valid_rows(w, y, x, p, lo, hi, w->rows);
    const size_t ku = lw_analyze_design_k(w, p, true);
    rec->nobs = m;
    if (m >= ku + 2 && pair_test_qr(w, y, x, p, m, rec, sum, sum_t))
        return rec->status == LW_OK;
    return lw_analyze_pair_test_refit(w, y, x, p, lo, hi, rec, sum, sum_t);
}

/*
 * y's own order on ONE common sample (the rows whose lags up to K are
 * defined): AIC/BIC (opts.ic) of the autoregressions [1, c_t, (y, c)_{t-1},
 * .., (y, c)_{t-q}], q = 1..K, smallest wins, ties to the smaller q.  x plays
 * no part, so the order cannot be tuned to x's fit.  The models are nested,
 * so one unpivoted Householder QR of the widest design gives every SSR_q as
 * the tail sum of squares of Q'y beyond the first k_q columns.  An order
 * whose block is numerically dependent (|R_jj| below LW_OLS_RANK_TOL of its
 * column norm) or whose fit is perfect is skipped.  *m = rows of the sample.
 * The two latest results are kept (w->own) and reused when a later direction
 * has the same y on the same rows without controls (the NSM's order, issue
 * 17): the same inputs, so the same numbers.
 */
/* own_order's result for (y, rows) when it is one of the two kept (w->own): the same y
 * (bit for bit), the same rows, no controls; true with icv and the order filled. */
static bool own_order_cached(lw_analyze_work_t *w, const double *y, size_t K, size_t m, double *icv,
                             size_t *best)
{
    for (size_t i = 0; i < 2; i++) {
        const lw_analyze_own_memo_t *c = &w->own[i];
        if (!c->valid || w->nc != 0 || c->n != w->n || c->K != K || c->m != m ||
            memcmp(c->y, y, w->n * sizeof *y) != 0 ||
            memcmp(c->rows, w->rows, m * sizeof *w->rows) != 0)
            continue;
        memcpy(icv, c->icv, K * sizeof *icv);
        *best = c->best;
        w->own[i].used = ++w->own_clock;
        w->own_hits++;
        return true;
    }
    return false;
}

/* Keep own_order's result in the least recently used slot (none when out of memory). */
static void own_order_keep(lw_analyze_work_t *w, const double *y, size_t K, size_t m,
                           const double *icv, size_t best)
{
    if (w->nc != 0 || K > LW_ANALYZE_MAX_LAG)
        return;
    const size_t i = w->own[0].used <= w->own[1].used ? 0 : 1;
    lw_analyze_own_memo_t *c = &w->own[i];
    c->valid = false;
    if (!c->y || c->n != w->n) {
        free(c->y);
        free(c->rows);
        c->y = malloc(w->n * sizeof *c->y);
        c->rows = malloc(w->n * sizeof *c->rows);
        c->n = w->n;
        if (!c->y || !c->rows)
            return;
    }
    memcpy(c->y, y, w->n * sizeof *y);
    memcpy(c->rows, w->rows, m * sizeof *w->rows);
    memcpy(c->icv, icv, K * sizeof *icv);
    c->K = K;
    c->m = m;
    c->best = best;
    c->used = ++w->own_clock;
    c->valid = true;
}

static size_t own_order(lw_analyze_work_t *w, const double *y, const double *x, size_t K,
                        double *icv, size_t *m_out)
{
    const size_t m = lw_analyze_valid_rows(w, y, x, K, 0, w->n, w->rows);
    const size_t nc = w->nc, blk = 1 + nc, k = 1 + nc + K * blk;
    *m_out = m;
    size_t cached;
    if (own_order_cached(w, y, K, m, icv, &cached))
        return cached;
    for (size_t p = 0; p < K; p++)
        icv[p] = (double)NAN;
    /* the widest single-lag test has k + 1 columns; lag 1..K must stay testable */
    if (m < 2 * K + 1 + nc * (K + 1) + 2)
        return 0;
    double *X = w->X, *qy = w->yv, *cn = w->mu;
    for (size_t i = 0; i < m; i++) {
        const size_t t = w->rows[i];
        double *r = X + i * k;
        size_t c = 0;
        r[c++] = 1.0;
        for (size_t j = 0; j < nc; j++)
            r[c++] = w->fc[j][t];
        for (size_t l = 1; l <= K; l++) {
            r[c++] = y[t - l];
            for (size_t j = 0; j < nc; j++)
                r[c++] = w->fc[j][t - l];
        }
        qy[i] = y[t];
    }
    double yy = 0.0;
    for (size_t i = 0; i < m; i++)
        yy += qy[i] * qy[i];
    for (size_t j = 0; j < k; j++) {
        cn[j] = 0.0;
        for (size_t i = 0; i < m; i++)
            cn[j] += X[i * k + j] * X[i * k + j];
        cn[j] = sqrt(cn[j]);
    }
    if (lw_ols_qr_qtm_upper(X, m, k, qy, 1, NULL, 0) != LW_OK)
        return 0;
    /* tail[j] = sum_{i >= j} (Q'y)_i^2 */
    double tail = 0.0;
    for (size_t i = k; i < m; i++)
        tail += qy[i] * qy[i];
    size_t best = 0, dep = k;
    for (size_t j = 0; j < k; j++)
        if (!(fabs(X[j * k + j]) > LW_OLS_RANK_TOL * cn[j])) {
            dep = j;
            break;
        }
    double best_v = 0.0;
    for (size_t p = K; p >= 1; p--) {
        const size_t kp = 1 + nc + p * blk;
        if (p < K)
            for (size_t i = kp; i < kp + blk; i++)
                tail += qy[i] * qy[i];
        if (kp > dep || !(tail > DBL_EPSILON * yy))
            continue;
        const double llf = lw_ols_llf(tail, m);
        icv[p - 1] = w->o->ic == LW_IC_BIC ? -2.0 * llf + (double)kp * log((double)m)
                                           : -2.0 * llf + 2.0 * (double)kp;
    }
    for (size_t p = 1; p <= K; p++)
        if (isfinite(icv[p - 1]) && (best == 0 || icv[p - 1] < best_v)) {
            best = p;
            best_v = icv[p - 1];
        }
    own_order_keep(w, y, K, m, icv, best);
    return best;
}

/*
 * The single-lag tests of x_{t-k}, k = 1..K, on the rows of own_order's
 * sample (w->rows, m of them): y_t on the restricted design of fill_design
 * (1, y_{t-1..q}, c_{t-0..q}) against the same plus x_{t-k}; the SSR
 * F(1, m - k_u) (= t^2 of x_{t-k}'s coefficient), every unrestricted SSR
 * read off the restricted design's one QR (below; tests/test_analyze_lagsearch
 * checks each p against statsmodels' refit to 1e-9).  ok[k - 1] = false (and
 * p = 1) where lw_ols_fit would refuse the fit (x_{t-k} collinear with the
 * design, a perfect fit): that lag takes no part in the search.  false when
 * the restricted model cannot be fitted.
 */
static bool single_lag_ps(lw_analyze_work_t *w, const double *y, const double *x, size_t q,
                          size_t K, size_t m, double *lag_p, bool *ok)
{
    const size_t kr = lw_analyze_fill_design(w, y, x, q, w->rows, m, false, w->X2, w->yv),
                 ku = kr + 1;
    if (m <= ku)
        return false;
    /* tss for the perfect-fit test of lw_ols_fit (ssr < DBL_EPSILON * tss) */
    double mean = 0.0, tss = 0.0;
    for (size_t i = 0; i < m; i++)
        mean += w->yv[i];
    mean /= (double)m;
    for (size_t i = 0; i < m; i++)
        tss += (w->yv[i] - mean) * (w->yv[i] - mean);
    /* One QR of the restricted design; each x_{t-k} is then added by Frisch-Waugh-Lovell:
     * with c = Q'y and v = Q'x_{t-k}, the residuals of both on the design are their
     * entries past kr, so adding x_{t-k} lowers the SSR by d = (e_v . e_c)^2 / (e_v . e_v)
     * - the SSR of the unrestricted fit without refitting it (issue 17: 48 refits per
     * direction at hourly max_lag were two thirds of an hourly analysis).  Q' is applied
     * to y and the K lag columns in one pass over the reflectors (lw_ols_qr_qtm; applying
     * them one vector at a time was two thirds of the search).  The rank test is
     * lw_ols_nested_qr's: |R_jj| against the norm of column j. */
    double *cn = w->mu, *Y = w->X;
    for (size_t j = 0; j < kr; j++)
        cn[j] = 0.0;
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < kr; j++)
            cn[j] += w->X2[i * kr + j] * w->X2[i * kr + j];
        Y[i] = w->yv[i];
    }
    for (size_t j = 0; j < kr; j++)
        if (!(cn[j] > 0.0))
            return false; /* a column of the design is all zero */
    for (size_t k = 1; k <= K; k++)
        for (size_t i = 0; i < m; i++)
            Y[k * m + i] = x[w->rows[i] - k];
    if (lw_ols_qr_qtm_upper(w->X2, m, kr, Y, K + 1, NULL, 0) != LW_OK)
        return false;
    for (size_t j = 0; j < kr; j++)
        if (!(fabs(w->X2[j * kr + j]) > LW_OLS_RANK_TOL * sqrt(cn[j])))
            return false; /* the restricted design is singular */
    double ssr_r = 0.0;
    for (size_t i = kr; i < m; i++)
        ssr_r += Y[i] * Y[i];
    if (!(ssr_r > DBL_EPSILON * tss))
        return false; /* the restricted fit is perfect: lw_ols_fit refuses it */
    const double dfd = (double)(m - ku);
    for (size_t k = 1; k <= K; k++) {
        lag_p[k - 1] = 1.0;
        ok[k - 1] = false;
        double xx = 0.0;
        for (size_t i = 0; i < m; i++) {
            const double v = x[w->rows[i] - k];
            xx += v * v;
        }
        if (!(xx > 0.0))
            continue;
        const double *v = Y + k * m;
        double exx = 0.0, exy = 0.0;
        for (size_t i = kr; i < m; i++) {
            exx += v[i] * v[i];
            exy += v[i] * Y[i];
        }
        /* the rank test of lw_ols_fit: x_{t-k} (nearly) in the span of the design */
        if (!(sqrt(exx) > LW_OLS_RANK_TOL * sqrt(xx)))
            continue;
        const double d = exy * exy / exx, ssr_u = ssr_r - d;
        if (!isfinite(d) || !(ssr_u > DBL_EPSILON * tss))
            continue;
        ok[k - 1] = true;
        if (d > 0.0)
            lag_p[k - 1] = gsl_cdf_fdist_Q(d / ssr_u * dfd, 1.0, dfd);
    }
    return true;
}

/*
 * Step 2, the lag search of one direction (issue 11, session 6): y's own
 * order q (own_order), the single-lag tests of x_{t-k}, k = 1..K, given it,
 * and their Simes combination p_S = min_k K p_(k) / k (the smallest BH q of
 * the K tests; a valid test of "x_{t-1..K} add nothing to y's past" when
 * the tests are positively dependent, as tests of overlapping lags of one
 * series are).  The lag is the k with the smallest p (ties to the smaller k).
 * Why not AIC over equal-lag models
 * (statsmodels' VAR order): a lag-p model pays for p - 1 own lags of y as
 * well as p x lags, so a weak lead at lag 7 lost to lag 1 in 15 % of the
 * ground-truth data sets; choosing x's order by AIC instead lets the search
 * chase noise in x, and testing at the chosen lag then rejects a true null
 * too often (bench/RESULTS.md, session 6).  Returns the lag (0 = none
 * feasible); *own = q, lag_p[k - 1] = each test's p, *ps = p_S, *m = rows.
 */
size_t lw_analyze_dir_search(lw_analyze_work_t *w, const double *y, const double *x, size_t K,
                             double *icv, size_t *own, double *lag_p, double *ps, size_t *m)
{
    *ps = 1.0;
    for (size_t k = 0; k < K; k++)
        lag_p[k] = 1.0;
    const size_t q = own_order(w, y, x, K, icv, m);
    *own = q;
    if (q == 0)
        return 0;
    double qv[LW_ANALYZE_MAX_LAG] = {0};
    bool d[LW_ANALYZE_MAX_LAG] = {0}, qd[LW_ANALYZE_MAX_LAG] = {0};
    /* own_order's rows are still in w->rows */
    if (!single_lag_ps(w, y, x, q, K, *m, lag_p, d))
        return 0;
    if (lw_bh_qvalues(lag_p, d, K, qv, qd, NULL, NULL, 0) != LW_OK)
        return 0;
    size_t best = 0;
    for (size_t k = 1; k <= K; k++)
        if (qd[k - 1] && (best == 0 || lag_p[k - 1] < lag_p[best - 1]))
            best = k;
    if (best)
        *ps = qv[best - 1]; /* the smallest q: BH's q are monotone in p */
    return best;
}
