#!/usr/bin/env python3
"""webhook_receiver.py - a scriptable HTTP webhook endpoint for the alerting
integration tests (tests/it_alerts_*.sh via tests/lib_alerts.sh).

Python 3 standard library only (http.server.ThreadingHTTPServer), so the
test needs no package beyond python3.

How it works.  The receiver binds 127.0.0.1:PORT (PORT 0 = a free port
chosen by the kernel, which avoids the probe-then-bind race) and writes the
port it got to DIR/port (atomically, via a rename) once it accepts
connections; the test waits for that file.  Every request is handled on its
own thread, so a stalled answer never blocks the next request.

Files in DIR (all append-only, one JSON object per line, each line written
under one lock so concurrent requests never interleave):
  bodies.jsonl    every POSTed body that is valid JSON, re-serialised
                  compactly onto one line, in arrival order
  accepted.jsonl  the same bodies, but only once a 2xx answer was written
                  successfully (a 503, or a stall the client gave up on, is
                  not an accepted delivery): "delivered once it is back"
  requests.jsonl  one record per request: n, t (unix s), method, path,
                  mode, status, bytes, json (bool), shape_errors, headers
  receiver.log    one line per event; "error: ..." for an invalid body
  mode            the control file (below); read on every request

Modes (first word of DIR/mode; a missing or empty file means ok):
  ok                 answer 200
  fail [CODE]        answer CODE (default 503)
  stall N [CODE]     sleep N seconds (a float), then answer CODE (default 200)
"down" is not a mode: the test kills the process (and may start it again
with --port set to the old port).  The mode can also be set over HTTP with
POST /-/mode (body: the same text); GET /-/stats answers the counters as
JSON; GET /-/healthy answers 200.  Those control paths are not counted as
webhook requests.

Body checks: a body that is not valid JSON (or not UTF-8) is answered 400,
counted as `invalid` and logged as an error line; it is not appended to
bodies.jsonl.  A JSON body is also checked against the shape of
Alertmanager's webhook payload (version "4": status, receiver, groupLabels,
commonLabels, commonAnnotations, externalURL, groupKey, alerts[] each with
status, labels, annotations, startsAt, endsAt, fingerprint); a mismatch is
logged as "shape: ..." and counted in shape_errors, but does not change the
answer, so a test decides itself whether the shape matters.
"""

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 16 * 1024 * 1024  # bound on one request body; larger is answered 413

AM_TOP_KEYS = {
    "version": str,
    "groupKey": str,
    "status": str,
    "receiver": str,
    "groupLabels": dict,
    "commonLabels": dict,
    "commonAnnotations": dict,
    "externalURL": str,
    "alerts": list,
}
AM_ALERT_KEYS = {
    "status": str,
    "labels": dict,
    "annotations": dict,
    "startsAt": str,
    "endsAt": str,
    "fingerprint": str,
}


def shape_errors(doc):
    """The ways doc differs from Alertmanager's webhook v4 payload ([] = none)."""
    errs = []
    if not isinstance(doc, dict):
        return ["body is not a JSON object"]
    for k, t in AM_TOP_KEYS.items():
        if k not in doc:
            errs.append("missing %s" % k)
        elif not isinstance(doc[k], t):
            errs.append("%s is not a %s" % (k, t.__name__))
    if doc.get("version") not in (None, "4"):
        errs.append("version %r, expected \"4\"" % doc.get("version"))
    if doc.get("status") not in (None, "firing", "resolved"):
        errs.append("status %r" % doc.get("status"))
    alerts = doc.get("alerts")
    if isinstance(alerts, list):
        for i, a in enumerate(alerts):
            if not isinstance(a, dict):
                errs.append("alerts[%d] is not an object" % i)
                continue
            for k, t in AM_ALERT_KEYS.items():
                if k not in a:
                    errs.append("alerts[%d] missing %s" % (i, k))
                elif not isinstance(a[k], t):
                    errs.append("alerts[%d].%s is not a %s" % (i, k, t.__name__))
            if a.get("status") not in (None, "firing", "resolved"):
                errs.append("alerts[%d].status %r" % (i, a.get("status")))
            labels = a.get("labels")
            if isinstance(labels, dict) and "alertname" not in labels:
                errs.append("alerts[%d] has no alertname label" % i)
    return errs


