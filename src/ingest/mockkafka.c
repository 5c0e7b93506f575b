/*
 * mockkafka.c - see mockkafka.h.
 *
 * librdkafka hosts the mock cluster inside a client handle: we create a
 * bare producer handle (no bootstrap servers, it never produces) and hand
 * it to rd_kafka_mock_cluster_new(), which starts the brokers' threads and
 * listeners on 127.0.0.1.  Topics are created explicitly so the partition
 * count is known (the control commands iterate partitions).
 *
 * `committed` and `watermarks` answer from the outside, as any client
 * would: a short-lived consumer handle bootstrapped at the mock asks for the
 * group's committed offsets (OffsetFetch, no group join) or the partition
 * watermarks.  So a test reads exactly what a monitoring tool would.
 *
 * Control lines are split on blanks into at most 8 words (bounded; longer
 * lines are refused by the caller's LW_MOCK_MAX_LINE).
 */
#include "leadwatch/ingest/mockkafka.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "leadwatch/ingest/kafka.h"

#define CLIENT_TIMEOUT_MS 5000
#define MAX_WORDS 8

typedef struct {
    char *name;
    int partitions;
} mtopic_t;

struct lw_mock {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    int brokers;
    mtopic_t topics[LW_MOCK_MAX_TOPICS];
    size_t ntopics;
};

lw_mock_t *lw_mock_new(int brokers, char *errstr, size_t errstr_size)
{
    if (brokers < 1 || brokers > LW_MOCK_MAX_BROKERS) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "brokers must be 1..%d",
                  LW_MOCK_MAX_BROKERS);
        return NULL;
    }
    lw_mock_t *m = lw_calloc_err(1, sizeof *m, errstr, errstr_size);
    if (!m)
        return NULL;
    m->brokers = brokers;
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "client.id", "leadwatch-mock", NULL, 0);
    rd_kafka_conf_set_log_cb(conf, lw_kafka_log_cb);
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!m->rk) {
        lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "cannot create the mock's handle: %s", err);
        rd_kafka_conf_destroy(conf);
        free(m);
        return NULL;
    }
    m->mc = rd_kafka_mock_cluster_new(m->rk, brokers);
    if (!m->mc) {
        lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "cannot start the mock cluster");
        lw_mock_destroy(m);
        return NULL;
    }
    return m;
}

void lw_mock_destroy(lw_mock_t *m)
{
    if (!m)
        return;
    if (m->mc)
        rd_kafka_mock_cluster_destroy(m->mc);
    if (m->rk)
        rd_kafka_destroy(m->rk);
    for (size_t i = 0; i < m->ntopics; i++)
        free(m->topics[i].name);
    free(m);
}

const char *lw_mock_bootstraps(const lw_mock_t *m)
{
    return rd_kafka_mock_cluster_bootstraps(m->mc);
}

static mtopic_t *find_topic(lw_mock_t *m, const char *name)
{
    for (size_t i = 0; i < m->ntopics; i++) {
        if (strcmp(m->topics[i].name, name) == 0)
            return &m->topics[i];
    }
    return NULL;
}

lw_err_t lw_mock_create_topic(lw_mock_t *m, const char *topic, int partitions, char *errstr,
                              size_t errstr_size)
{
    if (partitions < 1 || partitions > LW_MOCK_MAX_PARTITIONS)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "partitions must be 1..%d",
                         LW_MOCK_MAX_PARTITIONS);
    if (find_topic(m, topic))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "topic %s exists", topic);
    if (m->ntopics == LW_MOCK_MAX_TOPICS)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "more than %d topics",
                         LW_MOCK_MAX_TOPICS);
    char *name = strdup(topic);
    if (!name)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(m->mc, topic, partitions, 1);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        free(name);
        return lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "topic %s: %s", topic,
                         rd_kafka_err2str(e));
    }
    m->topics[m->ntopics].name = name;
    m->topics[m->ntopics].partitions = partitions;
    m->ntopics++;
    return LW_OK;
}

/* ---- control protocol ---- */

static bool parse_api(const char *s, long *out)
{
    static const struct {
        const char *name;
        int key;
    } apis[] = {{"produce", 0},          {"fetch", 1},        {"listoffsets", 2},
                {"metadata", 3},         {"offsetcommit", 8}, {"offsetfetch", 9},
                {"findcoordinator", 10}, {"joingroup", 11},   {"heartbeat", 12},
                {"leavegroup", 13},      {"syncgroup", 14},   {"apiversions", 18},
                {"initproducerid", 22}};
    for (size_t i = 0; i < sizeof apis / sizeof apis[0]; i++) {
        if (strcmp(s, apis[i].name) == 0) {
            *out = apis[i].key;
            return true;
        }
    }
    return lw_parse_long(s, 0, 100, out);
}

