/*
 * cli_analyze.c - the statistics commands of `leadwatch` (cli_cmd.h):
 * analyze (the lead analysis of the config's tree over the store, or of
 * named columns of a --series CSV, printed as text, JSON or Markdown) and
 * report (the HTML/Markdown/JSON validation report, report.h).  Both read
 * their rows through one analysis session (store/session.h): analyze with
 * "the last --window final rows at or before --as-of", report with "the
 * --window bucket periods ending at --as-of".  Flags override the config's
 * analysis: section; without -c, --series runs on the built-in defaults.
 */
#include "leadwatch/app/cli_cmd.h"

#include "leadwatch/app/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "leadwatch/core/clock.h"
#include "leadwatch/core/log.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/report/analysis_out.h"
#include "leadwatch/report/report.h"
#include "leadwatch/store/session.h"

const char lw_cli_help_analyze[] =
    "usage: leadwatch analyze [-c FILE] [--store PATH] [--as-of DATE] [--format text|json|md]\n"
    "                         [options]\n"
    "       leadwatch analyze --series FILE.csv --nsm COL [--kpi COL] [--inputs A,B,...]\n"
    "                         [--format text|json|md] [options]\n"
    "\n"
    "Test whether each input metric leads the North Star Metric, and the NSM the\n"
    "KPI. Each edge is prepared jointly (seasonal pattern and trend removed, both\n"
    "series differenced only when one has a unit root by ADF with trend + KPSS;\n"
    "holidays, outliers and short gaps set missing or filled, and counted), then:\n"
    "Granger tests in both directions, the lag found on one common sample by\n"
    "single-lag tests given y's own lags, combined by Simes (a valid test over the\n"
    "whole lag range), known drivers (--controls) in every model, lagged\n"
    "regression with HAC errors, prewhitened cross-correlation, Benjamini-Hochberg\n"
    "q-values, stability and out-of-sample skill (Clark-West) in both directions,\n"
    "a robust break test on x's coefficients, and sensitivity (MDE). Each edge\n"
    "gets a verdict - leads, reverse, feedback, no_longer_leads (led before a\n"
    "break: 'since' = the break date, 'old_lag'), inconclusive or\n"
    "insufficient_data - with its reasons. A lead is predictive evidence, not\n"
    "proof of cause; controls remove only the drivers you name. The README's\n"
    "'Statistics' section explains every number; --format json is the stable\n"
    "machine contract.\n"
    "\n"
    "With -c the metric tree and the series come from the config and its store\n"
    "(read-only; trailing provisional buckets are left out). Options not given on\n"
    "the command line come from the config's analysis: section.\n"
    "When the config has experiments: and the store holds experiment aggregates,\n"
    "each edge also shows the verdict of the team's A/B tests (confirms,\n"
    "contradicts or not_enough with its numbers; README 'Experiments').\n"
    "\n" LW_CLI_COMMON_OPTS_HELP "      --store PATH       store file (overrides store.path)\n"
    "      --as-of DATE       only buckets starting at or before DATE (ISO 8601)\n"
    "      --series FILE.csv  CSV: a header, first column = period label (kept as\n"
    "                         given), one row per bucket oldest first, equally\n"
    "                         spaced, an empty cell = missing\n"
    "      --nsm COL          the NSM column of --series (required with --series)\n"
    "      --kpi COL          the KPI column (adds the NSM -> KPI edge)\n"
    "      --inputs A,B,...   input columns (default: every other column)\n"
    "      --format FMT       text (default) | json | md (jsonl with --replay)\n"
    "      --replay           walk the rows as the daemon would: at every bucket the\n"
    "                         sequential monitor and the alert rule, the --window\n"
    "                         analysis once a day (every hourly bucket ending at\n"
    "                         midnight); one JSON line per edge and bucket\n"
    "      --monitor on|off   with --replay: alerts from the sequential monitor\n"
    "                         (on when alerts.monitor is true; {alerts.monitor})\n"
    "      --monitor-alpha A  with --replay: the monitor's target false alarms per\n"
    "                         edge and year ({alerts.monitor_alpha})\n"
    "      --max-lag K        Granger lags 1..K ({analysis.max_lag})\n"
    "      --transform T      none | diff | log_diff | auto ({analysis.transform};\n"
    "                         auto: logs when all values > 0, differenced when ADF\n"
    "                         does not reject a unit root at analysis.adf_alpha)\n"
    "      --seasonal S       none | weekly | N ({analysis.seasonal}; weekly:\n"
    "                         day-of-week means for daily buckets, hour-of-day for\n"
    "                         hourly)\n"
    "      --alpha A          FDR level for the BH q-values ({analysis.alpha})\n"
    "      --window N         analyse only the last N buckets (default: all; with -c\n"
    "                         the buckets up to --as-of; config: analysis.window)\n"
    "      --stability-window N  stability sub-window in buckets\n"
    "                         ({analysis.stability_window};\n"
    "                         0: max(n/4, 5*lag+20), at most n/2)\n"
    "      --ic aic|bic       how the own-lag order of the lag search is chosen\n"
    "                         ({analysis.ic})\n"
    "      --holidays D,D,..  special days YYYY-MM-DD: treated as missing, then\n"
    "                         interpolated like short gaps (analysis.holidays)\n"
    "      --controls A,B     known drivers (campaigns, releases, prices): their\n"
    "                         lags 0..p enter both models (conditional Granger;\n"
    "                         tree.controls)\n"
    "      --max-gap N        interpolate runs of up to N missing buckets\n"
    "                         ({analysis.max_gap}); longer gaps only cost the rows\n"
    "                         they touch\n";

