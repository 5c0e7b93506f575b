/*
 * analysis_out.c - JSON, text and Markdown renderings of an analysis
 * (contract in analysis_out.h).
 *
 * JSON goes through the core's streaming writer (core/jsonw.h, indented by
 * two spaces): the program's one string escaping rule (invalid UTF-8 ->
 * \ufffd per byte) and every double with %.17g, or null when it is not
 * finite; the kv_* helpers here add "null when undefined".  The document
 * is built in a bounded lw_buf_t and, for a FILE, written out after every
 * edge, so memory stays at one edge's JSON; the tests parse it back.
 *
 * Text and Markdown print one summary row per edge, then the reasons; the
 * columns are the ones a reader acts on: verdict, chosen lag, lead,
 * elasticity, q both ways, stability, out-of-sample skill, sensitivity.
 *
 * Experiments (issue 16): when a->experiments is set (the store had
 * experiment aggregates), each edge gains "experiments" - the edge's
 * object of the `leadwatch experiments` JSON without its points
 * (experiments_out.h), or null for an edge the experiments do not cover -
 * and the text and Markdown one line after the reasons.  Without it the
 * key is absent and every output is byte for byte what it was.
 */
#include "leadwatch/report/analysis_out.h"

#include "leadwatch/core/jsonw.h"
#include "leadwatch/report/experiments_out.h"

#include <math.h>
#include <string.h>

#define JSON_EDGE_MAX (64u * 1024u * 1024u) /* one edge's JSON (a few hundred kB in practice) */

/* A number that is only meaningful when `defined`. */
static void jw_numd(lw_jsonw_t *w, bool defined, double v)
{
    if (defined)
        lw_jsonw_number(w, v);
    else
        lw_jsonw_null(w);
}

static void kv_str(lw_jsonw_t *w, const char *k, const char *v)
{
    lw_jsonw_key(w, k);
    lw_jsonw_string(w, v);
}
static void kv_num(lw_jsonw_t *w, const char *k, double v)
{
    lw_jsonw_key(w, k);
    lw_jsonw_number(w, v);
}
static void kv_numd(lw_jsonw_t *w, const char *k, bool d, double v)
{
    lw_jsonw_key(w, k);
    jw_numd(w, d, v);
}
static void kv_uint(lw_jsonw_t *w, const char *k, size_t v)
{
    lw_jsonw_key(w, k);
    lw_jsonw_uint(w, v);
}
/* 0 means "none" for chosen lags and leads. */
static void kv_lag(lw_jsonw_t *w, const char *k, size_t v)
{
    lw_jsonw_key(w, k);
    if (v)
        lw_jsonw_uint(w, v);
    else
        lw_jsonw_null(w);
}
static void kv_bool(lw_jsonw_t *w, const char *k, bool v)
{
    lw_jsonw_key(w, k);
    lw_jsonw_bool(w, v);
}
/* The value when `defined`, else null. */
static void kv_boold(lw_jsonw_t *w, const char *k, bool defined, bool v)
{
    lw_jsonw_key(w, k);
    if (defined)
        lw_jsonw_bool(w, v);
    else
        lw_jsonw_null(w);
}
static void kv_strd(lw_jsonw_t *w, const char *k, bool defined, const char *v)
{
    lw_jsonw_key(w, k);
    lw_jsonw_string(w, defined ? v : NULL);
}
/* The period label of `row` when `defined`, else null. */
static void kv_row(lw_jsonw_t *w, const char *k, const lw_analysis_t *a, bool defined, size_t row)
{
    char lb[LW_ANALYZE_LABEL_SIZE];
    lw_jsonw_key(w, k);
    if (!defined) {
        lw_jsonw_null(w);
        return;
    }
    lw_analysis_row_label(a, row, lb, sizeof lb);
    lw_jsonw_string(w, lb);
}

/* ---------------------------------------------------------------- JSON pieces */

static const char *applied_transform(const lw_prep_info_t *p)
{
    if (p->log && p->diff)
        return "log_diff";
    if (p->log)
        return "log";
    if (p->diff)
        return "diff";
    return "none";
}

