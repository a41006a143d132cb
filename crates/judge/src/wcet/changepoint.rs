//! Change-point detection on the raw trace, run before any route: a CUSUM of ranks with
//! the long-run variance from an AR(1) fit to the residuals around the candidate break.
//!
//! Why this form: the block-maxima tests (50–100 maxima) have little power against a level
//! shift, and the raw-frame KS/KPSS tests reject every dependent trace, so neither can tell a
//! shift from serial dependence. The CUSUM of ranks (a Mann–Whitney split statistic over
//! every split point; Pettitt 1979) is robust to heavy tails; dividing by the long-run
//! standard deviation makes it valid under serial dependence (Csörgő & Horváth 1997,
//! "Limit Theorems in Change-Point Analysis", ch. 2), and estimating that variance from the
//! residuals *around the candidate break* keeps the power that a variance inflated by the
//! shift itself would lose (Vogelsang 1999). The AR(1) plug-in (Andrews 1991) is exact for
//! the long-run variance of AR(1) dependence and conservative for short periodic components.
//! Under no change the statistic tends to sup |Brownian bridge|, Kolmogorov's law.

use super::special::kolmogorov_sf;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ChangePoint {
    pub name: String,
    /// sup_k |S_k| / sqrt(n * long-run variance) of the centred ranks.
    pub statistic: f64,
    pub p_value: f64,
    pub alpha: f64,
    pub passed: bool,
    /// 0-based index (acquisition order) of the first frame after the most likely change.
    pub frame: usize,
    /// Mean of the frames before and from `frame` on (the size of the shift).
    pub mean_before: f64,
    pub mean_after: f64,
    /// Lag-1 autocorrelation of the rank residuals used for the long-run variance.
    pub ar1: f64,
}

/// Ranks 1..=n (ties broken by acquisition order; latencies rarely tie exactly).
fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_unstable_by(|&a, &b| x[a].total_cmp(&x[b]).then(a.cmp(&b)));
    let mut r = vec![0.0; x.len()];
    for (k, &i) in idx.iter().enumerate() {
        r[i] = (k + 1) as f64;
    }
    r
}

/// CUSUM-of-ranks change-point test at level `alpha`.
pub fn cusum_ranks(x: &[f64], alpha: f64) -> Option<ChangePoint> {
    let n = x.len();
    if n < 20 {
        return None;
    }
    let r = ranks(x);
    let mean = (n as f64 + 1.0) / 2.0;
    let mut s = 0.0f64;
    let (mut best, mut k_best) = (0.0f64, 0usize);
    for (k, v) in r.iter().enumerate().take(n - 1) {
        s += v - mean;
        if s.abs() > best {
            best = s.abs();
            k_best = k + 1;
        }
    }
    // residuals around the candidate break
    let m1 = r[..k_best].iter().sum::<f64>() / k_best as f64;
    let m2 = r[k_best..].iter().sum::<f64>() / (n - k_best) as f64;
    let e: Vec<f64> = r
        .iter()
        .enumerate()
        .map(|(t, v)| v - if t < k_best { m1 } else { m2 })
        .collect();
    let g0 = e.iter().map(|v| v * v).sum::<f64>() / n as f64;
    let g1 = e.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / n as f64;
    // bounded away from 1 so that the long-run variance stays finite (near-unit-root
    // traces then reject, which is the right answer: they have no stable marginal)
    let phi = if g0 > 0.0 {
        (g1 / g0).clamp(0.0, 0.98)
    } else {
        0.0
    };
    let lrv = g0 * (1.0 + phi) / (1.0 - phi);
    // also catches NaN (a constant trace has no ranks to test)
    if lrv.is_nan() || lrv <= 0.0 {
        return None;
    }
    let stat = best / (n as f64 * lrv).sqrt();
    let p = kolmogorov_sf(stat);
    let mean_of = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    Some(ChangePoint {
        name: "cusum-ranks".into(),
        statistic: stat,
        p_value: p,
        alpha,
        passed: p >= alpha,
        frame: k_best,
        mean_before: mean_of(&x[..k_best]),
        mean_after: mean_of(&x[k_best..]),
        ar1: phi,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wcet::rng::Rng;

    #[test]
    fn finds_a_level_shift_and_its_frame() {
        let mut r = Rng::new(3);
        let x: Vec<f64> = (0..4000)
            .map(|t| 10.0 + if t >= 2500 { 0.5 } else { 0.0 } + r.normal())
            .collect();
        let c = cusum_ranks(&x, 0.01).unwrap();
        assert!(!c.passed, "{c:?}");
        assert!((c.frame as i64 - 2500).abs() < 100, "{}", c.frame);
    }

    #[test]
    fn iid_and_ar1_pass_at_their_level() {
        // size check: the share of false alarms stays near alpha for i.i.d. and AR(1) 0.7
        let (mut iid, mut ar) = (0, 0);
        for seed in 0..200u64 {
            let mut r = Rng::new(seed);
            let x: Vec<f64> = (0..2000).map(|_| 10.0 + r.normal()).collect();
            iid += usize::from(!cusum_ranks(&x, 0.05).unwrap().passed);
            let mut v = 0.0;
            let y: Vec<f64> = (0..2000)
                .map(|_| {
                    v = 0.7 * v + r.normal();
                    10.0 + v
                })
                .collect();
            ar += usize::from(!cusum_ranks(&y, 0.05).unwrap().passed);
        }
        assert!(iid <= 20, "iid false alarms {iid}/200");
        assert!(ar <= 24, "AR(1) false alarms {ar}/200");
    }
}
