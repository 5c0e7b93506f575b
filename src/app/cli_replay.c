/*
 * cli_replay.c - `leadwatch analyze --replay`: walk a series bucket by
 * bucket as the daemon's evaluator (alert/watch.c) would, and print one
 * JSON line per edge and bucket.
 *
 * For every row e from window-1 to the last: the full analysis of rows
 * e-window+1..e (lw_analyze_tree on a view of the session's input, as the
 * daemon's window ending at that bucket), the edge observations and the
 * sequential monitors exactly as watch.c builds them
 * (lw_watch_edge_obs, lw_watch_monitor_edge: the row number is the bucket
 * index), then the alert table (alert.h) with the given alert options.
 * Printed: {"as_of", "edge", "verdict", "lag", "monitor": idle|watching|
 * alarm, "cusum", "threshold", "monitored" (rows since the history),
 * "histories" (starts + re-bases), "skipped" (rows not monitored), "state"} where state is the
 * edge's no_longer_leads (kpi_link_lost for the KPI edge) alert state.  The daemon's gap rule is
 * not replayed (a CSV row is always "seen").  The full analysis runs where the daemon's default
 * analysis.full_every (1d) would run it: at rows e with (e + 1) a multiple of the buckets in a day
 * (every row for daily buckets; for hourly ones the row ending at midnight when the CSV starts at
 * 00:00); at the other rows, as watch.c's close_obs, the edges keep the last full evaluation's
 * observation, each monitor takes the new row (neither leading nor against) and
 * lw_alert_eval_monitors steps the entries they drive.  Rows before the first full evaluation
 * print nothing.
 */
#include "leadwatch/app/cli_cmd.h"

#include "leadwatch/app/cli.h"

#include "leadwatch/alert/alert.h"
#include "leadwatch/alert/watch.h"
#include "leadwatch/core/jsonw.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/store/session.h"

#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *phase_name(lw_alert_mon_t m)
{
    return m == LW_ALERT_MON_WATCHING ? "watching" : m == LW_ALERT_MON_ALARM ? "alarm" : "idle";
}

static void print_line(const lw_analysis_t *a, size_t i, const char *as_of, const lw_alert_obs_t *o,
                       const lw_leadmon_t *m, lw_alert_state_t st, lw_buf_t *b, FILE *out)
{
    const lw_edge_result_t *ed = &a->edges[i];
    char edge[2 * LW_ANALYZE_NAME_SIZE + 2];
    lw_jsonw_t w;
    snprintf(edge, sizeof edge, "%s->%s", ed->from, ed->to);
    lw_buf_rewind(b, 0);
    b->err = LW_OK;
    lw_jsonw_init(&w, b, 0);
    lw_jsonw_object(&w);
    lw_jsonw_key(&w, "as_of");
    lw_jsonw_string(&w, as_of);
    lw_jsonw_key(&w, "edge");
    lw_jsonw_string(&w, edge);
    lw_jsonw_key(&w, "verdict");
    lw_jsonw_string(&w, lw_verdict_name(ed->verdict));
    lw_jsonw_key(&w, "lag");
    lw_jsonw_uint(&w, ed->lag);
    lw_jsonw_key(&w, "monitor");
    lw_jsonw_string(&w, phase_name(o->monitor));
    lw_jsonw_key(&w, "cusum");
    lw_jsonw_number(&w, o->monitor == LW_ALERT_MON_NONE ? (double)NAN : m->cusum.stat);
    lw_jsonw_key(&w, "threshold");
    lw_jsonw_number(&w, o->monitor == LW_ALERT_MON_NONE ? (double)NAN : m->cusum.h);
    lw_jsonw_key(&w, "monitored");
    lw_jsonw_uint(&w, o->monitor == LW_ALERT_MON_NONE ? 0 : m->cusum.rows);
    lw_jsonw_key(&w, "histories");
    lw_jsonw_uint(&w, m->starts);
    lw_jsonw_key(&w, "skipped");
    lw_jsonw_uint(&w, m->skipped);
    lw_jsonw_key(&w, "state");
    lw_jsonw_string(&w, lw_alert_state_name(st));
    lw_jsonw_end(&w);
    if (lw_jsonw_finish(&w) == LW_OK)
        fprintf(out, "%.*s\n", (int)b->len, b->data);
}

