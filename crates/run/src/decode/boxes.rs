//! Generic post-processed layout: boxes `[.., N, 4]`, scores `[.., N]`, classes `[.., N]`.

use super::DecodeError;
use adasval_core::tensor::Tensor;
use adasval_core::types::Detection;
use adasval_record::adapter::BoxFormat;

pub(super) fn decode(
    boxes: &Tensor,
    scores: &Tensor,
    classes: &Tensor,
    format: BoxFormat,
    normalized_to: Option<(u32, u32)>,
    threshold: f32,
    num_classes: usize,
) -> Result<Vec<Detection>, DecodeError> {
    let n = scores.data.len();
    if boxes.data.len() != n * 4 || classes.data.len() != n {
        return Err(DecodeError::Shape {
            name: boxes.name.clone(),
            shape: boxes.shape.clone(),
            decoder: "boxes_scores_classes",
            expected: format!(
                "N x 4 boxes with N = {n} scores and classes (classes has {} values)",
                classes.data.len()
            ),
        });
    }
    let (sx, sy) = normalized_to
        .map(|(w, h)| (w as f32, h as f32))
        .unwrap_or((1.0, 1.0));
    let mut out = Vec::new();
    for i in 0..n {
        let score = scores.data[i];
        let cls = classes.data[i];
        // NaN scores fail `>=` and are dropped with the rest.
        let keep = score >= threshold;
        if !keep || !cls.is_finite() || cls < 0.0 || cls as usize >= num_classes {
            continue;
        }
        let b = &boxes.data[i * 4..i * 4 + 4];
        let [x1, y1, x2, y2] = match format {
            BoxFormat::Xyxy => [b[0], b[1], b[2], b[3]],
            BoxFormat::Yxyx => [b[1], b[0], b[3], b[2]],
            BoxFormat::Xywh => [b[0], b[1], b[0] + b[2], b[1] + b[3]],
            BoxFormat::Cxcywh => [
                b[0] - b[2] / 2.0,
                b[1] - b[3] / 2.0,
                b[0] + b[2] / 2.0,
                b[1] + b[3] / 2.0,
            ],
        };
        let bbox = [x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy];
        if bbox.iter().all(|v| v.is_finite()) && bbox[2] > 0.0 && bbox[3] > 0.0 {
            out.push(Detection {
                class_id: cls as u32,
                score,
                bbox,
            });
        }
    }
    Ok(out)
}
