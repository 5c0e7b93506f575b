#!/usr/bin/env bash
# it_alerts_prom.sh - a real Prometheus (Debian's /usr/bin/prometheus, started
# here on loopback) scrapes the daemon's /metrics every second while it
# consumes the simulator's 300 days with a break at day 200; afterwards
# PromQL queries return the per-edge gauges and the pipeline counters.
#
# Steps:
#   1. mock-kafka (128 partitions: the mock keeps only the newest 5 MiB per
#      partition, and 1.6 M events in 64 partitions overflow that), produce
#      the data set once, check no partition lost its head (low watermark 0).
#   2. Prometheus scraping 127.0.0.1:PORT/metrics; a webhook receiver; the
#      daemon with config/leadwatch.yaml (store in the work dir, window 90,
#      alerts to the webhook) and --http 127.0.0.1:PORT.
#   3. /healthz 200 at once, /readyz 200 once consuming; wait until
#      /metrics says every produced event was consumed.
#   4. `promtool check metrics` on /metrics finds nothing; build_info and
#      process_* are there, no kind="nsm", no NaN / -1 placeholders.
#      PromQL: exactly one verdict at 1 per edge, p in [0,1], lag >= 1, the
#      broken input's alert firing, consumed == produced, per-partition lag
#      present and summing to 0, up == 1; the webhook got the firing alert.
#   5. SIGTERM: the daemon exits 0.
set -uo pipefail
source "$(dirname "$0")/lib_kafka.sh"
source "$SRC/tests/lib_alerts.sh"
set +e # lib_alerts.sh sets -e; every check here is explicit and calls fail
t0=$SECONDS

EDGE="active_users->listening_minutes"
BROKEN="playlists_created->listening_minutes"

mock_start --topic events --partitions 128
prefill_break_topic 1
produced=$PRODUCED
echo "produced $produced events in $((SECONDS - t0)) s"

start_webhook "$work/hook"
port=$(free_port)
start_prometheus "$work/prom" "127.0.0.1:$port"
alerts_config p.yaml "$work/p.db"
cat >>p.yaml <<EOF
alerts:
  for: 3
  on: [no_longer_leads, reverse, kpi_link_lost]
  webhook: {url: "$WEBHOOK_URL"}
  timeout: 1s
  backoff: {initial: 200ms, max: 2s}
  queue_max: 64
EOF
"$LW" check-config -c p.yaml >check.out || fail "check-config: $(cat check.out)"

# shellcheck disable=SC2046
"$LW" run -c p.yaml $(kafka_opts prom) --topic events --http "127.0.0.1:$port" \
  >run.out 2>run.err &
LW_PID=$!
LW_PIDS+=("$LW_PID")
URL="http://127.0.0.1:$port"
lw_wait_http "$URL/healthz" "$LW_PID" 20 || fail "/healthz never answered 200"
lw_wait_http "$URL/readyz" "$LW_PID" 30 || fail "/readyz never answered 200"
echo "healthz and readyz 200 after $((SECONDS - t0)) s"

# consumed_now: leadwatch_events_consumed_total straight from /metrics
consumed_now() {
  lw_http GET "$URL/metrics" 2>/dev/null | awk '$1 == "leadwatch_events_consumed_total" {printf "%d", $2}'
}
for ((i = 0; i < 600; i++)); do
  [ "$(consumed_now)" = "$produced" ] && break
  kill -0 "$LW_PID" 2>/dev/null || fail "daemon exited while consuming"
  sleep 0.1
done
[ "$(consumed_now)" = "$produced" ] || fail "consumed $(consumed_now) of $produced in 60 s"
echo "consumed everything after $((SECONDS - t0)) s"

# Prometheus has a scrape taken after the last event was counted
prom_wait 15 "leadwatch_events_consumed_total == $produced" || fail "Prometheus never saw consumed == $produced: $(prom_value leadwatch_events_consumed_total)"
prom_wait 10 "leadwatch_consumer_total_lag_messages == 0" || fail "consumer lag never 0 in Prometheus"
# the evaluator may still be working through closed buckets after the last
# event was consumed (each evaluation is an analysis of the window): wait
# until its count stops moving, then until Prometheus has scraped that count
evals_now() {
  lw_http GET "$URL/metrics" 2>/dev/null | awk '$1 == "leadwatch_evaluations_total" {printf "%d", $2}'
}
evals=-1 still=0
for ((i = 0; i < 120 && still < 2; i++)); do
  e=$(evals_now)
  if [ "${e:-0}" -gt 0 ] && [ "$e" = "$evals" ]; then still=$((still + 1)); else still=0; fi
  evals=$e
  sleep 1
