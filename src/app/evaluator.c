/*
 * evaluator.c - see evaluator.h.
 *
 * State, two mutexes, never held together (a thread releases one before it
 * takes the other, so there is no lock order to keep):
 *   mu   guards the mailbox: the queue of posted watermarks, the newest
 *        stall report, the newest loss report (per-partition cumulative
 *        counts, so a report that replaces an unapplied one loses nothing),
 *        the stop request, the failure, the counters.  Held
 *        for microseconds by either thread.
 *   wmu  guards the watcher: held by the evaluator thread for one
 *        lw_watch_advance_max() step or one lw_watch_pipeline() call, by
 *        the consumer thread for lw_watch_reload / lw_watch_reannounce.
 *
 * The queue.  Each entry is a posted watermark `wm` and `from`, the
 * watermark posted before it (INT64_MIN for the first post: the watcher
 * then starts from its stored position).  A new post is merged into the
 * tail when the buckets closed between the tail's `from` and the new
 * watermark stay within LW_WATCH_MAX_ENTRY_SPAN; otherwise it is a new entry.
 * Consecutive entries therefore cover more than the bound together, and
 * QUEUE_MAX entries hold a backlog of at least QUEUE_MAX / 2 x the bound;
 * a full queue merges into the tail anyway.  Merged or not, every closed
 * bucket is evaluated (the watcher skips none, however many one entry
 * closes), so the queue's shape changes only when a stall report applies.
 *
 * The thread:
 *     loop under mu:
 *         loss report pending -> apply it (wmu; lw_watch_losses), loop
 *         stall report pending and every watermark posted before it
 *             evaluated -> apply it (wmu), loop
 *         current entry with buckets left -> [test delay] one evaluation
 *                                            (wmu), loop
 *         queue not empty -> pop into current, count its buckets
 *                            (lw_watch_advance_max with 0 evaluations), loop
 *         stop requested -> leave
 *         wait for a post, a report or a stop
 * backlog = buckets left of the current entry + buckets closed between
 * the current watermark and the newest posted one.
 */
#include "leadwatch/app/evaluator.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leadwatch/core/clock.h"
#include "leadwatch/core/log.h"
#include "leadwatch/core/sync.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/store/store.h"

#define QUEUE_MAX 1024
#define RETRY_MS 60000 /* a locked store: retry an evaluation this long */
#define RETRY_PAUSE_MS 200
#define ERR_SIZE 512
#define REASON_SIZE 200
/* fleet: the lease is confirmed (or tried) this often, and before every evaluation */
#define LEASE_CHECK_MS 1000

typedef struct {
    int64_t wm, from;
} post_t;

#define LOSS_TOPIC_SIZE 256 /* Kafka topic names are at most 249 bytes */

typedef struct {
    char topic[LOSS_TOPIC_SIZE];
    int32_t partition;
    int64_t lost, first, last;
} loss_row_t;

struct lw_evaluator {
    lw_store_t *store;  /* the evaluator's own connection */
    lw_watch_t *watch;  /* fleet: NULL until this member holds the lease */
    lw_watch_deps_t wd; /* how the watch is made (again, when the lease is taken) */
    bool shared;        /* fleet: evaluate only while holding the lease (lease_store) */
    lw_store_t *lease_store;
    bool leader;           /* holds the lease (always, without a fleet); under mu */
    int64_t last_lease_ms; /* mono time of the last lease check */
    lw_promtext_series_t *g_leader;
    int64_t size_ms, grace_ms; /* buckets (a reload cannot change them) */
    int64_t delay_ms;          /* test hook LW_TEST_EVAL_DELAY_MS, 0 = off */
    bool sync;                 /* test hook LW_TEST_EVAL_SYNC: a post waits for its evaluations */
    lw_promtext_series_t *g_backlog;
    pthread_t thread;
    bool started, joined;

