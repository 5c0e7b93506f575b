/*
 * config.c - load and validate the YAML configuration (see config.h).
 *
 * How it works
 * ------------
 * 1. Safety pre-pass.  The text is run once through libyaml's event parser
 *    (yaml_parser_parse) before any tree is built.  This pass reports syntax
 *    errors with the parser's problem_mark line, and rejects what the schema
 *    never needs but an attacker could use: aliases (billion laughs, and
 *    `&a [*a]` which makes libyaml's node graph cyclic), explicit tags, more
 *    than one document, more than LW_CONFIG_MAX_NODES nodes and nesting
 *    deeper than LW_CONFIG_MAX_NESTING.  The file itself is bounded by
 *    LW_CONFIG_MAX_BYTES.  Because aliases are gone, the node graph that
 *    yaml_parser_load builds in step 2 is a tree and every walk terminates.
 * 2. yaml_parser_load builds the node tree; every node carries its line.
 * 3. Declarative tables drive the walk.  A section_t lists its keys
 *    (key_spec_t: key, value type, where the value is stored, default,
 *    bounds, help).  parse_section() checks a mapping against a table in two
 *    passes: first over the document (key must be a string, known, not a
 *    duplicate, and at most one "kind" key per metric), then over the table
 *    in table order (convert each present value, report missing required
 *    keys), then it runs the section's cross-field check.  Processing in
 *    table order means buckets is known before metrics (window check) and
 *    metrics before tree (name lookup), whatever order the file uses.
 *    Defaults are stored as config text and converted by the same code as
 *    the file's values, so the documented default is the applied default.
 *    lw_config_describe() prints the same tables.
 * 4. Metric references inside metrics (ratio) may point forward, so ratio
 *    names are kept in the parse context and resolved after the whole
 *    `metrics` list, followed by the self/cycle check (DFS over ratio edges)
 *    and the bound on distinct JSON paths the decoder must register.
 *
 * Scalars follow the YAML 1.2 core schema for plain (unquoted) scalars:
 * true/false (any case form of True/TRUE) are booleans, null/~/empty are
 * null, decimal integers and floats (and .inf/.nan) are numbers; everything
 * else, and every quoted scalar, is a string.  YAML 1.1 yes/no/on/off and
 * hex/octal are strings.  A key's type is checked against that typing, so
 * `name: 2024` is an error (quote it).
 *
 * Errors: exactly one line, "NAME:LINE: KEY: message", KEY being the dotted
 * key path (metrics[2].where.event).  User text echoed in messages is
 * truncated and control characters are replaced, so a message is always
 * one line.  On any error the partially built config is freed with
 * lw_config_free(), which tolerates every partial state (all owned pointers
 * start NULL and counts only cover zeroed memory).
 *
 * Sections whose options belong to another module (analysis, alerts, http)
 * start from the owner's *_opts_default(); their tables restate the same
 * defaults (test_config checks they agree) and their section check calls
 * the owner's *_opts_check(), whose "section.key: message" is re-issued as
 * "NAME:LINE: section.key: message" on the line of that key (owner_fail).
 * The option structs handed to alertsink.h and http.h point at strings the
 * config owns (wire_options).  Two kinds of value may be secret and are
 * never echoed in a message or printed: webhook header values and URLs
 * (which may carry user:password); lw_config_print shows "(hidden)".
 * Durations also accept "ms" (parse_duration), for sub-second timeouts.
 *
 * Adding a section means adding its struct to lw_config_t, one key table +
 * section_t here, one line in top_keys and one in lw_config_describe.
 */
#include "leadwatch/model/config.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "leadwatch/ingest/consumer.h"
#include "leadwatch/store/series.h"
#include "leadwatch/core/timeutil.h"

#define KP_MAX 192  /* dotted key path buffer (truncated for display) */
#define MSG_MAX 320 /* one message before the "name:line: key: " prefix */
#define MAX_KEYS 24 /* keys in one section table */
#define DISP_MAX 72 /* user text echoed in a message */
#define STR_(x) #x
#define STR(x) STR_(x) /* a bound as text, for messages and help */

/* ---------------------------------------------------------------- names */

static const char *const metric_kind_names[] = {"count", "sum", "distinct", "ratio", "mean"};
static const char *const input_kind_names[] = {"breadth", "depth", "frequency", "efficiency", NULL};

const char *lw_metric_kind_name(lw_metric_kind_t k)
{
    if ((unsigned)k < sizeof metric_kind_names / sizeof metric_kind_names[0])
        return metric_kind_names[k];
    return "unknown";
}

const char *lw_input_kind_name(lw_input_kind_t k)
{
    if ((unsigned)k < 4)
        return input_kind_names[k];
    return "unknown";
}

/* ------------------------------------------------------- tables: types */

typedef enum {
    T_STRING,   /* non-empty string */
    T_NAME,     /* metric name: [a-z0-9_]+, <= LW_CONFIG_MAX_NAME */
    T_PATH,     /* dotted JSON path */
    T_INT,      /* whole number within [min, max]; stored per ctype */
    T_NUMBER,   /* finite number (double) */
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
    int64_t min, max; /* T_INT, T_DURATION */
    int kind;         /* metric kind keys: LW_METRIC_* + 1; 0 otherwise */
    const char *const *enum_names;
    const section_t *sub; /* T_SECTION */
    bool null_ok;         /* T_SECTION: a null value (`http:` alone) is an empty mapping */
    custom_fn custom;     /* T_CUSTOM */
    const char *doc_type; /* T_CUSTOM: type shown by describe */
    const char *doc_def;  /* T_CUSTOM: default shown by describe (applied by the owner) */
    const char *help;
};

struct section {
    const char *path; /* as shown by describe: "source", "metrics[]" */
    const key_spec_t *keys;
    size_t nkeys;
    check_fn check; /* cross-field validation after all keys; may be NULL */
    const char *help;
};

/* ------------------------------------------------------------ context */

struct ctx {
    const char *name; /* file name used in messages */
    char *errstr;
    size_t errstr_size;
    yaml_document_t *doc;
    lw_config_t *cfg;
    /* metrics: ratio operands by name until the whole list is read */
    char *ratio_names[LW_CONFIG_MAX_METRICS][2];
    int ratio_lines[LW_CONFIG_MAX_METRICS][2];
};

static lw_err_t fail(ctx_t *c, int line, const char *kp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static lw_err_t fail(ctx_t *c, int line, const char *kp, const char *fmt, ...)
{
    char msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lw_seterr(c->errstr, c->errstr_size, LW_ERR_CONFIG, "%s:%d: %s: %s", c->name, line, kp,
                     msg);
}

/*
 * Copy user text for a message: control bytes become '?', long text is cut
 * with "...", so an error stays one readable line.
 */
static const char *disp(const char *s, char *buf, size_t size)
{
    size_t n = 0, i = 0;
    assert(size > 4);
    for (; s[i] && n + 1 < size; i++)
        buf[n++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    if (s[i] && n + 1 >= size)
        memcpy(buf + size - 4, "...", 4);
    else
        buf[n] = '\0';
    return buf;
}

static void kp_key(char *out, const char *parent, const char *key)
{
    char d[DISP_MAX];
    disp(key, d, sizeof d);
    int n = parent[0] ? snprintf(out, KP_MAX, "%s.%s", parent, d) : snprintf(out, KP_MAX, "%s", d);
    if (n >= KP_MAX) /* only deep nonsense paths get here; keep them readable */
        memcpy(out + KP_MAX - 4, "...", 4);
}

static void kp_index(char *out, const char *parent, size_t i)
{
    if (snprintf(out, KP_MAX, "%s[%zu]", parent, i) >= KP_MAX)
        memcpy(out + KP_MAX - 4, "...", 4);
}

static yaml_node_t *node_at(ctx_t *c, int index)
{
    return yaml_document_get_node(c->doc, index);
}

static int node_line(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

/* ------------------------------------------------------------ scalars */

/* A scalar with its core-schema type resolved. */
typedef struct {
    const char *s; /* NUL-terminated text */
    size_t len;
    lw_scalar_type_t type;
    double num; /* LW_SCALAR_NUMBER; may be inf/nan, checked by users */
    bool b;
    int line;
} sval_t;

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* YAML 1.2 core schema float/int: [-+]? ( \.[0-9]+ | [0-9]+(\.[0-9]*)? ) ([eE][-+]?[0-9]+)? */
static bool is_core_number(const char *s, size_t n)
{
    size_t i = 0, d0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    d0 = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    bool int_digits = i > d0;
    bool frac_digits = false;
    if (i < n && s[i] == '.') {
        size_t f0 = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        frac_digits = i > f0;
    }
    if (!int_digits && !frac_digits)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        if (!all_digits(s + i, n - i))
            return false;
        i = n;
    }
    return i == n;
}

static bool is_one_of(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return true;
    return false;
}

/* Resolve a plain scalar's type (also used for defaults in the tables). */
static void resolve_plain(sval_t *v)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    static const char *const infs[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
    static const char *const ninfs[] = {"-.inf", "-.Inf", "-.INF", NULL};
    static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};

    v->type = LW_SCALAR_STRING;
    if (is_one_of(v->s, nulls)) {
        v->type = LW_SCALAR_NULL;
    } else if (is_one_of(v->s, trues) || is_one_of(v->s, falses)) {
        v->type = LW_SCALAR_BOOL;
        v->b = v->s[0] == 't' || v->s[0] == 'T';
    } else if (is_one_of(v->s, infs)) {
        v->type = LW_SCALAR_NUMBER;
        v->num = HUGE_VAL;
    } else if (is_one_of(v->s, ninfs)) {
        v->type = LW_SCALAR_NUMBER;
        v->num = -HUGE_VAL;
    } else if (is_one_of(v->s, nans)) {
        v->type = LW_SCALAR_NUMBER;
        v->num = nan("");
    } else if (is_core_number(v->s, v->len)) {
        v->type = LW_SCALAR_NUMBER;
        v->num = strtod(v->s, NULL); /* syntax already checked; overflow gives inf */
    }
}

static const char *node_desc(const yaml_node_t *n)
{
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    sval_t v = {.s = (const char *)n->data.scalar.value, .len = n->data.scalar.length};
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return "a string";
    resolve_plain(&v);
    switch (v.type) {
    case LW_SCALAR_STRING: return "a string";
    case LW_SCALAR_NUMBER: return "a number";
    case LW_SCALAR_BOOL: return "a boolean";
    case LW_SCALAR_NULL: return "null";
    }
    return "a scalar";
}

/* Read a scalar node; `want` names the expected type for the message. */
static lw_err_t get_scalar(ctx_t *c, yaml_node_t *n, const char *kp, const char *want, sval_t *v)
{
    if (n->type != YAML_SCALAR_NODE)
        return fail(c, node_line(n), kp, "expected %s, got %s", want, node_desc(n));
    memset(v, 0, sizeof *v);
    v->s = (const char *)n->data.scalar.value;
    v->len = n->data.scalar.length;
    v->line = node_line(n);
    if (strlen(v->s) != v->len)
        return fail(c, v->line, kp, "contains a NUL character");
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        resolve_plain(v);
    else
        v->type = LW_SCALAR_STRING;
    return LW_OK;
}

static const char *sval_desc(const sval_t *v)
{
    switch (v->type) {
    case LW_SCALAR_STRING: return "a string";
    case LW_SCALAR_NUMBER: return "a number";
    case LW_SCALAR_BOOL: return "a boolean";
    case LW_SCALAR_NULL: return "null";
    }
    return "a scalar";
}

static lw_err_t want_string(ctx_t *c, const sval_t *v, const char *kp, const char *what)
{
    if (v->type == LW_SCALAR_STRING && v->len > 0)
        return LW_OK;
    if (v->type == LW_SCALAR_STRING)
        return fail(c, v->line, kp, "expected %s, got an empty string", what);
    return fail(c, v->line, kp, "expected %s, got %s%s", what, sval_desc(v),
                v->type == LW_SCALAR_NULL ? "" : " (quote it to make it a string)");
}

/* ----------------------------------------------------- value checkers */

/* NULL when `s` is a valid dotted path, else what is wrong with it. */
static const char *path_problem(const char *s, size_t len)
{
    if (len == 0)
        return "empty path";
    if (len > LW_CONFIG_MAX_PATH)
        return "path longer than " STR(LW_CONFIG_MAX_PATH) " bytes";
    size_t segs = 1;
    if (s[0] == '.' || s[len - 1] == '.')
        return "path has an empty segment (leading or trailing '.')";
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '.')
            continue;
        if (s[i + 1] == '.')
            return "path has an empty segment ('..')";
        segs++;
    }
    if (segs > LW_EVENT_MAX_PATH_DEPTH)
        return "path has more than " STR(LW_EVENT_MAX_PATH_DEPTH) " segments";
    return NULL;
}

static const char *name_problem(const char *s, size_t len)
{
    if (len == 0)
        return "empty name";
    if (len > LW_CONFIG_MAX_NAME)
        return "name longer than " STR(LW_CONFIG_MAX_NAME) " characters";
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return "name may only contain a-z, 0-9 and _";
    }
    return NULL;
}

