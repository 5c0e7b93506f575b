/*
 * alert.c - per-(edge, condition) alert state machine (see alert.h).
 *
 * Data layout.  A table is a fixed array of opts.max_entries entries, each
 * keyed by (source, target, condition); the pipeline-stall alert is one more
 * entry with an empty source and target.  Lookups are linear: a tree has at
 * most LW_ANALYZE_MAX_EDGES edges and four conditions, so a scan of ~70
 * entries per edge once per closed bucket costs nothing and needs no hash
 * table.  Events go to an array of max_entries + 1 owned by the table, which
 * is enough because one call emits at most one event per entry.
 *
 * One evaluation of one entry, in three steps:
 *   1. Outcome.  The verdict is mapped to FAIL (the condition holds), PASS,
 *      or NODATA:
 *        nodata flag / pipeline stalled / insufficient_data -> NODATA
 *        no_longer_leads, kpi_link_lost, while the edge's monitor runs
 *                 (obs.monitor != NONE), before all of the above: stalled or
 *                 a gap -> NODATA (other nodata reasons and the verdict do
 *                 not matter), WATCHING -> PASS (armed), ALARM -> FAIL, and
 *                 that failure fires at once (for_evals 0);
 *        no_longer_leads, kpi_link_lost otherwise: leads, feedback -> PASS (healthy);
 *                 inconclusive but `predicts` -> PASS; reverse, other
 *                 inconclusive -> FAIL if armed else PASS
 *        reverse: leads, feedback -> PASS (healthy); reverse -> FAIL if
 *                 armed else PASS; inconclusive -> PASS
 *        not_sensitive: not leading -> PASS; leading, MDE unknown -> NODATA;
 *                 sensitive -> PASS (healthy); not sensitive -> FAIL if armed
 *      "Armed" = this edge was healthy for `arm_after` consecutive
 *      evaluations once (or the caller says led_before): an edge "used to
 *      lead" only when it led for a sustained stretch (default 28, four
 *      weeks of daily buckets), so an input that "leads" by chance for a
 *      few days - a distractor on a noisy stretch, seen by many overlapping
 *      windows - never arms.  Measured on the simulator (README, "Alerts"):
 *      arming after `for` + 1 leads gave 1-6 false alerts per 300-day run,
 *      arming after 21-28 none from the distractor.
 *      Feedback counts as leading: the input still Granger-causes the target.
 *      `predicts` (the primary Granger test is still significant after BH,
 *      but the verdict's stability or out-of-sample checks did not all pass)
 *      counts as still predicting: those checks make the nightly report's
 *      "leads" conservative, and on the simulator's true leads they fail on
 *      10-50% of 90-bucket windows, which would page on inputs that keep
 *      leading (measured with scripts/detect_delay.sh).  The healthy streak
 *      counts healthy evaluations not interrupted by an unhealthy one; a
 *      nodata evaluation (and, for reverse, an inconclusive one) neither
 *      extends nor resets it.
 *   2. Transition (Prometheus rules/alerting.go semantics, with evaluations
 *      instead of durations):
 *        FAIL:   streak_fail++; not firing: pending until streak_fail > for,
 *                then FIRING (fired_at = now).  Firing: stays, pass streak 0.
 *        PASS:   streak_fail = 0; firing: streak_pass++, RESOLVED once
 *                streak_pass > keep_firing_for; pending/nodata -> INACTIVE.
 *        NODATA: both streaks 0; firing stays firing; others -> NODATA.
 *      Breaking the streaks on NODATA is the conservative choice both ways:
 *      a stall can neither complete a pending alert nor resolve a firing one.
 *   3. Event, when the state changed, with labels built from the entry and
 *      annotations from the latest evidence (kept in the entry, so a
 *      resolved or refreshed alert carries the last numbers seen).
 *
 * Retirement: entries not touched by an evaluation (edge removed from the
 * config, condition switched off) are deleted; a firing one resolves first.
 * The stall entry is retired only by lw_alert_pipeline, the loss entries
 * only by lw_alert_loss.
 *
 * Loss entries (events_lost): source = the topic, target = the partition
 * number as text; they never go pending or nodata, so their `active_at`
 * holds the time of the partition's newest loss (the clock of the
 * alerts.events_lost_for rule, saved with the entry like any time).
 *
 * Serialisation: one text line per entry, tab-separated fields, strings
 * percent-encoded (bytes < 0x21, '%', 0x7f), conditions and states by name
 * so a reordering of the enums cannot misread an old blob:
 *   leadwatch-alerts 2 <stalled 0|1>
 *   <cond> <state> <fail> <pass> <healthy> <armed> <active_at> <fired_at> <resolved_at>
 *     <is_kpi> <nsm> <source> <target> <kind> <n> (<key> <value>){n}
 * Text rather than binary so an operator can read it with sqlite3 and
 * because the table is a few KB.
 */
#include "leadwatch/alert/alert.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STALL_KEY "" /* source and target of the pipeline entry */
#define SAVE_MAGIC "leadwatch-alerts 2"

typedef enum { OUT_PASS, OUT_FAIL, OUT_NODATA } outcome_t;

typedef struct {
    bool used;
    bool touched; /* seen by the current evaluation */
    lw_alert_cond_t cond;
    lw_alert_state_t state;
    uint32_t streak_fail, streak_pass;
    uint32_t streak_healthy; /* consecutive healthy evaluations (arming) */
    bool armed;
    bool is_kpi;
    int64_t active_at, fired_at, resolved_at;
    char nsm[LW_ALERT_NAME_SIZE], source[LW_ALERT_NAME_SIZE], target[LW_ALERT_NAME_SIZE];
    char kind[LW_ALERT_NAME_SIZE];
    size_t nann;
    lw_alert_kv_t ann[LW_ALERT_MAX_ANNOTATIONS];
} entry_t;