static bool parse_kafka_err(const char *s, rd_kafka_resp_err_t *out)
{
    long v;
    if (lw_parse_long(s, -200, 1000, &v)) {
        *out = (rd_kafka_resp_err_t)v;
        return true;
    }
    const struct rd_kafka_err_desc *descs;
    size_t n;
    rd_kafka_get_err_descs(&descs, &n);
    for (size_t i = 0; i < n; i++) {
        if (descs[i].name && strcmp(descs[i].name, s) == 0) {
            *out = descs[i].code;
            return true;
        }
    }
    return false;
}

/* A client bootstrapped at the mock; group may be NULL. */
static rd_kafka_t *probe_client(lw_mock_t *m, const char *group, char *errstr, size_t errstr_size)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", lw_mock_bootstraps(m), err, sizeof err) ||
        (group && rd_kafka_conf_set(conf, "group.id", group, err, sizeof err))) {
        rd_kafka_conf_destroy(conf);
        lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "%s", err);
        return NULL;
    }
    rd_kafka_conf_set(conf, "client.id", "leadwatch-mock-probe", NULL, 0);
    rd_kafka_conf_set_log_cb(conf, lw_kafka_log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "%s", err);
    }
    return rk;
}

/*
 * The known topic `topic` in *t and a probe client (of `group`, or none) to
 * ask about it; NULL with *err and errstr set (LW_ERR_NOT_FOUND: no such
 * topic, LW_ERR_KAFKA: no client).  *err is LW_OK on success.
 */
static rd_kafka_t *topic_probe(lw_mock_t *m, const char *topic, const char *group, mtopic_t **t,
                               lw_err_t *err, char *errstr, size_t errstr_size)
{
    *err = LW_OK;
    if (!(*t = find_topic(m, topic))) {
        *err = lw_seterr(errstr, errstr_size, LW_ERR_NOT_FOUND, "unknown topic %s", topic);
        return NULL;
    }
    rd_kafka_t *rk = probe_client(m, group, errstr, errstr_size);
    if (!rk)
        *err = LW_ERR_KAFKA;
    return rk;
}

static lw_err_t cmd_committed(lw_mock_t *m, const char *group, const char *topic, FILE *out,
                              char *errstr, size_t errstr_size)
{
    mtopic_t *t;
    lw_err_t err;
    rd_kafka_t *rk = topic_probe(m, topic, group, &t, &err, errstr, errstr_size);
    if (!rk)
        return err;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(t->partitions);
    for (int p = 0; p < t->partitions; p++)
        rd_kafka_topic_partition_list_add(l, topic, p);
    rd_kafka_resp_err_t e = rd_kafka_committed(rk, l, CLIENT_TIMEOUT_MS);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "committed: %s", rd_kafka_err2str(e));
    } else {
        for (int i = 0; i < l->cnt; i++)
            fprintf(out, "%d %" PRId64 "\n", (int)l->elems[i].partition, l->elems[i].offset);
    }
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    return err;
}

static lw_err_t cmd_watermarks(lw_mock_t *m, const char *topic, FILE *out, char *errstr,
                               size_t errstr_size)
{
    mtopic_t *t;
    lw_err_t err;
    rd_kafka_t *rk = topic_probe(m, topic, NULL, &t, &err, errstr, errstr_size);
    if (!rk)
        return err;
    for (int p = 0; p < t->partitions && err == LW_OK; p++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, CLIENT_TIMEOUT_MS);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            err = lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "watermarks %s/%d: %s", topic, p,
                            rd_kafka_err2str(e));
        else
            fprintf(out, "%d %" PRId64 " %" PRId64 "\n", p, lo, hi);
    }
    rd_kafka_destroy(rk);
    return err;
}

