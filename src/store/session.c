/*
 * session.c - see session.h.
 *
 * Steps of a session:
 *   1. the rows: from the store, lw_series_load over [from, to] where
 *        LAST_ROWS: to = as_of, from = the last final bucket at or before it
 *                   minus (window - 1) buckets (-inf without a window);
 *        PERIODS:   to = bucket of as_of (or the newest stored bucket when
 *                   as_of is open), from = to - (window - 1) buckets;
 *      with tree_only, through a shallow copy of the config in which every
 *      metric the tree does not read (tree_metrics) is a plain count: its
 *      cells are still read (a bucket with any cell is not a gap) but no
 *      sketch is decoded or merged (a rolling weekly distinct over hourly
 *      buckets merged 168 sketches of 16 KiB per row: most of an hourly
 *      evaluation, issue 19), and its column is set to NAN afterwards;
 *      from a CSV, the parsed file as it is;
 *   2. the input: the source builders below map the tree (config, or the
 *      named CSV columns) onto the columns; store labels are the bucket
 *      starts, trailing provisional buckets are left out;
 *   3. the range: a CSV's rows starting after as_of are dropped (its rows
 *      are oldest first and evenly spaced, so they are a suffix); then with
 *      a window the input becomes a view of its last `window` rows (a store
 *      PERIODS load already holds at most `window` rows);
 *   4. lw_session_analyze: lw_analyze_tree on that view;
 *   5. optionally (lw_session_load_experiments, issue 16) the store's
 *      experiment aggregates through lw_exp_load and lw_exp_analyze, run
 *      once and attached to every analysis (lw_analysis_t.experiments).
 * lw_session_advance (the daemon, one close after another) keeps a store
 * PERIODS session and moves it to the next as_of: load_series over the
 * buckets after its last row only (the same reader, so each row is computed
 * as a fresh load computes it), appended to a rowbuf_t of twice the window,
 * the rows older than the window dropped by moving `off`.
 * The input is a non-owning view into the series / CSV that the session
 * owns, so every pointer a result holds lives as long as the session.
 */
#include "leadwatch/store/session.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/core/timeutil.h"
#include "leadwatch/model/metric.h"
#include "leadwatch/store/exp_rows.h"

/*
 * The rows of an advanced store session (lw_session_advance): arrays of
 * `cap` rows of which [off, off + nrows) are in use; the session's series
 * and input are views of them.  A new row goes after the last, the oldest
 * leaves by off++, and the rows move back to 0 only when the end is
 * reached: with cap = 2 x window that is once every `window` rows, so a
 * row costs amortised O(columns), not O(window).
 */
typedef struct {
    size_t cap, off;
    int64_t *bucket;
    double *values;
    bool *prov, *gap;
    char **labels; /* owned, one per row in use */
} rowbuf_t;

struct lw_session {
    lw_session_source_t src;
    bool have_src;
    lw_series_t series; /* store sessions */
    bool from_store;
    lw_series_csv_t csv; /* CSV sessions */
    lw_analysis_t *analysis;
    /* issue 16: the experiment analysis (exp_data non-NULL when kept) */
    lw_exp_data *exp_data;
    lw_exp_analysis exp;
    const char *exp_inputs[LW_CONFIG_MAX_INPUTS];
    lw_session_range_t range; /* store sessions: what was asked (as_of = the last one) */
    rowbuf_t rb;              /* store sessions once advanced: the rows (series is a view) */
    bool adopted;
};

/* ---------------------------------------------------------------- sources */

_Static_assert(LW_CONFIG_MAX_METRICS <= LW_SERIES_CSV_MAX_COLS &&
                   LW_CONFIG_MAX_INPUTS <= LW_SERIES_CSV_MAX_COLS,
               "a store source's columns fit the source's arrays");

void lw_session_source_release(lw_session_source_t *src)
{
    if (!src)
        return;
    lw_free_strv(src->labels_, src->nlabels_);
    memset(src, 0, sizeof(*src));
}

static lw_err_t missing_column(const lw_series_csv_t *csv, const char *what, const char *name,
                               char *errstr, size_t errstr_size)
{
    char list[512];
    size_t off = 0;
    list[0] = '\0';
    for (size_t i = 0; i < csv->ncols && off + 1 < sizeof list; i++) {
        int k = snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", csv->names[i]);
        if (k < 0)
            break;
        off += (size_t)k;
    }
    return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "%s: no column '%s' (columns: %s)", what,
                     name, list);
}

