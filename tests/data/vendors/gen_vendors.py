#!/usr/bin/env python3
"""gen_vendors.py - write the vendor sample files of tests/data/vendors/ and their truth.

One latent history (8 days, 2026-11-02 .. 2026-11-09 UTC; 40 signed-in users and
their devices, 12 anonymous devices; songs played, orders completed, identify
calls) is rendered in each vendor's documented wire shape:

  segment_batch.jsonl       Segment HTTP Tracking API: /v1/batch bodies, one per
                            line ({"batch": [...], "context": {...}, "sentAt"}),
                            calls with "timestamp" (server libraries) or with
                            only "originalTimestamp" (client SDKs), identify calls
                            among the tracks; plus single /v1/track bodies
  rudderstack_events.jsonl  RudderStack (Segment-compatible) events as a collector
                            stores them: originalTimestamp + sentAt from the
                            device clock, receivedAt from the server, no
                            timestamp; some devices' clocks are a day or more
                            off; single events and /v1/batch bodies
  amplitude_export.jsonl    Amplitude Export API lines (event_time
                            "YYYY-MM-DD HH:MM:SS.ffffff", $insert_id, amplitude_id,
                            user_id null before sign-in)
  amplitude_httpv2.jsonl    Amplitude HTTP V2 request bodies {"api_key", "events"}
                            with "time" in epoch ms and insert_id
  posthog_batch.jsonl       PostHog /batch bodies {"api_key", "historical_migration",
                            "batch"} with properties.distinct_id, and single
                            /i/v0/e capture bodies with distinct_id

The truth is computed from the latent history with the vendors' documented
rules (Segment's timestamp = receivedAt - (sentAt - originalTimestamp); an SDK
call without receivedAt keeps its originalTimestamp), not by reading the files:
truth/<config>.csv has the daily series leadwatch must export for
<config>.yaml, truth/<config>.json the ingest counters.

Deterministic (fixed seed): running it again rewrites the same bytes.
Usage: gen_vendors.py [OUTDIR]   (default: the directory of this script)
"""
import csv
import datetime as dt
import json
import os
import random
import sys
import zlib

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
DAY0 = dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc)
DAYS = 8
rng = random.Random(14)


