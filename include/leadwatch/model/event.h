/*
 * event.h - decode one JSON product event (one line / one Kafka message)
 * into an lw_event_t without allocating.
 *
 * The decoder is configured once with the event format and the list of
 * dotted paths the metrics need ("properties.duration_ms", ...).  Each path
 * gets a slot; decoding one event fills the slots whose path occurs in the
 * JSON and leaves the others LW_VAL_ABSENT.  Paths are into the raw JSON
 * object (for amplitude, properties live under "event_properties").
 *
 * Formats and which fields give event name, user, time and dedup id:
 *   segment   : "event"; "userId" else "anonymousId"; "timestamp" (ISO 8601),
 *               else receivedAt - (sentAt - originalTimestamp) when all three
 *               are present, else "originalTimestamp"; id "messageId".
 *               RudderStack uses the same spec ("rudderstack" parses as
 *               segment).
 *   amplitude : "event_type"; "user_id" else "device_id";
 *               "event_time" ("YYYY-MM-DD HH:MM:SS[.ffffff]", UTC) else
 *               "time" (epoch milliseconds, number); id "insert_id" (HTTP V2)
 *               else "$insert_id" (the Export API's name for it)
 *   posthog   : "event"; "distinct_id" else "properties.distinct_id";
 *               "timestamp" (ISO 8601); id "uuid"
 *   custom    : configured dotted paths; time is an ISO 8601 string with
 *               offset, or a number: |n| < 1e11 means epoch seconds,
 *               otherwise epoch milliseconds (1e11 s is the year 5138, 1e11 ms
 *               is 1973, so the two ranges do not overlap for valid events).
 * A user id may be a JSON string or number (its text is used).
 * A user or time field that is null counts as absent, as does an empty
 * user string.  Duplicate keys: the last occurrence wins (for an object,
 * the whole object).  Reject precedence is documented in src/event.c.
 *
 * Envelopes.  For the vendor formats, an object without an event name whose
 * top-level "batch" (segment, posthog) or "events" (amplitude) is an array
 * is a batch envelope (Segment/RudderStack /v1/batch, PostHog /batch,
 * Amplitude HTTP V2): lw_decoder_decode() then reports out->envelope and
 * lw_decoder_next() yields its elements one at a time, each decoded (and
 * rejected) on its own.  Segment envelope fields apply to its elements as
 * the Segment HTTP API documents: the envelope's "sentAt" when an element
 * has none, and paths under "context." the element lacks are taken from
 * the envelope's "context".  Other envelope keys (api_key, options,
 * historical_migration) are never read.
 *
 * Every rejected event yields exactly one lw_reject_t reason; the caller
 * counts it and goes on.  The decoder never aborts on input.
 */
#ifndef LEADWATCH_EVENT_H
#define LEADWATCH_EVENT_H

#include "leadwatch/core/common.h"

typedef enum { LW_FMT_SEGMENT = 0, LW_FMT_AMPLITUDE, LW_FMT_CUSTOM, LW_FMT_POSTHOG } lw_format_t;

/* Parse "segment" | "rudderstack" (= segment) | "amplitude" | "posthog" | "custom";
 * false when unknown. */
bool lw_format_parse(const char *s, lw_format_t *out);
const char *lw_format_name(lw_format_t f);

typedef enum {
    LW_REJECT_NONE = 0,
    LW_REJECT_EMPTY,          /* empty or whitespace-only, or JSON null */
    LW_REJECT_TOO_LARGE,      /* larger than max_event_bytes */
    LW_REJECT_INVALID_UTF8,   /* bytes that are not valid UTF-8 */
    LW_REJECT_INVALID_JSON,   /* syntax error, trailing garbage */
    LW_REJECT_NOT_OBJECT,     /* top-level value is not an object */
    LW_REJECT_TOO_DEEP,       /* nesting deeper than max_depth */
    LW_REJECT_BAD_NUMBER,     /* NaN, Infinity, or a number out of double range */
    LW_REJECT_MISSING_EVENT,  /* no event name (or not a non-empty string) */
    LW_REJECT_MISSING_USER,   /* no user id */
    LW_REJECT_MISSING_TIME,   /* no timestamp */
    LW_REJECT_BAD_TIME,       /* timestamp present but unparsable */
    LW_REJECT_TIME_TOO_OLD,   /* before 2000-01-01T00:00:00Z */
    LW_REJECT_TIME_IN_FUTURE, /* later than now + max_future_ms */
    LW_REJECT_DUPLICATE,      /* same dedup id as an event already counted (pipeline) */
    LW_REJECT__COUNT
} lw_reject_t;

/* Stable snake_case name of a reason ("invalid_json", ...). */
const char *lw_reject_name(lw_reject_t r);

