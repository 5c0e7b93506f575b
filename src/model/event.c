/*
 * event.c - allocation-free, single-pass JSON event decoder (see event.h).
 *
 * Why hand-written: we measured yajl 2.1 (Debian libyajl2) at only
 * 1.6-2.3 M lines/s for bare parsing (no-op callbacks) of ~150-byte events
 * on the target machine, below the project's end-to-end target of >= 3 M
 * events/s per core for parse + match + aggregate + HLL.  This scanner
 * validates, extracts and unescapes in one pass without callbacks or
 * allocation; bench/bench_decode.c times yajl and this decoder on the same
 * generated data in the same run (target >= 6 M events/s here, so the rest
 * of the pipeline keeps its headroom).  Measured with it (2 M typical
 * segment events of 155 B, 3 paths registered, median of 5 runs, 2-core VM
 * with other builds running): this decoder 6.5-7.3 M events/s
 * (1.0-1.1 GB/s), yajl 2.2-2.4 M events/s, about 3x.  Most of the gain
 * came from avoiding per-value struct copies (store-forwarding stalls),
 * hashing keys instead of memcmp over sibling lists, and 16-byte string
 * scanning: ~2400 instructions per event, down from ~3650.
 *
 * Path matching.  The event fields the format needs ("event", "userId",
 * ...) and the dotted paths registered with lw_decoder_add_path() live in
 * one trie of path segments (nodes in a fixed array; children also kept as
 * a sibling list for registration and resets).  A node is a "target" when
 * it carries a user slot or a format field.  While scanning, the decoder
 * keeps per depth the trie node of the current object (-1 when no target
 * lies below it), so keys under unregistered objects are never looked up.
 * Array indexes ("items[0]") are trie nodes too (is_index), kept out of the
 * key hash and found by a walk of their parent's children (index_child):
 * an array whose node has index children keeps its node and counts its
 * elements (aidx), and each element's node is its index child or -1; any
 * other array is -1 like an unregistered object.  Otherwise the key is
 * looked up in one open-addressed hash table keyed by (parent node, length,
 * first 8 bytes); the candidate is confirmed with two masked 8-byte word
 * compares (+ memcmp beyond 16 bytes).  A key with escapes is unescaped
 * into a small stack buffer first, so "\u0065vent" matches "event".  A
 * segment cannot contain '.', so keys containing a dot are not addressable.
 *
 * Values are stored in the target node itself, stamped with the event
 * number (epoch), so nothing is reset between events; after a successful
 * scan the user slots are copied into the contiguous array handed out as
 * lw_event_t.fields.  Captured values: string (unescaped; a slice into the
 * input when it had no escapes, else into the decoder's scratch buffer,
 * sized to max_event_bytes + 1, which cannot overflow because an unescaped
 * string is never longer than its raw text; there are two of it, and two
 * field arrays, used by turns, so an event outlives the next decode),
 * number (text slice + value; exact fast path for <= 15 significant digits
 * and |10-exponent| <= 22, i.e. Clinger's exact case, else strtod;
 * LC_NUMERIC must be "C", which it is unless the program calls setlocale),
 * bool, null, compound.
 *
 * Duplicate keys: the last occurrence wins, including for whole objects:
 * when a key is seen a second time in one event, every value below it is
 * reset to absent before its new value is scanned (each trie node stores
 * the epoch in which its key was last seen, so a first occurrence costs one
 * compare).
 *
 * Validation (RFC 8259): full grammar, strings (escapes incl. \uXXXX with
 * surrogate pairs; lone surrogates and raw control characters are
 * invalid_json), number grammar, literals, nesting bound, and nothing but
 * whitespace after the top-level value (so a final "\n" or "\r\n" is fine).
 * Numbers not needed as values are still validated lexically, and their
 * magnitude is checked with a cheap exponent estimate (strtod only when the
 * decimal exponent of the leading digit is >= 308).
 *
 * UTF-8: string contents are validated while they are scanned (overlongs,
 * UTF-8-encoded surrogates, > U+10FFFF and truncated sequences rejected);
 * everything outside strings must be ASCII by the grammar.  So a document
 * that scans cleanly is valid UTF-8 with no second pass.  Plain string
 * bytes are skipped a block at a time (16 with SSE2, else an 8-byte SWAR
 * test for '"', '\\', < 0x20, >= 0x80); the last bytes of a document of at
 * least one block are tested by the block that ends at its end (the bits
 * before the string are shifted out), not a byte at a time.  Numbers are
 * lexed by model/jnum.h (8-byte digit runs).  A simdjson-style structural
 * index was measured and not adopted: jnum.c says why.
 * When the JSON scan fails, the whole buffer is validated as UTF-8 (ASCII
 * fast path, 8 bytes at a time) so that invalid_utf8 takes precedence.
 * Both checks are core/utf8.h's, the program's one validator.
 *
 * Reject precedence (first that applies):
 *   1. empty           len 0 or whitespace only
 *   2. too_large       len > max_event_bytes
 *   3. invalid_utf8    anywhere in the input
 *   4. invalid_json / too_deep / bad_number: the first one met scanning left
 *      to right (NaN, Infinity, -Infinity and numbers beyond double range
 *      are bad_number, not invalid_json)
 *      not_object      top-level value is a valid array/string/number/bool
 *      empty           top-level value is a valid null
 *   5. missing_event   no non-empty string at the event-name field
 *   6. missing_user    user field(s) absent, null, "", or not string/number
 *   7. missing_time    time field(s) absent or null
 *   8. bad_time        time present but of the wrong type or unparsable
 *   9. time_too_old    before 2000-01-01T00:00:00Z
 *  10. time_in_future  later than now_ms + max_future_ms
 * Amplitude: if "event_time" is present (not null) it is used and must
 * parse (with the ISO 8601 parser, which also takes the documented
 * "YYYY-MM-DD HH:MM:SS[.ffffff]" form as UTC); "time" is consulted only when
 * "event_time" is absent or null.  Numeric epoch times are floored to whole
 * milliseconds.
 *
 * Segment time (segment_time): "timestamp", else receivedAt - (sentAt -
 * originalTimestamp) when all three are present, else originalTimestamp;
 * every one of them that is present must parse.
 *
 * Envelopes.  The format's envelope key ("batch" / "events") is a target
 * like the others; a compound value records where its bracket opens.  When
 * the scanned object has no event name and that value is an array, the
 * decode reports an envelope: the envelope's inheritable values (sentAt,
 * segment "context.*" slots) are copied aside and the scratch bytes they
 * use are reserved; lw_decoder_next() then finds each element with
 * skip_value() (the text was validated by the envelope's scan) and decodes
 * it as a document of its own, filling absent inheritable slots from the
 * envelope.  Elements are scanned twice (once as part of the envelope),
 * which costs only for envelopes.
 *
 * A decoder is not thread-safe; use one per thread.
 */
#include "leadwatch/model/event.h"

#include "leadwatch/core/timeutil.h"
#include "leadwatch/model/jnum.h"
#include "leadwatch/core/utf8.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define LW_STR_(x) #x
#define LW_STR(x) LW_STR_(x) /* a bound as text, for messages */
#define DEFAULT_MAX_EVENT_BYTES ((size_t)1 << 20)
#define MAX_MAX_EVENT_BYTES ((size_t)1 << 30)
#define DEFAULT_MAX_DEPTH 64
#define MAX_MAX_DEPTH 100000
#define DEFAULT_MAX_FUTURE_MS LW_MS_PER_DAY
#define TIME_MIN_MS INT64_C(946684800000) /* 2000-01-01T00:00:00Z */

