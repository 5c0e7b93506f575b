/*
 * hac.c - Newey-West (Bartlett kernel) HAC covariance; see hac.h for the
 * formula and the statsmodels function it matches.
 *
 * Steps: S starts as sum_t g_t g_t' (g_t = x_t u_t, formed on the fly, never
 * stored as an n x k matrix); for each lag j <= L the cross-product
 * C_j = sum_{t>=j} g_t g_{t-j}' is added as w_j (C_j + C_j'); finally
 * V = A S A with A = (X'X)^-1.  Only the upper triangle of S is accumulated
 * and mirrored once, since S is symmetric by construction.  One column
 * (k = 1) takes its own loop (one_column: the terms formed a block at a
 * time, then added in the same order), the same operations: the same bits.
 *
 * The sandwich is a few k x k products with k small (tens), so plain loops are
 * used instead of BLAS: no allocation, no library state, and the summation
 * order is the obvious one.  Cost O(n k^2 (L + 1)).
 */
#include "leadwatch/stats/hac.h"

#include "leadwatch/stats/vec4.h"

#include <math.h>
#include <string.h>

size_t lw_hac_default_lags(size_t nobs)
{
    if (nobs == 0)
        return 0;
    return (size_t)floor(4.0 * pow((double)nobs / 100.0, 2.0 / 9.0));
}

size_t lw_hac_work_size(size_t k)
{
    return 2 * k * k + 2 * k;
}

/* Terms of the one-column sum formed per block into a buffer, then added in order. */
#define HAC_BLOCK 256

/*
 * One column (analyze.c's per-lag regressions: 49 per edge at hourly max_lag
 * 48): the general loop below without its k x k bookkeeping.  Every term
 * w_j (g_t h + h g_t) (g_t = x_t u_t, h = g_{t-j}) is the general loop's,
 * with the same operations; only the terms of a block of HAC_BLOCK rows are
 * formed first, four at a time (independent products), and then added to the
 * single running sum s one by one in the general loop's order (lag 0 first,
 * rows ascending): the same bits (issue 17: the general loop was 9 % of an
 * hourly analysis's instructions, the term-by-term scalar loop 2.5 %).
 * Returns a s a (a = (X'X)^-1, the general sandwich's 0 + a s, 0 + T a).
 * tests/test_hac.c checks it against the general loop's arithmetic.
 */
LW_VEC_KERNEL
static double one_column(const double *X, const double *resid, size_t nobs, size_t maxlags,
                         double a)
{
    double s = 0.0;
    for (size_t t = 0; t < nobs; t++) {
        const double g = X[t] * resid[t];
        s += g * g;
    }
    double term[HAC_BLOCK];
    for (size_t j = 1; j <= maxlags && j < nobs; j++) {
        const double w = 1.0 - (double)j / ((double)maxlags + 1.0);
        const lw_v4d wv = lw_splat4(w);
        for (size_t t0 = j; t0 < nobs; t0 += HAC_BLOCK) {
            const size_t len = nobs - t0 < HAC_BLOCK ? nobs - t0 : HAC_BLOCK;
            const double *xt = X + t0, *ut = resid + t0, *xs = X + t0 - j, *us = resid + t0 - j;
            size_t i = 0;
            for (; i + 4 <= len; i += 4) {
                const lw_v4d g = lw_ld4(xt + i) * lw_ld4(ut + i),
                             h = lw_ld4(xs + i) * lw_ld4(us + i);
                lw_st4(term + i, wv * (g * h + h * g));
            }
            for (; i < len; i++) {
                const double g = xt[i] * ut[i], h = xs[i] * us[i];
                term[i] = w * (g * h + h * g);
            }
            for (i = 0; i < len; i++)
                s += term[i];
        }
    }
    const double T = 0.0 + a * s;
    return 0.0 + T * a;
}

LW_VEC_KERNEL
void lw_hac_one_column4(const double *g4, size_t nobs, size_t maxlags, double out[4])
{
    lw_v4d s = lw_splat4(0.0);
    for (size_t t = 0; t < nobs; t++) {
        const lw_v4d g = lw_ld4(g4 + 4 * t);
        s += g * g;
    }
    for (size_t j = 1; j <= maxlags && j < nobs; j++) {
        const lw_v4d wv = lw_splat4(1.0 - (double)j / ((double)maxlags + 1.0));
        for (size_t t = j; t < nobs; t++) {
            const lw_v4d g = lw_ld4(g4 + 4 * t), h = lw_ld4(g4 + 4 * (t - j));
            s += wv * (g * h + h * g);
        }
    }
    const lw_v4d one = lw_splat4(1.0), zero = lw_splat4(0.0);
    const lw_v4d T = zero + one * s, V = zero + T * one;
    lw_st4(out, V * one); /* one_column's sandwich with a = 1, no correction */
}

lw_err_t lw_hac_cov(const double *X, const double *resid, size_t nobs, size_t k,
                    const double *xtx_inv, size_t maxlags, bool use_correction, double *cov_out,
                    double *work, char *errstr, size_t errstr_size)
{
    if (k == 0 || nobs == 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "hac: empty design");
    if (use_correction && nobs <= k)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "hac: small-sample correction needs nobs > k (nobs=%zu, k=%zu)", nobs, k);

    if (k == 1) {
        const double V = one_column(X, resid, nobs, maxlags, xtx_inv[0]);
        cov_out[0] = V * (use_correction ? (double)nobs / (double)(nobs - k) : 1.0);
        return LW_OK;
    }
    double *S = work;      /* k x k */
    double *T = S + k * k; /* k x k: A * S */
    double *g = T + k * k; /* k: g_t */
    double *h = g + k;     /* k: g_{t-j} */
    memset(S, 0, k * k * sizeof(double));

    for (size_t j = 0; j <= maxlags && j < nobs; j++) {
        const double w = 1.0 - (double)j / ((double)maxlags + 1.0);
        for (size_t t = j; t < nobs; t++) {
            const double *xt = X + t * k;
            const double *xs = X + (t - j) * k;
            for (size_t a = 0; a < k; a++) {
                g[a] = xt[a] * resid[t];
                h[a] = xs[a] * resid[t - j];
            }
            if (j == 0) {
                for (size_t a = 0; a < k; a++)
                    for (size_t b = a; b < k; b++)
                        S[a * k + b] += g[a] * g[b];
            } else {
                for (size_t a = 0; a < k; a++)
                    for (size_t b = a; b < k; b++)
                        S[a * k + b] += w * (g[a] * h[b] + h[a] * g[b]);
            }
        }
    }
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < a; b++)
            S[a * k + b] = S[b * k + a];

    /* T = A S, V = T A (A symmetric). */
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++) {
            double s = 0.0;
            for (size_t c = 0; c < k; c++)
                s += xtx_inv[a * k + c] * S[c * k + b];
            T[a * k + b] = s;
        }
    const double corr = use_correction ? (double)nobs / (double)(nobs - k) : 1.0;
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++) {
            double s = 0.0;
            for (size_t c = 0; c < k; c++)
                s += T[a * k + c] * xtx_inv[c * k + b];
            cov_out[a * k + b] = s * corr;
        }
    return LW_OK;
}
