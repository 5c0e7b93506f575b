#!/usr/bin/env bash
# it_exp_report.sh - issue 16 end to end: the experiments verdict of every
# edge reaches `analyze` and `report` from the same store.
#   1. `simulate --experiments 12`, ingested with config/leadwatch.yaml
#      (its experiments: section): `analyze --format json` carries per edge
#      an "experiments" object equal to the edge of `experiments --format
#      json` without its points (verdict, n, sensitivity, agreement, slope,
#      interval, reason); the text and Markdown carry one "experiments:"
#      line per edge; report.json carries the whole experiments document and
#      the same per-edge objects, report.html one scatter figure per edge
#      with the verdict, report.md the "## Experiments" tables.
#   2. the same events without the exposures (a store without experiment
#      aggregates): no "experiments" key in analyze's JSON or report.json,
#      no section in report.html / report.md (nothing else changes).
# Usage: $0 path/to/leadwatch
set -euo pipefail
LW=${1:?usage: $0 path/to/leadwatch}
LW=$(cd "$(dirname "$LW")" && pwd)/$(basename "$LW")
SRC=${LW_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/lw-it-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.err; do [ -s "$f" ] && { echo "--- $f" >&2; tail -n 5 "$f" >&2; }; done; exit 1; }

"$LW" simulate --days 100 --scale 0.1 --experiments 12 --seed 4 >events.jsonl 2>sim.err
grep -q '"Experiment Viewed"' events.jsonl || fail "no exposures simulated"
grep -v '"Experiment Viewed"' events.jsonl >plain.jsonl
for s in exp plain; do
  sed -e "s/^  path: leadwatch.db/  path: $s.db/" "$SRC/config/leadwatch.yaml" >$s.yaml
  grep -q "path: $s.db" $s.yaml || fail "$s.yaml: no store path"
done
"$LW" ingest -c exp.yaml events.jsonl >ingest.out 2>ingest.err || fail "ingest exit $?"
"$LW" ingest -c plain.yaml plain.jsonl >plain-ingest.out 2>plain-ingest.err || fail "ingest exit $?"

# 1. with experiments
"$LW" experiments -c exp.yaml --format json >exp.json 2>exp.err || fail "experiments exit $?"
"$LW" analyze -c exp.yaml --format json >analyze.json 2>analyze.err || fail "analyze exit $?"
"$LW" analyze -c exp.yaml >analyze.txt 2>analyze-text.err || fail "analyze text exit $?"
"$LW" analyze -c exp.yaml --format md >analyze.md 2>analyze-md.err || fail "analyze md exit $?"
"$LW" report -c exp.yaml -o rep >report.out 2>report.err || fail "report exit $?"
python3 - <<'PY' || fail "the experiments verdicts differ between experiments, analyze and report"
import json, re
x = json.load(open("exp.json"))
want = {(e["from"], e["to"]): {k: v for k, v in e.items() if k != "points"} for e in x["edges"]}
a = json.load(open("analyze.json"))
r = json.load(open("rep/report.json"))
assert len(x["experiments"]) == 12, len(x["experiments"])
assert r["experiments"] == x, "report.json's experiments document differs"
verdicts = {}
for doc, name in ((a, "analyze"), (r["analysis"], "report.json analysis")):
    assert len(doc["edges"]) == len(want), (name, len(doc["edges"]))
    for e in doc["edges"]:
        got = e["experiments"]
        assert got == want[(e["from"], e["to"])], (name, e["from"], got)
        verdicts[(e["from"], e["to"])] = got["verdict"]
text = open("analyze.txt").read()
md = open("analyze.md").read()
html = open("rep/report.html").read()
rmd = open("rep/report.md").read()
assert text.count("\n  experiments: ") == len(want), "analyze text: one line per edge"
assert md.count("\n- experiments: **") == len(want), "analyze md: one line per edge"
figs = re.findall(r'<figure class="lw-exp" data-from="([^"]*)" data-to="([^"]*)" '
                  r'data-verdict="([^"]*)" data-n="(\d+)"', html)
assert len(figs) == len(want), figs
for f, t, v, n in figs:
    assert v == verdicts[(f, t)] and int(n) == want[(f, t)]["n"], (f, t, v, n)
assert html.count('class="lw-chart lw-chart-scatter"') == len(want)
assert "## Experiments\n" in rmd and rmd.count("\n### ") >= len(want)
print("1. " + ", ".join(f"{f}->{t} {v}" for (f, t), v in sorted(verdicts.items())))
PY

# 2. without experiment aggregates: the field and the section are absent
"$LW" analyze -c plain.yaml --format json >plain.json 2>plain-analyze.err || fail "analyze exit $?"
"$LW" report -c plain.yaml -o prep >preport.out 2>preport.err || fail "report exit $?"
! grep -q '"experiments"' plain.json || fail "analyze JSON has experiments without any"
! grep -q '"experiments"' prep/report.json || fail "report.json has experiments without any"
! grep -q 'id="experiments"' prep/report.html || fail "report.html has the section without experiments"
! grep -q '## Experiments' prep/report.md || fail "report.md has the section without experiments"
echo "2. without experiments: no field, no section"