static void json_prep(lw_jsonw_t *w, const char *metric, const lw_prep_info_t *p)
{
    lw_jsonw_object(w);
    kv_str(w, "metric", metric);
    kv_bool(w, "usable", p->usable);
    kv_strd(w, "note", p->note[0], p->note);
    kv_str(w, "transform_requested", lw_transform_name(p->requested));
    kv_str(w, "transform_applied", applied_transform(p));
    kv_bool(w, "log", p->log);
    kv_bool(w, "differenced", p->diff);
    kv_numd(w, "seasonal_period", p->season_period, (double)p->season_period);
    kv_uint(w, "missing", p->n_missing);
    kv_uint(w, "holidays", p->n_holidays);
    kv_uint(w, "outliers", p->n_outliers);
    kv_uint(w, "interpolated", p->n_interpolated);
    kv_bool(w, "detrended", p->detrended);
    kv_bool(w, "unit_root", p->unit_root);
    kv_str(w, "decision", p->decision);
    kv_numd(w, "kpss_p", p->kpss_run, p->kpss.pvalue);
    kv_uint(w, "non_finite", p->n_nonfinite);
    kv_uint(w, "non_positive", p->n_nonpositive);
    kv_numd(w, "level_mean", p->usable, p->level_mean);
    lw_jsonw_key(w, "adf");
    if (p->adf_run) {
        lw_jsonw_object(w);
        kv_str(w, "series",
               p->log ? "log, seasonally adjusted as above, before differencing"
                      : "seasonally adjusted as above, before differencing");
        kv_str(w, "regression", p->adf_ct ? "ct" : "c");
        kv_str(w, "autolag", "aic");
        kv_num(w, "stat", p->adf.stat);
        kv_num(w, "p", p->adf.pvalue);
        kv_uint(w, "usedlag", p->adf.usedlag);
        kv_uint(w, "maxlag", p->adf.maxlag);
        kv_uint(w, "nobs", p->adf.nobs);
        kv_num(w, "crit_1pct", p->adf.crit[0]);
        kv_num(w, "crit_5pct", p->adf.crit[1]);
        kv_num(w, "crit_10pct", p->adf.crit[2]);
        lw_jsonw_end(w);
    } else {
        lw_jsonw_null(w);
    }
    kv_strd(w, "adf_note", p->adf_note[0], p->adf_note);
    lw_jsonw_end(w);
}

static void json_granger(lw_jsonw_t *w, const lw_granger_lag_t *recs, const double *q,
                         const bool *qd, size_t K, bool analysed)
{
    lw_jsonw_array(w);
    for (size_t i = 0; analysed && i < K; i++) {
        const lw_granger_lag_t *r = &recs[i];
        const bool ok = r->status == LW_OK;
        lw_jsonw_object(w);
        kv_uint(w, "lag", r->lag);
        kv_uint(w, "nobs", r->nobs);
        kv_str(w, "status", ok ? "ok" : "infeasible");
        kv_strd(w, "reason", !(ok), r->reason);
        kv_numd(w, "F", ok, r->f);
        kv_numd(w, "p", ok, r->f_p);
        kv_numd(w, "df_num", ok, r->df_num);
        kv_numd(w, "df_denom", ok, r->df_denom);
        kv_numd(w, "chi2", ok, r->chi2);
        kv_numd(w, "chi2_p", ok, r->chi2_p);
        kv_numd(w, "chi2_df", ok, r->chi2_df);
        kv_numd(w, "lr", ok, r->lr);
        kv_numd(w, "lr_p", ok, r->lr_p);
        kv_numd(w, "lr_df", ok, (double)r->lag);
        kv_numd(w, "ssr_restricted", ok, r->ssr_r);
        kv_numd(w, "ssr_unrestricted", ok, r->ssr_u);
        kv_numd(w, "llf_restricted", ok, r->llf_r);
        kv_numd(w, "llf_unrestricted", ok, r->llf_u);
        kv_numd(w, "aic", ok, r->aic);
        kv_numd(w, "bic", ok, r->bic);
        kv_numd(w, "q_across_lags", qd[i], q[i]);
        lw_jsonw_end(w);
    }
    lw_jsonw_end(w);
}

/*
 * "key": {"status": ..., "note": ... (null when the step ran or has none):
 * opens a step's object for its fields; true when the step ran.
 */
static bool step_open(lw_jsonw_t *w, const char *key, lw_step_t s, const char *note)
{
    const bool ok = s == LW_STEP_OK;
    lw_jsonw_key(w, key);
    lw_jsonw_object(w);
    kv_str(w, "status", lw_step_name(s));
    kv_strd(w, "note", !ok && note[0], note);
    return ok;
}

