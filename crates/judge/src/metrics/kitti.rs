//! KITTI 2-D object detection evaluation as the devkit defines it (`adasval eval --kitti`).
//!
//! The semantics are the devkit's (`evaluate_object.cpp`, and its Python port
//! kitti-object-eval-python, the oracle of `tests/reference/kitti_equivalence.rs`), kept
//! statement for statement so the figures agree to rounding:
//!
//! - **Difficulty** ([`Difficulty`]): an object counts at a level when its box is taller than
//!   40 / 25 / 25 px (Easy / Moderate / Hard), its occlusion level is at most 0 / 1 / 2 and its
//!   truncation at most 0.15 / 0.3 / 0.5. Level 3 ("unknown") is above every maximum, so such
//!   an object never counts; like any object of the class outside the level it is ignored: a
//!   detection on it is neither a true nor a false positive, missing it is not a miss.
//! - **Neighbouring classes** (Van for Car, Person_sitting for Pedestrian) are ignored the
//!   same way: neither rewarded nor penalised.
//! - **Detections** lower than the level's minimum height are ignored (they may take an
//!   object without scoring it).
//! - **`DontCare` regions**: a detection that matches nothing is not a false positive when
//!   more than the class's minimum overlap of its own area lies inside a `DontCare` box.
//! - **Matching**: overlap strictly above 0.7 (Car, Van, Truck) or 0.5 (Pedestrian,
//!   Person_sitting, Cyclist); each object takes the highest-scoring free detection when
//!   collecting the score thresholds, the best-overlapping one when counting at a threshold.
//! - **AP**: 41 score thresholds chosen at recall steps of 1/40 over the true positives'
//!   scores; precision made monotone from the right; AP|R11 the mean of the precision at
//!   thresholds 0, 4, …, 40, AP|R40 the mean at 1…40. The devkit prints percentages; adasval
//!   reports fractions.
//!
//! Where a class has no counted object at a level the devkit prints an AP of 0; adasval says
//! the AP is undefined (`None`) and gives the number of objects.

use super::error::MetricsError;
use adasval_record::kitti::{self, KittiObject, DONT_CARE};
use serde::Serialize;
use std::path::Path;

/// The devkit's difficulty levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Difficulty {
    Easy,
    Moderate,
    Hard,
}

impl Difficulty {
    pub const ALL: [Difficulty; 3] = [Difficulty::Easy, Difficulty::Moderate, Difficulty::Hard];

    /// A box must be taller than this (pixels) to count.
    pub fn min_height(self) -> f64 {
        match self {
            Difficulty::Easy => 40.0,
            Difficulty::Moderate | Difficulty::Hard => 25.0,
        }
    }

    /// The highest occlusion level that counts.
    pub fn max_occlusion(self) -> i8 {
        match self {
            Difficulty::Easy => 0,
            Difficulty::Moderate => 1,
            Difficulty::Hard => 2,
        }
    }

    /// The largest truncation that counts.
    pub fn max_truncation(self) -> f64 {
        match self {
            Difficulty::Easy => 0.15,
            Difficulty::Moderate => 0.3,
            Difficulty::Hard => 0.5,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Difficulty::Easy => "easy",
            Difficulty::Moderate => "moderate",
            Difficulty::Hard => "hard",
        }
    }

    /// Whether an object of the evaluated class counts at this level.
    pub fn admits(self, o: &KittiObject) -> bool {
        i32::from(o.occluded) <= i32::from(self.max_occlusion())
            && o.truncated <= self.max_truncation()
            && o.height() > self.min_height()
    }
}

/// A class the devkit evaluates, with its overlap threshold and its neighbouring class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KittiClass {
    pub name: &'static str,
    /// A detection matches an object when their IoU is strictly above this.
    pub min_overlap: f64,
    /// Objects of this class are neither rewarded nor penalised.
    pub neighbour: Option<&'static str>,
}

/// The devkit's classes and their 2-D overlap thresholds.
pub const CLASSES: [KittiClass; 6] = [
    KittiClass {
        name: "Car",
        min_overlap: 0.7,
        neighbour: Some("Van"),
    },
    KittiClass {
        name: "Pedestrian",
        min_overlap: 0.5,
        neighbour: Some("Person_sitting"),
    },
    KittiClass {
        name: "Cyclist",
        min_overlap: 0.5,
        neighbour: None,
    },
    KittiClass {
        name: "Van",
        min_overlap: 0.7,
        neighbour: None,
    },
    KittiClass {
        name: "Person_sitting",
        min_overlap: 0.5,
        neighbour: None,
    },
    KittiClass {
        name: "Truck",
        min_overlap: 0.7,
        neighbour: None,
    },
];

