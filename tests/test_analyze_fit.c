/*
 * test_analyze_fit.c - the fast paths of src/stats/analyze_fit.c against the
 * reference paths they replace (issue 17):
 *
 *   - lw_analyze_pair_test (both models of the chosen-lag pair from one
 *     unpivoted QR of the unrestricted design) against
 *     lw_analyze_pair_test_refit (two lw_ols_fit refits, pivoted QR): every
 *     number of the record (SSRs, log-likelihoods, AIC/BIC, F, chi2, LR and
 *     their p-values, df) and the x-lag sum and its t, relative 1e-9, on
 *     random AR pairs with a lead, with and without a control, with
 *     undefined (NAN) gaps, lags 1..24, on the whole sample and on
 *     stability-style sub-windows;
 *   - designs the one-QR path must decline (a control equal to y: the lags
 *     are collinear; too few rows): the same status and reason as the refit;
 *   - lw_analyze_dir_search reusing y's own order from an earlier direction
 *     (the NSM of several edges) gives bit for bit what a fresh workspace
 *     gives, and reuses it only for the same y on the same rows.
 *
 * How it works: a workspace (analyze_work.h) is built by hand as
 * lw_analyze_tree builds it (designs up to 1 + 2K + nc (K + 1) columns).
 * That the two paths are really different code is checked too: not every
 * number may agree to the bit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/analyze.h"
#include "leadwatch/stats/analyze_work.h"
#include "leadwatch/stats/ols.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 700, K = 24 };

static uint64_t rng = 0x9E3779B97F4A7C15u;
static double gauss(void)
{
    return tu_gauss(&rng);
}

typedef struct {
    lw_analyze_opts_t o;
    lw_analyze_work_t w;
    double x[N], y[N], c[N];
} fx_t;

static void fx_open(fx_t *f, size_t nc)
{
    memset(f, 0, sizeof *f);
    lw_analyze_opts_default(&f->o);
    f->o.max_lag = K;
    const size_t kmax = 2 * K + 1 + nc * (K + 1);
    lw_analyze_work_t *w = &f->w;
    w->o = &f->o;
    w->n = N;
    w->nc = nc;
    assert_int_equal(lw_ols_new(N, kmax, &w->ols, NULL, 0), LW_OK);
    w->X = malloc(N * kmax * sizeof(double));
    w->X2 = malloc(N * kmax * sizeof(double));
    w->yv = malloc(N * sizeof(double));
    w->pa = malloc(N * sizeof(double));
    w->mu = malloc((kmax + 1) * sizeof(double));
    w->b = malloc(kmax * sizeof(double));
    w->dsc = malloc(kmax * sizeof(double));
    w->rows = malloc(N * sizeof(size_t));
    assert_non_null(w->X);
    assert_non_null(w->X2);
    assert_non_null(w->yv);
    assert_non_null(w->pa);
    assert_non_null(w->mu);
    assert_non_null(w->b);
    assert_non_null(w->dsc);
    assert_non_null(w->rows);
    if (nc)
        w->fc[0] = f->c;
}

static void fx_close(fx_t *f)
{
    lw_analyze_work_t *w = &f->w;
    lw_ols_destroy(w->ols);
    free(w->X);
    free(w->X2);
    free(w->yv);
    free(w->pa);
    free(w->mu);
    free(w->b);
    free(w->dsc);
    free(w->rows);
}

/* x AR(1); y AR(1) + b x_{t-lead} + d c_t; c AR(1); `gaps` rows set to NAN */
static void fx_series(fx_t *f, size_t lead, double b, int gaps)
{
    double a = 0.0, v = 0.0, u = 0.0;
    for (size_t t = 0; t < N; t++) {
        a = 0.6 * a + gauss();
        u = 0.5 * u + gauss();
        f->x[t] = a;
        f->c[t] = u;
        v = 0.4 * v + (t >= lead ? b * f->x[t - lead] : 0.0) + 0.3 * u + gauss();
        f->y[t] = 10.0 + v;
    }
    for (int g = 0; g < gaps; g++) {
        const size_t t = 50 + (size_t)g * 97 % (N - 60);
        f->x[t] = (double)NAN;
        if (g % 2)
            f->y[t + 3] = (double)NAN;
    }
}

static double rel(double a, double b)
{
    if (a == b)
        return 0.0;
    const double s = fmax(fabs(a), fabs(b));
    return fabs(a - b) / s;
}

