//! Pedestrian subsets as the CityPersons benchmark evaluates them (Zhang, Benenson, Schiele,
//! "CityPersons: A Diverse Dataset for Pedestrian Detection", CVPR 2017; evaluation script
//! `eval_MR_multisetup.py` of the CityPersons repository, which is not on PyPI): the
//! log-average miss rate on the Reasonable, Small, Heavy occlusion and All subsets.
//!
//! The rules, as that script applies them per frame and subset:
//! - an object of the class counts when its box height is in the subset's height range and
//!   its visibility (1 − occlusion) in the subset's visibility range, both ends included;
//!   any other object of the class (out of range, an ignore region, a crowd box such as
//!   CityPersons' "group of people") is an ignore region. An object whose occlusion is not
//!   known is outside every subset (each limits visibility);
//! - detections are taken by descending score (ties in input order) and kept when their
//!   height is in [low / 1.25, high × 1.25) (`expFilter`); the others are dropped before
//!   matching, as if never output;
//! - overlap with a counted object is IoU; with an ignore region it is the share of the
//!   detection inside it (intersection over the detection's area), so a detection 80% inside
//!   a crowd box matches it at any threshold up to 0.8;
//! - each detection takes the best still-free counted object with overlap ≥ the threshold,
//!   else the best ignore region (which absorbs any number of detections): a true positive,
//!   an ignored detection, or, matching nothing, a false positive.
//!
//! The miss rate over all frames (FPPI = false positives / frames, frames without objects
//! included) is the Caltech definition of [`crate::metrics::lamr`]. Where that definition
//! and the CityPersons script differ, this module follows Caltech: the script takes its 9
//! reference FPPI values rounded to 4 decimals (0.0178 for 10^-1.75), uses the *final* miss
//! rate at a reference point no curve point reaches (numpy index −1), and takes ln 0 (a miss
//! rate of 0 gives an average of 0) where Caltech floors the miss rate at 1e-10. The three
//! agree whenever the first false positive comes at FPPI ≤ 0.01 (at least 100 frames), no
//! curve point falls between a rounded and an exact reference value, and recall stays below 1.

use crate::metrics::frames::FrameEval;
use crate::metrics::iou::iou_f32;
use crate::metrics::lamr::{log_average_miss_rate, ScoredOutcome};
use crate::metrics::matching::{greedy_match, ignore_last_order, GtRole, Outcome};
use adasval_core::types::GtObject;
use serde::Serialize;

/// The rules in one line, printed with every result.
pub const RULES: &str = "an object counts when its height and visibility are in the subset's ranges (ends included; unknown occlusion is outside); other objects, ignore regions and crowd boxes are ignore regions, matched by the share of the detection inside them; detections outside [low / 1.25, high x 1.25) px are dropped; LAMR over all frames at FPPI 10^-2..10^0 (Caltech definition)";

/// CityPersons' detection height filter: detections within [low / 1.25, high × 1.25).
pub const EXPAND: f64 = 1.25;

/// The script's cap on detections per frame.
pub const MAX_DETECTIONS: usize = 1000;

/// One of the benchmark's subsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subset {
    /// Height ≥ 50 px, visibility ≥ 0.65.
    Reasonable,
    /// Height 50–75 px, visibility ≥ 0.65.
    Small,
    /// Height ≥ 50 px, visibility 0.2–0.65.
    HeavyOcclusion,
    /// Height ≥ 20 px, visibility ≥ 0.2.
    All,
}

impl Subset {
    pub const ALL: [Subset; 4] = [
        Subset::Reasonable,
        Subset::Small,
        Subset::HeavyOcclusion,
        Subset::All,
    ];

    /// Box height range in pixels, both ends included (`None`: unbounded).
    pub fn height(self) -> (f64, Option<f64>) {
        match self {
            Subset::Reasonable | Subset::HeavyOcclusion => (50.0, None),
            Subset::Small => (50.0, Some(75.0)),
            Subset::All => (20.0, None),
        }
    }

    /// Visibility range, both ends included.
    pub fn visibility(self) -> (f64, Option<f64>) {
        match self {
            Subset::Reasonable | Subset::Small => (0.65, None),
            Subset::HeavyOcclusion => (0.2, Some(0.65)),
            Subset::All => (0.2, None),
        }
    }

