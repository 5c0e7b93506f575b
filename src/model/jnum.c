/*
 * jnum.c - the JSON number lexer and converter of the event decoder
 * (event.c), kept apart so event.c stays under the file-size limit.
 *
 * lw_jnum_lex validates the RFC 8259 number grammar at *pp and records what
 * the conversion needs: the first 19 significant digits as an integer, the
 * digit counts and the explicit exponent.  Digit runs are read eight bytes
 * at a time when eight are readable (digits8: one SWAR test finds the run's
 * end and Lemire's three-multiply parse gives its value), else a byte at a
 * time; the result is the same either way (tests/test_event.c checks runs
 * of every length at every offset against the byte loop's answers).
 * lw_jnum_value converts: Clinger's exact fast path (<= 15 significant
 * digits, |10-exponent| <= 22: one correctly rounded multiply or divide),
 * else strtod on a NUL-terminated copy (LC_NUMERIC must be "C").
 *
 * Why hand-written, and why not a simdjson-style structural index.  The
 * decoder validates, matches keys and captures values in one pass (see
 * event.c: ~3x yajl's bare parse).  Issue 19 asked for a stage-1 structural
 * scan (quote / backslash / structural bitmasks 64 bytes at a time, then a
 * walk over the structural positions).  Measured on bench_ingest's ~152-byte
 * events (bench/RESULTS.md, issue 19 "Session 9: file ingest scanner"):
 * stage 1 alone with SSE2, i.e. the classification and the index, costs
 * ~1,000 instructions and 90-140 ns per event, about what the whole decode
 * (validation, key matching, captures, timestamp) costs, 125 ns; with AVX2
 * ~10 % less.  Events this short are dominated by per-token work, not by
 * bytes, so the decoder keeps its one-pass design and SIMD stays where the
 * bytes are (16-byte string scans in event.c, 8-byte digit runs here).
 */
#include "leadwatch/model/jnum.h" /* lw_jnum_lex is inline there: the decoder's hot path */

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

bool lw_jnum_value(const lw_jnum_t *n, char *tmp, size_t tmp_cap, double *out)
{
    bool neg = n->start[0] == '-';
    if (n->nd == 0) {
        *out = neg ? -0.0 : 0.0;
        return true;
    }
    long scale = n->exp - n->frac_len;
    if (n->nd <= 15 && scale >= -22 && scale <= 22) {
        /* Clinger's fast path: mant < 2^53 and 10^|scale| are exact, so
         * one IEEE multiply/divide is correctly rounded, as strtod is. */
        double v = (double)n->mant;
        v = scale >= 0 ? v * pow10_exact[scale] : v / pow10_exact[-scale];
        *out = neg ? -v : v;
        return true;
    }
    assert(tmp_cap > n->len);
    (void)tmp_cap;
    memcpy(tmp, n->start, n->len);
    tmp[n->len] = '\0';
    errno = 0;
    double v = strtod(tmp, NULL);
    if (!isfinite(v) || (errno == ERANGE && fabs(v) > 1.0))
        return false;
    *out = v;
    return true;
}
