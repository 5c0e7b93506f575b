/*
 * experiment.c - the aggregate table of past A/B tests and the statistics on
 * it (formulas, verdict rule and the choice of estimator in experiment.h).
 *
 * Layout.  Names are interned three ways (experiments, variant names,
 * metrics) in open-addressing hash tables keyed by XXH3 of the name.  A
 * "cell" is experiment x variant x metric x window; it owns nb consecutive
 * "slots" in three parallel arrays users[], num[], den[] (one slot per user
 * bucket), and a second open-addressing table maps the packed cell key
 * ((e * MAX_VARIANTS + v) * MAX_METRICS + m) * 2 + w to the cell (both tables
 * grow by one rule, hindex_reserve: at most half full, doubling).  Adding a
 * row is two or three hash look-ups and three additions; every array grows
 * by doubling up to the bounds in experiment.h (LW_EXP_MAX_SLOTS caps the
 * memory at ~100 MB), and a failed add leaves the table as it was (names
 * and cells are only created after every check passed and the space for
 * them was reserved).
 *
 * Statistics.  A variant's metric is the ratio estimator sum num / sum den
 * over its buckets, with the between-bucket (cluster) delta-method variance
 * with B = nb buckets (empty buckets included: they are draws of the same
 * hash), the relative effect's variance by the delta method, SRM by
 * Pearson's chi-square (gsl_cdf_chisq_Q, as scipy.stats.chisquare), and the
 * across-experiment edge by the moment-corrected errors-in-variables slope
 * with a percentile bootstrap over experiments (splitmix64, seeded, so the
 * result is a pure function of the data and the options).  Bootstrap
 * resamples whose corrected denominator is not positive have no slope; when
 * they are more than alpha/2 of the resamples the interval is unbounded
 * (reported as not_enough), otherwise they are left out.
 */
#include "leadwatch/stats/experiment.h"

#include <assert.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* ---- interned names ------------------------------------------------------ */

/*
 * An open-addressing index over a caller's array of entries: hash slots
 * holding entry index + 1 (0 = empty), linear probing, at most half full.
 * Each table probes with its own key comparison; growth is shared.
 */
typedef struct {
    uint32_t *slot;
    size_t nslot; /* 0, or a power of two >= 2 * entries */
} hindex_t;

/*
 * Room for entry n (entries 0..n-1 indexed): when a new entry would fill more
 * than half the slots, twice the slots (`first` for an empty index), every
 * entry re-placed by hash_of(ctx, i).  false without memory, the index as it was.
 */
static bool hindex_reserve(hindex_t *h, size_t n, size_t first,
                           size_t (*hash_of)(const void *ctx, size_t i), const void *ctx)
{
    if (2 * (n + 1) <= h->nslot)
        return true;
    size_t nslot = h->nslot ? 2 * h->nslot : first, mask = nslot - 1;
    uint32_t *slot = calloc(nslot, sizeof *slot);
    if (!slot)
        return false;
    for (size_t i = 0; i < n; i++) {
        size_t j = hash_of(ctx, i) & mask;
        while (slot[j])
            j = (j + 1) & mask;
        slot[j] = (uint32_t)(i + 1);
    }
    free(h->slot);
    h->slot = slot;
    h->nslot = nslot;
    return true;
}

typedef struct {
    char **v;
    size_t n, cap;
    hindex_t ix; /* XXH3 of the name -> index into v */
} names_t;

static size_t name_hash(const void *ctx, size_t i)
{
    const char *c = ((const names_t *)ctx)->v[i];
    return (size_t)XXH3_64bits(c, strlen(c));
}

static size_t names_find_slot(const names_t *t, const char *s, size_t len)
{
    size_t mask = t->ix.nslot - 1;
    size_t i = (size_t)XXH3_64bits(s, len) & mask;
    while (t->ix.slot[i]) {
        const char *c = t->v[t->ix.slot[i] - 1];
        if (strlen(c) == len && memcmp(c, s, len) == 0)
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

/* Index of s, or -1. */
static long names_get(const names_t *t, const char *s)
{
    if (!t->ix.nslot)
        return -1;
    size_t i = names_find_slot(t, s, strlen(s));
    return t->ix.slot[i] ? (long)t->ix.slot[i] - 1 : -1;
}

/* Room for one more name (so a later names_put cannot fail). */
static bool names_reserve(names_t *t)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        char **v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return false;
        t->v = v;
        t->cap = cap;
    }
    return hindex_reserve(&t->ix, t->n, 32, name_hash, t);
}

/* Append s (not present; names_reserve succeeded); its index, or -1 without memory. */
static long names_put(names_t *t, const char *s)
{
    char *c = strdup(s);
    if (!c)
        return -1;
    t->ix.slot[names_find_slot(t, s, strlen(s))] = (uint32_t)(t->n + 1);
    t->v[t->n] = c;
    return (long)t->n++;
}

