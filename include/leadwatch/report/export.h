/*
 * export.h - write metric series as CSV or JSON (`leadwatch export`).
 *
 * CSV: a header "period,<metric>,..." then one row per bucket; period is the
 * bucket start in ISO 8601 UTC; an undefined value is an empty cell; a
 * distinct count is the estimate rounded to a whole number.
 * JSON: {"bucket_size_ms":N,"watermark":"...","metrics":[...],
 *   "distinct_relative_error":{"<distinct metric>":0.008125,...},"rows":[
 *   {"period":"...","provisional":bool,"gap":bool,"<metric>":number|null,...}]}
 * where a distinct metric's number is the unrounded HyperLogLog estimate.
 * Numbers are printed in the shortest form that reads back to the same double.
 */
#ifndef LEADWATCH_EXPORT_H
#define LEADWATCH_EXPORT_H

#include <stdio.h>

#include "leadwatch/store/series.h"

typedef enum { LW_EXPORT_CSV = 0, LW_EXPORT_JSON } lw_export_format_t;

/* Write columns `cols[0..ncols)` (indices into cfg->metrics) of `s`. */
lw_err_t lw_export_write(const lw_config_t *cfg, const lw_series_t *s, const int *cols,
                         size_t ncols, lw_export_format_t format, FILE *out, char *errstr,
                         size_t errstr_size);

/*
 * The experiment aggregate table (store/exp_rows.h) as CSV, the contract of
 * `leadwatch experiments --aggregates FILE` (stats/experiment.h):
 * experiment,variant,metric,window,bucket,users,num,den; window is short or
 * long; a field with a comma, quote or line break is quoted (RFC 4180).
 */
lw_err_t lw_export_experiments(lw_store_t *store, const lw_config_t *cfg, FILE *out, char *errstr,
                               size_t errstr_size);

/* Shortest "%.*g" of v that strtod reads back exactly; buf >= 32 bytes. */
void lw_format_double(double v, char *buf, size_t buf_size);

#endif
