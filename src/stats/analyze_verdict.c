/*
 * analyze_verdict.c - the words of the analysis: verdict and step names,
 * reasons and notes, row labels, and the verdict rules (step 8 of
 * analyze.h) that turn an analysed edge's evidence into its verdict.
 * Split from analyze.c, which computes the evidence; both implement
 * analyze.h.
 *
 * The rules, in order (lw_analyze_decide):
 *   insufficient_data  the edge was not analysed (analyze.c says why);
 *   no_longer_leads    a break of x's coefficients (HC sup-Wald) with
 *                      x -> y significant before it and not after it, and
 *                      y -> x not holding;
 *   feedback / leads / reverse  the direction(s) that HOLD: q < alpha after
 *                      BH AND stable sub-windows AND out-of-sample skill
 *                      (the same gates both ways);
 *   inconclusive       otherwise, with the reason.
 */
#include "leadwatch/stats/analyze.h"

#include "leadwatch/stats/multitest.h"
#include "leadwatch/core/timeutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- names */

static const char *const VERDICT_NAMES[] = {"leads",        "reverse",         "feedback",
                                            "inconclusive", "no_longer_leads", "insufficient_data"};

const char *lw_verdict_name(lw_verdict_t v)
{
    return (unsigned)v <= LW_VERDICT_INSUFFICIENT_DATA ? VERDICT_NAMES[v] : "?";
}

static const char *const STEP_NAMES[] = {"ok", "skipped", "unavailable"};

const char *lw_step_name(lw_step_t s)
{
    return (unsigned)s <= LW_STEP_UNAVAILABLE ? STEP_NAMES[s] : "?";
}

void lw_analyze_reason(lw_edge_result_t *e, const char *fmt, ...)
{
    if (e->nreasons >= LW_ANALYZE_MAX_REASONS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reasons[e->nreasons++], LW_ANALYZE_REASON_SIZE, fmt, ap);
    va_end(ap);
}

void lw_analyze_note(char *dst, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, LW_ANALYZE_NOTE_SIZE, fmt, ap);
    va_end(ap);
}

void lw_analysis_row_label(const lw_analysis_t *a, size_t row, char *buf, size_t size)
{
    if (a->labels && row < a->nrows)
        snprintf(buf, size, "%s", a->labels[row]);
    else
        snprintf(buf, size, "row %zu", row + 1);
}

static void fmt_p(char *buf, size_t size, double p)
{
    if (p < 1e-300)
        snprintf(buf, size, "<1e-300");
    else
        snprintf(buf, size, "%.3g", p);
}

/* "stable: ..." / "unstable: ..." / "could not be checked" for one direction; true = passed. */
static bool gate_reasons(lw_edge_result_t *e, const lw_analyze_opts_t *o, const char *from,
                         const char *to, lw_step_t stab, bool stable, double sign_share,
                         lw_step_t oos_st, const lw_forecast_t *f, bool skill, const char *oos_note)
{
    bool ok = true;
    char pb[32];
    if (stab != LW_STEP_OK) {
        ok = false;
        lw_analyze_reason(e, "%s -> %s: stability could not be checked: %s", from, to,
                          stab == LW_STEP_SKIPPED && e->stab_note[0] ? e->stab_note : "skipped");
    } else if (!stable) {
        ok = false;
        lw_analyze_reason(e,
                          "%s -> %s unstable: the summed effect is not significantly against the "
                          "full-sample sign in only %.0f%% of the sub-windows of %zu (need %.0f%%)",
                          from, to, 100.0 * sign_share, e->stab_window, 100.0 * o->stable_min_sign);
    }
    if (oos_st != LW_STEP_OK) {
        ok = false;
        lw_analyze_reason(e, "%s -> %s: out-of-sample skill could not be checked: %s", from, to,
                          oos_note);
    } else {
        fmt_p(pb, sizeof pb, f->cw_p);
        if (!skill)
            ok = false;
        lw_analyze_reason(e,
                          "%s -> %s: %s out-of-sample skill: RMSE %+.1f%% with %s's lags over %zu "
                          "one-step forecasts, Clark-West p = %s",
                          from, to, skill ? "positive" : "no significant",
                          -100.0 * f->rel_rmse_change, from, f->noos, pb);
    }
    return ok;
}

/*
 * Step 8 (issue 11): a direction HOLDS when its primary test is significant
 * after BH AND it passes the same gates (stable sub-windows, out-of-sample
 * skill); `leads`, `reverse` and `feedback` need the direction(s) to hold.
 * Before them, the current regime: a break of x's coefficients (HC sup-Wald)
 * with x -> y significant before it and not after it is `no_longer_leads`.
 */
