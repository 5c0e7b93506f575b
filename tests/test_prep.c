/*
 * test_prep.c - series preparation: each transform on known values, missing
 * values kept missing (never filled) and propagated through differencing,
 * seasonal adjustment removing an exact weekly pattern, the auto transform
 * differencing a random walk but not a stationary AR(1) (with the ADF result
 * equal to lw_adf on the same series), unusable series with reasons, option
 * bounds, and the longest-run rule.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/ols.h"
#include "leadwatch/stats/prep.h"
#include "testutil.h"

#include <math.h>
#include <string.h>

static uint64_t rng = 88172645463325252u;
static double gauss(void)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        u[i] = ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

static void prep(const double *x, size_t n, lw_transform_t t, size_t period, double *out,
                 lw_prep_info_t *info)
{
    lw_prep_opts_t o;
    lw_prep_opts_default(&o);
    o.transform = t;
    o.season_period = period;
    char err[256];
    lw_err_t e = lw_prep_series(x, n, &o, out, info, err, sizeof err);
    if (e != LW_OK)
        fail_msg("prep: %s", err);
}

static void test_transforms(void **state)
{
    (void)state;
    const double x[] = {1.0, 2.0, 4.0, (double)NAN, 16.0, 32.0};
    double out[6];
    lw_prep_info_t info;

    prep(x, 6, LW_TRANSFORM_NONE, 0, out, &info);
    assert_true(info.usable);
    assert_false(info.log);
    assert_false(info.diff);
    assert_double_equal(out[2], 4.0, 0);
    assert_true(isnan(out[3])); /* not filled */
    assert_int_equal(info.n_missing, 1);
    assert_double_equal(info.level_mean, (1 + 2 + 4 + 16 + 32) / 5.0, 1e-15);

    prep(x, 6, LW_TRANSFORM_DIFF, 0, out, &info);
    assert_true(info.diff);
    assert_true(isnan(out[0]));
    assert_double_equal(out[1], 1.0, 0);
    assert_double_equal(out[2], 2.0, 0);
    assert_true(isnan(out[3]));
    assert_true(isnan(out[4])); /* needs x[3] */
    assert_double_equal(out[5], 16.0, 0);
    assert_int_equal(info.n_defined_out, 3);

    prep(x, 6, LW_TRANSFORM_LOG_DIFF, 0, out, &info);
    assert_true(info.log && info.diff);
    assert_double_equal(out[1], log(2.0), 1e-15);
    assert_double_equal(out[5], log(2.0), 1e-15);
}

static void test_seasonal_exact(void **state)
{
    (void)state;
    enum { N = 70 };
    const double week[7] = {3, -1, 0.5, 2, -2, 1, -3.5};
    double x[N], out[N];
    for (size_t t = 0; t < N; t++)
        x[t] = 100.0 + week[t % 7];
    x[10] = (double)NAN;
    lw_prep_info_t info;
    prep(x, N, LW_TRANSFORM_NONE, 7, out, &info);
    assert_int_equal(info.season_period, 7);
    /* grand mean of the defined values, at every defined row */
    double gm = 0.0;
    size_t c = 0;
    for (size_t t = 0; t < N; t++)
        if (!isnan(x[t])) {
            gm += x[t];
            c++;
        }
    gm /= (double)c;
    for (size_t t = 0; t < N; t++) {
        if (t == 10)
            assert_true(isnan(out[t]));
        else
            assert_double_equal(out[t], gm, 1e-12);
    }
}

