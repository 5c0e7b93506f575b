#!/usr/bin/env python3
"""exp_reference.py - the experiment aggregates of issue 16 recomputed per user
from a Segment event file, compared with `leadwatch export --experiments`.

usage: exp_reference.py CONFIG EVENTS.jsonl EXPORT.csv

Reads the config's metrics, tree and experiments.exposures (event sources
only), replays the events in file order with the rules of
src/ingest/exposure.c written out plainly (a user's first exposure to an
experiment fixes its variant and time; an event counts for an assignment
when exposure <= time < exposure + window; distinct metrics count a user
once per window; the user bucket is XXH3-64(user id) mod buckets, through
libxxhash), and checks that every row of the export equals the reference:
users exactly, num and den to a relative 1e-9.  Prints a summary line; exits
1 on any difference.
"""
import csv
import ctypes
import json
import re
import sys
from collections import defaultdict
from datetime import datetime, timezone

import yaml

_xxh = ctypes.CDLL("libxxhash.so.0")
_xxh.XXH3_64bits.restype = ctypes.c_uint64
_xxh.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]


def xxh3(b):
    return _xxh.XXH3_64bits(b, len(b))


DUR = {"s": 1000, "m": 60000, "h": 3600000, "d": 86400000, "w": 604800000}


def duration(text, default):
    if text is None:
        return default
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d|w)", str(text))
    return int(m.group(1)) * (1 if m.group(2) == "ms" else DUR[m.group(2)])


def get_path(ev, path):
    cur = ev
    for seg in path.split("."):
        if not isinstance(cur, dict) or seg not in cur:
            return None
        cur = cur[seg]
    return cur


def parse_time(s):
    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(timezone.utc)
               .timestamp() * 1000 + 0.5) if isinstance(s, str) else None


def where_ok(where, ev):
    for path, want in (where or {}).items():
        vals = want if isinstance(want, list) else [want]
        got = ev.get("event") if path == "event" else get_path(ev, path)
        if not any(type(got) is type(v) and got == v for v in vals):
            return False
    return True


def value_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    return None  # numbers would need their JSON text; the simulator sends strings


def main():
    cfg_path, events_path, export_path = sys.argv[1:4]
    cfg = yaml.safe_load(open(cfg_path))
    ex = cfg["experiments"]
    short = duration(ex.get("short_window"), 14 * DUR["d"])
    long_ = duration(ex.get("long_window"), 56 * DUR["d"])
    wins = (short, long_)
    nb = int(ex.get("buckets", 64))
    metrics = {m["name"]: m for m in cfg["metrics"]}
    tree = cfg["tree"]
    order = [i["metric"] for i in tree["inputs"]] + [tree["nsm"]] + \
        ([tree["kpi"]] if tree.get("kpi") else [])
    tree_metrics = list(dict.fromkeys(order))
    tracked = []

    def track(name):
        m = metrics[name]
        if "ratio" in m:
            for part in m["ratio"]:
                track(part)
        elif name not in tracked:
            tracked.append(name)

    for n in tree_metrics:
        track(n)
    sources = [s for s in ex["exposures"] if "experiment" in s]

    assign = {}                 # (user hash, experiment) -> [variant, exposed, seen0, seen1]
    by_user = defaultdict(list)  # user hash -> [keys]
    users = defaultdict(float)  # (exp, var, bucket)
    num = defaultdict(float)    # (exp, var, metric, w, bucket)
    den = defaultdict(float)
    conflicts = 0
    for line in open(events_path, encoding="utf-8"):
        ev = json.loads(line)
        uid = ev.get("userId") or ev.get("anonymousId")
        t = parse_time(ev.get("timestamp"))
        if not uid or t is None or not ev.get("event"):
            continue
        h = xxh3(str(uid).encode())
        for s in sources:
            if not where_ok(s.get("where"), ev):
                continue
            e = value_text(get_path(ev, s["experiment"]))
            v = value_text(get_path(ev, s["variant"]))
            if not e or not v:
                continue
            key = (h, e)
            if key in assign:
                conflicts += assign[key][0] != v
                continue
            assign[key] = [v, t, set(), set()]
            by_user[h].append(key)
            users[(e, assign[key][0], h % nb)] += 1
        if h not in by_user:
            continue
        hits = []
        for name in tracked:
            m = metrics[name]
            if not where_ok(m.get("where"), ev):
                continue
            if "count" in m or "distinct" in m:
                if "distinct" in m and m["distinct"] != "user" and get_path(ev, m["distinct"]) is None:
                    continue
                hits.append((name, 1.0))
            else:
                x = get_path(ev, m.get("sum") or m.get("mean"))
                if isinstance(x, bool) or not isinstance(x, (int, float)):
                    continue
                hits.append((name, float(x) * float(m.get("scale", 1))))
        for key in by_user[h]:
            v, exposed, seen0, seen1 = assign[key]
            dt = t - exposed
            for w in (0, 1):
                if not 0 <= dt < wins[w]:
                    continue
                seen = (seen0, seen1)[w]
                for name, val in hits:
                    if "distinct" in metrics[name]:
                        if name in seen:
                            continue
                        seen.add(name)
                    k = (key[1], v, name, w, h % nb)
                    num[k] += val
                    den[k] += 1

    expected = {}
    variants = sorted({(e, v) for (e, v, b) in users})
    for e, v in variants:
        for name in tree_metrics:
            m = metrics[name]
            for w in (0, 1):
                for b in range(nb):
                    u = users.get((e, v, b), 0)
                    if u <= 0:
                        continue
                    if "ratio" in m:
                        n_, d_ = m["ratio"]
                        row = (u, num[(e, v, n_, w, b)], num[(e, v, d_, w, b)])
                    elif "mean" in m:
                        row = (u, num[(e, v, name, w, b)], den[(e, v, name, w, b)])
                    else:
                        row = (u, num[(e, v, name, w, b)], u)
                    expected[(e, v, name, ("short", "long")[w], b)] = row

    got = {}
    with open(export_path, newline="") as f:
        for r in csv.DictReader(f):
            got[(r["experiment"], r["variant"], r["metric"], r["window"], int(r["bucket"]))] = (
                float(r["users"]), float(r["num"]), float(r["den"]))
    bad = 0
    for k in sorted(set(expected) | set(got)):
        a, b = expected.get(k), got.get(k)
        if a is None or b is None:
            bad += 1
            if bad <= 5:
                print(f"row {k}: expected {a}, exported {b}")
            continue
        ok = a[0] == b[0] and all(abs(x - y) <= 1e-9 * max(1.0, abs(x)) for x, y in zip(a[1:], b[1:]))
        if not ok:
            bad += 1
            if bad <= 5:
                print(f"row {k}: expected {a}, exported {b}")
    print(f"{len(expected)} reference rows, {len(got)} exported, {bad} differ; "
          f"{len(assign)} assignments, {conflicts} conflicting exposures")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
