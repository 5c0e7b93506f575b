/*
 * pipeline.c - see pipeline.h.
 *
 * State kept between flushes:
 *   - the aggregator's dirty cells (metric.c),
 *   - per source: the position after the last event fed, and whether it
 *     moved since the last flush,
 *   - counter deltas (accepted, late, rejected by reason, missing values by
 *     metric), persisted as store counters so reports can show data quality;
 *   - with experiments configured, the assignments and per-experiment delta
 *     cells since the last flush (exposure.h), persisted in the same
 *     transaction; every counted event (accepted or late) goes through it;
 *   - the event ids counted since the last flush (dedup.h), persisted with
 *     the cells so the id set in the store matches what the store counted.
 *     An id is checked before its event is aggregated and remembered only
 *     once it is counted in an open bucket (a flush forced by the aggregator
 *     in between must not store the id of an event it does not cover).
 * Limit: a flush forced by the aggregator in the middle of a batch envelope
 * (the slot table filled) commits the elements before it with the position
 * before the envelope; after a crash right then, re-reading the envelope
 * counts those elements again unless they carry dedup ids (which the flush
 * committed, so they are then duplicates).
 * Reading ahead (lw_pipeline_feed_ahead: the consumer and file ingest): with dedup
 * on, each probe of the id table is a cache miss (a table of tens of MiB,
 * one random slot per event).  So the feed of message k decodes message k+1
 * too and prefetches its id's slot, before it counts k; k's event stays
 * valid across that decode (the decoder alternates two field arrays and
 * scratch buffers: event.h), so nothing is copied.  The feed of k+1 finds
 * k+1 decoded and its slot loaded.  Events are counted in the same order
 * and by the same code as without it; only the decode of k+1 moves
 * earlier.  Only events with an id (and rejects) read ahead: a stream
 * without ids pays nothing.  The user's hash is computed once for the dedup
 * key and the distinct counts (event_key, lw_agg_add_hashed).
 * A flush writes all of it in one transaction and only then clears it.  If
 * the commit fails the pending state stays as it was, so nothing is lost
 * in memory either; the caller stops (see lw_pipeline_flush).  A watermark
 * that moved without an event (a source went idle) is flushed on its own, so
 * the buckets it closes are in the store before anyone evaluates them.
 *
 * Invariants (lw_pipeline_check, asserted after every flush, idle mark and
 * registration; the per-event path asserts only the O(1) ones):
 *   - the watermark never moves back: it is >= the one last committed
 *     (`flushed_wm`), and it differs from it only while watermark_dirty;
 *   - `active_min` is the minimum newest-event time over the active sources
 *     (the newest over all when every one is idle), and watermark >=
 *     active_min.  (The watermark may be above an active source's newest
 *     time: a source that just came back from idle, or one that delivered
 *     nothing yet, does not pull it back.)
 *   - a source that is not dirty is at the position the store holds for it
 *     (`flushed`); nothing fed since the last flush means no dirty source,
 *     no pending counter and no dirty aggregate cell;
 *   - pending.read = accepted + late + rejected and equals fed_since_flush;
 *   - the aggregator's watermark is not above the pipeline's.
 */
#include "leadwatch/ingest/pipeline.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leadwatch/core/hll.h"
#include "leadwatch/core/log.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/ingest/dedup.h"
#include "leadwatch/ingest/exposure.h"
#include "leadwatch/model/metric.h"

typedef struct {
    char name[LW_PIPELINE_MAX_SOURCE_NAME];
    lw_position_t pos;
    bool dirty;
    bool idle;             /* caught up (e.g. Kafka partition EOF): does not hold the watermark */
    int64_t max_time;      /* newest event time from this source since start; INT64_MIN = none */
    lw_position_t flushed; /* the position the store holds (zero when none); the expected
                              value of the conditional write (lw_store_move_position) */
    bool in_store;         /* the store holds a position for this source */
    bool claimed;          /* shared store: this member owns it, at `epoch` (lw_store_claim) */
    int64_t epoch;
} source_t;

struct lw_pipeline {
    const lw_config_t *cfg;
    lw_store_t *store;
    lw_decoder_t *dec;
    lw_agg_t *agg;
    lw_dedup_t *dedup;         /* NULL when deduplication is off */
    lw_exposures_t *exp;       /* NULL without an `experiments:` section */
    int64_t untracked_flushed; /* lw_dedup_untracked() as of the last flush */
    bool untracked_warned;

    source_t *sources;
    size_t nsources;
    size_t cap_sources;

    lw_pipeline_stats_t total;
    lw_pipeline_stats_t pending; /* deltas not yet in the store */
    int64_t fed_since_flush;
    int64_t last_flush_mono;
    bool watermark_dirty;
    int64_t watermark;  /* effective watermark (see watermark_after) */
    int64_t active_min; /* min max_time over active sources, INT64_MIN when none */
    int64_t flushed_wm; /* the watermark the store holds, INT64_MIN when none */
    bool shared;        /* a fleet member (lw_pipeline_set_shared) */
    bool owners_dirty;  /* shared: a claimed source's idleness changed since the flush */
    int64_t retries;    /* flushes run again after a deadlock */
    int64_t discards;   /* pending states dropped (lw_pipeline_discard) */

