/*
 * test_report.c - golden-structure tests of the validation report (report.h).
 *
 * Fixture: one fixed analysis, built once per run from the product
 * simulator's latent daily series (seed 1, 365 days from 2024-01-01, default
 * model; docs/SIMULATOR.md states its lead structure), with one outage day
 * (every value missing) at row 5.  The tree is the simulator's: active
 * users, sessions per user, playlists, searches, track shares ->
 * listening minutes -> revenue.  Options are the analysis defaults.
 *
 * The HTML is not compared byte for byte: a small tag scanner (below)
 * walks the page, checks that every element is closed in order, and
 * collects what the report promises: one <section class="lw-edge"> per edge
 * with the edge's from/to/verdict, five charts in each analysable edge
 * section, a drawing area (.lw-plot) in every chart, one headline line per
 * edge whose numbers (lead, elasticity) are the analysis' numbers.  The
 * Markdown and JSON are checked the same way (JSON parsed back with yajl).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "leadwatch/report/report.h"
#include "leadwatch/model/simulate.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/store/store.h"

#define NDAYS 365
#define NSER 7
#define GAP_ROW 5

static const char *const fx_names[NSER] = {"active_users", "sessions_per_user", "playlists_created",
                                           "searches",     "track_shared",      "listening_minutes",
                                           "revenue"};
static const char *const fx_odd_names[NSER] = {
    "active_users", "sessions_per_user", "playlists_created",
    "a<b&c \"q\"",  "track_shared",      "listening_minutes",
    "revenue"};

typedef struct {
    double values[NDAYS * NSER];
    char label_buf[NDAYS][16];
    const char *labels[NDAYS];
    size_t inputs[5];
    lw_analyze_input_t in;
    lw_analysis_t *a;
} fixture_t;

static fixture_t fx;

static const lw_report_counter_t fx_counters[] = {{"events.accepted", 1000000},
                                                  {"events.late", 17},
                                                  {"rejected.invalid_json", 3},
                                                  {"rejected.missing_user", 4},
                                                  {"missing_value.revenue", 2}};

static int fixture_setup(void **state)
{
    (void)state;
    char err[256];
    lw_sim_opts_t o;
    lw_sim_opts_default(&o);
    o.days = NDAYS;
    lw_sim_t *sim = lw_sim_new(&o, err, sizeof err);
    if (!sim)
        return -1;
    for (int t = 0; t < NDAYS; t++) {
        lw_sim_latent_t l;
        lw_sim_latent(sim, t, &l);
        double *row = fx.values + (size_t)t * NSER;
        row[0] = l.active_users;
        row[1] = l.sessions_per_user;
        row[2] = l.playlists;
        row[3] = l.searches;
        row[4] = l.shares;
        row[5] = l.listening_ms / 60000.0;
        row[6] = l.revenue;
        if (t == GAP_ROW)
            for (int k = 0; k < NSER; k++)
                row[k] = NAN;
        lw_time_format_date(o.start_ms + (int64_t)t * LW_MS_PER_DAY, fx.label_buf[t],
                            sizeof fx.label_buf[t]);
        fx.labels[t] = fx.label_buf[t];
    }
    lw_sim_destroy(sim);
    for (size_t i = 0; i < 5; i++)
        fx.inputs[i] = i;
    fx.in = (lw_analyze_input_t){.nrows = NDAYS,
                                 .nseries = NSER,
                                 .names = fx_names,
                                 .values = fx.values,
                                 .labels = fx.labels,
                                 .bucket_ms = LW_MS_PER_DAY,
                                 .nsm = 5,
                                 .kpi = 6,
                                 .ninputs = 5,
                                 .inputs = fx.inputs};
    lw_analyze_opts_t ao;
    lw_analyze_opts_default(&ao);
    return lw_analyze_tree(&ao, &fx.in, &fx.a, err, sizeof err) == LW_OK ? 0 : -1;
}

static int fixture_teardown(void **state)
{
    (void)state;
    lw_analysis_free(fx.a);
    return 0;
}

static lw_report_input_t fx_input(void)
{
    return (lw_report_input_t){.analysis = fx.a,
                               .input = &fx.in,
                               .title = "Test report",
                               .generated_ms = INT64_C(1735725600000), /* 2025-01-01T10:00:00Z */
                               .config_path = "test.yaml",
                               .provisional = 2,
                               .counters = fx_counters,
                               .ncounters = sizeof fx_counters / sizeof fx_counters[0]};
}

static char *render(lw_err_t (*fn)(const lw_report_input_t *, lw_buf_t *, char *, size_t),
                    const lw_report_input_t *r)
{
    lw_buf_t b;
    char err[256];
    lw_buf_init(&b, LW_REPORT_MAX_BYTES);
    lw_err_t e = fn(r, &b, err, sizeof err);
    if (e != LW_OK)
        fail_msg("render: %s", err);
    size_t len;
    return lw_buf_detach(&b, &len);
}

static size_t count_str(const char *s, const char *needle);

/* ------------------------------------------------------------ tag scanner */

#define MAX_STACK 64
#define MAX_SECTIONS 16

typedef struct {
    char from[160], to[160], verdict[32], vclass[48];
    int charts;
} esec_t;

typedef struct {
    bool well_formed;
    char error[200];
    int charts, charts_with_plot, plots_outside_chart;
    int headline_items;
    char headline_text[MAX_SECTIONS][600];
    char headline_lead[MAX_SECTIONS][16];
    int nsections;
    esec_t sec[MAX_SECTIONS];
    int changes;
    char changes_text[2000];
} doc_t;

typedef struct {
    char name[16];
    bool chart, edge, headline_li, change_li;
    int sec;        /* edge section index, or -1 */
    bool has_plot;  /* chart: saw a .lw-plot inside */
    size_t text_at; /* li: where its text starts */
} open_t;

static bool attr(const char *tag, size_t len, const char *name, char *out, size_t size)
{
    char pat[48];
    snprintf(pat, sizeof pat, " %s=\"", name);
    size_t pl = strlen(pat);
    for (size_t i = 0; i + pl <= len; i++) {
        if (memcmp(tag + i, pat, pl) != 0)
            continue;
        const char *v = tag + i + pl, *e = memchr(v, '"', len - i - pl);
        if (!e)
            return false;
        size_t n = (size_t)(e - v) < size - 1 ? (size_t)(e - v) : size - 1;
        memcpy(out, v, n);
        out[n] = '\0';
        return true;
    }
    return false;
}

