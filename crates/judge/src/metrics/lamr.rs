//! Log-average miss rate (Dollár, Wojek, Schiele, Perona, "Pedestrian Detection: An
//! Evaluation of the State of the Art", PAMI 2012), the pedestrian summary of a run.
//!
//! Convention (as the Caltech toolbox's `bbGt('compRoc')`): detections are ranked by
//! descending score (ties in input order); after each one the curve has a point
//! (FPPI = false positives / frames, MR = 1 − true positives / positives). At each of the 9
//! reference FPPI values 10^-2, 10^-1.75, …, 10^0 the miss rate is that of the last point
//! whose FPPI is ≤ the reference; when no point is (the first ranked detection is already too
//! costly), the miss rate is 1; when the curve ends before the reference, its last point
//! counts. LAMR = exp(mean(ln(max(MR, 1e-10)))). Detections matched to ignore regions are
//! left out.

use crate::metrics::matching::Outcome;
use serde::{Deserialize, Serialize};

/// One ranked detection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredOutcome {
    pub score: f64,
    pub outcome: Outcome,
}

/// The miss rate summary of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LamrReport {
    pub class: String,
    /// Log-average miss rate in [0, 1]; lower is better.
    pub lamr: f64,
    /// (reference FPPI, miss rate) at the 9 sampling points.
    pub points: Vec<(f64, f64)>,
    pub positives: usize,
    pub frames: usize,
}

/// The 9 reference FPPI values, log-spaced over [1e-2, 1e0].
pub fn reference_fppi() -> [f64; 9] {
    let mut r = [0.0; 9];
    for (i, v) in r.iter_mut().enumerate() {
        *v = libm::pow(10.0, -2.0 + 0.25 * i as f64);
    }
    r
}

/// LAMR over `frames` frames with `positives` non-ignored objects; `None` when either is 0.
pub fn log_average_miss_rate(
    detections: &[ScoredOutcome],
    positives: usize,
    frames: usize,
) -> Option<LamrReport> {
    if positives == 0 || frames == 0 {
        return None;
    }
    let mut ranked: Vec<&ScoredOutcome> = detections
        .iter()
        .filter(|d| d.outcome != Outcome::Ignored)
        .collect();
    ranked.sort_by(|a, b| crate::metrics::coco::eval::descending(a.score, b.score));
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut curve = Vec::with_capacity(ranked.len());
    for d in ranked {
        match d.outcome {
            Outcome::TruePositive => tp += 1,
            _ => fp += 1,
        }
        curve.push((
            fp as f64 / frames as f64,
            1.0 - tp as f64 / positives as f64,
        ));
    }
    let points: Vec<(f64, f64)> = reference_fppi()
        .iter()
        .map(|&r| {
            let mr = curve
                .iter()
                .take_while(|(fppi, _)| *fppi <= r)
                .last()
                .map_or(1.0, |p| p.1);
            (r, mr)
        })
        .collect();
    let mean_log = points
        .iter()
        .map(|(_, mr)| libm::log(mr.max(1e-10)))
        .sum::<f64>()
        / points.len() as f64;
    Some(LamrReport {
        class: String::new(),
        lamr: libm::exp(mean_log),
        points,
        positives,
        frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn so(score: f64, tp: bool) -> ScoredOutcome {
        ScoredOutcome {
            score,
            outcome: if tp {
                Outcome::TruePositive
            } else {
                Outcome::FalsePositive
            },
        }
    }

    #[test]
    fn perfect_detector_has_tiny_miss_rate() {
        let d = [so(0.9, true), so(0.8, true)];
        let r = log_average_miss_rate(&d, 2, 10).unwrap();
        assert!(r.lamr <= 1e-10 * 1.0001);
    }

    #[test]
    fn no_detections_miss_everything() {
        let r = log_average_miss_rate(&[], 5, 10).unwrap();
        assert_eq!(r.lamr, 1.0);
    }

    #[test]
    fn leading_false_positive_costs_points_below_its_fppi() {
        // 1 frame: the first FP has FPPI 1, so only the last reference point (1e0) sees the TP.
        let d = [so(0.9, false), so(0.8, true)];
        let r = log_average_miss_rate(&d, 1, 1).unwrap();
        assert_eq!(r.points[0].1, 1.0);
        assert_eq!(r.points[8].1, 0.0);
    }
}
