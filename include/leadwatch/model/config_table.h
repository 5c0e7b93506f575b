/*
 * config_table.h - the declarative key tables of the configuration and the
 * engine that walks them.  Private to the config files (src/model/config*.c);
 * nothing else includes it.
 *
 * A section_t lists the keys of one YAML mapping; a key_spec_t says the
 * key's value type, where the value is stored (an offset from the section's
 * base: the lw_config_t, a metric, a tree input), its default as config
 * text, its bounds and its help.  The engine (config.c) checks a mapping
 * against a table, converts every value with the same code that converts
 * the defaults, and runs the section's cross-field check.  The tables are
 * spread by concept:
 *   config.c          engine, YAML loading, the top-level table
 *   config_sections.c source (+ fields, kafka, topics), store, buckets
 *   config_metrics.c  metrics (+ ratio, where) and tree (+ inputs)
 *   config_opts.c     analysis, alerts (+ sinks, backoff, stall), http:
 *                     the options owned by other modules, and those
 *                     owners' *_opts_default(), which apply these tables
 *   config_print.c    lw_config_print and lw_config_describe
 *
 * The header does not include config.h (config.c includes this one, and the
 * layer check forbids the cycle): the config is `struct lw_config`, and a
 * scalar's type is an int holding an lw_scalar_type_t.  Type and constant
 * names without the lw_ prefix (T_INT, key_spec_t ...) are compile-time only;
 * every function with external linkage is prefixed lw_cfg_.
 */
#ifndef LEADWATCH_CONFIG_TABLE_H
#define LEADWATCH_CONFIG_TABLE_H

#include <yaml.h>

#include "leadwatch/core/common.h"
#include "leadwatch/model/analyze_opts.h"

struct lw_config;

#define KP_MAX 192  /* dotted key path buffer (truncated for display) */
#define MSG_MAX 320 /* one message before the "name:line: key: " prefix */
#define MAX_KEYS 24 /* keys in one section table */
#define DISP_MAX 72 /* user text echoed in a message */
#define STR_(x) #x
#define STR(x) STR_(x) /* a bound as text, for messages and help */
/* Offset of a member of lw_config_t (for files that include config.h). */
#define CFG(member) offsetof(struct lw_config, member)

typedef enum {
    T_STRING,   /* non-empty string */
    T_NAME,     /* metric name: [a-z0-9_]+, <= LW_CONFIG_MAX_NAME */
    T_PATH,     /* dotted JSON path */
    T_INT,      /* whole number within [min, max]; stored per ctype */
    T_NUMBER,   /* finite number (double); bounds [fmin, fmax] are the owner's, shown by describe */
    T_DURATION, /* "30s", "2d", ...; int64 ms within [min, max] */
    T_BUCKET,   /* duration equal to 1h, 1d or 1w */
    T_FORMAT,   /* lw_format_t via lw_format_parse */
    T_ENUM,     /* one of enum_names; stored as the int index */
    T_TRUE,     /* the boolean true (count: true) */
    T_REF,      /* name of a metric already parsed; stored as int index */
    T_BOOL,     /* true or false; stored as bool */
    T_URL,      /* http:// or https:// URL, at most LW_CONFIG_MAX_URL bytes; stored as char* */
    T_SECONDS,  /* duration in whole seconds within [min, max] (ms); stored as unsigned s */
    T_SECTION,  /* nested mapping parsed by `sub` against the same base */
    T_CUSTOM    /* parsed by `custom` */
} vtype_t;

typedef enum { C_NONE = 0, C_INT, C_LONG, C_SIZE, C_UINT, C_INT64 } ctype_t;

typedef struct ctx ctx_t;
typedef struct key_spec key_spec_t;
typedef struct section section_t;

typedef lw_err_t (*custom_fn)(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                              const char *kp);
/* `line` is the section's line (its key's line, or the list item's line). */
typedef lw_err_t (*check_fn)(ctx_t *c, void *base, int line, const int *lines, const char *kp);

