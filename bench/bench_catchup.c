/*
 * bench_catchup.c - the daemon's evaluator over a store, close by close
 * (issue 17): what each bucket close costs and what a catch-up takes.
 *
 * The evaluator (alert/watch.h, what `run`'s evaluator thread runs) is
 * created on STORE with CONFIG and given the watermark that closes one more
 * bucket at a time, from FROM (default: the store's oldest bucket + the
 * analysis window - 1, so every evaluation has a full window) to the
 * newest stored bucket, or COUNT closes.  Each close is timed (wall, the
 * monotonic clock, and the process' CPU time) and classed by its bucket:
 * "full" when the bucket ends at a UTC midnight (analysis.full_every's
 * default alignment; with daily buckets every close), "close" otherwise.
 * The store's evaluator position is set to the bucket before FROM first
 * and the verdict rows it writes stay in the store: run it on a copy.
 *
 * Only API that exists before and after issue 17 is used (lw_watch_new,
 * lw_watch_advance, lw_watch_stats), so the same file measures both trees.
 *
 * Usage: bench_catchup CONFIG STORE [COUNT [FROM_ISO]]
 * Prints one line per kind: closes, median and mean wall ms, median CPU
 * ms, then the total wall seconds of the run.
 */
#include "leadwatch/alert/watch.h"
#include "leadwatch/core/clock.h"
#include "leadwatch/core/log.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/model/config.h"
#include "leadwatch/stats/analyze.h"
#include "leadwatch/stats/ols.h"
#include "leadwatch/store/store.h"

#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double *wall, *cpu, sum;
    size_t n;
} kind_t;

static void report(const char *name, kind_t *k)
{
    double mean = k->n ? k->sum / (double)k->n : 0.0;
    double mw = bench_median(k->wall, k->n), mc = bench_median(k->cpu, k->n);
    printf("%-5s closes %6zu  median %9.3f ms  mean %9.3f ms  median cpu %9.3f ms\n", name, k->n,
           mw, mean, mc);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_catchup CONFIG STORE [COUNT [FROM_ISO]]\n");
        return 2;
    }
    char err[512];
    lw_stats_init();
    lw_log_set_level(LW_LOG_ERROR);
    lw_config_t *cfg = NULL;
    if (lw_config_load(argv[1], &cfg, err, sizeof err) != LW_OK) {
        fprintf(stderr, "bench_catchup: %s\n", err);
        return 1;
    }
    lw_store_t *st = NULL;
    if (lw_store_open(argv[2], 0, &st, err, sizeof err) != LW_OK) {
        fprintf(stderr, "bench_catchup: %s\n", err);
        return 1;
    }
    const int64_t size = cfg->buckets.size_ms, grace = cfg->buckets.grace_ms;
    int64_t lo, hi;
    if (lw_store_bucket_range(st, &lo, &hi, err, sizeof err) != LW_OK) {
        fprintf(stderr, "bench_catchup: %s\n", err);
        return 1;
    }
    int64_t from = lo + (int64_t)(cfg->analysis_window ? cfg->analysis_window - 1 : 0) * size;
    if (argc > 4 && !lw_time_parse_iso8601(argv[4], strlen(argv[4]), &from)) {
        fprintf(stderr, "bench_catchup: bad FROM %s\n", argv[4]);
        return 2;
    }
    size_t count = (size_t)((hi - from) / size + 1);
    if (argc > 3 && atol(argv[3]) > 0 && (size_t)atol(argv[3]) < count)
        count = (size_t)atol(argv[3]);
    if (lw_store_begin(st, err, sizeof err) != LW_OK ||
        lw_store_set_int(st, LW_WATCH_KEY_LAST, from - size, err, sizeof err) != LW_OK ||
        lw_store_commit(st, err, sizeof err) != LW_OK) {
        fprintf(stderr, "bench_catchup: %s\n", err);
        return 1;
    }
    lw_watch_deps_t d = {.cfg = cfg, .store = st};
    lw_watch_t *w = NULL;
    if (lw_watch_new(&d, 0, &w, err, sizeof err) != LW_OK) {
        fprintf(stderr, "bench_catchup: %s\n", err);
        return 1;
    }
    kind_t k[2] = {{0}};
    for (int i = 0; i < 2; i++) {
        k[i].wall = calloc(count, sizeof(double));
        k[i].cpu = calloc(count, sizeof(double));
    }
    const double t_start = bench_wall_ms();
    for (size_t i = 0; i < count; i++) {
        const int64_t b = from + (int64_t)i * size;
        const bool full = size >= LW_MS_PER_DAY || (b + size) % LW_MS_PER_DAY == 0;
        size_t n = 0;
        double w0 = bench_wall_ms(), c0 = bench_cpu_ms();
        if (lw_watch_advance(w, b + size + grace + 1, 0, &n, err, sizeof err) != LW_OK || n != 1) {
            fprintf(stderr, "bench_catchup: close %zu: %s (%zu evaluations)\n", i, err, n);
            return 1;
        }
        kind_t *kk = &k[full];
        kk->wall[kk->n] = bench_wall_ms() - w0;
        kk->cpu[kk->n] = bench_cpu_ms() - c0;
        kk->sum += kk->wall[kk->n];
        kk->n++;
    }
    const double total = (bench_wall_ms() - t_start) / 1000.0;
    char a[40], z[40];
    lw_time_format_iso8601(from, a, sizeof a);
    lw_time_format_iso8601(from + (int64_t)(count - 1) * size, z, sizeof z);
    printf("%zu closes %s .. %s, window %zu, max_lag %zu, %zu edges\n", count, a, z,
           cfg->analysis_window, cfg->analysis.max_lag,
           cfg->tree.ninputs + (cfg->tree.kpi >= 0 ? 1u : 0u));
    report("close", &k[0]);
    report("full", &k[1]);
    printf("total %.1f s wall (%.3f ms per close)\n", total, total * 1000.0 / (double)count);
    for (int i = 0; i < 2; i++) {
        free(k[i].wall);
        free(k[i].cpu);
    }
    lw_watch_destroy(w);
    lw_store_close(st);
    lw_config_free(cfg);
    return 0;
}
