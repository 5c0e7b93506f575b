/*
 * svg_canvas.c - the drawing surface the charts of svg.c are made of
 * (svg_canvas.h): frame, text fitting, legend, scales, axes, line paths.
 *
 * Layout.  Every chart (svg.c) is one <svg> with a viewBox of width x height:
 *
 * The legend's height is computed first (from estimated text widths: an
 * average advance of 0.55 em per code point, measured on DejaVu Sans, the
 * widest common default sans-serif, and 10% more for bold) and the plot
 * area takes what is left, so the legend never overlaps data.  Text that
 * would not fit is shortened with "…"; the full string stays in a tooltip.
 * The text defaults (font-family="sans-serif", size, colour) sit on a <g>
 * inside the <svg>, since HTML checkers such as tidy flag them on <svg>.
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
#include "leadwatch/report/svg_canvas.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const lw_svg_series_colors[LW_SVG_NSERIES_COLORS] = {
    LW_SVG_C_BLUE,       LW_SVG_C_ORANGE, LW_SVG_C_GREEN,
    LW_SVG_C_VERMILLION, LW_SVG_C_PURPLE, LW_SVG_C_SKY};

#define TITLE_PX 15.0
#define CHAR_EM 0.55 /* average glyph advance of a sans-serif face, in em */

#define C_TEXT "#222"
#define C_GRID "#e4e4e4"
#define C_AXIS "#777"

/* ---- small helpers ------------------------------------------------------ */

double lw_svg_clampd(double v, double lo, double hi)
{
    if (!(v >= lo)) /* also catches NaN */
        return lo;
    return v > hi ? hi : v;
}

/* Pixel coordinates are kept in a sane range whatever the data did. */
static double px_clamp(double v)
{
    return lw_svg_clampd(v, -1e5, 1e5);
}

void lw_svg_put_num(lw_buf_t *b, double v)
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

void lw_svg_attr(lw_buf_t *b, const char *name, double v)
{
    lw_buf_putc(b, ' ');
    lw_buf_puts(b, name);
    lw_buf_puts(b, "=\"");
    lw_svg_put_num(b, v);
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

double lw_svg_text_px(const char *s, double font_px)
{
    return s ? (double)utf8_count(s, strlen(s)) * font_px * CHAR_EM : 0.0;
}

/* Append s[0..len) escaped, shortened with "…" at a code point boundary to max_px. */
void lw_svg_put_text_fit_n(lw_buf_t *b, const char *s, size_t len, double max_px, double font_px)
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
        lw_svg_put_text_fit_n(b, s, strlen(s), max_px, font_px);
}

/*
 * Greedy word wrap of s into at most maxl lines of about max_px: line k is
 * s[start[k] .. start[k] + len[k]).  A word wider than a line gets a line
 * of its own; whatever is left for the last line is shortened by the
 * caller (lw_svg_put_text_fit_n).  Returns the number of lines.
 */
size_t lw_svg_wrap_lines(const char *s, double max_px, double font_px, size_t maxl, size_t *start,
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
void lw_svg_text_open(lw_buf_t *b, double x, double y, const char *anchor, double font_px,
                      const char *extra)
{
    lw_buf_puts(b, "<text");
    lw_svg_attr(b, "x", x);
    lw_svg_attr(b, "y", y);
    if (anchor) {
        lw_buf_puts(b, " text-anchor=\"");
        lw_buf_puts(b, anchor);
        lw_buf_putc(b, '"');
    }
    if (font_px != LW_SVG_FONT_PX)
        lw_svg_attr(b, "font-size", font_px);
    if (extra)
        lw_buf_puts(b, extra);
    lw_buf_putc(b, '>');
}

void lw_svg_text_fit(lw_buf_t *b, double x, double y, const char *anchor, double font_px,
                     const char *extra, const char *s, double max_px)
{
    lw_svg_text_open(b, x, y, anchor, font_px, extra);
    put_text_fit(b, s, max_px, font_px);
    lw_buf_puts(b, "</text>");
}

/* "Label (unit)" into dst; either part may be NULL. */
void lw_svg_label_with_unit(char *dst, size_t size, const char *label, const char *unit)
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
void lw_svg_fmt_value(char *dst, size_t size, double v, int decimals)
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

lw_err_t lw_svg_check_frame(const lw_svg_frame_t *f, char *errstr, size_t errstr_size)
{
    if (!(f->width == 0 || (f->width >= LW_SVG_MIN_SIZE && f->width <= LW_SVG_MAX_SIZE)))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "chart width %g is outside %g..%g",
                         f->width, LW_SVG_MIN_SIZE, LW_SVG_MAX_SIZE);
    if (!(f->height == 0 || (f->height >= LW_SVG_MIN_SIZE && f->height <= LW_SVG_MAX_SIZE)))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "chart height %g is outside %g..%g",
                         f->height, LW_SVG_MIN_SIZE, LW_SVG_MAX_SIZE);
    return LW_OK;
}

