/*
 * config_sections.c - the tables of the source, store and buckets sections
 * (config_table.h explains the engine).
 *
 * source.kafka is a mapping of librdkafka properties: each is tried with
 * rd_kafka_conf_set() on a scratch conf at load, so an unknown property or
 * a bad value fails with librdkafka's own message (a secret's value is
 * never repeated, lw_kafka_is_secret), and the daemon can later set them
 * all unchanged.  source.topics is a list of distinct names.  source.fields
 * is allowed, and required, exactly when source.format is custom.
 */
#include "leadwatch/model/config.h"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/core/timeutil.h"
#include "leadwatch/model/config_table.h"
#include "leadwatch/model/kafka_opts.h"

/* ----------------------------------------------------- source section */

static const key_spec_t fields_keys[] = {
    KEY_REQUIRED("event", T_PATH, CFG(source.event_field),
                 "dotted path of the event name (a non-empty string)"),
    KEY_REQUIRED("user", T_PATH, CFG(source.user_field),
                 "dotted path of the user id (a string or a number)"),
    KEY_REQUIRED("time", T_PATH, CFG(source.time_field),
                 "dotted path of the event time: ISO 8601 with offset, or epoch seconds/ms"),
};

static const section_t fields_section = {
    .path = "source.fields",
    KEYS(fields_keys),
    .help = "where a custom-format event keeps its name, user and time (custom only; all three "
            "required)",
};

static const key_spec_t dedup_keys[] = {
    {.key = "enabled",
     .type = T_BOOL,
     .off = CFG(source.dedup),
     .def = "true",
     .help = "drop an event whose id was already counted in a bucket that is still open "
             "(reason duplicate); the ids are kept in the store with the aggregates"},
    {.key = "id",
     .type = T_PATH,
     .off = CFG(source.dedup_id),
     .help = "dotted path of the event id; default the vendor's (messageId, insert_id, uuid); "
             "custom format: none, so no deduplication unless given"},
    KEY_INT("max_ids", C_LONG, CFG(source.dedup_max_ids), "2000000", 1000, 100000000,
            "ids remembered at once (about 32 bytes each); past it new ids are not remembered "
            "and counted as dedup.untracked"),
};

static const section_t dedup_section = {
    .path = "source.dedup",
    KEYS(dedup_keys),
    .help = "deduplication by the vendor's event id within the open buckets (grace window)",
};

static lw_err_t source_check(ctx_t *c, void *base, int line, const int *lines, const char *kp);

/*
 * source.kafka: a mapping of librdkafka properties.  Each is tried with
 * rd_kafka_conf_set() on a scratch conf, so an unknown property or a bad
 * value fails at load with librdkafka's own message (never repeating the
 * value of a secret), and the daemon can later set them all unchanged.
 * Values are the scalar's text: 6000, true and SASL_SSL all pass through.
 */
