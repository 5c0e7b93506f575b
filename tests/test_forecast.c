/*
 * test_forecast.c - rolling-origin forecasts and Clark-West (forecast.h).
 *
 *   - Reference: every forecast of both models, the RMSEs, the relative
 *     change and the Clark-West mean, se, t and p against a statsmodels OLS
 *     refit at every origin (tests/data/stats_refs2/forecast_*.txt), relative
 *     1e-9 (forecasts: 1e-9 of the scale of y).
 *   - Ground truth: an x that truly leads y gives a positive relative RMSE
 *     change and CW p < 0.01; a useless x gives p > 0.05 in most replications.
 *   - Timing: 6 edges x 730 points x lags 28 (the worst case) and at
 *     lag 7, printed; a refit-per-origin with ols.c timed for comparison.
 *   - Degenerate input: too short, NaN/Inf, constant x, bad lags.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/forecast.h"
#include "leadwatch/stats/ols.h"
#include "stats_refs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define REL 1e-9

static const char *const CASES[] = {
    "../stats_refs2/forecast_lead730", "../stats_refs2/forecast_useless400",
    "../stats_refs2/forecast_lag28", "../stats_refs2/forecast_meanonly"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void expect(const char *file, const char *what, double got, double want, double rel,
                   double abs_floor, double *worst)
{
    const double e = ref_relerr(got, want);
    if (e > *worst && fabs(want) > abs_floor)
        *worst = e;
    if (!ref_close(got, want, rel, abs_floor))
        fail_msg("%s %s: got %.17g want %.17g", file, what, got, want);
}

static void test_reference(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof(CASES) / sizeof(CASES[0]); ci++) {
        ref_file_t rf;
        assert_true(ref_load(CASES[ci], &rf));
        const ref_line_t *y = ref_get(&rf, "y"), *x = ref_get(&rf, "x");
        const ref_line_t *lags = ref_get(&rf, "lags"), *ini = ref_get(&rf, "initial");
        const ref_line_t *pa = ref_get(&rf, "pred_a"), *pb = ref_get(&rf, "pred_b");
        const ref_line_t *rm = ref_get(&rf, "rmse"), *cw = ref_get(&rf, "cw");
        const size_t n = y->n, yl = (size_t)lags->v[0], xl = (size_t)lags->v[1];
        /* forecast_meanonly pins initial = 50; the others use the default. */
        const size_t initial = strstr(CASES[ci], "meanonly") ? (size_t)ini->v[0] : 0;
        double *fa = malloc(n * sizeof(double)), *fb = malloc(n * sizeof(double));
        assert_true(fa && fb);
        lw_forecast_t res;
        char err[256] = "";
        assert_int_equal(
            lw_forecast_oos(y->v, x->v, n, yl, xl, initial, &res, fa, fb, err, sizeof(err)), LW_OK);
        assert_int_equal(res.status, LW_OK);
        assert_int_equal(res.initial, (size_t)ini->v[0]);
        assert_int_equal(res.noos, pa->n);
        assert_int_equal(res.first_forecast + res.noos, n);
        double sd = 0.0, mean = 0.0;
        for (size_t t = 0; t < n; t++)
            mean += y->v[t] / (double)n;
        for (size_t t = 0; t < n; t++)
            sd += (y->v[t] - mean) * (y->v[t] - mean) / (double)n;
        sd = sqrt(sd);
        double worst = 0.0;
        for (size_t i = 0; i < res.noos; i++) {
            expect(CASES[ci], "pred_a", fa[res.first_forecast + i], pa->v[i], REL, REL * sd,
                   &worst);
            expect(CASES[ci], "pred_b", fb[res.first_forecast + i], pb->v[i], REL, REL * sd,
                   &worst);
        }
        assert_true(fa[res.first_forecast - 1] == 0.0);
        expect(CASES[ci], "rmse_a", res.rmse_a, rm->v[0], REL, 0.0, &worst);
        expect(CASES[ci], "rmse_b", res.rmse_b, rm->v[1], REL, 0.0, &worst);
        /* 1 - ratio: relative error scales with 1/|change| (1e-16/0.005) */
        expect(CASES[ci], "rel_rmse_change", res.rel_rmse_change, rm->v[2], 1e-7, 1e-12, &worst);
        expect(CASES[ci], "cw_mean", res.cw_mean, cw->v[0], REL, 0.0, &worst);
        expect(CASES[ci], "cw_se", res.cw_se, cw->v[1], REL, 0.0, &worst);
        expect(CASES[ci], "cw_t", res.cw_t, cw->v[2], REL, 0.0, &worst);
        expect(CASES[ci], "cw_p", res.cw_p, cw->v[3], 1e-7, 1e-15, &worst);
        printf("    %-26s lags %2zu/%2zu R=%3zu P=%3zu rmse %.4f -> %.4f (%+.2f%%) CW t=%6.3f "
               "p=%.2e  worst rel err %.1e\n",
               CASES[ci] + 15, yl, xl, res.initial, res.noos, res.rmse_a, res.rmse_b,
               100.0 * res.rel_rmse_change, res.cw_t, res.cw_p, worst);
        free(fa);
        free(fb);
        ref_free(&rf);
    }
}

/* Deterministic N(0,1) draws (xorshift + Box-Muller). */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
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

/* y_t = 0.5 y_{t-1} + b x_{t-2} + e_t, x AR(1). */
static void simulate(double *y, double *x, size_t n, double b)
{
    x[0] = gauss();
    x[1] = gauss();
    y[0] = y[1] = 0.0;
    for (size_t t = 2; t < n; t++) {
        x[t] = 0.5 * x[t - 1] + gauss();
        y[t] = 0.5 * y[t - 1] + b * x[t - 2] + gauss();
    }
}

