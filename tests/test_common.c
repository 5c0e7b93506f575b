/*
 * test_common.c - core/common.c: lw_calloc_err returns zeroed memory and
 * leaves errstr alone, and on a failed allocation (a size calloc must
 * refuse) returns NULL with "out of memory"; lw_parse_long's bounds;
 * LW_FREE_ALL frees every listed pointer, NULLs included, the handle after
 * its fields (the ASan stage's leak and use-after-free checks are the test).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "leadwatch/core/common.h"

static void test_calloc_err(void **state)
{
    (void)state;
    char err[64] = "untouched";
    unsigned char *p = lw_calloc_err(16, 4, err, sizeof err);
    assert_non_null(p);
    for (size_t i = 0; i < 64; i++)
        assert_int_equal(p[i], 0);
    assert_string_equal(err, "untouched");
    free(p);
    /* n * size overflows size_t: refused before calloc */
    assert_null(lw_calloc_err(SIZE_MAX / 2, 4, err, sizeof err));
    assert_string_equal(err, "out of memory");
    assert_null(lw_calloc_err(SIZE_MAX / 2, 4, NULL, 0));
}

static void test_parse_long(void **state)
{
    (void)state;
    long v = 0;
    assert_true(lw_parse_long("42", 0, 100, &v));
    assert_int_equal(v, 42);
    assert_false(lw_parse_long("101", 0, 100, &v));
    assert_false(lw_parse_long("4x", 0, 100, &v));
    assert_false(lw_parse_long("", 0, 100, &v));
}

typedef struct {
    char *a, *b, *none;
} owner_t;

static void test_free_all(void **state)
{
    (void)state;
    owner_t *o = calloc(1, sizeof *o);
    assert_non_null(o);
    o->a = malloc(8);
    o->b = malloc(8);
    assert_non_null(o->a);
    assert_non_null(o->b);
    LW_FREE_ALL(o->a, o->none, o->b, o); /* every field read before any free */
    void *const three[] = {malloc(1), NULL, malloc(1)};
    lw_free_each(three, sizeof three / sizeof three[0]);
    lw_free_each(NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calloc_err),
        cmocka_unit_test(test_parse_long),
        cmocka_unit_test(test_free_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
