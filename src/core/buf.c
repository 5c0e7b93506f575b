/*
 * buf.c - bounded growable byte buffer (see buf.h).
 *
 * Growth doubles the allocation (starting at 256 bytes) and never asks for
 * more than max + 1 bytes, so a buffer bounded at 2 MB holds at most 2 MB
 * plus the terminator however it is fed.  An append is all-or-nothing: the
 * size check happens before any byte is copied, which is what lets a
 * writer rewind to a known length and never leave a truncated document.
 * Modelled on curl's lib/curlx/dynbuf.c, except that a failure here keeps
 * the contents (curl frees them) so the caller can rewind and carry on,
 * e.g. replace a chart that did not fit by a short note.
 *
 * Numbers.  lw_buf_put_num is written by hand rather than with
 * snprintf("%.*f") plus trimming because charts print tens of thousands
 * of coordinates and the integer path (round v * 10^d to an int64, print
 * the integer and fraction digits, drop trailing zeros) is several times
 * faster and gives the compact form directly.  Values too large for that
 * path (|v| * 10^d >= 2^53) fall back to snprintf("%.0f").
 *
 * Escaping.  One loop, lw_buf_put_escaped, serves XML (the table here) and
 * JSON (jsonw.c's table).  lw_buf_put_xml validates UTF-8 as it goes (lw_utf8_seq of
 * utf8.h, the program's one validator: no overlongs, no surrogates,
 * nothing above U+10FFFF) because metric names
 * come from user configuration and a single stray byte would make a whole
 * XML/XHTML document unparseable.  Runs of safe bytes are copied in one
 * append.
 */
#include "leadwatch/core/buf.h"

#include "leadwatch/core/utf8.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN_ALLOC 256

void lw_buf_init(lw_buf_t *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->max = max;
    b->err = LW_OK;
}

void lw_buf_release(lw_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->err = LW_OK;
}

/* Make room for n more bytes plus the terminator, or set the sticky error. */
static lw_err_t buf_reserve(lw_buf_t *b, size_t n)
{
    if (b->err != LW_OK)
        return b->err;
    if (n > b->max - b->len) {
        b->err = LW_ERR_TOO_LARGE;
        return b->err;
    }
    size_t need = b->len + n + 1;
    if (need <= b->alloc)
        return LW_OK;
    size_t want = b->alloc ? b->alloc : BUF_MIN_ALLOC;
    while (want < need)
        want = want > SIZE_MAX / 2 ? need : want * 2;
    if (want > b->max + 1)
        want = b->max + 1;
    char *p = realloc(b->data, want);
    if (!p) {
        b->err = LW_ERR_NOMEM;
        return b->err;
    }
    b->data = p;
    b->alloc = want;
    return LW_OK;
}

lw_err_t lw_buf_append(lw_buf_t *b, const void *p, size_t n)
{
    lw_err_t err = buf_reserve(b, n);
    if (err != LW_OK)
        return err;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return LW_OK;
}

lw_err_t lw_buf_puts(lw_buf_t *b, const char *s)
{
    return lw_buf_append(b, s, strlen(s));
}

lw_err_t lw_buf_putc(lw_buf_t *b, char c)
{
    return lw_buf_append(b, &c, 1);
}

lw_err_t lw_buf_printf(lw_buf_t *b, const char *fmt, ...)
{
    if (b->err != LW_OK)
        return b->err;
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return LW_ERR_INVALID; /* encoding error: not sticky, nothing written */
    if ((size_t)n < sizeof small)
        return lw_buf_append(b, small, (size_t)n);
    lw_err_t err = buf_reserve(b, (size_t)n);
    if (err != LW_OK)
        return err;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return LW_OK;
}

lw_err_t lw_buf_put_escaped(lw_buf_t *b, const char *s, size_t n, const lw_buf_escapes_t *e)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* start of the pending run of bytes copied verbatim */
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        const char *rep;
        if (c >= 0x80) {
            size_t len = lw_utf8_seq(u + i, n - i);
            /* U+FFFE/U+FFFF (EF BF BE/BF): well-formed UTF-8, not XML characters */
            if (len == 3 && e->refuse_fffe && u[i] == 0xEF && u[i + 1] == 0xBF && u[i + 2] >= 0xBE)
                len = 0;
            if (len > 0) {
                i += len;
                continue;
            }
            rep = e->invalid;
        } else if (!(rep = e->ascii[c])) {
            i++;
            continue;
        }
        lw_buf_append(b, s + run, i - run);
        lw_buf_puts(b, rep);
        run = ++i;
    }
    return lw_buf_append(b, s + run, n - run);
}