    /* lw_pipeline_feed_ahead: the next message, decoded (in `dec`) while the
     * current one is counted, its dedup slot prefetched */
    struct {
        bool valid;
        const char *buf;
        size_t len;
        int64_t now_ms;
        lw_event_t ev;
        lw_reject_t r;
        uint64_t key;
        uint64_t user_hash;
    } ahead;
};

/*
 * The oldest bucket still open at the current watermark: a bucket closes
 * when the watermark passes its end + grace (metric.c), so ids of earlier
 * buckets can go.  INT64_MIN when no watermark yet.
 */
static int64_t open_from(const lw_pipeline_t *p)
{
    if (p->watermark == INT64_MIN)
        return INT64_MIN;
    int64_t size = p->cfg->buckets.size_ms;
    return lw_bucket_start(p->watermark - p->cfg->buckets.grace_ms - size, size);
}

void lw_pipeline_destroy(lw_pipeline_t *p)
{
    if (!p)
        return;
    lw_exposures_destroy(p->exp);
    lw_agg_destroy(p->agg);
    lw_dedup_destroy(p->dedup);
    lw_decoder_destroy(p->dec);
    LW_FREE_ALL(p->sources, p);
}

lw_pipeline_t *lw_pipeline_new(const lw_config_t *cfg, lw_store_t *store, char *errstr,
                               size_t errstr_size)
{
    lw_pipeline_t *p = lw_calloc_err(1, sizeof *p, errstr, errstr_size);
    if (!p)
        return NULL;
    p->cfg = cfg;
    p->store = store;
    p->last_flush_mono = p->watermark = p->active_min = p->flushed_wm = INT64_MIN; /* none yet */

    lw_decoder_opts_t dopts = {
        .format = cfg->source.format,
        .event_path = cfg->source.event_field,
        .user_path = cfg->source.user_field,
        .time_path = cfg->source.time_field,
        .user_override = cfg->source.user_override,
        .id_path = cfg->source.dedup_id,
        .max_event_bytes = cfg->source.max_event_bytes,
        .max_depth = cfg->source.max_depth,
        .max_future_ms = cfg->source.max_future_ms,
    };
    p->dec = lw_decoder_new(&dopts, errstr, errstr_size);
    if (!p->dec)
        goto fail;
    p->agg = lw_agg_new(cfg, p->dec, errstr, errstr_size);
    if (!p->agg)
        goto fail;

    if (cfg->experiments.configured &&
        (!(p->exp = lw_exposures_new(cfg, p->dec, p->agg, errstr, errstr_size)) ||
         lw_exposures_load(p->exp, store, errstr, errstr_size) != LW_OK))
        goto fail;

    int64_t wm;
    lw_err_t err = lw_store_get_int(store, LW_KEY_WATERMARK, &wm, errstr, errstr_size);
    if (err == LW_OK) {
        lw_agg_set_watermark(p->agg, wm);
        p->watermark = wm;
        p->flushed_wm = wm;
    } else if (err != LW_ERR_NOT_FOUND)
        goto fail;

    /* dedup: on for the vendor formats (they have an id), custom only with source.dedup.id */
    if (cfg->source.dedup && (cfg->source.format != LW_FMT_CUSTOM || cfg->source.dedup_id)) {
        p->dedup = lw_dedup_new((size_t)cfg->source.dedup_max_ids, cfg->buckets.size_ms, errstr,
                                errstr_size);
        if (!p->dedup || lw_dedup_load(p->dedup, store, open_from(p), errstr, errstr_size) != LW_OK)
            goto fail;
        if (lw_dedup_untracked(p->dedup) > 0)
            LW_LOG(LW_LOG_WARN, "pipeline",
                   "the store holds more event ids than source.dedup.max_ids (%ld): %lld not "
                   "remembered",
                   cfg->source.dedup_max_ids, (long long)lw_dedup_untracked(p->dedup));
        p->untracked_flushed = lw_dedup_untracked(p->dedup);
    }
    return p;

fail:
    lw_pipeline_destroy(p);
    return NULL;
}

static void recompute_active_min(lw_pipeline_t *p);

