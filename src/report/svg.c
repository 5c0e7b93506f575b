/*
 * svg.c - SVG chart primitives for the report (see svg.h).
 *
 * Why hand-written: the report must be one self-contained file with no
 * JavaScript, so browser charting libraries are out, and the C options
 * (gnuplot, cairo, plotutils) either draw raster images, pull a large
 * dependency into a daemon, or produce SVG with fonts and ids we cannot
 * control.  The charts here are a few kinds of axes, paths and rectangles.
 *
 * Layout.  Every chart is one <svg> with a viewBox of width x height:
 *
 *   +----------------------------------------------------+
 *   | title (15 px, bold)                                 |  top = 40, or
 *   | subtitle (12 px, grey; clamping notes go here too)  |  58 with subtitle
 *   |  y   +------------------------------------+         |
 *   | axis |  plot area (class="lw-plot")       | α = 0.05|  reference-line
 *   | title|  gridlines, data, reference lines  |         |  labels sit in
 *   |      +------------------------------------+         |  the right margin
 *   |        x tick labels, x axis title                  |
 *   | legend rows (wrapped to the chart width)            |
 *   +----------------------------------------------------+
 *
 * The legend's height is computed first (from estimated text widths: an
 * average advance of 0.55 em per code point, measured on DejaVu Sans, the
 * widest common default sans-serif, and 10% more for bold) and the plot
 * area takes what is left, so the legend never overlaps data.  Text that
 * would not fit is shortened with "…"; the full string stays in a tooltip.
 * The text defaults (font-family="sans-serif", size, colour) sit on a <g>
 * inside the <svg>, since HTML checkers such as tidy flag them on <svg>.
 *
 * The tree diagram has its own layout: input boxes stacked on the left
 * (as wide as the longest name needs, up to 22% of the width), the NSM box
 * (tall, name wrapped to 3 lines) and the KPI box to the right, everything
 * centred on the tallest column.  An edge runs horizontally for 75% of the
 * gap, then bends into its own port on the NSM's left side (ports are
 * spread over the box's height so edges do not converge on one point); its
 * label sits on the straight part, above it when the edge bends down and
 * below it when it bends up, so labels never cross another edge.
 *
 * Scales.  Linear axes use "nice" steps of 1, 2, 2.5 or 5 x 10^k for about
 * five intervals (Heckbert, "Nice numbers for graph labels", Graphics Gems
 * 1990) and widen the range to whole steps.  Log axes (p-values) run over
 * whole decades.  Every pixel coordinate goes through px_clamp(), so even a
 * degenerate range (one value, +-1e308) cannot produce NaN or infinity.
 * Period axes put ticks at month starts when every label begins with an
 * ISO "YYYY-MM" (every 1, 2, 3, 6, 12 ... months, the smallest that fits);
 * other labels get a step from a list of calendar-friendly counts (1, 2,
 * 5, 7, 14, 30, 90, 365, ...) so that the widest label fits between ticks.
 *
 * Gaps.  A line is one <path> per series; an undefined point ends the
 * current subpath and the next defined point starts a new one with "M".
 * An isolated point becomes a zero-length segment ("h0") that the round
 * line cap draws as a dot.  Coordinates are rounded to a tenth of a pixel
 * (at the chart's own scale); a subpath starts with an absolute "M x y"
 * and continues with one relative "l" of dx dy pairs taken between the
 * *rounded* points, so rounding never accumulates: about 8 bytes a point
 * against 12 for absolute pairs.
 *
 * No ids are emitted (no <marker>, <clipPath> or <pattern>): arrowheads are
 * explicit triangles and data are clamped to the plot area, so many charts
 * can be inlined in one HTML document without id clashes.
 *
 * Colours: Okabe & Ito, "Color Universal Design" (2008): black, orange
 * #E69F00, sky blue #56B4E9, bluish green #009E73, blue #0072B2, vermillion
 * #D55E00, reddish purple #CC79A7 (yellow #F0E442 is too light on white
 * for lines and is not used).  Series beyond the six colours repeat them
 * with a dotted pattern; verdicts also differ by dash and arrowheads and
 * are always named in text.
 */
#include "leadwatch/report/svg.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FONT_PX 12.0
#define SMALL_PX 11.0
#define TITLE_PX 15.0
#define CHAR_EM 0.55   /* average glyph advance of a sans-serif face, in em */
#define BOLD_WIDER 1.1 /* bold glyphs are about 10% wider */
#define LEGEND_ROW 18.0
#define HALO " stroke=\"#fff\" stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\""

#define C_TEXT "#222"
#define C_MUTED "#555"
#define C_GRID "#e4e4e4"
#define C_AXIS "#777"
#define C_BLACK "#000000"
#define C_ORANGE "#E69F00"
#define C_SKY "#56B4E9"
#define C_GREEN "#009E73"
#define C_BLUE "#0072B2"
#define C_VERMILLION "#D55E00"
#define C_PURPLE "#CC79A7"
#define C_GREY "#8a939c"

static const char *const series_colors[] = {C_BLUE,       C_ORANGE, C_GREEN,
                                            C_VERMILLION, C_PURPLE, C_SKY};
#define NSERIES_COLORS (sizeof series_colors / sizeof series_colors[0])

/* ---- small helpers ------------------------------------------------------ */

typedef struct {
    double w, h;   /* whole chart */
    double x0, y0; /* top-left of the plot area */
    double pw, ph; /* plot area size */
} layout_t;

typedef struct {
    double lo, hi; /* data range; log10 units when log */
    bool log;
    double step; /* tick step (linear) or decades between labels (log) */
    int decimals;
} scale_t;

static double clampd(double v, double lo, double hi)
{
    if (!(v >= lo)) /* also catches NaN */
        return lo;
    return v > hi ? hi : v;
}

/* Pixel coordinates are kept in a sane range whatever the data did. */
static double px_clamp(double v)
{
    return clampd(v, -1e5, 1e5);
}

static void num(lw_buf_t *b, double v)
{
    lw_buf_put_num(b, px_clamp(v), 2);
}

/* A coordinate given in tenths of a pixel: 123 -> "12.3", -5 -> "-0.5". */
static void tenths(lw_buf_t *b, long t)
{
    char tmp[24];
    char *end = tmp + sizeof tmp, *p = end;
    unsigned long m = t < 0 ? (unsigned long)-t : (unsigned long)t;
    if (m % 10 != 0) {
        *--p = (char)('0' + m % 10);
        *--p = '.';
    }
    m /= 10;
    do {
        *--p = (char)('0' + m % 10);
        m /= 10;
    } while (m > 0);
    if (t < 0)
        *--p = '-';
    lw_buf_append(b, p, (size_t)(end - p));
}

static void attr(lw_buf_t *b, const char *name, double v)
{
    lw_buf_putc(b, ' ');
    lw_buf_puts(b, name);
    lw_buf_puts(b, "=\"");
    num(b, v);
    lw_buf_putc(b, '"');
}

static size_t utf8_count(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            k++;
    return k;
}

static double text_px(const char *s, double font_px)
{
    return s ? (double)utf8_count(s, strlen(s)) * font_px * CHAR_EM : 0.0;
}

/* Append s[0..len) escaped, shortened with "…" at a code point boundary to max_px. */
static void put_text_fit_n(lw_buf_t *b, const char *s, size_t len, double max_px, double font_px)
{
    double per = font_px * CHAR_EM;
    if ((double)utf8_count(s, len) * per <= max_px) {
        lw_buf_put_xml_n(b, s, len);
        return;
    }
    double room = max_px - per; /* the ellipsis */
    size_t cut = 0;
    double used = 0;
    for (size_t i = 0; i < len;) {
        size_t next = i + 1;
        while (next < len && ((unsigned char)s[next] & 0xC0) == 0x80)
            next++;
        if (used + per > room)
            break;
        used += per;
        cut = next;
        i = next;
    }
    lw_buf_put_xml_n(b, s, cut);
    lw_buf_puts(b, "\xE2\x80\xA6"); /* … */
}

static void put_text_fit(lw_buf_t *b, const char *s, double max_px, double font_px)
{
    if (s)
        put_text_fit_n(b, s, strlen(s), max_px, font_px);
}

#define WRAP_MAX_LINES 4

/*
 * Greedy word wrap of s into at most maxl lines of about max_px: line k is
 * s[start[k] .. start[k] + len[k]).  A word wider than a line gets a line
 * of its own; whatever is left for the last line is shortened by the
 * caller (put_text_fit_n).  Returns the number of lines.
 */
static size_t wrap_lines(const char *s, double max_px, double font_px, size_t maxl, size_t *start,
                         size_t *len)
{
    size_t n = strlen(s), nl = 0, i = 0;
    double per = font_px * CHAR_EM;
    while (nl < maxl) {
        while (i < n && s[i] == ' ')
            i++;
        if (i >= n)
            break;
        start[nl] = i;
        if (nl == maxl - 1) {
            len[nl++] = n - i;
            break;
        }
        size_t end = i;
        bool fits_one = false;
        while (end < n) {
            size_t w = end;
            while (w < n && s[w] == ' ')
                w++;
            while (w < n && s[w] != ' ')
                w++;
            if ((double)utf8_count(s + i, w - i) * per > max_px)
                break;
            end = w;
            fits_one = true;
        }
        if (!fits_one) /* one over-long word: it takes the line */
            while (end < n && s[end] != ' ')
                end++;
        len[nl++] = end - i;
        i = end;
    }
    return nl;
}

/* <text x y [anchor] [size] extra>; the caller writes content and </text>. */
static void text_open(lw_buf_t *b, double x, double y, const char *anchor, double font_px,
                      const char *extra)
{
    lw_buf_puts(b, "<text");
    attr(b, "x", x);
    attr(b, "y", y);
    if (anchor) {
        lw_buf_puts(b, " text-anchor=\"");
        lw_buf_puts(b, anchor);
        lw_buf_putc(b, '"');
    }
    if (font_px != FONT_PX)
        attr(b, "font-size", font_px);
    if (extra)
        lw_buf_puts(b, extra);
    lw_buf_putc(b, '>');
}

static void text_fit(lw_buf_t *b, double x, double y, const char *anchor, double font_px,
                     const char *extra, const char *s, double max_px)
{
    text_open(b, x, y, anchor, font_px, extra);
    put_text_fit(b, s, max_px, font_px);
    lw_buf_puts(b, "</text>");
}

/* "Label (unit)" into dst; either part may be NULL. */
static void label_with_unit(char *dst, size_t size, const char *label, const char *unit)
{
    if (label && unit && *unit)
        snprintf(dst, size, "%s (%s)", label, unit);
    else if (label)
        snprintf(dst, size, "%s", label);
    else if (unit)
        snprintf(dst, size, "%s", unit);
    else
        dst[0] = '\0';
}

