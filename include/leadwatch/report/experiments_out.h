/*
 * experiments_out.h - the renderings of an lw_exp_analysis (stats/
 * experiment.h, issue 16), shared by `leadwatch experiments`, `leadwatch
 * analyze` (the per-edge "experiments" field) and the report's
 * "Experiments" section, so every surface prints the same numbers the same
 * way.
 *
 *   JSON      the document of `leadwatch experiments --format json` (README
 *             "Experiments": alpha, buckets, roles, options, users_mismatch,
 *             edges[] with points[], experiments[]); every undefined number
 *             is null.  lw_exp_json writes it as a value inside another
 *             document (report.json's "experiments"); lw_exp_json_edge writes
 *             one edge's object without its points (analysis JSON's
 *             edges[].experiments), or null when the analysis has no such edge.
 *   text      the CLI's text and Markdown (lw_exp_write_text), one edge as a
 *             line (lw_exp_write_edge_line: analyze's text and Markdown), and
 *             per edge a Markdown table of its comparisons (the report).
 *
 * The writers only format; FILE writers return LW_ERR_IO when a write
 * fails.
 */
#ifndef LEADWATCH_EXPERIMENTS_OUT_H
#define LEADWATCH_EXPERIMENTS_OUT_H

#include <stdio.h>

#include "leadwatch/core/jsonw.h"
#include "leadwatch/stats/experiment.h"

/* The whole document to out (flushed in chunks: bounded memory however many
 * experiments), with a trailing newline. */
lw_err_t lw_exp_write_json(const lw_exp_analysis *a, FILE *out, char *errstr, size_t errstr_size);
/* The same document as a value written by w, without a trailing newline. */
lw_err_t lw_exp_json(const lw_exp_analysis *a, lw_jsonw_t *w, char *errstr, size_t errstr_size);
/* The edge from -> to (lw_exp_analysis_edge) as an object without "points",
 * or null when a has no such edge. */
void lw_exp_json_edge(lw_jsonw_t *w, const lw_exp_analysis *a, const char *from, const char *to);

/* `leadwatch experiments` text (md false) or Markdown (md true). */
lw_err_t lw_exp_write_text(const lw_exp_analysis *a, bool md, FILE *out, char *errstr,
                           size_t errstr_size);
/* One edge on one line after `prefix` ("verdict: n N, moved K (sensitivity
 * S), agreement A, slope B [LO, HI] (uncorrected U), corr R, score P;
 * REASON"), the verdict in bold when md; "no experiment analysis of this
 * edge" when a has none. */
void lw_exp_write_edge_line(FILE *out, bool md, const char *prefix, const lw_exp_analysis *a,
                            const char *from, const char *to);
/* Markdown: the edge summary table, then per edge a heading and a table of
 * its comparisons (experiment, arm, from effect [CI], to effect [CI]). */
lw_err_t lw_exp_write_md_edges(const lw_exp_analysis *a, FILE *out, char *errstr,
                               size_t errstr_size);

/* The normal quantile of the analysis' intervals, z_{1 - alpha/2}: a
 * comparison's interval is x +- z se_x (as lw_exp_effect's lo, hi). */
double lw_exp_out_z(const lw_exp_analysis *a);

#endif
