#!/usr/bin/python3
"""gt_sim.py - ground-truth simulator of product-metric situations for leadwatch.

Independent of `leadwatch simulate` (which simulates an event stream of a music
app): this module simulates the *bucketed series* directly, on the log scale with
multiplicative noise, so every value is positive like a real product metric and
the true lead structure is known exactly.  README.md (same folder) states every
situation, its parameters and what a correct verdict is.

Model (daily unless stated), for an input x and an NSM y, t = 0..n-1:

    a_t = PHI_X a_{t-1} + SIG_X e_t                         (x's own dynamics)
    b_t = PHI_Y b_{t-1} + beta_t a_{t-L} + SIG_Y u_t          (y: x enters at lag L)
    log x_t = log(LEVEL_X) + g t + dow_x[t mod 7] + a_t (+ special effects)
    log y_t = log(LEVEL_Y) + g t + dow_y[t mod 7] + b_t (+ special effects)

e, u iid N(0,1); a burn-in of BURN buckets is discarded so a, b start stationary;
g = log(1 + growth)/365 (0 = no trend); dow_* = day-of-week pattern drawn per
seed, N(0, DOW_SD) centred.  beta_t = beta (0 for nulls; 0 after the break day
in break_stop).  The stationary part of x (a) drives y, so the trends of x and y
are not compounded through the link and the null with trend is the same model
with beta = 0.

Usage as a script (to look at one data set):
    /usr/bin/python3 gt_sim.py SITUATION --seed 1 --out /tmp/x.csv
    /usr/bin/python3 gt_sim.py --list
    /usr/bin/python3 gt_sim.py --calibrate-weak     (oracle power at lag 7)
Only numpy and the standard library are used; seeds go through
numpy.random.default_rng(seed), so a (situation, seed) pair always gives the
same CSV.
"""

import argparse
import datetime as _dt
import math
import sys

import numpy as np

# ---------------------------------------------------------------- parameters
N_DAYS = 365               # one year of daily buckets
BURN = 300                 # discarded burn-in buckets
LEVEL_X = 20000.0          # e.g. daily active users
LEVEL_Y = 1.5e6            # e.g. daily listening minutes
PHI_X, SIG_X = 0.6, 0.06   # x: AR(1) on the log scale, 6 % daily shocks
PHI_Y, SIG_Y = 0.5, 0.05   # y: AR(1) on the log scale, 5 % daily shocks
BETA = 0.30                # lead strength (log-log; long-run elasticity BETA/(1-PHI_Y) = 0.6)
BETA_WEAK7 = 0.16          # weak lag-7 lead; see calibrate_weak(): oracle F-test at
                           # the true order 7 significant at 5 % in ~90 % of data sets
GROWTH = 0.20              # +20 %/year trend where a situation has a trend
DOW_SD = 0.04              # day-of-week effects, sd of the 7 log offsets
HOLIDAY_FACTOR = 2.7       # multiplicative spike on holidays, both series
HOLIDAYS_2024 = ["2024-01-01", "2024-03-31", "2024-05-27", "2024-07-04",
                 "2024-11-29", "2024-12-25"]
MISSING_SHARE = 0.03       # missing3: share of x and y cells left empty
START_DAY = _dt.date(2024, 1, 1)
START_HOUR = _dt.datetime(2024, 1, 1, 0, 0)
# hourly_weekly
N_HOURS = 8 * 168          # 8 weeks of hourly buckets
PHI_XH, SIG_XH = 0.8, 0.04
PHI_YH, SIG_YH = 0.6, 0.04
BETA_H = 0.30
# common_driver (marketing pulses)
CAMPAIGN_RATE = 1.0 / 21.0     # campaign starts per day (Poisson)
CAMPAIGN_DAYS = (3, 10)        # duration, uniform integer, inclusive
CAMPAIGN_BOOST = (1.0, 4.0)    # extra spend multiple while on, uniform
SPEND_LEVEL = 5000.0           # always-on spend per day
SPEND_SD = 0.05                # daily log noise of the spend
C_X = 0.25                     # log x responds to log spend the same day
C_Y = 0.15                     # log y responds to log spend one day later
# break_stop
BREAK_N = 450                  # 300 days leading, then 150 days of no link
BREAK_DAY = 300                # first day whose y no longer depends on x


