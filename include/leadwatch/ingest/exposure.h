/*
 * exposure.h - experiment assignments and per-experiment aggregates from
 * the event stream (issue 16), the ingest side of stats/experiment.h.
 *
 * The pipeline owns one when the config has an `experiments:` section
 * (none otherwise: the per-event hook is then a NULL test).  Every decoded
 * event that is counted (accepted or late, not rejected, not a duplicate)
 * goes through lw_exposures_add():
 *   1. exposures: for each exposure source whose `where` matches, the
 *      (experiment, variant) it names; a user's FIRST exposure to an
 *      experiment fixes its variant and exposure time (an assignment);
 *      a later exposure to another variant is counted (conflicts), not used;
 *      past experiments.max_users assignments a new one is counted (dropped).
 *   2. aggregates: for every assignment of the event's user with
 *      exposure <= event time < exposure + window, and every tree metric
 *      (inputs, NSM, KPI, and the parts of ratio metrics) the event matches,
 *      the user's contribution goes into the delta cell (experiment,
 *      variant, metric, window, user bucket).  Both windows are kept for
 *      every metric (the analysis reads short for inputs, long for NSM/KPI).
 *      count: 1 per event; sum/mean: the value (mean also counts the event
 *      in den); distinct: 1 the first time the user matches in that window
 *      (a per-assignment bitset).  The user bucket is XXH3(user id) mod
 *      experiments.buckets.
 * Events before a user's exposure do not count for it, also when they
 * arrive after it (event time, not arrival order, decides).  An event that
 * arrives before its user's exposure event is not counted (the assignment
 * does not exist yet): exposures should precede the events they cover in
 * the stream, which is how SDKs emit them.
 *
 * Exactly-once: lw_exposures_write() writes the new and changed assignments,
 * the delta cells and the counters inside the pipeline's flush transaction,
 * and lw_exposures_committed() clears them once it committed; on restart
 * lw_exposures_load() reads every assignment back, so re-reading from the
 * stored positions counts nothing twice.
 */
#ifndef LEADWATCH_EXPOSURE_H
#define LEADWATCH_EXPOSURE_H

#include "leadwatch/core/common.h"
#include "leadwatch/model/config.h"
#include "leadwatch/model/event.h"
#include "leadwatch/model/metric.h"
#include "leadwatch/store/store.h"

#define LW_EXPOSURE_MAX_VARIANTS 4096 /* (experiment, variant) pairs kept; more are dropped */
#define LW_EXPOSURE_MAX_NAME 128      /* bytes of an experiment or variant name, incl. NUL */

typedef struct lw_exposures lw_exposures_t;

typedef struct {
    int64_t assignments; /* held in memory (== in the store after a flush) */
    int64_t assigned;    /* new assignments since creation */
    int64_t conflicts;   /* exposures of an assigned user to another variant */
    int64_t dropped;     /* exposures not assigned: max_users or variants reached, bad names */
    size_t variants;     /* (experiment, variant) pairs */
} lw_exposures_stats_t;

/*
 * Compile cfg->experiments (cfg must have it configured) against the
 * decoder (registers the exposure paths) and the aggregator (metric
 * matching).  All three are borrowed.  NULL with errstr on failure.
 */
lw_exposures_t *lw_exposures_new(const lw_config_t *cfg, lw_decoder_t *dec, const lw_agg_t *agg,
                                 char *errstr, size_t errstr_size);
void lw_exposures_destroy(lw_exposures_t *x);

/* Read every stored assignment (at start, before the first event). */
lw_err_t lw_exposures_load(lw_exposures_t *x, lw_store_t *store, char *errstr, size_t errstr_size);

/* One counted event (see the header comment). */
void lw_exposures_add(lw_exposures_t *x, const lw_event_t *ev);

/* Write what changed since the last commit; inside the caller's transaction. */
lw_err_t lw_exposures_write(lw_exposures_t *x, lw_store_t *store, char *errstr, size_t errstr_size);
/* The transaction of the last write committed: clear the deltas. */
void lw_exposures_committed(lw_exposures_t *x);

void lw_exposures_stats(const lw_exposures_t *x, lw_exposures_stats_t *out);

#endif
