/*
 * cli_run.c - the streaming commands of `leadwatch` (cli_cmd.h): run (the
 * daemon: Kafka consumer + pipeline + evaluator + /metrics, wired by
 * service.c and looped by daemon.c until a stop signal), mock-kafka
 * (librdkafka's mock cluster, optionally driven by control lines on stdin)
 * and simulate (the demo product's events as JSONL or produced to Kafka).
 * `--kafka KEY=VALUE` properties are collected in a kafka_args_t and passed
 * through to librdkafka unchanged.
 */
#include "leadwatch/app/cli_cmd.h"

#include "leadwatch/app/cli.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "leadwatch/app/daemon.h"
#include "leadwatch/app/service.h"
#include "leadwatch/core/clock.h"
#include "leadwatch/core/log.h"
#include "leadwatch/ingest/consumer.h"
#include "leadwatch/ingest/mockkafka.h"
#include "leadwatch/ingest/pipeline.h"
#include "leadwatch/ingest/produce.h"
#include "leadwatch/model/simulate.h"

const char lw_cli_help_run[] =
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
    "next offset of every partition they cover in one store transaction, and\n"
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
    "tree is re-evaluated over the last analysis.window buckets, on an evaluator\n"
    "thread with its own store connection (a slow evaluation never holds up\n"
    "consumption; SIGTERM waits for the evaluations still due); verdicts go to\n"
    "the store, and an edge that led and stops leading raises an alert (alerts:\n"
    "section: Alertmanager, webhook, Kafka topic) after alerts.for evaluations.\n"
    "No events for alerts.stall.no_events_for raises LeadwatchPipelineStalled\n"
    "instead; offsets skipped by a reset (retention passed the stored offset) are\n"
    "counted as lost, logged as errors and raise LeadwatchEventsLost. With http:\n"
    "(or --http) it serves /metrics, /healthz and /readyz. The store must be a\n"
    "file or a postgresql:// URL (not :memory:).\n"
    "SIGHUP reloads the analysis and alerts sections without stopping.\n"
    "\n"
    "A fleet: several daemons with the same group.id on one postgresql:// store\n"
    "count every message once (each flush is refused for a partition another\n"
    "member has claimed since; counted as leadwatch_store_fenced_flushes_total),\n"
    "share one watermark, and only the holder of the evaluator lease evaluates\n"
    "and alerts (another takes over when it dies). README: Running a fleet.\n"
    "\n" LW_CLI_COMMON_OPTS_HELP "      --store PATH       store file (overrides store.path)\n"
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

const char lw_cli_help_mock_kafka[] =
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

const char lw_cli_help_simulate[] =
    "usage: leadwatch simulate [--days N] [--seed S] [--start DATE] [--break-day D]\n"
    "                          [--model NAME=VALUE] [--hourly] [--users U] [--scale X]\n"
    "                          [--truth FILE] [--experiments N]\n"
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
    "      --model NAME=VALUE  set a model parameter (repeatable; names and defaults\n"
    "                         below and in docs/SIMULATOR.md), e.g. lag_playlists=1\n"
    "      --hourly           write each simulated day as one hour from --start (the\n"
    "                         lags, the weekly cycle and --break-day then count hours:\n"
    "                         a product for hourly buckets; --days 1440 = 60 days)\n"
    "      --users U          user pool size (default: 4 x expected daily actives)\n"
    "      --scale X          event volume multiplier (default 1)\n"
    "      --truth FILE       write the exact per-day aggregates as CSV to FILE\n"
    "      --experiments N    add N A/B tests (Segment `Experiment Viewed`, experiment_id,\n"
    "                         variation_id control|treatment) with known effects:\n"
    "                         exp_KK_driver moves sessions per user and listening,\n"
    "                         exp_KK_proxy moves playlists only, exp_KK_null nothing\n"
    "      --produce BOOTSTRAP  produce to Kafka at BOOTSTRAP instead of stdout\n"
    "      --topic T          the topic to produce to (with --produce)\n"
    "      --kafka KEY=VALUE  extra producer property (repeatable)\n"
    "      --rate R           at most R events per second on average (default: no limit)\n";

