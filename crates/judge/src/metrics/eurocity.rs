//! Pedestrian subsets as the EuroCity Persons benchmark evaluates them (Braun, Krebs, Flohr,
//! Gavrila, "EuroCity Persons: A Novel Benchmark for Person Detection in Traffic Scenes",
//! TPAMI 41(8), 2019; the benchmark's public evaluation code, `eval.py`, `params.py`,
//! `match.py` and `statistics.py` of the ECP devkit, which is not on PyPI): the log-average
//! miss rate on the Reasonable, Small, Occluded and All subsets, each with riders counted
//! against the detector or tolerated.
//!
//! The rules, as `params.py` and `match.py` apply them per frame and subset:
//! - every box, object or detection, is first clipped to the image (`clipping_boxes`; the
//!   devkit clips to ECP's 1920 × 1024 frames, adasval to the frame's own size), and heights
//!   are taken after clipping;
//! - occlusion and truncation are the annotation's levels: ECP tags an object `occluded>10`,
//!   `>40` or `>80` (likewise `truncated>…`); adasval's fractions are binned the same way (a
//!   fraction above 0.8 is level 80, above 0.4 level 40, above 0.1 level 10, else 0);
//! - a pedestrian counts when its height is at least the subset's minimum (40, 30, 40, 20 px),
//!   at most its maximum (Small: 60 px), its occlusion level and its truncation level are both
//!   below the subset's limit (40 for Reasonable and Small, 80 for Occluded and All), and for
//!   Occluded its occlusion level is at least 40. Any other pedestrian is an ignore object
//!   matched by IoU (the devkit's `ignore` 1). A pedestrian whose occlusion or truncation is
//!   not known is outside every subset (where ECP has no tag it reads level 0, but its
//!   annotators tag every object; adasval does not guess);
//! - ignore regions and crowd boxes of the class are ECP's don't-care regions
//!   (`person-group-far-away`, `ignore` 2): overlap with them is the share of the detection
//!   inside them;
//! - riders (adasval's `cyclist` or `rider` class): with riders tolerated (`ignore_other_vru`
//!   true) a rider is an ignore object matched by IoU, so a pedestrian detection on a rider
//!   costs nothing; with riders enforced (false, the setting of the benchmark server) riders
//!   are left out and such a detection is a false positive. Other classes are left out;
//! - pedestrian detections are kept when their height is above min / 1.25 and, for Small,
//!   below 60 × 1.25 = 75 px (Dollár's expanded filter, `skip_det`); the others are dropped
//!   before matching. There is no cap on detections per frame;
//! - detections by descending score (ties in input order) each take the best still-free
//!   counted object with overlap ≥ the threshold (0.5 in the benchmark; ties go to the later
//!   object), else the best ignore object or region (which absorb any number of detections):
//!   a true positive, an ignored detection or, matching nothing, a false positive.
//!
//! The miss rate over all frames is `statistics.py`'s `log_avg_mr_reference_implementation`,
//! which is the Caltech definition of [`crate::metrics::lamr`] exactly: 9 reference FPPI
//! values 10^-2..10^0 (not rounded), the recall of the last curve point at or below each, a
//! miss rate of 1 where no point is, ln floored at 1e-10.

use crate::metrics::frames::FrameEval;
use crate::metrics::iou::iou_f32;
use crate::metrics::lamr::{log_average_miss_rate, ScoredOutcome};
use crate::metrics::matching::{greedy_match, GtRole, Outcome};
use adasval_core::types::{Detection, GtObject};
use serde::Serialize;

/// The rules in one line, printed with every result.
pub const RULES: &str = "boxes clipped to the frame; a pedestrian counts when its height and its ECP occlusion and truncation levels (fractions binned at 0.1, 0.4, 0.8) are in the subset's ranges (unknown occlusion or truncation is outside); other pedestrians are ignore objects matched by IoU; ignore regions and crowd boxes are don't-care regions matched by the share of the detection inside them; riders are ignore objects when tolerated, left out when enforced; detections at most min / 1.25 px tall (Small: also at least 75 px) are dropped; LAMR over all frames at FPPI 10^-2..10^0 (Caltech definition, as the ECP devkit's reference implementation)";

