/*
 * breaks_pvalue.h - p-values of the structural-break tests (breaks.h):
 * Hansen's (1997) sup-Wald response surface and the Brownian-motion
 * boundary-crossing probability of the recursive CUSUM.  Pure.
 */
#ifndef LEADWATCH_BREAKS_PVALUE_H
#define LEADWATCH_BREAKS_PVALUE_H

#include "leadwatch/core/common.h"

#define LW_BREAKS_HANSEN_MAX_K 10u   /* restrictions covered by the embedded table */
#define LW_BREAKS_HANSEN40_MAX_K 40u /* ... and by lw_breaks_hansen_p40 (strucchange's range) */

/*
 * Hansen (1997) approximate asymptotic p-value of a sup-Wald statistic
 * `stat` (= k * sup F) for k restrictions at effective trimming tau0 in
 * (0, 0.5].  Returns false (and leaves *p alone) for k outside
 * 1..LW_BREAKS_HANSEN_MAX_K or a non-finite/negative stat.
 */
bool lw_breaks_hansen_p(double stat, size_t k, double tau0, double *p);

/* As lw_breaks_hansen_p for k = 1..LW_BREAKS_HANSEN40_MAX_K (strucchange's full table). */
bool lw_breaks_hansen_p40(double stat, size_t k, double tau0, double *p);

/*
 * Brownian-motion boundary-crossing p-value P(sup_t |W(t)| / (1 + 2t) > x),
 * t in [0, 1] (Brown, Durbin & Evans 1975; the strucchange closed form).
 */
double lw_breaks_bm_crossing_p(double x);

#endif
