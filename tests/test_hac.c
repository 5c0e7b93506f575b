/*
 * test_hac.c - Newey-West standard errors vs statsmodels
 * OLS(y, X).fit(cov_type='HAC', cov_kwds={'maxlags': L, 'use_correction': c})
 * for L in {0, 1, 5, 12, 40} (40 > n - 1 for the 30-row case), with and
 * without the n/(n-k) correction, and the default bandwidth
 * floor(4 (n/100)^(2/9)).  Acceptance tolerance: relative 1e-6.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/hac.h"
#include "leadwatch/stats/ols.h"
#include "stats_refs.h"

#include <math.h>
#include <stdio.h>

static const char *const CASES[] = {"ols_lagreg730", "ols_macro", "ols_small30", "ols_levels150"};

static void test_against_statsmodels(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof(CASES) / sizeof(CASES[0]); ci++) {
        ref_file_t rf;
        assert_true(ref_load(CASES[ci], &rf));
        const size_t n = (size_t)ref_get(&rf, "n")->v[0], k = (size_t)ref_get(&rf, "k")->v[0];
        const ref_line_t *X = ref_get(&rf, "X"), *y = ref_get(&rf, "y");
        lw_ols_t *ols = NULL;
        char err[256] = "";
        assert_int_equal(lw_ols_new(n, k, &ols, err, sizeof(err)), LW_OK);
        double worst = 0.0;
        size_t checked = 0;
        const ref_line_t *l;
        for (size_t i = 0; (l = ref_nth(&rf, "hac", i)) != NULL; i++) {
            assert_int_equal(l->n, 2 + k);
            const size_t L = (size_t)l->v[0];
            const unsigned flags = LW_OLS_HAC | (l->v[1] != 0.0 ? LW_OLS_HAC_CORRECTION : 0u);
            lw_ols_result_t r;
            assert_int_equal(lw_ols_fit(ols, X->v, y->v, n, k, flags, L, &r, err, sizeof(err)),
                             LW_OK);
            assert_int_equal(r.hac_lags, L);
            for (size_t j = 0; j < k; j++) {
                const double rel = ref_relerr(r.bse_hac[j], l->v[2 + j]);
                if (rel > worst)
                    worst = rel;
                if (!ref_close(r.bse_hac[j], l->v[2 + j], 1e-6, 0.0))
                    fail_msg("%s L=%zu corr=%g bse_hac[%zu]: got %.17g want %.17g", CASES[ci], L,
                             l->v[1], j, r.bse_hac[j], l->v[2 + j]);
            }
            checked++;
        }
        assert_int_equal(checked, 10);

        l = ref_get(&rf, "hacdefault");
        assert_non_null(l);
        assert_int_equal(lw_hac_default_lags(n), (size_t)l->v[0]);
        lw_ols_result_t r;
        assert_int_equal(lw_ols_fit(ols, X->v, y->v, n, k, LW_OLS_HAC | LW_OLS_COV,
                                    LW_OLS_HAC_DEFAULT_LAGS, &r, err, sizeof(err)),
                         LW_OK);
        assert_int_equal(r.hac_lags, (size_t)l->v[0]);
        for (size_t j = 0; j < k; j++)
            assert_true(ref_close(r.bse_hac[j], l->v[1 + j], 1e-6, 0.0));
        assert_non_null(r.bse); /* both covariances in one fit */
        printf("    %-16s n=%3zu k=%zu  worst HAC se relative error %.2e\n", CASES[ci], n, k,
               worst);
        lw_ols_destroy(ols);
        ref_free(&rf);
    }
}

/* The one-column path (issue 17) against the general loop on [x, 0] with A = diag(a, 0):
 * entry (0, 0) of the latter takes exactly the one-column operations, so the bits agree.
 * Lengths below, at and across the one-column path's term blocks (256 rows), lags up to
 * and beyond a block. */
