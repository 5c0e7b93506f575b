#!/usr/bin/python3
"""gt_bench.py - ground-truth benchmark of leadwatch's verdicts (issue 11).

Runs `leadwatch analyze --series` on data sets from gt_sim.py whose truth is
known and reports, per situation, the share of correct verdicts over the seeds
(mode classify) and, for a lead that stops, the detection delay of the daemon's
alert rule and the false alerts per edge-year (mode detect).  README.md in this
folder describes the situations, what "correct" means and the options.

    /usr/bin/python3 bench/groundtruth/gt_bench.py --bin ./build/leadwatch \
        --mode classify --seeds 50 --out /tmp/gt-classify.json
    /usr/bin/python3 bench/groundtruth/gt_bench.py --bin ./build/leadwatch \
        --mode detect --seeds 50 --out /tmp/gt-detect.json

Only numpy + the standard library.  At start it runs
`scripts/install-deps --extra python3-numpy` (no-op when present; skip with
--no-install-deps).
"""

import os
import sys

DEBIAN_PY = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))

# Debian's python3 is the one with python3-numpy; re-exec under it if started otherwise.
if os.path.exists(DEBIAN_PY) and os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PY) \
        and not os.environ.get("GT_BENCH_NO_REEXEC"):
    os.environ["GT_BENCH_NO_REEXEC"] = "1"
    os.execv(DEBIAN_PY, [DEBIAN_PY, os.path.abspath(__file__)] + sys.argv[1:])

import argparse
import datetime as _dt
import hashlib
import json
import multiprocessing as mp
import shlex
import shutil
import statistics
import subprocess
import tempfile
import time

VERDICTS_DIRECTION = ("leads", "reverse", "feedback")
LEADING = ("leads", "feedback")  # what the alert rule counts as healthy (src/alert.c)


# ---------------------------------------------------------------- environment
def find_install_deps():
    """scripts/install-deps of the repository this file lives in (searched upwards)."""
    d = HERE
    for _ in range(6):
        p = os.path.join(d, "scripts", "install-deps")
        if os.path.isfile(p):
            return p
        d = os.path.dirname(d)
    return None


