//! Noise: gaussian, shot (Poisson) and impulse (salt and pepper), each element of each
//! channel drawn independently as in the reference.

use crate::image::Planes;
use crate::{RgbImage, Severity, Stream};

/// `clip(x + N(0, c²))`, c = the reference's standard deviations.
pub fn gaussian(img: &RgbImage, s: Severity, rng: &mut Stream) -> RgbImage {
    let c = s.at(&[0.08, 0.12, 0.18, 0.26, 0.38]);
    let mut p = Planes::unit(img);
    for pair in p.v.chunks_mut(2) {
        let (a, b) = rng.normal_pair();
        for (x, n) in pair.iter_mut().zip([a, b]) {
            *x += c * n;
        }
    }
    p.to_bytes()
}

/// `clip(Poisson(x c) / c)`, c = photons per unit of intensity.
pub fn shot(img: &RgbImage, s: Severity, rng: &mut Stream) -> RgbImage {
    let c = s.at(&[60.0, 25.0, 12.0, 5.0, 3.0]);
    let mut p = Planes::unit(img);
    for x in &mut p.v {
        *x = f64::from(rng.poisson(*x * c)) / c;
    }
    p.to_bytes()
}

/// scikit-image's `random_noise(mode='s&p', amount=c)`: each element is replaced with
/// probability c, by 1 or 0 with equal odds.
pub fn impulse(img: &RgbImage, s: Severity, rng: &mut Stream) -> RgbImage {
    let c = s.at(&[0.03, 0.06, 0.09, 0.17, 0.27]);
    let mut p = Planes::unit(img);
    for x in &mut p.v {
        let flipped = rng.unit() < c;
        let salt = rng.unit() < 0.5;
        if flipped {
            *x = if salt { 1.0 } else { 0.0 };
        }
    }
    p.to_bytes()
}
