/*
 * consumer_rebalance.c - the Kafka consumer's rebalance handling, split from
 * consumer.c (see its file comment, "Rebalance", "Unreadable committed
 * offsets" and the fleet notes in consumer.h): on assign, claim the
 * partitions in a shared store and compute each start offset from the
 * store's position and the group's committed offset (pausing a partition
 * whose committed offset cannot be read, retried by lw_kc_retry_blocked);
 * on revoke or loss, flush, commit synchronously (bounded) and release;
 * fencing in a fleet (another member claimed a partition) and the reseek
 * after a refused flush.  The state is consumer_int.h's.
 */
#include "leadwatch/ingest/consumer.h"
#include "leadwatch/ingest/consumer_int.h"

#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "leadwatch/core/log.h"
#include "leadwatch/core/clock.h"
#include "leadwatch/ingest/produce.h"

/* ---- rebalance ---- */

/* auto.offset.reset as a logical offset, for a seek (a paused partition resolved late). */
static int64_t reset_offset(const lw_consumer_t *c)
{
    char v[32] = "";
    size_t vlen = sizeof v;
    rd_kafka_conf_get(rd_kafka_conf(c->rk), "auto.offset.reset", v, &vlen);
    return strcmp(v, "latest") == 0 || strcmp(v, "largest") == 0 || strcmp(v, "end") == 0
               ? RD_KAFKA_OFFSET_END
               : RD_KAFKA_OFFSET_BEGINNING;
}

/*
 * The start offset of a partition (consumer.h): max(store, group), else
 * RD_KAFKA_OFFSET_INVALID (auto.offset.reset).  Sets the row's next and
 * confirmed and logs where the start came from.
 */
static int64_t start_offset(part_t *pt, bool found, const lw_position_t *stored, int64_t committed)
{
    const char *why;
    int64_t start;
    if (found && stored->position >= committed) {
        start = stored->position;
        why = "the store";
    } else if (committed >= 0) {
        start = committed;
        why = found ? "the group's committed offset, ahead of the store (failover)"
                    : "the group's committed offset (not in the store)";
    } else {
        start = RD_KAFKA_OFFSET_INVALID; /* committed, else auto.offset.reset */
        why = "auto.offset.reset (neither the store nor the group has an offset)";
    }
    pt->next = start >= 0 ? start : -1;
    pt->confirmed = committed;
    pt->inflight = -1;
    if (start >= 0)
        LW_LOG(LW_LOG_INFO, "consumer", "assigned kafka:%s:%d at offset %lld from %s", pt->topic,
               (int)pt->partition, (long long)start, why);
    else
        LW_LOG(LW_LOG_INFO, "consumer", "assigned kafka:%s:%d from %s", pt->topic,
               (int)pt->partition, why);
    return start;
}

/* The group's committed offset of element i of a successful rd_kafka_committed(), -1 none. */
static int64_t committed_of(const rd_kafka_topic_partition_t *tp)
{
    return tp->err == RD_KAFKA_RESP_ERR_NO_ERROR && tp->offset >= 0 ? tp->offset : -1;
}

/* A claim in the making: the row, and what the store answered for it. */
typedef struct {
    part_t *pt;
    char name[LW_PIPELINE_MAX_SOURCE_NAME];
    int64_t epoch, max_time;
    lw_position_t pos;
    bool found;
} claim_t;

static int claim_order(const void *a, const void *b)
{
    return strcmp(((const claim_t *)a)->name, ((const claim_t *)b)->name);
}

/* One claim transaction over `cl` (sorted); LW_ERR_RETRY when the store broke a deadlock. */
static lw_err_t claim_once(lw_consumer_t *c, claim_t *cl, size_t n, char *err, size_t errsz)
{
    lw_store_t *st = lw_pipeline_store(c->p);
    lw_err_t e = lw_store_begin(st, err, errsz);
    for (size_t i = 0; i < n && e == LW_OK; i++) {
        e = lw_store_claim(st, cl[i].name, c->owner, &cl[i].epoch, &cl[i].max_time, err, errsz);
        if (e == LW_OK) {
            e = lw_store_get_position(st, cl[i].name, &cl[i].pos, err, errsz);
            cl[i].found = e == LW_OK;
            if (e == LW_ERR_NOT_FOUND)
                e = LW_OK;
        }
    }
    if (e == LW_OK)
        e = lw_store_commit(st, err, errsz);
    if (e != LW_OK)
        lw_store_rollback(st);
    return e;
}

