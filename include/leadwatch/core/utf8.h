/*
 * utf8.h - the one UTF-8 validator of the program (RFC 3629 / Unicode
 * Table 3-7 "well-formed byte sequences": no overlongs, no surrogates,
 * nothing above U+10FFFF).
 *
 * lw_utf8_seq is the step every scanner shares: given a lead byte >= 0x80
 * it returns the length of the well-formed sequence there, or 0.  It is an
 * inline function because the event decoder calls it once per non-ASCII
 * character on its hot path (bench/bench_decode).  It checks the second
 * byte against the lead's allowed range (E0 A0..BF, ED 80..9F, F0 90..BF,
 * F4 80..8F) instead of decoding the code point and comparing, which
 * rejects overlongs, surrogates and > U+10FFFF with two compares.
 *
 * lw_utf8_valid checks a whole buffer, skipping 8 ASCII bytes at a time;
 * lw_utf8_encode is the reverse step, for decoders of \u escapes.
 *
 * What a writer does with bytes that fail is its own output rule; the JSON
 * writer (jsonw.h) and the XML escaper (buf.h) both replace each byte that
 * does not start a well-formed sequence by U+FFFD.
 */
#ifndef LEADWATCH_UTF8_H
#define LEADWATCH_UTF8_H

#include "leadwatch/core/common.h"

/*
 * Length (2..4) of the well-formed UTF-8 sequence starting at p[0] (which
 * must be >= 0x80), reading at most `avail` bytes; 0 when there is none
 * (continuation byte, C0/C1, F5..FF, truncated, overlong, surrogate, or
 * above U+10FFFF).
 */
static inline size_t lw_utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned c = p[0];
    unsigned lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* U+D800..U+DFFF */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* > U+10FFFF */
    } else {
        return 0;
    }
    if (avail < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

/*
 * The UTF-8 encoding of code point cp (<= U+10FFFF; the caller has mapped
 * surrogates, e.g. to U+FFFD) into out[0..3]; returns its length 1..4.
 * Inline for the event decoder's \u escapes.
 */
static inline size_t lw_utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* true when all n bytes of s are well-formed UTF-8 (NUL bytes count as ASCII). */
bool lw_utf8_valid(const void *s, size_t n);

#endif
