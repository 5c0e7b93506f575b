/*
 * simulate.c - the product simulator (see simulate.h, docs/SIMULATOR.md).
 *
 * Two stages, each with its own GSL mt19937 generator so that changing the
 * volume (scale, users) never changes the latent path:
 *
 * 1. Latent series (lw_sim_new).  For t = -BURN .. days-1 the latent
 *    generator draws, per day and in this order, the seven innovations
 *    e_a, e_s, e_p, e_u, e_q, e_h, e_r ~ N(0,1).  The log deviations are
 *    AR(1) processes (a, s, p, u, q) started at 0; BURN (128) days of
 *    burn-in make the start irrelevant for the default phi <= 0.6
 *    (0.6^100 < 1e-22; a model with phi near the 0.99 bound keeps some of
 *    it).  Rejected: drawing the start from the stationary law - the
 *    burn-in also fills the lagged values day 0 needs, with no special case.
 *    The NSM deviation m_t = b_a a_{t-la} + b_s s_{t-ls} + b_p(t) p_{t-lp}
 *    + u_t, the follower h_t = c_h m_{t-lh} + sigma_h e_h, the KPI r_t =
 *    c_r m_{t-lr} + sigma_r e_r.  b_p(t) is 0 from break_day on.  Levels
 *    multiply a base by scale * exp(weekly[dow] + deviation).  Stored as
 *    seven doubles per day: O(days).
 *
 * 2. Realisation (lazily, one UTC day at a time, from the second
 *    generator).  K = min(pool, round(A_t)) users are drawn without
 *    replacement by a partial Fisher-Yates shuffle of a persistent
 *    permutation of the pool (O(K) per day, uniform whatever the previous
 *    state).  Each active user gets one session, plus Poisson(K (S_t - 1))
 *    extra sessions on random active users; session starts follow an
 *    hourly diurnal profile (gsl_ran_discrete).  Track plays
 *    (Poisson(M_t / mean_track_ms)), playlists, searches, shares and
 *    purchases (Poisson(R_t / mean price)) each attach to a uniformly
 *    chosen session: its user, a time in [start, start + 45 min) clipped to
 *    the day.  So every event lies inside its generation day and every
 *    track_played user also has a session_start that day: the distinct
 *    count is exact and is recounted with a bitmap over the pool.
 *
 * Delivery.  Each event gets deliver = event + min(10 min, Exp(jitter)), or
 * with probability late_share deliver = event + U[1 h, 36 h].  Pending
 * events sit in one binary min-heap keyed (deliver_ms, seq); seq is the
 * generation index, so the order is total and deterministic.  Day g is
 * generated as soon as the heap is empty or its minimum is delivered at or
 * after g's midnight: events of day g are never delivered before that
 * midnight, so nothing can overtake the heap minimum.  The heap therefore
 * holds about one day plus the late tail of the two before it.
 *
 * Formatting is hand-rolled (put_* below) rather than snprintf: measured
 * on this machine, snprintf of one such line costs 0.52 us (at most 1.9 M
 * lines/s before any generation), while the whole pipeline here -
 * generation, heap and hand-rolled formatting - takes 0.26 us per line
 *  (3.7 M lines/s); the demo needs >= 1 M lines/s.
 *
 * Rejected: generating events in time order per day and merging days (no
 * heap) - late events cross two day boundaries, so a merge of per-day
 * sorted runs plus a late queue is more code for no measured gain.
 *
 * Identities.  userId is "u<index+1>".  A fixed, hash-chosen share of the
 * pool are anonymous listeners who send only anonymousId = 16 hex digits of
 * a bijective 64-bit mix of their index, so ids never collide and each user
 * has exactly one id.  messageId is a UUID-shaped rendering of two mixes of
 * (seed, seq).  Platform is a per-user attribute (45% ios, 40% android,
 * 15% web).
 */
#include "leadwatch/model/simulate.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "leadwatch/core/timeutil.h"

#define BURN 128
#define SESSION_SPAN_MS (45 * 60000)
#define JITTER_CAP_MS (10 * 60000)
#define LATE_MIN_MS LW_MS_PER_HOUR
/* Bound on events generated for one day (heap and session buffers). */
#define MAX_EVENTS_PER_DAY (UINT32_C(1) << 27)

enum { LAT_A = 0, LAT_S, LAT_P, LAT_M, LAT_Q, LAT_H, LAT_R, LAT__N };

typedef struct {
    int64_t deliver_ms;
    int64_t event_ms;
    uint64_t seq;
    uint32_t user;
    uint32_t value; /* duration_ms, revenue cents, or a property draw */
    uint8_t type;
    uint8_t aux; /* purchase product / share channel index */
} sim_event_t;

typedef struct {
    uint32_t user;
    int32_t start; /* ms of day */
    int32_t span;  /* ms, >= 1 */
} sim_session_t;

struct lw_sim {
    lw_sim_opts_t opts;
    lw_sim_model_t model;
    double *lat; /* (BURN + days) * LAT__N deviations, row t + BURN */
    lw_sim_day_t *truth;
    int next_day;

    gsl_rng *rng;
    gsl_ran_discrete_t *diurnal;
    uint32_t *perm;    /* permutation of the pool */
    uint64_t *bitmap;  /* distinct users of the day being generated */
    uint64_t *exposed; /* experiments: (experiment, user) already sent an exposure; bit k*users+u */
    sim_session_t *sess;
    size_t sess_cap;

    sim_event_t *heap;
    size_t heap_n, heap_cap;
    uint64_t seq;
    uint64_t key; /* hash key derived from the seed */

    int64_t date_day[4]; /* cache of "YYYY-MM-DDT" per absolute day */
    char date_txt[4][12];
    uint64_t xctr; /* counter of the experiments' hash-based draws */
};

static const char *const EVENT_NAMES[LW_SIM_EV__COUNT] = {
    "session_start", "track_played", "playlist_created", "search",
    "track_shared",  "purchase",     "Experiment Viewed"};
