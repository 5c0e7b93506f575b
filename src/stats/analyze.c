/*
 * analyze.c - the per-edge analysis bundle (the steps are listed in analyze.h).
 *
 * Flow of lw_analyze_tree:
 *   a. Check options and input; resolve the seasonal period from the bucket
 *      size (weekly: 7 for daily buckets, 24 for hourly; unknown size: 7 with
 *      a note).
 *   b. Prepare every column the tree uses once (prep.c), into prepared[col].
 *   c. Per edge: pick the longest run of rows where both prepared series are
 *      defined, copy it into contiguous x[], y[], and run on it: Granger both
 *      ways (granger.c), lagged regressions, rolling-window stability,
 *      sup-F break (breaks.c), rolling-origin forecasts + Clark-West
 *      (forecast.c), prewhitened CCF (ccf.c) and the MDE (sensitivity.c).
 *      One Granger and one OLS workspace, sized for the longest series and
 *      the largest design, serve every edge and window.
 *   d. BH q-values: one family with the primary (IC-chosen lag) p of every
 *      analysable edge in both directions; per edge one family per scan
 *      direction across its lags.
 *   e. Verdicts and reasons.
 *
 * Statistical choices and where they come from:
 *   - Granger: granger.h (statsmodels grangercausalitytests definitions, SSR F
 *     with df (p, n - 3p - 1) on the n rows of the run).
 *   - Lagged regression: statsmodels OLS(y, add_constant(x.shift(k))).fit(
 *     cov_type='HAC', cov_kwds={'maxlags': L}) on rows t = K..n-1, L =
 *     floor(4 (T/100)^(2/9)) unless set (hac.h); t = b / se_HAC, p = 2 Phi(-|t|)
 *     (normal, as statsmodels with use_t=False).  The lead is the k >= 1 with
 *     the largest R^2: with a single regressor on a common sample that is the
 *     largest |correlation| of y_t with x_{t-k}.
 *   - Elasticity: distributed lag y_t = a + sum_{k=1..P} b_k x_{t-k}; the
 *     long-run effect of a sustained unit change of x is B = sum b_k, with
 *     Var(B) = 1' V_HAC 1 over those coefficients.  A 1 % change in x is
 *     0.01 (log) or 0.01 mean(x) (levels); a y change of B times that is
 *     B*0.01 (log y, as a fraction) or B*0.01*mean(x)/mean(y) (levels), so
 *     elasticity = B * (x in logs ? 1 : mean x) / (y in logs ? 1 : mean y),
 *     means of the original values over the rows used.  With differenced
 *     series the same holds for a sustained step in the level.
 *   - Stability: Granger at the chosen lag on sub-windows of W rows every
 *     W/2 rows; a window counts as significant when its p < alpha (raw p: the
 *     windows describe the full-sample result, they are not new discoveries);
 *     the sign of the summed x-lag coefficients of its unrestricted model is
 *     compared with the full sample's.  Stable = at least 3 windows fitted
 *     and a share >= stable_min_sign with the full-sample sign.
 *
 * Verdict (the first rule that applies):
 *   insufficient_data  a side unusable after preparation, fewer complete
 *                      consecutive rows than 3 max_lag + 2, a constant
 *                      series, or no feasible lag;
 *   feedback           q(x->y) < alpha and q(y->x) < alpha;
 *   reverse            q(y->x) < alpha only;
 *   inconclusive       neither; or x->y only but unstable (sign consistency
 *                      below stable_min_sign), no out-of-sample skill
 *                      (Clark-West p >= alpha), or one of those checks
 *                      could not run (the reason names it);
 *   leads              x->y only, stable, positive out-of-sample skill.
 * A significant structural break and "not sensitive" (MDE above the
 * threshold) are reported as reasons but do not change the verdict.
 */
#include "leadwatch/stats/analyze.h"

#include "leadwatch/stats/hac.h"
#include "leadwatch/stats/multitest.h"
#include "leadwatch/stats/ols.h"
#include "leadwatch/core/timeutil.h"

#include <errno.h>
#include <float.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- names */

static const char *const VERDICT_NAMES[] = {"leads", "reverse", "feedback", "inconclusive",
                                            "insufficient_data"};

const char *lw_verdict_name(lw_verdict_t v)
{
    return (unsigned)v <= LW_VERDICT_INSUFFICIENT_DATA ? VERDICT_NAMES[v] : "?";
}

const char *lw_step_name(lw_step_t s)
{
    switch (s) {
    case LW_STEP_OK: return "ok";
    case LW_STEP_SKIPPED: return "skipped";
    case LW_STEP_UNAVAILABLE: return "unavailable";
    }
    return "?";
}

/* ---------------------------------------------------------------- helpers */

