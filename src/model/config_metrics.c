/*
 * config_metrics.c - the tables of the metrics list and the metric tree
 * (config_table.h explains the engine).
 *
 * A metric has exactly one kind key (count, sum, distinct, ratio, mean;
 * key_spec_t.kind marks them and the engine rejects a second one).  Ratio
 * operands may name metrics further down the list, so their names are kept
 * in the parse context and resolved after the whole list, followed by the
 * self/cycle check (a DFS over ratio edges, the cycle printed as a path) and
 * the bound on distinct JSON paths the decoder registers
 * (LW_EVENT_MAX_PATHS).  `where` maps `event` or a dotted path to a value or
 * an any-of list; event names must be strings.  The tree's references are
 * resolved by name against the finished metrics list (the top-level table
 * lists metrics before tree, whatever the file's order).
 */
#include "leadwatch/model/config.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/model/config_table.h"

/* ---------------------------------------------------------------- names */

static const char *const metric_kind_names[] = {"count", "sum", "distinct", "ratio", "mean"};
static const char *const input_kind_names[] = {"breadth", "depth", "frequency", "efficiency", NULL};

const char *lw_metric_kind_name(lw_metric_kind_t k)
{
    if ((unsigned)k < sizeof metric_kind_names / sizeof metric_kind_names[0])
        return metric_kind_names[k];
    return "unknown";
}

const char *lw_input_kind_name(lw_input_kind_t k)
{
    if ((unsigned)k < 4)
        return input_kind_names[k];
    return "unknown";
}

/* ------------------------------------------------------------ metrics */

#define MET(member) offsetof(lw_metric_def_t, member)

static lw_err_t parse_distinct(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                               const char *kp);
static lw_err_t parse_ratio(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                            const char *kp);
static lw_err_t parse_where(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                            const char *kp);
static lw_err_t metric_check(ctx_t *c, void *base, int line, const int *lines, const char *kp);

static const key_spec_t metric_keys[] = {
    KEY_REQUIRED("name", T_NAME, MET(name), "unique name: a-z, 0-9, _ (at most 64 characters)"),
    KEY_KIND("count", T_TRUE, 0, LW_METRIC_COUNT, "kind: number of matching events (count: true)"),
    KEY_KIND("sum", T_PATH, MET(field), LW_METRIC_SUM,
             "kind: sum of the number at this path over matching events"),
    KEY_KIND_CUSTOM("distinct", parse_distinct, "user|path", LW_METRIC_DISTINCT,
                    "kind: distinct users (user) or distinct values of a path (HyperLogLog)"),
    KEY_KIND_CUSTOM("ratio", parse_ratio, "[metric, metric]", LW_METRIC_RATIO,
                    "kind: numerator / denominator, two other metrics, per bucket (no cycles)"),
    KEY_KIND("mean", T_PATH, MET(field), LW_METRIC_MEAN,
             "kind: mean of the number at this path over matching events that carry it"),
    KEY_NUMBER("scale", MET(scale), "1", 0, 0, false, false,
               "sum/mean only: multiply the value by this (e.g. ms -> minutes)"),
    {.key = "window",
     .type = T_DURATION,
     .off = MET(window_ms),
     .min = 1,
     .max = INT64_MAX / 2,
     .help = "distinct only: rolling window, a positive multiple of buckets.size "
             "(at most " STR(LW_CONFIG_MAX_WINDOW_BUCKETS) " buckets); absent: the bucket"},
    KEY_CUSTOM("where", parse_where, "mapping", NULL,
               "not on ratio: conditions that must all hold; each maps `event` or a dotted path to "
               "a value or a list of values (any of)"),
};

const section_t lw_cfg_metric_section =
    SECTION("metrics[]", metric_keys, metric_check,
            "one metric; exactly one of count, sum, distinct, ratio, mean");

static lw_metric_def_t *cur_metric(ctx_t *c, void *base, size_t *index)
{
    lw_metric_def_t *m = base;
    *index = (size_t)(m - c->cfg->metrics);
    assert(*index < c->cfg->nmetrics);
    return m;
}

