//! Exact binomial confidence intervals (Clopper–Pearson) for the precision and recall
//! tables; requirements are judged on their lower bound.
//!
//! The beta quantile is found by bisection on the regularized incomplete beta function
//! (continued fraction, modified Lentz), which is monotone in x, so the result is accurate to
//! about 1e-12 for any count.

use serde::{Deserialize, Serialize};

/// Two-sided Clopper–Pearson interval `[lower, upper]` for `successes` out of `trials` at the
/// given confidence level (e.g. 0.95); `None` when `trials` is 0.
pub fn clopper_pearson(successes: u64, trials: u64, confidence: f64) -> Option<Interval> {
    if trials == 0 || successes > trials || !(0.0..1.0).contains(&confidence) {
        return None;
    }
    let alpha = 1.0 - confidence;
    let (x, n) = (successes as f64, trials as f64);
    let lower = if successes == 0 {
        0.0
    } else {
        beta_quantile(alpha / 2.0, x, n - x + 1.0)
    };
    let upper = if successes == trials {
        1.0
    } else {
        beta_quantile(1.0 - alpha / 2.0, x + 1.0, n - x)
    };
    Some(Interval { lower, upper })
}

/// A closed interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lower: f64,
    pub upper: f64,
}

/// The `p` quantile of Beta(a, b) (a, b > 0).
pub fn beta_quantile(p: f64, a: f64, b: f64) -> f64 {
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if regularized_incomplete_beta(mid, a, b) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// I_x(a, b), the Beta(a, b) distribution function at x.
pub fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b)
        + a * libm::log(x)
        + b * libm::log1p(-x);
    let front = libm::exp(ln_front);
    // The continued fraction converges fast on this side of the mean.
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_continued_fraction(1.0 - x, b, a) / b
    }
}

fn beta_continued_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-16;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..100_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_beta_quantile_is_identity() {
        for p in [0.01, 0.3, 0.5, 0.975] {
            assert!((beta_quantile(p, 1.0, 1.0) - p).abs() < 1e-12);
        }
    }

    #[test]
    fn beta_a1_closed_form() {
        // Beta(1, b): F(x) = 1 - (1-x)^b, so the quantile is 1 - (1-p)^(1/b).
        for b in [1.0, 3.0, 50.0, 1000.0] {
            let p: f64 = 0.025;
            let want = 1.0 - (1.0 - p).powf(1.0 / b);
            assert!((beta_quantile(p, 1.0, b) - want).abs() < 1e-12, "b={b}");
        }
    }

    #[test]
    fn interval_contains_the_estimate_and_narrows_with_lower_confidence() {
        for n in [1u64, 2, 7, 30, 1000] {
            for x in [0, n / 3, n / 2, n] {
                let wide = clopper_pearson(x, n, 0.99).unwrap();
                let narrow = clopper_pearson(x, n, 0.8).unwrap();
                let p = x as f64 / n as f64;
                assert!(wide.lower <= p && p <= wide.upper, "{x}/{n}: {wide:?}");
                assert!(wide.lower <= narrow.lower && narrow.upper <= wide.upper);
            }
        }
    }

    #[test]
    fn interval_bounds_are_ordered_and_edge_cases_close() {
        let i = clopper_pearson(0, 10, 0.95).unwrap();
        assert_eq!(i.lower, 0.0);
        // x = 0: upper = 1 - (alpha/2)^(1/n).
        assert!((i.upper - (1.0 - 0.025f64.powf(0.1))).abs() < 1e-12);
        let i = clopper_pearson(10, 10, 0.95).unwrap();
        assert_eq!(i.upper, 1.0);
        assert!(clopper_pearson(0, 0, 0.95).is_none());
    }
}
