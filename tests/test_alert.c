/*
 * test_alert.c - the alert state machine (alert.h): table-driven sequences
 * of verdicts with the expected state after every evaluation (pending,
 * firing, resolved, nodata, keep_firing_for, flapping, history), then
 * labels/annotations, restart from the serialised state, the stall alert,
 * retirement of removed edges and the bounds.
 *
 * Sequence notation: one character per evaluation.
 *   verdicts: L leads, F feedback, R reverse, I inconclusive,
 *             P inconclusive + predicts (primary test still significant),
 *             D insufficient_data, N nodata flag (verdict leads),
 *             s leads + not sensitive, S leads + sensitive
 *   states:   i inactive, p pending, F firing, r resolved, n nodata
 * An event is expected exactly when the expected state differs from the
 * previous expected state, and its `to` must be that state.
 * An entry arms (its loss can alert) only after more than `for` consecutive
 * healthy evaluations, so most sequences open with for + 1 leads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "leadwatch/alert/alert.h"

#define T0 INT64_C(1767225600000) /* 2026-01-01 */
#define DAY INT64_C(86400000)

static lw_alert_obs_t obs_for(char code, bool kpi)
{
    lw_alert_obs_t o;
    memset(&o, 0, sizeof o);
    o.nsm = "listeners";
    o.source = kpi ? "listeners" : "playlists";
    o.target = kpi ? "revenue" : "listeners";
    o.kind = kpi ? "kpi" : "depth";
    o.is_kpi = kpi;
    o.evidence.p = NAN;
    o.evidence.q = NAN;
    o.evidence.coefficient = NAN;
    o.evidence.oos_skill = NAN;
    o.sensitivity_known = true;
    o.sensitive = true;
    switch (code) {
    case 'L': o.verdict = LW_ALERT_V_LEADS; break;
    case 'F': o.verdict = LW_ALERT_V_FEEDBACK; break;
    case 'R': o.verdict = LW_ALERT_V_REVERSE; break;
    case 'I': o.verdict = LW_ALERT_V_INCONCLUSIVE; break;
    case 'D': o.verdict = LW_ALERT_V_INSUFFICIENT_DATA; break;
    case 'P': /* inconclusive, but the primary test is still significant */
        o.verdict = LW_ALERT_V_INCONCLUSIVE;
        o.predicts = true;
        break;
    case 'N':
        o.verdict = LW_ALERT_V_LEADS;
        o.nodata = true;
        break;
    case 's': o.sensitive = false; break;
    case 'S': break;
    default: fail_msg("bad verdict code %c", code);
    }
    return o;
}

static lw_alert_state_t state_code(char c)
{
    switch (c) {
    case 'i': return LW_ALERT_INACTIVE;
    case 'p': return LW_ALERT_PENDING;
    case 'F': return LW_ALERT_FIRING;
    case 'r': return LW_ALERT_RESOLVED;
    case 'n': return LW_ALERT_NODATA;
    default: fail_msg("bad state code %c", c);
    }
    return LW_ALERT_INACTIVE;
}

typedef struct {
    const char *name;
    lw_alert_cond_t cond;
    bool kpi;
    bool led_before;
    unsigned for_evals, keep_firing_for;
    const char *verdicts;
    const char *states;
} seq_case_t;

static const seq_case_t seq_cases[] = {
    {"fires on the evaluation after `for` failing ones", LW_ALERT_COND_NO_LONGER_LEADS, false,
     false, 2, 0, "LLLIIII", "iiippFF"},
    {"for 0 fires at once", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 0, 0, "LIL", "iFr"},
    {"an edge that never led never alerts", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 0, 0,
     "IIIRRIID", "iiiiiiin"},
    {"history from the store arms the edge", LW_ALERT_COND_NO_LONGER_LEADS, false, true, 2, 0,
     "III", "ppF"},
    {"a pass ends pending", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 2, 0, "LLLIILIII",
     "iiippippF"},
    {"feedback still leads", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 1, 0, "LLFFIFI",
     "iiiipip"},
    {"keep_firing_for passes before resolving", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 1, 2,
     "LLIILLLL", "iipFFFrr"},
    {"flapping while firing never resolves", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 1, 1,
     "LLIILILILIL", "iipFFFFFFFF"},
    {"flapping while pending never fires", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 1, 0,
     "LLILILILI", "iipipipip"},
    {"resolved alert can fire again", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 1, 0, "LLIILIII",
     "iipFrpFF"},
    {"nodata breaks a pending streak", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 2, 0,
     "LLLIINIIII", "iiippnppFF"},
    {"insufficient data is nodata", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 2, 0, "LLLIIDDIII",
     "iiippnnppF"},
    {"nodata holds a firing alert", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 0, 1, "LINNLNLL",
     "iFFFFFFr"},
    {"nodata ends by a pass", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 0, 0, "LNNL", "inni"},
    {"reverse needs a reverse verdict", LW_ALERT_COND_REVERSE, false, false, 1, 0, "LLIIRRRL",
     "iiiipFFr"},
    {"reverse of a never-leading edge is silent", LW_ALERT_COND_REVERSE, false, false, 0, 0, "RRR",
     "iii"},
    {"kpi edge: kpi_link_lost", LW_ALERT_COND_KPI_LINK_LOST, true, false, 1, 0, "LLIIL", "iipFr"},
    {"kpi edge has no no_longer_leads", LW_ALERT_COND_NO_LONGER_LEADS, true, false, 0, 0, "LII",
     "iii"},
    {"not_sensitive after being sensitive", LW_ALERT_COND_NOT_SENSITIVE, false, false, 1, 0,
     "sSSssS", "iiipFr"},
    {"a lead shorter than for + 1 does not arm", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 2, 0,
     "LLIIIILLIII", "iiiiiiiiiii"},
    {"for + 1 consecutive leads arm", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 2, 0,
     "LLILLLIII", "iiiiiippF"},
    {"inconclusive but still predicting is not a failure", LW_ALERT_COND_NO_LONGER_LEADS, false,
     false, 1, 0, "LLPPPIIP", "iiiiipFr"},
    {"predicts does not advance the healthy streak", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 2,
     0, "LLPIIII", "iiiiiii"},
    {"predicts does not reset the healthy streak", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 2,
     0, "LPLPLIII", "iiiiippF"},
    {"a never-leading edge that predicts stays silent", LW_ALERT_COND_NO_LONGER_LEADS, false, false,
     0, 0, "PPPIII", "iiiiii"},
    {"predicts ends a pending kpi_link_lost", LW_ALERT_COND_KPI_LINK_LOST, true, false, 1, 0,
     "LLIPII", "iipipF"},
    {"for 0: one lead arms, predicts holds", LW_ALERT_COND_NO_LONGER_LEADS, false, false, 0, 0,
     "LPPI", "iiiF"},
    {"led_before arms at once even after short leads", LW_ALERT_COND_NO_LONGER_LEADS, false, true,
     3, 0, "LIIII", "ipppF"},
    {"not_sensitive arms only after a sustained sensitive lead", LW_ALERT_COND_NOT_SENSITIVE, false,
     false, 1, 0, "SsSsss", "iiiiii"},
    {"not_sensitive is silent when not leading", LW_ALERT_COND_NOT_SENSITIVE, false, false, 0, 0,
     "SIIR", "iiii"},
};

