/*
 * timeutil.h - UTC time arithmetic: ISO 8601 parsing and formatting, bucket
 * boundaries, durations.  Pure functions; nothing here reads the clock.
 *
 * Times are int64 milliseconds since 1970-01-01T00:00:00Z.  Buckets are
 * aligned in UTC: hours on the hour, days at midnight, weeks on Monday
 * 00:00 (ISO weeks).
 */
#ifndef LEADWATCH_TIMEUTIL_H
#define LEADWATCH_TIMEUTIL_H

#include "leadwatch/core/common.h"

#define LW_MS_PER_HOUR INT64_C(3600000)
#define LW_MS_PER_DAY INT64_C(86400000)
#define LW_MS_PER_WEEK INT64_C(604800000)

/*
 * Parse an ISO 8601 / RFC 3339 timestamp: "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.f+]]"
 * with 'T', 't' or ' ' as separator, followed by 'Z', 'z', "+HH:MM", "+HHMM",
 * "+HH" or nothing (UTC).  Fractional seconds beyond milliseconds are
 * truncated.  Returns false on anything else (including out-of-range fields
 * such as month 13 or Feb 30).
 */
bool lw_time_parse_iso8601(const char *s, size_t len, int64_t *out_ms);

/* The same parse without the fast path for the common 20- and 24-byte
 * layouts (timeutil.c parse_fast): the reference its tests compare with. */
bool lw_time_parse_iso8601_general(const char *s, size_t len, int64_t *out_ms);

/* Format as "YYYY-MM-DDTHH:MM:SSZ" (milliseconds dropped).  buf >= 21 bytes. */
void lw_time_format_iso8601(int64_t ms, char *buf, size_t buf_size);

/* Format as "YYYY-MM-DD".  buf >= 11 bytes. */
void lw_time_format_date(int64_t ms, char *buf, size_t buf_size);

/*
 * Parse a duration "30s", "15m", "1h", "2d", "1w" (a non-negative integer and
 * one unit) into milliseconds.  "0" alone is accepted as zero.
 */
bool lw_duration_parse(const char *s, int64_t *out_ms);

/* Days since the epoch to civil date and back (proleptic Gregorian). */
int64_t lw_days_from_civil(int64_t y, unsigned m, unsigned d);
void lw_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/*
 * Start of the bucket of `size_ms` containing `t_ms`.  size_ms is one of
 * LW_MS_PER_HOUR, LW_MS_PER_DAY, LW_MS_PER_WEEK (weeks start Monday; the
 * epoch was a Thursday).  Floors correctly for negative times.
 */
int64_t lw_bucket_start(int64_t t_ms, int64_t size_ms);

#endif
