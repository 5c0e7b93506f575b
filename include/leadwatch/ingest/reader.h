/*
 * reader.h - read the bytes of an input file or stream, decompressing
 * gzip and zstd transparently; the codec is chosen by the input's first
 * bytes (magic numbers), never by its name.
 *
 *   1f 8b        gzip (RFC 1952); concatenated members are read in turn
 *   28 b5 2f fd  zstd (RFC 8878); concatenated frames are read in turn
 *   50 4b 03 04  zip: refused with a message (unzip it; its .json.gz members
 *                are read directly)
 *   anything else: read as it is
 *
 * The caller sees one byte stream: read() semantics, the uncompressed
 * bytes.  Offsets the caller computes (line ends, stored positions) are
 * offsets into that uncompressed stream; a compressed input cannot seek,
 * so lw_reader_skip() reads and discards up to a stored position.
 *
 * The end of a compressed input that stops inside a member or frame (a
 * file still being written, or cut short) is reported by
 * lw_reader_truncated(); the bytes decompressed before it are delivered.
 * Memory: one 256 KiB input buffer plus the decompressor's state (zlib
 * ~ 44 KiB; zstd's window, at most 128 MiB, the library's default limit
 * ZSTD_WINDOWLOG_LIMIT_DEFAULT: a frame that needs more is an error).
 */
#ifndef LEADWATCH_READER_H
#define LEADWATCH_READER_H

#include <sys/types.h>

#include "leadwatch/core/common.h"

typedef enum { LW_CODEC_NONE = 0, LW_CODEC_GZIP, LW_CODEC_ZSTD } lw_codec_t;

typedef struct lw_reader lw_reader_t;

/* "none", "gzip", "zstd". */
const char *lw_codec_name(lw_codec_t c);

/*
 * Wrap fd (borrowed; not closed by the reader).  Reads the first bytes to
 * choose the codec: for a regular file (`seekable`) with pread at offset 0,
 * leaving the file offset alone; otherwise with read, keeping them for the
 * first lw_reader_read.  LW_ERR_INVALID for a zip archive, LW_ERR_IO when
 * fd cannot be read, LW_ERR_NOMEM.
 */
lw_err_t lw_reader_open(int fd, bool seekable, lw_reader_t **out, char *errstr, size_t errstr_size);
void lw_reader_close(lw_reader_t *r);

lw_codec_t lw_reader_codec(const lw_reader_t *r);

/*
 * Up to n uncompressed bytes into buf: > 0 bytes read, 0 at the end, -1
 * with errstr set on a read error or corrupt compressed data.  For
 * LW_CODEC_NONE this is read(2) at fd's current offset.
 */
ssize_t lw_reader_read(lw_reader_t *r, void *buf, size_t n, char *errstr, size_t errstr_size);

/* Read and discard n uncompressed bytes (a compressed input's resume); LW_ERR_IO when it ends
 * first. */
lw_err_t lw_reader_skip(lw_reader_t *r, int64_t n, char *errstr, size_t errstr_size);

/* After lw_reader_read returned 0: the compressed data ended inside a member or frame. */
bool lw_reader_truncated(const lw_reader_t *r);

#endif
