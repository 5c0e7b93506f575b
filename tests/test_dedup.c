/*
 * test_dedup.c - the id set of dedup.c: membership, the max_ids bound and
 * what happens past it, the store round trip (write in a transaction, load
 * into a new set), closed buckets leaving memory and the store, chunk
 * merging past LW_DEDUP_MAX_CHUNKS, a rolled-back write written again, and
 * two writers appending instead of overwriting.  lw_dedup_check after
 * every step.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "leadwatch/core/hll.h"
#include "leadwatch/core/timeutil.h"
#include "leadwatch/ingest/dedup.h"
#include "testutil.h"

#define DAY LW_MS_PER_DAY
#define T0 INT64_C(1767225600000) /* 2026-01-01 */

static lw_slice_t sl(const char *s)
{
    return (lw_slice_t){.ptr = s, .len = strlen(s)};
}

static void checked(const lw_dedup_t *d)
{
    char why[256] = "";
    if (!lw_dedup_check(d, true, why, sizeof why))
        fail_msg("dedup invariant: %s", why);
}

static lw_dedup_t *make(size_t max_ids)
{
    char err[256];
    lw_dedup_t *d = lw_dedup_new(max_ids, DAY, err, sizeof err);
    assert_non_null(d);
    return d;
}

static uint64_t key(int i)
{
    char id[32];
    snprintf(id, sizeof id, "msg-%d", i);
    return lw_dedup_key(sl("user"), sl(id));
}

static void test_key_depends_on_user_and_id(void **state)
{
    (void)state;
    lw_slice_t u1 = sl("u1"), u2 = sl("u2");
    lw_slice_t a = sl("a"), b = sl("b");
    assert_true(lw_dedup_key(u1, a) == lw_dedup_key(u1, a));
    assert_true(lw_dedup_key(u1, a) != lw_dedup_key(u2, a));
    assert_true(lw_dedup_key(u1, a) != lw_dedup_key(u1, b));
    assert_true(lw_dedup_key(u1, a) != 0);
    /* the key from the user's HLL hash (the pipeline shares it) is the same key */
    assert_true(lw_dedup_key_hashed(lw_hll_hash("u1", 2), a) == lw_dedup_key(u1, a));
    assert_true(lw_dedup_key_hashed(lw_hll_hash("u2", 2), b) == lw_dedup_key(u2, b));
    /* and the form stores written before hold: XXH3 of the id seeded with XXH3 of the user */
    assert_true(lw_dedup_key(u1, a) == XXH3_64bits_withSeed("a", 1, XXH3_64bits("u1", 2)));
}

static void test_membership_and_bound(void **state)
{
    (void)state;
    lw_dedup_t *d = make(5000);
    for (int i = 0; i < 5000; i++) {
        assert_false(lw_dedup_seen(d, key(i)));
        assert_true(lw_dedup_add(d, key(i), T0 + i));
    }
    checked(d);
    for (int i = 0; i < 5000; i++)
        assert_true(lw_dedup_seen(d, key(i)));
    /* past the bound: not remembered, counted */
    assert_false(lw_dedup_add(d, key(5000), T0));
    assert_false(lw_dedup_add(d, key(5001), T0));
    assert_false(lw_dedup_seen(d, key(5000)));
    assert_int_equal(lw_dedup_untracked(d), 2);
    assert_int_equal(lw_dedup_count(d), 5000);
    checked(d);
    /* closing the bucket frees room */
    lw_dedup_committed(d, T0 + DAY);
    assert_int_equal(lw_dedup_count(d), 0);
    assert_true(lw_dedup_add(d, key(5000), T0 + DAY));
    checked(d);
    lw_dedup_destroy(d);
}

/* The bound counts live ids only: dead ids of a closed bucket (still in
 * their slots until a rehash) leave room, revived ones take it again, and
 * the id past max_ids live is the one not remembered. */
static void test_bound_with_dead_ids(void **state)
{
    (void)state;
    lw_dedup_t *d = make(1000);
    for (int i = 0; i < 600; i++)
        assert_true(lw_dedup_add(d, key(i), T0));
    lw_dedup_committed(d, T0 + DAY);  /* 600 dead, 0 live */
    for (int i = 1000; i < 1400; i++) /* occupied slots reach max_ids here */
        assert_true(lw_dedup_add(d, key(i), T0 + DAY));
    checked(d);
    for (int i = 0; i < 300; i++) /* dead ids back: 700 live */
        assert_true(lw_dedup_add(d, key(i), T0 + DAY));
    assert_int_equal(lw_dedup_count(d), 700);
    for (int i = 2000; i < 2300; i++)
        assert_true(lw_dedup_add(d, key(i), T0 + DAY));
    checked(d);
    assert_false(lw_dedup_add(d, key(3000), T0 + DAY));
    assert_false(lw_dedup_add(d, key(300), T0 + DAY)); /* a dead id is not revived past it */
    assert_int_equal(lw_dedup_untracked(d), 2);
    assert_int_equal(lw_dedup_count(d), 1000);
    for (int i = 0; i < 300; i++)
        assert_true(lw_dedup_seen(d, key(i)));
    for (int i = 300; i < 600; i++)
        assert_false(lw_dedup_seen(d, key(i)));
    for (int i = 1000; i < 1400; i++)
        assert_true(lw_dedup_seen(d, key(i)));
    for (int i = 2000; i < 2300; i++)
        assert_true(lw_dedup_seen(d, key(i)));
    assert_false(lw_dedup_seen(d, key(3000)));
    checked(d);
    lw_dedup_destroy(d);
}