static void add_reason(lw_edge_result_t *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_reason(lw_edge_result_t *e, const char *fmt, ...)
{
    if (e->nreasons >= LW_ANALYZE_MAX_REASONS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reasons[e->nreasons++], LW_ANALYZE_REASON_SIZE, fmt, ap);
    va_end(ap);
}

static void note(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(char *dst, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, LW_ANALYZE_NOTE_SIZE, fmt, ap);
    va_end(ap);
}

void lw_analysis_row_label(const lw_analysis_t *a, size_t row, char *buf, size_t size)
{
    if (a->labels && row < a->nrows)
        snprintf(buf, size, "%s", a->labels[row]);
    else
        snprintf(buf, size, "row %zu", row + 1);
}

static bool is_constant(const double *v, size_t n)
{
    double lo = v[0], hi = v[0], scale = fabs(v[0]);
    for (size_t i = 1; i < n; i++) {
        if (v[i] < lo)
            lo = v[i];
        if (v[i] > hi)
            hi = v[i];
        if (fabs(v[i]) > scale)
            scale = fabs(v[i]);
    }
    return hi - lo <= 1e-13 * scale;
}

static double mean_of(const double *v, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s / (double)n;
}

/* Shared per-call workspaces. */
typedef struct {
    const lw_analyze_opts_t *o;
    lw_granger_t *g;
    lw_ols_t *ols;
    double *X, *yv;           /* design and regressand scratch: nrows x kmax, nrows */
    double *x, *y;            /* the edge's run, contiguous */
    double *xr, *yr;          /* original values over the run */
    lw_granger_lag_t *wrec;   /* stability scratch: max_lag records */
    double *mu, *G, *b, *dsc; /* normal-equation scratch (granger_lag_ne) */
    double *hac_work;         /* lw_hac_cov scratch (one column) */
    double *sx;               /* sensitivity: adjusted levels of the run */
    size_t season_period;     /* resolved */
} work_t;

/*
 * The lag-p Granger pair of models on x[0..n), y[0..n) by normal equations:
 * the SSR F statistic of granger.h (df p, m - 2p - 1, m = n - p) and the sum
 * of the x-lag coefficients of the unrestricted model.
 *
 * Only slopes and SSRs are needed, so (Frisch-Waugh) every column and y are
 * centred over the rows used and the constant dropped.  With the Jacobi-scaled
 * Gram G = L L' (Cholesky, GSL) and z = L^-1 X'y:
 *   SSR_u = y'y - |z|^2,  SSR_r = y'y - |z_1..p|^2,
 * because the restricted model's columns (y lags) are the leading block and
 * the Cholesky factor of a leading block is the leading block of L.
 * Why not lw_granger_scan / lw_ols_fit here: the stability windows need one
 * lag on many windows, and scanning every lag with pivoted QR fallbacks was a
 * third of the analysis time.  The y'y - |z|^2 form loses relative accuracy
 * only when the fit is nearly perfect, so that case (SSR_u < 1e-8 y'y) and a
 * failed Cholesky return false and the caller falls back to the verified
 * modules.  tests/test_analyze.c checks F against lw_granger_scan.
 */
static bool granger_lag_ne(work_t *w, const double *x, const double *y, size_t n, size_t p,
                           double *F, double *fp, double *sum)
{
    const size_t k = 2 * p, m = n - p;
    if (m <= k + 1)
        return false;
    double *mu = w->mu, *G = w->G, *z = w->b, *c = w->yv;
    /* column j < p: y lag j+1; j >= p: x lag j-p+1; mu[k] = mean of y */
    for (size_t j = 0; j <= k; j++)
        mu[j] = 0.0;
    for (size_t t = p; t < n; t++) {
        for (size_t j = 0; j < p; j++) {
            mu[j] += y[t - j - 1];
            mu[p + j] += x[t - j - 1];
        }
        mu[k] += y[t];
    }
    for (size_t j = 0; j <= k; j++)
        mu[j] /= (double)m;
    memset(G, 0, k * k * sizeof(double));
    memset(z, 0, k * sizeof(double));
    double yy = 0.0;
    for (size_t t = p; t < n; t++) {
        for (size_t j = 0; j < p; j++) {
            c[j] = y[t - j - 1] - mu[j];
            c[p + j] = x[t - j - 1] - mu[p + j];
        }
        const double yc = y[t] - mu[k];
        yy += yc * yc;
        for (size_t i = 0; i < k; i++) {
            z[i] += c[i] * yc;
            for (size_t j = 0; j <= i; j++)
                G[i * k + j] += c[i] * c[j];
        }
    }
    for (size_t i = 0; i < k; i++) {
        if (!(G[i * k + i] > 0.0))
            return false;
        w->dsc[i] = 1.0 / sqrt(G[i * k + i]);
    }
    for (size_t i = 0; i < k; i++) {
        for (size_t j = 0; j <= i; j++) {
            G[i * k + j] *= w->dsc[i] * w->dsc[j];
            G[j * k + i] = G[i * k + j];
        }
        z[i] *= w->dsc[i];
    }
    gsl_matrix_view Gv = gsl_matrix_view_array(G, k, k);
    gsl_vector_view zv = gsl_vector_view_array(z, k);
    if (gsl_linalg_cholesky_decomp1(&Gv.matrix) != GSL_SUCCESS ||
        gsl_blas_dtrsv(CblasLower, CblasNoTrans, CblasNonUnit, &Gv.matrix, &zv.vector) !=
            GSL_SUCCESS)
        return false;
    double zr = 0.0, zu = 0.0;
    for (size_t i = 0; i < k; i++) {
        zu += z[i] * z[i];
        if (i < p)
            zr += z[i] * z[i];
    }
    const double ssr_u = yy - zu, ssr_r = yy - zr;
    if (!(ssr_u > 1e-8 * yy) || !(ssr_r >= ssr_u))
        return false;
    if (gsl_blas_dtrsv(CblasLower, CblasTrans, CblasNonUnit, &Gv.matrix, &zv.vector) != GSL_SUCCESS)
        return false;
    double s = 0.0;
    for (size_t j = p; j < k; j++)
        s += z[j] * w->dsc[j];
    const double df_d = (double)(m - k - 1);
    *F = (ssr_r - ssr_u) / ssr_u / (double)p * df_d;
    *fp = gsl_cdf_fdist_Q(*F, (double)p, df_d);
    *sum = s;
    return isfinite(s) && isfinite(*F);
}

/* Sum of the x-lag coefficients of the unrestricted lag-p model, by QR (fallback path). */
static bool effect_sum_qr(work_t *w, const double *x, const double *y, size_t n, size_t p,
                          double *sum)
{
    const size_t kk = 2 * p + 1, m = n - p;
    for (size_t t = p; t < n; t++) {
        double *row = w->X + (t - p) * kk;
        row[0] = 1.0;
        for (size_t j = 1; j <= p; j++) {
            row[j] = y[t - j];
            row[p + j] = x[t - j];
        }
        w->yv[t - p] = y[t];
    }
    lw_ols_result_t r;
    if (lw_ols_fit(w->ols, w->X, w->yv, m, kk, 0, 0, &r, NULL, 0) != LW_OK)
        return false;
    double s = 0.0;
    for (size_t j = 1; j <= p; j++)
        s += r.params[p + j];
    *sum = s;
    return isfinite(s);
}

/* The lag-p test and effect sum: normal equations, else granger.c + QR. */
static bool granger_lag(work_t *w, const double *x, const double *y, size_t n, size_t p, double *F,
                        double *fp, double *sum)
{
    if (granger_lag_ne(w, x, y, n, p, F, fp, sum))
        return true;
    if (lw_granger_scan(w->g, y, x, n, p, w->wrec, NULL, 0) != LW_OK ||
        w->wrec[p - 1].status != LW_OK)
        return false;
    *F = w->wrec[p - 1].f;
    *fp = w->wrec[p - 1].f_p;
    return effect_sum_qr(w, x, y, n, p, sum);
}

/*
 * y_t = a + b x_{t-k} on rows t = K..n-1 with Newey-West errors.  The
 * two-column fit is done in closed form on centred sums (b = Sxy / Sxx), which
 * is exact up to rounding and avoids a QR per lag (29 per edge); the HAC
 * variance of b is hac.c's, reduced to one column as explained below, with
 * (X'X)^-1 = [S2, -S1; -S1, m] / (m Sxx), S1 = sum x, S2 = sum x^2.
 */
static bool simple_hac_fit(work_t *w, const double *x, const double *y, size_t n, size_t K,
                           size_t k, lw_lagreg_t *L)
{
    const size_t m = n - K;
    double xm = 0.0, ym = 0.0;
    for (size_t t = K; t < n; t++) {
        xm += x[t - k];
        ym += y[t];
    }
    xm /= (double)m;
    ym /= (double)m;
    double sxx = 0.0, sxy = 0.0, syy = 0.0;
    for (size_t t = K; t < n; t++) {
        const double dx = x[t - k] - xm, dy = y[t] - ym;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if (!(sxx > 0.0) || !(syy > 0.0))
        return false;
    const double b = sxy / sxx, a = ym - b * xm;
    /* Var(b) = a' S a with a = (X'X)^-1 e_2 = (-S1, m) / (m Sxx): the scalar
     * Bartlett sum of v_t u_t, v_t = a'x_t (see the distributed-lag comment). */
    const double S1 = (double)m * xm, det = (double)m * sxx;
    const double a0 = -S1 / det, a1 = (double)m / det;
    double ssr = 0.0;
    for (size_t t = K; t < n; t++) {
        const double u = y[t] - a - b * x[t - k];
        w->X[t - K] = a0 + a1 * x[t - k];
        w->yv[t - K] = u;
        ssr += u * u;
    }
    if (ssr < DBL_EPSILON * syy)
        return false; /* perfect fit: no meaningful standard error */
    const double one = 1.0;
    double var = 0.0;
    const size_t hl = w->o->hac_lags ? w->o->hac_lags : lw_hac_default_lags(m);
    if (lw_hac_cov(w->X, w->yv, m, 1, &one, hl, false, &var, w->hac_work, NULL, 0) != LW_OK ||
        !(var > 0.0))
        return false;
    L->ok = true;
    L->nobs = m;
    L->coef = b;
    L->se_hac = sqrt(var);
    L->t = b / L->se_hac;
    L->p = 2.0 * gsl_cdf_ugaussian_Q(fabs(L->t));
    L->r2 = 1.0 - ssr / syy;
    return isfinite(L->t) && isfinite(L->r2);
}

/* Step 3: lagged regressions, lead, distributed lag and elasticity. */
static void lagged_regression(work_t *w, lw_edge_result_t *e, size_t n)
{
    const size_t K = e->max_lag, m = n - K;
    const double *x = w->x, *y = w->y;
    double best_r2 = -1.0;
    for (size_t k = 0; k <= K; k++) {
        lw_lagreg_t *L = &e->lagreg[k];
        L->k = k;
        if (simple_hac_fit(w, x, y, n, K, k, L) && k >= 1 && L->r2 > best_r2) {
            best_r2 = L->r2;
            e->lead = k;
        }
    }
    e->hac_lags = w->o->hac_lags ? w->o->hac_lags : lw_hac_default_lags(m);
    if (e->lead == 0) {
        e->lagreg_status = LW_STEP_SKIPPED;
        note(e->lagreg_note, "no lagged regression could be fitted");
        return;
    }
    e->lagreg_status = LW_STEP_OK;

    /* distributed lag 1..P */
    size_t P = e->lag > e->lead ? e->lag : e->lead;
    const size_t k = P + 1, mp = n - P;
    for (size_t t = P; t < n; t++) {
        double *row = w->X + (t - P) * k;
        row[0] = 1.0;
        for (size_t j = 1; j <= P; j++)
            row[j] = x[t - j];
        w->yv[t - P] = y[t];
    }
    /*
     * Var(sum b) = c' V_HAC c with c selecting b_1..b_P.  Since V_HAC = A S A
     * (A = (X'X)^-1, S the Bartlett-weighted sum of g_t g_{t-j}', g_t = x_t u_t),
     * c' A S A c is the same Bartlett sum for the scalar series (a' x_t) u_t,
     * a = A c: lw_hac_cov with one column and A = 1 gives it in O(n L)
     * instead of O(n L P^2).  Identical to the full matrix (tested).
     */
    lw_ols_result_t r;
    char err[128];
    if (lw_ols_fit(w->ols, w->X, w->yv, mp, k, 0, 0, &r, err, sizeof err) != LW_OK) {
        e->elasticity_basis = "undefined: the distributed-lag regression could not be fitted";
        return;
    }
    double *av = w->mu; /* k */
    for (size_t i = 0; i < k; i++) {
        av[i] = 0.0;
        for (size_t j = 1; j <= P; j++)
            av[i] += r.xtx_inv[i * k + j];
    }
    for (size_t t = 0; t < mp; t++) {
        const double *row = w->X + t * k;
        double v = 0.0;
        for (size_t i = 0; i < k; i++)
            v += av[i] * row[i];
        w->G[t] = v; /* G holds max(kmax^2, nrows) doubles */
    }
    double s = 0.0, v = 0.0;
    for (size_t i = 1; i <= P; i++)
        s += r.params[i];
    const double one = 1.0;
    const size_t hl = w->o->hac_lags ? w->o->hac_lags : lw_hac_default_lags(mp);
    if (lw_hac_cov(w->G, r.resid, mp, 1, &one, hl, false, &v, w->hac_work, NULL, 0) != LW_OK) {
        e->elasticity_basis = "undefined: HAC variance of the summed coefficients failed";
        return;
    }
    e->dl_lags = P;
    e->dl_nobs = mp;
    e->dl_sum = s;
    e->dl_sum_se_hac = v > 0.0 ? sqrt(v) : 0.0;
    e->dl_sum_p = v > 0.0 ? 2.0 * gsl_cdf_ugaussian_Q(fabs(s / sqrt(v))) : 1.0;

    const bool xlog = e->prep_from.log, ylog = e->prep_to.log;
    const double xbar = mean_of(w->xr, n), ybar = mean_of(w->yr, n);
    double scale = 1.0;
    if (!xlog)
        scale *= xbar;
    if (!ylog) {
        if (!(fabs(ybar) > 0.0)) {
            e->elasticity_basis = "undefined: the mean of y is 0";
            return;
        }
        scale /= ybar;
    }
    if (!isfinite(scale) || (!xlog && !(xbar > 0.0)) || (!ylog && !(ybar > 0.0))) {
        e->elasticity_basis = "undefined: a mean is not positive";
        return;
    }
    e->elasticity = s * scale;
    e->elasticity_se = e->dl_sum_se_hac * fabs(scale);
    e->elasticity_defined = isfinite(e->elasticity) && isfinite(e->elasticity_se);
    e->elasticity_basis = xlog && ylog ? "log-log: summed coefficients"
                          : xlog       ? "semi-log: summed coefficients / mean(y)"
                          : ylog       ? "semi-log: summed coefficients * mean(x)"
                                       : "levels: summed coefficients * mean(x) / mean(y)";
}

/* Step 5 (rolling part). */
static void stability_windows(work_t *w, lw_edge_result_t *e, size_t n)
{
    const size_t p = e->lag;
    size_t W = w->o->window;
    if (W == 0) {
        W = n / 4;
        if (W < 5 * p + 20)
            W = 5 * p + 20;
    }
    e->stab_window = W;
    e->stab_step = W / 2 ? W / 2 : 1;
    if (W < lw_granger_min_nobs(p)) {
        e->stab_status = LW_STEP_SKIPPED;
        note(e->stab_note, "window %zu is shorter than the %zu rows lag %zu needs", W,
             lw_granger_min_nobs(p), p);
        return;
    }
    if (n < W + 2 * e->stab_step) {
        e->stab_status = LW_STEP_SKIPPED;
        note(e->stab_note, "%zu rows give fewer than 3 windows of %zu (step %zu); need %zu", n, W,
             e->stab_step, W + 2 * e->stab_step);
        return;
    }
    size_t nvalid = 0;
    for (size_t s = 0; s + W <= n; s += e->stab_step) {
        if (is_constant(w->x + s, W) || is_constant(w->y + s, W))
            continue;
        double F, fp, sum;
        if (!granger_lag(w, w->x + s, w->y + s, W, p, &F, &fp, &sum))
            continue;
        nvalid++;
        if (fp < w->o->alpha)
            e->stab_nsig++;
        if ((sum > 0.0) == (e->effect_sum > 0.0))
            e->stab_nsame_sign++;
    }
    e->stab_nwindows = nvalid;
    if (nvalid < 3) {
        e->stab_status = LW_STEP_SKIPPED;
        note(e->stab_note, "only %zu sub-windows could be fitted; need 3", nvalid);
        return;
    }
    e->stab_status = LW_STEP_OK;
    e->stab_frac_sig = (double)e->stab_nsig / (double)nvalid;
    e->stab_sign_consistency = (double)e->stab_nsame_sign / (double)nvalid;
    e->stable = e->stab_sign_consistency >= w->o->stable_min_sign;
}

/*
 * Step 5, break part: Andrews sup-F (breaks.h) for a change in every
 * coefficient of y_t = c + sum_{j<=q} g_j y_{t-j} + sum_{j<=q} b_j x_{t-j},
 * q = min(lag, 4) so that k = 2q + 1 <= 9 stays inside Hansen's p-value
 * table, 15 % trimming.  A break is reported when p < alpha; it is a
 * warning in the reasons, not a veto of `leads` (the relationship held on
 * average; SIMULATOR.md expects `leads` with a break).
 */
static void structural_break(work_t *w, lw_edge_result_t *e, size_t n)
{
    const size_t q = e->lag < 4 ? e->lag : 4;
    e->break_lags = q;
    char err[LW_BREAKS_REASON_SIZE];
    if (lw_breaks_supf_lags(w->y, w->x, n, q, q, LW_BREAKS_DEFAULT_TRIM, &e->brk, NULL, err,
                            sizeof err) != LW_OK) {
        e->break_status = LW_STEP_SKIPPED;
        note(e->break_note, "%s", err);
        return;
    }
    e->break_status = LW_STEP_OK;
    e->break_row = e->row_first + e->brk.break_period;
    e->break_found = e->brk.p_defined && e->brk.p < w->o->alpha;
}

/*
 * Step 6: forecast.h with ylags = xlags = min(lag, LW_FORECAST_MAX_LAGS) and
 * the default first window (half the rows).  Skill = Clark-West one-sided
 * p < alpha: x's lags forecast y better than y's own past, allowing for the
 * noise of estimating the extra coefficients.
 */
static void out_of_sample(work_t *w, lw_edge_result_t *e, size_t n)
{
    const size_t L = e->lag < LW_FORECAST_MAX_LAGS ? e->lag : LW_FORECAST_MAX_LAGS;
    char err[LW_FORECAST_REASON_SIZE];
    if (lw_forecast_oos(w->y, w->x, n, L, L, 0, &e->oos, NULL, NULL, err, sizeof err) != LW_OK) {
        e->oos_status = LW_STEP_SKIPPED;
        note(e->oos_note, "%s", err);
        return;
    }
    e->oos_status = LW_STEP_OK;
    e->oos_skill = e->oos.cw_p < w->o->alpha;
}

/* Step 3b: ccf.h on the prepared run, lags -K..K, default AR order bound. */
static void cross_correlation(work_t *w, lw_edge_result_t *e, size_t n)
{
    char err[LW_CCF_REASON_SIZE];
    if (lw_ccf_prewhitened(w->x, w->y, n, e->max_lag, LW_CCF_DEFAULT_AR, &e->ccf, e->ccf_r, err,
                           sizeof err) != LW_OK) {
        e->ccf_status = LW_STEP_SKIPPED;
        note(e->ccf_note, "%s", err);
        return;
    }
    e->ccf_status = LW_STEP_OK;
}

/*
 * Step 7: sensitivity.h on `from`'s original values over the run, with the
 * seasonal pattern removed (prep.c, transform none: the level is kept) so
 * that day-of-week swings do not count as noise.  alpha is fixed at 0.05 as
 * the issue states; power, horizon and threshold come from the options.
 */
static void sensitivity(work_t *w, lw_edge_result_t *e, size_t n)
{
    lw_prep_opts_t po = {LW_TRANSFORM_NONE, w->season_period, 0.05, true};
    lw_prep_info_t info;
    char err[LW_SENS_REASON_SIZE];
    if (lw_prep_series(w->xr, n, &po, w->sx, &info, err, sizeof err) != LW_OK || !info.usable) {
        e->sens_status = LW_STEP_SKIPPED;
        note(e->sens_note, "seasonal adjustment of the levels failed: %s",
             info.usable ? err : info.note);
        return;
    }
    lw_sens_opts_t so;
    lw_sens_opts_init(&so);
    so.power = w->o->mde_power;
    so.horizon = w->o->mde_horizon;
    so.threshold = w->o->mde_threshold;
    if (lw_sensitivity_mde(w->sx, n, &so, &e->sens, err, sizeof err) != LW_OK) {
        e->sens_status = LW_STEP_SKIPPED;
        note(e->sens_note, "%s", err);
        return;
    }
    e->sens_status = LW_STEP_OK;
}

/* Steps 1-3 and 5-7 for one edge. */
static lw_err_t analyse_edge(work_t *w, lw_edge_result_t *e, const double *px, const double *py,
                             const lw_analyze_input_t *in, char *errstr, size_t errstr_size)
{
    const size_t K = w->o->max_lag, nrows = in->nrows;
    e->max_lag = K;
    e->rows_total = nrows;
    e->min_nobs = lw_granger_min_nobs(K);

    e->granger = calloc(K, sizeof(lw_granger_lag_t));
    e->granger_reverse = calloc(K, sizeof(lw_granger_lag_t));
    e->q_lags = calloc(K, sizeof(double));
    e->q_lags_reverse = calloc(K, sizeof(double));
    e->q_lags_defined = calloc(K, sizeof(bool));
    e->q_lags_reverse_defined = calloc(K, sizeof(bool));
    e->lagreg = calloc(K + 1, sizeof(lw_lagreg_t));
    e->ccf_r = calloc(2 * K + 1, sizeof(double));
    if (!e->granger || !e->granger_reverse || !e->q_lags || !e->q_lags_reverse ||
        !e->q_lags_defined || !e->q_lags_reverse_defined || !e->lagreg || !e->ccf_r)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "analyze: out of memory");

    e->lagreg_status = e->stab_status = LW_STEP_SKIPPED;
    note(e->lagreg_note, "not run: insufficient data");
    note(e->stab_note, "not run: insufficient data");
    e->break_status = e->oos_status = e->sens_status = e->ccf_status = LW_STEP_SKIPPED;
    note(e->break_note, "not run: insufficient data");
    note(e->oos_note, "not run: insufficient data");
    note(e->ccf_note, "not run: insufficient data");
    note(e->sens_note, "not run: insufficient data");
    e->elasticity_basis = "not computed";
    e->verdict = LW_VERDICT_INSUFFICIENT_DATA;

    if (!e->prep_from.usable) {
        add_reason(e, "%s: %s", e->from, e->prep_from.note);
        return LW_OK;
    }
    if (!e->prep_to.usable) {
        add_reason(e, "%s: %s", e->to, e->prep_to.note);
        return LW_OK;
    }
    for (size_t t = 0; t < nrows; t++)
        if (!isfinite(px[t]) || !isfinite(py[t]))
            e->rows_incomplete++;
    const double *pair[2] = {px, py};
    size_t start, n;
    lw_prep_longest_run(pair, 2, nrows, &start, &n);
    e->row_first = start;
    e->rows_used = n;
    if (n < e->min_nobs) {
        add_reason(e,
                   "only %zu consecutive rows with both series defined (%zu of %zu rows have a "
                   "missing value after preparation); lags 1..%zu need at least 3*%zu+2 = %zu",
                   n, e->rows_incomplete, nrows, K, K, e->min_nobs);
        return LW_OK;
    }
    for (size_t i = 0; i < n; i++) {
        w->x[i] = px[start + i];
        w->y[i] = py[start + i];
        w->xr[i] = in->values[(start + i) * in->nseries + e->from_col];
        w->yr[i] = in->values[(start + i) * in->nseries + e->to_col];
    }
    if (is_constant(w->x, n)) {
        add_reason(e, "%s is constant over the %zu rows used (after preparation)", e->from, n);
        return LW_OK;
    }
    if (is_constant(w->y, n)) {
        add_reason(e, "%s is constant over the %zu rows used (after preparation)", e->to, n);
        return LW_OK;
    }

    /* 2. Granger both ways */
    char gerr[160];
    if (lw_granger_scan(w->g, w->y, w->x, n, K, e->granger, gerr, sizeof gerr) != LW_OK ||
        lw_granger_scan(w->g, w->x, w->y, n, K, e->granger_reverse, gerr, sizeof gerr) != LW_OK) {
        add_reason(e, "Granger test not possible: %s", gerr);
        return LW_OK;
    }
    size_t bi;
    if (lw_granger_select_lag(e->granger, K, w->o->ic, &bi) != LW_OK) {
        add_reason(e, "no lag 1..%zu is feasible for %s -> %s (lag 1: %s)", K, e->from, e->to,
                   e->granger[0].reason);
        return LW_OK;
    }
    e->lag = bi + 1;
    e->p = e->granger[bi].f_p;
    if (lw_granger_select_lag(e->granger_reverse, K, w->o->ic, &bi) == LW_OK) {
        e->lag_reverse = bi + 1;
        e->p_reverse = e->granger_reverse[bi].f_p;
    }
    e->analysed = true;
    double F_ne, p_ne;
    e->effect_sum_defined = granger_lag(w, w->x, w->y, n, e->lag, &F_ne, &p_ne, &e->effect_sum);

    /* 3. lagged regression */
    lagged_regression(w, e, n);

    /* 5. stability (rolling windows, structural break) */
    if (e->effect_sum_defined) {
        stability_windows(w, e, n);
    } else {
        e->stab_status = LW_STEP_SKIPPED;
        note(e->stab_note, "the full-sample effect could not be estimated");
    }
    structural_break(w, e, n);

    /* 6. out-of-sample skill */
    out_of_sample(w, e, n);

    /* 3b. prewhitened cross-correlation, 7. sensitivity */
    cross_correlation(w, e, n);
    sensitivity(w, e, n);
    return LW_OK;
}

lw_err_t lw_analyze_lag_test(const double *x, const double *y, size_t n, size_t p, double *F,
                             double *pvalue, double *effect_sum, char *errstr, size_t errstr_size)
{
    if (p == 0 || p > LW_ANALYZE_MAX_LAG || n < lw_granger_min_nobs(p) || n > LW_ANALYZE_MAX_ROWS)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "lag test: lag %zu needs 3*%zu+2 = %zu rows, have %zu", p, p,
                         lw_granger_min_nobs(p), n);
    lw_analyze_opts_t o;
    lw_analyze_opts_default(&o);
    const size_t k = 2 * p + 1;
    work_t w = {.o = &o};
    lw_err_t err = lw_granger_new(n, p, &w.g, errstr, errstr_size);
    if (err == LW_OK)
        err = lw_ols_new(n, k, &w.ols, errstr, errstr_size);
    if (err != LW_OK)
        goto free_work;
    w.X = malloc(n * k * sizeof(double));
    w.yv = malloc(n * sizeof(double));
    w.wrec = calloc(p, sizeof(lw_granger_lag_t));
    w.mu = malloc((k + 1) * sizeof(double));
    w.G = malloc((k * k > n ? k * k : n) * sizeof(double));
    w.b = malloc(k * sizeof(double));
    w.dsc = malloc(k * sizeof(double));
    if (!w.X || !w.yv || !w.wrec || !w.mu || !w.G || !w.b || !w.dsc) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "lag test: out of memory");
        goto free_work;
    }
    if (!granger_lag(&w, x, y, n, p, F, pvalue, effect_sum))
        err = lw_seterr(errstr, errstr_size, LW_ERR_STATS, "lag test: infeasible at lag %zu", p);
