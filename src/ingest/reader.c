/*
 * reader.c - see reader.h.
 *
 * Uncompressed input goes straight to read(2) (after handing out the magic
 * bytes a stream had to give up), so plain files cost one function call
 * per read of the caller's 1 MiB chunk.  Compressed input: one input
 * buffer of IN_SIZE refilled with read(2); the decompressor writes
 * directly into the caller's buffer.
 *   gzip: zlib inflate with windowBits 15 + 16 (gzip wrapper only).  At
 *         Z_STREAM_END, more input means another member: inflateReset and
 *         go on (gzip -c a b > ab, and pigz/bgzip blocks, are members).
 *   zstd: ZSTD_decompressStream, which moves from frame to frame itself;
 *         its return value is 0 exactly at a frame boundary.
 * Truncation: input ended while a member/frame was open (gzip: not at a
 * stream end; zstd: last return value non-zero).
 */
#include "leadwatch/ingest/reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define IN_SIZE ((size_t)256 * 1024)
#define MAGIC_LEN 4

struct lw_reader {
    int fd;
    lw_codec_t codec;
    unsigned char head[MAGIC_LEN]; /* bytes read to detect the codec, not yet handed out */
    size_t head_len, head_off;
    unsigned char *in; /* compressed input buffer */
    size_t in_len, in_off;
    bool in_eof;
    bool in_frame; /* inside a gzip member / zstd frame */
    bool truncated;
    bool z_init;
    z_stream z;
    ZSTD_DStream *zs;
};

const char *lw_codec_name(lw_codec_t c)
{
    switch (c) {
    case LW_CODEC_NONE: return "none";
    case LW_CODEC_GZIP: return "gzip";
    case LW_CODEC_ZSTD: return "zstd";
    }
    return "unknown";
}

void lw_reader_close(lw_reader_t *r)
{
    if (!r)
        return;
    if (r->z_init)
        inflateEnd(&r->z);
    ZSTD_freeDStream(r->zs);
    free(r->in);
    free(r);
}

/* Fill up to n bytes at off with pread (seekable) or read; returns the count or -1. */
static ssize_t read_some(int fd, bool seekable, void *buf, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = seekable ? pread(fd, (char *)buf + got, n - got, off + (off_t)got)
                             : read(fd, (char *)buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

lw_err_t lw_reader_open(int fd, bool seekable, lw_reader_t **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    lw_reader_t *r = calloc(1, sizeof *r);
    if (!r)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    r->fd = fd;
    ssize_t n = read_some(fd, seekable, r->head, MAGIC_LEN, 0);
    if (n < 0) {
        lw_reader_close(r);
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "read: %s", strerror(errno));
    }
    r->head_len = seekable ? 0 : (size_t)n; /* a file re-reads them at its offset */
    const unsigned char *m = r->head;
    if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
        r->codec = LW_CODEC_GZIP;
    else if (n >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
        r->codec = LW_CODEC_ZSTD;
    else if (n >= 4 && m[0] == 'P' && m[1] == 'K' && m[2] == 3 && m[3] == 4) {
        lw_reader_close(r);
        return lw_seterr(errstr, errstr_size, LW_ERR_INVALID,
                         "a zip archive: unzip it first (gzip or zstd members such as "
                         "Amplitude's *.json.gz are then read directly)");
    }
    if (r->codec == LW_CODEC_NONE) {
        *out = r;
        return LW_OK;
    }
    r->in = malloc(IN_SIZE);
    if (!r->in) {
        lw_reader_close(r);
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    }
    /* the magic bytes are compressed input: start the buffer with them */
    memcpy(r->in, r->head, r->head_len);
    r->in_len = r->head_len;
    r->head_len = 0;
    if (r->codec == LW_CODEC_GZIP) {
        if (inflateInit2(&r->z, 15 + 16) != Z_OK) {
            lw_reader_close(r);
            return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "zlib: cannot initialise");
        }
        r->z_init = true;
    } else {
        r->zs = ZSTD_createDStream();
        if (!r->zs || ZSTD_isError(ZSTD_initDStream(r->zs))) {
            lw_reader_close(r);
            return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "zstd: cannot initialise");
        }
    }
    *out = r;
    return LW_OK;
}

lw_codec_t lw_reader_codec(const lw_reader_t *r)
{
    return r->codec;
}

bool lw_reader_truncated(const lw_reader_t *r)
{
    return r->truncated;
}

