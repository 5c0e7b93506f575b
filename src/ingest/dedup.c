/*
 * dedup.c - see dedup.h.
 *
 * Memory: one open-addressed table of slots {key, bucket} (key 0 = empty;
 * a key that hashes to 0 is stored as 1), linear probing, grown by doubling
 * at 2/3 load up to the capacity that holds max_ids at that load.  Slots
 * are never deleted one by one: when buckets close, lw_dedup_committed()
 * rebuilds the table without them (O(capacity), once per closing bucket at
 * most, since it runs only when the oldest remembered bucket closed).  The
 * ids added since the last flush are also kept in a pending list, the part
 * lw_dedup_write() persists.
 *
 * Store layout (all inside the pipeline's transaction):
 *   blob "dedup.index"        the buckets (int64 ms, host order) with stored ids
 *   int  "dedup.<bucket>.n"   how many chunks the bucket's ids span (0..16)
 *   blob "dedup.<bucket>.<i>" chunk i: uint64 keys (host order)
 * Each flush appends one chunk per bucket it touched; a bucket that would
 * pass LW_DEDUP_MAX_CHUNKS has its chunks merged into chunk 0 (the rewrite
 * is amortised over 16 flushes), so a bucket never holds more than 16 rows
 * and a flush writes only the new ids in the common case.  A bucket that
 * closed has its chunks overwritten empty and leaves the index (the rows
 * stay, empty: at most 17 small rows per bucket ever used).  Rejected: one
 * blob per bucket rewritten every flush (a busy daily bucket would rewrite
 * all its ids every second), and a row per id (the store API has no
 * deletion, and a row per event would multiply the store's size).
 */
#include "leadwatch/ingest/dedup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "leadwatch/core/timeutil.h"

#define MIN_CAP 1024
#define INDEX_MAX_BYTES ((size_t)1 << 20) /* 131072 buckets with stored ids */
#define CHUNKS_MAX_BYTES ((size_t)1 << 30)
#define KEY_MAX 64

typedef struct {
    uint64_t key; /* 0: empty */
    int64_t bucket;
} slot_t;

struct lw_dedup {
    size_t max_ids;
    int64_t size_ms;
    slot_t *slots;
    size_t cap; /* power of two */
    size_t cap_max;
    size_t count;
    slot_t *pending; /* added since the last committed write */
    size_t npending;
    size_t cap_pending;
    int64_t untracked;
    int64_t min_bucket; /* oldest bucket in the table, INT64_MAX when empty */
};

uint64_t lw_dedup_key(lw_slice_t user, lw_slice_t id)
{
    uint64_t k = XXH3_64bits_withSeed(id.ptr, id.len, XXH3_64bits(user.ptr, user.len));
    return k ? k : 1;
}

void lw_dedup_destroy(lw_dedup_t *d)
{
    if (!d)
        return;
    free(d->slots);
    free(d->pending);
    free(d);
}

lw_dedup_t *lw_dedup_new(size_t max_ids, int64_t size_ms, char *errstr, size_t errstr_size)
{
    if (max_ids == 0 || max_ids > ((size_t)1 << 40) || size_ms <= 0) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "dedup: bad bound %zu or bucket %lld",
                  max_ids, (long long)size_ms);
        return NULL;
    }
    lw_dedup_t *d = calloc(1, sizeof *d);
    if (!d) {
        lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
        return NULL;
    }
    d->max_ids = max_ids;
    d->size_ms = size_ms;
    d->min_bucket = INT64_MAX;
    d->cap_max = MIN_CAP;
    while (d->cap_max * 2 < max_ids * 3)
        d->cap_max *= 2;
    return d;
}

static size_t slot_of(const slot_t *slots, size_t cap, uint64_t key)
{
    size_t i = (size_t)(key * UINT64_C(0x9E3779B97F4A7C15)) & (cap - 1);
    while (slots[i].key != 0 && slots[i].key != key)
        i = (i + 1) & (cap - 1);
    return i;
}

