#!/usr/bin/env bash
# Store failure in the daemon (separate processes): while it consumes,
# another process takes the store's write lock and holds it past the busy
# timeout (the "locked" failure; a full disk is covered in test_consumer.c
# with lw_store_set_max_pages).  The daemon must stop with exit 1 and a
# clear message, without committing anything to Kafka past the store, and
# say how many events it read and did not commit (the rest = the store); once
# the lock is gone a new run finishes and nothing was lost or double-counted.
set -uo pipefail
source "$(dirname "$0")/lib_kafka.sh"

SIM=(--days 4 --seed 71)
reference "${SIM[@]}"
mock_start --topic events --partitions 16
# ~18 s of production at 6000/s: the lock below is taken while events still arrive, so
# some are read after the last successful flush (at 20000/s production could end before the
# lock when the group join was slow: a CI run under load failed that way)
"$LW" simulate "${SIM[@]}" --produce "$BOOT" --topic events --rate 6000 2>sim.err &
SIM_PID=$!
LW_PIDS+=("$SIM_PID")
write_config k.yaml k.db

# shellcheck disable=SC2046
"$LW" run -c k.yaml $(kafka_opts sf) --topic events >run.out 2>run.err &
D=$!
LW_PIDS+=("$D")
wait_for_line run.err "assigned kafka" 60 || fail "no assignment"
sleep 1.5
python3 -c '
import sqlite3, sys, time
c = sqlite3.connect("k.db", isolation_level=None, timeout=10)
c.execute("BEGIN IMMEDIATE")
open("locked", "w").close()
time.sleep(30)
' &
LOCK=$!
LW_PIDS+=("$LOCK")
for _ in $(seq 1 50); do [ -f locked ] && break; sleep 0.1; done
[ -f locked ] || fail "could not take the store's lock"
kill -0 "$SIM_PID" 2>/dev/null || fail "the producer finished before the lock (not under load; the test is invalid)"
t0=$(date +%s)
wait "$D"
rc=$?
[ $rc -eq 1 ] || fail "daemon exit $rc on a locked store (want 1)"
[ $(($(date +%s) - t0)) -le 20 ] || fail "daemon took too long to give up"
grep -q "nothing committed past the store" run.err || fail "no clear message: $(tail -2 run.err)"
grep -qi "lock\|busy" run.err || fail "the message does not name the store's reason"
# the events read after the last successful flush are reported as not
# committed, and the committed totals are what the store holds (before: only
# the summary's accepted, which counts events the store never got)
line=$(grep "not committed: " run.err) || fail "no 'not committed' line: $(tail -3 run.err)"
read -r nread nacc cacc clate crej < <(sed -n 's/.*not committed: \([0-9]*\) events read .*(\([0-9]*\) accepted, .*committed: \([0-9]*\) accepted, \([0-9]*\) late, \([0-9]*\) rejected in.*/\1 \2 \3 \4 \5/p' <<<"$line")
[ -n "${crej:-}" ] || fail "cannot read the not-committed line: $line"
[ "$nread" -gt 0 ] || fail "nothing reported as not committed: $line"
stored=$(store_counter k.db events.accepted)
[ "$cacc" -eq "$stored" ] || fail "committed accepted $cacc, the store holds $stored"
consumed=$(sed -n 's/^consumed \([0-9]*\) messages.*/\1/p' run.out)
[ "$((nread + cacc + clate + crej))" -eq "$consumed" ] ||
  fail "not committed $nread + committed $((cacc + clate + crej)) != consumed $consumed"
# the stdout summary says the same: accepted = what the store holds, and what was not committed
sacc=$(awk '$1 == "accepted" {print $2}' run.out)
[ "$sacc" -eq "$stored" ] || fail "the summary says $sacc accepted, the store holds $stored"
grep -q "^not committed: $nread events" run.out || fail "the summary does not say what was not committed: $(cat run.out)"
echo "store failure: $nread events read and not committed ($nacc accepted), $cacc accepted committed = store"
kill "$LOCK" 2>/dev/null
wait "$LOCK" 2>/dev/null
check_committed_le_store sf events k.db
wait "$SIM_PID" || fail "producer failed"
mock_cmd watermarks events >wm.txt
awk '$2 != 0 {bad = 1} {s += $3} END {exit bad || s != '"$REF_EVENTS"'}' wm.txt \
  || fail "the mock dropped data (retention); the test is invalid: $(cat wm.txt)"
# shellcheck disable=SC2046
"$LW" run -c k.yaml $(kafka_opts sf) --topic events --exit-when-idle 1 >final.out 2>final.err \
  || fail "final run exit $?"
same_series k.yaml k.db
acc=$(store_counter k.db events.accepted)
[ "$acc" -eq "$REF_EVENTS" ] || fail "store counted $acc events, expected $REF_EVENTS"
echo "it_kafka_storefail: all checks passed"