def ensure_numpy(skip):
    if not skip:
        tool = find_install_deps()
        if tool:
            r = subprocess.run([tool, "--extra", "python3-numpy"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            msg = r.stdout.strip().splitlines()
            print("gt_bench: %s" % (msg[-1] if msg else "install-deps rc %d" % r.returncode),
                  file=sys.stderr)
        else:
            print("gt_bench: scripts/install-deps not found; assuming numpy is installed",
                  file=sys.stderr)
    try:
        import numpy  # noqa: F401
    except ImportError:
        sys.exit("gt_bench: numpy is missing: run scripts/install-deps --extra python3-numpy")


# ---------------------------------------------------------------- calling leadwatch
def run_analyze(binary, csv, nsm, inputs, extra=(), timeout=300):
    """(rc, parsed JSON or None, stderr) of one `analyze --series` call."""
    cmd = [binary, "analyze", "--series", csv, "--nsm", nsm, "--inputs", ",".join(inputs),
           "--format", "json"] + list(extra)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    doc = None
    if r.returncode == 0:
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            doc = None
    return r.returncode, doc, r.stderr


def edge_of(doc, src, dst):
    for e in (doc or {}).get("edges", []):
        if e.get("from") == src and e.get("to") == dst:
            return e
    return None


def edge_record(doc, src, dst, true_lag):
    """The fields of one edge this bench relies on (README lists them)."""
    e = edge_of(doc, src, dst)
    if e is None:
        return {"verdict": "error:no_edge"}
    rec = {"verdict": e.get("verdict"), "lag": e.get("lag"), "lag_reverse": e.get("lag_reverse"),
           "q": e.get("q"), "q_reverse": e.get("q_reverse")}
    lr = e.get("lagged_regression") or {}
    rec["lead"] = lr.get("lead")
    data = e.get("data") or {}
    rec["rows_used"] = data.get("rows_used")
    rec["rows_total"] = data.get("rows_total")
    if true_lag is not None:
        p = None
        for g in e.get("granger") or []:
            if g.get("lag") == true_lag:
                p = g.get("p")
        rec["p_true_lag"] = p
    st = e.get("stability") or {}
    br = st.get("break") or {}
    rec["break_found"] = br.get("found")
    return rec


def probe_option(binary, ds, extra, workdir):
    """True when `analyze` accepts the extra arguments on this data set (rc 0 + JSON)."""
    path = os.path.join(workdir, "probe.csv")
    ds.write_csv(path)
    rc, doc, err = run_analyze(binary, path, ds.nsm, ds.inputs, extra)
    return rc == 0 and doc is not None, (err.strip().splitlines() or [""])[0]


# ---------------------------------------------------------------- classification
class Variant:
    """One row of the classification table.

    situation: gt_sim situation name; kind: "lead" (correct = leads) or "null"
    (correct = no direction claimed); extra(ds, opts): extra analyze arguments;
    gate: None (always), "probe" (only if leadwatch accepts the extra arguments),
    "new_options" (only with --use-new-options and if accepted).
    """

    def __init__(self, name, situation, kind, extra=None, gate=None, note=""):
        self.name, self.situation, self.kind = name, situation, kind
        self.extra = extra or (lambda ds, o: [])
        self.gate, self.note = gate, note


def holiday_args(ds, opts):
    dates = ",".join(ds.meta.get("holidays") or [])
    return shlex.split(opts.holidays_arg.format(dates=dates))


def control_args(ds, opts):
    return ["--controls", ds.meta["driver"]]


def variants():
    import gt_sim
    v = []
    for name, (_, kind, _desc) in gt_sim.SITUATIONS.items():
        v.append(Variant(name, name, kind))
        if name == "holidays":
            v.append(Variant("holidays+calendar", name, kind, holiday_args, "new_options",
                             "holiday dates passed (--use-new-options, --holidays-arg)"))
        if name == "common_driver":
            v.append(Variant("common_driver+control", name, kind, control_args, "probe",
                             "--controls marketing"))
    return v


def classify_task(args):
    """Worker: one (variant, seed) -> record."""
    vname, situation, extra, seed, binary, keep_dir = args
    import gt_sim
    ds = gt_sim.generate(situation, seed)
    with tempfile.TemporaryDirectory(prefix="gt-") as tmp:
        path = os.path.join(tmp, "%s-%d.csv" % (situation, seed))
        ds.write_csv(path)
        if keep_dir:
            shutil.copy(path, os.path.join(keep_dir, os.path.basename(path)))
        rc, doc, err = run_analyze(binary, path, ds.nsm, ds.inputs, extra)
    if doc is None:
        rec = {"verdict": "error:rc%d" % rc, "stderr": err.strip()[:300]}
    else:
        rec = edge_record(doc, ds.inputs[0], ds.nsm, ds.meta.get("true_lag"))
    rec.update({"variant": vname, "seed": seed})
    return rec


def median_or_none(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize_classify(v, recs, true_lag):
    n = len(recs)
    dist = {}
    for r in recs:
        dist[r["verdict"]] = dist.get(r["verdict"], 0) + 1
    any_dir = sum(r["verdict"] in VERDICTS_DIRECTION for r in recs)
    if v.kind == "lead":
        correct = sum(r["verdict"] == "leads" for r in recs)
        rule = "leads"
    else:
        correct = n - any_dir
        rule = "no direction"
    s = {"situation": v.situation, "kind": v.kind, "correct_rule": rule, "seeds": n,
         "correct": correct, "correct_share": correct / n if n else None,
         "any_direction": any_dir, "any_direction_share": any_dir / n if n else None,
         "false_leads": sum(r["verdict"] == "leads" for r in recs) if v.kind == "null" else None,
         "verdicts": dict(sorted(dist.items(), key=lambda kv: -kv[1])),
         "true_lag": true_lag,
         "lag_median": median_or_none([r.get("lag") for r in recs]),
         "lead_median": median_or_none([r.get("lead") for r in recs]),
         "rows_used_median": median_or_none([r.get("rows_used") for r in recs]),
         "rows_total_median": median_or_none([r.get("rows_total") for r in recs]),
         "break_found_share": (sum(bool(r.get("break_found")) for r in recs) / n) if n else None,
         "note": v.note}
    if true_lag is not None:
        ps = [r.get("p_true_lag") for r in recs]
        s["sig_at_true_lag_share"] = sum(p is not None and p < 0.05 for p in ps) / n if n else None
    if v.kind == "null":
        s["false_leads_share"] = s["false_leads"] / n if n else None
    return s


def armed_share(rs):
    """Share of records whose edge armed; None when unknown (leadwatch's own alert state)."""
    if not rs or not all(r.get("armed_known", True) for r in rs):
        return None
    return sum(r["armed_at"] is not None for r in rs) / len(rs)


def pct(x):
    return "-" if x is None else "%.0f %%" % (100 * x)


def fmt_num(x):
    if x is None:
        return "-"
    return ("%d" % x) if float(x).is_integer() else "%.1f" % x


def classify_table(summaries):
    lines = ["| situation | truth | correct = | seeds | correct | any direction claimed | "
             "false `leads` | verdicts | chosen lag (median) | regression lead (median) | "
             "p < 0.05 at true lag | rows used (median) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, s in summaries.items():
        if s.get("status") == "n/a":
            lines.append("| %s | | | | n/a (%s) | | | | | | | |" % (name, s["reason"]))
            continue
        dist = ", ".join("%s %d" % kv for kv in s["verdicts"].items())
        truth = ("lead, lag %d" % s["true_lag"]) if s["kind"] == "lead" else "no link"
        lines.append("| %s | %s | %s | %d | **%s** | %s | %s | %s | %s | %s | %s | %s/%s |" % (
            name, truth, s["correct_rule"], s["seeds"], pct(s["correct_share"]),
            pct(s["any_direction_share"]), pct(s.get("false_leads_share")), dist,
            fmt_num(s["lag_median"]), fmt_num(s["lead_median"]),
            pct(s.get("sig_at_true_lag_share")), fmt_num(s["rows_used_median"]),
            fmt_num(s["rows_total_median"])))
    return "\n".join(lines)


def run_classify(opts, pool):
    import gt_sim
    seeds = list(range(opts.seed_start, opts.seed_start + opts.seeds))
    wanted = set(opts.situations.split(",")) if opts.situations else None
    tasks, active, summaries = [], [], {}
    probe_dir = tempfile.mkdtemp(prefix="gt-probe-")
    try:
        for v in variants():
            if wanted and v.name not in wanted and v.situation not in wanted:
                continue
            if v.gate == "new_options" and not opts.use_new_options:
                summaries[v.name] = {"status": "n/a", "reason": "off: needs --use-new-options"}
                continue
            if v.gate in ("probe", "new_options"):
                ds = gt_sim.generate(v.situation, seeds[0])
                ok, msg = probe_option(opts.bin, ds, v.extra(ds, opts) + opts.extra, probe_dir)
                if not ok:
                    summaries[v.name] = {"status": "n/a",
                                         "reason": "option not supported: %s" % msg}
                    continue
            active.append(v)
            summaries[v.name] = None
            for s in seeds:
                ds_extra = v.extra(gt_sim.generate(v.situation, s), opts) if v.gate else []
                tasks.append((v.name, v.situation, ds_extra + opts.extra, s, opts.bin,
                              opts.keep_csv))
    finally:
        shutil.rmtree(probe_dir, ignore_errors=True)
    t0 = time.time()
    recs = {}
    for i, r in enumerate(pool.imap_unordered(classify_task, tasks, chunksize=4)):
        recs.setdefault(r["variant"], []).append(r)
        if (i + 1) % 100 == 0:
            print("gt_bench: classify %d/%d (%.0f s)" % (i + 1, len(tasks), time.time() - t0),
                  file=sys.stderr)
    for v in active:
        rs = sorted(recs.get(v.name, []), key=lambda r: r["seed"])
        true_lag = gt_sim.generate(v.situation, seeds[0]).meta.get("true_lag")
        summaries[v.name] = summarize_classify(v, rs, true_lag)
        summaries[v.name]["per_seed"] = rs
    return summaries, time.time() - t0


# ---------------------------------------------------------------- alert rule (src/alert.c)
class NoLongerLeadsRule:
    """The `no_longer_leads` condition of src/alert.c, one evaluation per bucket.

    Outcome: insufficient_data / error / "unjudged" (src/watch.c: inconclusive,
    q < alpha, but the stability or out-of-sample step did not run) -> NODATA; leads, feedback -> healthy PASS
    (arms after arm_after in a row); inconclusive but predicts (q < alpha at the
    chosen lag) -> PASS (streak untouched); anything else -> FAIL if armed, else
    PASS (and the healthy streak resets).  Transition: FAIL -> pending, firing
    once the fail streak > for; PASS resolves a firing alert after
    keep_firing_for + 1 passes; NODATA resets both streaks.
    """

    def __init__(self, for_evals, arm_after, keep_firing_for):
        self.for_evals, self.arm_after, self.keep = for_evals, arm_after, keep_firing_for
        self.state, self.fail, self.pas, self.healthy, self.armed = "inactive", 0, 0, 0, False

    def outcome(self, verdict, predicts, nodata=False):
        if nodata or verdict is None or verdict == "insufficient_data" \
                or verdict.startswith("error"):
            return "nodata"
        if verdict in LEADING:
            self.healthy += 1
            if self.healthy >= self.arm_after:
                self.armed = True
            return "pass"
        if verdict == "inconclusive" and predicts:
            return "pass"
        self.healthy = 0
        return "fail" if self.armed else "pass"

    def step(self, verdict, predicts, nodata=False):
        """Returns (outcome, new state, fired_now)."""
        out = self.outcome(verdict, predicts, nodata)
        before = self.state
        if out == "nodata":
            self.fail = self.pas = 0
            if self.state not in ("firing", "nodata"):
                self.state = "nodata"
        elif out == "fail":
            self.pas = 0
            self.fail += 1
            if self.state != "firing":
                self.state = "firing" if self.fail > self.for_evals else "pending"
        else:
            self.fail = 0
            if self.state == "firing":
                self.pas += 1
                if self.pas > self.keep:
                    self.state, self.pas = "resolved", 0
            elif self.state in ("pending", "nodata"):
                self.state = "inactive"
        return out, self.state, (self.state == "firing" and before != "firing")


# ---------------------------------------------------------------- detect drivers
def evaluations_window(ds, opts, tmp):
    """Driver `window` (today's daemon): analyse the last `window` buckets as of
    every bucket from the first full window on; one analyze call per bucket."""
    W, n = opts.window, ds.nrows()
    out = []
    path = os.path.join(tmp, "asof.csv")
    for d in range(W - 1, n):
        ds.write_csv(path, d - W + 1, d + 1)
        rc, doc, err = run_analyze(opts.bin, path, ds.nsm, ds.inputs, opts.extra)
        if doc is None:
            out.append({"row": d, "verdict": "error:rc%d" % rc})
            continue
        e = edge_of(doc, ds.inputs[0], ds.nsm) or {}
        alpha = (doc.get("options") or {}).get("alpha") or 0.05
        q = e.get("q")
        predicts = q is not None and q < alpha
        # src/watch.c unjudged(): inconclusive, still predicting, but the stability
        # or out-of-sample step did not run -> the daemon reports nodata
        unjudged = e.get("verdict") == "inconclusive" and predicts and (
            (e.get("stability") or {}).get("status") != "ok"
            or (e.get("oos") or {}).get("status") != "ok")
        out.append({"row": d, "verdict": e.get("verdict"), "q": q, "predicts": predicts,
                    "nodata": unjudged, "lag": e.get("lag")})
    return out


def evaluations_command(ds, opts, tmp):
    """Driver `command`: one run of --detect-cmd over the whole CSV (a future
    `analyze --replay` / monitor).  Its stdout: JSON lines or one JSON array of
    objects with "as_of" (the period label of the evaluated bucket) and either
    "verdict" (+ optional "q" or "predicts"; the bench applies the alert rule)
    or "state" (an alert state computed by leadwatch itself: inactive, pending,
    firing, ...; the bench then only reads when it fires)."""
    path = os.path.join(tmp, "full.csv")
    ds.write_csv(path)
    cmd = opts.detect_cmd.format(bin=shlex.quote(opts.bin), csv=shlex.quote(path),
                                 nsm=ds.nsm, input=ds.inputs[0], window=opts.window,
                                 **{"for": opts.for_evals}, arm_after=opts.arm_after,
                                 keep_firing_for=opts.keep_firing_for)
    r = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=3600)
    if r.returncode != 0:
        raise RuntimeError("detect-cmd rc %d: %s" % (r.returncode, r.stderr.strip()[:300]))
    text = r.stdout.strip()
    items = json.loads(text) if text.startswith("[") else \
        [json.loads(l) for l in text.splitlines() if l.strip()]
    row_of = {lab: i for i, lab in enumerate(ds.labels)}
    out = []
    for it in items:
        row = row_of.get(it.get("as_of"))
        if row is None:
            continue
        rec = {"row": row, "verdict": it.get("verdict"), "q": it.get("q"), "state": it.get("state")}
        rec["predicts"] = it.get("predicts", rec["q"] is not None and rec["q"] < 0.05)
        out.append(rec)
    out.sort(key=lambda r: r["row"])
    return out


def detect_task(args):
    """Worker: one (variant, seed) -> alert timeline summary."""
    variant, seed, opts, deadline = args
    if deadline is not None and time.time() > deadline:
        return {"variant": variant, "seed": seed, "skipped": True}
    import gt_sim
    ds = gt_sim.generate(variant, seed)
    with tempfile.TemporaryDirectory(prefix="gt-detect-") as tmp:
        evals = (evaluations_window if opts.detect_driver == "window" else evaluations_command)(
            ds, opts, tmp)
    rule = NoLongerLeadsRule(opts.for_evals, opts.arm_after, opts.keep_firing_for)
    fires, armed_at, prev_leading, flips = [], None, None, 0
    first_fail_verdict = None
    brk = ds.meta.get("break_row")
    for ev in evals:
        if ev.get("state") is not None:          # leadwatch computed the alert state
            fired = ev["state"] == "firing" and (not fires or fires[-1][1] != "open")
            if fired:
                fires.append([ev["row"], "open"])
            elif ev["state"] != "firing" and fires and fires[-1][1] == "open":
                fires[-1][1] = "closed"
        else:
            _, _, fired = rule.step(ev["verdict"] or "", ev["predicts"], ev.get("nodata", False))
            if fired:
                fires.append([ev["row"], "open"])
            if armed_at is None and rule.armed:
                armed_at = ev["row"]
        leading = ev.get("verdict") in LEADING
        if prev_leading and not leading:
            flips += 1
        prev_leading = leading
        if brk is not None and ev["row"] >= brk and first_fail_verdict is None \
                and not leading and not ev.get("predicts"):
            first_fail_verdict = ev["row"]
    fire_rows = [f[0] for f in fires]
    res = {"variant": variant, "seed": seed, "evaluations": len(evals),
           "year": 8760.0 if ds.meta.get("bucket") == "hour" else 365.0,
           "first_row": evals[0]["row"] if evals else None, "armed_at": armed_at,
           # with leadwatch's own alert state the bench does not see when the edge armed
           "armed_known": not any(ev.get("state") is not None for ev in evals),
           "fires": fire_rows, "verdict_flips_away": flips,
           "verdicts": {}}
    for ev in evals:
        res["verdicts"][ev["verdict"]] = res["verdicts"].get(ev["verdict"], 0) + 1
    if brk is not None:
        after = [r for r in fire_rows if r >= brk]
        res["break_row"] = brk
        res["fires_before_break"] = sum(r < brk for r in fire_rows)
        res["delay"] = (after[0] - brk) if after else None
        res["verdict_fail_delay"] = (first_fail_verdict - brk) if first_fail_verdict is not None \
            else None
        res["buckets_after_break"] = ds.nrows() - brk
    return res


def censored_median(delays, horizon):
    """Median with undetected runs (None) counted as later than anything seen."""
    xs = sorted(d if d is not None else float("inf") for d in delays)
    if not xs:
        return None
    m = statistics.median(xs)
    return m if m != float("inf") else "> %d" % horizon


def quantile(xs, q):
    xs = sorted(d if d is not None else float("inf") for d in xs)
    if not xs:
        return None
    k = min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))
    return xs[k]


def compact_ranges(xs):
    out, i = [], 0
    while i < len(xs):
        j = i
        while j + 1 < len(xs) and xs[j + 1] == xs[j] + 1:
            j += 1
        out.append(str(xs[i]) if i == j else "%d..%d" % (xs[i], xs[j]))
        i = j + 1
    return ",".join(out) or "none"


def run_detect_tasks(pool, tasks, t0):
    """Run detect_task over the pool, with progress on stderr."""
    res = []
    for i, r in enumerate(pool.imap_unordered(detect_task, tasks)):
        res.append(r)
        print("gt_bench: detect %d/%d (%.0f s)%s" % (i + 1, len(tasks), time.time() - t0,
                                                     " skipped" if r.get("skipped") else ""),
              file=sys.stderr)
    return res


def run_detect(opts, pool):
    seeds = list(range(opts.seed_start, opts.seed_start + opts.detect_seeds))
    t0 = time.time()
    deadline = t0 + opts.time_budget if opts.time_budget else None
    sfx = "" if opts.detect_strength == "standard" else "_" + opts.detect_strength
    tasks = [(v + sfx, s, opts, deadline) for s in seeds for v in ("break_stop", "break_control")]
    res = run_detect_tasks(pool, tasks, t0)
    # with a time budget: keep only seeds whose break and control runs both completed
    done = {}
    for r in res:
        if not r.get("skipped"):
            done.setdefault(r["seed"], []).append(r)
    seeds = sorted(s for s, rs in done.items() if len(rs) == 2)
    res = [r for s in seeds for r in done[s]]
    brk = sorted([r for r in res if r["variant"] == "break_stop" + sfx], key=lambda r: r["seed"])
    ctl = sorted([r for r in res if r["variant"] == "break_control" + sfx],
                 key=lambda r: r["seed"])
    horizon = brk[0]["buckets_after_break"] if brk else 0
    delays = [r["delay"] for r in brk]
    ctl_evals = sum(r["evaluations"] for r in ctl)
    year = ctl[0].get("year", 365.0) if ctl else 365.0     # buckets per year
    ctl_fires = sum(len(r["fires"]) for r in ctl)
    pre_evals = sum(max(0, r["break_row"] - r["first_row"]) for r in brk)
    pre_fires = sum(r["fires_before_break"] for r in brk)
    summary = {
        "driver": opts.detect_driver, "detect_cmd": opts.detect_cmd if opts.detect_driver ==
        "command" else None, "window": opts.window, "for": opts.for_evals,
        "arm_after": opts.arm_after, "keep_firing_for": opts.keep_firing_for,
        "strength": opts.detect_strength, "seeds": len(seeds), "seed_list": compact_ranges(seeds),
        "seeds_requested": opts.detect_seeds, "time_budget": opts.time_budget,
        "break_row": brk[0]["break_row"] if brk else None,
        "horizon_after_break": horizon,
        "delay_median": censored_median(delays, horizon),
        "delay_q25": quantile(delays, 0.25), "delay_q75": quantile(delays, 0.75),
        "detected": sum(d is not None for d in delays),
        "verdict_fail_delay_median": censored_median([r["verdict_fail_delay"] for r in brk],
                                                      horizon),
        "armed_share_break": armed_share(brk),
        "control_evaluations": ctl_evals, "control_alerts": ctl_fires,
        "false_alerts_per_edge_year": ctl_fires / (ctl_evals / year) if ctl_evals else None,
        "prebreak_alerts": pre_fires,
        "prebreak_false_alerts_per_edge_year": pre_fires / (pre_evals / year) if pre_evals else None,
        "control_flips_per_year": (sum(r["verdict_flips_away"] for r in ctl) / (ctl_evals / year))
        if ctl_evals else None,
        "armed_share_control": armed_share(ctl),
        "per_seed": {"break_stop": brk, "break_control": ctl},
    }
    return summary, time.time() - t0


NOISE_SETS = {"null": ("break_null",), "hourly": ("hourly_control", "hourly_null")}


def run_noise(opts, pool):
    """Detect mode with --detect-set null|hourly: data sets without a stop, so
    every alert is false; per variant the alerts per edge-year (evaluations /
    buckets per year: 365 daily, 8760 hourly)."""
    seeds = list(range(opts.seed_start, opts.seed_start + opts.detect_seeds))
    t0 = time.time()
    deadline = t0 + opts.time_budget if opts.time_budget else None
    tasks = [(v, s, opts, deadline) for s in seeds for v in NOISE_SETS[opts.detect_set]]
    res = run_detect_tasks(pool, tasks, t0)
    out = {"driver": opts.detect_driver, "detect_cmd": opts.detect_cmd, "window": opts.window,
           "set": opts.detect_set, "variants": {}}
    for v in NOISE_SETS[opts.detect_set]:
        rs = sorted([r for r in res if r["variant"] == v and not r.get("skipped")],
                    key=lambda r: r["seed"])
        ev = sum(r["evaluations"] for r in rs)
        fires = sum(len(r["fires"]) for r in rs)
        years = sum(r["evaluations"] / r["year"] for r in rs)
        out["variants"][v] = {
            "seeds": len(rs), "seed_list": compact_ranges([r["seed"] for r in rs]),
            "evaluations": ev, "edge_years": years, "alerts": fires,
            "false_alerts_per_edge_year": fires / years if years else None,
            "seeds_with_alerts": sum(bool(r["fires"]) for r in rs),
            "armed_share": armed_share(rs),
            "per_seed": rs}
    return out, time.time() - t0


def noise_table(s):
    lines = ["| variant (%s driver, window %d) | seeds | edge-years evaluated | alerts | "
             "**false alerts per edge-year** | seeds with an alert |" % (s["driver"], s["window"]),
             "|---|---|---|---|---|---|"]
    for v, r in s["variants"].items():
        lines.append("| %s | %d (%s) | %.1f | %d | **%s** | %d |" % (
            v, r["seeds"], r["seed_list"], r["edge_years"], r["alerts"],
            "-" if r["false_alerts_per_edge_year"] is None
            else "%.3f" % r["false_alerts_per_edge_year"], r["seeds_with_alerts"]))
    return "\n".join(lines)


def detect_table(s):
    def f(x):
        if x is None:
            return "-"
        if isinstance(x, str):
            return x
        return "inf" if x == float("inf") else fmt_num(x)
    dl = [r["delay"] for r in s["per_seed"]["break_stop"]]
    return "\n".join([
        "| detect (%s driver, window %d, for %d, arm_after %d, keep_firing_for %d) | value |"
        % (s["driver"], s["window"], s["for"], s["arm_after"], s["keep_firing_for"]),
        "|---|---|",
        "| seeds (break_stop + break_control) | %d + %d |" % (s["seeds"], s["seeds"]),
        "| break at row (day) | %s, %s buckets observed after it |" % (s["break_row"],
                                                                     s["horizon_after_break"]),
        "| **median detection delay** (first firing - break day) | **%s** buckets |"
        % f(s["delay_median"]),
        "| delay quartiles (25 %% / 75 %%) | %s / %s |" % (f(s["delay_q25"]), f(s["delay_q75"])),
        "| detected within the horizon | %d / %d |" % (s["detected"], s["seeds"]),
        "| delays per seed | %s |" % ", ".join("-" if d is None else str(d) for d in dl),
        "| first non-predicting verdict after the break (median) | %s buckets |"
        % f(s["verdict_fail_delay_median"]),
        "| edge armed (break_stop / control) | %s / %s |" % (pct(s["armed_share_break"]),
                                                           pct(s["armed_share_control"])),
        "| **false alerts per edge-year** (no-break control) | **%s** (%d alerts in %d evaluations) |"
        % ("-" if s["false_alerts_per_edge_year"] is None else "%.2f" % s["false_alerts_per_edge_year"],
           s["control_alerts"], s["control_evaluations"]),
        "| false alerts per edge-year before the break (break_stop) | %s (%d alerts) |"
        % ("-" if s["prebreak_false_alerts_per_edge_year"] is None
           else "%.2f" % s["prebreak_false_alerts_per_edge_year"], s["prebreak_alerts"]),
        "| window verdict flips away from leads/feedback per year (control) | %s |"
        % ("-" if s["control_flips_per_year"] is None else "%.1f" % s["control_flips_per_year"]),
    ])


# ---------------------------------------------------------------- main
def binary_info(path):
    info = {"path": path}
    try:
        with open(path, "rb") as f:
            info["sha256"] = hashlib.sha256(f.read()).hexdigest()
        r = subprocess.run([path, "--version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=30)
        info["version"] = r.stdout.strip()
    except OSError as e:
        info["error"] = str(e)
    return info


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Ground-truth benchmark of leadwatch verdicts (see README.md here).")
    ap.add_argument("--bin", default="./build/leadwatch", help="leadwatch binary (default %(default)s)")
    ap.add_argument("--mode", choices=("classify", "detect", "all"), default="classify")
    ap.add_argument("--seeds", type=int, default=50, help="seeds per situation (default 50)")
    ap.add_argument("--seed-start", type=int, default=1, help="first seed (default 1)")
    ap.add_argument("--detect-seeds", type=int, help="seeds for --mode detect (default --seeds)")
    ap.add_argument("--situations", help="comma list of situations/variants (default all)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2, at most "
                    "the CPU count)")
    ap.add_argument("--out", help="write the full results (per seed) as JSON here")
    ap.add_argument("--keep-csv", help="copy every classification CSV into this folder")
    ap.add_argument("--extra-args", default="",
                    help="extra arguments for every analyze call (e.g. '--ic bic')")
    ap.add_argument("--use-new-options", action="store_true",
                    help="also run variants that pass options leadwatch may not have yet "
                         "(holiday calendar); each is probed first, n/a if refused")
    ap.add_argument("--holidays-arg", default="--holidays {dates}",
                    help="how holiday dates are passed; {dates} = comma list of ISO dates "
                         "(default %(default)r)")
    # detect mode
    ap.add_argument("--window", type=int, default=90, help="analysis window in buckets (90)")
    ap.add_argument("--for", dest="for_evals", type=int, default=10,
                    help="alerts.for: failing evaluations before firing (10)")
    ap.add_argument("--arm-after", type=int, default=28, help="alerts.arm_after (28)")
    ap.add_argument("--keep-firing-for", type=int, default=2, help="alerts.keep_firing_for (2)")
    ap.add_argument("--detect-strength", choices=("standard", "strong", "hourly"),
                    default="standard",
                    help="detect mode: the lag-2 lead of lead2_stationary (standard, explains "
                         "~17 %% of the NSM's one-step variance), one explaining 50 %% (strong), or "
                         "hourly_weekly's lead over 20 weeks stopping at week 12 (hourly; use "
                         "--window 672)")
    ap.add_argument("--detect-set", choices=("break", "null", "hourly"), default="break",
                    help="detect mode: break = a stop and its control (delay, false alerts); "
                         "null = daily series with no link (450 days); hourly = hourly series "
                         "with an hour-of-week cycle, 20 weeks, lead kept and no link (false "
                         "alerts only; use --window 672)")
    ap.add_argument("--detect-driver", choices=("window", "command"), default="window",
                    help="window: one analyze per bucket on the sliding window (today's "
                         "daemon); command: run --detect-cmd once per data set")
    ap.add_argument("--time-budget", type=float,
                    help="detect mode: seconds after which no new seed is started; only "
                         "seeds with both runs complete are reported (default: none)")
    ap.add_argument("--detect-cmd",
                    help="command template for --detect-driver command; placeholders {bin} "
                         "{csv} {nsm} {input} {window} {for} {arm_after} {keep_firing_for}")
    ap.add_argument("--no-install-deps", action="store_true",
                    help="do not run scripts/install-deps --extra python3-numpy at start")
    o = ap.parse_args(argv)
    if o.detect_driver == "command" and not o.detect_cmd:
        ap.error("--detect-driver command needs --detect-cmd")
    o.detect_seeds = o.detect_seeds or o.seeds
    o.extra = shlex.split(o.extra_args)
    o.jobs = max(1, min(o.jobs, os.cpu_count() or 1))
    o.bin = os.path.abspath(o.bin)
    return o


def main(argv=None):
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    ensure_numpy(opts.no_install_deps)
    sys.path.insert(0, HERE)
    if not os.access(opts.bin, os.X_OK):
        sys.exit("gt_bench: %s is not an executable leadwatch binary (--bin)" % opts.bin)
    if opts.keep_csv:
        os.makedirs(opts.keep_csv, exist_ok=True)
    result = {"schema": "leadwatch.groundtruth/1",
              "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
              "binary": binary_info(opts.bin), "command": " ".join(map(shlex.quote, sys.argv)),
              "seeds": opts.seeds, "seed_start": opts.seed_start, "extra_args": opts.extra,
              "use_new_options": opts.use_new_options}
    ctx = mp.get_context("fork")
    with ctx.Pool(opts.jobs, initializer=sys.path.insert, initargs=(0, HERE)) as pool:
        if opts.mode in ("classify", "all"):
            summ, secs = run_classify(opts, pool)
            result["classify"] = summ
            result["classify_seconds"] = round(secs, 1)
            print("## Classification (%d seeds each, seeds %d..%d, %.0f s)\n"
                  % (opts.seeds, opts.seed_start, opts.seed_start + opts.seeds - 1, secs))
            print(classify_table(summ))
            print()
        if opts.mode in ("detect", "all") and opts.detect_set != "break":
            summ, secs = run_noise(opts, pool)
            result["detect"] = summ
            result["detect_seconds"] = round(secs, 1)
            print("## False alerts without a stop (%s, %.0f s)\n" % (opts.detect_set, secs))
            print(noise_table(summ))
            print()
        elif opts.mode in ("detect", "all"):
            summ, secs = run_detect(opts, pool)
            result["detect"] = summ
            result["detect_seconds"] = round(secs, 1)
            print("## Detection of a stopped lead (%d seeds, seeds %s, %.0f s)\n"
                  % (summ["seeds"], summ["seed_list"], secs))
            print(detect_table(summ))
            print()
    if opts.out:
        with open(opts.out, "w") as f:
            json.dump(result, f, indent=1, default=str)
        print("gt_bench: wrote %s" % opts.out, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