lw_err_t lw_svg_check_buf(lw_buf_t *out, char *errstr, size_t errstr_size)
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
lw_err_t lw_svg_check_chart(lw_buf_t *out, const lw_svg_frame_t *frame, size_t n, bool have_data,
                            const char *what, char *errstr, size_t errstr_size)
{
    lw_err_t err = lw_svg_check_buf(out, errstr, errstr_size);
    if (err == LW_OK)
        err = lw_svg_check_frame(frame, errstr, errstr_size);
    if (err == LW_OK && (n > LW_SVG_MAX_POINTS || (n > 0 && !have_data)))
        err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                        "%s: %zu points (bound %d, data required)", what, n, LW_SVG_MAX_POINTS);
    return err;
}

/*
 * Open the <svg>, write <title>, background, title and subtitle.  Returns
 * the y where content may start.
 */
double lw_svg_open(lw_buf_t *b, const char *kind, const lw_svg_frame_t *f, const char *subtitle,
                   const char *aria_extra, double w, double h)
{
    const char *title = f->title && *f->title ? f->title : "Chart";
    lw_buf_puts(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"lw-chart lw-chart-");
    lw_buf_puts(b, kind);
    lw_buf_puts(b, "\" viewBox=\"0 0 ");
    lw_svg_put_num(b, w);
    lw_buf_putc(b, ' ');
    lw_svg_put_num(b, h);
    lw_buf_putc(b, '"');
    lw_svg_attr(b, "width", w);
    lw_svg_attr(b, "height", h);
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
    lw_svg_attr(b, "width", w);
    lw_svg_attr(b, "height", h);
    lw_buf_puts(b, " fill=\"#fff\"/>");
    lw_svg_text_fit(b, 16, 24, NULL, TITLE_PX, " font-weight=\"bold\"", title,
                    (w - 32) / LW_SVG_BOLD_WIDER);
    if (subtitle && *subtitle) {
        lw_svg_text_fit(b, 16, 43, NULL, LW_SVG_FONT_PX, " fill=\"" LW_SVG_C_MUTED "\"", subtitle,
                        w - 32);
        return 58;
    }
    return 40;
}

void lw_svg_close(lw_buf_t *b)
{
    lw_buf_puts(b, "</g></svg>\n");
}

/* The plot-area rectangle the report's tests look for, and the axis lines. */
void lw_svg_plot_area(lw_buf_t *b, const lw_svg_layout_t *L)
{
    lw_buf_puts(b, "<rect class=\"lw-plot\"");
    lw_svg_rect_attrs(b, L->x0, L->y0, L->pw, L->ph);
    lw_buf_puts(b, " fill=\"#fff\"/>");
}

void lw_svg_axis_lines(lw_buf_t *b, const lw_svg_layout_t *L)
{
    lw_buf_puts(b, "<path d=\"M");
    lw_svg_put_num(b, L->x0);
    lw_buf_putc(b, ' ');
    lw_svg_put_num(b, L->y0);
    lw_buf_puts(b, "V");
    lw_svg_put_num(b, L->y0 + L->ph);
    lw_buf_puts(b, "H");
    lw_svg_put_num(b, L->x0 + L->pw);
    lw_buf_puts(b, "\" fill=\"none\" stroke=\"" C_AXIS "\"/>");
}

/* ---- legend ------------------------------------------------------------- */

#define LEGEND_MAX_TEXT_PX 300.0

static double legend_item_w(const lw_svg_legend_item_t *it)
{
    double t = lw_svg_text_px(it->text, LW_SVG_SMALL_PX);
    return 30 + (t < LEGEND_MAX_TEXT_PX ? t : LEGEND_MAX_TEXT_PX) + 18;
}

size_t lw_svg_legend_rows(const lw_svg_legend_item_t *it, size_t n, double avail)
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

