/*
 * bench_kafka.c - Kafka ingest throughput of leadwatch against librdkafka's
 * mock cluster on loopback, measured in the same run as a bare librdkafka
 * consumer that only counts the same messages; and the daemon's peak RSS
 * with 1,000,000 distinct users in one day.
 *
 * usage: bench_kafka [MESSAGES] [PAIRS] [RSS_USERS] [KEY=VALUE ...]
 *   MESSAGES   simulated events produced once (default 2,000,000)
 *   PAIRS      bare + leadwatch runs, alternating which goes first (9)
 *   RSS_USERS  distinct users (one event each, one day) for the RSS run
 *              (1,000,000; 0 skips it)
 *   KEY=VALUE  librdkafka properties applied identically to the bare
 *              consumer, leadwatch's consumer and the RSS run;
 *              producer.KEY=VALUE goes to the producers only, e.g.
 *              producer.compression.codec=zstd for a compressed topic
 *   BENCH_KAFKA_NO_DEDUP=1 (environment) turns leadwatch's messageId dedup
 *              off (format segment dedups by default; the bare consumer
 *              does no such work), to show what dedup costs per message
 *   BENCH_KAFKA_BROKERS=N (environment) gives the mock cluster N brokers
 *              (default 1: one librdkafka broker thread fetches and
 *              decompresses every partition, the limit of both consumers
 *              on zstd, bench/RESULTS.md issue 19, session 12)
 *   BENCH_KAFKA_VS_WORK=N (environment) runs, in leadwatch's place in every
 *              pair, the bare consumer hashing each payload N times on its
 *              polling thread (XXH3, seeded by the previous hash: ~15 ns a
 *              209-byte payload here, all in L1, no memory traffic).  The
 *              ratio is then what a consumer that spends that much CPU per
 *              message reaches against the idle one on this machine: the
 *              yardstick leadwatch's ratio is read against (bench/RESULTS.md,
 *              issue 19, session 12: ~100 ns a message gave 0.77-0.80)
 *
 * Each consumer runs with its own defaults, as a user would run it: the
 * bare consumer with librdkafka's, leadwatch with leadwatch's (librdkafka's
 * plus the bounded prefetch of consumer.h, and on librdkafka < 2.2 its
 * fetch wake-up); KEY=VALUE overrides both alike.
 *
 * Set-up: `leadwatch mock-kafka` (the binary next to this one) runs in its
 * own process so its memory is not ours; topics have 128 partitions.  The
 * simulator's events (seed 1, keyed by user, ~209 bytes) are produced ONCE,
 * before any consumer runs: the mock keeps only the newest 5 MiB or
 * 100,000 message sets per partition, and 2,000,000 events are ~3.2 MiB
 * per partition, so nothing is evicted (leadwatch checks it consumed
 * exactly MESSAGES with lag 0) and every run reads identical, already
 * stored data with no producer competing for the two cores.
 *
 * Throughput: every run subscribes in a fresh group (the mock's join takes
 * ~3 s and is excluded) and is timed from its first message to its last.
 * Both consumers have leadwatch's forced properties (enable.auto.commit=
 * false, enable.auto.offset.store=false, enable.partition.eof=true) and
 * auto.offset.reset=earliest.  The bare consumer is the canonical loop:
 * rd_kafka_consumer_poll, count, rd_kafka_message_destroy.  leadwatch runs
 * the daemon's loop: lw_consumer_poll (decode, aggregate: count, sum, two
 * HyperLogLog distincts, a ratio) and, when the pipeline asks,
 * lw_consumer_flush (one SQLite transaction, then an async offset commit);
 * its time includes the final flush.  Pairs alternate B L / L B so neither
 * always runs on a warmer mock.  Reported: every pair with both consumers'
 * main-thread CPU seconds, the median of each rate and the median (and
 * range) of the per-pair ratios.
 *
 * Stall: the time a consumer spent waiting with its queue empty after its
 * first message (a poll that found nothing, then blocked).  librdkafka
 * 2.0.x stops fetching when its prefetch queue reaches queued.min.messages
 * or queued.max.messages.kbytes and, without a wake-up when the
 * application drains it, fetches again only when the broker thread's
 * 1-second serve window ends (fixed in 2.2 by fetch.queue.backoff.ms).
 * leadwatch's consumer wakes the fetchers itself (consumer.c); the bare
 * consumer does not, which is why it keeps librdkafka's large queue here.
 *
 * CPU: each pair also prints, over each consumer's timed span, its main
 * thread's CPU, the rest of its process (librdkafka's threads) and the mock
 * broker process's (from /proc/PID/stat), so a run shows whether the two
 * cores were the limit (the bare consumer uses ~1.7 of them here).
 *
 * RSS: `leadwatch run --exit-when-idle` in a child process consumes one
 * event per distinct user, all on one day, with --kafka KEY=VALUE; the
 * child's VmHWM (sampled every 20 ms from its exec until it exits) is
 * reported, for RSS_RUNS runs (median and range).
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "leadwatch/ingest/consumer.h"
#include "leadwatch/ingest/produce.h"
#include "leadwatch/model/simulate.h"

#define PARTITIONS "128"
#define RSS_RUNS 3
#define MAX_EXTRA 32
#define MAX_PAIRS 101

/* KEY=VALUE properties from the command line, for every consumer. */
static lw_kafka_prop_t extra[MAX_EXTRA];
static size_t nextra;
/* producer.KEY=VALUE: for the producers (compression.codec) */
static lw_kafka_prop_t pextra[MAX_EXTRA];
static size_t npextra;