struct key_spec {
    const char *key;
    vtype_t type;
    size_t off;      /* value location, relative to the section's base */
    ctype_t ctype;   /* T_INT only */
    const char *def; /* default, as config text; NULL: none */
    bool required;
    int64_t min, max;          /* T_INT, T_DURATION, T_SECONDS; T_CUSTOM: shown by describe */
    double fmin, fmax;         /* T_NUMBER: the owner's bounds, for describe; both 0: none */
    bool fmin_open, fmax_open; /* (fmin, ...) / (..., fmax) rather than [ ] */
    int kind;                  /* metric kind keys: LW_METRIC_* + 1; 0 otherwise */
    const char *const *enum_names;
    const section_t *sub; /* T_SECTION; T_CUSTOM lists: the section of one item (describe) */
    bool null_ok;         /* T_SECTION: a null value (`http:` alone) is an empty mapping */
    custom_fn custom;     /* T_CUSTOM */
    const char *doc_type; /* T_CUSTOM: type shown by describe */
    const char *doc_def;  /* no `def`: the default as text, applied by the owner's
                           *_opts_default() from this very string */
    const char *help;
};

/*
 * The common entry shapes of a table; any other entry is written out with
 * designated initializers.  Bounds of 0 mean "none" as in key_spec_t.
 */
#define KEY_INT(k, ct, o, d, lo, hi, h)                                                            \
    {                                                                                              \
        .key = (k), .type = T_INT, .ctype = (ct), .off = (o), .def = (d), .min = (lo),             \
        .max = (hi), .help = (h)                                                                   \
    }
#define KEY_DURATION(k, o, d, lo, hi, h)                                                           \
    {                                                                                              \
        .key = (k), .type = T_DURATION, .off = (o), .def = (d), .min = (lo), .max = (hi),          \
        .help = (h)                                                                                \
    }
#define KEY_NUMBER(k, o, d, lo, hi, lo_open, hi_open, h)                                           \
    {                                                                                              \
        .key = (k), .type = T_NUMBER, .off = (o), .def = (d), .fmin = (lo), .fmax = (hi),          \
        .fmin_open = (lo_open), .fmax_open = (hi_open), .help = (h)                                \
    }
#define KEY_SECTION(k, s, h)                                                                       \
    {                                                                                              \
        .key = (k), .type = T_SECTION, .sub = (s), .help = (h)                                     \
    }
/* A scalar key stored at o (T_STRING, T_PATH, T_BOOL, T_URL, ...); d: default text or NULL. */
#define KEY_VALUE(k, t, o, d, h)                                                                   \
    {                                                                                              \
        .key = (k), .type = (t), .off = (o), .def = (d), .help = (h)                               \
    }
#define KEY_ENUM(k, o, d, names, h)                                                                \
    {                                                                                              \
        .key = (k), .type = T_ENUM, .off = (o), .def = (d), .enum_names = (names), .help = (h)     \
    }
/* A key parsed by fn; describe shows doc_type and doc_def (NULL: no default shown). */
#define KEY_CUSTOM(k, fn, dt, dd, h)                                                               \
    {                                                                                              \
        .key = (k), .type = T_CUSTOM, .custom = (fn), .doc_type = (dt), .doc_def = (dd),           \
        .help = (h)                                                                                \
    }
/* One of a metric's kind keys (count, sum, mean): kd is the LW_METRIC_* it selects. */
#define KEY_KIND(k, t, o, kd, h)                                                                   \
    {                                                                                              \
        .key = (k), .type = (t), .off = (o), .kind = (kd) + 1, .help = (h)                         \
    }
/* A kind key parsed by fn (distinct, ratio); describe shows doc_type dt. */
#define KEY_KIND_CUSTOM(k, fn, dt, kd, h)                                                          \
    {                                                                                              \
        .key = (k), .type = T_CUSTOM, .custom = (fn), .doc_type = (dt), .kind = (kd) + 1,          \
        .help = (h)                                                                                \
    }
/* A nested section that may be absent or null (`http:` alone). */
#define KEY_SECTION_OPT(k, s, h)                                                                   \
    {                                                                                              \
        .key = (k), .type = T_SECTION, .sub = (s), .null_ok = true, .help = (h)                    \
    }
/* A required list of mappings parsed by fn; describe shows sub's keys for one item. */
#define KEY_LIST(k, fn, s, h)                                                                      \
    {                                                                                              \
        .key = (k), .type = T_CUSTOM, .custom = (fn), .sub = (s), .required = true,                \
        .doc_type = "list", .help = (h)                                                            \
    }
