/*
 * test_ols.c - OLS fits vs statsmodels OLS(y, X).fit() (params, bse, ssr,
 * df_resid, llf, aic, bic, rsquared; tests/data/stats_refs/ols_<case>.txt),
 * and the degenerate designs that must become a status, never NaN;
 * lw_ols_qr_qty against GSL's Householder QR (issue 17), lw_ols_qr_qtm (several
 * right-hand sides at once) against lw_ols_qr_qty bit for bit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/ols.h"
#include "leadwatch/stats/qrpt.h"
#include "stats_refs.h"

#include <float.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CASES[] = {"ols_lagreg730", "ols_macro", "ols_small30", "ols_levels150"};

static void check_vec(const char *c, const char *what, const double *got, const ref_line_t *l,
                      size_t k, double rel)
{
    assert_int_equal(l->n, k);
    for (size_t j = 0; j < k; j++)
        if (!ref_close(got[j], l->v[j], rel, 0.0))
            fail_msg("%s %s[%zu]: got %.17g want %.17g", c, what, j, got[j], l->v[j]);
}

static void check_num(const char *c, const char *what, double got, const ref_file_t *rf, double rel)
{
    const ref_line_t *l = ref_get(rf, what);
    assert_non_null(l);
    if (!ref_close(got, l->v[0], rel, 0.0))
        fail_msg("%s %s: got %.17g want %.17g", c, what, got, l->v[0]);
}

static void test_against_statsmodels(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof(CASES) / sizeof(CASES[0]); ci++) {
        ref_file_t rf;
        assert_true(ref_load(CASES[ci], &rf));
        const size_t n = (size_t)ref_get(&rf, "n")->v[0], k = (size_t)ref_get(&rf, "k")->v[0];
        const ref_line_t *X = ref_get(&rf, "X"), *y = ref_get(&rf, "y");
        assert_int_equal(X->n, n * k);
        assert_int_equal(y->n, n);
        lw_ols_t *ols = NULL;
        char err[256] = "";
        assert_int_equal(lw_ols_new(n, k, &ols, err, sizeof(err)), LW_OK);
        lw_ols_result_t r;
        assert_int_equal(lw_ols_fit(ols, X->v, y->v, n, k, LW_OLS_COV, 0, &r, err, sizeof(err)),
                         LW_OK);
        assert_true(r.has_const);
        assert_null(r.cov_hac);
        check_vec(CASES[ci], "params", r.params, ref_get(&rf, "params"), k, 1e-9);
        check_vec(CASES[ci], "bse", r.bse, ref_get(&rf, "bse"), k, 1e-9);
        check_num(CASES[ci], "ssr", r.ssr, &rf, 1e-9);
        check_num(CASES[ci], "df_resid", r.df_resid, &rf, 0.0);
        check_num(CASES[ci], "llf", r.llf, &rf, 1e-9);
        check_num(CASES[ci], "aic", r.aic, &rf, 1e-9);
        check_num(CASES[ci], "bic", r.bic, &rf, 1e-9);
        check_num(CASES[ci], "rsquared", r.rsquared, &rf, 1e-9);
        /* residuals are y - X b */
        for (size_t t = 0; t < n; t += 37) {
            double f = 0.0;
            for (size_t j = 0; j < k; j++)
                f += X->v[t * k + j] * r.params[j];
            assert_true(fabs(y->v[t] - f - r.resid[t]) <= 1e-12 * (fabs(y->v[t]) + 1.0));
        }
        lw_ols_destroy(ols);
        ref_free(&rf);
    }
}