int lw_pipeline_add_source(lw_pipeline_t *p, const char *name, lw_position_t *stored, bool *found,
                           char *errstr, size_t errstr_size)
{
    if (strlen(name) >= LW_PIPELINE_MAX_SOURCE_NAME) {
        lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "source name longer than %d bytes",
                  LW_PIPELINE_MAX_SOURCE_NAME - 1);
        return -1;
    }
    for (size_t i = 0; i < p->nsources; i++) {
        if (strcmp(p->sources[i].name, name) == 0) {
            *stored = p->sources[i].pos;
            *found = true;
            return (int)i;
        }
    }
    if (p->nsources == LW_PIPELINE_MAX_SOURCES) {
        lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "more than %d sources",
                  LW_PIPELINE_MAX_SOURCES);
        return -1;
    }
    if (p->nsources == p->cap_sources) {
        size_t cap = p->cap_sources ? p->cap_sources * 2 : 8;
        source_t *ns = realloc(p->sources, cap * sizeof *ns);
        if (!ns) {
            lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
            return -1;
        }
        p->sources = ns;
        p->cap_sources = cap;
    }
    source_t *s = &p->sources[p->nsources];
    memset(s, 0, sizeof *s);
    s->max_time = INT64_MIN;
    snprintf(s->name, sizeof s->name, "%s", name);
    lw_err_t err = lw_store_get_position(p->store, name, &s->pos, errstr, errstr_size);
    if (err == LW_ERR_NOT_FOUND) {
        *found = false;
        memset(&s->pos, 0, sizeof s->pos);
    } else if (err != LW_OK) {
        return -1;
    } else {
        *found = true;
    }
    s->flushed = s->pos;
    s->in_store = *found;
    *stored = s->pos;
    p->nsources++;
    /* a new active source that delivered nothing holds the watermark */
    recompute_active_min(p);
    assert(lw_pipeline_check(p, NULL, 0));
    return (int)p->nsources - 1;
}

/*
 * The effective watermark.  Each source keeps the newest event time it
 * delivered; the watermark is the *oldest* of those over the sources that
 * are not idle (all sources when every one is idle), and it never moves
 * back.  With one source this is simply the newest event time seen.  With
 * several Kafka partitions it keeps a partition that is behind (catching
 * up after downtime, or read more slowly) from having its events declared
 * late because another partition is days ahead; a partition that is caught
 * up (idle) does not hold the others back, while an active source that has
 * delivered nothing yet does (until it delivers or is marked idle).
 */
static void recompute_active_min(lw_pipeline_t *p)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    bool any_active = false;
    for (size_t i = 0; i < p->nsources; i++) {
        const source_t *s = &p->sources[i];
        if (s->max_time > hi)
            hi = s->max_time;
        if (!s->idle) {
            /* an active source that has delivered nothing yet (a partition
             * just assigned) holds the watermark where it is */
            any_active = true;
            if (s->max_time < lo)
                lo = s->max_time;
        }
    }
    p->active_min = any_active ? lo : hi;
}

/* inlined in count_event: as a call of its own, +8 instructions an event (callgrind) */
static inline __attribute__((always_inline)) int64_t watermark_after(lw_pipeline_t *p, source_t *s,
                                                                     int64_t t)
{
    bool was_idle = s->idle;
    s->idle = false;
    if (t > s->max_time) {
        int64_t old = s->max_time;
        s->max_time = t;
        /* the minimum only moves when this source was (one of) the minimum,
         * or when it joins the active set */
        if (was_idle || old == INT64_MIN || old <= p->active_min)
            recompute_active_min(p);
    } else if (was_idle) {
        recompute_active_min(p);
    }
    if (!p->shared && p->active_min > p->watermark)
        p->watermark = p->active_min;
    assert(p->shared || p->watermark >= p->active_min);
    return p->watermark;
}

void lw_pipeline_source_idle(lw_pipeline_t *p, int source)
{
    assert(source >= 0 && (size_t)source < p->nsources);
    source_t *s = &p->sources[source];
    if (s->idle)
        return;
    s->idle = true;
    recompute_active_min(p);
    if (p->shared) {
        p->owners_dirty = p->owners_dirty || s->claimed; /* the store holds its idleness */
    } else if (p->active_min > p->watermark) {
        p->watermark = p->active_min;
        p->watermark_dirty = true;
    }
    assert(lw_pipeline_check(p, NULL, 0));
}

/*
 * The dedup key of a decoded event; 0 when it has none (no id, dedup off,
 * rejected).  With a key, *user_hash is lw_hll_hash of its user, which the
 * aggregation reuses for the distinct counts (lw_agg_add_hashed): one XXH3
 * an event with an id fewer.
 */
static uint64_t event_key(const lw_pipeline_t *p, const lw_event_t *ev, lw_reject_t r,
                          uint64_t *user_hash)
{
    if (!p->dedup || r != LW_REJECT_NONE || ev->envelope || ev->id.len == 0)
        return 0;
    *user_hash = lw_hll_hash(ev->user.ptr, ev->user.len);
    return lw_dedup_key_hashed(*user_hash, ev->id);
}

/* Aggregate an accepted event; user_hash is its user's hash when key != 0 (event_key). */
static lw_agg_result_t agg_add(lw_pipeline_t *p, const lw_event_t *ev, int64_t wm, uint64_t key,
                               uint64_t user_hash)
{
    return lw_agg_add_hashed(p->agg, ev, wm, key != 0 ? &user_hash : NULL);
}

/* Count one decoded (or rejected) event, `key` its event_key (and user_hash
 * the hash it set); the outcome goes to *outcome.  Inlined in the feed
 * (three call sites): as a call with nine arguments it cost ~41 instructions
 * an event more (callgrind, bench_ingest's file; 2,049 -> 2,008 without the
 * flushes, whose number follows the wall clock under valgrind). */
