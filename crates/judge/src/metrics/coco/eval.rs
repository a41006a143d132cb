//! The COCO bbox evaluator on in-memory data: pycocotools 2.0.11 `COCOeval` (iouType
//! `bbox`, default parameters) evaluate + accumulate + summarize, reproduced step by step
//! (stable sorts, matching order, precision envelope, 101-point sampling) so the numbers agree
//! to rounding. Categories are evaluated in parallel.

use crate::metrics::iou::iou_xywh;
use crate::metrics::matching::{greedy_match, ignore_last_order, GtRole};
use rayon::prelude::*;
use serde::Serialize;

/// Number of IoU thresholds (0.50:0.05:0.95).
pub const N_IOU: usize = 10;
/// Number of recall sampling points (0:0.01:1).
pub const N_REC: usize = 101;
/// Area ranges all / small / medium / large, on the ground truth's `area`.
pub const AREA_RANGES: [(f64, f64); 4] =
    [(0.0, 1e10), (0.0, 1024.0), (1024.0, 9216.0), (9216.0, 1e10)];
/// Labels of [`AREA_RANGES`].
pub const AREA_LABELS: [&str; 4] = ["all", "small", "medium", "large"];
/// Detections kept per image for AR1, AR10 and everything else.
pub const MAX_DETS: [usize; 3] = [1, 10, 100];

/// IoU thresholds with numpy `linspace`'s exact values (0.9 is 0.8999999999999999 there).
pub fn iou_thresholds() -> [f64; N_IOU] {
    let step = (0.95 - 0.5) / 9.0;
    let mut t = [0.0; N_IOU];
    for (i, v) in t.iter_mut().enumerate() {
        *v = 0.5 + i as f64 * step;
    }
    t[N_IOU - 1] = 0.95;
    t
}

/// Recall thresholds with numpy `linspace`'s exact values.
pub fn recall_thresholds() -> [f64; N_REC] {
    let mut r = [0.0; N_REC];
    for (i, v) in r.iter_mut().enumerate() {
        *v = i as f64 * 0.01;
    }
    r[N_REC - 1] = 1.0;
    r
}

/// One ground-truth object for the evaluator.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalGt {
    /// Position of its image in the evaluation's image list (sorted by image id).
    pub image: usize,
    /// Position of its category in the evaluation's category list (sorted by id).
    pub category: usize,
    pub bbox: [f64; 4],
    /// Area used for the small/medium/large ranges (COCO's `area` field).
    pub area: f64,
    /// Never counted as a miss; matches to it are neither TP nor FP (pycocotools: iscrowd).
    pub ignore: bool,
    /// IoU against it uses the detection's area as the union (COCO iscrowd).
    pub crowd: bool,
    /// Several detections may match it (COCO iscrowd; DontCare / difficult in frames).
    pub reusable: bool,
    /// `false` reproduces pycocotools' treatment of annotation id 0: it records the matched
    /// id in `dtMatches`, where 0 means "unmatched", so such a match counts as a miss of the
    /// detection.
    pub match_counts: bool,
}

/// One detection for the evaluator.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalDt {
    pub image: usize,
    pub category: usize,
    pub bbox: [f64; 4],
    pub score: f64,
}

/// Everything one evaluation needs. Order within `gts` / `dts` matters for ties (it is the
/// file order in pycocotools).
#[derive(Debug, Clone, Default)]
pub struct EvalInput {
    pub num_images: usize,
    pub num_categories: usize,
    pub gts: Vec<EvalGt>,
    pub dts: Vec<EvalDt>,
}

/// AP of one category (−1 when it has no non-ignored ground truth).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClassAp {
    #[serde(rename = "AP")]
    pub ap: f64,
    #[serde(rename = "AP50")]
    pub ap50: f64,
    #[serde(rename = "AP75")]
    pub ap75: f64,
    /// Non-ignored ground-truth objects of the category (area range "all").
    pub num_gt: usize,
}

/// The 12 COCO summary numbers and the per-category AP.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalResult {
    /// AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl; −1 where undefined.
    pub stats: [f64; 12],
    pub per_class: Vec<ClassAp>,
}

/// Names of [`EvalResult::stats`] in order.
pub const STAT_KEYS: [&str; 12] = [
    "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl",
];

