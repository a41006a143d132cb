//! The general grid decoder: every cell (and anchor) of every stride predicts a box, an
//! optional objectness and class scores, read through the adapter's channel map. YOLOX,
//! YOLOv5/v7 (anchor-based), YOLOv8/v11 (exported or with DFL bins) and FCOS are
//! configurations of it.

use super::DecodeError;
use adasval_core::tensor::Tensor;
use adasval_core::types::Detection;
use adasval_record::adapter::{Activation, BoxEncoding, GridLayout, GridSpec, Unit};

/// Shapes equal once leading 1s (batch) are ignored.
fn same_shape(a: &[usize], b: &[usize]) -> bool {
    let strip = |s: &[usize]| -> Vec<usize> {
        let first = s.iter().position(|d| *d != 1).unwrap_or(s.len());
        s[first..].to_vec()
    };
    strip(a) == strip(b)
}

fn pow(v: f32, p: f32) -> f32 {
    if p == 1.0 {
        v
    } else if p == 0.5 {
        // Correctly rounded, as the originals' sqrt is (powf need not be).
        v.sqrt()
    } else {
        v.powf(p)
    }
}

/// Expectation of the softmax over DFL bins: Σ i · p(i).
fn dfl(bins: impl Iterator<Item = f32> + Clone) -> f32 {
    let max = bins.clone().fold(f32::NEG_INFINITY, f32::max);
    let (mut num, mut den) = (0.0f32, 0.0f32);
    for (i, b) in bins.enumerate() {
        let e = (b - max).exp();
        num += e * i as f32;
        den += e;
    }
    num / den
}

