//! Digital corruptions: contrast (pulled towards each channel's mean) and pixelate (Pillow's
//! box downscale, then nearest-neighbour back up).

use crate::image::Planes;
use crate::resample;
use crate::{RgbImage, Severity};

pub fn contrast(img: &RgbImage, s: Severity) -> RgbImage {
    let c = s.at(&[0.4, 0.3, 0.2, 0.1, 0.05]);
    let mut p = Planes::unit(img);
    let n = (p.w * p.h) as f64;
    let mut means = [0.0; 3];
    for px in p.v.chunks_exact(3) {
        for (m, x) in means.iter_mut().zip(px) {
            *m += x;
        }
    }
    means.iter_mut().for_each(|m| *m /= n);
    for px in p.v.chunks_exact_mut(3) {
        for (x, m) in px.iter_mut().zip(means) {
            *x = (*x - m) * c + m;
        }
    }
    p.to_bytes()
}

pub fn pixelate(img: &RgbImage, s: Severity) -> RgbImage {
    let c = s.at(&[0.6, 0.5, 0.4, 0.3, 0.25]);
    // Python's int() of the product truncates.
    let sw = ((f64::from(img.width) * c) as u32).max(1);
    let sh = ((f64::from(img.height) * c) as u32).max(1);
    let small = resample::box_resize(img, sw, sh);
    resample::nearest_resize(&small, img.width, img.height)
}