/// Dollár's expanded height filter of detections (`expFilter` in `params.py`).
pub const EXPAND: f64 = 1.25;

/// One of the benchmark's subsets (`difficulty` in the devkit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subset {
    /// Height ≥ 40 px, occlusion and truncation below level 40.
    Reasonable,
    /// Height 30–60 px, occlusion and truncation below level 40.
    Small,
    /// Height ≥ 40 px, occlusion level 40 (40–80%), truncation below level 80.
    Occluded,
    /// Height ≥ 20 px, occlusion and truncation below level 80.
    All,
}

impl Subset {
    pub const ALL: [Subset; 4] = [
        Subset::Reasonable,
        Subset::Small,
        Subset::Occluded,
        Subset::All,
    ];

    /// Box height range in pixels after clipping, both ends included (`None`: unbounded).
    pub fn height(self) -> (f64, Option<f64>) {
        match self {
            Subset::Reasonable | Subset::Occluded => (40.0, None),
            Subset::Small => (30.0, Some(60.0)),
            Subset::All => (20.0, None),
        }
    }

    /// Occlusion levels [lowest, limit): the level must be at least the first and below
    /// the second. Truncation levels must be below the same limit (`occ_limits` bounds both).
    pub fn occlusion_levels(self) -> (u8, u8) {
        match self {
            Subset::Reasonable | Subset::Small => (0, 40),
            Subset::Occluded => (40, 80),
            Subset::All => (0, 80),
        }
    }

    /// The name the devkit uses.
    pub fn name(self) -> &'static str {
        match self {
            Subset::Reasonable => "reasonable",
            Subset::Small => "small",
            Subset::Occluded => "occluded",
            Subset::All => "all",
        }
    }

    fn counts(self, height: f64, occlusion: u8, truncation: u8) -> bool {
        let (lo, hi) = self.height();
        let (occ_lo, limit) = self.occlusion_levels();
        height >= lo
            && hi.is_none_or(|h| height <= h)
            && occlusion >= occ_lo
            && occlusion < limit
            && truncation < limit
    }

    fn keeps_detection(self, height: f64) -> bool {
        let (lo, hi) = self.height();
        height > lo / EXPAND && hi.is_none_or(|h| height < h * EXPAND)
    }
}

/// ECP's annotation level of an occlusion or truncation fraction: the tags are `>10`, `>40`
/// and `>80` (percent), absent below 10%.
pub fn level(fraction: f32) -> u8 {
    if fraction > 0.8 {
        80
    } else if fraction > 0.4 {
        40
    } else if fraction > 0.1 {
        10
    } else {
        0
    }
}

/// How a ground-truth object takes part in one subset (the devkit's `ignore` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A pedestrian of the subset (0).
    Counted,
    /// An ignore object matched by IoU (1): a pedestrian outside the subset, a tolerated rider.
    IgnoreByIou,
    /// A don't-care region matched by the share of the detection inside it (2).
    DontCare,
}

/// Which classes of the engine are pedestrians and riders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classes {
    pub pedestrian: u32,
    pub rider: Option<u32>,
}

/// The figures of one subset under one rider setting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubsetFigures {
    pub subset: Subset,
    pub name: &'static str,
    /// Riders tolerated (`ignore_other_vru` true) or enforced (false).
    pub riders_tolerated: bool,
    /// Pedestrians that count.
    pub objects: usize,
    /// Pedestrians left out of every subset because their occlusion or truncation is not
    /// known (ignore objects).
    pub unknown_occlusion_or_truncation: usize,
    /// Frames the miss rate is averaged over (all of them).
    pub frames: usize,
    /// Detections kept by the height filter and matched to a pedestrian, to nothing, to an
    /// ignore object or region; those dropped by the height filter.
    pub tp: usize,
    pub fp: usize,
    pub ignored: usize,
    pub filtered_out: usize,
    /// Log-average miss rate; `None` without objects.
    pub lamr: Option<f64>,
    /// (reference FPPI, miss rate) at the 9 reference points.
    pub points: Vec<(f64, f64)>,
}