/*
 * Fleet: claim the assigned partitions in the shared store (consumer.h):
 * in one transaction, in name order, each one's owner epoch is raised and
 * its position and newest event time read; the pipeline's sources take
 * them.  The positions in `stored`/`found` (indexed like `parts`) are
 * replaced by the ones read.  False with the consumer failed when the store
 * fails.
 */
static bool claim(lw_consumer_t *c, rd_kafka_topic_partition_list_t *parts, part_t **rows,
                  lw_position_t *stored, bool *found)
{
    char err[KAFKA_ERRMSG];
    claim_t *cl = calloc((size_t)parts->cnt + 1, sizeof *cl);
    if (!cl) {
        lw_kc_fail(c, LW_ERR_NOMEM, "out of memory");
        return false;
    }
    size_t n = 0;
    for (int i = 0; i < parts->cnt; i++) {
        if (!rows[i])
            continue;
        cl[n].pt = rows[i];
        snprintf(cl[n].name, sizeof cl[n].name, "kafka:%s:%d", rows[i]->topic,
                 (int)rows[i]->partition);
        n++;
    }
    qsort(cl, n, sizeof *cl, claim_order);
    lw_err_t e = claim_once(c, cl, n, err, sizeof err);
    for (int t = 0; e == LW_ERR_RETRY && t < 5; t++)
        e = claim_once(c, cl, n, err, sizeof err);
    if (e != LW_OK) {
        free(cl);
        lw_kc_fail(c, e, "claiming the assigned partitions in the store failed: %s", err);
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        lw_pipeline_source_claim(c->p, cl[k].pt->source, cl[k].epoch, cl[k].max_time, &cl[k].pos,
                                 cl[k].found);
        for (int i = 0; i < parts->cnt; i++) {
            if (rows[i] == cl[k].pt) {
                stored[i] = cl[k].pos;
                found[i] = cl[k].found;
            }
        }
        LW_LOG(LW_LOG_INFO, "consumer", "claimed %s at owner epoch %lld", cl[k].name,
               (long long)cl[k].epoch);
    }
    free(cl);
    return true;
}

static void assign(lw_consumer_t *c, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *comm = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_resp_err_t ce = rd_kafka_committed(c->rk, comm, COMMITTED_TIMEOUT_MS);
    size_t np = (size_t)parts->cnt + 1;
    part_t **rows = calloc(np, sizeof *rows);
    lw_position_t *stored_v = calloc(np, sizeof *stored_v);
    bool *found_v = calloc(np, sizeof *found_v);
    size_t *at = calloc(np, sizeof *at); /* row index + 1, 0 none */
    if (!rows || !stored_v || !found_v || !at)
        lw_kc_fail(c, LW_ERR_NOMEM, "out of memory");
    /* every row first, by index (part_get may grow, and so move, the table), then pointers */
    for (int i = 0; i < parts->cnt && c->failed == LW_OK && at; i++) {
        part_t *pt = lw_kc_part_get(c, parts->elems[i].topic, parts->elems[i].partition,
                                    &stored_v[i], &found_v[i]);
        at[i] = pt ? (size_t)(pt - c->parts) + 1 : 0;
    }
    for (int i = 0; i < parts->cnt && c->failed == LW_OK && at; i++) {
        rows[i] = at[i] ? &c->parts[at[i] - 1] : NULL;
        if (rows[i])
            rows[i]->fenced = rows[i]->reseek = false;
    }
    free(at);
    if (c->shared && c->failed == LW_OK)
        (void)claim(c, parts, rows, stored_v, found_v);
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        part_t *pt = c->failed == LW_OK && rows ? rows[i] : NULL;
        lw_position_t stored = pt ? stored_v[i] : (lw_position_t){0};
        bool found = pt ? found_v[i] : false;
        if (!pt) {
            /* the store failed: consume nothing */
            tp->offset = RD_KAFKA_OFFSET_END;
            continue;
        }
        pt->active = true;
        pt->eof = false;
        rd_kafka_resp_err_t pe = ce != RD_KAFKA_RESP_ERR_NO_ERROR ? ce : comm->elems[i].err;
        pt->blocked = pe != RD_KAFKA_RESP_ERR_NO_ERROR;
        if (pt->blocked) {
            /* never start from the store alone: another member may have
             * consumed past it; paused until the read succeeds (poll) */
            c->st.committed_read_errors++;
            LW_LOG(LW_LOG_ERROR, "consumer",
                   "kafka:%s:%d: cannot read the group's committed offset (%s); the partition is "
                   "paused (not started from the store, which could count another member's "
                   "messages again) and the read is retried every %d ms",
                   tp->topic, (int)tp->partition, rd_kafka_err2str(pe), COMMITTED_RETRY_MS);
            pt->next = -1;
            pt->confirmed = -1;
            pt->inflight = -1;
            tp->offset = found ? stored.position : RD_KAFKA_OFFSET_END;
            continue;
        }
        tp->offset = start_offset(pt, found, &stored, committed_of(&comm->elems[i]));
    }
    free(rows);
    free(stored_v);
    free(found_v);
    rd_kafka_topic_partition_list_destroy(comm);
}

