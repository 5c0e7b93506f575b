/*
 * config_experiments.c - the table of the `experiments:` section (issue 16;
 * config_table.h explains the engine).
 *
 * experiments.exposures is a list of exposure sources (lw_exposure_src_t):
 * each item is parsed against its own table; its check says which of the two
 * kinds it is (an exposure event: `experiment` and `variant` paths; a
 * property family: `object` and `prefix`) and refuses a mix.  `control`
 * lists the variant values that are the control (default "control").  The
 * section's check marks the section configured and orders the windows.
 */
#include "leadwatch/model/config.h"

#include <stdlib.h>
#include <string.h>

#include "leadwatch/core/timeutil.h"
#include "leadwatch/model/config_table.h"

#define EXP(member) offsetof(lw_config_t, experiments.member)
#define SRC(member) offsetof(lw_exposure_src_t, member)

static lw_err_t parse_src_where(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                                const char *kp)
{
    lw_exposure_src_t *s = base;
    (void)k;
    return lw_cfg_parse_where(c, v, kp, &s->where, &s->nwhere);
}

static lw_err_t add_control(ctx_t *c, const sval_t *sv, const char *sub, size_t i, size_t n,
                            void *arg)
{
    lw_exposure_src_t *s = arg;
    lw_err_t err = LW_OK;
    if (n > LW_CONFIG_MAX_CONTROLS)
        return lw_cfg_fail(c, sv->line, sub, "more than " STR(LW_CONFIG_MAX_CONTROLS) " values");
    if (i == 0) {
        lw_free_strv(s->control, s->ncontrol); /* the list replaces the default */
        s->ncontrol = 0;
        if (!(s->control = calloc(n, sizeof *s->control)))
            return lw_cfg_fail(c, sv->line, sub, "out of memory");
    }
    if (!(s->control[i] = lw_cfg_dup_str(c, sv, sub, &err)))
        return err;
    s->ncontrol = i + 1;
    return LW_OK;
}

static lw_err_t parse_control(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                              const char *kp)
{
    (void)k;
    if (v->type == YAML_SCALAR_NODE) {
        sval_t sv;
        lw_err_t err;
        if ((err = lw_cfg_get_scalar(c, v, kp, "a variant value", &sv)) ||
            (err = lw_cfg_want_string(c, &sv, kp, "a variant value (quote numbers)")))
            return err;
        return add_control(c, &sv, kp, 0, 1, base);
    }
    return lw_cfg_each_string(c, v, kp, "variant values", "a variant value (quote numbers)",
                              add_control, base);
}

static lw_err_t src_check(ctx_t *c, void *base, int line, const int *lines, const char *kp);

static const key_spec_t src_keys[] = {
    KEY_CUSTOM("where", parse_src_where, "mapping", NULL,
               "conditions an exposure event (or an event carrying the flag properties) must "
               "meet, as in metrics; e.g. {event: Experiment Viewed}"),
    KEY_VALUE("experiment", T_PATH, SRC(experiment), NULL,
              "exposure event: dotted path of the experiment id (properties.experiment_id)"),
    KEY_VALUE("variant", T_PATH, SRC(variant), NULL,
              "exposure event: dotted path of the variant (properties.variation_id)"),
    KEY_VALUE("object", T_PATH, SRC(object), NULL,
              "property family: dotted path of the object whose keys carry the flags "
              "(properties, user_properties)"),
    KEY_VALUE("prefix", T_STRING, SRC(prefix), NULL,
              "property family: key prefix; the rest of the key is the experiment, the value "
              "the variant ($feature/, \"[Experiment] \")"),
    KEY_CUSTOM("control", parse_control, "string|list", "control",
               "the variant value(s) that are the control"),
};

const section_t lw_cfg_exposure_section =
    SECTION("experiments.exposures[]", src_keys, src_check,
            "one exposure source: an event (where, experiment, variant) or a property family "
            "(object, prefix)");

