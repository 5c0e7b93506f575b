/*
 * bench_eval.c - the cost of one daemon evaluation (issue 19), in parts:
 *
 *   1. lw_hll_merge of two dense sketches (16 KiB each): ns per merge and
 *      the bytes of dst+src per second (the inner loop of a rolling distinct
 *      metric: series.c merges window/size sketches per row);
 *   2. as of the newest bucket the store's watermark closed, with the
 *      config's analysis.window: the session load with every metric
 *      (lw_session_from_store, tree_only false: what an evaluation read
 *      before) and with tree_only (what watch.c reads now), then
 *      lw_session_analyze on it.  The two loads must give the same gaps and
 *      the same tree columns (checked, bit for bit) and the same verdicts.
 *
 * Each figure is the median of REPS runs (default 5) of CPU time
 * (CLOCK_PROCESS_CPUTIME_ID: the machine is shared).
 *
 * Usage: bench_eval CONFIG [STORE] [REPS]     (STORE overrides store.path)
 * The hourly store of bench/RESULTS.md ("Evaluation off the consumer
 * thread"): config/leadwatch.yaml with buckets.size 1h, analysis.window
 * 2160, max_lag 48, 100 simulated days at scale 0.2, ingested.
 */
#include "leadwatch/core/hll.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/model/config.h"
#include "leadwatch/store/session.h"
#include "leadwatch/store/store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define MAX_REPS 101
#define MERGES 20000

static void bench_merge(int reps)
{
    lw_hll_t *a = lw_hll_new(), *b = lw_hll_new();
    if (!a || !b) {
        fprintf(stderr, "bench_eval: out of memory\n");
        exit(1);
    }
    for (uint64_t i = 0; i < 200000; i++) {
        lw_hll_add_hash(a, lw_hll_hash(&i, sizeof i));
        uint64_t j = i + 1000000;
        lw_hll_add_hash(b, lw_hll_hash(&j, sizeof j));
    }
    double t[MAX_REPS];
    double sink = 0;
    for (int r = 0; r < reps; r++) {
        lw_hll_t *d = lw_hll_new();
        double t0 = cpu_ms();
        for (int k = 0; k < MERGES; k++)
            lw_hll_merge(d, (k & 1) ? a : b);
        t[r] = cpu_ms() - t0;
        sink += lw_hll_estimate(d);
        lw_hll_destroy(d);
    }
    double ms = median(t, reps);
    double ns = ms * 1e6 / MERGES;
    printf("hll merge (dense, %d registers): %.0f ns per merge, %.1f GB/s (dst + src), "
           "median of %d (estimate %.0f)\n",
           LW_HLL_REGISTERS, ns, 2.0 * LW_HLL_REGISTERS / ns, reps, sink / reps);
    lw_hll_destroy(a);
    lw_hll_destroy(b);
}

