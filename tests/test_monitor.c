/*
 * test_monitor.c - OLS-CUSUM monitor vs R strucchange mefp(y ~ ylag + xlag,
 * type = "OLS-CUSUM", alpha) + monitor() (scripts/gen_stats_refs3.R,
 * tests/data/stats_refs3/monitor_*.txt): history coefficients and sigma
 * (1e-9), the critical value (exact root 1e-12; strucchange's optimize()
 * value 1e-7), the whole process path (1e-9 relative, 1e-9 absolute: the
 * history residual sum is ~1e-13 and differs in its last digits) and the
 * boundary (1e-7, from the critical value), and the first alarm exactly.
 * Then: one-at-a-time == bulk bit for bit, a state copied as bytes resumes
 * identically (what the daemon's store does), invalid input and states.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/monitor.h"
#include "leadwatch/stats/ols.h"
#include "stats_refs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CASES[] = {"../stats_refs3/monitor_stop", "../stats_refs3/monitor_null",
                                    "../stats_refs3/monitor_flip"};

/* Regression rows of the reference: y_t on [1, y_{t-1}, x_{t-1}], t = 1..n-1. */
static void design(const ref_line_t *y, const ref_line_t *x, double *Z, double *yy)
{
    for (size_t t = 1; t < y->n; t++) {
        Z[(t - 1) * 3] = 1.0;
        Z[(t - 1) * 3 + 1] = y->v[t - 1];
        Z[(t - 1) * 3 + 2] = x->v[t - 1];
        yy[t - 1] = y->v[t];
    }
}

static void test_against_strucchange(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof(CASES) / sizeof(CASES[0]); ci++) {
        const char *c = CASES[ci];
        ref_file_t rf;
        assert_true(ref_load(c, &rf));
        const ref_line_t *y = ref_get(&rf, "y"), *x = ref_get(&rf, "x");
        const ref_line_t *su = ref_get(&rf, "setup"), *pr = ref_get(&rf, "process");
        const ref_line_t *bd = ref_get(&rf, "boundary");
        const size_t rows = y->n - 1, hist = (size_t)su->v[0], nm = rows - hist;
        double *Z = malloc(rows * 3 * sizeof(double)), *yy = malloc(rows * sizeof(double));
        double *proc = malloc(nm * sizeof(double)), *bnd = malloc(nm * sizeof(double));
        assert_true(Z && yy && proc && bnd);
        design(y, x, Z, yy);
        lw_monitor_t m;
        char err[256] = "";
        if (lw_monitor_init(&m, yy, Z, hist, 3, su->v[1], err, sizeof(err)) != LW_OK)
            fail_msg("%s: %s", c, err);
        assert_true(ref_close(m.critval, su->v[3], 1e-12, 0.0));
        assert_true(ref_close(m.critval, su->v[2], 1e-7, 0.0));
        assert_true(ref_close(m.sigma, su->v[4], 1e-9, 0.0));
        for (size_t j = 0; j < 3; j++)
            assert_true(ref_close(m.coef[j], su->v[5 + j], 1e-9, 0.0));
        assert_int_equal(pr->n, nm);
        assert_int_equal(bd->n, nm);
        /* one row at a time, as the daemon does live */
        uint64_t alarm = 0;
        for (size_t i = 0; i < nm; i++) {
            bool now = false;
            assert_int_equal(lw_monitor_update(&m, Z + (hist + i) * 3, yy[hist + i], &proc[i],
                                               &bnd[i], &now, err, sizeof(err)),
                             LW_OK);
            if (now)
                alarm = hist + i + 1;
            if (!ref_close(proc[i], pr->v[i], 1e-9, 1e-9))
                fail_msg("%s process[%zu]: got %.17g want %.17g", c, i, proc[i], pr->v[i]);
            if (!ref_close(bnd[i], bd->v[i], 1e-7, 0.0))
                fail_msg("%s boundary[%zu]: got %.17g want %.17g", c, i, bnd[i], bd->v[i]);
        }
        const uint64_t want = (uint64_t)ref_get(&rf, "alarm")->v[0];
        assert_int_equal(m.alarm, want);
        assert_int_equal(alarm, want);
        printf("    %-30s history %zu, %zu monitored, alarm at row %llu, max |process| %.3f\n", c,
               hist, nm, (unsigned long long)m.alarm, m.stat);
        free(bnd);
        free(proc);
        free(yy);
        free(Z);
        ref_free(&rf);
    }
}

