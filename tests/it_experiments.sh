#!/usr/bin/env bash
# `leadwatch experiments` end to end with the real binary (issue 16):
#   1. the committed reference aggregates (tests/data/stats_refs_exp/exp.csv) as
#      JSON: the document parses, its effects equal the per-user reference of
#      scripts/gen_stats_refs_exp.py (exp.txt) to 1e-9, SRM flags e06 only;
#   2. text and markdown print every edge; the same input and seed give the same
#      bytes; --help exits 0;
#   3. errors: a malformed CSV line is exit 2 with file:line; a missing file exit 1;
#      no --aggregates and a store without experiment data exit 1 with a message
#      (never a made-up result); bad options exit 2.
set -euo pipefail
LW=${1:?usage: it_experiments.sh path/to/leadwatch}
SRC=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
CSV=$SRC/tests/data/stats_refs_exp/exp.csv
work=$(mktemp -d "${TMPDIR:-/tmp}/lw-experiments-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
roles=(--nsm m3 --kpi m4 --inputs m0,m1,m2)

"$LW" experiments --aggregates "$CSV" "${roles[@]}" --weight e04,control,2 --format json >out.json
python3 - out.json "$SRC/tests/data/stats_refs_exp/exp.txt" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
ref = [l.split() for l in open(sys.argv[2]) if l[0] != "#"]
met = ["m0", "m1", "m2", "m3", "m4"]
exps = doc["experiments"]
assert len(exps) == 8, len(exps)
n = 0
for r in ref:
    if r[0] != "eff":
        continue
    e, v, m = int(float(r[1])), int(float(r[2])), int(float(r[3]))
    arm = [a for a in exps[e]["arms"] if a["variant"] == exps[e]["variants"][v]["variant"]][0]
    eff = [x for x in arm["effects"] if x["metric"] == met[m]][0]
    for k, i in (("rel", 5), ("se", 6)):
        want = float(r[i])
        assert abs(eff[k] - want) <= 1e-9 * abs(want), (e, v, m, k, eff[k], want)
    n += 1
assert n >= 40, n
srm = {x["experiment"]: x["srm"] for x in exps}
flagged = sorted(k for k, s in srm.items() if s["mismatch"])
assert flagged == ["e06"], flagged
for r in ref:
    if r[0] == "srm":
        e = int(float(r[1]))
        s = srm["e%02d" % e]
        assert abs(s["chi2"] - float(r[2])) <= 1e-9 * float(r[2]), (e, s, r)
edges = [(x["from"], x["to"]) for x in doc["edges"]]
assert edges == [("m0", "m3"), ("m1", "m3"), ("m2", "m3"), ("m3", "m4")], edges
assert all(x["verdict"] == "not_enough" for x in doc["edges"])  # 8 comparisons < 10
assert len(doc["edges"][0]["points"]) == 8  # e06 left out (SRM p < 0.001)
assert doc["edges"][0]["n_srm_excluded"] == 1
PY

"$LW" experiments --aggregates "$CSV" "${roles[@]}" --min-experiments 5 >a.txt
"$LW" experiments --aggregates "$CSV" "${roles[@]}" --min-experiments 5 >b.txt
cmp -s a.txt b.txt || fail "same input and seed, different output"
grep -q '^  m0 -> m3: ' a.txt || fail "text lacks the m0 -> m3 edge"
grep -q 'SAMPLE RATIO MISMATCH' a.txt || fail "text lacks the SRM flag of e06"
"$LW" experiments --aggregates "$CSV" "${roles[@]}" --format markdown >m.md
grep -q '^| m3 -> m4 | \*\*' m.md || fail "markdown lacks the NSM -> KPI row"
"$LW" experiments --help | grep -q -- '--aggregates FILE' || fail "--help"

expect() { # CODE MESSAGE-PART ARGS...
  local code=$1 msg=$2 rc=0
  shift 2
  "$LW" experiments "$@" >/dev/null 2>err.txt || rc=$?
  [ "$rc" = "$code" ] || fail "$* exited $rc, expected $code: $(cat err.txt)"
  grep -q -- "$msg" err.txt || fail "$*: message lacks '$msg': $(cat err.txt)"
}
{ head -3 "$CSV"; echo 'e00,control,m0,medium,3,1,1,1'; } >bad.csv
expect 2 "bad.csv:4: window" --aggregates bad.csv "${roles[@]}"
echo 'experiment,variant' >hdr.csv
expect 2 "hdr.csv:1: expected the header" --aggregates hdr.csv "${roles[@]}"
expect 1 "missing.csv" --aggregates missing.csv "${roles[@]}"
cat >lw.yaml <<'YAML'
store:
  path: lw.db
metrics:
  - {name: plays, count: true, where: {event: play}}
  - {name: listeners, distinct: user, where: {event: play}}
tree:
  nsm: listeners
  inputs:
    - {metric: plays, kind: depth}
YAML
expect 1 "the config has no experiments: section" -c lw.yaml
expect 2 "--format" --aggregates "$CSV" "${roles[@]}" --format xml
expect 2 "alpha must be" --aggregates "$CSV" "${roles[@]}" --alpha 0.9
expect 2 "--nsm and --inputs" --aggregates "$CSV" --nsm m3
expect 2 "no variant nope in experiment e00" --aggregates "$CSV" "${roles[@]}" --control e00,nope
echo "it_experiments: ok"
