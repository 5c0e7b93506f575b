/*
 * buf.h - a bounded, growable byte buffer for building documents (SVG,
 * HTML, Markdown) in memory, with XML escaping and compact number output.
 *
 * The buffer has a hard bound `max` on its length, set at init.  Errors are
 * sticky: the first append that would pass the bound (LW_ERR_TOO_LARGE) or
 * cannot allocate (LW_ERR_NOMEM) leaves the contents exactly as they were
 * before that append, records the error, and every later append is a no-op
 * returning the same error.  A writer can therefore issue many appends and
 * check once at the end; to undo a composite write it remembers `len`
 * before starting and calls lw_buf_rewind() on failure, so a reader never
 * sees half a document.
 *
 * `data` is NUL-terminated whenever it is non-NULL (the terminator is not
 * counted in `len` or in the bound).  The struct is embedded by the caller:
 * lw_buf_init / lw_buf_release.  Not thread-safe; one writer at a time.
 */
#ifndef LEADWATCH_BUF_H
#define LEADWATCH_BUF_H

#include <stdio.h>

#include "leadwatch/core/common.h"

typedef struct {
    char *data;   /* NULL until the first append; then NUL-terminated */
    size_t len;   /* bytes written, <= max */
    size_t alloc; /* bytes allocated (len + 1 <= alloc) */
    size_t max;   /* hard bound on len */
    lw_err_t err; /* sticky: LW_OK, LW_ERR_TOO_LARGE or LW_ERR_NOMEM */
} lw_buf_t;

/* An empty buffer that may grow to `max` bytes (no allocation yet). */
void lw_buf_init(lw_buf_t *b, size_t max);

/* Free the memory; the buffer is then empty and may be re-initialised. */
void lw_buf_release(lw_buf_t *b);

/*
 * Append n bytes.  LW_ERR_TOO_LARGE when len + n would exceed max,
 * LW_ERR_NOMEM when growing fails; either way nothing is appended and the
 * error sticks (see the file comment).  Returns the sticky error if set.
 */
lw_err_t lw_buf_append(lw_buf_t *b, const void *p, size_t n);
lw_err_t lw_buf_puts(lw_buf_t *b, const char *s);
lw_err_t lw_buf_putc(lw_buf_t *b, char c);
lw_err_t lw_buf_printf(lw_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Append `s` escaped for XML/HTML text and attribute values: & < > " ' become
 * entities; control characters other than tab/newline/CR (not allowed in
 * XML 1.0) and bytes that are not valid UTF-8 become U+FFFD, so the result
 * is always well-formed whatever the input.  NULL appends nothing.
 */
lw_err_t lw_buf_put_xml(lw_buf_t *b, const char *s);

/* lw_buf_put_xml for the first n bytes of s (may contain no NUL). */
lw_err_t lw_buf_put_xml_n(lw_buf_t *b, const char *s, size_t n);

/*
 * An escaping rule for lw_buf_put_escaped: the replacement of each ASCII
 * byte (NULL = copied as is), of each byte that does not start a
 * well-formed UTF-8 sequence (utf8.h), and whether U+FFFE/U+FFFF count as
 * invalid (XML).  The XML rule is lw_buf_put_xml's; jsonw.c has JSON's.
 */
typedef struct {
    const char *ascii[128];
    const char *invalid;
    bool refuse_fffe;
} lw_buf_escapes_t;

/* s[0..n) with rule e applied; runs of bytes that need nothing are copied in one append. */
lw_err_t lw_buf_put_escaped(lw_buf_t *b, const char *s, size_t n, const lw_buf_escapes_t *e);

/*
 * Append a number in the shortest fixed-point form with at most `decimals`
 * (0..6) digits after the point: 12.5, 3, -0.25, never "-0", never an
 * exponent below 1e15.  Non-finite values are a caller bug (asserted); in a
 * build without asserts they print as 0 so a document never holds nan/inf.
 */
lw_err_t lw_buf_put_num(lw_buf_t *b, double v, int decimals);

/*
 * Append what the stream `f` holds from where it stands to its end: how the
 * edges read a whole file into memory under their own bound (the CSV
 * series, the previous report.json).  The caller opens and closes the
 * stream and words the message; core opens no file.  LW_ERR_TOO_LARGE when
 * the stream holds more than the bound leaves room for (a file of exactly
 * the bound fits; memory stays within the bound), LW_ERR_NOMEM, LW_ERR_IO on a
 * read error (the buffer cut back to where it stood).
 */
lw_err_t lw_buf_read_stream(lw_buf_t *b, FILE *f);

/*
 * Cut the buffer back to `len` bytes (len <= b->len) and clear the sticky
 * error: the way to undo a composite write that failed part-way.
 */
void lw_buf_rewind(lw_buf_t *b, size_t len);

/*
 * Hand the contents to the caller (free() it); *len_out gets the length.
 * Returns NULL when nothing was written.  The buffer is then empty with the
 * same bound and no error.
 */
char *lw_buf_detach(lw_buf_t *b, size_t *len_out);

#endif