def iso(t):
    """ISO 8601 UTC with milliseconds, as the SDKs send it."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def ms(t):
    return int(round(t.timestamp() * 1000))


def uid(prefix, n):
    return "%s-%04x-%04x" % (prefix, rng.getrandbits(16), n)


# ------------------------------------------------------------------ history

users = []
for i in range(40):
    users.append({"user": "user_%03d" % i, "device": "dev-%08x" % rng.getrandbits(32),
                  "amp_id": 100000 + i, "skew_s": 0})
for i in range(12):
    users.append({"user": None, "device": "anon-%08x" % rng.getrandbits(32),
                  "amp_id": 200000 + i, "skew_s": 0})
# three devices whose clocks are wrong (RudderStack sample: corrected by receivedAt)
for k, skew in zip((3, 17, 44), (26 * 3600, -30 * 3600, 3 * 86400)):
    users[k]["skew_s"] = skew

events = []  # latent: each {"t", "user", "name", ...}
seq = 0
for day in range(DAYS):
    for u in users:
        if rng.random() < 0.35:
            continue
        # stay away from midnight so a few seconds of network delay never cross a day
        start = DAY0 + dt.timedelta(days=day, hours=rng.randint(1, 21), minutes=rng.randint(0, 59))
        n = rng.randint(1, 5)
        for j in range(n):
            t = start + dt.timedelta(seconds=40 * j + rng.randint(0, 30),
                                     milliseconds=rng.randint(0, 999))
            seq += 1
            ev = {"t": t, "u": u, "seq": seq, "device": u["device"]}
            r = rng.random()
            if r < 0.08 and u["user"]:
                ev["name"] = None  # an identify call: no event name
            elif r < 0.22:
                ev["name"] = "Order Completed"
                ev["revenue"] = rng.choice((5, 10, 15, 20, 35))
                ev["quantity"] = rng.randint(1, 4)
            else:
                ev["name"] = "Song Played"
                ev["duration"] = rng.randint(30, 420)
            ev["phone"] = rng.random() < 0.6
            # before sign-in: the device only (Amplitude still knows the amplitude_id)
            ev["anon"] = u["user"] is None or (day == 0 and j == 0 and rng.random() < 0.3)
            events.append(ev)
events.sort(key=lambda e: (e["t"], e["seq"]))


def msg_id(ev, vendor):
    return "%s-%08x-%06d" % (vendor, zlib.crc32(("%s/%d" % (vendor, ev["seq"])).encode()),
                             ev["seq"])


# ------------------------------------------------------------------ renderers

def segment_call(ev, style, sent_at=None, received=None):
    """One Segment/RudderStack call. style: server (timestamp), sdk (originalTimestamp)."""
    u = ev["u"]
    c = {"type": "track" if ev["name"] else "identify", "messageId": msg_id(ev, style)}
    if ev["anon"]:
        c["anonymousId"] = u["device"]
    else:
        c["userId"] = u["user"]
        c["anonymousId"] = u["device"]
    if ev["name"]:
        c["event"] = ev["name"]
        if ev["name"] == "Song Played":
            c["properties"] = {"name": "Fallin for You", "artist": "Dierks Bentley",
                               "duration": ev["duration"]}
        else:
            c["properties"] = {"order_id": "o%d" % ev["seq"], "revenue": ev["revenue"],
                               "currency": "USD",
                               "products": [{"product_id": "p%d" % (ev["seq"] % 7),
                                             "sku": "SKU-%d" % (ev["seq"] % 7),
                                             "price": ev["revenue"], "quantity": ev["quantity"]}]}
    else:
        c["traits"] = {"plan": "premium", "logins": ev["seq"] % 9}
    # only the RudderStack sample (which has receivedAt to correct it) has wrong device clocks
    skew = dt.timedelta(seconds=u["skew_s"] if received is not None else 0)
    if style == "server":
        c["timestamp"] = iso(ev["t"])
    else:
        c["originalTimestamp"] = iso(ev["t"] + skew)
        if sent_at is not None:
            c["sentAt"] = iso(sent_at + skew)
        if received is not None:
            c["receivedAt"] = iso(received)
    return c


def context(phone):
    if phone:
        return {"device": {"type": "phone", "name": "Apple iPhone 6"},
                "library": {"name": "analytics-ios", "version": "4.1.8"}}
    return {"device": {"type": "desktop"}, "library": {"name": "analytics.js", "version": "2.11.1"}}


def chunks(seq_, size_lo, size_hi):
    i = 0
    while i < len(seq_):
        n = rng.randint(size_lo, size_hi)
        yield seq_[i:i + n]
        i += n


def write_lines(name, objs):
    with open(os.path.join(OUT, name), "w") as f:
        for o in objs:
            f.write(json.dumps(o, separators=(",", ":")) + "\n")


def segment_file():
    """HTTP API batches: a batch's context applies to its calls (HTTP API docs)."""
    lines = []
    for batch in chunks(events, 1, 9):
        if len(batch) == 1 and rng.random() < 0.5:
            ev = batch[0]  # a single /v1/track or /v1/identify body, server style
            c = segment_call(ev, "server")
            c["context"] = context(ev["phone"])
            lines.append(c)
            continue
        # one batch per device kind, as one client would send it
        for phone in (True, False):
            part = [e for e in batch if e["phone"] == phone]
            if not part:
                continue
            sdk = rng.random() < 0.5
            sent = part[-1]["t"] + dt.timedelta(seconds=2)
            calls = [segment_call(e, "sdk" if sdk else "server") for e in part]
            body = {"batch": calls, "context": context(phone)}
            if sdk:
                body["sentAt"] = iso(sent)
            lines.append(body)
    write_lines("segment_batch.jsonl", lines)


def rudderstack_file():
    lines = []
    for batch in chunks(events, 1, 6):
        sent = batch[-1]["t"] + dt.timedelta(seconds=3)
        received = sent + dt.timedelta(milliseconds=180)
        calls = []
        for e in batch:
            c = segment_call(e, "sdk", sent_at=sent, received=received)
            c["context"] = context(e["phone"])
            c["rudderId"] = "r-%06d" % e["seq"]
            calls.append(c)
        lines.extend(calls if len(calls) == 1 else [{"batch": calls}])
    write_lines("rudderstack_events.jsonl", lines)


def amplitude_event(ev, export):
    u = ev["u"]
    name = {"Song Played": "play_song", "Order Completed": "purchase"}.get(ev["name"])
    e = {"event_type": name or "$identify", "device_id": u["device"],
         "user_id": None if ev["anon"] else u["user"]}
    props = {}
    if ev["name"] == "Song Played":
        props = {"duration": ev["duration"]}
    elif ev["name"] == "Order Completed":
        props = {"revenue": ev["revenue"], "quantity": ev["quantity"]}
    e["event_properties"] = props
    e["platform"] = "iOS" if ev["phone"] else "Web"
    e["device_type"] = "Apple iPhone" if ev["phone"] else None
    if export:
        e.update({"amplitude_id": u["amp_id"], "$insert_id": msg_id(ev, "amp"),
                  "event_time": ev["t"].strftime("%Y-%m-%d %H:%M:%S.%f"),
                  "client_event_time": ev["t"].strftime("%Y-%m-%d %H:%M:%S.%f"),
                  "server_upload_time": (ev["t"] + dt.timedelta(seconds=1)).strftime(
                      "%Y-%m-%d %H:%M:%S.%f"),
                  "uuid": "%08x-0000-4000-8000-%012x" % (ev["seq"], ev["seq"]),
                  "event_id": ev["seq"] % 1000, "session_id": ms(ev["t"]) // 600000 * 600000,
                  "user_properties": {"plan": "premium"}, "group_properties": {}, "groups": {}})
    else:
        e.update({"insert_id": msg_id(ev, "amp"), "time": ms(ev["t"])})
        if e["user_id"] is None:
            del e["user_id"]
    return e


