#!/usr/bin/env bash
# bench_catchup.sh - issue 17's figures (bench/RESULTS.md, "Hourly evaluation cost"): the
# daemon's evaluator close by close (bench/bench_catchup.c) on a year of simulated events, for
# two builds (BEFORE, AFTER: build dirs with leadwatch and bench_catchup), same data, same run.
#
#   hourly: config/leadwatch.yaml with buckets 1h, analysis {window: 2160, max_lag: 48} and a
#           sixth edge (ios_sessions); daily: the same with 1d buckets, window 90, max_lag 14.
#   1. the year ingested by each build (wall seconds);
#   2. per close, REPS runs: BEFORE over one day of closes (24: each a full analysis), AFTER
#      over three days (72: 3 full, 69 closes), from the first bucket with a full window;
#   3. catch-up: AFTER over every bucket of the year (8,760 closes from the store's first
#      bucket, full analysis at the 365 midnight closes); BEFORE's is extrapolated from 2
#      (8,760 x its median), a measured run would take hours;
#   4. daily: both builds over the whole year (365 closes), REPS runs.
# Usage: bench/bench_catchup.sh BEFORE_BUILD AFTER_BUILD [WORKDIR [REPS]]
set -euo pipefail
B=$(cd "$1" && pwd) A=$(cd "$2" && pwd) W=${3:-/tmp/lw-bench-catchup} REPS=${4:-3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$W" && cd "$W"
sed -e 's/^  size: 1d/  size: 1h/' -e 's/^  max_lag: 14/  max_lag: 48/' -e 's/^  window: 0/  window: 2160/' \
    -e 's/^    - {metric: plays_per_search, kind: efficiency}/&\n    - {metric: ios_sessions, kind: breadth}/' \
    "$SRC/config/leadwatch.yaml" >h.yaml
sed -e 's/^  window: 2160/  window: 90/' -e 's/^  size: 1h/  size: 1d/' -e 's/^  max_lag: 48/  max_lag: 14/' h.yaml >d.yaml
[ -s ev.jsonl ] || "$A/leadwatch" simulate --days 365 --scale 0.2 >ev.jsonl 2>/dev/null
echo "events: $(wc -l <ev.jsonl)"
for t in before after; do
  bin=$B; [ $t = after ] && bin=$A
  for c in h d; do
    rm -f "$c.$t.db"*
    s=$(date +%s.%N)
    "$bin/leadwatch" ingest -c $c.yaml --store "$c.$t.db" ev.jsonl >/dev/null 2>&1
    echo "$t $c ingest $(echo "$(date +%s.%N) - $s" | bc) s"
  done
done
for r in $(seq 1 "$REPS"); do
  cp h.before.db x.db && "$B/bench_catchup" h.yaml x.db 24 | sed "s/^/before hourly per-close run $r: /"
  cp h.after.db x.db && "$A/bench_catchup" h.yaml x.db 72 | sed "s/^/after hourly per-close run $r: /"
  cp d.before.db x.db && "$B/bench_catchup" d.yaml x.db 0 2024-01-01T00:00:00Z | sed "s/^/before daily year run $r: /"
  cp d.after.db x.db && "$A/bench_catchup" d.yaml x.db 0 2024-01-01T00:00:00Z | sed "s/^/after daily year run $r: /"
done
cp h.after.db x.db && "$A/bench_catchup" h.yaml x.db 0 2024-01-01T00:00:00Z | sed "s/^/after hourly year catch-up: /"
rm -f x.db*
