//! Decoded camera frames: what scenarios load, preprocessing consumes and reports draw.

/// An 8-bit RGB image, row-major.
#[derive(Debug, Clone)]
pub struct RgbImage {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}