static lw_err_t parse_distinct(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                               const char *kp)
{
    static const key_spec_t as_path = {.key = "distinct", .type = T_PATH, .off = MET(field)};
    lw_metric_def_t *m = base;
    sval_t sv;
    lw_err_t err;
    (void)k;
    if ((err = lw_cfg_get_scalar(c, v, kp, "user or a dotted path", &sv)))
        return err;
    if ((err = lw_cfg_store_scalar(c, &as_path, &sv, (char *)base + as_path.off, kp)))
        return err;
    m->field_is_user = strcmp(m->field, "user") == 0;
    return LW_OK;
}

static lw_err_t parse_ratio(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                            const char *kp)
{
    size_t idx;
    cur_metric(c, base, &idx);
    (void)k;
    if (v->type != YAML_SEQUENCE_NODE ||
        v->data.sequence.items.top - v->data.sequence.items.start != 2)
        return lw_cfg_fail(c, lw_cfg_node_line(v), kp,
                           "expected a list of two metric names [numerator, denominator], got %s",
                           v->type == YAML_SEQUENCE_NODE ? "a list of another length"
                                                         : lw_cfg_node_desc(v));
    for (int i = 0; i < 2; i++) {
        yaml_node_t *item = lw_cfg_node_at(c, v->data.sequence.items.start[i]);
        sval_t sv;
        lw_err_t err;
        if ((err = lw_cfg_get_scalar(c, item, kp, "a metric name", &sv)) ||
            (err = lw_cfg_want_string(c, &sv, kp, "a metric name")))
            return err;
        char *s = lw_cfg_dup_str(c, &sv, kp, &err);
        if (!s)
            return err;
        free(c->ratio_names[idx][i]);
        c->ratio_names[idx][i] = s;
        c->ratio_lines[idx][i] = sv.line;
    }
    return LW_OK;
}

/* One any-of value; event names must be strings, numbers finite. */
static lw_err_t where_value(ctx_t *c, yaml_node_t *n, const char *kp, bool is_event,
                            lw_scalar_t *out)
{
    sval_t sv;
    lw_err_t err;
    char d[DISP_MAX];
    if ((err = lw_cfg_get_scalar(c, n, kp, "a value (string, number, boolean or null)", &sv)))
        return err;
    if (is_event && sv.type != LW_SCALAR_STRING)
        return lw_cfg_fail(c, sv.line, kp, "event names are strings, got %s (quote it)",
                           lw_cfg_sval_desc(&sv));
    if (sv.type == LW_SCALAR_NUMBER && !isfinite(sv.num))
        return lw_cfg_fail(c, sv.line, kp, "must be a finite number, got %s",
                           lw_cfg_disp(sv.s, d, sizeof d));
    out->type = sv.type;
    out->num = sv.num;
    out->b = sv.b;
    if (sv.type == LW_SCALAR_STRING && !(out->str = lw_cfg_dup_str(c, &sv, kp, &err)))
        return err;
    return LW_OK;
}

static lw_err_t parse_where(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                            const char *kp)
{
    lw_metric_def_t *m = base;
    (void)k;
    return lw_cfg_parse_where(c, v, kp, &m->where, &m->nwhere);
}

