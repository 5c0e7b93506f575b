/*
 * cli_experiments.c - `leadwatch experiments` (cli_cmd.h): what the team's
 * past A/B tests say about each edge of the metric tree (issue 16).
 *
 * Steps: the roles (NSM, KPI, inputs) come from the config's tree (-c) or
 * from --nsm/--kpi/--inputs; the aggregate table (stats/experiment.h) comes
 * from --aggregates FILE.csv, read line by line (memory bounded by the
 * table's own limits, not by the file), or from the store the config names
 * (store/exp_rows.h's lw_exp_load: the exposures the ingest assigned and the
 * bucketed sums it committed with every flush).  lw_exp_analyze computes the
 * per-experiment effects, SRM and the per-edge meta-analysis; the writers
 * of report/experiments_out.h render it as text, Markdown or JSON (the
 * JSON document is the stable contract, documented in README
 * "Experiments"), the same writers `analyze` and the report use.
 */
#include "leadwatch/app/cli_cmd.h"

#include "leadwatch/app/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/report/experiments_out.h"
#include "leadwatch/stats/experiment.h"
#include "leadwatch/store/exp_rows.h"
#include "leadwatch/store/store.h"

#define MAX_ROLE_INPUTS 64
#define MAX_CSV_LINE 4096

const char lw_cli_help_experiments[] =
    "usage: leadwatch experiments [-c FILE] [--store PATH] [--format text|json|markdown]\n"
    "                             [options]\n"
    "       leadwatch experiments --aggregates FILE.csv [-c FILE | --nsm M --inputs A,B\n"
    "                             [--kpi M]] [--format text|json|markdown] [options]\n"
    "\n"
    "Check the metric tree against the team's own randomized experiments. For every\n"
    "experiment: exposures per variant, a sample ratio mismatch test (Pearson\n"
    "chi-square of the exposure counts against the expected shares; a small p\n"
    "means the split is broken and the experiment's effects are suspect), and per\n"
    "treatment arm the relative effect (treatment mean / control mean - 1) on each\n"
    "input in the short window after exposure and on the NSM and KPI in the long\n"
    "window, with a delta-method confidence interval. Means and their variances\n"
    "come from per-user-bucket sums (users hashed into 64 buckets), never from\n"
    "per-user rows.\n"
    "\n"
    "Then, across experiments, for each edge input -> NSM (and NSM -> KPI):\n"
    "  sensitivity  share of comparisons where the input moved significantly in the\n"
    "               short window (a leading indicator must move within a test);\n"
    "  agreement    among those, the share where the NSM's long-window effect has\n"
    "               the same sign;\n"
    "  slope, corr  of the NSM effect on the input effect, corrected for the\n"
    "               estimation noise in both (method-of-moments errors-in-variables,\n"
    "               using each experiment's error covariance of the two estimates),\n"
    "               with a percentile bootstrap interval over experiments;\n"
    "  score        the proxy score corr * sqrt(signal share of the input effects);\n"
    "  verdict      confirms (slope interval > 0 and agreement high),\n"
    "               contradicts (the input moves but the slope interval lies below\n"
    "               --min-slope: changing it does not move the NSM), or not_enough\n"
    "               (too few experiments, an input that rarely moves, or an interval\n"
    "               that decides nothing), always with the reason.\n"
    "Randomized experiments answer what the time-series `analyze` cannot: whether\n"
    "moving the input moves the NSM, rather than both following a common driver.\n"
    "The README's 'Experiments' section explains every number and the JSON.\n"
    "\n" LW_CLI_COMMON_OPTS_HELP
    "      --store PATH       store file (overrides store.path); used without\n"
    "                         --aggregates\n"
    "      --aggregates FILE  read the aggregate table from CSV instead of the store:\n"
    "                         header experiment,variant,metric,window,bucket,users,\n"
    "                         num,den; window short|long; bucket 0..N-1; users the\n"
    "                         exposed users of the variant in that bucket; num the\n"
    "                         sum of the metric's per-user values in the window; den\n"
    "                         the users (or, for a ratio metric, the summed\n"
    "                         denominator). Rows with the same key add up.\n"
    "      --buckets N        user buckets of the table (default 64, at most 1024)\n"
    "      --nsm M, --kpi M, --inputs A,B,...\n"
    "                         the roles by metric name, instead of the config's tree\n"
    "      --control EXP,VAR  the control variant of experiment EXP (repeatable;\n"
    "                         default: the variant named 'control', else the first)\n"
    "      --weight EXP,VAR,W expected share weight of a variant for the SRM test\n"
    "                         (repeatable; default 1 each: an equal split)\n"
    "      --format FMT       text (default) | json | markdown (or md)\n"
    "      --alpha A          level of tests and intervals, two-sided (default 0.05)\n"
    "      --min-experiments N  comparisons needed for a verdict (default 10)\n"
    "      --min-slope S      smallest useful slope, relative NSM change per relative\n"
    "                         input change (default 0.1)\n"
    "      --srm-alpha A      leave experiments whose SRM p is below A out of the\n"
    "                         across-experiment edges (default 0.001; 0 keeps all)\n"
    "      --bootstrap N      resamples for the slope interval (default 2000)\n"
    "      --seed N           bootstrap seed (default 1; same data + seed = same output)\n"
    "\n"
    "Exit status: 0 ok, 1 runtime failure (unreadable file, no experiment data in\n"
    "the store), 2 usage, configuration or CSV error (with file:line).\n";

