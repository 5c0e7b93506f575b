/*
 * report_md.c - the Markdown summary of the nightly report
 * (lw_report_markdown, contract in report.h), for a wiki or a repository
 * (Slack does not render Markdown: report_slack.c writes its summary).
 *
 * Text only: the headline sentences with verdict symbols, a table of the
 * edges, the experiments' tables when the store has experiments (issue 16),
 * changes since the previous report, data quality and the methods
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

static void md_bold(lw_buf_t *b, const char *s)
{
    lw_buf_puts(b, "**");
    md_text(b, s);
    lw_buf_puts(b, "**");
}

static lw_err_t analysis_md(const void *a, FILE *f, char *errstr, size_t errstr_size)
{
    return lw_analysis_write_md(a, f, errstr, errstr_size);
}

static lw_err_t md_render(lw_report_ctx_t *c, lw_buf_t *b, char *errstr, size_t errstr_size)
{
    const lw_report_input_t *r = c->r;
    const lw_analysis_t *a = c->a;
    char gen[40];
    lw_report_time_str(r->generated_ms, gen, sizeof gen);
    lw_buf_puts(b, "# ");
    md_text(b, lw_report_title_of(r));
    lw_buf_puts(b, "\n\n");
    lw_report_meta_line(c, b, md_text, md_bold, "window ");
    lw_buf_printf(b, " \xC2\xB7 generated %s\n\n## Headline\n\n", gen);
    lw_report_headline_lines(c, b, md_text, "- ", "**", " \xE2\x80\x94 ");
    lw_buf_puts(b, "\n## Changes since the previous report\n\n");
    if (!r->prev) {
        lw_buf_puts(b, "First report in this directory: nothing to compare.\n");
    } else if (lw_report_change_lines(c, b, md_text, md_text, "", "- ") == 0) {
        lw_buf_puts(b, "No verdict changed since ");
        md_text(b, r->prev->generated[0] ? r->prev->generated : "the previous report");
        lw_buf_puts(b, ".\n");
    }
    lw_buf_puts(b, "\n## Details\n");
    lw_buf_printf(b,
                  "\nIn the table, *lead* is the lead quoted above (in %s) and *lag* the "
                  "Granger lag order (the lags a Granger model uses), not a lead.\n",
                  lw_report_unit_word(a->bucket_ms, 2));
    /* the analysis' own Markdown table and reasons, then the experiments (issue 16) */
    lw_err_t err = lw_report_put_stream(b, analysis_md, a, errstr, errstr_size);
    if (err == LW_OK)
        err = lw_report_md_experiments(c, b, errstr, errstr_size);
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