/* Format a duration with the largest unit that divides it ("2d", "90m"). */
static const char *fmt_duration(int64_t ms, char *buf, size_t size)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = {{LW_MS_PER_WEEK, "w"},
                 {LW_MS_PER_DAY, "d"},
                 {LW_MS_PER_HOUR, "h"},
                 {60000, "m"},
                 {1000, "s"}};
    if (ms == 0) {
        snprintf(buf, size, "0");
        return buf;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms % units[i].ms == 0) {
            snprintf(buf, size, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            return buf;
        }
    }
    snprintf(buf, size, "%lldms", (long long)ms);
    return buf;
}

/*
 * A duration: "<n>ms", or what lw_duration_parse accepts (s, m, h, d, w, or
 * "0").  The shared parser has no sub-second unit, but HTTP timeouts and
 * retry backoff (alerts.timeout, alerts.backoff.initial) are naturally given
 * in milliseconds, so the config accepts "ms" on top of it; the bounds of
 * every key still apply.
 */
static bool parse_duration(const char *s, int64_t *out_ms)
{
    size_t n = strlen(s);
    if (n > 2 && s[n - 2] == 'm' && s[n - 1] == 's') {
        int64_t v = 0;
        for (size_t i = 0; i < n - 2; i++) {
            if (s[i] < '0' || s[i] > '9' || v > (INT64_MAX - 9) / 10)
                return false;
            v = v * 10 + (s[i] - '0');
        }
        *out_ms = v;
        return true;
    }
    return lw_duration_parse(s, out_ms);
}

/* NULL when `s` is an acceptable http(s) URL, else what is wrong with it. */
static const char *url_problem(const char *s, size_t len)
{
    size_t scheme = strncmp(s, "http://", 7) == 0 ? 7 : strncmp(s, "https://", 8) == 0 ? 8 : 0;
    if (scheme == 0)
        return "expected an http:// or https:// URL";
    if (len == scheme || s[scheme] == '/')
        return "the URL has no host";
    if (len > LW_CONFIG_MAX_URL)
        return "URL longer than " STR(LW_CONFIG_MAX_URL) " bytes";
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return "the URL contains a space or control character (percent-encode it)";
    return NULL;
}

static char *dup_str(ctx_t *c, const sval_t *v, const char *kp, lw_err_t *err)
{
    char *s = strndup(v->s, v->len);
    if (!s)
        *err = lw_seterr(c->errstr, c->errstr_size, LW_ERR_NOMEM, "%s:%d: %s: out of memory",
                         c->name, v->line, kp);
    return s;
}

static void set_str(void *dst, char *s)
{
    char **p = dst;
    free(*p);
    *p = s;
}

/* Store a scalar value of a scalar-typed key at base + k->off. */
static lw_err_t store_scalar(ctx_t *c, const key_spec_t *k, const sval_t *v, void *base,
                             const char *kp)
{
    void *dst = (char *)base + k->off;
    lw_err_t err = LW_OK;
    const char *problem;
    char d[DISP_MAX], lo[32], hi[32];
    int64_t ms;

    switch (k->type) {
    case T_STRING:
    case T_NAME:
    case T_PATH:
        if ((err = want_string(c, v, kp, k->type == T_PATH ? "a dotted path" : "a string")))
            return err;
        problem = k->type == T_NAME   ? name_problem(v->s, v->len)
                  : k->type == T_PATH ? path_problem(v->s, v->len)
                                      : NULL;
        if (problem)
            return fail(c, v->line, kp, "%s: \"%s\"", problem, disp(v->s, d, sizeof d));
        {
            char *s = dup_str(c, v, kp, &err);
            if (!s)
                return err;
            set_str(dst, s);
        }
        return LW_OK;

    case T_INT:
        if (v->type != LW_SCALAR_NUMBER || !isfinite(v->num) || v->num != floor(v->num))
            return fail(c, v->line, kp, "expected a whole number, got %s%s%s%s", sval_desc(v),
                        v->type == LW_SCALAR_STRING ? " \"" : "",
                        v->type == LW_SCALAR_STRING ? disp(v->s, d, sizeof d) : "",
                        v->type == LW_SCALAR_STRING ? "\"" : "");
        if (v->num < (double)k->min || v->num > (double)k->max)
            return fail(c, v->line, kp, "%s is out of range [%lld, %lld]", disp(v->s, d, sizeof d),
                        (long long)k->min, (long long)k->max);
        switch (k->ctype) {
        case C_INT: *(int *)dst = (int)v->num; break;
        case C_LONG: *(long *)dst = (long)v->num; break;
        case C_SIZE: *(size_t *)dst = (size_t)v->num; break;
        case C_UINT: *(unsigned *)dst = (unsigned)v->num; break;
        case C_INT64: *(int64_t *)dst = (int64_t)v->num; break;
        case C_NONE: assert(!"T_INT without ctype"); break;
        }
        return LW_OK;

    case T_NUMBER:
        if (v->type != LW_SCALAR_NUMBER)
            return fail(c, v->line, kp, "expected a number, got %s", sval_desc(v));
        if (!isfinite(v->num))
            return fail(c, v->line, kp, "must be a finite number, got %s", disp(v->s, d, sizeof d));
        *(double *)dst = v->num;
        return LW_OK;

    case T_DURATION:
    case T_BUCKET:
    case T_SECONDS:
        if ((v->type != LW_SCALAR_STRING && v->type != LW_SCALAR_NUMBER) ||
            !parse_duration(v->s, &ms))
            return fail(c, v->line, kp,
                        "invalid duration \"%s\" (a whole number and a unit ms, s, m, h, d or w, "
                        "e.g. 500ms, 30s, 2d)",
                        disp(v->s, d, sizeof d));
        if (k->type == T_BUCKET) {
            if (ms != LW_MS_PER_HOUR && ms != LW_MS_PER_DAY && ms != LW_MS_PER_WEEK)
                return fail(c, v->line, kp, "bucket size must be 1h, 1d or 1w, got \"%s\"",
                            disp(v->s, d, sizeof d));
        } else if (ms < k->min || ms > k->max) {
            return fail(c, v->line, kp, "%s is out of range [%s, %s]", disp(v->s, d, sizeof d),
                        fmt_duration(k->min, lo, sizeof lo), fmt_duration(k->max, hi, sizeof hi));
        }
        if (k->type == T_SECONDS) {
            if (ms % 1000 != 0)
                return fail(c, v->line, kp, "%s is not a whole number of seconds",
                            disp(v->s, d, sizeof d));
            *(unsigned *)dst = (unsigned)(ms / 1000);
            return LW_OK;
        }
        *(int64_t *)dst = ms;
        return LW_OK;

    case T_BOOL:
        if (v->type != LW_SCALAR_BOOL)
            return fail(c, v->line, kp, "expected true or false, got %s", sval_desc(v));
        *(bool *)dst = v->b;
        return LW_OK;

    case T_URL:
        if ((err = want_string(c, v, kp, "an http:// or https:// URL")))
            return err;
        /* the URL is not echoed: it may carry user:password */
        if ((problem = url_problem(v->s, v->len)))
            return fail(c, v->line, kp, "%s", problem);
        {
            char *s = dup_str(c, v, kp, &err);
            if (!s)
                return err;
            set_str(dst, s);
        }
        return LW_OK;

    case T_FORMAT:
        if ((err = want_string(c, v, kp, "an event format")))
            return err;
        if (!lw_format_parse(v->s, (lw_format_t *)dst))
            return fail(c, v->line, kp, "unknown format \"%s\" (segment, amplitude or custom)",
                        disp(v->s, d, sizeof d));
        return LW_OK;

    case T_ENUM:
        if ((err = want_string(c, v, kp, "a string")))
            return err;
        for (int i = 0; k->enum_names[i]; i++) {
            if (strcmp(v->s, k->enum_names[i]) == 0) {
                *(int *)dst = i;
                return LW_OK;
            }
        }
        {
            char list[128] = "";
            size_t used = 0;
            for (int i = 0; k->enum_names[i] && used < sizeof list; i++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                         k->enum_names[i]);
            return fail(c, v->line, kp, "unknown value \"%s\" (expected one of: %s)",
                        disp(v->s, d, sizeof d), list);
        }

    case T_TRUE:
        if (v->type != LW_SCALAR_BOOL || !v->b)
            return fail(c, v->line, kp, "must be true (omit the key otherwise), got %s%s%s",
                        sval_desc(v), v->type == LW_SCALAR_BOOL ? " " : "",
                        v->type == LW_SCALAR_BOOL ? "false" : "");
        return LW_OK;

    case T_REF: {
        if ((err = want_string(c, v, kp, "a metric name")))
            return err;
        int idx = lw_config_metric_index(c->cfg, v->s);
        if (idx < 0)
            return fail(c, v->line, kp, "unknown metric \"%s\"", disp(v->s, d, sizeof d));
        *(int *)dst = idx;
        return LW_OK;
    }

    case T_SECTION:
    case T_CUSTOM: break;
    }
    assert(!"not a scalar type");
    return LW_ERR_INVALID;
}

/* ----------------------------------------------------- table walking */

static lw_err_t parse_section(ctx_t *c, const section_t *sec, yaml_node_t *map, int line,
                              void *base, const char *kp);

static lw_err_t parse_value(ctx_t *c, const key_spec_t *k, yaml_node_t *v, int key_line, void *base,
                            const char *kp)
{
    static const char *const want[] = {
        [T_STRING] = "a string",     [T_NAME] = "a metric name",     [T_PATH] = "a dotted path",
        [T_INT] = "a whole number",  [T_NUMBER] = "a number",        [T_DURATION] = "a duration",
        [T_BUCKET] = "1h, 1d or 1w", [T_FORMAT] = "an event format", [T_ENUM] = "a string",
        [T_TRUE] = "true",           [T_REF] = "a metric name",      [T_BOOL] = "true or false",
        [T_URL] = "a URL",           [T_SECONDS] = "a duration",
    };
    sval_t sv;
    lw_err_t err;

    if (k->type == T_SECTION && k->null_ok && v->type == YAML_SCALAR_NODE &&
        v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && get_scalar(c, v, kp, "", &sv) == LW_OK &&
        sv.type == LW_SCALAR_NULL) {
        /* `http:` alone: the section is present with every default */
        yaml_node_t empty = {.type = YAML_MAPPING_NODE, .start_mark = v->start_mark};
        return parse_section(c, k->sub, &empty, key_line, base, kp);
    }
    if (k->type == T_SECTION)
        return parse_section(c, k->sub, v, key_line, base, kp);
    if (k->type == T_CUSTOM)
        return k->custom(c, k, v, base, kp);
    if ((err = get_scalar(c, v, kp, want[k->type], &sv)))
        return err;
    return store_scalar(c, k, &sv, base, kp);
}

/*
 * Store every default of `sec` (and of nested sections) into base.  Fails
 * only when out of memory: a default that does not pass its own key's
 * validation is a table bug, caught by the assert and the tests.
 */
static lw_err_t apply_defaults(ctx_t *c, const section_t *sec, void *base)
{
    lw_err_t err = LW_OK;
    for (size_t i = 0; i < sec->nkeys && !err; i++) {
        const key_spec_t *k = &sec->keys[i];
        if (k->type == T_SECTION) {
            err = apply_defaults(c, k->sub, base);
        } else if (k->def) {
            sval_t v = {.s = k->def, .len = strlen(k->def), .line = 1};
            resolve_plain(&v);
            err = store_scalar(c, k, &v, base, k->key);
            assert((err == LW_OK || err == LW_ERR_NOMEM) && "table default fails validation");
        }
    }
    return err;
}

static void keys_list(const section_t *sec, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sec->nkeys && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", sec->keys[i].key);
}

/*
 * Check a mapping against a key table and store its values into `base`.
 * Pass 1 (document order): key is a string, known, not a duplicate, and a
 * metric has at most one kind key.  Pass 2 (table order): convert present
 * values, report missing required keys.  Then the section's check.
 */
