/*
 * timeutil.c - UTC calendar arithmetic, ISO 8601 parsing/formatting,
 * durations and bucket boundaries (see timeutil.h).
 *
 * Calendar: days since 1970-01-01 <-> proleptic Gregorian (y, m, d) use
 * Howard Hinnant's branch-free "days_from_civil" / "civil_from_days"
 * algorithms (http://howardhinnant.github.io/date_algorithms.html).  They
 * shift the year to start on March 1 so the leap day is the last day of the
 * "year", then split the timeline into 400-year eras of 146097 days; all
 * divisions are on non-negative quantities, so they are exact for negative
 * days too.  We do not use timegm()/gmtime_r(): timegm is not POSIX, both go
 * through struct tm and the TZ machinery, and the decoder calls this once
 * per event on the hot path.
 *
 * ISO 8601 parsing is a hand-written fixed-position scanner over a
 * length-bounded buffer (input need not be NUL-terminated), because
 * strptime() has no fractional seconds or "+HH:MM" offsets, depends on the
 * locale and needs a NUL-terminated string.  Accepted grammar:
 *
 *   date     = YYYY "-" MM "-" DD
 *   datetime = date ("T" | "t" | " ") HH ":" MM [":" SS ["." 1*DIGIT]] [zone]
 *   zone     = "Z" | "z" | ("+" | "-") HH [[":"] MM]
 *
 * Fields are range-checked (month 1-12, day within the month, hour 0-23,
 * minute 0-59, second 0-59: a leap second ":60" is rejected because none of
 * our sources emit one and it has no representation in epoch milliseconds).
 * Fractional digits beyond milliseconds are truncated.  A zone offset must
 * be below 24:00.  The result is local time minus the offset.  The date
 * part of the last valid time parsed on the thread is kept with its day
 * number (a per-thread cache, since events arrive roughly in time order):
 * the same 10 bytes skip the date's checks and days_from_civil; invalid
 * dates are never cached.  The two common layouts "YYYY-MM-DDTHH:MM:SS.fffZ"
 * and "YYYY-MM-DDTHH:MM:SSZ" take a fast path (parse_fast: SWAR checks of
 * the time part) that accepts a subset of what the general scanner accepts,
 * with the same result, and hands everything else to it.
 *
 * Buckets: floor((t - origin) / size) * size + origin, where the origin is
 * the epoch for hours and days and Monday 1969-12-29 (epoch - 3 days; the
 * epoch was a Thursday) for weeks.  Flooring is done with a non-negative
 * remainder so negative times land in the bucket below.
 */
#include "leadwatch/core/timeutil.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int64_t lw_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;                          /* [0, 399] */
    const int64_t mp = m > 2 ? (int64_t)m - 3 : (int64_t)m + 9; /* March = 0 */
    const int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;    /* [0, 365] */
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void lw_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    const int64_t z = days + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;                                      /* [0, 146096] */
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    const int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29u : dim[m - 1];
}

/* Two decimal digits at s, or -1. */
static int d2(const char *s)
{
    unsigned a = (unsigned)(unsigned char)s[0] - '0', b = (unsigned)(unsigned char)s[1] - '0';
    return a < 10 && b < 10 ? (int)(a * 10 + b) : -1;
}

/* Parse the zone suffix s[i..len); sets *off_ms (east positive). */
static bool parse_zone(const char *s, size_t len, size_t i, int64_t *off_ms)
{
    *off_ms = 0;
    if (i == len)
        return true;
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len)
        return true;
    if ((s[i] != '+' && s[i] != '-') || len - i < 3)
        return false;
    int sign = s[i] == '-' ? -1 : 1;
    int hh = d2(s + i + 1), mm = 0;
    i += 3;
    if (i < len) {
        if (s[i] == ':')
            i++;
        if (len - i != 2)
            return false;
        mm = d2(s + i);
    }
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59)
        return false;
    *off_ms = sign * ((int64_t)hh * 3600000 + (int64_t)mm * 60000);
    return true;
}

/*
 * Fixed positions: 0 YYYY, 4 '-', 5 MM, 7 '-', 8 DD, 10 sep, 11 HH, 13 ':',
 * 14 MM, 16 ':', 17 SS, 19 '.', 20 fraction.  Straight-line field reads keep
 * this cheap: the decoder calls it once per event.
 */
/*
 * The date part ("YYYY-MM-DD", 10 bytes) of the last valid time parsed on
 * this thread and its day number: events arrive roughly in time order, so
 * most share the previous one's date, and a 10-byte compare replaces the
 * four field reads, the range checks and days_from_civil (callgrind: 288 ->
 * ~190 instructions per Segment timestamp, ~4 % of file ingest).
 */
