//! Convergence of the bound with the sample count: the selected model refitted on
//! growing prefixes of the trace (acquisition order), so users can see whether running
//! more frames would still move the bound.

use super::models::{block_maxima, refit_plain, Dist, Fit, Method};
use super::special::sorted_copy;
use super::{tail_data, WcetSettings};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ConvergencePoint {
    pub n: usize,
    /// Point pWCET at the reference probability (None when the refit failed).
    pub value: Option<f64>,
    /// High-water mark of the prefix.
    pub hwm: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Convergence {
    pub reference_probability: f64,
    pub points: Vec<ConvergencePoint>,
    /// Largest relative distance of the points at >= 80% of the samples from the final value.
    pub relative_spread: f64,
    pub converged: bool,
    pub rule: String,
}

pub fn study(
    samples: &[f64],
    fit: &Fit,
    s: &WcetSettings,
    block_size: usize,
    theta: f64,
) -> Convergence {
    let n = samples.len();
    let p = s.reference_probability();
    let mut points = Vec::new();
    for k in 1..=10 {
        let nk = n * k / 10;
        if nk < s.min_samples() {
            continue;
        }
        let prefix = &samples[..nk];
        // GEV refits need only the block maxima: sorting the whole prefix (for the
        // threshold of the GPD) would cost more than the refit
        let (dist, hwm) = match fit.method {
            Method::GevBm => (
                refit_plain(fit, &sorted_copy(&block_maxima(prefix, block_size))),
                prefix.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ),
            Method::GpdPot => {
                let sorted = sorted_copy(prefix);
                let data = tail_data(prefix, &sorted, block_size, theta, s.threshold_quantile);
                let d = refit_plain(fit, &data.excesses_sorted).map(|d| match d {
                    Dist::Gpd { gpd, .. } => Dist::Gpd {
                        gpd,
                        threshold: data.threshold,
                        rate: data.rate(),
                    },
                    other => other,
                });
                (d, sorted[nk - 1])
            }
        };
        points.push(ConvergencePoint {
            n: nk,
            value: dist.and_then(|d| d.pwcet(p)).filter(|v| v.is_finite()),
            hwm,
        });
    }
    let last = points.last().and_then(|q| q.value);
    let tail: Vec<&ConvergencePoint> = points.iter().filter(|q| q.n * 10 >= n * 8).collect();
    let spread = match last {
        Some(v) if tail.len() >= 3 => tail
            .iter()
            .map(|q| q.value.map_or(f64::INFINITY, |x| ((x - v) / v).abs()))
            .fold(0.0, f64::max),
        _ => f64::NAN,
    };
    Convergence {
        reference_probability: p,
        points,
        relative_spread: spread,
        converged: spread.is_finite() && spread <= s.convergence_tolerance,
        rule: format!(
            "converged when the bounds from 80%, 90% and 100% of the samples lie within {:.0}% of the final one",
            100.0 * s.convergence_tolerance
        ),
    }
}
