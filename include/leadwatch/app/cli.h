/*
 * cli.h - the `leadwatch` command line: subcommand dispatch, option parsing
 * and --help texts.  main.c owns the process globals (signal flags) and
 * hands them in.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
 */
#ifndef LEADWATCH_CLI_H
#define LEADWATCH_CLI_H

#include <signal.h>

enum { LW_EXIT_OK = 0, LW_EXIT_FAILURE = 1, LW_EXIT_USAGE = 2 };

typedef struct lw_cli_env {
    volatile sig_atomic_t *stop;   /* set by SIGINT/SIGTERM */
    volatile sig_atomic_t *reload; /* set by SIGHUP */
} lw_cli_env_t;

int lw_cli_main(int argc, char **argv, const lw_cli_env_t *env);

#endif
