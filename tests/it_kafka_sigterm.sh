#!/usr/bin/env bash
# SIGTERM and SIGINT under load: the daemon finishes its batch, commits
# (store, then Kafka), leaves the group and exits 0 within a bounded time
# (STOP_BOUND_S, default 10 s); after a clean stop Kafka's committed offsets
# equal the store's; a later run finishes the stream and the series equal the
# reference: nothing lost, nothing counted twice.
set -uo pipefail
source "$(dirname "$0")/lib_kafka.sh"
BOUND=${STOP_BOUND_S:-10}

# ~20 s of production at 15000/s (302,356 events): both stops happen under load.  They end
# ~12 s after the start (two ~3 s group joins, 1.5 s each, the stops); 16 days (27 s) were sized
# for the ~8 s joins before session 10 (kafka_opts, lib_kafka.sh), the same margin
SIM=(--days 12 --seed 31)
reference "${SIM[@]}"
mock_start --topic events --partitions 16
"$LW" simulate "${SIM[@]}" --produce "$BOOT" --topic events --rate 15000 2>sim.err &
SIM_PID=$!
LW_PIDS+=("$SIM_PID")
write_config k.yaml k.db

stop_under_load() { # stop_under_load SIGNAL ROUND
  # shellcheck disable=SC2046
  "$LW" run -c k.yaml $(kafka_opts st) --topic events >"$2.out" 2>"$2.err" &
  local pid=$! t0 t1 rc
  LW_PIDS+=("$pid")
  wait_for_line "$2.err" "assigned kafka" 60 || fail "$2: no assignment"
  sleep 1.5
  kill -0 "$SIM_PID" 2>/dev/null || fail "$2: the producer finished before the stop (not under load)"
  t0=$(date +%s%N)
  kill -"$1" "$pid"
  wait "$pid"
  rc=$?
  t1=$(date +%s%N)
  [ $rc -eq 0 ] || fail "$2: exit $rc after SIG$1"
  local ms=$(((t1 - t0) / 1000000))
  [ $ms -le $((BOUND * 1000)) ] || fail "$2: took $ms ms to stop (bound $BOUND s)"
  grep -q "stop requested" "$2.err" || fail "$2: no stop message"
  grep -q "^consumed [1-9]" "$2.out" || fail "$2: consumed nothing under load"
  mock_cmd committed st events >c.txt
  sort -n c.txt >committed.txt
  store_positions k.db events | sort -n >stored.txt
  cmp -s committed.txt stored.txt || { paste committed.txt stored.txt >&2; fail "$2: committed != stored after a clean stop"; }
  echo "$2: SIG$1 -> exit 0 in $ms ms; $(head -1 "$2.out")"
}
stop_under_load TERM term
stop_under_load INT int
wait "$SIM_PID" || fail "producer failed"
# shellcheck disable=SC2046
"$LW" run -c k.yaml $(kafka_opts st) --topic events --exit-when-idle 1 >final.out 2>final.err \
  || fail "final run exit $?"
same_series k.yaml k.db
acc=$(store_counter k.db events.accepted)
[ "$acc" -eq "$REF_EVENTS" ] || fail "store counted $acc events, expected $REF_EVENTS"
echo "it_kafka_sigterm: all checks passed"
