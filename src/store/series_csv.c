/*
 * series_csv.c - reader for `analyze --series FILE.csv` (format in series_csv.h).
 *
 * How it works: the whole text is in memory (bounded by LW_SERIES_CSV_MAX_BYTES).
 * A small cursor (struct cur) yields one field at a time into a bounded
 * scratch buffer, unquoting "..." fields, and reports whether the field
 * ended its record.  Pass 1 reads the header and counts data records (so the
 * arrays are allocated once, exactly sized); pass 2 fills labels and values.
 * Numbers go through strtod with errno and end-pointer checks; only finite
 * values are accepted.  Finally the labels are checked for ISO 8601 spacing.
 *
 * Hand-written rather than libcsv: the grammar we accept is a dozen lines,
 * and we need line-numbered errors and our own bounds on every field.
 */
#include "leadwatch/store/series_csv.h"

#include "leadwatch/core/buf.h"
#include "leadwatch/core/timeutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p, *end;
    size_t line; /* 1-based line of the cursor */
    const char *name;
} cur_t;

typedef enum { FIELD_MORE, FIELD_EOR, FIELD_EOF } field_end_t;

/* Read one field into buf (NUL-terminated, *n bytes).  *fe says what followed it. */
static lw_err_t next_field(cur_t *c, char *buf, size_t cap, size_t *n, field_end_t *fe,
                           char *errstr, size_t errstr_size)
{
    size_t len = 0;
    const size_t start_line = c->line;
    if (c->p < c->end && *c->p == '"') {
        c->p++;
        for (;;) {
            if (c->p >= c->end)
                return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                 "%s:%zu: unterminated quoted field", c->name, start_line);
            char ch = *c->p++;
            if (ch == '"') {
                if (c->p < c->end && *c->p == '"') {
                    c->p++;
                } else {
                    break;
                }
            } else if (ch == '\n') {
                c->line++;
            }
            if (len + 1 >= cap)
                return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                                 "%s:%zu: field longer than %zu bytes", c->name, start_line,
                                 cap - 1);
            buf[len++] = ch;
        }
        if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                             "%s:%zu: text after the closing quote of a field", c->name, c->line);
    } else {
        while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r') {
            if (*c->p == '"')
                return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                 "%s:%zu: quote inside an unquoted field", c->name, c->line);
            if (len + 1 >= cap)
                return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                                 "%s:%zu: field longer than %zu bytes", c->name, c->line, cap - 1);
            buf[len++] = *c->p++;
        }
    }
    buf[len] = '\0';
    *n = len;
    if (c->p >= c->end) {
        *fe = FIELD_EOF;
    } else if (*c->p == ',') {
        c->p++;
        *fe = FIELD_MORE;
    } else {
        if (*c->p == '\r') {
            c->p++;
            if (c->p < c->end && *c->p != '\n')
                return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                 "%s:%zu: bare carriage return", c->name, c->line);
        }
        if (c->p < c->end)
            c->p++; /* the '\n' */
        c->line++;
        *fe = FIELD_EOR;
    }
    return LW_OK;
}

/* true when only blank lines (LF / CRLF / spaces) remain. */
static bool only_blank_left(const cur_t *c)
{
    for (const char *q = c->p; q < c->end; q++)
        if (*q != '\n' && *q != '\r' && *q != ' ' && *q != '\t')
            return false;
    return true;
}

static bool all_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t')
            return false;
    return true;
}

/* A finite decimal number with optional surrounding blanks; false otherwise. */
static bool parse_value(const char *s, double *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    /* strtod also accepts "nan", "inf" and hex floats: none is a metric value. */
    if (!(*s == '-' || *s == '+' || *s == '.' || (*s >= '0' && *s <= '9')))
        return false;
    for (const char *q = s; *q; q++)
        if (*q == 'x' || *q == 'X' || *q == 'n' || *q == 'N' || *q == 'i' || *q == 'I')
            return false;
    errno = 0;
    char *endp = NULL;
    double v = strtod(s, &endp);
    if (endp == s || errno == ERANGE || !isfinite(v))
        return false;
    while (*endp == ' ' || *endp == '\t')
        endp++;
    if (*endp != '\0')
        return false;
    *out = v;
    return true;
}

void lw_series_csv_release(lw_series_csv_t *s)
{
    if (!s)
        return;
    free(s->label_header);
    lw_free_strv(s->names, s->ncols);
    lw_free_strv(s->labels, s->nrows);
    free(s->values);
    free(s->start_ms);
    memset(s, 0, sizeof(*s));
}

