/*
 * leadmon.c - one lead's sequential monitor (life cycle and regression in
 * leadmon.h; the statistic, its boundary and sources in monitor.h).
 *
 * A start (for a season above LW_LEADMON_MAX_SEASON first the phase means
 * of X and Y over the window) fits two OLS on the window: x on the
 * deterministic columns d (giving cx, so x~ = X - d'cx), then the monitored
 * regression over every
 * window row whose lags are all defined; both are rebuilt from the raw
 * window values with the same helpers that build a monitored row, so a row
 * means the same thing in the history and in the monitoring.  An update
 * costs O(k) (one row of at most LW_STOPMON_MAX_K columns); a start
 * allocates the window's design once.  Rows are identified by absolute
 * bucket index, which is why a catch-up that evaluates the same buckets
 * feeds the same rows in the same order as live evaluations did.
 */
#include "leadwatch/stats/leadmon.h"

#include "leadwatch/stats/ols.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void lw_leadmon_opts_default(lw_leadmon_opts_t *o)
{
    *o = (lw_leadmon_opts_t){
        .arm_after = 28, .alpha = 0.05, .year = 365.0, .rebase = 90.0, .reps = 4000};
}

/* Transformed value of series s at window row i (NAN when undefined). */
static double tval(const double *s, size_t stride, size_t i, bool lg, bool diff)
{
    double v = s[i * stride];
    if (lg)
        v = v > 0.0 ? log(v) : (double)NAN;
    if (diff) {
        if (i == 0)
            return (double)NAN;
        double u = s[(i - 1) * stride];
        if (lg)
            u = u > 0.0 ? log(u) : (double)NAN;
        v -= u;
    }
    return isfinite(v) ? v : (double)NAN;
}

/* The season phase of bucket index t (0 without a season). */
static size_t phase(const lw_leadmon_t *m, int64_t t)
{
    if (m->season < 2)
        return 0;
    const int64_t s = (int64_t)m->season;
    return (size_t)(((t % s) + s) % s);
}

/* d_t into out[0..ndet): the constant, and the dummies unless the season is a profile. */
static void det_row(const lw_leadmon_t *m, int64_t t, double *out)
{
    size_t j = 0;
    out[j++] = 1.0;
    if (m->season >= 2 && !m->profile) {
        const size_t ph = phase(m, t);
        for (size_t q = 1; q < m->season; q++)
            out[j++] = ph == q ? 1.0 : 0.0;
    }
}

/* X (is_x) or Y at window row i, bucket index t, less its phase mean in profile mode. */
static double sval(const lw_leadmon_t *m, const lw_leadmon_input_t *in, bool is_x, size_t i,
                   int64_t t)
{
    double v = tval(is_x ? in->x : in->y, in->stride, i, is_x ? m->log_x : m->log_y, m->diff);
    if (m->profile)
        v -= (is_x ? m->prof_x : m->prof_y)[phase(m, t)];
    return v;
}

/*
 * The phase means of X and Y over the window into m->prof_x / prof_y; false
 * when a phase has fewer than 2 values in either series.
 */
static bool fit_profiles(lw_leadmon_t *m, const lw_leadmon_input_t *in)
{
    size_t cnt[2][LW_LEADMON_MAX_PROFILE] = {{0}};
    double *prof[2] = {m->prof_x, m->prof_y};
    m->profile = 0; /* sval: the plain transformed values */
    memset(m->prof_x, 0, sizeof m->prof_x);
    memset(m->prof_y, 0, sizeof m->prof_y);
    for (size_t i = 0; i < in->n; i++) {
        const int64_t t = m->t0 + (int64_t)i;
        for (int s = 0; s < 2; s++) {
            const double v = sval(m, in, s == 0, i, t);
            if (isfinite(v)) {
                prof[s][phase(m, t)] += v;
                cnt[s][phase(m, t)]++;
            }
        }
    }
    for (int s = 0; s < 2; s++)
        for (size_t p = 0; p < m->season; p++) {
            if (cnt[s][p] < 2)
                return false;
            prof[s][p] /= (double)cnt[s][p];
        }
    m->profile = 1;
    return true;
}

static double xtilde(const lw_leadmon_t *m, const lw_leadmon_input_t *in, size_t i, int64_t t)
{
    double d[LW_LEADMON_MAX_DET];
    double v = sval(m, in, true, i, t);
    det_row(m, t, d);
    for (uint32_t j = 0; j < m->ndet; j++)
        v -= d[j] * m->cx[j];
    return v;
}

/*
 * The monitored row for window row i (bucket index t): z (ndet + 2 lag) and
 * the response; false when a value is missing or the lags leave the window.
 */
