/*
 * breaks.c - sup-F (Andrews 1993) with Hansen (1997) p-values, CUSUM of
 * recursive residuals (Brown, Durbin & Evans 1975), and the expanding-window
 * least squares both rest on.  Definitions, degrees of freedom and sources
 * are in breaks.h.
 *
 * Engine: an upper-triangular R (k x k), z = Q'y (k) and the running SSR,
 * updated one row at a time with Givens rotations (Golub & Van Loan,
 * "Matrix Computations", 4th ed., section 6.5.3, adding a row to a QR
 * factorisation).  Adding row (z_t, y_t) rotates z_t into R column by column;
 * what is left of y_t after the k rotations, e_t, satisfies
 * SSR_t = SSR_{t-1} + e_t^2, and with R's diagonal kept non-negative e_t is
 * exactly the recursive residual w_t.  Each row costs O(k^2), so
 *   - the SSR of every prefix [0, tau) comes from one forward sweep and of
 *     every suffix [tau, m) from one backward sweep: the whole Chow path is
 *     O(m k^2) instead of O(m^2 k^2) for a refit per candidate (statsmodels,
 *     strucchange);
 *   - one-step predictions (forecast.c) are a back-substitution R b = z
 *     before each row is added.
 * Givens updating is orthogonal, so it keeps QR's accuracy (no normal
 * equations, no squared condition number), and unlike Sherman-Morrison
 * updates of (X'X)^-1 (statsmodels recursive_olsresiduals) its error does
 * not accumulate with t.  GSL has no row-append QR update
 * (gsl_linalg_QR_update is a rank-one update of the whole matrix), hence the
 * twenty lines below.
 *
 * The HC sup-Wald (partial change) path is in breaks_hc.c.
 *
 * Rank: a column is collinear with the ones before it when |R_jj| falls below
 * LW_BREAKS_RANK_TOL times the column's Euclidean norm over the rows so far
 * (unpivoted QR: R_jj is the distance of column j from the span of columns
 * 0..j-1).  Adding rows can only raise the rank, so checking the shortest
 * admissible segment at each end is enough.
 *
 */
#include "leadwatch/stats/breaks.h"

#include "leadwatch/stats/ols.h"
#include "leadwatch/stats/vec4.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ row updating */

typedef struct {
    size_t k;
    double *R;     /* k x k, upper triangle used */
    double *z;     /* k: Q'y */
    double *colss; /* k: sum of squares of each column so far */
    double *tmp;   /* k: the row being rotated in; also b for predictions */
    double ssr;
    size_t rows;
} givens_t;

static void givens_reset(givens_t *g)
{
    memset(g->R, 0, g->k * g->k * sizeof(double));
    memset(g->z, 0, g->k * sizeof(double));
    memset(g->colss, 0, g->k * sizeof(double));
    g->ssr = 0.0;
    g->rows = 0;
}

/* Carve a givens_t out of `mem` (k^2 + 3k doubles). */
static void givens_init(givens_t *g, size_t k, double *mem)
{
    g->k = k;
    g->R = mem;
    g->z = mem + k * k;
    g->colss = g->z + k;
    g->tmp = g->colss + k;
    givens_reset(g);
}

/* Add row (zr, y); returns the part of y orthogonal to the previous fit.
 * The rotation of the rest of row j of R and of the new row is elementwise,
 * so it runs four columns per lw_v4d (vec4.h; the same bits as the scalar
 * tail): the forecasts' expanding windows add every row of the edge twice
 * per direction, k up to 61 (issue 17). */
LW_VEC_KERNEL static double givens_add(givens_t *g, const double *zr, double y)
{
    const size_t k = g->k;
    double *x = g->tmp;
    memcpy(x, zr, k * sizeof(double));
    for (size_t j = 0; j < k; j++)
        g->colss[j] += zr[j] * zr[j];
    for (size_t j = 0; j < k; j++) {
        const double b = x[j];
        if (b == 0.0)
            continue;
        double *Rj = g->R + j * k;
        const double a = Rj[j];
        /* sqrt, not hypot: 3x faster here, and metric values never come
         * near the 1e154 where a^2 + b^2 would overflow. */
        const double r = sqrt(a * a + b * b);
        const double c = a / r, s = b / r;
        Rj[j] = r;
        const lw_v4d cv = lw_splat4(c), sv = lw_splat4(s);
        size_t i = j + 1;
        for (; i + 4 <= k; i += 4) {
            const lw_v4d ri = lw_ld4(Rj + i), xi = lw_ld4(x + i);
            lw_st4(Rj + i, cv * ri + sv * xi);
            lw_st4(x + i, cv * xi - sv * ri);
        }
        for (; i < k; i++) {
            const double ri = Rj[i], xi = x[i];
            Rj[i] = c * ri + s * xi;
            x[i] = c * xi - s * ri;
        }
        const double zj = g->z[j];
        g->z[j] = c * zj + s * y;
        y = c * y - s * zj;
    }
    g->ssr += y * y;
    g->rows++;
    return y;
}

