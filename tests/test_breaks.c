/*
 * test_breaks.c - sup-F, CUSUM and recursive least squares (breaks.h).
 *
 *   - Reference: every Chow F(tau) of the 15%-trimmed path, SSR_0, the sup
 *     and its argmax against one statsmodels OLS fit per candidate
 *     (scripts/gen_stats_refs2.py, tests/data/stats_refs2/breaks_*.txt),
 *     relative 1e-9; recursive predictions and residuals against an OLS
 *     refit per period (1e-9) and statsmodels recursive_olsresiduals (1e-5,
 *     its Sherman-Morrison updates drift); the CUSUM statistic.
 *   - Hansen's table against a second published source: at the Bai & Perron
 *     (2003b, Econometrics Journal 6, 72-78, table 1, sup F(1|0)) 5% critical
 *     values for trimming 0.05..0.25 and k = 1..10, p = 0.05 within 0.008
 *     (both are simulations, so they agree only to about that).
 *   - Brown-Durbin-Evans boundaries: a = 0.850, 0.948, 1.143 give 10/5/1%.
 *   - Ground truth: a lead that vanishes at t = 200 is dated within 5
 *     periods and rejected at 1%; no break, no rejection.
 *   - Degenerate input: too short, NaN, Inf, constant x, bad trim, k > 10.
 *   - HC sup-Wald of the x-lag coefficients (issue 11; scripts/gen_stats_refs3.R,
 *     tests/data/stats_refs3/breakshc_*.txt): the whole W(i) path, sup, argmax
 *     and p against lm + sandwich per break (partial change) and against
 *     strucchange::Fstats(vcov. = sandwich) + sctest(type = "supF") (every
 *     coefficient changing), relative 1e-8; Hansen p for k up to 40 against
 *     strucchange:::pvalue.Fstats (1e-9).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/breaks.h"
#include "leadwatch/stats/hcform.h"
#include "leadwatch/stats/ols.h"
#include "stats_refs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REL 1e-9

static const char *const CASES[] = {"../stats_refs2/breaks_break200",
                                    "../stats_refs2/breaks_null300", "../stats_refs2/breaks_macro",
                                    "../stats_refs2/breaks_k12"};

/* Build [1, y lags, x lags] as the script does. */
static size_t design(const double *y, const double *x, size_t n, size_t yl, size_t xl, double *Z,
                     double *yy)
{
    const size_t L = yl > xl ? yl : xl, k = 1 + yl + xl;
    for (size_t t = L; t < n; t++) {
        double *row = Z + (t - L) * k;
        row[0] = 1.0;
        for (size_t j = 1; j <= yl; j++)
            row[j] = y[t - j];
        for (size_t j = 1; j <= xl; j++)
            row[yl + j] = x[t - j];
        yy[t - L] = y[t];
    }
    return L;
}

static void check_close(const char *what, const char *file, double got, double want, double rel,
                        double abs_floor, double *worst)
{
    const double e = ref_relerr(got, want);
    if (e > *worst && fabs(want) > abs_floor)
        *worst = e;
    if (!ref_close(got, want, rel, abs_floor))
        fail_msg("%s %s: got %.17g want %.17g", file, what, got, want);
}

static void test_supf_reference(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof(CASES) / sizeof(CASES[0]); ci++) {
        ref_file_t rf;
        assert_true(ref_load(CASES[ci], &rf));
        const ref_line_t *y = ref_get(&rf, "y"), *x = ref_get(&rf, "x");
        const ref_line_t *lags = ref_get(&rf, "lags"), *fpath = ref_get(&rf, "fpath");
        const ref_line_t *supf = ref_get(&rf, "supf");
        const size_t n = y->n, yl = (size_t)lags->v[0], xl = (size_t)lags->v[1];
        const size_t k = 1 + yl + xl;
        double *f = calloc(n + 1, sizeof(double));
        assert_non_null(f);
        lw_breaks_supf_t res;
        char err[256] = "";
        assert_int_equal(lw_breaks_supf_lags(y->v, x->v, n, yl, xl, LW_BREAKS_DEFAULT_TRIM, &res, f,
                                             err, sizeof(err)),
                         LW_OK);
        assert_int_equal(res.status, LW_OK);
        const size_t L = yl > xl ? yl : xl;
        assert_int_equal(res.nobs, n - L);
        assert_int_equal(res.k, k);
        assert_int_equal(res.h, (size_t)ref_get(&rf, "h")->v[0]);
        assert_int_equal(fpath->n, res.last - res.first + 1);
        double worst = 0.0;
        check_close("ssr_full", CASES[ci], res.ssr_full, ref_get(&rf, "ssr_full")->v[0], REL, 0.0,
                    &worst);
        for (size_t i = 0; i < fpath->n; i++)
            check_close("F(tau)", CASES[ci], f[L + res.first + i], fpath->v[i], REL, 1e-10, &worst);
        check_close("sup F", CASES[ci], res.sup_f, supf->v[0], REL, 0.0, &worst);
        assert_int_equal(res.break_row, (size_t)supf->v[1]);
        assert_int_equal(res.break_period, (size_t)supf->v[2]);
        assert_true(res.df_num == (double)k && res.df_denom == (double)(n - L - 2 * k));
        assert_true(res.sup_wald == (double)k * res.sup_f);
        if (k <= LW_BREAKS_HANSEN_MAX_K) {
            assert_true(res.p_defined);
            assert_true(res.p >= 0.0 && res.p <= 1.0);
            assert_string_equal(res.reason, "");
        } else {
            assert_false(res.p_defined);
            assert_non_null(strstr(res.reason, "Hansen"));
        }
        printf("    %-30s m=%3zu k=%2zu supF=%8.4f at period %3zu p=%s%.3g  worst rel err "
               "%.1e\n",
               CASES[ci] + 15, res.nobs, k, res.sup_f, res.break_period,
               res.p_defined ? "" : "(undef) ", res.p, worst);
        free(f);
        ref_free(&rf);
    }
}

