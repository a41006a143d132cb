"""Reference for the homogeneity test that `merge --pool-units` runs across units:
scipy.stats.kruskal (H corrected for ties, chi-square p-value).
Reads JSON {"cases": [[group, group, ...], ...]} on stdin; prints [[H, p], ...]."""
import json
import sys

from scipy.stats import kruskal

req = json.load(sys.stdin)
out = []
for groups in req["cases"]:
    r = kruskal(*groups)
    out.append([float(r.statistic), float(r.pvalue)])
print(json.dumps(out))
