/*
 * exposure.c - see exposure.h for the contract.
 *
 * State.
 *   - variants: one entry per (experiment, variant) seen, at most
 *     LW_EXPOSURE_MAX_VARIANTS, each with its delta cells since the last
 *     commit as dense arrays: users[nb], and num/den[tracked metric][window][nb]
 *     (nb = experiments.buckets).  A flush writes each touched vector as one
 *     store cell (an element-wise add: one upsert a vector, not a bucket).
 *   - assignments: an array of asg_t (48 bytes), at most
 *     experiments.max_users, grown by doubling; a user's assignments (one per
 *     experiment) are chained by `next`.  An open-addressing table (linear
 *     probing, load <= 1/2, uint32 slots holding index + 1) maps the user's
 *     64-bit hash to the head of its chain.  So 1 M assignments of 1 M users
 *     take about 48 MB + 8 MB, with the doubling's transient copy at most 1.5x.
 *   - the assignments created or whose seen bits changed since the last
 *     commit (a list of indexes, each once: asg_t.dirty).
 * Users are told apart by XXH3 of the id only (as the store keeps them):
 * two of 1 M users share a hash with probability ~3e-8.
 *
 * Tracked metrics: the tree's inputs, NSM and KPI, and (recursively) the
 * parts of those that are ratios; their slot index is the bit of the
 * per-assignment `seen` sets, so those bits assume the metric list does not
 * change while experiments run (a changed tree re-counts distinct users
 * once in their open windows).
 *
 * Per event: one hash of the user id and one table probe when the user has
 * no assignment and the event is not an exposure; lw_agg_match only for
 * users with one.
 *
 * Property families scan the object's JSON text for keys with the prefix.
 * The decoder validated the whole document before handing out the event,
 * so the scan needs no end pointer: every string and bracket is closed.
 */
#include "leadwatch/ingest/exposure.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/core/hll.h"
#include "leadwatch/core/log.h"

#define NONE UINT32_MAX

typedef struct {
    uint64_t user;
    int64_t exposed;
    uint64_t seen[2];
    uint32_t var;  /* index into variants */
    uint32_t next; /* the user's next assignment, NONE at the end */
    bool dirty;
} asg_t;

typedef struct {
    char exp[LW_EXPOSURE_MAX_NAME];
    char var[LW_EXPOSURE_MAX_NAME];
    uint64_t exp_hash; /* of exp */
    bool dirty;
    double *users; /* [nb] */
    double *num;   /* [ntracked][2][nb] */
    double *den;
} var_t;

typedef struct {
    const lw_exposure_src_t *src;
    int slot[LW_CONFIG_MAX_WHERE]; /* decoder slot per where; -1 for `event` */
    int exp_slot, var_slot, obj_slot;
    size_t prefix_len;
} csrc_t;

struct lw_exposures {
    const lw_config_t *cfg;
    const lw_agg_t *agg;
    csrc_t src[LW_CONFIG_MAX_EXPOSURES];
    size_t nsrc;
    uint32_t nb;
    int64_t win[2];
    size_t max_asg;

    int tracked[LW_CONFIG_MAX_METRICS]; /* metric index -> slot, -1 untracked */
    int tmetric[LW_CONFIG_MAX_METRICS]; /* slot -> metric index */
    size_t ntracked;

    var_t *vars;
    size_t nvars, capvars;

    asg_t *asg;
    size_t nasg, capasg;
    uint32_t *table; /* head assignment + 1, 0 = empty */
    size_t tcap, nusers;

    uint32_t *dirty;
    size_t ndirty, capdirty;

    lw_exposures_stats_t total;
    int64_t pend_assigned, pend_conflicts, pend_dropped;
    bool warned;
    lw_agg_hit_t hits[LW_CONFIG_MAX_METRICS];
    double *zeros; /* [nb]: the den of the users row */
};

/* ---------------------------------------------------------------- setup */

static void track(lw_exposures_t *x, int m, int depth)
{
    if (m < 0 || depth > LW_CONFIG_MAX_METRICS)
        return;
    const lw_metric_def_t *d = &x->cfg->metrics[m];
    if (d->kind == LW_METRIC_RATIO) {
        track(x, d->ratio_num, depth + 1);
        track(x, d->ratio_den, depth + 1);
        return;
    }
    if (x->tracked[m] >= 0)
        return;
    x->tracked[m] = (int)x->ntracked;
    x->tmetric[x->ntracked++] = m;
}

