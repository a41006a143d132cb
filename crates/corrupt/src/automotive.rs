//! Automotive corruptions (not in ImageNet-C; issue #26): low-sun glare, water drops on the
//! lens, rolling-shutter skew and night sensor noise. Each is a small physical model with
//! its parameters per severity in docs/CORRUPTIONS.md; light is added and noise drawn in
//! linear light (the sRGB transfer function undone and redone), and bytes come back
//! rounded (no reference to match the truncation of).

use crate::{RgbImage, Severity, Stream};

/// sRGB byte → linear light.
fn linear_table() -> [f64; 256] {
    std::array::from_fn(|i| {
        let c = i as f64 / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            libm::pow((c + 0.055) / 1.055, 2.4)
        }
    })
}

/// Linear light → sRGB byte, clipped and rounded: the byte whose interval of the encoded
/// value holds it, found among the linear values where the rounding steps (`BYTE_STEPS`,
/// the decoded midpoints), which is the same as encoding and rounding but without a
/// power per value.
fn to_byte(l: f64) -> u8 {
    let steps = byte_steps();
    steps.partition_point(|&t| t <= l) as u8
}

/// The linear value at which the rounded sRGB byte steps from b to b + 1, for b in 0..255.
fn byte_steps() -> &'static [f64; 255] {
    static STEPS: std::sync::OnceLock<[f64; 255]> = std::sync::OnceLock::new();
    STEPS.get_or_init(|| {
        std::array::from_fn(|b| {
            let c = (b as f64 + 0.5) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                libm::pow((c + 0.055) / 1.055, 2.4)
            }
        })
    })
}

/// Where the low sun stands, in pixels: across the whole width, in the upper third (just
/// above the horizon of a forward camera).
pub fn sun_position(img: &RgbImage, rng: &mut Stream) -> (f64, f64) {
    let x = rng.uniform(0.1, 0.9) * f64::from(img.width);
    let y = rng.uniform(0.05, 0.35) * f64::from(img.height);
    (x, y)
}

/// Low-sun glare: light scattered in the optics and a dirty windscreen, added in linear
/// light: a halo falling off as r0² / (r² + r0²) around the sun (the 1/θ² law of
/// Stiles–Holladay beyond a core of radius r0) of peak `a`, plus a uniform veil `v`, both
/// tinted like a low sun. Adding light never darkens a pixel and lowers every contrast.
pub fn glare_at(img: &RgbImage, s: Severity, sun: (f64, f64)) -> RgbImage {
    let (a, r0_frac, v) = s.at(&[
        (0.3, 0.04, 0.02),
        (0.6, 0.05, 0.05),
        (1.0, 0.06, 0.08),
        (1.6, 0.07, 0.12),
        (2.4, 0.08, 0.16),
    ]);
    const TINT: [f64; 3] = [1.0, 0.85, 0.6];
    let (w, h) = (img.width as usize, img.height as usize);
    let r0 = r0_frac * libm::hypot(w as f64, h as f64);
    let lin = linear_table();
    let mut data = Vec::with_capacity(img.data.len());
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f64 + 0.5 - sun.0, y as f64 + 0.5 - sun.1);
            let halo = a * r0 * r0 / (dx * dx + dy * dy + r0 * r0);
            let i = (y * w + x) * 3;
            for (c, t) in TINT.iter().enumerate() {
                data.push(to_byte(lin[usize::from(img.data[i + c])] + (halo + v) * t));
            }
        }
    }
    RgbImage {
        width: img.width,
        height: img.height,
        data,
    }
}

/// A water drop on the lens: centre and radius in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drop {
    pub x: f64,
    pub y: f64,
    pub r: f64,
}

/// The drops for a frame: their number grows with severity, radii 3–8% of the frame's
/// height, centres anywhere.
pub fn drops(img: &RgbImage, s: Severity, rng: &mut Stream) -> Vec<Drop> {
    let n = s.at(&[4, 8, 14, 22, 32]);
    let (w, h) = (f64::from(img.width), f64::from(img.height));
    (0..n)
        .map(|_| {
            let x = rng.uniform(0.0, w);
            let y = rng.uniform(0.0, h);
            let r = rng.uniform(0.03, 0.08) * h;
            Drop { x, y, r }
        })
        .collect()
}

/// How strongly a drop refracts: it acts as a converging lens close to the camera, so it
/// shows the scene behind it inverted and shrunk by this factor, and out of focus.
pub const DROP_MAGNIFICATION: f64 = 0.6;
/// How much light the rim of a drop loses (total internal reflection near its edge): the
/// transmitted light is 1 − DROP_RIM_LOSS · (d / r)⁴ at distance d from the centre.
pub const DROP_RIM_LOSS: f64 = 0.4;

