/*
 * bench_ingest.c - end-to-end ingest throughput (parse + match + aggregate +
 * HLL + SQLite commits) on one core, with peak RSS.
 *
 * usage: bench_ingest [EVENTS] [RUNS] [DIR]
 *   EVENTS  events in the generated file (default 2,000,000)
 *   RUNS    timed runs; the median is reported (default 5)
 *   DIR     where the event file and stores go (default $TMPDIR or /tmp)
 *
 * The file is generated once with a fixed seed: ~150-byte Segment events of
 * six types over 30 days, 1,000,000 distinct users, roughly in time order.
 * Each run ingests it into a fresh store in a forked child (so the child's
 * ru_maxrss is the ingest's own peak RSS, not the generator's) through the
 * same lw_ingest_path the `ingest` command uses, with the config below
 * (5 aggregated metrics incl. 2 distinct sketches, one ratio).  It then
 * repeats with half the events to show peak RSS does not grow with the
 * event count.  Each run reports its wall time and the child's CPU time
 * (CLOCK_PROCESS_CPUTIME_ID over the same span): on shared cores the CPU
 * rate is the figure to compare.  BENCH_INGEST_KEEP=1 keeps the generated
 * file (DIR/bench_ingest_EVENTS.jsonl) for profiling `leadwatch ingest`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "leadwatch/ingest/ingest.h"

static const char bench_yaml[] =
    "source: {format: segment}\n"
    "store: {flush_events: 200000, flush_interval: 1s}\n"
    "buckets: {size: 1d, grace: 2d}\n"
    "metrics:\n"
    "  - {name: listening_minutes, sum: properties.duration_ms, scale: 1.6666666666666667e-05,"
    " where: {event: track_played}}\n"
    "  - {name: active_users, distinct: user, where: {event: [session_start, track_played]}}\n"
    "  - {name: ios_sessions, count: true, where: {event: session_start, properties.platform: "
    "ios}}\n"
    "  - {name: minutes_per_user, ratio: [listening_minutes, active_users]}\n"
    "  - {name: revenue, sum: properties.revenue, where: {event: purchase}}\n"
    "  - {name: searchers, distinct: user, where: {event: search}}\n"
    "tree:\n"
    "  nsm: listening_minutes\n"
    "  kpi: revenue\n"
    "  inputs: [{metric: active_users, kind: breadth}, {metric: minutes_per_user, kind: depth},"
    " {metric: ios_sessions, kind: frequency}]\n";

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

/* splitmix64: a tiny deterministic generator for the benchmark's data */
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static long file_size;

