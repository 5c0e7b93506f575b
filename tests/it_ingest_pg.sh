#!/usr/bin/env bash
# it_ingest_pg.sh - `leadwatch ingest` into a PostgreSQL store gives exactly
# the series the SQLite store gives, also across kill -9.
#   1. the same event file (tests/gen_events.py: out-of-order, late and
#      malformed lines) ingested into SQLite and, through store.url and
#      store.password_file (a role that needs a password, over TCP), into
#      PostgreSQL: `leadwatch export` CSV is byte-identical, and so are the
#      ingest summaries; a second ingest of the file adds nothing;
#   2. kill -9 of ingest mid-run, several times, then a resume to the end:
#      every count, integer sum and distinct estimate is identical (every
#      flush is one transaction holding the cells and the file position),
#      and sums of fractions equal to 1e-12 (the kills move the flush
#      boundaries, so the floating-point additions group differently);
#   3. the analysts' view leadwatch_series has one row per (bucket, metric)
#      whose value equals the export for count, sum, mean and distinct
#      metrics (kinds from metric_kinds, or guessed without a row).
# Starts a throwaway PostgreSQL (tests/lib_pg.sh).  Usage: $0 path/to/leadwatch
set -euo pipefail
LW=${1:?usage: $0 path/to/leadwatch}
LW=$(cd "$(dirname "$LW")" && pwd)/$(basename "$LW")
SRC=${LW_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/lw-it-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.err; do [ -s "$f" ] && { echo "--- $f" >&2; tail -n 5 "$f" >&2; }; done; exit 1; }
# shellcheck source=tests/lib_pg.sh
. "$SRC/tests/lib_pg.sh"
pg_start
psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

python3 "$SRC/tests/gen_events.py" events.jsonl expected.csv summary.json 40 12000
lines=$(wc -l <events.jsonl)

# the e2e metrics, with small flushes so a kill lands between many of them
sed -e 's/^store: .*/store: {path: base.db, flush_events: 2000}/' "$SRC/tests/data/e2e.yaml" >sqlite.yaml
echo "$PG_PW" >pg.password
chmod 600 pg.password
sed -e "s|^store: .*|store: {url: '$PG_PW_URL', password_file: $work/pg.password, flush_events: 2000}|" \
  "$SRC/tests/data/e2e.yaml" >pg.yaml
# a second database for the kill rounds, owned by the password role
psql "$PG_URL" -c "CREATE DATABASE lwt_kill OWNER lw_pw"
# flushing every 200 events makes a whole run take several seconds, so every
# kill below (right after the round's first commit) lands mid-run
sed -e "s|/lwt_pw'|/lwt_kill'|" -e "s|flush_events: 2000|flush_events: 200|" pg.yaml >kill.yaml
grep -q "lwt_kill.*flush_events: 200}" kill.yaml || fail "kill.yaml: $(grep store: kill.yaml)"

# 1. SQLite and PostgreSQL, same input, same output
t0=$(date +%s.%N)
"$LW" ingest -c sqlite.yaml events.jsonl >sqlite.out 2>sqlite.err || fail "sqlite ingest exit $?"
t1=$(date +%s.%N)
"$LW" ingest -c pg.yaml events.jsonl >pg.out 2>pg.err || fail "postgresql ingest exit $?"
t2=$(date +%s.%N)
echo "ingest of $lines lines: SQLite $(echo "$t1 - $t0" | bc) s, PostgreSQL $(echo "$t2 - $t1" | bc) s"
grep -q "$PG_PW" pg.out pg.err && fail "the password appears in ingest's output"
diff <(grep -v '^store\|seconds\|/s' sqlite.out) <(grep -v '^store\|seconds\|/s' pg.out) ||
  fail "ingest summaries differ"
"$LW" export -c sqlite.yaml --format csv >sqlite.csv
"$LW" export -c pg.yaml --format csv >pg.csv 2>export.err || fail "postgresql export exit $?"
[ "$(wc -l <sqlite.csv)" -gt 30 ] || fail "short export: $(wc -l <sqlite.csv) lines"
cmp sqlite.csv pg.csv || { diff sqlite.csv pg.csv | head >&2; fail "exports differ"; }
"$LW" export -c sqlite.yaml --format json >sqlite.json
"$LW" export -c pg.yaml --format json >pg.json
cmp sqlite.json pg.json || fail "json exports differ"
echo "1. SQLite and PostgreSQL exports are identical ($(wc -l <pg.csv) lines)"
"$LW" ingest -c pg.yaml events.jsonl >again.out 2>again.err || fail "re-ingest exit $?"
"$LW" export -c pg.yaml --format csv >again.csv
cmp sqlite.csv again.csv || fail "a second ingest of the same file changed the series"