static const char *const EXP_KINDS[3] = {"driver", "proxy", "null"};
static const char *const PLATFORMS[3] = {"ios", "android", "web"};
static const char *const CHANNELS[4] = {"whatsapp", "instagram", "link", "messages"};
static const char *const PRODUCTS[3] = {"tip", "premium_month", "premium_family"};
static const uint32_t PRICE_CENTS[3] = {499, 999, 1499};
static const double PRICE_P[3] = {0.50, 0.35, 0.15};
/* UTC hourly weights of session starts: quiet nights, evening peak. */
static const double DIURNAL[24] = {1.2, 0.8, 0.5, 0.4, 0.4, 0.6, 1.2, 2.2, 3.0, 3.0, 3.0, 3.2,
                                   3.6, 3.4, 3.2, 3.2, 3.6, 4.2, 4.8, 5.4, 5.6, 5.0, 3.6, 2.2};

const char *lw_sim_event_name(lw_sim_event_type_t t)
{
    return (unsigned)t < LW_SIM_EV__COUNT ? EVENT_NAMES[t] : "unknown";
}

void lw_sim_model_default(lw_sim_model_t *m)
{
    static const double weekly[7] = {-0.06, -0.08, -0.06, -0.03, 0.04, 0.10, 0.09};
    memset(m, 0, sizeof *m);
    memcpy(m->weekly, weekly, sizeof weekly);
    m->users_base = 2500, m->users_phi = 0.6, m->users_sigma = 0.08;
    m->spu_base = 1.6, m->spu_phi = 0.5, m->spu_sigma = 0.08;
    m->playlists_base = 500, m->playlists_phi = 0.5, m->playlists_sigma = 0.15;
    m->listen_base_ms = 3.0e9;
    m->b_users = 1.0, m->b_spu = 1.0, m->b_playlists = 0.9;
    m->lag_users = 1, m->lag_spu = 2, m->lag_playlists = 3;
    m->listen_phi = 0.3, m->listen_sigma = 0.03;
    m->searches_base = 5000, m->searches_phi = 0.5, m->searches_sigma = 0.08;
    m->shares_base = 800, m->c_shares = 1.0, m->shares_sigma = 0.05, m->lag_shares = 2;
    m->revenue_base = 1650, m->c_revenue = 1.0, m->revenue_sigma = 0.04, m->lag_revenue = 5;
    m->mean_track_ms = 190000;
    m->anonymous_share = 0.03;
    m->late_share = 0.005;
    m->jitter_mean_ms = 120000;
}

lw_err_t lw_sim_model_set(lw_sim_model_t *m, const char *name, double v, char *errstr,
                          size_t errstr_size)
{
#define D(f)                                                                                       \
    {                                                                                              \
#f, offsetof(lw_sim_model_t, f), false                                                     \
    }
#define I(f)                                                                                       \
    {                                                                                              \
#f, offsetof(lw_sim_model_t, f), true                                                      \
    }
    static const struct {
        const char *name;
        size_t off;
        bool is_int;
    } fields[] = {D(users_base),      D(users_phi),      D(users_sigma),     D(spu_base),
                  D(spu_phi),         D(spu_sigma),      D(playlists_base),  D(playlists_phi),
                  D(playlists_sigma), D(listen_base_ms), D(b_users),         D(b_spu),
                  D(b_playlists),     I(lag_users),      I(lag_spu),         I(lag_playlists),
                  D(listen_phi),      D(listen_sigma),   D(searches_base),   D(searches_phi),
                  D(searches_sigma),  D(shares_base),    D(c_shares),        D(shares_sigma),
                  I(lag_shares),      D(revenue_base),   D(c_revenue),       D(revenue_sigma),
                  I(lag_revenue),     D(mean_track_ms),  D(anonymous_share), D(late_share),
                  D(jitter_mean_ms)};
#undef D
#undef I
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (strcmp(fields[i].name, name) != 0)
            continue;
        char *at = (char *)m + fields[i].off;
        if (!fields[i].is_int) {
            memcpy(at, &v, sizeof v);
            return LW_OK;
        }
        if (!(v == nearbyint(v) && fabs(v) < 1e9))
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "model.%s: a whole number", name);
        int iv = (int)v;
        memcpy(at, &iv, sizeof iv);
        return LW_OK;
    }
    return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "no model parameter '%s'", name);
}

void lw_sim_opts_default(lw_sim_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->days = 365;
    o->seed = 1;
    o->start_ms = lw_days_from_civil(2024, 1, 1) * LW_MS_PER_DAY;
    o->break_day = -1;
    o->users = 0;
    o->scale = 1.0;
    o->model = NULL;
}

/* splitmix64 finaliser: a bijection on 64-bit values. */
static uint64_t mix64(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* ---- options ---- */

static bool finite_in(double v, double lo, double hi)
{
    return isfinite(v) && v >= lo && v <= hi;
}

static lw_err_t check_model(const lw_sim_model_t *m, char *errstr, size_t errstr_size)
{
    for (int i = 0; i < 7; i++)
        if (!finite_in(m->weekly[i], -2, 2))
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                             "model.weekly[%d] must be in [-2, 2]", i);
    /* One row a parameter with its bounds: rows of one shape are the table, not copies. */
    const struct {
        const char *name;
        double v, lo, hi;
    } num[] = {
        {"users_base", m->users_base, 1e-3, 1e7},
        {"users_phi", m->users_phi, -0.99, 0.99},
        {"users_sigma", m->users_sigma, 0, 1},
        {"spu_base", m->spu_base, 1, 100},
        {"spu_phi", m->spu_phi, -0.99, 0.99},
        {"spu_sigma", m->spu_sigma, 0, 1},
        {"playlists_base", m->playlists_base, 1e-3, 1e7},
        {"playlists_phi", m->playlists_phi, -0.99, 0.99},
        {"playlists_sigma", m->playlists_sigma, 0, 1},
        {"listen_base_ms", m->listen_base_ms, 1, 1e13},
        {"b_users", m->b_users, -5, 5},
        {"b_spu", m->b_spu, -5, 5},
        {"b_playlists", m->b_playlists, -5, 5},
        {"listen_phi", m->listen_phi, -0.99, 0.99},
        {"listen_sigma", m->listen_sigma, 0, 1},
        {"searches_base", m->searches_base, 1e-3, 1e7},
        {"searches_phi", m->searches_phi, -0.99, 0.99},
        {"searches_sigma", m->searches_sigma, 0, 1},
        {"shares_base", m->shares_base, 1e-3, 1e7},
        {"c_shares", m->c_shares, -5, 5},
        {"shares_sigma", m->shares_sigma, 0, 1},
        {"revenue_base", m->revenue_base, 1e-3, 1e9},
        {"c_revenue", m->c_revenue, -5, 5},
        {"revenue_sigma", m->revenue_sigma, 0, 1},
        {"mean_track_ms", m->mean_track_ms, 1000, 1e6},
        {"anonymous_share", m->anonymous_share, 0, 1},
        {"late_share", m->late_share, 0, 0.5},
        {"jitter_mean_ms", m->jitter_mean_ms, 0, (double)JITTER_CAP_MS},
    };
    for (size_t i = 0; i < sizeof num / sizeof num[0]; i++)
        if (!finite_in(num[i].v, num[i].lo, num[i].hi))
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "model.%s must be in [%g, %g]",
                             num[i].name, num[i].lo, num[i].hi);
    const struct {
        const char *name;
        int v;
    } lags[] = {{"lag_users", m->lag_users},
                {"lag_spu", m->lag_spu},
                {"lag_playlists", m->lag_playlists},
                {"lag_shares", m->lag_shares},
                {"lag_revenue", m->lag_revenue}};
    for (size_t i = 0; i < sizeof lags / sizeof lags[0]; i++)
        if (lags[i].v < 1 || lags[i].v > LW_SIM_MAX_LAG)
            return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "model.%s must be in 1..%d",
                             lags[i].name, LW_SIM_MAX_LAG);
    return LW_OK;
}

