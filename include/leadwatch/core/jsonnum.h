/*
 * jsonnum.h - a double as printf's "%.17g" gives it (the JSON writer's
 * numbers), byte for byte, without printf for the common magnitudes.  See
 * jsonnum.c for the method and the range of the fast path.
 */
#ifndef LEADWATCH_JSONNUM_H
#define LEADWATCH_JSONNUM_H

#include <stddef.h>

/* Longest "%.17g" of a double ("-1.2345678901234567e-308") plus the NUL. */
#define LW_JSONNUM_MAX 32

/*
 * Write snprintf(buf, LW_JSONNUM_MAX, "%.17g", v)'s bytes (NUL-terminated)
 * and return their length; any double, under the default rounding mode
 * (round to nearest, which leadwatch never changes).
 */
size_t lw_jsonnum_g17(char buf[LW_JSONNUM_MAX], double v);

/*
 * The exact integer path alone: the same bytes for a normal v with
 * 1e-6 <= |v| < 2^127 (most of that range, see jsonnum.c), 0 (buf untouched)
 * when v is outside it.  Exposed for the unit test.
 */
size_t lw_jsonnum_g17_fast(char buf[LW_JSONNUM_MAX], double v);

#endif
