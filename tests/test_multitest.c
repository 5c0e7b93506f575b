/*
 * test_multitest.c - Benjamini-Hochberg q-values vs statsmodels
 * multipletests(p, method='fdr_bh') (tests/data/stats_refs/bh_<case>.txt):
 * exact equality (the same floating-point operations), undefined p-values
 * kept out of the family and reported as undefined, never NaN.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/multitest.h"
#include "stats_refs.h"

#include <math.h>
#include <stdlib.h>

static const char *const CASES[] = {"bh_uniform50",      "bh_ties",   "bh_small_and_large",
                                    "bh_with_undefined", "bh_single", "bh_granger_family"};

static void test_against_statsmodels(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof(CASES) / sizeof(CASES[0]); ci++) {
        ref_file_t rf;
        assert_true(ref_load(CASES[ci], &rf));
        const ref_line_t *p = ref_get(&rf, "p"), *q = ref_get(&rf, "q");
        assert_int_equal(p->n, q->n);
        const size_t n = p->n;
        double *got = malloc(n * sizeof(double));
        bool *def = malloc(n * sizeof(bool));
        assert_non_null(got);
        assert_non_null(def);
        size_t m = 0, want_m = 0;
        assert_int_equal(lw_bh_qvalues(p->v, NULL, n, got, def, &m, NULL, 0), LW_OK);
        for (size_t i = 0; i < n; i++) {
            assert_false(isnan(got[i]));
            if (isnan(q->v[i])) {
                assert_false(def[i]);
                assert_true(got[i] == 1.0);
                continue;
            }
            want_m++;
            assert_true(def[i]);
            if (got[i] != q->v[i])
                fail_msg("%s q[%zu]: got %.17g want %.17g", CASES[ci], i, got[i], q->v[i]);
        }
        assert_int_equal(m, want_m);

        /* The same family with undefined marked through defined[] instead of NaN. */
        double *p2 = malloc(n * sizeof(double));
        assert_non_null(p2);
        for (size_t i = 0; i < n; i++) {
            def[i] = !isnan(p->v[i]);
            p2[i] = def[i] ? p->v[i] : 0.0; /* would be the smallest p if counted */
        }
        bool *qdef = malloc(n * sizeof(bool));
        assert_non_null(qdef);
        assert_int_equal(lw_bh_qvalues(p2, def, n, got, qdef, NULL, NULL, 0), LW_OK);
        for (size_t i = 0; i < n; i++) {
            assert_true(qdef[i] == def[i]);
            if (def[i])
                assert_true(got[i] == q->v[i]);
        }
        free(qdef);
        free(p2);
        free(def);
        free(got);
        ref_free(&rf);
    }
}

static void test_properties_and_errors(void **state)
{
    (void)state;
    /* monotone in p, q >= p, capped at 1 */
    const double p[6] = {0.9, 0.001, 0.04, 0.04, 0.5, 0.99};
    double q[6];
    bool d[6];
    assert_int_equal(lw_bh_qvalues(p, NULL, 6, q, d, NULL, NULL, 0), LW_OK);
    for (size_t i = 0; i < 6; i++) {
        assert_true(q[i] >= p[i] && q[i] <= 1.0);
        for (size_t j = 0; j < 6; j++)
            if (p[i] <= p[j])
                assert_true(q[i] <= q[j]);
    }
    assert_true(q[1] == 0.001 / (1.0 / 6.0));
    assert_true(q[2] == q[3]);
    assert_true(q[2] == 0.04 / (3.0 / 6.0)); /* ties share the larger rank's q */

    /* empty family, all undefined */
    size_t m = 99;
    assert_int_equal(lw_bh_qvalues(p, NULL, 0, q, d, &m, NULL, 0), LW_OK);
    assert_int_equal(m, 0);
    const double nan3[3] = {(double)NAN, (double)NAN, (double)NAN};
    assert_int_equal(lw_bh_qvalues(nan3, NULL, 3, q, d, &m, NULL, 0), LW_OK);
    assert_int_equal(m, 0);
    for (size_t i = 0; i < 3; i++)
        assert_true(!d[i] && q[i] == 1.0);

    /* invalid p-values */
    char err[128] = "";
    const double bad[3] = {0.1, 1.5, 0.2};
    q[0] = 42.0;
    assert_int_equal(lw_bh_qvalues(bad, NULL, 3, q, d, NULL, err, sizeof(err)), LW_ERR_INVALID);
    assert_true(q[0] == 42.0); /* untouched on error */
    const double neg[2] = {-0.1, 0.2}, inf[2] = {(double)INFINITY, 0.2};
    assert_int_equal(lw_bh_qvalues(neg, NULL, 2, q, d, NULL, err, sizeof(err)), LW_ERR_INVALID);
    assert_int_equal(lw_bh_qvalues(inf, NULL, 2, q, d, NULL, err, sizeof(err)), LW_ERR_INVALID);
    /* an invalid value that is marked undefined is ignored */
    const bool mask[2] = {false, true};
    assert_int_equal(lw_bh_qvalues(inf, mask, 2, q, d, &m, err, sizeof(err)), LW_OK);
    assert_int_equal(m, 1);
    assert_true(q[1] == 0.2 && d[1] && !d[0]);
    assert_int_equal(lw_bh_qvalues(p, NULL, LW_BH_MAX_TESTS + 1, q, d, NULL, err, sizeof(err)),
                     LW_ERR_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_statsmodels),
        cmocka_unit_test(test_properties_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
