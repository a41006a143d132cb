"""References for adasval's regression statistics: scipy's Mann-Whitney U (asymptotic,
continuity-corrected) and statsmodels' Newcomb interval for a difference of proportions.
Reads JSON {"mw": [[x, y], ...], "newcomb": [[k1, n1, k2, n2], ...]} on stdin."""
import json
import sys

from scipy.stats import mannwhitneyu
from statsmodels.stats.proportion import confint_proportions_2indep

req = json.load(sys.stdin)
out = {"mw": [], "newcomb": []}
for x, y in req["mw"]:
    r = mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
    out["mw"].append([float(r.statistic), float(r.pvalue)])
for k1, n1, k2, n2 in req["newcomb"]:
    lo, hi = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff", alpha=0.05)
    out["newcomb"].append([float(lo), float(hi)])
print(json.dumps(out))
