/*
 * lagsum.c - four lags' serial sums side by side (see lagsum.h).
 *
 * How it works: each lag's sum is one chain of dependent additions over
 * ~2,100 rows at hourly T = 2160, so a loop per lag waits on the adder's
 * latency.  Lane j of a four-double vector carries lag p0 + j (k0 + j);
 * the lanes' operands at the same t are one broadcast and one unaligned
 * load of four consecutive values.  Where the lanes' ranges differ (the
 * tail sums start at t = p0 + j, the cross sums stop at n - k0 - j) those
 * terms are added by scalar code in the same position of the lane's chain:
 * the head before the vector loop, the tail after it.  Every lane does its
 * plain loop's operations in its order (no reassociation, no contraction in
 * ISO C mode), so it has that loop's bits; tests/test_lagsum.c checks them
 * against the plain loops.  A last group of fewer than four lags runs the
 * plain loops.
 */
#include "leadwatch/stats/lagsum.h"

#include "leadwatch/stats/vec4.h"

static double tailss_one(const double *z, size_t n, size_t p, double mean)
{
    double s = 0.0;
    for (size_t t = p; t < n; t++)
        s += (z[t] - mean) * (z[t] - mean);
    return s;
}

LW_VEC_KERNEL
void lw_lagsum_tailss(const double *z, size_t n, size_t p0, size_t count, const double *mean,
                      double *out)
{
    size_t i = 0;
    for (; i + 4 <= count && p0 + i + 3 <= n; i += 4) {
        const size_t p = p0 + i;
        double s[4] = {0.0, 0.0, 0.0, 0.0};
        for (size_t t = p; t < p + 3 && t < n; t++) /* lane j starts at t = p + j */
            for (size_t j = 0; j <= t - p; j++)
                s[j] += (z[t] - mean[i + j]) * (z[t] - mean[i + j]);
        lw_v4d acc = {s[0], s[1], s[2], s[3]};
        const lw_v4d mv = {mean[i], mean[i + 1], mean[i + 2], mean[i + 3]};
        for (size_t t = p + 3; t < n; t++) {
            const lw_v4d d = lw_splat4(z[t]) - mv;
            acc += d * d;
        }
        for (size_t j = 0; j < 4; j++)
            out[i + j] = acc[j];
    }
    for (; i < count; i++)
        out[i] = tailss_one(z, n, p0 + i, mean[i]);
}

LW_VEC_KERNEL
void lw_lagsum_cross(const double *x, const double *y, size_t n, size_t k0, size_t count,
                     double *sp, double *sn)
{
    size_t i = 0;
    for (; i + 4 <= count && k0 + i + 3 <= n; i += 4) {
        const size_t k = k0 + i, all = n - k - 3; /* t < all: every lane active */
        lw_v4d ap = lw_splat4(0.0), an = lw_splat4(0.0);
        for (size_t t = 0; t < all; t++) {
            ap += lw_splat4(x[t]) * lw_ld4(y + t + k);
            an += lw_ld4(x + t + k) * lw_splat4(y[t]);
        }
        for (size_t j = 0; j < 4; j++) {
            double p = ap[j], q = an[j];
            for (size_t t = all; t + k + j < n; t++) { /* lane j's last 3 - j terms */
                p += x[t] * y[t + k + j];
                q += x[t + k + j] * y[t];
            }
            sp[i + j] = p;
            sn[i + j] = q;
        }
    }
    for (; i < count; i++) {
        const size_t k = k0 + i;
        double p = 0.0, q = 0.0;
        for (size_t t = 0; t + k < n; t++) {
            p += x[t] * y[t + k];
            q += x[t + k] * y[t];
        }
        sp[i] = p;
        sn[i] = q;
    }
}
