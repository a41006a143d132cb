//! Weather: fog (a diamond-square plasma added and the range compressed), snow (a
//! thresholded, enlarged and motion-blurred noise layer over a whitened frame) and
//! brightness (the HSV value raised).

use crate::image::{unit_to_byte, Planes};
use crate::{RgbImage, Severity, Stream};

/// Side of the square plasma map for a frame: the next power of two of its longest side
/// (the reference counts the 3 channels as a side too, which never wins at 32×32 or more).
pub fn map_size(img: &RgbImage) -> usize {
    (img.width.max(img.height) as usize).next_power_of_two()
}

pub fn fog_map(img: &RgbImage, s: Severity, rng: &mut Stream) -> Vec<f64> {
    let (_, decay) = fog_constants(s);
    plasma_fractal(map_size(img), decay, rng)
}

fn fog_constants(s: Severity) -> (f64, f64) {
    s.at(&[(1.5, 2.0), (2.0, 2.0), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)])
}

/// The reference's `plasma_fractal`: diamond-square on a `size`² torus (size a power of
/// two), each new point the mean of its four neighbours plus `wibble · U(-wibble, wibble)`,
/// wibble divided by `decay` each level; then scaled to [0, 1]. Row-major.
pub fn plasma_fractal(size: usize, decay: f64, rng: &mut Stream) -> Vec<f64> {
    let mut m = vec![0.0; size * size];
    let mut step = size;
    let mut wibble = 100.0;
    let at = |r: usize, c: usize| r * size + c;
    while step >= 2 {
        let n = size / step;
        let half = step / 2;
        // Squares: the centre of each square of corners.
        for i in 0..n {
            for j in 0..n {
                let c = |a: usize, b: usize| m[at((a % n) * step, (b % n) * step)];
                let sum = c(i, j) + c(i + 1, j) + (c(i, j + 1) + c(i + 1, j + 1));
                m[at(i * step + half, j * step + half)] =
                    sum / 4.0 + wibble * rng.uniform(-wibble, wibble);
            }
        }
        // Diamonds: first the points between corners along a row, then along a column,
        // in the reference's order of draws.
        let dr =
            |m: &[f64], a: usize, b: usize| m[at((a % n) * step + half, (b % n) * step + half)];
        let ul = |m: &[f64], a: usize, b: usize| m[at((a % n) * step, (b % n) * step)];
        for i in 0..n {
            for j in 0..n {
                let sum = (dr(&m, i, j) + dr(&m, i + n - 1, j)) + (ul(&m, i, j) + ul(&m, i, j + 1));
                m[at(i * step, j * step + half)] =
                    sum / 4.0 + wibble * rng.uniform(-wibble, wibble);
            }
        }
        for i in 0..n {
            for j in 0..n {
                let sum = (dr(&m, i, j) + dr(&m, i, j + n - 1)) + (ul(&m, i, j) + ul(&m, i + 1, j));
                m[at(i * step + half, j * step)] =
                    sum / 4.0 + wibble * rng.uniform(-wibble, wibble);
            }
        }
        step /= 2;
        wibble /= decay;
    }
    let lo = m.iter().copied().fold(f64::INFINITY, f64::min);
    m.iter_mut().for_each(|v| *v -= lo);
    let hi = m.iter().copied().fold(0.0, f64::max);
    if hi > 0.0 {
        m.iter_mut().for_each(|v| *v /= hi);
    }
    m
}

/// `clip((x + c · map) · max(x) / (max(x) + c))`, the map cropped to the frame.
pub fn fog_with_map(img: &RgbImage, s: Severity, map: &[f64]) -> RgbImage {
    let (c, _) = fog_constants(s);
    let size = map_size(img);
    let mut p = Planes::unit(img);
    let max = p.v.iter().copied().fold(0.0, f64::max);
    for y in 0..p.h {
        for x in 0..p.w {
            let f = map.get(y * size + x).copied().unwrap_or(0.0);
            for ch in 0..3 {
                let v = &mut p.v[(y * p.w + x) * 3 + ch];
                *v = (*v + c * f) * max / (max + c);
            }
        }
    }
    p.to_bytes()
}

