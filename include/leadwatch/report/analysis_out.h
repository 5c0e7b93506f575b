/*
 * analysis_out.h - the three renderings of an lw_analysis_t (analyze.h):
 *
 *   JSON      the stable machine contract (schema "leadwatch.analysis/1"):
 *             a top-level object with `edges`, each edge with from, to, role,
 *             kind, verdict, reasons, lag, granger[], granger_reverse[],
 *             lagged_regression, ccf, stability (break_period when a break
 *             is found), oos, sensitivity, q, and "experiments" when the
 *             store had experiment aggregates (issue 16: the edge's verdict
 *             from the team's A/B tests; absent otherwise) - plus the options, the
 *             transform and seasonal handling of each series and every
 *             degree of freedom, so each number can be reproduced from the
 *             JSON alone.  Every undefined number is null, never NaN/Inf;
 *             numbers are printed with 17 significant digits (round-trip).
 *             Strings are escaped; invalid UTF-8 becomes U+FFFD.
 *   text      a table a person can act on, then each edge's reasons.
 *   Markdown  the same table and reasons, for pasting into a document.
 *
 * The writers only format: they take an open FILE* (the caller owns it) and
 * return LW_ERR_IO when a write fails.
 */
#ifndef LEADWATCH_ANALYSIS_OUT_H
#define LEADWATCH_ANALYSIS_OUT_H

#include <stdio.h>

#include "leadwatch/stats/analyze.h"
#include "leadwatch/core/jsonw.h"

typedef enum { LW_ANALYSIS_TEXT = 0, LW_ANALYSIS_JSON, LW_ANALYSIS_MD } lw_analysis_format_t;

/* "text", "json", "md" -> format; false on anything else. */
bool lw_analysis_format_parse(const char *s, lw_analysis_format_t *out);

lw_err_t lw_analysis_write_json(const lw_analysis_t *a, FILE *out, char *errstr,
                                size_t errstr_size);
/*
 * The same document as a value written by w (which may be inside another
 * document: report.json embeds it), without a trailing newline.  Errors are the
 * writer's (the buffer's bound, or misuse) with errstr set.
 */
lw_err_t lw_analysis_json(const lw_analysis_t *a, lw_jsonw_t *w, char *errstr, size_t errstr_size);
lw_err_t lw_analysis_write_text(const lw_analysis_t *a, FILE *out, char *errstr,
                                size_t errstr_size);
lw_err_t lw_analysis_write_md(const lw_analysis_t *a, FILE *out, char *errstr, size_t errstr_size);

/* Dispatch on `fmt`. */
lw_err_t lw_analysis_write(const lw_analysis_t *a, lw_analysis_format_t fmt, FILE *out,
                           char *errstr, size_t errstr_size);

#endif
