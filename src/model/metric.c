/*
 * metric.c - metric matching and event-time bucket aggregation (see metric.h
 * for the contract and the per-event steps).
 *
 * Compiled form.  lw_agg_new turns each non-ratio metric into a cmetric_t:
 *   - its `where.event` list becomes a bitmask over a small table of the
 *     event names any metric mentions (at most 64), so one event costs one
 *     name lookup however many metrics there are;
 *   - every other `where` path and the sum/mean/distinct field become
 *     decoder slots, so matching reads a value the decoder already found.
 *
 * Per event name (and for names no where.event lists) a plan lists the
 * compiled metrics whose event condition the name passes, so an event walks
 * only those and tests only their other conditions.
 *
 * Slots.  Deltas live in a fixed table of bucket slots; each slot holds one
 * cell per metric.  With one source an accepted event's bucket starts in
 * [watermark - grace - size, watermark], so grace/size + 2 buckets are open
 * at once; with several sources (pipeline.c) sources ahead of the
 * watermark open more.  The table has max(2 x (grace/size + 2) + 4, 64)
 * slots.  When no slot is free lw_agg_add says LW_AGG_NEED_FLUSH: a flush
 * makes every slot clean, and clean slots are all released.  The
 * slot of the previous event is tried first: event streams are mostly in
 * time order, so the lookup is usually one comparison, and an event whose
 * time falls in that slot's bucket takes its start without dividing.
 *
 * Distinct users.  The user is hashed (lw_hll_hash) at most once an event,
 * and not at all when the caller passes the hash (lw_agg_add_hashed: the
 * pipeline hashed the user for the dedup key already; callgrind, 300,000
 * simulated events with ids, -27 instructions an event).
 *
 * Sums.  A cell's sum is an lw_decsum_t (core/decsum.h: exact decimal
 * fractions plus a compensated double sum), handed to the store as it is
 * (lw_agg_cell_t.sum_exact), which keeps the same three numbers per cell:
 * sums of decimal amounts (cents) stay exact across any number of events
 * and flushes.  A scale of 10^-k (0.001: ms -> s) divides by 10^k, which
 * gives the double of the scaled decimal; a product may be an ulp off it.
 */
#include "leadwatch/model/metric.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/core/timeutil.h"

#define MAX_EVENT_NAMES 64
#define MAX_SLOTS 8192
#define MIN_SLOTS 64

typedef struct {
    int slot; /* decoder slot of the path */
    const lw_where_t *w;
} cond_t;

typedef struct {
    const lw_metric_def_t *def;
    bool has_event_cond;
    uint64_t event_mask;
    cond_t conds[LW_CONFIG_MAX_WHERE];
    size_t nconds;
    int value_slot; /* sum/mean/distinct-by-path; -1 = distinct users */
    double scale;
    double scale_div; /* scale == 1 / scale_div, a power of ten up to 10^9; 0 = multiply */
    size_t mi;        /* index of def in cfg->metrics */
} cmetric_t;

typedef struct {
    int64_t count;
    lw_decsum_t sum; /* cents add up exactly (core/decsum.h) */
    lw_hll_t *hll;   /* distinct metrics: allocated on first use, kept for reuse */
} cell_t;

typedef struct {
    bool used;
    bool dirty;
    int64_t bucket;
    cell_t *cells; /* one per config metric (ratio cells stay unused) */
} slot_t;

struct lw_agg {
    const lw_config_t *cfg;
    int64_t size_ms;
    int64_t grace_ms;
    int64_t watermark;

    lw_slice_t names[MAX_EVENT_NAMES];
    size_t nnames;

    cmetric_t *cm; /* compiled non-ratio metrics */
    size_t ncm;
    /* per event name (index in names[]; nnames = a name no where.event lists):
     * the compiled metrics whose event condition it passes, in order */
    uint8_t plan[MAX_EVENT_NAMES + 1][LW_CONFIG_MAX_METRICS];
    uint8_t plan_len[MAX_EVENT_NAMES + 1];

