/*
 * consumer.c - see consumer.h.
 *
 * Files: this one holds the lifecycle, the poll loop, offset commits,
 * the fetch wake-up and broker contact; consumer_feed.c the per-message
 * path and the feed worker thread; consumer_rebalance.c the rebalance
 * callback (claims, assign, revoke, fencing, paused partitions); they share
 * the state below through the private consumer_int.h.
 *
 * State: a table of partitions ever assigned to this instance (bounded by
 * LW_KAFKA_MAX_PARTITIONS).  Each row holds the topic, the partition, its
 * pipeline source id, `next` (the offset after the last message fed, -1
 * while unknown), `confirmed` (the group's committed offset as Kafka last
 * confirmed it: read at assignment, then every commit Kafka acknowledged;
 * -1 when none), `inflight` (the offset of a commit sent and not yet
 * answered, -1 when none), `active` (assigned now), `blocked` (assigned but
 * paused: the group's committed offset could not be read, see below) and
 * `eof` (the fetcher reached the end and nothing arrived since).  Rows are
 * never removed: a revoked partition that comes back reuses its pipeline
 * source, whose in-memory position equals the store's because revocation
 * flushes.
 *
 * Offset commits.  The offset wanted in Kafka is the store's flushed
 * position (lw_pipeline_source_flushed), never the position fed, so Kafka's
 * committed offset cannot pass the store.  A commit is sent when the wanted
 * offset is above `confirmed` and not already in flight; the commit
 * callback (per partition: one partition of a request may fail alone)
 * raises `confirmed` on success and clears `inflight` either way.  A
 * refused commit is therefore retried: after every flush, and from
 * lw_consumer_poll at most every COMMIT_RETRY_MS while a partition is
 * unconfirmed, so a partition that went quiet after a refusal still gets
 * its offset into Kafka (issue 18: it used to be marked committed when sent).
 *
 * Unreadable committed offsets.  On assignment the start offset needs the
 * group's committed offset (another member may have consumed the partition
 * since this store last saw it).  When rd_kafka_committed() fails, the
 * partition is assigned but paused (`blocked`) rather than started from the
 * store: starting from the store would recount the other member's share.
 * lw_consumer_poll retries the read every COMMITTED_RETRY_MS; once it
 * succeeds the partition seeks to its start offset and resumes.  Each
 * failed read is logged as an error and counted (committed_read_errors);
 * `blocked` in the stats says how many partitions wait.  Messages of a
 * blocked partition that got through before the pause are dropped unfed.
 *
 * Message path (lw_consumer_poll): rd_kafka_consume_batch_queue() on the
 * consumer queue, up to POLL_BATCH messages per call (one queue lock and
 * one clock read per batch instead of per message: leadwatch's own
 * thread is the bottleneck of a catch-up, bench/RESULTS.md); only when the
 * queue is empty and the caller may wait, rd_kafka_consumer_poll() waits
 * (it returns at the first message, a batch call would wait for a full
 * batch or the whole timeout) → consumer_feed.c: classify the batch here,
 * feed it (decode, dedup, aggregate) on the feed worker thread while this
 * thread takes the next batches, apply the results here in order; per
 * message: find the row
 * (one-entry cache, then a linear scan; the table is small) → feed the
 * payload with position = offset + 1.  A message below the row's next
 * offset was fed already and is skipped (counted as stale_skipped):
 * librdkafka drops messages of a revoked assignment from a batch by its
 * version barrier, this guard keeps exactly-once even if one got through.
 * Errors on messages are events: PARTITION_EOF marks the row idle, others
 * are logged.  Rebalance callbacks run inside the batch call, as they do
 * inside rd_kafka_consumer_poll(); they first wait for the worker and apply
 * every batch in flight, as lw_consumer_poll() does before it returns.
 *
 * Loss.  Offsets are dense in a plain (non-transactional, non-compacted)
 * topic, so a message (or an end of partition) at an offset beyond the
 * row's `next` means the offsets between were never delivered: the broker
 * deleted them (retention, or a truncation) before this consumer read
 * them, and librdkafka's auto.offset.reset moved the fetch position on
 * (earliest: to the log's new start; latest: to its end).  count_lost()
 * adds them to the row's `lost` and to stats.events_lost and logs an error
 * naming the range.  An end of partition beyond `next` also moves `next`
 * there, so the same gap is not counted twice in this process; the
 * store's position only moves with the next message fed, so a restart
 * before any new message counts (and logs) the same gap again.  Known
 * limit: a transactional topic's commit markers and a compacted topic's
 * removed keys are gaps too, and are counted.
 *
 * Lag (lw_consumer_lag): per active row, `next` against librdkafka's cached
 * high watermark, which every fetch response refreshes; a fresh
 * ListOffsets request per scrape was rejected: /metrics must not wait on
 * the broker, and while consuming the cache is at most one fetch old.
 *
 * Fetch wake-up.  librdkafka before 2.2 stops fetching a partition while
 * the consumer queue holds queued.min.messages or queued.max.messages.kbytes
 * and nothing wakes its broker thread when the application drains the
 * queue: it fetches again only when its 1-second serve window ends, so a
 * consumer slower than the fetcher (any catch-up on a fast network) idles
 * most of every second (measured: 0.3 M msgs/s instead of 1.4 M, see
 * bench/RESULTS.md).  Any request to a broker wakes its thread, so once a
 * batch saw the queue at a threshold (length, or length times the average
 * message size) and a later batch sees it below (or, as librdkafka's byte
 * count is not visible, when a poll finds the queue empty while an
 * assigned partition is not at its end, at most every
 * WAKE_EMPTY_INTERVAL_MS), the consumer hands a helper thread one
 * rd_kafka_offsets_for_times(latest) over the assigned partitions: a
 * ListOffsets to every leader, whose round trip (2-10 ms on loopback) is
 * spent on that thread while this one keeps draining the queue.  A
 * synchronous wake-up at half the queue cost ~4 ms per fill on the
 * consuming thread and left the fetcher idle while the second half
 * drained (0.9 M vs 1.9 M msgs/s with the bounded prefetch).  2.2 made the
 * wait configurable (fetch.queue.backoff.ms, set to 10 ms by default
 * here), so there is no helper thread there.
 *
 * Rebalance: the callback (and, while closing, the same handler driven by
 * REBALANCE events from the close queue) computes start offsets on assign
 * (store position vs. rd_kafka_committed(), see consumer.h) and on revoke
 * flushes, commits synchronously (bounded) and releases.  The assign/unassign
 * calls follow rd_kafka_rebalance_protocol(): incremental for COOPERATIVE,
 * full otherwise.
 *
 * Broker contact (lw_consumer_broker_silence_ms, for readiness): librdkafka
 * reports its statistics every statistics.interval.ms (BROKER_STATS_MS
 * unless source.kafka sets it) through the stats callback, served by the
 * same polls as the messages; a report in which a real broker (source
 * "configured" or "learned", not librdkafka's internal or logical ones) is
 * in state UP or UPDATE is contact.  Only the `brokers` object is scanned
 * (stats_broker_up, a bounded walk that skips strings), not parsed.  The
 * same report's "cgrp" object gives the group's state and join state
 * (stats_member), which the daemon's progress line shows while no
 * partition is assigned: a member stuck in a join says so in its log.
 *
 * Synchronous commits go through rd_kafka_commit_queue() on a private queue
 * polled with a deadline rather than rd_kafka_commit(async=0), which can
 * block for as long as the coordinator is unreachable; shutdown must be
 * bounded.
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
#include "leadwatch/core/sync.h"
#include "leadwatch/ingest/produce.h"

lw_err_t lw_kc_fail(lw_consumer_t *c, lw_err_t err, const char *fmt, ...)
{
    if (c->failed == LW_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->failmsg, sizeof c->failmsg, fmt, ap);
        va_end(ap);
        c->failed = err;
        LW_LOG(LW_LOG_ERROR, "consumer", "%s", c->failmsg);
    }
    return c->failed;
}

static lw_err_t failed(const lw_consumer_t *c, char *errstr, size_t errstr_size)
{
    return lw_seterr(errstr, errstr_size, c->failed, "%s", c->failmsg);
}

/* ---- partition table ---- */