static void json_edge(lw_jsonw_t *w, const lw_analysis_t *a, const lw_edge_result_t *e)
{
    const bool an = e->analysed;
    lw_jsonw_object(w);
    kv_str(w, "from", e->from);
    kv_str(w, "to", e->to);
    kv_str(w, "role", e->role);
    kv_strd(w, "kind", e->kind[0], e->kind);
    kv_str(w, "verdict", lw_verdict_name(e->verdict));
    lw_jsonw_key(w, "reasons");
    lw_jsonw_array(w);
    for (size_t i = 0; i < e->nreasons; i++)
        lw_jsonw_string(w, e->reasons[i]);
    lw_jsonw_end(w);
    kv_lag(w, "lag", an ? e->lag : 0);
    kv_numd(w, "p", an && e->lag, e->p);
    kv_numd(w, "q", e->q_defined, e->q);
    kv_lag(w, "lag_reverse", an ? e->lag_reverse : 0);
    kv_numd(w, "p_reverse", an && e->lag_reverse, e->p_reverse);
    kv_numd(w, "q_reverse", e->q_reverse_defined, e->q_reverse);
    kv_numd(w, "effect_sum", an && e->effect_sum_defined, e->effect_sum);
    lw_jsonw_key(w, "lag_search");
    lw_jsonw_object(w);
    kv_str(
        w, "method",
        "per direction: own lags q by the information criterion over autoregressions of "
        "order 1..max_lag; for k = 1..max_lag the F(1, .) test of the other series' lag k "
        "added to the q own lags (controls lags 0..q), all on the rows whose lags up to "
        "max_lag are defined; p = Simes over the max_lag tests, lag = the k with the smallest p");
    kv_lag(w, "own_lags", an ? e->own_lag : 0);
    kv_lag(w, "own_lags_reverse", an && e->lag_reverse ? e->own_lag_reverse : 0);
    lw_jsonw_key(w, "p");
    lw_jsonw_array(w);
    for (size_t k = 0; an && e->lag && k < e->max_lag; k++)
        lw_jsonw_number(w, e->lag_p[k]);
    lw_jsonw_end(w);
    lw_jsonw_key(w, "p_reverse");
    lw_jsonw_array(w);
    for (size_t k = 0; an && e->lag_reverse && k < e->max_lag; k++)
        lw_jsonw_number(w, e->lag_p_reverse[k]);
    lw_jsonw_end(w);
    lw_jsonw_end(w);
    kv_row(w, "since", a, e->no_longer, e->since_row);
    kv_lag(w, "old_lag", e->no_longer ? e->old_lag : 0);
    kv_str(w, "preparation", e->prep_note);
    kv_bool(w, "differenced", e->differenced);
    kv_uint(w, "controls", e->ncontrols);

    lw_jsonw_key(w, "data");
    lw_jsonw_object(w);
    kv_uint(w, "rows_total", e->rows_total);
    kv_uint(w, "rows_used", e->rows_used);
    kv_row(w, "first_period", a, e->rows_used, e->row_first);
    kv_row(w, "last_period", a, e->rows_used, e->row_last);
    kv_uint(w, "rows_incomplete", e->rows_incomplete);
    kv_uint(w, "rows_complete", e->rows_complete);
    kv_uint(w, "rows_tested", e->rows_tested);
    kv_uint(w, "min_rows", e->min_nobs);
    kv_str(w, "missing_policy",
           "gaps up to max_gap buckets interpolated (prepared scale); the tests use every "
           "row whose lags are defined; lagged regression, CCF and MDE the longest complete "
           "run");
    lw_jsonw_end(w);

    lw_jsonw_key(w, "preparation");
    lw_jsonw_object(w);
    lw_jsonw_key(w, "from");
    json_prep(w, e->from, &e->prep_from);
    lw_jsonw_key(w, "to");
    json_prep(w, e->to, &e->prep_to);
    kv_str(w, "seasonal_df_note",
           "seasonal means are estimated before the tests; the degrees of freedom below do not "
           "count them");
    lw_jsonw_end(w);

    lw_jsonw_key(w, "granger");
    json_granger(w, e->granger, e->q_lags, e->q_lags_defined, e->max_lag, an);
    lw_jsonw_key(w, "granger_reverse");
    json_granger(w, e->granger_reverse, e->q_lags_reverse, e->q_lags_reverse_defined, e->max_lag,
                 an);
    lw_jsonw_key(w, "granger_definition");
    lw_jsonw_string(
        w, "statsmodels grangercausalitytests: rows t = lag..n-1 of the rows used; restricted "
           "y ~ 1 + y lags, unrestricted adds x lags; F df = (lag, n - 3 lag - 1), chi2 and "
           "lr df = lag; aic/bic of the unrestricted model");

    const bool lr = step_open(w, "lagged_regression", e->lagreg_status, e->lagreg_note);
    kv_str(w, "model", "y_t = a + b x_{t-k} + e on rows t = max_lag..n-1 (same rows for every k)");
    lw_jsonw_key(w, "hac");
    lw_jsonw_object(w);
    kv_str(w, "kernel", "bartlett");
    kv_numd(w, "maxlags", lr, (double)e->hac_lags);
    kv_bool(w, "small_sample_correction", false);
    kv_str(w, "p_from", "normal");
    lw_jsonw_end(w);
    lw_jsonw_key(w, "by_lag");
    lw_jsonw_array(w);
    for (size_t k = 0; lr && k <= e->max_lag; k++) {
        const lw_lagreg_t *L = &e->lagreg[k];
        lw_jsonw_object(w);
        kv_uint(w, "k", k);
        kv_numd(w, "nobs", L->ok, (double)L->nobs);
        kv_numd(w, "coef", L->ok, L->coef);
        kv_numd(w, "se_hac", L->ok, L->se_hac);
        kv_numd(w, "t", L->ok, L->t);
        kv_numd(w, "p", L->ok, L->p);
        kv_numd(w, "r2", L->ok, L->r2);
        lw_jsonw_end(w);
    }
    lw_jsonw_end(w);
    kv_lag(w, "lead", lr ? e->lead : 0);
    lw_jsonw_key(w, "distributed_lag");
    if (lr && e->dl_lags) {
        lw_jsonw_object(w);
        kv_str(w, "model", "y_t = a + sum_{k=1..lags} b_k x_{t-k} + e");
        kv_uint(w, "lags", e->dl_lags);
        kv_uint(w, "nobs", e->dl_nobs);
        kv_num(w, "sum", e->dl_sum);
        kv_num(w, "sum_se_hac", e->dl_sum_se_hac);
        kv_num(w, "sum_p", e->dl_sum_p);
        lw_jsonw_end(w);
    } else {
        lw_jsonw_null(w);
    }
    kv_numd(w, "elasticity", e->elasticity_defined, e->elasticity);
    kv_numd(w, "elasticity_se", e->elasticity_defined, e->elasticity_se);
    kv_str(w, "elasticity_basis", e->elasticity_basis ? e->elasticity_basis : "not computed");
    lw_jsonw_end(w);

    const lw_ccf_t *c = &e->ccf;
    const bool cc = step_open(w, "ccf", e->ccf_status, e->ccf_note);
    kv_str(w, "method",
           "Box-Jenkins prewhitening: AR(p) of x by AIC, both series filtered; "
           "r(k) = corr(x_t, y_{t+k}), k > 0: x leads");
    kv_numd(w, "ar_order", cc, (double)c->ar_order);
    kv_numd(w, "n_prewhitened", cc, (double)c->npw);
    kv_numd(w, "band", cc, c->band);
    kv_lag(w, "lead", cc ? c->lead : 0);
    kv_numd(w, "lead_r", cc, c->lead_r);
    kv_boold(w, "lead_significant", cc, c->lead_significant);
    lw_jsonw_key(w, "r");
    lw_jsonw_array(w);
    for (size_t i = 0; cc && i < 2 * e->max_lag + 1; i++) {
        lw_jsonw_object(w);
        lw_jsonw_key(w, "k");
        lw_jsonw_int(w, (int64_t)i - (int64_t)e->max_lag);
        kv_num(w, "r", e->ccf_r[i]);
        lw_jsonw_end(w);
    }
    lw_jsonw_end(w);
    lw_jsonw_end(w);

    const bool st = step_open(w, "stability", e->stab_status, e->stab_note);
    kv_numd(w, "window", e->stab_window > 0, (double)e->stab_window);
    kv_numd(w, "step", e->stab_step > 0, (double)e->stab_step);
    kv_numd(w, "windows", st, (double)e->stab_nwindows);
    kv_numd(w, "windows_significant", st, (double)e->stab_nsig);
    kv_numd(w, "fraction_significant", st, e->stab_frac_sig);
    kv_numd(w, "sign_consistency", st, e->stab_sign_consistency);
    kv_boold(w, "stable", st, e->stable);
    const lw_breaks_supf_t *b = &e->brk;
    const bool bk = step_open(w, "break", e->break_status, e->break_note);
    kv_str(w, "test",
           "HC0 sup-Wald, only the x-lag coefficients change, Hansen (1997) p-value; "
           "sup_f = sup_wald / lags");
    kv_str(w, "model",
           "y_t = c + sum_{j=1..lag} g_j y_{t-j} [+ controls] + sum_{j=1..lag} b_j "
           "x_{t-j}, all rows");
    kv_numd(w, "lags", bk, (double)e->break_lags);
    kv_numd(w, "trim", bk, LW_BREAKS_DEFAULT_TRIM);
    kv_numd(w, "nobs", bk, (double)b->nobs);
    kv_numd(w, "sup_f", bk, b->sup_f);
    kv_numd(w, "df_num", bk, b->df_num);
    kv_numd(w, "df_denom", bk, b->df_denom);
    kv_numd(w, "sup_wald", bk, b->sup_wald);
    kv_numd(w, "p", bk && b->p_defined, b->p);
    kv_row(w, "candidate_period", a, bk, e->break_row);
    kv_numd(w, "candidate_row", bk, (double)e->break_row);
    kv_boold(w, "found", bk, e->break_found);
    lw_jsonw_end(w);
    kv_row(w, "break_period", a, bk && e->break_found, e->break_row);
    lw_jsonw_end(w);

    /* Every step's section has this shape (step_open, how, one key a line): the JSON contract. */
    const lw_forecast_t *f = &e->oos;
    const bool oo = step_open(w, "oos", e->oos_status, e->oos_note);
    kv_str(w, "method",
           "rolling-origin (expanding window) one-step forecasts; restricted: y "
           "lags, unrestricted: y and x lags; Clark-West (2007), one-sided");
    kv_numd(w, "lags", oo, (double)f->xlags);
    kv_numd(w, "initial_window", oo, (double)f->initial);
    kv_row(w, "first_forecast_period", a, oo, e->row_first + f->first_forecast);
    kv_numd(w, "forecasts", oo, (double)f->noos);
    kv_numd(w, "rmse_without_x", oo, f->rmse_a);
    kv_numd(w, "rmse_with_x", oo, f->rmse_b);
    kv_numd(w, "rel_rmse_change", oo, f->rel_rmse_change);
    kv_numd(w, "cw_mean", oo, f->cw_mean);
    kv_numd(w, "cw_se", oo, f->cw_se);
    kv_numd(w, "cw_t", oo, f->cw_t);
    kv_numd(w, "cw_p", oo, f->cw_p);
    kv_boold(w, "skill", oo, e->oos_skill);
    lw_jsonw_end(w);

    const lw_sens_t *m = &e->sens;
    const bool sn = step_open(w, "sensitivity", e->sens_status, e->sens_note);
    kv_str(w, "metric", e->from);
    kv_str(w, "series", "original units, seasonal pattern removed (level kept)");
    kv_str(w, "design",
           "mean of the next `horizon` buckets vs the `baseline` before; SE = "
           "sqrt(LRV (1/H + 1/B)), Newey-West long-run variance");
    kv_num(w, "alpha", 0.05);
    kv_num(w, "power", a->opts.mde_power);
    kv_uint(w, "horizon", a->opts.mde_horizon);
    kv_numd(w, "baseline", sn, (double)m->baseline);
    kv_numd(w, "history", sn, (double)m->nobs);
    kv_numd(w, "bandwidth", sn, (double)m->bandwidth);
    kv_numd(w, "level", sn, m->level);
    kv_numd(w, "long_run_variance", sn, m->lrv);
    kv_numd(w, "se", sn, m->se);
    kv_numd(w, "mde_abs", sn, m->mde_abs);
    kv_numd(w, "mde_rel", sn, m->mde_rel);
    kv_num(w, "threshold", a->opts.mde_threshold);
    kv_boold(w, "sensitive", sn, m->sensitive);
    lw_jsonw_end(w);
    if (a->experiments) { /* issue 16; absent when the store has no experiments */
        lw_jsonw_key(w, "experiments");
        lw_exp_json_edge(w, a->experiments, e->from, e->to);
    }
    lw_jsonw_end(w);
}