/* A new table with these timings (the rest at their defaults). */
static lw_alert_table_t *new_table(unsigned for_evals, unsigned arm_after, unsigned keep_firing_for)
{
    lw_alert_opts_t opts;
    lw_alert_table_t *t = NULL;
    char err[256];
    lw_alert_opts_default(&opts);
    opts.for_evals = for_evals;
    opts.arm_after = arm_after;
    opts.keep_firing_for = keep_firing_for;
    if (lw_alert_table_new(&opts, &t, err, sizeof err) != LW_OK)
        fail_msg("lw_alert_table_new: %s", err);
    return t;
}

static void run_seq(const seq_case_t *c)
{
    char err[256];
    /* these sequences arm after for + 1 leads */
    lw_alert_table_t *t = new_table(c->for_evals, c->for_evals + 1, c->keep_firing_for);

    lw_alert_state_t prev = LW_ALERT_INACTIVE;
    size_t n = strlen(c->verdicts);
    assert_int_equal(n, strlen(c->states));
    for (size_t i = 0; i < n; i++) {
        lw_alert_obs_t o = obs_for(c->verdicts[i], c->kpi);
        o.led_before = c->led_before;
        int64_t now = T0 + (int64_t)i * DAY;
        assert_int_equal(lw_alert_eval(t, &o, 1, now, err, sizeof err), LW_OK);
        assert_true(lw_alert_check(t));
        lw_alert_state_t want = state_code(c->states[i]);
        lw_alert_state_t got = lw_alert_state(t, o.source, o.target, c->cond);
        if (got != want)
            fail_msg("%s: step %zu (%c): state %s, want %s", c->name, i, c->verdicts[i],
                     lw_alert_state_name(got), lw_alert_state_name(want));
        size_t nev, mine = 0;
        const lw_alert_event_t *ev = lw_alert_events(t, &nev);
        for (size_t k = 0; k < nev; k++) {
            if (ev[k].cond != c->cond)
                continue;
            mine++;
            assert_int_equal(ev[k].from, prev);
            assert_int_equal(ev[k].to, want);
            assert_false(ev[k].refresh);
            assert_true(ev[k].at_ms == now);
            if (want == LW_ALERT_FIRING)
                assert_true(ev[k].starts_at_ms == now);
            if (want == LW_ALERT_RESOLVED)
                assert_true(ev[k].ends_at_ms == now);
        }
        if (mine != (want != prev ? 1u : 0u))
            fail_msg("%s: step %zu: %zu events, want %d", c->name, i, mine, want != prev);
        prev = want;
    }
    lw_alert_table_destroy(t);
}

static void test_sequences(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof seq_cases / sizeof seq_cases[0]; i++)
        run_seq(&seq_cases[i]);
}

/* Fire no_longer_leads for playlists->listeners (for 1) and return the table. */
static lw_alert_table_t *fired_table(unsigned keep_firing_for)
{
    char err[256];
    lw_alert_table_t *t = new_table(1, 1 + 1, keep_firing_for); /* arms after for + 1 leads */
    const char *seq = "LLII"; /* for + 1 leads arm, then for + 1 failures fire */
    for (int i = 0; seq[i]; i++) {
        lw_alert_obs_t o = obs_for(seq[i], false);
        assert_int_equal(lw_alert_eval(t, &o, 1, T0 + i * DAY, err, sizeof err), LW_OK);
    }
    assert_int_equal(lw_alert_state(t, "playlists", "listeners", LW_ALERT_COND_NO_LONGER_LEADS),
                     LW_ALERT_FIRING);
    return t;
}

