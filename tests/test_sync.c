/*
 * test_sync.c - core/sync.c: lw_sync_pair_init gives a mutex and a
 * condition that work together (a timed wait times out under the mutex)
 * and that destroy cleanly.  The failure path needs pthread to fail and is
 * not reachable here.
 */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pair_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
