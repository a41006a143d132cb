//! Run-to-run statistics of the latency-stability study (the study's Table XII):
//! Kruskal–Wallis H test across runs and the spread of the runs' medians.

use adasval_record::sweep::KruskalWallis;

/// Kruskal–Wallis H test that all groups come from the same distribution. `None` with
/// fewer than two non-empty groups, or when every value is identical (H undefined).
pub fn kruskal_wallis(groups: &[Vec<f64>]) -> Option<KruskalWallis> {
    let groups: Vec<&Vec<f64>> = groups.iter().filter(|g| !g.is_empty()).collect();
    if groups.len() < 2 || groups.iter().any(|g| g.iter().any(|v| !v.is_finite())) {
        return None;
    }
    let slices: Vec<&[f64]> = groups.iter().map(|g| g.as_slice()).collect();
    let (rank_sum, ties) = crate::regress::stats::rank_sums(&slices);
    let n: usize = groups.iter().map(|g| g.len()).sum();
    let nf = n as f64;
    let correction = 1.0 - ties / (nf * nf * nf - nf);
    if correction <= 0.0 {
        return None;
    }
    let h_raw = 12.0 / (nf * (nf + 1.0))
        * groups
            .iter()
            .zip(&rank_sum)
            .map(|(g, r)| r * r / g.len() as f64)
            .sum::<f64>()
        - 3.0 * (nf + 1.0);
    let h = h_raw / correction;
    let df = groups.len() - 1;
    Some(KruskalWallis {
        h,
        df,
        p_value: crate::wcet::special::chi2_sf(h, df as f64).clamp(0.0, 1.0),
    })
}

/// Coefficient of variation (sample standard deviation, n − 1, over the mean); `None`
/// for fewer than two values or a zero mean.
pub fn coefficient_of_variation(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if mean == 0.0 {
        return None;
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some(var.sqrt() / mean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degenerate_inputs() {
        assert_eq!(kruskal_wallis(&[vec![1.0, 2.0]]), None);
        assert_eq!(kruskal_wallis(&[vec![1.0], vec![]]), None);
        assert_eq!(kruskal_wallis(&[vec![3.0, 3.0], vec![3.0]]), None);
        assert_eq!(coefficient_of_variation(&[1.0]), None);
    }

    #[test]
    fn separated_groups_are_significant_and_identical_groups_are_not() {
        let a: Vec<f64> = (0..30).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..30).map(|i| 100.0 + i as f64).collect();
        let kw = kruskal_wallis(&[a.clone(), b]).unwrap();
        assert!(kw.p_value < 1e-6, "{kw:?}");
        let kw = kruskal_wallis(&[a.clone(), a]).unwrap();
        assert!(
            kw.h.abs() < 1e-9 && (kw.p_value - 1.0).abs() < 1e-9,
            "{kw:?}"
        );
    }

    #[test]
    fn cv_of_a_known_set() {
        // mean 5, sample sd sqrt(32/7) for 2,4,4,4,5,5,7,9.
        let cv = coefficient_of_variation(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert!((cv - (32.0f64 / 7.0).sqrt() / 5.0).abs() < 1e-12);
    }
}
