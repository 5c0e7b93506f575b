/*
 * clock.c - millisecond readings of CLOCK_MONOTONIC and CLOCK_REALTIME
 * (see clock.h for who may call them and why).
 *
 * Milliseconds are tv_sec * 1000 + tv_nsec / 10^6, truncated: the same
 * arithmetic the eight private copies this file replaced used, so no
 * deadline or timestamp moves by a millisecond.  clock_gettime cannot fail
 * for these two clocks on Linux (EINVAL only for an unknown clock id), so
 * its status is asserted rather than returned.
 */
#include "leadwatch/core/clock.h"

#include <assert.h>
#include <time.h>

static struct timespec now(clockid_t id)
{
    struct timespec ts;
    int rc = clock_gettime(id, &ts);
    assert(rc == 0);
    (void)rc;
    return ts;
}

int64_t lw_clock_mono_ms(void)
{
    struct timespec ts = now(CLOCK_MONOTONIC);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t lw_clock_wall_ms(void)
{
    struct timespec ts = now(CLOCK_REALTIME);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double lw_clock_mono_s(void)
{
    struct timespec ts = now(CLOCK_MONOTONIC);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
