/*
 * test_kpss.c - KPSS vs statsmodels kpss(x, regression='c'|'ct', nlags='auto'|
 * 'legacy'|l) (scripts/gen_stats_refs3.py, tests/data/stats_refs3/kpss_*.txt):
 * statistic, interpolated p-value, the bandwidth used (exactly) and the
 * critical values; the p-value interpolation on a grid; the bound flag;
 * degenerate inputs.  Acceptance tolerance: relative 1e-9.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/kpss.h"
#include "leadwatch/stats/ols.h"
#include "stats_refs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const CASES[] = {
    "../stats_refs3/kpss_rw300",      "../stats_refs3/kpss_trend365",
    "../stats_refs3/kpss_ar730",      "../stats_refs3/kpss_macro_log_realgdp",
    "../stats_refs3/kpss_macro_infl", "../stats_refs3/kpss_short12",
    "../stats_refs3/kpss_shift200"};

enum { R_REG, R_ARG, R_STAT, R_P, R_LAGS, R_C10, R_C5, R_C25, R_C1 };

static void test_against_statsmodels(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof(CASES) / sizeof(CASES[0]); ci++) {
        ref_file_t rf;
        assert_true(ref_load(CASES[ci], &rf));
        const ref_line_t *x = ref_get(&rf, "x");
        assert_non_null(x);
        double worst = 0.0;
        size_t checked = 0;
        const ref_line_t *l;
        for (size_t i = 0; (l = ref_nth(&rf, "res", i)) != NULL; i++, checked++) {
            assert_int_equal(l->n, 9);
            const lw_kpss_reg_t reg = l->v[R_REG] == 0.0 ? LW_KPSS_C : LW_KPSS_CT;
            const double a = l->v[R_ARG];
            const size_t nl = a == -1.0 ? LW_KPSS_AUTO : a == -2.0 ? LW_KPSS_LEGACY : (size_t)a;
            lw_kpss_result_t r;
            char err[256] = "";
            if (lw_kpss(x->v, x->n, reg, nl, &r, err, sizeof(err)) != LW_OK)
                fail_msg("%s line %zu: %s", CASES[ci], i, err);
            if (r.nlags != (size_t)l->v[R_LAGS])
                fail_msg("%s line %zu: nlags %zu want %g", CASES[ci], i, r.nlags, l->v[R_LAGS]);
            if (!ref_close(r.stat, l->v[R_STAT], 1e-9, 0.0))
                fail_msg("%s line %zu: stat %.17g want %.17g", CASES[ci], i, r.stat, l->v[R_STAT]);
            if (!ref_close(r.pvalue, l->v[R_P], 1e-9, 1e-15))
                fail_msg("%s line %zu: p %.17g want %.17g", CASES[ci], i, r.pvalue, l->v[R_P]);
            for (int j = 0; j < 4; j++)
                assert_true(r.crit[j] == l->v[R_C10 + j]);
            /* the bound flag says which side statsmodels' warning points to */
            assert_int_equal(r.p_bound, l->v[R_P] == 0.10 ? 1 : l->v[R_P] == 0.01 ? -1 : 0);
            const double rel = ref_relerr(r.stat, l->v[R_STAT]);
            if (rel > worst)
                worst = rel;
        }
        assert_true(checked >= 6);
        printf("    %-36s n=%3zu  %zu configurations, worst relative error %.2e\n", CASES[ci], x->n,
               checked, worst);
        ref_free(&rf);
    }
}

