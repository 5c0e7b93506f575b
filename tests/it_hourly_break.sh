#!/usr/bin/env bash
# it_hourly_break.sh - hourly buckets with analysis.full_every (issue 17): a
# daemon that follows the events live and one that catches up on all of them
# at once alert on a planted break at the same bucket, evaluate in full at
# the same buckets, and export their per-close evaluation time on /metrics.
#
# Data: `leadwatch simulate --hourly --days 1440` is 60 days of hourly
# buckets (each simulated day written as one hour, so the lags, the weekly
# cycle and --break-day count hours); playlists lead listening by 1 hour
# (--model lag_playlists=1) with enough playlists per hour to be seen
# (playlists_base=20000 at scale 0.01) until hour 840 (2024-02-05T00:00,
# day 35), from which they stop.  The events are sorted by time, so none is
# late in either run.  Config: hourly buckets (grace 10m), window 240,
# max_lag 6, one edge (playlists -> listening_ms), analysis.full_every 1d
# (the default: the full analysis at the closes of the 23:00 buckets), the
# sequential monitor on, arm_after 5, for 1.
#
#   live      `run` on an empty store, the events produced two days at a time
#             into a one-partition topic, each chunk consumed before the next
#             (the mock keeps 5 MiB per partition); the store
#             flushes every 500 events, so the evaluator gets a new watermark
#             about every hour of events and evaluates the closes as they come;
#   catch-up  the first 59 days ingested from the file first, then `run` on
#             that store and the last day produced at once: the first flush's
#             watermark closes 1,400-odd buckets, which the evaluator
#             evaluates in one go.
# Checked: both evaluated up to the same final bucket; the series and the
# verdict rows (only at full evaluations, 23:00 buckets) are identical; the
# alert transitions (from the debug log: each transition line is followed by
# the evaluation's "as of" line) are the same list, and playlists'
# LeadwatchInputNoLongerLeads fires after the break; /metrics of both has
# leadwatch_evaluation_duration_seconds{kind="close"} and {kind="full"}
# with counts adding up to the closes evaluated, and per-close times below
# 20 ms on average.  The figures are printed.
set -uo pipefail
source "$(dirname "$0")/lib_kafka.sh"

T0=$SECONDS
mock_start --topic live --topic catch --partitions 1
"$LW" simulate --hourly --days 1440 --seed 5 --scale 0.01 --break-day 840 \
  --model playlists_base=20000 --model lag_playlists=1 >raw.jsonl 2>sim.err || fail "simulate"
python3 - raw.jsonl <<'PY' || fail "split"
import datetime as dt, sys
# every line has "timestamp":"YYYY-MM-DDTHH:MM:SS.mmmZ" (the simulator's fixed format)
def ts(l):
    i = l.index('"timestamp":"') + 13
    return l[i:i + 24]
rows = sorted(open(sys.argv[1]), key=ts)
days = {}
for l in rows:
    days.setdefault(ts(l)[:10], []).append(l)
order = sorted(days)
with open("all.jsonl", "w") as a:
    a.writelines(rows)
with open("hist.jsonl", "w") as h:
    for d in order[:-1]:
        h.writelines(days[d])
with open("last.jsonl", "w") as f:
    f.writelines(days[order[-1]])