static void swatch_line(lw_buf_t *b, double x, double y, const lw_svg_legend_item_t *it)
{
    lw_buf_puts(b, "<path d=\"M");
    lw_svg_put_num(b, x);
    lw_buf_putc(b, ' ');
    lw_svg_put_num(b, y);
    lw_buf_puts(b, "h24\" fill=\"none\" stroke=\"");
    lw_buf_puts(b, it->color);
    lw_buf_putc(b, '"');
    lw_svg_attr(b, "stroke-width", it->width > 0 ? it->width : 2);
    if (it->dash) {
        lw_buf_puts(b, " stroke-dasharray=\"");
        lw_buf_puts(b, it->dash);
        lw_buf_putc(b, '"');
    }
    lw_buf_puts(b, "/>");
}

void lw_svg_marker(lw_buf_t *b, lw_svg_swatch_t kind, double x, double y, const char *color)
{
    if (kind == LW_SVG_SW_LINE_CIRCLE) {
        lw_buf_puts(b, "<circle");
        lw_svg_attr(b, "cx", x);
        lw_svg_attr(b, "cy", y);
        lw_buf_puts(b, " r=\"3.5\" fill=\"");
    } else {
        lw_buf_puts(b, "<rect");
        lw_svg_attr(b, "x", x - 3.5);
        lw_svg_attr(b, "y", y - 3.5);
        lw_buf_puts(b, " width=\"7\" height=\"7\" fill=\"");
    }
    lw_buf_puts(b, color);
    lw_buf_putc(b, '"');
}

