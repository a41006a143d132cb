"""References for adasval's equivalence test (diff's latency checks): statsmodels' TOST
for independent samples with the pooled variance (`ttost_ind(usevar="pooled")`) and for
paired samples (`ttost_paired`), with the (1 - 2 alpha) intervals of the difference; and,
for runs that borrow variance from earlier runs (which statsmodels does not offer), the
pooled-t interval and TOST p-value written out from scipy's t distribution.
Reads JSON {"ind": [[base, cand, margin, alpha, prior_ss, prior_df], ...],
"paired": [[base, cand, margin, alpha], ...]} on stdin; prints [p, ci_low, ci_high] each."""
import json
import sys

import numpy as np
from scipy import stats
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttost_ind, ttost_paired

req = json.load(sys.stdin)
out = {"ind": [], "paired": []}
for base, cand, margin, alpha, prior_ss, prior_df in req["ind"]:
    x1, x2 = np.asarray(cand, float), np.asarray(base, float)
    if prior_df == 0:
        p = ttost_ind(x1, x2, -margin, margin, usevar="pooled")[0]
        lo, hi = CompareMeans(DescrStatsW(x1), DescrStatsW(x2)).tconfint_diff(
            alpha=2 * alpha, usevar="pooled"
        )
    else:
        ss = ((x1 - x1.mean()) ** 2).sum() + ((x2 - x2.mean()) ** 2).sum() + prior_ss
        df = len(x1) - 1 + len(x2) - 1 + prior_df
        se = np.sqrt(ss / df * (1 / len(x1) + 1 / len(x2)))
        d = x1.mean() - x2.mean()
        p = max(stats.t.sf((d + margin) / se, df), stats.t.cdf((d - margin) / se, df))
        h = stats.t.ppf(1 - alpha, df) * se
        lo, hi = d - h, d + h
    out["ind"].append([float(p), float(lo), float(hi)])
for base, cand, margin, alpha in req["paired"]:
    x1, x2 = np.asarray(cand, float), np.asarray(base, float)
    p = ttost_paired(x1, x2, -margin, margin)[0]
    lo, hi = DescrStatsW(x1 - x2).tconfint_mean(alpha=2 * alpha)
    out["paired"].append([float(p), float(lo), float(hi)])
print(json.dumps(out))
