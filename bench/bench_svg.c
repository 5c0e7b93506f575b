/*
 * bench_svg.c - renders every chart kind at the report's full size into one
 * HTML page and times it.
 *
 * Size (issue 6): a 2-year daily window (730 periods), an NSM, a KPI and
 * 8 inputs.  The page holds what the report will draw from these charts:
 *   - the metric tree (8 inputs, every verdict represented);
 *   - one overview line chart: NSM + 8 inputs, index = 100;
 *   - per edge (8 inputs -> NSM, plus NSM -> KPI = 9 edges): a line chart
 *     of target, input and input shifted by its lag (z-scores), the
 *     cross-correlation bars at lags -28..28 with a +-1.96/sqrt(n) band,
 *     Granger p-values at lags 1..28 in both directions, the p-value
 *     history over 180-day windows stepped by 7 days (79 windows), and the
 *     MDE gauge against 10%.
 * That is 1 + 1 + 9 * 5 = 47 charts.
 *
 * Data are synthetic but shaped like the real thing, from a fixed-seed
 * xorshift64* generator: inputs are random walks with weekly seasonality,
 * the NSM is a sum of inputs lagged by 1..8 days plus noise, and a few days
 * are undefined (gaps) so the gap path is exercised.  The cross-correlation
 * is computed (Pearson on first differences); p-values and the history are
 * a smooth function of the true lag with noise, since the statistics module
 * is not part of this benchmark.
 *
 * Timing: the whole page is rendered RUNS times into a fresh buffer
 * (bounded at 2 MB, the report's limit); the median wall time
 * (CLOCK_MONOTONIC) and the page size are printed.  The last page is
 * written to argv[1] (default $TMPDIR/charts.html or /tmp/charts.html) for
 * a look in a browser.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leadwatch/report/svg.h"

#define RUNS 21
#define NDAYS 730
#define NIN 8
#define MAXLAG 28
#define WINDOW 180
#define WSTEP 7
#define NWIN ((NDAYS - WINDOW) / WSTEP + 1)
#define PAGE_MAX (2u * 1024 * 1024)

typedef struct {
    char labels[NDAYS][16];
    const char *label_ptr[NDAYS];
    const char *win_label[NWIN];
    double nsm[NDAYS], kpi[NDAYS];
    double in[NIN][NDAYS];
    double ccf[NIN + 1][2 * MAXLAG + 1];
    double p_xy[NIN + 1][MAXLAG], p_yx[NIN + 1][MAXLAG];
    double hist[NIN + 1][NWIN];
    double mde[NIN + 1];
    int lag[NIN + 1];
    lw_svg_verdict_t verdict[NIN + 1];
    char edge_label[NIN + 1][64];
} demo_t;

static const char *const input_names[NIN] = {"Sessions per user",      "Tracks played per session",
                                             "Playlists created",      "Searches per user",
                                             "Follows per user",       "Shares <& \"quoted\">",
                                             "Podcast starts per DAU", "Push notification opens"};

static uint64_t rng_state = UINT64_C(0x2545F4914F6CDD1D);

static double urand(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * UINT64_C(2685821657736338717)) >> 11) * 0x1.0p-53;
}

static double nrand(void)
{
    double u = urand(), v = urand();
    return sqrt(-2 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Pearson correlation of first differences of x(t) and y(t + lag). */
static double ccf_at(const double *x, const double *y, size_t n, int lag)
{
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    size_t k = 0;
    for (size_t t = 1; t < n; t++) {
        long u = (long)t + lag;
        if (u < 1 || (size_t)u >= n)
            continue;
        double a = x[t] - x[t - 1], b = y[u] - y[u - 1];
        if (!isfinite(a) || !isfinite(b))
            continue;
        sx += a, sy += b, sxx += a * a, syy += b * b, sxy += a * b;
        k++;
    }
    if (k < 3)
        return NAN;
    double cov = sxy - sx * sy / (double)k;
    double vx = sxx - sx * sx / (double)k, vy = syy - sy * sy / (double)k;
    return vx > 0 && vy > 0 ? cov / sqrt(vx * vy) : (double)NAN;
}