/* A key without a default that must be present. */
#define KEY_REQUIRED(k, t, o, h)                                                                   \
    {                                                                                              \
        .key = (k), .type = (t), .off = (o), .required = true, .help = (h)                         \
    }

/* The keys of a section_t: a key_spec_t array and its length. */
#define KEYS(a) .keys = (a), .nkeys = sizeof(a) / sizeof(a)[0]

/* A section_t: its path as describe shows it, its key table, its cross-field check (or NULL). */
#define SECTION(p, a, chk, h)                                                                      \
    {                                                                                              \
        .path = (p), KEYS(a), .check = (chk), .help = (h)                                          \
    }

struct section {
    const char *path; /* as shown by describe: "source", "metrics[]" */
    const key_spec_t *keys;
    size_t nkeys;
    check_fn check; /* cross-field validation after all keys; may be NULL */
    const char *help;
};

struct ctx {
    const char *name; /* file name used in messages */
    char *errstr;
    size_t errstr_size;
    yaml_document_t *doc;
    struct lw_config *cfg;
    /* metrics: ratio operands by name until the whole list is read; [nratio] */
    char *(*ratio_names)[2];
    int (*ratio_lines)[2];
    size_t nratio;
};

/* A scalar with its core-schema type resolved. */
typedef struct {
    const char *s; /* NUL-terminated text */
    size_t len;
    int type;   /* lw_scalar_type_t */
    double num; /* LW_SCALAR_NUMBER; may be inf/nan, checked by users */
    bool b;
    int line;
} sval_t;

/* ---- messages (config.c) */

