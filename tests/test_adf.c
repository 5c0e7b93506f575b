/*
 * test_adf.c - augmented Dickey-Fuller vs statsmodels adfuller(x, maxlag,
 * regression='c', autolag='AIC'|'BIC'|None) (tests/data/stats_refs/adf_<case>.txt):
 * statistic, p-value, chosen lag, nobs, critical values and the winning
 * information criterion; the MacKinnon tables on a grid; degenerate inputs.
 * Acceptance tolerance: relative 1e-6 (p-values with an absolute floor of
 * 1e-12); lag and nobs exactly.
 * The constant + trend variant (lw_adf_ex, LW_ADF_CT) is checked the same way
 * against adfuller(regression='ct') (scripts/gen_stats_refs3.py,
 * tests/data/stats_refs3/adfct_<case>.txt), and lw_adf_ex(LW_ADF_C) must equal
 * lw_adf bit for bit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/adf.h"
#include "leadwatch/stats/ols.h"
#include "stats_refs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const CASES[] = {
    "adf_rw200",      "adf_ar730",   "adf_trend100", "adf_macro_log_realgdp",
    "adf_macro_infl", "adf_short20", "adf_ma60"};

enum { R_MODE, R_MAXLAG, R_STAT, R_P, R_USED, R_NOBS, R_C1, R_C5, R_C10, R_IC };

static double worst;

static void near(const char *c, const char *what, double got, double want, double floor_)
{
    const double rel = ref_relerr(got, want);
    if (rel > worst && fabs(got - want) > floor_)
        worst = rel;
    if (!ref_close(got, want, 1e-6, floor_))
        fail_msg("%s %s: got %.17g want %.17g", c, what, got, want);
}

static const char *const CT_CASES[] = {
    "../stats_refs3/adfct_rw300",      "../stats_refs3/adfct_trend365",
    "../stats_refs3/adfct_ar730",      "../stats_refs3/adfct_macro_log_realgdp",
    "../stats_refs3/adfct_macro_infl", "../stats_refs3/adfct_short12",
    "../stats_refs3/adfct_shift200"};

/* Every res line of each case file against lw_adf_ex(reg). */
static void check_cases(const char *const *cases, size_t ncases, lw_adf_reg_t reg)
{
    for (size_t ci = 0; ci < ncases; ci++) {
        ref_file_t rf;
        assert_true(ref_load(cases[ci], &rf));
        const ref_line_t *x = ref_get(&rf, "x");
        assert_non_null(x);
        worst = 0.0;
        size_t checked = 0;
        const ref_line_t *l;
        for (size_t i = 0; (l = ref_nth(&rf, "res", i)) != NULL; i++) {
            assert_int_equal(l->n, 10);
            const int mode = (int)l->v[R_MODE];
            const lw_adf_autolag_t al = mode == 0   ? LW_ADF_AUTOLAG_AIC
                                        : mode == 1 ? LW_ADF_AUTOLAG_BIC
                                                    : LW_ADF_AUTOLAG_NONE;
            const size_t maxlag =
                l->v[R_MAXLAG] < 0 ? LW_ADF_DEFAULT_MAXLAG : (size_t)l->v[R_MAXLAG];
            lw_adf_result_t r;
            char err[256] = "";
            if (lw_adf_ex(x->v, x->n, maxlag, al, reg, &r, err, sizeof(err)) != LW_OK)
                fail_msg("%s mode %d: %s", cases[ci], mode, err);
            if (reg == LW_ADF_C) {
                lw_adf_result_t r0;
                assert_int_equal(lw_adf(x->v, x->n, maxlag, al, &r0, err, sizeof(err)), LW_OK);
                assert_memory_equal(&r0, &r, sizeof(r));
            }
            assert_int_equal(r.usedlag, (size_t)l->v[R_USED]);
            assert_int_equal(r.nobs, (size_t)l->v[R_NOBS]);
            near(cases[ci], "stat", r.stat, l->v[R_STAT], 0.0);
            near(cases[ci], "pvalue", r.pvalue, l->v[R_P], 1e-12);
            near(cases[ci], "crit1", r.crit[0], l->v[R_C1], 0.0);
            near(cases[ci], "crit5", r.crit[1], l->v[R_C5], 0.0);
            near(cases[ci], "crit10", r.crit[2], l->v[R_C10], 0.0);
            if (mode != 2)
                near(cases[ci], "icbest", r.icbest, l->v[R_IC], 0.0);
            checked++;
        }
        assert_true(checked >= 3);
        printf("    %-22s n=%3zu  %zu configurations, worst relative error %.2e\n", cases[ci], x->n,
               checked, worst);
        ref_free(&rf);
    }
}

