/*
 * procmetrics.h - the metrics every Prometheus exporter is expected to
 * have: leadwatch_build_info{version, gsl, librdkafka} 1 and the
 * standard process_* family (process_cpu_seconds_total,
 * process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_start_time_seconds, process_open_fds, process_max_fds), read
 * from /proc at every scrape through a promtext collect function.
 */
#ifndef LEADWATCH_PROCMETRICS_H
#define LEADWATCH_PROCMETRICS_H

#include "leadwatch/alert/promtext.h"

typedef struct lw_procmetrics lw_procmetrics_t;

/*
 * Register the families in `reg` and add the collector (promtext.h: before
 * the registry is shared between threads).  The object must outlive every
 * render of `reg`: free it after the HTTP server stopped.
 */
lw_err_t lw_procmetrics_new(lw_promtext_t *reg, lw_procmetrics_t **out, char *errstr,
                            size_t errstr_size);
void lw_procmetrics_free(lw_procmetrics_t *p);

/* The figures a scrape would show (for tests); false when /proc cannot be read. */
typedef struct {
    double cpu_seconds, rss_bytes, vsize_bytes, start_time_seconds, open_fds, max_fds;
} lw_proc_sample_t;
bool lw_proc_sample(lw_proc_sample_t *out);

#endif
