/*
 * monitor.c - OLS-CUSUM sequential monitor (definitions, degrees of freedom
 * and sources in monitor.h: strucchange mefp/monitor, type "OLS-CUSUM").
 *
 * The history fit is one ols.c QR; from then on the state is the running
 * residual sum, so an update costs one k-term dot product, one square root
 * and one log: the same arithmetic in the same order whether rows arrive
 * one at a time (live) or in bulk (catch-up), hence identical states.  The
 * critical value is found by bisection of the monotone function
 * f(c) = 2 (Phi(c) - c phi(c)) (f' = 2 c^2 phi(c) > 0) on [0, 10].
 */
#include "leadwatch/stats/monitor.h"

#include "leadwatch/stats/ols.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

double lw_monitor_critval(double alpha)
{
    if (!(alpha > 0.0 && alpha < 1.0))
        return (double)NAN;
    const double target = 2.0 - alpha;
    double lo = 0.0, hi = 10.0;
    for (int i = 0; i < 200 && hi - lo > 1e-15; i++) {
        const double mid = 0.5 * (lo + hi);
        const double f = 2.0 * (gsl_cdf_ugaussian_P(mid) - mid * gsl_ran_ugaussian_pdf(mid));
        if (f < target)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

double lw_monitor_boundary(const lw_monitor_t *m, uint64_t j)
{
    if (j <= m->histsize)
        return 0.0;
    const double x = (double)j / (double)m->histsize;
    return sqrt(x * (x - 1.0) * (m->critval * m->critval + log(x / (x - 1.0))));
}

bool lw_monitor_check(const lw_monitor_t *m)
{
    if (m->version != LW_MONITOR_VERSION || m->k < 1 || m->k > LW_MONITOR_MAX_K ||
        m->histsize <= m->k || m->histsize > LW_MONITOR_MAX_HIST || m->rows < m->histsize ||
        (m->alarm != 0 && (m->alarm <= m->histsize || m->alarm > m->rows)))
        return false;
    if (!(m->alpha > 0.0 && m->alpha < 1.0) || !(m->critval > 0.0) || !isfinite(m->critval) ||
        !(m->sigma > 0.0) || !isfinite(m->sigma) || !isfinite(m->cusum) || !(m->stat >= 0.0) ||
        !isfinite(m->stat))
        return false;
    for (uint32_t j = 0; j < m->k; j++)
        if (!isfinite(m->coef[j]))
            return false;
    return true;
}

/* OLS of the history: coef[k] and sigma = sqrt(SSR / (n - k)). */
static lw_err_t history_fit(const double *y, const double *Z, size_t n, size_t k, double *coef,
                            double *sigma, char *errstr, size_t errstr_size)
{
    lw_ols_t *ols = NULL;
    lw_err_t err = lw_ols_new(n, k, &ols, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    lw_ols_result_t fit;
    err = lw_ols_fit(ols, Z, y, n, k, 0, 0, &fit, errstr, errstr_size);
    if (err == LW_OK) {
        *sigma = sqrt(fit.ssr / fit.df_resid);
        memcpy(coef, fit.params, k * sizeof(double));
    }
    lw_ols_destroy(ols);
    return err;
}

lw_err_t lw_monitor_init(lw_monitor_t *m, const double *y, const double *Z, size_t n, size_t k,
                         double alpha, char *errstr, size_t errstr_size)
{
    memset(m, 0, sizeof(*m));
    if (k < 1 || k > LW_MONITOR_MAX_K || n <= k || n > LW_MONITOR_MAX_HIST ||
        !(alpha > 0.0 && alpha < 1.0))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "monitor: need 1 <= k <= %u, k < n <= %u and alpha in (0, 1) "
                         "(got k %zu, n %zu, alpha %g)",
                         LW_MONITOR_MAX_K, LW_MONITOR_MAX_HIST, k, n, alpha);
    lw_err_t err = history_fit(y, Z, n, k, m->coef, &m->sigma, errstr, errstr_size);
    if (err == LW_OK) {
        m->version = LW_MONITOR_VERSION;
        m->k = (uint32_t)k;
        m->histsize = n;
        m->rows = n;
        m->alpha = alpha;
        m->critval = lw_monitor_critval(alpha);
        /* strucchange's process cumulates the history residuals too (~0 with a constant) */
        for (size_t t = 0; t < n; t++) {
            double f = 0.0;
            for (size_t j = 0; j < k; j++)
                f += Z[t * k + j] * m->coef[j];
            m->cusum += y[t] - f;
        }
        if (!lw_monitor_check(m))
            err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                            "monitor: degenerate history fit (sigma %g)", m->sigma);
    }
    if (err != LW_OK)
        memset(m, 0, sizeof(*m));
    return err;
}

lw_err_t lw_monitor_update(lw_monitor_t *m, const double *z, double y, double *process,
                           double *boundary, bool *alarm_now, char *errstr, size_t errstr_size)
{
    if (alarm_now)
        *alarm_now = false;
    if (!lw_monitor_check(m))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "monitor: invalid state");
    double f = 0.0;
    for (uint32_t j = 0; j < m->k; j++)
        f += z[j] * m->coef[j];
    const double e = y - f;
    if (!isfinite(e))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "monitor: NaN or Inf in row %llu",
                         (unsigned long long)(m->rows + 1));
    m->cusum += e;
    m->rows++;
    const double pr = m->cusum / (m->sigma * sqrt((double)m->histsize));
    const double b = lw_monitor_boundary(m, m->rows);
    if (fabs(pr) > m->stat)
        m->stat = fabs(pr);
    if (m->alarm == 0 && fabs(pr) > b) {
        m->alarm = m->rows;
        if (alarm_now)
            *alarm_now = true;
    }
    if (process)
        *process = pr;
    if (boundary)
        *boundary = b;
    return LW_OK;
}