/* k when R has full rank, else the first collinear column. */
static size_t givens_rank_defect(const givens_t *g)
{
    for (size_t j = 0; j < g->k; j++)
        if (!(g->R[j * g->k + j] > LW_BREAKS_RANK_TOL * sqrt(g->colss[j])))
            return j;
    return g->k;
}

/* z_r' b with R b = z (full rank required). */
static double givens_predict(givens_t *g, const double *zr)
{
    const size_t k = g->k;
    double *b = g->tmp;
    for (size_t jj = k; jj-- > 0;) {
        double s = g->z[jj];
        const double *Rj = g->R + jj * k;
        for (size_t i = jj + 1; i < k; i++)
            s -= Rj[i] * b[i];
        b[jj] = s / Rj[jj];
    }
    double p = 0.0;
    for (size_t j = 0; j < k; j++)
        p += zr[j] * b[j];
    return p;
}

/* ------------------------------------------------------------ helpers */

/* Sum of squared deviations of v[0..n) from their mean (n >= 1). */
static double centred_ss(const double *v, size_t n)
{
    double mean = 0.0, ss = 0.0;
    for (size_t t = 0; t < n; t++)
        mean += v[t];
    mean /= (double)n;
    for (size_t t = 0; t < n; t++)
        ss += (v[t] - mean) * (v[t] - mean);
    return ss;
}

/* ceil(trim * m) without the 0.15 * 100 = 15.000000000000002 artefact. */
static size_t trim_rows(double trim, size_t m)
{
    return (size_t)ceil(trim * (double)m - 1e-9);
}

/* ------------------------------------------------------------ recursive */

lw_err_t lw_breaks_recursive(const double *y, const double *Z, size_t m, size_t k, size_t first,
                             double *pred, double *w, char *errstr, size_t errstr_size)
{
    if (k == 0 || k > LW_BREAKS_MAX_K || first < k || first >= m || m > LW_BREAKS_MAX_NOBS)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "recursive: need 1 <= k <= %u and k <= first < m (k=%zu, first=%zu, "
                         "m=%zu)",
                         LW_BREAKS_MAX_K, k, first, m);
    if (!lw_stats_all_finite(y, m) || !lw_stats_all_finite(Z, m * k))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "recursive: NaN or Inf in the input");
    double *mem = malloc((k * k + 3 * k) * sizeof(double));
    if (!mem)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "recursive: out of memory");
    givens_t g;
    givens_init(&g, k, mem);
    lw_err_t err = LW_OK;
    for (size_t t = 0; t < first; t++) {
        pred[t] = 0.0;
        if (w)
            w[t] = 0.0;
        givens_add(&g, Z + t * k, y[t]);
    }
    const size_t bad = givens_rank_defect(&g);
    if (bad < k) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                        "recursive: column %zu is constant or collinear over the first %zu rows",
                        bad, first);
        goto free_mem;
    }
    for (size_t t = first; t < m; t++) {
        pred[t] = givens_predict(&g, Z + t * k);
        const double e = givens_add(&g, Z + t * k, y[t]);
        if (w)
            w[t] = e;
    }
free_mem:
    free(mem);
    return err;
}

/* ------------------------------------------------------------ sup-F */

static lw_err_t supf_fail(lw_breaks_supf_t *res, lw_err_t err, const char *errstr)
{
    return lw_stats_record(res, sizeof *res, &res->status, res->reason, sizeof res->reason, err,
                           errstr);
}