/* A number for a label: %g-like but without exponents for everyday values. */
static void fmt_value(char *dst, size_t size, double v, int decimals)
{
    if (!isfinite(v)) {
        snprintf(dst, size, "n/a");
        return;
    }
    if (fabs(v) >= 1e7 || (v != 0 && fabs(v) < 1e-4 && decimals < 6))
        snprintf(dst, size, "%.3g", v);
    else
        snprintf(dst, size, "%.*f", decimals, v);
    if (strcmp(dst, "-0") == 0 || (dst[0] == '-' && strspn(dst + 1, "0.") == strlen(dst + 1)))
        memmove(dst, dst + 1, strlen(dst)); /* no "-0.00" */
}

/* ---- chart frame -------------------------------------------------------- */

static lw_err_t check_frame(const lw_svg_frame_t *f, char *errstr, size_t errstr_size)
{
    if (!(f->width == 0 || (f->width >= LW_SVG_MIN_SIZE && f->width <= LW_SVG_MAX_SIZE)))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "chart width %g is outside %g..%g",
                         f->width, LW_SVG_MIN_SIZE, LW_SVG_MAX_SIZE);
    if (!(f->height == 0 || (f->height >= LW_SVG_MIN_SIZE && f->height <= LW_SVG_MAX_SIZE)))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "chart height %g is outside %g..%g",
                         f->height, LW_SVG_MIN_SIZE, LW_SVG_MAX_SIZE);
    return LW_OK;
}

static lw_err_t check_buf(lw_buf_t *out, char *errstr, size_t errstr_size)
{
    if (!out)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "no output buffer");
    if (out->err != LW_OK)
        return lw_seterr(errstr, errstr_size, out->err, "output buffer already failed (%s)",
                         lw_err_name(out->err));
    return LW_OK;
}

/*
 * The checks every chart starts with: an output buffer, a valid frame, and
 * at most LW_SVG_MAX_POINTS data points, which must be given when n > 0.
 */
static lw_err_t check_chart(lw_buf_t *out, const lw_svg_frame_t *frame, size_t n, bool have_data,
                            const char *what, char *errstr, size_t errstr_size)
{
    lw_err_t err = check_buf(out, errstr, errstr_size);
    if (err == LW_OK)
        err = check_frame(frame, errstr, errstr_size);
    if (err == LW_OK && (n > LW_SVG_MAX_POINTS || (n > 0 && !have_data)))
        err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                        "%s: %zu points (bound %d, data required)", what, n, LW_SVG_MAX_POINTS);
    return err;
}

/*
 * Open the <svg>, write <title>, background, title and subtitle.  Returns
 * the y where content may start.
 */
static double svg_open(lw_buf_t *b, const char *kind, const lw_svg_frame_t *f, const char *subtitle,
                       const char *aria_extra, double w, double h)
{
    const char *title = f->title && *f->title ? f->title : "Chart";
    lw_buf_puts(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"lw-chart lw-chart-");
    lw_buf_puts(b, kind);
    lw_buf_puts(b, "\" viewBox=\"0 0 ");
    num(b, w);
    lw_buf_putc(b, ' ');
    num(b, h);
    lw_buf_putc(b, '"');
    attr(b, "width", w);
    attr(b, "height", h);
    lw_buf_puts(b, " role=\"img\" aria-label=\"");
    lw_buf_put_xml(b, title);
    if (subtitle && *subtitle) {
        lw_buf_puts(b, ". ");
        lw_buf_put_xml(b, subtitle);
    }
    if (aria_extra && *aria_extra) {
        lw_buf_puts(b, ". ");
        lw_buf_put_xml(b, aria_extra);
    }
    lw_buf_puts(b, "\" style=\"max-width:100%;height:auto\"><title>");
    lw_buf_put_xml(b, title);
    lw_buf_puts(b, "</title>");
    if (subtitle && *subtitle) {
        lw_buf_puts(b, "<desc>");
        lw_buf_put_xml(b, subtitle);
        lw_buf_puts(b, "</desc>");
    }
    /* text defaults on a group: HTML checkers (tidy) reject them on <svg> */
    lw_buf_puts(b, "<g font-family=\"sans-serif\" font-size=\"12\" fill=\"" C_TEXT "\"><rect");
    attr(b, "width", w);
    attr(b, "height", h);
    lw_buf_puts(b, " fill=\"#fff\"/>");
    text_fit(b, 16, 24, NULL, TITLE_PX, " font-weight=\"bold\"", title, (w - 32) / BOLD_WIDER);
    if (subtitle && *subtitle) {
        text_fit(b, 16, 43, NULL, FONT_PX, " fill=\"" C_MUTED "\"", subtitle, w - 32);
        return 58;
    }
    return 40;
}

static void svg_close(lw_buf_t *b)
{
    lw_buf_puts(b, "</g></svg>\n");
}

/* The plot-area rectangle the report's tests look for, and the axis lines. */
static void plot_area(lw_buf_t *b, const layout_t *L)
{
    lw_buf_puts(b, "<rect class=\"lw-plot\"");
    attr(b, "x", L->x0);
    attr(b, "y", L->y0);
    attr(b, "width", L->pw);
    attr(b, "height", L->ph);
    lw_buf_puts(b, " fill=\"#fff\"/>");
}

static void axis_lines(lw_buf_t *b, const layout_t *L)
{
    lw_buf_puts(b, "<path d=\"M");
    num(b, L->x0);
    lw_buf_putc(b, ' ');
    num(b, L->y0);
    lw_buf_puts(b, "V");
    num(b, L->y0 + L->ph);
    lw_buf_puts(b, "H");
    num(b, L->x0 + L->pw);
    lw_buf_puts(b, "\" fill=\"none\" stroke=\"" C_AXIS "\"/>");
}

static lw_err_t finish(lw_buf_t *b, size_t mark, lw_err_t err, char *errstr, size_t errstr_size);

/* ---- legend ------------------------------------------------------------- */

typedef enum { SW_LINE, SW_LINE_CIRCLE, SW_LINE_SQUARE, SW_RECT, SW_OUTLINE } swatch_t;

typedef struct {
    char text[256];
    const char *color;
    const char *dash; /* NULL = solid */
    double width;
    swatch_t kind;
    double opacity;
} legend_item_t;

#define LEGEND_MAX_TEXT_PX 300.0

static double legend_item_w(const legend_item_t *it)
{
    double t = text_px(it->text, SMALL_PX);
    return 30 + (t < LEGEND_MAX_TEXT_PX ? t : LEGEND_MAX_TEXT_PX) + 18;
}

static size_t legend_rows(const legend_item_t *it, size_t n, double avail)
{
    if (n == 0)
        return 0;
    size_t rows = 1;
    double x = 0;
    for (size_t i = 0; i < n; i++) {
        double iw = legend_item_w(&it[i]);
        if (x > 0 && x + iw > avail) {
            rows++;
            x = 0;
        }
        x += iw;
    }
    return rows;
}

static void swatch_line(lw_buf_t *b, double x, double y, const legend_item_t *it)
{
    lw_buf_puts(b, "<path d=\"M");
    num(b, x);
    lw_buf_putc(b, ' ');
    num(b, y);
    lw_buf_puts(b, "h24\" fill=\"none\" stroke=\"");
    lw_buf_puts(b, it->color);
    lw_buf_putc(b, '"');
    attr(b, "stroke-width", it->width > 0 ? it->width : 2);
    if (it->dash) {
        lw_buf_puts(b, " stroke-dasharray=\"");
        lw_buf_puts(b, it->dash);
        lw_buf_putc(b, '"');
    }
    lw_buf_puts(b, "/>");
}

static void marker(lw_buf_t *b, swatch_t kind, double x, double y, const char *color)
{
    if (kind == SW_LINE_CIRCLE) {
        lw_buf_puts(b, "<circle");
        attr(b, "cx", x);
        attr(b, "cy", y);
        lw_buf_puts(b, " r=\"3.5\" fill=\"");
    } else {
        lw_buf_puts(b, "<rect");
        attr(b, "x", x - 3.5);
        attr(b, "y", y - 3.5);
        lw_buf_puts(b, " width=\"7\" height=\"7\" fill=\"");
    }
    lw_buf_puts(b, color);
    lw_buf_putc(b, '"');
}

static void legend_draw(lw_buf_t *b, const legend_item_t *it, size_t n, double x0, double y0,
                        double avail)
{
    double x = 0, y = y0;
    lw_buf_puts(b, "<g class=\"lw-legend\" font-size=\"11\">");
    for (size_t i = 0; i < n; i++) {
        double iw = legend_item_w(&it[i]);
        if (x > 0 && x + iw > avail) {
            y += LEGEND_ROW;
            x = 0;
        }
        double sx = x0 + x, cy = y - 4;
        switch (it[i].kind) {
        case SW_LINE: swatch_line(b, sx, cy, &it[i]); break;
        case SW_LINE_CIRCLE:
        case SW_LINE_SQUARE:
            swatch_line(b, sx, cy, &it[i]);
            marker(b, it[i].kind, sx + 12, cy, it[i].color);
            lw_buf_puts(b, "/>");
            break;
        case SW_RECT:
        case SW_OUTLINE:
            lw_buf_puts(b, "<rect");
            attr(b, "x", sx + 2);
            attr(b, "y", cy - 6);
            lw_buf_puts(b, " width=\"20\" height=\"12\"");
            if (it[i].kind == SW_RECT) {
                lw_buf_puts(b, " fill=\"");
                lw_buf_puts(b, it[i].color);
                lw_buf_putc(b, '"');
                if (it[i].opacity > 0 && it[i].opacity < 1)
                    attr(b, "fill-opacity", it[i].opacity);
            } else {
                lw_buf_puts(b, " fill=\"none\" stroke-width=\"2\" stroke=\"");
                lw_buf_puts(b, it[i].color);
                lw_buf_putc(b, '"');
            }
            lw_buf_puts(b, "/>");
            break;
        }
        text_fit(b, sx + 30, y, NULL, SMALL_PX, NULL, it[i].text, LEGEND_MAX_TEXT_PX);
        x += iw;
    }
    lw_buf_puts(b, "</g>");
}

/* ---- scales and axes ---------------------------------------------------- */

static double nice_step(double span, int target)
{
    double raw = span / target;
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    double nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
    return nf * mag;
}

static int step_decimals(double step)
{
    for (int d = 0; d < 6; d++) {
        double s = step * pow(10, d);
        if (fabs(s - round(s)) < 1e-6 * s)
            return d;
    }
    return 6;
}

/*
 * A linear scale covering [dmin, dmax] (dmin > dmax means no data) in whole
 * nice steps, about `target` intervals.
 */