static lw_err_t compile_src(lw_exposures_t *x, lw_decoder_t *dec, const lw_exposure_src_t *s,
                            csrc_t *c, char *errstr, size_t errstr_size)
{
    char sub[256];
    c->src = s;
    c->exp_slot = c->var_slot = c->obj_slot = -1;
    for (size_t i = 0; i < s->nwhere; i++) {
        c->slot[i] = -1;
        if (!s->where[i].is_event &&
            (c->slot[i] = lw_decoder_add_path(dec, s->where[i].path, sub, sizeof sub)) < 0)
            goto fail;
    }
    if (s->experiment &&
        ((c->exp_slot = lw_decoder_add_path(dec, s->experiment, sub, sizeof sub)) < 0 ||
         (c->var_slot = lw_decoder_add_path(dec, s->variant, sub, sizeof sub)) < 0))
        goto fail;
    if (s->object && (c->obj_slot = lw_decoder_add_path(dec, s->object, sub, sizeof sub)) < 0)
        goto fail;
    c->prefix_len = s->prefix ? strlen(s->prefix) : 0;
    (void)x;
    return LW_OK;
fail:
    return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "experiments.exposures (line %d): %s",
                     s->line, sub);
}

void lw_exposures_destroy(lw_exposures_t *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->nvars; i++)
        LW_FREE_ALL(x->vars[i].users, x->vars[i].num, x->vars[i].den);
    LW_FREE_ALL(x->vars, x->asg, x->table, x->dirty, x->zeros, x);
}

lw_exposures_t *lw_exposures_new(const lw_config_t *cfg, lw_decoder_t *dec, const lw_agg_t *agg,
                                 char *errstr, size_t errstr_size)
{
    assert(cfg->experiments.configured);
    lw_exposures_t *x = lw_calloc_err(1, sizeof *x, errstr, errstr_size);
    if (!x)
        return NULL;
    x->cfg = cfg;
    x->agg = agg;
    x->nb = (uint32_t)cfg->experiments.buckets;
    x->win[0] = cfg->experiments.short_ms;
    x->win[1] = cfg->experiments.long_ms;
    x->max_asg = (size_t)cfg->experiments.max_users;
    if (!(x->zeros = lw_calloc_err(x->nb, sizeof *x->zeros, errstr, errstr_size))) {
        free(x);
        return NULL;
    }
    for (size_t m = 0; m < LW_CONFIG_MAX_METRICS; m++)
        x->tracked[m] = -1;
    for (size_t i = 0; i < cfg->tree.ninputs; i++)
        track(x, cfg->tree.inputs[i].metric, 0);
    track(x, cfg->tree.nsm, 0);
    if (cfg->tree.kpi >= 0)
        track(x, cfg->tree.kpi, 0);
    for (size_t i = 0; i < cfg->experiments.nsources; i++) {
        if (compile_src(x, dec, &cfg->experiments.sources[i], &x->src[i], errstr, errstr_size) !=
            LW_OK) {
            lw_exposures_destroy(x);
            return NULL;
        }
        x->nsrc++;
    }
    return x;
}

/* ------------------------------------------------------------ the tables */

static size_t probe(const lw_exposures_t *x, uint64_t user)
{
    size_t mask = x->tcap - 1, i = (size_t)(user ^ (user >> 29)) & mask;
    while (x->table[i] != 0 && x->asg[x->table[i] - 1].user != user)
        i = (i + 1) & mask;
    return i;
}

/* The head of `user`'s chain, NONE when it has no assignment. */
static uint32_t head_of(const lw_exposures_t *x, uint64_t user)
{
    if (x->nusers == 0)
        return NONE;
    uint32_t h = x->table[probe(x, user)];
    return h ? h - 1 : NONE;
}

static bool grow_table(lw_exposures_t *x)
{
    size_t cap = x->tcap ? x->tcap * 2 : 1024;
    uint32_t *old = x->table;
    size_t oldcap = x->tcap;
    if (!(x->table = calloc(cap, sizeof *x->table))) {
        x->table = old;
        return false;
    }
    x->tcap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i])
            x->table[probe(x, x->asg[old[i] - 1].user)] = old[i];
    free(old);
    return true;
}

