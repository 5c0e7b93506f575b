/*
 * promtext.c - metrics registry and Prometheus text exposition (see
 * promtext.h).
 *
 * Layout.  Families live in a fixed array (registration order = render
 * order).  Series live in one fixed array shared by all families, so a
 * handle is a pointer that never moves; each family chains its series
 * through `next` in creation order.  A series holds a copy of its label
 * values and its value:
 *   counter / gauge: one _Atomic uint64_t holding the bits of a double
 *     (C11 has no atomic double add; a compare-exchange loop on the bits
 *     does it, another raises a counter to a total kept elsewhere, and a
 *     plain store sets a gauge);
 *   histogram: per-bucket _Atomic uint64_t counts (not cumulative) plus
 *     the sum as double bits.  The rendered _count is the sum of the bucket
 *     counts read in the same pass, so the +Inf bucket always equals
 *     _count even while observations land during a scrape.
 * The mutex guards the structure (family and series creation, rendering);
 * values are only ever touched atomically, so updates never wait for a
 * scrape.  Values that another component keeps as cumulative stats (the
 * alert sinks' delivery counts, the process's /proc figures) are copied in
 * by collect functions (a small fixed list) that render calls first, so a scrape never shows a
 * stale copy even while the thread that owns them is busy.  Lookups scan the family's chain:
 * families have few series (per edge, per partition) and callers keep handles.
 *
 * Exposition (https://prometheus.io/docs/instrumenting/exposition_formats/):
 * <name> is "<ns>_<family>", or the family's own name for a "bare" family
 * (the standard process_* metrics).
 *   # HELP <name> <help, with \ and newline escaped>
 *   # TYPE <name> counter|gauge|histogram
 *   <name>{l="v",...} <value>
 * label values escape \ " and newline; values are Go-style floats: NaN,
 * +Inf, -Inf, integers without a fraction, otherwise the shortest of
 * %.15g/%.16g/%.17g that reads back to the same double.  Histograms give
 * <name>_bucket{...,le="<bound>"} cumulative counts ending with le="+Inf",
 * then <name>_sum and <name>_count.
 */
#include "leadwatch/alert/promtext.h"

#include "leadwatch/core/utf8.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lw_promtext_series {
    lw_promtext_family_t *fam;
    struct lw_promtext_series *next;
    char *values[LW_PROMTEXT_MAX_LABELS];
    _Atomic uint64_t bits;     /* counter/gauge value, histogram sum (double bits) */
    _Atomic uint64_t *buckets; /* histogram: [nbuckets + 1] */
    _Atomic bool absent;       /* not rendered until the next update (lw_promtext_unset) */
};

struct lw_promtext_family {
    lw_promtext_t *reg;
    lw_promtext_type_t type;
    bool bare; /* rendered without the namespace prefix (process_*) */
    char name[LW_PROMTEXT_NAME_MAX + 1];
    char *help;
    size_t nlabels;
    char labels[LW_PROMTEXT_MAX_LABELS][LW_PROMTEXT_NAME_MAX + 1];
    size_t nbuckets;
    double bounds[LW_PROMTEXT_MAX_BUCKETS];
    lw_promtext_series_t *first, *last;
};

struct lw_promtext {
    pthread_mutex_t mu;
    char ns[LW_PROMTEXT_NAME_MAX + 1];
    lw_promtext_family_t *families;
    size_t nfamilies, max_families;
    lw_promtext_series_t *series;
    size_t nseries, max_series;
    lw_promtext_series_t discard;
    _Atomic uint64_t discard_buckets[LW_PROMTEXT_MAX_BUCKETS + 1];
    _Atomic uint64_t refused;
    /* run by render before it reads (lw_promtext_add_collect) */
    struct {
        void (*fn)(void *ctx);
        void *ctx;
    } collect[LW_PROMTEXT_MAX_COLLECT];
    size_t ncollect;
};

