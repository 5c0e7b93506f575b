/*
 * test_jsonnum.c - lw_jsonnum_g17() against snprintf("%.17g") byte for byte
 * on ~3 million doubles: random bit patterns (every class: subnormals, ±0,
 * inf, nan payloads), log-uniform magnitudes across the fast path's range
 * and beyond, exact ties at the 18th significant digit (round half to even),
 * the neighbours (±300 ulps) of powers of ten and two and of the fast path's
 * bounds, integers and short decimals.  It also checks that the fast path
 * really takes most of its range, so a one-ulp / one-digit slip in it (a
 * wrong tie rule, an off-by-one exponent or remainder) fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "leadwatch/core/jsonnum.h"

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static unsigned long fast_hits;

/* One value: both entry points equal printf's bytes. */
static void check(double v)
{
    char want[64], got[LW_JSONNUM_MAX], fast[LW_JSONNUM_MAX];
    int wn = snprintf(want, sizeof want, "%.17g", v);
    size_t gn = lw_jsonnum_g17(got, v);
    if ((size_t)wn != gn || memcmp(want, got, gn + 1) != 0) {
        uint64_t b;
        memcpy(&b, &v, sizeof b);
        fail_msg("bits %016llx: printf \"%s\", got \"%s\"", (unsigned long long)b, want, got);
    }
    size_t fn = lw_jsonnum_g17_fast(fast, v);
    if (fn != 0) {
        fast_hits++;
        if (fn != gn || memcmp(fast, want, fn + 1) != 0)
            fail_msg("fast path: printf \"%s\", got \"%s\"", want, fast);
    }
}

static void check_both_signs(double v)
{
    check(v);
    check(-v);
}

static void test_random_bits(void **state)
{
    (void)state;
    for (int i = 0; i < 1000000; i++)
        check(from_bits(rnd()));
}

static void test_specials(void **state)
{
    (void)state;
    const double vals[] = {0.0,
                           -0.0,
                           INFINITY,
                           -INFINITY,
                           NAN,
                           -NAN,
                           DBL_MIN,
                           DBL_MAX,
                           DBL_TRUE_MIN,
                           DBL_EPSILON,
                           1.0,
                           0.1,
                           0.5,
                           1e-6,
                           1e-5,
                           1e-4,
                           1e16,
                           1e17,
                           9007199254740992.0,
                           4503599627370496.0,
                           1.7014118346046923e38,
                           0.30000000000000004};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        check(vals[i]);
    for (int i = 0; i < 1000; i++) {
        check(from_bits(rnd() & ((UINT64_C(1) << 52) - 1))); /* subnormals */
        check(from_bits((rnd() & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(0x7ff) << 52))); /* nan */
    }
}

static void test_log_uniform(void **state)
{
    (void)state;
    fast_hits = 0;
    const int n = 1000000;
    for (int i = 0; i < n; i++) {
        double u = (double)(rnd() >> 11) * 0x1p-53;
        check_both_signs(pow(10.0, -8.0 + 48.0 * u)); /* 1e-8 .. 1e40 */
    }
    /* 1e-6 .. 2^127 is about 44 of the 48 decades */
    if (fast_hits < (unsigned long)(2 * n * 0.9 * 44.0 / 48.0))
        fail_msg("fast path took %lu of %d", fast_hits, 2 * n);
}

/* a = (n * 2^j + f) / 2^j, f odd: 18 significant digits ending in 5 when n has 18 - j. */
static void test_ties(void **state)
{
    (void)state;
    fast_hits = 0;
    int ties = 0;
    for (int rep = 0; rep < 300000; rep++) {
        int j = 2 + (int)(rnd() % 12);
        int ndig = 18 - j;
        uint64_t lo = 1, hi;
        for (int i = 1; i < ndig; i++)
            lo *= 10;
        hi = lo * 10;
        uint64_t n = lo + rnd() % (hi - lo);
        uint64_t f = (rnd() % (UINT64_C(1) << j)) | 1u;
        if (n >= (UINT64_C(1) << (53 - j)))
            continue;
        ties++;
        double v = ldexp((double)((n << j) + f), -j);
        check_both_signs(v);
        check_both_signs(v * 0x1p-20); /* the same mantissa elsewhere */
    }
    assert_true(ties > 100000);
    assert_true(fast_hits > (unsigned long)ties * 3);
}

static void test_neighbours(void **state)
{
    (void)state;
    for (int e = -9; e <= 40; e++) {
        double p = pow(10.0, e);
        double up = p, down = p;
        for (int i = 0; i < 300; i++) {
            check_both_signs(up);
            check_both_signs(down);
            up = nextafter(up, INFINITY);
            down = nextafter(down, 0.0);
        }
    }
    for (int e = -80; e <= 130; e++) {
        double up = ldexp(1.0, e), down = up;
        for (int i = 0; i < 300; i++) {
            check(up);
            check(down);
            up = nextafter(up, INFINITY);
            down = nextafter(down, 0.0);
        }
    }
}

static void test_integers_and_decimals(void **state)
{
    (void)state;
    for (int i = 0; i < 200000; i++) {
        int sh = (int)(rnd() % 64);
        check_both_signs((double)(rnd() >> sh));
        int d = (int)(rnd() % 10);
        check_both_signs((double)(int64_t)(rnd() % 100000000) / pow(10.0, d));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_specials),    cmocka_unit_test(test_random_bits),
        cmocka_unit_test(test_log_uniform), cmocka_unit_test(test_ties),
        cmocka_unit_test(test_neighbours),  cmocka_unit_test(test_integers_and_decimals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
