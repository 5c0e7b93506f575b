#!/usr/bin/env bash
# SIGHUP while the daemon consumes, `report` beside a running daemon, and the
# Kafka alert sink end to end.
#
# The daemon consumes a stream produced at a bounded rate; meanwhile the test
#   1. changes alerts.for and sends SIGHUP        -> applied (log + /metrics)
#   2. writes a file with an unknown key, SIGHUP  -> refused with file:line,
#                                                    the daemon keeps running
#   3. changes the tree (drops an input), SIGHUP  -> refused: needs a restart
#   4. changes store.flush_events, SIGHUP         -> applied, logged as
#                                                    "read at start only"
#   5. once everything is consumed, runs `leadwatch report` on the store
#      of the daemon, which keeps running (WAL)   -> exit 0, report written
#   6. (throughout) alerts.kafka.topic: every state change delivered to the
#      Kafka alert sink is a message on the topic
# and at the end every produced event is in the store exactly once (the
# reloads never dropped consumption) and SIGTERM exits 0.
set -uo pipefail
source "$(dirname "$0")/lib_kafka.sh"
source "$SRC/tests/lib_alerts.sh"

SIM=(--days 20 --seed 41 --scale 0.1)
"$LW" simulate "${SIM[@]}" >ref.jsonl 2>/dev/null || fail "simulate"
N=$(wc -l <ref.jsonl)
mock_start --topic events --topic lw-alerts --partitions 8
port=$(free_port)

base_config() { # base_config FILE [extra alerts keys]
  write_config "$1" k.db 2d
  printf 'analysis: {window: 14, max_lag: 2}\nalerts: {for: %s, arm_after: 0, kafka: {topic: lw-alerts}, stall: {no_events_for: 1h}}\n' \
    "${2:-3}" >>"$1"
}
base_config k.yaml 3
# shellcheck disable=SC2046
"$LW" run -c k.yaml $(kafka_opts rl) --topic events --http "127.0.0.1:$port" \
  >run.out 2>run.err &
DPID=$!
LW_PIDS+=("$DPID")
wait_for_line run.err "assigned kafka" 60 || fail "no assignment"
lw_wait_http "http://127.0.0.1:$port/readyz" "$DPID" 30 || fail "/readyz never answered 200"
"$LW" simulate "${SIM[@]}" --produce "$BOOT" --topic events --rate 8000 2>sim.err &
SIM_PID=$!
LW_PIDS+=("$SIM_PID")
sleep 1

metric() { # metric NAME{LABELS}: its value on /metrics (empty when absent)
  lw_http GET "http://127.0.0.1:$port/metrics" | awk -v k="$1" '$1 == k {print $2}'
}
hup_and_wait() { # hup_and_wait PATTERN WHAT
  local before
  before=$(grep -c "$1" run.err || true)
  kill -HUP "$DPID"
  for _ in $(seq 100); do
    [ "$(grep -c "$1" run.err || true)" -gt "$before" ] && return 0
    sleep 0.1
  done
  fail "$2: no '$1' in the log after SIGHUP"
}

# 1. a good change
base_config k.yaml 5
hup_and_wait "reloaded the analysis and alerts sections" "good reload"
[ "$(metric 'leadwatch_config_reloads_total{result="applied"}')" = 1 ] || fail "applied != 1"

# 2. a file that does not load
cp k.yaml good.yaml
printf 'alerts: {for: 3, no_such_key: 1}\n' >bad-alerts.yaml
{ grep -v '^alerts:' good.yaml; cat bad-alerts.yaml; } >k.yaml
hup_and_wait "reload refused" "bad file"
grep "reload refused" run.err | tail -1 | grep -q "k.yaml:[0-9]*: .*no_such_key" \
  || fail "the refusal does not name file:line and the key: $(grep 'reload refused' run.err | tail -1)"
kill -0 "$DPID" 2>/dev/null || fail "the daemon died on a bad reload"

# 3. a tree change needs a restart
grep -v 'metric: playlists' good.yaml | sed 's/{metric: sessions, kind: frequency},/{metric: sessions, kind: frequency}]/' >k.yaml
"$LW" check-config -c k.yaml >/dev/null 2>&1 || fail "test bug: the tree-change config does not load"
hup_and_wait "reload refused" "tree change"
grep "reload refused" run.err | tail -1 | grep -q "tree. section changed" || fail "tree change not named"
[ "$(metric 'leadwatch_config_reloads_total{result="refused"}')" = 2 ] || fail "refused != 2"

# 4. a start-only section
sed 's/flush_events: 20000/flush_events: 30000/' good.yaml >k.yaml
hup_and_wait "reloaded the analysis and alerts sections" "store change"
grep -q "changes to store are read at start only" run.err || fail "store change not reported"

wait "$SIM_PID" || fail "producer failed"
for _ in $(seq 300); do
  [ "$(metric leadwatch_events_consumed_total)" = "$N" ] && break
  sleep 0.1
done
[ "$(metric leadwatch_events_consumed_total)" = "$N" ] \
  || fail "consumed $(metric leadwatch_events_consumed_total) of $N"
# 5. report on the store of the running daemon (it keeps polling and flushing)
"$LW" report -c k.yaml --out rep >report.out 2>report.err || fail "report beside run: exit $?"
[ -s rep/report.html ] || fail "report beside run: no report.html"
kill -0 "$DPID" 2>/dev/null || fail "the daemon stopped during the report"

# 6. the Kafka alert sink (alerts.kafka.topic): every state change it
# delivered is a message on the topic (counted by the mock's watermarks)
sleep 1.5 # one metrics tick after the last evaluation
kdel=$(metric 'leadwatch_alert_events_delivered_total{receiver="kafka"}')
mock_cmd watermarks lw-alerts >aw.txt
kmsg=$(awk '{s += $3 - $2} END {print s + 0}' aw.txt)
[ -n "$kdel" ] && [ "${kdel%.*}" -ge 1 ] || fail "Kafka alert sink delivered '${kdel}'"
[ "$kmsg" -eq "${kdel%.*}" ] || fail "lw-alerts holds $kmsg messages, the sink delivered $kdel"
kill -TERM "$DPID"
wait "$DPID" || fail "daemon exit $? after SIGTERM"
acc=$(store_counter k.db events.accepted)
late=$(store_counter k.db events.late)
[ $((acc + late)) -eq "$N" ] || fail "store holds $acc + $late late events, produced $N"
echo "it_alerts_reload: 4 reloads (2 applied, 2 refused), a report and $kmsg alert messages on Kafka while consuming $N events: all checks passed"