static lw_err_t finish(FILE *f, char *errstr, size_t errstr_size)
{
    if (ferror(f) || fflush(f) != 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "analysis output: write failed");
    return LW_OK;
}

/*
 * The analysis document into w's buffer.  With `out`, the buffer is written
 * to it and emptied after every edge (the writer's state does not depend on
 * the buffer's contents), so only one edge is ever held in memory.
 */
static lw_err_t json_doc(const void *arg, lw_jsonw_t *w, FILE *out, char *errstr,
                         size_t errstr_size)
{
    const lw_analysis_t *a = arg;
    lw_buf_t *b = w->b;
    const lw_analyze_opts_t *o = &a->opts;
    lw_jsonw_object(w);
    kv_str(w, "schema", "leadwatch.analysis/1");
    kv_uint(w, "rows", a->nrows);
    kv_strd(w, "first_period", a->nrows, a->first_label);
    kv_strd(w, "last_period", a->nrows, a->last_label);
    kv_numd(w, "bucket_seconds", a->bucket_ms > 0, (double)a->bucket_ms / 1000.0);

    lw_jsonw_key(w, "options");
    lw_jsonw_object(w);
    kv_uint(w, "max_lag", o->max_lag);
    kv_str(w, "transform", lw_transform_name(o->transform));
    kv_str(w, "seasonal",
           o->seasonal == LW_SEASONAL_NONE     ? "none"
           : o->seasonal == LW_SEASONAL_WEEKLY ? "weekly"
                                               : "period");
    kv_numd(w, "seasonal_period", a->season_period > 0, (double)a->season_period);
    kv_num(w, "alpha", o->alpha);
    kv_numd(w, "window", a->window > 0, (double)a->window); /* the data window (--window) */
    kv_numd(w, "stability_window", o->window > 0, (double)o->window);
    kv_uint(w, "max_gap", o->max_gap);
    kv_num(w, "outlier_mad", o->outlier_mad);
    lw_jsonw_key(w, "holidays");
    lw_jsonw_array(w);
    for (size_t i = 0; i < o->nholidays; i++)
        lw_jsonw_string(w, o->holidays[i]);
    lw_jsonw_end(w);
    lw_jsonw_key(w, "controls");
    lw_jsonw_array(w);
    for (size_t i = 0; i < o->ncontrols; i++)
        lw_jsonw_string(w, o->controls[i]);
    lw_jsonw_end(w);
    kv_str(w, "ic", lw_ic_name(o->ic));
    kv_num(w, "adf_alpha", o->adf_alpha);
    kv_numd(w, "hac_lags", o->hac_lags > 0, (double)o->hac_lags);
    kv_num(w, "mde_threshold", o->mde_threshold);
    kv_uint(w, "mde_horizon", o->mde_horizon);
    kv_num(w, "mde_power", o->mde_power);
    kv_num(w, "stable_min_sign", o->stable_min_sign);
    lw_jsonw_end(w);
    kv_str(w, "seasonal_handling", a->season_note);
    lw_jsonw_key(w, "multiple_testing");
    lw_jsonw_object(w);
    kv_str(w, "method", "fdr_bh");
    kv_str(w, "family",
           "the primary (chosen-lag) F test of every analysable edge, both "
           "directions; q_across_lags: per scan, across its lags");
    kv_uint(w, "m", a->bh_family);
    lw_jsonw_end(w);
    lw_jsonw_key(w, "edges");
    lw_jsonw_array(w);
    for (size_t i = 0; i < a->nedges && b->err == LW_OK; i++) {
        json_edge(w, a, &a->edges[i]);
        if (out && b->err == LW_OK) {
            fwrite(b->data, 1, b->len, out);
            lw_buf_rewind(b, 0);
        }
    }
    lw_jsonw_end(w);
    lw_jsonw_end(w);
    if (out)
        lw_buf_putc(b, '\n');
    /* not lw_jsonw_finish: inside report.json the enclosing object is still open */
    lw_err_t err = b->err != LW_OK ? b->err : w->misuse ? LW_ERR_INVALID : LW_OK;
    if (err != LW_OK)
        return lw_seterr(errstr, errstr_size, err, "analysis JSON: %s (bound %zu bytes per edge)",
                         lw_err_name(err), b->max);
    if (out) {
        fwrite(b->data, 1, b->len, out);
        lw_buf_rewind(b, 0);
        return finish(out, errstr, errstr_size);
    }
    return LW_OK;
}

