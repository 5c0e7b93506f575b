/*
 * test_reader.c - reader.c: the codec chosen by magic bytes (gzip, zstd,
 * zip refused, anything else as it is) for files and for pipes (where the
 * magic bytes must be handed back), concatenated gzip members and zstd
 * frames read in turn, truncation reported, corrupt data an error, skip.
 * Reads use odd buffer sizes so members/frames end mid-buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "leadwatch/ingest/reader.h"
#include "testutil.h"

/* n lines of JSON-ish text, deterministic. */
static char *text(size_t lines, size_t *len)
{
    char *t = malloc(lines * 64 + 1);
    assert_non_null(t);
    size_t n = 0;
    for (size_t i = 0; i < lines; i++)
        n += (size_t)snprintf(t + n, 64, "{\"event\":\"e%zu\",\"userId\":\"u%zu\"}\n", i % 7,
                              i * 2654435761u % 100003);
    *len = n;
    return t;
}

/* gzip of src as one member, appended to out. */
static size_t gz(const char *src, size_t len, unsigned char *out)
{
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)(uintptr_t)src;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)(len + 1024);
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = z.total_out;
    deflateEnd(&z);
    return n;
}

static size_t zst(const char *src, size_t len, unsigned char *out)
{
    size_t n = ZSTD_compress(out, ZSTD_compressBound(len), src, len, 3);
    assert_false(ZSTD_isError(n));
    return n;
}

/* Write data to a file (or, pipe = true, through a pipe) and read it all back. */
static char *read_back(const char *dir, const void *data, size_t len, bool pipe_it, size_t *out_len,
                       lw_codec_t *codec, bool *truncated, lw_err_t *open_err)
{
    char err[256];
    int fd;
    pid_t pid = -1;
    if (pipe_it) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid = fork();
        if (pid == 0) {
            close(p[0]);
            size_t off = 0;
            while (off < len) {
                ssize_t k = write(p[1], (const char *)data + off, len - off);
                if (k <= 0)
                    _exit(1);
                off += (size_t)k;
            }
            _exit(0);
        }
        close(p[1]);
        fd = p[0];
    } else {
        char *path = tu_path(dir, "in.bin");
        assert_int_equal(tu_write_file(path, (const char *)data, len), 0);
        fd = open(path, O_RDONLY);
        free(path);
    }
    assert_true(fd >= 0);
    lw_reader_t *r;
    *open_err = lw_reader_open(fd, !pipe_it, &r, err, sizeof err);
    char *buf = NULL;
    size_t n = 0;
    if (*open_err == LW_OK) {
        *codec = lw_reader_codec(r);
        buf = malloc(len * 20 + 1024);
        for (;;) {
            ssize_t k = lw_reader_read(r, buf + n, 777, err, sizeof err);
            if (k < 0)
                fail_msg("read: %s", err);
            if (k == 0)
                break;
            n += (size_t)k;
        }
        *truncated = lw_reader_truncated(r);
        lw_reader_close(r);
    }
    close(fd);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    *out_len = n;
    return buf;
}

static void roundtrip(const char *dir, const void *data, size_t len, const char *want,
                      size_t want_len, lw_codec_t want_codec, bool want_truncated)
{
    for (int pipe_it = 0; pipe_it < 2; pipe_it++) {
        size_t n;
        lw_codec_t c = LW_CODEC_NONE;
        bool trunc = false;
        lw_err_t e;
        char *got = read_back(dir, data, len, pipe_it, &n, &c, &trunc, &e);
        assert_int_equal(e, LW_OK);
        assert_int_equal(c, want_codec);
        assert_int_equal(n, want_len);
        assert_memory_equal(got, want, want_len);
        assert_int_equal(trunc, want_truncated);
        free(got);
    }
}

static void test_codecs(void **state)
{
    (void)state;
    char *dir = tu_tempdir("reader");
    size_t la, lb;
    char *a = text(3000, &la), *b = text(500, &lb);
    char *ab = malloc(la + lb);
    memcpy(ab, a, la);
    memcpy(ab + la, b, lb);
    unsigned char *c = malloc((la + lb) * 2 + 4096);

    roundtrip(dir, a, la, a, la, LW_CODEC_NONE, false);
    roundtrip(dir, "{}", 2, "{}", 2, LW_CODEC_NONE, false); /* shorter than a magic */
    roundtrip(dir, "", 0, "", 0, LW_CODEC_NONE, false);

    /* gzip: two members in one file */
    size_t n = gz(a, la, c);
    n += gz(b, lb, c + n);
    roundtrip(dir, c, n, ab, la + lb, LW_CODEC_GZIP, false);
    /* cut short: what it holds so far, then truncated */
    size_t got_len;
    lw_codec_t codec;
    bool trunc;
    lw_err_t e;
    char *got = read_back(dir, c, n / 3, false, &got_len, &codec, &trunc, &e);
    assert_true(trunc);
    assert_true(got_len < la);
    assert_memory_equal(got, a, got_len);
    free(got);

    /* zstd: two frames */
    n = zst(a, la, c);
    n += zst(b, lb, c + n);
    roundtrip(dir, c, n, ab, la + lb, LW_CODEC_ZSTD, false);
    got = read_back(dir, c, n / 2, true, &got_len, &codec, &trunc, &e);
    assert_true(trunc);
    assert_memory_equal(got, a, got_len < la ? got_len : la);
    free(got);

    /* zip is refused */
    got = read_back(dir, "PK\003\004rest", 8, false, &got_len, &codec, &trunc, &e);
    assert_int_equal(e, LW_ERR_INVALID);
    assert_null(got);

    free(c);
    free(ab);
    free(a);
    free(b);
    tu_rm_rf(dir);
    free(dir);
}

static void test_corrupt_and_skip(void **state)
{
    (void)state;
    char *dir = tu_tempdir("reader");
    char *path = tu_path(dir, "x.gz");
    size_t la;
    char *a = text(2000, &la);
    unsigned char *c = malloc(la + 4096);
    size_t n = gz(a, la, c);
    c[n / 2] ^= 0x55; /* a flipped byte in the deflate data */
    assert_int_equal(tu_write_file(path, (const char *)c, n), 0);
    char err[256];
    int fd = open(path, O_RDONLY);
    lw_reader_t *r;
    assert_int_equal(lw_reader_open(fd, true, &r, err, sizeof err), LW_OK);
    char buf[4096];
    ssize_t k;
    while ((k = lw_reader_read(r, buf, sizeof buf, err, sizeof err)) > 0)
        ;
    assert_int_equal(k, -1);
    assert_non_null(strstr(err, "gzip"));
    lw_reader_close(r);
    close(fd);

    /* skip lands exactly on the stored offset */
    n = zst(a, la, c);
    assert_int_equal(tu_write_file(path, (const char *)c, n), 0);
    fd = open(path, O_RDONLY);
    assert_int_equal(lw_reader_open(fd, true, &r, err, sizeof err), LW_OK);
    assert_int_equal(lw_reader_skip(r, 12345, err, sizeof err), LW_OK);
    k = lw_reader_read(r, buf, 100, err, sizeof err);
    assert_true(k > 0);
    assert_memory_equal(buf, a + 12345, (size_t)k);
    assert_int_equal(lw_reader_skip(r, (int64_t)la, err, sizeof err), LW_ERR_IO);
    lw_reader_close(r);
    close(fd);

    free(c);
    free(a);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codecs),
        cmocka_unit_test(test_corrupt_and_skip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
