//! YOLOX anchor-free grid layout (`[1, N, 4 + 1 + C]`, strides in order, row-major cells).

use super::DecodeError;
use adasval_core::tensor::Tensor;
use adasval_core::types::Detection;

pub(super) fn decode(
    t: &Tensor,
    strides: &[u32],
    width: u32,
    height: u32,
    num_classes: usize,
    threshold: f32,
) -> Result<Vec<Detection>, DecodeError> {
    let anchors: usize = strides
        .iter()
        .map(|s| ((width / s) * (height / s)) as usize)
        .sum();
    let row = 5 + num_classes;
    let shape_ok = t.data.len() == anchors * row
        && t.shape.last() == Some(&row)
        && t.shape.iter().product::<usize>() == t.data.len();
    if !shape_ok {
        return Err(DecodeError::Shape {
            name: t.name.clone(),
            shape: t.shape.clone(),
            decoder: "yolox",
            expected: format!("[1, {anchors}, {row}] for strides {strides:?} at {width}x{height} with {num_classes} classes"),
        });
    }
    let mut out = Vec::new();
    let mut base = 0usize;
    for &s in strides {
        let gw = (width / s) as usize;
        let gh = (height / s) as usize;
        let sf = s as f32;
        for gy in 0..gh {
            for gx in 0..gw {
                let r = &t.data[(base + gy * gw + gx) * row..][..row];
                let obj = r[4];
                // score = obj * cls ≤ obj: most anchors end here.
                if obj < threshold {
                    continue;
                }
                let (mut best, mut cls) = (f32::MIN, 0usize);
                for (c, &p) in r[5..].iter().enumerate() {
                    if p > best {
                        best = p;
                        cls = c;
                    }
                }
                let score = obj * best;
                if score < threshold || !score.is_finite() {
                    continue;
                }
                let cx = (r[0] + gx as f32) * sf;
                let cy = (r[1] + gy as f32) * sf;
                let w = r[2].exp() * sf;
                let h = r[3].exp() * sf;
                if !(w.is_finite() && h.is_finite()) {
                    continue;
                }
                out.push(Detection {
                    class_id: cls as u32,
                    score,
                    bbox: [cx - w / 2.0, cy - h / 2.0, w, h],
                });
            }
        }
        base += gw * gh;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_one_cell() {
        // 2 strides on a 16x16 input: 2x2 + 1x1 anchors, 2 classes.
        let row = 7;
        let mut data = vec![0f32; 5 * row];
        let a = 3; // cell (1,1) of stride 8
        data[a * row..a * row + 7].copy_from_slice(&[0.5, 0.25, 0.0, (2f32).ln(), 0.9, 0.1, 0.8]);
        let t = Tensor::new("output", vec![1, 5, row], data);
        let d = decode(&t, &[8, 16], 16, 16, 2, 0.3).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].class_id, 1);
        assert!((d[0].score - 0.72).abs() < 1e-6);
        // cx = 1.5*8 = 12, cy = 1.25*8 = 10, w = 8, h = 16.
        assert_eq!(d[0].bbox, [8.0, 2.0, 8.0, 16.0]);
    }

    #[test]
    fn wrong_shape_is_an_error() {
        let t = Tensor::new("output", vec![1, 4, 7], vec![0.0; 28]);
        assert!(decode(&t, &[8, 16], 16, 16, 2, 0.3).is_err());
    }
}
