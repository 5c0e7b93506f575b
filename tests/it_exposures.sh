#!/usr/bin/env bash
# it_exposures.sh - issue 16, the ingest side: the experiment aggregates
# the store holds equal a per-user reference, exactly once.
#   1. `simulate --experiments 6` (Segment `Experiment Viewed`), ingested
#      with config/leadwatch.yaml's experiments: section: every row of
#      `export --experiments` equals tests/exp_reference.py's per-user
#      recomputation from the event file (users exactly, sums to 1e-9);
#      ingesting the file again changes nothing; exposures of assigned users
#      to the other variant (appended) are counted as conflicts, not used;
#   2. kill -9 of ingest mid-run, several times, then a resume: the rows
#      still equal the reference (assignments, cells, counters and the file
#      position commit in one transaction), and the assignment counter
#      equals the rows of exp_assign;
#   3. experiments.max_users: 500 keeps 500 assignments, counts the rest as
#      experiments.dropped and logs it once;
#   4. the same into PostgreSQL (tests/lib_pg.sh): the reference again.
# Usage: $0 path/to/leadwatch
set -euo pipefail
LW=${1:?usage: $0 path/to/leadwatch}
LW=$(cd "$(dirname "$LW")" && pwd)/$(basename "$LW")
SRC=${LW_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/lw-it-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.err; do [ -s "$f" ] && { echo "--- $f" >&2; tail -n 5 "$f" >&2; }; done; exit 1; }
ref() { python3 "$SRC/tests/exp_reference.py" "$1" events.jsonl "$2"; }

"$LW" simulate --days 80 --scale 0.1 --experiments 6 --seed 5 >events.jsonl 2>sim.err
lines=$(wc -l <events.jsonl)
exposures=$(grep -c '"Experiment Viewed"' events.jsonl)
[ "$exposures" -gt 1000 ] || fail "only $exposures exposures in $lines lines"
# 5 conflicting exposures: assigned users seen again in the other variant a day later
python3 - <<'PY'
import json
lines = open("events.jsonl").read().splitlines()
seen, extra = set(), []
for l in lines:
    e = json.loads(l)
    if e["event"] == "Experiment Viewed" and len(extra) < 5 and e["userId" if "userId" in e else "anonymousId"] not in seen:
        seen.add(e.get("userId") or e.get("anonymousId"))
        p = e["properties"]
        p["variation_id"] = "control" if p["variation_id"] == "treatment" else "treatment"
        e["timestamp"] = e["timestamp"].replace("2024-01-0", "2024-01-1")
        e["messageId"] = "conflict-%d" % len(extra)
        extra.append(json.dumps(e, separators=(",", ":")))
open("events.jsonl", "a").write("\n".join(extra) + "\n")
PY
sed -e 's/^  path: leadwatch.db/  path: full.db/' "$SRC/config/leadwatch.yaml" >full.yaml
grep -q "path: full.db" full.yaml || fail "full.yaml: no store path"

# 1. one ingest, the reference, a second ingest
"$LW" ingest -c full.yaml events.jsonl >full.out 2>full.err || fail "ingest exit $?"
"$LW" export -c full.yaml --experiments >full.csv
[ "$(wc -l <full.csv)" -gt 1000 ] || fail "short export: $(wc -l <full.csv) lines"
ref full.yaml full.csv >full.ref || { cat full.ref; fail "aggregates differ from the per-user reference"; }
cat full.ref
conflicts=$(python3 -c 'import sqlite3; print(sqlite3.connect("full.db").execute("SELECT value FROM counters WHERE name = '"'experiments.conflicts'"'").fetchone()[0])')
grep -q ", $conflicts conflicting exposures" full.ref || fail "experiments.conflicts $conflicts, the reference says otherwise"
[ "$conflicts" -ge 3 ] || fail "only $conflicts conflicting exposures counted"
"$LW" ingest -c full.yaml events.jsonl >again.out 2>again.err || fail "re-ingest exit $?"
"$LW" export -c full.yaml --experiments >again.csv
cmp full.csv again.csv || fail "a second ingest of the same file changed the aggregates"
echo "1. $lines events, $exposures exposures: aggregates equal the reference; re-ingest adds nothing"

# 2. kill -9 mid-ingest (a flush every 500 events), then resume
sed -e 's/^  path: full.db/  path: kill.db/' -e 's/^  flush_events: .*/  flush_events: 500/' \
  full.yaml >kill.yaml
grep -q "flush_events: 500" kill.yaml || fail "kill.yaml: no flush_events"
killed=0
# Each round resumes where the last one was killed, so later rounds have less
# left to do: kill early (50-200 ms) and stop at the first round that finished.
for round in 1 2 3 4 5 6; do
  "$LW" ingest -c kill.yaml events.jsonl >kill$round.out 2>kill$round.err & pid=$!
  sleep "0.$(printf %02d $((RANDOM % 15 + 5)))"
  if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); else round=done; fi
  wait "$pid" 2>/dev/null || true
  [ "$round" != done ] || break
