/*
 * test_granger.c - Granger scan vs statsmodels grangercausalitytests
 * (tests/data/stats_refs/granger_<case>.txt from scripts/gen_stats_refs.py), both
 * directions, every lag; degenerate inputs; lag selection.
 *
 * Tolerances (issue 4 acceptance): every field relative 1e-9; p-values with
 * an absolute floor of 1e-12 (tail areas that small carry no information and
 * GSL's and scipy's incomplete-beta tails differ in the last digits there);
 * df and nobs exactly.
 *
 * The tightest case is granger_const_noise (levels 1000 and 50 with noise of
 * 0.01 and 0.001): statsmodels fits the uncentred data and its own F is off
 * by ~1e-10 relative there (checked for lag 1 with exact rational arithmetic:
 * F = 5.8723394117571805; we give ...1948, statsmodels ...6372534), which
 * shows up as ~1e-9 in the far-tail chi2 p-value at lag 14.  Run with
 * LW_TEST_VERBOSE=1 to list every field that differs by more than 1e-11.
 *
 * Issue 11 kernels (scripts/gen_stats_refs3.py, tests/data/stats_refs3/):
 * lw_granger_select_common against statsmodels OLS fits of every lag on the
 * common rows (AIC, BIC, the choice; relative 1e-9), the test at the chosen
 * lag and the Toda-Yamamoto Wald test against OLS f_test / wald_test
 * (relative 1e-9, p-values with the 1e-12 floor), and the rescaling check:
 * y * 1000 moves the per-lag-sample choice but not the common-sample one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/cholrec.h"
#include "leadwatch/stats/granger.h"
#include "leadwatch/stats/nprefix.h"
#include "leadwatch/stats/ols.h"
#include "stats_refs.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CASES[] = {
    "granger_n60",         "granger_n200",           "granger_lead730",
    "granger_const_noise", "granger_near_collinear", "granger_random_walk400",
    "granger_weekly730",   "granger_macro_gdp_cons",
};

enum { F_LAG, F_NOBS, F_F, F_FP, F_DFN, F_DFD, F_CHI2, F_CHI2P, F_LR, F_LRP, F_AIC, F_BIC, F_LLF };

static double worst_rel;

static void check_field(const char *c, size_t lag, const char *what, double got, double want,
                        double abs_floor)
{
    const double rel = ref_relerr(got, want);
    if (rel > worst_rel && !(fabs(got - want) <= abs_floor))
        worst_rel = rel;
    if (getenv("LW_TEST_VERBOSE") && rel > 1e-11)
        printf("      %s lag %zu %s: got %.17g want %.17g rel %.2e\n", c, lag, what, got, want,
               rel);
    if (!ref_close(got, want, 1e-9, abs_floor)) {
        fail_msg("%s lag %zu %s: got %.17g want %.17g (rel %.3g)", c, lag, what, got, want, rel);
    }
}

static void check_records(const char *c, const ref_file_t *rf, const char *key,
                          const lw_granger_lag_t *recs, size_t K)
{
    for (size_t p = 1; p <= K; p++) {
        const ref_line_t *l = ref_nth(rf, key, p - 1);
        assert_non_null(l);
        assert_int_equal(l->n, 13);
        const lw_granger_lag_t *r = &recs[p - 1];
        if (r->status != LW_OK)
            fail_msg("%s %s lag %zu failed: %s", c, key, p, r->reason);
        assert_int_equal(r->lag, (size_t)l->v[F_LAG]);
        assert_int_equal(r->nobs, (size_t)l->v[F_NOBS]);
        assert_true(r->df_num == l->v[F_DFN]);
        assert_true(r->df_denom == l->v[F_DFD]);
        assert_true(r->chi2_df == l->v[F_DFN]);
        check_field(c, p, "F", r->f, l->v[F_F], 0.0);
        check_field(c, p, "F_p", r->f_p, l->v[F_FP], 1e-12);
        check_field(c, p, "chi2", r->chi2, l->v[F_CHI2], 0.0);
        check_field(c, p, "chi2_p", r->chi2_p, l->v[F_CHI2P], 1e-12);
        check_field(c, p, "lr", r->lr, l->v[F_LR], 0.0);
        check_field(c, p, "lr_p", r->lr_p, l->v[F_LRP], 1e-12);
        check_field(c, p, "aic", r->aic, l->v[F_AIC], 0.0);
        check_field(c, p, "bic", r->bic, l->v[F_BIC], 0.0);
        check_field(c, p, "llf_u", r->llf_u, l->v[F_LLF], 0.0);
    }
}

static void test_against_statsmodels(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof(CASES) / sizeof(CASES[0]); ci++) {
        ref_file_t rf;
        assert_true(ref_load(CASES[ci], &rf));
        const ref_line_t *y = ref_get(&rf, "y"), *x = ref_get(&rf, "x");
        const ref_line_t *ml = ref_get(&rf, "maxlag");
        assert_non_null(y);
        assert_non_null(x);
        assert_non_null(ml);
        assert_int_equal(y->n, x->n);
        const size_t K = (size_t)ml->v[0], n = y->n;
        lw_granger_t *g = NULL;
        char err[256] = "";
        assert_int_equal(lw_granger_new(n, K, &g, err, sizeof(err)), LW_OK);
        lw_granger_lag_t *recs = calloc(K, sizeof(*recs));
        assert_non_null(recs);
        worst_rel = 0.0;
        assert_int_equal(lw_granger_scan(g, y->v, x->v, n, K, recs, err, sizeof(err)), LW_OK);
        check_records(CASES[ci], &rf, "lag", recs, K);
        assert_int_equal(lw_granger_scan(g, x->v, y->v, n, K, recs, err, sizeof(err)), LW_OK);
        check_records(CASES[ci], &rf, "rlag", recs, K);
        printf("    %-24s n=%4zu lags 1..%2zu  worst relative error %.2e\n", CASES[ci], n, K,
               worst_rel);

        /* Lag selection agrees with the argmin over statsmodels' AIC/BIC. */
        assert_int_equal(lw_granger_scan(g, y->v, x->v, n, K, recs, err, sizeof(err)), LW_OK);
        for (int ic = 0; ic < 2; ic++) {
            size_t want = 0;
            for (size_t p = 1; p < K; p++) {
                const size_t f = ic ? F_BIC : F_AIC;
                if (ref_nth(&rf, "lag", p)->v[f] < ref_nth(&rf, "lag", want)->v[f])
                    want = p;
            }
            size_t got = SIZE_MAX;
            assert_int_equal(lw_granger_select_lag(recs, K, ic ? LW_IC_BIC : LW_IC_AIC, &got),
                             LW_OK);
            assert_int_equal(got, want);
        }
        free(recs);
        lw_granger_destroy(g);
        ref_free(&rf);
    }
}

