/*
 * export.c - see export.h.  Output goes through stdio; a write error
 * (closed pipe, full disk) is detected with ferror at the end and reported.
 * JSON is written by core/jsonw.h (the program's one escaping rule), a row
 * at a time; numbers keep lw_format_double's shortest round-trip form.
 * Distinct counts (HyperLogLog estimates) are whole numbers in CSV, where
 * people read them as counts; JSON keeps the estimate as computed and gives
 * its relative standard error (distinct_relative_error).
 */
#include "leadwatch/report/export.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/core/hll.h"
#include "leadwatch/core/jsonw.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/store/exp_rows.h"

/* One JSON row (period, flags and every metric); far above a real row. */
#define EXPORT_ROW_MAX (1u << 20)

void lw_format_double(double v, char *buf, size_t buf_size)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, buf_size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* Metric names are [a-z0-9_]+ (config validation), so they need no escaping. */
static void write_csv(const lw_config_t *cfg, const lw_series_t *s, const int *cols, size_t ncols,
                      FILE *out)
{
    char num[40], when[32];
    fputs("period", out);
    for (size_t c = 0; c < ncols; c++)
        fprintf(out, ",%s", cfg->metrics[cols[c]].name);
    fputc('\n', out);
    for (size_t i = 0; i < s->nrows; i++) {
        lw_time_format_iso8601(s->bucket_ms[i], when, sizeof when);
        fputs(when, out);
        for (size_t c = 0; c < ncols; c++) {
            double v = lw_series_at(s, i, (size_t)cols[c]);
            fputc(',', out);
            if (isnan(v))
                continue;
            if (cfg->metrics[cols[c]].kind == LW_METRIC_DISTINCT)
                fprintf(out, "%lld", (long long)llround(v)); /* users, not 2118.43 of them */
            else {
                lw_format_double(v, num, sizeof num);
                fputs(num, out);
            }
        }
        fputc('\n', out);
    }
}

/* A number as lw_format_double spells it (the shortest that reads back). */
static void json_double(lw_jsonw_t *w, double v)
{
    char num[40];
    lw_format_double(v, num, sizeof num);
    lw_jsonw_raw(w, num, strlen(num));
}

/* Through core/jsonw.h, one row at a time: the buffer is written out and
   emptied after every row, so memory does not grow with the series. */
static lw_err_t write_json(const lw_config_t *cfg, const lw_series_t *s, const int *cols,
                           size_t ncols, FILE *out)
{
    char when[32];
    lw_buf_t b;
    lw_jsonw_t w;
    lw_buf_init(&b, EXPORT_ROW_MAX);
    lw_jsonw_init(&w, &b, 0);
    lw_jsonw_object(&w);
    lw_jsonw_key(&w, "bucket_size_ms");
    lw_jsonw_int(&w, cfg->buckets.size_ms);
    lw_jsonw_key(&w, "grace_ms");
    lw_jsonw_int(&w, cfg->buckets.grace_ms);
    lw_jsonw_key(&w, "watermark");
    if (s->watermark_ms == INT64_MIN) {
        lw_jsonw_null(&w);
    } else {
        lw_time_format_iso8601(s->watermark_ms, when, sizeof when);
        lw_jsonw_string(&w, when);
    }
    lw_jsonw_key(&w, "metrics");
    lw_jsonw_array(&w);
    for (size_t c = 0; c < ncols; c++)
        lw_jsonw_string(&w, cfg->metrics[cols[c]].name);
    lw_jsonw_end(&w);
    /* distinct metrics are HyperLogLog estimates: their relative standard error */
    lw_jsonw_key(&w, "distinct_relative_error");
    lw_jsonw_object(&w);
    for (size_t c = 0; c < ncols; c++)
        if (cfg->metrics[cols[c]].kind == LW_METRIC_DISTINCT) {
            lw_jsonw_key(&w, cfg->metrics[cols[c]].name);
            json_double(&w, LW_HLL_REL_ERROR);
        }
    lw_jsonw_end(&w);
    lw_jsonw_key(&w, "rows");
    lw_jsonw_array(&w);
    for (size_t i = 0; i < s->nrows && b.err == LW_OK; i++) {
        lw_time_format_iso8601(s->bucket_ms[i], when, sizeof when);
        lw_jsonw_object(&w);
        lw_jsonw_key(&w, "period");
        lw_jsonw_string(&w, when);
        lw_jsonw_key(&w, "provisional");
        lw_jsonw_bool(&w, s->provisional[i]);
        lw_jsonw_key(&w, "gap");
        lw_jsonw_bool(&w, s->gap[i]);
        for (size_t c = 0; c < ncols; c++) {
            double v = lw_series_at(s, i, (size_t)cols[c]);
            lw_jsonw_key(&w, cfg->metrics[cols[c]].name);
            if (isnan(v))
                lw_jsonw_null(&w);
            else
                json_double(&w, v);
        }
        lw_jsonw_end(&w);
        if (b.err == LW_OK) {
            fwrite(b.data, 1, b.len, out);
            lw_buf_rewind(&b, 0);
        }
    }
    lw_jsonw_end(&w);
    lw_jsonw_end(&w);
    lw_buf_putc(&b, '\n');
    lw_err_t err = lw_jsonw_finish(&w);
    if (err == LW_OK)
        fwrite(b.data, 1, b.len, out);
    lw_buf_release(&b);
    return err;
}

lw_err_t lw_export_write(const lw_config_t *cfg, const lw_series_t *s, const int *cols,
                         size_t ncols, lw_export_format_t format, FILE *out, char *errstr,
                         size_t errstr_size)
{
    if (format == LW_EXPORT_JSON) {
        lw_err_t err = write_json(cfg, s, cols, ncols, out);
        if (err != LW_OK)
            return lw_seterr(errstr, errstr_size, err, "export: a JSON row exceeds %u bytes",
                             EXPORT_ROW_MAX);
    } else {
        write_csv(cfg, s, cols, ncols, out);
    }
    if (fflush(out) != 0 || ferror(out))
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "writing output: %s", strerror(errno));
    return LW_OK;
}

static void csv_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static int exp_row_csv(void *ud, const lw_exp_row *r)
{
    FILE *out = ud;
    char u[32], n[32], d[32];
    lw_format_double(r->users, u, sizeof u);
    lw_format_double(r->num, n, sizeof n);
    lw_format_double(r->den, d, sizeof d);
    csv_field(out, r->experiment);
    fputc(',', out);
    csv_field(out, r->variant);
    fprintf(out, ",%s,%s,%u,%s,%s,%s\n", r->metric, r->window == LW_EXP_LONG ? "long" : "short",
            r->bucket, u, n, d);
    return 0;
}

lw_err_t lw_export_experiments(lw_store_t *store, const lw_config_t *cfg, FILE *out, char *errstr,
                               size_t errstr_size)
{
    fputs("experiment,variant,metric,window,bucket,users,num,den\n", out);
    lw_err_t err = lw_exp_rows(store, cfg, exp_row_csv, out, errstr, errstr_size);
    if (err == LW_OK && (fflush(out) != 0 || ferror(out)))
        err = lw_seterr(errstr, errstr_size, LW_ERR_IO, "write error");
    return err;
}