static bool has_class(const char *tag, size_t len, const char *cls)
{
    char v[256];
    if (!attr(tag, len, "class", v, sizeof v))
        return false;
    size_t cl = strlen(cls);
    for (char *p = v; (p = strstr(p, cls)) != NULL; p += cl)
        if ((p == v || p[-1] == ' ') && (p[cl] == '\0' || p[cl] == ' '))
            return true;
    return false;
}

/* Text of s[a..b) without tags, entities left as they are. */
static void strip_tags(const char *s, size_t a, size_t b, char *out, size_t size)
{
    size_t n = 0;
    bool in = false;
    for (size_t i = a; i < b && n + 1 < size; i++) {
        if (s[i] == '<')
            in = true;
        else if (s[i] == '>')
            in = false;
        else if (!in)
            out[n++] = s[i];
    }
    out[n] = '\0';
}

static void scan_html(const char *h, doc_t *d)
{
    memset(d, 0, sizeof *d);
    open_t st[MAX_STACK];
    int sp = 0;
    static const char *const voids[] = {"meta", "br", "img", "link", "hr", "input"};
    d->well_formed = true;
    for (const char *p = h; (p = strchr(p, '<')) != NULL;) {
        if (strncmp(p, "<!--", 4) == 0) {
            p = strstr(p, "-->");
            if (!p)
                break;
            continue;
        }
        if (p[1] == '!') {
            p = strchr(p, '>');
            continue;
        }
        const char *e = strchr(p, '>');
        if (!e) {
            snprintf(d->error, sizeof d->error, "unterminated tag");
            d->well_formed = false;
            return;
        }
        size_t len = (size_t)(e - p) + 1;
        if (p[1] == '/') {
            char name[16] = "";
            sscanf(p + 2, "%15[a-zA-Z0-9]", name);
            if (sp == 0 || strcmp(st[sp - 1].name, name) != 0) {
                snprintf(d->error, sizeof d->error, "</%s> closes <%s> at byte %zu", name,
                         sp ? st[sp - 1].name : "(none)", (size_t)(p - h));
                d->well_formed = false;
                return;
            }
            open_t *o = &st[--sp];
            if (o->chart && o->has_plot)
                d->charts_with_plot++;
            if (o->headline_li && d->headline_items <= MAX_SECTIONS)
                strip_tags(h, o->text_at, (size_t)(p - h), d->headline_text[d->headline_items - 1],
                           sizeof d->headline_text[0]);
            if (o->change_li) {
                char t[400];
                strip_tags(h, o->text_at, (size_t)(p - h), t, sizeof t);
                strncat(d->changes_text, t, sizeof d->changes_text - strlen(d->changes_text) - 2);
                strcat(d->changes_text, "\n");
            }
            p = e + 1;
            continue;
        }
        open_t o = {.sec = sp ? st[sp - 1].sec : -1};
        sscanf(p + 1, "%15[a-zA-Z0-9]", o.name);
        bool selfclose = e[-1] == '/';
        for (size_t v = 0; v < sizeof voids / sizeof voids[0]; v++)
            selfclose |= strcmp(o.name, voids[v]) == 0;
        if (strcmp(o.name, "section") == 0 && has_class(p, len, "lw-edge") &&
            d->nsections < MAX_SECTIONS) {
            esec_t *s = &d->sec[d->nsections];
            attr(p, len, "data-from", s->from, sizeof s->from);
            attr(p, len, "data-to", s->to, sizeof s->to);
            attr(p, len, "data-verdict", s->verdict, sizeof s->verdict);
            char cls[200];
            attr(p, len, "class", cls, sizeof cls);
            char *v = strstr(cls, "lw-v-");
            snprintf(s->vclass, sizeof s->vclass, "%s", v ? v + 5 : "");
            o.sec = d->nsections++;
            o.edge = true;
        }
        if (strcmp(o.name, "svg") == 0 && has_class(p, len, "lw-chart")) {
            o.chart = true;
            d->charts++;
            if (o.sec >= 0)
                d->sec[o.sec].charts++;
        }
        if (has_class(p, len, "lw-plot")) {
            int k = sp - 1;
            while (k >= 0 && !st[k].chart)
                k--;
            if (k >= 0)
                st[k].has_plot = true;
            else
                d->plots_outside_chart++;
        }
        if (strcmp(o.name, "li") == 0 && has_class(p, len, "lw-edge-line")) {
            o.headline_li = true;
            o.text_at = (size_t)(e + 1 - h);
            if (d->headline_items < MAX_SECTIONS)
                attr(p, len, "data-lead", d->headline_lead[d->headline_items],
                     sizeof d->headline_lead[0]);
            d->headline_items++;
        }
        if (strcmp(o.name, "li") == 0 && has_class(p, len, "lw-change")) {
            o.change_li = true;
            o.text_at = (size_t)(e + 1 - h);
            d->changes++;
        }
        if (strcmp(o.name, "style") == 0) { /* raw text up to </style> */
            p = strstr(e, "</style>");
            if (!p)
                break;
            p += 8;
            continue;
        }
        if (!selfclose) {
            if (sp == MAX_STACK) {
                snprintf(d->error, sizeof d->error, "nesting deeper than %d", MAX_STACK);
                d->well_formed = false;
                return;
            }
            st[sp++] = o;
        } else if (o.chart && o.has_plot) {
            d->charts_with_plot++;
        }
        p = e + 1;
    }
    if (sp != 0) {
        snprintf(d->error, sizeof d->error, "%d unclosed elements, innermost <%s>", sp,
                 st[sp - 1].name);
        d->well_formed = false;
    }
}

/* ------------------------------------------------------------ tests */

static void test_fixture_is_analysable(void **state)
{
    (void)state;
    /* the golden numbers below assume every step ran on every edge */
    assert_int_equal(fx.a->nedges, 6);
    for (size_t i = 0; i < fx.a->nedges; i++) {
        const lw_edge_result_t *e = &fx.a->edges[i];
        assert_true(e->analysed);
        assert_int_equal(e->ccf_status, LW_STEP_OK);
        assert_int_equal(e->stab_status, LW_STEP_OK);
        assert_int_equal(e->sens_status, LW_STEP_OK);
    }
}