struct lw_alert_table {
    lw_alert_opts_t opts;
    entry_t *entries; /* [opts.max_entries]; capacity fixed at new */
    size_t cap;
    bool stalled;
    lw_alert_event_t *events; /* [cap + 1] */
    size_t nevents;
};

static const char *const state_names[LW_ALERT_STATE_COUNT] = {"inactive", "pending", "firing",
                                                              "resolved", "nodata"};
static const char *const verdict_names[] = {"leads", "reverse", "feedback", "inconclusive",
                                            "insufficient_data"};

const char *lw_alert_state_name(lw_alert_state_t s)
{
    return (unsigned)s < LW_ALERT_STATE_COUNT ? state_names[s] : "?";
}

static bool state_parse(const char *s, lw_alert_state_t *out)
{
    for (unsigned i = 0; i < LW_ALERT_STATE_COUNT; i++) {
        if (strcmp(s, state_names[i]) == 0) {
            *out = (lw_alert_state_t)i;
            return true;
        }
    }
    return false;
}

const char *lw_alert_verdict_name(lw_alert_verdict_t v)
{
    return (unsigned)v <= LW_ALERT_V_INSUFFICIENT_DATA ? verdict_names[v] : "?";
}

void lw_alert_table_destroy(lw_alert_table_t *t)
{
    if (!t)
        return;
    LW_FREE_ALL(t->events, t->entries, t);
}

/* The constructor convention (check the options, calloc, copy them), as lw_alertsink_new. */
lw_err_t lw_alert_table_new(const lw_alert_opts_t *opts, lw_alert_table_t **out, char *errstr,
                            size_t errstr_size)
{
    lw_err_t err = lw_alert_opts_check(opts, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    lw_alert_table_t *t = calloc(1, sizeof *t);
    if (t) {
        t->opts = *opts;
        t->cap = opts->max_entries;
        t->entries = calloc(t->cap, sizeof *t->entries);
        /* retired entries free slots that new ones reuse: up to two events per slot */
        t->events = calloc(2 * t->cap + 1, sizeof *t->events);
    }
    if (!t || !t->entries || !t->events) {
        lw_alert_table_destroy(t);
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "alert table: out of memory");
    }
    *out = t;
    return LW_OK;
}

static size_t entries_used(const lw_alert_table_t *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++)
        n += t->entries[i].used;
    return n;
}

lw_err_t lw_alert_table_set_opts(lw_alert_table_t *t, const lw_alert_opts_t *opts, char *errstr,
                                 size_t errstr_size)
{
    lw_err_t err = lw_alert_opts_check(opts, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    /* The arrays keep their construction size; a smaller bound only caps use. */
    if (opts->max_entries > t->cap || opts->max_entries < entries_used(t))
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "alerts.max_entries: %zu cannot change at runtime beyond %zu (in use %zu)",
                         opts->max_entries, t->cap, entries_used(t));
    t->opts = *opts;
    return LW_OK;
}

/* Copy a string, truncating to the destination (NULL copies as ""). */
static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size - 1) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

static entry_t *find_entry(lw_alert_table_t *t, const char *source, const char *target,
                           lw_alert_cond_t cond)
{
    for (size_t i = 0; i < t->cap; i++) {
        entry_t *e = &t->entries[i];
        if (e->used && e->cond == cond && strncmp(e->source, source, sizeof e->source - 1) == 0 &&
            strncmp(e->target, target, sizeof e->target - 1) == 0)
            return e;
    }
    return NULL;
}

static entry_t *free_entry(lw_alert_table_t *t)
{
    size_t used = 0;
    entry_t *slot = NULL;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->entries[i].used)
            used++;
        else if (!slot)
            slot = &t->entries[i];
    }
    return used < t->opts.max_entries ? slot : NULL;
}

/* ---- annotations and events --------------------------------------------- */

static void kv_set(lw_alert_kv_t *kv, size_t *n, size_t max, const char *key, const char *value)
{
    if (*n >= max || !value || !*value)
        return;
    copy_str(kv[*n].key, sizeof kv[*n].key, key);
    copy_str(kv[*n].value, sizeof kv[*n].value, value);
    (*n)++;
}

static void kv_num(lw_alert_kv_t *kv, size_t *n, size_t max, const char *key, double v)
{
    char s[40];
    if (!isfinite(v))
        return;
    snprintf(s, sizeof s, "%.4g", v);
    kv_set(kv, n, max, key, s);
}

static const char *kv_get(const lw_alert_kv_t *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return kv[i].value;
    return NULL;
}

const char *lw_alert_event_label(const lw_alert_event_t *ev, const char *key)
{
    return kv_get(ev->labels, ev->nlabels, key);
}

const char *lw_alert_event_annotation(const lw_alert_event_t *ev, const char *key)
{
    return kv_get(ev->annotations, ev->nannotations, key);
}