static inline __attribute__((always_inline)) lw_err_t
count_event(lw_pipeline_t *p, int source, const lw_event_t *ev, lw_reject_t r, uint64_t key,
            uint64_t user_hash, lw_feed_outcome_t *outcome, char *errstr, size_t errstr_size)
{
    if (r != LW_REJECT_NONE) {
        *outcome = LW_FEED_REJECTED;
        p->pending.rejected[r]++;
        p->pending.rejected_total++;
    } else if (key != 0 && lw_dedup_seen(p->dedup, key)) {
        /* counted before: its copy does not move the watermark either */
        *outcome = LW_FEED_REJECTED;
        p->pending.rejected[LW_REJECT_DUPLICATE]++;
        p->pending.rejected_total++;
    } else {
        int64_t before = p->watermark;
        int64_t wm = watermark_after(p, &p->sources[source], ev->time_ms);
        assert(wm >= before);
        if (wm != before)
            p->watermark_dirty = true;
        lw_agg_result_t res = agg_add(p, ev, wm, key, user_hash);
        if (res == LW_AGG_NEED_FLUSH) {
            /* every bucket slot is taken: make room; this event is not yet
             * counted and its position not yet advanced, so the flush
             * covers exactly the events before it */
            lw_err_t err = lw_pipeline_flush(p, p->last_flush_mono, errstr, errstr_size);
            if (err != LW_OK)
                return err;
            /* a fleet member's flush may have raised the watermark to the
             * fleet's (never back): the event is counted against that one */
            if (p->watermark > wm)
                wm = p->watermark;
            res = agg_add(p, ev, wm, key, user_hash);
            if (res == LW_AGG_NEED_FLUSH)
                return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                                 "no free bucket slot even after a flush");
        }
        if (p->exp) /* experiments count late events too: their windows are not buckets */
            lw_exposures_add(p->exp, ev);
        if (res == LW_AGG_LATE) {
            *outcome = LW_FEED_LATE;
            p->pending.late++;
        } else {
            *outcome = LW_FEED_ACCEPTED;
            p->pending.accepted++;
            /* remembered only now: a flush inside lw_agg_add_at above must
             * not store the id of an event it does not count */
            if (key != 0)
                (void)lw_dedup_add(p->dedup, key, ev->time_ms);
        }
    }
    p->pending.read++;
    p->fed_since_flush++;
    return LW_OK;
}

lw_err_t lw_pipeline_feed(lw_pipeline_t *p, int source, const char *buf, size_t len,
                          const lw_position_t *after, int64_t now_ms, lw_feed_outcome_t *outcome,
                          lw_reject_t *reason, char *errstr, size_t errstr_size)
{
    return lw_pipeline_feed_ahead(p, source, buf, len, NULL, 0, after, now_ms, outcome, reason,
                                  errstr, errstr_size);
}

void lw_pipeline_forget_ahead(lw_pipeline_t *p)
{
    p->ahead.valid = false;
}

lw_err_t lw_pipeline_feed_ahead(lw_pipeline_t *p, int source, const char *buf, size_t len,
                                const char *next, size_t next_len, const lw_position_t *after,
                                int64_t now_ms, lw_feed_outcome_t *outcome, lw_reject_t *reason,
                                char *errstr, size_t errstr_size)
{
    assert(source >= 0 && (size_t)source < p->nsources);
    lw_event_t ev;
    lw_reject_t r;
    uint64_t key, user_hash = 0;
    if (p->ahead.valid && p->ahead.buf == buf && p->ahead.len == len && p->ahead.now_ms == now_ms) {
        ev = p->ahead.ev; /* decoded by the previous feed; the decoder still holds it */
        r = p->ahead.r;
        key = p->ahead.key;
        user_hash = p->ahead.user_hash;
    } else {
        r = lw_decoder_decode(p->dec, buf, len, now_ms, &ev);
        key = event_key(p, &ev, r, &user_hash);
    }
    p->ahead.valid = false;
    /* read ahead only for dedup's sake (the next id's slot is fetched while
     * this event is counted): so only after an event that has an id (or a
     * reject), not in a stream without ids, where it cost ~300 instructions
     * an event for nothing when it copied the event (callgrind,
     * bench_ingest's file: 2,576 -> 2,337 an event); and not from inside an
     * envelope, whose elements the decoder still has to produce */
    if (next && p->dedup && (r != LW_REJECT_NONE || (key != 0 && !ev.envelope))) {
        p->ahead.r = lw_decoder_decode(p->dec, next, next_len, now_ms, &p->ahead.ev);
        p->ahead.key = event_key(p, &p->ahead.ev, p->ahead.r, &p->ahead.user_hash);
        if (p->ahead.key != 0)
            lw_dedup_prefetch(p->dedup, p->ahead.key);
        p->ahead.buf = next;
        p->ahead.len = next_len;
        p->ahead.now_ms = now_ms;
        p->ahead.valid = true;
    }
    lw_err_t err;
    *reason = r;
    if (r != LW_REJECT_NONE || !ev.envelope) {
        err = count_event(p, source, &ev, r, key, user_hash, outcome, errstr, errstr_size);
    } else {
        /* a batch envelope: every element counts on its own; the feed's
         * outcome is rejected only when no element was accepted or late
         * (an empty envelope is one `empty` reject) */
        int64_t n = 0, kept = 0;
        lw_feed_outcome_t one = LW_FEED_REJECTED, last_kept = LW_FEED_ACCEPTED;
        err = LW_OK;
        while (err == LW_OK && lw_decoder_next(p->dec, now_ms, &ev, &r)) {
            key = event_key(p, &ev, r, &user_hash);
            err = count_event(p, source, &ev, r, key, user_hash, &one, errstr, errstr_size);
            n++;
            if (one != LW_FEED_REJECTED) {
                kept++;
                last_kept = one;
            } else {
                *reason = r;
            }
        }
        if (err == LW_OK && n == 0)
            err = count_event(p, source, &ev, *reason = LW_REJECT_EMPTY, 0, 0, &one, errstr,
                              errstr_size);
        *outcome = kept > 0 ? last_kept : LW_FEED_REJECTED;
        if (kept > 0)
            *reason = LW_REJECT_NONE;
        p->pending.envelopes++;
    }
    if (err != LW_OK)
        return err;
    if (after) {
        source_t *s = &p->sources[source];
        s->pos = *after;
        s->dirty = true;
    }
    return LW_OK;
}

