#!/usr/bin/env bash
# End-to-end: generate a deterministic event file with known per-day totals,
# ingest it with the real binary into a real SQLite file, export, and compare:
# counts and sums exactly, distinct users within the HyperLogLog bound (2%).
# Then: re-ingest does not double-count, stdin ingest, export filters, and the
# CLI's exit codes and error messages.
set -euo pipefail
LW=${1:?usage: it_ingest_export.sh path/to/leadwatch}
SRC=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/lw-it-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
cfg=$SRC/tests/data/e2e.yaml
fail() { echo "FAIL: $*" >&2; exit 1; }

python3 "$SRC/tests/gen_events.py" events.jsonl expected.csv summary.json 30 2000

"$LW" check-config -c "$cfg" >check.out || fail "check-config exit $?"
grep -q "listening_ms" check.out || fail "check-config did not print the tree"

"$LW" ingest -c "$cfg" --rejects rejects.jsonl events.jsonl >ingest.out
cat ingest.out
python3 - "$work" <<'PY'
import json, re, sys
w = sys.argv[1]
s = json.load(open(w + "/summary.json"))
out = open(w + "/ingest.out").read()
def num(label):
    m = re.search(r"^\s+%s\s+(\d+)$" % label, out, re.M)
    assert m, "no %s line in ingest output" % label
    return int(m.group(1))
assert num("accepted") == s["accepted"], (num("accepted"), s["accepted"])
assert num("late") == s["late"], (num("late"), s["late"])
for reason, n in s["rejected"].items():
    assert num(reason) == n, (reason, num(reason), n)
rej = open(w + "/rejects.jsonl").read().count("\n")
assert rej == sum(s["rejected"].values()) + s["late"], rej
print("ingest summary matches:", s["accepted"], "accepted,", s["late"], "late,",
      sum(s["rejected"].values()), "rejected")
PY

check_export() {
  "$LW" export -c "$cfg" --format csv >export.csv
  "$LW" export -c "$cfg" --format json >export_est.json
  python3 - "$work" <<'PY'
import csv, json, re, sys
w = sys.argv[1]
exp = {r["period"]: r for r in csv.DictReader(open(w + "/expected.csv"))}
got = {r["period"]: r for r in csv.DictReader(open(w + "/export.csv"))}
# the JSON export keeps the distinct estimate unrounded, with its error bound
js = json.load(open(w + "/export_est.json"))
est = {r["period"][:10]: r["active_users"] for r in js["rows"]}
assert js["distinct_relative_error"] == {"active_users": 0.008125}, js["distinct_relative_error"]
assert list(csv.reader(open(w + "/export.csv")))[0] == ["period", "plays", "listening_ms",
    "active_users", "ios_sessions", "revenue", "purchases", "ms_per_user", "avg_order"]
assert set(exp) == set(got), (sorted(set(exp) ^ set(got)))
worst = 0.0
for p, e in exp.items():
    g = got[p]
    for k in ("plays", "listening_ms", "ios_sessions", "purchases"):
        assert int(float(g[k])) == int(e[k]) and float(g[k]) == int(e[k]), (p, k, g[k], e[k])
    # cents add up exactly and print without binary noise (1358.42, never 1358.4200000000012)
    assert float(g["revenue"]) == float(e["revenue"]), (p, g["revenue"], e["revenue"])
    assert re.fullmatch(r"-?[0-9]+(\.[0-9]{1,2})?", g["revenue"]), (p, g["revenue"])
    # distinct users are whole numbers in CSV: the JSON estimate, rounded
    assert re.fullmatch(r"[0-9]+", g["active_users"]), (p, g["active_users"])
    u = est[p[:10]]
    assert int(g["active_users"]) == int(u + 0.5), (p, g["active_users"], u)
    err = abs(u - int(e["active_users"])) / int(e["active_users"])
    worst = max(worst, err)
    assert err <= 0.02, (p, u, e["active_users"])
    r = float(g["listening_ms"]) / u
    assert abs(float(g["ms_per_user"]) - r) <= 1e-9 * r, (p, g["ms_per_user"], r)
    if int(e["purchases"]):
        m = float(e["revenue"]) / int(e["purchases"])
        assert abs(float(g["avg_order"]) - m) < 1e-9, (p, g["avg_order"], m)
    else:
        assert g["avg_order"] == "", (p, g["avg_order"])
print("export matches %d days exactly (distinct users worst error %.2f%%)" % (len(exp), worst * 100))
PY
}
check_export