/* Same gaps, same tree columns (bit for bit, NAN = NAN). */
static int same_rows(const lw_session_t *full, const lw_session_t *lite)
{
    const lw_series_t *f = lw_session_series(full), *l = lw_session_series(lite);
    const lw_analyze_input_t *fi = lw_session_input(full), *li = lw_session_input(lite);
    if (f->nrows != l->nrows || fi->nrows != li->nrows)
        return 0;
    for (size_t r = 0; r < f->nrows; r++)
        if (f->gap[r] != l->gap[r])
            return 0;
    size_t cols[LW_ANALYZE_MAX_EDGES + 2], nc = 0;
    cols[nc++] = fi->nsm;
    if (fi->kpi >= 0)
        cols[nc++] = (size_t)fi->kpi;
    for (size_t i = 0; i < fi->ninputs; i++)
        cols[nc++] = fi->inputs[i];
    for (size_t r = 0; r < fi->nrows; r++)
        for (size_t k = 0; k < nc; k++) {
            double x = fi->values[r * fi->nseries + cols[k]];
            double y = li->values[r * li->nseries + cols[k]];
            if (!(x == y || (isnan(x) && isnan(y))))
                return 0;
        }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_eval CONFIG [STORE] [REPS]\n");
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    if (reps < 1 || reps > MAX_REPS)
        reps = 5;
    char err[1024];
    lw_config_t *cfg = NULL;
    if (lw_config_load(argv[1], &cfg, err, sizeof err) != LW_OK) {
        fprintf(stderr, "bench_eval: %s\n", err);
        return 1;
    }
    bench_merge(reps);
    const char *path = argc > 2 ? argv[2] : cfg->store.path;
    lw_store_t *store = NULL;
    if (lw_store_open(path, LW_STORE_READONLY, &store, err, sizeof err) != LW_OK) {
        fprintf(stderr, "bench_eval: %s: %s\n", path, err);
        return 1;
    }
    int64_t wm, size = cfg->buckets.size_ms;
    if (lw_store_get_int(store, LW_KEY_WATERMARK, &wm, err, sizeof err) != LW_OK) {
        fprintf(stderr, "bench_eval: the store has no watermark\n");
        return 1;
    }
    int64_t as_of = lw_bucket_start(wm - size - cfg->buckets.grace_ms - 1, size);
    char label[64];
    lw_time_format_iso8601(as_of, label, sizeof label);
    double tl[2][MAX_REPS], ta[2][MAX_REPS];
    size_t nrows = 0;
    int same = 1, same_verdicts = 1;
    for (int r = 0; r < reps; r++) {
        lw_session_t *s[2] = {NULL, NULL};
        const lw_analysis_t *an[2] = {NULL, NULL};
        for (int k = 0; k < 2; k++) {
            lw_session_range_t range = {.as_of_ms = as_of,
                                        .window = cfg->analysis_window,
                                        .kind = LW_SESSION_PERIODS,
                                        .tree_only = k == 1};
            double t0 = cpu_ms();
            if (lw_session_from_store(cfg, store, &range, &s[k], err, sizeof err) != LW_OK) {
                fprintf(stderr, "bench_eval: %s\n", err);
                return 1;
            }
            tl[k][r] = cpu_ms() - t0;
            t0 = cpu_ms();
            if (lw_session_analyze(s[k], &cfg->analysis, &an[k], err, sizeof err) != LW_OK) {
                fprintf(stderr, "bench_eval: analysis: %s\n", err);
                return 1;
            }
            ta[k][r] = cpu_ms() - t0;
        }
        nrows = lw_session_input(s[0])->nrows;
        same = same && same_rows(s[0], s[1]);
        for (size_t i = 0; i < an[0]->nedges; i++)
            same_verdicts = same_verdicts && an[0]->edges[i].verdict == an[1]->edges[i].verdict &&
                            (an[0]->edges[i].p == an[1]->edges[i].p ||
                             (isnan(an[0]->edges[i].p) && isnan(an[1]->edges[i].p)));
        lw_session_destroy(s[0]);
        lw_session_destroy(s[1]);
    }
    printf("evaluation as of %s, %zu rows (analysis.window %zu, max_lag %zu), %zu metrics, "
           "median of %d, CPU ms:\n",
           label, nrows, (size_t)cfg->analysis_window, (size_t)cfg->analysis.max_lag, cfg->nmetrics,
           reps);
    double lf = median(tl[0], reps), ll = median(tl[1], reps);
    double af = median(ta[0], reps), al = median(ta[1], reps);
    printf("  load, every metric:   %8.1f   + analysis %8.1f = %8.1f\n", lf, af, lf + af);
    printf("  load, tree_only:      %8.1f   + analysis %8.1f = %8.1f   (%.2fx)\n", ll, al, ll + al,
           (lf + af) / (ll + al));
    printf("  same gaps and tree columns: %s; same verdicts and p-values: %s\n",
           same ? "yes" : "NO", same_verdicts ? "yes" : "NO");
    lw_store_close(store);
    lw_config_free(cfg);
    return same && same_verdicts ? 0 : 1;
}
