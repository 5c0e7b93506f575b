/*
 * bench_decode.c - events/s of yajl vs lw_decoder_decode on the same data.
 *
 * Generates N (default 2,000,000; argv[1] overrides) typical segment events
 * of ~150 bytes in one buffer with a fixed-seed xorshift64* generator, e.g.
 *   {"type":"track","event":"track_played","userId":"u0596853",
 *    "timestamp":"2026-03-28T02:16:07.507Z",
 *    "properties":{"duration_ms":235662,"platform":"android"}}
 * then, 5 runs each, times:
 *   - yajl 2.1: yajl_alloc + yajl_parse + yajl_complete_parse + yajl_free per
 *     event (yajl 2 has no reset call) with no-op callbacks, i.e. bare
 *     parsing without any field extraction;
 *   - lw_decoder_decode (segment format) with 3 paths registered
 *     (properties.duration_ms, properties.platform, type), which validates,
 *     extracts name/user/time, parses the timestamp and fills the slots.
 *   - stage 1 of a simdjson-style decoder alone (SSE2 builds): per 64-byte
 *     block, bitmasks of quotes, backslashes (odd runs escape, as in
 *     simdjson), structural characters, whitespace and control bytes; the
 *     in-string mask by a prefix XOR of the unescaped quotes; every
 *     structural position (brackets, ':' and ',' outside strings, quotes,
 *     the first byte of each number or literal) written to an index.  No
 *     walk over the index, no key matching, no values: a lower bound on a
 *     decoder built that way (issue 19 asked; see src/model/jnum.c).
 * Prints the median events/s and MB/s of each and the ratio.  Every event
 * must decode successfully, or the benchmark fails (so it cannot time a
 * fast reject path by accident).  Clock: CLOCK_MONOTONIC.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_parse.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "leadwatch/model/event.h"

#define RUNS 5

typedef struct {
    char *data;
    size_t *off; /* event i is data[off[i] .. off[i+1]) */
    size_t n;
    size_t bytes;
} corpus_t;

static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bool corpus_make(corpus_t *c, size_t n)
{
    static const char *const events[] = {"track_played", "track_skipped", "playlist_created",
                                         "search", "subscription_started"};
    static const char *const platforms[] = {"android", "ios", "web", "desktop"};
    const size_t max_line = 256;
    c->data = malloc(n * max_line);
    c->off = malloc((n + 1) * sizeof *c->off);
    if (!c->data || !c->off)
        return false;
    size_t pos = 0;
    const int64_t base_s = INT64_C(1774656000); /* 2026-03-28T00:00:00Z */
    for (size_t i = 0; i < n; i++) {
        int64_t t = base_s + (int64_t)(rng() % 86400);
        int h = (int)(t % 86400 / 3600), m = (int)(t % 3600 / 60), s = (int)(t % 60);
        int written =
            snprintf(c->data + pos, max_line,
                     "{\"type\":\"track\",\"event\":\"%s\",\"userId\":\"u%07u\","
                     "\"timestamp\":\"2026-03-28T%02d:%02d:%02d.%03uZ\","
                     "\"properties\":{\"duration_ms\":%u,\"platform\":\"%s\"}}\n",
                     events[rng() % 5], (unsigned)(rng() % 10000000), h, m, s,
                     (unsigned)(rng() % 1000), (unsigned)(rng() % 600000), platforms[rng() % 4]);
        if (written < 0 || (size_t)written >= max_line)
            return false;
        c->off[i] = pos;
        pos += (size_t)written;
    }
    c->off[n] = pos;
    c->n = n;
    c->bytes = pos;
    return true;
}

static int noop_null(void *ctx)
{
    (void)ctx;
    return 1;
}

static int noop_bool(void *ctx, int b)
{
    (void)ctx;
    (void)b;
    return 1;
}

static int noop_number(void *ctx, const char *s, size_t l)
{
    (void)ctx;
    (void)s;
    (void)l;
    return 1;
}

static int noop_string(void *ctx, const unsigned char *s, size_t l)
{
    (void)ctx;
    (void)s;
    (void)l;
    return 1;
}

