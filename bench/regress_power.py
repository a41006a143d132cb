#!/usr/bin/env python3
"""How much may runs vary for `adasval diff` to show an A/A comparison equivalent?
(docs/REGRESSION.md, "Where the run-to-run variation comes from").

Simulates the latency checks of `diff` with runs as the unit: each run's statistic is
normal around 1 with a given coefficient of variation; the difference of the side means
gets the pooled-variance Student's t interval at 1 - 2·alpha, and the decision the four
outcomes of docs/REGRESSION.md with the margin relative to the baseline mean. Prints, for
each CV, the fraction of A/A comparisons judged `equivalent` (and of shifted ones judged
`regressed`, with --shift).

Usage: bench/regress_power.py [--runs 3] [--margins 0.05 0.10] [--shift 0.24] [--n 200000]
"""
import argparse

import numpy as np
from scipy import stats


def decisions(cv, margin, runs, shift, alpha, n, rng):
    b = rng.normal(1.0, cv, (n, runs))
    c = rng.normal(1.0 + shift, cv * (1.0 + shift), (n, runs))
    d = c.mean(1) - b.mean(1)
    se = np.sqrt((b.var(1, ddof=1) + c.var(1, ddof=1)) / 2.0) * np.sqrt(2.0 / runs)
    t = stats.t.ppf(1.0 - alpha, 2 * runs - 2)
    lo, hi, m = d - t * se, d + t * se, margin * b.mean(1)
    return {"equivalent": float(np.mean((lo > -m) & (hi < m))),
            "regressed": float(np.mean((lo > 0) & (d > m)))}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3, help="runs per side")
    p.add_argument("--margins", type=float, nargs="+", default=[0.05, 0.10])
    p.add_argument("--cvs", type=float, nargs="+",
                   default=[0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.06, 0.19])
    p.add_argument("--shift", type=float, default=0.24, help="relative slowdown of the shifted candidate")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--n", type=int, default=200_000, help="simulated comparisons per value")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    print("| run-to-run CV | " + " | ".join(f"{100 * cv:g}%" for cv in a.cvs) + " |")
    print("|---|" + "---|" * len(a.cvs))
    for m in a.margins:
        row = [decisions(cv, m, a.runs, 0.0, a.alpha, a.n, rng)["equivalent"] for cv in a.cvs]
        print(f"| A/A equivalent, margin {100 * m:g}% | " + " | ".join(f"{100 * x:.0f}%" for x in row) + " |")
    for m in a.margins[:1]:
        row = [decisions(cv, m, a.runs, a.shift, a.alpha, a.n, rng)["regressed"] for cv in a.cvs]
        print(f"| +{100 * a.shift:g}% regressed, margin {100 * m:g}% | "
              + " | ".join(f"{100 * x:.0f}%" for x in row) + " |")


if __name__ == "__main__":
    main()
