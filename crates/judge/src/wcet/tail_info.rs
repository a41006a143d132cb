//! Diagnostics reported beside the tail fits: the POT threshold choice (mean excess and
//! coefficient of variation of the excesses over a ladder of thresholds) and the
//! extremal-index estimate that measures clustering of exceedances in acquisition order.

use super::special::quantile_sorted;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ThresholdRow {
    pub quantile: f64,
    pub threshold: f64,
    pub exceedances: usize,
    pub mean_excess: f64,
    /// Coefficient of variation of the excesses: about 1 for an exponential tail (xi = 0),
    /// below 1 for a bounded tail, above 1 for a heavy one; roughly constant above a
    /// threshold where the GPD holds.
    pub cv: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThresholdInfo {
    pub quantile: f64,
    pub value: f64,
    pub exceedances: usize,
    pub rate: f64,
    pub criterion: String,
    pub cv: f64,
    pub ladder: Vec<ThresholdRow>,
}

fn excess_row(sorted: &[f64], q: f64) -> ThresholdRow {
    let u = quantile_sorted(sorted, q);
    let ex: Vec<f64> = sorted.iter().filter(|&&v| v > u).map(|&v| v - u).collect();
    let k = ex.len();
    let mean = ex.iter().sum::<f64>() / k.max(1) as f64;
    let var = ex.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (k.max(2) - 1) as f64;
    ThresholdRow {
        quantile: q,
        threshold: u,
        exceedances: k,
        mean_excess: if k > 0 { mean } else { f64::NAN },
        cv: if k > 1 && mean > 0.0 {
            var.sqrt() / mean
        } else {
            f64::NAN
        },
    }
}

pub fn threshold_info(sorted: &[f64], q: f64) -> ThresholdInfo {
    let chosen = excess_row(sorted, q);
    let ladder = [0.80, 0.85, 0.90, 0.95, 0.975, 0.99, 0.995]
        .iter()
        .map(|&qq| excess_row(sorted, qq))
        .filter(|r| r.exceedances >= 10)
        .collect();
    ThresholdInfo {
        quantile: q,
        value: chosen.threshold,
        exceedances: chosen.exceedances,
        rate: chosen.exceedances as f64 / sorted.len().max(1) as f64,
        criterion:
            "fixed quantile (--threshold-quantile); check that mean excess is linear and the CV of \
                    excesses stable across the ladder above it"
                .into(),
        cv: chosen.cv,
        ladder,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ExtremalIndex {
    /// In (0, 1]; 1 means exceedances do not cluster; 1/estimate is the mean cluster size.
    pub estimate: f64,
    pub threshold: f64,
    pub exceedances: usize,
    pub method: String,
}

/// Ferro & Segers (2003) intervals estimator over exceedances of u, in acquisition order.
pub fn extremal_index(x: &[f64], u: f64) -> Option<ExtremalIndex> {
    let pos: Vec<usize> = x
        .iter()
        .enumerate()
        .filter(|(_, &v)| v > u)
        .map(|(i, _)| i)
        .collect();
    let nn = pos.len();
    if nn < 3 {
        return None;
    }
    let t: Vec<f64> = pos.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let m = (nn - 1) as f64;
    let tmax = t.iter().copied().fold(0.0, f64::max);
    let theta = if tmax <= 2.0 {
        let s: f64 = t.iter().sum();
        let s2: f64 = t.iter().map(|v| v * v).sum();
        2.0 * s * s / (m * s2)
    } else {
        let s: f64 = t.iter().map(|v| v - 1.0).sum();
        let s2: f64 = t.iter().map(|v| (v - 1.0) * (v - 2.0)).sum();
        2.0 * s * s / (m * s2)
    };
    Some(ExtremalIndex {
        estimate: theta.min(1.0),
        threshold: u,
        exceedances: nn,
        method: "Ferro-Segers intervals estimator".into(),
    })
}