static const yajl_callbacks noop_callbacks = {
    .yajl_null = noop_null,
    .yajl_boolean = noop_bool,
    .yajl_number = noop_number, /* raw number text: yajl does not convert */
    .yajl_string = noop_string,
    .yajl_start_map = noop_null,
    .yajl_map_key = noop_string,
    .yajl_end_map = noop_null,
    .yajl_start_array = noop_null,
    .yajl_end_array = noop_null,
};

static double run_yajl(const corpus_t *c, size_t *ok)
{
    double t0 = now_s();
    size_t good = 0;
    for (size_t i = 0; i < c->n; i++) {
        yajl_handle h = yajl_alloc(&noop_callbacks, NULL, NULL);
        const unsigned char *p = (const unsigned char *)c->data + c->off[i];
        size_t len = c->off[i + 1] - c->off[i];
        if (yajl_parse(h, p, len) == yajl_status_ok && yajl_complete_parse(h) == yajl_status_ok)
            good++;
        yajl_free(h);
    }
    *ok = good;
    return now_s() - t0;
}

static double run_lw(const corpus_t *c, lw_decoder_t *d, size_t *ok, uint64_t *sink)
{
    const int64_t now_ms = INT64_C(1774742400000); /* 2026-03-29 */
    double t0 = now_s();
    size_t good = 0;
    uint64_t acc = 0;
    for (size_t i = 0; i < c->n; i++) {
        lw_event_t ev;
        if (lw_decoder_decode(d, c->data + c->off[i], c->off[i + 1] - c->off[i], now_ms, &ev) ==
            LW_REJECT_NONE) {
            good++;
            acc += (uint64_t)ev.time_ms + ev.name.len + ev.user.len + (uint64_t)ev.fields[0].num;
        }
    }
    *ok = good;
    *sink += acc;
    return now_s() - t0;
}

#if defined(__SSE2__)
/* The bytes of the 16 at p equal to ch, as bits. */
static uint64_t eq16(__m128i v, char ch)
{
    return (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(ch)));
}

/* simdjson's branchless escape finder: the bytes escaped by a backslash run. */
static uint64_t escaped_bits(uint64_t bs, uint64_t *carry)
{
    const uint64_t even = UINT64_C(0x5555555555555555);
    bs &= ~*carry;
    uint64_t follows = bs << 1 | *carry;
    uint64_t odd_starts = bs & ~even & ~follows;
    uint64_t seq;
    *carry = __builtin_add_overflow(odd_starts, bs, &seq);
    return (even ^ (seq << 1)) & follows;
}

/* Stage 1 over [p, p + len): the structural index into idx; its length, 0 when a control byte is in
 * a string. */
static size_t stage1(const unsigned char *buf, size_t len, uint32_t *idx)
{
    uint64_t in_str = 0, esc_carry = 0, prev_scalar = 0, bad = 0;
    size_t n = 0;
    unsigned char tail[64];
    for (size_t base = 0; base < len; base += 64) {
        const unsigned char *p = buf + base;
        if (len - base < 64) {
            memset(tail, ' ', sizeof tail);
            memcpy(tail, p, len - base);
            p = tail;
        }
        uint64_t q = 0, bs = 0, st = 0, ws = 0, ctl = 0;
        for (int i = 0; i < 4; i++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * i));
            __m128i o = _mm_or_si128(v, _mm_set1_epi8(0x20)); /* '[' -> '{', ']' -> '}' */
            q |= eq16(v, '"') << (16 * i);
            bs |= eq16(v, '\\') << (16 * i);
            st |= (eq16(o, '{') | eq16(o, '}') | eq16(v, ':') | eq16(v, ',')) << (16 * i);
            ws |= (eq16(v, ' ') | eq16(v, '\n') | eq16(v, '\r') | eq16(v, '\t')) << (16 * i);
            ctl |=
                (uint64_t)(unsigned)_mm_movemask_epi8(_mm_and_si128(
                    _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)), _mm_cmpgt_epi8(v, _mm_set1_epi8(-1))))
                << (16 * i);
        }
        if (bs | esc_carry)
            q &= ~escaped_bits(bs, &esc_carry);
        uint64_t s = q;
        for (int k = 1; k < 64; k <<= 1)
            s ^= s << k; /* prefix XOR: inside a string, opening quote included */
        s ^= in_str;
        in_str = (uint64_t)((int64_t)s >> 63);
        bad |= ctl & s;
        uint64_t scalar = ~(ws | st | q) & ~s;
        uint64_t starts = scalar & ~(scalar << 1 | prev_scalar);
        prev_scalar = scalar >> 63;
        for (uint64_t bits = (st & ~s) | q | starts; bits; bits &= bits - 1)
            idx[n++] = (uint32_t)(base + (unsigned)__builtin_ctzll(bits));
    }
    return bad || in_str ? 0 : n;
}