static lw_err_t parse_section(ctx_t *c, const section_t *sec, yaml_node_t *map, int line,
                              void *base, const char *kp)
{
    yaml_node_t *vals[MAX_KEYS] = {0};
    int lines[MAX_KEYS] = {0};
    char sub[KP_MAX];
    lw_err_t err;

    assert(sec->nkeys <= MAX_KEYS);
    if (map->type != YAML_MAPPING_NODE)
        return fail(c, node_line(map), kp, "expected a mapping, got %s", node_desc(map));

    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = node_at(c, p->key), *vn = node_at(c, p->value);
        sval_t ks;
        if ((err = get_scalar(c, kn, kp[0] ? kp : "document", "a string key", &ks)))
            return err;
        if ((err = want_string(c, &ks, kp[0] ? kp : "document", "a string key")))
            return err;
        kp_key(sub, kp, ks.s);
        size_t i = 0;
        while (i < sec->nkeys && strcmp(sec->keys[i].key, ks.s) != 0)
            i++;
        if (i == sec->nkeys) {
            char list[256];
            keys_list(sec, list, sizeof list);
            return fail(c, ks.line, sub, "unknown key (expected one of: %s)", list);
        }
        if (lines[i])
            return fail(c, ks.line, sub, "duplicate key (first given at line %d)", lines[i]);
        if (sec->keys[i].kind) {
            for (size_t j = 0; j < sec->nkeys; j++)
                if (sec->keys[j].kind && lines[j])
                    return fail(c, ks.line, sub,
                                "a metric has exactly one kind, but \"%s\" is also given (line %d)",
                                sec->keys[j].key, lines[j]);
        }
        vals[i] = vn;
        lines[i] = ks.line;
    }

    for (size_t i = 0; i < sec->nkeys; i++) {
        const key_spec_t *k = &sec->keys[i];
        kp_key(sub, kp, k->key);
        if (vals[i]) {
            if ((err = parse_value(c, k, vals[i], lines[i], base, sub)))
                return err;
        } else if (k->required) {
            return fail(c, line, sub, "required key is missing");
        }
    }
    return sec->check ? sec->check(c, base, line, lines, kp) : LW_OK;
}

static size_t key_index(const section_t *sec, const char *key)
{
    for (size_t i = 0; i < sec->nkeys; i++)
        if (strcmp(sec->keys[i].key, key) == 0)
            return i;
    assert(!"key not in table");
    return 0;
}

/* ----------------------------------------------------- source section */

#define CFG(member) offsetof(lw_config_t, member)

static const key_spec_t fields_keys[] = {
    {.key = "event",
     .type = T_PATH,
     .off = CFG(source.event_field),
     .required = true,
     .help = "dotted path of the event name (a non-empty string)"},
    {.key = "user",
     .type = T_PATH,
     .off = CFG(source.user_field),
     .required = true,
     .help = "dotted path of the user id (a string or a number)"},
    {.key = "time",
     .type = T_PATH,
     .off = CFG(source.time_field),
     .required = true,
     .help = "dotted path of the event time: ISO 8601 with offset, or epoch seconds/ms"},
};

static const section_t fields_section = {
    .path = "source.fields",
    .keys = fields_keys,
    .nkeys = sizeof fields_keys / sizeof fields_keys[0],
    .help = "where a custom-format event keeps its name, user and time (custom only; all three "
            "required)",
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
        return fail(c, node_line(v), kp, "expected a mapping of librdkafka properties, got %s",
                    node_desc(v));
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n > LW_CONFIG_MAX_KAFKA_PROPS)
        return fail(c, node_line(v), kp, "more than " STR(LW_CONFIG_MAX_KAFKA_PROPS) " properties");
    if (n == 0)
        return LW_OK;
    if (!(cfg->source.kafka = calloc(n, sizeof *cfg->source.kafka)))
        return fail(c, node_line(v), kp, "out of memory");
    rd_kafka_conf_t *scratch = rd_kafka_conf_new();
    if (!scratch)
        return fail(c, node_line(v), kp, "out of memory");
    for (size_t i = 0; i < n && !err; i++) {
        yaml_node_pair_t *p = &v->data.mapping.pairs.start[i];
        yaml_node_t *kn = node_at(c, p->key), *vn = node_at(c, p->value);
        sval_t ks, vs;
        if ((err = get_scalar(c, kn, kp, "a property name", &ks)) ||
            (err = want_string(c, &ks, kp, "a librdkafka property name")))
            break;
        kp_key(sub, kp, ks.s);
        for (size_t j = 0; j < i && !err; j++)
            if (strcmp(cfg->source.kafka[j].key, ks.s) == 0)
                err = fail(c, ks.line, sub, "duplicate key (first given at line %d)",
                           cfg->source.kafka[j].line);
        if (err || (err = get_scalar(c, vn, sub, "a value (string, number or boolean)", &vs)))
            break;
        if (vs.type == LW_SCALAR_NULL) {
            err = fail(c, vs.line, sub, "expected a value, got null");
            break;
        }
        if (rd_kafka_conf_set(scratch, ks.s, vs.s, msg, sizeof msg) != RD_KAFKA_CONF_OK) {
            err = fail(c, vs.line, sub, "%s",
                       lw_kafka_is_secret(ks.s) ? "invalid value (not shown: secret)" : msg);
            break;
        }
        lw_config_kv_t *kv = &cfg->source.kafka[i];
        kv->line = ks.line;
        if (!(kv->key = dup_str(c, &ks, sub, &err)) || !(kv->value = dup_str(c, &vs, sub, &err)))
            break;
        cfg->source.nkafka = i + 1;
    }
    rd_kafka_conf_destroy(scratch);
    return err;
}

static lw_err_t parse_topics(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                             const char *kp)
{
    lw_config_t *cfg = base;
    char sub[KP_MAX], d[DISP_MAX];
    lw_err_t err;
    (void)k;
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(c, node_line(v), kp, "expected a list of topic names, got %s", node_desc(v));
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0)
        return fail(c, node_line(v), kp, "empty list (give at least one topic)");
    if (n > LW_CONFIG_MAX_TOPICS)
        return fail(c, node_line(v), kp, "more than " STR(LW_CONFIG_MAX_TOPICS) " topics");
    if (!(cfg->source.topics = calloc(n, sizeof *cfg->source.topics)))
        return fail(c, node_line(v), kp, "out of memory");
    for (size_t i = 0; i < n; i++) {
        sval_t sv;
        kp_index(sub, kp, i);
        if ((err = get_scalar(c, node_at(c, v->data.sequence.items.start[i]), sub, "a topic name",
                              &sv)) ||
            (err = want_string(c, &sv, sub, "a topic name")))
            return err;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->source.topics[j], sv.s) == 0)
                return fail(c, sv.line, sub, "topic \"%s\" listed twice", disp(sv.s, d, sizeof d));
        if (!(cfg->source.topics[i] = dup_str(c, &sv, sub, &err)))
            return err;
        cfg->source.ntopics = i + 1;
    }
    return LW_OK;
}

static const key_spec_t source_keys[] = {
    {.key = "format",
     .type = T_FORMAT,
     .off = CFG(source.format),
     .def = "segment",
     .help = "event JSON layout: segment, amplitude, or custom (then give source.fields)"},
    {.key = "fields",
     .type = T_SECTION,
     .sub = &fields_section,
     .help = "custom format only: dotted paths of event name, user and time"},
    {.key = "max_event_bytes",
     .type = T_INT,
     .ctype = C_SIZE,
     .off = CFG(source.max_event_bytes),
     .def = "1048576",
     .min = 64,
     .max = 64 * 1024 * 1024,
     .help = "longer events are rejected (reason too_large)"},
    {.key = "max_depth",
     .type = T_INT,
     .ctype = C_INT,
     .off = CFG(source.max_depth),
     .def = "64",
     .min = 1,
     .max = 1024,
     .help = "deeper JSON nesting is rejected (reason too_deep)"},
    {.key = "max_future",
     .type = T_DURATION,
     .off = CFG(source.max_future_ms),
     .def = "1d",
     .min = 1000,
     .max = 366 * LW_MS_PER_DAY,
     .help = "events stamped later than now + this are rejected (time_in_future)"},
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

static const section_t source_section = {
    .path = "source",
    .keys = source_keys,
    .nkeys = sizeof source_keys / sizeof source_keys[0],
    .check = source_check,
    .help = "where events come from and how one event is decoded",
};

static lw_err_t source_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    lw_config_t *cfg = base;
    int fields_line = lines[key_index(&source_section, "fields")];
    char sub[KP_MAX];
    kp_key(sub, kp, "fields");
    if (cfg->source.format != LW_FMT_CUSTOM && fields_line)
        return fail(c, fields_line, sub, "only allowed when source.format is custom");
    if (cfg->source.format == LW_FMT_CUSTOM && !fields_line)
        return fail(c, line, sub, "required when source.format is custom");
    return LW_OK;
}

/* ------------------------------------------------- store and buckets */

static const key_spec_t store_keys[] = {
    {.key = "path",
     .type = T_STRING,
     .off = CFG(store.path),
     .def = "leadwatch.db",
     .help = "SQLite database file (relative to the working directory)"},
    {.key = "flush_events",
     .type = T_INT,
     .ctype = C_LONG,
     .off = CFG(store.flush_events),
     .def = "200000",
     .min = 1,
     .max = 10000000,
     .help = "write the open buckets to the database after this many events"},
    {.key = "flush_interval",
     .type = T_DURATION,
     .off = CFG(store.flush_interval_ms),
     .def = "1s",
     .min = 1000,
     .max = LW_MS_PER_HOUR,
     .help = "... or after this long, whichever comes first"},
};

static const section_t store_section = {
    .path = "store",
    .keys = store_keys,
    .nkeys = sizeof store_keys / sizeof store_keys[0],
    .help = "the SQLite store of per-bucket metric values (optional section)",
};

static const key_spec_t buckets_keys[] = {
    {.key = "size",
     .type = T_BUCKET,
     .off = CFG(buckets.size_ms),
     .def = "1d",
     .help = "bucket length, aligned in UTC: 1h, 1d or 1w (weeks start Monday)"},
    {.key = "grace",
     .type = T_DURATION,
     .off = CFG(buckets.grace_ms),
     .def = "2d",
     .min = 0,
     .max = 366 * LW_MS_PER_DAY,
     .help = "accepted lateness: a bucket stays open this long after it ends"},
};

static const section_t buckets_section = {
    .path = "buckets",
    .keys = buckets_keys,
    .nkeys = sizeof buckets_keys / sizeof buckets_keys[0],
    .help = "time buckets the metrics are aggregated into (optional section)",
};

/* ------------------------------------------------------------ metrics */

#define MET(member) offsetof(lw_metric_def_t, member)

static lw_err_t parse_distinct(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                               const char *kp);
static lw_err_t parse_ratio(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                            const char *kp);
static lw_err_t parse_where(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                            const char *kp);
static lw_err_t metric_check(ctx_t *c, void *base, int line, const int *lines, const char *kp);

static const key_spec_t metric_keys[] = {
    {.key = "name",
     .type = T_NAME,
     .off = MET(name),
     .required = true,
     .help = "unique name: a-z, 0-9, _ (at most 64 characters)"},
    {.key = "count",
     .type = T_TRUE,
     .kind = LW_METRIC_COUNT + 1,
     .help = "kind: number of matching events (count: true)"},
    {.key = "sum",
     .type = T_PATH,
     .off = MET(field),
     .kind = LW_METRIC_SUM + 1,
     .help = "kind: sum of the number at this path over matching events"},
    {.key = "distinct",
     .type = T_CUSTOM,
     .custom = parse_distinct,
     .doc_type = "user|path",
     .kind = LW_METRIC_DISTINCT + 1,
     .help = "kind: distinct users (user) or distinct values of a path (HyperLogLog)"},
    {.key = "ratio",
     .type = T_CUSTOM,
     .custom = parse_ratio,
     .doc_type = "[metric, metric]",
     .kind = LW_METRIC_RATIO + 1,
     .help = "kind: numerator / denominator, two other metrics, per bucket (no cycles)"},
    {.key = "mean",
     .type = T_PATH,
     .off = MET(field),
     .kind = LW_METRIC_MEAN + 1,
     .help = "kind: mean of the number at this path over matching events that carry it"},
    {.key = "scale",
     .type = T_NUMBER,
     .off = MET(scale),
     .def = "1",
     .help = "sum/mean only: multiply the value by this (e.g. ms -> minutes)"},
    {.key = "window",
     .type = T_DURATION,
     .off = MET(window_ms),
     .min = 1,
     .max = INT64_MAX / 2,
     .help = "distinct only: rolling window, a positive multiple of buckets.size "
             "(at most " STR(LW_CONFIG_MAX_WINDOW_BUCKETS) " buckets); absent: the bucket"},
    {.key = "where",
     .type = T_CUSTOM,
     .custom = parse_where,
     .doc_type = "mapping",
     .help = "not on ratio: conditions that must all hold; each maps `event` or a dotted path "
             "to a value or a list of values (any of)"},
};

static const section_t metric_section = {
    .path = "metrics[]",
    .keys = metric_keys,
    .nkeys = sizeof metric_keys / sizeof metric_keys[0],
    .check = metric_check,
    .help = "one metric; exactly one of count, sum, distinct, ratio, mean",
};

static lw_metric_def_t *cur_metric(ctx_t *c, void *base, size_t *index)
{
    lw_metric_def_t *m = base;
    *index = (size_t)(m - c->cfg->metrics);
    assert(*index < c->cfg->nmetrics);
    return m;
}

static lw_err_t parse_distinct(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                               const char *kp)
{
    static const key_spec_t as_path = {.key = "distinct", .type = T_PATH, .off = MET(field)};
    lw_metric_def_t *m = base;
    sval_t sv;
    lw_err_t err;
    (void)k;
    if ((err = get_scalar(c, v, kp, "user or a dotted path", &sv)))
        return err;
    if ((err = store_scalar(c, &as_path, &sv, base, kp)))
        return err;
    m->field_is_user = strcmp(m->field, "user") == 0;
    return LW_OK;
}

