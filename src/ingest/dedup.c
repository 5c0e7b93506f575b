/*
 * dedup.c - see dedup.h.
 *
 * Memory: one open-addressed table, linear probing, as two parallel arrays
 * in one anonymous mapping (on 2 MiB pages once it is 2 MiB or more):
 * keys[] (uint64, 0 = empty; a key that hashes to 0 is stored as 1) and
 * tags[] (uint32: the slot's bucket as (bucket - base) / size_ms, base = the
 * first bucket added, stored as code_of(tag): order-preserving, 0 for an
 * empty slot; buckets are congruent modulo size_ms, so comparing tags is
 * comparing buckets).  A lookup of a new id, the common case, reads
 * keys[] only: 8 bytes a slot (32 MiB for the default 2,000,000 ids, which
 * fits a 48 MiB L3 where the former 16-byte {key, bucket} slots, 64 MiB, did
 * not), and with 2 MiB pages no page walk (bench/RESULTS.md issue 19,
 * session 9).  A bucket more than 2^31 buckets from base gets no tag and its
 * id is not remembered (untracked): with 1-minute buckets that is 4,000
 * years.  Ids of buckets
 * that closed are dead, not deleted: lookups ignore them (a dead key found
 * again is revived in its new bucket) and the next rehash drops them.  A
 * rehash runs when the occupied slots (live + dead) reach 2/3 of the table;
 * it sizes the table so the live ids fill at most half of it (doubling
 * up to cap_max, the power of two that holds max_ids at 2/3 load), so every
 * id is moved O(1) times (rebuilding at every bucket close, the first
 * version, moved every live id once per closing bucket); the rehash
 * prefetches the new slots of REHASH_BATCH ids at a time.  The cost that
 * remains is one cache miss per lookup in a table larger than L2
 * (bench/RESULTS.md, issue 14: 1.78x the CPU of an ingest without ids; a
 * Bloom filter in front did not help: the streaming input evicts it too):
 * the pipeline hides it by calling lw_dedup_prefetch() for the next event
 * while it counts the current one (pipeline.c, "Reading ahead").  The ids
 * added since the last flush are also kept in a pending list, the part
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
#include <sys/mman.h>
#include <xxhash.h>

#include "leadwatch/core/hll.h"
#include "leadwatch/core/timeutil.h"

#define MIN_CAP 1024
#define INDEX_MAX_BYTES ((size_t)1 << 20) /* 131072 buckets with stored ids */
#define CHUNKS_MAX_BYTES ((size_t)1 << 30)
#define KEY_MAX 64
#define MAX_GROUPS 64               /* buckets one flush groups by counting; more are sorted */
#define HUGE_PAGE ((size_t)2 << 20) /* tables this large are mapped on 2 MiB pages */
#define REHASH_BATCH 16             /* ids placed per round of prefetches in a rehash */
#define TAG_NONE INT32_MIN          /* open_tag before any bucket is known: everything live */

/* An id added since the last flush, as lw_dedup_write stores it. */
typedef struct {
    uint64_t key;
    int64_t bucket;
} slot_t;

/* The table: keys[cap] (0: empty) and, in parallel, tags[cap]: the slot's
 * bucket as (bucket - base) / size_ms; both in one mapping, replaced as a
 * whole by a rehash. */
typedef struct {
    uint64_t *keys;
    uint32_t *tags; /* code_of(tag): 0 (an empty slot's) is below every open tag */
    void *map;
    size_t map_len;
    size_t cap; /* power of two */
} table_t;

struct lw_dedup {
    size_t max_ids;
    int64_t size_ms;
    table_t t; /* cap 0 before the first id */
    size_t cap_max;
    size_t used;       /* occupied slots: live ids and dead ones (bucket < open_from) */
    size_t live_hi;    /* at least the live ids: the last count, plus the ids added since */
    int64_t open_from; /* ids of earlier buckets are dead: ignored, dropped by the next rehash */
    int64_t base;      /* the bucket of tag 0: the first bucket added (INT64_MIN before) */
    int32_t open_tag;  /* the tag of open_from: a slot is live iff its tag >= open_tag */
    bool full;         /* max_ids live ids: no room until a bucket closes */
    slot_t *pending;   /* added since the last committed write */
    size_t npending;
    size_t cap_pending;
    int64_t untracked;
    /* the last lw_dedup_seen miss: lw_dedup_add of the same key inserts there
     * without probing again (one cache miss per new id, not two); any
     * rehash invalidates it */
    uint64_t probe_key;
    size_t probe_slot;
};

