#!/usr/bin/python3
"""statsmodels side of bench/bench_granger.c.

Usage: granger_statsmodels.py SERIES_FILE EDGES REPS
  SERIES_FILE  whitespace table, one column per metric, one row per bucket
               (written by bench_granger so both sides use identical data)
  EDGES        "from:to,from:to,..." column indices
  REPS         number of timed repetitions

Each repetition runs grangercausalitytests for every edge in both directions
(x -> y and y -> x) with maxlag = 28, i.e. lags 1..28, which is the same work
bench_granger times.  Prints "median_s <seconds per repetition>",
"per_edge_lag_ms <ms per (edge, direction, lag)>" and "fsum <sum of all ssr F
statistics>" so the C side can check both computed the same thing.
"""
import sys
import time
import warnings

import numpy as np
from statsmodels.tsa.stattools import grangercausalitytests

warnings.simplefilter("ignore")
MAXLAG = 28


def run(data, edges):
    fsum = 0.0
    for a, b in edges:
        for y, x in ((b, a), (a, b)):
            res = grangercausalitytests(data[:, [y, x]], MAXLAG, verbose=False)
            fsum += sum(res[p][0]["ssr_ftest"][0] for p in range(1, MAXLAG + 1))
    return fsum


def main():
    data = np.loadtxt(sys.argv[1])
    edges = [tuple(int(v) for v in e.split(":")) for e in sys.argv[2].split(",")]
    reps = int(sys.argv[3])
    fsum = run(data, edges)  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        run(data, edges)
        times.append(time.perf_counter() - t0)
    med = float(np.median(times))
    print("median_s %.9f" % med)
    print("per_edge_lag_ms %.6f" % (med * 1e3 / (len(edges) * 2 * MAXLAG)))
    print("fsum %.17g" % fsum)


if __name__ == "__main__":
    main()