static void test_html_structure(void **state)
{
    (void)state;
    lw_report_input_t r = fx_input();
    char *h = render(lw_report_html, &r);
    doc_t *d = calloc(1, sizeof *d);
    scan_html(h, d);
    if (!d->well_formed)
        fail_msg("not well formed: %s", d->error);
    /* the tree at two widths, one small multiple per tree metric but the KPI (NSM +
       inputs, indexed), no history strip (no stored verdicts), and per edge 6: the values
       chart at two widths + CCF, Granger p, p history, MDE in the statistics <details> */
    assert_int_equal(d->charts, 2 + (1 + 5) + 6 * (int)fx.a->nedges);
    assert_int_equal(d->charts_with_plot, d->charts);
    assert_int_equal(d->plots_outside_chart, 0);
    assert_int_equal(d->nsections, (int)fx.a->nedges);
    assert_int_equal(d->headline_items, (int)fx.a->nedges);
    for (size_t i = 0; i < fx.a->nedges; i++) {
        const lw_edge_result_t *e = &fx.a->edges[i];
        assert_string_equal(d->sec[i].from, e->from);
        assert_string_equal(d->sec[i].to, e->to);
        assert_string_equal(d->sec[i].verdict, lw_verdict_name(e->verdict));
        assert_int_equal(d->sec[i].charts, 6);
        char sentence[512];
        lw_report_sentence(fx.a, i, NULL, sentence, sizeof sentence);
        /* the headline shows the sentence (escaped: none of these names need it) */
        assert_non_null(strstr(d->headline_text[i], sentence));
    }
    /* sections in the order the report promises */
    const char *order[] = {"id=\"headline\"", "id=\"tree\"",     "id=\"series\"",
                           "id=\"history\"",  "id=\"changes\"",  "id=\"edges\"",
                           "id=\"quality\"",  "id=\"glossary\"", "id=\"methods\""};
    const char *prev = h;
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        const char *at = strstr(h, order[k]);
        assert_non_null(at);
        assert_true(at > prev);
        prev = at;
    }
    /* self-contained: no scripts, no external references, no nan/inf */
    assert_null(strstr(h, "<script"));
    assert_null(strstr(h, "src="));
    assert_null(strstr(h, "url("));
    assert_null(strstr(h, "https://"));
    for (const char *p = h; (p = strstr(p, "http://")) != NULL; p++)
        assert_true(strncmp(p - 7, "xmlns=\"http://www.w3.org/2000/svg", 33) == 0);
    assert_null(strstr(h, "nan"));
    assert_null(strstr(h, "inf\""));
    assert_non_null(strstr(h, "@media print"));
    assert_true(strlen(h) < 2u * 1024 * 1024);
    free(d);
    free(h);
}

/* Number after `key` in s, e.g. "by " -> 3. */
static double number_after(const char *s, const char *key)
{
    const char *p = strstr(s, key);
    if (!p)
        fail_msg("'%s' not in '%s'", key, s);
    return strtod(p + strlen(key), NULL);
}

static void test_headline_numbers(void **state)
{
    (void)state;
    lw_report_input_t r = fx_input();
    char *h = render(lw_report_html, &r);
    doc_t *d = calloc(1, sizeof *d);
    scan_html(h, d);
    int nleads = 0;
    for (size_t i = 0; i < fx.a->nedges; i++) {
        const lw_edge_result_t *e = &fx.a->edges[i];
        const char *t = d->headline_text[i];
        if (e->verdict == LW_VERDICT_LEADS) {
            nleads++;
            size_t lead = e->lead ? e->lead : e->lag;
            assert_int_equal((size_t)number_after(t, " by "), lead);
            assert_int_equal(strtoul(d->headline_lead[i], NULL, 10), lead);
            assert_non_null(strstr(t, lead == 1 ? " day;" : " days;"));
            assert_true(e->elasticity_defined);
            /* "+1% → +0.96%": the elasticity (percent per percent), rounded for print */
            double shown = number_after(t, "+1% \xE2\x86\x92 ");
            assert_true(fabs(shown - e->elasticity) <= 0.0051 + 0.05 * (fabs(e->elasticity) >= 1));
        } else if (e->verdict == LW_VERDICT_REVERSE) {
            assert_int_equal((size_t)number_after(t, " by "), e->lag_reverse);
            assert_non_null(strstr(t, "reverse"));
        }
    }
    /* the simulator's truth (docs/SIMULATOR.md): leads at 1, 2, 3 days; the NSM
       leads revenue by 5 and track shares follow the NSM */
    assert_non_null(strstr(d->headline_text[0], "Active users leads listening minutes by 1 day;"));
    assert_non_null(
        strstr(d->headline_text[1], "Sessions per user leads listening minutes by 2 days;"));
    assert_non_null(
        strstr(d->headline_text[2], "Playlists created leads listening minutes by 3 days;"));
    /* reverse: the lag AIC chooses on one common sample (issue 11), the true 2 or above
       (as test_analyze's convention for AIC); the outage day interpolated makes it 3 here */
    {
        char want[96];
        const size_t lr = fx.a->edges[4].lag_reverse;
        assert_true(lr >= 2);
        snprintf(want, sizeof want, "Listening minutes leads track shared by %zu days", lr);
        assert_non_null(strstr(d->headline_text[4], want));
    }
    assert_non_null(strstr(d->headline_text[5], "Listening minutes leads revenue by 5 days;"));
    assert_true(nleads >= 4);
    free(d);
    free(h);
}

