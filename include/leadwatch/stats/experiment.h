/*
 * experiment.h - effects of past A/B tests from bucketed sums, and how well
 * each input's experiment effects predict the NSM's (issue 16).  Pure: no I/O,
 * no clock; the store and the ingest path fill an lw_exp_data, the CLI and the
 * report read the results.
 *
 * The data model.  Every exposed user is hashed (the user key's xxh3 modulo
 * nb) into one of nb "user buckets" (default LW_EXP_BUCKETS = 64).  For one
 * experiment x variant x metric x window ("short": the inputs, default 14
 * days after exposure; "long": the NSM and the KPI, default 56 days) the store
 * keeps, per user bucket b:
 *   users[b]  exposed users of that variant hashed to b (the same for every
 *             metric and window of the variant);
 *   num[b]    the sum over those users of the metric's per-user value inside
 *             the window (count: events; sum: the summed field; distinct:
 *             1 if the user did it at least once; ratio: the numerator's sum);
 *   den[b]    ratio metrics: the denominator's sum; every other kind: users[b].
 * A variant's metric value is the ratio estimator  m = sum(num) / sum(den);
 * its variance comes from the between-bucket spread (the buckets are iid
 * because the hash is independent of the assignment), by the delta method:
 *   var(m) = B / (B - 1) * sum_b (num_b - m den_b)^2 / (sum_b den_b)^2.
 * Sums add across files, restarts and store backends; no per-user values are
 * kept.
 *
 * Per experiment (lw_exp_effect): the relative effect t/c - 1 of a treatment
 * variant against control with a delta-method interval, and the sample ratio
 * mismatch chi-square (lw_exp_srm) over the variants' exposure counts.
 *
 * Across experiments, per input (lw_exp_meta): sensitivity (share of
 * experiments whose short-window input effect is significant), agreement of
 * direction with the NSM's long-window effect, the slope and correlation of
 * NSM effect on input effect corrected for the estimation noise in both, a
 * proxy score, and the verdict  confirms | contradicts | not_enough.
 *
 * Why method-of-moments errors-in-variables and not the hierarchical
 * denoising of Tripuraneni et al. ("Choosing a Proxy Metric from Past
 * Experiments", KDD 2024): both correct the across-experiment regression of
 * NSM effects y_e on input effects x_e for the estimation noise in each
 * experiment's two estimates, whose (co)variances we know from the buckets.
 * The moment correction (Fuller, "Measurement Error Models", 1987, ch. 1.2,
 * with heteroskedastic known error covariances)
 *     slope = (S_xy - mean_e c_e) / (S_xx - mean_e sx_e^2)
 *     corr  = (S_xy - mean_e c_e) / sqrt((S_xx - mean sx^2)(S_yy - mean sy^2))
 * (S = sample (co)variances across experiments; sx_e^2, sy_e^2 the
 * estimates' variances; c_e their covariance: the input and the NSM are
 * measured on the same users, so their errors correlate, and c_e is the
 * between-bucket covariance of the two estimates) is closed form, assumes
 * nothing about the distribution of the true effects, and its sampling error
 * is easy to bootstrap over experiments.  The hierarchical model needs a
 * Gaussian prior on the true effects and an iterative fit whose benefit
 * (shrinkage of individual experiments) we do not need for one slope per
 * edge; with the 40-300 experiments a team has, the two agree on the slope.
 * The moment estimator's known weakness - a denominator near zero when the
 * input's effects are mostly noise - is reported as not_enough (the true
 * effects' variance must be a clear share of the estimates' variance).
 *
 * The proxy score is the paper's quality criterion: the correlation of the
 * input's noisy estimate with the NSM's true effect, corr * sqrt(rel) with
 * rel = (S_xx - mean sx^2) / S_xx the share of the input effects' spread
 * that is signal.  In [-1, 1]; a sensitive, faithful proxy is near 1.
 *
 * The verdict of an edge x -> y (lw_exp_meta), with n the comparisons
 * (treatment arm vs control) where both effects are defined, in experiments
 * whose SRM p is at least srm_alpha (default 0.001: a stricter level than
 * alpha, since one SRM false alarm in 20 experiments would drop good data;
 * 0.001 is about the level SRM checkers in practice use), k those where
 * x moved significantly (two-sided, level alpha):
 *   not_enough   n < min_experiments, or k < min_significant, or the
 *                signal share rel < min_reliability, or the slope interval
 *                is unbounded (over alpha/2 of the resamples had no
 *                positive corrected variance), or it neither clears 0 nor
 *                stays below min_slope, or it clears 0 but agreement <
 *                min_agreement (checked in this order; the first that holds
 *                is the reason);
 *   contradicts  the slope interval lies below min_slope (no useful positive
 *                slope is compatible with the data: a negative or near-zero
 *                slope while x is sensitive);
 *   confirms     slope interval > 0 and agreement >= min_agreement
 *                (agreement: share of the k comparisons in which y's
 *                estimate has the sign of x's).
 * Defaults (lw_exp_opts_init): alpha 0.05, min_experiments 10,
 * min_significant 3, min_reliability 0.2, min_agreement 0.7, min_slope 0.1,
 * srm_alpha 0.001, 2000 bootstrap resamples; chosen before the ground-truth runs
 * (bench/groundtruth/gt_experiments.py) and not tuned on them.
 * The slope interval is a percentile bootstrap over experiments (all arms
 * of a drawn experiment together: they share its control), opts.bootstrap
 * resamples, deterministic seed.
 */
