#!/usr/bin/python3
"""check_sim_truth.py - verify with statsmodels that the simulator's realised
daily series carry the lead structure docs/SIMULATOR.md promises.

How it works: it compiles a tiny C driver against src/model/simulate.c (plus
common.c and timeutil.c) into a temporary directory, runs the whole event
stream for each requested seed, and reads the exact per-day truth as CSV
(lw_sim_truth_csv_row).  On those series (log scale, day-of-week means
removed = `seasonal: weekly`) it runs statsmodels' grangercausalitytests in
both directions for every edge and prints the SSR F-test p-value at lags
1..7, the lag AIC picks for the unrestricted model, and a verdict-like
summary.  For a --break-day run it also scans a Chow F statistic over
candidate break days of the playlists coefficients in NSM_t ~ NSM lags +
playlists lags (the sup-F estimate of the break date) and compares the playlists -> NSM Granger p before
and after the true break.

Usage: scripts/check_sim_truth.py [--days 365] [--seeds 1,2,3] [--break-day 200]
Exit status 1 when an expectation fails (so CI can run it).
"""
import argparse
import io
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tsa.stattools import grangercausalitytests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVER = r"""
#include "leadwatch/model/simulate.h"
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    lw_sim_opts_t o;
    lw_sim_opts_default(&o);
    o.days = atoi(argv[1]);
    o.seed = strtoull(argv[2], NULL, 10);
    o.break_day = atoi(argv[3]);
    char err[256], line[LW_SIM_MAX_LINE];
    size_t len;
    lw_sim_t *s = lw_sim_new(&o, err, sizeof err);
    if (!s) { fprintf(stderr, "%s\n", err); return 1; }
    while (lw_sim_next(s, line, sizeof line, &len, NULL, err, sizeof err) == LW_OK && len) {}
    lw_sim_truth_csv_header(line, sizeof line, &len);
    fwrite(line, 1, len, stdout);
    for (int d = 0; d < o.days; d++) {
        if (lw_sim_truth_csv_row(s, d, line, sizeof line, &len) != LW_OK) return 1;
        fwrite(line, 1, len, stdout);
    }
    lw_sim_destroy(s);
    return 0;
}
"""

# (name, x, y, true lag or None, expected relation)
EDGES = [
    ("breadth  active_users -> NSM", "active_users", "nsm", 1, "leads"),
    ("frequency sessions/user -> NSM", "sessions_per_user", "nsm", 2, "leads"),
    ("depth    playlists -> NSM", "playlists_created", "nsm", 3, "leads"),
    ("distractor searches -> NSM", "searches", "nsm", None, "none"),
    ("follower track_shared -> NSM", "track_shared", "nsm", 2, "reverse"),
    ("KPI      NSM -> revenue", "nsm", "revenue", 5, "leads"),
]
MAXLAG = 7
ALPHA = 0.01


def build(tmp):
    src = os.path.join(tmp, "driver.c")
    exe = os.path.join(tmp, "driver")
    with open(src, "w") as f:
        f.write(DRIVER)
    cmd = ["cc", "-std=c11", "-O2", "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE",
           "-I" + os.path.join(ROOT, "include"), src,
           os.path.join(ROOT, "src/model/simulate.c"), os.path.join(ROOT, "src/core/common.c"),
           os.path.join(ROOT, "src/core/timeutil.c"), "-lgsl", "-lgslcblas", "-lm", "-o", exe]
    subprocess.run(cmd, check=True)
    return exe


def truth(exe, days, seed, break_day):
    out = subprocess.run([exe, str(days), str(seed), str(break_day)], check=True,
                         capture_output=True, text=True).stdout
    df = pd.read_csv(io.StringIO(out), parse_dates=["date"])
    df["nsm"] = df["listening_minutes"]
    return df


def prepare(df, weekly=True):
    """log scale, then remove day-of-week means (seasonal: weekly)."""
    cols = ["active_users", "sessions_per_user", "playlists_created", "nsm", "searches",
            "track_shared", "revenue"]
    z = np.log(df[cols].astype(float))
    if weekly:
        dow = df["date"].dt.dayofweek
        z = z - z.groupby(dow).transform("mean")
    return z


def granger_p(z, x, y, maxlag=MAXLAG):
    """p of the SSR F-test that x Granger-causes y, lags 1..maxlag, plus AIC lag."""
    res = grangercausalitytests(z[[y, x]].values, maxlag=maxlag, verbose=False)
    ps = [res[k][0]["ssr_ftest"][1] for k in range(1, maxlag + 1)]
    # AIC of the unrestricted model on a common sample (first maxlag rows dropped)
    aic, bic = [], []
    yv, xv = z[y].values, z[x].values
    n = len(yv)
    for k in range(1, maxlag + 1):
        rows = range(maxlag, n)
        X = [[yv[t - j] for j in range(1, k + 1)] + [xv[t - j] for j in range(1, k + 1)]
             for t in rows]
        fit = sm.OLS(yv[maxlag:], sm.add_constant(np.array(X))).fit()
        aic.append(fit.aic)
        bic.append(fit.bic)
    return ps, int(np.argmin(aic)) + 1, int(np.argmin(bic)) + 1