static void demo_make(demo_t *d)
{
    static const lw_svg_verdict_t vs[NIN + 1] = {
        LW_SVG_VERDICT_LEADS,        LW_SVG_VERDICT_LEADS,    LW_SVG_VERDICT_NO_LONGER_LEADS,
        LW_SVG_VERDICT_REVERSE,      LW_SVG_VERDICT_FEEDBACK, LW_SVG_VERDICT_INCONCLUSIVE,
        LW_SVG_VERDICT_INSUFFICIENT, LW_SVG_VERDICT_LEADS,    LW_SVG_VERDICT_LEADS};
    for (int i = 0; i < NDAYS; i++) {
        /* 2024-01-01 + i days, by a small civil-from-days conversion */
        long z = 19723 + i + 719468; /* days since 1970-01-01 of 2024-01-01 is 19723 */
        long era = z / 146097, doe = z - era * 146097;
        long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
        long day = doy - (153 * mp + 2) / 5 + 1, mon = mp < 10 ? mp + 3 : mp - 9;
        long year = yoe + era * 400 + (mon <= 2);
        snprintf(d->labels[i], sizeof d->labels[i], "%04d-%02d-%02d", (int)(year % 10000),
                 (int)(mon % 100), (int)(day % 100));
        d->label_ptr[i] = d->labels[i];
    }
    for (int w = 0; w < NWIN; w++)
        d->win_label[w] = d->labels[w * WSTEP + WINDOW - 1];
    for (int j = 0; j < NIN; j++) {
        double level = 100 + 40 * urand();
        for (int i = 0; i < NDAYS; i++) {
            level += nrand() * 1.5 + 0.03;
            d->in[j][i] = level + 0.5 * sin(6.283185307179586 * i / 7.0 + j);
        }
        d->lag[j] = j + 1;
    }
    d->lag[NIN] = 7;
    for (int i = 0; i < NDAYS; i++) {
        double s = 0;
        for (int j = 0; j < NIN; j++)
            s += i >= d->lag[j] ? d->in[j][i - d->lag[j]] : d->in[j][0];
        d->nsm[i] = s / NIN + nrand() * 0.8;
        d->kpi[i] = 0.5 * (i >= 7 ? d->nsm[i - 7] : d->nsm[0]) + nrand() * 0.8;
    }
    /* undefined periods: a 5-day outage and scattered missing days */
    for (int i = 400; i < 405; i++) {
        d->nsm[i] = NAN;
        for (int j = 0; j < NIN; j++)
            d->in[j][i] = NAN;
    }
    d->in[2][100] = NAN;
    d->in[6][600] = NAN;
    for (int e = 0; e <= NIN; e++) {
        const double *x = e < NIN ? d->in[e] : d->nsm, *y = e < NIN ? d->nsm : d->kpi;
        for (int l = -MAXLAG; l <= MAXLAG; l++)
            d->ccf[e][l + MAXLAG] = ccf_at(x, y, NDAYS, l);
        d->verdict[e] = vs[e];
        bool strong = vs[e] == LW_SVG_VERDICT_LEADS || vs[e] == LW_SVG_VERDICT_FEEDBACK;
        for (int l = 1; l <= MAXLAG; l++) {
            double dist = (double)abs(l - d->lag[e]);
            double lx = strong ? -14 * exp(-dist / 3.0) - 0.3 : -0.8 * urand();
            double ly = vs[e] == LW_SVG_VERDICT_REVERSE || vs[e] == LW_SVG_VERDICT_FEEDBACK
                            ? -6 * exp(-dist / 4.0) - 0.4
                            : -0.6 * urand();
            d->p_xy[e][l - 1] = pow(10, lx + 0.3 * nrand());
            d->p_yx[e][l - 1] = pow(10, ly + 0.3 * nrand());
            if (d->p_xy[e][l - 1] > 1)
                d->p_xy[e][l - 1] = 1;
            if (d->p_yx[e][l - 1] > 1)
                d->p_yx[e][l - 1] = 1;
        }
        d->p_xy[e][MAXLAG - 1] = NAN; /* a lag the test could not fit */
        for (int w = 0; w < NWIN; w++) {
            double base = vs[e] == LW_SVG_VERDICT_NO_LONGER_LEADS ? (w < 50 ? -4 : -0.7)
                          : strong                                ? -6
                                                                  : -0.6;
            d->hist[e][w] = fmin(1, pow(10, base + 0.5 * nrand()));
        }
        d->mde[e] = 3 + 14 * urand();
        snprintf(d->edge_label[e], sizeof d->edge_label[e], "lag %d \xC2\xB7 %+.1f%%", d->lag[e],
                 0.1 + 0.6 * urand());
    }
}

