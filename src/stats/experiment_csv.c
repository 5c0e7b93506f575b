/*
 * experiment_csv.c - the CSV form of the experiment aggregate table
 * (experiment.h): the header check and one data line into an lw_exp_row.
 * Pure parsing of a line the caller read (the CLI reads the file line by
 * line, so memory does not grow with the file).
 *
 * The format: header experiment,variant,metric,window,bucket,users,num,den;
 * fields separated by commas; a name may be double-quoted ("" inside for a
 * quote, commas allowed inside quotes); window is "short" or "long"; bucket
 * a whole number (strtoul, whole field); users, num, den numbers (strtod,
 * whole field, finite).  A trailing CR is ignored (files written on
 * Windows).  Empty fields and extra fields are errors, named in the message.
 */
#include "leadwatch/stats/experiment.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NFIELDS 8

static const char *const field_names[NFIELDS] = {"experiment", "variant", "metric", "window",
                                                 "bucket",     "users",   "num",    "den"};

bool lw_exp_csv_is_header(const char *line)
{
    static const char h[] = "experiment,variant,metric,window,bucket,users,num,den";
    size_t n = strlen(line);
    if (n && line[n - 1] == '\r')
        n--;
    return n == sizeof h - 1 && memcmp(line, h, n) == 0;
}

/* Split `line` into NFIELDS unquoted fields of at most LW_EXP_MAX_NAME - 1
 * bytes each, into f[i]; false with a message on a malformed line. */
static bool split(const char *line, char f[NFIELDS][LW_EXP_MAX_NAME], char *errstr,
                  size_t errstr_size)
{
    const char *p = line;
    for (int i = 0; i < NFIELDS; i++) {
        size_t n = 0;
        bool quoted = *p == '"';
        if (quoted)
            p++;
        for (;;) {
            char c = *p;
            if (quoted) {
                if (c == '\0') {
                    lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "%s: unterminated quote",
                              field_names[i]);
                    return false;
                }
                if (c == '"') {
                    if (p[1] != '"') {
                        p++;
                        quoted = false;
                        continue;
                    }
                    p++;
                }
            } else if (c == ',' || c == '\0' || (c == '\r' && p[1] == '\0')) {
                break;
            } else if (c == '"') {
                lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "%s: stray quote", field_names[i]);
                return false;
            }
            if (n + 1 >= LW_EXP_MAX_NAME) {
                lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "%s: longer than %d bytes",
                          field_names[i], LW_EXP_MAX_NAME - 1);
                return false;
            }
            f[i][n++] = c;
            p++;
        }
        f[i][n] = '\0';
        if (n == 0) {
            lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "%s: empty", field_names[i]);
            return false;
        }
        if (i + 1 < NFIELDS) {
            if (*p != ',') {
                lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                          "expected 8 fields, the line ends after %s", field_names[i]);
                return false;
            }
            p++;
        }
    }
    if (*p == '\r')
        p++;
    if (*p != '\0') {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "more than 8 fields");
        return false;
    }
    return true;
}

static bool parse_num(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

lw_err_t lw_exp_csv_parse_line(const char *line, lw_exp_row *row, char *errstr, size_t errstr_size)
{
    char f[NFIELDS][LW_EXP_MAX_NAME];
    if (!split(line, f, errstr, errstr_size))
        return LW_ERR_INVALID;
    memcpy(row->experiment, f[0], sizeof row->experiment);
    memcpy(row->variant, f[1], sizeof row->variant);
    memcpy(row->metric, f[2], sizeof row->metric);
    if (strcmp(f[3], "short") == 0)
        row->window = LW_EXP_SHORT;
    else if (strcmp(f[3], "long") == 0)
        row->window = LW_EXP_LONG;
    else
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "window: expected short or long, got '%s'", f[3]);
    long b;
    if (!lw_parse_long(f[4], 0, LW_EXP_MAX_BUCKETS - 1, &b))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "bucket: expected a whole number 0..%d", LW_EXP_MAX_BUCKETS - 1);
    row->bucket = (uint32_t)b;
    double *dst[3] = {&row->users, &row->num, &row->den};
    for (int i = 0; i < 3; i++)
        if (!parse_num(f[5 + i], dst[i]))
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "%s: not a finite number",
                             field_names[5 + i]);
    return LW_OK;
}
