//! BDD100K 2-D detection labels (the Scalabel format of `bdd100k_labels_images_*.json` and
//! the 100k `det_20` files): a list of frames, or `{"frames": [...]}`, each
//! `{name, attributes: {weather, timeofday, scene}, labels: [{category, attributes:
//! {occluded, truncated, crowd}, box2d: {x1, y1, x2, y2}}]}`. The one reader of the format;
//! scenarios import golden labels through it (`scenario::labels`).
//!
//! Meaning, as the BDD100K toolkit defines it (bdd100k `configs/det.toml`, Scalabel
//! `label/to_coco.py` and `label/transforms.py`), decided here once:
//! - `box2d` corners are inclusive pixels: the box is `[x1, y1, x2 − x1 + 1, y2 − y1 + 1]`
//!   (Scalabel's `box2d_to_bbox`); labels without a `box2d` (lanes, drivable areas) are not
//!   objects and are skipped;
//! - the toolkit's renames (`person` → `pedestrian`, `bike` → `bicycle`, `motor` →
//!   `motorcycle`, `caravan` and `van` → `car`) apply, and `other person`, `other vehicle`
//!   and `trailer` become crowd regions of `pedestrian`, `car` and `truck` (`ignore_mapping`:
//!   Scalabel writes them as `iscrowd`, so a detection on one is neither rewarded nor
//!   penalised); the `crowd` attribute makes a crowd region too;
//! - `occluded` / `truncated` are yes/no without a degree: `false` is a known 0, `true` an
//!   unknown fraction (`None`), so slices with an occlusion or truncation bound leave such
//!   objects out, as they do KITTI's occlusion level 3;
//! - the frame's condition follows the scene generator's rule: fog or rain when the weather
//!   says so (`foggy`, `rainy`; `snowy` gives `snow`), else the time of day (`daytime` →
//!   `day`, `dawn/dusk` → `dusk`, `night`); `undefined` or missing gives none.
//!
//! Every rejected value is reported with its file, frame (index and name), label and field.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum BddError {
    #[error("{file}: invalid JSON: {message}")]
    Json { file: String, message: String },
    #[error("{file}: {item}: field `{field}` {problem}")]
    Field {
        file: String,
        item: String,
        field: &'static str,
        problem: String,
    },
    #[error("{file}: frame name {name:?} is used by frames {first} and {second}")]
    DuplicateFrame {
        file: String,
        name: String,
        first: usize,
        second: usize,
    },
}

impl adasval_core::exit::Classify for BddError {
    fn status(&self) -> adasval_core::exit::Status {
        adasval_core::exit::Status::BadInput
    }
}

/// One object of a frame, after the toolkit's mappings.
#[derive(Debug, Clone, PartialEq)]
pub struct BddObject {
    /// Its index in the frame's `labels`, for messages.
    pub label: usize,
    pub category: String,
    /// `[x, y, width, height]` in pixels.
    pub bbox: [f64; 4],
    /// A crowd or ignore-mapped region: neither a miss nor a false positive.
    pub crowd: bool,
    /// 0 when the label says not occluded; `None` when occluded by an unknown degree or
    /// not said.
    pub occlusion: Option<f32>,
    pub truncation: Option<f32>,
}

/// One frame, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct BddFrame {
    pub name: String,
    pub condition: Option<String>,
    pub objects: Vec<BddObject>,
}

/// The toolkit's renames (bdd100k `configs/det.toml`, `[name_mapping]`).
const NAME_MAPPING: [(&str, &str); 5] = [
    ("bike", "bicycle"),
    ("caravan", "car"),
    ("motor", "motorcycle"),
    ("person", "pedestrian"),
    ("van", "car"),
];

/// Categories evaluated as crowd regions of another (`[ignore_mapping]`).
const IGNORE_MAPPING: [(&str, &str); 3] = [
    ("other person", "pedestrian"),
    ("other vehicle", "car"),
    ("trailer", "truck"),
];

#[derive(Deserialize)]
#[serde(untagged)]
enum Top {
    List(Vec<Value>),
    Wrapped { frames: Vec<Value> },
}

