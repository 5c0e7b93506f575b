/*
 * cli.c - subcommands of `leadwatch` (see cli.h).
 *
 * Each subcommand is a row in `commands`: name, one-line summary, the full
 * help text, and its function.  A function parses its own options with
 * getopt_long, loads the config (configuration errors → exit 2 with the
 * config module's "file:line: key: message"), does its work through the
 * library, and maps failures to exit 1 with one clear line on stderr.
 */
#include "leadwatch/app/cli.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "leadwatch/report/analysis_out.h"
#include "leadwatch/stats/analyze.h"
#include "leadwatch/model/config.h"
#include "leadwatch/ingest/consumer.h"
#include "leadwatch/app/daemon.h"
#include "leadwatch/app/service.h"
#include "leadwatch/report/export.h"
#include "leadwatch/ingest/ingest.h"
#include "leadwatch/core/log.h"
#include "leadwatch/ingest/mockkafka.h"
#include "leadwatch/ingest/pipeline.h"
#include "leadwatch/ingest/produce.h"
#include "leadwatch/report/report.h"
#include "leadwatch/store/series.h"
#include "leadwatch/model/simulate.h"
#include "leadwatch/store/store.h"
#include "leadwatch/core/timeutil.h"

typedef int (*cmd_fn)(int argc, char **argv, const lw_cli_env_t *env);

typedef struct {
    const char *name;
    const char *summary;
    const char *help;
    cmd_fn fn;
} command_t;

static const command_t *find_command(const char *name);

#define COMMON_OPTS_HELP                                                                           \
    "  -c, --config FILE      configuration file (default: $LEADWATCH_CONFIG, else\n"              \
    "                         ./leadwatch.yaml)\n"                                                 \
    "      --log-level LEVEL  error | warn | info | debug (default: info)\n"                       \
    "  -h, --help             show this help\n"

static const char help_check_config[] =
    "usage: leadwatch check-config [-c FILE]\n"
    "\n"
    "Validate the configuration and print the resolved metric tree. Every error\n"
    "is reported as FILE:LINE: KEY: what is wrong, and the exit code is 2.\n"
    "\n" COMMON_OPTS_HELP;

static const char help_ingest[] =
    "usage: leadwatch ingest [-c FILE] [--store PATH] [--rejects FILE] [--from-start]\n"
    "                        FILE.jsonl [FILE2 ...] | -\n"
    "\n"
    "Read newline-delimited JSON events from files (or '-' for stdin), aggregate\n"
    "them into the configured metric buckets and commit them to the store, using\n"
    "the same pipeline as the daemon. Malformed events are rejected with a counted\n"
    "reason and ingestion goes on; the counts per reason are printed at the end.\n"
    "\n"
    "Each file's byte position is committed with the aggregates, so ingesting a\n"
    "file again skips what the store already counted (and continues a file that\n"
    "grew). A file whose content changed since it was ingested is refused. stdin\n"
    "has no identity and is always counted.\n"
    "\n" COMMON_OPTS_HELP "      --store PATH       store file (overrides store.path)\n"
    "      --rejects FILE     append every rejected or late line to FILE\n"
    "      --from-start       ignore stored positions (counts the files again)\n";

static const char help_export[] =
    "usage: leadwatch export [-c FILE] [--store PATH] [--format csv|json]\n"
    "                        [--metrics A,B,...] [--from DATE] [--to DATE]\n"
    "\n"
    "Print the metric series: one row per bucket, 'period' (the bucket start,\n"
    "ISO 8601 UTC) first, then one column per metric in config order. A value\n"
    "that is undefined (a mean of no events, a ratio with a zero denominator, or\n"
    "any value in a bucket where no events at all were seen) is empty in CSV and\n"
    "null in JSON. JSON rows also carry 'provisional' (the bucket can still\n"
    "change: its end + grace has not passed the watermark) and 'gap'.\n"
    "Reads the store read-only, so it is safe while the daemon runs.\n"
    "\n" COMMON_OPTS_HELP "      --store PATH       store file (overrides store.path)\n"
    "      --format FMT       csv (default) or json\n"
    "      --metrics LIST     comma-separated metric names (default: all)\n"
    "      --from DATE        first bucket starting at or after DATE (ISO 8601)\n"
    "      --to DATE          last bucket starting at or before DATE (inclusive)\n";

static const char help_run[] =
    "usage: leadwatch run [-c FILE] [--store PATH] [--kafka KEY=VALUE ...]\n"
    "                     [--topic T ...] [--dead-letter-topic T] [--http HOST:PORT]\n"
    "                     [--exit-when-idle SECONDS]\n"
    "\n"
    "The daemon: consume the Kafka topics in a consumer group, aggregate every\n"
    "message through the same pipeline as 'ingest', and commit the aggregates to\n"
    "the store; runs until SIGTERM or SIGINT, then finishes the batch in hand,\n"
    "commits (store, then Kafka), leaves the group and exits 0.\n"
    "\n"
    "Offsets are owned by the store: each flush writes the aggregates and the\n"
    "next offset of every partition they cover in one SQLite transaction, and\n"
    "only then commits those offsets to Kafka (for lag monitoring), so Kafka's\n"
    "committed offsets are never ahead of the store. A partition starts at the\n"
    "store's offset (or the group's committed offset when that is further, e.g.\n"
    "after another instance took it over), else at auto.offset.reset (default\n"
    "earliest). enable.auto.commit and enable.auto.offset.store are forced to\n"
    "false and enable.partition.eof to true; every other Kafka property is passed\n"
    "to librdkafka unchanged. Messages the decoder rejects (and empty or null\n"
    "ones) are counted by reason and skipped; with a dead-letter topic they are\n"
    "also copied there with a 'leadwatch-reason' header.\n"
    "\n"
    "A store failure (disk full, I/O error, locked) or a fatal Kafka error stops\n"
    "consumption without committing anything past the store; exit code 1.\n"
    "\n"
    "Every time a bucket closes (the watermark passes its end + buckets.grace) the\n"
    "tree is re-evaluated over the last analysis.window buckets; verdicts go to\n"
    "the store, and an edge that led and stops leading raises an alert (alerts:\n"
    "section: Alertmanager, webhook, Kafka topic) after alerts.for evaluations.\n"
    "No events for alerts.stall.no_events_for raises LeadwatchPipelineStalled\n"
    "instead. With http: (or --http) it serves /metrics, /healthz and /readyz.\n"
    "SIGHUP reloads the analysis and alerts sections without stopping.\n"
    "\n" COMMON_OPTS_HELP "      --store PATH       store file (overrides store.path)\n"
    "      --kafka KEY=VALUE  a librdkafka property (adds to / overrides source.kafka),\n"
    "                         e.g. --kafka bootstrap.servers=127.0.0.1:9092\n"
    "                         --kafka group.id=leadwatch\n"
    "      --topic T          a topic to consume (adds to source.topics)\n"
    "      --dead-letter-topic T  copy poison messages to T (overrides\n"
    "                         source.dead_letter_topic)\n"
    "      --http HOST:PORT   serve /metrics, /healthz, /readyz there (overrides\n"
    "                         http.listen; port 0 picks a free port, logged)\n"
    "      --exit-when-idle SECONDS  exit 0 once every assigned partition is at its\n"
    "                         end and no message arrived for SECONDS (batch use, tests)\n";