static lw_err_t src_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    lw_exposure_src_t *s = base;
    bool ev = s->experiment || s->variant, prop = s->object || s->prefix;
    (void)lines;
    if (ev && prop)
        return lw_cfg_fail(c, line, kp,
                           "either an exposure event (experiment, variant) or a property family "
                           "(object, prefix), not both");
    if (ev && !(s->experiment && s->variant))
        return lw_cfg_fail(c, line, kp, "an exposure event needs both experiment and variant");
    if (prop && !(s->object && s->prefix))
        return lw_cfg_fail(c, line, kp, "a property family needs both object and prefix");
    if (!ev && !prop)
        return lw_cfg_fail(c, line, kp,
                           "give experiment and variant (an exposure event) or object and prefix "
                           "(a property family)");
    if (ev && s->nwhere == 0)
        return lw_cfg_fail(c, line, kp,
                           "an exposure event needs `where` (e.g. {event: Experiment Viewed})");
    if (s->ncontrol == 0 && !(s->control = calloc(1, sizeof *s->control)))
        return lw_cfg_fail(c, line, kp, "out of memory");
    if (s->ncontrol == 0) {
        if (!(s->control[0] = strdup("control")))
            return lw_cfg_fail(c, line, kp, "out of memory");
        s->ncontrol = 1;
    }
    return LW_OK;
}

static lw_err_t parse_exposures(ctx_t *c, const key_spec_t *k, yaml_node_t *v, void *base,
                                const char *kp)
{
    lw_config_t *cfg = base;
    char sub[KP_MAX];
    lw_err_t err;
    size_t n;
    (void)k;
    if ((err = lw_cfg_list_len(c, v, kp, "exposure source", "exposure sources",
                               LW_CONFIG_MAX_EXPOSURES, &n)))
        return err;
    if (!(cfg->experiments.sources = calloc(n, sizeof *cfg->experiments.sources)))
        return lw_cfg_fail(c, lw_cfg_node_line(v), kp, "out of memory");
    cfg->experiments.nsources = n;
    for (size_t i = 0; i < n; i++) {
        lw_exposure_src_t *s = &cfg->experiments.sources[i];
        yaml_node_t *item = lw_cfg_node_at(c, v->data.sequence.items.start[i]);
        s->line = lw_cfg_node_line(item);
        lw_cfg_kp_index(sub, kp, i);
        if ((err = lw_cfg_parse_section(c, &lw_cfg_exposure_section, item, s->line, s, sub)))
            return err;
    }
    return LW_OK;
}

static lw_err_t experiments_check(ctx_t *c, void *base, int line, const int *lines, const char *kp);

static const key_spec_t experiments_keys[] = {
    KEY_DURATION("short_window", EXP(short_ms), "14d", LW_MS_PER_HOUR, 400 * LW_MS_PER_DAY,
                 "inputs: a user's events this long after its first exposure count"),
    KEY_DURATION("long_window", EXP(long_ms), "56d", LW_MS_PER_HOUR, 400 * LW_MS_PER_DAY,
                 "NSM and KPI: the same, as far as a holdback runs; at least short_window"),
    KEY_INT("buckets", C_LONG, EXP(buckets), "64", 2, 1024,
            "hashed user buckets the sums are kept in (variances come from their spread)"),
    KEY_INT("max_users", C_LONG, EXP(max_users), "2000000", 1, 100000000,
            "(user, experiment) assignments kept (about 60 bytes each in memory and a row in "
            "the store); past it new exposures are dropped and counted as "
            "experiments.dropped"),
    {.key = "exposures",
     .type = T_CUSTOM,
     .custom = parse_exposures,
     .sub = &lw_cfg_exposure_section,
     .required = true,
     .doc_type = "list",
     .help = "1 to " STR(LW_CONFIG_MAX_EXPOSURES) " exposure sources"},
};

const section_t lw_cfg_experiments_section =
    SECTION("experiments", experiments_keys, experiments_check,
            "A/B test exposures and per-experiment aggregates (optional section)");

static lw_err_t experiments_check(ctx_t *c, void *base, int line, const int *lines, const char *kp)
{
    lw_config_t *cfg = base;
    char sub[KP_MAX];
    cfg->experiments.configured = true;
    if (cfg->experiments.long_ms < cfg->experiments.short_ms) {
        int at = lines[lw_cfg_key_index(&lw_cfg_experiments_section, "long_window")];
        lw_cfg_kp_key(sub, kp, "long_window");
        return lw_cfg_fail(c, at ? at : line, sub, "shorter than short_window");
    }
    return LW_OK;
}
