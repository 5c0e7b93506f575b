#!/usr/bin/env bash
# lib_alerts.sh - real-server helpers for the alerting integration tests
# (tests/it_alerts_*.sh); sourced, never run (CTest only runs tests/it_*.sh).
#
# What it starts, each on 127.0.0.1 and a free port, each in its own
# directory under the test's work dir, each recorded in LW_PIDS so the exit
# trap kills it by pid:
#   start_alertmanager DIR [WEBHOOK_URL]  Debian's /usr/bin/prometheus-alertmanager,
#                       gossip off, storage in DIR, routing every alert to
#                       WEBHOOK_URL (or to a receiver with no integrations)
#                       with group_wait 0s, group_interval 1s; sets AM_URL
#   start_prometheus DIR TARGET [PATH]    /usr/bin/prometheus scraping
#                       http://TARGET/PATH every second; sets PROM_URL
#   start_webhook DIR [PORT]              tests/webhook_receiver.py; sets
#                       WEBHOOK_URL, WEBHOOK_DIR, WEBHOOK_PID
# and queries them (query helpers return non-zero on an HTTP error, which
# under `set -e` ends the test silently: write `helper ... || fail MSG`): am_alerts, am_alert_lines, am_wait_alert, am_post_alert,
# prom_query, prom_value, prom_wait, prom_target_health, webhook_mode,
# webhook_stat, webhook_alert_lines, webhook_wait.  HTTP goes through
# python3 (a build dependency already), not curl/jq.
#
# Ports: the Debian packages enable system services on 9090 (Prometheus),
# 9093/9094 (Alertmanager) and 9100; where systemd runs (a CI VM) those may
# be taken, so the helpers never use fixed ports.  free_port asks the kernel
# for one (bind port 0) and releases it; another process could grab it
# before the server binds, so start_alertmanager / start_prometheus retry
# with a new port when the server exits before it is ready.  The webhook
# receiver binds port 0 itself and reports the port, so it has no race.
#
# Use alone or after lib_kafka.sh (which takes the binary as $1 and owns
# the work dir, LW_PIDS, fail() and the EXIT trap): when `fail` is already
# defined, this file reuses work, LW_PIDS and fail and adds nothing to the
# trap; lib_kafka's cleanup kills everything in LW_PIDS.  Alone, it creates
# its own work dir, LW_PIDS, fail() and an EXIT trap that stops the servers
# (TERM, then KILL after 2 s) and removes the dir unless KEEP_WORK=1.
# Servers log to DIR/*.err, which fail() prints the tail of.
#
# Environment:
#   AM_BIN, PROM_BIN     server binaries (default the Debian paths)
#   LW_ALERTS_READY_S    seconds to wait for a server to be ready (default 30)
#   AM_GROUP_BY          Alertmanager route group_by (default ['...'] = every
#                        label set is its own group, one webhook per alert)
#   AM_REPEAT_INTERVAL   route repeat_interval (default 4h: no resends in a test)

set -euo pipefail

