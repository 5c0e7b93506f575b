/*
 * jsonnum.c - "%.17g" of a double without printf (see jsonnum.h).
 *
 * Why: `leadwatch analyze --format json` at hourly buckets prints ~40,000
 * numbers and glibc's printf spent ~54 M instructions on them (its exact
 * multi-precision conversion), 3 % of the whole command (issue 17).  The
 * output must stay byte-identical, so this is not a shortest-round-trip
 * printer (Ryu, Grisu): it prints the same 17 correctly rounded digits.
 *
 * Method.  A normal double is a = M * 2^E exactly (M < 2^53).  With k the
 * decimal exponent of a (10^k <= a < 10^(k+1)) and p = 16 - k, the 17
 * digits are a * 10^p rounded to an integer, ties to even (glibc rounds the
 * exact binary value in the current rounding mode; leadwatch never leaves
 * round-to-nearest).  a * 10^p is formed exactly in 128-bit integers:
 *   - E < 0 (a < 2^53): a * 10^p = (M * 10^p) / 2^-E with p <= 22, so
 *     M * 10^p < 2^53 * 10^22 < 2^128; the quotient is a shift, the
 *     remainder a mask compared with 2^(-E-1) (the half);
 *   - E >= 0 (a >= 2^52, an integer): a = M << E < 2^127 when E <= 74;
 *     p <= 1 there, a * 10^p or, for p < 0, a / 10^-p with its remainder
 *     compared with half of 10^-p.
 * k is first estimated from the binary exponent (floor(b * log10 2) or one
 * less) and corrected by one when the quotient falls outside
 * [10^16, 10^17); a round-up to 10^17 becomes 10^16 with k + 1.  Then the
 * %g layout: exponent style when k < -4 or k >= 17 (mantissa digits, '.',
 * 'e', sign, at least two exponent digits), else fixed with 16 - k
 * decimals; trailing zeros of the fraction and a bare '.' removed.
 * Everything else - zero, -0, subnormals, |a| < 1e-6 (p > 22), a >= 2^127,
 * inf, nan - goes to snprintf, so the result is always printf's.
 *
 * Checked against snprintf on millions of doubles (tests/test_jsonw.c:
 * random bit patterns, log-uniform magnitudes, exact ties at the 18th
 * digit, neighbours of powers of ten and of the path boundaries).
 */
#include "leadwatch/core/jsonnum.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef unsigned __int128 u128;

static const uint64_t pow10_u64[20] = {1u,
                                       10u,
                                       100u,
                                       1000u,
                                       10000u,
                                       100000u,
                                       1000000u,
                                       10000000u,
                                       100000000u,
                                       1000000000u,
                                       10000000000u,
                                       100000000000u,
                                       1000000000000u,
                                       10000000000000u,
                                       100000000000000u,
                                       1000000000000000u,
                                       10000000000000000u,
                                       100000000000000000u,
                                       1000000000000000000u,
                                       10000000000000000000u};

static u128 pow10_u128(int n)
{
    return n < 20 ? (u128)pow10_u64[n] : (u128)pow10_u64[19] * pow10_u64[n - 19];
}

/*
 * a * 10^p rounded half to even, a = m * 2^e; false when it cannot be done
 * exactly in 128 bits (the caller then uses printf).
 */
static int scaled_round(uint64_t m, int e, int p, uint64_t *digits, uint64_t *floor_out)
{
    u128 q, rem, half;
    int odd_tie;
    if (e < 0) {
        int s = -e;
        if (p < 0 || p > 22 || s > 127)
            return 0;
        u128 prod = (u128)m * pow10_u128(p);
        q = prod >> s;
        rem = prod & (((u128)1 << s) - 1);
        half = (u128)1 << (s - 1);
    } else {
        if (e > 74 || p < -38 || (p >= 0 && (e > 10 || p > 3)))
            return 0; /* p >= 0 only for a < 10^17 < 2^63 (e <= 10) */
        u128 a = (u128)m << e;
        if (p >= 0) {
            q = a * pow10_u128(p);
            rem = 0;
            half = 1;
        } else {
            u128 d = pow10_u128(-p);
            q = a / d;
            rem = a - q * d;
            half = d / 2; /* d is even: exact */
        }
    }
    if (q >= pow10_u64[18])
        return 0; /* k estimated far too low; cannot happen, be safe */
    *floor_out = (uint64_t)q;
    odd_tie = rem == half && ((uint64_t)q & 1u);
    *digits = (uint64_t)q + (rem > half || odd_tie);
    return 1;
}

size_t lw_jsonnum_g17_fast(char buf[LW_JSONNUM_MAX], double v)
{
    if (fpclassify(v) != FP_NORMAL)
        return 0;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    int neg = (int)(bits >> 63);
    int be = (int)((bits >> 52) & 0x7ff);
    uint64_t m = (bits & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1) << 52);
    int e = be - 1075;
    int b = be - 1023;                 /* 2^b <= a < 2^(b+1) */
    int k = (int)((b * 78913L) >> 18); /* floor(b * log10(2)): k or k - 1 */
    uint64_t d = 0, fl = 0;
    for (int tries = 0; tries < 3; tries++) {
        if (!scaled_round(m, e, 16 - k, &d, &fl))
            return 0;
        if (fl >= pow10_u64[17])
            k++;
        else if (fl < pow10_u64[16])
            k--;
        else
            break;
    }
    if (fl < pow10_u64[16] || fl >= pow10_u64[17])
        return 0;
    if (d == pow10_u64[17]) {
        d = pow10_u64[16];
        k++;
    }
    char dig[17];
    for (int i = 16; i >= 0; i--) {
        dig[i] = (char)('0' + d % 10u);
        d /= 10u;
    }
    int nd = 17; /* significant digits kept after stripping trailing zeros */
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    char *o = buf;
    if (neg)
        *o++ = '-';
    if (k < -4 || k >= 17) {
        *o++ = dig[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, dig + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        *o++ = 'e';
        *o++ = k < 0 ? '-' : '+';
        int ak = k < 0 ? -k : k;
        if (ak >= 100)
            *o++ = (char)('0' + ak / 100);
        *o++ = (char)('0' + ak / 10 % 10);
        *o++ = (char)('0' + ak % 10);
    } else if (k >= 0) {
        memcpy(o, dig, (size_t)k + 1);
        o += k + 1;
        if (nd > k + 1) {
            *o++ = '.';
            memcpy(o, dig + k + 1, (size_t)(nd - k - 1));
            o += nd - k - 1;
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -k - 1; i++)
            *o++ = '0';
        memcpy(o, dig, (size_t)nd);
        o += nd;
    }
    *o = '\0';
    return (size_t)(o - buf);
}

size_t lw_jsonnum_g17(char buf[LW_JSONNUM_MAX], double v)
{
    size_t n = lw_jsonnum_g17_fast(buf, v);
    if (n != 0)
        return n;
    int w = snprintf(buf, LW_JSONNUM_MAX, "%.17g", v);
    return w < 0 ? 0 : (size_t)w;
}