static void test_labels_and_annotations(void **state)
{
    (void)state;
    char err[256];
    lw_alert_table_t *t = new_table(0, 0 + 1, 0); /* arms after for + 1 leads */

    lw_alert_obs_t o = obs_for('L', false);
    assert_int_equal(lw_alert_eval(t, &o, 1, T0, err, sizeof err), LW_OK);
    o = obs_for('I', false);
    o.evidence.p = 0.4123456;
    o.evidence.q = 0.61;
    o.evidence.lag = 3;
    o.evidence.coefficient = -0.25;
    o.evidence.window_first = "2025-10-01";
    o.evidence.window_last = "2025-12-31";
    o.evidence.as_of = "2025-12-31";
    o.evidence.break_period = "2025-11-15";
    assert_int_equal(lw_alert_eval(t, &o, 1, T0 + DAY, err, sizeof err), LW_OK);

    size_t n;
    const lw_alert_event_t *ev = lw_alert_events(t, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ev->to, LW_ALERT_FIRING);
    assert_string_equal(lw_alert_event_label(ev, "alertname"), "LeadwatchInputNoLongerLeads");
    assert_string_equal(lw_alert_event_label(ev, "nsm"), "listeners");
    assert_string_equal(lw_alert_event_label(ev, "input"), "playlists");
    assert_string_equal(lw_alert_event_label(ev, "kind"), "depth");
    assert_string_equal(lw_alert_event_label(ev, "edge"), "playlists->listeners");
    for (size_t i = 1; i < ev->nlabels; i++)
        assert_true(strcmp(ev->labels[i - 1].key, ev->labels[i].key) < 0);
    assert_string_equal(lw_alert_event_annotation(ev, "p"), "0.4123");
    assert_string_equal(lw_alert_event_annotation(ev, "q"), "0.61");
    assert_string_equal(lw_alert_event_annotation(ev, "lag"), "3");
    assert_string_equal(lw_alert_event_annotation(ev, "coefficient"), "-0.25");
    assert_string_equal(lw_alert_event_annotation(ev, "window_first"), "2025-10-01");
    assert_string_equal(lw_alert_event_annotation(ev, "window_last"), "2025-12-31");
    assert_string_equal(lw_alert_event_annotation(ev, "as_of"), "2025-12-31");
    assert_string_equal(lw_alert_event_annotation(ev, "break_period"), "2025-11-15");
    assert_string_equal(lw_alert_event_annotation(ev, "verdict"), "inconclusive");
    assert_null(lw_alert_event_annotation(ev, "oos_skill")); /* NAN: left out */
    assert_non_null(strstr(lw_alert_event_annotation(ev, "summary"), "no longer leads"));
    uint64_t fp = ev->fingerprint;

    /* same labels, same fingerprint, whatever the evidence; a caller summary wins */
    o = obs_for('L', false);
    o.evidence.summary = "custom text";
    assert_int_equal(lw_alert_eval(t, &o, 1, T0 + 2 * DAY, err, sizeof err), LW_OK);
    ev = lw_alert_events(t, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ev->to, LW_ALERT_RESOLVED);
    assert_true(ev->fingerprint == fp);
    assert_true(ev->starts_at_ms == T0 + DAY);
    assert_true(ev->ends_at_ms == T0 + 2 * DAY);
    assert_string_equal(lw_alert_event_annotation(ev, "summary"), "custom text");

    /* a different edge has a different identity */
    lw_alert_obs_t two[2] = {obs_for('I', false), obs_for('I', false)};
    two[1].source = "searches";
    two[1].led_before = true;
    assert_int_equal(lw_alert_eval(t, two, 2, T0 + 3 * DAY, err, sizeof err), LW_OK);
    ev = lw_alert_events(t, &n);
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].to, LW_ALERT_FIRING);
    assert_int_equal(ev[1].to, LW_ALERT_FIRING);
    assert_true(ev[0].fingerprint == fp);
    assert_true(ev[1].fingerprint != fp);
    assert_string_equal(lw_alert_event_label(&ev[1], "edge"), "searches->listeners");
    lw_alert_table_destroy(t);
}

static void test_restart_does_not_refire(void **state)
{
    (void)state;
    char err[256];
    lw_alert_table_t *t = fired_table(1);
    lw_buf_t blob;
    lw_buf_init(&blob, 1 << 20);
    assert_int_equal(lw_alert_save(t, &blob), LW_OK);
    size_t n;
    assert_int_equal(lw_alert_count(t), 3); /* no_longer_leads, reverse, not_sensitive */

    lw_alert_opts_t opts;
    lw_alert_opts_default(&opts);
    opts.for_evals = 1;
    opts.arm_after = 1 + 1; /* these sequences arm after for + 1 leads */
    opts.keep_firing_for = 1;
    lw_alert_table_t *r = NULL;
    assert_int_equal(lw_alert_table_new(&opts, &r, err, sizeof err), LW_OK);
    assert_int_equal(lw_alert_load(r, blob.data, blob.len, err, sizeof err), LW_OK);
    assert_true(lw_alert_check(r));
    assert_int_equal(lw_alert_count(r), 3);
    assert_int_equal(lw_alert_state(r, "playlists", "listeners", LW_ALERT_COND_NO_LONGER_LEADS),
                     LW_ALERT_FIRING);

    /* saving the restored table gives the same bytes */
    lw_buf_t again;
    lw_buf_init(&again, 1 << 20);
    assert_int_equal(lw_alert_save(r, &again), LW_OK);
    assert_int_equal(again.len, blob.len);
    assert_memory_equal(again.data, blob.data, blob.len);
    lw_buf_release(&again);

    lw_alert_refresh(r, T0 + 10 * DAY);
    const lw_alert_event_t *ev = lw_alert_events(r, &n);
    assert_int_equal(n, 1);
    assert_true(ev->refresh);
    assert_int_equal(ev->from, LW_ALERT_FIRING);
    assert_int_equal(ev->to, LW_ALERT_FIRING);
    assert_true(ev->starts_at_ms == T0 + 3 * DAY); /* the original firing time ("LLII") */
    assert_string_equal(lw_alert_event_annotation(ev, "verdict"), "inconclusive");

    /* still failing after the restart: no new firing event */
    lw_alert_obs_t o = obs_for('I', false);
    assert_int_equal(lw_alert_eval(r, &o, 1, T0 + 11 * DAY, err, sizeof err), LW_OK);
    lw_alert_events(r, &n);
    assert_int_equal(n, 0);
    /* keep_firing_for 1: one pass holds, the second resolves */
    o = obs_for('L', false);
    assert_int_equal(lw_alert_eval(r, &o, 1, T0 + 12 * DAY, err, sizeof err), LW_OK);
    lw_alert_events(r, &n);
    assert_int_equal(n, 0);
    assert_int_equal(lw_alert_eval(r, &o, 1, T0 + 13 * DAY, err, sizeof err), LW_OK);
    ev = lw_alert_events(r, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ev->to, LW_ALERT_RESOLVED);

    /* the history survives too: an armed edge needs no new "leads" to fire */
    lw_alert_table_t *r2 = NULL;
    assert_int_equal(lw_alert_table_new(&opts, &r2, err, sizeof err), LW_OK);
    assert_int_equal(lw_alert_load(r2, blob.data, blob.len, err, sizeof err), LW_OK);
    lw_alert_obs_t rv = obs_for('R', false);
    assert_int_equal(lw_alert_eval(r2, &rv, 1, T0 + 11 * DAY, err, sizeof err), LW_OK);
    assert_int_equal(lw_alert_state(r2, "playlists", "listeners", LW_ALERT_COND_REVERSE),
                     LW_ALERT_PENDING);

    lw_buf_release(&blob);
    lw_alert_table_destroy(r2);
    lw_alert_table_destroy(r);
    lw_alert_table_destroy(t);
}

