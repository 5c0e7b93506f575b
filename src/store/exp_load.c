/*
 * exp_load.c - lw_exp_load (exp_rows.h): the store's experiment rows into
 * the analysis' table (stats/experiment.h), with each experiment's control
 * variant from the config.  Kept apart from exp_rows.c so that programs
 * that only dump the rows do not link the analysis.
 */
#include "leadwatch/store/exp_rows.h"

#include <string.h>

typedef struct {
    const lw_config_t *cfg;
    lw_exp_data *d;
    char control_of[LW_EXP_MAX_NAME]; /* the last experiment whose control was named */
    lw_cb_err_t e;                    /* the callback's failure */
} load_t;

static int on_row(void *ud, const lw_exp_row *row)
{
    load_t *l = ud;
    l->e.err = lw_exp_data_add(l->d, row, l->e.errstr, l->e.errstr_size);
    /* rows come by experiment then variant: the first control variant is the smallest */
    if (l->e.err == LW_OK && strcmp(l->control_of, row->experiment) != 0 &&
        lw_exp_is_control(l->cfg, row->variant)) {
        l->e.err = lw_exp_data_set_control(l->d, row->experiment, row->variant, l->e.errstr,
                                           l->e.errstr_size);
        snprintf(l->control_of, sizeof l->control_of, "%s", row->experiment);
    }
    return l->e.err != LW_OK;
}

lw_err_t lw_exp_load(lw_store_t *store, const lw_config_t *cfg, lw_exp_data *d, char *errstr,
                     size_t errstr_size)
{
    load_t l = {.cfg = cfg, .d = d, .e = {LW_OK, errstr, errstr_size}};
    lw_err_t err = lw_exp_rows(store, cfg, on_row, &l, errstr, errstr_size);
    return lw_cb_status(err, &l.e);
}