static lw_err_t parse_kafka(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                            const char *kp)
{
    lw_config_t *cfg = base;
    char sub[KP_MAX], msg[512];
    lw_err_t err = LW_OK;
    (void)k;
    if (v->type != YAML_MAPPING_NODE)
        return lw_cfg_fail(c, lw_cfg_node_line(v), kp,
                           "expected a mapping of librdkafka properties, got %s",
                           lw_cfg_node_desc(v));
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n > LW_CONFIG_MAX_KAFKA_PROPS)
        return lw_cfg_fail(c, lw_cfg_node_line(v), kp,
                           "more than " STR(LW_CONFIG_MAX_KAFKA_PROPS) " properties");
    if (n == 0)
        return LW_OK;
    if (!(cfg->source.kafka = calloc(n, sizeof *cfg->source.kafka)))
        return lw_cfg_fail(c, lw_cfg_node_line(v), kp, "out of memory");
    rd_kafka_conf_t *scratch = rd_kafka_conf_new();
    if (!scratch)
        return lw_cfg_fail(c, lw_cfg_node_line(v), kp, "out of memory");
    for (size_t i = 0; i < n && !err; i++) {
        yaml_node_pair_t *p = &v->data.mapping.pairs.start[i];
        yaml_node_t *kn = lw_cfg_node_at(c, p->key), *vn = lw_cfg_node_at(c, p->value);
        sval_t ks, vs;
        if ((err = lw_cfg_get_scalar(c, kn, kp, "a property name", &ks)) ||
            (err = lw_cfg_want_string(c, &ks, kp, "a librdkafka property name")))
            break;
        lw_cfg_kp_key(sub, kp, ks.s);
        for (size_t j = 0; j < i && !err; j++)
            if (strcmp(cfg->source.kafka[j].key, ks.s) == 0)
                err = lw_cfg_fail(c, ks.line, sub, "duplicate key (first given at line %d)",
                                  cfg->source.kafka[j].line);
        if (err ||
            (err = lw_cfg_get_scalar(c, vn, sub, "a value (string, number or boolean)", &vs)))
            break;
        if (vs.type == LW_SCALAR_NULL) {
            err = lw_cfg_fail(c, vs.line, sub, "expected a value, got null");
            break;
        }
        if (rd_kafka_conf_set(scratch, ks.s, vs.s, msg, sizeof msg) != RD_KAFKA_CONF_OK) {
            err = lw_cfg_fail(c, vs.line, sub, "%s",
                              lw_kafka_is_secret(ks.s) ? "invalid value (not shown: secret)" : msg);
            break;
        }
        lw_config_kv_t *kv = &cfg->source.kafka[i];
        kv->line = ks.line;
        if (!(kv->key = lw_cfg_dup_str(c, &ks, sub, &err)) ||
            !(kv->value = lw_cfg_dup_str(c, &vs, sub, &err)))
            break;
        cfg->source.nkafka = i + 1;
    }
    rd_kafka_conf_destroy(scratch);
    return err;
}

static lw_err_t add_topic(ctx_t *c, const sval_t *sv, const char *sub, size_t i, size_t n,
                          void *arg)
{
    lw_config_t *cfg = arg;
    char d[DISP_MAX];
    lw_err_t err;
    if (i == 0) {
        if (n > LW_CONFIG_MAX_TOPICS)
            return lw_cfg_fail(c, sv->line, sub, "more than " STR(LW_CONFIG_MAX_TOPICS) " topics");
        if (!(cfg->source.topics = calloc(n, sizeof *cfg->source.topics)))
            return lw_cfg_fail(c, sv->line, sub, "out of memory");
    }
    for (size_t j = 0; j < i; j++)
        if (strcmp(cfg->source.topics[j], sv->s) == 0)
            return lw_cfg_fail(c, sv->line, sub, "topic \"%s\" listed twice",
                               lw_cfg_disp(sv->s, d, sizeof d));
    if (!(cfg->source.topics[i] = lw_cfg_dup_str(c, sv, sub, &err)))
        return err;
    cfg->source.ntopics = i + 1;
    return LW_OK;
}

static lw_err_t parse_topics(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                             const char *kp)
{
    lw_config_t *cfg = base;
    (void)k;
    lw_err_t err = lw_cfg_each_string(c, v, kp, "topic names", "a topic name", add_topic, base);
    if (err == LW_OK && cfg->source.ntopics == 0)
        return lw_cfg_fail(c, lw_cfg_node_line(v), kp, "empty list (give at least one topic)");
    return err;
}