static void test_auto(void **state)
{
    (void)state;
    enum { N = 400 };
    double rw[N], ar[N], out[N];
    double a = 0.0, r = 0.0;
    for (size_t t = 0; t < N; t++) {
        r += gauss();
        a = 0.5 * a + gauss();
        rw[t] = 1000.0 + r; /* positive: auto also takes logs */
        ar[t] = a;          /* has negative values: auto stays in levels */
    }
    lw_prep_info_t info;
    prep(rw, N, LW_TRANSFORM_AUTO, 0, out, &info);
    assert_true(info.adf_run);
    assert_true(info.log);
    assert_true(info.adf.pvalue >= 0.05);
    assert_true(info.diff);

    /* the reported ADF is lw_adf on the (log) series itself */
    double lx[N];
    for (size_t t = 0; t < N; t++)
        lx[t] = log(rw[t]);
    lw_adf_result_t ref;
    char err[128];
    assert_int_equal(
        lw_adf(lx, N, LW_ADF_DEFAULT_MAXLAG, LW_ADF_AUTOLAG_AIC, &ref, err, sizeof err), LW_OK);
    assert_double_equal(info.adf.stat, ref.stat, 0);
    assert_double_equal(info.adf.pvalue, ref.pvalue, 0);
    assert_int_equal(info.adf.usedlag, ref.usedlag);

    prep(ar, N, LW_TRANSFORM_AUTO, 0, out, &info);
    assert_false(info.log);
    assert_true(info.n_nonpositive > 0);
    assert_true(info.adf_run);
    assert_true(info.adf.pvalue < 0.05);
    assert_false(info.diff);
    assert_double_equal(out[5], ar[5], 0);
}

static void test_unusable(void **state)
{
    (void)state;
    double out[40];
    lw_prep_info_t info;

    double miss[40];
    for (size_t t = 0; t < 40; t++)
        miss[t] = (double)NAN;
    prep(miss, 40, LW_TRANSFORM_AUTO, 7, out, &info);
    assert_false(info.usable);
    assert_non_null(strstr(info.note, "all missing"));
    assert_int_equal(info.n_missing, 40);

    double inf[40];
    for (size_t t = 0; t < 40; t++)
        inf[t] = t % 2 ? (double)INFINITY : -(double)INFINITY;
    prep(inf, 40, LW_TRANSFORM_NONE, 0, out, &info);
    assert_false(info.usable);
    assert_int_equal(info.n_nonfinite, 40);
    assert_non_null(strstr(info.note, "infinite"));
    for (size_t t = 0; t < 40; t++)
        assert_true(isnan(out[t]));

    double neg[40];
    for (size_t t = 0; t < 40; t++)
        neg[t] = (double)t - 3.0;
    prep(neg, 40, LW_TRANSFORM_LOG_DIFF, 0, out, &info);
    assert_false(info.usable);
    assert_non_null(strstr(info.note, "log_diff needs positive values; 4 are <= 0"));

    /* a phase without data cannot be adjusted */
    double sparse[40];
    for (size_t t = 0; t < 40; t++)
        sparse[t] = t % 7 == 3 ? (double)NAN : (double)t;
    prep(sparse, 40, LW_TRANSFORM_NONE, 7, out, &info);
    assert_false(info.usable);
    assert_non_null(strstr(info.note, "period 7"));

    /* one Inf among finite values: counted, treated as missing */
    double one[40];
    for (size_t t = 0; t < 40; t++)
        one[t] = 1.0 + (double)(t % 5);
    one[20] = (double)INFINITY;
    prep(one, 40, LW_TRANSFORM_NONE, 0, out, &info);
    assert_true(info.usable);
    assert_int_equal(info.n_nonfinite, 1);
    assert_true(isnan(out[20]));
}