# JSON: provisional flags: the last day(s) within grace of the watermark
"$LW" export -c "$cfg" --format json >export.json
python3 - "$work" <<'PY'
import json, sys
d = json.load(open(sys.argv[1] + "/export.json"))
rows = d["rows"]
assert len(rows) == 30 and d["metrics"][0] == "plays"
prov = [r["period"] for r in rows if r["provisional"]]
# watermark is on the last day; grace 2d keeps the last 3 days open
assert prov == [r["period"] for r in rows[-3:]], prov
assert not any(r["gap"] for r in rows)
print("json export: provisional =", prov)
PY

# re-ingesting the same file counts nothing again
"$LW" ingest -c "$cfg" events.jsonl >ingest2.out
grep -q "^read 0 events" ingest2.out || { cat ingest2.out; fail "re-ingest read events again"; }
check_export

# stdin goes through the same pipeline (into a fresh store)
"$LW" ingest -c "$cfg" --store stdin.db - <events.jsonl >stdin.out
grep -q "accepted" stdin.out || fail "stdin ingest printed no summary"
"$LW" export -c "$cfg" --store stdin.db >stdin.csv
cmp -s stdin.csv export.csv || fail "stdin ingest differs from file ingest"

# a matching event without a number for a sum is not counted, and is reported
printf '%s\n' '{"event":"track_played","userId":"a","timestamp":"2026-01-05T10:00:00Z","properties":{"duration_ms":"12"}}' \
  '{"event":"track_played","userId":"b","timestamp":"2026-01-05T10:00:00Z","properties":{"duration_ms":12}}' >mv.jsonl
"$LW" ingest -c "$cfg" --store mv.db mv.jsonl >mv.out
grep -Eq '^ +listening_ms +1$' mv.out || { cat mv.out; fail "missing value not reported"; }
[ "$("$LW" export -c "$cfg" --store mv.db --metrics plays,listening_ms | tail -1)" = "2026-01-05T00:00:00Z,2,12" ] \
  || fail "missing value counted: $("$LW" export -c "$cfg" --store mv.db | tail -1)"

# export filters
"$LW" export -c "$cfg" --metrics revenue,plays --from 2026-01-10 --to 2026-01-12 >f.csv
[ "$(head -1 f.csv)" = "period,revenue,plays" ] || fail "--metrics order: $(head -1 f.csv)"
[ "$(wc -l <f.csv)" -eq 4 ] || fail "--from/--to should give 3 rows: $(cat f.csv)"
grep -q '^2026-01-12T00:00:00Z,' f.csv || fail "--to is inclusive"

# exit codes and messages
set +e
"$LW" --help >/dev/null; [ $? -eq 0 ] || fail "--help exit"
"$LW" ingest --help | grep -q -- "--rejects" || fail "ingest --help"
"$LW" --version | grep -q "^leadwatch " || fail "--version"
"$LW" frobnicate 2>/dev/null; [ $? -eq 2 ] || fail "unknown command should exit 2"
"$LW" export -c "$cfg" --format xml 2>/dev/null; [ $? -eq 2 ] || fail "bad --format should exit 2"
"$LW" export -c "$cfg" --metrics nope 2>/dev/null; [ $? -eq 2 ] || fail "unknown metric should exit 2"
printf 'source: {format: segment}\nbuckets: {size: 2d}\n' >bad.yaml
"$LW" check-config -c bad.yaml 2>err.txt; rc=$?
[ $rc -eq 2 ] || fail "bad config exit $rc"
grep -q '^bad.yaml:2: ' err.txt || fail "bad config message lacks file:line: $(cat err.txt)"
"$LW" ingest -c "$cfg" /nonexistent.jsonl >/dev/null 2>err.txt; rc=$?
[ $rc -eq 1 ] || fail "missing input exit $rc"
grep -q "nonexistent.jsonl" err.txt || fail "missing input message: $(cat err.txt)"
"$LW" ingest -c missing.yaml x 2>/dev/null; [ $? -eq 2 ] || fail "missing config should exit 2"
set -e
echo "it_ingest_export: all checks passed"