    slot_t *slots;
    size_t nslots;
    size_t last; /* slot of the previous event */

    int64_t *missing; /* per config metric */
};

static int name_index(const lw_agg_t *a, const char *s, size_t len)
{
    for (size_t i = 0; i < a->nnames; i++) {
        if (a->names[i].len == len && memcmp(a->names[i].ptr, s, len) == 0)
            return (int)i;
    }
    return -1;
}

static lw_err_t compile_metric(lw_agg_t *a, lw_decoder_t *dec, const lw_metric_def_t *def,
                               cmetric_t *cm, char *errstr, size_t errstr_size)
{
    char sub[256];
    cm->def = def;
    cm->mi = (size_t)(def - a->cfg->metrics);
    cm->scale = def->scale;
    for (double p = 10; p <= 1e9; p *= 10)
        if (def->scale == 1 / p)
            cm->scale_div = p;
    cm->value_slot = -1;
    for (size_t i = 0; i < def->nwhere; i++) {
        const lw_where_t *w = &def->where[i];
        if (w->is_event) {
            cm->has_event_cond = true;
            for (size_t j = 0; j < w->nvalues; j++) {
                const lw_scalar_t *v = &w->values[j];
                if (v->type != LW_SCALAR_STRING)
                    return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                                     "metric %s: where.event values must be strings", def->name);
                int idx = name_index(a, v->str, strlen(v->str));
                if (idx < 0) {
                    if (a->nnames == MAX_EVENT_NAMES)
                        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                                         "more than %d distinct event names in where clauses",
                                         MAX_EVENT_NAMES);
                    a->names[a->nnames].ptr = v->str;
                    a->names[a->nnames].len = strlen(v->str);
                    idx = (int)a->nnames++;
                }
                cm->event_mask |= UINT64_C(1) << idx;
            }
        } else {
            int slot = lw_decoder_add_path(dec, w->path, sub, sizeof sub);
            if (slot < 0)
                return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "metric %s: %s", def->name,
                                 sub);
            cm->conds[cm->nconds].slot = slot;
            cm->conds[cm->nconds].w = w;
            cm->nconds++;
        }
    }
    bool needs_field = def->kind == LW_METRIC_SUM || def->kind == LW_METRIC_MEAN ||
                       (def->kind == LW_METRIC_DISTINCT && !def->field_is_user);
    if (needs_field) {
        cm->value_slot = lw_decoder_add_path(dec, def->field, sub, sizeof sub);
        if (cm->value_slot < 0)
            return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "metric %s: %s", def->name, sub);
    }
    return LW_OK;
}

void lw_agg_destroy(lw_agg_t *a)
{
    if (!a)
        return;
    if (a->slots) {
        for (size_t i = 0; i < a->nslots; i++) {
            if (!a->slots[i].cells)
                continue;
            for (size_t m = 0; m < a->cfg->nmetrics; m++)
                lw_hll_destroy(a->slots[i].cells[m].hll);
            free(a->slots[i].cells);
        }
        free(a->slots);
    }
    free(a->missing);
    free(a->cm);
    free(a);
}