lw_err_t lw_session_source_from_csv(lw_session_source_t *src, const lw_series_csv_t *csv,
                                    const char *nsm, const char *kpi, const char *inputs,
                                    char *errstr, size_t errstr_size)
{
    memset(src, 0, sizeof(*src));
    lw_err_t err;
    long nsm_col = lw_series_csv_column(csv, nsm);
    if (nsm_col < 0)
        return missing_column(csv, "--nsm", nsm, errstr, errstr_size);
    long kpi_col = -1;
    if (kpi && *kpi) {
        kpi_col = lw_series_csv_column(csv, kpi);
        if (kpi_col < 0)
            return missing_column(csv, "--kpi", kpi, errstr, errstr_size);
        if (kpi_col == nsm_col)
            return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "--kpi: '%s' is also the NSM",
                             kpi);
    }
    size_t ni = 0;
    if (inputs && *inputs) {
        const char *p = inputs;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            char name[LW_SERIES_CSV_MAX_NAME + 1];
            if (len == 0 || len > LW_SERIES_CSV_MAX_NAME) {
                err = lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                                "--inputs: empty or too long name in '%s'", inputs);
                goto fail;
            }
            memcpy(name, p, len);
            name[len] = '\0';
            long c = lw_series_csv_column(csv, name);
            if (c < 0) {
                err = missing_column(csv, "--inputs", name, errstr, errstr_size);
                goto fail;
            }
            if (c == nsm_col || c == kpi_col) {
                err = lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                                "--inputs: '%s' is the NSM or the KPI", name);
                goto fail;
            }
            for (size_t j = 0; j < ni; j++)
                if (src->cols_[j] == (size_t)c) {
                    err = lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                                    "--inputs: '%s' listed twice", name);
                    goto fail;
                }
            if (ni + 1 + (kpi_col >= 0) > LW_ANALYZE_MAX_EDGES) {
                err = lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "--inputs: more than %u edges",
                                LW_ANALYZE_MAX_EDGES);
                goto fail;
            }
            src->cols_[ni++] = (size_t)c;
            if (!comma)
                break;
            p = comma + 1;
        }
    } else {
        for (size_t c = 0; c < csv->ncols; c++) {
            if ((long)c == nsm_col || (long)c == kpi_col)
                continue;
            if (ni + 1 + (kpi_col >= 0) > LW_ANALYZE_MAX_EDGES) {
                err = lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                                "%zu input columns: more than %u edges; choose with --inputs",
                                csv->ncols - 1 - (kpi_col >= 0), LW_ANALYZE_MAX_EDGES);
                goto fail;
            }
            src->cols_[ni++] = c;
        }
    }
    for (size_t c = 0; c < csv->ncols; c++)
        src->names_[c] = csv->names[c];
    lw_analyze_input_t *in = &src->in;
    in->nrows = csv->nrows;
    in->nseries = csv->ncols;
    in->names = src->names_;
    in->values = csv->values;
    in->labels = (const char *const *)csv->labels;
    in->bucket_ms = csv->bucket_ms;
    in->nsm = (size_t)nsm_col;
    in->kpi = kpi_col;
    in->ninputs = ni;
    in->inputs = src->cols_;
    in->input_kinds = NULL;
    return LW_OK;

fail:
    lw_session_source_release(src);
    return err;
}

/* The label of a store row (owned by the caller; NULL when out of memory). */
static char *bucket_label(const lw_config_t *cfg, int64_t bucket_ms)
{
    char buf[32];
    if (cfg->buckets.size_ms == LW_MS_PER_HOUR)
        lw_time_format_iso8601(bucket_ms, buf, sizeof buf);
    else
        lw_time_format_date(bucket_ms, buf, sizeof buf);
    return strdup(buf);
}