#ifndef LEADWATCH_EXPERIMENT_H
#define LEADWATCH_EXPERIMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leadwatch/core/common.h"

#define LW_EXP_BUCKETS 64
#define LW_EXP_MAX_BUCKETS 1024
#define LW_EXP_MAX_NAME 128

typedef enum lw_exp_window {
    LW_EXP_SHORT = 0, /* inputs: default 14 days after a user's first exposure */
    LW_EXP_LONG = 1   /* NSM and KPI: default 56 days */
} lw_exp_window;

/* One row of the aggregate table: experiment x variant x metric x window x
 * user bucket.  This is also the CSV contract of `leadwatch experiments
 * --aggregates FILE` (header: experiment,variant,metric,window,bucket,users,num,den;
 * window is "short" or "long"). */
typedef struct lw_exp_row {
    char experiment[LW_EXP_MAX_NAME];
    char variant[LW_EXP_MAX_NAME];
    char metric[LW_EXP_MAX_NAME];
    lw_exp_window window;
    uint32_t bucket; /* 0 .. nb-1 */
    double users;
    double num;
    double den;
} lw_exp_row;

/* Bounds of lw_exp_data (each a distinct LW_ERR_TOO_LARGE): names, variants
 * per experiment, and bucket slots in all (cells x nb, 24 bytes each: the
 * 2^22 slots are ~100 MB, e.g. 5000 experiments x 2 variants x 6 metric-
 * windows x 64 buckets = 3.84 M slots). */
#define LW_EXP_MAX_EXPERIMENTS 10000
#define LW_EXP_MAX_VARIANTS 16
#define LW_EXP_MAX_METRICS 256
#define LW_EXP_MAX_SLOTS (1u << 22)

/* The aggregate table the analysis reads: a growable array of rows plus,
 * per experiment, which variant is control and the expected variant shares.
 * Filled by lw_exp_data_add() (CSV reader, store); rows with the same key
 * add up. */
typedef struct lw_exp_data lw_exp_data;

/* A table with nb user buckets (1 < nb <= LW_EXP_MAX_BUCKETS); NULL on a bad
 * nb or out of memory.  Free with lw_exp_data_free. */
lw_exp_data *lw_exp_data_new(uint32_t nb);
void lw_exp_data_free(lw_exp_data *d);
/* Add one row (sums add to a row already there).  LW_ERR_INVALID: empty or
 * too long name, bucket >= nb, a negative or non-finite users/den, a
 * non-finite num; LW_ERR_TOO_LARGE: a bound above.  After either the table is
 * unchanged (after LW_ERR_NOMEM it may hold a new name without rows). */
lw_err_t lw_exp_data_add(lw_exp_data *d, const lw_exp_row *row, char *errstr, size_t errstr_size);
/* Names the control variant of an experiment (default: a variant named
 * "control", else the first variant seen). */
lw_err_t lw_exp_data_set_control(lw_exp_data *d, const char *experiment, const char *variant,
                                 char *errstr, size_t errstr_size);
/* The expected share of a variant's exposures for the SRM test (any
 * positive weight; shares are weight / sum of the experiment's weights;
 * default 1 for every variant, i.e. equal split). */
lw_err_t lw_exp_data_set_weight(lw_exp_data *d, const char *experiment, const char *variant,
                                double weight, char *errstr, size_t errstr_size);