const char lw_cli_help_report[] =
    "usage: leadwatch report [-c FILE] --out DIR [--as-of DATE] [--window N] [--max-lag N]\n"
    "\n"
    "Analyse the metric tree on the stored series and write the validation report:\n"
    "DIR/report.html (self-contained: inline charts and styles, no network),\n"
    "DIR/report.md (Markdown, for a wiki), DIR/report.slack.txt (the headline in\n"
    "Slack mrkdwn) and DIR/report.json (the analysis plus report metadata).\n"
    "Each file is replaced atomically. When DIR already holds a\n"
    "report.json, the new report lists the verdicts that changed since. Reads the\n"
    "store read-only, so it can run while the daemon writes (nightly from cron or\n"
    "a systemd timer: config/leadwatch-report.*). Prints the path of report.html.\n"
    "\n" LW_CLI_COMMON_OPTS_HELP
    "  -o, --out DIR          directory for the four files (created if missing)\n"
    "      --as-of DATE       last bucket to analyse, YYYY-MM-DD (default: the\n"
    "                         latest final bucket)\n"
    "      --window N         analyse the N buckets ending at --as-of (default:\n"
    "                         analysis.window - the window alerting uses - else\n"
    "                         every bucket in the store)\n"
    "      --max-lag N        largest lag tested (analysis.max_lag: {analysis.max_lag})\n";

/* Flags of `analyze` that override the config's analysis: section. */
typedef struct {
    const char *max_lag, *transform, *seasonal, *alpha, *stab_window, *ic;
} analyze_flags_t;

static int apply_analyze_flags(const analyze_flags_t *f, lw_analyze_opts_t *o)
{
    char err[256];
    if (f->max_lag && !lw_cli_parse_size(f->max_lag, 1, LW_ANALYZE_MAX_LAG, &o->max_lag))
        return lw_cli_usage_error("analyze", "--max-lag: expected a whole number 1..60");
    if (f->transform && !lw_transform_parse(f->transform, &o->transform))
        return lw_cli_usage_error("analyze", "--transform: expected none, diff, log_diff or auto");
    if (f->seasonal && !lw_seasonal_parse(f->seasonal, &o->seasonal, &o->seasonal_period))
        return lw_cli_usage_error("analyze",
                                  "--seasonal: expected none, weekly or a period 2..400");
    if (f->alpha && !lw_cli_parse_double(f->alpha, &o->alpha))
        return lw_cli_usage_error("analyze", "--alpha: expected a number in (0, 0.5]");
    if (f->stab_window && !lw_cli_parse_size(f->stab_window, 0, 1000000, &o->window))
        return lw_cli_usage_error("analyze", "--stability-window: expected a whole number");
    if (f->ic && !lw_ic_parse(f->ic, &o->ic))
        return lw_cli_usage_error("analyze", "--ic: expected aic or bic");
    if (lw_analyze_opts_check(o, err, sizeof err) != LW_OK)
        return lw_cli_usage_error("analyze", err);
    return LW_EXIT_OK;
}

