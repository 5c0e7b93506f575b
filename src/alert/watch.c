/*
 * watch.c - the daemon's evaluator (see watch.h).
 *
 * lw_watch_advance(watermark):
 *     newest closed bucket N = the last bucket start with
 *         bucket + size + grace < watermark        (metric.h's rule)
 *     for B in (last evaluated, N], oldest first (all of them: a year of
 *     hourly buckets caught up gives the alerts of a live run):
 *         session = the window periods ending at B: the previous close's
 *                   advanced by B's rows (lw_session_advance; a fresh
 *                   lw_session_from_store at start or after a reload)
 *         full close (lw_watch_full_close: B's end a multiple of
 *         analysis.full_every on the bucket grid, UTC):
 *           result  = lw_session_analyze(cfg->analysis)   (session.h)
 *           obs[i]  = result.edges[i] (+ predicts: q < alpha at the chosen lag,
 *                     + nodata when a newest bucket is a gap)
 *           obs[i].monitor = lw_watch_monitor_edge(edge i's leadmon, window)
 *           lw_alert_eval(table, obs, as of B); memo[i] = obs[i]
 *         other closes (issue 17: an hourly analysis costs seconds, a close
 *         must not): obs[i] = memo[i] (the last full evaluation's verdict and
 *           evidence; at start restored from its verdict rows) with B's gap;
 *           each WATCHING monitor takes B's row (lw_leadmon_step, neither
 *           leading nor evidence against: O(k)); lw_alert_eval_monitors
 *           (only the entries the monitors drive take a step)
 *         BEGIN; verdict rows (full closes); alert blob; monitor blob;
 *               last = B; COMMIT
 *         then: enqueue the transitions, log them, set the gauges (the edge
 *         gauges at full closes), observe evaluation_duration_seconds{kind}
 * Full closes are aligned to time, not to the daemon's start, so a live run
 * and a catch-up evaluate in full at the same buckets and feed the monitors
 * the same rows: the same alerts at the same buckets (tests/it_hourly_break.sh).
 *
 * Invariants (asserted in lw_watch_advance): the watermark it is given never
 * moves back (the pipeline's never does), and the newest bucket evaluated
 * (`last_as_of`) only moves forward and is always a closed bucket: never
 * newer than the newest bucket the watermark closes.
 *
 * Monitors.  Every edge has a stats/leadmon.h state (slot i = edge i of the
 * tree, with its name so a changed tree starts afresh); the alert for
 * no_longer_leads / kpi_link_lost comes from it once it runs.  All slots
 * are stored as one binary blob (LW_WATCH_KEY_MONITOR):
 *     "leadwatch-monitors 1\n" u32 count, then count x
 *     (char edge[EDGE_NAME_SIZE], lw_leadmon_t)          native byte order
 * The structs hold no pointers, so a reload gives the same bits and the
 * next evaluation continues exactly as an uninterrupted process would; a
 * blob of another size or failing lw_leadmon_check is ignored (logged):
 * the monitors re-arm from the verdicts.
 *
 * Costs: one evaluation of the demo's tree (6 edges) over 90 daily buckets
 * takes a few ms (bench/RESULTS.md has the analysis figures), so even a
 * year's catch-up is seconds; over 2,160 hourly buckets the full analysis
 * takes ~2 s, a close between two full ones ~0.1 ms (one bucket's cells
 * read, O(k) per monitor, one small transaction; bench/RESULTS.md, "Hourly
 * evaluation cost").
 *
 * Gauges (names without the "leadwatch_" prefix), labels nsm, edge, input
 * (the edge's source metric), kind (the input's kind, "kpi" for the NSM ->
 * KPI edge: the same labels and values as the edge's alerts):
 *     edge_p_value, edge_q_value, edge_lag_buckets, edge_coefficient,
 *     edge_oos_skill, edge_verdict{..., verdict} (1 for the current verdict,
 *     0 for the others; "no data" shows as insufficient_data),
 *     alert_state{alertname, edge, condition, state} (1 for the current
 *     state), alerts_firing, evaluations_total (every close),
 *     evaluation_duration_seconds{kind="full"|"close"},
 *     evaluation_as_of_timestamp_seconds.
 * A value an evaluation did not produce (NaN p/q/coefficient/skill, lag 0;
 * all of them when the analysis could not run) is an absent series, not a
 * placeholder or the previous evaluation's value.  At start the edge gauges are
 * restored from the verdict rows of the last evaluation in the store, so
 * they are on /metrics at once after a restart, not after the next bucket
 * closes.
 * Edges are at most LW_ANALYZE_MAX_EDGES, conditions five, states five, so
 * the number of series is small and fixed by the config.
 */
#include "leadwatch/alert/watch.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leadwatch/stats/analyze.h"
#include "leadwatch/stats/leadmon.h"
#include "leadwatch/core/log.h"
#include "leadwatch/core/partslot.h"
#include "leadwatch/model/metric.h"
#include "leadwatch/store/session.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/core/clock.h"

#define STATE_BLOB_MAX (8u << 20) /* 4096 entries x ~2 KB of annotations at worst */
#define EDGE_NAME_SIZE (2 * LW_ANALYZE_NAME_SIZE + 2)
#define MON_MAGIC "leadwatch-monitors 1\n"

typedef struct {
    char edge[EDGE_NAME_SIZE]; /* "" = unused */
    lw_leadmon_t m;
} mon_slot_t;

typedef struct {
    lw_promtext_series_t *p, *q, *lag, *coef, *oos;
    lw_promtext_series_t *verdict[LW_VERDICT_INSUFFICIENT_DATA + 1];
} edge_gauges_t;

/*
 * What a close between two full evaluations tells the alerts about an edge
 * besides its monitor: the last full evaluation's verdict and evidence
 * (restored from its verdict rows at start).
 */
typedef struct {
    bool known;
    lw_alert_verdict_t verdict;
    bool predicts, sensitivity_known, sensitive;
    double p, q, coef, oos;
    unsigned lag;
    bool has_break;
    char brk[LW_ANALYZE_LABEL_SIZE], first[LW_ANALYZE_LABEL_SIZE], last[LW_ANALYZE_LABEL_SIZE];
} edge_memo_t;

typedef struct {
    lw_partkey_t key; /* first: lw_partslot's table */
    int64_t lost;     /* the cumulative count of the newest report that reached the table */
} loss_seen_t;

struct lw_watch {
    lw_watch_deps_t d;
    lw_alert_table_t *alerts;
    int64_t last_as_of;     /* newest bucket evaluated, INT64_MIN = none */
    int64_t last_watermark; /* the watermark of the previous advance, INT64_MIN = none */
    int64_t counted_upto;   /* newest bucket counted in buckets_closed_total, INT64_MIN = none */
    lw_watch_stats_t st;
    /* gauges (NULL when no registry) */
    lw_promtext_family_t *f_p, *f_q, *f_lag, *f_coef, *f_oos, *f_verdict, *f_state;
    lw_promtext_series_t *g_firing, *g_evals, *g_duration, *g_as_of, *g_closed;
    edge_gauges_t edge[LW_ANALYZE_MAX_EDGES];
    char edge_name[LW_ANALYZE_MAX_EDGES][EDGE_NAME_SIZE];
    size_t nedges_known;
    lw_buf_t blob;
    lw_buf_t undo; /* the alert table before the change being persisted */
    mon_slot_t mon[LW_ANALYZE_MAX_EDGES];
    mon_slot_t mon_undo[LW_ANALYZE_MAX_EDGES];
    loss_seen_t seen[LW_WATCH_MAX_LOSS]; /* per partition: the loss already alerted */
    size_t nseen;
    lw_session_t *ses;                      /* the window, advanced one close at a time */
    edge_memo_t memo[LW_ANALYZE_MAX_EDGES]; /* the last full evaluation, per tree edge */
    lw_promtext_series_t *g_dur_kind[2];    /* evaluation_duration_seconds{kind=close|full} */
    uint64_t advanced, reloaded;            /* sessions advanced / loaded afresh */
};

