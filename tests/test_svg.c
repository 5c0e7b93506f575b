/*
 * test_svg.c - the bounded buffer (buf.c) and the SVG charts (svg.c).
 *
 * Every chart produced here goes through svg_check(), a small structural
 * XML checker written for this test (libxml2 is not among the build
 * dependencies): the document is valid UTF-8, tags are balanced and
 * properly nested with <svg> as the single root, attribute values are
 * quoted, '&' only starts one of the entities we emit, no raw '<' or '>'
 * in text, every numeric attribute parses completely as a finite number,
 * path data hold only path commands and finite numbers, and nothing refers
 * outside the document ("http" only in the xmlns declaration, no script,
 * href, url(), or @import).
 *
 * Geometry is checked by reading the output back: the plot rectangle
 * (class="lw-plot") gives the pixel frame, and parse_path() turns a series'
 * path data (absolute M, relative l pairs, h0 dots) back into absolute
 * points, so the tests can assert where points landed, that a NAN starts a
 * new subpath, and that relative coordinates do not drift.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/core/buf.h"
#include "leadwatch/report/svg.h"
#include "testutil.h"

#define BIG (4u * 1024 * 1024)
#define HOSTILE "<script>alert(\"x\")</script> & \"q\" 'a' <b>"

/* ---- structural checker ------------------------------------------------- */

static bool valid_utf8(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        size_t len = c < 0x80                 ? 1
                     : c >= 0xC2 && c <= 0xDF ? 2
                     : c >= 0xE0 && c <= 0xEF ? 3
                     : c >= 0xF0 && c <= 0xF4 ? 4
                                              : 0;
        if (len == 0 || i + len > n)
            return false;
        for (size_t k = 1; k < len; k++)
            if ((u[i + k] & 0xC0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

/* '&' at s must start one of the entities the writer emits. */
static bool good_entity(const char *s)
{
    static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
    for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++)
        if (strncmp(s, ents[i], strlen(ents[i])) == 0)
            return true;
    return false;
}

static bool is_numeric_attr(const char *name, size_t len)
{
    static const char *const names[] = {
        "x",         "y",  "width",        "height",        "cx", "cy", "r", "stroke-width",
        "font-size", "rx", "fill-opacity", "letter-spacing"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == len && strncmp(name, names[i], len) == 0)
            return true;
    return false;
}

/* Every number in v (separated by spaces/commas/letters) is finite. */
static bool numbers_finite(const char *v, size_t len, const char *allowed_letters)
{
    char tmp[1 << 16];
    const char *p = v, *end = v + len;
    while (p < end) {
        if (*p == ' ' || *p == ',' || *p == '(' || *p == ')') {
            p++;
            continue;
        }
        if (isalpha((unsigned char)*p)) {
            if (!strchr(allowed_letters, *p))
                return false;
            p++;
            continue;
        }
        size_t k = 0;
        while (p + k < end && k + 1 < sizeof tmp &&
               (isdigit((unsigned char)p[k]) || p[k] == '.' || (k == 0 && p[k] == '-')))
            k++;
        if (k == 0)
            return false;
        memcpy(tmp, p, k);
        tmp[k] = '\0';
        char *e;
        errno = 0;
        double d = strtod(tmp, &e);
        if (*e != '\0' || errno != 0 || !isfinite(d))
            return false;
        p += k;
    }
    return true;
}

/* Returns NULL when well-formed, else a reason (static string). */
static const char *svg_check_why(const char *s, size_t n)
{
    if (!valid_utf8(s, n))
        return "invalid UTF-8";
    if (strstr(s, "<script") || strstr(s, "href") || strstr(s, "url(") || strstr(s, "@import"))
        return "external reference or script";
    const char *h = s;
    while ((h = strstr(h, "http")) != NULL) {
        if (h - s < 7 || strncmp(h - 7, "xmlns=\"http://www.w3.org/2000/svg\"", 34) != 0)
            return "http outside the xmlns declaration";
        h += 4;
    }
    const char *stack[256];
    size_t stack_len[256], depth = 0, roots = 0;
    const char *p = s, *end = s + n;
    while (p < end) {
        if (*p != '<') {
            if (*p == '>')
                return "raw > in text";
            if (*p == '&' && !good_entity(p))
                return "bare & in text";
            if (depth == 0 && !isspace((unsigned char)*p))
                return "text outside the root";
            p++;
            continue;
        }
        bool closing = p[1] == '/';
        const char *name = p + (closing ? 2 : 1);
        size_t nl = 0;
        while (name + nl < end && (isalnum((unsigned char)name[nl]) || name[nl] == '-'))
            nl++;
        if (nl == 0)
            return "bad tag name";
        const char *q = name + nl;
        if (closing) {
            if (*q != '>')
                return "bad closing tag";
            if (depth == 0 || stack_len[depth - 1] != nl || strncmp(stack[depth - 1], name, nl))
                return "mismatched closing tag";
            depth--;
            p = q + 1;
            continue;
        }
        /* attributes */
        for (;;) {
            while (*q == ' ')
                q++;
            if (*q == '>' || (*q == '/' && q[1] == '>'))
                break;
            const char *an = q;
            while (isalnum((unsigned char)*q) || *q == '-' || *q == ':')
                q++;
            size_t anl = (size_t)(q - an);
            if (anl == 0 || q[0] != '=' || q[1] != '"')
                return "bad attribute";
            const char *v = q + 2, *ve = strchr(v, '"');
            if (!ve)
                return "unterminated attribute";
            for (const char *c = v; c < ve; c++) {
                if (*c == '<' || *c == '>')
                    return "raw < or > in an attribute";
                if (*c == '&' && !good_entity(c))
                    return "bare & in an attribute";
            }
            if (is_numeric_attr(an, anl) && !numbers_finite(v, (size_t)(ve - v), ""))
                return "non-numeric or non-finite numeric attribute";
            if (anl == 1 && *an == 'd' && !numbers_finite(v, (size_t)(ve - v), "MLHVCZmlhvcz"))
                return "bad path data";
            if (anl == 7 && strncmp(an, "viewBox", 7) == 0 &&
                !numbers_finite(v, (size_t)(ve - v), ""))
                return "bad viewBox";
            if (anl == 9 && strncmp(an, "transform", 9) == 0 &&
                !numbers_finite(v, (size_t)(ve - v), "rotate"))
                return "bad transform";
            q = ve + 1;
        }
        if (depth == 0) {
            if (roots++ > 0 || nl != 3 || strncmp(name, "svg", 3) != 0)
                return "root is not a single <svg>";
        }
        if (*q == '/') {
            p = q + 2;
            continue;
        }
        if (depth == 256)
            return "too deep";
        stack[depth] = name;
        stack_len[depth++] = nl;
        p = q + 1;
    }
    if (depth != 0)
        return "unclosed element";
    if (roots != 1)
        return "no root";
    /* "nan" / "inf" can only hide in numbers, which were checked above; belt and braces: */
    if (strstr(s, "=\"nan") || strstr(s, "=\"-nan") || strstr(s, "=\"inf") || strstr(s, " nan") ||
        strstr(s, "inf\""))
        return "nan/inf in output";
    return NULL;
}

static void svg_check(const char *s, size_t n)
{
    const char *why = svg_check_why(s, n);
    if (why)
        fail_msg("malformed SVG: %s\n%.2000s", why, s);
}

/* ---- reading the output back ------------------------------------------- */

/* Value of attribute `name` in the tag that contains `at`, as a double. */
static double attr_num(const char *tag, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *gt = strchr(tag, '>');
    const char *a = strstr(tag, key);
    assert_non_null(a);
    assert_true(gt == NULL || a < gt);
    return strtod(a + strlen(key), NULL);
}

/* Start of the tag containing `needle` (searching from `from`), or NULL. */
static const char *tag_with(const char *from, const char *needle)
{
    const char *hit = strstr(from, needle);
    if (!hit)
        return NULL;
    while (hit > from && *hit != '<')
        hit--;
    return hit;
}

typedef struct {
    double x, y;
} pt_t;

/*
 * Absolute points of path data made of "M x y", "l dx dy ...", "h0".
 * *subpaths counts the M commands.  Returns the number of points.
 */
static size_t parse_path(const char *d, pt_t *pts, size_t max, size_t *subpaths)
{
    size_t n = 0;
    char cmd = 0;
    pt_t cur = {0, 0};
    *subpaths = 0;
    const char *p = d;
    while (*p && *p != '"') {
        if (*p == ' ') {
            p++;
            continue;
        }
        if (*p == 'M' || *p == 'l' || *p == 'h') {
            cmd = *p++;
            if (cmd == 'M')
                (*subpaths)++;
            continue;
        }
        char *e;
        double a = strtod(p, &e);
        assert_true(e != p);
        p = e;
        if (cmd == 'h') {
            cur.x += a;
            continue;
        }
        while (*p == ' ')
            p++;
        double b = strtod(p, &e);
        assert_true(e != p);
        p = e;
        if (cmd == 'M') {
            cur = (pt_t){a, b};
        } else {
            assert_int_equal(cmd, 'l');
            cur.x += a;
            cur.y += b;
        }
        if (n < max)
            pts[n] = cur;
        n++;
    }
    return n;
}

/* The k-th <path class="lw-series"> path data (0-based), or NULL. */
static const char *series_d(const char *svg, int k)
{
    const char *p = svg;
    for (int i = 0; i <= k; i++) {
        p = strstr(p, "class=\"lw-series\" d=\"");
        if (!p)
            return NULL;
        p += strlen("class=\"lw-series\" d=\"");
    }
    return p;
}

static size_t count(const char *s, const char *needle)
{
    size_t k = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        k++;
    return k;
}

typedef struct {
    double x0, y0, w, h;
} plot_t;

static plot_t plot_of(const char *svg)
{
    const char *t = tag_with(svg, "class=\"lw-plot\"");
    assert_non_null(t);
    return (plot_t){attr_num(t, "x"), attr_num(t, "y"), attr_num(t, "width"),
                    attr_num(t, "height")};
}

/* ---- buffer ------------------------------------------------------------- */

static void test_buf_append_and_printf(void **state)
{
    (void)state;
    lw_buf_t b;
    lw_buf_init(&b, 4096);
    assert_int_equal(lw_buf_puts(&b, "ab"), LW_OK);
    assert_int_equal(lw_buf_putc(&b, 'c'), LW_OK);
    char big[600];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(lw_buf_printf(&b, "[%d:%s]", 42, big), LW_OK); /* > the 256-byte fast path */
    assert_int_equal(b.len, 3 + 4 + 599 + 1);
    assert_memory_equal(b.data, "abc[42:zzz", 10);
    assert_int_equal(b.data[b.len], '\0');
    size_t len;
    char *p = lw_buf_detach(&b, &len);
    assert_int_equal(len, 607);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(p);
    lw_buf_release(&b);
}

static void test_buf_numbers(void **state)
{
    (void)state;
    static const struct {
        double v;
        int dec;
        const char *want;
    } cases[] = {
        {12.5, 2, "12.5"},    {3, 2, "3"},        {-0.25, 2, "-0.25"},
        {-0.001, 2, "0"},     {0.126, 2, "0.13"}, {1234.567, 1, "1234.6"},
        {-7, 0, "-7"},        {0, 3, "0"},        {99.999, 2, "100"},
        {-99.996, 2, "-100"}, {0.5, 0, "1"},      {1e20, 2, "100000000000000000000"},
        {-3.05, 1, "-3.1"},   {7.1, 6, "7.1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lw_buf_t b;
        lw_buf_init(&b, 1024);
        assert_int_equal(lw_buf_put_num(&b, cases[i].v, cases[i].dec), LW_OK);
        if (strcmp(b.data, cases[i].want) != 0)
            fail_msg("put_num(%g, %d) = %s, want %s", cases[i].v, cases[i].dec, b.data,
                     cases[i].want);
        lw_buf_release(&b);
    }
}

static void test_buf_xml_escape(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"<a&b>\"'", "&lt;a&amp;b&gt;&quot;&#39;"},
        {"plain text", "plain text"},
        {"caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x93\x88", "caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x93\x88"},
        {"a\xFF"
         "b",
         "a\xEF\xBF\xBD"
         "b"},                                                    /* stray byte */
        {"x\x01y\tz\n", "x\xEF\xBF\xBDy\tz\n"},                   /* C0 control, tab, LF */
        {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},                 /* overlong '/' */
        {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* surrogate */
        {"end\xE2\x86", "end\xEF\xBF\xBD\xEF\xBF\xBD"},           /* truncated sequence */
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lw_buf_t b;
        lw_buf_init(&b, 1024);
        assert_int_equal(lw_buf_put_xml(&b, cases[i].in), LW_OK);
        const char *got = b.data ? b.data : "";
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: escaped to \"%s\", want \"%s\"", i, got, cases[i].want);
        assert_true(valid_utf8(got, strlen(got)));
        lw_buf_release(&b);
    }
}

/* A stream of n bytes 'a'..'z' repeated, read back from the start. */
static FILE *stream_of(size_t n)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputc('a' + (int)(i % 26), f);
    rewind(f);
    return f;
}

