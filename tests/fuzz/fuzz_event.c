/*
 * fuzz_event.c - libFuzzer harness for the event decoder.
 *
 * Each input is decoded by three decoders (segment, amplitude, custom),
 * each with a few paths registered, straight from libFuzzer's exact-size
 * buffer (so ASan flags any read past len).  Invariants checked:
 *   - the reason is in range and has a real name;
 *   - decoding is deterministic (a second decode gives the same result);
 *   - on success: name and user are non-empty, time is within
 *     [2000-01-01, now + max_future_ms], every slice is readable and no
 *     longer than the input, numbers are finite, the unescaped name is
 *     valid UTF-8;
 *   - reject precedence: invalid_utf8 iff the input is not valid UTF-8
 *     (checked with an independent decoder-style validator below), unless
 *     an earlier reason (empty, too_large) applies;
 *   - appending "\n" never changes the result.
 * Build: cmake -DLW_FUZZ=ON -DCMAKE_C_COMPILER=clang; run with the seed
 * corpus in tests/fuzz/corpus/event.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "leadwatch/model/event.h"

#define NOW INT64_C(1774742400000)
#define MAX_BYTES 4096
#define MIN_TIME INT64_C(946684800000)

#define NFMT 4 /* segment, amplitude, custom, posthog */
static lw_decoder_t *g_dec[NFMT];

/* Independent UTF-8 check: decode each sequence to a code point and reject
 * overlongs, surrogates and > U+10FFFF by value. */
static int utf8_ok(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

static int all_ws(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
            return 0;
    }
    return 1;
}

static void check_slice(lw_slice_t s, size_t len)
{
    if (s.len > len)
        abort();
    volatile unsigned sum = 0; /* touch every byte so ASan checks the range */
    for (size_t i = 0; i < s.len; i++)
        sum += (unsigned char)s.ptr[i];
    (void)sum;
}

/* The properties of every accepted event (a plain one or an envelope's element). */
static void check_event(const lw_event_t *ev, size_t size)
{
    if (ev->envelope || ev->name.len == 0 || ev->user.len == 0)
        abort();
    if (ev->time_ms < MIN_TIME || ev->time_ms > NOW + 86400000)
        abort();
    check_slice(ev->name, size);
    check_slice(ev->user, size);
    if (!utf8_ok((const unsigned char *)ev->name.ptr, ev->name.len))
        abort();
    if (ev->nfields != 9)
        abort();
    for (size_t i = 0; i < ev->nfields; i++) {
        const lw_value_t *v = &ev->fields[i];
        if (v->type > LW_VAL_COMPOUND)
            abort();
        if (v->type == LW_VAL_NUMBER && (!isfinite(v->num) || v->s.len == 0))
            abort();
        if (v->type == LW_VAL_STRING || v->type == LW_VAL_NUMBER)
            check_slice(v->s, size);
    }
}

static void init(void)
{
    static const char *const paths[] = {"properties.duration_ms",
                                        "properties.platform",
                                        "event_properties.plan",
                                        "a",
                                        "a.b",
                                        "a.b.c",
                                        "x",
                                        "context.items[1].id",
                                        "a[0][2]"};
    lw_decoder_opts_t o = {.max_event_bytes = MAX_BYTES, .max_depth = 16};
    for (int f = 0; f < NFMT; f++) {
        o.format = (lw_format_t)f;
        o.event_path = f == LW_FMT_CUSTOM ? "e" : NULL;
        o.user_path = f == LW_FMT_CUSTOM ? "u.id" : NULL;
        o.time_path = f == LW_FMT_CUSTOM ? "t" : NULL;
        g_dec[f] = lw_decoder_new(&o, NULL, 0);
        if (!g_dec[f])
            abort();
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
            if (lw_decoder_add_path(g_dec[f], paths[i], NULL, 0) != (int)i)
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_dec[0])
        init();
    const char *buf = (const char *)data;
    int valid_utf8 = utf8_ok(data, size);
    int empty = size == 0 || all_ws(data, size);

    for (int f = 0; f < NFMT; f++) {
        lw_decoder_t *d = g_dec[f];
        lw_event_t ev;
        lw_reject_t r = lw_decoder_decode(d, buf, size, NOW, &ev);
        if (r >= LW_REJECT__COUNT || strcmp(lw_reject_name(r), "unknown") == 0)
            abort();
        if (empty && r != LW_REJECT_EMPTY)
            abort();
        if (!empty && size <= MAX_BYTES && (r == LW_REJECT_INVALID_UTF8) == valid_utf8)
            abort();
        bool envelope = r == LW_REJECT_NONE && ev.envelope;
        if (envelope) {
            /* every element decodes to a verdict of its own, never an envelope */
            lw_reject_t er;
            size_t n = 0;
            while (lw_decoder_next(d, NOW, &ev, &er)) {
                if (er >= LW_REJECT__COUNT || er == LW_REJECT_DUPLICATE || n++ > size)
                    abort();
                if (er == LW_REJECT_NONE)
                    check_event(&ev, size);
            }
        } else if (r == LW_REJECT_NONE) {
            check_event(&ev, size);
        }
        lw_event_t ev2;
        if (lw_decoder_decode(d, buf, size, NOW, &ev2) != r)
            abort();
        if (r == LW_REJECT_NONE && ev2.envelope != envelope)
            abort();
        if (r == LW_REJECT_NONE && !envelope &&
            (ev2.time_ms != ev.time_ms || ev2.name.len != ev.name.len))
            abort();

        if (size + 1 <= MAX_BYTES) {
            char *nl = malloc(size + 1);
            if (!nl)
                abort();
            if (size)
                memcpy(nl, data, size);
            nl[size] = '\n';
            if (lw_decoder_decode(d, nl, size + 1, NOW, &ev2) != r)
                abort();
            free(nl);
        }
    }
    return 0;
}
