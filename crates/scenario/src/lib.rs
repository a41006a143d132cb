//! Scenarios: `scenarios/<id>.yaml` describes what to replay (image files with golden
//! labels, or a generated sequence), its frame rate, per-frame deadline and the
//! requirements it serves. Loading decodes every frame into memory before any timing.

#![allow(clippy::result_large_err)]

pub mod attributes;
pub mod labels;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use adasval_core::paths::{resolve_inside, PathEscape};
use adasval_core::rgb::RgbImage;
use adasval_core::types::GtObject;
use adasval_core::yamlfile::{self, YamlError};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub schema_version: u32,
    pub id: String,
    pub title: String,
    /// pedestrian | cyclist | vehicle | obstacle | timing | ...
    pub category: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub fps: f64,
    pub deadline_ms: f64,
    #[serde(default)]
    pub requirements: Vec<String>,
    pub frames: FramesSpec,
    /// Replay defaults for this scenario (overridable on the command line).
    #[serde(default)]
    pub timing: Option<TimingDefaults>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimingDefaults {
    #[serde(default)]
    pub repetitions: Option<u32>,
    #[serde(default)]
    pub warmup: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FramesSpec {
    /// A sequence rendered by the scene generator; golden labels come from the same description.
    Generate(adasval_synth::SequenceSpec),
    /// Image files with golden labels.
    Files(FileFrames),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileFrames {
    /// Explicit list of image paths (relative to the data root).
    #[serde(default)]
    pub list: Vec<String>,
    /// Glob pattern(s) relative to the data root, sorted by path.
    #[serde(default)]
    pub glob: Option<String>,
    pub labels: LabelSource,
    /// Golden class name → model class name (e.g. `person: pedestrian`).
    #[serde(default)]
    pub class_map: BTreeMap<String, String>,
    /// Golden classes to drop.
    #[serde(default)]
    pub ignore_classes: Vec<String>,
    /// Neighbouring golden class → model class (KITTI's `Van: car`, `Person_sitting:
    /// pedestrian`): its objects are ignore regions of that class, so a detection on one
    /// is neither a true nor a false positive and missing it is not a miss.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub neighbour_classes: BTreeMap<String, String>,
    /// The condition of every frame (day, dusk, night, rain, fog, ...), where neither the
    /// attribute file nor the labels give one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// A per-frame attribute file (data-root relative; [`attributes`]) that must list
    /// every frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelSource {
    pub format: labels::LabelFormat,
    /// A COCO instances JSON file, or a directory of VOC XML / KITTI label_2 files.
    pub path: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error("scenario `{scenario}` ({path}): field `{field}`: {message}")]
    Invalid {
        scenario: String,
        path: String,
        field: &'static str,
        message: String,
    },
    #[error("scenario `{scenario}`: {source}")]
    Path {
        scenario: String,
        source: PathEscape,
    },
    #[error("scenario `{scenario}`: image {path}: {message}")]
    Image {
        scenario: String,
        path: String,
        message: String,
    },
    #[error("scenario `{scenario}`: {source}")]
    Labels {
        scenario: String,
        source: labels::LabelError,
    },
    #[error("scenario `{scenario}`: unknown classes in golden labels: {classes} (map them with `class_map` or list them in `ignore_classes`; model classes: {known}; class_map in force: {map})")]
    UnknownClasses {
        scenario: String,
        classes: String,
        known: String,
        /// The scenario's `class_map`, as `{a: b, ...}` (`{}` when none).
        map: String,
    },
    #[error("scenario `{scenario}`: {source}")]
    Attributes {
        scenario: String,
        source: attributes::AttributeError,
    },
    #[error("scenario `{scenario}`: frame {frame}: {message}")]
    Generate {
        scenario: String,
        frame: u32,
        message: String,
    },
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
}

impl adasval_core::exit::Classify for ScenarioError {
    fn status(&self) -> adasval_core::exit::Status {
        adasval_core::exit::Status::BadInput
    }
}

/// A scenario file and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    pub scenario: Scenario,
    pub path: PathBuf,
    pub sha256: String,
}

impl Scenario {
    pub fn parse(path: &Path, text: &str) -> Result<Self, ScenarioError> {
        let s: Scenario = yamlfile::parse(path, text)?;
        s.validate(path)?;
        Ok(s)
    }