/* The true lead (x -> y at lag 3) is found by BIC and is significant; the
 * reverse direction is not. */
static void test_true_lead(void **state)
{
    (void)state;
    ref_file_t rf;
    assert_true(ref_load("granger_lead730", &rf));
    const ref_line_t *y = ref_get(&rf, "y"), *x = ref_get(&rf, "x");
    lw_granger_t *g = NULL;
    assert_int_equal(lw_granger_new(y->n, 28, &g, NULL, 0), LW_OK);
    lw_granger_lag_t recs[28];
    assert_int_equal(lw_granger_scan(g, y->v, x->v, y->n, 28, recs, NULL, 0), LW_OK);
    size_t best = 0;
    assert_int_equal(lw_granger_select_lag(recs, 28, LW_IC_BIC, &best), LW_OK);
    assert_int_equal(recs[best].lag, 3);
    assert_true(recs[best].f_p < 1e-10);
    assert_int_equal(lw_granger_scan(g, x->v, y->v, y->n, 28, recs, NULL, 0), LW_OK);
    assert_true(recs[2].f_p > 0.001);
    lw_granger_destroy(g);
    ref_free(&rf);
}

/* Bit for bit the records of a fresh workspace's scan (status, df, every statistic). */
static void assert_same_scan(const lw_granger_lag_t *got, const double *y, const double *x,
                             size_t n, size_t K, const char *what)
{
    lw_granger_t *fresh = NULL;
    assert_int_equal(lw_granger_new(n, K, &fresh, NULL, 0), LW_OK);
    lw_granger_lag_t want[28];
    assert_int_equal(lw_granger_scan(fresh, y, x, n, K, want, NULL, 0), LW_OK);
    for (size_t p = 0; p < K; p++) {
        const lw_granger_lag_t *a = &got[p], *b = &want[p];
        const double va[] = {a->f,    a->f_p,   a->chi2,   a->chi2_p,  a->lr,
                             a->lr_p, a->ssr_r, a->ssr_u,  a->llf_r,   a->llf_u,
                             a->aic,  a->bic,   a->df_num, a->df_denom};
        const double vb[] = {b->f,    b->f_p,   b->chi2,   b->chi2_p,  b->lr,
                             b->lr_p, b->ssr_r, b->ssr_u,  b->llf_r,   b->llf_u,
                             b->aic,  b->bic,   b->df_num, b->df_denom};
        if (a->status != b->status || a->nobs != b->nobs || a->lag != b->lag ||
            memcmp(va, vb, sizeof va) != 0)
            fail_msg("%s: lag %zu differs from a fresh workspace (F %.17g vs %.17g)", what, p + 1,
                     a->f, b->f);
    }
    lw_granger_destroy(fresh);
}

/* Issue 17: a scan of (x, y) after one of (y, x) on the same workspace reads the
 * prefix sums already built, roles swapped; the same pair again reads them as they
 * are; a shorter max_lag reuses them, a longer one or a changed series rebuilds.
 * Every scan must give what a fresh workspace gives, bit for bit. */
