#!/usr/bin/env bash
# Mock-cluster fault injection while consuming: request errors on Fetch,
# OffsetCommit and Heartbeat (rd_kafka_mock_push_request_errors), added
# round-trip time, and the only broker going down and coming back.
# Consumption must resume by itself; at the end the series equal the
# reference (no loss, no duplicate) and Kafka's committed offsets never got
# ahead of the store's.
set -uo pipefail
source "$(dirname "$0")/lib_kafka.sh"

SIM=(--days 8 --seed 51)
reference "${SIM[@]}"
mock_start --topic events --partitions 16
# idempotent: a retry after the broker outage must not duplicate (that would make the test invalid)
"$LW" simulate "${SIM[@]}" --produce "$BOOT" --topic events --rate 14000 --kafka enable.idempotence=true 2>sim.err &
SIM_PID=$!
LW_PIDS+=("$SIM_PID")
write_config k.yaml k.db
sed -i 's/flush_events: 20000/flush_events: 3000/' k.yaml

# shellcheck disable=SC2046
"$LW" run -c k.yaml $(kafka_opts flt) --topic events --exit-when-idle 3 >run.out 2>run.err &
D=$!
LW_PIDS+=("$D")
wait_for_line run.err "assigned kafka" 60 || fail "no assignment"
sleep 0.5
mock_cmd rtt 1 250 >/dev/null
sleep 1
mock_cmd errors fetch 20 REQUEST_TIMED_OUT >/dev/null
mock_cmd errors offsetcommit 5 REQUEST_TIMED_OUT >/dev/null
mock_cmd errors heartbeat 3 NOT_COORDINATOR >/dev/null
sleep 1.5
mock_cmd rtt 1 0 >/dev/null
check_committed_le_store flt events k.db
mock_cmd down 1 >/dev/null
echo "broker down"
sleep 3
mock_cmd up 1 >/dev/null
echo "broker up"
check_committed_le_store flt events k.db
kill -0 "$D" 2>/dev/null || fail "the daemon died during the faults"
wait "$SIM_PID" || fail "producer failed: $(tail -3 sim.err)"
wait "$D"
rc=$?
cat run.out
[ $rc -eq 0 ] || fail "daemon exit $rc"
grep -q "WARN" run.err || fail "no fault was noticed (the injection did nothing?)"
check_committed_le_store flt events k.db
mock_cmd watermarks events >wm.txt
awk '$2 != 0 {bad = 1} {s += $3} END {exit bad || s != '"$REF_EVENTS"'}' wm.txt \
  || fail "the producer lost or duplicated data under the faults: $(cat wm.txt)"
same_series k.yaml k.db
acc=$(store_counter k.db events.accepted)
[ "$acc" -eq "$REF_EVENTS" ] || fail "store counted $acc events, expected $REF_EVENTS"
echo "it_kafka_faults: all checks passed"