lw_err_t lw_analysis_write_json(const lw_analysis_t *a, FILE *out, char *errstr, size_t errstr_size)
{
    return lw_jsonw_write_doc(json_doc, a, JSON_EDGE_MAX, out, errstr, errstr_size);
}

lw_err_t lw_analysis_json(const lw_analysis_t *a, lw_jsonw_t *w, char *errstr, size_t errstr_size)
{
    return json_doc(a, w, NULL, errstr, errstr_size);
}

/* ---------------------------------------------------------------- text and Markdown */

/* Fixed-width cells of one summary row; "-" for undefined. */
typedef struct {
    char edge[2 * LW_ANALYZE_NAME_SIZE + 8];
    char lag[24], lead[24], elast[64], q[32], qr[32], stab[48], oos[32], mde[32];
} row_t;

static void fmt_q(char *buf, size_t size, bool d, double q)
{
    if (!d)
        snprintf(buf, size, "-");
    else if (q < 1e-4)
        snprintf(buf, size, "%.1e", q);
    else
        snprintf(buf, size, "%.4f", q);
}

static void make_row(const lw_edge_result_t *e, row_t *r, const char *arrow)
{
    snprintf(r->edge, sizeof r->edge, "%s %s %s", e->from, arrow, e->to);
    if (e->analysed && e->lag)
        snprintf(r->lag, sizeof r->lag, "%zu", e->lag);
    else
        snprintf(r->lag, sizeof r->lag, "-");
    if (e->lagreg_status == LW_STEP_OK)
        snprintf(r->lead, sizeof r->lead, "%zu", e->lead);
    else
        snprintf(r->lead, sizeof r->lead, "-");
    if (e->elasticity_defined)
        snprintf(r->elast, sizeof r->elast, "%.2f (se %.2f)", e->elasticity, e->elasticity_se);
    else
        snprintf(r->elast, sizeof r->elast, "-");
    fmt_q(r->q, sizeof r->q, e->q_defined, e->q);
    fmt_q(r->qr, sizeof r->qr, e->q_reverse_defined, e->q_reverse);
    if (e->stab_status == LW_STEP_OK)
        snprintf(r->stab, sizeof r->stab, "%s %zu/%zu", e->stable ? "yes" : "no",
                 e->stab_nsame_sign, e->stab_nwindows);
    else
        snprintf(r->stab, sizeof r->stab, "-");
    if (e->oos_status == LW_STEP_OK)
        snprintf(r->oos, sizeof r->oos, "%+.1f%%%s", -100.0 * e->oos.rel_rmse_change,
                 e->oos_skill ? "*" : "");
    else
        snprintf(r->oos, sizeof r->oos, "%s", e->oos_status == LW_STEP_UNAVAILABLE ? "n/a" : "-");
    if (e->sens_status == LW_STEP_OK)
        snprintf(r->mde, sizeof r->mde, "%.1f%%%s", 100.0 * e->sens.mde_rel,
                 e->sens.sensitive ? "" : "!");
    else
        snprintf(r->mde, sizeof r->mde, "%s", e->sens_status == LW_STEP_UNAVAILABLE ? "n/a" : "-");
}

