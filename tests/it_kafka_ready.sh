#!/usr/bin/env bash
# it_kafka_ready.sh - /readyz follows the broker (issue 18.6): the only
# broker of the mock cluster goes down for 15 s while the daemon runs.
#
#   1. The daemon (http.ready_broker_timeout 3s) consumes a few events;
#      /healthz and /readyz answer 200.
#   2. `down 1`: one second later /readyz is still 200 (the timeout has not
#      passed); within timeout + 3 s (the statistics period and the daemon's
#      one-second tick) it answers 503 with "no Kafka broker connected" in the
#      body, and stays 503 until the broker is back; /healthz stays 200.
#   3. `up 1`: /readyz is 200 again within 20 s (librdkafka's reconnect
#      backoff is at most 10 s), the daemon consumes what is produced
#      then (within 60 s: the outage outlives the group session, so the
#      group is rejoined first), and SIGTERM exits 0.
# Before the fix /readyz stayed 200 for the whole outage.
set -uo pipefail
source "$(dirname "$0")/lib_kafka.sh"

mock_start --topic events --partitions 2
"$LW" simulate --days 2 --seed 5 >ev.jsonl 2>/dev/null || fail "simulate"
head -n 200 ev.jsonl >a.jsonl
sed -n 201,400p ev.jsonl >b.jsonl
mock_cmd produce events a.jsonl >/dev/null
write_config k.yaml k.db
cat >>k.yaml <<EOF
http: {listen: "127.0.0.1:0", ready_broker_timeout: 3s}
EOF

# shellcheck disable=SC2046
"$LW" run -c k.yaml $(kafka_opts rdy) --topic events >run.out 2>run.err &
D=$!
LW_PIDS+=("$D")
daemon_url run.err

# code PATH: the HTTP status (000 when no answer within 2 s); the body in body.txt
code() { curl -s -m 2 -o body.txt -w '%{http_code}' "$URL$1"; }

for _ in $(seq 1 300); do [ "$(code /readyz)" = 200 ] && break; sleep 0.1; done
[ "$(code /readyz)" = 200 ] || fail "/readyz never 200: $(cat body.txt)"
for _ in $(seq 1 100); do [ "$(metric leadwatch_events_consumed_total)" = 200 ] && break; sleep 0.1; done
[ "$(metric leadwatch_events_consumed_total)" = 200 ] || fail "did not consume the first 200 events"

mock_cmd down 1
t0=$SECONDS
sleep 1
c=$(code /readyz)
[ "$c" = 200 ] || fail "/readyz $c one second into the outage (timeout 3 s): $(cat body.txt)"
went=-1
while [ $((SECONDS - t0)) -lt 15 ]; do
  c=$(code /readyz)
  if [ "$c" = 503 ]; then
    grep -q "no Kafka broker connected" body.txt || fail "503 without the reason: $(cat body.txt)"
    [ $went -ge 0 ] || { went=$((SECONDS - t0)); cp body.txt ready503.txt; }
  elif [ $went -ge 0 ]; then
    fail "/readyz $c at $((SECONDS - t0)) s while the broker is still down"
  fi
  h=$(code /healthz)
  [ "$h" = 200 ] || fail "/healthz $h during the outage"
  sleep 0.5
done
[ $went -ge 0 ] || fail "/readyz stayed 200 through a 15 s broker outage"
[ $went -le 6 ] || fail "/readyz went 503 only after $went s (timeout 3 s)"
echo "broker down: /readyz 503 after ${went} s: $(cat ready503.txt)"
grep -q "not ready: no Kafka broker connected" run.err || fail "no log line for not ready"

mock_cmd up 1
t1=$SECONDS
for _ in $(seq 1 200); do [ "$(code /readyz)" = 200 ] && break; sleep 0.1; done
[ "$(code /readyz)" = 200 ] || fail "/readyz not 200 again 20 s after the broker came back: $(cat body.txt)"
echo "broker up: /readyz 200 after $((SECONDS - t1)) s"
mock_cmd produce events b.jsonl >/dev/null
# within 60 s: a 15 s outage outlives the group session (6 s), so librdkafka revokes the
# partitions ("lost") and rejoins once the broker is back; that rejoin on the mock cluster took
# over 20 s once under CI load (the 20 s bound of before failed 1 CI run)
for _ in $(seq 1 600); do [ "$(metric leadwatch_events_consumed_total)" = 400 ] && break; sleep 0.1; done
[ "$(metric leadwatch_events_consumed_total)" = 400 ] || fail "did not consume the events produced during the outage"
echo "consumed the events produced after the outage $((SECONDS - t1)) s after the broker came back"
kill -TERM "$D"
wait "$D"
rc=$?
[ $rc -eq 0 ] || fail "daemon exit $rc after SIGTERM"
echo "it_kafka_ready: all checks passed"
