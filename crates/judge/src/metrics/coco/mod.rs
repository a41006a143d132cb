//! COCO-style evaluation: the standalone `adasval eval` path (COCO instances + COCO results
//! files) and the AP summary of the validation pipeline both run [`eval::evaluate`].

pub mod eval;
pub mod json;

use crate::metrics::error::MetricsError;
pub use eval::{evaluate, EvalDt, EvalGt, EvalInput, EvalResult, STAT_KEYS};
pub use json::{parse_ground_truth, parse_results, CocoDetections, CocoGroundTruth};
use serde::Serialize;
use std::path::Path;

/// AP of one category in the `adasval eval` report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryReport {
    pub category_id: i64,
    pub name: String,
    #[serde(rename = "AP")]
    #[serde(serialize_with = "undefined_as_null")]
    pub ap: f64,
    #[serde(rename = "AP50")]
    #[serde(serialize_with = "undefined_as_null")]
    pub ap50: f64,
}

/// pycocotools' −1 for "undefined" never reaches a user: JSON says `null` (and why, in
/// `null_means`), text says `n/a`.
fn undefined_as_null<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if *v < 0.0 {
        s.serialize_none()
    } else {
        s.serialize_f64(*v)
    }
}

/// What a `null` number of the JSON report means.
pub const UNDEFINED_MEANS: &str = "undefined: no ground-truth object in that class or area range, or no detections at all (pycocotools prints -1)";

/// A number as the text report prints it: three decimals, or `n/a` where undefined.
pub fn fmt_stat(v: f64) -> String {
    if v < 0.0 {
        "n/a".to_string()
    } else {
        format!("{v:0.3}")
    }
}

/// The `adasval eval` result: the 12 COCO numbers (negative internally where undefined, as
/// pycocotools keeps them; never shown so) and per-class AP.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CocoReport {
    #[serde(rename = "AP")]
    #[serde(serialize_with = "undefined_as_null")]
    pub ap: f64,
    #[serde(rename = "AP50")]
    #[serde(serialize_with = "undefined_as_null")]
    pub ap50: f64,
    #[serde(rename = "AP75")]
    #[serde(serialize_with = "undefined_as_null")]
    pub ap75: f64,
    #[serde(rename = "APs")]
    #[serde(serialize_with = "undefined_as_null")]
    pub ap_small: f64,
    #[serde(rename = "APm")]
    #[serde(serialize_with = "undefined_as_null")]
    pub ap_medium: f64,
    #[serde(rename = "APl")]
    #[serde(serialize_with = "undefined_as_null")]
    pub ap_large: f64,
    #[serde(rename = "AR1")]
    #[serde(serialize_with = "undefined_as_null")]
    pub ar1: f64,
    #[serde(rename = "AR10")]
    #[serde(serialize_with = "undefined_as_null")]
    pub ar10: f64,
    #[serde(rename = "AR100")]
    #[serde(serialize_with = "undefined_as_null")]
    pub ar100: f64,
    #[serde(rename = "ARs")]
    #[serde(serialize_with = "undefined_as_null")]
    pub ar_small: f64,
    #[serde(rename = "ARm")]
    #[serde(serialize_with = "undefined_as_null")]
    pub ar_medium: f64,
    #[serde(rename = "ARl")]
    #[serde(serialize_with = "undefined_as_null")]
    pub ar_large: f64,
    pub per_class: Vec<CategoryReport>,
    /// Problems that did not stop the evaluation (unknown categories, ...).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl CocoReport {
    fn new(result: &EvalResult, gt: &CocoGroundTruth, warnings: Vec<String>) -> Self {
        let s = result.stats;
        CocoReport {
            ap: s[0],
            ap50: s[1],
            ap75: s[2],
            ap_small: s[3],
            ap_medium: s[4],
            ap_large: s[5],
            ar1: s[6],
            ar10: s[7],
            ar100: s[8],
            ar_small: s[9],
            ar_medium: s[10],
            ar_large: s[11],
            per_class: gt
                .categories
                .iter()
                .zip(&result.per_class)
                .map(|((id, name), c)| CategoryReport {
                    category_id: *id,
                    name: name.clone(),
                    ap: c.ap,
                    ap50: c.ap50,
                })
                .collect(),
            warnings,
        }
    }

    /// The 12 numbers in pycocotools' order.
    pub fn stats(&self) -> [f64; 12] {
        [
            self.ap,
            self.ap50,
            self.ap75,
            self.ap_small,
            self.ap_medium,
            self.ap_large,
            self.ar1,
            self.ar10,
            self.ar100,
            self.ar_small,
            self.ar_medium,
            self.ar_large,
        ]
    }

    /// The summary as pycocotools' `summarize()` prints it.
    pub fn summary_text(&self) -> String {
        let lines: [(bool, &str, &str, usize); 12] = [
            (true, "0.50:0.95", "all", 100),
            (true, "0.50", "all", 100),
            (true, "0.75", "all", 100),
            (true, "0.50:0.95", "small", 100),
            (true, "0.50:0.95", "medium", 100),
            (true, "0.50:0.95", "large", 100),
            (false, "0.50:0.95", "all", 1),
            (false, "0.50:0.95", "all", 10),
            (false, "0.50:0.95", "all", 100),
            (false, "0.50:0.95", "small", 100),
            (false, "0.50:0.95", "medium", 100),
            (false, "0.50:0.95", "large", 100),
        ];
        let mut out = String::new();
        for ((ap, iou, area, max_dets), v) in lines.iter().zip(self.stats()) {
            let (title, kind) = if *ap {
                ("Average Precision", "(AP)")
            } else {
                ("Average Recall", "(AR)")
            };
            out.push_str(&format!(
                " {title:<18} {kind} @[ IoU={iou:<9} | area={area:>6} | maxDets={max_dets:>3} ] = {}\n",
                fmt_stat(v)
            ));
        }
        if self.stats().iter().any(|v| *v < 0.0) {
            out.push_str(&format!(" n/a: {UNDEFINED_MEANS}\n"));
        }
        out
    }
}

/// Evaluates already-read file contents (`gt_name` / `dt_name` are used in messages).
pub fn evaluate_texts(
    gt_text: &str,
    gt_name: &str,
    dt_text: &str,
    dt_name: &str,
) -> Result<CocoReport, MetricsError> {
    let mut gt = parse_ground_truth(gt_text, gt_name)?;
    let dt = parse_results(dt_text, dt_name, &gt)?;
    let mut warnings = gt.warnings.clone();
    warnings.extend(dt.warnings.iter().cloned());
    let result = if dt.total == 0 {
        // No results at all: every number is undefined (pycocotools cannot load an empty list).
        EvalResult::undefined(gt.categories.len())
    } else {
        evaluate(&EvalInput {
            num_images: gt.image_ids.len(),
            num_categories: gt.categories.len(),
            gts: std::mem::take(&mut gt.gts),
            dts: dt.dts,
        })
    };
    Ok(CocoReport::new(&result, &gt, warnings))
}

/// Reads and evaluates a COCO instances file and a COCO results file.
pub fn evaluate_files(gt_path: &Path, dt_path: &Path) -> Result<CocoReport, MetricsError> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|source| MetricsError::Io {
            path: p.to_path_buf(),
            source,
        })
    };
    let gt_text = read(gt_path)?;
    let dt_text = read(dt_path)?;
    evaluate_texts(
        &gt_text,
        &gt_path.display().to_string(),
        &dt_text,
        &dt_path.display().to_string(),
    )
}