/* The format's own fields: indices into sp_node. */
enum {
    SP_EVENT,
    SP_USER,
    SP_USER2,
    SP_TIME,
    SP_TIME2,
    SP_ORIG,  /* segment originalTimestamp */
    SP_SENT,  /* segment sentAt */
    SP_RECV,  /* segment receivedAt */
    SP_ID,    /* dedup id */
    SP_ID2,   /* dedup id fallback (Amplitude exports: "$insert_id") */
    SP_BATCH, /* envelope array: "batch" or "events" */
    SP__COUNT
};

#define MAX_NODES (1 + (LW_EVENT_MAX_PATHS + SP__COUNT) * LW_EVENT_MAX_PATH_DEPTH)
#define POOL_SIZE ((LW_EVENT_MAX_PATHS + SP__COUNT) * (LW_EVENT_MAX_PATH_LEN + 1))
#define KEY_HASH_BITS 11 /* 2048 buckets >= 2 * MAX_NODES keeps probes short */
#define KEY_HASH_SIZE (1u << KEY_HASH_BITS)

typedef struct {
    const char *seg; /* into d->pool, not NUL-terminated */
    size_t seg_len;
    uint64_t w0, w1; /* first 16 bytes of seg, zero-padded, for match_key */
    int32_t parent;
    int32_t first_child;  /* -1 when a leaf */
    int32_t next_sibling; /* -1 at the end of the list */
    int32_t slot;         /* user slot, or -1 */
    uint32_t seen;        /* d->epoch of the last event this key occurred in (target_below) */
    uint32_t val_epoch;   /* val holds this event's value iff == d->epoch */
    bool target_below;    /* some descendant is a target */
    bool is_index;        /* an array index "[N]" of its parent, not an object key */
    bool has_index;       /* some child is an array index */
    uint32_t index;       /* is_index: N */
    lw_value_t val;
} trie_node_t;

/*
 * Key prediction (scan_key): the raw text of the key last seen at ordinal
 * `ord` of an object whose trie node is `parent`, followed by its closing
 * quote and ':', as two zero-padded words with their masks, and its match.
 */
typedef struct {
    uint64_t tag;            /* pred_tag(parent, ord); PRED_EMPTY when unused */
    uint64_t w0, w1, m0, m1; /* key + "\":" (<= 16 bytes), masked */
    uint32_t len;            /* bytes from the key's first byte to after the ':' */
    int32_t node;            /* match_key's result for this text, -1 when none */
    bool below;              /* node >= 0 and it has targets below (duplicates matter) */
    char pad[15];            /* 64 bytes: an entry's address is a shift, not a multiply (-20
                                instructions an event, callgrind, bench_ingest's file) */
} key_pred_t;

_Static_assert(sizeof(key_pred_t) == 64, "key_pred_t: 64 bytes");
#define PRED_BITS 7
#define PRED_SIZE (1u << PRED_BITS)
#define PRED_MAX_KEY 14       /* key + '"' + ':' fit in 16 bytes */
#define PRED_EMPTY UINT64_MAX /* no object node is -1 when predicted */
#define pred_tag(parent, ord) ((uint64_t)(uint32_t)(parent) | (uint64_t)(ord) << 32)

struct lw_decoder {
    lw_format_t format;
    size_t max_event_bytes;
    int max_depth;
    int64_t max_future_ms;
    bool frozen; /* set by the first decode; add_path refuses afterwards */
    uint32_t epoch;

    trie_node_t nodes[MAX_NODES];
    /* tgt[n + 1]: node n is a target (carries a user slot or a format field);
     * tgt[0] is node -1's, false.  A byte array apart from the 96-byte nodes,
     * offset by one so is_target, run for every value, is one load with no
     * sign test and no multiply (callgrind, bench_ingest's 200,000-event
     * file: with the one-compare ',' test in scan_document, -17
     * instructions an event) */
    bool tgt[MAX_NODES + 1];
    int32_t key_hash[KEY_HASH_SIZE]; /* (parent, segment) -> node, open addressing, -1 empty */
    int32_t nnodes;
    char pool[POOL_SIZE];
    size_t pool_used;

    /* the event's fields, filled from the nodes after a scan: two arrays, and two
     * scratch halves below, alternated by lw_decoder_decode, so an event stays
     * valid across the next decode (the pipeline's read-ahead keeps it without
     * copying it: callgrind, 300,000 simulated events with ids, -182
     * instructions an event; +6 without ids) */
    lw_value_t values_mem[2][LW_EVENT_MAX_PATHS];
    lw_value_t *values; /* values_mem[half] */
    unsigned half;
    int32_t slot_node[LW_EVENT_MAX_PATHS];
    size_t nslots;
    int32_t sp_node[SP__COUNT]; /* trie node of each format field, or -1 */

    /* per-depth scan state, max_depth + 1 entries each */
    unsigned char *kind; /* '{' or '[' */
    int32_t *node;       /* trie node of the object (or indexed array) at this depth, or -1 */
    uint32_t *aidx;      /* arrays with node >= 0: the index of the current element; objects
                            with node >= 0: the ordinal of the current key (key prediction) */

    key_pred_t pred[PRED_SIZE]; /* by (object node, key ordinal): see scan_key */
    const unsigned char *lo;    /* the start of the document being scanned */

    char *scratch_mem;     /* 2 x (max_event_bytes + 1) */
    char *scratch_half[2]; /* the two halves of scratch_mem */
    char *scratch;         /* the half this decode uses */
    size_t scratch_used;

    /* envelope iteration (lw_decoder_next) */
    bool slot_inherit[LW_EVENT_MAX_PATHS]; /* segment: path under "context." */
    bool env_active;
    const unsigned char *env_p, *env_end; /* cursor inside the batch array, its end */
    size_t env_scratch;                   /* scratch bytes the envelope's values hold */
    lw_value_t env_values[LW_EVENT_MAX_PATHS];
    lw_value_t env_sent; /* LW_VAL_ABSENT when the envelope has no sentAt */
};

/* ----------------------------------------------------------------- trie */

/* Bucket of (parent node, segment length, first 8 segment bytes zero-padded). */
static size_t key_hash(int32_t parent, size_t len, uint64_t w0)
{
    uint64_t h = w0 + (uint64_t)len * UINT64_C(0xC2B2AE3D27D4EB4F) +
                 (uint64_t)(uint32_t)parent * UINT64_C(0x165667B19E3779F9);
    return (size_t)((h * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - KEY_HASH_BITS));
}

/* One element of a path: an object key or an array index "[N]". */
typedef struct {
    size_t start, len; /* its text in the path ("[N]" for an index) */
    bool is_index;
    uint32_t index;
} path_tok_t;

