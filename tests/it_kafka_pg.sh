#!/usr/bin/env bash
# it_kafka_pg.sh - the daemon (`leadwatch run`) on the embedded Kafka into a
# PostgreSQL store (tests/lib_pg.sh starts a throwaway server):
#   1. a clean run to idle: the series equal the reference (the same simulated
#      events ingested from a file into SQLite) and Kafka's committed offsets
#      equal the positions stored in PostgreSQL;
#   2. KILL_ROUNDS (default 5) daemons killed with SIGKILL while a producer
#      writes, then one run to idle: after each kill Kafka's committed offsets
#      are not ahead of the store's, and the final series are exact (counts
#      and distincts exactly, fractional sums to 1e-9, same_series).
# One daemon here; several in one group on one store: tests/it_fleet_pg.sh.
set -uo pipefail
source "$(dirname "$0")/lib_kafka.sh"
# shellcheck source=tests/lib_pg.sh
source "$SRC/tests/lib_pg.sh"
pg_start_with lwt_clean lwt_kill

# pg_positions DB TOPIC: "PARTITION OFFSET" per stored Kafka source, as store_positions
pg_positions() {
  "$PG_BIN/psql" -X -tA -F' ' "$(pg_url "$1")" -c \
    "SELECT substr(source, length('kafka:$2:') + 1), position FROM positions
     WHERE source LIKE 'kafka:$2:%' ORDER BY substr(source, length('kafka:$2:') + 1)::int"
}

SIM=(--days 6 --seed 17)
reference "${SIM[@]}"
mock_start --topic events --partitions 8
write_config k.yaml unused.db

# 1. clean run
"$LW" simulate "${SIM[@]}" --produce "$BOOT" --topic events 2>sim.err || fail "simulate --produce"
# shellcheck disable=SC2046
"$LW" run -c k.yaml --store "$(pg_url lwt_clean)" $(kafka_opts clean) --topic events \
  --exit-when-idle 1 >run.out 2>run.err || fail "run exit $?"
grep -q "^consumed $REF_EVENTS messages" run.out || fail "consumed count: $(head -1 run.out)"
same_series k.yaml "$(pg_url lwt_clean)"
mock_cmd committed clean events >c.txt
sort -n c.txt >committed.txt
pg_positions lwt_clean events >stored.txt
cmp -s committed.txt stored.txt || { paste committed.txt stored.txt; fail "committed != stored"; }
echo "1. clean run into PostgreSQL: series exact, Kafka committed = stored offsets"

# 2. kill -9 rounds while producing into a second topic
mock_cmd topic events2 8 >/dev/null
ROUNDS=${KILL_ROUNDS:-5}
rate=$((REF_EVENTS * 10 / (ROUNDS * 30) + 1))
"$LW" simulate "${SIM[@]}" --produce "$BOOT" --topic events2 --rate "$rate" \
  --kafka linger.ms=100 2>sim2.err &
SIM_PID=$!
LW_PIDS+=("$SIM_PID")
for i in $(seq 1 "$ROUNDS"); do
  # shellcheck disable=SC2046
  "$LW" run -c k.yaml --store "$(pg_url lwt_kill)" $(kafka_opts "kill-$i") --topic events2 \
    >r.out 2>r.err &
  pid=$!
  LW_PIDS+=("$pid")
  wait_for_line r.err "assigned kafka" 60 || fail "round $i: no assignment in 60 s"
  sleep "0.$((RANDOM % 9 + 1))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  mock_cmd committed "kill-$i" events2 >committed.txt
  pg_positions lwt_kill events2 >stored.txt
  python3 - committed.txt stored.txt <<'PY' || fail "round $i: Kafka committed offsets ahead of the store"
import sys
committed = dict(map(int, l.split()) for l in open(sys.argv[1]) if l.strip())
stored = dict(map(int, l.split()) for l in open(sys.argv[2]) if l.strip())
assert all(off < 0 or off <= stored.get(p, -1) for p, off in committed.items()), (committed, stored)
PY
  echo "round $i: killed; the store holds $(awk '{s += $2} END {print s + 0}' stored.txt) of $REF_EVENTS offsets"
done
wait "$SIM_PID" || fail "producer failed: $(tail -2 sim2.err)"
# shellcheck disable=SC2046
"$LW" run -c k.yaml --store "$(pg_url lwt_kill)" $(kafka_opts kill-1) --topic events2 \
  --exit-when-idle 2 >final.out 2>final.err || fail "final run exit $?"
same_series k.yaml "$(pg_url lwt_kill)"
echo "2. $ROUNDS daemons killed with -9 mid-stream, then a run to idle: series exact"
# 3. `run` on a PostgreSQL store refuses an experiments: section (assignments are
#    per member; a fenced flush would count experiment sums twice): exit 2, said why
cp k.yaml kx.yaml
cat >>kx.yaml <<'EOF'
experiments:
  exposures:
    - {where: {event: Experiment Viewed}, experiment: properties.experiment_id,
       variant: properties.variation_id}
EOF
# shellcheck disable=SC2046
"$LW" run -c kx.yaml --store "$(pg_url lwt_clean)" $(kafka_opts refuse) --topic events \
  --exit-when-idle 1 >refuse.out 2>refuse.err
rc=$?
[ $rc = 2 ] || fail "run with experiments: on PostgreSQL: exit $rc, expected 2"
grep -q "experiments: is not supported by .run. on a PostgreSQL store" refuse.err ||
  fail "the refusal does not say why: $(cat refuse.err)"
echo "3. run refuses experiments: on a PostgreSQL store (exit 2)"
echo "it_kafka_pg: all checks passed"