/// Lens water drops: inside each drop (later drops over earlier ones) the pixel shows the
/// defocused scene at the point mirrored through the drop's centre and shrunk by
/// DROP_MAGNIFICATION, darkened towards the rim; outside every drop the frame is unchanged.
pub fn water_drops_with(img: &RgbImage, s: Severity, drops: &[Drop]) -> RgbImage {
    let blur_radius = s.at(&[3usize, 4, 5, 6, 7]);
    let (w, h) = (img.width as usize, img.height as usize);
    let blurred = box_blur(img, blur_radius);
    let mut out = img.clone();
    for d in drops {
        let (y0, y1) = span(d.y, d.r, h);
        let (x0, x1) = span(d.x, d.r, w);
        for y in y0..y1 {
            for x in x0..x1 {
                let (dx, dy) = (x as f64 + 0.5 - d.x, y as f64 + 0.5 - d.y);
                let q = (dx * dx + dy * dy) / (d.r * d.r);
                if q >= 1.0 {
                    continue;
                }
                let sx = (d.x - dx * DROP_MAGNIFICATION).clamp(0.0, w as f64 - 1.0) as usize;
                let sy = (d.y - dy * DROP_MAGNIFICATION).clamp(0.0, h as f64 - 1.0) as usize;
                let keep = 1.0 - DROP_RIM_LOSS * q * q;
                let (o, si) = ((y * w + x) * 3, (sy * w + sx) * 3);
                for c in 0..3 {
                    out.data[o + c] = to_byte(blurred[si + c] * keep);
                }
            }
        }
    }
    out
}

fn span(c: f64, r: f64, n: usize) -> (usize, usize) {
    let lo = libm::floor(c - r).max(0.0) as usize;
    let hi = (libm::ceil(c + r).max(0.0) as usize).min(n);
    (lo.min(n), hi)
}

/// The frame in linear light, box-blurred over (2r + 1)² pixels, edges replicated.
fn box_blur(img: &RgbImage, r: usize) -> Vec<f64> {
    let (w, h) = (img.width as usize, img.height as usize);
    let lin = linear_table();
    let src: Vec<f64> = img.data.iter().map(|&b| lin[usize::from(b)]).collect();
    let n = (2 * r + 1) as f64;
    let ri = r as isize;
    let mut rows = vec![0.0; src.len()];
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let sum: f64 = (-ri..=ri)
                    .map(|k| {
                        src[(y * w + (x as isize + k).clamp(0, w as isize - 1) as usize) * 3 + c]
                    })
                    .sum();
                rows[(y * w + x) * 3 + c] = sum / n;
            }
        }
    }
    let mut out = vec![0.0; src.len()];
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let sum: f64 = (-ri..=ri)
                    .map(|k| {
                        rows[((y as isize + k).clamp(0, h as isize - 1) as usize * w + x) * 3 + c]
                    })
                    .sum();
                out[(y * w + x) * 3 + c] = sum / n;
            }
        }
    }
    out
}

/// The horizontal skew of rolling shutter per severity: how far (as a share of the width)
/// the bottom row is shifted against the top one.
pub const ROLLING_SHUTTER_SKEW: [f64; 5] = [0.01, 0.02, 0.04, 0.07, 0.10];

/// Rolling-shutter skew: rows are read out top to bottom while the camera yaws at a steady
/// rate (to the left: the scene moves right), so row y sees the scene shifted right by
/// skew · width · (y / (h − 1) − ½) against the middle row. Linear interpolation along
/// the row, edges replicated.
pub fn rolling_shutter(img: &RgbImage, s: Severity) -> RgbImage {
    let skew = s.at(&ROLLING_SHUTTER_SKEW);
    let (w, h) = (img.width as usize, img.height as usize);
    let mut data = Vec::with_capacity(img.data.len());
    for y in 0..h {
        let shift = skew * w as f64 * (y as f64 / (h - 1) as f64 - 0.5);
        for x in 0..w {
            let src = x as f64 - shift;
            let f = libm::floor(src);
            let t = src - f;
            let at = |i: f64| (i as isize).clamp(0, w as isize - 1) as usize;
            let (a, b) = ((y * w + at(f)) * 3, (y * w + at(f + 1.0)) * 3);
            for c in 0..3 {
                let v = f64::from(img.data[a + c]) * (1.0 - t) + f64::from(img.data[b + c]) * t;
                data.push(v.round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    RgbImage {
        width: img.width,
        height: img.height,
        data,
    }
}

/// Night sensor noise per severity: (electrons a white pixel collects, read noise in
/// electrons, brightness of white after the camera's gain, in linear light).
pub const NIGHT_SENSOR: [(f64, f64, f64); 5] = [
    (400.0, 2.0, 0.8),
    (200.0, 2.5, 0.65),
    (100.0, 3.0, 0.5),
    (50.0, 4.0, 0.4),
    (25.0, 4.0, 0.3),
];

/// Night sensor noise: the scene as a dim exposure on the sensor. A pixel of linear value x
/// collects Poisson(x · e) photo-electrons (shot noise), read-out adds N(0, σr²)
/// electrons, and the gain maps e electrons to brightness b (night frames stay darker),
/// each channel independently (no demosaicking).
pub fn night_sensor_noise(img: &RgbImage, s: Severity, rng: &mut Stream) -> RgbImage {
    let (e, read, b) = s.at(&NIGHT_SENSOR);
    let lin = linear_table();
    let mut data = Vec::with_capacity(img.data.len());
    let mut spare: Option<f64> = None;
    for &v in &img.data {
        let electrons = f64::from(rng.poisson(lin[usize::from(v)] * e));
        let n = match spare.take() {
            Some(n) => n,
            None => {
                let (a, b2) = rng.normal_pair();
                spare = Some(b2);
                a
            }
        };
        data.push(to_byte((electrons + read * n) / e * b));
    }
    RgbImage {
        width: img.width,
        height: img.height,
        data,
    }
}
