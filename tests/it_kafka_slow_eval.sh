#!/usr/bin/env bash
# it_kafka_slow_eval.sh - a slow evaluation never makes the member leave its
# consumer group (issue 19): evaluations run on the evaluator thread
# (src/app/evaluator.c) while the consumer thread keeps polling.
#
# Setup: hourly buckets (grace 10m), max.poll.interval.ms=7000 (session
# 6000, the smallest librdkafka accepts beside it), and the evaluator's test
# hook LW_TEST_EVAL_DELAY_MS=8000: every evaluation takes longer than the
# poll interval, so a daemon that evaluated on its consumer thread would be
# dropped from the group ("maximum poll interval exceeded") and get its
# partitions back as lost.  Simulated events (sorted by time, so none is
# late whatever the partition interleaving) are split at H0 = 2024-01-08
# 08:00: the history before H0 is ingested from a file into the store, with
# the evaluator's position set to 06:00 (the newest bucket the history's
# watermark closes), so the daemon evaluates 3 buckets, each over a full
# window: batch 1 (08:00-10:00, produced before the start) closes 07:00 and
# 08:00, batch 2 (10:00-11:00, produced while the first evaluation sleeps)
# closes 09:00.  Checks:
#   1. batch 2 is consumed while evaluations are still pending, in less than
#      one evaluation's delay (the consumer does not wait for them), and the
#      backlog gauge shows them;
#   2. after the 3 evaluations (24 s of delay): one rebalance (the first
#      assignment) on /metrics, no revoked/lost partition and no poll
#      interval error in the log;
#   3. the series equal a file ingest of the same events (as lib_kafka.sh's
#      same_series, which does not take the empty rows of hourly gaps);
#   4. a second daemon without the delay on a copy of the same history and
#      the same topic writes identical verdict rows and alert transitions.
# Checked to fail: with the consumer thread waiting for the evaluator after
# each flush (as when it evaluated itself), librdkafka logged "MAXPOLL:
# Application maximum poll interval (7000ms) exceeded ... leaving group",
# the 4 partitions came back "(lost)", and check 1 failed.
set -uo pipefail
source "$(dirname "$0")/lib_kafka.sh"

DELAY_MS=8000
T0=$SECONDS
mock_start --topic events --partitions 4
"$LW" simulate --days 8 --seed 3 --scale 0.05 >all.jsonl 2>/dev/null || fail "simulate"
python3 - all.jsonl <<'PY' || fail "split"
import json, sys
rows = sorted(((json.loads(l)["timestamp"], l) for l in open(sys.argv[1])), key=lambda r: r[0])
with open("sorted.jsonl", "w") as a, open("hist.jsonl", "w") as h, \
     open("b1.jsonl", "w") as b1, open("b2.jsonl", "w") as b2:
    for t, l in rows:
        a.write(l)
        if t < "2024-01-08T08:00":
            h.write(l)
        elif t < "2024-01-08T10:00":
            b1.write(l)
        elif t < "2024-01-08T11:00":
            b2.write(l)
PY
ms() { python3 -c "import datetime as d; print(int(d.datetime.fromisoformat('$1+00:00').timestamp() * 1000))"; }
SEEDED=$(ms 2024-01-08T06:00:00) # newest bucket the history closes
FINAL=$(ms 2024-01-08T09:00:00)  # newest bucket batch 2 closes

config() { # config FILE STORE
  write_config "$1" "$2"
  sed -i 's/^buckets: .*/buckets: {size: 1h, grace: 10m}/' "$1"
  # full_every 1h: every close a full evaluation with verdict rows (the default 1d would make
  # the three closes of this test monitor-only closes without them; it_hourly_break.sh has those)
  printf 'analysis: {window: 120, max_lag: 6, full_every: 1h}\nhttp: {listen: "127.0.0.1:0"}\n' >>"$1"
}
config ref.yaml ref.db
config a.yaml a.db
config b.yaml b.db
# the reference series: everything up to 11:00 from a file
head -n "$(($(wc -l <hist.jsonl) + $(wc -l <b1.jsonl) + $(wc -l <b2.jsonl)))" sorted.jsonl >ref.jsonl
"$LW" ingest -c ref.yaml ref.jsonl >ref.out 2>&1 || fail "reference ingest"
grep -q '^  late  *0$' ref.out || fail "reference has late events"
"$LW" export -c ref.yaml >ref.csv || fail "reference export"
# the history, evaluated up to 06:00
"$LW" ingest -c a.yaml hist.jsonl >hist.out 2>&1 || fail "history ingest"
sqlite3 a.db "INSERT OR REPLACE INTO ints(key, value) VALUES ('watch.last_as_of_ms', $SEEDED)" ||
  fail "seeding the evaluator's position"
cp a.db b.db
mock_cmd produce events b1.jsonl >/dev/null
N1=$(wc -l <b1.jsonl)
N2=$(wc -l <b2.jsonl)
echo "history $(wc -l <hist.jsonl) events, batch 1 $N1, batch 2 $N2 (setup $((SECONDS - T0)) s)"

int_key() { sqlite3 -readonly "$1" "SELECT value FROM ints WHERE key = '$2'" 2>/dev/null; }
# wait_evaluated DB: the evaluator's position reaches FINAL within 180 s (a liveness bound: the
# second daemon joins its group and reads the topic first, and a join on the mock broker under
# CI load took 23 s once; 60 s failed 1 run in 5 at load 5.6)
wait_evaluated() {
  for _ in $(seq 1 1800); do
    [ "$(int_key "$1" watch.last_as_of_ms)" = "$FINAL" ] && return 0
    sleep 0.1
  done
  fail "$1: evaluated as of $(int_key "$1" watch.last_as_of_ms), want $FINAL"
}

