/*
 * clock.h - the program's one reading of the operating-system clocks.
 *
 * Pure modules never call these: they take `now` as an argument, and the
 * stateful ones that need a clock (watch, alert sinks) take an injectable
 * callback whose default is one of these.  Only the edges (app/, the
 * ingest and Kafka loops, the alert delivery threads) read the clock, and
 * they do it here, so a grep for clock_gettime finds one file.
 *
 * Monotonic time is for durations, deadlines and back-off (never jumps);
 * wall time is for timestamps people and other systems read (may jump
 * with NTP).  Both in milliseconds as int64_t, the unit used everywhere
 * else; lw_clock_mono_s gives seconds as a double for rates in summaries.
 * Thread-safe (clock_gettime is).
 */
#ifndef LEADWATCH_CLOCK_H
#define LEADWATCH_CLOCK_H

#include "leadwatch/core/common.h"

/* CLOCK_MONOTONIC in ms: only differences mean anything. */
int64_t lw_clock_mono_ms(void);

/* CLOCK_REALTIME in ms since the Unix epoch (UTC). */
int64_t lw_clock_wall_ms(void);

/* CLOCK_MONOTONIC in seconds, with sub-millisecond resolution. */
double lw_clock_mono_s(void);

#endif