lw_err_t lw_cfg_parse_where(ctx_t *c, yaml_node_t *v, const char *kp, lw_where_t **where,
                            size_t *nwhere)
{
    char sub[KP_MAX], item_kp[KP_MAX], d[DISP_MAX];
    lw_err_t err;
    struct {
        lw_where_t *where;
        size_t nwhere;
    } mm = {0}, *m = &mm;

    size_t n;
    if ((err = lw_cfg_map_len(c, v, kp, "conditions", "conditions", LW_CONFIG_MAX_WHERE, &n)))
        return err;
    if (n == 0)
        return lw_cfg_fail(c, lw_cfg_node_line(v), kp,
                           "no conditions (omit where to match every event)");
    m->where = calloc(n, sizeof *m->where);
    if (!m->where)
        return lw_cfg_fail(c, lw_cfg_node_line(v), kp, "out of memory");
    *where = m->where; /* owned by the caller from here on, so a failure below frees it */

    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *p = &v->data.mapping.pairs.start[i];
        yaml_node_t *kn = lw_cfg_node_at(c, p->key), *vn = lw_cfg_node_at(c, p->value);
        lw_where_t *w = &m->where[i];
        sval_t ks;
        if ((err = lw_cfg_get_scalar(c, kn, kp, "a path key", &ks)) ||
            (err = lw_cfg_want_string(c, &ks, kp, "`event` or a dotted path as key")))
            return err;
        lw_cfg_kp_key(sub, kp, ks.s);
        const char *problem = lw_cfg_path_problem(ks.s, ks.len);
        if (problem)
            return lw_cfg_fail(c, ks.line, sub, "%s: \"%s\"", problem,
                               lw_cfg_disp(ks.s, d, sizeof d));
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->where[j].path, ks.s) == 0)
                return lw_cfg_fail(
                    c, ks.line, sub, "duplicate key (first given at line %d)",
                    lw_cfg_node_line(lw_cfg_node_at(c, v->data.mapping.pairs.start[j].key)));
        if (!(w->path = lw_cfg_dup_str(c, &ks, sub, &err)))
            return err;
        m->nwhere = i + 1;
        *nwhere = m->nwhere;
        w->is_event = strcmp(w->path, "event") == 0;

        if (vn->type == YAML_SEQUENCE_NODE) {
            size_t nv = (size_t)(vn->data.sequence.items.top - vn->data.sequence.items.start);
            if (nv == 0)
                return lw_cfg_fail(c, lw_cfg_node_line(vn), sub,
                                   "empty list (give at least one value)");
            if (nv > LW_CONFIG_MAX_ANY_OF)
                return lw_cfg_fail(c, lw_cfg_node_line(vn), sub,
                                   "more than " STR(LW_CONFIG_MAX_ANY_OF) " values");
            if (!(w->values = calloc(nv, sizeof *w->values)))
                return lw_cfg_fail(c, lw_cfg_node_line(vn), sub, "out of memory");
            w->nvalues = nv;
            for (size_t j = 0; j < nv; j++) {
                lw_cfg_kp_index(item_kp, sub, j);
                if ((err = where_value(c, lw_cfg_node_at(c, vn->data.sequence.items.start[j]),
                                       item_kp, w->is_event, &w->values[j])))
                    return err;
            }
        } else {
            if (!(w->values = calloc(1, sizeof *w->values)))
                return lw_cfg_fail(c, lw_cfg_node_line(vn), sub, "out of memory");
            w->nvalues = 1;
            if ((err = where_value(c, vn, sub, w->is_event, &w->values[0])))
                return err;
        }
    }
    return LW_OK;
}

static lw_err_t metric_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    size_t idx;
    lw_metric_def_t *m = cur_metric(c, base, &idx);
    const section_t *sec = &lw_cfg_metric_section;
    char sub[KP_MAX], d[DISP_MAX], w1[32], w2[32];
    int kind = -1;

    for (size_t i = 0; i < sec->nkeys; i++)
        if (sec->keys[i].kind && lines[i])
            kind = sec->keys[i].kind - 1;
    if (kind < 0)
        return lw_cfg_fail(
            c, line, kp,
            "metric \"%s\" has no kind (give one of count, sum, distinct, ratio, mean)",
            lw_cfg_disp(m->name, d, sizeof d));
    m->kind = (lw_metric_kind_t)kind;

    for (size_t j = 0; j < idx; j++)
        if (strcmp(c->cfg->metrics[j].name, m->name) == 0) {
            lw_cfg_kp_key(sub, kp, "name");
            return lw_cfg_fail(c, lines[lw_cfg_key_index(sec, "name")], sub,
                               "duplicate metric \"%s\" (first defined at line %d)",
                               lw_cfg_disp(m->name, d, sizeof d), c->cfg->metrics[j].line);
        }

    int scale_line = lines[lw_cfg_key_index(sec, "scale")];
    int window_line = lines[lw_cfg_key_index(sec, "window")];
    int where_line = lines[lw_cfg_key_index(sec, "where")];
    if (scale_line && m->kind != LW_METRIC_SUM && m->kind != LW_METRIC_MEAN) {
        lw_cfg_kp_key(sub, kp, "scale");
        return lw_cfg_fail(c, scale_line, sub, "only allowed on sum and mean metrics, not %s",
                           lw_metric_kind_name(m->kind));
    }
    if (where_line && m->kind == LW_METRIC_RATIO) {
        lw_cfg_kp_key(sub, kp, "where");
        return lw_cfg_fail(c, where_line, sub,
                           "not allowed on a ratio (filter its numerator and denominator instead)");
    }
    if (window_line) {
        lw_cfg_kp_key(sub, kp, "window");
        if (m->kind != LW_METRIC_DISTINCT)
            return lw_cfg_fail(c, window_line, sub, "only allowed on distinct metrics, not %s",
                               lw_metric_kind_name(m->kind));
        int64_t size = c->cfg->buckets.size_ms;
        if (m->window_ms % size != 0)
            return lw_cfg_fail(c, window_line, sub, "%s is not a multiple of the bucket size %s",
                               lw_cfg_fmt_duration(m->window_ms, w1, sizeof w1),
                               lw_cfg_fmt_duration(size, w2, sizeof w2));
        if (m->window_ms / size > LW_CONFIG_MAX_WINDOW_BUCKETS)
            return lw_cfg_fail(
                c, window_line, sub,
                "%s spans more than " STR(LW_CONFIG_MAX_WINDOW_BUCKETS) " buckets of %s",
                lw_cfg_fmt_duration(m->window_ms, w1, sizeof w1),
                lw_cfg_fmt_duration(size, w2, sizeof w2));
    }
    return LW_OK;
}

