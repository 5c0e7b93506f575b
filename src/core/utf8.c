/*
 * utf8.c - whole-buffer UTF-8 validation (see utf8.h).
 *
 * The loop skips runs of ASCII eight bytes at a time: one unaligned 64-bit
 * load (memcpy, which compilers turn into a single mov) and a test of the
 * high bits of all eight bytes.  Event payloads are mostly ASCII, so this
 * is what bench/bench_decode measures; the word-at-a-time skip is the fast
 * path event.c had before the validators were folded into this one, kept
 * because it is measurably faster than a byte loop on those payloads.  At
 * a non-ASCII byte lw_utf8_seq (utf8.h) checks one sequence.
 */
#include "leadwatch/core/utf8.h"

#include <string.h>

#define HIGHS UINT64_C(0x8080808080808080)

static uint64_t load64(const unsigned char *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return x;
}

bool lw_utf8_valid(const void *s, size_t n)
{
    const unsigned char *p = s, *end = p + n;
    while (p < end) {
        if (end - p >= 8 && (load64(p) & HIGHS) == 0) {
            p += 8;
            continue;
        }
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t k = lw_utf8_seq(p, (size_t)(end - p));
        if (k == 0)
            return false;
        p += k;
    }
    return true;
}