static void default_summary(const entry_t *e, const lw_alert_obs_t *o, char *s, size_t size)
{
    switch (e->cond) {
    case LW_ALERT_COND_NO_LONGER_LEADS:
    case LW_ALERT_COND_KPI_LINK_LOST:
        if (o->monitor != LW_ALERT_MON_NONE) {
            snprintf(s, size, "%s %s %s (sequential monitor; verdict %s)", e->source,
                     o->monitor == LW_ALERT_MON_ALARM ? "stopped leading" : "still leads",
                     e->target, lw_alert_verdict_name(o->verdict));
            break;
        }
        snprintf(s, size, "%s %s %s (verdict %s)", e->source,
                 o->verdict == LW_ALERT_V_LEADS || o->verdict == LW_ALERT_V_FEEDBACK ? "leads"
                 : o->verdict == LW_ALERT_V_INCONCLUSIVE && o->predicts ? "still predicts"
                                                                        : "no longer leads",
                 e->target, lw_alert_verdict_name(o->verdict));
        break;
    case LW_ALERT_COND_REVERSE:
        snprintf(s, size, "%s -> %s: %s (verdict %s)", e->source, e->target,
                 o->verdict == LW_ALERT_V_REVERSE ? "the target now leads the input"
                                                  : "the input leads again or is undecided",
                 lw_alert_verdict_name(o->verdict));
        break;
    case LW_ALERT_COND_NOT_SENSITIVE:
        snprintf(s, size, "%s %s sensitive enough to move %s measurably", e->source,
                 o->sensitivity_known && !o->sensitive ? "is no longer" : "is", e->target);
        break;
    default: s[0] = '\0'; break;
    }
}

/* Record the evidence of an observation as the entry's annotations. */
static void set_annotations(entry_t *e, const lw_alert_obs_t *o)
{
    const lw_alert_evidence_t *ev = &o->evidence;
    char summary[2 * LW_ALERT_VALUE_SIZE]; /* room for two names; kv_set truncates */
    size_t n = 0, max = LW_ALERT_MAX_ANNOTATIONS;

    if (ev->summary && *ev->summary)
        copy_str(summary, sizeof summary, ev->summary);
    else
        default_summary(e, o, summary, sizeof summary);
    kv_set(e->ann, &n, max, "summary", summary);
    kv_set(e->ann, &n, max, "verdict", lw_alert_verdict_name(o->verdict));
    kv_num(e->ann, &n, max, "p", ev->p);
    kv_num(e->ann, &n, max, "q", ev->q);
    if (ev->lag > 0)
        kv_num(e->ann, &n, max, "lag", ev->lag);
    kv_num(e->ann, &n, max, "coefficient", ev->coefficient);
    kv_num(e->ann, &n, max, "oos_skill", ev->oos_skill);
    kv_set(e->ann, &n, max, "break_period", ev->break_period);
    kv_set(e->ann, &n, max, "window_first", ev->window_first);
    kv_set(e->ann, &n, max, "window_last", ev->window_last);
    kv_set(e->ann, &n, max, "as_of", ev->as_of);
    e->nann = n;
}

static void set_label(lw_alert_event_t *ev, const char *key, const char *value)
{
    kv_set(ev->labels, &ev->nlabels, LW_ALERT_MAX_LABELS, key, value);
}

/* FNV-1a 64 over key NUL value NUL of the labels, in their (sorted) order. */
static uint64_t fingerprint(const lw_alert_event_t *ev)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < ev->nlabels; i++) {
        const char *parts[2] = {ev->labels[i].key, ev->labels[i].value};
        for (int k = 0; k < 2; k++) {
            for (const unsigned char *p = (const unsigned char *)parts[k];; p++) {
                h ^= *p;
                h *= UINT64_C(1099511628211);
                if (!*p)
                    break;
            }
        }
    }
    return h;
}

static void emit(lw_alert_table_t *t, const entry_t *e, lw_alert_state_t from, int64_t now,
                 bool refresh, const char *reason)
{
    assert(t->nevents <= 2 * t->cap);
    lw_alert_event_t *ev = &t->events[t->nevents++];
    char edge[LW_ALERT_VALUE_SIZE];

    memset(ev, 0, sizeof *ev);
    ev->cond = e->cond;
    ev->from = from;
    ev->to = e->state;
    ev->refresh = refresh;
    ev->at_ms = now;
    ev->starts_at_ms =
        e->state == LW_ALERT_PENDING || e->state == LW_ALERT_NODATA ? e->active_at : e->fired_at;
    ev->ends_at_ms = e->state == LW_ALERT_RESOLVED ? e->resolved_at : 0;
    /* keys in sorted order: alertname < edge < input < kind < nsm */
    set_label(ev, "alertname", lw_alert_cond_alertname(e->cond));
    if (e->cond == LW_ALERT_COND_EVENTS_LOST) {
        /* alertname < nsm < partition < topic */
        set_label(ev, "nsm", e->nsm);
        set_label(ev, "partition", e->target);
        set_label(ev, "topic", e->source);
    } else {
        if (e->cond != LW_ALERT_COND_PIPELINE_STALLED) {
            snprintf(edge, sizeof edge, "%s->%s", e->source, e->target);
            set_label(ev, "edge", edge);
            set_label(ev, "input", e->source);
            set_label(ev, "kind", e->kind);
        }
        set_label(ev, "nsm", e->nsm);
    }
    ev->fingerprint = fingerprint(ev);
    memcpy(ev->annotations, e->ann, e->nann * sizeof e->ann[0]);
    ev->nannotations = e->nann;
    if (reason)
        kv_set(ev->annotations, &ev->nannotations, LW_ALERT_MAX_ANNOTATIONS, "reason", reason);
}

