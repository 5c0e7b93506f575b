/*
 * export.c - see export.h.  Output goes through stdio; a write error
 * (closed pipe, full disk) is detected with ferror at the end and reported.
 */
#include "leadwatch/report/export.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/core/timeutil.h"

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
            if (!isnan(v)) {
                lw_format_double(v, num, sizeof num);
                fputs(num, out);
            }
        }
        fputc('\n', out);
    }
}

static void write_json(const lw_config_t *cfg, const lw_series_t *s, const int *cols, size_t ncols,
                       FILE *out)
{
    char num[40], when[32];
    fprintf(out, "{\"bucket_size_ms\":%lld,\"grace_ms\":%lld,\"watermark\":",
            (long long)cfg->buckets.size_ms, (long long)cfg->buckets.grace_ms);
    if (s->watermark_ms == INT64_MIN) {
        fputs("null", out);
    } else {
        lw_time_format_iso8601(s->watermark_ms, when, sizeof when);
        fprintf(out, "\"%s\"", when);
    }
    fputs(",\"metrics\":[", out);
    for (size_t c = 0; c < ncols; c++)
        fprintf(out, "%s\"%s\"", c ? "," : "", cfg->metrics[cols[c]].name);
    fputs("],\"rows\":[", out);
    for (size_t i = 0; i < s->nrows; i++) {
        lw_time_format_iso8601(s->bucket_ms[i], when, sizeof when);
        fprintf(out, "%s\n{\"period\":\"%s\",\"provisional\":%s,\"gap\":%s", i ? "," : "", when,
                s->provisional[i] ? "true" : "false", s->gap[i] ? "true" : "false");
        for (size_t c = 0; c < ncols; c++) {
            double v = lw_series_at(s, i, (size_t)cols[c]);
            if (isnan(v)) {
                fprintf(out, ",\"%s\":null", cfg->metrics[cols[c]].name);
            } else {
                lw_format_double(v, num, sizeof num);
                fprintf(out, ",\"%s\":%s", cfg->metrics[cols[c]].name, num);
            }
        }
        fputc('}', out);
    }
    fputs("\n]}\n", out);
}

lw_err_t lw_export_write(const lw_config_t *cfg, const lw_series_t *s, const int *cols,
                         size_t ncols, lw_export_format_t format, FILE *out, char *errstr,
                         size_t errstr_size)
{
    if (format == LW_EXPORT_JSON)
        write_json(cfg, s, cols, ncols, out);
    else
        write_csv(cfg, s, cols, ncols, out);
    if (fflush(out) != 0 || ferror(out))
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "writing output: %s", strerror(errno));
    return LW_OK;
}