static uint64_t d2u(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double u2d(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static bool valid_name(const char *s, bool colon)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > LW_PROMTEXT_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

lw_err_t lw_promtext_new(const char *ns, size_t max_families, size_t max_series,
                         lw_promtext_t **out, char *errstr, size_t errstr_size)
{
    if (!valid_name(ns, false) || max_families == 0 || max_series == 0 ||
        max_series > LW_PROMTEXT_MAX_SERIES || max_families > LW_PROMTEXT_MAX_SERIES)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "metrics: bad namespace or bounds (series 1..%u)", LW_PROMTEXT_MAX_SERIES);
    lw_promtext_t *reg = calloc(1, sizeof *reg);
    if (!reg)
        goto fail_reg;
    reg->families = calloc(max_families, sizeof *reg->families);
    if (!reg->families)
        goto fail_families;
    reg->series = calloc(max_series, sizeof *reg->series);
    if (!reg->series)
        goto fail_series;
    if (pthread_mutex_init(&reg->mu, NULL) != 0)
        goto fail_mutex;
    snprintf(reg->ns, sizeof reg->ns, "%s", ns);
    reg->max_families = max_families;
    reg->max_series = max_series;
    reg->discard.buckets = reg->discard_buckets;
    *out = reg;
    return LW_OK;

fail_mutex:
    free(reg->series);
fail_series:
    free(reg->families);
fail_families:
    free(reg);
fail_reg:
    return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "metrics: out of memory");
}

static void series_free(lw_promtext_series_t *s, size_t nlabels)
{
    for (size_t i = 0; i < nlabels; i++)
        free(s->values[i]);
    free(s->buckets);
}

void lw_promtext_destroy(lw_promtext_t *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->nseries; i++)
        series_free(&reg->series[i], reg->series[i].fam->nlabels);
    for (size_t i = 0; i < reg->nfamilies; i++)
        free(reg->families[i].help);
    pthread_mutex_destroy(&reg->mu);
    free(reg->series);
    free(reg->families);
    free(reg);
}

static bool same_shape(const lw_promtext_family_t *f, lw_promtext_type_t type,
                       const char *const *labels, size_t nlabels, const double *buckets,
                       size_t nbuckets)
{
    if (f->type != type || f->nlabels != nlabels || f->nbuckets != nbuckets)
        return false;
    for (size_t i = 0; i < nlabels; i++)
        if (strcmp(f->labels[i], labels[i]) != 0)
            return false;
    for (size_t i = 0; i < nbuckets; i++)
        if (f->bounds[i] != buckets[i])
            return false;
    return true;
}

/* Create a series in `fam`; NULL when full or out of memory.  Mutex held. */
static lw_promtext_series_t *series_create(lw_promtext_family_t *fam, const char *const *values)
{
    lw_promtext_t *reg = fam->reg;
    if (reg->nseries >= reg->max_series)
        return NULL;
    lw_promtext_series_t *s = &reg->series[reg->nseries];
    memset(s, 0, sizeof *s);
    s->fam = fam;
    for (size_t i = 0; i < fam->nlabels; i++) {
        s->values[i] = strdup(values[i]);
        if (!s->values[i])
            goto fail_values;
    }
    if (fam->type == LW_PROMTEXT_HISTOGRAM) {
        s->buckets = calloc(fam->nbuckets + 1, sizeof *s->buckets);
        if (!s->buckets)
            goto fail_values;
    }
    atomic_init(&s->bits, d2u(0.0));
    atomic_init(&s->absent, fam->type == LW_PROMTEXT_GAUGE); /* a gauge has no value until set */
    if (fam->last)
        fam->last->next = s;
    else
        fam->first = s;
    fam->last = s;
    reg->nseries++;
    return s;

fail_values:
    series_free(s, fam->nlabels);
    memset(s, 0, sizeof *s);
    return NULL;
}

