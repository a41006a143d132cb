//! Colour-only post-effects: light halos, fog, rain, motion blur, optics, exposure,
//! vignetting and sensor noise. None of them touches the instance mask, so labels
//! stay exact whatever the weather.

use super::raster::Canvas;
use super::rng::{hash2, Rng};
use super::scene::Scene;
use super::{Lighting, Weather};

/// Apply all effects and quantise to RGB8.
pub fn apply(sc: &Scene, cv: &mut Canvas, rng: &mut Rng) -> Vec<u8> {
    glows(cv);
    fog(sc, cv);
    if sc.fx.rain > 0.0 {
        rain(sc, cv, rng);
    }
    if sc.fx.motion_blur > 1 {
        motion_blur(cv, sc.fx.motion_blur as usize);
    }
    if sc.fx.soften > 0.0 {
        soften(cv, sc.fx.soften);
    }
    finish(sc, cv, rng)
}

fn glows(cv: &mut Canvas) {
    let glows = std::mem::take(&mut cv.glows);
    let (w, h) = (cv.w as i32, cv.h as i32);
    for g in &glows {
        let (cx, cy) = (g.x.floor() as i32, g.y.floor() as i32);
        if cx >= 0
            && cy >= 0
            && cx < w
            && cy < h
            && cv.depth[(cy * w + cx) as usize] < g.depth * 0.97
        {
            continue;
        }
        let r = g.radius.min(cv.h as f32 * 0.5);
        let x0 = ((g.x - r).floor() as i32).max(0);
        let x1 = ((g.x + r).ceil() as i32).min(w - 1);
        let y0 = ((g.y - r).floor() as i32).max(0);
        let y1 = ((g.y + r).ceil() as i32).min(h - 1);
        let inv = 1.0 / (r * r);
        for y in y0..=y1 {
            for x in x0..=x1 {
                let dx = x as f32 + 0.5 - g.x;
                let dy = y as f32 + 0.5 - g.y;
                let d2 = (dx * dx + dy * dy) * inv;
                if d2 >= 1.0 {
                    continue;
                }
                let a = (1.0 - d2) * (1.0 - d2) * 0.8;
                let i = (y * w + x) as usize * 3;
                for k in 0..3 {
                    cv.rgb[i + k] += g.colour[k] * a;
                }
            }
        }
    }
    cv.glows = glows;
}

fn fog(sc: &Scene, cv: &mut Canvas) {
    let vis = sc.fx.fog_visibility;
    if vis <= 0.0 {
        return;
    }
    let fog_c = match sc.lighting {
        Lighting::Day => [0.72, 0.74, 0.76],
        Lighting::Dusk => [0.55, 0.5, 0.5],
        Lighting::Night => [0.07, 0.07, 0.08],
    };
    let k = 3.0 / vis;
    let (w, h) = (cv.w, cv.h);
    let cx = sc.cam.cx;
    for y in 0..h {
        // At night the headlight beams scatter in the fog low in the image.
        let glow_row = if sc.lighting == Lighting::Night {
            ((y as f32 - sc.cam.horizon) / (h as f32 - sc.cam.horizon).max(1.0)).clamp(0.0, 1.0)
                * 0.25
        } else {
            0.0
        };
        for x in 0..w {
            let i = y * w + x;
            let d = cv.depth[i];
            let a = if d.is_finite() {
                1.0 - libm::expf(-k * d)
            } else {
                1.0
            };
            let mut fc = fog_c;
            if glow_row > 0.0 {
                let dx = (x as f32 + 0.5 - cx) / w as f32;
                let g = glow_row * libm::expf(-dx * dx * 12.0);
                fc = [fc[0] + g, fc[1] + g * 0.97, fc[2] + g * 0.9];
            }
            for (c, f) in fc.iter().enumerate() {
                let v = &mut cv.rgb[i * 3 + c];
                *v += (f - *v) * a;
            }
        }
    }
}

