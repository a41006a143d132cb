//! Equivalence test with runs (or interleaved blocks) as the unit: each unit contributes
//! one statistic (its p50, p99 or pWCET), so the interval of the difference includes the
//! run-to-run variation that a test on pooled frames ignores.
//!
//! Two designs: independent runs (Student's two-sample t with the pooled variance, which
//! can borrow degrees of freedom from earlier runs of the same engines) and paired blocks
//! of one interleaved session (paired t on the block differences). Both are two one-sided
//! tests (TOST) at level `alpha`, i.e. the (1 − 2·alpha) interval, as statsmodels'
//! `ttost_ind(usevar="pooled")` and `ttost_paired`.

use serde::Serialize;

use crate::metrics::stats::regularized_incomplete_beta;

/// What a latency check concluded, from where its interval lies against ±margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Faster: the interval is below 0 and the estimate below −margin.
    Improved,
    /// The whole interval is inside (−margin, +margin).
    Equivalent,
    /// Slower: the interval is above 0 and the estimate above +margin.
    Regressed,
    /// The interval crosses a margin (or there is no variance estimate).
    Inconclusive,
}

/// Between-unit variation borrowed from earlier runs: sum of squared deviations of each
/// group's unit statistics from their group mean, and its degrees of freedom.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PriorVariance {
    pub sum_squares: f64,
    pub df: f64,
}

impl PriorVariance {
    /// The contribution of one group (e.g. the earlier runs of one engine).
    pub fn of_group(values: &[f64]) -> Self {
        if values.len() < 2 {
            return Self::default();
        }
        let m = mean(values);
        Self {
            sum_squares: values.iter().map(|v| (v - m).powi(2)).sum(),
            df: (values.len() - 1) as f64,
        }
    }
}

impl std::ops::Add for PriorVariance {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            sum_squares: self.sum_squares + o.sum_squares,
            df: self.df + o.df,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Equivalence {
    /// candidate − baseline (mean of the unit statistics, or mean of paired differences).
    pub delta: f64,
    pub ci: (f64, f64),
    pub se: f64,
    pub df: f64,
    pub margin: f64,
    /// TOST p-value: the larger of the two one-sided p-values (equivalence when < alpha).
    pub p_equivalence: f64,
    pub verdict: Verdict,
}

pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn sum_squares(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m).powi(2)).sum()
}

/// Student's t distribution function with `df` degrees of freedom.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let tail = 0.5 * regularized_incomplete_beta(df / (df + t * t), df / 2.0, 0.5);
    if t > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The `p` quantile of Student's t (bisection on the distribution function).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    let (mut lo, mut hi) = (-1e6f64, 1e6f64);
    for _ in 0..300 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

fn decide(delta: f64, se: f64, df: f64, margin: f64, alpha: f64) -> Equivalence {
    if !(se.is_finite() && df >= 1.0) {
        return Equivalence {
            delta,
            ci: (f64::NEG_INFINITY, f64::INFINITY),
            se,
            df,
            margin,
            p_equivalence: 1.0,
            verdict: Verdict::Inconclusive,
        };
    }
    let (ci, p_lower, p_upper) = if se > 0.0 {
        let h = t_quantile(1.0 - alpha, df) * se;
        (
            (delta - h, delta + h),
            1.0 - t_cdf((delta + margin) / se, df),
            t_cdf((delta - margin) / se, df),
        )
    } else {
        // No variation at all: the interval is the point.
        let p = |inside: bool| if inside { 0.0 } else { 1.0 };
        ((delta, delta), p(delta > -margin), p(delta < margin))
    };
    // Regressed: slower with one-sided confidence 1 − alpha (the interval excludes 0) and
    // by more than the margin in the estimate; improved mirrors it. Equivalent needs the
    // whole interval inside the margins (TOST), so the outcomes never overlap.
    let verdict = if ci.0 > 0.0 && delta > margin {
        Verdict::Regressed
    } else if ci.1 < 0.0 && delta < -margin {
        Verdict::Improved
    } else if ci.0 > -margin && ci.1 < margin {
        Verdict::Equivalent
    } else {
        Verdict::Inconclusive
    };
    Equivalence {
        delta,
        ci,
        se,
        df,
        margin,
        p_equivalence: p_lower.max(p_upper),
        verdict,
    }
}

/// Independent runs: baseline and candidate unit statistics, a prior variance from earlier
/// runs (may be empty), the equivalence margin and the TOST level.
pub fn independent(
    baseline: &[f64],
    candidate: &[f64],
    prior: PriorVariance,
    margin: f64,
    alpha: f64,
) -> Option<Equivalence> {
    if baseline.is_empty() || candidate.is_empty() {
        return None;
    }
    let (nb, nc) = (baseline.len() as f64, candidate.len() as f64);
    let delta = mean(candidate) - mean(baseline);
    let ss = sum_squares(baseline) + sum_squares(candidate) + prior.sum_squares;
    let df = nb - 1.0 + nc - 1.0 + prior.df;
    let se = if df > 0.0 {
        (ss / df * (1.0 / nb + 1.0 / nc)).sqrt()
    } else {
        f64::NAN
    };
    Some(decide(delta, se, df, margin, alpha))
}

