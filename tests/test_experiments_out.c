/*
 * test_experiments_out.c - issue 16 on every surface: the experiments
 * writers (report/experiments_out.h), the per-edge "experiments" field of
 * the analysis outputs (analysis_out.h), the report's "Experiments"
 * section (HTML, Markdown, JSON: report.h) and the scatter chart (svg.h).
 *
 * Fixture: a small fixed aggregate table (12 two-arm experiments, 8 user
 * buckets, an LCG for the bucket noise): input "in" moves in every
 * experiment and the NSM "nsm" follows at slope 0.6; "idle" never moves.
 * lw_exp_analyze runs on it once; a time-series analysis of the tree
 * in, idle -> nsm runs on 120 synthetic rows.  The tests attach the first
 * to the second (as the session does) and check that each surface carries
 * the edge's verdict and numbers - parsed back from JSON with yajl and
 * compared to the lw_exp_meta to the last bit, or found in the text as the
 * writers format them - and that without experiments nothing appears.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "leadwatch/report/analysis_out.h"
#include "leadwatch/report/experiments_out.h"
#include "leadwatch/report/report.h"
#include "leadwatch/report/svg.h"

#define NEXP 12
#define NB 8
#define NROWS 120

static uint64_t lcg = 7;
static double unif(void)
{
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg >> 11) / 9007199254740992.0 - 0.5;
}

static void cell(lw_exp_data *d, const char *e, const char *v, const char *m, lw_exp_window w,
                 double mean)
{
    char err[256];
    for (uint32_t b = 0; b < NB; b++) {
        lw_exp_row r = {.window = w, .bucket = b, .users = 500.0, .den = 500.0};
        snprintf(r.experiment, sizeof r.experiment, "%s", e);
        snprintf(r.variant, sizeof r.variant, "%s", v);
        snprintf(r.metric, sizeof r.metric, "%s", m);
        r.num = 500.0 * mean * (1.0 + 0.01 * unif());
        assert_int_equal(lw_exp_data_add(d, &r, err, sizeof err), LW_OK);
    }
}

static const char *const NAMES[3] = {"in", "idle", "nsm"};
static const char *const EXP_INPUTS[2] = {"in", "idle"};
static struct {
    lw_exp_data *d;
    lw_exp_analysis x;
    lw_analysis_t *a;
    double vals[NROWS * 3];
    char label_store[NROWS][16];
    const char *labels[NROWS];
    lw_analyze_input_t in;
} fx;

static int setup(void **state)
{
    (void)state;
    char err[256];
    fx.d = lw_exp_data_new(NB);
    if (!fx.d)
        return -1;
    for (int k = 0; k < NEXP; k++) {
        char e[16];
        snprintf(e, sizeof e, "exp_%02d", k);
        double eff = 0.04 * ((k % 6) - 2.5); /* -10 % .. +10 % */
        cell(fx.d, e, "control", "in", LW_EXP_SHORT, 3.0);
        cell(fx.d, e, "treatment", "in", LW_EXP_SHORT, 3.0 * (1 + eff));
        cell(fx.d, e, "control", "idle", LW_EXP_SHORT, 2.0);
        cell(fx.d, e, "treatment", "idle", LW_EXP_SHORT, 2.0);
        cell(fx.d, e, "control", "nsm", LW_EXP_LONG, 10.0);
        cell(fx.d, e, "treatment", "nsm", LW_EXP_LONG, 10.0 * (1 + 0.6 * eff));
    }
    lw_exp_roles roles = {.nsm = "nsm", .inputs = EXP_INPUTS, .ninputs = 2};
    lw_exp_opts o;
    lw_exp_opts_init(&o);
    o.bootstrap = 400;
    if (lw_exp_analyze(fx.d, &roles, &o, &fx.x, err, sizeof err) != LW_OK)
        return -1;
    double x = 0, y = 0, z = 0;
    for (size_t t = 0; t < NROWS; t++) {
        x = 0.5 * x + unif();
        z = 0.5 * z + unif();
        y = 0.3 * y + 0.8 * x + 0.3 * unif();
        fx.vals[t * 3 + 0] = 100 + x;
        fx.vals[t * 3 + 1] = 50 + z;
        fx.vals[t * 3 + 2] = 200 + y;
        snprintf(fx.label_store[t], sizeof fx.label_store[t], "2024-%02zu-%02zu", 1 + t / 28,
                 1 + t % 28);
        fx.labels[t] = fx.label_store[t];
    }
    static const size_t inputs[2] = {0, 1};
    fx.in = (lw_analyze_input_t){.nrows = NROWS,
                                 .nseries = 3,
                                 .names = NAMES,
                                 .values = fx.vals,
                                 .labels = fx.labels,
                                 .nsm = 2,
                                 .kpi = -1,
                                 .ninputs = 2,
                                 .inputs = inputs};
    lw_analyze_opts_t ao;
    lw_analyze_opts_default(&ao);
    ao.max_lag = 4;
    ao.seasonal = LW_SEASONAL_NONE;
    return lw_analyze_tree(&ao, &fx.in, &fx.a, err, sizeof err) == LW_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    lw_analysis_free(fx.a);
    lw_exp_analysis_release(&fx.x);
    lw_exp_data_free(fx.d);
    return 0;
}