static void test_scan_reuses_prefixes(void **state)
{
    (void)state;
    ref_file_t rf;
    assert_true(ref_load("granger_lead730", &rf));
    const ref_line_t *yl = ref_get(&rf, "y"), *xl = ref_get(&rf, "x");
    const size_t n = yl->n;
    double *y = malloc(n * sizeof *y), *x = malloc(n * sizeof *x);
    assert_non_null(y);
    assert_non_null(x);
    memcpy(y, yl->v, n * sizeof *y);
    memcpy(x, xl->v, n * sizeof *x);
    lw_granger_t *g = NULL;
    assert_int_equal(lw_granger_new(n, 28, &g, NULL, 0), LW_OK);
    lw_granger_lag_t recs[28];
    assert_int_equal(lw_granger_scan(g, y, x, n, 20, recs, NULL, 0), LW_OK);
    assert_same_scan(recs, y, x, n, 20, "first (y, x)");
    assert_int_equal(lw_granger_scan(g, x, y, n, 20, recs, NULL, 0), LW_OK);
    assert_same_scan(recs, x, y, n, 20, "(x, y) after (y, x)");
    assert_int_equal(lw_granger_scan(g, x, y, n, 12, recs, NULL, 0), LW_OK);
    assert_same_scan(recs, x, y, n, 12, "(x, y) again, shorter max_lag");
    assert_int_equal(lw_granger_scan(g, y, x, n, 20, recs, NULL, 0), LW_OK);
    assert_same_scan(recs, y, x, n, 20, "(y, x) after (x, y)");
    assert_int_equal(lw_granger_scan(g, x, y, n, 28, recs, NULL, 0), LW_OK);
    assert_same_scan(recs, x, y, n, 28, "(x, y), longer max_lag");
    x[n / 2] += 1.0; /* one value changed: the prefixes are stale */
    assert_int_equal(lw_granger_scan(g, y, x, n, 28, recs, NULL, 0), LW_OK);
    assert_same_scan(recs, y, x, n, 28, "(y, x') after (x, y)");
    assert_int_equal(lw_granger_scan(g, x, y, n - 1, 28, recs, NULL, 0), LW_OK);
    assert_same_scan(recs, x, y, n - 1, 28, "(x', y), one point fewer");
    assert_int_equal(lw_granger_scan(g, y, y, n, 5, recs, NULL, 0), LW_OK); /* both slots y */
    assert_same_scan(recs, y, y, n, 5, "(y, y)");
    assert_int_equal(lw_granger_scan(g, y, x, n, 28, recs, NULL, 0), LW_OK);
    assert_same_scan(recs, y, x, n, 28, "(y, x') after (y, y)");
    lw_granger_destroy(g);
    free(y);
    free(x);
    ref_free(&rf);
}