/* DFS colours for the ratio cycle check. */
enum { WHITE = 0, GREY, BLACK };

static lw_err_t ratio_dfs(ctx_t *c, int i, unsigned char *colour, int *stack, int depth)
{
    const lw_metric_def_t *ms = c->cfg->metrics;
    colour[i] = GREY;
    stack[depth] = i;
    for (int side = 0; side < 2 && ms[i].kind == LW_METRIC_RATIO; side++) {
        int j = side ? ms[i].ratio_den : ms[i].ratio_num;
        if (colour[j] == GREY) {
            char path[MSG_MAX - 40] = "";
            size_t used = 0;
            int from = depth;
            while (stack[from] != j)
                from--;
            for (int s = from; s <= depth && used < sizeof path; s++)
                used +=
                    (size_t)snprintf(path + used, sizeof path - used, "%s -> ", ms[stack[s]].name);
            if (used < sizeof path)
                snprintf(path + used, sizeof path - used, "%s", ms[j].name);
            char kp[KP_MAX];
            snprintf(kp, sizeof kp, "metrics[%d].ratio", i);
            return lw_cfg_fail(c, c->ratio_lines[i][side], kp, "cycle through ratios: %s", path);
        }
        if (colour[j] == WHITE) {
            lw_err_t err = ratio_dfs(c, j, colour, stack, depth + 1);
            if (err)
                return err;
        }
    }
    colour[i] = BLACK;
    return LW_OK;
}

/* Resolve ratio operands, reject self references and cycles. */
static lw_err_t resolve_ratios(ctx_t *c)
{
    lw_config_t *cfg = c->cfg;
    char kp[KP_MAX], d[DISP_MAX];
    for (size_t i = 0; i < cfg->nmetrics; i++) {
        lw_metric_def_t *m = &cfg->metrics[i];
        if (m->kind != LW_METRIC_RATIO)
            continue;
        snprintf(kp, sizeof kp, "metrics[%zu].ratio", i);
        for (int side = 0; side < 2; side++) {
            const char *name = c->ratio_names[i][side];
            int line = c->ratio_lines[i][side];
            int j = lw_config_metric_index(cfg, name);
            if (j < 0)
                return lw_cfg_fail(c, line, kp, "unknown metric \"%s\"",
                                   lw_cfg_disp(name, d, sizeof d));
            if ((size_t)j == i)
                return lw_cfg_fail(c, line, kp, "metric \"%s\" cannot be a ratio of itself",
                                   lw_cfg_disp(name, d, sizeof d));
            *(side ? &m->ratio_den : &m->ratio_num) = j;
        }
    }
    unsigned char colour[LW_CONFIG_MAX_METRICS] = {0};
    int stack[LW_CONFIG_MAX_METRICS];
    for (size_t i = 0; i < cfg->nmetrics; i++) {
        if (colour[i] == WHITE && cfg->metrics[i].kind == LW_METRIC_RATIO) {
            lw_err_t err = ratio_dfs(c, (int)i, colour, stack, 0);
            if (err)
                return err;
        }
    }
    return LW_OK;
}

