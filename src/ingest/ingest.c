/*
 * ingest.c - line-oriented file/stdin reader on top of the pipeline.
 *
 * Reading: one buffer of max_event_bytes + 1 MiB; read(2) fills it, memchr
 * finds line ends, each complete line is fed with its end offset as the
 * position.  A partial line at the end of the buffer is moved to the front
 * before the next read.  A line longer than max_event_bytes is not held
 * whole: its first max_event_bytes + 1 bytes are kept (enough for the
 * decoder to say too_large, and for --rejects), the rest is discarded up to
 * the newline, and only then is it fed, so the stored position is always at
 * a line boundary.
 *
 * The last line without a newline.  A regular file may still be growing: a
 * writer can be half-way through its last line.  Such a tail is fed only
 * when it is a complete JSON object or array (its brackets close exactly at
 * its last non-blank byte: a strict prefix of a JSON object never does, so
 * a half-written line is never mistaken for a whole one); otherwise it is
 * left unread (res->pending_bytes), its bytes are not covered by the stored
 * position, and a later run reads it whole.  A stream (stdin, a pipe or
 * FIFO such as `ingest <(cmd)`) has a true end: at EOF the writer is gone,
 * so any unterminated tail is fed as it is.
 *
 * Identity of a regular file follows the file, not the path:
 *   - its source name is "file:<realpath>@<inode>", so a file renamed by log
 *     rotation and a new file at the old path are different sources;
 *   - the fingerprint is XXH3 of the first min(size, 64 KiB) bytes at open;
 *     on resume the stored fingerprint must match the same prefix of the
 *     file now and the stored position must not be past its end, else the
 *     file was rewritten in place and is refused (--from-start overrides);
 *   - a file with no position under its own name is looked up by content
 *     among all stored file positions (renamed by `mv`, copied, or stored
 *     under the path-only name of older versions): a row whose fingerprint
 *     matches this file's prefix and whose position is within its size is
 *     this file, and reading resumes there under that row's name (the
 *     longest fingerprint wins, then the furthest position).  The search
 *     reads every stored file position and hashes one prefix per distinct
 *     fingerprint length: linear in the number of files ever ingested.
 *   Known limit: a row whose fingerprint covers fewer bytes than its
 *   position (a file under 64 KiB that grew while it was read) matches any
 *   file with the same first bytes.
 * Streams have no identity: nothing is stored for them and they are never
 * skipped.
 *
 * Compressed input (reader.h: gzip or zstd by magic bytes) goes through
 * the same loop: offsets and stored positions count uncompressed bytes,
 * while the fingerprint covers the compressed file's first bytes (its
 * identity on disk).  So for a compressed file the "position within the
 * file size" checks are skipped (an uncompressed offset may pass the
 * compressed size), and resuming decompresses and discards up to the
 * stored position instead of seeking.  A compressed file that now ends
 * before its stored position was rewritten and is refused.
 */
#include "leadwatch/ingest/ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "leadwatch/core/clock.h"
#include "leadwatch/core/log.h"
#include "leadwatch/ingest/reader.h"
#include "leadwatch/store/store.h"

#define READ_CHUNK (1u << 20)
#define CLOCK_EVERY 1024

/* XXH3 of the first `len` bytes of fd (read with pread; the offset is untouched). */
static lw_err_t fingerprint(int fd, int64_t len, uint64_t *out, char *errstr, size_t errstr_size)
{
    char *buf = malloc(len > 0 ? (size_t)len : 1);
    if (!buf)
        return lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
    int64_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, (size_t)(len - got), (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(buf);
            return lw_seterr(errstr, errstr_size, LW_ERR_IO, "cannot read: %s",
                             n < 0 ? strerror(errno) : "unexpected end of file");
        }
        got += n;
    }
    *out = XXH3_64bits(buf, (size_t)len);
    free(buf);
    return LW_OK;
}