static const key_spec_t source_keys[] = {
    {.key = "format",
     .type = T_FORMAT,
     .off = CFG(source.format),
     .def = "segment",
     .help = "event JSON layout: segment (= rudderstack), amplitude, posthog, or custom (then "
             "give source.fields)"},
    KEY_SECTION("fields", &fields_section,
                "custom format only: dotted paths of event name, user and time"),
    {.key = "user",
     .type = T_PATH,
     .off = CFG(source.user_override),
     .help = "vendor formats: dotted path of the user id in place of the format's (e.g. "
             "amplitude_id for Amplitude's own user counts)"},
    KEY_SECTION("dedup", &dedup_section, "deduplication by event id"),
    KEY_INT("max_event_bytes", C_SIZE, CFG(source.max_event_bytes), "1048576", 64, 64 * 1024 * 1024,
            "longer events are rejected (reason too_large)"),
    KEY_INT("max_depth", C_INT, CFG(source.max_depth), "64", 1, 1024,
            "deeper JSON nesting is rejected (reason too_deep)"),
    KEY_DURATION("max_future", CFG(source.max_future_ms), "1d", 1000, 366 * LW_MS_PER_DAY,
                 "events stamped later than now + this are rejected (time_in_future)"),
    {.key = "kafka",
     .type = T_CUSTOM,
     .custom = parse_kafka,
     .doc_type = "mapping",
     .help = "librdkafka properties for `run`, passed through unchanged (bootstrap.servers, "
             "group.id, security.protocol, sasl.*, ssl.*); enable.auto.commit and "
             "enable.auto.offset.store are forced false (the store owns offsets); "
             "auto.offset.reset defaults to earliest"},
    {.key = "topics",
     .type = T_CUSTOM,
     .custom = parse_topics,
     .doc_type = "list of strings",
     .help = "Kafka topics `run` consumes"},
    {.key = "dead_letter_topic",
     .type = T_STRING,
     .off = CFG(source.dead_letter_topic),
     .help = "optional: Kafka topic that receives rejected messages, with a leadwatch-reason "
             "header"},
};

const section_t lw_cfg_source_section = {
    .path = "source",
    KEYS(source_keys),
    .check = source_check,
    .help = "where events come from and how one event is decoded",
};

static lw_err_t source_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    lw_config_t *cfg = base;
    int fields_line = lines[lw_cfg_key_index(&lw_cfg_source_section, "fields")];
    char sub[KP_MAX];
    lw_cfg_kp_key(sub, kp, "fields");
    if (cfg->source.format != LW_FMT_CUSTOM && fields_line)
        return lw_cfg_fail(c, fields_line, sub, "only allowed when source.format is custom");
    if (cfg->source.format == LW_FMT_CUSTOM && !fields_line)
        return lw_cfg_fail(c, line, sub, "required when source.format is custom");
    int user_line = lines[lw_cfg_key_index(&lw_cfg_source_section, "user")];
    if (cfg->source.format == LW_FMT_CUSTOM && user_line) {
        lw_cfg_kp_key(sub, kp, "user");
        return lw_cfg_fail(c, user_line, sub, "not with format custom (use source.fields.user)");
    }
    return LW_OK;
}

/* ------------------------------------------------- store and buckets */

static const key_spec_t store_keys[] = {
    {.key = "path",
     .type = T_STRING,
     .off = CFG(store.path),
     .def = "leadwatch.db",
     .help = "SQLite database file (relative to the working directory)"},
    KEY_INT("flush_events", C_LONG, CFG(store.flush_events), "200000", 1, 10000000,
            "write the open buckets to the database after this many events"),
    KEY_DURATION("flush_interval", CFG(store.flush_interval_ms), "1s", 1000, LW_MS_PER_HOUR,
                 "... or after this long, whichever comes first"),
};

const section_t lw_cfg_store_section = {
    .path = "store",
    KEYS(store_keys),
    .help = "the SQLite store of per-bucket metric values (optional section)",
};

static const key_spec_t buckets_keys[] = {
    {.key = "size",
     .type = T_BUCKET,
     .off = CFG(buckets.size_ms),
     .def = "1d",
     .help = "bucket length, aligned in UTC: 1h, 1d or 1w (weeks start Monday)"},
    KEY_DURATION("grace", CFG(buckets.grace_ms), "2d", 0, 366 * LW_MS_PER_DAY,
                 "accepted lateness: a bucket stays open this long after it ends"),
};

const section_t lw_cfg_buckets_section = {
    .path = "buckets",
    KEYS(buckets_keys),
    .help = "time buckets the metrics are aggregated into (optional section)",
};