free_work:
    lw_granger_destroy(w.g);
    lw_ols_destroy(w.ols);
    free(w.X);
    free(w.yv);
    free(w.wrec);
    free(w.mu);
    free(w.G);
    free(w.b);
    free(w.dsc);
    return err;
}

/* Step 4 for one scan: q across lags. */
static lw_err_t lag_qvalues(const lw_granger_lag_t *recs, size_t K, double *q, bool *qdef,
                            char *errstr, size_t errstr_size)
{
    double p[LW_ANALYZE_MAX_LAG];
    bool d[LW_ANALYZE_MAX_LAG];
    for (size_t i = 0; i < K; i++) {
        d[i] = recs[i].status == LW_OK;
        p[i] = d[i] ? recs[i].f_p : 1.0;
    }
    return lw_bh_qvalues(p, d, K, q, qdef, NULL, errstr, errstr_size);
}

static void fmt_p(char *buf, size_t size, double p)
{
    if (p < 1e-300)
        snprintf(buf, size, "<1e-300");
    else
        snprintf(buf, size, "%.3g", p);
}

/* Step 8. */
static void decide_verdict(const lw_analysis_t *a, lw_edge_result_t *e)
{
    const lw_analyze_opts_t *o = &a->opts;
    if (!e->analysed) {
        e->verdict = LW_VERDICT_INSUFFICIENT_DATA;
        return;
    }
    const double alpha = o->alpha;
    const bool fwd = e->q_defined && e->q < alpha;
    const bool rev = e->q_reverse_defined && e->q_reverse < alpha;
    const lw_granger_lag_t *g = &e->granger[e->lag - 1];
    char pb[32], qb[32];
    fmt_p(pb, sizeof pb, e->p);
    fmt_p(qb, sizeof qb, e->q);
    add_reason(e, "%s -> %s %s: F(%.0f, %.0f) = %.3g, p = %s, q = %s at lag %zu (chosen by %s)",
               e->from, e->to, fwd ? "significant" : "not significant", g->df_num, g->df_denom,
               g->f, pb, qb, e->lag, o->ic == LW_IC_BIC ? "BIC" : "AIC");
    if (e->lag_reverse) {
        const lw_granger_lag_t *r = &e->granger_reverse[e->lag_reverse - 1];
        fmt_p(pb, sizeof pb, e->p_reverse);
        fmt_p(qb, sizeof qb, e->q_reverse);
        add_reason(e, "%s -> %s %s: F(%.0f, %.0f) = %.3g, p = %s, q = %s at lag %zu", e->to,
                   e->from, rev ? "significant" : "not significant", r->df_num, r->df_denom, r->f,
                   pb, qb, e->lag_reverse);
    } else {
        add_reason(e, "%s -> %s: no feasible lag", e->to, e->from);
    }
    if (fwd && rev) {
        e->verdict = LW_VERDICT_FEEDBACK;
        add_reason(e, "both directions significant after BH at alpha %g: feedback", alpha);
        return;
    }
    if (rev) {
        e->verdict = LW_VERDICT_REVERSE;
        add_reason(e, "%s leads %s, not the other way round", e->to, e->from);
        return;
    }
    if (!fwd) {
        e->verdict = LW_VERDICT_INCONCLUSIVE;
        add_reason(e, "neither direction significant after BH at alpha %g", alpha);
        return;
    }

    bool ok = true;
    if (e->lagreg_status == LW_STEP_OK)
        add_reason(e, "lead %zu (largest R^2 of y_t on x_{t-k}, k >= 1)%s", e->lead,
                   e->elasticity_defined ? "" : "; elasticity undefined");
    if (e->stab_status != LW_STEP_OK) {
        ok = false;
        add_reason(e, "stability could not be checked: %s", e->stab_note);
    } else if (!e->stable) {
        ok = false;
        add_reason(e,
                   "unstable: the summed effect has the full-sample sign in %zu of %zu "
                   "sub-windows of %zu (need %.0f%%)",
                   e->stab_nsame_sign, e->stab_nwindows, e->stab_window,
                   100.0 * o->stable_min_sign);
    } else {
        add_reason(e, "stable: same sign in %zu of %zu sub-windows of %zu, %zu with p < %g",
                   e->stab_nsame_sign, e->stab_nwindows, e->stab_window, e->stab_nsig, alpha);
    }
    if (e->break_status != LW_STEP_OK) {
        add_reason(e, "structural-break test could not run: %s", e->break_note);
    } else if (e->break_found) {
        char lb[LW_ANALYZE_LABEL_SIZE];
        lw_analysis_row_label(a, e->break_row, lb, sizeof lb);
        fmt_p(pb, sizeof pb, e->brk.p);
        add_reason(e, "warning: the relationship changed around %s (sup-F %.3g, p = %s)", lb,
                   e->brk.sup_f, pb);
    }
    if (e->oos_status != LW_STEP_OK) {
        ok = false;
        add_reason(e, "out-of-sample skill could not be checked: %s", e->oos_note);
    } else {
        fmt_p(pb, sizeof pb, e->oos.cw_p);
        if (!e->oos_skill)
            ok = false;
        add_reason(e,
                   "%s out-of-sample skill: RMSE %+.1f%% with %s's lags over %zu one-step "
                   "forecasts, Clark-West p = %s",
                   e->oos_skill ? "positive" : "no significant", -100.0 * e->oos.rel_rmse_change,
                   e->from, e->oos.noos, pb);
    }
    e->verdict = ok ? LW_VERDICT_LEADS : LW_VERDICT_INCONCLUSIVE;
    if (!ok)
        add_reason(e,
                   "%s -> %s is significant and %s -> %s is not, but not every check for "
                   "`leads` passed",
                   e->from, e->to, e->to, e->from);
}