static void header_lines(const lw_analysis_t *a, FILE *f, const char *prefix)
{
    const lw_analyze_opts_t *o = &a->opts;
    const char *bucket = a->bucket_ms == 3600000     ? "hourly"
                         : a->bucket_ms == 86400000  ? "daily"
                         : a->bucket_ms == 604800000 ? "weekly"
                         : a->bucket_ms > 0          ? "equally spaced"
                                                     : "unknown-size";
    fprintf(f, "%s%zu %s rows", prefix, a->nrows, bucket);
    if (a->nrows)
        fprintf(f, " (%s .. %s)", a->first_label, a->last_label);
    fprintf(f, "; transform %s; seasonal: %s\n", lw_transform_name(o->transform), a->season_note);
    fprintf(f,
            "%sGranger lags 1..%zu, lag by single-lag tests (Simes), own lags by %s; BH q over %zu "
            "primary tests; alpha %g; HAC Newey-West\n",
            prefix, o->max_lag, o->ic == LW_IC_BIC ? "BIC" : "AIC", a->bh_family, o->alpha);
}

static void prep_line(FILE *f, const char *prefix, const char *name, const lw_prep_info_t *p)
{
    fprintf(f, "%s%s: %s", prefix, name, applied_transform(p));
    if (p->season_period)
        fprintf(f, ", seasonal period %zu", p->season_period);
    if (p->adf_run)
        fprintf(f, ", ADF %.2f (p %.3g, lag %zu)", p->adf.stat, p->adf.pvalue, p->adf.usedlag);
    if (p->n_missing || p->n_nonfinite)
        fprintf(f, ", %zu missing, %zu non-finite", p->n_missing, p->n_nonfinite);
    if (!p->usable)
        fprintf(f, ", unusable: %s", p->note);
    fputc('\n', f);
}