done
[ "${evals:-0}" -gt 0 ] || fail "no evaluation counted"
echo "evaluations settled at $evals after $((SECONDS - t0)) s"
prom_wait 10 "leadwatch_evaluations_total == $evals" || fail "Prometheus never saw $evals evaluations (/metrics now: $(evals_now))"

# the exposition passes Prometheus' own linter (promtool from Debian's
# prometheus package, as /usr/bin/prometheus): any finding fails
PROMTOOL=${PROMTOOL:-$(dirname "$PROM_BIN")/promtool}
[ -x "$PROMTOOL" ] || fail "promtool not found next to $PROM_BIN (apt-get install prometheus)"
lw_http GET "$URL/metrics" >metrics.txt || fail "GET /metrics"
"$PROMTOOL" check metrics <metrics.txt >promtool.out 2>&1 \
  || fail "promtool check metrics: $(cat promtool.out)"
[ ! -s promtool.out ] || fail "promtool check metrics findings: $(cat promtool.out)"
for m in leadwatch_build_info process_cpu_seconds_total process_resident_memory_bytes \
  process_virtual_memory_bytes process_start_time_seconds process_open_fds process_max_fds; do
  grep -q "^$m[ {]" metrics.txt || fail "no $m on /metrics"
done
grep -q 'kind="nsm"' metrics.txt && fail "the KPI edge is kind=\"nsm\" (alerts say kpi)"
grep -Eq '^leadwatch_[a-z_]+(\{[^}]*\})? (NaN|-1)$' metrics.txt \
  && fail "placeholder values: $(grep -E ' (NaN|-1)$' metrics.txt | head -3)"
echo "promtool check metrics: clean ($(grep -vc '^#' metrics.txt) samples)"

[ "$(prom_value 'up{job="leadwatch"}')" = "{instance=127.0.0.1:$port,job=leadwatch} 1" ] \
  || fail "up: $(prom_value 'up{job="leadwatch"}')"
read -r health lasterr <<<"$(prom_target_health)"
[ "$health" = up ] || fail "target health $health ($lasterr)"

# per edge: several verdict series, exactly one of them 1
prom_value "leadwatch_edge_verdict{edge=\"$EDGE\"}" >verdict.txt
[ "$(wc -l <verdict.txt)" -ge 2 ] || fail "edge_verdict series: $(cat verdict.txt)"
[ "$(grep -c ' 1$' verdict.txt)" -eq 1 ] || fail "not exactly one verdict at 1: $(cat verdict.txt)"
[ "$(grep -vc ' [01]$' verdict.txt)" -eq 0 ] || fail "verdict gauge not 0/1: $(cat verdict.txt)"
grep -q "input=active_users" verdict.txt && grep -q "nsm=listening_minutes" verdict.txt \
  && grep -q "kind=breadth" verdict.txt || fail "edge labels: $(head -1 verdict.txt)"
# every edge of the tree (4 inputs + the KPI edge) has exactly one current verdict
prom_value 'count by (edge) (leadwatch_edge_verdict == 1)' >per_edge.txt
[ "$(wc -l <per_edge.txt)" -eq 5 ] || fail "edges with a verdict: $(cat per_edge.txt)"
[ "$(grep -vc ' 1$' per_edge.txt)" -eq 0 ] || fail "an edge has several verdicts: $(cat per_edge.txt)"

