/*
 * sync.c - a mutex and its condition variable created together (sync.h):
 * the mutex first, then the condition; if the condition fails the mutex is
 * destroyed again, so the caller has one thing to undo or nothing.  And
 * the owner's half of a worker's stop: a flag set under the mutex, then a
 * signal.  Thread names go through pthread_setname_np (a GNU extension,
 * hence _GNU_SOURCE here only); the kernel keeps 15 bytes of a name, so a
 * longer one is cut to that first.
 */
#define _GNU_SOURCE
#include "leadwatch/core/sync.h"

#include <string.h>

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

void lw_sync_name_thread(const char *name)
{
    char cut[16];
    size_t n = strlen(name) < sizeof cut - 1 ? strlen(name) : sizeof cut - 1;
    memcpy(cut, name, n);
    cut[n] = '\0';
    (void)pthread_setname_np(pthread_self(), cut);
}