/* lw_buf_read_stream: the whole stream after what the buffer holds; a stream of exactly the
 * bound fits, one byte more is LW_ERR_TOO_LARGE; more than one read chunk (16 KiB) joins up. */
static void test_buf_read_stream(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 16384, 16385, 100000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        const size_t n = sizes[k];
        lw_buf_t b;
        lw_buf_init(&b, 3 + n);
        assert_int_equal(lw_buf_puts(&b, "hd:"), LW_OK);
        FILE *f = stream_of(n);
        assert_int_equal(lw_buf_read_stream(&b, f), LW_OK);
        fclose(f);
        assert_int_equal(b.len, 3 + n);
        assert_memory_equal(b.data, "hd:", 3);
        for (size_t i = 0; i < n; i++)
            if (b.data[3 + i] != 'a' + (int)(i % 26))
                fail_msg("size %zu: byte %zu differs", n, i);
        assert_int_equal(b.data[b.len], '\0');
        lw_buf_release(&b);

        lw_buf_init(&b, 3 + n);
        assert_int_equal(lw_buf_puts(&b, "hd:"), LW_OK);
        f = stream_of(n + 1);
        assert_int_equal(lw_buf_read_stream(&b, f), LW_ERR_TOO_LARGE);
        fclose(f);
        assert_true(b.alloc <= 4 + n); /* never past the bound + NUL */
        lw_buf_release(&b);
    }
    /* a read error (a stream opened for writing only) leaves the buffer as it was */
    lw_buf_t b;
    lw_buf_init(&b, 64);
    assert_int_equal(lw_buf_puts(&b, "kept"), LW_OK);
    FILE *w = fopen("/dev/null", "w");
    assert_non_null(w);
    assert_int_equal(lw_buf_read_stream(&b, w), LW_ERR_IO);
    fclose(w);
    assert_int_equal(b.err, LW_OK);
    assert_string_equal(b.data, "kept");
    lw_buf_release(&b);
}

