/*
 * series.h - metric series read back from the store: one row per bucket,
 * one column per metric, in config order.  Used by `export`, and by the
 * statistics and the report, so every reader sees the same numbers.
 *
 * Values:
 *   count / sum / distinct : the stored aggregate; 0 when the bucket has
 *                            events but none matched the metric
 *   mean                   : sum / count, undefined when count is 0
 *   distinct with window   : estimate of the union of the sketches of the
 *                            buckets (t - window, t]
 *   ratio                  : numerator / denominator, undefined when the
 *                            denominator is 0 or a part is undefined
 * A bucket in which no metric has any data is a *gap*: every value is
 * undefined (the pipeline saw nothing, which is not the same as zero).
 * Undefined values are NAN in `values`; writers print them as empty / null.
 */
#ifndef LEADWATCH_SERIES_H
#define LEADWATCH_SERIES_H

#include "leadwatch/model/config.h"
#include "leadwatch/store/store.h"

/* LW_SERIES_MAX_ROWS, the bound on rows in one series read, is in model/config.h. */

typedef struct {
    size_t nrows;
    size_t ncols;       /* == cfg->nmetrics */
    int64_t *bucket_ms; /* [nrows] bucket starts, oldest first, evenly spaced */
    double *values;     /* [nrows * ncols], row-major; NAN = undefined */
    bool *provisional;  /* [nrows] the bucket can still change */
    bool *gap;          /* [nrows] no data at all in this bucket */
    int64_t watermark_ms;
} lw_series_t;

/*
 * Read every metric's series for buckets with from_ms <= start <= to_ms
 * (INT64_MIN / INT64_MAX for open ends), clipped to the buckets the store
 * holds.  An empty store gives nrows == 0.  Free with lw_series_release.
 */
lw_err_t lw_series_load(const lw_config_t *cfg, lw_store_t *store, int64_t from_ms, int64_t to_ms,
                        lw_series_t *out, char *errstr, size_t errstr_size);
void lw_series_release(lw_series_t *s);

static inline double lw_series_at(const lw_series_t *s, size_t row, size_t col)
{
    return s->values[row * s->ncols + col];
}

#endif