static void scale_linear(scale_t *s, double dmin, double dmax, int target)
{
    s->log = false;
    if (!(dmin <= dmax) || !isfinite(dmin) || !isfinite(dmax)) {
        dmin = 0;
        dmax = 1;
    }
    if (dmax - dmin < 1e-12 * fmax(1.0, fabs(dmax))) {
        double pad = fabs(dmax) > 0 ? fabs(dmax) * 0.1 : 1;
        dmin -= pad;
        dmax += pad;
    }
    double span = dmax - dmin;
    if (!isfinite(span)) { /* e.g. -1e308..1e308: data get clamped instead */
        dmin = -1e300;
        dmax = 1e300;
        span = 2e300;
    }
    s->step = nice_step(span, target);
    s->lo = floor(dmin / s->step) * s->step;
    s->hi = ceil(dmax / s->step) * s->step;
    if (!(s->hi > s->lo) || !isfinite(s->hi - s->lo)) {
        s->lo = dmin;
        s->hi = dmax;
    }
    s->decimals = step_decimals(s->step);
}

/* Log10 scale over whole decades [10^lo, 10^hi], values clamped to floor. */
static void scale_log(scale_t *s, double pmin, double floor_p, double pmax)
{
    s->log = true;
    if (!(pmin > 0) || pmin < floor_p)
        pmin = floor_p;
    if (!(pmax > 0) || pmax < pmin)
        pmax = 1;
    s->lo = floor(log10(pmin));
    s->hi = ceil(log10(pmax));
    if (s->hi <= s->lo)
        s->hi = s->lo + 1;
    double decades = s->hi - s->lo;
    s->step = decades <= 6 ? 1 : ceil(decades / 6);
    s->decimals = 0;
}

static double map_y(const layout_t *L, const scale_t *s, double v)
{
    double t = s->log ? log10(v) : v;
    double f = (t - s->lo) / (s->hi - s->lo);
    return clampd(L->y0 + L->ph * (1 - f), L->y0, L->y0 + L->ph);
}

/* "10⁻⁴"-style label of decade k (k <= 0 shown as 1, 0.1, 0.01, 0.001). */
static void decade_label(char *dst, size_t size, int k)
{
    static const char *const sup[] = {
        "\xE2\x81\xB0", "\xC2\xB9",     "\xC2\xB2",     "\xC2\xB3",     "\xE2\x81\xB4",
        "\xE2\x81\xB5", "\xE2\x81\xB6", "\xE2\x81\xB7", "\xE2\x81\xB8", "\xE2\x81\xB9"};
    if (k <= 0 && k >= -3) {
        snprintf(dst, size, "%.*f", -k, pow(10, k));
        return;
    }
    char digits[16];
    snprintf(digits, sizeof digits, "%d", k < 0 ? -k : k);
    size_t o = (size_t)snprintf(dst, size, "10%s", k < 0 ? "\xE2\x81\xBB" : "");
    for (const char *d = digits; *d && o + 4 < size; d++)
        o += (size_t)snprintf(dst + o, size - o, "%s", sup[*d - '0']);
}

/* Gridlines, tick labels and the rotated axis title of a y axis. */
static void axis_y(lw_buf_t *b, const layout_t *L, const scale_t *s, const char *title)
{
    /* every tick value, computed from its index to avoid drift */
    double ticks[64];
    size_t nt = 0;
    if (s->log) {
        for (double k = s->lo; k <= s->hi + 1e-9 && nt < 64; k += 1)
            ticks[nt++] = k;
    } else {
        for (size_t i = 0; nt < 64; i++) {
            double v = s->lo + (double)i * s->step;
            if (v > s->hi + s->step * 1e-6)
                break;
            ticks[nt++] = v;
        }
    }
    lw_buf_puts(b, "<path d=\"");
    for (size_t i = 0; i < nt; i++) {
        double y = map_y(L, s, s->log ? pow(10, ticks[i]) : ticks[i]);
        lw_buf_putc(b, 'M');
        num(b, L->x0);
        lw_buf_putc(b, ' ');
        num(b, y);
        lw_buf_putc(b, 'h');
        num(b, L->pw);
    }
    lw_buf_puts(b, "\" fill=\"none\" stroke=\"" C_GRID "\"/>");
    lw_buf_puts(b, "<g text-anchor=\"end\" font-size=\"11\" fill=\"" C_MUTED "\">");
    for (size_t i = 0; i < nt; i++) {
        char lab[48];
        double v = ticks[i];
        if (s->log) {
            int k = (int)lround(v);
            if ((k - (int)lround(s->hi)) % (int)s->step != 0)
                continue;
            decade_label(lab, sizeof lab, k);
        } else {
            fmt_value(lab, sizeof lab, v, s->decimals);
        }
        double y = map_y(L, s, s->log ? pow(10, v) : v);
        text_open(b, L->x0 - 6, y + 4, NULL, FONT_PX, NULL);
        lw_buf_put_xml(b, lab);
        lw_buf_puts(b, "</text>");
    }
    lw_buf_puts(b, "</g>");
    if (title && *title) {
        lw_buf_puts(b, "<text transform=\"rotate(-90)\"");
        attr(b, "x", -(L->y0 + L->ph / 2));
        attr(b, "y", 16);
        lw_buf_puts(b, " text-anchor=\"middle\">");
        put_text_fit(b, title, L->ph, FONT_PX);
        lw_buf_puts(b, "</text>");
    }
}

static double x_of_index(const layout_t *L, size_t n, double i)
{
    if (n <= 1)
        return L->x0 + L->pw / 2;
    return L->x0 + L->pw * i / (double)(n - 1);
}

static double x_of_slot(const layout_t *L, size_t n, double i)
{
    return L->x0 + L->pw * (i + 0.5) / (double)(n ? n : 1);
}

/* Tick mark + centred label kept inside the chart. */
static void x_tick(lw_buf_t *b, const layout_t *L, double x, const char *label)
{
    double lw = text_px(label, SMALL_PX);
    double cx = clampd(x, lw / 2 + 2, L->w - lw / 2 - 2);
    lw_buf_puts(b, "<path d=\"M");
    num(b, x);
    lw_buf_putc(b, ' ');
    num(b, L->y0 + L->ph);
    lw_buf_puts(b, "v4\" stroke=\"" C_AXIS "\"/>");
    text_open(b, cx, L->y0 + L->ph + 17, NULL, FONT_PX, NULL);
    lw_buf_put_xml(b, label);
    lw_buf_puts(b, "</text>");
}

static void x_title(lw_buf_t *b, const layout_t *L, const char *title)
{
    if (title && *title)
        text_fit(b, L->x0 + L->pw / 2, L->y0 + L->ph + 35, "middle", FONT_PX, NULL, title, L->pw);
}

/* Month number (year * 12 + month - 1) of a label starting "YYYY-MM", or -1. */
static long label_month(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < 7; i++) /* stops at a NUL before reading past it */
        if (i == 4 ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
            return -1;
    long y = (s[0] - '0') * 1000L + (s[1] - '0') * 100L + (s[2] - '0') * 10L + (s[3] - '0');
    long m = (s[5] - '0') * 10L + (s[6] - '0');
    return m >= 1 && m <= 12 ? y * 12 + m - 1 : -1;
}

/* Does period i start a month?  (Needs every label to parse as a month.) */
static bool month_start(const char *const *labels, size_t i)
{
    const char *s = labels[i];
    if (i == 0) /* "2024-03" or "2024-03-01..." */
        return s[7] == '\0' || (s[7] == '-' && s[8] == '0' && s[9] == '1');
    return label_month(s) != label_month(labels[i - 1]);
}

/*
 * Period axis.  ISO-dated labels ("2024-03-01", "2024-03", "2024-03-01T05")
 * get ticks at month starts, every k-th month (k = 1, 2, 3, 6, 12, ...
 * aligned to January) for the smallest k whose labels fit; other labels get
 * every step-th period.  A tick too close to the previous one is skipped.
 */
static void axis_x_periods(lw_buf_t *b, const layout_t *L, const char *const *labels, size_t n,
                           const char *title)
{
    static const size_t steps[] = {1,   2,   3,    5,    7,    10,    14,    20,    28,
                                   30,  50,  60,   90,   100,  120,   180,   200,   365,
                                   500, 730, 1000, 2000, 5000, 10000, 20000, 50000, 100000};
    static const long month_steps[] = {1, 2, 3, 6, 12, 24, 60, 120, 600};
    double widest = 0;
    bool dated = labels != NULL && n > 0;
    for (size_t i = 0; i < n; i++) {
        double t = labels && labels[i] ? text_px(labels[i], SMALL_PX) : SMALL_PX * CHAR_EM * 6;
        if (t > widest)
            widest = t;
        if (dated && label_month(labels[i]) < 0)
            dated = false;
    }
    size_t fit = (size_t)(L->pw / (widest + 18)) + 1;
    long mstep = 0;
    for (size_t k = 0; dated && mstep == 0 && k < sizeof month_steps / sizeof month_steps[0]; k++) {
        size_t count = 0;
        for (size_t i = 0; i < n; i++)
            if (month_start(labels, i) && label_month(labels[i]) % month_steps[k] == 0)
                count++;
        if (count >= 2 && count <= fit)
            mstep = month_steps[k];
    }
    size_t step = n ? n : 1;
    for (size_t k = 0; mstep == 0 && k < sizeof steps / sizeof steps[0]; k++)
        if ((n + steps[k] - 1) / steps[k] <= fit) {
            step = steps[k];
            break;
        }
    lw_buf_puts(b, "<g text-anchor=\"middle\" font-size=\"11\" fill=\"" C_MUTED "\">");
    double last = -INFINITY;
    for (size_t i = 0; i < n; i += mstep ? 1 : step) {
        if (mstep && !(month_start(labels, i) && label_month(labels[i]) % mstep == 0))
            continue;
        double x = x_of_index(L, n, (double)i);
        if (x - last < widest + 12)
            continue;
        char buf[32];
        const char *lab = labels ? labels[i] : NULL;
        if (!lab) {
            snprintf(buf, sizeof buf, "%zu", i);
            lab = buf;
        }
        x_tick(b, L, x, lab);
        last = x;
    }
    lw_buf_puts(b, "</g>");
    x_title(b, L, title);
}