static double run_stage1(const corpus_t *c, uint32_t *idx, size_t *ok, uint64_t *sink)
{
    double t0 = now_s();
    size_t good = 0;
    uint64_t acc = 0;
    for (size_t i = 0; i < c->n; i++) {
        size_t k =
            stage1((const unsigned char *)c->data + c->off[i], c->off[i + 1] - c->off[i], idx);
        good += k > 0;
        acc += k ? idx[k - 1] : 0;
    }
    *ok = good;
    *sink += acc;
    return now_s() - t0;
}
#endif

int main(int argc, char **argv)
{
    size_t n = 2000000;
    if (argc > 1) {
        char *endp;
        unsigned long long v = strtoull(argv[1], &endp, 10);
        if (*endp != '\0' || v == 0) {
            fprintf(stderr, "usage: %s [events]\n", argv[0]);
            return 2;
        }
        n = (size_t)v;
    }
    corpus_t c = {0};
    if (!corpus_make(&c, n)) {
        fprintf(stderr, "corpus generation failed\n");
        return 1;
    }
    char err[256];
    lw_decoder_opts_t opts = {.format = LW_FMT_SEGMENT};
    lw_decoder_t *d = lw_decoder_new(&opts, err, sizeof err);
    if (!d || lw_decoder_add_path(d, "properties.duration_ms", err, sizeof err) < 0 ||
        lw_decoder_add_path(d, "properties.platform", err, sizeof err) < 0 ||
        lw_decoder_add_path(d, "type", err, sizeof err) < 0) {
        fprintf(stderr, "decoder: %s\n", err);
        return 1;
    }

    double ty[RUNS], tl[RUNS], ts[RUNS] = {0};
    uint64_t sink = 0;
#if defined(__SSE2__)
    static uint32_t idx[256]; /* a corpus line is < 256 bytes */
#endif
    for (int r = 0; r < RUNS; r++) {
        size_t oky, okl, oks = n;
        ty[r] = run_yajl(&c, &oky);
        tl[r] = run_lw(&c, d, &okl, &sink);
#if defined(__SSE2__)
        ts[r] = run_stage1(&c, idx, &oks, &sink);
#endif
        if (oky != n || okl != n || oks != n) {
            fprintf(stderr, "not every event parsed: yajl %zu, lw %zu, stage 1 %zu of %zu\n", oky,
                    okl, oks, n);
            return 1;
        }
    }
    qsort(ty, RUNS, sizeof ty[0], cmp_double);
    qsort(tl, RUNS, sizeof tl[0], cmp_double);
    qsort(ts, RUNS, sizeof ts[0], cmp_double);
    double my = ty[RUNS / 2], ml = tl[RUNS / 2];
    double mb = (double)c.bytes / 1e6;
    printf("events: %zu, bytes: %zu (%.1f B/event), runs: %d (median)\n", n, c.bytes,
           (double)c.bytes / (double)n, RUNS);
    printf("yajl      : %8.2f M events/s  %8.1f MB/s\n", (double)n / my / 1e6, mb / my);
    printf("lw_decoder: %8.2f M events/s  %8.1f MB/s\n", (double)n / ml / 1e6, mb / ml);
#if defined(__SSE2__)
    double ms = ts[RUNS / 2];
    printf("stage 1   : %8.2f M events/s  %8.1f MB/s  (simdjson-style index only, SSE2)\n",
           (double)n / ms / 1e6, mb / ms);
#endif
    printf("ratio lw/yajl: %.2fx  (checksum %" PRIu64 ")\n", my / ml, sink);

    lw_decoder_destroy(d);
    free(c.off);
    free(c.data);
    return 0;
}
