"""Reference for adasval's distribution-free percentile interval: scipy's quantile_test.

stdin: {"cases": [{"x": [...], "p": 0.99, "confidence": 0.95}, ...]}
stdout: [[low or null, high or null], ...] (null where scipy returns nan: the side the
samples cannot bound).
"""
import json
import math
import sys

from scipy import stats

req = json.load(sys.stdin)
out = []
for c in req["cases"]:
    res = stats.quantile_test(c["x"], q=0, p=c["p"], alternative="two-sided")
    ci = res.confidence_interval(confidence_level=c["confidence"])
    out.append([None if math.isnan(v) else float(v) for v in (ci.low, ci.high)])
json.dump(out, sys.stdout)
