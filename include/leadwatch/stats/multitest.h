/*
 * multitest.h - Benjamini-Hochberg false-discovery-rate q-values.  Pure.
 *
 * Matches statsmodels.stats.multitest.multipletests(p, method='fdr_bh')[1]
 * (fdrcorrection, method='indep') bit for bit: with the m defined p-values
 * sorted ascending, p_(1) <= ... <= p_(m),
 *   raw_(i) = p_(i) / (i / m)        (i/m computed as a double first, as numpy does)
 *   q_(i)   = min_{j >= i} raw_(j)   (monotone step-down from the largest p)
 *   q_(i)   = min(q_(i), 1)
 * Benjamini & Hochberg (1995), JRSS B 57(1), 289-300.  Tied p-values get equal
 * q, so the order among ties does not matter.
 *
 * Undefined p-values: an entry is undefined when defined[i] is false (if a
 * defined[] array is given) or p[i] is NaN.  Undefined entries are left out
 * of the family (m counts only defined ones) and come back with
 * q_defined[i] = false and q[i] = 1.0 - a placeholder that never rejects; the
 * output never contains NaN.  Reporters must print them as null.
 */
#ifndef LEADWATCH_MULTITEST_H
#define LEADWATCH_MULTITEST_H

#include "leadwatch/core/common.h"

#define LW_BH_MAX_TESTS 1000000u

/*
 * q-values for p[0..n).  defined may be NULL (then only NaN marks undefined).
 * A defined p outside [0, 1] or infinite is LW_ERR_INVALID; n above
 * LW_BH_MAX_TESTS is LW_ERR_TOO_LARGE.  On error q and q_defined are
 * untouched.  *n_defined (may be NULL) receives m.  Allocates an index array
 * internally.
 */
lw_err_t lw_bh_qvalues(const double *p, const bool *defined, size_t n, double *q, bool *q_defined,
                       size_t *n_defined, char *errstr, size_t errstr_size);

#endif