/* The producers' properties: bootstrap, linger.ms=20, then producer.KEY=VALUE. */
static lw_producer_t *bench_producer(const char *boot, char *err, size_t errsz)
{
    lw_kafka_prop_t props[2 + MAX_EXTRA] = {{"bootstrap.servers", boot}, {"linger.ms", "20"}};
    memcpy(props + 2, pextra, npextra * sizeof *pextra);
    return lw_producer_new(props, 2 + npextra, err, errsz);
}

static const char bench_yaml[] =
    "source: {format: segment%s}\n"
    "store: {path: %s, flush_events: 200000, flush_interval: 1s}\n"
    "buckets: {size: 1d, grace: 60d}\n"
    "metrics:\n"
    "  - {name: plays, count: true, where: {event: track_played}}\n"
    "  - {name: listening_ms, sum: properties.duration_ms, where: {event: track_played}}\n"
    "  - {name: active_users, distinct: user, where: {event: [session_start, track_played]}}\n"
    "  - {name: sharers, distinct: user, where: {event: track_shared}}\n"
    "  - {name: ms_per_user, ratio: [listening_ms, active_users]}\n"
    "tree: {nsm: listening_ms, inputs: [{metric: active_users, kind: breadth}]}\n";

/* BENCH_KAFKA_NO_DEDUP=1: source.dedup.enabled false (the simulator's
 * events carry a messageId, which format segment dedups by default). */
static const char *dedup_off(void)
{
    const char *e = getenv("BENCH_KAFKA_NO_DEDUP");
    return e && *e && *e != '0' ? ", dedup: {enabled: false}" : "";
}

/* seconds on a clock: CLOCK_MONOTONIC, or a thread's or the process's CPU time */
static double cpu_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
    return cpu_s(CLOCK_MONOTONIC);
}

static int64_t now_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pid_t mock_pid; /* the mock-kafka child, stopped on every exit path */

/* CPU seconds (user + system) the mock-kafka child has used so far, from
 * /proc/PID/stat (fields 14 and 15, in clock ticks); -1 when unreadable. */
static double mock_cpu_s(void)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)mock_pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_kafka: %s: %s\n", what, err);
    if (mock_pid > 0)
        kill(mock_pid, SIGTERM);
    exit(1);
}