/* Bulk and one-at-a-time give the same bytes; a state copied mid-way resumes identically. */
static void test_bulk_and_serialized_state(void **state)
{
    (void)state;
    ref_file_t rf;
    assert_true(ref_load("../stats_refs3/monitor_stop", &rf));
    const ref_line_t *y = ref_get(&rf, "y"), *x = ref_get(&rf, "x");
    const size_t rows = y->n - 1, hist = 150, nm = rows - hist;
    double *Z = malloc(rows * 3 * sizeof(double)), *yy = malloc(rows * sizeof(double));
    assert_true(Z && yy);
    design(y, x, Z, yy);
    lw_monitor_t a, b, c;
    char err[256] = "";
    assert_int_equal(lw_monitor_init(&a, yy, Z, hist, 3, 0.05, err, sizeof(err)), LW_OK);
    memcpy(&b, &a, sizeof(a));
    for (size_t i = 0; i < nm; i++)
        assert_int_equal(lw_monitor_update(&a, Z + (hist + i) * 3, yy[hist + i], NULL, NULL, NULL,
                                           err, sizeof(err)),
                         LW_OK);
    const size_t half = nm / 2;
    assert_int_equal(
        lw_monitor_feed(&b, yy + hist, Z + hist * 3, half, NULL, NULL, err, sizeof(err)), LW_OK);
    unsigned char bytes[sizeof(lw_monitor_t)]; /* what a store would keep */
    memcpy(bytes, &b, sizeof(b));
    memcpy(&c, bytes, sizeof(c));
    assert_true(lw_monitor_check(&c));
    assert_int_equal(lw_monitor_feed(&c, yy + hist + half, Z + (hist + half) * 3, nm - half, NULL,
                                     NULL, err, sizeof(err)),
                     LW_OK);
    assert_memory_equal(&a, &c, sizeof(a));
    assert_true(a.alarm > 0);
    free(yy);
    free(Z);
    ref_free(&rf);
}

static void test_degenerate(void **state)
{
    (void)state;
    double Z[20 * 2], y[20];
    for (size_t t = 0; t < 20; t++) {
        Z[t * 2] = 1.0;
        Z[t * 2 + 1] = (double)(t % 4);
        y[t] = 1.0 + (double)((t * 7) % 5);
    }
    lw_monitor_t m;
    char err[256] = "";
    assert_int_equal(lw_monitor_init(&m, y, Z, 20, 2, 0.0, err, sizeof(err)), LW_ERR_INVALID);
    assert_int_equal(lw_monitor_init(&m, y, Z, 2, 2, 0.05, err, sizeof(err)), LW_ERR_INVALID);
    assert_int_equal(lw_monitor_init(&m, y, Z, 20, 0, 0.05, err, sizeof(err)), LW_ERR_INVALID);
    assert_false(lw_monitor_check(&m)); /* zeroed on error */
    double yl[20];
    for (size_t t = 0; t < 20; t++)
        yl[t] = 2.0 + 3.0 * Z[t * 2 + 1]; /* perfect fit: sigma 0 */
    assert_int_equal(lw_monitor_init(&m, yl, Z, 20, 2, 0.05, err, sizeof(err)), LW_ERR_STATS);
    assert_int_equal(lw_monitor_init(&m, y, Z, 20, 2, 0.05, err, sizeof(err)), LW_OK);
    const double zbad[2] = {1.0, (double)NAN};
    const lw_monitor_t before = m;
    assert_int_equal(lw_monitor_update(&m, zbad, 1.0, NULL, NULL, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_memory_equal(&before, &m, sizeof(m));
    m.version = 99; /* a corrupted stored state is refused, not used */
    const double z[2] = {1.0, 2.0};
    assert_int_equal(lw_monitor_update(&m, z, 1.0, NULL, NULL, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_true(isnan(lw_monitor_critval(1.0)));
    assert_true(fabs(lw_monitor_critval(0.05) - 2.7954834829151092) < 1e-12);
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_strucchange),
        cmocka_unit_test(test_bulk_and_serialized_state),
        cmocka_unit_test(test_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