typedef enum { FMT_TEXT, FMT_JSON, FMT_MD } exp_format_t;

/* The one place the store path goes: fill d from the store's experiment
 * aggregates.  Not wired yet: the ingest side (issue 16) adds the store
 * function, e.g. lw_store_exp_load(store, d, err, errsz) calling
 * lw_exp_data_add per stored row (and lw_exp_data_set_control per
 * experiment), LW_ERR_NOT_FOUND when the store has no experiments table;
 * open the store read-only with lw_cli_open_store(...LW_STORE_READONLY...)
 * here.  Until then this says so instead of reporting an empty result. */
static lw_err_t load_from_store(const lw_cli_common_t *co, const lw_config_t *cfg, lw_exp_data *d,
                                char *err, size_t errsz)
{
    if (!cfg)
        return lw_seterr(err, errsz, LW_ERR_INVALID,
                         "reading the store needs the config (-c FILE) for its experiments: and "
                         "tree sections; pass --aggregates FILE.csv to read a CSV instead");
    if (!cfg->experiments.sources || cfg->experiments.nsources == 0)
        return lw_seterr(err, errsz, LW_ERR_NOT_FOUND,
                         "%s: the config has no experiments: section, so no exposures were "
                         "ingested (see README 'Experiments: exposures from the stream')",
                         co->config);
    lw_store_t *store = NULL;
    const char *path = lw_cli_store_path(co, cfg);
    char msg[768];
    lw_err_t e = lw_store_open(path, LW_STORE_READONLY, &store, msg, sizeof msg);
    if (e == LW_OK)
        e = lw_exp_load(store, cfg, d, msg, sizeof msg);
    if (e != LW_OK)
        lw_seterr(err, errsz, e, "%s: %s", path, msg);
    lw_store_close(store);
    return e;
}

/* Read the CSV at path into d; LW_ERR_IO (cannot read) or LW_ERR_INVALID
 * (with "path:line: message"). */
