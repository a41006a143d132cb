//! Preprocessing: decoded RGB frames → the network input tensor the adapter describes,
//! plus the geometric transform that maps network-space boxes back to image pixels.
//! Runs before timing starts; its own duration is recorded as the `pre` stage.

pub use adasval_core::rgb::RgbImage;
use adasval_core::tensor::Tensor;
use adasval_record::adapter::{Adapter, ChannelOrder, Layout, Placement, Resize};

/// Maps network-input coordinates back to original-image coordinates:
/// `orig = (net - offset) / scale` per axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    pub scale_x: f32,
    pub scale_y: f32,
    pub offset_x: f32,
    pub offset_y: f32,
    pub orig_width: u32,
    pub orig_height: u32,
}

impl Transform {
    /// Map an `[x, y, w, h]` box to original pixels, clipped to the image.
    pub fn to_original(&self, b: [f32; 4]) -> [f32; 4] {
        let x1 = ((b[0] - self.offset_x) / self.scale_x).clamp(0.0, self.orig_width as f32);
        let y1 = ((b[1] - self.offset_y) / self.scale_y).clamp(0.0, self.orig_height as f32);
        let x2 = ((b[0] + b[2] - self.offset_x) / self.scale_x).clamp(0.0, self.orig_width as f32);
        let y2 = ((b[1] + b[3] - self.offset_y) / self.scale_y).clamp(0.0, self.orig_height as f32);
        [x1, y1, x2 - x1, y2 - y1]
    }
}

/// Build the input tensor for one frame.
pub fn preprocess(adapter: &Adapter, img: &RgbImage) -> (Tensor, Transform) {
    let spec = &adapter.input;
    let (tw, th) = (spec.width as usize, spec.height as usize);
    let (sw, sh) = (img.width as usize, img.height as usize);
    let (rw, rh, ox, oy, pad) = match spec.resize {
        Resize::Stretch => (tw, th, 0usize, 0usize, 0u8),
        Resize::Letterbox {
            pad_value,
            placement,
        } => {
            let r = (tw as f64 / sw as f64).min(th as f64 / sh as f64);
            let rw = ((sw as f64 * r).round() as usize).clamp(1, tw);
            let rh = ((sh as f64 * r).round() as usize).clamp(1, th);
            let (ox, oy) = match placement {
                Placement::TopLeft => (0, 0),
                Placement::Center => ((tw - rw) / 2, (th - rh) / 2),
            };
            (rw, rh, ox, oy, pad_value)
        }
    };
    let resized = resize_bilinear(img, rw, rh);
    let mut canvas = vec![pad; tw * th * 3];
    for y in 0..rh {
        let dst = ((y + oy) * tw + ox) * 3;
        canvas[dst..dst + rw * 3].copy_from_slice(&resized[y * rw * 3..(y + 1) * rw * 3]);
    }
    let order: [usize; 3] = match spec.channel_order {
        ChannelOrder::Rgb => [0, 1, 2],
        ChannelOrder::Bgr => [2, 1, 0],
    };
    // Precompute the 256-entry lookup per channel: preprocessing is then one table read.
    let mut lut = [[0f32; 256]; 3];
    for (c, table) in lut.iter_mut().enumerate() {
        for (v, slot) in table.iter_mut().enumerate() {
            *slot = (v as f32 * spec.scale - spec.mean[c]) / spec.std[c];
        }
    }
    let mut data = vec![0f32; tw * th * 3];
    match spec.layout {
        Layout::Nchw => {
            let plane = tw * th;
            for (i, px) in canvas.chunks_exact(3).enumerate() {
                for c in 0..3 {
                    data[c * plane + i] = lut[c][px[order[c]] as usize];
                }
            }
        }
        Layout::Nhwc => {
            for (i, px) in canvas.chunks_exact(3).enumerate() {
                for c in 0..3 {
                    data[i * 3 + c] = lut[c][px[order[c]] as usize];
                }
            }
        }
    }
    let shape = match spec.layout {
        Layout::Nchw => vec![1, 3, th, tw],
        Layout::Nhwc => vec![1, th, tw, 3],
    };
    let transform = Transform {
        scale_x: rw as f32 / sw as f32,
        scale_y: rh as f32 / sh as f32,
        offset_x: ox as f32,
        offset_y: oy as f32,
        orig_width: img.width,
        orig_height: img.height,
    };
    (Tensor::new(spec.tensor.clone(), shape, data), transform)
}

