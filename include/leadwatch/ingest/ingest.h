/*
 * ingest.h - feed newline-delimited JSON events from a file or stdin through
 * the pipeline (the `leadwatch ingest` command; the daemon reads Kafka
 * through the same pipeline).
 *
 * A regular file is a source named "file:<realpath>@<inode>".  Its position
 * (the byte offset after the last line flushed) and a fingerprint of its
 * first bytes are committed with the aggregates, so ingesting the same file
 * again skips what was counted, a file that grew is continued, a file
 * rewritten in place is refused instead of double-counted, and a file
 * renamed by log rotation is recognised by its content and continued, not
 * counted again (see ingest.c).  A half-written last line (no newline yet,
 * not a complete JSON value) is left for a later run.  Two runs on one
 * store and one file cannot both commit: the position is compare-and-set in
 * each flush's transaction, and the run that loses fails with "position
 * conflict" (exit 1) having committed nothing past the winner.
 *
 * gzip and zstd input is decompressed on the fly (reader.h, chosen by the
 * first bytes); a compressed file's position counts uncompressed bytes.
 *
 * stdin ("-") and other streams (a pipe or FIFO, e.g. `ingest <(cmd)`) have
 * no identity: nothing is stored for them, they are never skipped, and at
 * their end an unterminated last line is fed as it is.
 */
#ifndef LEADWATCH_INGEST_H
#define LEADWATCH_INGEST_H

#include <signal.h>
#include <stdio.h>

#include "leadwatch/ingest/pipeline.h"

/* How many leading bytes of a file its fingerprint covers. */
#define LW_INGEST_FP_BYTES 65536

typedef struct {
    FILE *rejects;                     /* optional: rejected and late lines are copied here */
    bool from_start;                   /* ignore a stored position (may double-count) */
    const volatile sig_atomic_t *stop; /* optional: stop early (flushing) when set */
} lw_ingest_opts_t;

typedef struct {
    int64_t skipped_bytes; /* bytes skipped because the store already covered them */
    int64_t lines;         /* lines read from this input */
    int64_t pending_bytes; /* unterminated tail left unread for a later run (files only) */
} lw_ingest_result_t;

/*
 * Ingest `path` ("-" for stdin) to its end, flushing as configured and once
 * more at the end.  LW_ERR_IO for unreadable input, LW_ERR_INVALID when the
 * file changed since it was last ingested, the store's error when a flush
 * fails (then the store holds only what was flushed before).
 */
lw_err_t lw_ingest_path(lw_pipeline_t *p, const char *path, const lw_ingest_opts_t *opts,
                        lw_ingest_result_t *res, char *errstr, size_t errstr_size);

#endif