/* The decoder registers one slot per distinct JSON path; stay within its bound. */
static lw_err_t check_path_budget(ctx_t *c)
{
    const char *paths[LW_EVENT_MAX_PATHS];
    size_t npaths = 0;
    char kp[KP_MAX];
    for (size_t i = 0; i < c->cfg->nmetrics; i++) {
        const lw_metric_def_t *m = &c->cfg->metrics[i];
        const char *want[1 + LW_CONFIG_MAX_WHERE];
        size_t nwant = 0;
        if (m->field && !m->field_is_user)
            want[nwant++] = m->field;
        for (size_t w = 0; w < m->nwhere; w++)
            if (!m->where[w].is_event)
                want[nwant++] = m->where[w].path;
        for (size_t k = 0; k < nwant; k++) {
            size_t j = 0;
            while (j < npaths && strcmp(paths[j], want[k]) != 0)
                j++;
            if (j < npaths)
                continue;
            if (npaths == LW_EVENT_MAX_PATHS) {
                snprintf(kp, sizeof kp, "metrics[%zu]", i);
                return lw_cfg_fail(
                    c, m->line, kp,
                    "the metrics use more than " STR(LW_EVENT_MAX_PATHS) " distinct JSON paths");
            }
            paths[npaths++] = want[k];
        }
    }
    return LW_OK;
}

lw_err_t lw_cfg_parse_metrics(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                              const char *kp)
{
    lw_config_t *cfg = base;
    char sub[KP_MAX];
    lw_err_t err;
    (void)k;

    size_t n;
    if ((err = lw_cfg_list_len(c, v, kp, "metric", "metrics", LW_CONFIG_MAX_METRICS, &n)))
        return err;
    if (!(cfg->metrics = calloc(n, sizeof *cfg->metrics)) ||
        !(c->ratio_names = calloc(n, sizeof *c->ratio_names)) ||
        !(c->ratio_lines = calloc(n, sizeof *c->ratio_lines)))
        return lw_cfg_fail(c, lw_cfg_node_line(v), kp, "out of memory");
    cfg->nmetrics = n;
    c->nratio = n;

    for (size_t i = 0; i < n; i++) {
        lw_metric_def_t *m = &cfg->metrics[i];
        yaml_node_t *item = lw_cfg_node_at(c, v->data.sequence.items.start[i]);
        m->ratio_num = m->ratio_den = -1;
        m->line = lw_cfg_node_line(item);
        lw_cfg_kp_index(sub, kp, i);
        if ((err = lw_cfg_apply_defaults(c, &lw_cfg_metric_section, m)) ||
            (err = lw_cfg_parse_section(c, &lw_cfg_metric_section, item, m->line, m, sub)))
            return err;
    }
    if ((err = resolve_ratios(c)))
        return err;
    return check_path_budget(c);
}

/* --------------------------------------------------------------- tree */

#define TREE(member) offsetof(lw_config_t, tree.member)
#define INPUT(member) offsetof(lw_tree_input_t, member)

_Static_assert(sizeof(lw_input_kind_t) == sizeof(int), "T_ENUM stores an int");

static lw_err_t input_check(ctx_t *c, void *base, int section_line, const int *lines,
                            const char *kp);

static const key_spec_t input_keys[] = {
    KEY_REQUIRED("metric", T_REF, INPUT(metric),
                 "an input metric (not the NSM or the KPI; each at most once)"),
    {.key = "kind",
     .type = T_ENUM,
     .off = INPUT(kind),
     .required = true,
     .enum_names = input_kind_names,
     .help = "breadth (how many), depth (how much each), frequency (how often), efficiency"},
};

static const section_t input_section =
    SECTION("tree.inputs[]", input_keys, input_check, "one input metric expected to lead the NSM");

static lw_err_t input_check(ctx_t *c, void *base, int section_line, const int *lines,
                            const char *kp)
{
    const lw_config_t *cfg = c->cfg;
    const lw_tree_input_t *in = base;
    size_t k = (size_t)(in - cfg->tree.inputs);
    char sub[KP_MAX], d[DISP_MAX];
    const char *name = lw_cfg_disp(cfg->metrics[in->metric].name, d, sizeof d);
    (void)section_line;
    int line = lines[lw_cfg_key_index(&input_section, "metric")];
    lw_cfg_kp_key(sub, kp, "metric");
    if (in->metric == cfg->tree.nsm)
        return lw_cfg_fail(c, line, sub, "\"%s\" is the NSM; an input must be another metric",
                           name);
    if (in->metric == cfg->tree.kpi)
        return lw_cfg_fail(c, line, sub, "\"%s\" is the KPI; an input must be another metric",
                           name);
    for (size_t j = 0; j < k; j++)
        if (cfg->tree.inputs[j].metric == in->metric)
            return lw_cfg_fail(c, line, sub, "duplicate input \"%s\" (also tree.inputs[%zu])", name,
                               j);
    return LW_OK;
}