part_t *lw_kc_part_find(lw_consumer_t *c, const char *topic, int32_t partition)
{
    if (c->last_hit < c->nparts) {
        part_t *pt = &c->parts[c->last_hit];
        if (pt->partition == partition && strcmp(pt->topic, topic) == 0)
            return pt;
    }
    for (size_t i = 0; i < c->nparts; i++) {
        if (c->parts[i].partition == partition && strcmp(c->parts[i].topic, topic) == 0) {
            c->last_hit = i;
            return &c->parts[i];
        }
    }
    return NULL;
}

/* Find or add the row and register its pipeline source; NULL with the consumer failed. */
part_t *lw_kc_part_get(lw_consumer_t *c, const char *topic, int32_t partition,
                       lw_position_t *stored, bool *found)
{
    char name[LW_PIPELINE_MAX_SOURCE_NAME];
    char err[KAFKA_ERRMSG];
    if ((size_t)snprintf(name, sizeof name, "kafka:%s:%d", topic, (int)partition) >= sizeof name) {
        lw_kc_fail(c, LW_ERR_TOO_LARGE, "topic name too long: %s", topic);
        return NULL;
    }
    int source = lw_pipeline_add_source(c->p, name, stored, found, err, sizeof err);
    if (source < 0) {
        lw_kc_fail(c, LW_ERR_STORE, "%s: %s", name, err);
        return NULL;
    }
    part_t *pt = lw_kc_part_find(c, topic, partition);
    if (pt)
        return pt;
    if (c->nparts == c->cap_parts) {
        if (c->cap_parts == LW_KAFKA_MAX_PARTITIONS) {
            lw_kc_fail(c, LW_ERR_TOO_LARGE, "more than %d partitions assigned",
                       LW_KAFKA_MAX_PARTITIONS);
            return NULL;
        }
        size_t cap = c->cap_parts ? c->cap_parts * 2 : 16;
        if (cap > LW_KAFKA_MAX_PARTITIONS)
            cap = LW_KAFKA_MAX_PARTITIONS;
        part_t *np = realloc(c->parts, cap * sizeof *np);
        if (!np) {
            lw_kc_fail(c, LW_ERR_NOMEM, "out of memory");
            return NULL;
        }
        c->parts = np;
        c->cap_parts = cap;
    }
    pt = &c->parts[c->nparts];
    memset(pt, 0, sizeof *pt);
    pt->topic = strdup(topic);
    if (!pt->topic) {
        lw_kc_fail(c, LW_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pt->partition = partition;
    pt->source = source;
    pt->next = -1;
    pt->confirmed = -1;
    pt->inflight = -1;
    c->nparts++;
    return pt;
}

/* ---- commits ---- */

/* The offset Kafka should hold for the row: the store's flushed position, -1 when none. */
static int64_t wanted(const lw_consumer_t *c, const part_t *pt)
{
    lw_position_t fl;
    if (!pt->active || pt->blocked || pt->fenced ||
        !lw_pipeline_source_flushed(c->p, pt->source, &fl))
        return -1;
    return fl.position;
}

static bool needs_commit(const lw_consumer_t *c, const part_t *pt)
{
    int64_t w = wanted(c, pt);
    return w >= 0 && w > pt->confirmed && w != pt->inflight;
}

/*
 * Kafka's answer to one commit request: per partition, raise `confirmed` on
 * success and clear `inflight` either way (so a refused offset is sent again).
 * Without a partition list (a request-level failure) every in-flight row is
 * cleared.
 */
static void commit_result(lw_consumer_t *c, rd_kafka_resp_err_t err,
                          const rd_kafka_topic_partition_list_t *offsets)
{
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return; /* nothing was to be committed */
    bool ok = err == RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_resp_err_t first = err;
    for (int i = 0; offsets && i < offsets->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &offsets->elems[i];
        part_t *pt = lw_kc_part_find(c, tp->topic, tp->partition);
        if (!pt)
            continue;
        if (pt->inflight == tp->offset)
            pt->inflight = -1;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR && tp->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (tp->offset > pt->confirmed)
                pt->confirmed = tp->offset;
        } else if (tp->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            ok = false;
            if (first == RD_KAFKA_RESP_ERR_NO_ERROR)
                first = tp->err;
        }
    }
    if (!offsets && !ok) {
        for (size_t i = 0; i < c->nparts; i++)
            c->parts[i].inflight = -1;
    }
    if (ok) {
        c->st.kafka_commits++;
    } else {
        c->st.kafka_commit_errors++;
        LW_LOG(LW_LOG_WARN, "consumer",
               "offset commit to Kafka failed (the store has them; retried): %s",
               rd_kafka_err2str(first));
    }
}

typedef struct {
    lw_consumer_t *c;
    bool done;
} commit_wait_t;

static void on_sync_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    (void)rk;
    commit_wait_t *w = opaque;
    w->done = true;
    commit_result(w->c, err, offsets);
}