    pthread_mutex_t wmu; /* the watcher */
    pthread_mutex_t mu;  /* everything below */
    pthread_cond_t cv;
    post_t queue[QUEUE_MAX];
    size_t qhead, qlen;
    int64_t posted;    /* newest watermark posted, INT64_MIN = none */
    int64_t cur_wm;    /* the entry being evaluated, INT64_MIN = none yet */
    int64_t base;      /* before the first entry: the newest bucket evaluated (or the one
                          before the store's oldest), INT64_MIN = unknown (empty store) */
    uint64_t cur_left; /* its buckets still to evaluate */
    bool stall_pending, stalled;
    int64_t stall_wm; /* the newest watermark posted when the report was made */
    char reason[REASON_SIZE];
    bool has_reason;
    int64_t stall_now;
    bool stop, drain;
    bool idle; /* the thread waits for work with none left (sync: the posts are evaluated) */
    lw_err_t failed;
    char errstr[ERR_SIZE];
    uint64_t evaluations;
    lw_watch_stats_t wst;
    /* the newest loss report (mailbox, under mu) and the thread's copy of it */
    loss_row_t loss[LW_WATCH_MAX_LOSS];
    size_t nloss;
    bool loss_pending;
    int64_t loss_now;
    lw_alert_loss_t loss_apply[LW_WATCH_MAX_LOSS];
    char loss_topic[LW_WATCH_MAX_LOSS][LOSS_TOPIC_SIZE];
    size_t nloss_apply;
};

/* Newest bucket closed by watermark w (metric.h's rule), INT64_MIN when none. */
static int64_t newest_closed(const lw_evaluator_t *ev, int64_t w)
{
    if (w == INT64_MIN || w <= INT64_MIN + 2 * ev->size_ms + ev->grace_ms)
        return INT64_MIN;
    return lw_bucket_start(w - ev->size_ms - ev->grace_ms - 1, ev->size_ms);
}

/* Buckets closed by b and not by a (a <= b). */
static uint64_t closed_between(const lw_evaluator_t *ev, int64_t a, int64_t b)
{
    int64_t na = newest_closed(ev, a), nb = newest_closed(ev, b);
    if (nb == INT64_MIN || (na != INT64_MIN && nb <= na))
        return 0;
    if (na == INT64_MIN)
        return UINT64_MAX; /* unknown start: never merged */
    return (uint64_t)((nb - na) / ev->size_ms);
}

/* mu held: buckets closed by the posted watermarks and not evaluated yet. */
static uint64_t backlog_locked(const lw_evaluator_t *ev)
{
    if (ev->cur_wm == INT64_MIN) {
        int64_t nb = newest_closed(ev, ev->posted);
        if (ev->base == INT64_MIN || nb == INT64_MIN || nb <= ev->base)
            return 0;
        return (uint64_t)((nb - ev->base) / ev->size_ms);
    }
    uint64_t more = closed_between(ev, ev->cur_wm, ev->posted);
    return ev->cur_left + (more == UINT64_MAX ? 0 : more);
}