static lw_err_t parse_ratio(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                            const char *kp)
{
    size_t idx;
    cur_metric(c, base, &idx);
    (void)k;
    if (v->type != YAML_SEQUENCE_NODE ||
        v->data.sequence.items.top - v->data.sequence.items.start != 2)
        return fail(c, node_line(v), kp,
                    "expected a list of two metric names [numerator, denominator], got %s",
                    v->type == YAML_SEQUENCE_NODE ? "a list of another length" : node_desc(v));
    for (int i = 0; i < 2; i++) {
        yaml_node_t *item = node_at(c, v->data.sequence.items.start[i]);
        sval_t sv;
        lw_err_t err;
        if ((err = get_scalar(c, item, kp, "a metric name", &sv)) ||
            (err = want_string(c, &sv, kp, "a metric name")))
            return err;
        char *s = dup_str(c, &sv, kp, &err);
        if (!s)
            return err;
        set_str(&c->ratio_names[idx][i], s);
        c->ratio_lines[idx][i] = sv.line;
    }
    return LW_OK;
}

static void scalar_release(lw_scalar_t *s)
{
    free(s->str);
    s->str = NULL;
}

static void where_release(lw_where_t *w)
{
    free(w->path);
    for (size_t i = 0; i < w->nvalues; i++)
        scalar_release(&w->values[i]);
    free(w->values);
    memset(w, 0, sizeof *w);
}

/* One any-of value; event names must be strings, numbers finite. */
static lw_err_t where_value(ctx_t *c, yaml_node_t *n, const char *kp, bool is_event,
                            lw_scalar_t *out)
{
    sval_t sv;
    lw_err_t err;
    char d[DISP_MAX];
    if ((err = get_scalar(c, n, kp, "a value (string, number, boolean or null)", &sv)))
        return err;
    if (is_event && sv.type != LW_SCALAR_STRING)
        return fail(c, sv.line, kp, "event names are strings, got %s (quote it)", sval_desc(&sv));
    if (sv.type == LW_SCALAR_NUMBER && !isfinite(sv.num))
        return fail(c, sv.line, kp, "must be a finite number, got %s", disp(sv.s, d, sizeof d));
    out->type = sv.type;
    out->num = sv.num;
    out->b = sv.b;
    if (sv.type == LW_SCALAR_STRING && !(out->str = dup_str(c, &sv, kp, &err)))
        return err;
    return LW_OK;
}

static lw_err_t parse_where(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                            const char *kp)
{
    lw_metric_def_t *m = base;
    char sub[KP_MAX], item_kp[KP_MAX], d[DISP_MAX];
    lw_err_t err;
    (void)k;

    if (v->type != YAML_MAPPING_NODE)
        return fail(c, node_line(v), kp, "expected a mapping of conditions, got %s", node_desc(v));
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n == 0)
        return fail(c, node_line(v), kp, "no conditions (omit where to match every event)");
    if (n > LW_CONFIG_MAX_WHERE)
        return fail(c, node_line(v), kp, "more than " STR(LW_CONFIG_MAX_WHERE) " conditions");
    m->where = calloc(n, sizeof *m->where);
    if (!m->where)
        return fail(c, node_line(v), kp, "out of memory");

    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *p = &v->data.mapping.pairs.start[i];
        yaml_node_t *kn = node_at(c, p->key), *vn = node_at(c, p->value);
        lw_where_t *w = &m->where[i];
        sval_t ks;
        if ((err = get_scalar(c, kn, kp, "a path key", &ks)) ||
            (err = want_string(c, &ks, kp, "`event` or a dotted path as key")))
            return err;
        kp_key(sub, kp, ks.s);
        const char *problem = path_problem(ks.s, ks.len);
        if (problem)
            return fail(c, ks.line, sub, "%s: \"%s\"", problem, disp(ks.s, d, sizeof d));
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->where[j].path, ks.s) == 0)
                return fail(c, ks.line, sub, "duplicate key (first given at line %d)",
                            node_line(node_at(c, v->data.mapping.pairs.start[j].key)));
        if (!(w->path = dup_str(c, &ks, sub, &err)))
            return err;
        m->nwhere = i + 1;
        w->is_event = strcmp(w->path, "event") == 0;

        if (vn->type == YAML_SEQUENCE_NODE) {
            size_t nv = (size_t)(vn->data.sequence.items.top - vn->data.sequence.items.start);
            if (nv == 0)
                return fail(c, node_line(vn), sub, "empty list (give at least one value)");
            if (nv > LW_CONFIG_MAX_ANY_OF)
                return fail(c, node_line(vn), sub,
                            "more than " STR(LW_CONFIG_MAX_ANY_OF) " values");
            if (!(w->values = calloc(nv, sizeof *w->values)))
                return fail(c, node_line(vn), sub, "out of memory");
            w->nvalues = nv;
            for (size_t j = 0; j < nv; j++) {
                kp_index(item_kp, sub, j);
                if ((err = where_value(c, node_at(c, vn->data.sequence.items.start[j]), item_kp,
                                       w->is_event, &w->values[j])))
                    return err;
            }
        } else {
            if (!(w->values = calloc(1, sizeof *w->values)))
                return fail(c, node_line(vn), sub, "out of memory");
            w->nvalues = 1;
            if ((err = where_value(c, vn, sub, w->is_event, &w->values[0])))
                return err;
        }
    }
    return LW_OK;
}

static lw_err_t metric_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    size_t idx;
    lw_metric_def_t *m = cur_metric(c, base, &idx);
    const section_t *sec = &metric_section;
    char sub[KP_MAX], d[DISP_MAX], w1[32], w2[32];
    int kind = -1;

    for (size_t i = 0; i < sec->nkeys; i++)
        if (sec->keys[i].kind && lines[i])
            kind = sec->keys[i].kind - 1;
    if (kind < 0)
        return fail(c, line, kp,
                    "metric \"%s\" has no kind (give one of count, sum, distinct, ratio, mean)",
                    disp(m->name, d, sizeof d));
    m->kind = (lw_metric_kind_t)kind;

    for (size_t j = 0; j < idx; j++)
        if (strcmp(c->cfg->metrics[j].name, m->name) == 0) {
            kp_key(sub, kp, "name");
            return fail(c, lines[key_index(sec, "name")], sub,
                        "duplicate metric \"%s\" (first defined at line %d)",
                        disp(m->name, d, sizeof d), c->cfg->metrics[j].line);
        }

    int scale_line = lines[key_index(sec, "scale")];
    int window_line = lines[key_index(sec, "window")];
    int where_line = lines[key_index(sec, "where")];
    if (scale_line && m->kind != LW_METRIC_SUM && m->kind != LW_METRIC_MEAN) {
        kp_key(sub, kp, "scale");
        return fail(c, scale_line, sub, "only allowed on sum and mean metrics, not %s",
                    lw_metric_kind_name(m->kind));
    }
    if (where_line && m->kind == LW_METRIC_RATIO) {
        kp_key(sub, kp, "where");
        return fail(c, where_line, sub,
                    "not allowed on a ratio (filter its numerator and denominator instead)");
    }
    if (window_line) {
        kp_key(sub, kp, "window");
        if (m->kind != LW_METRIC_DISTINCT)
            return fail(c, window_line, sub, "only allowed on distinct metrics, not %s",
                        lw_metric_kind_name(m->kind));
        int64_t size = c->cfg->buckets.size_ms;
        if (m->window_ms % size != 0)
            return fail(c, window_line, sub, "%s is not a multiple of the bucket size %s",
                        fmt_duration(m->window_ms, w1, sizeof w1),
                        fmt_duration(size, w2, sizeof w2));
        if (m->window_ms / size > LW_CONFIG_MAX_WINDOW_BUCKETS)
            return fail(c, window_line, sub,
                        "%s spans more than " STR(LW_CONFIG_MAX_WINDOW_BUCKETS) " buckets of %s",
                        fmt_duration(m->window_ms, w1, sizeof w1),
                        fmt_duration(size, w2, sizeof w2));
    }
    return LW_OK;
}

/* DFS colours for the ratio cycle check. */
enum { WHITE = 0, GREY, BLACK };

static lw_err_t ratio_dfs(ctx_t *c, int i, unsigned char *colour, int *stack, int depth)
{
    const lw_metric_def_t *ms = c->cfg->metrics;
    colour[i] = GREY;
    stack[depth] = i;
    for (int side = 0; side < 2 && ms[i].kind == LW_METRIC_RATIO; side++) {
        int j = side ? ms[i].ratio_den : ms[i].ratio_num;
        if (colour[j] == GREY) {
            char path[MSG_MAX - 40] = "";
            size_t used = 0;
            int from = depth;
            while (stack[from] != j)
                from--;
            for (int s = from; s <= depth && used < sizeof path; s++)
                used +=
                    (size_t)snprintf(path + used, sizeof path - used, "%s -> ", ms[stack[s]].name);
            if (used < sizeof path)
                snprintf(path + used, sizeof path - used, "%s", ms[j].name);
            char kp[KP_MAX];
            snprintf(kp, sizeof kp, "metrics[%d].ratio", i);
            return fail(c, c->ratio_lines[i][side], kp, "cycle through ratios: %s", path);
        }
        if (colour[j] == WHITE) {
            lw_err_t err = ratio_dfs(c, j, colour, stack, depth + 1);
            if (err)
                return err;
        }
    }
    colour[i] = BLACK;
    return LW_OK;
}

/* Resolve ratio operands, reject self references and cycles. */
static lw_err_t resolve_ratios(ctx_t *c)
{
    lw_config_t *cfg = c->cfg;
    char kp[KP_MAX], d[DISP_MAX];
    for (size_t i = 0; i < cfg->nmetrics; i++) {
        lw_metric_def_t *m = &cfg->metrics[i];
        if (m->kind != LW_METRIC_RATIO)
            continue;
        snprintf(kp, sizeof kp, "metrics[%zu].ratio", i);
        for (int side = 0; side < 2; side++) {
            const char *name = c->ratio_names[i][side];
            int line = c->ratio_lines[i][side];
            int j = lw_config_metric_index(cfg, name);
            if (j < 0)
                return fail(c, line, kp, "unknown metric \"%s\"", disp(name, d, sizeof d));
            if ((size_t)j == i)
                return fail(c, line, kp, "metric \"%s\" cannot be a ratio of itself",
                            disp(name, d, sizeof d));
            *(side ? &m->ratio_den : &m->ratio_num) = j;
        }
    }
    unsigned char colour[LW_CONFIG_MAX_METRICS] = {0};
    int stack[LW_CONFIG_MAX_METRICS];
    for (size_t i = 0; i < cfg->nmetrics; i++) {
        if (colour[i] == WHITE && cfg->metrics[i].kind == LW_METRIC_RATIO) {
            lw_err_t err = ratio_dfs(c, (int)i, colour, stack, 0);
            if (err)
                return err;
        }
    }
    return LW_OK;
}

/* The decoder registers one slot per distinct JSON path; stay within its bound. */
static lw_err_t check_path_budget(ctx_t *c)
{
    const char *paths[LW_EVENT_MAX_PATHS];
    size_t npaths = 0;
    char kp[KP_MAX];
    for (size_t i = 0; i < c->cfg->nmetrics; i++) {
        const lw_metric_def_t *m = &c->cfg->metrics[i];
        const char *want[1 + LW_CONFIG_MAX_WHERE];
        size_t nwant = 0;
        if (m->field && !m->field_is_user)
            want[nwant++] = m->field;
        for (size_t w = 0; w < m->nwhere; w++)
            if (!m->where[w].is_event)
                want[nwant++] = m->where[w].path;
        for (size_t k = 0; k < nwant; k++) {
            size_t j = 0;
            while (j < npaths && strcmp(paths[j], want[k]) != 0)
                j++;
            if (j < npaths)
                continue;
            if (npaths == LW_EVENT_MAX_PATHS) {
                snprintf(kp, sizeof kp, "metrics[%zu]", i);
                return fail(
                    c, m->line, kp,
                    "the metrics use more than " STR(LW_EVENT_MAX_PATHS) " distinct JSON paths");
            }
            paths[npaths++] = want[k];
        }
    }
    return LW_OK;
}

static lw_err_t parse_metrics(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                              const char *kp)
{
    lw_config_t *cfg = base;
    char sub[KP_MAX];
    lw_err_t err;
    (void)k;

    if (v->type != YAML_SEQUENCE_NODE)
        return fail(c, node_line(v), kp, "expected a list of metrics, got %s", node_desc(v));
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0)
        return fail(c, node_line(v), kp, "at least one metric is required");
    if (n > LW_CONFIG_MAX_METRICS)
        return fail(c, node_line(node_at(c, v->data.sequence.items.start[LW_CONFIG_MAX_METRICS])),
                    kp, "more than " STR(LW_CONFIG_MAX_METRICS) " metrics");
    if (!(cfg->metrics = calloc(n, sizeof *cfg->metrics)))
        return fail(c, node_line(v), kp, "out of memory");
    cfg->nmetrics = n;

    for (size_t i = 0; i < n; i++) {
        lw_metric_def_t *m = &cfg->metrics[i];
        yaml_node_t *item = node_at(c, v->data.sequence.items.start[i]);
        m->ratio_num = m->ratio_den = -1;
        m->line = node_line(item);
        kp_index(sub, kp, i);
        if ((err = apply_defaults(c, &metric_section, m)) ||
            (err = parse_section(c, &metric_section, item, m->line, m, sub)))
            return err;
    }
    if ((err = resolve_ratios(c)))
        return err;
    return check_path_budget(c);
}