static _Thread_local struct {
    uint64_t w; /* bytes 0-7 */
    uint16_t t; /* bytes 8-9 */
    bool ok;
    int64_t days;
} date_cache;

/* The day number of the valid date at s (10 bytes), or INT64_MIN when invalid. */
static int64_t date_days(const char *s)
{
    uint64_t w;
    uint16_t t;
    memcpy(&w, s, sizeof w);
    memcpy(&t, s + 8, sizeof t);
    if (date_cache.ok && date_cache.w == w && date_cache.t == t)
        return date_cache.days;
    if (s[4] != '-' || s[7] != '-')
        return INT64_MIN;
    int y1 = d2(s), y2 = d2(s + 2), mon = d2(s + 5), day = d2(s + 8);
    if (y1 < 0 || y2 < 0 || mon < 1 || mon > 12 || day < 1)
        return INT64_MIN;
    int year = y1 * 100 + y2;
    if ((unsigned)day > days_in_month(year, (unsigned)mon))
        return INT64_MIN;
    date_cache.w = w;
    date_cache.t = t;
    date_cache.days = lw_days_from_civil(year, (unsigned)mon, (unsigned)day);
    date_cache.ok = true;
    return date_cache.days;
}

bool lw_time_parse_iso8601_general(const char *s, size_t len, int64_t *out_ms)
{
    int hh = 0, mi = 0, ss = 0, frac_ms = 0;
    int64_t off_ms = 0;

    if (len < 10)
        return false;
    int64_t days = date_days(s);
    if (days == INT64_MIN)
        return false;
    if (len > 10) {
        if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || len < 16 || s[13] != ':')
            return false;
        hh = d2(s + 11);
        mi = d2(s + 14);
        size_t i = 16;
        if (i < len && s[i] == ':') {
            if (len < 19)
                return false;
            ss = d2(s + 17);
            i = 19;
            if (i < len && s[i] == '.') {
                size_t f0 = ++i;
                while (i < len && s[i] >= '0' && s[i] <= '9') {
                    if (i - f0 < 3)
                        frac_ms = frac_ms * 10 + (s[i] - '0');
                    i++;
                }
                if (i == f0)
                    return false;
                for (size_t k = i - f0; k < 3; k++)
                    frac_ms *= 10;
            }
        }
        if (hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 59)
            return false;
        if (!parse_zone(s, len, i, &off_ms))
            return false;
    }
    *out_ms = days * LW_MS_PER_DAY + (int64_t)hh * LW_MS_PER_HOUR + (int64_t)mi * 60000 +
              (int64_t)ss * 1000 + frac_ms - off_ms;
    return true;
}

/* Floor division for a positive divisor. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

void lw_time_format_iso8601(int64_t ms, char *buf, size_t buf_size)
{
    int64_t days = floor_div(ms, LW_MS_PER_DAY);
    int64_t rem = floor_mod(ms, LW_MS_PER_DAY) / 1000;
    int64_t y;
    unsigned m, d;
    lw_civil_from_days(days, &y, &m, &d);
    snprintf(buf, buf_size, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02dZ", y, m, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60));
}

void lw_time_format_date(int64_t ms, char *buf, size_t buf_size)
{
    int64_t y;
    unsigned m, d;
    lw_civil_from_days(floor_div(ms, LW_MS_PER_DAY), &y, &m, &d);
    snprintf(buf, buf_size, "%04" PRId64 "-%02u-%02u", y, m, d);
}

bool lw_duration_parse(const char *s, int64_t *out_ms)
{
    int64_t n = 0, unit;
    size_t i = 0;

    if (!s || s[0] < '0' || s[0] > '9')
        return false;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (n > (INT64_MAX - 9) / 10)
            return false;
        n = n * 10 + (s[i] - '0');
    }
    if (s[i] == '\0') {
        if (n != 0)
            return false; /* a bare number is ambiguous; only "0" means zero */
        *out_ms = 0;
        return true;
    }
    switch (s[i]) {
    case 's': unit = 1000; break;
    case 'm': unit = 60000; break;
    case 'h': unit = LW_MS_PER_HOUR; break;
    case 'd': unit = LW_MS_PER_DAY; break;
    case 'w': unit = LW_MS_PER_WEEK; break;
    default: return false;
    }
    if (s[i + 1] != '\0' || n > INT64_MAX / unit)
        return false;
    *out_ms = n * unit;
    return true;
}