static lw_err_t check_opts(const lw_sim_opts_t *o, char *errstr, size_t errstr_size)
{
    const int64_t min_start = lw_days_from_civil(2000, 1, 1) * LW_MS_PER_DAY;
    const int64_t max_end = lw_days_from_civil(9999, 1, 1) * LW_MS_PER_DAY;
    if (o->days < 1 || o->days > LW_SIM_MAX_DAYS)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "days must be in 1..%d (got %d)",
                         LW_SIM_MAX_DAYS, o->days);
    if (o->start_ms % LW_MS_PER_DAY != 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "start must be a UTC midnight");
    if (o->start_ms < min_start || o->start_ms > max_end - (int64_t)o->days * LW_MS_PER_DAY)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "start must be on or after 2000-01-01 and the run must end before 9999");
    if (o->break_day < -1 || o->break_day >= o->days)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "break_day must be -1 (none) or in 0..%d (got %d)", o->days - 1,
                         o->break_day);
    if (o->users < 0 || o->users > LW_SIM_MAX_USERS)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "users must be in 1..%ld, or 0 for automatic (got %ld)", LW_SIM_MAX_USERS,
                         o->users);
    if (!(isfinite(o->scale) && o->scale > 0 && o->scale <= LW_SIM_MAX_SCALE))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "scale must be in (0, %g]",
                         LW_SIM_MAX_SCALE);
    if (o->experiments < 0 || o->experiments > LW_SIM_MAX_EXPERIMENTS)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "experiments must be in 0..%d",
                         LW_SIM_MAX_EXPERIMENTS);
    return LW_OK;
}

/* ---- latent series ---- */

static double *lat_row(const lw_sim_t *sim, int t)
{
    assert(t >= -BURN && t < sim->opts.days);
    return sim->lat + (size_t)(t + BURN) * LAT__N;
}

/* Deviation k at day t, or 0 before the burn-in start. */
static double lat_at(const lw_sim_t *sim, int t, int k)
{
    return t < -BURN ? 0.0 : lat_row(sim, t)[k];
}

static double b_playlists_at(const lw_sim_t *sim, int t)
{
    return sim->opts.break_day >= 0 && t >= sim->opts.break_day ? 0.0 : sim->model.b_playlists;
}

static void build_latent(lw_sim_t *sim, gsl_rng *r)
{
    const lw_sim_model_t *m = &sim->model;
    double a = 0, s = 0, p = 0, u = 0, q = 0;
    for (int t = -BURN; t < sim->opts.days; t++) {
        double e[LAT__N];
        for (int k = 0; k < LAT__N; k++)
            e[k] = gsl_ran_gaussian(r, 1.0);
        a = m->users_phi * a + m->users_sigma * e[0];
        s = m->spu_phi * s + m->spu_sigma * e[1];
        p = m->playlists_phi * p + m->playlists_sigma * e[2];
        u = m->listen_phi * u + m->listen_sigma * e[3];
        q = m->searches_phi * q + m->searches_sigma * e[4];
        double *row = lat_row(sim, t);
        row[LAT_A] = a;
        row[LAT_S] = s;
        row[LAT_P] = p;
        row[LAT_Q] = q;
        row[LAT_M] = m->b_users * lat_at(sim, t - m->lag_users, LAT_A) +
                     m->b_spu * lat_at(sim, t - m->lag_spu, LAT_S) +
                     b_playlists_at(sim, t) * lat_at(sim, t - m->lag_playlists, LAT_P) + u;
        row[LAT_H] = m->c_shares * lat_at(sim, t - m->lag_shares, LAT_M) + m->shares_sigma * e[5];
        row[LAT_R] =
            m->c_revenue * lat_at(sim, t - m->lag_revenue, LAT_M) + m->revenue_sigma * e[6];
    }
}

static int dow_of(const lw_sim_t *sim, int day)
{
    int64_t abs_day = sim->opts.start_ms / LW_MS_PER_DAY + day;
    return (int)((abs_day + 3) % 7); /* 1970-01-01 was a Thursday (3 with Monday = 0) */
}