static lw_err_t cmd_produce(lw_mock_t *m, const char *topic, const char *path, FILE *out,
                            char *errstr, size_t errstr_size)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: %s", path, strerror(errno));
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", lw_mock_bootstraps(m), NULL, 0);
    /* keyless messages spread evenly (the sticky partitioner would fill one
     * partition at a time, and the mock keeps only 5 MiB per partition) */
    rd_kafka_conf_set(conf, "sticky.partitioning.linger.ms", "0", NULL, 0);
    rd_kafka_conf_set_log_cb(conf, lw_kafka_log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fclose(in);
        return lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "%s", err);
    }
    lw_err_t rc = LW_OK;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long count = 0;
    while (rc == LW_OK && (n = getline(&line, &cap, in)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        bool null = strcmp(line, "<NULL>") == 0;
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                      RD_KAFKA_V_VALUE(null ? NULL : line, null ? 0 : (size_t)n),
                                      RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 100);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            rc = lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "produce: %s", rd_kafka_err2str(e));
        count++;
    }
    free(line);
    fclose(in);
    if (rc == LW_OK && rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "produce: not all delivered");
    rd_kafka_destroy(rk);
    if (rc == LW_OK)
        fprintf(out, "produced %ld\n", count);
    return rc;
}

static lw_err_t run_command(lw_mock_t *m, char **w, int nw, FILE *out, char *errstr,
                            size_t errstr_size)
{
    long a, b;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (nw == 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "empty command");
    if (strcmp(w[0], "topic") == 0 && nw == 3) {
        if (!lw_parse_long(w[2], 1, LW_MOCK_MAX_PARTITIONS, &a))
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "bad partition count");
        return lw_mock_create_topic(m, w[1], (int)a, errstr, errstr_size);
    }
    if ((strcmp(w[0], "down") == 0 || strcmp(w[0], "up") == 0) && nw == 2) {
        if (!lw_parse_long(w[1], 1, m->brokers, &a))
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "bad broker id");
        e = w[0][0] == 'd' ? rd_kafka_mock_broker_set_down(m->mc, (int32_t)a)
                           : rd_kafka_mock_broker_set_up(m->mc, (int32_t)a);
    } else if (strcmp(w[0], "rtt") == 0 && nw == 3) {
        if (!lw_parse_long(w[1], 1, m->brokers, &a) || !lw_parse_long(w[2], 0, 600000, &b))
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "usage: rtt BROKER MS");
        e = rd_kafka_mock_broker_set_rtt(m->mc, (int32_t)a, (int)b);
    } else if (strcmp(w[0], "errors") == 0 && nw == 4) {
        rd_kafka_resp_err_t code;
        rd_kafka_resp_err_t codes[1000];
        if (!parse_api(w[1], &a) || !lw_parse_long(w[2], 1, 1000, &b) ||
            !parse_kafka_err(w[3], &code))
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "usage: errors API COUNT ERROR");
        for (long i = 0; i < b; i++)
            codes[i] = code;
        rd_kafka_mock_push_request_errors_array(m->mc, (int16_t)a, (size_t)b, codes);
    } else if (strcmp(w[0], "committed") == 0 && nw == 3) {
        return cmd_committed(m, w[1], w[2], out, errstr, errstr_size);
    } else if (strcmp(w[0], "produce") == 0 && nw == 3) {
        return cmd_produce(m, w[1], w[2], out, errstr, errstr_size);
    } else if (strcmp(w[0], "watermarks") == 0 && nw == 2) {
        return cmd_watermarks(m, w[1], out, errstr, errstr_size);
    } else {
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "unknown command or arity: %s", w[0]);
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "%s", rd_kafka_err2str(e));
    return LW_OK;
}

lw_err_t lw_mock_control(lw_mock_t *m, const char *line, FILE *out)
{
    char buf[LW_MOCK_MAX_LINE];
    char err[512] = "";
    lw_err_t rc;
    if (strlen(line) >= sizeof buf) {
        rc = lw_seterr(err, sizeof err, LW_ERR_TOO_LARGE, "line longer than %d bytes",
                       LW_MOCK_MAX_LINE - 1);
    } else {
        memcpy(buf, line, strlen(line) + 1);
        char *w[MAX_WORDS];
        int nw = 0;
        for (char *q = buf; *q && nw < MAX_WORDS;) {
            q += strspn(q, " \t\r\n");
            if (!*q)
                break;
            w[nw++] = q;
            q += strcspn(q, " \t\r\n");
            if (*q)
                *q++ = '\0';
        }
        rc = run_command(m, w, nw, out, err, sizeof err);
    }
    if (rc == LW_OK)
        fputs("ok\n", out);
    else
        fprintf(out, "error: %s\n", err);
    fflush(out);
    return rc;
}