/* Lag axis: integer labels at slot centres, always including 0. */
static void axis_x_lags(lw_buf_t *b, const layout_t *L, int lag_min, size_t n, const char *title)
{
    static const int steps[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10000, 100000};
    double slot = L->pw / (double)(n ? n : 1);
    int step = steps[sizeof steps / sizeof steps[0] - 1];
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++)
        if (slot * steps[k] >= 28) {
            step = steps[k];
            break;
        }
    lw_buf_puts(b, "<g text-anchor=\"middle\" font-size=\"11\" fill=\"" C_MUTED "\">");
    for (size_t i = 0; i < n; i++) {
        long lag = (long)lag_min + (long)i;
        if (lag % step != 0)
            continue;
        char lab[24];
        snprintf(lab, sizeof lab, "%ld", lag);
        x_tick(b, L, x_of_slot(L, n, (double)i), lab);
    }
    lw_buf_puts(b, "</g>");
    x_title(b, L, title);
}

/*
 * Layout of a chart with axes: margins around the plot, the legend below.
 * `legend_h` is the legend's height (0 = none).
 */
static void layout_axes(layout_t *L, double w, double h, double top, double legend_h,
                        double right_label)
{
    L->w = w;
    L->h = h;
    L->x0 = 64;
    L->y0 = top + 6;
    L->pw = w - L->x0 - clampd(right_label * BOLD_WIDER + 12, 40, w * 0.25);
    double bottom = 44 + (legend_h > 0 ? legend_h + 10 : 0);
    L->ph = h - L->y0 - bottom;
    if (L->ph < 40) /* a very small chart: squeeze rather than invert */
        L->ph = 40;
}

static double legend_top(const layout_t *L)
{
    return L->y0 + L->ph + 44 + 12;
}

/*
 * Horizontal reference line across the plot, labelled in the right margin
 * (reserve it with layout_axes' right_label).
 */
static void ref_hline(lw_buf_t *b, const layout_t *L, double y, const char *color, const char *dash,
                      const char *label)
{
    lw_buf_puts(b, "<path d=\"M");
    num(b, L->x0);
    lw_buf_putc(b, ' ');
    num(b, y);
    lw_buf_putc(b, 'h');
    num(b, L->pw);
    lw_buf_puts(b, "\" fill=\"none\" stroke-width=\"1.5\" stroke=\"");
    lw_buf_puts(b, color);
    lw_buf_putc(b, '"');
    if (dash) {
        lw_buf_puts(b, " stroke-dasharray=\"");
        lw_buf_puts(b, dash);
        lw_buf_putc(b, '"');
    }
    lw_buf_puts(b, "/>");
    if (label && *label) /* in the right margin, clear of the data */
        text_fit(b, L->x0 + L->pw + 5, y + 4, NULL, SMALL_PX, " font-weight=\"bold\"", label,
                 L->w - L->x0 - L->pw - 7);
}

/*
 * Path of values[i] at x = xs(i), y = map_y; NAN breaks the line.  `floor`
 * > 0 clamps values below it (log axes).  Returns the number of points.
 */
typedef double (*xpos_fn)(const layout_t *L, size_t n, double i);

static size_t line_path(lw_buf_t *b, const layout_t *L, const scale_t *s, const double *v, size_t n,
                        int shift, xpos_fn xs, double floor_p)
{
    size_t drawn = 0, run = 0;
    long px = 0, py = 0; /* last emitted point, in tenths of a pixel */
    for (size_t p = 0; p < n; p++) {
        long idx = (long)p - shift;
        double val = idx >= 0 && (size_t)idx < n ? v[idx] : (double)NAN;
        if (!isfinite(val)) {
            if (run == 1)
                lw_buf_puts(b, "h0");
            run = 0;
            continue;
        }
        if (floor_p > 0 && val < floor_p)
            val = floor_p;
        long x = lround(px_clamp(xs(L, n, (double)p)) * 10);
        long y = lround(map_y(L, s, val) * 10);
        if (run == 0) {
            lw_buf_putc(b, 'M');
            tenths(b, x);
            lw_buf_putc(b, ' ');
            tenths(b, y);
        } else {
            /* relative pairs from the last *rounded* point: no drift */
            if (run == 1)
                lw_buf_putc(b, 'l');
            else if (x - px >= 0)
                lw_buf_putc(b, ' ');
            tenths(b, x - px);
            if (y - py >= 0)
                lw_buf_putc(b, ' ');
            tenths(b, y - py);
        }
        px = x;
        py = y;
        run++;
        drawn++;
    }
    if (run == 1)
        lw_buf_puts(b, "h0");
    return drawn;
}

static void no_data_note(lw_buf_t *b, const layout_t *L)
{
    text_open(b, L->x0 + L->pw / 2, L->y0 + L->ph / 2, "middle", FONT_PX, " fill=\"" C_MUTED "\"");
    lw_buf_puts(b, "No data</text>");
}

/*
 * Common exit: on error rewind to `mark` and explain.  Returns err (or the
 * buffer's sticky error) for the caller to return.
 */
static lw_err_t finish(lw_buf_t *b, size_t mark, lw_err_t err, char *errstr, size_t errstr_size)
{
    if (err == LW_OK)
        err = b->err;
    if (err == LW_OK)
        return LW_OK;
    lw_buf_rewind(b, mark);
    if (err == LW_ERR_TOO_LARGE)
        return lw_seterr(errstr, errstr_size, err,
                         "chart does not fit in the output buffer (bound %zu bytes)", b->max);
    if (err == LW_ERR_NOMEM)
        return lw_seterr(errstr, errstr_size, err, "out of memory while drawing a chart");
    return err;
}

/* ---- normalisation ------------------------------------------------------ */

bool lw_svg_normalize(const double *in, size_t n, lw_svg_norm_t norm, double *out)
{
    size_t k = 0;
    double sum = 0, first = NAN;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(in[i])) {
            if (k == 0)
                first = in[i];
            sum += in[i];
            k++;
        }
    }
    bool ok = k > 0 && !(norm == LW_SVG_NORM_INDEX100 && first == 0);
    if (!ok) {
        for (size_t i = 0; i < n; i++)
            out[i] = NAN;
        return false;
    }
    /* two-pass variance: accurate for series with a large mean */
    double mean = sum / (double)k, ss = 0;
    if (norm == LW_SVG_NORM_ZSCORE) {
        for (size_t i = 0; i < n; i++)
            if (isfinite(in[i]))
                ss += (in[i] - mean) * (in[i] - mean);
    }
    double sd = k > 1 ? sqrt(ss / (double)(k - 1)) : 0;
    for (size_t i = 0; i < n; i++) {
        double v = in[i], r;
        if (!isfinite(v)) {
            out[i] = NAN;
            continue;
        }
        switch (norm) {
        case LW_SVG_NORM_ZSCORE: r = sd > 0 ? (v - mean) / sd : 0; break;
        case LW_SVG_NORM_INDEX100: r = 100 * (v / first); break;
        default: r = v; break;
        }
        out[i] = isfinite(r) ? r : (double)NAN;
    }
    return true;
}

/* ---- line chart --------------------------------------------------------- */

static const char *norm_axis_name(lw_svg_norm_t norm)
{
    switch (norm) {
    case LW_SVG_NORM_ZSCORE: return "z-score";
    case LW_SVG_NORM_INDEX100: return "Index (first value = 100)";
    default: return "Value";
    }
}

lw_err_t lw_svg_line_chart(lw_buf_t *out, const lw_svg_line_opts_t *o, char *errstr,
                           size_t errstr_size)
{
    lw_err_t err = check_buf(out, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    if ((err = check_frame(&o->frame, errstr, errstr_size)) != LW_OK)
        return err;
    if (o->n > LW_SVG_MAX_POINTS)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "%zu points exceed the bound %d",
                         o->n, LW_SVG_MAX_POINTS);
    if (o->nseries == 0 || o->nseries > LW_SVG_MAX_SERIES || !o->series)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "a line chart needs 1..%d series, got %zu", LW_SVG_MAX_SERIES, o->nseries);
    for (size_t s = 0; s < o->nseries; s++) {
        if (o->n > 0 && !o->series[s].values)
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "series %zu has no values", s);
        if (o->series[s].shift < -LW_SVG_MAX_POINTS || o->series[s].shift > LW_SVG_MAX_POINTS)
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                             "series %zu: shift %d out of range", s, o->series[s].shift);
    }

    size_t mark = out->len;
    double *norm = NULL;
    if (o->n > 0) {
        norm = malloc(o->n * o->nseries * sizeof *norm);
        if (!norm)
            return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory (line chart)");
    }
    legend_item_t items[LW_SVG_MAX_SERIES];
    bool has_data[LW_SVG_MAX_SERIES];
    const char *color[LW_SVG_MAX_SERIES];
    const char *dash[LW_SVG_MAX_SERIES];
    double dmin = INFINITY, dmax = -INFINITY;
    bool same_norm = true;
    size_t ci = 0;
    for (size_t s = 0; s < o->nseries; s++) {
        const lw_svg_series_t *sr = &o->series[s];
        double *v = norm + s * o->n;
        has_data[s] = o->n > 0 && lw_svg_normalize(sr->values, o->n, sr->norm, v);
        same_norm = same_norm && sr->norm == o->series[0].norm;
        for (size_t p = 0; has_data[s] && p < o->n; p++) {
            long idx = (long)p - sr->shift;
            if (idx < 0 || (size_t)idx >= o->n || !isfinite(v[idx]))
                continue;
            dmin = fmin(dmin, v[idx]);
            dmax = fmax(dmax, v[idx]);
        }
        if (sr->emphasis) {
            color[s] = C_BLACK;
            dash[s] = NULL;
        } else {
            color[s] = series_colors[ci % NSERIES_COLORS];
            dash[s] = ci >= NSERIES_COLORS ? "2 2" : NULL;
            ci++;
        }
        if (sr->shift != 0)
            dash[s] = "7 4";
        legend_item_t *it = &items[s];
        const char *name = sr->name ? sr->name : "series";
        if (!has_data[s])
            snprintf(it->text, sizeof it->text, "%s (no data)", name);
        else if (sr->shift != 0)
            snprintf(it->text, sizeof it->text, "%s (shifted %+d period%s)", name, sr->shift,
                     abs(sr->shift) == 1 ? "" : "s");
        else
            snprintf(it->text, sizeof it->text, "%s", name);
        it->color = color[s];
        it->dash = dash[s];
        it->width = sr->emphasis ? 2.6 : 1.6;
        it->kind = SW_LINE;
        it->opacity = 1;
    }

    double w = o->frame.width > 0 ? o->frame.width : 960;
    double h = o->frame.height > 0 ? o->frame.height : 380;
    layout_t L;
    double leg_h = (double)legend_rows(items, o->nseries, w - 32) * LEGEND_ROW;
    double top = svg_open(out, "line", &o->frame, o->frame.subtitle, NULL, w, h);
    layout_axes(&L, w, h, top, leg_h, 0);

    scale_t sc;
    scale_linear(&sc, dmin, dmax, 5);
    char ytitle[300], xtitle[300];
    const char *ylab = o->frame.y_label;
    if (!ylab)
        ylab = same_norm ? norm_axis_name(o->series[0].norm) : "Normalised value";
    label_with_unit(ytitle, sizeof ytitle, ylab, o->frame.y_unit);
    label_with_unit(xtitle, sizeof xtitle, o->frame.x_label, o->frame.x_unit);

    plot_area(out, &L);
    axis_y(out, &L, &sc, ytitle);
    axis_x_periods(out, &L, o->x_labels, o->n, xtitle);
    if (sc.lo < 0 && sc.hi > 0 && !sc.log)
        ref_hline(out, &L, map_y(&L, &sc, 0), "#bbb", NULL, NULL);
    axis_lines(out, &L);

    bool any = false;
    /*
     * Emphasised series (the NSM) first, then the others, then shifted ones
     * last: a shifted input is drawn to be compared with what lies under it.
     */
    for (int pass = 0; pass < 3; pass++) {
        for (size_t s = 0; s < o->nseries; s++) {
            const lw_svg_series_t *sr = &o->series[s];
            int rank = sr->emphasis ? 0 : sr->shift == 0 ? 1 : 2;
            if (!has_data[s] || rank != pass)
                continue;
            size_t m = out->len;
            lw_buf_puts(out, "<path class=\"lw-series\" d=\"");
            size_t drawn = line_path(out, &L, &sc, norm + s * o->n, o->n, sr->shift, x_of_index, 0);
            if (drawn == 0) { /* shifted entirely out of view */
                if (out->err != LW_OK)
                    break;
                lw_buf_rewind(out, m);
                continue;
            }
            any = true;
            lw_buf_puts(out, "\" fill=\"none\" stroke-linejoin=\"round\" stroke-linecap=\"round\" "
                             "stroke=\"");
            lw_buf_puts(out, color[s]);
            lw_buf_putc(out, '"');
            attr(out, "stroke-width", sr->emphasis ? 2.6 : 1.6);
            if (dash[s]) {
                lw_buf_puts(out, " stroke-dasharray=\"");
                lw_buf_puts(out, dash[s]);
                lw_buf_putc(out, '"');
            }
            lw_buf_puts(out, "><title>");
            lw_buf_put_xml(out, items[s].text);
            lw_buf_puts(out, "</title></path>");
        }
    }
    if (!any)
        no_data_note(out, &L);
    legend_draw(out, items, o->nseries, 16, legend_top(&L), L.w - 32);
    svg_close(out);
    free(norm);
    return finish(out, mark, LW_OK, errstr, errstr_size);
}