static char *render_analysis(lw_analysis_format_t f)
{
    char *buf = NULL, err[256];
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    assert_int_equal(lw_analysis_write(fx.a, f, m, err, sizeof err), LW_OK);
    fclose(m);
    return buf;
}

static char *render_report(lw_err_t (*fn)(const lw_report_input_t *, lw_buf_t *, char *, size_t))
{
    lw_report_input_t r = {.analysis = fx.a, .input = &fx.in, .generated_ms = 1735725600000};
    lw_buf_t b;
    char err[256];
    lw_buf_init(&b, LW_REPORT_MAX_BYTES);
    assert_int_equal(fn(&r, &b, err, sizeof err), LW_OK);
    char *s = strndup(b.data, b.len);
    lw_buf_release(&b);
    return s;
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static double num_at(yajl_val obj, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(obj, path, yajl_t_any);
    assert_non_null(v);
    return YAJL_IS_NULL(v) ? (double)NAN : YAJL_GET_DOUBLE(v);
}

static const char *str_at(yajl_val obj, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(obj, path, yajl_t_string);
    assert_non_null(v);
    return YAJL_GET_STRING(v);
}

/* An edge object of the experiments JSON against the meta it came from. */
static void check_edge(yajl_val e, const lw_exp_meta *m, bool with_points)
{
    assert_string_equal(str_at(e, "verdict"), lw_exp_verdict_name(m->verdict));
    assert_string_equal(str_at(e, "reason"), m->reason);
    assert_true(num_at(e, "n") == (double)m->n);
    assert_true(num_at(e, "n_from_significant") == (double)m->n_x_sig);
    const char *keys[] = {"sensitivity", "agreement", "slope", "slope_lo", "slope_hi"};
    const double want[] = {m->sensitivity, m->agreement, m->slope, m->slope_lo, m->slope_hi};
    for (size_t i = 0; i < 5; i++) {
        double got = num_at(e, keys[i]);
        if (isfinite(want[i]))
            assert_true(got == want[i]); /* %.17g round-trips */
        else
            assert_true(isnan(got));
    }
    const char *pp[] = {"points", NULL};
    yajl_val pts = yajl_tree_get(e, pp, yajl_t_array);
    if (with_points) {
        assert_non_null(pts);
        assert_int_equal(YAJL_GET_ARRAY(pts)->len, m->n);
    } else {
        assert_null(pts);
    }
}

/* The fixture is what it claims: "in" confirmed on 12 comparisons, "idle" not. */
static void test_fixture_and_edge_lookup(void **state)
{
    (void)state;
    lw_exp_window w = LW_EXP_LONG;
    const lw_exp_meta *m = lw_exp_analysis_edge(&fx.x, "in", "nsm", &w);
    assert_ptr_equal(m, &fx.x.inputs[0]);
    assert_int_equal(w, LW_EXP_SHORT);
    assert_int_equal(m->n, NEXP);
    assert_int_equal(m->verdict, LW_EXP_CONFIRMS);
    assert_true(m->slope > 0.4 && m->slope < 0.8);
    assert_ptr_equal(lw_exp_analysis_edge(&fx.x, "idle", "nsm", NULL), &fx.x.inputs[1]);
    assert_int_equal(fx.x.inputs[1].verdict, LW_EXP_NOT_ENOUGH);
    assert_null(lw_exp_analysis_edge(&fx.x, "nsm", "in", NULL));
    assert_null(lw_exp_analysis_edge(&fx.x, "in", "other", NULL));
    assert_null(lw_exp_analysis_edge(&fx.x, "nsm", "kpi", NULL)); /* no KPI role */
    assert_null(lw_exp_analysis_edge(NULL, "in", "nsm", NULL));
}

/* analyze --format json/text/md: the field appears only with experiments. */
static void test_analysis_field(void **state)
{
    (void)state;
    fx.a->experiments = NULL;
    char *plain_json = render_analysis(LW_ANALYSIS_JSON);
    char *plain_text = render_analysis(LW_ANALYSIS_TEXT);
    char *plain_md = render_analysis(LW_ANALYSIS_MD);
    assert_null(strstr(plain_json, "\"experiments\""));
    assert_null(strstr(plain_text, "experiments:"));
    assert_null(strstr(plain_md, "experiments:"));

    fx.a->experiments = &fx.x;
    char *json = render_analysis(LW_ANALYSIS_JSON);
    char *text = render_analysis(LW_ANALYSIS_TEXT);
    char *md = render_analysis(LW_ANALYSIS_MD);
    fx.a->experiments = NULL;
    char eb[256];
    yajl_val doc = yajl_tree_parse(json, eb, sizeof eb);
    assert_non_null(doc);
    const char *ep[] = {"edges", NULL};
    yajl_val edges = yajl_tree_get(doc, ep, yajl_t_array);
    assert_non_null(edges);
    assert_int_equal(YAJL_GET_ARRAY(edges)->len, 2);
    for (size_t i = 0; i < 2; i++) {
        yajl_val e = YAJL_GET_ARRAY(edges)->values[i];
        const char *xp[] = {"experiments", NULL};
        yajl_val x = yajl_tree_get(e, xp, yajl_t_object);
        assert_non_null(x);
        assert_string_equal(str_at(x, "from"), str_at(e, "from"));
        assert_string_equal(str_at(x, "from_window"), "short");
        check_edge(x, lw_exp_analysis_edge(&fx.x, str_at(e, "from"), "nsm", NULL), false);
    }
    yajl_tree_free(doc);
    /* text and Markdown: one line per edge after its reasons, the same numbers */
    const lw_exp_meta *m = &fx.x.inputs[0];
    char want[160];
    snprintf(want, sizeof want, "  experiments: confirms: n %zu, moved %zu (sensitivity %.3g)",
             m->n, m->n_x_sig, m->sensitivity);
    assert_non_null(strstr(text, want));
    snprintf(want, sizeof want, "- experiments: **confirms**: n %zu, moved %zu", m->n, m->n_x_sig);
    assert_non_null(strstr(md, want));
    snprintf(want, sizeof want, "slope %.3g [%.3g, %.3g]", m->slope, m->slope_lo, m->slope_hi);
    assert_non_null(strstr(text, want));
    assert_int_equal(count(text, "  experiments: "), 2);
    /* nothing else changed: removing the experiments lines gives the plain text */
    size_t n = strlen(text), k = 0;
    char *stripped = malloc(n + 1);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
        if (strncmp(p, "  experiments: ", 15) != 0) {
            memcpy(stripped + k, p, len);
            k += len;
        }
        p += len;
    }
    stripped[k] = '\0';
    assert_string_equal(stripped, plain_text);
    free(stripped);
    free(plain_json);
    free(plain_text);
    free(plain_md);
    free(json);
    free(text);
    free(md);
}