void lw_svg_legend_draw(lw_buf_t *b, const lw_svg_legend_item_t *it, size_t n, double x0, double y0,
                        double avail)
{
    double x = 0, y = y0;
    lw_buf_puts(b, "<g class=\"lw-legend\" font-size=\"12\">");
    for (size_t i = 0; i < n; i++) {
        double iw = legend_item_w(&it[i]);
        if (x > 0 && x + iw > avail) {
            y += LW_SVG_LEGEND_ROW;
            x = 0;
        }
        double sx = x0 + x, cy = y - 4;
        switch (it[i].kind) {
        case LW_SVG_SW_LINE: swatch_line(b, sx, cy, &it[i]); break;
        case LW_SVG_SW_LINE_CIRCLE:
        case LW_SVG_SW_LINE_SQUARE:
            swatch_line(b, sx, cy, &it[i]);
            lw_svg_marker(b, it[i].kind, sx + 12, cy, it[i].color);
            lw_buf_puts(b, "/>");
            break;
        case LW_SVG_SW_RECT:
        case LW_SVG_SW_OUTLINE:
            lw_buf_puts(b, "<rect");
            lw_svg_attr(b, "x", sx + 2);
            lw_svg_attr(b, "y", cy - 6);
            lw_buf_puts(b, " width=\"20\" height=\"12\"");
            if (it[i].kind == LW_SVG_SW_RECT) {
                lw_buf_puts(b, " fill=\"");
                lw_buf_puts(b, it[i].color);
                lw_buf_putc(b, '"');
                if (it[i].opacity > 0 && it[i].opacity < 1)
                    lw_svg_attr(b, "fill-opacity", it[i].opacity);
            } else {
                lw_buf_puts(b, " fill=\"none\" stroke-width=\"2\" stroke=\"");
                lw_buf_puts(b, it[i].color);
                lw_buf_putc(b, '"');
            }
            lw_buf_puts(b, "/>");
            break;
        }
        lw_svg_text_fit(b, sx + 30, y, NULL, LW_SVG_SMALL_PX, NULL, it[i].text, LEGEND_MAX_TEXT_PX);
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
void lw_svg_scale_linear(lw_svg_scale_t *s, double dmin, double dmax, int target)
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
void lw_svg_scale_log(lw_svg_scale_t *s, double pmin, double floor_p, double pmax)
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

double lw_svg_map_y(const lw_svg_layout_t *L, const lw_svg_scale_t *s, double v)
{
    double t = s->log ? log10(v) : v;
    double f = (t - s->lo) / (s->hi - s->lo);
    return lw_svg_clampd(L->y0 + L->ph * (1 - f), L->y0, L->y0 + L->ph);
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
/* The tick values of a linear scale, computed from their index to avoid drift. */
static size_t linear_ticks(const lw_svg_scale_t *s, double *ticks, size_t max)
{
    size_t nt = 0;
    for (size_t i = 0; nt < max; i++) {
        double v = s->lo + (double)i * s->step;
        if (v > s->hi + s->step * 1e-6)
            break;
        ticks[nt++] = v;
    }
    return nt;
}

void lw_svg_axis_y(lw_buf_t *b, const lw_svg_layout_t *L, const lw_svg_scale_t *s,
                   const char *title)
{
    /* every tick value, computed from its index to avoid drift */
    double ticks[64];
    size_t nt = 0;
    if (s->log) {
        for (double k = s->lo; k <= s->hi + 1e-9 && nt < 64; k += 1)
            ticks[nt++] = k;
    } else {
        nt = linear_ticks(s, ticks, 64);
    }
    lw_buf_puts(b, "<path d=\"");
    for (size_t i = 0; i < nt; i++) {
        double y = lw_svg_map_y(L, s, s->log ? pow(10, ticks[i]) : ticks[i]);
        lw_svg_hpath(b, L->x0, y, L->pw);
    }
    lw_buf_puts(b, "\" fill=\"none\" stroke=\"" C_GRID "\"/>");
    lw_buf_puts(b, "<g text-anchor=\"end\" font-size=\"12\" fill=\"" LW_SVG_C_MUTED "\">");
    for (size_t i = 0; i < nt; i++) {
        char lab[48];
        double v = ticks[i];
        if (s->log) {
            int k = (int)lround(v);
            if ((k - (int)lround(s->hi)) % (int)s->step != 0)
                continue;
            decade_label(lab, sizeof lab, k);
        } else {
            lw_svg_fmt_value(lab, sizeof lab, v, s->decimals);
        }
        double y = lw_svg_map_y(L, s, s->log ? pow(10, v) : v);
        lw_svg_text_open(b, L->x0 - 6, y + 4, NULL, LW_SVG_FONT_PX, NULL);
        lw_buf_put_xml(b, lab);
        lw_buf_puts(b, "</text>");
    }
    lw_buf_puts(b, "</g>");
    if (title && *title) {
        lw_buf_puts(b, "<text transform=\"rotate(-90)\"");
        lw_svg_attr(b, "x", -(L->y0 + L->ph / 2));
        lw_svg_attr(b, "y", 16);
        lw_buf_puts(b, " text-anchor=\"middle\">");
        put_text_fit(b, title, L->ph, LW_SVG_FONT_PX);
        lw_buf_puts(b, "</text>");
    }
}

double lw_svg_x_of_index(const lw_svg_layout_t *L, size_t n, double i)
{
    if (n <= 1)
        return L->x0 + L->pw / 2;
    return L->x0 + L->pw * i / (double)(n - 1);
}

double lw_svg_x_of_slot(const lw_svg_layout_t *L, size_t n, double i)
{
    return L->x0 + L->pw * (i + 0.5) / (double)(n ? n : 1);
}

/* Tick mark + centred label kept inside the chart. */
static void x_tick(lw_buf_t *b, const lw_svg_layout_t *L, double x, const char *label)
{
    double lw = lw_svg_text_px(label, LW_SVG_SMALL_PX);
    double cx = lw_svg_clampd(x, lw / 2 + 2, L->w - lw / 2 - 2);
    lw_buf_puts(b, "<path d=\"M");
    lw_svg_put_num(b, x);
    lw_buf_putc(b, ' ');
    lw_svg_put_num(b, L->y0 + L->ph);
    lw_buf_puts(b, "v4\" stroke=\"" C_AXIS "\"/>");
    lw_svg_text_open(b, cx, L->y0 + L->ph + 17, NULL, LW_SVG_FONT_PX, NULL);
    lw_buf_put_xml(b, label);
    lw_buf_puts(b, "</text>");
}

static void x_title(lw_buf_t *b, const lw_svg_layout_t *L, const char *title)
{
    if (title && *title)
        lw_svg_text_fit(b, L->x0 + L->pw / 2, L->y0 + L->ph + 35, "middle", LW_SVG_FONT_PX, NULL,
                        title, L->pw);
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
void lw_svg_axis_x_periods(lw_buf_t *b, const lw_svg_layout_t *L, const char *const *labels,
                           size_t n, const char *title)
{
    static const size_t steps[] = {1,   2,   3,    5,    7,    10,    14,    20,    28,
                                   30,  50,  60,   90,   100,  120,   180,   200,   365,
                                   500, 730, 1000, 2000, 5000, 10000, 20000, 50000, 100000};
    static const long month_steps[] = {1, 2, 3, 6, 12, 24, 60, 120, 600};
    double widest = 0;
    bool dated = labels != NULL && n > 0;
    for (size_t i = 0; i < n; i++) {
        double t = labels && labels[i] ? lw_svg_text_px(labels[i], LW_SVG_SMALL_PX)
                                       : LW_SVG_SMALL_PX * CHAR_EM * 6;
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
    lw_buf_puts(b, "<g text-anchor=\"middle\" font-size=\"12\" fill=\"" LW_SVG_C_MUTED "\">");
    double last = -INFINITY;
    for (size_t i = 0; i < n; i += mstep ? 1 : step) {
        if (mstep && !(month_start(labels, i) && label_month(labels[i]) % mstep == 0))
            continue;
        double x = lw_svg_x_of_index(L, n, (double)i);
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
void lw_svg_axis_x_lags(lw_buf_t *b, const lw_svg_layout_t *L, int lag_min, size_t n,
                        const char *title)
{
    static const int steps[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10000, 100000};
    double slot = L->pw / (double)(n ? n : 1);
    int step = steps[sizeof steps / sizeof steps[0] - 1];
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++)
        if (slot * steps[k] >= 28) {
            step = steps[k];
            break;
        }
    lw_buf_puts(b, "<g text-anchor=\"middle\" font-size=\"12\" fill=\"" LW_SVG_C_MUTED "\">");
    for (size_t i = 0; i < n; i++) {
        long lag = (long)lag_min + (long)i;
        if (lag % step != 0)
            continue;
        char lab[24];
        snprintf(lab, sizeof lab, "%ld", lag);
        x_tick(b, L, lw_svg_x_of_slot(L, n, (double)i), lab);
    }
    lw_buf_puts(b, "</g>");
    x_title(b, L, title);
}

double lw_svg_map_x(const lw_svg_layout_t *L, const lw_svg_scale_t *s, double v)
{
    double f = (v - s->lo) / (s->hi - s->lo);
    return lw_svg_clampd(L->x0 + L->pw * f, L->x0, L->x0 + L->pw);
}

void lw_svg_axis_x_linear(lw_buf_t *b, const lw_svg_layout_t *L, const lw_svg_scale_t *s,
                          const char *title)
{
    double ticks[64];
    size_t nt = linear_ticks(s, ticks, 64);
    lw_buf_puts(b, "<path d=\"");
    for (size_t i = 0; i < nt; i++) {
        lw_buf_puts(b, "M");
        lw_svg_put_num(b, lw_svg_map_x(L, s, ticks[i]));
        lw_buf_putc(b, ' ');
        lw_svg_put_num(b, L->y0);
        lw_buf_puts(b, "v");
        lw_svg_put_num(b, L->ph);
    }
    lw_buf_puts(b, "\" fill=\"none\" stroke=\"" C_GRID "\"/>");
    lw_buf_puts(b, "<g text-anchor=\"middle\" font-size=\"12\" fill=\"" LW_SVG_C_MUTED "\">");
    double right = -INFINITY; /* right end of the last label drawn */
    for (size_t i = 0; i < nt; i++) {
        char lab[48];
        lw_svg_fmt_value(lab, sizeof lab, ticks[i], s->decimals);
        double x = lw_svg_map_x(L, s, ticks[i]), half = lw_svg_text_px(lab, LW_SVG_FONT_PX) / 2;
        if (x - half < right + 6)
            continue;
        x_tick(b, L, x, lab);
        right = x + half;
    }
    lw_buf_puts(b, "</g>");
    x_title(b, L, title);
}

/*
 * Layout of a chart with axes: margins around the plot, the legend below.
 * `legend_h` is the legend's height (0 = none).
 */
void lw_svg_layout_axes(lw_svg_layout_t *L, double w, double h, double top, double legend_h,
                        double right_label)
{
    L->w = w;
    L->h = h;
    L->x0 = 64;
    L->y0 = top + 6;
    L->pw = w - L->x0 - lw_svg_clampd(right_label * LW_SVG_BOLD_WIDER + 12, 40, w * 0.25);
    double bottom = 44 + (legend_h > 0 ? legend_h + 10 : 0);
    L->ph = h - L->y0 - bottom;
    if (L->ph < 40) /* a very small chart: squeeze rather than invert */
        L->ph = 40;
}

double lw_svg_legend_top(const lw_svg_layout_t *L)
{
    return L->y0 + L->ph + 44 + 12;
}

/*
 * Horizontal reference line across the plot, labelled in the right margin
 * (reserve it with lw_svg_layout_axes' right_label).
 */
void lw_svg_ref_hline(lw_buf_t *b, const lw_svg_layout_t *L, double y, const char *color,
                      const char *dash, const char *label)
{
    lw_buf_puts(b, "<path d=\"");
    lw_svg_hpath(b, L->x0, y, L->pw);
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
        lw_svg_text_fit(b, L->x0 + L->pw + 5, y + 4, NULL, LW_SVG_SMALL_PX, " font-weight=\"bold\"",
                        label, L->w - L->x0 - L->pw - 7);
}

/*
 * Path of values[i] at x = xs(i), y = lw_svg_map_y; NAN breaks the line.  `floor`
 * > 0 clamps values below it (log axes).  Returns the number of points.
 */

size_t lw_svg_line_path(lw_buf_t *b, const lw_svg_layout_t *L, const lw_svg_scale_t *s,
                        const double *v, size_t n, int shift, lw_svg_xpos_fn xs, double floor_p)
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
        long y = lround(lw_svg_map_y(L, s, val) * 10);
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

void lw_svg_no_data_note(lw_buf_t *b, const lw_svg_layout_t *L)
{
    lw_svg_text_open(b, L->x0 + L->pw / 2, L->y0 + L->ph / 2, "middle", LW_SVG_FONT_PX,
                     " fill=\"" LW_SVG_C_MUTED "\"");
    lw_buf_puts(b, "No data</text>");
}

/*
 * Common exit: on error rewind to `mark` and explain.  Returns err (or the
 * buffer's sticky error) for the caller to return.
 */
lw_err_t lw_svg_finish(lw_buf_t *b, size_t mark, lw_err_t err, char *errstr, size_t errstr_size)
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

/* ---- shared chart scaffolding -------------------------------------------- */

void lw_svg_rect_attrs(lw_buf_t *b, double x, double y, double w, double h)
{
    lw_svg_attr(b, "x", x);
    lw_svg_attr(b, "y", y);
    lw_svg_attr(b, "width", w);
    lw_svg_attr(b, "height", h);
}

void lw_svg_hpath(lw_buf_t *b, double x, double y, double len)
{
    lw_buf_putc(b, 'M');
    lw_svg_put_num(b, x);
    lw_buf_putc(b, ' ');
    lw_svg_put_num(b, y);
    lw_buf_putc(b, 'h');
    lw_svg_put_num(b, len);
}

void lw_svg_legend_add(lw_svg_legend_item_t *items, size_t *n, lw_svg_legend_item_t it,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it.text, sizeof it.text, fmt, ap);
    va_end(ap);
    items[(*n)++] = it;
}

void lw_svg_clamp_subtitle(char *sub, size_t size, const lw_svg_frame_t *f, bool clamped,
                           const char *what, double floor_p)
{
    const char *s = f->subtitle;
    if (clamped)
        snprintf(sub, size, "%s%s%s below %g are drawn at %g", s ? s : "", s ? " \xC2\xB7 " : "",
                 what, floor_p, floor_p);
    else
        snprintf(sub, size, "%s", s ? s : "");
}

void lw_svg_axis_titles(const lw_svg_frame_t *f, const char *y_default, const char *x_default,
                        char *ytitle, char *xtitle)
{
    lw_svg_label_with_unit(ytitle, LW_SVG_TITLE_SIZE, f->y_label ? f->y_label : y_default,
                           f->y_unit);
    lw_svg_label_with_unit(xtitle, LW_SVG_TITLE_SIZE, f->x_label ? f->x_label : x_default,
                           f->x_unit);
}

void lw_svg_open_axes(lw_buf_t *out, const char *kind, const lw_svg_frame_t *f,
                      const char *subtitle, double def_w, double def_h,
                      const lw_svg_legend_item_t *items, size_t nitems, double right_label,
                      lw_svg_layout_t *L)
{
    double w = f->width > 0 ? f->width : def_w;
    double h = f->height > 0 ? f->height : def_h;
    double leg_h = (double)lw_svg_legend_rows(items, nitems, w - 32) * LW_SVG_LEGEND_ROW;
    double top = lw_svg_open(out, kind, f, subtitle, NULL, w, h);
    lw_svg_layout_axes(L, w, h, top, leg_h, right_label);
}

lw_err_t lw_svg_close_axes(lw_buf_t *out, const lw_svg_layout_t *L, bool any,
                           const lw_svg_legend_item_t *items, size_t nitems, size_t mark,
                           char *errstr, size_t errstr_size)
{
    if (!any)
        lw_svg_no_data_note(out, L);
    lw_svg_legend_draw(out, items, nitems, 16, lw_svg_legend_top(L), L->w - 32);
    lw_svg_close(out);
    return lw_svg_finish(out, mark, LW_OK, errstr, errstr_size);
}