static void names_release(names_t *t)
{
    lw_free_strv(t->v, t->n);
    free(t->ix.slot);
    memset(t, 0, sizeof *t);
}

/* ---- the table ------------------------------------------------------------ */

typedef struct {
    uint32_t nv;
    uint32_t vname[LW_EXP_MAX_VARIANTS]; /* index into d->vnames */
    double weight[LW_EXP_MAX_VARIANTS];
    int control; /* -1: the default rule */
} exp_t;

typedef struct {
    uint64_t key;
    size_t slot0; /* first of nb slots */
} cell_t;

struct lw_exp_data {
    uint32_t nb;
    names_t exps, vnames, metrics;
    exp_t *ex; /* parallel to exps.v, capacity exps.cap */
    size_t excap;
    cell_t *cells;
    size_t ncells, cellcap;
    hindex_t cix;              /* mix(cell key) -> index into cells */
    double *users, *num, *den; /* ncells * nb slots */
};

static uint64_t cell_key(size_t e, size_t v, size_t m, lw_exp_window w)
{
    return (((uint64_t)e * LW_EXP_MAX_VARIANTS + v) * LW_EXP_MAX_METRICS + m) * 2u + (uint64_t)w;
}

static size_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)x;
}

static size_t cell_find_slot(const lw_exp_data *d, uint64_t key)
{
    size_t mask = d->cix.nslot - 1, i = mix(key) & mask;
    while (d->cix.slot[i] && d->cells[d->cix.slot[i] - 1].key != key)
        i = (i + 1) & mask;
    return i;
}

/* The cell's index, or -1. */
static long cell_get(const lw_exp_data *d, uint64_t key)
{
    if (!d->cix.nslot)
        return -1;
    size_t i = cell_find_slot(d, key);
    return d->cix.slot[i] ? (long)d->cix.slot[i] - 1 : -1;
}

static size_t cell_hash(const void *ctx, size_t i)
{
    return mix(((const lw_exp_data *)ctx)->cells[i].key);
}

static bool cells_reserve(lw_exp_data *d)
{
    if (d->ncells == d->cellcap) {
        size_t cap = d->cellcap ? 2 * d->cellcap : 64;
        if (cap * d->nb > LW_EXP_MAX_SLOTS)
            cap = LW_EXP_MAX_SLOTS / d->nb;
        cell_t *c = realloc(d->cells, cap * sizeof *c);
        if (!c)
            return false;
        d->cells = c;
        double *arr[3] = {d->users, d->num, d->den};
        for (int k = 0; k < 3; k++) {
            double *a = realloc(arr[k], cap * d->nb * sizeof(double));
            if (!a)
                return false;
            arr[k] = a;
            if (k == 0)
                d->users = a;
            else if (k == 1)
                d->num = a;
            else
                d->den = a;
        }
        d->cellcap = cap;
    }
    return hindex_reserve(&d->cix, d->ncells, 128, cell_hash, d);
}

lw_exp_data *lw_exp_data_new(uint32_t nb)
{
    if (nb < 2 || nb > LW_EXP_MAX_BUCKETS)
        return NULL;
    lw_exp_data *d = calloc(1, sizeof *d);
    if (d)
        d->nb = nb;
    return d;
}

void lw_exp_data_free(lw_exp_data *d)
{
    if (!d)
        return;
    names_release(&d->exps);
    names_release(&d->vnames);
    names_release(&d->metrics);
    LW_FREE_ALL(d->ex, d->cells, d->cix.slot, d->users, d->num, d->den, d);
}

static bool name_ok(const char *s)
{
    size_t n = strnlen(s, LW_EXP_MAX_NAME);
    return n > 0 && n < LW_EXP_MAX_NAME;
}

/* The experiment's index, creating it; -1 with errstr set. */
static long exp_get_or_add(lw_exp_data *d, const char *name, lw_err_t *err, char *errstr,
                           size_t errstr_size)
{
    long e = names_get(&d->exps, name);
    if (e >= 0)
        return e;
    if (d->exps.n >= LW_EXP_MAX_EXPERIMENTS) {
        *err = lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "more than %d experiments",
                         LW_EXP_MAX_EXPERIMENTS);
        return -1;
    }
    if (!names_reserve(&d->exps))
        goto nomem;
    if (d->excap < d->exps.cap) {
        exp_t *x = realloc(d->ex, d->exps.cap * sizeof *x);
        if (!x)
            goto nomem;
        d->ex = x;
        d->excap = d->exps.cap;
    }
    e = names_put(&d->exps, name);
    if (e < 0)
        goto nomem;
    memset(&d->ex[e], 0, sizeof d->ex[e]);
    d->ex[e].control = -1;
    return e;
nomem:
    *err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    return -1;
}

