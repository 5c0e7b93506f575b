/*
 * bench_report.c - times the validation report at the size (a
 * 2-year daily window, an NSM, a KPI and 8 inputs) and, given a directory,
 * writes the demo report there.
 *
 * Data: the product simulator's latent daily levels (lw_sim_latent, default
 * model, seed 1, 730 days from 2024-01-01, the playlists effect switched off
 * from day 560 so a structural break shows): active users, sessions per
 * user, playlists created, searches, track shares -> listening minutes ->
 * revenue, plus three inputs with no link to the NSM (the latent active
 * users, playlists and searches of an independent simulator, seed 2),
 * named like real ones.  Two days early in the window are an outage (every
 * value missing) so the data-quality notes and the gap path have something
 * to show.
 *
 * Timing (median of RUNS, CLOCK_MONOTONIC):
 *   analysis  lw_analyze_tree with the `report` defaults (max_lag 14);
 *   render    lw_report_html + lw_report_markdown + lw_report_json, each
 *             into a fresh buffer bounded at LW_REPORT_MAX_BYTES;
 *   total     the two together: what `leadwatch report` spends after
 *             loading the series (target < 1 s), and the HTML size
 *             (target < 2 MB).
 *
 * Usage: bench_report [DIR]
 *   With DIR (created if missing) it writes the demo: first the report "as
 *   of" day 540 (before the break), then the full one into the same DIR, so
 *   the second shows "changes since the previous report"; it prints the
 *   path of report.html last.  The browser test and docs/report-demo.png
 *   use this.  The demo also carries an experiment history (issue 16;
 *   demo_experiments: 30 two-arm A/B tests in synthetic bucket sums, where
 *   sessions per user moves the NSM at slope 0.5, playlists are a bad proxy
 *   and the other inputs never move), so the report shows its
 *   "Experiments" section and the browser test measures its charts.
 */
#include "leadwatch/report/analysis_out.h"
#include "leadwatch/stats/analyze.h"
#include "leadwatch/stats/experiment.h"
#include "leadwatch/report/report.h"
#include "leadwatch/model/simulate.h"
#include "leadwatch/core/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define NDAYS 730
#define NIN 8
#define NSER (NIN + 2)
#define RUNS 9
#define BREAK_DAY 560
#define PREV_DAYS 540

static const char *const names[NSER] = {"active_users",      "sessions_per_user",
                                        "playlists_created", "searches",
                                        "track_shared",      "notifications_opened",
                                        "podcast_starts",    "follows",
                                        "listening_minutes", "revenue"};
static const char *const kinds[NIN] = {"breadth",   "frequency", "depth", "efficiency",
                                       "frequency", "breadth",   "depth", "frequency"};

typedef struct {
    double values[NDAYS * NSER];
    char label_buf[NDAYS][16];
    const char *labels[NDAYS];
    size_t inputs[NIN];
} demo_t;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int demo_make(demo_t *d)
{
    char err[256];
    lw_sim_opts_t o;
    lw_sim_opts_default(&o);
    o.days = NDAYS;
    o.seed = 1;
    o.break_day = BREAK_DAY;
    lw_sim_t *s1 = lw_sim_new(&o, err, sizeof err);
    o.seed = 2;
    o.break_day = -1;
    lw_sim_t *s2 = lw_sim_new(&o, err, sizeof err);
    if (!s1 || !s2) {
        fprintf(stderr, "bench_report: simulator: %s\n", err);
        lw_sim_destroy(s1);
        lw_sim_destroy(s2);
        return -1;
    }
    for (int t = 0; t < NDAYS; t++) {
        lw_sim_latent_t a, b;
        lw_sim_latent(s1, t, &a);
        lw_sim_latent(s2, t, &b);
        double *row = d->values + (size_t)t * NSER;
        row[0] = a.active_users;
        row[1] = a.sessions_per_user;
        row[2] = a.playlists;
        row[3] = a.searches;
        row[4] = a.shares;
        row[5] = b.active_users * 3.1; /* unrelated inputs */
        row[6] = b.playlists * 0.8;
        row[7] = b.searches * 0.2;
        row[8] = a.listening_ms / 60000.0;
        row[9] = a.revenue;
        if (t == 9 || t == 10)
            for (int k = 0; k < NSER; k++)
                row[k] = NAN;
        lw_time_format_date(INT64_C(1704067200000) + (int64_t)t * LW_MS_PER_DAY, d->label_buf[t],
                            sizeof d->label_buf[t]);
        d->labels[t] = d->label_buf[t];
    }
    for (size_t i = 0; i < NIN; i++)
        d->inputs[i] = i;
    lw_sim_destroy(s1);
    lw_sim_destroy(s2);
    return 0;
}

