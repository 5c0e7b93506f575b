/*
 * report_slack.c - the Slack summary of the nightly report
 * (lw_report_slack, contract in report.h), written as report.slack.txt.
 *
 * Slack's mrkdwn is not Markdown: no headings, no tables, *bold* with single
 * asterisks, _italic_, and only &, < and > need escaping (as &amp; &lt;
 * &gt;; Slack reads "<...>" as a link or a mention).  So the summary is
 * lines, not a document: a bold title line with the window, one line per
 * edge (verdict symbol, bold verdict, the headline sentence of
 * report_ctx.c, the same words as the HTML), the changes since the previous
 * report, and a pointer to report.html.  Paste it into Slack or post it
 * with a webhook ({"text": <file content>}); report.md stays the Markdown
 * version for wikis.
 */
#include "leadwatch/report/report_ctx.h"

#include <string.h>

/* Slack-safe text: &, <, > escaped; '*', '_', '~' and '`' are left as typed. */
static void slack_text(lw_buf_t *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': lw_buf_puts(b, "&amp;"); break;
        case '<': lw_buf_puts(b, "&lt;"); break;
        case '>': lw_buf_puts(b, "&gt;"); break;
        case '\n': lw_buf_putc(b, ' '); break;
        default: lw_buf_putc(b, *s);
        }
    }
}

/* A metric name as code, so its underscores are not read as italics. */
static void slack_code(lw_buf_t *b, const char *s)
{
    lw_buf_putc(b, '`');
    for (; *s; s++)
        if (*s != '`')
            lw_buf_putc(b, *s);
    lw_buf_putc(b, '`');
}

static lw_err_t slack_render(lw_report_ctx_t *c, lw_buf_t *b, char *errstr, size_t errstr_size)
{
    const lw_report_input_t *r = c->r;
    lw_buf_puts(b, "*");
    slack_text(b, lw_report_title_of(r));
    lw_buf_puts(b, "*\n");
    lw_report_meta_line(c, b, slack_text, slack_code, "");
    lw_buf_puts(b, "\n\n");
    lw_report_headline_lines(c, b, slack_text, "", "*", "  ");
    if (r->prev &&
        lw_report_change_lines(c, b, slack_text, slack_code,
                               "\n*Changed since the previous report*\n", "\xE2\x80\xA2 ") == 0)
        lw_buf_puts(b, "\n_No verdict changed since the previous report._\n");
    lw_buf_puts(b, "\nCharts and the statistics behind each verdict: report.html\n");
    if (b->err != LW_OK)
        return lw_seterr(errstr, errstr_size, b->err, "report: the Slack summary exceeds %zu bytes",
                         b->max);
    return LW_OK;
}

lw_err_t lw_report_slack(const lw_report_input_t *r, lw_buf_t *out, char *errstr,
                         size_t errstr_size)
{
    return lw_report_render(r, out, false, slack_render, errstr, errstr_size);
}