/* Step 2 of the file comment; returns true when the state changed. */
static bool step(entry_t *e, outcome_t out, unsigned for_evals, unsigned keep_firing_for,
                 int64_t now)
{
    lw_alert_state_t before = e->state;

    switch (out) {
    case OUT_NODATA:
        e->streak_fail = 0;
        e->streak_pass = 0;
        if (e->state != LW_ALERT_FIRING && e->state != LW_ALERT_NODATA) {
            e->state = LW_ALERT_NODATA;
            e->active_at = now;
        }
        break;
    case OUT_FAIL:
        e->streak_pass = 0;
        if (e->streak_fail < UINT32_MAX)
            e->streak_fail++;
        if (e->state == LW_ALERT_FIRING)
            break;
        if (e->streak_fail == 1)
            e->active_at = now;
        if (e->streak_fail > for_evals) {
            e->state = LW_ALERT_FIRING;
            e->fired_at = now;
            e->resolved_at = 0;
        } else {
            e->state = LW_ALERT_PENDING;
        }
        break;
    case OUT_PASS:
        e->streak_fail = 0;
        if (e->state == LW_ALERT_FIRING) {
            if (e->streak_pass < UINT32_MAX)
                e->streak_pass++;
            if (e->streak_pass > keep_firing_for) {
                e->state = LW_ALERT_RESOLVED;
                e->resolved_at = now;
                e->streak_pass = 0;
            }
        } else if (e->state == LW_ALERT_PENDING || e->state == LW_ALERT_NODATA) {
            e->state = LW_ALERT_INACTIVE;
        }
        break;
    }
    return e->state != before;
}

static bool leading(lw_alert_verdict_t v)
{
    return v == LW_ALERT_V_LEADS || v == LW_ALERT_V_FEEDBACK;
}

/* One healthy evaluation: arms the entry once the streak is longer than `for`. */
static outcome_t healthy(entry_t *e, unsigned arm_after)
{
    if (e->streak_healthy < UINT32_MAX)
        e->streak_healthy++;
    if (e->streak_healthy >= arm_after)
        e->armed = true;
    return OUT_PASS;
}

/* Step 1 of the file comment. */
static outcome_t outcome(entry_t *e, const lw_alert_obs_t *o, bool stalled, unsigned arm_after)
{
    const bool by_monitor =
        o->monitor != LW_ALERT_MON_NONE &&
        (e->cond == LW_ALERT_COND_NO_LONGER_LEADS || e->cond == LW_ALERT_COND_KPI_LINK_LOST);
    if (by_monitor) {
        /* the monitor needs the rows, not the verdict's checks; it only runs on a
         * lead that held for arm_after evaluations */
        if (stalled || o->gap)
            return OUT_NODATA;
        e->armed = true;
        if (o->monitor == LW_ALERT_MON_WATCHING)
            return OUT_PASS;
        e->streak_healthy = 0;
        return OUT_FAIL;
    }
    if (stalled || o->nodata || o->verdict == LW_ALERT_V_INSUFFICIENT_DATA)
        return OUT_NODATA;
    bool armed = e->armed || o->led_before;
    switch (e->cond) {
    case LW_ALERT_COND_NO_LONGER_LEADS:
    case LW_ALERT_COND_KPI_LINK_LOST:
        if (leading(o->verdict))
            return healthy(e, arm_after);
        if (o->verdict == LW_ALERT_V_INCONCLUSIVE && o->predicts)
            return OUT_PASS; /* still predicts: neither healthy nor failing */
        e->streak_healthy = 0;
        return armed ? OUT_FAIL : OUT_PASS;
    case LW_ALERT_COND_REVERSE:
        if (leading(o->verdict))
            return healthy(e, arm_after);
        if (o->verdict != LW_ALERT_V_REVERSE)
            return OUT_PASS;
        e->streak_healthy = 0;
        return armed ? OUT_FAIL : OUT_PASS;
    case LW_ALERT_COND_NOT_SENSITIVE:
        if (!leading(o->verdict))
            return OUT_PASS;
        if (!o->sensitivity_known)
            return OUT_NODATA;
        if (o->sensitive)
            return healthy(e, arm_after);
        e->streak_healthy = 0;
        return e->armed ? OUT_FAIL : OUT_PASS;
    default: assert(0); return OUT_NODATA;
    }
}

/* The conditions that apply to an edge and are switched on. */
static unsigned edge_conds(const lw_alert_obs_t *o, unsigned on_mask)
{
    unsigned m = LW_ALERT_COND_BIT(LW_ALERT_COND_REVERSE);
    if (o->is_kpi)
        m |= LW_ALERT_COND_BIT(LW_ALERT_COND_KPI_LINK_LOST);
    else
        m |= LW_ALERT_COND_BIT(LW_ALERT_COND_NO_LONGER_LEADS) |
             LW_ALERT_COND_BIT(LW_ALERT_COND_NOT_SENSITIVE);
    return m & on_mask;
}

static lw_err_t check_obs(const lw_alert_table_t *t, const lw_alert_obs_t *obs, size_t n,
                          char *errstr, size_t errstr_size)
{
    size_t need = 0, have_new = 0;
    for (size_t i = 0; i < n; i++) {
        const lw_alert_obs_t *o = &obs[i];
        if (!o->nsm || !o->source || !o->target || !o->kind || !*o->source || !*o->target)
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "alert: edge %zu has no name", i);
        if ((unsigned)o->verdict > LW_ALERT_V_INSUFFICIENT_DATA)
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "alert: edge %s->%s: bad verdict",
                             o->source, o->target);
        for (size_t j = 0; j < i; j++)
            if (strcmp(obs[j].source, o->source) == 0 && strcmp(obs[j].target, o->target) == 0)
                return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                 "alert: edge %s->%s appears twice", o->source, o->target);
        unsigned m = edge_conds(o, t->opts.on_mask);
        for (unsigned c = 0; c < LW_ALERT_COND_COUNT; c++)
            if (m & LW_ALERT_COND_BIT(c))
                need++;
    }
    /* the stall and loss entries survive evaluations */
    for (size_t i = 0; i < t->cap; i++)
        if (t->entries[i].used && (t->entries[i].cond == LW_ALERT_COND_PIPELINE_STALLED ||
                                   t->entries[i].cond == LW_ALERT_COND_EVENTS_LOST))
            have_new++;
    if (need + have_new > t->opts.max_entries)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                         "alert: %zu edge conditions exceed alerts.max_entries %zu", need,
                         t->opts.max_entries);
    return LW_OK;
}

