/*
 * tsan_c11threads.c - C11 threads (<threads.h>) on top of pthreads, linked
 * into every program of the ThreadSanitizer build (LW_TSAN, `make
 * test-tsan`) and nowhere else.
 *
 * Why: librdkafka (Debian's 2.0.2, and any build against glibc >= 2.28)
 * creates its threads with thrd_create and locks with mtx_* / cnd_*.  In
 * glibc those call the internal __pthread_* functions directly, not the
 * pthread_create / pthread_mutex_lock symbols that TSan's runtime
 * intercepts, and the runtime of GCC 12 (and clang 14) has no interceptors
 * for <threads.h>.  So TSan never learns that librdkafka's threads exist:
 * the first malloc on one of them (the mock cluster's "rdk:mock" thread in
 * test_consumer, at start-up) runs TSan's allocator with a thread state it
 * never set up and segfaults (the -O0 crash of session 11); and without
 * the locks TSan could not see that a message a broker thread wrote is
 * handed to the consumer's thread under librdkafka's queue lock.
 *
 * How: definitions in the program interpose the versioned glibc symbols
 * librdkafka.so imports (the dynamic linker binds an unversioned
 * definition to a versioned reference, as it does for TSan's own
 * interceptors), and forward to the pthread functions, which TSan
 * intercepts.  The types are glibc's: thrd_t is a pthread_t, mtx_t and
 * cnd_t are unions the size of pthread_mutex_t and pthread_cond_t, which
 * glibc's own mtx_* and cnd_* cast, as here; the error codes map as
 * glibc's thrd_err_map does.  A thread's int result travels through the
 * void * of pthread_exit, as in glibc.  Only the functions librdkafka
 * imports, and their siblings a newer build may use, are defined.
 *
 * What TSan then checks: each mutex and condition call runs between
 * __tsan_ignore_thread_begin/end, which is what TSan does itself for an
 * interceptor called from a library in a called_from_lib suppression
 * (tests/tsan.supp names librdkafka): the calls still order the threads
 * (lock, unlock, signal and wait are synchronisation, which the ignore
 * leaves on), but the memory of librdkafka's mutexes and conditions is not
 * checked as data: librdkafka hands those objects between its threads by
 * reference counts and queues built on atomics TSan cannot see, so every
 * mutex initialised on one of its threads and locked on another was
 * reported as a race on the mutex itself (test_consumer, 14 reports, all
 * inside librdkafka).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>
#include <time.h>

/* TSan's runtime (exported by GCC 12's libtsan; declared in newer sanitizer/tsan_interface.h) */
void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);

/* glibc's thrd_err_map */
static int thrd_err(int err)
{
    switch (err) {
    case 0: return thrd_success;
    case ENOMEM: return thrd_nomem;
    case ETIMEDOUT: return thrd_timedout;
    case EBUSY: return thrd_busy;
    default: return thrd_error;
    }
}

typedef struct {
    thrd_start_t func;
    void *arg;
} start_t;

static void *start_main(void *arg)
{
    start_t st = *(start_t *)arg;
    free(arg);
    return (void *)(intptr_t)st.func(st.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
    start_t *st = malloc(sizeof *st);
    if (!st)
        return thrd_nomem;
    st->func = func;
    st->arg = arg;
    int err = pthread_create(thr, NULL, start_main, st);
    if (err != 0)
        free(st);
    return thrd_err(err);
}

int thrd_join(thrd_t thr, int *res)
{
    void *ret;
    int err = pthread_join(thr, &ret);
    if (err == 0 && res)
        *res = (int)(intptr_t)ret;
    return thrd_err(err);
}

int thrd_detach(thrd_t thr)
{
    return thrd_err(pthread_detach(thr));
}

int mtx_init(mtx_t *mtx, int type)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    if (type & mtx_recursive)
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    __tsan_ignore_thread_begin();
    int err = pthread_mutex_init((pthread_mutex_t *)mtx, &attr);
    __tsan_ignore_thread_end();
    pthread_mutexattr_destroy(&attr);
    return thrd_err(err);
}

int mtx_lock(mtx_t *mtx)
{
    __tsan_ignore_thread_begin();
    int err = pthread_mutex_lock((pthread_mutex_t *)mtx);
    __tsan_ignore_thread_end();
    return thrd_err(err);
}

int mtx_trylock(mtx_t *mtx)
{
    __tsan_ignore_thread_begin();
    int err = pthread_mutex_trylock((pthread_mutex_t *)mtx);
    __tsan_ignore_thread_end();
    return thrd_err(err);
}

int mtx_timedlock(mtx_t *restrict mtx, const struct timespec *restrict until)
{
    __tsan_ignore_thread_begin();
    int err = pthread_mutex_timedlock((pthread_mutex_t *)mtx, until);
    __tsan_ignore_thread_end();
    return thrd_err(err);
}

int mtx_unlock(mtx_t *mtx)
{
    __tsan_ignore_thread_begin();
    int err = pthread_mutex_unlock((pthread_mutex_t *)mtx);
    __tsan_ignore_thread_end();
    return thrd_err(err);
}

void mtx_destroy(mtx_t *mtx)
{
    __tsan_ignore_thread_begin();
    pthread_mutex_destroy((pthread_mutex_t *)mtx);
    __tsan_ignore_thread_end();
}

int cnd_init(cnd_t *cnd)
{
    __tsan_ignore_thread_begin();
    int err = pthread_cond_init((pthread_cond_t *)cnd, NULL);
    __tsan_ignore_thread_end();
    return thrd_err(err);
}

int cnd_signal(cnd_t *cnd)
{
    __tsan_ignore_thread_begin();
    int err = pthread_cond_signal((pthread_cond_t *)cnd);
    __tsan_ignore_thread_end();
    return thrd_err(err);
}

int cnd_broadcast(cnd_t *cnd)
{
    __tsan_ignore_thread_begin();
    int err = pthread_cond_broadcast((pthread_cond_t *)cnd);
    __tsan_ignore_thread_end();
    return thrd_err(err);
}

int cnd_wait(cnd_t *cnd, mtx_t *mtx)
{
    __tsan_ignore_thread_begin();
    int err = pthread_cond_wait((pthread_cond_t *)cnd, (pthread_mutex_t *)mtx);
    __tsan_ignore_thread_end();
    return thrd_err(err);
}

int cnd_timedwait(cnd_t *restrict cnd, mtx_t *restrict mtx, const struct timespec *restrict until)
{
    __tsan_ignore_thread_begin();
    int err = pthread_cond_timedwait((pthread_cond_t *)cnd, (pthread_mutex_t *)mtx, until);
    __tsan_ignore_thread_end();
    return thrd_err(err);
}

void cnd_destroy(cnd_t *cnd)
{
    __tsan_ignore_thread_begin();
    pthread_cond_destroy((pthread_cond_t *)cnd);
    __tsan_ignore_thread_end();
}
