//! Precondition tests on raw samples in acquisition order (first step of the WCET
//! analysis): Ljung–Box, Wald–Wolfowitz runs around the median, two-sample KS between
//! the two halves, KPSS level stationarity. Each mirrors its statsmodels / scipy
//! counterpart so that the statistics can be checked against them.

use super::special::{chi2_sf, interp, kolmogorov_sf, normal_sf, quantile_sorted, sorted_copy};
use serde::Serialize;

/// Outcome of one precondition test.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// "ljung-box" | "runs" | "ks-halves" | "kpss"
    pub name: String,
    pub statistic: f64,
    pub p_value: f64,
    /// Per-test level after the family-wise (Bonferroni) correction.
    pub alpha: f64,
    pub n: usize,
    pub passed: bool,
    /// Test-specific parameters (lags used, half sizes, exact or asymptotic p).
    pub detail: String,
}

/// Ljung–Box Q over `lags` autocorrelations (statsmodels `acorr_ljungbox`, demeaned,
/// autocovariances divided by n). Returns (Q, p).
pub fn ljung_box(x: &[f64], lags: usize) -> (f64, f64) {
    let n = x.len();
    if n < 2 || lags == 0 || lags >= n {
        return (f64::NAN, f64::NAN);
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let d: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let c0: f64 = d.iter().map(|v| v * v).sum();
    if c0 <= 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let nf = n as f64;
    let mut q = 0.0;
    for k in 1..=lags {
        let ck: f64 = d[k..].iter().zip(&d[..n - k]).map(|(a, b)| a * b).sum();
        let r = ck / c0;
        q += r * r / (nf - k as f64);
    }
    q *= nf * (nf + 2.0);
    (q, chi2_sf(q, lags as f64))
}

/// Lag-1 sample autocorrelation, the first term of [`ljung_box`] (demeaned, autocovariances
/// divided by n). `None` for fewer than two samples or a constant trace.
pub fn lag1_autocorrelation(x: &[f64]) -> Option<f64> {
    let n = x.len();
    if n < 2 {
        return None;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let c0: f64 = x.iter().map(|v| (v - mean) * (v - mean)).sum();
    if c0 <= 0.0 || !c0.is_finite() {
        return None;
    }
    let c1: f64 = x.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum();
    Some(c1 / c0)
}

/// Wald–Wolfowitz runs test around the median (statsmodels `runstest_1samp(x,
/// cutoff="median", correction=True)`). Returns (z, p).
pub fn runs_test(x: &[f64]) -> (f64, f64) {
    let n = x.len();
    if n < 2 {
        return (f64::NAN, f64::NAN);
    }
    let median = middle(x);
    let ind: Vec<bool> = x.iter().map(|&v| v >= median).collect();
    let npo = ind.iter().filter(|&&b| b).count() as f64;
    let nne = n as f64 - npo;
    let runs = 1 + ind.windows(2).filter(|w| w[0] != w[1]).count();
    let nf = n as f64;
    if runs == 1 {
        let pval = 1.0 / 2f64.powf(nf.min(1024.0) - 1.0);
        let z = -inverse_normal_sf(pval);
        return (z, pval * 2.0);
    }
    let npn = npo * nne;
    let rmean = 2.0 * npn / nf + 1.0;
    let rvar = 2.0 * npn * (2.0 * npn - nf) / (nf * nf) / (nf - 1.0);
    let rdemean = runs as f64 - rmean;
    let mut z = if n >= 50 {
        rdemean
    } else if rdemean > 0.5 {
        rdemean - 0.5
    } else if rdemean < 0.5 {
        rdemean + 0.5
    } else {
        0.0
    };
    z /= rvar.sqrt();
    (z, 2.0 * normal_sf(z.abs()))
}

/// Median of a non-empty `x` (mean of the two middle values for even n), from the middle
/// order statistics by selection: the values a full sort puts there, in linear time.
fn middle(x: &[f64]) -> f64 {
    let n = x.len();
    let mut tmp = x.to_vec();
    let (left, mid, _) = tmp.select_nth_unstable_by(n / 2, f64::total_cmp);
    let mid = *mid;
    if n % 2 == 1 {
        mid
    } else {
        let below = left.iter().copied().max_by(f64::total_cmp).unwrap_or(mid);
        0.5 * (below + mid)
    }
}

fn inverse_normal_sf(p: f64) -> f64 {
    // bisection is enough for the degenerate one-run case
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if normal_sf(mid) > p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Result of the two-sample KS test.
#[derive(Debug, Clone, Copy)]
pub struct KsResult {
    pub statistic: f64,
    pub p_value: f64,
    pub exact: bool,
}

/// Largest sample size for which the exact permutation p-value is computed (scipy's `auto` rule).
pub const KS_EXACT_MAX_N: usize = 10_000;

/// Two-sample Kolmogorov–Smirnov test, two-sided (scipy `ks_2samp`, method "auto":
/// exact when both samples have at most 10,000 points, else the Kolmogorov limit law
/// with Stephens' small-sample correction).
pub fn ks_two_sample(a: &[f64], b: &[f64]) -> KsResult {
    ks_test(a, b, None)
}

/// Whether the two-sample KS p-value of `a` against `b` is at least `level`: the same
/// decision as `ks_two_sample(a, b).p_value >= level`, but the exact p-value, a sum of
/// non-negative escaping masses, stops as soon as it reaches `level` (floating-point sums
/// of non-negative terms only grow, so the decision is the same). The trace bootstrap's
/// replicates need only the decision.
pub fn ks_two_sample_passes(a: &[f64], b: &[f64], level: f64) -> bool {
    passes(ks_test(a, b, Some(level)).p_value, level)
}

/// KS test; with `stop_at`, an exact p-value may be returned as soon as it reaches it.
fn ks_test(a: &[f64], b: &[f64], stop_at: Option<f64>) -> KsResult {
    let (m, n) = (a.len(), b.len());
    if m == 0 || n == 0 {
        return KsResult {
            statistic: f64::NAN,
            p_value: f64::NAN,
            exact: false,
        };
    }
    let sa = sorted_copy(a);
    let sb = sorted_copy(b);
    // walk distinct values; D*m*n = max |i*n - j*m| at tie-group ends
    let (mut i, mut j) = (0usize, 0usize);
    let mut h: u128 = 0;
    while i < m || j < n {
        let v = match (sa.get(i), sb.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        while i < m && sa[i] <= v {
            i += 1;
        }
        while j < n && sb[j] <= v {
            j += 1;
        }
        let diff = (i as i128 * n as i128 - j as i128 * m as i128).unsigned_abs();
        h = h.max(diff);
    }
    let d = h as f64 / (m as f64 * n as f64);
    if h == 0 {
        return KsResult {
            statistic: 0.0,
            p_value: 1.0,
            exact: true,
        };
    }
    if m.max(n) <= KS_EXACT_MAX_N {
        KsResult {
            statistic: d,
            p_value: ks_exact_outside(m, n, h, stop_at.unwrap_or(f64::INFINITY)).clamp(0.0, 1.0),
            exact: true,
        }
    } else {
        let en = (m as f64 * n as f64 / (m + n) as f64).round();
        let s = en.sqrt();
        KsResult {
            statistic: d,
            p_value: kolmogorov_sf((s + 0.12 + 0.11 / s) * d),
            exact: false,
        }
    }
}

/// Probability, under exchangeability, that the merged lattice path from (0,0) to (m,n)
/// reaches |i*n - j*m| >= h. Mass is propagated with hypergeometric step probabilities
/// and the escaping mass is summed directly, so tiny p-values keep their precision.
/// Returns early, with the partial sum, once that sum reaches `stop_at`.
fn ks_exact_outside(m: usize, n: usize, h: u128, stop_at: f64) -> f64 {
    let total = (m + n) as f64;
    let outside =
        |i: usize, j: usize| (i as i128 * n as i128 - j as i128 * m as i128).unsigned_abs() >= h;
    let mut prev = vec![0.0f64; n + 1];
    let mut cur = vec![0.0f64; n + 1];
    let mut p_out = 0.0f64;
    // row 0
    prev[0] = 1.0;
    for j in 1..=n {
        let mass = prev[j - 1] * (n - (j - 1)) as f64 / (total - (j - 1) as f64);
        if outside(0, j) {
            p_out += mass;
            prev[j] = 0.0;
        } else {
            prev[j] = mass;
        }
        if mass == 0.0 {
            for v in prev.iter_mut().skip(j + 1) {
                *v = 0.0;
            }
            break;
        }
    }
    // rows written so far: [lo, hi] range held by each buffer, to clear stale cells cheaply
    let mut prev_range = (0usize, n);
    let mut cur_range = (0usize, n);
    let hf = h as f64;
    for i in 1..=m {
        // only cells inside the band carry mass: take every cell reachable from the
        // previous row's band plus the first escaping cell on each side
        let lo = ((((i - 1) as f64 * n as f64 - hf) / m as f64).floor() - 1.0).max(0.0) as usize;
        let hi = ((((i as f64 * n as f64 + hf) / m as f64).ceil() + 1.0).max(0.0) as usize).min(n);
        for v in &mut cur[cur_range.0..=cur_range.1] {
            *v = 0.0;
        }
        for j in lo..=hi {
            let from_up = prev[j] * (m - (i - 1)) as f64 / (total - (i - 1 + j) as f64);
            let from_left = if j > 0 {
                cur[j - 1] * (n - (j - 1)) as f64 / (total - (i + j - 1) as f64)
            } else {
                0.0
            };
            let mass = from_up + from_left;
            if outside(i, j) {
                p_out += mass;
            } else {
                cur[j] = mass;
            }
        }
        if p_out >= stop_at {
            return p_out;
        }
        cur_range = (lo, hi);
        std::mem::swap(&mut prev, &mut cur);
        std::mem::swap(&mut prev_range, &mut cur_range);
    }
    p_out
}

/// KPSS level-stationarity test (statsmodels `kpss(x, regression="c", nlags="auto")`).
/// Returns (statistic, p, lags); p is interpolated in the KPSS table and so lies in [0.01, 0.10].
pub fn kpss(x: &[f64]) -> (f64, f64, usize) {
    let n = x.len();
    if n < 3 {
        return (f64::NAN, f64::NAN, 0);
    }
    let nf = n as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let r: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let dot = |k: usize| -> f64 { r[k..].iter().zip(&r[..n - k]).map(|(a, b)| a * b).sum() };
    // Hobijn et al. (1998) automatic bandwidth
    let covlags = nf.powf(2.0 / 9.0) as usize;
    let mut s0 = r.iter().map(|v| v * v).sum::<f64>() / nf;
    let mut s1 = 0.0;
    for i in 1..=covlags.min(n - 1) {
        let p = dot(i) / (nf / 2.0);
        s0 += p;
        s1 += i as f64 * p;
    }
    let s_hat = s1 / s0;
    let gamma_hat = 1.1447 * (s_hat * s_hat).powf(1.0 / 3.0);
    let lags = ((gamma_hat * nf.powf(1.0 / 3.0)) as usize).min(n - 1);
    let mut cum = 0.0;
    let mut eta = 0.0;
    for v in &r {
        cum += v;
        eta += cum * cum;
    }
    eta /= nf * nf;
    let mut s2 = r.iter().map(|v| v * v).sum::<f64>();
    for i in 1..=lags {
        s2 += 2.0 * dot(i) * (1.0 - i as f64 / (lags as f64 + 1.0));
    }
    s2 /= nf;
    let stat = eta / s2;
    let p = interp(
        stat,
        &[0.347, 0.463, 0.574, 0.739],
        &[0.10, 0.05, 0.025, 0.01],
    );
    (stat, p, lags)
}

/// Runs the four tests with a Bonferroni split of the family-wise `alpha`.
pub fn preconditions(x: &[f64], lags: usize, alpha: f64) -> Vec<TestResult> {
    let n = x.len();
    let (a, lags, half) = test_settings(n, lags, alpha);
    let mk = |name: &str, s: f64, p: f64, detail: String| TestResult {
        name: name.into(),
        statistic: s,
        p_value: p,
        alpha: a,
        n,
        passed: passes(p, a),
        detail,
    };
    let (q, pq) = ljung_box(x, lags);
    let (z, pz) = runs_test(x);
    let ks = ks_two_sample(&x[..half], &x[half..]);
    let (k, pk, klags) = kpss(x);
    vec![
        mk("ljung-box", q, pq, format!("lags={lags}")),
        mk("runs", z, pz, "cutoff=median".into()),
        mk(
            "ks-halves",
            ks.statistic,
            ks.p_value,
            format!(
                "halves={}+{}, p={}",
                half,
                n - half,
                if ks.exact { "exact" } else { "asymptotic" }
            ),
        ),
        mk(
            "kpss",
            k,
            pk,
            format!("lags={klags}, p interpolated in [0.01, 0.10]"),
        ),
    ]
}

/// Whether all four tests of [`preconditions`] pass, the same decision computed more
/// cheaply: the tests run in order of cost and stop at the first failure, and the KS test
/// stops summing its exact p-value once it reaches the level ([`ks_two_sample_passes`]).
/// For the trace bootstrap, whose replicates only choose a block size.
pub fn all_pass(x: &[f64], lags: usize, alpha: f64) -> bool {
    let (a, lags, half) = test_settings(x.len(), lags, alpha);
    let ok = |p: f64| passes(p, a);
    ok(ljung_box(x, lags).1)
        && ok(kpss(x).1)
        && ok(runs_test(x).1)
        && ks_two_sample_passes(&x[..half], &x[half..], a)
}

/// The four tests' shared settings for n samples: each test's level (alpha split four
/// ways), the Ljung–Box lags that n allows, and where the KS test splits the trace.
fn test_settings(n: usize, lags: usize, alpha: f64) -> (f64, usize, usize) {
    (alpha / 4.0, lags.min(n.saturating_sub(1)).max(1), n / 2)
}

fn passes(p: f64, level: f64) -> bool {
    p.is_finite() && p >= level
}

/// Median of `x` (used by callers for reporting).
pub fn median(x: &[f64]) -> f64 {
    quantile_sorted(&sorted_copy(x), 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ks_exact_equal_sizes_matches_closed_form() {
        // for n1 == n2 = n, P(D >= h/n) = 2 * sum_k (-1)^(k-1) C(2n, n-kh)/C(2n, n)
        let n = 20usize;
        for h in 1..=n {
            let mut p = 0.0;
            let lc = |k: usize| {
                libm::lgamma(2.0 * n as f64 + 1.0)
                    - libm::lgamma((n - k) as f64 + 1.0)
                    - libm::lgamma((n + k) as f64 + 1.0)
            };
            let l0 = lc(0);
            let mut k = 1;
            while k * h <= n {
                let t = (lc(k * h) - l0).exp();
                p += if k % 2 == 1 { t } else { -t };
                k += 1;
            }
            p *= 2.0;
            let ours = ks_exact_outside(n, n, (h * n) as u128, f64::INFINITY);
            assert!((ours - p.min(1.0)).abs() < 1e-12, "h={h}: {ours} vs {p}");
        }
    }

    #[test]
    fn all_pass_decides_as_the_four_tests() {
        use crate::wcet::rng::Rng;
        let mut agree = (0, 0);
        for seed in 0..60u64 {
            let mut r = Rng::new(seed);
            let phi = [0.0, 0.05, 0.1, 0.2, 0.4][seed as usize % 5];
            let n = [40, 200, 1000, 3000][seed as usize % 4];
            let drift = if seed % 7 == 0 { 0.5 / n as f64 } else { 0.0 };
            let mut z = 0.0;
            let x: Vec<f64> = (0..n)
                .map(|i| {
                    z = phi * z + r.normal();
                    z + drift * i as f64
                })
                .collect();
            for lags in [5, 20] {
                let full = preconditions(&x, lags, 0.05).iter().all(|t| t.passed);
                assert_eq!(all_pass(&x, lags, 0.05), full, "seed {seed}, lags {lags}");
                if full {
                    agree.0 += 1
                } else {
                    agree.1 += 1
                }
                let half = n / 2;
                for level in [0.0125, 0.05, 0.5] {
                    let p = ks_two_sample(&x[..half], &x[half..]).p_value;
                    assert_eq!(
                        ks_two_sample_passes(&x[..half], &x[half..], level),
                        p >= level
                    );
                }
            }
        }
        // both decisions occur, so the comparison means something
        assert!(agree.0 > 10 && agree.1 > 10, "{agree:?}");
    }

    #[test]
    fn median_by_selection_is_the_sorted_median() {
        use crate::wcet::rng::Rng;
        let mut r = Rng::new(3);
        for n in [1usize, 2, 3, 10, 11, 501, 1000] {
            // ties included: values on a coarse grid
            let x: Vec<f64> = (0..n).map(|_| (r.normal() * 4.0).round()).collect();
            let s = sorted_copy(&x);
            let sorted_median = if n % 2 == 1 {
                s[n / 2]
            } else {
                0.5 * (s[n / 2 - 1] + s[n / 2])
            };
            assert_eq!(middle(&x), sorted_median, "n {n}");
        }
    }
}