/* The variant's index inside experiment e, or -1. */
static long exp_variant(const lw_exp_data *d, size_t e, const char *name)
{
    long vn = names_get(&d->vnames, name);
    if (vn < 0)
        return -1;
    for (uint32_t v = 0; v < d->ex[e].nv; v++)
        if (d->ex[e].vname[v] == (uint32_t)vn)
            return v;
    return -1;
}

static long variant_get_or_add(lw_exp_data *d, size_t e, const char *name, lw_err_t *err,
                               char *errstr, size_t errstr_size)
{
    long v = exp_variant(d, e, name);
    if (v >= 0)
        return v;
    exp_t *x = &d->ex[e];
    if (x->nv >= LW_EXP_MAX_VARIANTS) {
        *err = lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                         "experiment %s: more than %d variants", d->exps.v[e], LW_EXP_MAX_VARIANTS);
        return -1;
    }
    long vn = names_get(&d->vnames, name);
    if (vn < 0) {
        if (!names_reserve(&d->vnames) || (vn = names_put(&d->vnames, name)) < 0) {
            *err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
            return -1;
        }
    }
    x->vname[x->nv] = (uint32_t)vn;
    x->weight[x->nv] = 1.0;
    return (long)x->nv++;
}

lw_err_t lw_exp_data_add(lw_exp_data *d, const lw_exp_row *row, char *errstr, size_t errstr_size)
{
    if (!name_ok(row->experiment) || !name_ok(row->variant) || !name_ok(row->metric))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "experiment, variant and metric names must be 1..%d bytes",
                         LW_EXP_MAX_NAME - 1);
    if (row->window != LW_EXP_SHORT && row->window != LW_EXP_LONG)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "window must be short or long");
    if (row->bucket >= d->nb)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "bucket %u outside 0..%u",
                         row->bucket, d->nb - 1);
    if (!(isfinite(row->users) && row->users >= 0.0) || !(isfinite(row->den) && row->den >= 0.0) ||
        !isfinite(row->num))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "users and den must be finite and >= 0, num finite");
    /* every check that can fail without side effects comes first */
    long m = names_get(&d->metrics, row->metric);
    if (m < 0 && d->metrics.n >= LW_EXP_MAX_METRICS)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "more than %d metrics",
                         LW_EXP_MAX_METRICS);
    long e0 = names_get(&d->exps, row->experiment);
    if (e0 < 0 && d->exps.n >= LW_EXP_MAX_EXPERIMENTS)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "more than %d experiments",
                         LW_EXP_MAX_EXPERIMENTS);
    long v0 = e0 >= 0 ? exp_variant(d, (size_t)e0, row->variant) : -1;
    if (e0 >= 0 && v0 < 0 && d->ex[e0].nv >= LW_EXP_MAX_VARIANTS)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                         "experiment %s: more than %d variants", row->experiment,
                         LW_EXP_MAX_VARIANTS);
    long c = (e0 >= 0 && v0 >= 0 && m >= 0)
                 ? cell_get(d, cell_key((size_t)e0, (size_t)v0, (size_t)m, row->window))
                 : -1;
    if (c < 0 && (d->ncells + 1) * d->nb > LW_EXP_MAX_SLOTS)
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                         "more than %u bucket slots (experiment x variant x metric x window x "
                         "bucket)",
                         LW_EXP_MAX_SLOTS);
    if (c < 0 && !cells_reserve(d))
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    lw_err_t err = LW_OK;
    if (m < 0 && (!names_reserve(&d->metrics) || (m = names_put(&d->metrics, row->metric)) < 0))
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    long e = exp_get_or_add(d, row->experiment, &err, errstr, errstr_size);
    if (e < 0)
        return err;
    long v = variant_get_or_add(d, (size_t)e, row->variant, &err, errstr, errstr_size);
    if (v < 0)
        return err;
    if (c < 0) {
        cell_t *cl = &d->cells[d->ncells];
        cl->key = cell_key((size_t)e, (size_t)v, (size_t)m, row->window);
        cl->slot0 = d->ncells * d->nb;
        memset(d->users + cl->slot0, 0, d->nb * sizeof(double));
        memset(d->num + cl->slot0, 0, d->nb * sizeof(double));
        memset(d->den + cl->slot0, 0, d->nb * sizeof(double));
        d->cix.slot[cell_find_slot(d, cl->key)] = (uint32_t)(d->ncells + 1);
        c = (long)d->ncells++;
    }
    size_t s = d->cells[c].slot0 + row->bucket;
    d->users[s] += row->users;
    d->num[s] += row->num;
    d->den[s] += row->den;
    return LW_OK;
}

lw_err_t lw_exp_data_set_control(lw_exp_data *d, const char *experiment, const char *variant,
                                 char *errstr, size_t errstr_size)
{
    long e = names_get(&d->exps, experiment);
    long v = e >= 0 ? exp_variant(d, (size_t)e, variant) : -1;
    if (v < 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOT_FOUND, "no variant %s in experiment %s",
                         variant, experiment);
    d->ex[e].control = (int)v;
    return LW_OK;
}