/* --------------------------------------------------------------- tree */

#define TREE(member) offsetof(lw_config_t, tree.member)
#define INPUT(member) offsetof(lw_tree_input_t, member)

_Static_assert(sizeof(lw_input_kind_t) == sizeof(int), "T_ENUM stores an int");

static lw_err_t input_check(ctx_t *c, void *base, int section_line, const int *lines,
                            const char *kp);

static const key_spec_t input_keys[] = {
    {.key = "metric",
     .type = T_REF,
     .off = INPUT(metric),
     .required = true,
     .help = "an input metric (not the NSM or the KPI; each at most once)"},
    {.key = "kind",
     .type = T_ENUM,
     .off = INPUT(kind),
     .required = true,
     .enum_names = input_kind_names,
     .help = "breadth (how many), depth (how much each), frequency (how often), efficiency"},
};

static const section_t input_section = {
    .path = "tree.inputs[]",
    .keys = input_keys,
    .nkeys = sizeof input_keys / sizeof input_keys[0],
    .check = input_check,
    .help = "one input metric expected to lead the NSM",
};

static lw_err_t input_check(ctx_t *c, void *base, int section_line, const int *lines,
                            const char *kp)
{
    const lw_config_t *cfg = c->cfg;
    const lw_tree_input_t *in = base;
    size_t k = (size_t)(in - cfg->tree.inputs);
    char sub[KP_MAX], d[DISP_MAX];
    const char *name = disp(cfg->metrics[in->metric].name, d, sizeof d);
    (void)section_line;
    int line = lines[key_index(&input_section, "metric")];
    kp_key(sub, kp, "metric");
    if (in->metric == cfg->tree.nsm)
        return fail(c, line, sub, "\"%s\" is the NSM; an input must be another metric", name);
    if (in->metric == cfg->tree.kpi)
        return fail(c, line, sub, "\"%s\" is the KPI; an input must be another metric", name);
    for (size_t j = 0; j < k; j++)
        if (cfg->tree.inputs[j].metric == in->metric)
            return fail(c, line, sub, "duplicate input \"%s\" (also tree.inputs[%zu])", name, j);
    return LW_OK;
}

static lw_err_t parse_inputs(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                             const char *kp)
{
    lw_config_t *cfg = base;
    char sub[KP_MAX];
    (void)k;
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(c, node_line(v), kp, "expected a list of inputs, got %s", node_desc(v));
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0)
        return fail(c, node_line(v), kp, "at least one input is required");
    if (n > LW_CONFIG_MAX_INPUTS)
        return fail(c, node_line(node_at(c, v->data.sequence.items.start[LW_CONFIG_MAX_INPUTS])),
                    kp, "more than " STR(LW_CONFIG_MAX_INPUTS) " inputs");
    for (size_t i = 0; i < n; i++) {
        kp_index(sub, kp, i);
        cfg->tree.inputs[i].metric = -1;
        yaml_node_t *item = node_at(c, v->data.sequence.items.start[i]);
        lw_err_t err =
            parse_section(c, &input_section, item, node_line(item), &cfg->tree.inputs[i], sub);
        if (err)
            return err;
        cfg->tree.ninputs = i + 1;
    }
    return LW_OK;
}

static lw_err_t tree_check(ctx_t *c, void *base, int line, const int *lines, const char *kp);

static const key_spec_t tree_keys[] = {
    {.key = "nsm",
     .type = T_REF,
     .off = TREE(nsm),
     .required = true,
     .help = "the North Star Metric the inputs are tested against"},
    {.key = "kpi",
     .type = T_REF,
     .off = TREE(kpi),
     .help = "optional business KPI the NSM is expected to lead (not the NSM)"},
    {.key = "inputs",
     .type = T_CUSTOM,
     .custom = parse_inputs,
     .required = true,
     .doc_type = "list",
     .help = "1 to " STR(LW_CONFIG_MAX_INPUTS) " input metrics, see below"},
};

static const section_t tree_section = {
    .path = "tree",
    .keys = tree_keys,
    .nkeys = sizeof tree_keys / sizeof tree_keys[0],
    .check = tree_check,
    .help = "the metric tree: KPI <- NSM <- inputs",
};

static lw_err_t tree_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    const lw_config_t *cfg = base;
    char sub[KP_MAX];
    (void)line;
    if (cfg->tree.kpi >= 0 && cfg->tree.kpi == cfg->tree.nsm) {
        kp_key(sub, kp, "kpi");
        return fail(c, lines[key_index(&tree_section, "kpi")], sub,
                    "the KPI must differ from the NSM");
    }
    return LW_OK;
}

/* ----------------------------------------------------------- analysis */

static const char *const transform_names[] = {"none", "diff", "log_diff", "auto", NULL};
static const char *const ic_names[] = {"aic", "bic", NULL};
_Static_assert(sizeof(lw_transform_t) == sizeof(int), "T_ENUM stores an int");
_Static_assert(sizeof(lw_ic_t) == sizeof(int), "T_ENUM stores an int");
_Static_assert(LW_TRANSFORM_NONE == 0 && LW_TRANSFORM_DIFF == 1 && LW_TRANSFORM_LOG_DIFF == 2 &&
                   LW_TRANSFORM_AUTO == 3,
               "transform_names follows lw_transform_t");
_Static_assert(LW_IC_AIC == 0 && LW_IC_BIC == 1, "ic_names follows lw_ic_t");

static lw_err_t parse_seasonal(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                               const char *kp)
{
    lw_config_t *cfg = base;
    sval_t sv;
    lw_err_t err;
    (void)k;
    if ((err = get_scalar(c, v, kp, "none, weekly or a period 2.." STR(LW_PREP_MAX_PERIOD), &sv)))
        return err;
    if (!lw_seasonal_parse(sv.s, &cfg->analysis.seasonal, &cfg->analysis.seasonal_period))
        return fail(c, sv.line, kp, "expected none, weekly or a period 2..%d, got \"%.*s\"",
                    (int)LW_PREP_MAX_PERIOD, DISP_MAX, sv.s);
    return LW_OK;
}

static lw_err_t analysis_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    lw_config_t *cfg = base;
    char msg[256];
    (void)lines;
    if (lw_analyze_opts_check(&cfg->analysis, msg, sizeof msg) != LW_OK)
        return fail(c, line, kp, "%s", msg);
    return LW_OK;
}

static const key_spec_t analysis_keys[] = {
    {.key = "max_lag",
     .type = T_INT,
     .ctype = C_SIZE,
     .off = CFG(analysis.max_lag),
     .def = "14",
     .min = 1,
     .max = LW_ANALYZE_MAX_LAG,
     .help = "Granger tests and lagged regressions use lags 1..max_lag buckets"},
    {.key = "transform",
     .type = T_ENUM,
     .off = CFG(analysis.transform),
     .def = "auto",
     .enum_names = transform_names,
     .help = "auto: logs when all values > 0, differenced when ADF keeps a unit root"},
    {.key = "seasonal",
     .type = T_CUSTOM,
     .custom = parse_seasonal,
     .doc_type = "none|weekly|N",
     .help = "remove day-of-week (daily) / hour-of-day (hourly) means, or a period N; "
             "default weekly"},
    {.key = "alpha",
     .type = T_NUMBER,
     .off = CFG(analysis.alpha),
     .def = "0.05",
     .help = "false discovery rate for the Benjamini-Hochberg q-values, (0, 0.5]"},
    {.key = "window",
     .type = T_INT,
     .ctype = C_SIZE,
     .off = CFG(analysis_window),
     .def = "0",
     .min = 0,
     .max = LW_SERIES_MAX_ROWS,
     .help = "analyse the last N buckets (up to --as-of); 0 = every bucket in the store"},
    {.key = "stability_window",
     .type = T_INT,
     .ctype = C_SIZE,
     .off = CFG(analysis.window),
     .def = "0",
     .min = 0,
     .max = 1000000,
     .help = "stability sub-window in buckets; 0 = max(n/4, 5 lag + 20)"},
    {.key = "ic",
     .type = T_ENUM,
     .off = CFG(analysis.ic),
     .def = "aic",
     .enum_names = ic_names,
     .help = "information criterion that chooses the Granger lag: aic or bic"},
    {.key = "adf_alpha",
     .type = T_NUMBER,
     .off = CFG(analysis.adf_alpha),
     .def = "0.05",
     .help = "auto transform: difference when the ADF p-value is at least this, (0, 1)"},
    {.key = "hac_lags",
     .type = T_INT,
     .ctype = C_SIZE,
     .off = CFG(analysis.hac_lags),
     .def = "0",
     .min = 0,
     .max = 1000,
     .help = "Newey-West bandwidth; 0 = floor(4 (T/100)^(2/9))"},
    {.key = "mde_threshold",
     .type = T_NUMBER,
     .off = CFG(analysis.mde_threshold),
     .def = "0.1",
     .help = "inputs whose minimum detectable change exceeds this are flagged not sensitive"},
    {.key = "mde_horizon",
     .type = T_INT,
     .ctype = C_SIZE,
     .off = CFG(analysis.mde_horizon),
     .def = "14",
     .min = 1,
     .max = 1000,
     .help = "length of the hypothetical experiment, in buckets"},
    {.key = "mde_power",
     .type = T_NUMBER,
     .off = CFG(analysis.mde_power),
     .def = "0.8",
     .help = "power of the hypothetical experiment, (0, 1)"},
    {.key = "stable_min_sign",
     .type = T_NUMBER,
     .off = CFG(analysis.stable_min_sign),
     .def = "0.8",
     .help = "share of sub-windows whose effect has the full-sample sign for 'stable'"},
};

static const section_t analysis_section = {
    .path = "analysis",
    .keys = analysis_keys,
    .nkeys = sizeof analysis_keys / sizeof analysis_keys[0],
    .check = analysis_check,
    .help = "statistics options of analyze and report (optional section)",
};

/* ------------------------------------------------------ alerts, http */

_Static_assert(LW_CONFIG_MAX_URL < LW_ALERTSINK_URL_MAX - 32, "alertsink accepts every URL");
#define MAX_HEADERS_TEXT "16" /* LW_ALERTSINK_MAX_HEADERS for help text (STR gives "16u") */
_Static_assert(LW_ALERTSINK_MAX_HEADERS == 16, "MAX_HEADERS_TEXT follows alertsink.h");

/*
 * Point the option structs handed to alert.h, alertsink.h and http.h at
 * the strings the config owns.  Unset receiver / external_url keep the
 * sink's defaults (static strings), so an absent section gives exactly
 * lw_alertsink_opts_default().  Idempotent.
 */
static void wire_options(lw_config_t *cfg)
{
    lw_alertsink_opts_t def;
    lw_alertsink_opts_t *s = &cfg->alerts.sink;
    lw_alertsink_opts_default(&def);
    s->alertmanager_url = cfg->alerts.alertmanager_url;
    s->webhook_url = cfg->alerts.webhook_url;
    /* char ** -> const char *const * needs the cast in C (it is implicit only in C++) */
    s->webhook_headers = (const char *const *)cfg->alerts.webhook_headers;
    s->nwebhook_headers = cfg->alerts.nwebhook_headers;
    s->receiver = cfg->alerts.receiver ? cfg->alerts.receiver : def.receiver;
    s->external_url = cfg->alerts.external_url ? cfg->alerts.external_url : def.external_url;
    cfg->http.opts.listen = cfg->http.listen;
}

/*
 * Turn an owner's "section.key: message" (lw_alert_opts_check and friends)
 * into the usual "file:line: section.key: message", on the line of that key
 * when the file gives it, else on the section's line.  `renames` maps the
 * owner's field names to the config's key names (max_entries -> max_alerts).
 */
static lw_err_t owner_fail(ctx_t *c, const section_t *sec, int line, const int *lines,
                           const char *msg, const char *const (*renames)[2])
{
    const char *colon = strstr(msg, ": ");
    size_t plen = strlen(sec->path);
    if (!colon || strncmp(msg, sec->path, plen) != 0 || msg[plen] != '.')
        return fail(c, line, sec->path, "%s", msg);
    char key[64], kp[KP_MAX];
    const char *k0 = msg + plen + 1;
    size_t klen = strcspn(k0, ".:"), rlen;
    if (klen >= sizeof key || colon < k0 + klen)
        return fail(c, line, sec->path, "%s", msg);
    memcpy(key, k0, klen);
    key[klen] = '\0';
    for (; renames && (*renames)[0]; renames++)
        if (strcmp(key, (*renames)[0]) == 0)
            snprintf(key, sizeof key, "%s", (*renames)[1]);
    for (size_t i = 0; i < sec->nkeys; i++)
        if (strcmp(sec->keys[i].key, key) == 0 && lines[i]) {
            line = lines[i];
            break;
        }
    /* section.key, then the owner's rest of the path (".url" of "webhook.url") */
    int n = snprintf(kp, sizeof kp, "%s.%s", sec->path, key);
    rlen = (size_t)(colon - (k0 + klen));
    if (n > 0 && (size_t)n + rlen < sizeof kp) {
        memcpy(kp + n, k0 + klen, rlen);
        kp[(size_t)n + rlen] = '\0';
    }
    return fail(c, line, kp, "%s", colon + 2);
}

