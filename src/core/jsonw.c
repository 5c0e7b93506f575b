/*
 * jsonw.c - streaming JSON writer (see jsonw.h for the escaping rule and
 * the layout).
 *
 * State per level is two bits in two words (comma due, object or array),
 * which bounds the depth at 32; the documents written here nest at most
 * six deep.  Before every value or key, pre() writes the comma and the
 * newline + indent the layout asks for, unless the value follows its key.
 *
 * Strings: lw_buf_put_json_str is buf.c's one escaper (lw_buf_put_escaped,
 * also behind lw_buf_put_xml) with the JSON table below; validation is
 * lw_utf8_seq, shared with the event decoder, so "invalid" means the same
 * everywhere and JSON and XML replace exactly the same bytes.  Rejected alternatives: passing
 * invalid bytes through (what report.c did: the output is then not UTF-8 and strict parsers refuse
 * it) and dropping them (loses the hint that something was there); one U+FFFD per bad byte is what
 * the alert writers and the analysis writer already did, so their output is unchanged.
 */
#include "leadwatch/core/jsonw.h"

#include "leadwatch/core/jsonnum.h"
#include "leadwatch/core/utf8.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* RFC 8259 short forms for " \\ and newline, CR, tab; \\u00XX for other controls. */
static const lw_buf_escapes_t json_escapes = {
    .ascii =
        {
            ['"'] = "\\\"",     ['\\'] = "\\\\",    ['\n'] = "\\n",     ['\r'] = "\\r",
            ['\t'] = "\\t",     [0x00] = "\\u0000", [0x01] = "\\u0001", [0x02] = "\\u0002",
            [0x03] = "\\u0003", [0x04] = "\\u0004", [0x05] = "\\u0005", [0x06] = "\\u0006",
            [0x07] = "\\u0007", [0x08] = "\\u0008", [0x0B] = "\\u000b", [0x0C] = "\\u000c",
            [0x0E] = "\\u000e", [0x0F] = "\\u000f", [0x10] = "\\u0010", [0x11] = "\\u0011",
            [0x12] = "\\u0012", [0x13] = "\\u0013", [0x14] = "\\u0014", [0x15] = "\\u0015",
            [0x16] = "\\u0016", [0x17] = "\\u0017", [0x18] = "\\u0018", [0x19] = "\\u0019",
            [0x1A] = "\\u001a", [0x1B] = "\\u001b", [0x1C] = "\\u001c", [0x1D] = "\\u001d",
            [0x1E] = "\\u001e", [0x1F] = "\\u001f",
        },
    .invalid = "\\ufffd",
};

lw_err_t lw_buf_put_json_str(lw_buf_t *b, const char *s, size_t n)
{
    lw_buf_putc(b, '"');
    lw_buf_put_escaped(b, s, n, &json_escapes);
    return lw_buf_putc(b, '"');
}

void lw_jsonw_init(lw_jsonw_t *w, lw_buf_t *b, unsigned indent)
{
    memset(w, 0, sizeof *w);
    w->b = b;
    w->indent = indent;
}

static bool level_object(const lw_jsonw_t *w)
{
    return w->depth > 0 && (w->is_object >> w->depth & 1u);
}

static void newline_indent(lw_jsonw_t *w)
{
    static const char spaces[] = "                                ";
    lw_buf_putc(w->b, '\n');
    size_t n = (size_t)w->depth * w->indent;
    for (; n > sizeof spaces - 1; n -= sizeof spaces - 1)
        lw_buf_append(w->b, spaces, sizeof spaces - 1);
    lw_buf_append(w->b, spaces, n);
}

/* Before a key, or a value that does not follow a key. */
static void pre(lw_jsonw_t *w, bool key)
{
    if (w->after_key) {
        assert(!key);
        w->misuse |= key;
        w->after_key = false;
        return;
    }
    /* inside an object only keys start a member; outside one, never a key */
    assert(key == level_object(w));
    w->misuse |= key != level_object(w);
    if (w->depth == 0)
        return;
    const uint32_t bit = UINT32_C(1) << w->depth;
    if (w->need_comma & bit)
        lw_buf_putc(w->b, ',');
    if (w->indent)
        newline_indent(w);
    w->need_comma |= bit;
}

