/*
 * cli.c - the `leadwatch` command line (see cli.h): dispatch and what every
 * command shares.
 *
 * Each subcommand is a row in `commands`: name, one-line summary, the full
 * help text, and its function.  A function parses its own options with
 * lw_cli_getopt (getopt_long with the shared options and the "invalid
 * option" error handled here), loads the config (configuration errors →
 * exit 2 with the config module's "file:line: key: message"), does its work
 * through the library, and maps failures to exit 1 with one clear line on
 * stderr.  The commands live in one file per group (cli_cmd.h lists them);
 * this file holds the table, the shared options (-c, --store, --log-level),
 * the helpers every command uses (number and date options, opening the
 * store) and the main --help.
 */
#include "leadwatch/app/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leadwatch/app/cli_cmd.h"
#include "leadwatch/core/log.h"
#include "leadwatch/core/timeutil.h"

typedef int (*cmd_fn)(int argc, char **argv, const lw_cli_env_t *env);

typedef struct {
    const char *name;
    const char *summary;
    const char *help;
    cmd_fn fn;
} command_t;

static const command_t *find_command(const char *name);

const char *lw_cli_default_config(void)
{
    const char *env = getenv("LEADWATCH_CONFIG");
    return env && *env ? env : "leadwatch.yaml";
}

bool lw_cli_common_option(int c, lw_cli_common_t *co, int *exit_code)
{
    switch (c) {
    case 'c':
        co->config = optarg;
        co->config_given = true;
        return true;
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

int lw_cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
                  const struct option *longopts, lw_cli_common_t *co, int *exit_code)
{
    int c;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        if (c == '?' || c == ':') {
            *exit_code = lw_cli_usage_error(cmd, "invalid option");
            return -1;
        }
        if (!lw_cli_common_option(c, co, exit_code))
            return c;
    }
    return -1;
}

bool lw_cli_parse_size(const char *s, size_t lo, size_t hi, size_t *out)
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

bool lw_cli_parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

int lw_cli_usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "leadwatch %s: %s\nTry 'leadwatch %s --help'.\n", cmd, msg, cmd);
    return LW_EXIT_USAGE;
}

int lw_cli_options_end(const char *cmd, int rc, int argc)
{
    if (rc != LW_EXIT_OK)
        return rc;
    if (optind < argc)
        return lw_cli_usage_error(cmd, "unexpected argument");
    return LW_EXIT_OK;
}

int lw_cli_load_config(const lw_cli_common_t *co, lw_config_t **cfg)
{
    char err[1024];
    lw_err_t e = lw_config_load(co->config, cfg, err, sizeof err);
    if (e != LW_OK) {
        fprintf(stderr, "%s\n", err);
        return LW_EXIT_USAGE;
    }
    return LW_EXIT_OK;
}

const char *lw_cli_store_path(const lw_cli_common_t *co, const lw_config_t *cfg)
{
    return co->store ? co->store : cfg->store.path;
}

bool lw_cli_open_store(const char *cmd, const lw_cli_common_t *co, const lw_config_t *cfg,
                       int flags, lw_store_t **store)
{
    char err[1024];
    const char *path = lw_cli_store_path(co, cfg);
    if (lw_store_open(path, flags, store, err, sizeof err) != LW_OK) {
        fprintf(stderr, "leadwatch %s: %s: %s\n", cmd, path, err);
        return false;
    }
    return true;
}

bool lw_cli_parse_date(const char *s, int64_t *out)
{
    return lw_time_parse_iso8601(s, strlen(s), out);
}

static int cmd_help(int argc, char **argv, const lw_cli_env_t *env);

static const command_t commands[] = {
    {"check-config", "validate the config and print the resolved metric tree",
     lw_cli_help_check_config, lw_cli_check_config},
    {"ingest", "aggregate JSONL events from files or stdin into the store", lw_cli_help_ingest,
     lw_cli_ingest},
    {"export", "print the metric series as CSV or JSON", lw_cli_help_export, lw_cli_export},
    {"run", "the daemon: consume Kafka into the store until stopped", lw_cli_help_run, lw_cli_run},
    {"mock-kafka", "run librdkafka's mock Kafka cluster on 127.0.0.1", lw_cli_help_mock_kafka,
     lw_cli_mock_kafka},
    {"simulate", "generate a simulated product's events (JSONL or to Kafka)", lw_cli_help_simulate,
     lw_cli_simulate},
    {"analyze", "test whether each input leads the NSM (and the NSM the KPI)", lw_cli_help_analyze,
     lw_cli_analyze},
    {"report", "write the validation report (HTML with charts, Markdown, JSON)", lw_cli_help_report,
     lw_cli_report},
    {"experiments", "check the tree against past A/B tests (effects, SRM, proxy quality)",
     lw_cli_help_experiments, lw_cli_experiments},
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

void lw_cli_put_help(const char *text, FILE *out)
{
    /* "{section.key}" expands to the key's default and bounds from the config
     * tables (lw_config_key_doc), so no default is written twice */
    for (const char *p = text; *p;) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (!close) {
            fputs(p, out);
            return;
        }
        fwrite(p, 1, (size_t)(open - p), out);
        char key[96], doc[160];
        size_t klen = (size_t)(close - open - 1);
        if (klen < sizeof key) {
            memcpy(key, open + 1, klen);
            key[klen] = '\0';
        }
        if (klen < sizeof key && lw_config_key_doc(key, doc, sizeof doc))
            fputs(doc, out);
        else
            fwrite(open, 1, (size_t)(close - open + 1), out);
        p = close + 1;
    }
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
    lw_cli_put_help(c->help, stdout);
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
