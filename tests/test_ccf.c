/*
 * test_ccf.c - prewhitened cross-correlation (ccf.h).
 *
 *   - Reference: the AR order (statsmodels ar_select_order, AIC), its AIC,
 *     the refitted AR coefficients (AutoReg), all 2K+1 correlations
 *     (statsmodels ccf(adjusted=False) on the same prewhitened series), the
 *     band and the lead, on four cases (tests/data/stats_refs2/ccf_*.txt):
 *     relative 1e-9 (correlations: absolute 1e-12 floor, they cross zero).
 *   - Ground truth: x leading y by 4 is found at lead 4 and significant; an
 *     independent pair has no significant lead most of the time.
 *   - Degenerate input: constant x or y, too short, NaN/Inf, bad lags.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/ccf.h"
#include "leadwatch/stats/ols.h"
#include "stats_refs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define REL 1e-9

static const char *const CASES[] = {"../stats_refs2/ccf_lead730", "../stats_refs2/ccf_ar2_lag5",
                                    "../stats_refs2/ccf_macro", "../stats_refs2/ccf_white150"};

static void expect(const char *file, const char *what, double got, double want, double rel,
                   double abs_floor, double *worst)
{
    const double e = ref_relerr(got, want);
    if (e > *worst && fabs(want) > 1e-6)
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
        const ref_line_t *x = ref_get(&rf, "x"), *y = ref_get(&rf, "y");
        const size_t K = (size_t)ref_get(&rf, "maxlag")->v[0];
        const size_t pmax = (size_t)ref_get(&rf, "max_ar")->v[0];
        const ref_line_t *params = ref_get(&rf, "ar_params"), *rr = ref_get(&rf, "r");
        const size_t n = x->n;
        double *r = malloc((2 * K + 1) * sizeof(double));
        assert_non_null(r);
        lw_ccf_t res;
        char err[256] = "";
        const clock_t c0 = clock();
        assert_int_equal(lw_ccf_prewhitened(x->v, y->v, n, K, pmax, &res, r, err, sizeof(err)),
                         LW_OK);
        const double ms = 1e3 * (double)(clock() - c0) / CLOCKS_PER_SEC;
        assert_int_equal(res.status, LW_OK);
        assert_int_equal(res.max_ar, pmax);
        assert_int_equal(res.ar_order, (size_t)ref_get(&rf, "ar_order")->v[0]);
        assert_int_equal(res.npw, n - res.ar_order);
        double worst = 0.0;
        expect(CASES[ci], "aic", res.ar_aic, ref_get(&rf, "ar_aic")->v[0], REL, 0.0, &worst);
        assert_int_equal(params->n, res.ar_order + 1);
        expect(CASES[ci], "const", res.ar_const, params->v[0], REL, 1e-13, &worst);
        for (size_t i = 0; i < res.ar_order; i++)
            expect(CASES[ci], "phi", res.ar_coef[i], params->v[1 + i], REL, 1e-13, &worst);
        assert_int_equal(rr->n, 2 * K + 1);
        for (size_t i = 0; i < rr->n; i++)
            expect(CASES[ci], "r(k)", r[i], rr->v[i], REL, 1e-12, &worst);
        expect(CASES[ci], "band", res.band, ref_get(&rf, "band")->v[0], 1e-15, 0.0, &worst);
        assert_int_equal(res.lead, (size_t)ref_get(&rf, "lead")->v[0]);
        assert_true(res.lead_r == r[K + res.lead]);
        printf("    %-20s n=%3zu AR(%zu of <=%2zu) lead %2zu r=%+.3f band %.3f %s  %.2f ms  worst "
               "rel err %.1e\n",
               CASES[ci] + 19, n, res.ar_order, pmax, res.lead, res.lead_r, res.band,
               res.lead_significant ? "sig" : "n.s.", ms, worst);
        free(r);
        ref_free(&rf);
    }
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
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

static void test_ground_truth(void **state)
{
    (void)state;
    enum { N = 400, K = 14, REPS = 30 };
    static double x[N], y[N], z[N];
    double r[2 * K + 1];
    size_t right = 0, exceed_pw = 0, exceed_raw = 0;
    for (size_t rep = 0; rep < REPS; rep++) {
        x[0] = gauss();
        for (size_t t = 1; t < N; t++)
            x[t] = 0.8 * x[t - 1] + gauss(); /* strongly autocorrelated: needs prewhitening */
        for (size_t t = 0; t < N; t++) {
            y[t] = (t >= 4 ? 0.6 * x[t - 4] : 0.0) + gauss();
            z[t] = t ? 0.8 * z[t - 1] + gauss() : gauss();
        }
        lw_ccf_t res;
        assert_int_equal(lw_ccf_prewhitened(x, y, N, K, LW_CCF_DEFAULT_AR, &res, r, NULL, 0),
                         LW_OK);
        right += res.lead == 4 && res.lead_significant && res.lead_r > 0.0;
        /* independent pair: count band exceedances over lags -K..K */
        assert_int_equal(lw_ccf_prewhitened(x, z, N, K, LW_CCF_DEFAULT_AR, &res, r, NULL, 0),
                         LW_OK);
        for (size_t i = 0; i < 2 * K + 1; i++)
            exceed_pw += fabs(r[i]) > res.band;
        assert_int_equal(lw_ccf_prewhitened(x, z, N, K, 0, &res, r, NULL, 0), LW_OK);
        for (size_t i = 0; i < 2 * K + 1; i++)
            exceed_raw += fabs(r[i]) > res.band;
    }
    const double tot = (double)(REPS * (2 * K + 1));
    printf("    lead 4 found in %zu/%d; independent AR(0.8) pair outside the band at %.1f%% of "
           "lags prewhitened, %.1f%% raw\n",
           right, REPS, 100.0 * (double)exceed_pw / tot, 100.0 * (double)exceed_raw / tot);
    assert_true(right >= REPS - 1);
    /* nominal 5% per lag; unfiltered AR(1) pairs are badly oversized (Box &
     * Jenkins' reason for prewhitening) */
    assert_true((double)exceed_pw / tot < 0.09);
    assert_true(exceed_raw > 2 * exceed_pw);
}