/* Refill the input buffer when it is used up; false at the input's end. */
static bool refill(lw_reader_t *r, char *errstr, size_t errstr_size, bool *failed)
{
    if (r->in_off < r->in_len)
        return true;
    if (r->in_eof)
        return false;
    ssize_t k;
    do
        k = read(r->fd, r->in, IN_SIZE);
    while (k < 0 && errno == EINTR);
    if (k < 0) {
        lw_seterr(errstr, errstr_size, LW_ERR_IO, "read: %s", strerror(errno));
        *failed = true;
        return false;
    }
    r->in_off = 0;
    r->in_len = (size_t)k;
    if (k == 0)
        r->in_eof = true;
    return k > 0;
}

static ssize_t read_gzip(lw_reader_t *r, void *buf, size_t n, char *errstr, size_t errstr_size)
{
    bool failed = false;
    r->z.next_out = buf;
    r->z.avail_out = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
    while (r->z.avail_out > 0) {
        bool more = refill(r, errstr, errstr_size, &failed);
        if (failed)
            return -1;
        if (!more && !r->in_frame)
            break;
        if (!r->in_frame) {
            if (inflateReset(&r->z) != Z_OK) {
                lw_seterr(errstr, errstr_size, LW_ERR_IO, "gzip: cannot reset");
                return -1;
            }
            r->in_frame = true;
        }
        /* with no input left, inflate may still hand out output it holds */
        r->z.next_in = r->in + r->in_off;
        r->z.avail_in = (uInt)(r->in_len - r->in_off);
        uInt before = r->z.avail_out;
        int zr = inflate(&r->z, Z_NO_FLUSH);
        r->in_off = r->in_len - r->z.avail_in;
        if (zr == Z_STREAM_END)
            r->in_frame = false; /* another member may follow */
        else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            lw_seterr(errstr, errstr_size, LW_ERR_IO, "gzip: corrupt data (%s)",
                      r->z.msg ? r->z.msg : "inflate failed");
            return -1;
        }
        if (!more && r->z.avail_out == before)
            break; /* input ended inside a member */
    }
    size_t got = n - r->z.avail_out;
    if (got == 0 && r->in_frame)
        r->truncated = true;
    return (ssize_t)got;
}

static ssize_t read_zstd(lw_reader_t *r, void *buf, size_t n, char *errstr, size_t errstr_size)
{
    bool failed = false;
    ZSTD_outBuffer out = {buf, n, 0};
    while (out.pos < out.size) {
        bool more = refill(r, errstr, errstr_size, &failed);
        if (!more && (failed || !r->in_frame))
            break;
        ZSTD_inBuffer in = {r->in, r->in_len, r->in_off};
        size_t before = out.pos;
        size_t zr = ZSTD_decompressStream(r->zs, &out, &in);
        r->in_off = in.pos;
        if (ZSTD_isError(zr)) {
            lw_seterr(errstr, errstr_size, LW_ERR_IO, "zstd: corrupt data (%s)",
                      ZSTD_getErrorName(zr));
            return -1;
        }
        r->in_frame = zr != 0;
        if (!more && out.pos == before)
            break; /* input ended; nothing more buffered inside zstd */
    }
    if (failed)
        return -1;
    if (out.pos == 0 && r->in_frame)
        r->truncated = true;
    return (ssize_t)out.pos;
}

ssize_t lw_reader_read(lw_reader_t *r, void *buf, size_t n, char *errstr, size_t errstr_size)
{
    if (n == 0)
        return 0;
    if (r->codec == LW_CODEC_GZIP)
        return read_gzip(r, buf, n, errstr, errstr_size);
    if (r->codec == LW_CODEC_ZSTD)
        return read_zstd(r, buf, n, errstr, errstr_size);
    if (r->head_off < r->head_len) {
        size_t k = r->head_len - r->head_off;
        if (k > n)
            k = n;
        memcpy(buf, r->head + r->head_off, k);
        r->head_off += k;
        return (ssize_t)k;
    }
    ssize_t k;
    do
        k = read(r->fd, buf, n);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        lw_seterr(errstr, errstr_size, LW_ERR_IO, "read: %s", strerror(errno));
    return k;
}

lw_err_t lw_reader_skip(lw_reader_t *r, int64_t n, char *errstr, size_t errstr_size)
{
    char buf[64 * 1024];
    while (n > 0) {
        ssize_t k = lw_reader_read(r, buf, n < (int64_t)sizeof buf ? (size_t)n : sizeof buf, errstr,
                                   errstr_size);
        if (k < 0)
            return LW_ERR_IO;
        if (k == 0)
            return lw_seterr(errstr, errstr_size, LW_ERR_IO,
                             "ends %lld bytes before the stored position", (long long)n);
        n -= k;
    }
    return LW_OK;
}
