/*
 * test_promtext.c - the metrics registry and its Prometheus text exposition
 * (promtext.h): the exact text for a known registry, label and HELP
 * escaping, float formatting, histogram buckets, the series bound with its
 * discard series, name validation, and counts that stay exact under
 * concurrent updates from several threads while another thread renders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leadwatch/alert/procmetrics.h"
#include "leadwatch/alert/promtext.h"
#include <time.h>

static lw_promtext_t *new_reg(size_t max_series)
{
    lw_promtext_t *reg = NULL;
    char err[256];
    assert_int_equal(lw_promtext_new("leadwatch", 16, max_series, &reg, err, sizeof err), LW_OK);
    return reg;
}

static lw_promtext_family_t *fam(lw_promtext_t *reg, lw_promtext_type_t type, const char *name,
                                 const char *help, const char *const *labels, size_t nlabels,
                                 const double *b, size_t nb)
{
    lw_promtext_family_t *f = NULL;
    char err[256];
    if (lw_promtext_family(reg, type, name, help, labels, nlabels, b, nb, &f, err, sizeof err) !=
        LW_OK)
        fail_msg("family %s: %s", name, err);
    return f;
}

static char *render(lw_promtext_t *reg)
{
    lw_buf_t b;
    lw_buf_init(&b, 1 << 20);
    assert_int_equal(lw_promtext_render(reg, &b), LW_OK);
    char *s = lw_buf_detach(&b, NULL);
    return s ? s : strdup("");
}

static void test_exact_exposition(void **state)
{
    (void)state;
    lw_promtext_t *reg = new_reg(64);
    static const char *const reason[] = {"reason"};
    static const char *const edge[] = {"input", "nsm"};
    static const double lat[] = {0.001, 0.01, 0.1};

    lw_promtext_family_t *consumed = fam(reg, LW_PROMTEXT_COUNTER, "events_consumed_total",
                                         "Events consumed.", NULL, 0, NULL, 0);
    lw_promtext_family_t *rejected = fam(reg, LW_PROMTEXT_COUNTER, "events_rejected_total",
                                         "Events rejected, by reason.", reason, 1, NULL, 0);
    lw_promtext_family_t *unused =
        fam(reg, LW_PROMTEXT_GAUGE, "unused", "No series yet.", reason, 1, NULL, 0);
    lw_promtext_family_t *p = fam(reg, LW_PROMTEXT_GAUGE, "edge_p",
                                  "Primary p-value.\nSecond line \\ here.", edge, 2, NULL, 0);
    lw_promtext_family_t *commit = fam(reg, LW_PROMTEXT_HISTOGRAM, "store_commit_seconds",
                                       "Store commit latency.", NULL, 0, lat, 3);
    (void)unused;

    lw_promtext_series_t *c = lw_promtext_series(consumed, NULL);
    for (int i = 0; i < 41; i++)
        lw_promtext_inc(c);
    lw_promtext_add(c, 1);
    lw_promtext_add(c, -5); /* ignored */
    const char *bad_json[] = {"bad_json"};
    const char *odd[] = {"quote\" back\\slash\nnewline"};
    lw_promtext_inc(lw_promtext_series(rejected, bad_json));
    lw_promtext_add(lw_promtext_series(rejected, odd), 2);
    lw_promtext_inc(lw_promtext_series(rejected, bad_json)); /* same series */
    const char *e1[] = {"playlists", "listeners"}, *e2[] = {"searches", "listeners"};
    lw_promtext_set(lw_promtext_series(p, e1), 0.1);
    lw_promtext_set(lw_promtext_series(p, e2), NAN);
    lw_promtext_series_t *h = lw_promtext_series(commit, NULL);
    lw_promtext_observe(h, 0.0005);
    lw_promtext_observe(h, 0.001); /* le is inclusive */
    lw_promtext_observe(h, 0.05);
    lw_promtext_observe(h, 3);

    char *text = render(reg);
    const char *want =
        "# HELP leadwatch_events_consumed_total Events consumed.\n"
        "# TYPE leadwatch_events_consumed_total counter\n"
        "leadwatch_events_consumed_total 42\n"
        "# HELP leadwatch_events_rejected_total Events rejected, by reason.\n"
        "# TYPE leadwatch_events_rejected_total counter\n"
        "leadwatch_events_rejected_total{reason=\"bad_json\"} 2\n"
        "leadwatch_events_rejected_total{reason=\"quote\\\" back\\\\slash\\nnewline\"} 2\n"
        "# HELP leadwatch_edge_p Primary p-value.\\nSecond line \\\\ here.\n"
        "# TYPE leadwatch_edge_p gauge\n"
        "leadwatch_edge_p{input=\"playlists\",nsm=\"listeners\"} 0.1\n"
        "leadwatch_edge_p{input=\"searches\",nsm=\"listeners\"} NaN\n"
        "# HELP leadwatch_store_commit_seconds Store commit latency.\n"
        "# TYPE leadwatch_store_commit_seconds histogram\n"
        "leadwatch_store_commit_seconds_bucket{le=\"0.001\"} 2\n"
        "leadwatch_store_commit_seconds_bucket{le=\"0.01\"} 2\n"
        "leadwatch_store_commit_seconds_bucket{le=\"0.1\"} 3\n"
        "leadwatch_store_commit_seconds_bucket{le=\"+Inf\"} 4\n"
        "leadwatch_store_commit_seconds_sum 3.0515\n"
        "leadwatch_store_commit_seconds_count 4\n";
    assert_string_equal(text, want);
    free(text);
    lw_promtext_destroy(reg);
}

