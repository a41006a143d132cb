//! Blurs: defocus (an anti-aliased disk), motion (a one-sided Gaussian streak along an
//! angle) and zoom (the mean of centred enlargements), as the reference computes them.

use crate::image::{reflect101, unit_to_byte, Planes};
use crate::{RgbImage, Severity};

/// The reference's `disk(radius, alias_blur)`: a normalised disk on a grid of at least
/// 17×17, smoothed by OpenCV's `GaussianBlur` (3×3 up to radius 8, else 5×5) with reflected
/// borders. Returns (side, weights).
fn disk(radius: f64, alias_blur: f64) -> (usize, Vec<f64>) {
    let (half, ksize) = if radius <= 8.0 {
        (8usize, 3usize)
    } else {
        (radius as usize, 5usize)
    };
    let side = 2 * half + 1;
    let mut k = vec![0.0; side * side];
    for (i, row) in k.chunks_mut(side).enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            let (y, x) = (i as f64 - half as f64, j as f64 - half as f64);
            *v = f64::from(u8::from(x * x + y * y <= radius * radius));
        }
    }
    let total: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= total);
    let g = gaussian_kernel(ksize, alias_blur);
    let rows = correlate_plane(&k, side, side, &g, 1, ksize);
    (side, correlate_plane(&rows, side, side, &g, ksize, 1))
}

/// OpenCV's `getGaussianKernel(n, sigma)` for sigma > 0.
fn gaussian_kernel(n: usize, sigma: f64) -> Vec<f64> {
    let scale = -0.5 / (sigma * sigma);
    let mid = (n as f64 - 1.0) * 0.5;
    let k: Vec<f64> = (0..n)
        .map(|i| {
            let x = i as f64 - mid;
            libm::exp(scale * x * x)
        })
        .collect();
    let sum: f64 = k.iter().sum();
    k.into_iter().map(|v| v / sum).collect()
}

/// Correlation of one plane with a kh×kw kernel anchored at its centre, borders reflected
/// without repeating the edge (OpenCV's `filter2D` default).
fn correlate_plane(p: &[f64], w: usize, h: usize, k: &[f64], kh: usize, kw: usize) -> Vec<f64> {
    let (ay, ax) = ((kh / 2) as isize, (kw / 2) as isize);
    let cols: Vec<Vec<usize>> = (0..w)
        .map(|x| {
            (0..kw)
                .map(|j| reflect101(x as isize + j as isize - ax, w))
                .collect()
        })
        .collect();
    let mut out = vec![0.0; w * h];
    for y in 0..h {
        for i in 0..kh {
            let sy = reflect101(y as isize + i as isize - ay, h);
            let src = &p[sy * w..(sy + 1) * w];
            let krow = &k[i * kw..(i + 1) * kw];
            let dst = &mut out[y * w..(y + 1) * w];
            for (x, d) in dst.iter_mut().enumerate() {
                let c = &cols[x];
                let mut acc = 0.0;
                for j in 0..kw {
                    acc += krow[j] * src[c[j]];
                }
                *d += acc;
            }
        }
    }
    out
}

fn split(p: &Planes) -> [Vec<f64>; 3] {
    let mut ch: [Vec<f64>; 3] = Default::default();
    for (d, c) in ch.iter_mut().enumerate() {
        *c = p.v.iter().skip(d).step_by(3).copied().collect();
    }
    ch
}

fn join(ch: &[Vec<f64>; 3], w: usize, h: usize) -> Planes {
    let mut v = vec![0.0; w * h * 3];
    for (d, c) in ch.iter().enumerate() {
        for (i, x) in c.iter().enumerate() {
            v[i * 3 + d] = *x;
        }
    }
    Planes { w, h, v }
}

pub fn defocus(img: &RgbImage, s: Severity) -> RgbImage {
    let (radius, alias) = s.at(&[(3.0, 0.1), (4.0, 0.5), (6.0, 0.5), (8.0, 0.5), (10.0, 0.5)]);
    let (side, k) = disk(radius, alias);
    let p = Planes::unit(img);
    let ch = split(&p).map(|c| correlate_plane(&c, p.w, p.h, &k, side, side));
    join(&ch, p.w, p.h).to_bytes()
}

/// The reference's `_motion_blur` on 0–255 values: the weighted sum of the frame shifted
/// by 0..width pixels back along the angle, edges replicated, weights a half-Gaussian.
pub fn motion(img: &RgbImage, s: Severity, angle_deg: f64) -> RgbImage {
    let (radius, sigma) = s.at(&[(10, 3.0), (15, 5.0), (15, 8.0), (15, 12.0), (20, 15.0)]);
    let (w, h) = (img.width as usize, img.height as usize);
    let src: Vec<f64> = img.data.iter().map(|&b| f64::from(b)).collect();
    let blurred = streak(&src, w, h, 3, radius, sigma, angle_deg);
    RgbImage {
        width: img.width,
        height: img.height,
        data: blurred.iter().map(|&x| x.clamp(0.0, 255.0) as u8).collect(),
    }
}

