#!/usr/bin/env python3
"""Independent reference values for the WCET module (scipy, statsmodels, lmoments3).

Usage: wcet_reference.py REQUEST.json  -> prints a JSON answer on stdout.
REQUEST: {"op": ..., ...}; see each handler. Conventions: scipy genextreme c = -xi,
genpareto c = xi (Coles' xi).
"""
import json
import sys
import warnings

import numpy as np
from scipy import stats

warnings.simplefilter("ignore")


def op_iid(req):
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.sandbox.stats.runs import runstest_1samp
    from statsmodels.tsa.stattools import acf, kpss

    x = np.asarray(req["data"], dtype=float)
    lags = int(req.get("lags", 20))
    lb = acorr_ljungbox(x, lags=[lags], return_df=True)
    z, pz = runstest_1samp(x, cutoff="median", correction=True)
    h = len(x) // 2
    ks = stats.ks_2samp(x[:h], x[h:])
    k, pk, klags, _ = kpss(x, regression="c", nlags="auto")
    return {
        "ljung_box": [float(lb["lb_stat"].iloc[0]), float(lb["lb_pvalue"].iloc[0])],
        "runs": [float(z), float(pz)],
        "ks": [float(ks.statistic), float(ks.pvalue)],
        "kpss": [float(k), float(pk), int(klags)],
        # lag-1 autocorrelation (demeaned, autocovariances over n), the effective-sample-size rule's rho
        "acf1": float(acf(x, nlags=1, fft=False)[1]),
    }


def op_ks(req):
    r = stats.ks_2samp(np.asarray(req["a"]), np.asarray(req["b"]), method=req.get("method", "auto"))
    return {"statistic": float(r.statistic), "p_value": float(r.pvalue)}


def op_gev(req):
    import lmoments3.distr as ld

    x = np.asarray(req["data"], dtype=float)
    c, loc, scale = stats.genextreme.fit(x)
    p_block = np.asarray(req.get("block_probabilities", []), dtype=float)
    out = {
        "mle": {"xi": -float(c), "loc": float(loc), "scale": float(scale),
                "loglik": float(np.sum(stats.genextreme.logpdf(x, c, loc, scale))),
                "isf": [float(v) for v in stats.genextreme.isf(p_block, c, loc, scale)]},
    }
    pw = ld.gev.lmom_fit(x)
    out["pwm"] = {"xi": -float(pw["c"]), "loc": float(pw["loc"]), "scale": float(pw["scale"])}
    if "params" in req:  # our parameters evaluated by scipy
        xi, mu, sg = req["params"]
        out["at_params"] = {
            "loglik": float(np.sum(stats.genextreme.logpdf(x, -xi, mu, sg))),
            "isf": [float(v) for v in stats.genextreme.isf(p_block, -xi, mu, sg)],
        }
    return out


def op_gpd(req):
    y = np.asarray(req["data"], dtype=float)  # excesses over a fixed threshold
    c, loc, scale = stats.genpareto.fit(y, floc=0.0)
    pc = np.asarray(req.get("conditional_probabilities", []), dtype=float)
    out = {"mle": {"xi": float(c), "scale": float(scale),
                   "loglik": float(np.sum(stats.genpareto.logpdf(y, c, 0.0, scale))),
                   "isf": [float(v) for v in stats.genpareto.isf(pc, c, 0.0, scale)]}}
    # Hosking & Wallis (1987) PWM with a known threshold: a_s = E[Y (1-F)^s],
    # unbiased a_1 = 1/n sum (n-j)/(n-1) y_(j); k = a0/(a0 - 2 a1) - 2, sigma = 2 a0 a1/(a0 - 2 a1)
    ys = np.sort(y)
    n = len(ys)
    j = np.arange(1, n + 1)
    a0 = ys.mean()
    a1 = np.sum((n - j) / (n - 1) * ys) / n
    k = a0 / (a0 - 2 * a1) - 2
    out["pwm"] = {"xi": float(-k), "scale": float(2 * a0 * a1 / (a0 - 2 * a1))}
    if "params" in req:
        xi, sg = req["params"]
        out["at_params"] = {"loglik": float(np.sum(stats.genpareto.logpdf(y, xi, 0.0, sg))),
                            "isf": [float(v) for v in stats.genpareto.isf(pc, xi, 0.0, sg)]}
    return out


