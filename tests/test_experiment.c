/*
 * test_experiment.c - effects of past A/B tests and the edge meta-analysis
 * (stats/experiment.h), and the CSV form of the aggregate table.
 *
 *   - Reference: tests/data/stats_refs_exp/exp.csv (bucket aggregates of 8
 *     simulated experiments) against exp.txt, computed from the per-user data
 *     by scripts/gen_stats_refs_exp.py (pandas / statsmodels / scipy): means
 *     to 1e-9, between-bucket variances, relative effects and their SEs, the
 *     covariance of the input and NSM effects, SRM chi-square and p
 *     (scipy.stats.chisquare, weighted shares in e04) to 1e-9, the
 *     moment-corrected slope / corr / reliability / score to 1e-9 (without
 *     e06, left out for its sample ratio mismatch); the
 *     bucket SE agrees with the per-user delta SE within sampling error.
 *   - Known answers: a proxy whose effects carry through at slope 0.5
 *     confirms; one whose effects never reach the NSM contradicts; three
 *     experiments are not_enough; the bootstrap is deterministic.
 *   - The table: rows add up, control rules, bounds (distinct errors, table
 *     unchanged), bad rows; the CSV line parser's quoting and errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/stats/experiment.h"
#include "stats_refs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define REL 1e-9

static const char *const MET[] = {"m0", "m1", "m2", "m3", "m4"};

static lw_exp_data *load_ref_csv(void)
{
    char path[1024], line[1024], err[256];
    snprintf(path, sizeof path, "%s/tests/data/stats_refs_exp/exp.csv", ref_source_dir());
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    lw_exp_data *d = lw_exp_data_new(LW_EXP_BUCKETS);
    assert_non_null(d);
    assert_non_null(fgets(line, sizeof line, f));
    line[strcspn(line, "\n")] = '\0';
    assert_true(lw_exp_csv_is_header(line));
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        lw_exp_row row;
        if (lw_exp_csv_parse_line(line, &row, err, sizeof err) != LW_OK ||
            lw_exp_data_add(d, &row, err, sizeof err) != LW_OK)
            fail_msg("%s: %s", line, err);
    }
    fclose(f);
    return d;
}

static void expect(const char *what, size_t e, double got, double want)
{
    if (!ref_close(got, want, REL, 0.0))
        fail_msg("e%02zu %s: got %.17g want %.17g", e, what, got, want);
}

static void test_reference(void **state)
{
    (void)state;
    ref_file_t rf;
    assert_true(ref_load("../stats_refs_exp/exp", &rf));
    lw_exp_data *d = load_ref_csv();
    char err[256];
    assert_int_equal(lw_exp_data_nexperiments(d), 8);
    assert_int_equal(lw_exp_data_users_mismatch(d), 0);
    /* e04 was split 50/25/25; e05's control is its first variant "a" */
    assert_int_equal(lw_exp_data_set_weight(d, "e04", "control", 2.0, err, sizeof err), LW_OK);
    assert_string_equal(lw_exp_data_variant(d, 5, lw_exp_data_control(d, 5)), "a");
    const ref_line_t *l;
    size_t nmean = 0, neff = 0;
    for (size_t i = 0; (l = ref_nth(&rf, "mean", i)) != NULL; i++, nmean++) {
        const size_t e = (size_t)l->v[0], v = (size_t)l->v[1], m = (size_t)l->v[2];
        const lw_exp_window w = (lw_exp_window)l->v[3];
        /* the mean of a variant: the control's side of an effect of any arm */
        lw_exp_effect ef;
        size_t arm = v == lw_exp_data_control(d, e) ? (v == 0 ? 1 : 0) : v;
        lw_exp_effect_compute(d, e, arm, MET[m], w, 0.05, &ef);
        const lw_exp_mean *mm = v == lw_exp_data_control(d, e) ? &ef.c : &ef.t;
        assert_true(mm->defined);
        assert_true(mm->users == l->v[4]);
        assert_true(lw_exp_data_users(d, e, v) == l->v[4]);
        expect("mean", e, mm->mean, l->v[5]);
        expect("bucket var", e, mm->var, l->v[6]);
    }
    for (size_t i = 0; (l = ref_nth(&rf, "eff", i)) != NULL; i++, neff++) {
        const size_t e = (size_t)l->v[0], v = (size_t)l->v[1], m = (size_t)l->v[2];
        lw_exp_effect ef;
        lw_exp_effect_compute(d, e, v, MET[m], (lw_exp_window)l->v[3], 0.05, &ef);
        assert_true(ef.defined);
        expect("rel", e, ef.rel, l->v[4]);
        expect("se", e, ef.se, l->v[5]);
        expect("lo", e, ef.lo, l->v[4] - 1.959963984540054 * l->v[5]);
        /* buckets vs users: the same standard error estimated two ways */
        if (!(ef.se / l->v[6] > 0.6 && ef.se / l->v[6] < 1.6))
            fail_msg("e%02zu v%zu %s: bucket se %g vs per-user se %g", e, v, MET[m], ef.se,
                     l->v[6]);
    }
    assert_true(nmean >= 80 && neff >= 40);
    for (size_t i = 0; (l = ref_nth(&rf, "srm", i)) != NULL; i++) {
        const size_t e = (size_t)l->v[0];
        lw_exp_srm s;
        lw_exp_srm_compute(d, e, &s);
        expect("srm chi2", e, s.chi2, l->v[1]);
        assert_int_equal(s.df, (size_t)l->v[2]);
        if (!ref_close(s.p, l->v[3], REL, 1e-300))
            fail_msg("e%02zu srm p: got %.17g want %.17g", e, s.p, l->v[3]);
    }
    for (size_t i = 0; (l = ref_nth(&rf, "cov", i)) != NULL; i++) {
        const size_t e = (size_t)l->v[0], v = (size_t)l->v[1];
        expect("cov", e, lw_exp_effect_cov(d, e, v, "m0", LW_EXP_SHORT, "m3", LW_EXP_LONG),
               l->v[2]);
    }
    l = ref_get(&rf, "meta");
    assert_non_null(l);
    lw_exp_opts o;
    lw_exp_opts_init(&o);
    lw_exp_meta m;
    assert_int_equal(
        lw_exp_meta_compute(d, "m0", LW_EXP_SHORT, "m3", LW_EXP_LONG, &o, &m, err, sizeof err),
        LW_OK);
    assert_int_equal(m.n, (size_t)l->v[0]);
    assert_int_equal(m.n_srm_excluded, 1); /* e06's broken split */
    expect("naive slope", 0, m.naive_slope, l->v[1]);
    expect("slope", 0, m.slope, l->v[2]);
    expect("corr", 0, m.corr, l->v[3]);
    expect("reliability", 0, m.reliability, l->v[4]);
    expect("score", 0, m.score, l->v[5]);
    assert_true(m.slope_lo <= m.slope && m.slope <= m.slope_hi);
    /* 8 comparisons < min_experiments 10 */
    assert_int_equal(m.verdict, LW_EXP_NOT_ENOUGH);
    lw_exp_meta_release(&m);
    lw_exp_data_free(d);
    ref_free(&rf);
}