static void test_ground_truth(void **state)
{
    (void)state;
    enum { N = 500, REPS = 40 };
    static double y[N], x[N];
    size_t helps = 0, useless_quiet = 0;
    for (size_t r = 0; r < REPS; r++) {
        lw_forecast_t res;
        simulate(y, x, N, 0.4);
        assert_int_equal(lw_forecast_oos(y, x, N, 2, 2, 0, &res, NULL, NULL, NULL, 0), LW_OK);
        helps += res.rel_rmse_change > 0.0 && res.cw_p < 0.01;
        simulate(y, x, N, 0.0);
        assert_int_equal(lw_forecast_oos(y, x, N, 2, 2, 0, &res, NULL, NULL, NULL, 0), LW_OK);
        useless_quiet += res.cw_p > 0.05;
    }
    printf("    true lead: positive skill with CW p < 0.01 in %zu/%d; useless x: p > 0.05 in "
           "%zu/%d\n",
           helps, REPS, useless_quiet, REPS);
    assert_true(helps >= REPS - 1);
    assert_true(useless_quiet >= REPS * 8 / 10);
}

/* Expanding-window forecasts by refitting with ols.c at every origin. */
static double refit_time(const double *y, const double *x, size_t n, size_t lag)
{
    const size_t k = 1 + 2 * lag, m = n - lag, R = (m + 1) / 2;
    double *Z = malloc(m * k * sizeof(double)), *yy = malloc(m * sizeof(double));
    lw_ols_t *ols = NULL;
    assert_int_equal(lw_ols_new(m, k, &ols, NULL, 0), LW_OK);
    for (size_t t = lag; t < n; t++) {
        double *row = Z + (t - lag) * k;
        row[0] = 1.0;
        for (size_t j = 1; j <= lag; j++) {
            row[j] = y[t - j];
            row[lag + j] = x[t - j];
        }
        yy[t - lag] = y[t];
    }
    const double t0 = now_s();
    double sink = 0.0;
    for (size_t t = R; t < m; t++) {
        lw_ols_result_t fit;
        assert_int_equal(lw_ols_fit(ols, Z, yy, t, k, 0, 0, &fit, NULL, 0), LW_OK);
        for (size_t j = 0; j < k; j++)
            sink += Z[t * k + j] * fit.params[j];
    }
    const double dt = now_s() - t0;
    assert_true(isfinite(sink));
    lw_ols_destroy(ols);
    free(Z);
    free(yy);
    return dt;
}

static void test_timing(void **state)
{
    (void)state;
    enum { N = 730, EDGES = 6 };
    static double y[EDGES][N], x[EDGES][N];
    for (size_t e = 0; e < EDGES; e++)
        simulate(y[e], x[e], N, 0.2 * (double)e);
    const size_t lags[] = {7, 28};
    for (size_t li = 0; li < 2; li++) {
        double best = 1e9;
        for (int rep = 0; rep < 5; rep++) {
            const double t0 = now_s();
            for (size_t e = 0; e < EDGES; e++) {
                lw_forecast_t res;
                assert_int_equal(lw_forecast_oos(y[e], x[e], N, lags[li], lags[li], 0, &res, NULL,
                                                 NULL, NULL, 0),
                                 LW_OK);
            }
            const double dt = now_s() - t0;
            if (dt < best)
                best = dt;
        }
        printf("    6 edges x 730 points, ylags = xlags = %2zu: %.2f ms (both models, all "
               "origins)\n",
               lags[li], 1e3 * best);
        assert_true(best < 0.5); /* generous bound for sanitizer builds */
    }
    const double refit = refit_time(y[0], x[0], N, 28);
    printf("    for comparison, refitting model (b) with ols.c at every origin, one edge, lag 28: "
           "%.1f ms\n",
           1e3 * refit);
}

static void test_degenerate(void **state)
{
    (void)state;
    enum { N = 200 };
    double y[N], x[N];
    simulate(y, x, N, 0.3);
    lw_forecast_t res;
    char err[256];
    assert_int_equal(lw_forecast_oos(y, x, 40, 7, 7, 0, &res, NULL, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_int_equal(res.status, LW_ERR_INVALID);
    assert_non_null(strstr(res.reason, "too few"));
    assert_true(res.rmse_a == 0.0 && res.cw_p == 0.0);
    assert_int_equal(lw_forecast_oos(y, x, N, 2, 2, N - 5, &res, NULL, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_int_equal(lw_forecast_oos(y, x, N, 2, 2, 3, &res, NULL, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_int_equal(lw_forecast_oos(y, x, N, 2, 0, 0, &res, NULL, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_int_equal(lw_forecast_oos(y, x, N, 2, 31, 0, &res, NULL, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    double b[N];
    memcpy(b, x, sizeof(b));
    b[100] = (double)NAN;
    assert_int_equal(lw_forecast_oos(y, b, N, 2, 2, 0, &res, NULL, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_non_null(strstr(res.reason, "NaN"));
    b[100] = -(double)INFINITY;
    assert_int_equal(lw_forecast_oos(b, x, N, 2, 2, 0, &res, NULL, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    for (size_t t = 0; t < N; t++)
        b[t] = 4.0;
    assert_int_equal(lw_forecast_oos(y, b, N, 2, 2, 0, &res, NULL, NULL, err, sizeof(err)),
                     LW_ERR_STATS);
    assert_non_null(strstr(res.reason, "collinear"));
    /* constant y and x = y: every forecast exact */
    assert_int_equal(lw_forecast_oos(b, x, N, 0, 1, 0, &res, NULL, NULL, err, sizeof(err)),
                     LW_ERR_STATS);
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference),
        cmocka_unit_test(test_ground_truth),
        cmocka_unit_test(test_timing),
        cmocka_unit_test(test_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
