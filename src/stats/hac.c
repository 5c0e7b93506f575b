/*
 * hac.c - Newey-West (Bartlett kernel) HAC covariance; see hac.h for the
 * formula and the statsmodels function it matches.
 *
 * Steps: S starts as sum_t g_t g_t' (g_t = x_t u_t, formed on the fly, never
 * stored as an n x k matrix); for each lag j <= L the cross-product
 * C_j = sum_{t>=j} g_t g_{t-j}' is added as w_j (C_j + C_j'); finally
 * V = A S A with A = (X'X)^-1.  Only the upper triangle of S is accumulated
 * and mirrored once, since S is symmetric by construction.  One column
 * (k = 1) takes a scalar loop with the same operations in the same order.
 *
 * The sandwich is a few k x k products with k small (tens), so plain loops are
 * used instead of BLAS: no allocation, no library state, and the summation
 * order is the obvious one.  Cost O(n k^2 (L + 1)).
 */
#include "leadwatch/stats/hac.h"

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
        /* One column (analyze.c's per-lag regressions: 49 per edge at hourly max_lag 48):
         * the loop below without its k x k bookkeeping, g_t = x_t u_t recomputed in
         * place; the same operations in the same order, so the same bits (issue 17:
         * the general loop was 9 % of an hourly analysis's instructions). */
        double s = 0.0;
        for (size_t t = 0; t < nobs; t++) {
            const double g = X[t] * resid[t];
            s += g * g;
        }
        for (size_t j = 1; j <= maxlags && j < nobs; j++) {
            const double w = 1.0 - (double)j / ((double)maxlags + 1.0);
            for (size_t t = j; t < nobs; t++) {
                const double g = X[t] * resid[t], h = X[t - j] * resid[t - j];
                s += w * (g * h + h * g);
            }
        }
        const double T = 0.0 + xtx_inv[0] * s, V = 0.0 + T * xtx_inv[0];
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