uint32_t lw_exp_data_nb(const lw_exp_data *d);
size_t lw_exp_data_nexperiments(const lw_exp_data *d);
/* Experiments in order of first appearance; the name stays valid while d lives. */
const char *lw_exp_data_experiment(const lw_exp_data *d, size_t e);
size_t lw_exp_data_nvariants(const lw_exp_data *d, size_t e);
const char *lw_exp_data_variant(const lw_exp_data *d, size_t e, size_t v);
size_t lw_exp_data_control(const lw_exp_data *d, size_t e); /* index of the control variant */
/* Exposed users of a variant: the largest sum(users) over its cells (every
 * cell of a variant should carry the same users; lw_exp_data_users_mismatch
 * counts the variants where they differ). */
double lw_exp_data_users(const lw_exp_data *d, size_t e, size_t v);
size_t lw_exp_data_users_mismatch(const lw_exp_data *d);

/* ---- CSV (the contract of `leadwatch experiments --aggregates`) ---------- */

/* True when `line` (without its newline; a trailing CR is ignored) is the
 * header experiment,variant,metric,window,bucket,users,num,den. */
bool lw_exp_csv_is_header(const char *line);
/* Parse one data line into *row (fields as in lw_exp_row; names may be
 * double-quoted with "" for a quote; numbers by strtod).  LW_ERR_INVALID
 * with a message naming the field. */
lw_err_t lw_exp_csv_parse_line(const char *line, lw_exp_row *row, char *errstr, size_t errstr_size);

/* ---- per experiment ------------------------------------------------------- */

/* One variant's metric: m = sum num / sum den and its between-bucket
 * delta-method variance (the formula at the top). */
typedef struct lw_exp_mean {
    double users, num, den;
    double mean, var;
    bool defined; /* a cell exists and sum den > 0 */
} lw_exp_mean;

/* Relative effect of a treatment arm on one metric-window:
 *   rel = m_t / m_c - 1,
 *   var(rel) = (m_t/m_c)^2 (var_t/m_t^2 + var_c/m_c^2)   (delta method, arms
 *   independent), written as var_t/m_c^2 + m_t^2 var_c/m_c^4 so m_t = 0 works;
 *   interval rel +- z_{1-alpha/2} se, z = rel / se, p two-sided normal. */
typedef struct lw_exp_effect {
    lw_exp_mean t, c;
    double rel, se, lo, hi, z, p;
    bool defined;     /* both means defined, m_c != 0, se finite */
    bool significant; /* defined and p < alpha */
} lw_exp_effect;

/* The effect of treatment variant v of experiment e (indices as above) on
 * metric `metric` in window w; out->defined false when a cell is missing. */
void lw_exp_effect_compute(const lw_exp_data *d, size_t e, size_t v, const char *metric,
                           lw_exp_window w, double alpha, lw_exp_effect *out);

/* The covariance of two relative effects of the same arm (metric a in window
 * wa, metric b in wb), from the between-bucket covariance of the linearised
 * bucket residuals of the two means in each arm:
 *   cov(m_a, m_b) = B/(B-1) sum_b u_ab u_bb,  u_xb = (num_b - m den_b) / sum den,
 *   cov(rel_a, rel_b) = cov_t / (ma_c mb_c) + ma_t mb_t cov_c / (ma_c^2 mb_c^2).
 * NaN when an effect is undefined. */
double lw_exp_effect_cov(const lw_exp_data *d, size_t e, size_t v, const char *a, lw_exp_window wa,
                         const char *b, lw_exp_window wb);

/* Sample ratio mismatch: Pearson chi-square of the variants' exposure counts
 * against the expected shares, df = variants - 1, p = Q_chi2(chi2, df)
 * (scipy.stats.chisquare).  p NaN with fewer than 2 variants or no users. */
typedef struct lw_exp_srm {
    double chi2, p;
    size_t df;
} lw_exp_srm;
void lw_exp_srm_compute(const lw_exp_data *d, size_t e, lw_exp_srm *out);

/* ---- across experiments --------------------------------------------------- */

typedef enum lw_exp_verdict {
    LW_EXP_NOT_ENOUGH = 0,
    LW_EXP_CONFIRMS,
    LW_EXP_CONTRADICTS
} lw_exp_verdict;

/* "not_enough" | "confirms" | "contradicts" */
const char *lw_exp_verdict_name(lw_exp_verdict v);

typedef struct lw_exp_opts {
    double alpha;           /* tests and intervals, two-sided; default 0.05 */
    size_t min_experiments; /* comparisons needed for any verdict; default 10 */
    size_t min_significant; /* comparisons where x moved significantly; default 3 */
    double min_reliability; /* signal share of x's effect spread; default 0.2 */
    double min_agreement;   /* default 0.7 */
    double min_slope;       /* smallest useful slope (relative NSM change per
                               relative input change); default 0.1 */
    double srm_alpha;       /* experiments whose SRM p is below this are left out of
                               the edges (broken randomization); default 0.001, 0 = keep
                               all */
    size_t bootstrap;       /* resamples for the slope interval; default 2000 */
    uint64_t seed;          /* bootstrap seed; default 1 */
} lw_exp_opts;

