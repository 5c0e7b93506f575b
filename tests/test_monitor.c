/*
 * test_monitor.c - OLS-CUSUM monitor vs R strucchange mefp(y ~ ylag + xlag,
 * type = "OLS-CUSUM", alpha) + monitor() (scripts/gen_stats_refs3.R,
 * tests/data/stats_refs3/monitor_*.txt): history coefficients and sigma
 * (1e-9), the critical value (exact root 1e-12; strucchange's optimize()
 * value 1e-7), the whole process path (1e-9 relative, 1e-9 absolute: the
 * history residual sum is ~1e-13 and differs in its last digits) and the
 * boundary (1e-7, from the critical value), and the first alarm exactly.
 * Then: one-at-a-time == bulk bit for bit, a state copied as bytes resumes
 * identically (what the daemon's store does), invalid input and states.
 * The lead monitor's hour-of-week profile (leadmon.h) vs
 * scripts/gen_stats_refs_stopmon.R (leadmon_profile.txt), its false alarms
 * and a stop on simulated hourly data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/leadmon.h"
#include "leadwatch/stats/monitor.h"
#include "leadwatch/stats/ols.h"
#include "stats_refs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CASES[] = {"../stats_refs3/monitor_stop", "../stats_refs3/monitor_null",
                                    "../stats_refs3/monitor_flip"};

/* Regression rows of the reference: y_t on [1, y_{t-1}, x_{t-1}], t = 1..n-1. */
static void design(const ref_line_t *y, const ref_line_t *x, double *Z, double *yy)
{
    for (size_t t = 1; t < y->n; t++) {
        Z[(t - 1) * 3] = 1.0;
        Z[(t - 1) * 3 + 1] = y->v[t - 1];
        Z[(t - 1) * 3 + 2] = x->v[t - 1];
        yy[t - 1] = y->v[t];
    }
}

static void test_against_strucchange(void **state)
{
    (void)state;
    for (size_t ci = 0; ci < sizeof(CASES) / sizeof(CASES[0]); ci++) {
        const char *c = CASES[ci];
        ref_file_t rf;
        assert_true(ref_load(c, &rf));
        const ref_line_t *y = ref_get(&rf, "y"), *x = ref_get(&rf, "x");
        const ref_line_t *su = ref_get(&rf, "setup"), *pr = ref_get(&rf, "process");
        const ref_line_t *bd = ref_get(&rf, "boundary");
        const size_t rows = y->n - 1, hist = (size_t)su->v[0], nm = rows - hist;
        double *Z = malloc(rows * 3 * sizeof(double)), *yy = malloc(rows * sizeof(double));
        double *proc = malloc(nm * sizeof(double)), *bnd = malloc(nm * sizeof(double));
        assert_true(Z && yy && proc && bnd);
        design(y, x, Z, yy);
        lw_monitor_t m;
        char err[256] = "";
        if (lw_monitor_init(&m, yy, Z, hist, 3, su->v[1], err, sizeof(err)) != LW_OK)
            fail_msg("%s: %s", c, err);
        assert_true(ref_close(m.critval, su->v[3], 1e-12, 0.0));
        assert_true(ref_close(m.critval, su->v[2], 1e-7, 0.0));
        assert_true(ref_close(m.sigma, su->v[4], 1e-9, 0.0));
        for (size_t j = 0; j < 3; j++)
            assert_true(ref_close(m.coef[j], su->v[5 + j], 1e-9, 0.0));
        assert_int_equal(pr->n, nm);
        assert_int_equal(bd->n, nm);
        /* one row at a time, as the daemon does live */
        uint64_t alarm = 0;
        for (size_t i = 0; i < nm; i++) {
            bool now = false;
            assert_int_equal(lw_monitor_update(&m, Z + (hist + i) * 3, yy[hist + i], &proc[i],
                                               &bnd[i], &now, err, sizeof(err)),
                             LW_OK);
            if (now)
                alarm = hist + i + 1;
            if (!ref_close(proc[i], pr->v[i], 1e-9, 1e-9))
                fail_msg("%s process[%zu]: got %.17g want %.17g", c, i, proc[i], pr->v[i]);
            if (!ref_close(bnd[i], bd->v[i], 1e-7, 0.0))
                fail_msg("%s boundary[%zu]: got %.17g want %.17g", c, i, bnd[i], bd->v[i]);
        }
        const uint64_t want = (uint64_t)ref_get(&rf, "alarm")->v[0];
        assert_int_equal(m.alarm, want);
        assert_int_equal(alarm, want);
        printf("    %-30s history %zu, %zu monitored, alarm at row %llu, max |process| %.3f\n", c,
               hist, nm, (unsigned long long)m.alarm, m.stat);
        free(bnd);
        free(proc);
        free(yy);
        free(Z);
        ref_free(&rf);
    }
}