/* mu held */
static void publish_backlog(lw_evaluator_t *ev)
{
    if (ev->g_backlog)
        lw_promtext_set(ev->g_backlog, (double)backlog_locked(ev));
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* mu held: record the thread's failure (the first one). */
static void set_failed(lw_evaluator_t *ev, lw_err_t err, const char *msg)
{
    if (ev->failed != LW_OK)
        return;
    ev->failed = err;
    snprintf(ev->errstr, sizeof ev->errstr, "evaluator: %s", msg);
    LW_LOG(LW_LOG_ERROR, "evaluator", "stopped: %s", msg);
    pthread_cond_broadcast(&ev->cv);
}

/* SQLite's message for SQLITE_BUSY ("database is locked"): worth a retry. */
static bool store_locked(lw_err_t err, const char *msg)
{
    return err == LW_ERR_STORE && (strstr(msg, "locked") || strstr(msg, "busy"));
}

/* One call into the watch: a step (advance) or a stall report, with its results. */
typedef struct {
    bool stall_report; /* lw_watch_pipeline */
    bool loss_report;  /* lw_watch_losses on loss_apply */
    int64_t wm;        /* step: the watermark */
    size_t max_evals;  /* step: 0 counts, 1 evaluates */
    size_t n;          /* step: evaluations done */
    uint64_t left;     /* step: buckets left */
    bool stalled;      /* stall report */
    const char *reason;
    int64_t now;
} watch_call_t;

/*
 * Make `c` under wmu, retrying a locked store for RETRY_MS, then take mu and
 * record the watch's stats and a failure.  Called without mu; returns with it.
 */
static void call_watch(lw_evaluator_t *ev, watch_call_t *c)
{
    char err[ERR_SIZE] = "";
    lw_err_t e;
    lw_watch_stats_t wst;
    int64_t t0 = lw_clock_mono_ms();
    for (;;) {
        pthread_mutex_lock(&ev->wmu);
        if (c->loss_report)
            e = lw_watch_losses(ev->watch, ev->loss_apply, ev->nloss_apply, c->now, err,
                                sizeof err);
        else if (c->stall_report)
            e = lw_watch_pipeline(ev->watch, c->stalled, c->reason, c->now, err, sizeof err);
        else
            e = lw_watch_advance_max(ev->watch, c->wm, lw_clock_wall_ms(), c->max_evals, &c->n,
                                     &c->left, err, sizeof err);
        lw_watch_stats(ev->watch, &wst);
        pthread_mutex_unlock(&ev->wmu);
        if (!store_locked(e, err) || lw_clock_mono_ms() - t0 > RETRY_MS)
            break;
        LW_LOG(LW_LOG_WARN, "evaluator", "store busy, %s retried: %s",
               c->loss_report    ? "loss report"
               : c->stall_report ? "stall report"
                                 : "evaluation",
               err);
        sleep_ms(RETRY_PAUSE_MS);
    }
    pthread_mutex_lock(&ev->mu);
    ev->wst = wst;
    if (e != LW_OK)
        set_failed(ev, e, err);
}

/*
 * One step on the current entry under wmu: max_evals 0 counts its buckets,
 * 1 evaluates the next one.  Retries a locked store for RETRY_MS.  Called
 * without mu; returns with it held.
 */
static void step(lw_evaluator_t *ev, int64_t wm, size_t max_evals)
{
    watch_call_t c = {.wm = wm, .max_evals = max_evals};
    call_watch(ev, &c);
    ev->evaluations += c.n;
    ev->cur_left = c.left;
    publish_backlog(ev);
}

/*
 * The newest stall report, or (loss) the newest loss report in loss_apply,
 * under wmu, retried as step().  Called without mu; returns with it.
 */
static void apply_report(lw_evaluator_t *ev, bool loss, bool stalled, const char *reason,
                         int64_t now)
{
    watch_call_t c = {.stall_report = !loss,
                      .loss_report = loss,
                      .stalled = stalled,
                      .reason = reason,
                      .now = now};
    call_watch(ev, &c);
}

static void post_locked(lw_evaluator_t *ev, int64_t watermark_ms);

/* The newest bucket evaluated (from the watch), else the one before the store's oldest. */
static void set_base(lw_evaluator_t *ev)
{
    char err[ERR_SIZE];
    lw_watch_stats(ev->watch, &ev->wst);
    ev->base = ev->wst.last_as_of_ms;
    int64_t lo, hi;
    if (ev->base == INT64_MIN &&
        lw_store_bucket_range(ev->store, &lo, &hi, err, sizeof err) == LW_OK)
        ev->base = lo - ev->size_ms;
}

/*
 * Fleet, mu held (released meanwhile; returns with it): confirm or take the
 * lease.  Taken: the watch is made again from the store (the alert table,
 * monitors and last evaluated bucket another holder left), the queue starts
 * over, and the store's watermark is posted: the leader evaluates what every
 * member's flushes closed, not only its own.  Lost: the queue is dropped.
 */
static void lease_check(lw_evaluator_t *ev)
{
    char err[ERR_SIZE] = "", werr[ERR_SIZE] = "";
    bool held = false, was = ev->leader;
    ev->last_lease_ms = lw_clock_mono_ms();
    pthread_mutex_unlock(&ev->mu);
    lw_err_t e = lw_store_lease(ev->lease_store, &held, err, sizeof err);
    if (e != LW_OK) {
        LW_LOG(LW_LOG_WARN, "evaluator", "evaluator lease: %s (retried)", err);
        held = false;
    }
    lw_err_t we = LW_OK;
    int64_t wm = INT64_MIN;
    pthread_mutex_lock(&ev->wmu);
    if (held && !was) {
        lw_watch_destroy(ev->watch);
        ev->watch = NULL;
        we = lw_watch_new(&ev->wd, lw_clock_wall_ms(), &ev->watch, werr, sizeof werr);
    }
    if (held && we == LW_OK &&
        lw_store_get_int(ev->store, LW_KEY_WATERMARK, &wm, err, sizeof err) != LW_OK)
        wm = INT64_MIN;
    pthread_mutex_lock(&ev->mu);
    if (held && !was && we == LW_OK)
        set_base(ev);
    pthread_mutex_unlock(&ev->wmu);
    if (we != LW_OK) {
        set_failed(ev, we, werr);
        return;
    }
    if (held != was) {
        LW_LOG(LW_LOG_INFO, "evaluator", "%s",
               held ? "evaluator lease taken: this member evaluates and alerts"
                    : "evaluator lease lost: another member evaluates and alerts");
        ev->qlen = 0;
        ev->cur_left = 0;
        ev->cur_wm = INT64_MIN;
        ev->posted = INT64_MIN;
        ev->leader = held;
        if (ev->g_leader)
            lw_promtext_set(ev->g_leader, held ? 1.0 : 0.0);
    }
    if (held)
        post_locked(ev, wm);
}

/* mu held: wait for a post, a report or a stop, at most until the next lease check (fleet). */
static void wait_work(lw_evaluator_t *ev)
{
    if (!ev->shared) {
        pthread_cond_wait(&ev->cv, &ev->mu);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += LEASE_CHECK_MS / 1000;
    pthread_cond_timedwait(&ev->cv, &ev->mu, &ts);
}

static void *thread_main(void *arg)
{
    lw_evaluator_t *ev = arg;
    lw_sync_name_thread("lw-evaluator");
    pthread_mutex_lock(&ev->mu);
    while (ev->failed == LW_OK) {
        if (ev->shared) {
            bool work = ev->cur_left > 0 || ev->qlen > 0 || ev->loss_pending || ev->stall_pending;
            if (work || lw_clock_mono_ms() - ev->last_lease_ms >= LEASE_CHECK_MS)
                lease_check(ev);
            if (ev->failed != LW_OK)
                break;
            if (!ev->leader) {
                /* another member evaluates and alerts: nothing here is for this one */
                ev->qlen = 0;
                ev->cur_left = 0;
                ev->loss_pending = ev->stall_pending = false;
                if (ev->stop)
                    break;
                wait_work(ev);
                continue;
            }
        }
        /* a loss report applies at once: it is about offsets, not about buckets */
        if (ev->loss_pending) {
            for (size_t i = 0; i < ev->nloss; i++) {
                ev->loss_apply[i] =
                    (lw_alert_loss_t){ev->loss[i].topic, ev->loss[i].partition, 0,
                                      ev->loss[i].lost,  ev->loss[i].first,     ev->loss[i].last};
                memcpy(ev->loss_topic[i], ev->loss[i].topic, sizeof ev->loss_topic[i]);
                ev->loss_apply[i].topic = ev->loss_topic[i];
            }
            ev->nloss_apply = ev->nloss;
            ev->loss_pending = false;
            int64_t now = ev->loss_now;
            pthread_mutex_unlock(&ev->mu);
            apply_report(ev, true, false, NULL, now);
            continue;
        }
        /* a stall report applies once the data posted before it is evaluated */
        if (ev->stall_pending &&
            (ev->stall_wm == INT64_MIN || (ev->cur_wm >= ev->stall_wm && ev->cur_left == 0))) {
            char reason[REASON_SIZE];
            bool stalled = ev->stalled, has = ev->has_reason;
            int64_t now = ev->stall_now;
            snprintf(reason, sizeof reason, "%s", ev->reason);
            ev->stall_pending = false;
            pthread_mutex_unlock(&ev->mu);
            apply_report(ev, false, stalled, has ? reason : NULL, now);
            continue;
        }
        if (ev->stop && !ev->drain)
            break;
        if (ev->cur_left > 0) {
            int64_t wm = ev->cur_wm;
            pthread_mutex_unlock(&ev->mu);
            if (ev->delay_ms > 0)
                sleep_ms(ev->delay_ms); /* test hook (evaluator.h) */
            step(ev, wm, 1);
            continue;
        }
        if (ev->qlen > 0) {
            post_t p = ev->queue[ev->qhead];
            ev->qhead = (ev->qhead + 1) % QUEUE_MAX;
            ev->qlen--;
            ev->cur_wm = p.wm;
            ev->cur_left = 0;
            pthread_mutex_unlock(&ev->mu);
            step(ev, p.wm, 0); /* counts its buckets */
            continue;
        }
        if (ev->stop)
            break; /* drained */
        ev->idle = true;
        if (ev->sync)
            pthread_cond_broadcast(&ev->cv); /* a post waiting for its evaluations */
        wait_work(ev);
        ev->idle = false;
    }
    pthread_cond_broadcast(&ev->cv);
    pthread_mutex_unlock(&ev->mu);
    return NULL;
}

/* LW_TEST_EVAL_SYNC: true when set to 1. */
static bool test_sync(bool shared)
{
    const char *s = getenv("LW_TEST_EVAL_SYNC");
    if (!s || strcmp(s, "1") != 0)
        return false;
    if (shared) {
        LW_LOG(LW_LOG_WARN, "evaluator", "test hook LW_TEST_EVAL_SYNC ignored in a fleet");
        return false;
    }
    LW_LOG(LW_LOG_WARN, "evaluator",
           "test hook LW_TEST_EVAL_SYNC: the consumer waits for each flush's evaluations");
    return true;
}

/* LW_TEST_EVAL_DELAY_MS: 0 when unset or not a number in 0..600000. */
static int64_t test_delay(void)
{
    const char *s = getenv("LW_TEST_EVAL_DELAY_MS");
    if (!s || !*s)
        return 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || v < 0 || v > 600000) {
        LW_LOG(LW_LOG_WARN, "evaluator", "LW_TEST_EVAL_DELAY_MS=%s ignored (0..600000)", s);
        return 0;
    }
    if (v > 0)
        LW_LOG(LW_LOG_WARN, "evaluator",
               "test hook LW_TEST_EVAL_DELAY_MS: every evaluation waits %lld ms first", v);
    return (int64_t)v;
}

lw_err_t lw_evaluator_new(const lw_evaluator_opts_t *o, int64_t now_ms, lw_evaluator_t **out,
                          char *errstr, size_t errstr_size)
{
    *out = NULL;
    if (!o->store_target || strcmp(o->store_target, ":memory:") == 0 ||
        strcmp(o->store_target, "sqlite::memory:") == 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "the daemon needs a store file (the evaluator reads it on its own "
                         "connection), not %s",
                         o->store_target ? o->store_target : "none");
    lw_evaluator_t *ev = calloc(1, sizeof *ev);
    if (!ev)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    ev->size_ms = o->cfg->buckets.size_ms;
    ev->grace_ms = o->cfg->buckets.grace_ms;
    ev->posted = ev->cur_wm = ev->base = INT64_MIN;
    lw_err_t err = LW_OK;
    if (pthread_mutex_init(&ev->mu, NULL) != 0) {
        free(ev);
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "evaluator: cannot create a mutex");
    }
    err = lw_sync_pair_init(&ev->wmu, &ev->cv, "evaluator", errstr, errstr_size);
    if (err != LW_OK)
        goto destroy_mu;
    err = lw_store_open(o->store_target, 0, &ev->store, errstr, errstr_size);
    if (err != LW_OK)
        goto destroy_cv;
    if (o->metrics) {
        lw_promtext_family_t *f;
        err = lw_promtext_family(o->metrics, LW_PROMTEXT_GAUGE, "evaluation_backlog_buckets",
                                 "buckets closed by the committed watermark and not evaluated yet",
                                 NULL, 0, NULL, 0, &f, errstr, errstr_size);
        if (err != LW_OK)
            goto close_store;
        ev->g_backlog = lw_promtext_series(f, NULL);
    }
    ev->wd = (lw_watch_deps_t){
        .cfg = o->cfg, .store = ev->store, .metrics = o->metrics, .sink = o->sink};
    ev->shared = lw_store_shared(ev->store);
    ev->leader = !ev->shared;
    if (ev->shared) {
        /* the lease lives on its own connection: the evaluations' may reconnect at any time */
        err = lw_store_open(o->store_target, 0, &ev->lease_store, errstr, errstr_size);
        if (err == LW_OK && o->metrics) {
            lw_promtext_family_t *f;
            err = lw_promtext_family(o->metrics, LW_PROMTEXT_GAUGE, "evaluator_leader",
                                     "fleet: 1 while this member holds the evaluator lease "
                                     "(evaluates and alerts)",
                                     NULL, 0, NULL, 0, &f, errstr, errstr_size);
            if (err == LW_OK)
                ev->g_leader = lw_promtext_series(f, NULL);
        }
        if (err != LW_OK)
            goto close_store;
        ev->last_lease_ms = INT64_MIN / 2;
    } else {
        err = lw_watch_new(&ev->wd, now_ms, &ev->watch, errstr, errstr_size);
        if (err != LW_OK)
            goto close_store;
        set_base(ev);
    }
    ev->delay_ms = test_delay();
    ev->sync = test_sync(ev->shared);
    if (pthread_create(&ev->thread, NULL, thread_main, ev) != 0) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "evaluator: cannot start the thread");
        goto destroy_watch;
    }
    ev->started = true;
    *out = ev;
    return LW_OK;