static const char *const alert_cond_choices =
    "no_longer_leads, reverse, kpi_link_lost, not_sensitive";

/* alerts.on: a list of edge conditions -> opts.on_mask; [] = no edge alerts. */
static lw_err_t parse_alert_on(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                               const char *kp)
{
    lw_config_t *cfg = base;
    char sub[KP_MAX], d[DISP_MAX];
    unsigned mask = 0;
    lw_err_t err;
    (void)k;
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(c, node_line(v), kp, "expected a list of conditions (any of %s), got %s",
                    alert_cond_choices, node_desc(v));
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    for (size_t i = 0; i < n; i++) {
        sval_t sv;
        lw_alert_cond_t cond = LW_ALERT_COND_COUNT;
        kp_index(sub, kp, i);
        if ((err = get_scalar(c, node_at(c, v->data.sequence.items.start[i]), sub,
                              "a condition name", &sv)) ||
            (err = want_string(c, &sv, sub, "a condition name")))
            return err;
        bool known = lw_alert_cond_parse(sv.s, &cond);
        if (!known || (LW_ALERT_COND_BIT(cond) & LW_ALERT_EDGE_CONDS_ALL) == 0)
            return fail(c, sv.line, sub, "unknown condition \"%s\" (expected any of: %s)%s",
                        disp(sv.s, d, sizeof d), alert_cond_choices,
                        known ? "; the pipeline-stall alert is always on, see alerts.stall" : "");
        if (mask & LW_ALERT_COND_BIT(cond))
            return fail(c, sv.line, sub, "condition \"%s\" listed twice", sv.s);
        mask |= LW_ALERT_COND_BIT(cond);
    }
    cfg->alerts.opts.on_mask = mask;
    return LW_OK;
}

/* RFC 9110 section 5.6.2 token characters. */
static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/*
 * alerts.webhook.headers: a mapping Name: value, stored as "Name: value"
 * lines for the sink.  Values may be secrets (Authorization), so no message
 * ever repeats one.  Content-Length and Transfer-Encoding belong to the
 * sink's framing and are refused.
 */
static lw_err_t parse_webhook_headers(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                                      const char *kp)
{
    static const char *const framing[] = {"Content-Length", "Transfer-Encoding"};
    lw_config_t *cfg = base;
    char sub[KP_MAX], d[DISP_MAX];
    lw_err_t err;
    (void)k;
    if (v->type != YAML_MAPPING_NODE)
        return fail(c, node_line(v), kp, "expected a mapping of header names to values, got %s",
                    node_desc(v));
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n > LW_ALERTSINK_MAX_HEADERS)
        return fail(c, node_line(v), kp, "more than %u headers", LW_ALERTSINK_MAX_HEADERS);
    if (n == 0)
        return LW_OK;
    if (!(cfg->alerts.webhook_headers = calloc(n, sizeof *cfg->alerts.webhook_headers)))
        return fail(c, node_line(v), kp, "out of memory");
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *p = &v->data.mapping.pairs.start[i];
        sval_t ks, vs;
        if ((err = get_scalar(c, node_at(c, p->key), kp, "a header name", &ks)) ||
            (err = want_string(c, &ks, kp, "a header name")))
            return err;
        kp_key(sub, kp, ks.s);
        for (size_t j = 0; j < ks.len; j++)
            if (!is_tchar((unsigned char)ks.s[j]))
                return fail(c, ks.line, sub,
                            "header name \"%s\" may only contain letters, digits and "
                            "!#$%%&'*+-.^_`|~",
                            disp(ks.s, d, sizeof d));
        for (size_t j = 0; j < sizeof framing / sizeof framing[0]; j++)
            if (strcasecmp(ks.s, framing[j]) == 0)
                return fail(c, ks.line, sub, "%s is set by leadwatch itself", framing[j]);
        for (size_t j = 0; j < i; j++) {
            const char *prev = cfg->alerts.webhook_headers[j];
            if (strncasecmp(prev, ks.s, ks.len) == 0 && prev[ks.len] == ':')
                return fail(c, ks.line, sub, "header given twice (names are case-insensitive)");
        }
        if ((err = get_scalar(c, node_at(c, p->value), sub, "a header value", &vs)))
            return err;
        if (vs.type == LW_SCALAR_NULL || vs.len == 0)
            return fail(c, vs.line, sub, "expected a header value, got %s",
                        vs.type == LW_SCALAR_NULL ? "null" : "an empty string");
        for (size_t j = 0; j < vs.len; j++) {
            unsigned char ch = (unsigned char)vs.s[j];
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                return fail(c, vs.line, sub,
                            "the value contains a %s (not shown: header values may be secret)",
                            ch == '\r' || ch == '\n' ? "line break" : "control character");
        }
        size_t len = ks.len + 2 + vs.len;
        if (len > LW_CONFIG_MAX_HEADER)
            return fail(c, vs.line, sub, "header longer than " STR(LW_CONFIG_MAX_HEADER) " bytes");
        char *h = malloc(len + 1);
        if (!h)
            return fail(c, vs.line, sub, "out of memory");
        memcpy(h, ks.s, ks.len);
        memcpy(h + ks.len, ": ", 2);
        memcpy(h + ks.len + 2, vs.s, vs.len + 1);
        cfg->alerts.webhook_headers[i] = h;
        cfg->alerts.nwebhook_headers = i + 1;
    }
    return LW_OK;
}

static const key_spec_t alertmanager_keys[] = {
    {.key = "url",
     .type = T_URL,
     .off = CFG(alerts.alertmanager_url),
     .required = true,
     .help = "Alertmanager base URL; alerts are POSTed to <url>/api/v2/alerts"},
};

static const section_t alertmanager_section = {
    .path = "alerts.alertmanager",
    .keys = alertmanager_keys,
    .nkeys = sizeof alertmanager_keys / sizeof alertmanager_keys[0],
    .help = "deliver firing and resolved alerts to Alertmanager (v2 API); absent = off",
};

static const key_spec_t webhook_keys[] = {
    {.key = "url",
     .type = T_URL,
     .off = CFG(alerts.webhook_url),
     .required = true,
     .help = "full URL; one POST per firing or resolved alert, Alertmanager webhook payload v4"},
    {.key = "headers",
     .type = T_CUSTOM,
     .custom = parse_webhook_headers,
     .doc_type = "mapping",
     .doc_def = "-",
     .help = "extra request headers, Name: value (at most " MAX_HEADERS_TEXT
             "); values are never printed or logged"},
    {.key = "receiver",
     .type = T_STRING,
     .off = CFG(alerts.receiver),
     .doc_def = "leadwatch",
     .help = "the payload's \"receiver\" field; default leadwatch"},
};

static const section_t webhook_section = {
    .path = "alerts.webhook",
    .keys = webhook_keys,
    .nkeys = sizeof webhook_keys / sizeof webhook_keys[0],
    .help = "deliver firing and resolved alerts to a generic webhook; absent = off",
};

static const key_spec_t alert_kafka_keys[] = {
    {.key = "topic",
     .type = T_STRING,
     .off = CFG(alerts.kafka_topic),
     .required = true,
     .help = "Kafka topic (on source.kafka's cluster) that gets one JSON message per state "
             "change"},
};

static const section_t alert_kafka_section = {
    .path = "alerts.kafka",
    .keys = alert_kafka_keys,
    .nkeys = sizeof alert_kafka_keys / sizeof alert_kafka_keys[0],
    .help = "publish every alert state change to Kafka; absent = off",
};

static lw_err_t backoff_check(ctx_t *c, void *base, int line, const int *lines, const char *kp);

static const key_spec_t backoff_keys[] = {
    {.key = "initial",
     .type = T_DURATION,
     .off = CFG(alerts.sink.backoff_initial_ms),
     .def = "500ms",
     .min = 10,
     .max = 600000,
     .help = "delay before the first retry of a failed delivery (then doubled, with jitter)"},
    {.key = "max",
     .type = T_DURATION,
     .off = CFG(alerts.sink.backoff_max_ms),
     .def = "1m",
     .min = 10,
     .max = LW_MS_PER_HOUR,
     .help = "cap of the retry delay (at least initial); retries go on until delivered"},
};

static const section_t backoff_section = {
    .path = "alerts.backoff",
    .keys = backoff_keys,
    .nkeys = sizeof backoff_keys / sizeof backoff_keys[0],
    .check = backoff_check,
    .help = "retries of failed deliveries (transport errors, 408, 429, 5xx)",
};

static lw_err_t backoff_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    const lw_alertsink_opts_t *s = &((lw_config_t *)base)->alerts.sink;
    char sub[KP_MAX], a[32], b[32];
    int max_line = lines[key_index(&backoff_section, "max")];
    if (s->backoff_max_ms >= s->backoff_initial_ms)
        return LW_OK;
    kp_key(sub, kp, "max");
    return fail(c, max_line ? max_line : line, sub, "%s is below initial %s",
                fmt_duration(s->backoff_max_ms, a, sizeof a),
                fmt_duration(s->backoff_initial_ms, b, sizeof b));
}

static const key_spec_t stall_keys[] = {
    {.key = "no_events_for",
     .type = T_DURATION,
     .off = CFG(alerts.stall_after_ms),
     .def = "15m",
     .min = 1000,
     .max = 30 * LW_MS_PER_DAY,
     .help = "stalled when no event arrived for this long"},
    {.key = "max_lag",
     .type = T_INT,
     .ctype = C_INT64,
     .off = CFG(alerts.stall_max_lag),
     .def = "0",
     .min = 0,
     .max = 1000000000000000,
     .help = "stalled when the consumer lag (messages, summed over partitions) exceeds this; "
             "0 = off"},
    {.key = "missing_buckets",
     .type = T_INT,
     .ctype = C_SIZE,
     .off = CFG(alerts.stall_missing_buckets),
     .def = "1",
     .min = 0,
     .max = LW_CONFIG_MAX_WINDOW_BUCKETS,
     .help = "edges are nodata when the newest N closed buckets of the window have a gap; "
             "0 = off"},
};

static const section_t stall_section = {
    .path = "alerts.stall",
    .keys = stall_keys,
    .nkeys = sizeof stall_keys / sizeof stall_keys[0],
    .help = "when the pipeline counts as stalled: edges go nodata and LeadwatchPipelineStalled "
            "fires instead of edge alerts",
};

static lw_err_t alerts_check(ctx_t *c, void *base, int line, const int *lines, const char *kp);

