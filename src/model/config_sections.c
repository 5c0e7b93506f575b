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

#include <ctype.h>
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

static const section_t fields_section = SECTION(
    "source.fields", fields_keys, NULL,
    "where a custom-format event keeps its name, user and time (custom only; all three required)");

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
            "ids remembered at once (about 24 bytes each); past it new ids are not remembered "
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
/* One source.kafka property, checked by librdkafka on a scratch conf. */
typedef struct {
    lw_config_t *cfg;
    rd_kafka_conf_t *scratch; /* created with the first property */
} kafka_parse_t;

static lw_err_t add_kafka_prop(ctx_t *c, const sval_t *ks, yaml_node_t *vn, const char *sub,
                               size_t i, size_t n, void *arg)
{
    kafka_parse_t *st = arg;
    lw_config_t *cfg = st->cfg;
    char msg[512];
    lw_err_t err = LW_OK;
    sval_t vs;
    if (i == 0 && (!(cfg->source.kafka = calloc(n, sizeof *cfg->source.kafka)) ||
                   !(st->scratch = rd_kafka_conf_new())))
        return lw_cfg_fail(c, ks->line, sub, "out of memory");
    for (size_t j = 0; j < i; j++)
        if (strcmp(cfg->source.kafka[j].key, ks->s) == 0)
            return lw_cfg_fail(c, ks->line, sub, "duplicate key (first given at line %d)",
                               cfg->source.kafka[j].line);
    if ((err = lw_cfg_get_scalar(c, vn, sub, "a value (string, number or boolean)", &vs)))
        return err;
    if (vs.type == LW_SCALAR_NULL)
        return lw_cfg_fail(c, vs.line, sub, "expected a value, got null");
    if (rd_kafka_conf_set(st->scratch, ks->s, vs.s, msg, sizeof msg) != RD_KAFKA_CONF_OK)
        return lw_cfg_fail(c, vs.line, sub, "%s",
                           lw_kafka_is_secret(ks->s) ? "invalid value (not shown: secret)" : msg);
    lw_config_kv_t *kv = &cfg->source.kafka[i];
    kv->line = ks->line;
    if (!(kv->key = lw_cfg_dup_str(c, ks, sub, &err)) ||
        !(kv->value = lw_cfg_dup_str(c, &vs, sub, &err)))
        return err;
    cfg->source.nkafka = i + 1;
    return LW_OK;
}

static lw_err_t parse_kafka(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                            const char *kp)
{
    kafka_parse_t st = {.cfg = base};
    (void)k;
    lw_err_t err =
        lw_cfg_each_pair(c, v, kp, "librdkafka properties", "properties", LW_CONFIG_MAX_KAFKA_PROPS,
                         "a property name", "a librdkafka property name", add_kafka_prop, &st);
    if (st.scratch)
        rd_kafka_conf_destroy(st.scratch);
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
    KEY_VALUE("format", T_FORMAT, CFG(source.format), "segment",
              "event JSON layout: segment (= rudderstack), amplitude, posthog, or custom (then "
              "give source.fields)"),
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
    KEY_CUSTOM(
        "kafka", parse_kafka, "mapping", NULL,
        "librdkafka properties for `run`, passed through unchanged (bootstrap.servers, group.id, "
        "security.protocol, sasl.*, ssl.*); enable.auto.commit and enable.auto.offset.store are "
        "forced false (the store owns offsets); auto.offset.reset defaults to earliest"),
    KEY_CUSTOM("topics", parse_topics, "list of strings", NULL, "Kafka topics `run` consumes"),
    KEY_VALUE(
        "dead_letter_topic", T_STRING, CFG(source.dead_letter_topic), NULL,
        "optional: Kafka topic that receives rejected messages, with a leadwatch-reason header"),
};

const section_t lw_cfg_source_section = SECTION(
    "source", source_keys, source_check, "where events come from and how one event is decoded");

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

static lw_err_t store_check(ctx_t *c, void *base, int line, const int *lines, const char *kp);