lw_err_t lw_exp_data_set_weight(lw_exp_data *d, const char *experiment, const char *variant,
                                double weight, char *errstr, size_t errstr_size)
{
    if (!(isfinite(weight) && weight > 0.0))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "weight must be > 0");
    long e = names_get(&d->exps, experiment);
    long v = e >= 0 ? exp_variant(d, (size_t)e, variant) : -1;
    if (v < 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOT_FOUND, "no variant %s in experiment %s",
                         variant, experiment);
    d->ex[e].weight[v] = weight;
    return LW_OK;
}

uint32_t lw_exp_data_nb(const lw_exp_data *d)
{
    return d->nb;
}
size_t lw_exp_data_nexperiments(const lw_exp_data *d)
{
    return d->exps.n;
}
const char *lw_exp_data_experiment(const lw_exp_data *d, size_t e)
{
    return d->exps.v[e];
}
size_t lw_exp_data_nvariants(const lw_exp_data *d, size_t e)
{
    return d->ex[e].nv;
}

const char *lw_exp_data_variant(const lw_exp_data *d, size_t e, size_t v)
{
    assert(v < d->ex[e].nv);
    return d->vnames.v[d->ex[e].vname[v]];
}

size_t lw_exp_data_control(const lw_exp_data *d, size_t e)
{
    const exp_t *x = &d->ex[e];
    if (x->control >= 0)
        return (size_t)x->control;
    for (uint32_t v = 0; v < x->nv; v++)
        if (strcmp(d->vnames.v[x->vname[v]], "control") == 0)
            return v;
    return 0;
}

static double cell_users(const lw_exp_data *d, long c)
{
    double s = 0.0;
    for (uint32_t b = 0; b < d->nb; b++)
        s += d->users[d->cells[c].slot0 + b];
    return s;
}

/* The largest users total over the variant's cells; *differ when two differ. */
static double variant_users(const lw_exp_data *d, size_t e, size_t v, bool *differ)
{
    double best = 0.0;
    bool seen = false;
    *differ = false;
    for (size_t m = 0; m < d->metrics.n; m++) {
        for (int w = 0; w < 2; w++) {
            long c = cell_get(d, cell_key(e, v, m, (lw_exp_window)w));
            if (c < 0)
                continue;
            double u = cell_users(d, c);
            if (seen && u != best)
                *differ = true;
            if (!seen || u > best)
                best = u;
            seen = true;
        }
    }
    return best;
}

double lw_exp_data_users(const lw_exp_data *d, size_t e, size_t v)
{
    bool differ;
    return variant_users(d, e, v, &differ);
}

size_t lw_exp_data_users_mismatch(const lw_exp_data *d)
{
    size_t n = 0;
    for (size_t e = 0; e < d->exps.n; e++) {
        for (size_t v = 0; v < d->ex[e].nv; v++) {
            bool differ;
            variant_users(d, e, v, &differ);
            n += differ;
        }
    }
    return n;
}

/* ---- per experiment -------------------------------------------------------- */

static long find_cell(const lw_exp_data *d, size_t e, size_t v, const char *metric, lw_exp_window w)
{
    long m = names_get(&d->metrics, metric);
    return m < 0 ? -1 : cell_get(d, cell_key(e, v, (size_t)m, w));
}

static void mean_of(const lw_exp_data *d, long c, lw_exp_mean *out)
{
    memset(out, 0, sizeof *out);
    out->mean = out->var = NAN;
    if (c < 0)
        return;
    const size_t s0 = d->cells[c].slot0, B = d->nb;
    for (size_t b = 0; b < B; b++) {
        out->users += d->users[s0 + b];
        out->num += d->num[s0 + b];
        out->den += d->den[s0 + b];
    }
    if (!(out->den > 0.0))
        return;
    out->mean = out->num / out->den;
    double ss = 0.0;
    for (size_t b = 0; b < B; b++) {
        const double r = d->num[s0 + b] - out->mean * d->den[s0 + b];
        ss += r * r;
    }
    out->var = (double)B / (double)(B - 1) * ss / (out->den * out->den);
    out->defined = true;
}

