/*
 * test_analyze.c - the analysis bundle.
 *
 * Ground truth (docs/SIMULATOR.md): the simulator's exact per-day truth
 * (lw_sim_truth_csv_row) for the default model, 365 days, is read through
 * the CSV reader and analysed with the defaults (transform auto, seasonal
 * weekly, lags 1..14, the Simes lag search).  Expected: the three inputs and NSM -> revenue
 * significant one way only with the lead (lagged regression) at the true lag
 * and elasticities near the model's; the distractor not `leads`; the
 * follower `reverse`.  With --break-day 200 the playlists edge must lose
 * significant sub-windows, and a break (when the break module exists) must
 * be found near day 200.  A `leads` verdict additionally needs the
 * out-of-sample check: while that module is missing the verdict must be
 * `inconclusive` and the reasons must say the check could not run.
 *
 * Exactness: the normal-equation lag test (stability windows) against
 * lw_granger_scan, the HAC shortcuts against lw_ols_fit's full HAC matrix,
 * and the q-values against lw_bh_qvalues over the documented family.
 * Degenerate inputs: constant, all-missing, Inf, too short, gaps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/analyze.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/store/session.h"
#include "leadwatch/stats/granger.h"
#include "leadwatch/stats/multitest.h"
#include "leadwatch/stats/ols.h"
#include "leadwatch/model/simulate.h"
#include "testutil.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- helpers */

static uint64_t rng = 0x2545F4914F6CDD1Du;
static double gauss(void)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        u[i] = ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

/* The simulator's truth CSV for `days` days (break_day -1 = none). */
static char *sim_truth_csv(int days, int break_day)
{
    lw_sim_opts_t o;
    lw_sim_opts_default(&o);
    o.days = days;
    o.break_day = break_day;
    char err[256];
    lw_sim_t *sim = lw_sim_new(&o, err, sizeof err);
    if (!sim)
        fail_msg("sim: %s", err);
    char line[LW_SIM_MAX_LINE];
    size_t len;
    do {
        if (lw_sim_next(sim, line, sizeof line, &len, NULL, err, sizeof err) != LW_OK)
            fail_msg("sim: %s", err);
    } while (len > 0);
    size_t cap = (size_t)(days + 1) * 256, off = 0;
    char *csv = malloc(cap);
    assert_non_null(csv);
    assert_int_equal(lw_sim_truth_csv_header(csv, cap, &len), LW_OK);
    off = len;
    for (int d = 0; d < days; d++) {
        assert_int_equal(lw_sim_truth_csv_row(sim, d, csv + off, cap - off, &len), LW_OK);
        off += len;
    }
    lw_sim_destroy(sim);
    return csv;
}

typedef struct {
    lw_series_csv_t csv;
    lw_session_source_t src;
    lw_analysis_t *a;
} run_t;

static void run_csv(run_t *r, const char *text, const lw_analyze_opts_t *o)
{
    char err[512];
    if (lw_series_csv_parse(text, strlen(text), "truth.csv", &r->csv, err, sizeof err) != LW_OK)
        fail_msg("csv: %s", err);
    if (lw_session_source_from_csv(&r->src, &r->csv, "listening_minutes", "revenue",
                                   "active_users,sessions_per_user,playlists_created,searches,"
                                   "track_shared",
                                   err, sizeof err) != LW_OK)
        fail_msg("source: %s", err);
    if (lw_analyze_tree(o, &r->src.in, &r->a, err, sizeof err) != LW_OK)
        fail_msg("analyze: %s", err);
}

static void run_free(run_t *r)
{
    lw_analysis_free(r->a);
    lw_session_source_release(&r->src);
    lw_series_csv_release(&r->csv);
}

static const lw_edge_result_t *edge(const lw_analysis_t *a, const char *from, const char *to)
{
    for (size_t i = 0; i < a->nedges; i++)
        if (strcmp(a->edges[i].from, from) == 0 && strcmp(a->edges[i].to, to) == 0)
            return &a->edges[i];
    fail_msg("no edge %s -> %s", from, to);
    return NULL;
}

static bool has_reason(const lw_edge_result_t *e, const char *needle)
{
    for (size_t i = 0; i < e->nreasons; i++)
        if (strstr(e->reasons[i], needle))
            return true;
    return false;
}

static void dump(const lw_edge_result_t *e)
{
    printf("    %s -> %s: %s lag %zu lead %zu q %.3g q_rev %.3g\n", e->from, e->to,
           lw_verdict_name(e->verdict), e->lag, e->lead, e->q, e->q_reverse);
    for (size_t i = 0; i < e->nreasons; i++)
        printf("      - %s\n", e->reasons[i]);
}

/* ---------------------------------------------------------------- ground truth */

static char *truth_default; /* 365 days, no break; built once */

static int setup_truth(void **state)
{
    (void)state;
    truth_default = sim_truth_csv(365, -1);
    return truth_default ? 0 : -1;
}

static int teardown_truth(void **state)
{
    (void)state;
    free(truth_default);
    return 0;
}