/* Buckets are kept as tags relative to the first one: buckets before it
 * (a late event), a window that closes before any id arrives, ids of
 * closed buckets seen again, and a bucket beyond the int32 tag range
 * (1 ms buckets, 2^32 ms away: not remembered, counted as untracked). */
static void test_bucket_tags(void **state)
{
    (void)state;
    char err[256];
    lw_dedup_t *d = make(1000);
    lw_dedup_committed(d, T0 + 2 * DAY); /* the window opens at day 2, before any id */
    assert_true(lw_dedup_add(d, key(1), T0 + 5 * DAY));
    assert_true(lw_dedup_add(d, key(2), T0 + 3 * DAY)); /* before the first bucket added */
    assert_true(lw_dedup_add(d, key(3), T0 + 2 * DAY));
    assert_true(lw_dedup_seen(d, key(1)) && lw_dedup_seen(d, key(2)) && lw_dedup_seen(d, key(3)));
    lw_dedup_committed(d, T0 + 3 * DAY); /* day 2 closes: key 3 dead, 2 and 1 live */
    assert_false(lw_dedup_seen(d, key(3)));
    assert_true(lw_dedup_seen(d, key(2)) && lw_dedup_seen(d, key(1)));
    assert_int_equal(lw_dedup_count(d), 2);
    assert_true(lw_dedup_add(d, key(3), T0 + 4 * DAY)); /* dead id back in an open bucket */
    assert_true(lw_dedup_seen(d, key(3)));
    lw_dedup_committed(d, T0 + 5 * DAY);
    assert_false(lw_dedup_seen(d, key(2)) || lw_dedup_seen(d, key(3)));
    assert_true(lw_dedup_seen(d, key(1)));
    checked(d);
    lw_dedup_destroy(d);

    d = lw_dedup_new(1000, 1, err, sizeof err);
    assert_non_null(d);
    assert_true(lw_dedup_add(d, key(1), T0));
    assert_true(lw_dedup_add(d, key(2), T0 + INT32_MAX));
    assert_false(lw_dedup_add(d, key(3), T0 + ((int64_t)1 << 32)));
    assert_int_equal(lw_dedup_untracked(d), 1);
    assert_false(lw_dedup_seen(d, key(3)));
    assert_true(lw_dedup_seen(d, key(2)));
    checked(d);
    lw_dedup_destroy(d);
}