static const key_spec_t alerts_keys[] = {
    {.key = "evaluate",
     .type = T_BOOL,
     .off = CFG(alerts.evaluate),
     .def = "true",
     .help = "re-evaluate the metric tree over analysis.window on every bucket close"},
    {.key = "for",
     .type = T_INT,
     .ctype = C_UINT,
     .off = CFG(alerts.opts.for_evals),
     .def = "3",
     .min = 0,
     .max = LW_ALERT_MAX_EVALS,
     .help = "failing evaluations an alert stays pending before it fires (0 = fire at once)"},
    {.key = "arm_after",
     .type = T_INT,
     .ctype = C_UINT,
     .off = CFG(alerts.opts.arm_after),
     .def = "28",
     .min = 0,
     .max = LW_ALERT_MAX_EVALS,
     .help = "consecutive leading evaluations before an edge counts as having led (only then "
             "can its loss alert; keeps chance leads from arming)"},
    {.key = "keep_firing_for",
     .type = T_INT,
     .ctype = C_UINT,
     .off = CFG(alerts.opts.keep_firing_for),
     .def = "2",
     .min = 0,
     .max = LW_ALERT_MAX_EVALS,
     .help = "passing evaluations a firing alert survives before it resolves"},
    {.key = "on",
     .type = T_CUSTOM,
     .custom = parse_alert_on,
     .doc_type = "list of conditions",
     .doc_def = "all four",
     .help = "conditions that alert, any of no_longer_leads, reverse, kpi_link_lost, "
             "not_sensitive; [] = no edge alerts (the stall alert stays)"},
    {.key = "max_alerts",
     .type = T_INT,
     .ctype = C_SIZE,
     .off = CFG(alerts.opts.max_entries),
     .def = "256",
     .min = 8,
     .max = LW_ALERT_MAX_ENTRIES,
     .help = "bound on tracked (edge, condition) pairs"},
    {.key = "alertmanager",
     .type = T_SECTION,
     .sub = &alertmanager_section,
     .help = "Alertmanager sink, see below"},
    {.key = "webhook", .type = T_SECTION, .sub = &webhook_section, .help = "webhook sink"},
    {.key = "kafka", .type = T_SECTION, .sub = &alert_kafka_section, .help = "Kafka sink"},
    {.key = "external_url",
     .type = T_URL,
     .off = CFG(alerts.external_url),
     .help = "link put in generatorURL / externalURL (e.g. the published report)"},
    {.key = "queue_max",
     .type = T_INT,
     .ctype = C_SIZE,
     .off = CFG(alerts.sink.queue_max),
     .def = "256",
     .min = 1,
     .max = 65536,
     .help = "events queued per sink; when full the oldest is dropped and counted"},
    {.key = "max_firing",
     .type = T_INT,
     .ctype = C_SIZE,
     .off = CFG(alerts.sink.max_firing),
     .def = "256",
     .min = 1,
     .max = 4096,
     .help = "firing alerts kept for re-sending to Alertmanager"},
    {.key = "max_batch",
     .type = T_INT,
     .ctype = C_SIZE,
     .off = CFG(alerts.sink.max_batch),
     .def = "64",
     .min = 1,
     .max = 1000,
     .help = "alerts per Alertmanager POST"},
    {.key = "timeout",
     .type = T_DURATION,
     .off = CFG(alerts.sink.timeout_ms),
     .def = "5s",
     .min = 100,
     .max = 120000,
     .help = "per HTTP request to a receiver"},
    {.key = "backoff",
     .type = T_SECTION,
     .sub = &backoff_section,
     .help = "retry delays, see below"},
    {.key = "resend",
     .type = T_DURATION,
     .off = CFG(alerts.sink.resend_ms),
     .def = "1m",
     .min = 100,
     .max = LW_MS_PER_HOUR,
     .help = "firing alerts are re-sent to Alertmanager this often (endsAt = now + 4 x resend)"},
    {.key = "stall",
     .type = T_SECTION,
     .sub = &stall_section,
     .help = "pipeline-stall bounds, see below"},
};

static const section_t alerts_section = {
    .path = "alerts",
    .keys = alerts_keys,
    .nkeys = sizeof alerts_keys / sizeof alerts_keys[0],
    .check = alerts_check,
    .help = "alert when an input stops leading the NSM (optional section; `run` only)",
};

static lw_err_t alerts_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    static const char *const renames[][2] = {{"max_entries", "max_alerts"}, {NULL, NULL}};
    lw_config_t *cfg = base;
    char msg[256];
    (void)kp;
    cfg->alerts.configured = true;
    wire_options(cfg);
    if (lw_alert_opts_check(&cfg->alerts.opts, msg, sizeof msg) != LW_OK ||
        lw_alertsink_opts_check(&cfg->alerts.sink, msg, sizeof msg) != LW_OK)
        return owner_fail(c, &alerts_section, line, lines, msg, renames);
    return LW_OK;
}

static lw_err_t http_check(ctx_t *c, void *base, int line, const int *lines, const char *kp);

static const key_spec_t http_keys[] = {
    {.key = "listen",
     .type = T_STRING,
     .off = CFG(http.listen),
     .def = "127.0.0.1:9464",
     .help = "host:port, host an IPv4 / [IPv6] literal or localhost; port 0 = any free port"},
    {.key = "max_connections",
     .type = T_INT,
     .ctype = C_UINT,
     .off = CFG(http.opts.max_connections),
     .def = "64",
     .min = 1,
     .max = 10000,
     .help = "open connections at most; more clients wait in the listen backlog"},
    {.key = "timeout",
     .type = T_SECONDS,
     .off = CFG(http.opts.timeout_s),
     .def = "10s",
     .min = 1000,
     .max = LW_MS_PER_HOUR,
     .help = "a connection idle this long is closed (whole seconds)"},
    {.key = "max_response",
     .type = T_INT,
     .ctype = C_SIZE,
     .off = CFG(http.opts.max_response),
     .def = "16777216",
     .min = 65536,
     .max = 268435456,
     .help = "bound on a /metrics body, bytes"},
};

static const section_t http_section = {
    .path = "http",
    .keys = http_keys,
    .nkeys = sizeof http_keys / sizeof http_keys[0],
    .check = http_check,
    .help = "GET /metrics, /healthz, /readyz for `run` (optional section; the server runs only "
            "when it is present, `http:` alone for the defaults)",
};

static lw_err_t http_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    lw_config_t *cfg = base;
    char msg[256];
    (void)kp;
    cfg->http.configured = true;
    wire_options(cfg);
    if (lw_http_opts_check(&cfg->http.opts, msg, sizeof msg) != LW_OK)
        return owner_fail(c, &http_section, line, lines, msg, NULL);
    return LW_OK;
}

/* ---------------------------------------------------------- top level */

static const key_spec_t top_keys[] = {
    {.key = "source",
     .type = T_SECTION,
     .sub = &source_section,
     .help = "event format and decoding limits"},
    {.key = "store", .type = T_SECTION, .sub = &store_section, .help = "SQLite store"},
    {.key = "buckets", .type = T_SECTION, .sub = &buckets_section, .help = "time buckets"},
    {.key = "metrics",
     .type = T_CUSTOM,
     .custom = parse_metrics,
     .required = true,
     .doc_type = "list",
     .help = "1 to " STR(LW_CONFIG_MAX_METRICS) " metric definitions"},
    {.key = "tree",
     .type = T_SECTION,
     .sub = &tree_section,
     .required = true,
     .help = "the metric tree"},
    {.key = "analysis", .type = T_SECTION, .sub = &analysis_section, .help = "statistics options"},
    {.key = "alerts",
     .type = T_SECTION,
     .sub = &alerts_section,
     .null_ok = true,
     .help = "alerting (daemon)"},
    {.key = "http",
     .type = T_SECTION,
     .sub = &http_section,
     .null_ok = true,
     .help = "HTTP endpoint (daemon)"},
};

static const section_t top_section = {
    .path = "(top level)",
    .keys = top_keys,
    .nkeys = sizeof top_keys / sizeof top_keys[0],
    .help = "the configuration file",
};

/* ----------------------------------------------------------- loading */

static int offset_line(const char *text, size_t len, size_t offset)
{
    int line = 1;
    for (size_t i = 0; i < offset && i < len; i++)
        line += text[i] == '\n';
    return line;
}

static lw_err_t yaml_fail(ctx_t *c, const yaml_parser_t *p, const char *text, size_t len)
{
    if (p->error == YAML_MEMORY_ERROR)
        return lw_seterr(c->errstr, c->errstr_size, LW_ERR_NOMEM, "%s:1: document: out of memory",
                         c->name);
    int line = p->error == YAML_READER_ERROR ? offset_line(text, len, p->problem_offset)
                                             : (int)p->problem_mark.line + 1;
    if (p->context)
        return fail(c, line, "syntax", "%s %s (line %d)", p->problem ? p->problem : "error",
                    p->context, (int)p->context_mark.line + 1);
    return fail(c, line, "syntax", "%s", p->problem ? p->problem : "invalid YAML");
}

static bool event_has_tag(const yaml_event_t *e)
{
    switch (e->type) {
    case YAML_SCALAR_EVENT: return e->data.scalar.tag != NULL;
    case YAML_SEQUENCE_START_EVENT: return e->data.sequence_start.tag != NULL;
    case YAML_MAPPING_START_EVENT: return e->data.mapping_start.tag != NULL;
    default: return false;
    }
}

/*
 * Step 1 of the file comment: stream the events once and reject syntax
 * errors, aliases, tags, extra documents and oversized or deep documents
 * before yaml_parser_load builds anything.
 */
static lw_err_t prescan(ctx_t *c, const char *text, size_t len)
{
    yaml_parser_t p;
    yaml_event_t e;
    lw_err_t err = LW_OK;
    size_t nodes = 0, docs = 0;
    int depth = 0;
    bool done = false;

    if (!yaml_parser_initialize(&p))
        return lw_seterr(c->errstr, c->errstr_size, LW_ERR_NOMEM, "%s:1: document: out of memory",
                         c->name);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (!done && !err) {
        if (!yaml_parser_parse(&p, &e)) {
            err = yaml_fail(c, &p, text, len);
            break;
        }
        int line = (int)e.start_mark.line + 1;
        switch (e.type) {
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                err = fail(c, line, "document", "more than one YAML document in the file");
            break;
        case YAML_ALIAS_EVENT:
            err = fail(c, line, "document",
                       "aliases (*%s) are not allowed; anchors and aliases are not supported",
                       (const char *)e.data.alias.anchor);
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (++depth > LW_CONFIG_MAX_NESTING)
                err = fail(c, line, "document",
                           "nested deeper than " STR(LW_CONFIG_MAX_NESTING) " levels");
            /* fall through */
        case YAML_SCALAR_EVENT:
            if (!err && event_has_tag(&e))
                err = fail(c, line, "document",
                           "YAML tags (!...) are not supported; quote a value to make it a "
                           "string");
            if (!err && ++nodes > LW_CONFIG_MAX_NODES)
                err =
                    fail(c, line, "document", "more than " STR(LW_CONFIG_MAX_NODES) " YAML nodes");
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: depth--; break;
        default: break;
        }
        yaml_event_delete(&e);
    }
    yaml_parser_delete(&p);
    return err;
}

static void cfg_init(lw_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->tree.nsm = -1;
    cfg->tree.kpi = -1;
}

lw_err_t lw_config_parse(const char *text, size_t len, const char *name, lw_config_t **out,
                         char *errstr, size_t errstr_size)
{
    ctx_t c = {.name = name, .errstr = errstr, .errstr_size = errstr_size};
    yaml_parser_t parser;
    yaml_document_t doc;
    lw_err_t err;

    *out = NULL;
    if (len > LW_CONFIG_MAX_BYTES)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "%s:1: document: larger than %d bytes",
                         name, LW_CONFIG_MAX_BYTES);
    if ((err = prescan(&c, text, len)))
        return err;

    lw_config_t *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "%s:1: document: out of memory", name);
    cfg_init(cfg);
    c.cfg = cfg;
    if (!(cfg->file = strdup(name))) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "%s:1: document: out of memory", name);
        goto free_cfg;
    }

    if (!yaml_parser_initialize(&parser)) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "%s:1: document: out of memory", name);
        goto free_cfg;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        err = yaml_fail(&c, &parser, text, len);
        goto delete_parser;
    }
    c.doc = &doc;

    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0 &&
                  root->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)) {
        err = fail(&c, 1, "document", "the file is empty"); /* no content, or a bare "---" */
        goto delete_doc;
    }
    if (root->type != YAML_MAPPING_NODE) {
        err = fail(&c, node_line(root), "document", "the top level must be a mapping, got %s",
                   node_desc(root));
        goto delete_doc;
    }
    /* the analysis defaults come from their owner (the seasonal key has no
     * scalar default); the table defaults below restate the same values */
    lw_analyze_opts_default(&cfg->analysis);
    /* likewise alerts and http: the owners' defaults, restated by the tables */
    lw_alert_opts_default(&cfg->alerts.opts);
    lw_alertsink_opts_default(&cfg->alerts.sink);
    lw_http_opts_default(&cfg->http.opts);
    if (!(err = apply_defaults(&c, &top_section, cfg)))
        err = parse_section(&c, &top_section, root, node_line(root), cfg, "");
    if (!err)
        wire_options(cfg);

delete_doc:
    yaml_document_delete(&doc);
delete_parser:
    yaml_parser_delete(&parser);
    for (size_t i = 0; i < LW_CONFIG_MAX_METRICS; i++) {
        free(c.ratio_names[i][0]);
        free(c.ratio_names[i][1]);
    }
free_cfg:
    if (err) {
        lw_config_free(cfg);
        return err;
    }
    *out = cfg;
    return LW_OK;
}

lw_err_t lw_config_load(const char *path, lw_config_t **out, char *errstr, size_t errstr_size)
{
    lw_err_t err;
    size_t len = 0;
    char *buf;
    FILE *f;

    *out = NULL;
    if (!(f = fopen(path, "rb")))
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: cannot read: %s", path,
                         strerror(errno));
    /* One byte more than the bound tells "too large" from "exactly the bound". */
    if (!(buf = malloc(LW_CONFIG_MAX_BYTES + 1))) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "%s: out of memory", path);
        goto close_file;
    }
    len = fread(buf, 1, LW_CONFIG_MAX_BYTES + 1, f);
    if (ferror(f)) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: cannot read: %s", path,
                        strerror(errno ? errno : EIO));
        goto free_buf;
    }
    err = lw_config_parse(buf, len, path, out, errstr, errstr_size);

free_buf:
    free(buf);
close_file:
    fclose(f);
    return err;
}

