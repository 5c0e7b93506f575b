#!/usr/bin/python3
"""Coverage of the experiment effect intervals (issue 16): the 95 % interval
of `leadwatch experiments` must cover the true relative effect in 93-97 % of
simulated experiments.

    /usr/bin/python3 bench/exp_coverage.py build/leadwatch [--experiments 300] [--seed 7]

Simulates per-user data for N two-arm experiments (3000-20000 users per
arm; true relative effects drawn N(0, 0.05) per metric, known exactly from
the simulation's parameters), with three metric kinds:
  count     per-user Poisson(2 g (1 + d)), g ~ Gamma(2, 1/2) user heterogeneity
  distinct  per-user Bernoulli(0.25 (1 + d))
  ratio     num ~ Poisson(0.3 den (1 + d)), den ~ 1 + Poisson(4 g)
turns them into the 64-bucket aggregate CSV (scripts/exp_sim.py), runs
`leadwatch experiments --aggregates --format json` and counts how often
[lo, hi] holds the true d.  Prints one line per metric and the total, and
exits 1 when the total is outside 93-97 %.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import exp_sim  # noqa: E402

NB = 64


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("leadwatch")
    ap.add_argument("--experiments", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    rows, truth = [], {}
    for e in range(a.experiments):
        name = "c%03d" % e
        n = int(rng.integers(6000, 40000))
        arm = rng.integers(0, 2, size=n)
        arm[:2] = [0, 1]
        d = rng.normal(0.0, 0.05, size=3)
        g = rng.gamma(2.0, 0.5, size=n)
        den = 1 + rng.poisson(4.0 * g)
        lift = lambda k: 1.0 + d[k] * arm  # noqa: E731
        mets = [
            ("count", "short", rng.poisson(2.0 * g * lift(0)), None),
            ("distinct", "short", (rng.random(n) < 0.25 * lift(1)).astype(float), None),
            ("ratio", "long", rng.poisson(0.3 * den * lift(2)), den),
        ]
        variants = np.where(arm == 0, "control", "treatment")
        rows += exp_sim.aggregate(name, variants, rng.integers(0, NB, size=n), mets, NB)
        truth[name] = dict(zip(["count", "distinct", "ratio"], d))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "agg.csv")
        exp_sim.write_csv(rows, path)
        out = subprocess.run(
            [a.leadwatch, "experiments", "--aggregates", path, "--nsm", "ratio", "--inputs",
             "count,distinct", "--format", "json"],
            check=True, capture_output=True, text=True).stdout
    doc = json.loads(out)
    hits = {"count": [0, 0], "distinct": [0, 0], "ratio": [0, 0]}
    for ex in doc["experiments"]:
        for eff in ex["arms"][0]["effects"]:
            t = truth[ex["experiment"]][eff["metric"]]
            h = hits[eff["metric"]]
            h[0] += eff["lo"] <= t <= eff["hi"]
            h[1] += 1
    tot = [sum(h[0] for h in hits.values()), sum(h[1] for h in hits.values())]
    for k, (c, n) in hits.items():
        print("%-9s coverage %.1f %% (%d of %d)" % (k, 100.0 * c / n, c, n))
    cov = 100.0 * tot[0] / tot[1]
    print("total     coverage %.1f %% (%d of %d intervals, %d experiments, seed %d)"
          % (cov, tot[0], tot[1], a.experiments, a.seed))
    return 0 if 93.0 <= cov <= 97.0 else 1


if __name__ == "__main__":
    sys.exit(main())