/* A true lead: x -> y significant after BH, y -> x not, lead and lag right. */
static void check_true_lead(const lw_analysis_t *a, const char *from, const char *to,
                            size_t true_lag, double elasticity, double tol)
{
    const lw_edge_result_t *e = edge(a, from, to);
    if (getenv("LW_TEST_VERBOSE"))
        dump(e);
    const double alpha = a->opts.alpha;
    assert_true(e->analysed);
    assert_true(e->q_defined && e->q < alpha);
    assert_true(!e->q_reverse_defined || e->q_reverse >= alpha);
    assert_int_equal(e->lead, true_lag);       /* lagged regression: exact */
    assert_true(e->lag >= true_lag);           /* lag search: the true lag (or above) */
    assert_true(e->stab_status == LW_STEP_OK); /* rolling windows ran */
    assert_true(e->stable);
    assert_true(e->elasticity_defined);
    if (fabs(e->elasticity - elasticity) > tol)
        fail_msg("%s -> %s: elasticity %g, model %g (tol %g)", from, to, e->elasticity, elasticity,
                 tol);
    assert_int_equal(e->ccf_status, LW_STEP_OK); /* prewhitened CCF: lead exact too */
    assert_int_equal(e->ccf.lead, true_lag);
    assert_true(e->ccf.lead_significant);
    assert_int_equal(e->sens_status, LW_STEP_OK);
    assert_true(e->sens.mde_rel > 0.0 && e->sens.mde_rel < 1.0);
    assert_true(has_reason(e, "experiment detects a change of"));
    if (e->oos_status == LW_STEP_OK) {
        assert_true(e->oos_skill);
        assert_true(e->oos.rel_rmse_change > 0.0);
        assert_int_equal(e->verdict, LW_VERDICT_LEADS);
    } else {
        /* the check for `leads` that cannot run must hold the verdict back, and say so */
        assert_int_equal(e->verdict, LW_VERDICT_INCONCLUSIVE);
        assert_true(has_reason(e, "out-of-sample skill could not be checked"));
    }
}

static void test_ground_truth(void **state)
{
    (void)state;
    lw_analyze_opts_t o;
    lw_analyze_opts_default(&o);
    run_t r = {0};
    run_csv(&r, truth_default, &o);
    const lw_analysis_t *a = r.a;
    assert_int_equal(a->nedges, 6);
    assert_int_equal(a->season_period, 7); /* weekly on daily buckets (dates in the CSV) */
    assert_int_equal(a->bucket_ms, 86400000);
    assert_int_equal(a->bh_family, 12);

    /* sessions_per_user has a floor at 1 and Poisson noise: attenuated */
    check_true_lead(a, "active_users", "listening_minutes", 1, 1.0, 0.3);
    check_true_lead(a, "sessions_per_user", "listening_minutes", 2, 1.0, 0.5);
    check_true_lead(a, "playlists_created", "listening_minutes", 3, 0.9, 0.2);
    check_true_lead(a, "listening_minutes", "revenue", 5, 1.0, 0.15);

    const lw_edge_result_t *d = edge(a, "searches", "listening_minutes");
    if (getenv("LW_TEST_VERBOSE"))
        dump(d);
    assert_int_not_equal(d->verdict, LW_VERDICT_LEADS);
    assert_true(d->q >= o.alpha);

    const lw_edge_result_t *f = edge(a, "track_shared", "listening_minutes");
    if (getenv("LW_TEST_VERBOSE"))
        dump(f);
    assert_int_equal(f->verdict, LW_VERDICT_REVERSE);
    assert_int_equal(f->lag_reverse, 2); /* shares follow the NSM by 2 days */

    /* the preparation chose logs (all positive) and no differencing (stationary) */
    const lw_edge_result_t *e = edge(a, "active_users", "listening_minutes");
    assert_true(e->prep_from.log && !e->prep_from.diff && e->prep_from.adf_run);
    assert_true(e->prep_from.adf.pvalue < 0.05);
    assert_int_equal(e->rows_used, 365);
    assert_int_equal(e->min_nobs, 3 * 14 + 2);
    run_free(&r);
}

static void test_break(void **state)
{
    (void)state;
    char *text = sim_truth_csv(365, 200);
    lw_analyze_opts_t o;
    lw_analyze_opts_default(&o);
    run_t rb = {0}, r0 = {0};
    run_csv(&rb, text, &o);
    run_csv(&r0, truth_default, &o);
    const lw_edge_result_t *eb = edge(rb.a, "playlists_created", "listening_minutes");
    const lw_edge_result_t *e0 = edge(r0.a, "playlists_created", "listening_minutes");
    if (getenv("LW_TEST_VERBOSE")) {
        dump(eb);
        printf("      windows significant: break %zu/%zu, none %zu/%zu\n", eb->stab_nsig,
               eb->stab_nwindows, e0->stab_nsig, e0->stab_nwindows);
    }
    assert_int_equal(eb->stab_status, LW_STEP_OK);
    /* windows after day 200 lose the relationship */
    assert_true(eb->stab_frac_sig < e0->stab_frac_sig);
    assert_true(eb->stab_nwindows - eb->stab_nsig >= 2);
    /* the sup-F test finds the break near day 200 (SIMULATOR.md: 197-221 over seeds) */
    assert_int_equal(eb->break_status, LW_STEP_OK);
    assert_true(eb->break_found);
    if (eb->break_row < 185 || eb->break_row > 225)
        fail_msg("break found at row %zu (%s), expected near 200", eb->break_row,
                 rb.csv.labels[eb->break_row]);
    assert_true(has_reason(eb, "the relationship changed around 2024-07"));
    /* and not without the break */
    assert_int_equal(e0->break_status, LW_STEP_OK);
    assert_false(e0->break_found);
    run_free(&rb);
    run_free(&r0);
    free(text);
}

/* ---------------------------------------------------------------- synthetic */

enum { SN = 500 };