int lw_cli_analyze_replay(lw_session_t *ses, const lw_analyze_opts_t *ao,
                          const lw_alert_opts_t *alerts, size_t window, FILE *out)
{
    const lw_analyze_input_t *in = lw_session_input(ses);
    lw_alert_table_t *table = NULL;
    lw_leadmon_t *mon = calloc(LW_ANALYZE_MAX_EDGES, sizeof *mon);
    lw_alert_obs_t obs[LW_ANALYZE_MAX_EDGES];
    char brk[LW_ANALYZE_MAX_EDGES][LW_ANALYZE_LABEL_SIZE];
    char err[512], as_of[LW_ANALYZE_LABEL_SIZE];
    lw_buf_t line;
    int rc = LW_EXIT_FAILURE;
    lw_buf_init(&line, 1u << 16);
    if (!mon) {
        fprintf(stderr, "leadwatch analyze: out of memory\n");
        goto free_buf;
    }
    if (window < 2 || window > in->nrows) {
        fprintf(stderr, "leadwatch analyze: --replay needs --window N with 2 <= N <= rows (%zu)\n",
                in->nrows);
        rc = LW_EXIT_USAGE;
        goto free_buf;
    }
    if (lw_alert_table_new(alerts, &table, err, sizeof err) != LW_OK) {
        fprintf(stderr, "leadwatch analyze: %s\n", err);
        rc = LW_EXIT_USAGE;
        goto free_buf;
    }
    lw_leadmon_opts_t mo;
    lw_leadmon_opts_default(&mo);
    mo.arm_after = alerts->arm_after;
    mo.alpha = alerts->monitor_alpha;
    if (in->bucket_ms > 0)
        mo.year = (double)(365 * LW_MS_PER_DAY / in->bucket_ms);
    mo.rebase = (double)window;
    /* the daemon's default analysis.full_every (1d) in buckets */
    const size_t per =
        in->bucket_ms > 0 && in->bucket_ms < LW_MS_PER_DAY && LW_MS_PER_DAY % in->bucket_ms == 0
            ? (size_t)(LW_MS_PER_DAY / in->bucket_ms)
            : 1;
    const char *nsm = in->names[in->nsm];
    lw_analysis_t *a = NULL; /* the last full evaluation */
    size_t n = 0;
    for (size_t e = window - 1; e < in->nrows; e++) {
        lw_analyze_input_t view = *in;
        const size_t first = e + 1 - window;
        view.values = in->values + first * in->nseries;
        view.labels = in->labels ? in->labels + first : NULL;
        view.nrows = window;
        view.window = window;
        if (in->labels)
            snprintf(as_of, sizeof as_of, "%s", in->labels[e]);
        else
            snprintf(as_of, sizeof as_of, "%zu", e);
        const bool full = (e + 1) % per == 0;
        if (!full && !a)
            continue; /* nothing evaluated yet */
        if (full) {
            lw_analysis_free(a);
            a = NULL;
            if (lw_analyze_tree(ao, &view, &a, err, sizeof err) != LW_OK) {
                fprintf(stderr, "leadwatch analyze: as of %s: %s\n", as_of, err);
                goto free_table;
            }
            n = a->nedges < LW_ANALYZE_MAX_EDGES ? a->nedges : LW_ANALYZE_MAX_EDGES;
        }
        for (size_t i = 0; i < n; i++) {
            if (full)
                lw_watch_edge_obs(a, i, nsm, ao->alpha, false, brk[i], sizeof brk[i], as_of,
                                  &obs[i]);
            if (!alerts->monitor)
                continue;
            if (full) {
                obs[i].monitor =
                    lw_watch_monitor_edge(&mon[i], &mo, a, i, &view, (int64_t)e, &obs[i]);
                continue;
            }
            /* a close between full evaluations: the new row alone (watch.c close_obs) */
            const lw_edge_result_t *ed = &a->edges[i];
            const lw_leadmon_input_t li = {.y = view.values + ed->to_col,
                                           .x = view.values + ed->from_col,
                                           .stride = view.nseries,
                                           .n = view.nrows,
                                           .last_index = (int64_t)e,
                                           .leading = false,
                                           .hold = true};
            lw_leadmon_step(&mon[i], &mo, &li);
            obs[i].monitor = lw_watch_monitor_state(&mon[i]);
        }
        lw_err_t te =
            full ? lw_alert_eval(table, obs, n, (int64_t)e * 1000, err, sizeof err)
                 : lw_alert_eval_monitors(table, obs, n, (int64_t)e * 1000, err, sizeof err);
        if (te != LW_OK) {
            fprintf(stderr, "leadwatch analyze: as of %s: alert table: %s\n", as_of, err);
            goto free_table;
        }
        for (size_t i = 0; i < n; i++) {
            lw_alert_cond_t c =
                obs[i].is_kpi ? LW_ALERT_COND_KPI_LINK_LOST : LW_ALERT_COND_NO_LONGER_LEADS;
            print_line(a, i, as_of, &obs[i], &mon[i],
                       lw_alert_state(table, obs[i].source, obs[i].target, c), &line, out);
        }
    }
    rc = LW_EXIT_OK;
free_table:
    lw_analysis_free(a);
    lw_alert_table_destroy(table);
free_buf:
    lw_buf_release(&line);
    free(mon);
    return rc;
}
