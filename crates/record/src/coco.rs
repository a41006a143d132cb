//! COCO files: instances (ground truth: `images`, `annotations`, `categories`) and results
//! (detections: a list of `{image_id, category_id, bbox, score}`). The one reader of the
//! format: `eval` builds pycocotools' evaluation input from it (`judge::metrics::coco`) and
//! scenarios import golden labels from it (`scenario::labels`).
//!
//! Rules, decided here once: ids are integers (an integral float names the same id, as in
//! Python); `bbox` is four finite numbers with a positive width and height; `area` is a
//! finite number, not negative; `iscrowd` is a number or a boolean (missing: not crowd); an
//! annotation id is used once per file; Python's bare `NaN` / `Infinity` tokens are located
//! and named, not accepted. The adasval extensions of an annotation (`ignore`,
//! `occlusion`, `truncation`) are handed on as found, for scenarios to interpret. Every
//! rejected value is reported with its file, item (index and id) and field.

use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

/// Why a COCO file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum CocoError {
    #[error("{file}: invalid JSON: {message}")]
    Json {
        file: String,
        line: usize,
        column: usize,
        /// serde_json's message, which ends with the line and column.
        message: String,
    },
    #[error("{file}: {item}: field `{field}` {problem}")]
    Field {
        file: String,
        /// The item, e.g. `annotations[3] (id 17)` or `results[12] (image_id 5)`.
        item: String,
        field: &'static str,
        problem: String,
    },
    #[error("{file}: {item}: annotation id {id} already used by {first}")]
    DuplicateAnnotationId {
        file: String,
        item: String,
        first: String,
        id: i64,
    },
    #[error("{file}: {problem}")]
    Structure { file: String, problem: String },
}

impl adasval_core::exit::Classify for CocoError {
    fn status(&self) -> adasval_core::exit::Status {
        adasval_core::exit::Status::BadInput
    }
}

/// One entry of `images`, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct CocoImage {
    pub id: i64,
    pub file_name: Option<String>,
    /// adasval's extension: the frame's condition (day, dusk, night, rain, fog, ...), as
    /// `adasval scenario synth` writes it.
    pub condition: Option<String>,
}

/// One entry of `annotations`, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct CocoAnnotation {
    /// Position in `annotations`.
    pub index: usize,
    pub id: i64,
    pub image_id: i64,
    pub category_id: i64,
    /// `[x, y, width, height]` in pixels.
    pub bbox: [f64; 4],
    pub area: f64,
    pub iscrowd: bool,
    /// adasval's extensions, as found in the file.
    pub ignore: Option<Value>,
    pub occlusion: Option<Value>,
    pub truncation: Option<Value>,
}

/// A COCO instances file as written, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct CocoInstances {
    pub images: Vec<CocoImage>,
    /// `(id, name)`; a missing or null name is empty.
    pub categories: Vec<(i64, String)>,
    pub annotations: Vec<CocoAnnotation>,
}

