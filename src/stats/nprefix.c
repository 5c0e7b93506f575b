/*
 * nprefix.c - Neumaier-compensated prefix sums of lagged products (see
 * nprefix.h; the Granger scan's step 2, issue 17).
 *
 * How it works: the shifts are taken four at a time, lane j of a four-double
 * vector carrying shift d0 + 3 - j, so that the lanes' v[a - d] are the four
 * consecutive v[a - d0 - 3 .. a - d0] (one load).  A lane's first terms
 * (a = d .. d0 + 2, before every lane has started) are scalar steps; from
 * a = d0 + 3 all four chains advance together with the scalar step's
 * operations written on vectors: the product, t = s + x, the magnitude mask
 * |s| >= |x| (a compare of the sign-cleared values, false on NaN like the
 * scalar fabs compare), the selection of big and small by the mask, and
 * c += (big - t) + small; s + c is stored in each lane's row.  No
 * reassociation, no contraction (ISO C mode): lane for lane the bits of the
 * scalar chain, which takes the K + 1 - 4 * floor((K + 1) / 4) remaining
 * shifts.  The AVX2 clone (LW_VEC_KERNEL) does one vector op per step where
 * the scalar chain did one per term, for the four lanes at once.
 */
#include "leadwatch/stats/nprefix.h"

#include "leadwatch/stats/vec4.h"

typedef int64_t lw_v4l __attribute__((vector_size(4 * sizeof(int64_t))));

static void one_shift(const double *u, const double *v, size_t n, size_t d, double *P)
{
    double sum = 0.0, c = 0.0;
    for (size_t a = 0; a <= d && a <= n; a++)
        P[a] = 0.0;
    for (size_t a = d; a < n; a++) {
        sum = lw_nprefix_add(sum, u[a] * v[a - d], &c);
        P[a + 1] = sum + c;
    }
}

LW_VEC_KERNEL
static void four_shifts(const double *u, const double *v, size_t n, size_t d0, double *P, size_t ld)
{
    double *row[4];
    double s0[4], c0[4];
    const size_t a0 = d0 + 3;
    for (size_t j = 0; j < 4; j++) {
        const size_t d = a0 - j;
        row[j] = P + d * ld;
        double sum = 0.0, c = 0.0;
        for (size_t a = 0; a <= d && a <= n; a++)
            row[j][a] = 0.0;
        for (size_t a = d; a < a0 && a < n; a++) {
            sum = lw_nprefix_add(sum, u[a] * v[a - d], &c);
            row[j][a + 1] = sum + c;
        }
        s0[j] = sum;
        c0[j] = c;
    }
    lw_v4d s = lw_ld4(s0), c = lw_ld4(c0);
    const lw_v4l absm = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
    double *r0 = row[0], *r1 = row[1], *r2 = row[2], *r3 = row[3];
    for (size_t a = a0; a < n; a++) {
        const lw_v4d x = lw_splat4(u[a]) * lw_ld4(v + a - a0);
        const lw_v4d t = s + x;
        const lw_v4l us = (lw_v4l)s, ux = (lw_v4l)x;
        const lw_v4l m = (lw_v4l)((lw_v4d)(us & absm) >= (lw_v4d)(ux & absm));
        const lw_v4d big = (lw_v4d)((us & m) | (ux & ~m)), small = (lw_v4d)((ux & m) | (us & ~m));
        c += (big - t) + small;
        s = t;
        const lw_v4d r = s + c;
        r0[a + 1] = r[0];
        r1[a + 1] = r[1];
        r2[a + 1] = r[2];
        r3[a + 1] = r[3];
    }
}

void lw_nprefix_lagged(const double *u, const double *v, size_t n, size_t K, double *P, size_t ld)
{
    size_t d = 0;
    for (; d + 3 <= K; d += 4)
        four_shifts(u, v, n, d, P, ld);
    for (; d <= K; d++)
        one_shift(u, v, n, d, P + d * ld);
}
