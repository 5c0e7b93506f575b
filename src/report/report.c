/*
 * report.c - the report command and its files (contract in report.h):
 * lw_report_run (config -> store -> series, stored verdicts -> analysis ->
 * files),
 * lw_report_write_dir and lw_report_prev_load.
 *
 * The renderers live beside it, one format per file, over one shared
 * preparation pass: report_ctx.c (context, shared text), report_html.c,
 * report_md.c and report_json.c (which also reads a previous report back).
 *
 * Files are replaced atomically: each is written to a temporary file in the
 * same directory, fsync'ed, chmod 0644 and renamed over the old one;
 * report.json goes last because it is what the next run compares against,
 * so a crash part-way leaves the previous report.json in place.  The four
 * files: report.html, report.md (Markdown for a wiki), report.slack.txt
 * (Slack mrkdwn) and report.json.  The
 * previous report is read with a hard size bound (LW_REPORT_MAX_PREV_BYTES);
 * a missing one is LW_ERR_NOT_FOUND, which the command treats as a first run.
 */
#include "leadwatch/report/report.h"

#include "leadwatch/report/analysis_out.h"
#include "leadwatch/stats/prep.h"
#include "leadwatch/store/session.h"
#include "leadwatch/store/store.h"
#include "leadwatch/report/svg.h"
#include "leadwatch/core/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static lw_err_t path_join(char *buf, size_t size, const char *dir, const char *name, char *errstr,
                          size_t errstr_size)
{
    int n = snprintf(buf, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "report: path too long: %s/%s", dir,
                         name);
    return LW_OK;
}

lw_err_t lw_report_prev_load(const char *dir, lw_report_prev_t *out, char *errstr,
                             size_t errstr_size)
{
    memset(out, 0, sizeof *out);
    char path[4096];
    lw_err_t err = path_join(path, sizeof path, dir, "report.json", errstr, errstr_size);
    if (err != LW_OK)
        return err;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return LW_ERR_NOT_FOUND;
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: %s", path, strerror(errno));
    }
    lw_buf_t text;
    lw_buf_init(&text, LW_REPORT_MAX_PREV_BYTES);
    err = lw_buf_read_stream(&text, f);
    fclose(f);
    if (err == LW_ERR_IO)
        lw_seterr(errstr, errstr_size, err, "%s: read error", path);
    else if (err == LW_ERR_NOMEM)
        lw_seterr(errstr, errstr_size, err, "report: out of memory");
    else if (err != LW_OK) /* too large: not a report this program wrote */
        err = lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "%s: larger than %u bytes", path,
                        LW_REPORT_MAX_PREV_BYTES);
    else
        err = lw_report_prev_parse(text.data ? text.data : "", text.len, out, errstr, errstr_size);
    lw_buf_release(&text);
    return err;
}

/* ---------------------------------------------------------------- files */

/* Write data to DIR/name via a temporary file, fsync, rename. */
static lw_err_t write_atomic(const char *dir, const char *name, const char *data, size_t len,
                             char *errstr, size_t errstr_size)
{
    char path[4096], tmp[4096];
    lw_err_t err;
    if ((err = path_join(path, sizeof path, dir, name, errstr, errstr_size)) != LW_OK)
        return err;
    int n = snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, name);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "report: path too long: %s", dir);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: cannot create a file: %s", dir,
                         strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            err = lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: write failed: %s", tmp,
                            strerror(errno));
            goto unlink_tmp;
        }
        off += (size_t)w;
    }
    /* readable like any report file (mkstemp creates 0600) */
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: %s", tmp, strerror(errno));
        goto unlink_tmp;
    }
    if (close(fd) != 0) {
        fd = -1;
        err =
            lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
        goto unlink_tmp;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: rename failed: %s", path,
                        strerror(errno));
        goto unlink_tmp;
    }
    return LW_OK;

unlink_tmp:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return err;
}

lw_err_t lw_report_write_dir(const lw_report_input_t *r, const char *dir, char *html_path,
                             size_t html_path_size, char *errstr, size_t errstr_size)
{
    lw_buf_t slack;
    lw_buf_init(&slack, LW_REPORT_MAX_BYTES);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: not a directory", dir);
    lw_buf_t html, md, json;
    lw_buf_init(&html, LW_REPORT_MAX_BYTES);
    lw_buf_init(&md, LW_REPORT_MAX_BYTES);
    lw_buf_init(&json, LW_REPORT_MAX_BYTES);
    lw_err_t err;
    if ((err = lw_report_html(r, &html, errstr, errstr_size)) != LW_OK ||
        (err = lw_report_markdown(r, &md, errstr, errstr_size)) != LW_OK ||
        (err = lw_report_json(r, &json, errstr, errstr_size)) != LW_OK ||
        (err = lw_report_slack(r, &slack, errstr, errstr_size)) != LW_OK)
        goto release_bufs;
    /* report.json last: it is what the next run compares against */
    if ((err = write_atomic(dir, "report.html", html.data, html.len, errstr, errstr_size)) !=
            LW_OK ||
        (err = write_atomic(dir, "report.md", md.data, md.len, errstr, errstr_size)) != LW_OK ||
        (err = write_atomic(dir, "report.slack.txt", slack.data, slack.len, errstr, errstr_size)) !=
            LW_OK ||
        (err = write_atomic(dir, "report.json", json.data, json.len, errstr, errstr_size)) != LW_OK)
        goto release_bufs;
    if (html_path)
        err = path_join(html_path, html_path_size, dir, "report.html", errstr, errstr_size);
release_bufs:
    lw_buf_release(&slack);
    lw_buf_release(&json);
    lw_buf_release(&md);
    lw_buf_release(&html);
    return err;
}

/* ---------------------------------------------------------------- the command */