/* Start `leadwatch mock-kafka`; returns its pid and fills the bootstrap address. */
static pid_t start_mock(const char *lw, char *boot, size_t size)
{
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        const char *brokers = getenv("BENCH_KAFKA_BROKERS");
        execl(lw, lw, "mock-kafka", "--log-level", "warn", "--brokers",
              brokers && *brokers ? brokers : "1", "--partitions", PARTITIONS, "--topic", "bench",
              "--topic", "rss", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    if (!f || !fgets(boot, (int)size, f))
        die("mock-kafka", "no bootstrap address (is the leadwatch binary next to this one?)");
    boot[strcspn(boot, "\n")] = '\0';
    return pid;
}

static int64_t produce_sim(const char *boot, int64_t n)
{
    char err[512];
    lw_producer_t *p = bench_producer(boot, err, sizeof err);
    if (!p)
        die("producer", err);
    lw_sim_opts_t o;
    lw_sim_opts_default(&o);
    lw_sim_t *sim = lw_sim_new(&o, err, sizeof err);
    if (!sim)
        die("simulator", err);
    char line[LW_SIM_MAX_LINE + 1];
    int64_t i = 0, bytes = 0;
    for (; i < n; i++) {
        size_t len;
        lw_sim_meta_t m;
        if (lw_sim_next(sim, line, sizeof line, &len, &m, err, sizeof err) != LW_OK || len == 0)
            break;
        bytes += (int64_t)len;
        if (lw_producer_send(p, "bench", m.user.ptr, m.user.len, line, len, NULL, 0, err,
                             sizeof err) != LW_OK)
            die("produce", err);
    }
    if (lw_producer_flush(p, 60000, err, sizeof err) != LW_OK)
        die("produce", err);
    lw_producer_destroy(p);
    lw_sim_destroy(sim);
    printf("produced %lld simulated events (%.0f bytes each on average) to %s partitions\n",
           (long long)i, i ? (double)bytes / (double)i : 0.0, PARTITIONS);
    return i;
}

/* One measured run: messages/s from first to last, and the time stalled. */
typedef struct {
    double rate, stall_s, main_cpu, all_cpu, wall;
    double mock_cpu; /* the mock broker process's CPU over the timed span */
    int64_t wakeups; /* leadwatch: fetch wake-ups (lw_consumer_stats) */
} run_t;

/* base, then KEY=VALUE from the command line; returns the count. */
static size_t with_extra(lw_kafka_prop_t *out, const lw_kafka_prop_t *base, size_t nbase)
{
    memcpy(out, base, nbase * sizeof *base);
    memcpy(out + nbase, extra, nextra * sizeof *extra);
    return nbase + nextra;
}

/*
 * The bare consumer: subscribe, poll, count.  A poll that finds nothing is
 * followed by a blocking one, which is timed as stall once counting began;
 * no clock is read per message.
 */
/* The bare loop; `work` > 0: hash each payload that many times (BENCH_KAFKA_VS_WORK). */
static run_t run_bare(const char *boot, const char *group, int64_t n, int work)
{
    char err[512];
    const lw_kafka_prop_t base[] = {
        {"bootstrap.servers", boot},           {"group.id", group},
        {"auto.offset.reset", "earliest"},     {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"}, {"enable.partition.eof", "true"}};
    lw_kafka_prop_t props[6 + MAX_EXTRA];
    size_t np = with_extra(props, base, 6);
    rd_kafka_conf_t *conf = lw_kafka_conf_new(props, np, NULL, 0, err, sizeof err);
    if (!conf)
        die("bare conf", err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk)
        die("bare consumer", err);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, "bench", RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, t);
    rd_kafka_topic_partition_list_destroy(t);
    int64_t count = 0;
    uint64_t h = 0;
    double t0 = 0, stall = 0, c0m = 0, c0a = 0, c0k = 0;
    while (count < n) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 0);
        if (!m) {
            double w = now_s();
            m = rd_kafka_consumer_poll(rk, 100);
            if (count > 0)
                stall += now_s() - w;
            if (!m)
                continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && count++ == 0) {
            t0 = now_s();
            c0m = cpu_s(CLOCK_THREAD_CPUTIME_ID);
            c0a = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
            c0k = mock_cpu_s();
        }
        for (int w = 0; w < work && m->payload; w++)
            h = XXH3_64bits_withSeed(m->payload, m->len, h); /* a chain: not hoisted or elided */
        rd_kafka_message_destroy(m);
    }
    double t1 = now_s();
    if (work > 0 && h == 0)
        fprintf(stderr, "bench_kafka: the hash chain ended at 0\n"); /* h is used */
    double c1m = cpu_s(CLOCK_THREAD_CPUTIME_ID), c1a = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
    double c1k = mock_cpu_s();
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return (run_t){(double)(n - 1) / (t1 - t0), stall, c1m - c0m, c1a - c0a, t1 - t0, c1k - c0k, 0};
}

/* A store file and its WAL companions: removed before a run too, since one
 * left by a crashed run holds positions at the end of the topic, and the
 * next run would then wait forever for messages it already counted. */
