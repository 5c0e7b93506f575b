"""Shared helpers for the experiment (issue 16) references, coverage bench and
ground truth: per-user simulated experiments turned into the aggregate table
of include/leadwatch/stats/experiment.h (experiment x variant x metric x window
x user bucket: users, num, den) and written as the CSV contract of
`leadwatch experiments --aggregates`.

A user's bucket is drawn uniformly in 0..nb-1 independently of its variant,
as the hash of the user key is in leadwatch.  Used by
scripts/gen_stats_refs_exp.py, bench/exp_coverage.py and
bench/groundtruth/gt_experiments.py.
"""
import csv

import numpy as np

HEADER = ["experiment", "variant", "metric", "window", "bucket", "users", "num", "den"]


def aggregate(experiment, variants, bucket, metrics, nb):
    """Rows of the aggregate table for one experiment.

    variants: array of variant names per user; bucket: array of bucket per
    user; metrics: list of (metric, window, num, den) with per-user arrays
    (den None: the metric's denominator is the user count).  Variants come
    out in order of first appearance in `variants`, buckets 0..nb-1 each
    (empty buckets as zero rows, so every cell has nb rows)."""
    rows = []
    _, first = np.unique(variants, return_index=True)
    order = [variants[i] for i in sorted(first)]
    for v in order:
        sel = variants == v
        b = bucket[sel]
        users = np.bincount(b, minlength=nb).astype(float)
        for metric, window, num, den in metrics:
            nsum = np.bincount(b, weights=num[sel].astype(float), minlength=nb)
            dsum = users if den is None else np.bincount(b, weights=den[sel].astype(float),
                                                         minlength=nb)
            for k in range(nb):
                rows.append((experiment, v, metric, window, k, users[k], nsum[k], dsum[k]))
    return rows


def fmt(v):
    """Exact decimal for a float that is a whole number, repr otherwise."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)


def write_csv(rows, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        for r in rows:
            w.writerow(list(r[:5]) + [fmt(x) for x in r[5:]])


def bucket_mean_var(num, den):
    """Ratio estimator and its between-bucket delta variance (experiment.h)."""
    B = len(num)
    m = num.sum() / den.sum()
    r = num - m * den
    return m, B / (B - 1) * (r @ r) / den.sum() ** 2