/// The reference converts to HSV, adds c to V (clipped to 1) and converts back. With hue
/// and saturation unchanged, RGB scales linearly with V, so each pixel is multiplied by
/// V'/V (a black pixel, with no hue, becomes grey V').
pub fn brightness(img: &RgbImage, s: Severity) -> RgbImage {
    let c = s.at(&[0.1, 0.2, 0.3, 0.4, 0.5]);
    let mut data = Vec::with_capacity(img.data.len());
    for px in img.data.chunks_exact(3) {
        let rgb = [px[0], px[1], px[2]].map(|b| f64::from(b) / 255.0);
        let v = rgb[0].max(rgb[1]).max(rgb[2]);
        let v2 = (v + c).min(1.0);
        for x in rgb {
            let y = if v > 0.0 { x * v2 / v } else { v2 };
            data.push(unit_to_byte(y));
        }
    }
    RgbImage {
        width: img.width,
        height: img.height,
        data,
    }
}

type SnowConstants = (f64, f64, f64, f64, usize, f64, f64);

fn snow_constants(s: Severity) -> SnowConstants {
    s.at(&[
        (0.1, 0.3, 3.0, 0.5, 10, 4.0, 0.8),
        (0.2, 0.3, 2.0, 0.5, 12, 4.0, 0.7),
        (0.55, 0.3, 4.0, 0.9, 12, 8.0, 0.7),
        (0.55, 0.3, 4.5, 0.85, 12, 8.0, 0.65),
        (0.55, 0.3, 2.5, 0.85, 12, 12.0, 0.55),
    ])
}

/// The draws snow makes for a frame, in the reference's order: the flake layer (h×w
/// normals of the severity's mean and spread, row-major), then the fall angle in degrees.
pub fn snow_draws(img: &RgbImage, s: Severity, rng: &mut Stream) -> (Vec<f64>, f64) {
    let (loc, scale, ..) = snow_constants(s);
    let n = img.width as usize * img.height as usize;
    let mut layer = Vec::with_capacity(n + 1);
    while layer.len() < n {
        let (a, b) = rng.normal_pair();
        layer.push(loc + scale * a);
        layer.push(loc + scale * b);
    }
    layer.truncate(n);
    (layer, rng.uniform(-135.0, -45.0))
}

/// The reference's `snow` over given draws: the layer enlarged about its centre, values
/// under the threshold dropped, motion-blurred along the angle and rounded to bytes; the
/// frame is whitened towards 1.5·grey + 0.5 and the layer added twice, once turned by 180°.
pub fn snow_with(img: &RgbImage, s: Severity, layer: &[f64], angle: f64) -> RgbImage {
    let (_, _, zoom, threshold, radius, sigma, blend) = snow_constants(s);
    let (w, h) = (img.width as usize, img.height as usize);
    let (lw, lh, mut flakes) = crate::blur::centre_zoom(layer, w, h, 1, zoom, true);
    flakes
        .iter_mut()
        .for_each(|v| *v = if *v < threshold { 0.0 } else { v.min(1.0) });
    let streaked = crate::blur::streak(&flakes, lw, lh, 1, radius, sigma, angle);
    // `np.round(layer * 255).astype(np.uint8) / 255`, cut to the frame.
    let flake = |y: usize, x: usize| (streaked[y * lw + x] * 255.0).round_ties_even() / 255.0;
    let blend32 = blend as f32;
    let mut data = Vec::with_capacity(img.data.len());
    for y in 0..h {
        for x in 0..w {
            let i = (y * w + x) * 3;
            // The frame in float32, as the reference holds it; OpenCV's grey in float32.
            let px = [0, 1, 2].map(|c| f32::from(img.data[i + c]) / 255.0);
            let grey = 0.299f32 * px[0] + 0.587f32 * px[1] + 0.114f32 * px[2];
            let add = flake(y, x) + flake(h - 1 - y, w - 1 - x);
            for v in px {
                let whitened = blend32 * v + (1.0 - blend32) * v.max(grey * 1.5 + 0.5);
                data.push(unit_to_byte(f64::from(whitened) + add));
            }
        }
    }
    RgbImage {
        width: img.width,
        height: img.height,
        data,
    }
}