void lw_config_free(lw_config_t *cfg)
{
    if (!cfg)
        return;
    free(cfg->file);
    free(cfg->source.event_field);
    free(cfg->source.user_field);
    free(cfg->source.time_field);
    for (size_t i = 0; i < cfg->source.nkafka; i++) {
        free(cfg->source.kafka[i].key);
        free(cfg->source.kafka[i].value);
    }
    free(cfg->source.kafka);
    for (size_t i = 0; i < cfg->source.ntopics; i++)
        free(cfg->source.topics[i]);
    free(cfg->source.topics);
    free(cfg->source.dead_letter_topic);
    free(cfg->store.path);
    for (size_t i = 0; i < cfg->nmetrics; i++) {
        lw_metric_def_t *m = &cfg->metrics[i];
        free(m->name);
        free(m->field);
        for (size_t w = 0; w < m->nwhere; w++)
            where_release(&m->where[w]);
        free(m->where);
    }
    free(cfg->metrics);
    free(cfg->alerts.alertmanager_url);
    free(cfg->alerts.webhook_url);
    for (size_t i = 0; i < cfg->alerts.nwebhook_headers; i++)
        free(cfg->alerts.webhook_headers[i]);
    free(cfg->alerts.webhook_headers);
    free(cfg->alerts.receiver);
    free(cfg->alerts.external_url);
    free(cfg->alerts.kafka_topic);
    free(cfg->http.listen);
    free(cfg);
}

int lw_config_metric_index(const lw_config_t *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nmetrics; i++)
        if (cfg->metrics[i].name && strcmp(cfg->metrics[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ----------------------------------------------------------- printing */

static void print_scalar(const lw_scalar_t *s, FILE *out)
{
    switch (s->type) {
    case LW_SCALAR_STRING:
        for (const char *p = s->str; *p; p++) /* keep one metric per line */
            fputc((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p, out);
        break;
    case LW_SCALAR_NUMBER: fprintf(out, "%g", s->num); break;
    case LW_SCALAR_BOOL: fputs(s->b ? "true" : "false", out); break;
    case LW_SCALAR_NULL: fputs("null", out); break;
    }
}

static void print_metric(const lw_config_t *cfg, const lw_metric_def_t *m, FILE *out)
{
    char w[32];
    fprintf(out, "  %-24s ", m->name);
    switch (m->kind) {
    case LW_METRIC_COUNT: fputs("count", out); break;
    case LW_METRIC_SUM:
    case LW_METRIC_MEAN:
    case LW_METRIC_DISTINCT: fprintf(out, "%s(%s)", lw_metric_kind_name(m->kind), m->field); break;
    case LW_METRIC_RATIO:
        fprintf(out, "ratio(%s / %s)", cfg->metrics[m->ratio_num].name,
                cfg->metrics[m->ratio_den].name);
        break;
    }
    if ((m->kind == LW_METRIC_SUM || m->kind == LW_METRIC_MEAN) && m->scale != 1.0)
        fprintf(out, " x %g", m->scale);
    if (m->window_ms)
        fprintf(out, " window %s", fmt_duration(m->window_ms, w, sizeof w));
    for (size_t i = 0; i < m->nwhere; i++) {
        const lw_where_t *wh = &m->where[i];
        fputs(i ? ", " : "  where ", out);
        fputs(wh->path, out);
        if (wh->nvalues == 1) {
            fputc('=', out);
            print_scalar(&wh->values[0], out);
            continue;
        }
        fputs(" in [", out);
        for (size_t j = 0; j < wh->nvalues; j++) {
            if (j)
                fputs(", ", out);
            print_scalar(&wh->values[j], out);
        }
        fputc(']', out);
    }
    fputc('\n', out);
}

/* A URL with its user:password (if any) replaced by "(hidden)". */
static void print_url(const char *url, FILE *out)
{
    const char *host = strstr(url, "://");
    host = host ? host + 3 : url;
    const char *at = NULL;
    for (const char *p = host; *p && !strchr("/?#", *p); p++)
        if (*p == '@')
            at = p;
    if (at)
        fprintf(out, "%.*s(hidden)%s", (int)(host - url), url, at);
    else
        fputs(url, out);
}

static void print_alerts(const lw_config_t *cfg, FILE *out)
{
    const lw_alertsink_opts_t *s = &cfg->alerts.sink;
    char a[32], b[32], d[32];
    if (!cfg->alerts.configured) {
        fputs("alerts: not configured\n", out);
        return;
    }
    fprintf(out, "alerts: evaluate %s  for %u  keep_firing_for %u  max_alerts %zu  on [",
            cfg->alerts.evaluate ? "on" : "off", cfg->alerts.opts.for_evals,
            cfg->alerts.opts.keep_firing_for, cfg->alerts.opts.max_entries);
    const char *sep = "";
    for (int c = 0; c < LW_ALERT_COND_COUNT; c++)
        if (cfg->alerts.opts.on_mask & LW_ALERT_COND_BIT(c)) {
            fprintf(out, "%s%s", sep, lw_alert_cond_name((lw_alert_cond_t)c));
            sep = ", ";
        }
    fputs("]\n", out);
    if (cfg->alerts.alertmanager_url) {
        fputs("  alertmanager ", out);
        print_url(cfg->alerts.alertmanager_url, out);
        fputc('\n', out);
    }
    if (cfg->alerts.webhook_url) {
        fputs("  webhook ", out);
        print_url(cfg->alerts.webhook_url, out);
        fprintf(out, "  receiver %s", s->receiver);
        for (size_t i = 0; i < cfg->alerts.nwebhook_headers; i++) { /* values may be secrets */
            const char *h = cfg->alerts.webhook_headers[i];
            fprintf(out, "%s%.*s=(hidden)", i ? " " : "  headers ", (int)strcspn(h, ":"), h);
        }
        fputc('\n', out);
    }
    if (cfg->alerts.kafka_topic)
        fprintf(out, "  kafka topic %s\n", cfg->alerts.kafka_topic);
    if (cfg->alerts.external_url) {
        fputs("  external_url ", out);
        print_url(cfg->alerts.external_url, out);
        fputc('\n', out);
    }
    if (!cfg->alerts.alertmanager_url && !cfg->alerts.webhook_url && !cfg->alerts.kafka_topic)
        fputs("  no sinks: alerts are only logged and exported on /metrics\n", out);
    fprintf(out, "  queue_max %zu  max_firing %zu  max_batch %zu  timeout %s  resend %s  ",
            s->queue_max, s->max_firing, s->max_batch, fmt_duration(s->timeout_ms, a, sizeof a),
            fmt_duration(s->resend_ms, b, sizeof b));
    fprintf(out, "backoff %s..", fmt_duration(s->backoff_initial_ms, a, sizeof a));
    fprintf(out, "%s\n", fmt_duration(s->backoff_max_ms, b, sizeof b));
    fprintf(out, "  stall: no events for %s",
            fmt_duration(cfg->alerts.stall_after_ms, d, sizeof d));
    if (cfg->alerts.stall_max_lag)
        fprintf(out, ", lag over %lld", (long long)cfg->alerts.stall_max_lag);
    if (cfg->alerts.stall_missing_buckets)
        fprintf(out, ", missing_buckets %zu", cfg->alerts.stall_missing_buckets);
    fputc('\n', out);
}

static void print_http(const lw_config_t *cfg, FILE *out)
{
    const lw_http_opts_t *h = &cfg->http.opts;
    if (!cfg->http.configured) {
        fputs("http: not configured (no /metrics endpoint)\n", out);
        return;
    }
    fprintf(out, "http: listen %s  max_connections %u  timeout %us  max_response %zu\n", h->listen,
            h->max_connections, h->timeout_s, h->max_response);
}

void lw_config_print(const lw_config_t *cfg, FILE *out)
{
    char a[32], b[32];
    fprintf(out, "source: %s  store: %s  buckets: %s (grace %s)\n",
            lw_format_name(cfg->source.format), cfg->store.path,
            fmt_duration(cfg->buckets.size_ms, a, sizeof a),
            fmt_duration(cfg->buckets.grace_ms, b, sizeof b));
    if (cfg->source.format == LW_FMT_CUSTOM)
        fprintf(out, "fields: event=%s user=%s time=%s\n", cfg->source.event_field,
                cfg->source.user_field, cfg->source.time_field);
    fprintf(out,
            "limits: max_event_bytes %zu  max_depth %d  max_future %s  flush every %ld events "
            "or %s\n",
            cfg->source.max_event_bytes, cfg->source.max_depth,
            fmt_duration(cfg->source.max_future_ms, a, sizeof a), cfg->store.flush_events,
            fmt_duration(cfg->store.flush_interval_ms, b, sizeof b));
    if (cfg->source.ntopics || cfg->source.nkafka) {
        fputs("kafka:", out);
        for (size_t i = 0; i < cfg->source.ntopics; i++)
            fprintf(out, "%s%s", i ? "," : " topics ", cfg->source.topics[i]);
        if (cfg->source.dead_letter_topic)
            fprintf(out, "  dead letters %s", cfg->source.dead_letter_topic);
        for (size_t i = 0; i < cfg->source.nkafka; i++) /* secrets are never printed */
            fprintf(out, "%s%s=%s", i ? " " : "\n  ", cfg->source.kafka[i].key,
                    lw_kafka_is_secret(cfg->source.kafka[i].key) ? "(secret)"
                                                                 : cfg->source.kafka[i].value);
        fputc('\n', out);
    }
    fputs("metrics:\n", out);
    for (size_t i = 0; i < cfg->nmetrics; i++)
        print_metric(cfg, &cfg->metrics[i], out);
    fputs("tree:\n", out);
    const char *pad = "";
    if (cfg->tree.kpi >= 0) {
        fprintf(out, "  KPI  %s\n   ^  ", cfg->metrics[cfg->tree.kpi].name);
        pad = "    ";
    } else {
        fputs("  ", out);
    }
    fprintf(out, "NSM %s\n", cfg->metrics[cfg->tree.nsm].name);
    for (size_t i = 0; i < cfg->tree.ninputs; i++)
        fprintf(out, "%s     ^ %-10s %s\n", pad, lw_input_kind_name(cfg->tree.inputs[i].kind),
                cfg->metrics[cfg->tree.inputs[i].metric].name);
    print_alerts(cfg, out);
    print_http(cfg, out);
}

/* ----------------------------------------------------------- describe */

static const char *type_name(const key_spec_t *k, char *buf, size_t size)
{
    switch (k->type) {
    case T_STRING: return "string";
    case T_NAME: return "name";
    case T_PATH: return "path";
    case T_INT: return "integer";
    case T_NUMBER: return "number";
    case T_DURATION: return "duration";
    case T_BUCKET: return "1h|1d|1w";
    case T_FORMAT: return "segment|amplitude|custom";
    case T_TRUE: return "true";
    case T_REF: return "metric";
    case T_BOOL: return "true|false";
    case T_URL: return "url";
    case T_SECONDS: return "duration";
    case T_SECTION: return "mapping";
    case T_CUSTOM: return k->doc_type;
    case T_ENUM: {
        size_t used = 0;
        buf[0] = '\0';
        for (int i = 0; k->enum_names[i] && used < size; i++)
            used +=
                (size_t)snprintf(buf + used, size - used, "%s%s", i ? "|" : "", k->enum_names[i]);
        return buf;
    }
    }
    return "?";
}

static void describe_section(const section_t *sec, FILE *out)
{
    char tbuf[96], lo[32], hi[32];
    fprintf(out, "%s: %s\n", sec->path, sec->help);
    for (size_t i = 0; i < sec->nkeys; i++) {
        const key_spec_t *k = &sec->keys[i];
        fprintf(out, "  %-16s %-34s %-13s %s", k->key, type_name(k, tbuf, sizeof tbuf),
                k->required  ? "required"
                : k->def     ? k->def
                : k->doc_def ? k->doc_def
                             : "-",
                k->help);
        if (k->type == T_INT)
            fprintf(out, " [%lld..%lld]", (long long)k->min, (long long)k->max);
        else if ((k->type == T_DURATION || k->type == T_SECONDS) && k->max < INT64_MAX / 2)
            fprintf(out, " [%s..%s]", fmt_duration(k->min, lo, sizeof lo),
                    fmt_duration(k->max, hi, sizeof hi));
        fputc('\n', out);
    }
}

void lw_config_describe(FILE *out)
{
    static const section_t *const sections[] = {
        &top_section,         &source_section,  &fields_section,       &store_section,
        &buckets_section,     &metric_section,  &tree_section,         &input_section,
        &analysis_section,    &alerts_section,  &alertmanager_section, &webhook_section,
        &alert_kafka_section, &backoff_section, &stall_section,        &http_section,
    };
    fputs("Configuration keys (KEY TYPE DEFAULT HELP [BOUNDS]); unknown keys are errors.\n"
          "Durations: a whole number and a unit ms, s, m, h, d or w (500ms, 30s, 2d). Paths: "
          "dotted JSON "
          "paths, at most " STR(
              LW_EVENT_MAX_PATH_DEPTH) " segments.\n"
                                       "Plain true/false are booleans, plain numbers are numbers, "
                                       "null/~ is null; quoted "
                                       "values are always strings.\n",
          out);
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        fputc('\n', out);
        describe_section(sections[i], out);
    }
}
