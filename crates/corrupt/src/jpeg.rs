//! JPEG compression as the reference does it (Pillow's `save(format='JPEG', quality=q)` and
//! reading the file back), without the file: the entropy coding in between is lossless, so
//! only the lossy steps are reproduced, each as libjpeg(-turbo) computes it with Pillow's
//! defaults: fixed-point RGB→YCbCr, 4:2:0 chroma by 2×2 averaging with alternating bias,
//! 8×8 DCT, the standard tables scaled by `jpeg_quality_scaling` (baseline, so at most
//! 255), then dequantisation, inverse DCT, "fancy" (triangular) chroma upsampling and
//! fixed-point YCbCr→RGB. The DCTs are the exact transform in `f64` where libjpeg uses
//! its accurate integer approximation (`JDCT_ISLOW`), which lands within one level of it.

use crate::{RgbImage, Severity};

const LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

const CHROMA: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

/// libjpeg's `jpeg_quality_scaling` and `jpeg_add_quant_table` with `force_baseline`.
fn table(base: &[u16; 64], quality: i64) -> [f64; 64] {
    let scale = if quality < 50 {
        5000 / quality
    } else {
        200 - 2 * quality
    };
    base.map(|b| ((i64::from(b) * scale + 50) / 100).clamp(1, 255) as f64)
}

const SCALEBITS: u32 = 16;
const ONE_HALF: i64 = 1 << (SCALEBITS - 1);

const fn fix(x: f64) -> i64 {
    (x * (1i64 << SCALEBITS) as f64 + 0.5) as i64
}

/// `jccolor.c`'s `rgb_ycc_convert`.
fn to_ycc(r: u8, g: u8, b: u8) -> [i64; 3] {
    let (r, g, b) = (i64::from(r), i64::from(g), i64::from(b));
    let off = 128 << SCALEBITS;
    [
        (fix(0.29900) * r + fix(0.58700) * g + fix(0.11400) * b + ONE_HALF) >> SCALEBITS,
        (-fix(0.16874) * r - fix(0.33126) * g + fix(0.5) * b + off + ONE_HALF - 1) >> SCALEBITS,
        (fix(0.5) * r - fix(0.41869) * g - fix(0.08131) * b + off + ONE_HALF - 1) >> SCALEBITS,
    ]
}

/// `jdcolor.c`'s `ycc_rgb_convert` with its tables, clamped by `range_limit`.
fn to_rgb(y: i64, cb: i64, cr: i64) -> [u8; 3] {
    let (cb, cr) = (cb - 128, cr - 128);
    let r = y + ((fix(1.40200) * cr + ONE_HALF) >> SCALEBITS);
    let g = y + ((-fix(0.34414) * cb + -fix(0.71414) * cr + ONE_HALF) >> SCALEBITS);
    let b = y + ((fix(1.77200) * cb + ONE_HALF) >> SCALEBITS);
    [r, g, b].map(|v| v.clamp(0, 255) as u8)
}

/// A plane padded to whole blocks.
struct Plane {
    w: usize,
    h: usize,
    v: Vec<i64>,
}