# --- the slow daemon -------------------------------------------------------------------------
# shellcheck disable=SC2046
LW_TEST_EVAL_DELAY_MS=$DELAY_MS "$LW" run -c a.yaml $(kafka_opts slow) \
  --kafka max.poll.interval.ms=7000 --topic events >a.out 2>a.err &
A=$!
LW_PIDS+=("$A")
daemon_url a.err
wait_for_line a.err "LW_TEST_EVAL_DELAY_MS" 20 || fail "the test hook was not read"
for _ in $(seq 1 300); do [ "$(metric leadwatch_events_consumed_total)" = "$N1" ] && break; sleep 0.1; done
[ "$(metric leadwatch_events_consumed_total)" = "$N1" ] || fail "batch 1: consumed $(metric leadwatch_events_consumed_total) of $N1"
now_ms() { date +%s%3N; }
t_b2=$(now_ms)
mock_cmd produce events b2.jsonl >/dev/null
for _ in $(seq 1 300); do [ "$(metric leadwatch_events_consumed_total)" = "$((N1 + N2))" ] && break; sleep 0.1; done
consumed=$(metric leadwatch_events_consumed_total)
took=$(($(now_ms) - t_b2))
evals=$(metric leadwatch_evaluations_total)
backlog=$(metric leadwatch_evaluation_backlog_buckets)
[ "$consumed" = "$((N1 + N2))" ] || fail "batch 2: consumed $consumed of $((N1 + N2))"
# a consumer that waited for the evaluations would take at least the rest of one (8 s)
[ "$took" -lt "$DELAY_MS" ] || fail "batch 2 took $took ms to consume: the consumer waited for an evaluation"
[ "$evals" -lt 3 ] || fail "batch 2 consumed only after the evaluations ($evals done)"
[ "$backlog" -ge 1 ] || fail "backlog gauge $backlog while $evals of 3 evaluations are done"
echo "batch 2 produced and consumed in $took ms with $evals of 3 evaluations done, backlog $backlog"
wait_evaluated a.db
echo "3 evaluations done after $((SECONDS - T0)) s"
[ "$(metric leadwatch_evaluations_total)" = 3 ] || fail "evaluations_total $(metric leadwatch_evaluations_total), want 3"
[ "$(metric leadwatch_evaluation_backlog_buckets)" = 0 ] || fail "backlog $(metric leadwatch_evaluation_backlog_buckets) after the last evaluation"
[ "$(metric leadwatch_rebalances_total)" = 1 ] || fail "rebalances_total $(metric leadwatch_rebalances_total): the member left the group"
# (the progress line's "N lost (offsets skipped)" counts skipped offsets, not assignments)
grep -v "lost (offsets skipped)" a.err >a.assign
grep -Eiq "revoked|lost|max\.poll|maxpoll|poll interval" a.assign && fail "the log shows a lost assignment: $(grep -Ei 'revoked|lost|max\.poll|maxpoll|poll interval' a.assign | head -3)"
kill -TERM "$A"
wait "$A"
rc=$?
[ $rc -eq 0 ] || fail "slow daemon exit $rc after SIGTERM"
# the series, as lib_kafka.sh's same_series, with hourly gaps (empty rows) in both
"$LW" export -c a.yaml >got.csv || fail "export"
python3 - <<'PY' || fail "series differ from the reference"
import csv
ref = {r["period"]: r for r in csv.DictReader(open("ref.csv"))}
got = {r["period"]: r for r in csv.DictReader(open("got.csv"))}
if set(ref) != set(got):
    print("periods differ:", sorted(set(ref) ^ set(got))); raise SystemExit(1)
exact = ["plays", "listening_ms", "sessions", "playlists"]
for p, r in ref.items():
    for k in exact + ["revenue", "active_users", "minutes_per_user"]:
        e, v = r[k], got[p][k]
        ok = e == v if k in exact or not e or not v else \
            abs(float(v) - float(e)) <= 1e-9 * max(1.0, abs(float(e)))
        if not ok:
            print("%s %s: got %r, expected %r" % (p, k, v, e)); raise SystemExit(1)
print("series equal the reference (%d hours)" % len(ref))
PY

# --- the same without delay ------------------------------------------------------------------
# shellcheck disable=SC2046
"$LW" run -c b.yaml $(kafka_opts fast) --topic events >b.out 2>b.err &
B=$!
LW_PIDS+=("$B")
wait_evaluated b.db
kill -TERM "$B"
wait "$B"
rc=$?
[ $rc -eq 0 ] || fail "fast daemon exit $rc after SIGTERM"
verdicts() { sqlite3 -readonly "$1" "SELECT * FROM verdicts WHERE as_of > $SEEDED ORDER BY 1, 2, 3"; }
verdicts a.db >va.txt
verdicts b.db >vb.txt
[ "$(wc -l <va.txt)" -gt 0 ] || fail "no verdict rows"
cmp -s va.txt vb.txt || fail "verdicts differ from the run without delay: $(diff va.txt vb.txt | head -5)"
transitions() { grep -o 'alert: .*' "$1" | sort; }
transitions a.err >ta.txt
transitions b.err >tb.txt
cmp -s ta.txt tb.txt || fail "alert transitions differ: $(diff ta.txt tb.txt | head -5)"
echo "verdicts ($(wc -l <va.txt) rows) and $(wc -l <ta.txt) alert transition(s) as without delay"
echo "it_kafka_slow_eval: all checks passed in $((SECONDS - T0)) s"