    /// The name the benchmark prints.
    pub fn name(self) -> &'static str {
        match self {
            Subset::Reasonable => "Reasonable",
            Subset::Small => "Reasonable_small",
            Subset::HeavyOcclusion => "Reasonable_occ=heavy",
            Subset::All => "All",
        }
    }

    fn counts(self, g: &GtObject) -> bool {
        if g.ignore || g.crowd {
            return false;
        }
        let Some(occlusion) = g.occlusion else {
            return false;
        };
        let within = |v: f64, (lo, hi): (f64, Option<f64>)| v >= lo && hi.is_none_or(|h| v <= h);
        within(f64::from(g.bbox[3]), self.height())
            && within(1.0 - f64::from(occlusion), self.visibility())
    }

    fn keeps_detection(self, height: f64) -> bool {
        let (lo, hi) = self.height();
        height >= lo / EXPAND && hi.is_none_or(|h| height < h * EXPAND)
    }
}

/// The figures of one subset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubsetFigures {
    pub subset: Subset,
    pub name: &'static str,
    /// Objects that count.
    pub objects: usize,
    /// Frames the miss rate is averaged over (all of them).
    pub frames: usize,
    /// Detections kept by the height filter and matched to an object, to nothing, to an
    /// ignore region; those dropped by the height filter.
    pub tp: usize,
    pub fp: usize,
    pub ignored: usize,
    pub filtered_out: usize,
    /// Log-average miss rate; `None` without objects.
    pub lamr: Option<f64>,
    /// (reference FPPI, miss rate) at the 9 reference points.
    pub points: Vec<(f64, f64)>,
}

/// Evaluates class `class_id` of `frames` on every subset at overlap `iou` (0.5 in the
/// benchmark).
pub fn evaluate(frames: &[FrameEval], class_id: u32, iou: f64) -> Vec<SubsetFigures> {
    Subset::ALL
        .iter()
        .map(|&s| evaluate_subset(frames, class_id, iou, s))
        .collect()
}

/// The outcome of each detection of one frame that the subset's height filter keeps, in
/// descending score order, with its score; and the number of detections it drops.
pub fn match_frame(
    frame: &FrameEval,
    class_id: u32,
    iou: f64,
    subset: Subset,
) -> (Vec<ScoredOutcome>, usize) {
    let gts: Vec<&GtObject> = frame.gt.iter().filter(|g| g.class_id == class_id).collect();
    let mut dets: Vec<&adasval_core::types::Detection> = frame
        .dets
        .iter()
        .filter(|d| d.class_id == class_id)
        .collect();
    // Stable sort: ties keep their input order, as numpy's mergesort.
    dets.sort_by(|a, b| {
        crate::metrics::coco::eval::descending(f64::from(a.score), f64::from(b.score))
    });
    dets.truncate(MAX_DETECTIONS);
    let before = dets.len();
    dets.retain(|d| subset.keeps_detection(f64::from(d.bbox[3])));
    let filtered_out = before - dets.len();
    let roles: Vec<GtRole> = gts
        .iter()
        .map(|g| {
            let ignore = !subset.counts(g);
            GtRole {
                ignore,
                reusable: ignore,
            }
        })
        .collect();
    let (nd, ng) = (dets.len(), gts.len());
    let mut overlaps = vec![0.0; nd * ng];
    for (d, det) in dets.iter().enumerate() {
        for (g, gt) in gts.iter().enumerate() {
            // Ignore regions by the share of the detection inside them.
            overlaps[d * ng + g] = iou_f32(&det.bbox, &gt.bbox, roles[g].ignore);
        }
    }
    let order = ignore_last_order(roles.iter().map(|r| r.ignore));
    let mut taken = vec![false; ng];
    let mut matched = vec![None; nd];
    greedy_match(
        &overlaps,
        nd,
        ng,
        &order,
        &roles,
        iou,
        &mut taken,
        &mut matched,
    );
    let outcomes = dets
        .iter()
        .zip(&matched)
        .map(|(d, m)| ScoredOutcome {
            score: f64::from(d.score),
            outcome: match m {
                Some(g) if roles[*g].ignore => Outcome::Ignored,
                Some(_) => Outcome::TruePositive,
                None => Outcome::FalsePositive,
            },
        })
        .collect();
    (outcomes, filtered_out)
}

