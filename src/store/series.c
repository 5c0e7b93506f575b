/*
 * series.c - see series.h.
 *
 * Steps: find the bucket range (store min/max clipped to from/to), then for
 * each non-ratio metric read its cells once (one indexed range query) into
 * per-row count/sum/sketch-estimate arrays, mark the rows that have any
 * cell, and compute values; ratios are computed last from their parts'
 * values, resolving ratio-of-ratio chains in dependency order (config
 * validation rules out cycles).  A windowed distinct metric keeps a ring of
 * the last window/size sketches and unions them per row.
 */
#include "leadwatch/store/series.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/model/metric.h"
#include "leadwatch/core/timeutil.h"

typedef struct {
    const lw_series_t *s;
    int64_t size_ms;
    int64_t *count;
    double *sum;
    double *distinct;
    bool *present;
    bool is_distinct;
    /* windowed distinct */
    size_t wlen;     /* window in buckets (>= 1) */
    lw_hll_t **ring; /* wlen sketches, ring[k % wlen] = bucket k's sketch */
    int64_t ring_first_bucket;
    lw_hll_t *acc;
    lw_cb_err_t e; /* the callback's failure */
} reader_t;

static int on_cell(void *ud, const lw_cell_t *c)
{
    reader_t *r = ud;
    const lw_series_t *s = r->s;
    int64_t first = s->bucket_ms[0];
    if (r->wlen > 1) {
        /* stash the sketch into the ring by absolute bucket index */
        int64_t k = (c->bucket_ms - r->ring_first_bucket) / r->size_ms;
        if (k < 0)
            return 0;
        lw_hll_t *h = r->ring[(size_t)k % r->wlen];
        if (c->hll) {
            lw_err_t e = lw_hll_deserialize(h, c->hll, c->hll_len, r->e.errstr, r->e.errstr_size);
            if (e != LW_OK) {
                r->e.err = e;
                return 1;
            }
        } else {
            lw_hll_clear(h);
        }
    }
    if (c->bucket_ms < first)
        return 0;
    size_t row = (size_t)((c->bucket_ms - first) / r->size_ms);
    if (row >= s->nrows)
        return 0;
    r->present[row] = true;
    r->count[row] = c->count;
    r->sum[row] = c->sum;
    if (r->is_distinct && r->wlen <= 1 && c->hll) {
        lw_err_t e = lw_hll_estimate_serialized(c->hll, c->hll_len, &r->distinct[row], r->e.errstr,
                                                r->e.errstr_size);
        if (e != LW_OK) {
            r->e.err = e;
            return 1;
        }
    }
    return 0;
}

