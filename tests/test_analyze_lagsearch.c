/*
 * test_analyze_lagsearch.c - the lag search of analyze (issue 11, step 2:
 * own_order, single_lag_ps and lag_search in src/stats/analyze.c, run through
 * lw_analyze_lag_search) against statsmodels.
 *
 * References: tests/data/stats_refs_lagsearch/lagsearch_<case>.txt, written
 * by scripts/gen_lagsearch_refs.py (its docstring states the method): for
 * every case, both directions (x -> y and y -> x) and both criteria (AIC,
 * BIC), the rows of the common sample, y's own order q with the AIC/BIC of
 * every order 1..K (statsmodels results.aic / .bic, the same definition as
 * the C code: -2 llf + 2 (q + 1), no constant offset), the two-sided t-test
 * p of x_{t-k} added alone to the q own lags for k = 1..K (statsmodels
 * pvalues; the C code gets it as the SSR F(1, .) p), the Simes p (= the
 * smallest BH q of multipletests 'fdr_bh') and the lag of the smallest p.
 * Cases: statsmodels' macrodata (GDP / consumption and GDP / investment
 * growth, inflation / unemployment) and two simulated pairs with a lag-7
 * lead of x, one with undefined (NaN) gaps in both series.
 *
 * Tolerance: every real number relative 1e-9, no absolute floor; the
 * orders, the lag and the row count exactly.  The largest differences are
 * printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/analyze.h"
#include "stats_refs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CASES[] = {
    "../stats_refs_lagsearch/lagsearch_macro_gdp_cons",
    "../stats_refs_lagsearch/lagsearch_macro_gdp_inv",
    "../stats_refs_lagsearch/lagsearch_macro_infl_unemp",
    "../stats_refs_lagsearch/lagsearch_lead7_730",
    "../stats_refs_lagsearch/lagsearch_lead7_gaps365",
};

static const double REL = 1e-9;
static double max_abs, max_rel;

static void check(const char *c, const char *what, size_t k, double got, double want)
{
    const double a = fabs(got - want), r = ref_relerr(got, want);
    if (a > max_abs)
        max_abs = a;
    if (r > max_rel)
        max_rel = r;
    if (!ref_close(got, want, REL, 0.0))
        fail_msg("%s %s [%zu]: got %.17g want %.17g (rel %.3g)", c, what, k, got, want, r);
}

static void test_lag_search_against_statsmodels(void **state)
{
    (void)state;
    size_t nchecked = 0;
    for (size_t ci = 0; ci < sizeof(CASES) / sizeof(CASES[0]); ci++) {
        const char *c = CASES[ci];
        ref_file_t rf;
        assert_true(ref_load(c, &rf));
        const ref_line_t *y = ref_get(&rf, "y"), *x = ref_get(&rf, "x");
        assert_non_null(y);
        assert_non_null(x);
        assert_int_equal(y->n, x->n);
        const size_t K = (size_t)ref_get(&rf, "maxlag")->v[0];
        const ref_line_t *l;
        size_t ndir = 0;
        for (size_t i = 0; (l = ref_nth(&rf, "dir", i)) != NULL; i++, ndir++) {
            const int d = (int)l->v[0], ic = (int)l->v[1];
            lw_lag_search_t s;
            char err[256] = "";
            /* d = 1: y -> x, the reverse direction of the tree */
            const lw_err_t rc =
                lw_analyze_lag_search(d ? y->v : x->v, d ? x->v : y->v, y->n, K,
                                      ic ? LW_IC_BIC : LW_IC_AIC, &s, err, sizeof err);
            if (rc != LW_OK)
                fail_msg("%s dir %d ic %d: %s", c, d, ic, err);
            assert_int_equal(s.nobs, (size_t)l->v[2]);
            assert_int_equal(s.own_lag, (size_t)l->v[3]);
            assert_int_equal(s.lag, (size_t)l->v[4]);
            check(c, "simes p", 0, s.p, l->v[5]);
            size_t nic = 0, nlag = 0;
            const ref_line_t *e;
            for (size_t j = 0; (e = ref_nth(&rf, "ic", j)) != NULL; j++) {
                if ((int)e->v[0] != d || (int)e->v[1] != ic)
                    continue;
                const size_t q = (size_t)e->v[2];
                check(c, ic ? "bic" : "aic", q, s.ic[q - 1], e->v[3]);
                nic++;
            }
            for (size_t j = 0; (e = ref_nth(&rf, "lagp", j)) != NULL; j++) {
                if ((int)e->v[0] != d || (int)e->v[1] != ic)
                    continue;
                const size_t k = (size_t)e->v[2];
                check(c, "t-test p", k, s.lag_p[k - 1], e->v[3]);
                check(c, "F p", k, s.lag_p[k - 1], e->v[4]);
                nlag++;
            }
            assert_int_equal(nic, K);
            assert_int_equal(nlag, K);
            nchecked += 1 + nic + 2 * nlag;
            printf("    %-52s dir %d %s: m %zu q %zu lag %2zu Simes p %.3g\n", c, d,
                   ic ? "BIC" : "AIC", s.nobs, s.own_lag, s.lag, s.p);
        }
        assert_int_equal(ndir, 4);
        /* the simulated lead: the search finds lag 7, strongly */
        if (strstr(c, "lead7")) {
            const ref_line_t *d0 = ref_nth(&rf, "dir", 0);
            assert_int_equal((size_t)d0->v[4], 7);
            assert_true(d0->v[5] < 1e-6);
        }
        ref_free(&rf);
    }
    printf("    %zu values; max abs diff %.3g, max rel diff %.3g\n", nchecked, max_abs, max_rel);
}

/* Bad arguments and a search with no feasible order. */
static void test_lag_search_invalid(void **state)
{
    (void)state;
    double v[40];
    for (size_t i = 0; i < 40; i++)
        v[i] = sin((double)i);
    lw_lag_search_t s;
    char err[128] = "";
    assert_int_equal(lw_analyze_lag_search(v, v, 40, 0, LW_IC_AIC, &s, err, sizeof err),
                     LW_ERR_INVALID);
    assert_int_equal(
        lw_analyze_lag_search(v, v, 40, LW_ANALYZE_MAX_LAG + 1, LW_IC_AIC, &s, err, sizeof err),
        LW_ERR_INVALID);
    /* 40 rows cannot hold 2 K + 3 rows past lag K = 20 */
    assert_int_equal(lw_analyze_lag_search(v, v, 40, 20, LW_IC_AIC, &s, err, sizeof err),
                     LW_ERR_STATS);
    assert_int_equal(s.lag, 0);
    assert_true(s.p == 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lag_search_against_statsmodels),
        cmocka_unit_test(test_lag_search_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