/*
 * Fleet: a flush was refused (LW_ERR_FENCED: another member claimed one of
 * our partitions since we did).  Nothing of it committed, so everything
 * this member fed since its last flush is dropped (lw_pipeline_discard);
 * every partition it still owns (same epoch in the store) goes back to the
 * store's position (re-read) and is sought there on the next poll; the ones
 * claimed by another member are paused and fed nothing until Kafka revokes
 * them.  Counted in fenced_flushes.  False with the consumer failed when
 * the store cannot be read.
 */
bool lw_kc_on_fenced(lw_consumer_t *c, const char *why)
{
    char err[KAFKA_ERRMSG];
    lw_store_t *st = lw_pipeline_store(c->p);
    c->st.fenced_flushes++;
    LW_LOG(LW_LOG_WARN, "consumer",
           "%s; this member's unflushed events are dropped and its partitions re-read from "
           "the store",
           why);
    lw_pipeline_discard(c->p);
    rd_kafka_topic_partition_list_t *lost = rd_kafka_topic_partition_list_new(4);
    for (size_t i = 0; i < c->nparts && c->failed == LW_OK; i++) {
        part_t *pt = &c->parts[i];
        int64_t mine, now = -1, max_time = INT64_MIN;
        if (!pt->active || pt->fenced || !lw_pipeline_source_claimed(c->p, pt->source, &mine))
            continue;
        char name[LW_PIPELINE_MAX_SOURCE_NAME];
        snprintf(name, sizeof name, "kafka:%s:%d", pt->topic, (int)pt->partition);
        lw_err_t e = lw_store_owner(st, name, &now, &max_time, err, sizeof err);
        lw_position_t pos = {0};
        bool found = false;
        if (e == LW_OK && now == mine) {
            e = lw_store_get_position(st, name, &pos, err, sizeof err);
            found = e == LW_OK;
            if (e == LW_ERR_NOT_FOUND)
                e = LW_OK;
        }
        if (e != LW_OK && e != LW_ERR_NOT_FOUND) {
            lw_kc_fail(c, e, "re-reading %s after a refused flush: %s", name, err);
            break;
        }
        if (e == LW_OK && now == mine) {
            lw_pipeline_source_claim(c->p, pt->source, mine, max_time, &pos, found);
            pt->next = found ? pos.position : -1;
            pt->reseek = true;
            pt->eof = false;
            pt->idle = false;
            c->reseek_needed = true;
            continue;
        }
        LW_LOG(LW_LOG_WARN, "consumer",
               "%s belongs to another member now (owner epoch %lld, ours %lld): paused until "
               "revoked",
               name, (long long)now, (long long)mine);
        lw_pipeline_source_release(c->p, pt->source);
        pt->fenced = true;
        pt->idle = true;
        rd_kafka_topic_partition_list_add(lost, pt->topic, pt->partition);
    }
    if (lost->cnt > 0)
        (void)rd_kafka_pause_partitions(c->rk, lost);
    rd_kafka_topic_partition_list_destroy(lost);
    return c->failed == LW_OK;
}