lw_err_t lw_monitor_feed(lw_monitor_t *m, const double *y, const double *Z, size_t count,
                         double *process, double *boundary, char *errstr, size_t errstr_size)
{
    for (size_t i = 0; i < count; i++) {
        lw_err_t err = lw_monitor_update(m, Z + i * m->k, y[i], process ? process + i : NULL,
                                         boundary ? boundary + i : NULL, NULL, errstr, errstr_size);
        if (err != LW_OK)
            return err;
    }
    return LW_OK;
}

/* ---- stop monitor (Page CUSUM of the stop LLR; monitor.h) ---------------- */

double lw_stopmon_arl0(double h, double v)
{
    if (!(v > 0.0) || !isfinite(v))
        return (double)NAN;
    const double b = h + 1.166 * sqrt(v);
    return (exp(b) - b - 1.0) / (v / 2.0);
}

double lw_stopmon_threshold(double v, double alpha, double horizon)
{
    if (!(v > 0.0) || !isfinite(v) || !(alpha > 0.0 && alpha < 1.0) || !(horizon >= 1.0))
        return (double)NAN;
    /* ARL0(h) is increasing in h (d/dh = (e^b - 1) / (v/2) > 0) */
    const double target = horizon / -log1p(-alpha);
    double lo = 0.0, hi = 200.0;
    if (lw_stopmon_arl0(lo, v) >= target)
        return 0.0;
    for (int i = 0; i < 200 && hi - lo > 1e-14 * hi; i++) {
        const double mid = 0.5 * (lo + hi);
        if (lw_stopmon_arl0(mid, v) < target)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

bool lw_stopmon_check(const lw_stopmon_t *m)
{
    if (m->version != LW_STOPMON_VERSION || m->k < 1 || m->k > LW_STOPMON_MAX_K ||
        m->histsize <= m->k || m->histsize > LW_MONITOR_MAX_HIST ||
        (m->absorbed > 0 && m->absorbed + m->k + 2 > m->histsize) ||
        (m->alarm != 0 && m->alarm > m->rows))
        return false;
    if (!(m->alpha > 0.0 && m->alpha < 1.0) || !(m->horizon >= 1.0) || !(m->v > 0.0) ||
        !isfinite(m->v) || !(m->h >= 0.0) || !isfinite(m->h) || !(m->sigma > 0.0) ||
        !isfinite(m->sigma) || !(m->stat >= 0.0) || !isfinite(m->stat) ||
        !(m->maxstat >= m->stat) || !isfinite(m->maxstat))
        return false;
    unsigned nlead = 0;
    for (uint32_t j = 0; j < m->k; j++) {
        if (!isfinite(m->coef[j]) || m->lead[j] > 1)
            return false;
        nlead += m->lead[j];
    }
    return nlead > 0;
}

/* g = the part of z'b that the stop removes. */
static double stop_part(const lw_stopmon_t *m, const double *z)
{
    double g = 0.0;
    for (uint32_t j = 0; j < m->k; j++)
        if (m->lead[j])
            g += m->coef[j] * z[j];
    return g;
}

lw_err_t lw_stopmon_init(lw_stopmon_t *m, const double *y, const double *Z, size_t n, size_t k,
                         const unsigned char *lead, double alpha, double horizon, char *errstr,
                         size_t errstr_size)
{
    memset(m, 0, sizeof(*m));
    size_t nlead = 0;
    for (size_t j = 0; j < k && k <= LW_STOPMON_MAX_K; j++)
        nlead += lead[j] != 0;
    if (k < 1 || k > LW_STOPMON_MAX_K || n <= k || n > LW_MONITOR_MAX_HIST || nlead == 0 ||
        !(alpha > 0.0 && alpha < 1.0) || !(horizon >= 1.0))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "stop monitor: need 1 <= k <= %u, k < n <= %u, a lead column, alpha in "
                         "(0, 1) and a horizon >= 1 (got k %zu, n %zu, alpha %g, horizon %g)",
                         LW_STOPMON_MAX_K, LW_MONITOR_MAX_HIST, k, n, alpha, horizon);
    /* Like lw_monitor_init: check the bounds, fit the history, fill this monitor's own fields. */
    lw_err_t err = history_fit(y, Z, n, k, m->coef, &m->sigma, errstr, errstr_size);
    if (err == LW_OK) {
        m->version = LW_STOPMON_VERSION;
        m->k = (uint32_t)k;
        m->histsize = n;
        m->alpha = alpha;
        m->horizon = horizon;
        for (size_t j = 0; j < k; j++)
            m->lead[j] = lead[j] != 0;
        double sg2 = 0.0;
        for (size_t t = 0; t < n; t++) {
            const double g = stop_part(m, Z + t * k);
            sg2 += g * g;
        }
        m->v = sg2 / (double)n / (m->sigma * m->sigma);
        m->h = lw_stopmon_threshold(m->v, alpha, horizon);
        if (!lw_stopmon_check(m))
            err =
                lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                          "stop monitor: degenerate history fit (sigma %g, v %g)", m->sigma, m->v);
    }
    if (err != LW_OK)
        memset(m, 0, sizeof(*m));
    return err;
}