lw_err_t lw_alert_eval(lw_alert_table_t *t, const lw_alert_obs_t *obs, size_t n, int64_t now_ms,
                       char *errstr, size_t errstr_size)
{
    lw_err_t err = check_obs(t, obs, n, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    t->nevents = 0;
    for (size_t i = 0; i < t->cap; i++)
        t->entries[i].touched = false;

    /* Retire first so the slots of removed edges are free for new ones. */
    for (size_t i = 0; i < t->cap; i++) {
        entry_t *e = &t->entries[i];
        if (!e->used || e->cond == LW_ALERT_COND_PIPELINE_STALLED ||
            e->cond == LW_ALERT_COND_EVENTS_LOST)
            continue;
        bool keep = false;
        for (size_t k = 0; k < n && !keep; k++)
            keep = (edge_conds(&obs[k], t->opts.on_mask) & LW_ALERT_COND_BIT(e->cond)) &&
                   strncmp(obs[k].source, e->source, sizeof e->source - 1) == 0 &&
                   strncmp(obs[k].target, e->target, sizeof e->target - 1) == 0;
        if (keep)
            continue;
        if (e->state == LW_ALERT_FIRING) {
            lw_alert_state_t from = e->state;
            e->state = LW_ALERT_RESOLVED;
            e->resolved_at = now_ms;
            emit(t, e, from, now_ms, false, "the edge or condition is no longer configured");
        }
        e->used = false;
    }

    for (size_t k = 0; k < n; k++) {
        const lw_alert_obs_t *o = &obs[k];
        unsigned m = edge_conds(o, t->opts.on_mask);
        for (unsigned c = 0; c < LW_ALERT_COND_COUNT; c++) {
            if (!(m & LW_ALERT_COND_BIT(c)))
                continue;
            entry_t *e = find_entry(t, o->source, o->target, (lw_alert_cond_t)c);
            if (!e) {
                e = free_entry(t);
                assert(e); /* check_obs counted */
                memset(e, 0, sizeof *e);
                e->used = true;
                e->cond = (lw_alert_cond_t)c;
                copy_str(e->source, sizeof e->source, o->source);
                copy_str(e->target, sizeof e->target, o->target);
            }
            /* names other than the key may change with the config */
            copy_str(e->nsm, sizeof e->nsm, o->nsm);
            copy_str(e->kind, sizeof e->kind, o->kind);
            e->is_kpi = o->is_kpi;
            e->touched = true;
            outcome_t out = outcome(e, o, t->stalled, t->opts.arm_after);
            /* nodata keeps the evidence that led to the current state */
            if (out != OUT_NODATA || e->nann == 0)
                set_annotations(e, o);
            lw_alert_state_t from = e->state;
            const bool by_monitor =
                o->monitor == LW_ALERT_MON_ALARM &&
                (c == LW_ALERT_COND_NO_LONGER_LEADS || c == LW_ALERT_COND_KPI_LINK_LOST);
            if (step(e, out, by_monitor ? 0 : t->opts.for_evals, t->opts.keep_firing_for, now_ms))
                emit(t, e, from, now_ms, false, NULL);
        }
    }
    return LW_OK;
}

lw_err_t lw_alert_eval_monitors(lw_alert_table_t *t, const lw_alert_obs_t *obs, size_t n,
                                int64_t now_ms, char *errstr, size_t errstr_size)
{
    lw_err_t err = check_obs(t, obs, n, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    t->nevents = 0;
    for (size_t k = 0; k < n; k++) {
        const lw_alert_obs_t *o = &obs[k];
        if (o->monitor == LW_ALERT_MON_NONE)
            continue;
        unsigned m = edge_conds(o, t->opts.on_mask);
        for (unsigned c = 0; c < LW_ALERT_COND_COUNT; c++) {
            if (!(m & LW_ALERT_COND_BIT(c)) ||
                (c != LW_ALERT_COND_NO_LONGER_LEADS && c != LW_ALERT_COND_KPI_LINK_LOST))
                continue;
            entry_t *e = find_entry(t, o->source, o->target, (lw_alert_cond_t)c);
            if (!e)
                continue; /* entries are made by full evaluations */
            outcome_t out = outcome(e, o, t->stalled, t->opts.arm_after);
            if (out != OUT_NODATA || e->nann == 0)
                set_annotations(e, o);
            lw_alert_state_t from = e->state;
            const bool alarm = o->monitor == LW_ALERT_MON_ALARM;
            if (step(e, out, alarm ? 0 : t->opts.for_evals, t->opts.keep_firing_for, now_ms))
                emit(t, e, from, now_ms, false, NULL);
        }
    }
    return LW_OK;
}

lw_err_t lw_alert_pipeline(lw_alert_table_t *t, const char *nsm, bool stalled, const char *reason,
                           int64_t now_ms, char *errstr, size_t errstr_size)
{
    t->nevents = 0;
    t->stalled = stalled; /* edges go nodata even if the alert itself finds no slot */
    entry_t *e = find_entry(t, STALL_KEY, STALL_KEY, LW_ALERT_COND_PIPELINE_STALLED);
    if (!e) {
        if (!stalled)
            return LW_OK; /* nothing to resolve, no entry needed */
        e = free_entry(t);
        if (!e)
            return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                             "alert: no entry left for the stall alert (alerts.max_entries %zu)",
                             t->opts.max_entries);
        memset(e, 0, sizeof *e);
        e->used = true;
        e->cond = LW_ALERT_COND_PIPELINE_STALLED;
    }
    copy_str(e->nsm, sizeof e->nsm, nsm);
    if (stalled || e->state == LW_ALERT_FIRING) {
        size_t na = 0;
        char summary[LW_ALERT_VALUE_SIZE];
        snprintf(summary, sizeof summary, "the leadwatch pipeline %s%s%s",
                 stalled ? "is stalled" : "is moving again", reason && *reason ? ": " : "",
                 reason && *reason ? reason : "");
        kv_set(e->ann, &na, LW_ALERT_MAX_ANNOTATIONS, "summary", summary);
        kv_set(e->ann, &na, LW_ALERT_MAX_ANNOTATIONS, "reason", reason);
        e->nann = na;
    }
    lw_alert_state_t from = e->state;
    if (step(e, stalled ? OUT_FAIL : OUT_PASS, t->opts.stall_for, t->opts.stall_keep_firing_for,
             now_ms))
        emit(t, e, from, now_ms, false, NULL);
    if (e->state == LW_ALERT_INACTIVE || e->state == LW_ALERT_RESOLVED)
        e->used = false; /* the stall entry lives only while it matters */
    return LW_OK;
}

/* The annotations of a loss entry from its newest report. */
static void loss_annotations(entry_t *e, const lw_alert_loss_t *l)
{
    char summary[2 * LW_ALERT_VALUE_SIZE], range[64], num[32]; /* kv_set truncates */
    size_t na = 0;
    if (l->first >= 0 && l->last >= l->first)
        snprintf(range, sizeof range, "%lld..%lld", (long long)l->first, (long long)l->last);
    else
        range[0] = '\0';
    snprintf(summary, sizeof summary,
             "%lld events lost on %s/%s%s%s%s: the log no longer held them at the consumer's "
             "position (retention or truncation passed it); %lld since the daemon started",
             (long long)l->lost_new, e->source, e->target,
             *range ? " (the newest skipped: offsets " : "", range, *range ? ")" : "",
             (long long)l->lost_total);
    kv_set(e->ann, &na, LW_ALERT_MAX_ANNOTATIONS, "summary", summary);
    snprintf(num, sizeof num, "%lld", (long long)l->lost_total);
    kv_set(e->ann, &na, LW_ALERT_MAX_ANNOTATIONS, "lost_since_start", num);
    kv_set(e->ann, &na, LW_ALERT_MAX_ANNOTATIONS, "offsets_skipped", range);
    e->nann = na;
}

lw_err_t lw_alert_loss(lw_alert_table_t *t, const char *nsm, const lw_alert_loss_t *l, size_t n,
                       int64_t now_ms, char *errstr, size_t errstr_size)
{
    lw_err_t err = LW_OK;
    t->nevents = 0;
    for (size_t i = 0; i < t->cap; i++)
        t->entries[i].touched = false;
    for (size_t k = 0; k < n; k++) {
        char part[16];
        if (l[k].lost_new <= 0 || !l[k].topic || !*l[k].topic)
            continue;
        snprintf(part, sizeof part, "%d", (int)l[k].partition);
        entry_t *e = find_entry(t, l[k].topic, part, LW_ALERT_COND_EVENTS_LOST);
        if (!e) {
            e = free_entry(t);
            if (!e) {
                err = lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                                "alert: no entry left for the loss on %s/%s "
                                "(alerts.max_alerts %zu)",
                                l[k].topic, part, t->opts.max_entries);
                continue;
            }
            memset(e, 0, sizeof *e);
            e->used = true;
            e->cond = LW_ALERT_COND_EVENTS_LOST;
            copy_str(e->source, sizeof e->source, l[k].topic);
            copy_str(e->target, sizeof e->target, part);
        }
        copy_str(e->nsm, sizeof e->nsm, nsm);
        loss_annotations(e, &l[k]);
        e->touched = true;
        lw_alert_state_t from = e->state;
        if (step(e, OUT_FAIL, 0, 0, now_ms))
            emit(t, e, from, now_ms, false, NULL);
        else /* firing already: the new numbers to the receivers that take refreshes */
            emit(t, e, from, now_ms, true, NULL);
        e->active_at = now_ms; /* a loss entry's active_at: its newest loss (file comment) */
    }
    /* no new loss for lost_for: resolve, and free the entry as the stall's */
    for (size_t i = 0; i < t->cap; i++) {
        entry_t *e = &t->entries[i];
        if (!e->used || e->touched || e->cond != LW_ALERT_COND_EVENTS_LOST)
            continue;
        if (e->state == LW_ALERT_FIRING && now_ms - e->active_at < t->opts.lost_for_ms)
            continue;
        lw_alert_state_t from = e->state;
        if (step(e, OUT_PASS, 0, 0, now_ms))
            emit(t, e, from, now_ms, false,
                 "no new loss on this partition for alerts.events_lost_for");
        e->used = false;
    }
    return err;
}