/* x AR(1), y_t = 0.8 x_{t-lag} + 0.3 y_{t-1} + noise; plus a pure-noise series. */
static void make_pair(double *vals, size_t n, size_t lag)
{
    double x[SN + 50] = {0}, y[SN + 50] = {0};
    for (size_t t = 1; t < n + 50; t++) {
        x[t] = 0.6 * x[t - 1] + gauss();
        y[t] = (t >= lag ? 0.8 * x[t - lag] : 0.0) + 0.3 * y[t - 1] + 0.5 * gauss();
    }
    for (size_t t = 0; t < n; t++) {
        vals[t * 3 + 0] = 50.0 + x[t + 50];
        vals[t * 3 + 1] = 80.0 + y[t + 50];
        vals[t * 3 + 2] = gauss();
    }
}

static const char *const SNAMES[3] = {"x", "y", "z"};

static lw_analyze_input_t synth_input(const double *vals, size_t n, const size_t *inputs,
                                      size_t ninputs)
{
    lw_analyze_input_t in = {0};
    in.nrows = n;
    in.nseries = 3;
    in.names = SNAMES;
    in.values = vals;
    in.nsm = 1;
    in.kpi = -1;
    in.ninputs = ninputs;
    in.inputs = inputs;
    return in;
}

static void plain_opts(lw_analyze_opts_t *o, size_t K)
{
    lw_analyze_opts_default(o);
    o->max_lag = K;
    o->transform = LW_TRANSFORM_NONE;
    o->seasonal = LW_SEASONAL_NONE;
}

