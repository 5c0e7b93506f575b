#!/usr/bin/env bash
# bench_alert_receivers.sh - does a bad alert receiver or a crowd of
# scrapers cost consumption?  The daemon's consumption rate (its summary
# line "consumed N messages in X s (R messages/s)") over the same prefilled
# topic, with the webhook receiver
#   healthy   answering 200
#   down      not listening (connection refused; retried with backoff)
#   503       answering 503 to every request
#   stall30   sleeping 30 s per request (alerts.timeout 1s: every attempt times out)
#   scrapers  healthy, plus 200 threads scraping /metrics in a loop
# RUNS runs of each (default 3), interleaved round by round so drift on a
# shared machine hits every condition alike; prints every run, then the
# median rate per condition and its ratio to the healthy median as a
# Markdown table (for bench/RESULTS.md).
#
# Data: simulate --days 300 --break-day 200 --seed 1 --scale 0.2 (1.63 M
# events).  Alerts with for 0, keep_firing_for 0, arm_after 0: every flap
# fires or resolves at once, ~30 webhook events spread over the whole
# catch-up (with the defaults only the broken input fires, near the end, and
# a bad receiver would hardly overlap consumption),
# produced once into mock-kafka with 128 partitions (the mock keeps the
# newest 5 MiB per partition; 64 would lose the oldest days).  Every run
# has its own consumer group and store.  Two figures per run:
#   summary line  X = the whole of `run`: the group join (~3 s on the mock),
#                 the 2 s of --exit-when-idle, and at exit up to 5 s
#                 (LW_SERVICE_DRAIN_MS) draining the alert queue when the
#                 receiver does not take it - so it understates consumption
#                 with a bad receiver
#   consumption   seconds from the start of `run` to the moment it logs
#                 "every partition at its end for 2000 ms", minus those 2 s
#                 (the log is read through a pipe and stamped as it comes:
#                 /metrics would need a poller that the 200 scrapers starve)
#   usage: bench/bench_alert_receivers.sh [BUILD_DIR] [RUNS]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
RUNS=${2:-3}
export LW_SOURCE_DIR=$root
set -- "$build/leadwatch"
source "$root/tests/lib_kafka.sh"
source "$root/tests/lib_alerts.sh"
set +e

mock_start --topic events --partitions 128
prefill_break_topic 1
produced=$PRODUCED
echo "produced $produced events" >&2

cat >scrapers.py <<'PY'
# scrapers.py HOST PORT STOPFILE: 200 threads GET /metrics in a loop (raw
# sockets: cheaper per request than urllib, so the clients' own CPU takes
# less from the daemon on a small machine); prints "ok errors" at the end
import os, socket, sys, threading, time
host, port, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
n = [0, 0]
def scraper():
    while not os.path.exists(stop):
        ok = False
        try:
            s = socket.create_connection((host, port), timeout=30)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                c = s.recv(65536)
                if not c:
                    break
                data += c
            s.close()
            ok = data.startswith(b"HTTP/1.1 200")
        except OSError:
            pass
        with lock:
            n[0 if ok else 1] += 1
        time.sleep(0.05)
