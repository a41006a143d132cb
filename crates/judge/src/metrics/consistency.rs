//! Consistency of two runs of the same frames (different engines, builds or platforms; the
//! study's Tables V and VI): frames whose safety decisions differ, drift of the boxes both
//! runs found, and agreement of raw output tensors with per-output tolerances. Pure functions
//! over in-memory outputs; `adasval compare` feeds them from run records.

use crate::metrics::iou::iou_f32;
use adasval_core::types::Detection;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Detections of one frame in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameDetections {
    pub frame: usize,
    pub dets: Vec<Detection>,
}

/// How two runs' detections are paired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionSettings {
    /// Classes whose presence is a safety decision; empty: every class.
    pub critical_classes: Vec<u32>,
    /// Two outputs are the same object when their IoU reaches this (class-agnostic).
    pub iou_threshold: f64,
}

impl Default for DecisionSettings {
    fn default() -> Self {
        DecisionSettings {
            critical_classes: Vec::new(),
            iou_threshold: 0.5,
        }
    }
}

/// One difference between the runs in a frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Difference {
    /// A critical object found by run A only.
    OnlyInA { det: Detection },
    /// A critical object found by run B only.
    OnlyInB { det: Detection },
    /// The same box (IoU ≥ threshold) with a different class (one of them critical).
    ClassChange {
        a: Detection,
        b: Detection,
        iou: f64,
    },
}

/// A frame whose decisions differ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameDifference {
    pub frame: usize,
    pub differences: Vec<Difference>,
}

/// Decision differences and box drift between two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionComparison {
    /// Frames present in both runs.
    pub frames_compared: usize,
    /// Frames present in one run only.
    pub frames_unpaired: Vec<usize>,
    pub differing: Vec<FrameDifference>,
    /// Matched pairs (any class) used for the drift.
    pub matched_pairs: usize,
    /// Mean IoU of the matched pairs; `None` without pairs.
    pub mean_iou: Option<f64>,
    pub min_iou: Option<f64>,
}

/// Pairs each frame's outputs (greedy, highest IoU first, class-agnostic) and lists the
/// frames where a critical object is found by one run only or changes class.
pub fn compare_decisions(
    a: &[FrameDetections],
    b: &[FrameDetections],
    settings: &DecisionSettings,
) -> DecisionComparison {
    let critical =
        |c: u32| settings.critical_classes.is_empty() || settings.critical_classes.contains(&c);
    let bmap: BTreeMap<usize, &FrameDetections> = b.iter().map(|f| (f.frame, f)).collect();
    let amap: BTreeMap<usize, &FrameDetections> = a.iter().map(|f| (f.frame, f)).collect();
    let mut unpaired: Vec<usize> = amap
        .keys()
        .filter(|k| !bmap.contains_key(k))
        .chain(bmap.keys().filter(|k| !amap.contains_key(k)))
        .copied()
        .collect();
    unpaired.sort_unstable();
    let (mut compared, mut differing, mut ious) = (0usize, Vec::new(), Vec::new());
    for (frame, fa) in &amap {
        let Some(fb) = bmap.get(frame) else { continue };
        compared += 1;
        let mut pairs = Vec::new();
        for (i, da) in fa.dets.iter().enumerate() {
            for (j, db) in fb.dets.iter().enumerate() {
                let v = iou_f32(&da.bbox, &db.bbox, false);
                if v >= settings.iou_threshold && v > 0.0 {
                    pairs.push((v, i, j));
                }
            }
        }
        pairs.sort_by(|x, y| crate::metrics::coco::eval::descending(x.0, y.0));
        let (mut used_a, mut used_b) = (vec![false; fa.dets.len()], vec![false; fb.dets.len()]);
        let mut diffs = Vec::new();
        for (v, i, j) in pairs {
            if used_a[i] || used_b[j] {
                continue;
            }
            used_a[i] = true;
            used_b[j] = true;
            ious.push(v);
            let (da, db) = (&fa.dets[i], &fb.dets[j]);
            if da.class_id != db.class_id && (critical(da.class_id) || critical(db.class_id)) {
                diffs.push(Difference::ClassChange {
                    a: da.clone(),
                    b: db.clone(),
                    iou: v,
                });
            }
        }
        for (i, d) in fa.dets.iter().enumerate() {
            if !used_a[i] && critical(d.class_id) {
                diffs.push(Difference::OnlyInA { det: d.clone() });
            }
        }
        for (j, d) in fb.dets.iter().enumerate() {
            if !used_b[j] && critical(d.class_id) {
                diffs.push(Difference::OnlyInB { det: d.clone() });
            }
        }
        if !diffs.is_empty() {
            differing.push(FrameDifference {
                frame: *frame,
                differences: diffs,
            });
        }
    }
    DecisionComparison {
        frames_compared: compared,
        frames_unpaired: unpaired,
        differing,
        matched_pairs: ious.len(),
        mean_iou: (!ious.is_empty()).then(|| ious.iter().sum::<f64>() / ious.len() as f64),
        min_iou: ious.iter().copied().reduce(f64::min),
    }
}