    fn validate(&self, path: &Path) -> Result<(), ScenarioError> {
        let bad = |field, message: String| ScenarioError::Invalid {
            scenario: self.id.clone(),
            path: path.display().to_string(),
            field,
            message,
        };
        if self.schema_version != SCHEMA_VERSION {
            return Err(bad(
                "schema_version",
                format!("unsupported version {}", self.schema_version),
            ));
        }
        if let Err(e) = adasval_core::names::check("scenario", &self.id) {
            return Err(bad("id", e.to_string()));
        }
        if !(self.fps > 0.0 && self.fps.is_finite()) {
            return Err(bad("fps", "must be a positive number".into()));
        }
        if !(self.deadline_ms > 0.0 && self.deadline_ms.is_finite()) {
            return Err(bad("deadline_ms", "must be a positive number".into()));
        }
        match &self.frames {
            FramesSpec::Generate(g) => {
                g.validate()
                    .map_err(|e| bad("frames.generate", e.to_string()))?;
                // A key the generator never draws would map nothing and hide a typo.
                let valid = adasval_synth::CLASS_NAMES;
                let stray = g
                    .class_map
                    .keys()
                    .map(|k| ("frames.generate.class_map", k))
                    .chain(
                        g.ignore_classes
                            .iter()
                            .map(|k| ("frames.generate.ignore_classes", k)),
                    )
                    .find(|(_, k)| !valid.contains(&k.as_str()));
                if let Some((field, k)) = stray {
                    return Err(bad(
                        field,
                        format!(
                            "`{k}` is not a class the generator draws ({})",
                            valid.join(", ")
                        ),
                    ));
                }
            }
            FramesSpec::Files(f) => {
                if f.list.is_empty() && f.glob.is_none() {
                    return Err(bad("frames.files", "give `list` or `glob`".into()));
                }
            }
        }
        Ok(())
    }

    pub fn has_any_tag(&self, tags: &[String]) -> bool {
        tags.iter()
            .any(|t| self.tags.contains(t) || &self.category == t)
    }
}

/// Load every `scenarios/*.yaml`, sorted by id.
pub fn load_all(root: &Path) -> Result<Vec<LoadedScenario>, ScenarioError> {
    let dir = root.join("scenarios");
    let entries = std::fs::read_dir(&dir).map_err(|e| ScenarioError::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        // A scenario file may be a symbolic link, but not to a file outside the project:
        // its hash would be recorded as the project's own.
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        resolve_inside(root, &dir, &name).map_err(|source| ScenarioError::Path {
            scenario: format!("scenarios/{name}"),
            source,
        })?;
        out.push(load_one(&p)?);
    }
    out.sort_by(|a, b| a.scenario.id.cmp(&b.scenario.id));
    for w in out.windows(2) {
        if w[0].scenario.id == w[1].scenario.id {
            return Err(ScenarioError::Invalid {
                scenario: w[1].scenario.id.clone(),
                path: w[1].path.display().to_string(),
                field: "id",
                message: format!("duplicate id, also in {}", w[0].path.display()),
            });
        }
    }
    Ok(out)
}