static const char help_mock_kafka[] =
    "usage: leadwatch mock-kafka [--brokers N] [--partitions N] [--topic T ...] [--control]\n"
    "\n"
    "Run librdkafka's mock Kafka cluster on 127.0.0.1 (for the demo and tests).\n"
    "Prints the bootstrap address (one line) on stdout and serves until SIGTERM\n"
    "or SIGINT. The mock keeps only the newest 5 MiB (or 100,000 message sets) of\n"
    "each partition and nothing survives the process: spread volume across\n"
    "partitions, or consume while producing.\n"
    "\n"
    "  -h, --help             show this help\n"
    "      --log-level LEVEL  error | warn | info | debug (default: info)\n"
    "      --brokers N        number of brokers, ids 1..N (default 1)\n"
    "      --partitions N     partitions of each --topic (default 4)\n"
    "      --topic T          create topic T (repeatable)\n"
    "      --control          read control commands from stdin, one per line; each\n"
    "                         answer ends with 'ok' or 'error: ...'; exit at end of stdin:\n"
    "                           topic NAME PARTITIONS | down BROKER | up BROKER\n"
    "                           rtt BROKER MS | errors API COUNT ERROR\n"
    "                           committed GROUP TOPIC | watermarks TOPIC\n"
    "                           produce TOPIC FILE (one message per line; <NULL>: no payload)\n";

static const char help_simulate[] =
    "usage: leadwatch simulate [--days N] [--seed S] [--start DATE] [--break-day D]\n"
    "                          [--users U] [--scale X] [--truth FILE]\n"
    "                          [--produce BOOTSTRAP --topic T] [--rate EVENTS_PER_S]\n"
    "\n"
    "Generate the events of a simulated music-streaming app (Segment JSON:\n"
    "session_start, track_played with duration_ms, playlist_created, search,\n"
    "track_shared, purchase with revenue), deterministic for a seed, as JSONL on\n"
    "stdout, or produced to a Kafka topic keyed by the user id (a user's events\n"
    "stay in one partition). Events come in delivery order: out of order by a few\n"
    "minutes, a small share late by 1..36 hours.\n"
    "\n"
    "The true lead structure (daily series, log deviations, weekly seasonality):\n"
    "  active users, sessions per user and playlists created LEAD listening time\n"
    "  (the North Star Metric) by fixed lags; searches are a distractor that leads\n"
    "  nothing; track shares FOLLOW listening; revenue (the KPI) follows listening.\n"
    "  --break-day D: from day D on, playlists stop leading listening.\n"
    "  The exact model and its parameters: docs/SIMULATOR.md.\n"
    "\n"
    "  -h, --help             show this help (with the current lags and coefficients)\n"
    "      --log-level LEVEL  error | warn | info | debug (default: info)\n"
    "      --days N           days to simulate (default 365)\n"
    "      --seed S           random seed (default 1)\n"
    "      --start DATE       first day, a UTC midnight (default 2024-01-01)\n"
    "      --break-day D      0-based day from which playlists stop leading\n"
    "      --users U          user pool size (default: 4 x expected daily actives)\n"
    "      --scale X          event volume multiplier (default 1)\n"
    "      --truth FILE       write the exact per-day aggregates as CSV to FILE\n"
    "      --produce BOOTSTRAP  produce to Kafka at BOOTSTRAP instead of stdout\n"
    "      --topic T          the topic to produce to (with --produce)\n"
    "      --kafka KEY=VALUE  extra producer property (repeatable)\n"
    "      --rate R           at most R events per second on average (default: no limit)\n";

enum {
    OPT_LOG_LEVEL = 256,
    OPT_STORE,
    OPT_REJECTS,
    OPT_FROM_START,
    OPT_FORMAT,
    OPT_METRICS,
    OPT_FROM,
    OPT_TO,
    OPT_KAFKA,
    OPT_TOPIC,
    OPT_DLQ,
    OPT_IDLE,
    OPT_HTTP,
    OPT_BROKERS,
    OPT_PARTITIONS,
    OPT_CONTROL,
    OPT_DAYS,
    OPT_SEED,
    OPT_START,
    OPT_BREAK_DAY,
    OPT_USERS,
    OPT_SCALE,
    OPT_PRODUCE,
    OPT_RATE,
    OPT_TRUTH,
    OPT_AS_OF,
    OPT_SERIES,
    OPT_NSM,
    OPT_KPI,
    OPT_INPUTS,
    OPT_MAX_LAG,
    OPT_TRANSFORM,
    OPT_SEASONAL,
    OPT_ALPHA,
    OPT_WINDOW,
    OPT_IC,
    OPT_OUT,
    OPT_STAB_WINDOW,
    OPT_HOLIDAYS,
    OPT_CONTROLS,
    OPT_MAX_GAP
};

typedef struct {
    const char *config;
    const char *store;
} common_t;

static const char *default_config(void)
{
    const char *env = getenv("LEADWATCH_CONFIG");
    return env && *env ? env : "leadwatch.yaml";
}

/* Handle an option shared by every command; returns false when not one. */
static bool common_option(int c, common_t *co, int *exit_code)
{
    switch (c) {
    case 'c': co->config = optarg; return true;
    case OPT_STORE: co->store = optarg; return true;
    case OPT_LOG_LEVEL: {
        lw_log_level_t lvl;
        if (!lw_log_level_parse(optarg, &lvl)) {
            fprintf(stderr, "leadwatch: --log-level: unknown level '%s'\n", optarg);
            *exit_code = LW_EXIT_USAGE;
        } else {
            lw_log_set_level(lvl);
        }
        return true;
    }
    }
    return false;
}

static int usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "leadwatch %s: %s\nTry 'leadwatch %s --help'.\n", cmd, msg, cmd);
    return LW_EXIT_USAGE;
}

static int load_config(const common_t *co, lw_config_t **cfg)
{
    char err[1024];
    lw_err_t e = lw_config_load(co->config, cfg, err, sizeof err);
    if (e != LW_OK) {
        fprintf(stderr, "%s\n", err);
        return LW_EXIT_USAGE;
    }
    return LW_EXIT_OK;
}

static int cmd_check_config(int argc, char **argv, const lw_cli_env_t *env)
{
    (void)env;
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    common_t co = {.config = default_config()};
    int c, rc = LW_EXIT_OK;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (common_option(c, &co, &rc))
            continue;
        if (c == 'h') {
            fputs(help_check_config, stdout);
            fputc('\n', stdout);
            lw_config_describe(stdout);
            return LW_EXIT_OK;
        }
        return usage_error("check-config", "invalid option");
    }
    if (rc != LW_EXIT_OK)
        return rc;
    if (optind < argc)
        return usage_error("check-config", "unexpected argument");
    lw_config_t *cfg = NULL;
    rc = load_config(&co, &cfg);
    if (rc != LW_EXIT_OK)
        return rc;
    printf("%s: OK\n", co.config);
    lw_config_print(cfg, stdout);
    lw_config_free(cfg);
    return LW_EXIT_OK;
}

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_ingest_summary(const lw_config_t *cfg, const lw_pipeline_stats_t *st, double secs,
                                 int ninputs, int64_t skipped_bytes)
{
    printf("read %lld events from %d input%s in %.2f s (%.0f events/s)\n", (long long)st->read,
           ninputs, ninputs == 1 ? "" : "s", secs, secs > 0 ? (double)st->read / secs : 0.0);
    if (skipped_bytes > 0)
        printf("skipped %lld bytes already in the store\n", (long long)skipped_bytes);
    printf("  accepted  %12lld\n", (long long)st->accepted);
    printf("  late      %12lld\n", (long long)st->late);
    printf("  rejected  %12lld\n", (long long)st->rejected_total);
    for (int r = 1; r < LW_REJECT__COUNT; r++) {
        if (st->rejected[r])
            printf("    %-16s %8lld\n", lw_reject_name((lw_reject_t)r), (long long)st->rejected[r]);
    }
    /* matching events a sum/mean/distinct metric skipped: no number at its path */
    bool header = false;
    for (size_t m = 0; m < cfg->nmetrics; m++) {
        if (!st->missing_value[m])
            continue;
        if (!header)
            printf("  missing value (event matched, field absent or not a number):\n");
        header = true;
        printf("    %-24s %8lld\n", cfg->metrics[m].name, (long long)st->missing_value[m]);
    }
    printf("  committed in %lld transaction%s\n", (long long)st->flushes,
           st->flushes == 1 ? "" : "s");
}