void lw_alert_refresh(lw_alert_table_t *t, int64_t now_ms)
{
    t->nevents = 0;
    for (size_t i = 0; i < t->cap; i++) {
        const entry_t *e = &t->entries[i];
        if (e->used && e->state == LW_ALERT_FIRING)
            emit(t, e, LW_ALERT_FIRING, now_ms, true, NULL);
    }
}

const lw_alert_event_t *lw_alert_events(const lw_alert_table_t *t, size_t *n)
{
    *n = t->nevents;
    return t->events;
}

lw_alert_state_t lw_alert_state(const lw_alert_table_t *t, const char *source, const char *target,
                                lw_alert_cond_t cond)
{
    const entry_t *e = find_entry((lw_alert_table_t *)t, source, target, cond);
    return e ? e->state : LW_ALERT_INACTIVE;
}

size_t lw_alert_count(const lw_alert_table_t *t)
{
    return entries_used(t);
}

bool lw_alert_entry(const lw_alert_table_t *t, size_t i, lw_alert_info_t *out)
{
    for (size_t k = 0; k < t->cap; k++) {
        const entry_t *e = &t->entries[k];
        if (!e->used)
            continue;
        if (i-- == 0) {
            out->nsm = e->nsm;
            out->source = e->source;
            out->target = e->target;
            out->kind = e->kind;
            out->cond = e->cond;
            out->state = e->state;
            return true;
        }
    }
    return false;
}