/* ---- lag bar chart ------------------------------------------------------ */

lw_err_t lw_svg_bar_chart(lw_buf_t *out, const lw_svg_bar_opts_t *o, char *errstr,
                          size_t errstr_size)
{
    lw_err_t err =
        check_chart(out, &o->frame, o->n, o->values != NULL, "bar chart", errstr, errstr_size);
    if (err != LW_OK)
        return err;
    size_t mark = out->len;
    bool band = isfinite(o->band) && o->band > 0;
    double m = band ? o->band : 0;
    bool any = false;
    for (size_t i = 0; i < o->n; i++)
        if (isfinite(o->values[i])) {
            m = fmax(m, fabs(o->values[i]));
            any = true;
        }
    if (!(m > 0))
        m = 1;

    legend_item_t items[4];
    size_t ni = 0;
    memset(items, 0, sizeof items);
    items[ni] = (legend_item_t){.color = C_BLUE, .kind = SW_RECT};
    snprintf(items[ni++].text, sizeof items[0].text, band ? "outside the band" : "value");
    if (band) {
        items[ni] = (legend_item_t){.color = C_GREY, .kind = SW_RECT};
        snprintf(items[ni++].text, sizeof items[0].text, "inside the band");
        items[ni] = (legend_item_t){.color = C_SKY, .kind = SW_RECT, .opacity = 0.25};
        if (o->band_label)
            snprintf(items[ni++].text, sizeof items[0].text, "%s", o->band_label);
        else
            snprintf(items[ni++].text, sizeof items[0].text, "significance band \xC2\xB1%.3g",
                     o->band);
    }
    if (o->highlight) {
        items[ni] = (legend_item_t){.color = C_BLACK, .kind = SW_OUTLINE};
        if (o->highlight_label)
            snprintf(items[ni++].text, sizeof items[0].text, "%s", o->highlight_label);
        else
            snprintf(items[ni++].text, sizeof items[0].text, "detected lag %d", o->highlight_lag);
    }

    double w = o->frame.width > 0 ? o->frame.width : 720;
    double h = o->frame.height > 0 ? o->frame.height : 300;
    layout_t L;
    double leg_h = (double)legend_rows(items, ni, w - 32) * LEGEND_ROW;
    double top = svg_open(out, "bar", &o->frame, o->frame.subtitle, NULL, w, h);
    layout_axes(&L, w, h, top, leg_h, 0);

    scale_t sc;
    scale_linear(&sc, -m * 1.05, m * 1.05, 4);
    /* symmetric around zero: take the larger end for both */
    double end = fmax(-sc.lo, sc.hi);
    sc.lo = -end;
    sc.hi = end;
    char ytitle[300], xtitle[300];
    label_with_unit(ytitle, sizeof ytitle,
                    o->frame.y_label ? o->frame.y_label : "Cross-correlation", o->frame.y_unit);
    label_with_unit(xtitle, sizeof xtitle, o->frame.x_label ? o->frame.x_label : "Lag",
                    o->frame.x_unit);

    plot_area(out, &L);
    axis_y(out, &L, &sc, ytitle);
    if (band) {
        double yt = map_y(&L, &sc, o->band), yb = map_y(&L, &sc, -o->band);
        lw_buf_puts(out, "<rect class=\"lw-band\"");
        attr(out, "x", L.x0);
        attr(out, "y", yt);
        attr(out, "width", L.pw);
        attr(out, "height", yb - yt);
        lw_buf_puts(out, " fill=\"" C_SKY "\" fill-opacity=\"0.25\"><title>");
        lw_buf_put_xml(out, items[2].text);
        lw_buf_puts(out, "</title></rect>");
    }
    axis_x_lags(out, &L, o->lag_min, o->n, xtitle);
    double slot = L.pw / (double)(o->n ? o->n : 1);
    double bw = fmax(1, slot * 0.72);
    double y0 = map_y(&L, &sc, 0);
    lw_buf_puts(out, "<g class=\"lw-bars\" fill=\"" C_BLUE "\">");
    for (size_t i = 0; i < o->n; i++) {
        double v = o->values[i];
        if (!isfinite(v))
            continue;
        long lag = (long)o->lag_min + (long)i;
        double yv = map_y(&L, &sc, v);
        bool outside = !band || fabs(v) > o->band;
        bool hl = o->highlight && lag == o->highlight_lag;
        lw_buf_puts(out, "<rect");
        attr(out, "x", x_of_slot(&L, o->n, (double)i) - bw / 2);
        attr(out, "y", fmin(yv, y0));
        attr(out, "width", bw);
        attr(out, "height", fmax(fabs(y0 - yv), 0.5));
        if (!outside)
            lw_buf_puts(out, " fill=\"" C_GREY "\"");
        if (hl)
            lw_buf_puts(out, " stroke=\"#000\" stroke-width=\"2\"");
        lw_buf_printf(out, "><title>lag %ld: ", lag);
        char val[48];
        fmt_value(val, sizeof val, v, 3);
        lw_buf_puts(out, val);
        if (band)
            lw_buf_puts(out, outside ? " (outside the band)" : " (inside the band)");
        lw_buf_puts(out, "</title></rect>");
    }
    lw_buf_puts(out, "</g>");
    ref_hline(out, &L, y0, "#333", NULL, NULL);
    axis_lines(out, &L);
    if (!any)
        no_data_note(out, &L);
    legend_draw(out, items, ni, 16, legend_top(&L), L.w - 32);
    svg_close(out);
    return finish(out, mark, LW_OK, errstr, errstr_size);
}

/* ---- p-values by lag ---------------------------------------------------- */

static void pvalue_markers(lw_buf_t *b, const layout_t *L, const scale_t *s, const double *p,
                           size_t n, int lag_min, double floor_p, swatch_t kind, const char *color,
                           const char *name)
{
    lw_buf_puts(b, "<g class=\"lw-markers\" stroke=\"#fff\" stroke-width=\"0.8\">");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(p[i]))
            continue;
        double v = clampd(p[i], floor_p, 1);
        marker(b, kind, x_of_slot(L, n, (double)i), map_y(L, s, v), color);
        lw_buf_puts(b, "><title>");
        lw_buf_put_xml(b, name);
        lw_buf_printf(b, ", lag %ld: ", (long)lag_min + (long)i);
        if (p[i] < floor_p)
            lw_buf_printf(b, "p &lt; %g (drawn at %g)", floor_p, floor_p);
        else
            lw_buf_printf(b, "p = %.3g", p[i]);
        lw_buf_puts(b, kind == SW_LINE_CIRCLE ? "</title></circle>" : "</title></rect>");
    }
    lw_buf_puts(b, "</g>");
}

static void series_path(lw_buf_t *b, const layout_t *L, const scale_t *s, const double *v, size_t n,
                        xpos_fn xs, double floor_p, const char *color, double width,
                        const char *dash)
{
    size_t m = b->len;
    lw_buf_puts(b, "<path class=\"lw-series\" d=\"");
    if (line_path(b, L, s, v, n, 0, xs, floor_p) == 0) {
        if (b->err == LW_OK)
            lw_buf_rewind(b, m);
        return;
    }
    lw_buf_puts(b, "\" fill=\"none\" stroke-linejoin=\"round\" stroke-linecap=\"round\" stroke=\"");
    lw_buf_puts(b, color);
    lw_buf_putc(b, '"');
    attr(b, "stroke-width", width);
    if (dash) {
        lw_buf_puts(b, " stroke-dasharray=\"");
        lw_buf_puts(b, dash);
        lw_buf_putc(b, '"');
    }
    lw_buf_puts(b, "/>");
}

static double p_floor_of(double f)
{
    return isfinite(f) && f > 0 && f < 1 ? f : LW_SVG_P_FLOOR;
}