static int cmd_ingest(int argc, char **argv, const lw_cli_env_t *env)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
                                         {"store", required_argument, NULL, OPT_STORE},
                                         {"rejects", required_argument, NULL, OPT_REJECTS},
                                         {"from-start", no_argument, NULL, OPT_FROM_START},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    common_t co = {.config = default_config()};
    const char *rejects_path = NULL;
    lw_ingest_opts_t iopts = {.stop = env->stop};
    int c, rc = LW_EXIT_OK;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (common_option(c, &co, &rc))
            continue;
        switch (c) {
        case 'h': fputs(help_ingest, stdout); return LW_EXIT_OK;
        case OPT_REJECTS: rejects_path = optarg; break;
        case OPT_FROM_START: iopts.from_start = true; break;
        default: return usage_error("ingest", "invalid option");
        }
    }
    if (rc != LW_EXIT_OK)
        return rc;
    if (optind >= argc)
        return usage_error("ingest", "no input files (use '-' for stdin)");

    lw_config_t *cfg = NULL;
    lw_store_t *store = NULL;
    lw_pipeline_t *p = NULL;
    char err[1024];
    rc = load_config(&co, &cfg);
    if (rc != LW_EXIT_OK)
        return rc;
    rc = LW_EXIT_FAILURE;
    if (rejects_path) {
        iopts.rejects = fopen(rejects_path, "a");
        if (!iopts.rejects) {
            fprintf(stderr, "leadwatch ingest: %s: %s\n", rejects_path, strerror(errno));
            goto out;
        }
    }
    const char *store_path = co.store ? co.store : cfg->store.path;
    if (lw_store_open(store_path, 0, &store, err, sizeof err) != LW_OK) {
        fprintf(stderr, "leadwatch ingest: %s: %s\n", store_path, err);
        goto out;
    }
    p = lw_pipeline_new(cfg, store, err, sizeof err);
    if (!p) {
        fprintf(stderr, "leadwatch ingest: %s\n", err);
        goto out;
    }
    double t0 = mono_seconds();
    int64_t skipped = 0;
    int ninputs = 0;
    rc = LW_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        lw_ingest_result_t res;
        lw_err_t e = lw_ingest_path(p, argv[i], &iopts, &res, err, sizeof err);
        skipped += res.skipped_bytes;
        ninputs++;
        if (e != LW_OK) {
            fprintf(stderr, "leadwatch ingest: %s\n", err);
            rc = LW_EXIT_FAILURE;
            if (e != LW_ERR_INVALID && e != LW_ERR_IO)
                break; /* the store failed: nothing more can be committed */
        }
        if (env->stop && *env->stop) {
            LW_LOG(LW_LOG_WARN, "ingest", "interrupted; everything read so far is committed");
            rc = LW_EXIT_FAILURE;
            break;
        }
    }
    lw_pipeline_stats_t st;
    lw_pipeline_stats(p, &st);
    print_ingest_summary(cfg, &st, mono_seconds() - t0, ninputs, skipped);

out:
    if (iopts.rejects && fclose(iopts.rejects) != 0) {
        fprintf(stderr, "leadwatch ingest: %s: %s\n", rejects_path, strerror(errno));
        rc = LW_EXIT_FAILURE;
    }
    lw_pipeline_destroy(p);
    lw_store_close(store);
    lw_config_free(cfg);
    return rc;
}

static bool parse_date_opt(const char *s, int64_t *out)
{
    return lw_time_parse_iso8601(s, strlen(s), out);
}

/* Resolve "a,b,c" into metric indices; all metrics when list is NULL. */
static int resolve_metrics(const lw_config_t *cfg, const char *list, int *cols, size_t *ncols)
{
    *ncols = 0;
    if (!list) {
        for (size_t m = 0; m < cfg->nmetrics; m++)
            cols[(*ncols)++] = (int)m;
        return LW_EXIT_OK;
    }
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char name[LW_CONFIG_MAX_NAME + 1];
        if (len == 0 || len > LW_CONFIG_MAX_NAME) {
            fprintf(stderr, "leadwatch export: --metrics: bad name in '%s'\n", list);
            return LW_EXIT_USAGE;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        int idx = lw_config_metric_index(cfg, name);
        if (idx < 0) {
            fprintf(stderr, "leadwatch export: --metrics: unknown metric '%s'\n", name);
            return LW_EXIT_USAGE;
        }
        if (*ncols == LW_CONFIG_MAX_METRICS) {
            fprintf(stderr, "leadwatch export: --metrics: too many names\n");
            return LW_EXIT_USAGE;
        }
        cols[(*ncols)++] = idx;
        p += len + (comma ? 1 : 0);
    }
    return LW_EXIT_OK;
}

static int cmd_export(int argc, char **argv, const lw_cli_env_t *env)
{
    (void)env;
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
                                         {"store", required_argument, NULL, OPT_STORE},
                                         {"format", required_argument, NULL, OPT_FORMAT},
                                         {"metrics", required_argument, NULL, OPT_METRICS},
                                         {"from", required_argument, NULL, OPT_FROM},
                                         {"to", required_argument, NULL, OPT_TO},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    common_t co = {.config = default_config()};
    lw_export_format_t fmt = LW_EXPORT_CSV;
    const char *metrics = NULL;
    int64_t from = INT64_MIN, to = INT64_MAX;
    int c, rc = LW_EXIT_OK;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (common_option(c, &co, &rc))
            continue;
        switch (c) {
        case 'h': fputs(help_export, stdout); return LW_EXIT_OK;
        case OPT_FORMAT:
            if (strcmp(optarg, "csv") == 0)
                fmt = LW_EXPORT_CSV;
            else if (strcmp(optarg, "json") == 0)
                fmt = LW_EXPORT_JSON;
            else
                return usage_error("export", "--format must be csv or json");
            break;
        case OPT_METRICS: metrics = optarg; break;
        case OPT_FROM:
            if (!parse_date_opt(optarg, &from))
                return usage_error("export", "--from: not an ISO 8601 date");
            break;
        case OPT_TO:
            if (!parse_date_opt(optarg, &to))
                return usage_error("export", "--to: not an ISO 8601 date");
            break;
        default: return usage_error("export", "invalid option");
        }
    }
    if (rc != LW_EXIT_OK)
        return rc;
    if (optind < argc)
        return usage_error("export", "unexpected argument");

    lw_config_t *cfg = NULL;
    lw_store_t *store = NULL;
    lw_series_t series = {0};
    char err[1024];
    int cols[LW_CONFIG_MAX_METRICS];
    size_t ncols;
    rc = load_config(&co, &cfg);
    if (rc != LW_EXIT_OK)
        return rc;
    rc = resolve_metrics(cfg, metrics, cols, &ncols);
    if (rc != LW_EXIT_OK)
        goto out;
    rc = LW_EXIT_FAILURE;
    const char *store_path = co.store ? co.store : cfg->store.path;
    if (lw_store_open(store_path, LW_STORE_READONLY, &store, err, sizeof err) != LW_OK) {
        fprintf(stderr, "leadwatch export: %s: %s\n", store_path, err);
        goto out;
    }
    if (lw_series_load(cfg, store, from, to, &series, err, sizeof err) != LW_OK) {
        fprintf(stderr, "leadwatch export: %s\n", err);
        goto out;
    }
    if (lw_export_write(cfg, &series, cols, ncols, fmt, stdout, err, sizeof err) != LW_OK) {
        fprintf(stderr, "leadwatch export: %s\n", err);
        goto out;
    }
    rc = LW_EXIT_OK;
out:
    lw_series_release(&series);
    lw_store_close(store);
    lw_config_free(cfg);
    return rc;
}

/* ---- Kafka: run, mock-kafka, simulate ---- */

