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

    double ty[RUNS], tl[RUNS];
    uint64_t sink = 0;
    for (int r = 0; r < RUNS; r++) {
        size_t oky, okl;
        ty[r] = run_yajl(&c, &oky);
        tl[r] = run_lw(&c, d, &okl, &sink);
        if (oky != n || okl != n) {
            fprintf(stderr, "not every event parsed: yajl %zu, lw %zu of %zu\n", oky, okl, n);
            return 1;
        }
    }
    qsort(ty, RUNS, sizeof ty[0], cmp_double);
    qsort(tl, RUNS, sizeof tl[0], cmp_double);
    double my = ty[RUNS / 2], ml = tl[RUNS / 2];
    double mb = (double)c.bytes / 1e6;
    printf("events: %zu, bytes: %zu (%.1f B/event), runs: %d (median)\n", n, c.bytes,
           (double)c.bytes / (double)n, RUNS);
    printf("yajl      : %8.2f M events/s  %8.1f MB/s\n", (double)n / my / 1e6, mb / my);
    printf("lw_decoder: %8.2f M events/s  %8.1f MB/s\n", (double)n / ml / 1e6, mb / ml);
    printf("ratio lw/yajl: %.2fx  (checksum %" PRIu64 ")\n", my / ml, sink);

    lw_decoder_destroy(d);
    free(c.off);
    free(c.data);
    return 0;
}