static void test_escaping(void **state)
{
    (void)state;
    lw_analyze_input_t in = fx.in;
    in.names = fx_odd_names;
    lw_analyze_opts_t ao;
    lw_analyze_opts_default(&ao);
    lw_analysis_t *a = NULL;
    char err[256];
    assert_int_equal(lw_analyze_tree(&ao, &in, &a, err, sizeof err), LW_OK);
    lw_report_input_t r = fx_input();
    r.analysis = a;
    r.input = &in;
    r.title = "Q&A <report>";
    char *h = render(lw_report_html, &r);
    doc_t *d = calloc(1, sizeof *d);
    scan_html(h, d);
    if (!d->well_formed)
        fail_msg("not well formed: %s", d->error);
    assert_string_equal(d->sec[3].from, "a&lt;b&amp;c &quot;q&quot;");
    assert_null(strstr(h, "a<b"));
    assert_non_null(strstr(h, "<h1>Q&amp;A &lt;report&gt;</h1>"));
    char *m = render(lw_report_markdown, &r);
    assert_non_null(strstr(m, "a\\<b&c"));
    char *j = render(lw_report_json, &r);
    yajl_val root = yajl_tree_parse(j, err, sizeof err);
    if (!root)
        fail_msg("JSON: %s", err);
    const char *path[] = {"report", "verdicts", NULL};
    yajl_val v = yajl_tree_get(root, path, yajl_t_array);
    assert_non_null(v);
    const char *from[] = {"from", NULL};
    assert_string_equal(YAJL_GET_STRING(yajl_tree_get(v->u.array.values[3], from, yajl_t_string)),
                        "a<b&c \"q\"");
    yajl_tree_free(root);
    free(j);
    free(m);
    free(d);
    free(h);
    lw_analysis_free(a);
}

static void test_markdown(void **state)
{
    (void)state;
    lw_report_input_t r = fx_input();
    char *m = render(lw_report_markdown, &r);
    assert_true(strncmp(m, "# Test report\n", 14) == 0);
    const char *sections[] = {"\n## Headline\n", "\n## Changes since the previous report\n",
                              "\n## Details\n", "\n## Data quality\n", "\n## Methods\n"};
    const char *prev = m;
    for (size_t k = 0; k < 5; k++) {
        const char *at = strstr(m, sections[k]);
        assert_non_null(at);
        assert_true(at > prev);
        prev = at;
    }
    for (size_t i = 0; i < fx.a->nedges; i++) {
        char sentence[512], line[600];
        lw_report_sentence(fx.a, i, NULL, sentence, sizeof sentence);
        /* names with underscores do not occur in sentences (they read as words) */
        snprintf(line, sizeof line, "** — %s\n", sentence);
        assert_non_null(strstr(m, line));
    }
    assert_non_null(strstr(m, "First report in this directory"));
    assert_non_null(strstr(m, "- 7 events rejected, 17 late events\n"));
    assert_non_null(strstr(m, "- 2 provisional days left out, 1 gap day\n"));
    assert_non_null(strstr(m, "\xCE\xB1 = 0.05"));
    free(m);
}

static void test_json(void **state)
{
    (void)state;
    lw_report_input_t r = fx_input();
    char *j = render(lw_report_json, &r);
    char err[256];
    yajl_val root = yajl_tree_parse(j, err, sizeof err);
    if (!root)
        fail_msg("JSON: %s", err);
    const char *schema[] = {"schema", NULL}, *aschema[] = {"analysis", "schema", NULL},
               *verdicts[] = {"report", "verdicts", NULL}, *edges[] = {"analysis", "edges", NULL},
               *gen[] = {"report", "generated", NULL},
               *rej[] = {"report", "data_quality", "rejected", NULL},
               *gaps[] = {"report", "data_quality", "gaps", NULL};
    assert_string_equal(YAJL_GET_STRING(yajl_tree_get(root, schema, yajl_t_string)),
                        LW_REPORT_SCHEMA);
    assert_string_equal(YAJL_GET_STRING(yajl_tree_get(root, aschema, yajl_t_string)),
                        "leadwatch.analysis/1");
    assert_string_equal(YAJL_GET_STRING(yajl_tree_get(root, gen, yajl_t_string)),
                        "2025-01-01T10:00:00Z");
    assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(root, rej, yajl_t_number)), 7);
    assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(root, gaps, yajl_t_number)), 1);
    yajl_val v = yajl_tree_get(root, verdicts, yajl_t_array);
    yajl_val ae = yajl_tree_get(root, edges, yajl_t_array);
    assert_non_null(v);
    assert_non_null(ae);
    assert_int_equal(v->u.array.len, fx.a->nedges);
    assert_int_equal(ae->u.array.len, fx.a->nedges);
    const char *vk[] = {"verdict", NULL}, *fk[] = {"from", NULL}, *lk[] = {"lag", NULL},
               *ldk[] = {"lead", NULL}, *ok[] = {"granger_lag_order", NULL};
    for (size_t i = 0; i < fx.a->nedges; i++) {
        assert_string_equal(YAJL_GET_STRING(yajl_tree_get(v->u.array.values[i], vk, yajl_t_string)),
                            lw_verdict_name(fx.a->edges[i].verdict));
        /* issue 15: "lead" added (the headline's lead), "lag" kept with the same value */
        long long lead = YAJL_GET_INTEGER(yajl_tree_get(v->u.array.values[i], ldk, yajl_t_number));
        assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(v->u.array.values[i], lk, yajl_t_number)),
                         lead);
        if (fx.a->edges[i].verdict == LW_VERDICT_LEADS)
            assert_int_equal(lead, lw_report_lead_of(&fx.a->edges[i]));
        assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(v->u.array.values[i], ok, yajl_t_number)),
                         fx.a->edges[i].lag);
        assert_string_equal(
            YAJL_GET_STRING(yajl_tree_get(ae->u.array.values[i], fk, yajl_t_string)),
            fx.a->edges[i].from);
    }
    yajl_tree_free(root);
    free(j);
}