/* The grid's multiple of full_every: bucket index of the close, from the epoch's bucket. */
static int64_t full_period(const lw_config_t *cfg)
{
    const int64_t size = cfg->buckets.size_ms, f = cfg->analysis_full_every_ms;
    return f > size ? f / size : 1;
}

bool lw_watch_full_close(const lw_config_t *cfg, int64_t as_of_ms)
{
    const int64_t size = cfg->buckets.size_ms, per = full_period(cfg);
    const int64_t idx = (as_of_ms + size - lw_bucket_start(0, size)) / size;
    return ((idx % per) + per) % per == 0;
}

int64_t lw_watch_last_full(const lw_config_t *cfg, int64_t as_of_ms)
{
    const int64_t size = cfg->buckets.size_ms, per = full_period(cfg);
    const int64_t anchor = lw_bucket_start(0, size);
    const int64_t idx = (as_of_ms + size - anchor) / size;
    return anchor + (idx - ((idx % per) + per) % per) * size - size;
}

static int64_t default_mono(void *ctx)
{
    (void)ctx;
    return lw_clock_mono_ms();
}

static int64_t mono(const lw_watch_t *w)
{
    return w->d.mono_ms ? w->d.mono_ms(w->d.clock_ctx) : default_mono(NULL);
}

/* ---- metrics ---------------------------------------------------------- */

static lw_err_t register_metrics(lw_watch_t *w, char *errstr, size_t errstr_size)
{
    lw_promtext_t *r = w->d.metrics;
    if (!r)
        return LW_OK;
    static const char *const edge_labels[] = {"nsm", "edge", "input", "kind"};
    static const char *const verdict_labels[] = {"nsm", "edge", "input", "kind", "verdict"};
    static const char *const state_labels[] = {"alertname", "edge", "condition", "state"};
    static const double dur_buckets[] = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025,
                                         0.05,   0.1,    0.25,  0.5,   1,    5};
    lw_promtext_family_t *f;
    lw_err_t err;
#define FAM(type, name, help, labels, n, b, nb, outp)                                              \
    do {                                                                                           \
        err =                                                                                      \
            lw_promtext_family(r, type, name, help, labels, n, b, nb, outp, errstr, errstr_size);  \
        if (err != LW_OK)                                                                          \
            return err;                                                                            \
    } while (0)
    FAM(LW_PROMTEXT_GAUGE, "edge_p_value",
        "p-value of the edge's primary Granger test at the chosen lag", edge_labels, 4, NULL, 0,
        &w->f_p);
    FAM(LW_PROMTEXT_GAUGE, "edge_q_value", "Benjamini-Hochberg q-value of the primary test",
        edge_labels, 4, NULL, 0, &w->f_q);
    FAM(LW_PROMTEXT_GAUGE, "edge_lag_buckets",
        "chosen lag of the edge in buckets (absent when none was chosen)", edge_labels, 4, NULL, 0,
        &w->f_lag);
    FAM(LW_PROMTEXT_GAUGE, "edge_coefficient", "elasticity of the target to the source",
        edge_labels, 4, NULL, 0, &w->f_coef);
    FAM(LW_PROMTEXT_GAUGE, "edge_oos_skill",
        "out-of-sample skill: 1 - RMSE with the source / RMSE without", edge_labels, 4, NULL, 0,
        &w->f_oos);
    FAM(LW_PROMTEXT_GAUGE, "edge_verdict", "1 for the edge's current verdict, 0 for the others",
        verdict_labels, 5, NULL, 0, &w->f_verdict);
    FAM(LW_PROMTEXT_GAUGE, "alert_state", "1 for the alert's current state, 0 for the others",
        state_labels, 4, NULL, 0, &w->f_state);
    FAM(LW_PROMTEXT_GAUGE, "alerts_firing", "alerts firing now", NULL, 0, NULL, 0, &f);
    w->g_firing = lw_promtext_series(f, NULL);
    FAM(LW_PROMTEXT_COUNTER, "evaluations_total",
        "evaluations of the metric tree (one per closed bucket)", NULL, 0, NULL, 0, &f);
    w->g_evals = lw_promtext_series(f, NULL);
    FAM(LW_PROMTEXT_COUNTER, "buckets_closed_total",
        "buckets closed by the watermark (bucket end + grace passed) since the process started",
        NULL, 0, NULL, 0, &f);
    w->g_closed = lw_promtext_series(f, NULL);
    static const char *const kind_label[] = {"kind"};
    FAM(LW_PROMTEXT_HISTOGRAM, "evaluation_duration_seconds",
        "time to evaluate one closed bucket: kind=full (the full analysis, at the closes "
        "aligned to analysis.full_every) or close (the window advanced, the monitors and "
        "their alerts)",
        kind_label, 1, dur_buckets, sizeof dur_buckets / sizeof dur_buckets[0], &f);
    {
        const char *kc[] = {"close"}, *kf[] = {"full"};
        w->g_dur_kind[0] = lw_promtext_series(f, kc);
        w->g_dur_kind[1] = lw_promtext_series(f, kf);
        w->g_duration = w->g_dur_kind[1];
    }
    FAM(LW_PROMTEXT_GAUGE, "evaluation_as_of_timestamp_seconds",
        "start of the newest bucket evaluated", NULL, 0, NULL, 0, &f);
    w->g_as_of = lw_promtext_series(f, NULL);
#undef FAM
    return LW_OK;
}

/*
 * The kind label of an edge, shared by /metrics and the alerts: the input's
 * kind, "kpi" for the NSM -> KPI edge (the analysis calls it "nsm"
 * internally; one vocabulary outside).
 */
static const char *edge_kind(const lw_edge_result_t *e)
{
    return strcmp(e->role, "kpi") == 0 ? "kpi" : e->kind;
}

/* Edge i of the configured tree (the analysis' order: inputs, then the KPI edge). */
typedef struct {
    const char *source, *target, *kind;
    bool is_kpi;
} tree_edge_t;

static bool tree_edge(const lw_config_t *cfg, size_t i, tree_edge_t *out)
{
    const char *nsm = cfg->metrics[cfg->tree.nsm].name;
    bool kpi = i == cfg->tree.ninputs;
    if (i > cfg->tree.ninputs || (kpi && cfg->tree.kpi < 0) || i >= LW_ANALYZE_MAX_EDGES)
        return false;
    *out = (tree_edge_t){
        .source = kpi ? nsm : cfg->metrics[cfg->tree.inputs[i].metric].name,
        .target = kpi ? cfg->metrics[cfg->tree.kpi].name : nsm,
        .kind = kpi ? "kpi" : lw_input_kind_name(cfg->tree.inputs[i].kind),
        .is_kpi = kpi,
    };
    return true;
}

/* The gauges of edge slot i (created on first use: the tree is fixed). */
static edge_gauges_t *edge_gauges(lw_watch_t *w, size_t i, const char *nsm, const char *from,
                                  const char *to, const char *kind)
{
    edge_gauges_t *g = &w->edge[i];
    if (i < w->nedges_known && strcmp(w->edge_name[i], "") != 0)
        return g;
    snprintf(w->edge_name[i], sizeof w->edge_name[i], "%s->%s", from, to);
    const char *v[] = {nsm, w->edge_name[i], from, kind, NULL};
    g->p = lw_promtext_series(w->f_p, v);
    g->q = lw_promtext_series(w->f_q, v);
    g->lag = lw_promtext_series(w->f_lag, v);
    g->coef = lw_promtext_series(w->f_coef, v);
    g->oos = lw_promtext_series(w->f_oos, v);
    for (int k = 0; k <= LW_VERDICT_INSUFFICIENT_DATA; k++) {
        v[4] = lw_verdict_name((lw_verdict_t)k);
        g->verdict[k] = lw_promtext_series(w->f_verdict, v);
    }
    if (i + 1 > w->nedges_known)
        w->nedges_known = i + 1;
    return g;
}