int64_t lw_bucket_start(int64_t t_ms, int64_t size_ms)
{
    assert(size_ms > 0);
    /* Monday 1969-12-29 is 3 days before the Thursday epoch. */
    const int64_t origin = size_ms == LW_MS_PER_WEEK ? -3 * LW_MS_PER_DAY : 0;
    int64_t r = floor_mod(floor_mod(t_ms, size_ms) - floor_mod(origin, size_ms), size_ms);
    return t_ms - r;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* All 8 bytes of w (digits where `digits` has 0xFF, anything else where it
 * has 0) are ASCII digits: high nibble 3, and adding 6 does not carry out of
 * the low nibble (Lemire's test; a byte >= 0xFA that carries into the next
 * fails its own high-nibble test, so the carry cannot make a pass). */
static bool all_digits(uint64_t w, uint64_t digits)
{
    const uint64_t hi = UINT64_C(0xF0F0F0F0F0F0F0F0);
    uint64_t d = (w & digits) | (UINT64_C(0x3030303030303030) & ~digits);
    return ((d & hi) | (((d + UINT64_C(0x0606060606060606)) & hi) >> 4)) ==
           UINT64_C(0x3333333333333333);
}

/*
 * The common layouts "YYYY-MM-DDTHH:MM:SS.fffZ" (24 bytes: Segment, the
 * simulator) and "YYYY-MM-DDTHH:MM:SSZ" (20), checked with two 8-byte
 * loads and SWAR digit tests instead of the general scanner's byte-wise
 * field reads, fraction loop and zone parse.  It only ever accepts what the
 * general parser accepts with the same result (test_timeutil
 * test_parse_fast_vs_general: every position of both layouts mutated,
 * against lw_time_parse_iso8601_general); anything else, including every
 * input it would reject, goes to the general parser.  Callgrind,
 * bench_ingest's 200,000-event file: 163 -> 124 instructions a timestamp,
 * the call and the date cache included.
 */
static bool parse_fast(const char *s, size_t len, int64_t *out_ms)
{
    uint64_t a, b; /* a = bytes 11-18 "HH:MM:SS"; b = bytes 16-23 ":SS.fffZ" (len 24) */
    if (s[10] != 'T')
        return false;
    memcpy(&a, s + 11, sizeof a);
    const uint64_t a_seps = UINT64_C(0x0000FF0000FF0000); /* bytes 2 and 5 */
    if ((a & a_seps) != UINT64_C(0x00003A00003A0000) || !all_digits(a, ~a_seps))
        return false;
    int frac_ms = 0;
    if (len == 24) {
        memcpy(&b, s + 16, sizeof b);
        const uint64_t b_seps = UINT64_C(0xFF000000FF0000FF); /* bytes 0, 3 and 7 */
        if ((b & b_seps) != UINT64_C(0x5A0000002E00003A) ||
            !all_digits(b, UINT64_C(0x00FFFFFF00000000)))
            return false;
        frac_ms =
            (int)((b >> 32) & 0xF) * 100 + (int)((b >> 40) & 0xF) * 10 + (int)((b >> 48) & 0xF);
    } else if (len != 20 || s[19] != 'Z') {
        return false;
    }
    /* pairs: byte 0 = HH, byte 3 = MM, byte 6 = SS (each <= 99); then one
     * add sets bit 7 of a byte whose value is above its field's maximum */
    uint64_t v = a - UINT64_C(0x3030303030303030); /* the ':' bytes become 10: no borrow */
    uint64_t pairs = v * 10 + (v >> 8);
    const uint64_t fields = UINT64_C(0x00FF0000FF0000FF);
    if (((pairs & fields) + UINT64_C(0x0044000044000068)) & UINT64_C(0x0080000080000080))
        return false; /* 128 - 24 = 0x68 for hours, 128 - 60 = 0x44 for minutes and seconds */
    int hh = (int)(pairs & 0xFF), mi = (int)((pairs >> 24) & 0xFF),
        ss = (int)((pairs >> 48) & 0xFF);
    int64_t days = date_days(s);
    if (days == INT64_MIN)
        return false;
    *out_ms = days * LW_MS_PER_DAY + (int64_t)hh * LW_MS_PER_HOUR + (int64_t)mi * 60000 +
              (int64_t)ss * 1000 + frac_ms;
    return true;
}
#endif

bool lw_time_parse_iso8601(const char *s, size_t len, int64_t *out_ms)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if ((len == 24 || len == 20) && parse_fast(s, len, out_ms))
        return true;
#endif
    return lw_time_parse_iso8601_general(s, len, out_ms);
}
