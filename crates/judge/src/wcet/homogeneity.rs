//! Whether several units' samples may be pooled into one trace: the Kruskal–Wallis H test
//! across groups (one group per unit), with the tie correction and the chi-square
//! approximation of `scipy.stats.kruskal` (checked against it in
//! `tests/reference/homogeneity.rs`). H0: every unit's latencies come from one
//! distribution; a small p-value says the units differ, so their samples stay apart.

use super::special::chi2_sf;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KruskalWallis {
    /// H, divided by the tie correction.
    pub statistic: f64,
    /// Groups − 1.
    pub df: usize,
    pub p_value: f64,
}

/// Kruskal–Wallis H over `groups` (at least two, each non-empty; `None` otherwise). Values
/// all equal leave nothing to rank: H = 0, p = 1 (scipy refuses that case).
pub fn kruskal_wallis(groups: &[&[f64]]) -> Option<KruskalWallis> {
    if groups.len() < 2 || groups.iter().any(|g| g.is_empty()) {
        return None;
    }
    let mut all: Vec<(f64, usize)> = groups
        .iter()
        .enumerate()
        .flat_map(|(k, g)| g.iter().map(move |&v| (v, k)))
        .collect();
    if all.iter().any(|(v, _)| !v.is_finite()) {
        return None;
    }
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = all.len() as f64;
    let mut rank_sum = vec![0.0; groups.len()];
    let mut ties = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        // Ranks are 1-based; a run of equal values shares the mean of its ranks.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for x in &all[i..=j] {
            rank_sum[x.1] += rank;
        }
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    let df = groups.len() - 1;
    let correction = 1.0 - ties / (n * n * n - n);
    if correction <= 0.0 {
        return Some(KruskalWallis {
            statistic: 0.0,
            df,
            p_value: 1.0,
        });
    }
    let sum: f64 = groups
        .iter()
        .zip(&rank_sum)
        .map(|(g, r)| r * r / g.len() as f64)
        .sum();
    let h = (12.0 / (n * (n + 1.0)) * sum - 3.0 * (n + 1.0)) / correction;
    let h = h.max(0.0);
    Some(KruskalWallis {
        statistic: h,
        df,
        p_value: chi2_sf(h, df as f64).clamp(0.0, 1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_groups_have_no_evidence_against_pooling() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let r = kruskal_wallis(&[&a, &a]).unwrap();
        assert!(r.statistic.abs() < 1e-12 && (r.p_value - 1.0).abs() < 1e-12);
        assert!(kruskal_wallis(&[&a]).is_none());
        assert!(kruskal_wallis(&[&a, &[]]).is_none());
    }

    #[test]
    fn separated_groups_are_told_apart() {
        let a: Vec<f64> = (0..50).map(f64::from).collect();
        let b: Vec<f64> = (100..150).map(f64::from).collect();
        let r = kruskal_wallis(&[&a, &b]).unwrap();
        assert!(r.p_value < 1e-10, "{r:?}");
    }
}