pub fn load_one(path: &Path) -> Result<LoadedScenario, ScenarioError> {
    let bytes = std::fs::read(path).map_err(|e| ScenarioError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let scenario = Scenario::parse(path, &text)?;
    Ok(LoadedScenario {
        scenario,
        path: path.to_path_buf(),
        sha256: adasval_core::hash::sha256_hex(&bytes),
    })
}

/// One decoded frame with its golden labels, ready for preprocessing.
#[derive(Debug, Clone)]
pub struct LoadedFrame {
    pub index: usize,
    /// Project-relative image path, or `generated:<frame>` for rendered frames.
    pub source: String,
    pub image: RgbImage,
    pub gt: Vec<GtObject>,
    /// Scene condition (day, night, ...): generated frames know it; file-based ones take it
    /// from the attribute file, the COCO image entry or the scenario.
    pub condition: Option<String>,
}

/// Where relative paths in scenario files resolve, and what they may not leave.
#[derive(Debug, Clone)]
pub struct DataRoot {
    pub root: PathBuf,
}

/// Resolve the image list of a file-based scenario (sorted, deduplicated).
pub fn resolve_files(
    id: &str,
    f: &FileFrames,
    data: &DataRoot,
) -> Result<Vec<(String, PathBuf)>, ScenarioError> {
    let mut out = Vec::new();
    let path_err = |source| ScenarioError::Path {
        scenario: id.to_string(),
        source,
    };
    for rel in &f.list {
        let p = resolve_inside(&data.root, &data.root, rel).map_err(path_err)?;
        out.push((rel.clone(), p));
    }
    if let Some(pattern) = &f.glob {
        // Validate the pattern's prefix before globbing so `..` cannot escape.
        resolve_inside(&data.root, &data.root, pattern).map_err(path_err)?;
        let full = data.root.join(pattern);
        let walker = glob::glob(&full.to_string_lossy()).map_err(|e| ScenarioError::Invalid {
            scenario: id.to_string(),
            path: pattern.clone(),
            field: "frames.files.glob",
            message: e.to_string(),
        })?;
        let mut found: Vec<PathBuf> = walker.filter_map(Result::ok).collect();
        found.sort();
        for p in found {
            let rel = adasval_core::paths::relative_to(&data.root, &p);
            let p = resolve_inside(&data.root, &data.root, &rel).map_err(path_err)?;
            out.push((rel, p));
        }
    }
    out.dedup_by(|a, b| a.1 == b.1);
    if out.is_empty() {
        return Err(ScenarioError::Invalid {
            scenario: id.to_string(),
            path: f.glob.clone().unwrap_or_default(),
            field: "frames.files",
            message: "no image files matched".into(),
        });
    }
    Ok(out)
}

/// Decode (or render) frames and import their golden labels, mapped to `classes`.
pub fn load_frames(
    ls: &LoadedScenario,
    classes: &[String],
    data: &DataRoot,
    max_frames: Option<usize>,
) -> Result<Vec<LoadedFrame>, ScenarioError> {
    let s = &ls.scenario;
    match &s.frames {
        FramesSpec::Generate(g) => {
            let n = max_frames.map_or(g.frames as usize, |m| m.min(g.frames as usize));
            let rendered: Vec<Result<LoadedFrame, ScenarioError>> = {
                use rayon::prelude::*;
                (0..n)
                    .into_par_iter()
                    .map(|i| render_frame(s, g, i as u32, classes))
                    .collect()
            };
            rendered.into_iter().collect()
        }
        FramesSpec::Files(f) => {
            let mut files = resolve_files(&s.id, f, data)?;
            if let Some(m) = max_frames {
                files.truncate(m);
            }
            let (golden, label_conditions) = labels::import(&s.id, &f.labels, data, &files)
                .map_err(|source| ScenarioError::Labels {
                    scenario: s.id.clone(),
                    source,
                })?;
            let listed = match &f.attributes {
                None => BTreeMap::new(),
                Some(rel) => {
                    let path = resolve_inside(&data.root, &data.root, rel).map_err(|source| {
                        ScenarioError::Path {
                            scenario: s.id.clone(),
                            source,
                        }
                    })?;
                    let names: Vec<String> = files.iter().map(|(r, _)| r.clone()).collect();
                    attributes::conditions(&path, rel, &names).map_err(|source| {
                        ScenarioError::Attributes {
                            scenario: s.id.clone(),
                            source,
                        }
                    })?
                }
            };
            let condition_of = |rel: &str| {
                listed
                    .get(rel)
                    .cloned()
                    .flatten()
                    .or_else(|| label_conditions.get(rel).cloned())
                    .or_else(|| f.condition.clone())
            };
            let map = ClassMapper::new(&f.class_map, &f.ignore_classes, classes)
                .with_neighbours(&f.neighbour_classes);
            let mut unknown = std::collections::BTreeSet::new();
            let decoded: Vec<Result<RgbImage, ScenarioError>> = {
                use rayon::prelude::*;
                files
                    .par_iter()
                    .map(|(rel, p)| decode_image(&s.id, rel, p))
                    .collect()
            };
            let mut out = Vec::with_capacity(files.len());
            for (index, ((rel, _), img)) in files.iter().zip(decoded).enumerate() {
                let img = img?;
                let mut gt = Vec::new();
                for obj in golden.get(rel.as_str()).map(Vec::as_slice).unwrap_or(&[]) {
                    match map.map(&obj.class) {
                        Mapped::Class(class_id) => gt.push(obj.to_gt(class_id)),
                        Mapped::Neighbour(class_id) => {
                            let mut g = obj.to_gt(class_id);
                            g.ignore = true;
                            gt.push(g);
                        }
                        Mapped::AllClasses => {
                            for c in 0..classes.len() as u32 {
                                let mut g = obj.to_gt(c);
                                g.ignore = true;
                                gt.push(g);
                            }
                        }
                        Mapped::Dropped => {}
                        Mapped::Unknown => {
                            unknown.insert(obj.class.clone());
                        }
                    }
                }
                out.push(LoadedFrame {
                    index,
                    source: rel.clone(),
                    image: img,
                    gt,
                    condition: condition_of(rel),
                });
            }
            if !unknown.is_empty() {
                return Err(ScenarioError::UnknownClasses {
                    scenario: s.id.clone(),
                    classes: unknown.into_iter().collect::<Vec<_>>().join(", "),
                    known: classes.join(", "),
                    map: map.describe(),
                });
            }
            Ok(out)
        }
    }
}

fn render_frame(
    s: &Scenario,
    g: &adasval_synth::SequenceSpec,
    i: u32,
    classes: &[String],
) -> Result<LoadedFrame, ScenarioError> {
    let f = g.render(i).map_err(|e| ScenarioError::Generate {
        scenario: s.id.clone(),
        frame: i,
        message: e.to_string(),
    })?;
    let mut gt = Vec::with_capacity(f.objects.len());
    let mut unknown = std::collections::BTreeSet::new();
    let map = ClassMapper::new(&g.class_map, &g.ignore_classes, classes);
    for o in &f.objects {
        let name = adasval_synth::CLASS_NAMES
            .get(o.class_id as usize)
            .copied()
            .unwrap_or("?");
        match map.map(name) {
            Mapped::Class(class_id) => gt.push(GtObject {
                class_id,
                bbox: o.bbox,
                ignore: o.ignore,
                crowd: false,
                occlusion: Some(o.occlusion),
                truncation: Some(o.truncation),
                track_id: Some(o.track_id),
            }),
            Mapped::Dropped => {}
            // The generator draws no DontCare regions and a generated scenario names no
            // neighbours; a name that is not a model class is unknown either way.
            Mapped::AllClasses | Mapped::Neighbour(_) | Mapped::Unknown => {
                unknown.insert(name.to_string());
            }
        }
    }
    if !unknown.is_empty() {
        return Err(ScenarioError::UnknownClasses {
            scenario: s.id.clone(),
            classes: unknown.into_iter().collect::<Vec<_>>().join(", "),
            known: classes.join(", "),
            map: map.describe(),
        });
    }
    Ok(LoadedFrame {
        index: i as usize,
        source: format!("generated:{i}"),
        image: RgbImage {
            width: f.width,
            height: f.height,
            data: f.rgb,
        },
        gt,
        condition: serde_json::to_value(f.condition)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string)),
    })
}

