/*
 * testutil.h - small helpers shared by the cmocka test programs: temp
 * directories under the build tree, writing files, loading a config
 * from an inline YAML string, and normal draws for reproducible test data.  Header-only so each
 * test stays one program.
 */
#ifndef LEADWATCH_TESTUTIL_H
#define LEADWATCH_TESTUTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leadwatch/model/config.h"

/* A standard normal draw from a xorshift64 state (Box-Muller): reproducible test data. */
static inline double tu_gauss(uint64_t *rng)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        u[i] = ((double)(*rng >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

/* mkdtemp under $TMPDIR (or /tmp); the caller frees the string. */
static inline char *tu_tempdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/lw-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static inline char *tu_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static inline int tu_write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

static inline int tu_rm_rf(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

/* Parse YAML text into a config; fails the test with the message on error. */
#define TU_CONFIG(text, cfgp)                                                                      \
    do {                                                                                           \
        char tu_err_[512] = "";                                                                    \
        lw_err_t tu_e_ =                                                                           \
            lw_config_parse((text), strlen(text), "test.yaml", (cfgp), tu_err_, sizeof tu_err_);   \
        if (tu_e_ != LW_OK)                                                                        \
            fail_msg("config: %s", tu_err_);                                                       \
    } while (0)

/* cmocka 1.1.5 (Debian 12) has only a float comparison; this one is double. */
#ifndef assert_double_equal
#define assert_double_equal(a, b, eps)                                                             \
    do {                                                                                           \
        double tu_a_ = (double)(a), tu_b_ = (double)(b), tu_e_ = (double)(eps);                    \
        if (!(tu_a_ == tu_b_ || fabs(tu_a_ - tu_b_) <= tu_e_))                                     \
            fail_msg("%s = %.17g, expected %.17g (within %g)", #a, tu_a_, tu_b_, tu_e_);           \
    } while (0)
#endif

#endif