lw_err_t lw_analysis_write_text(const lw_analysis_t *a, FILE *out, char *errstr, size_t errstr_size)
{
    header_lines(a, out, "");
    fputc('\n', out);
    int ew = 4;
    row_t r;
    for (size_t i = 0; i < a->nedges; i++) {
        make_row(&a->edges[i], &r, "->");
        if ((int)strlen(r.edge) > ew)
            ew = (int)strlen(r.edge);
    }
    fprintf(out, "%-*s  %-17s %4s %5s  %-18s %9s %9s  %-9s %8s %6s\n", ew, "EDGE", "VERDICT", "LAG",
            "LEAD", "ELASTICITY", "q(x->y)", "q(y->x)", "STABLE", "OOS RMSE", "MDE");
    for (size_t i = 0; i < a->nedges; i++) {
        const lw_edge_result_t *e = &a->edges[i];
        make_row(e, &r, "->");
        fprintf(out, "%-*s  %-17s %4s %5s  %-18s %9s %9s  %-9s %8s %6s\n", ew, r.edge,
                lw_verdict_name(e->verdict), r.lag, r.lead, r.elast, r.q, r.qr, r.stab, r.oos,
                r.mde);
    }
    fprintf(out,
            "\nOOS RMSE: change of the one-step forecast error when x's lags are added "
            "(negative = better; * = Clark-West p < alpha)\nMDE: smallest change of x a "
            "%zu-bucket experiment detects (alpha 0.05, power %.2g); ! = above the %.0f%% "
            "threshold\n",
            a->opts.mde_horizon, a->opts.mde_power, 100.0 * a->opts.mde_threshold);
    for (size_t i = 0; i < a->nedges; i++) {
        const lw_edge_result_t *e = &a->edges[i];
        fprintf(out, "\n%s -> %s: %s\n", e->from, e->to, lw_verdict_name(e->verdict));
        for (size_t j = 0; j < e->nreasons; j++)
            fprintf(out, "  - %s\n", e->reasons[j]);
        if (a->experiments)
            lw_exp_write_edge_line(out, false, "  experiments: ", a->experiments, e->from, e->to);
        prep_line(out, "    prepared ", e->from, &e->prep_from);
        prep_line(out, "    prepared ", e->to, &e->prep_to);
        if (e->rows_used) {
            char l1[LW_ANALYZE_LABEL_SIZE], l2[LW_ANALYZE_LABEL_SIZE];
            lw_analysis_row_label(a, e->row_first, l1, sizeof l1);
            lw_analysis_row_label(a, e->row_last, l2, sizeof l2);
            fprintf(out, "    rows used %zu of %zu (%s .. %s), %zu incomplete, minimum %zu\n",
                    e->rows_used, e->rows_total, l1, l2, e->rows_incomplete, e->min_nobs);
        }
    }
    return finish(out, errstr, errstr_size);
}