pub fn decode_image(id: &str, rel: &str, p: &Path) -> Result<RgbImage, ScenarioError> {
    let err = |message: String| ScenarioError::Image {
        scenario: id.to_string(),
        path: rel.to_string(),
        message,
    };
    let bytes = std::fs::read(p).map_err(|e| err(format!("cannot read: {e}")))?;
    if bytes.starts_with(&[0xFF, 0xD8]) && !jpeg_is_complete(&bytes) {
        return Err(err(
            "truncated JPEG: no end-of-image marker after the image data".into(),
        ));
    }
    let img = image::load_from_memory(&bytes)
        .map_err(|e| err(format!("cannot decode: {e}")))?
        .to_rgb8();
    Ok(RgbImage {
        width: img.width(),
        height: img.height(),
        data: img.into_raw(),
    })
}

/// The decoder fills a cut-off JPEG with grey and reports success, so completeness is
/// checked on the markers: the last start-of-scan must be followed by an end-of-image.
/// Neither marker can occur inside entropy-coded data (a 0xFF there is followed by 0x00 or
/// a restart marker), and an embedded thumbnail's end-of-image comes before the main scan.
fn jpeg_is_complete(b: &[u8]) -> bool {
    let last = |m: u8| b.windows(2).rposition(|w| w == [0xFF, m]);
    matches!((last(0xDA), last(0xD9)), (Some(sos), Some(eoi)) if eoi > sos)
}

enum Mapped {
    Class(u32),
    /// An ignore region of one class (a neighbouring class's object).
    Neighbour(u32),
    /// An ignore region for every class (KITTI DontCare).
    AllClasses,
    Dropped,
    Unknown,
}

