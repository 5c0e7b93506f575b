/*
 * jsonw.h - the one JSON writer of the program: a tiny streaming encoder
 * into an lw_buf_t (buf.h), used by every JSON producer (analysis output,
 * report.json, export, Alertmanager / webhook / Kafka alert payloads).
 *
 * One escaping rule for every string, wherever it ends up:
 *   "  -> \"        \  -> \\        newline, CR, tab -> \n \r \t
 *   other bytes below 0x20 -> \u00XX (lower-case hex)
 *   each byte that does not start a well-formed UTF-8 sequence (utf8.h:
 *   stray continuation, C0/C1, F5..FF, truncated, overlong, surrogate,
 *   above U+10FFFF) -> \ufffd, and scanning resumes at the next byte
 *   everything else (including DEL and valid multi-byte UTF-8) is copied.
 * So the output is always valid JSON and valid UTF-8, and the same input
 * gives the same bytes through every writer.
 *
 * Numbers: doubles print with %.17g (round-trip exact); NaN and infinities
 * are not JSON and print as null.  Integers print exactly.
 *
 * Layout: indent 0 gives compact output ({"a":1,"b":[2]}); indent k > 0
 * puts every member on its own line indented k spaces per level, with
 * ": " after keys, and closes an empty container on the same line ([]).
 *
 * The writer keeps, per nesting level up to LW_JSONW_MAX_DEPTH, whether a
 * comma is due and whether it is an object or an array.  Misuse (a value
 * where a key is due, closing what is not open, nesting deeper than the
 * bound) is a caller bug: asserted, and in a build without asserts it makes
 * lw_jsonw_finish return LW_ERR_INVALID.  Buffer errors are the buffer's
 * sticky error (buf.h).  The writer does not own the buffer; a caller that
 * streams to a file may write out and lw_buf_rewind(b, 0) between values.
 */
#ifndef LEADWATCH_JSONW_H
#define LEADWATCH_JSONW_H

#include <stdio.h>

#include "leadwatch/core/buf.h"

#define LW_JSONW_MAX_DEPTH 32

typedef struct {
    lw_buf_t *b;
    unsigned indent;     /* spaces per level; 0 = compact */
    int depth;           /* open containers */
    bool after_key;      /* a key was written; its value is due */
    bool misuse;         /* a caller bug was seen (see the file comment) */
    uint32_t need_comma; /* bit d: level d already holds a member */
    uint32_t is_object;  /* bit d: level d is an object */
} lw_jsonw_t;

/* A writer appending to b (not owned), with `indent` spaces per level. */
void lw_jsonw_init(lw_jsonw_t *w, lw_buf_t *b, unsigned indent);

void lw_jsonw_object(lw_jsonw_t *w); /* { */
void lw_jsonw_array(lw_jsonw_t *w);  /* [ */
void lw_jsonw_end(lw_jsonw_t *w);    /* } or ], whichever is open */

/* A member name inside an object; the next call writes its value. */
void lw_jsonw_key(lw_jsonw_t *w, const char *k);

/* Values.  lw_jsonw_string(NULL) writes null. */
void lw_jsonw_string(lw_jsonw_t *w, const char *s);
void lw_jsonw_string_n(lw_jsonw_t *w, const char *s, size_t n);
void lw_jsonw_number(lw_jsonw_t *w, double v); /* %.17g; not finite -> null */
void lw_jsonw_int(lw_jsonw_t *w, int64_t v);
void lw_jsonw_uint(lw_jsonw_t *w, uint64_t v);
void lw_jsonw_bool(lw_jsonw_t *w, bool v);
void lw_jsonw_null(lw_jsonw_t *w);
/* A value that is already JSON text (e.g. a document from another writer). */
void lw_jsonw_raw(lw_jsonw_t *w, const char *json, size_t n);

/*
 * LW_OK when a complete document was written and every append fitted;
 * otherwise the buffer's sticky error, or LW_ERR_INVALID after misuse or
 * with containers still open.
 */
lw_err_t lw_jsonw_finish(const lw_jsonw_t *w);

/*
 * A document streamed to a FILE in chunks: fn(arg, w, out, ...) writes it
 * with w (indent 2) over a fresh buffer of at most max bytes and may empty
 * the buffer into out between items (the writer's state does not depend on
 * the buffer's contents); the buffer is released after.  Returns fn's result.
 */
typedef lw_err_t (*lw_jsonw_doc_fn)(const void *arg, lw_jsonw_t *w, FILE *out, char *errstr,
                                    size_t errstr_size);
lw_err_t lw_jsonw_write_doc(lw_jsonw_doc_fn fn, const void *arg, size_t max, FILE *out,
                            char *errstr, size_t errstr_size);

/*
 * The reading side's one-letter escapes: the character \e stands for
 * (\" \\ \/ \b \f \n \r \t), or -1 for any other e ('u' included: its
 * four hex digits are the caller's).
 */
int lw_json_unescape1(char e);

/* The escaping rule above, without the writer: "s[0..n)" appended to b. */
lw_err_t lw_buf_put_json_str(lw_buf_t *b, const char *s, size_t n);

#endif
