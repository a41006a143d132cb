//! Distribution-free confidence interval of a quantile from order statistics: the number of
//! samples below the true p-quantile is Binomial(n, p) whatever the latency distribution, so
//! two order statistics bracket it with a known probability. This is the interval
//! `scipy.stats.quantile_test(...).confidence_interval()` gives (two-sided), and what the
//! replay's precision rule (`--p99-ci-width`) judges.

use crate::beta::regularized_incomplete_beta;

/// P(X ≤ k) for X ~ Binomial(n, p).
pub fn binomial_cdf(k: u64, n: u64, p: f64) -> f64 {
    if k >= n {
        return 1.0;
    }
    if p <= 0.0 {
        return 1.0;
    }
    if p >= 1.0 {
        return 0.0;
    }
    regularized_incomplete_beta(1.0 - p, (n - k) as f64, k as f64 + 1.0)
}

/// P(X > k) for X ~ Binomial(n, p), computed directly (not as 1 − cdf) so that a small tail
/// keeps its digits.
pub fn binomial_sf(k: u64, n: u64, p: f64) -> f64 {
    if k >= n {
        return 0.0;
    }
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    regularized_incomplete_beta(p, k as f64 + 1.0, (n - k) as f64)
}

/// Smallest k in 0..=n with `pred(k)`, for a predicate that is false then true.
fn first_true(n: u64, pred: impl Fn(u64) -> bool) -> u64 {
    let (mut lo, mut hi) = (0u64, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Order-statistic bounds of a two-sided confidence interval for the `quantile` (e.g. 0.99)
/// of n samples: 0-based indices into the sorted samples, or `None` on a side the samples
/// cannot bound at this confidence (too few samples beyond the quantile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantileBounds {
    pub low: Option<usize>,
    pub high: Option<usize>,
}

impl QuantileBounds {
    /// Both sides bounded: the interval `[sorted[low], sorted[high]]`.
    pub fn both(&self) -> Option<(usize, usize)> {
        Some((self.low?, self.high?))
    }
}

/// The interval's order statistics, as scipy's `quantile_test` chooses them:
/// low = ppf(α/2) − 1 and high = isf(α/2) of Binomial(n, quantile), α = 1 − confidence.
pub fn quantile_bounds(n: usize, quantile: f64, confidence: f64) -> QuantileBounds {
    let none = QuantileBounds {
        low: None,
        high: None,
    };
    if n == 0 || !(0.0 < quantile && quantile < 1.0) || !(0.0 < confidence && confidence < 1.0) {
        return none;
    }
    let tail = (1.0 - confidence) / 2.0;
    let m = n as u64;
    // ppf(tail): the smallest k whose cdf reaches the tail probability.
    let ppf = first_true(m, |k| binomial_cdf(k, m, quantile) >= tail);
    // isf(tail): the smallest k whose survival function is at most the tail probability.
    let isf = first_true(m, |k| binomial_sf(k, m, quantile) <= tail);
    QuantileBounds {
        low: (ppf >= 1).then(|| (ppf - 1) as usize),
        high: ((isf as usize) < n).then_some(isf as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_tails_add_to_one() {
        for (k, n, p) in [
            (0, 10, 0.3),
            (5, 10, 0.3),
            (9, 100, 0.01),
            (980, 1000, 0.99),
        ] {
            let s = binomial_cdf(k, n, p) + binomial_sf(k, n, p);
            assert!((s - 1.0).abs() < 1e-12, "{k} {n} {p}: {s}");
        }
    }

    #[test]
    fn small_binomial_by_hand() {
        // Binomial(3, 0.5): P(X ≤ 1) = (1 + 3) / 8.
        assert!((binomial_cdf(1, 3, 0.5) - 0.5).abs() < 1e-14);
        assert!((binomial_sf(2, 3, 0.5) - 0.125).abs() < 1e-14);
    }

    #[test]
    fn too_few_samples_leave_the_upper_side_open() {
        // With 50 samples, nothing in the data bounds the p99 from above at 95%.
        let b = quantile_bounds(50, 0.99, 0.95);
        assert_eq!(b.high, None);
        assert!(b.both().is_none());
        let b = quantile_bounds(2000, 0.99, 0.95);
        let (lo, hi) = b.both().expect("2000 samples bound the p99");
        assert!(lo < 1980 && (1980..2000).contains(&hi), "{lo} {hi}");
    }
}
