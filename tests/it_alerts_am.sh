#!/usr/bin/env bash
# it_alerts_am.sh - the alerting path end to end against a real Alertmanager
# (Debian prometheus-alertmanager) and a webhook receiver (issue 5):
#
#   simulate --break-day 200 --produce -> mock-kafka -> leadwatch run
#     -> evaluation at every bucket close -> alerts -> Alertmanager /api/v2/alerts
#                                                   -> webhook (payload v4)
#
# How it works.  300 simulated days (scale 0.2, ~1.6 M events) are produced
# into the mock before the daemon starts ("prefill": the fastest way, and the
# evaluations do not depend on the consumption speed because each one is "as
# of" its closed bucket).  The mock keeps only the newest 5 MiB per partition
# and 1.6 M events are ~340 MB of JSON, so the topic has 128 partitions (64
# lost ~10% of the oldest events; the watermark count below checks it).  The
# daemon runs with config/leadwatch.yaml (the simulator's tree) rewritten in
# store.path, analysis.window (90) and the alerts:/http: sections only.
# Completion is detected on /metrics (leadwatch_events_consumed_total equals
# the produced count).  Then, in order:
#   1. the broken input's alert (LeadwatchInputNoLongerLeads,
#      input=playlists_created) is active in Alertmanager; the `as_of`
#      annotation (the bucket whose close fired it) of its first firing
#      (webhook body) and of Alertmanager's copy are at most DELAY_BOUND
#      buckets after the break day, and no playlists alert is before it;
#   2. no other edge fired: checked on Alertmanager, on the daemon's log
#      lines "alert: NAME EDGE: ... -> firing" and on every webhook body of
#      the run (the only allowed edge alerts are those of playlists_created);
#      violations are collected, the other checks still run, and the test
#      fails at the end listing them ("measured: false alert: ...");
#   3. the webhook got the same edge alert(s) as Alertmanager, as Alertmanager
#      webhook v4 bodies (version "4", status firing, labels), nothing else;
#   4. stall: events stop after the prefill, so within no_events_for + a few
#      seconds LeadwatchPipelineStalled is active in Alertmanager and no new
#      edge alert appeared anywhere;
#   5. SIGTERM (exit 0) and a restart on the same store: every
#      leadwatch_edge_* series of run 1 is on run 2's /metrics at once with
#      the same value (restored from the stored verdicts, no evaluation);
#      the log says the alert state was restored, the playlists alert is re-announced
#      (Alertmanager keeps it past the first run's endsAt, same startsAt) and
#      the webhook gets no second "firing" POST for it.
# Measured figures are printed ("measured: ...").  LW_E2E_SEED picks the
# simulator seed (default below); KEEP_WORK=1 keeps the work dir.
set -uo pipefail
source "$(dirname "$0")/lib_kafka.sh"
source "$SRC/tests/lib_alerts.sh"
set +e # lib_alerts.sh turns on -e; this test checks every status itself

T0=$(date +%s.%N)
SEED=${LW_E2E_SEED:-1}
BREAK=200 # prefill_break_topic (lib_alerts.sh): 300 days, break at day 200, from 2025-01-01
DAYS=300
START=2025-01-01
# The stated bound: the broken input's alert fires at most DELAY_BOUND daily
# buckets after the break day.  Setup: scale 0.2, window 90, for 10, arm_after
# 28 (default), the sequential monitor on (the default since issue 11 session
# 7): it fired at +27 on seed 1.  The bound was set for the window-verdict rule
# (`alerts.monitor: false`; the "measured: verdict history" line replays it).
# Replaying src/alert/alert.c's rule on the stored verdicts of seeds
# 1..6 (README, "Alerts"): +71 / +87 / +80 / +56 / +42 / +70, and no alert on
# any other edge.  Most of the delay is statistics: the verdict stops being
# `leads` after +17..+37, but the Granger q stays < alpha ("still predicts", a
# pass) until roughly half of the 90-bucket window is post-break data; then
# `for` + 1 failing evaluations.  With for 3 the delay is 7 buckets shorter
# but true leads lose significance for more than 4 days on some seeds
# (sessions_per_user, active_users at this data size): false alerts.
DELAY_BOUND=${LW_E2E_DELAY_BOUND:-90}
NO_EVENTS_FOR=8

elapsed() { python3 -c "import time; print('%.1f' % (time.time() - $T0))"; }

