/*
 * simulate.h - a deterministic product simulator: the event stream of a
 * music-streaming app (Segment-format JSON lines) whose daily series have a
 * KNOWN lead structure.  It is the demo's data and the ground truth of the
 * statistics and alerting tests.  docs/SIMULATOR.md states the model exactly.
 *
 * Pure: no I/O, no clock, no globals.  All randomness comes from two GSL
 * mt19937 generators seeded from opts.seed, so the same options give a
 * byte-identical stream on every run.
 *
 * Use:
 *     lw_sim_opts_t o;
 *     lw_sim_opts_default(&o);              // 365 days from 2024-01-01
 *     o.seed = 7;
 *     lw_sim_t *sim = lw_sim_new(&o, err, sizeof err);
 *     char line[LW_SIM_MAX_LINE];
 *     size_t len;
 *     while (lw_sim_next(sim, line, sizeof line, &len, NULL, err, sizeof err) == LW_OK && len)
 *         ...;                              // one JSON object, no newline
 *     lw_sim_truth(sim, day, &t, ...);      // exact per-day aggregates by event time
 *     lw_sim_destroy(sim);
 *
 * The latent series (lw_sim_latent) exist for every day as soon as
 * lw_sim_new returns and do not depend on users or scale; the realised
 * aggregates of a day (lw_sim_truth) exist once that day has been generated,
 * which happens lazily, when the next line to deliver could be of that day.
 */
#ifndef LEADWATCH_SIMULATE_H
#define LEADWATCH_SIMULATE_H

#include "leadwatch/core/common.h"

/* Bounds checked by lw_sim_new. */
#define LW_SIM_MAX_DAYS 36600
#define LW_SIM_MAX_USERS 50000000L
#define LW_SIM_MAX_SCALE 1000.0
#define LW_SIM_MAX_LAG 28
/* No produced line is longer than this (bytes, without a NUL). */
#define LW_SIM_MAX_LINE 320
/* Delivery bound: no event is delivered later than this after its event time. */
#define LW_SIM_MAX_LATENESS_MS (36 * INT64_C(3600000))

/* Event types, in the order their counts appear in lw_sim_day_t.count. */
typedef enum {
    LW_SIM_SESSION_START = 0,
    LW_SIM_TRACK_PLAYED,
    LW_SIM_PLAYLIST_CREATED,
    LW_SIM_SEARCH,
    LW_SIM_TRACK_SHARED,
    LW_SIM_PURCHASE,
    LW_SIM_EXPERIMENT_VIEWED, /* only with opts.experiments > 0 (issue 16) */
    LW_SIM_EV__COUNT
} lw_sim_event_type_t;

/* The event name as it appears in the "event" field ("track_played", ...). */
const char *lw_sim_event_name(lw_sim_event_type_t t);

/*
 * The model's parameters (docs/SIMULATOR.md, "The model").  Log-scale
 * deviations x_t follow x_t = phi * x_{t-1} + sigma * e_t.  Levels are
 * base * scale * exp(weekly[dow] + deviation).  lw_sim_model_default()
 * fills the documented values; tests and experiments may change them.
 */
typedef struct {
    double weekly[7]; /* log day-of-week effect, Monday first, shared by all series */

    /* inputs: AR(1) on the log scale */
    double users_base, users_phi, users_sigma;             /* A: active users per day */
    double spu_base, spu_phi, spu_sigma;                   /* S: sessions per active user, >= 1 */
    double playlists_base, playlists_phi, playlists_sigma; /* P: playlists created per day */

    /* NSM: listening ms per day, log M_t = log base + weekly + b_a a_{t-la}
       + b_s s_{t-ls} + b_p p_{t-lp} + u_t, u AR(1) */
    double listen_base_ms;
    double b_users, b_spu, b_playlists;
    int lag_users, lag_spu, lag_playlists;
    double listen_phi, listen_sigma;

    /* distractor: searches per day, own AR(1), shares only the weekly factor */
    double searches_base, searches_phi, searches_sigma;

    /* follower: track shares per day, driven by the NSM deviation m_{t-lag} */
    double shares_base, c_shares, shares_sigma;
    int lag_shares;

    /* KPI: revenue per day (currency units), driven by m_{t-lag} */
    double revenue_base, c_revenue, revenue_sigma;
    int lag_revenue;

    /* realisation */
    double mean_track_ms;   /* mean of the gamma(2) play duration */
    double anonymous_share; /* fraction of pool users who only send anonymousId */
    double late_share;      /* fraction of events delivered 1..36 h late */
    double jitter_mean_ms;  /* mean of the exponential delivery delay (capped at 10 min) */
} lw_sim_model_t;