p=$(prom_value "leadwatch_edge_p_value{edge=\"$EDGE\"}")
[ "$(wc -l <<<"$p")" -eq 1 ] || fail "edge_p_value: $p"
awk '{exit !($2 >= 0 && $2 <= 1)}' <<<"$p" || fail "p not in [0,1]: $p"
lag=$(prom_value "leadwatch_edge_lag_buckets{edge=\"$EDGE\"}")
awk '{exit !($2 >= 1 && $2 <= 14)}' <<<"$lag" || fail "lag not in 1..14: $lag"
[ -n "$(prom_value "leadwatch_edge_q_value{edge=\"$EDGE\"}")" ] || fail "no edge_q_value"
[ -n "$(prom_value "leadwatch_edge_coefficient{edge=\"$EDGE\"}")" ] || fail "no edge_coefficient"

# the input that stopped leading at day 200 has its alert firing
firing=$(prom_value "leadwatch_alert_state{edge=\"$BROKEN\",alertname=\"LeadwatchInputNoLongerLeads\",state=\"firing\"}")
[[ $firing == *" 1" ]] || fail "broken edge not firing: $firing; states: $(prom_value "leadwatch_alert_state{edge=\"$BROKEN\"} == 1")"
[ "$(prom_value "count(leadwatch_alert_state{edge=\"$BROKEN\",alertname=\"LeadwatchInputNoLongerLeads\"} == 1)")" = "{} 1" ] \
  || fail "broken edge: not exactly one alert state at 1"
af=$(prom_value 'leadwatch_alerts_firing')
awk '{exit !($2 >= 1)}' <<<"$af" || fail "alerts_firing: $af"

# pipeline counters
[ "$(prom_value "leadwatch_events_consumed_total")" = "{instance=127.0.0.1:$port,job=leadwatch} $produced" ] \
  || fail "events_consumed_total: $(prom_value leadwatch_events_consumed_total)"
prom_value 'leadwatch_consumer_lag_messages' >lag.txt
[ "$(wc -l <lag.txt)" -eq 128 ] || fail "consumer_lag_messages: $(wc -l <lag.txt) series, expected 128"
grep -q 'partition=0,.*topic=events' lag.txt || fail "consumer_lag_messages labels: $(head -1 lag.txt)"
[ "$(prom_value 'sum(leadwatch_consumer_lag_messages)')" = "{} 0" ] || fail "lag not 0 at the end"
# every bucket that closed was evaluated (296 with this data and grace 2d;
# deterministic, evaluations are "as of" the closed bucket)
[ "$evals" -ge 290 ] || fail "evaluations_total $evals, expected ~296"
# buckets_closed_total counts every bucket the watermark closed in this process
# (the watcher's count: each one is evaluated), so it equals evaluations_total
b=$(lw_http GET "$URL/metrics" | awk '$1 == "leadwatch_buckets_closed_total" {printf "%d", $2}')
e2=$(lw_http GET "$URL/metrics" | awk '$1 == "leadwatch_evaluations_total" {printf "%d", $2}')
[ "$b" = "$e2" ] || fail "buckets_closed_total $b, evaluations_total $e2"
# a catch-up of 1.6 M messages fills librdkafka's bounded prefetch queue: with
# librdkafka < 2.2 the helper thread must have woken the fetchers; no message
# was ever below its partition's next offset
m=$(lw_http GET "$URL/metrics")
wk=$(awk '$1 == "leadwatch_kafka_fetch_wakeups_total" {printf "%d", $2}' <<<"$m")
st=$(awk '$1 == "leadwatch_kafka_stale_messages_total" {printf "%d", $2}' <<<"$m")
[ "$st" = 0 ] || fail "kafka_stale_messages_total '$st'"
if grep -q "fetch wake-up thread on" run.err; then
  [ "${wk:-0}" -gt 0 ] || fail "kafka_fetch_wakeups_total '$wk' after a catch-up"
else
  [ "$wk" = 0 ] || fail "kafka_fetch_wakeups_total '$wk' without the wake-up thread"
fi
echo "fetch wake-ups during the catch-up: $wk"
# the rate Prometheus computed while the daemon consumed is a real rate
r=$(prom_value 'max_over_time(rate(leadwatch_events_consumed_total[5s])[2m:1s])')
awk '{exit !($2 > 1000)}' <<<"$r" || fail "no consumption rate seen: $r"
echo "peak consumption rate seen by Prometheus: ${r##* } events/s"

# the webhook got the same firing alert
webhook_wait "$WEBHOOK_DIR" 10 "^firing alertname=LeadwatchInputNoLongerLeads .*edge=$BROKEN" \
  || fail "webhook did not get the firing alert: $(webhook_alert_lines "$WEBHOOK_DIR")"

kill -TERM "$LW_PID"
wait "$LW_PID"
rc=$?
[ $rc -eq 0 ] || fail "daemon exit $rc after SIGTERM"
grep -q "^consumed $produced messages" run.out || fail "summary: $(head -1 run.out)"
echo "it_alerts_prom: all checks passed in $((SECONDS - t0)) s"
