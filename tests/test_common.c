/*
 * test_common.c - core/common.c: lw_calloc_err returns zeroed memory and
 * leaves errstr alone, and on a failed allocation (a size calloc must
 * refuse) returns NULL with "out of memory"; lw_parse_long's bounds.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calloc_err),
        cmocka_unit_test(test_parse_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
