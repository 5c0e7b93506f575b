/*
 * cli_ingest.c - the data commands of `leadwatch` (cli_cmd.h): check-config
 * (validate and print the resolved tree), ingest (JSONL files or stdin
 * through the pipeline into the store, printing the counts per reject
 * reason) and export (the stored series as CSV or JSON, read-only).
 */
#include "leadwatch/app/cli_cmd.h"

#include "leadwatch/app/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/core/clock.h"
#include "leadwatch/core/log.h"
#include "leadwatch/ingest/ingest.h"
#include "leadwatch/ingest/pipeline.h"
#include "leadwatch/report/export.h"
#include "leadwatch/store/series.h"
#include "leadwatch/store/store.h"

const char lw_cli_help_check_config[] =
    "usage: leadwatch check-config [-c FILE]\n"
    "\n"
    "Validate the configuration and print the resolved metric tree. Every error\n"
    "is reported as FILE:LINE: KEY: what is wrong, and the exit code is 2.\n"
    "\n" LW_CLI_COMMON_OPTS_HELP;

const char lw_cli_help_ingest[] =
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
    "\n" LW_CLI_COMMON_OPTS_HELP "      --store PATH       store file (overrides store.path)\n"
    "      --rejects FILE     append every rejected or late line to FILE\n"
    "      --from-start       ignore stored positions (counts the files again)\n";

const char lw_cli_help_export[] =
    "usage: leadwatch export [-c FILE] [--store PATH] [--format csv|json] [--experiments]\n"
    "                        [--metrics A,B,...] [--from DATE] [--to DATE]\n"
    "\n"
    "Print the metric series: one row per bucket, 'period' (the bucket start,\n"
    "ISO 8601 UTC) first, then one column per metric in config order. A value\n"
    "that is undefined (a mean of no events, a ratio with a zero denominator, or\n"
    "any value in a bucket where no events at all were seen) is empty in CSV and\n"
    "null in JSON. JSON rows also carry 'provisional' (the bucket can still\n"
    "change: its end + grace has not passed the watermark) and 'gap'.\n"
    "Reads the store read-only, so it is safe while the daemon runs.\n"
    "\n" LW_CLI_COMMON_OPTS_HELP "      --store PATH       store file (overrides store.path)\n"
    "      --format FMT       csv (default) or json\n"
    "      --metrics LIST     comma-separated metric names (default: all)\n"
    "      --from DATE        first bucket starting at or after DATE (ISO 8601)\n"
    "      --to DATE          last bucket starting at or before DATE (inclusive)\n"
    "      --experiments      print the experiment aggregates instead (CSV: experiment,\n"
    "                         variant,metric,window,bucket,users,num,den; the input of\n"
    "                         `leadwatch experiments --aggregates`)\n";

int lw_cli_check_config(int argc, char **argv, const lw_cli_env_t *env)
{
    (void)env;
    static const struct option opts[] = {LW_CLI_LONGOPTS_CONFIG, LW_CLI_LONGOPTS_END};
    lw_cli_common_t co = {.config = lw_cli_default_config()};
    int c, rc = LW_EXIT_OK;
    while ((c = lw_cli_getopt("check-config", argc, argv, "c:h", opts, &co, &rc)) != -1) {
        if (c == 'h') {
            lw_cli_put_help(lw_cli_help_check_config, stdout);
            fputc('\n', stdout);
            lw_config_describe(stdout);
            return LW_EXIT_OK;
        }
    }
    if ((rc = lw_cli_options_end("check-config", rc, argc)) != LW_EXIT_OK)
        return rc;
    lw_config_t *cfg = NULL;
    rc = lw_cli_load_config(&co, &cfg);
    if (rc != LW_EXIT_OK)
        return rc;
    printf("%s: OK\n", co.config);
    lw_config_print(cfg, stdout);
    lw_config_free(cfg);
    return LW_EXIT_OK;
}