typedef enum {
    LW_VAL_ABSENT = 0, /* path not present in this event */
    LW_VAL_NULL,
    LW_VAL_BOOL,
    LW_VAL_NUMBER,
    LW_VAL_STRING,
    LW_VAL_COMPOUND /* an object or array */
} lw_val_type_t;

typedef struct {
    lw_val_type_t type;
    bool b;       /* LW_VAL_BOOL */
    double num;   /* LW_VAL_NUMBER (always finite) */
    lw_slice_t s; /* LW_VAL_STRING: unescaped UTF-8; LW_VAL_NUMBER: its JSON text */
} lw_value_t;

/* Upper bound on registered paths (slots). */
#define LW_EVENT_MAX_PATHS 64
/* Upper bound on the segments of one dotted path. */
#define LW_EVENT_MAX_PATH_DEPTH 8
/* Upper bound on the length in bytes of one dotted path (and so of one segment). */
#define LW_EVENT_MAX_PATH_LEN 255
/* Largest array index a path may name ("items[N]"). */
#define LW_EVENT_MAX_INDEX 1000000

/*
 * Paths: object keys separated by '.', each key optionally followed by
 * array indexes: "properties.plan", "context.items[0].id",
 * "contexts.data[1].data.id", "matrix[2][0]".  Keys and indexes together
 * are at most LW_EVENT_MAX_PATH_DEPTH segments.  A key containing '.', '['
 * or ']' cannot be addressed.  NULL when `path` (len bytes) is valid, else
 * a static string saying what is wrong (check-config reports it with
 * FILE:LINE).
 */
const char *lw_event_path_problem(const char *path, size_t len);

typedef struct {
    lw_slice_t name;          /* event name, unescaped */
    lw_slice_t user;          /* user id (string text or number text) */
    int64_t time_ms;          /* event time, ms since the epoch, UTC */
    const lw_value_t *fields; /* fields[i] = value at path slot i */
    size_t nfields;
    lw_slice_t id; /* dedup id (string or number text); len 0 when absent */
    bool envelope; /* a batch envelope: no event here, call lw_decoder_next */
} lw_event_t;

typedef struct {
    lw_format_t format;
    /* custom format only: dotted paths (NULL elsewhere) */
    const char *event_path;
    const char *user_path;
    const char *time_path;
    /* vendor formats: replaces the format's user field(s) (e.g. "amplitude_id"); NULL = default */
    const char *user_override;
    /* dedup id path; NULL = the format's ("messageId", "insert_id", "uuid"; none for custom) */
    const char *id_path;
    size_t max_event_bytes; /* default 1 MiB when 0 */
    int max_depth;          /* default 64 when 0 */
    int64_t max_future_ms;  /* default 86400000 (1 day) when 0 */
} lw_decoder_opts_t;

typedef struct lw_decoder lw_decoder_t;

/* Create a decoder.  Returns NULL with errstr set on a bad option. */
lw_decoder_t *lw_decoder_new(const lw_decoder_opts_t *opts, char *errstr, size_t errstr_size);
void lw_decoder_destroy(lw_decoder_t *d);

/*
 * Register a dotted path and return its slot (0, 1, ...).  Registering the
 * same path twice returns the same slot.  Returns -1 with errstr set when
 * the path is malformed (empty segment) or a bound is hit.  Must be called
 * before the first lw_decoder_decode.
 */
int lw_decoder_add_path(lw_decoder_t *d, const char *path, char *errstr, size_t errstr_size);

/*
 * Decode one event from buf[0..len) (a trailing '\n' or "\r\n" is allowed).
 * `now_ms` is the wall clock used for the future bound (injected, so tests
 * control it).  On LW_REJECT_NONE, *out is filled; its slices point into
 * `buf` or into the decoder's scratch, and they and out->fields stay valid
 * across one more lw_decoder_decode (the decoder alternates two scratch
 * buffers and field arrays: a caller may decode the next message while it
 * still uses this event) and are overwritten by the second one.  On a
 * reject, *out is unspecified.  Never allocates.
 */
lw_reject_t lw_decoder_decode(lw_decoder_t *d, const char *buf, size_t len, int64_t now_ms,
                              lw_event_t *out);

/*
 * After lw_decoder_decode() reported out->envelope: decode the next element
 * of the envelope into *out and its verdict into *reason (same meaning and
 * precedence as lw_decoder_decode; an element is never itself an envelope).
 * Returns false when there are no more elements (then *out and *reason are
 * untouched).  Slices stay valid until the next call on this decoder.  An
 * envelope's elements must be consumed before the next lw_decoder_decode;
 * calling it early simply abandons the rest.
 */
bool lw_decoder_next(lw_decoder_t *d, int64_t now_ms, lw_event_t *out, lw_reject_t *reason);

#endif