/* The CLI's JSON document and report.json's "experiments" are one writer's. */
static void test_experiments_json(void **state)
{
    (void)state;
    char *buf = NULL, err[256], eb[256];
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(lw_exp_write_json(&fx.x, f, err, sizeof err), LW_OK);
    fclose(f);
    yajl_val doc = yajl_tree_parse(buf, eb, sizeof eb);
    assert_non_null(doc);
    const char *ep[] = {"edges", NULL};
    yajl_val edges = yajl_tree_get(doc, ep, yajl_t_array);
    assert_int_equal(YAJL_GET_ARRAY(edges)->len, 2);
    check_edge(YAJL_GET_ARRAY(edges)->values[0], &fx.x.inputs[0], true);
    check_edge(YAJL_GET_ARRAY(edges)->values[1], &fx.x.inputs[1], true);
    const char *xp[] = {"experiments", NULL};
    assert_int_equal(YAJL_GET_ARRAY(yajl_tree_get(doc, xp, yajl_t_array))->len, NEXP);
    yajl_tree_free(doc);

    fx.a->experiments = &fx.x;
    char *rj = render_report(lw_report_json);
    fx.a->experiments = NULL;
    char *plain = render_report(lw_report_json);
    assert_null(strstr(plain, "\"experiments\""));
    /* the embedded document is the CLI's, re-indented by the enclosing writer */
    yajl_val r = yajl_tree_parse(rj, eb, sizeof eb);
    assert_non_null(r);
    const char *rp[] = {"experiments", "edges", NULL};
    yajl_val redges = yajl_tree_get(r, rp, yajl_t_array);
    assert_non_null(redges);
    check_edge(YAJL_GET_ARRAY(redges)->values[0], &fx.x.inputs[0], true);
    const char *ap[] = {"analysis", "edges", NULL};
    yajl_val aedges = yajl_tree_get(r, ap, yajl_t_array);
    const char *fp[] = {"experiments", NULL};
    check_edge(yajl_tree_get(YAJL_GET_ARRAY(aedges)->values[0], fp, yajl_t_object), &fx.x.inputs[0],
               false);
    yajl_tree_free(r);
    free(rj);
    free(plain);
    free(buf);
}