static double oos_skill(const lw_edge_result_t *e)
{
    return e->oos_status == LW_STEP_OK ? e->oos.rel_rmse_change : (double)NAN;
}

static double coefficient(const lw_edge_result_t *e)
{
    if (e->elasticity_defined)
        return e->elasticity;
    return e->effect_sum_defined ? e->effect_sum : (double)NAN;
}

/*
 * One edge's gauges from an evaluation (live, or its stored verdict row at
 * start).  A value the evaluation did not produce (NaN: p of an edge not
 * analysed, an undefined q, no coefficient, no out-of-sample skill; lag 0 =
 * none chosen) leaves its series absent rather than a placeholder.  A
 * verdict of "no data" (a gap in the newest buckets: what the alerts and
 * the stored row say) shows as insufficient_data.
 */
static void set_edge(edge_gauges_t *g, double p, double q, int lag, double coef, double oos,
                     int verdict)
{
    lw_promtext_set_known(g->p, p, true);
    lw_promtext_set_known(g->q, q, true);
    lw_promtext_set_known(g->lag, (double)lag, lag > 0);
    lw_promtext_set_known(g->coef, coef, true);
    lw_promtext_set_known(g->oos, oos, true);
    for (int k = 0; k <= LW_VERDICT_INSUFFICIENT_DATA; k++)
        lw_promtext_set(g->verdict[k], verdict == k ? 1.0 : 0.0);
}

static void publish_edges(lw_watch_t *w, const lw_analysis_t *a, const char *nsm, bool gap)
{
    if (!w->d.metrics)
        return;
    for (size_t i = 0; i < a->nedges && i < LW_ANALYZE_MAX_EDGES; i++) {
        const lw_edge_result_t *e = &a->edges[i];
        edge_gauges_t *g = edge_gauges(w, i, nsm, e->from, e->to, edge_kind(e));
        set_edge(g, e->analysed ? e->p : (double)NAN, e->q_defined ? e->q : (double)NAN,
                 (int)e->lag, coefficient(e), oos_skill(e),
                 gap ? (int)LW_VERDICT_INSUFFICIENT_DATA : (int)e->verdict);
    }
}

static lw_alert_verdict_t alert_verdict(lw_verdict_t v);

/* Stored verdict rows of one evaluation -> the gauges of the tree's edges and the memo. */
typedef struct {
    lw_watch_t *w;
    int64_t as_of;
    size_t restored;
} restore_ctx_t;

static int restore_row(void *ud, const lw_verdict_row_t *v)
{
    restore_ctx_t *rc = ud;
    lw_watch_t *w = rc->w;
    const lw_config_t *cfg = w->d.cfg;
    tree_edge_t te;
    if (v->as_of_ms != rc->as_of)
        return 0;
    for (size_t i = 0; tree_edge(cfg, i, &te); i++) {
        char name[EDGE_NAME_SIZE];
        snprintf(name, sizeof name, "%s->%s", te.source, te.target);
        if (strcmp(name, v->edge) != 0)
            continue;
        int verdict = LW_VERDICT_INSUFFICIENT_DATA; /* also for "nodata" */
        for (int k = 0; k <= LW_VERDICT_INSUFFICIENT_DATA; k++)
            if (strcmp(v->verdict, lw_verdict_name((lw_verdict_t)k)) == 0)
                verdict = k;
        /* what the closes before the next full evaluation tell the alerts */
        edge_memo_t *m = &w->memo[i];
        *m = (edge_memo_t){.known = strcmp(v->verdict, "nodata") != 0,
                           .verdict = alert_verdict((lw_verdict_t)verdict),
                           .predicts = verdict != LW_VERDICT_NO_LONGER_LEADS &&
                                               v->q<cfg->analysis.alpha, .p = v->p, .q = v->q,
                                                    .coef = v->coef, .oos = v->oos, .lag = v->lag> 0
                                           ? (unsigned)v->lag
                                           : 0};
        if (w->d.metrics)
            set_edge(
                edge_gauges(w, i, cfg->metrics[cfg->tree.nsm].name, te.source, te.target, te.kind),
                v->p, v->q, v->lag, v->coef, v->oos, verdict);
        rc->restored++;
        break;
    }
    return 0;
}

/*
 * At start: the edge gauges (and evaluation_as_of_timestamp_seconds) from
 * the verdicts of the last evaluation in the store, so /metrics has every
 * edge series at once instead of after the
 * next bucket closes (up to a day).  Rows of edges no longer in the tree
 * are ignored.  A store that cannot be read is logged: the gauges then come
 * with the next evaluation, as before.
 */
static void restore_edges(lw_watch_t *w)
{
    if (w->last_as_of == INT64_MIN)
        return;
    if (w->d.metrics)
        lw_promtext_set(w->g_as_of, (double)w->last_as_of / 1000.0);
    restore_ctx_t rc = {.w = w, .as_of = lw_watch_last_full(w->d.cfg, w->last_as_of)};
    char err[256];
    if (lw_store_read_verdicts(w->d.store, NULL, w->last_as_of, restore_row, &rc, err,
                               sizeof err) != LW_OK)
        LW_LOG(LW_LOG_WARN, "watch", "edge gauges not restored from the store: %s", err);
    else
        LW_LOG(LW_LOG_DEBUG, "watch", "%zu edge gauge set(s) restored from the last evaluation",
               rc.restored);
}

/* alert_state gauges for every entry of the table (series are created on first use). */
static void publish_alerts(lw_watch_t *w)
{
    size_t firing = 0, n = lw_alert_count(w->alerts);
    for (size_t i = 0; i < n; i++) {
        lw_alert_info_t in;
        if (!lw_alert_entry(w->alerts, i, &in))
            continue;
        if (in.state == LW_ALERT_FIRING)
            firing++;
        if (!w->d.metrics)
            continue;
        char edge[EDGE_NAME_SIZE];
        if (in.cond == LW_ALERT_COND_PIPELINE_STALLED)
            snprintf(edge, sizeof edge, "%s", "");
        else if (in.cond == LW_ALERT_COND_EVENTS_LOST)
            snprintf(edge, sizeof edge, "%s/%s", in.source, in.target); /* topic/partition */
        else
            snprintf(edge, sizeof edge, "%s->%s", in.source, in.target);
        for (int s = 0; s < LW_ALERT_STATE_COUNT; s++) {
            const char *v[] = {lw_alert_cond_alertname(in.cond), edge, lw_alert_cond_name(in.cond),
                               lw_alert_state_name((lw_alert_state_t)s)};
            lw_promtext_set(lw_promtext_series(w->f_state, v), (int)in.state == s ? 1.0 : 0.0);
        }
    }
    w->st.firing = firing;
    if (w->g_firing)
        lw_promtext_set(w->g_firing, (double)firing);
}

/* ---- persistence -------------------------------------------------------- */