# 2. kill -9 mid-ingest, then resume.  Each round is killed once it has
#    committed at least one flush of its own (the stored position moved), plus
#    0-50 ms: under any machine load every killed run leaves something to
#    resume from, and with a flush every 200 events a run is still far from
#    its end (a fixed delay was too short on a loaded CI machine: no commit yet).
stored_pos() { psql -tA "$(pg_url lwt_kill)" -c "SELECT coalesce(sum(position), 0) FROM positions" 2>/dev/null || echo 0; }
killed=0
for round in 1 2 3 4 5 6; do
  before=$(stored_pos)
  "$LW" ingest -c kill.yaml events.jsonl >kill$round.out 2>kill$round.err & pid=$!
  for _ in $(seq 1 500); do # up to 10 s
    [ "$(stored_pos)" != "$before" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  sleep "0.0$((RANDOM % 6))"
  if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
  wait "$pid" 2>/dev/null || true
done
[ $killed -ge 5 ] || fail "only $killed of 6 ingests were still running when killed"
resumed=$(cat kill*.err | grep -c "resuming at byte" || true)
[ "$resumed" -ge 2 ] || fail "the killed runs committed nothing to resume from"
"$LW" ingest -c kill.yaml events.jsonl >resume.out 2>resume.err || fail "resume exit $?"
"$LW" export -c kill.yaml --format csv >kill.csv
# counts, integer sums and distinct estimates exactly; a sum of fractions
# (revenue) and what derives from it to 1e-12: floating-point addition
# follows the flush boundaries, which the kills moved (SQLite alike)
python3 - <<'PY' || fail "series differ after kill -9 and resume"
import csv
a = list(csv.DictReader(open("sqlite.csv")))
b = list(csv.DictReader(open("kill.csv")))
assert [r["period"] for r in a] == [r["period"] for r in b]
inexact = 0
for ra, rb in zip(a, b):
    for k in ra:
        if ra[k] == rb[k]:
            continue
        assert k in ("revenue", "avg_order"), (ra["period"], k, ra[k], rb[k])
        x, y = float(ra[k]), float(rb[k])
        assert abs(x - y) <= 1e-12 * abs(x), (ra["period"], k, x, y)
        inexact += 1
print("   kill/resume export: counts, integer sums and distincts identical;",
      inexact, "fractional sums equal to 1e-12")
PY
conflicts=$(psql -tA "$(pg_url lwt_kill)" -c \
  "SELECT coalesce(sum(value), 0) FROM counters WHERE name = 'store.position_conflicts'")
[ "$conflicts" = 0 ] || fail "$conflicts position conflicts after sequential runs"
echo "2. $killed ingests killed with -9 mid-run, then resumed: series exact"

# 3. the view: with metric_kinds filled, the value of each count, sum, mean
# and distinct metric equals the export; without a row, the kind is guessed
# per cell (plays: count, listening_ms: sum)
psql "$(pg_url lwt_pw)" -c "INSERT INTO metric_kinds VALUES ('purchases', 'count'),
  ('revenue', 'sum'), ('avg_order', 'mean'), ('active_users', 'distinct'), ('ios_sessions', 'count')"
psql -tA -F, "$(pg_url lwt_pw)" -c \
  "SELECT to_char(bucket_start AT TIME ZONE 'UTC', 'YYYY-MM-DD'), metric, kind, value
   FROM leadwatch_series ORDER BY bucket_ms, metric" >view.csv
python3 - <<'PY' || fail "leadwatch_series disagrees with the export"
import csv
exp = {r["period"][:10]: r for r in csv.DictReader(open("sqlite.csv"))}
view = {}
for day, metric, kind, value in csv.reader(open("view.csv")):
    view[(day, metric)] = (kind, float(value) if value else None)
want_kind = {"plays": "count", "listening_ms": "sum", "purchases": "count", "revenue": "sum",
             "avg_order": "mean", "active_users": "distinct", "ios_sessions": "count"}
n = 0
for day, r in exp.items():
    for m, kind in want_kind.items():
        if r[m] in ("", "NA", "nan") or (day, m) not in view:
            assert float(r[m] or 0) == 0, (day, m, r[m])  # no cell: the export shows 0
            continue
        got_kind, got = view[(day, m)]
        assert got_kind == kind, (day, m, got_kind, kind)
        want = float(r[m])
        assert abs(got - want) <= 1e-12 * max(1.0, abs(want)), (day, m, got, want)
        n += 1
assert n > 200, n
assert not any(m in ("ms_per_user",) for (_, m) in view), "a ratio has cells?"
print("3. leadwatch_series matches the export on", n, "(day, metric) values")
PY
