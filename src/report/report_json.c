/*
 * report_json.c - report.json: the report's JSON rendering (lw_report_json)
 * and the reader of a previous report.json (lw_report_prev_parse).
 *
 * Writing: the report metadata and per-edge verdicts through the core JSON
 * writer (core/jsonw.h: one escaping rule for every JSON the program
 * writes), followed by the analysis JSON of analysis_out.c, so the file is
 * a superset of `leadwatch analyze --format json`.
 *
 * Reading: a small bounded recursive-descent reader (depth PREV_MAX_DEPTH)
 * that keeps only report.verdicts and report.generated / last_label and
 * skips everything else.  Hand-written because the core library does not
 * link a JSON parser (yajl is only linked into the tests) and the subset
 * is tiny; a newer build's extra fields are skipped, so old and new reports
 * read each other.
 */
#include "leadwatch/report/report_ctx.h"

#include "leadwatch/report/analysis_out.h"
#include "leadwatch/report/experiments_out.h"
#include "leadwatch/core/jsonw.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/core/utf8.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREV_MAX_DEPTH 64

/* ---------------------------------------------------------------- JSON */

static void kv_str(lw_jsonw_t *w, const char *k, const char *v)
{
    lw_jsonw_key(w, k);
    lw_jsonw_string(w, v); /* NULL -> null */
}

static void kv_int(lw_jsonw_t *w, const char *k, int64_t v)
{
    lw_jsonw_key(w, k);
    lw_jsonw_int(w, v);
}

static void json_verdicts(lw_report_ctx_t *c, lw_jsonw_t *w)
{
    const lw_analysis_t *a = c->a;
    lw_jsonw_key(w, "verdicts");
    lw_jsonw_array(w);
    for (size_t i = 0; i < a->nedges; i++) {
        const lw_edge_result_t *e = &a->edges[i];
        const lw_report_edge_ctx_t *ec = &c->edges[i];
        lw_jsonw_object(w);
        kv_str(w, "from", e->from);
        kv_str(w, "to", e->to);
        kv_str(w, "verdict", lw_verdict_name(e->verdict));
        kv_str(w, "shown_as", lw_svg_verdict_label(ec->svg_verdict));
        kv_int(w, "lag", (int64_t)ec->lead); /* kept for readers of leadwatch.report/1: = lead */
        kv_int(w, "lead", (int64_t)ec->lead);
        lw_jsonw_key(w, "lead_unit");
        lw_jsonw_string(w, lw_report_unit_word(a->bucket_ms, 2));
        kv_int(w, "granger_lag_order", (int64_t)e->lag);
        kv_str(w, "stopped_leading_on", ec->since[0] ? ec->since : NULL);
        kv_str(w, "headline", ec->sentence);
        kv_str(w, "previous_verdict", ec->prev ? ec->prev->verdict : NULL);
        lw_jsonw_end(w);
    }
    lw_jsonw_end(w);
}

static void json_quality(lw_report_ctx_t *c, lw_jsonw_t *w)
{
    const lw_report_input_t *r = c->r;
    lw_jsonw_key(w, "data_quality");
    lw_jsonw_object(w);
    kv_int(w, "rejected", lw_report_counter_sum(r, "rejected.", false));
    kv_int(w, "late",
           lw_report_counter_sum(r, "events.late", true) + lw_report_counter_sum(r, "late", true));
    kv_int(w, "provisional_left_out", (int64_t)r->provisional);
    kv_int(w, "gaps", (int64_t)c->gaps);
    lw_jsonw_key(w, "counters");
    lw_jsonw_object(w);
    for (size_t i = 0; i < r->ncounters; i++)
        kv_int(w, r->counters[i].name, r->counters[i].value);
    lw_jsonw_end(w);
    lw_jsonw_end(w);
}

