/*
 * test_analysis_out.c - the JSON, text and Markdown writers.
 *
 * JSON validity is checked by parsing the output back with a small strict
 * recursive-descent parser below (RFC 8259 grammar: no NaN/Infinity, no
 * trailing commas, escapes and UTF-8 checked) that also records the keys of
 * each edge object and selected values, so the test can hold the output to
 * the contract: every required key present in every edge, numbers equal to
 * the result's to the last bit (%.17g round-trips), undefined numbers null.
 * (yajl's tree API would do the parsing, but the test link line has only
 * lwcore and cmocka; see the report.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "leadwatch/report/analysis_out.h"
#include "leadwatch/stats/ols.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- mini JSON parser */

typedef struct {
    const char *p, *end;
    int depth;
    bool ok;
    /* recorded: keys of objects at depth 3 (top { -> edges [ -> edge {) */
    char edge_keys[8][64][64];
    size_t nedge_keys[8];
    size_t nedges;
    int edges_depth; /* depth of the edges array, 0 = not inside */
    char cur_key[64];
    char last_edge_q[64]; /* raw text of the last edge-level "q" value */
} jp_t;

static void jp_ws(jp_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

static bool jp_fail(jp_t *j)
{
    j->ok = false;
    return false;
}

static bool jp_string(jp_t *j, char *out, size_t cap)
{
    size_t n = 0;
    if (j->p >= j->end || *j->p != '"')
        return jp_fail(j);
    j->p++;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c < 0x20)
            return jp_fail(j);
        if (c == '\\') {
            j->p++;
            if (j->p >= j->end)
                return jp_fail(j);
            char e = *j->p;
            if (e == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (j->p + i >= j->end || !strchr("0123456789abcdefABCDEF", j->p[i]))
                        return jp_fail(j);
                j->p += 4;
            } else if (!strchr("\"\\/bfnrt", e)) {
                return jp_fail(j);
            }
            j->p++;
            continue;
        }
        if (c >= 0x80) { /* UTF-8 continuation bytes must follow */
            int len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
            if (len == 0 || j->p + len > j->end)
                return jp_fail(j);
            for (int i = 1; i < len; i++)
                if (((unsigned char)j->p[i] & 0xC0) != 0x80)
                    return jp_fail(j);
            j->p += len;
            continue;
        }
        if (out && n + 1 < cap)
            out[n++] = (char)c;
        j->p++;
    }
    if (j->p >= j->end)
        return jp_fail(j);
    j->p++;
    if (out)
        out[n] = '\0';
    return true;
}

static bool jp_value(jp_t *j);

static bool jp_number(jp_t *j)
{
    const char *s = j->p;
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p >= j->end || !(*j->p >= '0' && *j->p <= '9'))
        return jp_fail(j);
    if (*j->p == '0') {
        j->p++;
    } else {
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (j->p >= j->end || !(*j->p >= '0' && *j->p <= '9'))
            return jp_fail(j);
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (j->p >= j->end || !(*j->p >= '0' && *j->p <= '9'))
            return jp_fail(j);
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    if (j->edges_depth && j->depth == j->edges_depth + 1 && strcmp(j->cur_key, "q") == 0)
        snprintf(j->last_edge_q, sizeof j->last_edge_q, "%.*s", (int)(j->p - s), s);
    return true;
}

static bool jp_lit(jp_t *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return jp_fail(j);
    if (j->edges_depth && j->depth == j->edges_depth + 1 && strcmp(j->cur_key, "q") == 0)
        snprintf(j->last_edge_q, sizeof j->last_edge_q, "%s", lit);
    j->p += n;
    return true;
}

static bool jp_object(jp_t *j)
{
    j->p++; /* { */
    j->depth++;
    const bool is_edge = j->edges_depth && j->depth == j->edges_depth + 1;
    size_t edge = j->nedges;
    if (is_edge && j->nedges < 8)
        j->nedges++;
    jp_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        j->depth--;
        return true;
    }
    for (;;) {
        char key[64];
        jp_ws(j);
        if (!jp_string(j, key, sizeof key))
            return false;
        if (is_edge && edge < 8 && j->nedge_keys[edge] < 64)
            snprintf(j->edge_keys[edge][j->nedge_keys[edge]++], 64, "%s", key);
        jp_ws(j);
        if (j->p >= j->end || *j->p != ':')
            return jp_fail(j);
        j->p++;
        jp_ws(j);
        snprintf(j->cur_key, sizeof j->cur_key, "%s", key);
        const bool entering_edges = j->depth == 1 && strcmp(key, "edges") == 0;
        if (entering_edges)
            j->edges_depth = j->depth + 1;
        if (!jp_value(j))
            return false;
        if (entering_edges)
            j->edges_depth = 0;
        jp_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            j->depth--;
            return true;
        }
        return jp_fail(j);
    }
}

