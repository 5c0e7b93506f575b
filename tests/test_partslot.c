/*
 * test_partslot.c - core/partslot.c: a key is found again, not added twice;
 * the same topic with another partition (and the reverse) is another slot;
 * a new slot is zeroed past its key; a full table returns NULL and does not
 * grow, while its existing keys are still found.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "leadwatch/core/partslot.h"

typedef struct {
    lw_partkey_t key;
    long count;
} slot_t;

static void test_find_or_add(void **state)
{
    (void)state;
    slot_t s[3];
    memset(s, 0xAB, sizeof s); /* garbage: a new slot must come back zeroed */
    size_t n = 0;
    bool added = false;
    slot_t *a = lw_partslot(s, sizeof s[0], &n, 3, "orders", 0, &added);
    assert_ptr_equal(a, &s[0]);
    assert_true(added);
    assert_int_equal(n, 1);
    assert_string_equal(a->key.topic, "orders");
    assert_int_equal(a->key.partition, 0);
    assert_int_equal(a->count, 0);
    a->count = 7;
    assert_ptr_equal(lw_partslot(s, sizeof s[0], &n, 3, "orders", 0, &added), a);
    assert_false(added);
    assert_int_equal(a->count, 7);
    slot_t *b = lw_partslot(s, sizeof s[0], &n, 3, "orders", 1, &added);
    assert_ptr_equal(b, &s[1]);
    assert_true(added);
    slot_t *c = lw_partslot(s, sizeof s[0], &n, 3, "clicks", 0, NULL);
    assert_ptr_equal(c, &s[2]);
    assert_int_equal(n, 3);
    /* full: a new key is refused, the old ones are still found */
    assert_null(lw_partslot(s, sizeof s[0], &n, 3, "clicks", 1, &added));
    assert_false(added);
    assert_int_equal(n, 3);
    assert_ptr_equal(lw_partslot(s, sizeof s[0], &n, 3, "orders", 1, &added), b);
    assert_ptr_equal(lw_partslot(s, sizeof s[0], &n, 3, "clicks", 0, &added), c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_or_add),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