static void test_load_rejects_damage(void **state)
{
    (void)state;
    char err[256];
    lw_alert_table_t *t = fired_table(0);
    lw_buf_t blob;
    lw_buf_init(&blob, 1 << 20);
    assert_int_equal(lw_alert_save(t, &blob), LW_OK);

    /* every truncation either loads (cut at a line end) or leaves the table as it was */
    lw_alert_table_t *r = fired_table(0);
    lw_buf_t before;
    lw_buf_init(&before, 1 << 20);
    assert_int_equal(lw_alert_save(r, &before), LW_OK);
    size_t rejected = 0;
    for (size_t cut = 0; cut < blob.len; cut++) {
        lw_err_t e = lw_alert_load(r, blob.data, cut, err, sizeof err);
        if (e == LW_OK) {
            assert_true(cut == 0 ? false : blob.data[cut - 1] == '\n');
            assert_int_equal(lw_alert_load(r, blob.data, blob.len, err, sizeof err), LW_OK);
            continue;
        }
        rejected++;
        assert_int_equal(e, LW_ERR_INVALID);
        lw_buf_t now;
        lw_buf_init(&now, 1 << 20);
        assert_int_equal(lw_alert_save(r, &now), LW_OK);
        assert_int_equal(now.len, before.len);
        assert_memory_equal(now.data, before.data, now.len);
        lw_buf_release(&now);
    }
    assert_true(rejected > blob.len - 8);

    /*
     * Inconsistent streaks, bad names, bad numbers, bad header.  v2 fields:
     * cond state fail pass healthy armed active_at fired_at resolved_at is_kpi
     * nsm source target kind n (key value){n}.
     */
#define V2 "leadwatch-alerts 2 0\n"
    static const char *const bad[] = {
        "leadwatch-alerts 3 0\n",                                       /* unknown version */
        "leadwatch-alerts 2 2\n",                                       /* stalled flag not 0/1 */
        "leadwatch-alerts 2 0",                                         /* no newline */
        "reverse\tfiring\t0\t0\t0\t0\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t0\n", /* no header */
        /* a version 1 blob (no streak_healthy) is refused, not misread */
        "leadwatch-alerts 1 0\nreverse\tfiring\t0\t0\t0\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t0\n",
        /* ... and so is a version 1 line under a version 2 header (one field short) */
        V2 "reverse\tfiring\t0\t0\t0\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t0\n",
        V2 "no_such\tfiring\t0\t0\t0\t0\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t0\n",
        V2 "reverse\tno_such\t0\t0\t0\t0\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t0\n",
        V2 "reverse\tpending\t0\t0\t0\t0\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t0\n",  /* pending, no fails */
        V2 "reverse\tinactive\t0\t1\t0\t0\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t0\n", /* pass not firing */
        V2 "reverse\tfiring\t1\t1\t0\t0\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t0\n",   /* both streaks */
        V2 "reverse\tfiring\t0\t0\t0\t0\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t1\t%x\n", /* value missing */
        V2 "reverse\tfiring\t0\t0\t0\t0\t0\t0\t0\t0\tn\t%a\t%b\t%k\t0\n",      /* no leading % */
        V2 "reverse\tfiring\t0\t0\t0\t0\t0\t0\t0\t0\t%n\t%a%0\t%b\t%k\t0\n",   /* cut escape */
        V2 "reverse\tfiring\t0\t0\t0\t0\t0\t0\t0\t0\t%n\t%\t%b\t%k\t0\n",      /* empty source */
        V2 "reverse\tfiring\t-1\t0\t0\t0\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t0\n",    /* negative fail */
        V2 "reverse\tfiring\t0\t0\t-1\t0\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t0\n", /* negative healthy */
        V2 "reverse\tfiring\t0\t0\t4294967296\t0\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t0\n", /* > u32 */
        V2 "reverse\tfiring\t0\t0\tx\t0\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t0\n",     /* not a number */
        V2 "reverse\tfiring\t0\t0\t0\t2\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t0\n",     /* armed 2 */
        V2 "reverse\tfiring\t0\t0\t0\t0\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t0\t%x\n", /* trailing */
        V2 "reverse\tfiring\t0\t0\t0\t0\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t0\n"
           "reverse\tinactive\t0\t0\t0\t0\t0\t0\t0\t0\t%n\t%a\t%b\t%k\t0\n", /* repeated */
    };
#undef V2
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (lw_alert_load(r, bad[i], strlen(bad[i]), err, sizeof err) == LW_OK)
            fail_msg("bad blob %zu loaded", i);
        /* refused blobs leave the table as it was */
        lw_buf_t now;
        lw_buf_init(&now, 1 << 20);
        assert_int_equal(lw_alert_save(r, &now), LW_OK);
        assert_int_equal(now.len, before.len);
        assert_memory_equal(now.data, before.data, now.len);
        lw_buf_release(&now);
    }
    /* a good blob loads and saves back byte for byte (streak_healthy 7 included) */
    const char *good = "leadwatch-alerts 2 1\n"
                       "reverse\tfiring\t4\t0\t7\t1\t5\t6\t0\t0\t%n\t%a%09b\t%b\t%k\t0\n";
    assert_int_equal(lw_alert_load(r, good, strlen(good), err, sizeof err), LW_OK);
    assert_int_equal(lw_alert_state(r, "a\tb", "b", LW_ALERT_COND_REVERSE), LW_ALERT_FIRING);
    lw_buf_t back;
    lw_buf_init(&back, 1 << 20);
    assert_int_equal(lw_alert_save(r, &back), LW_OK);
    assert_int_equal(back.len, strlen(good));
    assert_memory_equal(back.data, good, back.len);
    lw_buf_release(&back);

    lw_buf_release(&before);
    lw_buf_release(&blob);
    lw_alert_table_destroy(r);
    lw_alert_table_destroy(t);
}