static void test_values(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0, "0"},
        {-0.0, "0"},
        {1e14, "100000000000000"},
        {-3, "-3"},
        {0.1, "0.1"},
        {1.0 / 3, "0.3333333333333333"},
        {1e300, "1e+300"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
        {2.5e-7, "2.5e-07"},
    };
    lw_promtext_t *reg = new_reg(64);
    static const char *const k[] = {"k"};
    lw_promtext_family_t *g = fam(reg, LW_PROMTEXT_GAUGE, "g", "h", k, 1, NULL, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[8];
        snprintf(name, sizeof name, "%zu", i);
        const char *v[] = {name};
        lw_promtext_set(lw_promtext_series(g, v), cases[i].v);
    }
    char *text = render(reg);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "leadwatch_g{k=\"%zu\"} %s\n", i, cases[i].want);
        const char *hit = strstr(text, line);
        if (!hit)
            fail_msg("missing %s in\n%s", line, text);
        /* the printed number reads back to the same double */
        double back = strtod(strchr(hit, '}') + 2, NULL);
        if (isfinite(cases[i].v))
            assert_true(back == cases[i].v);
    }
    free(text);
    lw_promtext_destroy(reg);
}

static void test_bounds_and_names(void **state)
{
    (void)state;
    char err[256];
    lw_promtext_t *reg = new_reg(3);
    static const char *const k[] = {"k"};
    lw_promtext_family_t *f = fam(reg, LW_PROMTEXT_GAUGE, "g", "h", k, 1, NULL, 0), *again = NULL;
    const char *a[] = {"a"}, *b[] = {"b"}, *c[] = {"c"}, *d[] = {"d"};
    lw_promtext_series_t *sa = lw_promtext_series(f, a);
    lw_promtext_series_t *sb = lw_promtext_series(f, b);
    lw_promtext_series_t *sc = lw_promtext_series(f, c);
    lw_promtext_series_t *sd = lw_promtext_series(f, d); /* over the bound: discard */
    assert_true(sa != sb && sb != sc);
    assert_non_null(sd);
    lw_promtext_set(sd, 7); /* accepted, never rendered */
    assert_int_equal(lw_promtext_refused(reg), 1);
    const char *bad_utf8[] = {"\xc3\x28"};
    lw_promtext_series(f, bad_utf8);
    assert_int_equal(lw_promtext_refused(reg), 2);
    char *text = render(reg);
    assert_null(strstr(text, "k=\"d\""));
    assert_null(strstr(text, " 7\n"));
    assert_non_null(strstr(text, "leadwatch_metrics_series_refused_total 2\n"));
    free(text);

    /* a full buffer rewinds and reports */
    lw_buf_t small;
    lw_buf_init(&small, 40);
    lw_buf_puts(&small, "keep");
    assert_int_equal(lw_promtext_render(reg, &small), LW_ERR_TOO_LARGE);
    assert_int_equal(small.len, 4);
    lw_buf_release(&small);

    /* idempotent registration; conflicts and bad names refused */
    assert_int_equal(lw_promtext_family(reg, LW_PROMTEXT_GAUGE, "g", "h", k, 1, NULL, 0, &again,
                                        err, sizeof err),
                     LW_OK);
    assert_ptr_equal(again, f);
    assert_int_equal(lw_promtext_family(reg, LW_PROMTEXT_COUNTER, "g", "h", k, 1, NULL, 0, &again,
                                        err, sizeof err),
                     LW_ERR_INVALID);
    static const char *const badlabels[][1] = {{"__x"}, {"1a"}, {"a-b"}, {""}};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(lw_promtext_family(reg, LW_PROMTEXT_GAUGE, "x", "h", badlabels[i], 1, NULL,
                                            0, &again, err, sizeof err),
                         LW_ERR_INVALID);
    static const char *const badnames[] = {"1x", "a b", "", "x-y"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(lw_promtext_family(reg, LW_PROMTEXT_GAUGE, badnames[i], "h", NULL, 0, NULL,
                                            0, &again, err, sizeof err),
                         LW_ERR_INVALID);
    static const char *const le[] = {"le"};
    static const double bk[] = {1, 1};
    assert_int_equal(lw_promtext_family(reg, LW_PROMTEXT_HISTOGRAM, "h1", "h", le, 1, bk, 1, &again,
                                        err, sizeof err),
                     LW_ERR_INVALID);
    assert_int_equal(lw_promtext_family(reg, LW_PROMTEXT_HISTOGRAM, "h2", "h", NULL, 0, bk, 2,
                                        &again, err, sizeof err),
                     LW_ERR_INVALID);
    lw_promtext_destroy(reg);
}

typedef struct {
    lw_promtext_series_t *counter, *hist;
    int n;
} worker_t;

static void *hammer(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < w->n; i++) {
        lw_promtext_inc(w->counter);
        lw_promtext_observe(w->hist, (double)(i % 3));
    }
    return NULL;
}