uint64_t lw_dedup_key_hashed(uint64_t user_hash, lw_slice_t id)
{
    uint64_t k = XXH3_64bits_withSeed(id.ptr, id.len, user_hash);
    return k ? k : 1;
}

/* lw_hll_hash is XXH3_64bits, the seed this key always had: stored keys are unchanged */
uint64_t lw_dedup_key(lw_slice_t user, lw_slice_t id)
{
    return lw_dedup_key_hashed(lw_hll_hash(user.ptr, user.len), id);
}

static void unmap_table(table_t *t)
{
    if (t->map)
        munmap(t->map, t->map_len);
    *t = (table_t){0};
}

void lw_dedup_destroy(lw_dedup_t *d)
{
    if (!d)
        return;
    unmap_table(&d->t);
    LW_FREE_ALL(d->pending, d);
}

/* The constructor convention (check, allocate, set the fields), as lw_pipeline_new; the
 * initial state in one designated initializer (every other field zero). */
lw_dedup_t *lw_dedup_new(size_t max_ids, int64_t size_ms, char *errstr, size_t errstr_size)
{
    if (max_ids == 0 || max_ids > ((size_t)1 << 40) || size_ms <= 0) {
        lw_seterr(errstr, errstr_size, LW_ERR_INVALID, "dedup: bad bound %zu or bucket %lld",
                  max_ids, (long long)size_ms);
        return NULL;
    }
    lw_dedup_t *d = lw_calloc_err(1, sizeof *d, errstr, errstr_size);
    if (!d)
        return NULL;
    size_t cap_max = MIN_CAP; /* the power of two that holds max_ids at 2/3 load */
    while (cap_max * 2 < max_ids * 3)
        cap_max *= 2;
    /* no bucket known yet: tag_of sets base and open_tag at the first one */
    *d = (lw_dedup_t){.max_ids = max_ids,
                      .size_ms = size_ms,
                      .cap_max = cap_max,
                      .open_from = INT64_MIN,
                      .base = INT64_MIN,
                      .open_tag = TAG_NONE};
    return d;
}

/* floor(a / b) for b > 0 */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

/* open_from moved: the smallest tag whose bucket is >= open_from (buckets are congruent mod
 * size_ms). */
static void set_open_from(lw_dedup_t *d, int64_t open_from_ms)
{
    d->open_from = open_from_ms;
    if (d->base == INT64_MIN || open_from_ms == INT64_MIN)
        return; /* no bucket known yet: tag_of sets it with the base */
    int64_t t =
        -floor_div(d->base - open_from_ms, d->size_ms); /* ceil((open_from - base) / size) */
    d->open_tag = t <= TAG_NONE ? TAG_NONE + 1 : t > INT32_MAX ? INT32_MAX : (int32_t)t;
}

/* The tag of `bucket` in *tag; false when it is outside the int32 range around base. */
static bool tag_of(lw_dedup_t *d, int64_t bucket, int32_t *tag)
{
    if (d->base == INT64_MIN) {
        d->base = bucket;
        set_open_from(d, d->open_from); /* open_tag relative to the new base */
    }
    int64_t t = floor_div(bucket - d->base, d->size_ms);
    if (t <= TAG_NONE || t > INT32_MAX)
        return false;
    *tag = (int32_t)t;
    return true;
}

/*
 * A zeroed table of cap slots: anonymous memory, on 2 MiB pages (THP,
 * MADV_HUGEPAGE) when it is that large, so a probe into a table of tens of
 * MiB costs one cache miss and no page walk (4 KiB pages: a TLB miss too,
 * since the table is 8,000+ pages).
 */
