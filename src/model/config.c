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
 * The tables live by concept in config_sections.c, config_metrics.c and
 * config_opts.c (config_table.h lists them); this file holds the engine
 * (messages, scalars, store_scalar, parse_section, the defaults), the
 * top-level table and the loading.  Sections whose options belong to
 * another module (analysis, alerts, http) start from the owner's
 * *_opts_default(), which applies the same table entries
 * (lw_cfg_defaults_into), so each default is stated once; their section
 * check calls the owner's *_opts_check() and re-issues its message on the
 * line of the key.  Durations also accept "ms" (parse_duration), for
 * sub-second timeouts.
 *
 * Adding a section means adding its struct to lw_config_t, one key table +
 * section_t in the file of its concept, and one line in top_keys (describe
 * walks the tables from there; scripts/gen-config-doc refreshes the README).
 */
#include "leadwatch/model/config.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "leadwatch/core/timeutil.h"
#include "leadwatch/model/config_table.h"

lw_err_t lw_cfg_fail(ctx_t *c, int line, const char *kp, const char *fmt, ...)
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
const char *lw_cfg_disp(const char *s, char *buf, size_t size)
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

void lw_cfg_kp_key(char *out, const char *parent, const char *key)
{
    char d[DISP_MAX];
    lw_cfg_disp(key, d, sizeof d);
    int n = parent[0] ? snprintf(out, KP_MAX, "%s.%s", parent, d) : snprintf(out, KP_MAX, "%s", d);
    if (n >= KP_MAX) /* only deep nonsense paths get here; keep them readable */
        memcpy(out + KP_MAX - 4, "...", 4);
}

void lw_cfg_kp_index(char *out, const char *parent, size_t i)
{
    if (snprintf(out, KP_MAX, "%s[%zu]", parent, i) >= KP_MAX)
        memcpy(out + KP_MAX - 4, "...", 4);
}

yaml_node_t *lw_cfg_node_at(ctx_t *c, int index)
{
    return yaml_document_get_node(c->doc, index);
}

int lw_cfg_node_line(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

/* ------------------------------------------------------------ scalars */

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

const char *lw_cfg_node_desc(const yaml_node_t *n)
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
lw_err_t lw_cfg_get_scalar(ctx_t *c, yaml_node_t *n, const char *kp, const char *want, sval_t *v)
{
    if (n->type != YAML_SCALAR_NODE)
        return lw_cfg_fail(c, lw_cfg_node_line(n), kp, "expected %s, got %s", want,
                           lw_cfg_node_desc(n));
    memset(v, 0, sizeof *v);
    v->s = (const char *)n->data.scalar.value;
    v->len = n->data.scalar.length;
    v->line = lw_cfg_node_line(n);
    if (strlen(v->s) != v->len)
        return lw_cfg_fail(c, v->line, kp, "contains a NUL character");
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        resolve_plain(v);
    else
        v->type = LW_SCALAR_STRING;
    return LW_OK;
}

const char *lw_cfg_sval_desc(const sval_t *v)
{
    switch (v->type) {
    case LW_SCALAR_STRING: return "a string";
    case LW_SCALAR_NUMBER: return "a number";
    case LW_SCALAR_BOOL: return "a boolean";
    case LW_SCALAR_NULL: return "null";
    }
    return "a scalar";
}

lw_err_t lw_cfg_want_string(ctx_t *c, const sval_t *v, const char *kp, const char *what)
{
    if (v->type == LW_SCALAR_STRING && v->len > 0)
        return LW_OK;
    if (v->type == LW_SCALAR_STRING)
        return lw_cfg_fail(c, v->line, kp, "expected %s, got an empty string", what);
    return lw_cfg_fail(c, v->line, kp, "expected %s, got %s%s", what, lw_cfg_sval_desc(v),
                       v->type == LW_SCALAR_NULL ? "" : " (quote it to make it a string)");
}

lw_err_t lw_cfg_list_len(ctx_t *c, yaml_node_t *v, const char *kp, const char *one,
                         const char *many, size_t max, size_t *n)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return lw_cfg_fail(c, lw_cfg_node_line(v), kp, "expected a list of %s, got %s", many,
                           lw_cfg_node_desc(v));
    *n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (*n == 0)
        return lw_cfg_fail(c, lw_cfg_node_line(v), kp, "at least one %s is required", one);
    if (*n > max)
        return lw_cfg_fail(c,
                           lw_cfg_node_line(lw_cfg_node_at(c, v->data.sequence.items.start[max])),
                           kp, "more than %zu %s", max, many);
    return LW_OK;
}