static bool jp_array(jp_t *j)
{
    j->p++;
    j->depth++;
    jp_ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        j->depth--;
        return true;
    }
    for (;;) {
        jp_ws(j);
        if (!jp_value(j))
            return false;
        jp_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            j->depth--;
            return true;
        }
        return jp_fail(j);
    }
}

static bool jp_value(jp_t *j)
{
    jp_ws(j);
    if (j->p >= j->end || j->depth > 32)
        return jp_fail(j);
    switch (*j->p) {
    case '{': return jp_object(j);
    case '[': return jp_array(j);
    case '"': return jp_string(j, NULL, 0);
    case 't': return jp_lit(j, "true");
    case 'f': return jp_lit(j, "false");
    case 'n': return jp_lit(j, "null");
    default: return jp_number(j);
    }
}

/* Parse the whole document; fails the test with the offset on error. */
static void jp_parse(jp_t *j, const char *text, size_t len)
{
    memset(j, 0, sizeof(*j));
    j->p = text;
    j->end = text + len;
    j->ok = true;
    bool ok = jp_value(j);
    jp_ws(j);
    if (!ok || !j->ok || j->p != j->end)
        fail_msg("invalid JSON at offset %td: '%.40s'", j->p - text, j->p);
}

static bool edge_has_key(const jp_t *j, size_t edge, const char *key)
{
    for (size_t i = 0; i < j->nedge_keys[edge]; i++)
        if (strcmp(j->edge_keys[edge][i], key) == 0)
            return true;
    return false;
}

/* ---------------------------------------------------------------- fixtures */

enum { N = 300 };
static double vals[N * 4];
static const char *const NAMES[4] = {"in \"quoted\"\n\xff", "nsm", "flat", "kpi"};
static char label_store[N][16];
static const char *labels[N];

static lw_analysis_t *make_analysis(void)
{
    uint64_t s = 12345;
    double x = 0, y = 0, k = 0;
    double hist[8] = {0};
    for (size_t t = 0; t < N; t++) {
        double u[3];
        for (int i = 0; i < 3; i++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            u[i] = ((double)(s >> 11) / 9007199254740992.0) - 0.5;
        }
        x = 0.5 * x + u[0];
        y = 0.3 * y + 0.9 * hist[1] + 0.3 * u[1];
        k = 0.8 * y + 0.2 * u[2];
        memmove(hist + 1, hist, 7 * sizeof(double));
        hist[0] = x;
        vals[t * 4 + 0] = 100 + x;
        vals[t * 4 + 1] = 200 + y;
        vals[t * 4 + 2] = 5.0; /* constant: insufficient_data */
        vals[t * 4 + 3] = 50 + k;
        snprintf(label_store[t], sizeof label_store[t], "p%03zu", t);
        labels[t] = label_store[t];
    }
    static const size_t inputs[2] = {0, 2};
    static const char *const kinds[2] = {"breadth", "depth"};
    lw_analyze_input_t in = {0};
    in.nrows = N;
    in.nseries = 4;
    in.names = NAMES;
    in.values = vals;
    in.labels = labels;
    in.nsm = 1;
    in.kpi = 3;
    in.ninputs = 2;
    in.inputs = inputs;
    in.input_kinds = kinds;
    lw_analyze_opts_t o;
    lw_analyze_opts_default(&o);
    o.max_lag = 6;
    o.seasonal = LW_SEASONAL_NONE;
    o.transform = LW_TRANSFORM_NONE;
    lw_analysis_t *a = NULL;
    char err[256];
    if (lw_analyze_tree(&o, &in, &a, err, sizeof err) != LW_OK)
        fail_msg("analyze: %s", err);
    return a;
}

static char *render(const lw_analysis_t *a, lw_analysis_format_t f, size_t *len)
{
    char *buf = NULL;
    FILE *m = open_memstream(&buf, len);
    assert_non_null(m);
    char err[128];
    assert_int_equal(lw_analysis_write(a, f, m, err, sizeof err), LW_OK);
    fclose(m);
    return buf;
}

/* ---------------------------------------------------------------- tests */