lw_err_t lw_session_source_from_series(lw_session_source_t *src, const lw_config_t *cfg,
                                       const lw_series_t *series, char *errstr, size_t errstr_size)
{
    memset(src, 0, sizeof(*src));
    lw_err_t err;
    if (series->ncols != cfg->nmetrics)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "analyze: series has %zu columns, config %zu metrics", series->ncols,
                         cfg->nmetrics);
    size_t nrows = series->nrows;
    while (nrows > 0 && series->provisional[nrows - 1])
        nrows--;
    src->dropped_provisional = series->nrows - nrows;
    src->labels_ = calloc(nrows ? nrows : 1, sizeof(char *));
    if (!src->labels_) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "analyze: out of memory");
        goto fail;
    }
    for (size_t c = 0; c < cfg->nmetrics; c++)
        src->names_[c] = cfg->metrics[c].name;
    for (size_t i = 0; i < cfg->tree.ninputs; i++) {
        src->cols_[i] = (size_t)cfg->tree.inputs[i].metric;
        src->kinds_[i] = lw_input_kind_name(cfg->tree.inputs[i].kind);
    }
    for (size_t r = 0; r < nrows; r++) {
        src->labels_[r] = bucket_label(cfg, series->bucket_ms[r]);
        if (!src->labels_[r]) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "analyze: out of memory");
            goto fail;
        }
        src->nlabels_ = r + 1;
    }
    lw_analyze_input_t *in = &src->in;
    in->nrows = nrows;
    in->nseries = cfg->nmetrics;
    in->names = src->names_;
    in->values = series->values;
    in->labels = (const char *const *)src->labels_;
    in->bucket_ms = cfg->buckets.size_ms;
    in->nsm = (size_t)cfg->tree.nsm;
    in->kpi = cfg->tree.kpi;
    in->ninputs = cfg->tree.ninputs;
    in->inputs = src->cols_;
    in->input_kinds = src->kinds_;
    return LW_OK;

fail:
    lw_session_source_release(src);
    return err;
}

/* ---------------------------------------------------------------- sessions */

static lw_err_t session_new(lw_session_t **out, char *errstr, size_t errstr_size)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "session: out of memory");
    return LW_OK;
}

static void rowbuf_release(rowbuf_t *rb, size_t nrows)
{
    if (rb->labels)
        for (size_t r = 0; r < nrows; r++)
            free(rb->labels[rb->off + r]);
    free(rb->bucket);
    free(rb->values);
    free(rb->prov);
    free(rb->gap);
    free(rb->labels);
    memset(rb, 0, sizeof *rb);
}

void lw_session_destroy(lw_session_t *s)
{
    if (!s)
        return;
    lw_analysis_free(s->analysis);
    lw_exp_analysis_release(&s->exp);
    lw_exp_data_free(s->exp_data);
    if (s->have_src)
        lw_session_source_release(&s->src);
    if (s->adopted)
        rowbuf_release(&s->rb, s->series.nrows);
    else if (s->from_store)
        lw_series_release(&s->series);
    else
        lw_series_csv_release(&s->csv);
    free(s);
}

/* Step 3's window: the input becomes a view of its last `window` rows. */
static void keep_last_rows(lw_analyze_input_t *in, size_t window)
{
    in->window = window;
    if (window == 0 || in->nrows <= window)
        return;
    size_t skip = in->nrows - window;
    in->values += skip * in->nseries;
    if (in->labels)
        in->labels += skip;
    in->nrows = window;
}

/* need[m]: the tree's analysis reads metric m (analyze.c's `used` columns, ratio parts). */
static void tree_metrics(const lw_config_t *cfg, bool *need)
{
    memset(need, 0, cfg->nmetrics * sizeof *need);
    need[cfg->tree.nsm] = true;
    if (cfg->tree.kpi >= 0)
        need[cfg->tree.kpi] = true;
    for (size_t i = 0; i < cfg->tree.ninputs; i++)
        need[cfg->tree.inputs[i].metric] = true;
    for (size_t c = 0; c < cfg->analysis.ncontrols; c++)
        for (size_t m = 0; m < cfg->nmetrics; m++)
            if (strcmp(cfg->metrics[m].name, cfg->analysis.controls[c]) == 0)
                need[m] = true;
    /* the parts of needed ratios, to a fixed point (config validation rules out cycles) */
    for (bool more = true; more;) {
        more = false;
        for (size_t m = 0; m < cfg->nmetrics; m++) {
            const lw_metric_def_t *d = &cfg->metrics[m];
            if (!need[m] || d->kind != LW_METRIC_RATIO)
                continue;
            if (!need[d->ratio_num] || !need[d->ratio_den])
                more = true;
            need[d->ratio_num] = need[d->ratio_den] = true;
        }
    }
}

