/*
 * exp_rows.h - the experiment aggregate table (stats/experiment.h's
 * lw_exp_row) read back from the store's cells (exposure.h writes them).
 *
 * For each stored (experiment, variant), each tree metric (inputs, NSM,
 * KPI, in the tree's order, each once), each window (short, long) and each
 * user bucket with exposed users, one row:
 *   users  the variant's exposed users in the bucket;
 *   num    the sum of the users' per-user values in the window (count:
 *          events; sum: the summed value; distinct: users who did it;
 *          mean: the summed value; ratio: the numerator part's sum);
 *   den    count, sum, distinct: users; mean: the number of events that
 *          carried the value; ratio: the denominator part's sum.
 * A bucket where a metric saw nothing gives num 0 (and den users, or 0).
 * Ratio metrics whose parts are themselves ratios are left out (their
 * per-user parts are not sums).  Rows come by experiment, variant (byte
 * order), then metric, window, bucket.
 */
#ifndef LEADWATCH_EXP_ROWS_H
#define LEADWATCH_EXP_ROWS_H

#include "leadwatch/model/config.h"
#include "leadwatch/stats/experiment.h"
#include "leadwatch/store/store.h"

/* Return non-zero to stop; the row is valid during the callback only. */
typedef int (*lw_exp_row_cb)(void *ud, const lw_exp_row *row);

/* Every row (see above); cfg gives the tree and the metric kinds. */
lw_err_t lw_exp_rows(lw_store_t *store, const lw_config_t *cfg, lw_exp_row_cb cb, void *ud,
                     char *errstr, size_t errstr_size);

/* Is `variant` one of the control values of any of cfg's exposure sources? */
bool lw_exp_is_control(const lw_config_t *cfg, const char *variant);

/*
 * Fill `d` with every row (lw_exp_data_add) and name each experiment's
 * control variant (lw_exp_data_set_control: the first, in byte order, of
 * its variants that lw_exp_is_control).  d's bucket count must be
 * cfg->experiments.buckets.  The analysis (`leadwatch experiments`) reads
 * the store through this.
 */
lw_err_t lw_exp_load(lw_store_t *store, const lw_config_t *cfg, lw_exp_data *d, char *errstr,
                     size_t errstr_size);

#endif