/* The rows of `which` (all when NULL) whose store position Kafka lacks; marked in flight. */
static rd_kafka_topic_partition_list_t *moved_offsets(lw_consumer_t *c,
                                                      const rd_kafka_topic_partition_list_t *which)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    for (size_t i = 0; i < c->nparts; i++) {
        part_t *pt = &c->parts[i];
        if (!needs_commit(c, pt))
            continue;
        if (which && !rd_kafka_topic_partition_list_find(which, pt->topic, pt->partition))
            continue;
        pt->inflight = wanted(c, pt);
        rd_kafka_topic_partition_list_add(l, pt->topic, pt->partition)->offset = pt->inflight;
    }
    return l;
}

/*
 * Commit the store's flushed offsets that Kafka does not hold yet.  Every
 * offset sent is already in the store (moved_offsets reads the flushed
 * position).  A refused commit is logged and counted, never fatal (the
 * store, not Kafka, is the record of progress), and retried later.
 */
void lw_kc_commit_kafka(lw_consumer_t *c, const rd_kafka_topic_partition_list_t *which, bool sync)
{
    rd_kafka_topic_partition_list_t *l = moved_offsets(c, which);
    if (l->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(l);
        return;
    }
    assert(lw_consumer_check(c, NULL, 0));
    if (!sync) {
        rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, l, 1);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            commit_result(c, e, l); /* not sent: no callback will come */
        rd_kafka_topic_partition_list_destroy(l);
        return;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    commit_wait_t w = {c, false};
    rd_kafka_resp_err_t e = rd_kafka_commit_queue(c->rk, l, q, on_sync_commit, &w);
    const int64_t t0 = lw_clock_mono_ms();
    while (e == RD_KAFKA_RESP_ERR_NO_ERROR && !w.done) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
        if (ev) {
            if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT) {
                w.done = true;
                commit_result(c, rd_kafka_event_error(ev), rd_kafka_event_topic_partition_list(ev));
            }
            rd_kafka_event_destroy(ev);
        }
        if (lw_clock_mono_ms() - t0 > SYNC_COMMIT_TIMEOUT_MS) {
            e = RD_KAFKA_RESP_ERR__TIMED_OUT;
        }
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        commit_result(c, e, l); /* not sent, or no answer in time: clear, count, retry later */
    rd_kafka_queue_destroy(q);
    rd_kafka_topic_partition_list_destroy(l);
}

static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    (void)rk;
    commit_result(opaque, err, offsets);
}

/* From lw_consumer_poll: send again what Kafka refused (at most every COMMIT_RETRY_MS). */
static void retry_commits(lw_consumer_t *c)
{
    if (c->mono_ms - c->last_commit_retry_ms < COMMIT_RETRY_MS)
        return;
    for (size_t i = 0; i < c->nparts; i++) {
        const part_t *pt = &c->parts[i];
        if (pt->inflight < 0 && needs_commit(c, pt)) {
            c->last_commit_retry_ms = c->mono_ms;
            lw_kc_commit_kafka(c, NULL, false);
            return;
        }
    }
}

/* ---- broker contact ---- */

/* Skip the JSON string starting at s[i] == '"'; the index after its closing quote. */
static size_t skip_string(const char *s, size_t i, size_t len, char *out, size_t out_size)
{
    size_t n = 0;
    for (i++; i < len && s[i] != '"'; i++) {
        if (s[i] == '\\')
            i++;
        else if (n + 1 < out_size)
            out[n++] = s[i];
    }
    if (out_size)
        out[n] = '\0';
    return i + 1;
}