static lw_analyze_input_t demo_input(const demo_t *d, size_t nrows)
{
    return (lw_analyze_input_t){.nrows = nrows,
                                .nseries = NSER,
                                .names = names,
                                .values = d->values,
                                .labels = d->labels,
                                .bucket_ms = LW_MS_PER_DAY,
                                .nsm = 8,
                                .kpi = 9,
                                .ninputs = NIN,
                                .inputs = d->inputs,
                                .input_kinds = kinds};
}

static const lw_report_counter_t demo_counters[] = {
    {"events.accepted", 41873310}, {"events.late", 5218},         {"rejected.invalid_json", 12},
    {"rejected.time_too_old", 3},  {"rejected.missing_user", 41}, {"missing_value.revenue", 4}};

#define DEMO_EXPERIMENTS 30
#define DEMO_BUCKETS 16

/* One variant's bucket sums of metric m: mean * (1 + 2 % noise) per user. */
static int demo_cell(lw_exp_data *x, const char *e, const char *v, const char *m, lw_exp_window w,
                     double mean, uint64_t *rng)
{
    char err[256];
    for (uint32_t b = 0; b < DEMO_BUCKETS; b++) {
        *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(*rng >> 11) / 9007199254740992.0 - 0.5;
        lw_exp_row r = {.window = w, .bucket = b, .users = 800, .den = 800};
        snprintf(r.experiment, sizeof r.experiment, "%s", e);
        snprintf(r.variant, sizeof r.variant, "%s", v);
        snprintf(r.metric, sizeof r.metric, "%s", m);
        r.num = 800 * mean * (1 + 0.04 * u);
        if (lw_exp_data_add(x, &r, err, sizeof err) != LW_OK)
            return -1;
    }
    return 0;
}

/* The demo's experiment history (file comment); NULL on failure. */
static lw_exp_data *demo_experiments(void)
{
    lw_exp_data *x = lw_exp_data_new(DEMO_BUCKETS);
    uint64_t rng = 3;
    int rc = x ? 0 : -1;
    for (int k = 0; k < DEMO_EXPERIMENTS && rc == 0; k++) {
        char e[16];
        snprintf(e, sizeof e, "exp_%02d", k);
        /* a third of the tests move sessions (and the NSM), a third playlists only */
        double sess = k % 3 == 0 ? 0.03 * ((k % 7) - 3) : 0;
        double play = k % 3 == 1 ? 0.05 * ((k % 5) - 2) : 0;
        for (int v = 0; v < 2 && rc == 0; v++) {
            const char *var = v ? "treatment" : "control";
            for (size_t i = 0; i < NIN && rc == 0; i++) {
                double eff = v == 0 ? 0 : i == 1 ? sess : i == 2 ? play : 0;
                rc = demo_cell(x, e, var, names[i], LW_EXP_SHORT, (2.0 + (double)i) * (1 + eff),
                               &rng);
            }
            if (rc == 0)
                rc = demo_cell(x, e, var, names[NIN], LW_EXP_LONG,
                               30.0 * (1 + (v ? 0.5 * sess : 0)), &rng);
            if (rc == 0)
                rc = demo_cell(x, e, var, names[NIN + 1], LW_EXP_LONG,
                               5.0 * (1 + (v ? 0.8 * 0.5 * sess : 0)), &rng);
        }
    }
    if (rc != 0) {
        lw_exp_data_free(x);
        return NULL;
    }
    return x;
}

static int write_demo(const demo_t *d, const char *dir)
{
    char err[512], path[4096];
    mkdir(dir, 0755);
    lw_analyze_opts_t ao;
    lw_analyze_opts_default(&ao);
    const size_t rows[2] = {PREV_DAYS, NDAYS};
    const int64_t gen0 = INT64_C(1704067200000) + (int64_t)NDAYS * LW_MS_PER_DAY + 6 * 3600000;
    lw_exp_data *xd = demo_experiments();
    lw_exp_analysis xa = {0};
    lw_exp_opts xo;
    lw_exp_opts_init(&xo);
    const lw_exp_roles roles = {
        .nsm = names[NIN], .kpi = names[NIN + 1], .inputs = names, .ninputs = NIN};
    if (!xd || lw_exp_analyze(xd, &roles, &xo, &xa, err, sizeof err) != LW_OK) {
        fprintf(stderr, "bench_report: experiments: %s\n", xd ? err : "out of memory");
        lw_exp_data_free(xd);
        return 1;
    }
    int rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        lw_analyze_input_t in = demo_input(d, rows[pass]);
        lw_analysis_t *a = NULL;
        if (lw_analyze_tree(&ao, &in, &a, err, sizeof err) != LW_OK) {
            fprintf(stderr, "bench_report: analysis: %s\n", err);
            rc = 1;
            break;
        }
        a->experiments = &xa;
        lw_report_prev_t prev;
        lw_err_t pe = lw_report_prev_load(dir, &prev, err, sizeof err);
        lw_report_input_t r = {.analysis = a,
                               .input = &in,
                               .title = "Listening app: metric tree validation",
                               .generated_ms = gen0 - (int64_t)(NDAYS - rows[pass]) * LW_MS_PER_DAY,
                               .config_path = "config/leadwatch.yaml",
                               .store_path = "leadwatch.db",
                               .provisional = 1,
                               .counters = demo_counters,
                               .ncounters = sizeof demo_counters / sizeof demo_counters[0],
                               .prev = pass == 1 && pe == LW_OK ? &prev : NULL};
        lw_err_t e = lw_report_write_dir(&r, dir, path, sizeof path, err, sizeof err);
        lw_analysis_free(a);
        if (e != LW_OK) {
            fprintf(stderr, "bench_report: %s\n", err);
            rc = 1;
        }
    }
    lw_exp_analysis_release(&xa);
    lw_exp_data_free(xd);
    if (rc == 0)
        printf("%s\n", path);
    return rc;
}

