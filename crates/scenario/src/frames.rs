//! Frames of a loaded scenario: image files decoded or sequences rendered, golden labels
//! imported and mapped onto a model's classes, corruptions applied, all before timing.

use super::*;

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

/// Decode (or render) frames and import their golden labels, mapped to `classes`; a rung of
/// a corruption ladder gets its frames corrupted here, before anything is timed.
pub fn load_frames(
    ls: &LoadedScenario,
    classes: &JudgedClasses,
    data: &DataRoot,
    max_frames: Option<usize>,
) -> Result<Vec<LoadedFrame>, ScenarioError> {
    let mut frames = load_clean_frames(ls, classes, data, max_frames)?;
    if let Some(a) = &ls.scenario.applied {
        use rayon::prelude::*;
        frames
            .par_iter_mut()
            .map(|f| {
                f.image = adasval_corrupt::apply(
                    &f.image,
                    a.corruption,
                    a.severity,
                    a.seed,
                    f.index as u64,
                )
                .map_err(|source| ScenarioError::Corrupt {
                    scenario: ls.scenario.id.clone(),
                    frame: f.index,
                    source,
                })?;
                Ok(())
            })
            .collect::<Result<(), ScenarioError>>()?;
    }
    Ok(frames)
}

fn load_clean_frames(
    ls: &LoadedScenario,
    classes: &JudgedClasses,
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
        FramesSpec::Ncap(spec) => {
            let seq = spec.to_sequence().map_err(|e| ScenarioError::Invalid {
                scenario: s.id.clone(),
                path: ls.path.display().to_string(),
                field: "frames.ncap",
                message: e.to_string(),
            })?;
            let n = max_frames.map_or(seq.frames as usize, |m| m.min(seq.frames as usize));
            let rendered: Vec<Result<LoadedFrame, ScenarioError>> = {
                use rayon::prelude::*;
                (0..n)
                    .into_par_iter()
                    .map(|i| {
                        let mut f = render_frame(s, &seq, i as u32, classes)?;
                        label_target(s, spec, i as u32, &mut f)?;
                        Ok(f)
                    })
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
            let n_classes = classes.classes.len() as u32;
            // Each unknown class with where it first occurs (label file and line).
            let mut unknown = BTreeMap::new();
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
                            for c in 0..n_classes {
                                let mut g = obj.to_gt(c);
                                g.ignore = true;
                                gt.push(g);
                            }
                        }
                        Mapped::Dropped => {}
                        Mapped::Unknown => {
                            unknown.entry(obj.class.clone()).or_insert_with(|| {
                                obj.origin.clone().unwrap_or_else(|| rel.clone())
                            });
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
                return Err(map.unknown_classes(&s.id, unknown));
            }
            Ok(out)
        }
    }
}

/// The target of an NCAP instance carries its time to collision and distance.
fn label_target(
    s: &Scenario,
    spec: &adasval_synth::ncap::NcapSpec,
    frame: u32,
    f: &mut LoadedFrame,
) -> Result<(), ScenarioError> {
    let (ttc, distance) = spec
        .ttc_distance(frame)
        .map_err(|e| ScenarioError::Generate {
            scenario: s.id.clone(),
            frame,
            message: e.to_string(),
        })?;
    for g in
        f.gt.iter_mut()
            .filter(|g| g.track_id == Some(adasval_synth::ncap::TARGET_TRACK))
    {
        g.ttc_s = Some(ttc);
        g.distance_m = Some(distance);
    }
    Ok(())
}

fn render_frame(
    s: &Scenario,
    g: &adasval_synth::SequenceSpec,
    i: u32,
    classes: &JudgedClasses,
) -> Result<LoadedFrame, ScenarioError> {
    let f = g.render(i).map_err(|e| ScenarioError::Generate {
        scenario: s.id.clone(),
        frame: i,
        message: e.to_string(),
    })?;
    let mut gt = Vec::with_capacity(f.objects.len());
    let mut unknown = BTreeMap::new();
    let map = ClassMapper::new(&g.class_map, &g.ignore_classes, classes);
    for o in &f.objects {
        let name = adasval_synth::CLASS_NAMES
            .get(o.class_id as usize)
            .copied()
            .unwrap_or("?");
        let object = |class_id, ignore| GtObject {
            class_id,
            bbox: o.bbox,
            ignore,
            crowd: false,
            occlusion: Some(o.occlusion),
            truncation: Some(o.truncation),
            track_id: Some(o.track_id),
            ttc_s: None,
            distance_m: None,
        };
        match map.map(name) {
            Mapped::Class(class_id) => gt.push(object(class_id, o.ignore)),
            // A class this engine cannot detect: an ignore region of every class it can.
            Mapped::AllClasses => {
                for c in 0..classes.classes.len() as u32 {
                    gt.push(object(c, true));
                }
            }
            Mapped::Dropped => {}
            // A generated scenario names no neighbours; a name that is not a judged class
            // is unknown.
            Mapped::Neighbour(_) | Mapped::Unknown => {
                unknown
                    .entry(name.to_string())
                    .or_insert_with(|| format!("{} (generated frame {i})", s.id));
            }
        }
    }
    if !unknown.is_empty() {
        return Err(map.unknown_classes(&s.id, unknown));
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
    classes: &'a JudgedClasses,
    neighbours: Option<&'a BTreeMap<String, String>>,
}

impl<'a> ClassMapper<'a> {
    fn new(
        map: &'a BTreeMap<String, String>,
        ignore: &'a [String],
        classes: &'a JudgedClasses,
    ) -> Self {
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

    /// The error for golden class names that map to no judged class, each with where it
    /// first occurs.
    fn unknown_classes(&self, scenario: &str, unknown: BTreeMap<String, String>) -> ScenarioError {
        ScenarioError::UnknownClasses {
            scenario: scenario.to_string(),
            classes: unknown
                .iter()
                .map(|(c, at)| format!("`{c}` (first at {at})"))
                .collect::<Vec<_>>()
                .join(", "),
            known: self.classes.classes.join(", "),
            map: self.describe(),
            adapter_map: self
                .classes
                .map
                .as_ref()
                .map(|m| {
                    format!(
                        "; the adapter's scenario_classes: {m} (cannot detect: {})",
                        if self.classes.not_detectable.is_empty() {
                            "none".to_string()
                        } else {
                            self.classes.not_detectable.join(", ")
                        }
                    )
                })
                .unwrap_or_default(),
        }
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
        let classes = &self.classes.classes;
        if let Some(n) = self.neighbours.and_then(|m| m.get(golden)) {
            return match classes.iter().position(|c| c == n) {
                Some(i) => Mapped::Neighbour(i as u32),
                None => Mapped::Unknown,
            };
        }
        let name = self.map.get(golden).map(String::as_str).unwrap_or(golden);
        match classes.iter().position(|c| c == name) {
            Some(i) => Mapped::Class(i as u32),
            // A scenario class the engine cannot detect: nothing can be asked of it there,
            // and a detection on it is not a false positive.
            None if self.classes.not_detectable.iter().any(|c| c == name) => Mapped::AllClasses,
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
        FramesSpec::Ncap(spec) => {
            let generate = |message: String| ScenarioError::Generate {
                scenario: s.id.clone(),
                frame: index as u32,
                message,
            };
            let f = spec
                .to_sequence()
                .and_then(|seq| seq.render(index as u32))
                .map_err(|e| generate(e.to_string()))?;
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
