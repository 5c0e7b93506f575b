/*
 * procmetrics.c - build_info and the standard process_* metrics (see
 * procmetrics.h), as the Prometheus client libraries define them
 * (https://prometheus.io/docs/instrumenting/writing_clientlibs/#process-metrics).
 *
 * At every scrape the collector reads:
 *   /proc/self/stat   utime + stime (fields 14, 15, clock ticks) -> CPU
 *                     seconds; vsize (23, bytes); rss (24, pages x page
 *                     size); starttime (22, ticks after boot) + btime
 *                     from /proc/stat -> start time in Unix seconds.
 *                     The command name (field 2) may hold spaces and
 *                     parentheses, so fields are counted after the last ')'.
 *   /proc/self/fd     entries (minus the directory handle being read).
 *   getrlimit(RLIMIT_NOFILE) soft limit -> process_max_fds.
 * A figure that cannot be read leaves its series absent (promtext.h), never
 * a placeholder.  build_info is a gauge fixed at 1 whose labels carry the
 * versions: leadwatch's own and the runtime versions of GSL and librdkafka
 * (SQLite's stays below src/store/, which alone includes sqlite3.h).
 */
#include "leadwatch/alert/procmetrics.h"

#include <dirent.h>
#include <gsl/gsl_version.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum { P_CPU, P_RSS, P_VSIZE, P_START, P_FDS, P_MAXFDS, P__N };

struct lw_procmetrics {
    lw_promtext_series_t *s[P__N];
};

static bool read_file(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n > 0;
}

/* Boot time in Unix seconds (the "btime" line of /proc/stat); -1 unknown. */
static double boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    char line[256];
    double bt = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "btime ", 6) == 0) {
            bt = strtod(line + 6, NULL);
            break;
        }
    fclose(f);
    return bt;
}

static double open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    double n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

bool lw_proc_sample(lw_proc_sample_t *out)
{
    char buf[1024];
    if (!read_file("/proc/self/stat", buf, sizeof buf))
        return false;
    char *p = strrchr(buf, ')'), *save = NULL;
    if (!p)
        return false;
    /* after ") " comes field 3 (state); we need 14, 15, 22, 23, 24 */
    unsigned long long utime = 0, stime = 0, start = 0, vsize = 0;
    long long rss = 0;
    int field = 3;
    for (char *tok = strtok_r(p + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
        if (field == 14)
            utime = strtoull(tok, NULL, 10);
        else if (field == 15)
            stime = strtoull(tok, NULL, 10);
        else if (field == 22)
            start = strtoull(tok, NULL, 10);
        else if (field == 23)
            vsize = strtoull(tok, NULL, 10);
        else if (field == 24) {
            rss = strtoll(tok, NULL, 10);
            break;
        }
    }
    if (field != 24)
        return false;
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    double bt = boot_time();
    struct rlimit rl;
    if (ticks <= 0 || page <= 0 || bt < 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return false;
    out->cpu_seconds = (double)(utime + stime) / (double)ticks;
    out->rss_bytes = (double)rss * (double)page;
    out->vsize_bytes = (double)vsize;
    out->start_time_seconds = bt + (double)start / (double)ticks;
    out->open_fds = open_fds();
    out->max_fds = rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur;
    return out->open_fds >= 0;
}

static void collect(void *ctx)
{
    lw_procmetrics_t *p = ctx;
    lw_proc_sample_t s;
    bool ok = lw_proc_sample(&s);
    /* CPU time is a total the kernel keeps: the counter follows it up (concurrent scrapes too) */
    if (ok)
        lw_promtext_raise(p->s[P_CPU], s.cpu_seconds);
    lw_promtext_set_known(p->s[P_RSS], s.rss_bytes, ok);
    lw_promtext_set_known(p->s[P_VSIZE], s.vsize_bytes, ok);
    lw_promtext_set_known(p->s[P_START], s.start_time_seconds, ok);
    lw_promtext_set_known(p->s[P_FDS], s.open_fds, ok);
    lw_promtext_set_known(p->s[P_MAXFDS], s.max_fds, ok && s.max_fds >= 0);
}

lw_err_t lw_procmetrics_new(lw_promtext_t *reg, lw_procmetrics_t **out, char *errstr,
                            size_t errstr_size)
{
    static const struct {
        lw_promtext_type_t type;
        const char *name, *help;
    } fams[P__N] = {
        [P_CPU] = {LW_PROMTEXT_COUNTER, "process_cpu_seconds_total",
                   "Total user and system CPU time spent in seconds."},
        [P_RSS] = {LW_PROMTEXT_GAUGE, "process_resident_memory_bytes",
                   "Resident memory size in bytes."},
        [P_VSIZE] = {LW_PROMTEXT_GAUGE, "process_virtual_memory_bytes",
                     "Virtual memory size in bytes."},
        [P_START] = {LW_PROMTEXT_GAUGE, "process_start_time_seconds",
                     "Start time of the process since unix epoch in seconds."},
        [P_FDS] = {LW_PROMTEXT_GAUGE, "process_open_fds", "Number of open file descriptors."},
        [P_MAXFDS] = {LW_PROMTEXT_GAUGE, "process_max_fds",
                      "Maximum number of open file descriptors."},
    };
    static const char *const build_labels[] = {"version", "gsl", "librdkafka"};
    lw_procmetrics_t *p = calloc(1, sizeof *p);
    lw_promtext_family_t *f;
    lw_err_t err;
    if (!p)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    err = lw_promtext_family(reg, LW_PROMTEXT_GAUGE, "build_info",
                             "1; the labels are the versions of leadwatch and its libraries",
                             build_labels, 3, NULL, 0, &f, errstr, errstr_size);
    if (err != LW_OK)
        goto fail;
    const char *v[] = {LW_VERSION, gsl_version, rd_kafka_version_str()};
    lw_promtext_set(lw_promtext_series(f, v), 1);
    for (int i = 0; i < P__N; i++) {
        err = lw_promtext_family_bare(reg, fams[i].type, fams[i].name, fams[i].help, NULL, 0, &f,
                                      errstr, errstr_size);
        if (err != LW_OK)
            goto fail;
        p->s[i] = lw_promtext_series(f, NULL);
    }
    if ((err = lw_promtext_add_collect(reg, collect, p)) != LW_OK) {
        lw_seterr(errstr, errstr_size, err, "metrics: too many collectors");
        goto fail;
    }
    *out = p;
    return LW_OK;
fail:
    lw_procmetrics_free(p);
    return err;
}

void lw_procmetrics_free(lw_procmetrics_t *p)
{
    free(p);
}