static lw_err_t family(lw_promtext_t *reg, bool bare, lw_promtext_type_t type, const char *name,
                       const char *help, const char *const *labels, size_t nlabels,
                       const double *buckets, size_t nbuckets, lw_promtext_family_t **out,
                       char *errstr, size_t errstr_size)
{
    lw_err_t err = LW_OK;

    if (!valid_name(name, true) || strlen(reg->ns) + 1 + strlen(name) > LW_PROMTEXT_NAME_MAX)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "metrics: bad metric name");
    if (!help || strlen(help) > LW_PROMTEXT_HELP_MAX)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "metrics: %s: help missing or long",
                         name);
    if (nlabels > LW_PROMTEXT_MAX_LABELS)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "metrics: %s: too many labels", name);
    for (size_t i = 0; i < nlabels; i++) {
        if (!valid_name(labels[i], false) || strncmp(labels[i], "__", 2) == 0 ||
            (type == LW_PROMTEXT_HISTOGRAM && strcmp(labels[i], "le") == 0))
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "metrics: %s: bad label name",
                             name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0)
                return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                 "metrics: %s: label %s repeated", name, labels[i]);
    }
    if ((type == LW_PROMTEXT_HISTOGRAM) != (nbuckets > 0) || nbuckets > LW_PROMTEXT_MAX_BUCKETS)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "metrics: %s: histograms need 1..%u buckets, others none", name,
                         LW_PROMTEXT_MAX_BUCKETS);
    for (size_t i = 0; i < nbuckets; i++)
        if (!isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1])))
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                             "metrics: %s: bucket bounds must increase and be finite", name);

    pthread_mutex_lock(&reg->mu);
    for (size_t i = 0; i < reg->nfamilies; i++) {
        lw_promtext_family_t *f = &reg->families[i];
        if (strcmp(f->name, name) != 0 || f->bare != bare)
            continue;
        if (!same_shape(f, type, labels, nlabels, buckets, nbuckets))
            err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                            "metrics: %s registered twice with different types or labels", name);
        else
            *out = f;
        goto unlock;
    }
    if (reg->nfamilies >= reg->max_families) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "metrics: more than %zu families",
                        reg->max_families);
        goto unlock;
    }
    lw_promtext_family_t *f = &reg->families[reg->nfamilies];
    memset(f, 0, sizeof *f);
    f->help = strdup(help);
    if (!f->help) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "metrics: out of memory");
        goto unlock;
    }
    f->reg = reg;
    f->type = type;
    f->bare = bare;
    snprintf(f->name, sizeof f->name, "%s", name);
    f->nlabels = nlabels;
    for (size_t i = 0; i < nlabels; i++)
        snprintf(f->labels[i], sizeof f->labels[i], "%s", labels[i]);
    f->nbuckets = nbuckets;
    for (size_t i = 0; i < nbuckets; i++)
        f->bounds[i] = buckets[i];
    if (nlabels == 0 && !series_create(f, NULL)) {
        free(f->help);
        err = lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "metrics: %s: no series left", name);
        goto unlock;
    }
    reg->nfamilies++;
    *out = f;

unlock:
    pthread_mutex_unlock(&reg->mu);
    return err;
}

lw_err_t lw_promtext_family(lw_promtext_t *reg, lw_promtext_type_t type, const char *name,
                            const char *help, const char *const *labels, size_t nlabels,
                            const double *buckets, size_t nbuckets, lw_promtext_family_t **out,
                            char *errstr, size_t errstr_size)
{
    return family(reg, false, type, name, help, labels, nlabels, buckets, nbuckets, out, errstr,
                  errstr_size);
}

lw_err_t lw_promtext_family_bare(lw_promtext_t *reg, lw_promtext_type_t type, const char *name,
                                 const char *help, const char *const *labels, size_t nlabels,
                                 lw_promtext_family_t **out, char *errstr, size_t errstr_size)
{
    if (type == LW_PROMTEXT_HISTOGRAM)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "metrics: %s: unprefixed histograms are not supported", name);
    return family(reg, true, type, name, help, labels, nlabels, NULL, 0, out, errstr, errstr_size);
}

lw_promtext_series_t *lw_promtext_series(lw_promtext_family_t *fam, const char *const *values)
{
    lw_promtext_t *reg = fam->reg;
    lw_promtext_series_t *s;

    for (size_t i = 0; i < fam->nlabels; i++) {
        size_t n = values[i] ? strnlen(values[i], LW_PROMTEXT_VALUE_MAX + 1) : 0;
        if (!values[i] || n > LW_PROMTEXT_VALUE_MAX || !lw_utf8_valid(values[i], n))
            goto refuse;
    }
    pthread_mutex_lock(&reg->mu);
    for (s = fam->first; s; s = s->next) {
        size_t i = 0;
        while (i < fam->nlabels && strcmp(s->values[i], values[i]) == 0)
            i++;
        if (i == fam->nlabels)
            break;
    }
    if (!s)
        s = series_create(fam, values);
    pthread_mutex_unlock(&reg->mu);
    if (s)
        return s;

refuse:
    atomic_fetch_add_explicit(&reg->refused, 1, memory_order_relaxed);
    return &reg->discard;
}

