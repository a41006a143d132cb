//! Scenarios: `scenarios/<id>.yaml` describes what to replay (image files with golden
//! labels, or a generated sequence), its frame rate, per-frame deadline and the
//! requirements it serves. Loading decodes every frame into memory before any timing.

#![allow(clippy::result_large_err)]

pub mod attributes;
pub mod labels;
pub mod sweep;

mod frames;
mod project;
pub use adasval_record::scenario_classes::JudgedClasses;
pub use frames::{decode_image, frame_image, load_frames, resolve_files, DataRoot, LoadedFrame};
pub use project::{load_all, load_all_with, load_one, Profile, CATALOGUE_DIR};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use adasval_core::paths::{resolve_inside, PathEscape};
use adasval_core::rgb::RgbImage;
use adasval_core::types::GtObject;
use adasval_core::yamlfile::{self, YamlError};
use adasval_corrupt::{CorruptError, Corruption, Severity};
use serde_saphyr::Spanned;

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
    /// Parameters to vary: the file is a family, expanded into one instance per
    /// combination (see [`sweep`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<BTreeMap<String, sweep::SweepValues>>,
    /// The family an expanded instance belongs to (the file's id); set by the expansion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The swept parameter values of an instance; set by the expansion.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// Corruption ladders: each (corruption, severity) becomes a scenario of its own,
    /// `<id>.<corruption>-<severity>`, replayed on the corrupted frames (`load_all`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corruptions: Vec<CorruptionLadder>,
    /// Set on a rung of a ladder: the corruption its frames get. Never read from a file.
    #[serde(skip)]
    pub applied: Option<AppliedCorruption>,
}

/// `corruptions: [{type: gaussian_noise, severity: [1, 2, 3, 4, 5], seed: 0}, ...]`.
/// Names and severities keep their place in the file so a bad one is reported at its line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CorruptionLadder {
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub severity: Vec<Spanned<i64>>,
    /// Seed of the random draws, combined with each frame's index (default 0).
    #[serde(default)]
    pub seed: u64,
}

/// One rung of a ladder, as applied to a derived scenario's frames.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedCorruption {
    /// The clean scenario's id.
    pub base: String,
    pub corruption: Corruption,
    pub severity: Severity,
    pub seed: u64,
}

