//! A frame drawn with golden (green) and detected (red) boxes, as a self-contained SVG
//! with the image embedded as a PNG data URI.

use adasval_core::rgb::RgbImage;
use adasval_core::types::{Detection, GtObject};

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        s.push(T[(n >> 18) as usize & 63] as char);
        s.push(T[(n >> 12) as usize & 63] as char);
        s.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        s.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    s
}

pub fn png_data_uri(img: &RgbImage) -> Option<String> {
    let mut png = Vec::new();
    let buf = image::RgbImage::from_raw(img.width, img.height, img.data.clone())?;
    buf.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .ok()?;
    Some(format!("data:image/png;base64,{}", base64(&png)))
}

/// `highlight`: the golden object to emphasise (the missed one).
pub fn frame_with_boxes(
    img: &RgbImage,
    gt: &[GtObject],
    dets: &[Detection],
    classes: &[String],
    highlight: Option<&GtObject>,
) -> String {
    let Some(uri) = png_data_uri(img) else {
        return "<p>frame could not be encoded</p>".into();
    };
    let (w, h) = (img.width, img.height);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\"><image href=\"{uri}\" width=\"{w}\" height=\"{h}\"/>"
    );
    for g in gt {
        let hl = highlight.is_some_and(|x| x == g);
        s += &format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" stroke-dasharray=\"{}\"/>",
            g.bbox[0], g.bbox[1], g.bbox[2], g.bbox[3],
            if hl { "#ffd400" } else { "#2ea043" },
            if hl { 3 } else { 1 },
            if g.ignore { "3,2" } else { "none" }
        );
    }
    for d in dets {
        let name = classes
            .get(d.class_id as usize)
            .map(String::as_str)
            .unwrap_or("?");
        s += &format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#e5534b\" stroke-width=\"1.5\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#e5534b\">{} {:.2}</text>",
            d.bbox[0], d.bbox[1], d.bbox[2], d.bbox[3], d.bbox[0], (d.bbox[1] - 2.0).max(9.0), super::esc(name), d.score
        );
    }
    s + "</svg>"
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(i.as_bytes()), o);
        }
    }
}