AM_BIN=${AM_BIN:-/usr/bin/prometheus-alertmanager}
PROM_BIN=${PROM_BIN:-/usr/bin/prometheus}
LW_ALERTS_READY_S=${LW_ALERTS_READY_S:-30}
LW_ALERTS_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if ! declare -F fail >/dev/null; then
  LW_PIDS=()
  work=$(mktemp -d "${TMPDIR:-/tmp}/lw-alerts-XXXXXX")
  lw_alerts_cleanup() {
    local p
    for p in "${LW_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
      local alive=0
      for p in "${LW_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.1
    done
    for p in "${LW_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi
  }
  trap lw_alerts_cleanup EXIT
  fail() {
    echo "FAIL: $*" >&2
    local f
    for f in "$work"/*.err "$work"/*/*.err "$work"/*/receiver.log; do
      [ -f "$f" ] && { echo "--- $f (tail)" >&2; tail -n 15 "$f" >&2; }
    done
    exit 1
  }
fi

for _bin in "$AM_BIN" "$PROM_BIN"; do
  [ -x "$_bin" ] || fail "$_bin missing: run scripts/install-deps --test"
done
unset _bin

# free_port: prints a TCP port on 127.0.0.1 that was free a moment ago
free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# lw_http METHOD URL [BODY]: prints the response body; exit 0 on 2xx, 1 on
# another status (body still printed), 2 when the connection fails.
lw_http() {
  python3 - "$@" <<'PY'
import sys, urllib.request, urllib.error
method, url = sys.argv[1], sys.argv[2]
data = sys.argv[3].encode() if len(sys.argv) > 3 else None
req = urllib.request.Request(url, data=data, method=method)
if data is not None:
    req.add_header("Content-Type", "application/json")
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        sys.stdout.write(r.read().decode("utf-8", "replace"))
except urllib.error.HTTPError as e:
    sys.stdout.write(e.read().decode("utf-8", "replace"))
    sys.exit(1)
except (urllib.error.URLError, OSError) as e:
    sys.stderr.write("lw_http %s %s: %s\n" % (method, url, e))
    sys.exit(2)
PY
}

# lw_wait_http URL PID SECONDS: 0 once URL answers 2xx; 1 on timeout or when PID exits
lw_wait_http() {
  local url=$1 pid=$2 n=$(($3 * 10)) i
  for ((i = 0; i < n; i++)); do
    kill -0 "$pid" 2>/dev/null || return 1
    lw_http GET "$url" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# start_alertmanager DIR [WEBHOOK_URL]: sets AM_URL, AM_PID, AM_DIR
start_alertmanager() {
  local dir=$1 hook=${2:-} port try group_by=${AM_GROUP_BY:-"['...']"}
  mkdir -p "$dir"
  {
    echo "route:"
    echo "  receiver: test"
    echo "  group_by: $group_by"
    echo "  group_wait: 0s"
    echo "  group_interval: 1s"
    echo "  repeat_interval: ${AM_REPEAT_INTERVAL:-4h}"
    echo "receivers:"
    echo "  - name: test"
    if [ -n "$hook" ]; then
      echo "    webhook_configs:"
      echo "      - {url: '$hook', send_resolved: true, max_alerts: 0}"
    fi
  } >"$dir/alertmanager.yml"
  if command -v amtool >/dev/null; then
    amtool check-config "$dir/alertmanager.yml" >"$dir/check.out" 2>&1 \
      || fail "alertmanager config: $(cat "$dir/check.out")"
  fi
  for try in 1 2 3; do
    port=$(free_port)
    "$AM_BIN" --config.file="$dir/alertmanager.yml" --storage.path="$dir/data" \
      --web.listen-address="127.0.0.1:$port" --cluster.listen-address= \
      --log.level=info >"$dir/alertmanager.out" 2>"$dir/alertmanager.err" &
    AM_PID=$!
    LW_PIDS+=("$AM_PID")
    AM_URL="http://127.0.0.1:$port"
    AM_DIR=$dir
    if lw_wait_http "$AM_URL/-/ready" "$AM_PID" "$LW_ALERTS_READY_S"; then
      export AM_URL AM_PID AM_DIR
      return 0
    fi
    kill -0 "$AM_PID" 2>/dev/null && { kill "$AM_PID"; fail "alertmanager not ready in ${LW_ALERTS_READY_S}s"; }
    grep -q 'address already in use' "$dir/alertmanager.err" || break
  done
  fail "alertmanager did not start (try $try): see $dir/alertmanager.err"
}

# am_alerts [MATCHER...]: the JSON of GET /api/v2/alerts, filtered by
# Alertmanager matchers such as 'alertname="LeadwatchInputNoLongerLeads"'
am_alerts() {
  local q="" m
  for m in "$@"; do
    q+="${q:+&}filter=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$m")"
  done
  lw_http GET "$AM_URL/api/v2/alerts${q:+?$q}"
}

# lw_alert_lines: reads alerts JSON (an Alertmanager v2 list, or webhook
# bodies one per line) on stdin, prints one sorted line per alert:
#   STATUS alertname=... k=v ... (labels sorted; STATUS = active / suppressed
#   / unprocessed for v2, firing / resolved for webhook bodies)
lw_alert_lines() {
  python3 -c '
import json, sys
out = []
for doc in (json.loads(l) for l in sys.stdin.read().splitlines() if l.strip()):
    alerts = doc if isinstance(doc, list) else doc.get("alerts", [])
    for a in alerts:
        st = a.get("status")
        st = st.get("state") if isinstance(st, dict) else st
        labels = a.get("labels", {})
        out.append(" ".join([str(st), "alertname=%s" % labels.get("alertname", "")] +
                            ["%s=%s" % kv for kv in sorted(labels.items()) if kv[0] != "alertname"]))
print("\n".join(sorted(out)))'
}

# am_alert_lines [MATCHER...]: am_alerts as lw_alert_lines lines
am_alert_lines() { am_alerts "$@" | lw_alert_lines; }

# am_wait_alert SECONDS MATCHER...: 0 once an alert matching every matcher is active
am_wait_alert() {
  local n=$(($1 * 10)) i out
  shift
  for ((i = 0; i < n; i++)); do
    out=$(am_alert_lines "$@" 2>/dev/null) || true
    grep -q '^active ' <<<"$out" && return 0
    sleep 0.1
  done
  return 1
}

# am_post_alert NAME [KEY=VALUE...] [--ends ISO8601]: POST one alert to
# /api/v2/alerts (a harness self-test, or an alert leadwatch did not send)
am_post_alert() {
  python3 - "$@" >"$AM_DIR/post.json" <<'PY'
import json, sys, datetime
labels, ends, args = {"alertname": sys.argv[1]}, None, sys.argv[2:]
while args:
    a = args.pop(0)
    if a == "--ends":
        ends = args.pop(0)
    else:
        k, v = a.split("=", 1)
        labels[k] = v
# started a minute ago, so an --ends of "now" is never before startsAt (AM answers 400)
start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
alert = {"labels": labels, "annotations": {"summary": "posted by lib_alerts.sh"},
         "startsAt": start.isoformat().replace("+00:00", "Z")}
if ends:
    alert["endsAt"] = ends
print(json.dumps([alert]))
PY
  lw_http POST "$AM_URL/api/v2/alerts" "$(cat "$AM_DIR/post.json")" >"$AM_DIR/post.answer" 2>&1 \
    || fail "POST $AM_URL/api/v2/alerts: $(cat "$AM_DIR/post.answer")"
}

# start_prometheus DIR TARGET [METRICS_PATH]: scrapes TARGET (host:port)
# every second as job "leadwatch"; sets PROM_URL, PROM_PID, PROM_DIR
start_prometheus() {
  local dir=$1 target=$2 mpath=${3:-/metrics} port try
  mkdir -p "$dir"
  cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: leadwatch
    metrics_path: $mpath
    static_configs:
      - targets: ['$target']
EOF
  for try in 1 2 3; do
    port=$(free_port)
    "$PROM_BIN" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
      --web.listen-address="127.0.0.1:$port" --storage.tsdb.retention.time=1d \
      --log.level=info >"$dir/prometheus.out" 2>"$dir/prometheus.err" &
    PROM_PID=$!
    LW_PIDS+=("$PROM_PID")
    PROM_URL="http://127.0.0.1:$port"
    PROM_DIR=$dir
    if lw_wait_http "$PROM_URL/-/ready" "$PROM_PID" "$LW_ALERTS_READY_S"; then
      export PROM_URL PROM_PID PROM_DIR
      return 0
    fi
    kill -0 "$PROM_PID" 2>/dev/null && { kill "$PROM_PID"; fail "prometheus not ready in ${LW_ALERTS_READY_S}s"; }
    grep -q 'address already in use' "$dir/prometheus.err" || break
  done
  fail "prometheus did not start (try $try): see $dir/prometheus.err"
}

# prom_query EXPR: the JSON answer of GET /api/v1/query?query=EXPR
prom_query() {
  lw_http GET "$PROM_URL/api/v1/query?query=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1")"
}

# prom_value EXPR: one line per result series, "{labels} value", sorted
# (labels as k=v,k=v without __name__); nothing when the result is empty
prom_value() {
  prom_query "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if d.get("status") != "success":
    sys.exit("prom_value: %s" % d.get("error"))
res = d["data"]["result"]
if d["data"]["resultType"] == "scalar":
    res = [{"metric": {}, "value": res}]
for r in sorted(res, key=lambda r: sorted(r["metric"].items())):
    m = ",".join("%s=%s" % kv for kv in sorted(r["metric"].items()) if kv[0] != "__name__")
    print("{%s} %s" % (m, r["value"][1]))'
}

# prom_wait SECONDS EXPR: 0 once EXPR returns at least one series
prom_wait() {
  local n=$(($1 * 10)) i
  for ((i = 0; i < n; i++)); do
    [ -n "$(prom_value "$2" 2>/dev/null)" ] && return 0
    sleep 0.1
  done
  return 1
}

# prom_target_health: "HEALTH LAST_ERROR" of the (single) scrape target
prom_target_health() {
  lw_http GET "$PROM_URL/api/v1/targets" | python3 -c '
import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"]
print(" ".join([t[0]["health"], t[0]["lastError"] or "-"]) if t else "none -")'
}

# start_webhook DIR [PORT]: runs tests/webhook_receiver.py (PORT: reuse an
# old port after a "down"); sets WEBHOOK_URL, WEBHOOK_DIR, WEBHOOK_PID
start_webhook() {
  local dir=$1 port=${2:-0} i
  mkdir -p "$dir"
  rm -f "$dir/port"
  python3 "$LW_ALERTS_SRC/tests/webhook_receiver.py" --dir "$dir" --port "$port" \
    >"$dir/webhook.out" 2>"$dir/webhook.err" &
  WEBHOOK_PID=$!
  LW_PIDS+=("$WEBHOOK_PID")
  for ((i = 0; i < 100; i++)); do
    [ -s "$dir/port" ] && break
    kill -0 "$WEBHOOK_PID" 2>/dev/null || fail "webhook receiver exited: $(tail -n 3 "$dir/webhook.err")"
    sleep 0.1
  done
  [ -s "$dir/port" ] || fail "webhook receiver did not report its port"
  WEBHOOK_URL="http://127.0.0.1:$(cat "$dir/port")/hook"
  WEBHOOK_DIR=$dir
  export WEBHOOK_URL WEBHOOK_DIR WEBHOOK_PID
}

# webhook_mode DIR ok | fail [CODE] | stall SECONDS [CODE]
webhook_mode() {
  local dir=$1
  shift
  echo "$*" >"$dir/mode.tmp" && mv "$dir/mode.tmp" "$dir/mode"
}

# webhook_stat DIR KEY: a counter (requests accepted failed stalled invalid
# shape_errors write_errors), from the receiver's own files so it works while
# the receiver is down
webhook_stat() {
  python3 - "$1" "$2" <<'PY'
import json, os, sys
d, key = sys.argv[1], sys.argv[2]
recs = []
if os.path.exists(os.path.join(d, "requests.jsonl")):
    recs = [json.loads(l) for l in open(os.path.join(d, "requests.jsonl")) if l.strip()]
calc = {
    "requests": len(recs),
    "accepted": sum(1 for r in recs if r.get("json") and 200 <= r["status"] < 300 and r.get("status_delivered")),
    "failed": sum(1 for r in recs if r["mode"] == "fail"),
    "stalled": sum(1 for r in recs if r["mode"] == "stall"),
    "invalid": sum(1 for r in recs if not r.get("json")),
    "shape_errors": sum(1 for r in recs if r.get("shape_errors")),
    "write_errors": sum(1 for r in recs if r.get("status_delivered") is False),
}
if key not in calc:
    sys.exit("webhook_stat: unknown counter %s" % key)
print(calc[key])
PY
}

# webhook_alert_lines DIR [accepted|bodies]: the alerts the receiver got,
# as lw_alert_lines (default: only bodies answered 2xx)
webhook_alert_lines() {
  local f=$1/${2:-accepted}.jsonl
  if [ -f "$f" ]; then lw_alert_lines <"$f"; fi
}

# webhook_wait DIR SECONDS PATTERN: 0 once an accepted alert line matches PATTERN (grep -E)
webhook_wait() {
  local n=$(($2 * 10)) i out
  for ((i = 0; i < n; i++)); do
    out=$(webhook_alert_lines "$1") || true
    grep -Eq "$3" <<<"$out" && return 0
    sleep 0.1
  done
  return 1
}

# stop_pid PID: TERM, then KILL after 2 s (a server the test takes down on purpose)
stop_pid() {
  local i
  kill "$1" 2>/dev/null || return 0
  for ((i = 0; i < 20; i++)); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# prefill_break_topic SEED: the alert tests' data on the running mock (BOOT):
# 300 simulated days, scale 0.2 (~1.6 M events), playlists_created stops
# leading from day 200, produced at full speed into topic `events` of a
# 128-partition mock (the mock keeps 5 MiB per partition: 64 would drop the
# oldest days).  Fails unless the topic holds every simulated event; sets
# PRODUCED.
prefill_break_topic() {
  local simulated
  "$LW" simulate --days 300 --break-day 200 --seed "$1" --scale 0.2 --start 2025-01-01 \
    --produce "$BOOT" --topic events 2>sim.err || fail "simulate --produce"
  simulated=$(sed -n 's/.*simulate: \([0-9]*\) events over.*/\1/p' sim.err)
  mock_cmd watermarks events >wm.txt
  PRODUCED=$(awk '{s += $3 - $2} END {print s}' wm.txt)
  [ "$(awk '$2 != 0' wm.txt | wc -l)" -eq 0 ] || fail "retention dropped the head of a partition"
  [ -n "$simulated" ] && [ "$PRODUCED" -eq "$simulated" ] \
    || fail "the topic holds $PRODUCED events, simulated ${simulated:-?} (mock retention?)"
}