static void decide_verdict(const lw_analysis_t *a, lw_edge_result_t *e)
{
    const lw_analyze_opts_t *o = &a->opts;
    if (!e->analysed) {
        e->verdict = LW_VERDICT_INSUFFICIENT_DATA;
        return;
    }
    const double alpha = o->alpha;
    const bool fwd = e->q_defined && e->q < alpha;
    const bool rev = e->q_reverse_defined && e->q_reverse < alpha;
    const lw_granger_lag_t *g = &e->granger[e->lag - 1];
    char pb[32], qb[32];
    lw_analyze_reason(e, "%s", e->prep_note);
    fmt_p(pb, sizeof pb, e->p);
    fmt_p(qb, sizeof qb, e->q);
    char fb[32];
    fmt_p(fb, sizeof fb, g->f_p);
    lw_analyze_reason(e,
                      "%s -> %s %s: Simes p = %s, q = %s over %zu single-lag tests (x_{t-k} given "
                      "%zu own lags by %s, one common sample%s); best lag %zu: Granger "
                      "F(%.0f, %.0f) = %.3g, p = %s",
                      e->from, e->to, fwd ? "significant" : "not significant", pb, qb, e->max_lag,
                      e->own_lag, o->ic == LW_IC_BIC ? "BIC" : "AIC",
                      e->ncontrols ? ", controls in both models" : "", e->lag, g->df_num,
                      g->df_denom, g->f, fb);
    if (e->lag_reverse) {
        const lw_granger_lag_t *r = &e->granger_reverse[e->lag_reverse - 1];
        fmt_p(pb, sizeof pb, e->p_reverse);
        fmt_p(qb, sizeof qb, e->q_reverse);
        fmt_p(fb, sizeof fb, r->f_p);
        lw_analyze_reason(e,
                          "%s -> %s %s: Simes p = %s, q = %s, smallest at lag %zu (Granger "
                          "F(%.0f, %.0f) = %.3g, p = %s there)",
                          e->to, e->from, rev ? "significant" : "not significant", pb, qb,
                          e->lag_reverse, r->df_num, r->df_denom, r->f, fb);
    } else {
        lw_analyze_reason(e, "%s -> %s: no feasible lag", e->to, e->from);
    }
    bool fwd_ok = false, rev_ok = false;
    if (fwd) {
        if (e->lagreg_status == LW_STEP_OK)
            lw_analyze_reason(e, "lead %zu (largest R^2 of y_t on x_{t-k}, k >= 1)%s", e->lead,
                              e->elasticity_defined ? "" : "; elasticity undefined");
        fwd_ok =
            gate_reasons(e, o, e->from, e->to, e->stab_status, e->stable, e->stab_sign_consistency,
                         e->oos_status, &e->oos, e->oos_skill, e->oos_note);
    }
    if (rev)
        rev_ok = gate_reasons(e, o, e->to, e->from, e->stab_rev_status, e->stable_reverse,
                              e->stab_sign_consistency_reverse, e->oos_rev_status, &e->oos_reverse,
                              e->oos_skill_reverse, "see the reverse forecasts");
    char lb[LW_ANALYZE_LABEL_SIZE];
    if (e->break_status != LW_STEP_OK) {
        lw_analyze_reason(e, "structural-break test could not run: %s", e->break_note);
    } else if (e->break_found) {
        lw_analysis_row_label(a, e->break_row, lb, sizeof lb);
        fmt_p(pb, sizeof pb, e->brk.p);
        lw_analyze_reason(
            e,
            "warning: the relationship changed around %s (HC sup-Wald %.3g on the %zu "
            "x-lag coefficients, p = %s)",
            lb, e->brk.sup_wald, e->break_lags, pb);
    }
    if (e->break_found && e->regime_tested && e->p_before < alpha && e->p_after >= alpha &&
        !rev_ok) {
        e->verdict = LW_VERDICT_NO_LONGER_LEADS;
        e->no_longer = true;
        e->since_row = e->break_row;
        e->old_lag = e->lag;
        char p1[32], p2[32];
        fmt_p(p1, sizeof p1, e->p_before);
        fmt_p(p2, sizeof p2, e->p_after);
        lw_analyze_reason(
            e,
            "no longer leads since %s: at lag %zu p = %s before the break, p = %s over "
            "the %zu rows after it",
            lb, e->lag, p1, p2, e->rows_after);
        return;
    }
    if (fwd_ok && rev_ok) {
        e->verdict = LW_VERDICT_FEEDBACK;
        lw_analyze_reason(e,
                          "both directions significant after BH at alpha %g and both pass the "
                          "checks: feedback",
                          alpha);
    } else if (fwd_ok) {
        e->verdict = LW_VERDICT_LEADS;
        if (rev)
            lw_analyze_reason(e, "%s -> %s is significant but fails its checks: not counted", e->to,
                              e->from);
    } else if (rev_ok) {
        e->verdict = LW_VERDICT_REVERSE;
        lw_analyze_reason(e, "%s leads %s, not the other way round", e->to, e->from);
    } else {
        e->verdict = LW_VERDICT_INCONCLUSIVE;
        if (!fwd && !rev)
            lw_analyze_reason(e, "neither direction significant after BH at alpha %g", alpha);
        else
            lw_analyze_reason(e, "a significant direction did not pass every check for a verdict");
    }
}

/* Step 8 plus the descriptive reasons every analysed edge gets. */
void lw_analyze_decide(const lw_analysis_t *a, lw_edge_result_t *e)
{
    const lw_analyze_opts_t *o = &a->opts;
    decide_verdict(a, e);
    if (!e->analysed)
        return;
    if (e->ccf_status == LW_STEP_OK)
        lw_analyze_reason(
            e, "prewhitened cross-correlation peaks at lead %zu (r = %.3f, band +-%.3f%s)",
            e->ccf.lead, e->ccf.lead_r, e->ccf.band,
            e->ccf.lead_significant ? "" : ", inside the band");
    if (e->sens_status != LW_STEP_OK)
        lw_analyze_reason(e, "sensitivity (MDE) could not be computed: %s", e->sens_note);
    else
        lw_analyze_reason(
            e,
            "%s: a %zu-bucket experiment detects a change of %.1f%% (alpha 0.05, power "
            "%.2g; threshold %.0f%%)",
            e->sens.sensitive ? "sensitive" : "not sensitive", e->sens.horizon,
            100.0 * e->sens.mde_rel, o->mde_power, 100.0 * o->mde_threshold);
}