/* Fleet: seek every row put back by lw_kc_on_fenced() to its `next` (from lw_consumer_poll). */
void lw_kc_reseek_rows(lw_consumer_t *c)
{
    if (!c->reseek_needed)
        return;
    c->reseek_needed = false;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    for (size_t i = 0; i < c->nparts; i++) {
        part_t *pt = &c->parts[i];
        if (pt->active && pt->reseek)
            rd_kafka_topic_partition_list_add(l, pt->topic, pt->partition)->offset =
                pt->next >= 0 ? pt->next : reset_offset(c);
    }
    rd_kafka_error_t *error =
        l->cnt > 0 ? rd_kafka_seek_partitions(c->rk, l, COMMITTED_RETRY_TIMEOUT_MS) : NULL;
    if (error) {
        LW_LOG(LW_LOG_WARN, "consumer", "seek after a refused flush: %s (retried)",
               rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        c->reseek_needed = true;
    } else {
        /* librdkafka drops what was fetched before the seek (its version barrier) */
        for (size_t i = 0; i < c->nparts; i++)
            c->parts[i].reseek = false;
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* A pipeline flush; a refused one (fleet) is handled by on_fenced and is not a failure. */
lw_err_t lw_kc_flush_pipeline(lw_consumer_t *c, char *errstr, size_t errstr_size, bool *fenced)
{
    lw_err_t err = lw_pipeline_flush(c->p, c->mono_ms, errstr, errstr_size);
    *fenced = err == LW_ERR_FENCED;
    if (*fenced)
        return lw_kc_on_fenced(c, errstr) ? LW_OK : c->failed;
    return err;
}

/* Pause the blocked rows among `parts` (right after they were assigned). */
static void pause_blocked(lw_consumer_t *c, const rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++) {
        part_t *pt = lw_kc_part_find(c, parts->elems[i].topic, parts->elems[i].partition);
        if (pt && pt->blocked)
            rd_kafka_topic_partition_list_add(l, pt->topic, pt->partition);
    }
    if (l->cnt > 0) {
        rd_kafka_resp_err_t e = rd_kafka_pause_partitions(c->rk, l);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            LW_LOG(LW_LOG_ERROR, "consumer", "cannot pause: %s", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/*
 * From lw_consumer_poll, at most every COMMITTED_RETRY_MS: read the group's
 * committed offsets of the blocked rows again; each one that answers seeks
 * to its start offset and resumes.
 */
void lw_kc_retry_blocked(lw_consumer_t *c)
{
    if (c->mono_ms - c->last_committed_retry_ms < COMMITTED_RETRY_MS)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    for (size_t i = 0; i < c->nparts; i++) {
        if (c->parts[i].active && c->parts[i].blocked)
            rd_kafka_topic_partition_list_add(l, c->parts[i].topic, c->parts[i].partition);
    }
    if (l->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(l);
        return;
    }
    c->last_committed_retry_ms = c->mono_ms;
    rd_kafka_resp_err_t ce = rd_kafka_committed(c->rk, l, COMMITTED_RETRY_TIMEOUT_MS);
    rd_kafka_topic_partition_list_t *go = rd_kafka_topic_partition_list_new(l->cnt);
    for (int i = 0; i < l->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &l->elems[i];
        part_t *pt = lw_kc_part_find(c, tp->topic, tp->partition);
        rd_kafka_resp_err_t pe = ce != RD_KAFKA_RESP_ERR_NO_ERROR ? ce : tp->err;
        if (pe != RD_KAFKA_RESP_ERR_NO_ERROR) {
            c->st.committed_read_errors++;
            LW_LOG(LW_LOG_ERROR, "consumer",
                   "kafka:%s:%d: still cannot read the group's committed offset (%s); paused",
                   tp->topic, (int)tp->partition, rd_kafka_err2str(pe));
            continue;
        }
        lw_position_t fl;
        bool found = lw_pipeline_source_flushed(c->p, pt->source, &fl);
        int64_t start = start_offset(pt, found, &fl, committed_of(tp));
        rd_kafka_topic_partition_list_add(go, tp->topic, tp->partition)->offset =
            start >= 0 ? start : reset_offset(c);
        pt->blocked = false;
    }
    if (go->cnt > 0) {
        rd_kafka_error_t *error = rd_kafka_seek_partitions(c->rk, go, COMMITTED_RETRY_TIMEOUT_MS);
        if (error) {
            LW_LOG(LW_LOG_ERROR, "consumer", "seek after the committed offset read: %s",
                   rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
        }
        rd_kafka_resp_err_t e = rd_kafka_resume_partitions(c->rk, go);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            LW_LOG(LW_LOG_ERROR, "consumer", "resume: %s", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(go);
    rd_kafka_topic_partition_list_destroy(l);
    assert(lw_consumer_check(c, NULL, 0));
}

static void revoke_parts(lw_consumer_t *c, rd_kafka_topic_partition_list_t *parts, bool lost)
{
    char err[KAFKA_ERRMSG];
    if (c->failed == LW_OK) {
        bool fenced = false;
        lw_err_t e = lw_kc_flush_pipeline(c, err, sizeof err, &fenced);
        if (e != LW_OK)
            lw_kc_fail(c, e, "store flush on revocation failed: %s", err);
        else if (!lost && !fenced)
            lw_kc_commit_kafka(c, parts, true);
    }
    for (int i = 0; i < parts->cnt; i++) {
        part_t *pt = lw_kc_part_find(c, parts->elems[i].topic, parts->elems[i].partition);
        if (pt) {
            pt->active = false;
            pt->blocked = false;
            pt->eof = false;
            if (pt->fenced) {
                /* librdkafka keeps a pause across revoke and assign: paused when fenced,
                 * a partition that came back would never be fetched again */
                rd_kafka_topic_partition_list_t *one = rd_kafka_topic_partition_list_new(1);
                rd_kafka_topic_partition_list_add(one, pt->topic, pt->partition);
                (void)rd_kafka_resume_partitions(c->rk, one);
                rd_kafka_topic_partition_list_destroy(one);
            }
            pt->fenced = pt->reseek = false;
            /* no longer ours: it must not hold the watermark back (fleet: its new
             * owner's claim makes it active again in the store) */
            if (c->shared)
                lw_pipeline_source_release(c->p, pt->source);
            else
                lw_pipeline_source_idle(c->p, pt->source);
            pt->idle = true;
            LW_LOG(LW_LOG_INFO, "consumer", "revoked kafka:%s:%d at offset %lld%s", pt->topic,
                   (int)pt->partition, (long long)pt->next, lost ? " (lost)" : "");
        }
    }
}

void lw_kc_handle_rebalance(lw_consumer_t *c, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t *parts)
{
    /* first, the batch in the feed worker: fed and applied before the
     * rebalance flushes or reads the store (consumer_feed.c) */
    (void)lw_kc_feed_drain(c);
    bool coop = strcmp(rd_kafka_rebalance_protocol(c->rk), "COOPERATIVE") == 0;
    c->st.rebalances++;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        assign(c, parts);
        if (coop)
            error = rd_kafka_incremental_assign(c->rk, parts);
        else
            e = rd_kafka_assign(c->rk, parts);
        if (!error && e == RD_KAFKA_RESP_ERR_NO_ERROR)
            pause_blocked(c, parts);
    } else {
        bool lost = err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(c->rk);
        revoke_parts(c, parts, lost);
        if (coop)
            error = rd_kafka_incremental_unassign(c->rk, parts);
        else
            e = rd_kafka_assign(c->rk, NULL);
    }
    if (error) {
        LW_LOG(LW_LOG_ERROR, "consumer", "assignment change failed: %s",
               rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        LW_LOG(LW_LOG_ERROR, "consumer", "assignment change failed: %s", rd_kafka_err2str(e));
    }
    int n = 0, nb = 0;
    for (size_t i = 0; i < c->nparts; i++) {
        n += c->parts[i].active;
        nb += c->parts[i].active && c->parts[i].blocked;
    }
    c->st.assigned = n;
    c->st.blocked = nb;
    assert(lw_consumer_check(c, NULL, 0));
}

void lw_kc_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    (void)rk;
    lw_kc_handle_rebalance(opaque, err, parts);
}

void lw_kc_on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    lw_consumer_t *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[KAFKA_ERRMSG];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
        lw_kc_fail(c, LW_ERR_KAFKA, "fatal Kafka error: %s: %s", rd_kafka_err2name(orig), why);
        return;
    }
    /* transient (broker down, timeouts): librdkafka retries by itself */
    LW_LOG(LW_LOG_WARN, "consumer", "Kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err),
           reason);
}
