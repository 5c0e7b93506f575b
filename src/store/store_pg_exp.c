/*
 * store_pg_exp.c - the PostgreSQL backend's experiment tables (issue 16,
 * schema v5 in store_pg.c): exp_assign, one row per (experiment, user_hash)
 * with the variant, the first exposure and the seen bits, and exp_cells,
 * per (experiment, variant, metric, window) the per-bucket sums as
 * double precision[] vectors.
 *
 * An assignment is an upsert that keeps the first exposure and replaces the
 * seen bits.  An experiment cell is an upsert whose vectors are added
 * element-wise by the SQL function lw_vec_add inside it (so under the row's
 * lock, as count and sum are in cells); the vectors go to the server as
 * float8[] text literals (%.17g, exact) and come back as binary arrays,
 * decoded here (one dimension, no NULL element, at most
 * LW_EXP_CELL_MAX_BUCKETS; the shorter of num and den is padded with 0).
 * Assignments are read in pages by their key (lw_pg_read_pages), the cells
 * (few) in one query.
 */
#include "leadwatch/store/store_pg_conn.h"

lw_err_t lw_pg_put_exp_assign(lw_store_backend_t *b, const lw_exp_assign_t *a, char *errstr,
                              size_t errstr_size)
{
    params_t p = {0};
    p_text(&p, a->experiment);
    p_i64(&p, (int64_t)a->user_hash);
    p_text(&p, a->variant);
    p_i64(&p, a->exposed_ms);
    p_i64(&p, (int64_t)a->seen[0]);
    p_i64(&p, (int64_t)a->seen[1]);
    return lw_pg_keyed_write(b, ST_PUT_EXP_ASSIGN, &p, "put assignment", errstr, errstr_size);
}

/*
 * exp_assigns' page position (the last key handed on) and callback.  The
 * page/row pair has the shape of read_cells' (store_pg.c): lw_pg_read_pages
 * is their shared loop; what is left differs by key and row.
 */
typedef struct {
    char last_exp[LW_PG_MAX_TARGET];
    int64_t last_hash;
    lw_store_exp_assign_cb cb;
    void *ud;
} assigns_read_t;

static bool assigns_page(void *ctx, params_t *p)
{
    assigns_read_t *r = ctx;
    p_text(p, r->last_exp);
    p_i64(p, r->last_hash);
    return true;
}

static int assigns_row(void *ctx, const PGresult *res, int i)
{
    assigns_read_t *r = ctx;
    lw_exp_assign_t a = {
        .experiment = PQgetvalue(res, i, 0),
        .user_hash = (uint64_t)col_i64(res, i, 1),
        .variant = PQgetvalue(res, i, 2),
        .exposed_ms = col_i64(res, i, 3),
        .seen = {(uint64_t)col_i64(res, i, 4), (uint64_t)col_i64(res, i, 5)},
    };
    if (r->cb(r->ud, &a) != 0) {
        return 1;
    }
    snprintf(r->last_exp, sizeof r->last_exp, "%s", a.experiment);
    r->last_hash = (int64_t)a.user_hash;
    return 0;
}

/* Pages by the key (experiment, user_hash); no experiment is named "", so ("", min) starts. */
lw_err_t lw_pg_exp_assigns(lw_store_backend_t *b, lw_store_exp_assign_cb cb, void *ud, char *errstr,
                           size_t errstr_size)
{
    assigns_read_t r = {.last_exp = "", .last_hash = INT64_MIN, .cb = cb, .ud = ud};
    return lw_pg_read_pages(b, ST_EXP_ASSIGNS, "read assignments", assigns_page, assigns_row, &r,
                            errstr, errstr_size);
}

/* A float8[] literal: {x,y,...} with %.17g (round-trips exactly). */
static void array_text(char *out, size_t size, const double *v, uint32_t n)
{
    size_t used = (size_t)snprintf(out, size, "{");
    for (uint32_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%.17g", i ? "," : "", v[i]);
    if (used < size)
        snprintf(out + used, size - used, "}");
}

/* A binary float8[] of one dimension into out[max]: its length, or -1 when it is not one. */
static int col_f64_array(const PGresult *r, int row, int col, double *out, int max)
{
    const char *v = PQgetvalue(r, row, col);
    int len = PQgetlength(r, row, col);
    if (len < 12)
        return -1;
    int ndim = (int)(be_u64(v) >> 32);
    if (ndim == 0)
        return 0;
    if (ndim != 1 || len < 20)
        return -1;
    int n = (int)(be_u64(v + 12) >> 32);
    if (n < 0 || n > max || len != 20 + 12 * n)
        return -1;
    for (int i = 0; i < n; i++) {
        const char *e = v + 20 + 12 * i;
        if ((int)(be_u64(e) >> 32) != 8)
            return -1; /* NULL element */
        uint64_t u = be_u64(e + 4);
        memcpy(&out[i], &u, sizeof out[i]);
    }
    return n;
}

lw_err_t lw_pg_add_exp_cell(lw_store_backend_t *b, const lw_exp_cell_t *c, char *errstr,
                            size_t errstr_size)
{
    if (c->nb == 0 || c->nb > LW_EXP_CELL_MAX_BUCKETS)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "store: add experiment cell: %u buckets, not 1..%d", c->nb,
                         LW_EXP_CELL_MAX_BUCKETS);
    params_t p = {0};
    array_text(b->vec_txt[0], sizeof b->vec_txt[0], c->num, c->nb);
    array_text(b->vec_txt[1], sizeof b->vec_txt[1], c->den, c->nb);
    p_text(&p, c->experiment);
    p_text(&p, c->variant);
    p_text(&p, c->metric);
    p_i64(&p, c->window);
    p_text(&p, b->vec_txt[0]);
    p_text(&p, b->vec_txt[1]);
    return lw_pg_keyed_write(b, ST_ADD_EXP_CELL, &p, "add experiment cell", errstr, errstr_size);
}

lw_err_t lw_pg_exp_cells(lw_store_backend_t *b, lw_store_exp_cell_cb cb, void *ud, char *errstr,
                         size_t errstr_size)
{
    PGresult *res = NULL;
    lw_err_t err =
        lw_pg_read_begin(b, ST_EXP_CELLS, NULL, "read experiment cells", &res, errstr, errstr_size);
    if (err != LW_OK) {
        return err;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        lw_exp_cell_t c = {
            .experiment = PQgetvalue(res, i, 0),
            .variant = PQgetvalue(res, i, 1),
            .metric = PQgetvalue(res, i, 2),
            .window = col_i32(res, i, 3),
            .num = b->vec_num,
            .den = b->vec_den,
        };
        int nn = col_f64_array(res, i, 4, b->vec_num, LW_EXP_CELL_MAX_BUCKETS);
        int nd = col_f64_array(res, i, 5, b->vec_den, LW_EXP_CELL_MAX_BUCKETS);
        if (nn < 0 || nd < 0) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_STORE,
                            "store: experiment cell %s/%s/%s: not a vector of at most %d doubles",
                            c.experiment, c.variant, c.metric, LW_EXP_CELL_MAX_BUCKETS);
            break;
        }
        for (int k = nd; k < nn; k++)
            b->vec_den[k] = 0;
        for (int k = nn; k < nd; k++)
            b->vec_num[k] = 0;
        c.nb = (uint32_t)(nn > nd ? nn : nd);
        if (cb(ud, &c)) {
            break;
        }
    }
    return lw_pg_read_end(b, res, err);
}