/* lw_series_load, with tree_only as in the file comment. */
static lw_err_t load_series(const lw_config_t *cfg, lw_store_t *store, int64_t from_ms,
                            int64_t to_ms, bool tree_only, lw_series_t *out, char *errstr,
                            size_t errstr_size)
{
    if (!tree_only)
        return lw_series_load(cfg, store, from_ms, to_ms, out, errstr, errstr_size);
    bool need[LW_CONFIG_MAX_METRICS];
    tree_metrics(cfg, need);
    lw_config_t *lite = malloc(sizeof *lite);
    lw_metric_def_t *defs = malloc((cfg->nmetrics ? cfg->nmetrics : 1) * sizeof *defs);
    lw_err_t err;
    if (!lite || !defs) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "session: out of memory");
        goto free_copy;
    }
    *lite = *cfg;
    memcpy(defs, cfg->metrics, cfg->nmetrics * sizeof *defs);
    for (size_t m = 0; m < cfg->nmetrics; m++)
        if (!need[m] && defs[m].kind != LW_METRIC_RATIO) {
            defs[m].kind = LW_METRIC_COUNT; /* presence only */
            defs[m].window_ms = 0;
        }
    lite->metrics = defs;
    err = lw_series_load(lite, store, from_ms, to_ms, out, errstr, errstr_size);
    if (err == LW_OK)
        for (size_t r = 0; r < out->nrows; r++)
            for (size_t m = 0; m < cfg->nmetrics; m++)
                if (!need[m])
                    out->values[r * out->ncols + m] = (double)NAN;
free_copy:
    free(defs);
    free(lite);
    return err;
}

/*
 * Step 1's LAST_ROWS bound: the last `window` final rows at or before as_of are the buckets
 * from (last final bucket - window + 1) on, so the load starts there (with the trailing
 * provisional buckets after it still read, so they are counted as before) instead of at the
 * store's first bucket: an hourly `analyze --window 2160` on a year's store read 8,760 rows
 * (issue 17).  *from_ms stays INT64_MIN when the store is empty or every bucket is
 * provisional (then the whole range is read, as without a window).
 */
static lw_err_t last_rows_from(const lw_config_t *cfg, lw_store_t *store, int64_t to_ms,
                               size_t window, int64_t *from_ms, char *errstr, size_t errstr_size)
{
    const int64_t size = cfg->buckets.size_ms;
    int64_t wm = INT64_MIN, lo, hi;
    lw_err_t e = lw_store_get_int(store, LW_KEY_WATERMARK, &wm, errstr, errstr_size);
    if (e != LW_OK && e != LW_ERR_NOT_FOUND)
        return e;
    e = lw_store_bucket_range(store, &lo, &hi, errstr, errstr_size);
    if (e == LW_ERR_NOT_FOUND)
        return LW_OK;
    if (e != LW_OK)
        return e;
    int64_t b = hi;
    if (to_ms != INT64_MAX && lw_bucket_start(to_ms, size) < b)
        b = lw_bucket_start(to_ms, size);
    while (b >= lo && lw_bucket_is_provisional(b, size, cfg->buckets.grace_ms, wm))
        b -= size; /* series.c's own test, newest first: provisional buckets are a suffix */
    if (b >= lo)
        *from_ms = b - (int64_t)(window - 1) * size;
    return LW_OK;
}

lw_err_t lw_session_from_store(const lw_config_t *cfg, lw_store_t *store,
                               const lw_session_range_t *range, lw_session_t **out, char *errstr,
                               size_t errstr_size)
{
    *out = NULL;
    if (range->window > LW_SERIES_MAX_ROWS)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "window: at most %d buckets",
                         LW_SERIES_MAX_ROWS);
    const int64_t size = cfg->buckets.size_ms;
    int64_t from_ms = INT64_MIN, to_ms = range->as_of_ms;
    if (range->kind == LW_SESSION_PERIODS && range->window > 0) {
        if (to_ms == INT64_MAX) {
            int64_t lo, hi;
            lw_err_t e = lw_store_bucket_range(store, &lo, &hi, errstr, errstr_size);
            if (e == LW_ERR_NOT_FOUND)
                return lw_seterr(errstr, errstr_size, LW_ERR_NOT_FOUND,
                                 "the store holds no buckets");
            if (e != LW_OK)
                return e;
            to_ms = hi;
        } else {
            to_ms = lw_bucket_start(to_ms, size);
        }
        from_ms = to_ms - (int64_t)(range->window - 1) * size;
    } else if (range->kind == LW_SESSION_LAST_ROWS && range->window > 0) {
        lw_err_t e =
            last_rows_from(cfg, store, to_ms, range->window, &from_ms, errstr, errstr_size);
        if (e != LW_OK)
            return e;
    }
    lw_session_t *s;
    lw_err_t err = session_new(&s, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    s->from_store = true;
    err =
        load_series(cfg, store, from_ms, to_ms, range->tree_only, &s->series, errstr, errstr_size);
    if (err != LW_OK)
        goto destroy_session;
    err = lw_session_source_from_series(&s->src, cfg, &s->series, errstr, errstr_size);
    if (err != LW_OK)
        goto destroy_session;
    s->have_src = true;
    keep_last_rows(&s->src.in, range->window);
    s->range = *range;
    s->range.as_of_ms = to_ms;
    *out = s;
    return LW_OK;

destroy_session:
    lw_session_destroy(s);
    return err;
}