lw_err_t lw_breaks_supf(const double *y, const double *Z, size_t m, size_t k, double trim,
                        lw_breaks_supf_t *res, double *f_path, char *errstr, size_t errstr_size)
{
    char localerr[LW_BREAKS_REASON_SIZE];
    errstr = lw_stats_errbuf(errstr, &errstr_size, localerr, sizeof localerr);
    memset(res, 0, sizeof(*res));
    if (k == 0 || k > LW_BREAKS_MAX_K || !(trim > 0.0 && trim < 0.5) || m > LW_BREAKS_MAX_NOBS) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                  "sup-F: need 1 <= k <= %u, 0 < trim < 0.5 and at most %u rows", LW_BREAKS_MAX_K,
                  LW_BREAKS_MAX_NOBS);
        return supf_fail(res, LW_ERR_INVALID, errstr);
    }
    const size_t h = trim_rows(trim, m);
    if (h < k + 1 || m < 2 * h) {
        /* smallest m with ceil(trim m) >= k + 1 */
        const size_t need = (size_t)ceil((double)(k + 1) / trim);
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                  "sup-F: %zu rows are too few for %zu parameters at %.0f%% trimming (need at "
                  "least %zu)",
                  m, k, 100.0 * trim, need > 2 * (k + 1) ? need : 2 * (k + 1));
        return supf_fail(res, LW_ERR_INVALID, errstr);
    }
    if (!lw_stats_all_finite(y, m) || !lw_stats_all_finite(Z, m * k)) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "sup-F: NaN or Inf in the input");
        return supf_fail(res, LW_ERR_INVALID, errstr);
    }

    lw_err_t err = LW_OK;
    double *prefix = malloc((m + 1) * sizeof(double)); /* SSR of rows [0, tau) */
    double *suffix = malloc((m + 1) * sizeof(double)); /* SSR of rows [tau, m) */
    double *mem = malloc((k * k + 3 * k) * sizeof(double));
    if (!prefix || !suffix || !mem) {
        lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "sup-F: out of memory");
        err = LW_ERR_NOMEM;
        goto free_bufs;
    }
    givens_t g;
    givens_init(&g, k, mem);
    for (size_t t = 0; t < m; t++) {
        givens_add(&g, Z + t * k, y[t]);
        if (t + 1 == h && givens_rank_defect(&g) < k) {
            lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                      "sup-F: column %zu is constant or collinear over the first %zu rows",
                      givens_rank_defect(&g), h);
            err = LW_ERR_STATS;
            goto free_bufs;
        }
        prefix[t + 1] = g.ssr;
    }
    const double ssr0 = g.ssr;
    givens_reset(&g);
    for (size_t t = m; t-- > 0;) {
        givens_add(&g, Z + t * k, y[t]);
        if (m - t == h && givens_rank_defect(&g) < k) {
            lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                      "sup-F: column %zu is constant or collinear over the last %zu rows",
                      givens_rank_defect(&g), h);
            err = LW_ERR_STATS;
            goto free_bufs;
        }
        suffix[t] = g.ssr;
    }
    const double tss = centred_ss(y, m);
    if (!(tss > 0.0)) {
        lw_seterr(errstr, errstr_size, LW_ERR_STATS, "sup-F: y is constant");
        err = LW_ERR_STATS;
        goto free_bufs;
    }
    if (!(ssr0 > DBL_EPSILON * tss)) {
        lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                  "sup-F: the regression fits exactly (ssr/tss < DBL_EPSILON)");
        err = LW_ERR_STATS;
        goto free_bufs;
    }

    const double dfd = (double)(m - 2 * k);
    if (f_path)
        memset(f_path, 0, (m + 1) * sizeof(double));
    double best = -1.0;
    size_t best_tau = h;
    for (size_t tau = h; tau <= m - h; tau++) {
        const double s = prefix[tau] + suffix[tau];
        if (!(s > 0.0)) {
            lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                      "sup-F: both regimes fit exactly at row %zu", tau);
            err = LW_ERR_STATS;
            goto free_bufs;
        }
        const double f = ((ssr0 - s) / (double)k) / (s / dfd);
        if (f_path)
            f_path[tau] = f;
        if (f > best) {
            best = f;
            best_tau = tau;
        }
    }

    res->status = LW_OK;
    res->nobs = m;
    res->k = k;
    res->h = h;
    res->first = h;
    res->last = m - h;
    res->ssr_full = ssr0;
    res->sup_f = best;
    res->break_row = best_tau;
    res->break_period = best_tau;
    res->df_num = (double)k;
    res->df_denom = dfd;
    res->sup_wald = (double)k * best;
    res->tau0 = (double)h / (double)m;
    res->p_defined = lw_breaks_hansen_p(res->sup_wald, k, res->tau0, &res->p);
    if (!res->p_defined)
        snprintf(res->reason, sizeof(res->reason),
                 "p-value undefined: Hansen's table covers at most %u parameters, the model "
                 "has %zu",
                 LW_BREAKS_HANSEN_MAX_K, k);

free_bufs:
    free(mem);
    free(suffix);
    free(prefix);
    if (err != LW_OK)
        return supf_fail(res, err, errstr);
    return LW_OK;
}

void lw_breaks_lag_design(const double *y, const double *x, size_t n, size_t ylags, size_t xlags,
                          double *Z, double *yy)
{
    const size_t L = ylags > xlags ? ylags : xlags;
    const size_t k = 1 + ylags + xlags;
    for (size_t t = L; t < n; t++) {
        double *row = Z + (t - L) * k;
        row[0] = 1.0;
        for (size_t j = 1; j <= ylags; j++)
            row[j] = y[t - j];
        for (size_t j = 1; j <= xlags; j++)
            row[ylags + j] = x[t - j];
        yy[t - L] = y[t];
    }
}