static void test_concurrent_updates(void **state)
{
    (void)state;
    lw_promtext_t *reg = new_reg(16);
    static const double b[] = {0.5, 1.5};
    lw_promtext_family_t *cf = fam(reg, LW_PROMTEXT_COUNTER, "c_total", "c", NULL, 0, NULL, 0);
    lw_promtext_family_t *hf = fam(reg, LW_PROMTEXT_HISTOGRAM, "h", "h", NULL, 0, b, 2);
    worker_t w = {lw_promtext_series(cf, NULL), lw_promtext_series(hf, NULL), 200000};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, &w), 0);
    for (int i = 0; i < 50; i++) { /* scrapes meanwhile see consistent histograms */
        char *text = render(reg);
        const char *inf = strstr(text, "le=\"+Inf\"} ");
        const char *cnt = strstr(text, "leadwatch_h_count ");
        assert_non_null(inf);
        assert_non_null(cnt);
        assert_true(strtod(inf + 11, NULL) == strtod(cnt + 18, NULL));
        free(text);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_true(lw_promtext_value(w.counter) == 800000.0);
    assert_true(lw_promtext_value(w.hist) == 800000.0);
    char *text = render(reg);
    /* i % 3 over 200000: 66667 zeros, 66667 ones, 66666 twos per thread */
    assert_non_null(strstr(text, "leadwatch_h_bucket{le=\"0.5\"} 266668\n"));
    assert_non_null(strstr(text, "leadwatch_h_bucket{le=\"1.5\"} 533336\n"));
    assert_non_null(strstr(text, "leadwatch_h_sum 799996\n"));
    free(text);
    lw_promtext_destroy(reg);
}

/* Raisers of one counter from several threads: each walks its own total up to a different peak. */
typedef struct {
    lw_promtext_series_t *s;
    int peak;
} raiser_t;

static void *raise_up(void *arg)
{
    raiser_t *r = arg;
    for (int i = 0; i <= r->peak; i++)
        lw_promtext_raise(r->s, (double)i);
    return NULL;
}

/* lw_promtext_raise: a counter following a total kept elsewhere never goes down and misses no
 * peak, with no lock in the caller (procmetrics' CPU seconds, the daemon's lost offsets). */