static void test_buf_bound_is_sticky_and_whole(void **state)
{
    (void)state;
    lw_buf_t b;
    lw_buf_init(&b, 10);
    assert_int_equal(lw_buf_puts(&b, "12345678"), LW_OK);
    assert_int_equal(lw_buf_puts(&b, "abcde"), LW_ERR_TOO_LARGE);
    assert_int_equal(b.len, 8); /* nothing of the failed append */
    assert_string_equal(b.data, "12345678");
    assert_int_equal(lw_buf_putc(&b, 'x'), LW_ERR_TOO_LARGE); /* sticky, though it would fit */
    assert_int_equal(lw_buf_put_xml(&b, "y"), LW_ERR_TOO_LARGE);
    assert_int_equal(lw_buf_put_num(&b, 1, 0), LW_ERR_TOO_LARGE);
    assert_int_equal(b.len, 8);
    lw_buf_rewind(&b, 6);
    assert_int_equal(b.err, LW_OK);
    assert_int_equal(lw_buf_puts(&b, "abcd"), LW_OK); /* exactly the bound */
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "123456abcd");
    assert_int_equal(lw_buf_putc(&b, '!'), LW_ERR_TOO_LARGE);
    assert_true(b.alloc <= 11); /* never allocates past the bound + NUL */
    lw_buf_release(&b);
}

/* ---- normalisation ------------------------------------------------------ */

static void test_normalize(void **state)
{
    (void)state;
    const double in[] = {2, 4, NAN, 6, 8};
    double out[5];
    /* mean 5, sample sd sqrt((9 + 1 + 1 + 9) / 3) */
    double sd = sqrt(20.0 / 3.0);
    assert_true(lw_svg_normalize(in, 5, LW_SVG_NORM_ZSCORE, out));
    assert_double_equal(out[0], (2 - 5) / sd, 1e-12);
    assert_double_equal(out[1], (4 - 5) / sd, 1e-12);
    assert_true(isnan(out[2]));
    assert_double_equal(out[4], (8 - 5) / sd, 1e-12);

    assert_true(lw_svg_normalize(in, 5, LW_SVG_NORM_INDEX100, out));
    const double want[] = {100, 200, NAN, 300, 400};
    for (int i = 0; i < 5; i++)
        if (i != 2)
            assert_double_equal(out[i], want[i], 1e-12);
    assert_true(isnan(out[2]));

    /* index is relative to the first *defined* value */
    const double lead_nan[] = {NAN, 50, 25, INFINITY};
    assert_true(lw_svg_normalize(lead_nan, 4, LW_SVG_NORM_INDEX100, out));
    assert_true(isnan(out[0]));
    assert_double_equal(out[1], 100, 1e-12);
    assert_double_equal(out[2], 50, 1e-12);
    assert_true(isnan(out[3])); /* infinity is undefined too */

    /* a large mean does not destroy the z-scores (two-pass variance) */
    const double big[] = {1e9 + 1, 1e9 + 2, 1e9 + 3};
    assert_true(lw_svg_normalize(big, 3, LW_SVG_NORM_ZSCORE, out));
    assert_double_equal(out[0], -1, 1e-6);
    assert_double_equal(out[2], 1, 1e-6);

    const double flat[] = {3, 3, 3};
    assert_true(lw_svg_normalize(flat, 3, LW_SVG_NORM_ZSCORE, out));
    assert_double_equal(out[1], 0, 0);

    const double zero_first[] = {0, 1, 2};
    assert_false(lw_svg_normalize(zero_first, 3, LW_SVG_NORM_INDEX100, out));
    assert_true(isnan(out[1]));
    const double none[] = {NAN, NAN};
    assert_false(lw_svg_normalize(none, 2, LW_SVG_NORM_ZSCORE, out));

    /* in place */
    double inplace[] = {2, 4, 6};
    assert_true(lw_svg_normalize(inplace, 3, LW_SVG_NORM_INDEX100, inplace));
    assert_double_equal(inplace[2], 300, 1e-12);
}

/* ---- line chart --------------------------------------------------------- */

static char *render_line(const lw_svg_line_opts_t *o)
{
    lw_buf_t b;
    lw_buf_init(&b, BIG);
    char err[256] = "";
    lw_err_t e = lw_svg_line_chart(&b, o, err, sizeof err);
    if (e != LW_OK)
        fail_msg("line chart: %s", err);
    svg_check(b.data, b.len);
    return lw_buf_detach(&b, NULL);
}

static void test_line_chart_points_and_gaps(void **state)
{
    (void)state;
    enum { N = 200 };
    double v[N];
    for (int i = 0; i < N; i++)
        v[i] = i;
    v[50] = NAN; /* a one-period gap */
    v[51] = NAN;
    v[120] = NAN; /* an isolated point at 121 */
    v[122] = NAN;
    lw_svg_series_t s = {.name = "linear", .values = v};
    lw_svg_line_opts_t o = {
        .frame = {.title = "Line", .x_label = "Day", .y_label = "Count", .y_unit = "users"},
        .n = N,
        .series = &s,
        .nseries = 1};
    char *svg = render_line(&o);
    assert_non_null(strstr(svg, "Count (users)"));
    assert_non_null(strstr(svg, "role=\"img\""));
    assert_non_null(strstr(svg, "aria-label=\"Line\""));
    assert_non_null(strstr(svg, "<title>Line</title>"));
    assert_non_null(strstr(svg, "viewBox=\"0 0 960 380\""));

    plot_t pl = plot_of(svg);
    static pt_t pts[N];
    size_t subpaths;
    size_t np = parse_path(series_d(svg, 0), pts, N, &subpaths);
    assert_int_equal(np, N - 4);
    assert_int_equal(subpaths, 4); /* start, after 50-51, the lone 121, after 122 */
    assert_non_null(strstr(series_d(svg, 0), "h0")); /* the lone point is drawn as a dot */
    /* first and last points at the plot's edges: relative coordinates did not drift */
    assert_double_equal(pts[0].x, pl.x0, 0.051);
    assert_double_equal(pts[np - 1].x, pl.x0 + pl.w, 0.051);
    /* x advances evenly by the period width, y rises monotonically (falls in pixels) */
    double dx = pl.w / (N - 1);
    assert_double_equal(pts[1].x - pts[0].x, dx, 0.11);
    for (size_t i = 1; i < np; i++)
        assert_true(pts[i].y <= pts[i - 1].y + 0.05);
    /* point 52 (after the gap) sits at its own period, not at 50 */
    assert_double_equal(pts[50].x, pl.x0 + 52 * dx, 0.051);
    /* the y axis covers the data: value 0 inside the plot, value 199 inside too */
    assert_true(pts[0].y <= pl.y0 + pl.h + 0.05 && pts[np - 1].y >= pl.y0 - 0.05);
    free(svg);
}