impl EvalResult {
    /// All −1: what an evaluation without any detection reports.
    pub fn undefined(num_categories: usize) -> Self {
        EvalResult {
            stats: [-1.0; 12],
            per_class: vec![
                ClassAp {
                    ap: -1.0,
                    ap50: -1.0,
                    ap75: -1.0,
                    num_gt: 0,
                };
                num_categories
            ],
        }
    }
}

/// Per (image, category) evaluation: pycocotools' `evaluateImg` for the 4 area ranges.
struct ImageEval {
    /// Scores of the kept detections, descending (stable).
    scores: Vec<f64>,
    /// Non-ignored ground truths per area range.
    npig: [usize; 4],
    /// Per (area, IoU threshold, detection): bit 0 true positive, bit 1 false positive.
    flags: Vec<u8>,
}

/// Descending order where equal scores (0.0 and -0.0 included) keep their input order, as
/// numpy's stable sort of `-score`. NaN (possible only through the in-memory API) sorts
/// last, keeping the order total so sorting cannot panic.
pub(crate) fn descending(a: f64, b: f64) -> std::cmp::Ordering {
    let key = |x: f64| if x.is_nan() { f64::NEG_INFINITY } else { x };
    key(b)
        .partial_cmp(&key(a))
        .unwrap_or(std::cmp::Ordering::Equal)
}

const TP: u8 = 1;
const FP: u8 = 2;

fn evaluate_image(gts: &[&EvalGt], dts: &[&EvalDt], thresholds: &[f64; N_IOU]) -> ImageEval {
    let mut dt_order: Vec<usize> = (0..dts.len()).collect();
    // Stable, like numpy's mergesort on -score.
    dt_order.sort_by(|&a, &b| descending(dts[a].score, dts[b].score));
    dt_order.truncate(MAX_DETS[2]);
    let dts: Vec<&EvalDt> = dt_order.iter().map(|&i| dts[i]).collect();
    let (nd, ng) = (dts.len(), gts.len());
    let mut ious = vec![0.0; nd * ng];
    for (d, dt) in dts.iter().enumerate() {
        for (g, gt) in gts.iter().enumerate() {
            let v = iou_xywh(&dt.bbox, &gt.bbox, gt.crowd);
            // Only in-memory input can hold NaN boxes; they overlap nothing.
            ious[d * ng + g] = if v.is_nan() { 0.0 } else { v };
        }
    }
    let dt_area: Vec<f64> = dts.iter().map(|d| d.bbox[2] * d.bbox[3]).collect();
    let mut flags = vec![0u8; 4 * N_IOU * nd];
    let mut npig = [0usize; 4];
    let mut taken = vec![false; ng];
    let mut matched = vec![None; nd];
    let mut roles: Vec<GtRole> = Vec::with_capacity(ng);
    for (a, &(lo, hi)) in AREA_RANGES.iter().enumerate() {
        roles.clear();
        roles.extend(gts.iter().map(|g| GtRole {
            ignore: g.ignore || g.area < lo || g.area > hi,
            reusable: g.reusable,
        }));
        npig[a] = roles.iter().filter(|r| !r.ignore).count();
        let order = ignore_last_order(roles.iter().map(|r| r.ignore));
        for (t, &thr) in thresholds.iter().enumerate() {
            greedy_match(&ious, nd, ng, &order, &roles, thr, &mut taken, &mut matched);
            let out = &mut flags[(a * N_IOU + t) * nd..(a * N_IOU + t + 1) * nd];
            for d in 0..nd {
                let (is_match, mut dt_ig) = match matched[d] {
                    Some(g) => (gts[g].match_counts, roles[g].ignore),
                    None => (false, false),
                };
                if !is_match && (dt_area[d] < lo || dt_area[d] > hi) {
                    dt_ig = true;
                }
                out[d] = if dt_ig {
                    0
                } else if is_match {
                    TP
                } else {
                    FP
                };
            }
        }
    }
    ImageEval {
        scores: dts.iter().map(|d| d.score).collect(),
        npig,
        flags,
    }
}

/// Accumulated numbers of one category: mean precision over the 101 recall points and the
/// final recall, per (IoU threshold, area range, maxDets); `None` where pycocotools has −1.
struct CategoryAccum {
    precision: [[[Option<f64>; 3]; 4]; N_IOU],
    recall: [[[Option<f64>; 3]; 4]; N_IOU],
    num_gt: usize,
}