/* XML 1.0 text and attributes: five entities; other controls and DEL are not characters. */
static const lw_buf_escapes_t xml_escapes = {
    .ascii =
        {
            ['&'] = "&amp;",         ['<'] = "&lt;",          ['>'] = "&gt;",
            ['"'] = "&quot;",        ['\''] = "&#39;",        [0x00] = "\xEF\xBF\xBD",
            [0x01] = "\xEF\xBF\xBD", [0x02] = "\xEF\xBF\xBD", [0x03] = "\xEF\xBF\xBD",
            [0x04] = "\xEF\xBF\xBD", [0x05] = "\xEF\xBF\xBD", [0x06] = "\xEF\xBF\xBD",
            [0x07] = "\xEF\xBF\xBD", [0x08] = "\xEF\xBF\xBD", [0x0B] = "\xEF\xBF\xBD",
            [0x0C] = "\xEF\xBF\xBD", [0x0E] = "\xEF\xBF\xBD", [0x0F] = "\xEF\xBF\xBD",
            [0x10] = "\xEF\xBF\xBD", [0x11] = "\xEF\xBF\xBD", [0x12] = "\xEF\xBF\xBD",
            [0x13] = "\xEF\xBF\xBD", [0x14] = "\xEF\xBF\xBD", [0x15] = "\xEF\xBF\xBD",
            [0x16] = "\xEF\xBF\xBD", [0x17] = "\xEF\xBF\xBD", [0x18] = "\xEF\xBF\xBD",
            [0x19] = "\xEF\xBF\xBD", [0x1A] = "\xEF\xBF\xBD", [0x1B] = "\xEF\xBF\xBD",
            [0x1C] = "\xEF\xBF\xBD", [0x1D] = "\xEF\xBF\xBD", [0x1E] = "\xEF\xBF\xBD",
            [0x1F] = "\xEF\xBF\xBD", [0x7F] = "\xEF\xBF\xBD",
        },
    .invalid = "\xEF\xBF\xBD", /* U+FFFD */
    .refuse_fffe = true,
};

lw_err_t lw_buf_put_xml_n(lw_buf_t *b, const char *s, size_t n)
{
    return lw_buf_put_escaped(b, s, n, &xml_escapes);
}

lw_err_t lw_buf_put_xml(lw_buf_t *b, const char *s)
{
    if (!s)
        return b->err;
    return lw_buf_put_xml_n(b, s, strlen(s));
}

lw_err_t lw_buf_put_num(lw_buf_t *b, double v, int decimals)
{
    static const double pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    assert(decimals >= 0 && decimals <= 6);
    assert(isfinite(v));
    if (!isfinite(v))
        v = 0;
    if (decimals < 0)
        decimals = 0;
    if (decimals > 6)
        decimals = 6;
    double scaled = v * pow10[decimals];
    if (fabs(scaled) >= 9007199254740992.0) { /* 2^53: beyond exact int64 rounding */
        char tmp[400];
        int n = snprintf(tmp, sizeof tmp, "%.0f", v);
        return lw_buf_append(b, tmp, (size_t)n);
    }
    long long r = llround(scaled);
    char tmp[40];
    char *end = tmp + sizeof tmp;
    char *p = end;
    bool neg = r < 0;
    unsigned long long m = neg ? (unsigned long long)(-r) : (unsigned long long)r;
    unsigned long long unit = (unsigned long long)pow10[decimals];
    unsigned long long ip = m / unit, fp = m % unit;
    if (fp != 0) {
        int d = decimals;
        while (fp % 10 == 0) { /* drop trailing zeros */
            fp /= 10;
            d--;
        }
        for (; d > 0; d--) {
            *--p = (char)('0' + fp % 10);
            fp /= 10;
        }
        *--p = '.';
    }
    do {
        *--p = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip > 0);
    if (neg && m != 0)
        *--p = '-';
    return lw_buf_append(b, p, (size_t)(end - p));
}

lw_err_t lw_buf_read_stream(lw_buf_t *b, FILE *f)
{
    char chunk[1 << 14];
    size_t mark = b->len, n;
    while (b->err == LW_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        lw_buf_append(b, chunk, n);
    if (b->err != LW_OK)
        return b->err;
    if (ferror(f)) {
        lw_buf_rewind(b, mark);
        return LW_ERR_IO;
    }
    return LW_OK;
}

void lw_buf_rewind(lw_buf_t *b, size_t len)
{
    assert(len <= b->len);
    if (len > b->len)
        len = b->len;
    b->len = len;
    if (b->data)
        b->data[len] = '\0';
    b->err = LW_OK;
}

char *lw_buf_detach(lw_buf_t *b, size_t *len_out)
{
    char *p = b->data;
    if (len_out)
        *len_out = b->len;
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->err = LW_OK;
    return p;
}