static void test_synthetic_lead_and_exactness(void **state)
{
    (void)state;
    static double vals[SN * 3];
    make_pair(vals, SN, 4);
    const size_t inputs[2] = {0, 2};
    lw_analyze_input_t in = synth_input(vals, SN, inputs, 2);
    lw_analyze_opts_t o;
    plain_opts(&o, 8);
    lw_analysis_t *a = NULL;
    char err[256];
    assert_int_equal(lw_analyze_tree(&o, &in, &a, err, sizeof err), LW_OK);
    const lw_edge_result_t *e = &a->edges[0];
    assert_int_equal(e->lead, 4);
    assert_true(e->q < 1e-10);
    assert_false(e->prep_from.log); /* transform none */
    assert_string_equal(e->role, "input");

    /* Granger records are lw_granger_scan's, bit for bit */
    double x[SN], y[SN];
    for (size_t t = 0; t < SN; t++) {
        x[t] = vals[t * 3];
        y[t] = vals[t * 3 + 1];
    }
    lw_granger_t *g;
    lw_granger_lag_t recs[8];
    assert_int_equal(lw_granger_new(SN, 8, &g, err, sizeof err), LW_OK);
    assert_int_equal(lw_granger_scan(g, y, x, SN, 8, recs, err, sizeof err), LW_OK);
    for (size_t p = 0; p < 8; p++) {
        assert_double_equal(e->granger[p].f, recs[p].f, 0);
        assert_double_equal(e->granger[p].lr_p, recs[p].lr_p, 0);
    }

    /* the normal-equation lag test agrees with lw_granger_scan */
    for (size_t p = 1; p <= 8; p++) {
        double F, pv, sum;
        assert_int_equal(lw_analyze_lag_test(x, y, SN, p, &F, &pv, &sum, err, sizeof err), LW_OK);
        assert_double_equal(F, recs[p - 1].f, 1e-9 * recs[p - 1].f);
        assert_double_equal(pv, recs[p - 1].f_p, 1e-9 * recs[p - 1].f_p + 1e-300);
        if (p >= 4)
            assert_true(sum > 0.5); /* the true effect 0.8 (through y's own lag) */
    }
    /* and on short windows, as the stability step uses it */
    for (size_t s = 0; s + 100 <= SN; s += 100) {
        lw_granger_lag_t wr[5];
        double F, pv, sum;
        assert_int_equal(lw_granger_scan(g, y + s, x + s, 100, 5, wr, err, sizeof err), LW_OK);
        assert_int_equal(lw_analyze_lag_test(x + s, y + s, 100, 5, &F, &pv, &sum, err, sizeof err),
                         LW_OK);
        assert_double_equal(F, wr[4].f, 1e-9 * wr[4].f);
    }
    lw_granger_destroy(g);

    /* the lagged regressions' HAC se = lw_ols_fit's full HAC (rows t = K..n-1) */
    const size_t K = 8, m = SN - K;
    lw_ols_t *ols;
    assert_int_equal(lw_ols_new(SN, 2 * K + 1, &ols, err, sizeof err), LW_OK);
    double *X = malloc(SN * (2 * K + 1) * sizeof(double)), *yy = malloc(SN * sizeof(double));
    assert_non_null(X);
    assert_non_null(yy);

    /* the lag search (session 6), refitted with lw_ols_fit on the common sample t = K..n-1:
     * the own order minimises the AR models' AIC; each single-lag p is the two-sided t test
     * of x_{t-k} (F(1, .) = t^2); p = Simes over the K tests, lag = the k of the smallest p */
    size_t q_ref = 0;
    double aic_best = 0.0;
    for (size_t q = 1; q <= K; q++) {
        for (size_t t = K; t < SN; t++) {
            X[(t - K) * (q + 1)] = 1.0;
            for (size_t j = 1; j <= q; j++)
                X[(t - K) * (q + 1) + j] = y[t - j];
            yy[t - K] = y[t];
        }
        lw_ols_result_t r;
        assert_int_equal(lw_ols_fit(ols, X, yy, m, q + 1, 0, 0, &r, err, sizeof err), LW_OK);
        assert_double_equal(e->ic_common[q - 1], r.aic, 1e-9 * fabs(r.aic));
        if (q_ref == 0 || r.aic < aic_best) {
            q_ref = q;
            aic_best = r.aic;
        }
    }
    assert_int_equal(e->own_lag, q_ref);
    double simes = 1.0;
    size_t best_lag = 0;
    for (size_t k = 1; k <= K; k++) {
        const size_t kk = q_ref + 2;
        for (size_t t = K; t < SN; t++) {
            double *row = X + (t - K) * kk;
            row[0] = 1.0;
            for (size_t j = 1; j <= q_ref; j++)
                row[j] = y[t - j];
            row[q_ref + 1] = x[t - k];
            yy[t - K] = y[t];
        }
        lw_ols_result_t r;
        assert_int_equal(lw_ols_fit(ols, X, yy, m, kk, LW_OLS_COV, 0, &r, err, sizeof err), LW_OK);
        const double tv = r.params[kk - 1] / r.bse[kk - 1];
        const double pt = 2.0 * gsl_cdf_tdist_Q(fabs(tv), r.df_resid);
        assert_double_equal(e->lag_p[k - 1], pt, 1e-8 * pt + 1e-300);
        /* Simes: rank of p_k among the K tests (ties count), K p_k / rank */
        size_t rank = 0;
        for (size_t j = 0; j < K; j++)
            rank += e->lag_p[j] <= e->lag_p[k - 1];
        const double sv = (double)K * e->lag_p[k - 1] / (double)rank;
        simes = sv < simes ? sv : simes;
        if (best_lag == 0 || e->lag_p[k - 1] < e->lag_p[best_lag - 1])
            best_lag = k;
    }
    assert_double_equal(e->p, simes, 1e-12 * simes);
    assert_int_equal(e->lag, best_lag);
    assert_int_equal(e->lag, 4); /* the true lag */
    for (size_t k = 0; k <= K; k++) {
        for (size_t t = K; t < SN; t++) {
            X[(t - K) * 2] = 1.0;
            X[(t - K) * 2 + 1] = x[t - k];
            yy[t - K] = y[t];
        }
        lw_ols_result_t r;
        assert_int_equal(
            lw_ols_fit(ols, X, yy, m, 2, LW_OLS_HAC, LW_OLS_HAC_DEFAULT_LAGS, &r, err, sizeof err),
            LW_OK);
        const lw_lagreg_t *L = &e->lagreg[k];
        assert_true(L->ok);
        assert_double_equal(L->coef, r.params[1], 1e-10 * fabs(r.params[1]));
        assert_double_equal(L->se_hac, r.bse_hac[1], 1e-9 * r.bse_hac[1]);
        assert_double_equal(L->r2, r.rsquared, 1e-10);
        assert_int_equal(e->hac_lags, r.hac_lags);
    }
    /* the distributed lag's summed-coefficient HAC se = 1' V_HAC 1 */
    const size_t P = e->dl_lags, mp = SN - P;
    assert_true(P >= 4);
    for (size_t t = P; t < SN; t++) {
        X[(t - P) * (P + 1)] = 1.0;
        for (size_t j = 1; j <= P; j++)
            X[(t - P) * (P + 1) + j] = x[t - j];
        yy[t - P] = y[t];
    }
    lw_ols_result_t r;
    assert_int_equal(
        lw_ols_fit(ols, X, yy, mp, P + 1, LW_OLS_HAC, LW_OLS_HAC_DEFAULT_LAGS, &r, err, sizeof err),
        LW_OK);
    double s = 0.0, v = 0.0;
    for (size_t i = 1; i <= P; i++) {
        s += r.params[i];
        for (size_t j = 1; j <= P; j++)
            v += r.cov_hac[i * (P + 1) + j];
    }
    assert_double_equal(e->dl_sum, s, 1e-10 * fabs(s));
    assert_double_equal(e->dl_sum_se_hac, sqrt(v), 1e-8 * sqrt(v));
    /* levels: elasticity at the means */
    double xm = 0.0, ym = 0.0;
    for (size_t t = 0; t < SN; t++) {
        xm += x[t];
        ym += y[t];
    }
    assert_double_equal(e->elasticity, s * xm / ym, 1e-9 * fabs(s * xm / ym));
    free(X);
    free(yy);
    lw_ols_destroy(ols);

    /* q: BH over the primary p of both edges, both directions */
    double p[4];
    for (size_t i = 0; i < 2; i++) {
        p[2 * i] = a->edges[i].p;
        p[2 * i + 1] = a->edges[i].p_reverse;
    }
    double q[4];
    bool qd[4];
    assert_int_equal(lw_bh_qvalues(p, NULL, 4, q, qd, NULL, err, sizeof err), LW_OK);
    for (size_t i = 0; i < 2; i++) {
        assert_double_equal(a->edges[i].q, q[2 * i], 0);
        assert_double_equal(a->edges[i].q_reverse, q[2 * i + 1], 0);
    }
    assert_int_equal(a->bh_family, 4);
    /* the noise input is not a lead */
    assert_int_not_equal(a->edges[1].verdict, LW_VERDICT_LEADS);
    lw_analysis_free(a);
}

/* ---------------------------------------------------------------- degenerate */

typedef struct {
    const char *name;
    void (*fill)(double *vals, size_t n); /* overwrites column 0 (x) */
    size_t n;
    const char *reason; /* substring of the first reason */
} degen_t;

static void fill_const(double *v, size_t n)
{
    for (size_t t = 0; t < n; t++)
        v[t * 3] = 7.0;
}
static void fill_missing(double *v, size_t n)
{
    for (size_t t = 0; t < n; t++)
        v[t * 3] = (double)NAN;
}
static void fill_inf(double *v, size_t n)
{
    for (size_t t = 0; t < n; t++)
        v[t * 3] = (double)INFINITY;
}
static void fill_gaps(double *v, size_t n)
{
    /* issue 11: gaps of up to max_gap (3) are interpolated, so these are 4 long, every
       10 rows: no row has all 14 lags defined */
    for (size_t t = 0; t < n; t++)
        if (t % 10 < 4)
            v[t * 3] = (double)NAN;
}
static void fill_nothing(double *v, size_t n)
{
    (void)v;
    (void)n;
}

