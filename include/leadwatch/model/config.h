/*
 * config.h - the YAML configuration, parsed and validated into plain structs.
 *
 * lw_config_load() reads the file with libyaml, walks the node tree with one
 * declarative key table per section (key, type, default, bounds, help), and
 * rejects unknown keys, wrong types, out-of-range values and dangling metric
 * references.  Every error names "file:line: key: what is wrong".  The
 * result is immutable; the other modules only read it.
 *
 * Sections: source (with source.fields and the librdkafka pass-through
 * source.kafka), store, buckets, metrics, tree, analysis (the statistics
 * defaults), alerts (the alert state machine of alert_opts.h, the delivery
 * sinks of alertsink_opts.h and the pipeline-stall bounds) and http (the
 * daemon's /metrics endpoint, http_opts.h).  Every section but metrics and
 * tree is optional; an absent section leaves its defaults.
 *
 * Defaults and bounds are stated once.  A default is config text in its
 * key's table entry (src/model/config_*.c); the parser applies it with the
 * same code that converts the file's values, and the owners'
 * *_opts_default() (lw_analyze_opts_default, lw_alert_opts_default,
 * lw_alertsink_opts_default, lw_http_opts_default) are defined next to their
 * tables and fill their structs from those entries, so the CLI, the daemon
 * and the tests get the same values without restating them.  A bound is a
 * named constant in the owner's *_opts.h (or LW_CONFIG_MAX_* here) that the
 * table entry and the owner's *_opts_check() both use.  --describe
 * (lw_config_describe) prints every key with its default and bounds from the
 * tables, and the README's configuration reference is that output
 * (scripts/gen-config-doc; test_config fails when it is stale), so no help
 * text restates a number.  Rejected: defaults as macros in the *_opts.h
 * (durations and enums would need a second, textual form for the tables).
 *
 * Strings are owned by the config; the option structs handed to other
 * modules (alerts.opts, alerts.sink, http.opts) point into it, so they are
 * valid until lw_config_free() and must not be used from a copy of
 * lw_config_t that outlives the original.
 */
#ifndef LEADWATCH_CONFIG_H
#define LEADWATCH_CONFIG_H

#include <stdio.h>

#include "leadwatch/core/common.h"
#include "leadwatch/model/alert_opts.h"
#include "leadwatch/model/alertsink_opts.h"
#include "leadwatch/model/analyze_opts.h"
#include "leadwatch/model/event.h"
#include "leadwatch/model/http_opts.h"

#define LW_CONFIG_MAX_METRICS 64
#define LW_CONFIG_MAX_INPUTS 8
#define LW_CONFIG_MAX_WHERE 16  /* conditions per metric */
#define LW_CONFIG_MAX_ANY_OF 64 /* values in one any-of list */
#define LW_CONFIG_MAX_NAME 64   /* metric name length */
#define LW_CONFIG_MAX_PATH 256  /* bytes in one dotted path (segments: LW_EVENT_MAX_PATH_DEPTH) */
#define LW_CONFIG_MAX_BYTES (1024 * 1024)            /* config file size */
#define LW_CONFIG_MAX_NODES 100000                   /* YAML nodes (scalars, lists, mappings) */
#define LW_CONFIG_MAX_NESTING 32                     /* YAML nesting depth */
#define LW_CONFIG_MAX_WINDOW_BUCKETS 400             /* distinct window / bucket size */
#define LW_CONFIG_MAX_KAFKA_PROPS 256                /* keys in source.kafka */
#define LW_CONFIG_MAX_TOPICS 256                     /* entries in source.topics */
#define LW_CONFIG_MAX_URL 2000                       /* bytes in an alerts.* URL */
#define LW_CONFIG_MAX_HEADER LW_ALERTSINK_HEADER_MAX /* bytes in one "Name: value" header */
/* Upper bound on rows in one series read (~114 years of hourly buckets); analysis.window. */
#define LW_SERIES_MAX_ROWS 1000000

typedef enum {
    LW_SCALAR_STRING = 0,
    LW_SCALAR_NUMBER,
    LW_SCALAR_BOOL,
    LW_SCALAR_NULL
} lw_scalar_type_t;

typedef struct {
    lw_scalar_type_t type;
    char *str; /* LW_SCALAR_STRING */
    double num;
    bool b;
} lw_scalar_t;

/* One `where` condition: the value at `path` equals any of `values`. */
typedef struct lw_where {
    char *path;    /* "event" (the decoded event name) or a dotted JSON path */
    bool is_event; /* path == "event" */
    lw_scalar_t *values;
    size_t nvalues; /* >= 1 */
} lw_where_t;

