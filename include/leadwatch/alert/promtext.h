/*
 * promtext.h - a bounded, thread-safe metrics registry (counters, gauges,
 * histograms with labels) and its rendering in the Prometheus text
 * exposition format 0.0.4 (what /metrics serves).
 *
 * Use: at start the daemon registers families (name, help, type, label
 * names), then looks up the series it updates (one per label-value tuple)
 * and keeps the handles.  Updating a handle is a few atomic instructions
 * and takes no lock, so the consumer thread can count every event; looking
 * a series up and rendering take the registry mutex.  Every name is
 * rendered with the registry's namespace prefix ("leadwatch_").
 *
 * Bounds: families and series are fixed at construction.  A series that
 * does not fit (or has invalid label values) is not created: the lookup
 * returns a shared "discard" series that accepts updates and is never
 * rendered, and the refusal is counted (lw_promtext_refused, rendered as
 * <namespace>_metrics_series_refused_total), so callers never branch on it.
 * Series are never removed; handles stay valid until lw_promtext_destroy.
 * A value that is not known is not rendered: gauges are created without a
 * value (absent) and appear at their first lw_promtext_set; unset makes a
 * series absent again (no -1 / 0 / NaN placeholders).
 */
#ifndef LEADWATCH_PROMTEXT_H
#define LEADWATCH_PROMTEXT_H

#include "leadwatch/core/buf.h"
#include "leadwatch/core/common.h"

#define LW_PROMTEXT_MAX_LABELS 8u
#define LW_PROMTEXT_MAX_BUCKETS 32u
#define LW_PROMTEXT_NAME_MAX 100u  /* metric and label names, without the prefix */
#define LW_PROMTEXT_VALUE_MAX 256u /* label values, bytes */
#define LW_PROMTEXT_HELP_MAX 512u
#define LW_PROMTEXT_MAX_SERIES 100000u
#define LW_PROMTEXT_MAX_COLLECT 4u /* collect functions per registry */

typedef enum {
    LW_PROMTEXT_COUNTER = 0,
    LW_PROMTEXT_GAUGE,
    LW_PROMTEXT_HISTOGRAM
} lw_promtext_type_t;

typedef struct lw_promtext lw_promtext_t;
typedef struct lw_promtext_family lw_promtext_family_t;
typedef struct lw_promtext_series lw_promtext_series_t;

/*
 * A registry for up to max_families families and max_series series in all
 * (1..LW_PROMTEXT_MAX_SERIES).  `ns` ("leadwatch") prefixes every name as
 * "<ns>_<name>".
 */
lw_err_t lw_promtext_new(const char *ns, size_t max_families, size_t max_series,
                         lw_promtext_t **out, char *errstr, size_t errstr_size);

/* Frees everything; no other thread may use the registry or its handles. */
void lw_promtext_destroy(lw_promtext_t *reg);

/*
 * Register a family.  Names follow Prometheus ([a-zA-Z_:][a-zA-Z0-9_:]* for
 * metrics, [a-zA-Z_][a-zA-Z0-9_]* and no "__" prefix for labels, and no
 * "le" label on a histogram).  Histograms take `nbuckets` strictly
 * increasing finite upper bounds (+Inf is implied); others pass 0.
 * Registering the same name again with the same type and labels returns
 * the existing family; a conflicting one is LW_ERR_INVALID.  A family
 * without labels gets its single series at once (a counter or histogram
 * is rendered as 0 from then on, a gauge once it is set).
 * LW_ERR_TOO_LARGE when max_families is reached.  Any thread.
 */
lw_err_t lw_promtext_family(lw_promtext_t *reg, lw_promtext_type_t type, const char *name,
                            const char *help, const char *const *labels, size_t nlabels,
                            const double *buckets, size_t nbuckets, lw_promtext_family_t **out,
                            char *errstr, size_t errstr_size);

/*
 * The same for a family rendered without the namespace prefix, for the
 * names every exporter shares (process_cpu_seconds_total, ...).  Counters
 * and gauges only.
 */
lw_err_t lw_promtext_family_bare(lw_promtext_t *reg, lw_promtext_type_t type, const char *name,
                                 const char *help, const char *const *labels, size_t nlabels,
                                 lw_promtext_family_t **out, char *errstr, size_t errstr_size);

/*
 * The series of `fam` with these label values (one per label name; any
 * bytes up to LW_PROMTEXT_VALUE_MAX, invalid UTF-8 is refused), created on
 * first use.  Never NULL: see the file comment for what happens when it
 * does not fit.  Any thread; takes the registry mutex, so keep the handle.
 */
lw_promtext_series_t *lw_promtext_series(lw_promtext_family_t *fam, const char *const *values);

/* Counter: add 1 / add v (v >= 0; negative adds are ignored).  Lock-free, any thread. */
void lw_promtext_inc(lw_promtext_series_t *s);
void lw_promtext_add(lw_promtext_series_t *s, double v);
/*
 * Counter that mirrors a cumulative total kept elsewhere (CPU seconds, a
 * partition's lost offsets): raise it to `total` when that is above its value,
 * never lower it; NaN is ignored.  One compare-and-swap loop, so concurrent
 * raisers need no lock of their own.  Lock-free, any thread.
 */
void lw_promtext_raise(lw_promtext_series_t *s, double total);
/* Gauge: set to v (the series is rendered from then on).  Lock-free, any thread. */
void lw_promtext_set(lw_promtext_series_t *s, double v);
/* Gauge: the value is no longer known; the series is not rendered until the next set. */
void lw_promtext_unset(lw_promtext_series_t *s);
/* set(v) when `known` and v is not NaN, unset otherwise. */
void lw_promtext_set_known(lw_promtext_series_t *s, double v, bool known);
/* Whether the series has a value to render. */
bool lw_promtext_present(const lw_promtext_series_t *s);
/* Histogram: record one observation.  Lock-free, any thread. */
void lw_promtext_observe(lw_promtext_series_t *s, double v);

/* Current value of a counter or gauge; count of a histogram. */
double lw_promtext_value(const lw_promtext_series_t *s);

/* Series refused so far (over the bound or invalid values). */
uint64_t lw_promtext_refused(const lw_promtext_t *reg);

/*
 * Add a function lw_promtext_render calls before it reads any value
 * (outside the registry lock, on the scraping thread, in the order added),
 * to copy in values that another component keeps itself; it may update and
 * create series.  Up to LW_PROMTEXT_MAX_COLLECT per registry
 * (LW_ERR_TOO_LARGE beyond); add them before the registry is shared
 * between threads (the HTTP server started).  Each function synchronises
 * with its own data.
 */
lw_err_t lw_promtext_add_collect(lw_promtext_t *reg, void (*fn)(void *ctx), void *ctx);

/*
 * Append the exposition text of every family with at least one series, in
 * registration order, to `out`.  Errors are the buffer's; on error `out`
 * is rewound to its length on entry (and its sticky error cleared, so the
 * caller can write an error page instead).  Any thread.
 */
lw_err_t lw_promtext_render(lw_promtext_t *reg, lw_buf_t *out);

/* The Content-Type of the rendered text. */
#define LW_PROMTEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
