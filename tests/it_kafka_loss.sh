#!/usr/bin/env bash
# it_kafka_loss.sh - loss that shows (issue 14): the mock broker's retention
# passes a stopped daemon's committed offsets.
#
#   1. A 2-partition topic gets 1,000 events; the daemon consumes them,
#      commits (the group's offsets sum to 1,000) and stops on SIGTERM.
#   2. 120,000 more events (~25 MB) are produced: the mock keeps only the
#      newest 5 MiB per partition, so each partition's log start (its low
#      watermark) passes the committed offset.  Checked, not assumed.
#   3. The daemon starts again from the committed offsets; the fetch is out
#      of range and auto.offset.reset (earliest) moves it to the log start.
#      Per partition, the loss counted equals exactly low - committed:
#        - one ERROR line naming offsets committed..low-1;
#        - leadwatch_events_lost_total{topic,partition} on /metrics;
#        - /readyz stays 200 and its body says "N events lost since start";
#        - LeadwatchEventsLost{topic,partition} is delivered (firing) to a
#          webhook receiver;
#      and messages skipped = offsets skipped: consumed in run 1 + consumed
#      in run 2 + lost = produced.  SIGTERM exits 0; the summary says lost N.
set -uo pipefail
source "$(dirname "$0")/lib_kafka.sh"
source "$SRC/tests/lib_alerts.sh"
set +e # lib_alerts.sh sets -e; every check here is explicit and calls fail
t0=$SECONDS

mock_start --topic events --partitions 2
start_webhook "$work/hook"
"$LW" simulate --days 5 --seed 14 >all.jsonl 2>/dev/null || fail "simulate"
head -n 121000 all.jsonl >ev.jsonl
[ "$(wc -l <ev.jsonl)" = 121000 ] || fail "simulate gave $(wc -l <ev.jsonl) events"
head -n 1000 ev.jsonl >a.jsonl
tail -n +1001 ev.jsonl >b.jsonl
write_config k.yaml k.db
cat >>k.yaml <<EOF2
http: {listen: "127.0.0.1:0"}
alerts:
  webhook: {url: "$WEBHOOK_URL"}
  backoff: {initial: 200ms, max: 1s}
EOF2

# code PATH: the HTTP status; the body in body.txt
code() { curl -s -m 2 -o body.txt -w '%{http_code}' "$URL$1"; }
# lost_metric PARTITION: leadwatch_events_lost_total of events/PARTITION ("" when absent)
lost_metric() {
  curl -s -m 2 "$URL/metrics" |
    awk -v p="$1" '$1 ~ /^leadwatch_events_lost_total\{/ && $1 ~ "topic=\"events\"" &&
                   $1 ~ "partition=\"" p "\"" {printf "%d", $2}'
}
start_daemon() { # LOG: starts the daemon, sets D and URL
  # shellcheck disable=SC2046
  "$LW" run -c k.yaml $(kafka_opts loss) --topic events >"$1.out" 2>"$1.err" &
  D=$!
  LW_PIDS+=("$D")
  daemon_url "$1.err"
}
stop_daemon() { # LOG
  kill -TERM "$D"
  wait "$D"
  local rc=$?
  [ $rc -eq 0 ] || fail "daemon exit $rc after SIGTERM ($1)"
}

# 1. consume and commit 1,000 events
mock_cmd produce events a.jsonl >/dev/null
start_daemon run1
for _ in $(seq 1 300); do [ "$(metric leadwatch_events_consumed_total)" = 1000 ] && break; sleep 0.1; done
[ "$(metric leadwatch_events_consumed_total)" = 1000 ] || fail "run 1 consumed $(metric leadwatch_events_consumed_total) of 1000"
stop_daemon run1
mock_cmd committed loss events >committed.txt
sum=$(awk '{s += $2} END {print s + 0}' committed.txt)
[ "$sum" = 1000 ] || fail "committed offsets sum to $sum, not 1000: $(tr '\n' ' ' <committed.txt)"
grep -q "were skipped" run1.err && fail "run 1 counted a loss"

# 2. retention passes the committed offsets
mock_cmd produce events b.jsonl >/dev/null
mock_cmd watermarks events >wm.txt
expected=0
while read -r p off; do
  read -r lo hi < <(awk -v p="$p" '$1 == p {print $2, $3}' wm.txt)
  [ "$lo" -gt "$off" ] || fail "partition $p: log start $lo not past the committed $off (no truncation)"
  eval "LOST_$p=$((lo - off)) FIRST_$p=$off LAST_$p=$((lo - 1)) AVAIL_$p=$((hi - lo))"
  expected=$((expected + lo - off))
done <committed.txt
avail=$((AVAIL_0 + AVAIL_1))
echo "truncated: lost $LOST_0 + $LOST_1 = $expected offsets, $avail messages left ($(tr '\n' ' ' <wm.txt))"

# 3. the restart skips them, and says so everywhere
start_daemon run2
for _ in $(seq 1 300); do [ "$(metric leadwatch_events_consumed_total)" = "$avail" ] && break; sleep 0.1; done
got=$(metric leadwatch_events_consumed_total)
[ "$got" = "$avail" ] || fail "run 2 consumed $got of the $avail messages left"
[ $((1000 + got + expected)) = 121000 ] || fail "messages skipped != offsets skipped: 1000 + $got + $expected != 121000"
for p in 0 1; do
  lv=LOST_$p fv=FIRST_$p lav=LAST_$p
  n=$(grep -c "ERROR.*kafka:events:$p: offsets ${!fv}\.\.${!lav} were skipped, ${!lv} messages never read" run2.err)
  [ "$n" = 1 ] || fail "partition $p: $n ERROR lines for offsets ${!fv}..${!lav} (want 1)"
  for _ in $(seq 1 30); do [ "$(lost_metric $p)" = "${!lv}" ] && break; sleep 0.1; done
  [ "$(lost_metric $p)" = "${!lv}" ] || fail "partition $p: leadwatch_events_lost_total $(lost_metric $p), want ${!lv}"
done
for _ in $(seq 1 30); do [ "$(code /readyz)" = 200 ] && grep -q "$expected events lost since start" body.txt && break; sleep 0.1; done
c=$(code /readyz)
[ "$c" = 200 ] || fail "/readyz $c after the loss (a loss keeps readiness): $(cat body.txt)"
grep -q "^ready; $expected events lost since start" body.txt || fail "/readyz does not say the loss: $(cat body.txt)"
echo "/readyz: $(cat body.txt)"
for p in 0 1; do
  webhook_wait "$work/hook" 10 "^firing alertname=LeadwatchEventsLost nsm=listening_ms partition=$p topic=events$" ||
    fail "no LeadwatchEventsLost for partition $p at the webhook: $(webhook_alert_lines "$work/hook")"
done
n=$(webhook_alert_lines "$work/hook" | grep -c LeadwatchEventsLost)
[ "$n" = 2 ] || fail "$n LeadwatchEventsLost deliveries, want 2: $(webhook_alert_lines "$work/hook")"
grep -q "LeadwatchEventsLost.*inactive -> firing" run2.err || fail "the alert transition is not logged"
stop_daemon run2
grep -q "^  lost  *$expected (Kafka offsets skipped" run2.out || fail "run summary: $(cat run2.out)"
[ $((SECONDS - t0)) -lt 90 ] || fail "took $((SECONDS - t0)) s"
echo "it_kafka_loss: all checks passed in $((SECONDS - t0)) s"