typedef enum {
    LW_METRIC_COUNT = 0, /* number of matching events */
    LW_METRIC_SUM,       /* sum of a numeric property (times scale) */
    LW_METRIC_DISTINCT,  /* distinct users (or distinct values of a path), HyperLogLog */
    LW_METRIC_RATIO,     /* numerator metric / denominator metric, per bucket */
    LW_METRIC_MEAN       /* sum / count of matching events that carry the number */
} lw_metric_kind_t;

const char *lw_metric_kind_name(lw_metric_kind_t k);

typedef struct {
    char *name;
    lw_metric_kind_t kind;
    char *field;        /* sum/mean: dotted path; distinct: "user" or a dotted path */
    bool field_is_user; /* distinct: field == "user" */
    double scale;       /* sum/mean multiplier, default 1 */
    int ratio_num;      /* ratio: index into lw_config_t.metrics */
    int ratio_den;
    int64_t window_ms; /* distinct: rolling union window (0 = the bucket itself) */
    lw_where_t *where;
    size_t nwhere;
    int line; /* line in the config file, for messages */
} lw_metric_def_t;

typedef enum {
    LW_INPUT_BREADTH = 0,
    LW_INPUT_DEPTH,
    LW_INPUT_FREQUENCY,
    LW_INPUT_EFFICIENCY
} lw_input_kind_t;

const char *lw_input_kind_name(lw_input_kind_t k);

typedef struct {
    int metric; /* index into lw_config_t.metrics */
    lw_input_kind_t kind;
} lw_tree_input_t;

/*
 * One source of experiment exposures (experiments.exposures[], issue 16).
 * Either an exposure EVENT: events matching `where` carry the experiment id
 * at `experiment` and the variant at `variant` (Segment `Experiment Viewed`,
 * Amplitude `$exposure`, GrowthBook `experiment_viewed`); or a PROPERTY
 * family: every key of the object at `object` that starts with `prefix`
 * names an experiment (the rest of the key) and its value is the variant
 * (PostHog `properties.$feature/<flag>`, Amplitude `user_properties.[Experiment] <flag>`),
 * on any event that matches `where` (every event when absent).
 */
#define LW_CONFIG_MAX_EXPOSURES 16 /* entries in experiments.exposures */
#define LW_CONFIG_MAX_CONTROLS 8   /* values in one exposure source's control list */
typedef struct {
    lw_where_t *where;
    size_t nwhere;
    char *experiment; /* event source: dotted path of the experiment id */
    char *variant;    /* event source: dotted path of the variant */
    char *object;     /* property source: dotted path of the object holding the flags */
    char *prefix;     /* property source: key prefix; the rest of the key is the experiment */
    char **control;   /* variant values that are the control (default ["control"]) */
    size_t ncontrol;
    int line;
} lw_exposure_src_t;

/* One source.kafka property: passed to rd_kafka_conf_set() unchanged. */
typedef struct {
    char *key;
    char *value; /* the scalar's text (6000, true, SASL_SSL) */
    int line;
} lw_config_kv_t;