/* Queue and log the events of the table's last call (after they were stored). */
static void deliver(lw_watch_t *w)
{
    size_t n;
    const lw_alert_event_t *ev = lw_alert_events(w->alerts, &n);
    for (size_t i = 0; i < n; i++) {
        const char *edge = lw_alert_event_label(&ev[i], "edge");
        char where[LW_ALERT_VALUE_SIZE + 16];
        if (ev[i].cond == LW_ALERT_COND_EVENTS_LOST) { /* topic/partition */
            snprintf(where, sizeof where, "%s/%s", lw_alert_event_label(&ev[i], "topic"),
                     lw_alert_event_label(&ev[i], "partition"));
            edge = where;
        }
        const char *summary = lw_alert_event_annotation(&ev[i], "summary");
        /* firing and resolved are what operators act on; pending is worth a line;
         * nodata / inactive churn (every edge at start, every stall) is debug */
        lw_log_level_t lvl = ev[i].to == LW_ALERT_FIRING     ? LW_LOG_WARN
                             : ev[i].to == LW_ALERT_RESOLVED ? LW_LOG_INFO
                             : ev[i].to == LW_ALERT_PENDING  ? LW_LOG_INFO
                                                             : LW_LOG_DEBUG;
        if (ev[i].cond == LW_ALERT_COND_PIPELINE_STALLED && lvl == LW_LOG_DEBUG)
            lvl = LW_LOG_INFO;
        if (ev[i].cond == LW_ALERT_COND_EVENTS_LOST && ev[i].refresh)
            lvl = LW_LOG_WARN; /* a further loss on a partition whose alert fires */
        LW_LOG(lvl, "alert", "%s%s%s: %s -> %s%s%s%s", lw_alert_cond_alertname(ev[i].cond),
               edge && *edge ? " " : "", edge ? edge : "", lw_alert_state_name(ev[i].from),
               lw_alert_state_name(ev[i].to), ev[i].refresh ? " (re-announced after restart)" : "",
               summary ? ": " : "", summary ? summary : "");
    }
    w->st.transitions += n;
    if (n && w->d.sink)
        lw_alertsink_enqueue(w->d.sink, ev, n);
    publish_alerts(w);
}

/* The alert table serialised into `into` (emptied first). */
static lw_err_t save_alerts(lw_watch_t *w, lw_buf_t *into, char *errstr, size_t errstr_size)
{
    lw_buf_rewind(into, 0);
    into->err = LW_OK;
    lw_err_t err = lw_alert_save(w->alerts, into);
    if (err != LW_OK)
        return lw_seterr(errstr, errstr_size, err, "alert state does not fit in %u bytes",
                         STATE_BLOB_MAX);
    return LW_OK;
}

/*
 * The alert table moves in memory before the store transaction that
 * persists it; when that transaction fails the table must go back, or the
 * retry counts the same evaluation twice (a pending alert fires early) and
 * a transition the store never held is lost (the retry sees no change).
 */
static lw_err_t snapshot(lw_watch_t *w, char *errstr, size_t errstr_size)
{
    memcpy(w->mon_undo, w->mon, sizeof w->mon);
    return save_alerts(w, &w->undo, errstr, errstr_size);
}

static void restore(lw_watch_t *w)
{
    memcpy(w->mon, w->mon_undo, sizeof w->mon);
    char lerr[256];
    if (lw_alert_load(w->alerts, w->undo.data ? w->undo.data : "", w->undo.len, lerr,
                      sizeof lerr) != LW_OK)
        LW_LOG(LW_LOG_ERROR, "watch", "alert state not restored after a store failure: %s", lerr);
}

/* The monitor blob (file comment) into the open transaction. */
static lw_err_t save_monitors(lw_watch_t *w, char *errstr, size_t errstr_size)
{
    uint32_t count = LW_ANALYZE_MAX_EDGES;
    lw_buf_rewind(&w->blob, 0);
    w->blob.err = LW_OK;
    lw_buf_puts(&w->blob, MON_MAGIC);
    lw_buf_append(&w->blob, &count, sizeof count);
    lw_buf_append(&w->blob, w->mon, sizeof w->mon);
    if (w->blob.err != LW_OK)
        return lw_seterr(errstr, errstr_size, w->blob.err, "monitor state does not fit");
    return lw_store_set_blob(w->d.store, LW_WATCH_KEY_MONITOR, w->blob.data, w->blob.len, errstr,
                             errstr_size);
}

/* Read the monitor blob; a missing one is a fresh start, a bad one is logged and ignored. */
static lw_err_t load_monitors(lw_watch_t *w, char *errstr, size_t errstr_size)
{
    lw_buf_rewind(&w->blob, 0);
    lw_err_t err =
        lw_store_get_blob(w->d.store, LW_WATCH_KEY_MONITOR, &w->blob, errstr, errstr_size);
    if (err == LW_ERR_NOT_FOUND)
        return LW_OK;
    if (err != LW_OK)
        return err;
    const size_t head = strlen(MON_MAGIC) + sizeof(uint32_t);
    uint32_t count = 0;
    bool ok = w->blob.len == head + sizeof w->mon &&
              memcmp(w->blob.data, MON_MAGIC, strlen(MON_MAGIC)) == 0;
    if (ok)
        memcpy(&count, w->blob.data + strlen(MON_MAGIC), sizeof count);
    ok = ok && count == LW_ANALYZE_MAX_EDGES;
    mon_slot_t *tmp = ok ? malloc(sizeof w->mon) : NULL;
    if (tmp) {
        memcpy(tmp, w->blob.data + head, sizeof w->mon);
        for (size_t i = 0; i < LW_ANALYZE_MAX_EDGES && ok; i++)
            ok = memchr(tmp[i].edge, '\0', sizeof tmp[i].edge) != NULL &&
                 lw_leadmon_check(&tmp[i].m);
        if (ok)
            memcpy(w->mon, tmp, sizeof w->mon);
    }
    if (!tmp || !ok)
        LW_LOG(LW_LOG_ERROR, "watch",
               "the monitor state in the store (%s, %zu bytes) cannot be read; the sequential "
               "monitors restart and re-arm once their edges lead again",
               LW_WATCH_KEY_MONITOR, w->blob.len);
    free(tmp);
    return LW_OK;
}

/* Write the alert table (and, when as_of != INT64_MIN, the position) inside the open transaction.
 */
