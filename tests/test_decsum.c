/*
 * test_decsum.c - exact decimal sums (core/decsum.h): decimal amounts add
 * up to the double of the exact decimal total where a perfectly rounded sum
 * of the doubles does not; signs, values that are not short decimals,
 * values too large for the micro-units, large integer totals and merging
 * (what the store does per flush) give the same result as one running sum.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "leadwatch/core/decsum.h"

static double sum_of(const double *v, size_t n)
{
    lw_decsum_t s = LW_DECSUM_ZERO;
    for (size_t i = 0; i < n; i++)
        lw_decsum_add(&s, v[i]);
    return lw_decsum_value(&s);
}

static void test_decimals_exact(void **state)
{
    (void)state;
    /* math.fsum of these four doubles is 2994.4300000000003 */
    static const double prices[] = {791.58, 621.36, 820.15, 761.34};
    assert_true(sum_of(prices, 4) == 2994.43);
    static const double tenths[] = {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1};
    assert_true(sum_of(tenths, 10) == 1.0);
    static const double mixed[] = {-0.07, 0.1, 5, -2.25, 0.000001};
    assert_true(sum_of(mixed, 5) == 2.780001);
    static const double neg[] = {-1.5, -0.75, -0.01};
    assert_true(sum_of(neg, 3) == -2.26);
    static const double zero[] = {-0.0};
    assert_true(sum_of(zero, 1) == 0.0);
}

static void test_other_values(void **state)
{
    (void)state;
    /* not a short decimal: compensated, as accurate as a double allows */
    const double third = 1.0 / 3;
    const double thirds[] = {third, third, third, 0.25};
    assert_true(fabs(sum_of(thirds, 4) - 1.25) <= 2.3e-16);
    /* beyond the micro-units' range: compensated (1e16 + 1 - 1e16 = 1) */
    static const double big[] = {1e16, 1, -1e16, 0.5};
    assert_true(sum_of(big, 4) == 1.5);
    /* integers stay exact up to 2^53 */
    static const double ints[] = {4503599627370496.0, 4503599627370495.0, 1};
    assert_true(sum_of(ints, 3) == 9007199254740992.0);
    static const double large_dec[] = {12345678901.25, 0.5}; /* > 9e9: whole value compensated */
    assert_true(sum_of(large_dec, 2) == 12345678901.75);
}

/* The int64 of integer parts overflowing goes to the compensated part; fold keeps the value. */
static void test_whole_overflow_and_fold(void **state)
{
    (void)state;
    lw_decsum_t a = LW_DECSUM_ZERO, b = LW_DECSUM_ZERO;
    a.whole = INT64_MAX - 1;
    b.whole = 10;
    lw_decsum_add(&b, 0.25);
    lw_decsum_merge(&a, &b);
    assert_true(a.whole == INT64_MAX - 1);
    assert_true(lw_decsum_value(&a) == 9223372036854775806.0 + 10.25);
    lw_decsum_t c = LW_DECSUM_ZERO;
    lw_decsum_add(&c, 41.5);
    lw_decsum_add(&c, 0.75);
    lw_decsum_t f = lw_decsum_fold(&c);
    assert_true(f.whole == 0 && f.k.hi == 41.0 && f.micros == 1250000);
    assert_true(lw_decsum_value(&f) == 42.25 && lw_decsum_value(&c) == 42.25);
}

/* Merging partial sums (one per flush) equals one running sum. */
static void test_merge_equals_running(void **state)
{
    (void)state;
    lw_decsum_t all = LW_DECSUM_ZERO, total = LW_DECSUM_ZERO, part = LW_DECSUM_ZERO;
    uint64_t x = 88172645463325252u;
    long long cents = 0;
    for (int i = 1; i <= 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        long long c = (long long)(x % 200001) - 100000; /* -1000.00 .. 1000.00 */
        double v = (double)c / 100;
        cents += c;
        lw_decsum_add(&all, v);
        lw_decsum_add(&part, v);
        if (i % 777 == 0) {
            lw_decsum_merge(&total, &part);
            part = LW_DECSUM_ZERO;
        }
    }
    lw_decsum_merge(&total, &part);
    char want[40];
    snprintf(want, sizeof want, "%s%lld.%02lld", cents < 0 ? "-" : "", llabs(cents) / 100,
             llabs(cents) % 100);
    double exact = strtod(want, NULL);
    assert_true(lw_decsum_value(&all) == exact);
    assert_true(lw_decsum_value(&total) == exact);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimals_exact),
        cmocka_unit_test(test_other_values),
        cmocka_unit_test(test_whole_overflow_and_fold),
        cmocka_unit_test(test_merge_equals_running),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