static lw_err_t load_csv(const char *path, lw_exp_data *d, char *err, size_t errsz)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return lw_seterr(err, errsz, LW_ERR_IO, "%s: %s", path, strerror(errno));
    char line[MAX_CSV_LINE], msg[256];
    size_t lineno = 0;
    lw_err_t e = LW_OK;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            e = lw_seterr(err, errsz, LW_ERR_INVALID, "%s:%zu: line longer than %d bytes", path,
                          lineno, MAX_CSV_LINE - 2);
            goto close_file;
        }
        if (n && line[n - 1] == '\n')
            line[--n] = '\0';
        if (lineno == 1) {
            if (!lw_exp_csv_is_header(line)) {
                e = lw_seterr(err, errsz, LW_ERR_INVALID,
                              "%s:1: expected the header "
                              "experiment,variant,metric,window,bucket,users,num,den",
                              path);
                goto close_file;
            }
            continue;
        }
        if (n == 0 || (n == 1 && line[0] == '\r'))
            continue;
        lw_exp_row row;
        lw_err_t r = lw_exp_csv_parse_line(line, &row, msg, sizeof msg);
        if (r == LW_OK)
            r = lw_exp_data_add(d, &row, msg, sizeof msg);
        if (r != LW_OK) {
            e = lw_seterr(err, errsz, r == LW_ERR_NOMEM ? LW_ERR_NOMEM : LW_ERR_INVALID,
                          "%s:%zu: %s", path, lineno, msg);
            goto close_file;
        }
    }
    if (ferror(f))
        e = lw_seterr(err, errsz, LW_ERR_IO, "%s: read error", path);
    else if (lineno == 0)
        e = lw_seterr(err, errsz, LW_ERR_INVALID, "%s: empty file (no header)", path);
close_file:
    fclose(f);
    return e;
}

/* "a,b,c" split at the LAST `k` commas into k + 1 parts (names may hold commas). */
static bool split_last(char *s, int k, char **parts)
{
    for (int i = k; i > 0; i--) {
        char *c = strrchr(s, ',');
        if (!c || !c[1])
            return false;
        *c = '\0';
        parts[i] = c + 1;
    }
    parts[0] = s;
    return *s != '\0';
}

/* ---- the command ----------------------------------------------------------- */

typedef struct {
    const char *aggregates, *nsm, *kpi, *inputs;
    const char *controls[64], *weights[64];
    size_t ncontrols, nweights;
    size_t buckets;
    exp_format_t fmt;
    lw_exp_opts opts;
} exp_args_t;

