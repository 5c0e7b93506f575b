/*
 * report_md.c - the Markdown summary of the nightly report
 * (lw_report_markdown, contract in report.h), for Slack or a wiki.
 *
 * Text only: the headline sentences with verdict symbols, a table of the
 * edges, changes since the previous report, data quality and the methods
 * footnote; every piece of user text goes through md_text, which escapes
 * the characters that would start markup.  The charts are in report.html.
 */
#include "leadwatch/report/report_ctx.h"

#include "leadwatch/report/analysis_out.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Markdown-safe text: escape the characters that would start markup. */
static void md_text(lw_buf_t *b, const char *s)
{
    for (; *s; s++) {
        if (strchr("\\`*_[]<>|#", *s))
            lw_buf_putc(b, '\\');
        lw_buf_putc(b, *s == '\n' ? ' ' : *s);
    }
}

static lw_err_t md_render(lw_report_ctx_t *c, lw_buf_t *b, char *errstr, size_t errstr_size)
{
    const lw_report_input_t *r = c->r;
    const lw_analysis_t *a = c->a;
    char gen[40];
    lw_report_time_str(r->generated_ms, gen, sizeof gen);
    lw_buf_puts(b, "# ");
    md_text(b, lw_report_title_of(r));
    lw_buf_puts(b, "\n\nNSM **");
    md_text(b, lw_report_nsm_name(c));
    lw_buf_puts(b, "**");
    if (lw_report_kpi_name(c)) {
        lw_buf_puts(b, " · KPI **");
        md_text(b, lw_report_kpi_name(c));
        lw_buf_puts(b, "**");
    }
    lw_buf_puts(b, " · window ");
    md_text(b, a->first_label);
    lw_buf_puts(b, " – ");
    md_text(b, a->last_label);
    lw_buf_printf(b, " (%zu %s) · generated %s\n\n## Headline\n\n", a->nrows,
                  lw_report_unit_word(a->bucket_ms, a->nrows), gen);
    for (size_t i = 0; i < a->nedges; i++) {
        const lw_report_edge_ctx_t *ec = &c->edges[i];
        lw_buf_printf(b, "- %s **%s** — ", lw_report_verdict_symbol(ec->svg_verdict),
                      lw_svg_verdict_label(ec->svg_verdict));
        md_text(b, ec->sentence);
        lw_buf_puts(b, "\n");
    }
    lw_buf_puts(b, "\n## Changes since the previous report\n\n");
    if (!r->prev) {
        lw_buf_puts(b, "First report in this directory: nothing to compare.\n");
    } else {
        size_t changed = 0;
        for (size_t i = 0; i < a->nedges; i++) {
            const lw_edge_result_t *e = &a->edges[i];
            const lw_report_prev_edge_t *pe = c->edges[i].prev;
            if (pe && strcmp(pe->verdict, lw_verdict_name(e->verdict)) == 0)
                continue;
            changed++;
            lw_buf_puts(b, "- ");
            md_text(b, e->from);
            lw_buf_puts(b, " → ");
            md_text(b, e->to);
            lw_buf_puts(b, ": ");
            md_text(b, pe ? pe->verdict : "new edge");
            lw_buf_printf(b, " → %s\n", lw_verdict_name(e->verdict));
        }
        if (!changed) {
            lw_buf_puts(b, "No verdict changed since ");
            md_text(b, r->prev->generated[0] ? r->prev->generated : "the previous report");
            lw_buf_puts(b, ".\n");
        }
    }
    lw_buf_puts(b, "\n## Details\n");
    /* the analysis' own Markdown table and reasons */
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    if (!f)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: open_memstream failed");
    lw_err_t err = lw_analysis_write_md(a, f, errstr, errstr_size);
    if (fclose(f) != 0 && err == LW_OK)
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: memory stream failed");
    if (err == LW_OK)
        lw_buf_append(b, mem, memlen);
    free(mem);
    if (err != LW_OK)
        return err;
    lw_buf_puts(b, "\n## Data quality\n\n");
    lw_buf_printf(b, "- %lld events rejected, %lld late events\n",
                  (long long)lw_report_counter_sum(r, "rejected.", false),
                  (long long)(lw_report_counter_sum(r, "events.late", true) +
                              lw_report_counter_sum(r, "late", true)));
    lw_buf_printf(b, "- %zu provisional %s left out, %zu gap %s\n", r->provisional,
                  lw_report_unit_word(a->bucket_ms, r->provisional), c->gaps,
                  lw_report_unit_word(a->bucket_ms, c->gaps));
    lw_buf_puts(b, "\n## Methods\n\n");
    lw_report_methods_text(c, b, false);
    lw_buf_puts(b, "The full report with charts is report.html next to this file.\n");
    if (b->err != LW_OK)
        return lw_seterr(errstr, errstr_size, b->err, "report: Markdown exceeds %zu bytes", b->max);
    return LW_OK;
}

lw_err_t lw_report_markdown(const lw_report_input_t *r, lw_buf_t *out, char *errstr,
                            size_t errstr_size)
{
    return lw_report_render(r, out, false, md_render, errstr, errstr_size);
}
