/*
 * test_ingest.c - file ingest on real files and a real store: totals,
 * re-ingesting does not double-count, a grown file continues where it
 * stopped, a changed file is refused, oversized lines, CRLF, a last line
 * without newline, and the --rejects copy.  Issue 18 regressions: a
 * half-written last line waits for its end, a rotated (renamed) file is
 * not counted again, two writers on one file cannot both commit, and a
 * FIFO is read like stdin.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "leadwatch/ingest/ingest.h"
#include "leadwatch/store/series.h"
#include "testutil.h"

static const char yaml[] = "source: {format: segment, max_event_bytes: 512}\n"
                           "store: {flush_events: 3}\n"
                           "buckets: {size: 1d, grace: 30d}\n"
                           "metrics:\n"
                           "  - {name: n, count: true}\n"
                           "  - {name: ms, sum: properties.d}\n"
                           "tree: {nsm: ms, inputs: [{metric: n, kind: breadth}]}\n";

typedef struct {
    char *dir;
    char *db;
    lw_config_t *cfg;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    fx->dir = tu_tempdir("ingest");
    fx->db = tu_path(fx->dir, "t.db");
    TU_CONFIG(yaml, &fx->cfg);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    lw_config_free(fx->cfg);
    tu_rm_rf(fx->dir);
    free(fx->dir);
    free(fx->db);
    free(fx);
    return 0;
}

static char *ev(int day, int d)
{
    static char buf[256];
    snprintf(buf, sizeof buf,
             "{\"event\":\"e\",\"userId\":\"u\",\"timestamp\":\"2026-03-%02dT10:00:00Z\","
             "\"properties\":{\"d\":%d}}\n",
             day, d);
    return buf;
}

/* Ingest `path` into the fixture store; returns the status and the stats. */
static lw_err_t ingest(fx_t *fx, const char *path, bool from_start, FILE *rejects,
                       lw_pipeline_stats_t *st, lw_ingest_result_t *res, char *err, size_t errsz)
{
    lw_store_t *store;
    assert_int_equal(lw_store_open(fx->db, 0, &store, err, errsz), LW_OK);
    lw_pipeline_t *p = lw_pipeline_new(fx->cfg, store, err, errsz);
    assert_non_null(p);
    lw_ingest_opts_t o = {.from_start = from_start, .rejects = rejects};
    lw_err_t e = lw_ingest_path(p, path, &o, res, err, errsz);
    lw_pipeline_stats(p, st);
    lw_pipeline_destroy(p);
    lw_store_close(store);
    return e;
}

/* Sum of column `col` over the store. */
static double total(fx_t *fx, size_t col)
{
    char err[256];
    lw_store_t *store;
    lw_series_t s;
    assert_int_equal(lw_store_open(fx->db, LW_STORE_READONLY, &store, err, sizeof err), LW_OK);
    assert_int_equal(lw_series_load(fx->cfg, store, INT64_MIN, INT64_MAX, &s, err, sizeof err),
                     LW_OK);
    double t = 0;
    for (size_t i = 0; i < s.nrows; i++) {
        double v = lw_series_at(&s, i, col);
        t += isnan(v) ? 0 : v;
    }
    lw_series_release(&s);
    lw_store_close(store);
    return t;
}