/* ---- known answers -------------------------------------------------------- */

static uint64_t lcg_state = 42;
static double unif(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg_state >> 11) / 9007199254740992.0;
}
static double gauss(void)
{
    double u = unif(), v = unif();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

static void add_cell(lw_exp_data *d, const char *e, const char *v, const char *m, lw_exp_window w,
                     double mean, double sd_bucket)
{
    char err[256];
    for (uint32_t b = 0; b < lw_exp_data_nb(d); b++) {
        lw_exp_row r = {.window = w, .bucket = b, .users = 100.0, .den = 100.0};
        snprintf(r.experiment, sizeof r.experiment, "%s", e);
        snprintf(r.variant, sizeof r.variant, "%s", v);
        snprintf(r.metric, sizeof r.metric, "%s", m);
        r.num = 100.0 * mean + sd_bucket * gauss();
        assert_int_equal(lw_exp_data_add(d, &r, err, sizeof err), LW_OK);
    }
}

/* n experiments: "good" moves the NSM at slope 0.5, "bad" (moved by its own
 * features) never does; a third of the experiments are null. */
static lw_exp_data *history(size_t n)
{
    lw_exp_data *d = lw_exp_data_new(32);
    assert_non_null(d);
    for (size_t k = 0; k < n; k++) {
        char e[24];
        snprintf(e, sizeof e, "x%zu", k);
        double good = 0.0, bad = 0.0;
        if (k % 3 == 0)
            good = 0.1 * gauss();
        else if (k % 3 == 1)
            bad = 0.1 * gauss();
        add_cell(d, e, "control", "good", LW_EXP_SHORT, 2.0, 3.0);
        add_cell(d, e, "treat", "good", LW_EXP_SHORT, 2.0 * (1 + good), 3.0);
        add_cell(d, e, "control", "bad", LW_EXP_SHORT, 2.0, 3.0);
        add_cell(d, e, "treat", "bad", LW_EXP_SHORT, 2.0 * (1 + bad), 3.0);
        add_cell(d, e, "control", "nsm", LW_EXP_LONG, 5.0, 5.0);
        add_cell(d, e, "treat", "nsm", LW_EXP_LONG, 5.0 * (1 + 0.5 * good), 5.0);
    }
    return d;
}

/* 20 three-arm experiments: each treatment moves "good" by its own effect
 * and the NSM at slope 0.5; the bootstrap draws whole experiments. */
static void test_multi_arm(void **state)
{
    (void)state;
    char err[256];
    lw_exp_data *d = lw_exp_data_new(32);
    for (size_t k = 0; k < 20; k++) {
        char e[24];
        snprintf(e, sizeof e, "m%zu", k);
        add_cell(d, e, "control", "good", LW_EXP_SHORT, 2.0, 3.0);
        add_cell(d, e, "control", "nsm", LW_EXP_LONG, 5.0, 5.0);
        for (int t = 0; t < 2; t++) {
            const double g = 0.1 * gauss();
            add_cell(d, e, t ? "t2" : "t1", "good", LW_EXP_SHORT, 2.0 * (1 + g), 3.0);
            add_cell(d, e, t ? "t2" : "t1", "nsm", LW_EXP_LONG, 5.0 * (1 + 0.5 * g), 5.0);
        }
    }
    lw_exp_opts o;
    lw_exp_opts_init(&o);
    lw_exp_meta m;
    assert_int_equal(
        lw_exp_meta_compute(d, "good", LW_EXP_SHORT, "nsm", LW_EXP_LONG, &o, &m, err, sizeof err),
        LW_OK);
    assert_int_equal(m.n, 40);
    assert_int_equal(m.verdict, LW_EXP_CONFIRMS);
    assert_true(m.slope_lo > 0.3 && m.slope_hi < 0.7 && fabs(m.slope - 0.5) < 0.1);
    assert_int_equal(m.points[0].experiment, m.points[1].experiment); /* arms in experiment order */
    lw_exp_meta_release(&m);
    lw_exp_data_free(d);
}

static void test_verdicts(void **state)
{
    (void)state;
    char err[256];
    lw_exp_data *d = history(45);
    const char *inputs[] = {"good", "bad"};
    lw_exp_roles roles = {.nsm = "nsm", .inputs = inputs, .ninputs = 2};
    lw_exp_opts o;
    lw_exp_opts_init(&o);
    lw_exp_analysis a;
    assert_int_equal(lw_exp_analyze(d, &roles, &o, &a, err, sizeof err), LW_OK);
    assert_int_equal(a.nexperiments, 45);
    assert_int_equal(a.experiments[0].narms, 1);
    const lw_exp_meta *g = &a.inputs[0], *b = &a.inputs[1];
    assert_int_equal(g->n, 45);
    assert_int_equal(g->verdict, LW_EXP_CONFIRMS);
    assert_true(fabs(g->slope - 0.5) < 0.1);
    assert_true(g->slope_lo > 0.3 && g->slope_hi < 0.7);
    /* null and bad-proxy experiments add false positives of random sign */
    assert_true(g->agreement >= 0.75 && g->corr > 0.9 && g->score > 0.8);
    assert_int_equal(b->verdict, LW_EXP_CONTRADICTS);
    assert_true(fabs(b->slope) < 0.1 && b->slope_hi < o.min_slope);
    /* the effects of an arm are lw_exp_effect_compute's */
    lw_exp_effect ef;
    lw_exp_effect_compute(d, 3, 1, "good", LW_EXP_SHORT, 0.05, &ef);
    assert_true(ef.rel == a.experiments[3].arms[0].inputs[0].rel);
    assert_false(a.experiments[3].arms[0].kpi.defined);
    /* the same data and seed give the same interval; another seed another */
    lw_exp_meta m2;
    assert_int_equal(
        lw_exp_meta_compute(d, "good", LW_EXP_SHORT, "nsm", LW_EXP_LONG, &o, &m2, err, sizeof err),
        LW_OK);
    assert_true(m2.slope_lo == g->slope_lo && m2.slope_hi == g->slope_hi);
    lw_exp_meta_release(&m2);
    lw_exp_analysis_release(&a);
    lw_exp_data_free(d);

    d = history(3);
    assert_int_equal(lw_exp_analyze(d, &roles, &o, &a, err, sizeof err), LW_OK);
    assert_int_equal(a.inputs[0].verdict, LW_EXP_NOT_ENOUGH);
    assert_non_null(strstr(a.inputs[0].reason, "fewer than 10"));
    lw_exp_analysis_release(&a);
    roles.ninputs = 0;
    assert_int_equal(lw_exp_analyze(d, &roles, &o, &a, err, sizeof err), LW_ERR_INVALID);
    roles.ninputs = 1;
    o.alpha = 0.7;
    assert_int_equal(lw_exp_analyze(d, &roles, &o, &a, err, sizeof err), LW_ERR_INVALID);
    lw_exp_data_free(d);
}

/* ---- the table -------------------------------------------------------------- */

static lw_exp_row row(const char *e, const char *v, uint32_t b, double users, double num)
{
    lw_exp_row r = {.window = LW_EXP_SHORT, .bucket = b, .users = users, .num = num, .den = users};
    snprintf(r.experiment, sizeof r.experiment, "%s", e);
    snprintf(r.variant, sizeof r.variant, "%s", v);
    snprintf(r.metric, sizeof r.metric, "m");
    return r;
}

static void test_table(void **state)
{
    (void)state;
    char err[256];
    assert_null(lw_exp_data_new(1));
    assert_null(lw_exp_data_new(LW_EXP_MAX_BUCKETS + 1));
    lw_exp_data *d = lw_exp_data_new(4);
    lw_exp_row r = row("e", "b", 0, 10, 5);
    assert_int_equal(lw_exp_data_add(d, &r, err, sizeof err), LW_OK);
    r = row("e", "control", 0, 10, 4);
    assert_int_equal(lw_exp_data_add(d, &r, err, sizeof err), LW_OK);
    assert_int_equal(lw_exp_data_add(d, &r, err, sizeof err), LW_OK); /* adds up */
    assert_true(lw_exp_data_users(d, 0, 1) == 20.0);
    assert_int_equal(lw_exp_data_control(d, 0), 1); /* named "control" */
    assert_int_equal(lw_exp_data_set_control(d, "e", "b", err, sizeof err), LW_OK);
    assert_int_equal(lw_exp_data_control(d, 0), 0);
    assert_int_equal(lw_exp_data_set_control(d, "e", "zz", err, sizeof err), LW_ERR_NOT_FOUND);
    assert_int_equal(lw_exp_data_set_weight(d, "e", "b", 0.0, err, sizeof err), LW_ERR_INVALID);
    /* SRM of 10 vs 20 users, equal shares: chi2 = (5^2 + 5^2) / 15 */
    lw_exp_srm s;
    lw_exp_srm_compute(d, 0, &s);
    assert_true(fabs(s.chi2 - 50.0 / 15.0) < 1e-12 && s.df == 1);
    /* bad rows */
    r = row("e", "b", 4, 1, 1);
    assert_int_equal(lw_exp_data_add(d, &r, err, sizeof err), LW_ERR_INVALID);
    r = row("e", "b", 0, -1, 1);
    assert_int_equal(lw_exp_data_add(d, &r, err, sizeof err), LW_ERR_INVALID);
    r = row("", "b", 0, 1, 1);
    assert_int_equal(lw_exp_data_add(d, &r, err, sizeof err), LW_ERR_INVALID);
    r = row("e", "b", 0, 1, NAN);
    assert_int_equal(lw_exp_data_add(d, &r, err, sizeof err), LW_ERR_INVALID);
    /* too many variants: a distinct error, nothing added */
    for (int v = 2; v < LW_EXP_MAX_VARIANTS; v++) {
        char name[16];
        snprintf(name, sizeof name, "v%d", v);
        r = row("e", name, 0, 1, 1);
        assert_int_equal(lw_exp_data_add(d, &r, err, sizeof err), LW_OK);
    }
    r = row("e", "one-too-many", 0, 1, 1);
    assert_int_equal(lw_exp_data_add(d, &r, err, sizeof err), LW_ERR_TOO_LARGE);
    assert_int_equal(lw_exp_data_nvariants(d, 0), LW_EXP_MAX_VARIANTS);
    /* an effect against a missing cell is undefined, not an error */
    lw_exp_effect ef;
    lw_exp_effect_compute(d, 0, 2, "nope", LW_EXP_SHORT, 0.05, &ef);
    assert_false(ef.defined);
    assert_true(isnan(lw_exp_effect_cov(d, 0, 2, "m", LW_EXP_SHORT, "nope", LW_EXP_LONG)));
    lw_exp_data_free(d);
    lw_exp_data_free(NULL);
}

/* many experiments: the hash tables grow and every row lands in its cell */
static void test_growth(void **state)
{
    (void)state;
    char err[256];
    lw_exp_data *d = lw_exp_data_new(2);
    for (int e = 0; e < 3000; e++) {
        char name[24];
        snprintf(name, sizeof name, "exp%d", e);
        lw_exp_row r = row(name, "control", (uint32_t)(e % 2), 10, e);
        assert_int_equal(lw_exp_data_add(d, &r, err, sizeof err), LW_OK);
        r = row(name, "t", (uint32_t)(e % 2), 10 + e, 2.0 * e);
        assert_int_equal(lw_exp_data_add(d, &r, err, sizeof err), LW_OK);
    }
    assert_int_equal(lw_exp_data_nexperiments(d), 3000);
    for (size_t e = 0; e < 3000; e += 7) {
        assert_true(lw_exp_data_users(d, e, 1) == 10.0 + (double)e);
        assert_string_equal(lw_exp_data_variant(d, e, 1), "t");
    }
    lw_exp_data_free(d);
}

static void test_csv(void **state)
{
    (void)state;
    char err[256];
    lw_exp_row r;
    assert_true(lw_exp_csv_is_header("experiment,variant,metric,window,bucket,users,num,den"));
    assert_true(lw_exp_csv_is_header("experiment,variant,metric,window,bucket,users,num,den\r"));
    assert_false(lw_exp_csv_is_header("experiment,variant,metric,window,bucket,users,num"));
    assert_int_equal(
        lw_exp_csv_parse_line("\"new, \"\"checkout\"\"\",B,orders,long,63,12,30.5,12\r", &r, err,
                              sizeof err),
        LW_OK);
    assert_string_equal(r.experiment, "new, \"checkout\"");
    assert_string_equal(r.variant, "B");
    assert_int_equal(r.window, LW_EXP_LONG);
    assert_int_equal(r.bucket, 63);
    assert_true(r.users == 12.0 && r.num == 30.5 && r.den == 12.0);
    static const struct {
        const char *line, *msg;
    } bad[] = {
        {"e,v,m,medium,0,1,1,1", "window"},
        {"e,v,m,short,1024,1,1,1", "bucket"},
        {"e,v,m,short,-1,1,1,1", "bucket"},
        {"e,v,m,short,0,1,1,1,9", "more than 8"},
        {"e,v,m,short,0,1,1", "line ends"},
        {"e,,m,short,0,1,1,1", "variant: empty"},
        {"e,v,m,short,0,1,x,1", "num"},
        {"e,v,m,short,0,1,inf,1", "num"},
        {"\"e,v,m,short,0,1,1,1", "unterminated"},
        {"e\"x,v,m,short,0,1,1,1", "stray quote"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(lw_exp_csv_parse_line(bad[i].line, &r, err, sizeof err), LW_ERR_INVALID);
        if (!strstr(err, bad[i].msg))
            fail_msg("%s: message '%s' lacks '%s'", bad[i].line, err, bad[i].msg);
    }
    char longname[300];
    memset(longname, 'a', 200);
    snprintf(longname + 200, 100, ",v,m,short,0,1,1,1");
    assert_int_equal(lw_exp_csv_parse_line(longname, &r, err, sizeof err), LW_ERR_INVALID);
    assert_non_null(strstr(err, "longer than"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference), cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_multi_arm), cmocka_unit_test(test_table),
        cmocka_unit_test(test_growth),    cmocka_unit_test(test_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