fn evaluate_subset(frames: &[FrameEval], class_id: u32, iou: f64, subset: Subset) -> SubsetFigures {
    let mut all: Vec<ScoredOutcome> = Vec::new();
    let (mut objects, mut filtered_out) = (0usize, 0usize);
    for f in frames {
        objects +=
            f.gt.iter()
                .filter(|g| g.class_id == class_id && subset.counts(g))
                .count();
        let (o, dropped) = match_frame(f, class_id, iou, subset);
        filtered_out += dropped;
        all.extend(o);
    }
    let count = |k: Outcome| all.iter().filter(|o| o.outcome == k).count();
    let report = log_average_miss_rate(&all, objects, frames.len());
    SubsetFigures {
        subset,
        name: subset.name(),
        objects,
        frames: frames.len(),
        tp: count(Outcome::TruePositive),
        fp: count(Outcome::FalsePositive),
        ignored: count(Outcome::Ignored),
        filtered_out,
        lamr: report.as_ref().map(|r| r.lamr),
        points: report.map(|r| r.points).unwrap_or_default(),
    }
}

/// The frames of every scenario of a stored run that `engine` replayed, corruption rungs left
/// out (as the pooled slice figures do): what the pedestrian benchmarks evaluate.
pub fn run_frames(run: &adasval_record::stored::StoredRun, engine: &str) -> Vec<FrameEval> {
    let rung = |scenario: &str| {
        run.record
            .scenarios
            .iter()
            .any(|s| s.id == scenario && s.corruption.is_some())
    };
    run.traces
        .iter()
        .filter(|t| t.engine == engine && !rung(&t.scenario))
        .flat_map(|t| crate::detection::frames_of(&run.golden, t))
        .collect()
}

/// One engine's subsets over a stored run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngineSubsets {
    pub engine: String,
    /// The class evaluated (`pedestrian` or `person`); `None`: the engine has neither.
    pub class: Option<String>,
    /// Frames of every scenario but the corruption rungs.
    pub frames: usize,
    pub subsets: Vec<SubsetFigures>,
}