ts = [threading.Thread(target=scraper, daemon=True) for _ in range(200)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(n[0], n[1])
PY

cat >stamp.py <<'PY'
# stamp.py FILE START_NS: copies stdin (the daemon's log) to FILE and prints
# the seconds from START_NS (wall clock, ns) to the log line that says
# --exit-when-idle saw every partition at its end ("-1" when none came).
import sys, time
out, start = open(sys.argv[1], "w"), int(sys.argv[2])
when = -1.0
for line in sys.stdin:
    if when < 0 and "every partition at its end" in line:
        when = (time.time_ns() - start) / 1e9
    out.write(line)
out.close()
print("%.2f" % when)
PY

start_webhook "$work/hook"
HOOK_OK=$WEBHOOK_URL
IDLE_S=2
run_no=0

# one_run COND: prints "COND RATE SECONDS NET_RATE NET_SECONDS" (summary
# line; consumption); call it in this shell (run_no)
one_run() {
  local cond=$1 hook=$HOOK_OK port name
  run_no=$((run_no + 1))
  name=r$run_no
  case $cond in
    healthy | scrapers) webhook_mode "$WEBHOOK_DIR" ok ;;
    503) webhook_mode "$WEBHOOK_DIR" fail 503 ;;
    stall30) webhook_mode "$WEBHOOK_DIR" stall 30 ;;
    down) hook="http://127.0.0.1:$(free_port)/hook" ;;
  esac
  busy_alerts_config "$name.yaml" "$work/$name.db" "$hook"
  port=$(free_port)
  local start_ns pid spid=""
  start_ns=$(date +%s%N)
  # shellcheck disable=SC2046
  "$LW" run -c "$name.yaml" $(kafka_opts "$name") --topic events --http "127.0.0.1:$port" \
    --exit-when-idle "$IDLE_S" >"$name.out" 2> >(python3 stamp.py "$name.err" "$start_ns" >"$name.stamp") &
  pid=$!
  LW_PIDS+=("$pid")
  if [ "$cond" = scrapers ]; then
    lw_wait_http "http://127.0.0.1:$port/healthz" "$pid" 20 || fail "$name: /healthz"
    rm -f "$name.stop"
    python3 scrapers.py 127.0.0.1 "$port" "$name.stop" >"$name.scrapes" &
    spid=$!
    LW_PIDS+=("$spid")
  fi
  wait "$pid" || fail "$name ($cond): exit $?"
  if [ -n "$spid" ]; then
    touch "$name.stop"
    wait "$spid"
    echo "  $name scrapes ok/errors: $(cat "$name.scrapes")" >&2
  fi
  webhook_mode "$WEBHOOK_DIR" ok
  for ((i = 0; i < 50; i++)); do [ -s "$name.stamp" ] && break; sleep 0.1; done
  local line net
  net=$(awk -v t="$(cat "$name.stamp")" -v i="$IDLE_S" 'BEGIN {if (t > i) printf "%.2f", t - i}')
  [ -n "$net" ] || fail "$name ($cond): no 'every partition at its end' line in $name.err"
  line=$(head -1 "$name.out")
  [[ $line =~ ^consumed\ $produced\ messages\ in\ ([0-9.]+)\ s\ \(([0-9]+)\ messages/s\) ]] \
    || fail "$name ($cond): summary '$line'"
  echo "$cond ${BASH_REMATCH[2]} ${BASH_REMATCH[1]} $(awk -v n="$produced" -v t="$net" 'BEGIN {printf "%d %.2f", n / t, t}')"
}

read -r -a CONDS <<<"${BENCH_CONDS:-healthy down 503 stall30 scrapers}"
: >runs.txt
for ((r = 1; r <= RUNS; r++)); do
  for c in "${CONDS[@]}"; do
    one_run "$c" >>runs.txt # not in a pipeline: run_no and fail must act in this shell
    tail -n 1 runs.txt >&2
  done
done

python3 - runs.txt "$RUNS" "$produced" <<'PY'
import statistics, sys
runs = {}
for l in open(sys.argv[1]):
    c, rate, secs, nrate, nsecs = l.split()
    runs.setdefault(c, []).append((int(rate), float(secs), int(nrate), float(nsecs)))
med = lambda c, i: statistics.median(r[i] for r in runs[c])
print("| receiver | summary line: runs (msg/s) | median msg/s | ratio | consumption: runs (msg/s) | median msg/s | median s | ratio |")
print("|---|---|---|---|---|---|---|---|")
for c in [c for c in ["healthy", "down", "503", "stall30", "scrapers"] if c in runs]:
    print("| %s | %s | %d | %.2f | %s | %d | %.2f | %.2f |" % (
        c, ", ".join(str(r[0]) for r in runs[c]), med(c, 0), med(c, 0) / med("healthy", 0),
        ", ".join(str(r[2]) for r in runs[c]), med(c, 2), med(c, 3), med(c, 2) / med("healthy", 2)))
print("\n%s runs each, %s messages per run." % (sys.argv[2], sys.argv[3]))
PY