class State:
    """Counters and files shared by the handler threads (one lock)."""

    def __init__(self, directory):
        self.dir = directory
        self.lock = threading.Lock()
        self.counts = {
            "requests": 0,
            "accepted": 0,
            "failed": 0,
            "stalled": 0,
            "invalid": 0,
            "shape_errors": 0,
            "write_errors": 0,
        }

    def path(self, name):
        return os.path.join(self.dir, name)

    def append(self, name, line):
        with self.lock:
            with open(self.path(name), "a", encoding="utf-8") as f:
                f.write(line + "\n")

    def log(self, msg):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        self.append("receiver.log", "%s %s" % (stamp, msg))

    def bump(self, key, n=1):
        with self.lock:
            self.counts[key] += n
            return self.counts[key]

    def mode(self):
        """(kind, seconds, code) from DIR/mode; bad text is logged and means ok."""
        try:
            with open(self.path("mode"), encoding="utf-8") as f:
                words = f.read().split()
        except FileNotFoundError:
            words = []
        try:
            if not words or words[0] == "ok":
                return ("ok", 0.0, 200)
            if words[0] == "fail":
                return ("fail", 0.0, int(words[1]) if len(words) > 1 else 503)
            if words[0] == "stall":
                return ("stall", float(words[1]), int(words[2]) if len(words) > 2 else 200)
        except (IndexError, ValueError):
            pass
        self.log("error: bad mode %r, using ok" % " ".join(words))
        return ("ok", 0.0, 200)


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Alertmanager's client expects
        server_version = "lw-webhook-receiver/1"

        def log_message(self, fmt, *args):  # http.server would write to stderr
            pass

        def answer(self, code, text="", ctype="text/plain"):
            data = text.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

        def read_body(self):
            """The body bytes, or None after answering 411/413 itself."""
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                parts, total = [], 0
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(parts)
                    total += size
                    if total > MAX_BODY:
                        self.answer(413, "body too large\n")
                        return None
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
            length = self.headers.get("Content-Length")
            if length is None:
                self.answer(411, "Content-Length required\n")
                return None
            n = int(length)
            if n > MAX_BODY:
                self.answer(413, "body too large\n")
                return None
            return self.rfile.read(n)

        def do_GET(self):
            if self.path == "/-/stats":
                with state.lock:
                    text = json.dumps(state.counts)
                self.answer(200, text + "\n", "application/json")
            elif self.path == "/-/healthy":
                self.answer(200, "ok\n")
            else:
                self.answer(404, "not found\n")

        def do_POST(self):
            body = self.read_body()
            if body is None:
                return
            if self.path == "/-/mode":
                with open(state.path("mode.tmp"), "wb") as f:
                    f.write(body)
                os.replace(state.path("mode.tmp"), state.path("mode"))
                state.log("mode set to %r" % body.decode("utf-8", "replace").strip())
                self.answer(200, "ok\n")
                return
            self.webhook(body)

        def do_PUT(self):
            body = self.read_body()
            if body is not None:
                self.webhook(body)

        def webhook(self, body):
            n = state.bump("requests")
            kind, seconds, code = state.mode()
            rec = {
                "n": n,
                "t": round(time.time(), 3),
                "method": self.command,
                "path": self.path,
                "mode": kind,
                "bytes": len(body),
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }
            try:
                doc = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                state.bump("invalid")
                state.log("error: request %d %s %s: body is not JSON (%s): %r"
                          % (n, self.command, self.path, e, body[:200]))
                rec.update(json=False, status=400, shape_errors=[])
                state.append("requests.jsonl", json.dumps(rec))
                self.answer(400, "body is not JSON\n")
                return
            line = json.dumps(doc, separators=(",", ":"), sort_keys=True)
            state.append("bodies.jsonl", line)
            errs = shape_errors(doc)
            if errs:
                state.bump("shape_errors")
                state.log("shape: request %d: %s" % (n, "; ".join(errs)))
            if kind == "stall":
                state.bump("stalled")
                time.sleep(seconds)
            elif kind == "fail":
                state.bump("failed")
            rec.update(json=True, status=code, shape_errors=errs)
            try:
                self.answer(code, "%s\n" % kind)
            except OSError as e:  # the client gave up (its timeout during a stall)
                state.bump("write_errors")
                state.log("request %d: answer %d not delivered: %s" % (n, code, e))
                rec["status_delivered"] = False
                state.append("requests.jsonl", json.dumps(rec))
                return
            rec["status_delivered"] = True
            state.append("requests.jsonl", json.dumps(rec))
            if 200 <= code < 300:
                state.bump("accepted")
                state.append("accepted.jsonl", line)
            state.log("request %d %s %s: %d (%s), %d alerts"
                      % (n, self.command, self.path, code, kind,
                         len(doc.get("alerts", [])) if isinstance(doc, dict) else 0))

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True, help="directory for the logs and the mode file")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free)")
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    state = State(args.dir)
    ThreadingHTTPServer.allow_reuse_address = True  # restart on the same port after "down"
    server = ThreadingHTTPServer((args.host, args.port), make_handler(state))
    server.daemon_threads = True
    port = server.server_address[1]
    with open(state.path("port.tmp"), "w", encoding="utf-8") as f:
        f.write("%d\n" % port)
    os.replace(state.path("port.tmp"), state.path("port"))
    state.log("listening on %s:%d" % (args.host, port))
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