static void test_recursive_and_cusum_reference(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof(CASES) / sizeof(CASES[0]); ci++) {
        ref_file_t rf;
        assert_true(ref_load(CASES[ci], &rf));
        const ref_line_t *y = ref_get(&rf, "y"), *x = ref_get(&rf, "x");
        const ref_line_t *lags = ref_get(&rf, "lags");
        const ref_line_t *rp = ref_get(&rf, "rec_pred"), *rw = ref_get(&rf, "rec_w");
        const ref_line_t *cs = ref_get(&rf, "cusum"), *smw = ref_get(&rf, "sm_rec_w");
        const size_t n = y->n, yl = (size_t)lags->v[0], xl = (size_t)lags->v[1];
        const size_t k = 1 + yl + xl;
        double *Z = malloc(n * k * sizeof(double)), *yy = malloc(n * sizeof(double));
        double *pred = malloc(n * sizeof(double)), *w = malloc(n * sizeof(double));
        assert_true(Z && yy && pred && w);
        const size_t m = n - design(y->v, x->v, n, yl, xl, Z, yy);
        char err[256] = "";
        assert_int_equal(lw_breaks_recursive(yy, Z, m, k, k, pred, w, err, sizeof(err)), LW_OK);
        assert_int_equal(rp->n, m - k);
        double sd = 0.0;
        for (size_t t = 0; t < m; t++)
            sd += (yy[t] - yy[0]) * (yy[t] - yy[0]);
        sd = sqrt(sd / (double)m);
        double worst = 0.0;
        /* The reference refits OLS at every t (exact); statsmodels'
         * recursive_olsresiduals (Sherman-Morrison updates from an exactly
         * determined start) drifts by up to ~1e-7, so it is checked loosely. */
        for (size_t i = 0; i < rp->n; i++) {
            check_close("rec_pred", CASES[ci], pred[k + i], rp->v[i], REL, 1e-9 * sd, &worst);
            check_close("rec_w", CASES[ci], w[k + i], rw->v[i], REL, 1e-9 * sd, &worst);
            if (!ref_close(w[k + i], smw->v[i], 1e-5, 1e-7 * sd))
                fail_msg("%s: recursive residual %zu is %.17g, statsmodels %.17g", CASES[ci], i,
                         w[k + i], smw->v[i]);
        }
        lw_breaks_cusum_t cu;
        assert_int_equal(lw_breaks_cusum(yy, Z, m, k, &cu, err, sizeof(err)), LW_OK);
        check_close("cusum sigma", CASES[ci], cu.sigma, cs->v[0], REL, 0.0, &worst);
        check_close("cusum stat", CASES[ci], cu.stat, cs->v[1], REL, 0.0, &worst);
        assert_int_equal(cu.max_row, (size_t)cs->v[2]);
        assert_true(cu.p > 0.0 && cu.p <= 1.0);
        printf("    %-30s recursive residuals + CUSUM (stat %.3f, p %.3f) worst rel err %.1e\n",
               CASES[ci] + 15, cu.stat, cu.p, worst);
        free(Z);
        free(yy);
        free(pred);
        free(w);
        ref_free(&rf);
    }
}

/* Bai & Perron (2003b), table 1, 5% critical values of sup F(1|0) (Wald
 * form, = k * F), rows k = 1..10, for each trimming. */
static const double BP_TRIM[5] = {0.05, 0.10, 0.15, 0.20, 0.25};
static const double BP_CV5[5][10] = {
    {9.63, 12.89, 15.37, 17.60, 19.50, 21.59, 23.50, 25.22, 27.08, 28.49},
    {9.10, 12.25, 14.60, 16.76, 18.68, 20.76, 22.62, 24.34, 26.20, 27.64},
    {8.58, 11.47, 13.98, 16.19, 18.23, 20.08, 21.87, 23.70, 25.65, 27.03},
    {8.22, 10.98, 13.47, 15.67, 17.66, 19.55, 21.33, 23.19, 24.91, 26.38},
    {7.86, 10.55, 13.04, 15.19, 17.12, 18.97, 20.75, 22.56, 24.18, 25.77},
};

static void test_hansen_table_against_bai_perron(void **state)
{
    (void)state;
    double worst = 0.0;
    for (size_t i = 0; i < 5; i++)
        for (size_t k = 1; k <= 10; k++) {
            double p = -1.0;
            assert_true(lw_breaks_hansen_p(BP_CV5[i][k - 1], k, BP_TRIM[i], &p));
            if (fabs(p - 0.05) > worst)
                worst = fabs(p - 0.05);
            if (fabs(p - 0.05) > 0.008)
                fail_msg("trim %.2f k %zu: p at the 5%% critical value is %.4f", BP_TRIM[i], k, p);
        }
    printf("    Hansen p at 50 Bai-Perron 5%% critical values: max |p - 0.05| = %.4f\n", worst);
    /* Andrews (1993, corrected 2003) / Stock & Watson 15%-trimmed QLR, k = 1:
     * 10% 7.12, 5% 8.68, 1% 12.16. */
    double p10, p5, p1;
    assert_true(lw_breaks_hansen_p(7.12, 1, 0.15, &p10));
    assert_true(lw_breaks_hansen_p(8.68, 1, 0.15, &p5));
    assert_true(lw_breaks_hansen_p(12.16, 1, 0.15, &p1));
    assert_true(fabs(p10 - 0.10) < 0.01 && fabs(p5 - 0.05) < 0.005 && fabs(p1 - 0.01) < 0.002);
    /* Decreasing in the statistic; tau0 = 0.5 is the plain chi2_k tail. */
    double prev = 1.1;
    for (double s = 0.0; s < 40.0; s += 0.5) {
        double p;
        assert_true(lw_breaks_hansen_p(s, 3, 0.15, &p));
        assert_true(p <= prev + 1e-15);
        prev = p;
    }
    double p;
    assert_true(lw_breaks_hansen_p(3.841458820694124, 1, 0.5, &p));
    assert_true(fabs(p - 0.05) < 1e-12);
    assert_false(lw_breaks_hansen_p(5.0, 11, 0.15, &p));
    assert_false(lw_breaks_hansen_p(5.0, 0, 0.15, &p));
    assert_false(lw_breaks_hansen_p((double)NAN, 2, 0.15, &p));
    assert_false(lw_breaks_hansen_p(5.0, 2, 0.0, &p));
}