static void test_against_statsmodels(void **state)
{
    (void)state;
    check_cases(CASES, sizeof(CASES) / sizeof(CASES[0]), LW_ADF_C);
}

static void test_ct_against_statsmodels(void **state)
{
    (void)state;
    check_cases(CT_CASES, sizeof(CT_CASES) / sizeof(CT_CASES[0]), LW_ADF_CT);
}

static void test_ct_mackinnon_tables(void **state)
{
    (void)state;
    ref_file_t rf;
    assert_true(ref_load("../stats_refs3/adfct_mackinnon", &rf));
    const ref_line_t *l;
    size_t np = 0, nc = 0;
    for (size_t i = 0; (l = ref_nth(&rf, "pval", i)) != NULL; i++, np++) {
        const double got = lw_adf_mackinnonp_ex(l->v[0], LW_ADF_CT);
        if (!ref_close(got, l->v[1], 1e-9, 1e-15))
            fail_msg("mackinnonp_ct(%.17g): got %.17g want %.17g", l->v[0], got, l->v[1]);
    }
    for (size_t i = 0; (l = ref_nth(&rf, "crit", i)) != NULL; i++, nc++) {
        double c[3];
        lw_adf_mackinnoncrit_ex((size_t)l->v[0], LW_ADF_CT, c);
        for (int j = 0; j < 3; j++)
            assert_true(ref_close(c[j], l->v[1 + j], 1e-12, 0.0));
    }
    assert_true(np >= 40);
    assert_true(nc >= 5);
    assert_true(lw_adf_mackinnonp_ex(-1e300, LW_ADF_CT) == 0.0);
    assert_true(lw_adf_mackinnonp_ex(1e300, LW_ADF_CT) == 1.0);
    assert_true(lw_adf_mackinnonp_ex(-2.0, LW_ADF_C) == lw_adf_mackinnonp(-2.0));
    ref_free(&rf);
}

/* A trend-stationary series: the constant-only test cannot reject a unit
 * root, the trend test does (the reason issue 11 asks for 'ct'). */
static void test_ct_trend_stationary(void **state)
{
    (void)state;
    enum { N = 400 };
    static double x[N];
    uint64_t st = 1234567u;
    double u = 0.0;
    for (size_t i = 0; i < N; i++) {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        u = 0.3 * u + ((double)(st >> 11) / 9007199254740992.0 - 0.5);
        x[i] = 0.01 * (double)i + u;
    }
    lw_adf_result_t c, ct;
    char err[256] = "";
    assert_int_equal(lw_adf_ex(x, N, 4, LW_ADF_AUTOLAG_NONE, LW_ADF_C, &c, err, sizeof(err)),
                     LW_OK);
    assert_int_equal(lw_adf_ex(x, N, 4, LW_ADF_AUTOLAG_NONE, LW_ADF_CT, &ct, err, sizeof(err)),
                     LW_OK);
    assert_true(ct.pvalue < 0.01);
    assert_true(ct.stat < c.stat);
    assert_true(ct.crit[1] < c.crit[1]); /* the trend test's 5% value is further left */
}

static void test_ct_degenerate(void **state)
{
    (void)state;
    double x[40];
    lw_adf_result_t r;
    char err[256] = "";
    for (size_t i = 0; i < 40; i++)
        x[i] = 1.0 + 0.5 * (double)i; /* exactly linear: perfect fit */
    assert_int_equal(lw_adf_ex(x, 40, 2, LW_ADF_AUTOLAG_NONE, LW_ADF_CT, &r, err, sizeof(err)),
                     LW_ERR_STATS);
    assert_true(r.stat == 0.0 && r.pvalue == 0.0);
    x[3] += 0.3;
    x[21] -= 0.2;
    assert_int_equal(
        lw_adf_ex(x, 5, LW_ADF_DEFAULT_MAXLAG, LW_ADF_AUTOLAG_AIC, LW_ADF_CT, &r, err, sizeof(err)),
        LW_ERR_INVALID); /* n < 6 */
    assert_int_equal(lw_adf_ex(x, 40, 18, LW_ADF_AUTOLAG_NONE, LW_ADF_CT, &r, err, sizeof(err)),
                     LW_ERR_INVALID); /* > n/2 - 3 = 17 */
    assert_non_null(strstr(err, "maxlag"));
    assert_int_equal(
        lw_adf_ex(x, 6, LW_ADF_DEFAULT_MAXLAG, LW_ADF_AUTOLAG_AIC, LW_ADF_CT, &r, err, sizeof(err)),
        LW_OK);
    assert_int_equal(r.usedlag, 0);
    assert_true(isfinite(r.stat) && r.pvalue >= 0.0 && r.pvalue <= 1.0);
    assert_int_equal(
        lw_adf_ex(x, 40, 2, LW_ADF_AUTOLAG_NONE, (lw_adf_reg_t)7, &r, err, sizeof(err)),
        LW_ERR_INVALID);
}