static bool design_row(const lw_leadmon_t *m, const lw_leadmon_input_t *in, size_t i, int64_t t,
                       double *z, double *y)
{
    const size_t p = m->lag;
    if (i < p + m->diff)
        return false;
    det_row(m, t, z);
    *y = sval(m, in, false, i, t);
    bool ok = isfinite(*y);
    for (size_t j = 1; j <= p; j++) {
        z[m->ndet + j - 1] = sval(m, in, false, i - j, t - (int64_t)j);
        z[m->ndet + p + j - 1] = xtilde(m, in, i - j, t - (int64_t)j);
        ok = ok && isfinite(z[m->ndet + j - 1]) && isfinite(z[m->ndet + p + j - 1]);
    }
    return ok;
}

/* Fit a new history on the window; *m is unchanged unless it succeeds. */
static bool start(lw_leadmon_t *m, const lw_leadmon_opts_t *o, const lw_leadmon_input_t *in)
{
    if (in->lag < 1 || in->n < 2)
        return false;
    lw_leadmon_t nm = *m;
    nm.season = in->season >= 2 && in->season <= LW_LEADMON_MAX_PROFILE ? (uint32_t)in->season : 0;
    nm.log_x = in->log_x;
    nm.log_y = in->log_y;
    nm.diff = in->diff;
    nm.t0 = in->last_index - (int64_t)(in->n - 1);
    nm.profile = 0;
    /* a season too long for dummies: phase means, or none when a phase has too few values */
    if (nm.season > LW_LEADMON_MAX_SEASON && !fit_profiles(&nm, in))
        nm.season = 0;
    nm.ndet = 1u + (nm.season && !nm.profile ? nm.season - 1u : 0u);
    /* the candidate lags: up to the analysis' lag, as far as ndet + 2 lag columns fit the
     * stop monitor (an hourly analysis choosing a lag above 20 used to leave it idle) */
    const size_t lag_fit = (LW_STOPMON_MAX_K - nm.ndet) / 2;
    const size_t lagmax = in->lag < lag_fit ? in->lag : lag_fit;
    nm.lag = (uint32_t)lagmax;
    memset(nm.cx, 0, sizeof nm.cx);
    const size_t n = in->n, nd = nm.ndet, kmax = nd + 2 * (size_t)nm.lag;
    double *Z = malloc(n * kmax * sizeof(double)), *yv = malloc(n * sizeof(double));
    unsigned char lead[LW_STOPMON_MAX_K] = {0};
    lw_ols_t *ols = NULL;
    bool ok = false;
    char err[256];
    if (!Z || !yv)
        goto free_arrays;
    /* 1. x on d */
    size_t nx = 0;
    for (size_t i = 0; i < n; i++) {
        const double v = sval(&nm, in, true, i, nm.t0 + (int64_t)i);
        if (!isfinite(v))
            continue;
        det_row(&nm, nm.t0 + (int64_t)i, Z + nx * nd);
        yv[nx++] = v;
    }
    if (nx <= nd || lw_ols_new(n, kmax, &ols, err, sizeof err) != LW_OK)
        goto free_arrays;
    lw_ols_result_t fit;
    if (lw_ols_fit(ols, Z, yv, nx, nd, 0, 0, &fit, err, sizeof err) != LW_OK)
        goto free_ols;
    memcpy(nm.cx, fit.params, nd * sizeof(double));
    /* 2. the monitored lag: BIC over 1..lag on the rows where every
     * candidate is defined (the analysis' lag comes from AIC, whose choice
     * on a 90-row window wanders far above the true lag; each extra lag
     * adds a noisy lead coefficient that the stop LLR reads as lead) */
    size_t best = lagmax;
    double best_ic = (double)INFINITY;
    for (size_t p = 1; p <= lagmax && lagmax > 1; p++) {
        nm.lag = (uint32_t)p;
        const size_t kp = nd + 2 * p;
        size_t np = 0;
        for (size_t i = lagmax + nm.diff; i < n; i++)
            if (design_row(&nm, in, i, nm.t0 + (int64_t)i, Z + np * kp, &yv[np]))
                np++;
        if (np <= kp + 1 || lw_ols_fit(ols, Z, yv, np, kp, 0, 0, &fit, err, sizeof err) != LW_OK)
            continue;
        const double ic = lw_ols_ic(fit.ssr, np, (double)kp, true);
        if (ic < best_ic) {
            best_ic = ic;
            best = p;
        }
    }
    nm.lag = (uint32_t)best;
    const size_t k = nd + 2 * best;
    /* 3. the monitored regression over the window */
    size_t nh = 0;
    for (size_t i = 0; i < n; i++)
        if (design_row(&nm, in, i, nm.t0 + (int64_t)i, Z + nh * k, &yv[nh]))
            nh++;
    for (size_t j = nd + nm.lag; j < k; j++)
        lead[j] = 1;
    /* alpha per re-base period such that a year of them has probability o->alpha divided by
     * the measured excess (leadmon.h, LW_LEADMON_ALPHA_EXCESS) */
    const double alpha_h = -expm1(log1p(-o->alpha / LW_LEADMON_ALPHA_EXCESS) * o->rebase / o->year);
    if (lw_stopmon_init(&nm.cusum, yv, Z, nh, k, lead, alpha_h, o->rebase, err, sizeof err) !=
        LW_OK)
        goto free_ols;
    /* the phase means are s - 1 more parameters of y's fit (leadmon.h) */
    if (nm.profile && lw_stopmon_absorb(&nm.cusum, nm.season - 1u, err, sizeof err) != LW_OK)
        goto free_ols;
    /* the simulated threshold (monitor.h); seeded by the history's place and
     * lag so a live run and a catch-up compute the same h; on failure
     * Siegmund's stays */
    if (o->reps >= 100)
        (void)lw_stopmon_calibrate(&nm.cusum, yv, Z, nh, o->reps,
                                   (uint64_t)nm.t0 * 0x9E3779B97F4A7C15u ^ nm.lag, err, sizeof err);
    nm.phase = LW_LEADMON_WATCHING;
    nm.streak = 0;
    nm.last_index = in->last_index;
    nm.alarm_index = 0;
    nm.starts++;
    *m = nm;
    ok = true;
free_ols:
    lw_ols_destroy(ols);
free_arrays:
    free(Z);
    free(yv);
    return ok;
}