bool lw_dedup_seen(const lw_dedup_t *d, uint64_t key)
{
    return d->cap > 0 && d->slots[slot_of(d->slots, d->cap, key)].key == key;
}

/* Move every slot with bucket >= keep_from into a table of `cap` slots. */
static bool rehash(lw_dedup_t *d, size_t cap, int64_t keep_from)
{
    slot_t *ns = calloc(cap, sizeof *ns);
    if (!ns)
        return false;
    size_t count = 0;
    int64_t min_bucket = INT64_MAX;
    for (size_t i = 0; i < d->cap; i++) {
        const slot_t *s = &d->slots[i];
        if (s->key == 0 || s->bucket < keep_from)
            continue;
        ns[slot_of(ns, cap, s->key)] = *s;
        count++;
        if (s->bucket < min_bucket)
            min_bucket = s->bucket;
    }
    free(d->slots);
    d->slots = ns;
    d->cap = cap;
    d->count = count;
    d->min_bucket = min_bucket;
    return true;
}

/* Insert into the table only; false when full (bound or memory). */
static bool insert(lw_dedup_t *d, uint64_t key, int64_t bucket)
{
    if (d->count >= d->max_ids)
        return false;
    if ((d->count + 1) * 3 > d->cap * 2) {
        size_t cap = d->cap ? d->cap * 2 : MIN_CAP;
        if (cap > d->cap_max || !rehash(d, cap, INT64_MIN))
            return false;
    }
    size_t i = slot_of(d->slots, d->cap, key);
    if (d->slots[i].key == key)
        return true;
    d->slots[i].key = key;
    d->slots[i].bucket = bucket;
    d->count++;
    if (bucket < d->min_bucket)
        d->min_bucket = bucket;
    return true;
}

bool lw_dedup_add(lw_dedup_t *d, uint64_t key, int64_t time_ms)
{
    int64_t bucket = lw_bucket_start(time_ms, d->size_ms);
    if (d->npending == d->cap_pending) {
        size_t cap = d->cap_pending ? d->cap_pending * 2 : 256;
        slot_t *np = cap <= d->max_ids * 2 ? realloc(d->pending, cap * sizeof *np) : NULL;
        if (!np) {
            d->untracked++;
            return false;
        }
        d->pending = np;
        d->cap_pending = cap;
    }
    if (!insert(d, key, bucket)) {
        d->untracked++;
        return false;
    }
    d->pending[d->npending++] = (slot_t){key, bucket};
    return true;
}

int64_t lw_dedup_untracked(const lw_dedup_t *d)
{
    return d->untracked;
}

size_t lw_dedup_count(const lw_dedup_t *d)
{
    return d->count;
}

/* ------------------------------------------------------------ the store */

static void key_n(char *buf, int64_t bucket)
{
    snprintf(buf, KEY_MAX, "dedup.%lld.n", (long long)bucket);
}

static void key_chunk(char *buf, int64_t bucket, int64_t i)
{
    snprintf(buf, KEY_MAX, "dedup.%lld.%lld", (long long)bucket, (long long)i);
}

/* The stored index: *out (malloc'd with room for 1024 more entries, *n used). */
static lw_err_t read_index(lw_store_t *s, int64_t **out, size_t *n, char *errstr,
                           size_t errstr_size)
{
    lw_buf_t b;
    lw_buf_init(&b, INDEX_MAX_BYTES);
    *n = 0;
    lw_err_t err = lw_store_get_blob(s, "dedup.index", &b, errstr, errstr_size);
    if (err == LW_ERR_NOT_FOUND)
        err = LW_OK;
    if (err == LW_OK && b.len % sizeof(int64_t) != 0)
        err = lw_seterr(errstr, errstr_size, LW_ERR_STORE, "dedup.index: %zu bytes", b.len);
    *out = err == LW_OK ? malloc(b.len + sizeof(int64_t) * 1024) : NULL;
    if (err == LW_OK && !*out)
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    if (err == LW_OK && b.len > 0) {
        memcpy(*out, b.data, b.len);
        *n = b.len / sizeof(int64_t);
    }
    lw_buf_release(&b);
    return err;
}