bool lw_pipeline_should_flush(const lw_pipeline_t *p, int64_t mono_ms)
{
    if (p->fed_since_flush == 0)
        return p->watermark_dirty || p->owners_dirty; /* an idle source: closes buckets now */
    if (p->fed_since_flush >= p->cfg->store.flush_events)
        return true;
    return p->last_flush_mono == INT64_MIN ||
           mono_ms - p->last_flush_mono >= p->cfg->store.flush_interval_ms;
}

int64_t lw_pipeline_room(const lw_pipeline_t *p)
{
    int64_t room = p->cfg->store.flush_events - p->fed_since_flush;
    return room > 0 ? room : 1;
}

typedef struct {
    lw_pipeline_t *p;
    char *errstr;
    size_t errstr_size;
} flush_ctx_t;

static lw_err_t flush_cell(void *ud, const lw_agg_cell_t *c)
{
    flush_ctx_t *fc = ud;
    return lw_store_add_cell_sum(fc->p->store, fc->p->cfg->metrics[c->metric].name, c->bucket_ms,
                                 c->count, &c->sum_exact, c->hll, fc->errstr, fc->errstr_size);
}

static lw_err_t add_counter(lw_pipeline_t *p, const char *name, int64_t delta, char *errstr,
                            size_t errstr_size)
{
    if (delta == 0)
        return LW_OK;
    return lw_store_add_counter(p->store, name, delta, errstr, errstr_size);
}

static lw_err_t write_counters(lw_pipeline_t *p, char *errstr, size_t errstr_size)
{
    char name[128];
    lw_err_t err = add_counter(p, "events.accepted", p->pending.accepted, errstr, errstr_size);
    if (err == LW_OK)
        err = add_counter(p, "events.late", p->pending.late, errstr, errstr_size);
    for (int r = 1; r < LW_REJECT__COUNT && err == LW_OK; r++) {
        snprintf(name, sizeof name, "rejected.%s", lw_reject_name((lw_reject_t)r));
        err = add_counter(p, name, p->pending.rejected[r], errstr, errstr_size);
    }
    for (size_t m = 0; m < p->cfg->nmetrics && err == LW_OK; m++) {
        snprintf(name, sizeof name, "missing_value.%s", p->cfg->metrics[m].name);
        err = add_counter(p, name, lw_agg_missing_value(p->agg, (int)m), errstr, errstr_size);
    }
    return err;
}

static void stats_add(lw_pipeline_stats_t *dst, const lw_pipeline_stats_t *d)
{
    dst->read += d->read;
    dst->envelopes += d->envelopes;
    dst->accepted += d->accepted;
    dst->late += d->late;
    dst->rejected_total += d->rejected_total;
    for (int r = 0; r < LW_REJECT__COUNT; r++)
        dst->rejected[r] += d->rejected[r];
}

/* Sources ordered by name: every member locks shared rows in one order (no deadlock). */
static int by_name(const void *a, const void *b)
{
    return strcmp((*(const source_t *const *)a)->name, (*(const source_t *const *)b)->name);
}

/* Shared store: the flush's condition on every claimed source, in name order (lw_store_fence). */
static lw_err_t fence_sources(lw_pipeline_t *p, char *errstr, size_t errstr_size)
{
    const source_t **v =
        lw_calloc_err(p->nsources ? p->nsources : 1, sizeof *v, errstr, errstr_size);
    if (!v)
        return LW_ERR_NOMEM;
    for (size_t i = 0; i < p->nsources; i++)
        v[i] = &p->sources[i];
    qsort(v, p->nsources, sizeof *v, by_name);
    lw_err_t err = LW_OK;
    for (size_t k = 0; k < p->nsources && err == LW_OK; k++) {
        if (v[k]->claimed)
            err = lw_store_fence(p->store, v[k]->name, v[k]->epoch, v[k]->max_time, v[k]->idle,
                                 errstr, errstr_size);
    }
    free(v);
    return err;
}

