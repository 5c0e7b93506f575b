/*
 * experiment.h - effects of past A/B tests from bucketed sums, and how well
 * each input's experiment effects predict the NSM's (issue 16).  Pure: no I/O,
 * no clock; the store and the ingest path fill an lw_exp_data, the CLI and the
 * report read the results.
 *
 * The data model.  Every exposed user is hashed (the user key's xxh3 modulo
 * nb) into one of nb "user buckets" (default LW_EXP_BUCKETS = 64).  For one
 * experiment x variant x metric x window ("short": the inputs, default 14
 * days after exposure; "long": the NSM and the KPI, default 56 days) the store
 * keeps, per user bucket b:
 *   users[b]  exposed users of that variant hashed to b (the same for every
 *             metric and window of the variant);
 *   num[b]    the sum over those users of the metric's per-user value inside
 *             the window (count: events; sum: the summed field; distinct:
 *             1 if the user did it at least once; ratio: the numerator's sum);
 *   den[b]    ratio metrics: the denominator's sum; every other kind: users[b].
 * A variant's metric value is the ratio estimator  m = sum(num) / sum(den);
 * its variance comes from the between-bucket spread (the buckets are iid
 * because the hash is independent of the assignment), by the delta method:
 *   var(m) = B / (B - 1) * sum_b (num_b - m den_b)^2 / (sum_b den_b)^2.
 * Sums add across files, restarts and store backends; no per-user values are
 * kept.
 *
 * Per experiment (lw_exp_effect): the relative effect t/c - 1 of a treatment
 * variant against control with a delta-method interval, and the sample ratio
 * mismatch chi-square (lw_exp_srm) over the variants' exposure counts.
 *
 * Across experiments, per input (lw_exp_meta): sensitivity (share of
 * experiments whose short-window input effect is significant), agreement of
 * direction with the NSM's long-window effect, the slope and correlation of
 * NSM effect on input effect corrected for the estimation noise in both, a
 * proxy score, and the verdict  confirms | contradicts | not_enough.
 */
#ifndef LEADWATCH_EXPERIMENT_H
#define LEADWATCH_EXPERIMENT_H

#include <stddef.h>
#include <stdint.h>

#include "leadwatch/core/common.h"

#define LW_EXP_BUCKETS 64
#define LW_EXP_MAX_BUCKETS 1024
#define LW_EXP_MAX_NAME 128

typedef enum lw_exp_window {
    LW_EXP_SHORT = 0, /* inputs: default 14 days after a user's first exposure */
    LW_EXP_LONG = 1   /* NSM and KPI: default 56 days */
} lw_exp_window;

/* One row of the aggregate table: experiment x variant x metric x window x
 * user bucket.  This is also the CSV contract of `leadwatch experiments
 * --aggregates FILE` (header: experiment,variant,metric,window,bucket,users,num,den;
 * window is "short" or "long"). */
typedef struct lw_exp_row {
    char experiment[LW_EXP_MAX_NAME];
    char variant[LW_EXP_MAX_NAME];
    char metric[LW_EXP_MAX_NAME];
    lw_exp_window window;
    uint32_t bucket; /* 0 .. nb-1 */
    double users;
    double num;
    double den;
} lw_exp_row;

/* The aggregate table the analysis reads: a growable array of rows plus,
 * per experiment, which variant is control and the time span of exposures.
 * Filled by lw_exp_data_add() (CSV reader, store); rows with the same key
 * add up. */
typedef struct lw_exp_data lw_exp_data;

lw_exp_data *lw_exp_data_new(uint32_t nb);
void lw_exp_data_free(lw_exp_data *d);
lw_err_t lw_exp_data_add(lw_exp_data *d, const lw_exp_row *row, char *errstr, size_t errstr_size);
/* Names the control variant of an experiment (default: a variant named
 * "control", else the first variant seen). */
lw_err_t lw_exp_data_set_control(lw_exp_data *d, const char *experiment, const char *variant,
                                 char *errstr, size_t errstr_size);

#endif