static void test_bad_options(void **state)
{
    (void)state;
    double x[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, out[10];
    lw_prep_info_t info;
    lw_prep_opts_t o;
    char err[128];
    lw_prep_opts_default(&o);
    o.season_period = 1;
    assert_int_equal(lw_prep_series(x, 10, &o, out, &info, err, sizeof err), LW_ERR_INVALID);
    o.season_period = LW_PREP_MAX_PERIOD + 1;
    assert_int_equal(lw_prep_series(x, 10, &o, out, &info, err, sizeof err), LW_ERR_INVALID);
    lw_prep_opts_default(&o);
    o.adf_alpha = 1.0;
    assert_int_equal(lw_prep_series(x, 10, &o, out, &info, err, sizeof err), LW_ERR_INVALID);

    lw_transform_t t;
    assert_true(lw_transform_parse("log_diff", &t));
    assert_int_equal(t, LW_TRANSFORM_LOG_DIFF);
    assert_string_equal(lw_transform_name(t), "log_diff");
    assert_false(lw_transform_parse("log", &t));
}

static void test_longest_run(void **state)
{
    (void)state;
    const double a[] = {1, 2, (double)NAN, 4, 5, 6, (double)NAN, 8, 9, 10};
    const double b[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, (double)NAN};
    const double *both[2] = {a, b};
    size_t s, l;
    lw_prep_longest_run(both, 2, 10, &s, &l);
    assert_int_equal(s, 3);
    assert_int_equal(l, 3);
    const double *one[1] = {a};
    lw_prep_longest_run(one, 1, 10, &s, &l); /* tie 3 vs 3: the later run */
    assert_int_equal(s, 7);
    assert_int_equal(l, 3);
    const double c[] = {(double)NAN, (double)NAN};
    const double *none[1] = {c};
    lw_prep_longest_run(none, 1, 2, &s, &l);
    assert_int_equal(l, 0);
}

/* 3b: a planted spike is flagged, counted and removed (missing, or
 * interpolated with max_gap); with outlier_z 0 it stays. */
static void test_outlier_spike(void **state)
{
    (void)state;
    enum { N = 300, SPIKE = 150 };
    double x[N], out[N];
    double a = 0.0;
    for (size_t t = 0; t < N; t++) {
        a = 0.5 * a + gauss();
        x[t] = 100.0 + (double)(t % 7) + a;
    }
    const double clean = x[SPIKE];
    x[SPIKE] += 25.0;
    lw_prep_opts_t o;
    lw_prep_opts_default(&o);
    o.transform = LW_TRANSFORM_NONE;
    o.season_period = 7;
    o.outlier_z = 5.0;
    lw_prep_info_t info;
    char err[256];
    assert_int_equal(lw_prep_series(x, N, &o, out, &info, err, sizeof err), LW_OK);
    assert_true(info.usable);
    assert_true(info.n_outliers >= 1 && info.n_outliers <= 3);
    assert_true(isnan(out[SPIKE]));
    o.max_gap = 3;
    assert_int_equal(lw_prep_series(x, N, &o, out, &info, err, sizeof err), LW_OK);
    assert_true(info.n_outliers >= 1 && info.n_interpolated >= 1);
    /* filled on the line between its neighbours, not +25 */
    assert_true(isfinite(out[SPIKE]));
    assert_true(fabs(out[SPIKE] - 0.5 * (out[SPIKE - 1] + out[SPIKE + 1])) < 1e-9);
    o.outlier_z = 0.0;
    assert_int_equal(lw_prep_series(x, N, &o, out, &info, err, sizeof err), LW_OK);
    assert_int_equal(info.n_outliers, 0);
    assert_true(out[SPIKE] - 0.5 * (out[SPIKE - 1] + out[SPIKE + 1]) > 15.0);
    assert_true(fabs(out[SPIKE] - 25.0 - clean) < 10.0);
}

static int median_cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Issue 17: the running window's insertion-sort median equals qsort's (glibc's stable
 * merge sort, the comparison prep.c used) bit for bit, and leaves the same order, on
 * every k 1..7 with ties and signed zeros (which compare equal: the stable order decides
 * which one is the median) and with spread values. */
static void test_median_small(void **state)
{
    (void)state;
    size_t zeros_decided = 0;
    for (int it = 0; it < 20000; it++) {
        const size_t k = 1 + (size_t)it % 7;
        double a[7], b[7];
        for (size_t i = 0; i < k; i++) {
            const double g = gauss();
            a[i] = it % 3 == 0 ? (g > 0.5 ? 0.0 : g < -0.5 ? -0.0 : (double)(int)(g * 4.0)) : g;
            b[i] = a[i];
        }
        const double m = lw_prep_median_small(a, k);
        qsort(b, k, sizeof(double), median_cmp);
        const double want = k % 2 ? b[k / 2] : 0.5 * (b[k / 2 - 1] + b[k / 2]);
        assert_memory_equal(&m, &want, sizeof m);
        assert_memory_equal(a, b, k * sizeof(double));
        zeros_decided += m == 0.0;
    }
    assert_true(zeros_decided > 100);
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outlier_spike),  cmocka_unit_test(test_transforms),
        cmocka_unit_test(test_seasonal_exact), cmocka_unit_test(test_auto),
        cmocka_unit_test(test_unusable),       cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_longest_run),    cmocka_unit_test(test_median_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