/* ---------------------------------------------------------------- advance */

/* Make room for `rows` rows in use: move them to 0, grow when even that is short. */
static bool rowbuf_reserve(rowbuf_t *rb, size_t nrows, size_t ncols, size_t rows)
{
    if (rb->off + rows <= rb->cap)
        return true;
    if (rb->off > 0) {
        memmove(rb->bucket, rb->bucket + rb->off, nrows * sizeof *rb->bucket);
        memmove(rb->values, rb->values + rb->off * ncols, nrows * ncols * sizeof *rb->values);
        memmove(rb->prov, rb->prov + rb->off, nrows * sizeof *rb->prov);
        memmove(rb->gap, rb->gap + rb->off, nrows * sizeof *rb->gap);
        memmove(rb->labels, rb->labels + rb->off, nrows * sizeof *rb->labels);
        rb->off = 0;
    }
    if (rows <= rb->cap)
        return true;
    size_t cap = 2 * rows;
    int64_t *b = realloc(rb->bucket, cap * sizeof *b);
    if (b)
        rb->bucket = b;
    double *v = realloc(rb->values, cap * (ncols ? ncols : 1) * sizeof *v);
    if (v)
        rb->values = v;
    bool *p = realloc(rb->prov, cap * sizeof *p);
    if (p)
        rb->prov = p;
    bool *g = realloc(rb->gap, cap * sizeof *g);
    if (g)
        rb->gap = g;
    char **l = realloc(rb->labels, cap * sizeof *l);
    if (l)
        rb->labels = l;
    if (!b || !v || !p || !g || !l)
        return false;
    rb->cap = cap;
    return true;
}

/* The series and the input as views of the rows in use. */
static void point_views(lw_session_t *s)
{
    lw_series_t *ser = &s->series;
    rowbuf_t *rb = &s->rb;
    ser->bucket_ms = rb->bucket + rb->off;
    ser->values = rb->values + rb->off * ser->ncols;
    ser->provisional = rb->prov + rb->off;
    ser->gap = rb->gap + rb->off;
    s->src.in.values = ser->values;
    s->src.in.labels = (const char *const *)(rb->labels + rb->off);
    s->src.in.nrows = ser->nrows;
}

/*
 * The session's rows move into a rowbuf_t of twice the window (once per
 * session): the series' arrays and the source's labels change owner.
 */
static lw_err_t adopt(lw_session_t *s, char *errstr, size_t errstr_size)
{
    lw_series_t *ser = &s->series;
    const size_t n = ser->nrows, nc = ser->ncols;
    rowbuf_t rb = {0};
    if (!rowbuf_reserve(&rb, 0, nc, (s->range.window > n ? s->range.window : n) + 1)) {
        rowbuf_release(&rb, 0);
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "session: out of memory");
    }
    if (n) {
        memcpy(rb.bucket, ser->bucket_ms, n * sizeof *rb.bucket);
        memcpy(rb.values, ser->values, n * nc * sizeof *rb.values);
        memcpy(rb.prov, ser->provisional, n * sizeof *rb.prov);
        memcpy(rb.gap, ser->gap, n * sizeof *rb.gap);
        memcpy(rb.labels, s->src.labels_, n * sizeof *rb.labels);
    }
    free(s->src.labels_);
    s->src.labels_ = NULL;
    s->src.nlabels_ = 0;
    int64_t wm = ser->watermark_ms;
    lw_series_release(ser);
    ser->ncols = nc;
    ser->nrows = n;
    ser->watermark_ms = wm;
    s->rb = rb;
    s->adopted = true;
    point_views(s);
    return LW_OK;
}