lw_err_t lw_cfg_map_len(ctx_t *c, yaml_node_t *v, const char *kp, const char *what,
                        const char *many, size_t max, size_t *n)
{
    if (v->type != YAML_MAPPING_NODE)
        return lw_cfg_fail(c, lw_cfg_node_line(v), kp, "expected a mapping of %s, got %s", what,
                           lw_cfg_node_desc(v));
    *n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (*n > max)
        return lw_cfg_fail(c, lw_cfg_node_line(v), kp, "more than %zu %s", max, many);
    return LW_OK;
}

lw_err_t lw_cfg_each_pair(ctx_t *c, yaml_node_t *v, const char *kp, const char *what,
                          const char *many, size_t max, const char *key_scalar_what,
                          const char *key_what, lw_cfg_pair_fn each, void *arg)
{
    char sub[KP_MAX];
    size_t n;
    lw_err_t err = lw_cfg_map_len(c, v, kp, what, many, max, &n);
    for (size_t i = 0; i < n && !err; i++) {
        yaml_node_pair_t *p = &v->data.mapping.pairs.start[i];
        sval_t ks;
        if ((err = lw_cfg_get_scalar(c, lw_cfg_node_at(c, p->key), kp, key_scalar_what, &ks)) ||
            (err = lw_cfg_want_string(c, &ks, kp, key_what)))
            break;
        lw_cfg_kp_key(sub, kp, ks.s);
        err = each(c, &ks, lw_cfg_node_at(c, p->value), sub, i, n, arg);
    }
    return err;
}

lw_err_t lw_cfg_each_string(ctx_t *c, yaml_node_t *v, const char *kp, const char *list_what,
                            const char *item_what, lw_cfg_item_fn each, void *arg)
{
    char sub[KP_MAX];
    lw_err_t err;
    if (v->type != YAML_SEQUENCE_NODE)
        return lw_cfg_fail(c, lw_cfg_node_line(v), kp, "expected a list of %s, got %s", list_what,
                           lw_cfg_node_desc(v));
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    for (size_t i = 0; i < n; i++) {
        sval_t sv;
        lw_cfg_kp_index(sub, kp, i);
        if ((err = lw_cfg_get_scalar(c, lw_cfg_node_at(c, v->data.sequence.items.start[i]), sub,
                                     item_what, &sv)) ||
            (err = lw_cfg_want_string(c, &sv, sub, item_what)) ||
            (err = each(c, &sv, sub, i, n, arg)))
            return err;
    }
    return LW_OK;
}

/* ----------------------------------------------------- value checkers */

