/*
 * main.c - process entry: the only globals (signal flags), signal handlers
 * that only set those flags, one-time library set-up (GSL's error handler,
 * libcurl), then the CLI.
 */
#include <curl/curl.h>
#include <signal.h>
#include <string.h>

#include "leadwatch/app/cli.h"
#include "leadwatch/stats/ols.h"

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_reload;

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    g_reload = 1;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* process-wide library set-up, once, before any thread starts */
    lw_stats_init(); /* GSL: report errors, never abort */
    curl_global_init(CURL_GLOBAL_DEFAULT);

    lw_cli_env_t env = {.stop = &g_stop, .reload = &g_reload};
    int rc = lw_cli_main(argc, argv, &env);
    curl_global_cleanup();
    return rc;
}