/// The classes of the KITTI 2-D benchmark's results table.
pub const DEFAULT_CLASSES: [&str; 3] = ["Car", "Pedestrian", "Cyclist"];

/// A class by name, case-insensitively (the devkit lower-cases names).
pub fn class_by_name(name: &str) -> Result<KittiClass, MetricsError> {
    CLASSES
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .copied()
        .ok_or_else(|| MetricsError::UnknownKittiClass {
            name: name.to_string(),
            valid: CLASSES
                .iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// One frame: its labels (with `DontCare` lines) and its detections.
#[derive(Debug, Clone, Default)]
pub struct KittiFrame {
    pub name: String,
    pub gt: Vec<KittiObject>,
    pub dt: Vec<KittiObject>,
}

/// Counts over every detection (no score threshold).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KittiCounts {
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    /// Objects of a neighbouring class or outside the level, or counted objects taken only
    /// by a detection below the level's height: matched, neither rewarded nor penalised.
    pub ignored_matches: usize,
    /// Unmatched detections mostly inside a `DontCare` region: not false positives.
    pub in_dont_care: usize,
}

/// One class at one difficulty level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KittiLevel {
    pub difficulty: Difficulty,
    /// Objects that count at this level.
    pub objects: usize,
    /// AP at 11 recall points (fraction); `None` without any counted object.
    pub ap11: Option<f64>,
    /// AP at 40 recall points (fraction); `None` without any counted object.
    pub ap40: Option<f64>,
    pub counts: KittiCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KittiClassResult {
    pub class: String,
    pub min_overlap: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neighbour: Option<String>,
    pub levels: Vec<KittiLevel>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KittiReport {
    pub frames: usize,
    pub classes: Vec<KittiClassResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What a `null` AP of the JSON report means.
pub const UNDEFINED_MEANS: &str =
    "undefined: no object of the class counts at that difficulty (the devkit prints 0)";

/// The rules in force, printed beside the figures.
pub const RULES: &str = "KITTI devkit 2-D rules: easy/moderate/hard = height > 40/25/25 px, \
occlusion <= 0/1/2 (3 = unknown never counts), truncation <= 0.15/0.3/0.5; objects outside the \
level and neighbouring classes (Van for Car, Person_sitting for Pedestrian) are ignored; \
detections below the level's height are ignored; a detection more than the class's overlap \
inside a DontCare region is not a false positive; match when IoU > 0.7 (Car, Van, Truck) or \
0.5 (Pedestrian, Person_sitting, Cyclist)";

/// The devkit's marks: −1 not of the class (skipped), 0 counted, 1 ignored.
const SKIP: i8 = -1;
const COUNTED: i8 = 0;
const IGNORED: i8 = 1;

/// One frame prepared for one class and level (the devkit's `clean_data`).
struct Prepared<'a> {
    frame: &'a KittiFrame,
    gt_mark: Vec<i8>,
    dt_mark: Vec<i8>,
    dont_care: Vec<[f64; 4]>,
    /// Overlap of detection `j` with object `i`, row-major by detection.
    overlaps: Vec<f64>,
    counted: usize,
}

fn prepare<'a>(frame: &'a KittiFrame, class: &KittiClass, level: Difficulty) -> Prepared<'a> {
    let mut counted = 0;
    let gt_mark = frame
        .gt
        .iter()
        .map(|g| {
            let of_class = g.class.eq_ignore_ascii_case(class.name);
            let neighbour = class
                .neighbour
                .is_some_and(|n| g.class.eq_ignore_ascii_case(n));
            if of_class && level.admits(g) {
                counted += 1;
                COUNTED
            } else if of_class || neighbour {
                IGNORED
            } else {
                SKIP
            }
        })
        .collect();
    let dont_care = frame
        .gt
        .iter()
        .filter(|g| g.class == DONT_CARE)
        .map(|g| g.bbox)
        .collect();
    let dt_mark = frame
        .dt
        .iter()
        .map(|d| {
            // The devkit ignores every small detection, of any class: it may still take an
            // object of this class from the detections that would otherwise miss it.
            if (d.bbox[3] - d.bbox[1]).abs() < level.min_height() {
                IGNORED
            } else if d.class.eq_ignore_ascii_case(class.name) {
                COUNTED
            } else {
                SKIP
            }
        })
        .collect();
    let overlaps = frame
        .dt
        .iter()
        .flat_map(|d| {
            frame
                .gt
                .iter()
                .map(move |g| overlap(&d.bbox, &g.bbox, false))
        })
        .collect();
    Prepared {
        frame,
        gt_mark,
        dt_mark,
        dont_care,
        overlaps,
        counted,
    }
}

/// The devkit's `image_box_overlap` (no +1 pixel): IoU, or with `of_detection` the share of
/// the detection's own area inside `b` (the `DontCare` test). Operation order as there.
fn overlap(d: &[f64; 4], b: &[f64; 4], of_detection: bool) -> f64 {
    let iw = d[2].min(b[2]) - d[0].max(b[0]);
    if iw <= 0.0 {
        return 0.0;
    }
    let ih = d[3].min(b[3]) - d[1].max(b[1]);
    if ih <= 0.0 {
        return 0.0;
    }
    let da = (d[2] - d[0]) * (d[3] - d[1]);
    let ua = if of_detection {
        da
    } else {
        da + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    };
    iw * ih / ua
}

/// How a frame is counted: at a score threshold (`Some`), or to collect the true positives'
/// scores (`None`: every detection takes part, each object takes the highest-scoring one).
#[derive(Default)]
struct FrameStats {
    counts: KittiCounts,
    tp_scores: Vec<f64>,
}

/// The devkit's `compute_statistics_jit` for one frame.
fn frame_stats(p: &Prepared, min_overlap: f64, threshold: Option<f64>) -> FrameStats {
    let (gt, dt) = (&p.frame.gt, &p.frame.dt);
    let score = |j: usize| dt[j].score.unwrap_or(0.0);
    let mut assigned = vec![false; dt.len()];
    let below: Vec<bool> = (0..dt.len())
        .map(|j| threshold.is_some_and(|t| score(j) < t))
        .collect();
    let mut s = FrameStats::default();
    for i in 0..gt.len() {
        if p.gt_mark[i] == SKIP {
            continue;
        }
        let mut det: Option<usize> = None;
        let mut best_score = f64::NEG_INFINITY;
        let mut max_overlap = 0.0;
        let mut took_ignored = false;
        for j in 0..dt.len() {
            if p.dt_mark[j] == SKIP || assigned[j] || below[j] {
                continue;
            }
            let ov = p.overlaps[j * gt.len() + i];
            if ov <= min_overlap {
                continue;
            }
            match threshold {
                None => {
                    if score(j) > best_score {
                        det = Some(j);
                        best_score = score(j);
                    }
                }
                // A counted detection with a better overlap, or any counted one over an
                // ignored one; an ignored detection only when nothing else was found.
                Some(_) if p.dt_mark[j] == COUNTED && (ov > max_overlap || took_ignored) => {
                    max_overlap = ov;
                    det = Some(j);
                    took_ignored = false;
                }
                Some(_) if det.is_none() && p.dt_mark[j] == IGNORED => {
                    det = Some(j);
                    took_ignored = true;
                }
                Some(_) => {}
            }
        }
        match det {
            None if p.gt_mark[i] == COUNTED => s.counts.fn_ += 1,
            None => {}
            Some(j) if p.gt_mark[i] == IGNORED || p.dt_mark[j] == IGNORED => {
                assigned[j] = true;
                s.counts.ignored_matches += 1;
            }
            Some(j) => {
                assigned[j] = true;
                s.counts.tp += 1;
                s.tp_scores.push(score(j));
            }
        }
    }
    if threshold.is_some() {
        let free =
            |j: usize, assigned: &[bool]| !(assigned[j] || p.dt_mark[j] != COUNTED || below[j]);
        s.counts.fp = (0..dt.len()).filter(|&j| free(j, &assigned)).count();
        for dc in &p.dont_care {
            for j in 0..dt.len() {
                if free(j, &assigned) && overlap(&dt[j].bbox, dc, true) > min_overlap {
                    assigned[j] = true;
                    s.counts.in_dont_care += 1;
                }
            }
        }
        s.counts.fp -= s.counts.in_dont_care;
    }
    s
}

/// The devkit's `get_thresholds`: from the true positives' scores, the ones nearest to each
/// recall step of 1/40.
fn thresholds(mut scores: Vec<f64>, counted: usize) -> Vec<f64> {
    scores.sort_by(|a, b| b.total_cmp(a));
    let n = counted as f64;
    let mut current = 0.0;
    let mut out = Vec::new();
    for (i, &s) in scores.iter().enumerate() {
        let last = i + 1 == scores.len();
        let l = (i + 1) as f64 / n;
        let r = if last { l } else { (i + 2) as f64 / n };
        if r - current < current - l && !last {
            continue;
        }
        out.push(s);
        current += 1.0 / 40.0;
    }
    out
}

/// numpy's `max` over a slice: NaN wins, as there.
fn nan_max(v: &[f64]) -> f64 {
    v.iter().fold(f64::NEG_INFINITY, |m, &x| {
        if m.is_nan() || x.is_nan() {
            f64::NAN
        } else {
            m.max(x)
        }
    })
}

fn evaluate_level(frames: &[KittiFrame], class: &KittiClass, level: Difficulty) -> KittiLevel {
    let prepared: Vec<Prepared> = frames.iter().map(|f| prepare(f, class, level)).collect();
    let counted: usize = prepared.iter().map(|p| p.counted).sum();
    let scores: Vec<f64> = prepared
        .iter()
        .flat_map(|p| frame_stats(p, class.min_overlap, None).tp_scores)
        .collect();
    let mut counts = KittiCounts::default();
    for p in &prepared {
        let c = frame_stats(p, class.min_overlap, Some(f64::NEG_INFINITY)).counts;
        counts.tp += c.tp;
        counts.fp += c.fp;
        counts.fn_ += c.fn_;
        counts.ignored_matches += c.ignored_matches;
        counts.in_dont_care += c.in_dont_care;
    }
    let (ap11, ap40) = if counted == 0 {
        (None, None)
    } else {
        let ths = thresholds(scores, counted);
        let mut precision = [0.0f64; 41];
        for (t, &th) in ths.iter().enumerate() {
            let (mut tp, mut fp) = (0usize, 0usize);
            for p in &prepared {
                let c = frame_stats(p, class.min_overlap, Some(th)).counts;
                tp += c.tp;
                fp += c.fp;
            }
            precision[t] = tp as f64 / (tp + fp) as f64;
        }
        for t in 0..ths.len() {
            precision[t] = nan_max(&precision[t..]);
        }
        let ap11 = (0..41).step_by(4).map(|i| precision[i]).sum::<f64>() / 11.0;
        let ap40 = precision[1..].iter().sum::<f64>() / 40.0;
        let defined = |v: f64| (!v.is_nan()).then_some(v);
        (defined(ap11), defined(ap40))
    };
    KittiLevel {
        difficulty: level,
        objects: counted,
        ap11,
        ap40,
        counts,
    }
}

/// Evaluates `classes` at every difficulty level.
pub fn evaluate(frames: &[KittiFrame], classes: &[KittiClass]) -> KittiReport {
    KittiReport {
        frames: frames.len(),
        classes: classes
            .iter()
            .map(|c| KittiClassResult {
                class: c.name.to_string(),
                min_overlap: c.min_overlap,
                neighbour: c.neighbour.map(str::to_string),
                levels: Difficulty::ALL
                    .iter()
                    .map(|&l| evaluate_level(frames, c, l))
                    .collect(),
            })
            .collect(),
        warnings: Vec::new(),
    }
}

fn read(path: &Path) -> Result<String, MetricsError> {
    std::fs::read_to_string(path).map_err(|source| MetricsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn txt_files(dir: &Path) -> Result<Vec<String>, MetricsError> {
    let entries = std::fs::read_dir(dir).map_err(|source| MetricsError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    Ok(names)
}

/// Evaluates a folder of KITTI label files against a folder of result files of the same
/// names (the devkit's layout). Every label file needs its result file (an empty one for a
/// frame without detections); result files without a label file are named in a warning.
pub fn evaluate_dirs(
    gt_dir: &Path,
    dt_dir: &Path,
    classes: &[KittiClass],
) -> Result<KittiReport, MetricsError> {
    let gt_names = txt_files(gt_dir)?;
    if gt_names.is_empty() {
        return Err(MetricsError::KittiLayout {
            dir: gt_dir.to_path_buf(),
            problem: "holds no label files (*.txt)".into(),
        });
    }
    let dt_names = txt_files(dt_dir)?;
    let missing: Vec<&String> = gt_names
        .iter()
        .filter(|n| dt_names.binary_search(n).is_err())
        .collect();
    if !missing.is_empty() {
        return Err(MetricsError::KittiLayout {
            dir: dt_dir.to_path_buf(),
            problem: format!(
                "has no result file for {} labelled frame(s): {} (write an empty file for a \
                 frame without detections)",
                missing.len(),
                list(&missing)
            ),
        });
    }
    let mut frames = Vec::with_capacity(gt_names.len());
    for n in &gt_names {
        let (gp, dp) = (gt_dir.join(n), dt_dir.join(n));
        let gt = kitti::parse(&gp.display().to_string(), &read(&gp)?)?;
        let dt = kitti::parse(&dp.display().to_string(), &read(&dp)?)?;
        if let Some(d) = dt.iter().find(|d| d.score.is_none()) {
            return Err(MetricsError::Kitti(kitti::KittiError {
                file: dp.display().to_string(),
                line: d.line,
                message: "a detection needs its score as the 16th field".into(),
            }));
        }
        frames.push(KittiFrame {
            name: n.trim_end_matches(".txt").to_string(),
            gt,
            dt,
        });
    }
    let mut report = evaluate(&frames, classes);
    let extra: Vec<&String> = dt_names
        .iter()
        .filter(|n| gt_names.binary_search(n).is_err())
        .collect();
    if !extra.is_empty() {
        report.warnings.push(format!(
            "{}: {} result file(s) without a label file, not evaluated: {}",
            dt_dir.display(),
            extra.len(),
            list(&extra)
        ));
    }
    Ok(report)
}

fn list(names: &[&String]) -> String {
    let shown: Vec<&str> = names.iter().take(10).map(|s| s.as_str()).collect();
    let more = names.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(class: &str, occ: i8, trunc: f64, bbox: [f64; 4], score: Option<f64>) -> KittiObject {
        KittiObject {
            line: 0,
            class: class.into(),
            truncated: trunc,
            occluded: occ,
            alpha: -10.0,
            bbox,
            score,
        }
    }

    fn car() -> KittiClass {
        class_by_name("car").unwrap()
    }

    /// Every rule in one frame, counted by hand for Car.
    fn frame() -> KittiFrame {
        KittiFrame {
            name: "000000".into(),
            gt: vec![
                obj("Car", 0, 0.0, [0.0, 0.0, 100.0, 50.0], None), // A: every level
                obj("Car", 1, 0.2, [200.0, 0.0, 300.0, 30.0], None), // B: moderate, hard
                obj("Car", 3, 0.0, [400.0, 0.0, 500.0, 60.0], None), // C: occlusion unknown
                obj("Van", 0, 0.0, [600.0, 0.0, 700.0, 60.0], None), // neighbour
                obj(DONT_CARE, -1, -1.0, [800.0, 0.0, 900.0, 100.0], None),
                obj("Pedestrian", 0, 0.0, [1000.0, 0.0, 1020.0, 60.0], None),
            ],
            dt: vec![
                obj("Car", -1, -1.0, [0.0, 0.0, 100.0, 50.0], Some(0.9)), // on A
                obj("Car", -1, -1.0, [200.0, 0.0, 300.0, 30.0], Some(0.8)), // on B, 30 px
                obj("Car", -1, -1.0, [400.0, 0.0, 500.0, 60.0], Some(0.7)), // on C
                obj("Car", -1, -1.0, [600.0, 0.0, 700.0, 60.0], Some(0.6)), // on the Van
                obj("Car", -1, -1.0, [810.0, 10.0, 910.0, 90.0], Some(0.5)), // 90% in DontCare
                obj("Car", -1, -1.0, [1200.0, 0.0, 1300.0, 50.0], Some(0.4)), // nothing there
                obj("Car", -1, -1.0, [860.0, 0.0, 960.0, 50.0], Some(0.3)), // 40% in DontCare
                obj(
                    "Pedestrian",
                    -1,
                    -1.0,
                    [1000.0, 0.0, 1020.0, 60.0],
                    Some(0.5),
                ),
            ],
        }
    }

    #[test]
    fn hand_counted_car_levels() {
        let r = evaluate(&[frame()], &[car()]);
        let l = &r.classes[0].levels;
        let counts = |tp, fp, fn_, ignored_matches, in_dont_care| KittiCounts {
            tp,
            fp,
            fn_,
            ignored_matches,
            in_dont_care,
        };
        // Easy: only A counts; B (30 px, partly occluded) is taken by its 30 px detection,
        // which Easy ignores too; C (occlusion unknown) and the Van are matched and ignored.
        assert_eq!((l[0].objects, l[0].counts), (1, counts(1, 2, 0, 3, 1)));
        // Moderate and Hard: A and B count.
        for m in &l[1..] {
            assert_eq!((m.objects, m.counts), (2, counts(2, 2, 0, 2, 1)));
            // Two true positives scored 0.9 and 0.8, no false positive at either threshold:
            // precision 1 at the first two of the 41 points.
            assert_eq!(m.ap11, Some(1.0 / 11.0));
            assert_eq!(m.ap40, Some(1.0 / 40.0));
        }
        // No Truck in the frame: undefined, not 0.
        let t = evaluate(&[frame()], &[class_by_name("TRUCK").unwrap()]);
        assert_eq!(
            (t.classes[0].levels[1].objects, t.classes[0].levels[1].ap11),
            (0, None)
        );
    }

    #[test]
    fn level_limits_are_the_devkits() {
        let h = |y2: f64, occ: i8, trunc: f64| obj("Car", occ, trunc, [0.0, 0.0, 10.0, y2], None);
        use Difficulty::*;
        // Taller than the minimum, not equal to it.
        assert!(!Moderate.admits(&h(25.0, 0, 0.0)) && Moderate.admits(&h(25.01, 0, 0.0)));
        assert!(!Easy.admits(&h(40.0, 0, 0.0)) && Easy.admits(&h(40.01, 0, 0.0)));
        assert!(Easy.admits(&h(50.0, 0, 0.15)) && !Easy.admits(&h(50.0, 0, 0.16)));
        assert!(Moderate.admits(&h(50.0, 1, 0.3)) && !Moderate.admits(&h(50.0, 2, 0.0)));
        assert!(Hard.admits(&h(50.0, 2, 0.5)) && !Hard.admits(&h(50.0, 2, 0.51)));
        // Occlusion 3 is unknown: no level admits it.
        assert!(Difficulty::ALL.iter().all(|l| !l.admits(&h(200.0, 3, 0.0))));
    }

    #[test]
    fn a_pedestrian_detection_81_percent_inside_dont_care_is_not_a_false_positive() {
        let ped = class_by_name("Pedestrian").unwrap();
        let mk = |x1: f64| KittiFrame {
            name: "f".into(),
            gt: vec![
                obj("Pedestrian", 0, 0.0, [0.0, 0.0, 20.0, 60.0], None),
                obj(DONT_CARE, -1, -1.0, [100.0, 0.0, 200.0, 100.0], None),
            ],
            dt: vec![
                obj("Pedestrian", -1, -1.0, [0.0, 0.0, 20.0, 60.0], Some(0.9)),
                // 100 px wide at x1; the share inside the region is (200 − x1) / 100.
                obj(
                    "Pedestrian",
                    -1,
                    -1.0,
                    [x1, 0.0, x1 + 100.0, 60.0],
                    Some(0.8),
                ),
            ],
        };
        // 81% inside (IoU with the region only 0.44): not a false positive.
        let inside = evaluate(&[mk(119.0)], &[ped]).classes[0].levels[1].counts;
        assert_eq!((inside.fp, inside.in_dont_care), (0, 1));
        // 50% inside is not more than the class's 0.5: a false positive.
        let half = evaluate(&[mk(150.0)], &[ped]).classes[0].levels[1].counts;
        assert_eq!((half.fp, half.in_dont_care), (1, 0));
    }

    #[test]
    fn neighbour_detection_neither_rewarded_nor_penalised() {
        let ped = class_by_name("pedestrian").unwrap();
        let f = KittiFrame {
            name: "f".into(),
            gt: vec![obj("Person_sitting", 0, 0.0, [0.0, 0.0, 30.0, 50.0], None)],
            dt: vec![obj(
                "Pedestrian",
                -1,
                -1.0,
                [0.0, 0.0, 30.0, 50.0],
                Some(0.9),
            )],
        };
        let l = &evaluate(std::slice::from_ref(&f), &[ped]).classes[0].levels[0];
        assert_eq!(
            (
                l.objects,
                l.counts.tp,
                l.counts.fp,
                l.counts.ignored_matches
            ),
            (0, 0, 0, 1)
        );
        // Without the neighbour rule (as Cyclist, which has none) the object is skipped
        // and the detection of another class plays no part.
        let c = &evaluate(&[f], &[class_by_name("cyclist").unwrap()]).classes[0].levels[0];
        assert_eq!((c.counts.fp, c.counts.ignored_matches), (0, 0));
    }

    #[test]
    fn unknown_class_lists_the_valid_ones() {
        let e = class_by_name("Bus").unwrap_err().to_string();
        assert!(
            e.contains("`Bus`") && e.contains("Car, Pedestrian, Cyclist, Van"),
            "{e}"
        );
    }
}
