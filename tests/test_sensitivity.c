/*
 * test_sensitivity.c - minimum detectable relative change (sensitivity.h).
 *
 *   - Reference: long-run variance (m * HAC se^2 of statsmodels
 *     OLS(u, ones).fit(cov_type='HAC')), level, SE, z quantiles, MDE and the
 *     flag, for default and custom options, with and without detrending
 *     (tests/data/stats_refs2/sens_*.txt), relative 1e-9.
 *   - Known answers: a noisy input has a larger MDE than a quiet one; for
 *     white noise with L = 0 the MDE is 2.8016 sd sqrt(2/14) / level.
 *   - Degenerate input: constant, too short, NaN/Inf, level <= 0, bad options.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/ols.h"
#include "leadwatch/stats/sensitivity.h"
#include "stats_refs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define REL 1e-9

static const char *const CASES[] = {"../stats_refs2/sens_quiet", "../stats_refs2/sens_noisy",
                                    "../stats_refs2/sens_trend", "../stats_refs2/sens_custom"};

static void expect(const char *file, const char *what, double got, double want)
{
    if (!ref_close(got, want, REL, 0.0))
        fail_msg("%s %s: got %.17g want %.17g", file, what, got, want);
}

static void test_reference(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof(CASES) / sizeof(CASES[0]); ci++) {
        ref_file_t rf;
        assert_true(ref_load(CASES[ci], &rf));
        const ref_line_t *x = ref_get(&rf, "x"), *o, *w;
        for (size_t i = 0; (o = ref_nth(&rf, "opts", i)) != NULL; i++) {
            w = ref_nth(&rf, "res", i);
            assert_non_null(w);
            lw_sens_opts_t opts;
            lw_sens_opts_init(&opts);
            opts.horizon = (size_t)o->v[0];
            opts.baseline = (size_t)o->v[1];
            opts.history = (size_t)o->v[2];
            opts.bandwidth = o->v[3] < 0 ? LW_SENS_DEFAULT_BANDWIDTH : (size_t)o->v[3];
            opts.detrend = o->v[4] != 0.0;
            opts.alpha = o->v[5];
            opts.power = o->v[6];
            opts.threshold = o->v[7];
            lw_sens_t res;
            char err[256] = "";
            assert_int_equal(lw_sensitivity_mde(x->v, x->n, &opts, &res, err, sizeof(err)), LW_OK);
            assert_int_equal(res.status, LW_OK);
            assert_int_equal(res.nobs, (size_t)w->v[0]);
            assert_int_equal(res.bandwidth, (size_t)w->v[1]);
            expect(CASES[ci], "level", res.level, w->v[2]);
            expect(CASES[ci], "mean", res.mean, w->v[3]);
            expect(CASES[ci], "lrv", res.lrv, w->v[4]);
            expect(CASES[ci], "var", res.var, w->v[5]);
            expect(CASES[ci], "se", res.se, w->v[6]);
            expect(CASES[ci], "z_alpha", res.z_alpha, w->v[7]);
            if (w->v[8] == 0.0)
                assert_true(fabs(res.z_power) < 1e-15);
            else
                expect(CASES[ci], "z_power", res.z_power, w->v[8]);
            expect(CASES[ci], "mde_abs", res.mde_abs, w->v[9]);
            expect(CASES[ci], "mde_rel", res.mde_rel, w->v[10]);
            assert_int_equal(res.sensitive, w->v[11] != 0.0);
            printf("    %-11s H=%2zu B=%3zu m=%3zu L=%2zu%s lrv/var %.2f  MDE %6.2f%% %s\n",
                   CASES[ci] + 20, res.horizon, res.baseline, res.nobs, res.bandwidth,
                   opts.detrend ? " detrended" : "          ", res.lrv / res.var,
                   100.0 * res.mde_rel, res.sensitive ? "sensitive" : "NOT sensitive");
        }
        ref_free(&rf);
    }
}

static void test_known_answers(void **state)
{
    (void)state;
    enum { N = 400 };
    double quiet[N], noisy[N], white[N];
    uint64_t s = 12345;
    for (size_t t = 0; t < N; t++) {
        double u = 0.0;
        for (int j = 0; j < 12; j++) { /* Irwin-Hall: approximately N(0, 1) */
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            u += (double)(s >> 11) / 9007199254740992.0;
        }
        u -= 6.0;
        quiet[t] = 1000.0 + 5.0 * u;
        noisy[t] = 1000.0 + 150.0 * u;
        white[t] = 100.0 + 2.0 * u;
    }
    lw_sens_opts_t opts;
    lw_sens_opts_init(&opts);
    lw_sens_t q, nz;
    assert_int_equal(lw_sensitivity_mde(quiet, N, &opts, &q, NULL, 0), LW_OK);
    assert_int_equal(lw_sensitivity_mde(noisy, N, &opts, &nz, NULL, 0), LW_OK);
    assert_true(nz.mde_rel > q.mde_rel);
    assert_true(q.sensitive);
    assert_false(nz.sensitive);
    /* same shocks scaled 30x: MDE_abs scales 30x exactly */
    assert_true(fabs(nz.mde_abs / q.mde_abs - 30.0) < 1e-9);
    /* L = 0, B = H = 14: MDE = (1.96 + 0.8416) sqrt(var (2/14)) / level */
    opts.bandwidth = 0;
    lw_sens_t wres;
    assert_int_equal(lw_sensitivity_mde(white, N, &opts, &wres, NULL, 0), LW_OK);
    assert_true(fabs(wres.lrv - wres.var) <= 1e-12 * wres.var);
    const double want =
        (1.959963984540054 + 0.8416212335729143) * sqrt(wres.var * 2.0 / 14.0) / wres.level;
    assert_true(fabs(wres.mde_rel - want) < 1e-12);
    printf("    quiet %.2f%% < noisy %.2f%%; white noise L=0: %.3f%%\n", 100.0 * q.mde_rel,
           100.0 * nz.mde_rel, 100.0 * wres.mde_rel);
}

