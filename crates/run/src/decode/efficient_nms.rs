//! TensorRT EfficientNMS_TRT / BatchedNMS plugin outputs: a detection count per image and
//! fixed-size `[B, K, ...]` boxes, scores and classes of which only the first
//! `num_detections` rows are meaningful (the rest is padding the plugin leaves undefined).

use super::DecodeError;
use adasval_core::tensor::Tensor;
use adasval_core::types::Detection;
use adasval_record::adapter::BoxFormat;

#[allow(clippy::too_many_arguments)]
pub(super) fn decode(
    num_detections: &Tensor,
    boxes: &Tensor,
    scores: &Tensor,
    classes: &Tensor,
    format: BoxFormat,
    normalized_to: Option<(u32, u32)>,
    threshold: f32,
    num_classes: usize,
) -> Result<Vec<Detection>, DecodeError> {
    let shape_err = |t: &Tensor, expected: String| DecodeError::Shape {
        name: t.name.clone(),
        shape: t.shape.clone(),
        decoder: "efficient_nms",
        expected,
    };
    // Batch 0 only: the harness feeds one frame per inference.
    let k = match scores.shape.as_slice() {
        [_, k] | [k] => *k,
        _ => return Err(shape_err(scores, "[B, K] scores".into())),
    };
    if boxes.data.len() < k * 4 || !matches!(boxes.shape.last(), Some(4)) {
        return Err(shape_err(boxes, format!("[B, {k}, 4] boxes")));
    }
    if classes.data.len() < k {
        return Err(shape_err(classes, format!("[B, {k}] classes")));
    }
    let n = num_detections
        .data
        .first()
        .copied()
        .ok_or_else(|| shape_err(num_detections, "[B, 1] with at least one value".into()))?;
    if !n.is_finite() || n < 0.0 || n.fract() != 0.0 || n as usize > k {
        return Err(shape_err(
            num_detections,
            format!("a whole detection count in 0..={k}, got {n}"),
        ));
    }
    let n = n as usize;
    let valid = |t: &Tensor, width: usize, shape: Vec<usize>| {
        Tensor::new(t.name.clone(), shape, t.data[..n * width].to_vec())
    };
    super::boxes::decode(
        &valid(boxes, 4, vec![1, n, 4]),
        &valid(scores, 1, vec![1, n]),
        &valid(classes, 1, vec![1, n]),
        format,
        normalized_to,
        threshold,
        num_classes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, shape: Vec<usize>, data: Vec<f32>) -> Tensor {
        Tensor::new(name, shape, data)
    }

    /// K = 3 slots, the last one padding with a high score that must be ignored.
    fn outputs(n: f32, boxes: [[f32; 4]; 3]) -> (Tensor, Tensor, Tensor, Tensor) {
        (
            t("num_detections", vec![1, 1], vec![n]),
            t(
                "boxes",
                vec![1, 3, 4],
                boxes.iter().flatten().copied().collect(),
            ),
            t("scores", vec![1, 3], vec![0.9, 0.6, 0.99]),
            t("classes", vec![1, 3], vec![1.0, 0.0, 1.0]),
        )
    }

    #[test]
    fn only_num_detections_rows_are_read() {
        let (n, b, s, c) = outputs(
            2.0,
            [[10., 20., 30., 60.], [0., 0., 5., 5.], [1., 1., 2., 2.]],
        );
        let d = decode(&n, &b, &s, &c, BoxFormat::Xyxy, None, 0.5, 2).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].class_id, 1);
        assert_eq!(d[0].bbox, [10., 20., 20., 40.]);
        assert_eq!(d[1].class_id, 0);
        assert!(d.iter().all(|x| x.score < 0.95), "the padding row leaked");
        let (n0, ..) = outputs(0.0, [[0.; 4]; 3]);
        assert!(decode(&n0, &b, &s, &c, BoxFormat::Xyxy, None, 0.5, 2)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn box_formats_and_normalisation() {
        // cxcywh (box_coding = 1): centre (20, 40), size 20 × 40 → xywh (10, 20, 20, 40).
        let (n, b, s, c) = outputs(1.0, [[20., 40., 20., 40.], [0.; 4], [0.; 4]]);
        let d = decode(&n, &b, &s, &c, BoxFormat::Cxcywh, None, 0.5, 2).unwrap();
        assert_eq!(d[0].bbox, [10., 20., 20., 40.]);
        // Normalised xyxy on a 200 × 100 input.
        let (n, b, s, c) = outputs(1.0, [[0.1, 0.2, 0.3, 0.6], [0.; 4], [0.; 4]]);
        let d = decode(&n, &b, &s, &c, BoxFormat::Xyxy, Some((200, 100)), 0.5, 2).unwrap();
        let want = [20.0f32, 20.0, 40.0, 40.0];
        for (a, w) in d[0].bbox.iter().zip(want) {
            assert!((a - w).abs() < 1e-4, "{:?}", d[0].bbox);
        }
        // Classes outside the adapter's list are dropped.
        let (n, b, s, c) = outputs(2.0, [[0., 0., 5., 5.], [0., 0., 5., 5.], [0.; 4]]);
        assert_eq!(
            decode(&n, &b, &s, &c, BoxFormat::Xyxy, None, 0.5, 1)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn impossible_counts_are_errors() {
        let b = [[0., 0., 5., 5.]; 3];
        for bad in [4.0, -1.0, 1.5, f32::NAN] {
            let (n, bx, s, c) = outputs(bad, b);
            assert!(
                decode(&n, &bx, &s, &c, BoxFormat::Xyxy, None, 0.5, 2).is_err(),
                "count {bad} accepted"
            );
        }
    }
}