lw_err_t lw_svg_pvalue_chart(lw_buf_t *out, const lw_svg_pvalue_opts_t *o, char *errstr,
                             size_t errstr_size)
{
    lw_err_t err =
        check_chart(out, &o->frame, o->n, o->p_xy || o->p_yx, "p-value chart", errstr, errstr_size);
    if (err != LW_OK)
        return err;
    double alpha = isfinite(o->alpha) && o->alpha > 0 && o->alpha < 1 ? o->alpha : 0.05;
    double floor_p = p_floor_of(o->floor);
    size_t mark = out->len;

    double pmin = fmin(alpha, 0.01);
    bool clamped = false, any = false;
    const double *dirs[2] = {o->p_xy, o->p_yx};
    for (int d = 0; d < 2; d++)
        for (size_t i = 0; dirs[d] && i < o->n; i++) {
            double p = dirs[d][i];
            if (!isfinite(p))
                continue;
            any = true;
            if (p < floor_p)
                clamped = true;
            pmin = fmin(pmin, fmax(p, floor_p));
        }

    char sub[512];
    sub[0] = '\0';
    if (clamped)
        snprintf(sub, sizeof sub, "%s%sp-values below %g are drawn at %g",
                 o->frame.subtitle ? o->frame.subtitle : "", o->frame.subtitle ? " \xC2\xB7 " : "",
                 floor_p, floor_p);
    else if (o->frame.subtitle)
        snprintf(sub, sizeof sub, "%s", o->frame.subtitle);

    legend_item_t items[3];
    size_t ni = 0;
    memset(items, 0, sizeof items);
    if (o->p_xy) {
        items[ni] = (legend_item_t){.color = C_BLUE, .kind = SW_LINE_CIRCLE, .width = 2};
        snprintf(items[ni++].text, sizeof items[0].text, "%s",
                 o->name_xy ? o->name_xy : "x \xE2\x86\x92 y");
    }
    if (o->p_yx) {
        items[ni] = (legend_item_t){
            .color = C_VERMILLION, .kind = SW_LINE_SQUARE, .width = 2, .dash = "6 3"};
        snprintf(items[ni++].text, sizeof items[0].text, "%s",
                 o->name_yx ? o->name_yx : "y \xE2\x86\x92 x");
    }
    items[ni] = (legend_item_t){.color = C_GREEN, .kind = SW_RECT, .opacity = 0.12};
    snprintf(items[ni++].text, sizeof items[0].text, "p < \xCE\xB1 (significant)");
    char alab[64];
    snprintf(alab, sizeof alab, "\xCE\xB1 = %g", alpha);

    double w = o->frame.width > 0 ? o->frame.width : 720;
    double h = o->frame.height > 0 ? o->frame.height : 300;
    layout_t L;
    double leg_h = (double)legend_rows(items, ni, w - 32) * LEGEND_ROW;
    double top = svg_open(out, "pvalue", &o->frame, sub, NULL, w, h);
    layout_axes(&L, w, h, top, leg_h, text_px(alab, SMALL_PX));

    scale_t sc;
    scale_log(&sc, pmin, floor_p, 1);
    char ytitle[300], xtitle[300];
    label_with_unit(ytitle, sizeof ytitle, o->frame.y_label ? o->frame.y_label : "p-value (log)",
                    o->frame.y_unit);
    label_with_unit(xtitle, sizeof xtitle, o->frame.x_label ? o->frame.x_label : "Lag",
                    o->frame.x_unit);

    plot_area(out, &L);
    double ya = map_y(&L, &sc, alpha);
    lw_buf_puts(out, "<rect class=\"lw-significant\"");
    attr(out, "x", L.x0);
    attr(out, "y", ya);
    attr(out, "width", L.pw);
    attr(out, "height", L.y0 + L.ph - ya);
    lw_buf_puts(out, " fill=\"" C_GREEN "\" fill-opacity=\"0.12\"/>");
    axis_y(out, &L, &sc, ytitle);
    axis_x_lags(out, &L, o->lag_min, o->n, xtitle);
    axis_lines(out, &L);
    if (o->p_yx) {
        series_path(out, &L, &sc, o->p_yx, o->n, x_of_slot, floor_p, C_VERMILLION, 2, "6 3");
        pvalue_markers(out, &L, &sc, o->p_yx, o->n, o->lag_min, floor_p, SW_LINE_SQUARE,
                       C_VERMILLION, items[o->p_xy ? 1 : 0].text);
    }
    if (o->p_xy) {
        series_path(out, &L, &sc, o->p_xy, o->n, x_of_slot, floor_p, C_BLUE, 2, NULL);
        pvalue_markers(out, &L, &sc, o->p_xy, o->n, o->lag_min, floor_p, SW_LINE_CIRCLE, C_BLUE,
                       items[0].text);
    }
    lw_buf_puts(out, "<g class=\"lw-alpha\">");
    ref_hline(out, &L, ya, "#333", "6 3", alab);
    lw_buf_puts(out, "</g>");
    if (!any)
        no_data_note(out, &L);
    legend_draw(out, items, ni, 16, legend_top(&L), L.w - 32);
    svg_close(out);
    return finish(out, mark, LW_OK, errstr, errstr_size);
}

/* ---- history over rolling windows --------------------------------------- */

lw_err_t lw_svg_history_chart(lw_buf_t *out, const lw_svg_history_opts_t *o, char *errstr,
                              size_t errstr_size)
{
    lw_err_t err =
        check_chart(out, &o->frame, o->n, o->values != NULL, "history chart", errstr, errstr_size);
    if (err != LW_OK)
        return err;
    if (o->has_break && o->break_index >= o->n)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "break index %zu is outside the %zu windows", o->break_index, o->n);
    size_t mark = out->len;
    double floor_p = p_floor_of(o->floor);
    bool thr = isfinite(o->threshold) && (!o->log_y || o->threshold > 0);
    double dmin = INFINITY, dmax = -INFINITY;
    bool clamped = false;
    for (size_t i = 0; i < o->n; i++) {
        double v = o->values[i];
        if (!isfinite(v))
            continue;
        if (o->log_y && v < floor_p) {
            v = floor_p;
            clamped = true;
        }
        dmin = fmin(dmin, v);
        dmax = fmax(dmax, v);
    }
    bool any = dmin <= dmax;
    if (thr) {
        dmin = fmin(dmin, o->threshold);
        dmax = fmax(dmax, o->threshold);
    }

    char sub[512];
    sub[0] = '\0';
    if (clamped)
        snprintf(sub, sizeof sub, "%s%svalues below %g are drawn at %g",
                 o->frame.subtitle ? o->frame.subtitle : "", o->frame.subtitle ? " \xC2\xB7 " : "",
                 floor_p, floor_p);
    else if (o->frame.subtitle)
        snprintf(sub, sizeof sub, "%s", o->frame.subtitle);

    legend_item_t items[3];
    size_t ni = 0;
    memset(items, 0, sizeof items);
    items[ni] = (legend_item_t){.color = C_BLUE, .kind = SW_LINE, .width = 2};
    snprintf(items[ni++].text, sizeof items[0].text, "%s",
             o->series_name ? o->series_name : "value");
    char tlab[128];
    tlab[0] = '\0';
    if (thr) {
        if (o->threshold_label)
            snprintf(tlab, sizeof tlab, "%s", o->threshold_label);
        else
            snprintf(tlab, sizeof tlab, "threshold %g", o->threshold);
        items[ni] = (legend_item_t){.color = "#333", .kind = SW_LINE, .width = 1.5, .dash = "6 3"};
        snprintf(items[ni++].text, sizeof items[0].text, "%s", tlab);
    }
    if (o->has_break) {
        items[ni] =
            (legend_item_t){.color = C_VERMILLION, .kind = SW_LINE, .width = 2, .dash = "4 3"};
        snprintf(items[ni++].text, sizeof items[0].text, "%s",
                 o->break_label ? o->break_label : "break");
    }

    double w = o->frame.width > 0 ? o->frame.width : 720;
    double h = o->frame.height > 0 ? o->frame.height : 300;
    layout_t L;
    double leg_h = (double)legend_rows(items, ni, w - 32) * LEGEND_ROW;
    double top = svg_open(out, "history", &o->frame, sub, NULL, w, h);
    layout_axes(&L, w, h, top, leg_h, text_px(tlab, SMALL_PX));
    if (o->has_break) { /* room for the break's label above the plot */
        L.y0 += 8;
        L.ph -= 8;
    }

    scale_t sc;
    if (o->log_y)
        scale_log(&sc, any || thr ? dmin : floor_p, floor_p, fmax(1, any || thr ? dmax : 1));
    else
        scale_linear(&sc, dmin, dmax, 5);
    char ytitle[300], xtitle[300];
    label_with_unit(ytitle, sizeof ytitle,
                    o->frame.y_label ? o->frame.y_label : (o->log_y ? "p-value (log)" : "Value"),
                    o->frame.y_unit);
    label_with_unit(xtitle, sizeof xtitle, o->frame.x_label ? o->frame.x_label : "Window end",
                    o->frame.x_unit);

    plot_area(out, &L);
    axis_y(out, &L, &sc, ytitle);
    axis_x_periods(out, &L, o->x_labels, o->n, xtitle);
    axis_lines(out, &L);
    if (thr)
        ref_hline(out, &L, map_y(&L, &sc, o->threshold), "#333", "6 3", tlab);
    series_path(out, &L, &sc, o->values, o->n, x_of_index, o->log_y ? floor_p : 0, C_BLUE, 2, NULL);
    if (o->has_break) {
        double x = x_of_index(&L, o->n, (double)o->break_index);
        lw_buf_puts(out, "<g class=\"lw-break\"><path d=\"M");
        num(out, x);
        lw_buf_putc(out, ' ');
        num(out, L.y0);
        lw_buf_putc(out, 'v');
        num(out, L.ph);
        lw_buf_puts(out, "\" stroke=\"" C_VERMILLION "\" stroke-width=\"2\" "
                         "stroke-dasharray=\"4 3\"/>");
        char lab[300];
        const char *when = o->x_labels ? o->x_labels[o->break_index] : NULL;
        snprintf(lab, sizeof lab, "%s%s%s", o->break_label ? o->break_label : "break",
                 when ? ": " : "", when ? when : "");
        /* above the plot, centred on the marker but kept inside the chart */
        double lw = fmin(text_px(lab, SMALL_PX), L.w - 32);
        text_fit(out, clampd(x, 16 + lw / 2, L.w - 16 - lw / 2), L.y0 - 5, "middle", SMALL_PX,
                 " font-weight=\"bold\" fill=\"" C_VERMILLION "\"", lab, L.w - 32);
        lw_buf_puts(out, "</g>");
    }
    if (!any)
        no_data_note(out, &L);
    legend_draw(out, items, ni, 16, legend_top(&L), L.w - 32);
    svg_close(out);
    return finish(out, mark, LW_OK, errstr, errstr_size);
}

/* ---- value against a threshold ----------------------------------------- */

/* "6.2%" or "6.2 ms": the unit follows without a space only for "%". */
static void fmt_with_unit(char *dst, size_t size, double v, int decimals, const char *unit)
{
    char n[64];
    fmt_value(n, sizeof n, v, decimals);
    if (!unit || !*unit)
        snprintf(dst, size, "%s", n);
    else
        snprintf(dst, size, "%s%s%s", n, strcmp(unit, "%") == 0 ? "" : " ", unit);
}