long lw_series_csv_column(const lw_series_csv_t *s, const char *name)
{
    for (size_t i = 0; i < s->ncols; i++)
        if (strcmp(s->names[i], name) == 0)
            return (long)i;
    return -1;
}

/* Parse labels as ISO 8601; when all parse, require equal spacing. */
static lw_err_t check_spacing(lw_series_csv_t *s, const size_t *row_line, const char *name,
                              char *errstr, size_t errstr_size)
{
    if (s->nrows == 0)
        return LW_OK;
    int64_t *t = malloc(s->nrows * sizeof(int64_t));
    if (!t)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "%s: out of memory", name);
    for (size_t i = 0; i < s->nrows; i++) {
        if (!lw_time_parse_iso8601(s->labels[i], strlen(s->labels[i]), &t[i])) {
            free(t);
            return LW_OK; /* opaque labels */
        }
    }
    if (s->nrows == 1) {
        free(t);
        return LW_OK;
    }
    const int64_t step = t[1] - t[0];
    for (size_t i = 1; i < s->nrows; i++) {
        const int64_t d = t[i] - t[i - 1];
        if (d <= 0 || d != step) {
            lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                      "%s:%zu: period '%s' is %.6g h after the previous one, but the rows "
                      "before are %.6g h apart: rows must be equally spaced and oldest first "
                      "(write a row with empty cells for a missing period)",
                      name, row_line[i], s->labels[i], (double)d / 3600000.0,
                      (double)step / 3600000.0);
            free(t);
            return LW_ERR_INVALID;
        }
    }
    s->bucket_ms = step;
    s->start_ms = t;
    return LW_OK;
}

/* Read one record through buf (cap): its field count in *nf, the last field's length in *n. */
static lw_err_t skip_record(cur_t *c, char *buf, size_t cap, size_t *nf, size_t *n, char *errstr,
                            size_t errstr_size)
{
    field_end_t fe;
    *nf = 0;
    do {
        lw_err_t err = next_field(c, buf, cap, n, &fe, errstr, errstr_size);
        if (err != LW_OK)
            return err;
        ++*nf;
    } while (fe == FIELD_MORE);
    return LW_OK;
}