/* Both paths at lag p on [lo, hi); returns 1 when some number differs in its bits. */
static int compare(fx_t *f, size_t p, size_t lo, size_t hi, double *worst)
{
    lw_granger_lag_t a, r;
    double sa = 0.0, ta = 0.0, sr = 0.0, tr = 0.0;
    const bool oka = lw_analyze_pair_test(&f->w, f->y, f->x, p, lo, hi, &a, &sa, &ta);
    const bool okr = lw_analyze_pair_test_refit(&f->w, f->y, f->x, p, lo, hi, &r, &sr, &tr);
    assert_int_equal(oka, okr);
    assert_int_equal(a.status, r.status);
    assert_int_equal(a.nobs, r.nobs);
    assert_int_equal(a.lag, r.lag);
    if (!okr) {
        assert_string_equal(a.reason, r.reason);
        return 0;
    }
    const double va[] = {a.ssr_r,  a.ssr_u,    a.llf_r,   a.llf_u,  a.aic, a.bic,
                         a.f,      a.f_p,      a.chi2,    a.chi2_p, a.lr,  a.lr_p,
                         a.df_num, a.df_denom, a.chi2_df, sa,       ta};
    const double vr[] = {r.ssr_r,  r.ssr_u,    r.llf_r,   r.llf_u,  r.aic, r.bic,
                         r.f,      r.f_p,      r.chi2,    r.chi2_p, r.lr,  r.lr_p,
                         r.df_num, r.df_denom, r.chi2_df, sr,       tr};
    int differ = 0;
    for (size_t i = 0; i < sizeof va / sizeof va[0]; i++) {
        const double d = rel(va[i], vr[i]);
        if (d > *worst)
            *worst = d;
        if (d > 1e-9)
            fail_msg("lag %zu rows [%zu, %zu) field %zu: one QR %.17g, refit %.17g (rel %.3g)", p,
                     lo, hi, i, va[i], vr[i], d);
        differ |= va[i] != vr[i];
    }
    return differ;
}

static void test_pair_test_one_qr_equals_refits(void **state)
{
    (void)state;
    static const size_t lags[] = {1, 2, 3, 5, 7, 12, 24};
    int differ = 0, cases = 0;
    double worst = 0.0;
    for (size_t nc = 0; nc <= 1; nc++) {
        fx_t *f = malloc(sizeof *f);
        assert_non_null(f);
        fx_open(f, nc);
        for (int rep = 0; rep < 3; rep++) {
            fx_series(f, 3 + (size_t)rep * 4, rep == 2 ? 0.0 : 0.5, rep == 1 ? 5 : 0);
            for (size_t li = 0; li < sizeof lags / sizeof lags[0]; li++) {
                const size_t p = lags[li];
                differ |= compare(f, p, 0, N, &worst); /* the whole sample */
                cases++;
                const size_t W = 5 * p + 20 > N / 4 ? 5 * p + 20 : N / 4;
                for (size_t s = 0; s + W <= N; s += W / 2) { /* stability windows */
                    differ |= compare(f, p, s + p, s + W, &worst);
                    cases++;
                }
            }
        }
        fx_close(f);
        free(f);
    }
    printf("pair test: %d cases, largest relative difference %.3g\n", cases, worst);
    assert_true(differ); /* two different computations, not one called twice */
}

static void test_pair_test_declines_like_refit(void **state)
{
    (void)state;
    fx_t *f = malloc(sizeof *f);
    assert_non_null(f);
    fx_open(f, 1);
    fx_series(f, 2, 0.5, 0);
    memcpy(f->c, f->y, sizeof f->c); /* control == y: c_{t-j} duplicates y_{t-j} */
    double worst = 0.0;
    lw_granger_lag_t r;
    assert_false(lw_analyze_pair_test_refit(&f->w, f->y, f->x, 3, 0, N, &r, NULL, NULL));
    compare(f, 3, 0, N, &worst);
    fx_series(f, 2, 0.5, 0);
    compare(f, 10, 100, 130, &worst); /* 30 rows for 32 parameters */
    fx_close(f);
    free(f);
}

/* Every output of one direction's lag search. */
typedef struct {
    size_t lag, own, m;
    double icv[K], lag_p[K], ps;
} search_t;

static void search(lw_analyze_work_t *w, const double *y, const double *x, search_t *r)
{
    memset(r, 0, sizeof *r);
    r->lag = lw_analyze_dir_search(w, y, x, K, r->icv, &r->own, r->lag_p, &r->ps, &r->m);
}