void lw_sim_model_default(lw_sim_model_t *m);

/*
 * Set the model parameter `name` (a field of lw_sim_model_t other than
 * weekly, e.g. "playlists_base", "lag_playlists") to v; LW_ERR_INVALID for
 * an unknown name or a fractional lag.  Bounds are checked by lw_sim_new.
 */
lw_err_t lw_sim_model_set(lw_sim_model_t *m, const char *name, double v, char *errstr,
                          size_t errstr_size);

typedef struct {
    int days;         /* >= 1, <= LW_SIM_MAX_DAYS; default 365 */
    uint64_t seed;    /* default 1 */
    int64_t start_ms; /* UTC midnight, >= 2000-01-01; default 2024-01-01 */
    int break_day;    /* -1: none; else 0..days-1: from this day on b_playlists = 0 */
    long users;       /* user pool, 1..LW_SIM_MAX_USERS; 0 = auto (4 x expected active) */
    double scale;     /* event volume multiplier, (0, LW_SIM_MAX_SCALE]; default 1 */
    const lw_sim_model_t *model; /* NULL = lw_sim_model_default(); copied by lw_sim_new */
    /* A/B tests (issue 16), 0..LW_SIM_MAX_EXPERIMENTS, default 0 (the stream is then
     * unchanged).  Experiment k is named exp_KK_<kind>, kind driver (k % 3 == 0: its
     * treatment adds sessions with plays: sessions per user AND listening move), proxy
     * (1: adds playlists only, no effect on listening) or null (2).  See
     * lw_sim_experiment and docs/SIMULATOR.md, "Experiments". */
    int experiments;
    bool hourly; /* each simulated day is written as one hour: event and delivery times are
                    start + (t - start) / 24, so the lead structure, its lags and a break
                    are in hours (for hourly buckets); the latent path and the events are
                    those of the daily run */
} lw_sim_opts_t;

typedef struct lw_sim lw_sim_t;

#define LW_SIM_MAX_EXPERIMENTS 200
#define LW_SIM_EXP_EXPOSE_DAYS 14 /* exposures run this long from an experiment's start */
#define LW_SIM_EXP_EFFECT_DAYS 70 /* the treatment's effect lasts this long from the start */

typedef enum { LW_SIM_EXP_DRIVER = 0, LW_SIM_EXP_PROXY, LW_SIM_EXP_NULL } lw_sim_exp_kind_t;

/* One experiment's design and true effect. */
typedef struct {
    char name[32]; /* "exp_07_proxy" */
    lw_sim_exp_kind_t kind;
    int start_day; /* first day of exposures */
    double effect; /* per session of a treated user: probability of the extra events */
} lw_sim_experiment_t;

/* Experiment k (0..opts.experiments-1); LW_ERR_INVALID when out of range. */
lw_err_t lw_sim_experiment(const lw_sim_t *sim, int k, lw_sim_experiment_t *out);

void lw_sim_opts_default(lw_sim_opts_t *o);

/*
 * Validate the options and build the simulator, including every day's latent
 * series.  Returns NULL with errstr set on a bad option (LW_ERR_INVALID
 * cases) or when memory runs out.  Memory: 4.2 bytes per pool user, about
 * 150 bytes per day for the latent series and truth, and 40 bytes per
 * pending event (about one day's events; 5 MB peak RSS for the default
 * year).  It never grows with days x users.
 */
lw_sim_t *lw_sim_new(const lw_sim_opts_t *opts, char *errstr, size_t errstr_size);
void lw_sim_destroy(lw_sim_t *sim);

