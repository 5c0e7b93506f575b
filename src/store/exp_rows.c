/*
 * exp_rows.c - see exp_rows.h.
 *
 * The store hands the cells back ordered by experiment, variant, metric,
 * window, bucket, and the users row (metric "") of a variant sorts first,
 * so the rows of one (experiment, variant) are gathered into dense arrays
 * (users[nb], num/den[metric][window][nb]) and emitted when the next
 * variant starts: memory is one variant's cells whatever the store holds.
 */
#include "leadwatch/store/exp_rows.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const lw_config_t *cfg;
    uint32_t nb;
    int tree[LW_CONFIG_MAX_INPUTS + 2]; /* metric indexes, each once */
    size_t ntree;
    bool have;
    lw_exp_row row; /* experiment and variant of the gathered cells */
    double *users, *num, *den;
    lw_exp_row_cb cb;
    void *ud;
    bool stop;
    lw_cb_err_t e; /* the callback's failure */
} rd_t;

static void add_tree(rd_t *r, int m)
{
    for (size_t i = 0; i < r->ntree; i++)
        if (r->tree[i] == m)
            return;
    r->tree[r->ntree++] = m;
}

static size_t at(const rd_t *r, int m, int w, uint32_t b)
{
    return ((size_t)m * 2 + (size_t)w) * r->nb + b;
}

/* Emit the gathered variant's rows, then clear the arrays. */
static void emit(rd_t *r)
{
    const lw_config_t *cfg = r->cfg;
    for (size_t t = 0; t < r->ntree && !r->stop; t++) {
        int m = r->tree[t];
        const lw_metric_def_t *d = &cfg->metrics[m];
        int nm = m, dm = -1; /* the cells of num and den */
        if (d->kind == LW_METRIC_RATIO) {
            nm = d->ratio_num;
            dm = d->ratio_den;
            if (cfg->metrics[nm].kind == LW_METRIC_RATIO ||
                cfg->metrics[dm].kind == LW_METRIC_RATIO)
                continue;
        }
        snprintf(r->row.metric, sizeof r->row.metric, "%s", d->name);
        for (int w = 0; w < 2 && !r->stop; w++) {
            r->row.window = w ? LW_EXP_LONG : LW_EXP_SHORT;
            for (uint32_t b = 0; b < r->nb && !r->stop; b++) {
                if (r->users[b] <= 0)
                    continue;
                r->row.bucket = b;
                r->row.users = r->users[b];
                r->row.num = r->num[at(r, nm, w, b)];
                r->row.den = d->kind == LW_METRIC_RATIO  ? r->num[at(r, dm, w, b)]
                             : d->kind == LW_METRIC_MEAN ? r->den[at(r, m, w, b)]
                                                         : r->users[b];
                r->stop = r->cb(r->ud, &r->row) != 0;
            }
        }
    }
    size_t cells = r->cfg->nmetrics * 2 * r->nb;
    memset(r->users, 0, r->nb * sizeof *r->users);
    memset(r->num, 0, cells * sizeof *r->num);
    memset(r->den, 0, cells * sizeof *r->den);
    r->have = false;
}

static int on_cell(void *ud, const lw_exp_cell_t *c)
{
    rd_t *r = ud;
    if (r->have &&
        (strcmp(r->row.experiment, c->experiment) != 0 || strcmp(r->row.variant, c->variant) != 0))
        emit(r);
    if (r->stop)
        return 1;
    if (!r->have) {
        snprintf(r->row.experiment, sizeof r->row.experiment, "%s", c->experiment);
        snprintf(r->row.variant, sizeof r->row.variant, "%s", c->variant);
        r->have = true;
    }
    if (c->nb > r->nb) {
        r->e.err = lw_seterr(r->e.errstr, r->e.errstr_size, LW_ERR_INVALID,
                             "experiment %s: %u user buckets, but experiments.buckets is %u (the "
                             "store was written with more buckets)",
                             c->experiment, c->nb, r->nb);
        return 1;
    }
    if (c->metric[0] == '\0') {
        for (uint32_t b = 0; b < c->nb; b++)
            r->users[b] += c->num[b];
        return 0;
    }
    int m = lw_config_metric_index(r->cfg, c->metric);
    if (m < 0 || (c->window != 0 && c->window != 1))
        return 0; /* a metric no longer in the config */
    for (uint32_t b = 0; b < c->nb; b++) {
        r->num[at(r, m, c->window, b)] += c->num[b];
        r->den[at(r, m, c->window, b)] += c->den[b];
    }
    return 0;
}

lw_err_t lw_exp_rows(lw_store_t *store, const lw_config_t *cfg, lw_exp_row_cb cb, void *ud,
                     char *errstr, size_t errstr_size)
{
    rd_t r = {.cfg = cfg,
              .nb = (uint32_t)cfg->experiments.buckets,
              .cb = cb,
              .ud = ud,
              .e = {LW_OK, errstr, errstr_size}};
    for (size_t i = 0; i < cfg->tree.ninputs; i++)
        add_tree(&r, cfg->tree.inputs[i].metric);
    add_tree(&r, cfg->tree.nsm);
    if (cfg->tree.kpi >= 0)
        add_tree(&r, cfg->tree.kpi);
    size_t cells = cfg->nmetrics * 2 * r.nb;
    r.users = calloc(r.nb, sizeof *r.users);
    r.num = calloc(cells, sizeof *r.num);
    r.den = calloc(cells, sizeof *r.den);
    lw_err_t err = LW_OK;
    if (!r.users || !r.num || !r.den)
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    if (err == LW_OK)
        err = lw_store_exp_cells(store, on_cell, &r, errstr, errstr_size);
    if (err == LW_OK && r.e.err == LW_OK && r.have)
        emit(&r);
    if (err == LW_OK)
        err = r.e.err;
    free(r.users);
    free(r.num);
    free(r.den);
    return err;
}

bool lw_exp_is_control(const lw_config_t *cfg, const char *variant)
{
    for (size_t i = 0; i < cfg->experiments.nsources; i++) {
        const lw_exposure_src_t *s = &cfg->experiments.sources[i];
        for (size_t j = 0; j < s->ncontrol; j++)
            if (strcmp(s->control[j], variant) == 0)
                return true;
    }
    return false;
}
