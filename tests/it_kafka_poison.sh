#!/usr/bin/env bash
# Poison messages interleaved with good ones: every good event is counted
# (the series equal the reference), every poison message is counted by its
# reason (run summary and the store's rejected.* counters), their offsets
# still advance (the store ends at each partition's end), and each one is
# copied to the dead-letter topic.
set -uo pipefail
source "$(dirname "$0")/lib_kafka.sh"

SIM=(--days 2 --seed 61)
reference "${SIM[@]}"
python3 - <<'PY'
import json
good = open("ref.jsonl").read().splitlines()
poison = [("invalid_json", '{"event": "track_played", "userId": "x"'),
          ("not_object", '["track_played"]'),
          ("empty", ""),
          ("empty", "<NULL>"),
          ("empty", "null"),
          ("missing_user", '{"event":"track_played","timestamp":"2024-01-02T00:00:00Z"}'),
          ("missing_time", '{"event":"track_played","userId":"x"}'),
          ("bad_time", '{"event":"x","userId":"x","timestamp":"yesterday"}'),
          ("time_too_old", '{"event":"x","userId":"x","timestamp":"1999-12-31T23:59:59Z"}'),
          ("missing_event", '{"userId":"x","timestamp":"2024-01-02T00:00:00Z"}')]
out, counts = [], {}
step = len(good) // (len(poison) * 7)
k = 0
for i, line in enumerate(good):
    if i % step == 0:
        reason, text = poison[k % len(poison)]
        out.append(text)
        counts[reason] = counts.get(reason, 0) + 1
        k += 1
    out.append(line)
open("mixed.txt", "w").write("\n".join(out) + "\n")
json.dump(counts, open("poison.json", "w"))
print("poison messages:", counts)
PY
mock_start --topic events --topic dlq --partitions 8
mock_cmd produce events "$work/mixed.txt" >/dev/null
mock_cmd watermarks events >wm0.txt
total=$(wc -l <mixed.txt)
write_config k.yaml k.db
# shellcheck disable=SC2046
"$LW" run -c k.yaml $(kafka_opts psn) --topic events --dead-letter-topic dlq --exit-when-idle 1 \
  >run.out 2>run.err || fail "run exit $?"
cat run.out
grep -q "^consumed $total messages" run.out || fail "not every message was consumed"
for r in invalid_json not_object empty missing_user missing_time bad_time time_too_old missing_event; do
  sqlite3 -readonly k.db "SELECT value FROM counters WHERE name = 'rejected.$r'" >"$r.cnt"
done
python3 - <<'PY' || fail "poison counts"
import json, re
exp = json.load(open("poison.json"))
out = open("run.out").read()
for reason, n in exp.items():
    m = re.search(r"^\s+%s\s+(\d+)$" % reason, out, re.M)
    assert m and int(m.group(1)) == n, (reason, m and m.group(1), n)
    stored = int(open(reason + ".cnt").read() or 0)
    assert stored == n, ("store counter", reason, stored, n)
total = sum(exp.values())
m = re.search(r"^\s+rejected\s+(\d+)$", out, re.M)
assert int(m.group(1)) == total, (m.group(1), total)
m = re.search(r"^\s+dead-lettered\s+(\d+)$", out, re.M)
assert m and int(m.group(1)) == total, "dead-lettered count"
print("every poison message counted by reason:", total)
PY
same_series k.yaml k.db
mock_cmd watermarks events >wm.txt
awk '{print $1, $3}' wm.txt | sort -n >ends.txt
store_positions k.db events | sort -n | cmp -s - ends.txt || fail "offsets did not advance past poison"
mock_cmd watermarks dlq >dlq.txt
dl=$(awk '{s += $3 - $2} END {print s}' dlq.txt)
[ "$dl" -eq "$(python3 -c 'import json; print(sum(json.load(open("poison.json")).values()))')" ] \
  || fail "dead-letter topic holds $dl messages"
echo "it_kafka_poison: all checks passed"
