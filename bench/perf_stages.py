#!/usr/bin/python3
"""perf_stages.py - share of lw_analyze_tree's CPU per analysis stage (issue 17).

Reads a `perf record --call-graph dwarf` file of a leadwatch binary built with
debug info (RelWithDebInfo) and prints, for each stage of the per-edge
analysis (src/stats/analyze.c), its inclusive samples as a share of
lw_analyze_tree's.  The stage functions are static and mostly inlined; perf
reports inlined frames by name with dwarf unwinding, which is what this reads.
Multiply a share by the analysis CPU time that bench_eval prints to get ms.

Usage: perf record --call-graph dwarf,16384 -F 1000 -o P.data build/bench_eval h.yaml h.db 5
       bench/perf_stages.py P.data
"""
import re
import subprocess
import sys

STAGES = [
    ("lw_analyze_tree", "analysis (lw_analyze_tree)"),
    ("lw_prep_series", "preparation (season/trend, outliers, gaps, ADF, KPSS)"),
    ("lw_adf_ex", "  of which ADF"),
    ("lw_analyze_dir_search", "lag search (own order + single-lag tests, Simes), both directions"),
    ("lw_granger_scan", "Granger scan, lags 1..K, both directions"),
    ("lw_analyze_pair_test", "chosen-lag Granger refits (stability windows, regimes)"),
    ("lw_analyze_stability_dir", "  of which stability sub-windows"),
    ("lagged_regression", "lagged regression + HAC"),
    ("cross_correlation", "prewhitened CCF"),
    ("lw_analyze_oos_dir", "rolling-origin forecasts + Clark-West"),
    ("structural_break", "HC sup-Wald break test (trimmed range)"),
    ("sensitivity", "sensitivity (MDE)"),
]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = subprocess.run(
        ["perf", "report", "-i", sys.argv[1], "--children", "--stdio", "--no-demangle", "-g", "none"],
        capture_output=True, text=True, check=True).stdout
    pat = re.compile(r"\s+([\d.]+)%\s+[\d.]+%\s+\S+\s+\S+\s+\[\.\]\s+(\w+)")
    got = {}
    for line in out.splitlines():
        m = pat.match(line)
        if m:
            got[m.group(2)] = max(got.get(m.group(2), 0.0), float(m.group(1)))
    total = got.get("lw_analyze_tree")
    if not total:
        sys.exit("perf_stages: no lw_analyze_tree samples (dwarf call graphs and debug info needed)")
    for sym, label in STAGES:
        if sym in got:
            print("%-64s %5.1f %%" % (label, 100.0 * got[sym] / total))


if __name__ == "__main__":
    main()
