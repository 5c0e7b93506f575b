/*
 * multitest.c - Benjamini-Hochberg q-values (see multitest.h for the exact
 * statsmodels definition reproduced).
 *
 * Steps: collect the indices of defined p-values, sort them by p (qsort; ties
 * are harmless because tied p-values end with equal q), compute
 * raw = p / (rank / m) in the same floating-point operations as statsmodels
 * (np.arange(1, m+1) / float(m), then division), take the running minimum
 * from the largest rank down, cap at 1 and scatter back.
 */
#include "leadwatch/stats/multitest.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    double p;
    size_t idx;
} bh_item_t;

static int cmp_item(const void *a, const void *b)
{
    const double pa = ((const bh_item_t *)a)->p, pb = ((const bh_item_t *)b)->p;
    return (pa > pb) - (pa < pb);
}

lw_err_t lw_bh_qvalues(const double *p, const bool *defined, size_t n, double *q, bool *q_defined,
                       size_t *n_defined, char *errstr, size_t errstr_size)
{
    if (n > LW_BH_MAX_TESTS)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                         "bh: %zu p-values exceeds the bound %u", n, LW_BH_MAX_TESTS);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if ((defined && !defined[i]) || isnan(p[i]))
            continue;
        if (!(p[i] >= 0.0 && p[i] <= 1.0))
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                             "bh: p[%zu] = %g is outside [0, 1]", i, p[i]);
        m++;
    }
    bh_item_t *items = NULL;
    if (m > 0) {
        items = malloc(m * sizeof(*items));
        if (!items)
            return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "bh: out of memory");
    }
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        q[i] = 1.0;
        q_defined[i] = false;
        if ((defined && !defined[i]) || isnan(p[i]))
            continue;
        items[j].p = p[i];
        items[j].idx = i;
        j++;
    }
    if (m > 0)
        qsort(items, m, sizeof(*items), cmp_item);
    double running = (double)INFINITY;
    for (size_t r = m; r-- > 0;) {
        const double ecdf = (double)(r + 1) / (double)m;
        const double raw = items[r].p / ecdf;
        if (raw < running)
            running = raw;
        q[items[r].idx] = running > 1.0 ? 1.0 : running;
        q_defined[items[r].idx] = true;
    }
    free(items);
    if (n_defined)
        *n_defined = m;
    return LW_OK;
}