lw_err_t lw_sim_latent(const lw_sim_t *sim, int day, lw_sim_latent_t *out)
{
    if (day < 0 || day >= sim->opts.days)
        return LW_ERR_INVALID;
    const lw_sim_model_t *m = &sim->model;
    const double *row = lat_row(sim, day);
    const double sc = sim->opts.scale;
    memset(out, 0, sizeof *out);
    out->dow = dow_of(sim, day);
    out->weekly = m->weekly[out->dow];
    out->a = row[LAT_A], out->s = row[LAT_S], out->p = row[LAT_P], out->m = row[LAT_M];
    out->q = row[LAT_Q], out->h = row[LAT_H], out->r = row[LAT_R];
    const double w = out->weekly;
    out->active_users = m->users_base * sc * exp(w + out->a);
    out->sessions_per_user = fmax(1.0, m->spu_base * exp(w + out->s));
    out->playlists = m->playlists_base * sc * exp(w + out->p);
    out->listening_ms = m->listen_base_ms * sc * exp(w + out->m);
    out->searches = m->searches_base * sc * exp(w + out->q);
    out->shares = m->shares_base * sc * exp(w + out->h);
    out->revenue = m->revenue_base * sc * exp(w + out->r);
    out->b_playlists = b_playlists_at(sim, day);
    return LW_OK;
}

/* ---- lifecycle ---- */

void lw_sim_destroy(lw_sim_t *sim)
{
    if (!sim)
        return;
    LW_FREE_ALL(sim->heap, sim->sess, sim->bitmap, sim->exposed, sim->perm, sim->truth, sim->lat);
    if (sim->diurnal)
        gsl_ran_discrete_free(sim->diurnal);
    if (sim->rng)
        gsl_rng_free(sim->rng);
    free(sim);
}

lw_sim_t *lw_sim_new(const lw_sim_opts_t *opts, char *errstr, size_t errstr_size)
{
    gsl_set_error_handler_off();
    lw_sim_model_t model;
    if (opts->model)
        model = *opts->model;
    else
        lw_sim_model_default(&model);
    if (check_opts(opts, errstr, errstr_size) != LW_OK ||
        check_model(&model, errstr, errstr_size) != LW_OK)
        return NULL;

    lw_sim_t *sim = calloc(1, sizeof *sim);
    if (!sim)
        goto fail_nomem;
    sim->opts = *opts;
    sim->model = model;
    sim->opts.model = &sim->model;
    if (sim->opts.users == 0) {
        double auto_users = ceil(4.0 * model.users_base * opts->scale);
        sim->opts.users = auto_users > (double)LW_SIM_MAX_USERS ? LW_SIM_MAX_USERS
                          : auto_users < 1                      ? 1
                                                                : (long)auto_users;
    }
    const size_t users = (size_t)sim->opts.users;
    const size_t days = (size_t)opts->days;

    sim->lat = malloc((BURN + days) * LAT__N * sizeof *sim->lat);
    sim->truth = calloc(days, sizeof *sim->truth);
    sim->perm = malloc(users * sizeof *sim->perm);
    sim->bitmap = calloc((users + 63) / 64, sizeof *sim->bitmap);
    sim->rng = gsl_rng_alloc(gsl_rng_mt19937);
    sim->diurnal = gsl_ran_discrete_preproc(24, DIURNAL);
    if (opts->experiments > 0) {
        size_t bits = users * (size_t)opts->experiments;
        if (bits / (size_t)opts->experiments != users || bits > (size_t)1 << 34) {
            lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                      "users x experiments above 2^34 (the exposure bitmap would pass 2 GiB)");
            lw_sim_destroy(sim);
            return NULL;
        }
        sim->exposed = calloc((bits + 63) / 64, sizeof *sim->exposed);
        if (!sim->exposed)
            goto fail_destroy;
    }
    if (!sim->lat || !sim->truth || !sim->perm || !sim->bitmap || !sim->rng || !sim->diurnal)
        goto fail_destroy;

    sim->key = mix64(opts->seed ^ UINT64_C(0x6c65616477617463)); /* "leadwatc" */
    gsl_rng *latent_rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!latent_rng)
        goto fail_destroy;
    gsl_rng_set(latent_rng, (unsigned long)(mix64(sim->key + 1) & 0xffffffffu));
    build_latent(sim, latent_rng);
    gsl_rng_free(latent_rng);
    gsl_rng_set(sim->rng, (unsigned long)(mix64(sim->key + 2) & 0xffffffffu));

    for (size_t i = 0; i < users; i++)
        sim->perm[i] = (uint32_t)i;
    for (size_t d = 0; d < days; d++)
        sim->truth[d].day_start_ms = opts->start_ms + (int64_t)d * LW_MS_PER_DAY;
    for (int i = 0; i < 4; i++)
        sim->date_day[i] = INT64_MIN;
    return sim;

fail_destroy:
    lw_sim_destroy(sim);
fail_nomem:
    lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory building the simulator");
    return NULL;
}

const lw_sim_opts_t *lw_sim_opts(const lw_sim_t *sim)
{
    return &sim->opts;
}

const lw_sim_model_t *lw_sim_model(const lw_sim_t *sim)
{
    return &sim->model;
}

int lw_sim_days_generated(const lw_sim_t *sim)
{
    return sim->next_day;
}

lw_err_t lw_sim_truth(const lw_sim_t *sim, int day, lw_sim_day_t *out)
{
    if (day < 0 || day >= sim->opts.days)
        return LW_ERR_INVALID;
    if (day >= sim->next_day)
        return LW_ERR_NOT_FOUND;
    *out = sim->truth[day];
    return LW_OK;
}

/* ---- the pending heap, ordered by (deliver_ms, seq) ---- */

static bool ev_before(const sim_event_t *x, const sim_event_t *y)
{
    return x->deliver_ms < y->deliver_ms || (x->deliver_ms == y->deliver_ms && x->seq < y->seq);
}

/*
 * The array `arr` (elements of `size` bytes, capacity *cap) grown to hold
 * `need` elements, doubling from `first`: arr itself when it already does, a
 * new array with *cap updated, or NULL when out of memory (arr is then
 * untouched and still the caller's).
 */
static void *reserve(void *arr, size_t *cap, size_t need, size_t first, size_t size)
{
    if (arr && need <= *cap)
        return arr;
    size_t c = *cap ? *cap : first;
    while (c < need)
        c *= 2;
    void *grown = realloc(arr, c * size);
    if (grown)
        *cap = c;
    return grown;
}

static lw_err_t heap_reserve(lw_sim_t *sim, size_t extra)
{
    size_t need = sim->heap_n + extra;
    if (need > (size_t)MAX_EVENTS_PER_DAY * 3)
        return LW_ERR_TOO_LARGE;
    sim_event_t *h = reserve(sim->heap, &sim->heap_cap, need, 4096, sizeof *h);
    if (!h)
        return LW_ERR_NOMEM;
    sim->heap = h;
    return LW_OK;
}

