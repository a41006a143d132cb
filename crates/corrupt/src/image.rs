//! Frames as floating-point planes and back: the reference works on `x / 255` in float and
//! ends with `np.uint8(clip(y, 0, 1) * 255)`, which truncates; `to_bytes` does the same.

use adasval_core::rgb::RgbImage;

/// Interleaved H×W×3 values.
pub struct Planes {
    pub w: usize,
    pub h: usize,
    pub v: Vec<f64>,
}

impl Planes {
    /// Values scaled to [0, 1].
    pub fn unit(img: &RgbImage) -> Planes {
        Planes {
            w: img.width as usize,
            h: img.height as usize,
            v: img.data.iter().map(|&b| f64::from(b) / 255.0).collect(),
        }
    }
    /// `np.uint8(np.clip(v, 0, 1) * 255)`.
    pub fn to_bytes(&self) -> RgbImage {
        RgbImage {
            width: self.w as u32,
            height: self.h as u32,
            data: self.v.iter().map(|&x| unit_to_byte(x)).collect(),
        }
    }
}

pub fn unit_to_byte(x: f64) -> u8 {
    // `as` truncates toward zero and maps NaN to 0, like the reference's cast.
    (x.clamp(0.0, 1.0) * 255.0) as u8
}

/// Mirror an index into `0..n` without repeating the edge (OpenCV's BORDER_REFLECT_101,
/// the default border of `filter2D` and `GaussianBlur`).
pub fn reflect101(i: isize, n: usize) -> usize {
    let n = n as isize;
    if n == 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let mut j = i.rem_euclid(period);
    if j >= n {
        j = period - j;
    }
    j as usize
}