# --- servers: mock Kafka (prefilled), webhook receiver, Alertmanager -------------------------
mock_start --topic events --partitions 128
prefill_break_topic "$SEED"
produced=$PRODUCED
echo "produced $produced events (seed $SEED) at $(elapsed) s"

start_webhook "$work/hook"
start_alertmanager "$work/am"

# --- config: the simulator's tree from config/leadwatch.yaml ------------------------------------
python3 - "$SRC/config/leadwatch.yaml" lw.yaml "$work/lw.db" "$AM_URL" "$WEBHOOK_URL" \
  "$NO_EVENTS_FOR" <<'PY' || fail "config rewrite"
import sys
src, dst, store, am, hook, stall = sys.argv[1:]
t = open(src).read()
for old, new in (("  path: leadwatch.db\n", "  path: %s\n" % store),
                 ("  window: 0\n", "  window: 90\n")):
    assert t.count(old) == 1, old
    t = t.replace(old, new)
t += """
alerts:
  for: 10
  keep_firing_for: 2
  on: [no_longer_leads, reverse, kpi_link_lost]
  alertmanager: {url: %s}
  webhook: {url: %s}
  resend: 2s
  stall: {no_events_for: %ss}
""" % (am, hook, stall)
open(dst, "w").write(t)
PY
"$LW" check-config -c lw.yaml >check.out 2>&1 || fail "check-config: $(tail -3 check.out)"

# start_daemon LOG: runs leadwatch in the background; sets LW_PID, METRICS_URL
start_daemon() {
  local log=$1 port i
  # shellcheck disable=SC2046
  "$LW" run -c lw.yaml $(kafka_opts e2e) --topic events --http 127.0.0.1:0 >"${log%.err}.out" 2>"$log" &
  LW_PID=$!
  LW_PIDS+=("$LW_PID")
  wait_for_line "$log" 'serving /metrics' 20 || fail "no /metrics port in $log"
  port=$(sed -n 's/.*serving \/metrics.* on port \([0-9]*\).*/\1/p' "$log" | head -1)
  METRICS_URL="http://127.0.0.1:$port/metrics"
}

# metric NAME: the value of an unlabelled sample of the daemon's /metrics (empty if none)
metric() {
  lw_http GET "$METRICS_URL" 2>/dev/null | awk -v n="$1" '$1 == n {print $2; exit}'
}

# firing_log FILE: "ALERTNAME EDGE" of every "-> firing" line of a daemon log
firing_log() {
  grep -v 're-announced' "$1" | sed -n 's/.* alert: \(Leadwatch[A-Za-z]*\)\( [^ :]*\)\{0,1\}: [a-z]* -> firing.*/\1\2/p'
}

# --- run 1: consume everything ----------------------------------------------------------------
start_daemon run1.err
t_start=$(elapsed)
consumed=0
for ((i = 0; i < 900; i++)); do
  kill -0 "$LW_PID" 2>/dev/null || fail "daemon exited during consumption"
  consumed=$(metric leadwatch_events_consumed_total)
  [ "${consumed:-0}" = "$produced" ] && break
  sleep 0.1
done
[ "${consumed:-0}" = "$produced" ] || fail "consumed ${consumed:-0} of $produced in 90 s"
t_done=$(elapsed)
echo "consumed $produced events in $(python3 -c "print('%.1f' % ($t_done - $t_start))") s"
rejected=$(metric leadwatch_events_late_total)
[ "${rejected:-0}" = 0 ] || fail "late events: $rejected"

# 1. the broken input's alert in Alertmanager; the delay from the as_of of the
# webhook's first "firing" body for it (Alertmanager's copy carries the as_of of
# the latest firing: after a resolve and re-fire that is the later one)
PL=('alertname="LeadwatchInputNoLongerLeads"' 'input="playlists_created"')
am_wait_alert 15 "${PL[@]}" || fail "no LeadwatchInputNoLongerLeads for playlists_created in Alertmanager"
webhook_wait "$WEBHOOK_DIR" 10 '^firing alertname=LeadwatchInputNoLongerLeads .*input=playlists_created' \
  || fail "the webhook did not get the playlists alert"