/* A dirty cell with its metric's name, collected to be written in (name, bucket) order. */
typedef struct {
    const char *name;
    lw_agg_cell_t c;
} named_cell_t;

typedef struct {
    named_cell_t *cells;
    size_t n, cap;
    const lw_config_t *cfg;
} cell_list_t;

static lw_err_t collect_cell(void *ud, const lw_agg_cell_t *c)
{
    cell_list_t *l = ud;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        named_cell_t *nc = realloc(l->cells, cap * sizeof *nc);
        if (!nc)
            return LW_ERR_NOMEM;
        l->cells = nc;
        l->cap = cap;
    }
    l->cells[l->n++] = (named_cell_t){l->cfg->metrics[c->metric].name, *c};
    return LW_OK;
}

static int cell_order(const void *a, const void *b)
{
    const named_cell_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return x->c.bucket_ms < y->c.bucket_ms ? -1 : x->c.bucket_ms > y->c.bucket_ms;
}

/*
 * Every dirty cell into the store.  Shared store: sorted by (metric,
 * bucket), so two members upserting the same cells lock them in the same
 * order (else each can hold a row the other waits for: a deadlock).
 */
static lw_err_t write_cells(lw_pipeline_t *p, char *errstr, size_t errstr_size)
{
    flush_ctx_t fc = {p, errstr, errstr_size};
    if (!p->shared)
        return lw_agg_foreach_dirty(p->agg, flush_cell, &fc);
    cell_list_t l = {.cfg = p->cfg};
    lw_err_t err = lw_agg_foreach_dirty(p->agg, collect_cell, &l);
    if (err == LW_ERR_NOMEM)
        lw_seterr(errstr, errstr_size, err, "out of memory");
    if (err == LW_OK)
        qsort(l.cells, l.n, sizeof *l.cells, cell_order);
    for (size_t i = 0; i < l.n && err == LW_OK; i++)
        err = flush_cell(&fc, &l.cells[i].c);
    free(l.cells);
    return err;
}

/* Shared store: the global watermark into p->watermark (never back) and the store (raised). */
static lw_err_t shared_watermark(lw_pipeline_t *p, int64_t *wm, char *errstr, size_t errstr_size)
{
    int64_t g;
    lw_err_t err = lw_store_global_watermark(p->store, &g, errstr, errstr_size);
    *wm = p->watermark;
    if (err == LW_OK && g > *wm)
        *wm = g;
    if (err == LW_OK && *wm != INT64_MIN)
        err = lw_store_raise_int(p->store, LW_KEY_WATERMARK, *wm, errstr, errstr_size);
    return err;
}

static lw_err_t flush_once(lw_pipeline_t *p, int64_t mono_ms, char *errstr, size_t errstr_size);

/* Deadlock-aborted flushes run again this often, after a short pause (the pending state is kept) */
#define FLUSH_RETRIES 5

lw_err_t lw_pipeline_flush(lw_pipeline_t *p, int64_t mono_ms, char *errstr, size_t errstr_size)
{
    lw_err_t err = flush_once(p, mono_ms, errstr, errstr_size);
    for (int i = 0; err == LW_ERR_RETRY && i < FLUSH_RETRIES; i++) {
        p->retries++;
        LW_LOG(LW_LOG_WARN, "pipeline", "flush aborted by the store (%s); running it again",
               errstr);
        struct timespec ts = {0, (long)(10 + rand() % 40) * 1000000L};
        nanosleep(&ts, NULL);
        err = flush_once(p, mono_ms, errstr, errstr_size);
    }
    return err;
}