static void test_line_chart_normalised_and_shifted(void **state)
{
    (void)state;
    enum { N = 60, K = 3 };
    double nsm[N], in[N];
    const char *labels[N];
    char lab[N][32];
    for (int i = 0; i < N; i++) {
        in[i] = 10 + sin(i / 5.0);
        nsm[i] = 1000 * (1 + 0.1 * sin((i - K) / 5.0));
        snprintf(lab[i], sizeof lab[i], "2024-%02d-%02d", 1 + i / 28, 1 + i % 28);
        labels[i] = lab[i];
    }
    lw_svg_series_t s[3] = {
        {.name = "NSM", .values = nsm, .norm = LW_SVG_NORM_INDEX100, .emphasis = true},
        {.name = "Input", .values = in, .norm = LW_SVG_NORM_INDEX100},
        {.name = "Input", .values = in, .norm = LW_SVG_NORM_INDEX100, .shift = K}};
    lw_svg_line_opts_t o = {
        .frame = {.title = "Lead"}, .x_labels = labels, .n = N, .series = s, .nseries = 3};
    char *svg = render_line(&o);
    assert_non_null(strstr(svg, "Index (first value = 100)"));
    assert_non_null(strstr(svg, "Input (shifted +3 periods)"));
    assert_non_null(strstr(svg, ">2024-01-01<")); /* month-start ticks from the ISO labels */
    assert_non_null(strstr(svg, ">2024-02-01<"));

    plot_t pl = plot_of(svg);
    static pt_t p_nsm[N], p_in[N], p_sh[N];
    size_t sp;
    /* drawing order: emphasised, plain, shifted */
    size_t n0 = parse_path(series_d(svg, 0), p_nsm, N, &sp);
    size_t n1 = parse_path(series_d(svg, 1), p_in, N, &sp);
    size_t n2 = parse_path(series_d(svg, 2), p_sh, N, &sp);
    assert_int_equal(n0, N);
    assert_int_equal(n1, N);
    assert_int_equal(n2, N - K); /* the last K values are shifted out of view */
    /* both indexed series start at 100: the same pixel height */
    assert_double_equal(p_nsm[0].y, p_in[0].y, 0.051);
    /* the shifted copy starts K periods later, at the unshifted value 0 */
    double dx = pl.w / (N - 1);
    assert_double_equal(p_sh[0].x, pl.x0 + K * dx, 0.051);
    assert_double_equal(p_sh[0].y, p_in[0].y, 0.051);
    assert_double_equal(p_sh[5].y, p_in[5].y, 0.051);
    /* the dashed style marks the shifted series */
    const char *third = series_d(svg, 2);
    const char *dash = strstr(third, "stroke-dasharray");
    assert_non_null(dash);
    assert_true(dash < strstr(third, "</path>"));
    free(svg);

    /* z-scores: the axis says so and a symmetric series is centred on 0 */
    double sym[4] = {-3, -1, 1, 3};
    lw_svg_series_t z = {.name = "z", .values = sym, .norm = LW_SVG_NORM_ZSCORE};
    lw_svg_line_opts_t oz = {.frame = {.title = "Z"}, .n = 4, .series = &z, .nseries = 1};
    svg = render_line(&oz);
    assert_non_null(strstr(svg, ">z-score<"));
    free(svg);
}

static void test_line_chart_degenerate(void **state)
{
    (void)state;
    double nan3[3] = {NAN, NAN, NAN}, flat[3] = {5, 5, 5};
    double extreme[4] = {1e308, -1e308, 1e-308, 0};
    double one[1] = {7};
    lw_svg_series_t s[4] = {{.name = "nothing", .values = nan3},
                            {.name = "flat", .values = flat},
                            {.name = "extreme", .values = extreme},
                            {.name = "zero first", .values = flat + 0, .norm = LW_SVG_NORM_NONE}};
    lw_svg_line_opts_t o = {.frame = {.title = "Edge cases"}, .n = 3, .series = s, .nseries = 1};
    char *svg = render_line(&o);
    assert_non_null(strstr(svg, "No data"));
    assert_non_null(strstr(svg, "nothing (no data)"));
    assert_null(series_d(svg, 0));
    free(svg);

    o.series = &s[1];
    svg = render_line(&o); /* a constant series still gets a sane axis */
    assert_non_null(series_d(svg, 0));
    free(svg);

    o.series = &s[2];
    o.n = 4;
    svg = render_line(&o); /* checked finite by svg_check */
    free(svg);

    lw_svg_series_t single = {.name = "one", .values = one};
    lw_svg_line_opts_t o1 = {.frame = {.title = "One"}, .n = 1, .series = &single, .nseries = 1};
    svg = render_line(&o1);
    assert_non_null(strstr(series_d(svg, 0), "h0"));
    free(svg);

    lw_svg_line_opts_t o0 = {.frame = {.title = "Empty"}, .n = 0, .series = &single, .nseries = 1};
    svg = render_line(&o0);
    assert_non_null(strstr(svg, "No data"));
    free(svg);
}

/* ---- bar chart ---------------------------------------------------------- */

static void test_bar_chart_band(void **state)
{
    (void)state;
    enum { N = 57 };
    double v[N];
    for (int i = 0; i < N; i++)
        v[i] = 0.02 * sin(i); /* inside the band */
    v[28 + 3] = 0.45;         /* lag 3: outside */
    v[28 - 5] = -0.3;         /* lag -5: outside, negative */
    v[0] = NAN;               /* lag -28: missing */
    lw_svg_bar_opts_t o = {.frame = {.title = "CCF", .x_unit = "days"},
                           .lag_min = -28,
                           .values = v,
                           .n = N,
                           .band = 0.0725,
                           .highlight = true,
                           .highlight_lag = 3};
    lw_buf_t b;
    lw_buf_init(&b, BIG);
    char err[256] = "";
    assert_int_equal(lw_svg_bar_chart(&b, &o, err, sizeof err), LW_OK);
    svg_check(b.data, b.len);
    const char *svg = b.data;
    assert_int_equal(count(svg, "<title>lag "), N - 1); /* one bar per defined lag */
    assert_null(strstr(svg, "<title>lag -28:"));
    assert_non_null(strstr(svg, "<title>lag 3: 0.450 (outside the band)"));
    assert_non_null(strstr(svg, "<title>lag -5: -0.300 (outside the band)"));
    assert_non_null(strstr(svg, "<title>lag 0: 0.005 (inside the band)"));
    assert_non_null(strstr(svg, "Lag (days)"));
    assert_non_null(strstr(svg, ">0<")); /* the zero lag is labelled */
    assert_non_null(strstr(svg, "detected lag 3"));
    /* inside-band bars are grey, outside ones take the group's blue */
    const char *t3 = strstr(svg, "<title>lag 3:"), *r3 = t3;
    while (r3 > svg && strncmp(r3, "<rect", 5) != 0)
        r3--;
    const char *g3 = strstr(r3, "fill=\"#8a939c\"");
    assert_true(g3 == NULL || g3 > t3);
    const char *hl = strstr(r3, "stroke=\"#000\""); /* highlighted */
    assert_true(hl != NULL && hl < t3);
    const char *t0 = strstr(svg, "<title>lag 0:"), *r0 = t0;
    while (r0 > svg && strncmp(r0, "<rect", 5) != 0)
        r0--;
    const char *grey = strstr(r0, "fill=\"#8a939c\"");
    assert_true(grey != NULL && grey < t0);

    /* the band is symmetric around the zero line, which is the plot's middle */
    plot_t pl = plot_of(svg);
    const char *band = tag_with(svg, "class=\"lw-band\"");
    assert_non_null(band);
    double by = attr_num(band, "y"), bh = attr_num(band, "height");
    assert_double_equal(by + bh / 2, pl.y0 + pl.h / 2, 0.02);
    /* band height / plot height = 2b / (2 * axis end), and the axis end covers 0.45 */
    double end = pl.h / bh * 0.0725;
    assert_true(end >= 0.45 && end < 0.45 * 1.6);
    /* lag 3's bar: from the zero line up by 0.45 of the axis end */
    double bar_h = attr_num(r3, "height");
    assert_double_equal(bar_h, 0.45 / end * pl.h / 2, 0.05);
    lw_buf_release(&b);

    /* no band: no band rectangle, no "inside" wording */
    o.band = NAN;
    lw_buf_init(&b, BIG);
    assert_int_equal(lw_svg_bar_chart(&b, &o, err, sizeof err), LW_OK);
    svg_check(b.data, b.len);
    assert_null(strstr(b.data, "lw-band"));
    assert_null(strstr(b.data, "inside the band"));
    lw_buf_release(&b);
}

/* ---- p-values ----------------------------------------------------------- */