/// Bilinear resize with half-pixel centres (as OpenCV's INTER_LINEAR for upscaling and
/// mild downscaling); identity when the size is unchanged.
fn resize_bilinear(img: &RgbImage, w: usize, h: usize) -> Vec<u8> {
    let (sw, sh) = (img.width as usize, img.height as usize);
    if sw == w && sh == h {
        return img.data.clone();
    }
    let fx = sw as f32 / w as f32;
    let fy = sh as f32 / h as f32;
    let mut out = vec![0u8; w * h * 3];
    let xs: Vec<(usize, usize, f32)> = (0..w)
        .map(|x| {
            let sx = ((x as f32 + 0.5) * fx - 0.5).max(0.0);
            let x0 = (sx.floor() as usize).min(sw - 1);
            (x0, (x0 + 1).min(sw - 1), sx - x0 as f32)
        })
        .collect();
    for y in 0..h {
        let sy = ((y as f32 + 0.5) * fy - 0.5).max(0.0);
        let y0 = (sy.floor() as usize).min(sh - 1);
        let y1 = (y0 + 1).min(sh - 1);
        let wy = sy - y0 as f32;
        for (x, &(x0, x1, wx)) in xs.iter().enumerate() {
            for c in 0..3 {
                let p = |yy: usize, xx: usize| img.data[(yy * sw + xx) * 3 + c] as f32;
                let top = p(y0, x0) * (1.0 - wx) + p(y0, x1) * wx;
                let bot = p(y1, x0) * (1.0 - wx) + p(y1, x1) * wx;
                out[(y * w + x) * 3 + c] = (top * (1.0 - wy) + bot * wy).round() as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use adasval_record::adapter::*;

    fn adapter(resize: Resize, order: ChannelOrder) -> Adapter {
        Adapter {
            schema_version: 1,
            name: "t".into(),
            input: InputSpec {
                tensor: "images".into(),
                layout: Layout::Nchw,
                width: 8,
                height: 8,
                channel_order: order,
                scale: 1.0,
                mean: [0.0; 3],
                std: [1.0; 3],
                resize,
            },
            output: OutputSpec::Yolox {
                tensor: "output".into(),
                strides: vec![8],
            },
            classes: vec!["a".into()],
            safety_critical: vec![],
            score_threshold: 0.5,
            nms_iou: 0.5,
            max_detections: 10,
            nms_class_agnostic: false,
            top_k: None,
            clip_to_input: false,
            scenario_classes: None,
        }
    }

    #[test]
    fn letterbox_pads_bottom_right_and_maps_back() {
        let img = RgbImage {
            width: 4,
            height: 2,
            data: (0..24).map(|v| v as u8).collect(),
        };
        let a = adapter(
            Resize::Letterbox {
                pad_value: 114,
                placement: Placement::TopLeft,
            },
            ChannelOrder::Bgr,
        );
        let (t, tr) = preprocess(&a, &img);
        assert_eq!(t.shape, vec![1, 3, 8, 8]);
        // Row 4 and below are padding in every channel.
        assert_eq!(t.data[4 * 8], 114.0);
        assert_eq!(tr.scale_x, 2.0);
        let back = tr.to_original([2.0, 2.0, 4.0, 2.0]);
        assert_eq!(back, [1.0, 1.0, 2.0, 1.0]);
        // BGR: channel 0 of the tensor is the blue byte of the first pixel (value 2).
        assert_eq!(t.data[0], 2.0);
    }
}