static size_t skip_space(const char *s, size_t i, size_t len)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
        i++;
    return i;
}

/* Does a librdkafka statistics report show a real broker connected? */
static bool stats_broker_up(const char *json, size_t len)
{
    static const char key[] = "\"brokers\"";
    size_t i = 0;
    for (; i + sizeof key - 1 <= len; i++)
        if (memcmp(json + i, key, sizeof key - 1) == 0)
            break;
    i = skip_space(json, i + sizeof key - 1, len);
    if (i >= len || json[i] != ':')
        return false;
    i = skip_space(json, i + 1, len);
    if (i >= len || json[i] != '{')
        return false;
    i++;
    int depth = 1; /* inside `brokers`; 2 = inside one broker's object */
    char name[32], source[16] = "", state[16] = "";
    while (i < len && depth > 0) {
        char ch = json[i];
        if (ch == '"') {
            i = skip_string(json, i, len, name, sizeof name);
            if (depth != 2)
                continue;
            size_t v = skip_space(json, i, len);
            if (v >= len || json[v] != ':')
                continue;
            v = skip_space(json, v + 1, len);
            if (v >= len || json[v] != '"')
                continue;
            /* a string member of a broker object */
            char val[16];
            i = skip_string(json, v, len, val, sizeof val);
            if (strcmp(name, "source") == 0)
                memcpy(source, val, sizeof source);
            else if (strcmp(name, "state") == 0)
                memcpy(state, val, sizeof state);
            continue;
        }
        if (ch == '{') {
            depth++;
        } else if (ch == '}') {
            if (depth == 2) {
                bool real = strcmp(source, "configured") == 0 || strcmp(source, "learned") == 0;
                if (real && (strcmp(state, "UP") == 0 || strcmp(state, "UPDATE") == 0))
                    return true;
                source[0] = state[0] = '\0';
            }
            depth--;
        }
        i++;
    }
    return false;
}

/* The first occurrence of pat[0..n) in s[0..len), NULL when none (glibc's memmem needs
 * _GNU_SOURCE). */
static const char *find_bytes(const char *s, size_t len, const char *pat, size_t n)
{
    for (size_t i = 0; i + n <= len; i++)
        if (s[i] == pat[0] && memcmp(s + i, pat, n) == 0)
            return s + i;
    return NULL;
}

/*
 * The string member `key` of the flat object `obj` (librdkafka's "cgrp": no
 * nested objects) of a statistics report into out; false when absent.
 */
static bool stats_member(const char *json, size_t len, const char *obj, const char *key, char *out,
                         size_t out_size)
{
    char pat[32];
    int n = snprintf(pat, sizeof pat, "\"%s\"", obj);
    const char *o = n > 0 && (size_t)n < sizeof pat ? find_bytes(json, len, pat, (size_t)n) : NULL;
    if (!o)
        return false;
    size_t i = (size_t)(o - json) + (size_t)n, end = i;
    while (end < len && json[end] != '}')
        end = json[end] == '"' ? skip_string(json, end, len, NULL, 0) : end + 1;
    n = snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *k =
        n > 0 && (size_t)n < sizeof pat ? find_bytes(json + i, end - i, pat, (size_t)n) : NULL;
    if (!k)
        return false;
    i = skip_space(json, (size_t)(k - json) + (size_t)n, end);
    if (i >= end || json[i] != ':')
        return false;
    i = skip_space(json, i + 1, end);
    if (i >= end || json[i] != '"')
        return false;
    skip_string(json, i, end, out, out_size);
    return true;
}

static int on_stats(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    (void)rk;
    lw_consumer_t *c = opaque;
    if (stats_broker_up(json, json_len))
        c->broker_seen_ms = c->mono_ms;
    stats_member(json, json_len, "cgrp", "state", c->st.group_state, sizeof c->st.group_state);
    stats_member(json, json_len, "cgrp", "join_state", c->st.join_state, sizeof c->st.join_state);
    stats_member(json, json_len, "cgrp", "rebalance_reason", c->st.rebalance_reason,
                 sizeof c->st.rebalance_reason);
    return 0; /* librdkafka frees json */
}

int64_t lw_consumer_broker_silence_ms(const lw_consumer_t *c, int64_t mono_ms)
{
    if (!c->broker_tracked || c->broker_seen_ms == INT64_MIN)
        return -1;
    return mono_ms > c->broker_seen_ms ? mono_ms - c->broker_seen_ms : 0;
}

/* ---- lifecycle ---- */

static void *waker_main(void *arg);
static void stop_waker(lw_consumer_t *c);

static bool has_prop(const lw_kafka_settings_t *ks, const char *key)
{
    for (size_t i = 0; i < ks->nprops; i++) {
        if (strcmp(ks->props[i].key, key) == 0 && ks->props[i].value[0])
            return true;
    }
    return false;
}