static bool grow(void **arr, size_t *cap, size_t elem, size_t bound)
{
    size_t want = *cap ? *cap * 2 : 1024;
    if (want > bound)
        want = bound;
    void *n = realloc(*arr, want * elem);
    if (!n)
        return false;
    *arr = n;
    *cap = want;
    return true;
}

static void mark_dirty(lw_exposures_t *x, uint32_t a)
{
    if (x->asg[a].dirty)
        return;
    if (x->ndirty == x->capdirty &&
        !grow((void **)&x->dirty, &x->capdirty, sizeof *x->dirty, x->max_asg))
        return; /* out of memory: the bits reach the store with a later change */
    x->asg[a].dirty = true;
    x->dirty[x->ndirty++] = a;
}

static uint32_t find_var(lw_exposures_t *x, const char *exp, uint64_t exp_hash, const char *var)
{
    for (size_t i = 0; i < x->nvars; i++)
        if (x->vars[i].exp_hash == exp_hash && strcmp(x->vars[i].var, var) == 0 &&
            strcmp(x->vars[i].exp, exp) == 0)
            return (uint32_t)i;
    if (x->nvars == LW_EXPOSURE_MAX_VARIANTS ||
        (x->nvars == x->capvars &&
         !grow((void **)&x->vars, &x->capvars, sizeof *x->vars, LW_EXPOSURE_MAX_VARIANTS)))
        return NONE;
    var_t *v = &x->vars[x->nvars];
    memset(v, 0, sizeof *v);
    size_t cells = x->ntracked * 2 * x->nb;
    v->users = calloc(x->nb, sizeof *v->users);
    v->num = calloc(cells ? cells : 1, sizeof *v->num);
    v->den = calloc(cells ? cells : 1, sizeof *v->den);
    if (!v->users || !v->num || !v->den) {
        free(v->users);
        free(v->num);
        free(v->den);
        return NONE;
    }
    snprintf(v->exp, sizeof v->exp, "%s", exp);
    snprintf(v->var, sizeof v->var, "%s", var);
    v->exp_hash = exp_hash;
    return (uint32_t)x->nvars++;
}

/* Append an assignment; NONE when a bound (or memory) says no. */
static uint32_t new_asg(lw_exposures_t *x, uint64_t user, uint32_t var, int64_t exposed,
                        const uint64_t seen[2])
{
    if (x->nasg == x->max_asg ||
        (x->nasg == x->capasg && !grow((void **)&x->asg, &x->capasg, sizeof *x->asg, x->max_asg)))
        return NONE;
    uint32_t head = head_of(x, user);
    if (head == NONE && (x->nusers + 1) * 2 > x->tcap && !grow_table(x))
        return NONE;
    uint32_t a = (uint32_t)x->nasg++;
    x->asg[a] = (asg_t){.user = user, .exposed = exposed, .var = var, .next = head};
    x->asg[a].seen[0] = seen[0];
    x->asg[a].seen[1] = seen[1];
    if (head == NONE)
        x->nusers++;
    x->table[probe(x, user)] = a + 1;
    return a;
}

/* -------------------------------------------------------------- per event */

static void drop(lw_exposures_t *x, const char *why)
{
    x->pend_dropped++;
    if (!x->warned) {
        LW_LOG(LW_LOG_WARN, "experiments",
               "exposure not assigned (%s); further ones are only counted (experiments.dropped)",
               why);
        x->warned = true;
    }
}

static void expose(lw_exposures_t *x, uint64_t user, lw_slice_t exp, lw_slice_t var, int64_t t)
{
    char e[LW_EXPOSURE_MAX_NAME], v[LW_EXPOSURE_MAX_NAME];
    if (exp.len == 0 || var.len == 0)
        return; /* not an exposure */
    if (exp.len >= sizeof e || var.len >= sizeof v) {
        drop(x, "experiment or variant name longer than 127 bytes");
        return;
    }
    memcpy(e, exp.ptr, exp.len);
    e[exp.len] = '\0';
    memcpy(v, var.ptr, var.len);
    v[var.len] = '\0';
    uint64_t eh = lw_hll_hash(e, exp.len);
    for (uint32_t a = head_of(x, user); a != NONE; a = x->asg[a].next) {
        const var_t *have = &x->vars[x->asg[a].var];
        if (have->exp_hash == eh && strcmp(have->exp, e) == 0) {
            if (strcmp(have->var, v) != 0)
                x->pend_conflicts++;
            return;
        }
    }
    static const uint64_t none[2] = {0, 0};
    uint32_t vi = find_var(x, e, eh, v);
    if (vi == NONE) {
        drop(x, "more experiment variants than LW_EXPOSURE_MAX_VARIANTS");
        return;
    }
    uint32_t a = new_asg(x, user, vi, t, none);
    if (a == NONE) {
        drop(x, "experiments.max_users reached");
        return;
    }
    mark_dirty(x, a);
    x->vars[vi].users[user % x->nb] += 1;
    x->vars[vi].dirty = true;
    x->pend_assigned++;
}