static bool parse_double_arg(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

/* Kafka properties and topics gathered from the config and the command line. */
typedef struct {
    lw_kafka_prop_t props[LW_KAFKA_MAX_PROPS];
    char *owned_keys[LW_KAFKA_MAX_PROPS];
    size_t nprops;
    const char *topics[LW_KAFKA_MAX_TOPICS];
    size_t ntopics;
} kafka_args_t;

static void kafka_args_release(kafka_args_t *ka)
{
    for (size_t i = 0; i < ka->nprops; i++)
        free(ka->owned_keys[i]);
    ka->nprops = 0;
}

static bool kafka_args_add_prop(kafka_args_t *ka, const char *key, size_t klen, const char *value)
{
    if (ka->nprops == LW_KAFKA_MAX_PROPS || klen == 0)
        return false;
    char *k = strndup(key, klen);
    if (!k)
        return false;
    ka->owned_keys[ka->nprops] = k;
    ka->props[ka->nprops].key = k;
    ka->props[ka->nprops].value = value;
    ka->nprops++;
    return true;
}

/* "KEY=VALUE" from the command line; the value stays in argv. */
static bool kafka_args_add_kv(kafka_args_t *ka, const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq && kafka_args_add_prop(ka, kv, (size_t)(eq - kv), eq + 1);
}

static bool kafka_args_add_topic(kafka_args_t *ka, const char *t)
{
    if (ka->ntopics == LW_KAFKA_MAX_TOPICS || !*t)
        return false;
    ka->topics[ka->ntopics++] = t;
    return true;
}

static void print_run_summary(const lw_pipeline_stats_t *st, const lw_consumer_stats_t *cs,
                              double secs)
{
    printf("consumed %lld messages in %.2f s (%.0f messages/s)\n", (long long)cs->messages, secs,
           secs > 0 ? (double)cs->messages / secs : 0.0);
    printf("  accepted  %12lld\n", (long long)st->accepted);
    printf("  late      %12lld\n", (long long)st->late);
    printf("  rejected  %12lld\n", (long long)st->rejected_total);
    for (int r = 1; r < LW_REJECT__COUNT; r++) {
        if (cs->poison_by_reason[r])
            printf("    %-16s %8lld\n", lw_reject_name((lw_reject_t)r),
                   (long long)cs->poison_by_reason[r]);
    }
    if (cs->dead_lettered)
        printf("  dead-lettered %8lld\n", (long long)cs->dead_lettered);
    printf("  committed in %lld transaction%s; %lld Kafka offset commit%s (%lld refused)\n",
           (long long)st->flushes, st->flushes == 1 ? "" : "s", (long long)cs->kafka_commits,
           cs->kafka_commits == 1 ? "" : "s", (long long)cs->kafka_commit_errors);
}

static int cmd_run(int argc, char **argv, const lw_cli_env_t *env)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
                                         {"store", required_argument, NULL, OPT_STORE},
                                         {"kafka", required_argument, NULL, OPT_KAFKA},
                                         {"topic", required_argument, NULL, OPT_TOPIC},
                                         {"dead-letter-topic", required_argument, NULL, OPT_DLQ},
                                         {"exit-when-idle", required_argument, NULL, OPT_IDLE},
                                         {"http", required_argument, NULL, OPT_HTTP},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    common_t co = {.config = default_config()};
    const char *http_listen = NULL;
    const char *cli_props[LW_KAFKA_MAX_PROPS];
    const char *cli_topics[LW_KAFKA_MAX_TOPICS];
    size_t ncli_props = 0, ncli_topics = 0;
    const char *dlq = NULL;
    double idle_s = 0;
    int c, rc = LW_EXIT_OK;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (common_option(c, &co, &rc))
            continue;
        switch (c) {
        case 'h': fputs(help_run, stdout); return LW_EXIT_OK;
        case OPT_KAFKA:
            if (!strchr(optarg, '=') || optarg[0] == '=')
                return usage_error("run", "--kafka wants KEY=VALUE");
            if (ncli_props == LW_KAFKA_MAX_PROPS)
                return usage_error("run", "too many --kafka options");
            cli_props[ncli_props++] = optarg;
            break;
        case OPT_TOPIC:
            if (ncli_topics == LW_KAFKA_MAX_TOPICS || !*optarg)
                return usage_error("run", "--topic: empty or too many");
            cli_topics[ncli_topics++] = optarg;
            break;
        case OPT_DLQ: dlq = optarg; break;
        case OPT_HTTP: http_listen = optarg; break;
        case OPT_IDLE:
            if (!parse_double_arg(optarg, 0.001, 86400.0, &idle_s))
                return usage_error("run", "--exit-when-idle wants seconds (0.001 .. 86400)");
            break;
        default: return usage_error("run", "invalid option");
        }
    }
    if (rc != LW_EXIT_OK)
        return rc;
    if (optind < argc)
        return usage_error("run", "unexpected argument");

    lw_config_t *cfg = NULL;
    lw_store_t *store = NULL;
    lw_pipeline_t *p = NULL;
    kafka_args_t *ka = calloc(1, sizeof *ka);
    char err[1024];
    if (!ka) {
        fprintf(stderr, "leadwatch run: out of memory\n");
        return LW_EXIT_FAILURE;
    }
    rc = load_config(&co, &cfg);
    if (rc != LW_EXIT_OK)
        goto out;
    rc = LW_EXIT_USAGE;
    /* the config first, then the command line (a later property overrides) */
    for (size_t i = 0; i < cfg->source.nkafka; i++) {
        const lw_config_kv_t *kv = &cfg->source.kafka[i];
        if (!kafka_args_add_prop(ka, kv->key, strlen(kv->key), kv->value)) {
            fprintf(stderr, "leadwatch run: too many Kafka properties\n");
            goto out;
        }
    }
    for (size_t i = 0; i < cfg->source.ntopics; i++) {
        if (!kafka_args_add_topic(ka, cfg->source.topics[i])) {
            fprintf(stderr, "leadwatch run: too many topics\n");
            goto out;
        }
    }
    if (!dlq)
        dlq = cfg->source.dead_letter_topic;
    for (size_t i = 0; i < ncli_props; i++) {
        if (!kafka_args_add_kv(ka, cli_props[i])) {
            fprintf(stderr, "leadwatch run: --kafka %s: cannot add\n", cli_props[i]);
            goto out;
        }
    }
    for (size_t i = 0; i < ncli_topics; i++) {
        if (!kafka_args_add_topic(ka, cli_topics[i])) {
            fprintf(stderr, "leadwatch run: too many topics\n");
            goto out;
        }
    }
    lw_kafka_settings_t ks = {.props = ka->props,
                              .nprops = ka->nprops,
                              .topics = ka->topics,
                              .ntopics = ka->ntopics,
                              .dead_letter_topic = dlq};
    rc = LW_EXIT_FAILURE;
    const char *store_path = co.store ? co.store : cfg->store.path;
    if (lw_store_open(store_path, 0, &store, err, sizeof err) != LW_OK) {
        fprintf(stderr, "leadwatch run: %s: %s\n", store_path, err);
        goto out;
    }
    p = lw_pipeline_new(cfg, store, err, sizeof err);
    if (!p) {
        fprintf(stderr, "leadwatch run: %s\n", err);
        goto out;
    }
    lw_service_opts_t so = {.config_path = co.config,
                            .cfg = cfg,
                            .pipeline = p,
                            .store = store,
                            .kafka = &ks,
                            .http_listen = http_listen,
                            .stop = env->stop,
                            .reload = env->reload,
                            .exit_when_idle_ms = (int64_t)(idle_s * 1000.0)};
    lw_daemon_result_t res;
    double t0 = mono_seconds();
    lw_err_t e = lw_service_run(&so, &res, err, sizeof err);
    /* the daemon's own time: without the alert queues' drain at exit */
    double secs = res.run_s > 0 ? res.run_s : mono_seconds() - t0;
    if (e == LW_ERR_CONFIG) {
        fprintf(stderr, "leadwatch run: %s\n", err);
        rc = LW_EXIT_USAGE;
        goto out;
    }
    lw_pipeline_stats_t st;
    lw_pipeline_stats(p, &st);
    print_run_summary(&st, &res.consumer, secs);
    if (e != LW_OK) {
        fprintf(stderr, "leadwatch run: stopped, nothing committed past the store: %s\n", err);
        goto out;
    }
    rc = LW_EXIT_OK;