static void test_prev_roundtrip_and_changes(void **state)
{
    (void)state;
    lw_report_input_t r = fx_input();
    char *j = render(lw_report_json, &r);
    lw_report_prev_t prev;
    char err[256];
    assert_int_equal(lw_report_prev_parse(j, strlen(j), &prev, err, sizeof err), LW_OK);
    assert_int_equal(prev.nedges, fx.a->nedges);
    assert_string_equal(prev.generated, "2025-01-01T10:00:00Z");
    assert_string_equal(prev.last_label, fx.a->last_label);
    for (size_t i = 0; i < fx.a->nedges; i++) {
        assert_string_equal(prev.edges[i].from, fx.a->edges[i].from);
        assert_string_equal(prev.edges[i].verdict, lw_verdict_name(fx.a->edges[i].verdict));
    }
    free(j);

    /* unchanged */
    r.prev = &prev;
    char *h = render(lw_report_html, &r);
    doc_t *d = calloc(1, sizeof *d);
    scan_html(h, d);
    assert_int_equal(d->changes, 0);
    assert_non_null(strstr(h, "No verdict changed since the report of 2025-01-01T10:00:00Z"));
    free(h);

    /* searches (index 3, not `leads` now) said `leads` before; an edge vanished */
    assert_int_not_equal(fx.a->edges[3].verdict, LW_VERDICT_LEADS);
    snprintf(prev.edges[3].verdict, sizeof prev.edges[3].verdict, "leads");
    prev.edges[3].lag = 4;
    snprintf(prev.edges[prev.nedges].from, sizeof prev.edges[0].from, "old_metric");
    snprintf(prev.edges[prev.nedges].to, sizeof prev.edges[0].to, "listening_minutes");
    snprintf(prev.edges[prev.nedges].verdict, sizeof prev.edges[0].verdict, "leads");
    prev.nedges++;
    h = render(lw_report_html, &r);
    scan_html(h, d);
    assert_true(d->well_formed);
    assert_int_equal(d->changes, 2);
    char expect[200];
    snprintf(expect, sizeof expect,
             "searches \xE2\x86\x92 listening_minutes: leads \xE2\x86\x92 %s",
             lw_verdict_name(fx.a->edges[3].verdict));
    assert_non_null(strstr(d->changes_text, expect));
    assert_non_null(strstr(d->changes_text, "old_metric"));
    assert_non_null(strstr(h, "2 changes since"));
    {
        assert_int_equal(fx.a->edges[3].verdict, LW_VERDICT_INCONCLUSIVE);
        assert_string_equal(d->sec[3].vclass, "no-longer-leads");
        assert_non_null(strstr(d->headline_text[3], "Searches no longer leads listening minutes "
                                                    "(it led by 4 days in the previous report"));
    }
    free(d);
    free(h);
}

static void test_prev_parse_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        lw_err_t want;
        size_t nedges;
    } cases[] = {
        {"", LW_ERR_INVALID, 0},
        {"{", LW_ERR_INVALID, 0},
        {"[]", LW_ERR_INVALID, 0},
        {"{}", LW_ERR_INVALID, 0},
        {"{\"schema\":\"leadwatch.analysis/1\",\"report\":{\"verdicts\":[]}}", LW_ERR_INVALID, 0},
        {"{\"schema\":\"leadwatch.report/1\",\"report\":{}}", LW_ERR_INVALID, 0},
        {"{\"schema\":\"leadwatch.report/1\",\"report\":{\"verdicts\":[{\"from\":\"a\"]}}",
         LW_ERR_INVALID, 0},
        {"{\"schema\":\"leadwatch.report/1\",\"report\":{\"verdicts\":[]}} trailing",
         LW_ERR_INVALID, 0},
        {"{\"schema\":\"leadwatch.report/1\",\"report\":{\"verdicts\":[]}}", LW_OK, 0},
        {"{\"report\":{\"x\":[1,2,{\"y\":null}],\"verdicts\":[{\"from\":\"a\\u00e9\",\"to\":\"b\","
         "\"verdict\":\"leads\",\"lag\":3,\"extra\":[true,false]},{\"from\":\"c\",\"to\":\"b\","
         "\"verdict\":\"reverse\",\"lag\":null}]},\"schema\":\"leadwatch.report/1\","
         "\"analysis\":{\"p\":-1.5e-3}}",
         LW_OK, 2},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lw_report_prev_t p;
        char err[256] = "";
        lw_err_t e =
            lw_report_prev_parse(cases[k].json, strlen(cases[k].json), &p, err, sizeof err);
        if (e != cases[k].want)
            fail_msg("case %zu: got %s (%s), want %s", k, lw_err_name(e), err,
                     lw_err_name(cases[k].want));
        assert_int_equal(p.nedges, cases[k].nedges);
    }
    lw_report_prev_t p;
    char err[256];
    const char *ok = cases[9].json;
    assert_int_equal(lw_report_prev_parse(ok, strlen(ok), &p, err, sizeof err), LW_OK);
    assert_string_equal(p.edges[0].from, "a\xC3\xA9");
    assert_int_equal(p.edges[0].lag, 3);
    assert_string_equal(p.edges[1].verdict, "reverse");
    assert_int_equal(p.edges[1].lag, 0);

    /* nesting bomb: bounded, rejected, no crash */
    char deep[400];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof deep, "{\"schema\":\"leadwatch.report/1\",\"x\":");
    while (n < 300)
        deep[n++] = '[';
    deep[n] = '\0';
    assert_int_equal(lw_report_prev_parse(deep, n, &p, err, sizeof err), LW_ERR_INVALID);
}

/* Regression: a p-value of 4.94e-324 (a denormal) in the analysis JSON made the
   previous report unreadable (strtod sets ERANGE on underflow). */
static void test_prev_parse_denormal_number(void **state)
{
    (void)state;
    const char *j = "{\"schema\":\"leadwatch.report/1\",\"report\":{\"verdicts\":[{\"from\":\"a\","
                    "\"to\":\"b\",\"verdict\":\"leads\",\"lag\":1}]},\"analysis\":{\"p\":"
                    "4.9406564584124654e-324,\"q\":1e-310}}";
    lw_report_prev_t p;
    char err[256];
    assert_int_equal(lw_report_prev_parse(j, strlen(j), &p, err, sizeof err), LW_OK);
    assert_int_equal(p.nedges, 1);
    const char *big =
        "{\"schema\":\"leadwatch.report/1\",\"report\":{\"verdicts\":[]},\"x\":1e999}";
    assert_int_equal(lw_report_prev_parse(big, strlen(big), &p, err, sizeof err), LW_ERR_INVALID);
}

static void test_data_quality(void **state)
{
    (void)state;
    lw_report_input_t r = fx_input();
    char *h = render(lw_report_html, &r);
    assert_non_null(strstr(h, "<li data-dq=\"rejected\">7 events rejected (invalid_json 3, "
                              "missing_user 4).</li>"));
    assert_non_null(strstr(h, "<li data-dq=\"late\">17 late events"));
    assert_non_null(strstr(h, "<li data-dq=\"provisional\">2 provisional days"));
    assert_non_null(strstr(h, "<li data-dq=\"gaps\">1 gap day (no data for any tree metric) out "
                              "of 365.</li>"));
    assert_non_null(strstr(h, "<li data-dq=\"missing\">revenue: 2 events without the value."));
    /* issue 11: the one-day outage is a short gap, interpolated in every series, so
       it no longer cuts the edges' runs (the old longest-run policy started after it) */
    assert_true(fx.a->edges[0].row_first < GAP_ROW);
    assert_int_equal(fx.a->edges[0].rows_incomplete, 0);
    assert_int_equal(fx.a->edges[0].prep_from.n_interpolated, 1);
    assert_non_null(strstr(h, "<li data-dq=\"edge\">active_users"));
    free(h);
}