static void heap_push(lw_sim_t *sim, const sim_event_t *ev)
{
    assert(sim->heap_n < sim->heap_cap);
    size_t i = sim->heap_n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ev_before(ev, &sim->heap[parent]))
            break;
        sim->heap[i] = sim->heap[parent];
        i = parent;
    }
    sim->heap[i] = *ev;
}

static void heap_pop(lw_sim_t *sim, sim_event_t *out)
{
    assert(sim->heap_n > 0);
    *out = sim->heap[0];
    sim_event_t last = sim->heap[--sim->heap_n];
    size_t n = sim->heap_n, i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ev_before(&sim->heap[c + 1], &sim->heap[c]))
            c++;
        if (!ev_before(&sim->heap[c], &last))
            break;
        sim->heap[i] = sim->heap[c];
        i = c;
    }
    if (n > 0)
        sim->heap[i] = last;
}

/* ---- realisation of one day ---- */

static uint32_t poisson(gsl_rng *r, double mu)
{
    return mu > 0 ? gsl_ran_poisson(r, mu) : 0;
}

static lw_err_t sess_reserve(lw_sim_t *sim, size_t need)
{
    sim_session_t *s = reserve(sim->sess, &sim->sess_cap, need, 1024, sizeof *s);
    if (!s)
        return LW_ERR_NOMEM;
    sim->sess = s;
    return LW_OK;
}

static void bitmap_set(uint64_t *bm, uint32_t i)
{
    bm[i >> 6] |= UINT64_C(1) << (i & 63);
}

/* Add one event at `ms_of_day` in session `s` of day `day`; updates truth. */
static void emit(lw_sim_t *sim, int day, const sim_session_t *s, int type, uint32_t value,
                 uint8_t aux, int32_t ms_of_day)
{
    gsl_rng *r = sim->rng;
    const lw_sim_model_t *m = &sim->model;
    lw_sim_day_t *t = &sim->truth[day];
    sim_event_t ev;
    ev.event_ms = t->day_start_ms + ms_of_day;
    ev.seq = sim->seq++;
    ev.user = s->user;
    ev.value = value;
    ev.type = (uint8_t)type;
    ev.aux = aux;
    int64_t delay;
    if (m->late_share > 0 && gsl_rng_uniform(r) < m->late_share) {
        delay = LATE_MIN_MS + (int64_t)gsl_rng_uniform_int(
                                  r, (unsigned long)(LW_SIM_MAX_LATENESS_MS - LATE_MIN_MS + 1));
    } else {
        double j = m->jitter_mean_ms > 0 ? gsl_ran_exponential(r, m->jitter_mean_ms) : 0.0;
        delay = j >= (double)JITTER_CAP_MS ? JITTER_CAP_MS : (int64_t)j;
    }
    ev.deliver_ms = ev.event_ms + delay;
    heap_push(sim, &ev);

    t->count[type]++;
    if (delay >= LW_MS_PER_HOUR)
        t->late++;
    if (type == LW_SIM_TRACK_PLAYED) {
        t->duration_ms += value;
        bitmap_set(sim->bitmap, s->user);
    } else if (type == LW_SIM_SESSION_START) {
        bitmap_set(sim->bitmap, s->user);
    } else if (type == LW_SIM_PURCHASE) {
        t->revenue_cents += value;
    }
}

/* ---- experiments (issue 16) ----
 *
 * Every draw is a hash (mix64) of the key and a counter or of (experiment,
 * user), never the generators above, so the base stream's draws are the
 * same with and without experiments (the extra events' delivery delays do
 * come from the realisation generator, so later lines shift).  Experiment k
 * starts on day k * (days - 70) / n (0 for runs under 70 days); while it
 * runs (70 days) a user is in it with probability 1/2 and in treatment with
 * probability 1/2, both fixed per (k, user).  Its first session in the
 * first 14 days is preceded by an `Experiment Viewed` event (once per user
 * and experiment: a bitmap of users x experiments bits).  Every session of a
 * TREATED user while the experiment runs draws its effect with probability
 * `effect` (0.02 + 0.10 u, u uniform per experiment): driver: one extra session
 * with 3 plays of mean_track_ms each (sessions per user and listening
 * move); proxy: one extra playlist_created (an input moves, the NSM does
 * not); null: nothing. */

lw_err_t lw_sim_experiment(const lw_sim_t *sim, int k, lw_sim_experiment_t *out)
{
    const int n = sim->opts.experiments, days = sim->opts.days;
    if (k < 0 || k >= n)
        return LW_ERR_INVALID;
    out->kind = (lw_sim_exp_kind_t)(k % 3);
    snprintf(out->name, sizeof out->name, "exp_%02d_%s", k, EXP_KINDS[out->kind]);
    out->start_day =
        days > LW_SIM_EXP_EFFECT_DAYS ? (int)((int64_t)k * (days - LW_SIM_EXP_EFFECT_DAYS) / n) : 0;
    uint64_t h = mix64(sim->key ^ (UINT64_C(0x5851f42d4c957f2d) * (uint64_t)(k + 1)));
    out->effect = out->kind == LW_SIM_EXP_NULL ? 0 : 0.02 + 0.10 * (double)(h >> 11) * 0x1p-53;
    return LW_OK;
}

static double xuniform(lw_sim_t *sim)
{
    return (double)(mix64(sim->key ^ (UINT64_C(0x9e3779b97f4a7c15) * ++sim->xctr)) >> 11) * 0x1p-53;
}

/* 0: not in experiment k; 1: control; 2: treatment. */
static int exp_arm(const lw_sim_t *sim, int k, uint32_t user)
{
    uint64_t h = mix64(sim->key ^ ((uint64_t)(k + 1) << 40) ^ (uint64_t)user);
    return (h & 1) == 0 ? 0 : 1 + (int)((h >> 1) & 1);
}

static void emit(lw_sim_t *sim, int day, const sim_session_t *s, int type, uint32_t value,
                 uint8_t aux, int32_t ms_of_day);