typedef struct {
    char *dir;
    char *db;
    lw_store_t *s;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    char err[256];
    fx->dir = tu_tempdir("dedup");
    fx->db = tu_path(fx->dir, "t.db");
    assert_int_equal(lw_store_open(fx->db, 0, &fx->s, err, sizeof err), LW_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    lw_store_close(fx->s);
    tu_rm_rf(fx->dir);
    free(fx->dir);
    free(fx->db);
    free(fx);
    return 0;
}

static void write_commit(fx_t *fx, lw_dedup_t *d, int64_t open_from)
{
    char err[256];
    assert_int_equal(lw_store_begin(fx->s, err, sizeof err), LW_OK);
    if (lw_dedup_write(d, fx->s, open_from, err, sizeof err) != LW_OK)
        fail_msg("write: %s", err);
    assert_int_equal(lw_store_commit(fx->s, err, sizeof err), LW_OK);
    lw_dedup_committed(d, open_from);
    checked(d);
}

static lw_dedup_t *reload(fx_t *fx, int64_t open_from)
{
    char err[256];
    lw_dedup_t *d = make(100000);
    if (lw_dedup_load(d, fx->s, open_from, err, sizeof err) != LW_OK)
        fail_msg("load: %s", err);
    checked(d);
    return d;
}

static void test_store_round_trip_and_closing(void **state)
{
    fx_t *fx = *state;
    char err[256];
    lw_dedup_t *d = make(100000);
    /* 3 days, 40 flushes: past LW_DEDUP_MAX_CHUNKS, so chunks get merged */
    int n = 0;
    for (int f = 0; f < 40; f++) {
        for (int i = 0; i < 30; i++, n++)
            lw_dedup_add(d, key(n), T0 + (n % 3) * DAY + 1000);
        write_commit(fx, d, T0);
    }
    int64_t chunks;
    assert_int_equal(lw_store_get_int(fx->s, "dedup.1767225600000.n", &chunks, err, sizeof err),
                     LW_OK);
    assert_true(chunks >= 1 && chunks <= LW_DEDUP_MAX_CHUNKS);

    lw_dedup_t *r = reload(fx, T0);
    assert_int_equal(lw_dedup_count(r), n);
    for (int i = 0; i < n; i++)
        assert_true(lw_dedup_seen(r, key(i)));
    lw_dedup_destroy(r);

    /* a rolled-back write is written again by the next one */
    lw_dedup_add(d, key(n), T0 + 2 * DAY);
    assert_int_equal(lw_store_begin(fx->s, err, sizeof err), LW_OK);
    assert_int_equal(lw_dedup_write(d, fx->s, T0, err, sizeof err), LW_OK);
    lw_store_rollback(fx->s);
    r = reload(fx, T0);
    assert_false(lw_dedup_seen(r, key(n)));
    lw_dedup_destroy(r);
    write_commit(fx, d, T0);
    r = reload(fx, T0);
    assert_true(lw_dedup_seen(r, key(n)));
    lw_dedup_destroy(r);

    /* day 0 closes: gone from memory and from the store */
    write_commit(fx, d, T0 + DAY);
    assert_false(lw_dedup_seen(d, key(0)));
    assert_true(lw_dedup_seen(d, key(1)));
    r = reload(fx, INT64_MIN);
    assert_false(lw_dedup_seen(r, key(0)));
    assert_true(lw_dedup_seen(r, key(1)));
    assert_true(lw_dedup_seen(r, key(2)));
    lw_dedup_destroy(r);
    lw_dedup_destroy(d);
}

/* Two writers on one store: the second appends a chunk, it does not overwrite. */
static void test_two_writers_append(void **state)
{
    fx_t *fx = *state;
    lw_dedup_t *a = make(1000), *b = make(1000);
    lw_dedup_add(a, key(1), T0);
    lw_dedup_add(b, key(2), T0);
    write_commit(fx, a, T0);
    write_commit(fx, b, T0);
    lw_dedup_t *r = reload(fx, T0);
    assert_true(lw_dedup_seen(r, key(1)));
    assert_true(lw_dedup_seen(r, key(2)));
    lw_dedup_destroy(r);
    lw_dedup_destroy(a);
    lw_dedup_destroy(b);
}

/* Loading more ids than the bound: the excess is counted, not remembered. */
static void test_load_past_bound(void **state)
{
    fx_t *fx = *state;
    char err[256];
    lw_dedup_t *d = make(3000);
    for (int i = 0; i < 3000; i++)
        lw_dedup_add(d, key(i), T0);
    write_commit(fx, d, T0);
    lw_dedup_t *small = make(1000);
    assert_int_equal(lw_dedup_load(small, fx->s, T0, err, sizeof err), LW_OK);
    assert_int_equal(lw_dedup_count(small), 1000);
    assert_int_equal(lw_dedup_untracked(small), 2000);
    checked(small);
    lw_dedup_destroy(small);
    lw_dedup_destroy(d);
}

/* One flush touching more buckets than the counting sort groups (the sort
 * path), out of order, and more index entries than the spare room. */
static void test_many_buckets_in_one_flush(void **state)
{
    fx_t *fx = *state;
    lw_dedup_t *d = make(100000);
    for (int i = 0; i < 3000; i++) /* 1500 buckets, each twice, in a scrambled order */
        lw_dedup_add(d, key(i), T0 + (int64_t)((i * 7919) % 1500) * DAY + 5);
    write_commit(fx, d, T0);
    lw_dedup_t *r = reload(fx, T0);
    assert_int_equal(lw_dedup_count(r), 3000);
    for (int i = 0; i < 3000; i++)
        assert_true(lw_dedup_seen(r, key(i)));
    lw_dedup_destroy(r);
    /* a few buckets, interleaved: the counting path */
    for (int i = 3000; i < 3100; i++)
        lw_dedup_add(d, key(i), T0 + (i % 3) * DAY);
    write_commit(fx, d, T0);
    r = reload(fx, T0 + 2 * DAY);
    assert_false(lw_dedup_seen(r, key(3000))); /* day 0: before open_from */
    assert_true(lw_dedup_seen(r, key(3002)));
    assert_true(lw_dedup_seen(r, key(2)));
    lw_dedup_destroy(r);
    lw_dedup_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_depends_on_user_and_id),
        cmocka_unit_test(test_membership_and_bound),
        cmocka_unit_test(test_bound_with_dead_ids),
        cmocka_unit_test(test_bucket_tags),
        cmocka_unit_test_setup_teardown(test_store_round_trip_and_closing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_writers_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_past_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_buckets_in_one_flush, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