struct ClassMapper<'a> {
    map: &'a BTreeMap<String, String>,
    ignore: &'a [String],
    classes: &'a [String],
    neighbours: Option<&'a BTreeMap<String, String>>,
}

impl<'a> ClassMapper<'a> {
    fn new(map: &'a BTreeMap<String, String>, ignore: &'a [String], classes: &'a [String]) -> Self {
        Self {
            map,
            ignore,
            classes,
            neighbours: None,
        }
    }

    fn with_neighbours(mut self, neighbours: &'a BTreeMap<String, String>) -> Self {
        self.neighbours = Some(neighbours);
        self
    }

    /// The map in force, for error messages.
    fn describe(&self) -> String {
        let pairs: Vec<String> = self.map.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        format!("{{{}}}", pairs.join(", "))
    }
    fn map(&self, golden: &str) -> Mapped {
        if self.ignore.iter().any(|c| c == golden) {
            return Mapped::Dropped;
        }
        if golden == labels::DONT_CARE {
            return Mapped::AllClasses;
        }
        if let Some(n) = self.neighbours.and_then(|m| m.get(golden)) {
            return match self.classes.iter().position(|c| c == n) {
                Some(i) => Mapped::Neighbour(i as u32),
                None => Mapped::Unknown,
            };
        }
        let name = self.map.get(golden).map(String::as_str).unwrap_or(golden);
        match self.classes.iter().position(|c| c == name) {
            Some(i) => Mapped::Class(i as u32),
            None => Mapped::Unknown,
        }
    }
}

