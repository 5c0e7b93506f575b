/*
 * service.h - `leadwatch run` assembled: the daemon loop (daemon.h) plus
 * the parts that make it a service - the Prometheus registry and HTTP
 * endpoint (promtext.h, http.h), the evaluator (evaluator.h: watch.h on
 * its own thread), the alert
 * delivery queues (alertsink.h) with the optional Kafka sink
 * (alertkafka.h) - and the SIGHUP reload.
 *
 * Start order: registry -> HTTP server (when `http:` is configured or
 * --http is given; /readyz answers 503 until the consumer joined its
 * group) -> alert sinks (when any of alerts.alertmanager / webhook / kafka
 * is configured) -> evaluator (a second store connection and the watcher,
 * which loads the alert state and re-announces firing alerts; its thread)
 * -> daemon loop.  Stop order is the reverse;
 * the alert queues get up to LW_SERVICE_DRAIN_MS to deliver what is queued
 * before the process exits (what is left is logged).
 *
 * SIGHUP re-reads the config file between two polls (consumption goes on).
 * What it applies: the `analysis:` section (next evaluation), the `alerts:`
 * section (alert timing and conditions from the next evaluation, the stall
 * bounds at once; a changed receiver set replaces the delivery queues -
 * events still queued for the old receivers are dropped and counted in the
 * log - and firing alerts are re-announced to the new ones).  What needs a
 * restart: `source`, `store`, `http` (ignored on reload, with a log line
 * when they differ) and `buckets`, `metrics`, `tree` (a file that changes
 * them is refused as a whole: the stored series and verdict history belong
 * to the old tree).  A file that does not load is refused with its
 * file:line message; the daemon keeps the config it has.
 */
#ifndef LEADWATCH_SERVICE_H
#define LEADWATCH_SERVICE_H

#include <signal.h>

#include "leadwatch/model/config.h"
#include "leadwatch/ingest/consumer.h"
#include "leadwatch/app/daemon.h"
#include "leadwatch/ingest/pipeline.h"

#define LW_SERVICE_DRAIN_MS 5000

typedef struct {
    const char *config_path; /* re-read on SIGHUP */
    const lw_config_t *cfg;  /* the config the pipeline was built with (borrowed) */
    lw_pipeline_t *pipeline; /* borrowed, with its store */
    lw_store_t *store;
    const char *store_path;           /* its lw_store_open target: the evaluator opens it again */
    const lw_kafka_settings_t *kafka; /* the consumer's settings (also the Kafka alert sink's) */
    const char *http_listen;          /* --http: overrides http.listen and turns the server on */
    volatile sig_atomic_t *stop;      /* SIGTERM / SIGINT */
    volatile sig_atomic_t *reload;    /* SIGHUP */
    int64_t exit_when_idle_ms;
} lw_service_opts_t;

/*
 * Run the service until stopped.  LW_ERR_CONFIG (exit 2) for a bad http or
 * alert setting found at start (listen address taken, ...); otherwise as
 * lw_daemon_run.  *res is filled in every case.
 */
lw_err_t lw_service_run(const lw_service_opts_t *o, lw_daemon_result_t *res, char *errstr,
                        size_t errstr_size);

/*
 * The reload rule: NULL when `next` may replace `cur` on SIGHUP, else the
 * name of the first section whose change needs a restart ("buckets",
 * "metrics", "tree").
 */
const char *lw_service_reload_blocker(const lw_config_t *cur, const lw_config_t *next);

#endif