/// Evaluates `frames` on every subset, riders enforced then tolerated, at overlap `iou` (0.5
/// in the benchmark).
pub fn evaluate(frames: &[FrameEval], classes: Classes, iou: f64) -> Vec<SubsetFigures> {
    [false, true]
        .iter()
        .flat_map(|&tolerated| {
            Subset::ALL
                .iter()
                .map(move |&s| evaluate_subset(frames, classes, iou, s, tolerated))
        })
        .collect()
}

/// `b` clipped to a `width` × `height` image (unchanged when the size is not known).
fn clip(b: &[f32; 4], width: u32, height: u32) -> [f32; 4] {
    if width == 0 || height == 0 {
        return *b;
    }
    let (w, h) = (width as f32, height as f32);
    let x0 = b[0].clamp(0.0, w);
    let y0 = b[1].clamp(0.0, h);
    let x1 = (b[0] + b[2]).clamp(0.0, w);
    let y1 = (b[1] + b[3]).clamp(0.0, h);
    [x0, y0, (x1 - x0).max(0.0), (y1 - y0).max(0.0)]
}

/// The role of a ground-truth object in `subset`, `None` when the devkit leaves it out
/// (`skip_gt`); its box after clipping.
pub fn role(
    g: &GtObject,
    frame: &FrameEval,
    classes: Classes,
    subset: Subset,
    riders_tolerated: bool,
) -> Option<(Role, [f32; 4])> {
    let bbox = clip(&g.bbox, frame.width, frame.height);
    if g.class_id == classes.pedestrian {
        if g.ignore || g.crowd {
            return Some((Role::DontCare, bbox));
        }
        let counts = match (g.occlusion, g.truncation) {
            (Some(o), Some(t)) => subset.counts(f64::from(bbox[3]), level(o), level(t)),
            _ => false,
        };
        let role = if counts {
            Role::Counted
        } else {
            Role::IgnoreByIou
        };
        return Some((role, bbox));
    }
    // A rider group is not a pedestrian don't-care region: left out like other classes.
    let rider = classes.rider == Some(g.class_id) && !g.ignore && !g.crowd;
    (rider && riders_tolerated).then_some((Role::IgnoreByIou, bbox))
}