/* tree.controls: metrics that enter both models of every edge (conditional Granger). */
static lw_err_t add_control(ctx_t *c, const sval_t *sv, const char *sub, size_t i, size_t n,
                            void *arg)
{
    lw_config_t *cfg = arg;
    (void)n;
    if (lw_config_metric_index(cfg, sv->s) < 0)
        return lw_cfg_fail(c, sv->line, sub, "unknown metric \"%.*s\"", DISP_MAX, sv->s);
    return lw_cfg_analysis_item(c, sv, sub, i, &cfg->analysis.ncontrols,
                                lw_analyze_opts_add_control, &cfg->analysis);
}

static lw_err_t parse_controls(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                               const char *kp)
{
    (void)k;
    return lw_cfg_each_string(c, v, kp, "metric names", "a metric name", add_control, base);
}

static lw_err_t parse_inputs(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                             const char *kp)
{
    lw_config_t *cfg = base;
    char sub[KP_MAX];
    (void)k;
    size_t n;
    lw_err_t err = lw_cfg_list_len(c, v, kp, "input", "inputs", LW_CONFIG_MAX_INPUTS, &n);
    if (err)
        return err;
    for (size_t i = 0; i < n; i++) {
        lw_cfg_kp_index(sub, kp, i);
        cfg->tree.inputs[i].metric = -1;
        yaml_node_t *item = lw_cfg_node_at(c, v->data.sequence.items.start[i]);
        err = lw_cfg_parse_section(c, &input_section, item, lw_cfg_node_line(item),
                                   &cfg->tree.inputs[i], sub);
        if (err)
            return err;
        cfg->tree.ninputs = i + 1;
    }
    return LW_OK;
}

static lw_err_t tree_check(ctx_t *c, void *base, int line, const int *lines, const char *kp);

static const key_spec_t tree_keys[] = {
    KEY_REQUIRED("nsm", T_REF, TREE(nsm), "the North Star Metric the inputs are tested against"),
    KEY_VALUE("kpi", T_REF, TREE(kpi), NULL,
              "optional business KPI the NSM is expected to lead (not the NSM)"),
    KEY_LIST("inputs", parse_inputs, &input_section,
             "1 to " STR(LW_CONFIG_MAX_INPUTS) " input metrics, see below"),
    KEY_CUSTOM("controls", parse_controls, "list of metrics", "[]",
               "known drivers (campaigns, releases, prices): their lags enter both models of every "
               "edge (conditional Granger); not the NSM or the KPI"),
};

const section_t lw_cfg_tree_section =
    SECTION("tree", tree_keys, tree_check, "the metric tree: KPI <- NSM <- inputs");

static lw_err_t tree_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    const lw_config_t *cfg = base;
    char sub[KP_MAX];
    (void)line;
    if (cfg->tree.kpi >= 0 && cfg->tree.kpi == cfg->tree.nsm) {
        lw_cfg_kp_key(sub, kp, "kpi");
        return lw_cfg_fail(c, lines[lw_cfg_key_index(&lw_cfg_tree_section, "kpi")], sub,
                           "the KPI must differ from the NSM");
    }
    for (size_t i = 0; i < cfg->analysis.ncontrols; i++) {
        int m = lw_config_metric_index(cfg, cfg->analysis.controls[i]);
        if (m == cfg->tree.nsm || (cfg->tree.kpi >= 0 && m == cfg->tree.kpi)) {
            lw_cfg_kp_key(sub, kp, "controls");
            return lw_cfg_fail(c, lines[lw_cfg_key_index(&lw_cfg_tree_section, "controls")], sub,
                               "\"%s\" is the %s; a control must be another metric",
                               cfg->analysis.controls[i], m == cfg->tree.nsm ? "NSM" : "KPI");
        }
    }
    return LW_OK;
}