/*
 * The healthy streak survives a restart: an entry one lead short of arming
 * arms on the next lead after the load, one with no streak does not.
 */
static void test_load_keeps_healthy_streak(void **state)
{
    (void)state;
    char err[256];
    lw_alert_opts_t opts;
    lw_alert_opts_default(&opts);
    opts.for_evals = 1;
    opts.arm_after = 1 + 1; /* these sequences arm after for + 1 leads */
    opts.keep_firing_for = 0;
    for (unsigned healthy = 0; healthy <= 1; healthy++) {
        char blob[256];
        int len = snprintf(blob, sizeof blob,
                           "leadwatch-alerts 2 0\n"
                           "no_longer_leads\tinactive\t0\t0\t%u\t0\t0\t0\t0\t0\t%%listeners"
                           "\t%%playlists\t%%listeners\t%%depth\t0\n",
                           healthy);
        assert_true(len > 0 && (size_t)len < sizeof blob);
        lw_alert_table_t *t = NULL;
        assert_int_equal(lw_alert_table_new(&opts, &t, err, sizeof err), LW_OK);
        assert_int_equal(lw_alert_load(t, blob, (size_t)len, err, sizeof err), LW_OK);
        lw_buf_t back;
        lw_buf_init(&back, 1 << 16);
        assert_int_equal(lw_alert_save(t, &back), LW_OK);
        assert_int_equal(back.len, (size_t)len);
        assert_memory_equal(back.data, blob, back.len);
        lw_buf_release(&back);

        lw_alert_obs_t o = obs_for('L', false);
        assert_int_equal(lw_alert_eval(t, &o, 1, T0, err, sizeof err), LW_OK);
        o = obs_for('I', false);
        assert_int_equal(lw_alert_eval(t, &o, 1, T0 + DAY, err, sizeof err), LW_OK);
        assert_int_equal(lw_alert_state(t, "playlists", "listeners", LW_ALERT_COND_NO_LONGER_LEADS),
                         healthy == 1 ? LW_ALERT_PENDING : LW_ALERT_INACTIVE);
        lw_alert_table_destroy(t);
    }
}