pub(super) fn decode(
    g: &GridSpec,
    outputs: &[Tensor],
    decoder: &'static str,
    width: u32,
    height: u32,
    num_classes: usize,
    threshold: f32,
) -> Result<Vec<Detection>, DecodeError> {
    let expected = g.expected_shapes(width, height, num_classes);
    let mut tensors = Vec::with_capacity(expected.len());
    for (name, shape) in &expected {
        let t = super::find(outputs, name)?;
        if !same_shape(&t.shape, shape) || t.data.len() != shape.iter().product::<usize>() {
            return Err(DecodeError::Shape {
                name: t.name.clone(),
                shape: t.shape.clone(),
                decoder,
                expected: format!(
                    "{shape:?} (strides {:?} on a {width}x{height} input, {} channels per prediction for {num_classes} classes, {} anchor(s) per cell)",
                    g.strides,
                    g.row_len(num_classes),
                    g.anchors_per_cell()
                ),
            });
        }
        tensors.push(t);
    }
    let k = g.row_len(num_classes);
    let na = g.anchors_per_cell();
    let grids = g.grids(width, height);
    let total: usize = grids.iter().map(|(gw, gh)| na * gw * gh).sum();
    let (w_in, h_in) = (width as f32, height as f32);
    let ch = &g.channels;
    let sc = &g.score;
    // With class probabilities ≤ 1, score ≤ obj^a: most cells end at their objectness.
    let bounded = matches!(sc.classes, Activation::Sigmoid | Activation::Softmax);
    let mut cls = vec![0f32; num_classes];
    let mut picked: Vec<(usize, f32)> = Vec::new();
    let mut out = Vec::new();
    let mut base = 0usize;
    for (level, (&stride, &(gw, gh))) in g.strides.iter().zip(&grids).enumerate() {
        let s = stride as f32;
        let data: &[f32] = match g.layout {
            GridLayout::ChannelFirst | GridLayout::ChannelLast => &tensors[level].data,
            GridLayout::Rows | GridLayout::Columns => &tensors[0].data,
        };
        for a in 0..na {
            for gy in 0..gh {
                for gx in 0..gw {
                    let cell = (a * gh + gy) * gw + gx;
                    let at = |c: usize| -> f32 {
                        match g.layout {
                            GridLayout::ChannelFirst => data[((a * k + c) * gh + gy) * gw + gx],
                            GridLayout::ChannelLast => data[((gy * gw + gx) * na + a) * k + c],
                            GridLayout::Rows => data[(base + cell) * k + c],
                            GridLayout::Columns => data[c * total + base + cell],
                        }
                    };
                    let obj = ch.objectness.map(|o| sc.objectness.apply(at(o)));
                    if bounded && obj.is_some_and(|o| pow(o, sc.objectness_power) < threshold) {
                        continue;
                    }
                    for (c, v) in cls.iter_mut().enumerate() {
                        *v = at(ch.classes + c);
                    }
                    if sc.classes == Activation::Softmax {
                        let max = cls.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                        let mut sum = 0.0;
                        for v in cls.iter_mut() {
                            *v = (*v - max).exp();
                            sum += *v;
                        }
                        for v in cls.iter_mut() {
                            *v /= sum;
                        }
                    } else {
                        for v in cls.iter_mut() {
                            *v = sc.classes.apply(*v);
                        }
                    }
                    let (mut best, mut best_class) = (f32::MIN, 0usize);
                    for (c, &p) in cls.iter().enumerate() {
                        if p > best {
                            best = p;
                            best_class = c;
                        }
                    }
                    let score_of = |p: f32| match obj {
                        // sqrt(obj · cls) rather than sqrt(obj) · sqrt(cls): FCOS's order.
                        Some(o) if sc.objectness_power == sc.class_power => {
                            pow(o * p, sc.class_power)
                        }
                        Some(o) => pow(o, sc.objectness_power) * pow(p, sc.class_power),
                        None => pow(p, sc.class_power),
                    };
                    // NaN fails `>=` and is dropped with the rest.
                    let passes = |score: f32| score >= threshold && score.is_finite();
                    picked.clear();
                    if sc.multi_label {
                        picked.extend(
                            cls.iter()
                                .enumerate()
                                .map(|(c, &p)| (c, score_of(p)))
                                .filter(|(_, s)| passes(*s)),
                        );
                    } else if passes(score_of(best)) {
                        picked.push((best_class, score_of(best)));
                    }
                    if picked.is_empty() {
                        continue;
                    }
                    let bbox = match &g.boxes {
                        BoxEncoding::CenterSize { xy, wh } => {
                            let centre = |raw: f32, cellpos: usize, size: f32| match xy.unit {
                                Unit::Cell => (xy.value(raw) + cellpos as f32) * s,
                                Unit::Input => xy.value(raw) * size,
                                _ => xy.value(raw),
                            };
                            let extent = |raw: f32, anchor: f32, size: f32| match wh.unit {
                                Unit::Stride => wh.value(raw) * s,
                                Unit::Anchor => wh.value(raw) * anchor,
                                Unit::Input => wh.value(raw) * size,
                                _ => wh.value(raw),
                            };
                            let anchor = g.anchors.get(level).and_then(|l| l.get(a));
                            let cx = centre(at(ch.box_), gx, w_in);
                            let cy = centre(at(ch.box_ + 1), gy, h_in);
                            let w = extent(at(ch.box_ + 2), anchor.map_or(0.0, |a| a[0]), w_in);
                            let h = extent(at(ch.box_ + 3), anchor.map_or(0.0, |a| a[1]), h_in);
                            [cx - w / 2.0, cy - h / 2.0, w, h]
                        }
                        BoxEncoding::Ltrb {
                            activation,
                            dfl_bins,
                            unit,
                            cell_center,
                        } => {
                            let side = |i: usize, size: f32| {
                                let d = match dfl_bins {
                                    Some(b) => dfl((0..*b).map(|j| at(ch.box_ + i * b + j))),
                                    None => activation.apply(at(ch.box_ + i)),
                                };
                                match unit {
                                    Unit::Stride => d * s,
                                    Unit::Input => d * size,
                                    _ => d,
                                }
                            };
                            let px = (gx as f32 + cell_center) * s;
                            let py = (gy as f32 + cell_center) * s;
                            let x1 = px - side(0, w_in);
                            let y1 = py - side(1, h_in);
                            let x2 = px + side(2, w_in);
                            let y2 = py + side(3, h_in);
                            [x1, y1, x2 - x1, y2 - y1]
                        }
                    };
                    if !bbox.iter().all(|v| v.is_finite()) {
                        continue;
                    }
                    for &(class_id, score) in &picked {
                        out.push(Detection {
                            class_id: class_id as u32,
                            score,
                            bbox,
                        });
                    }
                }
            }
        }
        base += na * gw * gh;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use adasval_record::adapter::{BoxField, ChannelMap, ScoreSpec};

    fn field(activation: Activation, scale: f32, offset: f32, power: f32, unit: Unit) -> BoxField {
        BoxField {
            activation,
            scale,
            offset,
            power,
            unit,
        }
    }

    /// The YOLOX preset reads what the YOLOX decoder always read.
    #[test]
    fn yolox_preset_decodes_one_cell() {
        let row = 7;
        let mut data = vec![0f32; 5 * row];
        let a = 3; // cell (1,1) of stride 8
        data[a * row..a * row + 7].copy_from_slice(&[0.5, 0.25, 0.0, (2f32).ln(), 0.9, 0.1, 0.8]);
        let t = Tensor::new("output", vec![1, 5, row], data);
        let g = GridSpec::yolox("output", &[8, 16]);
        let d = decode(&g, &[t], "yolox", 16, 16, 2, 0.3).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].class_id, 1);
        assert!((d[0].score - 0.72).abs() < 1e-6);
        assert_eq!(d[0].bbox, [8.0, 2.0, 8.0, 16.0]);
    }

    /// The same prediction, channel-first per stride with the encoding: objectness
    /// in channel 0, tanh centre offsets, sigmoid sizes as fractions of the input,
    /// score = obj² · cls.
    #[test]
    fn channel_first_tanh_sigmoid_obj_power() {
        // One stride 8 on 16x16: 2x2 cells, K = 1 + 4 + 2 = 7.
        let (gw, gh, k) = (2, 2, 7);
        let mut data = vec![-10f32; k * gh * gw];
        let set = |data: &mut Vec<f32>, c: usize, v: f32| data[(c * gh + 1) * gw] = v; // cell (x 0, y 1)
        set(&mut data, 0, 0.9);
        set(&mut data, 1, 0.0); // tanh(0) = 0
        set(&mut data, 2, 0.5f32.atanh());
        set(&mut data, 3, 0.0); // sigmoid(0) = 0.5 of 16 = 8
        set(&mut data, 4, 0.0);
        set(&mut data, 5, 0.2);
        set(&mut data, 6, 0.6);
        let g = GridSpec {
            tensors: vec!["p8".into()],
            layout: GridLayout::ChannelFirst,
            strides: vec![8],
            anchors: vec![],
            channels: ChannelMap {
                box_: 1,
                objectness: Some(0),
                classes: 5,
            },
            boxes: BoxEncoding::CenterSize {
                xy: field(Activation::Tanh, 1.0, 0.5, 1.0, Unit::Cell),
                wh: field(Activation::Sigmoid, 1.0, 0.0, 1.0, Unit::Input),
            },
            score: ScoreSpec {
                objectness: Activation::None,
                classes: Activation::None,
                objectness_power: 2.0,
                class_power: 1.0,
                multi_label: false,
            },
        };
        // The same values channel-last ([1, H, W, K]) decode the same.
        let mut last = vec![0f32; data.len()];
        for c in 0..k {
            for cell in 0..gh * gw {
                last[cell * k + c] = data[c * gh * gw + cell];
            }
        }
        let g_last = GridSpec {
            layout: GridLayout::ChannelLast,
            ..g.clone()
        };
        let t_last = Tensor::new("p8", vec![1, gh, gw, k], last);
        let d_last = decode(&g_last, &[t_last], "grid", 16, 16, 2, 0.3).unwrap();
        let t = Tensor::new("p8", vec![1, k, gh, gw], data);
        let d = decode(&g, &[t], "grid", 16, 16, 2, 0.3).unwrap();
        assert_eq!(d, d_last);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].class_id, 1);
        assert!((d[0].score - 0.81 * 0.6).abs() < 1e-6);
        // cx = (0 + 0.5 + 0) * 8 = 4, cy = (0.5 + 0.5 + 1) * 8 = 16, w = h = 8.
        let want = [0.0, 12.0, 8.0, 8.0];
        for (a, w) in d[0].bbox.iter().zip(want) {
            assert!((a - w).abs() < 1e-5, "{:?}", d[0].bbox);
        }
    }

    /// DFL: bins [0, 0, big] per side put the distance at bin 2.
    #[test]
    fn ltrb_with_dfl_bins_in_columns() {
        let bins = 3;
        let k = 4 * bins + 1;
        let n = 4; // stride 8 on 16x16
        let mut data = vec![0f32; k * n];
        let cell = 3; // (1,1)
        for side in 0..4 {
            data[(side * bins + 2) * n + cell] = 50.0;
        }
        data[4 * bins * n + cell] = 0.9;
        let g = GridSpec {
            tensors: vec!["out".into()],
            layout: GridLayout::Columns,
            strides: vec![8],
            anchors: vec![],
            channels: ChannelMap {
                box_: 0,
                objectness: None,
                classes: 4 * bins,
            },
            boxes: BoxEncoding::Ltrb {
                activation: Activation::None,
                dfl_bins: Some(bins),
                unit: Unit::Stride,
                cell_center: 0.5,
            },
            score: ScoreSpec::default(),
        };
        let t = Tensor::new("out", vec![1, k, n], data);
        let d = decode(&g, &[t], "grid", 16, 16, 1, 0.5).unwrap();
        assert_eq!(d.len(), 1);
        // point (1.5, 1.5) * 8 = 12; distances 2 * 8 = 16 each side.
        for (a, w) in d[0].bbox.iter().zip([-4.0, -4.0, 32.0, 32.0]) {
            assert!((a - w).abs() < 1e-3, "{:?}", d[0].bbox);
        }
    }

    #[test]
    fn anchor_based_yolov5_box() {
        // One stride 8 on 8x8 (1 cell), 2 anchors, K = 5 + 1.
        let k = 6;
        let mut data = vec![-20f32; 2 * k];
        // Anchor 1: σ(0) = 0.5 → xy = (2·0.5 − 0.5 + 0) · 8 = 4; wh = (2·0.5)² · anchor.
        data[k..2 * k].copy_from_slice(&[0.0, 0.0, 0.0, 0.0, 3.0, 3.0]);
        let g = GridSpec {
            tensors: vec!["p".into()],
            layout: GridLayout::ChannelFirst,
            strides: vec![8],
            anchors: vec![vec![[10.0, 13.0], [16.0, 30.0]]],
            channels: ChannelMap {
                box_: 0,
                objectness: Some(4),
                classes: 5,
            },
            boxes: BoxEncoding::CenterSize {
                xy: field(Activation::Sigmoid, 2.0, -0.5, 1.0, Unit::Cell),
                wh: field(Activation::Sigmoid, 2.0, 0.0, 2.0, Unit::Anchor),
            },
            score: ScoreSpec {
                objectness: Activation::Sigmoid,
                classes: Activation::Sigmoid,
                objectness_power: 1.0,
                class_power: 1.0,
                multi_label: false,
            },
        };
        let t = Tensor::new("p", vec![1, 2 * k, 1, 1], data);
        let d = decode(&g, &[t], "grid", 8, 8, 1, 0.5).unwrap();
        assert_eq!(d.len(), 1);
        for (a, w) in d[0].bbox.iter().zip([-4.0, -11.0, 16.0, 30.0]) {
            assert!((a - w).abs() < 1e-4, "{:?}", d[0].bbox);
        }
    }

    #[test]
    fn wrong_shape_names_the_expected_one() {
        let g = GridSpec::yolox("output", &[8, 16]);
        let t = Tensor::new("output", vec![1, 4, 7], vec![0.0; 28]);
        let e = decode(&g, &[t], "yolox", 16, 16, 2, 0.3).unwrap_err();
        assert!(e.to_string().contains("[1, 5, 7]"), "{e}");
    }
}