/* NULL when `s` is a valid path (event.h: keys and [N] indexes), else what is wrong with it. */
const char *lw_cfg_path_problem(const char *s, size_t len)
{
    if (len > LW_CONFIG_MAX_PATH)
        return "path longer than " STR(LW_CONFIG_MAX_PATH) " bytes";
    return lw_event_path_problem(s, len);
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
const char *lw_cfg_fmt_duration(int64_t ms, char *buf, size_t size)
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

char *lw_cfg_dup_str(ctx_t *c, const sval_t *v, const char *kp, lw_err_t *err)
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

/* A copy of the string scalar v into the char * at dst (set_str). */
static lw_err_t store_str(ctx_t *c, const sval_t *v, void *dst, const char *kp)
{
    lw_err_t err = LW_OK;
    char *s = lw_cfg_dup_str(c, v, kp, &err);
    if (!s)
        return err;
    set_str(dst, s);
    return LW_OK;
}

/* Store a scalar value of a scalar-typed key at base + k->off. */
lw_err_t lw_cfg_store_scalar(ctx_t *c, const key_spec_t *k, const sval_t *v, void *dst,
                             const char *kp)
{
    lw_err_t err = LW_OK;
    const char *problem;
    char d[DISP_MAX], lo[32], hi[32];
    int64_t ms;

    switch (k->type) {
    case T_STRING:
    case T_NAME:
    case T_PATH:
        if ((err = lw_cfg_want_string(c, v, kp, k->type == T_PATH ? "a dotted path" : "a string")))
            return err;
        problem = k->type == T_NAME   ? name_problem(v->s, v->len)
                  : k->type == T_PATH ? lw_cfg_path_problem(v->s, v->len)
                                      : NULL;
        if (problem)
            return lw_cfg_fail(c, v->line, kp, "%s: \"%s\"", problem,
                               lw_cfg_disp(v->s, d, sizeof d));
        return store_str(c, v, dst, kp);

    case T_INT:
        if (v->type != LW_SCALAR_NUMBER || !isfinite(v->num) || v->num != floor(v->num))
            return lw_cfg_fail(c, v->line, kp, "expected a whole number, got %s%s%s%s",
                               lw_cfg_sval_desc(v), v->type == LW_SCALAR_STRING ? " \"" : "",
                               v->type == LW_SCALAR_STRING ? lw_cfg_disp(v->s, d, sizeof d) : "",
                               v->type == LW_SCALAR_STRING ? "\"" : "");
        if (v->num < (double)k->min || v->num > (double)k->max)
            return lw_cfg_fail(c, v->line, kp, "%s is out of range [%lld, %lld]",
                               lw_cfg_disp(v->s, d, sizeof d), (long long)k->min,
                               (long long)k->max);
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
            return lw_cfg_fail(c, v->line, kp, "expected a number, got %s", lw_cfg_sval_desc(v));
        if (!isfinite(v->num))
            return lw_cfg_fail(c, v->line, kp, "must be a finite number, got %s",
                               lw_cfg_disp(v->s, d, sizeof d));
        *(double *)dst = v->num;
        return LW_OK;

    case T_DURATION:
    case T_BUCKET:
    case T_SECONDS:
        if ((v->type != LW_SCALAR_STRING && v->type != LW_SCALAR_NUMBER) ||
            !parse_duration(v->s, &ms))
            return lw_cfg_fail(
                c, v->line, kp,
                "invalid duration \"%s\" (a whole number and a unit ms, s, m, h, d or w, "
                "e.g. 500ms, 30s, 2d)",
                lw_cfg_disp(v->s, d, sizeof d));
        if (k->type == T_BUCKET) {
            if (ms != LW_MS_PER_HOUR && ms != LW_MS_PER_DAY && ms != LW_MS_PER_WEEK)
                return lw_cfg_fail(c, v->line, kp, "bucket size must be 1h, 1d or 1w, got \"%s\"",
                                   lw_cfg_disp(v->s, d, sizeof d));
        } else if (ms < k->min || ms > k->max) {
            return lw_cfg_fail(c, v->line, kp, "%s is out of range [%s, %s]",
                               lw_cfg_disp(v->s, d, sizeof d),
                               lw_cfg_fmt_duration(k->min, lo, sizeof lo),
                               lw_cfg_fmt_duration(k->max, hi, sizeof hi));
        }
        if (k->type == T_SECONDS) {
            if (ms % 1000 != 0)
                return lw_cfg_fail(c, v->line, kp, "%s is not a whole number of seconds",
                                   lw_cfg_disp(v->s, d, sizeof d));
            *(unsigned *)dst = (unsigned)(ms / 1000);
            return LW_OK;
        }
        *(int64_t *)dst = ms;
        return LW_OK;

    case T_BOOL:
        if (v->type != LW_SCALAR_BOOL)
            return lw_cfg_fail(c, v->line, kp, "expected true or false, got %s",
                               lw_cfg_sval_desc(v));
        *(bool *)dst = v->b;
        return LW_OK;

    case T_URL:
        if ((err = lw_cfg_want_string(c, v, kp, "an http:// or https:// URL")))
            return err;
        /* the URL is not echoed: it may carry user:password */
        if ((problem = url_problem(v->s, v->len)))
            return lw_cfg_fail(c, v->line, kp, "%s", problem);
        return store_str(c, v, dst, kp);

    case T_FORMAT:
        if ((err = lw_cfg_want_string(c, v, kp, "an event format")))
            return err;
        if (!lw_format_parse(v->s, (lw_format_t *)dst))
            return lw_cfg_fail(
                c, v->line, kp,
                "unknown format \"%s\" (segment, rudderstack, amplitude, posthog or custom)",
                lw_cfg_disp(v->s, d, sizeof d));
        return LW_OK;

    case T_ENUM:
        if ((err = lw_cfg_want_string(c, v, kp, "a string")))
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
            return lw_cfg_fail(c, v->line, kp, "unknown value \"%s\" (expected one of: %s)",
                               lw_cfg_disp(v->s, d, sizeof d), list);
        }

    case T_TRUE:
        if (v->type != LW_SCALAR_BOOL || !v->b)
            return lw_cfg_fail(c, v->line, kp, "must be true (omit the key otherwise), got %s%s%s",
                               lw_cfg_sval_desc(v), v->type == LW_SCALAR_BOOL ? " " : "",
                               v->type == LW_SCALAR_BOOL ? "false" : "");
        return LW_OK;

    case T_REF: {
        if ((err = lw_cfg_want_string(c, v, kp, "a metric name")))
            return err;
        int idx = lw_config_metric_index(c->cfg, v->s);
        if (idx < 0)
            return lw_cfg_fail(c, v->line, kp, "unknown metric \"%s\"",
                               lw_cfg_disp(v->s, d, sizeof d));
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
        v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        lw_cfg_get_scalar(c, v, kp, "", &sv) == LW_OK && sv.type == LW_SCALAR_NULL) {
        /* `http:` alone: the section is present with every default */
        yaml_node_t empty = {.type = YAML_MAPPING_NODE, .start_mark = v->start_mark};
        return lw_cfg_parse_section(c, k->sub, &empty, key_line, base, kp);
    }
    if (k->type == T_SECTION)
        return lw_cfg_parse_section(c, k->sub, v, key_line, base, kp);
    if (k->type == T_CUSTOM)
        return k->custom(c, k, v, base, kp);
    if ((err = lw_cfg_get_scalar(c, v, kp, want[k->type], &sv)))
        return err;
    return lw_cfg_store_scalar(c, k, &sv, (char *)base + k->off, kp);
}

/*
 * Store every default of `sec` (and of nested sections) into base.  Fails
 * only when out of memory: a default that does not pass its own key's
 * validation is a table bug, caught by the assert and the tests.
 */
lw_err_t lw_cfg_apply_defaults(ctx_t *c, const section_t *sec, void *base)
{
    lw_err_t err = LW_OK;
    for (size_t i = 0; i < sec->nkeys && !err; i++) {
        const key_spec_t *k = &sec->keys[i];
        if (k->type == T_SECTION) {
            err = lw_cfg_apply_defaults(c, k->sub, base);
        } else if (k->def) {
            sval_t v = {.s = k->def, .len = strlen(k->def), .line = 1};
            resolve_plain(&v);
            err = lw_cfg_store_scalar(c, k, &v, (char *)base + k->off, k->key);
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
lw_err_t lw_cfg_parse_section(ctx_t *c, const section_t *sec, yaml_node_t *map, int line,
                              void *base, const char *kp)
{
    yaml_node_t *vals[MAX_KEYS] = {0};
    int lines[MAX_KEYS] = {0};
    char sub[KP_MAX];
    lw_err_t err;

    assert(sec->nkeys <= MAX_KEYS);
    if (map->type != YAML_MAPPING_NODE)
        return lw_cfg_fail(c, lw_cfg_node_line(map), kp, "expected a mapping, got %s",
                           lw_cfg_node_desc(map));

    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = lw_cfg_node_at(c, p->key), *vn = lw_cfg_node_at(c, p->value);
        sval_t ks;
        if ((err = lw_cfg_get_scalar(c, kn, kp[0] ? kp : "document", "a string key", &ks)))
            return err;
        if ((err = lw_cfg_want_string(c, &ks, kp[0] ? kp : "document", "a string key")))
            return err;
        lw_cfg_kp_key(sub, kp, ks.s);
        size_t i = 0;
        while (i < sec->nkeys && strcmp(sec->keys[i].key, ks.s) != 0)
            i++;
        if (i == sec->nkeys) {
            char list[256];
            keys_list(sec, list, sizeof list);
            return lw_cfg_fail(c, ks.line, sub, "unknown key (expected one of: %s)", list);
        }
        if (lines[i])
            return lw_cfg_fail(c, ks.line, sub, "duplicate key (first given at line %d)", lines[i]);
        if (sec->keys[i].kind) {
            for (size_t j = 0; j < sec->nkeys; j++)
                if (sec->keys[j].kind && lines[j])
                    return lw_cfg_fail(
                        c, ks.line, sub,
                        "a metric has exactly one kind, but \"%s\" is also given (line %d)",
                        sec->keys[j].key, lines[j]);
        }
        vals[i] = vn;
        lines[i] = ks.line;
    }

    for (size_t i = 0; i < sec->nkeys; i++) {
        const key_spec_t *k = &sec->keys[i];
        lw_cfg_kp_key(sub, kp, k->key);
        if (vals[i]) {
            if ((err = parse_value(c, k, vals[i], lines[i], base, sub)))
                return err;
        } else if (k->required) {
            return lw_cfg_fail(c, line, sub, "required key is missing");
        }
    }
    return sec->check ? sec->check(c, base, line, lines, kp) : LW_OK;
}

size_t lw_cfg_key_index(const section_t *sec, const char *key)
{
    for (size_t i = 0; i < sec->nkeys; i++)
        if (strcmp(sec->keys[i].key, key) == 0)
            return i;
    assert(!"key not in table");
    return 0;
}

void lw_cfg_defaults_into(const section_t *sec, size_t at, size_t size, void *dst)
{
    ctx_t table = {.name = "(table)"};
    for (size_t i = 0; i < sec->nkeys; i++) {
        const key_spec_t *k = &sec->keys[i];
        if (k->type == T_SECTION) {
            lw_cfg_defaults_into(k->sub, at, size, dst);
            continue;
        }
        if (!k->def || k->off < at || k->off >= at + size)
            continue;
        /* strings would be allocated; the owners' structs take none from a table */
        assert(k->type != T_STRING && k->type != T_NAME && k->type != T_PATH && k->type != T_URL);
        sval_t v = {.s = k->def, .len = strlen(k->def), .line = 1};
        resolve_plain(&v);
        lw_err_t err = lw_cfg_store_scalar(&table, k, &v, (char *)dst + (k->off - at), k->key);
        assert(err == LW_OK && "table default fails validation");
        (void)err;
    }
}

const char *lw_cfg_default_text(const section_t *sec, const char *key)
{
    const key_spec_t *k = &sec->keys[lw_cfg_key_index(sec, key)];
    return k->def ? k->def : k->doc_def;
}

/* ---------------------------------------------------------- top level */

static const key_spec_t top_keys[] = {
    KEY_SECTION("source", &lw_cfg_source_section, "event format and decoding limits"),
    KEY_SECTION("store", &lw_cfg_store_section, "SQLite or PostgreSQL store"),
    KEY_SECTION("buckets", &lw_cfg_buckets_section, "time buckets"),
    KEY_LIST("metrics", lw_cfg_parse_metrics, &lw_cfg_metric_section,
             "1 to " STR(LW_CONFIG_MAX_METRICS) " metric definitions"),
    {.key = "tree",
     .type = T_SECTION,
     .sub = &lw_cfg_tree_section,
     .required = true,
     .help = "the metric tree"},
    KEY_SECTION("analysis", &lw_cfg_analysis_section, "statistics options"),
    KEY_SECTION_OPT("alerts", &lw_cfg_alerts_section, "alerting (daemon)"),
    KEY_SECTION("experiments", &lw_cfg_experiments_section,
                "A/B test exposures and per-experiment aggregates (issue 16)"),
    KEY_SECTION_OPT("http", &lw_cfg_http_section, "HTTP endpoint (daemon)"),
};

/*
 * After every section: analysis.full_every's default (1d) under weekly buckets,
 * when no analysis section said otherwise, is every close (an explicit value
 * that is not a multiple of the bucket size was refused by the section's check).
 */
static lw_err_t top_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    lw_config_t *cfg = base;
    (void)c, (void)line, (void)lines, (void)kp;
    if (cfg->buckets.size_ms > 0 && cfg->analysis_full_every_ms % cfg->buckets.size_ms != 0)
        cfg->analysis_full_every_ms = cfg->buckets.size_ms;
    return LW_OK;
}

const section_t lw_cfg_top_section =
    SECTION("(top level)", top_keys, top_check, "the configuration file");

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
        return lw_cfg_fail(c, line, "syntax", "%s %s (line %d)", p->problem ? p->problem : "error",
                           p->context, (int)p->context_mark.line + 1);
    return lw_cfg_fail(c, line, "syntax", "%s", p->problem ? p->problem : "invalid YAML");
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
                err = lw_cfg_fail(c, line, "document", "more than one YAML document in the file");
            break;
        case YAML_ALIAS_EVENT:
            err =
                lw_cfg_fail(c, line, "document",
                            "aliases (*%s) are not allowed; anchors and aliases are not supported",
                            (const char *)e.data.alias.anchor);
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (++depth > LW_CONFIG_MAX_NESTING)
                err = lw_cfg_fail(c, line, "document",
                                  "nested deeper than " STR(LW_CONFIG_MAX_NESTING) " levels");
            /* fall through */
        case YAML_SCALAR_EVENT:
            if (!err && event_has_tag(&e))
                err = lw_cfg_fail(c, line, "document",
                                  "YAML tags (!...) are not supported; quote a value to make it a "
                                  "string");
            if (!err && ++nodes > LW_CONFIG_MAX_NODES)
                err = lw_cfg_fail(c, line, "document",
                                  "more than " STR(LW_CONFIG_MAX_NODES) " YAML nodes");
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
        err = lw_cfg_fail(&c, 1, "document", "the file is empty"); /* no content, or a bare "---" */
        goto delete_doc;
    }
    if (root->type != YAML_MAPPING_NODE) {
        err = lw_cfg_fail(&c, lw_cfg_node_line(root), "document",
                          "the top level must be a mapping, got %s", lw_cfg_node_desc(root));
        goto delete_doc;
    }
    /* The owners' defaults apply the same tables (config_opts.c) and add the
     * values no scalar default can give (seasonal, alerts.on, the sink's
     * receiver and external_url, http's listen pointer); apply_defaults then
     * fills the config's own keys. */
    lw_analyze_opts_default(&cfg->analysis);
    lw_alert_opts_default(&cfg->alerts.opts);
    lw_alertsink_opts_default(&cfg->alerts.sink);
    lw_http_opts_default(&cfg->http.opts);
    if (!(err = lw_cfg_apply_defaults(&c, &lw_cfg_top_section, cfg)))
        err = lw_cfg_parse_section(&c, &lw_cfg_top_section, root, lw_cfg_node_line(root), cfg, "");
    if (!err)
        lw_cfg_wire_options(cfg);

delete_doc:
    yaml_document_delete(&doc);
delete_parser:
    yaml_parser_delete(&parser);
    for (size_t i = 0; i < c.nratio; i++) {
        free(c.ratio_names[i][0]);
        free(c.ratio_names[i][1]);
    }
    free(c.ratio_names);
    free(c.ratio_lines);
free_cfg:
    if (err) {
        lw_config_free(cfg);
        return err;
    }
    *out = cfg;
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

void lw_config_free(lw_config_t *cfg)
{
    if (!cfg)
        return;
    LW_FREE_ALL(cfg->file, cfg->source.event_field, cfg->source.user_field, cfg->source.time_field,
                cfg->source.user_override, cfg->source.dedup_id);
    for (size_t i = 0; i < cfg->source.nkafka; i++)
        LW_FREE_ALL(cfg->source.kafka[i].key, cfg->source.kafka[i].value);
    free(cfg->source.kafka);
    lw_free_strv(cfg->source.topics, cfg->source.ntopics);
    LW_FREE_ALL(cfg->source.dead_letter_topic, cfg->store.path, cfg->store.url,
                cfg->store.password_file);
    for (size_t i = 0; i < cfg->nmetrics; i++) {
        lw_metric_def_t *m = &cfg->metrics[i];
        for (size_t w = 0; w < m->nwhere; w++)
            where_release(&m->where[w]);
        LW_FREE_ALL(m->name, m->field, m->where);
    }
    LW_FREE_ALL(cfg->metrics, cfg->alerts.alertmanager_url, cfg->alerts.webhook_url);
    lw_free_strv(cfg->alerts.webhook_headers, cfg->alerts.nwebhook_headers);
    LW_FREE_ALL(cfg->alerts.receiver, cfg->alerts.external_url, cfg->alerts.kafka_topic,
                cfg->http.listen);
    for (size_t i = 0; i < cfg->experiments.nsources; i++) {
        lw_exposure_src_t *e = &cfg->experiments.sources[i];
        for (size_t w = 0; w < e->nwhere; w++)
            where_release(&e->where[w]);
        LW_FREE_ALL(e->where, e->experiment, e->variant, e->object, e->prefix);
        lw_free_strv(e->control, e->ncontrol);
    }
    LW_FREE_ALL(cfg->experiments.sources, cfg);
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

int lw_config_metric_index(const lw_config_t *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nmetrics; i++)
        if (cfg->metrics[i].name && strcmp(cfg->metrics[i].name, name) == 0)
            return (int)i;
    return -1;
}