void lw_exp_opts_init(lw_exp_opts *o);
lw_err_t lw_exp_opts_check(const lw_exp_opts *o, char *errstr, size_t errstr_size);

/* One comparison (treatment arm v of experiment e vs its control) of an edge. */
typedef struct lw_exp_point {
    size_t experiment, variant;
    double x, se_x, y, se_y, cov_xy;
    bool x_sig, y_sig;
} lw_exp_point;

/* An edge x -> y across experiments (verdict rule at the top). */
typedef struct lw_exp_meta {
    size_t n;              /* comparisons with both effects defined */
    size_t n_srm_excluded; /* experiments left out for a sample ratio mismatch */
    size_t n_x_sig;        /* ... where x moved significantly */
    size_t n_y_sig;        /* ... where y moved significantly */
    double sensitivity;    /* n_x_sig / n */
    double agreement;      /* share of the n_x_sig with sign(y) == sign(x); NaN if none */
    double naive_slope;    /* S_xy / S_xx, not corrected */
    double slope, slope_lo, slope_hi; /* corrected; percentile bootstrap interval */
    double corr;        /* corrected correlation of the true effects, clipped to [-1, 1] */
    double reliability; /* (S_xx - mean sx^2) / S_xx */
    double score;       /* corr * sqrt(reliability) */
    lw_exp_verdict verdict;
    char reason[256];
    lw_exp_point *points; /* n points, owned; lw_exp_meta_release frees */
} lw_exp_meta;

/* The edge from metric x (window xw) to metric y (window yw) over every
 * treatment arm of every experiment.  On LW_OK *out owns its points.  Errors:
 * LW_ERR_NOMEM.  Too few data is not an error: verdict not_enough with the
 * reason. */
lw_err_t lw_exp_meta_compute(const lw_exp_data *d, const char *x, lw_exp_window xw, const char *y,
                             lw_exp_window yw, const lw_exp_opts *o, lw_exp_meta *out, char *errstr,
                             size_t errstr_size);
void lw_exp_meta_release(lw_exp_meta *m);

/* ---- the whole analysis for a metric tree --------------------------------- */

/* Which metric is which: from the config tree (model/config.h), by name. */
typedef struct lw_exp_roles {
    const char *nsm;
    const char *kpi; /* NULL: none */
    const char *const *inputs;
    size_t ninputs;
} lw_exp_roles;

/* Per experiment: SRM, exposures, and per treatment arm the effects on the
 * inputs (short window), the NSM and the KPI (long window). */
typedef struct lw_exp_arm {
    size_t variant;
    lw_exp_effect *inputs; /* ninputs */
    lw_exp_effect nsm, kpi;
} lw_exp_arm;

typedef struct lw_exp_result {
    size_t experiment;
    lw_exp_srm srm;
    lw_exp_arm *arms; /* one per treatment variant, in variant order */
    size_t narms;
} lw_exp_result;

typedef struct lw_exp_analysis {
    const lw_exp_data *data; /* borrowed */
    lw_exp_roles roles;      /* borrowed names */
    lw_exp_opts opts;
    lw_exp_result *experiments; /* lw_exp_data_nexperiments */
    size_t nexperiments;
    lw_exp_meta *inputs; /* per input: input (short) -> NSM (long) */
    lw_exp_meta nsm_kpi; /* NSM (long) -> KPI (long); n = 0 without a KPI */
} lw_exp_analysis;

/* Everything above for the roles' tree.  d and the role names must outlive
 * *out; free with lw_exp_analysis_release.  LW_ERR_INVALID: no NSM or no
 * inputs; LW_ERR_NOMEM. */
lw_err_t lw_exp_analyze(const lw_exp_data *d, const lw_exp_roles *roles, const lw_exp_opts *o,
                        lw_exp_analysis *out, char *errstr, size_t errstr_size);
void lw_exp_analysis_release(lw_exp_analysis *a);

/* The meta-analysis of the tree edge from -> to, matched by metric name:
 * an input -> the NSM gives that input's lw_exp_meta (the input in the short
 * window), NSM -> KPI gives nsm_kpi (both long); *from_window (may be NULL)
 * receives the window of `from`.  NULL for any other pair. */
const lw_exp_meta *lw_exp_analysis_edge(const lw_exp_analysis *a, const char *from, const char *to,
                                        lw_exp_window *from_window);

#endif