/* Bulk and one-at-a-time give the same bytes; a state copied mid-way resumes identically. */
static void test_bulk_and_serialized_state(void **state)
{
    (void)state;
    ref_file_t rf;
    assert_true(ref_load("../stats_refs3/monitor_stop", &rf));
    const ref_line_t *y = ref_get(&rf, "y"), *x = ref_get(&rf, "x");
    const size_t rows = y->n - 1, hist = 150, nm = rows - hist;
    double *Z = malloc(rows * 3 * sizeof(double)), *yy = malloc(rows * sizeof(double));
    assert_true(Z && yy);
    design(y, x, Z, yy);
    lw_monitor_t a, b, c;
    char err[256] = "";
    assert_int_equal(lw_monitor_init(&a, yy, Z, hist, 3, 0.05, err, sizeof(err)), LW_OK);
    memcpy(&b, &a, sizeof(a));
    for (size_t i = 0; i < nm; i++)
        assert_int_equal(lw_monitor_update(&a, Z + (hist + i) * 3, yy[hist + i], NULL, NULL, NULL,
                                           err, sizeof(err)),
                         LW_OK);
    const size_t half = nm / 2;
    assert_int_equal(
        lw_monitor_feed(&b, yy + hist, Z + hist * 3, half, NULL, NULL, err, sizeof(err)), LW_OK);
    unsigned char bytes[sizeof(lw_monitor_t)]; /* what a store would keep */
    memcpy(bytes, &b, sizeof(b));
    memcpy(&c, bytes, sizeof(c));
    assert_true(lw_monitor_check(&c));
    assert_int_equal(lw_monitor_feed(&c, yy + hist + half, Z + (hist + half) * 3, nm - half, NULL,
                                     NULL, err, sizeof(err)),
                     LW_OK);
    assert_memory_equal(&a, &c, sizeof(a));
    assert_true(a.alarm > 0);
    free(yy);
    free(Z);
    ref_free(&rf);
}