static void test_stall_alert(void **state)
{
    (void)state;
    char err[256];
    lw_alert_table_t *t = NULL;
    lw_alert_opts_t opts;
    lw_alert_opts_default(&opts);
    opts.for_evals = 1;
    opts.arm_after = 1 + 1; /* these sequences arm after for + 1 leads */
    assert_int_equal(lw_alert_table_new(&opts, &t, err, sizeof err), LW_OK);
    /* for + 1 = 2 leads arm the edge before the stall */
    lw_alert_obs_t o = obs_for('L', false);
    assert_int_equal(lw_alert_eval(t, &o, 1, T0 - DAY, err, sizeof err), LW_OK);
    assert_int_equal(lw_alert_eval(t, &o, 1, T0, err, sizeof err), LW_OK);

    size_t n;
    assert_int_equal(
        lw_alert_pipeline(t, "listeners", true, "no events for 15m", T0 + 1000, err, sizeof err),
        LW_OK);
    const lw_alert_event_t *ev = lw_alert_events(t, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ev->to, LW_ALERT_FIRING);
    assert_string_equal(lw_alert_event_label(ev, "alertname"), "LeadwatchPipelineStalled");
    assert_string_equal(lw_alert_event_label(ev, "nsm"), "listeners");
    assert_null(lw_alert_event_label(ev, "edge"));
    assert_string_equal(lw_alert_event_annotation(ev, "reason"), "no events for 15m");

    /* while stalled, edges that look broken go nodata, and nothing else fires */
    for (int i = 1; i <= 5; i++) {
        o = obs_for('I', false);
        assert_int_equal(lw_alert_eval(t, &o, 1, T0 + i * DAY, err, sizeof err), LW_OK);
        ev = lw_alert_events(t, &n);
        for (size_t k = 0; k < n; k++)
            assert_int_not_equal(ev[k].to, LW_ALERT_FIRING);
        assert_int_equal(lw_alert_state(t, "playlists", "listeners", LW_ALERT_COND_NO_LONGER_LEADS),
                         LW_ALERT_NODATA);
        /* repeated stall reports do not re-fire */
        assert_int_equal(
            lw_alert_pipeline(t, "listeners", true, "x", T0 + i * DAY, err, sizeof err), LW_OK);
        lw_alert_events(t, &n);
        assert_int_equal(n, 0);
    }
    assert_int_equal(lw_alert_pipeline(t, "listeners", false, NULL, T0 + 6 * DAY, err, sizeof err),
                     LW_OK);
    ev = lw_alert_events(t, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ev->to, LW_ALERT_RESOLVED);
    assert_true(ev->ends_at_ms == T0 + 6 * DAY);
    assert_string_equal(lw_alert_event_label(ev, "alertname"), "LeadwatchPipelineStalled");

    /* after the stall the edge needs the full streak again */
    o = obs_for('I', false);
    assert_int_equal(lw_alert_eval(t, &o, 1, T0 + 7 * DAY, err, sizeof err), LW_OK);
    assert_int_equal(lw_alert_state(t, "playlists", "listeners", LW_ALERT_COND_NO_LONGER_LEADS),
                     LW_ALERT_PENDING);
    assert_int_equal(lw_alert_eval(t, &o, 1, T0 + 8 * DAY, err, sizeof err), LW_OK);
    assert_int_equal(lw_alert_state(t, "playlists", "listeners", LW_ALERT_COND_NO_LONGER_LEADS),
                     LW_ALERT_FIRING);

    /* stall_for: pending first; a recovery while pending ends it quietly */
    opts.stall_for = 1;
    assert_int_equal(lw_alert_table_set_opts(t, &opts, err, sizeof err), LW_OK);
    assert_int_equal(lw_alert_pipeline(t, "listeners", true, "lag", T0 + 9 * DAY, err, sizeof err),
                     LW_OK);
    ev = lw_alert_events(t, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ev->to, LW_ALERT_PENDING);
    assert_int_equal(
        lw_alert_pipeline(t, "listeners", false, NULL, T0 + 9 * DAY + 1, err, sizeof err), LW_OK);
    ev = lw_alert_events(t, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ev->to, LW_ALERT_INACTIVE);
    lw_alert_table_destroy(t);
}

/*
 * LeadwatchEventsLost: fires at the first report of a new loss (no `for`), one
 * alert per partition; a further loss while firing is a refresh and restarts
 * the clock; resolves at the first report events_lost_for after the newest
 * loss (reported or not); edge evaluations do not retire it; it survives a
 * save/load with its clock.
 */