/// The outcome of each detection of one frame that the subset's height filter keeps, in
/// descending score order, with its score; and the number of detections it drops.
pub fn match_frame(
    frame: &FrameEval,
    classes: Classes,
    iou: f64,
    subset: Subset,
    riders_tolerated: bool,
) -> (Vec<ScoredOutcome>, usize) {
    let gts: Vec<(Role, [f32; 4])> = frame
        .gt
        .iter()
        .filter_map(|g| role(g, frame, classes, subset, riders_tolerated))
        .collect();
    let mut dets: Vec<(&Detection, [f32; 4])> = frame
        .dets
        .iter()
        .filter(|d| d.class_id == classes.pedestrian)
        .map(|d| (d, clip(&d.bbox, frame.width, frame.height)))
        .collect();
    let before = dets.len();
    dets.retain(|(_, b)| subset.keeps_detection(f64::from(b[3])));
    let filtered_out = before - dets.len();
    // Stable sort: ties keep their input order, as Python's sort.
    dets.sort_by(|a, b| {
        crate::metrics::coco::eval::descending(f64::from(a.0.score), f64::from(b.0.score))
    });
    let roles: Vec<GtRole> = gts
        .iter()
        .map(|(r, _)| {
            let ignore = *r != Role::Counted;
            GtRole {
                ignore,
                reusable: ignore,
            }
        })
        .collect();
    let (nd, ng) = (dets.len(), gts.len());
    let mut overlaps = vec![0.0; nd * ng];
    for (d, (_, db)) in dets.iter().enumerate() {
        for (g, (r, gb)) in gts.iter().enumerate() {
            overlaps[d * ng + g] = iou_f32(db, gb, *r == Role::DontCare);
        }
    }
    // Counted objects first, then ignore objects, then don't-care regions, each in input
    // order (the devkit's stable sort on its `ignore` values 0, 1, 2).
    let rank = |r: Role| match r {
        Role::Counted => 0,
        Role::IgnoreByIou => 1,
        Role::DontCare => 2,
    };
    let mut order: Vec<usize> = (0..ng).collect();
    order.sort_by_key(|&g| rank(gts[g].0));
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
        .map(|((d, _), m)| ScoredOutcome {
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

fn evaluate_subset(
    frames: &[FrameEval],
    classes: Classes,
    iou: f64,
    subset: Subset,
    riders_tolerated: bool,
) -> SubsetFigures {
    let mut all: Vec<ScoredOutcome> = Vec::new();
    let (mut objects, mut unknown, mut filtered_out) = (0usize, 0usize, 0usize);
    for f in frames {
        for g in &f.gt {
            if g.class_id == classes.pedestrian && !g.ignore && !g.crowd {
                if g.occlusion.is_none() || g.truncation.is_none() {
                    unknown += 1;
                }
                if let Some((Role::Counted, _)) = role(g, f, classes, subset, riders_tolerated) {
                    objects += 1;
                }
            }
        }
        let (o, dropped) = match_frame(f, classes, iou, subset, riders_tolerated);
        filtered_out += dropped;
        all.extend(o);
    }
    let count = |k: Outcome| all.iter().filter(|o| o.outcome == k).count();
    let report = log_average_miss_rate(&all, objects, frames.len());
    SubsetFigures {
        subset,
        name: subset.name(),
        riders_tolerated,
        objects,
        unknown_occlusion_or_truncation: unknown,
        frames: frames.len(),
        tp: count(Outcome::TruePositive),
        fp: count(Outcome::FalsePositive),
        ignored: count(Outcome::Ignored),
        filtered_out,
        lamr: report.as_ref().map(|r| r.lamr),
        points: report.map(|r| r.points).unwrap_or_default(),
    }
}

/// One engine's subsets over a stored run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngineSubsets {
    pub engine: String,
    /// The class evaluated (`pedestrian` or `person`); `None`: the engine has neither.
    pub class: Option<String>,
    /// The class taken for riders (`cyclist` or `rider`); `None`: the engine has neither,
    /// so both rider settings give the same figures.
    pub rider_class: Option<String>,
    /// Frames of every scenario but the corruption rungs.
    pub frames: usize,
    pub subsets: Vec<SubsetFigures>,
}

/// `adasval eval --run DIR --eurocity`: every engine's pedestrian class on the subsets, over
/// the frames of every scenario of the run (corruption rungs left out, as the pooled slice
/// figures do).
pub fn evaluate_run(run: &adasval_record::stored::StoredRun, iou: f64) -> Vec<EngineSubsets> {
    run.record
        .engines
        .iter()
        .map(|e| {
            let find = |names: [&str; 2]| {
                names
                    .iter()
                    .find_map(|c| e.classes.iter().position(|x| x == c))
            };
            let pedestrian = find(["pedestrian", "person"]);
            let rider = find(["cyclist", "rider"]);
            let frames = crate::metrics::citypersons::run_frames(run, &e.name);
            EngineSubsets {
                engine: e.name.clone(),
                class: pedestrian.map(|c| e.classes[c].clone()),
                rider_class: rider.map(|c| e.classes[c].clone()),
                frames: frames.len(),
                subsets: pedestrian
                    .map(|p| {
                        let classes = Classes {
                            pedestrian: p as u32,
                            rider: rider.map(|r| r as u32),
                        };
                        evaluate(&frames, classes, iou)
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PED: u32 = 0;
    const RIDER: u32 = 1;
    const CLASSES: Classes = Classes {
        pedestrian: PED,
        rider: Some(RIDER),
    };

    fn gt(bbox: [f32; 4], occlusion: f32, truncation: f32) -> GtObject {
        GtObject {
            class_id: PED,
            bbox,
            ignore: false,
            crowd: false,
            occlusion: Some(occlusion),
            truncation: Some(truncation),
            track_id: None,
            ttc_s: None,
            distance_m: None,
        }
    }

    fn det(bbox: [f32; 4], score: f32) -> Detection {
        Detection {
            class_id: PED,
            score,
            bbox,
        }
    }

    fn frame(gt: Vec<GtObject>, dets: Vec<Detection>) -> FrameEval {
        FrameEval {
            frame: 0,
            gt,
            dets,
            width: 1920,
            height: 1024,
        }
    }

    fn outcomes(f: &FrameEval, s: Subset, tolerated: bool) -> Vec<Outcome> {
        match_frame(f, CLASSES, 0.5, s, tolerated)
            .0
            .into_iter()
            .map(|o| o.outcome)
            .collect()
    }

    fn objects(frames: &[FrameEval]) -> Vec<usize> {
        evaluate(frames, CLASSES, 0.5)[..4]
            .iter()
            .map(|s| s.objects)
            .collect()
    }

    #[test]
    fn levels_bin_fractions_as_the_annotation_tags() {
        assert_eq!(
            [0.0, 0.1, 0.11, 0.4, 0.41, 0.8, 0.81, 1.0].map(level),
            [0, 0, 10, 10, 40, 40, 80, 80]
        );
    }

    #[test]
    fn subsets_count_pedestrians_by_height_occlusion_and_truncation() {
        let objs = vec![
            // 40 px, visible: Reasonable, Small (30-60 px) and All.
            gt([0.0, 0.0, 16.0, 40.0], 0.0, 0.0),
            // 39 px: below Reasonable, in Small (30-60) and All.
            gt([100.0, 0.0, 16.0, 39.0], 0.0, 0.0),
            // 61 px: Reasonable and All, above Small.
            gt([200.0, 0.0, 24.0, 61.0], 0.0, 0.0),
            // 100 px, 40% hidden (level 10): Reasonable, All.
            gt([300.0, 0.0, 40.0, 100.0], 0.4, 0.0),
            // 100 px, 50% hidden (level 40): Occluded, All.
            gt([400.0, 0.0, 40.0, 100.0], 0.5, 0.0),
            // 100 px, 90% hidden (level 80): no subset.
            gt([500.0, 0.0, 40.0, 100.0], 0.9, 0.0),
            // 100 px, visible, 50% truncated (level 40): All only.
            gt([600.0, 0.0, 40.0, 100.0], 0.0, 0.5),
            // 19 px: no subset.
            gt([700.0, 0.0, 8.0, 19.0], 0.0, 0.0),
        ];
        let mut unknown = gt([800.0, 0.0, 40.0, 100.0], 0.0, 0.0);
        unknown.truncation = None;
        let mut all = objs.clone();
        all.push(unknown);
        // Reasonable: 40, 61, 100@0.4. Small: 40, 39. Occluded: 100@0.5. All: all but the
        // 90% hidden, the 19 px and the unknown one.
        let r = evaluate(&[frame(all, vec![])], CLASSES, 0.5);
        assert_eq!(
            r[..4].iter().map(|s| s.objects).collect::<Vec<_>>(),
            vec![3, 2, 1, 6]
        );
        assert!(r.iter().all(|s| s.unknown_occlusion_or_truncation == 1));
        assert_eq!(objects(&[frame(objs, vec![])]), vec![3, 2, 1, 6]);
    }

    #[test]
    fn heights_are_taken_after_clipping_to_the_frame() {
        // 50 px tall, 20 px of it below the frame: 30 px once clipped, outside Reasonable.
        let f = frame(vec![gt([0.0, 994.0, 20.0, 50.0], 0.0, 0.0)], vec![]);
        assert_eq!(objects(&[f]), vec![0, 1, 0, 1]);
    }

    #[test]
    fn pedestrians_outside_the_subset_match_by_iou_and_regions_by_share() {
        // A 100 px pedestrian 90% hidden (outside Reasonable) and a 40 x 40 detection on its
        // top: entirely inside it, but IoU 1600 / 4000 = 0.4. ECP matches such objects by
        // IoU: a false positive (CityPersons, by the share inside, would ignore it).
        let hidden = gt([0.0, 0.0, 40.0, 100.0], 0.9, 0.0);
        let f = frame(vec![hidden.clone()], vec![det([0.0, 0.0, 40.0, 40.0], 0.9)]);
        assert_eq!(
            outcomes(&f, Subset::Reasonable, false),
            vec![Outcome::FalsePositive]
        );
        // A 40 x 80 detection on it: IoU 0.8, ignored.
        let f = frame(vec![hidden], vec![det([0.0, 0.0, 40.0, 80.0], 0.9)]);
        assert_eq!(
            outcomes(&f, Subset::Reasonable, false),
            vec![Outcome::Ignored]
        );
        // A crowd box 200 x 200 and a 40 x 100 detection 80% inside it: IoU 0.08 but share
        // 0.8, ignored; 40% inside: a false positive.
        let mut crowd = gt([100.0, 0.0, 200.0, 200.0], 0.0, 0.0);
        crowd.crowd = true;
        let f = frame(
            vec![crowd.clone()],
            vec![det([92.0, 50.0, 40.0, 100.0], 0.9)],
        );
        assert_eq!(
            outcomes(&f, Subset::Reasonable, false),
            vec![Outcome::Ignored]
        );
        let f = frame(vec![crowd], vec![det([76.0, 50.0, 40.0, 100.0], 0.9)]);
        assert_eq!(
            outcomes(&f, Subset::Reasonable, false),
            vec![Outcome::FalsePositive]
        );
    }

    #[test]
    fn riders_cost_a_false_positive_only_when_enforced() {
        let mut rider = gt([0.0, 0.0, 40.0, 100.0], 0.0, 0.0);
        rider.class_id = RIDER;
        let f = frame(vec![rider], vec![det([0.0, 0.0, 40.0, 100.0], 0.9)]);
        assert_eq!(
            outcomes(&f, Subset::Reasonable, false),
            vec![Outcome::FalsePositive]
        );
        assert_eq!(
            outcomes(&f, Subset::Reasonable, true),
            vec![Outcome::Ignored]
        );
    }

    #[test]
    fn detections_are_height_filtered_with_the_ends_as_the_devkit() {
        // Reasonable keeps detections above 40 / 1.25 = 32 px: 32 dropped, 33 kept. Small
        // keeps (24, 75): 75 dropped, 74 kept.
        let f = frame(
            vec![],
            vec![
                det([0.0, 0.0, 16.0, 32.0], 0.9),
                det([100.0, 0.0, 16.0, 33.0], 0.8),
                det([200.0, 0.0, 30.0, 75.0], 0.7),
                det([300.0, 0.0, 30.0, 74.0], 0.6),
            ],
        );
        assert_eq!(
            match_frame(&f, CLASSES, 0.5, Subset::Reasonable, false).1,
            1
        );
        assert_eq!(match_frame(&f, CLASSES, 0.5, Subset::Small, false).1, 1);
    }

    #[test]
    fn miss_rate_per_subset_counted_by_hand() {
        // 100 frames. Frame 0: pedestrians P (100 px, visible) and Q (100 px, 60% hidden);
        // detections on P (0.9), on Q (0.8), on nothing (0.7, 100 px).
        // Reasonable: P counts, Q is an ignore object. Ranked: TP (FPPI 0, MR 0), Q's
        // detection ignored, FP (FPPI 0.01, MR 0): MR 0 at every point, floored at 1e-10.
        // Occluded: Q counts, P is an ignore object: the same. Small (30-60 px): neither.
        let mut frames = vec![frame(
            vec![
                gt([0.0, 0.0, 40.0, 100.0], 0.0, 0.0),
                gt([300.0, 0.0, 40.0, 100.0], 0.6, 0.0),
            ],
            vec![
                det([0.0, 0.0, 40.0, 100.0], 0.9),
                det([300.0, 0.0, 40.0, 100.0], 0.8),
                det([600.0, 0.0, 40.0, 100.0], 0.7),
            ],
        )];
        frames.extend((1..100).map(|i| FrameEval {
            frame: i,
            ..frame(vec![], vec![])
        }));
        let r = evaluate(&frames, CLASSES, 0.5);
        assert_eq!((r[0].tp, r[0].fp, r[0].ignored), (1, 1, 1));
        assert!(r[0].lamr.unwrap() <= 1e-10 * 1.0001);
        assert_eq!((r[2].tp, r[2].fp, r[2].ignored), (1, 1, 1));
        assert!(r[2].lamr.unwrap() <= 1e-10 * 1.0001);
        assert_eq!(r[1].lamr, None);
        // With P's detection gone, Reasonable misses P: MR 1 at every point.
        frames[0].dets.remove(0);
        let r = evaluate(&frames, CLASSES, 0.5);
        assert_eq!(r[0].lamr, Some(1.0));
        assert!(r[2].lamr.unwrap() <= 1e-10 * 1.0001);
    }
}