static void test_degenerate(void **state)
{
    (void)state;
    double Z[20 * 2], y[20];
    for (size_t t = 0; t < 20; t++) {
        Z[t * 2] = 1.0;
        Z[t * 2 + 1] = (double)(t % 4);
        y[t] = 1.0 + (double)((t * 7) % 5);
    }
    lw_monitor_t m;
    char err[256] = "";
    assert_int_equal(lw_monitor_init(&m, y, Z, 20, 2, 0.0, err, sizeof(err)), LW_ERR_INVALID);
    assert_int_equal(lw_monitor_init(&m, y, Z, 2, 2, 0.05, err, sizeof(err)), LW_ERR_INVALID);
    assert_int_equal(lw_monitor_init(&m, y, Z, 20, 0, 0.05, err, sizeof(err)), LW_ERR_INVALID);
    assert_false(lw_monitor_check(&m)); /* zeroed on error */
    double yl[20];
    for (size_t t = 0; t < 20; t++)
        yl[t] = 2.0 + 3.0 * Z[t * 2 + 1]; /* perfect fit: sigma 0 */
    assert_int_equal(lw_monitor_init(&m, yl, Z, 20, 2, 0.05, err, sizeof(err)), LW_ERR_STATS);
    assert_int_equal(lw_monitor_init(&m, y, Z, 20, 2, 0.05, err, sizeof(err)), LW_OK);
    const double zbad[2] = {1.0, (double)NAN};
    const lw_monitor_t before = m;
    assert_int_equal(lw_monitor_update(&m, zbad, 1.0, NULL, NULL, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_memory_equal(&before, &m, sizeof(m));
    m.version = 99; /* a corrupted stored state is refused, not used */
    const double z[2] = {1.0, 2.0};
    assert_int_equal(lw_monitor_update(&m, z, 1.0, NULL, NULL, NULL, err, sizeof(err)),
                     LW_ERR_INVALID);
    assert_true(isnan(lw_monitor_critval(1.0)));
    assert_true(fabs(lw_monitor_critval(0.05) - 2.7954834829151092) < 1e-12);
}

/* ---- stop monitor (lw_stopmon_*) vs scripts/gen_stats_refs_stopmon.R ---- */

static void test_stopmon_threshold_ref(void **state)
{
    (void)state;
    ref_file_t rf;
    assert_true(ref_load("../stats_refs3/stopmon_threshold", &rf));
    size_t rows = 0;
    for (const ref_line_t *r; (r = ref_nth(&rf, "row", rows)) != NULL; rows++) {
        const double v = r->v[0], alpha = r->v[1], hz = r->v[2];
        const double h = lw_stopmon_threshold(v, alpha, hz);
        assert_true(fabs(h - r->v[3]) < 1e-9 * r->v[3]);
        /* and it solves the stated equation */
        assert_true(fabs(-expm1(-hz / lw_stopmon_arl0(h, v)) - alpha) < 1e-12);
    }
    assert_int_equal(rows, 24);
    assert_true(isnan(lw_stopmon_threshold(0.0, 0.05, 365)));
    assert_true(isnan(lw_stopmon_threshold(0.2, 1.0, 365)));
    ref_free(&rf);
}

/* Rows t = 3..n: [1, y_{t-1}, y_{t-2}, x_{t-1}, x_{t-2}] (the R script's design). */
static size_t stop_design(const ref_line_t *y, const ref_line_t *x, double *Z, double *yy)
{
    size_t m = 0;
    for (size_t t = 2; t < y->n; t++, m++) {
        const double z[5] = {1.0, y->v[t - 1], y->v[t - 2], x->v[t - 1], x->v[t - 2]};
        memcpy(Z + m * 5, z, sizeof z);
        yy[m] = y->v[t];
    }
    return m;
}

static void test_stopmon_ref(void **state)
{
    (void)state;
    static const char *const cases[] = {"../stats_refs3/stopmon_stop",
                                        "../stats_refs3/stopmon_steady"};
    static const unsigned char lead[5] = {0, 0, 0, 1, 1};
    for (size_t c = 0; c < 2; c++) {
        ref_file_t rf;
        assert_true(ref_load(cases[c], &rf));
        const ref_line_t *y = ref_get(&rf, "y"), *x = ref_get(&rf, "x");
        const ref_line_t *set = ref_get(&rf, "setup"), *llr = ref_get(&rf, "llr");
        const ref_line_t *cus = ref_get(&rf, "cusum"), *al = ref_get(&rf, "alarm");
        double *Z = malloc(y->n * 5 * sizeof(double)), *yy = malloc(y->n * sizeof(double));
        assert_non_null(Z);
        assert_non_null(yy);
        const size_t m = stop_design(y, x, Z, yy), hist = (size_t)set->v[0];
        lw_stopmon_t a, b;
        char err[256];
        assert_int_equal(
            lw_stopmon_init(&a, yy, Z, hist, 5, lead, set->v[1], set->v[2], err, sizeof err),
            LW_OK);
        assert_true(fabs(a.sigma - set->v[3]) < 1e-9 * set->v[3]);
        assert_true(fabs(a.v - set->v[4]) < 1e-8 * set->v[4]);
        assert_true(fabs(a.h - set->v[5]) < 1e-8 * set->v[5]);
        for (size_t j = 0; j < 5; j++)
            assert_true(fabs(a.coef[j] - set->v[6 + j]) < 1e-9 * (1.0 + fabs(set->v[6 + j])));
        assert_int_equal(m - hist, llr->n);
        b = a;
        for (size_t i = hist; i < m; i++) {
            double l;
            bool now;
            assert_int_equal(lw_stopmon_update(&a, Z + i * 5, yy[i], &l, &now, err, sizeof err),
                             LW_OK);
            assert_true(fabs(l - llr->v[i - hist]) < 1e-7 * (1.0 + fabs(llr->v[i - hist])));
            assert_true(fabs(a.stat - cus->v[i - hist]) < 1e-6 * (1.0 + cus->v[i - hist]));
            assert_true(now == (a.alarm == i - hist + 1));
            /* a state copied as bytes in the middle resumes bit for bit */
            if (i == hist + 40)
                memcpy(&b, &a, sizeof a);
        }
        assert_int_equal(a.alarm, (uint64_t)al->v[0]);
        for (size_t i = hist + 41; i < m; i++)
            assert_int_equal(lw_stopmon_update(&b, Z + i * 5, yy[i], NULL, NULL, NULL, 0), LW_OK);
        assert_memory_equal(&a, &b, sizeof a);
        /* NaN input: refused, state unchanged */
        const double bad[5] = {1.0, NAN, 0.0, 0.0, 0.0};
        assert_int_equal(lw_stopmon_update(&b, bad, 0.0, NULL, NULL, err, sizeof err),
                         LW_ERR_INVALID);
        assert_memory_equal(&a, &b, sizeof a);
        free(Z);
        free(yy);
        ref_free(&rf);
    }
    /* no lead column, or lead terms that explain nothing */
    lw_stopmon_t m;
    const double Z1[8] = {1, 0.1, 1, -0.3, 1, 0.2, 1, 0.5}, y1[4] = {1, 2, 3, 5};
    const unsigned char none[2] = {0, 0};
    assert_int_equal(lw_stopmon_init(&m, y1, Z1, 4, 2, none, 0.05, 365, NULL, 0), LW_ERR_INVALID);
    assert_false(lw_stopmon_check(&m));
}

/* ---- the simulated threshold (lw_stopmon_calibrate) --------------------- */

/* Gaussian from rand() (Box-Muller), reproducible. */
static double gauss(void)
{
    const double u1 = ((double)rand() + 1.0) / ((double)RAND_MAX + 2.0);
    const double u2 = ((double)rand() + 1.0) / ((double)RAND_MAX + 2.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* A known lag-1 model: x AR(0.6), y_t = 0.5 y_{t-1} + beta x_{t-1} + u_t;
 * rows [1, y_{t-1}, x_{t-1}] -> y_t, n rows after a burn-in. */
static void known_model(double *Z, double *y, size_t n, double beta)
{
    double x = 0.0, yy = 0.0;
    for (int t = 0; t < 50; t++) {
        const double nx = 0.6 * x + gauss();
        yy = 0.5 * yy + beta * x + gauss();
        x = nx;
    }
    for (size_t t = 0; t < n; t++) {
        const double nx = 0.6 * x + gauss(), ny = 0.5 * yy + beta * x + gauss();
        Z[t * 3] = 1.0;
        Z[t * 3 + 1] = yy;
        Z[t * 3 + 2] = x;
        y[t] = ny;
        x = nx;
        yy = ny;
    }
}

static void test_stopmon_calibrate(void **state)
{
    (void)state;
    enum { N = 90, H = 90, PAIRS = 300 };
    static double Z[(N + H) * 3], y[N + H];
    const unsigned char lead[3] = {0, 0, 1};
    const double alpha = 0.1;
    char err[256];
    srand(11);
    /* deterministic for a seed; state stays valid; bounds */
    known_model(Z, y, N, 0.5);
    lw_stopmon_t a, b;
    assert_int_equal(lw_stopmon_init(&a, y, Z, N, 3, lead, alpha, H, NULL, 0), LW_OK);
    const double siegmund = a.h;
    b = a;
    assert_int_equal(lw_stopmon_calibrate(&a, y, Z, N, 2000, 42, err, sizeof err), LW_OK);
    assert_int_equal(lw_stopmon_calibrate(&b, y, Z, N, 2000, 42, err, sizeof err), LW_OK);
    assert_memory_equal(&a, &b, sizeof a);
    assert_true(lw_stopmon_check(&a));
    assert_true(a.h != siegmund);
    assert_int_equal(lw_stopmon_calibrate(&b, y, Z, N, 99, 42, err, sizeof err), LW_ERR_INVALID);
    assert_int_equal(lw_stopmon_calibrate(&b, y, Z, N - 1, 2000, 42, err, sizeof err),
                     LW_ERR_INVALID);
    assert_memory_equal(&a, &b, sizeof a); /* unchanged on error */

    /* What it is for: fit a history, monitor the next H rows of the same
     * (unchanged) model; the share of alarms is the false-alarm
     * probability, which should be near alpha.  Measured at the time of
     * writing: 43 (simulated h) and 37 (Siegmund) of 300 at a design of 30:
     * in this plain model both are close; the gain is in the daemon's
     * seasonal, chosen-lag regressions (test_leadmon_stop below). */
    size_t fa_sim = 0, fa_sieg = 0;
    for (unsigned pair = 0; pair < PAIRS; pair++) {
        known_model(Z, y, N + H, 0.5);
        lw_stopmon_t m;
        assert_int_equal(lw_stopmon_init(&m, y, Z, N, 3, lead, alpha, H, NULL, 0), LW_OK);
        lw_stopmon_t s = m;
        assert_int_equal(lw_stopmon_calibrate(&m, y, Z, N, 1000, 1000u + pair, err, sizeof err),
                         LW_OK);
        bool am = false, as = false;
        for (size_t t = N; t < N + H; t++) {
            bool now = false;
            assert_int_equal(lw_stopmon_update(&m, Z + t * 3, y[t], NULL, &now, NULL, 0), LW_OK);
            am = am || now;
            assert_int_equal(lw_stopmon_update(&s, Z + t * 3, y[t], NULL, &now, NULL, 0), LW_OK);
            as = as || now;
        }
        fa_sim += am;
        fa_sieg += as;
    }
    print_message("stopmon: false alarms in %d histories at alpha %.2f: simulated h %zu, "
                  "Siegmund %zu (design %.0f)\n",
                  PAIRS, alpha, fa_sim, fa_sieg, alpha * PAIRS);
    assert_true((double)fa_sim <= 2.0 * alpha * PAIRS);
    assert_true((double)fa_sim >= 0.4 * alpha * PAIRS);
}

/* ---- the lead monitor (leadmon.h) on a simulated stop ------------------- */

static void sim_lead(double *x, double *y, size_t n, size_t stop, unsigned seed)
{
    static double a[2048];
    double b = 0.0;
    assert_true(n <= 2048);
    srand(seed);
    for (size_t t = 0; t < n; t++) {
        /* Box-Muller from rand(): reproducible, good enough for a test */
        const double u1 = ((double)rand() + 1.0) / ((double)RAND_MAX + 2.0);
        const double u2 = ((double)rand() + 1.0) / ((double)RAND_MAX + 2.0);
        const double r = sqrt(-2.0 * log(u1)), tau = 6.283185307179586;
        a[t] = (t ? 0.6 * a[t - 1] : 0.0) + 0.06 * r * cos(tau * u2);
        b = 0.5 * b + (t >= 2 && t < stop ? 0.3 * a[t - 2] : 0.0) + 0.05 * r * sin(tau * u2);
        x[t] = 20000.0 * exp(a[t] + 0.04 * (double)(t % 7 == 5)); /* and a weekday effect */
        y[t] = 1.5e6 * exp(b - 0.03 * (double)(t % 7 == 6));
    }
}

/* Step every bucket (window w; the analysis "leads" before lead_until) and return the first
 * alarmed bucket (or n). */
static size_t run_leadmon_lag(lw_leadmon_t *m, const double *x, const double *y, size_t n, size_t w,
                              size_t step_every, size_t lead_until, size_t lag, size_t season)
{
    lw_leadmon_opts_t o;
    lw_leadmon_opts_default(&o);
    o.arm_after = 1;
    for (size_t e = w - 1; e < n; e++) {
        if ((e - (w - 1)) % step_every != 0 && e != n - 1)
            continue; /* a skipped evaluation: the next one feeds the missed rows */
        const lw_leadmon_input_t in = {.y = y + e + 1 - w,
                                       .x = x + e + 1 - w,
                                       .stride = 1,
                                       .n = w,
                                       .last_index = (int64_t)e,
                                       .leading = e < lead_until,
                                       .lag = lag,
                                       .log_x = true,
                                       .log_y = true,
                                       .season = season};
        if (lw_leadmon_step(m, &o, &in) == LW_LEADMON_ALARMED)
            return (size_t)m->alarm_index;
        assert_true(lw_leadmon_check(m));
    }
    return n;
}

static size_t run_leadmon(lw_leadmon_t *m, const double *x, const double *y, size_t n, size_t w,
                          size_t step_every, size_t lead_until)
{
    return run_leadmon_lag(m, x, y, n, w, step_every, lead_until, 2, 7);
}

/*
 * Hourly buckets (issue 17): the analysis chose lag 48 and an hour-of-week
 * season (168, above LW_LEADMON_MAX_SEASON: no dummies).  The monitor used
 * to refuse any lag above LW_LEADMON_MAX_LAG and never started; it now
 * takes BIC over the lags that fit (1..31 without dummies), starts, and
 * finds the stop.
 */
static void test_leadmon_large_lag(void **state)
{
    (void)state;
    enum { N = 450, W = 200, STOP = 300 };
    static double x[N], y[N];
    sim_lead(x, y, N, STOP, 7);
    lw_leadmon_t m = {0};
    size_t alarm = run_leadmon_lag(&m, x, y, N, W, 1, 250, 48, 168);
    print_message("leadmon lag 48, season 168: %llu start(s), lag %u, alarm at %zu\n",
                  (unsigned long long)m.starts, m.lag, alarm);
    assert_true(m.starts >= 1);
    assert_int_equal(m.season, 0);
    assert_true(m.lag >= 1 && m.ndet + 2 * m.lag <= LW_STOPMON_MAX_K);
    assert_true(lw_leadmon_check(&m));
    assert_true(alarm > STOP && alarm < N);
}

/* Hourly: a strong, non-additive hour-of-week log cycle in both series (night trough, 20:00
 * peak, flatter and higher weekends), x AR(0.8, 4 %), y AR(0.6, 4 %), x at lag 2 h with 0.3
 * before `stop` (the ground-truth suite's hourly_weekly model). */
static void sim_hourly(double *x, double *y, size_t n, size_t stop, unsigned seed)
{
    static double a[8192];
    double b = 0.0;
    assert_true(n <= 8192);
    srand(seed);
    for (size_t t = 0; t < n; t++) {
        const double u1 = ((double)rand() + 1.0) / ((double)RAND_MAX + 2.0);
        const double u2 = ((double)rand() + 1.0) / ((double)RAND_MAX + 2.0);
        const double r = sqrt(-2.0 * log(u1)), tau = 6.283185307179586;
        const size_t how = t % 168, hod = how % 24;
        const bool weekend = how >= 120;
        const double c = (weekend ? 0.5 : 0.8) * sin(tau * ((double)hod - 14.0) / 24.0) +
                         (weekend ? 0.15 : 0.0) + (hod == 8 && !weekend ? 0.3 : 0.0);
        a[t] = (t ? 0.8 * a[t - 1] : 0.0) + 0.04 * r * cos(tau * u2);
        b = 0.6 * b + (t >= 2 && t < stop ? 0.3 * a[t - 2] : 0.0) + 0.04 * r * sin(tau * u2);
        x[t] = 800.0 * exp(c + a[t]);
        y[t] = 60000.0 * exp(c + b);
    }
}

/*
 * Hour-of-week season (168) on hourly buckets: the monitor removes the phase
 * means of the history (profile) instead of dummies.  Full evaluations once
 * a day (the daemon's analysis.full_every) over a 4-week window; a lead that
 * keeps leading for 40 weeks, and a stop.  Without the season (what the
 * monitor did before: 168 is above LW_LEADMON_MAX_SEASON) the cycle is left
 * in the regression; the false alarms of both are printed.
 */
static void test_leadmon_hourly_profile(void **state)
{
    (void)state;
    enum { N = 40 * 168, W = 672, STOP = 20 * 168 };
    static double x[N], y[N];
    size_t fa[2] = {0, 0}, hist[2] = {0, 0};
    lw_leadmon_opts_t o;
    lw_leadmon_opts_default(&o);
    o.arm_after = 1;
    o.year = 8760.0;
    o.rebase = W;
    for (unsigned seed = 1; seed <= 3; seed++) {
        sim_hourly(x, y, N, N, seed);
        for (int variant = 0; variant < 2; variant++) {
            lw_leadmon_t m = {0};
            for (size_t e = W - 1; e < N; e++) {
                const lw_leadmon_input_t in = {.y = y + e + 1 - W,
                                               .x = x + e + 1 - W,
                                               .stride = 1,
                                               .n = W,
                                               .last_index = (int64_t)e,
                                               .leading = (e + 1) % 24 == 0,
                                               .hold = (e + 1) % 24 != 0,
                                               .lag = 2,
                                               .log_x = true,
                                               .log_y = true,
                                               .season = variant == 0 ? 168 : 0};
                const uint64_t st = m.starts;
                const bool alarmed = lw_leadmon_step(&m, &o, &in) == LW_LEADMON_ALARMED;
                hist[variant] += m.starts != st;
                assert_true(lw_leadmon_check(&m));
                if (variant == 0 && m.starts > 0) {
                    assert_int_equal(m.profile, 1);
                    assert_int_equal(m.season, 168);
                    assert_int_equal(m.ndet, 1);
                }
                if (alarmed) {
                    fa[variant]++;
                    memset(&m, 0, sizeof m);
                }
            }
        }
    }
    print_message("leadmon hourly, 3 x 40 weeks: false alarms with the 168 profile %zu in %zu "
                  "histories, without a season %zu in %zu\n",
                  fa[0], hist[0], fa[1], hist[1]);
    /* design: 0.05 / 3.5 per year, 28-day histories: ~0.04 false alarms in ~30 histories */
    assert_true(hist[0] >= 25);
    assert_true(fa[0] <= 1);
    /* a stop after 20 weeks is found within the window (4 weeks) */
    sim_hourly(x, y, N, STOP, 4);
    lw_leadmon_t m = {0};
    size_t alarm = 0;
    for (size_t e = W - 1; e < N && !alarm; e++) {
        const lw_leadmon_input_t in = {.y = y + e + 1 - W,
                                       .x = x + e + 1 - W,
                                       .stride = 1,
                                       .n = W,
                                       .last_index = (int64_t)e,
                                       .leading = (e + 1) % 24 == 0 && e < STOP,
                                       .hold = (e + 1) % 24 != 0,
                                       .lag = 2,
                                       .log_x = true,
                                       .log_y = true,
                                       .season = 168};
        if (lw_leadmon_step(&m, &o, &in) == LW_LEADMON_ALARMED)
            alarm = (size_t)m.alarm_index;
    }
    print_message("leadmon hourly: stop at %d, alarm at %zu (%zu hours later; lag %u, v %.3f, "
                  "h %.2f, sigma %.4f)\n",
                  STOP, alarm, alarm - STOP, m.lag, m.cusum.v, m.cusum.h, m.cusum.sigma);
    assert_true(alarm > STOP && alarm < STOP + 4 * 168); /* expected ~(h + 0.5) / (v / 2) = 130 h */
}

/*
 * The hour-of-week profile against scripts/gen_stats_refs_stopmon.R
 * (leadmon_profile.txt: phase means, lm of the de-seasonalised lag-1
 * regression, sigma with the 167 phase means in its df, v, Siegmund's h for
 * 0.05 / LW_LEADMON_ALPHA_EXCESS, then the CUSUM path of 336 rows).
 */
static void test_leadmon_profile_ref(void **state)
{
    (void)state;
    ref_file_t rf;
    assert_true(ref_load("../stats_refs3/leadmon_profile", &rf));
    const ref_line_t *y = ref_get(&rf, "y"), *x = ref_get(&rf, "x"), *set = ref_get(&rf, "setup");
    const ref_line_t *px = ref_get(&rf, "prof_x"), *py = ref_get(&rf, "prof_y");
    const ref_line_t *cus = ref_get(&rf, "cusum");
    const size_t W = (size_t)set->v[0];
    assert_int_equal(px->n, 168);
    assert_int_equal(y->n, W + cus->n);
    lw_leadmon_opts_t o;
    lw_leadmon_opts_default(&o);
    o.arm_after = 1;
    o.reps = 0; /* Siegmund's h, which R computes too */
    o.year = 8760.0;
    o.rebase = (double)W;
    lw_leadmon_t m = {0};
    for (size_t e = W - 1; e < y->n; e++) {
        const lw_leadmon_input_t in = {.y = y->v + e + 1 - W,
                                       .x = x->v + e + 1 - W,
                                       .stride = 1,
                                       .n = W,
                                       .last_index = (int64_t)e,
                                       .leading = e == W - 1,
                                       .hold = e != W - 1,
                                       .lag = 1,
                                       .log_x = true,
                                       .log_y = true,
                                       .season = 168};
        (void)lw_leadmon_step(&m, &o, &in);
        if (e == W - 1) {
            assert_int_equal(m.phase, LW_LEADMON_WATCHING);
            assert_int_equal(m.profile, 1);
            assert_int_equal(m.lag, 1);
            assert_int_equal(m.cusum.absorbed, 167);
            for (size_t p = 0; p < 168; p++) {
                assert_true(fabs(m.prof_x[p] - px->v[p]) < 1e-12 * fabs(px->v[p]));
                assert_true(fabs(m.prof_y[p] - py->v[p]) < 1e-12 * fabs(py->v[p]));
            }
            assert_true(fabs(m.cusum.sigma - set->v[1]) < 1e-9 * set->v[1]);
            assert_true(fabs(m.cusum.v - set->v[2]) < 1e-8 * set->v[2]);
            assert_true(fabs(m.cusum.h - set->v[3]) < 1e-8 * set->v[3]);
            assert_true(fabs(m.cx[0] - set->v[4]) < 1e-12);
            for (size_t j = 0; j < 3; j++)
                assert_true(fabs(m.cusum.coef[j] - set->v[5 + j]) <
                            1e-8 * (1.0 + fabs(set->v[5 + j])));
            continue;
        }
        const double want = cus->v[e - W];
        if (!(fabs(m.cusum.stat - want) < 1e-6 * (1.0 + want)))
            fail_msg("row %zu: W %.17g, R %.17g", e, m.cusum.stat, want);
    }
    print_message("leadmon profile vs R: sigma %.6g, v %.4g, h %.4g, W after %zu rows %.4g\n",
                  m.cusum.sigma, m.cusum.v, m.cusum.h, cus->n, m.cusum.stat);
    ref_free(&rf);
}

static void test_leadmon_stop(void **state)
{
    (void)state;
    enum { N = 450, W = 90, STOP = 300 };
    static double x[N], y[N];
    sim_lead(x, y, N, STOP, 7);
    lw_leadmon_t a = {0}, b = {0}, c = {0};
    size_t alarm = run_leadmon(&a, x, y, N, W, 1, 150);
    print_message("leadmon: stop at %d, alarm at %zu (v %.3f, h %.3f)\n", STOP, alarm, a.cusum.v,
                  a.cusum.h);
    assert_true(alarm > STOP && alarm < N);
    /* fed one by one or in bursts of 5 (skipped evaluations): the same alarm and state */
    assert_int_equal(run_leadmon(&b, x, y, N, W, 5, 150), alarm);
    assert_memory_equal(&a, &b, sizeof a);
    /* No stop: 10 series of 1890 days (~20 histories each, re-based every 90 buckets), the
     * threshold simulated (1000 replicates) vs Siegmund's.  Design: alpha 0.05 per year,
     * 1.26 % per 90-bucket history, ~2.6 false alarms in ~200 histories.  Siegmund's
     * constant-v approximation ignores the history fit's error and the varying g_t and
     * alarms several times too often (40 vs 16 in 413 histories at the time of writing);
     * the simulated threshold still exceeds the design ~3x (README, Alerts). */
    enum { NL = 1890 };
    static double xl[NL], yl[NL];
    size_t fa_cal = 0, fa_sieg = 0, hist_cal = 0, hist_sieg = 0;
    for (unsigned seed = 100; seed < 110; seed++) {
        sim_lead(xl, yl, NL, NL, seed);
        for (int variant = 0; variant < 2; variant++) {
            lw_leadmon_opts_t o;
            lw_leadmon_opts_default(&o);
            o.arm_after = 1;
            /* the design of this comparison stays 0.05 per year (o.alpha is now the target
             * rate, the design is alpha / LW_LEADMON_ALPHA_EXCESS) */
            o.alpha = 0.05 * LW_LEADMON_ALPHA_EXCESS;
            o.reps = variant == 0 ? 1000 : 0;
            memset(&c, 0, sizeof c);
            for (size_t e = W - 1; e < NL; e++) {
                const lw_leadmon_input_t in = {.y = yl + e + 1 - W,
                                               .x = xl + e + 1 - W,
                                               .stride = 1,
                                               .n = W,
                                               .last_index = (int64_t)e,
                                               .leading = true,
                                               .lag = 2,
                                               .log_x = true,
                                               .log_y = true,
                                               .season = 7};
                const uint64_t st = c.starts;
                const bool alarmed = lw_leadmon_step(&c, &o, &in) == LW_LEADMON_ALARMED;
                *(variant == 0 ? &hist_cal : &hist_sieg) += c.starts != st;
                if (alarmed) {
                    *(variant == 0 ? &fa_cal : &fa_sieg) += 1;
                    memset(&c, 0, sizeof c); /* start again, as after a resolved alert */
                }
            }
        }
    }
    print_message("leadmon: false alarms: simulated h %zu in %zu histories, Siegmund %zu in %zu\n",
                  fa_cal, hist_cal, fa_sieg, hist_sieg);
    assert_true(hist_cal >= 190);
    assert_true(2 * fa_cal < fa_sieg);
    assert_true((double)fa_cal <= 5.0 * 0.0126 * (double)hist_cal);
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_strucchange),
        cmocka_unit_test(test_bulk_and_serialized_state),
        cmocka_unit_test(test_degenerate),
        cmocka_unit_test(test_stopmon_threshold_ref),
        cmocka_unit_test(test_stopmon_ref),
        cmocka_unit_test(test_stopmon_calibrate),
        cmocka_unit_test(test_leadmon_stop),
        cmocka_unit_test(test_leadmon_large_lag),
        cmocka_unit_test(test_leadmon_hourly_profile),
        cmocka_unit_test(test_leadmon_profile_ref),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
