/*
 * test_lagsum.c - stats/lagsum: every lag's sum bit for bit equal to the
 * plain left-to-right loop of lagsum.h's comment (memcmp), for n 0..130 and
 * 700, lags from 0 up to and past n, group sizes 1..9 (full groups of four
 * and the plain remainder), data over twelve decades with signed zeros.
 * Fails on a one-ulp change of one term or a reordered lane.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "leadwatch/stats/lagsum.h"

#define NMAX 700

static uint64_t rng_state = 12345;

static double rnd_val(void)
{
    rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    uint64_t r = rng_state >> 11;
    double u = (double)(r & 0xfffff) / 1048576.0 - 0.5;
    int e = (int)((r >> 20) % 12) - 6;
    if ((r >> 40) % 50 == 0)
        return (r >> 45) & 1 ? -0.0 : 0.0;
    return u * pow(10.0, e);
}

static void fill(double *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] = rnd_val();
}

static void test_tailss_equals_plain(void **state)
{
    (void)state;
    static double z[NMAX];
    double mean[9], got[9];
    size_t sizes[132];
    for (size_t i = 0; i <= 130; i++)
        sizes[i] = i;
    sizes[131] = NMAX;
    for (size_t si = 0; si < 132; si++) {
        const size_t n = sizes[si];
        fill(z, n);
        for (size_t p0 = 0; p0 <= n; p0 += (n > 140 ? 37 : 1)) {
            for (size_t cnt = 1; cnt <= 9 && p0 + cnt - 1 <= n; cnt++) {
                for (size_t i = 0; i < cnt; i++)
                    mean[i] = rnd_val();
                lw_lagsum_tailss(z, n, p0, cnt, mean, got);
                for (size_t i = 0; i < cnt; i++) {
                    double want = 0.0;
                    for (size_t t = p0 + i; t < n; t++)
                        want += (z[t] - mean[i]) * (z[t] - mean[i]);
                    if (memcmp(&want, &got[i], sizeof want) != 0)
                        fail_msg("n %zu p0 %zu cnt %zu lane %zu: %.17g vs %.17g", n, p0, cnt, i,
                                 got[i], want);
                }
            }
        }
    }
}

static void test_cross_equals_plain(void **state)
{
    (void)state;
    static double x[NMAX], y[NMAX];
    double sp[9], sn[9];
    size_t sizes[132];
    for (size_t i = 0; i <= 130; i++)
        sizes[i] = i;
    sizes[131] = NMAX;
    for (size_t si = 0; si < 132; si++) {
        const size_t n = sizes[si];
        fill(x, n);
        fill(y, n);
        for (size_t k0 = 0; k0 <= n + 2; k0 += (n > 140 ? 41 : 1)) {
            for (size_t cnt = 1; cnt <= 9; cnt++) {
                lw_lagsum_cross(x, y, n, k0, cnt, sp, sn);
                for (size_t i = 0; i < cnt; i++) {
                    const size_t k = k0 + i;
                    double p = 0.0, q = 0.0;
                    for (size_t t = 0; t + k < n; t++) {
                        p += x[t] * y[t + k];
                        q += x[t + k] * y[t];
                    }
                    if (memcmp(&p, &sp[i], sizeof p) != 0 || memcmp(&q, &sn[i], sizeof q) != 0)
                        fail_msg("n %zu k0 %zu cnt %zu lane %zu: %.17g %.17g vs %.17g %.17g", n, k0,
                                 cnt, i, sp[i], sn[i], p, q);
                }
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tailss_equals_plain),
        cmocka_unit_test(test_cross_equals_plain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