am_alerts "${PL[@]}" >am_pl.json || fail "GET alerts"
# hook_firings: "ALERTNAME INPUT AS_OF STARTS" of every firing alert the webhook got
hook_firings() {
  python3 - "$WEBHOOK_DIR/bodies.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if l.strip():
        for a in json.loads(l)["alerts"]:
            if a["status"] == "firing":
                print(a["labels"]["alertname"], a["labels"].get("input", "-"),
                      a["annotations"].get("as_of", "-"), a["startsAt"])
PY
}
read -r as_of_am starts as_of delay delay_am n_pl < <(python3 - am_pl.json "$START" "$BREAK" \
  <(hook_firings) <<'PY'
import json, sys, datetime
alerts = json.load(open(sys.argv[1]))
assert len(alerts) == 1, alerts
a = alerts[0]
start, brk = datetime.date.fromisoformat(sys.argv[2]), int(sys.argv[3])
day = lambda s: (datetime.date.fromisoformat(s[:10]) - start).days
hook = [l.split() for l in open(sys.argv[4]) if l.startswith("LeadwatchInputNoLongerLeads playlists_created ")]
first = hook[0][2]
print(a["annotations"]["as_of"], a["startsAt"], first, day(first) - brk,
      day(a["annotations"]["as_of"]) - brk, len(hook))
PY
) || fail "playlists alert without an as_of annotation: $(cat am_pl.json)"
echo "measured: seed $SEED playlists_created alert first fired as of $as_of = break + $delay buckets;" \
  "Alertmanager has as_of $as_of_am (+$delay_am), startsAt $starts; fired $n_pl time(s); bound $DELAY_BOUND"
# every playlists firing is after the break, and the first within the bound
hook_firings | awk '$2 == "playlists_created" {print $3}' | while read -r d; do
  python3 -c "import datetime as D, sys; sys.exit(0 if (D.date.fromisoformat('$d') - D.date.fromisoformat('$START')).days >= $BREAK else 1)" \
    || echo "$d" >>early.txt
done
[ ! -s early.txt ] || fail "playlists_created alerted before the break: as_of $(tr '\n' ' ' <early.txt)"
[ "$delay" -le "$DELAY_BOUND" ] || fail "the playlists alert fired $delay buckets after the break (> $DELAY_BOUND)"
[ "$delay_am" -le "$DELAY_BOUND" ] || fail "Alertmanager's playlists alert is as of break + $delay_am (> $DELAY_BOUND)"

# the verdict history agrees: replay the firing rule on the stored verdicts
sqlite3 -readonly lw.db "SELECT as_of, verdict, q FROM verdicts
  WHERE edge = 'playlists_created->listening_minutes' ORDER BY as_of" >pl_verdicts.txt