/* The goto-cleanup unwind (STYLE.md), like lw_promtext_new's: each undoes its own steps. */
destroy_watch:
    lw_watch_destroy(ev->watch);
close_store:
    lw_store_close(ev->lease_store);
    lw_store_close(ev->store);
destroy_cv:
    pthread_cond_destroy(&ev->cv);
    pthread_mutex_destroy(&ev->wmu);
destroy_mu:
    pthread_mutex_destroy(&ev->mu);
    free(ev);
    return err;
}

void lw_evaluator_post(lw_evaluator_t *ev, int64_t watermark_ms)
{
    pthread_mutex_lock(&ev->mu);
    post_locked(ev, watermark_ms);
    /* test hook: wait until the thread has nothing left (the post wakes it first: idle is
     * false from the moment it takes mu until it runs out of work again) */
    if (ev->sync && ev->posted == watermark_ms && watermark_ms != INT64_MIN)
        while (!ev->stop && ev->failed == LW_OK && (!ev->idle || ev->qlen > 0 || ev->cur_left > 0))
            pthread_cond_wait(&ev->cv, &ev->mu);
    pthread_mutex_unlock(&ev->mu);
}

/* mu held */
static void post_locked(lw_evaluator_t *ev, int64_t watermark_ms)
{
    if (watermark_ms == INT64_MIN || (ev->posted != INT64_MIN && watermark_ms <= ev->posted))
        return;
    bool merged = false;
    if (ev->qlen > 0) {
        post_t *tail = &ev->queue[(ev->qhead + ev->qlen - 1) % QUEUE_MAX];
        bool fits = closed_between(ev, tail->from, watermark_ms) <= LW_WATCH_MAX_ENTRY_SPAN;
        if (fits || ev->qlen == QUEUE_MAX) {
            tail->wm = watermark_ms;
            merged = true;
        }
    }
    if (!merged) {
        ev->queue[(ev->qhead + ev->qlen) % QUEUE_MAX] = (post_t){watermark_ms, ev->posted};
        ev->qlen++;
    }
    ev->posted = watermark_ms;
    publish_backlog(ev);
    pthread_cond_signal(&ev->cv);
}

