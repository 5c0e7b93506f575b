/*
 * produce.c - see produce.h.
 *
 * Delivery reports arrive through dr_msg_cb while rd_kafka_poll/flush run
 * on the caller's thread; they only update counters and keep the first
 * failure's text.  Headers are built per message with rd_kafka_headers_new
 * and handed to librdkafka with RD_KAFKA_V_HEADERS (librdkafka owns them
 * once producev succeeded, we destroy them when it failed).
 */
#include "leadwatch/ingest/produce.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/core/log.h"

#define PRODUCE_ERRMSG 512

struct lw_producer {
    rd_kafka_t *rk;
    lw_producer_stats_t st;
    char first_failure[PRODUCE_ERRMSG];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    lw_producer_t *p = opaque;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        p->st.delivered++;
        return;
    }
    if (p->st.failed++ == 0)
        snprintf(p->first_failure, sizeof p->first_failure, "delivery to %s failed: %s",
                 rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
}

lw_producer_t *lw_producer_new(const lw_kafka_prop_t *props, size_t nprops, char *errstr,
                               size_t errstr_size)
{
    lw_producer_t *p = calloc(1, sizeof *p);
    if (!p) {
        lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
        return NULL;
    }
    rd_kafka_conf_t *conf = lw_kafka_conf_new(props, nprops, NULL, 0, errstr, errstr_size);
    if (!conf)
        goto out_free;
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_log_cb(conf, lw_kafka_log_cb);
    char err[PRODUCE_ERRMSG];
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!p->rk) {
        lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "cannot create the Kafka producer: %s", err);
        goto out_conf;
    }
    return p;

out_conf:
    rd_kafka_conf_destroy(conf);
out_free:
    free(p);
    return NULL;
}

lw_err_t lw_producer_send(lw_producer_t *p, const char *topic, const void *key, size_t klen,
                          const void *val, size_t vlen, const lw_kafka_header_t *hdrs, size_t nhdrs,
                          char *errstr, size_t errstr_size)
{
    for (;;) {
        rd_kafka_headers_t *h = NULL;
        if (nhdrs > 0) {
            h = rd_kafka_headers_new(nhdrs);
            for (size_t i = 0; i < nhdrs; i++)
                rd_kafka_header_add(h, hdrs[i].name, -1, hdrs[i].value, (ssize_t)hdrs[i].len);
        }
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, key ? klen : 0), RD_KAFKA_V_VALUE((void *)val, vlen),
            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            p->st.sent++;
            return LW_OK;
        }
        if (h)
            rd_kafka_headers_destroy(h);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "%s: %s", topic,
                             rd_kafka_err2str(e));
        /* the local queue is full: let deliveries drain it */
        rd_kafka_poll(p->rk, 100);
    }
}

void lw_producer_poll(lw_producer_t *p)
{
    rd_kafka_poll(p->rk, 0);
}

lw_err_t lw_producer_flush(lw_producer_t *p, int timeout_ms, char *errstr, size_t errstr_size)
{
    rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        return lw_seterr(errstr, errstr_size, LW_ERR_KAFKA,
                         "%d message(s) not delivered within %d ms: %s", rd_kafka_outq_len(p->rk),
                         timeout_ms, rd_kafka_err2str(e));
    if (p->st.failed > 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_KAFKA, "%lld message(s) failed; first: %s",
                         (long long)p->st.failed, p->first_failure);
    return LW_OK;
}

void lw_producer_stats(const lw_producer_t *p, lw_producer_stats_t *out)
{
    *out = p->st;
}

void lw_producer_destroy(lw_producer_t *p)
{
    if (!p)
        return;
    rd_kafka_destroy(p->rk);
    free(p);
}

void lw_pacer_init(lw_pacer_t *pc, double rate, int64_t mono_ms)
{
    pc->rate = rate;
    pc->start_mono_ms = mono_ms;
}

int64_t lw_pacer_delay_ms(const lw_pacer_t *pc, int64_t sent, int64_t mono_ms)
{
    if (pc->rate <= 0)
        return 0;
    /* message n is due at start + n / rate */
    double due = (double)pc->start_mono_ms + (double)sent * 1000.0 / pc->rate;
    double wait = due - (double)mono_ms;
    return wait > 0 ? (int64_t)wait : 0;
}