static void test_pvalue_chart_log_and_clamp(void **state)
{
    (void)state;
    double xy[5] = {1e-20, 0, 0.003, NAN, 1};
    double yx[5] = {0.5, 0.2, 0.04, 0.6, 0.9};
    lw_svg_pvalue_opts_t o = {.frame = {.title = "Granger"},
                              .lag_min = 1,
                              .n = 5,
                              .p_xy = xy,
                              .p_yx = yx,
                              .name_xy = "a \xE2\x86\x92 b",
                              .name_yx = "b \xE2\x86\x92 a"};
    lw_buf_t b;
    lw_buf_init(&b, BIG);
    char err[256] = "";
    assert_int_equal(lw_svg_pvalue_chart(&b, &o, err, sizeof err), LW_OK);
    svg_check(b.data, b.len);
    const char *svg = b.data;
    assert_non_null(strstr(svg, "\xCE\xB1 = 0.05"));
    assert_non_null(strstr(svg, "p-values below 1e-12 are drawn at 1e-12"));
    assert_non_null(strstr(svg, "a \xE2\x86\x92 b, lag 1: p &lt; 1e-12 (drawn at 1e-12)"));
    assert_non_null(strstr(svg, "a \xE2\x86\x92 b, lag 2: p &lt; 1e-12")); /* p = 0 too */
    assert_non_null(strstr(svg, "a \xE2\x86\x92 b, lag 3: p = 0.003"));
    assert_null(strstr(svg, "a \xE2\x86\x92 b, lag 4:")); /* NAN: no marker */
    assert_non_null(strstr(svg, "b \xE2\x86\x92 a, lag 4: p = 0.6"));
    assert_int_equal(count(svg, "<circle"), 4 + 1); /* 4 markers + the legend's */
    /* decades from 1 down to 10^-12: the floor is the axis bottom */
    assert_non_null(strstr(svg, ">10\xE2\x81\xBB\xC2\xB9\xC2\xB2<")); /* 10⁻¹² */
    assert_null(strstr(svg, "\xC2\xB9\xE2\x81\xB3"));                 /* no 10⁻¹³ or lower */
    plot_t pl = plot_of(svg);
    const char *c1 = tag_with(svg, "<circle"); /* legend comes last: first circle is lag 1 */
    assert_double_equal(attr_num(c1, "cy"), pl.y0 + pl.h, 0.02);
    const char *c5 = tag_with(strstr(svg, "lag 5: p = 1") - 120, "<circle");
    assert_double_equal(attr_num(c5, "cy"), pl.y0, 0.02);
    /* alpha = 0.05 sits at (log10(0.05) - (-12)) / 12 of the height from the bottom */
    const char *sig = tag_with(svg, "class=\"lw-significant\"");
    double ya = attr_num(sig, "y");
    assert_double_equal(ya, pl.y0 + pl.h * (1 - (log10(0.05) + 12) / 12), 0.02);
    lw_buf_release(&b);

    /* without tiny p-values the axis stops at 0.01 and nothing is said about clamping */
    double mild[3] = {0.2, 0.03, 0.5};
    lw_svg_pvalue_opts_t m = {.frame = {.title = "Mild"}, .lag_min = 1, .n = 3, .p_xy = mild};
    lw_buf_init(&b, BIG);
    assert_int_equal(lw_svg_pvalue_chart(&b, &m, err, sizeof err), LW_OK);
    svg_check(b.data, b.len);
    assert_null(strstr(b.data, "drawn at"));
    assert_non_null(strstr(b.data, ">0.01<"));
    assert_null(strstr(b.data, ">0.001<"));
    lw_buf_release(&b);
}

/* ---- history ------------------------------------------------------------ */

static void test_history_chart_break(void **state)
{
    (void)state;
    enum { N = 40 };
    double v[N];
    const char *labels[N];
    char lab[N][16];
    for (int i = 0; i < N; i++) {
        v[i] = i < 25 ? 1e-5 : 0.3;
        snprintf(lab[i], sizeof lab[i], "w%02d", i);
        labels[i] = lab[i];
    }
    v[10] = NAN;
    lw_svg_history_opts_t o = {.frame = {.title = "History"},
                               .x_labels = labels,
                               .n = N,
                               .values = v,
                               .series_name = "p",
                               .log_y = true,
                               .threshold = 0.05,
                               .threshold_label = "\xCE\xB1 = 0.05",
                               .has_break = true,
                               .break_index = 25,
                               .break_label = "break"};
    lw_buf_t b;
    lw_buf_init(&b, BIG);
    char err[256] = "";
    assert_int_equal(lw_svg_history_chart(&b, &o, err, sizeof err), LW_OK);
    svg_check(b.data, b.len);
    const char *svg = b.data;
    assert_non_null(strstr(svg, "break: w25"));
    plot_t pl = plot_of(svg);
    const char *brk = strstr(svg, "class=\"lw-break\"><path d=\"M");
    assert_non_null(brk);
    double bx = strtod(brk + strlen("class=\"lw-break\"><path d=\"M"), NULL);
    assert_double_equal(bx, pl.x0 + pl.w * 25 / (N - 1), 0.01);
    static pt_t pts[N];
    size_t sp;
    assert_int_equal(parse_path(series_d(svg, 0), pts, N, &sp), N - 1);
    assert_int_equal(sp, 2); /* the NAN window is a gap */
    lw_buf_release(&b);

    o.break_index = N; /* outside: rejected before anything is written */
    lw_buf_init(&b, BIG);
    assert_int_equal(lw_svg_history_chart(&b, &o, err, sizeof err), LW_ERR_INVALID);
    assert_non_null(strstr(err, "break index"));
    assert_int_equal(b.len, 0);
    lw_buf_release(&b);
}

/* ---- gauge -------------------------------------------------------------- */