typedef struct lw_config {
    char *file; /* the path the config was loaded from */

    struct {
        lw_format_t format;
        char *event_field; /* custom only */
        char *user_field;
        char *time_field;
        char *user_override;    /* source.user: vendor formats' user path, NULL = the format's */
        bool dedup;             /* source.dedup.enabled (default true) */
        char *dedup_id;         /* source.dedup.id: NULL = the format's id (none for custom) */
        long dedup_max_ids;     /* source.dedup.max_ids: ids remembered at once */
        size_t max_event_bytes; /* default 1 MiB */
        int max_depth;          /* default 64 */
        int64_t max_future_ms;  /* default 1d */
        /* Kafka (`leadwatch run`); all optional for file ingest */
        lw_config_kv_t *kafka; /* source.kafka, in file order; each key was accepted by
                                  rd_kafka_conf_set() at load */
        size_t nkafka;
        char **topics; /* source.topics */
        size_t ntopics;
        char *dead_letter_topic; /* source.dead_letter_topic; NULL: none */
    } source;

    struct {
        /* the store target: default "leadwatch.db" (relative to the cwd); with store.url
           set, that URI plus password_file=<store.password_file> */
        char *path;
        char *url;                 /* store.url (postgresql://), NULL: the SQLite file */
        char *password_file;       /* store.password_file, NULL: libpq's own sources */
        long flush_events;         /* flush after this many events (default 200000) */
        int64_t flush_interval_ms; /* or after this long (default 1s) */
    } store;

    struct {
        int64_t size_ms;  /* LW_MS_PER_HOUR | LW_MS_PER_DAY | LW_MS_PER_WEEK */
        int64_t grace_ms; /* accepted lateness, default 2d */
    } buckets;

    lw_metric_def_t *metrics;
    size_t nmetrics;

    struct {
        int nsm; /* metric index */
        int kpi; /* metric index, -1 when none */
        lw_tree_input_t inputs[LW_CONFIG_MAX_INPUTS];
        size_t ninputs; /* 1..8 */
    } tree;

    /* the `analysis:` section: defaults of `leadwatch analyze` / `report` */
    lw_analyze_opts_t analysis;
    size_t analysis_window;         /* analysis.window: the last N buckets, 0 = all */
    int64_t analysis_full_every_ms; /* analysis.full_every: the daemon's full analysis runs at
                                       the closes whose bucket end is a multiple of it on the
                                       bucket grid (a multiple of buckets.size_ms) */

    /* the `alerts:` section (issue 5); defaults when absent */
    struct {
        bool configured;      /* the section is present in the file */
        bool evaluate;        /* alerts.evaluate, default true: re-evaluate the tree on every
                                 bucket close */
        lw_alert_opts_t opts; /* for -> for_evals, keep_firing_for, on -> on_mask, max_entries */
        lw_alertsink_opts_t sink; /* every field from the section; its string pointers point at the
                                     char* members below (owned by the config); custom/inject
                                     fields NULL; an unset receiver / external_url keeps the
                                     sink's default ("leadwatch" / "") */
        char *alertmanager_url;   /* alerts.alertmanager.url, NULL = off */
        char *webhook_url;        /* alerts.webhook.url, NULL = off */
        char **webhook_headers;   /* alerts.webhook.headers: mapping Name: value -> "Name: value"
                                     strings */
        size_t nwebhook_headers;
        char *receiver;         /* alerts.webhook.receiver, NULL = sink default */
        char *external_url;     /* alerts.external_url, NULL = none */
        char *kafka_topic;      /* alerts.kafka.topic, NULL = off */
        int64_t stall_after_ms; /* alerts.stall.no_events_for (duration), default 15m, >= 1s */
        int64_t stall_max_lag;  /* alerts.stall.max_lag (messages, summed over partitions), 0 = off
                                   (default) */
        size_t stall_missing_buckets; /* alerts.stall.missing_buckets: a window whose newest N
                                         closed buckets include a gap is nodata; default 1,
                                         0 = off */
    } alerts;
    /* the `experiments:` section (issue 16); the pipeline assigns and aggregates only when
     * it is present */
    struct {
        bool configured;
        int64_t short_ms;           /* experiments.short_window: inputs, default 14d */
        int64_t long_ms;            /* experiments.long_window: NSM and KPI, default 56d */
        long buckets;               /* experiments.buckets: hashed user buckets, default 64 */
        long max_users;             /* experiments.max_users: (user, experiment) assignments kept */
        lw_exposure_src_t *sources; /* experiments.exposures */
        size_t nsources;
    } experiments;
    /* the `http:` section; the server runs only when the section is present */
    struct {
        bool configured;
        lw_http_opts_t opts;             /* listen points at `listen` below */
        char *listen;                    /* http.listen, default "127.0.0.1:9464" */
        int64_t ready_broker_timeout_ms; /* http.ready_broker_timeout: /readyz 503 after this
                                            long without a Kafka broker connected; 0 = off */
    } http;
} lw_config_t;

/*
 * Load and validate a config file.  On success *out owns a new config (free
 * with lw_config_free).  On failure returns LW_ERR_CONFIG (or LW_ERR_IO when
 * the file cannot be read) and errstr holds "file:line: key: message".
 */
lw_err_t lw_config_load(const char *path, lw_config_t **out, char *errstr, size_t errstr_size);

/* The same from memory; `name` is used in messages in place of a file name. */
lw_err_t lw_config_parse(const char *text, size_t len, const char *name, lw_config_t **out,
                         char *errstr, size_t errstr_size);

void lw_config_free(lw_config_t *cfg);

/* Index of the metric named `name`, or -1. */
int lw_config_metric_index(const lw_config_t *cfg, const char *name);

/*
 * Print the resolved config and metric tree, human readable (check-config).
 * Secrets are never printed: librdkafka secrets show "(secret)", webhook
 * header values "(hidden)", and the user:password part of a URL "(hidden)".
 */
void lw_config_print(const lw_config_t *cfg, FILE *out);

/*
 * Print every section's keys with type, default, bounds and help text, from
 * the same tables the parser uses (check-config --help, docs).
 */
void lw_config_describe(FILE *out);

/*
 * The default and bounds of one key, from the same tables, as text for help
 * screens: "default 14; [1..60]".  `path` is the dotted key ("analysis.max_lag").
 * false (buf untouched) when there is no such key.
 */
bool lw_config_key_doc(const char *path, char *buf, size_t size);

#endif
