//! Greedy detection-to-ground-truth matching shared by the COCO evaluator and the per-frame
//! precision/recall tables, so both count a detection the same way.
//!
//! The rule is pycocotools' `evaluateImg`: detections in descending score order each take the
//! best still-free ground truth with IoU ≥ t; regular objects are preferred to ignore regions
//! (once a regular object is matched, the search stops at the first ignore region); a
//! *reusable* ground truth (COCO crowd, and in the frame pipeline also VOC difficult / KITTI
//! DontCare regions) may absorb any number of detections.

/// How one ground-truth object takes part in matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GtRole {
    /// Matches to it are neither true nor false positives; a miss is not counted.
    pub ignore: bool,
    /// It may be matched by several detections.
    pub reusable: bool,
}

/// Matches detections `0..n_dt` (already in descending score order) against ground truths.
///
/// `ious` is row-major `n_dt × n_gt` in the ground truths' original order; `order` lists the
/// ground-truth indices with non-ignored objects first (stable). `taken` (length `n_gt`) is
/// cleared here. `out[d]` receives the matched ground-truth index.
#[allow(clippy::too_many_arguments)]
pub fn greedy_match(
    ious: &[f64],
    n_dt: usize,
    n_gt: usize,
    order: &[usize],
    roles: &[GtRole],
    threshold: f64,
    taken: &mut [bool],
    out: &mut [Option<usize>],
) {
    taken.iter_mut().for_each(|t| *t = false);
    out.iter_mut().for_each(|o| *o = None);
    if n_gt == 0 {
        return;
    }
    let start = threshold.min(1.0 - 1e-10);
    for (d, slot) in out.iter_mut().enumerate().take(n_dt) {
        let row = &ious[d * n_gt..(d + 1) * n_gt];
        let mut best = start;
        let mut m: Option<usize> = None;
        for &g in order {
            if taken[g] && !roles[g].reusable {
                continue;
            }
            if let Some(mg) = m {
                if !roles[mg].ignore && roles[g].ignore {
                    break;
                }
            }
            if row[g] < best {
                continue;
            }
            best = row[g];
            m = Some(g);
        }
        if let Some(g) = m {
            taken[g] = true;
            *slot = Some(g);
        }
    }
}

/// Ground-truth indices with non-ignored objects first, each group in its original order
/// (numpy's stable `argsort` of the ignore flags).
pub fn ignore_last_order(ignore: impl Iterator<Item = bool> + Clone) -> Vec<usize> {
    let regular = ignore
        .clone()
        .enumerate()
        .filter(|(_, ig)| !ig)
        .map(|(i, _)| i);
    let ignored = ignore.enumerate().filter(|(_, ig)| *ig).map(|(i, _)| i);
    regular.chain(ignored).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const REG: GtRole = GtRole {
        ignore: false,
        reusable: false,
    };
    const CROWD: GtRole = GtRole {
        ignore: true,
        reusable: true,
    };

    #[test]
    fn second_detection_on_same_object_is_unmatched() {
        let ious = [0.9, 0.8];
        let mut taken = [false];
        let mut out = [None, None];
        greedy_match(&ious, 2, 1, &[0], &[REG], 0.5, &mut taken, &mut out);
        assert_eq!(out, [Some(0), None]);
    }

    #[test]
    fn regular_object_preferred_over_better_overlapping_crowd() {
        // gt 0 is a crowd with a higher IoU, gt 1 a regular object above threshold.
        let ious = [0.95, 0.6];
        let order = ignore_last_order([true, false].into_iter());
        assert_eq!(order, vec![1, 0]);
        let mut taken = [false; 2];
        let mut out = [None];
        greedy_match(
            &ious,
            1,
            2,
            &order,
            &[CROWD, REG],
            0.5,
            &mut taken,
            &mut out,
        );
        assert_eq!(out, [Some(1)]);
    }

    #[test]
    fn crowd_absorbs_many_detections() {
        let ious = [0.7, 0.7, 0.7];
        let mut taken = [false];
        let mut out = [None; 3];
        greedy_match(&ious, 3, 1, &[0], &[CROWD], 0.5, &mut taken, &mut out);
        assert_eq!(out, [Some(0); 3]);
    }
}

/// What became of one detection in [`match_objects`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Matched a regular object.
    TruePositive,
    /// Matched nothing.
    FalsePositive,
    /// Matched an ignore region (VOC difficult, KITTI DontCare, COCO crowd): not counted.
    Ignored,
}

/// Result of matching one class in one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectMatch {
    /// Per detection, in the order given.
    pub outcomes: Vec<Outcome>,
    /// Per ground truth, in the order given: the detection index it was matched to.
    pub gt_match: Vec<Option<usize>>,
}

/// Matches the detections and ground truths of one class in one frame at IoU `threshold`.
///
/// Ground truths flagged `ignore` or `crowd` are ignore regions that may absorb several
/// detections; crowd regions use pycocotools' IoU (detection area as the union). Detections
/// are taken by descending score, ties in input order.
pub fn match_objects(
    gts: &[&adasval_core::types::GtObject],
    dets: &[&adasval_core::types::Detection],
    threshold: f64,
) -> ObjectMatch {
    let (nd, ng) = (dets.len(), gts.len());
    let mut by_score: Vec<usize> = (0..nd).collect();
    by_score.sort_by(|&a, &b| {
        crate::metrics::coco::eval::descending(dets[a].score as f64, dets[b].score as f64)
    });
    let mut ious = vec![0.0; nd * ng];
    for (row, &d) in by_score.iter().enumerate() {
        for (g, gt) in gts.iter().enumerate() {
            ious[row * ng + g] = crate::metrics::iou::iou_f32(&dets[d].bbox, &gt.bbox, gt.crowd);
        }
    }
    let roles: Vec<GtRole> = gts
        .iter()
        .map(|g| GtRole {
            ignore: g.ignore || g.crowd,
            reusable: g.ignore || g.crowd,
        })
        .collect();
    let order = ignore_last_order(roles.iter().map(|r| r.ignore));
    let mut taken = vec![false; ng];
    let mut matched = vec![None; nd];
    greedy_match(
        &ious,
        nd,
        ng,
        &order,
        &roles,
        threshold,
        &mut taken,
        &mut matched,
    );
    let mut outcomes = vec![Outcome::FalsePositive; nd];
    let mut gt_match = vec![None; ng];
    for (row, m) in matched.iter().enumerate() {
        let d = by_score[row];
        if let Some(g) = *m {
            if roles[g].ignore {
                outcomes[d] = Outcome::Ignored;
            } else {
                outcomes[d] = Outcome::TruePositive;
                gt_match[g] = Some(d);
            }
        }
    }
    ObjectMatch { outcomes, gt_match }
}
