/*
 * bench_granger.c - times the Granger scan of a 6-edge metric tree (5 inputs
 * -> NSM, NSM -> KPI), both directions, lags 1..28, 730 daily points, and the
 * same work in statsmodels (bench/granger_statsmodels.py) in the same run.
 *
 * The series are generated here (xorshift64 noise through AR(1) filters, each
 * input leading the NSM at its own lag, weekly seasonality on top), written to
 * a temporary file, and handed to the Python script so both sides see the
 * identical doubles (%.17g round-trips).  Each side reports the median of
 * REPS repetitions of the whole workload; the script also returns the sum of
 * all F statistics, which must agree with ours to 1e-9 relative, so the two
 * timings are of the same computation.
 *
 * Usage: bench_granger [REPS]   (default 31)
 * Environment: LW_PYTHON (default /usr/bin/python3), LW_SOURCE_DIR (to find
 * the script; default: derived from this file's path).  When Python or
 * statsmodels is unavailable only our figures are printed.
 */
#include "leadwatch/stats/granger.h"
#include "leadwatch/stats/ols.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { N = 730, NSERIES = 7, NEDGES = 6, MAXLAG = 28 };
static const int EDGES[NEDGES][2] = {{0, 5}, {1, 5}, {2, 5}, {3, 5}, {4, 5}, {5, 6}};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static double gauss(void)
{
    /* Box-Muller over xorshift64 uniforms. */
    double u[2];
    for (int i = 0; i < 2; i++) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        u[i] = ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2.0 * log(u[0])) * cos(2.0 * M_PI * u[1]);
}