lw_agg_t *lw_agg_new(const lw_config_t *cfg, lw_decoder_t *dec, char *errstr, size_t errstr_size)
{
    lw_agg_t *a = calloc(1, sizeof *a);
    if (!a)
        goto fail_alloc;
    a->cfg = cfg;
    a->size_ms = cfg->buckets.size_ms;
    a->grace_ms = cfg->buckets.grace_ms;
    a->watermark = INT64_MIN;

    a->cm = calloc(cfg->nmetrics ? cfg->nmetrics : 1, sizeof *a->cm);
    a->missing = calloc(cfg->nmetrics ? cfg->nmetrics : 1, sizeof *a->missing);
    if (!a->cm || !a->missing)
        goto fail_alloc;
    for (size_t i = 0; i < cfg->nmetrics; i++) {
        if (cfg->metrics[i].kind == LW_METRIC_RATIO)
            continue;
        if (compile_metric(a, dec, &cfg->metrics[i], &a->cm[a->ncm], errstr, errstr_size) != LW_OK)
            goto fail;
        a->ncm++;
    }
    for (size_t k = 0; k <= a->nnames; k++)
        for (size_t i = 0; i < a->ncm; i++)
            if (!a->cm[i].has_event_cond || (k < a->nnames && (a->cm[i].event_mask >> k & 1)))
                a->plan[k][a->plan_len[k]++] = (uint8_t)i;

    int64_t open = a->grace_ms / a->size_ms + 2;
    int64_t want = open * 2 + 4;
    if (want < MIN_SLOTS)
        want = MIN_SLOTS;
    if (want > MAX_SLOTS) {
        lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                  "buckets.grace of %lld buckets needs more than %d open buckets",
                  (long long)(a->grace_ms / a->size_ms), MAX_SLOTS / 2);
        goto fail;
    }
    a->nslots = (size_t)want;
    a->slots = calloc(a->nslots, sizeof *a->slots);
    if (!a->slots)
        goto fail_alloc;
    for (size_t i = 0; i < a->nslots; i++) {
        a->slots[i].cells = calloc(cfg->nmetrics ? cfg->nmetrics : 1, sizeof(cell_t));
        if (!a->slots[i].cells)
            goto fail_alloc;
    }
    return a;

fail_alloc:
    lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
fail:
    lw_agg_destroy(a);
    return NULL;
}

void lw_agg_set_watermark(lw_agg_t *a, int64_t watermark_ms)
{
    a->watermark = watermark_ms;
}

int64_t lw_agg_watermark(const lw_agg_t *a)
{
    return a->watermark;
}

bool lw_bucket_is_provisional(int64_t bucket_ms, int64_t size_ms, int64_t grace_ms,
                              int64_t watermark_ms)
{
    return watermark_ms <= bucket_ms + size_ms + grace_ms;
}

bool lw_scalar_matches(const lw_scalar_t *s, const lw_value_t *v)
{
    switch (s->type) {
    case LW_SCALAR_STRING: return v->type == LW_VAL_STRING && lw_slice_eq(v->s, s->str);
    case LW_SCALAR_NUMBER: return v->type == LW_VAL_NUMBER && v->num == s->num;
    case LW_SCALAR_BOOL: return v->type == LW_VAL_BOOL && v->b == s->b;
    case LW_SCALAR_NULL: return v->type == LW_VAL_NULL;
    }
    return false;
}

static bool conds_match(const cmetric_t *cm, const lw_event_t *ev)
{
    for (size_t i = 0; i < cm->nconds; i++) {
        const lw_value_t *v = &ev->fields[cm->conds[i].slot];
        const lw_where_t *w = cm->conds[i].w;
        bool any = false;
        for (size_t j = 0; j < w->nvalues && !any; j++)
            any = lw_scalar_matches(&w->values[j], v);
        if (!any)
            return false;
    }
    return true;
}

/* a scale of 10^-k divides by 10^k: 12345 * 0.001 would not be the double of 12.345 */
static double scaled(const cmetric_t *cm, double x)
{
    return cm->scale_div ? x / cm->scale_div : x * cm->scale;
}

/*
 * The plan of the event's name: the metrics whose where.event it passes
 * (the rest of their conditions still to check).  Walking it instead of
 * every metric with its mask test: callgrind, bench_ingest's file, 5
 * metrics, lw_agg_add_at 263 -> 206 instructions an event with the bucket
 * reuse in lw_agg_add_at (which also saves lw_bucket_start's two divisions).
 */
static const uint8_t *event_plan(const lw_agg_t *a, const lw_event_t *ev, size_t *n)
{
    int name = name_index(a, ev->name.ptr, ev->name.len);
    size_t k = name >= 0 ? (size_t)name : a->nnames;
    *n = a->plan_len[k];
    return a->plan[k];
}