static lw_err_t render_page(const demo_t *d, lw_buf_t *b, char *err, size_t errsz)
{
    lw_err_t e;
    lw_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<title>leadwatch chart demo</title><style>"
                   "body{font-family:sans-serif;margin:24px auto;max-width:1000px;color:#222}"
                   "h2{margin:28px 0 8px;font-size:18px}"
                   ".edge{display:grid;grid-template-columns:1fr 1fr;gap:8px 16px}"
                   ".edge .wide{grid-column:1/3}svg{display:block}"
                   "@media print{.edge{break-inside:avoid}}</style></head><body>\n"
                   "<h1>Chart demo</h1>\n");

    lw_svg_tree_input_t ins[NIN];
    for (int j = 0; j < NIN; j++)
        ins[j] = (lw_svg_tree_input_t){input_names[j], d->verdict[j], d->edge_label[j]};
    lw_svg_tree_opts_t tree = {
        .frame = {.title = "Metric tree", .subtitle = "Edges coloured and dashed by verdict"},
        .inputs = ins,
        .ninputs = NIN,
        .nsm_name = "Listening minutes per user",
        .kpi_name = "Paid subscribers",
        .kpi_verdict = d->verdict[NIN],
        .kpi_edge_label = d->edge_label[NIN]};
    if ((e = lw_svg_tree_diagram(b, &tree, err, errsz)) != LW_OK)
        return e;

    lw_svg_series_t all[NIN + 1];
    all[0] = (lw_svg_series_t){.name = "Listening minutes per user (NSM)",
                               .values = d->nsm,
                               .norm = LW_SVG_NORM_INDEX100,
                               .emphasis = true};
    for (int j = 0; j < NIN; j++)
        all[j + 1] = (lw_svg_series_t){
            .name = input_names[j], .values = d->in[j], .norm = LW_SVG_NORM_INDEX100};
    lw_svg_line_opts_t overview = {.frame = {.title = "NSM and inputs",
                                             .subtitle = "Daily, indexed to 100 at the first day",
                                             .x_label = "Day",
                                             .height = 420},
                                   .x_labels = d->label_ptr,
                                   .n = NDAYS,
                                   .series = all,
                                   .nseries = NIN + 1};
    if ((e = lw_svg_line_chart(b, &overview, err, errsz)) != LW_OK)
        return e;

    for (int ed = 0; ed <= NIN; ed++) {
        const char *xn = ed < NIN ? input_names[ed] : "Listening minutes per user";
        const char *yn = ed < NIN ? "Listening minutes per user" : "Paid subscribers";
        char title[256], xy[256], yx[256], shifted[256];
        lw_buf_puts(b, "<section class=\"edge\"><h2 class=\"wide\">");
        lw_buf_put_xml(b, xn);
        lw_buf_puts(b, " \xE2\x86\x92 ");
        lw_buf_put_xml(b, yn);
        lw_buf_puts(b, "</h2>\n<div class=\"wide\">");

        snprintf(shifted, sizeof shifted, "%s", xn);
        lw_svg_series_t s3[3] = {
            {.name = yn,
             .values = ed < NIN ? d->nsm : d->kpi,
             .norm = LW_SVG_NORM_ZSCORE,
             .emphasis = true},
            {.name = xn, .values = ed < NIN ? d->in[ed] : d->nsm, .norm = LW_SVG_NORM_ZSCORE},
            {.name = shifted,
             .values = ed < NIN ? d->in[ed] : d->nsm,
             .norm = LW_SVG_NORM_ZSCORE,
             .shift = d->lag[ed]}};
        snprintf(title, sizeof title, "%s vs %s", yn, xn);
        lw_svg_line_opts_t lc = {.frame = {.title = title, .x_label = "Day", .height = 320},
                                 .x_labels = d->label_ptr,
                                 .n = NDAYS,
                                 .series = s3,
                                 .nseries = 3};
        if ((e = lw_svg_line_chart(b, &lc, err, errsz)) != LW_OK)
            return e;
        lw_buf_puts(b, "</div><div>");

        lw_svg_bar_opts_t bar = {.frame = {.title = "Cross-correlation",
                                           .x_label = "Lag",
                                           .x_unit = "days",
                                           .width = 480,
                                           .height = 280},
                                 .lag_min = -MAXLAG,
                                 .values = d->ccf[ed],
                                 .n = 2 * MAXLAG + 1,
                                 .band = 1.96 / sqrt((double)NDAYS),
                                 .highlight = true,
                                 .highlight_lag = d->lag[ed]};
        if ((e = lw_svg_bar_chart(b, &bar, err, errsz)) != LW_OK)
            return e;
        lw_buf_puts(b, "</div><div>");

        snprintf(xy, sizeof xy, "%s \xE2\x86\x92 target", xn);
        snprintf(yx, sizeof yx, "target \xE2\x86\x92 %s", xn);
        lw_svg_pvalue_opts_t pv = {.frame = {.title = "Granger p-values by lag",
                                             .x_label = "Lag",
                                             .x_unit = "days",
                                             .width = 480,
                                             .height = 280},
                                   .lag_min = 1,
                                   .n = MAXLAG,
                                   .p_xy = d->p_xy[ed],
                                   .p_yx = d->p_yx[ed],
                                   .name_xy = xy,
                                   .name_yx = yx,
                                   .alpha = 0.05};
        if ((e = lw_svg_pvalue_chart(b, &pv, err, errsz)) != LW_OK)
            return e;
        lw_buf_puts(b, "</div><div>");

        lw_svg_history_opts_t hi = {
            .frame = {.title = "p-value over rolling 180-day windows", .width = 480, .height = 280},
            .x_labels = d->win_label,
            .n = NWIN,
            .values = d->hist[ed],
            .series_name = "Granger p at the detected lag",
            .log_y = true,
            .threshold = 0.05,
            .threshold_label = "\xCE\xB1 = 0.05",
            .has_break = d->verdict[ed] == LW_SVG_VERDICT_NO_LONGER_LEADS,
            .break_index = 50,
            .break_label = "break"};
        if ((e = lw_svg_history_chart(b, &hi, err, errsz)) != LW_OK)
            return e;
        lw_buf_puts(b, "</div><div>");

        lw_svg_gauge_opts_t g = {.frame = {.title = "Sensitivity",
                                           .subtitle = "Minimum detectable effect vs 10%",
                                           .x_label = "MDE",
                                           .x_unit = "%",
                                           .width = 480},
                                 .value = d->mde[ed],
                                 .threshold = 10,
                                 .lower_is_better = true,
                                 .decimals = 1};
        if ((e = lw_svg_gauge_bar(b, &g, err, errsz)) != LW_OK)
            return e;
        lw_buf_puts(b, "</div></section>\n");
    }
    lw_buf_puts(b, "</body></html>\n");
    return b->err;
}