/// One entry of a results file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct CocoResult {
    pub index: usize,
    pub image_id: i64,
    pub category_id: i64,
    pub bbox: [f64; 4],
    pub score: f64,
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
    fn err(&self, field: &'static str, problem: impl Into<String>) -> CocoError {
        CocoError::Field {
            file: self.file.to_string(),
            item: self.item.clone(),
            field,
            problem: problem.into(),
        }
    }

    fn id(&self, v: Option<&Value>, field: &'static str) -> Result<i64, CocoError> {
        let v = v.ok_or_else(|| self.err(field, "is missing"))?;
        value_as_id(v).ok_or_else(|| self.err(field, format!("must be an integer, got {v}")))
    }

    fn number(&self, v: Option<&Value>, field: &'static str) -> Result<f64, CocoError> {
        let v = v.ok_or_else(|| self.err(field, "is missing"))?;
        self.finite(v, field)
    }

    fn finite(&self, v: &Value, field: &'static str) -> Result<f64, CocoError> {
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

    fn bbox(&self, v: Option<&Value>) -> Result<[f64; 4], CocoError> {
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

fn json_error(file: &str, e: &serde_json::Error) -> CocoError {
    CocoError::Json {
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
fn parse_value(text: &str, file: &str) -> Result<Value, CocoError> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v),
        Err(e) => match quote_non_finite_tokens(text) {
            Some(fixed) => serde_json::from_str(&fixed).map_err(|_| json_error(file, &e)),
            None => Err(json_error(file, &e)),
        },
    }
}

/// Reads a COCO instances file (`images`, `annotations`, `categories`).
pub fn read_instances(text: &str, file: &str) -> Result<CocoInstances, CocoError> {
    let raw: RawGtFile = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let v = parse_value(text, file)?;
            serde_json::from_value(v).map_err(|_| CocoError::Structure {
                file: file.to_string(),
                problem: format!(
                    "not a COCO instances file (an object with lists `images`, `annotations`, `categories`): {e}"
                ),
            })?
        }
    };
    let missing = |what: &str| CocoError::Structure {
        file: file.to_string(),
        problem: format!("the list `{what}` is missing"),
    };
    let images = raw.images.ok_or_else(|| missing("images"))?;
    let annotations = raw.annotations.ok_or_else(|| missing("annotations"))?;
    let categories = raw.categories.ok_or_else(|| missing("categories"))?;

    let mut out_images = Vec::with_capacity(images.len());
    for (i, img) in images.iter().enumerate() {
        let ctx = Ctx {
            file,
            item: format!("images[{i}]"),
        };
        let obj = img
            .as_object()
            .ok_or_else(|| ctx.err("id", "is missing (the item is not an object)"))?;
        let id = ctx.id(obj.get("id"), "id")?;
        let file_name = match obj.get("file_name") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(ctx.err(
                    "file_name",
                    format!("must be a string, got {}", short(other)),
                ))
            }
        };
        let condition = match obj.get("condition") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(ctx.err(
                    "condition",
                    format!("must be a string, got {}", short(other)),
                ))
            }
        };
        out_images.push(CocoImage {
            id,
            file_name,
            condition,
        });
    }

    let mut out_categories = Vec::with_capacity(categories.len());
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
        out_categories.push((id, name));
    }

    let mut seen_ids: HashMap<i64, usize> = HashMap::with_capacity(annotations.len());
    let mut out_annotations = Vec::with_capacity(annotations.len());
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
            return Err(CocoError::DuplicateAnnotationId {
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
        let iscrowd = match obj.get("iscrowd") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => ctx.finite(v, "iscrowd")? != 0.0,
        };
        let extension = |k: &str| obj.get(k).filter(|v| !v.is_null()).cloned();
        out_annotations.push(CocoAnnotation {
            index: i,
            id,
            image_id,
            category_id,
            bbox,
            area,
            iscrowd,
            ignore: extension("ignore"),
            occlusion: extension("occlusion"),
            truncation: extension("truncation"),
        });
    }
    Ok(CocoInstances {
        images: out_images,
        categories: out_categories,
        annotations: out_annotations,
    })
}

/// Reads a COCO results file (a list of {image_id, category_id, bbox, score}).
pub fn read_results(text: &str, file: &str) -> Result<Vec<CocoResult>, CocoError> {
    let raw: Vec<RawDt> = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => return Err(locate_results_error(text, file, &e)),
    };
    let mut out = Vec::with_capacity(raw.len());
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
        out.push(CocoResult {
            index: i,
            image_id,
            category_id,
            bbox,
            score,
        });
    }
    Ok(out)
}