static bool map_table(size_t cap, table_t *t)
{
    size_t bytes = cap * (sizeof *t->keys + sizeof *t->tags);
    size_t len = bytes >= HUGE_PAGE ? bytes + HUGE_PAGE : bytes;
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return false;
    uintptr_t at = (uintptr_t)m;
    if (bytes >= HUGE_PAGE) {
        at = (at + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
#ifdef MADV_HUGEPAGE
        (void)madvise((void *)at, bytes, MADV_HUGEPAGE); /* a hint: 4 KiB pages work too */
#endif
    }
    *t = (table_t){.keys = (uint64_t *)at,
                   .tags = (uint32_t *)(at + cap * sizeof *t->keys),
                   .map = m,
                   .map_len = len,
                   .cap = cap};
    return true;
}

/* A tag as stored in tags[]: order-preserving, and TAG_NONE (never a slot's
 * tag) is 0, the code of an empty slot, so the live slots can be counted
 * from tags[] alone. */
static uint32_t code_of(int32_t tag)
{
    return (uint32_t)tag ^ UINT32_C(0x80000000);
}

/* The slot holding `key` (live or dead) or the empty slot that ends its probe. */
static size_t home_of(uint64_t key, size_t cap)
{
    return (size_t)(key * UINT64_C(0x9E3779B97F4A7C15)) & (cap - 1);
}

static size_t slot_of(const uint64_t *keys, size_t cap, uint64_t key)
{
    size_t i = home_of(key, cap);
    while (keys[i] != 0 && keys[i] != key)
        i = (i + 1) & (cap - 1);
    return i;
}

void lw_dedup_prefetch(const lw_dedup_t *d, uint64_t key)
{
    if (d->t.cap == 0)
        return;
    size_t i = home_of(key, d->t.cap);
    __builtin_prefetch(&d->t.keys[i], 1); /* a new id, the usual case, is written there */
    __builtin_prefetch(&d->t.tags[i], 1);
}

bool lw_dedup_seen(lw_dedup_t *d, uint64_t key)
{
    if (d->t.cap == 0)
        return false;
    size_t i = slot_of(d->t.keys, d->t.cap, key);
    if (d->t.keys[i] == key && d->t.tags[i] >= code_of(d->open_tag))
        return true;
    d->probe_key = key;
    d->probe_slot = i;
    /* the lw_dedup_add that usually follows writes tags[i]: fetch its line
     * now, so the store does not miss (a missing store holds up the store
     * buffer, and the decoder's stores behind it) */
    __builtin_prefetch(&d->t.tags[i], 1);
    return false;
}

/* Move the live slots into a table of `cap` slots (dead ones are dropped). */
static bool rehash(lw_dedup_t *d, size_t cap)
{
    table_t next;
    if (!map_table(cap, &next))
        return false;
    uint64_t *nk = next.keys;
    uint32_t *nt = next.tags, open_code = code_of(d->open_tag);
    /* the old table is read in order, the new one at random: the home
     * slots of REHASH_BATCH live ids are prefetched before they are placed,
     * so their cache misses overlap instead of coming one at a time */
    size_t used = 0, batch[REHASH_BATCH];
    for (size_t i = 0; i < d->t.cap;) {
        size_t n = 0;
        for (; i < d->t.cap && n < REHASH_BATCH; i++) {
            if (d->t.keys[i] == 0 || d->t.tags[i] < open_code)
                continue;
            batch[n++] = i;
            size_t home = home_of(d->t.keys[i], cap);
            __builtin_prefetch(&nk[home], 1);
            __builtin_prefetch(&nt[home], 1);
        }
        for (size_t b = 0; b < n; b++) {
            size_t j = slot_of(nk, cap, d->t.keys[batch[b]]);
            nk[j] = d->t.keys[batch[b]];
            nt[j] = d->t.tags[batch[b]];
        }
        used += n;
    }
    unmap_table(&d->t);
    d->t = next;
    d->used = used;
    d->live_hi = used;
    d->probe_key = 0;
    return true;
}

/* The live ids, from tags[] alone (a third of the table's bytes): open_tag is
 * above TAG_NONE once a bucket closed, so an empty slot (code 0) is not counted. */
static size_t count_live(const lw_dedup_t *d)
{
    if (d->open_tag == TAG_NONE)
        return d->used; /* no bucket closed yet: every occupied slot is live */
    uint32_t open_code = code_of(d->open_tag);
    size_t live = 0;
    for (size_t i = 0; i < d->t.cap; i++)
        live += d->t.tags[i] >= open_code;
    return live;
}

/*
 * The table reached 2/3 load (or live_hi reached max_ids): drop the dead ids
 * and size the table so the live ones fill at most half of it (doubling
 * up to cap_max), so the next rehash is at least a sixth of a table of
 * inserts away.  At cap_max the live ids may fill more than a third; the
 * next rehash then comes sooner but still after >= cap/16 inserts unless
 * the bound itself is reached, which sets `full` until a bucket closes.
 * When only the bound called (the load is under 2/3) and the table would
 * keep its size, the live ids are counted and nothing is moved: the dead
 * ids cost lookups nothing, and a rehash each time the occupied slots
 * reached max_ids (the first version) rebuilt the whole table at every
 * flush once ~max_ids ids were open (bench/RESULTS.md issue 19, session 9,
 * second part: 10 rebuilds of 48 MiB per 2 M events at the default bound).
 */
static bool make_room(lw_dedup_t *d)
{
    if (d->full)
        return false;
    size_t live = count_live(d);
    d->live_hi = live;
    size_t cap = d->t.cap ? d->t.cap : MIN_CAP;
    while ((live + 1) * 2 > cap && cap * 2 <= d->cap_max)
        cap *= 2;
    if (live >= d->max_ids || (live + 1) * 3 > cap * 2 ||
        (cap == d->cap_max && (cap * 2 / 3 - live) < cap / 16)) {
        d->full = true;
        return false;
    }
    if (cap == d->t.cap && (d->used + 1) * 3 <= d->t.cap * 2)
        return true;
    return rehash(d, cap);
}

/* Insert into the table only; false when full (bound or memory) or the bucket has no tag. */
static bool insert(lw_dedup_t *d, uint64_t key, int64_t bucket)
{
    int32_t tag;
    if (!tag_of(d, bucket, &tag))
        return false;
    if (((d->used + 1) * 3 > d->t.cap * 2 || d->live_hi >= d->max_ids) && !make_room(d))
        return false;
    size_t i =
        key == d->probe_key && (d->t.keys[d->probe_slot] == 0 || d->t.keys[d->probe_slot] == key)
            ? d->probe_slot
            : slot_of(d->t.keys, d->t.cap, key);
    d->probe_key = 0;
    if (d->t.keys[i] == key) {
        if (d->t.tags[i] < code_of(d->open_tag)) {
            d->t.tags[i] = code_of(tag); /* dead: alive again in its new bucket */
            d->live_hi++;
        }
        return true;
    }
    d->t.keys[i] = key;
    d->t.tags[i] = code_of(tag);
    d->used++;
    d->live_hi++;
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
    return count_live(d);
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

/* The buckets with stored ids ("dedup.index"), as read and then edited. */
typedef struct {
    int64_t *v;
    size_t n, cap;
} index_t;

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
    if (open_from_ms > d->open_from)
        set_open_from(d, open_from_ms);
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

/* Index of bucket bk among gb[0..*ng), added when new; MAX_GROUPS when full. */
static size_t group_of(int64_t *gb, size_t *ng, int64_t bk)
{
    size_t g = 0;
    while (g < *ng && gb[g] != bk)
        g++;
    if (g == *ng && g < MAX_GROUPS)
        gb[(*ng)++] = bk;
    return g;
}

static int by_bucket(const void *a, const void *b)
{
    const slot_t *x = a, *y = b;
    return (x->bucket > y->bucket) - (x->bucket < y->bucket);
}

/* Store keys[0..n) of one bucket as a new chunk (or merged with its chunks). */
static lw_err_t write_bucket(lw_store_t *s, int64_t bucket, const uint64_t *keys, size_t n,
                             char *errstr, size_t errstr_size)
{
    char k[KEY_MAX];
    int64_t nchunks;
    lw_err_t err = chunk_count(s, bucket, &nchunks, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    int64_t at = nchunks;
    if (nchunks < LW_DEDUP_MAX_CHUNKS) {
        key_chunk(k, bucket, at);
        err = lw_store_set_blob(s, k, n ? (const void *)keys : "", n * sizeof *keys, errstr,
                                errstr_size);
    } else {
        lw_buf_t b;
        lw_buf_init(&b, CHUNKS_MAX_BYTES);
        err = read_chunks(s, bucket, nchunks, &b, errstr, errstr_size);
        for (int64_t i = 1; i < nchunks && err == LW_OK; i++) {
            key_chunk(k, bucket, i);
            err = lw_store_set_blob(s, k, "", 0, errstr, errstr_size);
        }
        if (err == LW_OK)
            err = lw_buf_append(&b, keys, n * sizeof *keys);
        at = 0;
        if (err == LW_OK) {
            key_chunk(k, bucket, at);
            err = lw_store_set_blob(s, k, b.data ? b.data : "", b.len, errstr, errstr_size);
        }
        lw_buf_release(&b);
    }
    if (err == LW_OK) {
        key_n(k, bucket);
        err = lw_store_set_int(s, k, at + 1, errstr, errstr_size);
    }
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

/* Write one bucket's keys (unless the bucket closed) and add the bucket to the index. */
static lw_err_t write_group(lw_store_t *s, int64_t bucket, const uint64_t *keys, size_t cnt,
                            int64_t open_from_ms, index_t *ix, bool *dirty, char *errstr,
                            size_t errstr_size)
{
    if (bucket < open_from_ms)
        return LW_OK;
    lw_err_t err = write_bucket(s, bucket, keys, cnt, errstr, errstr_size);
    for (size_t k = 0; k < ix->n; k++)
        if (ix->v[k] == bucket)
            return err;
    if (err != LW_OK)
        return err;
    if (ix->n == ix->cap) {
        int64_t *nv = realloc(ix->v, ix->cap * 2 * sizeof *nv);
        if (!nv)
            return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
        ix->v = nv;
        ix->cap *= 2;
    }
    ix->v[ix->n++] = bucket;
    *dirty = true;
    return LW_OK;
}

lw_err_t lw_dedup_write(lw_dedup_t *d, lw_store_t *s, int64_t open_from_ms, char *errstr,
                        size_t errstr_size)
{
    int64_t *index;
    size_t n;
    lw_err_t err = read_index(s, &index, &n, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    index_t ix = {index, n, n + 1024}; /* read_index leaves 1024 spare entries */
    bool dirty = false;
    /* group the pending keys by bucket: a counting sort over the few
     * buckets a flush touches (input is roughly in time order, so the
     * last bucket found is the next one's almost always); past MAX_GROUPS
     * distinct buckets, a sort */
    int64_t gb[MAX_GROUPS];
    size_t ng = 0;
    bool sorted = false;
    for (size_t i = 0, g = 0; i < d->npending; i++) {
        if (ng == 0 || gb[g] != d->pending[i].bucket)
            g = group_of(gb, &ng, d->pending[i].bucket);
        if (g == MAX_GROUPS) {
            sorted = true;
            break;
        }
    }
    uint64_t *keys = malloc((d->npending ? d->npending : 1) * sizeof *keys);
    if (!keys) {
        free(ix.v);
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    }
    if (sorted) {
        qsort(d->pending, d->npending, sizeof *d->pending, by_bucket);
        for (size_t i = 0; i < d->npending; i++)
            keys[i] = d->pending[i].key;
        for (size_t i = 0; i < d->npending && err == LW_OK;) {
            size_t j = i;
            while (j < d->npending && d->pending[j].bucket == d->pending[i].bucket)
                j++;
            err = write_group(s, d->pending[i].bucket, keys + i, j - i, open_from_ms, &ix, &dirty,
                              errstr, errstr_size);
            i = j;
        }
    } else {
        size_t cnt[MAX_GROUPS] = {0}, off[MAX_GROUPS + 1], at[MAX_GROUPS];
        for (size_t i = 0, g = 0; i < d->npending; i++) {
            if (gb[g] != d->pending[i].bucket)
                g = group_of(gb, &ng, d->pending[i].bucket);
            cnt[g]++;
        }
        off[0] = 0;
        for (size_t g = 0; g < ng; g++) {
            at[g] = off[g];
            off[g + 1] = off[g] + cnt[g];
        }
        for (size_t i = 0, g = 0; i < d->npending; i++) {
            if (gb[g] != d->pending[i].bucket)
                g = group_of(gb, &ng, d->pending[i].bucket);
            keys[at[g]++] = d->pending[i].key;
        }
        for (size_t g = 0; g < ng && err == LW_OK; g++)
            err = write_group(s, gb[g], keys + off[g], off[g + 1] - off[g], open_from_ms, &ix,
                              &dirty, errstr, errstr_size);
    }
    free(keys);
    index = ix.v;
    n = ix.n;
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
    if (open_from_ms > d->open_from) {
        /* the ids of the closed buckets are dead from now on; their slots
         * are reclaimed by the next rehash (make_room), not here: a rebuild
         * per closing bucket would move every live id once per bucket */
        set_open_from(d, open_from_ms);
        d->full = false;
    }
}

bool lw_dedup_check(const lw_dedup_t *d, bool deep, char *why, size_t why_size)
{
    size_t used = d->used, live = 0;
    if (deep) {
        used = 0;
        for (size_t i = 0; i < d->t.cap; i++) {
            used += d->t.keys[i] != 0;
            live += d->t.keys[i] != 0 && d->t.tags[i] >= code_of(d->open_tag);
        }
    }
    if (used != d->used || live > d->max_ids || live > d->live_hi ||
        (d->t.cap > 0 && d->used * 3 > d->t.cap * 2) || d->t.cap > d->cap_max ||
        (d->t.cap & (d->t.cap - 1)) != 0 || d->npending > d->cap_pending)
        return lw_seterr(why, why_size, LW_ERR_INVALID,
                         "dedup: %zu slots used (counted %zu), %zu live, pending %zu, cap "
                         "%zu/%zu, max %zu",
                         used, d->used, live, d->npending, d->t.cap, d->cap_max,
                         d->max_ids) == LW_OK;
    return true;
}
