/*
 * series_csv.h - the `leadwatch analyze --series FILE.csv` reader: metric
 * series exported from a warehouse, one row per bucket, oldest first.
 *
 * Format (RFC 4180 subset):
 *   - a header row; the first column labels the period, the others name the
 *     metric columns (non-empty, unique, at most LW_SERIES_CSV_MAX_NAME bytes);
 *   - one row per bucket with exactly as many fields as the header;
 *   - fields may be quoted ("a ""b"""), separated by ',', rows end in LF or
 *     CRLF; a UTF-8 byte-order mark is skipped; trailing empty lines are ignored;
 *   - a value cell is a finite decimal number (strtod syntax, surrounding
 *     spaces allowed) or empty / blanks = missing.  "nan", "inf" and any other
 *     text are errors: a missing value is written as an empty cell.
 * Period labels are kept exactly as given.  When every label parses as an
 * ISO 8601 date or time (lw_time_parse_iso8601) the spacing is checked: all
 * consecutive labels must be the same distance apart (an uneven step is an
 * error naming the line, because it would silently break the lag
 * structure), and that distance is reported in bucket_ms.  Otherwise the
 * labels are opaque and bucket_ms is 0: equal spacing is the caller's word.
 *
 * Every error names "name:line: what is wrong" (and the column for a bad
 * cell).  Bounds: file size, columns, rows, label and name lengths below;
 * passing one is LW_ERR_TOO_LARGE.
 */
#ifndef LEADWATCH_SERIES_CSV_H
#define LEADWATCH_SERIES_CSV_H

#include "leadwatch/core/common.h"

#define LW_SERIES_CSV_MAX_BYTES (256u * 1024u * 1024u)
#define LW_SERIES_CSV_MAX_COLS 256u     /* metric columns, label column excluded */
#define LW_SERIES_CSV_MAX_ROWS 1000000u /* data rows */
#define LW_SERIES_CSV_MAX_NAME 128u     /* bytes in a column name */
#define LW_SERIES_CSV_MAX_LABEL 128u    /* bytes in a period label */
#define LW_SERIES_CSV_MAX_CELL 512u     /* bytes in any one field */

typedef struct {
    size_t nrows;
    size_t ncols;       /* metric columns (the label column is not counted) */
    char *label_header; /* name of the first column */
    char **names;       /* [ncols] */
    char **labels;      /* [nrows] period labels, as given */
    double *values;     /* [nrows * ncols] row-major; NAN = missing */
    int64_t bucket_ms;  /* label spacing when all labels are ISO dates/times, else 0 */
    int64_t *start_ms;  /* [nrows] parsed labels when bucket_ms != 0, else NULL */
} lw_series_csv_t;

/*
 * Parse CSV text.  `name` is used in messages.  On success *out owns its
 * arrays (lw_series_csv_release); on error *out is zeroed and errstr holds
 * "name:line: ...".  LW_ERR_INVALID for malformed input, LW_ERR_TOO_LARGE
 * for a bound, LW_ERR_NOMEM.
 */
lw_err_t lw_series_csv_parse(const char *text, size_t len, const char *name, lw_series_csv_t *out,
                             char *errstr, size_t errstr_size);

/* Read a file (at most LW_SERIES_CSV_MAX_BYTES) and parse it; LW_ERR_IO when unreadable. */
lw_err_t lw_series_csv_load(const char *path, lw_series_csv_t *out, char *errstr,
                            size_t errstr_size);

void lw_series_csv_release(lw_series_csv_t *s);

/* Index of the column named `name` (exact match), or -1. */
long lw_series_csv_column(const lw_series_csv_t *s, const char *name);

#endif
