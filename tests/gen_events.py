#!/usr/bin/env python3
"""Deterministic Segment-format event file with exactly known per-day totals.

Writes EVENTS (JSONL, in delivery order) and EXPECTED (CSV: one row per day
with the exact value of every metric of tests/data/e2e.yaml), plus a JSON
summary of how many lines are good, rejected (by reason) and late.

Delivery: mostly in time order with jitter of up to 6 hours, so events
arrive out of order inside the grace period (2d); a known number of events
arrive after their bucket closed (late) and a known number of malformed
lines are interleaved.  Only the standard library is used.
"""
import json
import random
import sys
from datetime import datetime, timedelta, timezone

def main():
    events_path, expected_path, summary_path = sys.argv[1:4]
    days = int(sys.argv[4]) if len(sys.argv) > 4 else 30
    per_day = int(sys.argv[5]) if len(sys.argv) > 5 else 2000
    rng = random.Random(20261123)
    start = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a Monday
    rows = []
    stream = []  # (delivery_key, line)
    for d in range(days):
        day0 = start + timedelta(days=d)
        exp = {"plays": 0, "minutes_ms": 0, "ios_sessions": 0, "revenue_cents": 0,
               "purchases": 0, "users": set()}
        n = per_day + rng.randrange(-per_day // 4, per_day // 4)
        for _ in range(n):
            t = day0 + timedelta(milliseconds=rng.randrange(86_400_000))
            user = "u%05d" % rng.randrange(per_day * 2)
            kind = rng.random()
            props = {}
            if kind < 0.6:
                ev = "track_played"
                props["duration_ms"] = rng.randrange(1000, 400_000)
                exp["plays"] += 1
                exp["minutes_ms"] += props["duration_ms"]
                exp["users"].add(user)
            elif kind < 0.85:
                ev = "session_start"
                props["platform"] = rng.choice(["ios", "android", "web"])
                if props["platform"] == "ios":
                    exp["ios_sessions"] += 1
                exp["users"].add(user)
            elif kind < 0.95:
                ev = "search"
                props["query"] = "q\u00e9\\\"%d" % rng.randrange(100)  # escapes and UTF-8
            else:
                ev = "purchase"
                cents = rng.randrange(99, 2000)
                props["revenue"] = cents / 100
                exp["revenue_cents"] += cents
                exp["purchases"] += 1
            rec = {"type": "track", "event": ev, "timestamp": t.strftime("%Y-%m-%dT%H:%M:%S.")
                   + "%03dZ" % (t.microsecond // 1000), "properties": props}
            if rng.random() < 0.05:
                rec["anonymousId"] = user
            else:
                rec["userId"] = user
            jitter = timedelta(minutes=rng.randrange(0, 360))
            stream.append((t + jitter, json.dumps(rec, ensure_ascii=False)))
        rows.append((day0, exp))
    stream.sort(key=lambda x: x[0])
    lines = [l for _, l in stream]

    # malformed lines, interleaved at fixed positions
    bad = [("invalid_json", '{"event": "track_played", "userId": "x"'),
           ("not_object", '["track_played"]'),
           ("missing_time", '{"event":"track_played","userId":"x"}'),
           ("bad_time", '{"event":"track_played","userId":"x","timestamp":"yesterday"}'),
           ("missing_user", '{"event":"track_played","timestamp":"2026-01-06T00:00:00Z"}'),
           ("time_too_old", '{"event":"x","userId":"x","timestamp":"1999-12-31T23:59:59Z"}'),
           ("bad_number", '{"event":"x","userId":"x","timestamp":"2026-01-06T00:00:00Z","v":NaN}'),
           ("empty", "")]
    rejected = {}
    for i, (reason, text) in enumerate(bad * 5):
        pos = (i + 1) * len(lines) // 41
        lines.insert(pos, text)
        rejected[reason] = rejected.get(reason, 0) + 1

    # late events: at the very end, dated to the first day (closed long ago)
    late = 7
    for i in range(late):
        lines.append(json.dumps({"event": "track_played", "userId": "late%d" % i,
                                 "timestamp": "2026-01-05T12:00:00Z",
                                 "properties": {"duration_ms": 1000}}))

    with open(events_path, "w", encoding="utf-8") as f:
        for l in lines:
            f.write(l + "\n")
    with open(expected_path, "w") as f:
        f.write("period,plays,listening_ms,active_users,ios_sessions,revenue,purchases\n")
        for day0, e in rows:
            f.write("%s,%d,%d,%d,%d,%.2f,%d\n" % (day0.strftime("%Y-%m-%dT%H:%M:%SZ"), e["plays"],
                    e["minutes_ms"], len(e["users"]), e["ios_sessions"],
                    e["revenue_cents"] / 100, e["purchases"]))
    good = len(lines) - sum(rejected.values()) - late
    with open(summary_path, "w") as f:
        json.dump({"lines": len(lines), "accepted": good, "late": late, "rejected": rejected}, f)

if __name__ == "__main__":
    main()