typedef struct {
    lw_pipeline_t *p;
    const lw_ingest_opts_t *opts;
    int source;
    bool stream;       /* stdin, pipe, FIFO: no position, a true end at EOF */
    lw_position_t pos; /* template: fingerprint fields; position set per line */
    int64_t since_clock;
    int64_t now_ms;
    char *errstr;
    size_t errstr_size;
} feeder_t;

/* next[0..next_len): the line fed after this one when it is already in the buffer (NULL: not
 * known), read ahead by the pipeline (lw_pipeline_feed_ahead) */
static lw_err_t feed_line(feeder_t *f, const char *line, size_t len, int64_t end_offset,
                          const char *next, size_t next_len)
{
    if (f->since_clock++ % CLOCK_EVERY == 0) {
        f->now_ms = lw_clock_wall_ms();
        int64_t mono = lw_clock_mono_ms();
        if (lw_pipeline_should_flush(f->p, mono)) {
            lw_err_t err = lw_pipeline_flush(f->p, mono, f->errstr, f->errstr_size);
            if (err != LW_OK)
                return err;
        }
    }
    lw_position_t after = f->pos;
    after.position = end_offset;
    lw_feed_outcome_t outcome;
    lw_reject_t reason;
    lw_err_t err = lw_pipeline_feed_ahead(f->p, f->source, line, len, next, next_len,
                                          f->stream ? NULL : &after, f->now_ms, &outcome, &reason,
                                          f->errstr, f->errstr_size);
    if (err != LW_OK)
        return err;
    if (outcome != LW_FEED_ACCEPTED && f->opts->rejects) {
        size_t n = len;
        if (n > 0 && line[n - 1] == '\n')
            n--;
        fwrite(line, 1, n, f->opts->rejects);
        fputc('\n', f->opts->rejects);
    }
    /* a pending flush from the slot table can happen inside feed; the
     * regular cadence is checked above */
    return LW_OK;
}

/*
 * Open `path` and classify it: a regular file gets a name by realpath and
 * inode (see the header comment); anything else is a stream named after
 * what the user typed (it is never stored).
 */
static lw_err_t open_input(const char *path, int *fd_out, bool *stream, char *name,
                           size_t name_size, char *errstr, size_t errstr_size)
{
    *stream = true;
    if (strcmp(path, "-") == 0) {
        *fd_out = STDIN_FILENO;
        snprintf(name, name_size, "stdin");
        return LW_OK;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: cannot open: %s", path,
                         strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        /* <(cmd) is /dev/fd/N, a pipe: realpath cannot name it */
        snprintf(name, name_size, "stream:%s", path);
        *fd_out = fd;
        return LW_OK;
    }
    *stream = false;
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        int e = errno;
        close(fd);
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: %s", path, strerror(e));
    }
    if ((size_t)snprintf(name, name_size, "file:%s@%llu", real, (unsigned long long)st.st_ino) >=
        name_size) {
        close(fd);
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "%s: path too long", path);
    }
    *fd_out = fd;
    return LW_OK;
}

/* The content search over stored file positions (see the header comment). */
typedef struct {
    int fd;
    int64_t size;
    bool compressed;    /* positions are uncompressed offsets: not bounded by size */
    int64_t hashed_len; /* the prefix length `hashed` covers, -1 = none */
    uint64_t hashed;
    lw_cb_err_t e; /* the callback's failure */
    bool found;
    char name[LW_PIPELINE_MAX_SOURCE_NAME];
    lw_position_t pos;
} match_t;

static int match_row(void *ud, const char *source, const lw_position_t *pos)
{
    match_t *m = ud;
    if (pos->position <= 0 || pos->fp_len <= 0 || pos->fp_len > m->size ||
        (pos->position > m->size && !m->compressed))
        return 0;
    if (m->found && (pos->fp_len < m->pos.fp_len ||
                     (pos->fp_len == m->pos.fp_len && pos->position <= m->pos.position)))
        return 0;
    if (m->hashed_len != pos->fp_len) {
        m->e.err = fingerprint(m->fd, pos->fp_len, &m->hashed, m->e.errstr, m->e.errstr_size);
        if (m->e.err != LW_OK)
            return 1;
        m->hashed_len = pos->fp_len;
    }
    if (m->hashed != pos->fp_hash || strlen(source) >= sizeof m->name)
        return 0;
    m->found = true;
    m->pos = *pos;
    snprintf(m->name, sizeof m->name, "%s", source);
    return 0;
}

