//! Greedy per-class non-maximum suppression.

use adasval_core::types::{BoxXywh, Detection};

pub fn iou(a: &BoxXywh, b: &BoxXywh) -> f32 {
    let ix = (a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0]);
    let iy = (a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1]);
    if ix <= 0.0 || iy <= 0.0 {
        return 0.0;
    }
    let inter = ix * iy;
    let union = a[2] * a[3] + b[2] * b[3] - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

/// Keep, per class, the highest-scoring boxes whose IoU with every kept box is ≤ `thr`.
pub fn nms_per_class(mut dets: Vec<Detection>, thr: f32) -> Vec<Detection> {
    // Stable order: score descending, then original index, so equal scores stay deterministic.
    dets.sort_by(|a, b| {
        a.class_id
            .cmp(&b.class_id)
            .then(b.score.total_cmp(&a.score))
    });
    let mut kept: Vec<Detection> = Vec::with_capacity(dets.len().min(256));
    let mut class_start = 0;
    for d in dets {
        if kept.last().is_some_and(|k| k.class_id != d.class_id) {
            class_start = kept.len();
        }
        if kept[class_start..]
            .iter()
            .all(|k| iou(&k.bbox, &d.bbox) <= thr)
        {
            kept.push(d);
        }
    }
    kept
}

/// Keep the highest-scoring boxes whose IoU with every kept box, of any class, is ≤ `thr`.
pub fn nms_class_agnostic(mut dets: Vec<Detection>, thr: f32) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::with_capacity(dets.len().min(256));
    for d in dets {
        if kept.iter().all(|k| iou(&k.bbox, &d.bbox) <= thr) {
            kept.push(d);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn det(c: u32, s: f32, b: [f32; 4]) -> Detection {
        Detection {
            class_id: c,
            score: s,
            bbox: b,
        }
    }

    #[test]
    fn suppresses_overlaps_within_a_class_only() {
        let d = vec![
            det(0, 0.9, [0.0, 0.0, 10.0, 10.0]),
            det(0, 0.8, [1.0, 1.0, 10.0, 10.0]),
            det(1, 0.7, [1.0, 1.0, 10.0, 10.0]),
            det(0, 0.6, [50.0, 50.0, 10.0, 10.0]),
        ];
        let k = nms_per_class(d.clone(), 0.5);
        assert_eq!(k.len(), 3);
        assert!(k.iter().all(|x| x.score != 0.8));
        // Across classes the class-1 box is suppressed by the class-0 box too.
        let k = nms_class_agnostic(d, 0.5);
        assert_eq!(k.len(), 2);
        assert!(k.iter().all(|x| x.score != 0.8 && x.score != 0.7));
    }

    proptest! {
        #[test]
        fn kept_boxes_never_overlap_above_threshold(
            raw in prop::collection::vec((0u32..3, 0.0f32..1.0, 0.0f32..50.0, 0.0f32..50.0, 1.0f32..30.0, 1.0f32..30.0), 0..60),
            thr in 0.1f32..0.9,
        ) {
            let d: Vec<_> = raw.iter().map(|&(c, s, x, y, w, h)| det(c, s, [x, y, w, h])).collect();
            let k = nms_per_class(d.clone(), thr);
            for (i, a) in k.iter().enumerate() {
                for b in &k[i + 1..] {
                    if a.class_id == b.class_id {
                        prop_assert!(iou(&a.bbox, &b.bbox) <= thr);
                    }
                }
            }
            // The best box of each class always survives.
            for c in 0..3 {
                let best = d.iter().filter(|x| x.class_id == c).map(|x| x.score).fold(f32::MIN, f32::max);
                if best > f32::MIN {
                    prop_assert!(k.iter().any(|x| x.class_id == c && x.score == best));
                }
            }
        }
    }
}
