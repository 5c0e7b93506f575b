/*
 * experiments_out.c - the renderings of an lw_exp_analysis (contract in
 * experiments_out.h): the JSON document of `leadwatch experiments`, its
 * text and Markdown, and the pieces `analyze` and the report embed (one
 * edge as a JSON object or a line, per-edge Markdown tables).  Moved here
 * from the CLI when the report and analyze started to show the same
 * numbers; one writer per piece, every surface calls it.
 *
 * JSON goes through lw_jsonw (undefined numbers are null); the standalone
 * document is flushed to its FILE after every experiment, so memory stays
 * bounded by one experiment's objects.
 */
#include "leadwatch/report/experiments_out.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <string.h>

#include "leadwatch/core/buf.h"

#define JSON_CHUNK_MAX (64u << 20)

static const char *window_name(lw_exp_window w)
{
    return w == LW_EXP_SHORT ? "short" : "long";
}

typedef struct {
    const char *k;
    double v;
} kv_t;

/* Members k: v of an open object, in order. */
static void json_nums(lw_jsonw_t *w, const kv_t *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lw_jsonw_key(w, kv[i].k);
        lw_jsonw_number(w, kv[i].v);
    }
}

static void json_effect(lw_jsonw_t *w, const char *metric, const char *role, lw_exp_window win,
                        const lw_exp_effect *ef)
{
    lw_jsonw_object(w);
    lw_jsonw_key(w, "metric");
    lw_jsonw_string(w, metric);
    lw_jsonw_key(w, "role");
    lw_jsonw_string(w, role);
    lw_jsonw_key(w, "window");
    lw_jsonw_string(w, window_name(win));
    lw_jsonw_key(w, "defined");
    lw_jsonw_bool(w, ef->defined);
    const kv_t nums[] = {{"control_mean", ef->c.mean},
                         {"treatment_mean", ef->t.mean},
                         {"control_var", ef->c.var},
                         {"treatment_var", ef->t.var},
                         {"rel", ef->rel},
                         {"se", ef->se},
                         {"lo", ef->lo},
                         {"hi", ef->hi},
                         {"z", ef->z},
                         {"p", ef->p}};
    json_nums(w, nums, sizeof nums / sizeof nums[0]);
    lw_jsonw_key(w, "significant");
    lw_jsonw_bool(w, ef->significant);
    lw_jsonw_end(w);
}

static void json_experiment(lw_jsonw_t *w, const lw_exp_analysis *a, const lw_exp_result *r)
{
    const lw_exp_data *d = a->data;
    const size_t e = r->experiment;
    lw_jsonw_object(w);
    lw_jsonw_key(w, "experiment");
    lw_jsonw_string(w, lw_exp_data_experiment(d, e));
    lw_jsonw_key(w, "control");
    lw_jsonw_string(w, lw_exp_data_variant(d, e, lw_exp_data_control(d, e)));
    lw_jsonw_key(w, "variants");
    lw_jsonw_array(w);
    for (size_t v = 0; v < lw_exp_data_nvariants(d, e); v++) {
        lw_jsonw_object(w);
        lw_jsonw_key(w, "variant");
        lw_jsonw_string(w, lw_exp_data_variant(d, e, v));
        lw_jsonw_key(w, "users");
        lw_jsonw_number(w, lw_exp_data_users(d, e, v));
        lw_jsonw_end(w);
    }
    lw_jsonw_end(w);
    lw_jsonw_key(w, "srm");
    lw_jsonw_object(w);
    lw_jsonw_key(w, "chi2");
    lw_jsonw_number(w, r->srm.chi2);
    lw_jsonw_key(w, "df");
    lw_jsonw_uint(w, r->srm.df);
    lw_jsonw_key(w, "p");
    lw_jsonw_number(w, r->srm.p);
    lw_jsonw_key(w, "mismatch");
    lw_jsonw_bool(w, r->srm.p < a->opts.alpha);
    lw_jsonw_end(w);
    lw_jsonw_key(w, "arms");
    lw_jsonw_array(w);
    for (size_t k = 0; k < r->narms; k++) {
        const lw_exp_arm *arm = &r->arms[k];
        lw_jsonw_object(w);
        lw_jsonw_key(w, "variant");
        lw_jsonw_string(w, lw_exp_data_variant(d, e, arm->variant));
        lw_jsonw_key(w, "effects");
        lw_jsonw_array(w);
        for (size_t i = 0; i < a->roles.ninputs; i++)
            json_effect(w, a->roles.inputs[i], "input", LW_EXP_SHORT, &arm->inputs[i]);
        json_effect(w, a->roles.nsm, "nsm", LW_EXP_LONG, &arm->nsm);
        if (a->roles.kpi)
            json_effect(w, a->roles.kpi, "kpi", LW_EXP_LONG, &arm->kpi);
        lw_jsonw_end(w);
        lw_jsonw_end(w);
    }
    lw_jsonw_end(w);
    lw_jsonw_end(w);
}