/// `_motion_blur` on an interleaved w×h×`ch` buffer.
pub fn streak(
    src: &[f64],
    w: usize,
    h: usize,
    ch: usize,
    radius: usize,
    sigma: f64,
    angle_deg: f64,
) -> Vec<f64> {
    let width = 2 * radius + 1;
    let raw: Vec<f64> = (0..width)
        .map(|i| {
            let x = i as f64;
            libm::exp(-(x * x) / (2.0 * sigma * sigma))
                / (libm::sqrt(2.0 * std::f64::consts::PI) * sigma)
        })
        .collect();
    let z: f64 = raw.iter().sum();
    let rad = angle_deg * std::f64::consts::PI / 180.0;
    let (py, px) = (width as f64 * libm::sin(rad), width as f64 * libm::cos(rad));
    let hyp = libm::hypot(py, px);
    let mut out = vec![0.0; src.len()];
    for (i, kr) in raw.iter().enumerate() {
        let k = kr / z;
        let dy = -libm::ceil(i as f64 * py / hyp - 0.5) as isize;
        let dx = -libm::ceil(i as f64 * px / hyp - 0.5) as isize;
        if dy.unsigned_abs() >= h || dx.unsigned_abs() >= w {
            break;
        }
        for y in 0..h {
            let sy = (y as isize - dy).clamp(0, h as isize - 1) as usize;
            for x in 0..w {
                let sx = (x as isize - dx).clamp(0, w as isize - 1) as usize;
                let (o, si) = ((y * w + x) * ch, (sy * w + sx) * ch);
                for c in 0..ch {
                    out[o + c] += k * src[si + c];
                }
            }
        }
    }
    out
}

/// The reference's `clipped_zoom`: the centre crop of 1/`z` of each side enlarged by `z`
/// with scipy's `zoom(order=1)` (corner-aligned linear interpolation) and cut to the frame.
pub fn clipped_zoom(src: &[f64], w: usize, h: usize, ch: usize, z: f64) -> Vec<f64> {
    centre_zoom(src, w, h, ch, z, false).2
}

/// The enlargement of `clipped_zoom` (returning its width, height and values): cut to the
/// frame, or, with `full`, whole, as snow keeps it (it may be a pixel or two larger).
pub fn centre_zoom(
    src: &[f64],
    w: usize,
    h: usize,
    ch: usize,
    z: f64,
    full: bool,
) -> (usize, usize, Vec<f64>) {
    let crop = |n: usize| {
        let c = libm::ceil(n as f64 / z) as usize;
        (c, (n - c) / 2)
    };
    let ((cw, left), (chh, top)) = (crop(w), crop(h));
    let zoomed = |c: usize| (c as f64 * z).round_ties_even() as usize;
    let (ow, oh) = (zoomed(cw), zoomed(chh));
    let step = |c: usize, o: usize| {
        if o > 1 {
            (c as f64 - 1.0) / (o as f64 - 1.0)
        } else {
            0.0
        }
    };
    let (sx, sy) = (step(cw, ow), step(chh, oh));
    let taps = |o: usize, s: f64, c: usize| {
        let pos = o as f64 * s;
        let i = (libm::floor(pos) as usize).min(c - 1);
        let t = pos - i as f64;
        (i, (i + 1).min(c - 1), t)
    };
    let (w_out, h_out) = if full { (ow, oh) } else { (w, h) };
    let xs: Vec<(usize, usize, f64)> = (0..w_out).map(|x| taps(x, sx, cw)).collect();
    let mut out = vec![0.0; w_out * h_out * ch];
    for y in 0..h_out.min(oh) {
        let (y0, y1, ty) = taps(y, sy, chh);
        for (x, &(x0, x1, tx)) in xs.iter().enumerate().take(ow) {
            let at = |yy: usize, xx: usize, c: usize| src[((top + yy) * w + left + xx) * ch + c];
            for c in 0..ch {
                let a = at(y0, x0, c) * (1.0 - tx) + at(y0, x1, c) * tx;
                let b = at(y1, x0, c) * (1.0 - tx) + at(y1, x1, c) * tx;
                out[(y * w_out + x) * ch + c] = a * (1.0 - ty) + b * ty;
            }
        }
    }
    (w_out, h_out, out)
}

