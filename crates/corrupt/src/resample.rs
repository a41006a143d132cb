//! Pillow's resizing, as `pixelate` in the reference uses it: `Image.BOX` (the 8-bit
//! fixed-point convolution of `Resample.c`, 22 fraction bits, horizontal pass then
//! vertical) and `Image.NEAREST` (the affine scale of `Geometry.c`).

use crate::RgbImage;

const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Per output index: first input index and fixed-point weights.
fn box_coeffs(in_size: u32, out_size: u32) -> Vec<(usize, Vec<i64>)> {
    let scale = f64::from(in_size) / f64::from(out_size);
    let filterscale = scale.max(1.0);
    let support = 0.5 * filterscale;
    let ss = 1.0 / filterscale;
    (0..out_size)
        .map(|xx| {
            let center = (f64::from(xx) + 0.5) * scale;
            let xmin = ((center - support + 0.5) as i64).max(0);
            let xmax = ((center + support + 0.5) as i64).min(i64::from(in_size)) - xmin;
            let w: Vec<f64> = (0..xmax.max(0))
                .map(|x| {
                    let t = ((x + xmin) as f64 - center + 0.5) * ss;
                    if t > -0.5 && t <= 0.5 {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            let ww: f64 = w.iter().sum();
            let k = w
                .iter()
                .map(|&v| {
                    let v = if ww != 0.0 { v / ww } else { v };
                    let f = v * f64::from(1u32 << PRECISION_BITS);
                    if f < 0.0 {
                        (-0.5 + f) as i64
                    } else {
                        (0.5 + f) as i64
                    }
                })
                .collect();
            (xmin as usize, k)
        })
        .collect()
}

fn clip8(acc: i64) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

pub fn box_resize(img: &RgbImage, ow: u32, oh: u32) -> RgbImage {
    let (w, h) = (img.width as usize, img.height as usize);
    let hc = box_coeffs(img.width, ow);
    let mut mid = vec![0u8; ow as usize * h * 3];
    for y in 0..h {
        for (xx, (xmin, k)) in hc.iter().enumerate() {
            for c in 0..3 {
                let mut acc = 1i64 << (PRECISION_BITS - 1);
                for (x, kv) in k.iter().enumerate() {
                    acc += i64::from(img.data[(y * w + xmin + x) * 3 + c]) * kv;
                }
                mid[(y * ow as usize + xx) * 3 + c] = clip8(acc);
            }
        }
    }
    let vc = box_coeffs(img.height, oh);
    let ow = ow as usize;
    let mut out = vec![0u8; ow * oh as usize * 3];
    for (yy, (ymin, k)) in vc.iter().enumerate() {
        for x in 0..ow {
            for c in 0..3 {
                let mut acc = 1i64 << (PRECISION_BITS - 1);
                for (y, kv) in k.iter().enumerate() {
                    acc += i64::from(mid[((ymin + y) * ow + x) * 3 + c]) * kv;
                }
                out[(yy * ow + x) * 3 + c] = clip8(acc);
            }
        }
    }
    RgbImage {
        width: ow as u32,
        height: oh,
        data: out,
    }
}

/// Source index per output index, accumulated in `f64` in the same order as Pillow.
fn nearest_table(in_size: u32, out_size: u32) -> Vec<usize> {
    let a = f64::from(in_size) / f64::from(out_size);
    let mut o = a * 0.5;
    (0..out_size)
        .map(|_| {
            let i = (o as usize).min(in_size as usize - 1);
            o += a;
            i
        })
        .collect()
}

pub fn nearest_resize(img: &RgbImage, ow: u32, oh: u32) -> RgbImage {
    let xs = nearest_table(img.width, ow);
    let ys = nearest_table(img.height, oh);
    let w = img.width as usize;
    let mut data = Vec::with_capacity(ow as usize * oh as usize * 3);
    for &sy in &ys {
        for &sx in &xs {
            let i = (sy * w + sx) * 3;
            data.extend_from_slice(&img.data[i..i + 3]);
        }
    }
    RgbImage {
        width: ow,
        height: oh,
        data,
    }
}