static int parse_args(int argc, char **argv, lw_cli_common_t *co, exp_args_t *a)
{
    static const struct option opts[] = {
        LW_CLI_LONGOPTS_CONFIG,
        LW_CLI_LONGOPT_STORE,
        {"format", required_argument, NULL, OPT_FORMAT},
        {"aggregates", required_argument, NULL, OPT_AGGREGATES},
        {"buckets", required_argument, NULL, OPT_BUCKETS},
        {"nsm", required_argument, NULL, OPT_NSM},
        {"kpi", required_argument, NULL, OPT_KPI},
        {"inputs", required_argument, NULL, OPT_INPUTS},
        {"control", required_argument, NULL, OPT_CONTROL},
        {"weight", required_argument, NULL, OPT_WEIGHT},
        {"alpha", required_argument, NULL, OPT_ALPHA},
        {"min-experiments", required_argument, NULL, OPT_MIN_EXPERIMENTS},
        {"min-slope", required_argument, NULL, OPT_MIN_SLOPE},
        {"bootstrap", required_argument, NULL, OPT_BOOTSTRAP},
        {"srm-alpha", required_argument, NULL, OPT_SRM_ALPHA},
        {"seed", required_argument, NULL, OPT_SEED},
        LW_CLI_LONGOPTS_END};
    static const char cmd[] = "experiments";
    int c, rc = LW_EXIT_OK;
    size_t sz;
    while ((c = lw_cli_getopt(cmd, argc, argv, "c:h", opts, co, &rc)) != -1) {
        switch (c) {
        case 'h': lw_cli_put_help(lw_cli_help_experiments, stdout); return -1;
        case OPT_FORMAT:
            if (strcmp(optarg, "text") == 0)
                a->fmt = FMT_TEXT;
            else if (strcmp(optarg, "json") == 0)
                a->fmt = FMT_JSON;
            else if (strcmp(optarg, "markdown") == 0 || strcmp(optarg, "md") == 0)
                a->fmt = FMT_MD;
            else
                return lw_cli_usage_error(cmd, "--format must be text, json or markdown");
            break;
        case OPT_AGGREGATES: a->aggregates = optarg; break;
        case OPT_BUCKETS:
            if (!lw_cli_parse_size(optarg, 2, LW_EXP_MAX_BUCKETS, &a->buckets))
                return lw_cli_usage_error(cmd, "--buckets: expected 2..1024");
            break;
        case OPT_NSM: a->nsm = optarg; break;
        case OPT_KPI: a->kpi = optarg; break;
        case OPT_INPUTS: a->inputs = optarg; break;
        case OPT_CONTROL:
            if (a->ncontrols == 64)
                return lw_cli_usage_error(cmd, "--control: at most 64");
            a->controls[a->ncontrols++] = optarg;
            break;
        case OPT_WEIGHT:
            if (a->nweights == 64)
                return lw_cli_usage_error(cmd, "--weight: at most 64");
            a->weights[a->nweights++] = optarg;
            break;
        case OPT_ALPHA:
            if (!lw_cli_parse_double(optarg, &a->opts.alpha))
                return lw_cli_usage_error(cmd, "--alpha: expected a number in (0, 0.5]");
            break;
        case OPT_MIN_EXPERIMENTS:
            if (!lw_cli_parse_size(optarg, 3, 1000000, &a->opts.min_experiments))
                return lw_cli_usage_error(cmd, "--min-experiments: expected a whole number >= 3");
            break;
        case OPT_MIN_SLOPE:
            if (!lw_cli_parse_double(optarg, &a->opts.min_slope))
                return lw_cli_usage_error(cmd, "--min-slope: expected a number");
            break;
        case OPT_SRM_ALPHA:
            if (!lw_cli_parse_double(optarg, &a->opts.srm_alpha))
                return lw_cli_usage_error(cmd, "--srm-alpha: expected a number in [0, 0.5)");
            break;
        case OPT_BOOTSTRAP:
            if (!lw_cli_parse_size(optarg, 100, 1000000, &a->opts.bootstrap))
                return lw_cli_usage_error(cmd, "--bootstrap: expected 100..1000000");
            break;
        case OPT_SEED:
            if (!lw_cli_parse_size(optarg, 0, SIZE_MAX / 2, &sz))
                return lw_cli_usage_error(cmd, "--seed: expected a whole number");
            a->opts.seed = sz;
            break;
        }
    }
    if ((rc = lw_cli_options_end(cmd, rc, argc)) != LW_EXIT_OK)
        return rc;
    if ((a->nsm || a->kpi || a->inputs) && !(a->nsm && a->inputs))
        return lw_cli_usage_error(cmd, "--nsm and --inputs go together (--kpi optional)");
    if (a->nsm && !a->aggregates)
        return lw_cli_usage_error(cmd, "--nsm/--inputs go with --aggregates");
    char err[256];
    if (lw_exp_opts_check(&a->opts, err, sizeof err) != LW_OK)
        return lw_cli_usage_error(cmd, err);
    return LW_EXIT_OK;
}

/* --control and --weight into d; LW_EXIT_USAGE with a message when one names nothing. */
static int apply_variant_opts(const exp_args_t *a, lw_exp_data *d)
{
    char err[512], buf[512], *p[3];
    for (size_t i = 0; i < a->ncontrols + a->nweights; i++) {
        const bool ctl = i < a->ncontrols;
        const char *s = ctl ? a->controls[i] : a->weights[i - a->ncontrols];
        snprintf(buf, sizeof buf, "%s", s);
        if (!split_last(buf, ctl ? 1 : 2, p))
            return lw_cli_usage_error("experiments",
                                      ctl ? "--control: expected EXPERIMENT,VARIANT"
                                          : "--weight: expected EXPERIMENT,VARIANT,W");
        double wv = 0.0;
        lw_err_t e;
        if (ctl)
            e = lw_exp_data_set_control(d, p[0], p[1], err, sizeof err);
        else if (!lw_cli_parse_double(p[2], &wv))
            e = lw_seterr(err, sizeof err, LW_ERR_INVALID, "--weight: W is not a number");
        else
            e = lw_exp_data_set_weight(d, p[0], p[1], wv, err, sizeof err);
        if (e != LW_OK)
            return lw_cli_usage_error("experiments", err);
    }
    return LW_EXIT_OK;
}