static void test_raise(void **state)
{
    (void)state;
    lw_promtext_t *reg = new_reg(16);
    lw_promtext_family_t *cf = fam(reg, LW_PROMTEXT_COUNTER, "r_total", "r", NULL, 0, NULL, 0);
    lw_promtext_series_t *c = lw_promtext_series(cf, NULL);
    lw_promtext_raise(c, 5);
    assert_true(lw_promtext_value(c) == 5.0);
    lw_promtext_raise(c, 3); /* a smaller total: unchanged */
    lw_promtext_raise(c, NAN);
    lw_promtext_raise(c, -1);
    assert_true(lw_promtext_value(c) == 5.0);
    lw_promtext_raise(c, 7.5);
    assert_true(lw_promtext_value(c) == 7.5);
    lw_promtext_add(c, 1); /* it stays a counter */
    assert_true(lw_promtext_value(c) == 8.5);

    lw_promtext_family_t *pf = fam(reg, LW_PROMTEXT_COUNTER, "p_total", "p", NULL, 0, NULL, 0);
    raiser_t r[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (raiser_t){lw_promtext_series(pf, NULL), 100000 + 25000 * i};
        assert_int_equal(pthread_create(&th[i], NULL, raise_up, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_true(lw_promtext_value(r[0].s) == 175000.0);
    lw_promtext_destroy(reg);
}

/* The collect function runs at every render, before the values are read,
 * and may create series: a scrape shows the owner's current value. */
typedef struct {
    lw_promtext_family_t *fam;
    lw_promtext_series_t *s;
    double owner_value; /* what the "other component" holds right now */
    int calls;
} collect_ctx_t;

static void collect_fn(void *p)
{
    collect_ctx_t *c = p;
    c->calls++;
    if (!c->s)
        c->s = lw_promtext_series(c->fam, NULL);
    lw_promtext_set(c->s, c->owner_value);
}

static void test_collect_at_render(void **state)
{
    (void)state;
    lw_promtext_t *reg = new_reg(8);
    collect_ctx_t c = {.fam =
                           fam(reg, LW_PROMTEXT_GAUGE, "queue_length", "Queued.", NULL, 0, NULL, 0),
                       .owner_value = 3};
    assert_int_equal(lw_promtext_add_collect(reg, collect_fn, &c), LW_OK);
    char *out = render(reg);
    assert_non_null(strstr(out, "\nleadwatch_queue_length 3\n"));
    free(out);
    c.owner_value = 0; /* the owner drained its queue; nobody ticked */
    out = render(reg);
    assert_non_null(strstr(out, "\nleadwatch_queue_length 0\n"));
    assert_int_equal(c.calls, 2);
    free(out);
    lw_promtext_destroy(reg);
}

/* Unknown values are absent: a gauge appears at its first set and disappears
 * on unset (with its HELP/TYPE when no series is left); set_known turns NaN
 * into absent; bare families drop the namespace; several collectors run in
 * the order added, and the list is bounded. */
static void collect_second(void *p)
{
    collect_ctx_t *c = p;
    c->calls += 10;
}

static void test_absent_bare_collectors(void **state)
{
    (void)state;
    lw_promtext_t *reg = new_reg(16);
    static const char *const k[] = {"k"};
    lw_promtext_family_t *lag = fam(reg, LW_PROMTEXT_GAUGE, "lag", "Lag.", NULL, 0, NULL, 0);
    lw_promtext_family_t *p = fam(reg, LW_PROMTEXT_GAUGE, "p", "P.", k, 1, NULL, 0);
    lw_promtext_family_t *cpu = NULL;
    char err[256];
    assert_int_equal(lw_promtext_family_bare(reg, LW_PROMTEXT_COUNTER, "process_cpu_seconds_total",
                                             "CPU.", NULL, 0, &cpu, err, sizeof err),
                     LW_OK);
    lw_promtext_add(lw_promtext_series(cpu, NULL), 1.5);
    lw_promtext_series_t *a = lw_promtext_series(p, (const char *const[]){"a"});
    lw_promtext_series_t *b = lw_promtext_series(p, (const char *const[]){"b"});
    lw_promtext_set(a, 0.25);
    char *text = render(reg);
    assert_string_equal(text, "# HELP leadwatch_p P.\n# TYPE leadwatch_p gauge\n"
                              "leadwatch_p{k=\"a\"} 0.25\n"
                              "# HELP process_cpu_seconds_total CPU.\n"
                              "# TYPE process_cpu_seconds_total counter\n"
                              "process_cpu_seconds_total 1.5\n");
    free(text);
    assert_false(lw_promtext_present(b));
    lw_promtext_set_known(b, 3, true);
    lw_promtext_set_known(a, NAN, true); /* NaN is not a value */
    lw_promtext_set(lw_promtext_series(lag, NULL), 7);
    text = render(reg);
    assert_non_null(strstr(text, "leadwatch_lag 7\n"));
    assert_non_null(strstr(text, "leadwatch_p{k=\"b\"} 3\n"));
    assert_null(strstr(text, "k=\"a\""));
    assert_null(strstr(text, "NaN"));
    free(text);
    lw_promtext_unset(lw_promtext_series(lag, NULL));
    lw_promtext_set_known(b, 1, false);
    text = render(reg);
    assert_null(strstr(text, "leadwatch_lag"));
    assert_null(strstr(text, "leadwatch_p"));
    free(text);

    collect_ctx_t c = {.fam = lag, .owner_value = 2};
    assert_int_equal(lw_promtext_add_collect(reg, collect_fn, &c), LW_OK);
    assert_int_equal(lw_promtext_add_collect(reg, collect_second, &c), LW_OK);
    for (unsigned i = 2; i < LW_PROMTEXT_MAX_COLLECT; i++)
        assert_int_equal(lw_promtext_add_collect(reg, collect_second, &c), LW_OK);
    assert_int_equal(lw_promtext_add_collect(reg, collect_second, &c), LW_ERR_TOO_LARGE);
    text = render(reg);
    assert_non_null(strstr(text, "leadwatch_lag 2\n"));
    assert_int_equal(c.calls, 1 + 10 * (int)(LW_PROMTEXT_MAX_COLLECT - 1));
    free(text);
    lw_promtext_destroy(reg);
}

/* build_info and process_* from /proc: the names without the prefix, and
 * values a live process can have. */
static void test_process_metrics(void **state)
{
    (void)state;
    lw_promtext_t *reg = new_reg(64);
    lw_procmetrics_t *pm = NULL;
    char err[256];
    assert_int_equal(lw_procmetrics_new(reg, &pm, err, sizeof err), LW_OK);
    lw_proc_sample_t s;
    assert_true(lw_proc_sample(&s));
    double now = (double)time(NULL);
    assert_true(s.start_time_seconds > now - 3600 && s.start_time_seconds <= now + 1);
    assert_true(s.rss_bytes > 1e5 && s.vsize_bytes >= s.rss_bytes);
    assert_true(s.open_fds >= 3 && s.max_fds >= s.open_fds);
    assert_true(s.cpu_seconds >= 0);
    volatile double burn = 0; /* some CPU time so the counter moves */
    for (long i = 0; i < 30000000; i++)
        burn += (double)i;
    char *text = render(reg);
    static const char *const want[] = {
        "\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ",
        "\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes ",
        "\n# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes ",
        "\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds ",
        "\n# TYPE process_open_fds gauge\nprocess_open_fds ",
        "\n# TYPE process_max_fds gauge\nprocess_max_fds ",
        "\nleadwatch_build_info{version=\"" LW_VERSION "\",gsl=\"",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(text, want[i]))
            fail_msg("missing %s in\n%s", want[i], text);
    assert_non_null(strstr(text, "\",librdkafka=\""));
    assert_non_null(strstr(text, "\"} 1\n"));
    double cpu = strtod(strstr(text, "\nprocess_cpu_seconds_total ") + 28, NULL);
    assert_true(cpu > 0);
    free(text);
    lw_promtext_destroy(reg);
    lw_procmetrics_free(pm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_exposition),  cmocka_unit_test(test_values),
        cmocka_unit_test(test_bounds_and_names),  cmocka_unit_test(test_concurrent_updates),
        cmocka_unit_test(test_collect_at_render), cmocka_unit_test(test_absent_bare_collectors),
        cmocka_unit_test(test_process_metrics),   cmocka_unit_test(test_raise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