/*
 * Choose the source name of a regular file: its own name when a position
 * is stored under it (or --from-start), else the name of a stored position
 * that matches its content, else its own name (a new file).
 */
static lw_err_t identify(lw_pipeline_t *p, const char *path, int fd, bool compressed,
                         bool from_start, char *name, size_t name_size, char *errstr,
                         size_t errstr_size)
{
    lw_store_t *store = lw_pipeline_store(p);
    lw_position_t own;
    lw_err_t err = lw_store_get_position(store, name, &own, errstr, errstr_size);
    if (err != LW_ERR_NOT_FOUND || from_start)
        return err == LW_ERR_NOT_FOUND ? LW_OK : err;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: %s", path, strerror(errno));
    match_t m = {.fd = fd,
                 .size = (int64_t)st.st_size,
                 .compressed = compressed,
                 .hashed_len = -1,
                 .e = {LW_OK, errstr, errstr_size}};
    err = lw_store_positions(store, "file:", match_row, &m, errstr, errstr_size);
    err = lw_cb_status(err, &m.e);
    if (err != LW_OK || !m.found)
        return err;
    LW_LOG(LW_LOG_INFO, "ingest", "%s: same content as %s (renamed or copied): continuing it", path,
           m.name);
    snprintf(name, name_size, "%s", m.name);
    return LW_OK;
}

/*
 * True when buf[0..len) is one complete JSON object or array followed only
 * by blanks: the brackets (outside strings) close exactly at its end.
 */
static bool complete_json(const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r'))
        i++;
    if (i == len || (buf[i] != '{' && buf[i] != '['))
        return false;
    int64_t depth = 0;
    bool in_string = false, escaped = false;
    for (; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0)
                break;
        }
    }
    if (depth != 0 || i == len)
        return false;
    for (i++; i < len; i++)
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r')
            return false;
    return true;
}

/*
 * Decide where to start: 0, or the stored position when the stored
 * fingerprint still matches.  Fills f->pos's fingerprint for this read.
 */
static lw_err_t resume_point(feeder_t *f, const char *path, int fd, lw_reader_t *rd,
                             const lw_position_t *stored, bool found, int64_t *start)
{
    *start = 0;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return lw_seterr(f->errstr, f->errstr_size, LW_ERR_IO, "%s: %s", path, strerror(errno));
    int64_t size = (int64_t)st.st_size;
    int64_t fp_len = size < LW_INGEST_FP_BYTES ? size : LW_INGEST_FP_BYTES;
    lw_err_t err = fingerprint(fd, fp_len, &f->pos.fp_hash, f->errstr, f->errstr_size);
    if (err != LW_OK)
        return err;
    f->pos.fp_len = fp_len;
    if (!found || f->opts->from_start)
        return LW_OK;

    bool compressed = lw_reader_codec(rd) != LW_CODEC_NONE;
    /* a compressed file's position is an offset into its uncompressed bytes */
    bool same = stored->fp_len <= size && (stored->position <= size || compressed);
    if (same) {
        uint64_t h;
        err = fingerprint(fd, stored->fp_len, &h, f->errstr, f->errstr_size);
        if (err != LW_OK)
            return err;
        same = h == stored->fp_hash;
    }
    if (!same)
        return lw_seterr(f->errstr, f->errstr_size, LW_ERR_INVALID,
                         "%s: was ingested before (up to byte %lld) but its content changed; "
                         "refusing to count it again (use --from-start to ingest it anyway)",
                         path, (long long)stored->position);
    *start = stored->position;
    if (compressed) {
        /* no seeking in compressed data: decompress and drop what the store holds */
        lw_err_t e = lw_reader_skip(rd, *start, f->errstr, f->errstr_size);
        if (e == LW_ERR_IO && lw_reader_truncated(rd))
            return lw_seterr(f->errstr, f->errstr_size, LW_ERR_INVALID,
                             "%s: was ingested before (up to uncompressed byte %lld) but now "
                             "ends before it; refusing to count it again (use --from-start)",
                             path, (long long)stored->position);
        if (e != LW_OK) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", f->errstr);
            return lw_seterr(f->errstr, f->errstr_size, e, "%s: %s", path, msg);
        }
        return LW_OK;
    }
    if (lseek(fd, (off_t)*start, SEEK_SET) < 0)
        return lw_seterr(f->errstr, f->errstr_size, LW_ERR_IO, "%s: seek: %s", path,
                         strerror(errno));
    return LW_OK;
}