static bool no_nan(const lw_granger_lag_t *r)
{
    const double v[] = {r->f,  r->f_p,  r->df_num, r->df_denom, r->chi2, r->chi2_p,
                        r->lr, r->lr_p, r->ssr_r,  r->ssr_u,    r->aic,  r->bic};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

static void test_degenerate_inputs(void **state)
{
    (void)state;
    enum { N = 100, K = 5 };
    double y[N], x[N];
    for (size_t t = 0; t < N; t++) {
        y[t] = sin(0.3 * (double)t) + 0.01 * (double)(t % 7);
        x[t] = cos(0.7 * (double)t) + 0.02 * (double)(t % 5);
    }
    lw_granger_t *g = NULL;
    char err[256] = "";
    assert_int_equal(lw_granger_new(N, K, &g, err, sizeof(err)), LW_OK);
    lw_granger_lag_t recs[K];

    /* constant series */
    double c[N];
    for (size_t t = 0; t < N; t++)
        c[t] = 4.0;
    assert_int_equal(lw_granger_scan(g, c, x, N, K, recs, err, sizeof(err)), LW_ERR_INVALID);
    assert_non_null(strstr(err, "y is constant"));
    assert_int_equal(lw_granger_scan(g, y, c, N, K, recs, err, sizeof(err)), LW_ERR_INVALID);
    assert_non_null(strstr(err, "x is constant"));

    /* NaN and Inf */
    double bad[N];
    memcpy(bad, x, sizeof(bad));
    bad[17] = (double)NAN;
    assert_int_equal(lw_granger_scan(g, y, bad, N, K, recs, err, sizeof(err)), LW_ERR_INVALID);
    assert_non_null(strstr(err, "x[17]"));
    bad[17] = (double)INFINITY;
    assert_int_equal(lw_granger_scan(g, bad, x, N, K, recs, err, sizeof(err)), LW_ERR_INVALID);

    /* too short for the lag structure: minimum is 3K + 2 */
    assert_int_equal(lw_granger_min_nobs(K), 17);
    assert_int_equal(lw_granger_scan(g, y, x, 16, K, recs, err, sizeof(err)), LW_ERR_INVALID);
    assert_non_null(strstr(err, "need >= 3*lag+2 = 17"));
    assert_int_equal(lw_granger_scan(g, y, x, 17, K, recs, err, sizeof(err)), LW_OK);
    for (size_t p = 0; p < K; p++)
        assert_true(recs[p].status != LW_OK || no_nan(&recs[p]));
    assert_int_equal(lw_granger_scan(g, y, x, N, 0, recs, err, sizeof(err)), LW_ERR_INVALID);
    assert_int_equal(lw_granger_scan(g, y, x, N, K + 1, recs, err, sizeof(err)), LW_ERR_TOO_LARGE);

    /* x constant except its last value: no lag column of x ever reaches the
     * last point, so every x lag is constant over the rows used
     * (statsmodels: InfeasibleTestError) */
    double xc[N];
    for (size_t t = 0; t < N; t++)
        xc[t] = t == N - 1 ? 1.0 : 2.0;
    assert_int_equal(lw_granger_scan(g, y, xc, N, K, recs, err, sizeof(err)), LW_OK);
    for (size_t p = 0; p < K; p++) {
        assert_int_equal(recs[p].status, LW_ERR_STATS);
        assert_non_null(strstr(recs[p].reason, "constant"));
        assert_true(no_nan(&recs[p]));
    }
    /* ... and constant except its first value: lag p sees x[0] only while
     * p - i == 0, i.e. in column i = p, so every lag is feasible */
    for (size_t t = 0; t < N; t++)
        xc[t] = t == 0 ? 1.0 : 2.0;
    assert_int_equal(lw_granger_scan(g, y, xc, N, K, recs, err, sizeof(err)), LW_OK);
    assert_int_equal(recs[0].status, LW_OK);
    assert_true(no_nan(&recs[0]));

    /* exact collinearity between x lags and y lags: x = y, so x_{t-i} = y_{t-i}
     * for every lag (statsmodels' pinv would silently drop half the design) */
    double xs[N];
    for (size_t t = 0; t < N; t++)
        xs[t] = y[t];
    assert_int_equal(lw_granger_scan(g, y, xs, N, K, recs, err, sizeof(err)), LW_OK);
    for (size_t p = 0; p < K; p++) {
        assert_int_equal(recs[p].status, LW_ERR_STATS);
        assert_non_null(strstr(recs[p].reason, "singular"));
    }

    /* perfect fit: y is exactly x lagged once */
    double yp[N];
    for (size_t t = 0; t < N; t++)
        yp[t] = t == 0 ? 0.5 : x[t - 1];
    assert_int_equal(lw_granger_scan(g, yp, x, N, K, recs, err, sizeof(err)), LW_OK);
    for (size_t p = 0; p < K; p++) {
        assert_int_equal(recs[p].status, LW_ERR_STATS);
        assert_true(no_nan(&recs[p]));
    }
    size_t best;
    assert_int_equal(lw_granger_select_lag(recs, K, LW_IC_AIC, &best), LW_ERR_NOT_FOUND);

    /* workspace bounds */
    lw_granger_t *g2 = NULL;
    assert_int_equal(lw_granger_new(10, 5, &g2, err, sizeof(err)), LW_ERR_INVALID);
    assert_null(g2);
    assert_int_equal(lw_granger_new(100000, LW_GRANGER_MAX_LAG + 1, &g2, err, sizeof(err)),
                     LW_ERR_TOO_LARGE);
    lw_granger_destroy(g);
}

/* The rcond guard (granger.c step 5) on a design where it must act: x = y + 1e-6 v, so
 * every x lag is the same y lag plus a tiny independent part, and y_t depends on v_{t-1}
 * (the fit puts coefficients of about +-1e6 on x_{t-1} and y_{t-1}).  The scaled Gram's
 * condition number is of order 1e12: its Cholesky succeeds, but the normal equations lose
 * digits, so every lag must be sent to pivoted QR.  Reference: lw_ols_fit (QR) of both
 * models on the explicit design, F and the SSRs to 1e-9.  With the guard disabled
 * (GRANGER_RCOND_MIN 0) this test fails (checked when it was written: at lag 1 the SSR is
 * then 6e-7 and F 7e-7 off, relative). */
static void test_rcond_guard_near_collinear(void **state)
{
    (void)state;
    enum { N = 400, K = 4 };
    static double y[N], x[N], v[N], X[N * (2 * K + 1)], yy[N];
    uint64_t st = 123u;
    for (size_t t = 0; t < N; t++) {
        v[t] = ref_unit(&st);
        y[t] = (t ? 0.5 * y[t - 1] + 0.8 * v[t - 1] : 0.0) + 0.3 * ref_unit(&st);
        x[t] = y[t] + 1e-6 * v[t];
    }
    lw_granger_t *g = NULL;
    char err[200] = "";
    assert_int_equal(lw_granger_new(N, K, &g, err, sizeof(err)), LW_OK);
    lw_granger_lag_t recs[K];
    assert_int_equal(lw_granger_scan(g, y, x, N, K, recs, err, sizeof(err)), LW_OK);
    lw_ols_t *ols = NULL;
    assert_int_equal(lw_ols_new(N, 2 * K + 1, &ols, err, sizeof(err)), LW_OK);
    for (size_t p = 1; p <= K; p++) {
        const size_t m = N - p, k = 2 * p + 1;
        double ssr[2];
        for (int restricted = 0; restricted < 2; restricted++) {
            const size_t kk = restricted ? p + 1 : k;
            for (size_t r = 0; r < m; r++) {
                const size_t t = r + p;
                double *row = X + r * kk;
                row[0] = 1.0;
                for (size_t c = 1; c < kk; c++)
                    row[c] = c <= p ? y[t - c] : x[t - (c - p)];
                yy[r] = y[t];
            }
            lw_ols_result_t fit;
            assert_int_equal(lw_ols_fit(ols, X, yy, m, kk, 0, 0, &fit, err, sizeof(err)), LW_OK);
            ssr[restricted] = fit.ssr;
        }
        const lw_granger_lag_t *r = &recs[p - 1];
        assert_int_equal(r->status, LW_OK);
        const double f = (ssr[1] - ssr[0]) / ssr[0] / (double)p * (double)(m - k);
        assert_true(f > 100.0); /* v_{t-1} is a strong lead */
        if (!ref_close(r->ssr_u, ssr[0], 1e-9, 0.0) || !ref_close(r->ssr_r, ssr[1], 1e-9, 0.0) ||
            !ref_close(r->f, f, 1e-9, 0.0))
            fail_msg("lag %zu: ssr_u %.17g want %.17g, F %.17g want %.17g (relative %.3g)", p,
                     r->ssr_u, ssr[0], r->f, f, fabs(r->f - f) / f);
    }
    lw_ols_destroy(ols);
    lw_granger_destroy(g);
}

static const char *const COMMON_CASES[] = {
    "../stats_refs3/grangercommon_lead730", "../stats_refs3/grangercommon_trend365",
    "../stats_refs3/grangercommon_null200", "../stats_refs3/grangercommon_macro"};

static void close_or_fail(const char *c, const char *what, double got, double want, double floor_)
{
    if (!ref_close(got, want, 1e-9, floor_))
        fail_msg("%s %s: got %.17g want %.17g", c, what, got, want);
}

static void test_select_common_against_statsmodels(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof(COMMON_CASES) / sizeof(COMMON_CASES[0]); ci++) {
        const char *c = COMMON_CASES[ci];
        ref_file_t rf;
        assert_true(ref_load(c, &rf));
        const ref_line_t *y = ref_get(&rf, "y"), *x = ref_get(&rf, "x");
        const size_t K = (size_t)ref_get(&rf, "maxlag")->v[0];
        const ref_line_t *best = ref_get(&rf, "best"), *bests = ref_get(&rf, "best_scaled");
        assert_non_null(best);
        assert_non_null(bests);
        double aic[LW_GRANGER_MAX_LAG], bic[LW_GRANGER_MAX_LAG];
        size_t pa = 0, pb = 0;
        char err[256] = "";
        if (lw_granger_select_common(y->v, x->v, y->n, K, LW_IC_AIC, &pa, aic, err, sizeof(err)) !=
            LW_OK)
            fail_msg("%s: %s", c, err);
        assert_int_equal(
            lw_granger_select_common(y->v, x->v, y->n, K, LW_IC_BIC, &pb, bic, err, sizeof(err)),
            LW_OK);
        const ref_line_t *l;
        size_t nic = 0;
        for (size_t i = 0; (l = ref_nth(&rf, "ic", i)) != NULL; i++, nic++) {
            const size_t p = (size_t)l->v[0];
            close_or_fail(c, "aic", aic[p - 1], l->v[1], 0.0);
            close_or_fail(c, "bic", bic[p - 1], l->v[2], 0.0);
        }
        assert_int_equal(nic, K);
        assert_int_equal(pa, (size_t)best->v[0]);
        assert_int_equal(pb, (size_t)best->v[1]);
        assert_int_equal(pa, (size_t)bests->v[0]);
        /* the test at each chosen lag = Toda-Yamamoto with d = 0 */
        size_t ntest = 0;
        for (size_t i = 0; (l = ref_nth(&rf, "test", i)) != NULL; i++, ntest++) {
            lw_granger_ty_t t;
            assert_int_equal(
                lw_granger_ty(y->v, x->v, y->n, (size_t)l->v[0], 0, &t, err, sizeof(err)), LW_OK);
            close_or_fail(c, "F", t.f, l->v[1], 0.0);
            close_or_fail(c, "F p", t.f_p, l->v[2], 1e-12);
            assert_true(t.df_num == l->v[3] && t.df_denom == l->v[4]);
            assert_int_equal(t.nobs, (size_t)l->v[5]);
        }
        assert_true(ntest >= 1);
        printf("    %-40s K=%2zu  chosen AIC %zu BIC %zu\n", c, K, pa, pb);
        ref_free(&rf);
    }
}