static lw_err_t json_render(lw_report_ctx_t *c, lw_buf_t *b, char *errstr, size_t errstr_size)
{
    const lw_report_input_t *r = c->r;
    const lw_analysis_t *a = c->a;
    char gen[40];
    lw_report_time_str(r->generated_ms, gen, sizeof gen);
    lw_jsonw_t w;
    lw_jsonw_init(&w, b, 2);
    lw_jsonw_object(&w);
    kv_str(&w, "schema", LW_REPORT_SCHEMA);
    lw_jsonw_key(&w, "report");
    lw_jsonw_object(&w);
    kv_str(&w, "generated", gen);
    kv_int(&w, "generated_ms", r->generated_ms);
    kv_str(&w, "title", lw_report_title_of(r));
    kv_str(&w, "leadwatch_version", LW_VERSION);
    kv_str(&w, "config", r->config_path);
    kv_str(&w, "store", r->store_path);
    kv_str(&w, "as_of", r->as_of);
    kv_int(&w, "window", (int64_t)r->window);
    kv_int(&w, "alert_window", (int64_t)r->alert_window);
    kv_str(&w, "first_label", a->first_label);
    kv_str(&w, "last_label", a->last_label);
    kv_int(&w, "periods", (int64_t)a->nrows);
    kv_str(&w, "nsm", lw_report_nsm_name(c));
    kv_str(&w, "kpi", lw_report_kpi_name(c));
    json_verdicts(c, &w);
    kv_str(&w, "previous_report", r->prev ? r->prev->generated : NULL);
    json_quality(c, &w);
    lw_jsonw_end(&w);
    lw_jsonw_key(&w, "analysis");
    lw_err_t err = lw_analysis_json(a, &w, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    if (a->experiments) { /* issue 16: the `leadwatch experiments --format json` document */
        lw_jsonw_key(&w, "experiments");
        if ((err = lw_exp_json(a->experiments, &w, errstr, errstr_size)) != LW_OK)
            return err;
    }
    lw_jsonw_end(&w);
    lw_buf_putc(b, '\n');
    err = lw_jsonw_finish(&w);
    if (err != LW_OK)
        return lw_seterr(errstr, errstr_size, err, "report: JSON exceeds %zu bytes", b->max);
    return LW_OK;
}

lw_err_t lw_report_json(const lw_report_input_t *r, lw_buf_t *out, char *errstr, size_t errstr_size)
{
    return lw_report_render(r, out, false, json_render, errstr, errstr_size);
}

/* ---------------------------------------------------------------- previous report */

typedef struct {
    const char *p, *end;
    int depth;
} jr_t;

static void jr_ws(jr_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool jr_lit(jr_t *j, char c)
{
    jr_ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return true;
    }
    return false;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* A string into buf (NULL = skip), truncated to size; \u escapes become UTF-8. */
static bool jr_string(jr_t *j, char *buf, size_t size)
{
    if (!jr_lit(j, '"'))
        return false;
    size_t n = 0;
    while (j->p < j->end && *j->p != '"') {
        unsigned long cp;
        if (*j->p == '\\') {
            if (j->end - j->p < 2)
                return false;
            char e = j->p[1];
            j->p += 2;
            if (e != 'u') {
                const int ch = lw_json_unescape1(e);
                if (ch < 0)
                    return false;
                cp = (unsigned long)ch;
            } else {
                if (j->end - j->p < 4)
                    return false;
                cp = 0;
                for (int k = 0; k < 4; k++) {
                    int h = hexval(j->p[k]);
                    if (h < 0)
                        return false;
                    cp = cp * 16 + (unsigned long)h;
                }
                j->p += 4;
                if (cp >= 0xD800 && cp <= 0xDFFF)
                    cp = 0xFFFD; /* surrogates: names here are never outside the BMP */
            }
        } else {
            if ((unsigned char)*j->p < 0x20)
                return false;
            if (buf && n + 1 < size)
                buf[n++] = *j->p;
            j->p++;
            continue;
        }
        char u[4];
        size_t ul = lw_utf8_encode((uint32_t)cp, u);
        for (size_t k = 0; k < ul; k++)
            if (buf && n + 1 < size)
                buf[n++] = u[k];
    }
    if (j->p >= j->end)
        return false;
    j->p++;
    if (buf && size)
        buf[n] = '\0';
    return true;
}

static bool jr_number(jr_t *j, double *v)
{
    jr_ws(j);
    char tmp[64];
    size_t n = 0;
    while (j->p + n < j->end && n + 1 < sizeof tmp && strchr("+-.0123456789eE", j->p[n]))
        n++;
    if (n == 0)
        return false;
    memcpy(tmp, j->p, n);
    tmp[n] = '\0';
    char *endp;
    errno = 0;
    double d = strtod(tmp, &endp);
    /* an underflow (4.9e-324, a p-value the analysis printed) is a number; only overflow is not */
    if (endp != tmp + n || (errno == ERANGE && isinf(d)))
        return false;
    j->p += n;
    if (v)
        *v = d;
    return true;
}

static bool jr_skip(jr_t *j);

static bool jr_skip_container(jr_t *j, char open, char close)
{
    if (++j->depth > PREV_MAX_DEPTH || !jr_lit(j, open))
        return false;
    if (jr_lit(j, close)) {
        j->depth--;
        return true;
    }
    do {
        if (open == '{' && (!jr_string(j, NULL, 0) || !jr_lit(j, ':')))
            return false;
        if (!jr_skip(j))
            return false;
    } while (jr_lit(j, ','));
    j->depth--;
    return jr_lit(j, close);
}

static bool jr_skip(jr_t *j)
{
    jr_ws(j);
    if (j->p >= j->end)
        return false;
    switch (*j->p) {
    case '{': return jr_skip_container(j, '{', '}');
    case '[': return jr_skip_container(j, '[', ']');
    case '"': return jr_string(j, NULL, 0);
    case 't':
    case 'f':
    case 'n': {
        const char *w = *j->p == 't' ? "true" : *j->p == 'f' ? "false" : "null";
        size_t l = strlen(w);
        if ((size_t)(j->end - j->p) < l || memcmp(j->p, w, l) != 0)
            return false;
        j->p += l;
        return true;
    }
    default: return jr_number(j, NULL);
    }
}

static bool jr_peek(jr_t *j, char c)
{
    jr_ws(j);
    return j->p < j->end && *j->p == c;
}

/* A string member the reader keeps: its key and where its value goes. */
typedef struct {
    const char *key;
    char *dst;
    size_t size;
} jr_field_t;

/*
 * After "key": when key names one of the fields and a string follows, read
 * it into the field: 1.  0 when it is none of them (the caller reads or
 * skips the value); -1 when the string is malformed.
 */
static int jr_string_field(jr_t *j, const char *key, const jr_field_t *f, size_t nf)
{
    for (size_t i = 0; i < nf; i++)
        if (strcmp(key, f[i].key) == 0 && jr_peek(j, '"'))
            return jr_string(j, f[i].dst, f[i].size) ? 1 : -1;
    return 0;
}

/* Reads or skips the value of member `key` (the string fields are done); false = malformed. */
typedef bool (*jr_member_fn)(jr_t *j, const char *key, void *ctx);

/*
 * An object: string members named in f[] are read into their fields, every
 * other member goes to `other`.  Keys longer than 31 bytes are truncated
 * (no field has such a name).  false when the text is malformed.
 */
static bool jr_object(jr_t *j, const jr_field_t *f, size_t nf, jr_member_fn other, void *ctx)
{
    char key[32];
    if (!jr_lit(j, '{'))
        return false;
    if (jr_lit(j, '}'))
        return true;
    do {
        if (!jr_string(j, key, sizeof key) || !jr_lit(j, ':'))
            return false;
        int got = jr_string_field(j, key, f, nf);
        if (got < 0 || (got == 0 && !other(j, key, ctx)))
            return false;
    } while (jr_lit(j, ','));
    return jr_lit(j, '}');
}

static bool edge_member(jr_t *j, const char *key, void *ctx)
{
    lw_report_prev_edge_t *pe = ctx;
    if (strcmp(key, "lag") != 0 || jr_peek(j, 'n'))
        return jr_skip(j);
    double d;
    if (!jr_number(j, &d))
        return false;
    pe->lag = d >= 0 && d < 1e6 ? (size_t)d : 0;
    return true;
}

static bool prev_edge(jr_t *j, lw_report_prev_edge_t *pe)
{
    memset(pe, 0, sizeof *pe);
    const jr_field_t fields[] = {{"from", pe->from, sizeof pe->from},
                                 {"to", pe->to, sizeof pe->to},
                                 {"verdict", pe->verdict, sizeof pe->verdict}};
    return jr_object(j, fields, sizeof fields / sizeof fields[0], edge_member, pe);
}

typedef struct {
    lw_report_prev_t *out;
    bool have_verdicts;
} report_obj_t;

/* "verdicts": [edge, ...]: the edges with both names, at most LW_ANALYZE_MAX_EDGES. */
static bool report_member(jr_t *j, const char *key, void *ctx)
{
    report_obj_t *ro = ctx;
    if (strcmp(key, "verdicts") != 0 || !jr_peek(j, '['))
        return jr_skip(j);
    ro->have_verdicts = true;
    jr_lit(j, '[');
    if (jr_lit(j, ']'))
        return true;
    do {
        lw_report_prev_edge_t pe;
        if (!prev_edge(j, &pe))
            return false;
        if (ro->out->nedges < LW_ANALYZE_MAX_EDGES && pe.from[0] && pe.to[0])
            ro->out->edges[ro->out->nedges++] = pe;
    } while (jr_lit(j, ','));
    return jr_lit(j, ']');
}

static bool prev_report_obj(jr_t *j, lw_report_prev_t *out, bool *have_verdicts)
{
    const jr_field_t fields[] = {{"generated", out->generated, sizeof out->generated},
                                 {"last_label", out->last_label, sizeof out->last_label}};
    report_obj_t ro = {out, false};
    bool ok = jr_object(j, fields, sizeof fields / sizeof fields[0], report_member, &ro);
    *have_verdicts = *have_verdicts || ro.have_verdicts;
    return ok;
}

lw_err_t lw_report_prev_parse(const char *json, size_t len, lw_report_prev_t *out, char *errstr,
                              size_t errstr_size)
{
    memset(out, 0, sizeof *out);
    jr_t j = {json, json + len, 0};
    char schema[64] = "";
    bool have_verdicts = false;
    if (!jr_lit(&j, '{'))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "previous report: not a JSON object");
    if (!jr_lit(&j, '}')) {
        do {
            char key[32];
            bool ok;
            if (!jr_string(&j, key, sizeof key) || !jr_lit(&j, ':'))
                ok = false;
            else if (strcmp(key, "schema") == 0 && jr_peek(&j, '"'))
                ok = jr_string(&j, schema, sizeof schema);
            else if (strcmp(key, "report") == 0 && jr_peek(&j, '{'))
                ok = prev_report_obj(&j, out, &have_verdicts);
            else
                ok = jr_skip(&j);
            if (!ok) {
                size_t off = (size_t)(j.p - json);
                memset(out, 0, sizeof *out);
                return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                 "previous report: malformed JSON near byte %zu", off);
            }
        } while (jr_lit(&j, ','));
        jr_ws(&j);
        if (!jr_lit(&j, '}') || (jr_ws(&j), j.p != j.end)) {
            memset(out, 0, sizeof *out);
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                             "previous report: malformed JSON near byte %zu", (size_t)(j.p - json));
        }
    }
    if (strcmp(schema, LW_REPORT_SCHEMA) != 0 || !have_verdicts) {
        memset(out, 0, sizeof *out);
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "previous report: not a %s document",
                         LW_REPORT_SCHEMA);
    }
    return LW_OK;
}