static lw_err_t save_state(lw_watch_t *w, int64_t as_of, char *errstr, size_t errstr_size)
{
    lw_err_t err = save_alerts(w, &w->blob, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    err = lw_store_set_blob(w->d.store, LW_WATCH_KEY_STATE, w->blob.data, w->blob.len, errstr,
                            errstr_size);
    if (err == LW_OK && as_of != INT64_MIN)
        err = save_monitors(w, errstr, errstr_size);
    if (err == LW_OK && as_of != INT64_MIN)
        err = lw_store_set_int(w->d.store, LW_WATCH_KEY_LAST, as_of, errstr, errstr_size);
    return err;
}

/*
 * End the open transaction: when `err` (so far) is LW_OK, save the state
 * (save_state) and commit; if anything failed, roll back and restore the
 * in-memory state from the undo copy.  Returns the first failure.
 */
static lw_err_t commit_state(lw_watch_t *w, lw_err_t err, int64_t as_of, char *errstr,
                             size_t errstr_size)
{
    if (err == LW_OK)
        err = save_state(w, as_of, errstr, errstr_size);
    if (err == LW_OK)
        err = lw_store_commit(w->d.store, errstr, errstr_size);
    if (err != LW_OK) {
        lw_store_rollback(w->d.store);
        restore(w);
    }
    return err;
}

/* ---- construction ------------------------------------------------------- */

void lw_watch_destroy(lw_watch_t *w)
{
    if (!w)
        return;
    lw_alert_table_destroy(w->alerts);
    lw_session_destroy(w->ses);
    lw_buf_release(&w->blob);
    lw_buf_release(&w->undo);
    free(w);
}

lw_err_t lw_watch_new(const lw_watch_deps_t *deps, int64_t now_ms, lw_watch_t **out, char *errstr,
                      size_t errstr_size)
{
    *out = NULL;
    lw_watch_t *w = calloc(1, sizeof *w);
    if (!w)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    w->d = *deps;
    w->last_as_of = INT64_MIN;
    w->last_watermark = INT64_MIN;
    w->counted_upto = INT64_MIN;
    w->st.last_as_of_ms = INT64_MIN;
    lw_buf_init(&w->blob, STATE_BLOB_MAX);
    lw_buf_init(&w->undo, STATE_BLOB_MAX);
    lw_err_t err = lw_alert_table_new(&deps->cfg->alerts.opts, &w->alerts, errstr, errstr_size);
    if (err != LW_OK)
        goto fail;
    if ((err = register_metrics(w, errstr, errstr_size)) != LW_OK)
        goto fail;

    int64_t last;
    err = lw_store_get_int(w->d.store, LW_WATCH_KEY_LAST, &last, errstr, errstr_size);
    if (err == LW_OK)
        w->last_as_of = w->st.last_as_of_ms = last;
    else if (err != LW_ERR_NOT_FOUND)
        goto fail;
    if ((err = load_monitors(w, errstr, errstr_size)) != LW_OK)
        goto fail;
    lw_buf_rewind(&w->blob, 0);
    err = lw_store_get_blob(w->d.store, LW_WATCH_KEY_STATE, &w->blob, errstr, errstr_size);
    if (err == LW_OK) {
        char lerr[256];
        err = lw_alert_load(w->alerts, w->blob.data ? w->blob.data : "", w->blob.len, lerr,
                            sizeof lerr);
        if (err != LW_OK) {
            /* an unreadable table (damaged, or from another version) must not keep the
             * daemon from consuming: start empty, say loudly what that costs */
            LW_LOG(LW_LOG_ERROR, "watch",
                   "the alert state in the store cannot be read (%s: %s); starting with an "
                   "empty alert table: alerts that were firing will fire again as new once "
                   "their edges have been healthy and fail again",
                   LW_WATCH_KEY_STATE, lerr);
            err = LW_OK;
        }
        lw_alert_refresh(w->alerts, now_ms);
        size_t n;
        lw_alert_events(w->alerts, &n);
        LW_LOG(LW_LOG_INFO, "watch",
               "alert state restored: %zu alert(s) tracked, %zu firing (re-announced, not new); "
               "evaluations resume after %s",
               lw_alert_count(w->alerts), n, "the last evaluated bucket");
        deliver(w);
    } else if (err != LW_ERR_NOT_FOUND) {
        goto fail;
    }
    err = LW_OK;
    publish_alerts(w);
    restore_edges(w);
    *out = w;
    return LW_OK;
fail:
    lw_watch_destroy(w);
    return err;
}

/* ---- one evaluation ----------------------------------------------------- */

static lw_alert_verdict_t alert_verdict(lw_verdict_t v)
{
    switch (v) {
    case LW_VERDICT_LEADS: return LW_ALERT_V_LEADS;
    case LW_VERDICT_REVERSE: return LW_ALERT_V_REVERSE;
    case LW_VERDICT_FEEDBACK: return LW_ALERT_V_FEEDBACK;
    case LW_VERDICT_INCONCLUSIVE:
    case LW_VERDICT_NO_LONGER_LEADS: return LW_ALERT_V_INCONCLUSIVE;
    case LW_VERDICT_INSUFFICIENT_DATA: break;
    }
    return LW_ALERT_V_INSUFFICIENT_DATA;
}

/*
 * An inconclusive verdict only because a check could not run (too few
 * usable rows for the stability sub-windows or the out-of-sample forecasts,
 * typically after a gap shortened the run the analysis uses) is not
 * evidence that the edge stopped leading: no data, not a failure.
 */
static bool unjudged(const lw_edge_result_t *e, double alpha)
{
    return e->verdict == LW_VERDICT_INCONCLUSIVE && e->q_defined && e->q < alpha &&
           (e->stab_status != LW_STEP_OK || e->oos_status != LW_STEP_OK);
}

lw_alert_mon_t lw_watch_monitor_state(const lw_leadmon_t *m)
{
    switch ((lw_leadmon_phase_t)m->phase) {
    case LW_LEADMON_WATCHING: return LW_ALERT_MON_WATCHING;
    case LW_LEADMON_ALARMED: return LW_ALERT_MON_ALARM;
    case LW_LEADMON_IDLE: break;
    }
    return LW_ALERT_MON_NONE;
}

lw_alert_mon_t lw_watch_monitor_edge(lw_leadmon_t *m, const lw_leadmon_opts_t *o,
                                     const lw_analysis_t *an, size_t i,
                                     const lw_analyze_input_t *in, int64_t last_index,
                                     const lw_alert_obs_t *obs)
{
    const lw_edge_result_t *ed = &an->edges[i];
    const size_t ns = in->nseries;
    const lw_leadmon_input_t li = {
        .y = in->values + ed->to_col,
        .x = in->values + ed->from_col,
        .stride = ns,
        .n = in->nrows,
        .last_index = last_index,
        .leading = !obs->nodata &&
                   (obs->verdict == LW_ALERT_V_LEADS || obs->verdict == LW_ALERT_V_FEEDBACK),
        /* as the alert table's arming: "still predicts" and no data neither count nor reset */
        .hold = obs->nodata || obs->verdict == LW_ALERT_V_INSUFFICIENT_DATA ||
                (obs->verdict == LW_ALERT_V_INCONCLUSIVE && obs->predicts),
        .lag = ed->lag,
        .log_x = ed->prep_from.log,
        .log_y = ed->prep_to.log,
        .diff = ed->prep_from.diff || ed->prep_to.diff,
        .season =
            ed->prep_to.season_period ? ed->prep_to.season_period : ed->prep_from.season_period,
    };
    lw_leadmon_step(m, o, &li);
    return lw_watch_monitor_state(m);
}

void lw_watch_edge_obs(const lw_analysis_t *an, size_t i, const char *nsm, double alpha, bool gap,
                       char *brk, size_t brk_size, const char *as_of, lw_alert_obs_t *o)
{
    const lw_edge_result_t *ed = &an->edges[i];
    bool is_kpi = strcmp(ed->role, "kpi") == 0;
    if (ed->break_found)
        lw_analysis_row_label(an, ed->break_row, brk, brk_size);
    *o = (lw_alert_obs_t){
        .nsm = nsm,
        .source = ed->from,
        .target = ed->to,
        .kind = edge_kind(ed),
        .is_kpi = is_kpi,
        .verdict = alert_verdict(ed->verdict),
        .nodata = gap || unjudged(ed, alpha),
        .gap = gap,
        .led_before = false, /* arming is the table's (sustained leads); see alert.c */
        /* a lead that broke and no longer holds after the break is a failure even
         * when the whole window's test is still significant */
        .predicts = ed->verdict != LW_VERDICT_NO_LONGER_LEADS && ed->q_defined && ed->q < alpha,
        .sensitivity_known = ed->sens_status == LW_STEP_OK,
        .sensitive = ed->sens_status == LW_STEP_OK && ed->sens.sensitive,
        .evidence = {.p = ed->analysed ? ed->p : (double)NAN,
                     .q = ed->q_defined ? ed->q : (double)NAN,
                     .lag = (unsigned)ed->lag,
                     .coefficient = coefficient(ed),
                     .oos_skill = oos_skill(ed),
                     .break_period = ed->break_found ? brk : NULL,
                     .window_first = an->first_label,
                     .window_last = an->last_label,
                     .as_of = as_of,
                     .summary = NULL},
    };
}

/* The per-evaluation scratch (kept off the stack: labels are a few hundred bytes each). */
typedef struct {
    lw_alert_obs_t obs[LW_ANALYZE_MAX_EDGES];
    char edge[LW_ANALYZE_MAX_EDGES][EDGE_NAME_SIZE];
    char brk[LW_ANALYZE_MAX_EDGES][LW_ANALYZE_LABEL_SIZE];
    char as_of[64];
} eval_scratch_t;

/* The monitor options of the daemon's evaluations (leadmon.h). */
static void monitor_opts(const lw_config_t *cfg, lw_leadmon_opts_t *mo)
{
    lw_leadmon_opts_default(mo);
    mo->arm_after = cfg->alerts.opts.arm_after;
    mo->alpha = cfg->alerts.opts.monitor_alpha;
    mo->year = (double)(365 * LW_MS_PER_DAY / cfg->buckets.size_ms);
    if (cfg->analysis_window > 0)
        mo->rebase = (double)cfg->analysis_window;
}

/*
 * nodata: a gap among the newest stall_missing_buckets buckets of the
 * window, or nothing stored for the bucket itself.
 */
static bool window_gap(const lw_config_t *cfg, const lw_series_t *ser, int64_t as_of)
{
    bool gap = ser->nrows == 0;
    size_t miss = cfg->alerts.stall_missing_buckets;
    for (size_t k = 0; k < miss && k < ser->nrows; k++)
        gap = gap || ser->gap[ser->nrows - 1 - k];
    if (ser->nrows && ser->bucket_ms[ser->nrows - 1] != as_of)
        gap = gap || miss > 0;
    return gap;
}

/* Edge i's full-evaluation observation, kept for the closes until the next one. */
static void memo_set(edge_memo_t *m, const lw_alert_obs_t *o)
{
    const lw_alert_evidence_t *ev = &o->evidence;
    *m = (edge_memo_t){.known = true,
                       .verdict = o->verdict,
                       .predicts = o->predicts,
                       .sensitivity_known = o->sensitivity_known,
                       .sensitive = o->sensitive,
                       .p = ev->p,
                       .q = ev->q,
                       .coef = ev->coefficient,
                       .oos = ev->oos_skill,
                       .lag = ev->lag,
                       .has_break = ev->break_period != NULL};
    snprintf(m->brk, sizeof m->brk, "%s", ev->break_period ? ev->break_period : "");
    snprintf(m->first, sizeof m->first, "%s", ev->window_first ? ev->window_first : "");
    snprintf(m->last, sizeof m->last, "%s", ev->window_last ? ev->window_last : "");
}

/*
 * A close between two full evaluations (analysis.full_every): edge i of the
 * tree as the last full evaluation left it, with this close's gap and its
 * monitor advanced by the new bucket alone (lw_leadmon_step with neither a
 * lead nor evidence against it: a WATCHING monitor takes the new row, O(k);
 * an IDLE or ALARMED one waits for the next full evaluation's verdict).
 */
static void close_obs(lw_watch_t *w, size_t i, const tree_edge_t *te, const lw_analyze_input_t *in,
                      bool newest, bool gap, int64_t as_of, eval_scratch_t *sc)
{
    const lw_config_t *cfg = w->d.cfg;
    const edge_memo_t *m = &w->memo[i];
    snprintf(sc->edge[i], sizeof sc->edge[i], "%s->%s", te->source, te->target);
    sc->obs[i] = (lw_alert_obs_t){
        .nsm = cfg->metrics[cfg->tree.nsm].name,
        .source = te->source,
        .target = te->target,
        .kind = te->kind,
        .is_kpi = te->is_kpi,
        .verdict = m->known ? m->verdict : LW_ALERT_V_INSUFFICIENT_DATA,
        .nodata = gap || !m->known,
        .gap = gap,
        .predicts = m->predicts,
        .sensitivity_known = m->sensitivity_known,
        .sensitive = m->sensitive,
        .evidence = {.p = m->known ? m->p : (double)NAN,
                     .q = m->known ? m->q : (double)NAN,
                     .lag = m->lag,
                     .coefficient = m->known ? m->coef : (double)NAN,
                     .oos_skill = m->known ? m->oos : (double)NAN,
                     .break_period = m->has_break ? m->brk : NULL,
                     .window_first = m->first,
                     .window_last = m->last,
                     .as_of = sc->as_of},
    };
    mon_slot_t *slot = &w->mon[i];
    if (strcmp(slot->edge, sc->edge[i]) != 0) {
        memset(slot, 0, sizeof *slot);
        snprintf(slot->edge, sizeof slot->edge, "%s", sc->edge[i]);
    }
    if (!cfg->alerts.opts.monitor) {
        sc->obs[i].monitor = LW_ALERT_MON_NONE;
        return;
    }
    if (newest) {
        lw_leadmon_opts_t mo;
        monitor_opts(cfg, &mo);
        const size_t from = te->is_kpi ? in->nsm : in->inputs[i];
        const size_t to = te->is_kpi ? (size_t)in->kpi : in->nsm;
        const lw_leadmon_input_t li = {.y = in->values + to,
                                       .x = in->values + from,
                                       .stride = in->nseries,
                                       .n = in->nrows,
                                       .last_index = as_of / cfg->buckets.size_ms,
                                       .leading = false,
                                       .hold = true};
        lw_leadmon_step(&slot->m, &mo, &li);
    }
    sc->obs[i].monitor = lw_watch_monitor_state(&slot->m);
}

/*
 * A full evaluation's observations: the analysis of the window, edge i's
 * observation and its monitor stepped with the verdict; every edge of the
 * tree no data when the analysis could not run.  *an, *n (edges analysed)
 * and *nobs (observations).  LW_ERR_NOMEM only.
 */
static lw_err_t full_obs(lw_watch_t *w, int64_t as_of, const lw_analyze_input_t *in, bool newest,
                         bool gap, eval_scratch_t *sc, const lw_analysis_t **an, size_t *n,
                         size_t *nobs, char *errstr, size_t errstr_size)
{
    const lw_config_t *cfg = w->d.cfg;
    const char *nsm = cfg->metrics[cfg->tree.nsm].name;
    char aerr[512] = "";
    lw_err_t e = lw_session_analyze(w->ses, &cfg->analysis, an, aerr, sizeof aerr);
    if (e == LW_ERR_NOMEM)
        return lw_seterr(errstr, errstr_size, e, "evaluation as of %s: %s", sc->as_of, aerr);
    if (e != LW_OK)
        LW_LOG(LW_LOG_WARN, "watch",
               "evaluation as of %s: analysis failed (edges count as no data): %s", sc->as_of,
               aerr);
    const lw_analysis_t *a = *an;
    *n = a ? a->nedges : 0;
    if (*n > LW_ANALYZE_MAX_EDGES)
        *n = LW_ANALYZE_MAX_EDGES;
    *nobs = *n;
    lw_leadmon_opts_t mo;
    monitor_opts(cfg, &mo);
    for (size_t i = 0; i < *n; i++) {
        const lw_edge_result_t *ed = &a->edges[i];
        snprintf(sc->edge[i], sizeof sc->edge[i], "%s->%s", ed->from, ed->to);
        lw_watch_edge_obs(a, i, nsm, cfg->analysis.alpha, gap, sc->brk[i], sizeof sc->brk[i],
                          sc->as_of, &sc->obs[i]);
        mon_slot_t *slot = &w->mon[i];
        if (strcmp(slot->edge, sc->edge[i]) != 0) {
            memset(slot, 0, sizeof *slot);
            snprintf(slot->edge, sizeof slot->edge, "%s", sc->edge[i]);
        }
        if (!cfg->alerts.opts.monitor)
            sc->obs[i].monitor = LW_ALERT_MON_NONE;
        else if (newest)
            sc->obs[i].monitor = lw_watch_monitor_edge(&slot->m, &mo, a, i, in,
                                                       as_of / cfg->buckets.size_ms, &sc->obs[i]);
        else
            sc->obs[i].monitor = lw_watch_monitor_state(&slot->m);
    }
    if (!a) {
        /* the analysis could not run at all: every edge of the tree is no data (not a failure) */
        tree_edge_t te;
        for (size_t i = 0; tree_edge(cfg, i, &te); i++) {
            sc->obs[i] = (lw_alert_obs_t){
                .nsm = nsm,
                .source = te.source,
                .target = te.target,
                .kind = te.kind,
                .is_kpi = te.is_kpi,
                .verdict = LW_ALERT_V_INSUFFICIENT_DATA,
                .nodata = true,
                .evidence =
                    {.p = NAN, .q = NAN, .coefficient = NAN, .oos_skill = NAN, .as_of = sc->as_of},
            };
            *nobs = i + 1;
        }
    }
    return LW_OK;
}

/*
 * Evaluate bucket `as_of`: a full evaluation when `full`, else a close
 * (file comment).  Returns LW_ERR_STORE only for a failure of the store;
 * an analysis that cannot run turns every edge into nodata.
 */
static lw_err_t evaluate(lw_watch_t *w, int64_t as_of, int64_t now_ms, char *errstr,
                         size_t errstr_size)
{
    const lw_config_t *cfg = w->d.cfg;
    int64_t size = cfg->buckets.size_ms;
    int64_t t0 = mono(w);
    const bool full = lw_watch_full_close(cfg, as_of);
    const lw_session_range_t range = {.as_of_ms = as_of,
                                      .window = cfg->analysis_window,
                                      .kind = LW_SESSION_PERIODS,
                                      .tree_only = true};
    const lw_analysis_t *an = NULL;
    eval_scratch_t *sc = calloc(1, sizeof *sc);
    lw_err_t err = LW_OK;
    if (!sc)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    if (size >= LW_MS_PER_DAY)
        lw_time_format_date(as_of, sc->as_of, sizeof sc->as_of);
    else
        lw_time_format_iso8601(as_of, sc->as_of, sizeof sc->as_of);

    bool advanced = false;
    err = lw_session_advance(&w->ses, cfg, w->d.store, &range, &advanced, errstr, errstr_size);
    if (err != LW_OK) {
        /* the store could not be read: fatal like a failed flush; the next try loads afresh */
        lw_session_destroy(w->ses);
        w->ses = NULL;
        goto out;
    }
    if (advanced)
        w->advanced++;
    else
        w->reloaded++;
    const lw_series_t *ser = lw_session_series(w->ses);
    const bool gap = window_gap(cfg, ser, as_of);
    const lw_analyze_input_t *in = lw_session_input(w->ses);
    /* rows are consecutive buckets; the monitors are fed only when the newest is as_of itself */
    const bool newest =
        in->nrows > 0 && ser->nrows >= in->nrows && ser->bucket_ms[in->nrows - 1] == as_of;
    const char *nsm = cfg->metrics[cfg->tree.nsm].name;
    size_t n = 0, nobs = 0;
    bool transitions = false;

    /* the monitors and the alert table move below: their undo copy first */
    if ((err = snapshot(w, errstr, errstr_size)) != LW_OK)
        goto out;
    if (full) {
        if ((err = full_obs(w, as_of, in, newest, gap, sc, &an, &n, &nobs, errstr, errstr_size)) !=
            LW_OK)
            goto out;
    } else {
        tree_edge_t te;
        for (size_t i = 0; tree_edge(cfg, i, &te); i++) {
            close_obs(w, i, &te, in, newest, gap, as_of, sc);
            nobs = i + 1;
        }
    }
    if (nobs > 0) {
        char terr[256];
        lw_err_t te =
            full ? lw_alert_eval(w->alerts, sc->obs, nobs, now_ms, terr, sizeof terr)
                 : lw_alert_eval_monitors(w->alerts, sc->obs, nobs, now_ms, terr, sizeof terr);
        if (te == LW_OK)
            transitions = true;
        else
            LW_LOG(LW_LOG_ERROR, "watch", "evaluation as of %s: alert table: %s", sc->as_of, terr);
    }

    /* one transaction: verdicts (full evaluations), alert table, monitors, position */
    if ((err = lw_store_begin(w->d.store, errstr, errstr_size)) != LW_OK) {
        restore(w);
        goto out;
    }
    for (size_t i = 0; i < n && err == LW_OK; i++) {
        const lw_edge_result_t *ed = &an->edges[i];
        lw_verdict_row_t row = {.edge = sc->edge[i],
                                .as_of_ms = as_of,
                                .verdict = gap ? "nodata" : lw_verdict_name(ed->verdict),
                                .p = sc->obs[i].evidence.p,
                                .q = sc->obs[i].evidence.q,
                                .lag = (int)ed->lag,
                                .coef = sc->obs[i].evidence.coefficient,
                                .oos = sc->obs[i].evidence.oos_skill};
        err = lw_store_add_verdict(w->d.store, &row, errstr, errstr_size);
    }
    err = commit_state(w, err, as_of, errstr, errstr_size);
    if (err != LW_OK)
        goto out;
    w->last_as_of = w->st.last_as_of_ms = as_of;
    w->st.evaluations++;
    if (full) {
        /* what the closes until the next full evaluation carry */
        tree_edge_t te;
        for (size_t i = 0; tree_edge(cfg, i, &te) && i < nobs; i++)
            memo_set(&w->memo[i], &sc->obs[i]);
    }
    if (transitions)
        deliver(w);
    /* between full evaluations the edge gauges stay the last full one's */
    if (full && an)
        publish_edges(w, an, nsm, gap);
    else if (full && w->d.metrics) /* no analysis: no values, and "no data" as the alerts say */
        for (size_t i = 0; i < w->nedges_known; i++)
            if (w->edge_name[i][0] != '\0')
                set_edge(&w->edge[i], NAN, NAN, 0, NAN, NAN, LW_VERDICT_INSUFFICIENT_DATA);
    double secs = (double)(mono(w) - t0) / 1000.0;
    w->st.last_duration_s = secs;
    if (full)
        w->st.full_evaluations++;
    if (w->d.metrics) {
        lw_promtext_inc(w->g_evals);
        lw_promtext_observe(w->g_dur_kind[full ? 1 : 0], secs);
        lw_promtext_set(w->g_as_of, (double)as_of / 1000.0);
    }
    LW_LOG(LW_LOG_DEBUG, "watch", "%s as of %s: %zu edge(s)%s in %.1f ms (window %s)",
           full ? "evaluated" : "close", sc->as_of, full ? n : nobs,
           gap ? " (no data: gap in the newest buckets)" : "", secs * 1000.0,
           advanced ? "advanced" : "loaded");
out:
    free(sc);
    return err;
}

lw_err_t lw_watch_advance(lw_watch_t *w, int64_t watermark_ms, int64_t now_ms, size_t *nevals,
                          char *errstr, size_t errstr_size)
{
    return lw_watch_advance_max(w, watermark_ms, now_ms, SIZE_MAX, nevals, NULL, errstr,
                                errstr_size);
}

lw_err_t lw_watch_advance_max(lw_watch_t *w, int64_t watermark_ms, int64_t now_ms, size_t max_evals,
                              size_t *nevals, uint64_t *left, char *errstr, size_t errstr_size)
{
    const lw_config_t *cfg = w->d.cfg;
    size_t done = 0;
    if (nevals)
        *nevals = 0;
    if (left)
        *left = 0;
    if (watermark_ms == INT64_MIN)
        return LW_OK;
    assert(watermark_ms >= w->last_watermark);
    w->last_watermark = watermark_ms;
    int64_t size = cfg->buckets.size_ms, grace = cfg->buckets.grace_ms;
    /* newest closed bucket: bucket + size + grace < watermark */
    if (watermark_ms <= INT64_MIN + 2 * size + grace) /* nothing closed; no overflow below */
        return LW_OK;
    int64_t newest = lw_bucket_start(watermark_ms - size - grace - 1, size);
    int64_t first;
    if (w->last_as_of == INT64_MIN) {
        /* first run on this store: from its oldest bucket */
        int64_t lo, hi;
        lw_err_t e = lw_store_bucket_range(w->d.store, &lo, &hi, errstr, errstr_size);
        if (e == LW_ERR_NOT_FOUND)
            return LW_OK;
        if (e != LW_OK)
            return e;
        first = lo;
    } else {
        first = w->last_as_of + size;
    }
    /* counted once, also when a bounded call leaves some for the next */
    int64_t count_from = first;
    if (w->counted_upto != INT64_MIN && w->counted_upto + size > count_from)
        count_from = w->counted_upto + size;
    if (count_from <= newest) {
        if (w->g_closed)
            lw_promtext_add(w->g_closed, (double)((newest - count_from) / size + 1));
        w->counted_upto = newest;
    }
    if (!cfg->alerts.evaluate) {
        /* not evaluating: only keep count (in memory; nothing is stored) */
        if (first <= newest)
            w->last_as_of = newest;
        return LW_OK;
    }
    if (first > newest)
        return LW_OK;
    /* every closed bucket, oldest first, however many: a catch-up gives the alerts of a live
     * run (no bound: a caller that needs one passes max_evals, as the evaluator thread does) */
    int64_t b = first;
    for (; b <= newest && done < max_evals; b += size) {
        int64_t t = w->d.wall_ms ? w->d.wall_ms(w->d.clock_ctx) : now_ms;
        int64_t before = w->last_as_of;
        lw_err_t err = evaluate(w, b, t, errstr, errstr_size);
        if (err != LW_OK) {
            if (left)
                *left = (uint64_t)((newest - b) / size) + 1;
            return err;
        }
        /* evaluated buckets move forward and are closed ones */
        assert(w->last_as_of >= before || before == INT64_MIN);
        assert(w->last_as_of <= newest);
        done++;
        if (nevals)
            *nevals = done;
    }
    if (left && b <= newest)
        *left = (uint64_t)((newest - b) / size) + 1;
    return LW_OK;
}

/*
 * After an alert-table call outside an evaluation (stall, loss): persist the
 * table when the call produced events, then deliver them.  On a store
 * failure the table goes back (snapshot() was taken before the call).
 */
static lw_err_t persist_events(lw_watch_t *w, char *errstr, size_t errstr_size)
{
    size_t n;
    lw_alert_events(w->alerts, &n);
    if (n == 0)
        return LW_OK;
    lw_err_t err = lw_store_begin(w->d.store, errstr, errstr_size);
    err = commit_state(w, err, INT64_MIN, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    deliver(w);
    return LW_OK;
}

static loss_seen_t *seen_slot(lw_watch_t *w, const char *topic, int32_t partition)
{
    return lw_partslot(w->seen, sizeof w->seen[0], &w->nseen, LW_WATCH_MAX_LOSS, topic, partition,
                       NULL);
}

static bool loss_entries(const lw_watch_t *w)
{
    lw_alert_info_t in;
    for (size_t i = 0; lw_alert_entry(w->alerts, i, &in); i++)
        if (in.cond == LW_ALERT_COND_EVENTS_LOST)
            return true;
    return false;
}

lw_err_t lw_watch_losses(lw_watch_t *w, const lw_alert_loss_t *l, size_t n, int64_t now_ms,
                         char *errstr, size_t errstr_size)
{
    const lw_config_t *cfg = w->d.cfg;
    const char *nsm = cfg->metrics[cfg->tree.nsm].name;
    lw_alert_loss_t rows[LW_WATCH_MAX_LOSS];
    size_t nrows = 0;
    char terr[256];
    /* the new loss per partition: the cumulative count against the one already alerted */
    for (size_t i = 0; i < n && nrows < LW_WATCH_MAX_LOSS; i++) {
        if (!l[i].topic || l[i].lost_total <= 0)
            continue;
        loss_seen_t *s = seen_slot(w, l[i].topic, l[i].partition);
        if (!s || l[i].lost_total <= s->lost)
            continue;
        rows[nrows] = l[i];
        rows[nrows].lost_new = l[i].lost_total - s->lost;
        nrows++;
    }
    if (nrows == 0 && !loss_entries(w))
        return LW_OK; /* nothing new, nothing to resolve: no snapshot every second */
    lw_err_t err = snapshot(w, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    if (lw_alert_loss(w->alerts, nsm, rows, nrows, now_ms, terr, sizeof terr) != LW_OK)
        LW_LOG(LW_LOG_ERROR, "watch", "events-lost alert: %s", terr);
    err = persist_events(w, errstr, errstr_size);
    if (err != LW_OK)
        return err; /* the seen counts stay: the retry alerts the same loss */
    for (size_t i = 0; i < nrows; i++) {
        loss_seen_t *s = seen_slot(w, rows[i].topic, rows[i].partition);
        if (s)
            s->lost = rows[i].lost_total;
    }
    return LW_OK;
}

lw_err_t lw_watch_pipeline(lw_watch_t *w, bool stalled, const char *reason, int64_t now_ms,
                           char *errstr, size_t errstr_size)
{
    const lw_config_t *cfg = w->d.cfg;
    const char *nsm = cfg->metrics[cfg->tree.nsm].name;
    char terr[256];
    if (stalled != w->st.stalled)
        LW_LOG(stalled ? LW_LOG_WARN : LW_LOG_INFO, "watch", "pipeline %s%s%s",
               stalled ? "stalled" : "flowing again", reason ? ": " : "", reason ? reason : "");
    bool was_stalled = w->st.stalled;
    w->st.stalled = stalled;
    lw_err_t err = snapshot(w, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    if (lw_alert_pipeline(w->alerts, nsm, stalled, reason, now_ms, terr, sizeof terr) != LW_OK) {
        LW_LOG(LW_LOG_ERROR, "watch", "pipeline alert: %s", terr);
        return LW_OK;
    }
    err = persist_events(w, errstr, errstr_size);
    if (err != LW_OK)
        w->st.stalled = was_stalled;
    return err;
}

lw_err_t lw_watch_reload(lw_watch_t *w, const lw_config_t *cfg, lw_alertsink_t *sink, char *errstr,
                         size_t errstr_size)
{
    lw_err_t err = lw_alert_table_set_opts(w->alerts, &cfg->alerts.opts, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    w->d.cfg = cfg;
    w->d.sink = sink;
    /* the metrics may be defined anew: the next evaluation loads its window afresh */
    lw_session_destroy(w->ses);
    w->ses = NULL;
    return LW_OK;
}

void lw_watch_reannounce(lw_watch_t *w, int64_t now_ms)
{
    lw_alert_refresh(w->alerts, now_ms);
    deliver(w);
}

void lw_watch_stats(const lw_watch_t *w, lw_watch_stats_t *out)
{
    *out = w->st;
}

const lw_alert_table_t *lw_watch_alerts(const lw_watch_t *w)
{
    return w->alerts;
}