static void test_degenerate(void **state)
{
    (void)state;
    enum { N = 20, K = 3 };
    double X[N * K], y[N];
    for (size_t t = 0; t < N; t++) {
        X[t * K + 0] = 1.0;
        X[t * K + 1] = (double)t;
        X[t * K + 2] = sin((double)t);
        y[t] = 2.0 + 0.5 * (double)t + cos(3.0 * (double)t);
    }
    lw_ols_t *ols = NULL;
    char err[256] = "";
    assert_int_equal(lw_ols_new(N, K, &ols, err, sizeof(err)), LW_OK);
    lw_ols_result_t r;

    /* a good fit first, so the failures below are about the inputs */
    assert_int_equal(lw_ols_fit(ols, X, y, N, K, LW_OLS_COV | LW_OLS_HAC, 2, &r, err, sizeof(err)),
                     LW_OK);
    assert_true(r.ssr > 0.0 && isfinite(r.llf));

    /* duplicate (collinear) column */
    double Xd[N * K];
    memcpy(Xd, X, sizeof(Xd));
    for (size_t t = 0; t < N; t++)
        Xd[t * K + 2] = 3.0 * Xd[t * K + 1] - 2.0;
    assert_int_equal(lw_ols_fit(ols, Xd, y, N, K, LW_OLS_COV, 0, &r, err, sizeof(err)),
                     LW_ERR_STATS);
    assert_non_null(strstr(err, "rank deficient"));
    assert_null(r.params);

    /* two constant columns */
    for (size_t t = 0; t < N; t++)
        Xd[t * K + 2] = 7.0;
    assert_int_equal(lw_ols_fit(ols, Xd, y, N, K, LW_OLS_COV, 0, &r, err, sizeof(err)),
                     LW_ERR_STATS);

    /* all-zero column */
    for (size_t t = 0; t < N; t++)
        Xd[t * K + 2] = 0.0;
    assert_int_equal(lw_ols_fit(ols, Xd, y, N, K, 0, 0, &r, err, sizeof(err)), LW_ERR_STATS);
    assert_non_null(strstr(err, "all zero"));

    /* NaN / Inf */
    memcpy(Xd, X, sizeof(Xd));
    Xd[5] = (double)NAN;
    assert_int_equal(lw_ols_fit(ols, Xd, y, N, K, 0, 0, &r, err, sizeof(err)), LW_ERR_INVALID);
    double yb[N];
    memcpy(yb, y, sizeof(yb));
    yb[3] = -(double)INFINITY;
    assert_int_equal(lw_ols_fit(ols, X, yb, N, K, 0, 0, &r, err, sizeof(err)), LW_ERR_INVALID);

    /* perfect fit: llf would be +Inf */
    for (size_t t = 0; t < N; t++)
        yb[t] = 1.0 + 2.0 * X[t * K + 1] - X[t * K + 2];
    assert_int_equal(lw_ols_fit(ols, X, yb, N, K, LW_OLS_COV, 0, &r, err, sizeof(err)),
                     LW_ERR_STATS);

    /* shapes */
    assert_int_equal(lw_ols_fit(ols, X, y, K, K, 0, 0, &r, err, sizeof(err)), LW_ERR_INVALID);
    assert_int_equal(lw_ols_fit(ols, X, y, N, 0, 0, 0, &r, err, sizeof(err)), LW_ERR_INVALID);
    assert_int_equal(lw_ols_fit(ols, X, y, N + 1, K, 0, 0, &r, err, sizeof(err)), LW_ERR_TOO_LARGE);
    lw_ols_t *big = NULL;
    assert_int_equal(lw_ols_new(10, LW_OLS_MAX_K + 1, &big, err, sizeof(err)), LW_ERR_TOO_LARGE);
    assert_null(big);
    lw_ols_destroy(ols);
}