/* LW_ERR_CONFIG with "NAME:LINE: KP: message" in c->errstr. */
lw_err_t lw_cfg_fail(ctx_t *c, int line, const char *kp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* User text for a message: control bytes become '?', long text is cut with "...". */
const char *lw_cfg_disp(const char *s, char *buf, size_t size);
/* out (KP_MAX) = parent.key / parent[i] */
void lw_cfg_kp_key(char *out, const char *parent, const char *key);
void lw_cfg_kp_index(char *out, const char *parent, size_t i);
/* "2d", "90m", "500ms": the largest unit that divides ms. */
const char *lw_cfg_fmt_duration(int64_t ms, char *buf, size_t size);
/* NULL when s is a valid dotted path, else what is wrong with it. */
const char *lw_cfg_path_problem(const char *s, size_t len);

/* ---- nodes and scalars (config.c) */

yaml_node_t *lw_cfg_node_at(ctx_t *c, int index);
int lw_cfg_node_line(const yaml_node_t *n);
/* "a mapping", "a list", "a string", "a number", ... for messages */
const char *lw_cfg_node_desc(const yaml_node_t *n);
const char *lw_cfg_sval_desc(const sval_t *v);
/* Read a scalar node; `want` names the expected type for the message. */
lw_err_t lw_cfg_get_scalar(ctx_t *c, yaml_node_t *n, const char *kp, const char *want, sval_t *v);
/* LW_OK for a non-empty string, else a message naming `what` was expected. */
lw_err_t lw_cfg_want_string(ctx_t *c, const sval_t *v, const char *kp, const char *what);
/*
 * A YAML list of non-empty strings at kp: `each` gets every item in order
 * (its scalar, its key path "kp[i]", i and the list's length n) and may fail
 * with a message of its own.  Not a list: "expected a list of <list_what>";
 * an item that is not a string: "expected <item_what>".
 */
typedef lw_err_t (*lw_cfg_item_fn)(ctx_t *c, const sval_t *sv, const char *sub, size_t i, size_t n,
                                   void *arg);
lw_err_t lw_cfg_each_string(ctx_t *c, yaml_node_t *v, const char *kp, const char *list_what,
                            const char *item_what, lw_cfg_item_fn each, void *arg);
/*
 * The length of the YAML list v at kp, 1..max: otherwise "expected a list
 * of <many>, got ...", "at least one <one> is required" or (at the first
 * item too many) "more than MAX <many>".
 */
lw_err_t lw_cfg_list_len(ctx_t *c, yaml_node_t *v, const char *kp, const char *one,
                         const char *many, size_t max, size_t *n);
/* The number of pairs of the YAML mapping v at kp, 0..max: otherwise
 * "expected a mapping of <what>, got ..." or "more than MAX <many>". */
lw_err_t lw_cfg_map_len(ctx_t *c, yaml_node_t *v, const char *kp, const char *what,
                        const char *many, size_t max, size_t *n);
/*
 * Item i of a list that fills one of the analysis options' bounded lists
 * (analysis.holidays, tree.controls) through add (lw_analyze_opts_add_*):
 * the first item empties the list (*count = 0: the list replaces the
 * default), add's message becomes the item's error.  config_opts.c.
 */
typedef lw_err_t (*lw_cfg_analysis_add_fn)(lw_analyze_opts_t *o, const char *s, char *errstr,
                                           size_t errstr_size);
lw_err_t lw_cfg_analysis_item(ctx_t *c, const sval_t *sv, const char *sub, size_t i, size_t *count,
                              lw_cfg_analysis_add_fn add, lw_analyze_opts_t *o);
/*
 * A YAML mapping at kp with string keys (lw_cfg_map_len's checks and
 * messages): `each` gets every pair in order, the key's scalar (a
 * non-empty string: else "expected <key_what>", or "expected
 * <key_scalar_what>" when the key is not a scalar at all), the value node,
 * the key path "kp.KEY", i and the mapping's size n.
 */
typedef lw_err_t (*lw_cfg_pair_fn)(ctx_t *c, const sval_t *ks, yaml_node_t *vn, const char *sub,
                                   size_t i, size_t n, void *arg);
lw_err_t lw_cfg_each_pair(ctx_t *c, yaml_node_t *v, const char *kp, const char *what,
                          const char *many, size_t max, const char *key_scalar_what,
                          const char *key_what, lw_cfg_pair_fn each, void *arg);
/* strndup of the scalar; NULL with *err set (LW_ERR_NOMEM) when out of memory. */
char *lw_cfg_dup_str(ctx_t *c, const sval_t *v, const char *kp, lw_err_t *err);
/* Convert a scalar for key k (of a scalar type) and store it at dst. */
lw_err_t lw_cfg_store_scalar(ctx_t *c, const key_spec_t *k, const sval_t *v, void *dst,
                             const char *kp);

/* ---- tables (config.c) */

/* Check a mapping against a table and store its values into base (see config.c). */
lw_err_t lw_cfg_parse_section(ctx_t *c, const section_t *sec, yaml_node_t *map, int line,
                              void *base, const char *kp);
/* Store every default of sec (and nested sections) into base; fails only when out of memory. */
lw_err_t lw_cfg_apply_defaults(ctx_t *c, const section_t *sec, void *base);
/*
 * The owners' defaults: store the defaults of the keys of sec (and nested
 * sections) whose location lies in [at, at + size) of base's type into dst,
 * a struct laid out like that member.  Only non-string scalars may lie there.
 */
void lw_cfg_defaults_into(const section_t *sec, size_t at, size_t size, void *dst);
/* The default text of a key (def, else doc_def; NULL when none). */
const char *lw_cfg_default_text(const section_t *sec, const char *key);
/* Index of key in sec->keys (the key must be there). */
size_t lw_cfg_key_index(const section_t *sec, const char *key);

extern const section_t lw_cfg_top_section;

/* ---- the sections, by file */

extern const section_t lw_cfg_source_section, lw_cfg_store_section,
    lw_cfg_buckets_section;                                        /* config_sections.c */
extern const section_t lw_cfg_metric_section, lw_cfg_tree_section; /* config_metrics.c */
lw_err_t lw_cfg_parse_metrics(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                              const char *kp);
/* A `where` mapping at kp into *where / *nwhere (metrics and experiments.exposures). */
struct lw_where;
lw_err_t lw_cfg_parse_where(ctx_t *c, yaml_node_t *v, const char *kp, struct lw_where **where,
                            size_t *nwhere);
extern const section_t lw_cfg_experiments_section; /* config_experiments.c */
extern const section_t lw_cfg_analysis_section, lw_cfg_alerts_section,
    lw_cfg_http_section; /* config_opts.c */
/* Point the option structs handed to alertsink.h and http.h at the config's strings. */
void lw_cfg_wire_options(struct lw_config *cfg);

#endif