lw_consumer_t *lw_consumer_new(const lw_kafka_settings_t *ks, lw_pipeline_t *p, char *errstr,
                               size_t errstr_size)
{
    static const lw_kafka_prop_t forced[] = {{"enable.auto.commit", "false"},
                                             {"enable.auto.offset.store", "false"},
                                             {"enable.partition.eof", "true"}};
    char err[KAFKA_ERRMSG];
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_topic_partition_list_t *topics = NULL;

    if (ks->nprops > LW_KAFKA_MAX_PROPS || ks->ntopics > LW_KAFKA_MAX_TOPICS) {
        lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "more than %d Kafka properties or topics",
                  LW_KAFKA_MAX_PROPS);
        return NULL;
    }
    if (ks->ntopics == 0) {
        lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "source.topics: no topic to consume");
        return NULL;
    }
    if (!has_prop(ks, "group.id")) {
        lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "source.kafka.group.id: required");
        return NULL;
    }
    if (!has_prop(ks, "bootstrap.servers") && !has_prop(ks, "metadata.broker.list")) {
        lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "source.kafka.bootstrap.servers: required");
        return NULL;
    }
    lw_consumer_t *c = lw_calloc_err(1, sizeof *c, errstr, errstr_size);
    if (!c)
        return NULL;
    c->p = p;
    if (lw_store_shared(lw_pipeline_store(p))) {
        /* Assignments are held per member (loaded at start) and a fenced flush
         * drops only the series' pending state, so a fleet would miscount the
         * experiment sums: refused until both are shared (README, fleet limits). */
        if (lw_pipeline_has_experiments(p)) {
            lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                      "experiments: is not supported by `run` on a PostgreSQL store "
                      "(store.url) yet: exposures are assigned per member; ingest them with "
                      "`leadwatch ingest`, or run on SQLite");
            free(c);
            return NULL;
        }
        char host[64] = "?";
        (void)gethostname(host, sizeof host - 1);
        snprintf(c->owner, sizeof c->owner, "%s:%ld", host, (long)getpid());
        c->shared = true;
        lw_pipeline_set_shared(p);
    }
    conf = lw_kafka_conf_new(ks->props, ks->nprops, forced, sizeof forced / sizeof forced[0], err,
                             sizeof err);
    if (!conf) {
        lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "source.kafka.%s", err);
        goto out_free;
    }
    for (size_t i = 0; i < ks->nprops; i++) {
        for (size_t f = 0; f < sizeof forced / sizeof forced[0]; f++) {
            if (strcmp(ks->props[i].key, forced[f].key) == 0 &&
                strcmp(ks->props[i].value, forced[f].value) != 0)
                LW_LOG(LW_LOG_WARN, "consumer",
                       "source.kafka.%s=%s is overridden: leadwatch forces %s=%s (the store "
                       "owns the offsets)",
                       forced[f].key, ks->props[i].value, forced[f].key, forced[f].value);
        }
    }
    if (!has_prop(ks, "auto.offset.reset"))
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", NULL, 0);
    /* Bounded prefetch (LW_KAFKA_DEFAULT_* in consumer.h): librdkafka's
     * own defaults queue up to 100,000 messages and fetch up to 50 MiB per
     * request, ~70 MiB of RSS in a catch-up (bench/RESULTS.md).  Each key
     * applies only when source.kafka leaves it (and its companions) unset. */
    static const struct {
        const char *key, *value, *unless[4];
    } prefetch[] = {
        {"queued.min.messages", LW_KAFKA_DEFAULT_QUEUED_MIN_MESSAGES, {NULL}},
        {"queued.max.messages.kbytes", LW_KAFKA_DEFAULT_QUEUED_MAX_KBYTES, {NULL}},
        /* fetch.max.bytes must stay >= message.max.bytes and the per-partition limit */
        {"fetch.max.bytes",
         LW_KAFKA_DEFAULT_FETCH_MAX_BYTES,
         {"message.max.bytes", "fetch.message.max.bytes", "max.partition.fetch.bytes",
          "receive.message.max.bytes"}},
    };
    for (size_t i = 0; i < sizeof prefetch / sizeof prefetch[0]; i++) {
        bool set = has_prop(ks, prefetch[i].key);
        for (size_t u = 0; u < 4 && prefetch[i].unless[u]; u++)
            set = set || has_prop(ks, prefetch[i].unless[u]);
        if (!set)
            rd_kafka_conf_set(conf, prefetch[i].key, prefetch[i].value, NULL, 0);
    }
    /* librdkafka stops fetching when its prefetch queue is full and, before
     * 2.2, looks again only after up to a second (its broker thread's serve
     * window): a consumer slower than the fetcher then idles most of that
     * second (bench/bench_kafka.c measures it).  2.2 made the wait
     * fetch.queue.backoff.ms, default 1000; a short one costs only a queue
     * check per broker every few milliseconds while the queue is full. */
    if (rd_kafka_version() >= FETCH_QUEUE_BACKOFF_VERSION &&
        !has_prop(ks, "fetch.queue.backoff.ms"))
        rd_kafka_conf_set(conf, "fetch.queue.backoff.ms", FETCH_QUEUE_BACKOFF_MS, NULL, 0);
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, lw_kc_on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
    rd_kafka_conf_set_error_cb(conf, lw_kc_on_error);
    rd_kafka_conf_set_log_cb(conf, lw_kafka_log_cb);
    if (!has_prop(ks, "statistics.interval.ms"))
        rd_kafka_conf_set(conf, "statistics.interval.ms", BROKER_STATS_MS, NULL, 0);
    char sv[32];
    size_t svlen = sizeof sv;
    c->broker_tracked =
        rd_kafka_conf_get(conf, "statistics.interval.ms", sv, &svlen) == RD_KAFKA_CONF_OK &&
        strtoll(sv, NULL, 10) > 0;
    c->broker_seen_ms = INT64_MIN;
    if (c->broker_tracked)
        rd_kafka_conf_set_stats_cb(conf, on_stats);

    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!c->rk) {
        lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "cannot create the Kafka consumer: %s", err);
        goto out_conf;
    }
    conf = NULL; /* owned by rk now */
    rd_kafka_poll_set_consumer(c->rk);
    c->q = rd_kafka_queue_get_consumer(c->rk);
    if (!c->q) {
        lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "no consumer queue (is group.id set?)");
        goto out_rk;
    }
    if (rd_kafka_version() < FETCH_QUEUE_BACKOFF_VERSION) {
        char v[32];
        size_t vlen = sizeof v;
        const rd_kafka_conf_t *rconf = rd_kafka_conf(c->rk);
        if (rd_kafka_conf_get(rconf, "queued.min.messages", v, &vlen) == RD_KAFKA_CONF_OK)
            c->queue_min_msgs = strtoll(v, NULL, 10);
        vlen = sizeof v;
        if (rd_kafka_conf_get(rconf, "queued.max.messages.kbytes", v, &vlen) == RD_KAFKA_CONF_OK)
            c->queue_max_bytes = strtoll(v, NULL, 10) * 1024;
        if (c->queue_min_msgs > 0 && c->queue_max_bytes > 0) {
            pthread_mutex_init(&c->wake_mu, NULL);
            pthread_cond_init(&c->wake_cv, NULL);
            if (pthread_create(&c->waker, NULL, waker_main, c) != 0) {
                pthread_cond_destroy(&c->wake_cv);
                pthread_mutex_destroy(&c->wake_mu);
                lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "cannot start the fetch waker thread");
                goto out_rk;
            }
            c->waker_started = true;
        }
    }
    {
        const rd_kafka_conf_t *rconf = rd_kafka_conf(c->rk);
        char qm[32] = "?", qk[32] = "?", fm[32] = "?";
        size_t l1 = sizeof qm, l2 = sizeof qk, l3 = sizeof fm;
        rd_kafka_conf_get(rconf, "queued.min.messages", qm, &l1);
        rd_kafka_conf_get(rconf, "queued.max.messages.kbytes", qk, &l2);
        rd_kafka_conf_get(rconf, "fetch.max.bytes", fm, &l3);
        LW_LOG(LW_LOG_INFO, "consumer",
               "librdkafka %s; prefetch queued.min.messages=%s queued.max.messages.kbytes=%s "
               "fetch.max.bytes=%s%s",
               rd_kafka_version_str(), qm, qk, fm,
               c->waker_started ? "; fetch wake-up thread on (librdkafka < 2.2)" : "");
    }

    if (ks->dead_letter_topic) {
        c->dlq = lw_producer_new(ks->props, ks->nprops, err, sizeof err);
        if (!c->dlq) {
            lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "source.kafka.%s", err);
            goto out_rk;
        }
        c->dlq_topic = ks->dead_letter_topic;
    }

    topics = rd_kafka_topic_partition_list_new((int)ks->ntopics);
    for (size_t i = 0; i < ks->ntopics; i++)
        rd_kafka_topic_partition_list_add(topics, ks->topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "cannot subscribe: %s", rd_kafka_err2str(e));
        goto out_rk;
    }
    if (!lw_kc_feed_start(c))
        LW_LOG(LW_LOG_WARN, "consumer",
               "cannot start the feed worker thread: messages are fed on the polling thread");
    return c;