/* Split a path into keys and indexes; NULL on success, else what is wrong. */
static const char *path_tokens(const char *s, size_t len, path_tok_t *tok, size_t *ntok)
{
    size_t n = 0, i = 0;
    *ntok = 0;
    if (len == 0)
        return "empty path";
    if (len > LW_EVENT_MAX_PATH_LEN)
        return "path longer than " LW_STR(LW_EVENT_MAX_PATH_LEN) " bytes";
    for (;;) {
        size_t st = i;
        while (i < len && s[i] != '.' && s[i] != '[' && s[i] != ']')
            i++;
        if (i == st)
            return i < len && s[i] == '[' ? "an array index must follow a key (\"items[0]\")"
                   : st == 0 || i == len  ? "path has an empty segment (leading or trailing '.')"
                                          : "path has an empty segment ('..')";
        if (n == LW_EVENT_MAX_PATH_DEPTH)
            return "path has more than " LW_STR(LW_EVENT_MAX_PATH_DEPTH) " segments (keys and "
                                                                         "indexes)";
        tok[n++] = (path_tok_t){.start = st, .len = i - st};
        while (i < len && s[i] == '[') {
            size_t open = i++;
            uint64_t v = 0;
            while (i < len && s[i] >= '0' && s[i] <= '9') {
                v = v * 10 + (uint64_t)(s[i] - '0');
                if (v > LW_EVENT_MAX_INDEX)
                    return "array index larger than " LW_STR(LW_EVENT_MAX_INDEX);
                i++;
            }
            if (i == open + 1 || i == len || s[i] != ']')
                return "an array index is [N], N a whole number (\"items[0]\")";
            i++;
            if (n == LW_EVENT_MAX_PATH_DEPTH)
                return "path has more than " LW_STR(LW_EVENT_MAX_PATH_DEPTH) " segments (keys "
                                                                             "and indexes)";
            tok[n++] = (path_tok_t){
                .start = open, .len = i - open, .is_index = true, .index = (uint32_t)v};
        }
        if (i == len)
            break;
        if (s[i] != '.')
            return s[i] == ']' ? "']' without '['" : "expected '.' or '[' after ']'";
        if (++i == len)
            return "path has an empty segment (leading or trailing '.')";
    }
    *ntok = n;
    return NULL;
}

const char *lw_event_path_problem(const char *path, size_t len)
{
    path_tok_t tok[LW_EVENT_MAX_PATH_DEPTH];
    size_t n;
    return path_tokens(path, len, tok, &n);
}

/* The index child `i` of node `parent`, or -1 (index nodes are few: a list walk). */
static int32_t index_child(const lw_decoder_t *d, int32_t parent, uint32_t i)
{
    for (int32_t c = d->nodes[parent].first_child; c >= 0; c = d->nodes[c].next_sibling)
        if (d->nodes[c].is_index && d->nodes[c].index == i)
            return c;
    return -1;
}

/* Insert `path` and return its terminal node, or -1 with errstr set. */
static int32_t trie_insert(lw_decoder_t *d, const char *path, char *errstr, size_t errstr_size)
{
    size_t len = path ? strlen(path) : 0;
    int32_t chain[LW_EVENT_MAX_PATH_DEPTH + 1];
    int nchain = 0;
    path_tok_t tok[LW_EVENT_MAX_PATH_DEPTH];
    size_t ntok;

    /* validate the whole path before touching the trie */
    const char *problem = path_tokens(path ? path : "", len, tok, &ntok);
    if (problem) {
        lw_seterr(errstr, errstr_size,
                  len > LW_EVENT_MAX_PATH_LEN || strstr(problem, "more than") ? LW_ERR_TOO_LARGE
                                                                              : LW_ERR_INVALID,
                  "path \"%.*s\": %s", (int)(len > 300 ? 300 : len), path ? path : "", problem);
        return -1;
    }
    if (d->pool_used + len > sizeof d->pool) {
        lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "too many paths");
        return -1;
    }

    char *copy = d->pool + d->pool_used;
    memcpy(copy, path, len);
    d->pool_used += len;

    int32_t cur = 0;
    chain[nchain++] = 0;
    for (size_t t = 0; t < ntok; t++) {
        const path_tok_t *k = &tok[t];
        size_t sl = k->len;
        int32_t c = d->nodes[cur].first_child;
        while (c >= 0 && !(k->is_index ? d->nodes[c].is_index && d->nodes[c].index == k->index
                                       : !d->nodes[c].is_index && d->nodes[c].seg_len == sl &&
                                             memcmp(d->nodes[c].seg, copy + k->start, sl) == 0))
            c = d->nodes[c].next_sibling;
        if (c < 0) {
            if (d->nnodes == MAX_NODES) {
                lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "too many path segments");
                return -1;
            }
            c = d->nnodes++;
            trie_node_t *n = &d->nodes[c];
            n->seg = copy + k->start;
            n->seg_len = sl;
            unsigned char pad[16] = {0};
            memcpy(pad, n->seg, sl < 16 ? sl : 16);
            memcpy(&n->w0, pad, 8);
            memcpy(&n->w1, pad + 8, 8);
            n->parent = cur;
            n->first_child = -1;
            n->slot = -1;
            n->seen = 0;
            n->val_epoch = 0;
            n->target_below = false;
            n->is_index = k->is_index;
            n->has_index = false;
            n->index = k->index;
            /* append so registration order is scan order for ties */
            n->next_sibling = -1;
            int32_t *link = &d->nodes[cur].first_child;
            while (*link >= 0)
                link = &d->nodes[*link].next_sibling;
            *link = c;
            if (k->is_index) {
                d->nodes[cur].has_index = true; /* found by index_child, not hashed */
            } else {
                size_t h = key_hash(cur, sl, n->w0);
                while (d->key_hash[h] >= 0) /* cannot fill: MAX_NODES < KEY_HASH_SIZE */
                    h = (h + 1) & (KEY_HASH_SIZE - 1);
                d->key_hash[h] = c;
            }
        }
        cur = c;
        chain[nchain++] = cur;
    }
    for (int i = 0; i < nchain - 1; i++)
        d->nodes[chain[i]].target_below = true;
    return cur;
}

static bool add_special(lw_decoder_t *d, const char *path, int sp, char *errstr, size_t errstr_size)
{
    int32_t n = trie_insert(d, path, errstr, errstr_size);
    if (n < 0)
        return false;
    d->tgt[n + 1] = true;
    d->sp_node[sp] = n;
    return true;
}

/* Reset the values of every target below node n (a duplicate key). */
static void clear_below(lw_decoder_t *d, int32_t n)
{
    for (int32_t c = d->nodes[n].first_child; c >= 0; c = d->nodes[c].next_sibling) {
        d->nodes[c].val_epoch = 0;
        if (d->nodes[c].target_below)
            clear_below(d, c);
    }
}

/*
 * The value slot of target node n for this event.  Callers write the
 * fields directly: building an lw_value_t on the stack and copying it
 * caused store-forwarding stalls that cost ~30% of decode time.
 */
static lw_value_t *node_value(lw_decoder_t *d, int32_t n)
{
    d->nodes[n].val_epoch = d->epoch;
    return &d->nodes[n].val;
}

static bool is_target(const lw_decoder_t *d, int32_t n)
{
    return d->tgt[n + 1];
}

/* This event's value of a format field, or NULL when absent. */
static const lw_value_t *special(const lw_decoder_t *d, int sp)
{
    int32_t n = d->sp_node[sp];
    return n >= 0 && d->nodes[n].val_epoch == d->epoch ? &d->nodes[n].val : NULL;
}

/* ------------------------------------------------------------ lifecycle */

