#!/usr/bin/env bash
# Real event streams (issue 14), end to end with the real binary: the committed
# vendor samples (tests/data/vendors/, written in each vendor's documented shape:
# Segment and RudderStack batches, Amplitude Export and HTTP V2, PostHog batch)
# ingested with each format's default config must export exactly the daily series
# of the truth files (counts and sums exactly; distinct users rounded, as the
# HyperLogLog estimate is within 0.1 of the truth at these sizes), with the ingest
# counters the truth states. For every sample:
#   1. plain, gzip and zstd copies, each into a fresh store;
#   2. the same file again (plain, .gz, .zst): nothing more is counted;
#   3. `zcat file.gz | ingest -` after that (stdin has no identity): nothing more is
#      counted: each event is a duplicate while its bucket is open (its id is in the
#      store), late once the bucket closed;
#   4. 10 % of the lines sent twice (an SDK retrying a request), in a second file
#      ingested by a second run after the first half: exact, the copies counted
#      as `duplicate` (and identify calls inside them as missing_event again).
set -euo pipefail
LW=${1:?usage: it_vendors.sh path/to/leadwatch}
SRC=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
V=$SRC/tests/data/vendors
work=$(mktemp -d "${TMPDIR:-/tmp}/lw-vendors-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v zstd >/dev/null || fail "zstd (the command) is needed: scripts/install-deps --test"

# compare NAME CONFIG STORE OUT [EXTRA_DUP EXTRA_MISSING]: export vs truth, counters vs
# the truth's plus the copies' (OUT: every ingest output of this store, concatenated)
compare() {
  local name=$1 cfg=$2 store=$3 out=$4 dup=${5:-0} miss=${6:-0}
  "$LW" export -c "$V/$cfg.yaml" --store "$store" >"$name.csv" 2>/dev/null
  python3 - "$V/truth/$cfg.csv" "$name.csv" "$V/truth/$cfg.json" "$out" "$dup" "$miss" "$name" <<'PY'
import csv, json, re, sys
truth, got, tj, out, dup, miss, name = sys.argv[1:8]
t = list(csv.DictReader(open(truth)))
g = list(csv.DictReader(open(got)))
assert [r["period"] for r in t] == [r["period"] for r in g], (name, "periods differ")
for a, b in zip(t, g):
    for k in a:
        if k == "period":
            continue
        ok = round(float(b[k])) == int(a[k]) if k == "users" else float(b[k]) == float(a[k])
        assert ok, (name, a["period"], k, "truth", a[k], "got", b[k])
c = json.load(open(tj))
text = open(out).read()
def total(label):
    return sum(int(m) for m in re.findall(r"^\s+%s\s+(\d+)$" % label, text, re.M))
# a copy is a duplicate while its bucket is open, late (not counted either) after
want = {"accepted": c["accepted"], "duplicate+late": int(dup),
        "missing_event": c["rejected"].get("missing_event", 0) + int(miss)}
got = {"accepted": total("accepted"), "duplicate+late": total("duplicate") + total("late"),
       "missing_event": total("missing_event")}
assert got == want, (name, "want", want, "got", got)
assert total("late") == 0 or "zcat" in name, (name, "late copies", total("late"))
print("ok %-40s %d days, accepted %d, duplicate %d, late %d, missing_event %d"
      % (name, len(t), got["accepted"], total("duplicate"), total("late"), got["missing_event"]))
PY
}

# copies of every 10th line, each sent again 3 lines later; prints the numbers of
# (tracked, identify) events inside the copied lines
with_retries() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
src, out, fmt = sys.argv[1:4]
lines = open(src).read().splitlines(True)
res, pending, tracked, ident = [], [], 0, 0
name = {"amplitude": "event_type"}.get(fmt, "event")
for i, l in enumerate(lines):
    res.append(l)
    if i % 10 == 5:
        pending.append((i + 3, l))
        o = json.loads(l)
        for e in o.get("batch", o.get("events", [o])):
            if e.get(name):
                tracked += 1
            else:
                ident += 1
    while pending and pending[0][0] <= i:
        res.append(pending.pop(0)[1])
res.extend(l for _, l in pending)
open(out, "w").write("".join(res))
print(tracked, ident)
PY
}