/* Without a constant column, R^2 uses the uncentered total sum of squares. */
static void test_no_constant(void **state)
{
    (void)state;
    enum { N = 30 };
    double X[N], y[N];
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (size_t t = 0; t < N; t++) {
        X[t] = 1.0 + (double)t;
        y[t] = 2.0 * X[t] + sin((double)t);
        sxy += X[t] * y[t];
        sxx += X[t] * X[t];
        syy += y[t] * y[t];
    }
    lw_ols_t *ols = NULL;
    assert_int_equal(lw_ols_new(N, 1, &ols, NULL, 0), LW_OK);
    lw_ols_result_t r;
    assert_int_equal(lw_ols_fit(ols, X, y, N, 1, LW_OLS_COV, 0, &r, NULL, 0), LW_OK);
    assert_false(r.has_const);
    const double b = sxy / sxx, ssr = syy - b * sxy;
    assert_true(ref_close(r.params[0], b, 1e-13, 0.0));
    assert_true(ref_close(r.tss, syy, 1e-13, 0.0));
    assert_true(ref_close(r.rsquared, 1.0 - ssr / syy, 1e-9, 0.0));
    assert_true(ref_close(r.bse[0], sqrt(ssr / (N - 1) / sxx), 1e-8, 0.0));
    lw_ols_destroy(ols);
}

/* lw_ols_qr_qty (column-major, four-lane loops) against gsl_linalg_QR_decomp
 * + QR_QTvec on lag designs of autocorrelated series: R (same signs) and
 * every tail sum of squares of Q'y (the nested SSRs) to 1e-12 relative, for
 * row counts that are and are not multiples of 4, with a column that is a
 * unit vector. */
static void test_qr_qty_equals_gsl(void **state)
{
    (void)state;
    enum { NMAX = 403, K = 13 };
    static double X[NMAX * K], X2[NMAX * K], y[NMAX], y2[NMAX], s[NMAX];
    uint64_t st = 7u;
    double x = 0.0;
    for (size_t t = 0; t < NMAX; t++) {
        x = 0.9 * x + ref_unit(&st);
        s[t] = 100.0 + x;
    }
    for (size_t m = NMAX - 3; m <= NMAX; m++) {
        for (size_t t = 0; t < m; t++) {
            X[t * K] = 1.0;
            for (size_t j = 1; j < K; j++)
                X[t * K + j] = j == K - 1 ? (t == 0 ? 1.0 : 0.0) : s[(t + NMAX - j) % NMAX];
            y[t] = s[t] + 0.1 * s[(t + 5) % NMAX];
        }
        memcpy(X2, X, m * K * sizeof(double));
        memcpy(y2, y, m * sizeof(double));
        assert_int_equal(lw_ols_qr_qty(X, m, K, y, NULL, 0), LW_OK);
        gsl_matrix_view A = gsl_matrix_view_array(X2, m, K);
        gsl_vector *tau = gsl_vector_alloc(K);
        gsl_vector_view yv = gsl_vector_view_array(y2, m);
        assert_int_equal(gsl_linalg_QR_decomp(&A.matrix, tau), GSL_SUCCESS);
        assert_int_equal(gsl_linalg_QR_QTvec(&A.matrix, tau, &yv.vector), GSL_SUCCESS);
        gsl_vector_free(tau);
        for (size_t i = 0; i < K; i++)
            for (size_t j = 0; j < K; j++) {
                const double want = j >= i ? X2[i * K + j] : 0.0;
                if (!ref_close(X[i * K + j], want, 1e-12, 1e-12 * fabs(X2[j * K + j])))
                    fail_msg("m %zu R[%zu][%zu]: got %.17g want %.17g", m, i, j, X[i * K + j],
                             want);
            }
        for (size_t t = K; t < m; t++)
            assert_true(X[t * K + 1] == 0.0);
        double tail = 0.0, tail2 = 0.0;
        for (size_t i = m; i-- > 0;) {
            tail += y[i] * y[i];
            tail2 += y2[i] * y2[i];
            if (i <= K && !ref_close(tail, tail2, 1e-12, 0.0))
                fail_msg("m %zu SSR tail from %zu: got %.17g want %.17g", m, i, tail, tail2);
        }
    }
    double one[2] = {1.0, 2.0}, yy[2] = {1.0, 1.0};
    assert_int_equal(lw_ols_qr_qty(one, 2, 1, yy, NULL, 0), LW_OK);
    assert_int_equal(lw_ols_qr_qty(one, 1, 1, yy, NULL, 0), LW_ERR_INVALID);
}

