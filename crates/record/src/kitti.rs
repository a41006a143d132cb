//! KITTI object labels (`label_2` text) and KITTI-format detection results: the one reader of
//! the format. Scenarios import golden labels from it (`scenario::labels`, which maps them
//! onto adasval's objects) and `adasval eval --kitti` evaluates with it as the devkit does
//! (`judge::metrics::kitti`), so both read a line the same way.
//!
//! A line is `type truncated occluded alpha x1 y1 x2 y2 h w l x y z ry [score]`, fields
//! separated by white space; blank lines are skipped. Rules, decided here once: 15 fields for
//! a label, 16 for a detection (the score last); every number finite; `occluded` an integer
//! level, 0 (fully visible), 1 (partly occluded), 2 (largely occluded), 3 (unknown) or −1
//! (`DontCare`); the box corners kept as written, in f64, since the devkit's difficulty
//! filter and overlap test compare them against exact limits (a height of 25 px is not
//! Moderate, 25.01 is).

/// The class name of KITTI ignore regions.
pub const DONT_CARE: &str = "DontCare";

/// One line of a KITTI label or result file.
#[derive(Debug, Clone, PartialEq)]
pub struct KittiObject {
    /// 1-based line number in its file.
    pub line: usize,
    pub class: String,
    /// Fraction of the object leaving the image, 0..1 (−1 for `DontCare`).
    pub truncated: f64,
    /// Occlusion level: 0, 1, 2, 3 (unknown) or −1 (`DontCare`).
    pub occluded: i8,
    pub alpha: f64,
    /// `[x1, y1, x2, y2]` in pixels, as written.
    pub bbox: [f64; 4],
    /// The detection's confidence (16th field); `None` for a label.
    pub score: Option<f64>,
}

impl KittiObject {
    /// The box height the devkit's difficulty filter compares (`y2 − y1`).
    pub fn height(&self) -> f64 {
        self.bbox[3] - self.bbox[1]
    }

    /// The occlusion level as a known fraction of the object hidden, or `None` where the
    /// level says "unknown" (3) or the line is an ignore region (−1). Levels 0, 1 and 2 are
    /// coarse (fully visible, partly, largely occluded): 0, 1/3 and 2/3.
    pub fn occlusion_fraction(&self) -> Option<f32> {
        match self.occluded {
            0..=2 => Some(f32::from(self.occluded) / 3.0),
            _ => None,
        }
    }
}

/// Why a KITTI file was rejected: the file, the line and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{file}: line {line}: {message}")]
pub struct KittiError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl adasval_core::exit::Classify for KittiError {
    fn status(&self) -> adasval_core::exit::Status {
        adasval_core::exit::Status::BadInput
    }
}

const NAMES: [&str; 16] = [
    "type",
    "truncated",
    "occluded",
    "alpha",
    "x1",
    "y1",
    "x2",
    "y2",
    "h",
    "w",
    "l",
    "x",
    "y",
    "z",
    "ry",
    "score",
];

/// Parses one KITTI label or result file; `file` is the name shown in errors.
pub fn parse(file: &str, text: &str) -> Result<Vec<KittiObject>, KittiError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        let bad = |message: String| KittiError {
            file: file.to_string(),
            line: n + 1,
            message,
        };
        if f.len() != 15 && f.len() != 16 {
            return Err(bad(format!(
                "expected 15 fields (a label) or 16 (a detection with its score), found {}",
                f.len()
            )));
        }
        let num = |i: usize| -> Result<f64, KittiError> {
            f[i].parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    bad(format!(
                        "field {} ({}) is not a finite number: `{}`",
                        i + 1,
                        NAMES[i],
                        f[i]
                    ))
                })
        };
        let occ = num(2)?;
        if occ.fract() != 0.0 || !(-1.0..=3.0).contains(&occ) {
            return Err(bad(format!(
                "field 3 (occluded) must be 0 (fully visible), 1 (partly occluded), 2 (largely \
                 occluded), 3 (unknown) or -1 (DontCare), found `{}`",
                f[2]
            )));
        }
        // Only these five of the 3-D fields matter for a 2-D evaluation, but a line whose
        // other numbers are garbage is not a KITTI line.
        for i in 8..15 {
            num(i)?;
        }
        out.push(KittiObject {
            line: n + 1,
            class: f[0].to_string(),
            truncated: num(1)?,
            occluded: occ as i8,
            alpha: num(3)?,
            bbox: [num(4)?, num(5)?, num(6)?, num(7)?],
            score: if f.len() == 16 { Some(num(15)?) } else { None },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_and_detection_lines() {
        let t = "Pedestrian 0.00 3 -0.20 712.40 143.00 810.73 307.92 1.89 0.48 1.20 1.84 1.47 8.41 0.01\n\
                 \n\
                 DontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 -1000 -1000 -1000 -10\n\
                 Car -1 -1 -10 1 2 3 4 -1 -1 -1 -1000 -1000 -1000 -10 0.75\n";
        let o = parse("x.txt", t).unwrap();
        assert_eq!(o.len(), 3);
        assert_eq!((o[0].occluded, o[0].occlusion_fraction()), (3, None));
        assert_eq!(o[0].bbox, [712.40, 143.00, 810.73, 307.92]);
        assert_eq!((o[1].line, o[1].class.as_str()), (3, DONT_CARE));
        assert_eq!(o[2].score, Some(0.75));
        assert_eq!(o[0].score, None);
    }

    #[test]
    fn errors_name_the_line_and_field() {
        let e = parse("x.txt", "Car 0 0 0 a 1 2 3 1 1 1 1 1 1 1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.txt: line 1: field 5 (x1) is not a finite number: `a`"
        );
        let e = parse("x.txt", "\nCar 0 1.5 0 0 1 2 3 1 1 1 1 1 1 1\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("x.txt: line 2: field 3 (occluded)"),
            "{e}"
        );
        let e = parse("x.txt", "Car 0 0 0 0 1 2 3\n").unwrap_err();
        assert!(e.to_string().contains("found 8"), "{e}");
        let e = parse("x.txt", "Car 0 0 0 0 1 2 3 1 1 1 1 1 1 1 NaN\n").unwrap_err();
        assert!(e.to_string().contains("field 16 (score)"), "{e}");
    }
}