fn rain(sc: &Scene, cv: &mut Canvas, rng: &mut Rng) {
    let (w, h) = (cv.w as i32, cv.h as i32);
    // Rain lowers contrast overall.
    let grey = if sc.lighting == Lighting::Night {
        0.05
    } else {
        0.5
    };
    for v in cv.rgb.iter_mut() {
        *v += (grey - *v) * 0.12 * sc.fx.rain;
    }
    let n = (sc.fx.rain * (w * h) as f32 / 300.0) as u32;
    let scale_h = h as f32 / 288.0;
    let bright = if sc.lighting == Lighting::Night {
        0.25
    } else {
        0.8
    };
    for _ in 0..n {
        let x0 = rng.range(-20.0, w as f32 + 20.0);
        let y0 = rng.range(-10.0, h as f32);
        let len = rng.range(6.0, 18.0) * scale_h;
        let alpha = rng.range(0.08, 0.22);
        let steps = len as i32;
        for s in 0..steps {
            let y = (y0 + s as f32) as i32;
            let x = (x0 + sc.fx.wind * s as f32) as i32;
            if x < 0 || y < 0 || x >= w || y >= h {
                continue;
            }
            let i = (y * w + x) as usize * 3;
            for k in 0..3 {
                let v = &mut cv.rgb[i + k];
                *v += (bright - *v) * alpha;
            }
        }
    }
}

fn motion_blur(cv: &mut Canvas, len: usize) {
    let (w, h) = (cv.w, cv.h);
    let half = (len / 2) as i32;
    let mut row = vec![0.0f32; w * 3];
    for y in 0..h {
        let base = y * w * 3;
        row.copy_from_slice(&cv.rgb[base..base + w * 3]);
        for c in 0..3 {
            let mut sum = 0.0f32;
            let at = |x: i32| row[(x.clamp(0, w as i32 - 1) as usize) * 3 + c];
            for x in -half..=half {
                sum += at(x);
            }
            let n = (2 * half + 1) as f32;
            for x in 0..w as i32 {
                cv.rgb[base + x as usize * 3 + c] = sum / n;
                sum += at(x + half + 1) - at(x - half);
            }
        }
    }
}

fn soften(cv: &mut Canvas, amount: f32) {
    let (w, h) = (cv.w, cv.h);
    let a = amount.clamp(0.0, 1.0) * 0.25;
    let src = cv.rgb.clone();
    for y in 0..h {
        for x in 0..w {
            let i = (y * w + x) * 3;
            let l = (y * w + x.saturating_sub(1)) * 3;
            let r = (y * w + (x + 1).min(w - 1)) * 3;
            let u = (y.saturating_sub(1) * w + x) * 3;
            let d = ((y + 1).min(h - 1) * w + x) * 3;
            for k in 0..3 {
                let c = src[i + k];
                cv.rgb[i + k] =
                    c + a * (src[l + k] + src[r + k] + src[u + k] + src[d + k] - 4.0 * c);
            }
        }
    }
}

fn finish(sc: &Scene, cv: &mut Canvas, rng: &mut Rng) -> Vec<u8> {
    let (w, h) = (cv.w, cv.h);
    let fx = &sc.fx;
    let salt = rng.next_u64() as u32;
    let night = sc.lighting == Lighting::Night;
    let sigma = fx.noise * 2.45;
    let chroma = if night { 0.5 } else { 0.25 };
    let cxn = w as f32 * 0.5;
    let cyn = h as f32 * 0.5;
    let inv_r2 = 1.0 / (cxn * cxn + cyn * cyn);
    let rainy = sc.weather == Weather::Rain;
    let mut out = vec![0u8; w * h * 3];
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let dx = x as f32 + 0.5 - cxn;
            let dy = y as f32 + 0.5 - cyn;
            let vig = 1.0 - fx.vignette * (dx * dx + dy * dy) * inv_r2;
            let xi = x as i32;
            let yi = y as i32;
            // One 32-bit hash gives two bytes of luma noise (triangular) and the
            // second hash three bytes of chroma noise: cheap and order-free.
            let h1 = hash2(xi, yi, salt);
            let h2 = hash2(xi, yi, salt ^ 0xAA55);
            let luma = (((h1 & 0xFFFF) as f32 + (h1 >> 16) as f32) * (1.0 / 65535.0) - 1.0) * sigma;
            for k in 0..3 {
                let byte = (h2 >> (8 * k)) & 0xFF;
                let ck = (byte as f32 * (1.0 / 255.0) - 0.5) * sigma * chroma;
                let mut v = cv.rgb[i * 3 + k] * fx.exposure * fx.tint[k] * vig;
                // Soft shoulder instead of hard clipping of bright lights.
                if v > 0.8 {
                    v = 0.8 + (v - 0.8) / (1.0 + (v - 0.8) * 2.5);
                }
                v += luma + ck;
                if rainy {
                    v *= 0.97;
                }
                out[i * 3 + k] = (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
            }
        }
    }
    out
}
