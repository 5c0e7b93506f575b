/*
 * cli_cmd.h - what the files of the `leadwatch` command line share; internal
 * to src/app/cli*.c (cli.h is the public entry point).
 *
 * The command line is split by command group, one file each:
 *     cli.c          dispatch (the command table), the options every command
 *                    takes (-c, --store, --log-level), the main --help
 *     cli_ingest.c   check-config, ingest, export
 *     cli_run.c      run (the daemon), mock-kafka, simulate
 *     cli_analyze.c  analyze, report
 *     cli_experiments.c  experiments (past A/B tests, issue 16)
 * A command is `int lw_cli_NAME(argc, argv, env)` returning an LW_EXIT_*
 * code, with its --help text in lw_cli_help_NAME; cli.c lists them.
 * Option codes above 255 (getopt_long's long-only options) are one enum so
 * that no two commands' codes collide with the shared ones.
 */
#ifndef LEADWATCH_CLI_CMD_H
#define LEADWATCH_CLI_CMD_H

#include <getopt.h>
#include <stdbool.h>

#include "leadwatch/ingest/pipeline.h"
#include "leadwatch/model/config.h"
#include "leadwatch/store/store.h"

/* cli.h's environment, by its tag: cli.c includes this header, so this one cannot include cli.h. */
typedef struct lw_cli_env lw_cli_env_t;

#define LW_CLI_COMMON_OPTS_HELP                                                                    \
    "  -c, --config FILE      configuration file (default: $LEADWATCH_CONFIG, else\n"              \
    "                         ./leadwatch.yaml)\n"                                                 \
    "      --log-level LEVEL  error | warn | info | debug (default: info)\n"                       \
    "  -h, --help             show this help\n"

/*
 * The getopt_long entries of the shared options, for a command's table:
 * LW_CLI_LONGOPTS_CONFIG (-c/--config, --log-level), LW_CLI_LONGOPT_STORE,
 * and LW_CLI_LONGOPTS_END (--help and the terminating entry) last.
 */
#define LW_CLI_LONGOPTS_CONFIG                                                                     \
    {"config", required_argument, NULL, 'c'},                                                      \
    {                                                                                              \
        "log-level", required_argument, NULL, OPT_LOG_LEVEL                                        \
    }
#define LW_CLI_LONGOPT_STORE                                                                       \
    {                                                                                              \
        "store", required_argument, NULL, OPT_STORE                                                \
    }
#define LW_CLI_LONGOPTS_END                                                                        \
    {"help", no_argument, NULL, 'h'},                                                              \
    {                                                                                              \
        NULL, 0, NULL, 0                                                                           \
    }

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
    OPT_SIM_MODEL,
    OPT_HOURLY,
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
    OPT_MAX_GAP,
    OPT_REPLAY,
    OPT_MONITOR,
    OPT_MONITOR_ALPHA,
    OPT_AGGREGATES,
    OPT_BUCKETS,
    OPT_WEIGHT,
    OPT_MIN_EXPERIMENTS,
    OPT_MIN_SLOPE,
    OPT_BOOTSTRAP,
    OPT_SRM_ALPHA,
    OPT_EXPERIMENTS
};

typedef struct {
    const char *config;
    const char *store;
    bool config_given; /* -c was on the command line */
} lw_cli_common_t;

/* $LEADWATCH_CONFIG when set and not empty, else "leadwatch.yaml". */
const char *lw_cli_default_config(void);

/*
 * Handle an option every command shares (-c, --store, --log-level); false
 * when `c` is not one.  A bad --log-level sets *exit_code to LW_EXIT_USAGE.
 */
bool lw_cli_common_option(int c, lw_cli_common_t *co, int *exit_code);

/*
 * getopt_long over the command's options with the shared ones handled
 * (lw_cli_common_option): the next option the command handles itself, or
 * -1 at the end.  An unknown option or a missing argument prints
 * "leadwatch CMD: invalid option", sets *exit_code to LW_EXIT_USAGE and
 * ends the loop (-1).
 */
int lw_cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
                  const struct option *longopts, lw_cli_common_t *co, int *exit_code);

/* A whole number in [lo, hi] / a number (strtod, whole string); false on anything else. */
bool lw_cli_parse_size(const char *s, size_t lo, size_t hi, size_t *out);
bool lw_cli_parse_double(const char *s, double *out);

/* Print "leadwatch CMD: MSG" and the --help hint on stderr; returns LW_EXIT_USAGE. */
int lw_cli_usage_error(const char *cmd, const char *msg);

/*
 * After the getopt loop of a command that takes no operands: rc (the exit
 * code lw_cli_common_option left) when it is not LW_EXIT_OK, else a usage
 * error when an operand is left (optind < argc), else LW_EXIT_OK.
 */
int lw_cli_options_end(const char *cmd, int rc, int argc);

/* Print a command's help text; "{analysis.max_lag}" becomes that config key's
 * default and bounds from the config tables (lw_config_key_doc). */
void lw_cli_put_help(const char *text, FILE *out);

/* Load co->config into *cfg; prints the config module's error and returns LW_EXIT_USAGE. */
int lw_cli_load_config(const lw_cli_common_t *co, lw_config_t **cfg);

/* The store a command uses: --store, else the config's store.path. */
const char *lw_cli_store_path(const lw_cli_common_t *co, const lw_config_t *cfg);

/*
 * lw_store_open(lw_cli_store_path(co, cfg), flags); on failure prints
 * "leadwatch CMD: PATH: message" on stderr and returns false (*store NULL).
 */
bool lw_cli_open_store(const char *cmd, const lw_cli_common_t *co, const lw_config_t *cfg,
                       int flags, lw_store_t **store);

/* The committed pipeline counts ingest and run print: accepted, late, rejected (by reason). */
void lw_cli_print_counts(const lw_pipeline_stats_t *st);

/* An ISO 8601 date or time option (lw_time_parse_iso8601) into *out; false when it is not one. */
bool lw_cli_parse_date(const char *s, int64_t *out);

/* The commands (argv[0] is the command name) and their --help texts. */
int lw_cli_check_config(int argc, char **argv, const lw_cli_env_t *env);
int lw_cli_ingest(int argc, char **argv, const lw_cli_env_t *env);
int lw_cli_export(int argc, char **argv, const lw_cli_env_t *env);
int lw_cli_run(int argc, char **argv, const lw_cli_env_t *env);
int lw_cli_mock_kafka(int argc, char **argv, const lw_cli_env_t *env);
int lw_cli_simulate(int argc, char **argv, const lw_cli_env_t *env);
int lw_cli_analyze(int argc, char **argv, const lw_cli_env_t *env);
int lw_cli_report(int argc, char **argv, const lw_cli_env_t *env);
int lw_cli_experiments(int argc, char **argv, const lw_cli_env_t *env);

/*
 * `analyze --replay` (cli_replay.c): the daemon's evaluation at every bucket
 * of the session's rows (window `window`), one JSON line per edge and
 * bucket on `out`.  Returns an LW_EXIT_* code; errors go to stderr.
 */
struct lw_session;
int lw_cli_analyze_replay(struct lw_session *ses, const lw_analyze_opts_t *ao,
                          const lw_alert_opts_t *alerts, size_t window, FILE *out);

extern const char lw_cli_help_check_config[], lw_cli_help_ingest[], lw_cli_help_export[],
    lw_cli_help_run[], lw_cli_help_mock_kafka[], lw_cli_help_simulate[], lw_cli_help_analyze[],
    lw_cli_help_report[], lw_cli_help_experiments[];

#endif
