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
 * a line boundary.  A last line without a newline is fed at end of input.
 *
 * Identity: the fingerprint is XXH3 of the first min(size, 64 KiB) bytes at
 * open.  On resume the stored fingerprint must match the same prefix of the
 * file now, and the stored position must not be past its end.
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

#include "leadwatch/core/log.h"
#include "leadwatch/core/clock.h"

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
    lw_position_t pos; /* template: fingerprint fields; position set per line */
    int64_t since_clock;
    int64_t now_ms;
    char *errstr;
    size_t errstr_size;
} feeder_t;

static lw_err_t feed_line(feeder_t *f, const char *line, size_t len, int64_t end_offset)
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
    lw_err_t err = lw_pipeline_feed(f->p, f->source, line, len, &after, f->now_ms, &outcome,
                                    &reason, f->errstr, f->errstr_size);
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

static lw_err_t open_input(const char *path, int *fd_out, char *name, size_t name_size,
                           char *errstr, size_t errstr_size)
{
    if (strcmp(path, "-") == 0) {
        *fd_out = STDIN_FILENO;
        snprintf(name, name_size, "stdin");
        return LW_OK;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: cannot open: %s", path,
                         strerror(errno));
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        int e = errno;
        close(fd);
        return lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: %s", path, strerror(e));
    }
    if ((size_t)snprintf(name, name_size, "file:%s", real) >= name_size) {
        close(fd);
        return lw_seterr(errstr, errstr_size, LW_ERR_TOO_LARGE, "%s: path too long", path);
    }
    *fd_out = fd;
    return LW_OK;
}

/*
 * Decide where to start: 0, or the stored position when the stored
 * fingerprint still matches.  Fills f->pos's fingerprint for this read.
 */
static lw_err_t resume_point(feeder_t *f, const char *path, int fd, const lw_position_t *stored,
                             bool found, int64_t *start)
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

    bool same = stored->fp_len <= size && stored->position <= size;
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
    memset(res, 0, sizeof *res);
    lw_err_t err = open_input(path, &fd, name, sizeof name, errstr, errstr_size);
    if (err != LW_OK)
        return err;

    feeder_t f = {.p = p, .opts = opts, .errstr = errstr, .errstr_size = errstr_size};
    lw_position_t stored;
    bool found;
    f.source = lw_pipeline_add_source(p, name, &stored, &found, errstr, errstr_size);
    if (f.source < 0) {
        err = LW_ERR_STORE;
        goto out_close;
    }
    int64_t offset = 0;
    if (fd != STDIN_FILENO) {
        err = resume_point(&f, path, fd, &stored, found, &offset);
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
        ssize_t n = read(fd, buf + have, cap - have);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            err = lw_seterr(errstr, errstr_size, LW_ERR_IO, "%s: read: %s", path, strerror(errno));
            goto out_flush;
        }
        if (n == 0)
            eof = true;
        size_t end = have + (size_t)n;
        size_t start = 0;
        if (discarding) {
            char *nl = memchr(buf + keep, '\n', end - keep);
            if (!nl) {
                discarded += (int64_t)(end - keep);
                have = keep;
                if (!eof)
                    continue;
                /* oversized last line without newline */
                err = feed_line(&f, buf, keep, buf_offset + (int64_t)keep + discarded);
                res->lines++;
                have = 0;
                break;
            }
            int64_t line_end = buf_offset + (int64_t)(nl + 1 - buf) + discarded;
            err = feed_line(&f, buf, keep, line_end);
            res->lines++;
            if (err != LW_OK)
                goto out_flush;
            start = (size_t)(nl + 1 - buf);
            buf_offset = line_end - (int64_t)start;
            discarded = 0;
            discarding = false;
        }
        while (start < end) {
            char *nl = memchr(buf + start, '\n', end - start);
            if (!nl)
                break;
            size_t len = (size_t)(nl + 1 - (buf + start));
            err = feed_line(&f, buf + start, len, buf_offset + (int64_t)(start + len));
            res->lines++;
            if (err != LW_OK)
                goto out_flush;
            start += len;
        }
        size_t rest = end - start;
        if (eof && rest > 0) {
            err = feed_line(&f, buf + start, rest > keep ? keep : rest, buf_offset + (int64_t)end);
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
    free(buf);
    if (fd >= 0 && fd != STDIN_FILENO)
        close(fd);
    return err;
}