/// The decoded image of one frame (for drawing it in a report), without labels.
pub fn frame_image(
    ls: &LoadedScenario,
    index: usize,
    data: &DataRoot,
) -> Result<RgbImage, ScenarioError> {
    let s = &ls.scenario;
    match &s.frames {
        FramesSpec::Generate(g) => {
            let f = g
                .render(index as u32)
                .map_err(|e| ScenarioError::Generate {
                    scenario: s.id.clone(),
                    frame: index as u32,
                    message: e.to_string(),
                })?;
            Ok(RgbImage {
                width: f.width,
                height: f.height,
                data: f.rgb,
            })
        }
        FramesSpec::Files(f) => {
            let files = resolve_files(&s.id, f, data)?;
            let (rel, p) = files.get(index).ok_or_else(|| ScenarioError::Invalid {
                scenario: s.id.clone(),
                path: ls.path.display().to_string(),
                field: "frames",
                message: format!("no frame {index}"),
            })?;
            decode_image(&s.id, rel, p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_jpeg_is_refused() {
        let img = image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8])
        });
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(&img)
            .unwrap();
        let t = tempfile::tempdir().unwrap();
        let whole = t.path().join("whole.jpg");
        std::fs::write(&whole, &jpeg).unwrap();
        assert!(decode_image("s", "whole.jpg", &whole).is_ok());
        let cut = t.path().join("cut.jpg");
        std::fs::write(&cut, &jpeg[..jpeg.len() * 2 / 3]).unwrap();
        let err = match decode_image("s", "cut.jpg", &cut) {
            Ok(_) => panic!("a truncated JPEG decoded"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("cut.jpg") && err.contains("truncated"),
            "{err}"
        );
    }

    #[test]
    fn kitti_neighbours_are_ignore_regions_of_their_class_and_dont_care_of_all() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir_all(root.join("data")).unwrap();
        std::fs::create_dir_all(root.join("label_2")).unwrap();
        image::RgbImage::new(64, 48)
            .save(root.join("data/000000.png"))
            .unwrap();
        std::fs::write(
            root.join("label_2/000000.txt"),
            "Car 0.00 0 -10 1 2 30 40 -1 -1 -1 -1000 -1000 -1000 -10\n\
             Van 0.00 0 -10 31 2 60 40 -1 -1 -1 -1000 -1000 -1000 -10\n\
             DontCare -1 -1 -10 0 0 10 10 -1 -1 -1 -1000 -1000 -1000 -10\n",
        )
        .unwrap();
        let yaml = "schema_version: 1\nid: kitti\ntitle: t\ncategory: c\nfps: 10\ndeadline_ms: 50\n\
            frames:\n  files:\n    list: [data/000000.png]\n    labels: {format: kitti, path: label_2}\n    \
            class_map: {Car: car}\n    neighbour_classes: {Van: car}\n";
        let path = root.join("s.yaml");
        let ls = LoadedScenario {
            scenario: Scenario::parse(&path, yaml).unwrap(),
            path,
            sha256: String::new(),
        };
        let classes = vec!["pedestrian".to_string(), "car".to_string()];
        let data = DataRoot {
            root: root.to_path_buf(),
        };
        let frames = load_frames(&ls, &classes, &data, None).unwrap();
        let gt = &frames[0].gt;
        let flags: Vec<(u32, bool, bool)> =
            gt.iter().map(|g| (g.class_id, g.ignore, g.crowd)).collect();
        // The car counts; the Van is an ignore region of `car` only (matched by IoU, used
        // once); DontCare is a region of every class matched by the share inside it.
        assert_eq!(
            flags,
            vec![
                (1, false, false),
                (1, true, false),
                (0, true, true),
                (1, true, true)
            ]
        );
    }

    fn two_frame_coco_project(
        attrs: Option<&str>,
        condition: Option<&str>,
    ) -> (tempfile::TempDir, String) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir_all(root.join("data")).unwrap();
        for i in 0..2 {
            image::RgbImage::new(16, 8)
                .save(root.join(format!("data/f{i}.png")))
                .unwrap();
        }
        std::fs::write(
            root.join("labels.json"),
            r#"{"images":[{"id":1,"file_name":"f0.png","condition":"dusk"},{"id":2,"file_name":"f1.png"}],
               "annotations":[],"categories":[{"id":1,"name":"pedestrian"}]}"#,
        )
        .unwrap();
        let mut yaml = "schema_version: 1\nid: two\ntitle: t\ncategory: c\nfps: 10\ndeadline_ms: 50\n\
            frames:\n  files:\n    glob: data/*.png\n    labels: {format: coco, path: labels.json}\n"
            .to_string();
        if let Some(a) = attrs {
            std::fs::write(root.join("attrs.yaml"), a).unwrap();
            yaml.push_str("    attributes: attrs.yaml\n");
        }
        if let Some(c) = condition {
            yaml.push_str(&format!("    condition: {c}\n"));
        }
        (t, yaml)
    }

    fn conditions(t: &tempfile::TempDir, yaml: &str) -> Result<Vec<Option<String>>, String> {
        let path = t.path().join("s.yaml");
        let ls = LoadedScenario {
            scenario: Scenario::parse(&path, yaml).unwrap(),
            path,
            sha256: String::new(),
        };
        let data = DataRoot {
            root: t.path().to_path_buf(),
        };
        load_frames(&ls, &["pedestrian".to_string()], &data, None)
            .map(|f| f.into_iter().map(|f| f.condition).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn file_frames_take_their_condition_from_attributes_then_labels_then_the_scenario() {
        let s = |v: &str| Some(v.to_string());
        // The COCO image entry gives frame 0's; frame 1 has none.
        let (t, y) = two_frame_coco_project(None, None);
        assert_eq!(conditions(&t, &y).unwrap(), vec![s("dusk"), None]);
        // The scenario's condition fills the gap, the labels' stays.
        let (t, y) = two_frame_coco_project(None, Some("rain"));
        assert_eq!(conditions(&t, &y).unwrap(), vec![s("dusk"), s("rain")]);
        // The attribute file comes first.
        let (t, y) = two_frame_coco_project(
            Some("data/f0.png: {condition: night}\ndata/f1.png: {condition: day}\n"),
            Some("rain"),
        );
        assert_eq!(conditions(&t, &y).unwrap(), vec![s("night"), s("day")]);
        // A frame it does not list is named.
        let (t, y) = two_frame_coco_project(Some("data/f0.png: {condition: night}\n"), None);
        let e = conditions(&t, &y).unwrap_err();
        assert!(
            e.contains("attrs.yaml does not cover 1 frame(s)") && e.contains("data/f1.png"),
            "{e}"
        );
        // An attribute it does not know lists the valid one.
        let (t, y) = two_frame_coco_project(
            Some("data/f0.png: {weather: fog}\ndata/f1.png: {condition: day}\n"),
            None,
        );
        let e = conditions(&t, &y).unwrap_err();
        assert!(e.contains("weather") && e.contains("condition"), "{e}");
    }
}