size_t lw_agg_match(const lw_agg_t *a, const lw_event_t *ev, lw_agg_hit_t *hits)
{
    size_t nplan;
    const uint8_t *plan = event_plan(a, ev, &nplan);
    size_t n = 0;
    for (size_t j = 0; j < nplan; j++) {
        const cmetric_t *cm = &a->cm[plan[j]];
        if (cm->nconds != 0 && !conds_match(cm, ev))
            continue;
        double value = 1;
        if (cm->value_slot >= 0) {
            const lw_value_t *v = &ev->fields[cm->value_slot];
            if (cm->def->kind == LW_METRIC_DISTINCT) {
                if ((v->type != LW_VAL_STRING && v->type != LW_VAL_NUMBER) || v->s.len == 0)
                    continue;
            } else if (v->type != LW_VAL_NUMBER) {
                continue;
            } else {
                value = scaled(cm, v->num);
            }
        }
        hits[n].metric = (int)cm->mi;
        hits[n++].value = value;
    }
    return n;
}

/* The slot holding `bucket`, a fresh one, or NULL when the table is full. */
static slot_t *find_slot(lw_agg_t *a, int64_t bucket)
{
    slot_t *s = &a->slots[a->last];
    if (s->used && s->bucket == bucket)
        return s;
    size_t free_i = a->nslots;
    for (size_t i = 0; i < a->nslots; i++) {
        if (a->slots[i].used) {
            if (a->slots[i].bucket == bucket) {
                a->last = i;
                return &a->slots[i];
            }
        } else if (free_i == a->nslots) {
            free_i = i;
        }
    }
    if (free_i == a->nslots)
        return NULL;
    a->slots[free_i].used = true;
    a->slots[free_i].dirty = false;
    a->slots[free_i].bucket = bucket;
    a->last = free_i;
    return &a->slots[free_i];
}

lw_agg_result_t lw_agg_add_at(lw_agg_t *a, const lw_event_t *ev, int64_t wm)
{
    return lw_agg_add_hashed(a, ev, wm, NULL);
}

lw_agg_result_t lw_agg_add(lw_agg_t *a, const lw_event_t *ev)
{
    return lw_agg_add_at(a, ev, ev->time_ms > a->watermark ? ev->time_ms : a->watermark);
}

lw_agg_result_t lw_agg_add_hashed(lw_agg_t *a, const lw_event_t *ev, int64_t wm,
                                  const uint64_t *user_hash_in)
{
    assert(wm >= a->watermark);
    /* the previous event's bucket when the time is in it (no divisions) */
    const slot_t *prev = &a->slots[a->last];
    int64_t bucket;
    if (prev->used && ev->time_ms >= prev->bucket &&
        (uint64_t)ev->time_ms - (uint64_t)prev->bucket < (uint64_t)a->size_ms)
        bucket = prev->bucket;
    else
        bucket = lw_bucket_start(ev->time_ms, a->size_ms);
    if (wm > bucket + a->size_ms + a->grace_ms) {
        a->watermark = wm;
        return LW_AGG_LATE;
    }
    slot_t *s = find_slot(a, bucket);
    if (!s)
        return LW_AGG_NEED_FLUSH;
    a->watermark = wm;

    size_t nplan;
    const uint8_t *plan = event_plan(a, ev, &nplan);
    bool have_hash = user_hash_in != NULL;
    uint64_t user_hash = have_hash ? *user_hash_in : 0;

    for (size_t j = 0; j < nplan; j++) {
        const cmetric_t *cm = &a->cm[plan[j]];
        if (cm->nconds != 0 && !conds_match(cm, ev))
            continue;
        size_t mi = cm->mi;
        cell_t *c = &s->cells[mi];
        switch (cm->def->kind) {
        case LW_METRIC_COUNT: c->count++; break;
        case LW_METRIC_SUM:
        case LW_METRIC_MEAN: {
            const lw_value_t *v = &ev->fields[cm->value_slot];
            if (v->type != LW_VAL_NUMBER) {
                a->missing[mi]++;
                continue;
            }
            c->count++;
            lw_decsum_add(&c->sum, scaled(cm, v->num));
            break;
        }
        case LW_METRIC_DISTINCT: {
            uint64_t h;
            if (cm->value_slot < 0) {
                if (!have_hash) {
                    user_hash = lw_hll_hash(ev->user.ptr, ev->user.len);
                    have_hash = true;
                }
                h = user_hash;
            } else {
                const lw_value_t *v = &ev->fields[cm->value_slot];
                if ((v->type != LW_VAL_STRING && v->type != LW_VAL_NUMBER) || v->s.len == 0) {
                    a->missing[mi]++;
                    continue;
                }
                h = lw_hll_hash(v->s.ptr, v->s.len);
            }
            if (!c->hll) {
                c->hll = lw_hll_new();
                if (!c->hll) /* out of memory: drop the sketch update, count it */
                {
                    a->missing[mi]++;
                    continue;
                }
            }
            c->count++;
            lw_hll_add_hash(c->hll, h);
            break;
        }
        case LW_METRIC_RATIO: break;
        }
        s->dirty = true;
    }
    return LW_AGG_ACCEPTED;
}