lw_err_t lw_series_load(const lw_config_t *cfg, lw_store_t *store, int64_t from_ms, int64_t to_ms,
                        lw_series_t *out, char *errstr, size_t errstr_size)
{
    memset(out, 0, sizeof *out);
    out->ncols = cfg->nmetrics;
    out->watermark_ms = INT64_MIN;
    int64_t size = cfg->buckets.size_ms;
    lw_err_t err =
        lw_store_get_int(store, LW_KEY_WATERMARK, &out->watermark_ms, errstr, errstr_size);
    if (err != LW_OK && err != LW_ERR_NOT_FOUND)
        return err;

    int64_t lo, hi;
    err = lw_store_bucket_range(store, &lo, &hi, errstr, errstr_size);
    if (err == LW_ERR_NOT_FOUND)
        return LW_OK;
    if (err != LW_OK)
        return err;
    if (from_ms != INT64_MIN) {
        int64_t f = lw_bucket_start(from_ms, size);
        if (f < from_ms)
            f += size; /* the first bucket that starts at or after from */
        if (f > lo)
            lo = f;
    }
    if (to_ms != INT64_MAX) {
        int64_t t = lw_bucket_start(to_ms, size);
        if (t < hi)
            hi = t;
    }
    if (hi < lo)
        return LW_OK;
    int64_t rows = (hi - lo) / size + 1;
    if (rows > LW_SERIES_MAX_ROWS)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                         "%lld buckets requested; narrow --from/--to (limit %d)", (long long)rows,
                         LW_SERIES_MAX_ROWS);
    size_t n = (size_t)rows, nc = cfg->nmetrics;

    reader_t r = {.s = out, .size_ms = size, .e = {LW_OK, errstr, errstr_size}};
    out->nrows = n;
    out->bucket_ms = malloc(n * sizeof *out->bucket_ms);
    out->values = malloc(n * (nc ? nc : 1) * sizeof *out->values);
    out->provisional = calloc(n, sizeof *out->provisional);
    out->gap = malloc(n * sizeof *out->gap);
    r.count = malloc(n * sizeof *r.count);
    r.sum = malloc(n * sizeof *r.sum);
    r.distinct = malloc(n * sizeof *r.distinct);
    r.present = malloc(n * sizeof *r.present);
    bool *any = calloc(n, sizeof *any);
    bool *done = calloc(nc ? nc : 1, sizeof *done);
    r.acc = lw_hll_new();
    if (!out->bucket_ms || !out->values || !out->provisional || !out->gap || !r.count || !r.sum ||
        !r.distinct || !r.present || !any || !done || !r.acc) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        out->bucket_ms[i] = lo + (int64_t)i * size;
        out->provisional[i] = lw_bucket_is_provisional(out->bucket_ms[i], size,
                                                       cfg->buckets.grace_ms, out->watermark_ms);
    }

    for (size_t m = 0; m < nc; m++) {
        const lw_metric_def_t *def = &cfg->metrics[m];
        if (def->kind == LW_METRIC_RATIO)
            continue;
        memset(r.present, 0, n * sizeof *r.present);
        memset(r.count, 0, n * sizeof *r.count);
        memset(r.sum, 0, n * sizeof *r.sum);
        memset(r.distinct, 0, n * sizeof *r.distinct);
        r.is_distinct = def->kind == LW_METRIC_DISTINCT;
        r.wlen = r.is_distinct && def->window_ms > size ? (size_t)(def->window_ms / size) : 1;
        r.ring = NULL;
        int64_t read_from = lo;
        if (r.wlen > 1) {
            r.ring = calloc(r.wlen, sizeof *r.ring);
            if (!r.ring) {
                err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
                goto out;
            }
            for (size_t k = 0; k < r.wlen; k++) {
                r.ring[k] = lw_hll_new();
                if (!r.ring[k]) {
                    err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
                    goto out_ring;
                }
            }
            read_from = lo - (int64_t)(r.wlen - 1) * size;
            r.ring_first_bucket = read_from;
        }
        r.e.err = LW_OK;
        if (r.wlen > 1) {
            /* walk bucket by bucket so the ring holds exactly the window */
            for (int64_t b = read_from; b <= hi && err == LW_OK; b += size) {
                size_t slot = (size_t)((b - read_from) / size) % r.wlen;
                lw_hll_clear(r.ring[slot]);
                err = lw_store_read_cells(store, def->name, b, b + size, on_cell, &r, errstr,
                                          errstr_size);
                err = lw_cb_status(err, &r.e);
                if (err == LW_OK && b >= lo) {
                    size_t row = (size_t)((b - lo) / size);
                    lw_hll_clear(r.acc);
                    for (size_t k = 0; k < r.wlen; k++)
                        lw_hll_merge(r.acc, r.ring[k]);
                    r.distinct[row] = lw_hll_estimate(r.acc);
                }
            }
        } else {
            err = lw_store_read_cells(store, def->name, lo, hi + size, on_cell, &r, errstr,
                                      errstr_size);
            err = lw_cb_status(err, &r.e);
        }
    out_ring:
        if (r.ring) {
            for (size_t k = 0; k < r.wlen; k++)
                lw_hll_destroy(r.ring[k]);
            free(r.ring);
            r.ring = NULL;
        }
        if (err != LW_OK)
            goto out;
        for (size_t i = 0; i < n; i++) {
            lw_cell_value_t cv = {.present = r.present[i],
                                  .count = r.count[i],
                                  .sum = r.sum[i],
                                  .distinct = r.distinct[i]};
            double v;
            any[i] = any[i] || r.present[i];
            out->values[i * nc + m] = lw_metric_value(def, &cv, &v) ? v : (double)NAN;
        }
        done[m] = true;
    }

    /* ratios, in dependency order (at most nc passes; config forbids cycles) */
    for (size_t pass = 0; pass < nc; pass++) {
        bool progress = false;
        for (size_t m = 0; m < nc; m++) {
            const lw_metric_def_t *def = &cfg->metrics[m];
            if (done[m] || def->kind != LW_METRIC_RATIO)
                continue;
            size_t a = (size_t)def->ratio_num, b = (size_t)def->ratio_den;
            if (!done[a] || !done[b])
                continue;
            for (size_t i = 0; i < n; i++) {
                double x = out->values[i * nc + a], y = out->values[i * nc + b], v;
                out->values[i * nc + m] =
                    lw_ratio_value(!isnan(x), x, !isnan(y), y, &v) ? v : (double)NAN;
            }
            done[m] = progress = true;
        }
        if (!progress)
            break;
    }
    for (size_t i = 0; i < n; i++) {
        out->gap[i] = !any[i];
        if (out->gap[i])
            for (size_t m = 0; m < nc; m++)
                out->values[i * nc + m] = (double)NAN;
    }

out:
    free(r.count);
    free(r.sum);
    free(r.distinct);
    free(r.present);
    free(any);
    free(done);
    lw_hll_destroy(r.acc);
    if (err != LW_OK)
        lw_series_release(out);
    return err;
}

void lw_series_release(lw_series_t *s)
{
    free(s->bucket_ms);
    free(s->values);
    free(s->provisional);
    free(s->gap);
    memset(s, 0, sizeof *s);
}