static const key_spec_t store_keys[] = {
    KEY_VALUE("path", T_STRING, CFG(store.path), "leadwatch.db",
              "SQLite database file (relative to the working directory)"),
    KEY_VALUE("url", T_STRING, CFG(store.url), NULL,
              "optional: a PostgreSQL store instead, postgresql://[user@]host[:port]/db[?param=..] "
              "(libpq URI, no password in it); replaces path"),
    KEY_VALUE("password_file", T_STRING, CFG(store.password_file), NULL,
              "optional, with url: file whose first line is the PostgreSQL password (else libpq's "
              "PGPASSWORD, PGPASSFILE or ~/.pgpass)"),
    KEY_INT("flush_events", C_LONG, CFG(store.flush_events), "200000", 1, 10000000,
            "write the open buckets to the database after this many events"),
    KEY_DURATION("flush_interval", CFG(store.flush_interval_ms), "1s", 1000, LW_MS_PER_HOUR,
                 "... or after this long, whichever comes first"),
};

const section_t lw_cfg_store_section =
    SECTION("store", store_keys, store_check,
            "the store of per-bucket metric values: SQLite file or PostgreSQL (optional section)");

/*
 * store.url: a postgresql:// URI without a password (configs are printed and
 * shown in reports); it becomes the store target (store.path), with
 * store.password_file appended as the backend's own password_file parameter,
 * percent-encoded.  password_file alone, or with path, is an error.
 */
static lw_err_t store_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    lw_config_t *cfg = base;
    int url_line = lines[lw_cfg_key_index(&lw_cfg_store_section, "url")];
    int path_line = lines[lw_cfg_key_index(&lw_cfg_store_section, "path")];
    int pw_line = lines[lw_cfg_key_index(&lw_cfg_store_section, "password_file")];
    char sub[KP_MAX];
    const char *url = cfg->store.url, *pw = cfg->store.password_file;
    (void)line;
    if (url == NULL) {
        lw_cfg_kp_key(sub, kp, "password_file");
        return pw ? lw_cfg_fail(c, pw_line, sub, "only allowed with store.url") : LW_OK;
    }
    lw_cfg_kp_key(sub, kp, "url");
    if (path_line)
        return lw_cfg_fail(c, path_line, sub, "give store.path or store.url, not both");
    if (strncmp(url, "postgresql://", 13) != 0 && strncmp(url, "postgres://", 11) != 0)
        return lw_cfg_fail(c, url_line, sub, "expected a postgresql:// URI");
    const char *auth = strstr(url, "://") + 3;
    size_t auth_len = strcspn(auth, "/?");
    const char *at = memchr(auth, '@', auth_len);
    if ((at && memchr(auth, ':', (size_t)(at - auth))) || strstr(url, "password="))
        return lw_cfg_fail(c, url_line, sub,
                           "the URI must not carry a password: use store.password_file, "
                           "PGPASSFILE or ~/.pgpass");
    size_t n = strlen(url) + 1;
    if (pw)
        n += strlen("?password_file=") + 3 * strlen(pw);
    char *target = malloc(n);
    if (!target)
        return lw_cfg_fail(c, url_line, sub, "out of memory");
    size_t o = (size_t)snprintf(target, n, "%s", url);
    if (pw) {
        static const char hex[] = "0123456789ABCDEF";
        o += (size_t)snprintf(target + o, n - o, "%s",
                              strchr(url, '?') ? "&password_file=" : "?password_file=");
        for (const unsigned char *p = (const unsigned char *)pw; *p; p++) {
            if (isalnum(*p) || strchr("/._-~", *p)) {
                target[o++] = (char)*p;
            } else {
                target[o++] = '%';
                target[o++] = hex[*p >> 4];
                target[o++] = hex[*p & 15];
            }
        }
        target[o] = '\0';
    }
    free(cfg->store.path);
    cfg->store.path = target;
    return LW_OK;
}

static const key_spec_t buckets_keys[] = {
    KEY_VALUE("size", T_BUCKET, CFG(buckets.size_ms), "1d",
              "bucket length, aligned in UTC: 1h, 1d or 1w (weeks start Monday)"),
    KEY_DURATION("grace", CFG(buckets.grace_ms), "2d", 0, 366 * LW_MS_PER_DAY,
                 "accepted lateness: a bucket stays open this long after it ends"),
};

const section_t lw_cfg_buckets_section =
    SECTION("buckets", buckets_keys, NULL,
            "time buckets the metrics are aggregated into (optional section)");
