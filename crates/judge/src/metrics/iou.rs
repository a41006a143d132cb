//! Box overlap, computed exactly as pycocotools' `bbIou` (maskApi.c) so that matches at a
//! threshold fall on the same side as in the reference tool.

/// IoU of a detection box with a ground-truth box, both `[x, y, w, h]`.
///
/// For a crowd region the union is the detection's own area (pycocotools' iscrowd rule), so a
/// detection lying inside a crowd scores 1 however large the crowd is. Operation order follows
/// the C reference to give bit-identical results.
#[inline]
pub fn iou_xywh(d: &[f64; 4], g: &[f64; 4], crowd: bool) -> f64 {
    let w = (d[2] + d[0]).min(g[2] + g[0]) - d[0].max(g[0]);
    if w <= 0.0 {
        return 0.0;
    }
    let h = (d[3] + d[1]).min(g[3] + g[1]) - d[1].max(g[1]);
    if h <= 0.0 {
        return 0.0;
    }
    let da = d[2] * d[3];
    let ga = g[2] * g[3];
    let i = w * h;
    let u = if crowd { da } else { da + ga - i };
    i / u
}

/// [`iou_xywh`] for the `f32` boxes of the core types (widened to `f64` first). A box with a
/// non-finite coordinate (a broken engine output) overlaps nothing.
pub fn iou_f32(d: &[f32; 4], g: &[f32; 4], crowd: bool) -> f64 {
    let v = iou_xywh(&widen(d), &widen(g), crowd);
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

pub(crate) fn widen(b: &[f32; 4]) -> [f64; 4] {
    [b[0] as f64, b[1] as f64, b[2] as f64, b[3] as f64]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_boxes_overlap_fully() {
        assert_eq!(
            iou_xywh(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 3.0, 4.0], false),
            1.0
        );
    }

    #[test]
    fn disjoint_and_touching_boxes_do_not_overlap() {
        assert_eq!(
            iou_xywh(&[0.0, 0.0, 1.0, 1.0], &[1.0, 0.0, 1.0, 1.0], false),
            0.0
        );
        assert_eq!(
            iou_xywh(&[0.0, 0.0, 1.0, 1.0], &[5.0, 5.0, 1.0, 1.0], false),
            0.0
        );
    }

    #[test]
    fn half_overlap_is_one_third() {
        let v = iou_xywh(&[0.0, 0.0, 2.0, 1.0], &[1.0, 0.0, 2.0, 1.0], false);
        assert!((v - 1.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn crowd_uses_detection_area_as_union() {
        let v = iou_xywh(&[1.0, 1.0, 2.0, 2.0], &[0.0, 0.0, 10.0, 10.0], true);
        assert_eq!(v, 1.0);
    }
}
