/*
 * bench_util.h - the clocks and the median the benchmarks share (header
 * only: each bench is one file linked on its own).  Wall time from
 * CLOCK_MONOTONIC, CPU time of the process (the machine is shared, so both
 * are reported), the median of n values (sorts them in place).
 */
#ifndef LEADWATCH_BENCH_UTIL_H
#define LEADWATCH_BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

static inline double bench_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static inline double bench_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline double bench_median(double *v, size_t n)
{
    if (n == 0)
        return 0.0;
    qsort(v, n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
