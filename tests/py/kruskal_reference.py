"""Reference for adasval's run-to-run stability test: scipy's Kruskal-Wallis H test
(tie-corrected H, asymptotic chi-square p-value). Reads JSON {"cases": [[group, ...], ...]}
on stdin and prints {"kw": [[H, p], ...]}."""
import json
import sys

from scipy.stats import kruskal

req = json.load(sys.stdin)
out = {"kw": []}
for groups in req["cases"]:
    r = kruskal(*groups)
    out["kw"].append([float(r.statistic), float(r.pvalue)])
print(json.dumps(out))