void lw_exp_effect_compute(const lw_exp_data *d, size_t e, size_t v, const char *metric,
                           lw_exp_window w, double alpha, lw_exp_effect *out)
{
    const size_t ctl = lw_exp_data_control(d, e);
    mean_of(d, find_cell(d, e, v, metric, w), &out->t);
    mean_of(d, find_cell(d, e, ctl, metric, w), &out->c);
    out->rel = out->se = out->lo = out->hi = out->z = out->p = NAN;
    out->defined = out->significant = false;
    if (!out->t.defined || !out->c.defined || out->c.mean == 0.0)
        return;
    const double mt = out->t.mean, mc = out->c.mean;
    out->rel = mt / mc - 1.0;
    const double var = out->t.var / (mc * mc) + mt * mt * out->c.var / (mc * mc * mc * mc);
    out->se = sqrt(var);
    if (!isfinite(out->se))
        return;
    const double zc = gsl_cdf_ugaussian_Qinv(alpha / 2.0);
    out->lo = out->rel - zc * out->se;
    out->hi = out->rel + zc * out->se;
    if (out->se > 0.0) {
        out->z = out->rel / out->se;
        out->p = 2.0 * gsl_cdf_ugaussian_Q(fabs(out->z));
    } else {
        out->z = out->rel == 0.0 ? 0.0 : copysign(INFINITY, out->rel);
        out->p = out->rel == 0.0 ? 1.0 : 0.0;
    }
    out->defined = true;
    out->significant = out->p < alpha;
}

/* B/(B-1) sum_b u_ab u_bb of one arm (see experiment.h), or NaN. */
static double arm_cov(const lw_exp_data *d, long ca, long cb)
{
    lw_exp_mean a, b;
    mean_of(d, ca, &a);
    mean_of(d, cb, &b);
    if (!a.defined || !b.defined)
        return NAN;
    const size_t sa = d->cells[ca].slot0, sb = d->cells[cb].slot0, B = d->nb;
    double s = 0.0;
    for (size_t k = 0; k < B; k++)
        s +=
            (d->num[sa + k] - a.mean * d->den[sa + k]) * (d->num[sb + k] - b.mean * d->den[sb + k]);
    return (double)B / (double)(B - 1) * s / (a.den * b.den);
}

double lw_exp_effect_cov(const lw_exp_data *d, size_t e, size_t v, const char *a, lw_exp_window wa,
                         const char *b, lw_exp_window wb)
{
    const size_t ctl = lw_exp_data_control(d, e);
    long at = find_cell(d, e, v, a, wa), ac = find_cell(d, e, ctl, a, wa);
    long bt = find_cell(d, e, v, b, wb), bc = find_cell(d, e, ctl, b, wb);
    if (at < 0 || ac < 0 || bt < 0 || bc < 0)
        return NAN;
    lw_exp_mean mat, mac, mbt, mbc;
    mean_of(d, at, &mat);
    mean_of(d, ac, &mac);
    mean_of(d, bt, &mbt);
    mean_of(d, bc, &mbc);
    if (!mat.defined || !mac.defined || !mbt.defined || !mbc.defined || mac.mean == 0.0 ||
        mbc.mean == 0.0)
        return NAN;
    const double ct = arm_cov(d, at, bt), cc = arm_cov(d, ac, bc);
    const double pc = mac.mean * mbc.mean;
    return ct / pc + mat.mean * mbt.mean * cc / (pc * pc);
}

void lw_exp_srm_compute(const lw_exp_data *d, size_t e, lw_exp_srm *out)
{
    const exp_t *x = &d->ex[e];
    out->chi2 = out->p = NAN;
    out->df = x->nv > 0 ? x->nv - 1 : 0;
    double n = 0.0, wsum = 0.0, u[LW_EXP_MAX_VARIANTS];
    for (uint32_t v = 0; v < x->nv; v++) {
        u[v] = lw_exp_data_users(d, e, v);
        n += u[v];
        wsum += x->weight[v];
    }
    if (x->nv < 2 || !(n > 0.0))
        return;
    double chi2 = 0.0;
    for (uint32_t v = 0; v < x->nv; v++) {
        const double exp_n = n * x->weight[v] / wsum, r = u[v] - exp_n;
        chi2 += r * r / exp_n;
    }
    out->chi2 = chi2;
    out->p = gsl_cdf_chisq_Q(chi2, (double)out->df);
}

/* ---- across experiments ----------------------------------------------------- */

const char *lw_exp_verdict_name(lw_exp_verdict v)
{
    switch (v) {
    case LW_EXP_CONFIRMS: return "confirms";
    case LW_EXP_CONTRADICTS: return "contradicts";
    case LW_EXP_NOT_ENOUGH: break;
    }
    return "not_enough";
}

void lw_exp_opts_init(lw_exp_opts *o)
{
    o->alpha = 0.05;
    o->min_experiments = 10;
    o->min_significant = 3;
    o->min_reliability = 0.2;
    o->min_agreement = 0.7;
    o->min_slope = 0.1;
    o->srm_alpha = 0.001;
    o->bootstrap = 2000;
    o->seed = 1;
}

lw_err_t lw_exp_opts_check(const lw_exp_opts *o, char *errstr, size_t errstr_size)
{
    if (!(o->alpha > 0.0 && o->alpha <= 0.5))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "alpha must be in (0, 0.5]");
    if (o->min_experiments < 3)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "min_experiments must be >= 3");
    if (!(o->min_reliability >= 0.0 && o->min_reliability < 1.0) ||
        !(o->min_agreement >= 0.5 && o->min_agreement <= 1.0) || !isfinite(o->min_slope))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "min_reliability in [0, 1), min_agreement in [0.5, 1], min_slope finite");
    if (!(o->srm_alpha >= 0.0 && o->srm_alpha < 0.5))
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "srm_alpha must be in [0, 0.5)");
    if (o->bootstrap < 100 || o->bootstrap > 1000000)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "bootstrap must be 100..1000000");
    return LW_OK;
}