static void test_bounded_and_invalid(void **state)
{
    (void)state;
    lw_report_input_t r = fx_input();
    lw_buf_t b;
    char err[256];
    lw_buf_init(&b, 100000); /* far below the page's size */
    lw_buf_puts(&b, "keep");
    assert_int_equal(lw_report_html(&r, &b, err, sizeof err), LW_ERR_TOO_LARGE);
    assert_int_equal(b.len, 4);
    assert_int_equal(b.err, LW_OK);
    assert_string_equal(b.data, "keep");
    assert_int_equal(lw_report_json(&r, &b, err, sizeof err), LW_ERR_TOO_LARGE);
    assert_int_equal(b.len, 4);
    lw_buf_release(&b);

    lw_buf_init(&b, LW_REPORT_MAX_BYTES);
    r.analysis = NULL;
    assert_int_equal(lw_report_html(&r, &b, err, sizeof err), LW_ERR_INVALID);
    lw_analyze_input_t shorter = fx.in;
    shorter.nrows = NDAYS - 1;
    r = fx_input();
    r.input = &shorter;
    assert_int_equal(lw_report_markdown(&r, &b, err, sizeof err), LW_ERR_INVALID);
    assert_non_null(strstr(err, "rows"));
    assert_int_equal(b.len, 0);
    lw_buf_release(&b);
}