static void test_degenerate(void **state)
{
    (void)state;
    static const degen_t cases[] = {
        {"constant", fill_const, 300, "x is constant over the"},
        {"all missing", fill_missing, 300, "x: no values (all missing)"},
        {"all infinite", fill_inf, 300, "x: no finite values"},
        {"gaps", fill_gaps, 300, "lags 1..14 need at least 3*14+2 = 44"},
        {"too short", fill_nothing, 40, "need at least 3*14+2 = 44"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        static double vals[SN * 3];
        make_pair(vals, SN, 2);
        cases[c].fill(vals, cases[c].n);
        const size_t inputs[1] = {0};
        lw_analyze_input_t in = synth_input(vals, cases[c].n, inputs, 1);
        lw_analyze_opts_t o;
        lw_analyze_opts_default(&o);
        o.seasonal = LW_SEASONAL_NONE;
        lw_analysis_t *a = NULL;
        char err[256];
        assert_int_equal(lw_analyze_tree(&o, &in, &a, err, sizeof err), LW_OK);
        const lw_edge_result_t *e = &a->edges[0];
        if (e->verdict != LW_VERDICT_INSUFFICIENT_DATA || e->nreasons == 0 ||
            !strstr(e->reasons[0], cases[c].reason))
            fail_msg("%s: verdict %s, reason '%s'", cases[c].name, lw_verdict_name(e->verdict),
                     e->nreasons ? e->reasons[0] : "");
        assert_false(e->q_defined);
        assert_int_equal(e->min_nobs, 44);
        lw_analysis_free(a);
    }
}

/*
 * Issue 11 replaced the longest-run policy (which this test used to pin down:
 * row_first 101 after one missing value at row 100): a short gap is
 * interpolated and counted, and a long gap costs only the rows whose lags
 * reach into it.
 */
static void test_gap_interpolated_or_skipped(void **state)
{
    (void)state;
    static double vals[SN * 3];
    make_pair(vals, SN, 3);
    vals[100 * 3 + 1] = (double)NAN; /* one missing NSM value: interpolated */
    const size_t inputs[1] = {0};
    lw_analyze_input_t in = synth_input(vals, SN, inputs, 1);
    lw_analyze_opts_t o;
    plain_opts(&o, 6);
    lw_analysis_t *a = NULL;
    char err[256];
    assert_int_equal(lw_analyze_tree(&o, &in, &a, err, sizeof err), LW_OK);
    const lw_edge_result_t *e = &a->edges[0];
    assert_int_equal(e->row_first, 0);
    assert_int_equal(e->rows_used, SN);
    assert_int_equal(e->rows_incomplete, 0);
    assert_int_equal(e->prep_to.n_interpolated, 1);
    assert_int_equal(e->lead, 3);
    lw_analysis_free(a);

    /* ten missing NSM values (rows 100..109): not filled; every other row is used */
    make_pair(vals, SN, 3);
    for (size_t t = 100; t < 110; t++)
        vals[t * 3 + 1] = (double)NAN;
    assert_int_equal(lw_analyze_tree(&o, &in, &a, err, sizeof err), LW_OK);
    e = &a->edges[0];
    assert_int_equal(e->prep_to.n_interpolated, 0);
    assert_int_equal(e->rows_incomplete, 10);
    assert_int_equal(e->rows_complete, SN - 10);
    assert_true(e->analysed);
    for (size_t p = 1; p <= 6; p++) {
        /* rows t >= p with y_t and lags 1..p defined: not t in 100..109+p */
        assert_int_equal(e->granger[p - 1].nobs, SN - p - (10 + p));
    }
    assert_true(e->rows_tested > SN - 110); /* more than the longest run after the gap */
    assert_true(e->q < 1e-10);
    assert_int_equal(e->verdict, LW_VERDICT_LEADS);
    lw_analysis_free(a);
}

/* ---------------------------------------------------------------- options and input */

static void test_options(void **state)
{
    (void)state;
    lw_analyze_opts_t o;
    char err[256];
    lw_analyze_opts_default(&o);
    assert_int_equal(lw_analyze_opts_check(&o, err, sizeof err), LW_OK);
    for (int c = 0; c < 9; c++) {
        lw_analyze_opts_default(&o);
        const char *key = "";
        switch (c) {
        case 0: o.max_lag = 0, key = "max_lag"; break;
        case 1: o.max_lag = LW_ANALYZE_MAX_LAG + 1, key = "max_lag"; break;
        case 2: o.alpha = 0.0, key = "alpha"; break;
        case 3: o.alpha = 0.6, key = "alpha"; break;
        case 4: o.window = 3, key = "window"; break;
        case 5: o.seasonal = LW_SEASONAL_PERIOD, o.seasonal_period = 1, key = "seasonal"; break;
        case 6: o.mde_threshold = 0.0, key = "mde_threshold"; break;
        case 7: o.mde_power = 1.0, key = "mde_power"; break;
        case 8: o.stable_min_sign = 0.5, key = "stable_min_sign"; break;
        }
        assert_int_equal(lw_analyze_opts_check(&o, err, sizeof err), LW_ERR_CONFIG);
        if (strncmp(err, key, strlen(key)) != 0)
            fail_msg("case %d: '%s' does not start with %s", c, err, key);
    }

    lw_seasonal_t k;
    size_t per;
    assert_true(lw_seasonal_parse("weekly", &k, &per) && k == LW_SEASONAL_WEEKLY);
    assert_true(lw_seasonal_parse("none", &k, &per) && k == LW_SEASONAL_NONE);
    assert_true(lw_seasonal_parse("12", &k, &per) && k == LW_SEASONAL_PERIOD && per == 12);
    assert_false(lw_seasonal_parse("1", &k, &per));
    assert_false(lw_seasonal_parse("-7", &k, &per));
    assert_false(lw_seasonal_parse("7x", &k, &per));
    lw_ic_t ic;
    assert_true(lw_ic_parse("bic", &ic) && ic == LW_IC_BIC);
    assert_false(lw_ic_parse("hqic", &ic));
    assert_string_equal(lw_verdict_name(LW_VERDICT_INSUFFICIENT_DATA), "insufficient_data");

    /* weekly seasonality on weekly buckets is a configuration error */
    static double vals[SN * 3];
    make_pair(vals, SN, 1);
    const size_t inputs[1] = {0};
    lw_analyze_input_t in = synth_input(vals, SN, inputs, 1);
    in.bucket_ms = 7 * 86400000LL;
    lw_analyze_opts_default(&o);
    lw_analysis_t *a = NULL;
    assert_int_equal(lw_analyze_tree(&o, &in, &a, err, sizeof err), LW_ERR_CONFIG);
    assert_null(a);
    assert_non_null(strstr(err, "weekly needs hourly or daily buckets"));
    /* hourly buckets: hour of day */
    in.bucket_ms = 3600000;
    assert_int_equal(lw_analyze_tree(&o, &in, &a, err, sizeof err), LW_OK);
    assert_int_equal(a->season_period, 24);
    lw_analysis_free(a);
    /* an input that is the NSM, and a tree without edges */
    const size_t self[1] = {1};
    in = synth_input(vals, SN, self, 1);
    assert_int_equal(lw_analyze_tree(&o, &in, &a, err, sizeof err), LW_ERR_INVALID);
    in = synth_input(vals, SN, NULL, 0);
    assert_int_equal(lw_analyze_tree(&o, &in, &a, err, sizeof err), LW_ERR_INVALID);
    assert_non_null(strstr(err, "no edges"));
}

/* ---------------------------------------------------------------- issue 11 redesign */

enum { RN = 520 };

/* A daily (or hourly) series table with dated labels: column 0 the input x, 1
 * the NSM y, 2 the driver d; y_t = 0.3 y_{t-1} + b_t x_{t-2} + noise with
 * b_t = bx while t < stop, 0 after. */
typedef struct {
    size_t n;
    double vals[RN * 3];
    char lab[RN][48];
    const char *labels[RN];
} rtable_t;

static const char *const RNAMES[3] = {"x", "y", "d"};

static void rtable_fill2(rtable_t *t, size_t n, double bx, size_t stop, double bafter)
{
    double x[RN + 50] = {0}, y[RN + 50] = {0};
    for (size_t i = 1; i < n + 50; i++) {
        x[i] = 0.5 * x[i - 1] + gauss();
        const size_t r = i >= 50 ? i - 50 : 0;
        const double xl = i >= 2 ? x[i - 2] : 0.0;
        y[i] = 0.3 * y[i - 1] + (i < 50 || r < stop ? bx : bafter) * xl + 0.5 * gauss();
    }
    t->n = n;
    for (size_t i = 0; i < n; i++) {
        t->vals[i * 3 + 0] = 100.0 + 5.0 * x[i + 50];
        t->vals[i * 3 + 1] = 200.0 + 5.0 * y[i + 50];
        t->vals[i * 3 + 2] = 50.0 + gauss();
        const time_t sec = (time_t)(1704067200 + (int64_t)i * 86400); /* 2024-01-01 */
        struct tm tm;
        gmtime_r(&sec, &tm);
        snprintf(t->lab[i], sizeof t->lab[i], "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday);
        t->labels[i] = t->lab[i];
    }
}

static void rtable_fill(rtable_t *t, size_t n, double bx, size_t stop)
{
    rtable_fill2(t, n, bx, stop, 0.0);
}

static lw_analyze_input_t rtable_input(const rtable_t *t, int64_t bucket_ms)
{
    static const size_t inputs[1] = {0};
    lw_analyze_input_t in = {0};
    in.nrows = t->n;
    in.nseries = 3;
    in.names = RNAMES;
    in.values = t->vals;
    in.labels = t->labels;
    in.bucket_ms = bucket_ms;
    in.nsm = 1;
    in.kpi = -1;
    in.ninputs = 1;
    in.inputs = inputs;
    return in;
}

static lw_analysis_t *rtable_run(const rtable_t *t, const lw_analyze_opts_t *o, int64_t bucket_ms)
{
    lw_analysis_t *a = NULL;
    char err[512];
    const lw_analyze_input_t in = rtable_input(t, bucket_ms);
    if (lw_analyze_tree(o, &in, &a, err, sizeof err) != LW_OK)
        fail_msg("analyze: %s", err);
    return a;
}

/* --holidays: the matched rows are missing in both series and counted; a
 * lead with six x2.7 holiday spikes in both series is still found. */
static void test_holidays_given(void **state)
{
    (void)state;
    rng = 0x2545F4914F6CDD1Du;
    static rtable_t t;
    rtable_fill(&t, 365, 0.8, RN);
    static const size_t hol[6] = {0, 45, 120, 185, 250, 358};
    for (size_t h = 0; h < 6; h++) {
        t.vals[hol[h] * 3 + 0] *= 2.7;
        t.vals[hol[h] * 3 + 1] *= 2.7;
    }
    lw_analyze_opts_t o;
    lw_analyze_opts_default(&o);
    o.max_lag = 7;
    o.outlier_mad = 0.0; /* only the calendar may remove them */
    char err[256];
    assert_int_equal(lw_analyze_opts_set_holidays(&o,
                                                  "2024-01-01,2024-02-15,2024-04-30,2024-07-04,"
                                                  "2024-09-07,2024-12-24",
                                                  err, sizeof err),
                     LW_OK);
    lw_analysis_t *a = rtable_run(&t, &o, LW_MS_PER_DAY);
    const lw_edge_result_t *e = &a->edges[0];
    assert_int_equal(a->holiday_rows, 6);
    assert_int_equal(e->prep_from.n_holidays, 6);
    assert_int_equal(e->prep_to.n_holidays, 6);
    assert_int_equal(e->verdict, LW_VERDICT_LEADS);
    assert_int_equal(e->lag, 2);
    lw_analysis_free(a);
    /* without the calendar nothing is counted as a holiday; the default
     * automatic outlier rule (analysis.outlier_mad 5) finds the spikes instead */
    o.nholidays = 0;
    a = rtable_run(&t, &o, LW_MS_PER_DAY);
    assert_int_equal(a->holiday_rows, 0);
    assert_int_equal(a->edges[0].prep_from.n_holidays, 0);
    assert_int_equal(a->edges[0].prep_from.n_outliers, 0);
    lw_analysis_free(a);
    lw_analyze_opts_t d;
    lw_analyze_opts_default(&d);
    o.outlier_mad = d.outlier_mad;
    assert_true(o.outlier_mad > 0.0);
    a = rtable_run(&t, &o, LW_MS_PER_DAY);
    assert_true(a->edges[0].prep_from.n_outliers >= 6);
    assert_true(a->edges[0].prep_to.n_outliers >= 6);
    lw_analysis_free(a);
}

/* tree.controls: a driver d moves x on day t and y on day t + 1, with no
 * x -> y link; without the control x `leads`, with it not.  An unknown
 * control is a configuration error. */
static void test_controls_common_driver(void **state)
{
    (void)state;
    rng = 0x2545F4914F6CDD1Du;
    static rtable_t t;
    rtable_fill(&t, 400, 0.0, RN);
    double d[400];
    for (size_t i = 0; i < t.n; i++) {
        const double g = gauss();
        d[i] = g > 1.3 ? 3.0 + g : 0.3 * gauss(); /* pulses on about 10 % of days */
        t.vals[i * 3 + 2] = 50.0 + 10.0 * d[i];
        t.vals[i * 3 + 0] += 10.0 * d[i];
        if (i >= 1)
            t.vals[i * 3 + 1] += 10.0 * d[i - 1];
    }
    lw_analyze_opts_t o;
    lw_analyze_opts_default(&o);
    o.max_lag = 7;
    lw_analysis_t *a = rtable_run(&t, &o, LW_MS_PER_DAY);
    if (getenv("LW_TEST_VERBOSE"))
        dump(&a->edges[0]);
    assert_int_equal(a->edges[0].verdict, LW_VERDICT_LEADS);
    assert_int_equal(a->edges[0].ncontrols, 0);
    lw_analysis_free(a);
    char err[256];
    assert_int_equal(lw_analyze_opts_set_controls(&o, "d", err, sizeof err), LW_OK);
    a = rtable_run(&t, &o, LW_MS_PER_DAY);
    if (getenv("LW_TEST_VERBOSE"))
        dump(&a->edges[0]);
    assert_int_equal(a->edges[0].ncontrols, 1);
    assert_int_equal(a->edges[0].control_cols[0], 2);
    assert_int_not_equal(a->edges[0].verdict, LW_VERDICT_LEADS);
    assert_true(a->edges[0].p > 0.01);
    lw_analysis_free(a);
    assert_int_equal(lw_analyze_opts_set_controls(&o, "nope", err, sizeof err), LW_OK);
    const lw_analyze_input_t in = rtable_input(&t, LW_MS_PER_DAY);
    a = NULL;
    assert_int_equal(lw_analyze_tree(&o, &in, &a, err, sizeof err), LW_ERR_CONFIG);
    assert_null(a);
    assert_non_null(strstr(err, "nope"));
}

/* Hourly buckets: hour-of-week (168) from 3 weeks of data, hour-of-day (24) below. */
static void test_hourly_season_period(void **state)
{
    (void)state;
    rng = 0x2545F4914F6CDD1Du;
    static rtable_t t;
    rtable_fill(&t, 3 * 168, 0.8, RN);
    lw_analyze_opts_t o;
    lw_analyze_opts_default(&o);
    o.max_lag = 4;
    assert_int_equal(o.seasonal, LW_SEASONAL_WEEKLY);
    lw_analysis_t *a = rtable_run(&t, &o, LW_MS_PER_HOUR);
    assert_int_equal(a->season_period, 168);
    assert_int_equal(a->edges[0].prep_to.season_period, 168);
    lw_analysis_free(a);
    t.n = 3 * 168 - 1;
    a = rtable_run(&t, &o, LW_MS_PER_HOUR);
    assert_int_equal(a->season_period, 24);
    assert_int_equal(a->edges[0].prep_to.season_period, 24);
    lw_analysis_free(a);
}

/* A lag-2 lead that stops completely at row 300 of 450: no_longer_leads, since
 * near 300, the old lag 2; the same data without the stop `leads`. */
static void test_no_longer_leads(void **state)
{
    (void)state;
    rng = 0x2545F4914F6CDD1Du;
    static rtable_t t;
    lw_analyze_opts_t o;
    lw_analyze_opts_default(&o);
    o.max_lag = 7;
    rtable_fill(&t, 450, 0.9, 300);
    lw_analysis_t *a = rtable_run(&t, &o, LW_MS_PER_DAY);
    const lw_edge_result_t *e = &a->edges[0];
    if (getenv("LW_TEST_VERBOSE"))
        dump(e);
    assert_int_equal(e->verdict, LW_VERDICT_NO_LONGER_LEADS);
    assert_true(e->no_longer);
    /* the old lag is the lag chosen on the whole sample: AIC may add lags to
     * the true 2 but cannot drop it (the model would miss the effect) */
    assert_int_equal(e->old_lag, e->lag);
    assert_true(e->old_lag >= 2 && e->old_lag <= 5);
    assert_int_equal(e->lead, 2);
    if (e->since_row + 8 < 300 || e->since_row > 300 + 8)
        fail_msg("since row %zu (%s), the lead stopped at row 300", e->since_row,
                 t.labels[e->since_row]);
    assert_int_equal(e->since_row, e->break_row);
    lw_analysis_free(a);
    rng = 0x2545F4914F6CDD1Du;
    rtable_fill(&t, 450, 0.9, RN);
    a = rtable_run(&t, &o, LW_MS_PER_DAY);
    assert_int_equal(a->edges[0].verdict, LW_VERDICT_LEADS);
    lw_analysis_free(a);
}

/* Stability: a window counts against the full-sample sign only when its
 * summed x-lag effect is significantly of the other sign.  A lead that
 * reverses (+0.9 then -0.9 over the last third) is unstable; the same lead
 * kept weak everywhere (every window's sum noisy) is stable. */
static void test_stability_contradiction(void **state)
{
    (void)state;
    rng = 0x2545F4914F6CDD1Du;
    static rtable_t t;
    lw_analyze_opts_t o;
    lw_analyze_opts_default(&o);
    o.max_lag = 7;
    rtable_fill2(&t, 450, 0.9, 300, -0.9);
    lw_analysis_t *a = rtable_run(&t, &o, LW_MS_PER_DAY);
    const lw_edge_result_t *e = &a->edges[0];
    assert_int_equal(e->stab_status, LW_STEP_OK);
    assert_true(e->effect_sum > 0.0);
    assert_false(e->stable);
    assert_true(e->stab_nwindows - e->stab_nsame_sign >= 2);
    lw_analysis_free(a);
    rtable_fill2(&t, 450, 0.9, RN, 0.0);
    a = rtable_run(&t, &o, LW_MS_PER_DAY);
    assert_true(a->edges[0].stable);
    assert_int_equal(a->edges[0].stab_nsame_sign, a->edges[0].stab_nwindows);
    lw_analysis_free(a);
}

static void test_source_from_csv(void **state)
{
    (void)state;
    const char *text = "d,a,b,nsm,kpi\nr1,1,2,3,4\nr2,2,3,4,5\n";
    lw_series_csv_t csv;
    char err[512];
    assert_int_equal(lw_series_csv_parse(text, strlen(text), "s.csv", &csv, err, sizeof err),
                     LW_OK);
    lw_session_source_t src;
    assert_int_equal(lw_session_source_from_csv(&src, &csv, "nsm", "kpi", NULL, err, sizeof err),
                     LW_OK);
    assert_int_equal(src.in.ninputs, 2); /* every other column */
    assert_int_equal(src.in.inputs[0], 0);
    assert_int_equal(src.in.inputs[1], 1);
    assert_int_equal(src.in.kpi, 3);
    lw_session_source_release(&src);
    assert_int_equal(lw_session_source_from_csv(&src, &csv, "nsm", NULL, "b", err, sizeof err),
                     LW_OK);
    assert_int_equal(src.in.ninputs, 1);
    assert_int_equal(src.in.inputs[0], 1);
    assert_int_equal(src.in.kpi, -1);
    lw_session_source_release(&src);
    assert_int_equal(lw_session_source_from_csv(&src, &csv, "NSM", NULL, NULL, err, sizeof err),
                     LW_ERR_CONFIG);
    assert_non_null(strstr(err, "--nsm: no column 'NSM' (columns: a, b, nsm, kpi)"));
    assert_int_equal(lw_session_source_from_csv(&src, &csv, "nsm", NULL, "a,zz", err, sizeof err),
                     LW_ERR_CONFIG);
    assert_non_null(strstr(err, "--inputs: no column 'zz'"));
    assert_int_equal(lw_session_source_from_csv(&src, &csv, "nsm", NULL, "a,a", err, sizeof err),
                     LW_ERR_CONFIG);
    assert_int_equal(lw_session_source_from_csv(&src, &csv, "nsm", "kpi", "kpi", err, sizeof err),
                     LW_ERR_CONFIG);
    lw_series_csv_release(&csv);
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ground_truth),
        cmocka_unit_test(test_break),
        cmocka_unit_test(test_synthetic_lead_and_exactness),
        cmocka_unit_test(test_degenerate),
        cmocka_unit_test(test_gap_interpolated_or_skipped),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_source_from_csv),
        cmocka_unit_test(test_holidays_given),
        cmocka_unit_test(test_controls_common_driver),
        cmocka_unit_test(test_hourly_season_period),
        cmocka_unit_test(test_no_longer_leads),
        cmocka_unit_test(test_stability_contradiction),
    };
    return cmocka_run_group_tests(tests, setup_truth, teardown_truth);
}