/* The fields of each vendor format (see event.h), NULL where it has none. */
/* Rows of one shape are the table of vendor fields, not copies. */
static const char *const vendor_fields[][SP__COUNT] = {
    [LW_FMT_SEGMENT] = {[SP_EVENT] = "event",
                        [SP_USER] = "userId",
                        [SP_USER2] = "anonymousId",
                        [SP_TIME] = "timestamp",
                        [SP_ORIG] = "originalTimestamp",
                        [SP_SENT] = "sentAt",
                        [SP_RECV] = "receivedAt",
                        [SP_ID] = "messageId",
                        [SP_BATCH] = "batch"},
    [LW_FMT_AMPLITUDE] = {[SP_EVENT] = "event_type",
                          [SP_USER] = "user_id",
                          [SP_USER2] = "device_id",
                          [SP_TIME] = "event_time",
                          [SP_TIME2] = "time",
                          [SP_ID] = "insert_id",
                          [SP_ID2] = "$insert_id",
                          [SP_BATCH] = "events"},
    [LW_FMT_CUSTOM] = {NULL},
    [LW_FMT_POSTHOG] = {[SP_EVENT] = "event",
                        [SP_USER] = "distinct_id",
                        [SP_USER2] = "properties.distinct_id",
                        [SP_TIME] = "timestamp",
                        [SP_ID] = "uuid",
                        [SP_BATCH] = "batch"},
};

void lw_decoder_destroy(lw_decoder_t *d)
{
    if (!d)
        return;
    LW_FREE_ALL(d->scratch_mem, d->aidx, d->node, d->kind, d);
}

lw_decoder_t *lw_decoder_new(const lw_decoder_opts_t *opts, char *errstr, size_t errstr_size)
{
    lw_decoder_t *d = NULL;

    if (!opts) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "decoder options are NULL");
        return NULL;
    }
    if (opts->format != LW_FMT_SEGMENT && opts->format != LW_FMT_AMPLITUDE &&
        opts->format != LW_FMT_CUSTOM && opts->format != LW_FMT_POSTHOG) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "unknown event format %d",
                  (int)opts->format);
        return NULL;
    }
    if (opts->max_event_bytes > MAX_MAX_EVENT_BYTES) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "max_event_bytes %zu exceeds %zu",
                  opts->max_event_bytes, MAX_MAX_EVENT_BYTES);
        return NULL;
    }
    if (opts->max_depth < 0 || opts->max_depth > MAX_MAX_DEPTH) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "max_depth %d outside 1..%d",
                  opts->max_depth, MAX_MAX_DEPTH);
        return NULL;
    }
    if (opts->max_future_ms < 0) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "max_future_ms must not be negative");
        return NULL;
    }

    d = calloc(1, sizeof *d);
    if (!d) {
        lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
        goto fail;
    }
    d->format = opts->format;
    d->max_event_bytes = opts->max_event_bytes ? opts->max_event_bytes : DEFAULT_MAX_EVENT_BYTES;
    d->max_depth = opts->max_depth ? opts->max_depth : DEFAULT_MAX_DEPTH;
    d->max_future_ms = opts->max_future_ms ? opts->max_future_ms : DEFAULT_MAX_FUTURE_MS;
    d->epoch = 0;
    d->nnodes = 1;
    d->nodes[0] = (trie_node_t){.parent = -1, .first_child = -1, .next_sibling = -1, .slot = -1};
    for (size_t i = 0; i < KEY_HASH_SIZE; i++)
        d->key_hash[i] = -1;
    for (int k = 0; k < SP__COUNT; k++)
        d->sp_node[k] = -1;
    for (size_t i = 0; i < PRED_SIZE; i++)
        d->pred[i].tag = PRED_EMPTY;

    d->kind = malloc((size_t)d->max_depth + 1);
    d->node = malloc(((size_t)d->max_depth + 1) * sizeof *d->node);
    d->aidx = malloc(((size_t)d->max_depth + 1) * sizeof *d->aidx);
    d->scratch_mem = malloc(2 * (d->max_event_bytes + 1));
    d->scratch_half[0] = d->scratch = d->scratch_mem;
    d->scratch_half[1] = d->scratch_mem ? d->scratch_mem + d->max_event_bytes + 1 : NULL;
    d->values = d->values_mem[0];
    if (!d->kind || !d->node || !d->aidx || !d->scratch_mem) {
        lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
        goto fail;
    }

    const char *paths[SP__COUNT];
    if (d->format == LW_FMT_CUSTOM) {
        if (!opts->event_path || !opts->user_path || !opts->time_path) {
            lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                      "custom format needs event_path, user_path and time_path");
            goto fail;
        }
        memset(paths, 0, sizeof paths);
        paths[SP_EVENT] = opts->event_path;
        paths[SP_USER] = opts->user_path;
        paths[SP_TIME] = opts->time_path;
    } else {
        memcpy(paths, vendor_fields[d->format], sizeof paths);
        if (opts->user_override) {
            paths[SP_USER] = opts->user_override;
            paths[SP_USER2] = NULL;
        }
    }
    if (opts->id_path) {
        paths[SP_ID] = opts->id_path;
        paths[SP_ID2] = NULL;
    }
    bool ok = true;
    for (int sp = 0; sp < SP__COUNT && ok; sp++)
        ok = !paths[sp] || add_special(d, paths[sp], sp, errstr, errstr_size);
    if (!ok)
        goto fail;
    return d;

fail:
    lw_decoder_destroy(d);
    return NULL;
}

int lw_decoder_add_path(lw_decoder_t *d, const char *path, char *errstr, size_t errstr_size)
{
    if (d->frozen) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "paths must be added before decoding");
        return -1;
    }
    int32_t n = trie_insert(d, path, errstr, errstr_size);
    if (n < 0)
        return -1;
    if (d->nodes[n].slot >= 0)
        return d->nodes[n].slot;
    if (d->nslots == LW_EVENT_MAX_PATHS) {
        lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "more than %d paths", LW_EVENT_MAX_PATHS);
        return -1;
    }
    d->nodes[n].slot = (int32_t)d->nslots;
    d->tgt[n + 1] = true;
    d->slot_node[d->nslots] = n;
    d->slot_inherit[d->nslots] = d->format == LW_FMT_SEGMENT && strncmp(path, "context.", 8) == 0;
    return (int)d->nslots++;
}

/* ---------------------------------------------------------------- UTF-8 */

/* UTF-8 validation is core/utf8.h's (one validator for the program):
   lw_utf8_seq inline in the string scanner, lw_utf8_valid with its 8-byte
   ASCII skip when a rejected document is re-checked. */

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

static uint64_t load64(const unsigned char *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return x;
}

/* A mask keeping the first n (<= 8 taken) bytes of a word read by load64. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static uint64_t low_bytes_mask(size_t n)
{
    return n >= 8 ? ~UINT64_C(0) : (UINT64_C(1) << (8 * n)) - 1;
}
#else
static uint64_t low_bytes_mask(size_t n)
{
    return n >= 8 ? ~UINT64_C(0) : n == 0 ? 0 : ~UINT64_C(0) << (8 * (8 - n));
}
#endif

/*
 * clean_prefix: how many of the STRING_BLOCK bytes at p are plain string
 * content (none of '"', '\\', < 0x20, >= 0x80).  SSE2 (baseline on x86-64)
 * tests 16 bytes with three compares; a signed compare against 0x20 catches
 * both control bytes and bytes >= 0x80.  Elsewhere an 8-byte SWAR test:
 * the high bit of each byte of string_special(x) is set when that byte
 * needs attention (borrows can only add false flags above a true one, and
 * only the zero/non-zero result is used).
 */