out:
    lw_pipeline_destroy(p);
    lw_store_close(store);
    lw_config_free(cfg);
    kafka_args_release(ka);
    free(ka);
    return rc;
}

/* Serve control lines from stdin until EOF or stop; false at EOF. */
static bool serve_control(lw_mock_t *m, char *buf, size_t cap, size_t *have)
{
    struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
    int n = poll(&pfd, 1, 100);
    if (n <= 0)
        return true; /* timeout or EINTR: the caller checks the stop flag */
    ssize_t r = read(STDIN_FILENO, buf + *have, cap - 1 - *have);
    if (r < 0)
        return errno == EINTR || errno == EAGAIN;
    if (r == 0)
        return false;
    *have += (size_t)r;
    buf[*have] = '\0';
    char *line = buf;
    char *nl;
    while ((nl = strchr(line, '\n')) != NULL) {
        *nl = '\0';
        lw_mock_control(m, line, stdout);
        line = nl + 1;
    }
    size_t rest = *have - (size_t)(line - buf);
    if (rest == cap - 1) {
        fputs("error: line too long\n", stdout);
        fflush(stdout);
        rest = 0;
    }
    memmove(buf, line, rest);
    *have = rest;
    return true;
}

static int cmd_mock_kafka(int argc, char **argv, const lw_cli_env_t *env)
{
    static const struct option opts[] = {{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
                                         {"brokers", required_argument, NULL, OPT_BROKERS},
                                         {"partitions", required_argument, NULL, OPT_PARTITIONS},
                                         {"topic", required_argument, NULL, OPT_TOPIC},
                                         {"control", no_argument, NULL, OPT_CONTROL},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    common_t co = {.config = NULL};
    long brokers = 1, partitions = 4;
    const char *topics[LW_MOCK_MAX_TOPICS];
    size_t ntopics = 0;
    bool control = false;
    int c, rc = LW_EXIT_OK;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (common_option(c, &co, &rc))
            continue;
        switch (c) {
        case 'h': fputs(help_mock_kafka, stdout); return LW_EXIT_OK;
        case OPT_BROKERS:
            if (!lw_parse_long(optarg, 1, LW_MOCK_MAX_BROKERS, &brokers))
                return usage_error("mock-kafka", "--brokers: 1..16");
            break;
        case OPT_PARTITIONS:
            if (!lw_parse_long(optarg, 1, LW_MOCK_MAX_PARTITIONS, &partitions))
                return usage_error("mock-kafka", "--partitions: 1..1024");
            break;
        case OPT_TOPIC:
            if (ntopics == LW_MOCK_MAX_TOPICS)
                return usage_error("mock-kafka", "too many --topic options");
            topics[ntopics++] = optarg;
            break;
        case OPT_CONTROL: control = true; break;
        default: return usage_error("mock-kafka", "invalid option");
        }
    }
    if (rc != LW_EXIT_OK)
        return rc;
    if (optind < argc)
        return usage_error("mock-kafka", "unexpected argument");

    char err[512];
    lw_mock_t *m = lw_mock_new((int)brokers, err, sizeof err);
    if (!m) {
        fprintf(stderr, "leadwatch mock-kafka: %s\n", err);
        return LW_EXIT_FAILURE;
    }
    for (size_t i = 0; i < ntopics; i++) {
        if (lw_mock_create_topic(m, topics[i], (int)partitions, err, sizeof err) != LW_OK) {
            fprintf(stderr, "leadwatch mock-kafka: %s\n", err);
            lw_mock_destroy(m);
            return LW_EXIT_FAILURE;
        }
    }
    printf("%s\n", lw_mock_bootstraps(m));
    fflush(stdout);
    LW_LOG(LW_LOG_INFO, "mock-kafka", "serving %ld broker(s) at %s", brokers,
           lw_mock_bootstraps(m));
    char buf[LW_MOCK_MAX_LINE + 1];
    size_t have = 0;
    while (!(env->stop && *env->stop)) {
        if (control) {
            if (!serve_control(m, buf, sizeof buf, &have))
                break;
        } else {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    lw_mock_destroy(m);
    return LW_EXIT_OK;
}

static void print_sim_model(FILE *out)
{
    lw_sim_model_t m;
    lw_sim_model_default(&m);
    fprintf(out,
            "\nCurrent model defaults (log-deviation coefficient, lag in days):\n"
            "  listening <- active users      %.2f, lag %d\n"
            "  listening <- sessions per user %.2f, lag %d\n"
            "  listening <- playlists created %.2f, lag %d\n"
            "  track shares <- listening      %.2f, lag %d\n"
            "  revenue      <- listening      %.2f, lag %d\n"
            "  late deliveries: %.1f%% of events\n",
            m.b_users, m.lag_users, m.b_spu, m.lag_spu, m.b_playlists, m.lag_playlists, m.c_shares,
            m.lag_shares, m.c_revenue, m.lag_revenue, m.late_share * 100.0);
}

static lw_err_t write_truth(const lw_sim_t *sim, const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return lw_seterr(err, err_size, LW_ERR_IO, "%s: %s", path, strerror(errno));
    char row[1024];
    size_t len;
    lw_err_t e = lw_sim_truth_csv_header(row, sizeof row, &len);
    if (e == LW_OK)
        fwrite(row, 1, len, f);
    for (int d = 0; e == LW_OK && d < lw_sim_opts(sim)->days; d++) {
        e = lw_sim_truth_csv_row(sim, d, row, sizeof row, &len);
        if (e == LW_OK)
            fwrite(row, 1, len, f);
        else
            lw_seterr(err, err_size, e, "%s: truth of day %d unavailable", path, d);
    }
    if (fclose(f) != 0 && e == LW_OK)
        e = lw_seterr(err, err_size, LW_ERR_IO, "%s: %s", path, strerror(errno));
    return e;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int cmd_simulate(int argc, char **argv, const lw_cli_env_t *env)
{
    static const struct option opts[] = {{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
                                         {"days", required_argument, NULL, OPT_DAYS},
                                         {"seed", required_argument, NULL, OPT_SEED},
                                         {"start", required_argument, NULL, OPT_START},
                                         {"break-day", required_argument, NULL, OPT_BREAK_DAY},
                                         {"users", required_argument, NULL, OPT_USERS},
                                         {"scale", required_argument, NULL, OPT_SCALE},
                                         {"truth", required_argument, NULL, OPT_TRUTH},
                                         {"produce", required_argument, NULL, OPT_PRODUCE},
                                         {"topic", required_argument, NULL, OPT_TOPIC},
                                         {"kafka", required_argument, NULL, OPT_KAFKA},
                                         {"rate", required_argument, NULL, OPT_RATE},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    common_t co = {.config = NULL};
    lw_sim_opts_t so;
    lw_sim_opts_default(&so);
    const char *bootstrap = NULL, *topic = NULL, *truth = NULL;
    const char *extra[LW_KAFKA_MAX_PROPS - 1];
    size_t nextra = 0;
    double rate = 0;
    long v;
    int c, rc = LW_EXIT_OK;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (common_option(c, &co, &rc))
            continue;
        switch (c) {
        case 'h':
            fputs(help_simulate, stdout);
            print_sim_model(stdout);
            return LW_EXIT_OK;
        case OPT_DAYS:
            if (!lw_parse_long(optarg, 1, LW_SIM_MAX_DAYS, &v))
                return usage_error("simulate", "--days: 1..36600");
            so.days = (int)v;
            break;
        case OPT_SEED: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-')
                return usage_error("simulate", "--seed: a non-negative integer");
            so.seed = (uint64_t)s;
            break;
        }
        case OPT_START:
            if (!parse_date_opt(optarg, &so.start_ms))
                return usage_error("simulate", "--start: not an ISO 8601 date");
            break;
        case OPT_BREAK_DAY:
            if (!lw_parse_long(optarg, 0, LW_SIM_MAX_DAYS - 1, &v))
                return usage_error("simulate", "--break-day: a day index");
            so.break_day = (int)v;
            break;
        case OPT_USERS:
            if (!lw_parse_long(optarg, 1, LW_SIM_MAX_USERS, &v))
                return usage_error("simulate", "--users: 1..50000000");
            so.users = v;
            break;
        case OPT_SCALE:
            if (!parse_double_arg(optarg, 1e-9, LW_SIM_MAX_SCALE, &so.scale))
                return usage_error("simulate", "--scale: (0, 1000]");
            break;
        case OPT_TRUTH: truth = optarg; break;
        case OPT_PRODUCE: bootstrap = optarg; break;
        case OPT_TOPIC: topic = optarg; break;
        case OPT_KAFKA:
            if (!strchr(optarg, '=') || optarg[0] == '=' || nextra == LW_KAFKA_MAX_PROPS - 1)
                return usage_error("simulate", "--kafka wants KEY=VALUE");
            extra[nextra++] = optarg;
            break;
        case OPT_RATE:
            if (!parse_double_arg(optarg, 0.001, 1e9, &rate))
                return usage_error("simulate", "--rate: events per second (> 0)");
            break;
        default: return usage_error("simulate", "invalid option");
        }
    }
    if (rc != LW_EXIT_OK)
        return rc;
    if (optind < argc)
        return usage_error("simulate", "unexpected argument");
    if (!bootstrap != !topic)
        return usage_error("simulate", "--produce and --topic go together");

    char err[1024];
    lw_producer_t *prod = NULL;
    kafka_args_t *ka = NULL;
    lw_sim_t *sim = lw_sim_new(&so, err, sizeof err);
    if (!sim) {
        fprintf(stderr, "leadwatch simulate: %s\n", err);
        return LW_EXIT_USAGE;
    }
    rc = LW_EXIT_FAILURE;
    if (bootstrap) {
        ka = calloc(1, sizeof *ka);
        if (!ka ||
            !kafka_args_add_prop(ka, "bootstrap.servers", strlen("bootstrap.servers"), bootstrap)) {
            fprintf(stderr, "leadwatch simulate: out of memory\n");
            goto out;
        }
        for (size_t i = 0; i < nextra; i++) {
            if (!kafka_args_add_kv(ka, extra[i])) {
                fprintf(stderr, "leadwatch simulate: out of memory\n");
                goto out;
            }
        }
        prod = lw_producer_new(ka->props, ka->nprops, err, sizeof err);
        if (!prod) {
            fprintf(stderr, "leadwatch simulate: --kafka %s\n", err);
            rc = LW_EXIT_USAGE;
            goto out;
        }
    } else {
        static char outbuf[1 << 16];
        setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    }

    lw_pacer_t pacer;
    lw_pacer_init(&pacer, rate, (int64_t)(mono_seconds() * 1000.0));
    char line[LW_SIM_MAX_LINE + 1];
    int64_t n = 0;
    bool complete = false;
    double t0 = mono_seconds();
    for (;; n++) {
        if (env->stop && *env->stop)
            break;
        size_t len;
        lw_sim_meta_t meta;
        if (lw_sim_next(sim, line, sizeof line, &len, &meta, err, sizeof err) != LW_OK) {
            fprintf(stderr, "leadwatch simulate: %s\n", err);
            goto out;
        }
        if (len == 0) {
            complete = true;
            break;
        }
        if (rate > 0) {
            int64_t wait = lw_pacer_delay_ms(&pacer, n, (int64_t)(mono_seconds() * 1000.0));
            if (wait > 0) {
                if (prod)
                    lw_producer_poll(prod);
                else
                    fflush(stdout);
                sleep_ms(wait);
            }
        }
        if (prod) {
            if (lw_producer_send(prod, topic, meta.user.ptr, meta.user.len, line, len, NULL, 0, err,
                                 sizeof err) != LW_OK) {
                fprintf(stderr, "leadwatch simulate: %s\n", err);
                goto out;
            }
        } else {
            line[len] = '\n';
            if (fwrite(line, 1, len + 1, stdout) != len + 1) {
                fprintf(stderr, "leadwatch simulate: stdout: %s\n", strerror(errno));
                goto out;
            }
        }
    }
    if (prod && lw_producer_flush(prod, 60000, err, sizeof err) != LW_OK) {
        fprintf(stderr, "leadwatch simulate: %s\n", err);
        goto out;
    }
    if (!prod && fflush(stdout) != 0) {
        fprintf(stderr, "leadwatch simulate: stdout: %s\n", strerror(errno));
        goto out;
    }
    double secs = mono_seconds() - t0;
    LW_LOG(LW_LOG_INFO, "simulate", "%lld events over %d days in %.2f s%s%s", (long long)n, so.days,
           secs, prod ? " produced to " : "", prod ? topic : "");
    if (!complete) {
        fprintf(stderr, "leadwatch simulate: interrupted after %lld events\n", (long long)n);
        goto out;
    }
    if (truth && write_truth(sim, truth, err, sizeof err) != LW_OK) {
        fprintf(stderr, "leadwatch simulate: %s\n", err);
        goto out;
    }
    rc = LW_EXIT_OK;
out:
    lw_producer_destroy(prod);
    if (ka)
        kafka_args_release(ka);
    free(ka);
    lw_sim_destroy(sim);
    return rc;
}

static const char help_analyze[] =
    "usage: leadwatch analyze [-c FILE] [--store PATH] [--as-of DATE] [--format text|json|md]\n"
    "                         [options]\n"
    "       leadwatch analyze --series FILE.csv --nsm COL [--kpi COL] [--inputs A,B,...]\n"
    "                         [--format text|json|md] [options]\n"
    "\n"
    "Test whether each input metric leads the North Star Metric, and the NSM the\n"
    "KPI: Granger tests in both directions, lagged regression with HAC errors,\n"
    "prewhitened cross-correlation, Benjamini-Hochberg q-values, stability and a\n"
    "structural-break test, out-of-sample skill (Clark-West) and sensitivity (MDE).\n"
    "Each edge gets a verdict - leads, reverse, feedback, inconclusive or\n"
    "insufficient_data - with its reasons. The README's 'Statistics' section\n"
    "explains every number; --format json is the stable machine contract.\n"
    "\n"
    "With -c the metric tree and the series come from the config and its store\n"
    "(read-only; trailing provisional buckets are left out). Options not given on\n"
    "the command line come from the config's analysis: section.\n"
    "\n" COMMON_OPTS_HELP "      --store PATH       store file (overrides store.path)\n"
    "      --as-of DATE       only buckets starting at or before DATE (ISO 8601)\n"
    "      --series FILE.csv  CSV: a header, first column = period label (kept as\n"
    "                         given), one row per bucket oldest first, equally\n"
    "                         spaced, an empty cell = missing\n"
    "      --nsm COL          the NSM column of --series (required with --series)\n"
    "      --kpi COL          the KPI column (adds the NSM -> KPI edge)\n"
    "      --inputs A,B,...   input columns (default: every other column)\n"
    "      --format FMT       text (default) | json | md\n"
    "      --max-lag K        Granger lags 1..K (1..60, default 14)\n"
    "      --transform T      none | diff | log_diff | auto (default auto: logs when\n"
    "                         all values > 0, differenced when ADF does not reject a\n"
    "                         unit root at 5%)\n"
    "      --seasonal S       none | weekly | N (default weekly: day-of-week means\n"
    "                         for daily buckets, hour-of-day for hourly; N = 2..400)\n"
    "      --alpha A          FDR level for the BH q-values, (0, 0.5] (default 0.05)\n"
    "      --window N         analyse only the last N buckets (default: all; with -c\n"
    "                         the buckets up to --as-of; config: analysis.window)\n"
    "      --stability-window N  stability sub-window in buckets (default: max(n/4,\n"
    "                         5*lag+20))\n"
    "      --ic aic|bic       how the lag is chosen (default aic)\n"
    "      --holidays D,D,..  special days YYYY-MM-DD: treated as missing, then\n"
    "                         interpolated like short gaps\n"
    "      --controls A,B     known drivers (campaigns, releases, prices): their\n"
    "                         lags 0..p enter both models (conditional Granger)\n"
    "      --max-gap N        interpolate runs of up to N missing buckets (0..60,\n"
    "                         default 3); longer gaps only cost the rows they touch\n";

static const char help_report[] =
    "usage: leadwatch report [-c FILE] --out DIR [--as-of DATE] [--window N] [--max-lag N]\n"
    "\n"
    "Analyse the metric tree on the stored series and write the validation report:\n"
    "DIR/report.html (self-contained: inline charts and styles, no network),\n"
    "DIR/report.md (for Slack or a wiki) and DIR/report.json (the analysis plus\n"
    "report metadata). Each file is replaced atomically. When DIR already holds a\n"
    "report.json, the new report lists the verdicts that changed since. Reads the\n"
    "store read-only, so it can run while the daemon writes (nightly from cron or\n"
    "a systemd timer: config/leadwatch-report.*). Prints the path of report.html.\n"
    "\n" COMMON_OPTS_HELP
    "  -o, --out DIR          directory for the three files (created if missing)\n"
    "      --as-of DATE       last bucket to analyse, YYYY-MM-DD (default: the\n"
    "                         latest final bucket)\n"
    "      --window N         analyse the N buckets ending at --as-of (default:\n"
    "                         analysis.window, else every bucket in the store)\n"
    "      --max-lag N        largest lag tested, 1..60 (default: analysis.max_lag)\n";

/* Parse a whole number in [lo, hi]; false on anything else. */
static bool parse_size_opt(const char *s, size_t lo, size_t hi, size_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0 || (unsigned long long)v < lo ||
        (unsigned long long)v > hi)
        return false;
    *out = (size_t)v;
    return true;
}

static bool parse_double_opt(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

/* Flags of `analyze` that override the config's analysis: section. */
typedef struct {
    const char *max_lag, *transform, *seasonal, *alpha, *stab_window, *ic;
} analyze_flags_t;

static int apply_analyze_flags(const analyze_flags_t *f, lw_analyze_opts_t *o)
{
    char err[256];
    if (f->max_lag && !parse_size_opt(f->max_lag, 1, LW_ANALYZE_MAX_LAG, &o->max_lag))
        return usage_error("analyze", "--max-lag: expected a whole number 1..60");
    if (f->transform && !lw_transform_parse(f->transform, &o->transform))
        return usage_error("analyze", "--transform: expected none, diff, log_diff or auto");
    if (f->seasonal && !lw_seasonal_parse(f->seasonal, &o->seasonal, &o->seasonal_period))
        return usage_error("analyze", "--seasonal: expected none, weekly or a period 2..400");
    if (f->alpha && !parse_double_opt(f->alpha, &o->alpha))
        return usage_error("analyze", "--alpha: expected a number in (0, 0.5]");
    if (f->stab_window && !parse_size_opt(f->stab_window, 0, 1000000, &o->window))
        return usage_error("analyze", "--stability-window: expected a whole number");
    if (f->ic && !lw_ic_parse(f->ic, &o->ic))
        return usage_error("analyze", "--ic: expected aic or bic");
    if (lw_analyze_opts_check(o, err, sizeof err) != LW_OK)
        return usage_error("analyze", err);
    return LW_EXIT_OK;
}

static int cmd_analyze(int argc, char **argv, const lw_cli_env_t *env)
{
    (void)env;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"store", required_argument, NULL, OPT_STORE},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"as-of", required_argument, NULL, OPT_AS_OF},
        {"series", required_argument, NULL, OPT_SERIES},
        {"nsm", required_argument, NULL, OPT_NSM},
        {"kpi", required_argument, NULL, OPT_KPI},
        {"inputs", required_argument, NULL, OPT_INPUTS},
        {"max-lag", required_argument, NULL, OPT_MAX_LAG},
        {"transform", required_argument, NULL, OPT_TRANSFORM},
        {"seasonal", required_argument, NULL, OPT_SEASONAL},
        {"alpha", required_argument, NULL, OPT_ALPHA},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"stability-window", required_argument, NULL, OPT_STAB_WINDOW},
        {"ic", required_argument, NULL, OPT_IC},
        {"holidays", required_argument, NULL, OPT_HOLIDAYS},
        {"controls", required_argument, NULL, OPT_CONTROLS},
        {"max-gap", required_argument, NULL, OPT_MAX_GAP},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    common_t co = {.config = default_config()};
    analyze_flags_t fl = {0};
    const char *holidays = NULL, *controls = NULL, *max_gap = NULL;
    const char *series = NULL, *nsm = NULL, *kpi = NULL, *inputs = NULL;
    lw_analysis_format_t fmt = LW_ANALYSIS_TEXT;
    int64_t as_of = INT64_MAX;
    size_t window = 0;
    bool config_given = false, window_given = false;
    int c, rc = LW_EXIT_OK;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 'c')
            config_given = true;
        if (common_option(c, &co, &rc))
            continue;
        switch (c) {
        case 'h': fputs(help_analyze, stdout); return LW_EXIT_OK;
        case OPT_FORMAT:
            if (!lw_analysis_format_parse(optarg, &fmt))
                return usage_error("analyze", "--format must be text, json or md");
            break;
        case OPT_AS_OF:
            if (!lw_time_parse_iso8601(optarg, strlen(optarg), &as_of))
                return usage_error("analyze", "--as-of: not an ISO 8601 date");
            break;
        case OPT_SERIES: series = optarg; break;
        case OPT_NSM: nsm = optarg; break;
        case OPT_KPI: kpi = optarg; break;
        case OPT_INPUTS: inputs = optarg; break;
        case OPT_MAX_LAG: fl.max_lag = optarg; break;
        case OPT_TRANSFORM: fl.transform = optarg; break;
        case OPT_SEASONAL: fl.seasonal = optarg; break;
        case OPT_ALPHA: fl.alpha = optarg; break;
        case OPT_WINDOW:
            if (!parse_size_opt(optarg, 1, LW_SERIES_MAX_ROWS, &window))
                return usage_error("analyze", "--window: expected a whole number of buckets >= 1");
            window_given = true;
            break;
        case OPT_STAB_WINDOW: fl.stab_window = optarg; break;
        case OPT_IC: fl.ic = optarg; break;
        case OPT_HOLIDAYS: holidays = optarg; break;
        case OPT_CONTROLS: controls = optarg; break;
        case OPT_MAX_GAP: max_gap = optarg; break;
        default: return usage_error("analyze", "invalid option");
        }
    }
    if (rc != LW_EXIT_OK)
        return rc;
    if (optind < argc)
        return usage_error("analyze", "unexpected argument");
    if (series && !nsm)
        return usage_error("analyze", "--series needs --nsm COL");
    if (!series && (nsm || kpi || inputs))
        return usage_error("analyze", "--nsm, --kpi and --inputs go with --series");

    lw_config_t *cfg = NULL;
    lw_store_t *store = NULL;
    lw_series_t ser = {0};
    lw_series_csv_t csv;
    bool have_csv = false, have_src = false;
    lw_analyze_source_t src;
    lw_analysis_t *an = NULL;
    lw_analyze_opts_t ao;
    char err[1024];
    lw_analyze_opts_default(&ao);
    if (!series || config_given) {
        /* the config supplies the tree (without --series) and the analysis: defaults */
        rc = load_config(&co, &cfg);
        if (rc != LW_EXIT_OK)
            return rc;
        ao = cfg->analysis;
        if (!window_given)
            window = cfg->analysis_window;
    }
    rc = apply_analyze_flags(&fl, &ao);
    if (rc != LW_EXIT_OK)
        goto out;
    if ((holidays && lw_analyze_opts_set_holidays(&ao, holidays, err, sizeof err) != LW_OK) ||
        (controls && lw_analyze_opts_set_controls(&ao, controls, err, sizeof err) != LW_OK) ||
        (max_gap && !parse_size_opt(max_gap, 0, LW_ANALYZE_MAX_GAP, &ao.max_gap) &&
         snprintf(err, sizeof err, "--max-gap: expected 0..%u", LW_ANALYZE_MAX_GAP) > 0)) {
        rc = usage_error("analyze", err);
        goto out;
    }
    rc = LW_EXIT_FAILURE;
    lw_err_t e;
    if (series) {
        if ((e = lw_series_csv_load(series, &csv, err, sizeof err)) != LW_OK) {
            fprintf(stderr, "leadwatch analyze: %s\n", err);
            rc = e == LW_ERR_IO ? LW_EXIT_FAILURE : LW_EXIT_USAGE;
            goto out;
        }
        have_csv = true;
        e = lw_analyze_source_from_csv(&src, &csv, nsm, kpi, inputs, err, sizeof err);
    } else {
        const char *store_path = co.store ? co.store : cfg->store.path;
        if (lw_store_open(store_path, LW_STORE_READONLY, &store, err, sizeof err) != LW_OK) {
            fprintf(stderr, "leadwatch analyze: %s: %s\n", store_path, err);
            goto out;
        }
        if (lw_series_load(cfg, store, INT64_MIN, as_of, &ser, err, sizeof err) != LW_OK) {
            fprintf(stderr, "leadwatch analyze: %s\n", err);
            goto out;
        }
        e = lw_analyze_source_from_series(&src, cfg, &ser, err, sizeof err);
    }
    if (e != LW_OK) {
        fprintf(stderr, "leadwatch analyze: %s\n", err);
        rc = e == LW_ERR_CONFIG ? LW_EXIT_USAGE : LW_EXIT_FAILURE;
        goto out;
    }
    have_src = true;
    if (window && src.in.nrows > window) {
        /* analyse the last `window` buckets: the input is a non-owning view */
        size_t skip = src.in.nrows - window;
        src.in.values += skip * src.in.nseries;
        if (src.in.labels)
            src.in.labels += skip;
        src.in.nrows = window;
    }
    if (src.dropped_provisional)
        LW_LOG(LW_LOG_INFO, "analyze", "left out %zu trailing provisional bucket%s",
               src.dropped_provisional, src.dropped_provisional == 1 ? "" : "s");
    if ((e = lw_analyze_tree(&ao, &src.in, &an, err, sizeof err)) != LW_OK) {
        fprintf(stderr, "leadwatch analyze: %s\n", err);
        rc = e == LW_ERR_CONFIG ? LW_EXIT_USAGE : LW_EXIT_FAILURE;
        goto out;
    }
    if (lw_analysis_write(an, fmt, stdout, err, sizeof err) != LW_OK) {
        fprintf(stderr, "leadwatch analyze: %s\n", err);
        goto out;
    }
    rc = LW_EXIT_OK;
