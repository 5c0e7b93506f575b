/*
 * analyze_gates.c - the gates of the per-edge analysis at the chosen lag
 * (analyze_work.h; split from analyze.c, issue 12): the stability
 * sub-windows and their geometry, the rolling-origin forecasts with
 * Clark-West (the HC sup-Wald break stays in analyze.c: it fills the edge).
 *
 * How it works: each gate builds its all-row design with analyze_fit.c's
 * helpers and runs the verified modules (forecast.h, breaks.h); the comment
 * of each gate says what it checks.  analyze.c's header gives the sources.
 */
#include "leadwatch/stats/analyze_work.h"

#include "leadwatch/stats/analyze.h"

#include "leadwatch/stats/ols.h"

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lw_analyze_stab_geometry(const lw_analyze_work_t *w, size_t span, size_t p, size_t *W,
                              size_t *step)
{
    *W = w->o->window;
    if (*W == 0) {
        *W = span / 4;
        if (*W < 5 * p + 20)
            *W = 5 * p + 20;
        /* a short sample (a 90-day window at lag 6) would fit fewer than the 3
         * windows the check needs: shrink them to span / 2 (3 windows at step
         * W / 2), never below the 3 p + 2 rows one lag-p test needs */
        if (*W > span / 2)
            *W = span / 2 > 3 * p + 2 ? span / 2 : 3 * p + 2;
    }
    *step = *W / 2 ? *W / 2 : 1;
}

/*
 * Step 5 (rolling part), either direction: the chosen-lag test on sub-windows
 * of W rows every W/2 rows over the rows [first, last]; a window's lags stay inside
 * it.  Stable = at least 3 windows fitted and a share >= stable_min_sign
 * whose summed x-lag coefficients do not significantly contradict the
 * full-sample sign (step 5 in the header).
 */
bool lw_analyze_stability_dir(lw_analyze_work_t *w, const double *y, const double *x, size_t p,
                              double full_sum, size_t first, size_t last, size_t *nwin,
                              size_t *nsig, size_t *nsame, char *why)
{
    const size_t span = last + 1 - first;
    size_t W, step;
    lw_analyze_stab_geometry(w, span, p, &W, &step);
    *nwin = *nsig = *nsame = 0;
    if (span < W + 2 * step) {
        lw_analyze_note(why, "%zu rows give fewer than 3 windows of %zu (step %zu); need %zu", span,
                        W, step, W + 2 * step);
        return false;
    }
    for (size_t s = first; s + W <= last + 1; s += step) {
        lw_granger_lag_t rec;
        double sum;
        double t_sum;
        if (!lw_analyze_pair_test(w, y, x, p, s + p, s + W, &rec, &sum, &t_sum))
            continue;
        (*nwin)++;
        if (rec.f_p < w->o->alpha)
            (*nsig)++;
        /* against the full-sample sign only when significantly so (one-sided t
         * test of the window's sum at alpha); an insignificant sum says nothing
         * about the sign, and its sign is a coin flip when p is large */
        const double tcrit = gsl_cdf_tdist_Qinv(w->o->alpha, rec.df_denom);
        if ((sum > 0.0) == (full_sum > 0.0) || !(fabs(t_sum) > tcrit))
            (*nsame)++;
    }
    if (*nwin < 3) {
        lw_analyze_note(why, "only %zu sub-windows of %zu could be fitted; need 3", *nwin, W);
        return false;
    }
    return true;
}

/*
 * Step 6, either direction: forecast.h's rolling-origin comparison on the
 * all-row design at lag min(p, LW_FORECAST_MAX_LAGS) (controls in both
 * models): expanding-window one-step forecasts by lw_breaks_recursive, the
 * first window half the rows (at least k + LW_FORECAST_MIN_DF), Clark-West.
 * f->first_forecast is relative to `first` (the edge's first row, as the
 * writers expect).  Both gates return false (why says why) when skipped.
 */
bool lw_analyze_oos_dir(lw_analyze_work_t *w, const double *y, const double *x, size_t p,
                        size_t first, lw_forecast_t *f, char *why)
{
    memset(f, 0, sizeof(*f));
    const size_t L = p < LW_FORECAST_MAX_LAGS ? p : LW_FORECAST_MAX_LAGS;
    const size_t m = lw_analyze_valid_rows(w, y, x, L, 0, w->n, w->rows);
    const size_t ka = lw_analyze_design_k(w, L, false), kb = lw_analyze_design_k(w, L, true);
    size_t R = (m + 1) / 2;
    if (R < kb + LW_FORECAST_MIN_DF)
        R = kb + LW_FORECAST_MIN_DF;
    if (R + LW_FORECAST_MIN_OOS > m) {
        lw_analyze_note(why,
                        "%zu usable rows are too few for a %zu-row first window and %u forecasts",
                        m, R, LW_FORECAST_MIN_OOS);
        return false;
    }
    char err[LW_ANALYZE_NOTE_SIZE];
    lw_analyze_fill_design(w, y, x, L, w->rows, m, false, w->X2, w->yv);
    lw_analyze_fill_design(w, y, x, L, w->rows, m, true, w->X, w->yv);
    if (lw_breaks_recursive(w->yv, w->X2, m, ka, R, w->pa, NULL, err, sizeof err) != LW_OK ||
        lw_breaks_recursive(w->yv, w->X, m, kb, R, w->pb, NULL, err, sizeof err) != LW_OK) {
        lw_analyze_note(why, "%s", err);
        return false;
    }
    lw_forecast_sums_t s;
    lw_forecast_sums(w->yv, w->pa, w->pb, R, m, &s);
    if (!(s.ssa > 0.0) || !(s.ssb > 0.0) || !(s.fsd > 0.0) || !isfinite(s.fsd)) {
        lw_analyze_note(why, "the forecasts are exact or identical (no variance to test)");
        return false;
    }
    f->status = LW_OK;
    f->n = m;
    f->ylags = f->xlags = L;
    f->first_row = w->rows[0];
    f->initial = R;
    f->first_forecast = w->rows[R] - first;
    lw_forecast_fill(f, m - R, &s);
    return true;
}