static void open_level(lw_jsonw_t *w, char c, bool object)
{
    pre(w, false);
    if (w->depth + 1 >= LW_JSONW_MAX_DEPTH) {
        assert(!"lw_jsonw: nesting deeper than LW_JSONW_MAX_DEPTH");
        w->misuse = true;
        return;
    }
    lw_buf_putc(w->b, c);
    w->depth++;
    const uint32_t bit = UINT32_C(1) << w->depth;
    w->need_comma &= ~bit;
    if (object)
        w->is_object |= bit;
    else
        w->is_object &= ~bit;
}

void lw_jsonw_object(lw_jsonw_t *w)
{
    open_level(w, '{', true);
}

void lw_jsonw_array(lw_jsonw_t *w)
{
    open_level(w, '[', false);
}

void lw_jsonw_end(lw_jsonw_t *w)
{
    assert(w->depth > 0 && !w->after_key);
    if (w->depth <= 0 || w->after_key) {
        w->misuse = true;
        return;
    }
    const bool object = level_object(w);
    const bool had = w->need_comma & (UINT32_C(1) << w->depth);
    w->depth--;
    if (had && w->indent)
        newline_indent(w);
    lw_buf_putc(w->b, object ? '}' : ']');
}

void lw_jsonw_key(lw_jsonw_t *w, const char *k)
{
    pre(w, true);
    lw_buf_put_json_str(w->b, k, strlen(k));
    if (w->indent)
        lw_buf_append(w->b, ": ", 2);
    else
        lw_buf_putc(w->b, ':');
    w->after_key = true;
}

void lw_jsonw_string_n(lw_jsonw_t *w, const char *s, size_t n)
{
    pre(w, false);
    lw_buf_put_json_str(w->b, s, n);
}

void lw_jsonw_string(lw_jsonw_t *w, const char *s)
{
    if (s)
        lw_jsonw_string_n(w, s, strlen(s));
    else
        lw_jsonw_null(w);
}

void lw_jsonw_raw(lw_jsonw_t *w, const char *json, size_t n)
{
    pre(w, false);
    lw_buf_append(w->b, json, n);
}

void lw_jsonw_number(lw_jsonw_t *w, double v)
{
    if (!isfinite(v)) {
        lw_jsonw_null(w);
        return;
    }
    char tmp[LW_JSONNUM_MAX];
    lw_jsonw_raw(w, tmp, lw_jsonnum_g17(tmp, v));
}

void lw_jsonw_int(lw_jsonw_t *w, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    lw_jsonw_raw(w, tmp, (size_t)n);
}

void lw_jsonw_uint(lw_jsonw_t *w, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    lw_jsonw_raw(w, tmp, (size_t)n);
}

void lw_jsonw_bool(lw_jsonw_t *w, bool v)
{
    lw_jsonw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void lw_jsonw_null(lw_jsonw_t *w)
{
    lw_jsonw_raw(w, "null", 4);
}

lw_err_t lw_jsonw_finish(const lw_jsonw_t *w)
{
    if (w->b->err != LW_OK)
        return w->b->err;
    if (w->misuse || w->depth != 0 || w->after_key)
        return LW_ERR_INVALID;
    return LW_OK;
}

lw_err_t lw_jsonw_write_doc(lw_jsonw_doc_fn fn, const void *arg, size_t max, FILE *out,
                            char *errstr, size_t errstr_size)
{
    lw_buf_t b;
    lw_jsonw_t w;
    lw_buf_init(&b, max);
    lw_jsonw_init(&w, &b, 2);
    lw_err_t err = fn(arg, &w, out, errstr, errstr_size);
    lw_buf_release(&b);
    return err;
}

int lw_json_unescape1(char e)
{
    switch (e) {
    case '"':
    case '\\':
    case '/': return e;
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    }
    return -1;
}