static void append(const char *path, const char *text)
{
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_reingest_does_not_double_count(void **state)
{
    fx_t *fx = *state;
    char *file = tu_path(fx->dir, "a.jsonl");
    for (int i = 1; i <= 10; i++)
        append(file, ev(1 + i % 5, i));
    char err[512];
    lw_pipeline_stats_t st;
    lw_ingest_result_t res;
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_int_equal(st.accepted, 10);
    assert_double_equal(total(fx, 0), 10, 0);
    assert_double_equal(total(fx, 1), 55, 0);

    /* the same file again: everything skipped */
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_int_equal(st.read, 0);
    assert_true(res.skipped_bytes > 0);
    assert_double_equal(total(fx, 0), 10, 0);

    /* grown: only the new lines count */
    append(file, ev(6, 100));
    append(file, ev(6, 200));
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_int_equal(st.read, 2);
    assert_double_equal(total(fx, 1), 355, 0);

    /* changed content at the same path: refused, nothing counted */
    char *text = malloc(4096);
    text[0] = '\0';
    for (int i = 1; i <= 12; i++)
        strcat(text, ev(7, 1));
    assert_int_equal(tu_write_file(file, text, strlen(text)), 0);
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_ERR_INVALID);
    assert_non_null(strstr(err, "content changed"));
    assert_double_equal(total(fx, 1), 355, 0);
    /* unless asked to */
    assert_int_equal(ingest(fx, file, true, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_double_equal(total(fx, 1), 367, 0);
    free(text);
    free(file);
}

static void test_edge_lines_and_rejects(void **state)
{
    fx_t *fx = *state;
    char *file = tu_path(fx->dir, "b.jsonl");
    char *rej = tu_path(fx->dir, "rejects.txt");
    char big[2048];
    memset(big, 'x', sizeof big);
    big[0] = '{';
    big[sizeof big - 1] = '\0';
    char line[256];
    snprintf(line, sizeof line, "%s", ev(2, 1));
    line[strlen(line) - 1] = '\0';
    /* good, CRLF good, blank, oversized, invalid, good without final newline */
    FILE *f = fopen(file, "wb");
    fputs(ev(2, 1), f);
    fprintf(f, "%s\r\n", line);
    fputs("\n", f);
    fputs(big, f);
    fputs("\n", f);
    fputs("{\"event\":\n", f);
    fputs(line, f);
    fclose(f);

    FILE *rf = fopen(rej, "w");
    char err[512];
    lw_pipeline_stats_t st;
    lw_ingest_result_t res;
    assert_int_equal(ingest(fx, file, false, rf, &st, &res, err, sizeof err), LW_OK);
    fclose(rf);
    assert_int_equal(st.read, 6);
    assert_int_equal(st.accepted, 3);
    assert_int_equal(st.rejected[LW_REJECT_EMPTY], 1);
    assert_int_equal(st.rejected[LW_REJECT_TOO_LARGE], 1);
    assert_int_equal(st.rejected[LW_REJECT_INVALID_JSON], 1);
    assert_double_equal(total(fx, 0), 3, 0);

    /* the rejects file holds the three rejected lines, one per line */
    f = fopen(rej, "r");
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    assert_int_equal(lines, 3);

    /* the whole file is covered: a second run reads nothing */
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_int_equal(st.read, 0);
    free(file);
    free(rej);
}

static void test_missing_file(void **state)
{
    fx_t *fx = *state;
    char err[512];
    lw_store_t *store;
    assert_int_equal(lw_store_open(fx->db, 0, &store, err, sizeof err), LW_OK);
    lw_pipeline_t *p = lw_pipeline_new(fx->cfg, store, err, sizeof err);
    lw_ingest_opts_t o = {0};
    lw_ingest_result_t res;
    assert_int_equal(lw_ingest_path(p, "/nonexistent/x.jsonl", &o, &res, err, sizeof err),
                     LW_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/x.jsonl"));
    lw_pipeline_destroy(p);
    lw_store_close(store);
}

/* Issue 18 item 4: a last line without newline that is half-written waits. */
static void test_half_written_last_line_waits(void **state)
{
    fx_t *fx = *state;
    char *file = tu_path(fx->dir, "grow.jsonl");
    append(file, ev(2, 1));
    append(file, ev(2, 2));
    char line[256];
    snprintf(line, sizeof line, "%s", ev(2, 4));
    size_t half = strlen(line) / 2;
    char head[256];
    snprintf(head, sizeof head, "%.*s", (int)half, line);
    append(file, head);
    char err[512];
    lw_pipeline_stats_t st;
    lw_ingest_result_t res;
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_int_equal(st.read, 2);
    assert_int_equal(st.rejected_total, 0);
    assert_int_equal(res.pending_bytes, (int64_t)half);
    /* the writer finishes the line: the next run reads it whole */
    append(file, line + half);
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_int_equal(st.read, 1);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.rejected_total, 0);
    assert_int_equal(res.pending_bytes, 0);
    assert_double_equal(total(fx, 1), 7, 0);
    free(file);
}

/* Issue 18 item 5: mv events.jsonl events.jsonl.1 + a new events.jsonl. */
static void test_rotated_file_not_counted_again(void **state)
{
    fx_t *fx = *state;
    char *file = tu_path(fx->dir, "events.jsonl");
    char *rotated = tu_path(fx->dir, "events.jsonl.1");
    for (int i = 1; i <= 3; i++)
        append(file, ev(3, i));
    char err[512];
    lw_pipeline_stats_t st;
    lw_ingest_result_t res;
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_int_equal(st.read, 3);
    /* one more line lands just before rotation */
    append(file, ev(3, 10));
    assert_int_equal(rename(file, rotated), 0);
    append(file, ev(4, 100));
    append(file, ev(4, 200));
    assert_int_equal(ingest(fx, rotated, false, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_int_equal(st.read, 1);
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_int_equal(st.read, 2);
    assert_double_equal(total(fx, 0), 6, 0);
    assert_double_equal(total(fx, 1), 316, 0);
    /* both again: nothing new */
    assert_int_equal(ingest(fx, rotated, false, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_int_equal(st.read, 0);
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
    assert_int_equal(st.read, 0);
    assert_double_equal(total(fx, 0), 6, 0);
    free(file);
    free(rotated);
}

/*
 * Issue 18 item 1: two writers that both read a file's position before
 * either commits (two overlapping `ingest` runs): the second flush fails
 * with a position conflict and commits nothing.
 */
static void test_two_writers_one_source(void **state)
{
    fx_t *fx = *state;
    char err[512];
    lw_store_t *s1, *s2;
    assert_int_equal(lw_store_open(fx->db, 0, &s1, err, sizeof err), LW_OK);
    assert_int_equal(lw_store_open(fx->db, 0, &s2, err, sizeof err), LW_OK);
    lw_pipeline_t *p1 = lw_pipeline_new(fx->cfg, s1, err, sizeof err);
    lw_pipeline_t *p2 = lw_pipeline_new(fx->cfg, s2, err, sizeof err);
    assert_non_null(p1);
    assert_non_null(p2);
    lw_position_t stored;
    bool found;
    int a = lw_pipeline_add_source(p1, "file:/x@1", &stored, &found, err, sizeof err);
    int b = lw_pipeline_add_source(p2, "file:/x@1", &stored, &found, err, sizeof err);
    assert_false(found);
    const char *line = ev(5, 7);
    lw_position_t after = {.position = (int64_t)strlen(line)};
    lw_feed_outcome_t out;
    lw_reject_t why;
    int64_t now = (int64_t)time(NULL) * 1000;
    assert_int_equal(
        lw_pipeline_feed(p1, a, line, strlen(line), &after, now, &out, &why, err, sizeof err),
        LW_OK);
    assert_int_equal(out, LW_FEED_ACCEPTED);
    assert_int_equal(
        lw_pipeline_feed(p2, b, line, strlen(line), &after, now, &out, &why, err, sizeof err),
        LW_OK);
    assert_int_equal(lw_pipeline_flush(p1, 0, err, sizeof err), LW_OK);
    assert_int_equal(lw_pipeline_flush(p2, 0, err, sizeof err), LW_ERR_STORE);
    assert_non_null(strstr(err, "position conflict"));
    lw_pipeline_destroy(p1);
    lw_pipeline_destroy(p2);
    lw_store_close(s1);
    lw_store_close(s2);
    assert_double_equal(total(fx, 0), 1, 0);
    assert_double_equal(total(fx, 1), 7, 0);
}

/* Issue 18 item 6: a FIFO is a stream: read to its end, nothing stored. */
static void test_fifo_is_a_stream(void **state)
{
    fx_t *fx = *state;
    char *fifo = tu_path(fx->dir, "in.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = fopen(fifo, "w");
        if (!f)
            _exit(1);
        fputs(ev(6, 1), f);
        fputs(ev(6, 2), f);
        const char *last = ev(6, 4);
        fwrite(last, 1, strlen(last) - 1, f); /* no newline: the stream's end ends it */
        fclose(f);
        _exit(0);
    }
    char err[512];
    lw_pipeline_stats_t st;
    lw_ingest_result_t res;
    lw_err_t e = ingest(fx, fifo, false, NULL, &st, &res, err, sizeof err);
    int status;
    waitpid(pid, &status, 0);
    assert_int_equal(e, LW_OK);
    assert_int_equal(st.read, 3);
    assert_int_equal(st.accepted, 3);
    assert_double_equal(total(fx, 1), 7, 0);
    free(fifo);
}

/* Append `text` to `path` compressed as one more gzip member (gzip == true) or zstd frame. */
static void append_compressed(const char *path, const char *text, bool gzip)
{
    size_t len = strlen(text);
    unsigned char *out = malloc(ZSTD_compressBound(len) + 1024);
    assert_non_null(out);
    size_t n;
    if (gzip) {
        z_stream z = {0};
        assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
        z.next_in = (unsigned char *)(uintptr_t)text;
        z.avail_in = (uInt)len;
        z.next_out = out;
        z.avail_out = (uInt)(ZSTD_compressBound(len) + 1024);
        assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
        n = z.total_out;
        deflateEnd(&z);
    } else {
        n = ZSTD_compress(out, ZSTD_compressBound(len), text, len, 3);
        assert_false(ZSTD_isError(n));
    }
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(out, 1, n, f), n);
    fclose(f);
    free(out);
}

/* gzip / zstd files: positions are uncompressed offsets, so a re-ingest skips what the store
 * holds, a file that grew by a member continues, a renamed one is recognised, and a file cut
 * short is read up to its last whole line and finished by a later run. */
static void test_compressed_files_resume_exactly(void **state)
{
    fx_t *fx = *state;
    char err[512];
    lw_pipeline_stats_t st;
    lw_ingest_result_t res;
    for (int gzip = 1; gzip >= 0; gzip--) {
        char name[32];
        snprintf(name, sizeof name, "c%d.jsonl.%s", gzip, gzip ? "gz" : "zst");
        char *file = tu_path(fx->dir, name);
        char text[4096] = "";
        for (int i = 1; i <= 10; i++)
            strcat(text, ev(1 + i % 5, i));
        append_compressed(file, text, gzip);
        double before = access(fx->db, F_OK) == 0 ? total(fx, 1) : 0;
        assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
        assert_int_equal(st.accepted, 10);
        assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
        assert_int_equal(st.read, 0);
        assert_int_equal(res.skipped_bytes, (int64_t)strlen(text));
        append_compressed(file, ev(3, 1000), gzip);
        assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
        assert_int_equal(st.read, 1);
        assert_double_equal(total(fx, 1) - before, 55 + 1000, 0);
        /* renamed: known by its content */
        char *moved = tu_path(fx->dir, "moved.bin");
        assert_int_equal(rename(file, moved), 0);
        assert_int_equal(ingest(fx, moved, false, NULL, &st, &res, err, sizeof err), LW_OK);
        assert_int_equal(st.read, 0);
        unlink(moved);
        free(moved);
        free(file);
    }

    /* cut short in the middle of the data: whole lines now, the rest later */
    char *file = tu_path(fx->dir, "cut.jsonl.gz");
    char *full = tu_path(fx->dir, "full.gz");
    static char big[200000];
    big[0] = '\0';
    size_t used = 0;
    for (int i = 0; used + 200 < sizeof big; i++) {
        const char *line = ev(10 + i % 3, 1);
        memcpy(big + used, line, strlen(line) + 1);
        used += strlen(line);
    }
    append_compressed(full, big, true);
    FILE *in = fopen(full, "rb");
    static unsigned char zbuf[200000];
    size_t zn = fread(zbuf, 1, sizeof zbuf, in);
    fclose(in);
    assert_int_equal(tu_write_file(file, (const char *)zbuf, zn / 2), 0);
    double before = total(fx, 0);
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
    int64_t first = st.read;
    assert_true(first > 0);
    assert_int_equal(tu_write_file(file, (const char *)zbuf, zn), 0);
    assert_int_equal(ingest(fx, file, false, NULL, &st, &res, err, sizeof err), LW_OK);
    int64_t lines = 0;
    for (size_t i = 0; i < used; i++)
        lines += big[i] == '\n';
    assert_int_equal(first + st.read, lines);
    assert_double_equal(total(fx, 0) - before, (double)lines, 0);
    free(file);
    free(full);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reingest_does_not_double_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge_lines_and_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_written_last_line_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotated_file_not_counted_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_writers_one_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_is_a_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compressed_files_resume_exactly, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