static void test_cusum_boundaries(void **state)
{
    (void)state;
    /* Brown, Durbin & Evans (1975): a = 0.850, 0.948, 1.143 for 10/5/1%. */
    assert_true(fabs(lw_breaks_bm_crossing_p(0.850) - 0.10) < 0.002);
    assert_true(fabs(lw_breaks_bm_crossing_p(0.948) - 0.05) < 0.001);
    assert_true(fabs(lw_breaks_bm_crossing_p(1.143) - 0.01) < 0.0005);
    assert_true(lw_breaks_bm_crossing_p(0.0) == 1.0);
    assert_true(lw_breaks_bm_crossing_p((double)NAN) == 1.0);
    assert_true(lw_breaks_bm_crossing_p(5.0) < 1e-10);
}

/* Deterministic N(0,1) draws (xorshift + Box-Muller) for ground truth. */
static uint64_t rng_state = 88172645463325252ull;
static double unif(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void)
{
    return sqrt(-2.0 * log(unif())) * cos(2.0 * M_PI * unif());
}

static void simulate(double *y, double *x, size_t n, size_t brk, double b0, double b1)
{
    x[0] = gauss();
    y[0] = 0.0;
    for (size_t t = 1; t < n; t++) {
        x[t] = 0.5 * x[t - 1] + gauss();
        const double b = t < brk ? b0 : b1;
        y[t] = 0.3 * y[t - 1] + b * x[t - 1] + 0.5 * gauss();
    }
}

static void test_ground_truth(void **state)
{
    (void)state;
    enum { N = 500 };
    static double y[N], x[N];
    size_t found = 0, trials = 20;
    double tsum = 0.0;
    for (size_t r = 0; r < trials; r++) {
        simulate(y, x, N, 200, 0.8, 0.0);
        lw_breaks_supf_t res;
        const clock_t c0 = clock();
        assert_int_equal(lw_breaks_supf_lags(y, x, N, 1, 1, 0.15, &res, NULL, NULL, 0), LW_OK);
        tsum += (double)(clock() - c0) / CLOCKS_PER_SEC;
        assert_true(res.p_defined && res.p < 0.01);
        if (res.break_period + 5 >= 200 && res.break_period <= 205)
            found++;
    }
    printf("    break at t=200 dated within 5 periods in %zu/%zu runs (%.3f ms per test, n=%d)\n",
           found, trials, 1e3 * tsum / (double)trials, N);
    assert_true(found >= 18);
    size_t rejected = 0;
    for (size_t r = 0; r < trials; r++) {
        simulate(y, x, N, N, 0.8, 0.8);
        lw_breaks_supf_t res;
        assert_int_equal(lw_breaks_supf_lags(y, x, N, 1, 1, 0.15, &res, NULL, NULL, 0), LW_OK);
        rejected += res.p < 0.05;
        lw_breaks_cusum_t cu;
        double Z[N * 3], yy[N];
        const size_t m = N - design(y, x, N, 1, 1, Z, yy);
        assert_int_equal(lw_breaks_cusum(yy, Z, m, 3, &cu, NULL, 0), LW_OK);
    }
    assert_true(rejected <= 4); /* nominal 5%: 1 expected in 20 */
}