lw_err_t lw_breaks_supf_lags(const double *y, const double *x, size_t n, size_t ylags, size_t xlags,
                             double trim, lw_breaks_supf_t *res, double *f_path, char *errstr,
                             size_t errstr_size)
{
    char localerr[LW_BREAKS_REASON_SIZE];
    errstr = lw_stats_errbuf(errstr, &errstr_size, localerr, sizeof localerr);
    memset(res, 0, sizeof(*res));
    const size_t L = ylags > xlags ? ylags : xlags;
    const size_t k = 1 + ylags + xlags;
    if (xlags == 0 || k > LW_BREAKS_MAX_K || n <= L || n > LW_BREAKS_MAX_NOBS) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                  "sup-F: need xlags >= 1, 1 + ylags + xlags <= %u and more than %zu points "
                  "(got %zu)",
                  LW_BREAKS_MAX_K, L, n);
        return supf_fail(res, LW_ERR_INVALID, errstr);
    }
    if (!lw_stats_all_finite(y, n) || !lw_stats_all_finite(x, n)) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "sup-F: NaN or Inf in the input");
        return supf_fail(res, LW_ERR_INVALID, errstr);
    }
    const size_t m = n - L;
    double *Z = malloc(m * k * sizeof(double));
    double *yy = malloc(m * sizeof(double));
    double *fp = f_path ? malloc((m + 1) * sizeof(double)) : NULL;
    lw_err_t err;
    if (!Z || !yy || (f_path && !fp)) {
        lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "sup-F: out of memory");
        err = supf_fail(res, LW_ERR_NOMEM, errstr);
        goto free_design;
    }
    lw_breaks_lag_design(y, x, n, ylags, xlags, Z, yy);
    err = lw_breaks_supf(yy, Z, m, k, trim, res, fp, errstr, errstr_size);
    if (err == LW_OK) {
        res->break_period = L + res->break_row;
        if (f_path) {
            memset(f_path, 0, (n + 1) * sizeof(double));
            memcpy(f_path + L, fp, (m + 1) * sizeof(double));
        }
    }
free_design:
    free(fp);
    free(yy);
    free(Z);
    return err;
}

/* ------------------------------------------------------------ CUSUM */

lw_err_t lw_breaks_cusum(const double *y, const double *Z, size_t m, size_t k,
                         lw_breaks_cusum_t *res, char *errstr, size_t errstr_size)
{
    char localerr[LW_BREAKS_REASON_SIZE];
    errstr = lw_stats_errbuf(errstr, &errstr_size, localerr, sizeof localerr);
    memset(res, 0, sizeof(*res));
    lw_err_t err;
    if (k == 0 || k > LW_BREAKS_MAX_K || m < k + 3 || m > LW_BREAKS_MAX_NOBS) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                        "CUSUM: need 1 <= k <= %u and at least k + 3 = %zu rows (got %zu)",
                        LW_BREAKS_MAX_K, k + 3, m);
        goto record;
    }
    double *pred = malloc(2 * m * sizeof(double));
    if (!pred) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "CUSUM: out of memory");
        goto record;
    }
    double *w = pred + m;
    err = lw_breaks_recursive(y, Z, m, k, k, pred, w, errstr, errstr_size);
    if (err != LW_OK)
        goto free_pred;
    const size_t r = m - k;
    const double sigma = sqrt(centred_ss(w + k, r) / (double)(r - 1));
    if (!(sigma > 0.0) || !isfinite(sigma)) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                        "CUSUM: the recursive residuals are all equal (perfect fit)");
        goto free_pred;
    }
    const double scale = sigma * sqrt((double)r);
    double cum = 0.0, best = 0.0;
    size_t best_row = k;
    /* Like sup-F's loop: keep the largest statistic and its row, then fill the result. */
    for (size_t t = k; t < m; t++) {
        cum += w[t];
        const double tt = (double)(t - k + 1) / (double)r;
        const double v = fabs(cum / scale) / (1.0 + 2.0 * tt);
        if (v > best) {
            best = v;
            best_row = t;
        }
    }
    res->nobs = m;
    res->k = k;
    res->sigma = sigma;
    res->stat = best;
    res->max_row = best_row;
    res->p = lw_breaks_bm_crossing_p(best);
free_pred:
    free(pred);
record:
    res->status = err;
    if (err != LW_OK)
        lw_stats_record(res, sizeof *res, &res->status, res->reason, sizeof res->reason, err,
                        errstr);
    return err;
}