int main(int argc, char **argv)
{
    static demo_t d;
    demo_make(&d);
    char path[512];
    const char *tmp = getenv("TMPDIR");
    if (argc > 1)
        snprintf(path, sizeof path, "%s", argv[1]);
    else
        snprintf(path, sizeof path, "%s/charts.html", tmp && *tmp ? tmp : "/tmp");

    double times[RUNS];
    lw_buf_t page;
    char err[256] = "";
    for (int r = 0; r < RUNS; r++) {
        lw_buf_init(&page, PAGE_MAX);
        double t0 = now_s();
        lw_err_t e = render_page(&d, &page, err, sizeof err);
        times[r] = now_s() - t0;
        if (e != LW_OK) {
            fprintf(stderr, "render failed: %s (%s)\n", err, lw_err_name(e));
            lw_buf_release(&page);
            return 1;
        }
        if (r + 1 < RUNS)
            lw_buf_release(&page);
    }
    qsort(times, RUNS, sizeof times[0], cmp_double);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(page.data, 1, page.len, f) != page.len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        lw_buf_release(&page);
        return 1;
    }
    printf("bench_svg: 47 charts (tree, overview of 9 series x %d days, 9 edges x 5 charts)\n",
           NDAYS);
    printf("bench_svg: page %zu bytes (%.1f%% of the 2 MB report bound), median %.2f ms "
           "(min %.2f, max %.2f) over %d runs\n",
           page.len, 100.0 * (double)page.len / PAGE_MAX, times[RUNS / 2] * 1e3, times[0] * 1e3,
           times[RUNS - 1] * 1e3, RUNS);
    printf("bench_svg: wrote %s\n", path);
    lw_buf_release(&page);
    return 0;
}