/// Reads a BDD100K label file's text; `file` is the name errors show.
pub fn read(text: &str, file: &str) -> Result<Vec<BddFrame>, BddError> {
    let top: Top = serde_json::from_str(text).map_err(|e| BddError::Json {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    let raw = match top {
        Top::List(v) | Top::Wrapped { frames: v } => v,
    };
    let mut seen = std::collections::HashMap::new();
    let mut frames = Vec::with_capacity(raw.len());
    for (i, f) in raw.iter().enumerate() {
        let frame = read_frame(f, i, file)?;
        if let Some(first) = seen.insert(frame.name.clone(), i) {
            return Err(BddError::DuplicateFrame {
                file: file.to_string(),
                name: frame.name,
                first,
                second: i,
            });
        }
        frames.push(frame);
    }
    Ok(frames)
}

fn field(file: &str, item: &str, field: &'static str, problem: impl Into<String>) -> BddError {
    BddError::Field {
        file: file.to_string(),
        item: item.to_string(),
        field,
        problem: problem.into(),
    }
}

fn read_frame(v: &Value, i: usize, file: &str) -> Result<BddFrame, BddError> {
    let item = format!("frames[{i}]");
    let obj = v
        .as_object()
        .ok_or_else(|| field(file, &item, "name", "missing: the frame is not an object"))?;
    let name = match obj.get("name") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(x) => {
            return Err(field(
                file,
                &item,
                "name",
                format!("must be a file name, got {x}"),
            ))
        }
        None => return Err(field(file, &item, "name", "missing")),
    };
    let item = format!("frames[{i}] ({name})");
    let attr = |key: &str| -> Result<Option<&str>, BddError> {
        match obj.get("attributes").and_then(|a| a.get(key)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(x) => Err(field(
                file,
                &item,
                "attributes",
                format!("`{key}` must be a string, got {x}"),
            )),
        }
    };
    let condition = condition(attr("weather")?, attr("timeofday")?);
    let mut objects = Vec::new();
    match obj.get("labels") {
        None | Some(Value::Null) => {}
        Some(Value::Array(labels)) => {
            for (j, l) in labels.iter().enumerate() {
                if let Some(o) = read_label(l, j, &format!("{item} labels[{j}]"), file)? {
                    objects.push(o);
                }
            }
        }
        Some(x) => {
            return Err(field(
                file,
                &item,
                "labels",
                format!("must be a list, got {x}"),
            ))
        }
    }
    Ok(BddFrame {
        name,
        condition,
        objects,
    })
}

fn condition(weather: Option<&str>, timeofday: Option<&str>) -> Option<String> {
    let by_weather = match weather {
        Some("foggy") => Some("fog"),
        Some("rainy") => Some("rain"),
        Some("snowy") => Some("snow"),
        _ => None,
    };
    let by_time = match timeofday {
        Some("daytime") => Some("day"),
        Some("dawn/dusk") => Some("dusk"),
        Some("night") => Some("night"),
        _ => None,
    };
    by_weather.or(by_time).map(str::to_string)
}

fn read_label(
    v: &Value,
    label: usize,
    item: &str,
    file: &str,
) -> Result<Option<BddObject>, BddError> {
    let l = v.as_object().ok_or_else(|| {
        field(
            file,
            item,
            "category",
            "missing: the label is not an object",
        )
    })?;
    let Some(b) = l.get("box2d").filter(|b| !b.is_null()) else {
        return Ok(None);
    };
    let category = match l.get("category") {
        Some(Value::String(s)) if !s.is_empty() => s.as_str(),
        Some(x) => {
            return Err(field(
                file,
                item,
                "category",
                format!("must be a name, got {x}"),
            ))
        }
        None => return Err(field(file, item, "category", "missing")),
    };
    let corner = |k: &'static str| -> Result<f64, BddError> {
        b.get(k)
            .and_then(Value::as_f64)
            .filter(|x| x.is_finite())
            .ok_or_else(|| {
                field(
                    file,
                    item,
                    "box2d",
                    format!(
                        "`{k}` must be a finite number, got {}",
                        b.get(k).unwrap_or(&Value::Null)
                    ),
                )
            })
    };
    let (x1, y1, x2, y2) = (corner("x1")?, corner("y1")?, corner("x2")?, corner("y2")?);
    let (w, h) = (x2 - x1 + 1.0, y2 - y1 + 1.0);
    if w <= 0.0 || h <= 0.0 {
        return Err(field(
            file,
            item,
            "box2d",
            format!("x2 must be at least x1 and y2 at least y1 (inclusive corners), got ({x1}, {y1}) to ({x2}, {y2})"),
        ));
    }
    let flag = |k: &'static str| -> Result<Option<bool>, BddError> {
        match l.get("attributes").and_then(|a| a.get(k)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(x) => Err(field(
                file,
                item,
                "attributes",
                format!("`{k}` must be true or false, got {x}"),
            )),
        }
    };
    let known_zero = |f: Option<bool>| match f {
        Some(false) => Some(0.0),
        _ => None,
    };
    let ignored = IGNORE_MAPPING.iter().find(|(from, _)| *from == category);
    let mapped = match ignored {
        Some((_, to)) => *to,
        None => NAME_MAPPING
            .iter()
            .find(|(from, _)| *from == category)
            .map_or(category, |(_, to)| *to),
    };
    Ok(Some(BddObject {
        label,
        category: mapped.to_string(),
        bbox: [x1, y1, w, h],
        crowd: ignored.is_some() || flag("crowd")? == Some(true),
        occlusion: known_zero(flag("occluded")?),
        truncation: known_zero(flag("truncated")?),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_reads_as_the_toolkit_defines_it() {
        let text = r#"[{"name": "a.jpg", "attributes": {"weather": "clear", "timeofday": "night"},
            "labels": [
              {"category": "person", "attributes": {"occluded": false, "truncated": true},
               "box2d": {"x1": 10, "y1": 20, "x2": 19, "y2": 59}},
              {"category": "other vehicle", "box2d": {"x1": 0, "y1": 0, "x2": 4, "y2": 4}},
              {"category": "car", "attributes": {"crowd": true}, "box2d": {"x1": 1, "y1": 1, "x2": 1, "y2": 1}},
              {"category": "lane/single white", "poly2d": []}]}]"#;
        let f = read(text, "l.json").unwrap();
        assert_eq!(f[0].condition.as_deref(), Some("night"));
        let o = &f[0].objects;
        assert_eq!(o.len(), 3);
        assert_eq!(o[0].category, "pedestrian");
        assert_eq!(o[0].bbox, [10.0, 20.0, 10.0, 40.0]);
        assert_eq!(
            (o[0].occlusion, o[0].truncation, o[0].crowd),
            (Some(0.0), None, false)
        );
        assert_eq!((o[1].category.as_str(), o[1].crowd), ("car", true));
        assert_eq!((o[2].bbox[2], o[2].crowd), (1.0, true));
    }

    #[test]
    fn weather_wins_over_the_time_of_day_and_undefined_is_none() {
        assert_eq!(
            condition(Some("rainy"), Some("night")).as_deref(),
            Some("rain")
        );
        assert_eq!(
            condition(Some("overcast"), Some("dawn/dusk")).as_deref(),
            Some("dusk")
        );
        assert_eq!(condition(Some("undefined"), Some("undefined")), None);
    }

    #[test]
    fn bad_values_name_the_frame_label_and_field() {
        let e = read(
            r#"{"frames": [{"name": "b.jpg", "labels": [{"category": "car",
            "box2d": {"x1": 5, "y1": 0, "x2": 2, "y2": 3}}]}]}"#,
            "l.json",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("l.json: frames[0] (b.jpg) labels[0]: field `box2d`"),
            "{e}"
        );
        let e = read(r#"[{"name": "c.jpg"}, {"name": "c.jpg"}]"#, "l.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("used by frames 0 and 1"), "{e}");
        let e = read(
            r#"[{"name": "d.jpg", "labels": [{"category": "car",
            "attributes": {"occluded": "yes"}, "box2d": {"x1": 0, "y1": 0, "x2": 1, "y2": 1}}]}]"#,
            "l.json",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`occluded` must be true or false"), "{e}");
    }
}
