#!/usr/bin/env bash
# it_fleet_pg.sh - a fleet: 3 daemons (`leadwatch run`) in one consumer group
# on the embedded Kafka, all writing one PostgreSQL store (tests/lib_pg.sh),
# while a producer writes a simulated product (keyed by user, so spread over
# the 8 partitions): `simulate --hourly --days 720` (30 days of hourly
# buckets, 68,000 events) in which playlists lead listening by 1 hour until
# hour 480; window 240 buckets, the full analysis at the 23:00 buckets
# (analysis.full_every 1d), alerts on every flap of an edge (window rule, for 0):
#   1. FLEET_ROUNDS (default 20) times a random member is killed with SIGKILL
#      and started again at once (each one a rebalance, often with the dead
#      member's partitions waiting for its session timeout);
#   2. a member is paused (SIGSTOP) past its session timeout and resumed: its
#      late flush is refused and counted (its log, and
#      leadwatch_store_fenced_flushes_total on its /metrics);
#   3. evaluator failover: the member holding the evaluator lease is killed;
#      another one takes the lease and evaluates the next closed bucket within
#      30 s (the verdicts table's newest as_of moves);
#   4. once everything is consumed: the series equal the reference exactly
#      (counts and distincts; fractional sums to 1e-9), the accepted counter
#      equals the events produced (0 lost, 0 counted twice), Kafka's committed
#      offsets are never ahead of the store, the mock still holds every
#      message, and a single daemon's run on the same topic (its own group
#      and store; started after step 3, while the producer still runs, it
#      follows the stream to its end) has the same verdict history, the same
#      edge alert transitions (from the members' debug logs: each "NAME
#      EDGE: A -> B" with the bucket of the evaluation that made it; the
#      single run must fire at least one: about 28 transitions, 7 of them to
#      firing) and the same alert table
#      persisted in the store (blob alert_state: every edge alert's state,
#      streaks and annotations, not its wall-clock times).
set -uo pipefail
source "$(dirname "$0")/lib_kafka.sh"
# shellcheck source=tests/lib_pg.sh
source "$SRC/tests/lib_pg.sh"
pg_start_with lwt_fleet lwt_single
FLEET=$(pg_url lwt_fleet)
SINGLE=$(pg_url lwt_single)
psql_fleet() { "$PG_BIN/psql" -X -tA -F' ' "$FLEET" -c "$1"; }