with open("final.txt", "w") as fin:  # the newest bucket the last event's watermark closes
    wm = int(dt.datetime.fromisoformat(ts(rows[-1]).replace("Z", "+00:00")).timestamp() * 1000)
    fin.write("%d\n" % ((wm - 3600000 - 600000 - 1) // 3600000 * 3600000))
with open("chunks.txt", "w") as idx:  # two days per chunk: < the mock's 5 MiB per partition
    for i in range(0, len(order), 2):
        ls = [l for d in order[i:i + 2] for l in days[d]]
        with open("chunk%02d.jsonl" % (i // 2), "w") as f:
            f.writelines(ls)
        idx.write("chunk%02d.jsonl %d\n" % (i // 2, len(ls)))
PY
rm -f raw.jsonl
NEV=$(wc -l <all.jsonl)

write_hourly_config live.yaml live.db 500
write_hourly_config catch.yaml catch.db 500
"$LW" ingest -c catch.yaml hist.jsonl >catch_ingest.out 2>&1 || fail "catch-up ingest"
grep -q '^  late  *0$' catch_ingest.out || fail "the catch-up ingest has late events"
echo "$NEV events, 60 days of hourly buckets (setup $((SECONDS - T0)) s)"

# the newest bucket the last event closes: bucket + 1 h + 10 min < watermark (the newest event)
FINAL=$(cat final.txt)
# hist URL KIND FIELD: leadwatch_evaluation_duration_seconds_FIELD{kind="KIND"}
hist() {
  curl -s -m 2 "$1/metrics" |
    awk -v n="leadwatch_evaluation_duration_seconds_$3{kind=\"$2\"}" '$1 == n {print $2}'
}

# --- catch-up: 59 days in the store before the daemon starts, then the last one ---------------
t=$SECONDS
# shellcheck disable=SC2046
"$LW" run -c catch.yaml --log-level debug $(kafka_opts catch) --topic catch >catch.out 2>catch.err &
C=$!
LW_PIDS+=("$C")
daemon_url catch.err
CURL=$URL
mock_cmd produce catch last.jsonl >/dev/null
wait_evaluated catch.db 40
wait_flushed catch.db catch "$(wc -l <last.jsonl)" 20
CATCH_S=$((SECONDS - t))

# --- live: two days at a time through Kafka --------------------------------------------------------
t=$SECONDS
# shellcheck disable=SC2046
"$LW" run -c live.yaml --log-level debug $(kafka_opts live) --topic live >live.out 2>live.err &
L=$!
LW_PIDS+=("$L")
daemon_url live.err
LURL=$URL
sent=0
while read -r f n; do
  mock_cmd produce live "$f" >/dev/null
  sent=$((sent + n))
  for _ in $(seq 1 200); do [ "$(metric leadwatch_events_consumed_total)" = "$sent" ] && break; sleep 0.05; done
  [ "$(metric leadwatch_events_consumed_total)" = "$sent" ] || fail "live: consumed $(metric leadwatch_events_consumed_total) of $sent after $f"
done <chunks.txt
wait_evaluated live.db 40
wait_flushed live.db live "$sent" 20
LIVE_S=$((SECONDS - t))

# --- the same evaluations ----------------------------------------------------------------------
"$LW" export -c catch.yaml >catch.csv || fail "export catch-up"
"$LW" export -c live.yaml >live.csv || fail "export live"
cmp -s catch.csv live.csv || fail "the live series differ from the catch-up's"
q="SELECT edge, as_of, verdict, p, q, lag, coef, oos FROM verdicts ORDER BY edge, as_of"
sqlite3 -readonly catch.db "$q" >catch.verdicts || fail "verdicts"
sqlite3 -readonly live.db "$q" >live.verdicts || fail "verdicts"
cmp -s catch.verdicts live.verdicts || fail "verdict rows differ: $(diff catch.verdicts live.verdicts | head -4)"
nfull=$(wc -l <catch.verdicts)
nbad=$(sqlite3 -readonly catch.db "SELECT count(*) FROM verdicts WHERE (as_of / 3600000) % 24 != 23")
[ "$nfull" -ge 55 ] && [ "$nbad" = 0 ] ||
  fail "verdict rows: $nfull, $nbad not at a 23:00 bucket (want one per day, all at 23:00)"
same_alerts catch.err live.err 2024-02-05T00

# --- per-close evaluation time on /metrics -----------------------------------------------------
for u in "$CURL" "$LURL"; do
  cc=$(hist "$u" close count)
  fc=$(hist "$u" full count)
  cs=$(hist "$u" close sum)
  [ -n "$cc" ] && [ -n "$fc" ] && [ -n "$cs" ] || fail "no evaluation_duration_seconds{kind} on $u/metrics"
  [ "$fc" = "$nfull" ] || fail "$u: $fc full evaluations on /metrics, $nfull verdict days"
  evals=$(curl -s -m 2 "$u/metrics" | awk '$1 == "leadwatch_evaluations_total" {print $2}')
  [ "$((cc + fc))" = "$evals" ] || fail "$u: close $cc + full $fc != evaluations_total $evals"
  python3 -c "import sys; sys.exit(0 if float('$cs') / $cc < 0.020 else 1)" ||
    fail "$u: per-close evaluation $(python3 -c "print(1000 * $cs / $cc)") ms on average"
  echo "$u: $cc closes ($(python3 -c "print('%.2f' % (1000 * $cs / $cc))") ms each on average), $fc full evaluations ($(python3 -c "print('%.1f' % (1000 * $(hist "$u" full sum) / $fc))") ms each)"
done
echo "catch-up evaluated in $CATCH_S s, live followed in $LIVE_S s; $(wc -l <catch.alerts) alert transitions identical"
echo "playlists stop leading from 2024-02-05T00:00; no_longer_leads fired as of $FIRE_AT in both"
echo "PASS ($((SECONDS - T0)) s)"
