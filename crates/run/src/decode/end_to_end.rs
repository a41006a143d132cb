//! End-to-end detectors (DETR, RT-DETR, Deformable DETR): one box per query and class
//! logits, no NMS. Scoring follows Hugging Face transformers' `post_process_object_detection`:
//! softmax with a trailing "no object" class (DETR), or sigmoid per (query, class) pair with
//! the best `queries` pairs kept (RT-DETR's focal-loss head).

use super::DecodeError;
use adasval_core::tensor::Tensor;
use adasval_core::types::Detection;
use adasval_record::adapter::{BoxFormat, EndToEndSpec, QueryScoring};

/// `[x1, y1, x2, y2]` of a box in `format`, corners first, then scaled: the reference's order.
pub(super) fn corners(b: &[f32], format: BoxFormat, sx: f32, sy: f32) -> [f32; 4] {
    let [x1, y1, x2, y2] = match format {
        BoxFormat::Xyxy => [b[0], b[1], b[2], b[3]],
        BoxFormat::Yxyx => [b[1], b[0], b[3], b[2]],
        BoxFormat::Xywh => [b[0], b[1], b[0] + b[2], b[1] + b[3]],
        BoxFormat::Cxcywh => [
            b[0] - 0.5 * b[2],
            b[1] - 0.5 * b[3],
            b[0] + 0.5 * b[2],
            b[1] + 0.5 * b[3],
        ],
    };
    [x1 * sx, y1 * sy, x2 * sx, y2 * sy]
}

pub(super) fn decode(
    e: &EndToEndSpec,
    boxes: &Tensor,
    logits: &Tensor,
    width: u32,
    height: u32,
    num_classes: usize,
    threshold: f32,
) -> Result<Vec<Detection>, DecodeError> {
    let per_query = match e.scoring {
        QueryScoring::SoftmaxNoObject => num_classes + 1,
        QueryScoring::Sigmoid | QueryScoring::None => num_classes,
    };
    let q = logits.data.len() / per_query.max(1);
    if logits.shape.last() != Some(&per_query) || logits.data.len() != q * per_query {
        return Err(DecodeError::Shape {
            name: logits.name.clone(),
            shape: logits.shape.clone(),
            decoder: "end_to_end",
            expected: format!(
                "[1, queries, {per_query}] ({num_classes} classes{})",
                if e.scoring == QueryScoring::SoftmaxNoObject {
                    " + no object"
                } else {
                    ""
                }
            ),
        });
    }
    if boxes.shape.last() != Some(&4) || boxes.data.len() != q * 4 {
        return Err(DecodeError::Shape {
            name: boxes.name.clone(),
            shape: boxes.shape.clone(),
            decoder: "end_to_end",
            expected: format!("[1, {q}, 4] (one box per query of `{}`)", logits.name),
        });
    }
    let (sx, sy) = if e.normalized {
        (width as f32, height as f32)
    } else {
        (1.0, 1.0)
    };
    let mut out = Vec::new();
    let mut push = |i: usize, class_id: usize, score: f32| {
        if !super::passes(score, threshold) {
            return;
        }
        let b = corners(&boxes.data[i * 4..i * 4 + 4], e.box_format, sx, sy);
        out.extend(super::candidate(class_id, score, b));
    };
    for i in 0..q {
        let l = &logits.data[i * per_query..(i + 1) * per_query];
        match e.scoring {
            QueryScoring::Sigmoid => {
                for (c, &v) in l.iter().enumerate() {
                    push(i, c, 1.0 / (1.0 + (-v).exp()));
                }
            }
            QueryScoring::SoftmaxNoObject | QueryScoring::None => {
                let probs: Vec<f32> = if e.scoring == QueryScoring::SoftmaxNoObject {
                    let max = l.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let ex: Vec<f32> = l.iter().map(|v| (v - max).exp()).collect();
                    let sum: f32 = ex.iter().sum();
                    ex[..num_classes].iter().map(|v| v / sum).collect()
                } else {
                    l.to_vec()
                };
                let (mut best, mut class_id) = (f32::MIN, 0usize);
                for (c, &p) in probs.iter().enumerate() {
                    if p > best {
                        best = p;
                        class_id = c;
                    }
                }
                push(i, class_id, best);
            }
        }
    }
    if e.scoring == QueryScoring::Sigmoid {
        // The best `queries` (query, class) pairs, as RT-DETR's top-k over Q·C does.
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        out.truncate(q);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(scoring: QueryScoring) -> EndToEndSpec {
        EndToEndSpec {
            boxes: "boxes".into(),
            logits: "logits".into(),
            box_format: BoxFormat::Cxcywh,
            normalized: true,
            scoring,
        }
    }

    #[test]
    fn detr_softmax_drops_no_object_and_scales_boxes() {
        let boxes = Tensor::new(
            "boxes",
            vec![1, 2, 4],
            vec![0.5, 0.5, 0.5, 0.25, 0.1, 0.1, 0.1, 0.1],
        );
        // Query 0: class 1 wins; query 1: "no object" dominates.
        let logits = Tensor::new("logits", vec![1, 2, 3], vec![0.0, 5.0, 0.0, 0.0, 0.0, 9.0]);
        let d = decode(
            &spec(QueryScoring::SoftmaxNoObject),
            &boxes,
            &logits,
            200,
            100,
            2,
            0.5,
        )
        .unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].class_id, 1);
        for (a, w) in d[0].bbox.iter().zip([50.0, 37.5, 100.0, 25.0]) {
            assert!((a - w).abs() < 1e-4, "{:?}", d[0].bbox);
        }
    }

    #[test]
    fn sigmoid_keeps_several_classes_of_one_query_up_to_the_query_count() {
        let boxes = Tensor::new("boxes", vec![1, 1, 4], vec![0.5, 0.5, 0.2, 0.2]);
        let logits = Tensor::new("logits", vec![1, 1, 2], vec![3.0, 2.0]);
        let d = decode(
            &spec(QueryScoring::Sigmoid),
            &boxes,
            &logits,
            100,
            100,
            2,
            0.5,
        )
        .unwrap();
        // Two pairs pass the threshold, but one query keeps one (top-k with k = queries).
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].class_id, 0);
        let wrong = Tensor::new("logits", vec![1, 1, 3], vec![0.0; 3]);
        assert!(decode(
            &spec(QueryScoring::Sigmoid),
            &boxes,
            &wrong,
            100,
            100,
            2,
            0.5
        )
        .is_err());
    }
}