static void make_series(double s[NSERIES][N])
{
    static const double week[7] = {1.0, 1.1, 1.05, 0.95, 0.9, 0.6, 0.5};
    for (int k = 0; k < 5; k++) {
        double a = 0.0;
        for (int t = 0; t < N; t++) {
            a = 0.5 * a + gauss();
            s[k][t] = 100.0 * (1 + k) * week[t % 7] + 10.0 * a;
        }
    }
    double nsm = 0.0, kpi = 0.0;
    for (int t = 0; t < N; t++) {
        double lead = 0.0;
        for (int k = 0; k < 5; k++)
            if (t >= 1 + k)
                lead += 0.02 * (s[k][t - 1 - k] - 100.0 * (1 + k) * week[(t - 1 - k) % 7]);
        nsm = 0.6 * nsm + lead + gauss();
        s[5][t] = 1000.0 * week[t % 7] + 20.0 * nsm;
        kpi = 0.4 * kpi + (t >= 2 ? 0.05 * (s[5][t - 2] - 1000.0 * week[(t - 2) % 7]) : 0.0) +
              gauss();
        s[6][t] = 500.0 + 5.0 * kpi;
    }
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One full workload; returns the sum of F statistics or NaN on failure. */
static double workload(lw_granger_t *g, double s[NSERIES][N], lw_granger_lag_t *recs)
{
    double fsum = 0.0;
    for (int e = 0; e < NEDGES; e++)
        for (int dir = 0; dir < 2; dir++) {
            const double *y = s[dir == 0 ? EDGES[e][1] : EDGES[e][0]];
            const double *x = s[dir == 0 ? EDGES[e][0] : EDGES[e][1]];
            if (lw_granger_scan(g, y, x, N, MAXLAG, recs, NULL, 0) != LW_OK)
                return (double)NAN;
            for (int p = 0; p < MAXLAG; p++) {
                if (recs[p].status != LW_OK)
                    return (double)NAN;
                fsum += recs[p].f;
            }
        }
    return fsum;
}

static void script_path(char *buf, size_t size)
{
    const char *src = getenv("LW_SOURCE_DIR");
    if (src) {
        snprintf(buf, size, "%s/bench/granger_statsmodels.py", src);
        return;
    }
    snprintf(buf, size, "%s", __FILE__);
    char *slash = strrchr(buf, '/');
    if (slash)
        snprintf(slash + 1, size - (size_t)(slash + 1 - buf), "granger_statsmodels.py");
    else
        snprintf(buf, size, "bench/granger_statsmodels.py");
}

int main(int argc, char **argv)
{
    long reps = 31;
    if (argc > 1) {
        char *end = NULL;
        errno = 0;
        reps = strtol(argv[1], &end, 10);
        if (errno || *end || reps < 1 || reps > 100000) {
            fprintf(stderr, "usage: %s [REPS]\n", argv[0]);
            return 2;
        }
    }
    lw_stats_init();
    static double s[NSERIES][N];
    make_series(s);

    static lw_granger_lag_t recs[MAXLAG];
    lw_granger_t *g = NULL;
    char err[256];
    const double t_new = now_s();
    if (lw_granger_new(N, MAXLAG, &g, err, sizeof(err)) != LW_OK) {
        fprintf(stderr, "granger_new: %s\n", err);
        return 1;
    }
    const double fsum = workload(g, s, recs);
    const double first = now_s() - t_new;
    if (!isfinite(fsum)) {
        fprintf(stderr, "a Granger test failed on the bench data\n");
        lw_granger_destroy(g);
        return 1;
    }
    double *times = malloc((size_t)reps * sizeof(double));
    if (!times) {
        lw_granger_destroy(g);
        return 1;
    }
    for (long r = 0; r < reps; r++) {
        const double t0 = now_s();
        workload(g, s, recs);
        times[r] = now_s() - t0;
    }
    qsort(times, (size_t)reps, sizeof(double), cmp_double);
    const double ours = times[reps / 2], ours_min = times[0];
    free(times);
    lw_granger_destroy(g);
    const int tests = NEDGES * 2 * MAXLAG;
    printf("workload: %d edges x 2 directions x lags 1..%d on %d points (%d Granger tests)\n",
           NEDGES, MAXLAG, N, tests);
    printf("leadwatch   median %9.3f ms  (%.4f ms per edge-lag; min %.3f ms; first run incl. "
           "workspace %.3f ms)\n",
           ours * 1e3, ours * 1e3 / tests, ours_min * 1e3, first * 1e3);

    char path[] = "/tmp/lw_bench_granger_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "cannot create a temporary file: %s\n", strerror(errno));
        return 1;
    }
    for (int t = 0; t < N; t++)
        for (int k = 0; k < NSERIES; k++)
            fprintf(f, "%.17g%c", s[k][t], k + 1 < NSERIES ? ' ' : '\n');
    fclose(f);

    char script[1024], cmd[2600], edges[128] = "";
    script_path(script, sizeof(script));
    for (int e = 0; e < NEDGES; e++) {
        char one[16];
        snprintf(one, sizeof(one), "%s%d:%d", e ? "," : "", EDGES[e][0], EDGES[e][1]);
        strncat(edges, one, sizeof(edges) - strlen(edges) - 1);
    }
    const char *py = getenv("LW_PYTHON") ? getenv("LW_PYTHON") : "/usr/bin/python3";
    const long pyreps = reps < 5 ? reps : 5; /* statsmodels takes seconds per rep */
    snprintf(cmd, sizeof(cmd), "'%s' '%s' '%s' '%s' %ld 2>/dev/null", py, script, path, edges,
             pyreps);
    FILE *pp = popen(cmd, "r");
    double sm_med = (double)NAN, sm_fsum = (double)NAN;
    if (pp) {
        char line[256];
        while (fgets(line, sizeof(line), pp)) {
            char *end = NULL;
            if (strncmp(line, "median_s ", 9) == 0)
                sm_med = strtod(line + 9, &end);
            else if (strncmp(line, "fsum ", 5) == 0)
                sm_fsum = strtod(line + 5, &end);
        }
        pclose(pp);
    }
    unlink(path);
    if (!isfinite(sm_med) || !isfinite(sm_fsum)) {
        printf("statsmodels: unavailable (ran: %s)\n", cmd);
        return 0;
    }
    const double rel = fabs(sm_fsum - fsum) / fabs(sm_fsum);
    printf("statsmodels median %9.3f ms  (%.4f ms per edge-lag; median of %ld)\n", sm_med * 1e3,
           sm_med * 1e3 / tests, pyreps);
    printf("speed-up    %.0fx\n", sm_med / ours);
    printf("check       sum of %d F statistics: ours %.12g, statsmodels %.12g (rel diff %.1e)\n",
           tests, fsum, sm_fsum, rel);
    return rel <= 1e-9 ? 0 : 1;
}