static int generate(const char *path, long n)
{
    static const char *const events[] = {"session_start", "track_played", "track_played",
                                         "track_played",  "search",       "playlist_created",
                                         "track_shared",  "purchase"};
    static const char *const platforms[] = {"ios", "android", "web"};
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    long long t0 = 1767225600000LL; /* 2026-01-01 */
    long long span = 30LL * 86400000LL;
    rng_state = 0x9E3779B97F4A7C15u;
    for (long i = 0; i < n; i++) {
        long long t = t0 + span * i / n + (long long)(rnd() % 600000);
        time_t secs = (time_t)(t / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        const char *ev = events[rnd() % 8];
        unsigned user = (unsigned)(rnd() % 1000000);
        fprintf(f,
                "{\"type\":\"track\",\"event\":\"%s\",\"userId\":\"u%07u\","
                "\"timestamp\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"properties\":{",
                ev, user, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                tm.tm_sec, (int)(t % 1000));
        if (ev[0] == 'p' && ev[1] == 'u')
            fprintf(f, "\"revenue\":%u.%02u,\"currency\":\"EUR\"}}\n", (unsigned)(rnd() % 50),
                    (unsigned)(rnd() % 100));
        else
            fprintf(f, "\"duration_ms\":%u,\"platform\":\"%s\"}}\n", (unsigned)(rnd() % 300000),
                    platforms[rnd() % 3]);
    }
    file_size = ftell(f);
    return fclose(f);
}

typedef struct {
    double seconds;
    double cpu_seconds; /* the child's CPU time (user + system) over the same span */
    long long events;
    long maxrss_kib;
} run_t;

/* In a child: ingest `file` into a fresh store; report via a pipe. */
static int run_once(const char *file, const char *db, run_t *out)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    unlink(db);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fds[0]);
        char err[1024];
        lw_config_t *cfg = NULL;
        lw_store_t *store = NULL;
        if (lw_config_parse(bench_yaml, strlen(bench_yaml), "bench", &cfg, err, sizeof err) ||
            lw_store_open(db, 0, &store, err, sizeof err)) {
            fprintf(stderr, "bench_ingest: %s\n", err);
            _exit(1);
        }
        lw_pipeline_t *p = lw_pipeline_new(cfg, store, err, sizeof err);
        if (!p) {
            fprintf(stderr, "bench_ingest: %s\n", err);
            _exit(1);
        }
        struct timespec a, b, ca, cb;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
        clock_gettime(CLOCK_MONOTONIC, &a);
        lw_ingest_opts_t o = {0};
        lw_ingest_result_t res;
        if (lw_ingest_path(p, file, &o, &res, err, sizeof err) != LW_OK) {
            fprintf(stderr, "bench_ingest: %s\n", err);
            _exit(1);
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
        lw_pipeline_stats_t st;
        lw_pipeline_stats(p, &st);
        run_t r = {.seconds = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
                   .cpu_seconds =
                       (double)(cb.tv_sec - ca.tv_sec) + (double)(cb.tv_nsec - ca.tv_nsec) / 1e9,
                   .events = st.accepted};
        if (write(fds[1], &r, sizeof r) != (ssize_t)sizeof r)
            _exit(1);
        lw_pipeline_destroy(p);
        lw_store_close(store);
        lw_config_free(cfg);
        _exit(0);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], out, sizeof *out);
    close(fds[0]);
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        got != (ssize_t)sizeof *out)
        return -1;
    out->maxrss_kib = ru.ru_maxrss;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static int measure(const char *dir, long n, int runs, double *rate, double *cpu_rate, long *rss)
{
    char file[512], db[512];
    snprintf(file, sizeof file, "%s/bench_ingest_%ld.jsonl", dir, n);
    snprintf(db, sizeof db, "%s/bench_ingest_%ld.db", dir, n);
    if (generate(file, n) != 0) {
        fprintf(stderr, "bench_ingest: cannot write %s: %s\n", file, strerror(errno));
        return -1;
    }
    double rates[32], cpu_rates[32];
    long rsss[32];
    for (int i = 0; i < runs; i++) {
        run_t r;
        if (run_once(file, db, &r) != 0) {
            fprintf(stderr, "bench_ingest: run failed\n");
            return -1;
        }
        if (r.events != n) {
            fprintf(stderr, "bench_ingest: accepted %lld of %ld events\n", r.events, n);
            return -1;
        }
        rates[i] = (double)r.events / r.seconds;
        cpu_rates[i] = (double)r.events / r.cpu_seconds;
        rsss[i] = r.maxrss_kib;
        printf(
            "  run %d: %ld events in %.3f s = %.2f M events/s, %.3f CPU s = %.2f M events/CPU-s, "
            "peak RSS %.1f MiB\n",
            i + 1, n, r.seconds, rates[i] / 1e6, r.cpu_seconds, cpu_rates[i] / 1e6,
            (double)r.maxrss_kib / 1024.0);
    }
    qsort(rates, (size_t)runs, sizeof rates[0], cmp_double);
    qsort(cpu_rates, (size_t)runs, sizeof cpu_rates[0], cmp_double);
    qsort(rsss, (size_t)runs, sizeof rsss[0], cmp_long);
    *rate = rates[runs / 2];
    *cpu_rate = cpu_rates[runs / 2];
    *rss = rsss[runs / 2];
    if (!getenv("BENCH_INGEST_KEEP")) /* to profile `leadwatch ingest` on the same file */
        unlink(file);
    unlink(db);
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", db);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", db);
    unlink(wal);
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000000;
    int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
    const char *dir = argc > 3 ? argv[3] : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (n < 1000 || runs < 1 || runs > 31) {
        fprintf(stderr, "usage: bench_ingest [EVENTS>=1000] [RUNS 1..31] [DIR]\n");
        return 2;
    }
    double rate, half_rate, cpu_rate, half_cpu_rate;
    long rss, half_rss;
    printf("bench_ingest: %ld events, %d runs, one core\n", n, runs);
    if (measure(dir, n, runs, &rate, &cpu_rate, &rss) != 0)
        return 1;
    printf("file size: %.1f MB (%.0f bytes/event)\n", (double)file_size / 1e6,
           (double)file_size / (double)n);
    printf("bench_ingest: %ld events (half), %d runs\n", n / 2, runs);
    if (measure(dir, n / 2, runs, &half_rate, &half_cpu_rate, &half_rss) != 0)
        return 1;
    printf("\nRESULT events=%ld median_rate=%.3fM/s cpu_rate=%.3fM/CPU-s peak_rss=%.1fMiB | "
           "events=%ld median_rate=%.3fM/s cpu_rate=%.3fM/CPU-s peak_rss=%.1fMiB | rss_ratio=%.3f "
           "target_rate=3.0M/s %s\n",
           n, rate / 1e6, cpu_rate / 1e6, (double)rss / 1024.0, n / 2, half_rate / 1e6,
           half_cpu_rate / 1e6, (double)half_rss / 1024.0, (double)rss / (double)half_rss,
           rate >= 3e6 ? "MET" : "NOT MET");
    return 0;
}