int main(int argc, char **argv)
{
    static demo_t d;
    if (demo_make(&d) != 0)
        return 1;
    if (argc > 1)
        return write_demo(&d, argv[1]);

    char err[512];
    lw_analyze_opts_t ao;
    lw_analyze_opts_default(&ao);
    lw_analyze_input_t in = demo_input(&d, NDAYS);
    double t_an[RUNS], t_html[RUNS], t_all[RUNS], t_tot[RUNS];
    size_t html_len = 0, md_len = 0, json_len = 0;
    for (int run = 0; run < RUNS; run++) {
        double t0 = now_ms();
        lw_analysis_t *a = NULL;
        if (lw_analyze_tree(&ao, &in, &a, err, sizeof err) != LW_OK) {
            fprintf(stderr, "bench_report: analysis: %s\n", err);
            return 1;
        }
        double t1 = now_ms();
        lw_report_input_t r = {.analysis = a,
                               .input = &in,
                               .generated_ms = 0,
                               .counters = demo_counters,
                               .ncounters = sizeof demo_counters / sizeof demo_counters[0]};
        lw_buf_t h, m, j;
        lw_buf_init(&h, LW_REPORT_MAX_BYTES);
        lw_buf_init(&m, LW_REPORT_MAX_BYTES);
        lw_buf_init(&j, LW_REPORT_MAX_BYTES);
        lw_err_t e = lw_report_html(&r, &h, err, sizeof err);
        double t2 = now_ms();
        if (e == LW_OK)
            e = lw_report_markdown(&r, &m, err, sizeof err);
        if (e == LW_OK)
            e = lw_report_json(&r, &j, err, sizeof err);
        double t3 = now_ms();
        if (e != LW_OK) {
            fprintf(stderr, "bench_report: %s\n", err);
            return 1;
        }
        html_len = h.len, md_len = m.len, json_len = j.len;
        t_an[run] = t1 - t0;
        t_html[run] = t2 - t1;
        t_all[run] = t3 - t1;
        t_tot[run] = t3 - t0;
        lw_buf_release(&h);
        lw_buf_release(&m);
        lw_buf_release(&j);
        lw_analysis_free(a);
    }
    qsort(t_an, RUNS, sizeof(double), cmp_double);
    qsort(t_html, RUNS, sizeof(double), cmp_double);
    qsort(t_all, RUNS, sizeof(double), cmp_double);
    qsort(t_tot, RUNS, sizeof(double), cmp_double);
    printf("bench_report: %d days x (NSM, KPI, %d inputs) = %d edges, max_lag %zu, %d runs\n",
           NDAYS, NIN, NIN + 1, ao.max_lag, RUNS);
    printf("bench_report: analysis        median %7.1f ms (min %.1f, max %.1f)\n", t_an[RUNS / 2],
           t_an[0], t_an[RUNS - 1]);
    printf("bench_report: render html     median %7.1f ms (min %.1f, max %.1f)\n", t_html[RUNS / 2],
           t_html[0], t_html[RUNS - 1]);
    printf("bench_report: render html+md+json median %7.1f ms\n", t_all[RUNS / 2]);
    printf("bench_report: total           median %7.1f ms (min %.1f, max %.1f)  target < 1000 ms\n",
           t_tot[RUNS / 2], t_tot[0], t_tot[RUNS - 1]);
    printf("bench_report: report.html %zu bytes (%.1f%% of 2 MB), report.md %zu, report.json %zu\n",
           html_len, 100.0 * (double)html_len / (2.0 * 1024 * 1024), md_len, json_len);
    return t_tot[RUNS / 2] < 1000.0 && html_len < 2u * 1024 * 1024 ? 0 : 1;
}