static void test_one_column_path(void **state)
{
    (void)state;
    enum { NMAX = 701 };
    static const size_t NS[] = {203, 256, 257, 260, 701};
    static const size_t LS[] = {0, 1, 3, 6, 9, 48, 255, 300};
    double x1[NMAX], x2[2 * NMAX], u[NMAX];
    uint64_t r = 88172645463325252u;
    for (size_t t = 0; t < NMAX; t++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        x1[t] = x2[2 * t] = (double)(r % 100000) / 1000.0 - 40.0;
        x2[2 * t + 1] = 0.0;
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        u[t] = (double)(r % 100000) / 50000.0 - 1.0 + (t ? 0.6 * u[t - 1] : 0.0);
    }
    const double a1 = 0.37, a2[4] = {0.37, 0.0, 0.0, 0.0};
    double w1[4], w2[12], v1, v2[4];
    for (size_t ni = 0; ni < sizeof NS / sizeof NS[0]; ni++)
        for (size_t li = 0; li < sizeof LS / sizeof LS[0]; li++) {
            const size_t N = NS[ni], L = LS[li];
            assert_int_equal(lw_hac_cov(x1, u, N, 1, &a1, L, false, &v1, w1, NULL, 0), LW_OK);
            assert_int_equal(lw_hac_cov(x2, u, N, 2, a2, L, false, v2, w2, NULL, 0), LW_OK);
            assert_memory_equal(&v1, &v2[0], sizeof v1);
            assert_true(v1 > 0.0);
            /* the small-sample factor n / (n - k) with k = 1 */
            double vc;
            assert_int_equal(lw_hac_cov(x1, u, N, 1, &a1, L, true, &vc, w1, NULL, 0), LW_OK);
            assert_true(vc == v1 * ((double)N / (double)(N - 1)));
        }
}

/* Issue 17: lw_hac_one_column4 (four one-column variances side by side) equals
 * lw_hac_cov(x_l, u_l, n, 1, &one, L, false) lane by lane, bit for bit, for lengths and
 * lags around the one-column path's blocks; a changed or dropped term fails. */
static void test_one_column4(void **state)
{
    (void)state;
    enum { NMAX = 701 };
    static const size_t NS[] = {1, 2, 5, 203, 257, 701};
    static const size_t LS[] = {0, 1, 7, 48, 300};
    static double x[4][NMAX], u[4][NMAX], g4[4 * NMAX];
    uint64_t r = 0x6A09E667F3BCC909u;
    for (size_t l = 0; l < 4; l++)
        for (size_t t = 0; t < NMAX; t++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            x[l][t] = (double)(r % 100000) / 1000.0 - 40.0 * (double)l;
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            u[l][t] = (double)(r % 100000) / 50000.0 - 1.0 + (t ? 0.6 * u[l][t - 1] : 0.0);
        }
    for (size_t t = 0; t < NMAX; t++)
        for (size_t l = 0; l < 4; l++)
            g4[4 * t + l] = x[l][t] * u[l][t];
    const double one = 1.0;
    double w[4];
    for (size_t ni = 0; ni < sizeof NS / sizeof NS[0]; ni++)
        for (size_t li = 0; li < sizeof LS / sizeof LS[0]; li++) {
            double got[4];
            lw_hac_one_column4(g4, NS[ni], LS[li], got);
            for (size_t l = 0; l < 4; l++) {
                double want;
                assert_int_equal(
                    lw_hac_cov(x[l], u[l], NS[ni], 1, &one, LS[li], false, &want, w, NULL, 0),
                    LW_OK);
                assert_memory_equal(&got[l], &want, sizeof want);
            }
        }
}

static void test_default_lags_and_errors(void **state)
{
    (void)state;
    assert_int_equal(lw_hac_default_lags(0), 0);
    assert_int_equal(lw_hac_default_lags(100), 4);
    assert_int_equal(lw_hac_default_lags(730), 6);    /* 4 * 7.3^(2/9) = 6.22 */
    assert_int_equal(lw_hac_default_lags(10000), 11); /* 4 * 100^(2/9) = 11.1 */

    /* L = 0 without correction is White's HC0 sandwich: check one entry by hand
     * for a regression on a constant only: var = sum u^2 / n^2. */
    double X[5] = {1, 1, 1, 1, 1}, u[5] = {1, -2, 0.5, 0.25, 0.25}, A[1] = {0.2}, cov[1];
    double work[8];
    char err[128];
    assert_int_equal(lw_hac_cov(X, u, 5, 1, A, 0, false, cov, work, err, sizeof(err)), LW_OK);
    assert_true(ref_close(cov[0], (1 + 4 + 0.25 + 0.0625 + 0.0625) / 25.0, 1e-15, 0.0));
    /* L = 1 adds w_1 = 1/2 times twice the first autocovariance of u */
    assert_int_equal(lw_hac_cov(X, u, 5, 1, A, 1, false, cov, work, err, sizeof(err)), LW_OK);
    const double g1 = 1 * -2 + -2 * 0.5 + 0.5 * 0.25 + 0.25 * 0.25;
    assert_true(ref_close(cov[0], (5.375 + 0.5 * 2 * g1) / 25.0, 1e-15, 0.0));
    assert_int_equal(lw_hac_cov(X, u, 1, 1, A, 1, true, cov, work, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_int_equal(lw_hac_cov(X, u, 0, 1, A, 1, false, cov, work, err, sizeof(err)),
                     LW_ERR_INVALID);
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_statsmodels),
        cmocka_unit_test(test_one_column_path),
        cmocka_unit_test(test_one_column4),
        cmocka_unit_test(test_default_lags_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
