/*
 * sync.c - a mutex and its condition variable created together (sync.h):
 * the mutex first, then the condition; if the condition fails the mutex is
 * destroyed again, so the caller has one thing to undo or nothing.  And
 * the owner's half of a worker's stop: a flag set under the mutex, then a
 * signal.
 */
#include "leadwatch/core/sync.h"

lw_err_t lw_sync_pair_init(pthread_mutex_t *mu, pthread_cond_t *cv, const char *who, char *errstr,
                           size_t errstr_size)
{
    if (pthread_mutex_init(mu, NULL) != 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "%s: cannot create a mutex", who);
    if (pthread_cond_init(cv, NULL) != 0) {
        pthread_mutex_destroy(mu);
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "%s: cannot create a condition", who);
    }
    return LW_OK;
}

void lw_sync_set_signal(pthread_mutex_t *mu, pthread_cond_t *cv, bool *flag)
{
    pthread_mutex_lock(mu);
    *flag = true;
    pthread_cond_signal(cv);
    pthread_mutex_unlock(mu);
}