static lw_err_t chunk_count(lw_store_t *s, int64_t bucket, int64_t *n, char *errstr,
                            size_t errstr_size)
{
    char k[KEY_MAX];
    key_n(k, bucket);
    lw_err_t err = lw_store_get_int(s, k, n, errstr, errstr_size);
    if (err == LW_ERR_NOT_FOUND) {
        *n = 0;
        return LW_OK;
    }
    return err;
}

/* Append chunks [0, n) of `bucket` to b. */
static lw_err_t read_chunks(lw_store_t *s, int64_t bucket, int64_t n, lw_buf_t *b, char *errstr,
                            size_t errstr_size)
{
    char k[KEY_MAX];
    for (int64_t i = 0; i < n; i++) {
        key_chunk(k, bucket, i);
        lw_err_t err = lw_store_get_blob(s, k, b, errstr, errstr_size);
        if (err != LW_OK && err != LW_ERR_NOT_FOUND)
            return err;
    }
    if (b->len % sizeof(uint64_t) != 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_STORE, "dedup.%lld: %zu bytes",
                         (long long)bucket, b->len);
    return LW_OK;
}

lw_err_t lw_dedup_load(lw_dedup_t *d, lw_store_t *s, int64_t open_from_ms, char *errstr,
                       size_t errstr_size)
{
    int64_t *index;
    size_t n;
    lw_err_t err = read_index(s, &index, &n, errstr, errstr_size);
    lw_buf_t b;
    lw_buf_init(&b, CHUNKS_MAX_BYTES);
    for (size_t i = 0; i < n && err == LW_OK; i++) {
        if (index[i] < open_from_ms)
            continue;
        int64_t nchunks;
        lw_buf_rewind(&b, 0);
        err = chunk_count(s, index[i], &nchunks, errstr, errstr_size);
        if (err == LW_OK)
            err = read_chunks(s, index[i], nchunks, &b, errstr, errstr_size);
        for (size_t j = 0; err == LW_OK && j < b.len / sizeof(uint64_t); j++) {
            uint64_t key;
            memcpy(&key, b.data + j * sizeof key, sizeof key);
            if (!insert(d, key, index[i]))
                d->untracked++;
        }
    }
    lw_buf_release(&b);
    free(index);
    return err;
}

static int by_bucket(const void *a, const void *b)
{
    const slot_t *x = a, *y = b;
    return (x->bucket > y->bucket) - (x->bucket < y->bucket);
}

/* Store the keys pend[0..n) of one bucket as a new chunk (or merged). */
static lw_err_t write_bucket(lw_store_t *s, int64_t bucket, const slot_t *pend, size_t n,
                             char *errstr, size_t errstr_size)
{
    char k[KEY_MAX];
    int64_t nchunks;
    lw_err_t err = chunk_count(s, bucket, &nchunks, errstr, errstr_size);
    lw_buf_t b;
    lw_buf_init(&b, CHUNKS_MAX_BYTES);
    int64_t at = nchunks;
    if (err == LW_OK && nchunks >= LW_DEDUP_MAX_CHUNKS) {
        err = read_chunks(s, bucket, nchunks, &b, errstr, errstr_size);
        for (int64_t i = 1; i < nchunks && err == LW_OK; i++) {
            key_chunk(k, bucket, i);
            err = lw_store_set_blob(s, k, "", 0, errstr, errstr_size);
        }
        at = 0;
    }
    for (size_t i = 0; i < n && err == LW_OK; i++)
        err = lw_buf_append(&b, &pend[i].key, sizeof pend[i].key);
    if (err == LW_OK) {
        key_chunk(k, bucket, at);
        err = lw_store_set_blob(s, k, b.data ? b.data : "", b.len, errstr, errstr_size);
    }
    if (err == LW_OK) {
        key_n(k, bucket);
        err = lw_store_set_int(s, k, at + 1, errstr, errstr_size);
    }
    lw_buf_release(&b);
    return err;
}

