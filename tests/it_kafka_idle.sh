#!/usr/bin/env bash
# it_kafka_idle.sh - the buckets an idle partition's watermark closes are
# committed and evaluated with no new message (issue 18.6), end to end.
#
# Two topics of one partition each (two pipeline sources): `ta` gets 6 days
# of events, `tb` only the first 2.  While both are read the watermark is
# the older one's newest event time (day 2: with a 1-day grace nothing
# closes).  Everything is produced before the daemon starts, so once it is
# consumed no message arrives any more; 2 s later both partitions are idle
# and the watermark becomes ta's newest event time, which closes days 1..4.
# Without a new message the daemon must then commit that watermark to the
# store (ints.watermark_ms), evaluate the 4 buckets (watch.last_as_of_ms,
# verdict rows as of day 4, leadwatch_buckets_closed_total 4), all within
# a few seconds.  Before the pipeline flushed a watermark that moved
# without an event, nothing closed until the next message.
set -uo pipefail
source "$(dirname "$0")/lib_kafka.sh"

mock_start --topic ta --topic tb --partitions 1
"$LW" simulate --days 6 --seed 5 2>/dev/null | awk 'NR % 100 == 1' >a.jsonl || fail "simulate"
grep -E '"timestamp":"2024-01-0[12]T' a.jsonl >b.jsonl
mock_cmd produce ta a.jsonl >/dev/null
mock_cmd produce tb b.jsonl >/dev/null
read -r W NEWEST <<<"$(python3 - a.jsonl <<'PY'
import json, sys, datetime as dt
ts = [dt.datetime.fromisoformat(json.loads(l)["timestamp"].replace("Z", "+00:00"))
      for l in open(sys.argv[1])]
w = int(max(ts).timestamp() * 1000)
day = 86400000
print(w, (w - 2 * day - 1) // day * day)  # newest closed: bucket end + grace < watermark
PY
)"
FIRST=$(python3 -c 'import datetime as d; print(int(d.datetime(2024, 1, 1, tzinfo=d.timezone.utc).timestamp() * 1000))')
NCLOSED=$(((NEWEST - FIRST) / 86400000 + 1))
[ "$NCLOSED" -eq 4 ] || fail "test data: expected 4 closable days, got $NCLOSED"

write_config k.yaml k.db 1d
cat >>k.yaml <<EOF
http: {listen: "127.0.0.1:0"}
EOF
# shellcheck disable=SC2046
"$LW" run -c k.yaml $(kafka_opts idle) --topic ta --topic tb >run.out 2>run.err &
D=$!
LW_PIDS+=("$D")
daemon_url run.err
int_key() { sqlite3 -readonly k.db "SELECT value FROM ints WHERE key = '$1'" 2>/dev/null; }

total=$(($(wc -l <a.jsonl) + $(wc -l <b.jsonl)))
for _ in $(seq 1 300); do [ "$(metric leadwatch_events_consumed_total)" = "$total" ] && break; sleep 0.1; done
[ "$(metric leadwatch_events_consumed_total)" = "$total" ] || fail "consumed $(metric leadwatch_events_consumed_total) of $total"
t0=$SECONDS
ok=0
for _ in $(seq 1 150); do
  if [ "$(int_key watermark_ms)" = "$W" ] && [ "$(int_key watch.last_as_of_ms)" = "$NEWEST" ] &&
    [ "$(metric leadwatch_buckets_closed_total)" = "$NCLOSED" ]; then
    ok=1
    break
  fi
  sleep 0.1
done
[ $ok -eq 1 ] || fail "15 s after the last message: store watermark $(int_key watermark_ms) (want $W), evaluated as of $(int_key watch.last_as_of_ms) (want $NEWEST), buckets closed $(metric leadwatch_buckets_closed_total) (want $NCLOSED)"
echo "idle partitions closed $NCLOSED buckets $((SECONDS - t0)) s after the last message"
v=$(sqlite3 -readonly k.db "SELECT count(*) FROM verdicts WHERE as_of = $NEWEST")
[ "$v" -gt 0 ] || fail "no verdict rows as of the newest closed bucket"
consumed=$(metric leadwatch_events_consumed_total)
[ "$consumed" = "$total" ] || fail "a message arrived during the test ($consumed of $total)"
kill -TERM "$D"
wait "$D"
rc=$?
[ $rc -eq 0 ] || fail "daemon exit $rc after SIGTERM"
echo "it_kafka_idle: all checks passed"