def op_floor(req):
    """The xi = 0 counterparts of the shape floor: Gumbel by L-moments (lmoments3 `gum`) on
    block maxima, exponential by maximum likelihood (scipy `expon`, loc fixed at 0) on
    threshold excesses, each with its isf at the given block / conditional probabilities."""
    import lmoments3.distr as ld

    out = {}
    if "maxima" in req:
        m = np.asarray(req["maxima"], dtype=float)
        g = ld.gum.lmom_fit(m)
        pb = np.asarray(req.get("block_probabilities", []), dtype=float)
        out["gumbel"] = {"loc": float(g["loc"]), "scale": float(g["scale"]),
                         "isf": [float(v) for v in stats.gumbel_r.isf(pb, g["loc"], g["scale"])]}
    if "excesses" in req:
        y = np.asarray(req["excesses"], dtype=float)
        _, scale = stats.expon.fit(y, floc=0.0)
        pc = np.asarray(req.get("conditional_probabilities", []), dtype=float)
        out["exponential"] = {"scale": float(scale),
                              "isf": [float(v) for v in stats.expon.isf(pc, 0.0, scale)]}
    return out


def op_gof(req):
    x = np.asarray(req["data"], dtype=float)
    if req["dist"] == "gev":
        xi, mu, sg = req["params"]
        dist, kp = stats.genextreme, {"c": -xi, "loc": mu, "scale": sg}
    else:
        xi, sg = req["params"]
        dist, kp = stats.genpareto, {"c": xi, "loc": 0.0, "scale": sg}
    cvm = stats.cramervonmises(x, dist(**kp).cdf)
    ad = stats.goodness_of_fit(dist, x, known_params=kp, statistic="ad", n_mc_samples=19,
                               rng=np.random.default_rng(0))
    out = {"cvm": float(cvm.statistic), "ad": float(ad.statistic)}
    if req.get("bootstrap"):
        # parametric bootstrap with MLE refits (scipy's goodness_of_fit), for a loose p-value check
        fixed = {"floc": 0.0} if req["dist"] == "gpd" else {}
        fp = {k: v for k, v in kp.items() if not (req["dist"] == "gpd" and k == "loc")}
        res = {}
        for stat in ("ad", "cvm"):
            g = stats.goodness_of_fit(dist, x, known_params={"loc": 0.0} if fixed else None,
                                      guessed_params=fp, statistic=stat,
                                      n_mc_samples=int(req["bootstrap"]), rng=np.random.default_rng(1))
            res[stat] = float(g.pvalue)
        out["p_values"] = res
    return out


def op_cusum(req):
    """CUSUM of ranks with the AR(1) long-run variance of the residuals around the break
    (crates/judge/src/wcet/changepoint.rs), written from the formulas with scipy's
    rankdata (ordinal ties, as the Rust side) and Kolmogorov's law (kstwobign)."""
    x = np.asarray(req["data"], dtype=float)
    n = len(x)
    r = stats.rankdata(x, method="ordinal")
    s = np.cumsum(r - (n + 1) / 2.0)[: n - 1]
    k = int(np.argmax(np.abs(s))) + 1
    e = np.concatenate([r[:k] - r[:k].mean(), r[k:] - r[k:].mean()])
    g0 = np.dot(e, e) / n
    g1 = np.dot(e[1:], e[:-1]) / n
    phi = min(max(g1 / g0, 0.0), 0.98)
    lrv = g0 * (1 + phi) / (1 - phi)
    stat = float(np.abs(s).max() / np.sqrt(n * lrv))
    return {"statistic": stat, "p_value": float(stats.kstwobign.sf(stat)), "frame": k, "ar1": float(phi)}


def main():
    with open(sys.argv[1]) as f:
        req = json.load(f)
    handler = {"iid": op_iid, "ks": op_ks, "gev": op_gev, "gpd": op_gpd, "gof": op_gof, "cusum": op_cusum,
               "floor": op_floor}[req["op"]]
    json.dump(handler(req), sys.stdout)


if __name__ == "__main__":
    main()