/// cos((2x + 1) u π / 16) · C(u) / 2, the DCT basis, indexed [u][x].
fn basis() -> [[f64; 8]; 8] {
    let mut b = [[0.0; 8]; 8];
    for (u, row) in b.iter_mut().enumerate() {
        let c = if u == 0 {
            std::f64::consts::FRAC_1_SQRT_2
        } else {
            1.0
        };
        for (x, v) in row.iter_mut().enumerate() {
            *v = c / 2.0 * libm::cos((2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / 16.0);
        }
    }
    b
}

/// Each 8×8 block through DCT, quantisation to `q`, dequantisation and inverse DCT; values
/// come back rounded and clamped to 0–255 as libjpeg's `range_limit` does.
fn compress_plane(p: &mut Plane, q: &[f64; 64], b: &[[f64; 8]; 8]) {
    for by in (0..p.h).step_by(8) {
        for bx in (0..p.w).step_by(8) {
            let mut blk = [[0.0f64; 8]; 8];
            for (y, row) in blk.iter_mut().enumerate() {
                for (x, v) in row.iter_mut().enumerate() {
                    *v = (p.v[(by + y) * p.w + bx + x] - 128) as f64;
                }
            }
            let coef = transform(&blk, b, false);
            let mut deq = [[0.0f64; 8]; 8];
            for u in 0..8 {
                for v in 0..8 {
                    let step = q[u * 8 + v];
                    // libjpeg rounds half away from zero, as f64::round does.
                    deq[u][v] = (coef[u][v] / step).round() * step;
                }
            }
            let out = transform(&deq, b, true);
            for (y, row) in out.iter().enumerate() {
                for (x, v) in row.iter().enumerate() {
                    p.v[(by + y) * p.w + bx + x] = (v.round() as i64 + 128).clamp(0, 255);
                }
            }
        }
    }
}

/// Separable 2-D DCT (forward) or its inverse, rows then columns.
fn transform(a: &[[f64; 8]; 8], b: &[[f64; 8]; 8], inverse: bool) -> [[f64; 8]; 8] {
    let apply = |src: &[f64; 8]| {
        let mut out = [0.0; 8];
        for (k, o) in out.iter_mut().enumerate() {
            *o = (0..8)
                .map(|n| {
                    if inverse {
                        b[n][k] * src[n]
                    } else {
                        b[k][n] * src[n]
                    }
                })
                .sum();
        }
        out
    };
    let rows: Vec<[f64; 8]> = a.iter().map(apply).collect();
    let mut out = [[0.0; 8]; 8];
    for x in 0..8 {
        let col = apply(&std::array::from_fn(|y| rows[y][x]));
        for y in 0..8 {
            out[y][x] = col[y];
        }
    }
    out
}

/// `jdsample.c`'s `h2v2_fancy_upsample` of a `cw`×`ch` chroma plane (its padding beyond
/// is ignored; edges replicated as libjpeg's context rows do) to `w`×`h`.
fn fancy_upsample(c: &Plane, cw: usize, ch: usize, w: usize, h: usize) -> Vec<i64> {
    let at = |y: usize, x: usize| c.v[y * c.w + x];
    let mut out = vec![0i64; w * h];
    for cy in 0..ch {
        for (v, oy) in [(0usize, 2 * cy), (1, 2 * cy + 1)] {
            if oy >= h {
                continue;
            }
            let near = cy;
            let far = if v == 0 {
                cy.saturating_sub(1)
            } else {
                (cy + 1).min(ch - 1)
            };
            let colsum = |x: usize| at(near, x) * 3 + at(far, x);
            for cx in 0..cw {
                let this = colsum(cx);
                let left = if cx == 0 {
                    (this * 4 + 8) >> 4
                } else {
                    (this * 3 + colsum(cx - 1) + 8) >> 4
                };
                let right = if cx + 1 == cw {
                    (this * 4 + 7) >> 4
                } else {
                    (this * 3 + colsum(cx + 1) + 7) >> 4
                };
                for (ox, val) in [(2 * cx, left), (2 * cx + 1, right)] {
                    if ox < w {
                        out[oy * w + ox] = val;
                    }
                }
            }
        }
    }
    out
}

pub fn jpeg(img: &RgbImage, s: Severity) -> RgbImage {
    let quality = s.at(&[25, 18, 15, 10, 7]);
    let (w, h) = (img.width as usize, img.height as usize);
    // libjpeg replicates the last column and row out to whole 16×16 MCUs.
    let (pw, ph) = (w.div_ceil(16) * 16, h.div_ceil(16) * 16);
    let mut planes: [Plane; 3] = std::array::from_fn(|_| Plane {
        w: pw,
        h: ph,
        v: vec![0; pw * ph],
    });
    for y in 0..ph {
        for x in 0..pw {
            let i = (y.min(h - 1) * w + x.min(w - 1)) * 3;
            let ycc = to_ycc(img.data[i], img.data[i + 1], img.data[i + 2]);
            for (p, v) in planes.iter_mut().zip(ycc) {
                p.v[y * pw + x] = v;
            }
        }
    }
    let [mut luma, cb, cr] = planes;
    // `jcsample.c`'s `h2v2_downsample`: bias 1, 2, 1, 2, … along each row.
    let down = |p: &Plane| {
        let (cw, chh) = (p.w / 2, p.h / 2);
        let mut v = vec![0i64; cw * chh];
        for y in 0..chh {
            for x in 0..cw {
                let bias = if x % 2 == 0 { 1 } else { 2 };
                let a = |yy: usize, xx: usize| p.v[yy * p.w + xx];
                v[y * cw + x] = (a(2 * y, 2 * x)
                    + a(2 * y, 2 * x + 1)
                    + a(2 * y + 1, 2 * x)
                    + a(2 * y + 1, 2 * x + 1)
                    + bias)
                    >> 2;
            }
        }
        Plane { w: cw, h: chh, v }
    };
    let (mut cb, mut cr) = (down(&cb), down(&cr));
    let b = basis();
    compress_plane(&mut luma, &table(&LUMA, quality), &b);
    let qc = table(&CHROMA, quality);
    compress_plane(&mut cb, &qc, &b);
    compress_plane(&mut cr, &qc, &b);
    let (cw, chh) = (w.div_ceil(2), h.div_ceil(2));
    let cb = fancy_upsample(&cb, cw, chh, w, h);
    let cr = fancy_upsample(&cr, cw, chh, w, h);
    let mut data = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            data.extend_from_slice(&to_rgb(luma.v[y * pw + x], cb[i], cr[i]));
        }
    }
    RgbImage {
        width: img.width,
        height: img.height,
        data,
    }
}