/// The pairwise matrix over several runs of the same frames: entry `[i][j]` compares run `i`
/// (as A) with run `j` (as B); the diagonal compares a run with itself.
pub fn decision_matrix(
    runs: &[&[FrameDetections]],
    settings: &DecisionSettings,
) -> Vec<Vec<DecisionComparison>> {
    runs.iter()
        .map(|a| {
            runs.iter()
                .map(|b| compare_decisions(a, b, settings))
                .collect()
        })
        .collect()
}

/// A named raw output tensor (row-major values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Elementwise tolerance: pass when |a − b| ≤ atol + rtol·|b| (numpy `allclose`, b the
/// reference run).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub atol: f64,
    pub rtol: f64,
}

/// Tolerances per output name with a default entry, and the error quantile to report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tolerances {
    pub default: Tolerance,
    pub per_output: BTreeMap<String, Tolerance>,
    /// Quantile of the absolute error reported next to max and mean (e.g. 0.99).
    pub quantile: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            default: Tolerance {
                atol: 1e-5,
                rtol: 1e-5,
            },
            per_output: BTreeMap::new(),
            quantile: 0.99,
        }
    }
}

impl Tolerances {
    pub fn for_output(&self, name: &str) -> Tolerance {
        self.per_output.get(name).copied().unwrap_or(self.default)
    }
}

/// Agreement of one output between two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorAgreement {
    pub name: String,
    /// SHA-256 of the little-endian bytes of each run's tensor.
    pub hash_a: String,
    pub hash_b: Option<String>,
    pub bit_identical: bool,
    pub shape_match: bool,
    pub max_abs: f64,
    /// max |a − b| / |b| over elements with b ≠ 0.
    pub max_rel: f64,
    pub mean_abs: f64,
    pub quantile: f64,
    /// The `quantile` of |a − b| (nearest rank).
    pub quantile_abs: f64,
    pub tolerance: Tolerance,
    /// Elements outside the tolerance (NaN on either side counts unless both are NaN).
    pub violations: usize,
    pub within_tolerance: bool,
}

fn tensor_hash(t: &NamedTensor) -> String {
    let mut h = adasval_core::hash::Hasher::new();
    for v in &t.data {
        h.update(&v.to_le_bytes());
    }
    h.finish_hex()
}