static void test_gauge(void **state)
{
    (void)state;
    static const struct {
        double value;
        bool lower;
        const char *verdict, *color;
    } cases[] = {
        {6.2, true, "\xE2\x9C\x93 passes: MDE 6.2% \xE2\x89\xA4 the threshold 10.0%", "#009E73"},
        {14.1, true, "\xE2\x9C\x97 fails: MDE 14.1% &gt; the threshold 10.0%", "#D55E00"},
        {12, false, "\xE2\x9C\x93 passes: MDE 12.0% \xE2\x89\xA5 the threshold 10.0%", "#009E73"},
        {NAN, true, "no estimate of MDE (threshold 10.0%)", NULL},
        {250, true, "fails: MDE 250.0%", "#D55E00"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lw_svg_gauge_opts_t o = {.frame = {.title = "Sensitivity", .x_label = "MDE", .x_unit = "%"},
                                 .value = cases[i].value,
                                 .threshold = 10,
                                 .max = cases[i].value > 100 ? 20 : 0,
                                 .lower_is_better = cases[i].lower,
                                 .decimals = 1};
        lw_buf_t b;
        lw_buf_init(&b, BIG);
        char err[256] = "";
        assert_int_equal(lw_svg_gauge_bar(&b, &o, err, sizeof err), LW_OK);
        svg_check(b.data, b.len);
        if (!strstr(b.data, cases[i].verdict))
            fail_msg("case %zu: no \"%s\" in\n%s", i, cases[i].verdict, b.data);
        const char *val = tag_with(b.data, "class=\"lw-value\"");
        if (cases[i].color) {
            assert_non_null(val);
            assert_non_null(strstr(val, cases[i].color));
            /* the bar never leaves the track */
            plot_t tr = plot_of(b.data);
            assert_true(attr_num(val, "width") <= tr.w + 0.01);
        } else {
            assert_null(val);
        }
        lw_buf_release(&b);
    }
}

/* ---- tree --------------------------------------------------------------- */

static void test_tree_verdicts(void **state)
{
    (void)state;
    lw_svg_tree_input_t in[LW_SVG_VERDICT_COUNT];
    char names[LW_SVG_VERDICT_COUNT][32];
    for (int v = 0; v < LW_SVG_VERDICT_COUNT; v++) {
        snprintf(names[v], sizeof names[v], "input %d", v);
        in[v] = (lw_svg_tree_input_t){names[v], (lw_svg_verdict_t)v,
                                      v == 0 ? "lag 3 \xC2\xB7 +0.4%" : NULL};
    }
    lw_svg_tree_opts_t o = {.frame = {.title = "Tree"},
                            .inputs = in,
                            .ninputs = LW_SVG_VERDICT_COUNT,
                            .nsm_name = "Listening minutes",
                            .kpi_name = "Subscribers",
                            .kpi_verdict = LW_SVG_VERDICT_NO_LONGER_LEADS,
                            .kpi_edge_label = "lag 7"};
    lw_buf_t b;
    lw_buf_init(&b, BIG);
    char err[256] = "";
    assert_int_equal(lw_svg_tree_diagram(&b, &o, err, sizeof err), LW_OK);
    svg_check(b.data, b.len);
    const char *svg = b.data;
    static const char *const slugs[] = {"leads",    "no-longer-leads", "reverse",
                                        "feedback", "inconclusive",    "insufficient-data"};
    const char *colors[LW_SVG_VERDICT_COUNT];
    for (int v = 0; v < LW_SVG_VERDICT_COUNT; v++) {
        colors[v] = lw_svg_verdict_color((lw_svg_verdict_t)v);
        for (int u = 0; u < v; u++) /* distinguishable by colour ... */
            assert_string_not_equal(colors[u], colors[v]);
        for (int u = 0; u < v; u++) { /* ... and by dash pattern */
            const char *a = lw_svg_verdict_dash((lw_svg_verdict_t)u);
            const char *d = lw_svg_verdict_dash((lw_svg_verdict_t)v);
            assert_false(a == d || (a && d && strcmp(a, d) == 0));
        }
        char cls[64];
        snprintf(cls, sizeof cls, "lw-edge lw-verdict-%s\"><title>input %d", slugs[v], v);
        const char *edge = strstr(svg, cls);
        if (!edge)
            fail_msg("no edge \"%s\"", cls);
        const char *edge_end = strstr(edge, "</g>");
        const char *col = strstr(edge, colors[v]);
        assert_true(col != NULL && col < edge_end);
        /* arrowheads: reverse points back only, feedback both ways, the rest forward only */
        const char *back = strstr(edge, "l10-5v10z"), *fwd = strstr(edge, "l-10-5v10z");
        bool has_back = back && back < edge_end, has_fwd = fwd && fwd < edge_end;
        assert_int_equal(has_back, v == LW_SVG_VERDICT_REVERSE || v == LW_SVG_VERDICT_FEEDBACK);
        assert_int_equal(has_fwd, v != LW_SVG_VERDICT_REVERSE);
        /* the verdict in words, in the legend and on the edge */
        char words[96];
        snprintf(words, sizeof words, ">%s", lw_svg_verdict_label((lw_svg_verdict_t)v));
        assert_true(count(svg, words) >= 2);
    }
    assert_non_null(strstr(svg, ">leads \xC2\xB7 lag 3 \xC2\xB7 +0.4%<"));
    assert_non_null(strstr(svg, "lw-verdict-no-longer-leads\"><title>Listening minutes"));
    assert_non_null(strstr(svg, ">lag 7<"));
    assert_non_null(strstr(svg, "class=\"lw-node lw-kpi\""));
    assert_non_null(strstr(svg, ">Subscribers<"));
    assert_string_equal(lw_svg_verdict_label(LW_SVG_VERDICT_INSUFFICIENT), "insufficient data");
    lw_buf_release(&b);

    /* an out-of-range verdict is rejected */
    in[2].verdict = LW_SVG_VERDICT_COUNT;
    lw_buf_init(&b, BIG);
    assert_int_equal(lw_svg_tree_diagram(&b, &o, err, sizeof err), LW_ERR_INVALID);
    assert_int_equal(b.len, 0);
    lw_buf_release(&b);
}

static void test_tree_long_names(void **state)
{
    (void)state;
    const char *longname = "A very long metric name that will never fit in one box at all, "
                           "really not";
    lw_svg_tree_input_t in[1] = {{longname, LW_SVG_VERDICT_LEADS, "lag 1"}};
    lw_svg_tree_opts_t o = {
        .frame = {.title = "Tree", .width = 640}, .inputs = in, .ninputs = 1, .nsm_name = longname};
    lw_buf_t b;
    lw_buf_init(&b, BIG);
    char err[256] = "";
    assert_int_equal(lw_svg_tree_diagram(&b, &o, err, sizeof err), LW_OK);
    svg_check(b.data, b.len);
    assert_non_null(strstr(b.data, "\xE2\x80\xA6<")); /* shortened with … */
    char full[256];
    snprintf(full, sizeof full, "<title>%s</title>", longname);
    assert_true(count(b.data, full) >= 2); /* the whole name stays in the tooltips */
    assert_null(strstr(b.data, "lw-kpi"));
    lw_buf_release(&b);
}

/* ---- every chart at once: escaping, bounds, errors ----------------------- */

typedef lw_err_t (*render_fn)(lw_buf_t *b, const char *name, char *err, size_t errsz);

static double g_vals[30] = {0.1, -0.2, 0.3, NAN, 0.01, 0.002, 0.5, 1e-15};
static const char *g_labels[8] = {"2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04",
                                  "2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08"};

static lw_err_t r_line(lw_buf_t *b, const char *name, char *err, size_t errsz)
{
    lw_svg_series_t s[2] = {{.name = name, .values = g_vals, .emphasis = true},
                            {.name = name, .values = g_vals, .shift = 2}};
    lw_svg_line_opts_t o = {.frame = {name, name, name, name, name, name, 0, 0},
                            .x_labels = g_labels,
                            .n = 8,
                            .series = s,
                            .nseries = 2};
    return lw_svg_line_chart(b, &o, err, errsz);
}

static lw_err_t r_bar(lw_buf_t *b, const char *name, char *err, size_t errsz)
{
    lw_svg_bar_opts_t o = {.frame = {name, name, name, name, name, name, 0, 0},
                           .lag_min = -4,
                           .values = g_vals,
                           .n = 8,
                           .band = 0.15,
                           .band_label = name,
                           .highlight = true,
                           .highlight_label = name};
    return lw_svg_bar_chart(b, &o, err, errsz);
}

static lw_err_t r_pvalue(lw_buf_t *b, const char *name, char *err, size_t errsz)
{
    lw_svg_pvalue_opts_t o = {.frame = {name, name, name, name, name, name, 0, 0},
                              .lag_min = 1,
                              .n = 8,
                              .p_xy = g_vals,
                              .p_yx = g_vals,
                              .name_xy = name,
                              .name_yx = name};
    return lw_svg_pvalue_chart(b, &o, err, errsz);
}

static lw_err_t r_history(lw_buf_t *b, const char *name, char *err, size_t errsz)
{
    lw_svg_history_opts_t o = {.frame = {name, name, name, name, name, name, 0, 0},
                               .x_labels = g_labels,
                               .n = 8,
                               .values = g_vals,
                               .series_name = name,
                               .threshold = 0.05,
                               .threshold_label = name,
                               .has_break = true,
                               .break_index = 3,
                               .break_label = name};
    return lw_svg_history_chart(b, &o, err, errsz);
}

static lw_err_t r_gauge(lw_buf_t *b, const char *name, char *err, size_t errsz)
{
    lw_svg_gauge_opts_t o = {
        .frame = {name, name, name, name, name, name, 0, 0}, .value = 3, .threshold = 10};
    return lw_svg_gauge_bar(b, &o, err, errsz);
}

static lw_err_t r_tree(lw_buf_t *b, const char *name, char *err, size_t errsz)
{
    lw_svg_tree_input_t in[2] = {{name, LW_SVG_VERDICT_LEADS, name},
                                 {name, LW_SVG_VERDICT_REVERSE, name}};
    lw_svg_tree_opts_t o = {.frame = {name, name, name, name, name, name, 0, 0},
                            .inputs = in,
                            .ninputs = 2,
                            .nsm_name = name,
                            .kpi_name = name,
                            .kpi_edge_label = name};
    return lw_svg_tree_diagram(b, &o, err, errsz);
}

static const struct {
    const char *kind;
    render_fn fn;
} g_charts[] = {{"line", r_line},       {"bar", r_bar},     {"pvalue", r_pvalue},
                {"history", r_history}, {"gauge", r_gauge}, {"tree", r_tree}};
#define NCHARTS (sizeof g_charts / sizeof g_charts[0])

static void test_hostile_names_are_escaped(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCHARTS; i++) {
        lw_buf_t b;
        lw_buf_init(&b, BIG);
        char err[256] = "";
        lw_err_t e = g_charts[i].fn(&b, HOSTILE "\xFF", err, sizeof err);
        if (e != LW_OK)
            fail_msg("%s: %s", g_charts[i].kind, err);
        svg_check(b.data, b.len); /* rejects a raw <script or stray byte */
        assert_non_null(strstr(b.data, "&lt;script&gt;alert(&quot;x&quot;)"));
        assert_non_null(strstr(b.data, "&amp; &quot;q&quot; &#39;a&#39; &lt;b&gt;"));
        char cls[64];
        snprintf(cls, sizeof cls, "class=\"lw-chart lw-chart-%s\"", g_charts[i].kind);
        assert_non_null(strstr(b.data, cls));
        assert_non_null(strstr(b.data, "font-family=\"sans-serif\""));
        assert_non_null(strstr(b.data, "role=\"img\" aria-label=\"&lt;script"));
        assert_non_null(strstr(b.data, "class=\"lw-plot\""));
        lw_buf_release(&b);
    }
}