class Dataset:
    """One simulated CSV: labels (first column), named columns (NaN = missing)."""

    def __init__(self, labels, columns, nsm, inputs, meta):
        self.labels = labels            # list of str
        self.columns = columns          # dict name -> np.ndarray (float, NaN = empty cell)
        self.nsm = nsm                  # NSM column name
        self.inputs = inputs            # list of input column names passed to --inputs
        self.meta = meta                # dict: true_lag, truth, holidays, driver, break_row, ...

    def nrows(self):
        return len(self.labels)

    def csv_text(self, first=0, last=None):
        """CSV text of rows first..last-1 (all by default)."""
        last = self.nrows() if last is None else last
        names = list(self.columns)
        out = ["period," + ",".join(names)]
        cols = [self.columns[k] for k in names]
        for i in range(first, last):
            cells = [self.labels[i]]
            for c in cols:
                v = c[i]
                cells.append("" if not np.isfinite(v) else "%.9g" % v)
            out.append(",".join(cells))
        return "\n".join(out) + "\n"

    def write_csv(self, path, first=0, last=None):
        with open(path, "w") as f:
            f.write(self.csv_text(first, last))


# ---------------------------------------------------------------- building blocks
def day_labels(n):
    return [(START_DAY + _dt.timedelta(days=i)).isoformat() for i in range(n)]