lw_err_t lw_agg_foreach_dirty(lw_agg_t *a, lw_agg_cell_cb cb, void *ud)
{
    for (size_t i = 0; i < a->nslots; i++) {
        slot_t *s = &a->slots[i];
        if (!s->used || !s->dirty)
            continue;
        for (size_t k = 0; k < a->ncm; k++) {
            size_t mi = a->cm[k].mi;
            cell_t *c = &s->cells[mi];
            if (c->count == 0)
                continue;
            lw_agg_cell_t out = {.metric = (int)mi,
                                 .bucket_ms = s->bucket,
                                 .count = c->count,
                                 .sum = lw_decsum_value(&c->sum),
                                 .sum_exact = c->sum,
                                 .hll = c->hll};
            lw_err_t err = cb(ud, &out);
            if (err != LW_OK)
                return err;
        }
    }
    return LW_OK;
}

void lw_agg_flushed(lw_agg_t *a)
{
    for (size_t i = 0; i < a->nslots; i++) {
        slot_t *s = &a->slots[i];
        if (!s->used)
            continue;
        if (s->dirty) {
            for (size_t m = 0; m < a->cfg->nmetrics; m++) {
                cell_t *c = &s->cells[m];
                c->count = 0;
                c->sum = LW_DECSUM_ZERO;
                if (c->hll)
                    lw_hll_clear(c->hll);
            }
            s->dirty = false;
        }
        /* every slot is clean now, and a clean slot holds no state (the
         * store has the totals), so all of them are free again - including
         * open buckets, which simply get a fresh slot on their next event */
        s->used = false;
    }
}

size_t lw_agg_dirty_cells(const lw_agg_t *a)
{
    size_t n = 0;
    for (size_t i = 0; i < a->nslots; i++) {
        if (!a->slots[i].used || !a->slots[i].dirty)
            continue;
        for (size_t m = 0; m < a->cfg->nmetrics; m++)
            n += a->slots[i].cells[m].count != 0;
    }
    return n;
}

int64_t lw_agg_missing_value(const lw_agg_t *a, int metric)
{
    return a->missing[metric];
}

void lw_agg_reset_counters(lw_agg_t *a)
{
    memset(a->missing, 0, a->cfg->nmetrics * sizeof *a->missing);
}

bool lw_metric_value(const lw_metric_def_t *m, const lw_cell_value_t *cell, double *out)
{
    switch (m->kind) {
    case LW_METRIC_COUNT: *out = (double)cell->count; return true;
    case LW_METRIC_SUM: *out = cell->sum; return true;
    case LW_METRIC_MEAN:
        if (cell->count == 0)
            return false;
        *out = cell->sum / (double)cell->count;
        return true;
    case LW_METRIC_DISTINCT: *out = cell->distinct; return true;
    case LW_METRIC_RATIO: return false;
    }
    return false;
}

bool lw_ratio_value(bool num_ok, double num, bool den_ok, double den, double *out)
{
    if (!num_ok || !den_ok || den == 0.0)
        return false;
    double r = num / den;
    if (!isfinite(r))
        return false;
    *out = r;
    return true;
}