/* Step 8 plus the descriptive reasons every analysed edge gets. */
static void decide(const lw_analysis_t *a, lw_edge_result_t *e)
{
    const lw_analyze_opts_t *o = &a->opts;
    decide_verdict(a, e);
    if (!e->analysed)
        return;
    if (e->ccf_status == LW_STEP_OK)
        add_reason(e, "prewhitened cross-correlation peaks at lead %zu (r = %.3f, band +-%.3f%s)",
                   e->ccf.lead, e->ccf.lead_r, e->ccf.band,
                   e->ccf.lead_significant ? "" : ", inside the band");
    if (e->sens_status != LW_STEP_OK)
        add_reason(e, "sensitivity (MDE) could not be computed: %s", e->sens_note);
    else
        add_reason(e,
                   "%s: a %zu-bucket experiment detects a change of %.1f%% (alpha 0.05, power "
                   "%.2g; threshold %.0f%%)",
                   e->sens.sensitive ? "sensitive" : "not sensitive", e->sens.horizon,
                   100.0 * e->sens.mde_rel, o->mde_power, 100.0 * o->mde_threshold);
}

/* ---------------------------------------------------------------- the tree */

void lw_analysis_free(lw_analysis_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nedges; i++) {
        lw_edge_result_t *e = &a->edges[i];
        free(e->granger);
        free(e->granger_reverse);
        free(e->q_lags);
        free(e->q_lags_reverse);
        free(e->q_lags_defined);
        free(e->q_lags_reverse_defined);
        free(e->lagreg);
        free(e->ccf_r);
    }
    free(a->edges);
    free(a);
}