def best_k(z, x, y, maxlag=MAXLAG):
    """The lead by lagged correlation: argmax over k = 0..maxlag of corr(y_t, x_{t-k})."""
    yv, xv = z[y].values, z[x].values
    c = [np.corrcoef(yv[maxlag:], xv[maxlag - k:len(xv) - k])[0, 1] for k in range(maxlag + 1)]
    return int(np.argmax(c))


def fmt(ps, mark):
    return " ".join(("[%8.1e]" if k + 1 == mark else " %8.1e ") % p for k, p in enumerate(ps))


def chow_scan(z, y, x, lags=3, trim=0.15):
    """sup-F over candidate breaks b of a break in the x coefficients only:
    y_t ~ const + y lags + x lags + 1[t >= b] * x lags; F of the interactions."""
    yv, xv = z[y].values, z[x].values
    n = len(yv)
    Y = yv[lags:]
    ylag = np.array([[yv[t - j] for j in range(1, lags + 1)] for t in range(lags, n)])
    xlag = np.array([[xv[t - j] for j in range(1, lags + 1)] for t in range(lags, n)])
    base = sm.add_constant(np.hstack([ylag, xlag]))
    ssr_r = sm.OLS(Y, base).fit().ssr
    m = len(Y)
    best = (0.0, None)
    for b in range(int(trim * m), int((1 - trim) * m)):
        step = np.zeros((m, 1))
        step[b:] = 1.0
        fit = sm.OLS(Y, np.hstack([base, xlag * step])).fit()
        f = ((ssr_r - fit.ssr) / lags) / (fit.ssr / fit.df_resid)
        if f > best[0]:
            best = (f, b + lags)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--break-day", type=int, default=200)
    args = ap.parse_args()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(tmp)
        for seed in [int(s) for s in args.seeds.split(",")]:
            df = truth(exe, args.days, seed, -1)
            z = prepare(df)
            print(f"\n== seed {seed}, {args.days} days, no break; mean events/day "
                  f"{df[['sessions', 'track_played', 'playlists_created', 'searches', 'track_shared', 'purchases']].sum(axis=1).mean():.0f}")
            print("   seasonal: weekly, log scale; SSR F-test p at lags 1..7, [true lag]; "
                  "AIC lag")
            for name, x, y, lag, rel in EDGES:
                p_fwd, aic_fwd, bic_fwd = granger_p(z, x, y)
                p_rev, aic_rev, bic_rev = granger_p(z, y, x)
                k_fwd, k_rev = best_k(z, x, y), best_k(z, y, x)
                print(f"  {name:34s} x->y {fmt(p_fwd, lag if rel == 'leads' else 0)} "
                      f"aic={aic_fwd} bic={bic_fwd} ccf_k={k_fwd}")
                print(f"  {'':34s} y->x {fmt(p_rev, lag if rel == 'reverse' else 0)} "
                      f"aic={aic_rev} bic={bic_rev} ccf_k={k_rev}")
                fwd = min(p_fwd[:3]) if rel != "leads" else p_fwd[lag - 1]
                rev = min(p_rev[:3]) if rel != "reverse" else p_rev[lag - 1]
                ok = {"leads": fwd < 1e-6 and k_fwd == lag and min(p_rev[:3]) > ALPHA,
                      "reverse": rev < 1e-6 and k_rev == lag and min(p_fwd[:3]) > ALPHA,
                      "none": min(p_fwd[:3]) > ALPHA}[rel]
                if not ok:
                    failures.append(f"seed {seed}: {name} ({rel})")
            zn = prepare(df, weekly=False)
            p_raw, _, _ = granger_p(zn, "searches", "nsm")
            print(f"  without seasonal adjustment, searches -> NSM: {fmt(p_raw, 0)}")

            if 0 < args.break_day < args.days:
                dfb = truth(exe, args.days, seed, args.break_day)
                zb = prepare(dfb)
                D = args.break_day
                pre = granger_p(zb.iloc[:D], "playlists_created", "nsm")[0]
                post = granger_p(zb.iloc[D:], "playlists_created", "nsm")[0]
                f_b, at_b = chow_scan(zb, "nsm", "playlists_created")
                f_0, at_0 = chow_scan(z, "nsm", "playlists_created")
                print(f"  break at day {D}: playlists -> NSM p at lag 3 before {pre[2]:.1e}, "
                      f"after {post[2]:.1e}; sup-F {f_b:.1f} at day {at_b} "
                      f"(no-break run: sup-F {f_0:.1f} at day {at_0})")
                if not (pre[2] < 1e-6 and post[2] > 1e-3 and abs(at_b - D) <= 25 and f_b > f_0):
                    failures.append(f"seed {seed}: break at {D} not recovered")
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        return 1
    print("\nall expectations hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