/// Compares same-named outputs of run A against run B (the reference). Outputs missing
/// from B are reported as not matching.
pub fn compare_tensors(
    a: &[NamedTensor],
    b: &[NamedTensor],
    tolerances: &Tolerances,
) -> Vec<TensorAgreement> {
    a.iter()
        .map(|ta| {
            let tol = tolerances.for_output(&ta.name);
            let hash_a = tensor_hash(ta);
            let Some(tb) = b.iter().find(|t| t.name == ta.name) else {
                return TensorAgreement {
                    name: ta.name.clone(),
                    hash_a,
                    hash_b: None,
                    bit_identical: false,
                    shape_match: false,
                    max_abs: f64::INFINITY,
                    max_rel: f64::INFINITY,
                    mean_abs: f64::INFINITY,
                    quantile: tolerances.quantile,
                    quantile_abs: f64::INFINITY,
                    tolerance: tol,
                    violations: ta.data.len(),
                    within_tolerance: false,
                };
            };
            let hash_b = tensor_hash(tb);
            let shape_match = ta.shape == tb.shape && ta.data.len() == tb.data.len();
            let mut abs: Vec<f64> = Vec::with_capacity(ta.data.len());
            let (mut max_rel, mut violations) = (0.0f64, 0usize);
            for (&x, &y) in ta.data.iter().zip(&tb.data) {
                let (x, y) = (x as f64, y as f64);
                if x.is_nan() && y.is_nan() {
                    abs.push(0.0);
                    continue;
                }
                let e = (x - y).abs();
                let e = if e.is_nan() { f64::INFINITY } else { e };
                abs.push(e);
                if y != 0.0 {
                    max_rel = max_rel.max(e / y.abs());
                } else if e > 0.0 {
                    max_rel = f64::INFINITY;
                }
                let within = e <= tol.atol + tol.rtol * y.abs();
                if !within {
                    violations += 1;
                }
            }
            let n = abs.len();
            let max_abs = abs.iter().copied().fold(0.0, f64::max);
            let mean_abs = if n > 0 {
                abs.iter().sum::<f64>() / n as f64
            } else {
                0.0
            };
            let quantile_abs = if n > 0 {
                abs.sort_by(|x, y| x.total_cmp(y));
                let rank = (tolerances.quantile.clamp(0.0, 1.0) * n as f64).ceil() as usize;
                abs[rank.clamp(1, n) - 1]
            } else {
                0.0
            };
            TensorAgreement {
                name: ta.name.clone(),
                bit_identical: hash_a == hash_b && shape_match,
                hash_a,
                hash_b: Some(hash_b),
                shape_match,
                max_abs,
                max_rel,
                mean_abs,
                quantile: tolerances.quantile,
                quantile_abs,
                tolerance: tol,
                violations,
                within_tolerance: shape_match && violations == 0,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(class_id: u32, x: f32) -> Detection {
        Detection {
            class_id,
            score: 0.9,
            bbox: [x, 0.0, 10.0, 10.0],
        }
    }

    #[test]
    fn missing_object_and_class_change_are_reported() {
        let a = vec![
            FrameDetections {
                frame: 0,
                dets: vec![det(0, 0.0), det(2, 50.0)],
            },
            FrameDetections {
                frame: 1,
                dets: vec![det(0, 0.0)],
            },
        ];
        let b = vec![
            FrameDetections {
                frame: 0,
                dets: vec![det(0, 1.0)],
            },
            FrameDetections {
                frame: 1,
                dets: vec![det(2, 0.0)],
            },
        ];
        let r = compare_decisions(&a, &b, &DecisionSettings::default());
        assert_eq!(r.differing.len(), 2);
        assert!(matches!(
            r.differing[0].differences[0],
            Difference::OnlyInA { .. }
        ));
        assert!(matches!(
            r.differing[1].differences[0],
            Difference::ClassChange { .. }
        ));
        assert_eq!(r.matched_pairs, 2);
        assert!((r.min_iou.unwrap() - 90.0 / 110.0).abs() < 1e-9);
    }

    #[test]
    fn matrix_is_symmetric_in_differing_frames_and_clean_on_the_diagonal() {
        let r1 = vec![FrameDetections {
            frame: 0,
            dets: vec![det(0, 0.0)],
        }];
        let r2 = vec![FrameDetections {
            frame: 0,
            dets: vec![],
        }];
        let m = decision_matrix(&[&r1, &r2], &DecisionSettings::default());
        assert!(m[0][0].differing.is_empty() && m[1][1].differing.is_empty());
        assert_eq!(m[0][1].differing.len(), 1);
        assert_eq!(m[1][0].differing.len(), 1);
        assert!(matches!(
            m[1][0].differing[0].differences[0],
            Difference::OnlyInB { .. }
        ));
    }

    #[test]
    fn tensor_errors_and_tolerance() {
        let t = |d: Vec<f32>| NamedTensor {
            name: "out".into(),
            shape: vec![d.len()],
            data: d,
        };
        let a = [t(vec![1.0, 2.0, 3.0, 4.0])];
        let b = [t(vec![1.0, 2.0, 3.5, 4.0])];
        let r = &compare_tensors(&a, &b, &Tolerances::default())[0];
        assert!(!r.bit_identical && !r.within_tolerance);
        assert_eq!(r.max_abs, 0.5);
        assert!((r.max_rel - 0.5 / 3.5).abs() < 1e-12);
        assert_eq!(r.mean_abs, 0.125);
        assert_eq!(r.violations, 1);
        let same = &compare_tensors(&a, &a, &Tolerances::default())[0];
        assert!(same.bit_identical && same.within_tolerance);
    }
}