/* The HTML section: one figure per covered edge, its numbers, one point per comparison. */
static void test_report_html_section(void **state)
{
    (void)state;
    char *plain = render_report(lw_report_html);
    assert_null(strstr(plain, "id=\"experiments\""));
    assert_null(strstr(plain, "lw-chart-scatter"));
    fx.a->experiments = &fx.x;
    char *h = render_report(lw_report_html);
    fx.a->experiments = NULL;
    const char *sec = strstr(h, "<section id=\"experiments\"><h2>Experiments</h2>");
    assert_non_null(sec);
    const char *end = strstr(sec, "</section>");
    assert_non_null(end);
    /* before the data quality section, after the edges */
    assert_true(sec > strstr(h, "id=\"edges\"") && sec < strstr(h, "id=\"quality\""));
    const lw_exp_meta *m = &fx.x.inputs[0];
    char want[256];
    snprintf(want, sizeof want,
             "<figure class=\"lw-exp\" data-from=\"in\" data-to=\"nsm\" data-verdict=\"confirms\" "
             "data-n=\"%d\"",
             NEXP);
    const char *fig = strstr(sec, want);
    assert_non_null(fig);
    assert_true(fig < end);
    const char *fig_end = strstr(fig, "</figure>");
    snprintf(want, sizeof want, "%zu comparisons; the input moved significantly in %zu (%.0f%%)",
             m->n, m->n_x_sig, 100.0 * m->sensitivity);
    assert_non_null(strstr(fig, want));
    snprintf(want, sizeof want, "<span class=\"lw-exp-slope\">%.3g</span> [%.3g, %.3g]", m->slope,
             m->slope_lo, m->slope_hi);
    assert_non_null(strstr(fig, want));
    /* the scatter: one marker per comparison, the fitted line, a plot area */
    char *f = strndup(fig, (size_t)(fig_end - fig));
    assert_int_equal(count(f, "<circle class=\"lw-point\""), NEXP);
    assert_int_equal(count(f, "class=\"lw-fit\""), 1);
    assert_int_equal(count(f, "lw-chart-scatter"), 1);
    assert_int_equal(count(f, "lw-plot"), 1);
    assert_null(strstr(f, "nan"));
    free(f);
    assert_non_null(strstr(sec, "data-from=\"idle\" data-to=\"nsm\" data-verdict=\"not_enough\""));
    char *s = strndup(sec, (size_t)(end - sec));
    assert_int_equal(count(s, "<figure class=\"lw-exp\""), 2);
    /* chart text at least 12 px */
    assert_null(strstr(s, "font-size=\"11"));
    assert_null(strstr(s, "font-size=\"10"));
    free(s);
    free(h);
    free(plain);
}