# alerts_config OUT STORE: config/leadwatch.yaml (the simulator's tree) with
# the store at STORE and analysis.window 90; the caller appends `alerts:`.
alerts_config() {
  sed -e "s#^  path: leadwatch.db#  path: $2#" -e 's/^  window: 0$/  window: 90/' \
    "$SRC/config/leadwatch.yaml" >"$1"
  grep -q "^  window: 90" "$1" && grep -q "^  path: $2" "$1" || fail "alerts_config: edit did not apply"
}

# busy_alerts_config OUT STORE WEBHOOK_URL [QUEUE_MAX]: alerts_config plus an
# alerts section that fires and resolves on every flap (for 0, keep_firing_for
# 0, arm_after 0): ~30 webhook events all through a catch-up of the
# prefill_break_topic data, for the receiver-failure test and bench (with the
# defaults only the broken input fires, near the end of the data).
busy_alerts_config() {
  alerts_config "$1" "$2"
  cat >>"$1" <<YAML
alerts:
  for: 0
  keep_firing_for: 0
  arm_after: 0
  # the window-verdict rule, pinned (the default since issue 11 session 7 is the sequential
  # monitor, which fires once for the broken input instead of flapping): these cases need
  # the ~30 alert events of every flap to overlap the receiver's outages
  monitor: false
  on: [no_longer_leads, reverse, kpi_link_lost]
  webhook: {url: "$3"}
  timeout: 1s
  backoff: {initial: 200ms, max: 2s}
  queue_max: ${4:-64}
YAML
}