#if defined(__SSE2__)
#define STRING_BLOCK 16
static unsigned special_bits(const unsigned char *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i m = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
        _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
    return (unsigned)_mm_movemask_epi8(m);
}

static size_t clean_prefix(const unsigned char *p)
{
    unsigned bits = special_bits(p);
    return bits ? (size_t)__builtin_ctz(bits) : STRING_BLOCK;
}

/* clean_prefix for 0 < end - p < STRING_BLOCK, by the block that ends at end (readable). */
static size_t clean_prefix_tail(const unsigned char *p, const unsigned char *end)
{
    unsigned bits = special_bits(end - STRING_BLOCK) >> (STRING_BLOCK - (size_t)(end - p));
    return bits ? (size_t)__builtin_ctz(bits) : (size_t)(end - p);
}
#else
#define STRING_BLOCK 8
static uint64_t string_special(uint64_t x)
{
    uint64_t q = x ^ (ONES * '"');
    uint64_t b = x ^ (ONES * '\\');
    return (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((x - ONES * 0x20) & ~x) | x) & HIGHS;
}

static size_t clean_prefix(const unsigned char *p)
{
    if (!string_special(load64(p)))
        return STRING_BLOCK;
    size_t i = 0;
    while (p[i] != '"' && p[i] != '\\' && p[i] >= 0x20 && p[i] < 0x80)
        i++;
    return i;
}

static size_t clean_prefix_tail(const unsigned char *p, const unsigned char *end)
{
    size_t i = 0, n = (size_t)(end - p);
    while (i < n && p[i] != '"' && p[i] != '\\' && p[i] >= 0x20 && p[i] < 0x80)
        i++;
    return i;
}
#endif

/* ---------------------------------------------------------------- lexing */

/* Inlined: called before and after every value, ~16 times per typical
 * event; as a call it was 4 % of ingest instructions (callgrind). */