static lw_err_t flush_once(lw_pipeline_t *p, int64_t mono_ms, char *errstr, size_t errstr_size)
{
    if (p->fed_since_flush == 0 && !p->watermark_dirty && !p->owners_dirty) {
        p->last_flush_mono = mono_ms;
        return LW_OK;
    }
    lw_err_t err = lw_store_begin(p->store, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    int64_t shared_wm = INT64_MIN;
    if (p->shared)
        err = fence_sources(p, errstr, errstr_size);
    if (err == LW_OK)
        err = write_cells(p, errstr, errstr_size);
    for (size_t i = 0; i < p->nsources && err == LW_OK; i++) {
        const source_t *s = &p->sources[i];
        if (!s->dirty)
            continue;
        lw_position_t expected = s->flushed;
        if (!s->in_store)
            expected.position = LW_POSITION_ABSENT;
        err = lw_store_move_position(p->store, s->name, &expected, &s->pos, errstr, errstr_size);
    }
    if (err == LW_OK && p->shared)
        err = shared_watermark(p, &shared_wm, errstr, errstr_size);
    else if (err == LW_OK && p->watermark_dirty && p->watermark != INT64_MIN)
        err = lw_store_set_int(p->store, LW_KEY_WATERMARK, p->watermark, errstr, errstr_size);
    if (err == LW_OK)
        err = write_counters(p, errstr, errstr_size);
    if (err == LW_OK && p->dedup)
        err = lw_dedup_write(p->dedup, p->store, open_from(p), errstr, errstr_size);
    if (err == LW_OK && p->dedup)
        err = add_counter(p, "dedup.untracked", lw_dedup_untracked(p->dedup) - p->untracked_flushed,
                          errstr, errstr_size);
    if (err == LW_OK && p->exp)
        err = lw_exposures_write(p->exp, p->store, errstr, errstr_size);
    if (err == LW_OK)
        err = lw_store_commit(p->store, errstr, errstr_size);
    if (err != LW_OK) {
        lw_store_rollback(p->store);
        if (err != LW_ERR_RETRY && err != LW_ERR_FENCED)
            LW_LOG(LW_LOG_ERROR, "pipeline", "flush failed, nothing committed: %s", errstr);
        return err;
    }
    if (p->shared && shared_wm > p->watermark) {
        p->watermark = shared_wm;
        lw_agg_set_watermark(p->agg, shared_wm);
    }
    p->owners_dirty = false;

    lw_agg_flushed(p->agg);
    if (p->exp)
        lw_exposures_committed(p->exp);
    if (p->dedup) {
        lw_dedup_committed(p->dedup, open_from(p));
        int64_t untracked = lw_dedup_untracked(p->dedup);
        if (untracked > p->untracked_flushed && !p->untracked_warned) {
            LW_LOG(LW_LOG_WARN, "pipeline",
                   "source.dedup.max_ids (%ld) reached: new event ids are not remembered, so "
                   "their copies would be counted (counter dedup.untracked)",
                   p->cfg->source.dedup_max_ids);
            p->untracked_warned = true;
        }
        p->untracked_flushed = untracked;
    }
    for (size_t m = 0; m < p->cfg->nmetrics; m++)
        p->total.missing_value[m] += lw_agg_missing_value(p->agg, (int)m);
    lw_agg_reset_counters(p->agg);
    for (size_t i = 0; i < p->nsources; i++) {
        source_t *s = &p->sources[i];
        if (s->dirty) {
            s->flushed = s->pos;
            s->in_store = true;
        }
        s->dirty = false;
    }
    stats_add(&p->total, &p->pending);
    p->total.flushes++;
    memset(&p->pending, 0, sizeof p->pending);
    p->fed_since_flush = 0;
    p->watermark_dirty = false;
    if (p->watermark != INT64_MIN)
        p->flushed_wm = p->watermark;
    p->last_flush_mono = mono_ms;
    assert(lw_pipeline_check(p, NULL, 0));
    return LW_OK;
}

void lw_pipeline_committed(const lw_pipeline_t *p, lw_pipeline_stats_t *out)
{
    *out = p->total;
    out->flush_retries = p->retries;
    out->discards = p->discards;
}

void lw_pipeline_set_shared(lw_pipeline_t *p)
{
    if (p->shared)
        return;
    p->shared = true;
    if (p->dedup) {
        LW_LOG(LW_LOG_WARN, "pipeline",
               "source.dedup is off on a shared store: the ids are per member, and members "
               "would overwrite each other's");
        lw_dedup_destroy(p->dedup);
        p->dedup = NULL;
    }
}

void lw_pipeline_source_claim(lw_pipeline_t *p, int source, int64_t epoch, int64_t max_time,
                              const lw_position_t *pos, bool found)
{
    assert(source >= 0 && (size_t)source < p->nsources);
    source_t *s = &p->sources[source];
    assert(!s->dirty);
    s->claimed = true;
    s->epoch = epoch;
    s->max_time = max_time;
    s->idle = false;
    if (found) {
        s->pos = *pos;
    } else {
        memset(&s->pos, 0, sizeof s->pos);
    }
    s->flushed = s->pos;
    s->in_store = found;
    recompute_active_min(p);
    assert(lw_pipeline_check(p, NULL, 0));
}

void lw_pipeline_source_release(lw_pipeline_t *p, int source)
{
    assert(source >= 0 && (size_t)source < p->nsources);
    p->sources[source].claimed = false;
    lw_pipeline_source_idle(p, source);
}

bool lw_pipeline_source_claimed(const lw_pipeline_t *p, int source, int64_t *epoch)
{
    assert(source >= 0 && (size_t)source < p->nsources);
    *epoch = p->sources[source].epoch;
    return p->sources[source].claimed;
}

void lw_pipeline_discard(lw_pipeline_t *p)
{
    lw_agg_flushed(p->agg); /* the cells hold deltas since the flush: zeroed, dropped */
    lw_agg_reset_counters(p->agg);
    for (size_t i = 0; i < p->nsources; i++) {
        source_t *s = &p->sources[i];
        s->pos = s->flushed;
        s->dirty = false;
    }
    memset(&p->pending, 0, sizeof p->pending);
    p->fed_since_flush = 0;
    p->watermark = p->flushed_wm;
    p->watermark_dirty = false;
    lw_agg_set_watermark(p->agg, p->watermark);
    p->discards++;
    assert(lw_pipeline_check(p, NULL, 0));
}

bool lw_pipeline_source_flushed(const lw_pipeline_t *p, int source, lw_position_t *out)
{
    assert(source >= 0 && (size_t)source < p->nsources);
    *out = p->sources[source].flushed;
    return p->sources[source].in_store;
}

static bool same_position(const lw_position_t *a, const lw_position_t *b)
{
    return a->position == b->position && a->fp_len == b->fp_len && a->fp_hash == b->fp_hash;
}

/* Each broken invariant returns lw_seterr(...) == LW_OK: false, with `why` filled. */
bool lw_pipeline_check(const lw_pipeline_t *p, char *why, size_t why_size)
{
    if (p->nsources > p->cap_sources || p->nsources > LW_PIPELINE_MAX_SOURCES)
        return lw_seterr(why, why_size, LW_ERR_INVALID, "%zu sources, capacity %zu", p->nsources,
                         p->cap_sources) == LW_OK;
    if (p->watermark < p->flushed_wm)
        return lw_seterr(why, why_size, LW_ERR_INVALID,
                         "watermark %lld moved back below the stored %lld", (long long)p->watermark,
                         (long long)p->flushed_wm) == LW_OK;
    if (p->watermark != p->flushed_wm && p->flushed_wm != INT64_MIN && !p->watermark_dirty)
        return lw_seterr(why, why_size, LW_ERR_INVALID,
                         "watermark %lld differs from the stored %lld, not dirty",
                         (long long)p->watermark, (long long)p->flushed_wm) == LW_OK;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    bool any_active = false;
    size_t ndirty = 0;
    for (size_t i = 0; i < p->nsources; i++) {
        const source_t *s = &p->sources[i];
        hi = s->max_time > hi ? s->max_time : hi;
        if (!s->idle) {
            any_active = true;
            lo = s->max_time < lo ? s->max_time : lo;
        }
        if (s->dirty)
            ndirty++;
        else if (s->in_store && !same_position(&s->pos, &s->flushed))
            return lw_seterr(why, why_size, LW_ERR_INVALID,
                             "source %s at %lld, not dirty, the store has %lld", s->name,
                             (long long)s->pos.position, (long long)s->flushed.position) == LW_OK;
    }
    int64_t want_min = any_active ? lo : hi;
    if (p->nsources > 0 && p->active_min != want_min)
        return lw_seterr(why, why_size, LW_ERR_INVALID,
                         "cached active minimum %lld, the sources say %lld",
                         (long long)p->active_min, (long long)want_min) == LW_OK;
    if (!p->shared && p->active_min > p->watermark)
        return lw_seterr(why, why_size, LW_ERR_INVALID,
                         "watermark %lld below the active minimum %lld", (long long)p->watermark,
                         (long long)p->active_min) == LW_OK;
    if (lw_agg_watermark(p->agg) > p->watermark)
        return lw_seterr(why, why_size, LW_ERR_INVALID,
                         "aggregator watermark %lld above the pipeline's %lld",
                         (long long)lw_agg_watermark(p->agg), (long long)p->watermark) == LW_OK;
    const lw_pipeline_stats_t *d = &p->pending;
    if (d->read != p->fed_since_flush || d->read != d->accepted + d->late + d->rejected_total)
        return lw_seterr(why, why_size, LW_ERR_INVALID,
                         "pending read %lld, fed %lld, accepted+late+rejected %lld disagree",
                         (long long)d->read, (long long)p->fed_since_flush,
                         (long long)(d->accepted + d->late + d->rejected_total)) == LW_OK;
    if (p->dedup && !lw_dedup_check(p->dedup, false, why, why_size))
        return false;
    if (p->fed_since_flush == 0 && (ndirty > 0 || lw_agg_dirty_cells(p->agg) > 0))
        return lw_seterr(why, why_size, LW_ERR_INVALID,
                         "nothing fed since the flush, yet %zu dirty sources, %zu cells", ndirty,
                         lw_agg_dirty_cells(p->agg)) == LW_OK;
    return true;
}

void lw_pipeline_stats(const lw_pipeline_t *p, lw_pipeline_stats_t *out)
{
    *out = p->total;
    stats_add(out, &p->pending);
    out->flushes = p->total.flushes;
    out->flush_retries = p->retries;
    out->discards = p->discards;
    for (size_t m = 0; m < p->cfg->nmetrics; m++)
        out->missing_value[m] += lw_agg_missing_value(p->agg, (int)m);
    if (p->exp) {
        lw_exposures_stats_t es;
        lw_exposures_stats(p->exp, &es);
        out->exp_assigned = es.assigned;
        out->exp_conflicts = es.conflicts;
        out->exp_dropped = es.dropped;
    }
}

int64_t lw_pipeline_watermark(const lw_pipeline_t *p)
{
    return p->watermark;
}

lw_store_t *lw_pipeline_store(const lw_pipeline_t *p)
{
    return p->store;
}

bool lw_pipeline_has_experiments(const lw_pipeline_t *p)
{
    return p->exp != NULL;
}

const lw_config_t *lw_pipeline_config(const lw_pipeline_t *p)
{
    return p->cfg;
}
