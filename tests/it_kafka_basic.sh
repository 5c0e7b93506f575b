#!/usr/bin/env bash
# Basic Kafka path, separate processes over TCP: mock-kafka, simulate
# --produce, run --exit-when-idle.  The series equal the reference (the same
# simulated events ingested from a file); Kafka's committed offsets equal
# the store's after a clean exit; a second run resumes from the store and
# counts nothing again; CLI errors for bad Kafka settings exit 2.
set -uo pipefail
source "$(dirname "$0")/lib_kafka.sh"

SIM=(--days 6 --seed 11)
reference "${SIM[@]}"
mock_start --topic events --partitions 8
"$LW" simulate "${SIM[@]}" --produce "$BOOT" --topic events 2>sim.err || fail "simulate --produce"
mock_cmd watermarks events >wm.txt
produced=$(awk '{s += $3 - $2} END {print s}' wm.txt)
[ "$produced" -eq "$REF_EVENTS" ] || fail "produced $produced, simulated $REF_EVENTS (retention?)"

write_config k.yaml k.db
# shellcheck disable=SC2046
"$LW" run -c k.yaml $(kafka_opts basic) --topic events --exit-when-idle 1 >run.out 2>run.err \
  || fail "run exit $?"
cat run.out
grep -q "^consumed $REF_EVENTS messages" run.out || fail "consumed count"
grep -q '^  rejected  *0$' run.out || fail "rejects in clean data"
same_series k.yaml k.db

# after a clean exit, Kafka has exactly the store's offsets (= the end of each partition)
mock_cmd committed basic events >c.txt; sort -n c.txt >committed.txt
store_positions k.db events | sort -n >stored.txt
cmp -s committed.txt stored.txt || { paste committed.txt stored.txt; fail "committed != stored"; }
awk '{print $1, $3}' wm.txt | sort -n | cmp -s - stored.txt || fail "store positions are not the partition ends"

# a second run (another group: nothing committed there) resumes from the store;
# this one takes every Kafka setting from the config file (source.kafka, topics)
python3 - "$BOOT" <<'PY'
import sys
text = open("k.yaml").read().replace("source: {format: segment}\n",
    "source:\n  format: segment\n"
    "  kafka: {bootstrap.servers: \"%s\", group.id: basic2, session.timeout.ms: 6000,\n"
    "          enable.auto.commit: true}\n"
    "  topics: [events]\n" % sys.argv[1])
open("k2.yaml", "w").write(text)
PY
"$LW" check-config -c k2.yaml >check2.out || fail "check-config of the Kafka config"
grep -q "kafka: topics events" check2.out || fail "check-config does not show the Kafka settings"
"$LW" run -c k2.yaml --exit-when-idle 1 >run2.out 2>run2.err || fail "second run exit $?"
grep -q "enable.auto.commit=true is overridden" run2.err || fail "no warning for a forced property"
grep -q "^consumed 0 messages" run2.out || fail "second run consumed again: $(head -1 run2.out)"
grep -q "from the store" run2.err || fail "second run did not start from the store"
same_series k.yaml k.db

# CLI errors
"$LW" run -c k.yaml --kafka bootstrap.servers="$BOOT" --topic events 2>e1.txt; rc=$?
[ $rc -eq 2 ] || fail "missing group.id: exit $rc"
grep -q "group.id" e1.txt || fail "missing group.id message: $(cat e1.txt)"
"$LW" run -c k.yaml $(kafka_opts x) --kafka no.such.property=1 --topic events 2>e2.txt; rc=$?
[ $rc -eq 2 ] || fail "unknown property: exit $rc"
grep -q "source.kafka.no.such.property: " e2.txt || fail "unknown property message: $(cat e2.txt)"
# secrets never reach the log, even at debug level with librdkafka's conf debugging
"$LW" run -c k.yaml $(kafka_opts basic3) --kafka sasl.password=hunter2 --kafka debug=conf,cgrp \
  --log-level debug --topic events --exit-when-idle 0.5 >e3.out 2>e3.txt || fail "debug run exit $?"
grep -q "rdkafka" e3.txt || fail "librdkafka's log is not routed into ours"
! grep -q hunter2 e3.txt || fail "a secret appeared in the log"
"$LW" run -c k.yaml $(kafka_opts x) 2>e4.txt; rc=$?
[ $rc -eq 2 ] || fail "no topic: exit $rc"
"$LW" run --help | grep -q -- "--exit-when-idle" || fail "run --help"
"$LW" simulate --help | grep -q "SIMULATOR.md" || fail "simulate --help"
"$LW" simulate --days 0 2>/dev/null; [ $? -eq 2 ] || fail "simulate --days 0 should exit 2"
"$LW" simulate --produce "$BOOT" 2>/dev/null; [ $? -eq 2 ] || fail "--produce without --topic"
echo "it_kafka_basic: all checks passed"