/* y * 1000: the per-lag-sample choice (lw_granger_scan + select_lag) moves to
 * a longer lag (each lag's llf shifts by -(n - p) ln 1000, favouring large p:
 * cause (1) of issue 11); the common-sample choice stays. */
static void test_select_common_rescale(void **state)
{
    (void)state;
    ref_file_t rf;
    assert_true(ref_load("../stats_refs3/grangercommon_lead730", &rf));
    const ref_line_t *y = ref_get(&rf, "y"), *x = ref_get(&rf, "x");
    const size_t n = y->n, K = 28;
    double *ys = malloc(n * sizeof(double)), *xs = malloc(n * sizeof(double));
    assert_non_null(ys);
    assert_non_null(xs);
    for (size_t i = 0; i < n; i++) {
        ys[i] = 1000.0 * y->v[i];
        xs[i] = 0.001 * x->v[i] + 7.0;
    }
    char err[256] = "";
    for (int ic = 0; ic < 2; ic++) {
        size_t p0 = 0, p1 = 0, p2 = 0;
        const lw_ic_t crit = ic ? LW_IC_BIC : LW_IC_AIC;
        assert_int_equal(
            lw_granger_select_common(y->v, x->v, n, K, crit, &p0, NULL, err, sizeof(err)), LW_OK);
        assert_int_equal(
            lw_granger_select_common(ys, x->v, n, K, crit, &p1, NULL, err, sizeof(err)), LW_OK);
        assert_int_equal(lw_granger_select_common(ys, xs, n, K, crit, &p2, NULL, err, sizeof(err)),
                         LW_OK);
        assert_int_equal(p0, p1);
        assert_int_equal(p0, p2);
    }
    lw_granger_t *g = NULL;
    assert_int_equal(lw_granger_new(n, K, &g, err, sizeof(err)), LW_OK);
    lw_granger_lag_t recs[28];
    size_t b0 = 0, b1 = 0;
    assert_int_equal(lw_granger_scan(g, y->v, x->v, n, K, recs, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_granger_select_lag(recs, K, LW_IC_AIC, &b0), LW_OK);
    assert_int_equal(lw_granger_scan(g, ys, x->v, n, K, recs, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_granger_select_lag(recs, K, LW_IC_AIC, &b1), LW_OK);
    assert_true(b1 > b0); /* the defect the common sample removes */
    lw_granger_destroy(g);
    free(xs);
    free(ys);
    ref_free(&rf);
}

static const char *const TY_CASES[] = {"../stats_refs3/ty_i1pair400", "../stats_refs3/ty_lead730",
                                       "../stats_refs3/ty_null150"};

static void test_toda_yamamoto_against_statsmodels(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof(TY_CASES) / sizeof(TY_CASES[0]); ci++) {
        const char *c = TY_CASES[ci];
        ref_file_t rf;
        assert_true(ref_load(c, &rf));
        const ref_line_t *y = ref_get(&rf, "y"), *x = ref_get(&rf, "x");
        const ref_line_t *l;
        size_t checked = 0;
        for (size_t i = 0; (l = ref_nth(&rf, "ty", i)) != NULL; i++, checked++) {
            lw_granger_ty_t t;
            char err[256] = "";
            const size_t p = (size_t)l->v[0], d = (size_t)l->v[1];
            if (lw_granger_ty(y->v, x->v, y->n, p, d, &t, err, sizeof(err)) != LW_OK)
                fail_msg("%s p %zu d %zu: %s", c, p, d, err);
            close_or_fail(c, "F", t.f, l->v[2], 0.0);
            close_or_fail(c, "F p", t.f_p, l->v[3], 1e-12);
            assert_true(t.df_num == l->v[4] && t.df_denom == l->v[5]);
            close_or_fail(c, "chi2", t.chi2, l->v[6], 0.0);
            close_or_fail(c, "chi2 p", t.chi2_p, l->v[7], 1e-12);
            assert_int_equal(t.nobs, (size_t)l->v[8]);
            assert_int_equal(t.p, p);
            assert_int_equal(t.d, d);
        }
        assert_true(checked >= 5);
        ref_free(&rf);
    }
}

static void test_common_and_ty_degenerate(void **state)
{
    (void)state;
    enum { N = 40 };
    double y[N], x[N];
    uint64_t st = 42u;
    for (size_t i = 0; i < N; i++) {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        y[i] = (double)(st >> 11) / 9007199254740992.0;
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        x[i] = (double)(i % 7) + 0.1 * (double)(st >> 11) / 9007199254740992.0;
    }
    size_t p = 99;
    lw_granger_ty_t t;
    char err[256] = "";
    assert_int_equal(lw_granger_select_common(y, x, N, 13, LW_IC_AIC, &p, NULL, err, sizeof(err)),
                     LW_ERR_INVALID); /* 3 * 13 + 2 = 41 > 40 */
    assert_int_equal(p, 0);
    assert_int_equal(lw_granger_select_common(y, x, N, 12, LW_IC_AIC, &p, NULL, err, sizeof(err)),
                     LW_OK);
    assert_true(p >= 1 && p <= 12);
    assert_int_equal(lw_granger_select_common(y, x, N, 0, LW_IC_AIC, &p, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_int_equal(lw_granger_ty(y, x, N, 0, 1, &t, err, sizeof(err)), LW_ERR_INVALID);
    assert_int_equal(lw_granger_ty(y, x, N, 10, 3, &t, err, sizeof(err)), LW_ERR_INVALID);
    assert_int_equal(lw_granger_ty(y, x, N, 10, 2, &t, err, sizeof(err)), LW_OK);
    assert_true(isfinite(t.f) && t.f_p >= 0.0 && t.f_p <= 1.0);
    double xc[N];
    for (size_t i = 0; i < N; i++)
        xc[i] = 5.0;
    assert_int_equal(lw_granger_ty(y, xc, N, 2, 1, &t, err, sizeof(err)), LW_ERR_INVALID);
    assert_non_null(strstr(err, "constant"));
    assert_true(t.f == 0.0 && t.nobs == 0);
    y[3] = (double)NAN;
    assert_int_equal(lw_granger_select_common(y, x, N, 2, LW_IC_BIC, &p, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    /* x exactly periodic with period 7: lags 1 and 8 collinear with the rest -> singular */
    y[3] = 0.5;
    for (size_t i = 0; i < N; i++)
        xc[i] = (double)(i % 7);
    assert_int_equal(lw_granger_select_common(y, xc, N, 12, LW_IC_AIC, &p, NULL, err, sizeof(err)),
                     LW_ERR_STATS);
    assert_non_null(strstr(err, "singular"));
}

/* The scalar definition of lw_nprefix_lagged: one compensated chain per shift. */
static void nprefix_ref(const double *u, const double *v, size_t n, size_t K, double *P, size_t ld)
{
    for (size_t d = 0; d <= K; d++) {
        double *row = P + d * ld, sum = 0.0, c = 0.0;
        for (size_t a = 0; a <= d && a <= n; a++)
            row[a] = 0.0;
        for (size_t a = d; a < n; a++) {
            sum = lw_nprefix_add(sum, u[a] * v[a - d], &c);
            row[a + 1] = sum + c;
        }
    }
}

static uint64_t np_rng = 0x9E3779B97F4A7C15u;
static double np_unit(void)
{
    np_rng ^= np_rng << 13;
    np_rng ^= np_rng >> 7;
    np_rng ^= np_rng << 17;
    return ((double)(np_rng >> 11) + 0.5) / 9007199254740992.0;
}

/* Issue 17: the four-shifts-at-once prefixes (nprefix.c) equal the scalar chains bit for
 * bit on every n 0..40 and 700, every K 0..13 and 48 (K above n too), with series that
 * wander around zero, mixed magnitudes (1e-8 .. 1e8, so the compensation does work and
 * the |s| >= |x| choice goes both ways), exact ties, signed zeros, and one NaN / Inf case
 * (compared as NaN-or-equal).  Entries beyond each row's n + 1 are checked untouched. */
static void test_nprefix_equals_scalar(void **state)
{
    (void)state;
    const size_t nmax = 700, Kmax = 48, ld = nmax + 5;
    double *u = malloc(nmax * sizeof(double)), *v = malloc(nmax * sizeof(double));
    double *P = malloc((Kmax + 1) * ld * sizeof(double));
    double *R = malloc((Kmax + 1) * ld * sizeof(double));
    assert_non_null(u);
    assert_non_null(v);
    assert_non_null(P);
    assert_non_null(R);
    size_t checked = 0, compensated = 0;
    for (int kind = 0; kind < 4; kind++)
        for (size_t n = 0; n <= 41; n++) {
            const size_t nn = n == 41 ? nmax : n;
            for (size_t i = 0; i < nn; i++) {
                const double mag = kind == 1 ? pow(10.0, 16.0 * np_unit() - 8.0) : 1.0;
                u[i] = (np_unit() - 0.5) * mag;
                v[i] = (np_unit() - 0.45) * mag;
                if (kind == 2) { /* ties and signed zeros */
                    u[i] = (double)((int)(np_unit() * 5.0) - 2);
                    v[i] = np_unit() < 0.2 ? -0.0 : (double)((int)(np_unit() * 3.0) - 1);
                }
            }
            if (kind == 3 && nn > 6) {
                u[nn / 2] = (double)NAN;
                v[nn / 3] = (double)INFINITY;
            }
            for (size_t K = 0; K <= 14; K++) {
                const size_t KK = K == 14 ? Kmax : K;
                for (size_t i = 0; i < (Kmax + 1) * ld; i++)
                    P[i] = R[i] = 12345.0;
                lw_nprefix_lagged(u, v, nn, KK, P, ld);
                nprefix_ref(u, v, nn, KK, R, ld);
                for (size_t i = 0; i < (Kmax + 1) * ld; i++) {
                    const bool same =
                        memcmp(&P[i], &R[i], sizeof(double)) == 0 || (isnan(P[i]) && isnan(R[i]));
                    if (!same)
                        fail_msg("kind %d n %zu K %zu: row %zu entry %zu: %.17g vs %.17g", kind, nn,
                                 KK, i / ld, i % ld, P[i], R[i]);
                }
                for (size_t d = 0; d <= KK && kind == 1; d++)
                    for (size_t a = d + 1; a <= nn; a++) {
                        /* the compensation changes some entries (else this test
                         * could not see a dropped c) */
                        double sum = 0.0;
                        for (size_t b = d; b < a; b++)
                            sum += u[b] * v[b - d];
                        compensated += sum != R[d * ld + a];
                    }
                checked++;
            }
        }
    assert_true(checked == 4 * 42 * 15);
    assert_true(compensated > 100);
    free(u);
    free(v);
    free(P);
    free(R);
}

/* The SSRs of a fixed scan (n 203 and 730, lags 1..14: 1 to 7 groups of four lag columns,
 * with and without a scalar tail of rows), bit for bit as the code before issue 17's
 * session 10 computed them (the fitted values one group of four columns per pass; now two
 * groups per pass, the same operations).  LW_TEST_GOLDEN=1 prints the table. */
static const uint64_t SSR_GOLDEN[2][14][2] = {
    {
        {0x4030e096a7daa4ffu, 0x40313e0b66e10513u},
        {0x402ed6fc6be74d70u, 0x4031205fa524b024u},
        {0x402eb9439762d389u, 0x40310527415f3168u},
        {0x402e5bbb605c3a28u, 0x4030bb2a32d3529au},
        {0x402e31a9995730a9u, 0x4030abf99127226au},
        {0x402d09a08a222c2cu, 0x403036db5b753b01u},
        {0x402c5163c20b98e8u, 0x402faa31df3036e8u},
        {0x402bd5d11a631096u, 0x402f9dd1bb05aa35u},
        {0x402b60fe46d54ccfu, 0x402f8585aa908886u},
        {0x402b3f6a66c493cdu, 0x402f5c6c273b6988u},
        {0x402b2e1418e1ee73u, 0x402f59641dc88effu},
        {0x402b2a6129004acdu, 0x402f5274ab250b76u},
        {0x402a8bc1187095c4u, 0x402f33ce033d69adu},
        {0x402a7d3dc18ce04du, 0x402ecf8f16b99bcau},
    },
    {
        {0x4050b8e4a98962dfu, 0x4050f4ff4eeaabacu},
        {0x404c3b965ec70527u, 0x4050ec45dba53d8au},
        {0x404c363e1125671bu, 0x4050e547c0f91b92u},
        {0x404c0bb39570f042u, 0x4050d1129186888fu},
        {0x404bfcfad36351bcu, 0x4050cf9da49f9ea5u},
        {0x404bbec04b7a8deeu, 0x4050bc7d9c7217e4u},
        {0x404ba155740518ecu, 0x4050a459243d8475u},
        {0x404b64e4d928c849u, 0x40509adac873e6bcu},
        {0x404b448c24df2f21u, 0x40508b87de21ef64u},
        {0x404b392cc1ea3a4bu, 0x405088aa35dae8c4u},
        {0x404b2ab820f62e28u, 0x40508623bc6c4283u},
        {0x404b28fe8729225du, 0x405085e632d03f27u},
        {0x404b1512fc519157u, 0x405082f5f1285c1au},
        {0x404b0a4a16051367u, 0x40507198fab08073u},
    },
};

static void test_ssr_bits_unchanged(void **state)
{
    (void)state;
    enum { NMAX = 730, K = 14 };
    static double y[NMAX], x[NMAX];
    static const size_t NS[2] = {203, 730};
    uint64_t r = 0x853C49E6748FEA9Bu;
    for (size_t t = 0; t < NMAX; t++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        const double e = (double)(r >> 11) / 9007199254740992.0 - 0.5;
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        const double u = (double)(r >> 11) / 9007199254740992.0 - 0.5;
        x[t] = (t ? 0.5 * x[t - 1] : 0.0) + u;
        y[t] = (t ? 0.3 * y[t - 1] : 0.0) + (t >= 2 ? 0.4 * x[t - 2] : 0.0) + e + 100.0;
    }
    const bool print = getenv("LW_TEST_GOLDEN") != NULL;
    for (size_t ni = 0; ni < 2; ni++) {
        lw_granger_t *g = NULL;
        assert_int_equal(lw_granger_new(NS[ni], K, &g, NULL, 0), LW_OK);
        lw_granger_lag_t out[K];
        assert_int_equal(lw_granger_scan(g, y, x, NS[ni], K, out, NULL, 0), LW_OK);
        if (print)
            printf("{");
        for (size_t p = 0; p < K; p++) {
            uint64_t u[2];
            assert_int_equal(out[p].status, LW_OK);
            memcpy(&u[0], &out[p].ssr_u, sizeof u[0]);
            memcpy(&u[1], &out[p].ssr_r, sizeof u[1]);
            if (print)
                printf("{0x%016llxu, 0x%016llxu},%s", (unsigned long long)u[0],
                       (unsigned long long)u[1], p + 1 < K ? " " : "");
            else {
                assert_true(u[0] == SSR_GOLDEN[ni][p][0]);
                assert_true(u[1] == SSR_GOLDEN[ni][p][1]);
            }
        }
        if (print)
            printf("},\n");
        lw_granger_destroy(g);
    }
}

/* lw_cholrec_decomp (the scan's Cholesky) against gsl_linalg_cholesky_decomp1 bit for
 * bit: every size 1..121 (2 max_lag + 1 at the config's bound of 60; GSL recurses above 24), a Gram
 * of random columns with a row stride wider than n, Jacobi-scaled like the scan's, and a nearly
 * collinear one; then a matrix that is not positive definite fails in both. */
static void test_cholrec_equals_gsl(void **state)
{
    (void)state;
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    const size_t nmax = 121, tda = nmax + 3, rows = 160;
    double *X = malloc(rows * nmax * sizeof(double));
    double *A = malloc(nmax * tda * sizeof(double)), *G = malloc(nmax * tda * sizeof(double));
    double *work = malloc(lw_cholrec_work_size(nmax) * sizeof(double));
    assert_non_null(X);
    assert_non_null(A);
    assert_non_null(G);
    assert_non_null(work);
    uint64_t seed = 12345;
    for (int kind = 0; kind < 2; kind++) {
        for (size_t n = 1; n <= nmax; n++) {
            for (size_t r = 0; r < rows; r++)
                for (size_t c = 0; c < n; c++) {
                    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                    const double u = (double)(seed >> 11) / 9007199254740992.0 - 0.5;
                    X[r * nmax + c] = kind == 1 && c > 0 ? X[r * nmax + c - 1] + 1e-4 * u : u;
                }
            for (size_t a = 0; a < n; a++)
                for (size_t b = 0; b <= a; b++) {
                    double v = 0.0;
                    for (size_t r = 0; r < rows; r++)
                        v += X[r * nmax + a] * X[r * nmax + b];
                    A[a * tda + b] = A[b * tda + a] = v;
                }
            for (size_t a = 0; a < n; a++) /* Jacobi scaling, as the scan's Gram */
                for (size_t b = 0; b < n; b++)
                    if (a != b)
                        A[a * tda + b] /= sqrt(A[a * tda + a] * A[b * tda + b]);
            for (size_t a = 0; a < n; a++)
                A[a * tda + a] = 1.0;
            memcpy(G, A, nmax * tda * sizeof(double));
            gsl_matrix_view Gv = gsl_matrix_view_array_with_tda(G, n, n, tda);
            const int st = gsl_linalg_cholesky_decomp1(&Gv.matrix);
            const bool ok = lw_cholrec_decomp(A, n, tda, work);
            assert_int_equal(ok, st == GSL_SUCCESS);
            if (!ok)
                continue;
            for (size_t a = 0; a < n; a++)
                for (size_t b = 0; b <= a; b++)
                    if (memcmp(&A[a * tda + b], &G[a * tda + b], sizeof(double)) != 0)
                        fail_msg("n %zu kind %d: L(%zu, %zu) = %.17g, GSL %.17g", n, kind, a, b,
                                 A[a * tda + b], G[a * tda + b]);
        }
    }
    /* indefinite: diag(1, -1, 1, ...) with the negative pivot in the second block */
    for (size_t n = 10; n <= nmax; n += 37) {
        memset(A, 0, nmax * tda * sizeof(double));
        for (size_t a = 0; a < n; a++)
            A[a * tda + a] = a == n - 2 ? -1.0 : 1.0;
        memcpy(G, A, nmax * tda * sizeof(double));
        gsl_matrix_view Gv = gsl_matrix_view_array_with_tda(G, n, n, tda);
        assert_int_not_equal(gsl_linalg_cholesky_decomp1(&Gv.matrix), GSL_SUCCESS);
        assert_false(lw_cholrec_decomp(A, n, tda, work));
    }
    gsl_set_error_handler(old);
    free(work);
    free(G);
    free(A);
    free(X);
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_statsmodels),
        cmocka_unit_test(test_true_lead),
        cmocka_unit_test(test_scan_reuses_prefixes),
        cmocka_unit_test(test_degenerate_inputs),
        cmocka_unit_test(test_rcond_guard_near_collinear),
        cmocka_unit_test(test_select_common_against_statsmodels),
        cmocka_unit_test(test_select_common_rescale),
        cmocka_unit_test(test_toda_yamamoto_against_statsmodels),
        cmocka_unit_test(test_common_and_ty_degenerate),
        cmocka_unit_test(test_cholrec_equals_gsl),
        cmocka_unit_test(test_nprefix_equals_scalar),
        cmocka_unit_test(test_ssr_bits_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
