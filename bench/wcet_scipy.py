#!/usr/bin/env python3
"""The same work as `adasval wcet` in scipy / statsmodels / lmoments3, timed.

Four precondition tests, GEV (block maxima of 50) and GPD (excesses over the 0.95
quantile) by PWM and MLE, and a bootstrap interval of the GEV MLE fit. The bootstrap is
timed on a few resamples and extrapolated to 1,000 (a full run takes many minutes); the
parametric GOF bootstraps adasval also runs are not counted here, which flatters scipy.
Usage: wcet_scipy.py SAMPLES.csv [BOOT_RESAMPLES_TIMED]
"""
import sys
import time
import warnings

import numpy as np
from scipy import stats

warnings.simplefilter("ignore")


def main():
    x = np.loadtxt(sys.argv[1])
    timed = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.sandbox.stats.runs import runstest_1samp
    from statsmodels.tsa.stattools import acf, kpss
    import lmoments3.distr as ld

    t0 = time.perf_counter()
    # acorr_ljungbox computes the ACF with fft=False, an O(n^2) np.correlate that does
    # not finish in reasonable time on 10^6 samples; the same Q from the FFT ACF:
    r = acf(x, nlags=20, fft=True)[1:]
    n = len(x)
    q = n * (n + 2) * np.sum(r**2 / (n - np.arange(1, 21)))
    stats.chi2.sf(q, 20)
    if n <= 100_000:
        acorr_ljungbox(x, lags=[20])
    runstest_1samp(x, cutoff="median", correction=True)
    h = len(x) // 2
    stats.ks_2samp(x[:h], x[h:])
    kpss(x, regression="c", nlags="auto")
    t_tests = time.perf_counter() - t0

    t0 = time.perf_counter()
    m = x[: len(x) // 50 * 50].reshape(-1, 50).max(axis=1)
    u = np.quantile(x, 0.95)
    y = x[x > u] - u
    c, loc, sc = stats.genextreme.fit(m)
    t_gev = time.perf_counter() - t0
    t1 = time.perf_counter()
    stats.genpareto.fit(y, floc=0.0)
    t_gpd = time.perf_counter() - t1
    ld.gev.lmom_fit(m)
    ys = np.sort(y)
    n = len(ys)
    a0 = ys.mean()
    a1 = np.sum((n - np.arange(1, n + 1)) / (n - 1) * ys) / n
    t_fits = time.perf_counter() - t0

    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    for _ in range(timed):
        b = rng.choice(m, size=len(m), replace=True)
        stats.genextreme.fit(b)
    t_boot = (time.perf_counter() - t0) / timed * 1000

    print(f"maxima {len(m)}, excesses {len(y)}")
    print(f"tests_s {t_tests:.3f}")
    print(f"genextreme.fit_s {t_gev:.3f}")
    print(f"genpareto.fit_s {t_gpd:.3f}")
    print(f"fits_s {t_fits:.3f}")
    print(f"bootstrap_1000_extrapolated_s {t_boot:.1f} (from {timed} resamples)")
    print(f"total_extrapolated_s {t_tests + t_fits + t_boot:.1f}")


if __name__ == "__main__":
    main()
