#!/usr/bin/env python3
"""What pairing buys, from one `--design sessions` A/A calibration (its --out file).

Each A/A comparison of `regress_calibration.py --design sessions` holds three sessions, and
each session one p50 and one p99 per engine. Judged paired (as `diff --sessions` does:
the candidate engine against the baseline engine of the same session), and judged as
independent runs (the baseline engine of comparison i against the candidate engine of
comparison i + 1: other processes, the same machine minutes later, i.e. what three separate
runs per side see). Paired, the p50's change of each session is the one its time-matched
blocks give (`matched_p50_change_ms` of the record, written by regress_calibration.py from
the sessions' latencies.csv and schedule, as `diff --sessions` estimates it); independent,
the sessions' own p50s. The same TOST rule as `diff` with its default margins (5% for the
p50, 10% for the p99, at least 0.05 ms) and alpha = 0.05, from scipy's t distribution;
an overall `equivalent` needs both checks, and `regressed` or `improved` must hold at
alpha / 2 (the Bonferroni rule of docs/REGRESSION.md).

Usage: bench/sessions_contrast.py FILE.jsonl
"""
import json
import math
import sys
from collections import Counter

from scipy import stats

ALPHA = 0.05


def decide(delta, se, df, margin, k=2):
    h = stats.t.ppf(1 - ALPHA, df) * se
    lo, hi = delta - h, delta + h
    if lo > -margin and hi < margin:
        return "equivalent"
    hk = stats.t.ppf(1 - ALPHA / k, df) * se
    if lo > 0 and delta > margin:
        return "regressed" if delta - hk > 0 else "inconclusive"
    if hi < 0 and delta < -margin:
        return "improved" if delta + hk < 0 else "inconclusive"
    return "inconclusive"


def paired(b, c, margin):
    d = [y - x for x, y in zip(b, c)]
    n = len(d)
    mu = sum(d) / n
    sd = math.sqrt(sum((x - mu) ** 2 for x in d) / (n - 1))
    return decide(mu, sd / math.sqrt(n), n - 1, margin)


def independent(b, c, margin):
    nb, nc = len(b), len(c)
    mb, mc = sum(b) / nb, sum(c) / nc
    df = nb + nc - 2
    ss = sum((x - mb) ** 2 for x in b) + sum((x - mc) ** 2 for x in c)
    return decide(mc - mb, math.sqrt(ss / df * (1 / nb + 1 / nc)), df, margin)


def overall(decisions):
    if "regressed" in decisions:
        return "regressed"
    if "inconclusive" in decisions:
        return "inconclusive"
    return "improved" if "improved" in decisions else "equivalent"


def main():
    recs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    aa = [r for r in recs if r.get("type") == "comparison" and r.get("kind") == "aa"
          and r.get("design") == "sessions"]
    if len(aa) < 2:
        sys.exit(f"{sys.argv[1]}: fewer than two A/A comparisons of --design sessions")
    out = {}
    for how in ("paired", "independent"):
        per_check = {"p50": Counter(), "p99": Counter()}
        total = Counter()
        for i, r in enumerate(aa):
            cand = r if how == "paired" else aa[(i + 1) % len(aa)]
            got = []
            for stat, rel in (("p50", 0.05), ("p99", 0.10)):
                b = [u[f"{stat}_ms"] for u in r["baseline_runs"]]
                c = [u[f"{stat}_ms"] for u in cand["candidate_runs"]]
                matched = r.get("matched_p50_change_ms")
                if how == "paired" and stat == "p50" and matched and None not in matched:
                    # diff's p50 change of a session: its time-matched blocks
                    c = [x + d for x, d in zip(b, matched)]
                margin = max(rel * sum(b) / len(b), 0.05)
                d = (paired if how == "paired" else independent)(b, c, margin)
                per_check[stat][d] += 1
                got.append(d)
            total[overall(got)] += 1
        out[how] = {"overall": dict(total), **{k: dict(v) for k, v in per_check.items()}}
    out["comparisons"] = len(aa)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
