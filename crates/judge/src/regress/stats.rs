//! Two-sample statistics for regression checks: Mann–Whitney U (asymptotic, tie- and
//! continuity-corrected, as scipy's `mannwhitneyu(method="asymptotic")`), Newcomb's hybrid
//! score interval for a difference of proportions (statsmodels'
//! `confint_proportions_2indep(method="newcomb")`), and a seeded bootstrap interval for a
//! quantile difference.

use crate::wcet::special::{normal_quantile, normal_sf};
use adasval_core::rng::SplitMix64;
use serde::Serialize;

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct MannWhitney {
    /// U statistic of the first sample.
    pub u: f64,
    pub p_value: f64,
    /// Common-language effect size P(X > Y) + ½ P(X = Y) = U / (n1 n2).
    pub effect_size: f64,
    /// Rank-biserial correlation 2·effect − 1 (positive: the first sample is larger).
    pub rank_biserial: f64,
}

/// Rank sums of each group in the pooled sample (1-based mid-ranks for ties), and the tie
/// term Σ(t³ − t) over tied blocks: what the rank tests (Mann–Whitney, Kruskal–Wallis)
/// are built from.
pub fn rank_sums(groups: &[&[f64]]) -> (Vec<f64>, f64) {
    let mut all: Vec<(f64, usize)> = groups
        .iter()
        .enumerate()
        .flat_map(|(k, g)| g.iter().map(move |&v| (v, k)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = all.len();
    let mut sums = vec![0.0f64; groups.len()];
    let mut tie_term = 0.0f64;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for x in &all[i..=j] {
            sums[x.1] += rank;
        }
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    (sums, tie_term)
}

/// Two-sided Mann–Whitney U test of `x` against `y`.
pub fn mann_whitney(x: &[f64], y: &[f64]) -> Option<MannWhitney> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (rank_sums, tie_term) = rank_sums(&[x, y]);
    let (r1, n) = (rank_sums[0], n1 + n2);
    let (f1, f2, nf) = (n1 as f64, n2 as f64, n as f64);
    let u1 = r1 - f1 * (f1 + 1.0) / 2.0;
    let u2 = f1 * f2 - u1;
    let mu = f1 * f2 / 2.0;
    let s = (f1 * f2 / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)))).sqrt();
    let u = u1.max(u2);
    let p = if s > 0.0 {
        (2.0 * normal_sf((u - mu - 0.5) / s)).min(1.0)
    } else {
        1.0
    };
    let effect = u1 / (f1 * f2);
    Some(MannWhitney {
        u: u1,
        p_value: p,
        effect_size: effect,
        rank_biserial: 2.0 * effect - 1.0,
    })
}

fn wilson(k: f64, n: f64, z: f64) -> (f64, f64) {
    let p = k / n;
    let d = 1.0 + z * z / n;
    let c = (p + z * z / (2.0 * n)) / d;
    let h = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d;
    (c - h, c + h)
}

/// Newcomb's hybrid score interval for p1 − p2 (method 10 of Newcomb 1998).
pub fn newcomb_diff(k1: u64, n1: u64, k2: u64, n2: u64, confidence: f64) -> Option<(f64, f64)> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let z = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
    let (p1, p2) = (k1 as f64 / n1 as f64, k2 as f64 / n2 as f64);
    let (l1, u1) = wilson(k1 as f64, n1 as f64, z);
    let (l2, u2) = wilson(k2 as f64, n2 as f64, z);
    let d = p1 - p2;
    let lo = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let hi = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    Some((lo, hi))
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    adasval_core::timing::percentile_sorted(sorted, q * 100.0)
}

/// Percentile-bootstrap interval of quantile(y) − quantile(x), resampling each sample.
pub fn bootstrap_quantile_diff(
    x: &[f64],
    y: &[f64],
    q: f64,
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<(f64, f64, f64)> {
    if x.is_empty() || y.is_empty() {
        return None;
    }
    let sorted = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s
    };
    let point = quantile(&sorted(y), q) - quantile(&sorted(x), q);
    let mut rng = SplitMix64::new(seed);
    let mut diffs = Vec::with_capacity(resamples);
    let mut bx = vec![0.0; x.len()];
    let mut by = vec![0.0; y.len()];
    for _ in 0..resamples {
        for v in bx.iter_mut() {
            *v = x[rng.below(x.len() as u64) as usize];
        }
        for v in by.iter_mut() {
            *v = y[rng.below(y.len() as u64) as usize];
        }
        bx.sort_by(f64::total_cmp);
        by.sort_by(f64::total_cmp);
        diffs.push(quantile(&by, q) - quantile(&bx, q));
    }
    diffs.sort_by(f64::total_cmp);
    let a = (1.0 - confidence) / 2.0;
    Some((point, quantile(&diffs, a), quantile(&diffs, 1.0 - a)))
}
