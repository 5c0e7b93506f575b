/*
 * sync.h - a mutex and the condition variable that waits on it, created
 * together: the pair a worker thread and its owner share (the HTTP server's
 * guard thread, the daemon's evaluator thread); the owner's half of a
 * worker's stop; and the name each worker thread gives itself.
 */
#ifndef LEADWATCH_CORE_SYNC_H
#define LEADWATCH_CORE_SYNC_H

#include "leadwatch/core/common.h"

#include <pthread.h>

/*
 * Initialise *mu and *cv with default attributes.  On failure nothing is
 * left initialised and LW_ERR_NOMEM is returned with "WHO: cannot create a
 * mutex" (or "... a condition") in errstr.  pthread_cond_destroy and
 * pthread_mutex_destroy undo it.
 */
lw_err_t lw_sync_pair_init(pthread_mutex_t *mu, pthread_cond_t *cv, const char *who, char *errstr,
                           size_t errstr_size);

/*
 * Set *flag under *mu and signal *cv: how an owner tells its worker thread
 * to quit (the worker sees the flag when it next waits or wakes), before it
 * joins it.
 */
void lw_sync_set_signal(pthread_mutex_t *mu, pthread_cond_t *cv, bool *flag);

/*
 * Name the calling thread (at most 15 characters are kept): what `top -H`,
 * `ps -L`, perf and gdb show for it instead of the process's name.  Each of
 * leadwatch's threads calls it first thing with an "lw-" name (README,
 * "Threads of the consumer").  Best effort: a failure changes nothing else.
 */
void lw_sync_name_thread(const char *name);

#endif
