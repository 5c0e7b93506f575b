/*
 * analyze_work.h - PRIVATE to src/stats/analyze*.c: the per-call workspace of
 * lw_analyze_tree and the steps the analysis files share (issue 12 split
 * analyze.c along these seams; nothing outside src/stats includes this).
 *
 * How it works: analyze.c owns the workspace (allocated once per call, sized
 * for the longest design) and runs the edge; analyze_fit.c builds the all-row
 * lag designs and fits them (the chosen-lag pair of models, the lag search of
 * one direction); analyze_gates.c runs two gates at the chosen lag (stability
 * sub-windows, rolling-origin forecasts).  It does not include analyze.h
 * (the module graph must stay acyclic): edge results stay in analyze.c.  Every
 * function takes the workspace and writes only the scratch it documents.
 */
#ifndef LEADWATCH_STATS_ANALYZE_WORK_H
#define LEADWATCH_STATS_ANALYZE_WORK_H

#include "leadwatch/model/analyze_opts.h"
#include "leadwatch/stats/forecast.h"
#include "leadwatch/stats/granger.h"
#include "leadwatch/stats/ols.h"

#include <stdbool.h>
#include <stddef.h>

/* One kept result of analyze_fit.c's own_order (y's own order on a sample). */
typedef struct {
    bool valid;
    size_t n, K, m, best, used; /* used: when it was last computed or reused */
    double *y;                  /* [n] the y it was computed for (allocated on first use) */
    size_t *rows;               /* [n] its rows */
    double icv[LW_ANALYZE_MAX_LAG];
} lw_analyze_own_memo_t;

/* Shared per-call workspaces. */
typedef struct {
    const lw_analyze_opts_t *o;
    lw_granger_t *g;
    lw_ols_t *ols;
    double *X, *yv;           /* design and regressand scratch: nrows x kmax, nrows */
    double *x, *y;            /* the edge's run, contiguous */
    double *xr, *yr;          /* original values over the run */
    lw_granger_lag_t *wrec;   /* stability scratch: max_lag records */
    double *mu, *G, *b, *dsc; /* normal-equation scratch (granger_lag_ne) */
    double *hac_work;         /* lw_hac_cov scratch (one column) */
    double *sx;               /* sensitivity: adjusted levels of the run */
    size_t season_period;     /* resolved */
    /* issue 11: the edge's full-length prepared series and the all-row designs */
    size_t n;                                          /* rows of the input */
    double *fx, *fy, *fc[LW_ANALYZE_MAX_CONTROLS];     /* [n], NAN = undefined */
    size_t nc;                                         /* controls of the current edge */
    size_t nctl_all, ctl_all[LW_ANALYZE_MAX_CONTROLS]; /* the tree's control columns */
    size_t *rows;                                      /* [n] rows of the current design */
    double *X2, *pa, *pb;                              /* second design, forecasts */
    /* own_order's two latest results and their inputs (analyze_fit.c): the NSM is the y
     * of every other direction, and its order on the same rows is the same QR (issue 17) */
    lw_analyze_own_memo_t own[2];
    size_t own_clock, own_hits; /* hits: how many searches reused a kept order (tests) */
} lw_analyze_work_t;

/* ---- analyze_fit.c: all-row designs (columns 1, y_{t-1..p}, c_{t-0..p}.., x_{t-1..p}) */

/* Rows t in [lo, hi), t >= need, whose values up to lag `need` are defined, into rows. */
size_t lw_analyze_valid_rows(const lw_analyze_work_t *w, const double *y, const double *x,
                             size_t need, size_t lo, size_t hi, size_t *rows);
/* Columns of the lag-p design, with or without the x lags. */
size_t lw_analyze_design_k(const lw_analyze_work_t *w, size_t p, bool with_x);
/* The lag-p design of the rows into X (m x k, row-major) and yv; returns k. */
size_t lw_analyze_fill_design(const lw_analyze_work_t *w, const double *y, const double *x,
                              size_t p, const size_t *rows, size_t m, bool with_x, double *X,
                              double *yv);
/* Granger x -> y at lag p on the rows of [lo, hi) (analyze_fit.c explains). */
bool lw_analyze_pair_test(lw_analyze_work_t *w, const double *y, const double *x, size_t p,
                          size_t lo, size_t hi, lw_granger_lag_t *rec, double *sum, double *sum_t);
/* The same by two lw_ols_fit refits (the reference path; tests compare the two). */
bool lw_analyze_pair_test_refit(lw_analyze_work_t *w, const double *y, const double *x, size_t p,
                                size_t lo, size_t hi, lw_granger_lag_t *rec, double *sum,
                                double *sum_t);
/* The lag search of one direction (own order, single-lag tests, Simes); returns the lag. */
size_t lw_analyze_dir_search(lw_analyze_work_t *w, const double *y, const double *x, size_t K,
                             double *icv, size_t *own, double *lag_p, double *ps, size_t *m);

/* ---- analyze_gates.c: two gates at the chosen lag */

/* Stability window W and step over an edge's span of rows at lag p. */
void lw_analyze_stab_geometry(const lw_analyze_work_t *w, size_t span, size_t p, size_t *W,
                              size_t *step);
/* The stability sub-windows over rows [first, last]; false (why set) when skipped. */
bool lw_analyze_stability_dir(lw_analyze_work_t *w, const double *y, const double *x, size_t p,
                              double full_sum, size_t first, size_t last, size_t *nwin,
                              size_t *nsig, size_t *nsame, char *why);
/* Rolling-origin forecasts + Clark-West into *f; false (why set) when skipped. */
bool lw_analyze_oos_dir(lw_analyze_work_t *w, const double *y, const double *x, size_t p,
                        size_t first, lw_forecast_t *f, char *why);

#endif