static void json_edge(lw_jsonw_t *w, const lw_exp_analysis *a, const char *from, lw_exp_window fw,
                      const char *to, lw_exp_window tw, const lw_exp_meta *m, bool points)
{
    const lw_exp_data *d = a->data;
    lw_jsonw_object(w);
    lw_jsonw_key(w, "from");
    lw_jsonw_string(w, from);
    lw_jsonw_key(w, "from_window");
    lw_jsonw_string(w, window_name(fw));
    lw_jsonw_key(w, "to");
    lw_jsonw_string(w, to);
    lw_jsonw_key(w, "to_window");
    lw_jsonw_string(w, window_name(tw));
    lw_jsonw_key(w, "verdict");
    lw_jsonw_string(w, lw_exp_verdict_name(m->verdict));
    lw_jsonw_key(w, "reason");
    lw_jsonw_string(w, m->reason);
    lw_jsonw_key(w, "n");
    lw_jsonw_uint(w, m->n);
    lw_jsonw_key(w, "n_from_significant");
    lw_jsonw_uint(w, m->n_x_sig);
    lw_jsonw_key(w, "n_to_significant");
    lw_jsonw_uint(w, m->n_y_sig);
    lw_jsonw_key(w, "n_srm_excluded");
    lw_jsonw_uint(w, m->n_srm_excluded);
    const kv_t nums[] = {{"sensitivity", m->sensitivity},
                         {"agreement", m->agreement},
                         {"naive_slope", m->naive_slope},
                         {"slope", m->slope},
                         {"slope_lo", m->slope_lo},
                         {"slope_hi", m->slope_hi},
                         {"corr", m->corr},
                         {"reliability", m->reliability},
                         {"score", m->score}};
    json_nums(w, nums, sizeof nums / sizeof nums[0]);
    if (!points) {
        lw_jsonw_end(w);
        return;
    }
    lw_jsonw_key(w, "points");
    lw_jsonw_array(w);
    for (size_t i = 0; i < m->n; i++) {
        const lw_exp_point *p = &m->points[i];
        lw_jsonw_object(w);
        lw_jsonw_key(w, "experiment");
        lw_jsonw_string(w, lw_exp_data_experiment(d, p->experiment));
        lw_jsonw_key(w, "variant");
        lw_jsonw_string(w, lw_exp_data_variant(d, p->experiment, p->variant));
        const kv_t pn[] = {
            {"x", p->x}, {"se_x", p->se_x}, {"y", p->y}, {"se_y", p->se_y}, {"cov_xy", p->cov_xy}};
        json_nums(w, pn, sizeof pn / sizeof pn[0]);
        lw_jsonw_key(w, "x_significant");
        lw_jsonw_bool(w, p->x_sig);
        lw_jsonw_key(w, "y_significant");
        lw_jsonw_bool(w, p->y_sig);
        lw_jsonw_end(w);
    }
    lw_jsonw_end(w);
    lw_jsonw_end(w);
}

/* Write what b holds to out and empty it; false on a buffer or write error. */
static bool flush_buf(lw_buf_t *b, FILE *out)
{
    if (b->err != LW_OK || fwrite(b->data, 1, b->len, out) != b->len)
        return false;
    lw_buf_rewind(b, 0);
    return true;
}

