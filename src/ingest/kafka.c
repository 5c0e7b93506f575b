/*
 * kafka.c - see kafka.h.
 *
 * lw_kafka_conf_new() sets each property with rd_kafka_conf_set() and stops
 * at the first refusal; librdkafka's message may quote the value, so for a
 * secret property (lw_kafka_is_secret) the message is replaced.
 * lw_kafka_log_cb() maps syslog levels (librdkafka's) onto leadwatch's.
 */
#include "leadwatch/ingest/kafka.h"

#include "leadwatch/core/log.h"

#define KAFKA_ERRMSG 512

rd_kafka_conf_t *lw_kafka_conf_new(const lw_kafka_prop_t *props, size_t nprops,
                                   const lw_kafka_prop_t *forced, size_t nforced, char *errstr,
                                   size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
        return NULL;
    }
    char msg[KAFKA_ERRMSG];
    for (size_t i = 0; i < nprops + nforced; i++) {
        const lw_kafka_prop_t *kv = i < nprops ? &props[i] : &forced[i - nprops];
        if (rd_kafka_conf_set(conf, kv->key, kv->value, msg, sizeof msg) != RD_KAFKA_CONF_OK) {
            /* librdkafka's message may quote the value: never repeat a secret */
            lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "%s: %s", kv->key,
                      lw_kafka_is_secret(kv->key) ? "invalid value (not shown: secret)" : msg);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    return conf;
}

void lw_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* syslog levels: 0-3 error, 4 warning, 5-6 notice/info, 7 debug */
    lw_log_level_t lvl = level <= 3   ? LW_LOG_ERROR
                         : level == 4 ? LW_LOG_WARN
                         : level <= 6 ? LW_LOG_INFO
                                      : LW_LOG_DEBUG;
    LW_LOG(lvl, "rdkafka", "%s: %s: %s", rk ? rd_kafka_name(rk) : "-", fac, buf);
}