static lw_err_t check_input(const lw_analyze_input_t *in, char *errstr, size_t errstr_size)
{
    if (in->nseries == 0 || in->nseries > LW_ANALYZE_MAX_SERIES)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "analyze: %zu series (1..%u)",
                         in->nseries, LW_ANALYZE_MAX_SERIES);
    if (in->nrows > LW_ANALYZE_MAX_ROWS)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "analyze: %zu rows, bound %u",
                         in->nrows, LW_ANALYZE_MAX_ROWS);
    if (in->nrows > 0 && !in->values)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "analyze: no values");
    if (in->nsm >= in->nseries || (in->kpi >= 0 && (size_t)in->kpi >= in->nseries) ||
        (in->kpi >= 0 && (size_t)in->kpi == in->nsm))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "analyze: bad NSM/KPI column");
    const size_t nedges = in->ninputs + (in->kpi >= 0 ? 1 : 0);
    if (nedges == 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "analyze: the tree has no edges (no inputs and no KPI)");
    if (nedges > LW_ANALYZE_MAX_EDGES)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "analyze: %zu edges, bound %u",
                         nedges, LW_ANALYZE_MAX_EDGES);
    for (size_t i = 0; i < in->ninputs; i++)
        if (in->inputs[i] >= in->nseries || in->inputs[i] == in->nsm)
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                             "analyze: input %zu is out of range or the NSM itself", i);
    return LW_OK;
}