int lw_cli_analyze(int argc, char **argv, const lw_cli_env_t *env)
{
    (void)env;
    /* getopt_long tables: one row an option, like every command's; rows of one shape are data. */
    static const struct option opts[] = {
        LW_CLI_LONGOPTS_CONFIG,
        LW_CLI_LONGOPT_STORE,
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
        {"replay", no_argument, NULL, OPT_REPLAY},
        {"monitor", required_argument, NULL, OPT_MONITOR},
        {"monitor-alpha", required_argument, NULL, OPT_MONITOR_ALPHA},
        LW_CLI_LONGOPTS_END};
    lw_cli_common_t co = {.config = lw_cli_default_config()};
    analyze_flags_t fl = {0};
    const char *holidays = NULL, *controls = NULL, *max_gap = NULL;
    const char *series = NULL, *nsm = NULL, *kpi = NULL, *inputs = NULL;
    lw_analysis_format_t fmt = LW_ANALYSIS_TEXT;
    int64_t as_of = INT64_MAX;
    size_t window = 0;
    bool window_given = false, replay = false, jsonl = false;
    int monitor = -1;           /* --monitor on|off; -1 = the config's alerts.monitor */
    double monitor_alpha = 0.0; /* --monitor-alpha; 0 = the config's */
    int c, rc = LW_EXIT_OK;
    while ((c = lw_cli_getopt("analyze", argc, argv, "c:h", opts, &co, &rc)) != -1) {
        switch (c) {
        case 'h': lw_cli_put_help(lw_cli_help_analyze, stdout); return LW_EXIT_OK;
        case OPT_FORMAT:
            jsonl = strcmp(optarg, "jsonl") == 0;
            if (!jsonl && !lw_analysis_format_parse(optarg, &fmt))
                return lw_cli_usage_error("analyze", "--format must be text, json or md");
            break;
        case OPT_AS_OF:
            if (!lw_time_parse_iso8601(optarg, strlen(optarg), &as_of))
                return lw_cli_usage_error("analyze", "--as-of: not an ISO 8601 date");
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
            if (!lw_cli_parse_size(optarg, 1, LW_SERIES_MAX_ROWS, &window))
                return lw_cli_usage_error("analyze",
                                          "--window: expected a whole number of buckets >= 1");
            window_given = true;
            break;
        case OPT_STAB_WINDOW: fl.stab_window = optarg; break;
        case OPT_IC: fl.ic = optarg; break;
        case OPT_HOLIDAYS: holidays = optarg; break;
        case OPT_CONTROLS: controls = optarg; break;
        case OPT_MAX_GAP: max_gap = optarg; break;
        case OPT_REPLAY: replay = true; break;
        case OPT_MONITOR:
            if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0)
                return lw_cli_usage_error("analyze", "--monitor must be on or off");
            monitor = strcmp(optarg, "on") == 0;
            break;
        case OPT_MONITOR_ALPHA: {
            char *end = NULL;
            monitor_alpha = strtod(optarg, &end);
            if (!end || *end || !(monitor_alpha > 0.0 && monitor_alpha <= 0.5))
                return lw_cli_usage_error("analyze", "--monitor-alpha must be in (0, 0.5]");
            break;
        }
        }
    }
    if ((rc = lw_cli_options_end("analyze", rc, argc)) != LW_EXIT_OK)
        return rc;
    if (series && !nsm)
        return lw_cli_usage_error("analyze", "--series needs --nsm COL");
    if (!series && (nsm || kpi || inputs))
        return lw_cli_usage_error("analyze", "--nsm, --kpi and --inputs go with --series");
    if (jsonl != replay)
        return lw_cli_usage_error("analyze", "--replay prints jsonl only (--format jsonl)");
    if ((monitor >= 0 || monitor_alpha > 0.0) && !replay)
        return lw_cli_usage_error("analyze", "--monitor and --monitor-alpha go with --replay");

    lw_config_t *cfg = NULL;
    lw_session_t *ses = NULL;
    const lw_analysis_t *an = NULL;
    lw_analyze_opts_t ao;
    char err[1024];
    lw_analyze_opts_default(&ao);
    if (!series || co.config_given) {
        /* the config supplies the tree (without --series) and the analysis: defaults */
        rc = lw_cli_load_config(&co, &cfg);
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
        (max_gap && !lw_cli_parse_size(max_gap, 0, LW_ANALYZE_MAX_GAP, &ao.max_gap) &&
         snprintf(err, sizeof err, "--max-gap: expected 0..%u", LW_ANALYZE_MAX_GAP) > 0)) {
        rc = lw_cli_usage_error("analyze", err);
        goto out;
    }
    rc = LW_EXIT_FAILURE;
    /* tree_only: the output is the tree's analysis, so metrics outside the tree are read for
     * their presence only (no sketch merged: a rolling distinct over hourly buckets was
     * half of an hourly `analyze`, issue 17); the analysis is the same (test_session) */
    const lw_session_range_t range = {.as_of_ms = as_of,
                                      .window = replay ? 0 : window,
                                      .kind = LW_SESSION_LAST_ROWS,
                                      .tree_only = true};
    lw_err_t e;
    if (series) {
        lw_series_csv_t csv;
        if ((e = lw_series_csv_load(series, &csv, err, sizeof err)) != LW_OK) {
            fprintf(stderr, "leadwatch analyze: %s\n", err);
            rc = e == LW_ERR_IO ? LW_EXIT_FAILURE : LW_EXIT_USAGE;
            goto out;
        }
        e = lw_session_from_csv(&csv, nsm, kpi, inputs, &range, &ses, err, sizeof err);
    } else {
        lw_store_t *store = NULL;
        if (!lw_cli_open_store("analyze", &co, cfg, LW_STORE_READONLY, &store))
            goto out;
        e = lw_session_from_store(cfg, store, &range, &ses, err, sizeof err);
        /* issue 16: the experiments verdict per edge, when the store has experiments */
        if (e == LW_OK && !replay)
            e = lw_session_load_experiments(ses, cfg, store, NULL, err, sizeof err);
        lw_store_close(store);
    }
    if (e != LW_OK) {
        fprintf(stderr, "leadwatch analyze: %s\n", err);
        rc = e == LW_ERR_CONFIG ? LW_EXIT_USAGE : LW_EXIT_FAILURE;
        goto out;
    }
    size_t prov = lw_session_provisional(ses);
    if (prov)
        LW_LOG(LW_LOG_INFO, "analyze", "left out %zu trailing provisional bucket%s", prov,
               prov == 1 ? "" : "s");
    if (replay) {
        lw_alert_opts_t alerts;
        if (cfg)
            alerts = cfg->alerts.opts;
        else
            lw_alert_opts_default(&alerts);
        if (monitor >= 0)
            alerts.monitor = monitor == 1;
        if (monitor_alpha > 0.0)
            alerts.monitor_alpha = monitor_alpha;
        rc = lw_cli_analyze_replay(ses, &ao, &alerts, window, stdout);
        goto out;
    }
    if ((e = lw_session_analyze(ses, &ao, &an, err, sizeof err)) != LW_OK) {
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
    lw_session_destroy(ses);
    lw_config_free(cfg);
    return rc;
}