static void test_pvalue_table(void **state)
{
    (void)state;
    ref_file_t rf;
    assert_true(ref_load("../stats_refs3/kpss_table", &rf));
    const ref_line_t *l;
    size_t n = 0;
    for (size_t i = 0; (l = ref_nth(&rf, "pval", i)) != NULL; i++, n++) {
        int bound;
        const double got = lw_kpss_pvalue(l->v[1], l->v[0] == 0.0 ? LW_KPSS_C : LW_KPSS_CT, &bound);
        if (!ref_close(got, l->v[2], 1e-12, 1e-16))
            fail_msg("pvalue(%g, %g): got %.17g want %.17g", l->v[0], l->v[1], got, l->v[2]);
    }
    assert_true(n >= 80);
    int b;
    assert_true(lw_kpss_pvalue(0.01, LW_KPSS_C, &b) == 0.10 && b == 1);
    assert_true(lw_kpss_pvalue(5.0, LW_KPSS_C, &b) == 0.01 && b == -1);
    assert_true(lw_kpss_pvalue(0.5, LW_KPSS_C, &b) < 0.05 && b == 0);
    assert_true(lw_kpss_pvalue((double)NAN, LW_KPSS_CT, &b) == 0.10 && b == 1); /* never NaN */
    ref_free(&rf);
}

static void test_degenerate(void **state)
{
    (void)state;
    double x[60];
    lw_kpss_result_t r;
    char err[256] = "";
    for (size_t i = 0; i < 60; i++)
        x[i] = 4.0;
    assert_int_equal(lw_kpss(x, 60, LW_KPSS_C, LW_KPSS_AUTO, &r, err, sizeof(err)), LW_ERR_INVALID);
    assert_non_null(strstr(err, "constant"));
    for (size_t i = 0; i < 60; i++)
        x[i] = 2.0 - 0.25 * (double)i;
    assert_int_equal(lw_kpss(x, 60, LW_KPSS_CT, LW_KPSS_AUTO, &r, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_non_null(strstr(err, "linear"));
    assert_true(r.stat == 0.0 && r.nlags == 0);
    /* a line is fine for the level test (it is far from level-stationary) */
    assert_int_equal(lw_kpss(x, 60, LW_KPSS_C, 2, &r, err, sizeof(err)), LW_OK);
    assert_int_equal(r.p_bound, -1);
    x[10] = (double)INFINITY;
    assert_int_equal(lw_kpss(x, 60, LW_KPSS_C, LW_KPSS_AUTO, &r, err, sizeof(err)), LW_ERR_INVALID);
    x[10] = 0.0;
    assert_int_equal(lw_kpss(x, 60, LW_KPSS_C, 60, &r, err, sizeof(err)), LW_ERR_INVALID);
    assert_int_equal(lw_kpss(x, 60, LW_KPSS_C, 59, &r, err, sizeof(err)), LW_OK);
    assert_int_equal(lw_kpss(x, 2, LW_KPSS_C, LW_KPSS_AUTO, &r, err, sizeof(err)), LW_ERR_INVALID);
    /* the legacy bandwidth is capped at n - 1 */
    double three[3] = {1.0, 3.0, 2.0};
    assert_int_equal(lw_kpss(three, 3, LW_KPSS_C, LW_KPSS_LEGACY, &r, err, sizeof(err)), LW_OK);
    assert_int_equal(r.nlags, 2);
    assert_true(isfinite(r.stat));
}

/* Rescaling and shifting the series leaves the statistic unchanged. */
static void test_invariance(void **state)
{
    (void)state;
    enum { N = 250 };
    static double x[N], z[N];
    uint64_t st = 99u;
    double u = 0.0;
    for (size_t i = 0; i < N; i++) {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        u = 0.5 * u + ((double)(st >> 11) / 9007199254740992.0 - 0.5);
        x[i] = u + 0.002 * (double)i;
        z[i] = 1000.0 * x[i] + 5e4;
    }
    for (int reg = 0; reg < 2; reg++) {
        lw_kpss_result_t a, b;
        char err[256] = "";
        assert_int_equal(lw_kpss(x, N, (lw_kpss_reg_t)reg, LW_KPSS_AUTO, &a, err, sizeof(err)),
                         LW_OK);
        assert_int_equal(lw_kpss(z, N, (lw_kpss_reg_t)reg, LW_KPSS_AUTO, &b, err, sizeof(err)),
                         LW_OK);
        assert_int_equal(a.nlags, b.nlags);
        assert_true(ref_close(a.stat, b.stat, 1e-9, 0.0));
    }
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_statsmodels),
        cmocka_unit_test(test_pvalue_table),
        cmocka_unit_test(test_degenerate),
        cmocka_unit_test(test_invariance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