/* The exposures and treatment effects of the day's first n_sess sessions. */
static lw_err_t experiment_day(lw_sim_t *sim, int day, uint64_t n_sess)
{
    lw_sim_experiment_t ex[LW_SIM_MAX_EXPERIMENTS];
    int live[LW_SIM_MAX_EXPERIMENTS], nlive = 0;
    for (int k = 0; k < sim->opts.experiments; k++) {
        lw_sim_experiment(sim, k, &ex[k]);
        if (day >= ex[k].start_day && day < ex[k].start_day + LW_SIM_EXP_EFFECT_DAYS)
            live[nlive++] = k;
    }
    size_t most = 0; /* an upper bound on the events added below, for the heap */
    for (uint64_t i = 0; i < n_sess; i++)
        for (int j = 0; j < nlive; j++) {
            int k = live[j], arm = exp_arm(sim, k, sim->sess[i].user);
            most += arm == 0 ? 0 : 1 + (arm == 2 && ex[k].kind != LW_SIM_EXP_NULL ? 4 : 0);
            /* (an upper bound: exposures are sent once per user) */
        }
    lw_err_t err = heap_reserve(sim, most);
    if (err != LW_OK)
        return err;
    for (uint64_t i = 0; i < n_sess; i++) {
        const sim_session_t s = sim->sess[i];
        for (int j = 0; j < nlive; j++) {
            int k = live[j], arm = exp_arm(sim, k, s.user);
            if (arm == 0)
                continue;
            size_t bit = (size_t)k * (size_t)sim->opts.users + s.user;
            if (day < ex[k].start_day + LW_SIM_EXP_EXPOSE_DAYS &&
                !(sim->exposed[bit >> 6] & (UINT64_C(1) << (bit & 63)))) {
                sim->exposed[bit >> 6] |= UINT64_C(1) << (bit & 63);
                emit(sim, day, &s, LW_SIM_EXPERIMENT_VIEWED, (uint32_t)(arm - 1), (uint8_t)k,
                     s.start);
            }
            if (arm != 2 || ex[k].kind == LW_SIM_EXP_NULL || xuniform(sim) >= ex[k].effect)
                continue;
            if (ex[k].kind == LW_SIM_EXP_PROXY) {
                emit(sim, day, &s, LW_SIM_PLAYLIST_CREATED, 10, 0, s.start + s.span - 1);
            } else {
                emit(sim, day, &s, LW_SIM_SESSION_START, 0, 0, s.start + s.span - 1);
                for (int p = 0; p < 3; p++)
                    emit(sim, day, &s, LW_SIM_TRACK_PLAYED, (uint32_t)sim->model.mean_track_ms, 0,
                         s.start + s.span - 1);
            }
        }
    }
    return LW_OK;
}

static int32_t time_in_session(gsl_rng *r, const sim_session_t *s)
{
    return s->start + (int32_t)gsl_rng_uniform_int(r, (unsigned long)s->span);
}

static lw_err_t generate_day(lw_sim_t *sim, int day)
{
    gsl_rng *r = sim->rng;
    const lw_sim_model_t *m = &sim->model;
    lw_sim_latent_t lt;
    lw_sim_latent(sim, day, &lt);
    const uint32_t pool = (uint32_t)sim->opts.users;

    double k_real = nearbyint(lt.active_users);
    uint32_t k = k_real < 1 ? 1 : k_real >= (double)pool ? pool : (uint32_t)k_real;
    for (uint32_t i = 0; i < k; i++) {
        uint32_t j = i + (uint32_t)gsl_rng_uniform_int(r, pool - i);
        uint32_t tmp = sim->perm[i];
        sim->perm[i] = sim->perm[j];
        sim->perm[j] = tmp;
    }

    const uint32_t extra = poisson(r, (double)k * (lt.sessions_per_user - 1.0));
    const uint32_t n_play = poisson(r, lt.listening_ms / m->mean_track_ms);
    const uint32_t n_pl = poisson(r, lt.playlists);
    const uint32_t n_search = poisson(r, lt.searches);
    const uint32_t n_share = poisson(r, lt.shares);
    double mean_price = 0;
    for (int i = 0; i < 3; i++)
        mean_price += PRICE_P[i] * PRICE_CENTS[i] / 100.0;
    const uint32_t n_buy = poisson(r, lt.revenue / mean_price);
    const uint64_t n_sess = (uint64_t)k + extra;
    const uint64_t total = n_sess + n_play + n_pl + n_search + n_share + n_buy;
    if (total > MAX_EVENTS_PER_DAY)
        return LW_ERR_TOO_LARGE;
    lw_err_t err = sess_reserve(sim, (size_t)n_sess);
    if (err == LW_OK)
        err = heap_reserve(sim, (size_t)total);
    if (err != LW_OK)
        return err;

    for (uint64_t i = 0; i < n_sess; i++) {
        sim_session_t *s = &sim->sess[i];
        s->user = i < k ? sim->perm[i] : sim->perm[gsl_rng_uniform_int(r, k)];
        s->start = (int32_t)(gsl_ran_discrete(r, sim->diurnal) * LW_MS_PER_HOUR +
                             (int64_t)gsl_rng_uniform_int(r, (unsigned long)LW_MS_PER_HOUR));
        int32_t left = (int32_t)LW_MS_PER_DAY - s->start;
        s->span = left < SESSION_SPAN_MS ? left : SESSION_SPAN_MS;
        emit(sim, day, s, LW_SIM_SESSION_START, 0, 0, s->start);
    }
    for (uint32_t i = 0; i < n_play; i++) {
        const sim_session_t *s = &sim->sess[gsl_rng_uniform_int(r, (unsigned long)n_sess)];
        /* gamma(2, mean/2): most plays near the mean, a tail of long ones and
           skips; clipped to [1 s, 20 min]. */
        double d = nearbyint(gsl_ran_gamma(r, 2.0, m->mean_track_ms / 2.0));
        uint32_t dur = d < 1000 ? 1000 : d > 1200000 ? 1200000 : (uint32_t)d;
        emit(sim, day, s, LW_SIM_TRACK_PLAYED, dur, 0, time_in_session(r, s));
    }
    const struct {
        int type;
        uint32_t n;
    } others[] = {{LW_SIM_PLAYLIST_CREATED, n_pl},
                  {LW_SIM_SEARCH, n_search},
                  {LW_SIM_TRACK_SHARED, n_share},
                  {LW_SIM_PURCHASE, n_buy}};
    for (size_t o = 0; o < sizeof others / sizeof others[0]; o++) {
        for (uint32_t i = 0; i < others[o].n; i++) {
            const sim_session_t *s = &sim->sess[gsl_rng_uniform_int(r, (unsigned long)n_sess)];
            uint32_t value = 0;
            uint8_t aux = 0;
            switch (others[o].type) {
            case LW_SIM_PLAYLIST_CREATED: value = 1 + (uint32_t)gsl_rng_uniform_int(r, 40); break;
            case LW_SIM_SEARCH: value = 1 + (uint32_t)gsl_rng_uniform_int(r, 24); break;
            case LW_SIM_TRACK_SHARED: aux = (uint8_t)gsl_rng_uniform_int(r, 4); break;
            case LW_SIM_PURCHASE: {
                double u = gsl_rng_uniform(r);
                aux = u < PRICE_P[0] ? 0 : u < PRICE_P[0] + PRICE_P[1] ? 1 : 2;
                value = PRICE_CENTS[aux];
                break;
            }
            }
            emit(sim, day, s, others[o].type, value, aux, time_in_session(r, s));
        }
    }

    if (sim->opts.experiments > 0 && (err = experiment_day(sim, day, n_sess)) != LW_OK)
        return err;

    /* Distinct users: every play's user has a session, so the session users
       cover the bitmap; count and clear through them. */
    lw_sim_day_t *t = &sim->truth[day];
    uint64_t distinct = 0;
    for (uint64_t i = 0; i < n_sess; i++) {
        uint32_t u = sim->sess[i].user;
        uint64_t *w = &sim->bitmap[u >> 6];
        uint64_t bit = UINT64_C(1) << (u & 63);
        if (*w & bit) {
            distinct++;
            *w &= ~bit;
        }
    }
    t->distinct_users = distinct;
    return LW_OK;
}