/* Empty the stored chunks of a closed bucket. */
static lw_err_t drop_bucket(lw_store_t *s, int64_t bucket, char *errstr, size_t errstr_size)
{
    char k[KEY_MAX];
    int64_t nchunks;
    lw_err_t err = chunk_count(s, bucket, &nchunks, errstr, errstr_size);
    for (int64_t i = 0; i < nchunks && err == LW_OK; i++) {
        key_chunk(k, bucket, i);
        err = lw_store_set_blob(s, k, "", 0, errstr, errstr_size);
    }
    if (err == LW_OK && nchunks > 0) {
        key_n(k, bucket);
        err = lw_store_set_int(s, k, 0, errstr, errstr_size);
    }
    return err;
}

lw_err_t lw_dedup_write(lw_dedup_t *d, lw_store_t *s, int64_t open_from_ms, char *errstr,
                        size_t errstr_size)
{
    int64_t *index;
    size_t n;
    lw_err_t err = read_index(s, &index, &n, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    bool dirty = false;
    size_t cap = n + 1024;
    qsort(d->pending, d->npending, sizeof *d->pending, by_bucket);
    for (size_t i = 0; i < d->npending && err == LW_OK;) {
        size_t j = i;
        int64_t bucket = d->pending[i].bucket;
        while (j < d->npending && d->pending[j].bucket == bucket)
            j++;
        if (bucket >= open_from_ms) {
            err = write_bucket(s, bucket, d->pending + i, j - i, errstr, errstr_size);
            bool known = false;
            for (size_t k = 0; k < n && !known; k++)
                known = index[k] == bucket;
            if (err == LW_OK && !known) {
                if (n == cap) {
                    int64_t *ni = realloc(index, (cap *= 2) * sizeof *ni);
                    if (!ni) {
                        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
                        break;
                    }
                    index = ni;
                }
                index[n++] = bucket;
                dirty = true;
            }
        }
        i = j;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n && err == LW_OK; i++) {
        if (index[i] >= open_from_ms) {
            index[kept++] = index[i];
            continue;
        }
        err = drop_bucket(s, index[i], errstr, errstr_size);
        dirty = true;
    }
    if (err == LW_OK && dirty) {
        if (kept * sizeof(int64_t) > INDEX_MAX_BYTES)
            err = lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE,
                            "dedup: more than %zu open buckets", INDEX_MAX_BYTES / sizeof(int64_t));
        else
            err = lw_store_set_blob(s, "dedup.index", kept ? (const void *)index : "",
                                    kept * sizeof(int64_t), errstr, errstr_size);
    }
    free(index);
    return err;
}

void lw_dedup_committed(lw_dedup_t *d, int64_t open_from_ms)
{
    d->npending = 0;
    if (d->min_bucket < open_from_ms && d->cap > 0) {
        /* same capacity: cannot fail for want of room, only of memory; on
         * that the closed ids simply stay until the next close */
        (void)rehash(d, d->cap, open_from_ms);
    }
}

bool lw_dedup_check(const lw_dedup_t *d, char *why, size_t why_size)
{
    size_t used = 0;
    for (size_t i = 0; i < d->cap; i++)
        used += d->slots[i].key != 0;
    if (used != d->count || d->count > d->max_ids || d->npending > d->count ||
        (d->cap > 0 && d->count * 3 > d->cap * 2) || d->cap > d->cap_max)
        return lw_seterr(why, why_size, LW_ERR_INVALID,
                         "dedup: %zu slots used, count %zu, pending %zu, cap %zu/%zu, max %zu",
                         used, d->count, d->npending, d->cap, d->cap_max, d->max_ids) == LW_OK;
    return true;
}