/// Slow path after a failed typed parse: find the item and field at fault.
fn locate_results_error(text: &str, file: &str, e: &serde_json::Error) -> CocoError {
    let v = match parse_value(text, file) {
        Ok(v) => v,
        Err(err) => return err,
    };
    let Value::Array(items) = v else {
        return CocoError::Structure {
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

/// COCO files of a run (`golden.coco.json`, `detections.coco.json`), written beside
/// `golden.jsonl` and `detections.jsonl` so that pycocotools or `adasval eval --gt --dt` can
/// evaluate a run without adasval's record types. The one writer of the format; what it
/// writes reads back through [`read_instances`] and [`read_results`].
///
/// Images are the golden lines in order (`id` = position + 1, `file_name` = the frame's
/// source); categories are the engine's classes (`id` = class index + 1); an annotation
/// carries `iscrowd` and adasval's `ignore`, `occlusion` and `truncation` extensions
/// (pycocotools reads only `iscrowd`: an ignore region that is not a crowd counts there as
/// an object); a result carries its `engine` besides the four COCO fields, so one file holds
/// every engine of the run. Boxes without a positive width and height have no COCO form and
/// are left out.
pub struct RunCoco {
    pub instances: String,
    pub results: String,
}

/// One engine's detections of one scenario, indexed by frame position.
pub struct EngineDetections<'a> {
    pub engine: &'a str,
    pub scenario: &'a str,
    pub frames: &'a [Option<Vec<adasval_core::types::Detection>>],
}

fn positive(b: &[f32; 4]) -> bool {
    b[2] > 0.0 && b[3] > 0.0 && b.iter().all(|v| v.is_finite())
}

/// Writes a run's golden objects and detections as COCO instances and results.
pub fn write_run(
    golden: &[crate::record::GoldenLine],
    classes: &[String],
    detections: &[EngineDetections],
) -> RunCoco {
    use serde_json::json;
    let images: Vec<Value> = golden
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let mut v = json!({"id": i + 1, "file_name": g.source, "width": g.width,
                               "height": g.height, "scenario": g.scenario, "frame": g.frame});
            if let Some(c) = &g.condition {
                v["condition"] = json!(c);
            }
            v
        })
        .collect();
    let mut annotations = Vec::new();
    for (i, g) in golden.iter().enumerate() {
        for o in g.objects.iter().filter(|o| positive(&o.bbox)) {
            let b = o.bbox;
            let mut a = json!({
                "id": annotations.len() + 1,
                "image_id": i + 1,
                "category_id": o.class_id + 1,
                "bbox": [b[0], b[1], b[2], b[3]],
                "area": f64::from(b[2]) * f64::from(b[3]),
                "iscrowd": u8::from(o.crowd),
                "ignore": u8::from(o.ignore),
            });
            if let Some(v) = o.occlusion {
                a["occlusion"] = json!(v);
            }
            if let Some(v) = o.truncation {
                a["truncation"] = json!(v);
            }
            annotations.push(a);
        }
    }
    let categories: Vec<Value> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"id": i + 1, "name": c}))
        .collect();
    let image_of: HashMap<(&str, usize), usize> = golden
        .iter()
        .enumerate()
        .map(|(i, g)| ((g.scenario.as_str(), g.frame), i + 1))
        .collect();
    let mut results = Vec::new();
    for e in detections {
        for (frame, dets) in e.frames.iter().enumerate() {
            let (Some(dets), Some(&image_id)) = (dets, image_of.get(&(e.scenario, frame))) else {
                continue;
            };
            for d in dets
                .iter()
                .filter(|d| positive(&d.bbox) && d.score.is_finite())
            {
                let b = d.bbox;
                results.push(json!({
                    "image_id": image_id,
                    "category_id": d.class_id + 1,
                    "bbox": [b[0], b[1], b[2], b[3]],
                    "score": d.score,
                    "engine": e.engine,
                }));
            }
        }
    }
    let pretty = |v: &Value| serde_json::to_string(v).unwrap_or_default() + "\n";
    RunCoco {
        instances: pretty(&json!({
            "images": images,
            "annotations": annotations,
            "categories": categories,
        })),
        results: pretty(&Value::Array(results)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runs_coco_files_read_back_through_the_one_reader() {
        use adasval_core::types::{Detection, GtObject};
        let obj = |class_id, bbox, ignore, crowd| GtObject {
            class_id,
            bbox,
            ignore,
            crowd,
            occlusion: Some(0.25),
            truncation: None,
            track_id: None,
            ttc_s: None,
            distance_m: None,
        };
        let golden = vec![
            crate::record::GoldenLine {
                scenario: "s".into(),
                frame: 0,
                source: "data/f0.png".into(),
                width: 64,
                height: 32,
                condition: Some("day".into()),
                objects: vec![
                    obj(0, [1.0, 2.0, 10.0, 20.0], false, false),
                    obj(1, [5.0, 5.0, 0.0, 4.0], false, false), // no COCO form
                    obj(1, [30.0, 2.0, 8.0, 8.0], true, true),
                ],
            },
            crate::record::GoldenLine {
                scenario: "s".into(),
                frame: 1,
                source: "data/f1.png".into(),
                width: 64,
                height: 32,
                condition: None,
                objects: vec![],
            },
        ];
        let dets = vec![
            None,
            Some(vec![Detection {
                class_id: 1,
                score: 0.5,
                bbox: [1.0, 1.0, 4.0, 4.0],
            }]),
        ];
        let classes = vec!["pedestrian".to_string(), "car".to_string()];
        let w = write_run(
            &golden,
            &classes,
            &[EngineDetections {
                engine: "e",
                scenario: "s",
                frames: &dets,
            }],
        );
        let inst = read_instances(&w.instances, "golden.coco.json").unwrap();
        assert_eq!(inst.images.len(), 2);
        assert_eq!(inst.images[1].file_name.as_deref(), Some("data/f1.png"));
        assert_eq!(
            (
                inst.images[0].condition.as_deref(),
                inst.images[1].condition.as_deref()
            ),
            (Some("day"), None)
        );
        assert_eq!(
            inst.categories,
            vec![(1, "pedestrian".into()), (2, "car".into())]
        );
        let a: Vec<_> = inst
            .annotations
            .iter()
            .map(|a| (a.image_id, a.category_id, a.bbox, a.area, a.iscrowd))
            .collect();
        assert_eq!(
            a,
            vec![
                (1, 1, [1.0, 2.0, 10.0, 20.0], 200.0, false),
                (1, 2, [30.0, 2.0, 8.0, 8.0], 64.0, true),
            ]
        );
        assert_eq!(inst.annotations[1].ignore, Some(Value::from(1)));
        let r = read_results(&w.results, "detections.coco.json").unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].image_id, r[0].category_id, r[0].score), (2, 2, 0.5));
        assert_eq!(r[0].bbox, [1.0, 1.0, 4.0, 4.0]);
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
    fn extensions_are_handed_on_and_file_names_kept() {
        let text = r#"{"images":[{"id":1,"file_name":"a/f0.png"},{"id":2}],
            "categories":[{"id":3,"name":"person"}],
            "annotations":[{"id":1,"image_id":1,"category_id":3,"bbox":[0,0,10,10],"area":100,
                            "iscrowd":0,"ignore":1,"occlusion":0.5}]}"#;
        let c = read_instances(text, "gt.json").unwrap();
        assert_eq!(c.images[0].file_name.as_deref(), Some("a/f0.png"));
        assert_eq!(c.images[1].file_name, None);
        let a = &c.annotations[0];
        assert_eq!(a.ignore, Some(serde_json::json!(1)));
        assert_eq!(a.occlusion, Some(serde_json::json!(0.5)));
        assert_eq!(a.truncation, None);
        let e = read_instances(
            &text.replace(r#""file_name":"a/f0.png""#, r#""file_name":7"#),
            "gt.json",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("images[0]") && e.contains("`file_name`"), "{e}");
    }
}