/* Markdown table cells must not contain '|' or newlines. */
static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

lw_err_t lw_analysis_write_md(const lw_analysis_t *a, FILE *out, char *errstr, size_t errstr_size)
{
    fputs("## Lead analysis\n\n", out);
    header_lines(a, out, "");
    fputs("\n| edge | verdict | lag | lead | elasticity | q (x→y) | q (y→x) | stable | OOS RMSE | "
          "MDE "
          "|\n|---|---|---:|---:|---|---:|---:|---|---|---|\n",
          out);
    row_t r;
    for (size_t i = 0; i < a->nedges; i++) {
        const lw_edge_result_t *e = &a->edges[i];
        make_row(e, &r, "→");
        const char *cells[] = {
            r.edge, lw_verdict_name(e->verdict), r.lag, r.lead, r.elast, r.q, r.qr, r.stab, r.oos,
            r.mde};
        fputc('|', out);
        for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++) {
            fputc(' ', out);
            if (c == 1)
                fputs("**", out);
            md_cell(out, cells[c]);
            if (c == 1)
                fputs("**", out);
            fputs(" |", out);
        }
        fputc('\n', out);
    }
    for (size_t i = 0; i < a->nedges; i++) {
        const lw_edge_result_t *e = &a->edges[i];
        fputs("\n### ", out);
        md_cell(out, e->from);
        fputs(" → ", out);
        md_cell(out, e->to);
        fprintf(out, ": %s\n\n", lw_verdict_name(e->verdict));
        for (size_t j = 0; j < e->nreasons; j++) {
            fputs("- ", out);
            md_cell(out, e->reasons[j]);
            fputc('\n', out);
        }
        if (a->experiments)
            lw_exp_write_edge_line(out, true, "- experiments: ", a->experiments, e->from, e->to);
        prep_line(out, "- prepared ", e->from, &e->prep_from);
        prep_line(out, "- prepared ", e->to, &e->prep_to);
    }
    return finish(out, errstr, errstr_size);
}

bool lw_analysis_format_parse(const char *s, lw_analysis_format_t *out)
{
    if (strcmp(s, "text") == 0)
        *out = LW_ANALYSIS_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = LW_ANALYSIS_JSON;
    else if (strcmp(s, "md") == 0 || strcmp(s, "markdown") == 0)
        *out = LW_ANALYSIS_MD;
    else
        return false;
    return true;
}

lw_err_t lw_analysis_write(const lw_analysis_t *a, lw_analysis_format_t fmt, FILE *out,
                           char *errstr, size_t errstr_size)
{
    switch (fmt) {
    case LW_ANALYSIS_JSON: return lw_analysis_write_json(a, out, errstr, errstr_size);
    case LW_ANALYSIS_MD: return lw_analysis_write_md(a, out, errstr, errstr_size);
    case LW_ANALYSIS_TEXT: break;
    }
    return lw_analysis_write_text(a, out, errstr, errstr_size);
}