/* lw_ols_qr_qtm: the same R and, for each of several right-hand sides (an odd
 * count, so the last is transformed alone), the bits lw_ols_qr_qty gives it. */
static void test_qr_qtm_equals_qty(void **state)
{
    (void)state;
    enum { M = 211, K = 9, NB = 5 };
    static double X[M * K], XB[M * K], Y[NB * M], y1[M];
    uint64_t st = 11u;
    for (size_t i = 0; i < M * K; i++)
        X[i] = ref_unit(&st);
    for (size_t i = 0; i < NB * M; i++)
        Y[i] = ref_unit(&st);
    memcpy(XB, X, sizeof X);
    static double R[M * K];
    memcpy(R, X, sizeof X);
    assert_int_equal(lw_ols_qr_qtm(R, M, K, Y + 0, 0, NULL, 0), LW_OK);
    static double Yc[NB * M];
    memcpy(Yc, Y, sizeof Y);
    assert_int_equal(lw_ols_qr_qtm(XB, M, K, Yc, NB, NULL, 0), LW_OK);
    assert_memory_equal(XB, R, sizeof R);
    for (size_t c = 0; c < NB; c++) {
        double Xc[M * K];
        memcpy(Xc, X, sizeof X);
        memcpy(y1, Y + c * M, sizeof y1);
        assert_int_equal(lw_ols_qr_qty(Xc, M, K, y1, NULL, 0), LW_OK);
        assert_memory_equal(Xc, R, sizeof R);
        assert_memory_equal(y1, Yc + c * M, sizeof y1);
    }
}

/* The reflector-by-reflector Householder QR that lw_ols_qr_qtm must reproduce bit for
 * bit (issue 17: the kernel is left-looking, four columns at a time, with the axpy of
 * one reflector and the dot of the next in one pass): reflector j as
 * gsl_linalg_householder_transform makes it, applied to every later column in turn;
 * each dot over rows >= j + 1 summed as the kernel's four lanes are (a scalar head up
 * to a row that is a multiple of 4, then lane t % 4, then head + ((l0 + l1) +
 * (l2 + l3))).  C: column-major, stride mp = m rounded up to 4, zero padding. */
static double lane_dot(const double *a, const double *b, size_t from, size_t mp)
{
    double head = 0.0, l[4] = {0.0, 0.0, 0.0, 0.0};
    size_t t = from;
    for (; t % 4 != 0 && t < mp; t++)
        head += a[t] * b[t];
    for (; t < mp; t++)
        l[t % 4] += a[t] * b[t];
    return head + ((l[0] + l[1]) + (l[2] + l[3]));
}

static void ref_qr_columns(double *C, size_t m, size_t k, size_t nt, size_t mp)
{
    for (size_t j = 0; j < k; j++) {
        double *v = C + j * mp;
        const double xn2 = lane_dot(v, v, j + 1, mp);
        if (!(xn2 > 0.0) || j + 1 >= m)
            continue;
        const double alpha = v[j];
        const double beta = -(alpha >= 0.0 ? 1.0 : -1.0) * hypot(alpha, sqrt(xn2));
        const double tau = (beta - alpha) / beta, sc = alpha - beta;
        for (size_t t = j + 1; t < m; t++)
            v[t] = fabs(sc) > DBL_MIN ? v[t] * (1.0 / sc)
                                      : v[t] * (DBL_EPSILON / sc) * (1.0 / DBL_EPSILON);
        v[j] = beta;
        for (size_t l = j + 1; l < nt; l++) {
            double *a = C + l * mp;
            const double w = tau * (a[j] + lane_dot(v, a, j + 1, mp));
            a[j] -= w;
            for (size_t t = j + 1; t < mp; t++)
                a[t] -= w * v[t];
        }
    }
}