/// `adasval eval --run DIR --citypersons`: every engine's pedestrian class on the subsets,
/// over the frames of every scenario of the run (corruption rungs left out, as the
/// pooled slice figures do).
pub fn evaluate_run(run: &adasval_record::stored::StoredRun, iou: f64) -> Vec<EngineSubsets> {
    run.record
        .engines
        .iter()
        .map(|e| {
            let class = ["pedestrian", "person"]
                .iter()
                .find_map(|c| e.classes.iter().position(|x| x == c));
            let frames = run_frames(run, &e.name);
            EngineSubsets {
                engine: e.name.clone(),
                class: class.map(|c| e.classes[c].clone()),
                frames: frames.len(),
                subsets: class
                    .map(|c| evaluate(&frames, c as u32, iou))
                    .unwrap_or_default(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use adasval_core::types::Detection;

    fn gt(bbox: [f32; 4], occlusion: f32) -> GtObject {
        GtObject {
            class_id: 0,
            bbox,
            ignore: false,
            crowd: false,
            occlusion: Some(occlusion),
            truncation: None,
            track_id: None,
            ttc_s: None,
            distance_m: None,
        }
    }

    fn det(bbox: [f32; 4], score: f32) -> Detection {
        Detection {
            class_id: 0,
            score,
            bbox,
        }
    }

    fn frame(gt: Vec<GtObject>, dets: Vec<Detection>) -> FrameEval {
        FrameEval {
            frame: 0,
            gt,
            dets,
            width: 2048,
            height: 1024,
        }
    }

    fn outcomes(f: &FrameEval, s: Subset) -> Vec<Outcome> {
        match_frame(f, 0, 0.5, s)
            .0
            .into_iter()
            .map(|o| o.outcome)
            .collect()
    }

    #[test]
    fn subsets_count_objects_by_height_and_visibility_ends_included() {
        // Heights 50, 75, 76, 49 px; visibilities 1, 0.65, 0.65, 1; one at visibility 0.3.
        let objs = vec![
            gt([0.0, 0.0, 20.0, 50.0], 0.0),
            gt([100.0, 0.0, 30.0, 75.0], 0.35),
            gt([200.0, 0.0, 30.0, 76.0], 0.35),
            gt([300.0, 0.0, 20.0, 49.0], 0.0),
            gt([400.0, 0.0, 40.0, 100.0], 0.7),
        ];
        let f = frame(objs, vec![]);
        let n: Vec<usize> = evaluate(&[f], 0, 0.5).iter().map(|s| s.objects).collect();
        // Reasonable: 50, 75, 76. Small: 50, 75. Heavy: the 100 px one (0.3). All: all five
        // but none below 20 px, the 49 px one included.
        assert_eq!(n, vec![3, 2, 1, 5]);
    }

    #[test]
    fn ignore_regions_match_by_the_share_of_the_detection_inside_them() {
        // A crowd box 200 x 200; a 40 x 100 detection with 80% of its area inside it has an
        // IoU of 0.08 with it, but a share of 0.8: ignored, not a false positive.
        let mut crowd = gt([0.0, 0.0, 200.0, 200.0], 0.0);
        crowd.crowd = true;
        let f = frame(vec![crowd], vec![det([-8.0, 50.0, 40.0, 100.0], 0.9)]);
        assert_eq!(outcomes(&f, Subset::Reasonable), vec![Outcome::Ignored]);
        // 40% inside: a false positive.
        let f = frame(
            vec![f.gt[0].clone()],
            vec![det([-24.0, 50.0, 40.0, 100.0], 0.9)],
        );
        assert_eq!(
            outcomes(&f, Subset::Reasonable),
            vec![Outcome::FalsePositive]
        );
    }

    #[test]
    fn objects_outside_the_subset_are_ignore_regions_and_detections_are_height_filtered() {
        // A 40 px pedestrian (outside Reasonable) found by a 40 px detection: ignored. A
        // 39 px detection on nothing: below 50 / 1.25 = 40, dropped before matching. A
        // 45 px one on nothing: kept, a false positive.
        let f = frame(
            vec![gt([0.0, 0.0, 16.0, 40.0], 0.0)],
            vec![
                det([0.0, 0.0, 16.0, 40.0], 0.9),
                det([500.0, 0.0, 16.0, 39.0], 0.8),
                det([600.0, 0.0, 16.0, 45.0], 0.7),
            ],
        );
        let (o, dropped) = match_frame(&f, 0, 0.5, Subset::Reasonable);
        assert_eq!(dropped, 1);
        let o: Vec<Outcome> = o.into_iter().map(|o| o.outcome).collect();
        assert_eq!(o, vec![Outcome::Ignored, Outcome::FalsePositive]);
        // Small subset: detections up to 75 × 1.25 = 93.75 px are kept, 94 px is not.
        let f = frame(
            vec![],
            vec![
                det([0.0, 0.0, 30.0, 93.0], 0.9),
                det([100.0, 0.0, 30.0, 94.0], 0.8),
            ],
        );
        assert_eq!(match_frame(&f, 0, 0.5, Subset::Small).1, 1);
    }

    #[test]
    fn miss_rate_per_subset_counted_by_hand() {
        // 100 frames. Frame 0: pedestrians P (100 px, visible) and Q (60 px, visibility
        // 0.4); detections on P (0.9), on Q (0.8), on nothing (0.7, 100 px).
        // Reasonable: P counts, Q is an ignore region. Ranked: TP (FPPI 0, MR 0), Q's
        // detection ignored, FP (FPPI 0.01, MR 0): MR 0 at every point, floored at 1e-10.
        // Heavy occlusion: Q counts, P is an ignore region: P's detection ignored, TP, FP:
        // the same. Small (50-75 px): Q is outside (visibility 0.4), P too (100 px): no
        // object counts, no miss rate.
        let mut frames = vec![frame(
            vec![
                gt([0.0, 0.0, 40.0, 100.0], 0.0),
                gt([300.0, 0.0, 24.0, 60.0], 0.6),
            ],
            vec![
                det([0.0, 0.0, 40.0, 100.0], 0.9),
                det([300.0, 0.0, 24.0, 60.0], 0.8),
                det([600.0, 0.0, 40.0, 100.0], 0.7),
            ],
        )];
        frames.extend((1..100).map(|i| FrameEval {
            frame: i,
            ..frame(vec![], vec![])
        }));
        let r = evaluate(&frames, 0, 0.5);
        assert_eq!((r[0].tp, r[0].fp, r[0].ignored), (1, 1, 1));
        assert!(r[0].lamr.unwrap() <= 1e-10 * 1.0001);
        assert_eq!((r[2].tp, r[2].fp, r[2].ignored), (1, 1, 1));
        assert!(r[2].lamr.unwrap() <= 1e-10 * 1.0001);
        assert_eq!(r[1].lamr, None);
        // With Q's detection gone, Heavy occlusion misses Q: MR 1 at every point.
        frames[0].dets.remove(1);
        let r = evaluate(&frames, 0, 0.5);
        assert_eq!(r[2].lamr, Some(1.0));
        // Reasonable unchanged.
        assert!(r[0].lamr.unwrap() <= 1e-10 * 1.0001);
    }
}