/* Markdown: the edge table and one table per edge, a row per comparison. */
static void test_report_markdown(void **state)
{
    (void)state;
    char *plain = render_report(lw_report_markdown);
    assert_null(strstr(plain, "## Experiments"));
    fx.a->experiments = &fx.x;
    char *md = render_report(lw_report_markdown);
    fx.a->experiments = NULL;
    const char *sec = strstr(md, "## Experiments\n");
    assert_non_null(sec);
    assert_true(sec < strstr(md, "## Data quality"));
    const lw_exp_meta *m = &fx.x.inputs[0];
    char want[256];
    snprintf(want, sizeof want, "| in -> nsm | **confirms** | %zu | %zu |", m->n, m->n_x_sig);
    assert_non_null(strstr(sec, want));
    const char *t = strstr(sec, "### in -> nsm: confirms");
    assert_non_null(t);
    const char *t2 = strstr(t, "### idle -> nsm: not_enough");
    assert_non_null(t2);
    char *tab = strndup(t, (size_t)(t2 - t));
    assert_int_equal(count(tab, "\n| exp_"), NEXP);
    /* the first comparison's effects with their intervals, as the writer formats them */
    const lw_exp_point *p = &m->points[0];
    const double z = lw_exp_out_z(&fx.x);
    snprintf(want, sizeof want, "| exp_00 | treatment | %+.2f%% [%+.2f%%, %+.2f%%]", 100 * p->x,
             100 * (p->x - z * p->se_x), 100 * (p->x + z * p->se_x));
    assert_non_null(strstr(tab, want));
    free(tab);
    free(md);
    free(plain);
}

/* The scatter on its own: clipping and the line that misses the plot. */
static void test_scatter_chart(void **state)
{
    (void)state;
    lw_svg_point_t pts[3] = {
        {.x = 1, .y = 2, .x_lo = 0, .x_hi = 2, .y_lo = -50, .y_hi = 50, .filled = true},
        {.x = -1, .y = -1, .x_lo = NAN, .x_hi = NAN, .y_lo = NAN, .y_hi = NAN, .label = "a<b"},
        {.x = NAN, .y = 3}};
    lw_svg_scatter_opts_t o = {.frame = {.title = "t", .x_label = "x", .y_label = "y"},
                               .points = pts,
                               .n = 3,
                               .line = true,
                               .line_x = 0,
                               .line_y = 0,
                               .line_slope = 1,
                               .line_label = "slope 1"};
    lw_buf_t b;
    char err[128];
    lw_buf_init(&b, 1 << 20);
    assert_int_equal(lw_svg_scatter_chart(&b, &o, err, sizeof err), LW_OK);
    char *s = strndup(b.data, b.len);
    assert_int_equal(count(s, "<circle class=\"lw-point\""), 2); /* NaN x: not drawn */
    assert_int_equal(count(s, "class=\"lw-fit\""), 1);
    assert_non_null(strstr(s, "a&lt;b: "));
    assert_null(strstr(s, "nan"));
    free(s);
    lw_buf_rewind(&b, 0);
    o.line_y = 1000; /* far above the plot */
    o.line_slope = 0;
    assert_int_equal(lw_svg_scatter_chart(&b, &o, err, sizeof err), LW_OK);
    s = strndup(b.data, b.len);
    assert_null(strstr(s, "lw-fit"));
    free(s);
    lw_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_and_edge_lookup), cmocka_unit_test(test_analysis_field),
        cmocka_unit_test(test_experiments_json),        cmocka_unit_test(test_report_html_section),
        cmocka_unit_test(test_report_markdown),         cmocka_unit_test(test_scatter_chart)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