/* lw_ols_qr_qtm against ref_qr_columns bit for bit (R and every right-hand side), and
 * lw_ols_qr_qtm_upper against lw_ols_qr_qtm (rows below R left as they were), on
 * random shapes: row counts of every residue mod 4, 1..14 design columns, 0..10
 * right-hand sides, and designs with a zero column, a column already triangular
 * (tau = 0: that reflector is skipped) and a repeated column. */
static void test_qr_qtm_equals_reflector_loop(void **state)
{
    (void)state;
    uint64_t st = 17u;
    for (size_t rep = 0; rep < 240; rep++) {
        const size_t m = 3 + rep % 97 + (rep % 11 == 0 ? 900 : 0);
        size_t k = 1 + rep % 14;
        if (k >= m)
            k = m - 1;
        const size_t nb = rep % 11, nt = k + nb, mp = (m + 3) / 4 * 4;
        double *C = calloc(mp * nt, sizeof *C), *X = malloc(m * k * sizeof *X),
               *Y = malloc((nb + 1) * m * sizeof *Y);
        assert_non_null(C);
        assert_non_null(X);
        assert_non_null(Y);
        for (size_t c = 0; c < nt; c++)
            for (size_t t = 0; t < m; t++)
                C[c * mp + t] = ref_unit(&st) * (c % 3 == 0 ? 1000.0 : 1.0);
        if (rep % 4 == 1 && k > 2)
            memset(C + mp, 0, mp * sizeof *C); /* zero column */
        if (rep % 4 == 2 && k > 3)
            for (size_t t = 0; t < m; t++)
                C[2 * mp + t] = t < 2 ? ref_unit(&st) : 0.0; /* nothing below row 2 */
        if (rep % 4 == 3 && k > 4)
            memcpy(C + 3 * mp, C + mp, mp * sizeof *C); /* dependent */
        for (size_t t = 0; t < m; t++)
            for (size_t j = 0; j < k; j++)
                X[t * k + j] = C[j * mp + t];
        for (size_t c = 0; c < nb; c++)
            memcpy(Y + c * m, C + (k + c) * mp, m * sizeof *Y);
        ref_qr_columns(C, m, k, nt, mp);
        /* lw_ols_qr_qtm_upper on copies: the same R and right-hand sides, rows below R kept */
        double *Xu = malloc(m * k * sizeof *Xu), *Yu = malloc((nb + 1) * m * sizeof *Yu);
        assert_non_null(Xu);
        assert_non_null(Yu);
        memcpy(Xu, X, m * k * sizeof *X);
        memcpy(Yu, Y, nb * m * sizeof *Y);
        assert_int_equal(lw_ols_qr_qtm_upper(Xu, m, k, Yu, nb, NULL, 0), LW_OK);
        for (size_t t = k; t < m; t++)
            if (memcmp(Xu + t * k, X + t * k, k * sizeof *X) != 0)
                fail_msg("m %zu k %zu: qtm_upper changed row %zu below R", m, k, t);
        assert_int_equal(lw_ols_qr_qtm(X, m, k, Y, nb, NULL, 0), LW_OK);
        if (memcmp(Xu, X, k * k * sizeof *X) != 0 || memcmp(Yu, Y, nb * m * sizeof *Y) != 0)
            fail_msg("m %zu k %zu nb %zu: qtm_upper's R or Q'Y differs from qtm's", m, k, nb);
        free(Xu);
        free(Yu);
        for (size_t t = 0; t < m; t++)
            for (size_t j = 0; j < k; j++) {
                const double want = t <= j ? C[j * mp + t] : 0.0;
                if (memcmp(&X[t * k + j], &want, sizeof want) != 0)
                    fail_msg("m %zu k %zu nb %zu: R[%zu][%zu] %.17g want %.17g", m, k, nb, t, j,
                             X[t * k + j], want);
            }
        for (size_t c = 0; c < nb; c++)
            if (memcmp(Y + c * m, C + (k + c) * mp, m * sizeof *Y) != 0)
                fail_msg("m %zu k %zu nb %zu: right-hand side %zu differs", m, k, nb, c);
        free(C);
        free(X);
        free(Y);
    }
}