static lw_err_t resolve_season(const lw_analyze_opts_t *o, const lw_analyze_input_t *in,
                               lw_analysis_t *a, char *errstr, size_t errstr_size)
{
    switch (o->seasonal) {
    case LW_SEASONAL_NONE:
        a->season_period = 0;
        note(a->season_note, "none");
        break;
    case LW_SEASONAL_PERIOD:
        a->season_period = o->seasonal_period;
        note(a->season_note, "period %zu: the mean of each phase (row mod %zu) removed",
             o->seasonal_period, o->seasonal_period);
        break;
    case LW_SEASONAL_WEEKLY:
        if (in->bucket_ms == LW_MS_PER_DAY) {
            a->season_period = 7;
            note(a->season_note, "weekly: day-of-week means removed (period 7)");
        } else if (in->bucket_ms == LW_MS_PER_HOUR) {
            a->season_period = 24;
            note(a->season_note, "weekly on hourly buckets: hour-of-day means removed (period 24)");
        } else if (in->bucket_ms == 0) {
            a->season_period = 7;
            note(a->season_note, "weekly: bucket size unknown (labels are not dates), assumed "
                                 "daily: day-of-week means removed (period 7)");
        } else {
            return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                             "seasonal: weekly needs hourly or daily buckets (these are %.6g h); "
                             "use none or a period",
                             (double)in->bucket_ms / 3600000.0);
        }
        break;
    }
    return LW_OK;
}