typedef struct {
    double sxx, syy, sxy; /* sample (co)variances, n - 1 */
    double ex2, ey2, exy; /* mean error (co)variances */
} moments_t;

/* Moments over the points idx[0..n) (idx NULL: all in order). */
static void moments(const lw_exp_point *p, const size_t *idx, size_t n, moments_t *m)
{
    double mx = 0.0, my = 0.0;
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < n; i++) {
        const lw_exp_point *q = &p[idx ? idx[i] : i];
        mx += q->x;
        my += q->y;
        m->ex2 += q->se_x * q->se_x;
        m->ey2 += q->se_y * q->se_y;
        m->exy += q->cov_xy;
    }
    mx /= (double)n;
    my /= (double)n;
    m->ex2 /= (double)n;
    m->ey2 /= (double)n;
    m->exy /= (double)n;
    for (size_t i = 0; i < n; i++) {
        const lw_exp_point *q = &p[idx ? idx[i] : i];
        m->sxx += (q->x - mx) * (q->x - mx);
        m->syy += (q->y - my) * (q->y - my);
        m->sxy += (q->x - mx) * (q->y - my);
    }
    m->sxx /= (double)(n - 1);
    m->syy /= (double)(n - 1);
    m->sxy /= (double)(n - 1);
}

/* The corrected slope, NaN when the corrected variance of x is not positive. */
static double corrected_slope(const moments_t *m)
{
    const double den = m->sxx - m->ex2;
    return den > 0.0 ? (m->sxy - m->exy) / den : (double)NAN;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Linear-interpolated quantile of sorted v[0..n) (numpy's default). */
static double quantile(const double *v, size_t n, double q)
{
    const double h = q * (double)(n - 1);
    const size_t i = (size_t)floor(h);
    return i + 1 < n ? v[i] + (h - (double)i) * (v[i + 1] - v[i]) : v[n - 1];
}

/* Percentile bootstrap of the corrected slope over experiments: a resample
 * draws as many experiments as there are, with replacement, and takes all
 * the comparisons of each (the arms of one experiment share its control,
 * so they are not independent).  p is in experiment order. */
static lw_err_t bootstrap_slope(const lw_exp_point *p, size_t n, const lw_exp_opts *o,
                                lw_exp_meta *out, char *errstr, size_t errstr_size)
{
    /* group g holds the points first[g] .. first[g + 1] - 1 */
    size_t *first = malloc((n + 1) * sizeof *first);
    size_t *idx = malloc(n * LW_EXP_MAX_VARIANTS * sizeof *idx);
    double *s = malloc(o->bootstrap * sizeof *s);
    if (!first || !idx || !s) {
        free(first);
        free(idx);
        free(s);
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    }
    size_t ng = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || p[i].experiment != p[i - 1].experiment)
            first[ng++] = i;
    first[ng] = n;
    uint64_t st = o->seed;
    size_t ok = 0;
    for (size_t r = 0; r < o->bootstrap; r++) {
        size_t k = 0;
        for (size_t i = 0; i < ng; i++) {
            const size_t g = (size_t)(splitmix(&st) % ng);
            for (size_t j = first[g]; j < first[g + 1]; j++)
                idx[k++] = j;
        }
        double b = NAN;
        if (k >= 3) {
            moments_t m;
            moments(p, idx, k, &m);
            b = corrected_slope(&m);
        }
        if (isfinite(b))
            s[ok++] = b;
    }
    if ((double)(o->bootstrap - ok) > o->alpha / 2.0 * (double)o->bootstrap || ok < 2) {
        out->slope_lo = -INFINITY;
        out->slope_hi = INFINITY;
    } else {
        qsort(s, ok, sizeof *s, cmp_double);
        out->slope_lo = quantile(s, ok, o->alpha / 2.0);
        out->slope_hi = quantile(s, ok, 1.0 - o->alpha / 2.0);
    }
    free(first);
    free(idx);
    free(s);
    return LW_OK;
}

static void verdict(const lw_exp_opts *o, lw_exp_meta *m)
{
    char *r = m->reason;
    const size_t rs = sizeof m->reason;
    m->verdict = LW_EXP_NOT_ENOUGH;
    if (m->n < o->min_experiments) {
        snprintf(r, rs, "%zu comparisons, fewer than %zu", m->n, o->min_experiments);
    } else if (m->n_x_sig < o->min_significant) {
        snprintf(r, rs, "the input moved significantly in %zu of %zu comparisons (fewer than %zu)",
                 m->n_x_sig, m->n, o->min_significant);
    } else if (!(m->reliability >= o->min_reliability)) {
        snprintf(r, rs, "signal share of the input's effects %.2f < %.2f: mostly noise",
                 m->reliability, o->min_reliability);
    } else if (!isfinite(m->slope_lo) || !isfinite(m->slope_hi)) {
        snprintf(r, rs,
                 "slope interval unbounded (the corrected input variance is not clearly "
                 "positive)");
    } else if (m->slope_hi < o->min_slope) {
        m->verdict = LW_EXP_CONTRADICTS;
        snprintf(r, rs,
                 "input moved in %zu of %zu comparisons but slope %.3g [%.3g, %.3g] excludes "
                 "slopes >= %.3g",
                 m->n_x_sig, m->n, m->slope, m->slope_lo, m->slope_hi, o->min_slope);
    } else if (m->slope_lo > 0.0 && m->agreement >= o->min_agreement) {
        m->verdict = LW_EXP_CONFIRMS;
        snprintf(r, rs, "slope %.3g [%.3g, %.3g] > 0, direction agrees in %.0f%% of %zu", m->slope,
                 m->slope_lo, m->slope_hi, 100.0 * m->agreement, m->n_x_sig);
    } else if (m->slope_lo > 0.0) {
        snprintf(r, rs, "slope %.3g [%.3g, %.3g] > 0 but direction agrees in only %.0f%% of %zu",
                 m->slope, m->slope_lo, m->slope_hi, 100.0 * m->agreement, m->n_x_sig);
    } else {
        snprintf(r, rs, "slope %.3g [%.3g, %.3g] neither clears 0 nor stays below %.3g", m->slope,
                 m->slope_lo, m->slope_hi, o->min_slope);
    }
}

lw_err_t lw_exp_meta_compute(const lw_exp_data *d, const char *x, lw_exp_window xw, const char *y,
                             lw_exp_window yw, const lw_exp_opts *o, lw_exp_meta *out, char *errstr,
                             size_t errstr_size)
{
    memset(out, 0, sizeof *out);
    out->sensitivity = out->agreement = out->naive_slope = out->slope = NAN;
    out->slope_lo = out->slope_hi = out->corr = out->reliability = out->score = NAN;
    size_t cap = 0;
    for (size_t e = 0; e < d->exps.n; e++)
        cap += d->ex[e].nv;
    if (cap && !(out->points = calloc(cap, sizeof *out->points)))
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    size_t agree = 0;
    for (size_t e = 0; e < d->exps.n; e++) {
        const size_t ctl = lw_exp_data_control(d, e);
        lw_exp_srm srm;
        lw_exp_srm_compute(d, e, &srm);
        if (srm.p < o->srm_alpha) {
            out->n_srm_excluded++;
            continue;
        }
        for (size_t v = 0; v < d->ex[e].nv; v++) {
            if (v == ctl)
                continue;
            lw_exp_effect ex, ey;
            lw_exp_effect_compute(d, e, v, x, xw, o->alpha, &ex);
            lw_exp_effect_compute(d, e, v, y, yw, o->alpha, &ey);
            const double cv = lw_exp_effect_cov(d, e, v, x, xw, y, yw);
            if (!ex.defined || !ey.defined || !isfinite(cv))
                continue;
            lw_exp_point *p = &out->points[out->n++];
            *p = (lw_exp_point){.experiment = e,
                                .variant = v,
                                .x = ex.rel,
                                .se_x = ex.se,
                                .y = ey.rel,
                                .se_y = ey.se,
                                .cov_xy = cv,
                                .x_sig = ex.significant,
                                .y_sig = ey.significant};
            out->n_x_sig += p->x_sig;
            out->n_y_sig += p->y_sig;
            agree += p->x_sig && p->x * p->y > 0.0;
        }
    }
    if (out->n)
        out->sensitivity = (double)out->n_x_sig / (double)out->n;
    if (out->n_x_sig)
        out->agreement = (double)agree / (double)out->n_x_sig;
    if (out->n >= 3) {
        moments_t m;
        moments(out->points, NULL, out->n, &m);
        out->naive_slope = m.sxx > 0.0 ? m.sxy / m.sxx : (double)NAN;
        out->slope = corrected_slope(&m);
        const double vx = m.sxx - m.ex2, vy = m.syy - m.ey2;
        out->reliability = m.sxx > 0.0 ? vx / m.sxx : (double)NAN;
        if (vx > 0.0 && vy > 0.0) {
            out->corr = fmax(-1.0, fmin(1.0, (m.sxy - m.exy) / sqrt(vx * vy)));
            out->score = out->corr * sqrt(out->reliability);
        }
        lw_err_t err = bootstrap_slope(out->points, out->n, o, out, errstr, errstr_size);
        if (err != LW_OK) {
            lw_exp_meta_release(out);
            return err;
        }
    }
    verdict(o, out);
    return LW_OK;
}

void lw_exp_meta_release(lw_exp_meta *m)
{
    free(m->points);
    m->points = NULL;
    m->n = 0;
}

/* ---- the whole analysis ---------------------------------------------------- */

void lw_exp_analysis_release(lw_exp_analysis *a)
{
    for (size_t e = 0; e < a->nexperiments; e++) {
        lw_exp_result *r = &a->experiments[e];
        for (size_t k = 0; k < r->narms; k++)
            free(r->arms[k].inputs);
        free(r->arms);
    }
    free(a->experiments);
    if (a->inputs)
        for (size_t i = 0; i < a->roles.ninputs; i++)
            lw_exp_meta_release(&a->inputs[i]);
    free(a->inputs);
    lw_exp_meta_release(&a->nsm_kpi);
    memset(a, 0, sizeof *a);
}

static lw_err_t analyze_experiment(const lw_exp_data *d, const lw_exp_roles *roles,
                                   const lw_exp_opts *o, size_t e, lw_exp_result *r)
{
    r->experiment = e;
    lw_exp_srm_compute(d, e, &r->srm);
    const size_t nv = d->ex[e].nv, ctl = lw_exp_data_control(d, e);
    if (nv < 2)
        return LW_OK;
    if (!(r->arms = calloc(nv - 1, sizeof *r->arms)))
        return LW_ERR_NOMEM;
    for (size_t v = 0; v < nv; v++) {
        if (v == ctl)
            continue;
        lw_exp_arm *arm = &r->arms[r->narms++];
        arm->variant = v;
        if (!(arm->inputs = calloc(roles->ninputs, sizeof *arm->inputs)))
            return LW_ERR_NOMEM;
        for (size_t i = 0; i < roles->ninputs; i++)
            lw_exp_effect_compute(d, e, v, roles->inputs[i], LW_EXP_SHORT, o->alpha,
                                  &arm->inputs[i]);
        lw_exp_effect_compute(d, e, v, roles->nsm, LW_EXP_LONG, o->alpha, &arm->nsm);
        if (roles->kpi)
            lw_exp_effect_compute(d, e, v, roles->kpi, LW_EXP_LONG, o->alpha, &arm->kpi);
        else
            memset(&arm->kpi, 0, sizeof arm->kpi);
    }
    return LW_OK;
}

lw_err_t lw_exp_analyze(const lw_exp_data *d, const lw_exp_roles *roles, const lw_exp_opts *o,
                        lw_exp_analysis *out, char *errstr, size_t errstr_size)
{
    memset(out, 0, sizeof *out);
    if (!roles->nsm || roles->ninputs == 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "the experiment analysis needs an NSM and at least one input");
    lw_err_t err = lw_exp_opts_check(o, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    out->data = d;
    out->roles = *roles;
    out->opts = *o;
    const size_t ne = d->exps.n;
    if ((ne && !(out->experiments = calloc(ne, sizeof *out->experiments))) ||
        !(out->inputs = calloc(roles->ninputs, sizeof *out->inputs)))
        goto nomem;
    for (size_t e = 0; e < ne; e++) {
        out->nexperiments = e + 1;
        if (analyze_experiment(d, roles, o, e, &out->experiments[e]) != LW_OK)
            goto nomem;
    }
    for (size_t i = 0; i < roles->ninputs; i++) {
        err = lw_exp_meta_compute(d, roles->inputs[i], LW_EXP_SHORT, roles->nsm, LW_EXP_LONG, o,
                                  &out->inputs[i], errstr, errstr_size);
        if (err != LW_OK)
            goto fail;
    }
    if (roles->kpi) {
        err = lw_exp_meta_compute(d, roles->nsm, LW_EXP_LONG, roles->kpi, LW_EXP_LONG, o,
                                  &out->nsm_kpi, errstr, errstr_size);
        if (err != LW_OK)
            goto fail;
    }
    return LW_OK;
nomem:
    err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
fail:
    lw_exp_analysis_release(out);
    return err;
}

const lw_exp_meta *lw_exp_analysis_edge(const lw_exp_analysis *a, const char *from, const char *to,
                                        lw_exp_window *from_window)
{
    if (!a || !from || !to || !a->roles.nsm)
        return NULL;
    if (a->roles.kpi && strcmp(from, a->roles.nsm) == 0 && strcmp(to, a->roles.kpi) == 0) {
        if (from_window)
            *from_window = LW_EXP_LONG;
        return &a->nsm_kpi;
    }
    if (strcmp(to, a->roles.nsm) != 0 || !a->inputs)
        return NULL;
    for (size_t i = 0; i < a->roles.ninputs; i++)
        if (strcmp(from, a->roles.inputs[i]) == 0) {
            if (from_window)
                *from_window = LW_EXP_SHORT;
            return &a->inputs[i];
        }
    return NULL;
}