def hour_labels(n):
    return [(START_HOUR + _dt.timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            for i in range(n)]


def ar1(rng, n, phi, sig, burn=BURN):
    """Stationary AR(1) path of length n (burn-in discarded)."""
    e = rng.normal(0.0, sig, n + burn)
    a = np.empty(n + burn)
    a[0] = e[0] / math.sqrt(1.0 - phi * phi)
    for t in range(1, n + burn):
        a[t] = phi * a[t - 1] + e[t]
    return a[burn:]


def lead_pair(rng, n, lag, beta, phi_x=PHI_X, sig_x=SIG_X, phi_y=PHI_Y, sig_y=SIG_Y,
              beta_path=None, burn=BURN):
    """Log deviations (a, b): b_t = phi_y b_{t-1} + beta_t a_{t-lag} + sig_y u_t.

    beta_path (length n) overrides the constant beta per bucket (0 after a break).
    Draw order is fixed: x shocks, then y shocks.
    """
    m = n + burn
    e = rng.normal(0.0, sig_x, m)
    u = rng.normal(0.0, sig_y, m)
    a = np.empty(m)
    a[0] = e[0] / math.sqrt(1.0 - phi_x * phi_x)
    for t in range(1, m):
        a[t] = phi_x * a[t - 1] + e[t]
    bt = np.full(m, float(beta))
    if beta_path is not None:
        bt[burn:] = beta_path
    b = np.empty(m)
    b[0] = u[0] / math.sqrt(1.0 - phi_y * phi_y)
    for t in range(1, m):
        b[t] = phi_y * b[t - 1] + (bt[t] * a[t - lag] if t >= lag else 0.0) + u[t]
    return a[burn:], b[burn:]


def dow_pattern(rng, sd=DOW_SD):
    d = rng.normal(0.0, sd, 7)
    return d - d.mean()


def hour_of_week_cycle():
    """A fixed, strong hour-of-week (168) log pattern shared by both hourly series.

    Weekdays: a night trough, a morning commute bump (08:00) and an evening peak
    (20:00); weekends: a later, flatter day, no commute bump, +15 % level.
    Range about 1.6 on the log scale (x5 from trough to peak).
    """
    c = np.empty(168)
    for k in range(168):
        day, h = divmod(k, 24)
        if day < 5:   # Mon..Fri (2024-01-01 is a Monday)
            v = (0.55 * math.cos(2 * math.pi * (h - 20) / 24.0)
                 + 0.35 * math.exp(-((h - 8) ** 2) / 3.0))
        else:
            v = 0.15 + 0.60 * math.cos(2 * math.pi * (h - 21) / 24.0) \
                + 0.20 * math.exp(-((h - 14) ** 2) / 8.0)
        c[k] = v
    return c - c.mean()


# ---------------------------------------------------------------- situations
def _daily(rng, n, lag, beta, growth, beta_path=None):
    a, b = lead_pair(rng, n, lag, beta, beta_path=beta_path)
    dx, dy = dow_pattern(rng), dow_pattern(rng)
    t = np.arange(n)
    g = math.log1p(growth) / 365.0
    lx = math.log(LEVEL_X) + g * t + dx[t % 7] + a
    ly = math.log(LEVEL_Y) + g * t + dy[t % 7] + b
    return lx, ly


def _ds(lx, ly, labels, meta):
    return Dataset(labels, {"input": np.exp(lx), "nsm": np.exp(ly)}, "nsm", ["input"], meta)


def sim_lead(rng, lag=2, beta=BETA, growth=0.0, n=N_DAYS):
    lx, ly = _daily(rng, n, lag, beta, growth)
    truth = "leads" if beta != 0 else "none"
    return _ds(lx, ly, day_labels(n), {"truth": truth, "true_lag": lag if beta else None,
                                       "beta": beta, "growth": growth})


def sim_holidays(rng, n=N_DAYS):
    lx, ly = _daily(rng, n, 2, BETA, 0.0)
    labels = day_labels(n)
    idx = [labels.index(d) for d in HOLIDAYS_2024]
    lx[idx] += math.log(HOLIDAY_FACTOR)
    ly[idx] += math.log(HOLIDAY_FACTOR)
    return _ds(lx, ly, labels, {"truth": "leads", "true_lag": 2, "beta": BETA, "growth": 0.0,
                                "holidays": list(HOLIDAYS_2024)})


def sim_missing3(rng, n=N_DAYS):
    lx, ly = _daily(rng, n, 2, BETA, 0.0)
    ds = _ds(lx, ly, day_labels(n), {"truth": "leads", "true_lag": 2, "beta": BETA,
                                     "growth": 0.0, "missing_share": MISSING_SHARE})
    for name in ("input", "nsm"):
        mask = rng.random(n) < MISSING_SHARE
        ds.columns[name][mask] = np.nan
    ds.meta["missing_cells"] = int(sum(np.isnan(c).sum() for c in ds.columns.values()))
    return ds


def sim_hourly(rng, beta=BETA_H, n=N_HOURS):
    a, b = lead_pair(rng, n, 2, beta, PHI_XH, SIG_XH, PHI_YH, SIG_YH)
    c = hour_of_week_cycle()
    t = np.arange(n)
    lx = math.log(LEVEL_X / 24) + c[t % 168] + a
    ly = math.log(LEVEL_Y / 24) + c[t % 168] + b
    return _ds(lx, ly, hour_labels(n), {"truth": "leads" if beta else "none",
                                        "true_lag": 2 if beta else None, "beta": beta,
                                        "bucket": "hour"})


def sim_hourly_break(rng, broken=True, n=20 * 168, break_row=12 * 168):
    """hourly_weekly's lead (0.30 at lag 2 h) over 20 weeks, stopping at week 12, or not."""
    path = np.full(n, BETA_H)
    if broken:
        path[break_row:] = 0.0
    a, b = lead_pair(rng, n, 2, BETA_H, PHI_XH, SIG_XH, PHI_YH, SIG_YH, beta_path=path)
    c = hour_of_week_cycle()
    t = np.arange(n)
    lx = math.log(LEVEL_X / 24) + c[t % 168] + a
    ly = math.log(LEVEL_Y / 24) + c[t % 168] + b
    labels = hour_labels(n)
    return _ds(lx, ly, labels, {"truth": "break" if broken else "leads", "true_lag": 2,
                                "beta": BETA_H, "bucket": "hour",
                                "break_row": break_row if broken else None,
                                "break_period": labels[break_row] if broken else None})


def sim_null_ar95(rng, n=N_DAYS):
    # independent AR(0.95) log series; shocks scaled so the sd of each is ~0.15
    sig = 0.15 * math.sqrt(1 - 0.95 ** 2)
    a = ar1(rng, n, 0.95, sig)
    b = ar1(rng, n, 0.95, sig)
    return _ds(math.log(LEVEL_X) + a, math.log(LEVEL_Y) + b, day_labels(n),
               {"truth": "none", "true_lag": None, "phi": 0.95})


def marketing_spend(rng, n):
    """Log spend deviation d_t (>= about 0 off-campaign) and the spend itself."""
    boost = np.zeros(n + 20)
    t = -10
    while True:
        t += int(rng.exponential(1.0 / CAMPAIGN_RATE)) + 1
        if t >= n:
            break
        dur = int(rng.integers(CAMPAIGN_DAYS[0], CAMPAIGN_DAYS[1] + 1))
        mult = rng.uniform(*CAMPAIGN_BOOST)
        lo, hi = max(t, 0), t + dur
        if hi > 0:
            boost[lo:hi] += mult
    noise = rng.normal(0.0, SPEND_SD, n)
    d = np.log1p(boost[:n]) + noise
    return d, SPEND_LEVEL * np.exp(d)


def sim_common_driver(rng, n=N_DAYS):
    """Pulses drive x the same day and y one day later; no x -> y link."""
    d, spend = marketing_spend(rng, n)
    m = n + BURN
    e = rng.normal(0.0, SIG_X, m)
    u = rng.normal(0.0, SIG_Y, m)
    dd = np.concatenate([np.zeros(BURN), d])
    a = np.empty(m)
    b = np.empty(m)
    a[0], b[0] = 0.0, 0.0
    for t in range(1, m):
        a[t] = PHI_X * a[t - 1] + e[t]
        b[t] = PHI_Y * b[t - 1] + C_Y * dd[t - 1] + u[t]
    a, b = a[BURN:], b[BURN:]
    dx, dy = dow_pattern(rng), dow_pattern(rng)
    t = np.arange(n)
    lx = math.log(LEVEL_X) + dx[t % 7] + a + C_X * d
    ly = math.log(LEVEL_Y) + dy[t % 7] + b
    ds = Dataset(day_labels(n), {"input": np.exp(lx), "nsm": np.exp(ly), "marketing": spend},
                 "nsm", ["input"], {"truth": "none", "true_lag": None, "driver": "marketing",
                                    "campaign_days": int((d > 0.3).sum())})
    return ds


def sim_break(rng, broken=True, n=BREAK_N, break_day=BREAK_DAY, beta=BETA):
    """Lag-2 lead (lead2_stationary parameters) that stops at break_day, or not."""
    path = np.full(n, beta)
    if broken:
        path[break_day:] = 0.0
    lx, ly = _daily(rng, n, 2, beta, 0.0, beta_path=path)
    return _ds(lx, ly, day_labels(n), {"truth": "break" if broken else "leads", "true_lag": 2,
                                       "beta": beta, "break_row": break_day if broken else None,
                                       "break_period": day_labels(n)[break_day] if broken else None})


# name -> (generator(rng) -> Dataset, kind, one-line description)
#   kind "lead": correct = `leads`; "null": correct = no direction claimed
SITUATIONS = {
    "lead2_stationary": (lambda r: sim_lead(r, 2, BETA, 0.0), "lead",
                         "x leads y at lag 2, no trend"),
    "lead2_trend": (lambda r: sim_lead(r, 2, BETA, GROWTH), "lead",
                    "x leads y at lag 2, +20 %/year trend in both"),
    "lead14_trend": (lambda r: sim_lead(r, 14, BETA, GROWTH), "lead",
                     "x leads y at lag 14, +20 %/year trend in both"),
    "weak_lead7_trend": (lambda r: sim_lead(r, 7, BETA_WEAK7, GROWTH), "lead",
                         "weak lead at lag 7, +20 %/year trend in both"),
    "holidays": (sim_holidays, "lead",
                 "lag-2 lead + six holiday spikes x2.7 on the same day in both"),
    "missing3": (sim_missing3, "lead", "lag-2 lead, 3 % of x and y cells empty at random"),
    "hourly_weekly": (lambda r: sim_hourly(r, BETA_H), "lead",
                      "hourly, 8 weeks, strong hour-of-week cycle, lead at lag 2 h"),
    "hourly_weekly_null": (lambda r: sim_hourly(r, 0.0), "null",
                           "hourly, 8 weeks, same hour-of-week cycle, independent"),
    "null_trend": (lambda r: sim_lead(r, 2, 0.0, GROWTH), "null",
                   "independent series, +20 %/year trend in both"),
    "null_ar95": (sim_null_ar95, "null", "independent AR(0.95) log series"),
    "common_driver": (sim_common_driver, "null",
                      "marketing pulses drive x (day t) and y (day t+1), no x -> y link"),
}

# A strong lead for the detection curve: BETA_STRONG^2 var(x) = SIG_Y^2, so
# the lead explains half of y's one-step variance (v = 1 in the stop
# monitor's terms, monitor.h) instead of ~17 % (v = 0.2) with BETA.
BETA_STRONG = SIG_Y * np.sqrt(1.0 - PHI_X ** 2) / SIG_X

BREAK_VARIANTS = {
    "break_stop": lambda r: sim_break(r, True),
    "break_control": lambda r: sim_break(r, False),
    "break_stop_strong": lambda r: sim_break(r, True, beta=BETA_STRONG),
    "break_control_strong": lambda r: sim_break(r, False, beta=BETA_STRONG),
    "break_stop_hourly": lambda r: sim_hourly_break(r, True),
    "break_control_hourly": lambda r: sim_hourly_break(r, False),
}

# Noise sets of the detect mode (no stop: every alert is false).  break_null:
# the break_control model with no link (450 days); hourly_*: the hourly_weekly
# model (hour-of-week cycle, lead 0.30 at lag 2 h, or no link) over 20 weeks.
N_HOURS_LONG = 20 * 168
NOISE_VARIANTS = {
    "break_null": lambda r: sim_break(r, False, beta=0.0),
    "hourly_control": lambda r: sim_hourly(r, BETA_H, n=N_HOURS_LONG),
    "hourly_null": lambda r: sim_hourly(r, 0.0, n=N_HOURS_LONG),
}


def generate(name, seed):
    """Dataset of situation `name` (or a break variant) for one seed."""
    rng = np.random.default_rng(seed)
    if name in SITUATIONS:
        return SITUATIONS[name][0](rng)
    if name in BREAK_VARIANTS:
        return BREAK_VARIANTS[name](rng)
    if name in NOISE_VARIANTS:
        return NOISE_VARIANTS[name](rng)
    raise KeyError(name)


# ---------------------------------------------------------------- oracle power check
def _f_crit(d1, d2, alpha=0.05, draws=400000, seed=12345):
    r = np.random.default_rng(seed)
    f = (r.chisquare(d1, draws) / d1) / (r.chisquare(d2, draws) / d2)
    return float(np.quantile(f, 1 - alpha))


def oracle_granger_share(beta, lag=7, seeds=range(1000, 1200), n=N_DAYS):
    """Share of data sets where the Granger F-test at the true order `lag`, on the
    true log deviations (trend and day-of-week known and removed), rejects at 5 %.
    Seeds 1000.. are disjoint from the benchmark's seeds 1..N."""
    hits, crit = 0, None
    for s in seeds:
        rng = np.random.default_rng(s)
        a, b = lead_pair(rng, n, lag, beta)
        T = n - lag
        Y = b[lag:]
        ylags = np.column_stack([b[lag - j:n - j] for j in range(1, lag + 1)])
        xlags = np.column_stack([a[lag - j:n - j] for j in range(1, lag + 1)])
        Xr = np.column_stack([np.ones(T), ylags])
        Xu = np.column_stack([Xr, xlags])
        ssr_r = np.sum((Y - Xr @ np.linalg.lstsq(Xr, Y, rcond=None)[0]) ** 2)
        ssr_u = np.sum((Y - Xu @ np.linalg.lstsq(Xu, Y, rcond=None)[0]) ** 2)
        d2 = T - Xu.shape[1]
        F = ((ssr_r - ssr_u) / lag) / (ssr_u / d2)
        if crit is None:
            crit = _f_crit(lag, d2)
        hits += F > crit
    return hits / len(seeds)


def main(argv=None):
    ap = argparse.ArgumentParser(description="ground-truth simulator (see README.md)")
    ap.add_argument("situation", nargs="?")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="CSV path (default: stdout)")
    ap.add_argument("--list", action="store_true", help="list the situations")
    ap.add_argument("--calibrate-weak", action="store_true",
                    help="oracle power of the lag-7 test for a few betas")
    a = ap.parse_args(argv)
    if a.list:
        for k, (_, kind, desc) in SITUATIONS.items():
            print("%-20s %-5s %s" % (k, kind, desc))
        for k in BREAK_VARIANTS:
            print("%-20s %-5s %s" % (k, "break", "detect mode"))
        return 0
    if a.calibrate_weak:
        for beta in (0.10, 0.12, 0.14, 0.16, 0.20):
            print("beta %.2f: oracle lag-7 F-test significant in %.1f %%"
                  % (beta, 100 * oracle_granger_share(beta)))
        return 0
    if not a.situation:
        ap.error("a situation is required (--list)")
    ds = generate(a.situation, a.seed)
    if a.out:
        ds.write_csv(a.out)
        print("wrote %s: %d rows, nsm %s, inputs %s, meta %s"
              % (a.out, ds.nrows(), ds.nsm, ",".join(ds.inputs), ds.meta), file=sys.stderr)
    else:
        sys.stdout.write(ds.csv_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