lw_err_t lw_ingest_path(lw_pipeline_t *p, const char *path, const lw_ingest_opts_t *opts,
                        lw_ingest_result_t *res, char *errstr, size_t errstr_size)
{
    char name[LW_PIPELINE_MAX_SOURCE_NAME];
    int fd = -1;
    char *buf = NULL;
    lw_reader_t *rd = NULL;
    memset(res, 0, sizeof *res);
    bool stream;
    lw_err_t err = open_input(path, &fd, &stream, name, sizeof name, errstr, errstr_size);
    if (err != LW_OK)
        return err;
    err = lw_reader_open(fd, !stream, &rd, errstr, errstr_size);
    if (err != LW_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", errstr);
        lw_seterr(errstr, errstr_size, err, "%s: %s", path, msg);
        goto out_close;
    }
    bool compressed = lw_reader_codec(rd) != LW_CODEC_NONE;
    if (compressed)
        LW_LOG(LW_LOG_INFO, "ingest", "%s: %s-compressed; positions count uncompressed bytes", path,
               lw_codec_name(lw_reader_codec(rd)));
    if (!stream) {
        err = identify(p, path, fd, compressed, opts->from_start, name, sizeof name, errstr,
                       errstr_size);
        if (err != LW_OK)
            goto out_close;
    }

    feeder_t f = {
        .p = p, .opts = opts, .stream = stream, .errstr = errstr, .errstr_size = errstr_size};
    lw_position_t stored;
    bool found;
    f.source = lw_pipeline_add_source(p, name, &stored, &found, errstr, errstr_size);
    if (f.source < 0) {
        err = LW_ERR_STORE;
        goto out_close;
    }
    int64_t offset = 0;
    if (!stream) {
        err = resume_point(&f, path, fd, rd, &stored, found, &offset);
        if (err != LW_OK)
            goto out_close;
        if (offset > 0)
            LW_LOG(LW_LOG_INFO, "ingest", "%s: resuming at byte %lld (already in the store)", path,
                   (long long)offset);
    }
    res->skipped_bytes = offset;

    /* the decoder's bound decides what is too large; keep one byte more */
    size_t max_event = lw_pipeline_config(p)->source.max_event_bytes;
    size_t cap = max_event + 2 + READ_CHUNK;
    buf = malloc(cap);
    if (!buf) {
        err = lw_seterr(errstr, errstr_size, LW_ERR_NOMEM, "out of memory");
        goto out_close;
    }

    size_t have = 0;         /* bytes in buf */
    bool discarding = false; /* inside an oversized line; buf[0..keep) is its head */
    size_t keep = max_event + 1;
    bool eof = false;
    int64_t buf_offset = offset; /* file offset of buf[0] (not counting discarded bytes) */
    int64_t discarded = 0;

    while (!eof) {
        if (opts->stop && *opts->stop)
            break;
        ssize_t n = lw_reader_read(rd, buf + have, cap - have, errstr, errstr_size);
        if (n < 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", errstr);
            err = lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: %s", path, msg);
            goto out_flush;
        }
        if (n == 0) {
            eof = true;
            if (lw_reader_truncated(rd))
                LW_LOG(LW_LOG_WARN, "ingest",
                       "%s: compressed data ends inside a %s %s (still being written, or cut "
                       "short): reading what it holds so far",
                       path, lw_codec_name(lw_reader_codec(rd)),
                       lw_reader_codec(rd) == LW_CODEC_GZIP ? "member" : "frame");
        }
        size_t end = have + (size_t)n;
        size_t start = 0;
        if (discarding) {
            char *nl = memchr(buf + keep, '\n', end - keep);
            if (!nl) {
                discarded += (int64_t)(end - keep);
                have = keep;
                if (!eof)
                    continue;
                if (!stream) {
                    /* an oversized unterminated tail of a file: wait for its end */
                    res->pending_bytes = (int64_t)keep + discarded;
                    break;
                }
                err = feed_line(&f, buf, keep, buf_offset + (int64_t)keep + discarded, NULL, 0);
                res->lines++;
                have = 0;
                break;
            }
            int64_t line_end = buf_offset + (int64_t)(nl + 1 - buf) + discarded;
            err = feed_line(&f, buf, keep, line_end, NULL, 0);
            res->lines++;
            if (err != LW_OK)
                goto out_flush;
            start = (size_t)(nl + 1 - buf);
            buf_offset = line_end - (int64_t)start;
            discarded = 0;
            discarding = false;
        }
        char *nl = start < end ? memchr(buf + start, '\n', end - start) : NULL;
        while (nl) {
            size_t len = (size_t)(nl + 1 - (buf + start));
            /* the line after it, when complete in the buffer: read ahead */
            char *nl2 = start + len < end ? memchr(nl + 1, '\n', end - start - len) : NULL;
            err = feed_line(&f, buf + start, len, buf_offset + (int64_t)(start + len),
                            nl2 ? nl + 1 : NULL, nl2 ? (size_t)(nl2 - nl) : 0);
            res->lines++;
            if (err != LW_OK)
                goto out_flush;
            start += len;
            nl = nl2;
        }
        size_t rest = end - start;
        if (eof && rest > 0 && !stream && !complete_json(buf + start, rest)) {
            res->pending_bytes = (int64_t)rest; /* half-written: a later run reads it whole */
            LW_LOG(LW_LOG_INFO, "ingest",
                   "%s: last %zu bytes have no newline yet; left for the next run", path, rest);
            rest = 0;
        } else if (eof && rest > 0) {
            err = feed_line(&f, buf + start, rest > keep ? keep : rest, buf_offset + (int64_t)end,
                            NULL, 0);
            res->lines++;
            if (err != LW_OK)
                goto out_flush;
            rest = 0;
        }
        if (rest > keep) {
            /* a line longer than the bound: keep its head, drop the rest */
            memmove(buf, buf + start, keep);
            buf_offset += (int64_t)start;
            discarded = (int64_t)(rest - keep);
            have = keep;
            discarding = true;
            continue;
        }
        memmove(buf, buf + start, rest);
        buf_offset += (int64_t)start;
        have = rest;
    }

out_flush : {
    lw_pipeline_forget_ahead(p); /* the buffer goes away */
    /* this input is done: it no longer holds the watermark back */
    lw_pipeline_source_idle(p, f.source);
    char ferr[512];
    int64_t mono = lw_clock_mono_ms();
    lw_err_t ferr_code = lw_pipeline_flush(p, mono, ferr, sizeof ferr);
    if (err == LW_OK && ferr_code != LW_OK) {
        err = ferr_code;
        lw_seterr(errstr, errstr_size, err, "%s", ferr);
    }
}
out_close:
    lw_reader_close(rd);
    free(buf);
    if (fd >= 0 && fd != STDIN_FILENO)
        close(fd);
    return err;
}