out:
    lw_analysis_free(an);
    if (have_src)
        lw_analyze_source_release(&src);
    if (have_csv)
        lw_series_csv_release(&csv);
    lw_series_release(&ser);
    lw_store_close(store);
    lw_config_free(cfg);
    return rc;
}

static int cmd_report(int argc, char **argv, const lw_cli_env_t *env)
{
    (void)env;
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
                                         {"out", required_argument, NULL, 'o'},
                                         {"as-of", required_argument, NULL, OPT_AS_OF},
                                         {"window", required_argument, NULL, OPT_WINDOW},
                                         {"max-lag", required_argument, NULL, OPT_MAX_LAG},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    common_t co = {.config = default_config()};
    lw_report_run_opts_t ro = {0};
    int c, rc = LW_EXIT_OK;
    while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
        if (common_option(c, &co, &rc))
            continue;
        switch (c) {
        case 'h': fputs(help_report, stdout); return LW_EXIT_OK;
        case 'o': ro.out_dir = optarg; break;
        case OPT_AS_OF: ro.as_of = optarg; break;
        case OPT_WINDOW:
            if (!parse_size_opt(optarg, 1, LW_SERIES_MAX_ROWS, &ro.window))
                return usage_error("report", "--window: expected a whole number of buckets >= 1");
            break;
        case OPT_MAX_LAG:
            if (!parse_size_opt(optarg, 1, LW_ANALYZE_MAX_LAG, &ro.max_lag))
                return usage_error("report", "--max-lag: expected a whole number 1..60");
            break;
        default: return usage_error("report", "invalid option");
        }
    }
    if (rc != LW_EXIT_OK)
        return rc;
    if (optind < argc)
        return usage_error("report", "unexpected argument");
    if (!ro.out_dir)
        return usage_error("report", "--out DIR is required");
    if (mkdir(ro.out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "leadwatch report: %s: %s\n", ro.out_dir, strerror(errno));
        return LW_EXIT_FAILURE;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ro.now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    lw_config_t *cfg = NULL;
    rc = load_config(&co, &cfg);
    if (rc != LW_EXIT_OK)
        return rc;
    if (ro.window == 0)
        ro.window = cfg->analysis_window;
    char err[1024], path[4096];
    lw_err_t e = lw_report_run(cfg, &ro, path, sizeof path, err, sizeof err);
    lw_config_free(cfg);
    if (e != LW_OK) {
        fprintf(stderr, "leadwatch report: %s\n", err);
        return e == LW_ERR_CONFIG ? LW_EXIT_USAGE : LW_EXIT_FAILURE;
    }
    printf("%s\n", path);
    return LW_EXIT_OK;
}

