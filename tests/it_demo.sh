#!/usr/bin/env bash
# The README's main command, shortened: scripts/demo (embedded Kafka, the
# simulator producing while the daemon consumes, export, analyze, report)
# on 90 simulated days.  Checks that every produced event was consumed (the
# demo script compares the counts), none late or rejected, the verdict
# table, and that the report path printed at the end exists.
set -euo pipefail
LW=${1:?usage: it_demo.sh path/to/leadwatch}
SRC=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/lw-it-demo-XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

DEMO_LW="$LW" DEMO_OUT="$work/out" DEMO_DAYS=90 DEMO_RATE=150000 \
  bash "$SRC/scripts/demo" >"$work/demo.txt" 2>&1 || { cat "$work/demo.txt"; fail "demo exit $?"; }
cat "$work/demo.txt"
grep -Eq '^ +late +0$' "$work/demo.txt" || fail "late events in the demo"
grep -Eq '^ +rejected +0$' "$work/demo.txt" || fail "rejected events in the demo"
# 90 days is short for the stability checks: require the table and at least
# two true leads (active users and sessions per user lead at lags 1 and 2)
[ "$(grep -Ec -- '-> (listening_minutes|revenue) +(leads|reverse|feedback|inconclusive|insufficient_data) ' "$work/demo.txt")" -eq 5 ] \
  || fail "the verdict table does not have its 5 edges"
[ "$(grep -Ec -- '-> listening_minutes +leads ' "$work/demo.txt")" -ge 2 ] || fail "fewer than 2 inputs lead"
report=$(tail -2 "$work/demo.txt" | head -1 | sed 's/^ *//')
[ -s "$report" ] || fail "report '$report' missing"
echo "it_demo: all checks passed"
