/*
 * bench_analyze.c - times the whole analysis bundle (lw_analyze_tree: preparation
 * with ADF, Granger both ways over lags 1..28, lagged regressions with HAC,
 * prewhitened CCF, BH, rolling-window stability, sup-F break test,
 * rolling-origin forecasts with Clark-West, MDE) for a 6-edge tree (5 inputs
 * -> NSM, NSM -> KPI) over 730 daily points.  Target (issue 4): well under
 * 50 ms.
 *
 * Data: the product simulator's latent daily levels (lw_sim_latent, default
 * model, seed 1, 730 days): active users, sessions per user, playlists,
 * listening, searches, shares -> listening, listening -> revenue.  Options:
 * the defaults (transform auto, seasonal weekly, AIC) with max_lag 28.
 * Reports the median, min and max of REPS runs (default 31) of the analysis
 * alone (no output formatting), then the time of rendering JSON to
 * /dev/null, and the verdicts so the run can be sanity-checked.
 *
 * Usage: bench_analyze [REPS] [MAX_LAG] [DAYS]
 */
#include "leadwatch/report/analysis_out.h"
#include "leadwatch/stats/analyze.h"
#include "leadwatch/stats/ols.h"
#include "leadwatch/model/simulate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { NSER = 7 };

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

static long arg_long(int argc, char **argv, int i, long def, long lo, long hi)
{
    if (argc <= i)
        return def;
    char *end = NULL;
    long v = strtol(argv[i], &end, 10);
    if (end == argv[i] || *end || v < lo || v > hi) {
        fprintf(stderr, "bench_analyze: argument %d must be in %ld..%ld\n", i, lo, hi);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const int reps = (int)arg_long(argc, argv, 1, 31, 1, 10000);
    const size_t max_lag = (size_t)arg_long(argc, argv, 2, 28, 1, LW_ANALYZE_MAX_LAG);
    const int days = (int)arg_long(argc, argv, 3, 730, 100, LW_SIM_MAX_DAYS);
    lw_stats_init();
    char err[512];

    lw_sim_opts_t so;
    lw_sim_opts_default(&so);
    so.days = days;
    lw_sim_t *sim = lw_sim_new(&so, err, sizeof err);
    if (!sim) {
        fprintf(stderr, "bench_analyze: %s\n", err);
        return 1;
    }
    double *vals = malloc((size_t)days * NSER * sizeof(double));
    if (!vals)
        return 1;
    for (int d = 0; d < days; d++) {
        lw_sim_latent_t l;
        if (lw_sim_latent(sim, d, &l) != LW_OK)
            return 1;
        double *row = vals + (size_t)d * NSER;
        row[0] = l.active_users;
        row[1] = l.sessions_per_user;
        row[2] = l.playlists;
        row[3] = l.searches;
        row[4] = l.shares;
        row[5] = l.listening_ms / 60000.0;
        row[6] = l.revenue;
    }
    lw_sim_destroy(sim);

    static const char *const names[NSER] = {
        "active_users", "sessions_per_user", "playlists_created",
        "searches",     "track_shared",      "listening_minutes",
        "revenue"};
    static const size_t inputs[5] = {0, 1, 2, 3, 4};
    lw_analyze_input_t in = {0};
    in.nrows = (size_t)days;
    in.nseries = NSER;
    in.names = names;
    in.values = vals;
    in.bucket_ms = 86400000;
    in.nsm = 5;
    in.kpi = 6;
    in.ninputs = 5;
    in.inputs = inputs;
    lw_analyze_opts_t o;
    lw_analyze_opts_default(&o);
    o.max_lag = max_lag;

    double *t = malloc((size_t)reps * sizeof(double));
    if (!t)
        return 1;
    lw_analysis_t *a = NULL;
    for (int r = 0; r < reps; r++) {
        lw_analysis_free(a);
        a = NULL;
        const double t0 = now_ms();
        if (lw_analyze_tree(&o, &in, &a, err, sizeof err) != LW_OK) {
            fprintf(stderr, "bench_analyze: %s\n", err);
            return 1;
        }
        t[r] = now_ms() - t0;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp_double);

    FILE *devnull = fopen("/dev/null", "w");
    double tj = 0.0;
    if (devnull) {
        const double t0 = now_ms();
        lw_analysis_write_json(a, devnull, err, sizeof err);
        tj = now_ms() - t0;
        fclose(devnull);
    }

    printf("analysis of a %zu-edge tree, %d daily points, lags 1..%zu, %d runs:\n", a->nedges, days,
           max_lag, reps);
    printf("  median %.2f ms, min %.2f ms, max %.2f ms (target: well under 50 ms)\n", t[reps / 2],
           t[0], t[reps - 1]);
    printf("  JSON rendering: %.2f ms\n", tj);
    for (size_t i = 0; i < a->nedges; i++) {
        const lw_edge_result_t *e = &a->edges[i];
        printf("  %-18s -> %-18s %-17s lag %2zu lead %2zu\n", e->from, e->to,
               lw_verdict_name(e->verdict), e->lag, e->lead);
    }
    lw_analysis_free(a);
    free(t);
    free(vals);
    return 0;
}