lw_err_t lw_stopmon_update(lw_stopmon_t *m, const double *z, double y, double *llr, bool *alarm_now,
                           char *errstr, size_t errstr_size)
{
    if (alarm_now)
        *alarm_now = false;
    if (!lw_stopmon_check(m))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "stop monitor: invalid state");
    double f = 0.0;
    for (uint32_t j = 0; j < m->k; j++)
        f += z[j] * m->coef[j];
    const double e = y - f, g = stop_part(m, z);
    const double l = -(2.0 * e * g + g * g) / (2.0 * m->sigma * m->sigma);
    if (!isfinite(l))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "stop monitor: NaN or Inf in row %llu", (unsigned long long)(m->rows + 1));
    m->rows++;
    m->stat = m->stat + l > 0.0 ? m->stat + l : 0.0;
    if (m->stat > m->maxstat)
        m->maxstat = m->stat;
    if (m->alarm == 0 && m->stat > m->h) {
        m->alarm = m->rows;
        if (alarm_now)
            *alarm_now = true;
    }
    if (llr)
        *llr = l;
    return LW_OK;
}

lw_err_t lw_stopmon_absorb(lw_stopmon_t *m, size_t extra, char *errstr, size_t errstr_size)
{
    if (!lw_stopmon_check(m) || m->rows != 0 || m->absorbed != 0 ||
        (double)extra + (double)m->k + 2.0 > (double)m->histsize)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "stop monitor: cannot absorb %zu parameters (history %llu, k %u)", extra,
                         (unsigned long long)m->histsize, m->k);
    const double df = (double)(m->histsize - m->k), r = df / (df - (double)extra);
    m->absorbed = extra;
    m->sigma *= sqrt(r);
    m->v /= r;
    m->h = lw_stopmon_threshold(m->v, m->alpha, m->horizon);
    return LW_OK;
}

