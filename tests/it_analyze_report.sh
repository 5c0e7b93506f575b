#!/usr/bin/env bash
# The analyze and report commands end to end with the real binary: simulate
# a product with a known lead structure, ingest it, then
#   - analyze -c (series from the store): the true inputs lead, the NSM leads
#     revenue, JSON is valid and NaN-free;
#   - analyze --series on the simulator's exact truth CSV agrees; --as-of and
#     --window cut its rows and the JSON echoes the window;
#   - report writes the three files and prints the HTML path; a second run
#     compares with the first;
#   - usage and configuration errors exit 2 with a message.
set -euo pipefail
LW=${1:?usage: it_analyze_report.sh path/to/leadwatch}
SRC=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/lw-it-an-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
cfg=$SRC/config/leadwatch.yaml

"$LW" simulate --days 365 --seed 7 --start 2025-01-01 --truth truth.csv >events.jsonl
"$LW" ingest -c "$cfg" events.jsonl >/dev/null

"$LW" analyze -c "$cfg" --format json >a.json
python3 - <<'PY'
import json
d = json.load(open("a.json"), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
assert d["schema"] == "leadwatch.analysis/1"
edges = {(e["from"], e["to"]): e for e in d["edges"]}
for x in ("active_users", "sessions_per_user", "playlists_created"):
    e = edges[(x, "listening_minutes")]
    assert e["verdict"] == "leads", (x, e["verdict"], e["reasons"])
    assert e["role"] == "input"
kpi = edges[("listening_minutes", "revenue")]
assert kpi["role"] == "kpi" and kpi["verdict"] == "leads", kpi["verdict"]
assert kpi["lagged_regression"]["lead"] == 5, kpi["lagged_regression"]["lead"]
print("analyze -c:", {k[0]: e["verdict"] for k, e in edges.items()})
PY

"$LW" analyze --series truth.csv --nsm listening_minutes --kpi revenue \
  --inputs active_users,playlists_created,searches,track_shared --format json >s.json
python3 - <<'PY'
import json
d = json.load(open("s.json"))
v = {e["from"]: e["verdict"] for e in d["edges"]}
assert v["active_users"] == "leads" and v["playlists_created"] == "leads", v
assert v["track_shared"] == "reverse", v
assert v["searches"] != "leads", v
assert v["listening_minutes"] == "leads", v
print("analyze --series:", v)
PY
# --as-of cuts --series rows by their date labels, then --window; the JSON
# echoes the window (regressions: --as-of was ignored, options.window null)
"$LW" analyze --series truth.csv --nsm listening_minutes --as-of 2025-06-30 --window 90 \
  --format json >sw.json
"$LW" analyze -c "$cfg" --window 90 --format json >cw.json
python3 - <<'PY'
import json
d = json.load(open("sw.json"))
assert (d["rows"], d["first_period"], d["last_period"]) == (90, "2025-04-02", "2025-06-30"), \
    (d["rows"], d["first_period"], d["last_period"])
assert d["options"]["window"] == 90 and d["options"]["stability_window"] is None, d["options"]
c = json.load(open("cw.json"))
assert c["rows"] == 90 and c["options"]["window"] == 90, (c["rows"], c["options"])
a = json.load(open("a.json"))
assert a["options"]["window"] is None and a["rows"] > 300, (a["rows"], a["options"])
print("--as-of/--window with --series:", d["first_period"], "..", d["last_period"])
PY
"$LW" analyze --series truth.csv --nsm listening_minutes --format md >s.md
grep -q '^| edge | verdict' s.md || fail "markdown table missing"
"$LW" analyze -c "$cfg" --max-lag 7 --seasonal none --transform log_diff >t.txt
grep -q "Granger lags 1..7" t.txt || fail "--max-lag not applied: $(head -3 t.txt)"
"$LW" analyze -c "$cfg" --window 200 >w.txt
head -1 w.txt | grep -q "^200 daily rows" || fail "--window not applied: $(head -1 w.txt)"

out=$("$LW" report -c "$cfg" --out rep)
[ "$out" = "rep/report.html" ] || fail "report printed '$out'"
for f in report.html report.md report.json; do [ -s "rep/$f" ] || fail "rep/$f missing"; done
grep -q "Changes since the previous report" rep/report.html || fail "no changes section"
"$LW" report -c "$cfg" --out rep >/dev/null
python3 -c "import json; json.load(open('rep/report.json'))"

set +e
"$LW" analyze --series truth.csv 2>/dev/null; [ $? -eq 2 ] || fail "--series without --nsm"
"$LW" analyze --series truth.csv --nsm nope 2>err.txt; [ $? -eq 2 ] || fail "unknown column"
grep -q "nope" err.txt || fail "unknown column message: $(cat err.txt)"
"$LW" analyze -c "$cfg" --max-lag 99 2>/dev/null; [ $? -eq 2 ] || fail "--max-lag 99"
"$LW" analyze -c "$cfg" --format xml 2>/dev/null; [ $? -eq 2 ] || fail "--format xml"
"$LW" report -c "$cfg" 2>/dev/null; [ $? -eq 2 ] || fail "report without --out"
"$LW" analyze --series missing.csv --nsm x 2>/dev/null; [ $? -eq 1 ] || fail "missing csv exits 1"
printf 'period,a,b\nr1,1,2\nr2,2,3\n' >opaque.csv
"$LW" analyze --series opaque.csv --nsm a --as-of 2025-01-01 2>err.txt
[ $? -eq 2 ] || fail "--as-of with labels that are not dates must exit 2"
grep -q -- "--as-of" err.txt || fail "--as-of refusal message: $(cat err.txt)"
set -e
echo "it_analyze_report: all checks passed"