typedef struct {
    lw_report_counter_t *c;
    size_t n;
} counters_t;

typedef struct {
    lw_report_verdict_t *v;
    size_t n;
} history_t;

/* Keep the newest LW_REPORT_MAX_HISTORY rows: the store gives them oldest first. */
static int history_cb(void *ud, const lw_verdict_row_t *row)
{
    history_t *h = ud;
    if (h->n == LW_REPORT_MAX_HISTORY) {
        memmove(h->v, h->v + LW_REPORT_MAX_HISTORY / 2, (LW_REPORT_MAX_HISTORY / 2) * sizeof *h->v);
        h->n = LW_REPORT_MAX_HISTORY / 2;
    }
    lw_report_verdict_t *o = &h->v[h->n++];
    snprintf(o->edge, sizeof o->edge, "%s", row->edge ? row->edge : "");
    snprintf(o->verdict, sizeof o->verdict, "%s", row->verdict ? row->verdict : "");
    o->as_of_ms = row->as_of_ms;
    return 0;
}

static void counter_cb(void *ud, const char *name, int64_t value)
{
    counters_t *cs = ud;
    if (cs->n >= LW_REPORT_MAX_COUNTERS)
        return;
    snprintf(cs->c[cs->n].name, sizeof cs->c[cs->n].name, "%s", name);
    cs->c[cs->n].value = value;
    cs->n++;
}

lw_err_t lw_report_run(const lw_config_t *cfg, const lw_report_run_opts_t *o, char *html_path,
                       size_t html_path_size, char *errstr, size_t errstr_size)
{
    if (!o->out_dir)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "report: --out DIR is required");
    if (o->max_lag > LW_ANALYZE_MAX_LAG)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "report: --max-lag: at most %u",
                         LW_ANALYZE_MAX_LAG);
    if (o->window > LW_SERIES_MAX_ROWS)
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG, "report: --window: at most %d",
                         LW_SERIES_MAX_ROWS);
    lw_session_range_t range = {
        .as_of_ms = INT64_MAX, .window = o->window, .kind = LW_SESSION_PERIODS};
    if (o->as_of && !lw_time_parse_iso8601(o->as_of, strlen(o->as_of), &range.as_of_ms))
        return lw_seterr(errstr, errstr_size, LW_ERR_CONFIG,
                         "report: --as-of: '%s' is not a date (YYYY-MM-DD)", o->as_of);
    lw_store_t *store = NULL;
    lw_err_t err = lw_store_open(cfg->store.path, LW_STORE_READONLY, &store, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    lw_session_t *ses = NULL;
    const lw_analysis_t *an = NULL;
    lw_report_counter_t *counters = calloc(LW_REPORT_MAX_COUNTERS, sizeof *counters);
    history_t hist = {malloc(LW_REPORT_MAX_HISTORY * sizeof(lw_report_verdict_t)), 0};
    counters_t cs = {counters, 0};
    if (!counters) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: out of memory");
        goto close_store;
    }
    err = lw_session_from_store(cfg, store, &range, &ses, errstr, errstr_size);
    if (err == LW_ERR_NOT_FOUND)
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOT_FOUND,
                        "report: the store %s holds no buckets", cfg->store.path);
    if (err != LW_OK)
        goto close_store;
    if ((err = lw_store_counters(store, counter_cb, &cs, errstr, errstr_size)) != LW_OK ||
        (err = lw_session_load_experiments(ses, cfg, store, NULL, errstr, errstr_size)) != LW_OK)
        goto destroy_session;
    if (!hist.v) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "report: out of memory");
        goto destroy_session;
    }
    {
        const lw_analyze_input_t *win = lw_session_input(ses);
        int64_t from_ms = 0;
        if (win->nrows > 0 && win->labels && win->labels[0])
            lw_time_parse_iso8601(win->labels[0], strlen(win->labels[0]), &from_ms);
        if ((err = lw_store_read_verdicts(store, NULL, from_ms, history_cb, &hist, errstr,
                                          errstr_size)) != LW_OK)
            goto destroy_session;
    }
    lw_store_close(store);
    store = NULL;
    const lw_analyze_input_t *in = lw_session_input(ses);
    if (in->nrows == 0) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOT_FOUND,
                        "report: no final buckets in the window (store %s)", cfg->store.path);
        goto destroy_session;
    }
    lw_analyze_opts_t ao = cfg->analysis;
    if (o->max_lag)
        ao.max_lag = o->max_lag;
    if ((err = lw_session_analyze(ses, &ao, &an, errstr, errstr_size)) != LW_OK)
        goto destroy_session;
    lw_report_prev_t prev;
    char perr[256];
    lw_err_t pe = lw_report_prev_load(o->out_dir, &prev, perr, sizeof perr);
    if (pe != LW_OK && pe != LW_ERR_NOT_FOUND)
        fprintf(stderr, "leadwatch report: ignoring the previous report: %s\n", perr);
    lw_report_input_t r = {.analysis = an,
                           .input = in,
                           .generated_ms = o->now_ms,
                           .config_path = cfg->file,
                           .store_path = cfg->store.path,
                           .as_of = o->as_of,
                           .window = o->window,
                           .provisional = lw_session_provisional(ses),
                           .counters = counters,
                           .ncounters = cs.n,
                           .prev = pe == LW_OK ? &prev : NULL,
                           .history = hist.n ? hist.v : NULL,
                           .nhistory = hist.n,
                           .alert_window = cfg->analysis_window};
    err = lw_report_write_dir(&r, o->out_dir, html_path, html_path_size, errstr, errstr_size);
destroy_session:
    lw_session_destroy(ses);
close_store:
    free(hist.v);
    free(counters);
    if (store)
        lw_store_close(store);
    return err;
}