static void test_events_lost_alert(void **state)
{
    (void)state;
    char err[256];
    lw_alert_table_t *t = NULL;
    lw_alert_opts_t opts;
    lw_alert_opts_default(&opts);
    assert_true(opts.lost_for_ms == 3600000); /* the documented default, 1h */
    opts.for_evals = 3;                       /* does not apply to the loss */
    assert_int_equal(lw_alert_table_new(&opts, &t, err, sizeof err), LW_OK);
    const int64_t H = 3600000;
    size_t n;

    /* nothing lost: no entry, no event */
    lw_alert_loss_t l[2] = {{"events", 0, 0, 0, -1, -1}, {"events", 1, 0, 0, -1, -1}};
    assert_int_equal(lw_alert_loss(t, "listeners", l, 2, T0, err, sizeof err), LW_OK);
    lw_alert_events(t, &n);
    assert_int_equal(n, 0);
    assert_int_equal(lw_alert_count(t), 0);

    /* partition 1 loses offsets 100..149: fires at once */
    l[1] = (lw_alert_loss_t){"events", 1, 50, 50, 100, 149};
    assert_int_equal(lw_alert_loss(t, "listeners", l, 2, T0 + 1000, err, sizeof err), LW_OK);
    const lw_alert_event_t *ev = lw_alert_events(t, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ev->from, LW_ALERT_INACTIVE);
    assert_int_equal(ev->to, LW_ALERT_FIRING);
    assert_false(ev->refresh);
    assert_true(ev->starts_at_ms == T0 + 1000);
    assert_string_equal(lw_alert_event_label(ev, "alertname"), "LeadwatchEventsLost");
    assert_string_equal(lw_alert_event_label(ev, "topic"), "events");
    assert_string_equal(lw_alert_event_label(ev, "partition"), "1");
    assert_string_equal(lw_alert_event_label(ev, "nsm"), "listeners");
    assert_null(lw_alert_event_label(ev, "edge"));
    assert_int_equal(ev->nlabels, 4);
    assert_string_equal(lw_alert_event_annotation(ev, "offsets_skipped"), "100..149");
    assert_string_equal(lw_alert_event_annotation(ev, "lost_since_start"), "50");
    assert_non_null(strstr(lw_alert_event_annotation(ev, "summary"), "50 events lost on events/1"));
    assert_int_equal(lw_alert_state(t, "events", "1", LW_ALERT_COND_EVENTS_LOST), LW_ALERT_FIRING);

    /* edge evaluations neither retire nor count it */
    lw_alert_obs_t o = obs_for('L', false);
    assert_int_equal(lw_alert_eval(t, &o, 1, T0 + 2000, err, sizeof err), LW_OK);
    assert_int_equal(lw_alert_state(t, "events", "1", LW_ALERT_COND_EVENTS_LOST), LW_ALERT_FIRING);
    assert_int_equal(lw_alert_eval(t, NULL, 0, T0 + 3000, err, sizeof err), LW_OK);
    assert_int_equal(lw_alert_state(t, "events", "1", LW_ALERT_COND_EVENTS_LOST), LW_ALERT_FIRING);

    /* no new loss: still firing just before the hour */
    l[1].lost_new = 0;
    assert_int_equal(lw_alert_loss(t, "listeners", l, 2, T0 + 1000 + H - 1, err, sizeof err),
                     LW_OK);
    lw_alert_events(t, &n);
    assert_int_equal(n, 0);

    /* a second loss 30 min in: a refresh with the new numbers, and the clock restarts */
    l[1] = (lw_alert_loss_t){"events", 1, 7, 57, 300, 306};
    assert_int_equal(lw_alert_loss(t, "listeners", l, 2, T0 + 1000 + H / 2, err, sizeof err),
                     LW_OK);
    ev = lw_alert_events(t, &n);
    assert_int_equal(n, 1);
    assert_true(ev->refresh);
    assert_int_equal(ev->to, LW_ALERT_FIRING);
    assert_true(ev->starts_at_ms == T0 + 1000);
    assert_string_equal(lw_alert_event_annotation(ev, "offsets_skipped"), "300..306");
    assert_string_equal(lw_alert_event_annotation(ev, "lost_since_start"), "57");

    /* the clock survives a save and load */
    lw_buf_t b;
    lw_buf_init(&b, 1u << 20);
    assert_int_equal(lw_alert_save(t, &b), LW_OK);
    lw_alert_table_t *t2 = NULL;
    assert_int_equal(lw_alert_table_new(&opts, &t2, err, sizeof err), LW_OK);
    assert_int_equal(lw_alert_load(t2, b.data, b.len, err, sizeof err), LW_OK);
    lw_buf_release(&b);
    lw_alert_table_destroy(t);
    t = t2;
    assert_int_equal(lw_alert_state(t, "events", "1", LW_ALERT_COND_EVENTS_LOST), LW_ALERT_FIRING);

    /* an hour after the newest loss, with the partition no longer reported: resolved, gone */
    assert_int_equal(
        lw_alert_loss(t, "listeners", NULL, 0, T0 + 1000 + H / 2 + H - 1, err, sizeof err), LW_OK);
    lw_alert_events(t, &n);
    assert_int_equal(n, 0);
    assert_int_equal(lw_alert_loss(t, "listeners", NULL, 0, T0 + 1000 + H / 2 + H, err, sizeof err),
                     LW_OK);
    ev = lw_alert_events(t, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ev->to, LW_ALERT_RESOLVED);
    assert_true(ev->ends_at_ms == T0 + 1000 + H / 2 + H);
    assert_string_equal(lw_alert_event_label(ev, "partition"), "1");
    assert_non_null(lw_alert_event_annotation(ev, "reason"));
    assert_int_equal(lw_alert_state(t, "events", "1", LW_ALERT_COND_EVENTS_LOST),
                     LW_ALERT_INACTIVE);
    assert_int_equal(lw_alert_count(t), 0); /* (the empty evaluation retired the edge) */

    /* two partitions at once: two alerts; a full table fires what fits and says so */
    lw_alert_table_destroy(t);
    opts.max_entries = LW_ALERT_MIN_ENTRIES;
    assert_int_equal(lw_alert_table_new(&opts, &t, err, sizeof err), LW_OK);
    lw_alert_loss_t many[LW_ALERT_MIN_ENTRIES + 1];
    for (int i = 0; i <= LW_ALERT_MIN_ENTRIES; i++)
        many[i] = (lw_alert_loss_t){"events", i, 1, 1, 5, 5};
    assert_int_equal(
        lw_alert_loss(t, "listeners", many, LW_ALERT_MIN_ENTRIES + 1, T0, err, sizeof err),
        LW_ERR_TOO_LARGE);
    assert_non_null(strstr(err, "max_alerts"));
    lw_alert_events(t, &n);
    assert_int_equal(n, LW_ALERT_MIN_ENTRIES);
    assert_true(lw_alert_check(t));

    /* bounds of the option */
    opts.lost_for_ms = -1;
    assert_int_equal(lw_alert_opts_check(&opts, err, sizeof err), LW_ERR_CONFIG);
    assert_non_null(strstr(err, "alerts.events_lost_for"));
    lw_alert_table_destroy(t);
}

static void test_retire_and_reload_opts(void **state)
{
    (void)state;
    char err[256];
    lw_alert_table_t *t = fired_table(0);
    size_t n;

    /* the condition switched off by a reload: the firing alert resolves */
    lw_alert_opts_t opts;
    lw_alert_opts_default(&opts);
    opts.on_mask = LW_ALERT_COND_BIT(LW_ALERT_COND_REVERSE);
    assert_int_equal(lw_alert_table_set_opts(t, &opts, err, sizeof err), LW_OK);
    lw_alert_obs_t o = obs_for('I', false);
    assert_int_equal(lw_alert_eval(t, &o, 1, T0 + 5 * DAY, err, sizeof err), LW_OK);
    const lw_alert_event_t *ev = lw_alert_events(t, &n);
    assert_int_equal(n, 1);
    assert_int_equal(ev->cond, LW_ALERT_COND_NO_LONGER_LEADS);
    assert_int_equal(ev->to, LW_ALERT_RESOLVED);
    assert_non_null(lw_alert_event_annotation(ev, "reason"));
    assert_int_equal(lw_alert_count(t), 1);

    /* the edge removed from the config: its entries go */
    assert_int_equal(lw_alert_eval(t, NULL, 0, T0 + 6 * DAY, err, sizeof err), LW_OK);
    assert_int_equal(lw_alert_count(t), 0);

    /* bad options are refused and change nothing */
    opts.on_mask = LW_ALERT_COND_BIT(LW_ALERT_COND_PIPELINE_STALLED);
    assert_int_equal(lw_alert_table_set_opts(t, &opts, err, sizeof err), LW_ERR_CONFIG);
    opts.on_mask = LW_ALERT_EDGE_CONDS_ALL;
    opts.max_entries = 100000;
    assert_int_equal(lw_alert_table_set_opts(t, &opts, err, sizeof err), LW_ERR_CONFIG);
    lw_alert_table_destroy(t);
}