out_rk:
    lw_consumer_destroy(c);
    return NULL;
out_conf:
    rd_kafka_conf_destroy(conf);
out_free:
    free(c);
    return NULL;
}

/*
 * The waker thread: sends each list it is handed as one
 * rd_kafka_offsets_for_times(latest), a ListOffsets to every leader, which
 * wakes that leader's broker thread.  The round trip (2-10 ms on loopback,
 * up to WAKE_TIMEOUT_MS) is spent here, not on the thread that consumes.
 */
static void *waker_main(void *arg)
{
    lw_consumer_t *c = arg;
    lw_sync_name_thread("lw-fetch-wake");
    pthread_mutex_lock(&c->wake_mu);
    for (;;) {
        while (!c->wake_list && !c->wake_quit)
            pthread_cond_wait(&c->wake_cv, &c->wake_mu);
        if (c->wake_quit)
            break;
        rd_kafka_topic_partition_list_t *l = c->wake_list;
        c->wake_list = NULL;
        pthread_mutex_unlock(&c->wake_mu);
        rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(c->rk, l, WAKE_TIMEOUT_MS);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            LW_LOG(LW_LOG_DEBUG, "consumer", "fetch wake-up: %s", rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_destroy(l);
        pthread_mutex_lock(&c->wake_mu);
    }
    pthread_mutex_unlock(&c->wake_mu);
    return NULL;
}

/* Hand the waker ListOffsets(latest) for every assigned partition (replacing one not yet sent). */
static void wake_fetchers(lw_consumer_t *c)
{
    if (!c->waker_started)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)c->nparts);
    for (size_t i = 0; i < c->nparts; i++) {
        if (c->parts[i].active)
            rd_kafka_topic_partition_list_add(l, c->parts[i].topic, c->parts[i].partition)->offset =
                RD_KAFKA_OFFSET_END;
    }
    if (l->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(l);
        return;
    }
    c->st.fetch_wakeups++;
    pthread_mutex_lock(&c->wake_mu);
    rd_kafka_topic_partition_list_t *old = c->wake_list;
    c->wake_list = l;
    pthread_cond_signal(&c->wake_cv);
    pthread_mutex_unlock(&c->wake_mu);
    if (old)
        rd_kafka_topic_partition_list_destroy(old);
}

/* true when an assigned partition is not at its end: an empty queue means the fetcher is behind */
static bool behind(const lw_consumer_t *c)
{
    for (size_t i = 0; i < c->nparts; i++) {
        if (c->parts[i].active && !c->parts[i].eof)
            return true;
    }
    return false;
}

