/*
 * test_event_turns.c - an event from lw_decoder_decode outlives the next
 * decode (event.c alternates two field arrays and scratch buffers; the
 * pipeline's read-ahead relies on it): after the next document is decoded,
 * and after an envelope decoded next has given all its elements, the first
 * event's name, user, id and field values, unescaped strings included,
 * are what they were.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "leadwatch/model/event.h"

/* 2026-03-29T00:00:00Z */
#define NOW INT64_C(1774742400000)

static void assert_slice(lw_slice_t s, const char *want)
{
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.ptr, want, s.len);
}

/* The strings of one event, checked again after later decodes. */
static void check(const lw_event_t *ev, const char *name, const char *user, const char *id,
                  const char *plan, double secs)
{
    assert_slice(ev->name, name);
    assert_slice(ev->user, user);
    assert_slice(ev->id, id);
    assert_int_equal(ev->nfields, 2);
    assert_int_equal(ev->fields[0].type, LW_VAL_STRING);
    assert_slice(ev->fields[0].s, plan);
    assert_int_equal(ev->fields[1].type, LW_VAL_NUMBER);
    assert_true(ev->fields[1].num == secs);
}

static lw_decoder_t *new_decoder(void)
{
    char err[256];
    lw_decoder_opts_t o = {.format = LW_FMT_SEGMENT};
    lw_decoder_t *d = lw_decoder_new(&o, err, sizeof err);
    assert_non_null(d);
    assert_int_equal(lw_decoder_add_path(d, "properties.plan", err, sizeof err), 0);
    assert_int_equal(lw_decoder_add_path(d, "properties.secs", err, sizeof err), 1);
    return d;
}

static const char ev_a[] = "{\"event\":\"pl\\u0061y\",\"userId\":\"\\u0061lice\",\"messageId\":"
                           "\"m\\u0031\",\"timestamp\":\"2026-03-28T02:16:07.507Z\","
                           "\"properties\":{\"plan\":\"pr\\u006f\",\"secs\":12}}";
static const char ev_b[] = "{\"event\":\"st\\u006fp\",\"userId\":\"b\\u006fb\",\"messageId\":"
                           "\"m\\u0032\",\"timestamp\":\"2026-03-28T03:00:00Z\","
                           "\"properties\":{\"plan\":\"fr\\u0065e\",\"secs\":7.5}}";
static const char ev_env[] =
    "{\"batch\":[{\"event\":\"x\\u0031\",\"userId\":\"c\\u0031\",\"messageId\":\"e1\","
    "\"timestamp\":\"2026-03-28T04:00:00Z\",\"properties\":{\"plan\":\"\\u0074eam\",\"secs\":1}},"
    "{\"event\":\"x\\u0032\",\"userId\":\"c\\u0032\",\"messageId\":\"e2\","
    "\"timestamp\":\"2026-03-28T05:00:00Z\",\"properties\":{\"plan\":\"\\u0074ier\",\"secs\":2}}"
    "]}";

static void test_event_outlives_next_decode(void **state)
{
    (void)state;
    lw_decoder_t *d = new_decoder();
    lw_event_t a, b, c;
    assert_int_equal(lw_decoder_decode(d, ev_a, strlen(ev_a), NOW, &a), LW_REJECT_NONE);
    check(&a, "play", "alice", "m1", "pro", 12);
    assert_int_equal(lw_decoder_decode(d, ev_b, strlen(ev_b), NOW, &b), LW_REJECT_NONE);
    check(&b, "stop", "bob", "m2", "free", 7.5);
    check(&a, "play", "alice", "m1", "pro", 12);
    /* a reject in between is a decode too: b survives it */
    assert_int_equal(lw_decoder_decode(d, "{\"x\":", 5, NOW, &c), LW_REJECT_INVALID_JSON);
    check(&b, "stop", "bob", "m2", "free", 7.5);
    lw_decoder_destroy(d);
}

static void test_event_outlives_next_envelope(void **state)
{
    (void)state;
    lw_decoder_t *d = new_decoder();
    lw_event_t a, env, el;
    lw_reject_t r;
    assert_int_equal(lw_decoder_decode(d, ev_a, strlen(ev_a), NOW, &a), LW_REJECT_NONE);
    assert_int_equal(lw_decoder_decode(d, ev_env, strlen(ev_env), NOW, &env), LW_REJECT_NONE);
    assert_true(env.envelope);
    check(&a, "play", "alice", "m1", "pro", 12);
    assert_true(lw_decoder_next(d, NOW, &el, &r));
    assert_int_equal(r, LW_REJECT_NONE);
    check(&el, "x1", "c1", "e1", "team", 1);
    check(&a, "play", "alice", "m1", "pro", 12);
    assert_true(lw_decoder_next(d, NOW, &el, &r));
    assert_int_equal(r, LW_REJECT_NONE);
    check(&el, "x2", "c2", "e2", "tier", 2);
    check(&a, "play", "alice", "m1", "pro", 12);
    assert_false(lw_decoder_next(d, NOW, &el, &r));
    lw_decoder_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_outlives_next_decode),
        cmocka_unit_test(test_event_outlives_next_envelope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