static void test_mackinnon_tables(void **state)
{
    (void)state;
    ref_file_t rf;
    assert_true(ref_load("adf_mackinnon", &rf));
    const ref_line_t *l;
    size_t np = 0, nc = 0;
    for (size_t i = 0; (l = ref_nth(&rf, "pval", i)) != NULL; i++, np++)
        if (!ref_close(lw_adf_mackinnonp(l->v[0]), l->v[1], 1e-9, 1e-15))
            fail_msg("mackinnonp(%.17g): got %.17g want %.17g", l->v[0], lw_adf_mackinnonp(l->v[0]),
                     l->v[1]);
    for (size_t i = 0; (l = ref_nth(&rf, "crit", i)) != NULL; i++, nc++) {
        double c[3];
        lw_adf_mackinnoncrit((size_t)l->v[0], c);
        for (int j = 0; j < 3; j++)
            assert_true(ref_close(c[j], l->v[1 + j], 1e-12, 0.0));
    }
    assert_true(np >= 40);
    assert_true(nc >= 5);
    /* the tails are clamped, never NaN */
    assert_true(lw_adf_mackinnonp(-1e300) == 0.0);
    assert_true(lw_adf_mackinnonp(1e300) == 1.0);
    ref_free(&rf);
}

static void test_degenerate(void **state)
{
    (void)state;
    double x[50];
    for (size_t i = 0; i < 50; i++)
        x[i] = 3.0;
    lw_adf_result_t r;
    char err[256] = "";
    assert_int_equal(lw_adf(x, 50, LW_ADF_DEFAULT_MAXLAG, LW_ADF_AUTOLAG_AIC, &r, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_non_null(strstr(err, "constant"));
    uint64_t st = 88172645463325252u; /* xorshift64: reproducible noise */
    for (size_t i = 0; i < 50; i++) {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        x[i] = (double)(st >> 11) / 9007199254740992.0 + (i ? x[i - 1] : 0.0);
    }
    x[20] = (double)NAN;
    assert_int_equal(lw_adf(x, 50, LW_ADF_DEFAULT_MAXLAG, LW_ADF_AUTOLAG_AIC, &r, err, sizeof(err)),
                     LW_ERR_INVALID);
    x[20] = 0.0;
    assert_int_equal(lw_adf(x, 3, LW_ADF_DEFAULT_MAXLAG, LW_ADF_AUTOLAG_AIC, &r, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_int_equal(lw_adf(x, 50, 24, LW_ADF_AUTOLAG_NONE, &r, err, sizeof(err)),
                     LW_ERR_INVALID); /* > n/2 - 2 = 23 */
    assert_non_null(strstr(err, "maxlag"));
    assert_int_equal(lw_adf(x, 50, 23, LW_ADF_AUTOLAG_AIC, &r, err, sizeof(err)), LW_OK);
    assert_true(isfinite(r.stat) && r.pvalue >= 0.0 && r.pvalue <= 1.0);
    /* the minimum length works and yields finite numbers */
    double four[4] = {1.0, 3.0, 2.0, 5.0};
    assert_int_equal(
        lw_adf(four, 4, LW_ADF_DEFAULT_MAXLAG, LW_ADF_AUTOLAG_AIC, &r, err, sizeof(err)), LW_OK);
    assert_int_equal(r.usedlag, 0);
    assert_int_equal(r.nobs, 3);
    assert_true(isfinite(r.stat));
    /* a step: exactly linear after differencing -> perfect fit is a status */
    double lin[30];
    for (size_t i = 0; i < 30; i++)
        lin[i] = 2.0 * (double)i;
    assert_int_equal(lw_adf(lin, 30, 2, LW_ADF_AUTOLAG_NONE, &r, err, sizeof(err)), LW_ERR_STATS);
    assert_true(r.stat == 0.0);
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_statsmodels), cmocka_unit_test(test_mackinnon_tables),
        cmocka_unit_test(test_degenerate),          cmocka_unit_test(test_ct_against_statsmodels),
        cmocka_unit_test(test_ct_mackinnon_tables), cmocka_unit_test(test_ct_trend_stationary),
        cmocka_unit_test(test_ct_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