static void test_degenerate(void **state)
{
    (void)state;
    enum { N = 60 };
    double x[N];
    for (size_t t = 0; t < N; t++)
        x[t] = 50.0;
    lw_sens_opts_t opts;
    lw_sens_opts_init(&opts);
    lw_sens_t res;
    char err[256];
    assert_int_equal(lw_sensitivity_mde(x, N, &opts, &res, err, sizeof(err)), LW_ERR_STATS);
    assert_non_null(strstr(res.reason, "constant"));
    assert_true(res.mde_rel == 0.0 && !res.sensitive);
    for (size_t t = 0; t < N; t++)
        x[t] = 50.0 + (double)(t % 5);
    assert_int_equal(lw_sensitivity_mde(x, 15, &opts, &res, err, sizeof(err)), LW_ERR_INVALID);
    assert_non_null(strstr(res.reason, "too few"));
    x[N - 3] = (double)NAN;
    assert_int_equal(lw_sensitivity_mde(x, N, &opts, &res, err, sizeof(err)), LW_ERR_INVALID);
    assert_non_null(strstr(res.reason, "NaN"));
    x[N - 3] = (double)INFINITY;
    assert_int_equal(lw_sensitivity_mde(x, N, &opts, &res, err, sizeof(err)), LW_ERR_INVALID);
    /* a NaN outside the history window used is not looked at */
    opts.history = 30;
    assert_int_equal(lw_sensitivity_mde(x, N - 5, &opts, &res, err, sizeof(err)), LW_OK);
    lw_sens_opts_init(&opts);
    for (size_t t = 0; t < N; t++)
        x[t] = -10.0 + (double)(t % 5);
    assert_int_equal(lw_sensitivity_mde(x, N, &opts, &res, err, sizeof(err)), LW_ERR_STATS);
    assert_non_null(strstr(res.reason, "positive level"));
    /* a straight line detrended: nothing left */
    for (size_t t = 0; t < N; t++)
        x[t] = 100.0 + 2.0 * (double)t;
    opts.detrend = true;
    assert_int_equal(lw_sensitivity_mde(x, N, &opts, &res, err, sizeof(err)), LW_ERR_STATS);
    lw_sens_opts_init(&opts);
    opts.alpha = 0.0;
    assert_int_equal(lw_sensitivity_mde(x, N, &opts, &res, err, sizeof(err)), LW_ERR_INVALID);
    lw_sens_opts_init(&opts);
    opts.power = 1.0;
    assert_int_equal(lw_sensitivity_mde(x, N, &opts, &res, err, sizeof(err)), LW_ERR_INVALID);
    lw_sens_opts_init(&opts);
    opts.baseline = 59;
    assert_int_equal(lw_sensitivity_mde(x, N, &opts, &res, err, sizeof(err)), LW_ERR_INVALID);
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference),
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