static int count_entries(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

static void test_write_dir(void **state)
{
    (void)state;
    char dir[] = "/tmp/lw_test_report_XXXXXX";
    assert_non_null(mkdtemp(dir));
    lw_report_input_t r = fx_input();
    char path[512], err[256], want[600];
    lw_report_prev_t prev;
    assert_int_equal(lw_report_prev_load(dir, &prev, err, sizeof err), LW_ERR_NOT_FOUND);
    assert_int_equal(lw_report_write_dir(&r, dir, path, sizeof path, err, sizeof err), LW_OK);
    snprintf(want, sizeof want, "%s/report.html", dir);
    assert_string_equal(path, want);
    const char *files[] = {"report.html", "report.md", "report.json", "report.slack.txt"};
    for (size_t k = 0; k < 4; k++) {
        struct stat st;
        snprintf(want, sizeof want, "%s/%s", dir, files[k]);
        assert_int_equal(stat(want, &st), 0);
        assert_true(st.st_size > (k == 3 ? 300 : 1000));
        assert_int_equal(st.st_mode & 0777, 0644);
    }
    assert_int_equal(count_entries(dir, "."), 2); /* "." and ".." only: no temp files left */

    /* the second run reads the first as its previous report */
    assert_int_equal(lw_report_prev_load(dir, &prev, err, sizeof err), LW_OK);
    assert_int_equal(prev.nedges, fx.a->nedges);
    r.prev = &prev;
    r.generated_ms += LW_MS_PER_DAY;
    assert_int_equal(lw_report_write_dir(&r, dir, path, sizeof path, err, sizeof err), LW_OK);
    snprintf(want, sizeof want, "%s/report.md", dir);
    FILE *f = fopen(want, "r");
    assert_non_null(f);
    char md[65536];
    size_t n = fread(md, 1, sizeof md - 1, f);
    md[n] = '\0';
    fclose(f);
    assert_non_null(strstr(md, "No verdict changed since 2025-01-01T10:00:00Z."));

    /* not a directory */
    assert_int_equal(lw_report_write_dir(&r, want, NULL, 0, err, sizeof err), LW_ERR_IO);
    /* a corrupt previous report is reported, not fatal to parsing callers */
    snprintf(want, sizeof want, "%s/report.json", dir);
    f = fopen(want, "w");
    fputs("{\"schema\": \"leadwatch.report/1\", \"report\": {\"verdicts\": [", f);
    fclose(f);
    assert_int_equal(lw_report_prev_load(dir, &prev, err, sizeof err), LW_ERR_INVALID);
    for (size_t k = 0; k < 4; k++) {
        snprintf(want, sizeof want, "%s/%s", dir, files[k]);
        unlink(want);
    }
    rmdir(dir);
}

/* The `leadwatch report` path: config + a store written as the daemon does. */
static const char run_cfg[] = "store:\n"
                              "  path: PATH\n"
                              "buckets:\n"
                              "  size: 1d\n"
                              "  grace: 2d\n"
                              "metrics:\n"
                              "  - {name: active_users, sum: properties.a}\n"
                              "  - {name: sessions_per_user, sum: properties.s}\n"
                              "  - {name: playlists_created, sum: properties.p}\n"
                              "  - {name: listening_minutes, sum: properties.m}\n"
                              "  - {name: revenue, sum: properties.r}\n"
                              "tree:\n"
                              "  nsm: listening_minutes\n"
                              "  kpi: revenue\n"
                              "  inputs:\n"
                              "    - {metric: active_users, kind: breadth}\n"
                              "    - {metric: sessions_per_user, kind: frequency}\n"
                              "    - {metric: playlists_created, kind: depth}\n";

static void test_run_from_store(void **state)
{
    (void)state;
    char dir[] = "/tmp/lw_test_report_run_XXXXXX", err[512], db[600], out[600], path[700];
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/store.db", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    assert_int_equal(mkdir(out, 0755), 0);
    char yaml[2048];
    const char *at = strstr(run_cfg, "PATH");
    snprintf(yaml, sizeof yaml, "%.*s%s%s", (int)(at - run_cfg), run_cfg, db, at + 4);
    lw_config_t *cfg = NULL;
    if (lw_config_parse(yaml, strlen(yaml), "test.yaml", &cfg, err, sizeof err) != LW_OK)
        fail_msg("config: %s", err);

    /* the fixture's series (active users, sessions, playlists, NSM, KPI) into the store */
    lw_store_t *st = NULL;
    assert_int_equal(lw_store_open(db, 0, &st, err, sizeof err), LW_OK);
    static const size_t cols[5] = {0, 1, 2, 5, 6};
    const int64_t start = INT64_C(1704067200000); /* 2024-01-01 */
    assert_int_equal(lw_store_begin(st, err, sizeof err), LW_OK);
    for (int t = 0; t < NDAYS; t++)
        for (size_t k = 0; k < 5; k++) {
            double v = fx.values[(size_t)t * NSER + cols[k]];
            if (isfinite(v))
                assert_int_equal(lw_store_add_cell(st, cfg->metrics[k].name,
                                                   start + t * LW_MS_PER_DAY, 1, v, NULL, err,
                                                   sizeof err),
                                 LW_OK);
        }
    /* the watermark is inside the last day: the last 3 buckets are still open */
    assert_int_equal(lw_store_set_int(st, "watermark_ms",
                                      start + (NDAYS - 1) * LW_MS_PER_DAY + 3600000, err,
                                      sizeof err),
                     LW_OK);
    assert_int_equal(lw_store_add_counter(st, "rejected.invalid_json", 5, err, sizeof err), LW_OK);
    /* the daemon's verdicts: playlists led, then stopped; one row from before the window */
    for (int t = NDAYS - 250; t < NDAYS - 3; t++) {
        lw_verdict_row_t v = {.edge = "playlists_created->listening_minutes",
                              .as_of_ms = start + t * LW_MS_PER_DAY,
                              .verdict = t < NDAYS - 60 ? "leads" : "no_longer_leads",
                              .p = NAN,
                              .q = NAN,
                              .lag = 3,
                              .coef = NAN,
                              .oos = NAN};
        assert_int_equal(lw_store_add_verdict(st, &v, err, sizeof err), LW_OK);
    }
    assert_int_equal(lw_store_commit(st, err, sizeof err), LW_OK);
    lw_store_close(st);

    lw_report_run_opts_t o = {.out_dir = out, .window = 200, .now_ms = start};
    if (lw_report_run(cfg, &o, path, sizeof path, err, sizeof err) != LW_OK)
        fail_msg("run: %s", err);
    char want[700];
    snprintf(want, sizeof want, "%s/report.html", out);
    assert_string_equal(path, want);
    snprintf(want, sizeof want, "%s/report.json", out);
    lw_report_prev_t prev;
    assert_int_equal(lw_report_prev_load(out, &prev, err, sizeof err), LW_OK);
    assert_int_equal(prev.nedges, 4);
    FILE *f = fopen(want, "r");
    assert_non_null(f);
    static char json[1 << 20];
    size_t n = fread(json, 1, sizeof json - 1, f);
    json[n] = '\0';
    fclose(f);
    yajl_val root = yajl_tree_parse(json, err, sizeof err);
    assert_non_null(root);
    const char *periods[] = {"report", "periods", NULL},
               *prov[] = {"report", "data_quality", "provisional_left_out", NULL},
               *rej[] = {"report", "data_quality", "rejected", NULL};
    size_t nprov = (size_t)YAJL_GET_INTEGER(yajl_tree_get(root, prov, yajl_t_number));
    assert_true(nprov >= 1 && nprov <= 3);
    assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(root, periods, yajl_t_number)), 200 - nprov);
    assert_int_equal(YAJL_GET_INTEGER(yajl_tree_get(root, rej, yajl_t_number)), 5);
    yajl_tree_free(root);
    /* the stored verdicts became the "when each edge led" strip, at both widths, with a
       run for each verdict; the window's length (the one alerting uses) is stated */
    snprintf(want, sizeof want, "%s/report.html", out);
    f = fopen(want, "r");
    assert_non_null(f);
    static char html[4 << 20];
    n = fread(html, 1, sizeof html - 1, f);
    html[n] = '\0';
    fclose(f);
    assert_int_equal(count_str(html, "lw-chart lw-chart-strip"), 2);
    assert_non_null(strstr(html, "<title>leads: "));
    assert_non_null(strstr(html, "<title>stopped leading: "));
    assert_null(strstr(html, "No stored verdicts in this window"));
    /* the daemon's turn from leads to no_longer_leads is marked on the values chart */
    char mark[64];
    snprintf(mark, sizeof mark, "daemon: stopped %s", fx.labels[NDAYS - 60]);
    assert_int_equal(count_str(html, mark), 2);

    /* --as-of: the window ends there; a second run compares with the first */
    o.as_of = "2024-09-30";
    o.window = 150;
    assert_int_equal(lw_report_run(cfg, &o, path, sizeof path, err, sizeof err), LW_OK);
    assert_int_equal(lw_report_prev_load(out, &prev, err, sizeof err), LW_OK);
    assert_string_equal(prev.last_label, "2024-09-30");
    /* bad input is a configuration error */
    o.as_of = "yesterday";
    assert_int_equal(lw_report_run(cfg, &o, path, sizeof path, err, sizeof err), LW_ERR_CONFIG);
    assert_non_null(strstr(err, "--as-of"));
    o.as_of = "2020-01-01"; /* before the data */
    assert_int_equal(lw_report_run(cfg, &o, path, sizeof path, err, sizeof err), LW_ERR_NOT_FOUND);

    lw_config_free(cfg);
    const char *files[] = {"report.html", "report.md", "report.json", "report.slack.txt"};
    for (size_t k = 0; k < 4; k++) {
        snprintf(want, sizeof want, "%s/%s", out, files[k]);
        unlink(want);
    }
    rmdir(out);
    const char *dbf[] = {"store.db", "store.db-wal", "store.db-shm"};
    for (size_t k = 0; k < 3; k++) {
        snprintf(want, sizeof want, "%s/%s", dir, dbf[k]);
        unlink(want);
    }
    rmdir(dir);
}

static size_t count_str(const char *s, const char *needle)
{
    size_t k = 0, nl = strlen(needle);
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += nl)
        k++;
    return k;
}

/* A copy of the fixture analysis whose edge 0 the test may rewrite (edges are shallow). */
typedef struct {
    lw_analysis_t a;
    lw_edge_result_t e[LW_ANALYZE_MAX_EDGES];
} analysis_copy_t;

static void copy_analysis(analysis_copy_t *c)
{
    c->a = *fx.a;
    memcpy(c->e, fx.a->edges, fx.a->nedges * sizeof c->e[0]);
    c->a.edges = c->e;
}