static void test_degenerate(void **state)
{
    (void)state;
    enum { N = 100 };
    double x[N], y[N], c[N], r[2 * 40 + 1];
    for (size_t t = 0; t < N; t++) {
        x[t] = gauss();
        y[t] = gauss();
        c[t] = 5.0;
    }
    lw_ccf_t res;
    char err[256];
    assert_int_equal(lw_ccf_prewhitened(c, y, N, 10, 5, &res, r, err, sizeof(err)), LW_ERR_STATS);
    assert_non_null(strstr(res.reason, "x is constant"));
    assert_int_equal(res.status, LW_ERR_STATS);
    assert_int_equal(lw_ccf_prewhitened(x, c, N, 10, 5, &res, r, err, sizeof(err)), LW_ERR_STATS);
    assert_non_null(strstr(res.reason, "y is constant"));
    assert_int_equal(lw_ccf_prewhitened(x, y, 17, 10, 5, &res, r, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_non_null(strstr(res.reason, "need at least"));
    assert_true(res.band == 0.0 && res.lead == 0);
    assert_int_equal(lw_ccf_prewhitened(x, y, N, 0, 5, &res, r, err, sizeof(err)), LW_ERR_INVALID);
    assert_int_equal(lw_ccf_prewhitened(x, y, N, 10, LW_CCF_MAX_AR + 1, &res, r, err, sizeof(err)),
                     LW_ERR_INVALID);
    x[17] = (double)NAN;
    assert_int_equal(lw_ccf_prewhitened(x, y, N, 10, 5, &res, r, err, sizeof(err)), LW_ERR_INVALID);
    assert_non_null(strstr(res.reason, "NaN"));
    x[17] = 0.0;
    y[3] = (double)INFINITY;
    assert_int_equal(lw_ccf_prewhitened(x, y, N, 10, 5, &res, r, err, sizeof(err)), LW_ERR_INVALID);
    y[3] = 0.0;
    /* max_ar = 0: no filtering, the plain CCF */
    assert_int_equal(lw_ccf_prewhitened(x, y, N, 40, 0, &res, r, err, sizeof(err)), LW_OK);
    assert_int_equal(res.ar_order, 0);
    assert_int_equal(res.npw, N);
    assert_int_equal(lw_ccf_default_max_ar(730), 28);
    assert_int_equal(lw_ccf_default_max_ar(40), 10);
    assert_int_equal(lw_ccf_default_max_ar(1), 0);
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference),
        cmocka_unit_test(test_ground_truth),
        cmocka_unit_test(test_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