static void remove_store(const char *db)
{
    char side[1100];
    unlink(db);
    snprintf(side, sizeof side, "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db);
    unlink(side);
}

/* leadwatch's path: lw_consumer + pipeline + a SQLite store, the daemon's loop. */
static run_t run_leadwatch(const char *boot, const char *group, int64_t n, const char *dir)
{
    char err[512], yaml[4096], db[1024];
    snprintf(db, sizeof db, "%s/bench-kafka-%s.db", dir, group);
    remove_store(db);
    snprintf(yaml, sizeof yaml, bench_yaml, dedup_off(), db);
    lw_config_t *cfg = NULL;
    lw_store_t *store = NULL;
    if (lw_config_parse(yaml, strlen(yaml), "bench.yaml", &cfg, err, sizeof err) != LW_OK)
        die("config", err);
    if (lw_store_open(db, 0, &store, err, sizeof err) != LW_OK)
        die("store", err);
    lw_pipeline_t *p = lw_pipeline_new(cfg, store, err, sizeof err);
    if (!p)
        die("pipeline", err);
    const lw_kafka_prop_t base[] = {{"bootstrap.servers", boot}, {"group.id", group}};
    lw_kafka_prop_t props[2 + MAX_EXTRA];
    size_t np = with_extra(props, base, 2);
    const char *topics[] = {"bench"};
    lw_kafka_settings_t ks = {props, np, topics, 1, NULL};
    lw_consumer_t *c = lw_consumer_new(&ks, p, err, sizeof err);
    if (!c)
        die("consumer", err);
    int64_t fed = 0;
    double t0 = 0, stall = 0, c0m = 0, c0a = 0, c0k = 0;
    while (fed < n) {
        int nfed;
        int64_t mono = now_ms(CLOCK_MONOTONIC);
        int64_t room = lw_pipeline_room(p); /* as the daemon polls */
        int most = room < LW_CONSUMER_POLL_MAX ? (int)room : LW_CONSUMER_POLL_MAX;
        if (lw_consumer_poll(c, 0, most, now_ms(CLOCK_REALTIME), mono, &nfed, err, sizeof err) !=
            LW_OK)
            die("poll", err);
        if (nfed == 0) {
            double w = now_s();
            if (lw_consumer_poll(c, 100, most, now_ms(CLOCK_REALTIME), mono, &nfed, err,
                                 sizeof err) != LW_OK)
                die("poll", err);
            if (fed > 0)
                stall += now_s() - w;
        }
        if (nfed > 0 && fed == 0) {
            t0 = now_s();
            c0m = cpu_s(CLOCK_THREAD_CPUTIME_ID);
            c0a = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
            c0k = mock_cpu_s();
        }
        fed += nfed;
        mono = now_ms(CLOCK_MONOTONIC);
        if (lw_pipeline_should_flush(p, mono) &&
            lw_consumer_flush(c, mono, false, err, sizeof err) != LW_OK)
            die("flush", err);
    }
    if (lw_consumer_flush(c, now_ms(CLOCK_MONOTONIC), true, err, sizeof err) != LW_OK)
        die("flush", err);
    double t1 = now_s();
    double c1m = cpu_s(CLOCK_THREAD_CPUTIME_ID), c1a = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
    double c1k = mock_cpu_s();
    lw_consumer_stats_t st;
    lw_consumer_stats(c, &st);
    if (st.messages != n || st.lag_total != 0)
        die("leadwatch", "did not consume exactly the produced messages");
    lw_consumer_close(c, now_ms(CLOCK_MONOTONIC), 5000, err, sizeof err);
    lw_consumer_destroy(c);
    lw_pipeline_destroy(p);
    lw_store_close(store);
    lw_config_free(cfg);
    remove_store(db);
    return (run_t){(double)(n - 1) / (t1 - t0),
                   stall,
                   c1m - c0m,
                   c1a - c0a,
                   t1 - t0,
                   c1k - c0k,
                   st.fetch_wakeups};
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts a copy); also the range. */
static double median(const double *v, int n, double *lo, double *hi)
{
    double s[MAX_PAIRS];
    memcpy(s, v, (size_t)n * sizeof *v);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    *lo = s[0];
    *hi = s[n - 1];
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void produce_users(const char *boot, long users)
{
    char err[512], line[256], key[32];
    lw_producer_t *p = bench_producer(boot, err, sizeof err);
    if (!p)
        die("producer", err);
    for (long i = 0; i < users; i++) {
        int kl = snprintf(key, sizeof key, "user%ld", i);
        int n = snprintf(line, sizeof line,
                         "{\"type\":\"track\",\"event\":\"track_played\",\"userId\":\"%s\","
                         "\"timestamp\":\"2024-03-01T%02ld:%02ld:00Z\",\"properties\":"
                         "{\"duration_ms\":%ld}}",
                         key, i % 24, i / 24 % 60, 1000 + i % 300000);
        if (lw_producer_send(p, "rss", key, (size_t)kl, line, (size_t)n, NULL, 0, err,
                             sizeof err) != LW_OK)
            die("produce", err);
    }
    if (lw_producer_flush(p, 120000, err, sizeof err) != LW_OK)
        die("produce", err);
    lw_producer_destroy(p);
}

/* `leadwatch run` in a child until idle; returns its peak RSS in KiB. */
static long rss_run(const char *lw, const char *boot, const char *dir, int run)
{
    char cfgpath[1024], db[1024], yaml[4096], kb[512], group[32];
    snprintf(group, sizeof group, "group.id=rss-%d", run);
    snprintf(db, sizeof db, "%s/bench-kafka-rss.db", dir);
    remove_store(db);
    snprintf(cfgpath, sizeof cfgpath, "%s/bench-kafka-rss.yaml", dir);
    snprintf(yaml, sizeof yaml, bench_yaml, dedup_off(), db);
    FILE *f = fopen(cfgpath, "w");
    if (!f || fputs(yaml, f) < 0 || fclose(f) != 0)
        die(cfgpath, strerror(errno));
    snprintf(kb, sizeof kb, "bootstrap.servers=%s", boot);
    /* a close-on-exec pipe tells the parent when the child has exec'd: until
     * then the child's /proc status shows the copy of *this* process's
     * address space (and its VmHWM), which is not the daemon's */
    int execd[2];
    if (pipe(execd) != 0 || fcntl(execd[1], F_SETFD, FD_CLOEXEC) != 0)
        die("pipe", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        close(execd[0]);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        char *argv[16 + 2 * MAX_EXTRA];
        int a = 0;
        const char *fixed[] = {
            lw,        "run", "-c",      cfgpath, "--log-level",      "warn", "--kafka", kb,
            "--kafka", group, "--topic", "rss",   "--exit-when-idle", "1"};
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
            argv[a++] = (char *)fixed[i];
        for (size_t i = 0; i < nextra; i++) {
            static char kv[MAX_EXTRA][512];
            snprintf(kv[i], sizeof kv[i], "%s=%s", extra[i].key, extra[i].value);
            argv[a++] = "--kafka";
            argv[a++] = kv[i];
        }
        argv[a] = NULL;
        execv(lw, argv);
        _exit(127);
    }
    /* ru_maxrss would carry this process's peak across fork+exec; the child's
     * own VmHWM (per address space, monotonic) is read while it runs, from
     * the moment it has exec'd (the pipe's write end closes then) */
    close(execd[1]);
    char byte;
    while (read(execd[0], &byte, 1) < 0 && errno == EINTR)
        ;
    close(execd[0]);
    char status_path[64];
    snprintf(status_path, sizeof status_path, "/proc/%d/status", (int)pid);
    long hwm = 0;
    int status;
    for (;;) {
        FILE *sf = fopen(status_path, "r");
        char line[256];
        while (sf && fgets(line, sizeof line, sf)) {
            long v;
            if (sscanf(line, "VmHWM: %ld kB", &v) == 1 && v > hwm)
                hwm = v;
        }
        if (sf)
            fclose(sf);
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0)
            die("waitpid", strerror(errno));
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("leadwatch run", "failed");
    remove_store(db);
    unlink(cfgpath);
    return hwm;
}

int main(int argc, char **argv)
{
    int64_t n = argc > 1 ? strtoll(argv[1], NULL, 10) : 2000000;
    int pairs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 9;
    long users = argc > 3 ? strtol(argv[3], NULL, 10) : 1000000;
    const char *vw = getenv("BENCH_KAFKA_VS_WORK");
    int vs_work = vw && *vw ? (int)strtol(vw, NULL, 10) : 0;
    char lname[48] = "leadwatch"; /* what runs opposite the bare consumer */
    if (vs_work > 0)
        snprintf(lname, sizeof lname, "bare+%d hashes", vs_work);
    if (n < 2 || pairs < 1 || pairs > MAX_PAIRS || users < 0 || vs_work < 0 || vs_work > 1000) {
        fprintf(stderr,
                "usage: bench_kafka [MESSAGES>=2] [PAIRS 1..%d] [RSS_USERS] [KEY=VALUE ...]\n",
                MAX_PAIRS);
        return 2;
    }
    for (int i = 4; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i] || nextra == MAX_EXTRA || npextra == MAX_EXTRA) {
            fprintf(stderr, "bench_kafka: %s: want KEY=VALUE (at most %d)\n", argv[i], MAX_EXTRA);
            return 2;
        }
        *eq = '\0';
        if (strncmp(argv[i], "producer.", 9) == 0)
            pextra[npextra++] = (lw_kafka_prop_t){argv[i] + 9, eq + 1};
        else
            extra[nextra++] = (lw_kafka_prop_t){argv[i], eq + 1};
    }
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char lw[4096];
    snprintf(lw, sizeof lw, "%s", argv[0]);
    char *slash = strrchr(lw, '/');
    snprintf(slash ? slash + 1 : lw, sizeof lw - (size_t)(slash ? slash + 1 - lw : 0), "leadwatch");

    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("librdkafka %s; consumer properties:", rd_kafka_version_str());
    for (size_t i = 0; i < nextra; i++)
        printf(" %s=%s", extra[i].key, extra[i].value);
    printf("%s; producer:", nextra ? "" : " each consumer's defaults");
    for (size_t i = 0; i < npextra; i++)
        printf(" %s=%s", pextra[i].key, pextra[i].value);
    printf("%s\n", npextra ? "" : " uncompressed");
    char boot[256];
    pid_t mock = start_mock(lw, boot, sizeof boot);
    mock_pid = mock;
    n = produce_sim(boot, n);

    double bare[MAX_PAIRS], lwr[MAX_PAIRS], ratio[MAX_PAIRS];
    for (int r = 0; r < pairs; r++) {
        char gb[32], gl[32];
        snprintf(gb, sizeof gb, "bare-%d", r);
        snprintf(gl, sizeof gl, "lw-%d", r);
        run_t b, l;
        if (r % 2 == 0) {
            b = run_bare(boot, gb, n, 0);
            l = vs_work > 0 ? run_bare(boot, gl, n, vs_work) : run_leadwatch(boot, gl, n, tmp);
        } else {
            l = vs_work > 0 ? run_bare(boot, gl, n, vs_work) : run_leadwatch(boot, gl, n, tmp);
            b = run_bare(boot, gb, n, 0);
        }
        bare[r] = b.rate;
        lwr[r] = l.rate;
        ratio[r] = l.rate / b.rate;
        printf("pair %d (%s): bare %.0f msgs/s (stalled %.2f s), %s %.0f msgs/s "
               "(stalled %.2f s, %lld fetch wake-ups): ratio %.2f\n",
               r + 1, r % 2 == 0 ? "B L" : "L B", b.rate, b.stall_s, lname, l.rate, l.stall_s,
               (long long)l.wakeups, ratio[r]);
        printf("    CPU seconds over the timed span: bare %.2f s wall, main thread %.2f, other "
               "threads %.2f, mock broker %.2f; %s %.2f s wall, main thread %.2f, other "
               "threads %.2f, mock broker %.2f\n",
               b.wall, b.main_cpu, b.all_cpu - b.main_cpu, b.mock_cpu, lname, l.wall, l.main_cpu,
               l.all_cpu - l.main_cpu, l.mock_cpu);
    }
    double blo, bhi, llo, lhi, rlo, rhi;
    double bm = median(bare, pairs, &blo, &bhi);
    double lm = median(lwr, pairs, &llo, &lhi);
    double rm = median(ratio, pairs, &rlo, &rhi);
    printf("kafka ingest, median of %d pairs: bare librdkafka %.0f msgs/s (%.0f-%.0f), %s "
           "%.0f msgs/s (%.0f-%.0f); per-pair ratio median %.2f (%.2f-%.2f)%s\n",
           pairs, bm, blo, bhi, lname, lm, llo, lhi, rm, rlo, rhi,
           vs_work > 0 ? "" : ", target >= 0.90");

    if (users > 0) {
        produce_users(boot, users);
        double mib[RSS_RUNS], lo, hi;
        for (int r = 0; r < RSS_RUNS; r++) {
            mib[r] = (double)rss_run(lw, boot, tmp, r) / 1024.0;
            printf("RSS run %d: %.1f MiB\n", r + 1, mib[r]);
        }
        double m = median(mib, RSS_RUNS, &lo, &hi);
        printf("peak RSS of `leadwatch run` over %ld distinct users in one day, median of %d: "
               "%.1f MiB (%.1f-%.1f; target <= 64 MiB)\n",
               users, RSS_RUNS, m, lo, hi);
    }
    kill(mock, SIGTERM);
    waitpid(mock, NULL, 0);
    return 0;
}