lw_err_t lw_series_csv_parse(const char *text, size_t len, const char *name, lw_series_csv_t *out,
                             char *errstr, size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    lw_err_t err = LW_OK;
    size_t *row_line = NULL;
    char field[LW_SERIES_CSV_MAX_CELL + 1];
    size_t n;
    field_end_t fe;

    if (len > LW_SERIES_CSV_MAX_BYTES)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "%s: larger than %u bytes", name,
                         LW_SERIES_CSV_MAX_BYTES);
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
        len -= 3;
    }
    cur_t c = {text, text + len, 1, name};
    if (len == 0 || only_blank_left(&c))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "%s:1: empty file (no header)", name);

    /* Pass 1a: header. */
    size_t ncols_total;
    err = skip_record(&c, field, sizeof field, &ncols_total, &n, errstr, errstr_size);
    if (err != LW_OK)
        goto fail;
    if (ncols_total < 2) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                        "%s:1: the header needs a period column and at least one metric column",
                        name);
        goto fail;
    }
    if (ncols_total - 1 > LW_SERIES_CSV_MAX_COLS) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                        "%s:1: %zu metric columns, more than the bound %u", name, ncols_total - 1,
                        LW_SERIES_CSV_MAX_COLS);
        goto fail;
    }
    const cur_t after_header = c;

    /* Pass 1b: count records, check field counts. */
    size_t nrows = 0;
    while (c.p < c.end && !only_blank_left(&c)) {
        const size_t line = c.line;
        size_t nf;
        err = skip_record(&c, field, sizeof field, &nf, &n, errstr, errstr_size);
        if (err != LW_OK)
            goto fail;
        if (nf == 1 && n == 0) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                            "%s:%zu: empty line (a missing period needs its label and empty "
                            "cells)",
                            name, line);
            goto fail;
        }
        if (nf != ncols_total) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                            "%s:%zu: %zu fields, the header has %zu", name, line, nf, ncols_total);
            goto fail;
        }
        if (++nrows > LW_SERIES_CSV_MAX_ROWS) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "%s:%zu: more than %u data rows",
                            name, line, LW_SERIES_CSV_MAX_ROWS);
            goto fail;
        }
    }

    out->ncols = ncols_total - 1;
    out->names = calloc(out->ncols, sizeof(char *));
    out->labels = calloc(nrows ? nrows : 1, sizeof(char *));
    out->values = malloc((nrows ? nrows : 1) * out->ncols * sizeof(double));
    row_line = malloc((nrows ? nrows : 1) * sizeof(size_t));
    if (!out->names || !out->labels || !out->values || !row_line) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "%s: out of memory", name);
        goto fail;
    }

    /* Pass 2a: header names. */
    c = (cur_t){text, text + len, 1, name};
    for (size_t col = 0; col < ncols_total; col++) {
        err = next_field(&c, field, sizeof field, &n, &fe, errstr, errstr_size);
        if (err != LW_OK)
            goto fail;
        if (col > 0 && (n == 0 || all_blank(field))) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                            "%s:1: column %zu has an empty name", name, col + 1);
            goto fail;
        }
        if (n > LW_SERIES_CSV_MAX_NAME) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                            "%s:1: column %zu name longer than %u bytes", name, col + 1,
                            LW_SERIES_CSV_MAX_NAME);
            goto fail;
        }
        char *copy = strdup(field);
        if (!copy) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "%s: out of memory", name);
            goto fail;
        }
        if (col == 0) {
            out->label_header = copy;
        } else {
            bool dup = false;
            for (size_t j = 0; j + 1 < col && !dup; j++)
                dup = strcmp(out->names[j], copy) == 0;
            if (dup) {
                free(copy);
                err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                "%s:1: duplicate column name '%s'", name, field);
                goto fail;
            }
            out->names[col - 1] = copy;
        }
    }
    c = after_header;

    /* Pass 2b: rows. */
    for (size_t r = 0; r < nrows; r++) {
        row_line[r] = c.line;
        for (size_t col = 0; col < ncols_total; col++) {
            err = next_field(&c, field, sizeof field, &n, &fe, errstr, errstr_size);
            if (err != LW_OK)
                goto fail;
            if (col == 0) {
                if (n > LW_SERIES_CSV_MAX_LABEL) {
                    err = lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                                    "%s:%zu: period label longer than %u bytes", name, row_line[r],
                                    LW_SERIES_CSV_MAX_LABEL);
                    goto fail;
                }
                out->labels[r] = strdup(field);
                out->nrows = r + 1; /* labels[0..nrows) are owned from here on */
                if (!out->labels[r]) {
                    err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "%s: out of memory", name);
                    goto fail;
                }
                continue;
            }
            double v = (double)NAN;
            if (!all_blank(field) && !parse_value(field, &v)) {
                err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                                "%s:%zu: column '%s': '%.40s' is not a finite number (leave the "
                                "cell empty for a missing value)",
                                name, row_line[r], out->names[col - 1], field);
                goto fail;
            }
            out->values[r * out->ncols + (col - 1)] = v;
        }
    }
    out->nrows = nrows;

    err = check_spacing(out, row_line, name, errstr, errstr_size);
    if (err != LW_OK)
        goto fail;
    free(row_line);
    return LW_OK;

fail:
    free(row_line);
    lw_series_csv_release(out);
    return err;
}

/* The whole file read into a buffer bounded at LW_SERIES_CSV_MAX_BYTES, then parsed. */
lw_err_t lw_series_csv_load(const char *path, lw_series_csv_t *out, char *errstr,
                            size_t errstr_size)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "rb");
    if (!f)
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: cannot open: %s", path,
                         strerror(errno));
    lw_buf_t text;
    lw_buf_init(&text, LW_SERIES_CSV_MAX_BYTES);
    lw_err_t err = lw_buf_read_stream(&text, f);
    fclose(f);
    if (err == LW_OK)
        err = lw_series_csv_parse(text.data ? text.data : "", text.len, path, out, errstr,
                                  errstr_size);
    else if (err == LW_ERR_TOO_LARGE)
        lw_seterr(errstr, errstr_size, err, "%s: larger than %u bytes", path,
                  LW_SERIES_CSV_MAX_BYTES);
    else
        lw_seterr(errstr, errstr_size, err, "%s: %s", path,
                  err == LW_ERR_IO ? "read error" : "out of memory");
    lw_buf_release(&text);
    return err;
}