fn accumulate_category(evals: &[ImageEval], rec_thrs: &[f64; N_REC]) -> CategoryAccum {
    let mut acc = CategoryAccum {
        precision: [[[None; 3]; 4]; N_IOU],
        recall: [[[None; 3]; 4]; N_IOU],
        num_gt: evals.iter().map(|e| e.npig[0]).sum(),
    };
    if evals.is_empty() {
        return acc;
    }
    // Global order for maxDets 100: stable by descending score over the concatenation in
    // image order; smaller maxDets keep the same relative order.
    let mut merged: Vec<(f64, u32, u32)> = Vec::new();
    for (i, e) in evals.iter().enumerate() {
        for (r, &s) in e.scores.iter().enumerate() {
            merged.push((s, i as u32, r as u32));
        }
    }
    merged.sort_by(|a, b| descending(a.0, b.0));
    let mut rc = Vec::with_capacity(merged.len());
    let mut pr = Vec::with_capacity(merged.len());
    for (m, &max_det) in MAX_DETS.iter().enumerate() {
        let order: Vec<(u32, u32)> = merged
            .iter()
            .filter(|x| (x.2 as usize) < max_det)
            .map(|x| (x.1, x.2))
            .collect();
        for a in 0..4 {
            let npig: usize = evals.iter().map(|e| e.npig[a]).sum();
            if npig == 0 {
                continue;
            }
            for t in 0..N_IOU {
                rc.clear();
                pr.clear();
                let (mut tp, mut fp) = (0.0f64, 0.0f64);
                for &(i, r) in &order {
                    let e = &evals[i as usize];
                    let nd = e.scores.len();
                    let f = e.flags[(a * N_IOU + t) * nd + r as usize];
                    if f & TP != 0 {
                        tp += 1.0;
                    } else if f & FP != 0 {
                        fp += 1.0;
                    }
                    rc.push(tp / npig as f64);
                    pr.push(tp / (fp + tp + f64::EPSILON));
                }
                let nd = rc.len();
                acc.recall[t][a][m] = Some(if nd > 0 { rc[nd - 1] } else { 0.0 });
                for i in (1..nd).rev() {
                    if pr[i] > pr[i - 1] {
                        pr[i - 1] = pr[i];
                    }
                }
                // searchsorted(rc, recThrs, 'left'); points past the curve's end stay 0.
                let mut sum = 0.0;
                let mut pi = 0usize;
                for &thr in rec_thrs.iter() {
                    while pi < nd && rc[pi] < thr {
                        pi += 1;
                    }
                    if pi >= nd {
                        break;
                    }
                    sum += pr[pi];
                }
                acc.precision[t][a][m] = Some(sum / N_REC as f64);
            }
        }
    }
    acc
}

/// Runs the evaluation. Categories without any detection or ground truth get −1.
pub fn evaluate(input: &EvalInput) -> EvalResult {
    let thresholds = iou_thresholds();
    let rec_thrs = recall_thresholds();
    let k = input.num_categories;
    // Bucket by category, then image, keeping input order inside a bucket.
    let mut gt_idx: Vec<usize> = (0..input.gts.len())
        .filter(|&i| input.gts[i].category < k && input.gts[i].image < input.num_images)
        .collect();
    gt_idx.sort_by_key(|&i| (input.gts[i].category, input.gts[i].image));
    let mut dt_idx: Vec<usize> = (0..input.dts.len())
        .filter(|&i| input.dts[i].category < k && input.dts[i].image < input.num_images)
        .collect();
    dt_idx.sort_by_key(|&i| (input.dts[i].category, input.dts[i].image));
    let gt_ranges = category_ranges(&gt_idx, |i| input.gts[i].category, k);
    let dt_ranges = category_ranges(&dt_idx, |i| input.dts[i].category, k);

    let accums: Vec<CategoryAccum> = (0..k)
        .into_par_iter()
        .map(|c| {
            let gts: Vec<&EvalGt> = gt_idx[gt_ranges[c].clone()]
                .iter()
                .map(|&i| &input.gts[i])
                .collect();
            let dts: Vec<&EvalDt> = dt_idx[dt_ranges[c].clone()]
                .iter()
                .map(|&i| &input.dts[i])
                .collect();
            let mut evals = Vec::new();
            let (mut gi, mut di) = (0, 0);
            while gi < gts.len() || di < dts.len() {
                let img = match (gts.get(gi), dts.get(di)) {
                    (Some(g), Some(d)) => g.image.min(d.image),
                    (Some(g), None) => g.image,
                    (None, Some(d)) => d.image,
                    (None, None) => break,
                };
                let g0 = gi;
                while gi < gts.len() && gts[gi].image == img {
                    gi += 1;
                }
                let d0 = di;
                while di < dts.len() && dts[di].image == img {
                    di += 1;
                }
                evals.push(evaluate_image(&gts[g0..gi], &dts[d0..di], &thresholds));
            }
            accumulate_category(&evals, &rec_thrs)
        })
        .collect();
    summarize(&accums)
}