/* ---- formatting ---- */

static const char HEX[] = "0123456789abcdef";

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUT_LIT(p, lit) put((p), (lit), sizeof(lit) - 1)

static char *put_str(char *p, const char *s)
{
    return put(p, s, strlen(s));
}

static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_fixed(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

static char *put_hex(char *p, uint64_t v, int digits)
{
    for (int i = digits - 1; i >= 0; i--) {
        p[i] = HEX[v & 15];
        v >>= 4;
    }
    return p + digits;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
/* A generated time as written: opts.hourly writes each day as one hour (monotone: same order). */
static int64_t out_ms(const lw_sim_t *sim, int64_t ms)
{
    return sim->opts.hourly ? sim->opts.start_ms + (ms - sim->opts.start_ms) / 24 : ms;
}

static char *put_timestamp(lw_sim_t *sim, char *p, int64_t ms)
{
    int64_t abs_day = ms / LW_MS_PER_DAY; /* ms > 0: start >= 2000 */
    int slot = (int)(abs_day & 3);
    if (sim->date_day[slot] != abs_day) {
        int64_t y;
        unsigned mo, d;
        lw_civil_from_days(abs_day, &y, &mo, &d);
        char *q = sim->date_txt[slot];
        q = put_fixed(q, (unsigned)y, 4);
        *q++ = '-';
        q = put_fixed(q, mo, 2);
        *q++ = '-';
        q = put_fixed(q, d, 2);
        *q = 'T';
        sim->date_day[slot] = abs_day;
    }
    p = put(p, sim->date_txt[slot], 11);
    unsigned rem = (unsigned)(ms - abs_day * LW_MS_PER_DAY);
    p = put_fixed(p, rem / 3600000u, 2);
    *p++ = ':';
    p = put_fixed(p, rem / 60000u % 60u, 2);
    *p++ = ':';
    p = put_fixed(p, rem / 1000u % 60u, 2);
    *p++ = '.';
    p = put_fixed(p, rem % 1000u, 3);
    *p++ = 'Z';
    return p;
}

static uint64_t user_hash(const lw_sim_t *sim, uint32_t user)
{
    return mix64(sim->key ^ ((uint64_t)user * UINT64_C(0x9e3779b97f4a7c15)));
}

static int user_platform(uint64_t h)
{
    unsigned v = (unsigned)(h % 100);
    return v < 45 ? 0 : v < 85 ? 1 : 2;
}

static bool user_anonymous(const lw_sim_t *sim, uint64_t h)
{
    return (double)((h >> 16) % 1000000) < sim->model.anonymous_share * 1e6;
}

static size_t format_event(lw_sim_t *sim, const sim_event_t *ev, char *buf, lw_slice_t *user)
{
    char *p = buf;
    const uint64_t h = user_hash(sim, ev->user);
    const char *platform = PLATFORMS[user_platform(h)];
    p = PUT_LIT(p, "{\"type\":\"track\",\"event\":\"");
    p = put_str(p, EVENT_NAMES[ev->type]);
    char *id;
    if (user_anonymous(sim, h)) {
        p = PUT_LIT(p, "\",\"anonymousId\":\"");
        id = p;
        p = put_hex(p, mix64(sim->key + 3 + ev->user), 16);
    } else {
        p = PUT_LIT(p, "\",\"userId\":\"");
        id = p;
        *p++ = 'u';
        p = put_u64(p, (uint64_t)ev->user + 1);
    }
    user->ptr = id;
    user->len = (size_t)(p - id);
    p = PUT_LIT(p, "\",\"timestamp\":\"");
    p = put_timestamp(sim, p, out_ms(sim, ev->event_ms));
    p = PUT_LIT(p, "\",\"messageId\":\"");
    uint64_t m1 = mix64(sim->key ^ (ev->seq * 2 + 11)), m2 = mix64(sim->key ^ (ev->seq * 2 + 12));
    m1 = (m1 & ~UINT64_C(0xf000)) | UINT64_C(0x4000);       /* version 4 */
    m2 = (m2 & ~(UINT64_C(3) << 62)) | (UINT64_C(2) << 62); /* variant 10 */
    p = put_hex(p, m1 >> 32, 8);
    *p++ = '-';
    p = put_hex(p, m1 >> 16, 4);
    *p++ = '-';
    p = put_hex(p, m1, 4);
    *p++ = '-';
    p = put_hex(p, m2 >> 48, 4);
    *p++ = '-';
    p = put_hex(p, m2, 12);
    p = PUT_LIT(p, "\",\"properties\":{");
    switch ((lw_sim_event_type_t)ev->type) {
    case LW_SIM_SESSION_START: break;
    case LW_SIM_TRACK_PLAYED:
        p = PUT_LIT(p, "\"duration_ms\":");
        p = put_u64(p, ev->value);
        p = PUT_LIT(p, ",\"track_id\":\"t");
        p = put_u64(p, (mix64(ev->seq ^ sim->key) % 60000) + 1);
        p = PUT_LIT(p, "\",");
        break;
    case LW_SIM_PLAYLIST_CREATED:
        p = PUT_LIT(p, "\"tracks\":");
        p = put_u64(p, ev->value);
        *p++ = ',';
        break;
    case LW_SIM_SEARCH:
        p = PUT_LIT(p, "\"query_length\":");
        p = put_u64(p, ev->value);
        *p++ = ',';
        break;
    case LW_SIM_TRACK_SHARED:
        p = PUT_LIT(p, "\"channel\":\"");
        p = put_str(p, CHANNELS[ev->aux]);
        p = PUT_LIT(p, "\",");
        break;
    case LW_SIM_PURCHASE:
        p = PUT_LIT(p, "\"revenue\":");
        p = put_u64(p, ev->value / 100);
        *p++ = '.';
        p = put_fixed(p, ev->value % 100, 2);
        p = PUT_LIT(p, ",\"currency\":\"USD\",\"product\":\"");
        p = put_str(p, PRODUCTS[ev->aux]);
        p = PUT_LIT(p, "\",");
        break;
    case LW_SIM_EXPERIMENT_VIEWED: {
        lw_sim_experiment_t x;
        lw_sim_experiment(sim, ev->aux, &x);
        p = PUT_LIT(p, "\"experiment_id\":\"");
        p = put_str(p, x.name);
        p = PUT_LIT(p, "\",\"variation_id\":\"");
        p = put_str(p, ev->value ? "treatment" : "control");
        p = PUT_LIT(p, "\"}}"); /* no platform: the line stays under 260 bytes like the others */
        assert((size_t)(p - buf) <= LW_SIM_MAX_LINE);
        return (size_t)(p - buf);
    }
    case LW_SIM_EV__COUNT: break;
    }
    p = PUT_LIT(p, "\"platform\":\"");
    p = put_str(p, platform);
    p = PUT_LIT(p, "\"}}");
    assert((size_t)(p - buf) <= LW_SIM_MAX_LINE);
    return (size_t)(p - buf);
}

lw_err_t lw_sim_next(lw_sim_t *sim, char *buf, size_t cap, size_t *len, lw_sim_meta_t *meta,
                     char *errstr, size_t errstr_size)
{
    *len = 0;
    if (cap < LW_SIM_MAX_LINE)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                         "line buffer of %zu bytes is below LW_SIM_MAX_LINE (%d)", cap,
                         LW_SIM_MAX_LINE);
    while (
        sim->next_day < sim->opts.days &&
        (sim->heap_n == 0 || sim->heap[0].deliver_ms >= sim->truth[sim->next_day].day_start_ms)) {
        lw_err_t err = generate_day(sim, sim->next_day);
        if (err != LW_OK)
            return lw_seterr(errstr, errstr_size, err, "simulating day %d: %s", sim->next_day,
                             err == LW_ERR_NOMEM ? "out of memory" : "too many events for one day");
        sim->next_day++;
    }
    if (sim->heap_n == 0)
        return LW_OK;
    sim_event_t ev;
    heap_pop(sim, &ev);
    lw_slice_t user;
    *len = format_event(sim, &ev, buf, &user);
    if (meta) {
        meta->type = (lw_sim_event_type_t)ev.type;
        meta->event_ms = out_ms(sim, ev.event_ms);
        meta->deliver_ms = out_ms(sim, ev.deliver_ms);
        meta->day = (int)((ev.event_ms - sim->opts.start_ms) / LW_MS_PER_DAY);
        meta->user = user;
    }
    return LW_OK;
}

/* ---- truth as CSV ---- */

lw_err_t lw_sim_truth_csv_header(char *buf, size_t cap, size_t *len)
{
    static const char hdr[] = "date,active_users,sessions,sessions_per_user,track_played,"
                              "listening_minutes,playlists_created,searches,track_shared,"
                              "purchases,revenue\n";
    *len = 0;
    if (cap < sizeof hdr)
        return LW_ERR_TOO_LARGE;
    memcpy(buf, hdr, sizeof hdr);
    *len = sizeof hdr - 1;
    return LW_OK;
}

lw_err_t lw_sim_truth_csv_row(const lw_sim_t *sim, int day, char *buf, size_t cap, size_t *len)
{
    *len = 0;
    lw_sim_day_t t;
    lw_err_t err = lw_sim_truth(sim, day, &t);
    if (err != LW_OK)
        return err;
    char date[16];
    lw_time_format_date(t.day_start_ms, date, sizeof date);
    const uint64_t sess = t.count[LW_SIM_SESSION_START];
    int n = snprintf(buf, cap,
                     "%s,%" PRIu64 ",%" PRIu64 ",%.6f,%" PRIu64 ",%.3f,%" PRIu64 ",%" PRIu64
                     ",%" PRIu64 ",%" PRIu64 ",%" PRId64 ".%02d\n",
                     date, t.distinct_users, sess,
                     t.distinct_users ? (double)sess / (double)t.distinct_users : 0.0,
                     t.count[LW_SIM_TRACK_PLAYED], (double)t.duration_ms / 60000.0,
                     t.count[LW_SIM_PLAYLIST_CREATED], t.count[LW_SIM_SEARCH],
                     t.count[LW_SIM_TRACK_SHARED], t.count[LW_SIM_PURCHASE], t.revenue_cents / 100,
                     (int)(t.revenue_cents % 100));
    if (n < 0 || (size_t)n >= cap)
        return LW_ERR_TOO_LARGE;
    *len = (size_t)n;
    return LW_OK;
}