static void add_bits(_Atomic uint64_t *bits, double v)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(bits, &old, d2u(u2d(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

void lw_promtext_inc(lw_promtext_series_t *s)
{
    add_bits(&s->bits, 1.0);
    atomic_store_explicit(&s->absent, false, memory_order_relaxed);
}

void lw_promtext_add(lw_promtext_series_t *s, double v)
{
    if (v >= 0) /* counters only go up; NaN fails the test too */
        add_bits(&s->bits, v);
    atomic_store_explicit(&s->absent, false, memory_order_relaxed);
}

void lw_promtext_raise(lw_promtext_series_t *s, double total)
{
    uint64_t old = atomic_load_explicit(&s->bits, memory_order_relaxed);
    while (total > u2d(old) && /* false for NaN: ignored */
           !atomic_compare_exchange_weak_explicit(&s->bits, &old, d2u(total), memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
    atomic_store_explicit(&s->absent, false, memory_order_relaxed);
}

void lw_promtext_set(lw_promtext_series_t *s, double v)
{
    atomic_store_explicit(&s->bits, d2u(v), memory_order_relaxed);
    atomic_store_explicit(&s->absent, false, memory_order_relaxed);
}

void lw_promtext_set_known(lw_promtext_series_t *s, double v, bool known)
{
    if (known && !isnan(v))
        lw_promtext_set(s, v);
    else
        lw_promtext_unset(s);
}

void lw_promtext_unset(lw_promtext_series_t *s)
{
    atomic_store_explicit(&s->absent, true, memory_order_relaxed);
}

bool lw_promtext_present(const lw_promtext_series_t *s)
{
    return !atomic_load_explicit(&s->absent, memory_order_relaxed);
}

void lw_promtext_observe(lw_promtext_series_t *s, double v)
{
    const lw_promtext_family_t *f = s->fam;
    size_t nb = f ? f->nbuckets : 0; /* the discard series has no family */
    size_t b = 0;
    if (!s->buckets || isnan(v))
        return;
    while (b < nb && v > f->bounds[b])
        b++;
    atomic_fetch_add_explicit(&s->buckets[b], 1, memory_order_relaxed);
    add_bits(&s->bits, v);
    atomic_store_explicit(&s->absent, false, memory_order_relaxed);
}

double lw_promtext_value(const lw_promtext_series_t *s)
{
    if (s->fam && s->fam->type == LW_PROMTEXT_HISTOGRAM) {
        uint64_t n = 0;
        for (size_t i = 0; i <= s->fam->nbuckets; i++)
            n += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        return (double)n;
    }
    return u2d(atomic_load_explicit(&s->bits, memory_order_relaxed));
}

uint64_t lw_promtext_refused(const lw_promtext_t *reg)
{
    return atomic_load_explicit(&reg->refused, memory_order_relaxed);
}

/* ---- rendering ----------------------------------------------------------- */

static void put_value(lw_buf_t *b, double v)
{
    char s[40];
    if (isnan(v)) {
        lw_buf_puts(b, "NaN");
        return;
    }
    if (isinf(v)) {
        lw_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        lw_buf_printf(b, "%.0f", v == 0 ? 0.0 : v); /* no "-0" */
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        if (strtod(s, NULL) == v)
            break;
    }
    lw_buf_puts(b, s);
}

/* Escape for HELP (quote = false) or a label value (quote = true). */
static void put_escaped(lw_buf_t *b, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            lw_buf_puts(b, "\\\\");
        else if (*s == '\n')
            lw_buf_puts(b, "\\n");
        else if (quote && *s == '"')
            lw_buf_puts(b, "\\\"");
        else
            lw_buf_putc(b, *s);
    }
}

/* name{labels[,le="bound"]} value */
static void put_name(lw_buf_t *b, const lw_promtext_t *reg, const lw_promtext_family_t *f)
{
    if (!f->bare)
        lw_buf_printf(b, "%s_", reg->ns);
    lw_buf_puts(b, f->name);
}

static void put_sample(lw_buf_t *b, const lw_promtext_t *reg, const lw_promtext_family_t *f,
                       const lw_promtext_series_t *s, const char *suffix, const double *le,
                       double v)
{
    put_name(b, reg, f);
    lw_buf_puts(b, suffix);
    if (f->nlabels > 0 || le) {
        lw_buf_putc(b, '{');
        for (size_t i = 0; i < f->nlabels; i++) {
            lw_buf_printf(b, "%s%s=\"", i ? "," : "", f->labels[i]);
            put_escaped(b, s->values[i], true);
            lw_buf_putc(b, '"');
        }
        if (le) {
            lw_buf_printf(b, "%sle=\"", f->nlabels ? "," : "");
            put_value(b, *le);
            lw_buf_putc(b, '"');
        }
        lw_buf_putc(b, '}');
    }
    lw_buf_putc(b, ' ');
    put_value(b, v);
    lw_buf_putc(b, '\n');
}

static const char *type_name(lw_promtext_type_t t)
{
    return t == LW_PROMTEXT_COUNTER ? "counter" : t == LW_PROMTEXT_GAUGE ? "gauge" : "histogram";
}

lw_err_t lw_promtext_add_collect(lw_promtext_t *reg, void (*fn)(void *ctx), void *ctx)
{
    if (reg->ncollect == LW_PROMTEXT_MAX_COLLECT)
        return LW_ERR_TOO_LARGE;
    reg->collect[reg->ncollect].fn = fn;
    reg->collect[reg->ncollect].ctx = ctx;
    reg->ncollect++;
    return LW_OK;
}

static bool any_present(const lw_promtext_family_t *f)
{
    for (const lw_promtext_series_t *s = f->first; s; s = s->next)
        if (lw_promtext_present(s))
            return true;
    return false;
}

lw_err_t lw_promtext_render(lw_promtext_t *reg, lw_buf_t *out)
{
    size_t start = out->len;
    static const double inf = INFINITY;

    for (size_t i = 0; i < reg->ncollect; i++) /* outside the lock: collectors may create series */
        reg->collect[i].fn(reg->collect[i].ctx);
    pthread_mutex_lock(&reg->mu);
    for (size_t i = 0; i < reg->nfamilies; i++) {
        const lw_promtext_family_t *f = &reg->families[i];
        if (!any_present(f))
            continue;
        lw_buf_puts(out, "# HELP ");
        put_name(out, reg, f);
        lw_buf_putc(out, ' ');
        put_escaped(out, f->help, false);
        lw_buf_puts(out, "\n# TYPE ");
        put_name(out, reg, f);
        lw_buf_printf(out, " %s\n", type_name(f->type));
        for (const lw_promtext_series_t *s = f->first; s; s = s->next) {
            if (!lw_promtext_present(s))
                continue;
            double v = u2d(atomic_load_explicit(&s->bits, memory_order_relaxed));
            if (f->type != LW_PROMTEXT_HISTOGRAM) {
                put_sample(out, reg, f, s, "", NULL, v);
                continue;
            }
            uint64_t cum = 0;
            for (size_t k = 0; k <= f->nbuckets; k++) {
                cum += atomic_load_explicit(&s->buckets[k], memory_order_relaxed);
                put_sample(out, reg, f, s, "_bucket", k < f->nbuckets ? &f->bounds[k] : &inf,
                           (double)cum);
            }
            put_sample(out, reg, f, s, "_sum", NULL, v);
            put_sample(out, reg, f, s, "_count", NULL, (double)cum);
        }
    }
    uint64_t refused = lw_promtext_refused(reg);
    if (refused > 0)
        lw_buf_printf(out,
                      "# HELP %s_metrics_series_refused_total Series not created: over the bound "
                      "or invalid label values.\n# TYPE %s_metrics_series_refused_total counter\n"
                      "%s_metrics_series_refused_total %llu\n",
                      reg->ns, reg->ns, reg->ns, (unsigned long long)refused);
    pthread_mutex_unlock(&reg->mu);

    lw_err_t err = out->err;
    if (err != LW_OK)
        lw_buf_rewind(out, start);
    return err;
}