static bool entries_check(const entry_t *es, size_t cap, size_t max)
{
    size_t used = 0;
    for (size_t i = 0; i < cap; i++) {
        const entry_t *e = &es[i];
        if (!e->used)
            continue;
        if ((unsigned)e->state >= LW_ALERT_STATE_COUNT || (unsigned)e->cond >= LW_ALERT_COND_COUNT)
            return false;
        if (e->streak_fail > 0 && e->streak_pass > 0)
            return false;
        if (e->state == LW_ALERT_PENDING && e->streak_fail == 0)
            return false;
        if (e->state == LW_ALERT_NODATA && (e->streak_fail != 0 || e->streak_pass != 0))
            return false;
        if (e->state != LW_ALERT_FIRING && e->streak_pass != 0)
            return false;
        if (e->nann > LW_ALERT_MAX_ANNOTATIONS)
            return false;
        used++;
        for (size_t j = i + 1; j < cap; j++) {
            const entry_t *f = &es[j];
            if (f->used && f->cond == e->cond && strcmp(f->source, e->source) == 0 &&
                strcmp(f->target, e->target) == 0)
                return false;
        }
    }
    return used <= max;
}

bool lw_alert_check(const lw_alert_table_t *t)
{
    return entries_check(t->entries, t->cap, t->opts.max_entries);
}

/* ---- serialisation ------------------------------------------------------- */

static void put_escaped(lw_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= 0x20 || *p == '%' || *p == 0x7f) {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            lw_buf_append(b, enc, 3);
        } else {
            lw_buf_putc(b, (char)*p);
        }
    }
}

lw_err_t lw_alert_save(const lw_alert_table_t *t, lw_buf_t *out)
{
    lw_buf_printf(out, "%s %d\n", SAVE_MAGIC, t->stalled ? 1 : 0);
    for (size_t i = 0; i < t->cap; i++) {
        const entry_t *e = &t->entries[i];
        if (!e->used)
            continue;
        lw_buf_printf(out,
                      "%s\t%s\t%" PRIu32 "\t%" PRIu32 "\t%" PRIu32 "\t%d\t%" PRId64 "\t%" PRId64
                      "\t%" PRId64 "\t%d\t",
                      lw_alert_cond_name(e->cond), state_names[e->state], e->streak_fail,
                      e->streak_pass, e->streak_healthy, e->armed ? 1 : 0, e->active_at,
                      e->fired_at, e->resolved_at, e->is_kpi ? 1 : 0);
        const char *strs[4] = {e->nsm, e->source, e->target, e->kind};
        for (int k = 0; k < 4; k++) {
            lw_buf_putc(out, '%'); /* a leading "%" keeps empty strings a non-empty field */
            put_escaped(out, strs[k]);
            lw_buf_putc(out, '\t');
        }
        lw_buf_printf(out, "%zu", e->nann);
        for (size_t k = 0; k < e->nann; k++) {
            lw_buf_puts(out, "\t%");
            put_escaped(out, e->ann[k].key);
            lw_buf_puts(out, "\t%");
            put_escaped(out, e->ann[k].value);
        }
        lw_buf_putc(out, '\n');
    }
    return out->err;
}

typedef struct {
    const char *p, *end; /* remaining input of the current line */
} cursor_t;