fn category_ranges(
    idx: &[usize],
    cat: impl Fn(usize) -> usize,
    k: usize,
) -> Vec<std::ops::Range<usize>> {
    let mut ranges = vec![0..0; k];
    let mut s = 0;
    while s < idx.len() {
        let c = cat(idx[s]);
        let mut e = s;
        while e < idx.len() && cat(idx[e]) == c {
            e += 1;
        }
        ranges[c] = s..e;
        s = e;
    }
    ranges
}

fn mean_defined(values: impl Iterator<Item = Option<f64>>) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for v in values.flatten() {
        sum += v;
        n += 1;
    }
    if n == 0 {
        -1.0
    } else {
        sum / n as f64
    }
}

fn summarize(accums: &[CategoryAccum]) -> EvalResult {
    let all_t: Vec<usize> = (0..N_IOU).collect();
    let ap = |ts: &[usize], a: usize| {
        mean_defined(
            accums
                .iter()
                .flat_map(|c| ts.iter().map(move |&t| c.precision[t][a][2])),
        )
    };
    let ar = |a: usize, m: usize| {
        mean_defined(
            accums
                .iter()
                .flat_map(|c| (0..N_IOU).map(move |t| c.recall[t][a][m])),
        )
    };
    let stats = [
        ap(&all_t, 0),
        ap(&[0], 0),
        ap(&[5], 0),
        ap(&all_t, 1),
        ap(&all_t, 2),
        ap(&all_t, 3),
        ar(0, 0),
        ar(0, 1),
        ar(0, 2),
        ar(1, 2),
        ar(2, 2),
        ar(3, 2),
    ];
    let per_class = accums
        .iter()
        .map(|c| ClassAp {
            ap: mean_defined((0..N_IOU).map(|t| c.precision[t][0][2])),
            ap50: c.precision[0][0][2].unwrap_or(-1.0),
            ap75: c.precision[5][0][2].unwrap_or(-1.0),
            num_gt: c.num_gt,
        })
        .collect();
    EvalResult { stats, per_class }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_match_numpy_linspace_repr() {
        // repr() of numpy.linspace(.5, .95, 10) elements.
        let numpy = [
            0.5,
            0.55,
            0.6,
            0.65,
            0.7,
            0.75,
            0.8,
            0.85,
            0.8999999999999999,
            0.95,
        ];
        assert_eq!(iou_thresholds(), numpy);
        assert_eq!(recall_thresholds()[35], 0.35000000000000003);
        assert_eq!(recall_thresholds()[100], 1.0);
    }

    fn gt(image: usize, bbox: [f64; 4]) -> EvalGt {
        EvalGt {
            image,
            category: 0,
            bbox,
            area: bbox[2] * bbox[3],
            ignore: false,
            crowd: false,
            reusable: false,
            match_counts: true,
        }
    }

    #[test]
    fn perfect_detections_give_ap_one() {
        let input = EvalInput {
            num_images: 2,
            num_categories: 1,
            gts: vec![gt(0, [0., 0., 50., 50.]), gt(1, [10., 10., 200., 100.])],
            dts: vec![
                EvalDt {
                    image: 0,
                    category: 0,
                    bbox: [0., 0., 50., 50.],
                    score: 0.9,
                },
                EvalDt {
                    image: 1,
                    category: 0,
                    bbox: [10., 10., 200., 100.],
                    score: 0.8,
                },
            ],
        };
        let r = evaluate(&input);
        assert!((r.stats[0] - 1.0).abs() < 1e-12);
        assert_eq!(r.stats[3], -1.0, "no small objects");
        assert!((r.per_class[0].ap50 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn no_detections_give_zero_where_ground_truth_exists() {
        let input = EvalInput {
            num_images: 1,
            num_categories: 2,
            gts: vec![gt(0, [0., 0., 50., 50.])],
            dts: vec![],
        };
        let r = evaluate(&input);
        assert_eq!(r.stats[0], 0.0);
        assert_eq!(r.per_class[1].ap, -1.0);
    }
}