pub fn zoom(img: &RgbImage, s: Severity) -> RgbImage {
    // numpy's `arange(1, stop, step)` lengths for the reference's five ladders.
    let (count, step) = s.at(&[(12, 0.01), (16, 0.01), (11, 0.02), (13, 0.02), (11, 0.03)]);
    let p = Planes::unit(img);
    let mut acc = p.v.clone();
    for i in 0..count {
        let z = 1.0 + i as f64 * step;
        let layer = clipped_zoom(&p.v, p.w, p.h, 3, z);
        acc.iter_mut().zip(&layer).for_each(|(a, l)| *a += l);
    }
    let n = (count + 1) as f64;
    RgbImage {
        width: img.width,
        height: img.height,
        data: acc.iter().map(|&a| unit_to_byte(a / n)).collect(),
    }
}

/// scipy's `gaussian_filter` (as scikit-image's `gaussian` calls it) on an interleaved
/// w×h×3 buffer, each channel alone: separable, radius `int(4 σ + 0.5)`, edges replicated
/// (`mode='nearest'`), rows first then columns as scipy walks the axes.
fn gaussian_nearest(src: &[f64], w: usize, h: usize, sigma: f64) -> Vec<f64> {
    let radius = (4.0 * sigma + 0.5) as isize;
    let raw: Vec<f64> = (-radius..=radius)
        .map(|x| libm::exp(-0.5 / (sigma * sigma) * (x * x) as f64))
        .collect();
    let sum: f64 = raw.iter().sum();
    let k: Vec<f64> = raw.iter().map(|v| v / sum).collect();
    let clamp = |i: isize, n: usize| i.clamp(0, n as isize - 1) as usize;
    let mut rows = vec![0.0; src.len()];
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let mut acc = 0.0;
                for (j, kv) in k.iter().enumerate() {
                    let sy = clamp(y as isize + j as isize - radius, h);
                    acc += kv * src[(sy * w + x) * 3 + c];
                }
                rows[(y * w + x) * 3 + c] = acc;
            }
        }
    }
    let mut out = vec![0.0; src.len()];
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let mut acc = 0.0;
                for (j, kv) in k.iter().enumerate() {
                    let sx = clamp(x as isize + j as isize - radius, w);
                    acc += kv * rows[(y * w + sx) * 3 + c];
                }
                out[(y * w + x) * 3 + c] = acc;
            }
        }
    }
    out
}

fn glass_constants(s: Severity) -> (f64, i64, usize) {
    s.at(&[
        (0.7, 1i64, 2),
        (0.9, 2, 1),
        (1.0, 2, 3),
        (1.1, 3, 2),
        (1.5, 4, 2),
    ])
}

/// The pixel offsets (dx, dy) glass blur draws for a frame, in the reference's order: one
/// pair in [−δ, δ) per visited pixel and pass.
pub fn glass_draws(img: &RgbImage, s: Severity, rng: &mut crate::Stream) -> Vec<(i64, i64)> {
    let (_, delta, iterations) = glass_constants(s);
    let visited = |n: u32| (i64::from(n) - 2 * delta).max(0) as usize;
    let count = iterations * visited(img.width) * visited(img.height);
    (0..count)
        .map(|_| {
            let dx = rng.int_in(-delta, delta);
            let dy = rng.int_in(-delta, delta);
            (dx, dy)
        })
        .collect()
}

/// The reference's `glass_blur` over given offsets: blur, then `iterations` passes from the
/// bottom-right corner inwards each replacing a pixel with one up to `delta` away, then
/// blur again. The reference's tuple "swap" of two numpy views writes only the first pixel
/// (the second receives its own value back), so this is a copy, as the reference computes
/// it. Offsets beyond those given are taken as (0, 0).
pub fn glass_with(img: &RgbImage, s: Severity, draws: &[(i64, i64)]) -> RgbImage {
    let (sigma, delta, iterations) = glass_constants(s);
    let (w, h) = (img.width as usize, img.height as usize);
    let unit: Vec<f64> = img.data.iter().map(|&b| f64::from(b) / 255.0).collect();
    let mut x: Vec<u8> = gaussian_nearest(&unit, w, h, sigma)
        .iter()
        .map(|&v| (v * 255.0) as u8)
        .collect();
    let (wi, hi) = (w as i64, h as i64);
    let mut next = draws.iter().copied();
    for _ in 0..iterations {
        let mut yy = hi - delta;
        while yy > delta {
            let mut xx = wi - delta;
            while xx > delta {
                let (dx, dy) = next.next().unwrap_or((0, 0));
                let (from, to) = (
                    (((yy + dy) * wi + xx + dx) * 3) as usize,
                    ((yy * wi + xx) * 3) as usize,
                );
                x.copy_within(from..from + 3, to);
                xx -= 1;
            }
            yy -= 1;
        }
    }
    let unit: Vec<f64> = x.iter().map(|&b| f64::from(b) / 255.0).collect();
    let out = gaussian_nearest(&unit, w, h, sigma);
    RgbImage {
        width: img.width,
        height: img.height,
        data: out.iter().map(|&v| unit_to_byte(v)).collect(),
    }
}