/* The text of a string, number or boolean value; false for anything else. */
static bool value_text(const lw_value_t *v, lw_slice_t *out)
{
    if (v->type == LW_VAL_STRING || v->type == LW_VAL_NUMBER) {
        *out = v->s;
        return true;
    }
    if (v->type == LW_VAL_BOOL) {
        out->ptr = v->b ? "true" : "false";
        out->len = v->b ? 4 : 5;
        return true;
    }
    return false;
}

static bool src_matches(const csrc_t *c, const lw_event_t *ev)
{
    const lw_exposure_src_t *s = c->src;
    for (size_t i = 0; i < s->nwhere; i++) {
        const lw_where_t *w = &s->where[i];
        bool any = false;
        for (size_t j = 0; j < w->nvalues && !any; j++)
            any = w->is_event ? w->values[j].type == LW_SCALAR_STRING &&
                                    lw_slice_eq(ev->name, w->values[j].str)
                              : lw_scalar_matches(&w->values[j], &ev->fields[c->slot[i]]);
        if (!any)
            return false;
    }
    return true;
}

/* After the closing quote of the string starting at p ('"'). */
static const char *skip_string(const char *p)
{
    for (p++; *p != '"'; p++)
        if (*p == '\\')
            p++;
    return p + 1;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* After the JSON value starting at p (valid JSON: brackets and strings are closed). */
static const char *skip_value(const char *p)
{
    if (*p == '"')
        return skip_string(p);
    if (*p != '{' && *p != '[') {
        while (*p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\t' &&
               *p != '\r')
            p++;
        return p;
    }
    int depth = 0;
    do {
        if (*p == '"') {
            p = skip_string(p);
            continue;
        }
        depth += *p == '{' || *p == '[';
        depth -= *p == '}' || *p == ']';
        p++;
    } while (depth > 0);
    return p;
}

/* Every key of the object at obj that starts with the prefix: experiment = the rest. */
static void scan_family(lw_exposures_t *x, const csrc_t *c, uint64_t user, const char *obj,
                        int64_t t)
{
    const char *p = skip_ws(obj + 1);
    while (*p == '"') {
        const char *k = p + 1, *kend = skip_string(p) - 1;
        p = skip_ws(skip_ws(kend + 1) + 1); /* past the ':' */
        const char *vstart = p;
        p = skip_value(p);
        size_t klen = (size_t)(kend - k);
        if (klen > c->prefix_len && memcmp(k, c->src->prefix, c->prefix_len) == 0 &&
            !memchr(k, '\\', klen)) {
            lw_slice_t exp = {k + c->prefix_len, klen - c->prefix_len}, var = {0};
            if (*vstart == '"' && !memchr(vstart + 1, '\\', (size_t)(p - vstart - 2))) {
                var.ptr = vstart + 1;
                var.len = (size_t)(p - vstart - 2);
            } else if (*vstart == 't' || *vstart == 'f' || (*vstart >= '0' && *vstart <= '9') ||
                       *vstart == '-') {
                var.ptr = vstart;
                var.len = (size_t)(p - vstart);
            }
            expose(x, user, exp, var, t);
        }
        p = skip_ws(p);
        if (*p == ',')
            p = skip_ws(p + 1);
    }
}

/* One matched tracked metric of the current event (lw_exposures_add fills them once). */
typedef struct {
    size_t slot;
    bool distinct;
    double value;
} thit_t;

static void contribute(lw_exposures_t *x, uint32_t a, uint64_t user, const thit_t *hits,
                       size_t nhits, int64_t t)
{
    asg_t *g = &x->asg[a];
    int64_t dt = t - g->exposed;
    if (dt < 0 || dt >= x->win[1])
        return;
    var_t *v = &x->vars[g->var];
    uint32_t b = (uint32_t)(user % x->nb);
    for (int w = 0; w < 2; w++) {
        if (dt >= x->win[w])
            continue;
        for (size_t i = 0; i < nhits; i++) {
            if (hits[i].distinct) {
                uint64_t bit = UINT64_C(1) << hits[i].slot;
                if (g->seen[w] & bit)
                    continue;
                g->seen[w] |= bit;
                mark_dirty(x, a);
            }
            size_t cell = (hits[i].slot * 2 + (size_t)w) * x->nb + b;
            v->num[cell] += hits[i].value;
            v->den[cell] += 1;
            v->dirty = true;
        }
    }
}

void lw_exposures_add(lw_exposures_t *x, const lw_event_t *ev)
{
    uint64_t user = lw_hll_hash(ev->user.ptr, ev->user.len);
    for (size_t i = 0; i < x->nsrc; i++) {
        const csrc_t *c = &x->src[i];
        if (!src_matches(c, ev))
            continue;
        if (c->exp_slot >= 0) {
            lw_slice_t e, v;
            if (value_text(&ev->fields[c->exp_slot], &e) &&
                value_text(&ev->fields[c->var_slot], &v))
                expose(x, user, e, v, ev->time_ms);
        } else if (ev->fields[c->obj_slot].type == LW_VAL_COMPOUND &&
                   ev->fields[c->obj_slot].s.ptr[0] == '{') {
            scan_family(x, c, user, ev->fields[c->obj_slot].s.ptr, ev->time_ms);
        }
    }
    uint32_t head = head_of(x, user);
    if (head == NONE)
        return;
    size_t nmatch = lw_agg_match(x->agg, ev, x->hits), nhits = 0;
    thit_t hits[LW_CONFIG_MAX_METRICS];
    for (size_t i = 0; i < nmatch; i++) {
        int slot = x->tracked[x->hits[i].metric];
        if (slot < 0)
            continue;
        hits[nhits].slot = (size_t)slot;
        hits[nhits].distinct = x->cfg->metrics[x->hits[i].metric].kind == LW_METRIC_DISTINCT;
        hits[nhits++].value = x->hits[i].value;
    }
    if (nhits == 0)
        return;
    for (uint32_t a = head; a != NONE; a = x->asg[a].next)
        contribute(x, a, user, hits, nhits, ev->time_ms);
}

/* ----------------------------------------------------------- the store */

typedef struct {
    lw_exposures_t *x;
    lw_cb_err_t e; /* the callback's failure */
} load_t;

static int load_one(void *ud, const lw_exp_assign_t *a)
{
    load_t *l = ud;
    lw_exposures_t *x = l->x;
    uint32_t vi =
        find_var(x, a->experiment, lw_hll_hash(a->experiment, strlen(a->experiment)), a->variant);
    if (vi == NONE || new_asg(x, a->user_hash, vi, a->exposed_ms, a->seen) == NONE) {
        l->e.err = lw_seterr(l->e.errstr, l->e.errstr_size, LW_ERR_TOO_LARGE,
                             "the store holds more experiment assignments than "
                             "experiments.max_users (%zu) or variants than %d allows",
                             x->max_asg, LW_EXPOSURE_MAX_VARIANTS);
        return 1;
    }
    return 0;
}

lw_err_t lw_exposures_load(lw_exposures_t *x, lw_store_t *store, char *errstr, size_t errstr_size)
{
    load_t l = {x, {LW_OK, errstr, errstr_size}};
    lw_err_t err = lw_store_exp_assigns(store, load_one, &l, errstr, errstr_size);
    return lw_cb_status(err, &l.e);
}

static bool all_zero(const double *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (v[i] != 0)
            return false;
    return true;
}

/* One vector a (metric, window) and the users' vector; untouched ones are skipped. */
static lw_err_t write_var(lw_exposures_t *x, const var_t *v, lw_store_t *store, char *errstr,
                          size_t errstr_size)
{
    lw_exp_cell_t c = {.experiment = v->exp,
                       .variant = v->var,
                       .metric = "",
                       .nb = x->nb,
                       .num = v->users,
                       .den = x->zeros};
    lw_err_t err = LW_OK;
    if (!all_zero(v->users, x->nb))
        err = lw_store_add_exp_cell(store, &c, errstr, errstr_size);
    for (size_t s = 0; s < x->ntracked && err == LW_OK; s++) {
        c.metric = x->cfg->metrics[x->tmetric[s]].name;
        for (int w = 0; w < 2 && err == LW_OK; w++) {
            size_t at = (s * 2 + (size_t)w) * x->nb;
            c.window = w;
            c.num = v->num + at;
            c.den = v->den + at;
            if (!all_zero(c.den, x->nb))
                err = lw_store_add_exp_cell(store, &c, errstr, errstr_size);
        }
    }
    return err;
}

static lw_err_t add_counter(lw_store_t *store, const char *name, int64_t delta, char *errstr,
                            size_t errstr_size)
{
    return delta ? lw_store_add_counter(store, name, delta, errstr, errstr_size) : LW_OK;
}

/* The store's key order: experiment name, then the hash as a signed integer (SQLite, bigint). */
typedef struct {
    const char *exp;
    int64_t user;
    uint32_t idx;
} skey_t;

static int by_key(const void *pa, const void *pb)
{
    const skey_t *a = pa, *b = pb;
    int c = a->exp == b->exp ? 0 : strcmp(a->exp, b->exp);
    return c != 0 ? c : (a->user > b->user) - (a->user < b->user);
}

/* The dirty list in the store's key order: a B-tree takes sorted inserts several times faster
 * than random ones.  Out of memory: left as it is. */
static void sort_dirty(lw_exposures_t *x)
{
    skey_t *k = malloc((x->ndirty ? x->ndirty : 1) * sizeof *k);
    if (!k)
        return;
    for (size_t i = 0; i < x->ndirty; i++) {
        const asg_t *g = &x->asg[x->dirty[i]];
        k[i] = (skey_t){x->vars[g->var].exp, (int64_t)g->user, x->dirty[i]};
    }
    qsort(k, x->ndirty, sizeof *k, by_key);
    for (size_t i = 0; i < x->ndirty; i++)
        x->dirty[i] = k[i].idx;
    free(k);
}

lw_err_t lw_exposures_write(lw_exposures_t *x, lw_store_t *store, char *errstr, size_t errstr_size)
{
    lw_err_t err = LW_OK;
    sort_dirty(x);
    for (size_t i = 0; i < x->ndirty && err == LW_OK; i++) {
        const asg_t *g = &x->asg[x->dirty[i]];
        const var_t *v = &x->vars[g->var];
        lw_exp_assign_t a = {.experiment = v->exp,
                             .variant = v->var,
                             .user_hash = g->user,
                             .exposed_ms = g->exposed,
                             .seen = {g->seen[0], g->seen[1]}};
        err = lw_store_put_exp_assign(store, &a, errstr, errstr_size);
    }
    for (size_t i = 0; i < x->nvars && err == LW_OK; i++)
        if (x->vars[i].dirty)
            err = write_var(x, &x->vars[i], store, errstr, errstr_size);
    if (err == LW_OK)
        err = add_counter(store, "experiments.assigned", x->pend_assigned, errstr, errstr_size);
    if (err == LW_OK)
        err = add_counter(store, "experiments.conflicts", x->pend_conflicts, errstr, errstr_size);
    if (err == LW_OK)
        err = add_counter(store, "experiments.dropped", x->pend_dropped, errstr, errstr_size);
    return err;
}

void lw_exposures_committed(lw_exposures_t *x)
{
    for (size_t i = 0; i < x->ndirty; i++)
        x->asg[x->dirty[i]].dirty = false;
    x->ndirty = 0;
    size_t cells = x->ntracked * 2 * x->nb;
    for (size_t i = 0; i < x->nvars; i++) {
        var_t *v = &x->vars[i];
        if (!v->dirty)
            continue;
        memset(v->users, 0, x->nb * sizeof *v->users);
        memset(v->num, 0, cells * sizeof *v->num);
        memset(v->den, 0, cells * sizeof *v->den);
        v->dirty = false;
    }
    x->total.assigned += x->pend_assigned;
    x->total.conflicts += x->pend_conflicts;
    x->total.dropped += x->pend_dropped;
    x->pend_assigned = x->pend_conflicts = x->pend_dropped = 0;
}

void lw_exposures_stats(const lw_exposures_t *x, lw_exposures_stats_t *out)
{
    *out = x->total;
    out->assigned += x->pend_assigned;
    out->conflicts += x->pend_conflicts;
    out->dropped += x->pend_dropped;
    out->assignments = (int64_t)x->nasg;
    out->variants = x->nvars;
}
