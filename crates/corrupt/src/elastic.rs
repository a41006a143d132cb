//! Elastic transform as the reference computes it: two fields of uniform draws in
//! ±0.005·height, smoothed by a Gaussian of σ = 1% of each side (scikit-image's `gaussian`,
//! scipy's `reflect` border, truncated at 3σ), scaled by the severity's α and rounded to
//! `float32`, displace each pixel; the frame is resampled there by bilinear interpolation
//! (scipy's `map_coordinates(order=1, mode='reflect')`).

use crate::image::Planes;
use crate::{RgbImage, Severity, Stream};

/// The raw uniform fields (dx then dy, row-major h×w) `apply` draws for a frame.
pub fn fields(img: &RgbImage, rng: &mut Stream) -> (Vec<f64>, Vec<f64>) {
    let n = img.width as usize * img.height as usize;
    let max = f64::from(img.height) * 0.005;
    let mut draw = || (0..n).map(|_| rng.uniform(-max, max)).collect::<Vec<f64>>();
    let dx = draw();
    let dy = draw();
    (dx, dy)
}

/// scipy's `reflect` mode: the border value repeated once (d c b a | a b c d | d c b a).
fn reflect(i: isize, n: usize) -> usize {
    let n = n as isize;
    let period = 2 * n;
    let j = i.rem_euclid(period);
    (if j >= n { period - 1 - j } else { j }) as usize
}

fn kernel(sigma: f64) -> Vec<f64> {
    let radius = (3.0 * sigma + 0.5) as isize;
    let raw: Vec<f64> = (-radius..=radius)
        .map(|x| libm::exp(-0.5 / (sigma * sigma) * (x * x) as f64))
        .collect();
    let sum: f64 = raw.iter().sum();
    raw.into_iter().map(|v| v / sum).collect()
}

/// Separable Gaussian of a w×h plane, σ per axis, axis 0 (rows) first as scipy walks them.
fn smooth(src: &[f64], w: usize, h: usize, sigma_y: f64, sigma_x: f64) -> Vec<f64> {
    let (ky, kx) = (kernel(sigma_y), kernel(sigma_x));
    let (ry, rx) = ((ky.len() / 2) as isize, (kx.len() / 2) as isize);
    let mut tmp = vec![0.0; src.len()];
    for y in 0..h {
        for x in 0..w {
            tmp[y * w + x] = ky
                .iter()
                .enumerate()
                .map(|(j, k)| k * src[reflect(y as isize + j as isize - ry, h) * w + x])
                .sum();
        }
    }
    let mut out = vec![0.0; src.len()];
    for y in 0..h {
        let row = &tmp[y * w..(y + 1) * w];
        for x in 0..w {
            out[y * w + x] = kx
                .iter()
                .enumerate()
                .map(|(j, k)| k * row[reflect(x as isize + j as isize - rx, w)])
                .sum();
        }
    }
    out
}

/// A coordinate mapped into the frame as scipy's `reflect` extends it, then the two taps
/// and the weight of the second.
fn taps(c: f64, n: usize) -> (usize, usize, f64) {
    let period = 2.0 * n as f64;
    let mut m = (c + 0.5).rem_euclid(period);
    if m >= n as f64 {
        m = period - m;
    }
    let m = m - 0.5;
    let f = libm::floor(m);
    let t = m - f;
    let i0 = (f as isize).clamp(0, n as isize - 1) as usize;
    let i1 = (f as isize + 1).clamp(0, n as isize - 1) as usize;
    (i0, i1, t)
}

pub fn elastic_with_fields(img: &RgbImage, s: Severity, dx: &[f64], dy: &[f64]) -> RgbImage {
    let alpha = s.at(&[
        250.0 * 0.05,
        250.0 * 0.065,
        250.0 * 0.085,
        250.0 * 0.1,
        250.0 * 0.12,
    ]);
    let p = Planes::unit(img);
    let (w, h) = (p.w, p.h);
    let (sy, sx) = (h as f64 * 0.01, w as f64 * 0.01);
    // The reference casts the scaled fields, and the frame, to float32.
    let disp = |f: &[f64]| -> Vec<f64> {
        smooth(f, w, h, sy, sx)
            .into_iter()
            .map(|v| f64::from((v * alpha) as f32))
            .collect()
    };
    let (ddx, ddy) = (disp(dx), disp(dy));
    let v32: Vec<f64> = p.v.iter().map(|&v| f64::from(v as f32)).collect();
    let mut data = Vec::with_capacity(p.v.len());
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let (y0, y1, ty) = taps(y as f64 + ddy[i], h);
            let (x0, x1, tx) = taps(x as f64 + ddx[i], w);
            for c in 0..3 {
                let at = |yy: usize, xx: usize| v32[(yy * w + xx) * 3 + c];
                let a = at(y0, x0) * (1.0 - tx) + at(y0, x1) * tx;
                let b = at(y1, x0) * (1.0 - tx) + at(y1, x1) * tx;
                let v = f64::from((a * (1.0 - ty) + b * ty) as f32);
                // `np.clip(v, 0, 1) * 255` in float32, then `np.uint8` truncates.
                data.push(((v.clamp(0.0, 1.0) as f32) * 255.0) as u8);
            }
        }
    }
    RgbImage {
        width: img.width,
        height: img.height,
        data,
    }
}