static void assert_same_search(const search_t *a, const search_t *b)
{
    assert_int_equal(a->lag, b->lag);
    assert_int_equal(a->own, b->own);
    assert_int_equal(a->m, b->m);
    assert_memory_equal(a->icv, b->icv, sizeof a->icv);
    assert_memory_equal(a->lag_p, b->lag_p, sizeof a->lag_p);
    assert_memory_equal(&a->ps, &b->ps, sizeof a->ps);
}

static void test_dir_search_reuses_own_order(void **state)
{
    (void)state;
    fx_t *f = malloc(sizeof *f), *g = malloc(sizeof *g);
    static double x1[N], x2[N], y[N];
    assert_non_null(f);
    assert_non_null(g);
    fx_open(f, 0);
    fx_series(f, 3, 0.4, 0);
    memcpy(x1, f->x, sizeof x1);
    memcpy(y, f->y, sizeof y);
    fx_series(f, 5, 0.3, 0); /* another input, leading another y: keep the first y */
    memcpy(x2, f->x, sizeof x2);
    search_t a, r, b, ref;
    search(&f->w, y, x1, &a); /* y's order computed */
    search(&f->w, x1, y, &r); /* the reverse direction: x1's */
    search(&f->w, y, x2, &b); /* y again, same rows: reused */
    assert_int_equal(f->w.own_hits, 1);
    assert_true(b.own > 0);
    fx_open(g, 0); /* a fresh workspace: nothing to reuse */
    search(&g->w, y, x2, &ref);
    assert_int_equal(g->w.own_hits, 0);
    assert_same_search(&b, &ref);
    /* a gap in x changes the rows: computed afresh, and again the same as fresh */
    x2[300] = (double)NAN;
    search(&f->w, y, x2, &b);
    assert_int_equal(f->w.own_hits, 1);
    search(&g->w, x1, y, &ref); /* evict g's y-slot order: g computes afresh below too */
    search(&g->w, x2, y, &ref);
    search(&g->w, y, x2, &ref);
    assert_same_search(&b, &ref);
    assert_true(b.m < a.m);
    fx_close(f);
    fx_close(g);
    for (size_t i = 0; i < 2; i++) {
        free(f->w.own[i].y);
        free(f->w.own[i].rows);
        free(g->w.own[i].y);
        free(g->w.own[i].rows);
    }
    free(f);
    free(g);
}

/* lw_analyze_valid_rows (one pass) against the definition row by row: y_t, y and x at
 * t - need..t - 1 and the control at t - need..t finite; NaN and Inf sprinkled at random
 * into each series, every need 0..K, and windows [lo, hi) inside, at and across the ends. */
static void test_valid_rows_equals_definition(void **state)
{
    (void)state;
    static fx_t f;
    fx_open(&f, 1);
    size_t *want = malloc(N * sizeof(size_t));
    assert_non_null(want);
    for (int round = 0; round < 40; round++) {
        for (size_t t = 0; t < N; t++) {
            const double u = 0.5 * (1.0 + erf(gauss() / sqrt(2.0))); /* uniform */
            const double bad = round % 3 == 0 ? INFINITY : NAN;
            const double rate = 0.002 * (double)(round % 8);
            f.y[t] = u < rate ? bad : gauss();
            f.x[t] = u > 1.0 - rate ? bad : gauss();
            f.c[t] = u > 0.5 && u < 0.5 + rate / 2 ? bad : gauss();
        }
        f.w.nc = (size_t)(round % 2);
        const size_t los[] = {0, 3, 100}, his[] = {N, N - 5, 101};
        for (size_t need = 0; need <= K; need++)
            for (size_t a = 0; a < 3; a++) {
                size_t lo = los[a], hi = his[a], m = 0;
                for (size_t t = lo < need ? need : lo; t < hi; t++) {
                    bool ok = isfinite(f.y[t]);
                    for (size_t j = 1; j <= need; j++)
                        ok = ok && isfinite(f.y[t - j]) && isfinite(f.x[t - j]);
                    for (size_t j = 0; f.w.nc && j <= need; j++)
                        ok = ok && isfinite(f.c[t - j]);
                    if (ok)
                        want[m++] = t;
                }
                const size_t got = lw_analyze_valid_rows(&f.w, f.y, f.x, need, lo, hi, f.w.rows);
                assert_int_equal(got, m);
                assert_memory_equal(f.w.rows, want, m * sizeof(size_t));
            }
    }
    free(want);
    fx_close(&f);
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_rows_equals_definition),
        cmocka_unit_test(test_pair_test_one_qr_equals_refits),
        cmocka_unit_test(test_pair_test_declines_like_refit),
        cmocka_unit_test(test_dir_search_reuses_own_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
