/*
 * fuzz_exp_csv.c - libFuzzer harness for the experiment aggregate table:
 * the CSV line parser (stats/experiment_csv.c), the table it fills and the
 * analysis on it (stats/experiment.c).
 *
 * The input is split into lines; each line goes through
 * lw_exp_csv_parse_line and, when it parses, lw_exp_data_add into a table
 * of 4 user buckets (so cells fill up fast).  Invariants checked:
 *   - a parsed row has non-empty NUL-terminated names, window short|long,
 *     bucket < 1024 and finite numbers;
 *   - parsing is deterministic (the second parse gives the same row);
 *   - a failed add leaves the experiment / variant counts unchanged;
 *   - the analysis of the table (roles: metric "n" as NSM, "a", "b" as
 *     inputs, "k" as KPI) returns ok, and every defined effect, slope and
 *     p-value is finite, p in [0, 1], corr in [-1, 1].
 * Build: cmake -DLW_FUZZ=ON -DCMAKE_C_COMPILER=clang; seed corpus in
 * tests/fuzz/corpus/exp_csv.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/stats/experiment.h"

#define MAX_LINE 1024

static void check_row(const lw_exp_row *r)
{
    assert(r->experiment[0] && memchr(r->experiment, 0, sizeof r->experiment));
    assert(r->variant[0] && memchr(r->variant, 0, sizeof r->variant));
    assert(r->metric[0] && memchr(r->metric, 0, sizeof r->metric));
    assert(r->window == LW_EXP_SHORT || r->window == LW_EXP_LONG);
    assert(r->bucket < LW_EXP_MAX_BUCKETS);
    assert(isfinite(r->users) && isfinite(r->num) && isfinite(r->den));
}

static void check_effect(const lw_exp_effect *e)
{
    if (!e->defined)
        return;
    assert(!isnan(e->rel) && e->se >= 0.0);
    assert(e->p >= 0.0 && e->p <= 1.0);
}

static void check_meta(const lw_exp_meta *m)
{
    assert(m->n_x_sig <= m->n && m->n_y_sig <= m->n);
    assert(isnan(m->corr) || (m->corr >= -1.0 && m->corr <= 1.0));
    assert(isnan(m->slope_lo) || isnan(m->slope_hi) || m->slope_lo <= m->slope_hi);
    assert(m->verdict == LW_EXP_NOT_ENOUGH || m->verdict == LW_EXP_CONFIRMS ||
           m->verdict == LW_EXP_CONTRADICTS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lw_exp_data *d = lw_exp_data_new(4);
    if (!d)
        return 0;
    char line[MAX_LINE], err[256];
    size_t i = 0;
    while (i < size) {
        size_t n = 0;
        while (i < size && data[i] != '\n') {
            if (n + 1 < sizeof line)
                line[n++] = (char)data[i];
            i++;
        }
        i++;
        line[n] = '\0';
        lw_exp_row r1, r2;
        if (lw_exp_csv_parse_line(line, &r1, err, sizeof err) != LW_OK)
            continue;
        check_row(&r1);
        assert(lw_exp_csv_parse_line(line, &r2, err, sizeof err) == LW_OK);
        assert(memcmp(&r1, &r2, sizeof r1) == 0);
        const size_t ne = lw_exp_data_nexperiments(d);
        if (lw_exp_data_add(d, &r1, err, sizeof err) != LW_OK)
            assert(lw_exp_data_nexperiments(d) == ne);
    }
    const char *inputs[] = {"a", "b"};
    lw_exp_roles roles = {.nsm = "n", .kpi = "k", .inputs = inputs, .ninputs = 2};
    lw_exp_opts o;
    lw_exp_opts_init(&o);
    o.bootstrap = 100;
    lw_exp_analysis an;
    if (lw_exp_analyze(d, &roles, &o, &an, err, sizeof err) == LW_OK) {
        for (size_t e = 0; e < an.nexperiments; e++) {
            const lw_exp_result *r = &an.experiments[e];
            assert(isnan(r->srm.p) || (r->srm.p >= 0.0 && r->srm.p <= 1.0));
            for (size_t k = 0; k < r->narms; k++) {
                check_effect(&r->arms[k].inputs[0]);
                check_effect(&r->arms[k].inputs[1]);
                check_effect(&r->arms[k].nsm);
                check_effect(&r->arms[k].kpi);
            }
        }
        check_meta(&an.inputs[0]);
        check_meta(&an.inputs[1]);
        check_meta(&an.nsm_kpi);
        lw_exp_analysis_release(&an);
    }
    lw_exp_data_free(d);
    return 0;
}