static void test_degenerate(void **state)
{
    (void)state;
    enum { N = 120 };
    double y[N], x[N];
    for (size_t t = 0; t < N; t++) {
        y[t] = sin(0.37 * (double)t) + 0.1 * (double)(t % 7);
        x[t] = cos(0.23 * (double)t);
    }
    lw_breaks_supf_t res;
    char err[256];
    /* too short: 8 parameters need ceil(0.15 m) >= 9 */
    assert_int_equal(lw_breaks_supf_lags(y, x, 40, 3, 4, 0.15, &res, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_int_equal(res.status, LW_ERR_INVALID);
    assert_non_null(strstr(res.reason, "too few"));
    assert_non_null(strstr(err, "need at least"));
    assert_true(res.sup_f == 0.0 && res.p == 0.0);
    /* NaN and Inf */
    double yb[N];
    memcpy(yb, y, sizeof(yb));
    yb[50] = (double)NAN;
    assert_int_equal(lw_breaks_supf_lags(yb, x, N, 1, 1, 0.15, &res, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_non_null(strstr(res.reason, "NaN"));
    yb[50] = (double)INFINITY;
    assert_int_equal(lw_breaks_supf_lags(y, yb, N, 1, 1, 0.15, &res, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    /* constant x: its lag column is collinear with the constant */
    double xc[N];
    for (size_t t = 0; t < N; t++)
        xc[t] = 3.0;
    assert_int_equal(lw_breaks_supf_lags(y, xc, N, 1, 1, 0.15, &res, NULL, err, sizeof(err)),
                     LW_ERR_STATS);
    assert_non_null(strstr(res.reason, "collinear"));
    /* constant y on the design [1, y lag, x lag]: exact fit */
    double yc[N];
    for (size_t t = 0; t < N; t++)
        yc[t] = 7.0;
    assert_int_equal(lw_breaks_supf_lags(yc, x, N, 0, 1, 0.15, &res, NULL, err, sizeof(err)),
                     LW_ERR_STATS);
    /* bad trimming, no x lags */
    assert_int_equal(lw_breaks_supf_lags(y, x, N, 1, 1, 0.5, &res, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_int_equal(lw_breaks_supf_lags(y, x, N, 1, 0, 0.15, &res, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    /* CUSUM and recursive: too short, rank deficient start */
    lw_breaks_cusum_t cu;
    double Z[N * 2];
    for (size_t t = 0; t < N; t++) {
        Z[2 * t] = 1.0;
        Z[2 * t + 1] = t < 10 ? 1.0 : (double)t;
    }
    assert_int_equal(lw_breaks_cusum(y, Z, 4, 2, &cu, err, sizeof(err)), LW_ERR_INVALID);
    assert_int_equal(cu.status, LW_ERR_INVALID);
    assert_int_equal(lw_breaks_cusum(y, Z, N, 2, &cu, err, sizeof(err)), LW_ERR_STATS);
    assert_non_null(strstr(cu.reason, "collinear"));
    double pred[N];
    assert_int_equal(lw_breaks_recursive(y, Z, N, 2, 12, pred, NULL, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_breaks_recursive(y, Z, N, 2, 1, pred, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
}

static const char *const HC_CASES[] = {"../stats_refs3/breakshc_stop300",
                                       "../stats_refs3/breakshc_null250",
                                       "../stats_refs3/breakshc_lag7_400"};

static void hc_close(const char *c, const char *what, double got, double want)
{
    if (!ref_close(got, want, 1e-8, 1e-12))
        fail_msg("%s %s: got %.17g want %.17g", c, what, got, want);
}

static void test_supwald_hc_reference(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof(HC_CASES) / sizeof(HC_CASES[0]); ci++) {
        const char *c = HC_CASES[ci];
        ref_file_t rf;
        assert_true(ref_load(c, &rf));
        const ref_line_t *y = ref_get(&rf, "y"), *x = ref_get(&rf, "x");
        const ref_line_t *cs = ref_get(&rf, "case"), *path = ref_get(&rf, "path");
        const double trim = ref_get(&rf, "trim")->v[0];
        const size_t p = (size_t)cs->v[0], from = (size_t)cs->v[3], to = (size_t)cs->v[4];
        const size_t n = y->n, L = p;
        double *wp = calloc(n + 1, sizeof(double));
        assert_non_null(wp);
        lw_breaks_supwald_hc_t r;
        char err[256] = "";
        if (lw_breaks_supwald_hc_lags(y->v, x->v, n, p, p, trim, &r, wp, err, sizeof(err)) != LW_OK)
            fail_msg("%s: %s", c, err);
        assert_int_equal(r.nobs, (size_t)cs->v[2]);
        assert_int_equal(r.first, from);
        assert_int_equal(r.last, to);
        assert_int_equal(r.q, p);
        assert_int_equal(path->n, to - from + 1);
        for (size_t i = from; i <= to; i++)
            hc_close(c, "W(i)", wp[L + i], path->v[i - from]);
        hc_close(c, "sup", r.sup_wald, cs->v[5]);
        assert_int_equal(r.break_row, (size_t)cs->v[6]);
        assert_int_equal(r.break_period, L + (size_t)cs->v[6]);
        assert_true(r.p_defined);
        hc_close(c, "p", r.p, cs->v[7]);
        hc_close(c, "lambda", r.lambda, cs->v[8]);
        const ref_line_t *pure = ref_get(&rf, "pure");
        if (pure) { /* every coefficient changes: strucchange's own Fstats(vcov. = sandwich) */
            const size_t m = n - L, k = 1 + 2 * p;
            double *Z = malloc(m * k * sizeof(double)), *yy = malloc(m * sizeof(double));
            assert_non_null(Z);
            assert_non_null(yy);
            for (size_t t = L; t < n; t++) {
                double *row = Z + (t - L) * k;
                row[0] = 1.0;
                for (size_t j = 1; j <= p; j++) {
                    row[j] = y->v[t - j];
                    row[p + j] = x->v[t - j];
                }
                yy[t - L] = y->v[t];
            }
            size_t chg[LW_BREAKS_MAX_K];
            for (size_t j = 0; j < k; j++)
                chg[j] = j;
            double *wq = calloc(m + 1, sizeof(double));
            assert_non_null(wq);
            lw_breaks_supwald_hc_t rp;
            assert_int_equal(
                lw_breaks_supwald_hc(yy, Z, m, k, chg, k, trim, &rp, wq, err, sizeof(err)), LW_OK);
            const ref_line_t *pp = ref_get(&rf, "purepath");
            assert_int_equal(pp->n, rp.last - rp.first + 1);
            for (size_t i = rp.first; i <= rp.last; i++)
                hc_close(c, "pure W(i)", wq[i], pp->v[i - rp.first]);
            hc_close(c, "pure sup", rp.sup_wald, pure->v[0]);
            assert_int_equal(rp.break_row, (size_t)pure->v[1]);
            hc_close(c, "pure p", rp.p, pure->v[2]);
            free(wq);
            free(yy);
            free(Z);
        }
        printf("    %-34s p=%zu sup W %.3f at row %zu, p-value %.4f\n", c, p, r.sup_wald,
               r.break_row, r.p);
        free(wp);
        ref_free(&rf);
    }
}

static void test_hansen_p40_reference(void **state)
{
    (void)state;
    ref_file_t rf;
    assert_true(ref_load("../stats_refs3/breakshc_pvalues", &rf));
    const ref_line_t *l;
    size_t n = 0;
    for (size_t i = 0; (l = ref_nth(&rf, "pv", i)) != NULL; i++, n++) {
        const double lam = l->v[2];
        const double tau0 = lam < 1.0 ? lam : 1.0 / (1.0 + sqrt(lam));
        double p = -1.0;
        assert_true(lw_breaks_hansen_p40(l->v[0], (size_t)l->v[1], tau0, &p));
        if (!ref_close(p, l->v[3], 1e-9, 1e-14))
            fail_msg("p40(%g, k=%g, lambda %g): got %.17g want %.17g", l->v[0], l->v[1], lam, p,
                     l->v[3]);
        if ((size_t)l->v[1] <= LW_BREAKS_HANSEN_MAX_K) { /* same as the old table */
            double p10 = -1.0;
            assert_true(lw_breaks_hansen_p(l->v[0], (size_t)l->v[1], tau0, &p10));
            assert_true(p10 == p);
        }
    }
    assert_true(n >= 200);
    double p;
    assert_false(lw_breaks_hansen_p40(5.0, 41, 0.15, &p));
    assert_false(lw_breaks_hansen_p40((double)NAN, 12, 0.15, &p));
    ref_free(&rf);
}

/* W(i) of every candidate by a plain refit of [Z, D_i Z_c] with lw_ols_fit's
 * HC0 covariance, against the path of lw_breaks_supwald_hc (1e-9), and the
 * sup and its argmax. */
static void check_hc_against_refit(const double *y, const double *Z, size_t M, size_t K,
                                   const size_t *chg, size_t Q)
{
    enum { QMAX = 8 };
    assert_true(Q <= QMAX);
    double *A = malloc(M * (K + Q) * sizeof(double)), *wp = calloc(M + 1, sizeof(double));
    assert_non_null(A);
    assert_non_null(wp);
    lw_breaks_supwald_hc_t r;
    char err[256] = "";
    if (lw_breaks_supwald_hc(y, Z, M, K, chg, Q, 0.15, &r, wp, err, sizeof(err)) != LW_OK)
        fail_msg("%s", err);
    lw_ols_t *ols = NULL;
    assert_int_equal(lw_ols_new(M, K + Q, &ols, err, sizeof(err)), LW_OK);
    double best = -1.0;
    size_t best_i = 0;
    for (size_t i = r.first; i <= r.last; i++) {
        for (size_t t = 0; t < M; t++) {
            memcpy(A + t * (K + Q), Z + t * K, K * sizeof(double));
            for (size_t c = 0; c < Q; c++)
                A[t * (K + Q) + K + c] = t >= i ? Z[t * K + chg[c]] : 0.0;
        }
        lw_ols_result_t fit;
        assert_int_equal(lw_ols_fit(ols, A, y, M, K + Q, LW_OLS_HAC, 0, &fit, err, sizeof(err)),
                         LW_OK);
        /* W = d' V_dd^-1 d by Gauss-Jordan on the Q x Q block */
        double V[QMAX][QMAX + 1];
        for (size_t a = 0; a < Q; a++) {
            for (size_t b = 0; b < Q; b++)
                V[a][b] = fit.cov_hac[(K + a) * (K + Q) + K + b];
            V[a][Q] = fit.params[K + a];
        }
        for (size_t a = 0; a < Q; a++)
            for (size_t b = 0; b < Q; b++)
                if (b != a) {
                    const double f = V[b][a] / V[a][a];
                    for (size_t c = a; c <= Q; c++)
                        V[b][c] -= f * V[a][c];
                }
        double want = 0.0;
        for (size_t a = 0; a < Q; a++)
            want += fit.params[K + a] * V[a][Q] / V[a][a];
        if (!ref_close(wp[i], want, 1e-9, 1e-12))
            fail_msg("W(%zu): got %.17g want %.17g", i, wp[i], want);
        if (want > best) {
            best = want;
            best_i = i;
        }
    }
    assert_true(r.first > 0 && wp[r.first - 1] == 0.0 && wp[r.last + 1] == 0.0);
    assert_true(ref_close(r.sup_wald, best, 1e-9, 1e-12));
    assert_int_equal(r.break_row, best_i);
    lw_ols_destroy(ols);
    free(wp);
    free(A);
}

/* The HC sup-Wald path (computed by partialling out Z once, then updated one
 * row per candidate) against a plain refit per candidate, on a design like
 * analyze's: seasonal dummies and a control between the fixed and the
 * changing columns, and a changing set that is not a suffix. */
static void test_supwald_hc_equals_refit(void **state)
{
    (void)state;
    enum { M = 260, K = 12, Q = 3 };
    static double Z[M * K], y[M];
    uint64_t st = 17u;
    for (size_t t = 0; t < M; t++) {
        double *r = Z + t * K;
        r[0] = 1.0;
        for (size_t j = 1; j < K; j++)
            r[j] = ref_unit(&st) + 0.002 * (double)t;
        for (size_t j = 0; j < 6; j++)
            r[4 + j] = (t % 7) == j ? 1.0 : 0.0;
        y[t] = 0.5 * r[1] + (t < 170 ? 0.8 : 0.1) * r[2] - 0.3 * r[11] + r[3] * (1.0 + 0.01 * t);
    }
    const size_t chg[Q] = {1, 2, 11};
    check_hc_against_refit(y, Z, M, K, chg, Q);
}

/* Rows t = P..P+M-1 of the lag design [1, y_{t-1..t-P}, x_{t-1..t-P}, c2_t]
 * (K = 2 P + 2 columns), the regressand y_t and the changing columns (the x
 * lags).  damp: x_{t-1} nearly 0 over the first 60 rows, so a break early in
 * the trimmed range leaves its change nearly in the span of the fixed columns
 * (HC_GRAM_GUARD in breaks_hc.c). */
static void lag_rows(const double *y, const double *x, const double *c2, size_t P, size_t M,
                     bool damp, double *Z, double *yy, size_t *chg)
{
    const size_t K = 2 * P + 2;
    for (size_t r = 0; r < M; r++) {
        const size_t t = r + P;
        double *row = Z + r * K;
        row[0] = 1.0;
        for (size_t j = 1; j <= P; j++) {
            row[j] = y[t - j];
            row[P + j] = x[t - j];
        }
        row[K - 1] = c2[t]; /* a control */
        if (damp && r < 60)
            row[P + 1] *= 2e-3;
        yy[r] = y[t];
    }
    for (size_t j = 0; j < P; j++)
        chg[j] = P + 1 + j;
}

/* Issue 17's updates (W~ carried row by row, W~'W~ = P - B'B, the four-row
 * loops) against the refit on random lag designs: AR(1) series, an odd
 * number of changing columns, row counts that are not multiples of 4, and
 * one design where a change is nearly in the span of the fixed columns at
 * the early breaks (pivot below HC_GRAM_GUARD: W~'W~ is then taken from W~). */
static void test_supwald_hc_updates_equal_refit(void **state)
{
    (void)state;
    enum { N = 330, P = 5, K = 1 + 2 * P + 1 };
    static double x[N], y[N], c2[N], Z[N * K], yy[N];
    uint64_t st = 99u;
    for (int pass = 0; pass < 3; pass++) {
        for (size_t t = 0; t < N; t++) {
            x[t] = (t ? 0.7 * x[t - 1] : 0.0) + ref_unit(&st);
            c2[t] = ref_unit(&st);
            y[t] = (t ? 0.4 * y[t - 1] : 0.0) + (t > 1 ? (t < 200 ? 0.6 : 0.2) * x[t - 2] : 0.0) +
                   0.5 * ref_unit(&st);
        }
        const size_t M = N - P - (size_t)pass; /* 325, 324, 323 rows */
        size_t chg[P];
        lag_rows(y, x, c2, P, M, pass == 2, Z, yy, chg); /* pass 2: damped x_{t-1} */
        check_hc_against_refit(yy, Z, M, K, chg, P);
    }
}

static size_t pruned_bounds_checked; /* bounds checked by check_pruned_equals_full */

/* One design with and without a W path: without one (analyze's call) candidates are
 * skipped when hc_bound proves them below the sup, with one every W(i) is computed.  Both
 * must give the same sup to the bit, the same argmax and p, and along the full path no
 * W(i) may exceed the bound the pruned run would have compared (a broken bound fails here
 * even when the sup survives it); returns the candidates the pruned run evaluated. */
static size_t check_pruned_equals_full(const double *y, const double *Z, size_t M, size_t K,
                                       const size_t *chg, size_t Q)
{
    double *wp = calloc(M + 1, sizeof(double));
    assert_non_null(wp);
    lw_breaks_supwald_hc_t full, pr;
    char err[256] = "";
    if (lw_breaks_supwald_hc(y, Z, M, K, chg, Q, 0.15, &full, wp, err, sizeof(err)) != LW_OK)
        fail_msg("full: %s", err);
    if (lw_breaks_supwald_hc(y, Z, M, K, chg, Q, 0.15, &pr, NULL, err, sizeof(err)) != LW_OK)
        fail_msg("pruned: %s", err);
    const size_t ncand = full.last - full.first + 1;
    assert_int_equal(full.evaluated, ncand);
    assert_true(pr.evaluated >= 1 && pr.evaluated <= ncand);
    double mx = -1.0;
    size_t arg = 0;
    for (size_t i = full.first; i <= full.last; i++)
        if (wp[i] > mx || (wp[i] == mx && i < arg)) {
            mx = wp[i];
            arg = i;
        }
    if (!(pr.sup_wald == full.sup_wald && full.sup_wald == mx) || pr.break_row != full.break_row ||
        full.break_row != arg)
        fail_msg("q = %zu, m = %zu: pruned sup %.17g at %zu, full %.17g at %zu, path max %.17g "
                 "at %zu",
                 Q, M, pr.sup_wald, pr.break_row, full.sup_wald, full.break_row, mx, arg);
    assert_true(pr.p_defined == full.p_defined && pr.p == full.p);
    assert_true(pr.first == full.first && pr.last == full.last && pr.lambda == full.lambda);
    /* every bound hc_bound gave (computed along the full path too) is above W(i) */
    if (full.bound_violations != 0)
        fail_msg("q = %zu, m = %zu: %zu of %zu bounds below their W(i)", Q, M,
                 full.bound_violations, full.bounds_checked);
    pruned_bounds_checked += full.bounds_checked;
    free(wp);
    return pr.evaluated;
}

/* Issue 17: lw_hcform_neg_qb (hcform.c, one copy per q with the sums in registers, two
 * row groups per pass up to q = 6), lw_hcform_hat4 and lw_hcform_row (one copy per q up
 * to 9) equal the plain loop bit for bit: every q 1..12 (the plain loop above 9), k 1..30,
 * mp 4..40 (odd and even numbers of row groups), entries spanning 1e-6 .. 1e6 with both
 * signs so that any change of order or a dropped term shows. */
static void test_hcform_equals_plain(void **state)
{
    (void)state;
    enum { MPMAX = 40, KMAX = 30, QMAX = 12 };
    static double Q[KMAX * MPMAX], B[KMAX * QMAX], W[QMAX * MPMAX], R[QMAX * MPMAX];
    uint64_t r = 0x2545F4914F6CDD1Du;
    size_t cases = 0;
    for (size_t i = 0; i < KMAX * MPMAX; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        Q[i] = ((double)(r >> 11) / 9007199254740992.0 - 0.5) * pow(10.0, (double)(r % 13) - 6.0);
    }
    for (size_t i = 0; i < KMAX * QMAX; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        B[i] = ((double)(r >> 11) / 9007199254740992.0 - 0.5) * pow(10.0, (double)(r % 7) - 3.0);
    }
    for (size_t q = 1; q <= QMAX; q++)
        for (size_t k = 1; k <= KMAX; k += 1 + k / 4)
            for (size_t mp = 4; mp <= MPMAX; mp += 4) {
                for (size_t t = 0; t < mp; t++)
                    for (size_t c = 0; c < q; c++) {
                        double acc = 0.0;
                        for (size_t j = 0; j < k; j++)
                            acc += B[j * q + c] * Q[j * mp + t];
                        R[c * mp + t] = -acc;
                    }
                memset(W, 0, sizeof W);
                lw_hcform_neg_qb(Q, B, mp, k, q, W);
                assert_memory_equal(W, R, q * mp * sizeof(double));
                cases++;
            }
    for (size_t k = 1; k <= KMAX; k++) /* the hat columns: B read as k x 4 */
        for (size_t mp = 4; mp <= MPMAX; mp += 4) {
            for (size_t t = 0; t < mp; t++)
                for (size_t c = 0; c < 4; c++) {
                    double acc = 0.0;
                    for (size_t j = 0; j < k; j++)
                        acc += B[j * 4 + c] * Q[j * mp + t];
                    R[c * mp + t] = acc;
                }
            memset(W, 0, sizeof W);
            lw_hcform_hat4(Q, B, mp, k, W);
            assert_memory_equal(W, R, 4 * mp * sizeof(double));
            cases++;
        }
    for (size_t q = 1; q <= QMAX; q++) /* one row of Q B */
        for (size_t k = 1; k <= KMAX; k += 1 + k / 4)
            for (size_t t = 0; t < MPMAX; t += 3) {
                double v[QMAX], want[QMAX];
                for (size_t c = 0; c < q; c++) {
                    double acc = 0.0;
                    for (size_t j = 0; j < k; j++)
                        acc += B[j * q + c] * Q[j * MPMAX + t];
                    want[c] = acc;
                }
                lw_hcform_row(Q + t, B, MPMAX, k, q, v);
                assert_memory_equal(v, want, q * sizeof(double));
                cases++;
            }
    assert_true(cases > 1000);
}

/* Issue 17: lw_hcform_whiten (the anchor's forward substitution, hcform.c: one copy per
 * q up to 9, two row groups per broadcast above) equals the plain row-by-row
 * substitution bit for bit (v, lev, V and the max), q 1..14 and 29, mp 4..40. */
static void test_hcform_whiten_equals_plain(void **state)
{
    (void)state;
    enum { MPMAX = 40, QMAX = 29 };
    static double Wt[QMAX * MPMAX], L[QMAX * QMAX], V[QMAX * MPMAX], RV[QMAX * MPMAX];
    double lev[MPMAX], rlev[MPMAX];
    uint64_t r = 0x9E3779B97F4A7C15u;
    size_t cases = 0;
    for (size_t q = 1; q <= QMAX; q = q == 14 ? QMAX : q + 1)
        for (size_t mp = 4; mp <= MPMAX; mp += 4) {
            for (size_t i = 0; i < q * mp; i++) {
                r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                Wt[i] = (double)(r >> 11) / 9007199254740992.0 - 0.5;
            }
            for (size_t a = 0; a < q; a++)
                for (size_t b = 0; b < q; b++) {
                    r ^= r << 13, r ^= r >> 7, r ^= r << 17;
                    const double u = (double)(r >> 11) / 9007199254740992.0;
                    L[a * q + b] = b < a ? u - 0.5 : b == a ? 0.5 + u : 0.0;
                }
            double rmax = 0.0;
            for (size_t t = 0; t < mp; t++) {
                double v[QMAX], l2 = 0.0;
                for (size_t c = 0; c < q; c++) {
                    double x = Wt[c * mp + t];
                    for (size_t l = 0; l < c; l++)
                        x -= L[c * q + l] * v[l];
                    v[c] = x * (1.0 / L[c * q + c]);
                    l2 += v[c] * v[c];
                }
                rlev[t] = l2;
                rmax = l2 > rmax ? l2 : rmax;
                for (size_t c = 0; c < q; c++)
                    RV[c * mp + t] = v[c] * sqrt(l2);
            }
            const double mx = lw_hcform_whiten(Wt, L, mp, q, V, lev);
            assert_memory_equal(lev, rlev, mp * sizeof(double));
            assert_memory_equal(V, RV, q * mp * sizeof(double));
            assert_memory_equal(&mx, &rmax, sizeof mx);
            cases++;
        }
    assert_true(cases == 15 * 10);
}

/* Issue 17: lw_hcform_update (the row-by-row mode's pending W~ updates; eight rows per
 * pass with four terms) equals the plain loop bit for bit: np 1..4, q 1..20, mp 4..40. */
static void test_hcform_update_equals_plain(void **state)
{
    (void)state;
    enum { MPMAX = 40, QMAX = 20 };
    static double W0[QMAX * MPMAX], W[QMAX * MPMAX], R[QMAX * MPMAX], H[4 * MPMAX], zp[4 * QMAX];
    uint64_t r = 0xD1B54A32D192ED03u;
    for (size_t i = 0; i < QMAX * MPMAX; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        W0[i] = ((double)(r >> 11) / 9007199254740992.0 - 0.5) * pow(10.0, (double)(r % 9) - 4.0);
    }
    for (size_t i = 0; i < 4 * MPMAX; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        H[i] = (double)(r >> 11) / 9007199254740992.0 - 0.5;
    }
    for (size_t i = 0; i < 4 * QMAX; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        zp[i] = ((double)(r >> 11) / 9007199254740992.0 - 0.5) * pow(10.0, (double)(r % 5) - 2.0);
    }
    size_t cases = 0;
    for (size_t np = 1; np <= 4; np++)
        for (size_t q = 1; q <= QMAX; q++)
            for (size_t mp = 4; mp <= MPMAX; mp += 4) {
                memcpy(W, W0, sizeof W);
                memcpy(R, W0, sizeof R);
                for (size_t c = 0; c < q; c++)
                    for (size_t t = 0; t < mp; t++)
                        for (size_t l = 0; l < np; l++)
                            R[c * mp + t] = R[c * mp + t] - zp[l * q + c] * H[l * mp + t];
                lw_hcform_update(W, H, zp, mp, q, np);
                assert_memory_equal(W, R, sizeof W);
                cases++;
            }
    assert_true(cases == 4 * QMAX * 10);
}

/* Issue 17: the pruned HC sup-Wald (a candidate is skipped when a bound from the last
 * evaluated one proves W(i) below the sup so far) against the full path, on random lag
 * designs: 1 to 12 changing lags, with and without a planted change, homoskedastic and
 * heteroskedastic noise, an outlier, a change near the first and near the last candidates,
 * a near-collinear change column (the HC_GRAM_GUARD design of the test above), and the R
 * reference cases.  The skipping must
 * happen (fewer than half the candidates evaluated over the random designs). */
static void test_supwald_hc_pruned_equals_full(void **state)
{
    (void)state;
    enum { NMAX = 700, PMAX = 12, KMAX = 1 + 2 * PMAX + 1 };
    static double x[NMAX], y[NMAX], c2[NMAX], Z[NMAX * KMAX], yy[NMAX];
    /* up to 9 changing lags W~ is formed at each evaluated candidate, 12 updates it
     * row by row (breaks_hc.c HC_DIRECT_MAX_Q): both ways pruned against full */
    static const size_t lags[] = {1, 2, 3, 5, 9, 12};
    uint64_t st = 4242u;
    size_t evaluated = 0, candidates = 0;
    for (size_t li = 0; li < sizeof lags / sizeof lags[0]; li++)
        for (int kind = 0; kind < 7; kind++) {
            const size_t P = lags[li], N = kind % 2 ? 700 : 331, K = 1 + 2 * P + 1;
            /* kind 0/1: no change; 2/3: a change at 60 % (heteroskedastic in 3);
             * 4: a change just inside the early end plus an outlier; 5: near the late end;
             * 6: no change, x_{t-1} nearly 0 over the first 60 rows (HC_GRAM_GUARD) */
            const size_t brk = kind < 2 || kind == 6 ? N
                               : kind < 4            ? N * 6 / 10
                               : kind == 4           ? N / 5
                                                     : N * 4 / 5;
            for (size_t t = 0; t < N; t++) {
                x[t] = (t ? 0.6 * x[t - 1] : 0.0) + ref_unit(&st);
                c2[t] = ref_unit(&st);
                const double sd = kind == 3 ? 0.2 + (double)t / (double)N : 0.5;
                const double b = t >= brk ? 0.8 : 0.2;
                y[t] = (t ? 0.3 * y[t - 1] : 0.0) + (t > 0 ? b * x[t - 1] : 0.0) +
                       sd * ref_unit(&st) + (kind == 4 && t == N / 2 ? 8.0 : 0.0);
            }
            const size_t M = N - P;
            size_t chg[PMAX];
            lag_rows(y, x, c2, P, M, kind == 6, Z, yy, chg);
            evaluated += check_pruned_equals_full(yy, Z, M, K, chg, P);
            candidates += (M - 2 * (size_t)floor(0.15 * (double)M + 1e-9)) + 1;
        }
    printf("    random designs: %zu of %zu candidates evaluated, %zu bounds checked\n", evaluated,
           candidates, pruned_bounds_checked);
    assert_true(2 * evaluated < candidates);
    assert_true(pruned_bounds_checked > candidates / 2);
    /* the R reference cases, p lags changing */
    for (size_t ci = 0; ci < sizeof(HC_CASES) / sizeof(HC_CASES[0]); ci++) {
        ref_file_t rf;
        assert_true(ref_load(HC_CASES[ci], &rf));
        const ref_line_t *ry = ref_get(&rf, "y"), *rx = ref_get(&rf, "x");
        const ref_line_t *cs = ref_get(&rf, "case");
        const size_t p = (size_t)cs->v[0], n = ry->n;
        lw_breaks_supwald_hc_t r;
        char err[256] = "";
        assert_int_equal(lw_breaks_supwald_hc_lags(ry->v, rx->v, n, p, p,
                                                   ref_get(&rf, "trim")->v[0], &r, NULL, err,
                                                   sizeof(err)),
                         LW_OK);
        hc_close(HC_CASES[ci], "pruned sup", r.sup_wald, cs->v[5]);
        assert_int_equal(r.break_row, (size_t)cs->v[6]);
        hc_close(HC_CASES[ci], "pruned p", r.p, cs->v[7]);
        ref_free(&rf);
    }
}

static void test_supwald_hc_degenerate(void **state)
{
    (void)state;
    enum { N = 120 };
    double y[N], x[N];
    uint64_t st = 5u;
    for (size_t i = 0; i < N; i++) {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        x[i] = (double)(st >> 11) / 9007199254740992.0;
    }
    for (size_t i = 0; i < N; i++)
        y[i] = (i ? 0.3 * y[i - 1] + 0.5 * x[i - 1] : 0.0) + 0.1 * x[(i * 7) % N];
    lw_breaks_supwald_hc_t r;
    char err[256] = "";
    assert_int_equal(lw_breaks_supwald_hc_lags(y, x, N, 2, 2, 0.15, &r, NULL, err, sizeof(err)),
                     LW_OK);
    assert_true(isfinite(r.sup_wald) && r.p >= 0.0 && r.p <= 1.0);
    assert_int_equal(lw_breaks_supwald_hc_lags(y, x, N, 2, 0, 0.15, &r, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_int_equal(lw_breaks_supwald_hc_lags(y, x, 20, 4, 4, 0.15, &r, NULL, err, sizeof(err)),
                     LW_ERR_INVALID); /* 16 rows for k + q = 13 */
    assert_int_equal(r.status, LW_ERR_INVALID);
    assert_true(r.sup_wald == 0.0 && r.reason[0] != '\0');
    assert_int_equal(lw_breaks_supwald_hc_lags(y, x, N, 2, 2, 0.5, &r, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    x[50] = (double)INFINITY;
    assert_int_equal(lw_breaks_supwald_hc_lags(y, x, N, 2, 2, 0.15, &r, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    /* x zero in the first half: its change is not identified in short old regimes */
    for (size_t i = 0; i < N; i++)
        x[i] = i < N / 2 ? 0.0 : (double)(i % 5);
    assert_int_equal(lw_breaks_supwald_hc_lags(y, x, N, 1, 1, 0.15, &r, NULL, err, sizeof(err)),
                     LW_ERR_STATS);
    assert_non_null(strstr(err, "break"));
    const double Z[4] = {1, 2, 3, 4};
    const size_t bad[2] = {1, 0};
    assert_int_equal(lw_breaks_supwald_hc(y, Z, 2, 2, bad, 2, 0.15, &r, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_supf_reference),
        cmocka_unit_test(test_recursive_and_cusum_reference),
        cmocka_unit_test(test_hansen_table_against_bai_perron),
        cmocka_unit_test(test_cusum_boundaries),
        cmocka_unit_test(test_ground_truth),
        cmocka_unit_test(test_degenerate),
        cmocka_unit_test(test_supwald_hc_reference),
        cmocka_unit_test(test_hansen_p40_reference),
        cmocka_unit_test(test_supwald_hc_equals_refit),
        cmocka_unit_test(test_supwald_hc_updates_equal_refit),
        cmocka_unit_test(test_supwald_hc_pruned_equals_full),
        cmocka_unit_test(test_hcform_equals_plain),
        cmocka_unit_test(test_hcform_whiten_equals_plain),
        cmocka_unit_test(test_hcform_update_equals_plain),
        cmocka_unit_test(test_supwald_hc_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