/*
 * Issue 15: headlines follow the evidence.  An inconclusive edge whose forward
 * q is significant (it failed a check) must not say "No reliable lead ... (q <
 * 0.001)"; one where nothing is significant says so; no_longer_leads states the
 * date it stopped; feedback quotes the same lead as the tree (the lead, not the
 * Granger lag order).
 */
static void test_sentences_agree_with_evidence(void **state)
{
    (void)state;
    static analysis_copy_t c;
    copy_analysis(&c);
    lw_edge_result_t *e = &c.e[0]; /* active_users -> listening_minutes */
    char s[512];

    e->verdict = LW_VERDICT_INCONCLUSIVE;
    e->q = 1e-6;
    e->q_defined = true;
    e->stable = false;
    e->stab_status = LW_STEP_OK;
    e->oos_skill = true;
    e->oos_status = LW_STEP_OK;
    lw_report_sentence(&c.a, 0, NULL, s, sizeof s);
    assert_null(strstr(s, "No reliable"));
    assert_non_null(strstr(s, "q < 0.001"));
    assert_non_null(strstr(s, "not stable"));
    assert_non_null(strstr(s, "not counted"));

    e->q = 0.4;
    e->q_reverse = 0.6;
    lw_report_sentence(&c.a, 0, NULL, s, sizeof s);
    assert_non_null(strstr(s, "No reliable lead of active users on listening minutes"));
    assert_non_null(strstr(s, "neither direction is significant (q = 0.400)"));

    e->q_reverse = 0.001;
    e->q_reverse_defined = true;
    e->stable_reverse = true;
    e->stab_rev_status = LW_STEP_OK;
    e->oos_skill_reverse = false;
    e->oos_rev_status = LW_STEP_OK;
    lw_report_sentence(&c.a, 0, NULL, s, sizeof s);
    assert_non_null(strstr(s, "only the opposite direction is significant"));
    assert_non_null(strstr(s, "does not improve forecasts out of sample"));

    e->verdict = LW_VERDICT_NO_LONGER_LEADS;
    e->since_row = 200;
    lw_report_sentence(&c.a, 0, NULL, s, sizeof s);
    char want[160];
    snprintf(want, sizeof want, "Active users stopped leading listening minutes on %s",
             fx.labels[200]);
    assert_non_null(strstr(s, want));
    assert_null(strstr(s, "no longer"));

    e->verdict = LW_VERDICT_FEEDBACK;
    e->lag = 4; /* Granger lag order, not the lead */
    e->lead = 1;
    e->lagreg_status = LW_STEP_OK;
    e->lag_reverse = 2;
    lw_report_sentence(&c.a, 0, NULL, s, sizeof s);
    assert_int_equal(lw_report_lead_of(e), 1);
    assert_non_null(strstr(s, "active users by 1 day, listening minutes by 2 days"));
    assert_null(strstr(s, " 4 "));
}

/* report.slack.txt: Slack mrkdwn, not Markdown, with every headline sentence. */
static void test_slack(void **state)
{
    (void)state;
    lw_report_input_t r = fx_input();
    r.title = "Q&A <report>";
    char *t = render(lw_report_slack, &r);
    const char *title = "*Q&amp;A &lt;report&gt;*\n";
    assert_true(strncmp(t, title, strlen(title)) == 0);
    assert_null(strstr(t, "**"));
    assert_null(strstr(t, "\n#"));
    assert_null(strstr(t, "|"));
    for (size_t i = 0; i < fx.a->nedges; i++) {
        char sentence[512];
        lw_report_sentence(fx.a, i, NULL, sentence, sizeof sentence);
        assert_non_null(strstr(t, sentence));
    }
    assert_non_null(strstr(t, "`listening_minutes`"));
    free(t);
}

/* Detail on demand: each edge's statistics collapse, every test explained; a glossary. */
static void test_details_and_glossary(void **state)
{
    (void)state;
    lw_report_input_t r = fx_input();
    char *h = render(lw_report_html, &r);
    assert_int_equal(count_str(h, "<details class=\"lw-detail\">"), fx.a->nedges);
    assert_int_equal(count_str(h, "<dt>Granger test</dt>"), fx.a->nedges);
    assert_int_equal(count_str(h, "<dt>Out-of-sample skill</dt>"), fx.a->nedges);
    assert_non_null(strstr(h, "<section id=\"glossary\">"));
    assert_non_null(strstr(h, "<dt>Lead</dt>"));
    assert_non_null(strstr(h, "<dt>Lag order</dt>"));
    /* the statistics are not in the main view: no p/q before the first <details> */
    const char *edges = strstr(h, "<section id=\"edges\">");
    const char *first = strstr(h, "<details");
    assert_non_null(edges);
    assert_true(first > edges);
    for (const char *p = edges; p < first; p++)
        assert_false(strncmp(p, "p =", 3) == 0 || strncmp(p, "F(", 2) == 0);
    /* sensitivity is information: its bar never says "fails" */
    assert_null(strstr(h, "fails:"));
    /* values first: each edge's first chart is the pair chart in the metrics' units */
    assert_int_equal(count_str(h, "lw-chart lw-chart-pair"), 2 * fx.a->nedges);
    /* no stored verdicts: the strip's place says how it fills */
    assert_non_null(strstr(h, "No stored verdicts in this window"));
    free(h);

    /* one window: the page says whether it is the one alerting judges */
    r.window = r.alert_window = 90;
    h = render(lw_report_html, &r);
    assert_non_null(strstr(h, ", the window alerting uses)"));
    free(h);
    r.window = 0;
    h = render(lw_report_html, &r);
    assert_non_null(strstr(h, "; alerting uses the last 90)"));
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_is_analysable),
        cmocka_unit_test(test_html_structure),
        cmocka_unit_test(test_headline_numbers),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_markdown),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_prev_roundtrip_and_changes),
        cmocka_unit_test(test_prev_parse_rejects),
        cmocka_unit_test(test_prev_parse_denormal_number),
        cmocka_unit_test(test_data_quality),
        cmocka_unit_test(test_bounded_and_invalid),
        cmocka_unit_test(test_write_dir),
        cmocka_unit_test(test_run_from_store),
        cmocka_unit_test(test_sentences_agree_with_evidence),
        cmocka_unit_test(test_slack),
        cmocka_unit_test(test_details_and_glossary),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