ROUNDS=${FLEET_ROUNDS:-20}
SEED=${FLEET_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$SEED
echo "kill rounds: $ROUNDS, random seed: $SEED (FLEET_SEED=$SEED to repeat)"
# hourly buckets: 720 simulated days written as hours (30 days of hourly buckets), playlists
# leading listening by 1 hour until hour 480 (docs/SIMULATOR.md, --model and --hourly)
SIM=(--hourly --days 720 --seed 5 --scale 0.002 --break-day 480
     --model playlists_base=20000 --model lag_playlists=1)
# shellcheck disable=SC2034 # read by write_config and reference (lib_kafka.sh)
BUCKET_SIZE=1h
reference "${SIM[@]}"
# buckets close with a grace of 48 hours: the simulator's late deliveries are at most 1.5
# hours late, but a member's event is late by the fleet's watermark as of its last flush
# (flush_interval 1 s; a member that is behind after a rebalance, or whose partitions were
# idle at their end), and an hour is produced in 1/8 s: the grace covers 6 s of production
write_config f.yaml unused.db 48h
# alerts on every flap of an edge (the window-verdict rule, monitor: false, with for 0,
# keep_firing_for 0, arm_after 0), so there are some to compare (the default sequential
# monitor fires none here); the full analysis (verdicts, their alerts) at the 23:00 buckets
cat >>f.yaml <<'EOF'
analysis: {window: 240, max_lag: 6, full_every: 1d}
alerts: {monitor: false, for: 0, keep_firing_for: 0, arm_after: 0, on: [no_longer_leads, reverse, kpi_link_lost]}
EOF
"$LW" ingest -c f.yaml --store g.db ref.jsonl >g.out || fail "reference ingest with grace 2d"
grep -q '^  late  *0$' g.out || fail "grace 48h makes events late in the reference"
mock_start --topic events --partitions 8

# the producer must outlast the kill rounds, the pause (up to 6 tries, each up to ~55 s of
# waits) and the failover: 90 s ran out on a slow VM in session 12 when the first try found
# nothing unflushed (the kill rounds took 24 s, the producer had ended by the second try)
PROD_S=${FLEET_PRODUCE_S:-120}
rate=$((REF_EVENTS / PROD_S + 1))
"$LW" simulate "${SIM[@]}" --produce "$BOOT" --topic events --rate "$rate" \
  --kafka linger.ms=50 2>sim.err &
SIM_PID=$!
LW_PIDS+=("$SIM_PID")

declare -A MPID
start_member() { # start_member N: member N (logs mN.err, appended across restarts)
  # shellcheck disable=SC2046
  "$LW" run -c f.yaml --store "$FLEET" $(kafka_opts fleet) --topic events --log-level debug \
    --http 127.0.0.1:0 >>"m$1.out" 2>>"m$1.err" &
  MPID[$1]=$!
  LW_PIDS+=("${MPID[$1]}")
}
member_url() { # member_url N: URL of member N's newest /metrics (read by metric, lib_kafka.sh)
  local port
  port=$(sed -n 's/.*serving \/metrics, \/healthz and \/readyz on port \([0-9]*\).*/\1/p' "m$1.err" | tail -1)
  URL="http://127.0.0.1:$port"
  export URL
}
rand_sleep() { # rand_sleep MIN_MS MAX_MS
  local ms=$(($1 + RANDOM % ($2 - $1)))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
}
for n in 1 2 3; do start_member "$n"; done
for n in 1 2 3; do wait_for_line "m$n.err" "claimed kafka:events" 60 || fail "member $n: no claim in 60 s"; done
t0=$SECONDS

# 1. random SIGKILLs and restarts while producing
for _ in $(seq 1 "$ROUNDS"); do
  rand_sleep 400 1600
  n=$((RANDOM % 3 + 1))
  kill -9 "${MPID[$n]}" 2>/dev/null
  wait "${MPID[$n]}" 2>/dev/null
  start_member "$n"
done
kill -0 "$SIM_PID" 2>/dev/null || fail "the producer finished before the kill rounds did; raise FLEET_PRODUCE_S"
echo "1. $ROUNDS members killed (SIGKILL) and restarted in $((SECONDS - t0)) s while producing"

# 2. SIGSTOP past the session timeout (6 s) and the takeover, SIGCONT: the late flush is refused
fenced=0
# up to 6 tries: right after the kill rounds the group still rebalances as the killed members'
# sessions expire (6 s each), so a member may hold nothing for a while (a CI run found members
# without partitions in 3 of 4 tries with a 5 s wait)
for attempt in 1 2 3 4 5 6; do
  kill -0 "$SIM_PID" 2>/dev/null || fail "the producer finished before a paused member had anything unflushed; raise FLEET_PRODUCE_S"
  n=$((RANDOM % 3 + 1))
  before=$(grep -c "the flush is refused" "m$n.err")
  wait_for_line "m$n.err" "serving /metrics" 20 || fail "member $n: no http server"
  t=0 # a member with partitions (not one between a revocation and its next assignment)
  while :; do
    member_url "$n"
    assigned=$(metric leadwatch_partitions_assigned)
    [ "${assigned:-0}" -ge 1 ] && break
    sleep 0.2; t=$((t + 1)); [ $t -lt 75 ] || break # up to 15 s
  done
  [ "${assigned:-0}" -ge 1 ] || { echo "attempt $attempt: member $n holds no partition; another"; continue; }
  sleep 0.5 # consuming them
  # its claims (owner host:pid in source_owners) as they are when it stops
  owner="$(hostname):${MPID[$n]}"
  kill -STOP "${MPID[$n]}"
  psql_fleet "SELECT source || ' ' || epoch FROM source_owners WHERE owner = '$owner' ORDER BY 1" >claims.txt
  # paused until another member claimed one of its partitions (the session timeout is 6 s, then
  # a rebalance): only then is its flush a zombie's (before, it still owns them and may commit)
  t=0
  while [ -s claims.txt ] && [ $t -lt 150 ] && psql_fleet "SELECT source || ' ' || epoch FROM
      source_owners WHERE owner = '$owner' ORDER BY 1" | cmp -s - claims.txt; do
    sleep 0.2; t=$((t + 1))
  done
  paused=$((t / 5 + 1))
  kill -CONT "${MPID[$n]}"
  [ -s claims.txt ] || { echo "attempt $attempt: member $n had no claim when stopped; another"; continue; }
  t=0
  while [ "$(grep -c "the flush is refused" "m$n.err")" -le "$before" ] && [ $t -lt 50 ]; do
    sleep 0.2; t=$((t + 1))
  done
  if [ "$(grep -c "the flush is refused" "m$n.err")" -gt "$before" ]; then
    t=0 # /metrics is refreshed every second
    while fenced=$(metric leadwatch_store_fenced_flushes_total) && [ "${fenced:-0}" -lt 1 ] &&
      [ $t -lt 50 ]; do
      sleep 0.2; t=$((t + 1))
    done
    [ "${fenced:-0}" -ge 1 ] || fail "member $n logged a refused flush, /metrics says '${fenced}'"
    break
  fi
  echo "attempt $attempt: member $n had nothing unflushed when stopped; again"
done
[ "${fenced:-0}" -ge 1 ] || fail "no paused member's flush was refused in 6 attempts"
echo "2. member $n paused ~$paused s (until another member claimed its partitions) and resumed: its late flush was refused (fenced_flushes_total $fenced)"

# leader N: the member whose newest lease line says it holds the lease (a live one)
leader() {
  local n
  for n in 1 2 3; do
    kill -0 "${MPID[$n]}" 2>/dev/null || continue
    if grep "evaluator lease" "m$n.err" | tail -1 | grep -q "taken"; then echo "$n"; return; fi
  done
}
newest_as_of() { psql_fleet "SELECT coalesce(max(as_of), 0) FROM verdicts"; }

# 3. evaluator failover (buckets must still be closing: the producer runs)
t=0
while [ -z "$(leader)" ]; do
  sleep 0.2; t=$((t + 1)); [ $t -lt 150 ] || fail "no member took the evaluator lease in 30 s"
done
kill -0 "$SIM_PID" 2>/dev/null || fail "the producer finished before the failover test; raise FLEET_PRODUCE_S"
old=$(leader)
before=$(newest_as_of)
kill -9 "${MPID[$old]}" 2>/dev/null
wait "${MPID[$old]}" 2>/dev/null
tk=$SECONDS
t=0
while :; do
  now=$(newest_as_of)
  new=$(leader)
  if [ -n "$new" ] && [ "$new" != "$old" ] && [ "$now" -gt "$before" ]; then break; fi
  sleep 0.2; t=$((t + 1))
  [ $t -lt 150 ] || fail "after killing leader $old no other member evaluated a new bucket in 30 s (newest as_of $now, was $before; leader '${new}')"
done
echo "3. leader (member $old) killed: member $new evaluated as of $(date -u -d "@$((now / 1000))" +%FT%H:%M) after $((SECONDS - tk)) s"
start_member "$old"

# the single daemon: same topic, its own group and store, to the end.  Started now, while the
# producer still runs (its last ~20-40 s were idle waiting): it catches up, follows the stream
# and exits 2 s after the last event.  Should the stream pause 2 s before its end (a starved
# producer), the run is resumed from its store until it has every offset.
single_run() {
  # shellcheck disable=SC2046
  "$LW" run -c f.yaml --store "$SINGLE" $(kafka_opts single) --topic events --exit-when-idle 2 \
    --log-level debug >>single.out 2>>single.err
}
single_run &
SINGLE_PID=$!
LW_PIDS+=("$SINGLE_PID")

wait "$SIM_PID" || fail "producer failed: $(tail -2 sim.err)"
mock_cmd watermarks events >wm.txt
awk '$2 != 0 {bad = 1} {s += $3} END {exit bad || s != '"$REF_EVENTS"'}' wm.txt \
  || fail "the mock dropped data (retention); the test is invalid: $(cat wm.txt)"

# 4. run to the end: every offset stored, then the evaluations settle
t=0
while [ "$(psql_fleet "SELECT coalesce(sum(position), 0) FROM positions")" -ne "$REF_EVENTS" ]; do
  sleep 0.5; t=$((t + 1)); [ $t -lt 120 ] || fail "the fleet did not store every offset in 60 s"
done
wait "$SINGLE_PID" || fail "single run exit $?"
single_pos() { "$PG_BIN/psql" -X -tA "$SINGLE" -c "SELECT coalesce(sum(position), 0) FROM positions"; }
for _ in 1 2 3; do
  [ "$(single_pos)" -eq "$REF_EVENTS" ] && break
  echo "the single run stopped at $(single_pos) of $REF_EVENTS offsets (the stream paused); resumed"
  single_run || fail "single run exit $?"
done
[ "$(single_pos)" -eq "$REF_EVENTS" ] || fail "the single run stored $(single_pos) of $REF_EVENTS offsets"
want=$("$PG_BIN/psql" -X -tA "$SINGLE" -c "SELECT count(*) FROM verdicts")
t=0
while [ "$(psql_fleet "SELECT count(*) FROM verdicts")" -lt "$want" ]; do
  sleep 0.5; t=$((t + 1)); [ $t -lt 60 ] || fail "the fleet evaluated fewer buckets than one daemon"
done
for n in 1 2 3; do kill -TERM "${MPID[$n]}" 2>/dev/null; done
for n in 1 2 3; do wait "${MPID[$n]}" 2>/dev/null; done

same_series f.yaml "$FLEET"
acc=$(psql_fleet "SELECT value FROM counters WHERE name = 'events.accepted'")
[ "$acc" -eq "$REF_EVENTS" ] || fail "the store counted $acc events, expected $REF_EVENTS"
mock_cmd committed fleet events >c.txt
psql_fleet "SELECT substr(source, length('kafka:events:') + 1), position FROM positions" >s.txt
python3 - c.txt s.txt <<'PY' || fail "Kafka committed offsets ahead of the store"
import sys
committed = dict(map(int, l.split()) for l in open(sys.argv[1]) if l.strip())
stored = dict(map(int, l.split()) for l in open(sys.argv[2]) if l.strip())
assert all(off < 0 or off <= stored.get(p, -1) for p, off in committed.items()), (committed, stored)
PY
verdicts() { "$PG_BIN/psql" -X -tA "$1" -c "SELECT edge, as_of, verdict, lag, round(p::numeric, 9)
  FROM verdicts ORDER BY edge, as_of"; }
verdicts "$FLEET" >vf.txt
verdicts "$SINGLE" >vs.txt
[ -s vs.txt ] || fail "the single daemon evaluated nothing"
cmp -s vf.txt vs.txt || { diff vs.txt vf.txt | head >&2; fail "verdict history differs from one daemon's"; }
# alert transitions: "NAME EDGE: A -> B as of BUCKET", each "alert:" line given the bucket of
# the evaluation line that follows it from the same process (the logs are appended across
# restarts; a killed leader's last evaluation may be redone, and logged twice, by the next one).
# Edge alerts only: LeadwatchPipelineStalled and LeadwatchEventsLost are about one member's
# clock, and the firing alerts a restarted member re-announces are not new.
alerts() {
  awk 'match($0, /leadwatch\[[0-9]+\]/) == 0 { next }
       { pid = substr($0, RSTART, RLENGTH) }
       / alert: Leadwatch/ && !/ alert: (LeadwatchPipelineStalled|LeadwatchEventsLost)/ &&
         !/re-announced after restart/ {
         s = $0; sub(/.* alert: /, "", s); sub(/: [^>]*$/, "", s); pend[pid] = pend[pid] s "\n"; next }
       / watch: (evaluated|close) as of / {
         match($0, /as of [^:]*:[^:]*:[^:]*Z/); b = substr($0, RSTART + 6, RLENGTH - 6)
         n = split(pend[pid], l, "\n")
         for (i = 1; i < n; i++) print l[i] " as of " b
         delete pend[pid] }' "$@" | sort -u
}
alerts m1.err m2.err m3.err >af.txt
alerts single.err >as.txt
nfire=$(grep -c -- '-> firing as of' as.txt)
[ "$nfire" -ge 1 ] || fail "no edge alert fired in the single run: nothing to compare ($(wc -l <as.txt) transitions)"
cmp -s af.txt as.txt || { diff as.txt af.txt | head >&2; fail "alert transitions differ from one daemon's"; }
# the alert table persisted in each store (blob alert_state): every edge alert's condition,
# state, streaks, arming, edge and annotations; not its wall-clock times (active, fired,
# resolved at), nor the member-local LeadwatchPipelineStalled / LeadwatchEventsLost
alert_table() {
  "$PG_BIN/psql" -X -tA "$1" -c "SELECT convert_from(value, 'UTF8') FROM blobs WHERE key = 'alert_state'" |
    awk -F'\t' 'NF > 10 && $1 != "pipeline_stalled" && $1 != "events_lost" {
      $7 = $8 = $9 = ""; print }' OFS='\t' | sort
}
alert_table "$FLEET" >tf.txt
alert_table "$SINGLE" >ts.txt
awk -F'\t' '$2 == "firing" || $2 == "resolved" {n++} END {exit !n}' ts.txt || fail "the single store's alert table holds no fired alert: $(cat ts.txt)"
cmp -s tf.txt ts.txt || { diff ts.txt tf.txt | head >&2; fail "the fleet store's alert table differs from one daemon's"; }
# the example Grafana dashboard's queries run on this store (macros and the variable filled in)
python3 - "$SRC/config/grafana-leadwatch-pg.json" >gf.sql <<'PY' || fail "dashboard JSON"
import json, sys
d = json.load(open(sys.argv[1]))
for q in [d["templating"]["list"][0]["query"]] + [t["rawSql"] for p in d["panels"] for t in p["targets"]]:
    q = q.replace("$__timeFilter(bucket_start)", "bucket_start > now() - interval '10 years'")
    print(q.replace("$metric", "'plays', 'active_users'") + ";")
PY
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$FLEET" -f gf.sql >gf.out 2>&1 || fail "a dashboard query fails: $(tail -3 gf.out)"
fenced_all=$(cat m*.out | sed -n 's/.*fleet: \([0-9]*\) flush.*/\1/p' | awk '{s += $1} END {print s + 0}')
echo "4. series exact, $acc events counted once, Kafka committed <= store, $(wc -l <vs.txt) verdicts, $(wc -l <as.txt) alert transitions ($nfire firing) and the $(wc -l <ts.txt) edge alerts stored equal one daemon's ($fenced_all refused flushes in the last runs' summaries)"
echo "it_fleet_pg: all checks passed in $SECONDS s"
