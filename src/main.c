/*
 * main.c - process entry: the only globals (signal flags), signal handlers
 * that only set those flags, then the CLI.
 */
#include <signal.h>
#include <string.h>

#include "leadwatch/cli.h"

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

    lw_cli_env_t env = {.stop = &g_stop, .reload = &g_reload};
    return lw_cli_main(argc, argv, &env);
}