/* Metadata of the line lw_sim_next just produced. */
typedef struct {
    lw_sim_event_type_t type;
    int64_t event_ms;   /* the "timestamp" */
    int64_t deliver_ms; /* the simulated arrival time; lines come in this order */
    int day;            /* event day, 0-based from opts.start_ms */
    lw_slice_t user;    /* the userId / anonymousId value, pointing into buf (a Kafka key) */
} lw_sim_meta_t;

/*
 * Produce the next event in DELIVERY order into buf (one JSON object, no
 * newline, not NUL-terminated) and set *len.  At the end of the stream
 * returns LW_OK with *len == 0 (and keeps doing so).  meta may be NULL.
 * Errors: LW_ERR_TOO_LARGE when cap < LW_SIM_MAX_LINE (nothing consumed),
 * LW_ERR_NOMEM when a day's buffers cannot grow (the simulator is then
 * unusable).  Not thread-safe per handle.
 */
lw_err_t lw_sim_next(lw_sim_t *sim, char *buf, size_t cap, size_t *len, lw_sim_meta_t *meta,
                     char *errstr, size_t errstr_size);

/* The latent (expected) values of one day, before Poisson realisation. */
typedef struct {
    int dow;                  /* 0 = Monday */
    double weekly;            /* weekly[dow] */
    double a, s, p, m;        /* log deviations of A, S, P and the NSM (m includes u) */
    double q, h, r;           /* log deviations of searches, shares, revenue (no weekly) */
    double active_users;      /* A_t (before capping at the pool) */
    double sessions_per_user; /* S_t */
    double playlists;         /* P_t */
    double listening_ms;      /* M_t */
    double searches, shares, revenue;
    double b_playlists; /* the coefficient in force on this day (0 from break_day on) */
} lw_sim_latent_t;

/* Latent values of `day` (0..days-1); LW_ERR_INVALID when out of range. */
lw_err_t lw_sim_latent(const lw_sim_t *sim, int day, lw_sim_latent_t *out);

/*
 * The exact realised aggregates of one day BY EVENT TIME: what a correct
 * aggregator computes from the whole stream for the UTC day
 * [start_ms + day*86400000, +86400000).
 */
typedef struct {
    int64_t day_start_ms;
    uint64_t count[LW_SIM_EV__COUNT]; /* events per type */
    uint64_t duration_ms;             /* sum of properties.duration_ms of track_played */
    int64_t revenue_cents;            /* sum of properties.revenue of purchase, in cents */
    uint64_t distinct_users;          /* distinct ids over session_start and track_played */
    uint64_t late;                    /* events of this day delivered >= 1 h after event time */
} lw_sim_day_t;

/*
 * Truth of `day`.  Days are generated in order, so the truth of `day` is
 * final once lw_sim_next has returned any event of `day` or a later day (or
 * the end of the stream); before that LW_ERR_NOT_FOUND.  LW_ERR_INVALID when
 * day is out of range.
 */
lw_err_t lw_sim_truth(const lw_sim_t *sim, int day, lw_sim_day_t *out);

/* Number of days the simulator has generated so far (truth available for 0..n-1). */
int lw_sim_days_generated(const lw_sim_t *sim);

/* The options in force (users resolved when it was 0; model copied). */
const lw_sim_opts_t *lw_sim_opts(const lw_sim_t *sim);
const lw_sim_model_t *lw_sim_model(const lw_sim_t *sim);

/*
 * CSV of the truth, the shape `leadwatch analyze --series` reads: the header
 * "date,active_users,sessions,sessions_per_user,track_played,listening_minutes,
 * playlists_created,searches,track_shared,purchases,revenue" and one row per
 * day.  Each writes into buf with a trailing '\n' and a NUL, sets *len
 * (without the NUL); LW_ERR_TOO_LARGE when cap is too small, and the row
 * function returns lw_sim_truth's errors.
 */
lw_err_t lw_sim_truth_csv_header(char *buf, size_t cap, size_t *len);
lw_err_t lw_sim_truth_csv_row(const lw_sim_t *sim, int day, char *buf, size_t cap, size_t *len);

#endif