/* ---- stop monitor threshold by simulation (monitor.h) -------------------- */

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * L with L L' = (Z'Z)^-1 (lower triangle of `l`, k x k), from the Cholesky
 * factor of Z'Z; false when Z'Z is not positive definite.
 */
static bool inv_gram_chol(const double *Z, size_t n, size_t k, double *l)
{
    gsl_matrix_view A = gsl_matrix_view_array(l, k, k);
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b <= a; b++) {
            double s = 0.0;
            for (size_t t = 0; t < n; t++)
                s += Z[t * k + a] * Z[t * k + b];
            l[a * k + b] = l[b * k + a] = s;
        }
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc = gsl_linalg_cholesky_decomp1(&A.matrix);
    if (rc == GSL_SUCCESS)
        rc = gsl_linalg_cholesky_invert(&A.matrix); /* A = (Z'Z)^-1, full */
    if (rc == GSL_SUCCESS)
        rc = gsl_linalg_cholesky_decomp1(&A.matrix); /* lower = L */
    gsl_set_error_handler(old);
    return rc == GSL_SUCCESS;
}

lw_err_t lw_stopmon_calibrate(lw_stopmon_t *m, const double *y, const double *Z, size_t n,
                              size_t reps, uint64_t seed, char *errstr, size_t errstr_size)
{
    if (!lw_stopmon_check(m) || n != m->histsize || reps < 100 || reps > LW_STOPMON_MAX_REPS)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "stop monitor calibration: invalid state, n %zu != history %llu or "
                         "replicates %zu outside 100..%u",
                         n, (unsigned long long)m->histsize, reps, LW_STOPMON_MAX_REPS);
    const size_t k = m->k, horizon = (size_t)ceil(m->horizon);
    const double df = (double)(n - k - m->absorbed), infl = sqrt((double)n / df);
    double *l = malloc(k * k * sizeof(double)), *res = malloc(n * sizeof(double));
    double *maxw = malloc(reps * sizeof(double));
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    lw_err_t err = LW_OK;
    if (!l || !res || !maxw || !rng) {
        err =
            lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "stop monitor calibration: out of memory");
        goto out;
    }
    if (!inv_gram_chol(Z, n, k, l)) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_STATS,
                        "stop monitor calibration: the history's Z'Z is singular");
        goto out;
    }
    for (size_t t = 0; t < n; t++) {
        double f = 0.0;
        for (size_t j = 0; j < k; j++)
            f += Z[t * k + j] * m->coef[j];
        res[t] = (y[t] - f) * infl;
    }
    /* the replicate truth's lead: b_hat's lead part shrunk by s = sqrt(1 - q / Wald), so
     * that its squared size is unbiased (E |b_hat_L|^2_V = |b_L|^2_V + q); else the
     * replicates see a stronger lead than the real monitor faces, drift further from
     * the threshold and set h too low */
    double shrink = 1.0;
    {
        size_t li[LW_STOPMON_MAX_K], q = 0;
        for (size_t j = 0; j < k; j++)
            if (m->lead[j])
                li[q++] = j;
        double vb[LW_STOPMON_MAX_K * LW_STOPMON_MAX_K], bl[LW_STOPMON_MAX_K];
        for (size_t a = 0; a < q; a++) {
            bl[a] = m->coef[li[a]];
            for (size_t b = 0; b < q; b++) {
                double v = 0.0; /* (L L')_{ab} */
                for (size_t c = 0; c < k; c++)
                    v += l[li[a] * k + c] * l[li[b] * k + c] * (c <= li[a] && c <= li[b]);
                vb[a * q + b] = v * m->sigma * m->sigma;
            }
        }
        gsl_matrix_view V = gsl_matrix_view_array(vb, q, q);
        gsl_vector_view bv = gsl_vector_view_array(bl, q);
        double wald = 0.0, sol[LW_STOPMON_MAX_K];
        gsl_vector_view sv = gsl_vector_view_array(sol, q);
        gsl_error_handler_t *old = gsl_set_error_handler_off();
        if (gsl_linalg_cholesky_decomp1(&V.matrix) == GSL_SUCCESS &&
            gsl_linalg_cholesky_solve(&V.matrix, &bv.vector, &sv.vector) == GSL_SUCCESS) {
            for (size_t a = 0; a < q; a++)
                wald += bl[a] * sol[a];
            shrink = wald > (double)q ? sqrt(1.0 - (double)q / wald) : 0.0;
        }
        gsl_set_error_handler(old);
    }
    gsl_rng_set(rng, (unsigned long)(seed ? seed : 1u));
    size_t block = (size_t)lround(cbrt((double)n));
    if (block < 1)
        block = 1;
    for (size_t r = 0; r < reps; r++) {
        /* Parametric bootstrap with the history fit as the truth: the
         * replicate's monitor was fitted on a history of its own, so its
         * coefficients are b_hat + d, d ~ N(0, sigma^2 (Z'Z)^-1), and its
         * sigma is sigma sqrt(chi2_df / df); new rows follow the truth. */
        double w[LW_STOPMON_MAX_K], c[LW_STOPMON_MAX_K];
        for (size_t j = 0; j < k; j++)
            w[j] = gsl_ran_gaussian_ziggurat(rng, 1.0);
        for (size_t a = 0; a < k; a++) {
            double s = 0.0;
            for (size_t b = 0; b <= a; b++)
                s += l[a * k + b] * w[b];
            c[a] = m->sigma * s; /* d */
        }
        const double sm = m->sigma * sqrt(gsl_ran_chisq(rng, df) / df);
        const double s2m = 2.0 * sm * sm;
        double W = 0.0, mw = 0.0;
        size_t row = 0;
        for (size_t t = 0; t < horizon; t++) {
            if (t % block == 0)
                row = (size_t)gsl_rng_uniform_int(rng, (unsigned long)n);
            else
                row = (row + 1) % n;
            const double *z = Z + row * k;
            /* the replicate monitor's residual y - z'(b_hat + d) = u - z'd,
             * its stop part g = sum over lead columns of (b_hat + d)_j z_j */
            double e = res[row], g = 0.0;
            for (size_t j = 0; j < k; j++) {
                e -= z[j] * c[j];
                if (m->lead[j])
                    g += (shrink * m->coef[j] + c[j]) * z[j];
            }
            W += -(2.0 * e * g + g * g) / s2m;
            if (W < 0.0)
                W = 0.0;
            if (W > mw)
                mw = W;
        }
        maxw[r] = mw;
    }
    qsort(maxw, reps, sizeof *maxw, cmp_double);
    /* h = the smallest replicate maximum with at most alpha * reps above it */
    size_t above = (size_t)floor(m->alpha * (double)reps);
    const double h = maxw[reps - 1 - above];
    if (isfinite(h) && h >= 0.0)
        m->h = h;
out:
    gsl_rng_free(rng);
    free(maxw);
    free(res);
    free(l);
    return err;
}