/* `st` counts what was committed; `read` every event read, committed or not. */
static void print_ingest_summary(const lw_config_t *cfg, const lw_pipeline_stats_t *st,
                                 int64_t read, double secs, int ninputs, int64_t skipped_bytes)
{
    printf("read %lld events from %d input%s in %.2f s (%.0f events/s)\n", (long long)read, ninputs,
           ninputs == 1 ? "" : "s", secs, secs > 0 ? (double)read / secs : 0.0);
    if (read > st->read)
        printf("not committed: %lld events read after the last successful flush\n",
               (long long)(read - st->read));
    if (skipped_bytes > 0)
        printf("skipped %lld bytes already in the store\n", (long long)skipped_bytes);
    lw_cli_print_counts(st);
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

void lw_cli_print_counts(const lw_pipeline_stats_t *st)
{
    printf("  accepted  %12lld\n", (long long)st->accepted);
    printf("  late      %12lld\n", (long long)st->late);
    printf("  rejected  %12lld\n", (long long)st->rejected_total);
    for (int r = 1; r < LW_REJECT__COUNT; r++) {
        if (st->rejected[r])
            printf("    %-16s %8lld\n", lw_reject_name((lw_reject_t)r), (long long)st->rejected[r]);
    }
}

int lw_cli_ingest(int argc, char **argv, const lw_cli_env_t *env)
{
    static const struct option opts[] = {LW_CLI_LONGOPTS_CONFIG,
                                         LW_CLI_LONGOPT_STORE,
                                         {"rejects", required_argument, NULL, OPT_REJECTS},
                                         {"from-start", no_argument, NULL, OPT_FROM_START},
                                         LW_CLI_LONGOPTS_END};
    lw_cli_common_t co = {.config = lw_cli_default_config()};
    const char *rejects_path = NULL;
    lw_ingest_opts_t iopts = {.stop = env->stop};
    int c, rc = LW_EXIT_OK;
    while ((c = lw_cli_getopt("ingest", argc, argv, "c:h", opts, &co, &rc)) != -1) {
        switch (c) {
        case 'h': lw_cli_put_help(lw_cli_help_ingest, stdout); return LW_EXIT_OK;
        case OPT_REJECTS: rejects_path = optarg; break;
        case OPT_FROM_START: iopts.from_start = true; break;
        }
    }
    if (rc != LW_EXIT_OK)
        return rc;
    if (optind >= argc)
        return lw_cli_usage_error("ingest", "no input files (use '-' for stdin)");

    lw_config_t *cfg = NULL;
    lw_store_t *store = NULL;
    lw_pipeline_t *p = NULL;
    char err[1024];
    rc = lw_cli_load_config(&co, &cfg);
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
    const char *store_path = lw_cli_store_path(&co, cfg);
    if (!lw_cli_open_store("ingest", &co, cfg, 0, &store))
        goto out;
    p = lw_pipeline_new(cfg, store, err, sizeof err);
    if (!p) {
        fprintf(stderr, "leadwatch ingest: %s\n", err);
        goto out;
    }
    double t0 = lw_clock_mono_s();
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
    /* a store that fails its check must not get exit 0 (cost: one read of the file) */
    if (rc == LW_EXIT_OK && lw_store_check(store, err, sizeof err) != LW_OK) {
        fprintf(stderr, "leadwatch ingest: %s: %s\n", store_path, err);
        rc = LW_EXIT_FAILURE;
    }
    lw_pipeline_stats_t st, all;
    lw_pipeline_committed(p, &st);
    lw_pipeline_stats(p, &all);
    print_ingest_summary(cfg, &st, all.read, lw_clock_mono_s() - t0, ninputs, skipped);

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

int lw_cli_export(int argc, char **argv, const lw_cli_env_t *env)
{
    (void)env;
    static const struct option opts[] = {LW_CLI_LONGOPTS_CONFIG,
                                         LW_CLI_LONGOPT_STORE,
                                         {"format", required_argument, NULL, OPT_FORMAT},
                                         {"metrics", required_argument, NULL, OPT_METRICS},
                                         {"from", required_argument, NULL, OPT_FROM},
                                         {"to", required_argument, NULL, OPT_TO},
                                         {"experiments", no_argument, NULL, OPT_EXPERIMENTS},
                                         LW_CLI_LONGOPTS_END};
    lw_cli_common_t co = {.config = lw_cli_default_config()};
    lw_export_format_t fmt = LW_EXPORT_CSV;
    bool experiments = false;
    const char *metrics = NULL;
    int64_t from = INT64_MIN, to = INT64_MAX;
    int c, rc = LW_EXIT_OK;
    while ((c = lw_cli_getopt("export", argc, argv, "c:h", opts, &co, &rc)) != -1) {
        switch (c) {
        case 'h': lw_cli_put_help(lw_cli_help_export, stdout); return LW_EXIT_OK;
        case OPT_FORMAT:
            if (strcmp(optarg, "csv") == 0)
                fmt = LW_EXPORT_CSV;
            else if (strcmp(optarg, "json") == 0)
                fmt = LW_EXPORT_JSON;
            else
                return lw_cli_usage_error("export", "--format must be csv or json");
            break;
        case OPT_METRICS: metrics = optarg; break;
        case OPT_EXPERIMENTS: experiments = true; break;
        case OPT_FROM:
            if (!lw_cli_parse_date(optarg, &from))
                return lw_cli_usage_error("export", "--from: not an ISO 8601 date");
            break;
        case OPT_TO:
            if (!lw_cli_parse_date(optarg, &to))
                return lw_cli_usage_error("export", "--to: not an ISO 8601 date");
            break;
        }
    }
    if ((rc = lw_cli_options_end("export", rc, argc)) != LW_EXIT_OK)
        return rc;

    lw_config_t *cfg = NULL;
    lw_store_t *store = NULL;
    lw_series_t series = {0};
    char err[1024];
    int cols[LW_CONFIG_MAX_METRICS];
    size_t ncols;
    rc = lw_cli_load_config(&co, &cfg);
    if (rc != LW_EXIT_OK)
        return rc;
    rc = resolve_metrics(cfg, metrics, cols, &ncols);
    if (rc != LW_EXIT_OK)
        goto out;
    rc = LW_EXIT_FAILURE;
    if (!lw_cli_open_store("export", &co, cfg, LW_STORE_READONLY, &store))
        goto out;
    if (experiments) {
        if (!cfg->experiments.configured) {
            fprintf(stderr, "leadwatch export: --experiments: the config has no experiments: "
                            "section\n");
            goto out;
        }
        if (lw_export_experiments(store, cfg, stdout, err, sizeof err) != LW_OK) {
            fprintf(stderr, "leadwatch export: %s\n", err);
            goto out;
        }
        rc = LW_EXIT_OK;
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
