//! Reading COCO instances (ground truth) and COCO results (detections) files into the
//! evaluator's input, with pycocotools' conventions: images and categories sorted by id,
//! ground-truth `ignore` taken from `iscrowd`, detection area `w*h`, detections of unknown
//! categories dropped (with a warning), detections on unknown images rejected.
//!
//! Every rejected value is reported with its file, item (index and id) and field.

use super::eval::{EvalDt, EvalGt};
use crate::metrics::error::MetricsError;
use serde::Deserialize;
use serde_json::Value;
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

#[derive(Deserialize)]
struct RawGtFile {
    images: Option<Vec<Value>>,
    annotations: Option<Vec<Value>>,
    categories: Option<Vec<Value>>,
}

/// Result entries are read with every field optional so that each problem can be named.
#[derive(Deserialize)]
struct RawDt {
    image_id: Option<Value>,
    category_id: Option<Value>,
    bbox: Option<Value>,
    score: Option<Value>,
}

struct Ctx<'a> {
    file: &'a str,
    item: String,
}

impl Ctx<'_> {
    fn err(&self, field: &'static str, problem: impl Into<String>) -> MetricsError {
        MetricsError::Field {
            file: self.file.to_string(),
            item: self.item.clone(),
            field,
            problem: problem.into(),
        }
    }

    fn id(&self, v: Option<&Value>, field: &'static str) -> Result<i64, MetricsError> {
        let v = v.ok_or_else(|| self.err(field, "is missing"))?;
        value_as_id(v).ok_or_else(|| self.err(field, format!("must be an integer, got {v}")))
    }

    fn number(&self, v: Option<&Value>, field: &'static str) -> Result<f64, MetricsError> {
        let v = v.ok_or_else(|| self.err(field, "is missing"))?;
        self.finite(v, field)
    }

    fn finite(&self, v: &Value, field: &'static str) -> Result<f64, MetricsError> {
        match v {
            Value::Number(n) => match n.as_f64() {
                Some(x) if x.is_finite() => Ok(x),
                _ => Err(self.err(field, format!("is not a finite number ({n})"))),
            },
            Value::String(s) if is_non_finite_token(s) => {
                Err(self.err(field, format!("is not a finite number ({s})")))
            }
            other => Err(self.err(field, format!("must be a number, got {other}"))),
        }
    }

    fn bbox(&self, v: Option<&Value>) -> Result<[f64; 4], MetricsError> {
        let v = v.ok_or_else(|| self.err("bbox", "is missing"))?;
        let arr = match v {
            Value::Array(a) if a.len() == 4 => a,
            _ => {
                return Err(self.err(
                    "bbox",
                    format!("must be [x, y, width, height], got {}", short(v)),
                ))
            }
        };
        let mut b = [0.0; 4];
        for (slot, x) in b.iter_mut().zip(arr) {
            *slot = self.finite(x, "bbox")?;
        }
        if b[2] <= 0.0 || b[3] <= 0.0 {
            return Err(self.err(
                "bbox",
                format!("has a non-positive size (width {}, height {})", b[2], b[3]),
            ));
        }
        Ok(b)
    }
}

fn value_as_id(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            // Python compares 3.0 == 3, so an integral float names the same id.
            let x = n.as_f64()?;
            (x.fract() == 0.0 && x.abs() < 9.0e15).then_some(x as i64)
        }),
        _ => None,
    }
}

fn is_non_finite_token(s: &str) -> bool {
    matches!(s, "NaN" | "Infinity" | "-Infinity")
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(57).map(|c| c.0).unwrap_or(s.len())]
        )
    } else {
        s
    }
}

fn json_error(file: &str, e: &serde_json::Error) -> MetricsError {
    MetricsError::Json {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    }
}

