/*
 * stats_refs.h - test-only loader for the files in tests/data/stats_refs/, the
 * statsmodels reference values written by scripts/gen_stats_refs.py.
 *
 * Format: one record per line; '#' lines are comments; the first token is a
 * key, the rest are numbers (repr() of Python floats, so strtod recovers the
 * exact double; "nan" marks an undefined value).  A file is loaded whole into
 * an array of (key, values) lines; tests look lines up by key in file order.
 * Header-only (static inline) so each test program includes just what it uses.
 */
#ifndef LEADWATCH_TESTS_STATS_REFS_H
#define LEADWATCH_TESTS_STATS_REFS_H

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_KEY_MAX 32
#define REF_MAX_LINES 4096
#define REF_MAX_LINE_BYTES (1u << 22)

typedef struct {
    char key[REF_KEY_MAX];
    double *v;
    size_t n;
} ref_line_t;

typedef struct {
    ref_line_t *lines;
    size_t n;
} ref_file_t;

static inline void ref_free(ref_file_t *rf)
{
    for (size_t i = 0; i < rf->n; i++)
        free(rf->lines[i].v);
    free(rf->lines);
    rf->lines = NULL;
    rf->n = 0;
}

static inline const char *ref_source_dir(void)
{
    const char *d = getenv("LW_SOURCE_DIR");
#ifdef LW_SOURCE_DIR
    if (!d)
        d = LW_SOURCE_DIR;
#endif
    return d ? d : ".";
}

/* Parse one line into rf; false on a malformed number. */
static inline bool ref_parse_line(ref_file_t *rf, char *line)
{
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '#' || *p == '\0' || *p == '\n')
        return true;
    ref_line_t *l = &rf->lines[rf->n];
    size_t klen = strcspn(p, " \t\n");
    if (klen == 0 || klen >= REF_KEY_MAX)
        return false;
    memcpy(l->key, p, klen);
    l->key[klen] = '\0';
    p += klen;
    size_t cap = 16;
    l->v = malloc(cap * sizeof(double));
    l->n = 0;
    if (!l->v)
        return false;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '\n')
            break;
        char *end = NULL;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || (errno != 0 && errno != ERANGE)) {
            free(l->v);
            return false;
        }
        p = end;
        if (l->n == cap) {
            cap *= 2;
            double *nv = realloc(l->v, cap * sizeof(double));
            if (!nv) {
                free(l->v);
                return false;
            }
            l->v = nv;
        }
        l->v[l->n++] = v;
    }
    rf->n++;
    return true;
}

/* Load tests/data/stats_refs/<name>.txt; false (and a message on stderr) on error. */
static inline bool ref_load(const char *name, ref_file_t *rf)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/data/stats_refs/%s.txt", ref_source_dir(), name);
    rf->lines = calloc(REF_MAX_LINES, sizeof(ref_line_t));
    rf->n = 0;
    FILE *f = fopen(path, "r");
    char *buf = malloc(REF_MAX_LINE_BYTES);
    bool ok = rf->lines && f && buf;
    while (ok && fgets(buf, (int)REF_MAX_LINE_BYTES, f)) {
        if (rf->n == REF_MAX_LINES || strlen(buf) == REF_MAX_LINE_BYTES - 1)
            ok = false;
        else
            ok = ref_parse_line(rf, buf);
    }
    free(buf);
    if (f)
        fclose(f);
    if (!ok) {
        fprintf(stderr, "cannot load reference file %s\n", path);
        ref_free(rf);
    }
    return ok;
}

/* The i-th line (0-based) with this key, or NULL. */
static inline const ref_line_t *ref_nth(const ref_file_t *rf, const char *key, size_t i)
{
    for (size_t j = 0; j < rf->n; j++)
        if (strcmp(rf->lines[j].key, key) == 0 && i-- == 0)
            return &rf->lines[j];
    return NULL;
}

static inline const ref_line_t *ref_get(const ref_file_t *rf, const char *key)
{
    return ref_nth(rf, key, 0);
}

/* |got - want| <= rel |want| + abs_floor; returns the relative error seen. */
static inline bool ref_close(double got, double want, double rel, double abs_floor)
{
    if (isnan(want) || isnan(got))
        return false;
    return fabs(got - want) <= rel * fabs(want) + abs_floor;
}

static inline double ref_relerr(double got, double want)
{
    const double d = fabs(got - want);
    return want == 0.0 ? d : d / fabs(want);
}

/* Uniform on [-0.5, 0.5) from a xorshift64 state (random test designs). */
static inline double ref_unit(uint64_t *st)
{
    *st ^= *st << 13;
    *st ^= *st >> 7;
    *st ^= *st << 17;
    return (double)(*st >> 11) / 9007199254740992.0 - 0.5;
}

#endif
