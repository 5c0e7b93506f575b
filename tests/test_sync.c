/*
 * test_sync.c - core/sync.c: lw_sync_pair_init gives a mutex and a
 * condition that work together (a timed wait times out under the mutex)
 * and that destroy cleanly.  The failure path needs pthread to fail and is
 * not reachable here.  lw_sync_name_thread names the calling thread (read
 * back with pthread_getname_np from another thread), cutting a long name to
 * the kernel's 15 bytes.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <time.h>

#include "leadwatch/core/sync.h"

static void test_pair_init(void **state)
{
    (void)state;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char err[64] = "untouched";
    assert_int_equal(lw_sync_pair_init(&mu, &cv, "test", err, sizeof err), LW_OK);
    assert_string_equal(err, "untouched");
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    assert_int_equal(pthread_mutex_lock(&mu), 0);
    assert_int_equal(pthread_cond_timedwait(&cv, &mu, &until), ETIMEDOUT);
    assert_int_equal(pthread_mutex_unlock(&mu), 0);
    assert_int_equal(pthread_cond_destroy(&cv), 0);
    assert_int_equal(pthread_mutex_destroy(&mu), 0);
}

/* A thread that names itself, then waits until the test has read the name. */
typedef struct {
    const char *name;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool named, done;
} naming_t;

static void *name_self(void *arg)
{
    naming_t *n = arg;
    lw_sync_name_thread(n->name);
    pthread_mutex_lock(&n->mu);
    n->named = true;
    pthread_cond_broadcast(&n->cv);
    while (!n->done)
        pthread_cond_wait(&n->cv, &n->mu);
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

/* The name the thread started with `name` gives itself, as another thread reads it. */
static void name_of_thread(const char *name, char *out, size_t out_size)
{
    naming_t n = {.name = name};
    assert_int_equal(lw_sync_pair_init(&n.mu, &n.cv, "test", NULL, 0), LW_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, name_self, &n), 0);
    pthread_mutex_lock(&n.mu);
    while (!n.named)
        pthread_cond_wait(&n.cv, &n.mu);
    assert_int_equal(pthread_getname_np(t, out, out_size), 0);
    n.done = true;
    pthread_cond_broadcast(&n.cv);
    pthread_mutex_unlock(&n.mu);
    assert_int_equal(pthread_join(t, NULL), 0);
    pthread_cond_destroy(&n.cv);
    pthread_mutex_destroy(&n.mu);
}

static void test_name_thread(void **state)
{
    (void)state;
    char got[64];
    name_of_thread("lw-feed", got, sizeof got);
    assert_string_equal(got, "lw-feed");
    name_of_thread("lw-a-very-long-thread-name", got, sizeof got); /* 15 bytes are kept */
    assert_string_equal(got, "lw-a-very-long-");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pair_init),
        cmocka_unit_test(test_name_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
