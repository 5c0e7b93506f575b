#!/usr/bin/env bash
# lib_kafka.sh - helpers shared by the Kafka integration tests (tests/it_kafka_*.sh)
# and the soak script; sourced, never run (CTest only runs tests/it_*.sh).
#
# Every test runs the real binary in separate processes against one
# `leadwatch mock-kafka --control` process, driven through a bash coprocess:
# its first stdout line is the bootstrap address, then each control command
# answers with lines ending in "ok" or "error: ...".  Every process a test
# starts is recorded in LW_PIDS and killed by id on exit.
#
# Expected totals: the simulator is deterministic, so the same `simulate`
# options written as JSONL and ingested with `leadwatch ingest` (the same
# pipeline, a file source) give the exact reference series; with a grace
# period longer than the data no event is late, whatever the interleaving of
# partitions, so the Kafka store must export byte-identical CSV.

LW=${1:?usage: $0 path/to/leadwatch}
LW=$(cd "$(dirname "$LW")" && pwd)/$(basename "$LW")
SRC=${LW_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
LW_PIDS=()
work=$(mktemp -d "${TMPDIR:-/tmp}/lw-kafka-XXXXXX")
cd "$work"

cleanup() {
  local p
  for p in "${LW_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -n "${MOCK_PID:-}" ] && kill "$MOCK_PID" 2>/dev/null
  wait 2>/dev/null
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.err; do [ -f "$f" ] && { echo "--- $f (tail)" >&2; tail -n 15 "$f" >&2; }; done
  exit 1
}

# mock_start [mock-kafka options]: sets BOOT
mock_start() {
  coproc MOCK { exec "$LW" mock-kafka --control "$@" 2>"$work/mock.err"; }
  read -r -t 10 -u "${MOCK[0]}" BOOT || fail "mock-kafka printed no bootstrap address"
  [[ $BOOT == 127.0.0.1:* ]] || fail "bad bootstrap address '$BOOT'"
}

# mock_cmd LINE: prints the answer lines (without the final ok); fails on error.
# Bash closes coprocess fds in subshells: redirect to a file, never pipe or $(...).
mock_cmd() {
  local line
  echo "$*" >&"${MOCK[1]}"
  while read -r -t 60 -u "${MOCK[0]}" line; do
    [ "$line" = ok ] && return 0
    [[ $line == error:* ]] && fail "mock-kafka '$*': $line"
    echo "$line"
  done
  fail "mock-kafka '$*': no answer"
}

# write_config FILE STORE [grace]: metrics over the simulator's events (buckets
# of $BUCKET_SIZE, default 1d; reference() writes its config with it too)
write_config() {
  cat >"$1" <<EOF
source: {format: segment}
store: {path: $2, flush_events: 20000, flush_interval: 1s}
buckets: {size: ${BUCKET_SIZE:-1d}, grace: ${3:-90d}}
metrics:
  - {name: plays, count: true, where: {event: track_played}}
  - {name: listening_ms, sum: properties.duration_ms, where: {event: track_played}}
  - {name: active_users, distinct: user, where: {event: [session_start, track_played]}}
  - {name: sessions, count: true, where: {event: session_start}}
  - {name: playlists, count: true, where: {event: playlist_created}}
  - {name: revenue, sum: properties.revenue, where: {event: purchase}}
  - {name: minutes_per_user, ratio: [listening_ms, active_users]}
tree:
  nsm: listening_ms
  kpi: revenue
  inputs: [{metric: active_users, kind: breadth}, {metric: sessions, kind: frequency},
           {metric: playlists, kind: depth}]
EOF
}

# kafka_opts GROUP: the --kafka options of a daemon against the mock.  No
# topic.metadata.refresh.interval.ms (the tests set 1 s until session 10): with librdkafka
# 2.0.2 a metadata refresh that lands while the member waits in a join makes it rejoin
# ("Metadata for subscribed topic(s) has changed"), and each rejoin waits 5 s in the mock
# (session.timeout.ms - 1 s), so every daemon start took ~8 s to its assignment instead of ~3 s,
# and a refresh at every join would never let it finish: two CI runs (session 9) had a daemon
# that got no assignment in 30 and 60 s.  The daemon's progress line names the group's join
# state while nothing is assigned, so such a wait now shows in the log.
kafka_opts() {
  echo "--kafka bootstrap.servers=$BOOT --kafka group.id=$1 --kafka session.timeout.ms=6000" \
       "--kafka heartbeat.interval.ms=500"
}

# store_positions DB TOPIC: "PARTITION OFFSET" per stored Kafka source
store_positions() {
  sqlite3 -readonly "$1" \
    "SELECT substr(source, length('kafka:$2:') + 1), position FROM positions
     WHERE source LIKE 'kafka:$2:%' ORDER BY 1 + 0" | tr '|' ' '
}

# store_counter DB NAME: a counter's value (0 when unset)
store_counter() {
  local v
  v=$(sqlite3 -readonly "$1" "SELECT value FROM counters WHERE name = '$2'")
  echo "${v:-0}"
}

# check_committed_le_store GROUP TOPIC DB: Kafka's committed offsets never ahead of the store
check_committed_le_store() {
  mock_cmd committed "$1" "$2" >committed.txt
  store_positions "$3" "$2" >stored.txt
  python3 - committed.txt stored.txt "$1" <<'PY' || fail "Kafka committed offsets ahead of the store"
import sys
committed = dict(map(int, l.split()) for l in open(sys.argv[1]) if l.strip())
stored = dict(map(int, l.split()) for l in open(sys.argv[2]) if l.strip())
for p, off in committed.items():
    if off < 0:
        continue  # the group has no offset for p
    if off > stored.get(p, -1):
        print("partition %d: Kafka committed %d, store %d (group %s)"
              % (p, off, stored.get(p, -1), sys.argv[3]))
        sys.exit(1)
PY
}

# reference SIMARGS...: ref.jsonl and ref.csv (the exact expected series)
reference() {
  "$LW" simulate "$@" >ref.jsonl 2>/dev/null || fail "simulate $*"
  write_config ref.yaml ref.db
  "$LW" ingest -c ref.yaml ref.jsonl >ref.out || fail "reference ingest"
  grep -q '^  late  *0$' ref.out || fail "reference has late events; raise the grace"
  "$LW" export -c ref.yaml >ref.csv || fail "reference export"
  REF_EVENTS=$(wc -l <ref.jsonl)
}

# same_series CONFIG STORE...: the stores' series equal ref.csv.  One store:
# every column, exactly except for sums of fractional values (revenue and the
# ratio: float addition in another order), which must agree to 1e-9 relative.
# Several stores (instances of one group): their additive columns summed.
same_series() {
  local cfg=$1
  shift
  local i=0 s
  for s in "$@"; do
    "$LW" export -c "$cfg" --store "$s" >"got$i.csv" || fail "export $s"
    i=$((i + 1))
  done
  python3 - "$i" <<'PY' || fail "series differ from the reference"
import csv, sys
n = int(sys.argv[1])
ref = {r["period"]: r for r in csv.DictReader(open("ref.csv"))}
got = [{r["period"]: r for r in csv.DictReader(open("got%d.csv" % i))} for i in range(n)]
exact = ["plays", "listening_ms", "sessions", "playlists"]
close = ["revenue"] + (["active_users", "minutes_per_user"] if n == 1 else [])
periods = set().union(*[set(g) for g in got])
if periods != set(ref):
    print("periods differ:", sorted(periods ^ set(ref))); sys.exit(1)
for p, r in ref.items():
    for k in exact + close:
        v = sum(float(g[p][k] or 0) for g in got if p in g)
        e = float(r[k])
        ok = v == e if k in exact else abs(v - e) <= 1e-9 * max(1.0, abs(e))
        if not ok:
            print("%s %s: got %r, expected %r" % (p, k, v, e)); sys.exit(1)
if n == 1:
    a = open("got0.csv").read().splitlines()[0]
    assert a == open("ref.csv").read().splitlines()[0], a
print("series equal the reference (%d days, %d store%s)" % (len(ref), n, "s" if n > 1 else ""))
PY
}

# wait_for_line FILE PATTERN SECONDS
wait_for_line() {
  local t=0
  while ! grep -q "$2" "$1" 2>/dev/null; do
    sleep 0.1
    t=$((t + 1))
    [ $t -ge $(($3 * 10)) ] && return 1
  done
  return 0
}

# daemon_url LOG: sets URL from the daemon's "serving /metrics ... on port N" line (http
# listen port 0); fails when the line does not come within 20 s
daemon_url() {
  wait_for_line "$1" "serving /metrics" 20 || fail "no http server"
  local port
  port=$(sed -n 's/.*serving \/metrics, \/healthz and \/readyz on port \([0-9]*\).*/\1/p' "$1")
  [ -n "$port" ] || fail "no port in $1"
  URL="http://127.0.0.1:$port"
}

# metric NAME: an unlabelled series' value from $URL/metrics, as an integer
metric() { curl -s -m 2 "$URL/metrics" | awk -v n="$1" '$1 == n {printf "%d", $2}'; }

# write_hourly_config FILE STORE FLUSH_EVENTS: the hourly break tests' daemon config
# (it_hourly_break.sh, it_kafka_year_hourly.sh): listening_ms (the NSM) and playlists,
# hourly buckets (grace 10m), window 240, max_lag 6, analysis.full_every at its default
# (1d), the sequential monitor (arm_after 5, for 1), /metrics on a free port
write_hourly_config() {
  cat >"$1" <<EOF
source: {format: segment}
store: {path: $2, flush_events: $3, flush_interval: 1s}
buckets: {size: 1h, grace: 10m}
metrics:
  - {name: listening_ms, sum: properties.duration_ms, where: {event: track_played}}
  - {name: playlists, count: true, where: {event: playlist_created}}
  - {name: sessions, count: true, where: {event: session_start}}
tree:
  nsm: listening_ms
  inputs: [{metric: playlists, kind: depth}]
analysis: {window: 240, max_lag: 6}
alerts: {monitor: true, arm_after: 5, for: 1}
http: {listen: "127.0.0.1:0"}
EOF
}

# int_key DB KEY: an integer the store keeps (table ints), empty when unset
int_key() { sqlite3 -readonly "$1" "SELECT value FROM ints WHERE key = '$2'" 2>/dev/null; }

# wait_evaluated DB SECONDS [PID]: the evaluator's position (watch.last_as_of_ms) reaches
# $FINAL within SECONDS; with PID, fails as soon as that process is gone
wait_evaluated() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [ "$(int_key "$1" watch.last_as_of_ms)" = "$FINAL" ] && return 0
    [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null && fail "$1: the daemon exited"
    sleep 0.1
  done
  fail "$1: evaluated as of $(int_key "$1" watch.last_as_of_ms), want $FINAL"
}

# wait_flushed DB TOPIC OFFSET SECONDS: partition 0 of TOPIC stored at OFFSET (every message
# up to it flushed) within SECONDS.  The flush that closes the last bucket need not hold the
# last events (a flush_events boundary can fall among the newest bucket's events); the rest
# reach the store at the next flush_interval, so a test that reads the store's series while
# the daemon runs waits for this first.
wait_flushed() {
  local i
  for ((i = 0; i < $4 * 10; i++)); do
    [ "$(store_positions "$1" "$2" | awk '$1 == 0 {print $2}')" = "$3" ] && return 0
    sleep 0.1
  done
  fail "$1: partition 0 of $2 stored at $(store_positions "$1" "$2"), want $3"
}

# transitions LOG: "ALERTNAME EDGE FROM -> TO as of BUCKET", one per alert event, from a
# --log-level debug log (each transition line is followed by its evaluation's "as of" line)
transitions() {
  awk '/ alert: Leadwatch/ { sub(/.* alert: /, ""); sub(/: [^>]*$/, ""); pend[++n] = $0; next }
       / watch: (evaluated|close) as of / {
         match($0, /as of [^:]*:[^:]*:[^:]*Z/); b = substr($0, RSTART + 6, RLENGTH - 6)
         for (i = 1; i <= n; i++) print pend[i] " as of " b
         n = 0 }' "$1"
}

# same_alerts A.err B.err AFTER: two daemons' alert transitions (transitions, written to
# A.alerts and B.alerts) are the same list, in which playlists' LeadwatchInputNoLongerLeads
# fires as of a bucket after AFTER (an ISO 8601 prefix, the planted break); sets FIRE_AT
same_alerts() {
  local a=${1%.err}.alerts b=${2%.err}.alerts fire
  transitions "$1" >"$a"
  transitions "$2" >"$b"
  cmp -s "$a" "$b" || fail "alert transitions differ: $(diff "$a" "$b" | head -6)"
  fire=$(grep -m1 'LeadwatchInputNoLongerLeads playlists->listening_ms: [a-z]* -> firing' "$a") ||
    fail "no LeadwatchInputNoLongerLeads firing for playlists: $(cat "$a")"
  FIRE_AT=${fire##* as of }
  [[ $FIRE_AT > $3 ]] || fail "fired as of $FIRE_AT, before the break ($3)"
}