static void test_bounds(void **state)
{
    (void)state;
    char err[256];
    lw_alert_opts_t opts;
    lw_alert_opts_default(&opts);
    opts.max_entries = 8;
    lw_alert_table_t *t = NULL;
    assert_int_equal(lw_alert_table_new(&opts, &t, err, sizeof err), LW_OK);

    /* 3 input edges x 3 conditions = 9 > 8 */
    lw_alert_obs_t o[3] = {obs_for('L', false), obs_for('L', false), obs_for('L', false)};
    o[1].source = "a";
    o[2].source = "b";
    assert_int_equal(lw_alert_eval(t, o, 3, T0, err, sizeof err), LW_ERR_TOO_LARGE);
    assert_non_null(strstr(err, "max_entries"));
    assert_int_equal(lw_alert_count(t), 0);
    assert_int_equal(lw_alert_eval(t, o, 2, T0, err, sizeof err), LW_OK);
    assert_int_equal(lw_alert_count(t), 6);

    /* a duplicate edge and a nameless edge are caller bugs, reported */
    o[1].source = o[0].source;
    assert_int_equal(lw_alert_eval(t, o, 2, T0, err, sizeof err), LW_ERR_INVALID);
    o[1].source = NULL;
    assert_int_equal(lw_alert_eval(t, o, 2, T0, err, sizeof err), LW_ERR_INVALID);
    assert_int_equal(lw_alert_count(t), 6);

    opts.for_evals = LW_ALERT_MAX_EVALS + 1;

    opts.arm_after = LW_ALERT_MAX_EVALS + 1 + 1; /* these sequences arm after for + 1 leads */
    assert_int_equal(lw_alert_opts_check(&opts, err, sizeof err), LW_ERR_CONFIG);
    assert_non_null(strstr(err, "alerts.for"));

    /* names round-trip */
    for (unsigned c = 0; c < LW_ALERT_COND_COUNT; c++) {
        lw_alert_cond_t back;
        assert_true(lw_alert_cond_parse(lw_alert_cond_name((lw_alert_cond_t)c), &back));
        assert_int_equal(back, c);
    }
    lw_alert_cond_t dummy;
    assert_false(lw_alert_cond_parse("firing", &dummy));
    lw_alert_table_destroy(t);
}

/* arm_after is its own setting: a lead shorter than it never arms, whatever `for` is. */
static void test_arm_after(void **state)
{
    (void)state;
    static const struct {
        unsigned arm_after;
        const char *verdicts, *states;
    } cases[] = {
        {3, "LLIIILLLI", "iiiiiiiiF"}, /* two leads do not arm; three do; for 0 fires at once */
        {0, "LI", "iF"},
        {1, "LI", "iF"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char err[256];
        lw_alert_opts_t dflt;
        lw_alert_opts_default(&dflt);
        lw_alert_table_t *t = new_table(0, cases[k].arm_after, dflt.keep_firing_for);
        for (int i = 0; cases[k].verdicts[i]; i++) {
            lw_alert_obs_t o = obs_for(cases[k].verdicts[i], false);
            assert_int_equal(lw_alert_eval(t, &o, 1, T0 + i * DAY, err, sizeof err), LW_OK);
            assert_int_equal(
                lw_alert_state(t, "playlists", "listeners", LW_ALERT_COND_NO_LONGER_LEADS),
                state_code(cases[k].states[i]));
        }
        lw_alert_table_destroy(t);
    }
}

/* A resolution through "still predicts" says so in its summary. */
static void test_summary_still_predicts(void **state)
{
    (void)state;
    char err[256];
    lw_alert_table_t *t = new_table(0, 1, 0);
    const char *seq = "LIP";
    const lw_alert_event_t *ev = NULL;
    size_t n = 0;
    for (int i = 0; seq[i]; i++) {
        lw_alert_obs_t o = obs_for(seq[i], false);
        assert_int_equal(lw_alert_eval(t, &o, 1, T0 + i * DAY, err, sizeof err), LW_OK);
        ev = lw_alert_events(t, &n);
    }
    const lw_alert_event_t *res = NULL;
    for (size_t i = 0; i < n; i++)
        if (ev[i].cond == LW_ALERT_COND_NO_LONGER_LEADS)
            res = &ev[i];
    assert_non_null(res);
    assert_int_equal(res->to, LW_ALERT_RESOLVED);
    assert_non_null(strstr(lw_alert_event_annotation(res, "summary"), "still predicts"));
    lw_alert_table_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequences),
        cmocka_unit_test(test_labels_and_annotations),
        cmocka_unit_test(test_restart_does_not_refire),
        cmocka_unit_test(test_load_rejects_damage),
        cmocka_unit_test(test_load_keeps_healthy_streak),
        cmocka_unit_test(test_stall_alert),
        cmocka_unit_test(test_events_lost_alert),
        cmocka_unit_test(test_retire_and_reload_opts),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_arm_after),
        cmocka_unit_test(test_summary_still_predicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