lw_err_t lw_analyze_tree(const lw_analyze_opts_t *opts, const lw_analyze_input_t *in,
                         lw_analysis_t **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    lw_err_t err = lw_analyze_opts_check(opts, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    err = check_input(in, errstr, errstr_size);
    if (err != LW_OK)
        return err;

    const size_t K = opts->max_lag, nrows = in->nrows, ns = in->nseries;
    const size_t nedges = in->ninputs + (in->kpi >= 0 ? 1 : 0);
    lw_analysis_t *a = calloc(1, sizeof(*a));
    double *prepared = NULL, *col = NULL;
    lw_prep_info_t *pinfo = NULL;
    bool *used = NULL;
    work_t w = {0};
    if (!a)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "analyze: out of memory");
    a->opts = *opts;
    a->window = in->window;
    a->nrows = nrows;
    a->bucket_ms = in->bucket_ms;
    a->labels = in->labels;
    err = resolve_season(opts, in, a, errstr, errstr_size);
    if (err != LW_OK)
        goto free_result;
    if (nrows > 0) {
        lw_analysis_row_label(a, 0, a->first_label, sizeof a->first_label);
        lw_analysis_row_label(a, nrows - 1, a->last_label, sizeof a->last_label);
    }
    a->edges = calloc(nedges, sizeof(lw_edge_result_t));
    if (!a->edges) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "analyze: out of memory");
        goto free_result;
    }
    a->nedges = nedges;

    /* b. prepare each used column */
    const size_t nr1 = nrows ? nrows : 1;
    prepared = malloc(ns * nr1 * sizeof(double));
    col = malloc(nr1 * sizeof(double));
    pinfo = calloc(ns, sizeof(lw_prep_info_t));
    used = calloc(ns, sizeof(bool));
    if (!prepared || !col || !pinfo || !used) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "analyze: out of memory");
        goto free_scratch;
    }
    used[in->nsm] = true;
    if (in->kpi >= 0)
        used[in->kpi] = true;
    for (size_t i = 0; i < in->ninputs; i++)
        used[in->inputs[i]] = true;
    lw_prep_opts_t po = {opts->transform, a->season_period, opts->adf_alpha, false};
    for (size_t c = 0; c < ns; c++) {
        if (!used[c])
            continue;
        for (size_t t = 0; t < nrows; t++)
            col[t] = in->values[t * ns + c];
        err = lw_prep_series(col, nrows, &po, prepared + c * nr1, &pinfo[c], errstr, errstr_size);
        if (err != LW_OK)
            goto free_scratch;
    }

    /* c. workspaces */
    const size_t kmax = 2 * K + 1;
    const bool can_fit = nrows >= lw_granger_min_nobs(K);
    if (can_fit) {
        err = lw_granger_new(nrows, K, &w.g, errstr, errstr_size);
        if (err == LW_OK)
            err = lw_ols_new(nrows, kmax, &w.ols, errstr, errstr_size);
        if (err != LW_OK)
            goto free_work;
    }
    w.o = opts;
    w.X = malloc(nr1 * kmax * sizeof(double));
    w.yv = malloc(nr1 * sizeof(double));
    w.x = malloc(nr1 * sizeof(double));
    w.y = malloc(nr1 * sizeof(double));
    w.xr = malloc(nr1 * sizeof(double));
    w.yr = malloc(nr1 * sizeof(double));
    w.wrec = calloc(K, sizeof(lw_granger_lag_t));
    w.mu = malloc((kmax + 1) * sizeof(double));
    w.G = malloc((kmax * kmax > nr1 ? kmax * kmax : nr1) * sizeof(double));
    w.b = malloc(kmax * sizeof(double));
    w.dsc = malloc(kmax * sizeof(double));
    w.hac_work = malloc(lw_hac_work_size(2) * sizeof(double));
    w.sx = malloc(nr1 * sizeof(double));
    w.season_period = a->season_period;
    if (!w.X || !w.yv || !w.x || !w.y || !w.xr || !w.yr || !w.wrec || !w.mu || !w.G || !w.b ||
        !w.dsc || !w.hac_work || !w.sx) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "analyze: out of memory");
        goto free_work;
    }

    for (size_t i = 0; i < nedges; i++) {
        lw_edge_result_t *e = &a->edges[i];
        const bool is_kpi = i == in->ninputs;
        e->from_col = is_kpi ? in->nsm : in->inputs[i];
        e->to_col = is_kpi ? (size_t)in->kpi : in->nsm;
        e->role = is_kpi ? "kpi" : "input";
        snprintf(e->from, sizeof e->from, "%s", in->names[e->from_col]);
        snprintf(e->to, sizeof e->to, "%s", in->names[e->to_col]);
        snprintf(e->kind, sizeof e->kind, "%s",
                 is_kpi ? "nsm"
                        : (in->input_kinds && in->input_kinds[i] ? in->input_kinds[i] : ""));
        e->prep_from = pinfo[e->from_col];
        e->prep_to = pinfo[e->to_col];
        if (!can_fit) {
            /* no workspace: report the same reason analyse_edge would */
            e->max_lag = K;
            e->rows_total = nrows;
            e->min_nobs = lw_granger_min_nobs(K);
        }
        if (can_fit) {
            err = analyse_edge(&w, e, prepared + e->from_col * nr1, prepared + e->to_col * nr1, in,
                               errstr, errstr_size);
            if (err != LW_OK)
                goto free_work;
        } else {
            e->granger = calloc(K, sizeof(lw_granger_lag_t));
            e->granger_reverse = calloc(K, sizeof(lw_granger_lag_t));
            e->q_lags = calloc(K, sizeof(double));
            e->q_lags_reverse = calloc(K, sizeof(double));
            e->q_lags_defined = calloc(K, sizeof(bool));
            e->q_lags_reverse_defined = calloc(K, sizeof(bool));
            e->lagreg = calloc(K + 1, sizeof(lw_lagreg_t));
            e->ccf_r = calloc(2 * K + 1, sizeof(double));
            if (!e->granger || !e->granger_reverse || !e->q_lags || !e->q_lags_reverse ||
                !e->q_lags_defined || !e->q_lags_reverse_defined || !e->lagreg || !e->ccf_r) {
                err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "analyze: out of memory");
                goto free_work;
            }
            e->verdict = LW_VERDICT_INSUFFICIENT_DATA;
            e->lagreg_status = e->stab_status = LW_STEP_SKIPPED;
            e->break_status = e->oos_status = e->sens_status = e->ccf_status = LW_STEP_SKIPPED;
            note(e->lagreg_note, "not run: insufficient data");
            note(e->stab_note, "not run: insufficient data");
            note(e->ccf_note, "not run: insufficient data");
            note(e->break_note, "not run: insufficient data");
            note(e->oos_note, "not run: insufficient data");
            note(e->sens_note, "not run: insufficient data");
            e->elasticity_basis = "not computed";
            add_reason(e, "%zu rows; lags 1..%zu need at least 3*%zu+2 = %zu", nrows, K, K,
                       e->min_nobs);
        }
    }

    /* d. BH across edges (both directions) and across lags */
    {
        double p[2 * LW_ANALYZE_MAX_EDGES], q[2 * LW_ANALYZE_MAX_EDGES];
        bool d[2 * LW_ANALYZE_MAX_EDGES], qd[2 * LW_ANALYZE_MAX_EDGES];
        for (size_t i = 0; i < nedges; i++) {
            const lw_edge_result_t *e = &a->edges[i];
            d[2 * i] = e->analysed && e->lag > 0;
            p[2 * i] = d[2 * i] ? e->p : 1.0;
            d[2 * i + 1] = e->analysed && e->lag_reverse > 0;
            p[2 * i + 1] = d[2 * i + 1] ? e->p_reverse : 1.0;
        }
        err = lw_bh_qvalues(p, d, 2 * nedges, q, qd, &a->bh_family, errstr, errstr_size);
        if (err != LW_OK)
            goto free_work;
        for (size_t i = 0; i < nedges; i++) {
            lw_edge_result_t *e = &a->edges[i];
            e->q = q[2 * i];
            e->q_defined = qd[2 * i];
            e->q_reverse = q[2 * i + 1];
            e->q_reverse_defined = qd[2 * i + 1];
            if (e->analysed) {
                err = lag_qvalues(e->granger, K, e->q_lags, e->q_lags_defined, errstr, errstr_size);
                if (err == LW_OK)
                    err = lag_qvalues(e->granger_reverse, K, e->q_lags_reverse,
                                      e->q_lags_reverse_defined, errstr, errstr_size);
                if (err != LW_OK)
                    goto free_work;
            }
        }
    }

    /* e. verdicts */
    for (size_t i = 0; i < nedges; i++)
        decide(a, &a->edges[i]);

    *out = a;
    a = NULL;
    err = LW_OK;

free_work:
    lw_granger_destroy(w.g);
    lw_ols_destroy(w.ols);
    free(w.X);
    free(w.yv);
    free(w.x);
    free(w.y);
    free(w.xr);
    free(w.yr);
    free(w.wrec);
    free(w.mu);
    free(w.G);
    free(w.b);
    free(w.dsc);
    free(w.hac_work);
    free(w.sx);
free_scratch:
    free(prepared);
    free(col);
    free(pinfo);
    free(used);
free_result:
    lw_analysis_free(a);
    return err;
}