static void test_json_contract(void **state)
{
    (void)state;
    lw_analysis_t *a = make_analysis();
    size_t len;
    char *json = render(a, LW_ANALYSIS_JSON, &len);
    jp_t j;
    jp_parse(&j, json, len);
    assert_int_equal(j.nedges, 3);
    static const char *const required[] = {"from",
                                           "to",
                                           "role",
                                           "kind",
                                           "verdict",
                                           "reasons",
                                           "lag",
                                           "granger",
                                           "granger_reverse",
                                           "lagged_regression",
                                           "ccf",
                                           "stability",
                                           "oos",
                                           "sensitivity",
                                           "q",
                                           "preparation",
                                           "data",
                                           "p",
                                           "q_reverse",
                                           "lag_search"};
    for (size_t e = 0; e < j.nedges; e++)
        for (size_t k = 0; k < sizeof required / sizeof required[0]; k++)
            if (!edge_has_key(&j, e, required[k]))
                fail_msg("edge %zu has no key '%s'", e, required[k]);

    /* never NaN or Inf, in any spelling */
    assert_null(strstr(json, ": nan"));
    assert_null(strstr(json, ": -nan"));
    assert_null(strstr(json, ": inf"));
    assert_null(strstr(json, ": -inf"));
    assert_null(strstr(json, "NaN"));
    assert_null(strstr(json, "Infinity"));

    /* the last edge is the KPI edge; its q round-trips exactly */
    const lw_edge_result_t *kpi = &a->edges[2];
    assert_string_equal(kpi->role, "kpi");
    assert_true(kpi->q_defined);
    assert_double_equal(strtod(j.last_edge_q, NULL), kpi->q, 0);

    /* the constant input: insufficient_data, its undefined numbers are null */
    assert_int_equal(a->edges[1].verdict, LW_VERDICT_INSUFFICIENT_DATA);
    assert_non_null(strstr(json, "\"verdict\": \"insufficient_data\""));
    assert_non_null(strstr(json, "\"lag\": null"));
    /* escaping of a hostile metric name: quote, newline, invalid UTF-8 */
    assert_non_null(strstr(json, "\"from\": \"in \\\"quoted\\\"\\n\\ufffd\""));
    /* contract pieces */
    assert_non_null(strstr(json, "\"schema\": \"leadwatch.analysis/1\""));
    assert_non_null(strstr(json, "\"df_denom\": "));
    assert_non_null(strstr(json, "\"chi2_p\": "));
    assert_non_null(strstr(json, "\"lr_p\": "));
    assert_non_null(strstr(json, "\"break_period\": "));
    assert_non_null(strstr(json, "\"kind\": \"breadth\""));
    assert_non_null(strstr(json, "\"kind\": \"nsm\""));
    /* the lag search: own lags and one single-lag p per lag of an analysed edge */
    assert_non_null(strstr(json, "\"own_lags\": "));
    const lw_edge_result_t *e0 = &a->edges[0];
    assert_true(e0->analysed && e0->lag >= 1 && e0->own_lag >= 1);
    const char *lp = strstr(json, "\"lag_search\"");
    assert_non_null(lp);
    lp = strstr(lp, "\"p\": [");
    assert_non_null(lp);
    size_t nump = 0;
    for (const char *c = lp + 6; *c && *c != ']'; c++)
        nump += *c == ',';
    assert_int_equal(nump + 1, e0->max_lag);
    free(json);
    lw_analysis_free(a);
}

static void test_text_and_md(void **state)
{
    (void)state;
    lw_analysis_t *a = make_analysis();
    size_t len;
    char *text = render(a, LW_ANALYSIS_TEXT, &len);
    assert_non_null(strstr(text, "EDGE"));
    assert_non_null(strstr(text, "VERDICT"));
    assert_non_null(strstr(text, "nsm -> kpi"));
    assert_non_null(strstr(text, "insufficient_data"));
    assert_non_null(strstr(text, "flat is constant"));
    assert_non_null(strstr(text, "300 unknown-size rows (p000 .. p299)"));
    assert_null(strstr(text, "nan"));
    free(text);

    char *md = render(a, LW_ANALYSIS_MD, &len);
    assert_non_null(strstr(md, "| edge | verdict |"));
    assert_non_null(strstr(md, "|---|---|"));
    assert_non_null(strstr(md, "### nsm → kpi: "));
    assert_non_null(strstr(md, "**insufficient_data**"));
    /* every table row has the header's number of cells */
    const char *row = strstr(md, "| edge |");
    size_t header_bars = 0;
    for (const char *c = row; *c && *c != '\n'; c++)
        header_bars += *c == '|';
    const char *line = strchr(strchr(row, '\n') + 1, '\n') + 1; /* after the |---| line */
    for (int r = 0; r < 3; r++) {
        size_t bars = 0;
        for (const char *c = line; *c && *c != '\n'; c++)
            bars += *c == '|' && (c == line || c[-1] != '\\');
        assert_int_equal(bars, header_bars);
        line = strchr(line, '\n') + 1;
    }
    free(md);

    lw_analysis_format_t f;
    assert_true(lw_analysis_format_parse("md", &f) && f == LW_ANALYSIS_MD);
    assert_true(lw_analysis_format_parse("json", &f) && f == LW_ANALYSIS_JSON);
    assert_false(lw_analysis_format_parse("yaml", &f));
    lw_analysis_free(a);
}

static void test_write_error(void **state)
{
    (void)state;
    lw_analysis_t *a = make_analysis();
    FILE *ro = fopen("/dev/null", "r"); /* writes fail */
    assert_non_null(ro);
    char err[128] = "";
    assert_int_equal(lw_analysis_write_json(a, ro, err, sizeof err), LW_ERR_IO);
    assert_non_null(strstr(err, "write failed"));
    fclose(ro);
    lw_analysis_free(a);
}

int main(void)
{
    lw_stats_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_contract),
        cmocka_unit_test(test_text_and_md),
        cmocka_unit_test(test_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
