/*
 * fuzz_config.c - libFuzzer harness for the YAML configuration parser.
 *
 * Feeds the input bytes to lw_config_parse() under the name "fuzz.yaml" and
 * checks the contract on every outcome:
 *   success: at least one metric, nsm a valid index, kpi -1 or valid and not
 *            the nsm, 1..8 inputs with valid indices that are neither nsm nor
 *            kpi, ratio operands valid and not the metric itself; then the
 *            config is printed (to /dev/null) to exercise lw_config_print.
 *   error:   LW_ERR_CONFIG (or NOMEM), *out left NULL, and a one-line
 *            message "fuzz.yaml:LINE: KEY: ..." with LINE a positive number.
 * Any violation aborts, which libFuzzer reports as a crash.  ASan/UBSan catch
 * memory errors and leaks (every path must free what it built).
 * Seed corpus: tests/fuzz/corpus/config/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/model/config.h"

#define NAME "fuzz.yaml"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant violated: %s\n", what);
        abort();
    }
}

static void check_success(const lw_config_t *cfg)
{
    int n = (int)cfg->nmetrics;
    check(n >= 1 && n <= LW_CONFIG_MAX_METRICS, "nmetrics in 1..64");
    check(cfg->tree.nsm >= 0 && cfg->tree.nsm < n, "nsm valid");
    check(cfg->tree.kpi >= -1 && cfg->tree.kpi < n && cfg->tree.kpi != cfg->tree.nsm, "kpi valid");
    check(cfg->tree.ninputs >= 1 && cfg->tree.ninputs <= LW_CONFIG_MAX_INPUTS, "ninputs");
    for (size_t i = 0; i < cfg->tree.ninputs; i++) {
        int m = cfg->tree.inputs[i].metric;
        check(m >= 0 && m < n && m != cfg->tree.nsm && m != cfg->tree.kpi, "input valid");
    }
    for (int i = 0; i < n; i++) {
        const lw_metric_def_t *m = &cfg->metrics[i];
        check(m->name && m->name[0], "metric name");
        if (m->kind == LW_METRIC_RATIO)
            check(m->ratio_num >= 0 && m->ratio_num < n && m->ratio_den >= 0 && m->ratio_den < n &&
                      m->ratio_num != i && m->ratio_den != i,
                  "ratio operands");
        else
            check(m->kind == LW_METRIC_COUNT || m->field != NULL, "field present");
        check(m->nwhere <= LW_CONFIG_MAX_WHERE, "nwhere bound");
        for (size_t w = 0; w < m->nwhere; w++)
            check(m->where[w].nvalues >= 1 && m->where[w].nvalues <= LW_CONFIG_MAX_ANY_OF,
                  "where values bound");
        if (m->window_ms)
            check(m->window_ms % cfg->buckets.size_ms == 0, "window multiple of bucket");
    }
    check(cfg->source.format != LW_FMT_CUSTOM ||
              (cfg->source.event_field && cfg->source.user_field && cfg->source.time_field),
          "custom fields present");
}

static void check_error(lw_err_t rc, const char *err)
{
    check(rc == LW_ERR_CONFIG || rc == LW_ERR_NOMEM, "error code");
    check(strncmp(err, NAME ":", strlen(NAME ":")) == 0, "message starts with name:");
    const char *p = err + strlen(NAME ":");
    check(*p >= '1' && *p <= '9', "line number");
    while (*p >= '0' && *p <= '9')
        p++;
    check(p[0] == ':' && p[1] == ' ', "': ' after the line");
    check(strstr(p + 2, ": ") != NULL, "KEY: message");
    check(strchr(err, '\n') == NULL, "one line");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    lw_config_t *cfg = (lw_config_t *)&devnull; /* must be overwritten */
    char err[512] = "";

    lw_err_t rc = lw_config_parse((const char *)data, size, NAME, &cfg, err, sizeof err);
    if (rc == LW_OK) {
        check(cfg != NULL, "config returned");
        check_success(cfg);
        if (!devnull)
            devnull = fopen("/dev/null", "w");
        if (devnull)
            lw_config_print(cfg, devnull);
        lw_config_free(cfg);
    } else {
        check(cfg == NULL, "out NULL on error");
        check_error(rc, err);
    }
    return 0;
}