/* Next tab-separated field of the line; false at the end of the line. */
static bool next_field(cursor_t *c, lw_slice_t *f)
{
    if (!c->p)
        return false;
    const char *tab = memchr(c->p, '\t', (size_t)(c->end - c->p));
    f->ptr = c->p;
    f->len = (size_t)((tab ? tab : c->end) - c->p);
    c->p = tab ? tab + 1 : NULL;
    return true;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* A "%"-led escaped string into dst (truncation is an error). */
static bool field_str(lw_slice_t f, char *dst, size_t size)
{
    size_t o = 0;
    if (f.len == 0 || f.ptr[0] != '%')
        return false;
    for (size_t i = 1; i < f.len; i++) {
        unsigned char ch = (unsigned char)f.ptr[i];
        if (ch == '%') {
            if (i + 2 >= f.len)
                return false;
            int hi = hexval(f.ptr[i + 1]), lo = hexval(f.ptr[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return false;
            ch = (unsigned char)(hi * 16 + lo);
            i += 2;
        } else if (ch <= 0x20 || ch == 0x7f) {
            return false;
        }
        if (o + 1 >= size)
            return false;
        dst[o++] = (char)ch;
    }
    dst[o] = '\0';
    return true;
}

static bool field_i64(lw_slice_t f, int64_t lo, int64_t hi, int64_t *out)
{
    char tmp[32];
    char *end;
    if (f.len == 0 || f.len >= sizeof tmp)
        return false;
    memcpy(tmp, f.ptr, f.len);
    tmp[f.len] = '\0';
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool field_name(lw_slice_t f, char *dst, size_t size)
{
    if (f.len == 0 || f.len >= size)
        return false;
    memcpy(dst, f.ptr, f.len);
    dst[f.len] = '\0';
    return true;
}

static bool parse_entry(cursor_t *c, entry_t *e)
{
    lw_slice_t f;
    char name[32];
    int64_t v[9];
    static const int64_t lim[9][2] = {{0, UINT32_MAX},
                                      {0, UINT32_MAX},
                                      {0, UINT32_MAX},
                                      {0, 1},
                                      {INT64_MIN, INT64_MAX},
                                      {INT64_MIN, INT64_MAX},
                                      {INT64_MIN, INT64_MAX},
                                      {0, 1},
                                      {0, LW_ALERT_MAX_ANNOTATIONS}};

    memset(e, 0, sizeof *e);
    if (!next_field(c, &f) || !field_name(f, name, sizeof name) ||
        !lw_alert_cond_parse(name, &e->cond))
        return false;
    if (!next_field(c, &f) || !field_name(f, name, sizeof name) || !state_parse(name, &e->state))
        return false;
    for (int k = 0; k < 8; k++)
        if (!next_field(c, &f) || !field_i64(f, lim[k][0], lim[k][1], &v[k]))
            return false;
    e->streak_fail = (uint32_t)v[0];
    e->streak_pass = (uint32_t)v[1];
    e->streak_healthy = (uint32_t)v[2];
    e->armed = v[3] != 0;
    e->active_at = v[4];
    e->fired_at = v[5];
    e->resolved_at = v[6];
    e->is_kpi = v[7] != 0;
    char *strs[4] = {e->nsm, e->source, e->target, e->kind};
    for (int k = 0; k < 4; k++)
        if (!next_field(c, &f) || !field_str(f, strs[k], LW_ALERT_NAME_SIZE))
            return false;
    if (!next_field(c, &f) || !field_i64(f, lim[8][0], lim[8][1], &v[8]))
        return false;
    e->nann = (size_t)v[8];
    for (size_t k = 0; k < e->nann; k++) {
        if (!next_field(c, &f) || !field_str(f, e->ann[k].key, sizeof e->ann[k].key))
            return false;
        if (!next_field(c, &f) || !field_str(f, e->ann[k].value, sizeof e->ann[k].value))
            return false;
    }
    if (next_field(c, &f))
        return false; /* trailing fields */
    bool stall = e->cond == LW_ALERT_COND_PIPELINE_STALLED;
    if (stall != (e->source[0] == '\0') || stall != (e->target[0] == '\0'))
        return false;
    e->used = true;
    return true;
}

lw_err_t lw_alert_load(lw_alert_table_t *t, const char *data, size_t len, char *errstr,
                       size_t errstr_size)
{
    entry_t *fresh = calloc(t->cap, sizeof *fresh);
    size_t n = 0, lineno = 0;
    const char *p = data, *end = data + len;
    int stalled = -1;
    lw_err_t err = LW_OK;

    if (!fresh)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "alert state: out of memory");
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                            "alert state: line %zu has no newline", lineno + 1);
            goto free_fresh;
        }
        lineno++;
        if (lineno == 1) {
            size_t ml = strlen(SAVE_MAGIC);
            if ((size_t)(nl - p) == ml + 2 && memcmp(p, SAVE_MAGIC, ml) == 0 && p[ml] == ' ' &&
                (p[ml + 1] == '0' || p[ml + 1] == '1'))
                stalled = p[ml + 1] == '1';
        } else {
            cursor_t c = {p, nl};
            if (n >= t->opts.max_entries) {
                err = lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                                "alert state: more than alerts.max_entries %zu entries",
                                t->opts.max_entries);
                goto free_fresh;
            }
            if (!parse_entry(&c, &fresh[n])) {
                err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                "alert state: line %zu is malformed", lineno);
                goto free_fresh;
            }
            for (size_t j = 0; j < n; j++)
                if (fresh[j].cond == fresh[n].cond &&
                    strcmp(fresh[j].source, fresh[n].source) == 0 &&
                    strcmp(fresh[j].target, fresh[n].target) == 0) {
                    err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                    "alert state: line %zu repeats an entry", lineno);
                    goto free_fresh;
                }
            n++;
        }
        p = nl + 1;
    }
    if (stalled < 0) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                        "alert state: missing or unknown header (want \"%s\")", SAVE_MAGIC);
        goto free_fresh;
    }
    if (!entries_check(fresh, t->cap, t->opts.max_entries)) {
        /* streaks inconsistent with states: refuse rather than guess */
        err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                        "alert state: streaks inconsistent with states");
        goto free_fresh;
    }
    memcpy(t->entries, fresh, t->cap * sizeof *fresh);
    t->stalled = stalled != 0;
    t->nevents = 0;

free_fresh:
    free(fresh);
    return err;
}