/* lw_qrpt_decomp against gsl_linalg_QRPT_decomp bit for bit (factor, tau, permutation,
 * signum, norms): 300 random shapes (M = N + 1 .. 400 rows, N = 1 .. 23 columns, a row
 * stride wider than N) with columns of very different scales (the pivoting reorders them),
 * a zero column (tau 0), a repeated column and a nearly collinear one (their norm downdates
 * cancel, so dnrm2 recomputes them). */
static void test_qrpt_equals_gsl(void **state)
{
    (void)state;
    uint64_t seed = 777;
    for (int round = 0; round < 300; round++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        const size_t N = 1 + (size_t)((seed >> 33) % 23);
        const size_t M = N + 1 + (size_t)((seed >> 13) % 400), tda = N + 3;
        double *A = malloc(M * tda * sizeof(double)), *G = malloc(M * tda * sizeof(double));
        assert_non_null(A);
        assert_non_null(G);
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < tda; j++) {
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                const double u = (double)(seed >> 11) / 9007199254740992.0 - 0.5;
                A[i * tda + j] = u * pow(10.0, (double)(j % 5) - 2.0);
            }
        for (size_t i = 0; i < M; i++) {
            if (N > 3 && round % 4 == 1)
                A[i * tda + 2] = 0.0;
            if (N > 4 && round % 4 == 2)
                A[i * tda + 4] = A[i * tda + 1];
            if (N > 5 && round % 4 == 3)
                A[i * tda + 5] = A[i * tda + 0] * 3.0 + 1e-9 * A[i * tda + 3];
        }
        memcpy(G, A, M * tda * sizeof(double));
        const size_t K = M < N ? M : N;
        gsl_matrix_view Av = gsl_matrix_view_array_with_tda(A, M, N, tda);
        gsl_matrix_view Gv = gsl_matrix_view_array_with_tda(G, M, N, tda);
        gsl_vector *ta = gsl_vector_alloc(K), *tg = gsl_vector_alloc(K);
        gsl_vector *na = gsl_vector_alloc(N), *ng = gsl_vector_alloc(N);
        gsl_permutation *pa = gsl_permutation_alloc(N), *pg = gsl_permutation_alloc(N);
        int sa = 0, sg = 0;
        assert_int_equal(lw_qrpt_decomp(&Av.matrix, ta, pa, &sa, na), GSL_SUCCESS);
        assert_int_equal(gsl_linalg_QRPT_decomp(&Gv.matrix, tg, pg, &sg, ng), GSL_SUCCESS);
        assert_int_equal(sa, sg);
        assert_memory_equal(pa->data, pg->data, N * sizeof(size_t));
        assert_memory_equal(ta->data, tg->data, K * sizeof(double));
        assert_memory_equal(na->data, ng->data, N * sizeof(double));
        for (size_t i = 0; i < M; i++)
            if (memcmp(A + i * tda, G + i * tda, N * sizeof(double)) != 0)
                fail_msg("round %d (%zu x %zu): row %zu differs from GSL", round, M, N, i);
        gsl_permutation_free(pg);
        gsl_permutation_free(pa);
        gsl_vector_free(ng);
        gsl_vector_free(na);
        gsl_vector_free(tg);
        gsl_vector_free(ta);
        free(G);
        free(A);
    }
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_statsmodels),
        cmocka_unit_test(test_degenerate),
        cmocka_unit_test(test_no_constant),
        cmocka_unit_test(test_qr_qty_equals_gsl),
        cmocka_unit_test(test_qr_qtm_equals_qty),
        cmocka_unit_test(test_qr_qtm_equals_reflector_loop),
        cmocka_unit_test(test_qrpt_equals_gsl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
