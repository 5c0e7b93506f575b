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
#include "leadwatch/core/timeutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREV_MAX_DEPTH 64

/* ---------------------------------------------------------------- JSON */

/* A JSON string: escape ", \ and control characters; invalid UTF-8 is passed through
   lw_buf_put_xml's repair first would change & < >, so bytes >= 0x80 are copied and the
   writers' inputs (metric names, labels, our own sentences) are UTF-8 by construction. */
static void j_str(lw_buf_t *b, const char *s)
{
    lw_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            lw_buf_putc(b, '\\');
            lw_buf_putc(b, (char)*p);
        } else if (*p < 0x20) {
            lw_buf_printf(b, "\\u%04x", *p);
        } else {
            lw_buf_putc(b, (char)*p);
        }
    }
    lw_buf_putc(b, '"');
}

static void j_kstr(lw_buf_t *b, const char *k, const char *v, bool comma)
{
    lw_buf_puts(b, comma ? ",\n    " : "\n    ");
    j_str(b, k);
    lw_buf_puts(b, ": ");
    if (v)
        j_str(b, v);
    else
        lw_buf_puts(b, "null");
}

static lw_err_t json_render(lw_report_ctx_t *c, lw_buf_t *b, char *errstr, size_t errstr_size)
{
    const lw_report_input_t *r = c->r;
    const lw_analysis_t *a = c->a;
    char gen[40];
    lw_report_time_str(r->generated_ms, gen, sizeof gen);
    lw_buf_puts(b, "{\n  \"schema\": \"" LW_REPORT_SCHEMA "\",\n  \"report\": {");
    j_kstr(b, "generated", gen, false);
    lw_buf_printf(b, ",\n    \"generated_ms\": %lld", (long long)r->generated_ms);
    j_kstr(b, "title", lw_report_title_of(r), true);
    j_kstr(b, "leadwatch_version", LW_VERSION, true);
    j_kstr(b, "config", r->config_path, true);
    j_kstr(b, "store", r->store_path, true);
    j_kstr(b, "as_of", r->as_of, true);
    lw_buf_printf(b, ",\n    \"window\": %zu", r->window);
    j_kstr(b, "first_label", a->first_label, true);
    j_kstr(b, "last_label", a->last_label, true);
    lw_buf_printf(b, ",\n    \"periods\": %zu", a->nrows);
    j_kstr(b, "nsm", lw_report_nsm_name(c), true);
    j_kstr(b, "kpi", lw_report_kpi_name(c), true);
    lw_buf_puts(b, ",\n    \"verdicts\": [");
    for (size_t i = 0; i < a->nedges; i++) {
        const lw_edge_result_t *e = &a->edges[i];
        const lw_report_edge_ctx_t *ec = &c->edges[i];
        lw_buf_puts(b, i ? ",\n      {" : "\n      {");
        lw_buf_puts(b, "\"from\": ");
        j_str(b, e->from);
        lw_buf_puts(b, ", \"to\": ");
        j_str(b, e->to);
        lw_buf_puts(b, ", \"verdict\": ");
        j_str(b, lw_verdict_name(e->verdict));
        lw_buf_puts(b, ", \"shown_as\": ");
        j_str(b, lw_svg_verdict_label(ec->svg_verdict));
        lw_buf_printf(b, ", \"lag\": %zu, \"headline\": ", ec->lead);
        j_str(b, ec->sentence);
        lw_buf_puts(b, ", \"previous_verdict\": ");
        if (ec->prev)
            j_str(b, ec->prev->verdict);
        else
            lw_buf_puts(b, "null");
        lw_buf_puts(b, "}");
    }
    lw_buf_puts(b, "\n    ],\n    \"previous_report\": ");
    if (r->prev)
        j_str(b, r->prev->generated);
    else
        lw_buf_puts(b, "null");
    lw_buf_printf(b,
                  ",\n    \"data_quality\": {\"rejected\": %lld, \"late\": %lld, "
                  "\"provisional_left_out\": %zu, \"gaps\": %zu, \"counters\": {",
                  (long long)lw_report_counter_sum(r, "rejected.", false),
                  (long long)(lw_report_counter_sum(r, "events.late", true) +
                              lw_report_counter_sum(r, "late", true)),
                  r->provisional, c->gaps);
    for (size_t i = 0; i < r->ncounters; i++) {
        lw_buf_puts(b, i ? ", " : "");
        j_str(b, r->counters[i].name);
        lw_buf_printf(b, ": %lld", (long long)r->counters[i].value);
    }
    lw_buf_puts(b, "}}\n  },\n  \"analysis\": ");
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    if (!f)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: open_memstream failed");
    lw_err_t err = lw_analysis_write_json(a, f, errstr, errstr_size);
    if (fclose(f) != 0 && err == LW_OK)
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: memory stream failed");
    if (err == LW_OK) {
        while (memlen > 0 && (mem[memlen - 1] == '\n' || mem[memlen - 1] == ' '))
            memlen--;
        lw_buf_append(b, mem, memlen);
    }
    free(mem);
    if (err != LW_OK)
        return err;
    lw_buf_puts(b, "\n}\n");
    if (b->err != LW_OK)
        return lw_seterr(errstr, errstr_size, b->err, "report: JSON exceeds %zu bytes", b->max);
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
            switch (e) {
            case 'n': cp = '\n'; break;
            case 't': cp = '\t'; break;
            case 'r': cp = '\r'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case '"':
            case '\\':
            case '/': cp = (unsigned char)e; break;
            case 'u': {
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
                break;
            }
            default: return false;
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
        size_t ul = 0;
        if (cp < 0x80) {
            u[ul++] = (char)cp;
        } else if (cp < 0x800) {
            u[ul++] = (char)(0xC0 | (cp >> 6));
            u[ul++] = (char)(0x80 | (cp & 0x3F));
        } else {
            u[ul++] = (char)(0xE0 | (cp >> 12));
            u[ul++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            u[ul++] = (char)(0x80 | (cp & 0x3F));
        }
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

static bool prev_edge(jr_t *j, lw_report_prev_edge_t *pe)
{
    memset(pe, 0, sizeof *pe);
    if (!jr_lit(j, '{'))
        return false;
    if (jr_lit(j, '}'))
        return true;
    do {
        char key[32];
        if (!jr_string(j, key, sizeof key) || !jr_lit(j, ':'))
            return false;
        if (strcmp(key, "from") == 0 && jr_peek(j, '"')) {
            if (!jr_string(j, pe->from, sizeof pe->from))
                return false;
        } else if (strcmp(key, "to") == 0 && jr_peek(j, '"')) {
            if (!jr_string(j, pe->to, sizeof pe->to))
                return false;
        } else if (strcmp(key, "verdict") == 0 && jr_peek(j, '"')) {
            if (!jr_string(j, pe->verdict, sizeof pe->verdict))
                return false;
        } else if (strcmp(key, "lag") == 0 && !jr_peek(j, 'n')) {
            double d;
            if (!jr_number(j, &d))
                return false;
            pe->lag = d >= 0 && d < 1e6 ? (size_t)d : 0;
        } else if (!jr_skip(j)) {
            return false;
        }
    } while (jr_lit(j, ','));
    return jr_lit(j, '}');
}

static bool prev_report_obj(jr_t *j, lw_report_prev_t *out, bool *have_verdicts)
{
    if (!jr_lit(j, '{'))
        return false;
    if (jr_lit(j, '}'))
        return true;
    do {
        char key[32];
        if (!jr_string(j, key, sizeof key) || !jr_lit(j, ':'))
            return false;
        if (strcmp(key, "generated") == 0 && jr_peek(j, '"')) {
            if (!jr_string(j, out->generated, sizeof out->generated))
                return false;
        } else if (strcmp(key, "last_label") == 0 && jr_peek(j, '"')) {
            if (!jr_string(j, out->last_label, sizeof out->last_label))
                return false;
        } else if (strcmp(key, "verdicts") == 0 && jr_peek(j, '[')) {
            *have_verdicts = true;
            jr_lit(j, '[');
            if (!jr_lit(j, ']')) {
                do {
                    lw_report_prev_edge_t pe;
                    if (!prev_edge(j, &pe))
                        return false;
                    if (out->nedges < LW_ANALYZE_MAX_EDGES && pe.from[0] && pe.to[0])
                        out->edges[out->nedges++] = pe;
                } while (jr_lit(j, ','));
                if (!jr_lit(j, ']'))
                    return false;
            }
        } else if (!jr_skip(j)) {
            return false;
        }
    } while (jr_lit(j, ','));
    return jr_lit(j, '}');
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