/*
 * Append the buckets after the last row up to as_of (one range read of
 * those buckets only), then drop the rows older than the window.  False
 * (nothing changed) when the session cannot be advanced exactly: the reader
 * then builds a fresh one.
 */
static lw_err_t advance_rows(lw_session_t *s, const lw_config_t *cfg, lw_store_t *store,
                             int64_t to_ms, bool *done, char *errstr, size_t errstr_size)
{
    const int64_t size = cfg->buckets.size_ms;
    lw_series_t *ser = &s->series, add = {0};
    *done = false;
    if (ser->nrows == 0 || s->src.dropped_provisional > 0 || ser->ncols != cfg->nmetrics)
        return LW_OK;
    const int64_t last = ser->bucket_ms[ser->nrows - 1];
    const int64_t from_ms = to_ms - (int64_t)(s->range.window - 1) * size;
    lw_err_t err;
    if (!s->adopted && (err = adopt(s, errstr, errstr_size)) != LW_OK)
        return err;
    err =
        load_series(cfg, store, last + size, to_ms, s->range.tree_only, &add, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    for (size_t r = 0; r < add.nrows; r++)
        if (add.provisional[r])
            goto out; /* a provisional bucket may still change: not advanced */
    /* a window still filling starts at the store's oldest bucket: has that moved back? */
    if (ser->nrows + add.nrows < s->range.window && ser->bucket_ms[0] > from_ms) {
        int64_t lo, hi;
        if ((err = lw_store_bucket_range(store, &lo, &hi, errstr, errstr_size)) != LW_OK)
            goto out;
        if (lo < ser->bucket_ms[0])
            goto out;
    }
    rowbuf_t *rb = &s->rb;
    const size_t nc = ser->ncols;
    if (!rowbuf_reserve(rb, ser->nrows, nc, ser->nrows + add.nrows)) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "session: out of memory");
        goto out;
    }
    for (size_t r = 0; r < add.nrows; r++) {
        const size_t at = rb->off + ser->nrows;
        rb->labels[at] = bucket_label(cfg, add.bucket_ms[r]);
        if (!rb->labels[at]) { /* back to the rows before the call */
            for (size_t k = 0; k < r; k++)
                free(rb->labels[rb->off + --ser->nrows]);
            err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "session: out of memory");
            goto out;
        }
        rb->bucket[at] = add.bucket_ms[r];
        memcpy(rb->values + at * nc, add.values + r * nc, nc * sizeof *rb->values);
        rb->prov[at] = false;
        rb->gap[at] = add.gap[r];
        ser->nrows++;
    }
    while (ser->nrows > 0 && rb->bucket[rb->off] < from_ms) {
        free(rb->labels[rb->off]);
        rb->off++;
        ser->nrows--;
    }
    ser->watermark_ms = add.watermark_ms;
    point_views(s);
    s->range.as_of_ms = to_ms;
    *done = true;
out:
    lw_series_release(&add);
    return err;
}

lw_err_t lw_session_advance(lw_session_t **sp, const lw_config_t *cfg, lw_store_t *store,
                            const lw_session_range_t *range, bool *advanced, char *errstr,
                            size_t errstr_size)
{
    lw_session_t *s = *sp;
    *advanced = false;
    if (s && s->from_store && range->kind == LW_SESSION_PERIODS && range->window > 0 &&
        s->range.kind == range->kind && s->range.window == range->window &&
        s->range.tree_only == range->tree_only && range->as_of_ms != INT64_MAX) {
        const int64_t to_ms = lw_bucket_start(range->as_of_ms, cfg->buckets.size_ms);
        if (to_ms >= s->range.as_of_ms) {
            lw_err_t err = advance_rows(s, cfg, store, to_ms, advanced, errstr, errstr_size);
            if (err != LW_OK || *advanced) {
                if (*advanced) {
                    lw_analysis_free(s->analysis); /* its labels may be gone */
                    s->analysis = NULL;
                }
                return err;
            }
        }
    }
    lw_session_t *fresh = NULL;
    lw_err_t err = lw_session_from_store(cfg, store, range, &fresh, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    lw_session_destroy(s);
    *sp = fresh;
    return LW_OK;
}

/* Rows of the CSV whose period starts at or before as_of (a prefix: rows are oldest first). */
static lw_err_t csv_rows_to(const lw_series_csv_t *csv, int64_t as_of_ms, size_t *nrows,
                            char *errstr, size_t errstr_size)
{
    size_t n = 0;
    for (; n < csv->nrows; n++) {
        int64_t t;
        const char *label = csv->labels[n];
        if (csv->start_ms)
            t = csv->start_ms[n];
        else if (!lw_time_parse_iso8601(label, strlen(label), &t))
            return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                             "--as-of: the period label '%s' is not an ISO 8601 date or time, "
                             "so rows cannot be cut at a date",
                             label);
        if (t > as_of_ms)
            break;
    }
    *nrows = n;
    return LW_OK;
}