def amplitude_files():
    # $identify rows in an export are Amplitude's own; leave identify calls out of both
    tracked = [e for e in events if e["name"]]
    write_lines("amplitude_export.jsonl", [amplitude_event(e, True) for e in tracked])
    bodies = [{"api_key": "2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d",
               "events": [amplitude_event(e, False) for e in b],
               "options": {"min_id_length": 5}} for b in chunks(tracked, 1, 10)]
    write_lines("amplitude_httpv2.jsonl", bodies)


def posthog_event(ev, single):
    u = ev["u"]
    did = u["device"] if ev["anon"] else u["user"]
    name = ev["name"] or "$identify"
    props = {"$lib": "posthog-node", "$device_type": "Mobile" if ev["phone"] else "Desktop"}
    if ev["name"] == "Song Played":
        props["duration"] = ev["duration"]
    elif ev["name"] == "Order Completed":
        props.update({"revenue": ev["revenue"], "quantity": ev["quantity"]})
    e = {"event": name, "properties": props, "timestamp": iso(ev["t"]),
         "uuid": "0193%04x-%04x-7000-8000-%012x" % (ev["seq"] >> 16, ev["seq"] & 0xFFFF, ev["seq"])}
    if single:
        e = {"api_key": "phc_sample", **e, "distinct_id": did}
    else:
        props["distinct_id"] = did
    return e


def posthog_file():
    lines = []
    for b in chunks(events, 1, 8):
        if len(b) == 1:
            lines.append(posthog_event(b[0], True))
        else:
            lines.append({"api_key": "phc_sample", "historical_migration": False,
                          "batch": [posthog_event(e, False) for e in b]})
    write_lines("posthog_batch.jsonl", lines)


# ------------------------------------------------------------------ truth

def day_of(t):
    return (t - DAY0).days


def truth(config, evs, when, user_of, counters):
    """Daily series of the metrics every config defines (see the *.yaml)."""
    rows = {}
    for e in evs:
        d = when(e).date()
        r = rows.setdefault(d, {"events": 0, "plays": 0, "duration": 0, "revenue": 0,
                                "quantity": 0, "phone_plays": 0, "users": set()})
        if config in ("segment", "rudderstack") and not e["name"]:
            continue  # identify calls are missing_event rejects
        r["events"] += 1
        r["users"].add(user_of(e))
        if e["name"] == "Song Played":
            r["plays"] += 1
            r["duration"] += e["duration"]
            if e["phone"]:
                r["phone_plays"] += 1
        elif e["name"] == "Order Completed":
            r["revenue"] += e["revenue"]
            r["quantity"] += e["quantity"]
    os.makedirs(os.path.join(OUT, "truth"), exist_ok=True)
    with open(os.path.join(OUT, "truth", config + ".csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["period", "events", "plays", "duration", "revenue", "quantity",
                    "phone_plays", "users"])
        for d in sorted(rows):
            r = rows[d]
            w.writerow([d.isoformat() + "T00:00:00Z", r["events"], r["plays"], r["duration"],
                        r["revenue"], r["quantity"], r["phone_plays"], len(r["users"])])
    with open(os.path.join(OUT, "truth", config + ".json"), "w") as f:
        json.dump(counters, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    segment_file()
    rudderstack_file()
    amplitude_files()
    posthog_file()
    identify = sum(1 for e in events if not e["name"])
    tracked = [e for e in events if e["name"]]
    seg_user = lambda e: e["u"]["device"] if e["anon"] else e["u"]["user"]
    # Segment: SDK batches carry no receivedAt: the time is originalTimestamp
    # (every device in that file has a correct clock: skew applies to RudderStack only)
    n_all = len(events)
    truth("segment", events, lambda e: e["t"], seg_user,
          {"accepted": n_all - identify, "rejected": {"missing_event": identify}})
    # RudderStack: receivedAt - (sentAt - originalTimestamp) = true time + 180 ms network
    truth("rudderstack", events, lambda e: e["t"] + dt.timedelta(milliseconds=180), seg_user,
          {"accepted": n_all - identify, "rejected": {"missing_event": identify}})
    truth("amplitude", tracked, lambda e: e["t"], seg_user,
          {"accepted": len(tracked), "rejected": {}})
    truth("amplitude_id", tracked, lambda e: e["t"], lambda e: e["u"]["amp_id"],
          {"accepted": len(tracked), "rejected": {}})
    truth("posthog", events, lambda e: e["t"], seg_user,
          {"accepted": n_all, "rejected": {}})
    print("events %d (identify %d) over %d days" % (n_all, identify, DAYS))


main()