/* Feed the window's buckets newer than m->last_index; true on an alarm. */
static bool feed(lw_leadmon_t *m, const lw_leadmon_input_t *in)
{
    if (in->n == 0 || in->last_index <= m->last_index)
        return false;
    const int64_t first = in->last_index - (int64_t)(in->n - 1);
    for (int64_t t = m->last_index + 1; t <= in->last_index; t++) {
        double z[LW_STOPMON_MAX_K], y;
        bool alarm = false;
        m->last_index = t;
        if (t < first || !design_row(m, in, (size_t)(t - first), t, z, &y) ||
            lw_stopmon_update(&m->cusum, z, y, NULL, &alarm, NULL, 0) != LW_OK) {
            m->skipped++;
            continue;
        }
        if (alarm) {
            m->phase = LW_LEADMON_ALARMED;
            m->alarm_index = t;
            m->streak = 0; /* last_index = t: the same state whatever the batch size */
            return true;
        }
    }
    return false;
}

lw_leadmon_phase_t lw_leadmon_step(lw_leadmon_t *m, const lw_leadmon_opts_t *o,
                                   const lw_leadmon_input_t *in)
{
    if (m->version != LW_LEADMON_VERSION) {
        memset(m, 0, sizeof *m);
        m->version = LW_LEADMON_VERSION;
    }
    const uint32_t need = o->arm_after > 0 ? o->arm_after : 1;
    switch ((lw_leadmon_phase_t)m->phase) {
    case LW_LEADMON_IDLE:
    case LW_LEADMON_ALARMED:
        if (in->leading)
            m->streak = m->streak < UINT32_MAX ? m->streak + 1 : m->streak;
        else if (!in->hold)
            m->streak = 0;
        if (m->streak >= need)
            start(m, o, in);
        break;
    case LW_LEADMON_WATCHING:
        if (!feed(m, in) && (double)m->cusum.rows >= o->rebase && in->leading)
            start(m, o, in); /* re-base; on failure the old history goes on */
        break;
    }
    return (lw_leadmon_phase_t)m->phase;
}

bool lw_leadmon_check(const lw_leadmon_t *m)
{
    if (m->version == 0)
        return m->phase == LW_LEADMON_IDLE;
    if (m->version != LW_LEADMON_VERSION || m->phase > LW_LEADMON_ALARMED || m->log_x > 1 ||
        m->log_y > 1 || m->diff > 1 || m->profile > 1 || m->season == 1 ||
        m->season > (m->profile ? LW_LEADMON_MAX_PROFILE : LW_LEADMON_MAX_SEASON) ||
        (m->profile && m->season <= LW_LEADMON_MAX_SEASON))
        return false;
    if (m->phase == LW_LEADMON_IDLE && m->starts == 0)
        return true;
    if (m->lag < 1 || m->ndet + 2 * (uint64_t)m->lag > LW_STOPMON_MAX_K ||
        m->ndet != 1u + (m->season && !m->profile ? m->season - 1u : 0u) ||
        !lw_stopmon_check(&m->cusum) || m->cusum.k != m->ndet + 2 * m->lag)
        return false;
    for (uint32_t j = 0; j < m->ndet; j++)
        if (!isfinite(m->cx[j]))
            return false;
    for (uint32_t p = 0; m->profile && p < m->season; p++)
        if (!isfinite(m->prof_x[p]) || !isfinite(m->prof_y[p]))
            return false;
    return m->phase != LW_LEADMON_ALARMED || m->alarm_index <= m->last_index;
}