/* After each batch: arm at a fetch-stop threshold, wake the fetchers once below it again. */
static void check_fetch_stop(lw_consumer_t *c)
{
    int64_t len = (int64_t)rd_kafka_queue_length(c->q);
    int64_t avg = c->st.messages > 0 ? c->bytes_fed / c->st.messages : 0;
    int64_t bytes = len * avg;
    if (len >= c->queue_min_msgs || bytes >= c->queue_max_bytes)
        c->wake_needed = true;
    else if (c->wake_needed) {
        c->wake_needed = false;
        wake_fetchers(c);
    }
}

lw_err_t lw_consumer_poll(lw_consumer_t *c, int timeout_ms, int max_messages, int64_t now_ms,
                          int64_t mono_ms, int *nfed, char *errstr, size_t errstr_size)
{
    *nfed = 0;
    c->now_ms = now_ms;
    c->mono_ms = mono_ms;
    if (c->broker_seen_ms == INT64_MIN)
        c->broker_seen_ms = mono_ms; /* contact is counted from the first poll */
    if (c->failed != LW_OK)
        return failed(c, errstr, errstr_size);
    int done = 0;
    bool stop = false;
    c->fw.nfed = 0;
    c->fw.stopped = false;
    while (done < max_messages && !stop) {
        int want = max_messages - done < POLL_BATCH ? max_messages - done : POLL_BATCH;
        feed_job_t *job = lw_kc_feed_free_job(c); /* earlier batches may be in the feed worker */
        if (!job)
            break; /* an earlier batch stopped the message path */
        ssize_t got = rd_kafka_consume_batch_queue(c->q, 0, job->msg, (size_t)want);
        if (got <= 0 && done == 0 && timeout_ms > 0) {
            if (c->waker_started && c->failed == LW_OK && behind(c) &&
                mono_ms - c->last_wake_ms >= WAKE_EMPTY_INTERVAL_MS) {
                c->last_wake_ms = mono_ms;
                wake_fetchers(c);
            }
            /* not a batch call: it would wait the whole timeout for a full
             * batch, this returns with the first message */
            job->msg[0] = rd_kafka_consumer_poll(c->rk, timeout_ms);
            got = job->msg[0] ? 1 : 0;
        }
        if (got <= 0)
            break;
        job->n = (int)got;
        stop = lw_kc_feed_batch(c, job); /* classified, handed over or processed here */
        done += (int)got;
        if (c->waker_started && c->failed == LW_OK)
            check_fetch_stop(c);
        if (got < want && got > 1)
            break; /* drained (a single message came from the blocking wait) */
    }
    (void)lw_kc_feed_drain(c); /* from here on the pipeline is this thread's alone */
    *nfed = c->fw.nfed;
    for (size_t i = 0; i < c->nparts; i++) {
        part_t *pt = &c->parts[i];
        if (pt->active && pt->eof && !pt->idle && mono_ms - pt->eof_since >= IDLE_AFTER_MS) {
            lw_pipeline_source_idle(c->p, pt->source);
            pt->idle = true;
        }
    }
    if (c->dlq)
        lw_producer_poll(c->dlq);
    if (c->failed == LW_OK) {
        lw_kc_reseek_rows(c);
        lw_kc_retry_blocked(c);
        retry_commits(c);
        int nb = 0;
        for (size_t i = 0; i < c->nparts; i++)
            nb += c->parts[i].active && c->parts[i].blocked;
        c->st.blocked = nb;
    }
    if (c->failed != LW_OK)
        return failed(c, errstr, errstr_size);
    return LW_OK;
}

lw_err_t lw_consumer_flush(lw_consumer_t *c, int64_t mono_ms, bool sync, char *errstr,
                           size_t errstr_size)
{
    (void)lw_kc_feed_drain(c); /* a no-op between polls: lw_consumer_poll drains */
    if (c->failed != LW_OK)
        return failed(c, errstr, errstr_size);
    c->mono_ms = mono_ms;
    bool fenced = false;
    lw_err_t err = lw_kc_flush_pipeline(c, errstr, errstr_size, &fenced);
    if (err != LW_OK) {
        lw_kc_fail(c, err, "store flush failed: %s", errstr);
        return failed(c, errstr, errstr_size);
    }
    if (!fenced)
        lw_kc_commit_kafka(c, NULL, sync);
    return LW_OK;
}

bool lw_consumer_idle(const lw_consumer_t *c)
{
    int n = 0;
    for (size_t i = 0; i < c->nparts; i++) {
        if (!c->parts[i].active)
            continue;
        if (!c->parts[i].eof)
            return false;
        n++;
    }
    return n > 0;
}

lw_err_t lw_consumer_close(lw_consumer_t *c, int64_t mono_ms, int timeout_ms, char *errstr,
                           size_t errstr_size)
{
    lw_err_t err = LW_OK;
    stop_waker(c); /* nothing is consumed from here on */
    if (c->failed == LW_OK)
        err = lw_consumer_flush(c, mono_ms, true, errstr, errstr_size);
    else
        err = failed(c, errstr, errstr_size);

    /* leave the group; rebalance events arrive on the close queue */
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_error_t *error = rd_kafka_consumer_close_queue(c->rk, q);
    if (error) {
        LW_LOG(LW_LOG_WARN, "consumer", "close: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else {
        const int64_t t0 = lw_clock_mono_ms();
        for (;;) {
            if (rd_kafka_consumer_closed(c->rk))
                break;
            if (lw_clock_mono_ms() - t0 > timeout_ms) {
                LW_LOG(LW_LOG_WARN, "consumer",
                       "did not leave the group within %d ms; closing anyway", timeout_ms);
                break;
            }
            rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);
            if (!ev)
                continue;
            if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE)
                lw_kc_handle_rebalance(c, rd_kafka_event_error(ev),
                                       rd_kafka_event_topic_partition_list(ev));
            rd_kafka_event_destroy(ev);
        }
    }
    rd_kafka_queue_destroy(q);
    if (c->dlq) {
        char derr[KAFKA_ERRMSG];
        if (lw_producer_flush(c->dlq, timeout_ms, derr, sizeof derr) != LW_OK)
            LW_LOG(LW_LOG_WARN, "consumer", "dead-letter topic: %s", derr);
    }
    if (err == LW_OK && c->failed != LW_OK)
        err = failed(c, errstr, errstr_size);
    return err;
}