/// Paired blocks of one interleaved session: `baseline[k]` and `candidate[k]` ran next to
/// each other, so slow phases of the machine hit both.
pub fn paired(baseline: &[f64], candidate: &[f64], margin: f64, alpha: f64) -> Option<Equivalence> {
    if baseline.len() != candidate.len() || baseline.is_empty() {
        return None;
    }
    let d: Vec<f64> = candidate.iter().zip(baseline).map(|(c, b)| c - b).collect();
    let n = d.len() as f64;
    let df = n - 1.0;
    let se = if df > 0.0 {
        (sum_squares(&d) / df / n).sqrt()
    } else {
        f64::NAN
    };
    Some(decide(mean(&d), se, df, margin, alpha))
}

/// Units per side an independent-runs comparison would need for its interval to clear the
/// margin nearest the observed delta (inside it: equivalent; beyond it: regressed or
/// improved), given the between-run standard deviation `sd` (None: not reachable with up
/// to 50 runs per side).
pub fn runs_needed(sd: f64, delta: f64, margin: f64, alpha: f64) -> Option<usize> {
    let room = (margin - delta.abs()).abs();
    if !(sd.is_finite() && room > 0.0) {
        return None;
    }
    (2..=50).find(|&n| {
        let df = 2.0 * (n as f64 - 1.0);
        t_quantile(1.0 - alpha, df) * sd * (2.0 / n as f64).sqrt() < room
    })
}

/// Paired units (interleaved sessions) a comparison would need for its interval to clear
/// the margin nearest the observed delta, given the standard deviation `sd` of the paired
/// differences (None: not reachable with up to 50 sessions).
pub fn sessions_needed(sd: f64, delta: f64, margin: f64, alpha: f64) -> Option<usize> {
    let room = (margin - delta.abs()).abs();
    if !(sd.is_finite() && room > 0.0) {
        return None;
    }
    (2..=50).find(|&n| t_quantile(1.0 - alpha, n as f64 - 1.0) * sd / (n as f64).sqrt() < room)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_distribution_matches_known_values() {
        // t_{0.95, 4} = 2.131847, t_{0.975, 10} = 2.228139 (tables).
        assert!((t_quantile(0.95, 4.0) - 2.131847).abs() < 1e-5);
        assert!((t_quantile(0.975, 10.0) - 2.228139).abs() < 1e-5);
        assert!((t_cdf(0.0, 3.0) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn verdicts_follow_the_interval() {
        let b = [10.0, 10.1, 9.9];
        let same = independent(
            &b,
            &[10.05, 9.95, 10.0],
            PriorVariance::default(),
            0.5,
            0.05,
        )
        .unwrap();
        assert_eq!(same.verdict, Verdict::Equivalent);
        let slow =
            independent(&b, &[11.0, 11.1, 10.9], PriorVariance::default(), 0.5, 0.05).unwrap();
        assert_eq!(slow.verdict, Verdict::Regressed);
        let fast = independent(&b, &[9.0, 9.1, 8.9], PriorVariance::default(), 0.5, 0.05).unwrap();
        assert_eq!(fast.verdict, Verdict::Improved);
        // One run per side and no earlier runs: no variance, never a decision.
        let one = independent(&[10.0], &[10.0], PriorVariance::default(), 0.5, 0.05).unwrap();
        assert_eq!(one.verdict, Verdict::Inconclusive);
        // ... but with earlier runs' variance it can be shown equivalent.
        let prior = PriorVariance::of_group(&[10.0, 10.05, 9.95, 10.02]);
        let one = independent(&[10.0], &[10.01], prior, 0.5, 0.05).unwrap();
        assert_eq!(one.verdict, Verdict::Equivalent);
    }

    #[test]
    fn paired_blocks_cancel_a_common_drift() {
        // The machine slows down over the session; the candidate is 1% slower throughout.
        let b: Vec<f64> = (0..8).map(|k| 10.0 + k as f64).collect();
        let c: Vec<f64> = b.iter().map(|x| x * 1.01).collect();
        let p = paired(&b, &c, 0.05 * mean(&b), 0.05).unwrap();
        assert_eq!(p.verdict, Verdict::Equivalent);
        let i = independent(&b, &c, PriorVariance::default(), 0.05 * mean(&b), 0.05).unwrap();
        assert_eq!(i.verdict, Verdict::Inconclusive);
    }

    #[test]
    /// sd 0.3, room 0.4 at alpha 0.05: t.ppf(0.95, n − 1)·0.3/√n is 0.506 at n = 3 and
    /// 0.353 at n = 4 (scipy), so four sessions.
    fn sessions_needed_is_the_first_count_whose_interval_fits() {
        assert_eq!(sessions_needed(0.3, 0.1, 0.5, 0.05), Some(4));
        assert_eq!(sessions_needed(0.3, 0.5, 0.5, 0.05), None);
        assert_eq!(sessions_needed(f64::NAN, 0.0, 0.5, 0.05), None);
    }

    #[test]
    fn runs_needed_grows_with_the_spread() {
        let a = runs_needed(0.1, 0.0, 0.5, 0.05).unwrap();
        let b = runs_needed(0.3, 0.0, 0.5, 0.05).unwrap();
        assert!(a < b, "{a} {b}");
        assert_eq!(runs_needed(0.1, 0.5, 0.5, 0.05), None);
        assert!(runs_needed(0.1, 1.5, 0.5, 0.05).is_some());
    }
}