static inline __attribute__((always_inline)) const unsigned char *skip_ws(const unsigned char *p,
                                                                          const unsigned char *end)
{
    /* every JSON token byte is > ' ', so compact input exits on one compare */
    while (p < end && *p <= ' ' && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* Consume optional whitespace and then `ch`; false when `ch` is not next. */
static inline bool next_is(const unsigned char **pp, const unsigned char *end, unsigned char ch)
{
    const unsigned char *p = *pp;
    if (p == end || *p != ch) { /* compact input takes the first test */
        p = skip_ws(p, end);
        if (p == end || *p != ch)
            return false;
    }
    *pp = p + 1;
    return true;
}

static int hexval(unsigned c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    return -1;
}

/* Four hex digits at p (caller checked 4 bytes are there), or -1. */
static long hex4(const unsigned char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/*
 * Validate the escape at *pp ('\\'), advance past it and return its code
 * point, or -1 when invalid (bad letter, bad hex, lone surrogate).
 */
static long scan_escape(const unsigned char **pp, const unsigned char *end)
{
    const unsigned char *p = *pp;
    if (end - p < 2)
        return -1;
    long cp;
    switch (p[1]) {
    case '"': cp = '"'; break;
    case '\\': cp = '\\'; break;
    case '/': cp = '/'; break;
    case 'b': cp = '\b'; break;
    case 'f': cp = '\f'; break;
    case 'n': cp = '\n'; break;
    case 'r': cp = '\r'; break;
    case 't': cp = '\t'; break;
    case 'u':
        if (end - p < 6 || (cp = hex4(p + 2)) < 0)
            return -1;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return -1; /* lone low surrogate */
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
                return -1; /* lone high surrogate */
            long lo = hex4(p + 8);
            if (lo < 0xDC00 || lo > 0xDFFF)
                return -1;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            *pp = p + 12;
            return cp;
        }
        *pp = p + 6;
        return cp;
    default: return -1;
    }
    *pp = p + 2;
    return cp;
}

/*
 * Scan a string body; *pp points just after the opening quote.  On success
 * *pp points just after the closing quote, *esc tells whether it had
 * escapes, and the result is LW_REJECT_NONE.
 */
static inline __attribute__((always_inline)) lw_reject_t
scan_string(const unsigned char **pp, const unsigned char *lo, const unsigned char *end, bool *esc)
{
    const unsigned char *p = *pp;
    bool e = false;
    for (;;) {
        while (end - p >= STRING_BLOCK) {
            size_t k = clean_prefix(p);
            p += k;
            if (k < STRING_BLOCK)
                goto special;
        }
        if (p < end && end - lo >= STRING_BLOCK)
            p += clean_prefix_tail(p, end); /* the last bytes: one block ending at end */
    special:
        if (p >= end)
            return LW_REJECT_INVALID_JSON;
        unsigned c = *p;
        if (c == '"') {
            *pp = p + 1;
            *esc = e;
            return LW_REJECT_NONE;
        }
        if (c == '\\') {
            e = true;
            /* through a copy: p's address taken kept p in memory for every block */
            const unsigned char *q = p;
            if (scan_escape(&q, end) < 0)
                return LW_REJECT_INVALID_JSON;
            p = q;
        } else if (c < 0x20) {
            return LW_REJECT_INVALID_JSON;
        } else if (c >= 0x80) {
            size_t n = lw_utf8_seq(p, (size_t)(end - p));
            if (n == 0)
                return LW_REJECT_INVALID_UTF8;
            p += n;
        } else {
            p++;
        }
    }
}

/*
 * Unescape an already validated string body [p, end) into out (capacity
 * cap).  Returns the length, or SIZE_MAX when it does not fit.
 */
static size_t unescape(const unsigned char *p, const unsigned char *end, char *out, size_t cap)
{
    size_t n = 0;
    while (p < end) {
        if (*p != '\\') {
            if (n == cap)
                return SIZE_MAX;
            out[n++] = (char)*p++;
            continue;
        }
        long cp = scan_escape(&p, end);
        assert(cp >= 0);
        char tmp[4];
        size_t k = lw_utf8_encode((uint32_t)cp, tmp);
        if (cap - n < k)
            return SIZE_MAX;
        memcpy(out + n, tmp, k);
        n += k;
    }
    return n;
}

static bool is_digit(unsigned c)
{
    return c - '0' < 10u;
}

static bool match_lit(const unsigned char *p, const unsigned char *end, const char *lit, size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/* ---------------------------------------------------------------- scanner */

/*
 * Match the key body [ks, ke) (escaped when esc) against the children of
 * trie node `parent`; returns the child or -1.
 */
static inline __attribute__((always_inline)) int32_t match_key(lw_decoder_t *d, int32_t parent,
                                                               const unsigned char *ks,
                                                               const unsigned char *ke,
                                                               const unsigned char *end, bool esc)
{
    /* 16 readable bytes past the key start are needed for the word loads */
    unsigned char buf[LW_EVENT_MAX_PATH_LEN + 16];
    const unsigned char *key = ks;
    size_t klen = (size_t)(ke - ks);
    if (klen > LW_EVENT_MAX_PATH_LEN && !esc)
        return -1;
    if (esc || end - ks < 16) {
        memset(buf, 0, 16);
        if (esc) {
            klen = unescape(ks, ke, (char *)buf, LW_EVENT_MAX_PATH_LEN);
            if (klen == SIZE_MAX)
                return -1;
        } else {
            memcpy(buf, ks, klen);
        }
        key = buf;
    }
    uint64_t k0 = load64(key) & low_bytes_mask(klen);
    uint64_t k1 = load64(key + 8) & low_bytes_mask(klen > 8 ? klen - 8 : 0);
    for (size_t h = key_hash(parent, klen, k0);; h = (h + 1) & (KEY_HASH_SIZE - 1)) {
        int32_t c = d->key_hash[h];
        if (c < 0)
            return -1;
        const trie_node_t *cn = &d->nodes[c];
        if (cn->w0 == k0 && cn->w1 == k1 && cn->seg_len == klen && cn->parent == parent &&
            (klen <= 16 || memcmp(cn->seg + 16, key + 16, klen - 16) == 0))
            return c;
    }
}

/*
 * Scan `"key" :` at *pp inside an object whose trie node is `parent` (-1
 * when none; *next_ord is its next key ordinal); *cur becomes the trie node
 * whose value follows, or -1.
 *
 * Key prediction.  Events of one stream repeat their keys in the same
 * order, and matching a key costs a chain of dependent steps (find the
 * closing quote, hash, probe the table, load the node, compare): perf put
 * the node compare and the hash at ~20 % of scan_document's samples.  So a
 * key of a registered object first compares its 16 bytes with the key seen
 * at the same ordinal of the same object last time, closing quote and ':'
 * included (two masked word compares on bytes already loaded).  A hit
 * means the raw text is exactly that key, without escapes (the prediction
 * is stored only for an escape-free key that scanned cleanly), so the
 * string scan and match_key would give what they gave then; the trie is
 * frozen, so the node is the same.  Measured: see bench/RESULTS.md,
 * issue 19 "Session 7".
 */
static inline __attribute__((always_inline)) lw_reject_t
scan_key(lw_decoder_t *d, const unsigned char **pp, const unsigned char *end, int32_t parent,
         uint32_t *next_ord, int32_t *cur)
{
    const unsigned char *p = *pp;
    if (!next_is(&p, end, '"'))
        return LW_REJECT_INVALID_JSON;
    const unsigned char *ks = p;
    int32_t c = -1;
    key_pred_t *kp = NULL;
    uint32_t ord = 0;
    uint64_t x0 = 0, x1 = 0;
    bool below;
    if (parent >= 0 && end - ks >= 16) {
        ord = (*next_ord)++;
        kp = &d->pred[((uint32_t)parent * 8u + ord) & (PRED_SIZE - 1)];
        x0 = load64(ks);
        x1 = load64(ks + 8);
        if (kp->tag == pred_tag(parent, ord) && (x0 & kp->m0) == kp->w0 &&
            (x1 & kp->m1) == kp->w1) {
            c = kp->node;
            below = kp->below;
            p = ks + kp->len;
            goto matched;
        }
    }
    bool esc;
    lw_reject_t r = scan_string(&p, d->lo, end, &esc);
    if (r != LW_REJECT_NONE)
        return r;
    if (parent >= 0) {
        c = match_key(d, parent, ks, p - 1, end, esc);
        below = c >= 0 && d->nodes[c].target_below;
        size_t klen = (size_t)(p - 1 - ks);
        if (kp && !esc && klen <= PRED_MAX_KEY && p < end && *p == ':') {
            kp->tag = pred_tag(parent, ord);
            kp->len = (uint32_t)klen + 2;
            kp->m0 = low_bytes_mask(klen + 2);
            kp->m1 = low_bytes_mask(klen + 2 > 8 ? klen + 2 - 8 : 0);
            kp->w0 = x0 & kp->m0;
            kp->w1 = x1 & kp->m1;
            kp->node = c;
            kp->below = below;
        }
    } else {
        below = false;
    }
    if (!next_is(&p, end, ':'))
        return LW_REJECT_INVALID_JSON;
matched:
    if (below) { /* a leaf's value is simply overwritten */
        trie_node_t *cn = &d->nodes[c];
        if (cn->seen == d->epoch)
            clear_below(d, c); /* duplicate key: the last one wins */
        cn->seen = d->epoch;
    }
    *pp = p;
    *cur = c;
    return LW_REJECT_NONE;
}

/* Scan one number value, converting it when it is captured or might overflow. */
static lw_reject_t scan_number_value(lw_decoder_t *d, const unsigned char **pp,
                                     const unsigned char *end, int32_t cur)
{
    lw_jnum_t n;
    lw_jnum_status_t st = lw_jnum_lex(pp, end, &n);
    if (st != LW_JNUM_OK)
        return st == LW_JNUM_INFINITY ? LW_REJECT_BAD_NUMBER : LW_REJECT_INVALID_JSON;
    bool capture = is_target(d, cur);
    if (!capture && n.lead < 308)
        return LW_REJECT_NONE; /* < 1e308 < DBL_MAX: cannot overflow */
    char small[64];
    char *tmp = small;
    size_t cap = sizeof small;
    if (n.len >= cap) {
        /* the scratch tail holds at least the unread input + 1 byte */
        tmp = d->scratch + d->scratch_used;
        cap = d->max_event_bytes + 1 - d->scratch_used;
    }
    double v;
    if (!lw_jnum_value(&n, tmp, cap, &v))
        return LW_REJECT_BAD_NUMBER;
    if (capture) {
        lw_value_t *val = node_value(d, cur);
        val->type = LW_VAL_NUMBER;
        val->num = v;
        val->s.ptr = (const char *)n.start;
        val->s.len = n.len;
    }
    return LW_REJECT_NONE;
}

static lw_reject_t scan_string_value(lw_decoder_t *d, const unsigned char **pp,
                                     const unsigned char *end, int32_t cur)
{
    const unsigned char *s = *pp + 1;
    const unsigned char *p = s;
    bool esc;
    lw_reject_t r = scan_string(&p, d->lo, end, &esc);
    if (r != LW_REJECT_NONE)
        return r;
    *pp = p;
    if (!is_target(d, cur))
        return LW_REJECT_NONE;
    lw_value_t *val = node_value(d, cur);
    val->type = LW_VAL_STRING;
    val->s.ptr = (const char *)s;
    val->s.len = (size_t)(p - 1 - s);
    if (esc) {
        char *out = d->scratch + d->scratch_used;
        size_t n = unescape(s, p - 1, out, d->max_event_bytes + 1 - d->scratch_used);
        assert(n != SIZE_MAX);
        d->scratch_used += n;
        val->s.ptr = out;
        val->s.len = n;
    }
    return LW_REJECT_NONE;
}

/* Leave the container just closed: back to the enclosing one's closer, node
 * and ordinal (scan_document's locals), or to the top level.  A macro, not a
 * function: it moves four of the scanner's register-held locals. */
#define POP_LEVEL()                                                                                \
    do {                                                                                           \
        if (--depth == 0) {                                                                        \
            closer = 0;                                                                            \
        } else {                                                                                   \
            closer = d->kind[depth] == '{' ? '}' : ']';                                            \
            obj = d->node[depth];                                                                  \
            ord = d->aidx[depth];                                                                  \
        }                                                                                          \
    } while (0)

/*
 * Validate the whole document [p, end) and capture targets.  *top gets the
 * first byte of the top-level value.  Whitespace is skipped only when the
 * next byte is <= ' ' (the same test that ends the end-of-input check), so
 * compact input pays one compare per token for it; `closer` is the bracket
 * that ends the innermost open value (0 at the top level).
 */
static lw_reject_t scan_document(lw_decoder_t *d, const unsigned char *p, const unsigned char *end,
                                 unsigned char *top)
{
    int depth = 0;
    int32_t cur = 0; /* the top-level object is the trie root */
    unsigned char closer = 0;
    int32_t obj = -1; /* d->node[depth], kept in a register */
    uint32_t ord = 0; /* d->aidx[depth], likewise (saved on a push, reloaded on a pop) */
    lw_reject_t r;

    d->lo = p;
    p = skip_ws(p, end);
    *top = p < end ? *p : 0;
    for (;;) {
        /* a value (no whitespace before it: skipped at the start, after '{', '[', ',' and ':') */
        if (p == end)
            return LW_REJECT_INVALID_JSON;
        unsigned char c = *p;
        if (c <= ' ') {
            p = skip_ws(p, end);
            if (p == end)
                return LW_REJECT_INVALID_JSON;
            c = *p;
        }
        if (c == '"') {
            r = scan_string_value(d, &p, end, cur);
            if (r != LW_REJECT_NONE)
                return r;
        } else if (c == '{' || c == '[') {
            if (depth == d->max_depth)
                return LW_REJECT_TOO_DEEP;
            if (is_target(d, cur)) {
                lw_value_t *val = node_value(d, cur);
                val->type = LW_VAL_COMPOUND;
                val->s.ptr = (const char *)p; /* the opening bracket (envelope arrays) */
                val->s.len = 0;
            }
            d->aidx[depth] = ord;
            depth++;
            closer = c == '{' ? '}' : ']';
            d->kind[depth] = c;
            ord = 0; /* the key ordinal of an object, the index of an array */
            obj = cur >= 0 && (c == '{' ? d->nodes[cur].target_below : d->nodes[cur].has_index)
                      ? cur
                      : -1;
            d->node[depth] = obj;
            p = skip_ws(p + 1, end);
            if (p < end && *p == closer) {
                p++;
                POP_LEVEL();
            } else if (c == '{') {
                r = scan_key(d, &p, end, obj, &ord, &cur);
                if (r != LW_REJECT_NONE)
                    return r;
                continue;
            } else {
                cur = obj >= 0 ? index_child(d, obj, 0) : -1;
                continue;
            }
        } else if (c == '-' || is_digit(c)) {
            r = scan_number_value(d, &p, end, cur);
            if (r != LW_REJECT_NONE)
                return r;
        } else if (match_lit(p, end, "true", 4) || match_lit(p, end, "false", 5)) {
            if (is_target(d, cur)) {
                lw_value_t *val = node_value(d, cur);
                val->type = LW_VAL_BOOL;
                val->b = c == 't';
            }
            p += c == 't' ? 4 : 5;
        } else if (match_lit(p, end, "null", 4)) {
            if (is_target(d, cur))
                node_value(d, cur)->type = LW_VAL_NULL;
            p += 4;
        } else if (match_lit(p, end, "NaN", 3) || match_lit(p, end, "Infinity", 8)) {
            return LW_REJECT_BAD_NUMBER;
        } else {
            return LW_REJECT_INVALID_JSON;
        }

        /* after a value: ',' or closers */
        for (;;) {
            unsigned char a;
            if (p == end || (a = *p) <= ' ') {
                p = skip_ws(p, end);
                if (p == end)
                    return depth == 0 ? LW_REJECT_NONE : LW_REJECT_INVALID_JSON;
                a = *p;
            }
            if (a == ',') { /* one compare on the common path; depth is tested after it */
                if (depth == 0)
                    return LW_REJECT_INVALID_JSON;
                p++;
                if (closer == '}') {
                    r = scan_key(d, &p, end, obj, &ord, &cur);
                    if (r != LW_REJECT_NONE)
                        return r;
                } else {
                    cur = obj >= 0 ? index_child(d, obj, ++ord) : -1;
                }
                break;
            }
            if (a != closer || depth == 0)
                return LW_REJECT_INVALID_JSON;
            p++;
            POP_LEVEL();
        }
    }
}

/* ------------------------------------------------------------ extraction */

static bool user_value(const lw_value_t *v, lw_slice_t *out)
{
    if (v && ((v->type == LW_VAL_STRING && v->s.len > 0) || v->type == LW_VAL_NUMBER)) {
        *out = v->s;
        return true;
    }
    return false;
}

/* Convert a JSON number of milliseconds, false when it is out of int64 range. */
static lw_reject_t ms_from_double(double ms, int64_t *out)
{
    if (ms >= 9.2e18)
        return LW_REJECT_TIME_IN_FUTURE;
    if (ms <= -9.2e18)
        return LW_REJECT_TIME_TOO_OLD;
    *out = (int64_t)floor(ms);
    return LW_REJECT_NONE;
}

/* A present (not null) value of a format field, or NULL. */
static const lw_value_t *present(const lw_decoder_t *d, int sp)
{
    const lw_value_t *v = special(d, sp);
    return v && v->type != LW_VAL_NULL ? v : NULL;
}

static lw_reject_t iso_time(const lw_value_t *v, int64_t *out)
{
    if (v->type != LW_VAL_STRING)
        return LW_REJECT_BAD_TIME;
    return lw_time_parse_iso8601(v->s.ptr, v->s.len, out) ? LW_REJECT_NONE : LW_REJECT_BAD_TIME;
}

/*
 * Segment / RudderStack time chain (Segment's "Timestamps" spec):
 * "timestamp" when present; else originalTimestamp corrected for the
 * device clock's skew, receivedAt - (sentAt - originalTimestamp), when all
 * three are present (sentAt may come from the envelope); else
 * originalTimestamp.  Every field that is present must parse (bad_time).
 */
static lw_reject_t segment_time(const lw_decoder_t *d, const lw_value_t *env_sent, int64_t *out)
{
    const lw_value_t *t = present(d, SP_TIME);
    if (t)
        return iso_time(t, out);
    const lw_value_t *o = present(d, SP_ORIG);
    if (!o)
        return LW_REJECT_MISSING_TIME;
    int64_t orig, sent, recv;
    lw_reject_t r = iso_time(o, &orig);
    if (r != LW_REJECT_NONE)
        return r;
    const lw_value_t *s = present(d, SP_SENT);
    if (!s && env_sent && env_sent->type != LW_VAL_ABSENT && env_sent->type != LW_VAL_NULL)
        s = env_sent;
    const lw_value_t *rv = present(d, SP_RECV);
    if (!s || !rv) {
        *out = orig;
        return LW_REJECT_NONE;
    }
    if ((r = iso_time(s, &sent)) != LW_REJECT_NONE || (r = iso_time(rv, &recv)) != LW_REJECT_NONE)
        return r;
    /* each term is an ISO 8601 time (|t| < 2^53 ms), so this cannot overflow */
    *out = recv - (sent - orig);
    return LW_REJECT_NONE;
}

static lw_reject_t event_time(const lw_decoder_t *d, const lw_value_t *env_sent, int64_t *out)
{
    if (d->format == LW_FMT_SEGMENT)
        return segment_time(d, env_sent, out);
    const lw_value_t *t = special(d, SP_TIME);
    if (d->format == LW_FMT_AMPLITUDE && (!t || t->type == LW_VAL_NULL)) {
        t = special(d, SP_TIME2);
        if (!t || t->type == LW_VAL_NULL)
            return LW_REJECT_MISSING_TIME;
        if (t->type != LW_VAL_NUMBER)
            return LW_REJECT_BAD_TIME;
        return ms_from_double(t->num, out);
    }
    if (!t || t->type == LW_VAL_NULL)
        return LW_REJECT_MISSING_TIME;
    if (t->type == LW_VAL_STRING)
        return iso_time(t, out);
    if (t->type == LW_VAL_NUMBER && d->format == LW_FMT_CUSTOM)
        return ms_from_double(fabs(t->num) < 1e11 ? t->num * 1000.0 : t->num, out);
    return LW_REJECT_BAD_TIME;
}

static bool whitespace_only(const unsigned char *p, const unsigned char *end)
{
    return skip_ws(p, end) == end;
}

/* Skip one already validated JSON value at p; returns the byte after it. */
static const unsigned char *skip_value(const unsigned char *p, const unsigned char *end)
{
    const unsigned char *lo = p;
    long depth = 0;
    bool esc;
    do {
        p = skip_ws(p, end);
        unsigned char c = *p;
        if (c == '"') {
            p++;
            (void)scan_string(&p, lo, end, &esc);
        } else if (c == '{' || c == '[') {
            depth++;
            p++;
        } else if (c == '}' || c == ']') {
            depth--;
            p++;
        } else if (c == ',' || c == ':') {
            p++;
        } else {
            while (p < end && *p != ',' && *p != '}' && *p != ']' && *p > ' ')
                p++; /* number or literal */
        }
    } while (depth > 0 && p < end);
    return p;
}

/* The envelope array of the event just scanned, or NULL when it is not an envelope. */
static const lw_value_t *envelope_array(const lw_decoder_t *d)
{
    if (d->format == LW_FMT_CUSTOM || special(d, SP_EVENT))
        return NULL;
    const lw_value_t *b = special(d, SP_BATCH);
    return b && b->type == LW_VAL_COMPOUND && b->s.ptr[0] == '[' ? b : NULL;
}

/*
 * Scan [p, end) as one event and extract it.  `element`: an element of an
 * envelope (scratch starts after the envelope's values, envelope fields
 * are inherited, and it is never an envelope itself).
 */
static inline __attribute__((always_inline)) lw_reject_t
decode_one(lw_decoder_t *d, const unsigned char *p, const unsigned char *end, int64_t now_ms,
           bool element, lw_event_t *out)
{
    size_t len = (size_t)(end - p);
    out->envelope = false;
    if (len == 0 || whitespace_only(p, end))
        return LW_REJECT_EMPTY;
    if (len > d->max_event_bytes)
        return LW_REJECT_TOO_LARGE;

    if (++d->epoch == 0) { /* wrapped: forget every stamp from 2^32 events ago */
        for (int32_t i = 0; i < d->nnodes; i++)
            d->nodes[i].seen = d->nodes[i].val_epoch = 0;
        d->epoch = 1;
    }
    d->scratch_used = element ? d->env_scratch : 0;

    unsigned char top;
    lw_reject_t r = scan_document(d, p, end, &top);
    if (r != LW_REJECT_NONE)
        return lw_utf8_valid(p, (size_t)(end - p)) ? r : LW_REJECT_INVALID_UTF8;
    if (top != '{')
        return top == 'n' ? LW_REJECT_EMPTY : LW_REJECT_NOT_OBJECT;

    const lw_value_t *batch = element ? NULL : envelope_array(d);
    if (batch) {
        const lw_value_t *sent = present(d, SP_SENT);
        d->env_sent.type = LW_VAL_ABSENT;
        if (sent)
            d->env_sent = *sent;
        for (size_t i = 0; i < d->nslots; i++) {
            const trie_node_t *n = &d->nodes[d->slot_node[i]];
            d->env_values[i].type = LW_VAL_ABSENT;
            if (d->slot_inherit[i] && n->val_epoch == d->epoch)
                d->env_values[i] = n->val;
        }
        d->env_scratch = d->scratch_used;
        d->env_p = (const unsigned char *)batch->s.ptr + 1;
        d->env_end = skip_value((const unsigned char *)batch->s.ptr, end) - 1; /* its ']' */
        d->env_active = true;
        out->envelope = true;
        return LW_REJECT_NONE;
    }

    const lw_value_t *name = special(d, SP_EVENT);
    if (!name || name->type != LW_VAL_STRING || name->s.len == 0)
        return LW_REJECT_MISSING_EVENT;
    if (!user_value(special(d, SP_USER), &out->user) &&
        !user_value(special(d, SP_USER2), &out->user))
        return LW_REJECT_MISSING_USER;
    int64_t t;
    r = event_time(d, element ? &d->env_sent : NULL, &t);
    if (r != LW_REJECT_NONE)
        return r;
    if (t < TIME_MIN_MS)
        return LW_REJECT_TIME_TOO_OLD;
    int64_t limit = now_ms > INT64_MAX - d->max_future_ms ? INT64_MAX : now_ms + d->max_future_ms;
    if (t > limit)
        return LW_REJECT_TIME_IN_FUTURE;

    /* locals: the stores below do not reload them (-2 instructions an event) */
    lw_value_t *values = d->values;
    const uint32_t epoch = d->epoch;
    const size_t nslots = d->nslots;
    for (size_t i = 0; i < nslots; i++) {
        const trie_node_t *n = &d->nodes[d->slot_node[i]];
        if (n->val_epoch == epoch)
            values[i] = n->val;
        else if (element && d->slot_inherit[i])
            values[i] = d->env_values[i];
        else
            values[i].type = LW_VAL_ABSENT;
    }
    out->id.ptr = NULL;
    out->id.len = 0;
    if (!user_value(special(d, SP_ID), &out->id))
        (void)user_value(special(d, SP_ID2), &out->id);
    out->name = name->s;
    out->time_ms = t;
    out->fields = d->values;
    out->nfields = d->nslots;
    return LW_REJECT_NONE;
}

lw_reject_t lw_decoder_decode(lw_decoder_t *d, const char *buf, size_t len, int64_t now_ms,
                              lw_event_t *out)
{
    const unsigned char *p = (const unsigned char *)buf;
    d->frozen = true;
    d->env_active = false;
    d->half ^= 1; /* the previous event's values and scratch stay as they are */
    d->values = d->values_mem[d->half];
    d->scratch = d->scratch_half[d->half];
    return decode_one(d, p, p + len, now_ms, false, out);
}

bool lw_decoder_next(lw_decoder_t *d, int64_t now_ms, lw_event_t *out, lw_reject_t *reason)
{
    if (!d->env_active)
        return false;
    const unsigned char *p = skip_ws(d->env_p, d->env_end);
    if (p < d->env_end && *p == ',')
        p = skip_ws(p + 1, d->env_end);
    if (p >= d->env_end) {
        d->env_active = false;
        return false;
    }
    const unsigned char *e = skip_value(p, d->env_end);
    d->env_p = e;
    *reason = decode_one(d, p, e, now_ms, true, out);
    return true;
}