/* The document into w; with out, flushed to it after every experiment. */
static lw_err_t json_doc(const void *arg, lw_jsonw_t *w, FILE *out, char *err, size_t errsz)
{
    const lw_exp_analysis *a = arg;
    lw_buf_t *b = w->b;
    lw_jsonw_object(w);
    lw_jsonw_key(w, "alpha");
    lw_jsonw_number(w, a->opts.alpha);
    lw_jsonw_key(w, "buckets");
    lw_jsonw_uint(w, lw_exp_data_nb(a->data));
    lw_jsonw_key(w, "roles");
    lw_jsonw_object(w);
    lw_jsonw_key(w, "nsm");
    lw_jsonw_string(w, a->roles.nsm);
    lw_jsonw_key(w, "kpi");
    lw_jsonw_string(w, a->roles.kpi);
    lw_jsonw_key(w, "inputs");
    lw_jsonw_array(w);
    for (size_t i = 0; i < a->roles.ninputs; i++)
        lw_jsonw_string(w, a->roles.inputs[i]);
    lw_jsonw_end(w);
    lw_jsonw_end(w);
    lw_jsonw_key(w, "rule");
    lw_jsonw_object(w);
    const kv_t rule[] = {{"min_experiments", (double)a->opts.min_experiments},
                         {"min_significant", (double)a->opts.min_significant},
                         {"min_reliability", a->opts.min_reliability},
                         {"min_agreement", a->opts.min_agreement},
                         {"min_slope", a->opts.min_slope},
                         {"srm_alpha", a->opts.srm_alpha},
                         {"bootstrap", (double)a->opts.bootstrap}};
    json_nums(w, rule, sizeof rule / sizeof rule[0]);
    lw_jsonw_key(w, "seed");
    lw_jsonw_uint(w, a->opts.seed);
    lw_jsonw_end(w);
    lw_jsonw_key(w, "users_mismatch");
    lw_jsonw_uint(w, lw_exp_data_users_mismatch(a->data));
    lw_jsonw_key(w, "edges");
    lw_jsonw_array(w);
    for (size_t i = 0; i < a->roles.ninputs; i++)
        json_edge(w, a, a->roles.inputs[i], LW_EXP_SHORT, a->roles.nsm, LW_EXP_LONG, &a->inputs[i],
                  true);
    if (a->roles.kpi)
        json_edge(w, a, a->roles.nsm, LW_EXP_LONG, a->roles.kpi, LW_EXP_LONG, &a->nsm_kpi, true);
    lw_jsonw_end(w);
    lw_jsonw_key(w, "experiments");
    lw_jsonw_array(w);
    bool ok = true;
    for (size_t e = 0; e < a->nexperiments && ok; e++) {
        json_experiment(w, a, &a->experiments[e]);
        ok = !out || flush_buf(b, out); /* bounded memory however many experiments */
    }
    lw_jsonw_end(w);
    lw_jsonw_end(w);
    lw_err_t e = b->err != LW_OK ? b->err : w->misuse ? LW_ERR_INVALID : LW_OK;
    if (e != LW_OK)
        return lw_seterr(err, errsz, e, "experiments JSON: %s", lw_err_name(e));
    if (out && ok) {
        lw_buf_putc(b, '\n');
        ok = flush_buf(b, out);
    }
    if (!ok)
        return lw_seterr(err, errsz, LW_ERR_IO, "cannot write the output");
    return LW_OK;
}

lw_err_t lw_exp_write_json(const lw_exp_analysis *a, FILE *out, char *err, size_t errsz)
{
    return lw_jsonw_write_doc(json_doc, a, JSON_CHUNK_MAX, out, err, errsz);
}

lw_err_t lw_exp_json(const lw_exp_analysis *a, lw_jsonw_t *w, char *err, size_t errsz)
{
    return json_doc(a, w, NULL, err, errsz);
}

void lw_exp_json_edge(lw_jsonw_t *w, const lw_exp_analysis *a, const char *from, const char *to)
{
    lw_exp_window fw = LW_EXP_SHORT;
    const lw_exp_meta *m = lw_exp_analysis_edge(a, from, to, &fw);
    if (!m)
        lw_jsonw_null(w);
    else
        json_edge(w, a, from, fw, to, LW_EXP_LONG, m, false);
}

/* "%+.2f%%" of a relative effect, or "-" */
static const char *pct(double v, char *buf, size_t n)
{
    if (!isfinite(v))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%+.2f%%", 100.0 * v);
    return buf;
}

static const char *num(double v, char *buf, size_t n)
{
    if (!isfinite(v))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.3g", v);
    return buf;
}

/* An edge's numbers, formatted once for every text form. */
typedef struct {
    char sens[32], agree[32], slope[32], naive[32], corr[32], score[32], lo[32], hi[32], ci[80];
} edge_txt_t;