void lw_evaluator_pipeline(lw_evaluator_t *ev, bool stalled, const char *reason, int64_t now_ms)
{
    pthread_mutex_lock(&ev->mu);
    ev->stall_pending = true;
    ev->stalled = stalled;
    ev->has_reason = reason != NULL;
    snprintf(ev->reason, sizeof ev->reason, "%s", reason ? reason : "");
    ev->stall_now = now_ms;
    ev->stall_wm = ev->posted;
    pthread_cond_signal(&ev->cv);
    pthread_mutex_unlock(&ev->mu);
}

void lw_evaluator_losses(lw_evaluator_t *ev, const lw_alert_loss_t *l, size_t n, int64_t now_ms)
{
    pthread_mutex_lock(&ev->mu);
    ev->nloss = 0;
    for (size_t i = 0; i < n && ev->nloss < LW_WATCH_MAX_LOSS; i++) {
        if (!l[i].topic || l[i].lost_total <= 0)
            continue;
        loss_row_t *r = &ev->loss[ev->nloss++];
        snprintf(r->topic, sizeof r->topic, "%s", l[i].topic);
        r->partition = l[i].partition;
        r->lost = l[i].lost_total;
        r->first = l[i].first;
        r->last = l[i].last;
    }
    ev->loss_pending = true;
    ev->loss_now = now_ms;
    pthread_cond_signal(&ev->cv);
    pthread_mutex_unlock(&ev->mu);
}