static void test_bound_never_truncates(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCHARTS; i++) {
        char err[256] = "";
        /* full size with some content already in the buffer */
        lw_buf_t b;
        lw_buf_init(&b, BIG);
        lw_buf_puts(&b, "<p>before</p>");
        size_t mark = b.len;
        assert_int_equal(g_charts[i].fn(&b, "name", err, sizeof err), LW_OK);
        size_t need = b.len - mark;
        lw_buf_release(&b);

        /* a tiny cap: the distinct error, and the buffer as it was */
        lw_buf_init(&b, 100);
        lw_buf_puts(&b, "<p>before</p>");
        err[0] = '\0';
        assert_int_equal(g_charts[i].fn(&b, "name", err, sizeof err), LW_ERR_TOO_LARGE);
        assert_string_equal(b.data, "<p>before</p>");
        assert_int_equal(b.err, LW_OK); /* rewound: the caller can write a note instead */
        assert_non_null(strstr(err, "does not fit"));
        lw_buf_release(&b);

        /* one byte short fails, exactly enough succeeds */
        lw_buf_init(&b, mark + need - 1);
        lw_buf_puts(&b, "<p>before</p>");
        assert_int_equal(g_charts[i].fn(&b, "name", err, sizeof err), LW_ERR_TOO_LARGE);
        assert_int_equal(b.len, mark);
        lw_buf_release(&b);
        lw_buf_init(&b, mark + need);
        lw_buf_puts(&b, "<p>before</p>");
        assert_int_equal(g_charts[i].fn(&b, "name", err, sizeof err), LW_OK);
        assert_int_equal(b.len, mark + need);
        svg_check(b.data + mark, need);
        lw_buf_release(&b);

        /* a buffer that had already failed is left alone */
        lw_buf_init(&b, 4);
        lw_buf_puts(&b, "123456");
        assert_int_equal(g_charts[i].fn(&b, "name", err, sizeof err), LW_ERR_TOO_LARGE);
        assert_int_equal(b.err, LW_ERR_TOO_LARGE);
        assert_int_equal(b.len, 0);
        lw_buf_release(&b);
    }
}

static void test_invalid_options(void **state)
{
    (void)state;
    lw_buf_t b;
    lw_buf_init(&b, BIG);
    char err[256] = "";
    double v[2] = {1, 2};
    lw_svg_series_t s = {.name = "s", .values = v};
    lw_svg_line_opts_t lo = {
        .frame = {.title = "t", .width = 50}, .n = 2, .series = &s, .nseries = 1};
    assert_int_equal(lw_svg_line_chart(&b, &lo, err, sizeof err), LW_ERR_INVALID);
    assert_non_null(strstr(err, "width"));
    lo.frame.width = NAN;
    assert_int_equal(lw_svg_line_chart(&b, &lo, err, sizeof err), LW_ERR_INVALID);
    lo.frame.width = 0;
    lo.nseries = 0;
    assert_int_equal(lw_svg_line_chart(&b, &lo, err, sizeof err), LW_ERR_INVALID);
    lo.nseries = LW_SVG_MAX_SERIES + 1;
    assert_int_equal(lw_svg_line_chart(&b, &lo, err, sizeof err), LW_ERR_INVALID);
    lo.nseries = 1;
    lo.n = LW_SVG_MAX_POINTS + 1;
    assert_int_equal(lw_svg_line_chart(&b, &lo, err, sizeof err), LW_ERR_INVALID);
    lw_svg_bar_opts_t bo = {.frame = {.title = "t"}, .n = 3, .values = NULL};
    assert_int_equal(lw_svg_bar_chart(&b, &bo, err, sizeof err), LW_ERR_INVALID);
    lw_svg_gauge_opts_t go = {.frame = {.title = "t"}, .value = 1, .threshold = NAN};
    assert_int_equal(lw_svg_gauge_bar(&b, &go, err, sizeof err), LW_ERR_INVALID);
    assert_int_equal(lw_svg_line_chart(NULL, &lo, err, sizeof err), LW_ERR_INVALID);
    assert_int_equal(b.len, 0); /* nothing written by any failed call */
    lw_buf_release(&b);
}

/* Report-sized rendering stays small: 730 points, 9 series. */
static void test_report_size_line_chart(void **state)
{
    (void)state;
    enum { N = 730, S = 9 };
    static double v[S][N];
    lw_svg_series_t s[S];
    uint64_t x = 88172645463325252u;
    for (int k = 0; k < S; k++) {
        double level = 100;
        for (int i = 0; i < N; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            level += (double)(x % 2001) / 1000.0 - 1.0;
            v[k][i] = level;
        }
        s[k] = (lw_svg_series_t){.name = "series", .values = v[k], .norm = LW_SVG_NORM_INDEX100};
    }
    lw_svg_line_opts_t o = {.frame = {.title = "Overview"}, .n = N, .series = s, .nseries = S};
    char *svg = render_line(&o);
    size_t len = strlen(svg);
    /* about 8 bytes a point with relative coordinates; 12 would be absolute pairs */
    assert_true(len < (size_t)N * S * 10 + 8000);
    free(svg);
}

/* ---- issue 15: values in own units, verdict strip, legible text ---------- */

/* Smallest font-size attribute in an SVG (the root group's default is 12). */
static double min_font_size(const char *svg)
{
    double m = 1e9;
    for (const char *p = svg; (p = strstr(p, "font-size=\"")) != NULL; p += 11) {
        double v = strtod(p + 11, NULL);
        if (v < m)
            m = v;
    }
    return m;
}