static void edge_txt(const lw_exp_meta *m, edge_txt_t *t)
{
    if (isfinite(m->slope_lo) && isfinite(m->slope_hi))
        snprintf(t->ci, sizeof t->ci, "[%s, %s]", num(m->slope_lo, t->lo, 32),
                 num(m->slope_hi, t->hi, 32));
    else
        snprintf(t->ci, sizeof t->ci, "[unbounded]");
    num(m->sensitivity, t->sens, 32);
    num(m->agreement, t->agree, 32);
    num(m->slope, t->slope, 32);
    num(m->naive_slope, t->naive, 32);
    num(m->corr, t->corr, 32);
    num(m->score, t->score, 32);
}

static void text_edge(FILE *out, bool md, const char *from, const char *to, const lw_exp_meta *m)
{
    edge_txt_t t;
    edge_txt(m, &t);
    if (md)
        fprintf(out, "| %s -> %s | **%s** | %zu | %zu | %s | %s | %s %s | %s | %s |\n", from, to,
                lw_exp_verdict_name(m->verdict), m->n, m->n_x_sig, t.sens, t.agree, t.slope, t.ci,
                t.corr, t.score);
    else
        fprintf(
            out,
            "  %s -> %s: %s\n    n %zu (SRM-excluded experiments %zu), moved %zu (sensitivity %s), "
            "agreement %s\n"
            "    slope %s %s (uncorrected %s), corr %s, score %s\n    %s\n",
            from, to, lw_exp_verdict_name(m->verdict), m->n, m->n_srm_excluded, m->n_x_sig, t.sens,
            t.agree, t.slope, t.ci, t.naive, t.corr, t.score, m->reason);
}

void lw_exp_write_edge_line(FILE *out, bool md, const char *prefix, const lw_exp_analysis *a,
                            const char *from, const char *to)
{
    const lw_exp_meta *m = lw_exp_analysis_edge(a, from, to, NULL);
    if (!m) {
        fprintf(out, "%sno experiment analysis of this edge\n", prefix);
        return;
    }
    edge_txt_t t;
    edge_txt(m, &t);
    const char *bold = md ? "**" : "";
    fprintf(out,
            "%s%s%s%s: n %zu, moved %zu (sensitivity %s), agreement %s, slope %s %s "
            "(uncorrected %s), corr %s, score %s; %s\n",
            prefix, bold, lw_exp_verdict_name(m->verdict), bold, m->n, m->n_x_sig, t.sens, t.agree,
            t.slope, t.ci, t.naive, t.corr, t.score, m->reason);
}

static void text_effect(FILE *out, bool md, const char *metric, const lw_exp_effect *ef)
{
    char b[4][32];
    if (md)
        fprintf(out, " %s %s [%s, %s]%s |", metric, pct(ef->rel, b[0], 32), pct(ef->lo, b[1], 32),
                pct(ef->hi, b[2], 32), ef->significant ? " *" : "");
    else
        fprintf(out, "      %-24s %9s [%s, %s]%s\n", metric, pct(ef->rel, b[0], 32),
                pct(ef->lo, b[1], 32), pct(ef->hi, b[2], 32), ef->significant ? " *" : "");
}

static void edge_table_head(FILE *out, const lw_exp_analysis *a)
{
    fprintf(out,
            "## Experiments\n\n%zu experiments, alpha %.3g.\n\n"
            "| edge | verdict | n | moved | sensitivity | agreement | slope [CI] | corr | "
            "score |\n|---|---|---|---|---|---|---|---|---|\n",
            a->nexperiments, a->opts.alpha);
}

static void edge_rows(FILE *out, bool md, const lw_exp_analysis *a)
{
    for (size_t i = 0; i < a->roles.ninputs; i++)
        text_edge(out, md, a->roles.inputs[i], a->roles.nsm, &a->inputs[i]);
    if (a->roles.kpi)
        text_edge(out, md, a->roles.nsm, a->roles.kpi, &a->nsm_kpi);
}