lw_err_t lw_session_from_csv(lw_series_csv_t *csv, const char *nsm, const char *kpi,
                             const char *inputs, const lw_session_range_t *range,
                             lw_session_t **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    lw_session_t *s;
    lw_err_t err = session_new(&s, errstr, errstr_size);
    if (err != LW_OK) {
        lw_series_csv_release(csv);
        memset(csv, 0, sizeof *csv);
        return err;
    }
    s->csv = *csv;
    memset(csv, 0, sizeof *csv);
    size_t nrows = s->csv.nrows;
    if (range->as_of_ms != INT64_MAX &&
        (err = csv_rows_to(&s->csv, range->as_of_ms, &nrows, errstr, errstr_size)) != LW_OK)
        goto destroy_session;
    err = lw_session_source_from_csv(&s->src, &s->csv, nsm, kpi, inputs, errstr, errstr_size);
    if (err != LW_OK)
        goto destroy_session;
    s->have_src = true;
    s->src.in.nrows = nrows;
    keep_last_rows(&s->src.in, range->window);
    *out = s;
    return LW_OK;

destroy_session:
    lw_session_destroy(s);
    return err;
}

lw_err_t lw_session_analyze(lw_session_t *s, const lw_analyze_opts_t *opts,
                            const lw_analysis_t **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    lw_analysis_free(s->analysis);
    s->analysis = NULL;
    lw_err_t err = lw_analyze_tree(opts, &s->src.in, &s->analysis, errstr, errstr_size);
    if (err == LW_OK) {
        s->analysis->experiments = s->exp_data ? &s->exp : NULL;
        *out = s->analysis;
    }
    return err;
}

lw_err_t lw_session_load_experiments(lw_session_t *s, const lw_config_t *cfg, lw_store_t *store,
                                     const lw_exp_opts *opts, char *errstr, size_t errstr_size)
{
    if (s->exp_data || !cfg->experiments.sources || cfg->experiments.nsources == 0)
        return LW_OK;
    uint32_t nb =
        cfg->experiments.buckets > 0 ? (uint32_t)cfg->experiments.buckets : LW_EXP_BUCKETS;
    lw_exp_data *d = lw_exp_data_new(nb);
    if (!d)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "experiments: out of memory");
    lw_exp_opts def;
    lw_exp_opts_init(&def);
    lw_exp_roles roles = {.nsm = cfg->metrics[cfg->tree.nsm].name,
                          .kpi = cfg->tree.kpi >= 0 ? cfg->metrics[cfg->tree.kpi].name : NULL,
                          .inputs = s->exp_inputs};
    for (size_t i = 0; i < cfg->tree.ninputs && i < LW_CONFIG_MAX_INPUTS; i++)
        s->exp_inputs[roles.ninputs++] = cfg->metrics[cfg->tree.inputs[i].metric].name;
    lw_err_t err = lw_exp_load(store, cfg, d, errstr, errstr_size);
    if (err == LW_OK && lw_exp_data_nexperiments(d) > 0)
        err = lw_exp_analyze(d, &roles, opts ? opts : &def, &s->exp, errstr, errstr_size);
    if (err != LW_OK || lw_exp_data_nexperiments(d) == 0) {
        lw_exp_analysis_release(&s->exp);
        lw_exp_data_free(d);
        return err;
    }
    s->exp_data = d;
    return LW_OK;
}

const lw_exp_analysis *lw_session_experiments(const lw_session_t *s)
{
    return s->exp_data ? &s->exp : NULL;
}

const lw_analyze_input_t *lw_session_input(const lw_session_t *s)
{
    return &s->src.in;
}

const lw_series_t *lw_session_series(const lw_session_t *s)
{
    return s->from_store ? &s->series : NULL;
}

size_t lw_session_provisional(const lw_session_t *s)
{
    return s->src.dropped_provisional;
}