int lw_cli_report(int argc, char **argv, const lw_cli_env_t *env)
{
    (void)env;
    static const struct option opts[] = {LW_CLI_LONGOPTS_CONFIG,
                                         {"out", required_argument, NULL, 'o'},
                                         {"as-of", required_argument, NULL, OPT_AS_OF},
                                         {"window", required_argument, NULL, OPT_WINDOW},
                                         {"max-lag", required_argument, NULL, OPT_MAX_LAG},
                                         LW_CLI_LONGOPTS_END};
    lw_cli_common_t co = {.config = lw_cli_default_config()};
    lw_report_run_opts_t ro = {0};
    int c, rc = LW_EXIT_OK;
    while ((c = lw_cli_getopt("report", argc, argv, "c:o:h", opts, &co, &rc)) != -1) {
        switch (c) {
        case 'h': lw_cli_put_help(lw_cli_help_report, stdout); return LW_EXIT_OK;
        case 'o': ro.out_dir = optarg; break;
        case OPT_AS_OF: ro.as_of = optarg; break;
        case OPT_WINDOW:
            if (!lw_cli_parse_size(optarg, 1, LW_SERIES_MAX_ROWS, &ro.window))
                return lw_cli_usage_error("report",
                                          "--window: expected a whole number of buckets >= 1");
            break;
        case OPT_MAX_LAG:
            if (!lw_cli_parse_size(optarg, 1, LW_ANALYZE_MAX_LAG, &ro.max_lag))
                return lw_cli_usage_error("report", "--max-lag: expected a whole number 1..60");
            break;
        }
    }
    if ((rc = lw_cli_options_end("report", rc, argc)) != LW_EXIT_OK)
        return rc;
    if (!ro.out_dir)
        return lw_cli_usage_error("report", "--out DIR is required");
    if (mkdir(ro.out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "leadwatch report: %s: %s\n", ro.out_dir, strerror(errno));
        return LW_EXIT_FAILURE;
    }
    ro.now_ms = lw_clock_wall_ms();
    lw_config_t *cfg = NULL;
    rc = lw_cli_load_config(&co, &cfg);
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