static void test_pair_chart(void **state)
{
    (void)state;
    enum { N = 60 };
    double y[N], x[N];
    const char *labels[N];
    char lab[N][16];
    for (int i = 0; i < N; i++) {
        x[i] = 1000 + 10 * i;   /* thousands: the input's own units */
        y[i] = 50000 - 100 * i; /* tens of thousands: the NSM's */
        snprintf(lab[i], sizeof lab[i], "2024-03-%02d", i % 28 + 1);
        labels[i] = lab[i];
    }
    x[5] = NAN;
    lw_svg_vmark_t mk = {.index = 40, .label = "stopped leading 2024-04-10"};
    lw_svg_pair_opts_t o = {
        .frame = {.title = "NSM and input", .width = 360, .height = 360},
        .x_labels = labels,
        .n = N,
        .top = {.name = "minutes", .values = y},
        .bottom = {.name = "users, drawn 3 days later", .values = x, .shift = 3},
        .marks = &mk,
        .nmarks = 1};
    lw_buf_t b;
    lw_buf_init(&b, BIG);
    char err[256] = "";
    assert_int_equal(lw_svg_pair_chart(&b, &o, err, sizeof err), LW_OK);
    svg_check(b.data, b.len);
    const char *svg = b.data;
    assert_int_equal(count(svg, "class=\"lw-plot\""), 2); /* two aligned panels */
    /* own units on the axes: the NSM's 50000 and the input's 1000-ish ticks */
    assert_non_null(strstr(svg, ">50000<"));
    assert_non_null(strstr(svg, ">1000<"));
    assert_non_null(strstr(svg, "stopped leading 2024-04-10"));
    /* the shifted input: 3 points fall off the end, one NAN is a gap */
    static pt_t pts[N];
    size_t sp;
    assert_int_equal(parse_path(series_d(svg, 1), pts, N, &sp), N - 3 - 1);
    assert_int_equal(sp, 2);
    /* the first drawn input point sits at period 3: the same x as the NSM's period 3 */
    pt_t ypts[N];
    size_t ysp;
    assert_int_equal(parse_path(series_d(svg, 0), ypts, N, &ysp), N);
    assert_double_equal(pts[0].x, ypts[3].x, 0.11);
    assert_true(min_font_size(svg) >= 12);
    lw_buf_release(&b);

    o.nmarks = LW_SVG_MAX_MARKS + 1; /* too many marks: rejected, nothing written */
    lw_buf_init(&b, BIG);
    assert_int_equal(lw_svg_pair_chart(&b, &o, err, sizeof err), LW_ERR_INVALID);
    assert_int_equal(b.len, 0);
    lw_buf_release(&b);
}

static void test_strip_chart(void **state)
{
    (void)state;
    enum { N = 30 };
    signed char a[N], c[N];
    const char *labels[N];
    char lab[N][32];
    for (int i = 0; i < N; i++) {
        a[i] = (signed char)(i < 10 ? -1 : i < 20 ? 0 : 1); /* none, leads, stopped */
        c[i] = 2;
        snprintf(lab[i], sizeof lab[i], "2024-05-%02d", i + 1);
        labels[i] = lab[i];
    }
    lw_svg_strip_row_t rows[2] = {{"a \xE2\x86\x92 nsm", a}, {"c \xE2\x86\x92 nsm", c}};
    const char *names[3] = {"leads", "stopped leading", "reverse"};
    const char *colors[3] = {"#009E73", "#E69F00", "#D55E00"};
    lw_svg_strip_opts_t o = {.frame = {.title = "When each edge led", .width = 360},
                             .x_labels = labels,
                             .n = N,
                             .rows = rows,
                             .nrows = 2,
                             .cat_names = names,
                             .cat_colors = colors,
                             .ncats = 3};
    lw_buf_t b;
    lw_buf_init(&b, BIG);
    char err[256] = "";
    assert_int_equal(lw_svg_strip_chart(&b, &o, err, sizeof err), LW_OK);
    svg_check(b.data, b.len);
    const char *svg = b.data;
    /* one rect per run, not per period; the blank run draws nothing */
    assert_int_equal(count(svg, "class=\"lw-run\""), 3);
    assert_non_null(strstr(svg, "<title>leads: 2024-05-11 \xE2\x80\x93 2024-05-20</title>"));
    assert_non_null(
        strstr(svg, "<title>stopped leading: 2024-05-21 \xE2\x80\x93 2024-05-30</title>"));
    assert_non_null(strstr(svg, "<title>reverse: 2024-05-01 \xE2\x80\x93 2024-05-30</title>"));
    assert_true(min_font_size(svg) >= 12);
    lw_buf_release(&b);

    o.nrows = 0;
    lw_buf_init(&b, BIG);
    assert_int_equal(lw_svg_strip_chart(&b, &o, err, sizeof err), LW_ERR_INVALID);
    assert_int_equal(b.len, 0);
    lw_buf_release(&b);
}

/* Every chart's text is at least 12 px in its own units (11 px on a phone after scaling). */
static void test_text_sizes(void **state)
{
    (void)state;
    static const lw_svg_tree_input_t ins[2] = {{"a_long_input_name", LW_SVG_VERDICT_LEADS, "1 day"},
                                               {"b", LW_SVG_VERDICT_NO_LONGER_LEADS, "2024-05-01"}};
    for (int narrow = 0; narrow < 2; narrow++) {
        lw_svg_tree_opts_t t = {
            .frame = {.title = "Tree", .subtitle = "s", .width = narrow ? 360 : 960},
            .inputs = ins,
            .ninputs = 2,
            .nsm_name = "listening_minutes",
            .kpi_name = "revenue",
            .kpi_verdict = LW_SVG_VERDICT_LEADS,
            .kpi_edge_label = "5 days"};
        lw_buf_t b;
        lw_buf_init(&b, BIG);
        char err[256] = "";
        assert_int_equal(lw_svg_tree_diagram(&b, &t, err, sizeof err), LW_OK);
        svg_check(b.data, b.len);
        assert_true(min_font_size(b.data) >= 12);
        /* the phone layout keeps every box inside its 360 px */
        if (narrow)
            for (const char *p = b.data; (p = strstr(p, "<rect")) != NULL; p++) {
                const char *gt = strchr(p, '>'), *xa = strstr(p, " x=\""),
                           *wa = strstr(p, " width=\"");
                if (xa && wa && xa < gt && wa < gt)
                    assert_true(strtod(xa + 4, NULL) + strtod(wa + 8, NULL) <= 360.01);
            }
        lw_buf_release(&b);
    }
    lw_svg_gauge_opts_t g = {.frame = {.title = "MDE", .x_label = "MDE", .x_unit = "%"},
                             .value = 16.5,
                             .threshold = 10,
                             .lower_is_better = true,
                             .verdict_text = "only changes of 16.5% show"};
    lw_buf_t b;
    lw_buf_init(&b, BIG);
    char err[256] = "";
    assert_int_equal(lw_svg_gauge_bar(&b, &g, err, sizeof err), LW_OK);
    assert_non_null(strstr(b.data, "only changes of 16.5% show"));
    assert_null(strstr(b.data, "fails"));
    assert_true(min_font_size(b.data) >= 12);
    lw_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_append_and_printf),
        cmocka_unit_test(test_buf_numbers),
        cmocka_unit_test(test_buf_xml_escape),
        cmocka_unit_test(test_buf_bound_is_sticky_and_whole),
        cmocka_unit_test(test_buf_read_stream),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_line_chart_points_and_gaps),
        cmocka_unit_test(test_line_chart_normalised_and_shifted),
        cmocka_unit_test(test_line_chart_degenerate),
        cmocka_unit_test(test_bar_chart_band),
        cmocka_unit_test(test_pvalue_chart_log_and_clamp),
        cmocka_unit_test(test_history_chart_break),
        cmocka_unit_test(test_gauge),
        cmocka_unit_test(test_tree_verdicts),
        cmocka_unit_test(test_tree_long_names),
        cmocka_unit_test(test_hostile_names_are_escaped),
        cmocka_unit_test(test_bound_never_truncates),
        cmocka_unit_test(test_invalid_options),
        cmocka_unit_test(test_report_size_line_chart),
        cmocka_unit_test(test_pair_chart),
        cmocka_unit_test(test_strip_chart),
        cmocka_unit_test(test_text_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