int lw_cli_experiments(int argc, char **argv, const lw_cli_env_t *env)
{
    (void)env;
    lw_cli_common_t co = {.config = lw_cli_default_config()};
    exp_args_t a = {.buckets = LW_EXP_BUCKETS, .fmt = FMT_TEXT};
    lw_exp_opts_init(&a.opts);
    int rc = parse_args(argc, argv, &co, &a);
    if (rc < 0)
        return LW_EXIT_OK; /* --help */
    if (rc != LW_EXIT_OK)
        return rc;

    lw_config_t *cfg = NULL;
    lw_exp_data *d = NULL;
    lw_exp_analysis an = {0};
    char err[1024], *inputs_buf = NULL;
    const char *inputs[MAX_ROLE_INPUTS];
    lw_exp_roles roles = {.inputs = inputs};
    if (!a.nsm) {
        if ((rc = lw_cli_load_config(&co, &cfg)) != LW_EXIT_OK)
            return rc;
        roles.nsm = cfg->metrics[cfg->tree.nsm].name;
        roles.kpi = cfg->tree.kpi >= 0 ? cfg->metrics[cfg->tree.kpi].name : NULL;
        for (size_t i = 0; i < cfg->tree.ninputs; i++)
            inputs[roles.ninputs++] = cfg->metrics[cfg->tree.inputs[i].metric].name;
    } else {
        roles.nsm = a.nsm;
        roles.kpi = a.kpi;
        if (!(inputs_buf = strdup(a.inputs))) {
            fprintf(stderr, "leadwatch experiments: out of memory\n");
            return LW_EXIT_FAILURE;
        }
        for (char *s = inputs_buf, *tok; (tok = strsep(&s, ",")) != NULL;) {
            if (!*tok || roles.ninputs == MAX_ROLE_INPUTS) {
                rc = lw_cli_usage_error("experiments", "--inputs: 1..64 non-empty names");
                goto out;
            }
            inputs[roles.ninputs++] = tok;
        }
    }
    rc = LW_EXIT_FAILURE;
    /* The store's aggregates have the config's bucket count; a CSV has --buckets'. */
    uint32_t nb = (uint32_t)a.buckets;
    if (!a.aggregates && cfg && cfg->experiments.buckets > 0)
        nb = (uint32_t)cfg->experiments.buckets;
    if (!(d = lw_exp_data_new(nb))) {
        fprintf(stderr, "leadwatch experiments: out of memory\n");
        goto out;
    }
    lw_err_t e = a.aggregates ? load_csv(a.aggregates, d, err, sizeof err)
                              : load_from_store(&co, cfg, d, err, sizeof err);
    if (e != LW_OK) {
        fprintf(stderr, "leadwatch experiments: %s\n", err);
        rc = e == LW_ERR_INVALID ? LW_EXIT_USAGE : LW_EXIT_FAILURE;
        goto out;
    }
    if ((rc = apply_variant_opts(&a, d)) != LW_EXIT_OK)
        goto out;
    rc = LW_EXIT_FAILURE;
    if ((e = lw_exp_analyze(d, &roles, &a.opts, &an, err, sizeof err)) != LW_OK) {
        fprintf(stderr, "leadwatch experiments: %s\n", err);
        goto out;
    }
    e = a.fmt == FMT_JSON ? lw_exp_write_json(&an, stdout, err, sizeof err)
                          : lw_exp_write_text(&an, a.fmt == FMT_MD, stdout, err, sizeof err);
    if (e != LW_OK) {
        fprintf(stderr, "leadwatch experiments: %s\n", err);
        goto out;
    }
    rc = fflush(stdout) == 0 ? LW_EXIT_OK : LW_EXIT_FAILURE;
out:
    lw_exp_analysis_release(&an);
    lw_exp_data_free(d);
    free(inputs_buf);
    lw_config_free(cfg);
    return rc;
}