/* lw_cli_parse_double within [lo, hi]. */
static bool parse_double_arg(const char *s, double lo, double hi, double *out)
{
    double v;
    if (!lw_cli_parse_double(s, &v) || !(v >= lo && v <= hi))
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

/* `st` counts what was committed; `read` every event read, committed or not. */
static void print_run_summary(const lw_pipeline_stats_t *st, int64_t read,
                              const lw_consumer_stats_t *cs, double secs)
{
    printf("consumed %lld messages in %.2f s (%.0f messages/s)\n", (long long)cs->messages, secs,
           secs > 0 ? (double)cs->messages / secs : 0.0);
    if (read > st->read)
        printf("not committed: %lld events read after the last successful flush\n",
               (long long)(read - st->read));
    lw_cli_print_counts(st);
    if (cs->dead_lettered)
        printf("  dead-lettered %8lld\n", (long long)cs->dead_lettered);
    if (cs->events_lost)
        printf("  lost          %8lld (Kafka offsets skipped: the log no longer held them)\n",
               (long long)cs->events_lost);
    printf("  committed in %lld transaction%s; %lld Kafka offset commit%s (%lld refused)\n",
           (long long)st->flushes, st->flushes == 1 ? "" : "s", (long long)cs->kafka_commits,
           cs->kafka_commits == 1 ? "" : "s", (long long)cs->kafka_commit_errors);
    if (cs->fenced_flushes || st->flush_retries)
        printf("  fleet: %lld flush%s refused (partition claimed by another member, its events "
               "consumed again), %lld deadlock retr%s\n",
               (long long)cs->fenced_flushes, cs->fenced_flushes == 1 ? "" : "es",
               (long long)st->flush_retries, st->flush_retries == 1 ? "y" : "ies");
}

int lw_cli_run(int argc, char **argv, const lw_cli_env_t *env)
{
    static const struct option opts[] = {LW_CLI_LONGOPTS_CONFIG,
                                         LW_CLI_LONGOPT_STORE,
                                         {"kafka", required_argument, NULL, OPT_KAFKA},
                                         {"topic", required_argument, NULL, OPT_TOPIC},
                                         {"dead-letter-topic", required_argument, NULL, OPT_DLQ},
                                         {"exit-when-idle", required_argument, NULL, OPT_IDLE},
                                         {"http", required_argument, NULL, OPT_HTTP},
                                         LW_CLI_LONGOPTS_END};
    lw_cli_common_t co = {.config = lw_cli_default_config()};
    const char *http_listen = NULL;
    const char *cli_props[LW_KAFKA_MAX_PROPS];
    const char *cli_topics[LW_KAFKA_MAX_TOPICS];
    size_t ncli_props = 0, ncli_topics = 0;
    const char *dlq = NULL;
    double idle_s = 0;
    int c, rc = LW_EXIT_OK;
    while ((c = lw_cli_getopt("run", argc, argv, "c:h", opts, &co, &rc)) != -1) {
        switch (c) {
        case 'h': lw_cli_put_help(lw_cli_help_run, stdout); return LW_EXIT_OK;
        case OPT_KAFKA:
            if (!strchr(optarg, '=') || optarg[0] == '=')
                return lw_cli_usage_error("run", "--kafka wants KEY=VALUE");
            if (ncli_props == LW_KAFKA_MAX_PROPS)
                return lw_cli_usage_error("run", "too many --kafka options");
            cli_props[ncli_props++] = optarg;
            break;
        case OPT_TOPIC:
            if (ncli_topics == LW_KAFKA_MAX_TOPICS || !*optarg)
                return lw_cli_usage_error("run", "--topic: empty or too many");
            cli_topics[ncli_topics++] = optarg;
            break;
        case OPT_DLQ: dlq = optarg; break;
        case OPT_HTTP: http_listen = optarg; break;
        case OPT_IDLE:
            if (!parse_double_arg(optarg, 0.001, 86400.0, &idle_s))
                return lw_cli_usage_error("run", "--exit-when-idle wants seconds (0.001 .. 86400)");
            break;
        }
    }
    /* Every command's option switch ends this way (then lw_cli_options_end): the getopt loop. */
    if ((rc = lw_cli_options_end("run", rc, argc)) != LW_EXIT_OK)
        return rc;

    lw_config_t *cfg = NULL;
    lw_store_t *store = NULL;
    lw_pipeline_t *p = NULL;
    kafka_args_t *ka = calloc(1, sizeof *ka);
    char err[1024];
    if (!ka) {
        fprintf(stderr, "leadwatch run: out of memory\n");
        return LW_EXIT_FAILURE;
    }
    rc = lw_cli_load_config(&co, &cfg);
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
    if (!lw_cli_open_store("run", &co, cfg, 0, &store))
        goto out;
    p = lw_pipeline_new(cfg, store, err, sizeof err);
    if (!p) {
        fprintf(stderr, "leadwatch run: %s\n", err);
        goto out;
    }
    lw_service_opts_t so = {.config_path = co.config,
                            .cfg = cfg,
                            .pipeline = p,
                            .store = store,
                            .store_path = lw_cli_store_path(&co, cfg),
                            .kafka = &ks,
                            .http_listen = http_listen,
                            .stop = env->stop,
                            .reload = env->reload,
                            .exit_when_idle_ms = (int64_t)(idle_s * 1000.0)};
    lw_daemon_result_t res;
    double t0 = lw_clock_mono_s();
    lw_err_t e = lw_service_run(&so, &res, err, sizeof err);
    /* the daemon's own time: without the alert queues' drain at exit */
    double secs = res.run_s > 0 ? res.run_s : lw_clock_mono_s() - t0;
    if (e == LW_ERR_CONFIG) {
        fprintf(stderr, "leadwatch run: %s\n", err);
        rc = LW_EXIT_USAGE;
        goto out;
    }
    lw_pipeline_stats_t fed;
    lw_pipeline_stats(p, &fed);
    print_run_summary(&res.committed, fed.read, &res.consumer, secs);
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

int lw_cli_mock_kafka(int argc, char **argv, const lw_cli_env_t *env)
{
    static const struct option opts[] = {{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
                                         {"brokers", required_argument, NULL, OPT_BROKERS},
                                         {"partitions", required_argument, NULL, OPT_PARTITIONS},
                                         {"topic", required_argument, NULL, OPT_TOPIC},
                                         {"control", no_argument, NULL, OPT_CONTROL},
                                         LW_CLI_LONGOPTS_END};
    lw_cli_common_t co = {.config = NULL};
    long brokers = 1, partitions = 4;
    const char *topics[LW_MOCK_MAX_TOPICS];
    size_t ntopics = 0;
    bool control = false;
    int c, rc = LW_EXIT_OK;
    while ((c = lw_cli_getopt("mock-kafka", argc, argv, "h", opts, &co, &rc)) != -1) {
        switch (c) {
        case 'h': lw_cli_put_help(lw_cli_help_mock_kafka, stdout); return LW_EXIT_OK;
        case OPT_BROKERS:
            if (!lw_parse_long(optarg, 1, LW_MOCK_MAX_BROKERS, &brokers))
                return lw_cli_usage_error("mock-kafka", "--brokers: 1..16");
            break;
        case OPT_PARTITIONS:
            if (!lw_parse_long(optarg, 1, LW_MOCK_MAX_PARTITIONS, &partitions))
                return lw_cli_usage_error("mock-kafka", "--partitions: 1..1024");
            break;
        case OPT_TOPIC:
            if (ntopics == LW_MOCK_MAX_TOPICS)
                return lw_cli_usage_error("mock-kafka", "too many --topic options");
            topics[ntopics++] = optarg;
            break;
        case OPT_CONTROL: control = true; break;
        }
    }
    if ((rc = lw_cli_options_end("mock-kafka", rc, argc)) != LW_EXIT_OK)
        return rc;

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

int lw_cli_simulate(int argc, char **argv, const lw_cli_env_t *env)
{
    static const struct option opts[] = {{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
                                         {"days", required_argument, NULL, OPT_DAYS},
                                         {"seed", required_argument, NULL, OPT_SEED},
                                         {"start", required_argument, NULL, OPT_START},
                                         {"break-day", required_argument, NULL, OPT_BREAK_DAY},
                                         {"model", required_argument, NULL, OPT_SIM_MODEL},
                                         {"hourly", no_argument, NULL, OPT_HOURLY},
                                         {"users", required_argument, NULL, OPT_USERS},
                                         {"scale", required_argument, NULL, OPT_SCALE},
                                         {"truth", required_argument, NULL, OPT_TRUTH},
                                         {"produce", required_argument, NULL, OPT_PRODUCE},
                                         {"topic", required_argument, NULL, OPT_TOPIC},
                                         {"kafka", required_argument, NULL, OPT_KAFKA},
                                         {"rate", required_argument, NULL, OPT_RATE},
                                         {"experiments", required_argument, NULL, OPT_EXPERIMENTS},
                                         LW_CLI_LONGOPTS_END};
    lw_cli_common_t co = {.config = NULL};
    lw_sim_opts_t so;
    lw_sim_opts_default(&so);
    lw_sim_model_t model;
    lw_sim_model_default(&model);
    const char *bootstrap = NULL, *topic = NULL, *truth = NULL;
    const char *extra[LW_KAFKA_MAX_PROPS - 1];
    size_t nextra = 0;
    double rate = 0;
    long v;
    int c, rc = LW_EXIT_OK;
    while ((c = lw_cli_getopt("simulate", argc, argv, "h", opts, &co, &rc)) != -1) {
        switch (c) {
        case 'h':
            lw_cli_put_help(lw_cli_help_simulate, stdout);
            print_sim_model(stdout);
            return LW_EXIT_OK;
        case OPT_DAYS:
            if (!lw_parse_long(optarg, 1, LW_SIM_MAX_DAYS, &v))
                return lw_cli_usage_error("simulate", "--days: 1..36600");
            so.days = (int)v;
            break;
        case OPT_SEED: {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-')
                return lw_cli_usage_error("simulate", "--seed: a non-negative integer");
            so.seed = (uint64_t)s;
            break;
        }
        case OPT_START:
            if (!lw_cli_parse_date(optarg, &so.start_ms))
                return lw_cli_usage_error("simulate", "--start: not an ISO 8601 date");
            break;
        case OPT_BREAK_DAY:
            if (!lw_parse_long(optarg, 0, LW_SIM_MAX_DAYS - 1, &v))
                return lw_cli_usage_error("simulate", "--break-day: a day index");
            so.break_day = (int)v;
            break;
        case OPT_SIM_MODEL: {
            const char *eq = strchr(optarg, '=');
            char name[64], merr[256], *end = NULL;
            double mv = eq ? strtod(eq + 1, &end) : 0.0;
            if (!eq || (size_t)(eq - optarg) >= sizeof name || end == eq + 1 || *end)
                return lw_cli_usage_error("simulate", "--model wants NAME=NUMBER");
            memcpy(name, optarg, (size_t)(eq - optarg));
            name[eq - optarg] = '\0';
            if (lw_sim_model_set(&model, name, mv, merr, sizeof merr) != LW_OK)
                return lw_cli_usage_error("simulate", merr);
            so.model = &model;
            break;
        }
        case OPT_HOURLY: so.hourly = true; break;
        case OPT_USERS:
            if (!lw_parse_long(optarg, 1, LW_SIM_MAX_USERS, &v))
                return lw_cli_usage_error("simulate", "--users: 1..50000000");
            so.users = v;
            break;
        case OPT_SCALE:
            if (!parse_double_arg(optarg, 1e-9, LW_SIM_MAX_SCALE, &so.scale))
                return lw_cli_usage_error("simulate", "--scale: (0, 1000]");
            break;
        case OPT_TRUTH: truth = optarg; break;
        case OPT_EXPERIMENTS:
            if (!lw_parse_long(optarg, 0, LW_SIM_MAX_EXPERIMENTS, &v))
                return lw_cli_usage_error("simulate", "--experiments: 0..200");
            so.experiments = (int)v;
            break;
        case OPT_PRODUCE: bootstrap = optarg; break;
        case OPT_TOPIC: topic = optarg; break;
        case OPT_KAFKA:
            if (!strchr(optarg, '=') || optarg[0] == '=' || nextra == LW_KAFKA_MAX_PROPS - 1)
                return lw_cli_usage_error("simulate", "--kafka wants KEY=VALUE");
            extra[nextra++] = optarg;
            break;
        case OPT_RATE:
            if (!parse_double_arg(optarg, 0.001, 1e9, &rate))
                return lw_cli_usage_error("simulate", "--rate: events per second (> 0)");
            break;
        }
    }
    if ((rc = lw_cli_options_end("simulate", rc, argc)) != LW_EXIT_OK)
        return rc;
    if (!bootstrap != !topic)
        return lw_cli_usage_error("simulate", "--produce and --topic go together");

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
    lw_pacer_init(&pacer, rate, (int64_t)(lw_clock_mono_s() * 1000.0));
    char line[LW_SIM_MAX_LINE + 1];
    int64_t n = 0;
    bool complete = false;
    double t0 = lw_clock_mono_s();
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
            int64_t wait = lw_pacer_delay_ms(&pacer, n, (int64_t)(lw_clock_mono_s() * 1000.0));
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
    double secs = lw_clock_mono_s() - t0;
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
