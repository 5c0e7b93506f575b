#!/usr/bin/env bash
# bench_fleet_pg.sh - consumption by a fleet on PostgreSQL against one daemon
# on SQLite (issue 13): the same prefilled topic consumed by
#   sqlite-1   one `leadwatch run` into a SQLite file
#   pg-1       one member into PostgreSQL
#   pg-2       two members of one group into one PostgreSQL database
#   pg-3       three members
# each in its own consumer group and its own store (a fresh database).  A run
# is timed from the first assignment (a member logs "assigned kafka"; the
# group join before it takes 3-8 s on the mock, whatever the store) to the
# moment the store holds every offset (the sum of the stored positions equals
# the events produced; polled every 100 ms), so neither the join nor the idle
# wait at the end counts; then the members are stopped.  Figures: messages/s =
# events / seconds; transactions/s = store commits (sum of the members'
# `leadwatch_store_commits_total` before they stop, from /metrics) / seconds.
# RUNS rounds (default 2), the conditions interleaved within a round; prints
# every run and the median per condition with its ratio to sqlite-1 as a
# Markdown table (for bench/RESULTS.md).
#
# Data: simulate --days 90 --seed 5 --scale 0.2 (537,782 events; set SIM to change), produced
# once into mock-kafka with 48 partitions (the mock keeps the newest 5 MiB per
# partition; checked).  PostgreSQL: tests/lib_pg.sh (initdb under /tmp, on
# this host, Unix socket, fsync on).
#
# usage: bench/bench_fleet_pg.sh build/leadwatch
set -uo pipefail
export LW_SOURCE_DIR=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
source "$LW_SOURCE_DIR/tests/lib_kafka.sh"
# shellcheck source=tests/lib_pg.sh
source "$SRC/tests/lib_pg.sh"
pg_start_with
RUNS=${RUNS:-2}
read -r -a SIMARGS <<<"${SIM:---days 90 --seed 5 --scale 0.2}"
"$LW" simulate "${SIMARGS[@]}" >ref.jsonl 2>/dev/null || fail "simulate"
N=$(wc -l <ref.jsonl)
write_config b.yaml unused.db
mock_start --topic events --partitions 48
"$LW" simulate "${SIMARGS[@]}" --produce "$BOOT" --topic events 2>sim.err || fail "produce"
mock_cmd watermarks events >wm.txt
awk '$2 != 0 {bad = 1} {s += $3} END {exit bad || s != '"$N"'}' wm.txt ||
  fail "the mock dropped data (retention): $(head -3 wm.txt)"
echo "$N events in 48 partitions"

stored() { # stored STORE: the sum of the stored positions (0 before the tables exist)
  local v
  case $1 in
    postgresql:*) v=$("$PG_BIN/psql" -X -tA "$1" -c "SELECT coalesce(sum(position), 0) FROM positions" 2>/dev/null) ;;
    *) v=$(sqlite3 -readonly "$1" "SELECT coalesce(sum(position), 0) FROM positions" 2>/dev/null) ;;
  esac
  echo "${v:-0}"
}

run_one() { # run_one NAME MEMBERS STORE: prints "NAME seconds msgs/s txn/s"
  local name=$1 k=$2 store=$3 pids=() i p t0 t1 commits=0 c group="g-$1-$RANDOM"
  t0=$(date +%s.%N)
  for i in $(seq 1 "$k"); do
    # shellcheck disable=SC2046
    "$LW" run -c b.yaml --store "$store" $(kafka_opts "$group") --topic events \
      --http 127.0.0.1:0 >"$name-$i.out" 2>"$name-$i.err" &
    pids+=($!)
    LW_PIDS+=($!)
  done
  # consumption starts with the first assignment (the mock's group join, 3-8 s, is not timed)
  until grep -q "assigned kafka" "$name"-*.err 2>/dev/null; do sleep 0.05; done
  t0=$(date +%s.%N)
  while [ "$(stored "$store")" -lt "$N" ]; do sleep 0.1; done
  t1=$(date +%s.%N)
  for i in $(seq 1 "$k"); do
    daemon_url "$name-$i.err"
    c=$(metric leadwatch_store_commits_total)
    commits=$((commits + ${c:-0}))
  done
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  python3 -c "s = $t1 - $t0; print('%s %.2f %.0f %.1f' % ('$name', s, $N / s, $commits / s))"
}

: >runs.txt
for r in $(seq 1 "$RUNS"); do
  run_one sqlite-1 1 "$PWD/r$r.db" | tee -a runs.txt
  for k in 1 2 3; do
    db="lwb_${r}_$k"
    "$PG_BIN/psql" -X -q "$PG_URL" -c "CREATE DATABASE $db" || fail "create $db"
    run_one "pg-$k" "$k" "$(pg_url "$db")" | tee -a runs.txt
  done
done
python3 - runs.txt <<'PY'
import statistics, sys
rows = {}
for l in open(sys.argv[1]):
    n, s, m, t = l.split()
    rows.setdefault(n, []).append((float(s), float(m), float(t)))
base = statistics.median(m for _, m, _ in rows["sqlite-1"])
print("| condition | runs | seconds (median) | messages/s (median) | vs sqlite-1 | transactions/s (median) |")
print("|---|---|---|---|---|---|")
for n in ["sqlite-1", "pg-1", "pg-2", "pg-3"]:
    r = rows[n]
    m = statistics.median(x[1] for x in r)
    print("| %s | %d | %.2f | %.0f | %.2fx | %.1f |" % (n, len(r), statistics.median(x[0] for x in r),
          m, m / base, statistics.median(x[2] for x in r)))
PY