done
[ $killed -ge 2 ] || fail "only $killed ingests were still running when killed"
resumed=$(cat kill*.err | grep -c "resuming at byte" || true)
[ "$resumed" -ge 1 ] || fail "the killed runs committed nothing to resume from"
"$LW" ingest -c kill.yaml events.jsonl >resume.out 2>resume.err || fail "resume exit $?"
"$LW" export -c kill.yaml --experiments >kill.csv
ref kill.yaml kill.csv || fail "aggregates after kill -9 and resume differ from the reference"
python3 - <<'PY' || fail "assignment counter and rows disagree"
import sqlite3, struct
for db in ("full.db", "kill.db"):
    c = sqlite3.connect(db)
    rows = c.execute("SELECT count(*) FROM exp_assign").fetchone()[0]
    counted = c.execute("SELECT value FROM counters WHERE name = 'experiments.assigned'").fetchone()[0]
    # the users vectors: little-endian doubles, one per user bucket
    users = sum(sum(struct.unpack("<%dd" % (len(v) // 8), v))
                for (v,) in c.execute("SELECT num FROM exp_cells WHERE metric = ''"))
    assert rows == counted == users, (db, rows, counted, users)
print("   exp_assign rows = experiments.assigned = users in the cells =", rows)
PY
echo "2. $killed ingests killed with -9 mid-run, then resumed: aggregates equal the reference"

# 3. the bound on assignments
sed -e 's/^  path: full.db/  path: small.db/' -e 's/^  max_users: .*/  max_users: 500/' \
  full.yaml >small.yaml
"$LW" ingest -c small.yaml events.jsonl >small.out 2>small.err || fail "bounded ingest exit $?"
python3 - <<'PY' || fail "max_users not kept"
import sqlite3
c = sqlite3.connect("small.db")
rows = c.execute("SELECT count(*) FROM exp_assign").fetchone()[0]
dropped = c.execute("SELECT value FROM counters WHERE name = 'experiments.dropped'").fetchone()[0]
assert rows == 500 and dropped > 0, (rows, dropped)
print("   500 assignments kept,", dropped, "exposures dropped")
PY
[ "$(grep -c "experiments.max_users reached" small.err)" = 1 ] || fail "the drop is not logged once"
echo "3. max_users bounds the assignments; the rest are counted"

# 4. PostgreSQL
# shellcheck source=tests/lib_pg.sh
. "$SRC/tests/lib_pg.sh"
pg_start
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$PG_URL" -c "CREATE DATABASE lwt_exp"
url=$(pg_url lwt_exp)
sed -e "s|^  path: full.db|  url: '${url//&/\\&}'|" -e 's/^  flush_events: .*/  flush_events: 20000/' \
  full.yaml >pg.yaml
"$LW" ingest -c pg.yaml events.jsonl >pg.out 2>pg.err || fail "postgresql ingest exit $?"
"$LW" export -c pg.yaml --experiments >pg.csv 2>pg-export.err || fail "postgresql export exit $?"
ref pg.yaml pg.csv || fail "PostgreSQL aggregates differ from the reference"
echo "4. PostgreSQL: aggregates equal the reference"

# 5. `leadwatch experiments` reads the store (lw_exp_load) exactly as it reads the
#    exported CSV of the same store: the same JSON, from SQLite and from PostgreSQL
"$LW" experiments -c full.yaml --format json >from-store.json || fail "experiments -c exit $?"
"$LW" experiments -c full.yaml --aggregates full.csv --format json >from-csv.json ||
  fail "experiments --aggregates exit $?"
cmp -s from-store.json from-csv.json || fail "experiments from the store differ from its CSV export"
"$LW" experiments -c pg.yaml --format json >from-pg.json || fail "experiments on PostgreSQL exit $?"
# (PostgreSQL flushed every 20000 events, SQLite every flush_events: the sums
# add in another order, so the last bits may differ: compare to 1e-9)
python3 - from-store.json from-pg.json <<'PY' || fail "experiments from PostgreSQL differ from SQLite"
import json, math, sys
def same(a, b, path="$"):
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            sys.exit(f"{path}: {a} vs {b}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a: same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)): same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"
same(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))
PY
python3 - from-store.json <<'PY' || fail "the store's experiments JSON lacks the simulated experiments"
import json, sys
d = json.load(open(sys.argv[1]))
names = sorted(e["experiment"] for e in d["experiments"])
assert len(names) == 6 and all(n.startswith("exp_") for n in names), names
PY
echo "5. experiments: store, CSV export and PostgreSQL give the same analysis"