static void write_text(const lw_exp_analysis *a, bool md, FILE *out)
{
    const lw_exp_data *d = a->data;
    if (md)
        edge_table_head(out, a);
    else
        fprintf(out, "experiments: %zu (%u user buckets), alpha %.3g\n\nedges:\n", a->nexperiments,
                lw_exp_data_nb(d), a->opts.alpha);
    edge_rows(out, md, a);
    if (md)
        fputs("\n| experiment | arm | users (control / arm) | SRM p | effects (* significant) "
              "|\n|---|---|---|---|---|\n",
              out);
    else
        fputs("\nper experiment (effects: * significant; inputs short window, NSM/KPI long):\n",
              out);
    for (size_t k = 0; k < a->nexperiments; k++) {
        const lw_exp_result *r = &a->experiments[k];
        const size_t e = r->experiment, ctl = lw_exp_data_control(d, e);
        char b[32];
        if (!md)
            fprintf(out, "  %s: control %s (%.0f users), SRM p %s%s\n",
                    lw_exp_data_experiment(d, e), lw_exp_data_variant(d, e, ctl),
                    lw_exp_data_users(d, e, ctl), num(r->srm.p, b, sizeof b),
                    r->srm.p < a->opts.alpha ? "  SAMPLE RATIO MISMATCH" : "");
        for (size_t j = 0; j < r->narms; j++) {
            const lw_exp_arm *arm = &r->arms[j];
            if (md)
                fprintf(out, "| %s | %s | %.0f / %.0f | %s%s |", lw_exp_data_experiment(d, e),
                        lw_exp_data_variant(d, e, arm->variant), lw_exp_data_users(d, e, ctl),
                        lw_exp_data_users(d, e, arm->variant), num(r->srm.p, b, sizeof b),
                        r->srm.p < a->opts.alpha ? " **SRM**" : "");
            else
                fprintf(out, "    %s (%.0f users):\n", lw_exp_data_variant(d, e, arm->variant),
                        lw_exp_data_users(d, e, arm->variant));
            for (size_t i = 0; i < a->roles.ninputs; i++)
                text_effect(out, md, a->roles.inputs[i], &arm->inputs[i]);
            text_effect(out, md, a->roles.nsm, &arm->nsm);
            if (a->roles.kpi)
                text_effect(out, md, a->roles.kpi, &arm->kpi);
            if (md)
                fputc('\n', out);
        }
    }
}

static lw_err_t finish(FILE *out, char *err, size_t errsz)
{
    if (ferror(out))
        return lw_seterr(err, errsz, LW_ERR_IO, "cannot write the output");
    return LW_OK;
}

lw_err_t lw_exp_write_text(const lw_exp_analysis *a, bool md, FILE *out, char *err, size_t errsz)
{
    write_text(a, md, out);
    return finish(out, err, errsz);
}

double lw_exp_out_z(const lw_exp_analysis *a)
{
    return gsl_cdf_ugaussian_Pinv(1.0 - a->opts.alpha / 2.0);
}

/* "+1.23% [-0.50%, +2.96%]" (* when significant) for an effect x +- z se. */
static void effect_cell(FILE *out, double x, double se, double z, bool sig)
{
    char b[3][32];
    fprintf(out, " %s [%s, %s]%s |", pct(x, b[0], 32), pct(x - z * se, b[1], 32),
            pct(x + z * se, b[2], 32), sig ? " *" : "");
}

static void md_points(FILE *out, const lw_exp_analysis *a, const char *from, const char *to,
                      const lw_exp_meta *m)
{
    const lw_exp_data *d = a->data;
    const double z = lw_exp_out_z(a);
    fprintf(out,
            "\n### %s -> %s: %s\n\n%s\n\n| experiment | arm | %s effect [CI] | %s effect [CI] "
            "|\n|---|---|---|---|\n",
            from, to, lw_exp_verdict_name(m->verdict), m->reason, from, to);
    for (size_t i = 0; i < m->n; i++) {
        const lw_exp_point *p = &m->points[i];
        fprintf(out, "| %s | %s |", lw_exp_data_experiment(d, p->experiment),
                lw_exp_data_variant(d, p->experiment, p->variant));
        effect_cell(out, p->x, p->se_x, z, p->x_sig);
        effect_cell(out, p->y, p->se_y, z, p->y_sig);
        fputc('\n', out);
    }
    if (m->n == 0)
        fputs("| - | - | - | - |\n", out);
}

lw_err_t lw_exp_write_md_edges(const lw_exp_analysis *a, FILE *out, char *err, size_t errsz)
{
    edge_table_head(out, a);
    edge_rows(out, true, a);
    for (size_t i = 0; i < a->roles.ninputs; i++)
        md_points(out, a, a->roles.inputs[i], a->roles.nsm, &a->inputs[i]);
    if (a->roles.kpi)
        md_points(out, a, a->roles.nsm, a->roles.kpi, &a->nsm_kpi);
    return finish(out, err, errsz);
}
