#!/usr/bin/env python3
"""gen_exposures.py - the memory bench of issue 16: N users, each exposed once
(Segment `Experiment Viewed`, one of K experiments, control or treatment) and
then active (a session_start and a track_played), in time order over 20 days.

usage: gen_exposures.py N K OUT.jsonl   (writes 3 N lines; no messageId, so no dedup ids)
"""
import sys
import time

n, k, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
t0 = 1704067200  # 2024-01-01
span = 20 * 86400
with open(out, "w") as f:
    for i in range(n):
        t = t0 + i * span // n
        ts = time.strftime('"%Y-%m-%dT%H:%M:%SZ"', time.gmtime(t))
        u = "u%d" % (i + 1)
        e = "exp_%02d" % (i % k)
        v = "treatment" if (i * 2654435761 >> 7) & 1 else "control"
        f.write('{"type":"track","event":"Experiment Viewed","userId":"%s","timestamp":%s,'
                '"properties":{"experiment_id":"%s","variation_id":"%s"}}\n' % (u, ts, e, v))
        f.write('{"type":"track","event":"session_start","userId":"%s","timestamp":%s,'
                '"properties":{"platform":"ios"}}\n' % (u, ts))
        f.write('{"type":"track","event":"track_played","userId":"%s","timestamp":%s,'
                '"properties":{"duration_ms":%d,"platform":"ios"}}\n' % (u, ts, 60000 + i % 120000))