lw_err_t lw_svg_gauge_bar(lw_buf_t *out, const lw_svg_gauge_opts_t *o, char *errstr,
                          size_t errstr_size)
{
    lw_err_t err = check_buf(out, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    if ((err = check_frame(&o->frame, errstr, errstr_size)) != LW_OK)
        return err;
    if (!isfinite(o->threshold) || o->threshold < 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "gauge: the threshold must be a finite number >= 0");
    size_t mark = out->len;
    int dec = o->decimals < 0 ? 0 : o->decimals > 4 ? 4 : o->decimals;
    bool has = isfinite(o->value);
    double v = has ? fmax(o->value, 0) : 0;
    double max = isfinite(o->max) && o->max > 0 ? o->max : 1.25 * fmax(v, o->threshold);
    if (!(max > 0))
        max = 1;
    bool pass = has && (o->lower_is_better ? o->value <= o->threshold : o->value >= o->threshold);
    const char *name = o->frame.x_label ? o->frame.x_label : "value";
    const char *unit = o->frame.x_unit;

    char vtxt[80], ttxt[80], mtxt[80], ztxt[80], verdict[400];
    fmt_with_unit(vtxt, sizeof vtxt, o->value, dec, unit);
    fmt_with_unit(ttxt, sizeof ttxt, o->threshold, dec, unit);
    fmt_with_unit(mtxt, sizeof mtxt, max, dec, unit);
    fmt_with_unit(ztxt, sizeof ztxt, 0, 0, unit);
    if (!has)
        snprintf(verdict, sizeof verdict, "no estimate of %s (threshold %s)", name, ttxt);
    else if (o->lower_is_better)
        snprintf(verdict, sizeof verdict, "%s %s: %s %s %s %s threshold %s",
                 pass ? "\xE2\x9C\x93" : "\xE2\x9C\x97", pass ? "passes" : "fails", name, vtxt,
                 pass ? "\xE2\x89\xA4" : ">", "the", ttxt);
    else
        snprintf(verdict, sizeof verdict, "%s %s: %s %s %s %s threshold %s",
                 pass ? "\xE2\x9C\x93" : "\xE2\x9C\x97", pass ? "passes" : "fails", name, vtxt,
                 pass ? "\xE2\x89\xA5" : "<", "the", ttxt);

    double w = o->frame.width > 0 ? o->frame.width : 560;
    double top_est = o->frame.subtitle && *o->frame.subtitle ? 58 : 40;
    double h = o->frame.height > 0 ? o->frame.height : top_est + 86;
    double top = svg_open(out, "gauge", &o->frame, o->frame.subtitle, verdict, w, h);
    const char *color = !has ? C_GREY : pass ? C_GREEN : C_VERMILLION;
    double x0 = 16, x1 = w - 16, ty = top + 20, th = 22;
    double xv = x0 + (x1 - x0) * fmin(v / max, 1);
    double xt = x0 + (x1 - x0) * fmin(o->threshold / max, 1);

    lw_buf_puts(out, "<rect class=\"lw-plot\"");
    attr(out, "x", x0);
    attr(out, "y", ty);
    attr(out, "width", x1 - x0);
    attr(out, "height", th);
    lw_buf_puts(out, " fill=\"#eef0f2\" stroke=\"#c9ced3\"/>");
    if (has) {
        lw_buf_puts(out, "<rect class=\"lw-value\"");
        attr(out, "x", x0);
        attr(out, "y", ty);
        attr(out, "width", xv - x0);
        attr(out, "height", th);
        lw_buf_puts(out, " fill=\"");
        lw_buf_puts(out, color);
        lw_buf_puts(out, "\"><title>");
        lw_buf_put_xml(out, name);
        lw_buf_putc(out, ' ');
        lw_buf_put_xml(out, vtxt);
        lw_buf_puts(out, "</title></rect>");
        if (o->value > max) { /* off the scale: an arrow at the end */
            lw_buf_puts(out, "<path d=\"M");
            num(out, x1 + 10);
            lw_buf_putc(out, ' ');
            num(out, ty + th / 2);
            lw_buf_puts(out, "l-9-7v14z\" fill=\"");
            lw_buf_puts(out, color);
            lw_buf_puts(out, "\"/>");
        }
        /* value label inside the bar's end when it fits, else just after it */
        double tw = text_px(vtxt, FONT_PX) + 10;
        bool inside = xv - x0 > tw;
        text_open(out, inside ? xv - 5 : xv + 5, ty + th / 2 + 4, inside ? "end" : "start", FONT_PX,
                  inside ? " font-weight=\"bold\" fill=\"#fff\"" : " font-weight=\"bold\"" HALO);
        lw_buf_put_xml(out, vtxt);
        lw_buf_puts(out, "</text>");
    }
    lw_buf_puts(out, "<g class=\"lw-threshold\"><path d=\"M");
    num(out, xt);
    lw_buf_putc(out, ' ');
    num(out, ty - 5);
    lw_buf_putc(out, 'v');
    num(out, th + 10);
    lw_buf_puts(out, "\" stroke=\"#000\" stroke-width=\"2\"/>");
    char tl[120];
    snprintf(tl, sizeof tl, "threshold %s", ttxt);
    double tlw = text_px(tl, SMALL_PX);
    text_fit(out, clampd(xt, x0 + tlw / 2, x1 - tlw / 2), ty - 8, "middle", SMALL_PX, NULL, tl,
             w - 32);
    lw_buf_puts(out, "</g><g font-size=\"11\" fill=\"" C_MUTED "\">");
    text_open(out, x0, ty + th + 14, NULL, FONT_PX, NULL);
    lw_buf_put_xml(out, ztxt);
    lw_buf_puts(out, "</text>");
    text_open(out, x1, ty + th + 14, "end", FONT_PX, NULL);
    lw_buf_put_xml(out, mtxt);
    lw_buf_puts(out, "</text></g>");
    text_fit(out, x0, ty + th + 34, NULL, 13, " font-weight=\"bold\" class=\"lw-verdict\"", verdict,
             (w - 32) / BOLD_WIDER);
    svg_close(out);
    return finish(out, mark, LW_OK, errstr, errstr_size);
}

/* ---- metric tree -------------------------------------------------------- */

static const struct {
    const char *label, *slug, *color, *dash;
    double width;
} verdicts[LW_SVG_VERDICT_COUNT] = {
    [LW_SVG_VERDICT_LEADS] = {"leads", "leads", C_GREEN, NULL, 3},
    [LW_SVG_VERDICT_NO_LONGER_LEADS] = {"no longer leads", "no-longer-leads", C_ORANGE, "9 4", 2.5},
    [LW_SVG_VERDICT_REVERSE] = {"reverse", "reverse", C_VERMILLION, "12 3 3 3", 2.5},
    [LW_SVG_VERDICT_FEEDBACK] = {"feedback", "feedback", C_PURPLE, "3 3", 2.5},
    [LW_SVG_VERDICT_INCONCLUSIVE] = {"inconclusive", "inconclusive", "#6f7780", "5 5", 1.8},
    [LW_SVG_VERDICT_INSUFFICIENT] = {"insufficient data", "insufficient-data", "#a9b0b7", "1 4",
                                     1.8},
};

const char *lw_svg_verdict_label(lw_svg_verdict_t v)
{
    return (unsigned)v < LW_SVG_VERDICT_COUNT ? verdicts[v].label : "unknown";
}

const char *lw_svg_verdict_color(lw_svg_verdict_t v)
{
    return (unsigned)v < LW_SVG_VERDICT_COUNT ? verdicts[v].color : "#000000";
}

const char *lw_svg_verdict_dash(lw_svg_verdict_t v)
{
    return (unsigned)v < LW_SVG_VERDICT_COUNT ? verdicts[v].dash : NULL;
}

/* Filled triangle with its tip at (x, y) pointing right (dir 1) or left (-1). */
static void arrowhead(lw_buf_t *b, double x, double y, int dir, const char *color)
{
    lw_buf_puts(b, "<path d=\"M");
    num(b, x);
    lw_buf_putc(b, ' ');
    num(b, y);
    lw_buf_puts(b, dir > 0 ? "l-10-5v10z" : "l10-5v10z");
    lw_buf_puts(b, "\" fill=\"");
    lw_buf_puts(b, color);
    lw_buf_puts(b, "\"/>");
}

/*
 * One edge group: tooltip, stroked path from (sx,sy) to (ex,ey) running
 * horizontally to hx first (hx == ex: straight line), and arrowheads by
 * verdict (reverse points back at the source, feedback both ways).
 */
static void tree_edge(lw_buf_t *b, lw_svg_verdict_t v, const char *from, const char *to,
                      const char *label, double sx, double sy, double hx, double ex, double ey)
{
    bool back = v == LW_SVG_VERDICT_REVERSE || v == LW_SVG_VERDICT_FEEDBACK;
    bool fwd = v != LW_SVG_VERDICT_REVERSE;
    lw_buf_puts(b, "<g class=\"lw-edge lw-verdict-");
    lw_buf_puts(b, verdicts[v].slug);
    lw_buf_puts(b, "\"><title>");
    lw_buf_put_xml(b, from);
    lw_buf_puts(b, " \xE2\x86\x92 ");
    lw_buf_put_xml(b, to);
    lw_buf_puts(b, ": ");
    lw_buf_put_xml(b, label);
    lw_buf_puts(b, "</title><path d=\"M");
    num(b, back ? sx + 8 : sx);
    lw_buf_putc(b, ' ');
    num(b, sy);
    double end = fwd ? ex - 8 : ex;
    if (hx < end - 1) {
        double cx = hx + (end - hx) / 2;
        lw_buf_putc(b, 'H');
        num(b, hx);
        lw_buf_putc(b, 'C');
        num(b, cx);
        lw_buf_putc(b, ' ');
        num(b, sy);
        lw_buf_putc(b, ' ');
        num(b, cx);
        lw_buf_putc(b, ' ');
        num(b, ey);
        lw_buf_putc(b, ' ');
    } else {
        lw_buf_putc(b, 'L');
    }
    num(b, end);
    lw_buf_putc(b, ' ');
    num(b, ey);
    lw_buf_puts(b, "\" fill=\"none\" stroke-linecap=\"butt\" stroke=\"");
    lw_buf_puts(b, verdicts[v].color);
    lw_buf_putc(b, '"');
    attr(b, "stroke-width", verdicts[v].width);
    if (verdicts[v].dash) {
        lw_buf_puts(b, " stroke-dasharray=\"");
        lw_buf_puts(b, verdicts[v].dash);
        lw_buf_putc(b, '"');
    }
    lw_buf_puts(b, "/>");
    if (fwd)
        arrowhead(b, ex, ey, 1, verdicts[v].color);
    if (back)
        arrowhead(b, sx, sy, -1, verdicts[v].color);
    lw_buf_puts(b, "</g>");
}

/*
 * A labelled box: optional caption (small, grey) above the name wrapped to
 * at most `maxl` lines (the last shortened with "…"); tooltip = full name.
 */
static void tree_box(lw_buf_t *b, const char *cls, double x, double y, double bw, double bh,
                     const char *caption, const char *name, size_t maxl, const char *fill,
                     const char *stroke)
{
    lw_buf_puts(b, "<g class=\"lw-node ");
    lw_buf_puts(b, cls);
    lw_buf_puts(b, "\"><title>");
    lw_buf_put_xml(b, name);
    lw_buf_puts(b, "</title><rect");
    attr(b, "x", x);
    attr(b, "y", y);
    attr(b, "width", bw);
    attr(b, "height", bh);
    lw_buf_puts(b, " rx=\"6\" fill=\"");
    lw_buf_puts(b, fill);
    lw_buf_puts(b, "\" stroke=\"");
    lw_buf_puts(b, stroke);
    lw_buf_puts(b, "\" stroke-width=\"1.5\"/>");
    double fs = caption ? 13 : FONT_PX, lh = fs + 3;
    double room = caption ? (bw - 14) / BOLD_WIDER : bw - 14; /* the name is bold under a caption */
    size_t st[WRAP_MAX_LINES], ln[WRAP_MAX_LINES];
    size_t nl = wrap_lines(name, room, fs, maxl < WRAP_MAX_LINES ? maxl : WRAP_MAX_LINES, st, ln);
    double block = (caption ? 14 : 0) + (double)nl * lh;
    double ty = y + bh / 2 - block / 2; /* top of the text block */
    if (caption) {
        text_fit(b, x + bw / 2, ty + 9, "middle", 10, " fill=\"" C_MUTED "\"", caption, bw - 12);
        ty += 14;
    }
    for (size_t k = 0; k < nl; k++) {
        text_open(b, x + bw / 2, ty + (double)k * lh + fs - 2, "middle", fs,
                  caption ? " font-weight=\"bold\"" : NULL);
        put_text_fit_n(b, name + st[k], ln[k], room, fs);
        lw_buf_puts(b, "</text>");
    }
    lw_buf_puts(b, "</g>");
}

lw_err_t lw_svg_tree_diagram(lw_buf_t *out, const lw_svg_tree_opts_t *o, char *errstr,
                             size_t errstr_size)
{
    lw_err_t err = check_buf(out, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    if ((err = check_frame(&o->frame, errstr, errstr_size)) != LW_OK)
        return err;
    if (o->ninputs > LW_SVG_MAX_TREE_INPUTS || (o->ninputs > 0 && !o->inputs))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "tree: %zu inputs (bound %d, inputs required)", o->ninputs,
                         LW_SVG_MAX_TREE_INPUTS);
    for (size_t i = 0; i < o->ninputs; i++)
        if ((unsigned)o->inputs[i].verdict >= LW_SVG_VERDICT_COUNT)
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                             "tree: input %zu has an unknown verdict %d", i,
                             (int)o->inputs[i].verdict);
    bool has_kpi = o->kpi_name != NULL;
    if (has_kpi && (unsigned)o->kpi_verdict >= LW_SVG_VERDICT_COUNT)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "tree: unknown KPI verdict %d",
                         (int)o->kpi_verdict);
    size_t mark = out->len;
    const char *nsm = o->nsm_name ? o->nsm_name : "North Star Metric";

    legend_item_t items[LW_SVG_VERDICT_COUNT];
    memset(items, 0, sizeof items);
    for (int v = 0; v < LW_SVG_VERDICT_COUNT; v++) {
        items[v] = (legend_item_t){.color = verdicts[v].color,
                                   .dash = verdicts[v].dash,
                                   .width = verdicts[v].width,
                                   .kind = SW_LINE};
        snprintf(items[v].text, sizeof items[v].text, "%s%s", verdicts[v].label,
                 v == LW_SVG_VERDICT_REVERSE    ? " (arrow points back)"
                 : v == LW_SVG_VERDICT_FEEDBACK ? " (both ways)"
                                                : "");
    }

    double w = o->frame.width > 0 ? o->frame.width : 960;
    const double margin = 16, pitch = 48, box_h = 34;
    double widest = 0; /* inputs' boxes are as wide as the longest name needs */
    for (size_t i = 0; i < o->ninputs; i++)
        widest = fmax(widest, text_px(o->inputs[i].name, FONT_PX));
    double in_w = clampd(widest + 24, 110, w * 0.22);
    double nsm_w = clampd(w * 0.18, 110, 200);
    double kpi_w = has_kpi ? clampd(w * 0.14, 90, 180) : 0;
    double kpi_gap = has_kpi ? clampd(w * 0.14, 90, 160) : 0;
    double nsm_x = w - margin - kpi_w - kpi_gap - nsm_w;
    double in_right = margin + in_w;
    double region = nsm_x - in_right;
    double hx = in_right + region * 0.75;
    size_t rows = o->ninputs ? o->ninputs : 1;
    double top = o->frame.subtitle && *o->frame.subtitle ? 58 : 40;
    double col_top = top + 16;
    double col_h = (double)rows * pitch - (pitch - box_h);
    /* the NSM and KPI boxes are tall enough for a caption and 3 wrapped lines */
    size_t st[WRAP_MAX_LINES], ln[WRAP_MAX_LINES];
    double nsm_text =
        14 + 16 * (double)wrap_lines(nsm, (nsm_w - 14) / BOLD_WIDER, 13, 3, st, ln) + 16;
    double kpi_h =
        has_kpi
            ? 14 + 16 * (double)wrap_lines(o->kpi_name, (kpi_w - 14) / BOLD_WIDER, 13, 3, st, ln) +
                  16
            : 0;
    kpi_h = fmax(kpi_h, 60);
    double nsm_h = fmax(fmax(64, col_h * 0.55), nsm_text);
    /* everything is centred on the middle of the tallest column */
    double ext = fmax(col_h, fmax(nsm_h, kpi_h));
    double ny = col_top + ext / 2;
    double in_top = ny - col_h / 2;
    double nsm_y = ny - nsm_h / 2;
    double leg_w = w - 2 * margin;
    double leg_y = col_top + ext + 34;
    double h = leg_y + (double)legend_rows(items, LW_SVG_VERDICT_COUNT, leg_w) * LEGEND_ROW;
    if (o->frame.height > h)
        h = o->frame.height;

    double got_top = svg_open(out, "tree", &o->frame, o->frame.subtitle, NULL, w, h);
    assert(got_top == top);
    (void)got_top;
    lw_buf_puts(out, "<rect class=\"lw-plot\"");
    attr(out, "x", margin);
    attr(out, "y", col_top);
    attr(out, "width", w - 2 * margin);
    attr(out, "height", ext);
    lw_buf_puts(out, " fill=\"none\"/>");

    /* edges under the boxes, then their labels, then the boxes */
    char label[400];
    for (size_t i = 0; i < o->ninputs; i++) {
        const lw_svg_tree_input_t *in = &o->inputs[i];
        double cy = in_top + (double)i * pitch + box_h / 2;
        double py = nsm_y + 12 + ((double)i + 0.5) * (nsm_h - 24) / (double)o->ninputs;
        snprintf(label, sizeof label, "%s%s%s", verdicts[in->verdict].label,
                 in->edge_label ? " \xC2\xB7 " : "", in->edge_label ? in->edge_label : "");
        tree_edge(out, in->verdict, in->name ? in->name : "input", nsm, label, in_right, cy, hx,
                  nsm_x, py);
    }
    if (has_kpi) {
        snprintf(label, sizeof label, "%s%s%s", verdicts[o->kpi_verdict].label,
                 o->kpi_edge_label ? " \xC2\xB7 " : "", o->kpi_edge_label ? o->kpi_edge_label : "");
        tree_edge(out, o->kpi_verdict, nsm, o->kpi_name, label, nsm_x + nsm_w, ny, nsm_x + nsm_w,
                  w - margin - kpi_w, ny);
    }
    lw_buf_puts(out, "<g class=\"lw-edge-labels\" font-size=\"11\">");
    for (size_t i = 0; i < o->ninputs; i++) {
        const lw_svg_tree_input_t *in = &o->inputs[i];
        double cy = in_top + (double)i * pitch + box_h / 2;
        double py = nsm_y + 12 + ((double)i + 0.5) * (nsm_h - 24) / (double)o->ninputs;
        snprintf(label, sizeof label, "%s%s%s", verdicts[in->verdict].label,
                 in->edge_label ? " \xC2\xB7 " : "", in->edge_label ? in->edge_label : "");
        bool above = py >= cy - 0.5; /* the curve bends down: the label goes above */
        text_fit(out, in_right + 14, above ? cy - 7 : cy + 16, NULL, SMALL_PX, HALO, label,
                 hx - in_right - 16);
    }
    if (has_kpi) {
        double cx = nsm_x + nsm_w + kpi_gap / 2;
        text_fit(out, cx, ny - 22, "middle", SMALL_PX, " font-weight=\"bold\"" HALO,
                 verdicts[o->kpi_verdict].label, (kpi_gap - 6) / BOLD_WIDER);
        if (o->kpi_edge_label)
            text_fit(out, cx, ny - 8, "middle", SMALL_PX, HALO, o->kpi_edge_label, kpi_gap - 6);
    }
    lw_buf_puts(out, "</g>");
    for (size_t i = 0; i < o->ninputs; i++)
        tree_box(out, "lw-input", margin, in_top + (double)i * pitch, in_w, box_h, NULL,
                 o->inputs[i].name ? o->inputs[i].name : "input", 1, "#f3f5f7", "#6b7580");
    if (o->ninputs == 0)
        text_fit(out, margin, ny + 4, NULL, FONT_PX, " fill=\"" C_MUTED "\"",
                 "No inputs configured", in_w);
    tree_box(out, "lw-nsm", nsm_x, nsm_y, nsm_w, nsm_h, "North Star Metric", nsm, 3, "#e6f0f8",
             C_BLUE);
    if (has_kpi)
        tree_box(out, "lw-kpi", w - margin - kpi_w, ny - kpi_h / 2, kpi_w, kpi_h, "KPI",
                 o->kpi_name, 3, "#f3f5f7", "#333");
    legend_draw(out, items, LW_SVG_VERDICT_COUNT, margin, leg_y, leg_w);
    svg_close(out);
    return finish(out, mark, LW_OK, errstr, errstr_size);
}
