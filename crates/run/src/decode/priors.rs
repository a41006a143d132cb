//! SSD / RetinaNet: box deltas against priors (anchors) and per-class scores. Decoding
//! follows torchvision's `BoxCoder.decode_single` with weights 1 / variances: centre =
//! prior centre + d · variance · prior size, size = exp(min(d · variance, ln(1000/16))) ·
//! prior size. Every (prior, class) pair above the threshold is a candidate, as in
//! torchvision's SSD and RetinaNet post-processing.

use super::end_to_end::corners;
use super::DecodeError;
use adasval_core::tensor::Tensor;
use adasval_core::types::Detection;
use adasval_record::adapter::{Activation, Background, PriorsSpec};

/// torchvision's `bbox_xform_clip`: no box grows more than 1000/16 times its prior.
const MAX_LOG_SCALE: f32 = 4.135_166_6; // ln(1000 / 16)

#[allow(clippy::too_many_arguments)]
pub(super) fn decode(
    p: &PriorsSpec,
    deltas: &Tensor,
    scores: &Tensor,
    priors: &Tensor,
    width: u32,
    height: u32,
    num_classes: usize,
    threshold: f32,
) -> Result<Vec<Detection>, DecodeError> {
    let per_prior = num_classes + usize::from(p.background != Background::None);
    let n = deltas.data.len() / 4;
    let shape_err = |t: &Tensor, expected: String| DecodeError::Shape {
        name: t.name.clone(),
        shape: t.shape.clone(),
        decoder: "priors",
        expected,
    };
    if deltas.shape.last() != Some(&4) || deltas.data.len() != n * 4 {
        return Err(shape_err(deltas, "[1, priors, 4] deltas".into()));
    }
    if scores.shape.last() != Some(&per_prior) || scores.data.len() != n * per_prior {
        return Err(shape_err(
            scores,
            format!(
                "[1, {n}, {per_prior}] ({num_classes} classes{})",
                if per_prior > num_classes {
                    " + background"
                } else {
                    ""
                }
            ),
        ));
    }
    if priors.shape.last() != Some(&4) || priors.data.len() != n * 4 {
        return Err(shape_err(priors, format!("[{n}, 4] priors, one per delta")));
    }
    let (sx, sy) = if p.normalized {
        (width as f32, height as f32)
    } else {
        (1.0, 1.0)
    };
    let [vx, vy, vw, vh] = p.variances;
    let first_class = usize::from(p.background == Background::First);
    let mut out = Vec::new();
    let mut probs = vec![0f32; per_prior];
    for i in 0..n {
        let s = &scores.data[i * per_prior..(i + 1) * per_prior];
        match p.scores_activation {
            Activation::Softmax => {
                let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0.0;
                for (o, v) in probs.iter_mut().zip(s) {
                    *o = (v - max).exp();
                    sum += *o;
                }
                for o in probs.iter_mut() {
                    *o /= sum;
                }
            }
            act => {
                for (o, v) in probs.iter_mut().zip(s) {
                    *o = act.apply(*v);
                }
            }
        }
        let mut decoded = None;
        for c in 0..num_classes {
            let score = probs[first_class + c];
            if !super::passes(score, threshold) {
                continue;
            }
            let b = *decoded.get_or_insert_with(|| {
                let [px1, py1, px2, py2] =
                    corners(&priors.data[i * 4..i * 4 + 4], p.prior_format, sx, sy);
                let (pw, ph) = (px2 - px1, py2 - py1);
                let (pcx, pcy) = (px1 + 0.5 * pw, py1 + 0.5 * ph);
                let d = &deltas.data[i * 4..i * 4 + 4];
                let cx = d[0] / (1.0 / vx) * pw + pcx;
                let cy = d[1] / (1.0 / vy) * ph + pcy;
                let w = (d[2] / (1.0 / vw)).min(MAX_LOG_SCALE).exp() * pw;
                let h = (d[3] / (1.0 / vh)).min(MAX_LOG_SCALE).exp() * ph;
                [cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h]
            });
            out.extend(super::candidate(c, score, b));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use adasval_record::adapter::BoxFormat;

    #[test]
    fn ssd_deltas_move_and_scale_the_prior() {
        let p = PriorsSpec {
            deltas: "d".into(),
            scores: "s".into(),
            priors: "p".into(),
            prior_format: BoxFormat::Xyxy,
            normalized: false,
            variances: [0.1, 0.1, 0.2, 0.2],
            scores_activation: Activation::Softmax,
            background: Background::First,
        };
        // Prior 0..10 square; dx = 1 → centre + 0.1 · 10; dw = ln 2 / 0.2 → width × 2.
        let d = Tensor::new("d", vec![1, 1, 4], vec![1.0, 0.0, 2f32.ln() / 0.2, 0.0]);
        let s = Tensor::new("s", vec![1, 1, 3], vec![0.0, 0.0, 5.0]);
        let pr = Tensor::new("p", vec![1, 4], vec![0.0, 0.0, 10.0, 10.0]);
        let out = decode(&p, &d, &s, &pr, 100, 100, 2, 0.5).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].class_id, 1, "background is score 0");
        for (a, w) in out[0].bbox.iter().zip([-4.0, 0.0, 20.0, 10.0]) {
            assert!((a - w).abs() < 1e-4, "{:?}", out[0].bbox);
        }
        let bad = Tensor::new("s", vec![1, 1, 2], vec![0.0; 2]);
        assert!(decode(&p, &d, &bad, &pr, 100, 100, 2, 0.5).is_err());
    }
}
