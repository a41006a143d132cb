//! Exact binomial confidence intervals (Clopper–Pearson) for the precision and recall
//! tables; requirements are judged on their lower bound. The Beta distribution they rest
//! on lives in `adasval_core::beta`, shared with the replay's stopping rule.

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

pub use adasval_core::beta::{beta_quantile, regularized_incomplete_beta};

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