impl AppliedCorruption {
    pub fn record(&self) -> adasval_record::record::CorruptionRecord {
        adasval_record::record::CorruptionRecord {
            base: self.base.clone(),
            kind: self.corruption.name().to_string(),
            severity: self.severity.level(),
            seed: self.seed,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TimingDefaults {
    #[serde(default)]
    pub repetitions: Option<u32>,
    #[serde(default)]
    pub warmup: Option<u32>,
    /// Repetitions for named engines of the lock, in place of `repetitions`: the engine under
    /// release can replay a timing scenario often enough for a far-tail pWCET while a
    /// comparison build replays it a few times (its latency spread and high-water mark).
    /// `validate --repetitions` overrides both. A name the project's lock does not hold
    /// applies to nothing, so a scenario file runs unedited in another project; each trace
    /// records the count it used (`settings.repetitions` in run.json).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub engine_repetitions: BTreeMap<String, u32>,
}

impl TimingDefaults {
    /// The repetitions this scenario asks of `engine` (before `--repetitions`).
    pub fn repetitions_for(&self, engine: &str) -> Option<u32> {
        self.engine_repetitions
            .get(engine)
            .copied()
            .or(self.repetitions)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FramesSpec {
    /// A sequence rendered by the scene generator; golden labels come from the same description.
    Generate(adasval_synth::SequenceSpec),
    /// Image files with golden labels.
    Files(FileFrames),
    /// A Euro NCAP AEB VRU family instance (docs/SCENARIOS.md); rendered by the generator,
    /// each frame's target labelled with its time to collision and distance.
    Ncap(adasval_synth::ncap::NcapSpec),
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
    #[error("scenario `{scenario}`: unknown classes in golden labels: {classes} (map them with `class_map` or list them in `ignore_classes`; model classes: {known}; class_map in force: {map}{adapter_map})")]
    UnknownClasses {
        scenario: String,
        /// Each class with where it first occurs (label file and line where known).
        classes: String,
        known: String,
        /// The scenario's `class_map`, as `{a: b, ...}` (`{}` when none).
        map: String,
        /// The adapter's `scenario_classes` in force, when it has one (else empty).
        adapter_map: String,
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
    #[error("scenario `{scenario}`: frame {frame}: {source}")]
    Corrupt {
        scenario: String,
        frame: usize,
        source: CorruptError,
    },
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
        if let Some(t) = &self.timing {
            if t.repetitions == Some(0) {
                return Err(bad("timing.repetitions", "must be at least 1".into()));
            }
            for (engine, n) in &t.engine_repetitions {
                if let Err(e) = adasval_core::names::check("engine", engine) {
                    return Err(bad("timing.engine_repetitions", e.to_string()));
                }
                if *n == 0 {
                    return Err(bad(
                        "timing.engine_repetitions",
                        format!("`{engine}`: must be at least 1"),
                    ));
                }
            }
        }
        let generated = match &self.frames {
            FramesSpec::Generate(g) => {
                g.validate()
                    .map_err(|e| bad("frames.generate", e.to_string()))?;
                Some(("frames.generate", &g.class_map, &g.ignore_classes))
            }
            FramesSpec::Ncap(n) => {
                n.validate()
                    .map_err(|e| bad("frames.ncap", e.to_string()))?;
                Some(("frames.ncap", &n.class_map, &n.ignore_classes))
            }
            FramesSpec::Files(_) => None,
        };
        if let Some((field, class_map, ignore_classes)) = generated {
            // A key the generator never draws would map nothing and hide a typo.
            let valid = adasval_synth::CLASS_NAMES;
            let stray = class_map
                .keys()
                .map(|k| ("class_map", k))
                .chain(ignore_classes.iter().map(|k| ("ignore_classes", k)))
                .find(|(_, k)| !valid.contains(&k.as_str()));
            if let Some((sub, k)) = stray {
                return Err(bad(
                    if field == "frames.ncap" {
                        if sub == "class_map" {
                            "frames.ncap.class_map"
                        } else {
                            "frames.ncap.ignore_classes"
                        }
                    } else if sub == "class_map" {
                        "frames.generate.class_map"
                    } else {
                        "frames.generate.ignore_classes"
                    },
                    format!(
                        "`{k}` is not a class the generator draws ({})",
                        valid.join(", ")
                    ),
                ));
            }
        }
        if self.sweep.is_some() {
            // Names and values are checked here, the size where the limit is known.
            let unlimited = sweep::ExpandLimits {
                max_instances: usize::MAX,
                allow_large: true,
            };
            let instances =
                sweep::expand(self, unlimited).map_err(|e| bad("sweep", e.to_string()))?;
            for inst in &instances {
                if let Err(e) = adasval_core::names::check("scenario", &inst.id) {
                    return Err(bad("sweep", format!("instance id: {e}")));
                }
                inst.validate_frames(path)?;
            }
        }
        match &self.frames {
            FramesSpec::Generate(_) | FramesSpec::Ncap(_) => {}
            FramesSpec::Files(f) => {
                if f.list.is_empty() && f.glob.is_none() {
                    return Err(bad("frames.files", "give `list` or `glob`".into()));
                }
            }
        }
        self.rungs(path)?;
        Ok(())
    }

    /// The frame description of an expanded instance is valid (a swept value may put it
    /// out of range, e.g. an ego slower than the target ahead).
    fn validate_frames(&self, path: &Path) -> Result<(), ScenarioError> {
        let bad = |field, message: String| ScenarioError::Invalid {
            scenario: self.id.clone(),
            path: path.display().to_string(),
            field,
            message,
        };
        match &self.frames {
            FramesSpec::Generate(g) => g
                .validate()
                .map_err(|e| bad("frames.generate", e.to_string())),
            FramesSpec::Ncap(n) => n.validate().map_err(|e| bad("frames.ncap", e.to_string())),
            FramesSpec::Files(_) => Ok(()),
        }
    }

    /// The scenarios of this one's corruption ladders, in the order written.
    pub fn rungs(&self, path: &Path) -> Result<Vec<Scenario>, ScenarioError> {
        let at = |field: &str, loc: &serde_saphyr::Location, message: String| {
            ScenarioError::Yaml(YamlError {
                path: path.to_path_buf(),
                line: Some(loc.line()).filter(|l| *l > 0),
                column: Some(loc.column()).filter(|c| *c > 0),
                field: Some(format!("corruptions.{field}")),
                message,
            })
        };
        let mut out: Vec<Scenario> = Vec::new();
        for ladder in &self.corruptions {
            let kind = Corruption::parse(&ladder.kind.value)
                .map_err(|e| at("type", &ladder.kind.referenced, e.to_string()))?;
            if ladder.severity.is_empty() {
                return Err(at(
                    "severity",
                    &ladder.kind.referenced,
                    format!("`{kind}` lists no severity (give some of 1–5)"),
                ));
            }
            for level in &ladder.severity {
                let severity = Severity::new(level.value)
                    .map_err(|e| at("severity", &level.referenced, e.to_string()))?;
                let id = format!("{}.{}-{}", self.id, kind, severity.level());
                if out.iter().any(|r| r.id == id) {
                    return Err(at(
                        "severity",
                        &level.referenced,
                        format!("`{kind}` severity {} is listed twice", severity.level()),
                    ));
                }
                adasval_core::names::check("scenario", &id).map_err(|e| {
                    at(
                        "type",
                        &ladder.kind.referenced,
                        format!("corruption rung: {e}"),
                    )
                })?;
                let mut tags = self.tags.clone();
                tags.push("corrupted".into());
                out.push(Scenario {
                    id,
                    title: format!("{} ({} severity {})", self.title, kind, severity.level()),
                    tags,
                    // A requirement states what the clean scenario must meet; the rungs are
                    // measured (robustness), not gated.
                    requirements: Vec::new(),
                    corruptions: Vec::new(),
                    applied: Some(AppliedCorruption {
                        base: self.id.clone(),
                        corruption: kind,
                        severity,
                        seed: ladder.seed,
                    }),
                    ..self.clone()
                });
            }
        }
        Ok(out)
    }

    pub fn has_any_tag(&self, tags: &[String]) -> bool {
        tags.iter()
            .any(|t| self.tags.contains(t) || &self.category == t)
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

    const LADDER: &str = "schema_version: 1
id: s1
title: t
category: timing
fps: 10
deadline_ms: 50
frames:
  generate:
    seed: 1
    frames: 3
    fps: 10
    width: 64
    height: 48
    actors: []
corruptions:
  - type: contrast
    severity: [1, 3]
  - type: CORRUPTION
    severity: [SEVERITY]
";

    fn ladder(kind: &str, severity: &str) -> String {
        LADDER
            .replace("CORRUPTION", kind)
            .replace("SEVERITY", severity)
    }

    fn error_of(text: &str) -> String {
        match Scenario::parse(Path::new("scenarios/s1.yaml"), text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn unknown_corruption_names_file_line_and_the_valid_ones() {
        let e = error_of(&ladder("gausian_noise", "2"));
        assert!(e.contains("scenarios/s1.yaml:18"), "{e}");
        assert!(e.contains("Did you mean `gaussian_noise`?"), "{e}");
        assert!(e.contains("pixelate"), "{e}");
    }

    #[test]
    fn severity_outside_one_to_five_is_refused_with_its_line() {
        for bad in ["0", "6", "-1"] {
            let e = error_of(&ladder("fog", bad));
            assert!(e.contains("scenarios/s1.yaml:19"), "{e}");
            assert!(e.contains(&format!("severity {bad} is outside 1–5")), "{e}");
        }
    }

    #[test]
    fn each_rung_is_a_scenario_with_its_corruption_and_no_requirements() {
        let text = ladder("gaussian_noise", "5");
        let path = Path::new("scenarios/s1.yaml");
        let mut s = Scenario::parse(path, &text).unwrap();
        s.requirements = vec!["REQ-X".into()];
        let rungs = s.rungs(path).unwrap();
        let ids: Vec<&str> = rungs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            ["s1.contrast-1", "s1.contrast-3", "s1.gaussian_noise-5"]
        );
        assert!(rungs
            .iter()
            .all(|r| r.requirements.is_empty() && r.corruptions.is_empty()));
        let a = rungs[2].applied.as_ref().unwrap();
        assert_eq!(
            (a.base.as_str(), a.corruption.name(), a.severity.level()),
            ("s1", "gaussian_noise", 5)
        );

        // The rung's frames are the base's, corrupted; the clean ones are untouched.
        let ls = |scenario: Scenario| LoadedScenario {
            scenario,
            path: path.into(),
            sha256: String::new(),
        };
        let data = DataRoot {
            root: PathBuf::from("."),
        };
        let classes: Vec<String> = adasval_synth::CLASS_NAMES
            .iter()
            .map(|c| c.to_string())
            .collect();
        let classes = JudgedClasses::own(&classes, &[]);
        let clean = load_frames(&ls(s.clone()), &classes, &data, None).unwrap();
        let noisy = load_frames(&ls(rungs[2].clone()), &classes, &data, None).unwrap();
        assert_eq!(clean.len(), noisy.len());
        for (c, n) in clean.iter().zip(&noisy) {
            assert_ne!(c.image.data, n.image.data);
            assert_eq!(c.gt, n.gt);
        }
    }

    #[test]
    fn a_rung_listed_twice_is_refused() {
        let text = ladder("contrast", "3");
        let e = match Scenario::parse(Path::new("scenarios/s1.yaml"), &text)
            .and_then(|s| s.rungs(Path::new("scenarios/s1.yaml")))
        {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        };
        assert!(
            e.contains("listed twice") && e.contains("corruptions"),
            "{e}"
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
        let classes = JudgedClasses::own(&["pedestrian".to_string(), "car".to_string()], &[]);
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
        load_frames(
            &ls,
            &JudgedClasses::own(&["pedestrian".to_string()], &[]),
            &data,
            None,
        )
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

    #[test]
    fn bdd100k_frames_keep_their_condition_crowd_regions_and_mapped_classes() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::create_dir_all(root.join("data")).unwrap();
        for i in 0..2 {
            image::RgbImage::new(64, 48)
                .save(root.join(format!("data/f{i}.png")))
                .unwrap();
        }
        std::fs::write(
            root.join("bdd.json"),
            r#"[{"name": "f0.png", "attributes": {"weather": "rainy", "timeofday": "daytime"},
                 "labels": [{"category": "person", "attributes": {"occluded": false},
                             "box2d": {"x1": 2, "y1": 3, "x2": 11, "y2": 32}},
                            {"category": "other person", "box2d": {"x1": 40, "y1": 3, "x2": 49, "y2": 22}},
                            {"category": "traffic sign", "box2d": {"x1": 1, "y1": 1, "x2": 5, "y2": 5}}]},
                {"name": "f1.png", "attributes": {"weather": "clear", "timeofday": "night"}}]"#,
        )
        .unwrap();
        let yaml = "schema_version: 1\nid: bdd\ntitle: t\ncategory: c\nfps: 10\ndeadline_ms: 50\n\
            frames:\n  files:\n    glob: data/*.png\n    labels: {format: bdd100k, path: bdd.json}\n\
            \x20   ignore_classes: [traffic sign]\n";
        let path = root.join("s.yaml");
        let ls = LoadedScenario {
            scenario: Scenario::parse(&path, yaml).unwrap(),
            path,
            sha256: String::new(),
        };
        let data = DataRoot {
            root: root.to_path_buf(),
        };
        let frames = load_frames(
            &ls,
            &JudgedClasses::own(&["pedestrian".to_string()], &[]),
            &data,
            None,
        )
        .unwrap();
        let cond: Vec<_> = frames.iter().map(|f| f.condition.clone()).collect();
        assert_eq!(
            cond,
            vec![Some("rain".to_string()), Some("night".to_string())]
        );
        let gt = &frames[0].gt;
        assert_eq!(gt.len(), 2, "{gt:?}");
        assert_eq!(
            (gt[0].bbox, gt[0].crowd, gt[0].occlusion),
            ([2.0, 3.0, 10.0, 30.0], false, Some(0.0))
        );
        assert_eq!((gt[1].class_id, gt[1].crowd), (0, true));
        assert!(frames[1].gt.is_empty());
    }
}