/* Stop and join the waker (a wake-up in flight ends within WAKE_TIMEOUT_MS). */
static void stop_waker(lw_consumer_t *c)
{
    if (!c->waker_started)
        return;
    lw_sync_set_signal(&c->wake_mu, &c->wake_cv, &c->wake_quit);
    pthread_join(c->waker, NULL);
    if (c->wake_list)
        rd_kafka_topic_partition_list_destroy(c->wake_list);
    c->wake_list = NULL;
    pthread_cond_destroy(&c->wake_cv);
    pthread_mutex_destroy(&c->wake_mu);
    c->waker_started = false;
}

void lw_consumer_destroy(lw_consumer_t *c)
{
    if (!c)
        return;
    lw_kc_feed_stop(c); /* before rd_kafka_destroy: a batch's messages are librdkafka's */
    lw_producer_destroy(c->dlq);
    stop_waker(c);
    if (c->q)
        rd_kafka_queue_destroy(c->q);
    if (c->rk)
        rd_kafka_destroy_flags(c->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    for (size_t i = 0; i < c->nparts; i++)
        free(c->parts[i].topic);
    free(c->parts);
    free(c);
}

/* One row's lag from librdkafka's cached high watermark (no broker round trip). */
static lw_consumer_lag_t part_lag(rd_kafka_t *rk, const part_t *pt)
{
    lw_consumer_lag_t l = {pt->topic, pt->partition, -1, -1, -1, pt->lost, -1, -1};
    if (pt->lost > 0) {
        l.lost_first = pt->lost_first;
        l.lost_last = pt->lost_last;
    }
    if (pt->next >= 0)
        l.position = pt->next;
    else if (pt->eof && pt->eof_at >= 0)
        l.position = pt->eof_at; /* nothing fed since the reset: at the end */
    int64_t low, high;
    if (rd_kafka_get_watermark_offsets(rk, pt->topic, pt->partition, &low, &high) ==
            RD_KAFKA_RESP_ERR_NO_ERROR &&
        high >= 0)
        l.high_watermark = high;
    if (l.position >= 0 && l.high_watermark >= 0)
        l.lag = l.high_watermark > l.position ? l.high_watermark - l.position : 0;
    return l;
}

size_t lw_consumer_lag(lw_consumer_t *c, lw_consumer_lag_t *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nparts; i++) {
        if (!c->parts[i].active)
            continue;
        if (n < max)
            out[n] = part_lag(c->rk, &c->parts[i]);
        n++;
    }
    return n;
}

void lw_consumer_stats(const lw_consumer_t *c, lw_consumer_stats_t *out)
{
    *out = c->st;
    out->lag_total = -1;
    for (size_t i = 0; i < c->nparts; i++) {
        if (!c->parts[i].active)
            continue;
        lw_consumer_lag_t l = part_lag(c->rk, &c->parts[i]);
        if (l.lag >= 0)
            out->lag_total = (out->lag_total < 0 ? 0 : out->lag_total) + l.lag;
    }
}

rd_kafka_t *lw_consumer_handle(lw_consumer_t *c)
{
    return c->rk;
}

/* Each broken invariant returns lw_seterr(...) == LW_OK: false, with `why` filled. */
bool lw_consumer_check(const lw_consumer_t *c, char *why, size_t why_size)
{
    if (c->nparts > c->cap_parts || c->cap_parts > LW_KAFKA_MAX_PARTITIONS)
        return lw_seterr(why, why_size, LW_ERR_INVALID, "%zu partitions, capacity %zu", c->nparts,
                         c->cap_parts) == LW_OK;
    for (size_t i = 0; i < c->nparts; i++) {
        const part_t *pt = &c->parts[i];
        lw_position_t fl;
        bool in_store = lw_pipeline_source_flushed(c->p, pt->source, &fl);
        if (pt->inflight >= 0 && (!in_store || pt->inflight > fl.position))
            return lw_seterr(why, why_size, LW_ERR_INVALID,
                             "kafka:%s:%d: commit of %lld in flight, ahead of the store (%lld)",
                             pt->topic, (int)pt->partition, (long long)pt->inflight,
                             in_store ? (long long)fl.position : -1LL) == LW_OK;
        if (pt->blocked && (!pt->active || pt->next >= 0))
            return lw_seterr(why, why_size, LW_ERR_INVALID, "kafka:%s:%d: blocked but %s",
                             pt->topic, (int)pt->partition,
                             pt->active ? "has a next offset" : "not assigned") == LW_OK;
        if (pt->active && pt->next >= 0 && in_store && fl.position > pt->next)
            return lw_seterr(why, why_size, LW_ERR_INVALID,
                             "kafka:%s:%d: the store holds %lld, fed only to %lld", pt->topic,
                             (int)pt->partition, (long long)fl.position,
                             (long long)pt->next) == LW_OK;
    }
    return lw_pipeline_check(c->p, why, why_size);
}