/// Replaces the bare `NaN`, `Infinity` and `-Infinity` tokens that Python's `json` writes
/// (invalid JSON) by strings, so the offending item can be located and named.
fn quote_non_finite_tokens(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    let (mut i, mut last, mut in_str, mut found) = (0, 0, false, false);
    while i < b.len() {
        let c = b[i];
        if in_str {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        if c == b'"' {
            in_str = true;
            i += 1;
            continue;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| b[i..].starts_with(t.as_bytes()));
        if let Some(t) = token {
            out.push_str(&text[last..i]);
            out.push('"');
            out.push_str(t);
            out.push('"');
            i += t.len();
            last = i;
            found = true;
            continue;
        }
        i += 1;
    }
    if !found {
        return None;
    }
    out.push_str(&text[last.min(text.len())..]);
    Some(out)
}

/// Parses JSON, reading Python's non-finite tokens as strings when plain parsing fails.
fn parse_value(text: &str, file: &str) -> Result<Value, MetricsError> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v),
        Err(e) => match quote_non_finite_tokens(text) {
            Some(fixed) => serde_json::from_str(&fixed).map_err(|_| json_error(file, &e)),
            None => Err(json_error(file, &e)),
        },
    }
}

/// Parses a COCO instances file (`images`, `annotations`, `categories`).
pub fn parse_ground_truth(text: &str, file: &str) -> Result<CocoGroundTruth, MetricsError> {
    let raw: RawGtFile = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let v = parse_value(text, file)?;
            serde_json::from_value(v).map_err(|_| MetricsError::Structure {
                file: file.to_string(),
                problem: format!(
                    "not a COCO instances file (an object with lists `images`, `annotations`, `categories`): {e}"
                ),
            })?
        }
    };
    let missing = |what: &str| MetricsError::Structure {
        file: file.to_string(),
        problem: format!("the list `{what}` is missing"),
    };
    let images = raw.images.ok_or_else(|| missing("images"))?;
    let annotations = raw.annotations.ok_or_else(|| missing("annotations"))?;
    let categories = raw.categories.ok_or_else(|| missing("categories"))?;

    let mut image_ids = Vec::with_capacity(images.len());
    for (i, img) in images.iter().enumerate() {
        let ctx = Ctx {
            file,
            item: format!("images[{i}]"),
        };
        let obj = img
            .as_object()
            .ok_or_else(|| ctx.err("id", "is missing (the item is not an object)"))?;
        image_ids.push(ctx.id(obj.get("id"), "id")?);
    }
    image_ids.sort_unstable();
    image_ids.dedup();

    let mut cats: BTreeMap<i64, String> = BTreeMap::new();
    for (i, c) in categories.iter().enumerate() {
        let ctx = Ctx {
            file,
            item: format!("categories[{i}]"),
        };
        let obj = c
            .as_object()
            .ok_or_else(|| ctx.err("id", "is missing (the item is not an object)"))?;
        let id = ctx.id(obj.get("id"), "id")?;
        let name = match obj.get("name") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(ctx.err("name", format!("must be a string, got {other}"))),
        };
        // Like pycocotools' index, a repeated id keeps the last name.
        cats.insert(id, name);
    }
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

    let mut seen_ids: HashMap<i64, usize> = HashMap::with_capacity(annotations.len());
    let mut gts = Vec::with_capacity(annotations.len());
    let (mut off_image, mut off_category) = (0usize, 0usize);
    for (i, a) in annotations.iter().enumerate() {
        let mut ctx = Ctx {
            file,
            item: format!("annotations[{i}]"),
        };
        let obj = a
            .as_object()
            .ok_or_else(|| ctx.err("id", "is missing (the item is not an object)"))?;
        let id = ctx.id(obj.get("id"), "id")?;
        ctx.item = format!("annotations[{i}] (id {id})");
        if let Some(first) = seen_ids.insert(id, i) {
            return Err(MetricsError::DuplicateAnnotationId {
                file: file.to_string(),
                item: ctx.item,
                first: format!("annotations[{first}]"),
                id,
            });
        }
        let image_id = ctx.id(obj.get("image_id"), "image_id")?;
        let category_id = ctx.id(obj.get("category_id"), "category_id")?;
        let bbox = ctx.bbox(obj.get("bbox"))?;
        let area = ctx.number(obj.get("area"), "area")?;
        if area < 0.0 {
            return Err(ctx.err("area", format!("is negative ({area})")));
        }
        let crowd = match obj.get("iscrowd") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => ctx.finite(v, "iscrowd")? != 0.0,
        };
        let (Some(&image), Some(&category)) =
            (image_index.get(&image_id), category_index.get(&category_id))
        else {
            // pycocotools selects annotations through the image and category lists.
            if !image_index.contains_key(&image_id) {
                off_image += 1;
            } else {
                off_category += 1;
            }
            continue;
        };
        gts.push(EvalGt {
            image,
            category,
            bbox,
            area,
            ignore: crowd,
            crowd,
            reusable: crowd,
            match_counts: id != 0,
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
    let raw: Vec<RawDt> = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => return Err(locate_results_error(text, file, &e)),
    };
    let mut dts = Vec::with_capacity(raw.len());
    let mut unknown: BTreeMap<i64, usize> = BTreeMap::new();
    for (i, d) in raw.iter().enumerate() {
        let mut ctx = Ctx {
            file,
            item: format!("results[{i}]"),
        };
        let image_id = ctx.id(d.image_id.as_ref(), "image_id")?;
        ctx.item = format!("results[{i}] (image_id {image_id})");
        let category_id = ctx.id(d.category_id.as_ref(), "category_id")?;
        let bbox = ctx.bbox(d.bbox.as_ref())?;
        let score = ctx.number(d.score.as_ref(), "score")?;
        let Some(&image) = gt.image_index.get(&image_id) else {
            return Err(MetricsError::UnknownImage {
                file: file.to_string(),
                item: ctx.item,
                image_id,
            });
        };
        let Some(&category) = gt.category_index.get(&category_id) else {
            *unknown.entry(category_id).or_default() += 1;
            continue;
        };
        dts.push(EvalDt {
            image,
            category,
            bbox,
            score,
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
        total: raw.len(),
        dts,
        warnings,
    })
}

/// Slow path after a failed typed parse: find the item and field at fault.
fn locate_results_error(text: &str, file: &str, e: &serde_json::Error) -> MetricsError {
    let v = match parse_value(text, file) {
        Ok(v) => v,
        Err(err) => return err,
    };
    let Value::Array(items) = v else {
        return MetricsError::Structure {
            file: file.to_string(),
            problem: "results must be a JSON list of detections".into(),
        };
    };
    for (i, item) in items.iter().enumerate() {
        let ctx = Ctx {
            file,
            item: format!("results[{i}]"),
        };
        let Some(obj) = item.as_object() else {
            return ctx.err(
                "image_id",
                format!("is missing (the item is {})", short(item)),
            );
        };
        let image_id = match ctx.id(obj.get("image_id"), "image_id") {
            Ok(id) => id,
            Err(err) => return err,
        };
        let ctx = Ctx {
            file,
            item: format!("results[{i}] (image_id {image_id})"),
        };
        if let Err(err) = ctx
            .id(obj.get("category_id"), "category_id")
            .and_then(|_| ctx.bbox(obj.get("bbox")))
            .and_then(|_| ctx.number(obj.get("score"), "score"))
        {
            return err;
        }
    }
    json_error(file, e)
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
    fn nan_inside_strings_is_left_alone() {
        assert_eq!(quote_non_finite_tokens(r#"{"a":"NaN"}"#), None);
        assert_eq!(
            quote_non_finite_tokens(r#"[NaN,"x\"NaN",-Infinity]"#).as_deref(),
            Some(r#"["NaN","x\"NaN","-Infinity"]"#)
        );
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
