//! Golden-label importers: COCO instances JSON, PASCAL VOC XML (keeping `difficult`), KITTI
//! `label_2` text (keeping `DontCare` regions) and BDD100K's Scalabel JSON (keeping its
//! crowd regions and each frame's weather / time of day as its condition). Class names are
//! mapped to the model's classes by the scenario.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::DataRoot;
use adasval_core::paths::resolve_inside;
use adasval_core::types::GtObject;
use adasval_record::coco::read_instances;
use adasval_record::kitti;

/// The pseudo-class of KITTI ignore regions: an ignore region for every class.
pub use adasval_record::kitti::DONT_CARE;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LabelFormat {
    Coco,
    Voc,
    Kitti,
    Bdd100k,
}

/// An imported object before class mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct RawObject {
    pub class: String,
    pub bbox: [f32; 4],
    /// VOC difficult.
    pub ignore: bool,
    /// COCO iscrowd.
    pub crowd: bool,
    pub occlusion: Option<f32>,
    pub truncation: Option<f32>,
    /// Where it was read (`labels/x.txt line 3`), so an error about its class can say so.
    pub origin: Option<String>,
}

impl RawObject {
    pub fn to_gt(&self, class_id: u32) -> GtObject {
        GtObject {
            class_id,
            bbox: self.bbox,
            ignore: self.ignore,
            crowd: self.crowd,
            occlusion: self.occlusion,
            truncation: self.truncation,
            track_id: None,
            ttc_s: None,
            distance_m: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("labels {path}: {message}")]
    File { path: String, message: String },
    #[error("labels {path}: line {line}: {message}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
    #[error("no golden labels for frame {frame} in {path}")]
    MissingFrame { frame: String, path: String },
    #[error(transparent)]
    Path(#[from] adasval_core::paths::PathEscape),
    /// The COCO file itself, as the one COCO reader rejected it.
    #[error("labels {0}")]
    Coco(#[from] adasval_record::coco::CocoError),
    /// The BDD100K file, as the one BDD100K reader rejected it.
    #[error("labels {0}")]
    Bdd(#[from] adasval_record::bdd100k::BddError),
}

/// Labels per frame, keyed by the frame's data-root-relative path.
pub type Golden = BTreeMap<String, Vec<RawObject>>;

/// Conditions the labels give, keyed like [`Golden`] (COCO images' `condition`).
pub type Conditions = BTreeMap<String, String>;

pub fn import(
    _id: &str,
    src: &super::LabelSource,
    data: &DataRoot,
    frames: &[(String, PathBuf)],
) -> Result<(Golden, Conditions), LabelError> {
    let path = resolve_inside(&data.root, &data.root, &src.path)?;
    let none = |g| (g, Conditions::new());
    match src.format {
        LabelFormat::Coco => import_coco(&path, &src.path, frames),
        LabelFormat::Voc => per_file(&path, &src.path, frames, "xml", parse_voc).map(none),
        LabelFormat::Kitti => per_file(&path, &src.path, frames, "txt", parse_kitti).map(none),
        LabelFormat::Bdd100k => import_bdd(&path, &src.path, frames),
    }
}

fn file_err(path: &str, message: impl Into<String>) -> LabelError {
    LabelError::File {
        path: path.to_string(),
        message: message.into(),
    }
}

fn per_file(
    dir: &Path,
    shown: &str,
    frames: &[(String, PathBuf)],
    ext: &str,
    parse: fn(&str, &str) -> Result<Vec<RawObject>, LabelError>,
) -> Result<Golden, LabelError> {
    let mut out = Golden::new();
    for (rel, p) in frames {
        let stem = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let lp = dir.join(format!("{stem}.{ext}"));
        let shown_file = format!("{shown}/{stem}.{ext}");
        let text = std::fs::read_to_string(&lp).map_err(|_| LabelError::MissingFrame {
            frame: rel.clone(),
            path: shown_file.clone(),
        })?;
        out.insert(rel.clone(), parse(&shown_file, &text)?);
    }
    Ok(out)
}

/// PASCAL VOC XML. Boxes become `[xmin, ymin, xmax − xmin, ymax − ymin]`, the convention
/// of the common VOC → COCO converters.
pub fn parse_voc(shown: &str, text: &str) -> Result<Vec<RawObject>, LabelError> {
    let doc = roxmltree::Document::parse(text).map_err(|e| file_err(shown, e.to_string()))?;
    let mut out = Vec::new();
    for (i, obj) in doc
        .descendants()
        .filter(|n| n.has_tag_name("object"))
        .enumerate()
    {
        let child_text = |node: roxmltree::Node, tag: &str| {
            node.children()
                .find(|c| c.has_tag_name(tag))
                .and_then(|c| c.text())
                .map(|t| t.trim().to_string())
        };
        let name = child_text(obj, "name")
            .ok_or_else(|| file_err(shown, format!("object {i}: missing <name>")))?;
        let bb = obj
            .children()
            .find(|c| c.has_tag_name("bndbox"))
            .ok_or_else(|| file_err(shown, format!("object {i} ({name}): missing <bndbox>")))?;
        let num = |tag: &str| -> Result<f32, LabelError> {
            child_text(bb, tag)
                .and_then(|t| t.parse::<f32>().ok())
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    file_err(
                        shown,
                        format!("object {i} ({name}): bad or missing <{tag}>"),
                    )
                })
        };
        let (x1, y1, x2, y2) = (num("xmin")?, num("ymin")?, num("xmax")?, num("ymax")?);
        if x2 <= x1 || y2 <= y1 {
            return Err(file_err(shown, format!("object {i} ({name}): empty box")));
        }
        let flag = |tag| child_text(obj, tag).is_some_and(|t| t == "1");
        let line = child_line(&doc, obj, "name");
        out.push(RawObject {
            origin: Some(format!("{shown} line {line}")),
            class: name,
            bbox: [x1, y1, x2 - x1, y2 - y1],
            ignore: flag("difficult"),
            crowd: false,
            occlusion: None,
            truncation: flag("truncated").then_some(1.0),
        });
    }
    Ok(out)
}

/// The line of an object's `<tag>` child (of the object itself when it has none).
fn child_line(doc: &roxmltree::Document, obj: roxmltree::Node, tag: &str) -> u32 {
    let node = obj.children().find(|c| c.has_tag_name(tag)).unwrap_or(obj);
    doc.text_pos_at(node.range().start).row
}

/// KITTI `label_2`, read by the one KITTI reader (`record::kitti`). A `DontCare` region
/// is an ignore region matched as the devkit matches it, by the share of the detection's
/// area inside it (a crowd region's rule), not by IoU; occlusion level 3 ("unknown") is an
/// unknown occlusion, not a fully occluded object.
pub fn parse_kitti(shown: &str, text: &str) -> Result<Vec<RawObject>, LabelError> {
    let objects = kitti::parse(shown, text).map_err(|e| LabelError::Line {
        path: e.file,
        line: e.line,
        message: e.message,
    })?;
    Ok(objects
        .into_iter()
        .map(|o| {
            #[cfg(feature = "planted-panic")]
            if o.occluded == 3 {
                panic!("planted bug (feature planted-panic): KITTI occlusion level 3");
            }
            let [x1, y1, x2, y2] = o.bbox;
            let dont_care = o.class == DONT_CARE;
            RawObject {
                origin: Some(format!("{shown} line {}", o.line)),
                ignore: dont_care,
                crowd: dont_care,
                occlusion: o.occlusion_fraction(),
                truncation: (o.truncated >= 0.0).then_some(o.truncated as f32),
                bbox: [
                    x1 as f32,
                    y1 as f32,
                    (x2 - x1).max(0.0) as f32,
                    (y2 - y1).max(0.0) as f32,
                ],
                class: o.class,
            }
        })
        .collect())
}

fn import_coco(
    path: &Path,
    shown: &str,
    frames: &[(String, PathBuf)],
) -> Result<(Golden, Conditions), LabelError> {
    let text = std::fs::read_to_string(path).map_err(|e| file_err(shown, e.to_string()))?;
    let coco = read_instances(&text, shown)?;
    let cats: BTreeMap<i64, &str> = coco
        .categories
        .iter()
        .map(|(id, name)| (*id, name.as_str()))
        .collect();
    let by_name: BTreeMap<&str, (i64, Option<&String>)> = coco
        .images
        .iter()
        .filter_map(|i| {
            let f = i.file_name.as_deref()?;
            Some((
                f.rsplit('/').next().unwrap_or(f),
                (i.id, i.condition.as_ref()),
            ))
        })
        .collect();
    let mut anns: BTreeMap<i64, Vec<RawObject>> = BTreeMap::new();
    for a in &coco.annotations {
        let k = a.index;
        let class = cats.get(&a.category_id).ok_or_else(|| {
            file_err(
                shown,
                format!("annotation {k}: unknown category_id {}", a.category_id),
            )
        })?;
        // adasval's extensions of an annotation: `ignore` (0/1 or a boolean), and
        // `occlusion` / `truncation` as fractions.
        let fraction = |v: &Option<serde_json::Value>, what: &str| match v {
            None => Ok(None),
            Some(x) => x
                .as_f64()
                .filter(|f| f.is_finite())
                .map(|f| Some(f as f32))
                .ok_or_else(|| {
                    file_err(
                        shown,
                        format!("annotation {k}: `{what}` must be a number, got {x}"),
                    )
                }),
        };
        let ignore = match &a.ignore {
            None => false,
            Some(serde_json::Value::Bool(b)) => *b,
            Some(x) => match x.as_f64() {
                Some(f) if f == 0.0 || f == 1.0 => f == 1.0,
                _ => {
                    return Err(file_err(
                        shown,
                        format!("annotation {k}: `ignore` must be 0, 1 or a boolean, got {x}"),
                    ))
                }
            },
        };
        let b = a.bbox;
        anns.entry(a.image_id).or_default().push(RawObject {
            origin: Some(format!(
                "{shown} annotation {k} (category_id {})",
                a.category_id
            )),
            class: class.to_string(),
            bbox: [b[0] as f32, b[1] as f32, b[2] as f32, b[3] as f32],
            ignore,
            crowd: a.iscrowd,
            occlusion: fraction(&a.occlusion, "occlusion")?,
            truncation: fraction(&a.truncation, "truncation")?,
        });
    }
    let mut out = Golden::new();
    let mut conditions = Conditions::new();
    for (rel, p) in frames {
        let base = p
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (id, condition) =
            by_name
                .get(base.as_str())
                .ok_or_else(|| LabelError::MissingFrame {
                    frame: rel.clone(),
                    path: shown.to_string(),
                })?;
        out.insert(rel.clone(), anns.remove(id).unwrap_or_default());
        if let Some(c) = condition {
            conditions.insert(rel.clone(), (*c).clone());
        }
    }
    Ok((out, conditions))
}

/// BDD100K labels (`adasval_record::bdd100k`), matched to frames by file name like COCO's.
fn import_bdd(
    path: &Path,
    shown: &str,
    frames: &[(String, PathBuf)],
) -> Result<(Golden, Conditions), LabelError> {
    let text = std::fs::read_to_string(path).map_err(|e| file_err(shown, e.to_string()))?;
    let mut by_name: BTreeMap<String, adasval_record::bdd100k::BddFrame> =
        adasval_record::bdd100k::read(&text, shown)?
            .into_iter()
            .map(|f| (f.name.rsplit('/').next().unwrap_or(&f.name).to_string(), f))
            .collect();
    let mut out = Golden::new();
    let mut conditions = Conditions::new();
    for (rel, p) in frames {
        let base = p
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let f = by_name
            .remove(&base)
            .ok_or_else(|| LabelError::MissingFrame {
                frame: rel.clone(),
                path: shown.to_string(),
            })?;
        let objects = f
            .objects
            .into_iter()
            .map(|o| RawObject {
                origin: Some(format!("{shown} frame {} labels[{}]", f.name, o.label)),
                class: o.category,
                bbox: o.bbox.map(|v| v as f32),
                ignore: false,
                crowd: o.crowd,
                occlusion: o.occlusion,
                truncation: o.truncation,
            })
            .collect();
        out.insert(rel.clone(), objects);
        if let Some(c) = f.condition {
            conditions.insert(rel.clone(), c);
        }
    }
    Ok((out, conditions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coco_labels_go_through_the_one_reader_with_the_extensions() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("labels.json");
        let write = |t: &str| std::fs::write(&p, t).unwrap();
        let frames = vec![("data/f0.png".to_string(), d.path().join("data/f0.png"))];
        write(
            r#"{"images":[{"id":1,"file_name":"f0.png"}],"categories":[{"id":1,"name":"person"}],
               "annotations":[{"id":1,"image_id":1,"category_id":1,"bbox":[2,2,10,12],"area":120,
                               "iscrowd":0,"ignore":1,"occlusion":0.25}]}"#,
        );
        let (g, _) = import_coco(&p, "labels.json", &frames).unwrap();
        let o = &g["data/f0.png"][0];
        assert_eq!(
            (o.class.as_str(), o.ignore, o.occlusion),
            ("person", true, Some(0.25))
        );
        // The reader's rules apply to scenario labels too: `area` is required.
        write(
            r#"{"images":[{"id":1,"file_name":"f0.png"}],"categories":[{"id":1,"name":"person"}],
               "annotations":[{"id":1,"image_id":1,"category_id":1,"bbox":[2,2,10,12]}]}"#,
        );
        let e = import_coco(&p, "labels.json", &frames)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("annotations[0] (id 1)") && e.contains("`area` is missing"),
            "{e}"
        );
        write(
            r#"{"images":[{"id":1,"file_name":"f0.png"}],"categories":[{"id":1,"name":"person"}],
               "annotations":[{"id":1,"image_id":1,"category_id":1,"bbox":[2,2,10,12],"area":1,"ignore":"yes"}]}"#,
        );
        let e = import_coco(&p, "labels.json", &frames)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`ignore` must be 0, 1 or a boolean"), "{e}");
    }

    #[test]
    fn voc_keeps_difficult() {
        let xml = "<annotation><object><name>person</name><difficult>1</difficult>\
            <bndbox><xmin>10</xmin><ymin>20</ymin><xmax>30</xmax><ymax>60</ymax></bndbox></object></annotation>";
        let o = parse_voc("a.xml", xml).unwrap();
        assert_eq!(o[0].bbox, [10.0, 20.0, 20.0, 40.0]);
        assert!(o[0].ignore);
    }

    #[test]
    fn kitti_dontcare_and_errors() {
        let t = "Pedestrian 0.00 0 -0.20 712.40 143.00 810.73 307.92 1.89 0.48 1.20 1.84 1.47 8.41 0.01\n\
                 DontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 -1000 -1000 -1000 -10\n\
                 Car 0.10 3 -0.20 1 2 30 40 1.89 0.48 1.20 1.84 1.47 8.41 0.01\n";
        let o = parse_kitti("x.txt", t).unwrap();
        assert_eq!(o.len(), 3);
        // DontCare: an ignore region matched by the share of the detection inside it.
        assert!(!o[0].ignore && o[1].ignore && o[1].crowd && !o[0].crowd);
        assert_eq!((o[0].occlusion, o[1].occlusion), (Some(0.0), None));
        // Level 3 is "unknown", not fully occluded.
        assert_eq!((o[2].occlusion, o[2].truncation), (None, Some(0.1)));
        let e = parse_kitti("x.txt", "Car 0 0 0 a 1 2 3 1 1 1 1 1 1 1\n").unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
    }
}
