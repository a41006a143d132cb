//! COCO files into the evaluator's input, with pycocotools' conventions: images and
//! categories sorted by id, ground-truth `ignore` taken from `iscrowd`, detection area
//! `w*h`, annotations outside the image or category lists left out (with a warning),
//! detections of unknown categories dropped (with a warning), detections on unknown images
//! rejected. The files themselves are read by the one COCO reader,
//! [`adasval_record::coco`].

use super::eval::{EvalDt, EvalGt};
use crate::metrics::error::MetricsError;
use adasval_record::coco::{read_instances, read_results};
use std::collections::{BTreeMap, HashMap};

/// A parsed ground-truth file.
#[derive(Debug, Clone)]
pub struct CocoGroundTruth {
    /// Image ids, sorted and unique.
    pub image_ids: Vec<i64>,
    /// Category ids (sorted, unique) and names.
    pub categories: Vec<(i64, String)>,
    pub gts: Vec<EvalGt>,
    pub warnings: Vec<String>,
    image_index: HashMap<i64, usize>,
    category_index: HashMap<i64, usize>,
}

/// The detections of a results file that take part in the evaluation.
#[derive(Debug, Clone)]
pub struct CocoDetections {
    /// Number of entries in the file.
    pub total: usize,
    pub dts: Vec<EvalDt>,
    pub warnings: Vec<String>,
}

/// Parses a COCO instances file (`images`, `annotations`, `categories`).
pub fn parse_ground_truth(text: &str, file: &str) -> Result<CocoGroundTruth, MetricsError> {
    let coco = read_instances(text, file)?;
    let mut image_ids: Vec<i64> = coco.images.iter().map(|i| i.id).collect();
    image_ids.sort_unstable();
    image_ids.dedup();
    // Like pycocotools' index, a repeated category id keeps the last name.
    let cats: BTreeMap<i64, String> = coco.categories.into_iter().collect();
    let categories: Vec<(i64, String)> = cats.into_iter().collect();
    let image_index: HashMap<i64, usize> = image_ids
        .iter()
        .enumerate()
        .map(|(i, &id)| (id, i))
        .collect();
    let category_index: HashMap<i64, usize> = categories
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();

    let mut gts = Vec::with_capacity(coco.annotations.len());
    let (mut off_image, mut off_category) = (0usize, 0usize);
    for a in &coco.annotations {
        let (Some(&image), Some(&category)) = (
            image_index.get(&a.image_id),
            category_index.get(&a.category_id),
        ) else {
            // pycocotools selects annotations through the image and category lists.
            if !image_index.contains_key(&a.image_id) {
                off_image += 1;
            } else {
                off_category += 1;
            }
            continue;
        };
        gts.push(EvalGt {
            image,
            category,
            bbox: a.bbox,
            area: a.area,
            ignore: a.iscrowd,
            crowd: a.iscrowd,
            reusable: a.iscrowd,
            match_counts: a.id != 0,
        });
    }
    let mut warnings = Vec::new();
    if off_image > 0 {
        warnings.push(format!(
            "{file}: {off_image} annotation(s) refer to an image_id missing from `images` and were ignored"
        ));
    }
    if off_category > 0 {
        warnings.push(format!(
            "{file}: {off_category} annotation(s) refer to a category_id missing from `categories` and were ignored"
        ));
    }
    Ok(CocoGroundTruth {
        image_ids,
        categories,
        gts,
        warnings,
        image_index,
        category_index,
    })
}

/// Parses a COCO results file (a list of {image_id, category_id, bbox, score}).
pub fn parse_results(
    text: &str,
    file: &str,
    gt: &CocoGroundTruth,
) -> Result<CocoDetections, MetricsError> {
    let results = read_results(text, file)?;
    let mut dts = Vec::with_capacity(results.len());
    let mut unknown: BTreeMap<i64, usize> = BTreeMap::new();
    for d in &results {
        let Some(&image) = gt.image_index.get(&d.image_id) else {
            return Err(MetricsError::UnknownImage {
                file: file.to_string(),
                item: format!("results[{}] (image_id {})", d.index, d.image_id),
                image_id: d.image_id,
            });
        };
        let Some(&category) = gt.category_index.get(&d.category_id) else {
            *unknown.entry(d.category_id).or_default() += 1;
            continue;
        };
        dts.push(EvalDt {
            image,
            category,
            bbox: d.bbox,
            score: d.score,
        });
    }
    let mut warnings = Vec::new();
    if !unknown.is_empty() {
        let n: usize = unknown.values().sum();
        let ids: Vec<String> = unknown.keys().take(10).map(|k| k.to_string()).collect();
        warnings.push(format!(
            "{file}: {n} detection(s) with a category_id not in the ground truth were ignored (category_id {}{})",
            ids.join(", "),
            if unknown.len() > 10 { ", …" } else { "" }
        ));
    }
    Ok(CocoDetections {
        total: results.len(),
        dts,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GT: &str = r#"{"images":[{"id":1},{"id":2}],
        "categories":[{"id":3,"name":"person"}],
        "annotations":[{"id":1,"image_id":1,"category_id":3,"bbox":[0,0,10,10],"area":100,"iscrowd":0}]}"#;

    fn gt() -> CocoGroundTruth {
        parse_ground_truth(GT, "gt.json").unwrap()
    }

    fn dt_err(text: &str) -> String {
        parse_results(text, "dt.json", &gt())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn nan_score_names_item_and_field() {
        let e = dt_err(
            r#"[{"image_id":1,"category_id":3,"bbox":[0,0,1,1],"score":0.5},{"image_id":2,"category_id":3,"bbox":[0,0,1,1],"score":NaN}]"#,
        );
        assert!(
            e.contains("results[1] (image_id 2)") && e.contains("`score`"),
            "{e}"
        );
    }

    #[test]
    fn infinite_coordinate_is_rejected() {
        let e = dt_err(r#"[{"image_id":1,"category_id":3,"bbox":[0,-Infinity,1,1],"score":0.5}]"#);
        assert!(e.contains("results[0]") && e.contains("`bbox`"), "{e}");
    }

    #[test]
    fn zero_width_is_rejected() {
        let e = dt_err(r#"[{"image_id":1,"category_id":3,"bbox":[0,0,0,1],"score":0.5}]"#);
        assert!(e.contains("non-positive"), "{e}");
    }

    #[test]
    fn missing_score_is_named() {
        let e = dt_err(r#"[{"image_id":1,"category_id":3,"bbox":[0,0,2,1]}]"#);
        assert!(e.contains("`score` is missing"), "{e}");
    }

    #[test]
    fn unknown_image_is_an_error() {
        let e = dt_err(r#"[{"image_id":9,"category_id":3,"bbox":[0,0,2,1],"score":1}]"#);
        assert!(e.contains("image_id 9"), "{e}");
    }

    #[test]
    fn unknown_category_is_dropped_with_warning() {
        let d = parse_results(
            r#"[{"image_id":1,"category_id":4,"bbox":[0,0,2,1],"score":1}]"#,
            "dt.json",
            &gt(),
        )
        .unwrap();
        assert!(d.dts.is_empty());
        assert_eq!(d.warnings.len(), 1);
    }

    #[test]
    fn duplicate_annotation_id_is_rejected() {
        let text = GT.replace(
            r#""iscrowd":0}]"#,
            r#""iscrowd":0},{"id":1,"image_id":2,"category_id":3,"bbox":[0,0,1,1],"area":1}]"#,
        );
        let e = parse_ground_truth(&text, "gt.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("annotations[1] (id 1)"), "{e}");
    }
}