static int cmd_help(int argc, char **argv, const lw_cli_env_t *env);

static const command_t commands[] = {
    {"check-config", "validate the config and print the resolved metric tree", help_check_config,
     cmd_check_config},
    {"ingest", "aggregate JSONL events from files or stdin into the store", help_ingest,
     cmd_ingest},
    {"export", "print the metric series as CSV or JSON", help_export, cmd_export},
    {"run", "the daemon: consume Kafka into the store until stopped", help_run, cmd_run},
    {"mock-kafka", "run librdkafka's mock Kafka cluster on 127.0.0.1", help_mock_kafka,
     cmd_mock_kafka},
    {"simulate", "generate a simulated product's events (JSONL or to Kafka)", help_simulate,
     cmd_simulate},
    {"analyze", "test whether each input leads the NSM (and the NSM the KPI)", help_analyze,
     cmd_analyze},
    {"report", "write the validation report (HTML with charts, Markdown, JSON)", help_report,
     cmd_report},
    {"help", "show help for a command", "usage: leadwatch help [COMMAND]\n", cmd_help},
};

static const command_t *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

static void print_main_help(FILE *out)
{
    fputs("usage: leadwatch COMMAND [OPTIONS]\n"
          "\n"
          "leadwatch checks, continuously and with real statistics, that the input\n"
          "metrics a product team believes lead its North Star Metric still do.\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "Run 'leadwatch COMMAND --help' for a command's options.\n"
          "Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.\n"
          "  -h, --help      show this help\n"
          "  -V, --version   print the version\n",
          out);
}

static int cmd_help(int argc, char **argv, const lw_cli_env_t *env)
{
    (void)env;
    if (argc < 2) {
        print_main_help(stdout);
        return LW_EXIT_OK;
    }
    const command_t *c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "leadwatch: unknown command '%s'\n", argv[1]);
        return LW_EXIT_USAGE;
    }
    fputs(c->help, stdout);
    return LW_EXIT_OK;
}

int lw_cli_main(int argc, char **argv, const lw_cli_env_t *env)
{
    if (argc < 2) {
        print_main_help(stderr);
        return LW_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
        print_main_help(stdout);
        return LW_EXIT_OK;
    }
    if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0) {
        printf("leadwatch %s\n", LW_VERSION);
        return LW_EXIT_OK;
    }
    const command_t *c = find_command(name);
    if (!c) {
        fprintf(stderr, "leadwatch: unknown command '%s'\nTry 'leadwatch --help'.\n", name);
        return LW_EXIT_USAGE;
    }
    optind = 1;
    return c->fn(argc - 1, argv + 1, env);
}