python3 - pl_verdicts.txt "$START" "$BREAK" <<'PY'
import sys, datetime
t0 = datetime.datetime.fromisoformat(sys.argv[2]).replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
brk = int(sys.argv[3])
rows = [l.strip().split("|") for l in open(sys.argv[1]) if l.strip()]
flip = fail4 = None
streak = 0
for ms, v, q in rows:
    d = int((int(ms) - t0) // 86400000)
    if d < brk:
        continue
    if v not in ("leads", "feedback") and flip is None:
        flip = d - brk
    # src/alert/alert.c: inconclusive with q < alpha (0.05) still predicts (passes)
    failing = v not in ("leads", "feedback", "insufficient_data") and not (
        v == "inconclusive" and q != "" and float(q) < 0.05)
    streak = streak + 1 if failing else 0
    if streak == 11 and fail4 is None:  # for: 10 -> fires on the 11th failing evaluation
        fail4 = d - brk
print("measured: verdict history: playlists_created not `leads` from break + %s, "
      "11th consecutive failing evaluation at break + %s (%d evaluations)"
      % (flip, fail4, len(rows)))
PY

# 2. edge alerts other than playlists_created's: collected in false.txt from
# Alertmanager, the daemon's log and every webhook body; the test goes on (the
# stall and restart checks still run) and fails at the end when there are any
not_playlists() { grep -v 'alertname=LeadwatchPipelineStalled' | grep -v 'input=playlists_created' || true; }
false_alerts() { # $1: phase; appends "PHASE WHERE ALERT" lines to false.txt
  am_alert_lines >am_all.txt || fail "GET alerts"
  not_playlists <am_all.txt | sed "s/^/$1 alertmanager /" >>false.txt
  firing_log run1.err | grep -v '^LeadwatchPipelineStalled' | grep -v '^[A-Za-z]* playlists_created->' \
    | sort | uniq -c | sed "s/^ */$1 log(run1) fired x/" >>false.txt
  [ -f run2.err ] && firing_log run2.err | grep -v '^LeadwatchPipelineStalled' \
    | sed "s/^/$1 log(run2) fired /" >>false.txt
  webhook_alert_lines "$WEBHOOK_DIR" bodies | grep '^firing' | not_playlists | sort | uniq -c \
    | sed "s/^ */$1 webhook x/" >>false.txt
}
: >false.txt
false_alerts consumed

# 3. the webhook payload: Alertmanager webhook v4; its firing edge alerts =
# Alertmanager's active ones (every alert that fired and did not resolve)
python3 - "$WEBHOOK_DIR/bodies.jsonl" am_all.txt <<'PY' || fail "webhook payload"
import json, sys
bodies = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
active = {}
for b in bodies:
    assert b.get("version") == "4", b
    assert b.get("status") in ("firing", "resolved"), b
    assert b.get("receiver") == "leadwatch", b
    for k in ("groupKey", "groupLabels", "commonLabels", "commonAnnotations", "externalURL", "alerts"):
        assert k in b, (k, b)
    assert len(b["alerts"]) == 1, b  # one POST per firing / resolved alert
    assert b["commonLabels"] == b["alerts"][0]["labels"], b
    for a in b["alerts"]:
        assert a["status"] == b["status"], b
        lab = a["labels"]
        assert lab.get("alertname", "").startswith("Leadwatch"), lab
        for k in ("startsAt", "endsAt", "fingerprint", "annotations"):
            assert k in a, (k, a)
        if lab["alertname"] != "LeadwatchPipelineStalled":
            for k in ("nsm", "edge", "input", "kind"):
                assert lab.get(k), (k, lab)
            for k in ("as_of", "verdict", "summary", "window_first", "window_last", "p", "q", "lag"):
                assert k in a["annotations"], (k, a["annotations"])
            key = " ".join("%s=%s" % kv for kv in sorted(lab.items()))
            if a["status"] == "firing":
                active[key] = True
            else:
                active.pop(key, None)
hook = set(active)
am = set()
for l in open(sys.argv[2]):
    f = l.split()
    if f and f[0] == "active" and "alertname=LeadwatchPipelineStalled" not in f:
        am.add(" ".join(sorted(f[1:])))
if hook != am:
    sys.exit("webhook firing %s != Alertmanager active %s" % (sorted(hook), sorted(am)))
print("webhook: %d bodies; its firing edge alerts = Alertmanager's active ones: %s" % (len(bodies), sorted(hook)))
PY
[ "$(webhook_stat "$WEBHOOK_DIR" shape_errors)" = 0 ] || fail "webhook bodies not shaped like AM's v4"

# 4. stall: no event since the end of the prefill -> LeadwatchPipelineStalled only
hook_before=$(webhook_alert_lines "$WEBHOOK_DIR" bodies | grep -v LeadwatchPipelineStalled | grep -c .)
log_before=$(firing_log run1.err | grep -vc '^LeadwatchPipelineStalled')
am_wait_alert $((NO_EVENTS_FOR + 10)) 'alertname="LeadwatchPipelineStalled"' \
  || fail "no LeadwatchPipelineStalled in Alertmanager $((NO_EVENTS_FOR + 10)) s after the last event"
t_stall=$(elapsed)
stall_s=$(python3 -c "print('%.1f' % ($t_stall - $t_done))")
echo "measured: stall alert in Alertmanager $stall_s s after the last event was consumed (no_events_for ${NO_EVENTS_FOR}s)"
python3 -c "import sys; sys.exit(0 if $stall_s <= $NO_EVENTS_FOR + 5 else 1)" \
  || fail "stall alert later than no_events_for + 5 s"
grep -q 'watch: pipeline stalled' run1.err || fail "no 'pipeline stalled' log line"
webhook_wait "$WEBHOOK_DIR" 10 '^firing alertname=LeadwatchPipelineStalled' \
  || fail "the webhook did not get the stall alert"
sleep 2 # a resend period: anything the stall would set off has been sent
new=$(webhook_alert_lines "$WEBHOOK_DIR" bodies | grep -v LeadwatchPipelineStalled | grep -c .)
[ "$new" = "$hook_before" ] || fail "edge alerts at the webhook during the stall"
[ "$(firing_log run1.err | grep -vc '^LeadwatchPipelineStalled')" = "$log_before" ] \
  || fail "an edge alert fired during the stall"
am_alerts "${PL[@]}" >am_pl2.json || fail "GET alerts"
grep -q "\"startsAt\":\"$starts\"" am_pl2.json || fail "the playlists alert changed: $(cat am_pl2.json)"

# 5. restart: SIGTERM, exit 0, same store; re-announced, not re-fired
hook_fire_before=$(hook_firings | grep -c '^LeadwatchInputNoLongerLeads playlists_created ')
lw_http GET "$METRICS_URL" | grep '^leadwatch_edge_' | sort >edges1.txt
[ "$(wc -l <edges1.txt)" -gt 0 ] || fail "run 1: no leadwatch_edge_* series"
kill -TERM "$LW_PID"
wait "$LW_PID"
rc=$?
[ $rc -eq 0 ] || fail "daemon exit $rc after SIGTERM"
start_daemon run2.err
wait_for_line run2.err 'alert state restored' 20 || fail "run 2: no 'alert state restored' line"
# every edge series of run 1 is back at once, with the same value, restored
# from the store: no bucket closes in run 2 (no new events), nothing is evaluated
for ((i = 0; i < 20; i++)); do
  lw_http GET "$METRICS_URL" >metrics2.txt 2>/dev/null
  grep '^leadwatch_edge_' metrics2.txt | sort >edges2.txt
  cmp -s edges1.txt edges2.txt && break
  sleep 0.1
done
cmp -s edges1.txt edges2.txt || fail "run 2: edge series differ from run 1's: $(diff edges1.txt edges2.txt | head -5)"
awk '$1 == "leadwatch_evaluations_total" {e = $2} END {exit e != 0}' metrics2.txt \
  || fail "run 2 evaluated something: $(grep '^leadwatch_evaluations_total' metrics2.txt)"
echo "measured: run 2 has all $(wc -l <edges1.txt) leadwatch_edge_* series of run 1 at start, before any evaluation"
grep 'alert state restored' run2.err | sed 's/.*watch: /run 2: /'
grep -q 'alert state restored: .* [1-9][0-9]* firing' run2.err || fail "run 2 restored no firing alert"
grep -q 'LeadwatchInputNoLongerLeads playlists_created->listening_minutes: .*re-announced' run2.err \
  || fail "run 2 did not re-announce the playlists alert"
# Run 1's last resend set endsAt = then + 4 x resend (8 s): past that, the alert
# is active only because run 2 re-announced it and keeps re-sending it.
sleep 9.5
kill -0 "$LW_PID" 2>/dev/null || fail "run 2 exited"
am_alerts "${PL[@]}" >am_pl3.json || fail "GET alerts"
python3 - am_pl3.json "$starts" <<'PY' || fail "after the restart: $(cat am_pl3.json)"
import json, sys
a = json.load(open(sys.argv[1]))
assert len(a) == 1 and a[0]["status"]["state"] == "active", "not active"
assert a[0]["startsAt"] == sys.argv[2], "startsAt %s != %s" % (a[0]["startsAt"], sys.argv[2])
PY
hook_fire_after=$(hook_firings | grep -c '^LeadwatchInputNoLongerLeads playlists_created ')
[ "$hook_fire_after" = "$hook_fire_before" ] \
  || fail "the webhook got the playlists alert again after the restart ($hook_fire_before -> $hook_fire_after)"
delivered=$(lw_http GET "$METRICS_URL" | awk '$1 ~ /^leadwatch_alert_events_delivered_total\{.*alertmanager/ {print $2}')
[ "${delivered:-0}" != 0 ] || fail "run 2 delivered nothing to Alertmanager"
false_alerts restarted
kill -TERM "$LW_PID"
wait "$LW_PID" || fail "run 2 exit $? after SIGTERM"

echo "measured: seed $SEED: consumption $(python3 -c "print('%.1f' % ($t_done - $t_start))") s; wall $(elapsed) s"
if [ -s false.txt ]; then
  sort -u false.txt | sed 's/^/measured: false alert: /'
  fail "alerts fired for edges other than the broken playlists_created (seed $SEED, see above)"
fi
echo "it_alerts_am: all checks passed"