run_sample() {
  local cfg=$1 file=$2 fmt=$3
  local base=$cfg.${file%.jsonl}
  cp "$V/$file" "$base.jsonl"
  gzip -c "$base.jsonl" >"$base.jsonl.gz"
  zstd -q -c "$base.jsonl" >"$base.jsonl.zst"
  for ext in jsonl jsonl.gz jsonl.zst; do
    local st=$base.$ext.db
    "$LW" ingest -c "$V/$cfg.yaml" --store "$st" "$base.$ext" >"$st.out" 2>"$st.err" ||
      fail "$base.$ext: ingest exit $?: $(cat "$st.err")"
    compare "$base.$ext" "$cfg" "$st" "$st.out"
    # 2. again: skipped by position, nothing more counted
    "$LW" ingest -c "$V/$cfg.yaml" --store "$st" "$base.$ext" >>"$st.out" 2>"$st.err"
    grep -q "skipped $(stat -c %s "$base.jsonl") bytes already in the store" "$st.out" ||
      fail "$base.$ext: the second ingest did not skip the whole file: $(tail -5 "$st.out")"
    compare "$base.$ext (again)" "$cfg" "$st" "$st.out"
  done
  # 3. the gzip file through stdin once more: no identity, so dedup must catch it all
  local st=$base.jsonl.gz.db all_tracked
  all_tracked=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['accepted'])" \
    "$V/truth/$cfg.json")
  local all_miss
  all_miss=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rejected'].get('missing_event',0))" \
    "$V/truth/$cfg.json")
  zcat "$base.jsonl.gz" | "$LW" ingest -c "$V/$cfg.yaml" --store "$st" - >>"$st.out" 2>"$st.err" ||
    fail "$base: stdin ingest exit $?"
  compare "$base.jsonl.gz + zcat | ingest -" "$cfg" "$st" "$st.out" "$all_tracked" "$all_miss"
  # 4. 10 % retried, across two runs: first half, then the second half with the copies
  with_retries "$base.jsonl" "$base.retry.jsonl" "$fmt" >"$base.retry.n"
  local n half
  n=$(wc -l <"$base.retry.jsonl")
  half=$((n / 2))
  head -n "$half" "$base.retry.jsonl" >"$base.part1.jsonl"
  tail -n +"$((half + 1))" "$base.retry.jsonl" >"$base.part2.jsonl"
  st=$base.retry.db
  "$LW" ingest -c "$V/$cfg.yaml" --store "$st" "$base.part1.jsonl" >"$st.out" 2>"$st.err"
  "$LW" ingest -c "$V/$cfg.yaml" --store "$st" "$base.part2.jsonl" >>"$st.out" 2>"$st.err"
  read -r dup_tracked dup_ident <"$base.retry.n"
  [ "$dup_tracked" -gt $((all_tracked / 20)) ] || fail "$base: only $dup_tracked copies"
  compare "$base +10% retried, 2 runs" "$cfg" "$st" "$st.out" "$dup_tracked" "$dup_ident"
}

for c in segment rudderstack amplitude amplitude_id posthog; do
  "$LW" check-config -c "$V/$c.yaml" >/dev/null || fail "check-config $c.yaml"
done
run_sample segment segment_batch.jsonl segment
run_sample rudderstack rudderstack_events.jsonl segment
run_sample amplitude amplitude_export.jsonl amplitude
run_sample amplitude_id amplitude_export.jsonl amplitude
run_sample amplitude amplitude_httpv2.jsonl amplitude
run_sample posthog posthog_batch.jsonl posthog

# a malformed array index is a check-config error with its FILE:LINE
sed 's/properties.products\[0\].quantity/properties.products[x].quantity/' "$V/segment.yaml" >bad.yaml
if "$LW" check-config -c bad.yaml >bad.out 2>&1; then fail "check-config accepted products[x]"; fi
grep -q "^bad.yaml:9: metrics\[4\].sum: an array index is \[N\]" bad.out ||
  fail "check-config message: $(cat bad.out)"
echo "it_vendors: all samples exact"