lw_err_t lw_evaluator_reload(lw_evaluator_t *ev, const lw_config_t *cfg, lw_alertsink_t *sink,
                             char *errstr, size_t errstr_size)
{
    pthread_mutex_lock(&ev->wmu);
    lw_err_t err = ev->watch ? lw_watch_reload(ev->watch, cfg, sink, errstr, errstr_size) : LW_OK;
    if (err == LW_OK) {
        ev->wd.cfg = cfg;
        ev->wd.sink = sink;
    }
    pthread_mutex_unlock(&ev->wmu);
    return err;
}

void lw_evaluator_reannounce(lw_evaluator_t *ev, int64_t now_ms)
{
    pthread_mutex_lock(&ev->wmu);
    if (ev->watch)
        lw_watch_reannounce(ev->watch, now_ms);
    pthread_mutex_unlock(&ev->wmu);
}

lw_err_t lw_evaluator_failed(lw_evaluator_t *ev, char *errstr, size_t errstr_size)
{
    pthread_mutex_lock(&ev->mu);
    lw_err_t err = ev->failed;
    if (err != LW_OK)
        lw_seterr(errstr, errstr_size, err, "%s", ev->errstr);
    pthread_mutex_unlock(&ev->mu);
    return err;
}

lw_err_t lw_evaluator_finish(lw_evaluator_t *ev, bool drain, char *errstr, size_t errstr_size)
{
    if (ev->started && !ev->joined) {
        int64_t t0 = lw_clock_mono_ms();
        pthread_mutex_lock(&ev->mu);
        uint64_t before = ev->evaluations, backlog = backlog_locked(ev);
        if (drain && backlog > 0 && ev->failed == LW_OK)
            LW_LOG(LW_LOG_INFO, "evaluator",
                   "evaluating the %llu closed bucket(s) left before exiting",
                   (unsigned long long)backlog);
        ev->stop = true;
        ev->drain = drain;
        pthread_cond_signal(&ev->cv);
        pthread_mutex_unlock(&ev->mu);
        pthread_join(ev->thread, NULL);
        ev->joined = true;
        if (drain && ev->evaluations > before)
            LW_LOG(LW_LOG_INFO, "evaluator", "%llu evaluation(s) after the final flush in %.1f s",
                   (unsigned long long)(ev->evaluations - before),
                   (double)(lw_clock_mono_ms() - t0) / 1000.0);
        if (ev->g_backlog && drain && ev->failed == LW_OK)
            lw_promtext_set(ev->g_backlog, 0.0);
    }
    return lw_evaluator_failed(ev, errstr, errstr_size);
}

void lw_evaluator_stats(lw_evaluator_t *ev, lw_evaluator_stats_t *out)
{
    pthread_mutex_lock(&ev->mu);
    *out = (lw_evaluator_stats_t){.backlog = backlog_locked(ev),
                                  .posted_ms = ev->posted,
                                  .evaluations = ev->evaluations,
                                  .watch = ev->wst};
    pthread_mutex_unlock(&ev->mu);
}

void lw_evaluator_destroy(lw_evaluator_t *ev)
{
    if (!ev)
        return;
    char err[ERR_SIZE];
    (void)lw_evaluator_finish(ev, false, err, sizeof err);
    lw_watch_destroy(ev->watch);
    lw_store_close(ev->lease_store);
    lw_store_close(ev->store);
    pthread_cond_destroy(&ev->cv);
    pthread_mutex_destroy(&ev->wmu);
    pthread_mutex_destroy(&ev->mu);
    free(ev);
}
